#!/usr/bin/env bash
# One step of `make test`. Appends "<passed> <failed> <step>" lines to RESULTS; `summary` prints
# the totals as the last line ("N passed, N failed") and fails when anything failed.
#   run-tests.sh RESULTS lint
#   run-tests.sh RESULTS unit BUILD_DIR       every cmocka binary in BUILD_DIR/test
#   run-tests.sh RESULTS e2e BUILD_DIR        every test/e2e/*.sh (each prints "N passed, N failed"),
#                                             E2E_JOBS at a time (default: cores + 1)
#   run-tests.sh RESULTS chart                test/chart/*.sh, when the chart exists
#   run-tests.sh RESULTS fuzz BUILD_DIR       replay test/fuzz/corpus/<name> through BUILD_DIR/fuzz/<name>
#   run-tests.sh RESULTS summary
set -uo pipefail
cd "$(dirname "$0")/.."
results=$1 step=$2
mkdir -p "$(dirname "$results")"
export PATH="$PWD/.tools/bin:$PATH"

record() { echo "$1 $2 $3" >>"$results"; }

case $step in
lint)
    files=$(git ls-files '*.c' '*.h' 2>/dev/null; git ls-files -o --exclude-standard '*.c' '*.h' 2>/dev/null)
    if out=$(clang-format --dry-run --Werror $files 2>&1); then
        echo "lint: clang-format ok"; record 1 0 clang-format
    else
        echo "$out" | head -40; echo "lint: clang-format FAILED (run 'make format')"; record 0 1 clang-format
    fi
    if out=$(cppcheck -j "$(nproc)" --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
            --inline-suppr --suppress=missingIncludeSystem -Iinclude $files 2>&1); then
        echo "lint: cppcheck ok"; record 1 0 cppcheck
    else
        echo "$out" | head -40; echo "lint: cppcheck FAILED"; record 0 1 cppcheck
    fi
    if out=$(scripts/check-names.sh 2>&1); then
        echo "lint: names ok"; record 1 0 names
    else
        echo "$out" | head -40; echo "lint: names FAILED (docs/development.md, naming)"; record 0 1 names
    fi
    # clang-tidy (the slow one) covers the product: cmd/ and pkg/. Tests and the test servers get
    # clang-format and cppcheck.
    cfiles=$(echo "$files" | grep -E '^(cmd|pkg)/.*\.c$')
    cflags="-std=c11 -D_GNU_SOURCE -DKGC_VERSION=\\\"lint\\\" -Iinclude $(pkg-config --cflags libcurl json-c libmicrohttpd yaml-0.1 libpcre2-8 libcrypto)"
    checks='-*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,-bugprone-narrowing-conversions,-bugprone-assignment-in-if-condition,-bugprone-branch-clone,-bugprone-implicit-widening-of-multiplication-result,clang-analyzer-*,-clang-analyzer-security.insecureAPI.*,-clang-analyzer-unix.Malloc,-clang-analyzer-valist.Uninitialized'
    # File names go before '--'; what follows '--' is the compile command.
    if out=$(echo "$cfiles" | xargs -r -P "$(nproc)" -n 8 sh -c \
            'clang-tidy --quiet --checks="$0" --warnings-as-errors="*" "$@" -- '"$cflags" "$checks" 2>&1); then
        echo "lint: clang-tidy ok"; record 1 0 clang-tidy
    else
        echo "$out" | grep -v 'warnings generated' | head -60; echo "lint: clang-tidy FAILED"; record 0 1 clang-tidy
    fi
    ;;
unit)
    build=$3
    for t in "$build"/test/test_*; do
        [[ -x $t ]] || continue
        log="$build/test/$(basename "$t").out"
        timeout 300 "$t" >"$log" 2>&1
        rc=$?
        p=$(grep -Eo '^\[  PASSED  \] [0-9]+' "$log" | awk '{s+=$4} END {print s+0}')
        f=$(grep -Eo '^\[  FAILED  \] [0-9]+' "$log" | awk '{s+=$4} END {print s+0}')
        if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi # crashed, sanitizer report, or leak
        if [[ $f -ne 0 ]]; then
            echo "unit($build): $(basename "$t"): $p passed, $f failed"; tail -40 "$log"
        else
            echo "unit($build): $(basename "$t"): $p passed"
        fi
        record "$p" "$f" "unit:$build:$(basename "$t")"
    done
    ;;
e2e)
    # The scripts run E2E_JOBS at a time (default: cores + 1; each mostly waits on its servers,
    # ~1/4 to 1/3 of a core, and every one is held to pass under load), each with its own
    # temporary folder and ports; their results are printed and recorded in name order.
    build=$3
    jobs=${E2E_JOBS:-$(($(nproc) + 1))}
    scripts=()
    for t in test/e2e/*.sh; do [[ -x $t ]] && scripts+=("$t"); done
    running=0
    for t in "${scripts[@]}"; do
        if ((running >= jobs)); then
            wait -n
            running=$((running - 1))
        fi
        log="$build/e2e-$(basename "$t" .sh).out"
        (
            BUILD="$build" timeout 600 "$t" >"$log" 2>&1
            echo $? >"$log.rc"
        ) &
        running=$((running + 1))
    done
    wait
    for t in "${scripts[@]}"; do
        log="$build/e2e-$(basename "$t" .sh).out"
        rc=$(cat "$log.rc" 2>/dev/null || echo 1)
        rm -f "$log.rc"
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
        p=$(echo "$line" | awk '{print $1+0}')
        f=$(echo "$line" | awk '{print $3+0}')
        if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi
        if [[ $f -ne 0 ]]; then
            echo "e2e($build): $(basename "$t"): $p passed, $f failed"; tail -40 "$log"
        else
            echo "e2e($build): $(basename "$t"): $p passed"
        fi
        record "$p" "$f" "e2e:$build:$(basename "$t")"
    done
    ;;
chart)
    for t in test/chart/*.sh; do
        [[ -x $t ]] || continue
        log="build/chart-$(basename "$t" .sh).out"
        timeout 600 "$t" >"$log" 2>&1
        rc=$?
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
        p=$(echo "$line" | awk '{print $1+0}')
        f=$(echo "$line" | awk '{print $3+0}')
        if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi
        echo "chart: $(basename "$t"): $p passed, $f failed"
        [[ $f -ne 0 ]] && tail -40 "$log"
        record "$p" "$f" "chart:$(basename "$t")"
    done
    ;;
fuzz)
    # Replays every checked-in corpus once through its libFuzzer target (a regression check).
    build=$3
    for t in "$build"/fuzz/fuzz_*; do
        [[ -x $t ]] || continue
        name=$(basename "$t")
        corpus=test/fuzz/corpus/$name
        mkdir -p "$corpus"
        log="$build/$name.replay.out"
        if timeout 300 "$t" -runs=0 "$corpus" >"$log" 2>&1; then
            echo "fuzz: $name: corpus of $(ls "$corpus" | wc -l) inputs replayed clean"
            record 1 0 "fuzz:$name"
        else
            echo "fuzz: $name: FAILED"; tail -30 "$log"
            record 0 1 "fuzz:$name"
        fi
    done
    ;;
summary)
    [[ -f $results ]] || { echo "0 passed, 1 failed"; exit 1; }
    p=$(awk '{s+=$1} END {print s+0}' "$results")
    f=$(awk '{s+=$2} END {print s+0}' "$results")
    echo "$p passed, $f failed"
    # The script ends in `exit 0`: a failed summary must exit here, or `make test` passes.
    [[ $f -eq 0 && $p -gt 0 ]] || exit 1
    ;;
*) echo "run-tests.sh: unknown step $step" >&2; exit 2 ;;
esac
exit 0

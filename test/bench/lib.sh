# shellcheck shell=bash disable=SC2034
# Shared by the scenario benchmarks (sourced): the test API server with the Gateway API CRDs, the
# test Kong, kgc, and cleanup of every process they start. Nothing here asserts; the scripts
# print tables. BUILD (default build) names the build directory to run.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
BUILD=${BUILD:-build}
# The Gateway API CRDs and conformance manifests of the pinned version, put there by `make deps`
# (scripts/deps.sh); KGC_GATEWAY_API_DIR overrides.
GWAPI=${KGC_GATEWAY_API_DIR:-$PWD/.deps/gateway-api}
KUBECTL=$PWD/.tools/bin/kubectl
LOAD=$BUILD/bench/kgcload
QUICK=${BENCH_QUICK:-0}
TMP=$(mktemp -d /tmp/kgc-bench.XXXXXX)
PIDS=()

bench_cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    [[ ${KEEP_TMP:-0} == 1 ]] && echo "(kept $TMP)" || rm -rf "$TMP"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
die() { echo "bench: $*" >&2; exit 1; }
# kv KEY FILE: the value of the last "KEY=value" printed by kgcload into FILE.
kv() { grep -o "\b$1=[^ ]*" "$2" | tail -1 | cut -d= -f2; }

# wait_url FILE: the URL a test server printed as "listening on http://..." (up to 10 s).
wait_url() {
    local f=$1 u=
    for _ in $(seq 1 100); do
        u=$(sed -n 's/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$f" 2>/dev/null | head -1)
        [[ -n $u ]] && { echo "$u"; return 0; }
        sleep 0.1
    done
    return 1
}

# stop_pid PID: SIGTERM, then SIGKILL after 10 s; waits for it.
stop_pid() {
    local p=$1
    kill -TERM "$p" 2>/dev/null || return 0
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
}

# start_apiserver DIR: a fresh test API server auditing into DIR/audit.jsonl, with the Gateway
# API CRDs established; sets API and KCFG.
start_apiserver() {
    local d=$1
    mkdir -p "$d"
    "$BUILD/kgc-test-apiserver" --listen 127.0.0.1:0 --audit "$d/audit.jsonl" --history 100000 \
        --log-level warn >"$d/api.out" 2>"$d/api.err" &
    API_PID=$!
    PIDS+=("$API_PID")
    API=$(wait_url "$d/api.out") || die "the test API server did not start"
    KCFG=$d/kubeconfig
    cat >"$KCFG" <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "$API"}
users:
- name: test
  user: {}
contexts:
- name: test
  context: {cluster: test, user: test}
current-context: test
KC
    timeout 60 "$KUBECTL" --kubeconfig "$KCFG" --cache-dir "$d/kcache" apply --server-side \
        -f "$GWAPI/crds/" >/dev/null || die "cannot apply the CRDs from $GWAPI/crds (make deps puts them there)"
    timeout 60 "$KUBECTL" --kubeconfig "$KCFG" --cache-dir "$d/kcache" wait \
        --for=condition=Established crd --all --timeout=30s >/dev/null || die "CRDs not established"
}

# start_kong DIR [PORT]: the test Kong (port 0: any); sets KONG, KONG_PORT and KONG_PID.
start_kong() {
    local d=$1 port=${2:-0}
    : >"$d/kong.out"
    # 10k routes make a ~31 MB configuration: over Kong's default admin body limit (10m), so the
    # benches run Kong as with nginx_admin_client_max_body_size = 64m.
    "$BUILD/kgc-test-kong" --admin-listen "127.0.0.1:$port" --log-level warn --max-body-mb 64 \
        >"$d/kong.out" 2>>"$d/kong.err" &
    KONG_PID=$!
    PIDS+=("$KONG_PID")
    KONG=$(wait_url "$d/kong.out") || die "the test Kong did not start"
    KONG_PORT=${KONG##*:}
}

# start_kgc DIR ARGS...: kgc against $API and $KONG (log DIR/kgc.log); sets KGC_PID. With
# KGC_TIME=FILE it runs under /usr/bin/time -v -o FILE and KGC_PID is kgc's own pid. With
# KGC_MEMPROBE=PREFIX it runs with $BUILD/bench/libmemprobe.so preloaded (test/bench/memprobe.c),
# which writes its samples to PREFIX.<kgc's pid>.
start_kgc() {
    local d=$1
    shift
    local cmd=("$BUILD/kgc" --kubeconfig "$KCFG" --kong-admin-url "$KONG" --http-listen ""
        --debug-listen "" "$@")
    if [[ -n ${KGC_MEMPROBE:-} ]]; then
        local lib=$BUILD/bench/libmemprobe.so
        [[ $lib == /* ]] || lib=$PWD/$lib
        cmd=(env "LD_PRELOAD=$lib" "KGC_MEMPROBE=$KGC_MEMPROBE" "${cmd[@]}")
    fi
    if [[ -n ${KGC_TIME:-} ]]; then
        /usr/bin/time -v -o "$KGC_TIME" "${cmd[@]}" >"$d/kgc.log" 2>&1 &
        local tp=$!
        PIDS+=("$tp")
        KGC_PID=
        for _ in $(seq 1 100); do
            KGC_PID=$(pgrep -P "$tp" | head -1)
            [[ -n $KGC_PID ]] && break
            sleep 0.02
        done
        KGC_WRAPPER=$tp
    else
        "${cmd[@]}" >"$d/kgc.log" 2>&1 &
        KGC_PID=$!
        KGC_WRAPPER=$KGC_PID
        PIDS+=("$KGC_PID")
    fi
}

stop_kgc() {
    kill -TERM "$KGC_PID" 2>/dev/null
    if [[ $KGC_WRAPPER != "$KGC_PID" ]]; then # /usr/bin/time writes its report when kgc exits
        for _ in $(seq 1 150); do kill -0 "$KGC_WRAPPER" 2>/dev/null || break; sleep 0.1; done
    fi
    stop_pid "$KGC_WRAPPER"
}

machine_line() {
    echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores," \
        "$(free -m | awk '/^Mem:/{print $2}') MiB, Debian $(cat /etc/debian_version 2>/dev/null)," \
        "load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
}

[[ -x $LOAD ]] || die "$LOAD is missing: make BUILD=$BUILD $LOAD"

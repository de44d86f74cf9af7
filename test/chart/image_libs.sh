#!/usr/bin/env bash
# Checks the Dockerfile without a Docker engine: every shared library `ldd $BUILD/kgc` lists must
# come from a Debian package the runtime stage installs, or from debian:bookworm-slim itself.
#   - each library file is mapped to its package with `dpkg -S` (this machine is Debian 12, the
#     image's release);
#   - the runtime stage's packages are the words of its `apt-get install` commands;
#   - a library kgc links directly (NEEDED in its ELF header) must have its package named there;
#     a library pulled in by another one may come with that package's Depends (apt installs them);
#   - the base image is what debootstrap's minbase puts in bookworm-slim: the Essential and
#     Priority: required packages and apt, with their Depends (read from this machine's dpkg).
# Also checks the image's shape (two stages, bookworm, numeric non-root USER, ENTRYPOINT kgc).
#   BUILD=build test/chart/image_libs.sh      DOCKERFILE=path to check another file
# Last line: "N passed, N failed"; exit status non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
DOCKERFILE=${DOCKERFILE:-Dockerfile}
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "FAIL - $1"; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [[ $fail -eq 0 ]]; exit; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for f in "$DOCKERFILE" .dockerignore "$BUILD/kgc"; do
    [[ -e $f ]] || { bad "$f exists"; finish; }
done
for t in ldd dpkg dpkg-query readelf python3; do
    command -v "$t" >/dev/null || { bad "$t is available"; finish; }
done

# --- the Dockerfile's shape ----------------------------------------------------------------
# Instructions with their continuation lines joined, comments dropped.
awk '/^[[:space:]]*#/ { next }
     { line = line $0 }
     /\\[[:space:]]*$/ { sub(/\\[[:space:]]*$/, " ", line); next }
     { if (line ~ /[^[:space:]]/) print line; line = "" }' "$DOCKERFILE" >"$tmp/instr"
grep -E '^[[:space:]]*FROM[[:space:]]' "$tmp/instr" >"$tmp/from"
if [[ $(wc -l <"$tmp/from") -eq 2 ]] && sed -n 1p "$tmp/from" | grep -qE 'FROM[[:space:]]+debian:bookworm[[:space:]]+AS[[:space:]]+[a-z]+' &&
    sed -n 2p "$tmp/from" | grep -qE 'FROM[[:space:]]+debian:bookworm-slim[[:space:]]*$'; then
    ok "two stages: debian:bookworm (build), debian:bookworm-slim (runtime)"
else
    bad "two stages: debian:bookworm (build), debian:bookworm-slim (runtime)"; cat "$tmp/from"
fi
# The runtime stage: from the last FROM to the end.
awk '/^[[:space:]]*FROM[[:space:]]/ { n++ } n == 2' "$tmp/instr" >"$tmp/runtime"
awk '/^[[:space:]]*FROM[[:space:]]/ { n++ } n == 1' "$tmp/instr" >"$tmp/buildstage"
if grep -qE '(^|[^a-z])make([[:space:]]|$)' "$tmp/buildstage"; then ok "build stage runs make"; else bad "build stage runs make"; fi
user=$(awk '$1 == "USER" { u = $2 } END { print u }' "$tmp/runtime")
if [[ $user =~ ^[1-9][0-9]*(:[1-9][0-9]*)?$ ]]; then
    ok "runtime USER is numeric and not root ($user)"
else
    bad "runtime USER is numeric and not root (got '${user}')"
fi
entry=$(awk '$1 == "ENTRYPOINT"' "$tmp/runtime")
if [[ $entry =~ ENTRYPOINT[[:space:]]+\[\"(/[a-z/]*/)?kgc\"\] ]]; then
    ok "ENTRYPOINT is kgc"
else
    bad "ENTRYPOINT is kgc (got '$entry')"
fi
if grep -qE 'COPY[[:space:]]+--from=[a-z]+[[:space:]]+[^[:space:]]*/kgc[[:space:]]' "$tmp/runtime"; then
    ok "runtime stage copies the kgc binary from the build stage"
else
    bad "runtime stage copies the kgc binary from the build stage"
fi

# Words of every `apt-get install` command of the runtime stage: package names (options and
# whatever follows the command's end — &&, ;, | — are left out).
awk '{
        for (i = 1; i <= NF; i++) {
            if ($i == "apt-get" && $(i + 1) == "install") { on = 1; i++; continue }
            if ($i == "&&" || $i == ";" || $i == "||" || $i == "|") { on = 0; continue }
            if (on && $i !~ /^-/) print $i
        }
        on = 0
     }' "$tmp/runtime" | sort -u >"$tmp/pkgs"
if [[ -s $tmp/pkgs ]]; then
    ok "runtime stage installs $(wc -l <"$tmp/pkgs") packages: $(tr '\n' ' ' <"$tmp/pkgs")"
else
    bad "runtime stage has an apt-get install list"; finish
fi
if grep -E 'apt-get[[:space:]]+install' "$tmp/runtime" | grep -qv -- '--no-install-recommends'; then
    bad "every runtime apt-get install uses --no-install-recommends"
else
    ok "every runtime apt-get install uses --no-install-recommends"
fi
if grep -E '(-dev|build-essential|gcc|make)$' "$tmp/pkgs"; then
    bad "runtime stage installs no build tools or -dev packages"
else
    ok "runtime stage installs no build tools or -dev packages"
fi

# --- every library of ldd, mapped to its package --------------------------------------------
# pkg_of FILE: the package owning FILE (tried as given, under /usr for the merged-/usr layout,
# and at its real path).
pkg_of() {
    local f=$1 real c out
    real=$(readlink -f "$f")
    for c in "$f" "/usr$f" "$real" "/usr$real" "${real#/usr}"; do
        out=$(dpkg -S "$c" 2>/dev/null | grep -v '^diversion' | head -1) || continue
        [[ -n $out ]] && { echo "${out%%:*}"; return 0; }
    done
    return 1
}
if ! ldd "$BUILD/kgc" >"$tmp/ldd" 2>&1; then bad "ldd $BUILD/kgc"; cat "$tmp/ldd"; finish; fi
readelf -d "$BUILD/kgc" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' >"$tmp/needed"
: >"$tmp/libs"
while read -r name _ path _; do
    # "libx.so.1 => /path (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)", "linux-vdso.so.1 (...)"
    [[ $name == linux-vdso.so* || $name == linux-gate.so* ]] && continue
    [[ $name == /* ]] && path=$name
    if [[ $path != /* ]]; then bad "ldd resolves $name"; continue; fi
    if p=$(pkg_of "$path"); then
        direct=0
        grep -qxF "$name" "$tmp/needed" && direct=1
        printf '%s\t%s\t%s\n' "$name" "$p" "$direct" >>"$tmp/libs"
    else
        bad "$name ($path) belongs to no Debian package (dpkg -S)"
    fi
done <"$tmp/ldd"

# The verdict per library, from this machine's dpkg database (Depends closure with alternatives
# and Provides).
dpkg-query -W -f='${Package}\t${Essential}\t${Priority}\t${Provides}\t${Pre-Depends}, ${Depends}\t${db:Status-Abbrev}\n' \
    >"$tmp/dpkg" 2>/dev/null
python3 - "$tmp/dpkg" "$tmp/pkgs" "$tmp/libs" >"$tmp/verdicts" <<'PY'
import re, sys

def names(field):
    """[[alt, alt], ...] from a Depends-like field."""
    out = []
    for group in field.split(","):
        alts = [re.sub(r"\(.*?\)|\[.*?\]|<.*?>", "", a).strip().split(":")[0] for a in group.split("|")]
        alts = [a for a in alts if a]
        if alts:
            out.append(alts)
    return out

installed, provides, deps, base_roots = set(), {}, {}, set()
for line in open(sys.argv[1]):
    parts = line.rstrip("\n").split("\t")
    if len(parts) < 6 or not parts[5].startswith("ii"):
        continue
    pkg, essential, prio, prov, dep = parts[:5]
    installed.add(pkg)
    deps[pkg] = names(dep)
    for alts in names(prov):
        provides.setdefault(alts[0], []).append(pkg)
    if essential == "yes" or prio == "required" or pkg == "apt":
        base_roots.add(pkg)

def resolve(name):
    if name in installed:
        return [name]
    return provides.get(name, [])

def closure(roots):
    seen, todo = set(), [r for r in roots if r in installed]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        for alts in deps.get(p, []):
            for a in alts:
                r = resolve(a)
                if r:
                    todo.extend(r)
                    break
    return seen

listed = {l.strip() for l in open(sys.argv[2]) if l.strip()}
base = closure(base_roots)
with_deps = closure(listed)
for line in open(sys.argv[3]):
    lib, pkg, direct = line.rstrip("\n").split("\t")
    if pkg in listed:
        print(f"ok\t{lib} from {pkg}, installed by the runtime stage")
    elif pkg in base:
        print(f"ok\t{lib} from {pkg}, in the base image")
    elif direct == "1":
        print(f"bad\t{lib} (linked by kgc) needs package {pkg}: missing from the runtime stage's apt-get install")
    elif pkg in with_deps:
        print(f"ok\t{lib} from {pkg}, a dependency of the runtime stage's packages")
    else:
        print(f"bad\t{lib} needs package {pkg}: missing from the runtime stage's apt-get install")
PY
[[ -s $tmp/verdicts ]] || bad "library verdicts computed"
while IFS=$'\t' read -r v msg; do
    if [[ $v == ok ]]; then ok "$msg"; else bad "$msg"; fi
done <"$tmp/verdicts"
n=$(wc -l <"$tmp/libs")
if [[ $n -ge $(wc -l <"$tmp/needed") && $n -gt 0 ]]; then
    ok "$n libraries checked (ldd), $(wc -l <"$tmp/needed") linked directly"
else
    bad "every library of ldd checked ($n)"
fi
# Every package named must exist in Debian 12 (here: be known to dpkg or apt) — a typo fails.
while read -r p; do
    if dpkg-query -W "$p" >/dev/null 2>&1 || apt-cache show "$p" >/dev/null 2>&1; then :; else
        bad "runtime package $p is known to this Debian 12 machine (dpkg/apt-cache)"
    fi
done <"$tmp/pkgs"

# --- .dockerignore keeps what `make` needs ------------------------------------------------------
ignore_ok() {
    grep -qx '\*' .dockerignore || return 1
    local d
    for d in Makefile VERSION cmd/ include/ pkg/; do grep -qxF "!$d" .dockerignore || return 1; done
}
if ignore_ok; then
    ok ".dockerignore sends only Makefile, VERSION, cmd/, include/, pkg/"
else
    bad ".dockerignore sends only Makefile, VERSION, cmd/, include/, pkg/"
fi
finish

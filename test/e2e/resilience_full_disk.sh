#!/usr/bin/env bash
# e2e resilience: the listener cache directory sits on a full filesystem (issue #17: a fresh
# cache directory on a full filesystem killed kgc with SIGBUS and no log line, LMDB's lock file
# being a sparse mapped file). The filesystem is a 64 KiB tmpfs filled to the last block with dd
# (mounting it needs root; without root the scenario says so and checks nothing). kgc must: log
# exactly one error naming the directory and "No space left on device", keep running without the
# persistent cache (/healthz 200, /debug/listeners persistent:false), program the Gateway through
# the live Kong, and exit 0 on SIGTERM. The same on a read-only filesystem (the directory cannot
# be created). Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
e2e_bound 90
FULL=$TMP/full
RO=$TMP/ro
mkdir -p "$FULL" "$RO"
if ! mount -t tmpfs -o size=64k,mode=0700 kgc-e2e-full "$FULL" 2>/dev/null; then
    echo "# skip: cannot mount a tmpfs here (needs root): nothing checked"
    finish
fi
trap 'umount "$FULL" 2>/dev/null; umount "$RO" 2>/dev/null; e2e_cleanup' EXIT
dd if=/dev/zero of="$FULL/filler" bs=4096 2>/dev/null
avail=$(df --output=avail -k "$FULL" | tail -1 | tr -d ' ')
[[ $avail -eq 0 ]] && ok "a 64 KiB tmpfs filled to capacity (0 KiB available)" || bad "tmpfs not full: $avail KiB"
mount -t tmpfs -o ro,size=64k kgc-e2e-ro "$RO" 2>/dev/null && ok "a read-only tmpfs mounted" ||
    bad "read-only tmpfs"

start_apiserver
apply_crds
{ base_yaml; gateway_yaml gw; } >"$TMP/objects.yaml"
apply_objects "GatewayClass and Gateway applied" "apply objects"
start_kong 1 0 || { bad "test Kong starts"; finish; }

programmed() { [[ $(k -n demo get gateway gw -o jsonpath='{.status.conditions[?(@.type=="Programmed")].status}') == True ]]; }
run_case() { # run_case NAME DIR WHAT
    local name=$1 dir=$2 what=$3 hp dp
    hp=$(free_port)
    dp=$(free_port)
    while [[ $dp == "$hp" ]]; do dp=$(free_port); done
    start_kgc "$name" --kong-admin-url "${KONG_URL[1]}" --listener-cache-dir "$dir" \
        --kong-probe-interval 200ms --http-listen "127.0.0.1:$hp" --debug-listen "127.0.0.1:$dp"
    if wait_until 15 0.2 curl -sf -m 2 "http://127.0.0.1:$hp/healthz" -o /dev/null; then
        ok "$name: kgc is up and answers /healthz"
    else
        bad "$name: kgc is not serving /healthz"
        tail -5 "$TMP/kgc-$name.log"
        kill -0 "${KGC_PID[$name]}" 2>/dev/null || { wait "${KGC_PID[$name]}"; echo "    exit status $?"; forget_pid "${KGC_PID[$name]}"; return; }
    fi
    local n line
    n=$(grep -c 'level=error.*listener cache unusable' "$TMP/kgc-$name.log")
    line=$(grep 'level=error.*listener cache unusable' "$TMP/kgc-$name.log" | head -1)
    [[ $n -eq 1 && $line == *"$dir"* && $line == *"$what"* ]] &&
        ok "$name: one error line naming the directory and \"$what\"" || bad "$name: $n error lines: $line"
    curl -sf -m 2 "http://127.0.0.1:$dp/debug/listeners" | grep -q '"persistent":false' &&
        ok "$name: /debug/listeners says persistent:false" || bad "$name: /debug/listeners"
    wait_until 30 0.2 programmed && ok "$name: the Gateway is Programmed through the live Kong" ||
        bad "$name: the Gateway is not Programmed"
    stop_kgc "$name" && ok "$name: kgc exits 0 on SIGTERM" || bad "$name: kgc exit status"
}
run_case full "$FULL/listeners" "No space left on device"
run_case readonly "$RO/listeners" "Read-only file system"
no_sanitizer_reports "$TMP"/kgc-*.log "$TMP"/kong1.err "$TMP"/api.err
finish

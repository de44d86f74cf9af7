#!/usr/bin/env bash
# e2e: the Kong probers and the LMDB listener cache across real process restarts, on both sides.
# The test Kong ($BUILD/kgc-test-kong) is killed with SIGKILL and started again on the same port;
# the "controller" is $BUILD/test/test_kong_prober in driver mode (KGC_PROBER_DRIVER=1: the kong
# module with its default intervals plus a listener cache, printing one line per event and per
# view change). Checked: live listeners; cached+stale within about one probe interval of the
# kill; READY and RESTARTED within about a second of the restart; a new controller process reads
# the listeners the previous one stored while Kong is down; a corrupt data.mdb is moved aside
# with one warning; an unusable directory is a clear start-up error; an empty directory disables
# the cache with a log line. Last line: "N passed, N failed".
E2E_KILL_SIGNAL=KILL
source "$(dirname "$0")/lib.sh"
KONG=$BUILD/kgc-test-kong
DRIVER=$BUILD/test/test_kong_prober
tmp=$TMP
trap 'exit 130' INT TERM

# wait_for FILE PATTERN TIMEOUT_MS [FROM_LINE]: waits until a line after FROM_LINE matches.
wait_for() {
    local file=$1 pat=$2 limit=$3 from=${4:-0} t0
    t0=$(now_ms)
    while (($(now_ms) - t0 < limit)); do
        tail -n +$((from + 1)) "$file" 2>/dev/null | grep -qE -- "$pat" && return 0
        sleep 0.02
    done
    return 1
}
lines() { wc -l <"$1" | tr -d ' '; }

# start_kong [PORT]: sets KPID, KPORT. Bounded: 5 s.
start_kong() {
    local out=$tmp/kong.$RANDOM
    "$KONG" --admin-listen "127.0.0.1:${1:-0}" --log-level error >"$out" 2>>"$tmp/kong.err" &
    KPID=$!
    PIDS+=("$KPID")
    KPORT=$(wait_listening "$out" "$KPID" 's/^listening on http:\/\/127\.0\.0\.1://p')
}

# start_driver NAME CACHE_DIR: output in $tmp/NAME.out/.err; sets DPID.
start_driver() {
    KGC_PROBER_DRIVER=1 KGC_DRIVER_URL="http://127.0.0.1:$KPORT" KGC_DRIVER_CACHE_DIR="$2" \
        KGC_DRIVER_SECONDS=40 "$DRIVER" >"$tmp/$1.out" 2>"$tmp/$1.err" </dev/null &
    DPID=$!
    PIDS+=("$DPID")
}

# stop_driver: SIGTERM, wait (5 s at most), return its status.
stop_driver() { stop_pid "$DPID"; }

for b in "$KONG" "$DRIVER"; do
    [[ -x $b ]] || { echo "missing $b (build first)"; echo "0 passed, 1 failed"; exit 1; }
done
cache=$tmp/cache

# ---- a controller sees Kong live, killed, restarted -----------------------------------------------
check "test kong starts" start_kong
start_driver d1 "$cache"
check "cache opened in $cache" wait_for "$tmp/d1.out" '^open ok persistent=1 moved_aside=-$' 5000
check "READY on first contact" wait_for "$tmp/d1.out" '^event ready ' 5000
check "live view with the fixture's listeners" \
    wait_for "$tmp/d1.out" '^view source=live stale=0 proxy=2 stream=1 n_live=1' 3000
cfg='{"_format_version":"3.0","services":[{"name":"s1","host":"example.com"}]}'
hash=$(printf '%s' "$cfg" | md5sum | cut -d' ' -f1)
body=$(python3 -c 'import json,sys; print(json.dumps({"config": sys.argv[1]}))' "$cfg")
curl -s -o /dev/null --max-time 5 -H 'Content-Type: application/json' -d "$body" \
    "http://127.0.0.1:$KPORT/config"
check "HASH_CHANGED to the pushed configuration's MD5" \
    wait_for "$tmp/d1.out" "^event hash_changed .*hash=$hash" 3000

mark=$(lines "$tmp/d1.out")
t0=$(now_ms)
kill -KILL "$KPID"
wait "$KPID" 2>/dev/null
if wait_for "$tmp/d1.out" '^view source=cached stale=1 proxy=2 stream=1' 3000 "$mark"; then
    ok "killed: view cached+stale after $(($(now_ms) - t0)) ms (probe interval 1000 ms)"
else
    bad "killed: view not cached+stale within 3 s"
fi
check "UNREACHABLE names the error" \
    wait_for "$tmp/d1.out" '^event unreachable .*reason=.*127\.0\.0\.1' 1000 "$mark"
check "cached view says why" wait_for "$tmp/d1.out" 'reason=kong admin API unreachable: ' 1000 "$mark"

sleep 0.3
mark=$(lines "$tmp/d1.out")
t0=$(now_ms)
check "test kong restarts on the same port" start_kong "$KPORT"
if wait_for "$tmp/d1.out" '^event ready ' 3000 "$mark" &&
    wait_for "$tmp/d1.out" '^event restarted .*reason=node_id changed' 3000 "$mark"; then
    ok "restarted: READY and RESTARTED after $(($(now_ms) - t0)) ms"
else
    bad "restarted: no READY+RESTARTED within 3 s"
fi
check "live again" wait_for "$tmp/d1.out" '^view source=live stale=0' 2000 "$mark"
check "driver stops cleanly on SIGTERM" stop_driver
check "its dump shows the instance live" grep -q '^dump .*"source":"live"' "$tmp/d1.out"

# ---- a new controller process while Kong is down reads what the last one stored ------------------
kill -KILL "$KPID"
wait "$KPID" 2>/dev/null
start_driver d2 "$cache"
check "new process: cached+stale listeners from LMDB" \
    wait_for "$tmp/d2.out" '^view source=cached stale=1 proxy=2 stream=1' 3000
check "new process: first view was already cached (not none)" \
    bash -c "grep -m1 '^view ' '$tmp/d2.out' | grep -q 'source=cached'"
check "new process: UNREACHABLE" wait_for "$tmp/d2.out" '^event unreachable ' 3000
stop_driver >/dev/null

# ---- a corrupt file is moved aside, with one warning ----------------------------------------------
head -c 100000 /dev/urandom >"$cache/data.mdb"
start_driver d3 "$cache"
check "corrupt file: moved aside at open" \
    wait_for "$tmp/d3.out" '^open ok persistent=1 moved_aside=.*/data\.mdb\.corrupt-' 5000
check "corrupt file: the old file is kept beside" bash -c "ls '$cache' | grep -q '^data.mdb.corrupt-'"
check "corrupt file: exactly one warning" \
    bash -c "[[ \$(grep -c 'level=warn.*moved aside' '$tmp/d3.err') -eq 1 ]]"
check "corrupt file: view none" wait_for "$tmp/d3.out" '^view source=none' 3000
stop_driver >/dev/null

# ---- start-up errors and the disabled cache --------------------------------------------------------
touch "$tmp/a-file"
start_driver d4 "$tmp/a-file/sub"
wait "$DPID"
rc=$?
check "unusable dir: exit 3" test "$rc" -eq 3
check "unusable dir: clear message" \
    grep -q '^open failed: listener cache dir .*a-file/sub.*--listener-cache-dir' "$tmp/d4.out"
start_driver d5 ""
check "empty dir: persistence disabled" wait_for "$tmp/d5.out" '^open ok persistent=0' 5000
check "empty dir: logged that restarts are not covered" \
    grep -q 'listener cache disabled.*will not survive kgc restarts' "$tmp/d5.err"
stop_driver >/dev/null

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

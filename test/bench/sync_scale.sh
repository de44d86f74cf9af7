#!/usr/bin/env bash
# Initial sync at scale (issue #11): G Gateways, R HTTPRoutes, R Services and R EndpointSlices are
# created in the test API server before kgc starts; then the time from kgc's start until every
# Gateway (Accepted, Programmed, every listener OK, attachedRoutes = its route count) and every
# route (Accepted and ResolvedRefs True at its generation) carries its final status, and kgc's
# peak RSS (/usr/bin/time -v), with 1, 2 and 4 workers for the Gateway and HTTPRoute
# controllers. Prints a table; asserts nothing.
#
# Knobs: BUILD, BENCH_QUICK=1 (100 Gateways, 1,000 routes, 4 workers only), SYNC_GATEWAYS (1000),
# SYNC_ROUTES (10000), SYNC_WORKERS ("1 2 4"), SYNC_QPS (kgc --apiserver-qps, default 0 = no
# client-side limit: at the old default of 50/s the ~11k status writes alone took 220 s),
# SYNC_KGC_ARGS (extra kgc flags), SYNC_TIMEOUT_S (600). A last row, "default", runs kgc with its
# default workers and --apiserver-qps (SYNC_DEFAULT_ROW=0 skips it).
source "$(dirname "$0")/lib.sh"

if [[ $QUICK == 1 ]]; then
    G=${SYNC_GATEWAYS:-100} R=${SYNC_ROUTES:-1000} WORKERS=${SYNC_WORKERS:-"4"}
else
    G=${SYNC_GATEWAYS:-1000} R=${SYNC_ROUTES:-10000} WORKERS=${SYNC_WORKERS:-"1 2 4"}
fi
QPS=${SYNC_QPS:-0}
TIMEOUT=${SYNC_TIMEOUT_S:-600}
read -r -a EXTRA <<<"${SYNC_KGC_ARGS:-}"

echo "== initial sync at scale: $G Gateways, $R HTTPRoutes, $R Services + EndpointSlices" \
    "(kgc --apiserver-qps $QPS)"
machine_line
printf '%-8s %12s %12s %12s %10s %10s %9s %8s\n' workers create_s all_status_ms last_write_ms \
    gw_writes rt_writes peak_MiB cpu_s

ROWS=$WORKERS
[[ ${SYNC_DEFAULT_ROW:-1} == 1 ]] && ROWS="$ROWS default"
for w in $ROWS; do
    d=$TMP/w$w
    args=(--gateway-workers "$w" --httproute-workers "$w" --apiserver-qps "$QPS")
    [[ $w == default ]] && args=()
    start_apiserver "$d"
    start_kong "$d"
    "$LOAD" create --api "$API" --gateways "$G" --routes "$R" --namespaces $(((G + 9) / 10)) \
        --threads 4 >"$d/create.out" || { echo "create failed: $(cat "$d/create.out")"; exit 1; }
    : >"$d/audit.jsonl" # the creates are not kgc's writes
    # shellcheck disable=SC2034 # read by start_kgc
    KGC_TIME=$d/time.txt
    t0=$(now_ms)
    start_kgc "$d" --listener-cache-dir "$d/lc" "${args[@]}" "${EXTRA[@]}"
    unset KGC_TIME
    "$LOAD" wait --api "$API" --gateways "$G" --routes "$R" --attached --timeout-s "$TIMEOUT" \
        --audit "$d/audit.jsonl" --quiet-ms 2000 >"$d/wait.out"
    correct=$(kv correct_ms "$d/wait.out")
    last=$(tail -1 "$d/audit.jsonl" | sed -n 's/^{"time":"\([^"]*\)".*/\1/p')
    last_ms=$( [[ -n $last ]] && echo $(( $(date -d "$last" +%s%3N) - t0 )) || echo -)
    gw_writes=$(grep -c '/gateways/.*"subresource":"status"' "$d/audit.jsonl")
    rt_writes=$(grep -c '/httproutes/.*"subresource":"status"' "$d/audit.jsonl")
    cpu=$(awk '{print $14 + $15}' "/proc/$KGC_PID/stat" 2>/dev/null)
    stop_kgc
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$d/time.txt")
    if [[ $(kv correct "$d/wait.out") == yes ]]; then
        all=$((${correct%.*} - t0))
    else
        all="timeout($(kv gateways_ok "$d/wait.out")gw,$(kv routes_ok "$d/wait.out")rt)"
    fi
    printf '%-8s %12s %12s %12s %10s %10s %9s %8s\n' "$w" "$(kv seconds "$d/create.out")" "$all" \
        "$last_ms" "$gw_writes" "$rt_writes" "$([[ -n $rss ]] && echo $((rss / 1024)) || echo -)" \
        "$([[ -n $cpu ]] && awk "BEGIN{printf \"%.1f\", $cpu / $(getconf CLK_TCK)}" || echo -)"
    stop_pid "$KONG_PID"
    stop_pid "$API_PID"
done
echo "(all_status_ms: kgc start → every object correct, polled every ~20 ms plus list time;"
echo " last_write_ms: kgc start → its last status write; writes: status PATCHes kgc sent.)"

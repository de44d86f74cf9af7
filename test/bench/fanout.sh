#!/usr/bin/env bash
# Fan-out (issue #19): N test Kong processes on this machine, one kgc pushing to all of them. With
# G Gateways and R routes synced, C single-route path changes I ms apart; per change, the time from
# the PATCH until every Kong reports a new configuration_hash (kgcload latency): p50/p99/max. Then
# one Kong is stopped (SIGSTOP: it accepts connections and reads nothing, like a hung process)
# and the same is measured on the others: a silent instance must not delay them. Prints a table;
# asserts nothing.
#
# Knobs: BUILD, BENCH_QUICK=1 (10 Kongs, 5 changes), FANOUT_KONGS (50), FANOUT_GATEWAYS (10),
# FANOUT_ROUTES (100), FANOUT_CHANGES (10), FANOUT_INTERVAL_MS (1500), FANOUT_CONCURRENCY (kgc
# --sync-push-concurrency values to run, default "16"; "1" shows one-at-a-time pushes),
# FANOUT_KGC_ARGS.
source "$(dirname "$0")/lib.sh"

if [[ $QUICK == 1 ]]; then
    N=${FANOUT_KONGS:-10} C=${FANOUT_CHANGES:-5}
else
    N=${FANOUT_KONGS:-50} C=${FANOUT_CHANGES:-10}
fi
G=${FANOUT_GATEWAYS:-10} R=${FANOUT_ROUTES:-100} I=${FANOUT_INTERVAL_MS:-1500}
read -r -a EXTRA <<<"${FANOUT_KGC_ARGS:-}"

echo "== fan-out: one route change to $N test Kong processes ($G Gateways, $R routes;" \
    "$C changes ${I} ms apart)"
machine_line
printf '%-12s %-10s %6s %8s %8s %8s %7s %10s %10s\n' concurrency kongs changes p50_ms p99_ms \
    max_ms missed kgc_p50_ms kgc_p99_ms
# kgc_share LOG FROM: p50 and p99 (nearest rank) of kgc's change_to_push after line FROM of its log
kgc_share() {
    grep 'every ready instance holds the change' "$1" | tail -n +$(($2 + 1)) |
        sed -n 's/.*change_to_push_us=\([0-9]*\).*/\1/p' | sort -n |
        awk '{v[NR]=$1} END{if(!NR){print "- -"; exit}
             k50=int(0.5*NR+0.999999); k99=int(0.99*NR+0.999999)
             printf "%.1f %.1f\n", v[k50]/1000, v[k99]/1000}'
}
held() { grep -c 'every ready instance holds the change' "$1"; }
# ticks PID...: utime+stime of the processes, in clock ticks
ticks() { for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done |
    awk '{s += $1} END {print s + 0}'; }
HZ=$(getconf CLK_TCK)

CPU_LINES=()
for conc in ${FANOUT_CONCURRENCY:-16}; do
    d=$TMP/c$conc
    start_apiserver "$d"
    KPIDS=() KURLS=()
    for k in $(seq 1 "$N"); do
        mkdir -p "$d/k$k"
        start_kong "$d/k$k"
        KPIDS+=("$KONG_PID") KURLS+=("$KONG")
    done
    "$LOAD" create --api "$API" --gateways "$G" --routes "$R" --namespaces $(((G + 9) / 10)) \
        --threads 4 >"$d/create.out" || die "create failed: $(cat "$d/create.out")"
    args=()
    for u in "${KURLS[@]:1}"; do args+=(--kong-admin-url "$u"); done
    KONG=${KURLS[0]} # start_kgc passes it
    start_kgc "$d" --listener-cache-dir "$d/lc" --apiserver-qps 0 --sync-push-concurrency "$conc" \
        "${args[@]}" "${EXTRA[@]}"
    "$LOAD" wait --api "$API" --gateways "$G" --routes "$R" --attached --timeout-s 120 \
        >"$d/wait.out" || die "not synced: $(tail -3 "$d/wait.out")"
    for u in "${KURLS[@]}"; do
        "$LOAD" wait-kong --url "$u" --timeout-s 60 >/dev/null || die "$u never configured"
    done
    printf '%s\n' "${KURLS[@]}" >"$d/kongs.txt"
    sleep 2
    from=$(held "$d/kgc.log")
    kt0=$(ticks "${KPIDS[@]}") gt0=$(ticks "$KGC_PID")
    "$LOAD" latency --api "$API" --kongs "$d/kongs.txt" --gateways "$G" --routes "$R" \
        --namespaces $(((G + 9) / 10)) --changes "$C" --interval-ms "$I" --timeout-s 60 \
        >"$d/all.out"
    kt1=$(ticks "${KPIDS[@]}") gt1=$(ticks "$KGC_PID")
    CPU_LINE="CPU per change (concurrency $conc, all $N): test Kongs $(awk -v t=$((kt1 - kt0)) \
        -v c="$C" -v hz="$HZ" -v n="$N" 'BEGIN{printf "%.0f ms (%.1f ms per Kong)", t*1000/hz/c, t*1000/hz/c/n}'), kgc $(awk \
        -v t=$((gt1 - gt0)) -v c="$C" -v hz="$HZ" 'BEGIN{printf "%.0f ms", t*1000/hz/c}')"
    CPU_LINES+=("$CPU_LINE")
    sleep 1
    read -r k50 k99 <<<"$(kgc_share "$d/kgc.log" "$from")"
    printf '%-12s %-10s %6s %8s %8s %8s %7s %10s %10s\n' "$conc" "$N" "$(kv changes "$d/all.out")" \
        "$(kv p50_ms "$d/all.out")" "$(kv p99_ms "$d/all.out")" "$(kv max_ms "$d/all.out")" \
        "$(kv missed "$d/all.out")" "$k50" "$k99"
    # one instance silent: the others must not wait for it
    kill -STOP "${KPIDS[0]}"
    printf '%s\n' "${KURLS[@]:1}" >"$d/others.txt"
    from=$(held "$d/kgc.log")
    "$LOAD" latency --api "$API" --kongs "$d/others.txt" --gateways "$G" --routes "$R" \
        --namespaces $(((G + 9) / 10)) --changes "$C" --interval-ms "$I" --timeout-s 60 \
        >"$d/silent.out"
    sleep 1
    read -r k50 k99 <<<"$(kgc_share "$d/kgc.log" "$from")"
    printf '%-12s %-10s %6s %8s %8s %8s %7s %10s %10s\n' "$conc" "$((N - 1))+1stop" \
        "$(kv changes "$d/silent.out")" "$(kv p50_ms "$d/silent.out")" \
        "$(kv p99_ms "$d/silent.out")" "$(kv max_ms "$d/silent.out")" \
        "$(kv missed "$d/silent.out")" "$k50" "$k99"
    kill -CONT "${KPIDS[0]}"
    stop_kgc
    for p in "${KPIDS[@]}"; do stop_pid "$p"; done
    stop_pid "$API_PID"
done
printf '%s\n' "${CPU_LINES[@]}"
echo "(per change: PATCH → a new configuration_hash on every listed Kong, polled round-robin;"
echo " N+1stop: one Kong SIGSTOPped, the other N measured; kgc_*: kgc's own share, the watch event"
echo " → the last byte sent to the last ready Kong (kgc_change_to_push_seconds, from its log)."
echo " Goal: p99 ≤ 500 ms, the silent one changing nothing for the others.)"

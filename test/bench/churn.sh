#!/usr/bin/env bash
# Steady churn (issue #11): with G Gateways and R routes synced, RATE route spec updates per
# second (merge patches changing the path, so each bumps the generation) for SECONDS; per update,
# the latency from the update (its audit-log time) to kgc's first status write on that route with
# observedGeneration >= the new generation (p50/p99/max), and kgc's CPU (utime+stime over the
# update window; 100% = one core). Prints a table; asserts nothing.
#
# Knobs: BUILD, BENCH_QUICK=1 (100 Gateways, 1,000 routes, 200/s for 10 s), CHURN_GATEWAYS
# (1000), CHURN_ROUTES (10000), CHURN_RATE (1000), CHURN_SECONDS (30), CHURN_QPS (kgc
# --apiserver-qps, default 0: 1k status writes/s cannot pass kgc's default limit of 50/s),
# CHURN_KGC_ARGS.
source "$(dirname "$0")/lib.sh"

if [[ $QUICK == 1 ]]; then
    G=${CHURN_GATEWAYS:-100} R=${CHURN_ROUTES:-1000} RATE=${CHURN_RATE:-200} SECS=${CHURN_SECONDS:-10}
else
    G=${CHURN_GATEWAYS:-1000} R=${CHURN_ROUTES:-10000} RATE=${CHURN_RATE:-1000} SECS=${CHURN_SECONDS:-30}
fi
QPS=${CHURN_QPS:-0}
read -r -a EXTRA <<<"${CHURN_KGC_ARGS:-}"

echo "== steady churn: $RATE route updates/s for $SECS s over $R routes ($G Gateways," \
    "kgc --apiserver-qps $QPS)"
machine_line
d=$TMP/churn
start_apiserver "$d"
start_kong "$d"
"$LOAD" create --api "$API" --gateways "$G" --routes "$R" --namespaces $(((G + 9) / 10)) \
    --threads 4 >"$d/create.out" || die "create failed: $(cat "$d/create.out")"
start_kgc "$d" --listener-cache-dir "$d/lc" --apiserver-qps "$QPS" "${EXTRA[@]}"
"$LOAD" wait --api "$API" --gateways "$G" --routes "$R" --attached --timeout-s 600 \
    --audit "$d/audit.jsonl" --quiet-ms 2000 >"$d/wait.out"
[[ $(kv correct "$d/wait.out") == yes ]] || die "not synced before the churn: $(cat "$d/wait.out")"
rss0=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$KGC_PID/status")
"$LOAD" churn --api "$API" --audit "$d/audit.jsonl" --gateways "$G" --routes "$R" \
    --namespaces $(((G + 9) / 10)) --rate "$RATE" --seconds "$SECS" --pid "$KGC_PID" \
    --threads 8 >"$d/churn.out"
rss1=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$KGC_PID/status")
hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$KGC_PID/status")
pushes=$(grep -c 'msg="configuration pushed"' "$d/kgc.log")
f=$d/churn.out
printf '%-10s %8s %8s %8s %8s %8s %8s %9s %8s %6s %14s %7s\n' updates rate/s errors p50_ms \
    p99_ms max_ms missing settle_ms cpu_% pushes rss_MiB_before/after peak
printf '%-10s %8s %8s %8s %8s %8s %8s %9s %8s %6s %14s %7s\n' "$(kv updates "$f")" \
    "$(kv rate "$f")" "$(kv errors "$f")" "$(kv p50_ms "$f")" "$(kv p99_ms "$f")" \
    "$(kv max_ms "$f")" "$(kv missing "$f")" "$(kv settle_ms "$f")" "$(kv cpu_percent "$f")" \
    "$pushes" "$((rss0 / 1024))/$((rss1 / 1024))" "$((hwm / 1024))"
grep '^missing ' "$f"
stop_kgc
echo "(missing: updates for which no status write with their generation was seen within 60 s"
echo " of the churn's end; settle_ms: the last update → the last such first write; pushes:"
echo " Kong configuration pushes in kgc's log over the whole run, initial sync included.)"

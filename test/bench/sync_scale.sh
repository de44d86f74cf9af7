#!/usr/bin/env bash
# Initial sync at scale (issue #11): G Gateways, R HTTPRoutes, R Services and R EndpointSlices are
# created in the test API server before kgc starts; then the time from kgc's start until every
# Gateway (Accepted, Programmed, every listener OK, attachedRoutes = its route count) and every
# route (Accepted and ResolvedRefs True at its generation) carries its final status, and kgc's
# peak RSS (/usr/bin/time -v), with 1, 2 and 4 workers for the Gateway and HTTPRoute
# controllers. Prints a table; asserts nothing.
#
# Then, per run, where the memory went (needs $BUILD/bench/libmemprobe.so, test/bench/memprobe.c,
# preloaded into kgc; `make bench` builds it), at the moment of kgc's highest RSS: file-backed
# pages (code, libraries, the LMDB map), malloc's arenas (bytes in use, free bytes glibc kept),
# large chunks malloc mmap'd on their own (their written pages, with the thread stacks: anonymous
# RSS minus the arenas; the configuration texts live there), and how many arenas there were; and
# after the sync the informer cache's bytes per kind (kgc_cache_bytes from /metrics) and the
# configuration's size.
#
# Then, per run, the timeline (ms after kgc's start; from kgc's log and the audit log): caches
# synced, first route status write (the first translation's verdicts are in), the first push
# answered, the Gateway and route writes (first, half, last), every object correct; and the CPU
# seconds the test API server, the test Kong and kgcload's wait spent from kgc's start to the end
# of the wait (correct + 2 s quiet), which share the 2 cores with kgc.
#
# Knobs: BUILD, BENCH_QUICK=1 (100 Gateways, 1,000 routes, 4 workers only), SYNC_GATEWAYS (1000),
# SYNC_ROUTES (10000), SYNC_WORKERS ("1 2 4"), SYNC_QPS (kgc --apiserver-qps, default 0 = no
# client-side limit: at the old default of 50/s the ~11k status writes alone took 220 s),
# SYNC_KGC_ARGS (extra kgc flags), SYNC_TIMEOUT_S (600), SYNC_PERF=FILE (`perf record` of kgc from
# its start to the end of the wait into FILE.<workers>; SYNC_PERF_ARGS, default -g), SYNC_PERF_FAKES=FILE (the same for the test API server and
# the test Kong, into FILE.api.<workers> and FILE.kong.<workers>). A last row, "default", runs kgc with its
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

# mem_report WORKERS DIR: one line of the memory table from DIR/mem.<pid> and DIR/metrics.txt.
mem_report() {
    local w=$1 d=$2 f peak arenas cb cfg
    f=$(ls "$d"/mem.* 2>/dev/null | head -1)
    [[ -n $f ]] || { echo "$w (no memprobe output)"; return; }
    peak=$(grep '^peak ' "$f")
    arenas=$(grep -c '<heap nr=' "$f")
    cb() { awk -v k="$1" '$1 == "kgc_cache_bytes{kind=\"" k "\"}" {printf "%.1f", $2 / 1048576}' \
        "$d/metrics.txt" 2>/dev/null; }
    cfg=$(sed -n 's/.*msg="configuration pushed".* bytes=\([0-9]*\).*/\1/p' "$d/kgc.log" | tail -1)
    echo "$peak" | awk -v w="$w" -v ar="$arenas" -v all="$(awk '/^kgc_cache_bytes/ {s += $2}
        END {printf "%.1f", s / 1048576}' "$d/metrics.txt" 2>/dev/null)" -v rt="$(cb httproutes)" \
        -v sv="$(cb services)" -v ep="$(cb endpointslices)" -v gw="$(cb gateways)" \
        -v cfg="${cfg:-0}" '{ m = 1024;
        printf "%-8s %7.1f %6.1f %6.1f %9.1f %10.1f %8.1f %7d %7s %8s %9s %9s %8s %7.1f\n", w,
            $2 / 1000, $3 / m, $5 / m, $6 / m, $7 / m, ($4 - $9) / m, ar, all, rt, sv, ep, gw,
            cfg / 1048576 }'
}

# cpu_of PID: user+system seconds so far (clock ticks).
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# timeline WORKERS DIR T0 API_CPU KONG_CPU LOAD_CPU: one line of the timeline table.
timeline() {
    local w=$1 d=$2 t0=$3
    rel() { [[ -n $1 ]] && echo $(($(date -d "$1" +%s%3N) - t0)) || echo -; }
    lt() { sed -n "s/^time=\([^ ]*\) .*msg=$1.*/\1/p" "$d/kgc.log" | head -1; }
    wt() { grep "/$1/.*\"subresource\":\"status\"" "$d/audit.jsonl" |
        sed -n 's/^{"time":"\([^"]*\)".*/\1/p' | sort >"$d/wt.$1"; }
    wt gateways
    wt httproutes
    local nr
    nr=$(wc -l <"$d/wt.httproutes")
    local c
    c=$(kv correct_ms "$d/wait.out")
    printf '%-8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n' "$w" \
        "$(rel "$(lt '"caches synced"')")" "$(rel "$(head -1 "$d/wt.httproutes")")" \
        "$(rel "$(lt '"configuration pushed"')")" "$(rel "$(head -1 "$d/wt.gateways")")" \
        "$(rel "$(tail -1 "$d/wt.gateways")")" "$(rel "$(sed -n "$((nr / 2))p" "$d/wt.httproutes")")" \
        "$(rel "$(tail -1 "$d/wt.httproutes")")" "$([[ -n $c ]] && echo $((${c%.*} - t0)) || echo -)" \
        "$4" "$5" "$6"
}

MEMLINES=()
TIMELINES=()
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
    api_c0=$(cpu_of "$API_PID") kong_c0=$(cpu_of "$KONG_PID")
    t0=$(now_ms)
    [[ -f $BUILD/bench/libmemprobe.so ]] && KGC_MEMPROBE=$d/mem
    start_kgc "$d" --listener-cache-dir "$d/lc" "${args[@]}" --http-listen 127.0.0.1:0 "${EXTRA[@]}"
    unset KGC_TIME KGC_MEMPROBE
    perf_pid=
    if [[ -n ${SYNC_PERF:-} ]]; then
        perf record -q ${SYNC_PERF_ARGS:--g} -p "$KGC_PID" -o "$SYNC_PERF.$w" >/dev/null 2>&1 &
        perf_pid=$!
    fi
    fperf=()
    if [[ -n ${SYNC_PERF_FAKES:-} ]]; then
        perf record -q ${SYNC_PERF_ARGS:--g} -p "$API_PID" -o "$SYNC_PERF_FAKES.api.$w" \
            >/dev/null 2>&1 &
        fperf+=($!)
        perf record -q ${SYNC_PERF_ARGS:--g} -p "$KONG_PID" -o "$SYNC_PERF_FAKES.kong.$w" \
            >/dev/null 2>&1 &
        fperf+=($!)
    fi
    /usr/bin/time -f "%U %S" -o "$d/wait.time" "$LOAD" wait --api "$API" --gateways "$G" \
        --routes "$R" --attached --timeout-s "$TIMEOUT" --audit "$d/audit.jsonl" --quiet-ms 2000 \
        >"$d/wait.out"
    if [[ -n $perf_pid ]]; then kill -INT "$perf_pid" && wait "$perf_pid"; fi
    for p in "${fperf[@]}"; do kill -INT "$p" && wait "$p"; done
    tck=$(getconf CLK_TCK)
    api_cpu=$(awk -v a="$api_c0" -v b="$(cpu_of "$API_PID")" -v t="$tck" 'BEGIN{printf "%.2f", (b - a) / t}')
    kong_cpu=$(awk -v a="$kong_c0" -v b="$(cpu_of "$KONG_PID")" -v t="$tck" 'BEGIN{printf "%.2f", (b - a) / t}')
    load_cpu=$(awk '{printf "%.2f", $1 + $2}' "$d/wait.time" 2>/dev/null)
    correct=$(kv correct_ms "$d/wait.out")
    last=$(tail -1 "$d/audit.jsonl" | sed -n 's/^{"time":"\([^"]*\)".*/\1/p')
    last_ms=$( [[ -n $last ]] && echo $(( $(date -d "$last" +%s%3N) - t0 )) || echo -)
    gw_writes=$(grep -c '/gateways/.*"subresource":"status"' "$d/audit.jsonl")
    rt_writes=$(grep -c '/httproutes/.*"subresource":"status"' "$d/audit.jsonl")
    cpu=$(awk '{print $14 + $15}' "/proc/$KGC_PID/stat" 2>/dev/null)
    maddr=$(sed -n 's/.*msg=listening server=[^ ]* address=\([^ ]*\).*/\1/p' "$d/kgc.log" | head -1)
    [[ -n $maddr ]] && curl -s "http://$maddr/metrics" >"$d/metrics.txt"
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
    MEMLINES+=("$(mem_report "$w" "$d")")
    TIMELINES+=("$(timeline "$w" "$d" "$t0" "$api_cpu" "$kong_cpu" "${load_cpu:--}")")
done
echo "(all_status_ms: kgc start → every object correct (kgcload wait: a list, then a watch, of each kind);"
echo " last_write_ms: kgc start → its last status write; writes: status PATCHes kgc sent.)"
echo
echo "timeline (ms after kgc's start) and the CPU seconds of the processes kgc shares the cores with:"
printf '%-8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n' workers synced rt_first push gw_first \
    gw_last rt_half rt_last all api_cpu kong_cpu load_cpu
printf '%s\n' "${TIMELINES[@]}"
echo "(synced: caches synced; rt_first: the first route status write (the first translation's"
echo " verdicts are in); push: the first push answered; gw_*/rt_*: Gateway and route status writes;"
echo " all: every object correct; *_cpu: test API server, test Kong, kgcload wait, from kgc's start"
echo " to the end of the wait (correct + 2 s quiet).)"
if [[ -f $BUILD/bench/libmemprobe.so ]]; then
    echo
    echo "memory at kgc's peak RSS (MiB; memprobe), and after the sync (cache: kgc_cache_bytes):"
    printf '%-8s %7s %6s %6s %9s %10s %8s %7s %7s %8s %9s %9s %8s %7s\n' workers peak_t_s rss \
        file arena_use arena_free big+stk arenas cache cache_rt cache_svc cache_eps cache_gw \
        config
    printf '%s\n' "${MEMLINES[@]}"
    echo "(file: code, libraries, LMDB map; arena_use/arena_free: malloc's arenas, bytes in use"
    echo " and free bytes kept; big+stk: anonymous RSS outside the arenas (chunks >= 128 KiB,"
    echo " such as the configuration texts, and thread stacks); cache_*: HTTPRoutes, Services,"
    echo " EndpointSlices, Gateways; config: the pushed text.)"
fi

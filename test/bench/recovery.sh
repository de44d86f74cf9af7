#!/usr/bin/env bash
# Restart recovery (issue #11): N Gateways Programmed; the test Kong is killed (SIGKILL) for a
# while and started again on the same port; how long after Kong answers again is every Gateway
# correct (Accepted and Programmed, every listener Accepted/Programmed/ResolvedRefs True), and
# which wrong statuses were written. Default kgc against the upstream policy
# (--listener-cache-dir='' --requeue-on-kong-ready=false), one after the other, same machine.
#
# Per Gateway, "recovery" is the time from Kong ready (its first answer to GET /status) to the
# status write that made it correct again, taken from the API server's audit log; a Gateway whose
# status was never made wrong counts 0. Prints a table; asserts nothing.
#
# Outage "5r": 5 s during which kgc itself is restarted (1 s in), so nothing kept in kgc's memory
# (listeners, what Kong carried) survives: only the LMDB listener cache of default kgc does.
#
# Knobs: BUILD, BENCH_QUICK=1 (1 and 100 Gateways, outages 5 and 5r only), RECOVERY_GATEWAYS="1
# 100 1000", RECOVERY_OUTAGES="5 60 5r" (seconds; r: kgc restarted in the outage),
# RECOVERY_KGC_ARGS (extra kgc flags for both).
source "$(dirname "$0")/lib.sh"

if [[ $QUICK == 1 ]]; then
    SIZES=${RECOVERY_GATEWAYS:-"1 100"}
    OUTAGES=${RECOVERY_OUTAGES:-"5 5r"}
else
    SIZES=${RECOVERY_GATEWAYS:-"1 100 1000"}
    OUTAGES=${RECOVERY_OUTAGES:-"5 60 5r"}
fi
read -r -a EXTRA <<<"${RECOVERY_KGC_ARGS:-}"

echo "== restart recovery: ms from Kong ready to every Gateway correct (audit log)"
machine_line
printf '%-6s %-7s %-9s %8s %8s %8s %9s %10s %12s %11s %9s\n' gws outage policy p50_ms p99_ms \
    max_ms rewritten kong_cfg_ms outage_wrong after_wrong writes
declare -A MAX

# run_policy N POLICY: one fresh set of servers and one kgc; every outage in OUTAGES.
run_policy() {
    local n=$1 policy=$2 d=$TMP/$1-$2
    local flags=(--listener-cache-dir "$d/lc")
    [[ $policy == upstream ]] && flags=(--listener-cache-dir '' --requeue-on-kong-ready=false)
    start_apiserver "$d"
    start_kong "$d"
    # One route per Gateway: a configuration with entities, so Kong's hash after the restart tells
    # when kgc's re-push landed (an entity-free one stays 32 zeros, and kong_cfg_ms never comes).
    "$LOAD" create --api "$API" --gateways "$n" --routes "$n" --namespaces $(((n + 9) / 10)) \
        >"$d/create.out" ||
        { echo "create failed: $(cat "$d/create.out")"; return; }
    start_kgc "$d" "${flags[@]}" "${EXTRA[@]}"
    if ! "$LOAD" wait --api "$API" --gateways "$n" --timeout-s 300 --audit "$d/audit.jsonl" \
        --quiet-ms 1000 >"$d/wait0.out"; then
        echo "$n gateways never all Programmed before the outage: $(cat "$d/wait0.out")"
        stop_kgc; stop_pid "$KONG_PID"; stop_pid "$API_PID"
        return
    fi
    for spec in $OUTAGES; do
        local t0 out=${spec%r}
        t0=$(now_ms)
        kill -KILL "$KONG_PID"; wait "$KONG_PID" 2>/dev/null
        if [[ $spec == *r ]]; then # kgc restarts 1 s into the outage: caches in memory are gone
            sleep 1
            stop_kgc
            start_kgc "$d" "${flags[@]}" "${EXTRA[@]}"
            sleep $((out - 1))
        else
            sleep "$out"
        fi
        # The poller runs before Kong starts, so "ready" is Kong's first answer (2 ms polls).
        "$LOAD" wait-kong --url "$KONG" --timeout-s 60 >"$d/kong-$spec.out" &
        local poller=$!
        start_kong "$d" "$KONG_PORT"
        wait "$poller"
        local ready cfg
        ready=$(kv kong_ready_ms "$d/kong-$spec.out")
        cfg=$(kv kong_configured_ms "$d/kong-$spec.out")
        [[ -z $ready ]] && { echo "Kong did not come back"; break; }
        "$LOAD" wait --api "$API" --gateways "$n" --timeout-s 300 --audit "$d/audit.jsonl" \
            --quiet-ms 2000 >"$d/wait-$spec.out"
        "$LOAD" recovery-audit --audit "$d/audit.jsonl" --gateways "$n" --outage-ms "$t0" \
            --ready-ms "$ready" >"$d/rec-$spec.out"
        local f=$d/rec-$spec.out un
        un=$(kv unrecovered "$f")
        local p99 max
        p99=$(kv p99_ms "$f"); max=$(kv max_ms "$f")
        [[ $un != 0 ]] && { p99="$p99+"; max="stuck:$un"; }
        printf '%-6s %-7s %-9s %8s %8s %8s %9s %10s %12s %11s %9s\n' "$n" "${out}s${spec//[0-9]/}" "$policy" \
            "$(kv p50_ms "$f")" "$p99" "$max" "$(kv rewritten "$f")" \
            "$([[ -n $cfg ]] && awk "BEGIN{printf \"%.0f\", $cfg - $ready}" || echo never)" \
            "$(kv outage_unsupported "$f")U/$(kv outage_programmed_false "$f")P" \
            "$(kv after_unsupported "$f")U/$(kv after_programmed_false "$f")P" \
            "$(($(kv outage_writes "$f") + $(kv after_writes "$f")))"
        MAX[$n-$spec-$policy]=$max
    done
    stop_kgc
    stop_pid "$KONG_PID"
    stop_pid "$API_PID"
}

for n in $SIZES; do
    for policy in kgc upstream; do
        run_policy "$n" "$policy"
    done
done

echo
echo "ratio upstream/kgc (max ms to every Gateway correct; 0 ms counts as 1 ms):"
for n in $SIZES; do
    for spec in $OUTAGES; do
        a=${MAX[$n-$spec-kgc]:-} b=${MAX[$n-$spec-upstream]:-} out=${spec%r}s${spec//[0-9]/}
        if [[ $a =~ ^[0-9.]+$ && $b =~ ^[0-9.]+$ ]]; then
            printf '  %5s gateways, %4s outage: %8s ms vs %8s ms  ratio %s\n' "$n" "$out" "$a" "$b" \
                "$(awk "BEGIN{a=$a<1?1:$a; b=$b<1?1:$b; printf \"%.1f\", b/a}")"
        else
            printf '  %5s gateways, %4s outage: kgc %s, upstream %s\n' "$n" "$out" "${a:-n/a}" "${b:-n/a}"
        fi
    done
done
echo "(outage_wrong/after_wrong: status writes during the outage / after Kong ready carrying a"
echo " listener Accepted=False/UnsupportedProtocol (U) or Programmed=False (P); every listener"
echo " here is valid, so each is a wrong status. writes: Gateway status writes from outage start.)"

#!/usr/bin/env bash
# e2e: three kgc replicas with --leader-elect against one API server: exactly one leads and
# writes status (per-replica metrics); killing it with SIGKILL hands over within the lease
# duration and statuses stay right (a spec change after the hand-over is statused by the new
# leader); SIGTERM releases the Lease and exits 0.
# Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
start_apiserver

start_kong 1 0 || { bad "test Kong starts"; finish; }
KONG=${KONG_URL[1]}
apply_crds
{ base_yaml; gateway_yaml gw; } >"$TMP/objects.yaml"
apply_objects "objects applied"

start_replicas "$KONG"
wait_programmed "the Gateway is Programmed with three replicas running" "" gw
writes() { metric "${REPLICA_URL[$1]}" kgc_reconcile_status_writes_total; } # replica N's
leaders() { grep -l 'became the leader' "$TMP"/kgc-[123].log 2>/dev/null | wc -l; }
sleep 1
[[ $(leaders) -eq 1 ]] && ok "exactly one replica became the leader" || bad "leaders: $(leaders)"
leader=0 writers=0
for n in 1 2 3; do
    w=$(writes $n)
    if grep -q 'became the leader' "$TMP/kgc-$n.log"; then leader=$n; fi
    [[ ${w:-0} -gt 0 ]] && writers=$((writers + 1))
    echo "     replica $n: $w status writes"
done
[[ $writers -eq 1 && $leader -ne 0 && $(writes $leader) -gt 0 ]] &&
    ok "only the leader (replica $leader) wrote status" || bad "status writers: $writers"

kill -9 "${KGC_PID[$leader]}"
wait "${KGC_PID[$leader]}" 2>/dev/null
forget_pid "${KGC_PID[$leader]}"
t0=$(date +%s%3N)
k -n demo patch gateway gw --type merge \
    -p '{"spec":{"listeners":[{"name":"http","port":8000,"protocol":"HTTP"},{"name":"http2","port":8000,"protocol":"HTTP","hostname":"b.example.com"}]}}' >/dev/null
new=0
for _ in $(seq 1 150); do
    for n in 1 2 3; do
        [[ $n -ne $leader ]] && grep -q 'became the leader' "$TMP/kgc-$n.log" && new=$n
    done
    [[ $new -ne 0 ]] && break
    sleep 0.1
done
[[ $new -ne 0 ]] && ok "replica $new took over $(( $(date +%s%3N) - t0 )) ms after the leader was killed (lease 3 s)" ||
    bad "no hand-over"
gen=$(k -n demo get gateway gw -o jsonpath='{.metadata.generation}')
k -n demo wait --for=jsonpath='{.status.listeners[1].conditions[?(@.type=="Accepted")].observedGeneration}'="$gen" \
    gateway/gw --timeout=20s >/dev/null &&
    ok "the spec change made during the hand-over is statused (observedGeneration $gen)" ||
    bad "status did not follow the spec change"
for n in 1 2 3; do
    [[ $n -eq $leader ]] && continue
    stop_kgc $n && ok "replica $n exits 0 on SIGTERM" || bad "replica $n exit status"
done
holder=$(k -n default get lease kgc-leader -o jsonpath='{.spec.holderIdentity}')
[[ -z $holder ]] && ok "the Lease was released on shutdown" || bad "Lease still held by '$holder'"
finish

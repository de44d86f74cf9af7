#!/usr/bin/env bash
# e2e resilience (issue #11, scenario 8): three kgc replicas with --leader-elect (lease 3 s) and
# 200 HTTPRoutes created at once; the leader is SIGKILLed while it is writing their statuses.
# Checked: exactly one of the two survivors becomes the leader once the lease expires (its log,
# the Lease's holderIdentity and the kgc_leader gauge of both survivors agree), no status write
# reaches the API server while nobody leads (audit log), the other survivor never writes, and no
# status is lost: every route ends Accepted at its generation and the Gateway counts them all.
# Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
e2e_bound 100
ROUTES=${ROUTES:-200}
start_cluster
{ base_yaml; gateway_yaml gw; web_service_yaml; } >"$TMP/objects.yaml"
apply_objects "class, Gateway and Service applied"

# A modest client-side rate limit (40/s) spreads the leader's 200 route status writes over a few
# seconds, so that it dies in the middle of them.
start_replicas "${KONG_URL[1]}" --apiserver-qps 40 --apiserver-burst 20
wait_programmed "the Gateway is Programmed with three replicas running" "" gw
leaders() { grep -l 'became the leader' "$TMP"/kgc-[123].log 2>/dev/null; }
wait_until 10 0.2 test -n "$(leaders)"
first=$(leaders)
[[ $(wc -w <<<"$first") -eq 1 ]] && ok "one replica leads: ${first##*/}" ||
    { bad "leaders at start: '$first'"; finish; }
old=${first##*kgc-}
old=${old%.log}
identity() { sed -n 's/.*msg="election started".* identity=\([^ ]*\).*/\1/p' "$TMP/kgc-$1.log" | head -1; }

route_writes() { grep -c '/httproutes/[^/]*/status","subresource":"status","code":200' "$TMP/audit.jsonl"; }
ROUTES=$ROUTES python3 - <<'PY' || bad "create the routes"
import os, sys
sys.path.insert(0, os.environ['TMP'])
from kube import Kube, GW, route
k = Kube(os.environ['API'])
for i in range(int(os.environ['ROUTES'])):
    st, _ = k.create(f'{GW}/namespaces/demo/httproutes', route('demo', f'rt-{i:03d}', 'gw', f'/rt-{i:03d}'))
    if st != 201:
        sys.exit(f'create rt-{i:03d}: {st}')
PY
some_written() { [[ $(route_writes) -ge $((ROUTES / 8)) ]]; }
wait_until 20 0.05 some_written
kill -9 "${KGC_PID[$old]}"
t_kill=$(now_ms)
wait "${KGC_PID[$old]}" 2>/dev/null
forget_pid "${KGC_PID[$old]}"
before=$(route_writes)
[[ $before -gt 0 && $before -lt $ROUTES ]] &&
    ok "the leader (replica $old) SIGKILLed after $before of $ROUTES route status writes" ||
    bad "killed after $before of $ROUTES route status writes (not in the middle)"

new=
for _ in $(seq 1 150); do # at most 15 s
    new=$(leaders | grep -v "kgc-$old.log")
    [[ -n $new ]] && break
    sleep 0.1
done
t_new=$(now_ms)
if [[ $(wc -w <<<"$new") -eq 1 ]]; then
    new=${new##*kgc-}
    new=${new%.log}
    ok "replica $new took over $((t_new - t_kill)) ms after the kill (lease 3 s)"
else
    bad "survivors leading after the kill: '$new'"; finish
fi
other=$((6 - old - new))
holder_is_new() {
    [[ $(k -n default get lease kgc-leader -o jsonpath='{.spec.holderIdentity}') == "$(identity "$new")" ]]
}
wait_until 10 0.2 holder_is_new &&
    ok "the Lease's holderIdentity is replica $new's identity ($(identity "$new"))" ||
    bad "Lease holder: $(k -n default get lease kgc-leader -o jsonpath='{.spec.holderIdentity}')"

write_right_py 'all {n} routes Accepted at their generation, attachedRoutes {n}'
if wait_until 30 0.5 right; then
    ok "no status lost: $(cat "$TMP/right.out") $(($(now_ms) - t_new)) ms after the hand-over"
else
    bad "statuses after the hand-over:"; cat "$TMP/right.out"
fi

# Exactly one leader: the gauges of both survivors, and only the new leader writes.
g_new=$(metric "${REPLICA_URL[$new]}" kgc_leader)
g_other=$(metric "${REPLICA_URL[$other]}" kgc_leader)
w_new=$(metric "${REPLICA_URL[$new]}" 'kgc_reconcile_status_writes_total{controller="httproute"}')
w_other=$(metric "${REPLICA_URL[$other]}" kgc_reconcile_status_writes_total)
[[ $g_new == 1 && $g_other == 0 ]] && ok "kgc_leader: 1 on replica $new, 0 on replica $other" ||
    bad "kgc_leader: $g_new on replica $new, $g_other on replica $other"
grep -q 'became the leader' "$TMP/kgc-$other.log" && bad "replica $other became the leader too" ||
    ok "replica $other never led"
[[ $w_other == 0 && $w_new -gt 0 && $((before + w_new)) -ge $ROUTES ]] &&
    ok "replica $new wrote the $w_new route statuses left (replica $other wrote none)" ||
    bad "status writes: replica $new $w_new, replica $other $w_other, $before before the kill"
# Nobody writes while nobody leads: no status write from 300 ms after the kill (the dead leader's
# last requests in flight) until the new leader took over.
gap=$(python3 - "$TMP/audit.jsonl" "$((t_kill + 300))" "$t_new" "$TMP/kgc-$new.log" <<'PY'
import datetime, json, re, sys
def ms(t):
    return int(datetime.datetime.fromisoformat(t.replace('Z', '+00:00')).timestamp() * 1000)
became = None
for line in open(sys.argv[4]):
    if 'became the leader' in line:
        became = ms(re.match(r'time=(\S+)', line)[1])
start, end = int(sys.argv[2]), became or int(sys.argv[3])
print(sum(1 for l in open(sys.argv[1]) if '"subresource":"status"' in l and start <= ms(json.loads(l)['time']) < end))
PY
)
[[ $gap == 0 ]] && ok "no status write while no replica led" || bad "$gap status writes while no replica led"
for n in $new $other; do
    stop_kgc "$n" && ok "replica $n exits 0 on SIGTERM" || bad "replica $n exit status"
done
holder=$(k -n default get lease kgc-leader -o jsonpath='{.spec.holderIdentity}')
[[ -z $holder ]] && ok "the Lease was released on shutdown" || bad "Lease still held by '$holder'"
no_sanitizer_reports "$TMP"/kgc-"$new".log "$TMP"/kgc-"$other".log
finish

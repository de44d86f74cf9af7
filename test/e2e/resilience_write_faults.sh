#!/usr/bin/env bash
# e2e resilience (issue #11, scenario 4): status writes refused. First every second status write
# (PATCH on .../status of the Gateway API kinds) is answered 409 Conflict while 40 HTTPRoutes are
# created; then a burst of 500s while every route is edited, then a burst of 429s (Retry-After: 1)
# while every route is edited again. After each phase every status must be right (routes Accepted
# at their generation, the Gateway Programmed with attachedRoutes 40): the writes eventually
# succeeded. The retries must be bounded: kgc's /metrics must agree with the API server's audit
# log (status writes sent, 409s counted), every retry must be explained by one refused write (or,
# for Gateways, by waiting for Kong), and the writes must stay within twice what is needed.
# Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
e2e_bound 100
ROUTES=${ROUTES:-40} BURST=${BURST:-30}
start_cluster
{ base_yaml; gateway_yaml gw; web_service_yaml; } >"$TMP/objects.yaml"
apply_objects "class, Gateway and Service applied"

fault() { # fault QUERY: a fault rule on the status writes (PATCH) of the Gateway API kinds
    curl -sf -X POST "$API/_test/fail?prefix=/apis/gateway.networking.k8s.io/&verb=patch&$1" \
        >/dev/null
}
reset_faults() { curl -sf -X POST "$API/_test/reset-faults" >/dev/null; }

cat >"$TMP/routes.py" <<'PY'
"""routes.py create N | edit N TAG: creates rt-000.. or edits every route's path (a new
generation) with plain POST/PUT, which the fault rules (verb=patch) do not touch."""
import os, sys
sys.path.insert(0, os.environ['TMP'])
from kube import Kube, GW, route
k = Kube(os.environ['API'])
base = f'{GW}/namespaces/demo/httproutes'
n = int(sys.argv[2])
for i in range(n):
    name = f'rt-{i:03d}'
    if sys.argv[1] == 'create':
        st, body = k.create(base, route('demo', name, 'gw', f'/{name}'))
        want = 201
    else:
        def edit(o):
            o['spec']['rules'][0]['matches'][0]['path']['value'] = f'/{name}-{sys.argv[3]}'
        st, want = k.modify(f'{base}/{name}', edit), 200
    if st != want:
        sys.exit(f'{sys.argv[1]} {name}: {st}')
PY
write_right_py '{n} routes Accepted at their generation, the Gateway Programmed with attachedRoutes {n}'
routes() { python3 "$TMP/routes.py" "$@"; }
# phase NAME: waits (30 s at most) for every status to be right after the phase's changes.
phase() {
    local t
    t=$(now_ms)
    if wait_until 30 0.3 right; then
        ok "$1: statuses right $(($(now_ms) - t)) ms after the changes ($(cat "$TMP/right.out"))"
    else
        bad "$1: statuses not right after 30 s:"; cat "$TMP/right.out"
    fi
}

HP=$(free_port)
M=http://127.0.0.1:$HP
fault "code=409&every=2" && ok "fault: every second status write answered 409" || bad "fault rule"
start_kgc_on 1 "${KONG_URL[1]}"
routes create "$ROUTES" || bad "create routes"
phase "every second write 409"

reset_faults
fault "code=500&count=$BURST" && routes edit "$ROUTES" v2 || bad "500 burst and edits"
phase "a burst of $BURST 500s"
reset_faults
fault "code=429&count=$BURST" && routes edit "$ROUTES" v3 || bad "429 burst and edits"
phase "a burst of $BURST 429s"
reset_faults

# --- the audit log against kgc's metrics ----------------------------------------------------------
curl -sf "$M/metrics" >"$TMP/metrics" || bad "/metrics"
cat >"$TMP/account.py" <<'PY'
"""The status writes of the audit log, per controller, against kgc's counters."""
import json, re, sys
ctl = {'gatewayclasses': 'gatewayclass', 'gateways': 'gateway', 'httproutes': 'httproute'}
writes = {c: 0 for c in ctl.values()}
failed = {c: {} for c in ctl.values()}
last = {}
for line in open(sys.argv[1]):
    a = json.loads(line)
    if a.get('subresource') != 'status' or '/gateway.networking.k8s.io/' not in a['path']:
        continue
    c = ctl[a['path'].split('/')[-3]]
    writes[c] += 1
    if a['code'] >= 300:
        failed[c][a['code']] = failed[c].get(a['code'], 0) + 1
    last[a['path']] = a['code']  # (a last write may be a 409 for a patch the cache had made moot)
m = {}
for line in open(sys.argv[2]):
    r = re.match(r'^(\w+)\{(?:name|controller)="(\w+)"(?:,result="(\w+)")?\} (\S+)$', line)
    if r:
        m[(r[1], r[2], r[3])] = float(r[4])
bad = []
for c in ctl.values():
    f = sum(failed[c].values())
    sent = m.get(('kgc_reconcile_status_writes_total', c, None), -1)
    conflicts = m.get(('kgc_reconcile_status_conflicts_total', c, None), -1)
    retries = m.get(('kgc_workqueue_retries_total', c, None), -1)
    pending = m.get(('kgc_reconcile_kong_pending_total', c, None), 0)
    print(f'# {c}: {writes[c]} status writes audited, failed {failed[c]}; kgc: {sent:.0f} sent, '
          f'{conflicts:.0f} conflicts, {retries:.0f} retries, {pending:.0f} waits for Kong')
    if sent != writes[c]:
        bad.append(f'{c}: kgc counts {sent:.0f} status writes, the audit log {writes[c]}')
    if conflicts != failed[c].get(409, 0):
        bad.append(f'{c}: kgc counts {conflicts:.0f} conflicts, the audit log {failed[c].get(409, 0)}')
    # Every failed write is retried once; nothing else retries (Gateways also wait for Kong).
    if not f <= retries <= f + pending:
        bad.append(f'{c}: {retries:.0f} retries for {f} failed writes and {pending:.0f} waits for Kong')
injected = sum(sum(v.values()) for v in failed.values())
if failed['httproute'].get(500, 0) == 0 or failed['httproute'].get(429, 0) == 0 or failed['httproute'].get(409, 0) == 0:
    bad.append(f'the faults did not hit the route status writes: {failed["httproute"]}')
print('\n'.join(bad) if bad else f'{injected} refused status writes to {len(last)} objects, each retried exactly once')
sys.exit(1 if bad else 0)
PY
if out=$(python3 "$TMP/account.py" "$TMP/audit.jsonl" "$TMP/metrics"); then
    ok "retries bounded and writes eventually succeed: $(grep -v '^#' <<<"$out")"
else
    bad "write accounting:"; grep -v '^#' <<<"$out"
fi
grep '^#' <<<"$out"
routes_ok=$(grep -c '"subresource":"status","code":20' "$TMP/audit.jsonl")
# Three generations of ROUTES routes need 3 × ROUTES route writes, plus the Gateway's and the
# class's: more than twice that would be writes going round in circles.
writes=$(grep -c '"subresource":"status"' "$TMP/audit.jsonl")
[[ $writes -le $((2 * 3 * ROUTES + 3 * BURST + 40)) ]] &&
    ok "no write storm: $writes status writes ($routes_ok succeeded) for $((3 * ROUTES)) route generations" ||
    bad "$writes status writes for $((3 * ROUTES)) route generations"
stop_kgc 1 && ok "kgc exits 0 on SIGTERM" || bad "kgc exit status"
no_sanitizer_reports "$TMP"/kgc-*.log
finish

#!/usr/bin/env bash
# e2e resilience (issue #11, scenario 3): watch streams cut 100 times (POST /_test/close-watches)
# and the event history expired 10 times (POST /_test/drop-history, each followed by a cut, so
# resuming watches get 410 Expired and relist) during 2,000 object changes over every kind kgc
# watches (HTTPRoutes created, edited, moved between Gateways and deleted; Services, Secrets and
# ReferenceGrants created, edited and deleted; EndpointSlice, Namespace, Gateway and GatewayClass
# edits, the last two bumping generations). Then kgc's cache (GET /debug/cache) must equal the API
# server's objects (namespace, name and resourceVersion of every object of the 11 kinds; the
# BackendTLSPolicy CRD is installed, no ConfigMap or policy changes) and no
# status may be stale: every HTTPRoute, Gateway and GatewayClass condition has observedGeneration =
# generation, routes Accepted on the Gateway their spec names, attachedRoutes right.
# Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
e2e_bound 100
CHANGES=${CHANGES:-2000} CUTS=${CUTS:-100} EXPIRIES=${EXPIRIES:-10} WINDOW_MS=${WINDOW_MS:-60}
start_cluster
k apply --server-side -f "$GWAPI/crds-more/gateway.networking.k8s.io_backendtlspolicies.yaml" \
    >/dev/null || bad "BackendTLSPolicy CRD"
{
    base_yaml; gateway_yaml gw-a a.example.com; gateway_yaml gw-b b.example.com; web_service_yaml
    cat <<'YAML'
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints: [{addresses: [10.0.0.1], conditions: {ready: true}}]
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
YAML
} >"$TMP/objects.yaml"
apply_objects "class, two Gateways and a Service applied"
kgc_ports
# The client-side limit is raised (default 50/s): 8 re-watches per cut every WINDOW_MS would queue
# behind it and most cuts would find no watch open.
start_kgc_on 1 "${KONG_URL[1]}" --apiserver-qps 500 --apiserver-burst 500
wait_programmed "both Gateways Programmed" "$TMP/kgc-1.log" gw-a gw-b
restarts0=$(metric "$M" kgc_informer_watch_restarts_total)
relists0=$(metric "$M" kgc_informer_relists_total)

# The driver: windows of 20 changes touching every kind kgc watches (10 HTTPRoute, 2 Service,
# 2 Gateway, 2 EndpointSlice, 1 Secret, 1 Namespace, 1 ReferenceGrant, 1 GatewayClass change), so
# each watch kgc resumes after a cut has events (a watch that ends within 1 s with none is a
# failure that backs off, as in client-go), each window on a WINDOW_MS schedule and ended by a cut.
# The 10 cuts after the first 40 are each preceded by a history expiry (a compaction storm in the
# middle of the churn): a resume then gets 410 Expired and kgc backs off (0.8 s doubling per
# failure, reset after 2 min, as client-go's reflector) and relists. Spread over the whole run,
# the expiries would keep every informer backing off (most cuts would find no watch to cut) and
# push its backoff to the 30 s cap, which the 60 s budget of the scenario cannot wait for.
cat >"$TMP/driver.py" <<'PY'
import os, random, sys, time
sys.path.insert(0, os.environ['TMP'])
from kube import Kube, GW, route
k = Kube(os.environ['API'])
changes, cuts, expiries = (int(os.environ[v]) for v in ('CHANGES', 'CUTS', 'EXPIRIES'))
window = float(os.environ['WINDOW_MS']) / 1000
per = changes // cuts
seed = int(os.environ.get('SEED', '0')) or int(time.time())
rnd = random.Random(seed)
R = f'{GW}/namespaces/demo/httproutes'
S = '/api/v1/namespaces/demo/services'
G = f'{GW}/namespaces/demo/gateways'
E = '/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices'
X = '/api/v1/namespaces/other/secrets'
RG = '/apis/gateway.networking.k8s.io/v1beta1/namespaces/other/referencegrants'
live = {'route': set(), 'service': set(), 'secret': set(), 'grant': set()}
n = {'cut': 0, 'expiry': 0, 'watches_cut': 0, 'cuts_hit': 0}
fails = []

def check(what, st, want=(200,)):
    if st not in want:
        fails.append(f'{what}: {st}')

def churn(kind, base, pool, make, edit, i):
    """create when absent, else edit (70%) or delete"""
    name = rnd.choice(pool)
    if name not in live[kind]:
        check(f'create {kind} {name}', k.create(base, make(name, i))[0], (201,))
        live[kind].add(name)
    elif rnd.random() < 0.7:
        check(f'edit {kind} {name}', k.modify(f'{base}/{name}', lambda o: edit(o, i)))
    else:
        check(f'delete {kind} {name}', k.delete(f'{base}/{name}')[0])
        live[kind].discard(name)
    n[kind] = n.get(kind, 0) + 1

def route_edit(o, i):
    name = o['metadata']['name']
    o['spec']['rules'][0]['matches'][0]['path']['value'] = f'/{name}-{i}'
    if rnd.random() < 0.3:
        p = o['spec']['parentRefs'][0]
        p['name'] = 'gw-b' if p['name'] == 'gw-a' else 'gw-a'

def route_change(i):
    churn('route', R, [f'rt-{j:03d}' for j in range(100)],
          lambda name, i: route('demo', name, rnd.choice(['gw-a', 'gw-b']), f'/{name}-{i}'), route_edit, i)

def service_change(i):
    churn('service', S, [f'svc-{j:02d}' for j in range(20)],
          lambda name, i: {'apiVersion': 'v1', 'kind': 'Service',
                           'metadata': {'name': name, 'namespace': 'demo', 'labels': {'v': str(i)}},
                           'spec': {'ports': [{'port': 80, 'targetPort': 8080}]}},
          lambda o, i: o['metadata'].setdefault('labels', {}).update(v=str(i)), i)

def secret_change(i):
    churn('secret', X, [f'sec-{j}' for j in range(5)],
          lambda name, i: {'apiVersion': 'v1', 'kind': 'Secret', 'type': 'kubernetes.io/tls',
                           'metadata': {'name': name, 'namespace': 'other'},
                           'data': {'tls.crt': 'MA==', 'tls.key': 'MA=='}},
          lambda o, i: o['metadata'].setdefault('labels', {}).update(v=str(i)), i)

def grant_change(i):
    churn('grant', RG, [f'rg-{j}' for j in range(3)],
          lambda name, i: {'apiVersion': 'gateway.networking.k8s.io/v1beta1', 'kind': 'ReferenceGrant',
                           'metadata': {'name': name, 'namespace': 'other'},
                           'spec': {'from': [{'group': 'gateway.networking.k8s.io', 'kind': 'HTTPRoute', 'namespace': 'other'}],
                                    'to': [{'group': '', 'kind': 'Service', 'name': f's{i}'}]}},
          lambda o, i: o['spec']['to'][0].update(name=f's{i}'), i)

def edit(what, path, fn):
    check(what, k.modify(path, fn))
    n[what] = n.get(what, 0) + 1

def slice_change(i):
    edit('endpointslice', f'{E}/web-1', lambda o: o['endpoints'][0].update(addresses=[f'10.0.{i // 250}.{i % 250 + 1}']))

def gateway_change(i, name):
    edit('gateway', f'{G}/{name}', lambda o: o['spec']['listeners'][0].update(hostname=f'{name}-{i}.example.com'))

def namespace_change(i):
    edit('namespace', '/api/v1/namespaces/other', lambda o: o['metadata'].setdefault('labels', {}).update(v=str(i)))

def class_change(i):
    edit('gatewayclass', f'{GW}/gatewayclasses/kgc', lambda o: o['spec'].update(description=f'change {i}'))

# 20 changes per window, every kind in each
plan = [route_change] * 10 + [service_change] * 2 + [slice_change] * 2 + [secret_change, namespace_change, grant_change, class_change] + \
       [lambda i: gateway_change(i, 'gw-a'), lambda i: gateway_change(i, 'gw-b')]
assert per == len(plan), (per, len(plan))
t0 = time.monotonic()
i = 0
for w in range(cuts):
    for change in plan:
        i += 1
        change(i)
    if cuts * 2 // 5 < w + 1 <= cuts * 2 // 5 + expiries:
        check('drop-history', k.post('/_test/drop-history')[0], (200,))
        n['expiry'] += 1
    st, stats = k.get('/_test/stats')
    check('stats', st, (200,))
    open_watches = int((stats or {}).get('watches', 0))
    check('close-watches', k.post('/_test/close-watches')[0], (200,))
    n['cut'] += 1
    n['watches_cut'] += open_watches
    n['cuts_hit'] += open_watches > 0
    n.setdefault('per_cut', []).append(open_watches)
    lag = t0 + (w + 1) * window - time.monotonic()
    if lag > 0:
        time.sleep(lag)
took = time.monotonic() - t0
kinds = ', '.join(f'{v} {x}' for x, v in n.items() if x not in ('cut', 'expiry', 'watches_cut', 'cuts_hit', 'per_cut'))
print(f"seed {seed}: {i} changes ({kinds}), "
      f"{n['cut']} cuts ({n['cuts_hit']} found kgc watching, {n['watches_cut']} watches cut), "
      f"{n['expiry']} expiries in {took:.1f} s")
open(os.path.join(os.environ['TMP'], 'watches_cut'), 'w').write(f"{n['watches_cut']}\n")
open(os.path.join(os.environ['TMP'], 'cuts_hit'), 'w').write(f"{n['cuts_hit']}\n")
print('# open watches at each cut:', ' '.join(map(str, n['per_cut'])))
for f in fails[:5]:
    print('failed:', f)
sys.exit(1 if fails or i != changes else 0)
PY
if out=$(CHANGES=$CHANGES CUTS=$CUTS EXPIRIES=$EXPIRIES WINDOW_MS=$WINDOW_MS \
    timeout 60 python3 "$TMP/driver.py" 2>&1); then
    ok "driver: $(grep -v '^#' <<<"$out")"
else
    bad "driver: $out"
fi
grep '^#' <<<"$out"
t1=$(now_ms)

# --- the cache equals the API server; no stale status --------------------------------------------
cat >"$TMP/same.py" <<'PY'
"""Exit 0 when /debug/cache holds exactly the API server's objects (namespace, name,
resourceVersion) for every kind kgc watches, and every route and Gateway status is current."""
import json, os, sys, urllib.request
sys.path.insert(0, os.environ['TMP'])
from kube import Kube, cond, route_problems, gateway_problems
k = Kube(os.environ['API'])
KINDS = {'gatewayclasses': '/apis/gateway.networking.k8s.io/v1/gatewayclasses',
         'gateways': '/apis/gateway.networking.k8s.io/v1/gateways',
         'httproutes': '/apis/gateway.networking.k8s.io/v1/httproutes',
         'grpcroutes': '/apis/gateway.networking.k8s.io/v1/grpcroutes',
         'referencegrants': '/apis/gateway.networking.k8s.io/v1beta1/referencegrants',
         'services': '/api/v1/services', 'endpointslices': '/apis/discovery.k8s.io/v1/endpointslices',
         'secrets': '/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls',  # all kgc watches
         'namespaces': '/api/v1/namespaces', 'configmaps': '/api/v1/configmaps',
         'backendtlspolicies': '/apis/gateway.networking.k8s.io/v1/backendtlspolicies'}
def ids(objs):
    return {(o['metadata'].get('namespace'), o['metadata']['name']): o['metadata']['resourceVersion'] for o in objs}
dump = json.load(urllib.request.urlopen(os.environ['D'] + '/debug/cache', timeout=10))
bad, total = [], 0
for plural, path in KINDS.items():
    want, got = ids(k.items(path)), ids(dump.get(plural, []))
    total += len(want)
    if want != got:
        miss = sorted(set(want) - set(got))[:3]
        extra = sorted(set(got) - set(want))[:3]
        stale = sorted(x for x in set(want) & set(got) if want[x] != got[x])[:3]
        bad.append(f'{plural}: missing {miss} extra {extra} stale {[(x, got[x], want[x]) for x in stale]}')
# Kong's plugin kinds, ListenerSet and the stream route kinds are optional (no CRD here):
# present, and empty
extra = {p for p in set(dump) - set(KINDS)
         if p not in ('kongplugins', 'kongclusterplugins', 'listenersets', 'tlsroutes', 'tcproutes',
                      'udproutes') or dump[p]}
if extra:
    bad.append(f'unexpected kinds {sorted(extra)}')
routes, rbad = route_problems(k, 'demo')
bad += rbad + gateway_problems(k, 'demo', routes)
st, gc = k.get('/apis/gateway.networking.k8s.io/v1/gatewayclasses/kgc')
c = cond((gc.get('status') or {}).get('conditions'), 'Accepted')
if not c or c['status'] != 'True' or c.get('observedGeneration') != gc['metadata']['generation']:
    bad.append(f"GatewayClass Accepted {c and (c['status'], c.get('observedGeneration'))} at generation {gc['metadata']['generation']}")
print('\n'.join(bad[:10]) if bad else f'{total} objects in 11 kinds equal; {len(routes)} routes, 2 Gateways and the GatewayClass current')
sys.exit(1 if bad else 0)
PY
same() { D=$D python3 "$TMP/same.py" >"$TMP/same.out" 2>&1; }
if wait_until 40 0.5 same; then
    ok "$(($(now_ms) - t1)) ms after the last change: the cache equals the API server and no status is stale ($(cat "$TMP/same.out"))"
else
    bad "not converged 40 s after the last change:"; cat "$TMP/same.out"
fi
restarts=$(($(metric "$M" kgc_informer_watch_restarts_total) - restarts0))
relists=$(($(metric "$M" kgc_informer_relists_total) - relists0))
# Every watch a cut closed is followed by a new watch request (after a backoff when the watch was
# short and empty, as client-go's reflector does); the last ones may still be backing off.
cut=$(cat "$TMP/watches_cut" 2>/dev/null || echo 0)
[[ $cut -ge $CUTS && $restarts -ge $((cut - 8)) ]] && (($(cat "$TMP/cuts_hit") >= CUTS / 2)) &&
    ok "the cuts were felt: $cut open watches cut, $restarts watch restarts" ||
    bad "$cut open watches cut by $CUTS cuts, $restarts watch restarts"
# Each informer watching during the expiries (or resuming after them) gets 410 Expired and relists.
kinds_relisted=$(curl -sf "$M/metrics" | awk '/^kgc_informer_relists_total\{/ && $NF >= 1' | wc -l)
[[ $kinds_relisted -eq 11 ]] && ok "the expiries were felt: every one of the 11 informers relisted ($relists relists)" ||
    bad "$kinds_relisted of 11 informers relisted ($relists relists for $EXPIRIES expiries)"
grep -c '"subresource":"status"' "$TMP/audit.jsonl" | {
    read -r n
    echo "# $n status writes audited, $(metric "$M" kgc_informer_synthetic_deletes_total) deletes found at relists"
}
stop_kgc 1 && ok "kgc exits 0 on SIGTERM" || bad "kgc exit status"
no_sanitizer_reports "$TMP"/kgc-*.log
finish

#!/usr/bin/env bash
# e2e resilience (issue #11, scenario 2): Kong flapping. For 20 s the test Kong is SIGKILLed and
# started again on the same port every 200 ms, or, when the new process needs longer to start (an
# ASan build on a loaded machine takes ~0.5 s), 150 ms after it listens; meanwhile HTTPRoutes churn
# (created, updated, moved between two Gateways, deleted) through a fast keep-alive client.
# Checked from the API server's audit log: no status write ever said UnsupportedProtocol, a valid
# listener Accepted=False, a Gateway not Accepted or Programmed=Invalid, or a route not accepted
# by its Gateway. Then it
# converges: every Gateway Programmed, every route Accepted on the Gateway its spec names, and the
# routes in Kong's configuration (GET /config) are exactly the final HTTPRoutes with their paths.
# Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
e2e_bound 100
FLAP_MS=${FLAP_MS:-200} FLAP_S=${FLAP_S:-20} FLAP_UP_MS=${FLAP_UP_MS:-150}
start_cluster
KONG=${KONG_URL[1]}
KONG_PORT=${KONG##*:}
{
    base_yaml; gateway_yaml gw-a a.example.com; gateway_yaml gw-b b.example.com; web_service_yaml
} >"$TMP/objects.yaml"
apply_objects "class, two Gateways and a Service applied"

kgc_ports
start_kgc_on 1 "$KONG" --kong-probe-interval 100ms
wait_programmed "both Gateways Programmed before the flapping" "$TMP/kgc-1.log" gw-a gw-b

# The churn: routes r00..r29 created, updated (new path, sometimes the other Gateway) and deleted
# at random for FLAP_S seconds, one change every 20 ms; at the end r00..r09 exist.
cat >"$TMP/churn.py" <<'PY'
import os, random, sys, time
sys.path.insert(0, os.environ['TMP'])
from kube import Kube, GW, route
k = Kube(os.environ['API'])
seed = int(os.environ.get('SEED', '0')) or int(time.time())
rnd = random.Random(seed)
base = f'{GW}/namespaces/demo/httproutes'
names = [f'r{i:02d}' for i in range(30)]
live, version = set(), {n: 0 for n in names}
counts = {'create': 0, 'update': 0, 'delete': 0, 'failed': 0}
end = time.monotonic() + float(os.environ['FLAP_S'])
ops = 0
def create(n):
    version[n] += 1
    st, _ = k.create(base, route('demo', n, rnd.choice(['gw-a', 'gw-b']), f'/{n}-v{version[n]}'))
    counts['create' if st == 201 else 'failed'] += 1
    live.add(n)
while time.monotonic() < end and ops < 5000:
    ops += 1
    n = rnd.choice(names)
    if n not in live:
        create(n)
    elif rnd.random() < 0.65:
        version[n] += 1
        def edit(o, n=n):
            o['spec']['rules'][0]['matches'][0]['path']['value'] = f'/{n}-v{version[n]}'
            if rnd.random() < 0.3:
                o['spec']['parentRefs'][0]['name'] = 'gw-b' if o['spec']['parentRefs'][0]['name'] == 'gw-a' else 'gw-a'
        st = k.modify(f'{base}/{n}', edit)
        counts['update' if st == 200 else 'failed'] += 1
    else:
        st, _ = k.delete(f'{base}/{n}')
        counts['delete' if st == 200 else 'failed'] += 1
        live.discard(n)
    time.sleep(0.02)
for n in names[:10]:
    if n not in live:
        create(n)
print(f"seed {seed}: {counts['create']} creates, {counts['update']} updates, {counts['delete']} deletes, {counts['failed']} failed")
sys.exit(1 if counts['failed'] else 0)
PY
FLAP_S=$FLAP_S python3 "$TMP/churn.py" >"$TMP/churn.out" 2>&1 &
CHURN=$!
PIDS+=("$CHURN")

# The flapping: SIGKILL and a new process on the same port every FLAP_MS, but never before the
# new process has listened for FLAP_UP_MS (an ASan build takes ~0.5 s to start on a loaded machine;
# killing it before it binds would be an outage, not flapping). Bounded by FLAP_S and a count.
t0=$(now_ms)
flaps=0 up_total=0 starts=1
last_kill=$t0
while (($(now_ms) < t0 + FLAP_S * 1000 && flaps < FLAP_S * 1000 / FLAP_MS)); do
    for _ in $(seq 1 150); do # the new process listens (at most 3 s)
        [[ $(grep -c '^listening on' "$TMP/kong1.out") -ge $starts ]] && break
        sleep 0.02
    done
    t_up=$(now_ms)
    due=$((last_kill + FLAP_MS > t_up + FLAP_UP_MS ? last_kill + FLAP_MS : t_up + FLAP_UP_MS))
    wait_ms=$((due - $(now_ms)))
    ((wait_ms > 0)) && sleep "$(printf '%d.%03d' $((wait_ms / 1000)) $((wait_ms % 1000)))"
    last_kill=$(now_ms)
    up_total=$((up_total + last_kill - t_up))
    kill_kong 1
    start_kong 1 "$KONG_PORT"
    starts=$((starts + 1)) flaps=$((flaps + 1))
done
elapsed=$(($(now_ms) - t0))
wait "$CHURN"
churn_rc=$?
forget_pid "$CHURN"
[[ $churn_rc -eq 0 ]] && ok "route churn during the flapping: $(tail -1 "$TMP/churn.out")" ||
    bad "route churn: $(tail -3 "$TMP/churn.out")"
[[ $flaps -ge $((FLAP_S / 2)) ]] &&
    ok "Kong SIGKILLed and restarted on its port $flaps times in $elapsed ms (up ~$((up_total / (flaps ? flaps : 1))) ms each time)" ||
    bad "only $flaps Kong restarts in $elapsed ms"
wait_kong_up "$KONG" || bad "the last Kong answers"
restarts=$(metric "$M" kgc_kong_restarts_total)
fails=$(metric "$M" kgc_kong_probe_failures_total)
[[ $restarts -ge 5 ]] && ok "kgc saw the flapping: $restarts Kong restarts, $fails failed probes" ||
    bad "kgc saw only $restarts Kong restarts ($fails failed probes)"

# --- convergence --------------------------------------------------------------------------------
cat >"$TMP/converged.py" <<'PY'
"""Exit 0 when the statuses and Kong's configuration match the final HTTPRoutes; else prints
what differs."""
import json, os, sys, urllib.request
sys.path.insert(0, os.environ['TMP'])
from kube import Kube, route_problems, gateway_problems
k = Kube(os.environ['API'])
routes, bad = route_problems(k, 'demo')
bad += gateway_problems(k, 'demo', routes)
want = {r['metadata']['name']: r['spec']['rules'][0]['matches'][0]['path']['value'] for r in routes}
try:
    conf = json.load(urllib.request.urlopen(os.environ['KONG'] + '/config', timeout=5))['config']
except Exception as e:
    print(f'Kong /config: {e}')
    sys.exit(1)
got = {}
for s in conf.get('services', []):
    for r in s.get('routes', []):
        # Kong routes carry no tags (35ff6e1): the name is httproute.<ns>.<route>.<rule>[...]
        parts = r['name'].split('.')
        name = parts[2] if len(parts) > 2 and parts[0] == 'httproute' else None
        # A PathPrefix /p is carried as "~/p$" and "/p/": both reduce to /p.
        paths = {p.lstrip('~').rstrip('$').rstrip('/') for p in r.get('paths', [])}
        got.setdefault(name, []).append((r['name'], sorted(paths)))
if sorted(got) != sorted(want):
    bad.append(f'Kong routes for {sorted(got)}, HTTPRoutes {sorted(want)}')
for n, p in want.items():
    if n in got and [x[1] for x in got[n]] != [[p]]:
        bad.append(f'{n}: Kong has {got[n]}, the HTTPRoute says {p}')
print('\n'.join(bad[:8]) if bad else f'{len(routes)} routes, {sum(len(v) for v in got.values())} Kong routes')
sys.exit(1 if bad else 0)
PY
converged() { KONG=$KONG python3 "$TMP/converged.py" >"$TMP/converged.out" 2>&1; }
t1=$(now_ms)
if wait_until 30 0.5 converged; then
    ok "converged $(($(now_ms) - t1)) ms after the flapping: every Gateway Programmed, every route Accepted on its Gateway, Kong's routes = the HTTPRoutes ($(cat "$TMP/converged.out"))"
else
    bad "no convergence in 30 s:"; cat "$TMP/converged.out"
fi

# --- the audit log: no wrong status was ever written --------------------------------------------
cat >"$TMP/audit.py" <<'PY'
"""Every status write in the audit log, checked for statuses that would be wrong here (all
listeners are valid, every route's parent accepts it)."""
import json, sys
n = {'gateways': 0, 'httproutes': 0, 'gatewayclasses': 0}
wrong = []
for line in open(sys.argv[1]):
    a = json.loads(line)
    if a.get('subresource') != 'status' or '/gateway.networking.k8s.io/' not in a['path']:
        continue
    kind = a['path'].split('/')[-3]
    n[kind] = n.get(kind, 0) + 1
    st = a.get('status') or {}
    text = json.dumps(st)
    if 'UnsupportedProtocol' in text:
        wrong.append(f"UnsupportedProtocol: {a['path']}")
    if kind == 'gateways':
        for c in st.get('conditions', []):
            if c['type'] == 'Accepted' and c['status'] != 'True':
                wrong.append(f"Gateway not Accepted ({c['reason']}): {a['path']} at {a['time']}")
            if c['type'] == 'Programmed' and c['reason'] == 'Invalid':
                wrong.append(f"Gateway Programmed=Invalid: {a['path']} at {a['time']}")
        for l in st.get('listeners', []):
            for c in l.get('conditions', []):
                if c['type'] == 'Accepted' and c['status'] != 'True':
                    wrong.append(f"listener {l['name']} Accepted=False/{c['reason']}: {a['path']} at {a['time']}")
    if kind == 'httproutes':
        for p in st.get('parents', []):
            for c in p.get('conditions', []):
                if c['type'] in ('Accepted', 'ResolvedRefs') and c['status'] != 'True':
                    wrong.append(f"route {c['type']}={c['status']}/{c['reason']} on {p['parentRef'].get('name')}: {a['path']} at {a['time']}")
for w in wrong[:8]:
    print(w)
print(f"{n['gateways']} Gateway, {n['httproutes']} HTTPRoute, {n['gatewayclasses']} GatewayClass status writes, {len(wrong)} wrong")
sys.exit(1 if wrong or n['httproutes'] == 0 or n['gateways'] == 0 else 0)
PY
if out=$(python3 "$TMP/audit.py" "$TMP/audit.jsonl"); then
    ok "no wrong status ever written: no UnsupportedProtocol, no valid listener refused, no route refused ($out)"
else
    bad "wrong statuses in the audit log:"; echo "$out"
fi

stop_kgc 1 && ok "kgc exits 0 on SIGTERM" || bad "kgc exit status"
no_sanitizer_reports "$TMP"/kgc-*.log "$TMP"/kong1.err "$TMP/api.err"
finish

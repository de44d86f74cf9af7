#!/usr/bin/env bash
# e2e: kgc's HTTP endpoints against the test API server, the test Kong and real kubectl.
# kgc runs with --http-listen and --debug-listen on free ports; a GatewayClass, a Gateway, an
# HTTPRoute, a Service and a TLS Secret are applied. Checked: /healthz and /readyz answer 200,
# /metrics passes a Prometheus text-format check and holds the documented families, /debug/cache
# equals the API server's objects (names + resourceVersions per kind), every /debug/cache path
# shape, no Secret data (PEM or its base64) in any dump, /debug/listeners shows the Kong instance
# live, /debug/queue's shape, /debug/config, 404 JSON for bad paths, 405 for POST, each server
# only serves its own routes, a bad --http-listen exits 2, SIGTERM closes the ports.
# Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"

# fetch URL OUTFILE: prints the HTTP status, body into OUTFILE, headers into OUTFILE.h
fetch() { curl -s -m 10 -o "$2" -D "$2.h" -w '%{http_code}' "$1"; }

start_apiserver

start_kong 1 0 || { bad "test Kong starts"; finish; }
KONG=${KONG_URL[1]}
apply_crds

self_signed_cert demo.example.com || { bad "openssl makes a certificate"; finish; }
CRT_B64=$(base64 -w0 <"$TMP/tls.crt")
k create namespace demo >/dev/null && tls_secret demo tls || bad "namespace and TLS Secret created"
{
    gatewayclass_yaml
    gateway_listeners_yaml gw demo "$(http_listener)" "$(https_listener https demo.example.com tls)"
    cat <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  ports: [{port: 80, targetPort: 8080}]
  selector: {app: web}
---
YAML
    httproute_yaml web gw http
} >"$TMP/objects.yaml"
apply_objects "GatewayClass, Gateway, Service, HTTPRoute and TLS Secret applied" "apply objects"

# A listen address kgc cannot parse is a usage error, before anything starts.
"$BUILD/kgc" --kubeconfig "$KUBECONFIG" --kong-admin-url "$KONG" --http-listen 10254 \
    >"$TMP/badflag.log" 2>&1
rc=$?
[[ $rc -eq 2 ]] && grep -q -- '--http-listen' "$TMP/badflag.log" &&
    ok "a bad --http-listen exits 2 naming the flag" || bad "bad --http-listen: exit $rc"

kgc_ports
H=$M
t0=$(date +%s)
start_kgc_on 1 "$KONG" --kong-probe-interval 500ms
# The bound: after it the watchdog stops the servers (every later wait then fails fast) and the
# scenario ends with a failure, so the script never takes much longer than the bound.
e2e_bound "${KGC_E2E_BOUND_S:-75}"

code=
for _ in $(seq 1 200); do
    code=$(fetch "$H/healthz" "$TMP/healthz")
    [[ $code == 200 ]] && break
    sleep 0.1
done
[[ $code == 200 ]] && grep -q '"status":"ok"' "$TMP/healthz" && ok "/healthz answers 200" ||
    { bad "/healthz answers 200 (got '$code')"; tail -20 "$TMP/kgc-1.log"; finish; }
grep -q "msg=listening server=http address=127.0.0.1:$HP" "$TMP/kgc-1.log" &&
    grep -q "msg=listening server=debug address=127.0.0.1:$DP" "$TMP/kgc-1.log" &&
    ok "both servers log their address" || bad "listening log lines"
for _ in $(seq 1 100); do
    code=$(fetch "$H/readyz" "$TMP/readyz")
    [[ $code == 200 ]] && break
    sleep 0.1
done
[[ $code == 200 ]] && grep -q '"status":"ready"' "$TMP/readyz" &&
    ok "/readyz answers 200 once the caches are synced" || bad "/readyz: $code $(cat "$TMP/readyz")"

wait_programmed "the Gateway becomes Programmed" "" gw
k -n demo wait --for=jsonpath='{.status.parents[0].conditions[?(@.type=="Accepted")].status}'=True \
    httproute/web --timeout=30s >/dev/null || bad "the HTTPRoute is Accepted"

# --- /metrics ------------------------------------------------------------------------------------
cat >"$TMP/promcheck.py" <<'PY'
"""Prometheus text format 0.0.4 check: every sample line parses as name{labels} value, every
family has HELP and TYPE before its samples, samples are grouped by family, no series repeats,
histogram buckets are cumulative and end with le="+Inf" equal to _count. Then every family
named on the command line must be present with its type (name:type)."""
import math, re, sys

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r'^(' + NAME + r')(\{(?:' + LABEL + r'(?:,' + LABEL + r')*)?,?\})? (\S+)$')

def value(s):
    if s in ('+Inf', '-Inf', 'NaN'):
        return float(s.replace('Inf', 'inf').replace('NaN', 'nan'))
    return float(s)

def main():
    text = open(sys.argv[1]).read()
    if not text.endswith('\n'):
        sys.exit('no final newline')
    fams, current, series, hist = {}, None, set(), {}
    for n, line in enumerate(text.split('\n')[:-1], 1):
        if line.startswith('# HELP ') or line.startswith('# TYPE '):
            parts = line[7:].split(' ', 1)
            if len(parts) != 2 or not re.fullmatch(NAME, parts[0]):
                sys.exit(f'line {n}: bad {line[2:6]}: {line}')
            f = fams.setdefault(parts[0], {})
            if current != parts[0] and f:
                sys.exit(f'line {n}: family {parts[0]} declared twice')
            current = parts[0]
            key = line[2:6].lower()
            if key in f:
                sys.exit(f'line {n}: two {key} lines')
            if key == 'type' and parts[1] not in ('counter', 'gauge', 'histogram', 'summary', 'untyped'):
                sys.exit(f'line {n}: bad type {parts[1]}')
            f[key] = parts[1]
            continue
        if line.startswith('#') or not line:
            continue
        m = SAMPLE.match(line)
        if not m:
            sys.exit(f'line {n}: not name{{labels}} value: {line}')
        name, labels = m.group(1), re.findall(LABEL, m.group(2) or '')
        try:
            v = value(m.group(7))
        except ValueError:
            sys.exit(f'line {n}: bad value: {line}')
        if current is None or 'help' not in fams[current] or 'type' not in fams[current]:
            sys.exit(f'line {n}: sample before HELP and TYPE: {line}')
        t = fams[current]['type']
        suffix = name[len(current):] if name.startswith(current) else None
        if t == 'histogram':
            if suffix not in ('_bucket', '_sum', '_count'):
                sys.exit(f'line {n}: {name} outside family {current}')
        elif name != current:
            sys.exit(f'line {n}: {name} outside family {current}')
        if t == 'counter' and not v >= 0:
            sys.exit(f'line {n}: negative counter')
        key = (name, tuple(labels))
        if key in series:
            sys.exit(f'line {n}: series repeated: {line}')
        series.add(key)
        if t == 'histogram':
            rest = tuple(l for l in labels if l[0] != 'le')
            le = [l[1] for l in labels if l[0] == 'le']
            h = hist.setdefault((current, rest), {'le': -math.inf, 'c': 0, 'inf': None})
            if suffix == '_bucket':
                if not le:
                    sys.exit(f'line {n}: bucket without le')
                b = value(le[0])
                if h['inf'] is not None or b <= h['le'] or v < h['c']:
                    sys.exit(f'line {n}: buckets not increasing/cumulative')
                h['le'], h['c'] = b, v
                if math.isinf(b):
                    h['inf'] = v
            elif le:
                sys.exit(f'line {n}: le on {suffix}')
            else:
                h[suffix] = v
    for name, f in fams.items():
        if 'help' not in f or 'type' not in f:
            sys.exit(f'family {name} lacks HELP or TYPE')
    for (name, labels), h in hist.items():
        if h['inf'] is None or '_sum' not in h or '_count' not in h or h['inf'] != h['_count']:
            sys.exit(f'histogram {name}{labels}: +Inf/_sum/_count wrong: {h}')
    missing = [a for a in sys.argv[2:] if fams.get(a.split(':')[0], {}).get('type') != a.split(':')[1]]
    if missing:
        sys.exit('missing families: ' + ' '.join(missing))
    print(f'{len(fams)} families, {len(series)} series')

main()
PY
code=$(fetch "$H/metrics" "$TMP/metrics")
[[ $code == 200 ]] && grep -qi '^content-type: text/plain; version=0.0.4' "$TMP/metrics.h" &&
    ok "/metrics answers 200 with the 0.0.4 text content type" || bad "/metrics: $code"
if out=$(python3 "$TMP/promcheck.py" "$TMP/metrics" \
    kgc_build_info:gauge kgc_leader:gauge kgc_workqueue_depth:gauge \
    kgc_workqueue_adds_total:counter kgc_workqueue_retries_total:counter \
    kgc_workqueue_queue_duration_seconds:histogram kgc_workqueue_work_duration_seconds:histogram \
    kgc_workqueue_longest_running_processor_seconds:gauge kgc_workqueue_unfinished_work_seconds:gauge \
    kgc_reconcile_total:counter kgc_reconcile_duration_seconds:histogram kgc_informer_events_total:counter kgc_informer_relists_total:counter \
    kgc_informer_watch_restarts_total:counter kgc_kong_instance_up:gauge \
    kgc_kong_instance_ready:gauge kgc_listener_view_source:gauge 2>&1); then
    ok "/metrics passes the text-format check and holds the documented families ($out)"
else
    bad "/metrics format: $out"
fi
# The checker must be able to fail: a broken histogram is refused.
sed 's/^\(kgc_workqueue_work_duration_seconds_count{name="gateway"}\) .*/\1 999999/' \
    "$TMP/metrics" >"$TMP/metrics.broken"
! python3 "$TMP/promcheck.py" "$TMP/metrics.broken" >/dev/null 2>&1 &&
    ok "the format check refuses a histogram whose +Inf differs from _count" ||
    bad "the format check accepted a broken histogram"
# sample NAME{LABELS}: its value in the $TMP/metrics snapshot
sample() { grep -F "$1 " "$TMP/metrics" | grep -v '^#' | head -1 | awk '{print $NF}'; }
[[ $(sample "kgc_kong_instance_ready{url=\"$KONG\"}") == 1 && $(sample "kgc_kong_instance_up{url=\"$KONG\"}") == 1 ]] &&
    ok "kgc_kong_instance_up/ready = 1 for the test Kong" || bad "Kong instance gauges"
[[ $(sample 'kgc_listener_view_source{source="live"}') == 1 && $(sample 'kgc_listener_view_source{source="cached"}') == 0 ]] &&
    ok "kgc_listener_view_source: live 1, cached 0" || bad "listener view source gauges"
[[ $(sample 'kgc_leader') == 1 ]] && grep -q '^kgc_build_info{version="[^"]*"} 1$' "$TMP/metrics" &&
    ok "kgc_leader 1 and kgc_build_info" || bad "leader/build info"
gw_ok=$(sample 'kgc_reconcile_total{controller="gateway",result="success"}')
[[ ${gw_ok:-0} -ge 1 ]] && [[ $(sample 'kgc_informer_events_total{kind="gateways",type="added"}') -ge 0 ]] &&
    [[ $(sample 'kgc_informer_synced{kind="secrets"}') == 1 ]] &&
    ok "reconcile and informer counters are live (gateway successes: $gw_ok)" || bad "reconcile/informer counters"

# --- /debug/cache equals the API server ---------------------------------------------------------
cat >"$TMP/compare.py" <<'PY'
"""compare.py DUMP LIST: a /debug/cache dump against `kubectl get <kinds> -A -o json` (one List):
the same (namespace, name, resourceVersion) per kind, and no other kind in the dump. Prints the
differences; exit 1 when any."""
import json, sys
PLURAL = {'GatewayClass': 'gatewayclasses', 'Gateway': 'gateways', 'HTTPRoute': 'httproutes',
          'GRPCRoute': 'grpcroutes',
          'ReferenceGrant': 'referencegrants', 'Service': 'services',
          'EndpointSlice': 'endpointslices', 'Secret': 'secrets', 'Namespace': 'namespaces',
          'ConfigMap': 'configmaps', 'BackendTLSPolicy': 'backendtlspolicies'}
dump = json.load(open(sys.argv[1]))
api = {p: {} for p in PLURAL.values()}
for o in json.load(open(sys.argv[2]))['items']:
    m = o['metadata']
    api[PLURAL[o['kind']]][(m.get('namespace'), m['name'])] = m['resourceVersion']
diffs = []
for plural, want in api.items():
    mine = {(o['metadata'].get('namespace'), o['metadata']['name']): o['metadata'].get('resourceVersion')
            for o in dump.get(plural, [])}
    if plural not in dump:
        diffs.append(f'{plural}: absent from the dump')
    elif want != mine:
        diffs.append(f'{plural}: api {sorted(want.items())} cache {sorted(mine.items())}')
# Kong's plugin kinds, ListenerSet and the stream route kinds are optional (no CRD here): present,
# and empty
extra = {p for p in set(dump) - set(api)
         if p not in ('kongplugins', 'kongclusterplugins', 'listenersets', 'tlsroutes',
                      'tcproutes', 'udproutes') or dump[p]}
if extra:
    diffs.append(f'unexpected kinds in the dump: {sorted(extra)}')
print('\n'.join(diffs) if diffs else 'equal')
print(sum(len(v) for v in api.values()), 'objects', file=sys.stderr)
sys.exit(1 if diffs else 0)
PY
# backendtlspolicies: its CRD is not installed here; kgc's dump holds the kind, empty
KINDS=gatewayclasses,gateways,httproutes,grpcroutes,referencegrants,services,endpointslices,secrets,namespaces,configmaps
same=
for _ in $(seq 1 20); do
    k get "$KINDS" -A -o json >"$TMP/api.json" || true
    fetch "$D/debug/cache" "$TMP/cache.json" >/dev/null
    if out=$(python3 "$TMP/compare.py" "$TMP/cache.json" "$TMP/api.json" 2>"$TMP/compare.err"); then
        same=1
        break
    fi
    sleep 0.2
done
[[ -n $same ]] && ok "/debug/cache equals the API server's objects ($(cat "$TMP/compare.err"), 9 kinds, names + resourceVersions)" ||
    bad "/debug/cache differs: $out"

# --- every path shape ---------------------------------------------------------------------------
cat >"$TMP/shape.py" <<'PY'
"""shape.py FILE KIND1,KIND2 [NS/NAME,...]: the dump holds exactly these kinds, and (when given)
exactly these objects of the first kind."""
import json, sys
d = json.load(open(sys.argv[1]))
kinds = sys.argv[2].split(',')
if sorted(d) != sorted(kinds):
    sys.exit(f'kinds {sorted(d)} != {sorted(kinds)}')
if len(sys.argv) > 3:
    want = sorted(x for x in sys.argv[3].split(',') if x)
    got = sorted(f"{o['metadata'].get('namespace') or ''}/{o['metadata']['name']}" for o in d[kinds[0]])
    if got != want:
        sys.exit(f'objects {got} != {want}')
PY
shape() { # shape PATH KINDS [OBJECTS]
    local code
    code=$(fetch "$D$1" "$TMP/shape.json")
    [[ $code == 200 ]] && python3 "$TMP/shape.py" "$TMP/shape.json" "${@:2}"
}
check "/debug/cache/gateways: only Gateways" shape /debug/cache/gateways gateways demo/gw
check "/debug/cache/gateways/demo: a namespace" shape /debug/cache/gateways/demo gateways demo/gw
check "/debug/cache/gateways/default: an empty namespace" shape /debug/cache/gateways/default gateways ""
check "/debug/cache/gateways/demo/gw: one object" shape /debug/cache/gateways/demo/gw gateways demo/gw
check "/debug/cache/httproutes/demo/web: one route" shape /debug/cache/httproutes/demo/web httproutes demo/web
check "/debug/cache/services/demo/web: one Service" shape /debug/cache/services/demo/web services demo/web
check "/debug/cache/gatewayclasses/kgc: cluster-scoped by name" shape /debug/cache/gatewayclasses/kgc gatewayclasses /kgc
check "/debug/cache/namespaces/demo: a Namespace by name" shape /debug/cache/namespaces/demo namespaces /demo
check "/debug/cache/secrets/demo/tls: the TLS Secret" shape /debug/cache/secrets/demo/tls secrets demo/tls
code=$(fetch "$D/debug/cache/gateways/demo/gw?pretty=1" "$TMP/pretty.json")
fetch "$D/debug/cache/gateways/demo/gw" "$TMP/plain.json" >/dev/null
if [[ $code == 200 ]] && grep -q '^  "gateways": \[' "$TMP/pretty.json" &&
    [[ $(wc -l <"$TMP/plain.json") -eq 0 ]] &&
    python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' \
        "$TMP/pretty.json" "$TMP/plain.json"; then
    ok "?pretty=1 indents the same JSON"
else
    bad "?pretty=1"
fi

# --- Secret data never leaves -------------------------------------------------------------------
leak=
for p in /debug/cache /debug/cache/secrets /debug/cache/secrets/demo/tls "/debug/cache?pretty=1" \
    /debug/listeners /debug/queue /debug/config; do
    fetch "$D$p" "$TMP/leak.json" >/dev/null
    if grep -q -e 'BEGIN' -e 'PRIVATE KEY' -e "${CRT_B64:0:40}" "$TMP/leak.json"; then leak="$leak $p"; fi
done
fetch "$D/debug/cache/secrets/demo/tls" "$TMP/secret.json" >/dev/null
[[ -z $leak ]] && grep -q '"tls.crt":"<redacted>"' "$TMP/secret.json" &&
    grep -q '"tls.key":"<redacted>"' "$TMP/secret.json" &&
    ok "Secret data is redacted in every dump (no PEM, no base64)" || bad "Secret data leaked in:$leak"

# --- /debug/listeners, /debug/queue, /debug/config ----------------------------------------------
cat >"$TMP/listeners.py" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
assert d['view']['source'] == 'live', d['view']
inst = [i for i in d['instances'] if i['url'] == os.environ['KONG']]
assert len(inst) == 1, d['instances']
i = inst[0]
assert i['source'] == 'live' and isinstance(i['age_ms'], int), i
assert i['proxy_listeners'], i
assert i['prober']['health'] == 'ready' and i['prober']['reachable'] is True, i['prober']
PY
cat >"$TMP/queue.py" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
names = sorted(q['name'] for q in d['queues'])
assert names == ['backendtlspolicy', 'gateway', 'gatewayclass', 'grpcroute', 'httproute', 'kongplugin',
                 'listenerset', 'tcproute', 'tlsroute', 'udproute'], names
for q in d['queues']:
    for f in ('depth', 'delayed', 'in_progress', 'adds_total', 'retries_total'):
        assert isinstance(q[f], int), (q['name'], f)
    for s in ('waiting', 'in_progress', 'delayed'):
        for e in q['keys'][s]:
            assert isinstance(e['key'], str) and isinstance(e['requeues'], int), e
    # no GRPCRoute, policy nor plugin object here: those queues may have seen nothing
    assert q['adds_total'] >= 1 or q['name'] in ('grpcroute', 'kongplugin', 'backendtlspolicy',
                                                 'listenerset', 'tlsroute', 'tcproute',
                                                 'udproute'), q
PY
code=$(fetch "$D/debug/listeners" "$TMP/listeners.json")
if [[ $code == 200 ]] && KONG="$KONG" python3 "$TMP/listeners.py" "$TMP/listeners.json"; then
    ok "/debug/listeners shows the Kong instance live, with listeners, age and prober state"
else
    bad "/debug/listeners ($code)"; cat "$TMP/listeners.json"
fi
code=$(fetch "$D/debug/queue" "$TMP/queue.json")
if [[ $code == 200 ]] && python3 "$TMP/queue.py" "$TMP/queue.json"; then
    ok "/debug/queue: four queues with depth, counters and keys with requeue counts"
else
    bad "/debug/queue ($code)"; cat "$TMP/queue.json"
fi
code=$(fetch "$D/debug/config" "$TMP/config.json")
if [[ $code == 200 ]] && python3 - "$TMP/config.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["leader"] is True and len(d["hash"]) == 32, d
inst = d["instances"]
assert len(inst) == 1 and inst[0]["last_result"] in ("applied", "unchanged"), inst
text = open(sys.argv[1]).read()
assert "PRIVATE KEY" not in text and "BEGIN CERT" not in text  # never the config text
PY
then
    ok "/debug/config: the last push applied, with its hash, and no config text or key"
else
    bad "/debug/config: $code"; head -c 600 "$TMP/config.json"
fi

# --- bad paths, methods, route groups ------------------------------------------------------------
nf() { # nf BASE PATH: 404 with a JSON body naming the path
    local code
    code=$(fetch "$1$2" "$TMP/nf.json")
    [[ $code == 404 ]] && grep -qi '^content-type: application/json' "$TMP/nf.json.h" &&
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["error"]=="not found" and d["path"]==sys.argv[2]))' \
            "$TMP/nf.json" "$2"
}
check "404 JSON for an unknown path (debug)" nf "$D" /debug/nope
check "404 JSON for an unknown kind" nf "$D" /debug/cache/widgets
check "404 JSON for a missing object" nf "$D" /debug/cache/gateways/demo/missing
check "404 JSON for a cluster-scoped kind with a namespace" nf "$D" /debug/cache/gatewayclasses/demo/kgc
check "404 JSON for an unknown path (http)" nf "$H" /nope
check "the http server does not serve /debug" nf "$H" /debug/cache
check "the debug server does not serve /metrics" nf "$D" /metrics
code=$(curl -s -m 10 -o "$TMP/post.json" -w '%{http_code}' -X POST -d '{}' "$D/debug/cache")
[[ $code == 405 ]] && grep -q '"method not allowed"' "$TMP/post.json" && ok "POST answers 405 JSON" ||
    bad "POST: $code"

# --- shutdown ------------------------------------------------------------------------------------
stop_kgc 1
rc=$?
[[ $rc -eq 0 ]] && ok "kgc stops on SIGTERM with exit 0" || bad "kgc exit $rc"
code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$H/healthz")
[[ $code == 000 ]] && ok "the ports are closed after the stop" || bad "still answering after stop: $code"
no_sanitizer_reports "$TMP/kgc-1.log"
echo "# took $(($(date +%s) - t0)) s after kgc started"
finish

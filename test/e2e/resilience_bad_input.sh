#!/usr/bin/env bash
# e2e resilience 7: bad input. kgc (with a good Gateway beside) is fed what no well-behaved cluster
# sends and must not crash, must say clearly what it refused, and must keep working:
#   - malformed watch events (the test API server's POST /_test/inject-event writes raw bytes into
#     kgc's open watch streams): truncated JSON, binary garbage, unknown event types, objects of the
#     wrong shape or field types, JSON nested 100000 deep;
#   - very large objects: a 64 MiB ConfigMap (the API server refuses it: 413), a 9 MiB HTTPRoute
#     (over kgc's 8 MiB watch-event cap, --watch-event-max-bytes: taken from the relist) and a
#     64 MiB line on the Gateway watch;
#   - a Gateway with 64 listeners of every invalid kind (bad protocols, ports Kong does not listen
#     on, protocol and host name conflicts, missing/wrong-kind/wrong-group/junk/cross-namespace
#     certificates, invalid route kinds): each gets its own reason;
#   - an HTTPRoute with 10000 rules (the CRD's maxItems is 16: the API server answers 422), then the
#     largest one the CRD allows (16 hostnames, 16 rules x 64 matches x 16 backendRefs);
#   - unknown fields at every level (Strict: 400; Ignore: pruned; and raw, in a watch event).
# After all that a plain Gateway and HTTPRoute created last become Programmed/Accepted, kgc answers
# /healthz, exits 0 on SIGTERM, and ASan/UBSan report nothing. Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
e2e_bound 120
start_apiserver
apply_crds
write_kube_py
start_kong 1 0
wait_kong_up "${KONG_URL[1]}" || { bad "test Kong starts"; finish; }
kgc_ports
self_signed_cert '*.example.com' || bad "openssl makes a test certificate"

{ base_yaml; printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n---\n'; gateway_yaml good; } \
    >"$TMP/objects.yaml"
apply_objects "namespaces, GatewayClass and a good Gateway applied" "apply objects"
start_kgc_on main "${KONG_URL[1]}" --kong-probe-interval 200ms
KGC_LOG=$TMP/kgc-main.log
wait_programmed "the good Gateway is Programmed" "" good

# step NAME: one part of the driver; its "OK text"/"BAD text" lines become ok/bad.
step() {
    local t0 line
    t0=$(now_ms)
    while IFS= read -r line; do
        case $line in
        "OK "*) ok "${line#OK }" ;;
        "BAD "*) bad "${line#BAD }" ;;
        *) echo "$line" ;;
        esac
    done < <(timeout 90 python3 "$TMP/bad_input.py" "$TMP" "$API" "$KGC_LOG" "$1" 2>&1)
    kill -0 "${KGC_PID[main]}" 2>/dev/null && ok "kgc alive after the $1 step ($(($(now_ms) - t0)) ms)" ||
        { bad "kgc died in the $1 step"; tail -30 "$KGC_LOG"; finish; }
}

cat >"$TMP/bad_input.py" <<'PY'
"""resilience_bad_input.sh's driver: python3 bad_input.py TMP API KGC_LOG STEP. Prints one line per
check: 'OK text' or 'BAD text'."""
import base64, http.client, json, os, sys, time, urllib.parse
TMP, API, LOG, STEP = sys.argv[1:5]
sys.path.insert(0, TMP)
from kube import Kube, GW, cond

k = Kube(API)
NS = 'demo'


def out(good, msg):
    print(('OK ' if good else 'BAD ') + msg, flush=True)


def wait(fn, limit=20.0, step=0.1):
    end = time.time() + limit
    while True:
        v = fn()
        if v or time.time() >= end:
            return v
        time.sleep(step)


def raw(method, path, body=b'', ctype='application/json'):
    u = urllib.parse.urlparse(API)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.request(method, path, body=body, headers={'Content-Type': ctype})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def log_size():
    return os.path.getsize(LOG)


def log_since(off):
    with open(LOG, 'rb') as f:
        f.seek(off)
        return f.read().decode('utf-8', 'replace')


def inject(resource, group, payload):
    """Sends payload on the resource's watches; retried until kgc has a watch open (at most 10 s).
    Returns the number of watches that got it."""
    q = f'/_test/inject-event?resource={resource}' + (f'&group={group}' if group else '')
    end = time.time() + 10
    while True:
        st, body = raw('POST', q, payload, 'application/octet-stream')
        n = json.loads(body).get('watches', 0) if st == 200 else -1
        if n > 0 or time.time() >= end:
            return n
        time.sleep(0.1)


def route_accepted(name, ns=NS):
    st, r = k.get(f'{GW}/namespaces/{ns}/httproutes/{name}')
    if st != 200:
        return False
    for p in (r.get('status') or {}).get('parents', []):
        c = cond(p.get('conditions'), 'Accepted')
        if c and c['status'] == 'True' and c.get('observedGeneration') == r['metadata']['generation']:
            return True
    return False


def httproute(name, parent='good', section=None, rules=None, **extra):
    ref = {'name': parent}
    if section:
        ref['sectionName'] = section
    o = {'apiVersion': 'gateway.networking.k8s.io/v1', 'kind': 'HTTPRoute',
         'metadata': {'name': name, 'namespace': NS},
         'spec': {'parentRefs': [ref],
                  'rules': rules or [{'backendRefs': [{'name': 'web', 'port': 80}]}]}}
    o['metadata'].update(extra)
    return o


# --- malformed watch events ---------------------------------------------------------------------
KINDS = {'httproutes': 'HTTPRoute', 'gateways': 'Gateway', 'gatewayclasses': 'GatewayClass',
         'referencegrants': 'ReferenceGrant', 'services': 'Service',
         'endpointslices': 'EndpointSlice', 'secrets': 'Secret', 'namespaces': 'Namespace'}
GROUPS = {'httproutes': 'gateway.networking.k8s.io', 'gateways': 'gateway.networking.k8s.io',
          'gatewayclasses': 'gateway.networking.k8s.io', 'referencegrants': 'gateway.networking.k8s.io',
          'services': '', 'endpointslices': 'discovery.k8s.io', 'secrets': '', 'namespaces': ''}


def kind_lines(text, kind):
    return [x for x in text.splitlines() if (' kind=%s ' % kind) in x + ' ' and
            ('level=warn' in x or 'level=error' in x)]


def step_malformed():
    # one case per watched resource, all at once: each breaks (or not) only its own watch
    cases = [
        ('httproutes', 'an empty line, then truncated JSON',
         b'\n{"type":"ADDED","object":{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRo\n'),
        ('gateways', 'binary garbage', b'\x00\xff\xfe garbage \x80\x81\n'),
        ('gatewayclasses', 'an unknown event type', b'{"type":"EXPLODED","object":{"kind":"GatewayClass"}}\n'),
        ('referencegrants', 'an object that is an array', b'{"type":"MODIFIED","object":[1,2,3]}\n'),
        ('services', 'an object without metadata', b'{"type":"ADDED","object":{"apiVersion":"v1","kind":"Service","spec":{}}}\n'),
        ('endpointslices', 'wrong field types',
         b'{"type":"ADDED","object":{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":5,"namespace":[],"resourceVersion":{}},"endpoints":"x"}}\n'),
        ('secrets', 'JSON nested 100000 deep', b'{"type":"ADDED","object":' + b'[' * 100000 + b']' * 100000 + b'}\n'),
        ('namespaces', 'a JSON string, not an object', b'"just a string"\n'),
    ]
    t0 = time.time()
    off = log_size()
    sent = {}
    for res, name, payload in cases:
        sent[res] = inject(res, GROUPS[res] or None, payload)
    for res, name, payload in cases:
        kind = KINDS[res]
        line = wait(lambda: (kind_lines(log_since(off), kind) or [None])[0], 10)
        if sent[res] <= 0:
            out(False, f'malformed {kind} event ({name}): no watch of kgc open to receive it')
        elif line:
            out(True, f'malformed {kind} event ({name}): kgc logs {line.split("msg=", 1)[-1][:150]}')
        else:
            out(False, f'malformed {kind} event ({name}): nothing logged')
    print(f'   (malformed events: {time.time() - t0:.1f} s)')
    # kgc still follows every kind: a route created now is Accepted
    k.create(f'{GW}/namespaces/{NS}/httproutes', httproute('after-malformed'))
    out(wait(lambda: route_accepted('after-malformed'), 30),
        'after the malformed events a new HTTPRoute is Accepted (the watches recovered)')


# --- very large objects ---------------------------------------------------------------------------
def step_large():
    global T0
    T0 = time.time()
    big = 'x' * (64 << 20)
    cm = {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'huge', 'namespace': NS},
          'data': {'blob': big}}
    st, body = raw('POST', f'/api/v1/namespaces/{NS}/configmaps', json.dumps(cm).encode())
    print(f'   ({time.time() - T0:.1f} s)')
    out(st == 413, f'a 64 MiB ConfigMap: the API server answers {st} (413 RequestEntityTooLarge)')
    del big, cm
    # 9 MiB: under the test API server's 32 MiB body cap (a real one stops at 3 MiB), over kgc's
    # 8 MiB watch-event cap: the watch rejects the event, the relist (256 MiB cap) carries it.
    off = log_size()
    r = httproute('huge-annotation', annotations={'example.com/blob': 'y' * (9 << 20)})
    st, _ = k.create(f'{GW}/namespaces/{NS}/httproutes', r)
    out(st == 201, f'a 9 MiB HTTPRoute (annotation) is stored by the test API server ({st})')
    print(f'   ({time.time() - T0:.1f} s)')
    out(wait(lambda: route_accepted('huge-annotation'), 40),
        'the 9 MiB HTTPRoute is Accepted all the same (read by the relist)')
    t = log_since(off)
    hit = [l for l in t.splitlines() if 'kind=HTTPRoute' in l and ('level=warn' in l or 'level=error' in l)]
    out(bool(hit), f'kgc logs the over-sized watch event: {hit[0].split("msg=", 1)[-1][:160] if hit else t[-300:]!r}')
    print(f'   ({time.time() - T0:.1f} s)')
    st, _ = k.delete(f'{GW}/namespaces/{NS}/httproutes/huge-annotation')
    out(st == 200, 'the 9 MiB HTTPRoute deleted')
    # 64 MiB on the wire: a watch line no API server would send
    off = log_size()
    n = inject('gateways', 'gateway.networking.k8s.io',
               b'{"type":"ADDED","object":{"metadata":{"name":"' + b'z' * (64 << 20) + b'"}}}\n')
    line = wait(lambda: next((l for l in log_since(off).splitlines()
                              if 'kind=Gateway' in l and ('level=warn' in l or 'level=error' in l)), None), 20)
    print(f'   ({time.time() - T0:.1f} s)')
    out(n > 0 and line is not None,
        f'a 64 MiB watch event on {n} Gateway watch(es): kgc logs {line.split("msg=", 1)[-1][:160] if line else None}')


# --- a Gateway with 64 listeners of every invalid kind ---------------------------------------------
def l(name, port, proto, host=None, tls=None, kinds=None):
    o = {'name': name, 'port': port, 'protocol': proto}
    if host:
        o['hostname'] = host
    if tls is not None:
        o['tls'] = tls
    if kinds is not None:
        o['allowedRoutes'] = {'kinds': kinds}
    return o


def cert(name, **kw):
    d = {'certificateRefs': [dict({'name': name}, **kw)]}
    return d


def listeners64():
    """(listeners, {name: [(type, status, reason)...]})"""
    L, want = [], {}

    def add(lst, *expect):
        L.append(lst)
        want[lst['name']] = list(expect)
    for i, p in enumerate(['FOO', 'INVALID', 'HTTP3', 'grpc', 'example.com/custom', 'SCTP', 'QUIC', 'H2C']):
        add(l(f'proto-{i}', 8000, p, f'proto{i}.example.com'), ('Accepted', 'False', 'UnsupportedProtocol'))
    for i in range(8):
        add(l(f'port-{i}', 1234 + i, 'HTTP'), ('Accepted', 'False', 'PortUnavailable'))
    for i in range(4):  # same port, protocol and host name
        h = f'hc{i}.example.com'
        add(l(f'hconf-{i}-a', 8000, 'HTTP', h), ('Conflicted', 'True', 'HostnameConflict'))
        add(l(f'hconf-{i}-b', 8000, 'HTTP', h), ('Conflicted', 'True', 'HostnameConflict'))
    for i in range(8):
        add(l(f'nocert-{i}', 8443, 'HTTPS', f'nc{i}.example.com', cert(f'missing-{i}')),
            ('ResolvedRefs', 'False', 'InvalidCertificateRef'))
    for i in range(4):
        add(l(f'certkind-{i}', 8443, 'HTTPS', f'ck{i}.example.com', cert('tls-good', kind='ConfigMap')),
            ('ResolvedRefs', 'False', 'InvalidCertificateRef'))
    for i in range(2):
        add(l(f'certgroup-{i}', 8443, 'HTTPS', f'cg{i}.example.com', cert('tls-good', group='example.com')),
            ('ResolvedRefs', 'False', 'InvalidCertificateRef'))
    for i in range(2):
        add(l(f'certjunk-{i}', 8443, 'HTTPS', f'cj{i}.example.com', cert('tls-junk')),
            ('ResolvedRefs', 'False', 'InvalidCertificateRef'))
    for i in range(4):
        add(l(f'certns-{i}', 8443, 'HTTPS', f'cn{i}.example.com', cert('tls-good', namespace='other')),
            ('ResolvedRefs', 'False', 'RefNotPermitted'))
    for i in range(4):
        add(l(f'kinds-{i}', 8000, 'HTTP', f'rk{i}.example.com', kinds=[{'kind': 'InvalidRoute'}]),
            ('ResolvedRefs', 'False', 'InvalidRouteKinds'))
    for i in range(64 - len(L)):
        add(l(f'ok-{i}', 8000, 'HTTP', f'ok{i}.example.com'), ('Accepted', 'True', 'Accepted'),
            ('ResolvedRefs', 'True', 'ResolvedRefs'), ('Conflicted', 'False', 'NoConflicts'))
    return L, want


PEM = None


def step_gw64():
    crt, key = open(TMP + '/tls.crt', 'rb').read(), open(TMP + '/tls.key', 'rb').read()
    b64 = lambda b: base64.b64encode(b).decode()
    for ns, name, c, kk in [(NS, 'tls-good', crt, key), (NS, 'tls-junk', b'junk', b'junk'),
                            ('other', 'tls-good', crt, key)]:
        st, _ = k.create(f'/api/v1/namespaces/{ns}/secrets',
                         {'apiVersion': 'v1', 'kind': 'Secret', 'type': 'kubernetes.io/tls',
                          'metadata': {'name': name, 'namespace': ns},
                          'data': {'tls.crt': b64(c), 'tls.key': b64(kk)}})
        if st != 201:
            out(False, f'secret {ns}/{name}: {st}')
    L, want = listeners64()
    gw = {'apiVersion': 'gateway.networking.k8s.io/v1', 'kind': 'Gateway',
          'metadata': {'name': 'bad64', 'namespace': NS},
          'spec': {'gatewayClassName': 'kgc', 'listeners': L}}
    st, body = k.create(f'{GW}/namespaces/{NS}/gateways', gw)
    out(st == 201, f'a Gateway with {len(L)} listeners of every invalid kind is stored ({st})')
    k.create(f'{GW}/namespaces/{NS}/httproutes', httproute('on-bad64', parent='bad64', section='ok-0'))

    def statuses():
        st, g = k.get(f'{GW}/namespaces/{NS}/gateways/bad64')
        ls = (g.get('status') or {}).get('listeners') or []
        if len(ls) != len(L) or not cond((g.get('status') or {}).get('conditions'), 'Accepted') or \
                cond(g['status']['conditions'], 'Accepted').get('observedGeneration') != g['metadata']['generation']:
            return None
        return g
    g = wait(statuses, 30)
    if not g:
        out(False, 'the 64-listener Gateway never got 64 listener statuses')
        return
    got = {x['name']: x for x in g['status']['listeners']}
    wrong = []
    for name, exp in want.items():
        x = got.get(name)
        for t, s, r in exp:
            c = cond(x and x.get('conditions'), t)
            if not c or c['status'] != s or c['reason'] != r:
                wrong.append(f'{name}: {t}={c and c["status"]}/{c and c["reason"]}, want {s}/{r}')
    out(not wrong, f'every one of the 64 listeners has the right reason ({len(wrong)} wrong)' +
        ('' if not wrong else ': ' + '; '.join(wrong[:12])))
    if os.environ.get('H4_DUMP'):
        for x in g['status']['listeners']:
            print('   ', x['name'], [(c['type'], c['status'], c['reason']) for c in x['conditions']])
    a = cond(g['status']['conditions'], 'Accepted')
    out(a['status'] == 'True' and a['reason'] == 'ListenersNotValid',
        f'the Gateway is Accepted=True/ListenersNotValid (some listeners valid): {a["status"]}/{a["reason"]}')
    out(wait(lambda: route_accepted('on-bad64'), 20), 'an HTTPRoute on one of its valid listeners is Accepted')

    def valid_programmed():
        st, g = k.get(f'{GW}/namespaces/{NS}/gateways/bad64')
        ls = [x for x in (g.get('status') or {}).get('listeners') or [] if x['name'].startswith('ok-')]
        return len(ls) == n_ok and all(cond(x['conditions'], 'Programmed')['status'] == 'True' for x in ls)
    n_ok = sum(1 for x in L if x['name'].startswith('ok-'))
    out(wait(valid_programmed, 20), f'its {n_ok} valid listeners become Programmed (Kong took their part)')
    # HTTP and HTTPS on one port: a protocol conflict poisons every listener of that port, so it
    # gets a Gateway of its own
    pc = {'apiVersion': 'gateway.networking.k8s.io/v1', 'kind': 'Gateway',
          'metadata': {'name': 'pconf', 'namespace': NS},
          'spec': {'gatewayClassName': 'kgc',
                   'listeners': [l('a', 8000, 'HTTP', 'pc.example.com'),
                                 l('b', 8000, 'HTTPS', 'pc.example.com', cert('tls-good')),
                                 l('c', 8443, 'HTTPS', 'pc.example.com', cert('tls-good'))]}}
    k.create(f'{GW}/namespaces/{NS}/gateways', pc)

    def pc_status():
        st, g = k.get(f'{GW}/namespaces/{NS}/gateways/pconf')
        ls = {x['name']: x for x in ((g.get('status') or {}).get('listeners') or [])}
        return ls if len(ls) == 3 else None
    ls = wait(pc_status, 20) or {}
    got = {n: cond(x.get('conditions'), 'Conflicted') for n, x in ls.items()}
    got = {n: c and (c['status'], c['reason']) for n, c in got.items()}
    out(got.get('a') == ('True', 'ProtocolConflict') and got.get('b') == ('True', 'ProtocolConflict')
        and got.get('c') == ('False', 'NoConflicts'),
        f'HTTP and HTTPS on port 8000: both ProtocolConflict, the 8443 one not: {got}')


# --- an HTTPRoute with 10k rules, then the largest the CRD allows ------------------------------------
def step_rules():
    rules = [{'matches': [{'path': {'type': 'PathPrefix', 'value': f'/r{i}'}}],
              'backendRefs': [{'name': 'web', 'port': 80}]} for i in range(10000)]
    st, body = k.create(f'{GW}/namespaces/{NS}/httproutes', httproute('rules10k', rules=rules))
    msg = json.dumps(body)[:2000] if body else ''
    out(st == 422 and 'spec.rules' in msg and '16' in msg,
        f'an HTTPRoute with 10000 rules: the API server answers {st} (CRD maxItems 16): '
        f'{(body or {}).get("message", "")[:120]}')
    rules = [{'matches': [{'path': {'type': 'PathPrefix', 'value': f'/r{i}/m{j}'},
                           'headers': [{'name': f'x-h{h}', 'value': f'v{i}-{j}'} for h in range(2)]}
                          for j in range(64)],
              'backendRefs': [{'name': 'web', 'port': 80, 'weight': 1 + b} for b in range(16)]}
             for i in range(16)]
    r = httproute('rules-max', rules=rules)
    r['spec']['hostnames'] = [f'h{i}.example.com' for i in range(16)]
    st, body = k.create(f'{GW}/namespaces/{NS}/httproutes', r)
    out(st == 201, f'the largest HTTPRoute the CRD allows (16 hostnames, 16 rules x 64 matches x 16 backends) is stored ({st})')
    out(wait(lambda: route_accepted('rules-max'), 40), 'and Accepted by kgc')


# --- unknown fields everywhere ---------------------------------------------------------------------
def sprinkle(o, depth=0):
    """Adds an unknown field to every object in o."""
    if isinstance(o, dict):
        for v in o.values():
            sprinkle(v, depth + 1)
        o[f'zzUnknown{depth}'] = {'nested': [1, {'deeper': True}]}
    elif isinstance(o, list):
        for v in o:
            sprinkle(v, depth + 1)
    return o


def step_unknown():
    r = sprinkle(httproute('unknown-fields'))
    st, body = k.req('POST', f'{GW}/namespaces/{NS}/httproutes?fieldValidation=Strict', r)
    out(st == 400 and 'unknown field' in json.dumps(body),
        f'unknown fields everywhere, fieldValidation=Strict: {st} ({(body or {}).get("message", "")[:100]})')
    st, body = k.req('POST', f'{GW}/namespaces/{NS}/httproutes?fieldValidation=Ignore', r)
    out(st == 201 and 'zzUnknown' not in json.dumps(body),
        f'fieldValidation=Ignore: stored with the unknown fields pruned ({st})')
    out(wait(lambda: route_accepted('unknown-fields'), 30), 'and Accepted')
    # an event no API server would send: the stored route plus unknown fields at every level
    st, cur = k.get(f'{GW}/namespaces/{NS}/httproutes/unknown-fields')
    off = log_size()
    ev = {'type': 'MODIFIED', 'object': sprinkle(cur)}
    n = inject('httproutes', 'gateway.networking.k8s.io', json.dumps(ev).encode() + b'\n')
    time.sleep(1.0)
    bad = [x for x in log_since(off).splitlines() if 'kind=HTTPRoute' in x and 'level=warn' in x]
    out(n > 0 and not bad,
        f'a watch event carrying unknown fields at every level is taken without a warning ({n} watches)')
    out(route_accepted('unknown-fields'), 'the route stays Accepted')


{'malformed': step_malformed, 'large': step_large, 'gw64': step_gw64, 'rules': step_rules,
 'unknown': step_unknown}[STEP]()
PY

step malformed
step large
step gw64
step rules
step unknown

# --- and after all that: a plain Gateway and HTTPRoute ---------------------------------------------
{ gateway_yaml last last.example.com; httproute_yaml last last; } >"$TMP/last.yaml"
t0=$(now_ms)
k apply -f "$TMP/last.yaml" >/dev/null || bad "apply the last Gateway and HTTPRoute"
k -n demo wait --for=condition=Programmed gateway/last --timeout=30s >/dev/null &&
    ok "a plain Gateway created last is Programmed ($(($(now_ms) - t0)) ms)" || bad "the last Gateway is not Programmed"
k -n demo wait --for=jsonpath='{.status.parents[0].conditions[?(@.type=="Accepted")].status}'=True \
    httproute/last --timeout=30s >/dev/null && ok "its HTTPRoute is Accepted" || bad "the last HTTPRoute is not Accepted"
k -n demo wait --for=condition=Programmed gateway/good --timeout=10s >/dev/null &&
    ok "the good Gateway is still Programmed" || bad "the good Gateway lost Programmed"
curl -sf -m 5 "${KONG_URL[1]}/config" | grep -q 'httproute.demo.last' &&
    ok "Kong's configuration holds the last route" || bad "the last route is not in Kong's /config"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$M/healthz")
[[ $code == 200 ]] && ok "kgc answers /healthz (200)" || bad "/healthz: $code"
stop_kgc main && ok "kgc exits 0 on SIGTERM" || bad "kgc exit status on SIGTERM"
no_sanitizer_reports "$TMP"/kgc-*.log "$TMP"/kong1.err "$TMP"/api.err
finish

# Shared start-up of the kgc e2e scenarios (sourced, not run): paths, process cleanup, result
# counting, and a test Kubernetes API server with a kubeconfig for real kubectl.
#   source "$(dirname "$0")/lib.sh"   (from a test/e2e/*.sh script; leaves cwd at the repo root)
# KGC_E2E_KEEP=1 keeps the scenario's temporary directory (logs, audit log) for a post-mortem;
# E2E_KILL_SIGNAL (TERM) is what the clean-up sends the processes in PIDS.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD=${BUILD:-build}
# The Gateway API CRDs and conformance manifests of the pinned version, put there by `make deps`
# (scripts/deps.sh); KGC_GATEWAY_API_DIR overrides.
GWAPI=${KGC_GATEWAY_API_DIR:-$PWD/.deps/gateway-api}
KUBECTL=$PWD/.tools/bin/kubectl
TMP=$(mktemp -d)
passed=0 failed=0
PIDS=()

e2e_cleanup() {
    for p in "${PIDS[@]}"; do kill -"${E2E_KILL_SIGNAL:-TERM}" "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    if [[ -n ${KGC_E2E_KEEP:-} ]]; then echo "# kept $TMP"; else rm -rf "$TMP"; fi
}
trap e2e_cleanup EXIT
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
bad() { failed=$((failed + 1)); echo "FAIL - $1"; }
finish() { echo "$passed passed, $failed failed"; [[ $failed -eq 0 ]]; exit; }
check() { # check NAME COMMAND...: ok NAME when COMMAND succeeds, else bad NAME
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}
now_ms() { date +%s%3N; }

# wait_url FILE: the URL a test server printed as "listening on http://..." (waits up to 10 s).
wait_url() {
    local f=$1 u=
    for _ in $(seq 1 100); do
        u=$(sed -n 's/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$f" 2>/dev/null | head -1)
        [[ -n $u ]] && { echo "$u"; return 0; }
        sleep 0.1
    done
    return 1
}

# free_port: a TCP port free on 127.0.0.1 right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_apiserver: the test API server (audit log in $TMP/audit.jsonl), $API, $KUBECONFIG and k().
start_apiserver() {
    "$BUILD/kgc-test-apiserver" --listen 127.0.0.1:0 --audit "$TMP/audit.jsonl" \
        >"$TMP/api.out" 2>"$TMP/api.err" &
    PIDS+=($!)
    API=$(wait_url "$TMP/api.out") || { bad "API server starts"; finish; }
    cat >"$TMP/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "$API"}
users:
- name: test
  user: {}
contexts:
- name: test
  context: {cluster: test, user: test}
current-context: test
KC
    export KUBECONFIG=$TMP/kubeconfig
}
k() { timeout 60 "$KUBECTL" --cache-dir "$TMP/kcache" "$@"; }

# apply_crds: the Gateway API CRDs, server-side, established (or the scenario ends).
apply_crds() {
    [[ -d $GWAPI/crds ]] || { bad "Gateway API CRDs: no $GWAPI/crds (run make deps)"; finish; }
    k apply --server-side -f "$GWAPI/crds/" >/dev/null &&
        k wait --for=condition=Established crd --all --timeout=30s >/dev/null &&
        ok "Gateway API CRDs applied and established" || { bad "CRDs"; finish; }
}

# --- shared helpers of the kgc scenarios: Kong and kgc processes, bounded waits, metrics ------
declare -A KONG_PID KONG_URL KGC_PID

# forget_pid PID: PID has been reaped; the clean-up must not signal it (the number may be reused).
forget_pid() {
    local p keep=()
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

# start_kong N PORT [ARGS...]: test Kong number N on 127.0.0.1:PORT (0: a free port), logs appended
# to $TMP/kongN.out/.err; sets KONG_PID[N] and, once it listens, KONG_URL[N] (fails after 10 s).
start_kong() {
    local n=$1 port=$2
    shift 2
    "$BUILD/kgc-test-kong" --admin-listen "127.0.0.1:$port" "$@" >>"$TMP/kong$n.out" \
        2>>"$TMP/kong$n.err" &
    KONG_PID[$n]=$!
    PIDS+=($!)
    KONG_URL[$n]=$(wait_url "$TMP/kong$n.out")
}

# kill_kong N: SIGKILL to test Kong N, reaped.
kill_kong() {
    kill -9 "${KONG_PID[$1]}" 2>/dev/null
    wait "${KONG_PID[$1]}" 2>/dev/null
    forget_pid "${KONG_PID[$1]}"
}

# stop_pid PID: SIGTERM, up to 5 s for it to exit, then its exit status.
stop_pid() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    wait "$pid"
}

# wait_kong_up URL: GET URL/status answers (up to 100 tries, 5 s).
wait_kong_up() {
    for _ in $(seq 1 100); do
        curl -sf -m 1 "$1/status" >/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# start_kgc NAME [ARGS...]: kgc with --kubeconfig $KUBECONFIG and ARGS, log $TMP/kgc-NAME.log;
# sets KGC_PID[NAME].
start_kgc() {
    local n=$1
    shift
    "$BUILD/kgc" --kubeconfig "$KUBECONFIG" "$@" >"$TMP/kgc-$n.log" 2>&1 &
    KGC_PID[$n]=$!
    PIDS+=($!)
}

# stop_kgc NAME: SIGTERM, then its exit status.
stop_kgc() {
    local p=${KGC_PID[$1]} rc
    kill -TERM "$p" 2>/dev/null
    wait "$p"
    rc=$?
    forget_pid "$p"
    return $rc
}

# wait_until SECONDS STEP CMD...: runs CMD every STEP seconds until it succeeds; at most
# SECONDS/STEP tries and SECONDS of wall time. Returns CMD's last status.
wait_until() {
    local limit=$1 step=$2 end tries rc=1
    shift 2
    end=$(($(now_ms) + limit * 1000))
    tries=$(awk -v l="$limit" -v s="$step" 'BEGIN {print int(l / s) + 1}')
    for _ in $(seq 1 "$tries"); do
        "$@" && return 0
        rc=$?
        (($(now_ms) >= end)) && break
        sleep "$step"
    done
    return $rc
}

# metric URL SELECTOR: the sum of the samples of $URL/metrics whose name{labels} starts with
# SELECTOR (e.g. 'kgc_workqueue_retries_total{name="httproute"}'); 0 when none.
metric() {
    curl -sf -m 5 "$1/metrics" | awk -v s="$2" 'index($0, s) == 1 {t += $NF} END {printf "%d\n", t}'
}

# e2e_bound SECONDS: a watchdog; past SECONDS the scenario's child processes (those running then,
# by their ids) get SIGTERM and the scenario ends with a failure, so a hang costs SECONDS.
e2e_bound() {
    E2E_BOUND_S=$1
    trap 'bad "the scenario went over its ${E2E_BOUND_S} s bound"; finish' USR1
    (
        trap 'kill "$s" 2>/dev/null; exit 0' TERM
        sleep "$E2E_BOUND_S" &
        s=$!
        wait "$s"
        kill -USR1 $$
        for p in $(ps -o pid= --ppid $$); do [[ $p != "$BASHPID" ]] && kill -TERM "$p" 2>/dev/null; done
    ) &
    PIDS=("$!" "${PIDS[@]}")
}

# no_sanitizer_reports FILE...: bad when a log holds an ASan/UBSan/LSan report.
no_sanitizer_reports() {
    if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$@" 2>/dev/null; then
        bad "sanitizer reports in the logs above"
    else
        ok "no sanitizer report in $# logs"
    fi
}

# write_kube_py: $TMP/kube.py, a small keep-alive Kubernetes REST client for the scenarios' fast
# writers and checkers (import it with sys.path.insert(0, TMP)).
write_kube_py() {
    cat >"$TMP/kube.py" <<'PY'
"""A tiny Kubernetes REST client over one keep-alive connection (test API server, plain HTTP)."""
import http.client, json, time, urllib.parse

GW = '/apis/gateway.networking.k8s.io/v1'


class Kube:
    def __init__(self, base):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.conn = None

    def req(self, method, path, body=None, ctype='application/json'):
        """(status, parsed JSON or None); reconnects up to 3 times on a broken connection."""
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                data = None if body is None else json.dumps(body).encode()
                hdrs = {'Content-Type': ctype} if body is not None else {}
                self.conn.request(method, path, body=data, headers=hdrs)
                r = self.conn.getresponse()
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
            except (http.client.HTTPException, OSError):
                if self.conn:
                    self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.05)

    def get(self, path):
        return self.req('GET', path)

    def items(self, path):
        st, body = self.get(path)
        if st != 200:
            raise RuntimeError(f'GET {path}: {st} {body}')
        return body['items']

    def create(self, path, obj):
        return self.req('POST', path, obj)

    def delete(self, path):
        return self.req('DELETE', path)

    def modify(self, path, fn, tries=10):
        """GET, fn(obj) edits it, PUT with its resourceVersion; retried on 409. Returns the
        final status code (404 when the object is gone)."""
        st = 0
        for _ in range(tries):
            st, obj = self.get(path)
            if st != 200:
                return st
            fn(obj)
            st, _ = self.req('PUT', path, obj)
            if st != 409:
                return st
        return st

    def post(self, path):
        return self.req('POST', path, {})


def cond(conds, typ):
    for c in conds or []:
        if c.get('type') == typ:
            return c
    return None


def route(ns, name, parent, path, section=None):
    ref = {'name': parent}
    if section:
        ref['sectionName'] = section
    return {'apiVersion': 'gateway.networking.k8s.io/v1', 'kind': 'HTTPRoute',
            'metadata': {'name': name, 'namespace': ns},
            'spec': {'parentRefs': [ref],
                     'rules': [{'matches': [{'path': {'type': 'PathPrefix', 'value': path}}],
                                'backendRefs': [{'name': 'web', 'port': 80}]}]}}


def route_problems(k, ns, controller='konghq.com/kgc-gateway-controller'):
    """Every HTTPRoute of ns: exactly one status.parents entry of ours, for the Gateway its spec
    names, Accepted=True and ResolvedRefs=True, observedGeneration == generation. Returns (the
    routes, a list of problems)."""
    routes = k.items(f'{GW}/namespaces/{ns}/httproutes')
    bad = []
    for r in routes:
        m, want = r['metadata'], r['spec']['parentRefs'][0]['name']
        mine = [p for p in (r.get('status') or {}).get('parents', [])
                if p.get('controllerName') == controller]
        if len(mine) != 1 or mine[0]['parentRef'].get('name') != want:
            bad.append(f"{m['name']}: parents {[p['parentRef'].get('name') for p in mine]}, spec {want}")
            continue
        for t in ('Accepted', 'ResolvedRefs'):
            c = cond(mine[0].get('conditions'), t)
            if not c or c['status'] != 'True' or c.get('observedGeneration') != m['generation']:
                bad.append(f"{m['name']}: {t} {c and (c['status'], c.get('reason'), c.get('observedGeneration'))} at generation {m['generation']}")
    return routes, bad


def gateway_problems(k, ns, routes):
    """Every Gateway of ns: Accepted and Programmed True at its generation, every listener
    Accepted and Programmed, attachedRoutes = the routes naming it (one listener each)."""
    bad = []
    for g in k.items(f'{GW}/namespaces/{ns}/gateways'):
        m, st = g['metadata'], g.get('status') or {}
        for t in ('Accepted', 'Programmed'):
            c = cond(st.get('conditions'), t)
            if not c or c['status'] != 'True' or c.get('observedGeneration') != m['generation']:
                bad.append(f"gateway {m['name']}: {t} {c and (c['status'], c.get('reason'), c.get('observedGeneration'))} at generation {m['generation']}")
        want = sum(1 for r in routes if r['spec']['parentRefs'][0]['name'] == m['name'])
        ls = st.get('listeners') or []
        if len(ls) != len(g['spec']['listeners']):
            bad.append(f"gateway {m['name']}: {len(ls)} listener statuses")
        for l in ls:
            for t in ('Accepted', 'Programmed'):
                c = cond(l.get('conditions'), t)
                if not c or c['status'] != 'True':
                    bad.append(f"gateway {m['name']} listener {l['name']}: {t} {c and c['reason']}")
        got = sum(l.get('attachedRoutes', 0) for l in ls)
        if got != want:
            bad.append(f"gateway {m['name']}: attachedRoutes {got}, {want} routes name it")
    return bad
PY
}

# base_yaml: the Namespace "demo" and the GatewayClass "kgc" owned by kgc, as YAML documents
# ending with a separator (the scenarios' manifests start with them).
base_yaml() {
    cat <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: kgc}
spec: {controllerName: konghq.com/kgc-gateway-controller}
---
YAML
}

# gateway_yaml NAME [HOSTNAME]: the Gateway demo/NAME of class kgc with one HTTP listener "http" on
# port 8000 (for HOSTNAME when given), as a YAML document ending with a separator.
gateway_yaml() {
    cat <<YAML
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: $1, namespace: demo}
spec:
  gatewayClassName: kgc
  listeners: [{name: http, port: 8000, protocol: HTTP${2:+, hostname: $2}}]
---
YAML
}

# web_service_yaml: the Service demo/web (port 80, target 8080), as a YAML document ending with a
# separator.
web_service_yaml() {
    cat <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
---
YAML
}

# apply_objects OK [BAD]: kubectl apply of $TMP/objects.yaml; ok OK when it succeeds, else bad BAD
# ("apply").
apply_objects() {
    if k apply -f "$TMP/objects.yaml" >/dev/null; then ok "$1"; else bad "${2:-apply}"; fi
}

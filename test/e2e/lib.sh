# Shared start-up of the kgc e2e scenarios (sourced, not run): paths, a temporary directory ($TMP)
# removed by the EXIT trap with the processes in PIDS, result counting, a test Kubernetes API
# server with a kubeconfig for real kubectl, test Kong and kgc processes with the scenarios' common
# flags, and the manifests they share (GatewayClass, Gateways with listeners, routes, Services).
#   source "$(dirname "$0")/lib.sh"   (from a test/e2e/*.sh script; leaves cwd at the repo root)
# KGC_E2E_KEEP=1 keeps the scenario's temporary directory (logs, audit log) for a post-mortem;
# E2E_KILL_SIGNAL (TERM) is what the clean-up sends the processes in PIDS; E2E_BAD_SHOW, see bad.
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
# bad NAME: a failure; with E2E_BAD_SHOW set, also the first 600 bytes of that file when it exists
# (the scenario's last answer).
bad() {
    failed=$((failed + 1))
    echo "FAIL - $1"
    if [[ -n ${E2E_BAD_SHOW:-} && -f $E2E_BAD_SHOW ]]; then head -c 600 "$E2E_BAD_SHOW" && echo; fi
}
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

# wait_listening FILE PID SED [TRIES]: polls FILE every 50 ms, at most TRIES times (100: 5 s),
# until `sed -n SED FILE` prints a line: prints the first and returns 0. Returns 1 once PID has
# exited or the tries are used up. For scenarios that start a test server themselves.
wait_listening() {
    local file=$1 pid=$2 expr=$3 v
    for _ in $(seq 1 "${4:-100}"); do
        v=$(sed -n "$expr" "$file" 2>/dev/null | head -1)
        [[ -n $v ]] && { echo "$v"; return 0; }
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# start_test_kong TRIES [ARGS...]: the test Kong binary with exactly ARGS, for the scenarios that
# test it: stdout in a new file KOUT ($TMP/out.N), stderr appended to $TMP/stderr; sets KPID (also
# in PIDS) and KURL, the admin URL it prints, within TRIES x 50 ms (else it fails, KURL empty).
start_test_kong() {
    local tries=$1
    shift
    KOUT=$TMP/out.$RANDOM
    "$BUILD/kgc-test-kong" "$@" >"$KOUT" 2>>"$TMP/stderr" &
    KPID=$!
    PIDS+=("$KPID")
    # shellcheck disable=SC2034 # for the scenario that sources this file
    KURL=$(wait_listening "$KOUT" "$KPID" 's/^listening on //p' "$tries")
}

# free_port: a TCP port free on 127.0.0.1 right now, chosen below the kernel's ephemeral range
# (ip_local_port_range), which bind(:0) and every outgoing connection draw from: a port found
# free there could be taken by another scenario's connection (make test runs several at once)
# before its server binds it, or while a test server is down for a restart.
free_port() {
    python3 -c '
import random, socket
lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
ports = range(10000, lo) if lo > 11000 else range(hi + 1, 65536)
for _ in range(500):
    p = random.choice(ports)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
'
}

# write_kubeconfig SERVER FILE: a kubeconfig for real kubectl against SERVER (plain HTTP, no user).
write_kubeconfig() {
    cat >"$2" <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "$1"}
users:
- name: test
  user: {}
contexts:
- name: test
  context: {cluster: test, user: test}
current-context: test
KC
}

# start_apiserver: the test API server (audit log in $TMP/audit.jsonl), $API, $KUBECONFIG and k().
start_apiserver() {
    "$BUILD/kgc-test-apiserver" --listen 127.0.0.1:0 --audit "$TMP/audit.jsonl" \
        >"$TMP/api.out" 2>"$TMP/api.err" &
    PIDS+=($!)
    API=$(wait_url "$TMP/api.out") || { bad "API server starts"; finish; }
    write_kubeconfig "$API" "$TMP/kubeconfig"
    export KUBECONFIG=$TMP/kubeconfig
}
k() { timeout 60 "$KUBECTL" --cache-dir "$TMP/kcache" "$@"; }

# apply_crds: the Gateway API CRDs kgc watches (crds/ and GRPCRoute's from crds-more/, as the
# standard channel installs them), server-side, established (or the scenario ends).
apply_crds() {
    [[ -d $GWAPI/crds ]] || { bad "Gateway API CRDs: no $GWAPI/crds (run make deps)"; finish; }
    k apply --server-side -f "$GWAPI/crds/" \
        -f "$GWAPI/crds-more/gateway.networking.k8s.io_grpcroutes.yaml" >/dev/null &&
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

# --- manifests: each function prints YAML documents ending with a separator --------------------
KGC_CONTROLLER=konghq.com/kgc-gateway-controller

# gatewayclass_yaml [NAME [CONTROLLER]]: the GatewayClass NAME (kgc) of CONTROLLER (kgc's).
gatewayclass_yaml() {
    cat <<YAML
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: ${1:-kgc}}
spec: {controllerName: ${2:-$KGC_CONTROLLER}}
---
YAML
}

# base_yaml: the Namespace "demo" and the GatewayClass "kgc" owned by kgc (the scenarios'
# manifests start with them).
base_yaml() {
    printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n---\n'
    gatewayclass_yaml kgc "$KGC_CONTROLLER"
}

# http_listener: the listener "http", HTTP on port 8000, as a YAML flow mapping.
http_listener() { echo "{name: http, port: 8000, protocol: HTTP}"; }

# https_listener NAME HOSTNAME SECRET: an HTTPS listener on 8443 for HOSTNAME (none when empty)
# terminating TLS with the Secret SECRET of the Gateway's namespace.
https_listener() {
    echo "{name: $1, port: 8443, protocol: HTTPS${2:+, hostname: $2}, tls: {certificateRefs: [{name: $3}]}}"
}

# gateway_listeners_yaml NAME NAMESPACE LISTENER...: the Gateway NAMESPACE/NAME of class kgc with
# the listeners (flow mappings, e.g. from http_listener and https_listener), in that order.
gateway_listeners_yaml() {
    local l
    printf 'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n'
    printf 'metadata: {name: %s, namespace: %s}\nspec:\n  gatewayClassName: kgc\n  listeners:\n' "$1" "$2"
    shift 2
    for l; do echo "  - $l"; done
    echo ---
}

# gateway_yaml NAME [HOSTNAME]: the Gateway demo/NAME of class kgc with one HTTP listener "http" on
# port 8000 (for HOSTNAME when given).
gateway_yaml() {
    gateway_listeners_yaml "$1" demo "{name: http, port: 8000, protocol: HTTP${2:+, hostname: $2}}"
}

# httproute_yaml NAME PARENT [SECTION] [PATH]: the HTTPRoute demo/NAME attached to the Gateway
# PARENT (its listener SECTION when not empty), sending PATH (a prefix; every path when not given)
# to the Service web, port 80.
httproute_yaml() {
    local ref="{name: $2${3:+, sectionName: $3}}" match=
    [[ -n ${4:-} ]] && match="matches: [{path: {type: PathPrefix, value: $4}}], "
    cat <<YAML
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: $1, namespace: demo}
spec:
  parentRefs: [$ref]
  rules: [{${match}backendRefs: [{name: web, port: 80}]}]
---
YAML
}

# kong_proxy_service_yaml IP HTTP_TARGET HTTPS_TARGET: the Namespace kong and the Kong proxy
# Service kong/kong-proxy (ClusterIP IP) that kgc publishes: the Gateway ports 80 and 443 go to
# the proxy's HTTP_TARGET and HTTPS_TARGET ports.
kong_proxy_service_yaml() {
    cat <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: kong}
---
apiVersion: v1
kind: Service
metadata: {name: kong-proxy, namespace: kong}
spec:
  type: ClusterIP
  clusterIP: $1
  clusterIPs: [$1]
  selector: {app: kong}
  ports:
  - {name: http, port: 80, targetPort: $2, protocol: TCP}
  - {name: https, port: 443, targetPort: $3, protocol: TCP}
---
YAML
}

# conformance_manifest NAME CLASS: the conformance manifest $GWAPI/conformance/NAME.yaml with the
# class name CLASS and kgc's controller name substituted.
conformance_manifest() {
    sed -e "s|{GATEWAY_CLASS_NAME}|$2|g" -e "s|{GATEWAY_CONTROLLER_NAME}|$KGC_CONTROLLER|g" \
        "$GWAPI/conformance/$1.yaml"
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

# start_cluster: what the scenarios driven by kube.py start from: the test API server, kube.py
# (TMP and API exported for the Python helpers), test Kong 1 (or the scenario ends) and the
# Gateway API CRDs.
start_cluster() {
    start_apiserver
    write_kube_py
    export TMP API
    start_kong 1 0 || { bad "test Kong starts"; finish; }
    apply_crds
}

# --- kgc set-up: ports, certificates, the common flags, readiness -------------------------------

# kgc_ports: HP and DP, two different free ports for kgc's --http-listen and --debug-listen; M and
# D, their URLs.
kgc_ports() {
    HP=$(free_port)
    DP=$(free_port)
    while [[ $DP == "$HP" ]]; do DP=$(free_port); done
    # shellcheck disable=SC2034 # for the scenario that sources this file
    M=http://127.0.0.1:$HP D=http://127.0.0.1:$DP
}

# self_signed_cert CN [OPENSSL-ARGS...]: $TMP/tls.crt and $TMP/tls.key, a self-signed RSA 2048
# certificate for CN valid 2 days; fails when openssl does.
self_signed_cert() {
    local cn=$1
    shift
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$cn" "$@" \
        -keyout "$TMP/tls.key" -out "$TMP/tls.crt" >/dev/null 2>&1
}

# tls_secret NAMESPACE NAME: the kubernetes.io/tls Secret NAMESPACE/NAME of $TMP/tls.crt/.key.
tls_secret() {
    k -n "$1" create secret tls "$2" --cert "$TMP/tls.crt" --key "$TMP/tls.key" >/dev/null
}

# start_kgc_on NAME KONG_URL [ARGS...]: start_kgc NAME against the test Kong at KONG_URL (none
# when empty: ARGS name the instances) with the scenarios' common flags: the listener cache in $LC
# ($TMP/lc when LC is unset; empty: no cache), log level info, --http-listen and --debug-listen on
# 127.0.0.1:$HP and :$DP (kgc_ports; a server is off when HP or DP is unset or empty). ARGS last.
start_kgc_on() {
    local n=$1 admin=()
    [[ -n $2 ]] && admin=(--kong-admin-url "$2")
    shift 2
    start_kgc "$n" "${admin[@]}" --listener-cache-dir "${LC-$TMP/lc}" --log-level info \
        --http-listen "${HP:+127.0.0.1:$HP}" --debug-listen "${DP:+127.0.0.1:$DP}" "$@"
}

# start_replicas KONG_URL [ARGS...]: kgc replicas 1, 2 and 3 with --leader-elect (Lease
# default/kgc-leader, duration 3 s, renew deadline 2 s, retry 500 ms), each with its own listener
# cache $TMP/lcN and --http-listen on a free port, at ${REPLICA_URL[N]}; no debug server; ARGS
# before those.
start_replicas() {
    local kong=$1 n port
    shift
    declare -gA REPLICA_URL
    for n in 1 2 3; do
        port=$(free_port)
        # shellcheck disable=SC2034 # for the scenario that sources this file
        REPLICA_URL[$n]=http://127.0.0.1:$port
        start_kgc $n --kong-admin-url "$kong" --listener-cache-dir "$TMP/lc$n" \
            --leader-elect --election-namespace default --election-lease-duration 3s \
            --election-renew-deadline 2s --election-retry-period 500ms "$@" \
            --http-listen "127.0.0.1:$port" --debug-listen ""
    done
}

# wait_programmed OK LOG GATEWAY...: ok OK when every Gateway demo/GATEWAY is Programmed within
# 30 s; else bad, with the last 20 lines of LOG (none when LOG is empty).
wait_programmed() {
    local okmsg=$1 log=$2 g gws=()
    shift 2
    for g; do gws+=("gateway/$g"); done
    if k -n demo wait --for=condition=Programmed "${gws[@]}" --timeout=30s >/dev/null; then
        ok "$okmsg"
    else
        bad "$okmsg"
        [[ -n $log ]] && tail -20 "$log"
    fi
}

# write_right_py SUMMARY: $TMP/right.py (needs write_kube_py, and TMP and API exported), which
# checks every route and Gateway of demo (route_problems, gateway_problems) and that there are
# $ROUTES routes; it prints the first problems, or SUMMARY with {n} the number of routes. right:
# runs it, output in $TMP/right.out.
write_right_py() {
    cat >"$TMP/right.py" <<PY
import os, sys
sys.path.insert(0, os.environ['TMP'])
from kube import Kube, route_problems, gateway_problems
k = Kube(os.environ['API'])
routes, bad = route_problems(k, 'demo')
bad += gateway_problems(k, 'demo', routes)
if len(routes) != int(os.environ['ROUTES']):
    bad.append(f'{len(routes)} routes')
print('\n'.join(bad[:6]) if bad else '''$1'''.format(n=len(routes)))
sys.exit(1 if bad else 0)
PY
}
right() { ROUTES=$ROUTES python3 "$TMP/right.py" >"$TMP/right.out" 2>&1; }

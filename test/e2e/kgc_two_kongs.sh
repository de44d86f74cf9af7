#!/usr/bin/env bash
# e2e: kgc keeps TWO Kong instances in sync. Routes applied with real kubectl reach both
# instances' configuration; one instance is killed, a route changes, the instance restarts empty
# and gets the current configuration back at once; a route Kong rejects (a filter whose plugin is
# not enabled on these Kongs) is reported on that route while the other routes keep flowing.
# Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SHARED=${KGC_SHARED:-$(cd .. && pwd)/shared}
KUBECTL=$PWD/.tools/bin/kubectl
TMP=$(mktemp -d)
passed=0 failed=0
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
bad() { failed=$((failed + 1)); echo "FAIL - $1"; }
finish() { echo "$passed passed, $failed failed"; [[ $failed -eq 0 ]]; exit; }
now_ms() { date +%s%3N; }

# wait_line FILE REGEX: the first match of a sed expression in FILE, waiting up to 10 s.
wait_url() {
    local f=$1 u=
    for _ in $(seq 1 100); do
        u=$(sed -n 's/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$f" 2>/dev/null | head -1)
        [[ -n $u ]] && { echo "$u"; return 0; }
        sleep 0.1
    done
    return 1
}

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
k() { timeout 60 "$KUBECTL" --cache-dir "$TMP/kcache" "$@"; }

PLUGINS=response-transformer,request-termination,redirect,cors # no request-transformer
start_kong() { # start_kong N PORT
    "$BUILD/kgc-test-kong" --admin-listen "127.0.0.1:$2" --plugins "$PLUGINS" \
        >>"$TMP/kong$1.out" 2>>"$TMP/kong$1.err" &
    KPID[$1]=$!
    PIDS+=(${KPID[$1]})
}
declare -A KPID KURL
for n in 1 2; do
    start_kong $n 0
    KURL[$n]=$(wait_url "$TMP/kong$n.out") || { bad "test Kong $n starts"; finish; }
done
PORT2=${KURL[2]##*:}

k apply --server-side -f "$SHARED/gateway-api/crds/" >/dev/null &&
    k wait --for=condition=Established crd --all --timeout=30s >/dev/null &&
    ok "Gateway API CRDs applied and established" || { bad "CRDs"; finish; }
cat >"$TMP/objects.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: kgc}
spec: {controllerName: konghq.com/kgc-gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: demo}
spec:
  gatewayClassName: kgc
  listeners: [{name: http, port: 8000, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: one, namespace: demo}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: PathPrefix, value: /one}}], backendRefs: [{name: web, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: two, namespace: demo}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: PathPrefix, value: /two}}], backendRefs: [{name: web, port: 80}]}]
YAML
k apply -f "$TMP/objects.yaml" >/dev/null && ok "class, gateway, service and two routes applied" ||
    bad "apply"

"$BUILD/kgc" --kubeconfig "$KUBECONFIG" --kong-admin-url "${KURL[1]}" --kong-admin-url "${KURL[2]}" \
    --listener-cache-dir "$TMP/lc" --kong-probe-interval 500ms --http-listen "" --debug-listen "" \
    >"$TMP/kgc.log" 2>&1 &
KGC_PID=$!
PIDS+=($KGC_PID)

# has N TEXT: Kong N's configuration contains TEXT (waits up to 10 s)
has() {
    for _ in $(seq 1 100); do
        curl -sf "${KURL[$1]}/config" 2>/dev/null | grep -q -- "$2" && return 0
        sleep 0.1
    done
    return 1
}
k -n demo wait --for=condition=Programmed gateway/gw --timeout=30s >/dev/null &&
    ok "the Gateway is Programmed once both instances accepted its configuration" ||
    bad "Programmed"
for n in 1 2; do
    has $n '"/one' && has $n '"/two' && ok "Kong $n holds both routes" || bad "Kong $n routes"
done

kill -9 "${KPID[2]}"; wait "${KPID[2]}" 2>/dev/null
k -n demo patch httproute two --type merge \
    -p '{"spec":{"rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/two-v2"}}],"backendRefs":[{"name":"web","port":80}]}]}}' \
    >/dev/null
has 1 '"/two-v2' && ok "the change reaches the live instance" || bad "change on Kong 1"
start_kong 2 "$PORT2"
t0=$(date +%s%3N)
if has 2 '"/two-v2'; then
    ok "the restarted instance got the current config $(( $(date +%s%3N) - t0 )) ms after it started"
else
    bad "restarted Kong 2 did not get the current config"
fi

# A route Kong rejects: RequestHeaderModifier needs request-transformer, not enabled here.
cat >"$TMP/broken.yaml" <<'YAML'
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: broken, namespace: demo}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /broken}}]
    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-A, value: b}]}}]
    backendRefs: [{name: web, port: 80}]
YAML
k apply -f "$TMP/broken.yaml" >/dev/null
reason=
for _ in $(seq 1 100); do
    reason=$(k -n demo get httproute broken -o jsonpath='{.status.parents[0].conditions[?(@.type=="Accepted")].reason}')
    [[ -n $reason && $reason != Accepted ]] && break
    sleep 0.1
done
msg=$(k -n demo get httproute broken -o jsonpath='{.status.parents[0].conditions[?(@.type=="Accepted")].message}')
[[ -n $reason && $reason != Accepted ]] &&
    ok "Kong's rejection is reported on the route: Accepted=False/$reason ($msg)" ||
    bad "the broken route's status: reason '$reason'"
k -n demo patch httproute one --type merge \
    -p '{"spec":{"rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/one-v2"}}],"backendRefs":[{"name":"web","port":80}]}]}}' \
    >/dev/null
has 1 '"/one-v2' && has 2 '"/one-v2' && ok "other routes keep flowing to both instances" ||
    bad "other routes stopped flowing"
curl -sf "${KURL[1]}/config" | grep -q '"/broken' && bad "the broken route reached Kong" ||
    ok "the broken route is kept out of Kong's configuration"
kill -TERM "$KGC_PID"; wait "$KGC_PID" && ok "kgc exits 0" || bad "kgc exit status"
finish

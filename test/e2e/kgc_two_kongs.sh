#!/usr/bin/env bash
# e2e: kgc keeps TWO Kong instances in sync. Routes applied with real kubectl reach both
# instances' configuration; one instance is killed, a route changes, the instance restarts empty
# and gets the current configuration back at once; a route Kong rejects (a filter whose plugin is
# not enabled on these Kongs) is reported on that route while the other routes keep flowing.
# Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
start_apiserver

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

apply_crds
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

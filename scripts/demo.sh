#!/usr/bin/env bash
# make demo: the Kong-restart story, end to end, on this machine. Starts the test Kubernetes API
# server, two test Kong instances and kgc on free local ports; applies the Gateway API CRDs and an
# example GatewayClass/Gateway/HTTPRoute with real kubectl; shows the Gateway and kgc's cache dump;
# then restarts Kong and prints a timeline: while it is down the status does not change (served
# from the listener cache), when it is back the configuration is pushed again at once. Traffic:
# each test Kong also runs its proxy (--proxy-listen on a free port; GET / still reports the
# fixture's 8000 listener, the port the Gateway asks for), and curl through it reaches the
# HTTPRoute before and after the restart. Stops everything it started.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
# The Gateway API CRDs and conformance manifests of the pinned version, put there by `make deps`
# (scripts/deps.sh); KGC_GATEWAY_API_DIR overrides.
GWAPI=${KGC_GATEWAY_API_DIR:-$PWD/.deps/gateway-api}
KUBECTL=$PWD/.tools/bin/kubectl
TMP=$(mktemp -d)
PIDS=()
T0=$(date +%s%3N)

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
at() { printf '  %6d ms  %s\n' $(($(date +%s%3N) - T0)) "$*"; }
die() { echo "demo: $*" >&2; exit 1; }
wait_url() {
    for _ in $(seq 1 100); do
        u=$(sed -n 's/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$1" 2>/dev/null | head -1)
        [[ -n $u ]] && { echo "$u"; return 0; }
        sleep 0.1
    done
    return 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
[[ -d $GWAPI/crds ]] || die "Gateway API CRDs not found under $GWAPI (run make deps, or set KGC_GATEWAY_API_DIR)"

say "Starting the test Kubernetes API server, two test Kong instances and kgc"
"$BUILD/kgc-test-apiserver" --listen 127.0.0.1:0 --audit "$TMP/audit.jsonl" >"$TMP/api.out" 2>"$TMP/api.err" &
PIDS+=($!)
API=$(wait_url "$TMP/api.out") || die "the API server did not start"
declare -A KPID KURL
start_kong() { # N PORT
    "$BUILD/kgc-test-kong" --admin-listen "127.0.0.1:$2" --proxy-listen 127.0.0.1:0 \
        --allow-debug-header --listeners test/fixtures/kong-root.json \
        >>"$TMP/kong$1.out" 2>>"$TMP/kong$1.err" &
    KPID[$1]=$!
    PIDS+=(${KPID[$1]})
}
for n in 1 2; do
    start_kong $n 0
    KURL[$n]=$(wait_url "$TMP/kong$n.out") || die "Kong $n did not start"
done
cat >"$TMP/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: demo, cluster: {server: "$API"}}]
users: [{name: demo, user: {}}]
contexts: [{name: demo, context: {cluster: demo, user: demo}}]
current-context: demo
KC
export KUBECONFIG=$TMP/kubeconfig
k() { timeout 60 "$KUBECTL" --cache-dir "$TMP/kcache" "$@"; }
DEBUG_PORT=$(free_port)
"$BUILD/kgc" --kubeconfig "$KUBECONFIG" --kong-admin-url "${KURL[1]}" --kong-admin-url "${KURL[2]}" \
    --listener-cache-dir "$TMP/listeners" --kong-probe-interval 500ms --http-listen "" \
    --debug-listen "127.0.0.1:$DEBUG_PORT" >"$TMP/kgc.log" 2>&1 &
PIDS+=($!)
at "API server $API, Kong ${KURL[1]} and ${KURL[2]}, kgc debug on 127.0.0.1:$DEBUG_PORT"

say "kubectl apply: Gateway API CRDs, then a GatewayClass, Gateway and HTTPRoute"
k apply --server-side -f "$GWAPI/crds/" | sed 's/^/  /'
k wait --for=condition=Established crd --all --timeout=30s >/dev/null
cat >"$TMP/example.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: kong}
spec: {controllerName: konghq.com/kgc-gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web, namespace: demo}
spec:
  gatewayClassName: kong
  listeners: [{name: http, port: 8000, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: demo}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo, namespace: demo}
spec:
  parentRefs: [{name: web}]
  hostnames: [echo.example.com]
  rules: [{matches: [{path: {type: PathPrefix, value: /echo}}], backendRefs: [{name: echo, port: 80}]}]
YAML
k apply -f "$TMP/example.yaml" | sed 's/^/  /'
k -n demo wait --for=condition=Programmed gateway/web --timeout=30s >/dev/null || die "not Programmed; see kgc's log"
at "Gateway demo/web is Programmed"

say "Traffic: curl through the test Kong's proxy (its router, plugins and balancer; it echoes)"
# the proxy's port of Kong N (the last start's line)
proxy_url() { sed -n 's/^proxy listening on \(http:\/\/[^ ]*\)$/\1/p' "$TMP/kong$1.out" | tail -1; }
# curl_echo N: GET /echo/hello with Host echo.example.com:8000 through Kong N; prints one line.
# kgc scopes the route to the listener's port 8000 (the Kong proxy listen Kong reports). The demo
# reaches the proxy on another port, as a port-forward would, so the Host header carries the
# port the client asked for, which Kong 3.9 routes on (kong/router/fields.lua:129-139).
curl_echo() {
    local url
    url=$(proxy_url "$1")
    curl -s --max-time 5 -D "$TMP/h" -o "$TMP/b" -H 'Host: echo.example.com:8000' -H 'Kong-Debug: 1' \
        "$url/echo/hello" >/dev/null
    python3 - "$TMP/h" "$TMP/b" "$url" <<'PY'
import json, sys
h = dict(l.rstrip("\r\n").split(": ", 1) for l in open(sys.argv[1]) if ": " in l)
status = open(sys.argv[1]).readline().split()[1] if open(sys.argv[1]).readline() else "none"
try:
    d = json.load(open(sys.argv[2]))
except Exception:
    d = {}
k = d.get("kong") or {}
print("%s -> %s, route %s, upstream %s, target %s, upstream path %s%s" % (
    sys.argv[3], status, h.get("Kong-Route-Name", "-"), k.get("upstream"), k.get("target"),
    d.get("path"), "" if k else ", body: " + json.dumps(d.get("message", d))[:80]))
PY
}
# wait_target N: until Kong N's proxy echoes the route with a target (bounded: 10 s)
wait_target() {
    for _ in $(seq 1 100); do
        curl_echo "$1" | grep -q 'target [0-9]' && return 0
        sleep 0.1
    done
    return 1
}
k apply -f - <<'YAML' | sed 's/^/  /'
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: echo-1, namespace: demo, labels: {kubernetes.io/service-name: echo}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: [10.244.0.7]}]
YAML
wait_target 1 || { at "Kong 1's proxy did not reach the route with a target within 10 s"; DEMO_FAILED=1; }
for n in 1 2; do at "Kong $n: $(curl_echo $n)"; done

say "kubectl get gateway,httproute -o wide"
k -n demo get gateway,httproute -o wide | sed 's/^/  /'
say "kgc's cache dump: curl 127.0.0.1:$DEBUG_PORT/debug/cache/gateways/demo/web?pretty=1 (status part)"
curl -s "http://127.0.0.1:$DEBUG_PORT/debug/cache/gateways/demo/web" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); o=d[0] if isinstance(d,list) else d.get("gateways",[d])[0] if "gateways" in d else d; print(json.dumps(o.get("status",{}).get("conditions",[]),indent=2))' |
    sed 's/^/  /'
say "Kong's configuration (GET ${KURL[1]}/config): routes"
curl -s "${KURL[1]}/config" | python3 -c 'import json,sys; c=json.load(sys.stdin)["config"]
for s in c.get("services",[]):
    for r in s.get("routes",[]): print("  ", r["name"], r.get("hosts"), r.get("paths"))'

say "The Kong restart story"
status_line() {
    k -n demo get gateway web -o jsonpath='{range .status.conditions[*]}{.type}={.status}/{.reason} {end}| listener http: {.status.listeners[0].conditions[?(@.type=="Accepted")].reason}'
}
at "before: $(status_line)"
for n in 1 2; do kill -9 "${KPID[$n]}"; wait "${KPID[$n]}" 2>/dev/null; done
at "both Kong instances killed (SIGKILL): the whole data plane restarts"
sleep 1.5
at "Kong down: $(status_line)"
at "          (unchanged and true: the listeners come from kgc's LMDB listener cache)"
curl -s "http://127.0.0.1:$DEBUG_PORT/debug/listeners" | python3 -c 'import json,sys
d=json.load(sys.stdin)
for i in d.get("instances", d if isinstance(d,list) else []):
    print("            instance %s: source=%s" % (i.get("url"), i.get("source")))' 2>/dev/null
for n in 1 2; do start_kong $n "${KURL[$n]##*:}"; done
t_start=$(date +%s%3N)
at "both Kong instances restarted: they have no configuration (hash zeros)"
for n in 1 2; do
    for _ in $(seq 1 100); do
        curl -sf "${KURL[$n]}/config" 2>/dev/null | grep -q echo.example.com && break
        sleep 0.05
    done
    at "Kong $n has the configuration again, $(( $(date +%s%3N) - t_start )) ms after it started (pushed on its ready event)"
done
k -n demo wait --for=condition=Programmed gateway/web --timeout=30s >/dev/null
at "after: $(status_line)"
for n in 1 2; do
    wait_target $n || { at "Kong $n's proxy did not reach the route within 10 s"; DEMO_FAILED=1; }
    at "traffic through restarted Kong $n: $(curl_echo $n)"
done
if grep -q UnsupportedProtocol "$TMP/audit.jsonl"; then
    echo "  WARNING: a status with UnsupportedProtocol was written"
else
    at "the API server's audit log: $(wc -l <"$TMP/audit.jsonl") writes, none with UnsupportedProtocol"
fi
say "Done: stopping everything (kgc exits on SIGTERM)"
if [[ -n ${DEMO_FAILED:-} ]]; then
    say "Traffic did not flow through Kong as the status says: the demo FAILED"
    exit 1
fi

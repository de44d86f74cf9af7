#!/usr/bin/env bash
# e2e: kgc keeps TWO Kong instances in sync. Routes applied with real kubectl reach both
# instances' configuration; one instance is killed, a route changes, the instance restarts empty
# and gets the current configuration back at once; with one instance stopped (silent), a change
# still reaches the other at once and the stopped one catches up when it runs; a route Kong rejects (a filter whose plugin is
# not enabled on these Kongs) is reported on that route while the other routes keep flowing.
# With --invalid-backend-listen/--invalid-backend-target, the share of a rule's traffic that
# belongs to an invalid backendRef goes to kgc's endpoint, which answers 500; /metrics counts those
# requests and shows the push-duration histogram with real buckets. Restarted while both Kongs are
# down, kgc keeps the Gateway Programmed from the stored Gateway set of the last accepted config.
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
{
    base_yaml; gateway_yaml gw; web_service_yaml
    httproute_yaml one gw "" /one; httproute_yaml two gw "" /two
} >"$TMP/objects.yaml"
apply_objects "class, gateway, service and two routes applied"

HTTP_PORT=$(free_port)
INVALID_PORT=$(free_port)
"$BUILD/kgc" --kubeconfig "$KUBECONFIG" --kong-admin-url "${KURL[1]}" --kong-admin-url "${KURL[2]}" \
    --listener-cache-dir "$TMP/lc" --kong-probe-interval 500ms \
    --http-listen "127.0.0.1:$HTTP_PORT" --debug-listen "" \
    --invalid-backend-listen "127.0.0.1:$INVALID_PORT" \
    --invalid-backend-target "127.0.0.1:$INVALID_PORT" \
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
    has $n '/one[$/]' && has $n '/two[$/]' && ok "Kong $n holds both routes" || bad "Kong $n routes"
done

kill -9 "${KPID[2]}"; wait "${KPID[2]}" 2>/dev/null
k -n demo patch httproute two --type merge \
    -p '{"spec":{"rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/two-v2"}}],"backendRefs":[{"name":"web","port":80}]}]}}' \
    >/dev/null
has 1 '/two-v2[$/]' && ok "the change reaches the live instance" || bad "change on Kong 1"
start_kong 2 "$PORT2"
t0=$(date +%s%3N)
if has 2 '/two-v2[$/]'; then
    ok "the restarted instance got the current config $(( $(date +%s%3N) - t0 )) ms after it started"
else
    bad "restarted Kong 2 did not get the current config"
fi

# A silent instance (SIGSTOP: the kernel still accepts the connection, nobody reads or answers)
# must not delay the other: pushes run concurrently, each bounded by its own progress-based
# timeout. Before, pushes ran one after the other with a 30 s timeout each and Kong 1 waited.
kill -STOP "${KPID[2]}"
k -n demo patch httproute one --type merge \
    -p '{"spec":{"rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/one-silent"}}],"backendRefs":[{"name":"web","port":80}]}]}}' \
    >/dev/null
t0=$(date +%s%3N)
if has 1 '/one-silent[$/]'; then
    ok "with Kong 2 silent, the change reaches Kong 1 ($(( $(date +%s%3N) - t0 )) ms)"
else
    bad "a silent Kong 2 delayed Kong 1 (no change within 10 s)"
fi
kill -CONT "${KPID[2]}"
has 2 '/one-silent[$/]' && ok "Kong 2 catches up once it runs again" || bad "Kong 2 never caught up"

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
has 1 '/one-v2[$/]' && has 2 '/one-v2[$/]' && ok "other routes keep flowing to both instances" ||
    bad "other routes stopped flowing"
curl -sf "${KURL[1]}/config" | grep -q '/broken[$/]' && bad "the broken route reached Kong" ||
    ok "the broken route is kept out of Kong's configuration"
# Half of a rule's traffic belongs to a Service that does not exist: that half goes to kgc's
# invalid-backend endpoint (weight 5000 of 10000), which answers 500.
cat >"$TMP/split.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: api, namespace: demo}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-1, namespace: demo, labels: {kubernetes.io/service-name: api}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: [127.0.0.2]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: split, namespace: demo}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /split}}]
    backendRefs: [{name: api, port: 80, weight: 1}, {name: nowhere, port: 80, weight: 1}]
YAML
k apply -f "$TMP/split.yaml" >/dev/null
# N: the invalid-backend target's share (per ten thousand) of Kong N's split upstream; a target
# without a weight has Kong's default, 100 (kgc leaves out weights that are all equal)
fallback_target() {
    curl -sf "${KURL[$1]}/config" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
cfg = doc.get("config", doc)
if isinstance(cfg, str):
    cfg = json.loads(cfg)
for u in cfg.get("upstreams", []):
    if u.get("name") == "httproute.demo.split.0":
        ts = u.get("targets", [])
        total = sum(t.get("weight", 100) for t in ts)
        for t in ts:
            if t.get("target") == sys.argv[1] and total:
                print(round(t.get("weight", 100) * 10000 / total))
' "127.0.0.1:$INVALID_PORT" 2>/dev/null
}
w=
for _ in $(seq 1 100); do
    w=$(fallback_target 1)
    [[ -n $w ]] && break
    sleep 0.1
done
[[ $w == 5000 && $(fallback_target 2) == 5000 ]] &&
    ok "an invalid backend's half of the traffic goes to the invalid-backend target (share $w/10000)" ||
    bad "invalid-backend target in the split upstream: share '$w'/10000"
body=$(curl -s -o "$TMP/ib.body" -w '%{http_code}' -X POST -d x "http://127.0.0.1:$INVALID_PORT/split/x")
[[ $body == 500 ]] && grep -q 'no valid backend for this share of the route' "$TMP/ib.body" &&
    ok "the invalid-backend endpoint answers 500: $(cat "$TMP/ib.body")" ||
    bad "the invalid-backend endpoint answered $body"
metrics=$(curl -sf "http://127.0.0.1:$HTTP_PORT/metrics")
served=$(awk '$1 == "kgc_invalid_backend_requests_total" {print $2}' <<<"$metrics")
[[ $served -ge 1 ]] && ok "/metrics counts the 500s served: kgc_invalid_backend_requests_total $served" ||
    bad "kgc_invalid_backend_requests_total '$served'"
count=$(awk '$1 == "kgc_config_push_duration_seconds_count" {print $2}' <<<"$metrics")
le10=$(awk '$1 == "kgc_config_push_duration_seconds_bucket{le=\"10\"}" {print $2}' <<<"$metrics")
le1=$(awk '$1 == "kgc_config_push_duration_seconds_bucket{le=\"1\"}" {print $2}' <<<"$metrics")
nb=$(grep -c '^kgc_config_push_duration_seconds_bucket' <<<"$metrics")
[[ $count -ge 2 && $le10 == "$count" && $le1 -ge 1 && $nb -ge 14 ]] &&
    ok "push-duration histogram has $nb buckets: $le1 of $count pushes took <= 1 s" ||
    bad "push-duration histogram: count '$count', le=1 '$le1', le=10 '$le10', $nb buckets"
kill -TERM "$KGC_PID"; wait "$KGC_PID" && ok "kgc exits 0" || bad "kgc exit status"

# kgc restarts while both Kongs are down: the Gateway set of the last accepted configuration comes
# back from the listener cache, so the Gateway the data plane kept serving stays Programmed.
for n in 1 2; do kill -9 "${KPID[$n]}"; wait "${KPID[$n]}" 2>/dev/null; done
"$BUILD/kgc" --kubeconfig "$KUBECONFIG" --kong-admin-url "${KURL[1]}" --kong-admin-url "${KURL[2]}" \
    --listener-cache-dir "$TMP/lc" --kong-probe-interval 500ms \
    --http-listen "127.0.0.1:$HTTP_PORT" --debug-listen "" >"$TMP/kgc2.log" 2>&1 &
KGC_PID=$!
PIDS+=($KGC_PID)
reconciled=0
for _ in $(seq 1 100); do
    reconciled=$(curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" 2>/dev/null |
        awk 'index($1, "kgc_reconcile_total{controller=\"gateway\"") == 1 {t += $2} END {print t + 0}')
    [[ $reconciled -ge 1 ]] && break
    sleep 0.1
done
sleep 0.5
preason=$(k -n demo get gateway gw -o jsonpath='{.status.conditions[?(@.type=="Programmed")].reason}')
grep -q 'last accepted Gateway set restored' "$TMP/kgc2.log" && [[ $reconciled -ge 1 ]] &&
    [[ $preason == Programmed ]] &&
    ok "kgc restarted with every Kong down: the Gateway stays Programmed (stored accepted set)" ||
    bad "after a kgc restart with Kong down: reconciled $reconciled, Programmed reason '$preason'"
kill -TERM "$KGC_PID"; wait "$KGC_PID" && ok "kgc exits 0 again" || bad "kgc exit status (2)"
finish

#!/usr/bin/env bash
# e2e resilience: a rogue EndpointSlice (issue #17). kgc finds its Kong instances from the
# EndpointSlices of the admin Service (--kong-admin-service kong/kong-admin). The genuine slice is
# shaped as the EndpointSlice controller makes it (labels kubernetes.io/service-name and
# endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io, a controller
# ownerReference to the Service with its uid) and points at test Kong 1. A tenant then adds slices
# pointing at test Kong 2, the attacker's: one with only the service-name label, one with both
# labels copied but no ownerReference, one with a forged ownerReference (another uid). A Gateway
# with an HTTPS listener (a TLS Secret) is applied. Checked: Kong 1 receives the configuration and
# the Gateway is Programmed; Kong 2 receives no request at all (no probe, no push, so no private
# key); kgc warns about the ignored slices, rate-limited (at most 2 lines for 3 slices and their
# updates). Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
e2e_bound 90
start_apiserver
apply_crds

start_kong 1 0 --audit "$TMP/kong1.audit" || { bad "test Kong 1 starts"; finish; }
start_kong 2 0 --audit "$TMP/kong2.audit" || { bad "test Kong 2 starts"; finish; }
P1=${KONG_URL[1]##*:}
P2=${KONG_URL[2]##*:}

self_signed_cert demo.example.com || { bad "openssl makes a certificate"; finish; }
k create namespace kong >/dev/null && k create namespace demo >/dev/null && tls_secret demo tls ||
    bad "namespaces and TLS Secret created"
{
    cat <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: kong-admin, namespace: kong}
spec: {ports: [{name: admin, port: 8001}], selector: {app: kong}}
---
YAML
    gatewayclass_yaml
    gateway_listeners_yaml gw demo "$(http_listener)" "$(https_listener https demo.example.com tls)"
} >"$TMP/objects.yaml"
apply_objects "admin Service, GatewayClass, Gateway with an HTTPS listener applied" "apply objects"
UID_SVC=$(k -n kong get service kong-admin -o jsonpath='{.metadata.uid}')
[[ -n $UID_SVC ]] && ok "the admin Service has uid $UID_SVC" || bad "no Service uid"

slice() { # slice NAME PORT LABELS OWNERS
    cat <<YAML
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $1
  namespace: kong
  labels: {$3}
  ownerReferences: $4
addressType: IPv4
ports: [{name: admin, port: $2}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
---
YAML
}
SVC_LABEL='kubernetes.io/service-name: kong-admin'
MANAGED='endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io'
owner() { echo "[{apiVersion: v1, kind: Service, name: kong-admin, uid: $1, controller: true, blockOwnerDeletion: true}]"; }
slice kong-admin-genuine "$P1" "$SVC_LABEL, $MANAGED" "$(owner "$UID_SVC")" >"$TMP/genuine.yaml"
k apply -f "$TMP/genuine.yaml" >/dev/null && ok "the controller-shaped slice (Kong 1) applied" || bad "genuine slice"

kgc_ports
LC='' start_kgc_on 1 "" --kong-admin-service kong/kong-admin --kong-admin-port-name admin \
    --kong-probe-interval 200ms
pushed() { grep -q '"POST","path":"/config' "$1" 2>/dev/null || grep -q 'POST.*/config' "$1" 2>/dev/null; }
wait_until 30 0.2 pushed "$TMP/kong1.audit" && ok "Kong 1 (the genuine slice) receives the configuration" ||
    bad "Kong 1 got no push"

{
    slice rogue-label-only "$P2" "$SVC_LABEL" "[]"
    slice rogue-labels-copied "$P2" "$SVC_LABEL, $MANAGED" "[]"
    slice rogue-forged-owner "$P2" "$SVC_LABEL, $MANAGED" "$(owner 00000000-0000-0000-0000-00000000beef)"
} >"$TMP/rogue.yaml"
k apply -f "$TMP/rogue.yaml" >/dev/null && ok "3 rogue slices pointing at Kong 2 applied" || bad "rogue slices"
# A change that makes kgc push again, after the rogue slices are in its cache.
k -n demo annotate gateway gw touched=1 >/dev/null
k -n kong label endpointslice rogue-label-only again=1 >/dev/null
programmed() { [[ $(k -n demo get gateway gw -o jsonpath='{.status.conditions[?(@.type=="Programmed")].status}') == True ]]; }
wait_until 30 0.2 programmed && ok "the Gateway is Programmed" || bad "the Gateway is not Programmed"
# The probers run every 200 ms: 3 s is 15 probe rounds in which Kong 2 would have been reached.
sleep 3
n2=$(wc -l <"$TMP/kong2.audit" 2>/dev/null || echo 0)
[[ $n2 -eq 0 ]] && ok "Kong 2 (the rogue slices) received no request: no probe, no push, no private key" ||
    bad "Kong 2 received $n2 requests: $(head -3 "$TMP/kong2.audit")"
curl -sf -m 5 "http://127.0.0.1:$HP/metrics" | grep -q "url=\"http://127.0.0.1:$P2\"" &&
    bad "/metrics lists the rogue instance" || ok "/metrics lists no rogue instance"
warns=$(grep -c 'EndpointSlice ignored' "$TMP/kgc-1.log")
[[ $warns -ge 1 && $warns -le 2 ]] &&
    ok "kgc warns about ignored slices, rate-limited ($warns line(s)): $(grep 'EndpointSlice ignored' "$TMP/kgc-1.log" | grep -o 'reason="[^"]*"' | head -1)" ||
    bad "$warns 'EndpointSlice ignored' warnings"
stop_kgc 1 && ok "kgc exits 0" || bad "kgc exit status"
no_sanitizer_reports "$TMP"/kgc-*.log "$TMP"/kong1.err "$TMP"/kong2.err "$TMP"/api.err
finish

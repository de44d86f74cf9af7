#!/usr/bin/env bash
# e2e: the Gateway API conformance manifests (.deps/gateway-api/conformance, v1.6.1), applied
# unchanged (only {GATEWAY_CLASS_NAME} / {GATEWAY_CONTROLLER_NAME} substituted) with real kubectl
# to the test API server, with the real kgc binary and the test Kong. The status the upstream
# conformance tests expect of these manifests (kubernetes-sigs/gateway-api v1.6.1,
# conformance/tests/<manifest>.go; one group below per test), plus the base Gateways, is checked
# by polling `kubectl get -o json` (test/e2e/conformance/check.py; every 0.2 s, up to
# CONF_TIMEOUT s per group). Manifests that
# would interfere (ReferenceGrants that share names or widen each other's permissions, routes that
# change a Gateway's attachedRoutes) are applied one group at a time and deleted afterwards, as the
# conformance suite's own cleanup does.
# One line per expectation ("ok   - MANIFEST: ..." / "FAIL - MANIFEST: ... -- what was seen");
# last line "N passed, N failed"; exit status non-zero when anything failed.
source "$(dirname "$0")/lib.sh"
CONF=$GWAPI/conformance
CHECK=$PWD/test/e2e/conformance/check.py
CONF_TIMEOUT=${CONF_TIMEOUT:-20}
CONF_BUDGET=${CONF_BUDGET:-90}
CLASS=kgc-conformance
CONTROLLER=$KGC_CONTROLLER
INFRA=gateway-conformance-infra
WEB=gateway-conformance-web-backend
PROXY_IP=10.96.0.10
T0=$(now_ms)

finish() {
    echo "# run time $(( ($(now_ms) - T0) / 1000 )) s"
    echo "$passed passed, $failed failed"
    [[ $failed -eq 0 ]]
    exit
}

start_apiserver
start_kong 1 0 || { bad "test Kong starts"; finish; }
KONG=${KONG_URL[1]}

# manifest NAME: the conformance manifest with the class and controller names substituted.
manifest() { conformance_manifest "$1" "$CLASS"; }
# apply NAME / delete NAME: kubectl apply / delete of the manifest; a failure is a FAIL line.
apply() {
    if manifest "$1" | k apply -f - >"$TMP/apply.out" 2>&1; then
        echo "# applied $1"
    else
        bad "$1: kubectl apply: $(tr '\n' ' ' <"$TMP/apply.out")"
    fi
}
delete() {
    manifest "$1" | k delete --ignore-not-found --wait=true -f - >"$TMP/delete.out" 2>&1 ||
        bad "$1: kubectl delete: $(tr '\n' ' ' <"$TMP/delete.out")"
}
# check LABEL < lines "KIND NS/NAME | ASSERTION; ..." (syntax: check.py's docstring). One poll
# loop for the whole group; one ok/FAIL line per line of input.
check() {
    local out t=$CONF_TIMEOUT
    # Bounded run time: once the run is past CONF_BUDGET s, a group waits at most 3 s.
    (( $(date +%s%3N) - T0 > CONF_BUDGET * 1000 )) && t=3
    out=$(awk -v l="$1" 'NF && $1 !~ /^#/ { print l " | " $0 }' |
        KUBECTL=$KUBECTL KUBECTL_ARGS="--cache-dir $TMP/kcache" KGC_CONTROLLER=$CONTROLLER \
            python3 "$CHECK" --timeout "$t")
    echo "$out"
    passed=$((passed + $(grep -c '^ok' <<<"$out")))
    failed=$((failed + $(grep -c '^FAIL' <<<"$out")))
}

# --- set-up: CRDs, the GatewayClass, the Kong proxy Service, base manifests, Secrets, kgc -------
[[ -d $GWAPI/crds && -d $CONF ]] || { bad "Gateway API data: no $GWAPI/crds or $CONF (run make deps)"; finish; }
# crds/ and, from crds-more/, GRPCRoute's (kgc serves GRPCRoute; the other kinds there are
# other route kinds kgc does not reconcile).
k apply --server-side -f "$GWAPI/crds/" -f "$GWAPI/crds-more/gateway.networking.k8s.io_grpcroutes.yaml" >/dev/null &&
    k wait --for=condition=Established crd --all --timeout=30s >/dev/null ||
    { bad "Gateway API CRDs applied and established"; finish; }

# The Kong proxy: conformance listeners use 80/443; the test Kong listens on 8000/8443.
{ gatewayclass_yaml "$CLASS"; kong_proxy_service_yaml "$PROXY_IP" 8000 8443; } >"$TMP/setup.yaml"
k apply -f "$TMP/setup.yaml" >/dev/null || { bad "GatewayClass and Kong proxy Service"; finish; }
apply base-manifests

# The Secrets the conformance harness creates after the base manifests (self-signed, RSA 2048).
self_signed_cert example.org \
    -addext "subjectAltName=DNS:example.org,DNS:*.example.org,DNS:second-example.org,DNS:*.wildcard.org" ||
    { bad "openssl self-signed cert"; finish; }
tls_secret "$INFRA" tls-validity-checks-certificate && tls_secret "$WEB" certificate ||
    { bad "TLS Secrets created"; finish; }

# BackendTLSPolicy: its CRD (not in the standard install: crds-more) and what the conformance
# harness creates for it (conformance/utils/suite/suite.go:409-428 at v1.6.1): the CA ConfigMaps
# tls-checks-ca-certificate and mismatch-ca-certificate, and a client certificate Secret signed
# by the first CA.
k apply --server-side -f "$GWAPI/crds-more/gateway.networking.k8s.io_backendtlspolicies.yaml" \
    >/dev/null && k wait --for=condition=Established crd backendtlspolicies.gateway.networking.k8s.io \
    --timeout=30s >/dev/null || { bad "BackendTLSPolicy CRD applied and established"; finish; }
ca_configmap() { # NAME: a self-signed CA (basicConstraints CA:TRUE) in ConfigMap NAME's ca.crt
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
        -addext "basicConstraints=critical,CA:TRUE" -keyout "$TMP/$1.key" -out "$TMP/$1.crt" \
        >/dev/null 2>&1 &&
        k -n "$INFRA" create configmap "$1" --from-file=ca.crt="$TMP/$1.crt" >/dev/null
}
ca_configmap tls-checks-ca-certificate && ca_configmap mismatch-ca-certificate &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=client" -keyout "$TMP/client.key" \
        -out "$TMP/client.csr" >/dev/null 2>&1 &&
    openssl x509 -req -in "$TMP/client.csr" -CA "$TMP/tls-checks-ca-certificate.crt" \
        -CAkey "$TMP/tls-checks-ca-certificate.key" -CAcreateserial -days 2 \
        -out "$TMP/client.crt" >/dev/null 2>&1 &&
    k -n "$INFRA" create secret tls tls-checks-client-certificate --cert "$TMP/client.crt" \
        --key "$TMP/client.key" >/dev/null || { bad "CA ConfigMaps and client certificate"; finish; }

start_kgc_on main "$KONG" --kong-probe-interval 500ms --publish-service kong/kong-proxy
KGC_LOG=$TMP/kgc-main.log

# --- base-manifests: the class and the shared Gateways -------------------------------------------
# lok LISTENER...: a listener that is fine (accepted, refs resolved, programmed, HTTPRoute and
# GRPCRoute: what HTTP and HTTPS listeners carry).
HK=HTTPRoute,GRPCRoute
lok() {
    local l
    for l; do
        printf 'L[%s].Accepted=True/Accepted; L[%s].ResolvedRefs=True/ResolvedRefs; ' "$l" "$l"
        printf 'L[%s].Programmed=True/Programmed; L[%s].kinds=%s; ' "$l" "$l" "$HK"
    done
}
# pok PARENT...: the route's parents entry for that Gateway is Accepted with its refs resolved.
pok() {
    local p
    for p; do printf 'P[%s].Accepted=True/Accepted; P[%s].ResolvedRefs=True/ResolvedRefs; ' "$p" "$p"; done
}
GW_OK="Accepted=True/Accepted; Programmed=True/Programmed; addresses=$PROXY_IP"
HTTPS_LS="https https-with-hostname https-with-wildcard-hostname https-with-hostname-matching-wildcard"
check base-manifests <<EOF
gatewayclass $CLASS | Accepted=True/Accepted
gateway $INFRA/same-namespace | $GW_OK; listeners=http; $(lok http) L[http].attached=0
gateway $INFRA/all-namespaces | $GW_OK; listeners=http; $(lok http) L[http].attached=0
gateway $INFRA/backend-namespaces | $GW_OK; listeners=http; $(lok http) L[http].attached=0
gateway $INFRA/same-namespace-with-https-listener | $GW_OK; listeners=${HTTPS_LS// /,}; $(lok $HTTPS_LS) $(for l in $HTTPS_LS; do printf 'L[%s].Conflicted=False/NoConflicts; L[%s].attached=0; ' $l $l; done)
EOF

# The checker is not vacuous: a false expectation must come out FAIL.
selftest=$(echo "gateway $INFRA/same-namespace | L[http].attached=99" |
    awk '{ print "self-test | " $0 }' | KUBECTL=$KUBECTL KUBECTL_ARGS="--cache-dir $TMP/kcache" \
    python3 "$CHECK" --timeout 0.2)
[[ $selftest == FAIL*"want 99, got 0"* ]] && ok "check.py self-test: a false expectation is reported FAIL" ||
    bad "check.py self-test: '$selftest'"

# --- gatewayclass-observed-generation-bump --------------------------------------------------------
apply gatewayclass-observed-generation-bump
check gatewayclass-observed-generation-bump <<'EOF'
gatewayclass gatewayclass-observed-generation-bump | generation=1; Accepted=True/Accepted
EOF
k patch gatewayclass gatewayclass-observed-generation-bump --type merge \
    -p '{"spec":{"description":"new"}}' >/dev/null
check "gatewayclass-observed-generation-bump (description edited)" <<'EOF'
gatewayclass gatewayclass-observed-generation-bump | generation=2; Accepted=True/Accepted
EOF
delete gatewayclass-observed-generation-bump

# --- gateway-observed-generation-bump -------------------------------------------------------------
apply gateway-observed-generation-bump
check gateway-observed-generation-bump <<EOF
gateway $INFRA/gateway-observed-generation-bump | generation=1; Accepted=True/Accepted; Programmed=True/Programmed; listeners=http; L[http].Accepted=True/Accepted; L[http].Programmed=True/Programmed
EOF
# As the conformance test: add listener "alternate" (foo.com, port 80, HTTP, from All).
k -n "$INFRA" patch gateway gateway-observed-generation-bump --type merge -p '{"spec":{"listeners":[
  {"name":"http","hostname":"bar.com","port":80,"protocol":"HTTP","allowedRoutes":{"namespaces":{"from":"All"}}},
  {"name":"alternate","hostname":"foo.com","port":80,"protocol":"HTTP","allowedRoutes":{"namespaces":{"from":"All"}}}]}}' \
    >/dev/null
check "gateway-observed-generation-bump (listener added)" <<EOF
gateway $INFRA/gateway-observed-generation-bump | generation=2; Accepted=True/Accepted; Programmed=True/Programmed; listeners=http,alternate; L[alternate].Accepted=True/Accepted; L[alternate].Programmed=True/Programmed; L[alternate].kinds=$HK
EOF
delete gateway-observed-generation-bump

# --- invalid Gateways: route kinds, TLS, protocol, parametersRef (distinct names: together) -------
for m in gateway-invalid-route-kind gateway-invalid-tls-configuration \
    gateway-invalid-listeners-unsupported-protocol gateway-invalid-parameters-ref; do
    apply $m
done
check gateway-invalid-route-kind <<EOF
gateway $INFRA/gateway-only-invalid-route-kind | L[http].kinds=; L[http].ResolvedRefs=False/InvalidRouteKinds; L[http].attached=0
gateway $INFRA/gateway-supported-and-invalid-route-kind | L[http].kinds=HTTPRoute; L[http].ResolvedRefs=False/InvalidRouteKinds; L[http].attached=0
EOF
TLS_BAD='L[https].kinds=HTTPRoute,GRPCRoute; L[https].ResolvedRefs=False/InvalidCertificateRef; L[https].Programmed=False/Invalid; L[https].attached=0; Programmed=False/Invalid'
check gateway-invalid-tls-configuration <<EOF
gateway $INFRA/gateway-certificate-nonexistent-secret | $TLS_BAD
gateway $INFRA/gateway-certificate-unsupported-group | $TLS_BAD
gateway $INFRA/gateway-certificate-unsupported-kind | $TLS_BAD
gateway $INFRA/gateway-certificate-malformed-secret | $TLS_BAD
EOF
check gateway-invalid-listeners-unsupported-protocol <<EOF
gateway $INFRA/gateway-only-unsupported-protocols | Accepted=False/ListenersNotValid; L[invalid].Accepted=False/UnsupportedProtocol; L[invalid].kinds=; L[invalid].attached=0
gateway $INFRA/gateway-supported-and-unsupported-protocols | Accepted=True/ListenersNotValid; L[http].Accepted=True/Accepted; L[http].kinds=$HK; L[http].attached=0; L[invalid].Accepted=False/UnsupportedProtocol; L[invalid].kinds=; L[invalid].attached=0
EOF
check gateway-invalid-parameters-ref <<EOF
gateway $INFRA/gateway-invalid-parameters-ref | Accepted=False/InvalidParameters
EOF
for m in gateway-invalid-route-kind gateway-invalid-tls-configuration \
    gateway-invalid-listeners-unsupported-protocol gateway-invalid-parameters-ref; do
    delete $m
done

# --- Secret ReferenceGrants: one at a time (their grants would cover each other) ----------------
apply gateway-secret-missing-reference-grant
check gateway-secret-missing-reference-grant <<EOF
gateway $INFRA/gateway-secret-missing-reference-grant | L[https].kinds=$HK; L[https].ResolvedRefs=False/RefNotPermitted; L[https].Programmed=False/Invalid
EOF
delete gateway-secret-missing-reference-grant
apply gateway-secret-invalid-reference-grant
check gateway-secret-invalid-reference-grant <<EOF
gateway $INFRA/gateway-secret-invalid-reference-grant | L[https].kinds=$HK; L[https].ResolvedRefs=False/RefNotPermitted; L[https].Programmed=False/Invalid
EOF
delete gateway-secret-invalid-reference-grant
for m in gateway-secret-reference-grant-specific gateway-secret-reference-grant-all-in-namespace; do
    apply $m
    check $m <<EOF
gateway $INFRA/$m | Accepted=True/Accepted; Programmed=True/Programmed; L[https].kinds=$HK; L[https].Accepted=True/Accepted; L[https].ResolvedRefs=True/ResolvedRefs; L[https].Programmed=True/Programmed
EOF
    delete $m
done

# --- HTTPRoutes refused by their parent: the Gateway must count 0 routes -------------------------
apply httproute-invalid-cross-namespace-parent-ref
apply httproute-invalid-parentref-not-matching-section-name
check httproute-invalid-cross-namespace-parent-ref <<EOF
httproute $WEB/invalid-cross-namespace-parent-ref | parents=1; P[$INFRA/same-namespace].Accepted=False/NotAllowedByListeners; P[$INFRA/same-namespace].ResolvedRefs=True/ResolvedRefs
EOF
check httproute-invalid-parentref-not-matching-section-name <<EOF
httproute $INFRA/httproute-listener-not-matching-section-name | parents=1; P[$INFRA/same-namespace/http1].Accepted=False/NoMatchingParent
EOF
sleep 0.5 # the Gateway's count follows the routes' reconcile
check "httproute-invalid-cross-namespace-parent-ref + not-matching-section-name (Gateway)" <<EOF
gateway $INFRA/same-namespace | L[http].attached=0
EOF
delete httproute-invalid-cross-namespace-parent-ref
delete httproute-invalid-parentref-not-matching-section-name

# --- httproute-simple-same-namespace --------------------------------------------------------------
apply httproute-simple-same-namespace
check httproute-simple-same-namespace <<EOF
httproute $INFRA/gateway-conformance-infra-test | parents=1; $(pok same-namespace)
gateway $INFRA/same-namespace | L[http].attached=1
EOF
delete httproute-simple-same-namespace

# --- routes with bad backends: still Accepted, ResolvedRefs False (no grants exist now) ----------
for m in httproute-invalid-nonexistent-backendref httproute-invalid-backendref-unknown-kind \
    httproute-invalid-cross-namespace-backend-ref; do
    apply $m
done
check httproute-invalid-nonexistent-backendref <<EOF
httproute $INFRA/invalid-nonexistent-backend-ref | parents=1; P[same-namespace].Accepted=True/Accepted; P[same-namespace].ResolvedRefs=False/BackendNotFound
EOF
check httproute-invalid-backendref-unknown-kind <<EOF
httproute $INFRA/invalid-backend-ref-unknown-kind | parents=1; P[same-namespace].Accepted=True/Accepted; P[same-namespace].ResolvedRefs=False/InvalidKind
EOF
check httproute-invalid-cross-namespace-backend-ref <<EOF
httproute $INFRA/invalid-cross-namespace-backend-ref | parents=1; P[same-namespace].Accepted=True/Accepted; P[same-namespace].ResolvedRefs=False/RefNotPermitted
gateway $INFRA/same-namespace | L[http].attached=3
EOF
for m in httproute-invalid-nonexistent-backendref httproute-invalid-backendref-unknown-kind \
    httproute-invalid-cross-namespace-backend-ref; do
    delete $m
done

# --- httproute-invalid-reference-grant (grants that do not cover the backend) --------------------
apply httproute-invalid-reference-grant
check httproute-invalid-reference-grant <<EOF
httproute $INFRA/reference-grant | parents=1; P[same-namespace].Accepted=True/Accepted; P[same-namespace].ResolvedRefs=False/RefNotPermitted
EOF
delete httproute-invalid-reference-grant

# --- httproute-reference-grant: permitted, then the grant is deleted -----------------------------
apply httproute-reference-grant
check httproute-reference-grant <<EOF
httproute $INFRA/reference-grant | parents=1; $(pok same-namespace)
EOF
k -n "$WEB" delete referencegrant reference-grant --wait=true >/dev/null ||
    bad "httproute-reference-grant: delete the ReferenceGrant"
check "httproute-reference-grant (grant deleted)" <<EOF
httproute $INFRA/reference-grant | parents=1; P[same-namespace].Accepted=True/Accepted; P[same-namespace].ResolvedRefs=False/RefNotPermitted
EOF
apply httproute-reference-grant
check "httproute-reference-grant (grant re-created)" <<EOF
httproute $INFRA/reference-grant | parents=1; $(pok same-namespace)
EOF
delete httproute-reference-grant

# --- httproute-partially-invalid-via-invalid-reference-grant -------------------------------------
apply httproute-partially-invalid-via-invalid-reference-grant
check httproute-partially-invalid-via-invalid-reference-grant <<EOF
httproute $INFRA/invalid-reference-grant | parents=1; P[same-namespace].Accepted=True/Accepted; P[same-namespace].ResolvedRefs=False/RefNotPermitted
EOF
delete httproute-partially-invalid-via-invalid-reference-grant

# --- httproute-observed-generation-bump -----------------------------------------------------------
apply httproute-observed-generation-bump
check httproute-observed-generation-bump <<EOF
httproute $INFRA/observed-generation-bump | generation=1; parents=1; $(pok same-namespace)
EOF
k -n "$INFRA" patch httproute observed-generation-bump --type merge \
    -p '{"spec":{"rules":[{"backendRefs":[{"name":"infra-backend-v2","port":8080}]}]}}' >/dev/null
check "httproute-observed-generation-bump (rules edited)" <<EOF
httproute $INFRA/observed-generation-bump | generation=2; parents=1; $(pok same-namespace)
EOF
delete httproute-observed-generation-bump

# --- httproute-multiple-gateways ------------------------------------------------------------------
apply httproute-multiple-gateways
check httproute-multiple-gateways <<EOF
httproute $INFRA/multiple-gateways-shared-route | parents=2; $(pok same-namespace all-namespaces)
httproute $INFRA/same-namespace-dedicated-route | parents=1; $(pok same-namespace)
httproute $INFRA/all-namespaces-dedicated-route | parents=1; $(pok all-namespaces)
gateway $INFRA/same-namespace | L[http].attached=2
gateway $INFRA/all-namespaces | L[http].attached=2
EOF
delete httproute-multiple-gateways

# --- httproute-https-listener ---------------------------------------------------------------------
apply httproute-https-listener
G=same-namespace-with-https-listener
check httproute-https-listener <<EOF
httproute $INFRA/httproute-https-test | parents=1; $(pok $G)
httproute $INFRA/httproute-https-test-no-hostname | parents=1; $(pok $INFRA/$G/https-with-hostname)
gateway $INFRA/$G | L[https].attached=1; L[https-with-hostname].attached=1; L[https-with-wildcard-hostname].attached=0; L[https-with-hostname-matching-wildcard].attached=0
EOF
delete httproute-https-listener

# --- httproute-cross-namespace --------------------------------------------------------------------
apply httproute-cross-namespace
check httproute-cross-namespace <<EOF
httproute $WEB/cross-namespace | parents=1; $(pok $INFRA/backend-namespaces)
gateway $INFRA/backend-namespaces | L[http].attached=1
EOF
delete httproute-cross-namespace

# --- GRPCRoute (conformance/tests/grpcroute-*.go: GatewayAndRoutesMustBeAccepted) ----------------
# One manifest at a time, as the suite runs them: each route attaches to same-namespace's http
# listener, so the Gateway counts exactly it.
for m in grpcroute-exact-method-matching:exact-matching grpcroute-header-matching:grpc-header-matching \
    grpcroute-named-rule:grpc-named-rules grpcroute-weight:weighted-backends; do
    apply ${m%%:*}
    check ${m%%:*} <<EOF
grpcroute $INFRA/${m#*:} | parents=1; $(pok same-namespace)
gateway $INFRA/same-namespace | L[http].attached=1; L[http].kinds=$HK
EOF
    delete ${m%%:*}
done
apply grpcroute-listener-hostname-matching
G=grpcroute-listener-hostname-matching
check grpcroute-listener-hostname-matching <<EOF
gateway $INFRA/$G | $GW_OK; listeners=listener-1,listener-2,listener-3,listener-4; $(lok listener-1 listener-2 listener-3 listener-4) L[listener-1].attached=1; L[listener-2].attached=1; L[listener-3].attached=1; L[listener-4].attached=1
grpcroute $INFRA/backend-v1 | parents=1; $(pok $INFRA/$G/listener-1)
grpcroute $INFRA/backend-v2 | parents=1; $(pok $INFRA/$G/listener-2)
grpcroute $INFRA/backend-v3 | parents=2; $(pok $INFRA/$G/listener-3 $INFRA/$G/listener-4)
EOF
delete grpcroute-listener-hostname-matching

# --- an HTTPRoute and a GRPCRoute sharing a hostname on one listener (kgc's own group) -----------
# GRPCRoute's godoc (apis/v1/grpcroute_types.go, spec.hostnames): exactly one of the two is
# accepted, the older one (then the first by namespace/name); no upstream test has a manifest for
# it. The HTTPRoute is created a second before the GRPCRoute (creationTimestamp has seconds).
apply httproute-simple-same-namespace
sleep 1.1
apply grpcroute-exact-method-matching
check "httproute + grpcroute on one hostname: the older HTTPRoute wins" <<EOF
httproute $INFRA/gateway-conformance-infra-test | parents=1; $(pok same-namespace)
grpcroute $INFRA/exact-matching | parents=1; P[same-namespace].Accepted=False/NotAllowedByListeners; P[same-namespace].ResolvedRefs=True/ResolvedRefs
gateway $INFRA/same-namespace | L[http].attached=1
EOF
delete httproute-simple-same-namespace
check "httproute + grpcroute: the HTTPRoute deleted, the GRPCRoute is accepted" <<EOF
grpcroute $INFRA/exact-matching | parents=1; $(pok same-namespace)
gateway $INFRA/same-namespace | L[http].attached=1
EOF
delete grpcroute-exact-method-matching

# --- BackendTLSPolicy (v1.6.1 conformance/tests/backendtlspolicy*.go) ----------------------------
# A[gw]: the policy's status.ancestors entry for Gateway gw; the ancestors are the Gateways whose
# routes use a targeted Service.
aok() { # aok GATEWAY...: Accepted and ResolvedRefs True in the policy's entry for each
    local g
    for g; do printf 'A[%s].Accepted=True/Accepted; A[%s].ResolvedRefs=True/ResolvedRefs; ' "$g" "$g"; done
}
G=same-namespace-with-https-listener
apply backendtlspolicy
check backendtlspolicy <<EOF
httproute $INFRA/backendtlspolicy | parents=1; $(pok same-namespace)
httproute $INFRA/backendtlspolicy-reencrypt | parents=1; $(pok $G)
backendtlspolicy $INFRA/normative-test | ancestors=2; $(aok same-namespace $G)
backendtlspolicy $INFRA/host-mismatch | ancestors=1; $(aok same-namespace)
backendtlspolicy $INFRA/cert-mismatch | ancestors=1; $(aok same-namespace)
backendtlspolicy $INFRA/reconcile-test | ancestors=1; $(aok same-namespace)
EOF
# As the test's "Changing the content of a ConfigMap ..." step: point reconcile-test at a
# ConfigMap that does not exist yet, create it, empty its ca.crt, restore it.
BAD_CA='A[same-namespace].Accepted=False/NoValidCACertificate; A[same-namespace].ResolvedRefs=False/InvalidCACertificateRef'
k -n "$INFRA" patch backendtlspolicy reconcile-test --type merge -p '{"spec":{"validation":{"caCertificateRefs":[{"group":"","kind":"ConfigMap","name":"tls-checks-ca-certificate-reconcile-test"}]}}}' >/dev/null ||
    bad "backendtlspolicy: patch reconcile-test"
check "backendtlspolicy (reconcile-test: ConfigMap missing)" <<EOF
backendtlspolicy $INFRA/reconcile-test | generation=2; $BAD_CA
EOF
k -n "$INFRA" create configmap tls-checks-ca-certificate-reconcile-test \
    --from-file=ca.crt="$TMP/tls-checks-ca-certificate.crt" >/dev/null ||
    bad "backendtlspolicy: create the reconcile-test ConfigMap"
check "backendtlspolicy (reconcile-test: ConfigMap created)" <<EOF
backendtlspolicy $INFRA/reconcile-test | $(aok same-namespace)
EOF
k -n "$INFRA" patch configmap tls-checks-ca-certificate-reconcile-test --type merge \
    -p '{"data":{"ca.crt":""}}' >/dev/null || bad "backendtlspolicy: empty ca.crt"
check "backendtlspolicy (reconcile-test: ca.crt emptied)" <<EOF
backendtlspolicy $INFRA/reconcile-test | $BAD_CA
EOF
k -n "$INFRA" patch configmap tls-checks-ca-certificate-reconcile-test --type merge \
    -p "$(python3 -c 'import json,sys; print(json.dumps({"data": {"ca.crt": open(sys.argv[1]).read()}}))' \
        "$TMP/tls-checks-ca-certificate.crt")" >/dev/null || bad "backendtlspolicy: restore ca.crt"
check "backendtlspolicy (reconcile-test: ca.crt restored)" <<EOF
backendtlspolicy $INFRA/reconcile-test | $(aok same-namespace)
EOF
# What the test Kong accepted (its schema checks of services, upstreams, ca_certificates):
# kong_tls SERVICE HOSTNAME CA-FILE [CLIENT-CRT-FILE] polls GET /config until the service of that
# rule is https with tls_verify, names the ca_certificates entity of the CA, its upstream sends
# HOSTNAME as host_header (the SNI), its routes do not preserve the client's Host and (with
# CLIENT-CRT-FILE) its client_certificate is the certificate entity of that certificate.
kong_tls() {
    local svc=$1 host=$2 crt=$3 client=${4:-} i out
    for i in $(seq 1 50); do
        out=$(curl -s "$KONG/config" | python3 -c '
import json, sys
svc, host, crt = sys.argv[1], sys.argv[2], open(sys.argv[3]).read().strip()
client = open(sys.argv[4]).read().strip() if sys.argv[4] else None
d = json.load(sys.stdin).get("config") or {}
s = next((x for x in d.get("services", []) if x.get("name") == svc), None)
u = next((x for x in d.get("upstreams", []) if x.get("name") == svc), None)
cas = {c["id"]: c["cert"].strip() for c in d.get("ca_certificates", [])}
errs = []
if s is None or u is None:
    errs.append("service or upstream %s missing" % svc)
else:
    if s.get("protocol") != "https" or s.get("tls_verify") is not True:
        errs.append("protocol %s tls_verify %s" % (s.get("protocol"), s.get("tls_verify")))
    ids = s.get("ca_certificates") or []
    if not ids or any(i not in cas for i in ids) or crt not in [cas[i] for i in ids if i in cas]:
        errs.append("ca_certificates %s do not name the CA of the ConfigMap" % ids)
    if u.get("host_header") != host:
        errs.append("upstream host_header %s" % u.get("host_header"))
    if any(r.get("preserve_host") is not False for r in s.get("routes", [])):
        errs.append("a route preserves the Host")
    if client:
        cc = (s.get("client_certificate") or {}).get("id")
        certs = {c.get("id"): c["cert"].strip() for c in d.get("certificates", []) if c.get("id")}
        if certs.get(cc) != client:
            errs.append("client_certificate %s is not the Gateway client certificate" % cc)
print("; ".join(errs))
' "$svc" "$host" "$crt" "$client" 2>&1)
        [[ -z $out ]] && { ok "Kong: $svc is https, verified against $host with the CA of $(basename "$crt")${client:+, presenting $(basename "$client")}"; return; }
        sleep 0.2
    done
    bad "Kong: $svc: $out"
}
# The test API server runs no pods: one ready endpoint per backend Service, as EndpointSlices.
for s in backendtlspolicy-test backendtlspolicy-cert-mismatch-test; do
    k apply -f - >/dev/null <<EOF || bad "EndpointSlice for $s"
{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"$s-1",
 "namespace":"$INFRA","labels":{"kubernetes.io/service-name":"$s"}},"addressType":"IPv4",
 "ports":[{"name":"btls","port":8443,"protocol":"TCP"}],
 "endpoints":[{"addresses":["10.99.0.1"],"conditions":{"ready":true}}]}
EOF
done
kong_tls "httproute.$INFRA.backendtlspolicy.0" abc.example.com "$TMP/tls-checks-ca-certificate.crt"
kong_tls "httproute.$INFRA.backendtlspolicy.2" abc.example.com "$TMP/mismatch-ca-certificate.crt"
k -n "$INFRA" delete configmap tls-checks-ca-certificate-reconcile-test >/dev/null
delete backendtlspolicy

apply backendtlspolicy-conflict-resolution
CONFLICTED='A[same-namespace].Accepted=False/Conflicted'
check backendtlspolicy-conflict-resolution <<EOF
httproute $INFRA/backendtlspolicy-conflict-resolution | parents=1; $(pok same-namespace)
backendtlspolicy $INFRA/conflicted-without-section-name-1 | $(aok same-namespace)
backendtlspolicy $INFRA/conflicted-without-section-name-2 | $CONFLICTED
backendtlspolicy $INFRA/conflicted-with-section-name-1 | $(aok same-namespace)
backendtlspolicy $INFRA/conflicted-with-section-name-2 | $CONFLICTED
backendtlspolicy $INFRA/not-conflicted-with-section-name | $(aok same-namespace)
backendtlspolicy $INFRA/not-conflicted-without-section-name | $(aok same-namespace)
EOF
delete backendtlspolicy-conflict-resolution

apply backendtlspolicy-invalid-ca-certificate-ref
check backendtlspolicy-invalid-ca-certificate-ref <<EOF
httproute $INFRA/backendtlspolicy-invalid-ca-certificate-ref | parents=1; P[same-namespace].Accepted=True/Accepted
backendtlspolicy $INFRA/nonexistent-ca-certificate-ref | $BAD_CA
backendtlspolicy $INFRA/malformed-ca-certificate-ref | $BAD_CA
EOF
delete backendtlspolicy-invalid-ca-certificate-ref

apply backendtlspolicy-invalid-kind
check backendtlspolicy-invalid-kind <<EOF
httproute $INFRA/backendtlspolicy-invalid-kind-test | parents=1; P[same-namespace].Accepted=True/Accepted
backendtlspolicy $INFRA/invalid-kind | A[same-namespace].Accepted=False/NoValidCACertificate; A[same-namespace].ResolvedRefs=False/InvalidKind
EOF
delete backendtlspolicy-invalid-kind

apply backendtlspolicy-observed-generation-bump
check backendtlspolicy-observed-generation-bump <<EOF
backendtlspolicy $INFRA/observed-generation-bump | generation=1; $(aok same-namespace)
EOF
k -n "$INFRA" patch backendtlspolicy observed-generation-bump --type merge \
    -p '{"spec":{"validation":{"hostname":"foo.example.com"}}}' >/dev/null ||
    bad "backendtlspolicy-observed-generation-bump: patch"
check "backendtlspolicy-observed-generation-bump (hostname edited)" <<EOF
backendtlspolicy $INFRA/observed-generation-bump | generation=2; A[same-namespace].Accepted=True
EOF
delete backendtlspolicy-observed-generation-bump

# SANs: every policy Accepted, as the test expects; Kong checks the backend certificate against
# validation.hostname only, so a policy with subjectAltNames Kong cannot check says so
# (konghq.com/KongLimitation) and its backend is refused rather than reached unverified.
apply backendtlspolicy-san
LIMIT='A[same-namespace].konghq.com/KongLimitation=True/KongLimitation'
check backendtlspolicy-san <<EOF
httproute $INFRA/backendtlspolicy-san-test | parents=1; $(pok same-namespace)
backendtlspolicy $INFRA/san-dns | $(aok same-namespace)
backendtlspolicy $INFRA/san-dns-mismatch | $(aok same-namespace) $LIMIT
backendtlspolicy $INFRA/san-uri | $(aok same-namespace) $LIMIT
backendtlspolicy $INFRA/san-uri-mismatch | $(aok same-namespace) $LIMIT
backendtlspolicy $INFRA/multiple-sans | $(aok same-namespace) $LIMIT
backendtlspolicy $INFRA/multiple-mismatch-sans | $(aok same-namespace) $LIMIT
EOF
delete backendtlspolicy-san

# --- Gateway spec.tls.backend.clientCertificateRef (gateway-invalid-tls-backend-configuration.go,
# gateway-tls-backend-client-certificate.go) ------------------------------------------------------
apply gateway-invalid-tls-backend-configuration
check gateway-invalid-tls-backend-configuration <<EOF
gateway $INFRA/gateway-client-certificate-nonexistent-secret | Accepted=True/Accepted; ResolvedRefs=False/InvalidClientCertificateRef
gateway $INFRA/gateway-client-certificate-unsupported-group | Accepted=True/Accepted; ResolvedRefs=False/InvalidClientCertificateRef
gateway $INFRA/gateway-client-certificate-unsupported-kind | Accepted=True/Accepted; ResolvedRefs=False/InvalidClientCertificateRef
gateway $INFRA/gateway-client-certificate-malformed-secret | Accepted=True/Accepted; ResolvedRefs=False/InvalidClientCertificateRef
gateway $INFRA/gateway-client-certificate-missing-reference-grant | Accepted=True/Accepted; ResolvedRefs=False/RefNotPermitted
EOF
delete gateway-invalid-tls-backend-configuration
apply gateway-tls-backend-client-certificate
G=gateway-tls-backend-client-certificate
check gateway-tls-backend-client-certificate <<EOF
gateway $INFRA/$G | $GW_OK; ResolvedRefs=True/ResolvedRefs
httproute $INFRA/$G | parents=1; $(pok $G)
backendtlspolicy $INFRA/$G-test | A[$G].Accepted=True/Accepted
EOF
k apply -f - >/dev/null <<EOF || bad "EndpointSlice for tls-backend-with-client-cert-validation"
{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"cc-1",
 "namespace":"$INFRA","labels":{"kubernetes.io/service-name":"tls-backend-with-client-cert-validation"}},
 "addressType":"IPv4","ports":[{"name":"https","port":8443,"protocol":"TCP"}],
 "endpoints":[{"addresses":["10.99.0.2"],"conditions":{"ready":true}}]}
EOF
kong_tls "httproute.$INFRA.$G.0" abc.example.com "$TMP/tls-checks-ca-certificate.crt" "$TMP/client.crt"
delete gateway-tls-backend-client-certificate

# --- every route deleted: the shared Gateways count 0 again --------------------------------------
check "all routes deleted" <<EOF
gateway $INFRA/same-namespace | L[http].attached=0
gateway $INFRA/all-namespaces | L[http].attached=0
gateway $INFRA/backend-namespaces | L[http].attached=0
gateway $INFRA/same-namespace-with-https-listener | L[https].attached=0; L[https-with-hostname].attached=0
EOF

# === lset: ListenerSet (v1.6.1 conformance/tests/listenerset-*.go) ===============================
# Its CRD is in crds-more (optional for kgc: picked up within its 5 s re-list once installed). One
# group per test, applied alone and deleted after (their Gateways and sets would meet otherwise).
k apply --server-side -f "$GWAPI/crds-more/gateway.networking.k8s.io_listenersets.yaml" >/dev/null &&
    k wait --for=condition=Established crd listenersets.gateway.networking.k8s.io --timeout=30s \
        >/dev/null || bad "ListenerSet CRD applied and established"
# lsok LISTENER...: a ListenerSet listener that is fine (what generateAcceptedListenerConditions
# and the HTTP listeners' supportedKinds expect).
lsok() {
    local l
    for l; do
        printf 'L[%s].Accepted=True; L[%s].ResolvedRefs=True; L[%s].Programmed=True; ' "$l" "$l" "$l"
        printf 'L[%s].Conflicted=False/NoConflicts; L[%s].kinds=%s; ' "$l" "$l" "$HK"
    done
}
# lsconf LISTENER REASON: a listener that lost to one of higher precedence
lsconf() {
    printf 'L[%s].Accepted=False/%s; L[%s].Programmed=False/%s; L[%s].Conflicted=True/%s; ' \
        "$1" "$2" "$1" "$2" "$1" "$2"
}
LS_OK='Accepted=True/Accepted; Programmed=True/Programmed'
LS_NOT='Accepted=False/NotAllowed; Programmed=False/NotAllowed'
LS_BAD='Accepted=False/ListenersNotValid; Programmed=False/ListenersNotValid'
apply listenerset-allowed-namespace-none
check listenerset-allowed-namespace-none <<EOF
gateway $INFRA/gateway-does-not-allow-listenerset | Accepted=True; attachedListenerSets=0
listenerset $INFRA/listenerset-not-allowed | $LS_NOT
EOF
delete listenerset-allowed-namespace-none
apply listenerset-default-not-allowed
check listenerset-default-not-allowed <<EOF
gateway $INFRA/gateway-default-does-not-allow-listenerset | Accepted=True; attachedListenerSets=0
listenerset $INFRA/listenerset-default-not-allowed | $LS_NOT
EOF
delete listenerset-default-not-allowed
apply listenerset-allowed-namespace-same
check listenerset-allowed-namespace-same <<EOF
gateway $INFRA/gateway-allows-listenerset-in-same-namespace | Accepted=True; attachedListenerSets=1
listenerset $INFRA/listenerset-in-same-namespace | $LS_OK; $(lsok listenerset-in-same-namespace-listener)
listenerset gateway-api-listenerset-not-allowed-ns/listenerset-in-different-namespace | $LS_NOT
EOF
delete listenerset-allowed-namespace-same
apply listenerset-allowed-namespace-selector
check listenerset-allowed-namespace-selector <<EOF
gateway $INFRA/gateway-allows-listenerset-in-selected-namespace | Accepted=True; attachedListenerSets=1
listenerset gateway-api-listenerset-selector-allowed-ns/listenerset-in-selected-namespace | $LS_OK; $(lsok listenerset-in-selected-namespace-listener)
listenerset gateway-api-listenerset-selector-not-allowed-ns/listenerset-not-in-selected-namespace | $LS_NOT
EOF
delete listenerset-allowed-namespace-selector
apply listenerset-allowed-routes-namespaces
LSN=listenerset-test-allowed-routes-namespaces
LSX=gateway-api-ls-cross-ns/listenerset-test-allowed-routes-cross-ns
LR=listener-set-listener-allowed-routes
check listenerset-allowed-routes-namespaces <<EOF
gateway $INFRA/gateway-with-listener-sets-test-allowed-routes | Accepted=True; attachedListenerSets=2
httproute $INFRA/route-in-same-namespace | parents=1; $(pok $INFRA/$LSN)
httproute gateway-api-routes-allowed-ns/route-in-selected-namespace | parents=1; $(pok $INFRA/$LSN)
httproute gateway-api-routes-not-allowed-ns/route-not-in-selected-namespace | parents=1; $(pok $INFRA/$LSN)
listenerset $INFRA/$LSN | $LS_OK; $(lsok $LR-all $LR-same $LR-selector) L[$LR-all].attached=3; L[$LR-same].attached=1; L[$LR-selector].attached=1
httproute gateway-api-ls-cross-ns/route-in-listenerset-namespace | parents=1; $(pok $LSX)
httproute $INFRA/route-in-gateway-namespace | P[$LSX].Accepted=False/NotAllowedByListeners
listenerset $LSX | $LS_OK; $(lsok $LR-cross-ns-same) L[$LR-cross-ns-same].attached=1
EOF
delete listenerset-allowed-routes-namespaces
apply listenerset-allowed-routes-supported-kinds
check listenerset-allowed-routes-supported-kinds <<EOF
gateway $INFRA/gateway-with-listener-sets-test-supported-route-kinds | Accepted=True
listenerset $INFRA/listenerset-test-allowed-routes-supported-kinds | L[$LR-tls-only].ResolvedRefs=False/InvalidRouteKinds
EOF
delete listenerset-allowed-routes-supported-kinds
apply listenerset-dual-parentref-independence
check listenerset-dual-parentref-independence <<EOF
gateway $INFRA/gateway-dual-parentref | Accepted=True; attachedListenerSets=1
listenerset $INFRA/ls-dual-parentref | $LS_OK; $(lsok ls-dual-parentref-listener) L[ls-dual-parentref-listener].attached=2
httproute $INFRA/route-dual-parentref-both | parents=2; P[gateway-dual-parentref].Accepted=True; P[ls-dual-parentref].Accepted=True
httproute $INFRA/route-dual-parentref-one | parents=2; P[$INFRA/gateway-dual-parentref/ls-dual-parentref-listener].Accepted=False/NoMatchingParent; $(pok $INFRA/ls-dual-parentref/ls-dual-parentref-listener)
EOF
delete listenerset-dual-parentref-independence
apply listenerset-gateway-parent-section-name-not-found
check listenerset-gateway-parent-section-name-not-found <<EOF
gateway $INFRA/gateway-section-name | Accepted=True; attachedListenerSets=1
httproute $INFRA/route-via-listenerset | parents=1; $(pok $INFRA/listenerset-section-name/ls-only-listener)
listenerset $INFRA/listenerset-section-name | $(lsok ls-only-listener)
httproute $INFRA/route-via-gateway | P[$INFRA/gateway-section-name/ls-only-listener].Accepted=False/NoMatchingParent
EOF
delete listenerset-gateway-parent-section-name-not-found
for kind in hostname protocol; do
    R=HostnameConflict
    [[ $kind == protocol ]] && R=ProtocolConflict
    C=$kind-conflict-with-gateway-listener
    S=$kind-conflict-with-listener-set-listener
    P=listenerset-with-$kind-conflict-with
    apply listenerset-$kind-conflict
    check listenerset-$kind-conflict <<EOF
gateway $INFRA/gateway-with-listenerset-$kind-conflict | Accepted=True; $(lok gateway-listener $C) L[$C].Conflicted=False/NoConflicts; attachedListenerSets=2
listenerset $INFRA/$P-gateway-1 | Accepted=True; Programmed=True/Programmed; $(lsok listener-set-1-listener $S) $(lsconf $C $R)
listenerset $INFRA/$P-gateway-2 | $LS_BAD; $(lsconf $C $R)
listenerset $INFRA/$P-listener-set-1 | Accepted=True; Programmed=True/Programmed; $(lsok listener-set-2-listener) $(lsconf $S $R)
listenerset $INFRA/$P-listener-set-2 | $LS_BAD; $(lsconf $S $R)
EOF
    delete listenerset-$kind-conflict
done
apply listenerset-reference-grant
check listenerset-reference-grant <<EOF
gateway $INFRA/gateway-with-listener-sets-test-reference-grant | Accepted=True
listenerset $INFRA/listenerset-with-reference-grant | Accepted=True; Programmed=True; L[listenerset-with-reference-grant-listener].ResolvedRefs=True
listenerset gateway-api-listener-sets-test-reference-grant-ns/listenerset-without-reference-grant | $LS_BAD; L[listenerset-without-reference-grant-listener].ResolvedRefs=False/RefNotPermitted
EOF
delete listenerset-reference-grant
apply listenerset-route-status-scoped-to-parentref
check listenerset-route-status-scoped-to-parentref <<EOF
gateway $INFRA/gateway-parentref | Accepted=True; attachedListenerSets=1
listenerset $INFRA/listenerset-parentref | $(lsok listenerset-parentref-listener) L[listenerset-parentref-listener].attached=1
httproute $INFRA/route-parentref-gwonly | parents=1; P[gateway-parentref].Accepted=True
httproute $INFRA/route-parentref-lsonly | parents=1; $(pok listenerset-parentref)
EOF
delete listenerset-route-status-scoped-to-parentref
apply listenerset-http-routing
LH=listener-set-http-routing
check listenerset-http-routing <<EOF
gateway $INFRA/gateway-with-listener-sets-http-routing | $GW_OK; attachedListenerSets=2; L[gateway-listener-1].attached=3; L[gateway-listener-2].attached=2
httproute $INFRA/attaches-to-all-listeners | parents=3; $(pok gateway-with-listener-sets-http-routing $LH-1 $LH-2)
httproute $INFRA/gateway-route | parents=1; $(pok gateway-with-listener-sets-http-routing)
httproute $INFRA/gateway-section-route | parents=1; $(pok $INFRA/gateway-with-listener-sets-http-routing/gateway-listener-1)
httproute $INFRA/$LH-1-route | parents=1; $(pok $LH-1)
listenerset $INFRA/$LH-1 | $LS_OK; $(lsok $LH-1-listener-1 $LH-1-listener-2) L[$LH-1-listener-1].attached=3; L[$LH-1-listener-2].attached=2
listenerset $INFRA/$LH-2 | $LS_OK; $(lsok $LH-2-listener-1 $LH-2-listener-2) L[$LH-2-listener-1].attached=2; L[$LH-2-listener-2].attached=2
EOF
delete listenerset-http-routing
# === end lset =======================================================================================

# --- kgc itself -----------------------------------------------------------------------------------
stop_kgc main && ok "kgc stops on SIGTERM with exit 0" || bad "kgc exit status on SIGTERM"
if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$KGC_LOG" >/dev/null; then
    bad "sanitizer reports in kgc's log"
fi
if [[ $failed -gt 0 && -n ${CONF_SHOW_LOG:-} ]]; then
    grep -E 'level=(warn|error)' "$KGC_LOG" | tail -20
fi
# === l4: TLSRoute, TCPRoute, UDPRoute (conformance/tests/{tlsroute,tcproute,udproute}-*.go) =======
# A second test Kong whose stream listens serve the manifests' TLS/TCP/UDP listener ports, and a
# kgc (the first one stopped above) publishing through Service kong/kong-stream, which sends each
# Gateway listener port to them (443/TCP → the ssl stream listen 9443, 8443 → 9444, 80 and
# 5300/TCP → the proxy 8000, the others to the same port). One group per upstream test; the
# helpers' "accepted" (GatewayAndTCPRoutesMustBeAccepted and the like,
# conformance/utils/kubernetes/helpers.go RoutesAndParentMustBeAccepted at v1.6.1) is: the route's
# parents entry Accepted=True/Accepted, and every listener of the Gateway Accepted, ResolvedRefs
# and Programmed True.
k apply --server-side -f "$GWAPI/crds-more/gateway.networking.k8s.io_tlsroutes.yaml" \
    -f "$GWAPI/crds-more/gateway.networking.k8s.io_tcproutes.yaml" \
    -f "$GWAPI/crds-more/gateway.networking.k8s.io_udproutes.yaml" >/dev/null &&
    k wait --for=condition=Established crd tlsroutes.gateway.networking.k8s.io \
        tcproutes.gateway.networking.k8s.io udproutes.gateway.networking.k8s.io --timeout=30s \
        >/dev/null || bad "l4: TLSRoute, TCPRoute, UDPRoute CRDs applied and established"
L4_TCP="9300 9301 9302 9310 9311 9312 9313 9320 9321" L4_UDP="5300 5301 5302 5310 5311 5312"
{
    printf 'apiVersion: v1\nkind: Service\nmetadata: {name: kong-stream, namespace: kong}\n'
    printf 'spec:\n  type: ClusterIP\n  clusterIP: 10.96.0.11\n  clusterIPs: [10.96.0.11]\n'
    printf '  selector: {app: kong}\n  ports:\n'
    printf '  - {name: http, port: 80, targetPort: 8000, protocol: TCP}\n'
    printf '  - {name: http-5300, port: 5300, targetPort: 8000, protocol: TCP}\n'
    printf '  - {name: tls-443, port: 443, targetPort: 9443, protocol: TCP}\n'
    printf '  - {name: tls-8443, port: 8443, targetPort: 9444, protocol: TCP}\n'
    printf '  - {name: tls-8883, port: 8883, targetPort: 8883, protocol: TCP}\n'
    for p in $L4_TCP; do printf '  - {name: tcp-%s, port: %s, targetPort: %s, protocol: TCP}\n' $p $p $p; done
    for p in $L4_UDP; do printf '  - {name: udp-%s, port: %s, targetPort: %s, protocol: UDP}\n' $p $p $p; done
} >"$TMP/kong-stream.yaml"
k apply -f "$TMP/kong-stream.yaml" >/dev/null || bad "l4: Service kong/kong-stream"
python3 - "$TMP/l4-listeners.json" "$L4_TCP" "$L4_UDP" <<'PY'
import json, sys
def ls(port, ssl=False, udp=False, stream=True):
    e = {"listener": "0.0.0.0:%d%s%s" % (port, " ssl" if ssl else "", " udp" if udp else ""),
         "ip": "0.0.0.0", "port": port, "ssl": ssl, "proxy_protocol": False, "bind": False,
         "reuseport": False}
    e["udp" if stream else "http2"] = udp if stream else ssl
    return e
stream = [ls(9443, ssl=True), ls(9444, ssl=True), ls(8883, ssl=True)]
stream += [ls(int(p)) for p in sys.argv[2].split()] + [ls(int(p), udp=True) for p in sys.argv[3].split()]
doc = {"proxy_listeners": [ls(8000, stream=False), ls(8443, ssl=True, stream=False)],
       "stream_listeners": stream}
json.dump(doc, open(sys.argv[1], "w"))
PY
# The Secret the conformance harness creates for TLSRoute's Terminate mode
# (conformance/utils/suite/suite.go:422-424 at v1.6.1): tls.example.com, signed by the CA above.
openssl req -newkey rsa:2048 -nodes -subj "/CN=tls.example.com" -addext \
    "subjectAltName=DNS:tls.example.com" -keyout "$TMP/terminate.key" -out "$TMP/terminate.csr" \
    >/dev/null 2>&1 &&
    openssl x509 -req -in "$TMP/terminate.csr" -CA "$TMP/tls-checks-ca-certificate.crt" \
        -CAkey "$TMP/tls-checks-ca-certificate.key" -CAcreateserial -days 2 -copy_extensions copy \
        -out "$TMP/terminate.crt" >/dev/null 2>&1 &&
    k -n "$INFRA" create secret tls tls-terminate-checks-certificate --cert "$TMP/terminate.crt" \
        --key "$TMP/terminate.key" >/dev/null || bad "l4: Secret tls-terminate-checks-certificate"
start_kong 2 0 --listeners "$TMP/l4-listeners.json" || bad "l4: second test Kong starts"
LC=$TMP/lc-l4 start_kgc_on l4 "${KONG_URL[2]}" --kong-probe-interval 500ms --publish-service kong/kong-stream
KGC_LOG=$TMP/kgc-l4.log

# lk KIND LISTENER...: the listener is accepted, refs resolved, programmed, carrying KIND.
lk() {
    local kind=$1 l
    shift
    for l; do
        printf 'L[%s].Accepted=True/Accepted; L[%s].ResolvedRefs=True/ResolvedRefs; ' "$l" "$l"
        printf 'L[%s].Programmed=True/Programmed; L[%s].kinds=%s; ' "$l" "$l" "$kind"
    done
}
# pacc GATEWAY[/SECTION]...: the parents entry (Gateway in $INFRA) is Accepted=True/Accepted (what
# the upstream helpers check).
pacc() {
    local p
    for p; do printf 'P[%s/%s].Accepted=True/Accepted; ' "$INFRA" "$p"; done
}
# rg_delete NS NAME: the ReferenceGrant deleted (what the upstream tests do midway).
rg_delete() { k -n "$1" delete referencegrant "$2" --wait=true >/dev/null || bad "l4: delete ReferenceGrant $1/$2"; }

# --- TLSRoute ---
apply tlsroute-simple-same-namespace
check tlsroute-simple-same-namespace <<EOF
gateway $INFRA/gateway-tlsroute | Programmed=True/Programmed; $(lk TLSRoute https) L[https].attached=1
tlsroute $INFRA/gateway-conformance-infra-test | parents=1; $(pacc gateway-tlsroute) P[gateway-tlsroute].ResolvedRefs=True/ResolvedRefs
EOF
delete tlsroute-simple-same-namespace

apply tlsroute-terminate-simple-same-namespace
check tlsroute-terminate-simple-same-namespace <<EOF
gateway $INFRA/gateway-tlsroute-terminate | Programmed=True/Programmed; $(lk TLSRoute tlsterminate) L[tlsterminate].attached=1
tlsroute $INFRA/tlsroute-terminated-test | parents=1; $(pacc gateway-tlsroute-terminate) P[gateway-tlsroute-terminate].ResolvedRefs=True/ResolvedRefs
EOF
delete tlsroute-terminate-simple-same-namespace

apply tlsroute-mixed-termination-same-namespace
G=gateway-tlsroute-mixed-termination
check tlsroute-mixed-termination-same-namespace <<EOF
gateway $INFRA/$G | $(lk TLSRoute tls-terminate tls-passthrough) L[tls-terminate].attached=1; L[tls-passthrough].attached=1
tlsroute $INFRA/gateway-conformance-mixed-passthroughroute | parents=1; $(pacc $G)
tlsroute $INFRA/gateway-conformance-mixed-terminateroute | parents=1; $(pacc $G)
EOF
delete tlsroute-mixed-termination-same-namespace

apply tlsroute-hostname-intersection
check tlsroute-hostname-intersection <<EOF
gateway $INFRA/gw-tlsroute-exact-hostname-x-1 | $(lk TLSRoute listener-exact-hostname) L[listener-exact-hostname].attached=1
gateway $INFRA/gw-tlsroute-more-specific-wc-hostname-x-2 | $(lk TLSRoute listener-more-specific-wc-hostname) L[listener-more-specific-wc-hostname].attached=2
gateway $INFRA/gw-tlsroute-less-specific-wc-hostname-x-3 | $(lk TLSRoute listener-less-specific-wc-hostname) L[listener-less-specific-wc-hostname].attached=2
gateway $INFRA/gw-tlsroute-empty-hostname-x-4 | $(lk TLSRoute listener-empty-hostname) L[listener-empty-hostname].attached=2
tlsroute $INFRA/tlsroute-more-specific-wc-hostname-x-1 | $(pacc gw-tlsroute-exact-hostname-x-1) P[gw-tlsroute-exact-hostname-x-1].ResolvedRefs=True/ResolvedRefs
tlsroute $INFRA/tlsroute-exact-hostname-x-2 | $(pacc gw-tlsroute-more-specific-wc-hostname-x-2) P[gw-tlsroute-more-specific-wc-hostname-x-2].ResolvedRefs=True/ResolvedRefs
tlsroute $INFRA/tlsroute-less-specific-wc-hostname-x-2 | $(pacc gw-tlsroute-more-specific-wc-hostname-x-2) P[gw-tlsroute-more-specific-wc-hostname-x-2].ResolvedRefs=True/ResolvedRefs
tlsroute $INFRA/tlsroute-exact-hostname-x-3 | $(pacc gw-tlsroute-less-specific-wc-hostname-x-3) P[gw-tlsroute-less-specific-wc-hostname-x-3].ResolvedRefs=True/ResolvedRefs
tlsroute $INFRA/tlsroute-more-specific-wc-hostname-x-3 | $(pacc gw-tlsroute-less-specific-wc-hostname-x-3) P[gw-tlsroute-less-specific-wc-hostname-x-3].ResolvedRefs=True/ResolvedRefs
tlsroute $INFRA/tlsroute-exact-hostname-x-4 | $(pacc gw-tlsroute-empty-hostname-x-4) P[gw-tlsroute-empty-hostname-x-4].ResolvedRefs=True/ResolvedRefs
tlsroute $INFRA/tlsroute-less-specific-wc-hostname-x-4 | $(pacc gw-tlsroute-empty-hostname-x-4) P[gw-tlsroute-empty-hostname-x-4].ResolvedRefs=True/ResolvedRefs
EOF
delete tlsroute-hostname-intersection

apply tlsroute-invalid-backendref-nonexistent
G=gateway-tlsroute-invalid-backend-ref-nonexistent
check tlsroute-invalid-backendref-nonexistent <<EOF
gateway $INFRA/$G | $(lk TLSRoute tls)
tlsroute $INFRA/invalid-backend-ref-nonexistent | parents=1; $(pacc $G) P[$G].ResolvedRefs=False/BackendNotFound
EOF
delete tlsroute-invalid-backendref-nonexistent

apply tlsroute-invalid-backendref-unknown-kind
G=gateway-tlsroute-invalid-backend-ref-unknown-kind
check tlsroute-invalid-backendref-unknown-kind <<EOF
gateway $INFRA/$G | $(lk TLSRoute tls)
tlsroute $INFRA/invalid-backend-ref-unknown-kind | parents=1; $(pacc $G) P[$G].ResolvedRefs=False/InvalidKind
EOF
delete tlsroute-invalid-backendref-unknown-kind

apply tlsroute-invalid-no-matching-listener-hostname
check tlsroute-invalid-no-matching-listener-hostname <<EOF
tlsroute $INFRA/tlsroute-hostname-mismatch-1 | parents=1; P[gateway-tls-exact-hostname].Accepted=False/NoMatchingListenerHostname
tlsroute $INFRA/tlsroute-hostname-mismatch-2 | parents=1; P[gateway-tls-wildcard-hostname].Accepted=False/NoMatchingListenerHostname
gateway $INFRA/gateway-tls-exact-hostname | L[tls].attached=0
gateway $INFRA/gateway-tls-wildcard-hostname | L[tls].attached=0
EOF
delete tlsroute-invalid-no-matching-listener-hostname

apply tlsroute-invalid-no-matching-listener
check tlsroute-invalid-no-matching-listener <<EOF
tlsroute $INFRA/tlsroute-not-allowed-protocol-http | parents=1; P[gateway-tlsroute-http-only].Accepted=False/NotAllowedByListeners
tlsroute $INFRA/tlsroute-not-allowed-protocol-https | parents=1; P[gateway-tlsroute-https-only].Accepted=False/NotAllowedByListeners
tlsroute $INFRA/tlsroute-no-matching-section-name | parents=1; P[$INFRA/gateway-tlsroute-tls-passthrough-only/nonexistent-listener].Accepted=False/NoMatchingParent
gateway $INFRA/gateway-tlsroute-http-only | L[http].attached=0
gateway $INFRA/gateway-tlsroute-https-only | L[https].attached=0
EOF
delete tlsroute-invalid-no-matching-listener

apply tlsroute-invalid-reference-grant
check tlsroute-invalid-reference-grant <<EOF
gateway $INFRA/gateway-tlsroute-referencegrant | $(lk TLSRoute https)
tlsroute $INFRA/gateway-conformance-infra-test | parents=1; $(pacc gateway-tlsroute-referencegrant) P[gateway-tlsroute-referencegrant].ResolvedRefs=False/RefNotPermitted
EOF
delete tlsroute-invalid-reference-grant

apply tlsroute-listener-passthrough-supported-kinds
check tlsroute-listener-passthrough-supported-kinds <<EOF
gateway $INFRA/gateway-tlsroute-passthrough-supported-kind | L[tls-passthrough].kinds=TLSRoute; L[tls-passthrough].ResolvedRefs=False/InvalidRouteKinds; L[tls-passthrough].attached=0
EOF
delete tlsroute-listener-passthrough-supported-kinds

apply tlsroute-listener-terminate-supported-kinds
check tlsroute-listener-terminate-supported-kinds <<EOF
gateway $INFRA/gateway-tlsroute-terminate-supported | L[tls-terminate].kinds=TLSRoute; L[tls-terminate].Accepted=True/Accepted; L[tls-terminate].attached=0
EOF
delete tlsroute-listener-terminate-supported-kinds

# tlsroute-listener-terminate-not-supported.go and tlsroute-listener-mixed-termination-not-
# supported.go run only for implementations without SupportTLSRouteModeTerminate /
# SupportTLSRouteModeMixed. Kong serves both on one ssl stream listen (Terminate: tls routes and
# certificates; Passthrough: tls_passthrough routes picked by SNI in the preread server,
# kong/templates/nginx_kong_stream.lua at 3.9.1), so kgc claims both: these listeners are
# accepted, not refused.
apply tlsroute-listener-terminate-not-supported
check "tlsroute-listener-terminate-not-supported (kgc supports Terminate)" <<EOF
gateway $INFRA/gateway-tlsroute-terminate-unsupported | $(lk TLSRoute tls-terminate) L[tls-terminate].attached=0
EOF
delete tlsroute-listener-terminate-not-supported
apply tlsroute-listener-mixed-termination-not-supported
check "tlsroute-listener-mixed-termination-not-supported (kgc supports mixed termination)" <<EOF
gateway $INFRA/gateway-tlsroute-mixed-termination-not-supported | $(lk TLSRoute tls-terminate tls-passthrough) L[tls-terminate].Conflicted=False/NoConflicts; L[tls-passthrough].Conflicted=False/NoConflicts
EOF
delete tlsroute-listener-mixed-termination-not-supported

# --- TCPRoute ---
apply tcproute-weighted-routing
check tcproute-weighted-routing <<EOF
gateway $INFRA/tcp-weighted-gateway | Programmed=True/Programmed; $(lk TCPRoute tcp) L[tcp].attached=1
tcproute $INFRA/tcp-weighted-route | parents=1; $(pacc tcp-weighted-gateway/tcp) P[$INFRA/tcp-weighted-gateway/tcp].ResolvedRefs=True/ResolvedRefs
EOF
delete tcproute-weighted-routing

apply tcproute-invalid-backendref-nonexistent
check tcproute-invalid-backendref-nonexistent <<EOF
tcproute $INFRA/tcp-route-invalid-backend-ref-nonexistent | parents=1; P[$INFRA/tcp-gateway-invalid-backend/tcp].ResolvedRefs=False/BackendNotFound
EOF
delete tcproute-invalid-backendref-nonexistent

apply tcproute-invalid-cross-namespace-backend-ref
G=tcp-invalid-cross-namespace-backend-ref-gateway
check tcproute-invalid-cross-namespace-backend-ref <<EOF
gateway $INFRA/$G | $(lk TCPRoute tcp)
tcproute $INFRA/tcp-invalid-cross-namespace-backend-ref | parents=1; $(pacc $G/tcp) P[$INFRA/$G/tcp].ResolvedRefs=False/RefNotPermitted
EOF
delete tcproute-invalid-cross-namespace-backend-ref

apply tcproute-invalid-non-tcp-listener
check tcproute-invalid-non-tcp-listener <<EOF
tcproute $INFRA/tcp-route | parents=1; P[$INFRA/tcp-mixed-protocol-gateway/only-allow-http-routes].Accepted=False/NotAllowedByListeners
gateway $INFRA/tcp-mixed-protocol-gateway | L[only-allow-http-routes].attached=0
EOF
delete tcproute-invalid-non-tcp-listener

apply tcproute-multiple-routes-attachment
G=tcp-multi-route-attach-gateway
check "tcproute-multiple-routes-attachment (the older route)" <<EOF
gateway $INFRA/$G | $(lk TCPRoute tcp) L[tcp].attached=1
tcproute $INFRA/tcproute-attach-older | parents=1; $(pacc $G/tcp)
EOF
k apply -f - >/dev/null <<EOF || bad "l4: apply tcproute-attach-newer"
{"apiVersion":"gateway.networking.k8s.io/v1","kind":"TCPRoute","metadata":{"name":"tcproute-attach-newer","namespace":"$INFRA"},
 "spec":{"parentRefs":[{"name":"$G","sectionName":"tcp"}],"rules":[{"backendRefs":[{"name":"tcp-attach-backend-2","port":3000}]}]}}
EOF
check "tcproute-multiple-routes-attachment (both routes)" <<EOF
tcproute $INFRA/tcproute-attach-older | parents=1; P[$INFRA/$G/tcp].Accepted=True/Accepted
tcproute $INFRA/tcproute-attach-newer | parents=1; P[$INFRA/$G/tcp].Accepted=True/Accepted
gateway $INFRA/$G | L[tcp].kinds=TCPRoute; L[tcp].Accepted=True/Accepted; L[tcp].attached=2
EOF
k -n "$INFRA" delete tcproute tcproute-attach-newer --wait=true >/dev/null
delete tcproute-multiple-routes-attachment

apply tcproute-parentref-attach-all
check tcproute-parentref-attach-all <<EOF
tcproute $INFRA/tcp-route-attach-all | parents=1; $(pacc tcp-attach-all-gateway)
gateway $INFRA/tcp-attach-all-gateway | $(lk TCPRoute one two three four) L[one].attached=1; L[two].attached=1; L[three].attached=1; L[four].attached=1
EOF
delete tcproute-parentref-attach-all

apply tcproute-parentref-port-and-section-name
G=tcp-multi-listener-gateway
check tcproute-parentref-port-and-section-name <<EOF
tcproute $INFRA/tcp-route-by-port | parents=1; $(pacc $G)
tcproute $INFRA/tcp-route-by-section | parents=1; $(pacc $G/two)
tcproute $INFRA/tcp-route-by-section-and-port | parents=1; $(pacc $G/three)
gateway $INFRA/$G | $(lk TCPRoute one two three) L[one].attached=1; L[two].attached=1; L[three].attached=1
EOF
delete tcproute-parentref-port-and-section-name

apply tcproute-reference-grant
G=tcp-reference-grant-gateway
check "tcproute-reference-grant (granted)" <<EOF
gateway $INFRA/$G | $(lk TCPRoute tcp) L[tcp].attached=1
tcproute $INFRA/tcp-reference-grant | parents=1; $(pacc $G/tcp) P[$INFRA/$G/tcp].ResolvedRefs=True/ResolvedRefs
EOF
rg_delete "$WEB" tcp-reference-grant
check "tcproute-reference-grant (grant deleted)" <<EOF
tcproute $INFRA/tcp-reference-grant | parents=1; P[$INFRA/$G/tcp].ResolvedRefs=False/RefNotPermitted
EOF
delete tcproute-reference-grant

# --- UDPRoute ---
for m in udproute-simple:udp-gateway:coredns:udp-coredns udproute-weighted-routing:udp-weighted-gateway:udp:udp-weighted-route; do
    IFS=: read -r name gw l route <<<"$m"
    apply "$name"
    check "$name" <<EOF
gateway $INFRA/$gw | Programmed=True/Programmed; $(lk UDPRoute "$l") L[$l].attached=1
udproute $INFRA/$route | parents=1; $(pacc "$gw/$l") P[$INFRA/$gw/$l].ResolvedRefs=True/ResolvedRefs
EOF
    delete "$name"
done

apply udproute-invalid-backendref-nonexistent
check udproute-invalid-backendref-nonexistent <<EOF
udproute $INFRA/udp-route-invalid-backend-ref-nonexistent | parents=1; P[$INFRA/udp-gateway-invalid-backend/udp].ResolvedRefs=False/BackendNotFound
EOF
delete udproute-invalid-backendref-nonexistent

apply udproute-invalid-cross-namespace-backend-ref
G=udp-gateway-invalid-cross-namespace-backend-ref
check udproute-invalid-cross-namespace-backend-ref <<EOF
gateway $INFRA/$G | $(lk UDPRoute udp)
udproute $INFRA/udp-route-invalid-cross-namespace-backend-ref | parents=1; $(pacc $G/udp) P[$INFRA/$G/udp].ResolvedRefs=False/RefNotPermitted
EOF
delete udproute-invalid-cross-namespace-backend-ref

apply udproute-multiple-routes-attachment
G=udp-multi-route-attach-gateway
check "udproute-multiple-routes-attachment (the older route)" <<EOF
gateway $INFRA/$G | $(lk UDPRoute udp) L[udp].attached=1
udproute $INFRA/udproute-attach-older | parents=1; $(pacc $G/udp)
EOF
k apply -f - >/dev/null <<EOF || bad "l4: apply udproute-attach-newer"
{"apiVersion":"gateway.networking.k8s.io/v1","kind":"UDPRoute","metadata":{"name":"udproute-attach-newer","namespace":"$INFRA"},
 "spec":{"parentRefs":[{"name":"$G","sectionName":"udp"}],"rules":[{"backendRefs":[{"name":"udp-attach-backend-2","port":8080}]}]}}
EOF
check "udproute-multiple-routes-attachment (both routes)" <<EOF
udproute $INFRA/udproute-attach-older | parents=1; P[$INFRA/$G/udp].Accepted=True/Accepted
udproute $INFRA/udproute-attach-newer | parents=1; P[$INFRA/$G/udp].Accepted=True/Accepted
gateway $INFRA/$G | L[udp].kinds=UDPRoute; L[udp].Accepted=True/Accepted; L[udp].attached=2
EOF
k -n "$INFRA" delete udproute udproute-attach-newer --wait=true >/dev/null
delete udproute-multiple-routes-attachment

apply udproute-not-allowed-by-listeners
check udproute-not-allowed-by-listeners <<EOF
udproute $INFRA/udproute-not-allowed-by-listeners | parents=1; P[$INFRA/udproute-tls-only-gateway/tls].Accepted=False/NotAllowedByListeners
gateway $INFRA/udproute-tls-only-gateway | L[tls].attached=0
EOF
delete udproute-not-allowed-by-listeners

apply udproute-parentref-attach-all-listeners
check udproute-parentref-attach-all-listeners <<EOF
udproute $INFRA/udp-route-attach-all | parents=1; $(pacc udp-attach-all-listeners-gateway)
gateway $INFRA/udp-attach-all-listeners-gateway | $(lk UDPRoute udp-1 udp-2 udp-3) L[udp-1].attached=1; L[udp-2].attached=1; L[udp-3].attached=1
EOF
delete udproute-parentref-attach-all-listeners

apply udproute-parentref-port-and-section-name
G=udp-multi-listener-gateway
check udproute-parentref-port-and-section-name <<EOF
udproute $INFRA/udp-route-by-port | parents=1; $(pacc $G)
udproute $INFRA/udp-route-by-section | parents=1; $(pacc $G/by-section)
udproute $INFRA/udp-route-by-section-and-port | parents=1; $(pacc $G/by-section-and-port)
gateway $INFRA/$G | $(lk UDPRoute by-port by-section by-section-and-port)
EOF
delete udproute-parentref-port-and-section-name

apply udproute-reference-grant
G=udp-gateway-reference-grant
check "udproute-reference-grant (granted)" <<EOF
gateway $INFRA/$G | $(lk UDPRoute udp) L[udp].attached=1
udproute $INFRA/udp-route-reference-grant | parents=1; $(pacc $G/udp) P[$INFRA/$G/udp].ResolvedRefs=True/ResolvedRefs
EOF
rg_delete gateway-conformance-app-backend udp-reference-grant
check "udproute-reference-grant (grant deleted)" <<EOF
udproute $INFRA/udp-route-reference-grant | parents=1; P[$INFRA/$G/udp].ResolvedRefs=False/RefNotPermitted
EOF
delete udproute-reference-grant

stop_kgc l4 && ok "l4: kgc stops on SIGTERM with exit 0" || bad "l4: kgc exit status on SIGTERM"
if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$KGC_LOG" >/dev/null; then
    bad "l4: sanitizer reports in kgc's log"
fi
if [[ $failed -gt 0 && -n ${CONF_SHOW_LOG:-} ]]; then
    grep -E 'level=(warn|error)' "$KGC_LOG" | tail -20
fi
# === end of l4 =====================================================================================
finish

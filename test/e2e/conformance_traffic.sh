#!/usr/bin/env bash
# e2e: Kong serves exactly what the status says. Replays, through the test Kong's proxy, the
# traffic expectations of every upstream HTTPRoute and GRPCRoute conformance test whose manifest is
# in .deps/gateway-api/conformance (test/e2e/conformance/traffic.json: the facts of each test's
# http/grpc.ExpectedResponse list, with the Go file and line; gRPC calls as traffic.py describes:
# routed and balanced by the test Kong, HTTP/2 itself not modelled), under Kong's three router
# flavours: traditional_compatible and expressions (ATC), and traditional. Each flavour runs in
# parallel on its own test API server, test Kong (--proxy-listen, --router-flavor) and kgc.
#
# Per flavour: CRDs, the GatewayClass, a publish Service kong/kong-proxy mapping the Gateways'
# ports 80/443 to the proxy ports the test Kong bound (kgc learns those from Kong's GET /), the
# base manifests, the TLS Secrets the suite creates, one EndpointSlice per backend Service (each
# Service on its own fake IP, so the echo's kong.target names the backend), kgc with
# --invalid-backend-target. Then per test, as the suite does: apply its manifest, wait for kgc
# (status at each route's generation, Kong holding the routes), send each expectation
# (conformance/traffic.py), delete the manifest, wait for Kong to drop the routes.
#
# Outcome of each expectation, one line each, then a table per flavour:
#   ok     met
#   DESIGN listed in traffic.json "by_design" (Kong cannot do it) and kgc's status names the rule
#   KNOWN  a failure listed in conformance/traffic_known_failures.txt (kgc bugs being fixed)
#   FAIL   anything else failing; also a by-design entry kgc does not report, and a known failure
#          that now passes or is now reported ("FIXED": remove it from the list)
# Known-failure lines: "FLAVOUR TEST ID REASON..." ('#' comments). Last line "N passed, N failed".
# TRAFFIC_FLAVOURS (default all three) picks flavours; TRAFFIC_DUMP=1 with KGC_E2E_KEEP=1 keeps each
# test's route/Gateway status and Kong configuration in the kept directory (dump-TEST-*.json).
source "$(dirname "$0")/lib.sh"
T0=$(now_ms)
DIR=$PWD/test/e2e/conformance
PY=$DIR/traffic.py
KNOWN=$DIR/traffic_known_failures.txt
export TRAFFIC=$DIR/traffic.json
CLASS=kgc-conformance
INFRA=gateway-conformance-infra
WEB=gateway-conformance-web-backend
PROXY_IP=10.96.0.10
INVALID_TARGET=192.0.2.1:9
FLAVOURS=${TRAFFIC_FLAVOURS:-traditional_compatible expressions traditional}
e2e_bound "${TRAFFIC_BOUND:-170}"

# === lset: ListenerSet (conformance/traffic_lset.json: the listenerset-*.go expectations, merged
# into the replayed data; the ListenerSet CRD is applied with the others) ===========================
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
d["expectations"] += json.load(open(sys.argv[2]))["expectations"]
json.dump(d, sys.stdout)' "$TRAFFIC" "$DIR/traffic_lset.json" >"$TMP/traffic.json" ||
    { bad "traffic_lset.json merges"; finish; }
export TRAFFIC=$TMP/traffic.json
LSET_CRDS=(-f "$GWAPI/crds-more/gateway.networking.k8s.io_listenersets.yaml")
# === end lset =====================================================================================

TESTS=$(python3 -c 'import json,sys
seen=[]
for x in json.load(open(sys.argv[1]))["expectations"]:
    if x["test"] not in seen: seen.append(x["test"])
print(" ".join(seen))' "$TRAFFIC") || { bad "traffic.json parses"; finish; }

# flavour F: the whole replay for router flavour F in $TMP/F; results in $TMP/F/results.tsv,
# set-up problems as "SETUP <what>" lines in $TMP/F/setup.err. Run in the background.
flavour() {
    local f=$1 d=$TMP/$1 api kong p_http p_https kc p pids=()
    mkdir -p "$d"
    trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait' EXIT
    trap 'exit 1' TERM
    setup_bad() { echo "SETUP $*" >>"$d/setup.err"; exit 1; }
    "$BUILD/kgc-test-apiserver" --listen 127.0.0.1:0 >"$d/api.out" 2>"$d/api.err" &
    pids+=($!)
    api=$(wait_url "$d/api.out") || setup_bad "$f: API server starts"
    "$BUILD/kgc-test-kong" --admin-listen 127.0.0.1:0 --proxy-listen '127.0.0.1:0, 127.0.0.1:0 ssl' \
        --router-flavor "$f" --allow-debug-header >"$d/kong.out" 2>"$d/kong.err" &
    pids+=($!)
    kong=$(wait_url "$d/kong.out") || setup_bad "$f: test Kong starts"
    p_http=$(sed -n 's|^proxy listening on http://||p' "$d/kong.out")
    p_https=$(sed -n 's|^proxy listening on https://||p' "$d/kong.out")
    [[ -n $p_http && -n $p_https ]] || setup_bad "$f: test Kong proxy listeners"
    kc=$d/kubeconfig
    write_kubeconfig "$api" "$kc"
    kf() { KUBECONFIG=$kc timeout 60 "$KUBECTL" --cache-dir "$d/kcache" "$@"; }
    manifest() { conformance_manifest "$1" "$CLASS"; }
    kf apply --server-side -f "$GWAPI/crds/" -f "$GWAPI/crds-more/gateway.networking.k8s.io_grpcroutes.yaml" \
        "${LSET_CRDS[@]}" >/dev/null &&
        kf wait --for=condition=Established crd --all --timeout=30s >/dev/null || setup_bad "$f: CRDs"
    { gatewayclass_yaml "$CLASS"; kong_proxy_service_yaml "$PROXY_IP" "${p_http##*:}" "${p_https##*:}"; } |
        kf apply -f - >/dev/null || setup_bad "$f: GatewayClass and publish Service"
    manifest base-manifests | kf apply -f - >"$d/apply.out" 2>&1 || setup_bad "$f: base manifests: $(tr '\n' ' ' <"$d/apply.out")"
    kf -n "$INFRA" create secret tls tls-validity-checks-certificate --cert "$TMP/tls.crt" \
        --key "$TMP/tls.key" >/dev/null &&
        kf -n "$WEB" create secret tls certificate --cert "$TMP/tls.crt" --key "$TMP/tls.key" >/dev/null ||
        setup_bad "$f: TLS Secrets"
    export API=$api KONG_ADMIN=$kong PROXY_HTTP=$p_http PROXY_HTTPS=$p_https GW_ADDR=$PROXY_IP \
        IPMAP=$d/ipmap INVALID_TARGET FLAVOUR=$f CERT=$TMP/tls.crt
    python3 "$PY" endpoints >"$d/ipmap" 2>"$d/endpoints.err" || setup_bad "$f: EndpointSlices: $(cat "$d/endpoints.err")"
    # --sync-incremental: the traffic of every test also proves the incremental translation (the
    # other scenarios run the default, whole translations)
    "$BUILD/kgc" --kubeconfig "$kc" --kong-admin-url "$kong" --listener-cache-dir "$d/lc" \
        --kong-probe-interval 500ms --log-level info --publish-service kong/kong-proxy \
        --invalid-backend-target "$INVALID_TARGET" --sync-max-delay 200ms --sync-incremental \
        --http-listen "" --debug-listen "" >"$d/kgc.log" 2>&1 &
    pids+=($!)
    local t
    for t in $TESTS; do
        if ! manifest "$t" | kf apply -f - >"$d/apply.out" 2>&1; then
            echo "SETUP $f: $t: kubectl apply: $(tr '\n' ' ' <"$d/apply.out")" >>"$d/setup.err"
            continue
        fi
        python3 "$PY" run "$t" >>"$d/results.tsv" 2>>"$d/run.err"
        if [[ -n ${TRAFFIC_DUMP:-} ]]; then # post-mortem (with KGC_E2E_KEEP=1): status and Kong's config
            kf get httproutes,gateways -A -o json >"$d/dump-$t-status.json" 2>&1
            curl -s "$kong/config" >"$d/dump-$t-kong.json"
        fi
        manifest "$t" | kf delete --ignore-not-found --wait=true -f - >/dev/null 2>&1
        python3 "$PY" settle 2>>"$d/run.err"
    done
    # stopped first, so that LeakSanitizer's exit-time reports are in the logs
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do # kgc, then the test Kong, then the API server
        kill -TERM "${pids[i]}" 2>/dev/null
        wait "${pids[i]}" 2>/dev/null
    done
    pids=()
    if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$d/kgc.log" "$d/kong.err" "$d/api.err" >/dev/null; then
        echo "SETUP $f: sanitizer reports in kgc's or the test Kong's log" >>"$d/setup.err"
    fi
}

# The Secrets' certificate (the conformance harness creates them after the base manifests).
self_signed_cert example.org \
    -addext "subjectAltName=DNS:example.org,DNS:*.example.org,DNS:second-example.org,DNS:*.wildcard.org" ||
    { bad "openssl self-signed cert"; finish; }

FPIDS=()
for f in $FLAVOURS; do
    flavour "$f" &
    FPIDS+=($!)
    PIDS+=($!)
done
for p in "${FPIDS[@]}"; do wait "$p"; done

# --- verdicts -------------------------------------------------------------------------------------
declare -A KNOWN_WHY
if [[ -f $KNOWN ]]; then
    while read -r kf kt ki kwhy; do
        [[ -z $kf || $kf == \#* ]] && continue
        KNOWN_WHY["$kf $kt $ki"]=$kwhy
    done <"$KNOWN"
fi
declare -A SEEN
for f in $FLAVOURS; do
    d=$TMP/$f
    if [[ -s $d/setup.err ]]; then
        while read -r l; do bad "${l#SETUP }"; done <"$d/setup.err"
    fi
    [[ -s $d/run.err ]] && sed 's/^/# /' "$d/run.err"
    n=$(grep -vc "	selftest	" "$d/results.tsv" 2>/dev/null)
    want=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["expectations"]))' "$TRAFFIC")
    [[ ${n:-0} -eq $want ]] || bad "$f: $want expectations in traffic.json, ${n:-0} replayed"
    : >"$d/marks.tsv"
    while IFS=$'\t' read -r fl t id verdict why; do
        key="$fl $t $id"
        SEEN[$key]=1
        label="$fl $t #$id"
        case $verdict in
        pass)
            if [[ $t == selftest ]]; then
                ok "$label: $why"
                mark=.
            elif [[ -n ${KNOWN_WHY[$key]+x} ]]; then
                bad "$label: FIXED (passes; remove it from traffic_known_failures.txt)"
                mark=FIXED
            else
                ok "$label"
                mark=.
            fi ;;
        design-ok)
            if [[ -n ${KNOWN_WHY[$key]+x} ]]; then
                bad "$label: FIXED (now reported in status; remove it from traffic_known_failures.txt) -- $why"
                mark=FIXED
            else
                ok "$label: DESIGN $why"
                mark=D
            fi ;;
        fail | design-unreported)
            if [[ -n ${KNOWN_WHY[$key]+x} ]]; then
                ok "$label: KNOWN (${KNOWN_WHY[$key]}) -- $why"
                mark=K
            else
                bad "$label: $why"
                mark=F
            fi ;;
        *) bad "$label: unknown verdict $verdict"; mark='?' ;;
        esac
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$fl" "$t" "$id" "$verdict" "-" "$mark" >>"$d/marks.tsv"
    done <"$d/results.tsv"
done
for key in "${!KNOWN_WHY[@]}"; do
    f=${key%% *}
    [[ " $FLAVOURS " == *" $f "* && -z ${SEEN[$key]+x} ]] &&
        bad "traffic_known_failures.txt names $key, which was not replayed"
done
marks=()
for f in $FLAVOURS; do marks+=("$TMP/$f/marks.tsv"); done
python3 "$PY" table "${marks[@]}"
echo "# run time $(( ($(now_ms) - T0) / 1000 )) s"
finish

#!/usr/bin/env bash
# e2e (l4): the traffic expectations of the upstream TLSRoute, TCPRoute and UDPRoute conformance
# tests (kubernetes-sigs/gateway-api v1.6.1 conformance/tests/{tlsroute,tcproute,udproute}-*.go),
# replayed through the test Kong's stream listeners (test/fakes/kong/README.md "Stream": each
# connection or datagram that matches a route is answered with one JSON line naming the route and
# the target the balancer picked). The manifests are applied unchanged with real kubectl; every
# backend Service gets one EndpointSlice on its own fake IP, so the target names the backend.
#
# The test Kong binds one stream listen per Gateway listener port of the manifests (TCP, UDP, and
# ssl for TLS); the publish Service kong/kong-stream sends each Gateway port to its listen, as a
# Kong Service would. Per test: apply, wait until kgc wrote the routes' status at their generation
# and Kong holds the configuration, send the expectations (stream_client.py), delete.
#
# Not replayed: tlsroute-hostname-intersection's traffic — its four Gateways' listeners are all
# on port 443, which one Kong serves on one stream listen, so Kong cannot tell the Gateways apart:
# kgc gives an SNI to the oldest route only and says so on the others' status (KongLimitation;
# conformance_status.sh checks the statuses). Last line "N passed, N failed".
source "$(dirname "$0")/lib.sh"
e2e_bound "${STREAM_TRAFFIC_BOUND:-300}"
CLASS=kgc-conformance
INFRA=gateway-conformance-infra
CLIENT=${STREAM_CLIENT:-$PWD/test/e2e/stream_client.py}
[[ -f $CLIENT ]] || { bad "test/e2e/stream_client.py (the test Kong's stream side) is missing"; finish; }

TCP_PORTS="9300 9301 9302 9310 9311 9312 9313 9320 9321"
UDP_PORTS="5300 5301 5302 5310 5311 5312"
TLS_PORTS="443 8443 8883"

start_apiserver
listen=
for p in $TCP_PORTS; do listen+="127.0.0.1:0, "; done
for p in $UDP_PORTS; do listen+="127.0.0.1:0 udp, "; done
for p in $TLS_PORTS; do listen+="127.0.0.1:0 ssl, "; done
start_kong 1 0 --stream-listen "${listen%, }" || { bad "test Kong starts"; finish; }
KONG=${KONG_URL[1]}
mapfile -t BOUND < <(sed -n 's|^stream listening on [a-z]*://127.0.0.1:||p' "$TMP/kong1.out")
declare -A KPORT # "TCP 9300" -> the test Kong's bound port
i=0
for p in $TCP_PORTS; do KPORT["TCP $p"]=${BOUND[$i]}; i=$((i + 1)); done
for p in $UDP_PORTS; do KPORT["UDP $p"]=${BOUND[$i]}; i=$((i + 1)); done
for p in $TLS_PORTS; do KPORT["TLS $p"]=${BOUND[$i]}; i=$((i + 1)); done
[[ ${#BOUND[@]} -eq $i && -n ${BOUND[$((i - 1))]} ]] || { bad "stream listeners bound (${#BOUND[@]} of $i)"; finish; }

k apply --server-side -f "$GWAPI/crds/" -f "$GWAPI/crds-more/gateway.networking.k8s.io_tlsroutes.yaml" \
    -f "$GWAPI/crds-more/gateway.networking.k8s.io_tcproutes.yaml" \
    -f "$GWAPI/crds-more/gateway.networking.k8s.io_udproutes.yaml" >/dev/null &&
    k wait --for=condition=Established crd --all --timeout=30s >/dev/null || { bad "CRDs"; finish; }
{
    gatewayclass_yaml "$CLASS"
    printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: kong}\n---\n'
    printf 'apiVersion: v1\nkind: Service\nmetadata: {name: kong-stream, namespace: kong}\n'
    printf 'spec:\n  type: ClusterIP\n  clusterIP: 10.96.0.11\n  clusterIPs: [10.96.0.11]\n  ports:\n'
    for p in $TCP_PORTS; do printf '  - {name: tcp-%s, port: %s, targetPort: %s, protocol: TCP}\n' $p $p "${KPORT["TCP $p"]}"; done
    for p in $UDP_PORTS; do printf '  - {name: udp-%s, port: %s, targetPort: %s, protocol: UDP}\n' $p $p "${KPORT["UDP $p"]}"; done
    for p in $TLS_PORTS; do printf '  - {name: tls-%s, port: %s, targetPort: %s, protocol: TCP}\n' $p $p "${KPORT["TLS $p"]}"; done
} | k apply -f - >/dev/null || { bad "GatewayClass and kong/kong-stream"; finish; }
conformance_manifest base-manifests "$CLASS" | k apply -f - >/dev/null || { bad "base manifests"; finish; }
# the Secret the suite makes for Terminate (conformance/utils/suite/suite.go:422-424 at v1.6.1)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=tls.example.com" \
    -addext "subjectAltName=DNS:tls.example.com" -keyout "$TMP/term.key" -out "$TMP/term.crt" \
    >/dev/null 2>&1 &&
    k -n "$INFRA" create secret tls tls-terminate-checks-certificate --cert "$TMP/term.crt" \
        --key "$TMP/term.key" >/dev/null || { bad "Secret tls-terminate-checks-certificate"; finish; }

start_kgc_on main "$KONG" --kong-probe-interval 500ms --publish-service kong/kong-stream
KGC_LOG=$TMP/kgc-main.log

# endpoints: one EndpointSlice per Service of the conformance namespaces that has none yet, on
# its own IP (10.77.0.N), ports as the Service's targetPorts; the IP → "ns/name" map in $TMP/ipmap.
endpoints() {
    k get services -A -o json >"$TMP/svcs.json" && python3 - "$TMP/svcs.json" "$TMP/ipmap" <<'PY' | k apply -f - >/dev/null
import json, os, sys
svcs = json.load(open(sys.argv[1]))["items"]
ipmap = {}
if os.path.exists(sys.argv[2]):
    for line in open(sys.argv[2]):
        ip, name = line.split()
        ipmap[name] = ip
out = []
for s in svcs:
    md = s["metadata"]
    if not md["namespace"].startswith("gateway-conformance"):
        continue
    key = md["namespace"] + "/" + md["name"]
    if key not in ipmap:
        ipmap[key] = "10.77.%d.%d" % (len(ipmap) // 250, len(ipmap) % 250 + 1)
    ports = []
    for p in s["spec"].get("ports", []):
        tp = p.get("targetPort", p["port"])
        ports.append({"name": p.get("name", ""), "port": tp if isinstance(tp, int) else p["port"],
                      "protocol": p.get("protocol", "TCP")})
    out.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": md["name"] + "-l4", "namespace": md["namespace"],
                             "labels": {"kubernetes.io/service-name": md["name"]}},
                "addressType": "IPv4", "ports": ports,
                "endpoints": [{"addresses": [ipmap[key]], "conditions": {"ready": True}}]})
with open(sys.argv[2], "w") as f:
    for k, ip in ipmap.items():
        f.write(ip + " " + k + "\n")
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": out}))
PY
}

# route_judged KIND/NAME: the route has an Accepted condition of kgc's at its generation.
route_judged() {
    k -n "$INFRA" get "$1" -o json 2>/dev/null | python3 -c '
import json, sys
o = json.load(sys.stdin)
g = o["metadata"].get("generation", 1)
ok = any(c.get("type") == "Accepted" and c.get("observedGeneration") == g
         for p in o.get("status", {}).get("parents", []) for c in p.get("conditions", []))
sys.exit(0 if ok else 1)'
}

# settle LABEL KIND/NAME...: the routes' status carries kgc's verdict at their generation (an
# Accepted condition of kgc's), then Kong's configuration hash stops changing.
settle() {
    local label=$1 r last= h n=0
    shift
    for r; do
        wait_until 30 0.2 route_judged "$r" || { bad "$label: $r has no status of kgc's"; return 1; }
    done
    for _ in $(seq 1 40); do # the hash the test Kong holds, unchanged for 1 s
        h=$(curl -sf "$KONG/status" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("configuration_hash",""))' 2>/dev/null)
        if [[ -n $h && $h == "$last" ]]; then n=$((n + 1)); else n=0; fi
        last=$h
        [[ $n -ge 4 ]] && return 0
        sleep 0.25
    done
    return 0
}

# send LABEL PROTO GWPORT SNI COUNT: COUNT connections (TLS with SNI, "-" none) to the Kong listen
# the Gateway port GWPORT is served on; the answers' backends ("ns/name", "-" when none) one per
# line in $TMP/answers, with "terminated"/"passthrough" for TLS.
send() {
    local proto=$1 gwport=$2 sni=$3 count=$4 kp args=()
    case $proto in
    tcp) kp=${KPORT["TCP $gwport"]} ;;
    udp) kp=${KPORT["UDP $gwport"]} ;;
    tls)
        kp=${KPORT["TLS $gwport"]}
        [[ $sni != - ]] && args+=(--sni "$sni")
        ;;
    esac
    python3 "$CLIENT" "$proto" 127.0.0.1 "$kp" "${args[@]}" --count "$count" --timeout 3 \
        >"$TMP/raw" 2>/dev/null
    python3 - "$TMP/raw" "$TMP/ipmap" "$count" "$sni" >"$TMP/answers" <<'PY'
import json, sys
ipmap = {}
for line in open(sys.argv[2]):
    ip, name = line.split()
    ipmap[ip] = name
n = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    a = json.loads(line)
    t = ((a.get("kong") or {}).get("target") or "").rsplit(":", 1)[0]
    mode = a.get("protocol")
    if a.get("passthrough"):
        mode = "passthrough"
    elif mode == "tls":  # Kong terminated it: with the listener's certificate for that SNI
        cn = a.get("peer_cn")
        mode = "terminated" if cn == sys.argv[4] else "terminated-with-cn-%s" % cn
    print(ipmap.get(t, "?" + t), mode)
    n += 1
for _ in range(int(sys.argv[3]) - n):
    print("- none")
PY
}

# expect LABEL PROTO GWPORT SNI WANT [MODE]: one connection reaches backend WANT ("ns/name"; "-":
# refused / no reply), through MODE for TLS: "terminated" (by Kong, presenting the certificate
# whose CN is the SNI: the listener's) or "passthrough".
expect() {
    local label=$1 proto=$2 gwport=$3 sni=$4 want=$5 mode=${6:-} got shown=
    [[ $sni != - ]] && shown=" sni $sni"
    send "$proto" "$gwport" "$sni" 1
    got=$(head -1 "$TMP/answers")
    if [[ ${got%% *} == "$want" && ( -z $mode || ${got#* } == "$mode" ) ]]; then
        ok "$label: $proto :$gwport$shown → $want${mode:+ ($mode)}"
    else
        bad "$label: $proto :$gwport$shown: want $want${mode:+ ($mode)}, got $got"
    fi
}

# spread LABEL PROTO GWPORT SVC=WEIGHT...: 100 connections split as the weights say (each
# backend's share within 0.15 of its weight's; a weight 0 backend gets none).
spread() {
    local label=$1 proto=$2 gwport=$3
    shift 3
    send "$proto" "$gwport" - 100
    if python3 - "$TMP/answers" "$@" <<'PY'; then ok "$label: $proto :$gwport weighted spread ($(cut -d' ' -f1 "$TMP/answers" | sort | uniq -c | tr '\n' ' '))"; else bad "$label: $proto :$gwport spread: $(cut -d' ' -f1 "$TMP/answers" | sort | uniq -c | tr '\n' ' ')"; fi
import sys
got = [l.split()[0] for l in open(sys.argv[1])]
want = dict(a.split("=") for a in sys.argv[2:])
total = sum(int(w) for w in want.values())
for svc, w in want.items():
    share = got.count(svc) / max(len(got), 1)
    if int(w) == 0 and share > 0 or abs(share - int(w) / total) > 0.15:
        sys.exit(1)
sys.exit(0 if all(g in want for g in got) else 1)
PY
}

run() { # run MANIFEST ROUTE...: apply, endpoints, settle
    local m=$1
    shift
    conformance_manifest "$m" "$CLASS" | k apply -f - >"$TMP/apply.out" 2>&1 ||
        { bad "$m: kubectl apply: $(tr '\n' ' ' <"$TMP/apply.out")"; return 1; }
    endpoints || bad "$m: EndpointSlices"
    settle "$m" "$@"
}
done_with() { conformance_manifest "$1" "$CLASS" | k delete --ignore-not-found --wait=true -f - >/dev/null 2>&1; }
I=$INFRA

# --- TCPRoute ---
run tcproute-weighted-routing tcproute/tcp-weighted-route &&
    spread tcproute-weighted-routing tcp 9300 "$I/tcp-backend-v1=70" "$I/tcp-backend-v2=30" "$I/tcp-backend-v3=0"
done_with tcproute-weighted-routing

run tcproute-parentref-port-and-section-name tcproute/tcp-route-by-port tcproute/tcp-route-by-section \
    tcproute/tcp-route-by-section-and-port && {
    expect tcproute-parentref-port-and-section-name tcp 9300 - "$I/tcp-echo-one"
    expect tcproute-parentref-port-and-section-name tcp 9301 - "$I/tcp-echo-two"
    expect tcproute-parentref-port-and-section-name tcp 9302 - "$I/tcp-echo-three"
}
done_with tcproute-parentref-port-and-section-name

run tcproute-parentref-attach-all tcproute/tcp-route-attach-all &&
    for p in 9310 9311 9312 9313; do expect tcproute-parentref-attach-all tcp $p - "$I/tcp-echo-attach-all"; done
done_with tcproute-parentref-attach-all

run tcproute-multiple-routes-attachment tcproute/tcproute-attach-older && {
    k apply -f - >/dev/null <<EOF
{"apiVersion":"gateway.networking.k8s.io/v1","kind":"TCPRoute","metadata":{"name":"tcproute-attach-newer","namespace":"$I"},
 "spec":{"parentRefs":[{"name":"tcp-multi-route-attach-gateway","sectionName":"tcp"}],"rules":[{"backendRefs":[{"name":"tcp-attach-backend-2","port":3000}]}]}}
EOF
    settle tcproute-multiple-routes-attachment tcproute/tcproute-attach-newer
    spread "tcproute-multiple-routes-attachment (only the oldest route)" tcp 9310 "$I/tcp-attach-backend-1=1"
    k -n "$I" delete tcproute tcproute-attach-newer --wait=true >/dev/null
}
done_with tcproute-multiple-routes-attachment

run tcproute-reference-grant tcproute/tcp-reference-grant && {
    expect "tcproute-reference-grant (granted)" tcp 9320 - gateway-conformance-web-backend/tcp-reference-grant-backend
    k -n gateway-conformance-web-backend delete referencegrant tcp-reference-grant --wait=true >/dev/null
    settle tcproute-reference-grant tcproute/tcp-reference-grant
    sleep 1
    expect "tcproute-reference-grant (grant deleted)" tcp 9320 - -
}
done_with tcproute-reference-grant

run tcproute-invalid-backendref-nonexistent tcproute/tcp-route-invalid-backend-ref-nonexistent &&
    expect tcproute-invalid-backendref-nonexistent tcp 9300 - -
done_with tcproute-invalid-backendref-nonexistent
run tcproute-invalid-cross-namespace-backend-ref tcproute/tcp-invalid-cross-namespace-backend-ref &&
    expect tcproute-invalid-cross-namespace-backend-ref tcp 9321 - -
done_with tcproute-invalid-cross-namespace-backend-ref

# --- UDPRoute ---
run udproute-simple udproute/udp-coredns && expect udproute-simple udp 5300 - "$I/coredns"
done_with udproute-simple
run udproute-weighted-routing udproute/udp-weighted-route &&
    spread udproute-weighted-routing udp 5300 "$I/udp-backend-v1=70" "$I/udp-backend-v2=30" "$I/udp-backend-v3=0"
done_with udproute-weighted-routing
run udproute-parentref-port-and-section-name udproute/udp-route-by-port udproute/udp-route-by-section \
    udproute/udp-route-by-section-and-port && {
    expect udproute-parentref-port-and-section-name udp 5300 - "$I/udp-echo-by-port"
    expect udproute-parentref-port-and-section-name udp 5301 - "$I/udp-echo-by-section"
    expect udproute-parentref-port-and-section-name udp 5302 - "$I/udp-echo-by-section-and-port"
}
done_with udproute-parentref-port-and-section-name
run udproute-parentref-attach-all-listeners udproute/udp-route-attach-all &&
    for p in 5310 5311 5312; do expect udproute-parentref-attach-all-listeners udp $p - "$I/udp-echo-attach-all"; done
done_with udproute-parentref-attach-all-listeners
run udproute-multiple-routes-attachment udproute/udproute-attach-older && {
    k apply -f - >/dev/null <<EOF
{"apiVersion":"gateway.networking.k8s.io/v1","kind":"UDPRoute","metadata":{"name":"udproute-attach-newer","namespace":"$I"},
 "spec":{"parentRefs":[{"name":"udp-multi-route-attach-gateway","sectionName":"udp"}],"rules":[{"backendRefs":[{"name":"udp-attach-backend-2","port":8080}]}]}}
EOF
    settle udproute-multiple-routes-attachment udproute/udproute-attach-newer
    spread "udproute-multiple-routes-attachment (only the oldest route)" udp 5301 "$I/udp-attach-backend-1=1"
    k -n "$I" delete udproute udproute-attach-newer --wait=true >/dev/null
}
done_with udproute-multiple-routes-attachment
run udproute-reference-grant udproute/udp-route-reference-grant && {
    expect "udproute-reference-grant (granted)" udp 5300 - gateway-conformance-app-backend/udp-echo-reference-grant
    k -n gateway-conformance-app-backend delete referencegrant udp-reference-grant --wait=true >/dev/null
    settle udproute-reference-grant udproute/udp-route-reference-grant
    sleep 1
    expect "udproute-reference-grant (grant deleted)" udp 5300 - -
}
done_with udproute-reference-grant
run udproute-invalid-backendref-nonexistent udproute/udp-route-invalid-backend-ref-nonexistent &&
    expect udproute-invalid-backendref-nonexistent udp 5300 - -
done_with udproute-invalid-backendref-nonexistent
run udproute-invalid-cross-namespace-backend-ref udproute/udp-route-invalid-cross-namespace-backend-ref &&
    expect udproute-invalid-cross-namespace-backend-ref udp 5300 - -
done_with udproute-invalid-cross-namespace-backend-ref

# --- TLSRoute ---
run tlsroute-simple-same-namespace tlsroute/gateway-conformance-infra-test &&
    expect tlsroute-simple-same-namespace tls 443 abc.example.com "$I/tcp-backend" passthrough
done_with tlsroute-simple-same-namespace
run tlsroute-terminate-simple-same-namespace tlsroute/tlsroute-terminated-test &&
    expect tlsroute-terminate-simple-same-namespace tls 8443 tls.example.com "$I/tcp-backend" terminated
done_with tlsroute-terminate-simple-same-namespace
run tlsroute-mixed-termination-same-namespace tlsroute/gateway-conformance-mixed-passthroughroute \
    tlsroute/gateway-conformance-mixed-terminateroute && {
    expect tlsroute-mixed-termination-same-namespace tls 8883 abc.example.com "$I/tcp-backend" passthrough
    expect tlsroute-mixed-termination-same-namespace tls 8883 tls.example.com "$I/tcp-backend" terminated
}
done_with tlsroute-mixed-termination-same-namespace
run tlsroute-invalid-backendref-nonexistent tlsroute/invalid-backend-ref-nonexistent &&
    expect tlsroute-invalid-backendref-nonexistent tls 443 example.com -
done_with tlsroute-invalid-backendref-nonexistent
run tlsroute-invalid-reference-grant tlsroute/gateway-conformance-infra-test &&
    expect tlsroute-invalid-reference-grant tls 443 abc.example.com -
done_with tlsroute-invalid-reference-grant

stop_kgc main && ok "kgc stops on SIGTERM with exit 0" || bad "kgc exit status on SIGTERM"
if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$KGC_LOG" >/dev/null; then
    bad "sanitizer reports in kgc's log"
fi
finish

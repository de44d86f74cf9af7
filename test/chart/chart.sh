#!/usr/bin/env bash
# Checks the Helm chart charts/kgc with the real helm: lint --strict, rendering,
# schema rejection, and assertions on the rendered objects (parsed by helm's own
# YAML parser into JSON, then checked with python3); then `kubectl apply --dry-run=server` of
# five renderings (defaults, persistence with 3 and 2 replicas, NetworkPolicy with egress, both off)
# against the test API server ($BUILD/kgc-test-apiserver, BUILD=build default).
# Last line: "N passed, N failed"; exit status non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
HELM=${HELM:-$PWD/.tools/bin/helm}
KUBECTL=${KUBECTL:-$PWD/.tools/bin/kubectl}
BUILD=${BUILD:-build}
# The Gateway API CRDs and conformance manifests of the pinned version, put there by `make deps`
# (scripts/deps.sh); KGC_GATEWAY_API_DIR overrides.
GWAPI=${KGC_GATEWAY_API_DIR:-$PWD/.deps/gateway-api}
CHART=charts/kgc
VALS=test/chart/values
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "FAIL - $1"; fail=$((fail + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [[ ! -x $HELM ]]; then
    bad "helm not found at $HELM"
    echo "$pass passed, $fail failed"; exit 1
fi

# A throw-away chart that turns a rendered multi-document file into one JSON object per line.
mkdir -p "$tmp/conv/templates"
printf 'apiVersion: v2\nname: conv\nversion: 0.0.1\n' >"$tmp/conv/Chart.yaml"
cat >"$tmp/conv/templates/conv.yaml" <<'TPL'
{{- range (regexSplit "(?m)^---\\s*$" (.Files.Get "in.yaml") -1) }}
{{- $o := fromYaml . }}
{{- if $o.kind }}
{{ toJson $o }}
{{- end }}
{{- end }}
TPL

# render NAME [helm template args...]: renders into $tmp/NAME.yaml and $tmp/NAME.json (JSON lines).
render() {
    local name=$1; shift
    if ! timeout 20 "$HELM" template r "$CHART" --namespace kgc-system "$@" >"$tmp/$name.yaml" 2>"$tmp/$name.err"; then
        bad "helm template $name renders"; cat "$tmp/$name.err"; return 1
    fi
    cp "$tmp/$name.yaml" "$tmp/conv/in.yaml"
    if ! timeout 20 "$HELM" template c "$tmp/conv" 2>"$tmp/$name.err" | grep '^{' >"$tmp/$name.json"; then
        bad "convert $name to JSON"; cat "$tmp/$name.err"; return 1
    fi
    ok "helm template $name renders ($(wc -l <"$tmp/$name.json") objects)"
}

# py NAME 'python expression over objs'  — true if the expression is truthy.
py() {
    python3 - "$tmp/$1.json" "$2" <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def kind(k): return [o for o in objs if o["kind"] == k]
def one(k):
    l = kind(k); assert len(l) == 1, f"{len(l)} {k}"; return l[0]
def workload():
    l = kind("Deployment") + kind("StatefulSet"); assert len(l) == 1, f"{len(l)} workloads"; return l[0]
def pod(): return workload()["spec"]["template"]["spec"]
def ctr(): return pod()["containers"][0]
def args(): return ctr()["args"]
def vols(): return pod()["volumes"]
def svc(suffix): return [x for x in kind("Service") if x["metadata"]["name"].endswith(suffix)][0]
try:
    r = eval(sys.argv[2])
except Exception as e:
    print(f"  error: {type(e).__name__}: {e}"); r = False
if not r:
    print(f"  assertion false: {sys.argv[2]}")
sys.exit(0 if r else 1)
PY
}

# --- lint --------------------------------------------------------------------------------
lint() { # lint NAME helm-lint-args...
    local name=$1; shift
    if timeout 20 "$HELM" lint --strict "$CHART" "$@" >"$tmp/lint.out" 2>&1; then ok "$name"; else bad "$name"; cat "$tmp/lint.out"; fi
}
lint "helm lint --strict (defaults)"
n=0
for f in "$VALS"/*.yaml; do
    lint "helm lint --strict -f $(basename "$f")" -f "$f"; n=$((n + 1))
done
check "at least 3 value files under $VALS" test "$n" -ge 3

# --- Chart.yaml --------------------------------------------------------------------------
check "Chart.yaml apiVersion v2" grep -qx 'apiVersion: v2' "$CHART/Chart.yaml"
check "Chart.yaml appVersion = VERSION" grep -qx "appVersion: \"$(cat VERSION)\"" "$CHART/Chart.yaml"
check "NOTES.txt explains the cache dump" \
    bash -c "grep -q 'port-forward' $CHART/templates/NOTES.txt && grep -q '127.0.0.1:10256/debug/cache' $CHART/templates/NOTES.txt"
# every value line in values.yaml is preceded by a comment (directly or via its parent block)
check "values.yaml: every key has a comment" awk '
    /^[[:space:]]*#/ { c = 1; next }
    /^[[:space:]]*$/ { next }
    /^[[:space:]]*-/ { next }
    /^[[:space:]]*[A-Za-z0-9_]+:/ {
        ind = match($0, /[^ ]/) - 1
        leaf = ($0 !~ /:[[:space:]]*$/)
        if (leaf && !c && !(ind in blockc && blockc[ind])) { print "  no comment: " $0; bad = 1 }
        if (!leaf) { for (i in blockc) if (i + 0 > ind) delete blockc[i]; blockc[ind + 2] = (c || ((ind in blockc) && blockc[ind])) }
        c = 0; next
    }
    END { exit bad }' "$CHART/values.yaml"

# --- defaults ------------------------------------------------------------------------------
if render default; then
    check "default: replicas 2" py default 'workload()["spec"]["replicas"] == 2'
    check "default: --leader-elect with 2 replicas" py default '"--leader-elect" in args()'
    check "default: worker counts 1/4/4 and the others' defaults" py default '{"--gatewayclass-workers=1","--gateway-workers=4","--httproute-workers=4","--grpcroute-workers=2","--kongplugin-workers=1","--backendtlspolicy-workers=1","--listenerset-workers=1","--tlsroute-workers=1","--tcproute-workers=1","--udproute-workers=1"} <= set(args())'
    check "default: --http-listen :10254, debug on loopback" py default '"--http-listen=:10254" in args() and "--debug-listen=127.0.0.1:10256" in args()'
    check "default: --listener-cache-dir and its mount" py default '"--listener-cache-dir=/var/lib/kgc/listeners" in args() and any(m["mountPath"] == "/var/lib/kgc/listeners" for m in ctr()["volumeMounts"])'
    check "default: a Deployment with an emptyDir, no StatefulSet, no PVC" py default 'kind("Deployment") and not kind("StatefulSet") and vols() == [{"name": "listener-cache", "emptyDir": {}}] and not kind("PersistentVolumeClaim")'
    check "default: NetworkPolicy isolates the pods for ingress, admits no pod (probes come from the node)" py default '(lambda n: n["spec"]["policyTypes"] == ["Ingress"] and n["spec"]["ingress"] == [] and n["spec"]["podSelector"]["matchLabels"] == workload()["spec"]["selector"]["matchLabels"])(one("NetworkPolicy"))'
    check "default: PodDisruptionBudget maxUnavailable 1 over the pods" py default '(lambda p: p["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": workload()["spec"]["selector"]["matchLabels"]}})(one("PodDisruptionBudget"))'
    check "default: no invalid-backend flags, port or Service" py default 'not any(a.startswith("--invalid-backend") for a in args()) and not any(p["name"] == "invalid-backend" for p in ctr()["ports"]) and "strategy" not in workload()["spec"]'
    check "default: image tag = appVersion" py default "ctr()[\"image\"].endswith(\":$(cat VERSION)\")"
    check "default: probes /healthz /readyz on their own listener, 10253" py default 'ctr()["livenessProbe"]["httpGet"]["path"] == "/healthz" and ctr()["readinessProbe"]["httpGet"]["path"] == "/readyz" and ctr()["readinessProbe"]["httpGet"]["port"] == ctr()["livenessProbe"]["httpGet"]["port"] and any(p["containerPort"] == 10253 and p["name"] == ctr()["livenessProbe"]["httpGet"]["port"] for p in ctr()["ports"]) and "--probe-listen=:10253" in args()'
    check "default: resources requests 50m/64Mi, limit 256Mi" py default 'ctr()["resources"] == {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}'
    check "default: container securityContext hardened" py default '(lambda s: s["runAsNonRoot"] is True and s["readOnlyRootFilesystem"] is True and s["allowPrivilegeEscalation"] is False and s["capabilities"]["drop"] == ["ALL"] and s["seccompProfile"]["type"] == "RuntimeDefault")(ctr()["securityContext"])'
    check "default: POD_NAMESPACE from the downward API" py default 'any(e["name"] == "POD_NAMESPACE" and e["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace" for e in ctr()["env"])'
    check "default: ServiceAccount used by the pods" py default 'pod()["serviceAccountName"] == one("ServiceAccount")["metadata"]["name"]'
    check "default: metrics Service on 10254, no debug Service, no ServiceMonitor" py default '[s["spec"]["ports"][0]["port"] for s in kind("Service")] == [10254] and not kind("ServiceMonitor")'
    check "default: controller name" py default '"--controller-name=konghq.com/kgc-gateway-controller" in args()'
    # RBAC: exact least-privilege rule set
    check "rbac: ClusterRole is exactly the least set" py default '
sorted((tuple(r["apiGroups"]), res, tuple(sorted(r["verbs"]))) for r in one("ClusterRole")["rules"] for res in r["resources"]) == sorted(
 [(("gateway.networking.k8s.io",), x, ("get","list","watch")) for x in ("gatewayclasses","gateways","httproutes","grpcroutes","referencegrants","backendtlspolicies","listenersets","tlsroutes","tcproutes","udproutes")] +
 [(("gateway.networking.k8s.io",), x, ("patch",)) for x in ("gatewayclasses/status","gateways/status","httproutes/status","grpcroutes/status","backendtlspolicies/status","listenersets/status","tlsroutes/status","tcproutes/status","udproutes/status")] +
 [(("",), x, ("get","list","watch")) for x in ("services","secrets","namespaces","configmaps")] +
 [(("discovery.k8s.io",), "endpointslices", ("get","list","watch"))] +
 [(("configuration.konghq.com",), x, ("get","list","watch")) for x in ("kongplugins","kongclusterplugins")] +
 [(("configuration.konghq.com",), x, ("patch",)) for x in ("kongplugins/status","kongclusterplugins/status")])'
    check "rbac: no wildcard anywhere" py default 'not any("*" in v for o in kind("ClusterRole") + kind("Role") for r in o["rules"] for k in ("apiGroups","resources","verbs") for v in r.get(k, []))'
    check "rbac: secrets only get/list/watch" py default 'all(set(r["verbs"]) <= {"get","list","watch"} for r in one("ClusterRole")["rules"] if "secrets" in r["resources"])'
    check "rbac: status is patched, never updated (kgc only sends merge patches)" py default 'not any("update" in r["verbs"] for r in one("ClusterRole")["rules"])'
    check "rbac: update/patch only on status subresources" py default 'all(all(x.endswith("/status") for x in r["resources"]) for r in one("ClusterRole")["rules"] if set(r["verbs"]) & {"update","patch","create","delete"})'
    check "rbac: Role for leases in release namespace" py default '(lambda r: r["metadata"]["namespace"] == "kgc-system" and r["rules"] == [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get","create","update"]}])(one("Role"))'
    check "rbac: bindings point at the ServiceAccount" py default 'all(b["subjects"] == [{"kind": "ServiceAccount", "name": one("ServiceAccount")["metadata"]["name"], "namespace": "kgc-system"}] for b in kind("ClusterRoleBinding") + kind("RoleBinding"))'
fi

if render norbac --set rbac.create=false --set serviceAccount.create=false; then
    check "rbac.create=false: no RBAC objects, no ServiceAccount" py norbac 'not (kind("ClusterRole") or kind("Role") or kind("ClusterRoleBinding") or kind("RoleBinding") or kind("ServiceAccount"))'
fi

# --- persistence: a StatefulSet, one claim per pod, any replica count -------------------------
if render persistence -f "$VALS/persistence.yaml"; then
    check "persistence: worker counts reach the args" py persistence '{"--gatewayclass-workers=2","--gateway-workers=7","--httproute-workers=9","--grpcroute-workers=3","--tcproute-workers=5"} <= set(args())'
    check "persistence: a StatefulSet of 3 replicas with --leader-elect, no Deployment, no shared PVC" py persistence 'one("StatefulSet")["spec"]["replicas"] == 3 and "--leader-elect" in args() and not kind("Deployment") and not kind("PersistentVolumeClaim")'
    check "persistence: volumeClaimTemplates listener-cache with size, class, access modes" py persistence '(lambda t: len(t) == 1 and t[0]["metadata"]["name"] == "listener-cache" and t[0]["spec"]["resources"]["requests"]["storage"] == "128Mi" and t[0]["spec"]["storageClassName"] == "fast" and t[0]["spec"]["accessModes"] == ["ReadWriteOnce"])(one("StatefulSet")["spec"]["volumeClaimTemplates"])'
    check "persistence: the cache mount is the claim template (no pod volume of that name)" py persistence 'any(m["name"] == "listener-cache" and m["mountPath"] == "/var/lib/kgc/listeners" for m in ctr()["volumeMounts"]) and not any(v["name"] == "listener-cache" for v in pod().get("volumes", []))'
    check "persistence: pods start in parallel and roll one by one" py persistence 'one("StatefulSet")["spec"]["podManagementPolicy"] == "Parallel" and one("StatefulSet")["spec"]["updateStrategy"] == {"type": "RollingUpdate"}'
    check "persistence: serviceName is a headless Service selecting the pods" py persistence '(lambda st, s: s["spec"]["clusterIP"] == "None" and s["spec"]["selector"] == st["spec"]["selector"]["matchLabels"])(one("StatefulSet"), svc("-pods")) and one("StatefulSet")["spec"]["serviceName"] == svc("-pods")["metadata"]["name"]'
    check "persistence: invalid-backend endpoint listens on 10257, Kong targets its Service" py persistence '"--invalid-backend-listen=:10257" in args() and "--invalid-backend-target=r-kgc-invalid-backend.kgc-system.svc.cluster.local:10257" in args() and any(p["containerPort"] == 10257 and p["name"] == "invalid-backend" for p in ctr()["ports"])'
    check "persistence: the invalid-backend Service selects the pods on 10257" py persistence '(lambda s: s["spec"]["ports"][0]["port"] == 10257 and s["spec"]["ports"][0]["targetPort"] == "invalid-backend" and s["spec"]["selector"] == workload()["spec"]["selector"]["matchLabels"])(svc("-invalid-backend"))'
    check "persistence: repeated --kong-admin-url" py persistence '[a for a in args() if a.startswith("--kong-admin-url")] == ["--kong-admin-url=http://kong-admin-0.kong:8001", "--kong-admin-url=https://kong-admin-1.kong:8444"] and not any(a.startswith("--kong-admin-service") for a in args())'
    check "persistence: --kong-probe-interval" py persistence '"--kong-probe-interval=500ms" in args()'
    check "persistence: debug Service on 10256 and --debug-listen :10256 (NetworkPolicy off)" py persistence '"--debug-listen=:10256" in args() and sorted(s["spec"]["ports"][0]["port"] for s in kind("Service")) == [10254, 10254, 10256, 10257] and not kind("NetworkPolicy")'
fi
if render adminheaders --set 'kong.adminUrls[0]=https://kong:8444' --set kong.adminHeadersSecret=kong-token \
    --set kong.tlsServerName=kong-admin.kong.svc --set listenerCache.persistence.enabled=true; then
    check "adminHeadersSecret: the Secret's headers key is mounted read-only and passed as --kong-admin-header-file" py adminheaders '"--kong-admin-header-file=/etc/kgc/admin-headers/headers" in args() and any(m["name"] == "admin-headers" and m["mountPath"] == "/etc/kgc/admin-headers" and m["readOnly"] for m in ctr()["volumeMounts"]) and any(v["name"] == "admin-headers" and v["secret"]["secretName"] == "kong-token" and v["secret"]["items"] == [{"key": "headers", "path": "headers"}] for v in vols())'
    check "adminHeadersSecret: no header value on the command line; tlsServerName reaches --kong-admin-tls-server-name" py adminheaders 'not any(a.startswith("--kong-admin-header=") for a in args()) and "--kong-admin-tls-server-name=kong-admin.kong.svc" in args()'
fi
# the StatefulSet's pod template is the Deployment's one, apart from the listener-cache volume
if render persist_default --set listenerCache.persistence.enabled=true; then
    python3 - "$tmp/default.json" "$tmp/persist_default.json" >"$tmp/same.out" 2>&1 <<'PY'
import json, sys
def pod(f, k):
    o = [json.loads(l) for l in open(f) if l.strip()]
    t = [x for x in o if x["kind"] == k][0]["spec"]["template"]
    t["spec"].pop("volumes", None)
    return t
a, b = pod(sys.argv[1], "Deployment"), pod(sys.argv[2], "StatefulSet")
sys.exit(0 if a == b else 1)
PY
    check "persistence: StatefulSet pod template = Deployment pod template but the emptyDir" test $? -eq 0
fi
if render persist2 --set listenerCache.persistence.enabled=true --set replicaCount=2; then
    check "persistence replicaCount=2: StatefulSet of 2, one claim template, leader election, PDB and NetworkPolicy" py persist2 'one("StatefulSet")["spec"]["replicas"] == 2 and len(one("StatefulSet")["spec"]["volumeClaimTemplates"]) == 1 and "--leader-elect" in args() and one("PodDisruptionBudget")["spec"]["maxUnavailable"] == 1 and one("NetworkPolicy")'
fi
if render persist1 --set listenerCache.persistence.enabled=true --set replicaCount=1; then
    check "persistence replicaCount=1: StatefulSet of 1, no --leader-elect" py persist1 'one("StatefulSet")["spec"]["replicas"] == 1 and not any(a.startswith("--leader-elect") for a in args())'
fi

# --- NetworkPolicy and PodDisruptionBudget ----------------------------------------------------
if render netpol -f "$VALS/networkpolicy.yaml"; then
    check "netpol: 10254 only from the configured peers, 10257 only from Kong, never 10256" py netpol '(lambda n: [([p["port"] for p in r["ports"]], r["from"]) for r in n["spec"]["ingress"]] == [([10254], [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}, "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}]), ([10257], [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kong"}}, "podSelector": {"matchLabels": {"app.kubernetes.io/name": "kong"}}}])])(one("NetworkPolicy"))'
    check "netpol: no rule names the debug port, debug stays on loopback" py netpol 'not any(p["port"] in (10256, "debug") for r in one("NetworkPolicy")["spec"]["ingress"] + one("NetworkPolicy")["spec"]["egress"] for p in r["ports"]) and "--debug-listen=127.0.0.1:10256" in args()'
    check "netpol: egress to the API server CIDRs, Kong admin and kube-dns only" py netpol '(lambda n: n["spec"]["policyTypes"] == ["Ingress", "Egress"] and [sorted((p["protocol"], p["port"]) for p in r["ports"]) for r in n["spec"]["egress"]] == [[("TCP", 443), ("TCP", 6443)], [("TCP", 8001), ("TCP", 8444)], [("TCP", 53), ("UDP", 53)]] and n["spec"]["egress"][0]["to"] == [{"ipBlock": {"cidr": "172.18.0.2/32"}}] and n["spec"]["egress"][2]["to"][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"})(one("NetworkPolicy"))'
    check "netpol: PDB minAvailable 50% replaces maxUnavailable" py netpol 'one("PodDisruptionBudget")["spec"]["minAvailable"] == "50%" and "maxUnavailable" not in one("PodDisruptionBudget")["spec"]'
fi
if render off --set networkPolicy.enabled=false --set podDisruptionBudget.enabled=false; then
    check "networkPolicy.enabled=false, podDisruptionBudget.enabled=false: neither rendered" py off 'not kind("NetworkPolicy") and not kind("PodDisruptionBudget") and kind("Deployment")'
fi

# --- single replica -------------------------------------------------------------------------
if render single -f "$VALS/single-replica.yaml"; then
    check "single: replicas 1, no --leader-elect" py single 'workload()["spec"]["replicas"] == 1 and not any(a.startswith("--leader-elect") or a.startswith("--election") for a in args())'
    check "single: controller name, log level/format" py single '{"--controller-name=example.com/my-controller","--log-level=debug","--log-format=json"} <= set(args())'
    check "single: extraArgs appended, extraEnv added" py single 'args()[-1] == "--sync-debounce=200ms" and {"name": "KGC_QUEUE_QPS", "value": "20"} in ctr()["env"]'
fi

# --- admin service + ServiceMonitor ---------------------------------------------------------
if render adminsvc -f "$VALS/adminservice-servicemonitor.yaml"; then
    check "adminsvc: --kong-admin-service, no --kong-admin-url" py adminsvc '"--kong-admin-service=kong/kong-admin" in args() and not any(a.startswith("--kong-admin-url") for a in args())'
    check "adminsvc: --publish-service" py adminsvc '"--publish-service=kong/kong-proxy" in args()'
    check "adminsvc: ServiceMonitor selects the metrics Service" py adminsvc '(lambda m, s: m["metadata"]["labels"]["release"] == "prometheus" and m["spec"]["endpoints"][0]["port"] == s["spec"]["ports"][0]["name"] and m["spec"]["endpoints"][0]["interval"] == "15s" and all(s["metadata"]["labels"].get(k) == v for k, v in m["spec"]["selector"]["matchLabels"].items()))(one("ServiceMonitor"), one("Service"))'
fi

# --- kubectl apply --dry-run=server against the test API server ------------------------------
# The rendered objects go through a real API server's validation and defaulting (the test
# server's: build/kgc-test-apiserver, which serves every kind the chart renders but the
# ServiceMonitor, whose CRD is the Prometheus Operator's: the adminsvc rendering is left out),
# and nothing may be stored.
dry_run_section() {
    local api_bin=$BUILD/kgc-test-apiserver api="" f
    if [[ ! -x $api_bin || ! -x $KUBECTL ]]; then
        bad "dry-run: $api_bin and $KUBECTL exist (build with make BUILD=$BUILD)"; return
    fi
    "$api_bin" --listen 127.0.0.1:0 >"$tmp/api.out" 2>"$tmp/api.err" &
    API_PID=$!
    for _ in $(seq 1 100); do
        api=$(sed -n 's/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$tmp/api.out" | head -1)
        [[ -n $api ]] && break
        sleep 0.1
    done
    if [[ -z $api ]]; then bad "dry-run: test API server starts"; cat "$tmp/api.err"; return; fi
    cat >"$tmp/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "$api"}
users:
- name: test
  user: {}
contexts:
- name: test
  context: {cluster: test, user: test}
current-context: test
KC
    k() { KUBECONFIG=$tmp/kubeconfig timeout 60 "$KUBECTL" --cache-dir "$tmp/kcache" "$@"; }
    if k apply --server-side -f "$GWAPI/crds/" >"$tmp/crds.out" 2>&1 &&
        k wait --for=condition=Established crd --all --timeout=30s >>"$tmp/crds.out" 2>&1 &&
        k create namespace kgc-system >>"$tmp/crds.out" 2>&1; then
        ok "dry-run: Gateway API CRDs applied, namespace kgc-system created"
    else
        bad "dry-run: Gateway API CRDs applied, namespace kgc-system created"; cat "$tmp/crds.out"; return
    fi
    objects() { k get --raw /_test/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["objects"])'; }
    local before after n
    before=$(objects)
    for f in default persistence persist2 netpol off; do
        [[ -s $tmp/$f.yaml ]] || { bad "dry-run $f: rendered"; continue; }
        n=$(wc -l <"$tmp/$f.json")
        if k apply --dry-run=server -f "$tmp/$f.yaml" >"$tmp/dry-$f.out" 2>&1 &&
            [[ $(grep -c '(server dry run)$' "$tmp/dry-$f.out") -eq $n ]]; then
            ok "dry-run $f: kubectl apply --dry-run=server accepts all $n objects"
        else
            bad "dry-run $f: kubectl apply --dry-run=server accepts all $n objects"; cat "$tmp/dry-$f.out"
        fi
        # every kind is served (else kubectl get fails) and no object exists afterwards
        if k get -f "$tmp/$f.yaml" --ignore-not-found -o name >"$tmp/get-$f.out" 2>&1 && [[ ! -s $tmp/get-$f.out ]]; then
            ok "dry-run $f: kubectl get finds none of the $n objects"
        else
            bad "dry-run $f: kubectl get finds none of the $n objects"; cat "$tmp/get-$f.out"
        fi
    done
    after=$(objects)
    check "dry-run: the API server stores no new object ($before before, $after after)" test "$before" = "$after"
    # the dry run validates: a PVC access mode the API does not know is refused
    if [[ -s $tmp/persistence.yaml ]]; then
        sed 's/ReadWriteOnce/ReadWriteSometimes/' "$tmp/persistence.yaml" >"$tmp/badpvc.yaml"
        if k apply --dry-run=server -f "$tmp/badpvc.yaml" >"$tmp/badpvc.out" 2>&1; then
            bad "dry-run: a PVC with accessModes ReadWriteSometimes is refused"
        else
            check "dry-run: a PVC with accessModes ReadWriteSometimes is refused" grep -q 'Unsupported value: "ReadWriteSometimes"' "$tmp/badpvc.out"
        fi
    fi
    # ... and so are a StatefulSet pod management policy, a NetworkPolicy port protocol and a PDB
    # budget the API does not know
    if [[ -s $tmp/persist2.yaml && -s $tmp/netpol.yaml ]]; then
        sed 's/podManagementPolicy: Parallel/podManagementPolicy: AllAtOnce/' "$tmp/persist2.yaml" >"$tmp/badsts.yaml"
        sed 's/protocol: UDP/protocol: QUIC/' "$tmp/netpol.yaml" >"$tmp/badnp.yaml"
        if k apply --dry-run=server -f "$tmp/badsts.yaml" >"$tmp/badsts.out" 2>&1; then
            bad "dry-run: a StatefulSet with podManagementPolicy AllAtOnce is refused"
        else
            check "dry-run: a StatefulSet with podManagementPolicy AllAtOnce is refused" grep -q 'Unsupported value: "AllAtOnce"' "$tmp/badsts.out"
        fi
        if k apply --dry-run=server -f "$tmp/badnp.yaml" >"$tmp/badnp.out" 2>&1; then
            bad "dry-run: a NetworkPolicy port with protocol QUIC is refused"
        else
            check "dry-run: a NetworkPolicy port with protocol QUIC is refused" grep -q 'Unsupported value: "QUIC"' "$tmp/badnp.out"
        fi
    fi
    echo "# not dry-run: the ServiceMonitor (adminservice-servicemonitor.yaml), whose CRD the test API server lacks"
    kill -TERM "$API_PID"
    local rc=0
    wait "$API_PID" || rc=$?
    API_PID=
    if [[ $rc -eq 0 ]] && ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$tmp/api.err"; then
        ok "dry-run: the test API server stops cleanly (exit 0, no sanitizer report)"
    else
        bad "dry-run: the test API server stops cleanly (exit $rc)"; tail -30 "$tmp/api.err"
    fi
}
API_PID=
trap '[[ -n $API_PID ]] && kill "$API_PID" 2>/dev/null && wait "$API_PID" 2>/dev/null; rm -rf "$tmp"' EXIT
dry_run_section

# --- schema / validation rejects bad values -------------------------------------------------
rejects() { # rejects NAME helm-args...
    local name=$1; shift
    if timeout 20 "$HELM" template r "$CHART" "$@" >/dev/null 2>"$tmp/rej.err"; then
        bad "rejects $name"
    else
        ok "rejects $name ($(grep -m1 -oE '(schema|fail|error)[^:]*' "$tmp/rej.err" | head -1))"
    fi
}
printf 'replicaCount: "two"\n' >"$tmp/bad1.yaml"
rejects 'replicaCount: "two"' -f "$tmp/bad1.yaml"
printf 'replicaCont: 3\n' >"$tmp/bad2.yaml"
rejects 'unknown top-level key (replicaCont)' -f "$tmp/bad2.yaml"
rejects 'log.level=verbose' --set log.level=verbose
rejects 'unknown nested key workers.httproutes' --set workers.httproutes=3
rejects 'workers.gateway=0' --set workers.gateway=0
rejects 'adminUrls and adminService together' --set 'kong.adminUrls={http://a:8001}' --set kong.adminService=kong/admin
# the NetworkPolicy's promises cannot be broken by other values
rejects_with() { # rejects_with NAME GREP helm-args...
    local name=$1 want=$2; shift 2
    if timeout 20 "$HELM" template r "$CHART" "$@" >/dev/null 2>"$tmp/rej.err"; then
        bad "rejects $name"
    else
        check "rejects $name, saying why" grep -q -- "$want" "$tmp/rej.err"
    fi
}
rejects_with 'debug.service.enabled with the NetworkPolicy' 'never admits the debug port' --set debug.service.enabled=true
rejects_with 'extraArgs --debug-listen=:10254 with the NetworkPolicy' 'must listen on loopback' --set 'extraArgs={--debug-listen=:10254}'
rejects_with 'extraEnv KGC_DEBUG_LISTEN=0.0.0.0:10256 with the NetworkPolicy' 'must listen on loopback' --set 'extraEnv[0].name=KGC_DEBUG_LISTEN' --set 'extraEnv[0].value=0.0.0.0:10256'
rejects_with 'a ServiceMonitor the NetworkPolicy would starve' 'needs networkPolicy.metrics.from' --set metrics.serviceMonitor.enabled=true
rejects_with 'invalidBackend without the Kong peers' 'needs networkPolicy.invalidBackend.from' --set invalidBackend.enabled=true
rejects_with 'egress without the API server CIDRs' 'needs networkPolicy.egress.apiServer.cidrs' --set networkPolicy.egress.enabled=true
rejects 'podDisruptionBudget.maxUnavailable=some' --set podDisruptionBudget.maxUnavailable=some
rejects 'unknown key networkPolicy.ingress' --set networkPolicy.ingress=x
# the loopback and disabled debug addresses stay allowed
if timeout 20 "$HELM" template r "$CHART" --set 'extraArgs={--debug-listen=127.0.0.1:9999,--debug-listen=}' >/dev/null 2>"$tmp/rej.err"; then
    ok "accepts --debug-listen=127.0.0.1:9999 and --debug-listen= with the NetworkPolicy"
else
    bad "accepts --debug-listen=127.0.0.1:9999 and --debug-listen= with the NetworkPolicy"; cat "$tmp/rej.err"
fi

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]

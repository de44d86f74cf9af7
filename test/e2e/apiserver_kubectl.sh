#!/usr/bin/env bash
# End-to-end proof of the test Kubernetes API server (build/kgc-test-apiserver) with real kubectl:
# CRDs applied server-side, the conformance base manifests applied unchanged, get/yaml/re-apply,
# a `kind: List` (validated against /openapi/v2), generation rules, the /status subresource,
# kubectl wait and get -w (including a forced watch cut and a forced Expired), finalizers, namespace deletion, Status errors, fault injection, the audit
# log, and HTTPS with a bearer token.
#
#   BUILD=build test/e2e/apiserver_kubectl.sh      (run from the repository root)
#
# The last line is "N passed, N failed"; the exit status is non-zero when anything failed.
source "$(dirname "$0")/lib.sh"
ROOT=$PWD
KUBECTL_BIN=$ROOT/.tools/bin/kubectl
SERVER_BIN=$ROOT/$BUILD/kgc-test-apiserver
CRDS=$GWAPI/crds
BASE=$GWAPI/conformance/base-manifests.yaml
NS=gateway-conformance-infra
GATEWAYS=/apis/gateway.networking.k8s.io/v1/namespaces/$NS/gateways

# check "description" command...: passes when the command exits 0 (its stdout is dropped).
check() {
    local desc=$1
    shift
    if "$@" >/dev/null; then ok "$desc"; else bad "$desc"; fi
}

for f in "$SERVER_BIN" "$KUBECTL_BIN"; do
    if [[ ! -x $f ]]; then
        echo "missing $f"
        bad "prerequisites"
        finish
    fi
done
if [[ ! -d $CRDS || ! -f $BASE ]]; then
    echo "missing the Gateway API data under $GWAPI (run make deps)"
    bad "prerequisites"
    finish
fi

# start_server OUTFILE ERRFILE args...: starts the server, sets STARTED_PID and STARTED_URL.
start_server() {
    local out=$1 err=$2
    shift 2
    "$SERVER_BIN" --listen 127.0.0.1:0 "$@" >"$out" 2>"$err" &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    STARTED_URL=$(wait_listening "$out" "$STARTED_PID" \
        's/^listening on \(https\{0,1\}:\/\/[^ ]*\)$/\1/p' 200)
}

start_server "$TMP/server.out" "$TMP/server.err" --audit "$TMP/audit.jsonl" --bookmark-ms 500
SERVER_PID=$STARTED_PID
URL=$STARTED_URL
if [[ -z $URL ]]; then
    cat "$TMP/server.err"
    bad "server starts and prints its address"
    finish
fi
ok "server starts on $URL"

write_kubeconfig "$URL" "$TMP/kubeconfig"
export KUBECONFIG=$TMP/kubeconfig
export HOME=$TMP # kubectl keeps its discovery cache under $HOME/.kube

k() { timeout 30 "$KUBECTL_BIN" --cache-dir "$TMP/cache" "$@"; }
api() { curl -sS --max-time 20 "$@"; }               # api [curl args] URL
code() { curl -s -o "$TMP/body" -w '%{http_code}' --max-time 20 "$@"; }
# py 'python expression over d' FILE: prints the expression's value (d = the parsed JSON).
py() { python3 -c "import json,sys; d=json.load(open(sys.argv[2])); print($1)" "$1" "$2"; }

# ---- CRDs, server-side ----------------------------------------------------------------------
k apply --server-side -f "$CRDS" >"$TMP/crds.out" 2>&1
check "apply --server-side of the four CRDs prints serverside-applied" \
    test "$(grep -c 'serverside-applied' "$TMP/crds.out")" -eq 4
check "kubectl wait --for=condition=Established on every CRD" \
    k wait --for=condition=Established crd --all --timeout=20s
k api-resources --api-group=gateway.networking.k8s.io -o name >"$TMP/res.out" 2>&1
check "api-resources lists gateways, gatewayclasses, httproutes, referencegrants" \
    test "$(grep -cE '^(gateways|gatewayclasses|httproutes|referencegrants)\.' "$TMP/res.out")" -eq 4
api "$URL/apis/gateway.networking.k8s.io" >"$TMP/group.json"
check "the group serves every CRD version (v1, v1beta1), v1 preferred" \
    test "$(py '",".join(v["version"] for v in d["versions"])+"/"+d["preferredVersion"]["version"]' "$TMP/group.json")" = "v1,v1beta1/v1"
api -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' \
    -D "$TMP/agg.hdr" "$URL/apis" >"$TMP/agg.json"
check "aggregated discovery: exact content type and the status subresource and scope of gateways" \
    test "$(grep -ic '^content-type: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' "$TMP/agg.hdr")/$(py '[(r["scope"],[s["subresource"] for s in r.get("subresources",[])]) for g in d["items"] if g["metadata"].get("name")=="gateway.networking.k8s.io" for v in g["versions"] if v["version"]=="v1" for r in v["resources"] if r["resource"]=="gatewayclasses"]' "$TMP/agg.json")" = "1/[('Cluster', ['status'])]"
rv_before=$(py 'd["metadata"]["resourceVersion"]' <(api "$URL/apis/apiextensions.k8s.io/v1/customresourcedefinitions"))
k apply --server-side -f "$CRDS" >"$TMP/crds2.out" 2>&1
rv_after=$(py 'd["metadata"]["resourceVersion"]' <(api "$URL/apis/apiextensions.k8s.io/v1/customresourcedefinitions"))
check "re-applying the CRDs server-side works and writes nothing (resourceVersion $rv_before)" \
    test "$(grep -c 'serverside-applied' "$TMP/crds2.out")" -eq 4 -a "$rv_before" = "$rv_after"

# ---- base manifests, client-side apply ------------------------------------------------------
sed 's/{GATEWAY_CLASS_NAME}/kgc/g' "$BASE" >"$TMP/base.yaml"
ndocs=$(grep -c '^kind:' "$TMP/base.yaml")
k apply -f "$TMP/base.yaml" >"$TMP/base.out" 2>&1
check "apply of the base manifests creates all $ndocs objects" \
    test "$(grep -c ' created$' "$TMP/base.out")" -eq "$ndocs"
k get gateways -A >"$TMP/get-a.out" 2>&1
check "get gateways -A shows the 4 gateways with the CRD's printer columns" \
    test "$(grep -c "^$NS " "$TMP/get-a.out")" -eq 4 -a "$(head -1 "$TMP/get-a.out" | tr -s ' ')" = "NAMESPACE NAME CLASS ADDRESS PROGRAMMED AGE"
k get all -A >"$TMP/get-all.out" 2>&1
check "get all -A lists the 14 services and 14 deployments" \
    test "$(grep -c 'service/' "$TMP/get-all.out")/$(grep -c 'deployment.apps/' "$TMP/get-all.out")" = "14/14"
k get gateway same-namespace -n $NS -o yaml >"$TMP/gw.yaml" 2>&1
check "get -o yaml shows the schema defaults: status 'Waiting for controller', generation 1" \
    test "$(grep -c 'message: Waiting for controller' "$TMP/gw.yaml")/$(grep -c '^  generation: 1$' "$TMP/gw.yaml")" = "2/1"
api "$URL$GATEWAYS" >"$TMP/gws.json"
check "every listener got allowedRoutes.namespaces.from defaulted" \
    test "$(py 'all(l.get("allowedRoutes",{}).get("namespaces",{}).get("from") for g in d["items"] for l in g["spec"]["listeners"])' "$TMP/gws.json")" = True
check "get -o yaml of a Deployment (stored only) shows its defaults" \
    test "$(k get deploy infra-backend-v1 -n $NS -o yaml | grep -cE '^  (revisionHistoryLimit: 10|progressDeadlineSeconds: 600)$')" -eq 2
rv_before=$(py 'd["resourceVersion"]' <(api "$URL/_test/stats"))
k apply -f "$TMP/base.yaml" >"$TMP/base2.out" 2>&1
rv_after=$(py 'd["resourceVersion"]' <(api "$URL/_test/stats"))
# kubectl sends the listener list of same-namespace-with-https-listener again because the server
# defaulted tls.mode inside it (JSON merge patch replaces lists): "configured", as on a real
# cluster, but the server sees no change and writes nothing.
check "re-apply of the base manifests: unchanged (one no-op configured), nothing written" \
    test "$(grep -c ' unchanged$' "$TMP/base2.out")/$(grep -c 'same-namespace-with-https-listener configured' "$TMP/base2.out")/$rv_after" = "$((ndocs - 1))/1/$rv_before"

# ---- kind: List --------------------------------------------------------------------------------
# kubectl validates a List client-side against /openapi/v2 (protobuf), which a real API server
# serves; without it the apply fails before sending anything.
cat >"$TMP/list.yaml" <<'YAML'
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: listed}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: list-a, namespace: listed}
  data: {k: v}
- apiVersion: gateway.networking.k8s.io/v1
  kind: HTTPRoute
  metadata: {name: list-route, namespace: listed}
  spec: {hostnames: [list.example.com]}
YAML
k apply -f "$TMP/list.yaml" >"$TMP/list.out" 2>&1
check "apply of a kind: List creates its 3 items ($(tr '\n' ';' <"$TMP/list.out"))" \
    test "$(grep -c ' created$' "$TMP/list.out")" -eq 3
k apply -f "$TMP/list.yaml" >"$TMP/list2.out" 2>&1
check "re-apply of the List: its 3 items unchanged ($(tr '\n' ';' <"$TMP/list2.out"))" test "$(grep -c ' unchanged$' "$TMP/list2.out")" -eq 3
sed 's/spec: {hostnames: \[list.example.com\]}/spec: {hostnames: [list.example.com], bogus: 1}/' "$TMP/list.yaml" >"$TMP/list-bad.yaml"
k apply -f "$TMP/list-bad.yaml" >"$TMP/list3.out" 2>&1
check "a List item with an unknown field is refused by strict field validation" \
    grep -q 'unknown field "spec.bogus"' "$TMP/list3.out"

# ---- generation and /status -----------------------------------------------------------------
sed '/name: same-namespace$/,/^---/ s/port: 80$/port: 8080/' "$TMP/base.yaml" >"$TMP/base3.yaml"
k apply -f "$TMP/base3.yaml" >"$TMP/base3.out" 2>&1
check "apply of one edited gateway: configured, the others unchanged" \
    test "$(grep -c ' unchanged$' "$TMP/base3.out")/$(grep -c 'gateway.networking.k8s.io/same-namespace configured' "$TMP/base3.out")" = "$((ndocs - 2))/1"
gen() { k get gateway "$1" -n $NS -o jsonpath='{.metadata.generation}'; }
check "the spec edit bumped generation to 2" test "$(gen same-namespace)" = 2
k patch gateway same-namespace -n $NS --type=merge -p '{"metadata":{"labels":{"team":"a"}}}' >/dev/null 2>&1
check "a metadata-only patch keeps generation 2" test "$(gen same-namespace)" = 2
k patch gateway same-namespace -n $NS --subresource=status --type=merge \
    -p '{"spec":{"gatewayClassName":"other"},"status":{"conditions":[{"type":"Programmed","status":"False","reason":"Pending","message":"m","lastTransitionTime":"2024-01-01T00:00:00Z"}]}}' >/dev/null 2>&1
check "a /status patch changes the status only: generation 2, spec untouched" \
    test "$(k get gateway same-namespace -n $NS -o jsonpath='{.metadata.generation}/{.spec.gatewayClassName}/{.status.conditions[0].type}')" = "2/kgc/Programmed"
k patch gateway same-namespace -n $NS --type=merge -p '{"status":{"conditions":[]}}' >/dev/null 2>&1
check "a main-resource patch cannot change the status" \
    test "$(k get gateway same-namespace -n $NS -o jsonpath='{.status.conditions[0].type}')" = Programmed

# set_condition NAME TYPE: the "test client" (a controller would do this): GET, then PUT /status
# with the resourceVersion it read.
set_condition() {
    python3 - "$URL$GATEWAYS/$1" "$2" <<'EOF'
import json, sys, urllib.request
url, ctype = sys.argv[1], sys.argv[2]
obj = json.load(urllib.request.urlopen(url, timeout=10))
conds = [c for c in obj.get("status", {}).get("conditions", []) if c["type"] != ctype]
conds.append({"type": ctype, "status": "True", "reason": ctype, "message": "set by the test",
              "lastTransitionTime": "2024-01-01T00:00:00Z",
              "observedGeneration": obj["metadata"]["generation"]})
obj.setdefault("status", {})["conditions"] = conds
req = urllib.request.Request(url + "/status", data=json.dumps(obj).encode(), method="PUT",
                             headers={"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=10)
EOF
}

# wait_watches N: until the server has at least N open watch streams (up to 10 s).
wait_watches() {
    local _
    for _ in $(seq 1 100); do
        [[ $(py 'd["watches"]' <(api "$URL/_test/stats")) -ge $1 ]] && return 0
        sleep 0.1
    done
    echo "only $(py 'd["watches"]' <(api "$URL/_test/stats")) watches open, wanted $1"
    return 1
}

# ---- kubectl wait and get -w ----------------------------------------------------------------
k wait --for=condition=Accepted gateway/all-namespaces -n $NS --timeout=30s >"$TMP/wait1.out" 2>&1 &
WAIT1=$!
PIDS+=("$WAIT1")
k get gateways -n $NS -w --output-watch-events >"$TMP/getw.out" 2>&1 &
GETW=$!
PIDS+=("$GETW")
wait_watches 2
set_condition all-namespaces Accepted
wait $WAIT1
check "kubectl wait --for=condition=Accepted returns once the test client writes it" test $? -eq 0
cat >"$TMP/extra.yaml" <<EOF
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: extra
  namespace: $NS
spec:
  gatewayClassName: kgc
  listeners: [{name: http, port: 80, protocol: HTTP}]
EOF
k apply -f "$TMP/extra.yaml" >/dev/null 2>&1
k label gateway extra -n $NS stage=one >/dev/null 2>&1
k delete gateway extra -n $NS >"$TMP/del1.out" 2>&1
check "delete without a finalizer: deleted and gone" \
    test "$(grep -c 'deleted' "$TMP/del1.out")/$(k get gateway extra -n $NS 2>&1 | grep -c NotFound)" = "1/1"
sleep 1
check "get -w saw ADDED, MODIFIED and DELETED of the new gateway" \
    test "$(grep -cE '^(ADDED|MODIFIED|DELETED) +extra ' "$TMP/getw.out")" -ge 3 -a \
    "$(grep -E '^(ADDED|MODIFIED|DELETED) +extra ' "$TMP/getw.out" | awk '{print $1}' | sort -u | tr '\n' ' ')" = "ADDED DELETED MODIFIED "
check "get -w also saw the status write for all-namespaces" \
    grep -qE '^MODIFIED +all-namespaces ' "$TMP/getw.out"

# ---- finalizers -------------------------------------------------------------------------------
sed 's/name: extra/name: held/; s/^metadata:/metadata:\n  finalizers: ["example.com\/hold"]/' "$TMP/extra.yaml" >"$TMP/held.yaml"
k apply -f "$TMP/held.yaml" >/dev/null 2>&1
k delete gateway held -n $NS --wait=false >/dev/null 2>&1
check "delete with a finalizer: deletionTimestamp set, generation bumped, object kept" \
    test "$(k get gateway held -n $NS -o jsonpath='{.metadata.generation}/{.metadata.deletionTimestamp}' | sed 's/T.*Z$/T/')" = "2/$(date -u +%Y-%m-%dT)"
k patch gateway held -n $NS --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null 2>&1
check "removing the last finalizer deletes it" \
    test "$(k get gateway held -n $NS 2>&1 | grep -c NotFound)" = 1
sleep 1
check "get -w saw the finalizer story: ADDED, MODIFIED (deleting), DELETED" \
    test "$(grep -E ' held ' "$TMP/getw.out" | awk '{print $1}' | tr '\n' ' ')" = "ADDED MODIFIED DELETED "

# ---- forced watch cut -------------------------------------------------------------------------
k wait --for=condition=Accepted gateway/backend-namespaces -n $NS --timeout=40s >"$TMP/wait2.out" 2>&1 &
WAIT2=$!
PIDS+=("$WAIT2")
check "kubectl get -w and kubectl wait both have a watch open" wait_watches 2
api -X POST "$URL/_test/close-watches" >/dev/null
sleep 0.5
wait $GETW
check "kubectl get -w ends cleanly (exit 0) when the server cuts the watch" test $? -eq 0
k patch gateway backend-namespaces -n $NS --type=merge -p '{"metadata":{"labels":{"after":"cut"}}}' >/dev/null 2>&1
sleep 2 # kubectl wait re-watches from its last resourceVersion
set_condition backend-namespaces Accepted
wait $WAIT2
check "kubectl wait survives a watch cut (re-watches and sees the condition)" test $? -eq 0

# ---- forced Expired ---------------------------------------------------------------------------
k wait --for=condition=Accepted gateway/same-namespace-with-https-listener -n $NS --timeout=40s >"$TMP/wait3.out" 2>&1 &
WAIT3=$!
PIDS+=("$WAIT3")
check "kubectl wait has its watch open" wait_watches 1
api -X POST "$URL/_test/drop-history" >/dev/null
api -X POST "$URL/_test/close-watches" >/dev/null
sleep 2 # its resume gets ERROR Expired, it lists again and watches from the new list
set_condition same-namespace-with-https-listener Accepted
wait $WAIT3
check "kubectl wait survives a forced Expired (relists and sees the condition)" test $? -eq 0
api "$URL$GATEWAYS?watch=true&resourceVersion=1&timeoutSeconds=5" >"$TMP/expired.json"
check "a watch from an old resourceVersion gets exactly one ERROR Expired event (docs/kubernetes-api.md)" \
    test "$(python3 -c "import json,sys; l=open(sys.argv[1]).read().splitlines(); e=json.loads(l[0]); o=e['object']; print(len(l), e['type'], o['kind'], o['apiVersion'], o['status'], o['reason'], o['code'], o['message'].startswith('too old resource version: 1 ('), o['metadata'])" "$TMP/expired.json")" = "1 ERROR Status v1 Failure Expired 410 True {}"
# kubectl get -w whose watch starts after the history was dropped (its watch is delayed).
api -X POST "$URL/_test/latency?prefix=$GATEWAYS&ms=2500&verb=watch" >/dev/null
k get gateways -n $NS -w >"$TMP/getw2.out" 2>&1 &
GETW2=$!
PIDS+=("$GETW2")
for _ in $(seq 1 100); do # its list is printed; its watch is held back by the latency rule
    grep -q '^same-namespace ' "$TMP/getw2.out" && break
    sleep 0.05
done
api -X POST "$URL/_test/drop-history" >/dev/null
wait $GETW2
rc=$?
api -X POST "$URL/_test/reset-faults" >/dev/null
check "kubectl get -w gets the forced Expired, prints it and exits cleanly" \
    test "$rc/$(grep -c 'Expired' "$TMP/getw2.out")/$(grep -c '^same-namespace ' "$TMP/getw2.out")" = "0/1/1"
k get gateways -n $NS -w >"$TMP/getw3.out" 2>&1 &
GETW3=$!
PIDS+=("$GETW3")
sleep 1
k label gateway same-namespace -n $NS again=yes >/dev/null 2>&1
sleep 1
kill $GETW3 2>/dev/null
check "a new kubectl get -w after the Expired sees new events" \
    test "$(grep -c '^same-namespace ' "$TMP/getw3.out")" -ge 2

# ---- namespaces ---------------------------------------------------------------------------------
k create namespace doomed >/dev/null 2>&1
k create configmap c1 -n doomed --from-literal=a=b >/dev/null 2>&1
k create secret generic s1 -n doomed --from-literal=a=b >/dev/null 2>&1
sed "s/name: extra/name: held2/; s/namespace: $NS/namespace: doomed/; s/^metadata:/metadata:\n  finalizers: [\"example.com\/hold\"]/" "$TMP/extra.yaml" | k apply -f - >/dev/null 2>&1
api "$URL/api/v1/namespaces/doomed/configmaps?watch=true&resourceVersion=0&timeoutSeconds=4" >"$TMP/cmwatch.json" &
CMW=$!
PIDS+=("$CMW")
sleep 0.5
k delete namespace doomed --wait=false >/dev/null 2>&1
# until ITEM-COUNT-COMMAND...: polls (up to 10 s) until the command prints 0.
until_zero() {
    local _
    for _ in $(seq 1 100); do
        [[ $("$@" 2>/dev/null) == 0 ]] && return 0
        sleep 0.1
    done
    return 1
}
count_doomed() { k get configmaps,secrets -n doomed -o name | wc -l; }
check "deleting a namespace deletes what it holds (configmap, secret gone)" until_zero count_doomed
check "the namespace stays Terminating while an object there has a finalizer" \
    test "$(k get namespace doomed -o jsonpath='{.status.phase}')" = Terminating
k create configmap c2 -n doomed >"$TMP/term.out" 2>&1
check "creating into a terminating namespace: 403 'because it is being terminated'" \
    grep -q 'configmaps "c2" is forbidden: unable to create new content in namespace doomed because it is being terminated' "$TMP/term.out"
k patch gateway held2 -n doomed --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
check "the namespace goes once its last object is gone" \
    test "$(k get namespace doomed 2>&1 | grep -c NotFound)" = 1
wait $CMW
check "the configmap watch saw DELETED before the namespace went" \
    test "$(python3 -c "import json,sys; print([json.loads(l)['type'] for l in open(sys.argv[1])])" "$TMP/cmwatch.json")" = "['ADDED', 'DELETED']"
k create configmap c3 -n nope >"$TMP/nons.out" 2>&1
check "creating into a missing namespace: namespaces \"nope\" not found" \
    grep -q 'namespaces "nope" not found' "$TMP/nons.out"

# ---- Status errors (exact bodies) -------------------------------------------------------------
c=$(code "$URL$GATEWAYS/x")
check "404 for a missing object, as a NotFound Status (docs/kubernetes-api.md)" \
    test "$c $(cat "$TMP/body")" = '404 {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"gateways.gateway.networking.k8s.io \"x\" not found","reason":"NotFound","details":{"name":"x","group":"gateway.networking.k8s.io","kind":"gateways"},"code":404}'
c=$(code -X POST -H 'Content-Type: application/json' --data 'not json' "$URL$GATEWAYS")
check "400 BadRequest Status for a body that is not JSON" \
    test "$c/$(py 'd["reason"]' "$TMP/body")" = "400/BadRequest"
c=$(code -X POST -H 'Content-Type: application/json' --data '{"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway","metadata":{}}' "$URL$GATEWAYS")
check "422 Invalid Status for an object without metadata.name" \
    test "$c/$(py 'd["reason"]+"/"+d["details"]["causes"][0]["field"]' "$TMP/body")" = "422/Invalid/metadata.name"
api "$URL$GATEWAYS/same-namespace" >"$TMP/cur.json"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); del d['metadata']['resourceVersion']; json.dump(d,open(sys.argv[2],'w'))" "$TMP/cur.json" "$TMP/norv.json"
c=$(code -X PUT -H 'Content-Type: application/json' --data @"$TMP/norv.json" "$URL$GATEWAYS/same-namespace")
check "PUT without metadata.resourceVersion: 422 Invalid" \
    test "$c/$(py 'd["reason"]' "$TMP/body")" = "422/Invalid"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['metadata']['resourceVersion']='3'; json.dump(d,open(sys.argv[2],'w'))" "$TMP/cur.json" "$TMP/stale.json"
c=$(code -X PUT -H 'Content-Type: application/json' --data @"$TMP/stale.json" "$URL$GATEWAYS/same-namespace")
check "PUT with a stale resourceVersion: 409 Conflict 'the object has been modified'" \
    test "$c/$(py 'd["reason"]+"/"+str("the object has been modified" in d["message"])' "$TMP/body")" = "409/Conflict/True"
c=$(code -X PUT -H 'Content-Type: application/json' --data @"$TMP/cur.json" "$URL$GATEWAYS/same-namespace")
check "PUT with the current resourceVersion: 200" test "$c" = 200
c=$(code -X POST -H 'Content-Type: application/json' --data @"$TMP/cur.json" "$URL$GATEWAYS")
check "create of an existing object: 409 AlreadyExists" \
    test "$c/$(py 'd["reason"]' "$TMP/body")" = "409/AlreadyExists"
c=$(code -X PATCH -H 'Content-Type: application/strategic-merge-patch+json' --data '{}' "$URL$GATEWAYS/same-namespace")
check "strategic merge patch on a custom resource: 415" test "$c" = 415
c=$(code -X POST -H 'Content-Type: application/json' --data '{}' "$URL$GATEWAYS/same-namespace")
check "POST to an object: 405" test "$c" = 405
c=$(code -X POST -H 'Content-Type: application/json' --data '{"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway","metadata":{"name":"bad"},"spec":{"gatewayClassName":"kgc","listeners":[{"name":"h","port":70000,"protocol":"HTTP"}]}}' "$URL$GATEWAYS")
check "schema validation: port 70000 is 422 Invalid on spec.listeners[0].port" \
    test "$c/$(py 'd["details"]["causes"][0]["field"]' "$TMP/body")" = "422/spec.listeners[0].port"
k apply -f - >"$TMP/strict.out" 2>&1 <<EOF
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: strict, namespace: $NS}
spec:
  gatewayClassName: kgc
  bogus: 1
  listeners: [{name: http, port: 80, protocol: HTTP}]
EOF
check "kubectl apply (fieldValidation=Strict) refuses an unknown field" \
    grep -q 'unknown field "spec.bogus"' "$TMP/strict.out"

# ---- selectors and paging ---------------------------------------------------------------------
check "label selector: get -l team=a finds the labelled gateway only" \
    test "$(k get gateways -n $NS -l team=a -o name)" = "gateway.gateway.networking.k8s.io/same-namespace"
check "field selector: metadata.name=all-namespaces" \
    test "$(k get gateways -A --field-selector metadata.name=all-namespaces -o name)" = "gateway.gateway.networking.k8s.io/all-namespaces"
check "paging: get services -A --chunk-size=3 lists all 14" \
    test "$(k get services -A --chunk-size=3 -o name | wc -l)" -eq 14
api "$URL/api/v1/services?limit=5" >"$TMP/page1.json"
api -X POST "$URL/_test/drop-history" >/dev/null
c=$(code "$URL/api/v1/services?limit=5&continue=$(py 'd["metadata"]["continue"]' "$TMP/page1.json")")
check "a continue token older than the history: 410 Expired" \
    test "$c/$(py 'd["reason"]' "$TMP/body")" = "410/Expired"

# ---- fault injection -------------------------------------------------------------------------
api -X POST "$URL/_test/fail?prefix=$GATEWAYS&code=503&count=1" >/dev/null
c1=$(code -D "$TMP/fail.hdr" "$URL$GATEWAYS")
c2=$(code "$URL$GATEWAYS")
check "fail count=1: one 503 with Retry-After, then 200" \
    test "$c1/$(grep -ci '^retry-after: 1' "$TMP/fail.hdr")/$c2" = "503/1/200"
api -X POST "$URL/_test/fail?prefix=$GATEWAYS&code=429&every=2&count=2" >/dev/null
codes=""
for _ in 1 2 3 4 5; do codes="$codes$(code "$URL$GATEWAYS") "; done
check "fail every=2 count=2: 200 429 200 429 200" test "$codes" = "200 429 200 429 200 "
api -X POST "$URL/_test/fail?prefix=$GATEWAYS&code=409&count=1&verb=patch" >/dev/null
k label gateway same-namespace -n $NS x=y >"$TMP/conflict.out" 2>&1
check "an injected 409 reaches kubectl as a Conflict" grep -q 'the object has been modified' "$TMP/conflict.out"
api -X POST "$URL/_test/reset-faults" >/dev/null
check "kubectl works again after reset-faults" k label gateway same-namespace -n $NS x=y

# ---- audit log -------------------------------------------------------------------------------
check "audit: one JSON line per write with time, verb, path, code and status" \
    python3 - "$TMP/audit.jsonl" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) > 50, len(lines)
assert all({"time", "verb", "path", "code", "status"} <= set(l) for l in lines)
assert {"create", "update", "patch", "delete"} <= {l["verb"] for l in lines}
st = [l for l in lines if l.get("subresource") == "status" and l["code"] == 200]
assert any(c["message"] == "set by the test" for l in st for c in l["status"]["conditions"]), st
EOF

# ---- HTTPS and a bearer token ------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=kgc-test -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$TMP/tls.key" -out "$TMP/tls.crt" >/dev/null 2>&1
start_server "$TMP/tls.out" "$TMP/tls.err" --tls-cert "$TMP/tls.crt" --tls-key "$TMP/tls.key" --token s3cret
TLS_PID=$STARTED_PID
TLS_URL=$STARTED_URL
check "the HTTPS server starts on $TLS_URL" test "${TLS_URL#https://}" != "$TLS_URL"
tlsk() {
    timeout 30 "$KUBECTL_BIN" --cache-dir "$TMP/cache-tls" --kubeconfig /dev/null --server "$TLS_URL" \
        --certificate-authority "$TMP/tls.crt" "$@"
}
check "kubectl over HTTPS with the right token lists namespaces" \
    test "$(tlsk --token s3cret get namespaces -o name | grep -c default)" -eq 1
tlsk --token wrong get namespaces >"$TMP/401.out" 2>&1
check "kubectl with a wrong token is refused (Unauthorized)" grep -qi 'unauthorized' "$TMP/401.out"
c=$(code --cacert "$TMP/tls.crt" "$TLS_URL/api/v1/namespaces")
check "no token: 401 Status with reason Unauthorized" \
    test "$c/$(py 'd["reason"]+"/"+str(d["code"])' "$TMP/body")" = "401/Unauthorized/401"

# ---- cleanup as a user does it ------------------------------------------------------------------
k delete -f "$TMP/base.yaml" >"$TMP/delete-all.out" 2>&1
rc=$?
check "kubectl delete -f of the base manifests: exit 0, every object deleted" \
    test "$rc/$(grep -c ' deleted' "$TMP/delete-all.out")" = "0/$ndocs"
check "their namespaces are gone afterwards" \
    test "$(k get namespaces -o name | grep -c gateway-conformance)" -eq 0

# ---- shutdown --------------------------------------------------------------------------------
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
rc=$?
forget_pid "$SERVER_PID"
kill -TERM "$TLS_PID"
wait "$TLS_PID"
rc2=$?
forget_pid "$TLS_PID"
check "SIGTERM stops both servers with exit 0" test "$rc/$rc2" = "0/0"
if grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$TMP/server.err" "$TMP/tls.err"; then
    grep -E 'Sanitizer|runtime error' "$TMP/server.err" "$TMP/tls.err" | head -5
    bad "no sanitizer reports in the server's stderr"
else
    ok "no sanitizer reports in the server's stderr"
fi
finish

#!/usr/bin/env bash
# informer e2e: the shared cache equals the test API server's state after churn and faults.
#   1. churn: test_informer_e2e spawns kgc-test-apiserver, starts an informer per kind, creates/
#      updates/deletes 1,000+ objects while cutting watches (/_test/close-watches), expiring the
#      history (/_test/drop-history) and failing lists and watches (/_test/fail), then compares
#      the cache dump with the server's state, and once more after a quiet, event-only phase.
#   2. kubectl: a server started here gets the Gateway API CRDs (kubectl apply --server-side) and
#      the conformance base manifests (kubectl apply) from real kubectl first; then the same
#      driver runs against it, so objects written by kubectl are in the comparison too.
# Env: BUILD (default build). Self-contained on 127.0.0.1; prints "N passed, N failed" last.
source "$(dirname "$0")/lib.sh"
export PATH="$PWD/.tools/bin:$PATH"
SERVER=$BUILD/kgc-test-apiserver
DRIVER=$BUILD/test/test_informer_e2e
tmp=$TMP

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
ko() { echo "FAIL: $1"; [[ -f ${2:-} ]] && tail -30 "$2"; failed=$((failed + 1)); }

# Runs the driver; $1 names the scenario, the rest is the environment.
run_driver() {
    local name=$1
    shift
    if env "$@" timeout 60 "$DRIVER" >"$tmp/$name.out" 2>&1 &&
        grep -q '^\[  PASSED  \] 1 test' "$tmp/$name.out"; then
        grep 'informer e2e:' "$tmp/$name.out"
        ok "$name"
    else
        ko "$name" "$tmp/$name.out"
    fi
}

if [[ ! -x $SERVER || ! -x $DRIVER ]]; then
    ko "build: $SERVER and $DRIVER must exist (make BUILD=$BUILD)"
    echo "$passed passed, $failed failed"
    exit 1
fi

# 1. the driver with its own server
run_driver churn KGC_TEST_APISERVER="$SERVER" KGC_GATEWAY_API_DIR="$GWAPI"

# 2. kubectl first, then the driver against the same server
if ! command -v kubectl >/dev/null; then
    echo "SKIP: kubectl: not installed (make deps)"
else
    "$SERVER" --listen 127.0.0.1:0 --bookmark-ms 300 --log-level warn >"$tmp/server.out" 2>"$tmp/server.err" &
    PIDS+=($!)
    url=$(wait_url "$tmp/server.out")
    write_kubeconfig "$url" "$tmp/kubeconfig"
    conformance_manifest base-manifests kong >"$tmp/base.yaml"
    if [[ -z $url ]]; then
        ko "kubectl: the server did not start" "$tmp/server.err"
    elif ! timeout 30 kubectl --kubeconfig "$tmp/kubeconfig" apply --server-side \
        -f "$GWAPI/crds/" >"$tmp/kubectl.out" 2>&1; then
        ko "kubectl: apply --server-side the CRDs" "$tmp/kubectl.out"
    elif ! timeout 30 kubectl --kubeconfig "$tmp/kubeconfig" apply -f "$tmp/base.yaml" \
        >>"$tmp/kubectl.out" 2>&1; then
        ko "kubectl: apply the conformance base manifests" "$tmp/kubectl.out"
    else
        run_driver kubectl KGC_TEST_APISERVER_URL="$url" KGC_GATEWAY_API_DIR="$GWAPI"
    fi
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

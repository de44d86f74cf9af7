# Shared start-up of the kgc e2e scenarios (sourced, not run): paths, process cleanup, result
# counting, and a test Kubernetes API server with a kubeconfig for real kubectl.
#   source "$(dirname "$0")/lib.sh"   (from a test/e2e/*.sh script; leaves cwd at the repo root)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD=${BUILD:-build}
SHARED=${KGC_SHARED:-$(cd .. && pwd)/shared}
KUBECTL=$PWD/.tools/bin/kubectl
TMP=$(mktemp -d)
passed=0 failed=0
PIDS=()

e2e_cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap e2e_cleanup EXIT
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
bad() { failed=$((failed + 1)); echo "FAIL - $1"; }
finish() { echo "$passed passed, $failed failed"; [[ $failed -eq 0 ]]; exit; }
now_ms() { date +%s%3N; }

# wait_url FILE: the URL a test server printed as "listening on http://..." (waits up to 10 s).
wait_url() {
    local f=$1 u=
    for _ in $(seq 1 100); do
        u=$(sed -n 's/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$f" 2>/dev/null | head -1)
        [[ -n $u ]] && { echo "$u"; return 0; }
        sleep 0.1
    done
    return 1
}

# free_port: a TCP port free on 127.0.0.1 right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_apiserver: the test API server (audit log in $TMP/audit.jsonl), $API, $KUBECONFIG and k().
start_apiserver() {
    "$BUILD/kgc-test-apiserver" --listen 127.0.0.1:0 --audit "$TMP/audit.jsonl" \
        >"$TMP/api.out" 2>"$TMP/api.err" &
    PIDS+=($!)
    API=$(wait_url "$TMP/api.out") || { bad "API server starts"; finish; }
    cat >"$TMP/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "$API"}
users:
- name: test
  user: {}
contexts:
- name: test
  context: {cluster: test, user: test}
current-context: test
KC
    export KUBECONFIG=$TMP/kubeconfig
}
k() { timeout 60 "$KUBECTL" --cache-dir "$TMP/kcache" "$@"; }

# apply_crds: the Gateway API CRDs, server-side, established (or the scenario ends).
apply_crds() {
    k apply --server-side -f "$SHARED/gateway-api/crds/" >/dev/null &&
        k wait --for=condition=Established crd --all --timeout=30s >/dev/null &&
        ok "Gateway API CRDs applied and established" || { bad "CRDs"; finish; }
}

#!/usr/bin/env bash
# e2e resilience: secrets given to kgc for the Kong Admin API stay out of everything it shows or
# stores (issue #17). kgc runs with --kong-admin-url http://USER:PASSWORD@127.0.0.1:PORT and a
# Kong-Admin-Token in --kong-admin-header-file; the test Kong first refuses pushes (503), so the
# Gateway status carries "waiting for Kong ... to accept", then accepts them. Then every output is
# searched for the password and the token: kgc's log, /metrics, /debug/listeners, /debug/config,
# /debug/cache, /debug/queue, the LMDB files' bytes, the API server's audit log of status writes
# and the Gateway as kubectl reads it. Also: the status message names the instance without its
# credentials; one plain-http warning for the instance naming the header but not its value; a
# malformed --kong-admin-header exits with an error that does not echo it; --help lists the new
# options; a kubeconfig with insecure-skip-tls-verify gets one warning; SIGABRT leaves no core
# file (one appears with --allow-core-dumps). Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
e2e_bound 90
start_apiserver
apply_crds

{ base_yaml; gateway_yaml gw; } >"$TMP/objects.yaml"
apply_objects "GatewayClass and Gateway applied" "apply objects"

PASSWORD=pw-$RANDOM-s3cret-$RANDOM
TOKEN=tok-$RANDOM-adm1n-$RANDOM
start_kong 1 0 --fail-config 1000000 --fail-config-code 503
KURL=${KONG_URL[1]}
PORT=${KURL##*:}
DISPLAY_URL=http://127.0.0.1:$PORT
printf '# the admin token\nKong-Admin-Token: %s\n' "$TOKEN" >"$TMP/headers"
kgc_ports
LC=$TMP/lc

# A malformed header flag is refused without showing what was given.
"$BUILD/kgc" --kubeconfig "$KUBECONFIG" --kong-admin-url "$KURL" --listener-cache-dir "" \
    --kong-admin-header "Kong-Admin-Token $TOKEN" --http-listen "" --debug-listen "" \
    >"$TMP/badheader.log" 2>&1
rc=$?
if [[ $rc -ne 0 ]] && grep -q -- '--kong-admin-header' "$TMP/badheader.log" && ! grep -q "$TOKEN" "$TMP/badheader.log"; then
    ok "a malformed --kong-admin-header exits $rc naming the flag, not its value"
else
    bad "malformed --kong-admin-header: exit $rc: $(cat "$TMP/badheader.log" | tail -2)"
fi
"$BUILD/kgc" --help >"$TMP/help.txt"
grep -q -- '--kong-admin-header-file' "$TMP/help.txt" && grep -q -- '--kong-admin-tls-server-name' "$TMP/help.txt" &&
    ok "--help lists --kong-admin-header-file and --kong-admin-tls-server-name" || bad "--help"

start_kgc_on 1 "http://kgc-admin:$PASSWORD@127.0.0.1:$PORT" \
    --kong-admin-header-file "$TMP/headers" --kong-probe-interval 200ms

gw_message() { k -n demo get gateway gw -o jsonpath='{.status.conditions[?(@.type=="Programmed")].message}'; }
waiting() { [[ $(gw_message) == *"waiting for Kong"* ]]; }
if wait_until 30 0.2 waiting; then
    msg=$(gw_message)
    [[ $msg == *"waiting for Kong $DISPLAY_URL to accept"* ]] &&
        ok "while Kong refuses pushes the status says: $msg" || bad "status message: $msg"
else
    bad "the Gateway never said it waits for Kong: $(gw_message)"
fi
curl -sf -X POST "$KURL/_test/fail-config?n=0" >/dev/null || bad "test Kong takes pushes again"
programmed() { [[ $(k -n demo get gateway gw -o jsonpath='{.status.conditions[?(@.type=="Programmed")].status}') == True ]]; }
wait_until 30 0.2 programmed && ok "the Gateway is Programmed once Kong accepts" || bad "not Programmed"
wait_until 10 0.2 sh -c "curl -sf -m 2 http://127.0.0.1:$DP/debug/listeners | grep -q '\"source\":\"live\"'" ||
    bad "/debug/listeners never showed the instance live"

# Collect every output.
curl -sf -m 5 "http://127.0.0.1:$HP/metrics" >"$TMP/out.metrics" || bad "GET /metrics"
for p in listeners config cache queue; do
    curl -sf -m 5 "http://127.0.0.1:$DP/debug/$p" >"$TMP/out.debug-$p" || bad "GET /debug/$p"
done
k -n demo get gateway gw -o json >"$TMP/out.gateway.json"
grep -q "url=\"$DISPLAY_URL\"" "$TMP/out.metrics" && ok "/metrics labels the instance $DISPLAY_URL" ||
    bad "/metrics: no url=\"$DISPLAY_URL\" label"
grep -q "\"url\":\"${DISPLAY_URL//\//\\\\/}\"\|\"url\":\"$DISPLAY_URL\"" "$TMP/out.debug-listeners" &&
    ok "/debug/listeners names the instance $DISPLAY_URL" || bad "/debug/listeners: $(head -c 300 "$TMP/out.debug-listeners")"
stop_kgc 1 && ok "kgc exits 0" || bad "kgc exit status"
cat "$LC"/*.mdb >"$TMP/out.lmdb"
[[ -s $TMP/out.lmdb ]] && grep -aq "inst:$DISPLAY_URL" "$TMP/out.lmdb" &&
    ok "the LMDB cache stores the instance as inst:$DISPLAY_URL ($(stat -c %s "$LC/data.mdb") bytes)" ||
    bad "the LMDB cache has no inst:$DISPLAY_URL record"

leaks=0
for f in "$TMP/kgc-1.log" "$TMP"/out.* "$TMP/audit.jsonl"; do
    for secret in "$PASSWORD" "$TOKEN" "kgc-admin:"; do
        if grep -aq -- "$secret" "$f"; then
            bad "${f##*/} holds a secret (${secret:0:6}...): $(grep -ao -- ".\{0,60\}$secret" "$f" | head -1 | tr -d "\\000")"
            leaks=$((leaks + 1))
        fi
    done
done
[[ $leaks -eq 0 ]] && ok "neither the password, the user nor the token in the log, /metrics, 4 debug endpoints, LMDB bytes, $(wc -l <"$TMP/audit.jsonl") audited writes or the Gateway"

n=$(grep -c 'over plain http' "$TMP/kgc-1.log")
line=$(grep 'over plain http' "$TMP/kgc-1.log" | head -1)
[[ $n -eq 1 && $line == *'level=warn'* && $line == *'headers=Kong-Admin-Token'* && $line == *'credentials=yes'* ]] &&
    ok "one plain-http warning for the instance (header named, value not)" || bad "$n plain-http warnings: $line"
# A kubeconfig with insecure-skip-tls-verify gets one warning.
sed 's/cluster: {server: "\(.*\)"}/cluster: {server: "\1", insecure-skip-tls-verify: true}/' "$KUBECONFIG" \
    >"$TMP/kubeconfig-insecure"
grep -q 'insecure-skip-tls-verify: true' "$TMP/kubeconfig-insecure" || bad "kubeconfig edit"
start_kgc insecure --kubeconfig "$TMP/kubeconfig-insecure" --kong-admin-url "$KURL" \
    --listener-cache-dir "" --http-listen "" --debug-listen ""
wait_until 15 0.2 grep -q 'caches synced' "$TMP/kgc-insecure.log"
n=$(grep -c 'level=warn.*insecure-skip-tls-verify' "$TMP/kgc-insecure.log")
[[ $n -eq 1 ]] && ok "kubeconfig insecure-skip-tls-verify: one warning" || bad "$n insecure-skip-tls-verify warnings"
stop_kgc insecure || bad "kgc (insecure kubeconfig) exit status"

# No core file: kgc is not dumpable unless --allow-core-dumps (core_pattern must be a plain file
# name for the check to mean anything; ASan builds handle SIGABRT themselves and are skipped).
abort_kgc() { # abort_kgc DIR [ARGS...]: kgc in DIR with a core limit, killed by SIGABRT
    local dir=$1 p
    shift
    mkdir -p "$dir"
    (cd "$dir" && ulimit -c unlimited && exec "$KGC_BIN" --kubeconfig "$KUBECONFIG" \
        --kong-admin-url "http://kgc-admin:$PASSWORD@127.0.0.1:$PORT" --listener-cache-dir "" \
        --http-listen "" --debug-listen "" "$@" >"$dir/log" 2>&1) &
    p=$!
    wait_until 10 0.1 grep -qs 'kong instance added' "$dir/log"
    kill -ABRT "$p"
    wait "$p" 2>/dev/null
}
KGC_BIN=$(cd "$BUILD" && pwd)/kgc
pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null)
if [[ $pattern == core* && $BUILD != *asan* && $(ulimit -Hc) != 0 ]]; then
    abort_kgc "$TMP/core-default"
    abort_kgc "$TMP/core-allowed" --allow-core-dumps
    cores_default=$(ls "$TMP/core-default" | grep -c '^core')
    cores_allowed=$(ls "$TMP/core-allowed" | grep -c '^core')
    if [[ $cores_default -eq 0 && $cores_allowed -ge 1 ]]; then
        held=$(grep -ac -- "$PASSWORD" "$TMP"/core-allowed/core* | head -1)
        ok "SIGABRT leaves no core file (PR_SET_DUMPABLE 0); with --allow-core-dumps it does (and it holds the password: $held match(es))"
    else
        bad "core files after SIGABRT: $cores_default by default, $cores_allowed with --allow-core-dumps"
    fi
    rm -f "$TMP"/core-*/core*
else
    echo "# skip: core files not checked (core_pattern '$pattern', build $BUILD, hard limit $(ulimit -Hc))"
fi

no_sanitizer_reports "$TMP"/kgc-*.log "$TMP"/kong1.err "$TMP"/api.err
finish

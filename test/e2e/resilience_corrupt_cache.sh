#!/usr/bin/env bash
# e2e resilience 6: a corrupt listener cache. kgc programs a Gateway (the LMDB cache then holds
# Kong's listeners) and stops; Kong goes away; the cache's data.mdb is damaged in one of several
# ways (random garbage, a good file whose data pages are overwritten, a good file truncated to its
# meta pages, a zero-length file) and kgc starts on it. Each time kgc must: start, log exactly one
# warning naming the moved file, leave the damaged file renamed beside the new one (same bytes),
# rebuild an empty cache (never serve garbage listeners: Programmed=False/Pending, no
# UnsupportedProtocol), and program the Gateway once Kong is back. At the end the rebuilt cache
# opens cleanly in a new process. Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
e2e_bound 100
start_apiserver
apply_crds

{ base_yaml; gateway_yaml gw; } >"$TMP/objects.yaml"
apply_objects "GatewayClass and Gateway applied" "apply objects"

KONG_PORT=$(free_port)
kgc_ports
LC=$TMP/lc
run_kgc() { # run_kgc NAME
    start_kgc_on "$1" "http://127.0.0.1:$KONG_PORT" --kong-probe-interval 200ms
}
healthz() { curl -sf -m 2 "http://127.0.0.1:$HP/healthz" >/dev/null; }
debug_listeners() { curl -sf -m 2 "http://127.0.0.1:$DP/debug/listeners"; }
programmed() { # programmed STATUS REASON: the Gateway's Programmed condition is that
    local got
    got=$(k -n demo get gateway gw -o jsonpath='{.status.conditions[?(@.type=="Programmed")].status}/{.status.conditions[?(@.type=="Programmed")].reason}')
    [[ $got == "$1/$2" ]]
}

# --- a good cache first ---------------------------------------------------------------------------
start_kong 1 "$KONG_PORT"
run_kgc seed
wait_until 30 0.2 programmed True Programmed && ok "the Gateway is Programmed (Kong up, kgc fresh)" ||
    bad "the Gateway is Programmed at first"
wait_until 10 0.2 sh -c "curl -sf -m 2 http://127.0.0.1:$DP/debug/listeners | grep -q '\"source\":\"live\"'" ||
    bad "kgc's /debug/listeners never showed live listeners"
stop_kgc seed && ok "kgc stops on SIGTERM (exit 0)" || bad "kgc exit status"
[[ -s $LC/data.mdb ]] && cp "$LC/data.mdb" "$TMP/good.mdb" && ok "the cache file exists ($(stat -c %s "$LC/data.mdb") bytes)" ||
    bad "no cache file after the first run"
kill_kong 1

# corrupt MODE: writes the damaged data.mdb (and $TMP/damaged, the same bytes).
corrupt() {
    rm -f "$LC"/data.mdb* "$LC"/lock.mdb*
    case $1 in
    garbage) head -c 65536 /dev/urandom >"$TMP/damaged" ;;
    data-pages) # the two meta pages intact, every page after them random
        { head -c 8192 "$TMP/good.mdb"; head -c $(($(stat -c %s "$TMP/good.mdb") - 8192)) /dev/urandom; } >"$TMP/damaged" ;;
    truncated) head -c 8192 "$TMP/good.mdb" >"$TMP/damaged" ;; # the meta pages name pages now gone
    half-page) head -c 2000 "$TMP/good.mdb" >"$TMP/damaged" ;;   # not even one meta page
    zero) : >"$TMP/damaged" ;;
    esac
    cp "$TMP/damaged" "$LC/data.mdb"
}

n=0
for mode in garbage data-pages truncated half-page zero; do
    n=$((n + 1))
    corrupt "$mode"
    run_kgc "$mode"
    if ! wait_until 15 0.2 healthz; then
        bad "$mode: kgc is not serving /healthz"
        tail -5 "$TMP/kgc-$mode.log"
        kill -0 "${KGC_PID[$mode]}" 2>/dev/null || { forget_pid "${KGC_PID[$mode]}"; continue; }
    else
        ok "$mode: kgc starts on the damaged cache and answers /healthz"
    fi
    warns=$(grep -c 'level=warn component=listenercache' "$TMP/kgc-$mode.log")
    wline=$(grep 'level=warn component=listenercache' "$TMP/kgc-$mode.log" | head -1)
    moved=$(ls "$LC"/data.mdb.corrupt-* 2>/dev/null | head -1)
    if [[ $warns -eq 1 && -n $moved && $wline == *"moved_to=$moved"* ]]; then
        ok "$mode: exactly one warning, naming the moved file (${moved##*/}): $(echo "$wline" | grep -o 'reason="[^"]*"')"
    else
        bad "$mode: $warns listener cache warnings, moved file '${moved##*/}'"
        echo "    $wline"
    fi
    [[ -n $moved ]] && cmp -s "$moved" "$TMP/damaged" &&
        ok "$mode: the damaged file is kept aside unchanged" || bad "$mode: the damaged file is not kept aside"
    [[ -f $LC/data.mdb ]] && ! cmp -s "$LC/data.mdb" "$TMP/damaged" &&
        ok "$mode: a new data.mdb was created" || bad "$mode: no new data.mdb"
    dl=$(debug_listeners)
    if [[ $dl == *'"persistent":true'* && $dl == *'"source":"none"'* ]]; then
        ok "$mode: /debug/listeners: persistent, source none (nothing served from the damaged file)"
    else
        bad "$mode: /debug/listeners: ${dl:0:300}"
    fi
    wait_until 20 0.2 programmed False Pending && ok "$mode: the Gateway is Programmed=False/Pending while Kong is down" ||
        bad "$mode: Programmed during the outage: $(k -n demo get gateway gw -o jsonpath='{.status.conditions[?(@.type=="Programmed")].reason}')"
    start_kong 1 "$KONG_PORT"
    t0=$(now_ms)
    wait_until 30 0.2 programmed True Programmed &&
        ok "$mode: Programmed again $(($(now_ms) - t0)) ms after Kong started" ||
        bad "$mode: not Programmed after Kong came back"
    stop_kgc "$mode" && ok "$mode: kgc exits 0" || bad "$mode: kgc exit status"
    kill_kong 1
    if [[ $(ls "$LC"/data.mdb.corrupt-* 2>/dev/null | wc -l) -ne 1 ]]; then
        bad "$mode: $(ls "$LC"/data.mdb.corrupt-* | wc -l) moved-aside files"
    fi
done

# --- the rebuilt cache is a good one ------------------------------------------------------------
run_kgc final
wait_until 15 0.2 grep -q 'listener cache open.*entries=1' "$TMP/kgc-final.log" &&
    ok "the rebuilt cache opens in a new process with 1 entry" || bad "the rebuilt cache did not load"
grep -q 'level=warn component=listenercache' "$TMP/kgc-final.log" &&
    bad "a warning about the rebuilt cache" || ok "no warning about the rebuilt cache"
wait_until 15 0.2 sh -c "curl -sf -m 2 http://127.0.0.1:$DP/debug/listeners | grep -q '\"source\":\"cached\"'" &&
    ok "Kong down: the rebuilt cache's listeners are served (source cached)" || bad "the cached listeners are not served"
stop_kgc final && ok "kgc exits 0" || bad "kgc exit status"
if grep -q UnsupportedProtocol "$TMP/audit.jsonl"; then
    bad "a status write carried UnsupportedProtocol"
else
    ok "no status write carried UnsupportedProtocol ($(wc -l <"$TMP/audit.jsonl") writes audited)"
fi
no_sanitizer_reports "$TMP"/kgc-*.log "$TMP"/kong1.err "$TMP"/api.err
finish

#!/usr/bin/env bash
# e2e: the seed's scenario with the real kgc binary, the test API server, the test Kong and real
# kubectl. kgc programs a Gateway; Kong is killed; GatewayClass, Gateway and HTTPRoute are
# deleted and recreated while Kong is down; Kong comes back. The API server's audit log must show
# no UnsupportedProtocol ever written, and the Gateway must be Programmed again soon after Kong is
# ready. Then kgc itself restarts while Kong is down (listeners from the LMDB cache), and once
# more with an empty cache (Programmed=False/Pending until Kong returns). The Gateway also has a TCP
# and a TLS (Passthrough) listener served by the test Kong's stream listeners (--stream-listen on
# two free ports): they get no wrong status while Kong is away and are Programmed again in the
# same status write as the HTTP listener.
# Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
start_apiserver

# the stream listeners the TCP and TLS listeners use (Gateway port = Kong port: no publish Service)
TPORT=$(free_port)
SPORT=$(free_port)
KONG_ARGS=(--stream-listen "127.0.0.1:$TPORT, 127.0.0.1:$SPORT ssl")
start_kong 1 0 "${KONG_ARGS[@]}" || { bad "test Kong starts"; finish; }
KONG=${KONG_URL[1]}
KONG_PORT=${KONG##*:}

run_kgc() { # run_kgc N CACHE_DIR: kgc number N (log $TMP/kgc-N.log)
    LC=$2 start_kgc_on "$1" "$KONG" --kong-probe-interval 500ms
}

# lcond LISTENER TYPE [status|reason]: a listener's condition field
lcond() {
    k -n demo get gateway gw -o jsonpath="{.status.listeners[?(@.name==\"$1\")].conditions[?(@.type==\"$2\")].${3:-status}}"
}
# stream_ok WHEN: the tcp and tls listeners are Accepted and Programmed (status True)
stream_ok() {
    local l
    for l in tcp tls; do
        [[ $(lcond "$l" Accepted) == True && $(lcond "$l" Programmed) == True ]] || {
            echo "$1: listener $l: Accepted $(lcond "$l" Accepted reason), Programmed $(lcond "$l" Programmed reason)"
            return 1
        }
    done
}
# stream_not_wrong WHEN: while Kong is away the tcp and tls listeners are Accepted (cached
# listeners) and Programmed True or Pending, never UnsupportedProtocol/Invalid/PortUnavailable
stream_not_wrong() {
    local l a p
    for l in tcp tls; do
        a=$(lcond "$l" Accepted reason)
        p=$(lcond "$l" Programmed reason)
        [[ $a == Accepted && ($p == Programmed || $p == Pending) ]] || {
            echo "$1: listener $l: Accepted=$a Programmed=$p"
            return 1
        }
    done
}

apply_crds

{
    base_yaml
    gateway_listeners_yaml gw demo "$(http_listener)" "$(https_listener https "" missing-cert)" \
        "{name: tcp, port: $TPORT, protocol: TCP}" \
        "{name: tls, port: $SPORT, protocol: TLS, hostname: pt.example, tls: {mode: Passthrough}}"
    httproute_yaml web gw http
} >"$TMP/objects.yaml"
apply_objects "GatewayClass, Gateway and HTTPRoute applied" "apply objects"

run_kgc 1 "$TMP/lc"
wait_programmed "the Gateway becomes Programmed" "$TMP/kgc-1.log" gw
k -n demo wait --for=jsonpath='{.status.parents[0].conditions[?(@.type=="Accepted")].status}'=True \
    httproute/web --timeout=30s >/dev/null && ok "the HTTPRoute is Accepted on its Gateway" ||
    bad "the HTTPRoute is Accepted"
k -n demo wait --for=jsonpath='{.status.listeners[0].attachedRoutes}'=1 gateway/gw --timeout=30s \
    >/dev/null && ok "the http listener counts 1 attached route" || bad "attachedRoutes = 1"
curl -sf "$KONG/config" | grep -q 'httproute.demo.web' &&
    ok "Kong's configuration holds the route (pushed by kgc)" || bad "the route is not in Kong's /config"
k wait --for=condition=Accepted gatewayclass/kgc --timeout=30s >/dev/null &&
    ok "the GatewayClass is Accepted" || bad "the GatewayClass is Accepted"
check "the TCP and TLS listeners on Kong's stream listens are Accepted and Programmed" stream_ok before
# The https listener's certificate is missing: a real error, still reported (not hidden).
reason=$(k -n demo get gateway gw -o jsonpath='{.status.listeners[1].conditions[?(@.type=="ResolvedRefs")].reason}')
[[ $reason == InvalidCertificateRef ]] && ok "a genuinely bad listener still says InvalidCertificateRef" ||
    bad "https listener ResolvedRefs reason is '$reason'"

# --- the seed's scenario -------------------------------------------------------------------------
kill_kong 1
sleep 1.5 # at least one probe interval: kgc sees Kong unreachable
k -n demo delete httproute web --wait=true >/dev/null
k -n demo delete gateway gw --wait=true >/dev/null
k delete gatewayclass kgc --wait=true >/dev/null
k apply -f "$TMP/objects.yaml" >/dev/null && ok "objects deleted and recreated while Kong is down" ||
    bad "recreate while Kong is down"
# Kong is down and the Gateway is new: its listeners are judged by the cached listeners
# (Accepted), and it is not Programmed until a Kong instance has accepted its configuration.
if k -n demo wait --for=jsonpath='{.status.listeners[0].conditions[?(@.type=="Accepted")].status}'=True \
    gateway/gw --timeout=20s >/dev/null; then
    ok "while Kong is down the recreated Gateway's listener is Accepted (cached listeners)"
else
    bad "listener Accepted from cached listeners"; k -n demo get gateway gw -o yaml | tail -40
fi
# Programmed: the recreated Gateway has the same name and generation as the one the Kongs
# carried before they died, so the last-known data plane may keep it Programmed; otherwise it
# waits (Pending). Never Invalid.
preason=$(k -n demo get gateway gw -o jsonpath='{.status.conditions[?(@.type=="Programmed")].reason}')
[[ $preason == Pending || $preason == Programmed ]] &&
    ok "while Kong is down it is Programmed=$preason (last-known data plane), not Invalid" ||
    bad "Programmed reason during the outage: '$preason'"
check "... and its TCP and TLS listeners are Accepted, Programmed True or Pending (no wrong reason)" \
    stream_not_wrong outage
start_kong 1 "$KONG_PORT" "${KONG_ARGS[@]}"
wait_kong_up "$KONG"
t_ready=$(now_ms)
k -n demo wait --for=condition=Programmed gateway/gw --timeout=20s >/dev/null &&
    ok "Programmed after Kong is ready ($(( $(now_ms) - t_ready )) ms after ready, incl. kubectl)" ||
    bad "Programmed after Kong is ready"
check "... the TCP and TLS listeners already Programmed with it (back within the HTTP listener's time)" stream_ok "back"
# once before the kill, once after the restart: the prober's READY, and the reconciler's
# re-queue on the listener view's change that follows it
n_ready() { grep -c 'kong instance ready' "$TMP/kgc-1.log"; }
for _ in $(seq 1 40); do
    [[ $(n_ready) -ge 2 ]] && break
    sleep 0.1
done
[[ $(n_ready) -ge 2 ]] && grep -q 'listener view changed: re-queueing every Gateway' "$TMP/kgc-1.log" &&
    ok "kgc saw the Kong instance come back (ready event, Gateways re-queued)" ||
    bad "kgc saw the Kong instance come back"
if grep -q UnsupportedProtocol "$TMP/audit.jsonl"; then
    bad "no status write ever carried UnsupportedProtocol"
    grep UnsupportedProtocol "$TMP/audit.jsonl" | head -3
else
    ok "no status write ever carried UnsupportedProtocol ($(wc -l <"$TMP/audit.jsonl") writes audited)"
fi
stop_kgc 1 && ok "kgc stops on SIGTERM with exit 0" || bad "kgc exit status on SIGTERM"

# --- kgc restarted while Kong is down: the LMDB cache answers ------------------------------------
kill_kong 1
k -n demo delete gateway gw --wait=true >/dev/null
k apply -f "$TMP/objects.yaml" >/dev/null
run_kgc 2 "$TMP/lc"
if k -n demo wait --for=jsonpath='{.status.listeners[0].conditions[?(@.type=="Accepted")].status}'=True \
    gateway/gw --timeout=20s >/dev/null; then
    ok "kgc restarted while Kong is down: listener Accepted from the LMDB-cached listeners"
else
    bad "kgc restarted with a cache"; tail -20 "$TMP/kgc-2.log"
fi
grep -q 'listener cache open.*entries=1' "$TMP/kgc-2.log" && ok "the new kgc process opened the cache with 1 entry" ||
    bad "the cache from the earlier run was not opened"
stop_kgc 2 >/dev/null

# --- and with nothing cached: Pending, then Programmed when Kong returns -------------------------
k -n demo delete gateway gw --wait=true >/dev/null
k apply -f "$TMP/objects.yaml" >/dev/null
run_kgc 3 "$TMP/lc-empty"
reason=
for _ in $(seq 1 100); do
    reason=$(k -n demo get gateway gw -o jsonpath='{.status.conditions[?(@.type=="Programmed")].reason}')
    [[ $reason == Pending ]] && break
    sleep 0.1
done
[[ $reason == Pending ]] && ok "no Kong and no cache: Programmed=False/Pending" ||
    bad "expected Pending, got '$reason'"
lreason=$(k -n demo get gateway gw -o jsonpath='{.status.listeners[0].conditions[?(@.type=="Accepted")].reason}')
[[ $lreason != UnsupportedProtocol ]] && ok "no listener was marked UnsupportedProtocol ($lreason)" ||
    bad "listener marked UnsupportedProtocol during the outage"
treason=$(lcond tcp Accepted reason)/$(lcond tls Accepted reason)
[[ $treason != *UnsupportedProtocol* && $treason != *PortUnavailable* ]] &&
    ok "... nor were the TCP and TLS listeners ($treason)" ||
    bad "TCP/TLS listeners during the outage with no cache: $treason"
start_kong 1 "$KONG_PORT" "${KONG_ARGS[@]}"
wait_kong_up "$KONG"
t_ready=$(now_ms)
k -n demo wait --for=condition=Programmed gateway/gw --timeout=20s >/dev/null &&
    ok "Programmed $(( $(now_ms) - t_ready )) ms after Kong is ready (event-driven, no backoff wait)" ||
    bad "Programmed after Kong returns"
check "... the TCP and TLS listeners already Programmed with it" stream_ok "back, no cache"
curl -sf "$KONG/config" | grep -q 'httproute.demo.web' &&
    ok "the restarted Kong got the configuration back" || bad "the restarted Kong has no route"
grep -q UnsupportedProtocol "$TMP/audit.jsonl" && bad "UnsupportedProtocol written at some point" ||
    ok "the audit log holds no UnsupportedProtocol at the end"
stop_kgc 3 && ok "kgc exits 0 again" || bad "kgc exit status"
# every Gateway status write kgc made, outages included: the TCP and TLS listeners always Accepted,
# Programmed True or Pending (never UnsupportedProtocol, PortUnavailable, Invalid)
read -r n_writes wrong < <(python3 - "$TMP/audit.jsonl" <<'PY'
import json, sys
n, wrong = 0, []
for line in open(sys.argv[1]):
    e = json.loads(line)
    st = e.get("status")
    if e.get("subresource") != "status" or "/gateways/gw" not in e.get("path", "") or not st:
        continue
    n += 1
    for l in st.get("listeners", []):
        if l.get("name") not in ("tcp", "tls"):
            continue
        c = {x["type"]: x for x in l.get("conditions", [])}
        a, p = c.get("Accepted", {}), c.get("Programmed", {})
        if a.get("status") != "True" or p.get("reason") not in ("Programmed", "Pending"):
            wrong.append("%s:%s/%s" % (l["name"], a.get("reason"), p.get("reason")))
print(n, ",".join(wrong) or "none")
PY
)
[[ $n_writes -gt 0 && $wrong == none ]] &&
    ok "in all $n_writes Gateway status writes the TCP and TLS listeners were Accepted, Programmed or Pending" ||
    bad "TCP/TLS listener statuses written: $wrong ($n_writes writes)"
# kgc does not send the same status patch twice for one object state: re-queued before the watch
# brings its own write back, it would re-send it (the API server answers 409: a wasted request).
read -r dups conflicts < <(python3 - "$TMP/audit.jsonl" <<'PY'
import json, sys
last, dups, conf = {}, 0, 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("subresource") != "status":
        continue
    s = json.dumps(e.get("status"), sort_keys=True)
    if e.get("code") == 200:
        last[e["path"]] = s
    elif e.get("code") == 409:
        conf += 1
        dups += last.get(e["path"]) == s
print(dups, conf)
PY
)
[[ $dups == 0 ]] && ok "no status patch re-sent for an unchanged object ($conflicts conflicts, none a repeat)" ||
    bad "$dups of $conflicts conflicting status writes repeated the status already written"
no_sanitizer_reports "$TMP"/kgc-*.log
finish

#!/usr/bin/env bash
# e2e resilience 5: kgc SIGKILLed during heavy listener churn. Two test Kong instances are
# restarted over and over with different listener sets (so kgc's LMDB listener cache is being
# written: it stores Kong's listeners), while a writer keeps adding, removing and changing the
# listeners of four Gateways. kgc is SIGKILLed at a random moment, five times, and restarted on the
# same cache. Then the Kongs are given one final listener set, kgc is killed once that set is
# stored, every Kong goes down and kgc starts again: the cache opens (log line), /debug/listeners
# serves exactly the last-known listeners, and the Gateways are judged by them. No SIGKILL may
# corrupt the cache, and no status write may carry UnsupportedProtocol, PortUnavailable or a
# conflict. Kong returns at the end: every Gateway Programmed. Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
e2e_bound 100
start_apiserver
apply_crds
write_kube_py

KILLS=${KILLS:-5}
KPORT=([1]=$(free_port) [2]=$(free_port))
kgc_ports
LC=$TMP/lc

# Listener sets the Kongs rotate through (every one has the 8000 HTTP listener the Gateways use).
lst() { echo "{\"listener\":\"0.0.0.0:$1${2:+ $2}\",\"ip\":\"0.0.0.0\",\"port\":$1,\"ssl\":${3:-false},\"http2\":false,\"proxy_protocol\":false}"; }
slst() { echo "{\"listener\":\"0.0.0.0:$1${2:+ $2}\",\"ip\":\"0.0.0.0\",\"port\":$1,\"ssl\":${3:-false},\"udp\":${4:-false},\"proxy_protocol\":false}"; }
echo "{\"proxy_listeners\":[$(lst 8000),$(lst 8443 ssl true)],\"stream_listeners\":[$(slst 9443 ssl true)]}" >"$TMP/L0.json"
echo "{\"proxy_listeners\":[$(lst 8000),$(lst 8080)],\"stream_listeners\":{}}" >"$TMP/L1.json"
echo "{\"proxy_listeners\":[$(lst 8000),$(lst 8443 ssl true),$(lst 9000)],\"stream_listeners\":[$(slst 9443 ssl true),$(slst 5353 udp false true)]}" >"$TMP/L2.json"
echo "{\"proxy_listeners\":[$(lst 8000),$(lst 8100),$(lst 8101 ssl true)],\"stream_listeners\":[]}" >"$TMP/L3.json"
# The final set: proxy 8000, 8001 (ssl), 8002; stream 7000.
echo "{\"proxy_listeners\":[$(lst 8000),$(lst 8001 ssl true),$(lst 8002)],\"stream_listeners\":[$(slst 7000)]}" >"$TMP/Lfinal.json"

base_yaml >"$TMP/objects.yaml"
for g in 0 1 2 3; do
    gateway_listeners_yaml "gw$g" demo "{name: l0, port: 8000, protocol: HTTP, hostname: \"l0.gw$g.example.com\"}"
done >>"$TMP/objects.yaml"
k apply -f "$TMP/objects.yaml" >/dev/null && ok "GatewayClass and 4 Gateways applied" || bad "apply objects"

run_kgc() { # run_kgc NAME
    start_kgc_on "$1" "http://127.0.0.1:${KPORT[1]}" --kong-admin-url "http://127.0.0.1:${KPORT[2]}" \
        --kong-probe-interval 100ms --kong-down-probe-interval 100ms
}
kill_kgc() { # kill_kgc NAME: SIGKILL, reaped
    kill -9 "${KGC_PID[$1]}" 2>/dev/null
    wait "${KGC_PID[$1]}" 2>/dev/null
    forget_pid "${KGC_PID[$1]}"
}
kong_restart() { # kong_restart N SET: Kong N restarted with listener set SET
    [[ -n ${KONG_PID[$1]:-} ]] && kill_kong "$1"
    start_kong "$1" "${KPORT[$1]}" --listeners "$TMP/L$2.json"
}

# The Gateway writer: until $TMP/stop exists (at most 100 s), each Gateway's listeners become a
# random non-empty subset of l0..l5 (port 8000, HTTP, distinct host names: nothing conflicts).
cat >"$TMP/churn.py" <<'PY'
import os, random, sys, time
sys.path.insert(0, os.environ['TMP'])
from kube import Kube, GW
k = Kube(os.environ['API'])
writes, end = 0, time.time() + 100
while not os.path.exists(os.environ['TMP'] + '/stop') and time.time() < end:
    g = 'gw%d' % random.randrange(4)
    names = sorted(random.sample(range(6), random.randint(1, 6)))
    def edit(o):
        o['spec']['listeners'] = [{'name': 'l%d' % i, 'port': 8000, 'protocol': 'HTTP',
                                   'hostname': 'l%d.%s.example.com' % (i, g)} for i in names]
    if k.modify(f'{GW}/namespaces/demo/gateways/{g}', edit) == 200:
        writes += 1
    time.sleep(0.01)
print(writes)
PY
TMP=$TMP API=$API python3 "$TMP/churn.py" >"$TMP/churn.out" 2>"$TMP/churn.err" &
CHURN=$!
PIDS+=($CHURN)

kong_restart 1 0
kong_restart 2 1
t_start=$(now_ms)
kong_restarts=0
for i in $(seq 1 "$KILLS"); do
    run_kgc "k$i"
    wait_until 10 0.05 grep -q 'kong instance ready' "$TMP/kgc-k$i.log" ||
        bad "kill $i: kgc never saw a Kong instance ready"
    # churn for a random 0.3..1.3 s, Kongs restarted back to back with other listener sets (each
    # restart is a new node id and maybe new listeners: a cache write), then SIGKILL
    end=$(($(now_ms) + 300 + RANDOM % 1000))
    for _ in $(seq 1 30); do
        (($(now_ms) >= end)) && break
        kong_restart $((1 + RANDOM % 2)) $((RANDOM % 4))
        kong_restarts=$((kong_restarts + 1))
    done
    kill_kgc "k$i"
    grep -q 'listener cache open' "$TMP/kgc-k$i.log" || bad "kill $i: the cache was not opened"
done
seen=$(cat "$TMP"/kgc-k*.log | grep -cE 'kong instance (ready|restarted)')
ok "kgc SIGKILLed $KILLS times at random points ($kong_restarts Kong restarts with changing listeners, $seen seen by kgc, $(($(now_ms) - t_start)) ms)"
corrupt_files=$(ls "$LC" | grep -c corrupt)
warns=$(cat "$TMP"/kgc-k*.log | grep -c 'level=warn component=listenercache')
[[ $corrupt_files -eq 0 && $warns -eq 0 ]] && ok "no SIGKILL corrupted the cache (no file moved aside, no cache warning)" ||
    bad "$corrupt_files files moved aside, $warns cache warnings after SIGKILLs"

# --- the final listener set, stored; then kgc killed and every Kong down --------------------------
kong_restart 1 final
kill_kong 2
run_kgc last
final_stored() {
    curl -sf -m 2 "http://127.0.0.1:$DP/debug/listeners" | python3 -c '
import json, sys
d = json.load(sys.stdin)
want = sys.argv[1]
i = [x for x in d["instances"] if x["url"] == want]
ok = i and i[0]["source"] == "live" and i[0]["persisted"] and \
    sorted(l["port"] for l in i[0]["proxy_listeners"]) == [8000, 8001, 8002]
sys.exit(0 if ok else 1)' "http://127.0.0.1:${KPORT[1]}"
}
wait_until 20 0.1 final_stored 2>/dev/null && ok "kgc stored Kong's final listener set (persisted, live)" ||
    bad "the final listener set was never stored"
sleep 0.$((RANDOM % 5))
kill_kgc last
kill_kong 1
touch "$TMP/stop"
wait "$CHURN"
forget_pid "$CHURN"
writes=$(cat "$TMP/churn.out")
[[ ${writes:-0} -gt 20 ]] && ok "the Gateway writer changed listeners $writes times" ||
    bad "the Gateway writer made only '${writes}' writes ($(tail -2 "$TMP/churn.err"))"

t0=$(now_ms)
run_kgc restart
wait_until 15 0.1 grep -q 'listener cache open.*entries=2' "$TMP/kgc-restart.log" &&
    ok "Kong down, kgc restarted: the LMDB cache opens with both instances ($(grep -o 'listener cache open.*' "$TMP/kgc-restart.log" | head -1))" ||
    bad "cache open line: $(grep 'listenercache' "$TMP/kgc-restart.log" | head -2)"
served() {
    curl -sf -m 2 "http://127.0.0.1:$DP/debug/listeners" >"$TMP/dl.json" &&
        python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = d["view"]
i = [x for x in d["instances"] if x["url"] == sys.argv[2]]
ok = v["source"] == "cached" and v["stale"] and i and i[0]["source"] == "cached" and \
    sorted((l["port"], l.get("ssl", False)) for l in i[0]["proxy_listeners"]) == [(8000, False), (8001, True), (8002, False)] and \
    [l["port"] for l in i[0]["stream_listeners"]] == [7000]
sys.exit(0 if ok else 1)' "$TMP/dl.json" "http://127.0.0.1:${KPORT[1]}"
}
if wait_until 15 0.1 served; then
    ok "/debug/listeners serves the last-known listeners (cached: 8000, 8001 ssl, 8002; stream 7000) $(($(now_ms) - t0)) ms after start"
else
    bad "/debug/listeners after the restart: $(head -c 600 "$TMP/dl.json")"
fi
# The Gateways (all on 8000/HTTP) are judged by the cached listeners: every listener Accepted.
gw_listeners_accepted() {
    python3 - "$TMP" "$API" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from kube import Kube, GW, cond
k = Kube(sys.argv[2])
for g in k.items(f'{GW}/namespaces/demo/gateways'):
    ls = (g.get('status') or {}).get('listeners') or []
    if len(ls) != len(g['spec']['listeners']):
        sys.exit(1)
    for l in ls:
        c = cond(l.get('conditions'), 'Accepted')
        if not c or c['status'] != 'True' or c.get('observedGeneration') != g['metadata']['generation']:
            sys.exit(1)
PY
}
wait_until 20 0.2 gw_listeners_accepted && ok "Kong down: every Gateway listener Accepted from the cached listeners" ||
    bad "Gateway listeners not Accepted after the restart"

start_kong 1 "${KPORT[1]}" --listeners "$TMP/Lfinal.json"
t0=$(now_ms)
all_programmed() {
    python3 - "$TMP" "$API" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from kube import Kube, gateway_problems
k = Kube(sys.argv[2])
bad = gateway_problems(k, 'demo', [])
if bad:
    print('\n'.join(bad[:5]), file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}
wait_until 30 0.2 all_programmed 2>/dev/null && ok "Kong back: every Gateway Programmed ($(($(now_ms) - t0)) ms)" ||
    { bad "Gateways not Programmed after Kong returned"; all_programmed; }
stop_kgc restart && ok "kgc exits 0 on SIGTERM" || bad "kgc exit status"

wrong=$(grep -oE 'UnsupportedProtocol|PortUnavailable|ProtocolConflict|HostnameConflict' "$TMP/audit.jsonl" | sort | uniq -c | tr '\n' ' ')
[[ -z $wrong ]] && ok "no wrong listener status in $(wc -l <"$TMP/audit.jsonl") audited writes" ||
    bad "wrong statuses written: $wrong"
[[ $(ls "$LC" | grep -c corrupt) -eq 0 ]] && ok "the cache was never moved aside" || bad "cache moved aside"
no_sanitizer_reports "$TMP"/kgc-*.log "$TMP"/kong*.err "$TMP"/api.err
finish

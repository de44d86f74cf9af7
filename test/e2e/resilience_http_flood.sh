#!/usr/bin/env bash
# e2e resilience (issue #17): kgc's HTTP port under a connection flood and a slowloris client.
# From 127.0.0.1, 500 sockets connect to --http-listen and send nothing; from 127.0.0.3 a slowloris
# client sends a request one byte every 2 s. Meanwhile:
#   - the kubelet's probes (/healthz, /readyz on --probe-listen, from 127.0.0.1 like the flood)
#     answer within the kubelet's default 1 s timeout (curl -m 1), latency printed;
#   - another client (127.0.0.2) still gets /healthz and /metrics on --http-listen: the flood only
#     takes its own per-client share of the connections;
#   - the slowloris connection is closed by the request deadline (10 s) rather than held while
#     each byte resets libmicrohttpd's idle timeout;
#   - the server's warnings are rate-limited: at most one line per kind per 30 s.
# Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
e2e_bound 180
start_apiserver
start_kong 1 0 || { bad "test Kong starts"; finish; }
apply_crds

HP=$(free_port)
PP=$(free_port)
while [[ $PP == "$HP" ]]; do PP=$(free_port); done
M=http://127.0.0.1:$HP
P=http://127.0.0.1:$PP
start_kgc_on 1 "${KONG_URL[1]}" --probe-listen "127.0.0.1:$PP"
wait_until 30 0.2 curl -sf -m 1 -o /dev/null "$P/readyz" && ok "kgc ready (/readyz on the probe port)" ||
    { bad "kgc not ready"; tail -20 "$TMP/kgc-1.log"; }

export HP
cat >"$TMP/flood.py" <<'PY'
"""Holds N idle connections to 127.0.0.1:HP until killed; prints how many connected."""
import os, socket, sys, time
n, port = int(sys.argv[1]), int(os.environ['HP'])
socks, refused = [], 0
for _ in range(n):
    s = socket.socket()
    try:
        s.connect(('127.0.0.1', port))
        socks.append(s)
    except OSError:
        refused += 1
print(f'{len(socks)} connected, {refused} refused', flush=True)
time.sleep(3600)
PY
cat >"$TMP/slowloris.py" <<'PY'
"""From 127.0.0.3: a request sent one byte every 2 s for up to 40 s. Prints when the server
closed the connection, or that it never did."""
import os, socket, time
s = socket.socket()
s.bind(('127.0.0.3', 0))
s.connect(('127.0.0.1', int(os.environ['HP'])))
req = b'GET /metrics HTTP/1.1\r\nHost: x\r\n' + b'X-Slow: ' + b'a' * 100
t0 = time.monotonic()
s.settimeout(2)
for i, b in enumerate(req):
    if time.monotonic() - t0 > 40:
        break
    try:
        s.send(bytes([b]))
        if s.recv(1, socket.MSG_PEEK) == b'':
            print(f'closed by the server after {time.monotonic() - t0:.1f} s', flush=True)
            raise SystemExit(0)
    except socket.timeout:
        continue
    except OSError:
        print(f'closed by the server after {time.monotonic() - t0:.1f} s', flush=True)
        raise SystemExit(0)
print(f'still open after {time.monotonic() - t0:.1f} s', flush=True)
PY
python3 "$TMP/flood.py" 500 >"$TMP/flood.out" 2>&1 &
FLOOD=$!
PIDS+=($FLOOD)
python3 "$TMP/slowloris.py" >"$TMP/slowloris.out" 2>&1 &
SLOW=$!
PIDS+=($SLOW)
wait_until 20 0.2 grep -q connected "$TMP/flood.out"
echo "# flood: $(cat "$TMP/flood.out")"

# probe URL: one GET with the kubelet's 1 s timeout; prints the latency in ms, fails past 1 s.
probe() {
    local t
    t=$(curl -sf -m 1 -o /dev/null -w '%{time_total}' "${@:2}" "$1") || return 1
    awk -v t="$t" 'BEGIN {printf "%.1f\n", t * 1000}'
}
probes_ok=0 probes_bad=0 max_ms=0 other_ok=0 other_bad=0
for i in $(seq 1 20); do
    for path in /healthz /readyz; do
        if ms=$(probe "$P$path"); then
            probes_ok=$((probes_ok + 1))
            max_ms=$(awk -v a="$ms" -v b="$max_ms" 'BEGIN {print (a > b) ? a : b}')
        else
            probes_bad=$((probes_bad + 1))
        fi
    done
    if probe "$M/healthz" --interface 127.0.0.2 >/dev/null; then other_ok=$((other_ok + 1)); else other_bad=$((other_bad + 1)); fi
    sleep 0.5
done
echo "# probes during the flood: $probes_ok answered, $probes_bad failed, slowest ${max_ms} ms"
((probes_bad == 0)) && ok "40 probes on the probe port answered within 1 s (slowest ${max_ms} ms)" ||
    bad "$probes_bad of 40 probes failed or took over 1 s"
((other_bad == 0)) && ok "another client (127.0.0.2) got /healthz on --http-listen 20 times of 20" ||
    bad "another client failed $other_bad times of 20 on --http-listen"
check "another client gets /metrics during the flood" \
    bash -c "curl -sf -m 2 --interface 127.0.0.2 '$M/metrics' | grep -q '^kgc_build_info'"

wait "$SLOW"
forget_pid "$SLOW"
echo "# slowloris: $(cat "$TMP/slowloris.out")"
grep -q 'closed by the server' "$TMP/slowloris.out" &&
    ok "the slowloris connection was closed by the request deadline" ||
    bad "the slowloris connection survived: $(cat "$TMP/slowloris.out")"
check "kgc logged the deadline close" grep -q 'did not send a whole request in time' "$TMP/kgc-1.log"

kill "$FLOOD" 2>/dev/null
wait "$FLOOD" 2>/dev/null
forget_pid "$FLOOD"
n=$(grep -c 'component=server.*level=warn\|level=warn component=server' "$TMP/kgc-1.log")
echo "# server warnings in the log: $n"
grep 'component=server' "$TMP/kgc-1.log" | grep 'level=warn' | head -5 | cut -c1-250
kinds=$(grep 'level=warn component=server' "$TMP/kgc-1.log" | sed -E 's/.* msg="([^"]*)".*error="([^"]{0,40}).*/\1 \2/; s/.* msg="([^"]*)".*/\1/' | sort | uniq -c | awk '$1 > 2' | wc -l)
((kinds == 0)) && ok "at most 2 warning lines per kind for 500 connections and a slowloris ($n in all)" ||
    bad "some warning kind logged more than twice ($n lines)"
check "kgc is still up" kill -0 "${KGC_PID[1]}"
check "/healthz on --http-listen answers after the flood" curl -sf -m 1 -o /dev/null "$M/healthz"
stop_kgc 1 && ok "kgc exits 0 on SIGTERM" || bad "kgc's exit status"
no_sanitizer_reports "$TMP/kgc-1.log"
finish

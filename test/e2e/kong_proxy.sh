#!/usr/bin/env bash
# e2e: the test Kong's proxy (build/kgc-test-kong --proxy-listen), driven with curl, checked with
# python3. GET / reports the proxy listeners; 404 before any configuration; POST /config; a routed
# request is echoed (upstream path and Host, X-Forwarded-*, the kong object); Kong-Debug; 426 on
# an https-only route over http; TLS with Kong's default certificate and a configured one picked
# by SNI; 503 without a target; a new configuration replaces the old; malformed requests; bad
# --proxy-listen values; SIGTERM with open connections; libssl linked; request-transformer,
# response-transformer, redirect and request-termination answers and a round-robin upstream under
# each router flavour. Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
BIN=$BUILD/kgc-test-kong
tmp=$TMP
trap 'exit 130' INT TERM

# shellcheck disable=SC2034 # read by lib.sh's bad: a failure shows the last answer
E2E_BAD_SHOW=$tmp/body

# Starts the binary with the given options; sets KPID, KURL (admin), PURL (http proxy), SURL
# (https proxy). Bounded: 10 s (the default certificate's RSA key is generated at start).
start_kong() {
    PURL='' SURL=''
    start_test_kong 200 "$@" || return 1
    PURL=$(sed -n 's/^proxy listening on \(http:.*\)$/\1/p' "$KOUT" | head -1)
    SURL=$(sed -n 's/^proxy listening on \(https:.*\)$/\1/p' "$KOUT" | head -1)
}

# get URL [curl args...]: body -> $tmp/body, headers -> $tmp/headers; echoes the status.
get() {
    local url=$1
    shift
    curl -s --max-time 5 -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$@" "$url"
}

push() { # FILE: POST /config; echoes the status
    curl -s --max-time 5 -o "$tmp/body" -w '%{http_code}' -X POST "$KURL/config" \
        -H 'Content-Type: application/json' --data-binary "@$1"
}

json() { # EXPR over d = the last body
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" "$tmp/body" 2>/dev/null
}

header() { # NAME: the value of a response header of the last request
    tr -d '\r' <"$tmp/headers" | sed -n "s/^$1: //Ip" | head -1
}

[[ -x $BIN ]] || { echo "missing $BIN (build first)"; echo "0 passed, 1 failed"; exit 1; }

# ---- options ------------------------------------------------------------------------------------
check "--help documents --proxy-listen" bash -c "'$BIN' --help | grep -q -- --proxy-listen"
"$BIN" --proxy-listen '8000' >/dev/null 2>"$tmp/err1"
rc=$?
check "--proxy-listen without a port exits 2" test "$rc" -eq 2
check "... with Kong's usage message" grep -q 'proxy_listen must be of form: \[off\] | <ip>:<port> \[ssl\]' "$tmp/err1"

# ---- start --------------------------------------------------------------------------------------
check "starts with --proxy-listen '127.0.0.1:0, 127.0.0.1:0 ssl'" \
    start_kong --proxy-listen '127.0.0.1:0, 127.0.0.1:0 ssl' --allow-debug-header
check "prints an http and an https proxy line" test -n "$PURL" -a -n "$SURL"
PPORT=${PURL##*:}
SPORT=${SURL##*:}

get "$KURL/" >/dev/null
check "GET / reports the proxy listeners with their bound ports" json \
    "[(l['port'], l['ssl'], l['listener']) for l in d['configuration']['proxy_listeners']] == [($PPORT, False, '127.0.0.1:$PPORT'), ($SPORT, True, '127.0.0.1:$SPORT ssl')]"
check "... and proxy_listen as given" json \
    "d['configuration']['proxy_listen'] == ['127.0.0.1:0', '127.0.0.1:0 ssl']"

# ---- before any configuration -------------------------------------------------------------------
check "404 before any configuration" test "$(get "$PURL/")" = 404
check "... with Kong's body" json "d['message'] == 'no Route matched with those values' and len(d['request_id']) == 32"
check "... Server: kong/3.9.1" test "$(header Server)" = "kong/3.9.1"
check "... X-Kong-Request-Id equals the body's request_id" \
    json "d['request_id'] == '$(header X-Kong-Request-Id)'"

# ---- a configuration ----------------------------------------------------------------------------
cat >"$tmp/c1.json" <<'JSON'
{"_format_version": "3.0",
 "services": [
  {"name": "echo", "host": "echo-up", "port": 80, "path": "/svc",
   "routes": [
    {"name": "echo-r", "paths": ["/echo"], "hosts": ["echo.example.com"]},
    {"name": "tls-only", "paths": ["/tls"], "protocols": ["https"]}]},
  {"name": "dead", "host": "dead-up",
   "routes": [{"name": "dead-r", "paths": ["/dead"]}]}],
 "upstreams": [
  {"name": "echo-up", "targets": [{"target": "10.1.2.3:8080"}]},
  {"name": "dead-up"}]}
JSON
check "POST /config 201" test "$(push "$tmp/c1.json")" = 201

code=$(get "$PURL/echo/x?a=1" -H 'Host: echo.example.com' -H 'Kong-Debug: 1')
check "a routed request is echoed (200)" test "$code" = 200
check "... upstream path: strip_path and the service path" json "d['path'] == '/svc/x?a=1'"
check "... upstream Host: the target" json "d['host'] == '10.1.2.3:8080'"
check "... X-Forwarded-Host, -Proto, -Port, -Prefix" json \
    "d['headers']['X-Forwarded-Host'] == ['echo.example.com'] and d['headers']['X-Forwarded-Proto'] == ['http'] and d['headers']['X-Forwarded-Port'] == ['$PPORT'] and d['headers']['X-Forwarded-Prefix'] == ['/echo']"
check "... the kong object names route, service, upstream and target" json \
    "d['kong']['route']['name'] == 'echo-r' and d['kong']['service']['name'] == 'echo' and d['kong']['upstream'] == 'echo-up' and d['kong']['target'] == '10.1.2.3:8080'"
check "... Kong-Route-Name and Kong-Service-Name (Kong-Debug)" \
    test "$(header Kong-Route-Name)/$(header Kong-Service-Name)" = "echo-r/echo"
check "... Via: 1.1 kong/3.9.1" test "$(header Via)" = "1.1 kong/3.9.1"

check "another Host: 404" test "$(get "$PURL/echo" -H 'Host: other.example.com')" = 404
check "an https-only route over http: 426" test "$(get "$PURL/tls")" = 426
check "... Kong's message" json "d['message'] == 'Please use HTTPS protocol'"
check "... over https: 200" test "$(get "$SURL/tls" -k)" = 200
check "... X-Forwarded-Proto https" json "d['headers']['X-Forwarded-Proto'] == ['https']"
check "an upstream without targets: 503" test "$(get "$PURL/dead")" = 503
check "... Kong's message" json "d['message'] == 'failure to get a peer from the ring-balancer'"

# ---- TLS certificates ---------------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj '/CN=shop-cert' \
    -keyout "$tmp/shop.key" -out "$tmp/shop.crt" >/dev/null 2>&1
python3 - "$tmp/c1.json" "$tmp/shop.crt" "$tmp/shop.key" >"$tmp/c2.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["certificates"] = [{"cert": open(sys.argv[2]).read(), "key": open(sys.argv[3]).read(),
                      "snis": [{"name": "*.shop.test"}]}]
print(json.dumps(d))
PY
check "POST /config with a certificate: 201" test "$(push "$tmp/c2.json")" = 201
subject() { # SNI: the subject of the certificate the proxy presents
    echo | timeout 5 openssl s_client -connect "127.0.0.1:$SPORT" ${1:+-servername "$1"} 2>/dev/null |
        openssl x509 -noout -subject 2>/dev/null
}
check "no SNI: Kong's default certificate (CN=localhost, O=Kong)" \
    bash -c "[[ '$(subject)' == *'O = Kong'*'CN = localhost'* ]]"
check "SNI a.shop.test: the wildcard certificate" bash -c "[[ '$(subject a.shop.test)' == *'CN = shop-cert'* ]]"
check "SNI other.test: the default certificate" bash -c "[[ '$(subject other.test)' == *'CN = localhost'* ]]"
check "https through the chosen certificate reaches the route" \
    test "$(get "https://a.shop.test:$SPORT/tls" -k --resolve "a.shop.test:$SPORT:127.0.0.1")" = 200

# ---- a new configuration replaces the old ----------------------------------------------------------
cat >"$tmp/c3.json" <<'JSON'
{"_format_version": "3.0",
 "services": [{"name": "other", "url": "http://10.9.8.7:9000/", "routes": [{"name": "o", "paths": ["/other"], "strip_path": false}]}]}
JSON
check "POST /config (another) 201" test "$(push "$tmp/c3.json")" = 201
check "the old route is gone: 404" test "$(get "$PURL/echo" -H 'Host: echo.example.com')" = 404
check "the new one answers" test "$(get "$PURL/other/y")" = 200
check "... url shorthand expanded: Host 10.9.8.7:9000, path /other/y" json \
    "d['host'] == '10.9.8.7:9000' and d['path'] == '/other/y'"

# ---- robustness ---------------------------------------------------------------------------------
python3 - "$PPORT" "$SPORT" <<'PY' 2>/dev/null
import socket, sys
for port, data in [(sys.argv[1], b"GARBAGE\r\n\r\n"), (sys.argv[1], b"GET /\x00\xff HTTP/1.1\r\n\r\n"),
                   (sys.argv[1], b"GET / HTTP/1.1\r\nHost: " + b"a" * 100000 + b"\r\n\r\n"),
                   (sys.argv[2], b"\x16\x03\x01\x00\x10short"), (sys.argv[2], b"GET / HTTP/1.1\r\n\r\n")]:
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
    try:
        s.sendall(data); s.shutdown(socket.SHUT_WR); s.recv(65536)
    except Exception:
        pass
    s.close()
PY
check "malformed requests: still serving" test "$(get "$PURL/other/z")" = 200
check "a 17 MiB body: 413" test "$(head -c $((17 << 20)) /dev/zero | curl -s --max-time 10 -o "$tmp/body" -w '%{http_code}' -X POST --data-binary @- "$PURL/other")" = 413

# an idle TLS connection and an idle HTTP one do not hold up SIGTERM
python3 - "$PPORT" "$SPORT" <<'PY' &
import socket, ssl, sys, time
c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
a = c.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[2]))))
b = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(8)
PY
idle=$!
sleep 0.5
t0=$(date +%s%N)
check "SIGTERM with idle connections exits 0" stop_pid "$KPID"
t1=$(date +%s%N)
check "... within 3 s" test $(((t1 - t0) / 1000000)) -lt 3000
kill "$idle" 2>/dev/null
wait "$idle" 2>/dev/null

# ---- libssl is linked, not loaded with dlopen -------------------------------------------------------
check "the binary links libssl (NEEDED libssl.so.*)" bash -c "readelf -d '$BIN' | grep -q 'NEEDED.*\[libssl\.so'"

# ---- plugins and the balancer through the proxy, under each router flavour ------------------------
# The facts are those of Kong 3.9.1's plugin specs (spec/03-plugins/...), with the echo standing in
# for the mock upstream. conf.py FLAVOR writes the configuration: the same routes as traditional
# fields or, under expressions, as ATC expressions (kong/router/transform.lua would produce these).
cat >"$tmp/conf.py" <<'PY'
import json, sys
flavor = sys.argv[1]
def route(name, host, regex=None, strip=True):
    r = {"name": name, "strip_path": strip}
    if flavor == "expressions":
        e = 'http.host == "%s"' % host
        if regex:
            e += ' && http.path ~ r#"^%s"#' % regex
        r["expression"] = e
    else:
        r["hosts"] = [host]
        if regex:
            r["paths"] = ["~" + regex]
    return r
cap = r"/requests/user1/(?P<user1>\w+)/user2/(?P<user2>\S+)"
svc = lambda name, routes, host="10.0.0.9": {"name": name, "host": host, "port": 80, "routes": routes}
plugins = [
  # request-transformer 02-access_spec.lua:56-71 (routes 10, 11), 246-264 (their plugins)
  {"name": "request-transformer", "route": "rt10", "config": {"add": {"querystring": [
      "uri_param1:$(uri_captures.user1)", "uri_param2[some_index][1]:$(uri_captures.user2)"]}}},
  {"name": "request-transformer", "route": "rt11", "config": {"replace": {
      "uri": "/requests/user2/$(uri_captures.user2)/user1/$(uri_captures.user1)"}}},
  # response-transformer 04-filter_spec.lua:27-46 (the echo's "path" stands for httpbin's "url")
  {"name": "response-transformer", "route": "resp1", "config": {"remove": {"json": ["path"]}}},
  {"name": "response-transformer", "route": "resp2", "config": {"replace": {"json": [
      "headers:/hello/world", "method:\"wot\""]}}},
  # redirect 02-access_spec.lua:42-71
  {"name": "redirect", "route": "redir3", "config": {"location": "https://example.com/path?foo=bar"}},
  {"name": "redirect", "route": "redir4", "config": {
      "location": "https://example.com/some_path?foo=bar", "keep_incoming_path": True}},
  # request-termination 02-access_spec.lua:63-125
  {"name": "request-termination", "route": "term1", "config": {}},
  {"name": "request-termination", "route": "term3", "config": {"status_code": 406, "message": "Invalid"}},
  {"name": "request-termination", "route": "term5", "config": {"status_code": 451,
      "content_type": "text/html",
      "body": "<html><body><h1>Service is down due to content infringement</h1></body></html>"}},
  {"name": "request-termination", "route": "term8", "config": {"status_code": 204}},
]
d = {"_format_version": "3.0",
     "services": [
        svc("rt", [route("rt10", "test10.test", cap, strip=False), route("rt11", "test11.test", cap)]),
        svc("resp", [route("resp1", "response.test"), route("resp2", "response2.test")]),
        svc("redir", [route("redir3", "api3.redirect.test"), route("redir4", "api4.redirect.test")]),
        svc("term", [route("term1", "api1.request-termination.test"),
                     route("term3", "api3.request-termination.test"),
                     route("term5", "api5.request-termination.test"),
                     route("term8", "api8.request-termination.test")]),
        svc("rr", [route("rr", "rr.test")], host="rr-up")],
     "upstreams": [{"name": "rr-up", "targets": [
        {"target": "10.5.0.1:80", "weight": 100}, {"target": "10.5.0.2:80", "weight": 100},
        {"target": "10.5.0.3:80", "weight": 0}]}],
     "plugins": plugins}
print(json.dumps(d))
PY
# content_length_ok: the last answer's Content-Length is its body's size
content_length_ok() { test "$(header Content-Length)" = "$(stat -c %s "$tmp/body")"; }
for flavor in traditional_compatible expressions traditional; do
    check "[$flavor] starts" start_kong --proxy-listen '127.0.0.1:0' --router-flavor "$flavor"
    python3 "$tmp/conf.py" "$flavor" >"$tmp/p.json"
    check "[$flavor] POST /config with plugins: 201" test "$(push "$tmp/p.json")" = 201
    # request-transformer 02-access_spec.lua:2061-2082: uri_captures in an added querystring
    check "[$flavor] request-transformer \$(uri_captures.x) in querystring (RT spec 2061-2082)" \
        test "$(get "$PURL/requests/user1/foo/user2/bar?q1=20" -H 'Host: test10.test')" = 200
    check "[$flavor] ... upstream request_uri" json \
        "d['path'] == '/requests/user1/foo/user2/bar?q1=20&uri_param1=foo&uri_param2%5Bsome_index%5D%5B1%5D=bar'"
    # the router and the captures see the URI exec() computes (kong/router/utils.lua:57-64:
    # kong/tools/uri.lua normalize); X-Forwarded-Path keeps the path as sent (handler.lua:1248-1254)
    check "[$flavor] a dot segment and %66 in the path: normalised before routing" \
        test "$(get "$PURL/requests/./user1/%66oo/user2/bar" --path-as-is -H 'Host: test10.test')" = 200
    check "[$flavor] ... captures and upstream path from the normalised URI" json \
        "d['path'] == '/requests/user1/foo/user2/bar?uri_param1=foo&uri_param2%5Bsome_index%5D%5B1%5D=bar' and d['headers']['X-Forwarded-Path'] == ['/requests/./user1/%66oo/user2/bar']"
    # 02-access_spec.lua:2083-2097: replace.uri from the captures
    check "[$flavor] request-transformer replace.uri from captures (RT spec 2083-2097)" \
        test "$(get "$PURL/requests/user1/foo/user2/bar" -H 'Host: test11.test')" = 200
    check "[$flavor] ... upstream path /requests/user2/bar/user1/foo" json \
        "d['path'] == '/requests/user2/bar/user1/foo'"
    # response-transformer 04-filter_spec.lua:84-95, 108-121
    check "[$flavor] response-transformer remove.json (04-filter_spec 84-95)" \
        test "$(get "$PURL/get" -H 'Host: response.test')" = 200
    check "[$flavor] ... the field is gone, the rest kept" json "'path' not in d and d['method'] == 'GET'"
    check "[$flavor] ... Content-Length matches the rewritten body" content_length_ok
    check "[$flavor] response-transformer replace.json (04-filter_spec 108-121)" \
        test "$(get "$PURL/get" -H 'Host: response2.test')" = 200
    check "[$flavor] ... replaced values" json "d['headers'] == '/hello/world' and d['method'] == '\"wot\"'"
    check "[$flavor] ... Content-Length matches the rewritten body" content_length_ok
    # redirect 02-access_spec.lua:123-145
    check "[$flavor] redirect: 301 (redirect spec 99-108)" \
        test "$(get "$PURL/status/200" -H 'Host: api3.redirect.test')" = 301
    check "[$flavor] ... Location as configured (redirect spec 123-133)" \
        test "$(header Location)" = "https://example.com/path?foo=bar"
    check "[$flavor] ... Content-Length matches the body" content_length_ok
    get "$PURL/status/200?keep=this" -H 'Host: api4.redirect.test' >/dev/null
    check "[$flavor] redirect keep_incoming_path (redirect spec 135-145)" \
        test "$(header Location)" = "https://example.com/status/200?keep=this"
    # kong.request.get_path() is the normalised path (kong/pdk/request.lua:415-417)
    get "$PURL/x/../status//200?keep=this" --path-as-is -H 'Host: api4.redirect.test' >/dev/null
    check "[$flavor] ... with the incoming path normalised (pdk/request.lua:415-417)" \
        test "$(header Location)" = "https://example.com/status/200?keep=this"
    # request-termination 02-access_spec.lua:189-279
    check "[$flavor] request-termination default: 503 (termination spec 189-200)" \
        test "$(get "$PURL/status/200" -H 'Host: api1.request-termination.test')" = 503
    check "[$flavor] ... {message = Service unavailable}" json "d == {'message': 'Service unavailable'}"
    check "[$flavor] ... Content-Length matches the body" content_length_ok
    check "[$flavor] request-termination 406 Invalid (termination spec 228-239)" \
        test "$(get "$PURL/status/200" -H 'Host: api3.request-termination.test')" = 406
    check "[$flavor] ... {message = Invalid}" json "d == {'message': 'Invalid'}"
    check "[$flavor] request-termination 451 with a body (termination spec 269-279)" \
        test "$(get "$PURL/status/200" -H 'Host: api5.request-termination.test')" = 451
    check "[$flavor] ... the body as configured" test "$(cat "$tmp/body")" = \
        "<html><body><h1>Service is down due to content infringement</h1></body></html>"
    check "[$flavor] ... Content-Type text/html" test "$(header Content-Type)" = "text/html"
    check "[$flavor] ... Content-Length matches the body" content_length_ok
    check "[$flavor] request-termination 204 (termination spec 241-252)" \
        test "$(get "$PURL/status/204" -H 'Host: api8.request-termination.test')" = 204
    check "[$flavor] ... without Content-Length" test -z "$(header Content-Length)"
    # round-robin over weights 100:100:0 (kong/runloop/balancer/round_robin.lua:38-73: the wheel
    # holds weight/gcd slots per address, 0 for weight 0; getPeer walks it one slot per request)
    for _ in $(seq 1 100); do
        get "$PURL/" -H 'Host: rr.test' >/dev/null
        python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['kong']['target'])" "$tmp/body"
    done | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ' >"$tmp/rr"
    check "[$flavor] round-robin 1:1:0 over 100 requests: 50/50, weight 0 never ($(cat "$tmp/rr"))" \
        test "$(cat "$tmp/rr")" = "10.5.0.1:80=50 10.5.0.2:80=50 "
    check "[$flavor] SIGTERM: exits 0 (no sanitizer report)" stop_pid "$KPID"
done

# ---- without --proxy-listen nothing changes -------------------------------------------------------
check "starts without --proxy-listen" start_kong
check "no proxy line" test -z "$PURL"
get "$KURL/" >/dev/null
check "GET / reports the fixture's listeners (8000, 8443)" json \
    "[l['port'] for l in d['configuration']['proxy_listeners']] == [8000, 8443]"
stop_pid "$KPID" >/dev/null

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

#!/usr/bin/env bash
# e2e: the test Kong Admin API (build/kgc-test-kong) driven with curl, checked with python3.
# Root, status, readiness before and after a push, 304 on a repeated string-form push, 201 on a
# repeated document-form push, /status hash = MD5 of the string, multipart/form-data pushes
# (curl -F config=@file: hash = md5sum of the file, then 304), flattened errors on a broken push,
# fault injection, start delay, SIGTERM and restart. Last line: "N passed, N failed".
set -uo pipefail

BUILD=${BUILD:-build}
BIN=$BUILD/kgc-test-kong
passed=0 failed=0
tmp=$(mktemp -d)
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { passed=$((passed + 1)); echo "ok   - $1"; }
bad() { failed=$((failed + 1)); echo "FAIL - $1"; [[ -f $tmp/body ]] && head -c 600 "$tmp/body" && echo; }
check() { # NAME COMMAND...
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}

# Starts the server with the given options; sets KPID and KURL. Bounded: 5 s.
start_kong() {
    local out=$tmp/out.$RANDOM
    "$BIN" "$@" >"$out" 2>>"$tmp/stderr" &
    KPID=$!
    PIDS+=("$KPID")
    KURL=
    for _ in $(seq 1 100); do
        KURL=$(sed -n 's/^listening on //p' "$out" | head -1)
        [[ -n $KURL ]] && return 0
        kill -0 "$KPID" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# stop_kong PID: SIGTERM, wait up to 5 s, return the exit status.
stop_kong() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    wait "$pid"
}

# req METHOD PATH [CONTENT-TYPE BODY-FILE]: body -> $tmp/body, headers -> $tmp/headers; echoes status.
req() {
    local args=(-s --max-time 5 -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' -X "$1")
    if [[ $# -ge 4 ]]; then
        args+=(-H "Content-Type: $3" --data-binary "@$4")
    fi
    curl "${args[@]}" "$KURL$2"
}

# json EXPR: evaluates a python expression over d = the last body.
json() {
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" "$tmp/body" 2>/dev/null
}

[[ -x $BIN ]] || { echo "missing $BIN (build first)"; echo "0 passed, 1 failed"; exit 1; }

# ---- options ------------------------------------------------------------------------------------
check "--help exits 0 and documents --fail-config-code" \
    bash -c "'$BIN' --help | grep -q -- --fail-config-code"
"$BIN" --bogus >/dev/null 2>&1
check "a bad option exits 2" test $? -eq 2
"$BIN" --fail-config-code 418 >/dev/null 2>&1
check "--fail-config-code accepts only 400, 429, 503" test $? -eq 2

# ---- a fresh Kong ---------------------------------------------------------------------------------
NODE=69d063c5-761b-4bab-a426-c89da49a9409
check "starts on a free port and prints 'listening on'" \
    start_kong --admin-listen 127.0.0.1:0 --node-id "$NODE" --audit "$tmp/audit"
K1=$KPID

check "GET / is 200" test "$(req GET /)" = 200
check "GET / has version, node_id, database off" \
    json "d['version']=='3.9.1' and d['node_id']=='$NODE' and d['configuration']['database']=='off'"
check "GET / serves the fixture's listeners" \
    json "[l['port'] for l in d['configuration']['proxy_listeners']]==[8000,8443] and d['configuration']['proxy_listeners'][1]['ssl'] is True and d['configuration']['stream_listeners'][0]['port']==9443"
check "GET / reports router_flavor and enabled plugins" \
    json "d['configuration']['router_flavor']=='traditional_compatible' and 'request-transformer' in d['plugins']['available_on_server']"

check "GET /status is 200" test "$(req GET /status)" = 200
check "configuration_hash is 32 zeros before any push" \
    json "d['configuration_hash']=='0'*32"
check "GET /status/ready is 503 before a push" test "$(req GET /status/ready)" = 503
check "not-ready message is Kong's" \
    json "d['message']=='no configuration available (empty configuration present)'"

cat >"$tmp/doc.json" <<'EOF'
{"_format_version":"3.0","services":[{"name":"svc-a","host":"svc-a.default.svc","port":8080,
 "routes":[{"name":"route-a","paths":["~/a$","/a/"],"strip_path":false,"preserve_host":true,
  "plugins":[{"name":"request-transformer","config":{"add":{"headers":["x-kgc:1"]}}}]}]}],
 "upstreams":[{"name":"svc-a.default.svc","targets":[{"target":"10.0.0.1:8080","weight":100}]}]}
EOF
python3 -c "import json,sys; print(json.dumps({'config': open(sys.argv[1]).read()}))" "$tmp/doc.json" >"$tmp/string.json"

check "string-form push is 201" \
    test "$(req POST '/config?check_hash=1' application/json "$tmp/string.json")" = 201
check "201 body lists the entities by id" \
    json "len(d['services'])==1 and len(d['routes'])==1 and len(d['targets'])==1"
req GET /status >/dev/null
want=$(python3 -c "import hashlib,sys; print(hashlib.md5(open(sys.argv[1],'rb').read()).hexdigest())" "$tmp/doc.json")
check "/status hash = MD5 of the string" json "d['configuration_hash']=='$want'"
check "repeated string-form push with check_hash=1 is 304" \
    test "$(req POST '/config?check_hash=1' application/json "$tmp/string.json")" = 304
check "GET /status/ready is 200 after a push" test "$(req GET /status/ready)" = 200
check "GET /config returns the document" test "$(req GET /config)" = 200
check "GET /config holds the pushed service" json "d['config']['services'][0]['name']=='svc-a'"

check "document-form push is 201" \
    test "$(req POST '/config?check_hash=1' application/json "$tmp/doc.json")" = 201
check "repeated document-form push is 201 again" \
    test "$(req POST '/config?check_hash=1' application/json "$tmp/doc.json")" = 201
req GET /status >/dev/null
cp "$tmp/body" "$tmp/status.before"

cat >"$tmp/broken.json" <<'EOF'
{"_format_version":"3.0","services":[{"name":"svc-b","host":"svc-b","port":99999,"tags":["k8s-name:b"],
 "routes":[{"name":"route-b","paths":["~/(b"]}]}]}
EOF
check "broken push is 400" \
    test "$(req POST '/config?flatten_errors=1' application/json "$tmp/broken.json")" = 400
check "400 body is Kong's code 14" \
    json "d['code']==14 and d['name']=='invalid declarative configuration'"
check "flattened_errors names the service, field and message" \
    json "any(e['entity_type']=='service' and e['entity_name']=='svc-b' and e['entity_tags']==['k8s-name:b'] and {'type':'field','field':'port','message':'value should be between 0 and 65535'} in e['errors'] for e in d['flattened_errors'])"
check "flattened_errors has the route's regex error at paths.1" \
    json "any(e['entity_type']=='route' and any(x.get('field')=='paths.1' and x['message'].startswith(\"invalid regex: '/(b' (PCRE returned: pcre2_compile() failed: missing closing parenthesis\") for x in e['errors']) for e in d['flattened_errors'])"
req GET /status >/dev/null
check "a rejected push changes nothing" cmp -s <(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['configuration_hash'])" "$tmp/status.before") \
    <(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['configuration_hash'])" "$tmp/body")

cat >"$tmp/dangling.json" <<'EOF'
{"_format_version":"3.0","routes":[{"name":"r1","paths":["/"],"service":"nope"}]}
EOF
check "a dangling reference is 400" \
    test "$(req POST '/config?flatten_errors=1' application/json "$tmp/dangling.json")" = 400
check "...with empty flattened_errors (Kong's quirk)" \
    json "d['flattened_errors']==[] and d['message']=='declarative config is invalid: {}'"
check "without flatten_errors the reference error is in fields" \
    test "$(req POST /config application/json "$tmp/dangling.json")" = 400
check "...as Kong words it" \
    json "d['fields']['routes']['r1']==[\"invalid reference 'service: nope' (no such entry in 'services')\"]"

: >"$tmp/empty"
check "an empty body is 400" test "$(req POST /config application/json "$tmp/empty")" = 400
check "...expected a declarative configuration" json "d=={'message':'expected a declarative configuration'}"

# multipart/form-data (curl -F config=@kong.yml): the config field is the string form
printf '# "quoted" back\\slash caf\xc3\xa9 \xf0\x9f\x98\x80\r\n_format_version: "3.0"\r\n_comment: "\\"x\\" \\\\ \\n"\nservices:\n- name: svc-m\n  host: svc-m.default.svc\n' >"$tmp/kong.yml"
form() { # PATH CURL-F-ARGS...: body -> $tmp/body; echoes status
    local path=$1
    shift
    local args=(-s --max-time 5 -o "$tmp/body" -w '%{http_code}')
    for f in "$@"; do args+=(-F "$f"); done
    curl "${args[@]}" "$KURL$path"
}
check "multipart push (curl -F config=@kong.yml) is 201" \
    test "$(form '/config?check_hash=1' "config=@$tmp/kong.yml")" = 201
req GET /status >/dev/null
want=$(md5sum "$tmp/kong.yml" | cut -d' ' -f1)
check "/status hash = md5sum of the file" json "d['configuration_hash']=='$want'"
check "repeated multipart push with check_hash=1 is 304" \
    test "$(form '/config?check_hash=1' "config=@$tmp/kong.yml")" = 304
check "the text as a plain field, check_hash as a form field: 304" \
    test "$(form /config "config=<$tmp/kong.yml" check_hash=1)" = 304

check "SIGTERM stops it with exit 0" stop_kong "$K1"
posts=$(grep -c '"method":"POST","path":"/config"' "$tmp/audit")
check "the audit log has one line per push (11)" test "$posts" -eq 11

# ---- a restart comes back empty --------------------------------------------------------------------
check "restarts" start_kong
K2=$KPID
req GET /status >/dev/null
check "after a restart the hash is zeros again" json "d['configuration_hash']=='0'*32"
check "...and ready is 503" test "$(req GET /status/ready)" = 503
kill -KILL "$K2" 2>/dev/null
wait "$K2" 2>/dev/null

# ---- options -----------------------------------------------------------------------------------------
check "starts with --no-listeners" start_kong --no-listeners --router-flavor expressions
req GET / >/dev/null
check "empty listener lists are encoded {}" \
    json "d['configuration']['proxy_listeners']=={} and d['configuration']['stream_listeners']=={} and d['configuration']['router_flavor']=='expressions'"
stop_kong "$KPID" >/dev/null

cat >"$tmp/listeners.json" <<'EOF'
{"proxy_listeners":[{"listener":"0.0.0.0:80","ip":"0.0.0.0","port":80,"ssl":false}],"stream_listeners":[]}
EOF
check "starts with --listeners FILE" start_kong --listeners "$tmp/listeners.json"
req GET / >/dev/null
check "serves the file's listeners" \
    json "[l['port'] for l in d['configuration']['proxy_listeners']]==[80] and d['configuration']['stream_listeners']=={}"
stop_kong "$KPID" >/dev/null

check "starts with --fail-config 1 --fail-config-code 429" \
    start_kong --fail-config 1 --fail-config-code 429
check "the first push is 429" \
    test "$(req POST /config application/json "$tmp/string.json")" = 429
check "...with Retry-After: 1" grep -qi '^Retry-After: 1' "$tmp/headers"
check "the next push is 201" test "$(req POST /config application/json "$tmp/string.json")" = 201
stop_kong "$KPID" >/dev/null

check "starts with --not-ready-ms 600" start_kong --not-ready-ms 600
req POST /config application/json "$tmp/string.json" >/dev/null
check "pushed but not ready yet: 503" test "$(req GET /status/ready)" = 503
sleep 0.7
check "ready after the delay: 200" test "$(req GET /status/ready)" = 200
stop_kong "$KPID" >/dev/null

t0=$(date +%s%N)
check "starts with --start-delay-ms 400" start_kong --start-delay-ms 400
t1=$(date +%s%N)
check "listening only after the delay" test $(((t1 - t0) / 1000000)) -ge 400
stop_kong "$KPID" >/dev/null

"$BIN" --start-delay-ms 5000 >/dev/null 2>&1 &
p=$!
PIDS+=("$p")
sleep 0.2
check "SIGTERM during the start delay exits 0" stop_kong "$p"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

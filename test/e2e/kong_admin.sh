#!/usr/bin/env bash
# e2e: the test Kong Admin API (build/kgc-test-kong) driven with curl, checked with python3.
# Root, status, readiness before and after a push, 304 on a repeated string-form push, 201 on a
# repeated document-form push, /status hash = MD5 of the string, multipart/form-data pushes
# (curl -F config=@file: hash = md5sum of the file, then 304), flattened errors on a broken push,
# Kong 3.9.1's body rules (415, 413, Cannot parse JSON body, the empty configuration's zero hash)
# and 15-off_spec.lua's POST /config bodies, route rules per router flavour, fault injection,
# start delay, SIGTERM and restart. Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
BIN=$BUILD/kgc-test-kong
tmp=$TMP
trap 'exit 130' INT TERM

# shellcheck disable=SC2034 # read by lib.sh's bad: a failure shows the last answer
E2E_BAD_SHOW=$tmp/body

# Starts the server with the given options; sets KPID and KURL. Bounded: 5 s.
start_kong() { start_test_kong 100 "$@"; }

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
# kong/api/api_helpers.lua:311-317 (3.9.1): an empty JSON body is one Lapis cannot decode
check "an empty JSON body is 400" test "$(req POST /config application/json "$tmp/empty")" = 400
check "...Cannot parse JSON body" json "d=={'message':'Cannot parse JSON body'}"

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

check "SIGTERM stops it with exit 0" stop_pid "$K1"
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

# ---- Kong 3.9.1's POST /config rules (kong/api/api_helpers.lua, kong/api/routes/config.lua,
# kong/db/declarative/import.lua, spec/02-integration/04-admin_api/15-off_spec.lua) ---------------
check "starts for the body rules" start_kong
K3=$KPID
# raw TEXT-FILE: the body as it came
raw() { cat "$tmp/body"; }
nginx_page() { printf '<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n</body>\r\n</html>\r\n' "$1" "$1"; }
printf 'bobby tables' >"$tmp/plain"
check "another content type is 415 (api_helpers.lua:247-270)" \
    test "$(req POST /config text/plain "$tmp/plain")" = 415
check "...with nginx's page, no server tokens" cmp -s "$tmp/body" <(nginx_page "415 Unsupported Media Type")
check "...as text/html" grep -qi '^Content-Type: text/html' "$tmp/headers"
code=$(curl -s --max-time 5 -o "$tmp/body" -w '%{http_code}' -X POST -H 'Content-Type:' --data-binary @"$tmp/plain" "$KURL/config")
check "a body without a content type is 415" test "$code" = 415
code=$(curl -s --max-time 5 -o "$tmp/body" -w '%{http_code}' -X POST "$KURL/config")
check "no body at all is 400 (15-off_spec.lua:828-839)" test "$code" = 400
check "...expected a declarative configuration" test "$(raw)" = '{"message":"expected a declarative configuration"}'
printf '{"_format_version":' >"$tmp/halfjson"
check "broken JSON is 400" test "$(req POST /config application/json "$tmp/halfjson")" = 400
check "...Cannot parse JSON body" test "$(raw)" = '{"message":"Cannot parse JSON body"}'
python3 -c "import sys; sys.stdout.write('{\"config\":\"' + ' ' * (10 * 1024 * 1024) + '\"}')" >"$tmp/big.json"
check "over 10 MiB is 413 (nginx_admin_client_max_body_size = 10m, kong_defaults.lua:114)" \
    test "$(req POST /config application/json "$tmp/big.json")" = 413
check "...with nginx's page" cmp -s "$tmp/body" <(nginx_page "413 Request Entity Too Large")
rm -f "$tmp/big.json"
printf '{"config":"bobby tables"}' >"$tmp/bobby.json"
check "an invalid config string is 400 (15-off_spec.lua:621-645)" \
    test "$(req POST '/config?flatten_errors=1' application/json "$tmp/bobby.json")" = 400
check "...Kong's exact body, no flattened_errors (config.lua:61-63)" \
    json "d=={'code':14,'fields':{'error':'failed parsing declarative configuration: expected an object'},'message':'declarative config is invalid: {error=\"failed parsing declarative configuration: expected an object\"}','name':'invalid declarative configuration'}"
python3 -c "import json; print(json.dumps({'config': '_format_version: \"1.1\"\nservices:\n- port: -12\n'}))" >"$tmp/port.json"
check "a validation error is 400 (15-off_spec.lua:647-680)" \
    test "$(req POST /config application/json "$tmp/port.json")" = 400
check "...Kong's exact body" \
    json "d=={'code':14,'fields':{'services':[{'host':'required field missing','port':'value should be between 0 and 65535'}]},'message':'declarative config is invalid: {services={{host=\"required field missing\",port=\"value should be between 0 and 65535\"}}}','name':'invalid declarative configuration'}"
python3 -c "import json; print(json.dumps({'config': '_format_version: \"1.1\"\nconsumers:\n- username: foo\n  custom_id: conflict\n- username: bar\n  custom_id: conflict\n'}))" >"$tmp/cid.json"
check "a custom_id clash is 400 (15-off_spec.lua:794-826)" \
    test "$(req POST /config application/json "$tmp/cid.json")" = 400
check "...keyed by the consumer's username" \
    json "d['fields']=={'consumers':{'bar':\"uniqueness violation: 'consumers' entity with custom_id set to 'conflict' already declared\"}}"
printf '_format_version: "1.1"\nconsumers:\n- username: "bobby_in_yaml_body"\n' >"$tmp/body.yaml"
check "a YAML body is 201 (15-off_spec.lua:240-255)" \
    test "$(req POST /config application/yaml "$tmp/body.yaml")" = 201
python3 -c "import json; print(json.dumps({'config': '_format_version: \"1.1\"\nconsumers:\n- username: bobby_tables\n'}))" >"$tmp/bobby_tables.json"
check "check_hash=1 push is 201 (15-off_spec.lua:582-619)" \
    test "$(req POST '/config?check_hash=1' application/json "$tmp/bobby_tables.json")" = 201
check "...and 304 the second time" \
    test "$(req POST '/config?check_hash=1' application/json "$tmp/bobby_tables.json")" = 304
python3 -c "import json; print(json.dumps({'config': '_format_version: \"3.0\"\nservices: []\n'}))" >"$tmp/empty.json"
check "an empty configuration is 201" \
    test "$(req POST '/config?check_hash=1' application/json "$tmp/empty.json")" = 201
check "...with an empty entity body" test "$(raw)" = '{}'
req GET /status >/dev/null
check "...stored with hash zeros (declarative/import.lua:433-435)" json "d['configuration_hash']=='0'*32"
check "...so ready is 503 again (status/ready.lua:46-48)" test "$(req GET /status/ready)" = 503
check "...and the same push with check_hash=1 is 201, never 304" \
    test "$(req POST '/config?check_hash=1' application/json "$tmp/empty.json")" = 201
req GET / >/dev/null
check "GET / lists Kong 3.9.1's 45 bundled plugins with their priorities (constants.lua:1-47)" \
    json "len(d['plugins']['available_on_server'])==45 and d['plugins']['available_on_server']['redirect']=={'version':'3.9.1','priority':779} and d['plugins']['enabled_in_cluster']==[]"
req POST /config application/json "$tmp/string.json" >/dev/null
req GET / >/dev/null
check "enabled_in_cluster names the configured plugins (routes/kong.lua:80-93)" \
    json "d['plugins']['enabled_in_cluster']==['request-transformer']"
cat >"$tmp/term.json" <<'EOF'
{"_format_version":"3.0","plugins":[{"name":"request-termination","config":{"message":"m","body":"b"}}]}
EOF
check "a plugin config is checked field by field (request-termination/schema.lua:27-43)" \
    test "$(req POST /config application/json "$tmp/term.json")" = 400
check "...with Kong's message under config" \
    json "d['fields']=={'plugins':[{'config':'message cannot be used with content_type or body'}]}"
cat >"$tmp/wild.json" <<'EOF'
{"_format_version":"3.0","routes":[{"name":"w","protocols":["https"],"snis":["*.example.com"]}]}
EOF
check "a wildcard route sni is accepted under traditional_compatible (routes.lua:37-41)" \
    test "$(req POST /config application/json "$tmp/wild.json")" = 201
stop_pid "$K3" >/dev/null

check "starts with --router-flavor traditional" start_kong --router-flavor traditional
check "...where a wildcard route sni is refused (typedefs.sni)" \
    test "$(req POST /config application/json "$tmp/wild.json")" = 400
check "...as 'invalid value'" json "d['fields']=={'routes':[{'snis':['invalid value: *.example.com']}]}"
stop_pid "$KPID" >/dev/null

check "starts with --router-flavor expressions" start_kong --router-flavor expressions
cat >"$tmp/expr.json" <<'EOF'
{"_format_version":"3.0","routes":[{"name":"x","expression":"http.path == \"/\"","paths":["/"]}]}
EOF
check "expression with paths is 400 (routes.lua:78-83)" \
    test "$(req POST /config application/json "$tmp/expr.json")" = 400
check "...Router Expression failed validation at @entity" \
    json "d['fields']=={'routes':[{'@entity':[\"Router Expression failed validation: cannot set 'expression' with 'methods', 'hosts', 'paths', 'headers', 'snis', 'sources' or 'destinations' simultaneously\"]}]}"
cat >"$tmp/prio.json" <<'EOF'
{"_format_version":"3.0","routes":[{"name":"x","expression":"http.path == \"/\"","priority":70368744177664}]}
EOF
check "priority over 2^46-1 is 400 (routes.lua:213)" \
    test "$(req POST /config application/json "$tmp/prio.json")" = 400
check "...value should be between 0 and 70368744177663" \
    json "d['fields']=={'routes':[{'priority':'value should be between 0 and 70368744177663'}]}"
stop_pid "$KPID" >/dev/null

# ---- options -----------------------------------------------------------------------------------------
check "starts with --no-listeners" start_kong --no-listeners --router-flavor expressions
req GET / >/dev/null
check "empty listener lists are encoded {}" \
    json "d['configuration']['proxy_listeners']=={} and d['configuration']['stream_listeners']=={} and d['configuration']['router_flavor']=='expressions'"
stop_pid "$KPID" >/dev/null

cat >"$tmp/listeners.json" <<'EOF'
{"proxy_listeners":[{"listener":"0.0.0.0:80","ip":"0.0.0.0","port":80,"ssl":false}],"stream_listeners":[]}
EOF
check "starts with --listeners FILE" start_kong --listeners "$tmp/listeners.json"
req GET / >/dev/null
check "serves the file's listeners" \
    json "[l['port'] for l in d['configuration']['proxy_listeners']]==[80] and d['configuration']['stream_listeners']=={}"
stop_pid "$KPID" >/dev/null

check "starts with --fail-config 1 --fail-config-code 429" \
    start_kong --fail-config 1 --fail-config-code 429
check "the first push is 429" \
    test "$(req POST /config application/json "$tmp/string.json")" = 429
check "...with Retry-After: 1" grep -qi '^Retry-After: 1' "$tmp/headers"
check "the next push is 201" test "$(req POST /config application/json "$tmp/string.json")" = 201
stop_pid "$KPID" >/dev/null

check "starts with --not-ready-ms 600" start_kong --not-ready-ms 600
req POST /config application/json "$tmp/string.json" >/dev/null
check "pushed but not ready yet: 503" test "$(req GET /status/ready)" = 503
sleep 0.7
check "ready after the delay: 200" test "$(req GET /status/ready)" = 200
stop_pid "$KPID" >/dev/null

t0=$(date +%s%N)
check "starts with --start-delay-ms 400" start_kong --start-delay-ms 400
t1=$(date +%s%N)
check "listening only after the delay" test $(((t1 - t0) / 1000000)) -ge 400
stop_pid "$KPID" >/dev/null

"$BIN" --start-delay-ms 5000 >/dev/null 2>&1 &
p=$!
PIDS+=("$p")
sleep 0.2
check "SIGTERM during the start delay exits 0" stop_pid "$p"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

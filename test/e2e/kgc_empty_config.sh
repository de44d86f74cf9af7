#!/usr/bin/env bash
# e2e: an entity-free configuration. Kong 3.9.1 stores a configuration with no entities under the
# empty hash, 32 zeros (kong/db/declarative/import.lua:270-273, 433-435), so after kgc pushes one
# /status looks exactly as after a restart and /status/ready stays 503 (kong/status/ready.lua:
# 46-48); the test Kong does the same. kgc must tell its own empty push from a restart:
#   1. a Gateway with no routes becomes Programmed; over 10 s Kong gets at most 2 POST /config
#      (counted in the test Kong's --audit log), and no restart is reported;
#   2. Kong restarts (a new node_id): exactly one re-push, the Gateway stays Programmed;
#   3. a route is added: pushed; every route deleted: the empty configuration is pushed once, no
#      loop and no restart reported.
# Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
e2e_bound 240
start_apiserver

KAUDIT=$TMP/kong-audit.jsonl
start_kong 1 0 --audit "$KAUDIT" || { bad "test Kong starts"; finish; }
KONG=${KONG_URL[1]}
KONG_PORT=${KONG##*:}
HP=$(free_port)
M=http://127.0.0.1:$HP

apply_crds
{ base_yaml; gateway_yaml gw; web_service_yaml; } >"$TMP/objects.yaml"
apply_objects "GatewayClass, Gateway (no routes) and Service applied"

# posts: POST /config requests the test Kong has answered so far (every start appends).
posts() { grep -c '"method":"POST","path":"/config' "$KAUDIT" 2>/dev/null || echo 0; }
restarts_logged() { grep -c 'msg="kong instance restarted"' "$TMP/kgc-1.log"; }
programmed() {
    [[ $(k -n demo get gateway gw -o jsonpath='{.status.conditions[?(@.type=="Programmed")].status}') == True ]]
}
kong_hash() { curl -sf -m 2 "$KONG/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["configuration_hash"])'; }
posts_above() { (($(posts) > $1)); }
hash_is_empty() { [[ $(kong_hash) == 00000000000000000000000000000000 ]]; }

# a fast probe interval: every probe of the empty Kong would look like a restart
start_kgc_on 1 "$KONG" --kong-probe-interval 200ms

# --- 1. a Gateway with no routes -----------------------------------------------------------------
wait_programmed "the Gateway with no routes becomes Programmed" "$TMP/kgc-1.log" gw
[[ $(kong_hash) == 00000000000000000000000000000000 ]] &&
    ok "Kong accepted the entity-free configuration and reports hash 32 zeros" ||
    bad "Kong's hash after the empty push: $(kong_hash)"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$KONG/status/ready") == 503 ]] &&
    ok "Kong's /status/ready is 503 with the empty configuration (kgc does not wait on it)" ||
    bad "/status/ready is not 503"
n0=$(posts)
sleep 10
n1=$(posts)
[[ $n1 -le 2 ]] && ok "$n1 POST /config in all, $((n1 - n0)) in 10 s of 200 ms probes (bounded, no loop)" ||
    bad "$n1 POST /config ($((n1 - n0)) in the last 10 s): kgc loops re-pushing the empty configuration"
[[ $(restarts_logged) == 0 ]] && ok "no Kong restart reported for kgc's own empty push" ||
    bad "$(restarts_logged) restart(s) reported while Kong kept running"
[[ $(metric "$M" kgc_kong_restarts_total) == 0 ]] && ok "kgc_kong_restarts_total is 0" ||
    bad "kgc_kong_restarts_total is $(metric "$M" kgc_kong_restarts_total)"
programmed && ok "the Gateway is still Programmed" || bad "the Gateway lost Programmed"

# --- 2. a real restart while the last push was empty -----------------------------------------------
kill_kong 1
sleep 1
n2=$(posts)
start_kong 1 "$KONG_PORT" --audit "$KAUDIT" || { bad "test Kong restarts"; finish; }
wait_kong_up "$KONG"
wait_until 10 0.1 posts_above "$n2" && ok "the restarted Kong is re-pushed" ||
    bad "no push after the Kong restart"
sleep 3
n3=$(posts)
[[ $((n3 - n2)) == 1 ]] && ok "exactly one re-push after the restart" ||
    bad "$((n3 - n2)) pushes after the restart"
[[ $(restarts_logged) == 1 ]] && ok "the restart is recognised once (node_id changed)" ||
    bad "$(restarts_logged) restart(s) logged; want 1"
programmed && ok "the Gateway stays Programmed across the Kong restart" ||
    bad "the Gateway is not Programmed after the restart"

# --- 3. a route, then every route deleted ----------------------------------------------------------
httproute_yaml web gw "" /web >"$TMP/route.yaml"
k apply -f "$TMP/route.yaml" >/dev/null
wait_until 10 0.1 bash -c "curl -sf '$KONG/config' | grep -q httproute.demo.web" &&
    ok "an added route is pushed" || bad "the route did not reach Kong"
[[ $(kong_hash) != 00000000000000000000000000000000 ]] && ok "Kong's hash is no longer zeros" ||
    bad "Kong's hash is still zeros with a route"
sleep 1
n4=$(posts)
r4=$(restarts_logged)
k -n demo delete httproute web --wait=true >/dev/null
wait_until 10 0.1 hash_is_empty &&
    ok "every route deleted: Kong holds the empty configuration again" ||
    bad "Kong's hash after deleting every route: $(kong_hash)"
sleep 10
n5=$(posts)
[[ $((n5 - n4)) == 1 ]] && ok "the empty configuration was pushed once (10 s watched)" ||
    bad "$((n5 - n4)) pushes after every route was deleted"
[[ $(restarts_logged) == "$r4" ]] && ok "emptying Kong is not taken for a restart" ||
    bad "$(( $(restarts_logged) - r4 )) restart(s) reported after kgc emptied Kong"
programmed && ok "the Gateway is Programmed with the empty configuration" ||
    bad "the Gateway is not Programmed after every route was deleted"
stop_kgc 1 && ok "kgc stops on SIGTERM with exit 0" || bad "kgc exit status on SIGTERM"
no_sanitizer_reports "$TMP"/kgc-*.log
finish

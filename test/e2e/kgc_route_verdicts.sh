#!/usr/bin/env bash
# e2e: the translator's verdicts reach a route's status on its first write and after every kgc
# restart. A rule the translator cannot serve (an ExtensionRef filter) is dropped, so the route
# MUST carry PartiallyInvalid=True (Gateway API: "If only a portion of Route Rules are invalid,
# implementations MUST set the PartiallyInvalid condition"); a route whose every rule is dropped
# gets Accepted=False/UnsupportedValue and is not counted in attachedRoutes. Checked from the test
# API server's audit log:
#   1. the first status write of each route carries its verdict (routes there before kgc starts,
#      and a route created while kgc runs);
#   2. kgc is SIGKILLed and restarted: no write drops a verdict, the statuses end with them, and
#      the Gateway never counts the rejected route.
# Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
e2e_bound 180
start_apiserver
start_kong 1 0 || { bad "test Kong starts"; finish; }
KONG=${KONG_URL[1]}
apply_crds

route_yaml() { # route_yaml NAME PATH WITH_GOOD_RULE
    cat <<YAML
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: $1, namespace: demo}
spec:
  parentRefs: [{name: gw}]
  rules:
YAML
    [[ $3 == yes ]] && cat <<YAML
  - matches: [{path: {type: PathPrefix, value: $2}}]
    backendRefs: [{name: web, port: 80}]
YAML
    cat <<YAML
  - matches: [{path: {type: PathPrefix, value: $2-ext}}]
    filters: [{type: ExtensionRef, extensionRef: {group: example.com, kind: Auth, name: x}}]
    backendRefs: [{name: web, port: 80}]
YAML
}
{ base_yaml; gateway_yaml gw; web_service_yaml
route_yaml partial /p yes; echo ---; route_yaml reject /r no
} >"$TMP/objects.yaml"
apply_objects "a route with one unsupported rule and a route with only one applied"

run_kgc() {
    start_kgc "$1" --kong-admin-url "$KONG" --listener-cache-dir "$TMP/lc" --log-level info \
        --http-listen "" --debug-listen ""
}

# writes ROUTE [FROM_LINE]: one line per status write of httproute ROUTE (audit lines after
# FROM_LINE): "<Accepted status>/<reason> PartiallyInvalid=<status or ->"
writes() {
    python3 - "$TMP/audit.jsonl" "$1" "${2:-0}" <<'PY'
import json, sys
path, name, skip = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i, line in enumerate(open(path)):
    if i < skip:
        continue
    e = json.loads(line)
    if e.get("subresource") != "status" or e.get("code") != 200 or not e["path"].endswith("/httproutes/" + name + "/status"):
        continue
    mine = [p for p in (e.get("status") or {}).get("parents", [])
            if p.get("controllerName") == "konghq.com/kgc-gateway-controller"]
    if not mine:
        print("no-parent-entry")
        continue
    c = {x["type"]: x for x in mine[0].get("conditions", [])}
    a, pi = c.get("Accepted", {}), c.get("PartiallyInvalid")
    print(f"{a.get('status')}/{a.get('reason')} PartiallyInvalid={pi['status'] if pi else '-'}")
PY
}
# gw_attached [FROM_LINE]: attachedRoutes of every Gateway status write after FROM_LINE
gw_attached() {
    python3 - "$TMP/audit.jsonl" "${1:-0}" <<'PY'
import json, sys
for i, line in enumerate(open(sys.argv[1])):
    if i < int(sys.argv[2]):
        continue
    e = json.loads(line)
    if e.get("subresource") == "status" and e.get("code") == 200 and e["path"].endswith("/gateways/gw/status"):
        print(",".join(str(l.get("attachedRoutes")) for l in (e.get("status") or {}).get("listeners", [])))
PY
}
has_pi() { # has_pi ROUTE: the route's status now has PartiallyInvalid=True
    [[ $(k -n demo get httproute "$1" -o jsonpath='{.status.parents[0].conditions[?(@.type=="PartiallyInvalid")].status}') == True ]]
}
accepted_reason() {
    k -n demo get httproute "$1" -o jsonpath='{.status.parents[0].conditions[?(@.type=="Accepted")].reason}'
}
first_write_ok() { # first_write_ok ROUTE WANT [FROM_LINE]
    local first
    first=$(writes "$1" "${3:-0}" | sed -n 1p)
    [[ $first == "$2" ]] && ok "the first status write of $1 carries its verdict: $first" ||
        bad "the first status write of $1 is '$first', want '$2'"
}
PARTIAL="True/Accepted PartiallyInvalid=True"
REJECT="False/UnsupportedValue PartiallyInvalid=-"

# --- 1. the first status write ---------------------------------------------------------------------
run_kgc 1
wait_until 30 0.2 has_pi partial && ok "partial: PartiallyInvalid=True" || bad "partial never got PartiallyInvalid"
for _ in $(seq 1 150); do [[ $(accepted_reason reject) == UnsupportedValue ]] && break; sleep 0.2; done
[[ $(accepted_reason reject) == UnsupportedValue ]] && ok "reject: Accepted=False/UnsupportedValue" ||
    bad "reject: Accepted reason '$(accepted_reason reject)'"
first_write_ok partial "$PARTIAL"
first_write_ok reject "$REJECT"
k -n demo wait --for=jsonpath='{.status.listeners[0].attachedRoutes}'=1 gateway/gw --timeout=20s \
    >/dev/null && ok "attachedRoutes counts the partial route, not the rejected one" ||
    bad "attachedRoutes: $(k -n demo get gateway gw -o jsonpath='{.status.listeners[0].attachedRoutes}')"
mark=$(wc -l <"$TMP/audit.jsonl")
route_yaml late /l yes | k apply -f - >/dev/null
wait_until 20 0.2 has_pi late && ok "a route created while kgc runs gets PartiallyInvalid" ||
    bad "late never got PartiallyInvalid"
first_write_ok late "$PARTIAL" "$mark"
[[ $(writes late "$mark" | grep -vc "^$PARTIAL$") == 0 ]] && ok "no write of late lacks its verdict" ||
    bad "writes of late: $(writes late "$mark" | tr '\n' ';')"

# --- 2. kgc SIGKILLed and restarted ----------------------------------------------------------------
kill -9 "${KGC_PID[1]}"
wait "${KGC_PID[1]}" 2>/dev/null
forget_pid "${KGC_PID[1]}"
mark=$(wc -l <"$TMP/audit.jsonl")
run_kgc 2
wait_until 20 0.2 grep -q 'msg="configuration pushed"' "$TMP/kgc-2.log" &&
    ok "the restarted kgc pushed its configuration" || bad "no push from the restarted kgc"
# a few reconcile rounds after the first translation
k -n demo annotate gateway gw kgc-e2e/touch=1 --overwrite >/dev/null
sleep 3
for r in partial late; do
    has_pi "$r" && ok "after the restart $r still has PartiallyInvalid=True" ||
        bad "after the restart $r lost PartiallyInvalid"
    n=$(writes "$r" "$mark" | grep -vc "^$PARTIAL$")
    [[ $n == 0 ]] && ok "no status write of $r after the restart dropped its verdict ($(writes "$r" "$mark" | wc -l) writes)" ||
        bad "writes of $r after the restart: $(writes "$r" "$mark" | tr '\n' ';')"
done
[[ $(accepted_reason reject) == UnsupportedValue ]] && ok "after the restart reject is still UnsupportedValue" ||
    bad "after the restart reject's reason is '$(accepted_reason reject)'"
n=$(writes reject "$mark" | grep -vc "^$REJECT$")
[[ $n == 0 ]] && ok "no status write of reject after the restart accepted it" ||
    bad "writes of reject after the restart: $(writes reject "$mark" | tr '\n' ';')"
wrong=$(gw_attached "$mark" | grep -vc '^2$')
[[ $wrong == 0 ]] && ok "no Gateway write after the restart counted the rejected route ($(gw_attached "$mark" | wc -l) writes)" ||
    bad "Gateway attachedRoutes written after the restart: $(gw_attached "$mark" | tr '\n' ';')"
stop_kgc 2 && ok "kgc stops on SIGTERM with exit 0" || bad "kgc exit status on SIGTERM"
no_sanitizer_reports "$TMP"/kgc-*.log
finish

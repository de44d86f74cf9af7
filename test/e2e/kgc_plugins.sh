#!/usr/bin/env bash
# e2e: Kong plugins from KongPlugin and KongClusterPlugin objects, with real kubectl, kgc and the
# test Kong (its Admin API validates plugins as Kong 3.9.1's schema does; its proxy runs
# request-termination and response-transformer). After each step the configuration Kong holds
# (GET /config), the statuses and traffic through the proxy are checked:
#   1. a KongPlugin attached by an ExtensionRef filter, by the HTTPRoute's konghq.com/plugins
#      annotation, and a KongClusterPlugin by a Service's annotation (on the Kong service);
#   2. the KongPlugin's config changes, then it is deleted (the rule answers 500 and the route
#      says ResolvedRefs=False/BackendNotFound), then it comes back;
#   3. a plugin Kong rejects (unknown plugin name, then a bad config): only its routes are
#      affected, the rest keeps flowing, and the routes say why;
#   4. a missing plugin and a Secret-backed one (configFrom: the Secret key's JSON is the plugin's
#      config in the pushed configuration and in traffic; a new value follows; the key removed
#      makes it unusable with a status naming the Secret and key; the value appears in no log,
#      /debug/cache, /debug/config or status);
#   5. kgc runs without the CRDs (the kinds are optional) and starts watching once they exist;
#   6. a KongClusterPlugin labelled global=true applies to every route; two of one plugin: neither.
# Last line: "N passed, N failed".
source "$(dirname "$0")/lib.sh"
e2e_bound 240
start_apiserver
start_kong 1 0 --proxy-listen 127.0.0.1:0 --listeners test/fixtures/kong-root.json ||
    { bad "test Kong starts"; finish; }
KONG=${KONG_URL[1]}
PROXY=$(sed -n 's/^proxy listening on \(http:\/\/[^ ]*\)$/\1/p' "$TMP/kong1.out" | tail -1)
apply_crds
kgc_ports

# --- 5 first: no plugin CRDs yet ---------------------------------------------------------------
{ base_yaml; gateway_yaml gw; web_service_yaml
    cat <<'YAML'
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints: [{addresses: [10.0.0.1], conditions: {ready: true}}]
---
apiVersion: v1
kind: Service
metadata: {name: web2, namespace: demo}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web2-1, namespace: demo, labels: {kubernetes.io/service-name: web2}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints: [{addresses: [10.0.0.2], conditions: {ready: true}}]
---
YAML
    httproute_yaml plain gw "" /plain
} >"$TMP/objects.yaml"
apply_objects "Gateway, Services, EndpointSlices and a plain route"
start_kgc_on 1 "$KONG"
wait_programmed "kgc runs and programs the Gateway without the plugin CRDs" "$TMP/kgc-1.log" gw
grep -q 'msg="kind not served (its CRD is not installed): watching none".*kind=KongPlugin' "$TMP/kgc-1.log" &&
    ok "kgc says the KongPlugin CRD is not installed" || bad "no 'kind not served' warning for KongPlugin"
k apply --server-side -f charts/kgc/crds/ >/dev/null &&
    k wait --for=condition=Established crd/kongplugins.configuration.konghq.com \
        crd/kongclusterplugins.configuration.konghq.com --timeout=30s >/dev/null &&
    ok "the chart's plugin CRDs apply and are established" || { bad "plugin CRDs"; finish; }
for kind in KongPlugin KongClusterPlugin; do # listed again every 5 s while not served
    wait_until 15 0.2 grep -q "msg=synced kind=$kind " "$TMP/kgc-1.log" &&
        ok "kgc lists $kind once its CRD exists" ||
        bad "kgc never listed $kind after its CRD was installed"
done

# --- helpers -------------------------------------------------------------------------------------
# plugins ENTITY: "name:k8s-name,..." of the plugins on the Kong route or service ENTITY in the
# configuration the test Kong holds ("-" when the entity has none, "absent" when there is none)
plugins() {
    curl -s -m 5 "$KONG/config" | python3 -c '
import json, sys
want = sys.argv[1]
c = json.load(sys.stdin).get("config") or {}
for s in c.get("services", []):
    ents = [s] + s.get("routes", [])
    for e in ents:
        if e.get("name") == want:
            ps = e.get("plugins") or []
            out = []
            for p in ps:
                n = [t[9:] for t in p.get("tags", []) if t.startswith("k8s-name:")]
                out.append(p["name"] + ":" + (n[0] if n else "?"))
            print(",".join(sorted(out)) or "-")
            sys.exit()
print("absent")' "$1"
}
plugins_are() { [[ $(plugins "$1") == "$2" ]]; }
expect_plugins() { # expect_plugins ENTITY WANT MESSAGE
    if wait_until 20 0.2 plugins_are "$1" "$2"; then ok "$3"; else
        bad "$3: $1 has '$(plugins "$1")', want '$2'"; fi
}
# get PATH [HEADER]: "<status> <header value>" of GET PATH through the proxy
get() {
    curl -s -m 5 -o /dev/null -D "$TMP/h" "$PROXY$1" -H 'Host: any.example.com:8000' >/dev/null
    local st hv=""
    st=$(sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$TMP/h")
    [[ -n ${2:-} ]] && hv=$(grep -i "^$2:" "$TMP/h" | head -1 | sed 's/^[^:]*: *//; s/\r$//')
    echo "$st${hv:+ $hv}"
}
get_is() { [[ $(get "$1" "$2") == "$3" ]]; }
expect_get() { # expect_get PATH HEADER WANT MESSAGE
    if wait_until 20 0.2 get_is "$1" "$2" "$3"; then ok "$4"; else
        bad "$4: GET $1 gave '$(get "$1" "$2")', want '$3'"; fi
}
# cond ROUTE TYPE: "<status>/<reason>" of the route's condition TYPE
cond() {
    k -n demo get httproute "$1" -o jsonpath="{.status.parents[0].conditions[?(@.type==\"$2\")].status}/{.status.parents[0].conditions[?(@.type==\"$2\")].reason}"
}
cond_is() { [[ $(cond "$1" "$2") == "$3" ]]; }
expect_cond() { # expect_cond ROUTE TYPE WANT MESSAGE
    if wait_until 20 0.2 cond_is "$1" "$2" "$3"; then ok "$4"; else
        bad "$4: $1 $2 is '$(cond "$1" "$2")', want '$3'"; fi
}
route_msg() { k -n demo get httproute "$1" -o jsonpath='{.status.parents[0].conditions[?(@.type=="ResolvedRefs")].message}'; }
# kp_cond KIND NAME: "<status>/<reason>" of the plugin object's Programmed condition
kp_cond() {
    local ns=(-n demo)
    [[ $1 == kongclusterplugin ]] && ns=()
    k "${ns[@]}" get "$1" "$2" -o jsonpath='{.status.conditions[?(@.type=="Programmed")].status}/{.status.conditions[?(@.type=="Programmed")].reason}'
}
kp_is() { [[ $(kp_cond "$1" "$2") == "$3" ]]; }
expect_kp() { # expect_kp KIND NAME WANT MESSAGE
    if wait_until 20 0.2 kp_is "$1" "$2" "$3"; then ok "$4"; else
        bad "$4: $1 $2 Programmed is '$(kp_cond "$1" "$2")', want '$3'"; fi
}
ext_route() { # ext_route NAME PATH PLUGIN [SERVICE]: a route with an ExtensionRef to KongPlugin PLUGIN
    cat <<YAML
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: $1, namespace: demo}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: $2}}]
    filters: [{type: ExtensionRef, extensionRef: {group: configuration.konghq.com, kind: KongPlugin, name: $3}}]
    backendRefs: [{name: ${4:-web}, port: 80}]
---
YAML
}
hdr_plugin() { # hdr_plugin NAME VALUE: a KongPlugin adding the response header X-Plugin: VALUE
    cat <<YAML
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata: {name: $1, namespace: demo}
plugin: response-transformer
config: {add: {headers: ["X-Plugin:$2"]}}
---
YAML
}

# --- 1. attach by filter, by the route's annotation, by a Service's annotation -------------------
{ hdr_plugin add-hdr one
    cat <<'YAML'
apiVersion: configuration.konghq.com/v1
kind: KongClusterPlugin
metadata: {name: teapot}
plugin: request-termination
config: {status_code: 418, message: short and stout}
---
YAML
    ext_route by-filter /filter add-hdr
    cat <<'YAML'
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: by-annotation, namespace: demo, annotations: {konghq.com/plugins: add-hdr}}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: PathPrefix, value: /annotated}}], backendRefs: [{name: web, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: by-service, namespace: demo}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: PathPrefix, value: /service}}], backendRefs: [{name: web2, port: 80}]}]
---
YAML
} >"$TMP/objects.yaml"
apply_objects "a KongPlugin, a KongClusterPlugin and three routes"
k -n demo annotate service web2 konghq.com/plugins=teapot >/dev/null &&
    ok "Service web2 annotated with konghq.com/plugins=teapot" || bad "annotate web2"
expect_plugins httproute.demo.by-filter.0.0 "response-transformer:add-hdr" \
    "the ExtensionRef puts the KongPlugin on the Kong route (tags name it)"
expect_plugins httproute.demo.by-annotation.0.0 "response-transformer:add-hdr" \
    "the route's annotation puts it on the Kong route"
expect_plugins httproute.demo.by-service.0 "request-termination:teapot" \
    "the Service's annotation puts the KongClusterPlugin on the Kong service"
expect_get /filter/x X-Plugin "200 one" "traffic by the filter's route gets X-Plugin: one"
expect_get /annotated/x X-Plugin "200 one" "traffic by the annotated route gets X-Plugin: one"
expect_get /service/x "" "418" "traffic to the annotated Service gets the KongClusterPlugin's 418"
expect_get /plain/x X-Plugin "200" "the plain route is untouched"
expect_cond by-filter ResolvedRefs "True/ResolvedRefs" "by-filter: ResolvedRefs=True"
expect_kp kongplugin add-hdr "True/Programmed" "KongPlugin add-hdr: Programmed=True"
expect_kp kongclusterplugin teapot "True/Programmed" "KongClusterPlugin teapot: Programmed=True"

# --- 2. change the config, delete the plugin, bring it back --------------------------------------
hdr_plugin add-hdr two | k apply -f - >/dev/null
expect_get /filter/x X-Plugin "200 two" "a config change reaches the proxy (X-Plugin: two)"
expect_get /annotated/x X-Plugin "200 two" "... on the annotated route too"
k -n demo delete kongplugin add-hdr >/dev/null
expect_plugins httproute.demo.by-filter.0 "request-termination:by-filter" \
    "a deleted plugin: its rule's Kong service answers 500 (kgc's request-termination)"
expect_get /filter/x "" "500" "the deleted plugin's rule answers 500, not unfiltered traffic"
expect_cond by-filter ResolvedRefs "False/BackendNotFound" "by-filter: ResolvedRefs=False/BackendNotFound"
[[ $(route_msg by-filter) == *"KongPlugin demo/add-hdr not found"* ]] &&
    ok "the message names the missing KongPlugin" || bad "message: $(route_msg by-filter)"
expect_cond by-filter Accepted "True/Accepted" "by-filter stays Accepted"
expect_get /plain/x "" "200" "the plain route keeps serving"
hdr_plugin add-hdr three | k apply -f - >/dev/null
expect_get /filter/x X-Plugin "200 three" "the plugin back: traffic gets X-Plugin: three"
expect_cond by-filter ResolvedRefs "True/ResolvedRefs" "by-filter: ResolvedRefs=True again"

# --- 3. plugins Kong rejects ---------------------------------------------------------------------
cat <<'YAML' | k apply -f - >/dev/null
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata: {name: unknown, namespace: demo}
plugin: no-such-plugin
YAML
ext_route rejected /rejected unknown | k apply -f - >/dev/null
httproute_yaml after-reject gw "" /after | k apply -f - >/dev/null
expect_kp kongplugin unknown "False/Invalid" "KongPlugin unknown: Programmed=False/Invalid"
msg=$(k -n demo get kongplugin unknown -o jsonpath='{.status.conditions[?(@.type=="Programmed")].message}')
[[ $msg == *"plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property"* ]] &&
    ok "its message is Kong's" || bad "KongPlugin unknown message: $msg"
expect_cond rejected ResolvedRefs "False/BackendNotFound" "the route using it: ResolvedRefs=False"
expect_get /rejected/x "" "500" "the route using it answers 500"
expect_get /after/x "" "200" "a route created meanwhile reaches Kong (the rest keeps flowing)"
expect_get /filter/x X-Plugin "200 three" "the other plugins keep working"
cat <<'YAML' | k apply -f - >/dev/null
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata: {name: unknown, namespace: demo}
plugin: no-such-plugin
config: {}
---
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata: {name: bad-config, namespace: demo}
plugin: request-termination
config: {status_code: 42}
YAML
ext_route bad-config-route /badconfig bad-config | k apply -f - >/dev/null
expect_kp kongplugin bad-config "False/Invalid" "a bad config: Programmed=False/Invalid"
msg=$(k -n demo get kongplugin bad-config -o jsonpath='{.status.conditions[?(@.type=="Programmed")].message}')
[[ $msg == *"value should be between 100 and 599"* ]] && ok "its message is Kong's" ||
    bad "KongPlugin bad-config message: $msg"
expect_get /badconfig/x "" "500" "its route answers 500"
cat <<'YAML' | k apply -f - >/dev/null
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata: {name: bad-config, namespace: demo}
plugin: request-termination
config: {status_code: 451}
YAML
expect_get /badconfig/x "" "451" "the fixed config is pushed and runs (451)"
expect_kp kongplugin bad-config "True/Programmed" "the fixed plugin: Programmed=True"

# --- 4. a missing plugin, a Secret-backed one ----------------------------------------------------
ext_route missing /missing nope | k apply -f - >/dev/null
expect_cond missing ResolvedRefs "False/BackendNotFound" "a missing plugin: ResolvedRefs=False/BackendNotFound"
expect_get /missing/x "" "500" "... and its rule answers 500"
SECRET_VALUE=s3cr3t-$RANDOM$RANDOM
k -n demo create secret generic plugin-conf \
    --from-literal=conf="{\"status_code\":403,\"message\":\"$SECRET_VALUE\"}" >/dev/null
cat <<'YAML' | k apply -f - >/dev/null
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata: {name: from-secret, namespace: demo}
plugin: request-termination
configFrom: {secretKeyRef: {name: plugin-conf, key: conf}}
YAML
ext_route secret-route /secret from-secret | k apply -f - >/dev/null
expect_get /secret/x "" "403" "a configFrom plugin: its Secret's config runs (403)"
expect_cond secret-route ResolvedRefs "True/ResolvedRefs" "a configFrom plugin: ResolvedRefs=True"
expect_kp kongplugin from-secret "True/Programmed" "KongPlugin from-secret: Programmed=True"
curl -s -m 5 "$KONG/config" | grep -q -- "$SECRET_VALUE" &&
    ok "the pushed configuration carries the Secret's config" ||
    bad "the Secret's value is not in the configuration Kong holds"
# a new value (re-read every 10 s): the pushed config follows
k -n demo create secret generic plugin-conf --dry-run=client -o yaml \
    --from-literal=conf="{\"status_code\":402,\"message\":\"$SECRET_VALUE\"}" | k replace -f - >/dev/null
expect_get /secret/x "" "402" "a changed Secret value reaches the proxy (402)"
# the key gone: the plugin is unusable, the rule answers 500, the statuses say why
k -n demo patch secret plugin-conf --type=json -p '[{"op":"remove","path":"/data/conf"}]' >/dev/null
expect_get /secret/x "" "500" "the Secret's key removed: its rule answers 500"
expect_cond secret-route ResolvedRefs "False/BackendNotFound" "... ResolvedRefs=False/BackendNotFound"
[[ $(route_msg secret-route) == *"Secret demo/plugin-conf key conf (configFrom): the Secret has no such key"* ]] &&
    ok "the route's message names the Secret and key" || bad "message: $(route_msg secret-route)"
expect_kp kongplugin from-secret "False/Invalid" "KongPlugin from-secret: Programmed=False/Invalid"
curl -s "$D/debug/cache" >"$TMP/dump.json"
curl -s "$D/debug/config" >"$TMP/config.json"
k get httproutes,kongplugins -A -o json >"$TMP/statuses.json"
if grep -l -- "$SECRET_VALUE" "$TMP"/kgc-*.log "$TMP/dump.json" "$TMP/config.json" "$TMP/statuses.json"; then
    bad "the Secret's value appears above"
else
    ok "the Secret's value is in no log, /debug/cache, /debug/config or status"
fi
grep -q '"kongplugins"' "$TMP/dump.json" && grep -q '"from-secret"' "$TMP/dump.json" &&
    ok "/debug/cache lists the plugin objects" || bad "/debug/cache has no kongplugins"

# --- 6. global KongClusterPlugins (label global=true) --------------------------------------------
# kp_msg KIND NAME: the plugin object's Programmed message
kp_msg() { k get "$1" "$2" -o jsonpath='{.status.conditions[?(@.type=="Programmed")].message}'; }
global_plugin() { # global_plugin NAME VALUE: a global KongClusterPlugin adding X-Global: VALUE
    cat <<YAML
apiVersion: configuration.konghq.com/v1
kind: KongClusterPlugin
metadata: {name: $1, labels: {global: "true"}}
plugin: response-transformer
config: {add: {headers: ["X-Global:$2"]}}
YAML
}
global_plugin everywhere yes | k apply -f - >/dev/null
expect_get /plain/x X-Global "200 yes" "a global KongClusterPlugin applies to a route naming no plugin"
# Kong runs one configuration of a plugin name per request, the most specific first: the route's
# own response-transformer wins over the global one (kong/runloop/plugins_iterator.lua:195-266)
expect_get /annotated/x X-Plugin "200 three" \
    "a route with its own response-transformer keeps it (Kong: the most specific wins)"
expect_get /annotated/x X-Global "200" "... and so gets no X-Global"
expect_get /service/x "" "418" "the Service's request-termination still answers 418"
expect_kp kongclusterplugin everywhere "True/Programmed" "the global KongClusterPlugin: Programmed=True"
global_plugin everywhere-too no | k apply -f - >/dev/null
expect_get /plain/x X-Global "200" \
    "two global KongClusterPlugins of one plugin: neither applies (as Kong's controller)"
wait_until 20 0.2 eval '[[ $(kp_msg kongclusterplugin everywhere) == *"everywhere-too is also global"* ]]' &&
    ok "its status names the other one" || bad "message: $(kp_msg kongclusterplugin everywhere)"
k delete kongclusterplugin everywhere >/dev/null
expect_get /plain/x X-Global "200 no" "the first deleted: the other one applies"
k delete kongclusterplugin everywhere-too >/dev/null
expect_get /plain/x X-Global "200" "both deleted: no global plugin"

stop_kgc 1 && ok "kgc stops on SIGTERM with exit 0" || bad "kgc exit status on SIGTERM"
no_sanitizer_reports "$TMP"/kgc-*.log
finish

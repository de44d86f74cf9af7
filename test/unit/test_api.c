/* api: typed objects parsed from JSON, invalid values recorded, emitted back, Secrets validated
 * and redacted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kgc/api.h"
#include "fixture_yaml.h"
#include "test_k8s_helpers.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct kgc_api_obj *parse(enum kgc_api_kind kind, const char *json)
{
    struct kgc_api_obj *o = NULL;
    struct kgc_err err = {0};
    int rc = kgc_api_parse_text(kind, json, strlen(json), &o, &err);
    if (rc != 0)
        fail_msg("parse failed: %s", err.msg);
    return o;
}

static char *emit(const struct kgc_api_obj *o)
{
    json_object *j = kgc_api_to_json(o);
    assert_non_null(j);
    char *s = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
    json_object_put(j);
    return s;
}

static bool has_problem(const struct kgc_api_obj *o, const char *prefix)
{
    for (uint32_t i = 0; i < o->n_problems; i++) {
        if (strncmp(o->problems[i], prefix, strlen(prefix)) == 0)
            return true;
    }
    return false;
}

static const char *GATEWAY =
    "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\","
    "\"metadata\":{\"name\":\"gw\",\"namespace\":\"infra\",\"uid\":\"u-1\","
    "\"resourceVersion\":\"42\",\"generation\":3,\"labels\":{\"a\":\"b\"},"
    "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{huge}\",\"x\":\"y\"},"
    "\"managedFields\":[{\"manager\":\"kubectl\"}]},"
    "\"spec\":{\"gatewayClassName\":\"kong\",\"listeners\":["
    "{\"name\":\"http\",\"port\":80,\"protocol\":\"HTTP\",\"allowedRoutes\":{\"namespaces\":"
    "{\"from\":\"Selector\",\"selector\":{\"matchLabels\":{\"team\":\"a\"},\"matchExpressions\":"
    "[{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"prod\",\"stage\"]}]}},"
    "\"kinds\":[{\"group\":\"gateway.networking.k8s.io\",\"kind\":\"HTTPRoute\"}]}},"
    "{\"name\":\"https\",\"hostname\":\"*.example.com\",\"port\":443,\"protocol\":\"HTTPS\","
    "\"tls\":{\"mode\":\"Terminate\",\"certificateRefs\":[{\"kind\":\"Secret\",\"name\":\"cert\","
    "\"namespace\":\"certs\"}]}}],"
    "\"addresses\":[{\"type\":\"IPAddress\",\"value\":\"10.0.0.1\"}],"
    "\"infrastructure\":{\"parametersRef\":{\"group\":\"g\",\"kind\":\"K\",\"name\":\"p\"}},"
    "\"someFutureField\":{\"deep\":[1,2,3]}},"
    "\"status\":{\"addresses\":[{\"value\":\"1.2.3.4\"}],\"conditions\":[{\"type\":\"Accepted\","
    "\"status\":\"True\",\"reason\":\"Accepted\",\"message\":\"ok\",\"lastTransitionTime\":"
    "\"2026-01-01T00:00:00Z\",\"observedGeneration\":3}],\"listeners\":[{\"name\":\"http\","
    "\"supportedKinds\":[{\"group\":\"gateway.networking.k8s.io\",\"kind\":\"HTTPRoute\"}],"
    "\"attachedRoutes\":2,\"conditions\":[{\"type\":\"Programmed\",\"status\":\"False\","
    "\"reason\":\"Pending\",\"message\":\"waiting\",\"lastTransitionTime\":"
    "\"2026-01-01T00:00:00Z\",\"observedGeneration\":2}]}]}}";

static void test_gateway_fields(void **state)
{
    (void)state;
    struct kgc_api_obj *o = parse(KGC_API_GATEWAY, GATEWAY);
    const struct kgc_api_gateway *g = kgc_api_as_gateway(o);
    assert_non_null(g);
    assert_null(kgc_api_as_httproute(o));
    assert_string_equal(o->meta.key, "infra/gw");
    assert_string_equal(o->meta.namespace, "infra");
    assert_string_equal(o->meta.name, "gw");
    assert_string_equal(o->meta.uid, "u-1");
    assert_string_equal(o->meta.resource_version, "42");
    assert_int_equal(o->meta.generation, 3);
    assert_int_equal(o->meta.n_labels, 1);
    assert_string_equal(kgc_api_label(o, "a"), "b");
    /* the last-applied annotation (a full copy of the object) is dropped, others kept */
    assert_int_equal(o->meta.n_annotations, 1);
    assert_string_equal(o->meta.annotations[0].key, "x");
    assert_int_equal(o->n_problems, 0);

    assert_string_equal(g->gateway_class_name, "kong");
    assert_int_equal(g->n_listeners, 2);
    const struct kgc_api_listener *l = &g->listeners[0];
    assert_string_equal(l->name, "http");
    assert_int_equal(l->port, 80);
    assert_string_equal(l->protocol, "HTTP");
    assert_null(l->hostname);
    assert_null(l->tls);
    assert_non_null(l->allowed_routes);
    assert_string_equal(l->allowed_routes->namespaces_from, "Selector");
    assert_int_equal(l->allowed_routes->selector->n_match_labels, 1);
    assert_string_equal(l->allowed_routes->selector->match_labels[0].value, "a");
    assert_int_equal(l->allowed_routes->selector->n_match_expressions, 1);
    assert_string_equal(l->allowed_routes->selector->match_expressions[0].operator, "In");
    assert_int_equal(l->allowed_routes->selector->match_expressions[0].n_values, 2);
    assert_string_equal(l->allowed_routes->selector->match_expressions[0].values[1], "stage");
    assert_int_equal(l->allowed_routes->n_kinds, 1);
    assert_string_equal(l->allowed_routes->kinds[0].kind, "HTTPRoute");
    l = &g->listeners[1];
    assert_string_equal(l->hostname, "*.example.com");
    assert_non_null(l->tls);
    assert_string_equal(l->tls->mode, "Terminate");
    assert_int_equal(l->tls->n_certificate_refs, 1);
    assert_null(l->tls->certificate_refs[0].group);
    assert_string_equal(l->tls->certificate_refs[0].namespace, "certs");
    assert_null(l->allowed_routes);
    assert_int_equal(g->n_addresses, 1);
    assert_string_equal(g->addresses[0].value, "10.0.0.1");
    assert_string_equal(g->infrastructure_parameters_ref->name, "p");

    assert_int_equal(g->n_conditions, 1);
    const struct kgc_api_condition *c =
        kgc_api_condition_find(g->conditions, g->n_conditions, "Accepted");
    assert_non_null(c);
    assert_string_equal(c->status, "True");
    assert_int_equal(c->observed_generation, 3);
    assert_null(kgc_api_condition_find(g->conditions, g->n_conditions, "Programmed"));
    assert_int_equal(g->n_listener_status, 1);
    assert_int_equal(g->listener_status[0].attached_routes, 2);
    assert_string_equal(g->listener_status[0].conditions[0].reason, "Pending");
    assert_int_equal(g->n_status_addresses, 1);
    assert_null(g->status_addresses[0].type);

    /* the whole object is one block of the recorded size */
    assert_true(o->size >= sizeof(*g));
    assert_true(o->size < 4096);
    kgc_api_obj_unref(o);
}

static const char *ROUTE =
    "{\"metadata\":{\"name\":\"r\",\"namespace\":\"apps\",\"resourceVersion\":\"7\","
    "\"generation\":1,\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
    "\"spec\":{\"parentRefs\":[{\"name\":\"gw\",\"namespace\":\"infra\",\"sectionName\":\"http\","
    "\"port\":80},{\"group\":\"gateway.networking.k8s.io\",\"kind\":\"Gateway\",\"name\":\"gw2\"}],"
    "\"hostnames\":[\"a.example.com\",\"b.example.com\"],\"rules\":[{\"name\":\"r0\","
    "\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/api\"},\"headers\":[{\"name\":"
    "\"x-v\",\"value\":\"1\"},{\"type\":\"RegularExpression\",\"name\":\"x-r\",\"value\":\"^a\"}],"
    "\"queryParams\":[{\"type\":\"Exact\",\"name\":\"q\",\"value\":\"1\"}],\"method\":\"GET\"}],"
    "\"filters\":[{\"type\":\"RequestHeaderModifier\",\"requestHeaderModifier\":{\"set\":[{"
    "\"name\":\"s\",\"value\":\"1\"}],\"add\":[{\"name\":\"a\",\"value\":\"2\"}],\"remove\":[\"r\"]"
    "}},"
    "{\"type\":\"ResponseHeaderModifier\",\"responseHeaderModifier\":{\"add\":[{\"name\":\"z\","
    "\"value\":\"9\"}]}},"
    "{\"type\":\"RequestRedirect\",\"requestRedirect\":{\"scheme\":\"https\",\"hostname\":\"h\","
    "\"path\":{\"type\":\"ReplacePrefixMatch\",\"replacePrefixMatch\":\"/new\"},\"port\":8443,"
    "\"statusCode\":301}},"
    "{\"type\":\"URLRewrite\",\"urlRewrite\":{\"hostname\":\"w\",\"path\":{\"type\":"
    "\"ReplaceFullPath\",\"replaceFullPath\":\"/full\"}}},"
    "{\"type\":\"ExtensionRef\",\"extensionRef\":{\"group\":\"konghq.com\",\"kind\":"
    "\"KongPlugin\",\"name\":\"p\"}}],"
    "\"backendRefs\":[{\"name\":\"svc\",\"port\":8080},{\"name\":\"svc2\",\"namespace\":\"other\","
    "\"port\":80,\"weight\":0,\"filters\":[{\"type\":\"RequestHeaderModifier\","
    "\"requestHeaderModifier\":{\"remove\":[\"x\"]}}]},{\"group\":\"\",\"kind\":\"Service\","
    "\"name\":\"svc3\",\"port\":81,\"weight\":5}],"
    "\"timeouts\":{\"request\":\"10s\"}}]},"
    "\"status\":{\"parents\":[{\"parentRef\":{\"name\":\"gw\",\"namespace\":\"infra\"},"
    "\"controllerName\":\"konghq.com/kgc-gateway-controller\",\"conditions\":[{\"type\":"
    "\"Accepted\",\"status\":\"True\",\"reason\":\"Accepted\",\"message\":\"\","
    "\"lastTransitionTime\":\"2026-01-01T00:00:00Z\",\"observedGeneration\":1}]}]}}";

static void test_httproute_fields(void **state)
{
    (void)state;
    struct kgc_api_obj *o = parse(KGC_API_HTTPROUTE, ROUTE);
    const struct kgc_api_httproute *r = kgc_api_as_httproute(o);
    assert_non_null(r);
    assert_int_equal(o->n_problems, 0);
    assert_string_equal(o->meta.creation_timestamp, "2026-01-01T00:00:00Z");
    assert_int_equal(r->n_parent_refs, 2);
    assert_null(r->parent_refs[0].group);
    assert_null(r->parent_refs[0].kind);
    assert_string_equal(r->parent_refs[0].section_name, "http");
    assert_int_equal(r->parent_refs[0].port, 80);
    assert_null(r->parent_refs[1].namespace);
    assert_int_equal(r->parent_refs[1].port, 0);
    assert_int_equal(r->n_hostnames, 2);
    assert_string_equal(r->hostnames[1], "b.example.com");
    assert_int_equal(r->n_rules, 1);
    const struct kgc_api_http_route_rule *rule = &r->rules[0];
    assert_string_equal(rule->name, "r0");
    assert_int_equal(rule->n_matches, 1);
    const struct kgc_api_http_route_match *m = &rule->matches[0];
    assert_string_equal(m->path.type, "PathPrefix");
    assert_string_equal(m->path.value, "/api");
    assert_int_equal(m->n_headers, 2);
    assert_null(m->headers[0].type);
    assert_string_equal(m->headers[1].type, "RegularExpression");
    assert_int_equal(m->n_query_params, 1);
    assert_string_equal(m->query_params[0].name, "q");
    assert_string_equal(m->method, "GET");
    assert_int_equal(rule->n_filters, 5);
    const struct kgc_api_http_filter *f = rule->filters;
    assert_string_equal(f[0].type, "RequestHeaderModifier");
    assert_int_equal(f[0].request_header_modifier->n_set, 1);
    assert_string_equal(f[0].request_header_modifier->set[0].key, "s");
    assert_string_equal(f[0].request_header_modifier->add[0].value, "2");
    assert_string_equal(f[0].request_header_modifier->remove[0], "r");
    assert_int_equal(f[1].response_header_modifier->n_add, 1);
    assert_string_equal(f[2].request_redirect->scheme, "https");
    assert_string_equal(f[2].request_redirect->path->replace_prefix_match, "/new");
    assert_int_equal(f[2].request_redirect->port, 8443);
    assert_int_equal(f[2].request_redirect->status_code, 301);
    assert_string_equal(f[3].url_rewrite->hostname, "w");
    assert_string_equal(f[3].url_rewrite->path->replace_full_path, "/full");
    assert_string_equal(f[4].extension_ref->kind, "KongPlugin");
    assert_int_equal(rule->n_backend_refs, 3);
    assert_int_equal(rule->backend_refs[0].weight, 1); /* the API default */
    assert_int_equal(rule->backend_refs[0].port, 8080);
    assert_int_equal(rule->backend_refs[1].weight, 0);
    assert_string_equal(rule->backend_refs[1].namespace, "other");
    assert_int_equal(rule->backend_refs[1].n_filters, 1);
    assert_int_equal(rule->backend_refs[2].weight, 5);
    assert_string_equal(rule->backend_refs[2].group, "");
    assert_string_equal(rule->timeout_request, "10s");
    assert_null(rule->timeout_backend_request);
    assert_int_equal(r->n_parents, 1);
    assert_string_equal(r->parents[0].controller_name, "konghq.com/kgc-gateway-controller");
    assert_string_equal(r->parents[0].parent_ref.name, "gw");
    assert_int_equal(r->parents[0].n_conditions, 1);
    kgc_api_obj_unref(o);
}

/* A GRPCRoute parses into the HTTPRoute struct: method matches, headers, filters, backends; an
 * HTTPRoute's path/method fields stay unset, the HTTPRoute downcast refuses it. */
static void test_grpcroute_fields(void **state)
{
    (void)state;
    static const char *const G =
        "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"GRPCRoute\",\"metadata\":"
        "{\"name\":\"g\",\"namespace\":\"ns\",\"generation\":2},\"spec\":{\"parentRefs\":[{"
        "\"name\":\"gw\"}],\"hostnames\":[\"grpc.example.com\"],\"rules\":[{\"matches\":[{"
        "\"method\":{\"type\":\"RegularExpression\",\"service\":\"pkg\\\\..*\",\"method\":"
        "\"Get\"},\"headers\":[{\"name\":\"v\",\"value\":\"1\"}]},{\"headers\":[{\"name\":"
        "\"w\",\"value\":\"2\"}]}],\"filters\":[{\"type\":\"ResponseHeaderModifier\","
        "\"responseHeaderModifier\":{\"remove\":[\"x\"]}}],\"backendRefs\":[{\"name\":\"s\","
        "\"port\":50051,\"weight\":3}],\"timeouts\":{\"request\":\"1s\"}}]}}";
    struct kgc_api_obj *o = parse(KGC_API_GRPCROUTE, G);
    assert_null(kgc_api_as_httproute(o));
    const struct kgc_api_httproute *r = kgc_api_as_grpcroute(o);
    assert_non_null(r);
    assert_ptr_equal(kgc_api_as_route(o), r);
    assert_true(kgc_api_is_route_kind(KGC_API_GRPCROUTE));
    assert_int_equal(r->n_rules, 1);
    const struct kgc_api_http_route_rule *rule = &r->rules[0];
    assert_int_equal(rule->n_matches, 2);
    assert_non_null(rule->matches[0].grpc_method);
    assert_string_equal(rule->matches[0].grpc_method->type, "RegularExpression");
    assert_string_equal(rule->matches[0].grpc_method->service, "pkg\\..*");
    assert_string_equal(rule->matches[0].grpc_method->method, "Get");
    assert_null(rule->matches[0].method);
    assert_null(rule->matches[0].path.type);
    assert_null(rule->matches[1].grpc_method);
    assert_string_equal(rule->matches[1].headers[0].name, "w");
    assert_string_equal(rule->filters[0].response_header_modifier->remove[0], "x");
    assert_int_equal(rule->backend_refs[0].weight, 3);
    assert_null(rule->timeout_request); /* not a GRPCRoute field */
    char *s = emit(o);
    assert_non_null(strstr(s, "\"kind\":\"GRPCRoute\""));
    assert_non_null(strstr(s, "\"method\":{\"type\":\"RegularExpression\""));
    free(s);
    kgc_api_obj_unref(o);
    assert_int_equal(kgc_api_kind_from_name("grpcroutes"), KGC_API_GRPCROUTE);
    assert_true(kgc_api_kind_info(KGC_API_GRPCROUTE)->optional);
    assert_false(kgc_api_kind_info(KGC_API_HTTPROUTE)->optional);
}

/* TLSRoute, TCPRoute and UDPRoute parse into the HTTPRoute struct too: parents, hostnames
 * (TLSRoute only), rules with a name and backendRefs; fields they do not have stay unset. */
static void test_l4_route_fields(void **state)
{
    (void)state;
    static const char *const T =
        "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"TLSRoute\",\"metadata\":"
        "{\"name\":\"t\",\"namespace\":\"ns\",\"generation\":3},\"spec\":{\"parentRefs\":[{"
        "\"name\":\"gw\",\"sectionName\":\"tls\"}],\"hostnames\":[\"a.example.com\"],"
        "\"rules\":[{\"name\":\"r\",\"matches\":[{\"path\":{\"value\":\"/x\"}}],"
        "\"backendRefs\":[{\"name\":\"s\",\"port\":443,\"weight\":2,\"filters\":[{"
        "\"type\":\"RequestMirror\"}]}]}]},\"status\":{\"parents\":[{\"parentRef\":{\"name\":"
        "\"gw\"},\"controllerName\":\"c\",\"conditions\":[{\"type\":\"Accepted\",\"status\":"
        "\"True\"}]}]}}";
    struct kgc_api_obj *o = parse(KGC_API_TLSROUTE, T);
    const struct kgc_api_httproute *r = kgc_api_as_route(o);
    assert_non_null(r);
    assert_null(kgc_api_as_httproute(o));
    assert_null(kgc_api_as_grpcroute(o));
    assert_true(kgc_api_is_route_kind(KGC_API_TLSROUTE));
    assert_true(kgc_api_is_l4_route_kind(KGC_API_TLSROUTE));
    assert_false(kgc_api_is_l4_route_kind(KGC_API_GRPCROUTE));
    assert_int_equal(r->n_parent_refs, 1);
    assert_string_equal(r->parent_refs[0].section_name, "tls");
    assert_int_equal(r->n_hostnames, 1);
    assert_int_equal(r->n_rules, 1);
    assert_string_equal(r->rules[0].name, "r");
    assert_int_equal(r->rules[0].n_matches, 0); /* not a TLSRoute field */
    assert_int_equal(r->rules[0].backend_refs[0].port, 443);
    assert_int_equal(r->rules[0].backend_refs[0].weight, 2);
    assert_int_equal(r->rules[0].backend_refs[0].n_filters, 0);
    assert_int_equal(r->n_parents, 1);
    char *s = emit(o);
    assert_non_null(strstr(s, "\"kind\":\"TLSRoute\""));
    free(s);
    kgc_api_obj_unref(o);
    static const char *const U =
        "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"UDPRoute\",\"metadata\":"
        "{\"name\":\"u\",\"namespace\":\"ns\"},\"spec\":{\"parentRefs\":[{\"name\":\"gw\","
        "\"port\":5300}],\"rules\":[{\"backendRefs\":[{\"name\":\"dns\",\"port\":53}]}]}}";
    o = parse(KGC_API_UDPROUTE, U);
    r = kgc_api_as_route(o);
    assert_non_null(r);
    assert_int_equal(r->parent_refs[0].port, 5300);
    assert_int_equal(r->rules[0].backend_refs[0].weight, 1); /* the API default */
    kgc_api_obj_unref(o);
    static const char *const kinds[] = {"tlsroutes", "tcproutes", "udproutes"};
    for (int k = 0; k < 3; k++) {
        int kind = kgc_api_kind_from_name(kinds[k]);
        assert_int_equal(kind, KGC_API_TLSROUTE + k);
        const struct kgc_api_kind_info *ki = kgc_api_kind_info((enum kgc_api_kind)kind);
        assert_true(ki->optional);
        assert_string_equal(ki->api_version, "gateway.networking.k8s.io/v1");
    }
}

static void test_well_known_strings_are_shared(void **state)
{
    (void)state;
    struct kgc_api_obj *a = parse(KGC_API_HTTPROUTE, ROUTE);
    struct kgc_api_obj *b = parse(KGC_API_HTTPROUTE, ROUTE);
    const struct kgc_api_httproute *ra = kgc_api_as_httproute(a), *rb = kgc_api_as_httproute(b);
    /* the same constant, not two copies */
    assert_ptr_equal(ra->rules[0].matches[0].path.type, rb->rules[0].matches[0].path.type);
    assert_ptr_equal(ra->parent_refs[1].group, rb->parent_refs[1].group);
    assert_ptr_not_equal(ra->rules[0].matches[0].path.value, rb->rules[0].matches[0].path.value);
    kgc_api_obj_unref(a);
    kgc_api_obj_unref(b);
}

/* Every object of a namespace points at one copy of its name (a namespace recurs in each of
 * thousands of objects), inside and outside the object's own fields; the objects stay whole
 * after the others go, and a name that is not a namespace's (too long) is the object's own. */
static void test_namespaces_are_shared(void **state)
{
    (void)state;
    struct kgc_api_obj *svc =
        parse(KGC_API_SERVICE, "{\"metadata\":{\"name\":\"s\",\"namespace\":\"team-shared\"}}");
    struct kgc_api_obj *rt =
        parse(KGC_API_HTTPROUTE,
              "{\"metadata\":{\"name\":\"r\",\"namespace\":\"team-shared\"},\"spec\":{"
              "\"rules\":[{\"backendRefs\":[{\"name\":\"s\",\"namespace\":\"team-shared\"}]}]}}");
    const struct kgc_api_httproute *r = kgc_api_as_httproute(rt);
    assert_ptr_equal(svc->meta.namespace, rt->meta.namespace);
    assert_ptr_equal(r->rules[0].backend_refs[0].namespace, rt->meta.namespace);
    /* outside both blocks */
    const char *ns = rt->meta.namespace;
    assert_true(ns < (const char *)rt || ns >= (const char *)rt + rt->size);
    kgc_api_obj_unref(svc);
    assert_string_equal(rt->meta.namespace, "team-shared");
    kgc_api_obj_unref(rt);
    struct kgc_api_obj *again =
        parse(KGC_API_SERVICE, "{\"metadata\":{\"name\":\"t\",\"namespace\":\"team-shared\"}}");
    assert_ptr_equal(again->meta.namespace, ns);
    kgc_api_obj_unref(again);
    char json[256];
    snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"s\",\"namespace\":\"%0*d\"}}", 70, 7);
    struct kgc_api_obj *a = parse(KGC_API_SERVICE, json), *b = parse(KGC_API_SERVICE, json);
    assert_ptr_not_equal(a->meta.namespace, b->meta.namespace);
    assert_int_equal(strlen(a->meta.namespace), 70);
    kgc_api_obj_unref(a);
    kgc_api_obj_unref(b);
}

static void test_core_kinds(void **state)
{
    (void)state;
    struct kgc_api_obj *o = parse(
        KGC_API_SERVICE,
        "{\"metadata\":{\"name\":\"s\",\"namespace\":\"n\",\"resourceVersion\":\"1\"},\"spec\":{"
        "\"type\":\"LoadBalancer\",\"clusterIP\":\"10.0.0.5\",\"clusterIPs\":[\"10.0.0.5\","
        "\"fd00::5\"],\"selector\":{\"app\":\"x\"},\"ports\":[{\"name\":\"http\",\"port\":80,"
        "\"targetPort\":8080,\"protocol\":\"TCP\"},{\"name\":\"named\",\"port\":81,\"targetPort\":"
        "\"web\"}]},\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"1.1.1.1\"},{\"hostname\":"
        "\"lb.example.com\"}]}}}");
    const struct kgc_api_service *s = kgc_api_as_service(o);
    assert_string_equal(s->type, "LoadBalancer");
    assert_int_equal(s->n_cluster_ips, 2);
    assert_int_equal(s->n_ports, 2);
    assert_int_equal(s->ports[0].target_port, 8080);
    assert_null(s->ports[0].target_port_name);
    assert_int_equal(s->ports[1].target_port, 0);
    assert_string_equal(s->ports[1].target_port_name, "web");
    assert_int_equal(s->n_lb_ingress, 2);
    assert_string_equal(s->lb_ingress[1].hostname, "lb.example.com");
    kgc_api_obj_unref(o);

    o = parse(KGC_API_ENDPOINTSLICE,
              "{\"metadata\":{\"name\":\"s-abc\",\"namespace\":\"n\",\"labels\":{"
              "\"kubernetes.io/service-name\":\"s\"}},\"addressType\":\"IPv4\",\"ports\":[{"
              "\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}],\"endpoints\":[{"
              "\"addresses\":[\"10.1.0.1\"],\"conditions\":{\"ready\":true,\"serving\":true,"
              "\"terminating\":false}},{\"addresses\":[\"10.1.0.2\"],\"conditions\":{}}]}");
    const struct kgc_api_endpointslice *e = kgc_api_as_endpointslice(o);
    assert_string_equal(e->service_name, "s");
    assert_string_equal(e->address_type, "IPv4");
    assert_int_equal(e->n_ports, 1);
    assert_int_equal(e->ports[0].port, 8080);
    assert_int_equal(e->n_endpoints, 2);
    assert_int_equal(e->endpoints[0].ready, 1);
    assert_int_equal(e->endpoints[0].terminating, 0);
    assert_int_equal(e->endpoints[1].ready, KGC_API_UNSET);
    kgc_api_obj_unref(o);

    o = parse(KGC_API_NAMESPACE, "{\"metadata\":{\"name\":\"apps\",\"labels\":{"
                                 "\"kubernetes.io/metadata.name\":\"apps\",\"team\":\"a\"}},"
                                 "\"status\":{\"phase\":\"Active\"}}");
    assert_string_equal(o->meta.key, "apps");
    assert_null(o->meta.namespace);
    assert_string_equal(kgc_api_label(o, "team"), "a");
    assert_string_equal(kgc_api_as_namespace(o)->phase, "Active");
    kgc_api_obj_unref(o);

    o = parse(KGC_API_GATEWAYCLASS,
              "{\"metadata\":{\"name\":\"kong\",\"generation\":2},\"spec\":{\"controllerName\":"
              "\"konghq.com/kgc-gateway-controller\",\"parametersRef\":{\"group\":\"konghq.com\","
              "\"kind\":\"GatewayConfiguration\",\"name\":\"c\",\"namespace\":\"n\"}},"
              "\"status\":{\"conditions\":[{\"type\":\"Accepted\",\"status\":\"Unknown\","
              "\"reason\":\"Pending\",\"message\":\"Waiting for controller\","
              "\"lastTransitionTime\":\"1970-01-01T00:00:00Z\"}]}}");
    const struct kgc_api_gatewayclass *gc = kgc_api_as_gatewayclass(o);
    assert_string_equal(gc->controller_name, "konghq.com/kgc-gateway-controller");
    assert_string_equal(gc->parameters_ref->kind, "GatewayConfiguration");
    assert_string_equal(gc->conditions[0].status, "Unknown");
    kgc_api_obj_unref(o);

    o = parse(KGC_API_REFERENCEGRANT,
              "{\"metadata\":{\"name\":\"g\",\"namespace\":\"backends\"},\"spec\":{\"from\":[{"
              "\"group\":\"gateway.networking.k8s.io\",\"kind\":\"HTTPRoute\",\"namespace\":"
              "\"apps\"}],\"to\":[{\"group\":\"\",\"kind\":\"Service\"},{\"group\":\"\","
              "\"kind\":\"Service\",\"name\":\"one\"}]}}");
    const struct kgc_api_referencegrant *rg = kgc_api_as_referencegrant(o);
    assert_int_equal(rg->n_from, 1);
    assert_string_equal(rg->from[0].namespace, "apps");
    assert_int_equal(rg->n_to, 2);
    assert_null(rg->to[0].name);
    assert_string_equal(rg->to[1].name, "one");
    kgc_api_obj_unref(o);
}

static void test_invalid_values_are_recorded_not_fatal(void **state)
{
    (void)state;
    struct kgc_api_obj *o =
        parse(KGC_API_GATEWAY,
              "{\"metadata\":{\"name\":\"gw\",\"namespace\":\"n\",\"generation\":\"x\"},"
              "\"spec\":{\"gatewayClassName\":7,\"listeners\":[{\"name\":\"a\",\"port\":\"eighty\","
              "\"protocol\":\"HTTP\"},42,{\"name\":\"b\",\"port\":70000,\"tls\":\"no\"}],"
              "\"addresses\":{}},\"status\":{\"conditions\":[{\"type\":\"Accepted\",\"status\":"
              "\"Maybe\"}]}}");
    const struct kgc_api_gateway *g = kgc_api_as_gateway(o);
    assert_null(g->gateway_class_name);
    assert_int_equal(g->n_listeners, 2); /* the non-object item is skipped */
    assert_int_equal(g->listeners[0].port, 0);
    assert_int_equal(g->listeners[1].port, 0);
    assert_null(g->listeners[1].tls);
    assert_int_equal(o->meta.generation, 0);
    assert_true(has_problem(o, "metadata.generation: must be an integer"));
    assert_true(has_problem(o, "spec.gatewayClassName: must be a string"));
    assert_true(has_problem(o, "spec.listeners[0].port: must be an integer"));
    assert_true(has_problem(o, "spec.listeners: item 1 must be an object"));
    assert_true(has_problem(o, "spec.listeners[2].port: must be between 1 and 65535"));
    assert_true(has_problem(o, "spec.listeners[2].tls: must be an object"));
    assert_int_equal(o->n_problems, KGC_API_MAX_PROBLEMS); /* capped */
    /* the problems are emitted for the dump */
    char *s = emit(o);
    assert_non_null(strstr(s, "\"kgcProblems\""));
    free(s);
    kgc_api_obj_unref(o);
}

static void test_unusable_objects_fail_to_parse(void **state)
{
    (void)state;
    struct kgc_api_obj *o = NULL;
    struct kgc_err err = {0};
    assert_int_equal(kgc_api_parse_text(KGC_API_GATEWAY, "[]", 2, &o, &err), KGC_EPARSE);
    assert_int_equal(
        kgc_api_parse_text(KGC_API_GATEWAY, "{\"metadata\":{\"name\":\"a\"}}", 25, &o, &err),
        KGC_EPARSE);
    assert_non_null(strstr(err.msg, "namespace"));
    const char *slash = "{\"metadata\":{\"name\":\"a/b\",\"namespace\":\"n\"}}";
    assert_int_equal(kgc_api_parse_text(KGC_API_SERVICE, slash, strlen(slash), &o, &err),
                     KGC_EPARSE);
    assert_int_equal(kgc_api_parse_text(KGC_API_SERVICE, "{\"metadata\":", 12, &o, &err),
                     KGC_EPARSE);
    assert_null(o);
    /* cluster-scoped kinds need no namespace, and ignore one */
    o = parse(KGC_API_GATEWAYCLASS, "{\"metadata\":{\"name\":\"c\",\"namespace\":\"x\"}}");
    assert_string_equal(o->meta.key, "c");
    kgc_api_obj_unref(o);
}

/* --- Secrets ---------------------------------------------------------------------------------- */

static struct kgc_api_obj *tls_secret(const char *crt, const char *key)
{
    if (!crt || !key) {
        fail(); /* (cmocka's fail is not marked noreturn) */
        return NULL;
    }
    char *bc = b64(crt, strlen(crt)), *bk = b64(key, strlen(key));
    char *json = NULL;
    assert_true(asprintf(&json,
                         "{\"metadata\":{\"name\":\"cert\",\"namespace\":\"n\"},\"type\":"
                         "\"kubernetes.io/tls\",\"data\":{\"tls.crt\":\"%s\",\"tls.key\":\"%s\","
                         "\"ca.crt\":\"%s\"}}",
                         bc, bk, bc) > 0);
    struct kgc_api_obj *o = parse(KGC_API_SECRET, json);
    free(json);
    free(bc);
    free(bk);
    return o;
}

/* A key whose PEM header holds a NUL byte: OpenSSL's reader accepts "-----BEGIN PRIVATE
 * KEY\0-----", but what kgc keeps (and would push to Kong) stops at the NUL. The pair is judged on
 * what is kept, so the Secret is invalid, with a reason, instead of valid with a truncated key. */
static void test_secret_tls_key_with_nul(void **state)
{
    (void)state;
    char *crt = NULL, *key = NULL;
    assert_int_equal(make_cert("nul.example.com", &crt, &key), 0);
    const char *body = strchr(key, '\n'); /* after "-----BEGIN PRIVATE KEY-----" */
    assert_non_null(body);
    static const char head[] = "-----BEGIN PRIVATE KEY\0-----";
    size_t n = sizeof(head) - 1 + strlen(body);
    char *bad = malloc(n);
    assert_non_null(bad);
    memcpy(bad, head, sizeof(head) - 1);
    memcpy(bad + sizeof(head) - 1, body, strlen(body));
    /* OpenSSL reads the whole buffer as a valid key */
    char problem[256];
    assert_true(kgc_api_tls_pair_valid(crt, strlen(crt), bad, n, problem, sizeof(problem)));
    char *bc = b64(crt, strlen(crt)), *bk = b64(bad, n);
    char *json = NULL;
    assert_true(asprintf(&json,
                         "{\"metadata\":{\"name\":\"cert\",\"namespace\":\"n\"},\"type\":"
                         "\"kubernetes.io/tls\",\"data\":{\"tls.crt\":\"%s\",\"tls.key\":\"%s\"}}",
                         bc, bk) > 0);
    struct kgc_api_obj *o = parse(KGC_API_SECRET, json);
    const struct kgc_api_secret *s = kgc_api_as_secret(o);
    assert_false(s->tls_valid);
    assert_null(s->tls_key_pem);
    assert_non_null(strstr(s->tls_problem, "private key"));
    kgc_api_obj_unref(o);
    free(json);
    free(bc);
    free(bk);
    free(bad);
    free(crt);
    free(key);
}

static void test_secret_tls_validation(void **state)
{
    (void)state;
    char *crt = NULL, *key = NULL, *crt2 = NULL, *key2 = NULL;
    assert_int_equal(make_cert("a.example.com", &crt, &key), 0);
    assert_int_equal(make_cert("b.example.com", &crt2, &key2), 0);

    struct kgc_api_obj *o = tls_secret(crt, key);
    const struct kgc_api_secret *s = kgc_api_as_secret(o);
    assert_string_equal(s->type, "kubernetes.io/tls");
    assert_true(s->has_tls_crt);
    assert_true(s->has_tls_key);
    assert_true(s->tls_valid);
    assert_null(s->tls_problem);
    assert_string_equal(s->tls_crt_pem, crt);
    assert_string_equal(s->tls_key_pem, key);
    /* emitted (dumped) without any key material */
    char *out = emit(o);
    assert_null(strstr(out, "PRIVATE KEY"));
    assert_null(strstr(out, "CERTIFICATE"));
    assert_null(strstr(out, "ca.crt"));
    assert_non_null(strstr(out, "\"tls.key\":\"<redacted>\""));
    assert_non_null(strstr(out, "\"kgcTLSValid\":true"));
    free(out);
    kgc_api_obj_unref(o);

    o = tls_secret(crt, key2); /* a key of another certificate */
    s = kgc_api_as_secret(o);
    assert_false(s->tls_valid);
    assert_non_null(strstr(s->tls_problem, "does not match"));
    assert_null(s->tls_key_pem);
    kgc_api_obj_unref(o);

    o = tls_secret("junk", "more junk");
    s = kgc_api_as_secret(o);
    assert_false(s->tls_valid);
    assert_non_null(strstr(s->tls_problem, "no PEM certificate"));
    kgc_api_obj_unref(o);

    o = tls_secret(crt, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    assert_false(kgc_api_as_secret(o)->tls_valid);
    assert_non_null(strstr(kgc_api_as_secret(o)->tls_problem, "private key"));
    kgc_api_obj_unref(o);

    o = parse(KGC_API_SECRET, "{\"metadata\":{\"name\":\"x\",\"namespace\":\"n\"},\"type\":"
                              "\"kubernetes.io/tls\",\"data\":{\"tls.crt\":\"!!notbase64!!\","
                              "\"tls.key\":\"AAAA\"}}");
    assert_false(kgc_api_as_secret(o)->tls_valid);
    assert_non_null(strstr(kgc_api_as_secret(o)->tls_problem, "base64"));
    kgc_api_obj_unref(o);

    /* a valid pair padded past the cap: kept without data, the problem says how big */
    size_t big_len = strlen(crt) + KGC_API_SECRET_TLS_MAX_BYTES;
    char *big = malloc(big_len + 1);
    assert_non_null(big);
    memcpy(big, crt, strlen(crt));
    memset(big + strlen(crt), '\n', KGC_API_SECRET_TLS_MAX_BYTES);
    big[big_len] = '\0';
    o = tls_secret(big, key);
    s = kgc_api_as_secret(o);
    assert_true(s->has_tls_crt);
    assert_false(s->tls_valid);
    assert_null(s->tls_crt_pem);
    assert_null(s->tls_key_pem);
    assert_non_null(strstr(s->tls_problem, "more than the 256 KiB kgc accepts"));
    kgc_api_obj_unref(o);
    free(big);

    o = parse(KGC_API_SECRET, "{\"metadata\":{\"name\":\"x\",\"namespace\":\"n\"},\"type\":"
                              "\"Opaque\",\"data\":{\"password\":\"c2VjcmV0\"}}");
    s = kgc_api_as_secret(o);
    assert_false(s->has_tls_crt);
    assert_false(s->tls_valid);
    out = emit(o);
    assert_null(strstr(out, "password"));
    assert_null(strstr(out, "c2VjcmV0"));
    free(out);
    kgc_api_obj_unref(o);

    free(crt);
    free(key);
    free(crt2);
    free(key2);
}

static void test_base64(void **state)
{
    (void)state;
    unsigned char *out;
    size_t n;
    assert_int_equal(kgc_api_base64_decode("aGVsbG8=", 8, &out, &n), 0);
    assert_int_equal(n, 5);
    assert_string_equal((char *)out, "hello");
    free(out);
    assert_int_equal(kgc_api_base64_decode("aGVs\nbG8=\n", 10, &out, &n), 0);
    assert_string_equal((char *)out, "hello");
    free(out);
    assert_int_equal(kgc_api_base64_decode("", 0, &out, &n), 0);
    assert_int_equal(n, 0);
    free(out);
    assert_int_equal(kgc_api_base64_decode("a$b=", 4, &out, &n), KGC_EPARSE);
}

/* --- emit ------------------------------------------------------------------------------------- */

static void roundtrip(enum kgc_api_kind kind, json_object *j, const char *where)
{
    struct kgc_api_obj *a = NULL, *b = NULL;
    struct kgc_err err = {0};
    if (kgc_api_parse(kind, j, &a, &err) != 0)
        fail_msg("%s: %s", where, err.msg);
    if (a->n_problems)
        fail_msg("%s: unexpected problem %s", where, a->problems[0]);
    char *s1 = emit(a);
    assert_int_equal(kgc_api_parse_text(kind, s1, strlen(s1), &b, &err), 0);
    char *s2 = emit(b);
    if (strcmp(s1, s2) != 0)
        fail_msg("%s: emit(parse(emit(x))) differs:\n%s\n%s", where, s1, s2);
    /* every resourceVersion, name and the kind are carried */
    assert_non_null(strstr(s1, kgc_api_kind_info(kind)->name));
    free(s1);
    free(s2);
    kgc_api_obj_unref(a);
    kgc_api_obj_unref(b);
}

static void test_roundtrip_examples(void **state)
{
    (void)state;
    json_object *j = json_tokener_parse(GATEWAY);
    roundtrip(KGC_API_GATEWAY, j, "gateway");
    json_object_put(j);
    j = json_tokener_parse(ROUTE);
    roundtrip(KGC_API_HTTPROUTE, j, "route");
    json_object_put(j);
}

/* Every object of a known kind in the conformance manifests parses without a problem and
 * survives emit → parse → emit unchanged. */
static void test_conformance_manifests_roundtrip(void **state)
{
    (void)state;
    char cdir[512];
    fixture_conformance_dir(cdir, sizeof(cdir));
    DIR *d = opendir(cdir);
    if (!d) {
        fail_msg("cannot open %s (%s)", cdir, FIXTURE_GATEWAY_API_HINT);
        return;
    }
    struct dirent *de;
    size_t objects = 0;
    while ((de = readdir(d))) {
        if (!strstr(de->d_name, ".yaml"))
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", cdir, de->d_name);
        json_object *docs = yaml_file_to_json(path, "{GATEWAY_CLASS_NAME}", "kong");
        assert_non_null(docs);
        for (size_t i = 0; i < json_object_array_length(docs); i++) {
            json_object *doc = json_object_array_get_idx(docs, i);
            json_object *kind = NULL;
            if (!json_object_object_get_ex(doc, "kind", &kind))
                continue;
            int k = kgc_api_kind_from_name(json_object_get_string(kind));
            if (k < 0)
                continue;
            /* manifests often omit the namespace: default it as kubectl would */
            json_object *meta = NULL;
            json_object_object_get_ex(doc, "metadata", &meta);
            if (kgc_api_kind_info(k)->namespaced && meta &&
                !json_object_object_get_ex(meta, "namespace", NULL))
                json_object_object_add(meta, "namespace", json_object_new_string("default"));
            char where[600];
            snprintf(where, sizeof(where), "%s #%zu", de->d_name, i);
            if (k == KGC_API_SECRET) {
                /* Secrets are redacted on emit: no round trip, but no key material either */
                struct kgc_api_obj *o = NULL;
                assert_int_equal(kgc_api_parse(KGC_API_SECRET, doc, &o, NULL), 0);
                char *s = emit(o);
                assert_null(strstr(s, "LS0t")); /* base64 of "---" */
                free(s);
                kgc_api_obj_unref(o);
            } else {
                roundtrip((enum kgc_api_kind)k, doc, where);
            }
            objects++;
        }
        json_object_put(docs);
    }
    closedir(d);
    assert_true(objects > 50);
}

static void test_kinds_and_refs(void **state)
{
    (void)state;
    assert_int_equal(kgc_api_kind_from_name("httproutes"), KGC_API_HTTPROUTE);
    assert_int_equal(kgc_api_kind_from_name("HTTPRoute"), KGC_API_HTTPROUTE);
    assert_int_equal(kgc_api_kind_from_name("endpointslices"), KGC_API_ENDPOINTSLICE);
    assert_int_equal(kgc_api_kind_from_name("nope"), -1);
    assert_string_equal(kgc_api_kind_info(KGC_API_ENDPOINTSLICE)->api_version,
                        "discovery.k8s.io/v1");
    assert_false(kgc_api_kind_info(KGC_API_NAMESPACE)->namespaced);
    assert_null(kgc_api_kind_info(KGC_API_KIND_COUNT));

    struct kgc_api_obj *o = parse(KGC_API_NAMESPACE, "{\"metadata\":{\"name\":\"a\"}}");
    assert_ptr_equal(kgc_api_obj_ref(o), o);
    assert_int_equal(o->refs, 2);
    kgc_api_obj_unref(o);
    assert_int_equal(o->refs, 1);
    kgc_api_obj_unref(o);
    kgc_api_obj_unref(NULL);
    assert_null(kgc_api_obj_ref(NULL));
}

/* A CA certificate (basicConstraints CA:TRUE) and a certificate that is not a CA (no
 * basicConstraints). Test material only. */
static const char CA_PEM[] = "-----BEGIN CERTIFICATE-----\n"
                             "MIIBqDCCAU+gAwIBAgIBATAKBggqhkjOPQQDAjAaMRgwFgYDVQQDDA9rZ2MtZ29s\n"
                             "ZGVuLXRlc3QwIBcNMjYxMTI3MTIyNDE4WhgPMjEyNjExMDMxMjI0MThaMBoxGDAW\n"
                             "BgNVBAMMD2tnYy1nb2xkZW4tdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IA\n"
                             "BEY0k3kgZVRvcew61zviHcgPsqBaWoVVd8FQukQZ+kMISC+WtL7yBoO9W7Wm7RwB\n"
                             "8azTrQXfUrEXY6Hryo2jIvKjgYMwgYAwHQYDVR0OBBYEFCG34ZF0G8toYUMa87wW\n"
                             "KEvcCC9NMB8GA1UdIwQYMBaAFCG34ZF0G8toYUMa87wWKEvcCC9NMA8GA1UdEwEB\n"
                             "/wQFMAMBAf8wLQYDVR0RBCYwJIIOKi53aWxkY2FyZC5vcmeCEnNlY29uZC1leGFt\n"
                             "cGxlLm9yZzAKBggqhkjOPQQDAgNHADBEAiBi8l3Mv0A1QU+KkZCYyMfd8VFbGvMT\n"
                             "GaX4IGkYIfu8DAIgLd+6QNO6dc2nlfubyU2lWuQ5e7XkmIExsAFa66BZfMI=\n"
                             "-----END CERTIFICATE-----\n";

static char *configmap_json(const char *ca)
{
    json_object *doc = json_tokener_parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                                          "\"metadata\":{\"name\":\"ca\",\"namespace\":\"n\"},"
                                          "\"data\":{\"other\":\"dropped\"},"
                                          "\"binaryData\":{\"bin\":\"AAAA\"}}");
    if (ca)
        json_object_object_add(json_object_object_get(doc, "data"), "ca.crt",
                               json_object_new_string(ca));
    char *out = strdup(json_object_to_json_string(doc));
    json_object_put(doc);
    return out;
}

static void test_configmap_keeps_only_ca_bundles(void **state)
{
    (void)state;
    char *j = configmap_json(CA_PEM);
    struct kgc_api_obj *o = parse(KGC_API_CONFIGMAP, j);
    free(j);
    const struct kgc_api_configmap *m = kgc_api_as_configmap(o);
    assert_true(m->has_ca_crt && m->ca_valid);
    assert_string_equal(m->ca_crt, CA_PEM);
    char *e = emit(o);
    assert_null(strstr(e, "dropped"));
    assert_null(strstr(e, "AAAA"));
    assert_non_null(strstr(e, "\"kgcCAValid\":true"));
    free(e);
    kgc_api_obj_unref(o);

    /* junk, an empty ca.crt, a certificate that is not a CA, too much: kept without data */
    char *big = malloc(KGC_API_CONFIGMAP_CA_MAX_BYTES + strlen(CA_PEM) + 2);
    strcpy(big, CA_PEM);
    memset(big + strlen(CA_PEM), '\n', KGC_API_CONFIGMAP_CA_MAX_BYTES);
    big[strlen(CA_PEM) + KGC_API_CONFIGMAP_CA_MAX_BYTES] = '\0';
    const char *bad[] = {"junk", "", big};
    for (size_t i = 0; i < 3; i++) {
        j = configmap_json(bad[i]);
        o = parse(KGC_API_CONFIGMAP, j);
        free(j);
        m = kgc_api_as_configmap(o);
        assert_true(m->has_ca_crt);
        assert_false(m->ca_valid);
        assert_null(m->ca_crt);
        assert_non_null(m->ca_problem);
        assert_true(o->size < 4096); /* the data is not kept */
        kgc_api_obj_unref(o);
    }
    free(big);
    char problem[160];
    assert_int_equal(kgc_api_ca_bundle_check(CA_PEM, strlen(CA_PEM), problem, sizeof(problem)), 1);
    /* two CAs in a bundle; a trailing non-PEM text is refused */
    char two[4096];
    snprintf(two, sizeof(two), "%s%s", CA_PEM, CA_PEM);
    assert_int_equal(kgc_api_ca_bundle_check(two, strlen(two), problem, sizeof(problem)), 2);
    snprintf(two, sizeof(two), "%s-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
             CA_PEM);
    assert_int_equal(kgc_api_ca_bundle_check(two, strlen(two), problem, sizeof(problem)), 0);
    /* no ca.crt at all */
    o = parse(KGC_API_CONFIGMAP, "{\"metadata\":{\"name\":\"x\",\"namespace\":\"n\"}}");
    assert_false(kgc_api_as_configmap(o)->has_ca_crt);
    kgc_api_obj_unref(o);
}

static void test_backendtlspolicy_fields(void **state)
{
    (void)state;
    struct kgc_api_obj *o = parse(
        KGC_API_BACKENDTLSPOLICY,
        "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"generation\":2,"
        "\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"spec\":{\"targetRefs\":[{\"group\":\"\","
        "\"kind\":\"Service\",\"name\":\"svc\",\"sectionName\":\"https\"}],\"validation\":{"
        "\"caCertificateRefs\":[{\"group\":\"\",\"kind\":\"ConfigMap\",\"name\":\"ca\"}],"
        "\"hostname\":\"abc.example.com\",\"subjectAltNames\":[{\"type\":\"URI\",\"uri\":"
        "\"spiffe://a/b\"},{\"type\":\"Hostname\",\"hostname\":\"abc.example.com\"}]},"
        "\"options\":{\"example.com/x\":\"y\"}},\"status\":{\"ancestors\":[{\"ancestorRef\":{"
        "\"group\":\"gateway.networking.k8s.io\",\"kind\":\"Gateway\",\"name\":\"gw\"},"
        "\"controllerName\":\"c\",\"conditions\":[{\"type\":\"Accepted\",\"status\":\"True\","
        "\"reason\":\"Accepted\",\"observedGeneration\":2}]}]}}");
    const struct kgc_api_backendtlspolicy *p = kgc_api_as_backendtlspolicy(o);
    assert_int_equal(p->n_target_refs, 1);
    assert_string_equal(p->target_refs[0].section_name, "https");
    assert_int_equal(p->n_ca_certificate_refs, 1);
    assert_string_equal(p->ca_certificate_refs[0].kind, "ConfigMap");
    assert_string_equal(p->hostname, "abc.example.com");
    assert_int_equal(p->n_subject_alt_names, 2);
    assert_string_equal(p->subject_alt_names[0].uri, "spiffe://a/b");
    assert_int_equal(p->n_options, 1);
    assert_int_equal(p->n_ancestors, 1);
    assert_string_equal(p->ancestors[0].ancestor_ref.name, "gw");
    assert_int_equal(p->ancestors[0].conditions[0].observed_generation, 2);
    char *e = emit(o);
    struct kgc_api_obj *again = parse(KGC_API_BACKENDTLSPOLICY, e);
    char *e2 = emit(again);
    assert_string_equal(e, e2); /* what the dump shows parses back to the same */
    free(e);
    free(e2);
    kgc_api_obj_unref(again);
    kgc_api_obj_unref(o);

    o = parse(KGC_API_GATEWAY,
              "{\"metadata\":{\"name\":\"g\",\"namespace\":\"n\"},\"spec\":{\"tls\":{\"backend\":"
              "{\"clientCertificateRef\":{\"kind\":\"Secret\",\"name\":\"cc\"}}}}}");
    const struct kgc_api_gateway *g = kgc_api_as_gateway(o);
    assert_non_null(g->backend_client_certificate_ref);
    assert_string_equal(g->backend_client_certificate_ref->name, "cc");
    e = emit(o);
    assert_non_null(strstr(e, "\"clientCertificateRef\":{\"kind\":\"Secret\",\"name\":\"cc\"}"));
    free(e);
    kgc_api_obj_unref(o);
}

/* ListenerSet: parentRef, listener entries as a Gateway's; Gateway allowedListeners and
 * attachedListenerSets; a merged Gateway holds the set's listeners after its own and keeps both
 * objects alive until it goes. */
static void test_listenerset_fields_and_merge(void **state)
{
    (void)state;
    struct kgc_api_obj *go = parse(
        KGC_API_GATEWAY,
        "{\"metadata\":{\"name\":\"gw\",\"namespace\":\"a\"},\"spec\":{\"gatewayClassName\":\"c\","
        "\"allowedListeners\":{\"namespaces\":{\"from\":\"Selector\",\"selector\":{\"matchLabels\":"
        "{\"t\":\"x\"}}}},\"listeners\":[{\"name\":\"h\",\"port\":80,\"protocol\":\"HTTP\"}]},"
        "\"status\":{\"attachedListenerSets\":3}}");
    const struct kgc_api_gateway *gw = kgc_api_as_gateway(go);
    assert_string_equal(gw->allowed_listeners->namespaces_from, "Selector");
    assert_int_equal(gw->allowed_listeners->selector->n_match_labels, 1);
    assert_int_equal(gw->attached_listener_sets, 3);
    assert_int_equal(kgc_api_gateway_own_listeners(gw), 1);
    struct kgc_api_obj *so = parse(
        KGC_API_LISTENERSET,
        "{\"metadata\":{\"name\":\"ls\",\"namespace\":\"b\"},\"spec\":{\"parentRef\":{\"name\":"
        "\"gw\",\"namespace\":\"a\"},\"listeners\":[{\"name\":\"x\",\"port\":443,\"protocol\":"
        "\"HTTPS\",\"hostname\":\"x.example.com\",\"tls\":{\"certificateRefs\":[{\"name\":\"c\"}]}}"
        ","
        "{\"name\":\"y\",\"port\":80,\"protocol\":\"HTTP\"}]},\"status\":{\"conditions\":[{"
        "\"type\":"
        "\"Accepted\",\"status\":\"True\",\"reason\":\"Accepted\"}],\"listeners\":[{\"name\":\"x\","
        "\"attachedRoutes\":2}]}}");
    const struct kgc_api_listenerset *set = kgc_api_as_listenerset(so);
    assert_non_null(set);
    assert_null(kgc_api_as_gateway(so));
    assert_string_equal(set->parent_ref.name, "gw");
    assert_string_equal(set->parent_ref.namespace, "a");
    assert_null(set->parent_ref.kind);
    assert_int_equal(set->n_listeners, 2);
    assert_string_equal(set->listeners[0].tls->certificate_refs[0].name, "c");
    assert_int_equal(set->n_conditions, 1);
    assert_int_equal(set->listener_status[0].attached_routes, 2);
    char *s = emit(so);
    assert_non_null(strstr(s, "\"kind\":\"ListenerSet\""));
    assert_non_null(strstr(s, "\"parentRef\":{\"namespace\":\"a\",\"name\":\"gw\"}"));
    free(s);
    s = emit(go);
    assert_non_null(strstr(s, "\"allowedListeners\":{\"namespaces\":{\"from\":\"Selector\""));
    assert_non_null(strstr(s, "\"attachedListenerSets\":3"));
    free(s);

    const struct kgc_api_gateway *m = NULL;
    assert_int_equal(kgc_api_gateway_merge(gw, &set, 1, 64, &m), 0);
    kgc_api_obj_unref(go); /* the merged Gateway keeps both alive */
    kgc_api_obj_unref(so);
    assert_int_equal(m->obj.kind, KGC_API_GATEWAY);
    assert_string_equal(m->obj.meta.key, "a/gw");
    assert_int_equal(m->n_listeners, 3);
    assert_int_equal(kgc_api_gateway_own_listeners(m), 1);
    assert_null(kgc_api_listener_origin(m, 0));
    assert_ptr_equal(kgc_api_listener_origin(m, 1), set);
    assert_string_equal(m->listeners[2].name, "y");
    kgc_api_obj_unref(&m->obj);

    /* a cap leaves the extra listeners out */
    go = parse(KGC_API_GATEWAY,
               "{\"metadata\":{\"name\":\"g\",\"namespace\":\"a\"},\"spec\":{"
               "\"listeners\":[{\"name\":\"h\",\"port\":80,\"protocol\":\"HTTP\"}]}}");
    so = parse(KGC_API_LISTENERSET,
               "{\"metadata\":{\"name\":\"s\",\"namespace\":\"a\"},\"spec\":{\"parentRef\":{"
               "\"name\":\"g\"},\"listeners\":[{\"name\":\"p\",\"port\":81,\"protocol\":\"HTTP\"},"
               "{\"name\":\"q\",\"port\":82,\"protocol\":\"HTTP\"}]}}");
    set = kgc_api_as_listenerset(so);
    assert_int_equal(kgc_api_as_gateway(go)->attached_listener_sets, -1);
    assert_int_equal(kgc_api_gateway_merge(kgc_api_as_gateway(go), &set, 1, 2, &m), 0);
    assert_int_equal(m->n_listeners, 2);
    assert_string_equal(m->listeners[1].name, "p");
    kgc_api_obj_unref(&m->obj);
    kgc_api_obj_unref(go);
    kgc_api_obj_unref(so);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gateway_fields),
        cmocka_unit_test(test_httproute_fields),
        cmocka_unit_test(test_grpcroute_fields),
        cmocka_unit_test(test_l4_route_fields),
        cmocka_unit_test(test_well_known_strings_are_shared),
        cmocka_unit_test(test_namespaces_are_shared),
        cmocka_unit_test(test_core_kinds),
        cmocka_unit_test(test_invalid_values_are_recorded_not_fatal),
        cmocka_unit_test(test_unusable_objects_fail_to_parse),
        cmocka_unit_test(test_secret_tls_validation),
        cmocka_unit_test(test_secret_tls_key_with_nul),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_roundtrip_examples),
        cmocka_unit_test(test_conformance_manifests_roundtrip),
        cmocka_unit_test(test_kinds_and_refs),
        cmocka_unit_test(test_configmap_keeps_only_ca_bundles),
        cmocka_unit_test(test_backendtlspolicy_fields),
        cmocka_unit_test(test_listenerset_fields_and_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

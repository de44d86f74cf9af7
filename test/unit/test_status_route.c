/* status: HTTPRoute status.parents from the Gateway API conformance manifests — acceptance by

 * listeners (namespaces, kinds, sectionName/port, hostnames), backend references and
 * ReferenceGrants, other controllers' entries, the translator hook and attachments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture_yaml.h"
#include "kgc/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INFRA "gateway-conformance-infra"
#define WEB   "gateway-conformance-web-backend"

static int env_setup(void **state)
{
    static struct fixture_env env;
    char err[FIXTURE_ERR_MAX];
    if (fixture_env_setup(&env, err, sizeof(err)) != 0) {
        print_error("fixture: %s\n", err);
        return -1;
    }
    *state = &env;
    return 0;
}

static int env_teardown(void **state)
{
    fixture_env_free(*state);
    return 0;
}

static void load(struct fixture_env *env, const char *manifest)
{
    char err[FIXTURE_ERR_MAX];
    if (fixture_set_load(env->set, manifest, err, sizeof(err)) != 0)
        fail_msg("%s", err);
}

static void add_yaml(struct fixture_env *env, const char *yaml)
{
    char err[FIXTURE_ERR_MAX];
    if (fixture_set_add_yaml(env->set, yaml, err, sizeof(err)) != 0)
        fail_msg("%s", err);
}

static const struct kgc_api_httproute *route(struct fixture_env *env, const char *ns,
                                             const char *name)
{
    const struct kgc_api_httproute *r =
        kgc_api_as_httproute(fixture_set_find(env->set, KGC_API_HTTPROUTE, ns, name));
    if (!r)
        fail_msg("no HTTPRoute %s/%s", ns, name);
    return r;
}

static const struct kgc_api_httproute *groute(struct fixture_env *env, const char *ns,
                                              const char *name)
{
    const struct kgc_api_httproute *r =
        kgc_api_as_grpcroute(fixture_set_find(env->set, KGC_API_GRPCROUTE, ns, name));
    if (!r)
        fail_msg("no GRPCRoute %s/%s", ns, name);
    return r;
}

static void gcompute(struct fixture_env *env, const char *ns, const char *name,
                     struct kgc_status_httproute *out)
{
    struct kgc_err err = {0};
    if (kgc_status_httproute_compute(&env->o, &env->lk, groute(env, ns, name), out, &err) != 0)
        fail_msg("compute GRPCRoute %s/%s: %s", ns, name, err.msg);
}

static void compute(struct fixture_env *env, const char *ns, const char *name,
                    struct kgc_status_httproute *out)
{
    struct kgc_err err = {0};
    if (kgc_status_httproute_compute(&env->o, &env->lk, route(env, ns, name), out, &err) != 0)
        fail_msg("compute %s/%s: %s", ns, name, err.msg);
}

static const struct kgc_status_route_parent *parent(const struct kgc_status_httproute *r,
                                                    const char *gw, const char *section)
{
    for (uint32_t i = 0; i < r->n_parents; i++) {
        const struct kgc_status_route_parent *p = &r->parents[i];
        if (strcmp(p->gateway_name, gw) == 0 &&
            (!section ||
             (p->parent_ref.section_name && strcmp(p->parent_ref.section_name, section) == 0)))
            return p;
    }
    fail_msg("no parent entry for Gateway %s", gw);
    return NULL;
}

static void expect(const struct kgc_status_route_parent *p, const char *type, const char *status,
                   const char *reason)
{
    const struct kgc_status_condition *c = fixture_cond(p->conditions, p->n_conditions, type);
    if (!c) {
        fail_msg("no %s condition", type);
        return;
    }
    if (strcmp(c->status, status) != 0 || strcmp(c->reason, reason) != 0)
        fail_msg("%s: want %s/%s, got %s/%s (%s)", type, status, reason, c->status, c->reason,
                 c->message);
}

static void expect_accepted_resolved(const struct kgc_status_route_parent *p)
{
    expect(p, KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect(p, KGC_STATUS_RESOLVED_REFS, "True", KGC_STATUS_R_RESOLVED_REFS);
}

static bool write_status(struct fixture_env *env, const struct kgc_status_httproute *d)
{
    json_object *patch = NULL;
    struct kgc_err err = {0};
    assert_int_equal(kgc_status_httproute_patch(d, NULL, &patch, &err), 0);
    if (!patch)
        return false;
    const struct kgc_api_obj *obj = fixture_set_patch_status(
        env->set, d->route->obj.kind, d->route->obj.meta.namespace, d->route->obj.meta.name, patch);
    json_object_put(patch);
    assert_non_null(obj);
    return true;
}

static int32_t attached(struct fixture_env *env, const char *gw_name, uint32_t listener)
{
    const struct kgc_api_gateway *gw =
        kgc_api_as_gateway(fixture_set_find(env->set, KGC_API_GATEWAY, INFRA, gw_name));
    assert_non_null(gw);
    int32_t counts[KGC_STATUS_MAX_LISTENERS];
    assert_int_equal(kgc_status_gateway_attached_routes(&env->o, &env->lk, gw, counts, NULL), 0);
    return counts[listener];
}

/* ---- accepted routes ------------------------------------------------------------------------ */

/* httproute-simple-same-namespace: one parent, written as the API wants it. */
static void test_route_simple_same_namespace(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-simple-same-namespace.yaml");
    struct kgc_status_httproute d;
    compute(env, INFRA, "gateway-conformance-infra-test", &d);
    assert_int_equal(d.n_parents, 1);
    const struct kgc_status_route_parent *p = parent(&d, "same-namespace", NULL);
    expect_accepted_resolved(p);
    assert_int_equal(p->listeners, 1);
    json_object *patch = NULL;
    assert_int_equal(kgc_status_httproute_patch(&d, NULL, &patch, NULL), 0);
    assert_non_null(patch);
    assert_non_null(fixture_json_path(patch, "metadata.resourceVersion"));
    json_object *e = fixture_json_path(patch, "status.parents.0");
    assert_string_equal(json_object_get_string(fixture_json_path(e, "controllerName")),
                        KGC_STATUS_DEFAULT_CONTROLLER);
    assert_string_equal(json_object_get_string(fixture_json_path(e, "parentRef.group")),
                        KGC_STATUS_GROUP);
    assert_string_equal(json_object_get_string(fixture_json_path(e, "parentRef.kind")), "Gateway");
    assert_string_equal(json_object_get_string(fixture_json_path(e, "parentRef.name")),
                        "same-namespace");
    assert_null(fixture_json_path(e, "parentRef.namespace")); /* as in spec */
    json_object *acc = fixture_json_cond(fixture_json_path(e, "conditions"), "Accepted");
    assert_string_equal(json_object_get_string(fixture_json_path(acc, "lastTransitionTime")),
                        FIXTURE_NOW);
    assert_int_equal(json_object_get_int64(fixture_json_path(acc, "observedGeneration")), 1);
    json_object_put(patch);
    assert_true(write_status(env, &d));
    kgc_status_httproute_release(&d);
    assert_int_equal(attached(env, "same-namespace", 0), 1);
    compute(env, INFRA, "gateway-conformance-infra-test", &d);
    assert_false(write_status(env, &d)); /* unchanged → no write */
    kgc_status_httproute_release(&d);
}

/* httproute-cross-namespace: a Selector listener admits a labelled namespace. */
static void test_route_cross_namespace(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-cross-namespace.yaml");
    struct kgc_status_httproute d;
    compute(env, WEB, "cross-namespace", &d);
    assert_int_equal(d.n_parents, 1);
    expect_accepted_resolved(parent(&d, "backend-namespaces", NULL));
    assert_string_equal(d.parents[0].parent_ref.namespace, INFRA);
    kgc_status_httproute_release(&d);
}

/* httproute-multiple-gateways: every route accepted on every parent. */
static void test_route_multiple_gateways(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-multiple-gateways.yaml");
    struct kgc_status_httproute d;
    compute(env, INFRA, "multiple-gateways-shared-route", &d);
    assert_int_equal(d.n_parents, 2);
    expect_accepted_resolved(parent(&d, "same-namespace", NULL));
    expect_accepted_resolved(parent(&d, "all-namespaces", NULL));
    kgc_status_httproute_release(&d);
    compute(env, INFRA, "same-namespace-dedicated-route", &d);
    expect_accepted_resolved(parent(&d, "same-namespace", NULL));
    kgc_status_httproute_release(&d);
    compute(env, INFRA, "all-namespaces-dedicated-route", &d);
    expect_accepted_resolved(parent(&d, "all-namespaces", NULL));
    kgc_status_httproute_release(&d);
}

/* httproute-https-listener: hostnames pick the listeners; sectionName pins one. */
static void test_route_https_listener(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-https-listener.yaml");
    struct kgc_status_httproute d;
    compute(env, INFRA, "httproute-https-test", &d);
    expect_accepted_resolved(parent(&d, "same-namespace-with-https-listener", NULL));
    assert_int_equal(d.parents[0].listeners, 1); /* only the listener without a hostname */
    kgc_status_httproute_release(&d);
    compute(env, INFRA, "httproute-https-test-no-hostname", &d);
    expect_accepted_resolved(parent(&d, "same-namespace-with-https-listener", NULL));
    assert_int_equal(d.parents[0].listeners, 2); /* https-with-hostname */
    kgc_status_httproute_release(&d);

    struct kgc_status_attachment *a = NULL;
    size_t n = 0;
    assert_int_equal(kgc_status_httproute_attachments(&env->o, &env->lk,
                                                      route(env, INFRA, "httproute-https-test"), &a,
                                                      &n, NULL),
                     0);
    assert_int_equal(n, 1);
    assert_string_equal(a[0].gateway_namespace, INFRA);
    assert_string_equal(a[0].gateway_name, "same-namespace-with-https-listener");
    assert_string_equal(a[0].listener_name, "https");
    assert_int_equal(a[0].listener_index, 0);
    assert_int_equal(a[0].parent_index, 0);
    free(a);
}

/* httproute-observed-generation-bump: the parents' conditions follow the generation. */
static void test_route_observed_generation_bump(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-observed-generation-bump.yaml");
    struct kgc_status_httproute d;
    compute(env, INFRA, "observed-generation-bump", &d);
    assert_true(write_status(env, &d));
    kgc_status_httproute_release(&d);
    json_object *j =
        fixture_set_json(env->set, KGC_API_HTTPROUTE, INFRA, "observed-generation-bump");
    json_object_object_add(fixture_json_path(j, "spec.rules.0.backendRefs.0"), "port",
                           json_object_new_int(8081));
    fixture_set_update(env->set, KGC_API_HTTPROUTE, INFRA, "observed-generation-bump", true);
    env->o.now = FIXTURE_LATER;
    compute(env, INFRA, "observed-generation-bump", &d);
    assert_int_equal(d.generation, 2);
    json_object *patch = NULL;
    assert_int_equal(kgc_status_httproute_patch(&d, NULL, &patch, NULL), 0);
    assert_non_null(patch);
    json_object *conds = fixture_json_path(patch, "status.parents.0.conditions");
    assert_int_equal(json_object_array_length(conds), 2);
    for (size_t i = 0; i < 2; i++) {
        json_object *c = json_object_array_get_idx(conds, i);
        assert_int_equal(json_object_get_int64(fixture_json_path(c, "observedGeneration")), 2);
        assert_string_equal(json_object_get_string(fixture_json_path(c, "lastTransitionTime")),
                            FIXTURE_NOW);
    }
    json_object_put(patch);
    kgc_status_httproute_release(&d);
}

/* ---- refused routes ------------------------------------------------------------------------- */

/* httproute-invalid-cross-namespace-parent-ref: NotAllowedByListeners, refs fine, 0 attached. */
static void test_route_invalid_cross_namespace_parent_ref(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-invalid-cross-namespace-parent-ref.yaml");
    struct kgc_status_httproute d;
    compute(env, WEB, "invalid-cross-namespace-parent-ref", &d);
    const struct kgc_status_route_parent *p = parent(&d, "same-namespace", NULL);
    expect(p, KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_NOT_ALLOWED_BY_LISTENERS);
    expect(p, KGC_STATUS_RESOLVED_REFS, "True", KGC_STATUS_R_RESOLVED_REFS);
    assert_int_equal(attached(env, "same-namespace", 0), 0);
    kgc_status_httproute_release(&d);
    struct kgc_status_attachment *a = NULL;
    size_t n = 9;
    assert_int_equal(
        kgc_status_httproute_attachments(
            &env->o, &env->lk, route(env, WEB, "invalid-cross-namespace-parent-ref"), &a, &n, NULL),
        0);
    assert_int_equal(n, 0);
    assert_null(a);
}

/* httproute-invalid-parentref-not-matching-section-name, and port matching. */
static void test_route_no_matching_parent(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-invalid-parentref-not-matching-section-name.yaml");
    struct kgc_status_httproute d;
    compute(env, INFRA, "httproute-listener-not-matching-section-name", &d);
    expect(parent(&d, "same-namespace", NULL), KGC_STATUS_ACCEPTED, "False",
           KGC_STATUS_R_NO_MATCHING_PARENT);
    kgc_status_httproute_release(&d);

    add_yaml(env, "kind: HTTPRoute\nmetadata: {name: by-port, namespace: " INFRA "}\n"
                  "spec:\n  parentRefs:\n"
                  "  - {name: same-namespace, port: 80}\n"
                  "  - {name: all-namespaces, port: 8080}\n"
                  "  - {name: backend-namespaces, port: 80, sectionName: http}\n"
                  "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n");
    compute(env, INFRA, "by-port", &d);
    assert_int_equal(d.n_parents, 3);
    expect(parent(&d, "same-namespace", NULL), KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect(parent(&d, "all-namespaces", NULL), KGC_STATUS_ACCEPTED, "False",
           KGC_STATUS_R_NO_MATCHING_PARENT);
    /* backend-namespaces admits only labelled namespaces: the listener matched, then refused */
    expect(parent(&d, "backend-namespaces", NULL), KGC_STATUS_ACCEPTED, "False",
           KGC_STATUS_R_NOT_ALLOWED_BY_LISTENERS);
    assert_int_equal(d.parents[2].parent_ref.port, 80);
    kgc_status_httproute_release(&d);
}

/* A listener whose kinds leave HTTPRoute out refuses the route. */
static void test_route_kind_not_allowed(void **state)
{
    struct fixture_env *env = *state;
    add_yaml(env, "kind: Gateway\nmetadata: {name: tls-only, namespace: " INFRA "}\n"
                  "spec:\n  gatewayClassName: \"{GATEWAY_CLASS_NAME}\"\n  listeners:\n"
                  "  - {name: tls, port: 9443, protocol: TLS, hostname: abc.example.com, tls: "
                  "{mode: Passthrough}, allowedRoutes: {kinds: [{kind: TLSRoute}]}}\n"
                  "  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {kinds: "
                  "[{kind: GRPCRoute}]}}\n---\n"
                  "kind: HTTPRoute\nmetadata: {name: disallowed-kind, namespace: " INFRA "}\n"
                  "spec:\n  parentRefs: [{name: tls-only, sectionName: tls}, "
                  "{name: tls-only, sectionName: http}]\n"
                  "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n");
    struct kgc_status_httproute d;
    compute(env, INFRA, "disallowed-kind", &d);
    assert_int_equal(d.n_parents, 2);
    for (uint32_t i = 0; i < 2; i++) {
        expect(&d.parents[i], KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_NOT_ALLOWED_BY_LISTENERS);
        expect(&d.parents[i], KGC_STATUS_RESOLVED_REFS, "True", KGC_STATUS_R_RESOLVED_REFS);
    }
    kgc_status_httproute_release(&d);
}

/* Hostname intersection rules, directly and through listeners. */
static void test_route_hostnames(void **state)
{
    struct fixture_env *env = *state;
    assert_true(kgc_status_hostnames_intersect(NULL, "a.example.com"));
    assert_true(kgc_status_hostnames_intersect("", "*.example.com"));
    assert_true(kgc_status_hostnames_intersect("a.example.com", "A.Example.com"));
    assert_false(kgc_status_hostnames_intersect("a.example.com", "b.example.com"));
    assert_true(kgc_status_hostnames_intersect("*.example.com", "a.example.com"));
    assert_true(kgc_status_hostnames_intersect("a.b.example.com", "*.example.com"));
    assert_false(kgc_status_hostnames_intersect("*.example.com", "example.com"));
    assert_false(kgc_status_hostnames_intersect("*.example.com", "aexample.com"));
    assert_true(kgc_status_hostnames_intersect("*.example.com", "*.foo.example.com"));
    assert_true(kgc_status_hostnames_intersect("*.example.com", "*.example.com"));
    assert_false(kgc_status_hostnames_intersect("*.example.com", "*.example.org"));

    add_yaml(env, "kind: HTTPRoute\nmetadata: {name: wild, namespace: " INFRA "}\n"
                  "spec:\n  parentRefs: [{name: same-namespace-with-https-listener}]\n"
                  "  hostnames: [foo.wildcard.org, nothing.example.net]\n"
                  "---\n"
                  "kind: HTTPRoute\nmetadata: {name: miss, namespace: " INFRA "}\n"
                  "spec:\n  parentRefs: [{name: same-namespace-with-https-listener, "
                  "sectionName: https-with-hostname}]\n"
                  "  hostnames: [other.example.com]\n"
                  "---\n"
                  "kind: HTTPRoute\nmetadata: {name: wild-route, namespace: " INFRA "}\n"
                  "spec:\n  parentRefs: [{name: same-namespace-with-https-listener, "
                  "sectionName: https-with-hostname-matching-wildcard}]\n"
                  "  hostnames: [\"*.wildcard.org\"]\n");
    struct kgc_status_httproute d;
    compute(env, INFRA, "wild", &d);
    expect(&d.parents[0], KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    assert_int_equal(d.parents[0].listeners, 1 | 4); /* https (any) and *.wildcard.org */
    kgc_status_httproute_release(&d);
    compute(env, INFRA, "miss", &d);
    expect(&d.parents[0], KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_NO_MATCHING_HOSTNAME);
    kgc_status_httproute_release(&d);
    compute(env, INFRA, "wild-route", &d);
    expect(&d.parents[0], KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    assert_int_equal(d.parents[0].listeners, 8);
    kgc_status_httproute_release(&d);
}

/* allowedRoutes Selector over Namespace labels, matchExpressions included. */
static void test_route_namespace_selector(void **state)
{
    struct fixture_env *env = *state;
    const struct kgc_api_kv labels[] = {{"env", "prod"}, {"tier", "web"}};
    struct kgc_api_selector_requirement req[4] = {
        {.key = "tier",
         .operator= "In",
         .values = (const char *const[]){"web", "api"},
         .n_values = 2},
        {.key = "env", .operator= "NotIn", .values = (const char *const[]){"dev"}, .n_values = 1},
        {.key = "env", .operator= "Exists" },
         {
             .key = "legacy",
             .operator= "DoesNotExist" },
        };
    struct kgc_api_label_selector sel = {.match_labels = labels,
                                         .n_match_labels = 1,
                                         .match_expressions = req,
                                         .n_match_expressions = 4};
    assert_true(kgc_status_selector_matches(&sel, labels, 2));
    assert_false(kgc_status_selector_matches(&sel, labels, 1)); /* no tier label */
    req[1].values = (const char *const[]){"prod"};
    assert_false(kgc_status_selector_matches(&sel, labels, 2));
    struct kgc_api_label_selector empty = {0};
    assert_true(kgc_status_selector_matches(&empty, NULL, 0));
    assert_false(kgc_status_selector_matches(NULL, labels, 2));
    req[0].operator= "Bogus";
    req[1].values = (const char *const[]){"dev"};
    assert_false(kgc_status_selector_matches(&sel, labels, 2));

    add_yaml(env, "kind: Namespace\nmetadata: {name: team-a, labels: {env: prod, tier: web}}\n"
                  "---\n"
                  "kind: Gateway\nmetadata: {name: selective, namespace: " INFRA "}\n"
                  "spec:\n  gatewayClassName: \"{GATEWAY_CLASS_NAME}\"\n  listeners:\n"
                  "  - name: http\n    port: 80\n    protocol: HTTP\n    allowedRoutes:\n"
                  "      namespaces:\n        from: Selector\n        selector:\n"
                  "          matchLabels: {env: prod}\n          matchExpressions:\n"
                  "          - {key: tier, operator: In, values: [web, api]}\n"
                  "          - {key: legacy, operator: DoesNotExist}\n"
                  "---\n"
                  "kind: Service\nmetadata: {name: svc, namespace: team-a}\n"
                  "spec: {ports: [{port: 8080}]}\n"
                  "---\n"
                  "kind: HTTPRoute\nmetadata: {name: r, namespace: team-a}\n"
                  "spec:\n  parentRefs: [{name: selective, namespace: " INFRA "}]\n"
                  "  rules: [{backendRefs: [{name: svc, port: 8080}]}]\n");
    struct kgc_status_httproute d;
    compute(env, "team-a", "r", &d);
    expect_accepted_resolved(&d.parents[0]);
    kgc_status_httproute_release(&d);
    /* from: All admits every namespace; from: Same (the default) only the Gateway's. */
    add_yaml(env, "kind: HTTPRoute\nmetadata: {name: r2, namespace: team-a}\n"
                  "spec:\n  parentRefs: [{name: all-namespaces, namespace: " INFRA "}, "
                  "{name: same-namespace, namespace: " INFRA "}]\n"
                  "  rules: [{backendRefs: [{name: svc, port: 8080}]}]\n");
    compute(env, "team-a", "r2", &d);
    expect_accepted_resolved(parent(&d, "all-namespaces", NULL));
    expect(parent(&d, "same-namespace", NULL), KGC_STATUS_ACCEPTED, "False",
           KGC_STATUS_R_NOT_ALLOWED_BY_LISTENERS);
    kgc_status_httproute_release(&d);
    json_object *ns = fixture_set_json(env->set, KGC_API_NAMESPACE, NULL, "team-a");
    json_object_object_add(fixture_json_path(ns, "metadata.labels"), "legacy",
                           json_object_new_string("yes"));
    fixture_set_update(env->set, KGC_API_NAMESPACE, NULL, "team-a", false);
    compute(env, "team-a", "r", &d);
    expect(&d.parents[0], KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_NOT_ALLOWED_BY_LISTENERS);
    kgc_status_httproute_release(&d);
}

/* ---- backend references --------------------------------------------------------------------- */

/* httproute-invalid-nonexistent-backendref: BackendNotFound, route still Accepted. */
static void test_route_nonexistent_backend(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-invalid-nonexistent-backendref.yaml");
    struct kgc_status_httproute d;
    compute(env, INFRA, "invalid-nonexistent-backend-ref", &d);
    const struct kgc_status_route_parent *p = parent(&d, "same-namespace", NULL);
    expect(p, KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect(p, KGC_STATUS_RESOLVED_REFS, "False", KGC_STATUS_R_BACKEND_NOT_FOUND);
    assert_int_equal(attached(env, "same-namespace", 0), 1);
    kgc_status_httproute_release(&d);

    /* A Service without the referenced port is not found either. */
    json_object *j =
        fixture_set_json(env->set, KGC_API_HTTPROUTE, INFRA, "invalid-nonexistent-backend-ref");
    json_object_object_add(fixture_json_path(j, "spec.rules.0.backendRefs.0"), "name",
                           json_object_new_string("infra-backend-v1"));
    json_object_object_add(fixture_json_path(j, "spec.rules.0.backendRefs.0"), "port",
                           json_object_new_int(9999));
    fixture_set_update(env->set, KGC_API_HTTPROUTE, INFRA, "invalid-nonexistent-backend-ref", true);
    compute(env, INFRA, "invalid-nonexistent-backend-ref", &d);
    expect(&d.parents[0], KGC_STATUS_RESOLVED_REFS, "False", KGC_STATUS_R_BACKEND_NOT_FOUND);
    assert_non_null(strstr(d.parents[0].conditions[1].message, "9999"));
    kgc_status_httproute_release(&d);
}

/* httproute-invalid-backendref-unknown-kind: InvalidKind. */
static void test_route_backend_unknown_kind(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-invalid-backendref-unknown-kind.yaml");
    struct kgc_status_httproute d;
    compute(env, INFRA, "invalid-backend-ref-unknown-kind", &d);
    expect(&d.parents[0], KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect(&d.parents[0], KGC_STATUS_RESOLVED_REFS, "False", KGC_STATUS_R_INVALID_KIND);
    kgc_status_httproute_release(&d);
}

/* httproute-invalid-cross-namespace-backend-ref and httproute-invalid-reference-grant. */
static void test_route_cross_namespace_backend_not_permitted(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-invalid-cross-namespace-backend-ref.yaml");
    load(env, "httproute-invalid-reference-grant.yaml");
    struct kgc_status_httproute d;
    compute(env, INFRA, "invalid-cross-namespace-backend-ref", &d);
    expect(&d.parents[0], KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect(&d.parents[0], KGC_STATUS_RESOLVED_REFS, "False", KGC_STATUS_R_REF_NOT_PERMITTED);
    kgc_status_httproute_release(&d);
    compute(env, INFRA, "reference-grant", &d); /* every grant is wrong in one way */
    expect(&d.parents[0], KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect(&d.parents[0], KGC_STATUS_RESOLVED_REFS, "False", KGC_STATUS_R_REF_NOT_PERMITTED);
    kgc_status_httproute_release(&d);
}

/* httproute-partially-invalid-via-invalid-reference-grant: Accepted, RefNotPermitted. */
static void test_route_partially_invalid_reference_grant(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-partially-invalid-via-invalid-reference-grant.yaml");
    struct kgc_status_httproute d;
    compute(env, INFRA, "invalid-reference-grant", &d);
    expect(&d.parents[0], KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect(&d.parents[0], KGC_STATUS_RESOLVED_REFS, "False", KGC_STATUS_R_REF_NOT_PERMITTED);
    assert_non_null(strstr(d.parents[0].conditions[1].message, "app-backend-v2"));
    kgc_status_httproute_release(&d);
}

/* httproute-reference-grant: ResolvedRefs True; deleting the grant → RefNotPermitted, and only
 * that condition's lastTransitionTime moves. */
static void test_route_reference_grant_then_revoked(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-reference-grant.yaml");
    struct kgc_status_httproute d;
    compute(env, INFRA, "reference-grant", &d);
    expect_accepted_resolved(&d.parents[0]);
    assert_true(write_status(env, &d));
    kgc_status_httproute_release(&d);

    assert_true(fixture_set_remove(env->set, KGC_API_REFERENCEGRANT, WEB, "reference-grant"));
    env->o.now = FIXTURE_LATER;
    compute(env, INFRA, "reference-grant", &d);
    expect(&d.parents[0], KGC_STATUS_RESOLVED_REFS, "False", KGC_STATUS_R_REF_NOT_PERMITTED);
    json_object *patch = NULL;
    assert_int_equal(kgc_status_httproute_patch(&d, NULL, &patch, NULL), 0);
    json_object *conds = fixture_json_path(patch, "status.parents.0.conditions");
    assert_string_equal(json_object_get_string(fixture_json_path(
                            fixture_json_cond(conds, "Accepted"), "lastTransitionTime")),
                        FIXTURE_NOW);
    assert_string_equal(json_object_get_string(fixture_json_path(
                            fixture_json_cond(conds, "ResolvedRefs"), "lastTransitionTime")),
                        FIXTURE_LATER);
    /* list order is kept: Accepted stays first */
    assert_string_equal(json_object_get_string(fixture_json_path(conds, "0.type")), "Accepted");
    json_object_put(patch);
    kgc_status_httproute_release(&d);
}

/* ---- ownership and other controllers -------------------------------------------------------- */

/* Parents that are not Gateways of kgc's classes get no entry (and no write). */
static void test_route_parent_not_ours_gets_no_entry(void **state)
{
    struct fixture_env *env = *state;
    add_yaml(env, "kind: GatewayClass\nmetadata: {name: other}\n"
                  "spec: {controllerName: example.net/other}\n---\n"
                  "kind: Gateway\nmetadata: {name: theirs, namespace: " INFRA "}\n"
                  "spec: {gatewayClassName: other, listeners: [{name: http, port: 80, "
                  "protocol: HTTP}]}\n---\n"
                  "kind: HTTPRoute\nmetadata: {name: strangers, namespace: " INFRA "}\n"
                  "spec:\n  parentRefs:\n  - {name: does-not-exist}\n  - {name: theirs}\n"
                  "  - {group: \"\", kind: Service, name: infra-backend-v1}\n"
                  "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n");
    struct kgc_status_httproute d;
    compute(env, INFRA, "strangers", &d);
    assert_int_equal(d.n_parents, 0);
    assert_false(write_status(env, &d));
    kgc_status_httproute_release(&d);
}

/* Other controllers' entries are kept untouched (and in place); stale entries of kgc's go. */
static void test_route_other_controllers_parents_preserved(void **state)
{
    struct fixture_env *env = *state;
    add_yaml(env,
             "kind: HTTPRoute\nmetadata: {name: shared, namespace: " INFRA "}\n"
             "spec:\n  parentRefs: [{name: same-namespace}, {name: elsewhere}]\n"
             "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n"
             "status:\n  parents:\n"
             "  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: elsewhere}\n"
             "    controllerName: example.net/other\n"
             "    conditions:\n"
             "    - {type: Accepted, status: \"True\", reason: Accepted, message: theirs, "
             "lastTransitionTime: \"2020-01-01T00:00:00Z\", observedGeneration: 1}\n"
             "  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: gone}\n"
             "    controllerName: \"{GATEWAY_CONTROLLER_NAME}\"\n"
             "    conditions:\n"
             "    - {type: Accepted, status: \"True\", reason: Accepted, message: stale, "
             "lastTransitionTime: \"2020-01-01T00:00:00Z\", observedGeneration: 1}\n"
             "  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: "
             "same-namespace}\n"
             "    controllerName: \"{GATEWAY_CONTROLLER_NAME}\"\n"
             "    conditions:\n"
             "    - {type: example.net/Custom, status: \"True\", reason: Custom, message: "
             "foreign, lastTransitionTime: \"2020-01-01T00:00:00Z\"}\n"
             "    - {type: Accepted, status: \"True\", reason: Accepted, message: old, "
             "lastTransitionTime: \"2021-01-01T00:00:00Z\", observedGeneration: 1}\n"
             "    - {type: PartiallyInvalid, status: \"True\", reason: UnsupportedValue, "
             "message: \"Dropped Rule 1\", lastTransitionTime: \"2021-01-01T00:00:00Z\", "
             "observedGeneration: 1}\n");
    struct kgc_status_httproute d;
    compute(env, INFRA, "shared", &d);
    assert_int_equal(d.n_parents, 1); /* "elsewhere" does not exist: no entry of ours */
    json_object *patch = NULL;
    assert_int_equal(kgc_status_httproute_patch(&d, NULL, &patch, NULL), 0);
    assert_non_null(patch);
    json_object *parents = fixture_json_path(patch, "status.parents");
    assert_int_equal(json_object_array_length(parents), 2);
    /* [0] the other controller's, exactly as it was */
    json_object *theirs = json_object_array_get_idx(parents, 0);
    assert_string_equal(json_object_get_string(fixture_json_path(theirs, "controllerName")),
                        "example.net/other");
    json_object *tc = fixture_json_path(theirs, "conditions.0");
    assert_string_equal(json_object_get_string(fixture_json_path(tc, "message")), "theirs");
    assert_string_equal(json_object_get_string(fixture_json_path(tc, "lastTransitionTime")),
                        "2020-01-01T00:00:00Z");
    /* [1] ours: the foreign condition type kept first, Accepted kept its time, PartiallyInvalid
     * (kgc's own type, no longer true) removed */
    json_object *ours = json_object_array_get_idx(parents, 1);
    assert_string_equal(json_object_get_string(fixture_json_path(ours, "parentRef.name")),
                        "same-namespace");
    json_object *oc = fixture_json_path(ours, "conditions");
    assert_int_equal(json_object_array_length(oc), 3);
    assert_string_equal(json_object_get_string(fixture_json_path(oc, "0.type")),
                        "example.net/Custom");
    assert_string_equal(json_object_get_string(fixture_json_path(oc, "1.type")), "Accepted");
    assert_string_equal(json_object_get_string(fixture_json_path(oc, "1.lastTransitionTime")),
                        "2021-01-01T00:00:00Z");
    assert_string_equal(json_object_get_string(fixture_json_path(oc, "2.type")), "ResolvedRefs");
    assert_null(fixture_json_cond(oc, "PartiallyInvalid"));
    assert_non_null(fixture_set_patch_status(env->set, KGC_API_HTTPROUTE, INFRA, "shared", patch));
    json_object_put(patch);
    kgc_status_httproute_release(&d);
    compute(env, INFRA, "shared", &d);
    assert_false(write_status(env, &d));
    kgc_status_httproute_release(&d);
}

/* ---- the translator hook -------------------------------------------------------------------- */

static void reject_route(void *ctx, const struct kgc_api_httproute *r,
                         struct kgc_status_route_verdict *v)
{
    (void)r;
    if (strcmp((const char *)ctx, "reject") == 0) {
        v->accepted_reason = KGC_STATUS_R_UNSUPPORTED_VALUE;
        snprintf(v->accepted_message, sizeof(v->accepted_message), "filter CORS not supported");
    } else {
        snprintf(v->partially_invalid, sizeof(v->partially_invalid),
                 "Dropped Rule 1: filter CORS not supported");
    }
}

static void test_route_translator_verdict(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-simple-same-namespace.yaml");
    env->o.route_verdict = reject_route;
    env->o.route_verdict_ctx = "partial";
    struct kgc_status_httproute d;
    compute(env, INFRA, "gateway-conformance-infra-test", &d);
    expect(&d.parents[0], KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect(&d.parents[0], KGC_STATUS_PARTIALLY_INVALID, "True", KGC_STATUS_R_UNSUPPORTED_VALUE);
    assert_true(write_status(env, &d));
    kgc_status_httproute_release(&d);
    assert_int_equal(attached(env, "same-namespace", 0), 1);

    env->o.route_verdict_ctx = "reject";
    compute(env, INFRA, "gateway-conformance-infra-test", &d);
    expect(&d.parents[0], KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_UNSUPPORTED_VALUE);
    assert_null(fixture_cond(d.parents[0].conditions, d.parents[0].n_conditions,
                             KGC_STATUS_PARTIALLY_INVALID));
    json_object *patch = NULL;
    assert_int_equal(kgc_status_httproute_patch(&d, NULL, &patch, NULL), 0);
    assert_null(fixture_json_cond(fixture_json_path(patch, "status.parents.0.conditions"),
                                  "PartiallyInvalid"));
    json_object_put(patch);
    kgc_status_httproute_release(&d);
    assert_int_equal(attached(env, "same-namespace", 0), 0);
    struct kgc_status_attachment *a = NULL;
    size_t n = 0;
    assert_int_equal(
        kgc_status_httproute_attachments(
            &env->o, &env->lk, route(env, INFRA, "gateway-conformance-infra-test"), &a, &n, NULL),
        0);
    assert_int_equal(n, 0);
}

static void pending_verdict(void *ctx, const struct kgc_api_httproute *r,
                            struct kgc_status_route_verdict *v)
{
    (void)ctx;
    (void)r;
    v->pending = true; /* the translator has not judged this version yet */
}

/* Until the translator judged a route's version its status is not written (verdict_pending), and
 * for attachedRoutes the Accepted=False/UnsupportedValue the route already carries at this
 * generation stands (a kgc restart must not count a rejected route for a moment). */
static void test_route_verdict_pending(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-simple-same-namespace.yaml");
    env->o.route_verdict = reject_route;
    env->o.route_verdict_ctx = "reject";
    struct kgc_status_httproute d;
    compute(env, INFRA, "gateway-conformance-infra-test", &d);
    assert_false(d.verdict_pending);
    assert_true(write_status(env, &d)); /* Accepted=False/UnsupportedValue at generation 1 */
    kgc_status_httproute_release(&d);
    assert_int_equal(attached(env, "same-namespace", 0), 0);

    env->o.route_verdict = pending_verdict;
    compute(env, INFRA, "gateway-conformance-infra-test", &d);
    assert_true(d.verdict_pending);
    kgc_status_httproute_release(&d);
    assert_int_equal(attached(env, "same-namespace", 0), 0); /* the written verdict stands */

    /* a new generation: the old verdict does not judge it */
    assert_non_null(fixture_set_update(env->set, KGC_API_HTTPROUTE, INFRA,
                                       "gateway-conformance-infra-test", true));
    assert_int_equal(attached(env, "same-namespace", 0), 1);
    env->o.route_verdict = NULL;
    compute(env, INFRA, "gateway-conformance-infra-test", &d);
    assert_false(d.verdict_pending); /* no hook: nothing pending */
    kgc_status_httproute_release(&d);
}

/* The attachments the translator reads: every (Gateway, listener) pair, in order. */
static void test_route_attachments(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-multiple-gateways.yaml");
    struct kgc_status_attachment *a = NULL;
    size_t n = 0;
    assert_int_equal(
        kgc_status_httproute_attachments(
            &env->o, &env->lk, route(env, INFRA, "multiple-gateways-shared-route"), &a, &n, NULL),
        0);
    assert_int_equal(n, 2);
    assert_string_equal(a[0].gateway_name, "same-namespace");
    assert_string_equal(a[0].listener_name, "http");
    assert_int_equal(a[0].parent_index, 0);
    assert_string_equal(a[1].gateway_name, "all-namespaces");
    assert_int_equal(a[1].parent_index, 1);
    free(a);
    /* Kong being down does not change what a route attaches to. */
    fixture_env_view(env, KGC_LISTENERCACHE_NONE, "down");
    assert_int_equal(
        kgc_status_httproute_attachments(
            &env->o, &env->lk, route(env, INFRA, "multiple-gateways-shared-route"), &a, &n, NULL),
        0);
    assert_int_equal(n, 2);
    free(a);
}

static void limited_route(void *ctx, const struct kgc_api_httproute *r,
                          struct kgc_status_route_verdict *v)
{
    (void)r;
    if (strcmp((const char *)ctx, "limited") == 0)
        snprintf(v->kong_limitation, sizeof(v->kong_limitation),
                 "Rule 1: matches[0]: relative Location");
}

/* konghq.com/KongLimitation: set from the verdict on accepted parents, removed once the verdict
 * has nothing to say. */
static void test_route_kong_limitation(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-simple-same-namespace.yaml");
    env->o.route_verdict = limited_route;
    env->o.route_verdict_ctx = "limited";
    struct kgc_status_httproute d;
    compute(env, INFRA, "gateway-conformance-infra-test", &d);
    expect(&d.parents[0], KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect(&d.parents[0], KGC_STATUS_KONG_LIMITATION, "True", KGC_STATUS_R_KONG_LIMITATION);
    assert_null(fixture_cond(d.parents[0].conditions, d.parents[0].n_conditions,
                             KGC_STATUS_PARTIALLY_INVALID));
    const struct kgc_status_condition *c = fixture_cond(
        d.parents[0].conditions, d.parents[0].n_conditions, KGC_STATUS_KONG_LIMITATION);
    assert_string_equal(c->message, "Rule 1: matches[0]: relative Location");
    assert_true(write_status(env, &d));
    kgc_status_httproute_release(&d);

    env->o.route_verdict_ctx = "fine";
    compute(env, INFRA, "gateway-conformance-infra-test", &d);
    assert_null(fixture_cond(d.parents[0].conditions, d.parents[0].n_conditions,
                             KGC_STATUS_KONG_LIMITATION));
    json_object *patch = NULL;
    assert_int_equal(kgc_status_httproute_patch(&d, NULL, &patch, NULL), 0);
    assert_null(fixture_json_cond(fixture_json_path(patch, "status.parents.0.conditions"),
                                  KGC_STATUS_KONG_LIMITATION));
    json_object_put(patch);
    kgc_status_httproute_release(&d);
}

/* ---- GRPCRoute (the same status code: kgc/api.h) ------------------------------------------ */

/* grpcroute-exact-method-matching and grpcroute-listener-hostname-matching: accepted on the
 * listeners they name, counted in attachedRoutes with the HTTPRoutes. */
static void test_grpcroute_conformance(void **state)
{
    struct fixture_env *env = *state;
    load(env, "grpcroute-exact-method-matching.yaml");
    load(env, "grpcroute-listener-hostname-matching.yaml");
    struct kgc_status_httproute d;
    gcompute(env, INFRA, "exact-matching", &d);
    assert_int_equal(d.n_parents, 1);
    expect_accepted_resolved(&d.parents[0]);
    assert_true(write_status(env, &d));
    kgc_status_httproute_release(&d);
    assert_int_equal(attached(env, "same-namespace", 0), 1);
    load(env, "httproute-simple-same-namespace.yaml");       /* no hostname: shares one */
    assert_int_equal(attached(env, "same-namespace", 0), 1); /* one of the two only */

    gcompute(env, INFRA, "backend-v3", &d);
    assert_int_equal(d.n_parents, 2);
    expect_accepted_resolved(parent(&d, "grpcroute-listener-hostname-matching", "listener-3"));
    expect_accepted_resolved(parent(&d, "grpcroute-listener-hostname-matching", "listener-4"));
    kgc_status_httproute_release(&d);
    for (uint32_t l = 0; l < 4; l++)
        assert_int_equal(attached(env, "grpcroute-listener-hostname-matching", l), 1);
}

/* A listener whose allowedRoutes.kinds names HTTPRoute only refuses a GRPCRoute; a grant from
 * HTTPRoutes does not cover a GRPCRoute's backend. */
static void test_grpcroute_kinds_and_grants(void **state)
{
    struct fixture_env *env = *state;
    add_yaml(env,
             "kind: Gateway\nmetadata: {name: http-only, namespace: " INFRA "}\n"
             "spec:\n  gatewayClassName: \"{GATEWAY_CLASS_NAME}\"\n  listeners:\n"
             "  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {kinds: "
             "[{kind: HTTPRoute}]}}\n---\n"
             "kind: GRPCRoute\nmetadata: {name: g, namespace: " INFRA "}\n"
             "spec:\n  parentRefs: [{name: http-only}, {name: same-namespace}]\n"
             "  rules: [{backendRefs: [{name: web-backend, namespace: " WEB ", port: 8080}]}]\n"
             "---\nkind: ReferenceGrant\nmetadata: {name: http-only, namespace: " WEB "}\n"
             "spec:\n  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, "
             "namespace: " INFRA "}]\n  to: [{group: \"\", kind: Service}]\n");
    struct kgc_status_httproute d;
    gcompute(env, INFRA, "g", &d);
    assert_int_equal(d.n_parents, 2);
    const struct kgc_status_route_parent *p = parent(&d, "http-only", NULL);
    expect(p, KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_NOT_ALLOWED_BY_LISTENERS);
    assert_non_null(strstr(p->conditions[0].message, "a GRPCRoute"));
    expect(parent(&d, "same-namespace", NULL), KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect(p, KGC_STATUS_RESOLVED_REFS, "False", KGC_STATUS_R_REF_NOT_PERMITTED);
    kgc_status_httproute_release(&d);
    add_yaml(env, "kind: ReferenceGrant\nmetadata: {name: grpc, namespace: " WEB "}\n"
                  "spec:\n  from: [{group: gateway.networking.k8s.io, kind: GRPCRoute, "
                  "namespace: " INFRA "}]\n  to: [{group: \"\", kind: Service}]\n");
    gcompute(env, INFRA, "g", &d);
    expect(parent(&d, "same-namespace", NULL), KGC_STATUS_RESOLVED_REFS, "True",
           KGC_STATUS_R_RESOLVED_REFS);
    kgc_status_httproute_release(&d);
}

/* GRPCRoute's rule: an HTTPRoute and a GRPCRoute sharing a hostname on a listener — only the
 * older (then the first by namespace/name) is accepted there; disjoint hostnames: both. */
static void test_grpcroute_httproute_same_hostname(void **state)
{
    struct fixture_env *env = *state;
    add_yaml(env, "kind: Gateway\nmetadata: {name: mixed, namespace: " INFRA "}\n"
                  "spec:\n  gatewayClassName: \"{GATEWAY_CLASS_NAME}\"\n  listeners:\n"
                  "  - {name: a, port: 80, protocol: HTTP, hostname: a.example.com}\n"
                  "  - {name: wild, port: 80, protocol: HTTP, hostname: \"*.example.com\"}\n"
                  "---\nkind: HTTPRoute\nmetadata: {name: h, namespace: " INFRA ", "
                  "creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
                  "spec:\n  parentRefs: [{name: mixed}]\n  hostnames: [a.example.com]\n"
                  "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n---\n"
                  "kind: GRPCRoute\nmetadata: {name: g, namespace: " INFRA ", "
                  "creationTimestamp: \"2026-01-01T00:00:01Z\"}\n"
                  "spec:\n  parentRefs: [{name: mixed}]\n"
                  "  rules: [{backendRefs: [{name: grpc-infra-backend-v1, port: 8080}]}]\n");
    /* the HTTPRoute is older: it keeps a.example.com on both listeners; the GRPCRoute (no
     * hostnames) shares a.example.com with it on "a" and on "wild" (*.example.com covers it) */
    struct kgc_status_httproute d;
    compute(env, INFRA, "h", &d);
    expect_accepted_resolved(&d.parents[0]);
    assert_int_equal(d.parents[0].listeners, 3);
    kgc_status_httproute_release(&d);
    gcompute(env, INFRA, "g", &d);
    expect(&d.parents[0], KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_NOT_ALLOWED_BY_LISTENERS);
    assert_non_null(strstr(d.parents[0].conditions[0].message, "HTTPRoute " INFRA "/h"));
    kgc_status_httproute_release(&d);
    assert_int_equal(attached(env, "mixed", 0), 1);
    assert_int_equal(attached(env, "mixed", 1), 1);

    /* disjoint hostnames: the GRPCRoute takes b.example.com through the wildcard listener */
    add_yaml(env, "kind: GRPCRoute\nmetadata: {name: g, namespace: " INFRA ", "
                  "creationTimestamp: \"2026-01-01T00:00:01Z\", generation: 2}\n"
                  "spec:\n  parentRefs: [{name: mixed}]\n  hostnames: [b.example.com]\n"
                  "  rules: [{backendRefs: [{name: grpc-infra-backend-v1, port: 8080}]}]\n");
    gcompute(env, INFRA, "g", &d);
    expect_accepted_resolved(&d.parents[0]);
    assert_int_equal(d.parents[0].listeners, 2); /* "wild" only */
    kgc_status_httproute_release(&d);
    assert_int_equal(attached(env, "mixed", 1), 2);

    /* the GRPCRoute older: it wins, the HTTPRoute is refused where they share a.example.com
     * (both listeners give it a.example.com) */
    add_yaml(env, "kind: GRPCRoute\nmetadata: {name: g, namespace: " INFRA ", "
                  "creationTimestamp: \"2025-01-01T00:00:00Z\", generation: 3}\n"
                  "spec:\n  parentRefs: [{name: mixed}]\n"
                  "  rules: [{backendRefs: [{name: grpc-infra-backend-v1, port: 8080}]}]\n");
    compute(env, INFRA, "h", &d);
    expect(&d.parents[0], KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_NOT_ALLOWED_BY_LISTENERS);
    kgc_status_httproute_release(&d);
    gcompute(env, INFRA, "g", &d);
    expect_accepted_resolved(&d.parents[0]);
    kgc_status_httproute_release(&d);

    /* same creationTimestamp: the first by namespace/name (".../g" before ".../h") */
    add_yaml(env, "kind: GRPCRoute\nmetadata: {name: g, namespace: " INFRA ", "
                  "creationTimestamp: \"2026-01-01T00:00:00Z\", generation: 4}\n"
                  "spec:\n  parentRefs: [{name: mixed}]\n"
                  "  rules: [{backendRefs: [{name: grpc-infra-backend-v1, port: 8080}]}]\n");
    compute(env, INFRA, "h", &d);
    expect(&d.parents[0], KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_NOT_ALLOWED_BY_LISTENERS);
    kgc_status_httproute_release(&d);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        T(test_route_simple_same_namespace),
        T(test_route_cross_namespace),
        T(test_route_multiple_gateways),
        T(test_route_https_listener),
        T(test_route_observed_generation_bump),
        T(test_route_invalid_cross_namespace_parent_ref),
        T(test_route_no_matching_parent),
        T(test_route_kind_not_allowed),
        T(test_route_hostnames),
        T(test_route_namespace_selector),
        T(test_route_nonexistent_backend),
        T(test_route_backend_unknown_kind),
        T(test_route_cross_namespace_backend_not_permitted),
        T(test_route_partially_invalid_reference_grant),
        T(test_route_kong_limitation),
        T(test_route_reference_grant_then_revoked),
        T(test_route_parent_not_ours_gets_no_entry),
        T(test_route_other_controllers_parents_preserved),
        T(test_route_translator_verdict),
        T(test_route_verdict_pending),
        T(test_route_attachments),
        T(test_grpcroute_conformance),
        T(test_grpcroute_kinds_and_grants),
        T(test_grpcroute_httproute_same_hostname),
    };
#undef T
    return cmocka_run_group_tests_name("status_route", tests, NULL, NULL);
}

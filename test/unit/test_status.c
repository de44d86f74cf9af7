/* status: GatewayClass and Gateway status from the Gateway API conformance manifests, the Kong
 * listener view (LIVE / CACHED / NONE) and the publish Service, written as merge patches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture_yaml.h"
#include "kgc/status.h"

#include <stdio.h>
#include <string.h>

#define INFRA "gateway-conformance-infra"

/* ---- helpers -------------------------------------------------------------------------------- */

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

static void expect_cond(const struct kgc_status_condition *list, uint32_t n, const char *type,
                        const char *status, const char *reason)
{
    const struct kgc_status_condition *c = fixture_cond(list, n, type);
    if (!c) {
        fail_msg("no %s condition", type);
        return;
    }
    if (strcmp(c->status, status) != 0 || strcmp(c->reason, reason) != 0)
        fail_msg("%s: want %s/%s, got %s/%s (%s)", type, status, reason, c->status, c->reason,
                 c->message);
}

static void expect_listener(const struct kgc_status_gateway *g, const char *name, const char *type,
                            const char *status, const char *reason)
{
    const struct kgc_status_listener *l = fixture_listener(g, name);
    if (!l) {
        fail_msg("no listener %s", name);
        return;
    }
    expect_cond(l->conditions, l->n_conditions, type, status, reason);
}

static const struct kgc_api_gateway *gateway(struct fixture_env *env, const char *name)
{
    const struct kgc_api_gateway *gw =
        kgc_api_as_gateway(fixture_set_find(env->set, KGC_API_GATEWAY, INFRA, name));
    if (!gw)
        fail_msg("no Gateway %s/%s", INFRA, name);
    return gw;
}

static void compute(struct fixture_env *env, const char *name, struct kgc_status_gateway *out)
{
    struct kgc_err err = {0};
    if (kgc_status_gateway_compute(&env->o, &env->lk, gateway(env, name), out, &err) != 0)
        fail_msg("compute %s: %s", name, err.msg);
    assert_true(out->owned);
}

/* Writes d like the reconciler would; returns whether there was anything to write. */
static bool write_status(struct fixture_env *env, const struct kgc_status_gateway *d)
{
    json_object *patch = NULL;
    struct kgc_err err = {0};
    assert_int_equal(kgc_status_gateway_patch(d, NULL, &patch, &err), 0);
    if (!patch)
        return false;
    const struct kgc_api_obj *obj = fixture_set_patch_status(
        env->set, KGC_API_GATEWAY, d->gw->obj.meta.namespace, d->gw->obj.meta.name, patch);
    json_object_put(patch);
    assert_non_null(obj);
    return true;
}

/* The listener's supportedKinds: kind, and for an HTTPRoute one GRPCRoute after it (HTTP and
 * HTTPS listeners carry both unless allowedRoutes.kinds narrows them). */
static void expect_kinds(const struct kgc_status_listener *l, const char *kind)
{
    if (!kind) {
        assert_int_equal(l->n_supported_kinds, 0);
        return;
    }
    bool http = strcmp(kind, "HTTPRoute") == 0;
    assert_int_equal(l->n_supported_kinds, http ? 2 : 1);
    assert_string_equal(l->supported_kinds[0].group, KGC_STATUS_GROUP);
    assert_string_equal(l->supported_kinds[0].kind, kind);
    if (http) {
        assert_string_equal(l->supported_kinds[1].group, KGC_STATUS_GROUP);
        assert_string_equal(l->supported_kinds[1].kind, "GRPCRoute");
    }
}

/* ---- GatewayClass --------------------------------------------------------------------------- */

static void test_gatewayclass_accepted_only_when_owned(void **state)
{
    struct fixture_env *env = *state;
    add_yaml(env, "kind: GatewayClass\nmetadata: {name: other}\n"
                  "spec: {controllerName: example.net/other-controller}\n");
    struct kgc_status_gatewayclass d;
    struct kgc_err err = {0};
    const struct kgc_api_gatewayclass *mine = kgc_api_as_gatewayclass(
        fixture_set_find(env->set, KGC_API_GATEWAYCLASS, NULL, FIXTURE_CLASS_NAME));
    assert_int_equal(kgc_status_gatewayclass_compute(&env->o, &env->lk, mine, &d, &err), 0);
    assert_true(d.owned);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    kgc_status_gatewayclass_release(&d);

    const struct kgc_api_gatewayclass *other =
        kgc_api_as_gatewayclass(fixture_set_find(env->set, KGC_API_GATEWAYCLASS, NULL, "other"));
    assert_int_equal(kgc_status_gatewayclass_compute(&env->o, &env->lk, other, &d, &err), 0);
    assert_false(d.owned);
    json_object *patch = (json_object *)1;
    assert_int_equal(kgc_status_gatewayclass_patch(&d, NULL, &patch, &err), 0);
    assert_null(patch); /* another controller's class: never written */
    kgc_status_gatewayclass_release(&d);

    /* A configured controller name takes over. */
    env->o.controller_name = "example.net/other-controller";
    assert_int_equal(kgc_status_gatewayclass_compute(&env->o, &env->lk, other, &d, &err), 0);
    assert_true(d.owned);
    kgc_status_gatewayclass_release(&d);
}

static void test_gatewayclass_parameters_ref_is_invalid_parameters(void **state)
{
    struct fixture_env *env = *state;
    add_yaml(env, "kind: GatewayClass\nmetadata: {name: with-params}\n"
                  "spec:\n  controllerName: \"{GATEWAY_CONTROLLER_NAME}\"\n"
                  "  parametersRef: {group: \"\", kind: ConfigMap, name: cfg, namespace: kong}\n");
    struct kgc_status_gatewayclass d;
    const struct kgc_api_gatewayclass *gc = kgc_api_as_gatewayclass(
        fixture_set_find(env->set, KGC_API_GATEWAYCLASS, NULL, "with-params"));
    assert_int_equal(kgc_status_gatewayclass_compute(&env->o, &env->lk, gc, &d, NULL), 0);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "False",
                KGC_STATUS_R_INVALID_PARAMETERS);
    assert_non_null(strstr(d.conditions[0].message, "ConfigMap"));
    kgc_status_gatewayclass_release(&d);

    /* A Gateway of a class that is not accepted is not accepted either. */
    add_yaml(env, "kind: Gateway\nmetadata: {name: gw, namespace: gateway-conformance-infra}\n"
                  "spec:\n  gatewayClassName: with-params\n"
                  "  listeners: [{name: http, port: 80, protocol: HTTP}]\n");
    struct kgc_status_gateway g;
    compute(env, "gw", &g);
    expect_cond(g.conditions, g.n_conditions, KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_INVALID);
    expect_cond(g.conditions, g.n_conditions, KGC_STATUS_PROGRAMMED, "False", KGC_STATUS_R_INVALID);
    expect_listener(&g, "http", KGC_STATUS_PROGRAMMED, "False", KGC_STATUS_R_INVALID);
    kgc_status_gateway_release(&g);
}

/* gatewayclass-observed-generation-bump: Accepted present; observedGeneration follows a spec
 * edit, lastTransitionTime does not move while the status holds. */
static void test_gatewayclass_observed_generation_bump(void **state)
{
    struct fixture_env *env = *state;
    load(env, "gatewayclass-observed-generation-bump.yaml");
    const char *name = "gatewayclass-observed-generation-bump";
    struct kgc_status_gatewayclass d;
    struct kgc_err err = {0};
    const struct kgc_api_gatewayclass *gc =
        kgc_api_as_gatewayclass(fixture_set_find(env->set, KGC_API_GATEWAYCLASS, NULL, name));
    assert_int_equal(kgc_status_gatewayclass_compute(&env->o, &env->lk, gc, &d, &err), 0);
    json_object *patch = NULL;
    assert_int_equal(kgc_status_gatewayclass_patch(&d, NULL, &patch, &err), 0);
    assert_non_null(patch);
    json_object *c = fixture_json_cond(fixture_json_path(patch, "status.conditions"), "Accepted");
    assert_non_null(c);
    assert_int_equal(json_object_get_int64(fixture_json_path(c, "observedGeneration")), 1);
    assert_non_null(fixture_set_patch_status(env->set, KGC_API_GATEWAYCLASS, NULL, name, patch));
    json_object_put(patch);
    kgc_status_gatewayclass_release(&d);

    /* spec.description edited: generation 2. */
    json_object *j = fixture_set_json(env->set, KGC_API_GATEWAYCLASS, NULL, name);
    json_object_object_add(fixture_json_path(j, "spec"), "description",
                           json_object_new_string("new"));
    gc = kgc_api_as_gatewayclass(
        fixture_set_update(env->set, KGC_API_GATEWAYCLASS, NULL, name, true));
    assert_int_equal(gc->obj.meta.generation, 2);
    env->o.now = FIXTURE_LATER;
    assert_int_equal(kgc_status_gatewayclass_compute(&env->o, &env->lk, gc, &d, &err), 0);
    assert_int_equal(kgc_status_gatewayclass_patch(&d, NULL, &patch, &err), 0);
    assert_non_null(patch);
    c = fixture_json_cond(fixture_json_path(patch, "status.conditions"), "Accepted");
    assert_int_equal(json_object_get_int64(fixture_json_path(c, "observedGeneration")), 2);
    assert_string_equal(json_object_get_string(fixture_json_path(c, "lastTransitionTime")),
                        FIXTURE_NOW);
    gc = kgc_api_as_gatewayclass(
        fixture_set_patch_status(env->set, KGC_API_GATEWAYCLASS, NULL, name, patch));
    json_object_put(patch);
    kgc_status_gatewayclass_release(&d);

    /* Nothing changed since: no write. */
    assert_int_equal(kgc_status_gatewayclass_compute(&env->o, &env->lk, gc, &d, &err), 0);
    assert_int_equal(kgc_status_gatewayclass_patch(&d, NULL, &patch, &err), 0);
    assert_null(patch);
    kgc_status_gatewayclass_release(&d);
}

/* ---- Gateway: conformance manifests -------------------------------------------------------- */

/* gateway-observed-generation-bump: Accepted/Programmed True; adding a listener bumps the
 * generation and every condition follows it. */
static void test_gateway_observed_generation_bump(void **state)
{
    struct fixture_env *env = *state;
    load(env, "gateway-observed-generation-bump.yaml");
    const char *name = "gateway-observed-generation-bump";
    struct kgc_status_gateway d;
    compute(env, name, &d);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_PROGRAMMED, "True",
                KGC_STATUS_R_PROGRAMMED);
    assert_int_equal(d.n_listeners, 1);
    expect_listener(&d, "http", KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect_listener(&d, "http", KGC_STATUS_PROGRAMMED, "True", KGC_STATUS_R_PROGRAMMED);
    expect_listener(&d, "http", KGC_STATUS_RESOLVED_REFS, "True", KGC_STATUS_R_RESOLVED_REFS);
    expect_listener(&d, "http", KGC_STATUS_CONFLICTED, "False", KGC_STATUS_R_NO_CONFLICTS);
    assert_int_equal(d.listeners[0].kong_port, 8000); /* port 80 → targetPort 8000 */
    assert_false(d.needs_retry);
    assert_true(write_status(env, &d));
    kgc_status_gateway_release(&d);

    json_object *j = fixture_set_json(env->set, KGC_API_GATEWAY, INFRA, name);
    json_object_array_add(fixture_json_path(j, "spec.listeners"),
                          json_tokener_parse("{\"name\":\"alternate\",\"hostname\":\"foo.com\","
                                             "\"port\":80,\"protocol\":\"HTTP\"}"));
    assert_non_null(fixture_set_update(env->set, KGC_API_GATEWAY, INFRA, name, true));
    env->o.now = FIXTURE_LATER;
    compute(env, name, &d);
    assert_int_equal(d.generation, 2);
    assert_int_equal(d.n_listeners, 2);
    json_object *patch = NULL;
    assert_int_equal(kgc_status_gateway_patch(&d, NULL, &patch, NULL), 0);
    assert_non_null(patch);
    json_object *conds = fixture_json_path(patch, "status.conditions");
    for (size_t i = 0; i < json_object_array_length(conds); i++) {
        json_object *c = json_object_array_get_idx(conds, i);
        assert_int_equal(json_object_get_int64(fixture_json_path(c, "observedGeneration")), 2);
        /* still True: the transition time stays */
        assert_string_equal(json_object_get_string(fixture_json_path(c, "lastTransitionTime")),
                            FIXTURE_NOW);
    }
    json_object *ls = fixture_json_path(patch, "status.listeners");
    assert_int_equal(json_object_array_length(ls), 2);
    json_object *alt = fixture_json_path(ls, "1.conditions");
    assert_string_equal(json_object_get_string(fixture_json_path(fixture_json_cond(alt, "Accepted"),
                                                                 "lastTransitionTime")),
                        FIXTURE_LATER);
    assert_int_equal(json_object_get_int64(fixture_json_path(fixture_json_cond(alt, "Accepted"),
                                                             "observedGeneration")),
                     2);
    json_object_put(patch);
    assert_true(write_status(env, &d));
    kgc_status_gateway_release(&d);
    compute(env, name, &d);
    assert_false(write_status(env, &d)); /* unchanged → no write */
    kgc_status_gateway_release(&d);
}

/* gateway-invalid-route-kind */
static void test_gateway_invalid_route_kind(void **state)
{
    struct fixture_env *env = *state;
    load(env, "gateway-invalid-route-kind.yaml");
    struct kgc_status_gateway d;
    compute(env, "gateway-only-invalid-route-kind", &d);
    const struct kgc_status_listener *l = fixture_listener(&d, "http");
    expect_kinds(l, NULL);
    expect_listener(&d, "http", KGC_STATUS_RESOLVED_REFS, "False",
                    KGC_STATUS_R_INVALID_ROUTE_KINDS);
    expect_listener(&d, "http", KGC_STATUS_PROGRAMMED, "False", KGC_STATUS_R_INVALID);
    assert_int_equal(l->attached_routes, 0);
    kgc_status_gateway_release(&d);

    compute(env, "gateway-supported-and-invalid-route-kind", &d);
    l = fixture_listener(&d, "http");
    /* allowedRoutes.kinds [HTTPRoute, InvalidRoute]: HTTPRoute alone (GRPCRoute not asked for) */
    assert_int_equal(l->n_supported_kinds, 1);
    assert_string_equal(l->supported_kinds[0].kind, "HTTPRoute");
    expect_listener(&d, "http", KGC_STATUS_RESOLVED_REFS, "False",
                    KGC_STATUS_R_INVALID_ROUTE_KINDS);
    assert_non_null(strstr(l->conditions[2].message, "InvalidRoute"));
    assert_int_equal(l->attached_routes, 0);
    kgc_status_gateway_release(&d);
}

/* gateway-invalid-tls-configuration: missing Secret, wrong group, wrong kind, junk data. */
static void test_gateway_invalid_tls_configuration(void **state)
{
    struct fixture_env *env = *state;
    load(env, "gateway-invalid-tls-configuration.yaml");
    static const char *const names[] = {
        "gateway-certificate-nonexistent-secret", "gateway-certificate-unsupported-group",
        "gateway-certificate-unsupported-kind", "gateway-certificate-malformed-secret"};
    for (size_t i = 0; i < 4; i++) {
        struct kgc_status_gateway d;
        compute(env, names[i], &d);
        expect_listener(&d, "https", KGC_STATUS_RESOLVED_REFS, "False",
                        KGC_STATUS_R_INVALID_CERTIFICATE_REF);
        expect_listener(&d, "https", KGC_STATUS_PROGRAMMED, "False", KGC_STATUS_R_INVALID);
        expect_kinds(fixture_listener(&d, "https"), "HTTPRoute");
        expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "True",
                    KGC_STATUS_R_LISTENERS_NOT_VALID);
        expect_cond(d.conditions, d.n_conditions, KGC_STATUS_PROGRAMMED, "False",
                    KGC_STATUS_R_INVALID);
        kgc_status_gateway_release(&d);
    }
}

/* gateway-invalid-listeners-unsupported-protocol */
static void test_gateway_unsupported_protocol(void **state)
{
    struct fixture_env *env = *state;
    load(env, "gateway-invalid-listeners-unsupported-protocol.yaml");
    struct kgc_status_gateway d;
    compute(env, "gateway-only-unsupported-protocols", &d);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "False",
                KGC_STATUS_R_LISTENERS_NOT_VALID);
    expect_listener(&d, "invalid", KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_UNSUPPORTED_PROTOCOL);
    expect_kinds(fixture_listener(&d, "invalid"), NULL);
    assert_int_equal(fixture_listener(&d, "invalid")->attached_routes, 0);
    kgc_status_gateway_release(&d);

    compute(env, "gateway-supported-and-unsupported-protocols", &d);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "True",
                KGC_STATUS_R_LISTENERS_NOT_VALID);
    expect_listener(&d, "http", KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect_kinds(fixture_listener(&d, "http"), "HTTPRoute");
    expect_listener(&d, "invalid", KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_UNSUPPORTED_PROTOCOL);
    expect_kinds(fixture_listener(&d, "invalid"), NULL);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_PROGRAMMED, "True",
                KGC_STATUS_R_PROGRAMMED);
    kgc_status_gateway_release(&d);
}

/* gateway-invalid-parameters-ref */
static void test_gateway_invalid_parameters_ref(void **state)
{
    struct fixture_env *env = *state;
    load(env, "gateway-invalid-parameters-ref.yaml");
    struct kgc_status_gateway d;
    compute(env, "gateway-invalid-parameters-ref", &d);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "False",
                KGC_STATUS_R_INVALID_PARAMETERS);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_PROGRAMMED, "False", KGC_STATUS_R_INVALID);
    kgc_status_gateway_release(&d);
}

/* gateway-secret-missing-reference-grant and gateway-secret-invalid-reference-grant */
static void test_gateway_secret_reference_grant_missing_or_invalid(void **state)
{
    struct fixture_env *env = *state;
    load(env, "gateway-secret-missing-reference-grant.yaml");
    load(env, "gateway-secret-invalid-reference-grant.yaml");
    static const char *const names[] = {"gateway-secret-missing-reference-grant",
                                        "gateway-secret-invalid-reference-grant"};
    for (size_t i = 0; i < 2; i++) {
        struct kgc_status_gateway d;
        compute(env, names[i], &d);
        expect_listener(&d, "https", KGC_STATUS_RESOLVED_REFS, "False",
                        KGC_STATUS_R_REF_NOT_PERMITTED);
        expect_listener(&d, "https", KGC_STATUS_PROGRAMMED, "False", KGC_STATUS_R_INVALID);
        expect_kinds(fixture_listener(&d, "https"), "HTTPRoute");
        assert_int_equal(fixture_listener(&d, "https")->attached_routes, 0);
        kgc_status_gateway_release(&d);
    }
    /* Regardless of whether the Secret exists: remove it, still RefNotPermitted. */
    assert_true(fixture_set_remove(env->set, KGC_API_SECRET, "gateway-conformance-web-backend",
                                   "certificate"));
    struct kgc_status_gateway d;
    compute(env, names[0], &d);
    expect_listener(&d, "https", KGC_STATUS_RESOLVED_REFS, "False", KGC_STATUS_R_REF_NOT_PERMITTED);
    kgc_status_gateway_release(&d);
}

/* gateway-secret-reference-grant-specific and -all-in-namespace */
static void test_gateway_secret_reference_grant_allows(void **state)
{
    struct fixture_env *env = *state;
    load(env, "gateway-secret-reference-grant-specific.yaml");
    load(env, "gateway-secret-reference-grant-all-in-namespace.yaml");
    static const char *const names[] = {"gateway-secret-reference-grant-specific",
                                        "gateway-secret-reference-grant-all-in-namespace"};
    for (size_t i = 0; i < 2; i++) {
        struct kgc_status_gateway d;
        compute(env, names[i], &d);
        expect_listener(&d, "https", KGC_STATUS_RESOLVED_REFS, "True", KGC_STATUS_R_RESOLVED_REFS);
        expect_listener(&d, "https", KGC_STATUS_PROGRAMMED, "True", KGC_STATUS_R_PROGRAMMED);
        expect_cond(d.conditions, d.n_conditions, KGC_STATUS_PROGRAMMED, "True",
                    KGC_STATUS_R_PROGRAMMED);
        assert_int_equal(fixture_listener(&d, "https")->kong_port, 8443);
        kgc_status_gateway_release(&d);
    }
    /* Deleting the grants revokes the reference. */
    assert_true(fixture_set_remove(env->set, KGC_API_REFERENCEGRANT,
                                   "gateway-conformance-web-backend", "reference-grant-specific"));
    struct kgc_status_gateway still;
    compute(env, names[0], &still); /* the all-in-namespace grant still covers it */
    expect_listener(&still, "https", KGC_STATUS_RESOLVED_REFS, "True", KGC_STATUS_R_RESOLVED_REFS);
    kgc_status_gateway_release(&still);
    assert_true(fixture_set_remove(env->set, KGC_API_REFERENCEGRANT,
                                   "gateway-conformance-web-backend",
                                   "reference-grant-all-in-namespace"));
    struct kgc_status_gateway d;
    compute(env, names[0], &d);
    expect_listener(&d, "https", KGC_STATUS_RESOLVED_REFS, "False", KGC_STATUS_R_REF_NOT_PERMITTED);
    kgc_status_gateway_release(&d);
}

/* base-manifests.yaml: the four shared Gateways are accepted and programmed; listeners on one
 * port distinct by hostname do not conflict, and overlapping TLS hostnames are reported. */
static void test_gateway_base_manifests(void **state)
{
    struct fixture_env *env = *state;
    static const char *const names[] = {"same-namespace", "same-namespace-with-https-listener",
                                        "all-namespaces", "backend-namespaces"};
    for (size_t i = 0; i < 4; i++) {
        struct kgc_status_gateway d;
        compute(env, names[i], &d);
        expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "True",
                    KGC_STATUS_R_ACCEPTED);
        expect_cond(d.conditions, d.n_conditions, KGC_STATUS_PROGRAMMED, "True",
                    KGC_STATUS_R_PROGRAMMED);
        for (uint32_t k = 0; k < d.n_listeners; k++) {
            const struct kgc_status_listener *l = &d.listeners[k];
            expect_cond(l->conditions, l->n_conditions, KGC_STATUS_ACCEPTED, "True",
                        KGC_STATUS_R_ACCEPTED);
            expect_cond(l->conditions, l->n_conditions, KGC_STATUS_PROGRAMMED, "True",
                        KGC_STATUS_R_PROGRAMMED);
            expect_cond(l->conditions, l->n_conditions, KGC_STATUS_RESOLVED_REFS, "True",
                        KGC_STATUS_R_RESOLVED_REFS);
            expect_cond(l->conditions, l->n_conditions, KGC_STATUS_CONFLICTED, "False",
                        KGC_STATUS_R_NO_CONFLICTS);
        }
        if (i == 1) {
            expect_listener(&d, "https-with-wildcard-hostname", KGC_STATUS_OVERLAPPING_TLS, "True",
                            KGC_STATUS_R_OVERLAPPING_HOSTNAMES);
            expect_listener(&d, "https-with-hostname-matching-wildcard", KGC_STATUS_OVERLAPPING_TLS,
                            "True", KGC_STATUS_R_OVERLAPPING_HOSTNAMES);
            const struct kgc_status_listener *l = fixture_listener(&d, "https-with-hostname");
            assert_null(fixture_cond(l->conditions, l->n_conditions, KGC_STATUS_OVERLAPPING_TLS));
        }
        kgc_status_gateway_release(&d);
    }
}

/* ---- Gateway: conflicts --------------------------------------------------------------------- */

static void test_gateway_conflicts_pick_no_winner(void **state)
{
    struct fixture_env *env = *state;
    fixture_kong_add(&env->kong, KGC_KONG_LISTENER_PROXY, 9000, false, false);
    fixture_kong_add(&env->kong, KGC_KONG_LISTENER_STREAM, 9000, false, false);
    fixture_kong_add(&env->kong, KGC_KONG_LISTENER_STREAM, 9000, false, true);
    env->o.publish_service_name = NULL; /* listener ports are Kong ports */
    add_yaml(env,
             "kind: Gateway\nmetadata: {name: conflicts, namespace: gateway-conformance-infra}\n"
             "spec:\n  gatewayClassName: \"{GATEWAY_CLASS_NAME}\"\n  listeners:\n"
             "  - {name: a, port: 8000, protocol: HTTP, hostname: same.example.com}\n"
             "  - {name: b, port: 8000, protocol: HTTP, hostname: SAME.example.com}\n"
             "  - {name: c, port: 8000, protocol: HTTP, hostname: other.example.com}\n"
             "  - {name: d, port: 8443, protocol: HTTPS, tls: {certificateRefs: "
             "[{name: tls-validity-checks-certificate}]}}\n"
             "  - {name: e, port: 8443, protocol: TLS, tls: {mode: Passthrough}}\n"
             "  - {name: f, port: 9000, protocol: TCP}\n"
             "  - {name: g, port: 9000, protocol: UDP}\n");
    struct kgc_status_gateway d;
    compute(env, "conflicts", &d);
    static const char *const host_conflicted[] = {"a", "b"};
    for (size_t i = 0; i < 2; i++) {
        expect_listener(&d, host_conflicted[i], KGC_STATUS_CONFLICTED, "True",
                        KGC_STATUS_R_HOSTNAME_CONFLICT);
        expect_listener(&d, host_conflicted[i], KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_INVALID);
        expect_listener(&d, host_conflicted[i], KGC_STATUS_PROGRAMMED, "False",
                        KGC_STATUS_R_INVALID);
    }
    static const char *const proto_conflicted[] = {"d", "e"};
    for (size_t i = 0; i < 2; i++) {
        expect_listener(&d, proto_conflicted[i], KGC_STATUS_CONFLICTED, "True",
                        KGC_STATUS_R_PROTOCOL_CONFLICT);
        expect_listener(&d, proto_conflicted[i], KGC_STATUS_ACCEPTED, "False",
                        KGC_STATUS_R_INVALID);
    }
    static const char *const fine[] = {"c", "f", "g"}; /* TCP and UDP on 9000 do not meet */
    for (size_t i = 0; i < 3; i++) {
        expect_listener(&d, fine[i], KGC_STATUS_CONFLICTED, "False", KGC_STATUS_R_NO_CONFLICTS);
        expect_listener(&d, fine[i], KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    }
    expect_kinds(fixture_listener(&d, "e"), "TLSRoute");
    expect_kinds(fixture_listener(&d, "f"), "TCPRoute");
    expect_kinds(fixture_listener(&d, "g"), "UDPRoute");
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "True",
                KGC_STATUS_R_LISTENERS_NOT_VALID);
    assert_non_null(strstr(d.conditions[0].message, "a, b, d, e"));
    kgc_status_gateway_release(&d);

    /* HTTP and HTTPS on one port: a protocol conflict. */
    add_yaml(env, "kind: Gateway\nmetadata: {name: mixed, namespace: gateway-conformance-infra}\n"
                  "spec:\n  gatewayClassName: \"{GATEWAY_CLASS_NAME}\"\n  listeners:\n"
                  "  - {name: http, port: 8000, protocol: HTTP}\n"
                  "  - {name: https, port: 8000, protocol: HTTPS, hostname: x.example.org, tls: "
                  "{certificateRefs: [{name: tls-validity-checks-certificate}]}}\n");
    compute(env, "mixed", &d);
    expect_listener(&d, "http", KGC_STATUS_CONFLICTED, "True", KGC_STATUS_R_PROTOCOL_CONFLICT);
    expect_listener(&d, "https", KGC_STATUS_CONFLICTED, "True", KGC_STATUS_R_PROTOCOL_CONFLICT);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "False",
                KGC_STATUS_R_LISTENERS_NOT_VALID);
    kgc_status_gateway_release(&d);
}

/* ---- Gateway: Kong listeners ---------------------------------------------------------------- */

/* A TCP listener needs a plain stream listen: Kong closes plain TCP on an ssl stream listen (its
 * preread server takes only tls/tls_passthrough routes, kong/runloop/handler.lua:1090-1102). */
static void test_gateway_tcp_needs_plain_stream_listen(void **state)
{
    struct fixture_env *env = *state;
    fixture_kong_add(&env->kong, KGC_KONG_LISTENER_STREAM, 9000, false, false);
    env->o.publish_service_name = NULL; /* listener ports are Kong ports */
    add_yaml(env, "kind: Gateway\nmetadata: {name: tcp, namespace: gateway-conformance-infra}\n"
                  "spec:\n  gatewayClassName: \"{GATEWAY_CLASS_NAME}\"\n  listeners:\n"
                  "  - {name: plain, port: 9000, protocol: TCP}\n"
                  "  - {name: on-ssl, port: 9443, protocol: TCP}\n");
    struct kgc_status_gateway d;
    compute(env, "tcp", &d);
    expect_listener(&d, "plain", KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect_listener(&d, "on-ssl", KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_PORT_UNAVAILABLE);
    assert_non_null(
        strstr(fixture_listener(&d, "on-ssl")->conditions[0].message, "no Kong TCP stream listen"));
    kgc_status_gateway_release(&d);
}

static const char probe_gateway[] =
    "kind: Gateway\nmetadata: {name: probe, namespace: gateway-conformance-infra}\n"
    "spec:\n  gatewayClassName: \"{GATEWAY_CLASS_NAME}\"\n  listeners:\n"
    "  - {name: http, port: 8000, protocol: HTTP}\n"
    "  - {name: http-8080, port: 8080, protocol: HTTP}\n"
    "  - {name: https-8001, port: 8001, protocol: HTTPS, hostname: s.example.org, tls: "
    "{certificateRefs: [{name: tls-validity-checks-certificate}]}}\n"
    "  - {name: tls, port: 9443, protocol: TLS, hostname: t.example.org, tls: {mode: "
    "Passthrough}}\n"
    "  - {name: udp, port: 5353, protocol: UDP}\n";

/* Live listeners: a protocol Kong has no listen for is UnsupportedProtocol; a protocol it has
 * on other ports is PortUnavailable. */
static void test_gateway_live_port_unavailable_vs_unsupported_protocol(void **state)
{
    struct fixture_env *env = *state;
    env->o.publish_service_name = NULL;
    add_yaml(env, probe_gateway);
    struct kgc_status_gateway d;
    compute(env, "probe", &d);
    expect_listener(&d, "http", KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    assert_int_equal(fixture_listener(&d, "http")->kong_port, 8000);
    expect_listener(&d, "http-8080", KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_PORT_UNAVAILABLE);
    expect_listener(&d, "https-8001", KGC_STATUS_ACCEPTED, "False",
                    KGC_STATUS_R_PORT_UNAVAILABLE); /* ssl proxy exists, on 8443 only */
    expect_listener(&d, "tls", KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect_listener(&d, "udp", KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_UNSUPPORTED_PROTOCOL);
    expect_kinds(fixture_listener(&d, "udp"), "UDPRoute");
    expect_listener(&d, "udp", KGC_STATUS_PROGRAMMED, "False", KGC_STATUS_R_INVALID);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "True",
                KGC_STATUS_R_LISTENERS_NOT_VALID);
    assert_false(d.needs_retry);
    kgc_status_gateway_release(&d);

    /* A live Kong that really has no listens: the truth is UnsupportedProtocol everywhere. */
    fixture_kong_empty(&env->kong);
    compute(env, "probe", &d);
    for (uint32_t i = 0; i < d.n_listeners; i++)
        expect_cond(d.listeners[i].conditions, d.listeners[i].n_conditions, KGC_STATUS_ACCEPTED,
                    "False", KGC_STATUS_R_UNSUPPORTED_PROTOCOL);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "False",
                KGC_STATUS_R_LISTENERS_NOT_VALID);
    kgc_status_gateway_release(&d);
}

/* Kong down with nothing cached: Pending, retry, and never UnsupportedProtocol/PortUnavailable
 * because of the outage. */
static void test_gateway_kong_none_is_pending_and_retries(void **state)
{
    struct fixture_env *env = *state;
    env->o.publish_service_name = NULL;
    add_yaml(env, probe_gateway);
    fixture_env_view(env, KGC_LISTENERCACHE_NONE, "kong admin API unreachable: connection refused");
    struct kgc_status_gateway d;
    compute(env, "probe", &d);
    assert_true(d.needs_retry);
    assert_non_null(strstr(d.retry_reason, "connection refused"));
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_PROGRAMMED, "False", KGC_STATUS_R_PENDING);
    assert_string_equal(d.conditions[1].message, "waiting for the Kong Admin API: kong admin API "
                                                 "unreachable: connection refused");
    for (uint32_t i = 0; i < d.n_listeners; i++) {
        const struct kgc_status_listener *l = &d.listeners[i];
        expect_cond(l->conditions, l->n_conditions, KGC_STATUS_ACCEPTED, "True",
                    KGC_STATUS_R_ACCEPTED);
        expect_cond(l->conditions, l->n_conditions, KGC_STATUS_PROGRAMMED, "False",
                    KGC_STATUS_R_PENDING);
    }
    kgc_status_gateway_release(&d);

    /* kgc's own protocol support is not Kong's: INVALID stays UnsupportedProtocol. */
    load(env, "gateway-invalid-listeners-unsupported-protocol.yaml");
    compute(env, "gateway-supported-and-unsupported-protocols", &d);
    expect_listener(&d, "invalid", KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_UNSUPPORTED_PROTOCOL);
    expect_listener(&d, "http", KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect_listener(&d, "http", KGC_STATUS_PROGRAMMED, "False", KGC_STATUS_R_PENDING);
    kgc_status_gateway_release(&d);

    /* A NULL view counts as NONE. */
    env->o.view = NULL;
    compute(env, "probe", &d);
    assert_true(d.needs_retry);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_PROGRAMMED, "False", KGC_STATUS_R_PENDING);
    kgc_status_gateway_release(&d);
}

/* Kong down with cached listeners: the status is exactly the live one (no write at all). */
static void test_gateway_kong_cached_same_as_live(void **state)
{
    struct fixture_env *env = *state;
    add_yaml(env, probe_gateway);
    load(env, "gateway-observed-generation-bump.yaml");
    static const char *const names[] = {"probe", "gateway-observed-generation-bump",
                                        "same-namespace-with-https-listener"};
    for (size_t i = 0; i < 3; i++) {
        fixture_env_view(env, KGC_LISTENERCACHE_LIVE, NULL);
        struct kgc_status_gateway live, cached;
        compute(env, names[i], &live);
        assert_true(write_status(env, &live));
        kgc_status_gateway_release(&live);
        fixture_env_view(env, KGC_LISTENERCACHE_CACHED, "kong admin API unreachable: timeout");
        env->o.now = FIXTURE_LATER;
        compute(env, names[i], &cached);
        assert_false(cached.needs_retry);
        assert_false(write_status(env, &cached)); /* identical: nothing to write */
        kgc_status_gateway_release(&cached);
        env->o.now = FIXTURE_NOW;
    }
    /* And the probe's PortUnavailable stays PortUnavailable while cached. */
    struct kgc_status_gateway d;
    compute(env, "probe", &d);
    expect_listener(&d, "http-8080", KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_PORT_UNAVAILABLE);
    kgc_status_gateway_release(&d);
}

/* The publish Service maps listener port → targetPort, which must be a Kong listen. */
static void test_gateway_publish_service_port_mapping(void **state)
{
    struct fixture_env *env = *state;
    add_yaml(env, "kind: Service\nmetadata: {name: kong-proxy, namespace: kong}\n"
                  "spec:\n  clusterIP: 10.96.0.10\n  ports:\n"
                  "  - {port: 80, targetPort: 8000}\n"
                  "  - {port: 443, targetPort: 8443}\n"
                  "  - {port: 81, targetPort: 8001}\n"
                  "  - {port: 82, targetPort: proxy}\n"
                  "  - {port: 8000, targetPort: 9999}\n"
                  "  - {port: 9443, protocol: TCP, targetPort: 9443}\n");
    add_yaml(env, "kind: Gateway\nmetadata: {name: mapped, namespace: gateway-conformance-infra}\n"
                  "spec:\n  gatewayClassName: \"{GATEWAY_CLASS_NAME}\"\n  listeners:\n"
                  "  - {name: p80, port: 80, protocol: HTTP}\n"
                  "  - {name: p443, port: 443, protocol: HTTPS, tls: {certificateRefs: "
                  "[{name: tls-validity-checks-certificate}]}}\n"
                  "  - {name: p81, port: 81, protocol: HTTP}\n"
                  "  - {name: p82, port: 82, protocol: HTTP}\n"
                  "  - {name: p8000, port: 8000, protocol: HTTP}\n"
                  "  - {name: p8080, port: 8080, protocol: HTTP}\n"
                  "  - {name: tls, port: 9443, protocol: TLS, tls: {mode: Passthrough}}\n");
    struct kgc_status_gateway d;
    compute(env, "mapped", &d);
    expect_listener(&d, "p80", KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    assert_int_equal(fixture_listener(&d, "p80")->kong_port, 8000);
    expect_listener(&d, "p443", KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    assert_int_equal(fixture_listener(&d, "p443")->kong_port, 8443);
    expect_listener(&d, "tls", KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    /* 81 → 8001: no Kong listen there. */
    expect_listener(&d, "p81", KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_PORT_UNAVAILABLE);
    assert_non_null(strstr(fixture_listener(&d, "p81")->conditions[0].message, "8001"));
    /* A named targetPort cannot be matched. */
    expect_listener(&d, "p82", KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_PORT_UNAVAILABLE);
    /* The Service sends 8000 to 9999: Kong's own 8000 does not count through the Service. */
    expect_listener(&d, "p8000", KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_PORT_UNAVAILABLE);
    /* The Service has no port 8080. */
    expect_listener(&d, "p8080", KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_PORT_UNAVAILABLE);
    assert_non_null(strstr(fixture_listener(&d, "p8080")->conditions[0].message, "no TCP port"));
    kgc_status_gateway_release(&d);
}

/* The publish Service is configured but missing: retry, never PortUnavailable for it. */
static void test_gateway_publish_service_missing(void **state)
{
    struct fixture_env *env = *state;
    assert_true(fixture_set_remove(env->set, KGC_API_SERVICE, "kong", "kong-proxy"));
    struct kgc_status_gateway d;
    compute(env, "same-namespace", &d);
    assert_true(d.needs_retry);
    expect_listener(&d, "http", KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    expect_listener(&d, "http", KGC_STATUS_PROGRAMMED, "False", KGC_STATUS_R_PENDING);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_PROGRAMMED, "False",
                KGC_STATUS_R_ADDRESS_NOT_ASSIGNED);
    assert_int_equal(d.n_addresses, 0);
    kgc_status_gateway_release(&d);
}

/* status.addresses: LoadBalancer ingress first, then ClusterIPs; the option overrides; ≤ 16. */
static void test_gateway_addresses(void **state)
{
    struct fixture_env *env = *state;
    struct kgc_status_gateway d;
    compute(env, "same-namespace", &d);
    assert_int_equal(d.n_addresses, 3);
    assert_string_equal(d.addresses[0].value, "203.0.113.10");
    assert_string_equal(d.addresses[0].type, "IPAddress");
    assert_string_equal(d.addresses[1].value, "lb.example.net");
    assert_string_equal(d.addresses[1].type, "Hostname");
    assert_string_equal(d.addresses[2].value, "10.96.0.10");
    json_object *patch = NULL;
    assert_int_equal(kgc_status_gateway_patch(&d, NULL, &patch, NULL), 0);
    assert_string_equal(json_object_get_string(fixture_json_path(patch, "status.addresses.1.type")),
                        "Hostname");
    json_object_put(patch);
    assert_true(write_status(env, &d));
    kgc_status_gateway_release(&d);

    static const char *const many[] = {
        "192.0.2.1",  "192.0.2.2",  "2001:db8::1", "gw.example", "192.0.2.3",  "192.0.2.4",
        "192.0.2.5",  "192.0.2.6",  "192.0.2.7",   "192.0.2.8",  "192.0.2.9",  "192.0.2.10",
        "192.0.2.11", "192.0.2.12", "192.0.2.13",  "192.0.2.14", "192.0.2.15", "192.0.2.16"};
    env->o.publish_addresses = many;
    env->o.n_publish_addresses = 18;
    compute(env, "same-namespace", &d);
    assert_int_equal(d.n_addresses, KGC_STATUS_MAX_ADDRESSES);
    assert_string_equal(d.addresses[2].type, "IPAddress");
    assert_string_equal(d.addresses[3].type, "Hostname");
    kgc_status_gateway_release(&d);

    /* A Service with no address yet: Programmed=False/AddressNotAssigned; the stale list is
     * removed with a null in the patch. */
    env->o.n_publish_addresses = 0;
    add_yaml(env, "kind: Service\nmetadata: {name: kong-proxy, namespace: kong}\n"
                  "spec:\n  type: LoadBalancer\n  clusterIP: None\n  ports:\n"
                  "  - {port: 80, targetPort: 8000}\n");
    compute(env, "same-namespace", &d);
    assert_int_equal(d.n_addresses, 0);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_PROGRAMMED, "False",
                KGC_STATUS_R_ADDRESS_NOT_ASSIGNED);
    expect_listener(&d, "http", KGC_STATUS_PROGRAMMED, "True", KGC_STATUS_R_PROGRAMMED);
    assert_int_equal(kgc_status_gateway_patch(&d, NULL, &patch, NULL), 0);
    json_object *st = fixture_json_path(patch, "status"), *addr = (json_object *)1;
    assert_true(json_object_object_get_ex(st, "addresses", &addr));
    assert_null(addr);
    json_object_put(patch);
    kgc_status_gateway_release(&d);
}

/* spec.addresses: kgc assigns none itself. */
static void test_gateway_requested_addresses(void **state)
{
    struct fixture_env *env = *state;
    add_yaml(env, "kind: Gateway\nmetadata: {name: addr, namespace: gateway-conformance-infra}\n"
                  "spec:\n  gatewayClassName: \"{GATEWAY_CLASS_NAME}\"\n"
                  "  addresses: [{type: IPAddress, value: 203.0.113.10}]\n"
                  "  listeners: [{name: http, port: 80, protocol: HTTP}]\n");
    struct kgc_status_gateway d;
    compute(env, "addr", &d);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_PROGRAMMED, "True",
                KGC_STATUS_R_PROGRAMMED);
    kgc_status_gateway_release(&d);
    json_object *j = fixture_set_json(env->set, KGC_API_GATEWAY, INFRA, "addr");
    json_object_object_add(fixture_json_path(j, "spec.addresses.0"), "value",
                           json_object_new_string("198.51.100.7"));
    fixture_set_update(env->set, KGC_API_GATEWAY, INFRA, "addr", true);
    compute(env, "addr", &d);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_PROGRAMMED, "False",
                KGC_STATUS_R_ADDRESS_NOT_USABLE);
    kgc_status_gateway_release(&d);
    json_object_object_add(fixture_json_path(j, "spec.addresses.0"), "type",
                           json_object_new_string("example.net/custom"));
    fixture_set_update(env->set, KGC_API_GATEWAY, INFRA, "addr", true);
    compute(env, "addr", &d);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "False",
                KGC_STATUS_R_UNSUPPORTED_ADDRESS);
    kgc_status_gateway_release(&d);
}

/* attachedRoutes counts routes accepted on each listener; set even when not accepted. */
static void test_gateway_attached_routes(void **state)
{
    struct fixture_env *env = *state;
    load(env, "httproute-multiple-gateways.yaml");
    load(env, "httproute-invalid-cross-namespace-parent-ref.yaml");
    load(env, "httproute-cross-namespace.yaml");
    struct kgc_status_gateway d;
    compute(env, "same-namespace", &d);
    assert_int_equal(fixture_listener(&d, "http")->attached_routes, 2);
    kgc_status_gateway_release(&d);
    compute(env, "all-namespaces", &d);
    assert_int_equal(fixture_listener(&d, "http")->attached_routes, 2);
    kgc_status_gateway_release(&d);
    compute(env, "backend-namespaces", &d);
    assert_int_equal(fixture_listener(&d, "http")->attached_routes, 1);
    kgc_status_gateway_release(&d);

    int32_t counts[1] = {-1};
    assert_int_equal(kgc_status_gateway_attached_routes(
                         &env->o, &env->lk, gateway(env, "same-namespace"), counts, NULL),
                     0);
    assert_int_equal(counts[0], 2);

    /* A listener that is not accepted still counts its routes. */
    fixture_kong_empty(&env->kong);
    compute(env, "same-namespace", &d);
    expect_listener(&d, "http", KGC_STATUS_ACCEPTED, "False", KGC_STATUS_R_UNSUPPORTED_PROTOCOL);
    assert_int_equal(fixture_listener(&d, "http")->attached_routes, 2);
    kgc_status_gateway_release(&d);
}

/* Only Gateways of owned classes are kgc's. */
static void test_gateway_not_owned_no_write(void **state)
{
    struct fixture_env *env = *state;
    add_yaml(env, "kind: GatewayClass\nmetadata: {name: other}\n"
                  "spec: {controllerName: example.net/other}\n---\n"
                  "kind: Gateway\nmetadata: {name: theirs, namespace: gateway-conformance-infra}\n"
                  "spec: {gatewayClassName: other, listeners: [{name: h, port: 80, protocol: "
                  "HTTP}]}\n---\n"
                  "kind: Gateway\nmetadata: {name: orphan, namespace: gateway-conformance-infra}\n"
                  "spec: {gatewayClassName: missing, listeners: [{name: h, port: 80, protocol: "
                  "HTTP}]}\n");
    static const char *const names[] = {"theirs", "orphan"};
    for (size_t i = 0; i < 2; i++) {
        struct kgc_status_gateway d;
        assert_int_equal(
            kgc_status_gateway_compute(&env->o, &env->lk, gateway(env, names[i]), &d, NULL), 0);
        assert_false(d.owned);
        json_object *patch = NULL;
        assert_int_equal(kgc_status_gateway_patch(&d, gateway(env, names[i]), &patch, NULL), 0);
        assert_null(patch);
        kgc_status_gateway_release(&d);
    }
}

static bool not_yet(void *ctx, const struct kgc_api_gateway *gw, char *why, size_t why_size)
{
    (void)gw;
    snprintf(why, why_size, "%s", (const char *)ctx);
    return false;
}

/* The config syncer drives Programmed through the hook. */
static void test_gateway_programmed_hook(void **state)
{
    struct fixture_env *env = *state;
    env->o.programmed = not_yet;
    env->o.programmed_ctx = "POST /config answered 400";
    struct kgc_status_gateway d;
    compute(env, "same-namespace", &d);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_PROGRAMMED, "False", KGC_STATUS_R_PENDING);
    assert_non_null(strstr(d.conditions[1].message, "POST /config answered 400"));
    expect_listener(&d, "http", KGC_STATUS_PROGRAMMED, "False", KGC_STATUS_R_PENDING);
    expect_listener(&d, "http", KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
    /* backed off as well: the push answer re-queues it, but never only that */
    assert_true(d.needs_retry);
    assert_non_null(strstr(d.retry_reason, "waiting for Kong to accept the configuration"));
    kgc_status_gateway_release(&d);
}

/* ---- backend TLS: the Gateway's client certificate, BackendTLSPolicy ------------------------- */

/* gateway-invalid-tls-backend-configuration: ResolvedRefs False with the reasons the test
 * expects, the Gateway still Accepted (the condition does not change Accepted or Programmed). */
static void test_gateway_invalid_tls_backend_configuration(void **state)
{
    struct fixture_env *env = *state;
    load(env, "gateway-invalid-tls-backend-configuration.yaml");
    static const struct {
        const char *name, *reason;
    } cases[] = {
        {"gateway-client-certificate-nonexistent-secret",
         KGC_STATUS_R_INVALID_CLIENT_CERTIFICATE_REF},
        {"gateway-client-certificate-unsupported-group",
         KGC_STATUS_R_INVALID_CLIENT_CERTIFICATE_REF},
        {"gateway-client-certificate-unsupported-kind",
         KGC_STATUS_R_INVALID_CLIENT_CERTIFICATE_REF},
        {"gateway-client-certificate-malformed-secret",
         KGC_STATUS_R_INVALID_CLIENT_CERTIFICATE_REF},
        {"gateway-client-certificate-missing-reference-grant", KGC_STATUS_R_REF_NOT_PERMITTED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct kgc_status_gateway d;
        compute(env, cases[i].name, &d);
        expect_cond(d.conditions, d.n_conditions, KGC_STATUS_RESOLVED_REFS, "False",
                    cases[i].reason);
        expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "True",
                    KGC_STATUS_R_ACCEPTED);
        assert_true(write_status(env, &d));
        kgc_status_gateway_release(&d);
    }
    /* a Gateway without spec.tls.backend gets no ResolvedRefs of its own */
    struct kgc_status_gateway d;
    compute(env, "same-namespace", &d);
    assert_null(fixture_cond(d.conditions, d.n_conditions, KGC_STATUS_RESOLVED_REFS));
    kgc_status_gateway_release(&d);
}

static void test_gateway_backend_client_certificate_resolved(void **state)
{
    struct fixture_env *env = *state;
    char err[FIXTURE_ERR_MAX];
    assert_int_equal(fixture_set_add_tls_secret(env->set, INFRA, "tls-checks-client-certificate",
                                                "client", err, sizeof(err)),
                     0);
    load(env, "gateway-tls-backend-client-certificate.yaml");
    struct kgc_status_gateway d;
    compute(env, "gateway-tls-backend-client-certificate", &d);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_RESOLVED_REFS, "True",
                KGC_STATUS_R_RESOLVED_REFS);
    const struct kgc_api_obj *secret = NULL;
    char why[KGC_STATUS_MSG_MAX];
    assert_null(kgc_status_gateway_client_certificate(&env->lk, d.gw, &secret, why, sizeof(why)));
    assert_non_null(secret);
    assert_string_equal(secret->meta.key, INFRA "/tls-checks-client-certificate");
    kgc_api_obj_unref(secret);
    kgc_status_gateway_release(&d);
}

/* A CA certificate (basicConstraints CA:TRUE, valid until 2126). Test material only. */
static const char TEST_CA[] = "-----BEGIN CERTIFICATE-----\n"
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

static void add_ca_configmap(struct fixture_env *env, const char *name, const char *pem)
{
    json_object *doc = json_object_new_object(), *md = json_object_new_object(),
                *data = json_object_new_object();
    json_object_object_add(doc, "apiVersion", json_object_new_string("v1"));
    json_object_object_add(doc, "kind", json_object_new_string("ConfigMap"));
    json_object_object_add(md, "name", json_object_new_string(name));
    json_object_object_add(md, "namespace", json_object_new_string(INFRA));
    json_object_object_add(doc, "metadata", md);
    if (pem)
        json_object_object_add(data, "ca.crt", json_object_new_string(pem));
    json_object_object_add(doc, "data", data);
    char err[FIXTURE_ERR_MAX];
    if (fixture_set_add_json(env->set, doc, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    json_object_put(doc);
}

static const struct kgc_api_backendtlspolicy *policy(struct fixture_env *env, const char *name)
{
    const struct kgc_api_backendtlspolicy *p = kgc_api_as_backendtlspolicy(
        fixture_set_find(env->set, KGC_API_BACKENDTLSPOLICY, INFRA, name));
    if (!p)
        fail_msg("no BackendTLSPolicy %s", name);
    return p;
}

/* Computes p's status and checks its single ancestor (Gateway same-namespace). */
static void expect_policy(struct fixture_env *env, const char *name, const char *acc,
                          const char *acc_reason, const char *refs, const char *refs_reason,
                          bool kong_limit)
{
    struct kgc_status_backendtlspolicy d;
    struct kgc_err err = {0};
    assert_int_equal(
        kgc_status_backendtlspolicy_compute(&env->o, &env->lk, policy(env, name), &d, &err), 0);
    if (d.n_ancestors != 1)
        fail_msg("%s: %u ancestors", name, d.n_ancestors);
    const struct kgc_status_policy_ancestor *a = &d.ancestors[0];
    assert_string_equal(a->ancestor_ref.name, "same-namespace");
    assert_string_equal(a->ancestor_ref.kind, "Gateway");
    expect_cond(a->conditions, a->n_conditions, KGC_STATUS_ACCEPTED, acc, acc_reason);
    expect_cond(a->conditions, a->n_conditions, KGC_STATUS_RESOLVED_REFS, refs, refs_reason);
    assert_int_equal(fixture_cond(a->conditions, a->n_conditions, KGC_STATUS_KONG_LIMITATION) !=
                         NULL,
                     kong_limit);
    kgc_status_backendtlspolicy_release(&d);
}

static void test_backendtlspolicy_conflicts(void **state)
{
    struct fixture_env *env = *state;
    add_ca_configmap(env, "tls-checks-ca-certificate", TEST_CA);
    load(env, "backendtlspolicy-conflict-resolution.yaml");
    const char *T = "True", *F = "False";
    expect_policy(env, "conflicted-without-section-name-1", T, KGC_STATUS_R_ACCEPTED, T,
                  KGC_STATUS_R_RESOLVED_REFS, false);
    expect_policy(env, "conflicted-without-section-name-2", F, KGC_STATUS_R_CONFLICTED, T,
                  KGC_STATUS_R_RESOLVED_REFS, false);
    expect_policy(env, "conflicted-with-section-name-1", T, KGC_STATUS_R_ACCEPTED, T,
                  KGC_STATUS_R_RESOLVED_REFS, false);
    expect_policy(env, "conflicted-with-section-name-2", F, KGC_STATUS_R_CONFLICTED, T,
                  KGC_STATUS_R_RESOLVED_REFS, false);
    expect_policy(env, "not-conflicted-with-section-name", T, KGC_STATUS_R_ACCEPTED, T,
                  KGC_STATUS_R_RESOLVED_REFS, false);
    expect_policy(env, "not-conflicted-without-section-name", T, KGC_STATUS_R_ACCEPTED, T,
                  KGC_STATUS_R_RESOLVED_REFS, false);
    /* the section-specific policy wins its port, the other one the remaining port */
    const struct kgc_api_backendtlspolicy *p = kgc_status_backendtls_for_port(
        &env->lk, INFRA, "backendtlspolicy-not-conflicted-test", "https-1");
    assert_string_equal(p->obj.meta.name, "not-conflicted-with-section-name");
    kgc_api_obj_unref(&p->obj);
    p = kgc_status_backendtls_for_port(&env->lk, INFRA, "backendtlspolicy-not-conflicted-test",
                                       "https-2");
    assert_string_equal(p->obj.meta.name, "not-conflicted-without-section-name");
    kgc_api_obj_unref(&p->obj);
    /* the older policy wins, whatever its name */
    json_object *j = fixture_set_json(env->set, KGC_API_BACKENDTLSPOLICY, INFRA,
                                      "conflicted-without-section-name-2");
    json_object_object_add(json_object_object_get(j, "metadata"), "creationTimestamp",
                           json_object_new_string("2020-01-01T00:00:00Z"));
    assert_non_null(fixture_set_update(env->set, KGC_API_BACKENDTLSPOLICY, INFRA,
                                       "conflicted-without-section-name-2", false));
    expect_policy(env, "conflicted-without-section-name-1", F, KGC_STATUS_R_CONFLICTED, T,
                  KGC_STATUS_R_RESOLVED_REFS, false);
    expect_policy(env, "conflicted-without-section-name-2", T, KGC_STATUS_R_ACCEPTED, T,
                  KGC_STATUS_R_RESOLVED_REFS, false);
}

static void test_backendtlspolicy_invalid_refs_and_sans(void **state)
{
    struct fixture_env *env = *state;
    add_ca_configmap(env, "tls-checks-ca-certificate", TEST_CA);
    load(env, "backendtlspolicy-invalid-kind.yaml");
    load(env, "backendtlspolicy-invalid-ca-certificate-ref.yaml");
    load(env, "backendtlspolicy-san.yaml");
    const char *T = "True", *F = "False";
    expect_policy(env, "invalid-kind", F, KGC_STATUS_R_NO_VALID_CA_CERTIFICATE, F,
                  KGC_STATUS_R_INVALID_KIND, false);
    expect_policy(env, "nonexistent-ca-certificate-ref", F, KGC_STATUS_R_NO_VALID_CA_CERTIFICATE, F,
                  KGC_STATUS_R_INVALID_CA_CERTIFICATE_REF, false);
    expect_policy(env, "malformed-ca-certificate-ref", F, KGC_STATUS_R_NO_VALID_CA_CERTIFICATE, F,
                  KGC_STATUS_R_INVALID_CA_CERTIFICATE_REF, false);
    expect_policy(env, "san-dns", T, KGC_STATUS_R_ACCEPTED, T, KGC_STATUS_R_RESOLVED_REFS, false);
    static const char *const limited[] = {"san-dns-mismatch", "san-uri", "san-uri-mismatch",
                                          "multiple-sans", "multiple-mismatch-sans"};
    for (size_t i = 0; i < 5; i++)
        expect_policy(env, limited[i], T, KGC_STATUS_R_ACCEPTED, T, KGC_STATUS_R_RESOLVED_REFS,
                      true);
    /* what Kong can apply: multiple-sans has the Hostname SAN equal to validation.hostname */
    struct kgc_status_backendtls_eval ev;
    kgc_status_backendtls_evaluate(&env->lk, policy(env, "multiple-sans"), &ev);
    assert_true(ev.usable);
    kgc_status_backendtls_evaluate(&env->lk, policy(env, "san-uri"), &ev);
    assert_false(ev.usable);
    /* a ConfigMap whose ca.crt is not a CA bundle */
    add_ca_configmap(env, "malformed-ca-certificate", "not a certificate");
    expect_policy(env, "malformed-ca-certificate-ref", F, KGC_STATUS_R_NO_VALID_CA_CERTIFICATE, F,
                  KGC_STATUS_R_INVALID_CA_CERTIFICATE_REF, false);
    /* wellKnownCACertificates: System is Kong's default store, anything else is Invalid */
    json_object *j = fixture_set_json(env->set, KGC_API_BACKENDTLSPOLICY, INFRA, "san-dns");
    json_object *v = json_object_object_get(json_object_object_get(j, "spec"), "validation");
    json_object_object_del(v, "caCertificateRefs");
    json_object_object_add(v, "wellKnownCACertificates", json_object_new_string("System"));
    assert_non_null(fixture_set_update(env->set, KGC_API_BACKENDTLSPOLICY, INFRA, "san-dns", true));
    expect_policy(env, "san-dns", T, KGC_STATUS_R_ACCEPTED, T, KGC_STATUS_R_RESOLVED_REFS, false);
    json_object_object_add(v, "wellKnownCACertificates", json_object_new_string("example.com/x"));
    assert_non_null(fixture_set_update(env->set, KGC_API_BACKENDTLSPOLICY, INFRA, "san-dns", true));
    expect_policy(env, "san-dns", F, KGC_STATUS_R_INVALID, T, KGC_STATUS_R_RESOLVED_REFS, false);
}

/* The patch: kgc's ancestors entry with observedGeneration, another controller's kept. */
static void test_backendtlspolicy_patch(void **state)
{
    struct fixture_env *env = *state;
    add_ca_configmap(env, "tls-checks-ca-certificate", TEST_CA);
    load(env, "backendtlspolicy-observed-generation-bump.yaml");
    const char *other = "{\"status\":{\"ancestors\":[{\"ancestorRef\":{\"name\":\"elsewhere\"},"
                        "\"controllerName\":\"example.com/other\",\"conditions\":[]}]}}";
    json_object *j =
        fixture_set_json(env->set, KGC_API_BACKENDTLSPOLICY, INFRA, "observed-generation-bump");
    json_object *st = json_tokener_parse(other);
    json_object_object_add(j, "status", json_object_get(json_object_object_get(st, "status")));
    json_object_put(st);
    assert_non_null(fixture_set_update(env->set, KGC_API_BACKENDTLSPOLICY, INFRA,
                                       "observed-generation-bump", false));
    for (int round = 0; round < 2; round++) {
        const struct kgc_api_backendtlspolicy *p = policy(env, "observed-generation-bump");
        struct kgc_status_backendtlspolicy d;
        struct kgc_err err = {0};
        assert_int_equal(kgc_status_backendtlspolicy_compute(&env->o, &env->lk, p, &d, &err), 0);
        json_object *patch = NULL;
        assert_int_equal(kgc_status_backendtlspolicy_patch(&d, NULL, &patch, &err), 0);
        kgc_status_backendtlspolicy_release(&d);
        if (round == 1) { /* written once: nothing more to write */
            assert_null(patch);
            break;
        }
        assert_non_null(patch);
        p = kgc_api_as_backendtlspolicy(fixture_set_patch_status(
            env->set, KGC_API_BACKENDTLSPOLICY, INFRA, "observed-generation-bump", patch));
        json_object_put(patch);
        assert_non_null(p);
        assert_int_equal(p->n_ancestors, 2);
        assert_string_equal(p->ancestors[0].controller_name, "example.com/other");
        assert_string_equal(p->ancestors[1].ancestor_ref.name, "same-namespace");
        const struct kgc_api_condition *c = kgc_api_condition_find(
            p->ancestors[1].conditions, p->ancestors[1].n_conditions, KGC_STATUS_ACCEPTED);
        assert_non_null(c);
        assert_string_equal(c->status, "True");
        assert_int_equal(c->observed_generation, p->obj.meta.generation);
    }
}

/* ---- ListenerSet ---------------------------------------------------------------------------- */

static const struct kgc_api_listenerset *lset(struct fixture_env *env, const char *ns,
                                              const char *name)
{
    const struct kgc_api_listenerset *s =
        kgc_api_as_listenerset(fixture_set_find(env->set, KGC_API_LISTENERSET, ns, name));
    if (!s)
        fail_msg("no ListenerSet %s/%s", ns, name);
    return s;
}

static void compute_set(struct fixture_env *env, const char *ns, const char *name,
                        struct kgc_status_listenerset *out)
{
    struct kgc_err err = {0};
    if (kgc_status_listenerset_compute(&env->o, &env->lk, lset(env, ns, name), out, &err) != 0)
        fail_msg("compute %s/%s: %s", ns, name, err.msg);
    assert_true(out->owned);
}

static const struct kgc_status_listener *set_listener(const struct kgc_status_listenerset *s,
                                                      const char *name)
{
    for (uint32_t i = 0; i < s->n_listeners; i++)
        if (strcmp(s->listeners[i].name, name) == 0)
            return &s->listeners[i];
    fail_msg("no listener %s", name);
    return NULL;
}

static void expect_set_listener(const struct kgc_status_listenerset *s, const char *name,
                                const char *type, const char *status, const char *reason)
{
    const struct kgc_status_listener *l = set_listener(s, name);
    expect_cond(l->conditions, l->n_conditions, type, status, reason);
}

/* allowedListeners decides: None (explicit or by default) admits no set, Same only the
 * Gateway's namespace, Selector the labelled namespaces (listenerset-allowed-namespace-*.go). */
static void test_listenerset_allowed_namespaces(void **state)
{
    struct fixture_env *env = *state;
    load(env, "listenerset-allowed-namespace-none.yaml");
    load(env, "listenerset-default-not-allowed.yaml");
    load(env, "listenerset-allowed-namespace-same.yaml");
    load(env, "listenerset-allowed-namespace-selector.yaml");
    static const struct {
        const char *ns, *name, *gw;
        bool allowed;
    } cases[] = {
        {INFRA, "listenerset-not-allowed", "gateway-does-not-allow-listenerset", false},
        {INFRA, "listenerset-default-not-allowed", "gateway-default-does-not-allow-listenerset",
         false},
        {INFRA, "listenerset-in-same-namespace", "gateway-allows-listenerset-in-same-namespace",
         true},
        {"gateway-api-listenerset-not-allowed-ns", "listenerset-in-different-namespace", NULL,
         false},
        {"gateway-api-listenerset-selector-allowed-ns", "listenerset-in-selected-namespace",
         "gateway-allows-listenerset-in-selected-namespace", true},
        {"gateway-api-listenerset-selector-not-allowed-ns", "listenerset-not-in-selected-namespace",
         NULL, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct kgc_status_listenerset d;
        compute_set(env, cases[i].ns, cases[i].name, &d);
        const char *r = cases[i].allowed ? KGC_STATUS_R_ACCEPTED : KGC_STATUS_R_NOT_ALLOWED;
        expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED,
                    cases[i].allowed ? "True" : "False", r);
        expect_cond(d.conditions, d.n_conditions, KGC_STATUS_PROGRAMMED,
                    cases[i].allowed ? "True" : "False",
                    cases[i].allowed ? KGC_STATUS_R_PROGRAMMED : KGC_STATUS_R_NOT_ALLOWED);
        assert_int_equal(d.n_listeners, cases[i].allowed ? 1 : 0);
        for (uint32_t k = 0; k < d.n_listeners; k++) {
            expect_cond(d.listeners[k].conditions, d.listeners[k].n_conditions, KGC_STATUS_ACCEPTED,
                        "True", KGC_STATUS_R_ACCEPTED);
            expect_cond(d.listeners[k].conditions, d.listeners[k].n_conditions,
                        KGC_STATUS_PROGRAMMED, "True", KGC_STATUS_R_PROGRAMMED);
        }
        kgc_status_listenerset_release(&d);
        if (!cases[i].gw)
            continue;
        struct kgc_status_gateway g;
        compute(env, cases[i].gw, &g);
        expect_cond(g.conditions, g.n_conditions, KGC_STATUS_ACCEPTED, "True",
                    KGC_STATUS_R_ACCEPTED);
        assert_int_equal(g.attached_listener_sets, cases[i].allowed ? 1 : 0);
        assert_int_equal(g.n_listeners, 1); /* the Gateway's status lists its own only */
        kgc_status_gateway_release(&g);
    }
}

/* A set listener not distinct from a listener of higher precedence (the Gateway's, then older
 * sets', then by namespace/name) loses alone, with the conflict's reason; a set whose listeners
 * all lost is not accepted (listenerset-hostname-conflict.go, -protocol-conflict.go). */
static void test_listenerset_conflict_precedence(void **state)
{
    struct fixture_env *env = *state;
    static const char *const kinds[] = {"hostname", "protocol"};
    for (size_t k = 0; k < 2; k++) {
        const char *reason =
            k == 0 ? KGC_STATUS_R_HOSTNAME_CONFLICT : KGC_STATUS_R_PROTOCOL_CONFLICT;
        char file[128], gwname[128], c[128], x[128], set[4][128];
        snprintf(file, sizeof(file), "listenerset-%s-conflict.yaml", kinds[k]);
        snprintf(gwname, sizeof(gwname), "gateway-with-listenerset-%s-conflict", kinds[k]);
        snprintf(c, sizeof(c), "%s-conflict-with-gateway-listener", kinds[k]);
        snprintf(x, sizeof(x), "%s-conflict-with-listener-set-listener", kinds[k]);
        static const char *const suffix[] = {"gateway-1", "gateway-2", "listener-set-1",
                                             "listener-set-2"};
        for (int i = 0; i < 4; i++)
            snprintf(set[i], sizeof(set[i]), "listenerset-with-%s-conflict-with-%s", kinds[k],
                     suffix[i]);
        load(env, file);
        struct kgc_status_gateway g;
        compute(env, gwname, &g);
        expect_listener(&g, c, KGC_STATUS_ACCEPTED, "True", KGC_STATUS_R_ACCEPTED);
        expect_listener(&g, c, KGC_STATUS_CONFLICTED, "False", KGC_STATUS_R_NO_CONFLICTS);
        assert_int_equal(g.attached_listener_sets, 2);
        kgc_status_gateway_release(&g);

        struct kgc_status_listenerset d;
        compute_set(env, INFRA, set[0], &d);
        expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "True",
                    KGC_STATUS_R_LISTENERS_NOT_VALID);
        expect_cond(d.conditions, d.n_conditions, KGC_STATUS_PROGRAMMED, "True",
                    KGC_STATUS_R_PROGRAMMED);
        expect_set_listener(&d, "listener-set-1-listener", KGC_STATUS_ACCEPTED, "True",
                            KGC_STATUS_R_ACCEPTED);
        expect_set_listener(&d, x, KGC_STATUS_CONFLICTED, "False", KGC_STATUS_R_NO_CONFLICTS);
        expect_set_listener(&d, c, KGC_STATUS_ACCEPTED, "False", reason);
        expect_set_listener(&d, c, KGC_STATUS_PROGRAMMED, "False", reason);
        expect_set_listener(&d, c, KGC_STATUS_CONFLICTED, "True", reason);
        kgc_status_listenerset_release(&d);

        compute_set(env, INFRA, set[1], &d);
        expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "False",
                    KGC_STATUS_R_LISTENERS_NOT_VALID);
        expect_cond(d.conditions, d.n_conditions, KGC_STATUS_PROGRAMMED, "False",
                    KGC_STATUS_R_LISTENERS_NOT_VALID);
        expect_set_listener(&d, c, KGC_STATUS_CONFLICTED, "True", reason);
        kgc_status_listenerset_release(&d);

        compute_set(env, INFRA, set[2], &d);
        expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "True",
                    KGC_STATUS_R_LISTENERS_NOT_VALID);
        expect_set_listener(&d, "listener-set-2-listener", KGC_STATUS_ACCEPTED, "True",
                            KGC_STATUS_R_ACCEPTED);
        expect_set_listener(&d, x, KGC_STATUS_ACCEPTED, "False", reason);
        kgc_status_listenerset_release(&d);

        compute_set(env, INFRA, set[3], &d);
        expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "False",
                    KGC_STATUS_R_LISTENERS_NOT_VALID);
        expect_set_listener(&d, x, KGC_STATUS_CONFLICTED, "True", reason);
        kgc_status_listenerset_release(&d);
    }
}

/* Routes attach to a set's listeners through a ListenerSet parentRef only, and a Gateway
 * parentRef reaches the Gateway's own listeners only (listenerset-http-routing.go); the
 * translator's attachments index the merged listener list. */
static void test_listenerset_routes(void **state)
{
    struct fixture_env *env = *state;
    load(env, "listenerset-http-routing.yaml");
    struct kgc_status_gateway g;
    compute(env, "gateway-with-listener-sets-http-routing", &g);
    assert_int_equal(g.n_listeners, 2);
    assert_int_equal(g.n_all_listeners, 6);
    assert_int_equal(g.attached_listener_sets, 2);
    assert_int_equal(fixture_listener(&g, "gateway-listener-1")->attached_routes, 3);
    assert_int_equal(fixture_listener(&g, "gateway-listener-2")->attached_routes, 2);
    kgc_status_gateway_release(&g);

    struct kgc_status_listenerset d;
    compute_set(env, INFRA, "listener-set-http-routing-1", &d);
    assert_int_equal(set_listener(&d, "listener-set-http-routing-1-listener-1")->attached_routes,
                     3);
    assert_int_equal(set_listener(&d, "listener-set-http-routing-1-listener-2")->attached_routes,
                     2);
    kgc_status_listenerset_release(&d);

    const struct kgc_api_httproute *r = kgc_api_as_route(
        fixture_set_find(env->set, KGC_API_HTTPROUTE, INFRA, "attaches-to-all-listeners"));
    assert_non_null(r);
    struct kgc_status_httproute rs;
    assert_int_equal(kgc_status_httproute_compute(&env->o, &env->lk, r, &rs, NULL), 0);
    assert_int_equal(rs.n_parents, 3);
    for (uint32_t i = 0; i < rs.n_parents; i++)
        expect_cond(rs.parents[i].conditions, rs.parents[i].n_conditions, KGC_STATUS_ACCEPTED,
                    "True", KGC_STATUS_R_ACCEPTED);
    assert_string_equal(rs.parents[1].parent_ref.kind, "ListenerSet");
    kgc_status_httproute_release(&rs);

    struct kgc_status_attachment *att = NULL;
    size_t n = 0;
    r = kgc_api_as_route(fixture_set_find(env->set, KGC_API_HTTPROUTE, INFRA,
                                          "listener-set-http-routing-1-section-route"));
    assert_non_null(r);
    assert_int_equal(kgc_status_httproute_attachments(&env->o, &env->lk, r, &att, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_string_equal(att[0].gateway_name, "gateway-with-listener-sets-http-routing");
    assert_string_equal(att[0].listener_name, "listener-set-http-routing-1-listener-1");
    assert_int_equal(att[0].listener_index, 2); /* after the Gateway's two */
    free(att);

    /* a Gateway parentRef naming a set's listener matches nothing */
    load(env, "listenerset-gateway-parent-section-name-not-found.yaml");
    r = kgc_api_as_route(fixture_set_find(env->set, KGC_API_HTTPROUTE, INFRA, "route-via-gateway"));
    assert_int_equal(kgc_status_httproute_compute(&env->o, &env->lk, r, &rs, NULL), 0);
    assert_int_equal(rs.n_parents, 1);
    expect_cond(rs.parents[0].conditions, rs.parents[0].n_conditions, KGC_STATUS_ACCEPTED, "False",
                KGC_STATUS_R_NO_MATCHING_PARENT);
    kgc_status_httproute_release(&rs);
}

/* A set's certificateRefs need a ReferenceGrant from ListenerSet, not the Gateway's
 * (listenerset-reference-grant.go). */
static void test_listenerset_reference_grant(void **state)
{
    struct fixture_env *env = *state;
    load(env, "listenerset-reference-grant.yaml");
    struct kgc_status_listenerset d;
    compute_set(env, INFRA, "listenerset-with-reference-grant", &d);
    expect_set_listener(&d, "listenerset-with-reference-grant-listener", KGC_STATUS_RESOLVED_REFS,
                        "True", KGC_STATUS_R_RESOLVED_REFS);
    kgc_status_listenerset_release(&d);
    compute_set(env, "gateway-api-listener-sets-test-reference-grant-ns",
                "listenerset-without-reference-grant", &d);
    expect_cond(d.conditions, d.n_conditions, KGC_STATUS_ACCEPTED, "False",
                KGC_STATUS_R_LISTENERS_NOT_VALID);
    expect_set_listener(&d, "listenerset-without-reference-grant-listener",
                        KGC_STATUS_RESOLVED_REFS, "False", KGC_STATUS_R_REF_NOT_PERMITTED);
    kgc_status_listenerset_release(&d);
}

/* The patch writes conditions and listeners with observedGeneration, then nothing once written. */
static void test_listenerset_patch(void **state)
{
    struct fixture_env *env = *state;
    load(env, "listenerset-allowed-namespace-same.yaml");
    struct kgc_status_listenerset d;
    compute_set(env, INFRA, "listenerset-in-same-namespace", &d);
    json_object *patch = NULL;
    assert_int_equal(kgc_status_listenerset_patch(&d, NULL, &patch, NULL), 0);
    assert_non_null(patch);
    json_object *acc =
        fixture_json_cond(fixture_json_path(patch, "status.conditions"), KGC_STATUS_ACCEPTED);
    assert_non_null(acc);
    json_object *ls = fixture_json_path(patch, "status.listeners");
    assert_non_null(ls);
    assert_int_equal(json_object_array_length(ls), 1);
    const struct kgc_api_obj *obj = fixture_set_patch_status(
        env->set, KGC_API_LISTENERSET, INFRA, "listenerset-in-same-namespace", patch);
    json_object_put(patch);
    assert_non_null(obj);
    kgc_status_listenerset_release(&d);
    compute_set(env, INFRA, "listenerset-in-same-namespace", &d);
    patch = NULL;
    assert_int_equal(kgc_status_listenerset_patch(&d, NULL, &patch, NULL), 0);
    assert_null(patch);
    kgc_status_listenerset_release(&d);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        T(test_gatewayclass_accepted_only_when_owned),
        T(test_gatewayclass_parameters_ref_is_invalid_parameters),
        T(test_gatewayclass_observed_generation_bump),
        T(test_gateway_observed_generation_bump),
        T(test_gateway_invalid_route_kind),
        T(test_gateway_invalid_tls_configuration),
        T(test_gateway_unsupported_protocol),
        T(test_gateway_invalid_parameters_ref),
        T(test_gateway_secret_reference_grant_missing_or_invalid),
        T(test_gateway_secret_reference_grant_allows),
        T(test_gateway_base_manifests),
        T(test_gateway_conflicts_pick_no_winner),
        T(test_gateway_tcp_needs_plain_stream_listen),
        T(test_gateway_live_port_unavailable_vs_unsupported_protocol),
        T(test_gateway_kong_none_is_pending_and_retries),
        T(test_gateway_kong_cached_same_as_live),
        T(test_gateway_publish_service_port_mapping),
        T(test_gateway_publish_service_missing),
        T(test_gateway_addresses),
        T(test_gateway_requested_addresses),
        T(test_gateway_attached_routes),
        T(test_gateway_not_owned_no_write),
        T(test_gateway_programmed_hook),
        T(test_gateway_invalid_tls_backend_configuration),
        T(test_gateway_backend_client_certificate_resolved),
        T(test_backendtlspolicy_conflicts),
        T(test_backendtlspolicy_invalid_refs_and_sans),
        T(test_backendtlspolicy_patch),
        T(test_listenerset_allowed_namespaces),
        T(test_listenerset_conflict_precedence),
        T(test_listenerset_routes),
        T(test_listenerset_reference_grant),
        T(test_listenerset_patch),
    };
#undef T
    return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}

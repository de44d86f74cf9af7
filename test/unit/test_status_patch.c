/* status: the read-modify-write rules of the merge patch (foreign conditions, order, the cap of
 * 8, lastTransitionTime, newer observedGeneration, resourceVersion, stale listener entries) and
 * the YAML fixture loader the status tests stand on. */
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

static void add_yaml(struct fixture_env *env, const char *yaml)
{
    char err[FIXTURE_ERR_MAX];
    if (fixture_set_add_yaml(env->set, yaml, err, sizeof(err)) != 0)
        fail_msg("%s", err);
}

static const struct kgc_api_gateway *gateway(struct fixture_env *env, const char *name)
{
    const struct kgc_api_gateway *gw =
        kgc_api_as_gateway(fixture_set_find(env->set, KGC_API_GATEWAY, INFRA, name));
    if (!gw)
        fail_msg("no Gateway %s", name);
    return gw;
}

/* The patch for Gateway name as it stands (NULL: no write). */
static json_object *gateway_patch(struct fixture_env *env, const char *name)
{
    struct kgc_status_gateway d;
    assert_int_equal(kgc_status_gateway_compute(&env->o, &env->lk, gateway(env, name), &d, NULL),
                     0);
    json_object *patch = NULL;
    assert_int_equal(kgc_status_gateway_patch(&d, NULL, &patch, NULL), 0);
    kgc_status_gateway_release(&d);
    return patch;
}

static const char *str_at(json_object *root, const char *path)
{
    json_object *v = fixture_json_path(root, path);
    return v ? json_object_get_string(v) : "(absent)";
}

static const char foreign_gateway[] =
    "kind: Gateway\nmetadata: {name: mixed, namespace: gateway-conformance-infra}\n"
    "spec:\n  gatewayClassName: \"{GATEWAY_CLASS_NAME}\"\n"
    "  listeners: [{name: http, port: 80, protocol: HTTP}]\n"
    "status:\n  conditions:\n"
    "  - {type: example.com/First, status: \"True\", reason: R1, message: one, "
    "lastTransitionTime: \"2020-01-01T00:00:00Z\"}\n"
    "  - {type: Programmed, status: Unknown, reason: Pending, message: Waiting for controller, "
    "lastTransitionTime: \"1970-01-01T00:00:00Z\"}\n"
    "  - {type: example.com/Second, status: \"False\", reason: R2, message: two, "
    "lastTransitionTime: \"2020-01-02T00:00:00Z\", observedGeneration: 1}\n"
    "  - {type: Accepted, status: Unknown, reason: Pending, message: Waiting for controller, "
    "lastTransitionTime: \"1970-01-01T00:00:00Z\"}\n"
    "  listeners:\n"
    "  - name: gone\n    supportedKinds: [{kind: HTTPRoute}]\n    attachedRoutes: 3\n"
    "    conditions: []\n"
    "  - name: http\n    supportedKinds: [{kind: HTTPRoute}]\n    attachedRoutes: 0\n"
    "    conditions:\n"
    "    - {type: example.com/Listener, status: \"True\", reason: X, message: x, "
    "lastTransitionTime: \"2020-01-01T00:00:00Z\"}\n";

/* Conditions of types kgc does not own are kept, in place; kgc's are updated in place. */
static void test_patch_foreign_conditions_kept_in_place(void **state)
{
    struct fixture_env *env = *state;
    add_yaml(env, foreign_gateway);
    json_object *p = gateway_patch(env, "mixed");
    assert_non_null(p);
    json_object *c = fixture_json_path(p, "status.conditions");
    assert_int_equal(json_object_array_length(c), 4);
    assert_string_equal(str_at(c, "0.type"), "example.com/First");
    assert_string_equal(str_at(c, "0.lastTransitionTime"), "2020-01-01T00:00:00Z");
    assert_null(fixture_json_path(c, "0.observedGeneration")); /* untouched: not added */
    assert_string_equal(str_at(c, "1.type"), "Programmed");
    assert_string_equal(str_at(c, "1.status"), "True");
    assert_string_equal(str_at(c, "1.lastTransitionTime"), FIXTURE_NOW); /* Unknown → True */
    assert_string_equal(str_at(c, "2.type"), "example.com/Second");
    assert_string_equal(str_at(c, "2.message"), "two");
    assert_string_equal(str_at(c, "3.type"), "Accepted");
    /* status.listeners: one per spec listener; the stale entry is gone, foreign listener
     * conditions stay first */
    json_object *ls = fixture_json_path(p, "status.listeners");
    assert_int_equal(json_object_array_length(ls), 1);
    assert_string_equal(str_at(ls, "0.name"), "http");
    assert_string_equal(str_at(ls, "0.conditions.0.type"), "example.com/Listener");
    assert_string_equal(str_at(ls, "0.conditions.1.type"), "Accepted");
    assert_string_equal(str_at(ls, "0.supportedKinds.0.group"), KGC_STATUS_GROUP);
    assert_int_equal(json_object_get_int(fixture_json_path(ls, "0.attachedRoutes")), 0);
    assert_non_null(fixture_set_patch_status(env->set, KGC_API_GATEWAY, INFRA, "mixed", p));
    json_object_put(p);
    assert_null(gateway_patch(env, "mixed")); /* written: nothing left to change */
}

/* At most 8 conditions: kgc's give way, never another controller's. */
static void test_patch_at_most_eight_conditions(void **state)
{
    struct fixture_env *env = *state;
    char yaml[4096];
    int off = snprintf(yaml, sizeof(yaml),
                       "kind: Gateway\nmetadata: {name: crowded, namespace: " INFRA "}\n"
                       "spec:\n  gatewayClassName: \"{GATEWAY_CLASS_NAME}\"\n"
                       "  listeners: [{name: http, port: 80, protocol: HTTP}]\n"
                       "status:\n  conditions:\n");
    for (int i = 0; i < 7; i++)
        off += snprintf(yaml + off, sizeof(yaml) - (size_t)off,
                        "  - {type: example.com/C%d, status: \"True\", reason: R, message: m, "
                        "lastTransitionTime: \"2020-01-01T00:00:00Z\"}\n",
                        i);
    add_yaml(env, yaml);
    json_object *p = gateway_patch(env, "crowded");
    json_object *c = fixture_json_path(p, "status.conditions");
    assert_int_equal(json_object_array_length(c), KGC_STATUS_MAX_CONDITIONS);
    for (int i = 0; i < 7; i++) {
        char want[32];
        snprintf(want, sizeof(want), "example.com/C%d", i);
        char path[16];
        snprintf(path, sizeof(path), "%d.type", i);
        assert_string_equal(str_at(c, path), want);
    }
    assert_string_equal(str_at(c, "7.type"), "Accepted");
    json_object_put(p);
}

/* A condition written for a newer generation than ours is left alone. */
static void test_patch_newer_observed_generation_left_alone(void **state)
{
    struct fixture_env *env = *state;
    add_yaml(env, "kind: Gateway\nmetadata: {name: newer, namespace: " INFRA ", generation: 1}\n"
                  "spec:\n  gatewayClassName: \"{GATEWAY_CLASS_NAME}\"\n"
                  "  listeners: [{name: http, port: 80, protocol: HTTP}]\n"
                  "status:\n  conditions:\n"
                  "  - {type: Accepted, status: \"False\", reason: Invalid, message: future, "
                  "lastTransitionTime: \"2030-01-01T00:00:00Z\", observedGeneration: 5}\n");
    json_object *p = gateway_patch(env, "newer");
    json_object *acc = fixture_json_cond(fixture_json_path(p, "status.conditions"), "Accepted");
    assert_string_equal(str_at(acc, "message"), "future");
    assert_int_equal(json_object_get_int64(fixture_json_path(acc, "observedGeneration")), 5);
    json_object *prog = fixture_json_cond(fixture_json_path(p, "status.conditions"), "Programmed");
    assert_int_equal(json_object_get_int64(fixture_json_path(prog, "observedGeneration")), 1);
    json_object_put(p);
}

/* lastTransitionTime moves only when the status flips, not on a reason or message change. */
static void test_patch_last_transition_time(void **state)
{
    struct fixture_env *env = *state;
    add_yaml(env, "kind: Gateway\nmetadata: {name: ltt, namespace: " INFRA "}\n"
                  "spec:\n  gatewayClassName: \"{GATEWAY_CLASS_NAME}\"\n"
                  "  listeners: [{name: a, port: 80, protocol: HTTP}, "
                  "{name: b, port: 8080, protocol: HTTP}]\n");
    json_object *p = gateway_patch(env, "ltt");
    assert_non_null(fixture_set_patch_status(env->set, KGC_API_GATEWAY, INFRA, "ltt", p));
    json_object_put(p);
    /* b: PortUnavailable (the Service has no 8080). Kong loses every listen: b turns
     * UnsupportedProtocol (same status False: time kept), a turns False (time moves). */
    fixture_kong_empty(&env->kong);
    env->o.now = FIXTURE_LATER;
    p = gateway_patch(env, "ltt");
    assert_non_null(p);
    json_object *ls = fixture_json_path(p, "status.listeners");
    json_object *a = fixture_json_cond(fixture_json_path(ls, "0.conditions"), "Accepted");
    json_object *b = fixture_json_cond(fixture_json_path(ls, "1.conditions"), "Accepted");
    assert_string_equal(str_at(a, "reason"), KGC_STATUS_R_UNSUPPORTED_PROTOCOL);
    assert_string_equal(str_at(a, "lastTransitionTime"), FIXTURE_LATER);
    assert_string_equal(str_at(b, "reason"), KGC_STATUS_R_UNSUPPORTED_PROTOCOL);
    assert_string_equal(str_at(b, "lastTransitionTime"), FIXTURE_NOW);
    json_object *acc = fixture_json_cond(fixture_json_path(p, "status.conditions"), "Accepted");
    assert_string_equal(str_at(acc, "status"), "False");
    assert_string_equal(str_at(acc, "lastTransitionTime"), FIXTURE_LATER);
    json_object_put(p);
}

/* The patch names the resourceVersion it read (optimistic concurrency) and can be computed
 * against a fresher copy of the object than the one the status came from. */
static void test_patch_resource_version(void **state)
{
    struct fixture_env *env = *state;
    const struct kgc_api_gateway *gw = gateway(env, "same-namespace");
    struct kgc_status_gateway d;
    assert_int_equal(kgc_status_gateway_compute(&env->o, &env->lk, gw, &d, NULL), 0);
    json_object *p = NULL;
    assert_int_equal(kgc_status_gateway_patch(&d, NULL, &p, NULL), 0);
    assert_string_equal(str_at(p, "metadata.resourceVersion"), gw->obj.meta.resource_version);
    /* someone else writes first: the stale patch is a conflict */
    fixture_set_update(env->set, KGC_API_GATEWAY, INFRA, "same-namespace", false);
    assert_null(fixture_set_patch_status(env->set, KGC_API_GATEWAY, INFRA, "same-namespace", p));
    json_object_put(p);
    /* re-read and patch against the current object */
    const struct kgc_api_gateway *cur = gateway(env, "same-namespace");
    assert_int_equal(kgc_status_gateway_patch(&d, cur, &p, NULL), 0);
    assert_string_equal(str_at(p, "metadata.resourceVersion"), cur->obj.meta.resource_version);
    assert_non_null(
        fixture_set_patch_status(env->set, KGC_API_GATEWAY, INFRA, "same-namespace", p));
    json_object_put(p);
    kgc_status_gateway_release(&d);
}

/* A plugin object's Programmed condition: the CRD's default (Unknown/Pending "Waiting for
 * controller") is replaced, other types stay, lastTransitionTime moves only with the status,
 * observedGeneration is the object's; the same condition again is no patch. */
static void test_patch_kongplugin_programmed(void **state)
{
    (void)state;
    static const char json[] =
        "{\"apiVersion\":\"configuration.konghq.com/v1\",\"kind\":\"KongPlugin\",\"metadata\":{"
        "\"name\":\"p\",\"namespace\":\"demo\",\"generation\":3,\"resourceVersion\":\"41\"},"
        "\"plugin\":\"cors\",\"status\":{\"conditions\":[{\"type\":\"Programmed\",\"status\":"
        "\"Unknown\",\"reason\":\"Pending\",\"message\":\"Waiting for controller\","
        "\"lastTransitionTime\":\"1970-01-01T00:00:00Z\"},{\"type\":\"Other\",\"status\":"
        "\"True\",\"reason\":\"X\",\"message\":\"\",\"lastTransitionTime\":"
        "\"2026-01-01T00:00:00Z\"}]}}";
    struct kgc_api_obj *o = NULL;
    assert_int_equal(kgc_api_parse_text(KGC_API_KONGPLUGIN, json, strlen(json), &o, NULL), 0);
    struct kgc_status_condition c = {
        .type = "Programmed", .status = "True", .reason = "Programmed"};
    snprintf(c.message, sizeof(c.message), "Kong accepted the configuration that uses it");
    json_object *p = NULL;
    struct kgc_err err = {0};
    assert_int_equal(
        kgc_status_kongplugin_patch(kgc_api_as_kongplugin(o), &c, "2026-12-06T10:00:00Z", &p, &err),
        0);
    assert_non_null(p);
    assert_string_equal(str_at(p, "metadata.resourceVersion"), "41");
    json_object *conds = fixture_json_path(p, "status.conditions");
    assert_int_equal(json_object_array_length(conds), 2);
    json_object *pc = json_object_array_get_idx(conds, 0);
    assert_string_equal(str_at(pc, "type"), "Programmed");
    assert_string_equal(str_at(pc, "status"), "True");
    assert_string_equal(str_at(pc, "lastTransitionTime"), "2026-12-06T10:00:00Z");
    assert_int_equal(json_object_get_int(fixture_json_path(pc, "observedGeneration")), 3);
    assert_string_equal(str_at(json_object_array_get_idx(conds, 1), "type"), "Other");
    /* written back: the same condition is no patch */
    json_object *obj = json_tokener_parse(json);
    json_object_object_add(obj, "status", json_object_get(fixture_json_path(p, "status")));
    struct kgc_api_obj *o2 = NULL;
    assert_int_equal(kgc_api_parse(KGC_API_KONGPLUGIN, obj, &o2, NULL), 0);
    json_object *p2 = (json_object *)1;
    assert_int_equal(kgc_status_kongplugin_patch(kgc_api_as_kongplugin(o2), &c,
                                                 "2026-12-06T11:00:00Z", &p2, &err),
                     0);
    assert_null(p2);
    json_object_put(obj);
    json_object_put(p);
    kgc_api_obj_unref(o);
    kgc_api_obj_unref(o2);
}

static void test_patch_bad_arguments(void **state)
{
    struct fixture_env *env = *state;
    struct kgc_err err = {0};
    json_object *p = NULL;
    assert_int_equal(kgc_status_gateway_patch(NULL, NULL, &p, &err), KGC_EINVAL);
    assert_int_equal(err.code, KGC_EINVAL);
    struct kgc_status_gateway d;
    assert_int_equal(kgc_status_gateway_compute(&env->o, &env->lk, NULL, &d, &err), KGC_EINVAL);
    kgc_status_gateway_release(&d); /* zeroed: fine */
    struct kgc_status_httproute r;
    assert_int_equal(kgc_status_httproute_compute(NULL, &env->lk, NULL, &r, &err), KGC_EINVAL);
    kgc_status_httproute_release(&r);
    kgc_status_httproute_release(NULL);
    assert_int_equal(kgc_status_gatewayclass_compute(&env->o, &env->lk, NULL, NULL, &err),
                     KGC_EINVAL);
}

/* ---- the fixture loader --------------------------------------------------------------------- */

static void test_fixture_yaml_types_and_placeholders(void **state)
{
    (void)state;
    static const char yaml[] = "---\n"
                               "kind: Gateway\n"
                               "metadata: {name: \"{GATEWAY_CLASS_NAME}-gw\"}\n"
                               "spec:\n"
                               "  port: 80\n"
                               "  quoted: \"80\"\n"
                               "  on: true\n"
                               "  nothing: ~\n"
                               "  ratio: 1.5\n"
                               "  version: 1.12.2\n"
                               "  controller: \"{GATEWAY_CONTROLLER_NAME}\"\n"
                               "  text: |\n    a\n    b\n"
                               "---\n"
                               "# only a comment\n"
                               "---\n"
                               "- not a mapping\n"
                               "---\n"
                               "kind: Service\n";
    json_object **docs = NULL;
    size_t n = 0;
    char err[FIXTURE_ERR_MAX];
    assert_int_equal(
        fixture_yaml_parse(yaml, strlen(yaml), "cls", "x.io/c", &docs, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    json_object *d = docs[0];
    assert_string_equal(str_at(d, "metadata.name"), "cls-gw");
    assert_true(json_object_is_type(fixture_json_path(d, "spec.port"), json_type_int));
    assert_true(json_object_is_type(fixture_json_path(d, "spec.quoted"), json_type_string));
    assert_true(json_object_get_boolean(fixture_json_path(d, "spec.on")));
    json_object *v = (json_object *)1;
    assert_true(json_object_object_get_ex(fixture_json_path(d, "spec"), "nothing", &v));
    assert_null(v);
    assert_true(json_object_is_type(fixture_json_path(d, "spec.ratio"), json_type_double));
    assert_string_equal(str_at(d, "spec.version"), "1.12.2");
    assert_string_equal(str_at(d, "spec.controller"), "x.io/c");
    assert_string_equal(str_at(d, "spec.text"), "a\nb\n");
    assert_string_equal(str_at(docs[1], "kind"), "Service");
    fixture_docs_free(docs, n);

    assert_int_equal(fixture_yaml_parse("a: [1, 2\n", 9, NULL, NULL, &docs, &n, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "YAML error"));
}

static void test_fixture_missing_file_fails_clearly(void **state)
{
    (void)state;
    json_object **docs = NULL;
    size_t n = 0;
    char err[FIXTURE_ERR_MAX];
    assert_int_equal(
        fixture_yaml_load("/nonexistent/x.yaml", NULL, NULL, &docs, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/x.yaml"));
    assert_non_null(strstr(err, "make deps"));
    struct fixture_set *s = fixture_set_new();
    assert_int_equal(fixture_set_load(s, "no-such-manifest.yaml", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "gateway-api/conformance/no-such-manifest.yaml"));
    fixture_set_free(s);
}

/* Every conformance manifest parses, and each object kgc watches becomes a typed object. */
static void test_fixture_every_conformance_manifest_loads(void **state)
{
    (void)state;
    static const char *const manifests[] = {
        "base-manifests.yaml",
        "gateway-invalid-listeners-unsupported-protocol.yaml",
        "gateway-invalid-parameters-ref.yaml",
        "gateway-invalid-route-kind.yaml",
        "gateway-invalid-tls-configuration.yaml",
        "gateway-observed-generation-bump.yaml",
        "gateway-secret-invalid-reference-grant.yaml",
        "gateway-secret-missing-reference-grant.yaml",
        "gateway-secret-reference-grant-all-in-namespace.yaml",
        "gateway-secret-reference-grant-specific.yaml",
        "gatewayclass-observed-generation-bump.yaml",
        "httproute-cross-namespace.yaml",
        "httproute-exact-path-matching.yaml",
        "httproute-header-matching.yaml",
        "httproute-https-listener.yaml",
        "httproute-invalid-backendref-unknown-kind.yaml",
        "httproute-invalid-cross-namespace-backend-ref.yaml",
        "httproute-invalid-cross-namespace-parent-ref.yaml",
        "httproute-invalid-nonexistent-backendref.yaml",
        "httproute-invalid-parentref-not-matching-section-name.yaml",
        "httproute-invalid-reference-grant.yaml",
        "httproute-matching.yaml",
        "httproute-method-matching.yaml",
        "httproute-multiple-gateways.yaml",
        "httproute-observed-generation-bump.yaml",
        "httproute-partially-invalid-via-invalid-reference-grant.yaml",
        "httproute-path-match-order.yaml",
        "httproute-query-param-matching.yaml",
        "httproute-redirect-host-and-status.yaml",
        "httproute-redirect-path.yaml",
        "httproute-reference-grant.yaml",
        "httproute-request-header-modifier.yaml",
        "httproute-rewrite-host.yaml",
        "httproute-rewrite-path.yaml",
        "httproute-simple-same-namespace.yaml",
        "httproute-weight.yaml",
    };
    char err[FIXTURE_ERR_MAX];
    for (size_t i = 0; i < sizeof(manifests) / sizeof(manifests[0]); i++) {
        struct fixture_set *s = fixture_set_new();
        if (fixture_set_load(s, manifests[i], err, sizeof(err)) != 0)
            fail_msg("%s", err);
        fixture_set_free(s);
    }
    struct fixture_set *s = fixture_set_new();
    assert_int_equal(fixture_set_load(s, "base-manifests.yaml", err, sizeof(err)), 0);
    const struct kgc_api_gateway *gw = kgc_api_as_gateway(
        fixture_set_find(s, KGC_API_GATEWAY, INFRA, "same-namespace-with-https-listener"));
    assert_non_null(gw);
    assert_string_equal(gw->gateway_class_name, FIXTURE_CLASS_NAME);
    assert_int_equal(gw->n_listeners, 4);
    assert_int_equal(gw->obj.meta.generation, 1);
    assert_non_null(
        fixture_set_find(s, KGC_API_NAMESPACE, NULL, "gateway-conformance-web-backend"));
    assert_non_null(fixture_set_find(s, KGC_API_SERVICE, INFRA, "infra-backend-v1"));
    fixture_set_free(s);
}

/* The Secrets made at test time are valid TLS Secrets; the conformance junk one is not. */
static void test_fixture_tls_secrets(void **state)
{
    struct fixture_env *env = *state;
    const struct kgc_api_secret *sec = kgc_api_as_secret(
        fixture_set_find(env->set, KGC_API_SECRET, INFRA, "tls-validity-checks-certificate"));
    assert_non_null(sec);
    assert_true(sec->tls_valid);
    char err[FIXTURE_ERR_MAX];
    assert_int_equal(
        fixture_set_load(env->set, "gateway-invalid-tls-configuration.yaml", err, sizeof(err)), 0);
    sec = kgc_api_as_secret(
        fixture_set_find(env->set, KGC_API_SECRET, INFRA, "malformed-certificate"));
    assert_non_null(sec);
    assert_false(sec->tls_valid);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        T(test_patch_foreign_conditions_kept_in_place),
        T(test_patch_at_most_eight_conditions),
        T(test_patch_newer_observed_generation_left_alone),
        T(test_patch_last_transition_time),
        T(test_patch_resource_version),
        T(test_patch_kongplugin_programmed),
        T(test_patch_bad_arguments),
        cmocka_unit_test(test_fixture_yaml_types_and_placeholders),
        cmocka_unit_test(test_fixture_missing_file_fails_clearly),
        cmocka_unit_test(test_fixture_every_conformance_manifest_loads),
        T(test_fixture_tls_secrets),
    };
#undef T
    return cmocka_run_group_tests_name("status_patch", tests, NULL, NULL);
}

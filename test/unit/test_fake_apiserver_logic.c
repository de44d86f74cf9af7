/* Unit tests of the test API server's pure logic: selectors, patches (RFC 7386 merge patch with
 * the RFC's own examples, RFC 6902 JSON patch, strategic merge patch), structural schema
 * defaulting/pruning/validation, version priority, fault rules, printer-column JSONPath. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fakes/apiserver/faults.h"
#include "../fakes/apiserver/jsonutil.h"
#include "../fakes/apiserver/patch.h"
#include "../fakes/apiserver/rtypes.h"
#include "../fakes/apiserver/schema.h"
#include "../fakes/apiserver/selector.h"
#include "../fakes/apiserver/table.h"
#include "kgc/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *parse(const char *s)
{
    char err[256];
    json_object *o = fas_json_parse(s, strlen(s), err, sizeof(err));
    if (!o && strcmp(s, "null") != 0)
        fail_msg("bad test JSON %s: %s", s, err);
    return o;
}

/* Asserts that o serialises to the same JSON value as want. */
static void assert_json(json_object *o, const char *want)
{
    json_object *w = parse(want);
    if (!fas_json_equal(o, w)) {
        size_t n;
        print_error("got  %s\nwant %s\n", o ? fas_json_text(o, &n) : "null", want);
        json_object_put(w);
        fail();
    }
    json_object_put(w);
}

/* ---- selectors ------------------------------------------------------------------------------ */

struct labels {
    const char *const *kv; /* NULL-terminated key, value pairs */
};

static const char *lookup(void *ctx, const char *key)
{
    const struct labels *l = ctx;
    for (size_t i = 0; l->kv[i]; i += 2)
        if (strcmp(l->kv[i], key) == 0)
            return l->kv[i + 1];
    return NULL;
}

static bool label_match(const char *selector, const char *const *kv)
{
    struct fas_selector *sel = NULL;
    char err[256];
    int rc = fas_label_selector_parse(selector, &sel, err, sizeof(err));
    if (rc)
        fail_msg("selector %s: %s", selector, err);
    struct labels l = {kv};
    bool m = fas_selector_matches(sel, lookup, &l);
    fas_selector_free(sel);
    return m;
}

static void test_label_selectors(void **state)
{
    (void)state;
    const char *const app_web[] = {"app", "web", "tier", "front", "n", "5", NULL};
    assert_true(label_match("", app_web));
    assert_true(label_match("app=web", app_web));
    assert_true(label_match("app==web", app_web));
    assert_false(label_match("app=db", app_web));
    assert_true(label_match("app!=db", app_web));
    assert_true(label_match("missing!=x", app_web)); /* != holds when the label is absent */
    assert_true(label_match("app in (db, web)", app_web));
    assert_false(label_match("app in (db,cache)", app_web));
    assert_true(label_match("app notin (db)", app_web));
    assert_true(label_match("missing notin (db)", app_web));
    assert_true(label_match("tier", app_web));
    assert_false(label_match("!tier", app_web));
    assert_true(label_match("!missing", app_web));
    assert_true(label_match("app=web,tier=front", app_web));
    assert_false(label_match("app=web,tier=back", app_web));
    assert_true(label_match("n>3", app_web));
    assert_false(label_match("n<3", app_web));
    assert_true(label_match(" app = web , tier ", app_web));
}

static void test_label_selector_errors(void **state)
{
    (void)state;
    const char *bad[] = {"app in ()", "app in (a", "=x", "app=web,", "a b", "app=(x)", NULL};
    for (size_t i = 0; bad[i]; i++) {
        struct fas_selector *sel = NULL;
        char err[256];
        assert_int_equal(fas_label_selector_parse(bad[i], &sel, err, sizeof(err)), KGC_EINVAL);
        assert_null(sel);
        assert_true(err[0] != '\0');
    }
}

static void test_field_selectors(void **state)
{
    (void)state;
    static const char *const allowed[] = {"metadata.name", "metadata.namespace", NULL};
    const char *const obj[] = {"metadata.name", "a=b", "metadata.namespace", "ns1", NULL};
    struct labels l = {obj};
    struct fas_selector *sel = NULL;
    char err[256];
    assert_int_equal(fas_field_selector_parse("metadata.name=a\\=b,metadata.namespace!=x", allowed,
                                              &sel, err, sizeof(err)),
                     0);
    assert_true(fas_selector_matches(sel, lookup, &l));
    assert_string_equal(fas_selector_exact(sel, "metadata.name"), "a=b");
    fas_selector_free(sel);
    assert_int_equal(
        fas_field_selector_parse("metadata.namespace==ns2", allowed, &sel, err, sizeof(err)), 0);
    assert_false(fas_selector_matches(sel, lookup, &l));
    fas_selector_free(sel);
    assert_int_equal(fas_field_selector_parse("spec.x=1", allowed, &sel, err, sizeof(err)),
                     KGC_EINVAL);
    assert_string_equal(err, "\"spec.x\" is not a known field selector: only \"metadata.name\", "
                             "\"metadata.namespace\"");
    assert_int_equal(fas_field_selector_parse("nonsense", allowed, &sel, err, sizeof(err)),
                     KGC_EINVAL);
}

/* ---- RFC 7386 (the test cases of its Appendix A) ------------------------------------------ */

static void merge_case(const char *target, const char *patch, const char *want)
{
    json_object *doc = parse(target);
    json_object *p = parse(patch);
    assert_int_equal(fas_merge_patch(&doc, p), 0);
    assert_json(doc, want);
    json_object_put(doc);
    json_object_put(p);
}

static void test_merge_patch_rfc7386(void **state)
{
    (void)state;
    merge_case("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    merge_case("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
    merge_case("{\"a\":\"b\"}", "{\"a\":null}", "{}");
    merge_case("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
    merge_case("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    merge_case("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
    merge_case("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
               "{\"a\":{\"b\":\"d\"}}");
    merge_case("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
    merge_case("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
    merge_case("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]");
    merge_case("{\"a\":\"foo\"}", "\"bar\"", "\"bar\"");
    merge_case("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
    merge_case("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
    merge_case("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
    /* null as the whole patch replaces the document with null */
    json_object *doc = parse("{\"a\":1}");
    assert_int_equal(fas_merge_patch(&doc, NULL), 0);
    assert_null(doc);
}

/* ---- RFC 6902 ------------------------------------------------------------------------------- */

static int jpatch(const char *doc_s, const char *ops_s, json_object **out)
{
    json_object *doc = parse(doc_s);
    json_object *ops = parse(ops_s);
    char err[256];
    int rc = fas_json_patch(&doc, ops, err, sizeof(err));
    json_object_put(ops);
    *out = doc;
    return rc;
}

static void test_json_patch(void **state)
{
    (void)state;
    json_object *d;
    assert_int_equal(
        jpatch("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]", &d),
        0);
    assert_json(d, "{\"foo\":\"bar\",\"baz\":\"qux\"}");
    json_object_put(d);
    assert_int_equal(jpatch("{\"foo\":[\"bar\",\"baz\"]}",
                            "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]", &d),
                     0);
    assert_json(d, "{\"foo\":[\"bar\",\"qux\",\"baz\"]}");
    json_object_put(d);
    assert_int_equal(
        jpatch("{\"foo\":[1]}", "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":2}]", &d), 0);
    assert_json(d, "{\"foo\":[1,2]}");
    json_object_put(d);
    assert_int_equal(
        jpatch("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]", &d),
        0);
    assert_json(d, "{\"foo\":\"bar\"}");
    json_object_put(d);
    assert_int_equal(jpatch("{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
                            "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", &d),
                     0);
    assert_json(d, "{\"foo\":[\"bar\",\"baz\"]}");
    json_object_put(d);
    assert_int_equal(jpatch("{\"baz\":\"qux\"}",
                            "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]", &d),
                     0);
    assert_json(d, "{\"baz\":\"boo\"}");
    json_object_put(d);
    assert_int_equal(
        jpatch("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
               "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]", &d),
        0);
    assert_json(d, "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}");
    json_object_put(d);
    assert_int_equal(
        jpatch("{\"a\":{\"b\":1}}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"}]", &d), 0);
    assert_json(d, "{\"a\":{\"b\":1},\"c\":{\"b\":1}}");
    json_object_put(d);
    assert_int_equal(jpatch("{\"a/b\":1,\"m~n\":2}",
                            "[{\"op\":\"test\",\"path\":\"/"
                            "a~1b\",\"value\":1},{\"op\":\"remove\",\"path\":\"/m~0n\"}]",
                            &d),
                     0);
    assert_json(d, "{\"a/b\":1}");
    json_object_put(d);
    /* failures */
    assert_int_equal(
        jpatch("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]", &d),
        KGC_EINVAL);
    json_object_put(d);
    assert_int_equal(jpatch("{\"baz\":\"qux\"}", "[{\"op\":\"remove\",\"path\":\"/nope\"}]", &d),
                     KGC_EINVAL);
    json_object_put(d);
    assert_int_equal(jpatch("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/5\",\"value\":1}]", &d),
                     KGC_EINVAL);
    json_object_put(d);
    assert_int_equal(jpatch("{}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", &d), KGC_EINVAL);
    json_object_put(d);
    assert_int_equal(jpatch("{}", "{\"op\":\"add\"}", &d), KGC_EINVAL);
    json_object_put(d);
}

static void test_strategic_merge_patch(void **state)
{
    (void)state;
    json_object *doc = parse("{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"a:1\"},"
                             "{\"name\":\"b\",\"image\":\"b:1\"}],\"finalizers\":[\"x\"]}}");
    json_object *p = parse("{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"b\"},"
                           "{\"name\":\"a\"},{\"name\":\"c\"}],\"containers\":[{\"name\":\"a\","
                           "\"image\":\"a:2\"},{\"name\":\"c\",\"image\":\"c:1\"}],"
                           "\"finalizers\":[\"y\"]}}");
    char err[128];
    assert_int_equal(fas_strategic_merge_patch(&doc, p, err, sizeof(err)), 0);
    assert_json(doc,
                "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"b:1\"},{\"name\":\"a\","
                "\"image\":\"a:2\"},{\"name\":\"c\",\"image\":\"c:1\"}],"
                "\"finalizers\":[\"x\",\"y\"]}}");
    json_object_put(p);
    p = parse("{\"spec\":{\"containers\":[{\"name\":\"b\",\"$patch\":\"delete\"}],"
              "\"$deleteFromPrimitiveList/finalizers\":[\"x\"]}}");
    assert_int_equal(fas_strategic_merge_patch(&doc, p, err, sizeof(err)), 0);
    assert_json(doc,
                "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"a:2\"},{\"name\":\"c\","
                "\"image\":\"c:1\"}],\"finalizers\":[\"y\"]}}");
    json_object_put(p);
    json_object_put(doc);
    json_object *svc_port = parse("{\"port\":80}");
    json_object *c_port = parse("{\"containerPort\":80}");
    assert_string_equal(fas_smp_merge_key("ports", svc_port), "port");
    assert_string_equal(fas_smp_merge_key("ports", c_port), "containerPort");
    assert_null(fas_smp_merge_key("args", svc_port));
    json_object_put(svc_port);
    json_object_put(c_port);
}

/* ---- structural schema ---------------------------------------------------------------------- */

/* A cut-down Gateway schema with the defaults the Gateway API relies on. */
static const char gateway_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"apiVersion\":{\"type\":\"string\"},\"kind\":{\"type\":\"string\"},"
    "\"metadata\":{\"type\":\"object\"},"
    "\"spec\":{\"type\":\"object\",\"required\":[\"gatewayClassName\",\"listeners\"],"
    "\"properties\":{\"gatewayClassName\":{\"type\":\"string\",\"maxLength\":253,"
    "\"minLength\":1},"
    "\"listeners\":{\"type\":\"array\",\"maxItems\":2,\"items\":{\"type\":\"object\","
    "\"required\":[\"name\",\"port\",\"protocol\"],\"properties\":{"
    "\"name\":{\"type\":\"string\",\"pattern\":\"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$\"},"
    "\"port\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535},"
    "\"protocol\":{\"type\":\"string\",\"enum\":[\"HTTP\",\"HTTPS\"]},"
    "\"allowedRoutes\":{\"type\":\"object\",\"default\":{\"namespaces\":{\"from\":\"Same\"}},"
    "\"properties\":{\"namespaces\":{\"type\":\"object\",\"default\":{\"from\":\"Same\"},"
    "\"properties\":{\"from\":{\"type\":\"string\",\"default\":\"Same\"},"
    "\"selector\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}}},"
    "\"kinds\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"group\":{\"type\":\"string\",\"default\":\"gateway.networking.k8s.io\"},"
    "\"kind\":{\"type\":\"string\"}}}}}}}}},"
    "\"labels\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}},"
    "\"port\":{\"x-kubernetes-int-or-string\":true}}},"
    "\"status\":{\"type\":\"object\",\"default\":{\"conditions\":[{\"type\":\"Accepted\","
    "\"status\":\"Unknown\",\"message\":\"Waiting for controller\"}]},"
    "\"properties\":{\"conditions\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"x-kubernetes-preserve-unknown-fields\":true}}}}}}";

static void test_schema_defaults(void **state)
{
    (void)state;
    json_object *schema = parse(gateway_schema);
    json_object *gw = parse("{\"apiVersion\":\"g/v1\",\"kind\":\"Gateway\",\"metadata\":"
                            "{\"name\":\"x\"},\"spec\":{\"gatewayClassName\":\"c\","
                            "\"listeners\":[{\"name\":\"a\",\"port\":80,\"protocol\":\"HTTP\"},"
                            "{\"name\":\"b\",\"port\":81,\"protocol\":\"HTTP\","
                            "\"allowedRoutes\":{\"namespaces\":{\"from\":\"All\"},"
                            "\"kinds\":[{\"kind\":\"HTTPRoute\"}]}}]}}");
    assert_int_equal(fas_schema_default(gw, schema), 0);
    assert_json(gw, "{\"apiVersion\":\"g/v1\",\"kind\":\"Gateway\",\"metadata\":{\"name\":\"x\"},"
                    "\"spec\":{\"gatewayClassName\":\"c\",\"listeners\":["
                    "{\"name\":\"a\",\"port\":80,\"protocol\":\"HTTP\",\"allowedRoutes\":"
                    "{\"namespaces\":{\"from\":\"Same\"}}},"
                    "{\"name\":\"b\",\"port\":81,\"protocol\":\"HTTP\",\"allowedRoutes\":"
                    "{\"namespaces\":{\"from\":\"All\"},\"kinds\":[{\"group\":"
                    "\"gateway.networking.k8s.io\",\"kind\":\"HTTPRoute\"}]}}]},"
                    "\"status\":{\"conditions\":[{\"type\":\"Accepted\",\"status\":\"Unknown\","
                    "\"message\":\"Waiting for controller\"}]}}");
    /* An explicit null of a defaulted, non-nullable field gets the default; one without a
     * default is dropped. */
    json_object *n = parse("{\"spec\":{\"gatewayClassName\":null,\"listeners\":[{\"name\":\"a\","
                           "\"allowedRoutes\":{\"namespaces\":null}}]}}");
    assert_int_equal(fas_schema_default(n, schema), 0);
    assert_json(fas_json_get(n, "spec"), "{\"listeners\":[{\"name\":\"a\",\"allowedRoutes\":"
                                         "{\"namespaces\":{\"from\":\"Same\"}}}]}");
    json_object_put(n);
    json_object_put(gw);
    json_object_put(schema);
}

static void test_schema_prune(void **state)
{
    (void)state;
    json_object *schema = parse(gateway_schema);
    json_object *gw = parse("{\"apiVersion\":\"g/v1\",\"kind\":\"Gateway\",\"metadata\":{\"name\":"
                            "\"x\",\"extra\":1},\"bogus\":1,\"spec\":{\"gatewayClassName\":\"c\","
                            "\"nope\":{\"a\":1},\"labels\":{\"k\":\"v\"},\"listeners\":[{\"name\":"
                            "\"a\",\"port\":80,\"protocol\":\"HTTP\",\"x\":2,\"allowedRoutes\":"
                            "{\"namespaces\":{\"selector\":{\"anything\":true}}}}]}}");
    json_object *unknown = json_object_new_array();
    assert_int_equal(fas_schema_prune(gw, schema, unknown), 0);
    assert_json(unknown, "[\"bogus\",\"spec.nope\",\"spec.listeners[0].x\"]");
    assert_json(gw, "{\"apiVersion\":\"g/v1\",\"kind\":\"Gateway\",\"metadata\":{\"name\":\"x\","
                    "\"extra\":1},\"spec\":{\"gatewayClassName\":\"c\",\"labels\":{\"k\":\"v\"},"
                    "\"listeners\":[{\"name\":\"a\",\"port\":80,\"protocol\":\"HTTP\","
                    "\"allowedRoutes\":{\"namespaces\":{\"selector\":{\"anything\":true}}}}]}}");
    json_object_put(unknown);
    json_object_put(gw);
    json_object_put(schema);
}

static const char *first_field(json_object *causes)
{
    return fas_json_str(json_object_array_get_idx(causes, 0), "field");
}

static int validate(struct fas_schema_ctx *ctx, json_object *schema, const char *obj,
                    json_object **causes)
{
    json_object *o = parse(obj);
    *causes = json_object_new_array();
    int n = fas_schema_validate(ctx, o, schema, *causes);
    json_object_put(o);
    return n;
}

static void test_schema_validate(void **state)
{
    (void)state;
    struct fas_schema_ctx ctx;
    fas_schema_ctx_init(&ctx);
    json_object *schema = parse(gateway_schema);
    json_object *causes;
    assert_int_equal(validate(&ctx, schema,
                              "{\"spec\":{\"gatewayClassName\":\"c\",\"listeners\":"
                              "[{\"name\":\"a\",\"port\":80,\"protocol\":\"HTTP\"}],"
                              "\"port\":\"http\"}}",
                              &causes),
                     0);
    json_object_put(causes);
    assert_int_equal(validate(&ctx, schema, "{\"spec\":{\"listeners\":[]}}", &causes), 1);
    assert_string_equal(first_field(causes), "spec.gatewayClassName");
    assert_string_equal(fas_json_str(json_object_array_get_idx(causes, 0), "reason"),
                        "FieldValueRequired");
    json_object_put(causes);
    assert_int_equal(validate(&ctx, schema,
                              "{\"spec\":{\"gatewayClassName\":\"c\",\"listeners\":"
                              "[{\"name\":\"a\",\"port\":70000,\"protocol\":\"HTTP\"}]}}",
                              &causes),
                     1);
    assert_string_equal(first_field(causes), "spec.listeners[0].port");
    json_object_put(causes);
    assert_int_equal(validate(&ctx, schema,
                              "{\"spec\":{\"gatewayClassName\":\"c\",\"listeners\":"
                              "[{\"name\":\"A_\",\"port\":\"80\",\"protocol\":\"UDP\"}]}}",
                              &causes),
                     3);
    json_object_put(causes);
    assert_int_equal(validate(&ctx, schema,
                              "{\"spec\":{\"gatewayClassName\":\"\",\"listeners\":"
                              "[{\"name\":\"a\",\"port\":1,\"protocol\":\"HTTP\"},{\"name\":"
                              "\"b\",\"port\":1,\"protocol\":\"HTTP\"},{\"name\":\"c\",\"port\":"
                              "1,\"protocol\":\"HTTP\"}],\"port\":true}}",
                              &causes),
                     3); /* minLength, maxItems, int-or-string */
    json_object_put(causes);
    assert_int_equal(validate(&ctx, schema,
                              "{\"spec\":{\"gatewayClassName\":\"c\",\"listeners\":"
                              "[],\"labels\":{\"k\":1}}}",
                              &causes),
                     1);
    assert_string_equal(first_field(causes), "spec.labels[k]");
    json_object_put(causes);
    /* the outcome of a pattern per value is remembered (a few values per pattern): the same
     * answers again and again, for more values than it keeps, long ones and the empty one */
    char name[100], obj[256];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 40; i++) {
            bool bad = i % 3 == 0;
            if (i == 39)
                name[0] = '\0';
            else if (i % 5 == 4)
                snprintf(name, sizeof(name), "l%070d%s", i, bad ? "-" : "x");
            else
                snprintf(name, sizeof(name), "n%d%s", i, bad ? "_" : "");
            snprintf(obj, sizeof(obj),
                     "{\"spec\":{\"gatewayClassName\":\"c\",\"listeners\":[{\"name\":\"%s\","
                     "\"port\":1,\"protocol\":\"HTTP\"}]}}",
                     name);
            int want = name[0] ? bad : 1;
            for (int again = 0; again < 2; again++) {
                if (validate(&ctx, schema, obj, &causes) != want)
                    fail_msg("round %d: %s: want %d causes", round, name, want);
                json_object_put(causes);
            }
        }
    json_object_put(schema);
    fas_schema_ctx_destroy(&ctx);
}

/* ---- versions, faults, table helpers -------------------------------------------------------- */

static void test_version_priority(void **state)
{
    (void)state;
    const char *order[] = {"v2",        "v1",        "v11beta2", "v10beta3", "v3beta1",
                           "v12alpha1", "v11alpha2", "foo1",     "foo10",    NULL};
    for (size_t i = 0; order[i + 1]; i++) {
        assert_true(fas_version_compare(order[i], order[i + 1]) < 0);
        assert_true(fas_version_compare(order[i + 1], order[i]) > 0);
    }
    assert_int_equal(fas_version_compare("v1", "v1"), 0);
}

static void test_faults(void **state)
{
    (void)state;
    struct fas_faults f;
    fas_faults_init(&f);
    long ms;
    assert_int_equal(fas_faults_add_fail(&f, "/apis/x", NULL, 503, 2, 0), 0);
    assert_int_equal(fas_faults_check(&f, "/api/v1", "get", &ms), 0);
    assert_int_equal(fas_faults_check(&f, "/apis/x/y", "get", &ms), 503);
    assert_int_equal(fas_faults_check(&f, "/apis/x/y", "list", &ms), 503);
    assert_int_equal(fas_faults_check(&f, "/apis/x/y", "get", &ms), 0); /* used up */
    assert_int_equal(fas_faults_add_fail(&f, "/apis/x", "patch", 409, 0, 2), 0);
    int seen[6];
    for (int i = 0; i < 6; i++)
        seen[i] = fas_faults_check(&f, "/apis/x", "patch", &ms);
    assert_int_equal(seen[0], 0);
    assert_int_equal(seen[1], 409);
    assert_int_equal(seen[2], 0);
    assert_int_equal(seen[3], 409);
    assert_int_equal(seen[5], 409); /* every=2 without count: unlimited */
    assert_int_equal(fas_faults_check(&f, "/apis/x", "get", &ms), 0); /* other verb */
    assert_int_equal(fas_faults_set_latency(&f, "/apis", NULL, 25), 0);
    assert_int_equal(fas_faults_check(&f, "/apis/x", "get", &ms), 0);
    assert_int_equal(ms, 25);
    assert_int_equal(fas_faults_set_latency(&f, "/apis", NULL, 0), 0);
    fas_faults_check(&f, "/apis/x", "get", &ms);
    assert_int_equal(ms, 0);
    assert_int_equal(fas_faults_add_fail(&f, "/a", NULL, 200, 1, 0), KGC_EINVAL);
    assert_int_equal(fas_faults_add_fail(&f, "/a", "frob", 500, 1, 0), KGC_EINVAL);
    fas_faults_reset(&f);
    assert_int_equal(fas_faults_check(&f, "/apis/x", "patch", &ms), 0);
    assert_int_equal(fas_faults_check(&f, "/apis/x", "patch", &ms), 0);
    fas_faults_destroy(&f);
}

static void test_human_duration(void **state)
{
    (void)state;
    const struct {
        long long s;
        const char *want;
    } cases[] = {{-5, "<invalid>"},
                 {0, "0s"},
                 {119, "119s"},
                 {120, "2m"},
                 {125, "2m5s"},
                 {600, "10m"},
                 {3 * 3600, "3h"},
                 {3 * 3600 + 60, "3h1m"},
                 {9 * 3600, "9h"},
                 {50 * 3600, "2d2h"},
                 {9 * 86400, "9d"},
                 {800 * 86400, "2y70d"},
                 {9 * 365 * 86400LL, "9y"}};
    char buf[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fas_human_duration(cases[i].s, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].want);
    }
}

static void test_jsonpath(void **state)
{
    (void)state;
    json_object *o = parse("{\"spec\":{\"c\":\"kgc\"},\"status\":{\"addresses\":[{\"value\":"
                           "\"10.0.0.1\"},{\"value\":\"10.0.0.2\"}],\"conditions\":[{\"type\":"
                           "\"Accepted\",\"status\":\"True\"},{\"type\":\"Programmed\",\"status\":"
                           "\"False\"}]}}");
    assert_string_equal(json_object_get_string(fas_jsonpath_first(o, ".spec.c")), "kgc");
    assert_string_equal(json_object_get_string(fas_jsonpath_first(o, ".status.addresses[*].value")),
                        "10.0.0.1");
    assert_string_equal(json_object_get_string(fas_jsonpath_first(o, ".status.addresses[1].value")),
                        "10.0.0.2");
    assert_string_equal(json_object_get_string(fas_jsonpath_first(
                            o, ".status.conditions[?(@.type==\"Programmed\")].status")),
                        "False");
    assert_string_equal(json_object_get_string(fas_jsonpath_first(o, "{.spec.c}")), "kgc");
    assert_null(fas_jsonpath_first(o, ".status.conditions[?(@.type==\"Nope\")].status"));
    assert_null(fas_jsonpath_first(o, ".spec.missing"));
    json_object_put(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_selectors), cmocka_unit_test(test_label_selector_errors),
        cmocka_unit_test(test_field_selectors), cmocka_unit_test(test_merge_patch_rfc7386),
        cmocka_unit_test(test_json_patch),      cmocka_unit_test(test_strategic_merge_patch),
        cmocka_unit_test(test_schema_defaults), cmocka_unit_test(test_schema_prune),
        cmocka_unit_test(test_schema_validate), cmocka_unit_test(test_version_priority),
        cmocka_unit_test(test_faults),          cmocka_unit_test(test_human_duration),
        cmocka_unit_test(test_jsonpath),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

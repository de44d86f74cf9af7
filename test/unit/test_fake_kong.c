/* The test Kong's declarative-config validation: one test per rule, each asserting Kong 3.x's
 * message text and field path (test/fakes/kong/README.md lists the sources). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fakes/kong/kong_fake.h"
#include "../fakes/kong/router.h"

#include <kgc/err.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* ---- helpers --------------------------------------------------------------------------------- */

static json_object *parse(const char *text)
{
    json_object *doc = json_tokener_parse(text);
    assert_non_null(doc);
    return doc;
}

static const char *const *plugins_under_test(void)
{
    return NULL; /* Kong's bundled set */
}

/* One memo for the whole run: every document the helpers below validate is also validated with
 * it, twice (the second time its valid entities are memo hits), and must get the same answer. */
static struct kf_vmemo *g_memo;

static char *text_of(json_object *j)
{
    return strdup(j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN) : "-");
}

/* kf_validate(doc, o, ...), checked against the same validation with the shared memo. Answers
 * with random ids (entities Kong cannot derive an id for) differ from run to run: those are
 * compared by return code only. */
static int validate_checked(json_object *doc, const struct kf_validate_opts *o,
                            json_object **entities, json_object **body)
{
    int rc = kf_validate(doc, o, entities, body);
    json_object *e2 = NULL, *b2 = NULL;
    int rc2 = kf_validate(doc, o, &e2, &b2);
    assert_int_equal(rc2, rc);
    char *want_e = text_of(*entities), *want_b = text_of(*body), *e2t = text_of(e2),
         *b2t = text_of(b2);
    bool deterministic = strcmp(want_e, e2t) == 0 && strcmp(want_b, b2t) == 0;
    json_object_put(e2);
    json_object_put(b2);
    free(e2t);
    free(b2t);
    if (!g_memo) {
        g_memo = kf_vmemo_new();
        assert_non_null(g_memo);
    }
    struct kf_validate_opts mo = *o;
    mo.memo = g_memo;
    for (int round = 0; round < 2; round++) {
        json_object *me = NULL, *mb = NULL;
        mo.share_memo_values = round == 1; /* the 201 body copies the memo's values, or shares */
        assert_int_equal(kf_validate(doc, &mo, &me, &mb), rc);
        char *met = text_of(me), *mbt = text_of(mb);
        if (deterministic) {
            assert_string_equal(met, want_e);
            assert_string_equal(mbt, want_b);
        }
        free(met);
        free(mbt);
        json_object_put(me);
        json_object_put(mb);
    }
    free(want_e);
    free(want_b);
    return rc;
}

/* Validates doc (taken) and expects a rejection; returns the 400 body. */
static json_object *reject_doc_flavor(json_object *doc, bool flatten, const char *flavor)
{
    const struct kf_validate_opts o = {
        .plugins = plugins_under_test(), .router_flavor = flavor, .flatten_errors = flatten};
    json_object *entities = NULL, *body = NULL;
    int rc = validate_checked(doc, &o, &entities, &body);
    json_object_put(doc);
    if (rc != KGC_EINVAL) {
        print_message("expected a rejection, got rc=%d entities=%s\n", rc,
                      entities ? json_object_to_json_string(entities) : "-");
    }
    json_object_put(entities);
    assert_int_equal(rc, KGC_EINVAL);
    assert_non_null(body);
    return body;
}

static json_object *reject(const char *text, bool flatten)
{
    return reject_doc_flavor(parse(text), flatten, NULL);
}

static json_object *accept_doc(json_object *doc)
{
    const struct kf_validate_opts o = {.plugins = plugins_under_test()};
    json_object *entities = NULL, *body = NULL;
    int rc = validate_checked(doc, &o, &entities, &body);
    json_object_put(doc);
    if (rc != 0) {
        print_message("expected acceptance, got %s\n",
                      body ? json_object_to_json_string(body) : "-");
    }
    json_object_put(body);
    assert_int_equal(rc, 0);
    assert_non_null(entities);
    return entities;
}

static json_object *accept(const char *text)
{
    return accept_doc(parse(text));
}

static const char *str_at(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

/* An entry of flattened_errors with entity_type type (and entity_name name unless NULL) holding
 * an error with field (NULL: a whole-entity error) and message. */
static json_object *find_flat(json_object *body, const char *type, const char *name,
                              const char *field, const char *msg)
{
    json_object *fl = NULL;
    if (!json_object_object_get_ex(body, "flattened_errors", &fl)) {
        return NULL;
    }
    for (size_t i = 0; i < json_object_array_length(fl); i++) {
        json_object *e = json_object_array_get_idx(fl, i);
        const char *et = str_at(e, "entity_type"), *en = str_at(e, "entity_name");
        if (!et || strcmp(et, type) != 0 || (name && (!en || strcmp(en, name) != 0))) {
            continue;
        }
        json_object *errs = NULL;
        json_object_object_get_ex(e, "errors", &errs);
        for (size_t k = 0; k < json_object_array_length(errs); k++) {
            json_object *err = json_object_array_get_idx(errs, k);
            const char *t = str_at(err, "type"), *f = str_at(err, "field"),
                       *m = str_at(err, "message");
            bool field_ok = field ? (t && strcmp(t, "field") == 0 && f && strcmp(f, field) == 0)
                                  : (t && strcmp(t, "entity") == 0 && !f);
            if (field_ok && m && strcmp(m, msg) == 0) {
                return e;
            }
        }
    }
    return NULL;
}

static void check_flat(json_object *body, const char *type, const char *name, const char *field,
                       const char *msg, int line)
{
    if (!find_flat(body, type, name, field, msg)) {
        print_message("line %d: missing %s %s %s: %s\nin %s\n", line, type, name ? name : "-",
                      field ? field : "@entity", msg, json_object_to_json_string(body));
        fail();
    }
}

#define assert_flat(body, type, name, field, msg)                                                  \
    check_flat((body), (type), (name), (field), (msg), __LINE__)

/* The single-rule shortcut: a config with one bad field must produce exactly this error. */
static void expect_error(const char *text, const char *type, const char *name, const char *field,
                         const char *msg)
{
    json_object *body = reject(text, true);
    assert_flat(body, type, name, field, msg);
    json_object_put(body);
}

/* The route (the only one in text, named name) through kf_validate under flavor: when the router
 * model rejects it (kf_route_validate), Kong's message must be the route's error where the
 * router puts it; when it accepts it, the configuration must be accepted. Works with the router
 * stub (accepting everything) and with the real router. */
static void expect_router_verdict_flavor(const char *text, const char *name, const char *flavor)
{
    json_object *doc = parse(text);
    json_object *routes = NULL;
    assert_true(json_object_object_get_ex(doc, "routes", &routes));
    json_object *route = json_object_array_get_idx(routes, 0);
    enum kf_flavor fl = (enum kf_flavor)kf_flavor_parse(flavor ? flavor : "traditional_compatible");
    json_object *copy = NULL;
    assert_int_equal(json_object_deep_copy(route, &copy, NULL), 0);
    if (!json_object_object_get_ex(copy, "protocols", NULL)) {
        json_object *d = json_object_new_array();
        json_object_array_add(d, json_object_new_string("http"));
        json_object_array_add(d, json_object_new_string("https"));
        json_object_object_add(copy, "protocols", d);
    }
    const char *field = NULL;
    char msg[2048] = "";
    int rc = kf_route_validate(fl, copy, &field, msg, sizeof(msg));
    json_object_put(copy);
    if (rc == 0) {
        const struct kf_validate_opts o = {.router_flavor = flavor};
        json_object *ents = NULL, *err = NULL;
        int vrc = kf_validate(doc, &o, &ents, &err);
        if (vrc != 0) {
            print_message("%s: router accepts, kf_validate rejects: %s\n", text,
                          err ? json_object_to_json_string(err) : "-");
        }
        json_object_put(err);
        assert_int_equal(vrc, 0);
        json_object_put(ents);
        json_object_put(doc);
        return;
    }
    json_object *body = reject_doc_flavor(doc, true, flavor);
    assert_flat(body, "route", name, field, msg);
    json_object_put(body);
}

static void expect_router_verdict(const char *text, const char *name)
{
    expect_router_verdict_flavor(text, name, NULL);
}

/* ---- the document
 * -------------------------------------------------------------------------------- */

static void test_top_level_unknown_field(void **state)
{
    (void)state;
    json_object *body = reject("{\"_format_version\":\"3.0\",\"bogus\":1}", true);
    assert_int_equal(json_object_get_int(json_object_object_get(body, "code")), 14);
    assert_string_equal(str_at(body, "name"), "invalid declarative configuration");
    assert_string_equal(str_at(body, "message"),
                        "declarative config is invalid: {bogus=\"unknown field\"}");
    assert_string_equal(str_at(json_object_object_get(body, "fields"), "bogus"), "unknown field");
    assert_int_equal(json_object_array_length(json_object_object_get(body, "flattened_errors")), 0);
    json_object_put(body);
}

static void test_format_version(void **state)
{
    (void)state;
    json_object *body = reject("{\"services\":[]}", false);
    assert_string_equal(str_at(json_object_object_get(body, "fields"), "_format_version"),
                        "required field missing");
    assert_null(json_object_object_get(body, "flattened_errors"));
    json_object_put(body);
    body = reject("{\"_format_version\":\"2.0\"}", false);
    assert_string_equal(str_at(json_object_object_get(body, "fields"), "_format_version"),
                        "expected one of: 1.1, 2.1, 3.0");
    json_object_put(body);
    body = reject("{\"_format_version\":3.0}", false);
    assert_string_equal(str_at(json_object_object_get(body, "fields"), "_format_version"),
                        "expected a string");
    json_object_put(body);
}

static void test_message_is_kongs_lua_table_text(void **state)
{
    (void)state;
    /* the exact body Kong's own test expects for `services: [{port: -12}]` */
    json_object *body =
        reject("{\"_format_version\":\"3.0\",\"services\":[{\"port\":-12}]}", false);
    assert_string_equal(str_at(body, "message"),
                        "declarative config is invalid: {services={{host=\"required field "
                        "missing\",port=\"value should be between 0 and 65535\"}}}");
    json_object *svc = json_object_array_get_idx(
        json_object_object_get(json_object_object_get(body, "fields"), "services"), 0);
    assert_string_equal(str_at(svc, "host"), "required field missing");
    json_object_put(body);
}

/* ---- services
 * ------------------------------------------------------------------------------------ */

static void test_service_name_charset(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"a b\",\"host\":\"x\"}]}",
                 "service", "a b", "name",
                 "invalid value 'a b': the only accepted ascii characters are alphanumerics or "
                 "., -, _, and ~");
}

static void test_service_protocol_enum(void **state)
{
    (void)state;
    expect_error(
        "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"x\",\"protocol\":"
        "\"nope\"}]}",
        "service", "s", "protocol",
        "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp");
}

static void test_service_host_required(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\"}]}", "service", "s",
                 "host", "required field missing");
    expect_error("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"a:80\"}]}",
                 "service", "s", "host", "must not have a port");
    expect_error("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"a/b\"}]}",
                 "service", "s", "host", "invalid value: a/b");
}

static void test_service_port_range(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"x\","
                 "\"port\":70000}]}",
                 "service", "s", "port", "value should be between 0 and 65535");
    expect_error("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"x\","
                 "\"port\":\"80\"}]}",
                 "service", "s", "port", "expected an integer");
}

static void test_service_path_starts_with_slash(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"x\","
                 "\"path\":\"api\"}]}",
                 "service", "s", "path", "should start with: /");
    expect_error("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"x\","
                 "\"path\":\"/a//b\"}]}",
                 "service", "s", "path", "must not have empty segments");
}

static void test_service_path_only_for_http(void **state)
{
    (void)state;
    json_object *body = reject(
        "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"x\",\"protocol\":"
        "\"tcp\",\"path\":\"/a\"}]}",
        true);
    assert_flat(body, "service", "s", "path", "value must be null");
    assert_flat(body, "service", "s", NULL,
                "failed conditional validation given value of field 'protocol'");
    json_object_put(body);
    json_object_put(
        accept("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"x\","
               "\"protocol\":\"https\",\"path\":\"/a\"}]}"));
}

static void test_service_retries_and_timeouts(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"x\","
                 "\"retries\":40000}]}",
                 "service", "s", "retries", "value should be between 0 and 32767");
    expect_error("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"x\","
                 "\"connect_timeout\":0}]}",
                 "service", "s", "connect_timeout", "value should be between 1 and 2147483646");
    expect_error("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"x\","
                 "\"read_timeout\":2147483647}]}",
                 "service", "s", "read_timeout", "value should be between 1 and 2147483646");
}

static void test_service_unknown_field(void **state)
{
    (void)state;
    expect_error(
        "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"x\",\"colour\":1}]}",
        "service", "s", "colour", "unknown field");
}

static void test_service_url_shorthand(void **state)
{
    (void)state;
    json_object *e = accept("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"url\":"
                            "\"https://example.com:8443/api\"}]}");
    json_object_put(e);
    expect_error("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"url\":"
                 "\"tcp://example.com:99/api\"}]}",
                 "service", "s", "path", "value must be null");
}

/* ---- routes
 * --------------------------------------------------------------------------------------- */

static void test_route_name_unique(void **state)
{
    (void)state;
    json_object *body = reject("{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"paths\":"
                               "[\"/a\"]},{\"name\":\"r\","
                               "\"paths\":[\"/b\"]}]}",
                               true);
    json_object *e =
        find_flat(body, "route", "r", NULL,
                  "uniqueness violation: 'routes' entity with name set to 'r' already declared");
    assert_non_null(e);
    char id[37];
    kf_entity_uuid("routes", "r", id);
    assert_string_equal(str_at(e, "entity_id"), id);
    assert_string_equal(str_at(body, "message"), "declarative config is invalid: {}");
    json_object_put(body);
}

static void test_route_protocols_enum(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"paths\":[\"/\"],"
                 "\"protocols\":[\"http\",\"ftp\"]}]}",
                 "route", "r", "protocols.2",
                 "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp");
    expect_error("{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"paths\":[\"/\"],"
                 "\"protocols\":[\"nope\"]}]}",
                 "route", "r", "protocols", "unknown type: nope");
}

static void test_route_methods_upper_case(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"methods\":[\"GET\","
                 "\"post\"]}]}",
                 "route", "r", "methods.2", "invalid value: post");
}

static void test_route_hosts_wildcards(void **state)
{
    (void)state;
    expect_error(
        "{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"hosts\":[\"*.a.*\"]}]}",
        "route", "r", "hosts.1", "invalid wildcard: must have at most one wildcard");
    expect_error(
        "{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"hosts\":[\"a.*.com\"]}]}",
        "route", "r", "hosts.1", "invalid wildcard: must be placed at leftmost or rightmost label");
    expect_error("{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"hosts\":[\"ok.com\","
                 "\"a..b\"]}]}",
                 "route", "r", "hosts.2", "invalid hostname: a..b");
    json_object_put(accept("{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"hosts\":["
                           "\"*.example.org\",\"example.*\",\"example.com:8080\"]}]}"));
}

static void test_route_paths(void **state)
{
    (void)state;
    expect_error(
        "{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"paths\":[\"/ok\",\"api\"]}]}",
        "route", "r", "paths.2", "should start with: / (fixed path) or ~/ (regex path)");
    expect_error(
        "{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"paths\":[\"/a//b\"]}]}",
        "route", "r", "paths.1", "must not have empty segments");
    expect_error(
        "{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"paths\":[\"~/users/(foo/"
        "profile\"]}]}",
        "route", "r", "paths.1",
        "invalid regex: '/users/(foo/profile' (PCRE returned: pcre2_compile() failed: missing "
        "closing parenthesis in \"/users/(foo/profile\")");
    expect_error(
        "{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"paths\":[\"/a/./b\"]}]}",
        "route", "r", "paths.1", "non-normalized path, consider use '/a/b' instead");
    expect_error(
        "{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"paths\":[\"/a%2w\"]}]}",
        "route", "r", "paths.1", "invalid url-encoded value: '%2w'");
    json_object_put(accept("{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"paths\":["
                           "\"~/exact$\",\"/prefix/\"]}]}"));
}

static void test_route_headers(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"headers\":{\"Host\":["
                 "\"a\"]}}]}",
                 "route", "r", "headers",
                 "cannot contain 'host' header, which must be specified in the 'hosts' attribute");
    /* header regexes are the router's to judge (routes.lua:102-108, 3.9.1): whatever
     * kf_route_validate says lands at @entity (or its field), Kong's prefix included */
    const char *bad_regex = "{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"headers\":{"
                            "\"x-v\":[\"~*(a\"]}}]}";
    expect_router_verdict(bad_regex, "r");
    /* the traditional router does not dry-run header regexes */
    const struct kf_validate_opts trad = {.router_flavor = "traditional"};
    json_object *doc = parse(bad_regex), *ents = NULL, *err = NULL;
    assert_int_equal(kf_validate(doc, &trad, &ents, &err), 0);
    json_object_put(doc);
    json_object_put(ents);
    json_object_put(accept("{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"headers\":{"
                           "\"x-v\":[\"~*^v[0-9]+$\",\"plain\"]}}]}"));
}

static void test_route_redirect_code_and_path_handling(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"paths\":[\"/\"],"
                 "\"https_redirect_status_code\":303}]}",
                 "route", "r", "https_redirect_status_code",
                 "expected one of: 426, 301, 302, 307, 308");
    expect_error("{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"paths\":[\"/\"],"
                 "\"path_handling\":\"v2\"}]}",
                 "route", "r", "path_handling", "expected one of: v0, v1");
}

static void test_route_needs_a_matcher(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\"}]}", "route", "r", NULL,
                 "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' "
                 "is 'https'");
    expect_error(
        "{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"protocols\":[\"http\"]}]}",
        "route", "r", NULL,
        "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is "
        "'http'");
}

static void test_route_stream_rules(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"protocols\":[\"tcp\"],"
                 "\"paths\":[\"/\"],\"destinations\":[{\"port\":9000}]}]}",
                 "route", "r", "paths",
                 "cannot set 'paths' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'");
    expect_error(
        "{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"protocols\":[\"tcp\"]}]}",
        "route", "r", NULL,
        "must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', "
        "'tls' or 'udp'");
}

/* ---- upstreams and targets
 * ------------------------------------------------------------------------ */

static void test_upstream_name(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"upstreams\":[{\"slots\":100}]}", "upstream", NULL,
                 "name", "required field missing");
    expect_error("{\"_format_version\":\"3.0\",\"upstreams\":[{\"name\":\"10.0.0.1\"}]}",
                 "upstream", "10.0.0.1", "name",
                 "Invalid name ('10.0.0.1'); no ip addresses allowed");
    expect_error("{\"_format_version\":\"3.0\",\"upstreams\":[{\"name\":\"u.svc:80\"}]}",
                 "upstream", "u.svc:80", "name", "Invalid name ('u.svc:80'); no port allowed");
    expect_error("{\"_format_version\":\"3.0\",\"upstreams\":[{\"name\":\"bad name\"}]}",
                 "upstream", "bad name", "name",
                 "Invalid name ('bad name'); must be a valid hostname");
    /* upstreams.lua:8-16 (3.9.1): invalid UTF-8 is not quoted back */
    expect_error("{\"_format_version\":\"3.0\",\"upstreams\":[{\"name\":\"a\\u00e9\"}]}",
                 "upstream", NULL, "name", "Invalid name ('a\xc3\xa9'); must be a valid hostname");
}

static void test_upstream_slots(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"upstreams\":[{\"name\":\"u\",\"slots\":9}]}",
                 "upstream", "u", "slots", "value should be between 10 and 65536");
}

static void test_target_format_and_weight(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"upstreams\":[{\"name\":\"u\",\"targets\":[{"
                 "\"target\":\"hostname:1.0\"}]}]}",
                 "target", NULL, "target",
                 "Invalid target ('hostname:1.0'); not a valid hostname or ip address");
    expect_error("{\"_format_version\":\"3.0\",\"upstreams\":[{\"name\":\"u\",\"targets\":[{"
                 "\"target\":\"10.0.0.1:80\",\"weight\":65536}]}]}",
                 "target", NULL, "weight", "value should be between 0 and 65535");
    json_object_put(
        accept("{\"_format_version\":\"3.0\",\"upstreams\":[{\"name\":\"u\",\"targets\":["
               "{\"target\":\"10.0.0.1:80\"},{\"target\":\"[::1]:8080\"},{\"target\":"
               "\"svc.ns\"}]}]}"));
}

static void test_target_duplicate_is_uniqueness_violation(void **state)
{
    (void)state;
    json_object *body =
        reject("{\"_format_version\":\"3.0\",\"upstreams\":[{\"name\":\"u\",\"targets\":"
               "[{\"target\":\"10.0.0.1:80\"},{\"target\":\"10.0.0.1:80\"}]}]}",
               true);
    char up[37], id[37], key[128], msg[256];
    kf_entity_uuid("upstreams", "u", up);
    snprintf(key, sizeof(key), "targets:*:%s:10.0.0.1:80", up);
    kf_entity_uuid("targets", key, id);
    snprintf(msg, sizeof(msg),
             "uniqueness violation: 'targets' entity with primary key set to '%s' already declared",
             id);
    json_object *e = find_flat(body, "target", NULL, NULL, msg);
    assert_non_null(e);
    /* the nested child carries its parent's primary key */
    json_object *fk = json_object_object_get(json_object_object_get(e, "entity"), "upstream");
    assert_string_equal(str_at(fk, "id"), up);
    json_object_put(body);
}

/* ---- plugins
 * ---------------------------------------------------------------------------------------- */

static void test_plugin_must_be_enabled(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"plugins\":[{\"name\":\"no-such-plugin\"}]}",
                 "plugin", "no-such-plugin", "name",
                 "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration "
                 "property");
    const char *const only[] = {"cors", NULL};
    const struct kf_validate_opts o = {.plugins = only, .flatten_errors = true};
    json_object *doc = parse("{\"_format_version\":\"3.0\",\"plugins\":[{\"name\":\"key-auth\"}]}");
    json_object *ents = NULL, *body = NULL;
    assert_int_equal(kf_validate(doc, &o, &ents, &body), KGC_EINVAL);
    assert_flat(body, "plugin", "key-auth", "name",
                "plugin 'key-auth' not enabled; add it to the 'plugins' configuration property");
    json_object_put(doc);
    json_object_put(body);
}

static void test_plugin_duplicate_on_one_scope(void **state)
{
    (void)state;
    json_object *body =
        reject("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":"
               "\"x\",\"plugins\":[{\"name\":\"cors\"},{\"name\":\"cors\"}]}]}",
               true);
    char svc[37], id[37], key[128], msg[256];
    kf_entity_uuid("services", "s", svc);
    /* cache_key = { "name", "route", "service", "consumer" } (plugins.lua:8, 3.9.1) */
    snprintf(key, sizeof(key), "plugins:*:cors::%s:", svc);
    kf_entity_uuid("plugins", key, id);
    snprintf(msg, sizeof(msg),
             "uniqueness violation: 'plugins' entity with primary key set to '%s' already declared",
             id);
    assert_flat(body, "plugin", "cors", NULL, msg);
    json_object_put(body);
    /* the same plugin on two scopes is fine */
    json_object_put(
        accept("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"x\","
               "\"plugins\":[{\"name\":\"cors\"}],\"routes\":[{\"name\":\"r\",\"paths\":"
               "[\"/\"],\"plugins\":[{\"name\":\"cors\"}]}]}]}"));
}

static void test_plugin_config_keys(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"plugins\":[{\"name\":\"request-transformer\","
                 "\"config\":{\"add\":{\"headers\":[\"a:b\"]},\"bogus\":true}}]}",
                 "plugin", "request-transformer", "config.bogus", "unknown field");
    expect_error(
        "{\"_format_version\":\"3.0\",\"plugins\":[{\"name\":\"redirect\",\"config\":{}}]}",
        "plugin", "redirect", "config.location", "required field missing");
    expect_error(
        "{\"_format_version\":\"3.0\",\"plugins\":[{\"name\":\"rate-limiting\",\"config\":{"
        "\"policy\":\"local\"}}]}",
        "plugin", "rate-limiting", NULL,
        "at least one of these fields must be non-empty: 'config.second', "
        "'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'");
    expect_error("{\"_format_version\":\"3.0\",\"plugins\":[{\"name\":\"cors\",\"protocols\":["
                 "\"tcp\"]}]}",
                 "plugin", "cors", "protocols.1", "expected one of: grpc, grpcs, http, https");
}

/* ---- certificates
 * ---------------------------------------------------------------------------------- */

static char *bio_string(BIO *b)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    return s;
}

/* A fresh P-256 self-signed certificate and its key, as PEM. */
static void make_pair(bool ca, char **cert, char **key)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"kgc.test", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    if (ca) {
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        X509_EXTENSION *ext =
            X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
        assert_non_null(ext);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(cb, x);
    PEM_write_bio_PrivateKey(kb, k, NULL, NULL, 0, NULL, NULL);
    *cert = bio_string(cb);
    *key = bio_string(kb);
    BIO_free(cb);
    BIO_free(kb);
    X509_free(x);
    EVP_PKEY_free(k);
}

static json_object *cert_doc(const char *section, const char *cert, const char *key)
{
    json_object *doc = json_object_new_object(), *arr = json_object_new_array();
    json_object *c = json_object_new_object();
    json_object_object_add(doc, "_format_version", json_object_new_string("3.0"));
    json_object_object_add(c, "cert", json_object_new_string(cert));
    if (key) {
        json_object_object_add(c, "key", json_object_new_string(key));
    }
    json_object_array_add(arr, c);
    json_object_object_add(doc, section, arr);
    return doc;
}

static void test_certificate_pem_and_key_match(void **state)
{
    (void)state;
    char *c1, *k1, *c2, *k2;
    make_pair(false, &c1, &k1);
    make_pair(false, &c2, &k2);
    json_object_put(accept_doc(cert_doc("certificates", c1, k1)));

    json_object *body = reject_doc_flavor(cert_doc("certificates", c1, k2), true, NULL);
    assert_flat(body, "certificate", NULL, NULL, "certificate does not match key");
    json_object_put(body);

    body = reject_doc_flavor(cert_doc("certificates", "not a pem", k1), true, NULL);
    json_object *fl = json_object_object_get(body, "flattened_errors");
    json_object *errs = json_object_object_get(json_object_array_get_idx(fl, 0), "errors");
    const char *m = str_at(json_object_array_get_idx(errs, 0), "message");
    assert_non_null(m);
    assert_true(strncmp(m, "invalid certificate: x509.new: ", 31) == 0);
    assert_string_equal(str_at(json_object_array_get_idx(errs, 0), "field"), "cert");
    json_object_put(body);

    /* a CA bundle entry must be a CA */
    body = reject_doc_flavor(cert_doc("ca_certificates", c1, NULL), true, NULL);
    assert_flat(body, "ca_certificate", NULL, NULL,
                "certificate does not appear to be a CA because it is missing the \"CA\" basic "
                "constraint");
    json_object_put(body);
    char *ca, *cak;
    make_pair(true, &ca, &cak);
    json_object_put(accept_doc(cert_doc("ca_certificates", ca, NULL)));
    free(ca);
    free(cak);
    free(c1);
    free(k1);
    free(c2);
    free(k2);
}

/* ---- references, nesting, quirks ----------------------------------------------------------------
 */

static void test_nested_child_naming_parent(void **state)
{
    (void)state;
    expect_error(
        "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"x\",\"routes\":"
        "[{\"name\":\"r\",\"paths\":[\"/\"],\"service\":\"s\"}]}]}",
        "route", "r", "service", "value must be null");
}

static void test_missing_reference_is_unattributed(void **state)
{
    (void)state;
    const char *doc = "{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\",\"paths\":[\"/\"],"
                      "\"service\":\"nope\"}]}";
    json_object *body = reject(doc, false);
    assert_string_equal(str_at(body, "message"),
                        "declarative config is invalid: {routes={r={\"invalid reference 'service: "
                        "nope' (no such entry in 'services')\"}}}");
    json_object *r = json_object_object_get(
        json_object_object_get(json_object_object_get(body, "fields"), "routes"), "r");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(r, 0)),
                        "invalid reference 'service: nope' (no such entry in 'services')");
    json_object_put(body);
    /* the quirk: flattened, nothing is left, yet the push is still a 400 */
    body = reject(doc, true);
    assert_int_equal(json_object_array_length(json_object_object_get(body, "flattened_errors")), 0);
    assert_string_equal(str_at(body, "message"), "declarative config is invalid: {}");
    json_object_put(body);
    /* resolvable by name or by id */
    json_object_put(
        accept("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"x\"}],"
               "\"routes\":[{\"name\":\"r\",\"paths\":[\"/\"],\"service\":\"s\"}]}"));
}

static void test_service_name_uniqueness(void **state)
{
    (void)state;
    json_object *body =
        reject("{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s1\",\"host\":"
               "\"a\",\"tags\":[\"t1\"]},{\"name\":\"s1\",\"host\":\"b\",\"tags\":["
               "\"t2\"]}]}",
               false);
    assert_string_equal(str_at(body, "message"),
                        "declarative config is invalid: {services={[2]=\"uniqueness violation: "
                        "'services' entity with name set to 's1' already declared\"}}");
    json_object *svcs = json_object_object_get(json_object_object_get(body, "fields"), "services");
    assert_true(json_object_is_type(svcs, json_type_array));
    assert_null(json_object_array_get_idx(svcs, 0));
    json_object_put(body);

    body = reject(
        "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s1\",\"host\":\"a\"},{\"name\":"
        "\"s1\",\"host\":\"b\",\"tags\":[\"t2\"]}]}",
        true);
    json_object *e =
        find_flat(body, "service", "s1", NULL,
                  "uniqueness violation: 'services' entity with name set to 's1' already declared");
    assert_non_null(e);
    assert_string_equal(json_object_get_string(
                            json_object_array_get_idx(json_object_object_get(e, "entity_tags"), 0)),
                        "t2");
    json_object_put(body);
}

static void test_flattened_shape(void **state)
{
    (void)state;
    json_object *body = reject("{\"_format_version\":\"3.0\",\"services\":[{\"id\":\"0855b320-0dd2-"
                               "547d-891d-601e9b38647f\","
                               "\"name\":\"s\",\"host\":\"x\",\"tags\":[\"k8s-name:a\"],\"routes\":"
                               "[{\"name\":\"r\",\"paths\":"
                               "[\"bad\"]}]}]}",
                               true);
    json_object *e = find_flat(body, "route", "r", "paths.1",
                               "should start with: / (fixed path) or ~/ (regex path)");
    assert_non_null(e);
    /* the child gets its parent's primary key; the parent is not listed (it has no error) */
    json_object *entity = json_object_object_get(e, "entity");
    assert_string_equal(str_at(json_object_object_get(entity, "service"), "id"),
                        "0855b320-0dd2-547d-891d-601e9b38647f");
    assert_int_equal(json_object_array_length(json_object_object_get(body, "flattened_errors")), 1);
    json_object_put(body);
}

static void test_errors_in_parent_and_child(void **state)
{
    (void)state;
    json_object *body =
        reject("{\"_format_version\":\"3.0\",\"services\":[{\"id\":\"0855b320-0dd2-547d-891d-"
               "601e9b38647f\","
               "\"name\":\"s\",\"port\":-1,\"host\":\"x\",\"routes\":[{\"name\":\"r\"}]}]}",
               true);
    json_object *svc =
        find_flat(body, "service", "s", "port", "value should be between 0 and 65535");
    assert_non_null(svc);
    assert_string_equal(str_at(svc, "entity_id"), "0855b320-0dd2-547d-891d-601e9b38647f");
    /* nested children are removed from the parent's entity */
    assert_null(json_object_object_get(json_object_object_get(svc, "entity"), "routes"));
    json_object_put(body);
}

static void test_consumer_needs_username_or_custom_id(void **state)
{
    (void)state;
    expect_error("{\"_format_version\":\"3.0\",\"consumers\":[{\"tags\":[\"x\"]}]}", "consumer",
                 NULL, NULL,
                 "at least one of these fields must be non-empty: 'custom_id', 'username'");
}

static void test_accepts_and_derives_ids(void **state)
{
    (void)state;
    json_object *e = accept(
        "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"x\",\"routes\":[{"
        "\"name\":"
        "\"r\",\"paths\":[\"/\"]}]}],\"upstreams\":[{\"name\":\"x\",\"targets\":[{\"target\":"
        "\"10.0.0.1:80\"}]}]}");
    char sid[37], rid[37];
    kf_entity_uuid("services", "s", sid);
    kf_entity_uuid("routes", "r", rid);
    json_object *route = json_object_object_get(json_object_object_get(e, "routes"), rid);
    assert_non_null(route);
    assert_string_equal(str_at(json_object_object_get(route, "service"), "id"), sid);
    assert_non_null(json_object_object_get(json_object_object_get(e, "services"), sid));
    json_object_put(e);
}

/* ---- building blocks
 * ------------------------------------------------------------------------------ */

static void test_uuid5_and_md5(void **state)
{
    (void)state;
    char out[37], md5[33];
    /* RFC 4122 / Python uuid.uuid5(uuid.NAMESPACE_DNS, "www.example.com") */
    assert_int_equal(kf_uuid5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com", 15, out),
                     0);
    assert_string_equal(out, "2ed6657d-e927-568b-95e1-2665a8aea6a2");
    kf_md5_hex("", 0, md5);
    assert_string_equal(md5, "d41d8cd98f00b204e9800998ecf8427e");
    kf_uuid4(out);
    assert_int_equal(out[14], '4');
}

static void test_normalize_ip(void **state)
{
    (void)state;
    char type, err[128];
    bool port;
    assert_int_equal(kf_normalize_ip("example.com", &type, &port, err, sizeof(err)), 0);
    assert_int_equal(type, 'n');
    assert_int_equal(kf_normalize_ip("1.2.3.4:80", &type, &port, err, sizeof(err)), 0);
    assert_true(port);
    assert_int_equal(type, '4');
    assert_int_equal(kf_normalize_ip("[::1]:8080", &type, &port, err, sizeof(err)), 0);
    assert_int_equal(type, '6');
    assert_int_equal(kf_normalize_ip("1.2.3.400", &type, &port, err, sizeof(err)), -1);
    assert_string_equal(err, "invalid ipv4 address: 1.2.3.400");
    assert_int_equal(kf_normalize_ip("a.com:70000", &type, &port, err, sizeof(err)), -1);
    assert_string_equal(err, "invalid port number");
    assert_int_equal(kf_normalize_ip("-a-.com", &type, &port, err, sizeof(err)), -1);
    assert_string_equal(err, "invalid hostname: -a-.com");
    assert_int_equal(kf_normalize_ip("fqdn.example.", &type, &port, err, sizeof(err)), 0);
}

static void test_error_table_encoding(void **state)
{
    (void)state;
    struct kf_errt *t = kf_errt_new();
    struct kf_errt *s = kf_errt_sub(t, "services", 0);
    assert_int_equal(kf_errt_set(s, NULL, 2, "bad \"quote\""), 0);
    assert_int_equal(kf_errt_entity(kf_errt_sub(t, "x", 0), "whole"), 0);
    char *p = kf_errt_pretty(t);
    assert_string_equal(p, "{services={[2]=\"bad \\\"quote\\\"\"},x={[\"@entity\"]={\"whole\"}}}");
    free(p);
    json_object *j = kf_errt_to_json(t);
    assert_string_equal(
        json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
        "{\"services\":[null,\"bad \\\"quote\\\"\"],\"x\":{\"@entity\":[\"whole\"]}}");
    json_object_put(j);
    kf_errt_free(t);
}

static void test_text_parse_yaml(void **state)
{
    (void)state;
    const char *yaml = "_format_version: \"3.0\"\n"
                       "services:\n"
                       "- name: s\n"
                       "  host: example.com\n"
                       "  port: 8080\n"
                       "  routes:\n"
                       "  - name: r\n"
                       "    paths: [\"/\"]\n"
                       "    strip_path: false\n";
    json_object *doc = NULL;
    char err[256];
    assert_int_equal(kf_text_parse(yaml, strlen(yaml), &doc, err, sizeof(err)), 0);
    json_object *svc = json_object_array_get_idx(json_object_object_get(doc, "services"), 0);
    assert_int_equal(json_object_get_int(json_object_object_get(svc, "port")), 8080);
    json_object_put(accept_doc(doc));
    assert_int_equal(kf_text_parse("a: [", 4, &doc, err, sizeof(err)), KGC_EPARSE);
}

static void test_canonical_json_sorts_keys(void **state)
{
    (void)state;
    json_object *doc = parse("{\"b\":1,\"a\":{\"d\":[2,{\"f\":1,\"e\":\"/x\"}],\"c\":null}}");
    char *c = kf_canonical_json(doc);
    assert_string_equal(c, "{\"a\":{\"c\":null,\"d\":[2,{\"e\":\"/x\",\"f\":1}]},\"b\":1}");
    free(c);
    json_object_put(doc);
}

/* ---- Kong 3.9.1 rules by flavour, plugin schemas, upstream checks, 15-off_spec -------------- */

/* Validates text under flavor and expects a rejection whose "fields" and "message" are exactly
 * these (the 400 body Kong sends without flatten_errors). */
static void expect_body_flavor(const char *text, const char *flavor, const char *fields_json,
                               const char *message, int line)
{
    json_object *body = reject_doc_flavor(parse(text), false, flavor);
    json_object *want = json_tokener_parse(fields_json);
    assert_non_null(want);
    json_object *fields = json_object_object_get(body, "fields");
    const char *msg = str_at(body, "message");
    if (!json_object_equal(fields, want) || !msg || strcmp(msg, message) != 0 ||
        json_object_object_get_ex(body, "flattened_errors", NULL)) {
        print_message("line %d: got %s\nwant fields %s\nwant message %s\n", line,
                      json_object_to_json_string(body), fields_json, message);
        fail();
    }
    json_object_put(want);
    json_object_put(body);
}
#define expect_body(text, flavor, fields, message)                                                 \
    expect_body_flavor((text), (flavor), (fields), (message), __LINE__)

/* The single-rule shortcut under a flavour. */
static void expect_error_flavor(const char *text, const char *flavor, const char *type,
                                const char *name, const char *field, const char *msg, int line)
{
    json_object *body = reject_doc_flavor(parse(text), true, flavor);
    check_flat(body, type, name, field, msg, line);
    json_object_put(body);
}
#define expect_error_in(flavor, text, type, name, field, msg)                                      \
    expect_error_flavor((text), (flavor), (type), (name), (field), (msg), __LINE__)

static void accept_flavor(const char *text, const char *flavor)
{
    const struct kf_validate_opts o = {.router_flavor = flavor};
    json_object *doc = parse(text), *ents = NULL, *err = NULL;
    int rc = kf_validate(doc, &o, &ents, &err);
    if (rc != 0) {
        print_message("expected acceptance under %s: %s\n", flavor ? flavor : "-",
                      err ? json_object_to_json_string(err) : "-");
    }
    json_object_put(doc);
    json_object_put(ents);
    json_object_put(err);
    assert_int_equal(rc, 0);
}

#define ROUTE1(body) "{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"r\"," body "}]}"
#define X            "expressions"
#define TC           "traditional_compatible"
#define TRAD         "traditional"

/* kong/db/schema/entities/routes.lua:61-124 (3.9.1), validate_route: the schema-level rules of
 * the traditional_compatible and expressions flavours, each an @entity message; then the ATC
 * dry-run (kf_route_validate) for what passes them. */
static void test_route_validate_route_rules(void **state)
{
    (void)state;
    /* routes.lua:78-83 */
    expect_error_in(X, ROUTE1("\"expression\":\"http.path == \\\"/\\\"\",\"paths\":[\"/\"]"),
                    "route", "r", NULL,
                    "Router Expression failed validation: cannot set 'expression' with "
                    "'methods', 'hosts', 'paths', 'headers', 'snis', 'sources' or "
                    "'destinations' simultaneously");
    /* routes.lua:85-91 */
    expect_error_in(X, ROUTE1("\"expression\":\"http.path == \\\"/\\\"\",\"regex_priority\":5"),
                    "route", "r", NULL,
                    "Router Expression failed validation: cannot set 'regex_priority' with "
                    "'expression' simultaneously");
    /* routes.lua:93-100 */
    expect_error_in(X, ROUTE1("\"paths\":[\"/\"],\"priority\":3"), "route", "r", NULL,
                    "Router Expression failed validation: cannot set 'priority' with 'methods', "
                    "'hosts', 'paths', 'headers', 'snis', 'sources' or 'destinations' "
                    "simultaneously");
    /* a zero regex_priority / priority counts as not set (routes.lua:85-86, 93-94) */
    expect_router_verdict_flavor(ROUTE1("\"paths\":[\"/\"],\"priority\":0"), "r", X);
    expect_router_verdict_flavor(
        ROUTE1("\"expression\":\"http.path == \\\"/\\\"\",\"regex_priority\":0"), "r", X);
    /* an expression route goes to the router's check */
    expect_router_verdict_flavor(ROUTE1("\"expression\":\"http.path ^= \\\"/a\\\"\""), "r", X);
    expect_router_verdict_flavor(ROUTE1("\"expression\":\"http.path ^= \""), "r", X);
    /* traditional_compatible: regex paths and header regexes are the router's to judge */
    expect_router_verdict_flavor(ROUTE1("\"paths\":[\"~/(?<x>a)\"]"), "r", TC);
    expect_router_verdict_flavor(ROUTE1("\"paths\":[\"~/a(?=b)\"]"), "r", TC);
    /* what PCRE refuses is the path typedef's error, before the router's check
     * (typedefs.lua:518-524) */
    expect_error_in(TC, ROUTE1("\"paths\":[\"~/a{2,1}\"]"), "route", "r", "paths.1",
                    "invalid regex: '/a{2,1}' (PCRE returned: pcre2_compile() failed: numbers out "
                    "of order in {} quantifier in \"/a{2,1}\" at \"}\")");
    /* the traditional flavour has no such check and no expression/priority fields */
    accept_flavor(ROUTE1("\"paths\":[\"/\"],\"regex_priority\":5"), TRAD);
    expect_error_in(TRAD, ROUTE1("\"paths\":[\"/\"],\"expression\":\"x\""), "route", "r",
                    "expression", "unknown field");
    expect_error_in(TC, ROUTE1("\"paths\":[\"/\"],\"priority\":1"), "route", "r", "priority",
                    "unknown field");
    /* the check is skipped while one of its fields has an error (init.lua:1317-1329) */
    json_object *body =
        reject_doc_flavor(parse(ROUTE1("\"paths\":[\"x\"],\"priority\":3")), true, X);
    assert_flat(body, "route", "r", "paths.1",
                "should start with: / (fixed path) or ~/ (regex path)");
    assert_null(find_flat(body, "route", "r", NULL,
                          "Router Expression failed validation: cannot set 'priority' with "
                          "'methods', 'hosts', 'paths', 'headers', 'snis', 'sources' or "
                          "'destinations' simultaneously"));
    json_object_put(body);
}

/* routes.lua:209-219 and routes_subschemas.lua:69-101 (3.9.1): the expressions flavour keeps
 * every traditional field, adds expression and priority (0..2^46-1), lets http and grpc routes
 * set sources/destinations and adds 'expression' to each "must set one of". */
static void test_route_expressions_schema(void **state)
{
    (void)state;
    expect_error_in(X,
                    ROUTE1("\"expression\":\"http.path == \\\"/\\\"\",\"priority\":"
                           "70368744177664"),
                    "route", "r", "priority", "value should be between 0 and 70368744177663");
    expect_error_in(X, ROUTE1("\"expression\":\"http.path == \\\"/\\\"\",\"priority\":-1"), "route",
                    "r", "priority", "value should be between 0 and 70368744177663");
    expect_error_in(X, ROUTE1("\"expression\":\"\""), "route", "r", "expression",
                    "length must be at least 1");
    expect_error_in(X, ROUTE1("\"protocols\":[\"https\"]"), "route", "r", NULL,
                    "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis', "
                    "'expression' when 'protocols' is 'https'");
    expect_error_in(X, ROUTE1("\"protocols\":[\"http\"]"), "route", "r", NULL,
                    "must set one of 'methods', 'hosts', 'headers', 'paths', 'expression' when "
                    "'protocols' is 'http'");
    expect_error_in(X, ROUTE1("\"protocols\":[\"grpc\"]"), "route", "r", NULL,
                    "must set one of 'hosts', 'headers', 'paths', 'expression' when "
                    "'protocols' is 'grpc'");
    expect_error_in(X, ROUTE1("\"protocols\":[\"tcp\"]"), "route", "r", NULL,
                    "must set one of 'sources', 'destinations', 'snis', 'expression' when "
                    "'protocols' is 'tcp', 'tls' or 'udp'");
    expect_error_in(X, ROUTE1("\"protocols\":[\"tls_passthrough\"]"), "route", "r", NULL,
                    "must set snis when 'protocols' is 'tls_passthrough'");
    /* traditional fields are still allowed, and http sources are no longer forbidden */
    expect_router_verdict_flavor(ROUTE1("\"paths\":[\"/\"],\"sources\":[{\"ip\":\"10.0.0.1\"}]"),
                                 "r", X);
    expect_error_in(TC, ROUTE1("\"paths\":[\"/\"],\"sources\":[{\"ip\":\"10.0.0.1\"}]"), "route",
                    "r", "sources", "cannot set 'sources' when 'protocols' is 'http' or 'https'");
    /* a stream route still cannot carry HTTP fields (routes_subschemas.lua:26-31) */
    expect_error_in(X, ROUTE1("\"protocols\":[\"tcp\"],\"hosts\":[\"a\"]"), "route", "r", "hosts",
                    "cannot set 'hosts' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or "
                    "'udp'");
    expect_error_in(X, ROUTE1("\"protocols\":[\"grpc\"],\"methods\":[\"GET\"],\"paths\":[\"/\"]"),
                    "route", "r", "methods",
                    "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'");
}

/* routes.lua:37-41: snis elements are typedefs.wildcard_host except under the traditional
 * flavour (typedefs.sni); typedefs.lua:152-201 for both validators' messages. */
static void test_route_snis_wildcards(void **state)
{
    (void)state;
    const char *wild = ROUTE1("\"protocols\":[\"https\"],\"snis\":[\"*.example.com\"]");
    expect_router_verdict_flavor(wild, "r", TC);
    expect_router_verdict_flavor(wild, "r", X);
    expect_router_verdict_flavor(ROUTE1("\"protocols\":[\"https\"],\"snis\":[\"example.*\"]"), "r",
                                 TC);
    expect_error_in(TRAD, wild, "route", "r", "snis.1", "invalid value: *.example.com");
    expect_error_in(TC, ROUTE1("\"protocols\":[\"https\"],\"snis\":[\"a.*.com\"]"), "route", "r",
                    "snis.1", "wildcard must be leftmost or rightmost character");
    expect_error_in(TC, ROUTE1("\"protocols\":[\"https\"],\"snis\":[\"*.a.*\"]"), "route", "r",
                    "snis.1", "only one wildcard must be specified");
    expect_error_in(TC, ROUTE1("\"protocols\":[\"https\"],\"snis\":[\"10.0.0.1\"]"), "route", "r",
                    "snis.1", "must not be an IP");
    /* routes.lua:17-23 under every flavour */
    expect_error_in(X, ROUTE1("\"protocols\":[\"http\"],\"snis\":[\"a.com\"]"), "route", "r",
                    "snis", "length must be 0");
}

/* Schema:validate returns the subschema error alone when no protocol names a subschema
 * (kong/db/schema/init.lua:2111-2126); the first protocol that does selects it (:1099-1117). */
static void test_route_subschema_selection(void **state)
{
    (void)state;
    expect_body(ROUTE1("\"protocols\":[\"foo\"],\"paths\":[\"x\"],\"bogus\":1"), NULL,
                "{\"routes\":[{\"protocols\":\"unknown type: foo\"}]}",
                "declarative config is invalid: {routes={{protocols=\"unknown type: foo\"}}}");
    expect_error(ROUTE1("\"protocols\":[\"foo\",\"tcp\"],\"paths\":[\"/\"]"), "route", "r", "paths",
                 "cannot set 'paths' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'");
    expect_error(ROUTE1("\"protocols\":null,\"paths\":[\"/\"]"), "route", "r", "protocols",
                 "required field missing");
}

#define PLUGIN1(body) "{\"_format_version\":\"3.0\",\"plugins\":[{" body "}]}"

/* kong/plugins/{redirect,request-termination}/schema.lua (3.9.1), field by field */
static void test_plugin_redirect_and_termination(void **state)
{
    (void)state;
    expect_error(PLUGIN1("\"name\":\"redirect\",\"config\":{\"location\":\"https://a.example\","
                         "\"status_code\":99}"),
                 "plugin", "redirect", "config.status_code", "value should be between 100 and 599");
    expect_error(PLUGIN1("\"name\":\"redirect\",\"config\":{\"location\":\"https://a.example\","
                         "\"keep_incoming_path\":\"yes\"}"),
                 "plugin", "redirect", "config.keep_incoming_path", "expected a boolean");
    expect_error(PLUGIN1("\"name\":\"redirect\",\"config\":{\"location\":\"/relative\"}"), "plugin",
                 "redirect", "config.location", "missing host in url");
    expect_error(PLUGIN1("\"name\":\"redirect\",\"protocols\":[\"tcp\"],\"config\":{\"location\":"
                         "\"https://a.example\"}"),
                 "plugin", "redirect", "protocols.1", "expected one of: grpc, grpcs, http, https");
    json_object_put(accept(PLUGIN1("\"name\":\"redirect\",\"config\":{\"location\":"
                                   "\"https://a.example/x\",\"status_code\":308,"
                                   "\"keep_incoming_path\":true}")));
    /* request-termination/schema.lua:27-43: the config's custom_validator, an error of config */
    expect_error(PLUGIN1("\"name\":\"request-termination\",\"config\":{\"message\":\"m\",\"body\":"
                         "\"b\"}"),
                 "plugin", "request-termination", "config",
                 "message cannot be used with content_type or body");
    expect_error(PLUGIN1("\"name\":\"request-termination\",\"config\":{\"content_type\":\"t\"}"),
                 "plugin", "request-termination", "config", "content_type requires a body");
    expect_error(PLUGIN1("\"name\":\"request-termination\",\"config\":{\"echo\":true,\"body\":"
                         "\"b\"}"),
                 "plugin", "request-termination", "config",
                 "echo cannot be used with content_type and body");
    expect_error(PLUGIN1("\"name\":\"request-termination\",\"config\":{\"status_code\":600}"),
                 "plugin", "request-termination", "config.status_code",
                 "value should be between 100 and 599");
    expect_error(PLUGIN1("\"name\":\"request-termination\",\"config\":{\"trigger\":\"x y\"}"),
                 "plugin", "request-termination", "config.trigger",
                 "bad header name 'x y', allowed characters are A-Z, a-z, 0-9, '_', and '-'");
    expect_error(PLUGIN1("\"name\":\"request-termination\",\"config\":{\"nope\":1}"), "plugin",
                 "request-termination", "config.nope", "unknown field");
    json_object_put(accept(PLUGIN1("\"name\":\"request-termination\",\"config\":{\"status_code\":"
                                   "404,\"content_type\":\"text/plain\",\"body\":\"gone\"}")));
}

/* kong/plugins/{request,response}-transformer/schema.lua (3.9.1), field by field */
static void test_plugin_transformers(void **state)
{
    (void)state;
    /* match "^[^:]+:.*$" (request-transformer schema.lua:83-88): "invalid value: %s" */
    expect_error(PLUGIN1("\"name\":\"request-transformer\",\"config\":{\"add\":{\"headers\":["
                         "\"nocolon\"]}}"),
                 "plugin", "request-transformer", "config.add.headers.1", "invalid value: nocolon");
    expect_error(PLUGIN1("\"name\":\"request-transformer\",\"config\":{\"add\":{\"headers\":["
                         "\"bad header:x\"]}}"),
                 "plugin", "request-transformer", "config.add.headers.1",
                 "'bad header' is not a valid header");
    /* rename checks both sides (schema.lua:44-46, 101-106) */
    expect_error(PLUGIN1("\"name\":\"request-transformer\",\"config\":{\"rename\":{\"headers\":["
                         "\"a:\"]}}"),
                 "plugin", "request-transformer", "config.rename.headers.1",
                 "'' is not a valid header");
    /* check_for_value (schema.lua:13-17) */
    expect_error(PLUGIN1("\"name\":\"request-transformer\",\"config\":{\"add\":{\"body\":["
                         "\"k:\"]}}"),
                 "plugin", "request-transformer", "config.add.body.1", "key 'k' has no value");
    expect_error(PLUGIN1("\"name\":\"request-transformer\",\"config\":{\"remove\":{\"headers\":["
                         "\"x y\"]}}"),
                 "plugin", "request-transformer", "config.remove.headers.1",
                 "'x y' is not a valid header");
    expect_error(PLUGIN1("\"name\":\"request-transformer\",\"config\":{\"http_method\":\"get\"}"),
                 "plugin", "request-transformer", "config.http_method", "invalid value: get");
    expect_error(PLUGIN1("\"name\":\"request-transformer\",\"config\":{\"replace\":{\"uri\":5}}"),
                 "plugin", "request-transformer", "config.replace.uri", "expected a string");
    expect_error(PLUGIN1("\"name\":\"request-transformer\",\"config\":{\"append\":{\"headers\":"
                         "\"a:b\"}}"),
                 "plugin", "request-transformer", "config.append.headers", "expected an array");
    /* typedefs.protocols: request-transformer also runs on stream protocols (schema.lua:127) */
    json_object_put(accept(PLUGIN1("\"name\":\"request-transformer\",\"protocols\":[\"tcp\"],"
                                   "\"config\":{\"add\":{\"headers\":[\"x-a:1\"],\"querystring\":"
                                   "[\"q:v\"]},\"rename\":{\"headers\":[\"a:b\"]},\"replace\":{"
                                   "\"uri\":\"/new\"},\"remove\":{\"headers\":[\"x-b\"]}}")));
    /* response-transformer/schema.lua:49-63, 85 */
    expect_error(PLUGIN1("\"name\":\"response-transformer\",\"config\":{\"add\":{\"json_types\":["
                         "\"int\"]}}"),
                 "plugin", "response-transformer", "config.add.json_types.1",
                 "expected one of: boolean, number, string");
    expect_error(
        PLUGIN1("\"name\":\"response-transformer\",\"config\":{\"add\":{\"json\":[\"x\"]}}"),
        "plugin", "response-transformer", "config.add.json.1", "invalid value: x");
    expect_error(PLUGIN1("\"name\":\"response-transformer\",\"config\":{\"rename\":{\"headers\":["
                         "\"a:b c\"]}}"),
                 "plugin", "response-transformer", "config.rename.headers.1",
                 "'b c' is not a valid header");
    expect_error(PLUGIN1("\"name\":\"response-transformer\",\"protocols\":[\"tcp\"]"), "plugin",
                 "response-transformer", "protocols.1",
                 "expected one of: grpc, grpcs, http, https");
    json_object_put(accept(PLUGIN1("\"name\":\"response-transformer\",\"config\":{\"add\":{"
                                   "\"headers\":[\"x-a:1\"],\"json\":[\"k:v\"],\"json_types\":["
                                   "\"string\"]},\"remove\":{\"headers\":[\"x-b\"]}}")));
}

/* kong/db/schema/entities/plugins.lua (3.9.1): no consumer_group nor ordering field in OSS; the
 * plugin not enabled is the only error (subschema_error, init.lua:2120-2125); instance_name is
 * the endpoint key (plugins.lua:11) and unique (typedefs.utf8_name). */
static void test_plugin_entity_3_9_1(void **state)
{
    (void)state;
    expect_error(PLUGIN1("\"name\":\"cors\",\"consumer_group\":\"g\""), "plugin", "cors",
                 "consumer_group", "unknown field");
    expect_error(PLUGIN1("\"name\":\"cors\",\"ordering\":{}"), "plugin", "cors", "ordering",
                 "unknown field");
    expect_body(PLUGIN1("\"name\":\"nope\",\"bogus\":1,\"protocols\":[\"x\"]"), NULL,
                "{\"plugins\":[{\"name\":\"plugin 'nope' not enabled; add it to the 'plugins' "
                "configuration property\"}]}",
                "declarative config is invalid: {plugins={{name=\"plugin 'nope' not enabled; add "
                "it to the 'plugins' configuration property\"}}}");
    expect_body("{\"_format_version\":\"3.0\",\"plugins\":[{\"name\":\"cors\",\"instance_name\":"
                "\"i\"},{\"name\":\"cors\",\"instance_name\":\"i\",\"route\":\"r\"}],\"routes\":[{"
                "\"name\":\"r\",\"paths\":[\"/\"]}]}",
                NULL,
                "{\"plugins\":[null,\"uniqueness violation: 'plugins' entity with instance_name "
                "set to 'i' already declared\"]}",
                "declarative config is invalid: {plugins={[2]=\"uniqueness violation: 'plugins' "
                "entity with instance_name set to 'i' already declared\"}}");
}

/* kong/db/schema/entities/upstreams.lua:183-295 (3.9.1) */
static void test_upstream_hash_rules(void **state)
{
    (void)state;
#define UP1(body) "{\"_format_version\":\"3.0\",\"upstreams\":[{\"name\":\"u\"," body "}]}"
    /* host_header = typedefs.host_with_optional_port (typedefs.lua:38-41, 275-279) */
    json_object_put(accept(UP1("\"host_header\":\"example.com:8080\"")));
    expect_error(UP1("\"host_header\":\"a b\""), "upstream", "u", "host_header",
                 "invalid hostname: a b");
    expect_error(UP1("\"host_header\":\"a.com:99999\""), "upstream", "u", "host_header",
                 "invalid port number");
    /* hash_on_cookie = typedefs.cookie_name (kong/tools/http.lua:241-262) */
    expect_error(UP1("\"hash_on\":\"cookie\",\"hash_on_cookie\":\"a b\""), "upstream", "u",
                 "hash_on_cookie",
                 "contains one or more invalid characters. ASCII control characters (0-31;127), "
                 "space, tab and the characters ()<>@,;:\\\"/?={}[] are not allowed.");
    json_object_put(accept(UP1("\"hash_on\":\"cookie\",\"hash_on_cookie\":\"session.id\"")));
    /* upstreams.lua:216-224 */
    expect_error(UP1("\"hash_on\":\"cookie\""), "upstream", "u", "hash_on_cookie",
                 "required field missing");
    expect_error(UP1("\"hash_on\":\"ip\",\"hash_fallback\":\"cookie\""), "upstream", "u",
                 "hash_on_cookie", "required field missing");
    /* upstreams.lua:233-237: hashing on cookies ignores the fallback */
    expect_error(UP1("\"hash_on\":\"cookie\",\"hash_on_cookie\":\"c\",\"hash_fallback\":\"ip\""),
                 "upstream", "u", "hash_fallback", "expected one of: none");
    expect_error(UP1("\"hash_on\":\"cookie\",\"hash_on_cookie\":\"c\",\"hash_fallback\":\"ip\""),
                 "upstream", "u", NULL,
                 "failed conditional validation given value of field 'hash_on'");
    /* upstreams.lua:239-266 */
    expect_error(UP1("\"hash_on\":\"consumer\",\"hash_fallback\":\"consumer\""), "upstream", "u",
                 "hash_fallback",
                 "expected one of: none, ip, header, cookie, path, query_arg, uri_capture");
    expect_error(UP1("\"hash_on\":\"path\",\"hash_fallback\":\"path\""), "upstream", "u",
                 "hash_fallback",
                 "expected one of: none, consumer, header, cookie, query_arg, ip, uri_capture");
    /* upstreams.lua:270: distinct */
    expect_error(UP1("\"hash_on\":\"header\",\"hash_on_header\":\"x\",\"hash_fallback\":"
                     "\"header\",\"hash_fallback_header\":\"x\""),
                 "upstream", "u", NULL,
                 "values of these fields must be distinct: 'hash_on_header', "
                 "'hash_fallback_header'");
#undef UP1
}

/* spec/02-integration/04-admin_api/15-off_spec.lua (3.9.1), the POST /config validation tests,
 * each with its exact body. */
static void test_off_spec_config_bodies(void **state)
{
    (void)state;
    /* :220-238, :240-255, :257-298 (the string forms are server tests) */
    json_object_put(accept(
        "{\"_format_version\":\"1.1\",\"consumers\":[{\"username\":\"bobby_in_json_body\"}]}"));
    /* :392-411: null in YAML becomes a null field */
    json_object *doc = NULL;
    char perr[256];
    const char *yaml = "_format_version: \"1.1\"\nroutes:\n- paths:\n  - \"/\"\n  service: null\n";
    assert_int_equal(kf_text_parse(yaml, strlen(yaml), &doc, perr, sizeof(perr)), 0);
    json_object_put(accept_doc(doc));
    /* :647-680 */
    expect_body("{\"_format_version\":\"1.1\",\"services\":[{\"port\":-12}]}", NULL,
                "{\"services\":[{\"host\":\"required field missing\",\"port\":\"value should be "
                "between 0 and 65535\"}]}",
                "declarative config is invalid: {services={{host=\"required field missing\","
                "port=\"value should be between 0 and 65535\"}}}");
    /* :682-737 */
    static const char pk[] =
        "{\"_format_version\":\"1.1\",\"services\":[{\"id\":\"0855b320-0dd2-547d-891d-"
        "601e9b38647f\",\"name\":\"foo\",\"host\":\"example.com\",\"protocol\":\"https\","
        "\"routes\":[{\"name\":\"foo\",\"methods\":[\"GET\"],\"plugins\":[{\"name\":\"key-auth\"},"
        "{\"name\":\"http-log\",\"config\":{\"http_endpoint\":\"https://example.com\"}}]}]},{"
        "\"id\":\"0855b320-0dd2-547d-891d-601e9b38647f\",\"name\":\"bar\",\"host\":"
        "\"example.test\",\"port\":3000,\"routes\":[{\"name\":\"bar\",\"paths\":[\"/\"],"
        "\"plugins\":[{\"name\":\"basic-auth\"},{\"name\":\"tcp-log\",\"config\":{\"host\":"
        "\"127.0.0.1\",\"port\":10000}}]}]}]}";
    expect_body(pk, NULL,
                "{\"services\":[null,\"uniqueness violation: 'services' entity with primary key "
                "set to '0855b320-0dd2-547d-891d-601e9b38647f' already declared\"]}",
                "declarative config is invalid: {services={[2]=\"uniqueness violation: "
                "'services' entity with primary key set to '0855b320-0dd2-547d-891d-601e9b38647f' "
                "already declared\"}}");
    /* :739-792 */
    static const char ek[] =
        "{\"_format_version\":\"1.1\",\"services\":[{\"name\":\"foo\",\"host\":\"example.com\","
        "\"protocol\":\"https\",\"routes\":[{\"name\":\"foo\",\"methods\":[\"GET\"],\"plugins\":"
        "[{\"name\":\"key-auth\"},{\"name\":\"http-log\",\"config\":{\"http_endpoint\":"
        "\"https://example.com\"}}]}]},{\"name\":\"foo\",\"host\":\"example.test\",\"port\":3000,"
        "\"routes\":[{\"name\":\"bar\",\"paths\":[\"/\"],\"plugins\":[{\"name\":\"basic-auth\"},"
        "{\"name\":\"tcp-log\",\"config\":{\"host\":\"127.0.0.1\",\"port\":10000}}]}]}]}";
    expect_body(ek, NULL,
                "{\"services\":[null,\"uniqueness violation: 'services' entity with name set to "
                "'foo' already declared\"]}",
                "declarative config is invalid: {services={[2]=\"uniqueness violation: "
                "'services' entity with name set to 'foo' already declared\"}}");
    /* :794-826: a unique field that is not the endpoint key, keyed by the entry's username
     * (kong/db/schema/others/declarative_config.lua:859-873) */
    expect_body("{\"_format_version\":\"1.1\",\"consumers\":[{\"username\":\"foo\",\"custom_id\":"
                "\"conflict\"},{\"username\":\"bar\",\"custom_id\":\"conflict\"}]}",
                NULL,
                "{\"consumers\":{\"bar\":\"uniqueness violation: 'consumers' entity with "
                "custom_id set to 'conflict' already declared\"}}",
                "declarative config is invalid: {consumers={bar=\"uniqueness violation: "
                "'consumers' entity with custom_id set to 'conflict' already declared\"}}");
    /* :841-912: ten global key-auth plugins share one cache key */
    char sparse[4096] = "{\"_format_version\":\"1.1\",\"plugins\":[";
    for (int i = 0; i < 10; i++) {
        strcat(sparse, "{\"name\":\"key-auth\",\"enabled\":true,\"protocols\":[\"http\","
                       "\"https\"]},");
    }
    strcat(sparse,
           "{\"name\":\"cors\",\"config\":{\"credentials\":true,\"exposed_headers\":[\"*\"],"
           "\"headers\":[\"*\"],\"methods\":[\"*\"],\"origins\":[\"*\"],"
           "\"preflight_continue\":true},\"enabled\":true,\"protocols\":[\"http\","
           "\"https\"]}]}");
    json_object_put(reject(sparse, false));
    /* :539-580: upstreams load twice (the second is a fresh validation) */
    static const char up[] = "{\"_format_version\":\"1.1\",\"services\":[{\"host\":\"foo\","
                             "\"routes\":[{\"paths\":[\"/\"]}]}],\"upstreams\":[{\"name\":\"foo\","
                             "\"targets\":[{\"target\":\"10.20.30.40\"}]}]}";
    json_object_put(accept(up));
    json_object_put(accept(up));
    /* :976-1015: a stream service and route */
    json_object_put(accept("{\"_format_version\":\"1.1\",\"services\":[{\"connect_timeout\":60000,"
                           "\"host\":\"127.0.0.1\",\"name\":\"mock\",\"port\":15557,\"protocol\":"
                           "\"tcp\",\"routes\":[{\"name\":\"mock_route\",\"protocols\":[\"tcp\"],"
                           "\"destinations\":[{\"port\":9011}]}]}]}"));
}

/* 15-off_spec.lua:468-537: certificates with nested or separate snis; the 201 body relates
 * each sni to its certificate by id. */
static void test_off_spec_certificate_snis(void **state)
{
    (void)state;
    char *cert, *key;
    make_pair(false, &cert, &key);
    for (int nested = 0; nested < 2; nested++) {
        json_object *doc = cert_doc("certificates", cert, key);
        json_object *c0 = json_object_array_get_idx(json_object_object_get(doc, "certificates"), 0);
        json_object_object_add(c0, "id",
                               json_object_new_string("d83994d2-c24c-4315-b431-ee76b6611dcb"));
        json_object *sni = json_object_new_object();
        json_object_object_add(sni, "name", json_object_new_string("foo.example"));
        json_object_object_add(sni, "id",
                               json_object_new_string("1c6e83b7-c9ad-40ac-94e8-52f5ee7bde44"));
        json_object *snis = json_object_new_array();
        json_object_array_add(snis, sni);
        if (nested) {
            json_object_object_add(c0, "snis", snis);
        } else {
            json_object *ref = json_object_new_object();
            json_object_object_add(ref, "id",
                                   json_object_new_string("d83994d2-c24c-4315-b431-ee76b6611dcb"));
            json_object_object_add(sni, "certificate", ref);
            json_object_object_add(doc, "snis", snis);
        }
        json_object *e = accept_doc(doc);
        json_object *s = json_object_object_get(json_object_object_get(e, "snis"),
                                                "1c6e83b7-c9ad-40ac-94e8-52f5ee7bde44");
        assert_non_null(s);
        assert_string_equal(str_at(json_object_object_get(s, "certificate"), "id"),
                            "d83994d2-c24c-4315-b431-ee76b6611dcb");
        assert_non_null(json_object_object_get(json_object_object_get(e, "certificates"),
                                               "d83994d2-c24c-4315-b431-ee76b6611dcb"));
        json_object_put(e);
    }
    free(cert);
    free(key);
}

/* 15-off_spec.lua:2154-2200 (3.9.1): nested record errors flatten to dotted fields */
static void test_off_spec_flattened_nested_fields(void **state)
{
    (void)state;
    json_object *body = reject(
        "{\"_format_version\":\"3.0\",\"upstreams\":[{\"name\":\"bad\",\"tags\":[\"upstream-01\"],"
        "\"hash_on\":\"ip\",\"healthchecks\":{\"active\":{\"type\":\"http\",\"http_path\":\"/\","
        "\"https_verify_certificate\":true,\"https_sni\":\"example.com\",\"timeout\":1,"
        "\"concurrency\":-1,\"healthy\":{\"interval\":0,\"successes\":0},\"unhealthy\":{"
        "\"interval\":0,\"http_failures\":0}}},\"host_header\":123}]}",
        true);
    assert_flat(body, "upstream", "bad", "healthchecks.active.concurrency",
                "value should be between 1 and 2147483648");
    assert_flat(body, "upstream", "bad", "host_header", "expected a string");
    json_object *fl = json_object_object_get(body, "flattened_errors");
    assert_int_equal(json_object_array_length(fl), 1);
    assert_int_equal(json_object_array_length(
                         json_object_object_get(json_object_array_get_idx(fl, 0), "errors")),
                     2);
    json_object_put(body);
}

/* 15-off_spec.lua:2393-2519 (3.9.1): the same input with and without flatten_errors */
static void test_off_spec_drains_top_level_fields(void **state)
{
    (void)state;
    static const char input[] =
        "{\"_format_version\":\"3.0\",\"abnormal_extra_field\":123,\"services\":["
        "{\"name\":\"nope\",\"host\":\"localhost\",\"port\":1234,\"protocol\":\"nope\",\"tags\":["
        "\"service-01\"],\"routes\":[{\"name\":\"valid.route\",\"protocols\":[\"http\",\"https\"],"
        "\"methods\":[\"GET\"],\"hosts\":[\"test\"],\"tags\":[\"route_service-01\",\"service-01\"]}"
        ","
        "{\"name\":\"nope.route\",\"protocols\":[\"tcp\"],\"tags\":[\"route_service-02\","
        "\"service-01\"]}]},"
        "{\"name\":\"mis-matched\",\"host\":\"localhost\",\"protocol\":\"tcp\",\"path\":\"/path\","
        "\"tags\":[\"service-02\"],\"routes\":[{\"name\":\"invalid\",\"protocols\":[\"http\","
        "\"https\"],\"hosts\":[\"test\"],\"methods\":[\"GET\"],\"tags\":[\"route_service-03\","
        "\"service-02\"]}]},"
        "{\"name\":\"okay\",\"url\":\"http://"
        "localhost:1234\",\"tags\":[\"service-03\"],\"routes\":["
        "{\"name\":\"probably-valid\",\"protocols\":[\"http\",\"https\"],\"methods\":[\"GET\"],"
        "\"hosts\":[\"test\"],\"tags\":[\"route_service-04\",\"service-03\"],\"plugins\":[{"
        "\"name\":"
        "\"http-log\",\"config\":{\"not_endpoint\":\"anything\"},\"tags\":["
        "\"route_service_plugin-01\",\"route_service-04\",\"service-03\"]}]}]}]}";
    json_object *body = reject(input, false);
    json_object *want = json_tokener_parse(
        "{\"abnormal_extra_field\":\"unknown field\",\"services\":[{\"protocol\":\"expected one "
        "of: "
        "grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp\",\"routes\":[null,{\"@entity\":["
        "\"must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or "
        "'udp'\"]}]},{\"@entity\":[\"failed conditional validation given value of field "
        "'protocol'\"],\"path\":\"value must be null\"},{\"routes\":[{\"plugins\":[{\"config\":{"
        "\"http_endpoint\":\"required field missing\",\"not_endpoint\":\"unknown field\"}}]}]}]}");
    if (!json_object_equal(json_object_object_get(body, "fields"), want)) {
        print_message("got %s\n", json_object_to_json_string(body));
        fail();
    }
    assert_false(json_object_object_get_ex(body, "flattened_errors", NULL));
    json_object_put(want);
    json_object_put(body);
    body = reject(input, true);
    want = json_tokener_parse("{\"abnormal_extra_field\":\"unknown field\"}");
    assert_true(json_object_equal(json_object_object_get(body, "fields"), want));
    assert_int_equal(json_object_array_length(json_object_object_get(body, "flattened_errors")), 4);
    json_object_put(want);
    json_object_put(body);
}

/* 15-off_spec.lua:2770-2806 (#12167) and :2808-2916 (3.9.1) */
static void test_off_spec_flattened_uniqueness(void **state)
{
    (void)state;
    json_object *body = reject(
        "{\"_format_version\":\"3.0\",\"consumers\":[{\"id\":\"a73dc9a7-93df-584d-97c0-"
        "7f41a1bbce3d\",\"username\":\"test-consumer-1\",\"tags\":[\"consumer-1\"]},{\"id\":"
        "\"a73dc9a7-93df-584d-97c0-7f41a1bbce32\",\"username\":\"test-consumer-1\",\"tags\":["
        "\"consumer-2\"]}]}",
        true);
    json_object *e = find_flat(body, "consumer", NULL, NULL,
                               "uniqueness violation: 'consumers' entity with username set to "
                               "'test-consumer-1' already declared");
    assert_non_null(e);
    assert_string_equal(str_at(e, "entity_id"), "a73dc9a7-93df-584d-97c0-7f41a1bbce32");
    assert_null(json_object_object_get(e, "entity_name"));
    json_object_put(body);

    body = reject(
        "{\"_format_version\":\"3.0\",\"upstreams\":[{\"name\":\"u0\",\"id\":\"e9792964-6797-482c-"
        "bfdf-08220a4f6832\",\"targets\":[{\"target\":\"10.244.0.11:80\",\"weight\":1}]},{\"name\":"
        "\"u1\",\"id\":\"f9792964-6797-482c-bfdf-08220a4f6839\",\"targets\":[{\"target\":"
        "\"10.244.0.12:80\",\"weight\":1,\"tags\":[\"target-1\"]},{\"target\":\"10.244.0.12:80\","
        "\"weight\":1,\"tags\":[\"target-2\"]}]}]}",
        true);
    json_object *fl = json_object_object_get(body, "flattened_errors");
    json_object *dupe = NULL;
    for (size_t i = 0; i < json_object_array_length(fl); i++) {
        json_object *x = json_object_array_get_idx(fl, i);
        json_object *tags = json_object_object_get(x, "entity_tags");
        if (tags &&
            strcmp(json_object_get_string(json_object_array_get_idx(tags, 0)), "target-2") == 0) {
            dupe = x;
        }
    }
    assert_non_null(dupe);
    char msg[256];
    snprintf(msg, sizeof(msg),
             "uniqueness violation: 'targets' entity with primary key set to '%s' already declared",
             str_at(dupe, "entity_id"));
    json_object *errs = json_object_object_get(dupe, "errors");
    assert_int_equal(json_object_array_length(errs), 1);
    assert_string_equal(str_at(json_object_array_get_idx(errs, 0), "type"), "entity");
    assert_string_equal(str_at(json_object_array_get_idx(errs, 0), "message"), msg);
    json_object_put(body);
}

/* 15-off_spec.lua:2202-2324 (3.9.1): an inline client_certificate is validated as a certificate
 * and flattened as its own entity; a route with an unknown protocol, an http-log without its
 * endpoint and a plugin not enabled each get their entry. */
static void test_off_spec_flattened_nested_entities(void **state)
{
    (void)state;
    json_object *body = reject(
        "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"bad-client-cert\",\"url\":"
        "\"https://localhost:1234\",\"tags\":[\"service-01\"],\"client_certificate\":{\"cert\":"
        "\"\",\"key\":\"\",\"tags\":[\"service_client_certificate-01\",\"service-01\"]},"
        "\"routes\":[{\"hosts\":[\"test\"],\"paths\":[\"/\"],\"protocols\":[\"http\"],\"tags\":["
        "\"service_route-01\"],\"plugins\":[{\"name\":\"http-log\",\"config\":{\"a\":{\"b\":{"
        "\"c\":\"def\"}}},\"tags\":[\"route_service_plugin-01\"]}]},{\"hosts\":[\"invalid\"],"
        "\"paths\":[\"/\"],\"protocols\":[\"nope\"],\"tags\":[\"service_route-02\"]}],"
        "\"plugins\":[{\"name\":\"i-do-not-exist\",\"config\":{},\"tags\":["
        "\"service_plugin-01\"]}]}]}",
        true);
    assert_flat(body, "certificate", NULL, "cert", "length must be at least 1");
    assert_flat(body, "certificate", NULL, "key", "length must be at least 1");
    assert_flat(body, "route", NULL, "protocols", "unknown type: nope");
    assert_flat(body, "plugin", "http-log", "config.a", "unknown field");
    assert_flat(body, "plugin", "http-log", "config.http_endpoint", "required field missing");
    assert_flat(body, "plugin", "i-do-not-exist", "name",
                "plugin 'i-do-not-exist' not enabled; add it to the 'plugins' configuration "
                "property");
    json_object *fl = json_object_object_get(body, "flattened_errors");
    assert_int_equal(json_object_array_length(fl), 4);
    for (size_t i = 0; i < 4; i++) {
        json_object *e = json_object_array_get_idx(fl, i);
        if (strcmp(str_at(e, "entity_type"), "certificate") == 0) {
            json_object *want = json_tokener_parse(
                "{\"cert\":\"\",\"key\":\"\",\"tags\":[\"service_client_certificate-01\","
                "\"service-01\"]}");
            assert_true(json_object_equal(json_object_object_get(e, "entity"), want));
            json_object_put(want);
        }
    }
    json_object_put(body);
}

/* An entry of flattened_errors whose entity_tags or entity.tags holds tag first. */
static json_object *flat_by_tag(json_object *body, const char *tag)
{
    json_object *fl = json_object_object_get(body, "flattened_errors");
    for (size_t i = 0; i < json_object_array_length(fl); i++) {
        json_object *e = json_object_array_get_idx(fl, i);
        json_object *tags = json_object_object_get(json_object_object_get(e, "entity"), "tags");
        json_object *t0 = tags ? json_object_array_get_idx(tags, 0) : NULL;
        if (t0 && json_object_is_type(t0, json_type_string) &&
            strcmp(json_object_get_string(t0), tag) == 0) {
            return e;
        }
    }
    return NULL;
}

/* 15-off_spec.lua:2326-2391 (3.9.1): ids and foreign keys kept, invalid entity_* omitted */
static void test_off_spec_flattened_entity_fields(void **state)
{
    (void)state;
    /* :2326-2343 */
    json_object *body = reject(
        "{\"_format_version\":\"3.0\",\"services\":[{\"id\":\"0175e0e8-3de9-56b4-96f1-"
        "b12dcb4b6691\","
        "\"name\":\"nope\",\"host\":\"localhost\",\"port\":1234,\"protocol\":\"nope\",\"tags\":["
        "\"service-01\"]}]}",
        true);
    json_object *e = flat_by_tag(body, "service-01");
    assert_non_null(e);
    assert_string_equal(str_at(e, "entity_id"), "0175e0e8-3de9-56b4-96f1-b12dcb4b6691");
    assert_string_equal(str_at(json_object_object_get(e, "entity"), "id"),
                        "0175e0e8-3de9-56b4-96f1-b12dcb4b6691");
    json_object_put(body);
    /* :2345-2369 */
    body = reject("{\"_format_version\":\"3.0\",\"services\":[{\"id\":\"cb019421-62c2-47a8-b714-"
                  "d7567b114037\",\"name\":\"test\",\"host\":\"localhost\",\"port\":1234,"
                  "\"protocol\":\"nope\",\"tags\":[\"service-02\"],\"routes\":[{"
                  "\"super_duper_invalid\":true,\"tags\":[\"route-01\"]}]}]}",
                  true);
    e = flat_by_tag(body, "route-01");
    assert_non_null(e);
    json_object *want = json_tokener_parse("{\"id\":\"cb019421-62c2-47a8-b714-d7567b114037\"}");
    assert_true(json_object_equal(
        json_object_object_get(json_object_object_get(e, "entity"), "service"), want));
    json_object_put(want);
    json_object_put(body);
    /* :2371-2391 */
    body =
        reject("{\"_format_version\":\"3.0\",\"services\":[{\"id\":1234,\"name\":false,\"tags\":["
               "\"service-03\",[1.5]],\"url\":\"http://localhost:1234\"}]}",
               true);
    e = flat_by_tag(body, "service-03");
    assert_non_null(e);
    assert_false(json_object_object_get_ex(e, "entity_id", NULL));
    assert_false(json_object_object_get_ex(e, "entity_name", NULL));
    assert_false(json_object_object_get_ex(e, "entity_tags", NULL));
    json_object *ent = json_object_object_get(e, "entity");
    assert_int_equal(json_object_get_int(json_object_object_get(ent, "id")), 1234);
    assert_true(json_object_is_type(json_object_object_get(ent, "name"), json_type_boolean));
    want = json_tokener_parse("[\"service-03\",[1.5]]");
    assert_true(json_object_equal(json_object_object_get(ent, "tags"), want));
    json_object_put(want);
    json_object_put(body);
}

/* ---- the validation memo (kf_vmemo) and the accepted hook ---------------------------------- */

/* The answer to text under o, with and without memo m: both must be the same; returns rc. */
static int same_with_memo(struct kf_vmemo *m, const char *text, const struct kf_validate_opts *o)
{
    json_object *doc = parse(text);
    json_object *e1 = NULL, *b1 = NULL, *e2 = NULL, *b2 = NULL;
    int rc = kf_validate(doc, o, &e1, &b1);
    struct kf_validate_opts mo = *o;
    mo.memo = m;
    assert_int_equal(kf_validate(doc, &mo, &e2, &b2), rc);
    char *t1 = text_of(e1), *t2 = text_of(e2), *u1 = text_of(b1), *u2 = text_of(b2);
    assert_string_equal(t2, t1);
    assert_string_equal(u2, u1);
    free(t1);
    free(t2);
    free(u1);
    free(u2);
    json_object_put(e2);
    json_object_put(b2);
    /* the server's parse with the memo (kf_vmemo_parse): the same document and answer */
    json_object *fast = NULL;
    assert_int_equal(kf_vmemo_parse(m, text, strlen(text), &fast), 0);
    char *d1 = text_of(doc), *d2 = text_of(fast);
    assert_string_equal(d2, d1);
    e2 = b2 = NULL;
    mo.share_memo_values = true; /* as the server validates it */
    assert_int_equal(kf_validate(fast, &mo, &e2, &b2), rc);
    t1 = text_of(e1);
    t2 = text_of(e2);
    u1 = text_of(b1);
    u2 = text_of(b2);
    assert_string_equal(t2, t1);
    assert_string_equal(u2, u1);
    free(t1);
    free(t2);
    free(u1);
    free(u2);
    free(d1);
    free(d2);
    json_object_put(fast);
    json_object_put(e1);
    json_object_put(e2);
    json_object_put(b1);
    json_object_put(b2);
    json_object_put(doc);
    return rc;
}

#define SVC(name, path)                                                                            \
    "{\"name\":\"" name "\",\"host\":\"h\",\"routes\":[{\"name\":\"" name                          \
    "-r\",\"paths\":[\"" path "\"]}]}"

/* Successive documents that repeat entities get the answers they get without a memo: a valid
 * entity stays valid, a changed one is checked again, settings changes drop what was learnt. */
static void test_memo_gives_the_same_answers(void **state)
{
    (void)state;
    struct kf_vmemo *m = kf_vmemo_new();
    assert_non_null(m);
    const struct kf_validate_opts flat = {.flatten_errors = true};
    const char *v1 =
        "{\"_format_version\":\"3.0\",\"services\":[" SVC("a", "/a") "," SVC("b", "/b") "]}";
    assert_int_equal(same_with_memo(m, v1, &flat), 0);
    assert_int_equal(same_with_memo(m, v1, &flat), 0); /* every entity a hit */
    /* b's route now has a path Kong rejects; a is unchanged (a hit) and reported nowhere */
    const char *v2 =
        "{\"_format_version\":\"3.0\",\"services\":[" SVC("a", "/a") "," SVC("b", "b") "]}";
    assert_int_equal(same_with_memo(m, v2, &flat), KGC_EINVAL);
    /* a valid entity repeated: the uniqueness check still sees both (not a schema matter) */
    const char *v3 =
        "{\"_format_version\":\"3.0\",\"services\":[" SVC("a", "/a") "," SVC("a", "/a") "]}";
    assert_int_equal(same_with_memo(m, v3, &flat), KGC_EINVAL);
    /* a number's text is part of what is remembered: 8000 and 8000.5 are different entities */
    const char *p1 = "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"h\","
                     "\"port\":8000}]}";
    const char *p2 = "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"host\":\"h\","
                     "\"port\":8000.5}]}";
    assert_int_equal(same_with_memo(m, p1, &flat), 0);
    assert_int_equal(same_with_memo(m, p2, &flat), KGC_EINVAL);
    assert_int_equal(same_with_memo(m, p1, &flat), 0);
    /* another flavour: an expression route valid under expressions is rejected under
     * traditional_compatible although the memo saw it valid */
    const char *xr = ROUTE1("\"expression\":\"http.path == \\\"/\\\"\"");
    const struct kf_validate_opts x = {.router_flavor = X, .flatten_errors = true};
    const struct kf_validate_opts tc = {.router_flavor = TC, .flatten_errors = true};
    assert_int_equal(same_with_memo(m, xr, &x), 0);
    assert_int_equal(same_with_memo(m, xr, &tc), KGC_EINVAL);
    assert_int_equal(same_with_memo(m, xr, &x), 0);
    /* another plugin set: cors enabled, then not */
    const char *pl = "{\"_format_version\":\"3.0\",\"plugins\":[{\"name\":\"cors\"}]}";
    const char *const only_cors[] = {"cors", NULL};
    const char *const only_key_auth[] = {"key-auth", NULL};
    const struct kf_validate_opts with = {.plugins = only_cors, .flatten_errors = true};
    const struct kf_validate_opts without = {.plugins = only_key_auth, .flatten_errors = true};
    assert_int_equal(same_with_memo(m, pl, &with), 0);
    assert_int_equal(same_with_memo(m, pl, &without), KGC_EINVAL);
    assert_int_equal(same_with_memo(m, pl, &with), 0);
    kf_vmemo_free(m);
    kf_vmemo_free(NULL);
}

/* kf_vmemo_parse() builds only documents it can delimit for certain and leaves every other text
 * to kf_text_parse() (which then answers as without the memo); what it builds is what
 * kf_text_parse() builds, also when elements repeat or are remembered from an earlier text. */
static void test_memo_parse(void **state)
{
    (void)state;
    struct kf_vmemo *m = kf_vmemo_new();
    assert_non_null(m);
    static const char *const left[] = {
        "_format_version: \"3.0\"\n",                                      /* YAML */
        "{\"_format_version\":\"3.0\",\"services\":[],\"services\":[]}",   /* key twice */
        "{\"_format_version\":\"3.0\",\"services\":[{\"name\":'a'}]}",     /* quote */
        "{\"_format_version\":\"3.0\" /* c */}",                           /* comment */
        "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"a\"},]}",  /* comma */
        "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"a\"}]} x", /* trailing */
        "{\"_for\\u006dat_version\":\"3.0\"}",                             /* key escape */
        "[1]",
        "{\"_format_version\":\"3.0\",\"services\":[{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
        "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]}", /* deeper than 32 */
        "",
    };
    for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
        json_object *doc = (json_object *)1;
        assert_int_equal(kf_vmemo_parse(m, left[i], strlen(left[i]), &doc), 1);
        assert_null(doc);
    }
    const struct kf_validate_opts flat = {.flatten_errors = true};
    /* whitespace everywhere JSON allows it, escapes and numbers inside elements, an element
     * twice, non-entity keys and an entity key whose value is no array */
    const char *w =
        " \r\n{ \"_format_version\" : \"3.0\" , \"services\" : [ " SVC("a", "/a") " ,\n" SVC(
            "a", "/a") " , {\"name\":\"b\\u00e9\",\"host\":\"h\",\"port\":8e3,"
                       "\"tags\":[\"x\\\"]\"]} ] , \"_comment\" : [ 1, true, null ] } \t\n";
    assert_int_equal(same_with_memo(m, w, &flat), KGC_EINVAL); /* a twice: uniqueness */
    assert_int_equal(same_with_memo(m, w, &flat), KGC_EINVAL);
    const char *ok = "{\"_format_version\":\"3.0\",\"services\":[" SVC("a", "/a") "," SVC(
        "b", "/b") "],\"upstreams\":{}}";
    assert_int_equal(same_with_memo(m, ok, &flat), 0);
    assert_int_equal(same_with_memo(m, ok, &flat), 0);
    kf_vmemo_free(m);
}

struct accepted_seen {
    int calls;
    bool empty;
};

static void on_accepted(void *arg, bool empty)
{
    struct accepted_seen *a = arg;
    a->calls++;
    a->empty = empty;
}

/* The accepted hook runs once for a valid document, with empty = no entity in the 201 body, and
 * never for a rejected one. */
static void test_accepted_hook(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int rc;
        bool empty;
    } cases[] = {
        {"{\"_format_version\":\"3.0\",\"services\":[" SVC("a", "/a") "]}", 0, false},
        {"{\"_format_version\":\"3.0\"}", 0, true},
        {"{\"_format_version\":\"3.0\",\"services\":[]}", 0, true},
        {"{\"_format_version\":\"3.0\",\"routes\":[{\"paths\":[\"/x\"]}]}", 0, false},
        {"{\"_format_version\":\"3.0\",\"services\":[" SVC("a", "a") "]}", KGC_EINVAL, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct accepted_seen seen = {0};
        const struct kf_validate_opts o = {.accepted = on_accepted, .accepted_arg = &seen};
        json_object *doc = parse(cases[i].text), *ents = NULL, *body = NULL;
        assert_int_equal(kf_validate(doc, &o, &ents, &body), cases[i].rc);
        assert_int_equal(seen.calls, cases[i].rc == 0 ? 1 : 0);
        if (cases[i].rc == 0) {
            assert_int_equal(seen.empty, cases[i].empty);
            assert_int_equal(json_object_object_length(ents) == 0, cases[i].empty);
        }
        json_object_put(doc);
        json_object_put(ents);
        json_object_put(body);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_level_unknown_field),
        cmocka_unit_test(test_format_version),
        cmocka_unit_test(test_message_is_kongs_lua_table_text),
        cmocka_unit_test(test_service_name_charset),
        cmocka_unit_test(test_service_protocol_enum),
        cmocka_unit_test(test_service_host_required),
        cmocka_unit_test(test_service_port_range),
        cmocka_unit_test(test_service_path_starts_with_slash),
        cmocka_unit_test(test_service_path_only_for_http),
        cmocka_unit_test(test_service_retries_and_timeouts),
        cmocka_unit_test(test_service_unknown_field),
        cmocka_unit_test(test_service_url_shorthand),
        cmocka_unit_test(test_route_name_unique),
        cmocka_unit_test(test_route_protocols_enum),
        cmocka_unit_test(test_route_methods_upper_case),
        cmocka_unit_test(test_route_hosts_wildcards),
        cmocka_unit_test(test_route_paths),
        cmocka_unit_test(test_route_headers),
        cmocka_unit_test(test_route_redirect_code_and_path_handling),
        cmocka_unit_test(test_route_needs_a_matcher),
        cmocka_unit_test(test_route_stream_rules),
        cmocka_unit_test(test_route_validate_route_rules),
        cmocka_unit_test(test_route_expressions_schema),
        cmocka_unit_test(test_route_snis_wildcards),
        cmocka_unit_test(test_route_subschema_selection),
        cmocka_unit_test(test_plugin_redirect_and_termination),
        cmocka_unit_test(test_plugin_transformers),
        cmocka_unit_test(test_plugin_entity_3_9_1),
        cmocka_unit_test(test_upstream_hash_rules),
        cmocka_unit_test(test_off_spec_config_bodies),
        cmocka_unit_test(test_off_spec_certificate_snis),
        cmocka_unit_test(test_off_spec_flattened_nested_fields),
        cmocka_unit_test(test_off_spec_drains_top_level_fields),
        cmocka_unit_test(test_off_spec_flattened_uniqueness),
        cmocka_unit_test(test_off_spec_flattened_nested_entities),
        cmocka_unit_test(test_off_spec_flattened_entity_fields),
        cmocka_unit_test(test_upstream_name),
        cmocka_unit_test(test_upstream_slots),
        cmocka_unit_test(test_target_format_and_weight),
        cmocka_unit_test(test_target_duplicate_is_uniqueness_violation),
        cmocka_unit_test(test_plugin_must_be_enabled),
        cmocka_unit_test(test_plugin_duplicate_on_one_scope),
        cmocka_unit_test(test_plugin_config_keys),
        cmocka_unit_test(test_certificate_pem_and_key_match),
        cmocka_unit_test(test_nested_child_naming_parent),
        cmocka_unit_test(test_missing_reference_is_unattributed),
        cmocka_unit_test(test_service_name_uniqueness),
        cmocka_unit_test(test_flattened_shape),
        cmocka_unit_test(test_errors_in_parent_and_child),
        cmocka_unit_test(test_consumer_needs_username_or_custom_id),
        cmocka_unit_test(test_accepts_and_derives_ids),
        cmocka_unit_test(test_uuid5_and_md5),
        cmocka_unit_test(test_normalize_ip),
        cmocka_unit_test(test_error_table_encoding),
        cmocka_unit_test(test_text_parse_yaml),
        cmocka_unit_test(test_canonical_json_sorts_keys),
        cmocka_unit_test(test_memo_gives_the_same_answers),
        cmocka_unit_test(test_memo_parse),
        cmocka_unit_test(test_accepted_hook),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    kf_vmemo_free(g_memo);
    return failed;
}

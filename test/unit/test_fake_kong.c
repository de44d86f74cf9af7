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

/* Validates doc (taken) and expects a rejection; returns the 400 body. */
static json_object *reject_doc_flavor(json_object *doc, bool flatten, const char *flavor)
{
    const struct kf_validate_opts o = {
        .plugins = plugins_under_test(), .router_flavor = flavor, .flatten_errors = flatten};
    json_object *entities = NULL, *body = NULL;
    int rc = kf_validate(doc, &o, &entities, &body);
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
    int rc = kf_validate(doc, &o, &entities, &body);
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
        assert_int_equal(kf_validate(doc, &o, &ents, &err), 0);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

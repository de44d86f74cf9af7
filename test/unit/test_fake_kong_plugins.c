/* The test Kong's plugins (test/fakes/kong/plugins*.c): each case cites the Kong 3.9.1 spec line
 * (spec/03-plugins/...) or source line whose behaviour it checks. Abbreviations in citations:
 *   RT-SPEC  spec/03-plugins/36-request-transformer/02-access_spec.lua
 *   RH-SPEC  spec/03-plugins/15-response-transformer/01-header_transformer_spec.lua
 *   RB-SPEC  spec/03-plugins/15-response-transformer/02-body_transformer_spec.lua
 *   TERM-SPEC spec/03-plugins/14-request-termination/02-access_spec.lua
 *   REDIR-SPEC spec/03-plugins/45-redirect/02-access_spec.lua */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fakes/kong/plugins_internal.h"

#include <kgc/err.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- fixture --------------------------------------------------------------------------------- */

struct fx {
    struct kf_hdrs ch;
    struct kf_client_req c;
    struct kf_kv caps[8];
    size_t ncaps;
    struct kf_match m;
    struct kf_preq up;
    struct kf_presp resp;
    json_object *plugins[8];
    size_t np;
};

static void fx_init(struct fx *f, const char *method, const char *path, const char *query,
                    const char *host)
{
    memset(f, 0, sizeof(*f));
    f->c.method = method;
    f->c.scheme = "http";
    f->c.host = host;
    f->c.path = path;
    f->c.query = query;
    f->c.headers = &f->ch;
    f->c.client_ip = "127.0.0.1";
    f->c.port = 8000;
    f->up.method = strdup(method);
    f->up.uri = strdup(path);
    f->up.query = query ? strdup(query) : NULL;
    assert_int_equal(kf_hdrs_add(&f->ch, "Host", host), 0);
    f->m.route = 0;
    f->m.captures = f->caps;
}

static void fx_hdr(struct fx *f, const char *name, const char *value)
{
    assert_int_equal(kf_hdrs_add(&f->ch, name, value), 0);
}

static void fx_cap(struct fx *f, const char *name, const char *value)
{
    f->caps[f->ncaps].name = name;
    f->caps[f->ncaps].value = value;
    f->ncaps++;
    f->m.n_captures = f->ncaps;
}

static void fx_body(struct fx *f, const char *body)
{
    f->c.body = body;
    f->c.body_len = strlen(body);
    f->up.body = strdup(body);
    f->up.body_len = strlen(body);
}

static void fx_plugin(struct fx *f, const char *name, const char *config)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "{\"name\":\"%s\",\"config\":%s}", name, config);
    f->plugins[f->np] = json_tokener_parse(buf);
    assert_non_null(f->plugins[f->np]);
    f->np++;
}

/* The access phase over the client request (the upstream request starts as the client's, as
 * dataplane.c builds it). */
static void fx_access(struct fx *f)
{
    for (size_t i = 0; i < f->ch.n; i++) {
        assert_int_equal(kf_hdrs_add(&f->up.headers, f->ch.v[i].name, f->ch.v[i].value), 0);
    }
    assert_int_equal(kf_plugins_access(f->plugins, f->np, &f->c, &f->m, &f->up, &f->resp), 0);
}

static void fx_response(struct fx *f)
{
    assert_int_equal(kf_plugins_response(f->plugins, f->np, &f->c, &f->resp), 0);
}

static void fx_free(struct fx *f)
{
    kf_hdrs_free(&f->ch);
    kf_preq_free(&f->up);
    kf_presp_free(&f->resp);
    for (size_t i = 0; i < f->np; i++) {
        json_object_put(f->plugins[i]);
    }
}

/* The i-th value of header name (case-insensitive) or NULL. */
static const char *hval(const struct kf_hdrs *h, const char *name, size_t i)
{
    for (size_t k = 0; k < h->n; k++) {
        if (strcasecmp(h->v[k].name, name) == 0 && i-- == 0) {
            return h->v[k].value;
        }
    }
    return NULL;
}

/* Whether a header with exactly this (case-sensitive) name exists. */
static bool has_exact(const struct kf_hdrs *h, const char *name)
{
    for (size_t k = 0; k < h->n; k++) {
        if (strcmp(h->v[k].name, name) == 0) {
            return true;
        }
    }
    return false;
}

static void assert_json_body(const struct kf_presp *r, const char *expect)
{
    json_object *got = json_tokener_parse(r->body), *want = json_tokener_parse(expect);
    assert_non_null(got);
    assert_non_null(want);
    if (!json_object_equal(got, want)) {
        print_message("body %s, want %s\n", r->body, expect);
    }
    assert_true(json_object_equal(got, want));
    json_object_put(got);
    json_object_put(want);
}

static void assert_up_json(const struct kf_preq *r, const char *expect)
{
    json_object *got = json_tokener_parse(r->body), *want = json_tokener_parse(expect);
    assert_non_null(got);
    assert_non_null(want);
    if (!json_object_equal(got, want)) {
        print_message("body %s, want %s\n", r->body, expect);
    }
    assert_true(json_object_equal(got, want));
    json_object_put(got);
    json_object_put(want);
}

/* ---- request-transformer: headers ------------------------------------------------------------ */

/* RT-SPEC 1246 (config 147-151): new headers, a value may carry ':'. */
static void test_rt_add_headers(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/request", NULL, "test1.test");
    fx_plugin(&f, "request-transformer", "{\"add\":{\"headers\":[\"h1:v1\",\"h2:value:2\"]}}");
    fx_access(&f);
    assert_string_equal(hval(&f.up.headers, "h1", 0), "v1");
    assert_string_equal(hval(&f.up.headers, "h2", 0), "value:2");
    fx_free(&f);
}

/* RT-SPEC 1261: add does not change or append an existing header. */
static void test_rt_add_existing_unchanged(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/request", NULL, "test1.test");
    fx_hdr(&f, "h1", "v3");
    fx_plugin(&f, "request-transformer", "{\"add\":{\"headers\":[\"h1:v1\"]}}");
    fx_access(&f);
    assert_int_equal(kf_hdrs_count(&f.up.headers, "h1"), 1);
    assert_string_equal(hval(&f.up.headers, "h1", 0), "v3");
    fx_free(&f);
}

/* RT-SPEC 1434 (config 158-160), access.lua:205: add never touches host. */
static void test_rt_add_host_ignored(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/request", NULL, "test2.test");
    fx_plugin(&f, "request-transformer", "{\"add\":{\"headers\":[\"host:mark\"]}}");
    fx_access(&f);
    assert_null(f.up.host);
    assert_string_equal(hval(&f.up.headers, "host", 0), "test2.test");
    fx_free(&f);
}

/* RT-SPEC 1842 (config 449-451): remove ignores case. */
static void test_rt_remove_ignore_case(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/request", NULL, "test26.test");
    fx_hdr(&f, "x-to-remove", "true");
    fx_plugin(&f, "request-transformer", "{\"remove\":{\"headers\":[\"X-To-Remove\"]}}");
    fx_access(&f);
    assert_null(hval(&f.up.headers, "x-to-remove", 0));
    fx_free(&f);
}

/* RT-SPEC 746 and 762 (config 238-240): rename an existing header; nothing when absent. */
static void test_rt_rename_header(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/request", NULL, "test9.test");
    fx_hdr(&f, "x-to-rename", "true");
    fx_plugin(&f, "request-transformer",
              "{\"rename\":{\"headers\":[\"x-to-rename:x-is-renamed\",\"x-absent:x-new\"]}}");
    fx_access(&f);
    assert_string_equal(hval(&f.up.headers, "x-is-renamed", 0), "true");
    assert_null(hval(&f.up.headers, "x-to-rename", 0));
    assert_null(hval(&f.up.headers, "x-new", 0));
    fx_free(&f);
}

/* RT-SPEC 778: the renamed value overrides an existing target header. */
static void test_rt_rename_overrides_target(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/request", NULL, "test9.test");
    fx_hdr(&f, "x-to-rename", "new");
    fx_hdr(&f, "x-is-renamed", "old");
    fx_plugin(&f, "request-transformer",
              "{\"rename\":{\"headers\":[\"x-to-rename:x-is-renamed\"]}}");
    fx_access(&f);
    assert_int_equal(kf_hdrs_count(&f.up.headers, "x-is-renamed"), 1);
    assert_string_equal(hval(&f.up.headers, "x-is-renamed", 0), "new");
    fx_free(&f);
}

/* RT-SPEC 940 and 969 (config 509-510): a rename that only changes case sends the new case;
 * renaming to the identical name keeps the header. */
static void test_rt_rename_capitalisation(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/request", NULL, "rename.mock");
    fx_hdr(&f, "rename", "true");
    fx_hdr(&f, "identical", "true");
    fx_plugin(&f, "request-transformer",
              "{\"rename\":{\"headers\":[\"rename:Rename\",\"identical:identical\"]}}");
    fx_access(&f);
    assert_true(has_exact(&f.up.headers, "Rename"));
    assert_false(has_exact(&f.up.headers, "rename"));
    assert_string_equal(hval(&f.up.headers, "Rename", 0), "true");
    assert_string_equal(hval(&f.up.headers, "identical", 0), "true");
    fx_free(&f);
}

/* RT-SPEC 986 and 1004 (config 201-205): replace only an existing header. */
static void test_rt_replace_header(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/request", NULL, "test5.test");
    fx_hdr(&f, "h1", "V");
    fx_plugin(&f, "request-transformer", "{\"replace\":{\"headers\":[\"h1:v1\",\"h2:v2\"]}}");
    fx_access(&f);
    assert_string_equal(hval(&f.up.headers, "h1", 0), "v1");
    assert_null(hval(&f.up.headers, "h2", 0));
    fx_free(&f);
}

/* RT-SPEC 1466 and 1479 (config 212-216): append creates or extends, one header line each. */
static void test_rt_append_headers(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/request", NULL, "test6.test");
    fx_hdr(&f, "h2", "v0");
    fx_plugin(&f, "request-transformer",
              "{\"append\":{\"headers\":[\"h1:v1\",\"h1:v2\",\"h2:v1\"]}}");
    fx_access(&f);
    assert_int_equal(kf_hdrs_count(&f.up.headers, "h1"), 2);
    assert_string_equal(hval(&f.up.headers, "h1", 0), "v1");
    assert_string_equal(hval(&f.up.headers, "h1", 1), "v2");
    assert_string_equal(hval(&f.up.headers, "h2", 0), "v0");
    assert_string_equal(hval(&f.up.headers, "h2", 1), "v1");
    fx_free(&f);
}

/* RT-SPEC 1896 and 1910 (config 447-457): append keeps the configured case, after add. */
static void test_rt_append_keeps_config_case(void **state)
{
    (void)state;
    struct fx f;
    const char *cfg = "{\"add\":{\"headers\":[\"X-aDDed:a1\",\"x-aDDed2:b1\",\"x-Added3:c2\"]},"
                      "\"remove\":{\"headers\":[\"X-To-Remove\"]},"
                      "\"append\":{\"headers\":[\"X-aDDed:a2\",\"X-aDDed:a3\"]},"
                      "\"replace\":{\"headers\":[\"x-to-Replace:false\"]}}";
    fx_init(&f, "GET", "/request", NULL, "test26.test");
    fx_hdr(&f, "X-addeD", "a0");
    fx_hdr(&f, "x-to-replace", "true");
    fx_plugin(&f, "request-transformer", cfg);
    fx_access(&f);
    assert_int_equal(kf_hdrs_count(&f.up.headers, "x-added"), 3);
    assert_string_equal(hval(&f.up.headers, "x-added", 0), "a0");
    assert_string_equal(hval(&f.up.headers, "x-added", 2), "a3");
    assert_true(has_exact(&f.up.headers, "X-aDDed"));
    assert_string_equal(hval(&f.up.headers, "x-to-replace", 0), "false"); /* RT-SPEC 1855 */
    assert_string_equal(hval(&f.up.headers, "x-added2", 0), "b1");        /* RT-SPEC 1869 */
    fx_free(&f);

    fx_init(&f, "GET", "/request", NULL, "test26.test");
    fx_plugin(&f, "request-transformer", cfg);
    fx_access(&f);
    assert_int_equal(kf_hdrs_count(&f.up.headers, "x-added"), 3);
    assert_string_equal(hval(&f.up.headers, "x-added", 0), "a1");
    assert_string_equal(hval(&f.up.headers, "x-added", 1), "a2");
    fx_free(&f);
}

/* RT-SPEC 2297-2324 (config 402-414): remove then add the same header. */
static void test_rt_remove_then_add(void **state)
{
    (void)state;
    struct fx f;
    const char *cfg = "{\"http_method\":\"POST\",\"remove\":{\"headers\":[\"Authorization\"]},"
                      "\"add\":{\"headers\":[\"Authorization:Basic test\"]}}";
    fx_init(&f, "GET", "/", NULL, "test22.test");
    fx_hdr(&f, "Authorization", "Basic dGVzdDp0ZXN0");
    fx_plugin(&f, "request-transformer", cfg);
    fx_access(&f);
    assert_int_equal(kf_hdrs_count(&f.up.headers, "authorization"), 1);
    assert_string_equal(hval(&f.up.headers, "authorization", 0), "Basic test");
    assert_string_equal(f.up.method, "POST");
    fx_free(&f);
}

/* access.lua:195-201, pdk/service/request.lua:441-444: replace host sets the upstream Host (kgc's
 * URLRewrite hostname). */
static void test_rt_replace_host(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/", NULL, "a.test");
    fx_plugin(
        &f, "request-transformer",
        "{\"replace\":{\"headers\":[\"host:b.test\"]},\"add\":{\"headers\":[\"host:b.test\"]}}");
    fx_access(&f);
    assert_non_null(f.up.host);
    assert_string_equal(f.up.host, "b.test");
    fx_free(&f);
}

/* ---- request-transformer cases: a request, the plugin's configuration, one outcome ---------- */

enum rt_field { RT_QUERY, RT_URI, RT_BODY, RT_STATUS };

/* A request-transformer case: the client request (up to two URI captures, a Content-Type and a
 * body), the plugin's configuration, and what the access phase must leave: the upstream query,
 * URI or body (want), or the response status. */
struct rt_case {
    const char *method, *path, *query, *host;
    const char *caps[2][2]; /* name, value */
    const char *ctype, *body, *config;
    enum rt_field field;
    const char *want;
    int status;
};

static void test_rt_case(void **state)
{
    const struct rt_case *t = *state;
    struct fx f;
    fx_init(&f, t->method, t->path, t->query, t->host);
    for (size_t i = 0; i < 2 && t->caps[i][0]; i++) {
        fx_cap(&f, t->caps[i][0], t->caps[i][1]);
    }
    if (t->ctype) {
        fx_hdr(&f, "Content-Type", t->ctype);
    }
    if (t->body) {
        fx_body(&f, t->body);
    }
    fx_plugin(&f, "request-transformer", t->config);
    fx_access(&f);
    switch (t->field) {
    case RT_QUERY:
        assert_string_equal(f.up.query, t->want);
        break;
    case RT_URI:
        assert_string_equal(f.up.uri, t->want);
        break;
    case RT_BODY:
        assert_string_equal(f.up.body, t->want);
        break;
    case RT_STATUS:
        assert_int_equal(f.resp.status, t->status);
        break;
    }
    fx_free(&f);
}

/* One cmocka test a case, named as the case (test_rt_<name>). */
#define RT_CASE(c) ((struct CMUnitTest){"test_" #c, test_rt_case, NULL, NULL, &(c)})

/* ---- request-transformer: querystring -------------------------------------------------------- */

/* RT-SPEC 1400 and 1418, pdk/service/request.lua:44-64: add when missing; the query is
 * re-encoded key by key, pieces sorted. */
static struct rt_case rt_query_add = {
    .method = "GET",
    .path = "/request",
    .query = "q2=v2&q1=keep",
    .host = "test1.test",
    .config = "{\"add\":{\"querystring\":[\"q1:v1\",\"q3:v3\",\"a b:c d\"]}}",
    .field = RT_QUERY,
    .want = "a%20b=c%20d&q1=keep&q2=v2&q3=v3",
};

/* RT-SPEC 706, 904, 1146, 1542 (config 172-183,212-216,238-242): remove, rename, replace,
 * append. */
static struct rt_case rt_query_ops = {
    .method = "GET",
    .path = "/request",
    .query = "toremovequery=yes&originalparam=x&toreplacequery=yes&p1=a1",
    .host = "test3.test",
    .config = "{\"remove\":{\"querystring\":[\"toremovequery\"]},"
              "\"rename\":{\"querystring\":[\"originalparam:renamedparam\"]},"
              "\"replace\":{\"querystring\":[\"toreplacequery:no\",\"absent:zz\"]},"
              "\"append\":{\"querystring\":[\"p1:a2\",\"p2:b1\"]}}",
    .field = RT_QUERY,
    .want = "p1=a1&p1=a2&p2=b1&renamedparam=x&toreplacequery=no",
};

/* RT-SPEC 2063-2083 (config 246-254): captures as values; '[' ']' escaped by ngx.encode_args. */
static struct rt_case rt_query_template_captures = {
    .method = "GET",
    .path = "/requests/user1/foo/user2/bar",
    .query = "q1=20",
    .host = "test10.test",
    .caps = {{"user1", "foo"}, {"user2", "bar"}},
    .config = "{\"add\":{\"querystring\":[\"uri_param1:$(uri_captures.user1)\","
              "\"uri_param2[some_index][1]:$(uri_captures.user2)\"]}}",
    .field = RT_QUERY,
    .want = "q1=20&uri_param1=foo&uri_param2%5Bsome_index%5D%5B1%5D=bar",
};

/* ---- request-transformer: templates ---------------------------------------------------------- */

/* RT-SPEC 2085-2097 (config 256-263): replace.uri with named captures. */
static struct rt_case rt_uri_template = {
    .method = "GET",
    .path = "/requests/user1/foo/user2/bar",
    .host = "test11.test",
    .caps = {{"user1", "foo"}, {"user2", "bar"}},
    .config = "{\"replace\":{\"uri\":\"/requests/user2/$(uri_captures.user2)/user1/"
              "$(uri_captures.user1)\"}}",
    .field = RT_URI,
    .want = "/requests/user2/bar/user1/foo",
};

/* RT-SPEC 2098-2115 (config 266-274): `or` gives the default when a capture is missing. */
static struct rt_case rt_template_or_default = {
    .method = "GET",
    .path = "/requests/",
    .query = "q1=20",
    .host = "test12.test",
    .config = "{\"add\":{\"querystring\":[\"uri_param1:$(uri_captures.user1 or 'default1')\","
              "\"uri_param2:$(uri_captures.user2 or 'default2')\"]}}",
    .field = RT_QUERY,
    .want = "q1=20&uri_param1=default1&uri_param2=default2",
};

/* RT-SPEC 2116-2125 (config 276-283): arithmetic on a non-number throws: 500. */
static void test_rt_template_runtime_error_500(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/requests/user1/foo/user2/bar", NULL, "test13.test");
    fx_cap(&f, "user1", "foo");
    fx_plugin(&f, "request-transformer",
              "{\"replace\":{\"uri\":\"/requests/user2/$(10 * uri_captures.user1)\"}}");
    fx_access(&f);
    assert_true(f.resp.short_circuit);
    assert_int_equal(f.resp.status, 500);
    assert_json_body(&f.resp, "{\"message\":\"An unexpected error occurred\"}");
    fx_free(&f);
}

/* Lua coerces a numeric string in arithmetic: the same template with a number renders
 * (access.lua:103-107 runs it as Lua). */
static void test_rt_template_arith_number(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/requests/user1/12/user2/bar", NULL, "test13.test");
    fx_cap(&f, "user1", "12");
    fx_plugin(&f, "request-transformer",
              "{\"replace\":{\"uri\":\"/requests/user2/$(10 * uri_captures.user1)\"}}");
    fx_access(&f);
    assert_false(f.resp.short_circuit);
    assert_string_equal(f.up.uri, "/requests/user2/120");
    fx_free(&f);
}

/* RT-SPEC 2126-2138 (config 286-293): numbered captures by index, [0] is the whole match. */
static struct rt_case rt_template_capture_index = {
    .method = "GET",
    .path = "/user1/foo/user2/bar",
    .host = "test14.test",
    .caps = {{"0", "/user1/foo/user2/bar"}, {"1", "foo"}},
    .config = "{\"replace\":{\"uri\":\"/requests$(uri_captures[0])\"}}",
    .field = RT_URI,
    .want = "/requests/user1/foo/user2/bar",
};

/* RT-SPEC 2139-2160 (config 296-308): headers and query_params in templates; q1 removed. */
static void test_rt_template_headers_query(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/requests/user1/foo/user2/bar", "q1=20", "test15.test");
    fx_cap(&f, "user1", "foo");
    fx_plugin(&f, "request-transformer",
              "{\"add\":{\"querystring\":[\"uri_param1:$(uri_captures.user1)\","
              "\"uri_param2:$(headers.host)\"],\"headers\":[\"x-test-header:$(query_params.q1)\"]},"
              "\"remove\":{\"querystring\":[\"q1\"]}}");
    fx_access(&f);
    assert_string_equal(f.up.query, "uri_param1=foo&uri_param2=test15.test");
    assert_string_equal(hval(&f.up.headers, "x-test-header", 0), "20");
    fx_free(&f);
}

/* RT-SPEC 2161-2182 (config 310-325): a removed header can still be used as a template. */
static void test_rt_template_removed_header(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/requests/user1/foo/user2/bar", "q2=20", "test16.test");
    fx_hdr(&f, "x-remove-header", "its a test");
    fx_cap(&f, "user1", "foo");
    fx_plugin(&f, "request-transformer",
              "{\"replace\":{\"querystring\":[\"q2:$(headers['x-remove-header'])\"]},"
              "\"add\":{\"querystring\":[\"q1:$(uri_captures.user1)\"],"
              "\"headers\":[\"x-test-header:$(headers['x-remove-header'])\"]},"
              "\"remove\":{\"headers\":[\"x-remove-header\"]}}");
    fx_access(&f);
    assert_null(hval(&f.up.headers, "x-remove-header", 0));
    assert_string_equal(hval(&f.up.headers, "x-test-header", 0), "its a test");
    assert_string_equal(f.up.query, "q1=foo&q2=its%20a%20test");
    fx_free(&f);
}

/* RT-SPEC 2183-2206 (config 327-340): templates see the old value of a replaced header. */
static void test_rt_template_old_value(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/requests/user1/foo/user2/bar", "q2=20", "test17.test");
    fx_hdr(&f, "x-replace-header", "the old value");
    fx_cap(&f, "user1", "foo");
    fx_plugin(&f, "request-transformer",
              "{\"replace\":{\"querystring\":[\"q2:$(headers['x-replace-header'])\"],"
              "\"headers\":[\"x-replace-header:the new value\"]},"
              "\"add\":{\"querystring\":[\"q1:$(uri_captures.user1)\"],"
              "\"headers\":[\"x-test-header:$(headers['x-replace-header'])\"]}}");
    fx_access(&f);
    assert_string_equal(hval(&f.up.headers, "x-replace-header", 0), "the new value");
    assert_string_equal(hval(&f.up.headers, "x-test-header", 0), "the old value");
    assert_string_equal(f.up.query, "q1=foo&q2=the%20old%20value");
    fx_free(&f);
}

/* RT-SPEC 2207-2226 (config 342-350): a template escaped as a Lua string literal. */
static struct rt_case rt_template_escaped = {
    .method = "GET",
    .path = "/requests/user1/foo/user2/bar",
    .query = "q2=20",
    .host = "test18.test",
    .caps = {{"user1", "foo"}},
    .config = "{\"add\":{\"querystring\":[\"q1:$('$(uri_captures.user1)')\"]}}",
    .field = RT_QUERY,
    .want = "q1=%24(uri_captures.user1)&q2=20",
};

/* RT-SPEC 2227-2241 (config 352-360): a template that calls an undefined function: 500. */
static struct rt_case rt_template_call_error = {
    .method = "GET",
    .path = "/requests/user1/foo/user2/bar",
    .host = "test19.test",
    .config = "{\"add\":{\"querystring\":[\"q1:$(ERROR())\"]}}",
    .field = RT_STATUS,
    .status = 500,
};

/* RT-SPEC 2260-2273 (config 432-440): type() is in the template environment (access.lua:549);
 * a repeated header is a table. */
static void test_rt_template_type_function(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/requests", NULL, "test25.test");
    fx_hdr(&f, "X-Foo", "bar");
    fx_hdr(&f, "X-Foo", "baz");
    fx_plugin(&f, "request-transformer",
              "{\"add\":{\"headers\":[\"X-Foo-Transformed:$(type(headers[\\\"X-Foo\\\"]) == "
              "\\\"table\\\" and headers[\\\"X-Foo\\\"][1] .. \\\"-first\\\" or "
              "headers[\\\"X-Foo\\\"])\"]}}");
    fx_access(&f);
    assert_false(f.resp.short_circuit);
    assert_string_equal(hval(&f.up.headers, "X-Foo-Transformed", 0), "bar-first");
    fx_free(&f);
}

/* RT-SPEC 2286-2295 (config 471-481): assigning in a template is not an expression: 500. */
static struct rt_case rt_template_write_attempt = {
    .method = "GET",
    .path = "/requests",
    .host = "test28.test",
    .config = "{\"add\":{\"headers\":[\"X-Write-Attempt:$(shared.written = true)\"]}}",
    .field = RT_STATUS,
    .status = 500,
};

/* pl.template (access.lua:40-42): "$(" without a closing ")" stays text; '#' is not an escape. */
static void test_rt_template_unbalanced_literal(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/r", NULL, "t.test");
    char *out = NULL;
    assert_int_equal(kp_template_render_req(&f.c, &f.m, &f.up, "#a $(b c", &out), 0);
    assert_string_equal(out, "#a $(b c");
    free(out);
    fx_free(&f);
}

/* RT-SPEC 1204-1230 (config 139-141,483-491): an unmatched optional group renders as nothing;
 * kong.service.request.set_path escapes the result (kong/tools/uri.lua:43,69). */
static struct rt_case rt_uri_escaped = {
    .method = "GET",
    .path = "/api/htest",
    .host = "test29.test",
    .caps = {{"subpath", "htest"}},
    .config = "{\"replace\":{\"uri\":\"/api/v2/$(uri_captures[\\\"subpath\\\"])/t\xc3\xa9st\"}}",
    .field = RT_URI,
    .want = "/api/v2/htest/t%C3%A9st",
};

/* pdk/service/request.lua:139-145: a rendered path must start with '/': the handler throws. */
static struct rt_case rt_uri_not_slash_500 = {
    .method = "GET",
    .path = "/a",
    .host = "t.test",
    .config = "{\"replace\":{\"uri\":\"$(uri_captures.none)x\"}}",
    .field = RT_STATUS,
    .status = 500,
};

/* ---- request-transformer: body and method ---------------------------------------------------- */

/* RT-SPEC 1277 and 1314 (config 147-151): add to a form body and to a JSON body; the
 * Content-Length follows (access.lua:449-452). */
static void test_rt_body_add(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "POST", "/request", NULL, "test1.test");
    fx_hdr(&f, "Content-Type", "application/x-www-form-urlencoded");
    fx_body(&f, "hello=world");
    fx_plugin(&f, "request-transformer", "{\"add\":{\"body\":[\"p1:v1\"]}}");
    fx_access(&f);
    assert_string_equal(f.up.body, "hello=world&p1=v1");
    assert_string_equal(hval(&f.up.headers, "content-length", 0), "17");
    fx_free(&f);

    fx_init(&f, "POST", "/request", NULL, "test1.test");
    fx_hdr(&f, "Content-Type", "application/json");
    fx_body(&f, "{\"hello\":\"world\"}");
    fx_plugin(&f, "request-transformer", "{\"add\":{\"body\":[\"p1:v1\"]}}");
    fx_access(&f);
    assert_up_json(&f.up, "{\"hello\":\"world\",\"p1\":\"v1\"}");
    fx_free(&f);
}

/* RT-SPEC 1331 and 1349: an existing JSON parameter is kept; a malformed body is left alone. */
static void test_rt_body_json_existing_and_malformed(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "POST", "/request", NULL, "test1.test");
    fx_hdr(&f, "Content-Type", "application/json");
    fx_body(&f, "{\"p1\":\"this should not change\"}");
    fx_plugin(&f, "request-transformer", "{\"add\":{\"body\":[\"p1:v1\"]}}");
    fx_access(&f);
    assert_string_equal(f.up.body, "{\"p1\":\"this should not change\"}");
    fx_free(&f);

    fx_init(&f, "POST", "/request", NULL, "test1.test");
    fx_hdr(&f, "Content-Type", "application/json");
    fx_body(&f, "malformed json body");
    fx_plugin(&f, "request-transformer", "{\"add\":{\"body\":[\"p1:v1\"]}}");
    fx_access(&f);
    assert_false(f.resp.short_circuit);
    assert_string_equal(f.up.body, "malformed json body");
    fx_free(&f);
}

/* RT-SPEC 603 and 622 (config 190-194), 728: remove from form and JSON bodies; an empty JSON
 * array stays an array. */
static void test_rt_body_remove(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "POST", "/request", NULL, "test4.test");
    fx_hdr(&f, "Content-Type", "application/x-www-form-urlencoded");
    fx_body(&f, "toremoveform=yes&nottoremove=yes");
    fx_plugin(&f, "request-transformer", "{\"remove\":{\"body\":[\"toremoveform\"]}}");
    fx_access(&f);
    assert_string_equal(f.up.body, "nottoremove=yes");
    fx_free(&f);

    fx_init(&f, "POST", "/request", NULL, "test4.test");
    fx_hdr(&f, "Content-Type", "application/json; charset=utf-8");
    fx_body(&f, "{\"toremoveform\":\"yes\",\"emptyarray\":[]}");
    fx_plugin(&f, "request-transformer", "{\"remove\":{\"body\":[\"toremoveform\"]}}");
    fx_access(&f);
    assert_up_json(&f.up, "{\"emptyarray\":[]}");
    fx_free(&f);
}

/* RT-SPEC 847 and 1056 (config 201-205,238-242): rename and replace JSON parameters. */
static void test_rt_body_json_rename_replace(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "POST", "/request", NULL, "test9.test");
    fx_hdr(&f, "Content-Type", "application/json");
    fx_body(&f, "{\"originalparam\":\"yes\",\"p1\":\"v0\",\"nottorename\":\"yes\"}");
    fx_plugin(&f, "request-transformer",
              "{\"rename\":{\"body\":[\"originalparam:renamedparam\"]},"
              "\"replace\":{\"body\":[\"p1:v1\",\"absent:x\"]}}");
    fx_access(&f);
    assert_up_json(&f.up, "{\"renamedparam\":\"yes\",\"p1\":\"v1\",\"nottorename\":\"yes\"}");
    fx_free(&f);
}

/* RT-SPEC 1572 (config 212-216): append to a form body parameter; a ':' in a value survives. */
static struct rt_case rt_body_form_append = {
    .method = "POST",
    .path = "/request",
    .host = "test6.test",
    .ctype = "application/x-www-form-urlencoded",
    .body = "p1=v0",
    .config = "{\"append\":{\"body\":[\"p1:v1\",\"p1:v2\",\"p2:value:1\"]}}",
    .field = RT_BODY,
    .want = "p1=v0&p1=v1&p1=v2&p2=value%3A1",
};

/* RT-SPEC 538 and 552 (config 222-232): the method changes; POST -> GET moves a form body's
 * parameters into the querystring (access.lua:455-486). */
static void test_rt_http_method(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/request", "hello=world&name=marco", "test7.test");
    fx_plugin(&f, "request-transformer", "{\"http_method\":\"POST\"}");
    fx_access(&f);
    assert_string_equal(f.up.method, "POST");
    assert_string_equal(f.up.query, "hello=world&name=marco");
    fx_free(&f);

    fx_init(&f, "POST", "/request", "hello=world", "test8.test");
    fx_hdr(&f, "Content-Type", "application/x-www-form-urlencoded");
    fx_body(&f, "name=marco");
    fx_plugin(&f, "request-transformer", "{\"http_method\":\"GET\"}");
    fx_access(&f);
    assert_string_equal(f.up.method, "GET");
    assert_string_equal(f.up.query, "hello=world&name=marco");
    fx_free(&f);
}

/* RT-SPEC 570-585 (config 363-375): GET -> POST and a JSON body built from nothing, because the
 * body step reads the Content-Type the header step just added (access.lua:553-556). */
static void test_rt_method_and_json_body(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/request", NULL, "test20.test");
    fx_plugin(&f, "request-transformer",
              "{\"http_method\":\"POST\",\"add\":{\"headers\":[\"Content-Type:application/json\"],"
              "\"body\":[\"body:somecontent\"]}}");
    fx_access(&f);
    assert_string_equal(f.up.method, "POST");
    assert_string_equal(hval(&f.up.headers, "content-type", 0), "application/json");
    assert_up_json(&f.up, "{\"body\":\"somecontent\"}");
    fx_free(&f);
}

#define MP_CT         "multipart/form-data; boundary=xYzZY"
#define MP_PART(n, v) "--xYzZY\r\nContent-Disposition: form-data; name=\"" n "\"\r\n\r\n" v "\r\n"
#define MP_END        "--xYzZY--\r\n"

/* RT-SPEC 687-705 (config 190-194), lua-multipart 0.5.9 delete()/encode(): remove a part. */
static struct rt_case rt_multipart_remove = {
    .method = "POST",
    .path = "/request",
    .host = "test4.test",
    .ctype = MP_CT,
    .body = MP_PART("toremoveform", "yes") MP_PART("nottoremove", "yes") MP_END,
    .config = "{\"remove\":{\"body\":[\"toremoveform\"]}}",
    .field = RT_BODY,
    .want = MP_PART("nottoremove", "yes") MP_END,
};

/* RT-SPEC 1364-1399 (config 147-151): add a part when missing, keep an existing one. */
static void test_rt_multipart_add(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "POST", "/request", NULL, "test1.test");
    fx_hdr(&f, "Content-Type", MP_CT);
    fx_body(&f, "");
    fx_plugin(&f, "request-transformer", "{\"add\":{\"body\":[\"p1:v1\"]}}");
    fx_access(&f);
    assert_string_equal(f.up.body, MP_PART("p1", "v1") MP_END);
    fx_free(&f);

    fx_init(&f, "POST", "/request", NULL, "test1.test");
    fx_hdr(&f, "Content-Type", MP_CT);
    fx_body(&f, MP_PART("p1", "this should not change") MP_PART("hello", "world") MP_END);
    fx_plugin(&f, "request-transformer", "{\"add\":{\"body\":[\"p1:v1\"]}}");
    fx_access(&f);
    assert_string_equal(f.up.body,
                        MP_PART("p1", "this should not change") MP_PART("hello", "world") MP_END);
    fx_free(&f);
}

/* RT-SPEC 883 and 1106 (access.lua:381-408): rename moves the value to a new last part;
 * replace deletes and re-adds. */
static void test_rt_multipart_rename_replace(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "POST", "/request", NULL, "test9.test");
    fx_hdr(&f, "Content-Type", MP_CT);
    fx_body(&f, MP_PART("originalparam", "yes") MP_PART("p1", "v0") MP_PART("x", "1") MP_END);
    fx_plugin(&f, "request-transformer",
              "{\"rename\":{\"body\":[\"originalparam:renamedparam\"]},"
              "\"replace\":{\"body\":[\"p1:v1\"]}}");
    fx_access(&f);
    assert_string_equal(f.up.body, MP_PART("x", "1") MP_PART("renamedparam", "yes")
                                       MP_PART("p1", "v1") MP_END);
    fx_free(&f);
}

/* RT-SPEC 1607-1623 (access.lua:377-422 has no append step for multipart): unchanged. */
static struct rt_case rt_multipart_append_ignored = {
    .method = "POST",
    .path = "/request",
    .host = "test6.test",
    .ctype = MP_CT,
    .body = MP_PART("p1", "This should not change") MP_END,
    .config = "{\"append\":{\"body\":[\"p1:v1\"]}}",
    .field = RT_BODY,
    .want = MP_PART("p1", "This should not change") MP_END,
};

/* ---- response-transformer -------------------------------------------------------------------- */

static void resp_hdr(struct fx *f, const char *name, const char *value)
{
    assert_int_equal(kf_hdrs_add(&f->resp.headers, name, value), 0);
}

static void resp_body(struct fx *f, const char *body)
{
    f->resp.status = 200;
    f->resp.body = strdup(body);
    f->resp.body_len = strlen(body);
}

/* RH-SPEC 62-75: is_json_body. */
static void test_rh_is_json_body(void **state)
{
    (void)state;
    assert_true(kp_is_json_body("application/json"));
    assert_true(kp_is_json_body("application/json; charset=utf-8"));
    assert_true(kp_is_json_body("application/problem+json"));
    assert_true(kp_is_json_body("application/problem+json; charset=utf-8"));
    assert_true(kp_is_json_body("application/x-www-form-urlencoded, application/json"));
    assert_false(kp_is_json_body("application/x-www-form-urlencoded"));
    assert_false(kp_is_json_body(NULL));
}

/* RH-SPEC 97-106: remove all the headers and, with a JSON transform on a JSON response, the
 * Content-Length. */
static void test_rh_remove(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/", NULL, "t.test");
    resp_hdr(&f, "h1", "value1");
    resp_hdr(&f, "h2", "value2a");
    resp_hdr(&f, "h2", "value2b");
    resp_hdr(&f, "Content-Length", "100");
    resp_hdr(&f, "Content-Type", "application/json");
    fx_plugin(&f, "response-transformer",
              "{\"remove\":{\"headers\":[\"h1\",\"h2\",\"h3\"]},\"add\":{\"json\":[\"p1:v1\"]}}");
    fx_response(&f);
    assert_null(hval(&f.resp.headers, "h1", 0));
    assert_null(hval(&f.resp.headers, "h2", 0));
    assert_null(hval(&f.resp.headers, "Content-Length", 0));
    fx_free(&f);
}

/* RH-SPEC 131-155: rename existing headers (all values); nothing for absent ones; an empty
 * value is sent as " " (kong/pdk/private/checks.lua:17). */
static void test_rh_rename(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/", NULL, "t.test");
    resp_hdr(&f, "h1", "v1");
    resp_hdr(&f, "h1", "v2");
    resp_hdr(&f, "h3", "");
    fx_plugin(&f, "response-transformer",
              "{\"rename\":{\"headers\":[\"h1:h2\",\"h3:h4\",\"h5:h6\"]}}");
    fx_response(&f);
    assert_null(hval(&f.resp.headers, "h1", 0));
    assert_string_equal(hval(&f.resp.headers, "h2", 0), "v1");
    assert_string_equal(hval(&f.resp.headers, "h2", 1), "v2");
    assert_string_equal(hval(&f.resp.headers, "h4", 0), " ");
    assert_null(hval(&f.resp.headers, "h6", 0));
    fx_free(&f);
}

/* RH-SPEC 176-185: replace only existing headers; a value may contain ':'. */
static void test_rh_replace(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/", NULL, "t.test");
    resp_hdr(&f, "h2", "value2a");
    resp_hdr(&f, "h2", "value2b");
    fx_plugin(&f, "response-transformer", "{\"replace\":{\"headers\":[\"h1:v1\",\"h2:value:2\"]}}");
    fx_response(&f);
    assert_null(hval(&f.resp.headers, "h1", 0));
    assert_int_equal(kf_hdrs_count(&f.resp.headers, "h2"), 1);
    assert_string_equal(hval(&f.resp.headers, "h2", 0), "value:2");
    fx_free(&f);
}

/* RH-SPEC 211-220: add only missing headers. */
static void test_rh_add(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/", NULL, "t.test");
    resp_hdr(&f, "h1", "v1");
    resp_hdr(&f, "h3", "keep");
    fx_plugin(&f, "response-transformer", "{\"add\":{\"headers\":[\"h2:v2\",\"h3:v3\"]}}");
    fx_response(&f);
    assert_string_equal(hval(&f.resp.headers, "h2", 0), "v2");
    assert_string_equal(hval(&f.resp.headers, "h3", 0), "keep");
    assert_int_equal(kf_hdrs_count(&f.resp.headers, "h3"), 1);
    fx_free(&f);
}

/* RH-SPEC 246-255: append creates or adds a value. */
static void test_rh_append(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/", NULL, "t.test");
    resp_hdr(&f, "h1", "v1");
    fx_plugin(&f, "response-transformer", "{\"append\":{\"headers\":[\"h1:v2\",\"h9:v9\"]}}");
    fx_response(&f);
    assert_string_equal(hval(&f.resp.headers, "h1", 0), "v1");
    assert_string_equal(hval(&f.resp.headers, "h1", 1), "v2");
    assert_string_equal(hval(&f.resp.headers, "h9", 0), "v9");
    fx_free(&f);
}

/* RH-SPEC 262-290: remove, replace, add, append together. */
static void test_rh_together(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/", NULL, "t.test");
    resp_hdr(&f, "h1", "v1");
    resp_hdr(&f, "h2", "v2");
    fx_plugin(&f, "response-transformer",
              "{\"remove\":{\"headers\":[\"h1:v1\"]},\"replace\":{\"headers\":[\"h2:v3\"]},"
              "\"add\":{\"headers\":[\"h3:v3\"],\"json\":[\"p1:v1\"]},"
              "\"append\":{\"headers\":[\"h3:v4\"]}}");
    fx_response(&f);
    assert_null(hval(&f.resp.headers, "h1", 0));
    assert_string_equal(hval(&f.resp.headers, "h2", 0), "v3");
    assert_string_equal(hval(&f.resp.headers, "h3", 0), "v3");
    assert_string_equal(hval(&f.resp.headers, "h3", 1), "v4");
    fx_free(&f);
}

/* RH-SPEC 321-335: Content-Length stays when the response is not JSON or no JSON transform. */
static void test_rh_content_length_kept(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/", NULL, "t.test");
    resp_hdr(&f, "Content-Length", "100");
    resp_hdr(&f, "Content-Type", "text/plain");
    fx_plugin(&f, "response-transformer", "{\"remove\":{\"json\":[\"p1\"]}}");
    fx_response(&f);
    assert_string_equal(hval(&f.resp.headers, "Content-Length", 0), "100");
    fx_free(&f);

    fx_init(&f, "GET", "/", NULL, "t.test");
    resp_hdr(&f, "Content-Length", "100");
    resp_hdr(&f, "Content-Type", "application/json; charset=utf-8");
    fx_plugin(&f, "response-transformer", "{\"remove\":{\"headers\":[\"h1\"]}}");
    fx_response(&f);
    assert_string_equal(hval(&f.resp.headers, "Content-Length", 0), "100");
    fx_free(&f);
}

/* header_transformer.lua:86-117 with kong/pdk/response.lua:297-301: lookups use the headers as
 * they were before the filter, so a removed header is still "present" for add. */
static void test_rh_snapshot_semantics(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/", NULL, "t.test");
    resp_hdr(&f, "X-A", "1");
    fx_plugin(&f, "response-transformer",
              "{\"remove\":{\"headers\":[\"x-a\"]},\"add\":{\"headers\":[\"x-a:2\"]},"
              "\"replace\":{\"headers\":[\"x-a:3\"]}}");
    fx_response(&f);
    /* replace sees x-a in the snapshot and sets it back; add does not */
    assert_int_equal(kf_hdrs_count(&f.resp.headers, "x-a"), 1);
    assert_string_equal(hval(&f.resp.headers, "x-a", 0), "3");
    fx_free(&f);
}

/* RB-SPEC 26-55: add JSON members with json_types (number, boolean, quoted string). */
static void test_rb_add_json_types(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/", NULL, "t.test");
    resp_hdr(&f, "Content-Type", "application/json");
    resp_body(&f, "{\"p2\":\"v1\",\"a\":[]}");
    fx_plugin(&f, "response-transformer",
              "{\"add\":{\"json\":[\"p1:v1\",\"p3:value:3\",\"p4:\\\"v1\\\"\",\"p5:-1\","
              "\"p6:false\",\"p7:true\"],"
              "\"json_types\":[\"string\",\"string\",\"string\",\"number\",\"boolean\","
              "\"boolean\"]}}");
    fx_response(&f);
    assert_json_body(&f.resp,
                     "{\"p1\":\"v1\",\"p2\":\"v1\",\"p3\":\"value:3\",\"p4\":\"\\\"v1\\\"\","
                     "\"p5\":-1,\"p6\":false,\"p7\":true,\"a\":[]}");
    fx_free(&f);
}

/* RB-SPEC 78-95: append makes arrays. */
static void test_rb_append(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/", NULL, "t.test");
    resp_hdr(&f, "Content-Type", "application/json");
    resp_body(&f, "{\"p1\":\"v2\"}");
    fx_plugin(&f, "response-transformer",
              "{\"append\":{\"json\":[\"p1:v1\",\"p3:\\\"v1\\\"\",\"p4:-1\",\"p5:false\","
              "\"p6:true\"],\"json_types\":[\"string\",\"string\",\"number\",\"boolean\","
              "\"boolean\"]}}");
    fx_response(&f);
    assert_json_body(&f.resp, "{\"p1\":[\"v2\",\"v1\"],\"p3\":[\"\\\"v1\\\"\"],\"p4\":[-1],"
                              "\"p5\":[false],\"p6\":[true]}");
    fx_free(&f);
}

/* RB-SPEC 135-139: remove members. */
static void test_rb_remove(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/", NULL, "t.test");
    resp_hdr(&f, "Content-Type", "application/json");
    resp_body(&f, "{\"p1\" : \"v1\", \"p2\" : \"v1\"}");
    fx_plugin(&f, "response-transformer", "{\"remove\":{\"json\":[\"p1\",\"p2\"]}}");
    fx_response(&f);
    assert_string_equal(f.resp.body, "{}");
    fx_free(&f);
}

/* response-transformer/handler.lua:26-32: no JSON Content-Type, no body change. */
static void test_rb_not_json_untouched(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/", NULL, "t.test");
    resp_hdr(&f, "Content-Type", "text/plain");
    resp_body(&f, "{\"p1\":\"v1\"}");
    fx_plugin(&f, "response-transformer", "{\"remove\":{\"json\":[\"p1\"]}}");
    fx_response(&f);
    assert_string_equal(f.resp.body, "{\"p1\":\"v1\"}");
    fx_free(&f);
}

/* ---- request-termination ----------------------------------------------------------------------
 */

/* TERM-SPEC 189-200 (config 66): defaults: 503 and {"message":"Service unavailable"}. */
static void test_term_defaults(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/status/200", NULL, "api1.request-termination.test");
    fx_plugin(&f, "request-termination", "{}");
    fx_access(&f);
    assert_true(f.resp.short_circuit);
    assert_int_equal(f.resp.status, 503);
    assert_json_body(&f.resp, "{\"message\":\"Service unavailable\"}");
    assert_string_equal(hval(&f.resp.headers, "Content-Type", 0),
                        "application/json; charset=utf-8");
    fx_free(&f);
}

/* TERM-SPEC 215-226 (config 72-74): a status code with its default message. */
static void test_term_status_default_message(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/status/200", NULL, "api2.request-termination.test");
    fx_plugin(&f, "request-termination", "{\"status_code\":404}");
    fx_access(&f);
    assert_int_equal(f.resp.status, 404);
    assert_json_body(&f.resp, "{\"message\":\"Not found\"}");
    fx_free(&f);
}

/* TERM-SPEC 228-239 (config 80-83): a custom message. kgc's 500 for a rule without backends. */
static void test_term_custom_message(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/status/200", NULL, "api3.request-termination.test");
    fx_plugin(&f, "request-termination", "{\"status_code\":406,\"message\":\"Invalid\"}");
    fx_access(&f);
    assert_int_equal(f.resp.status, 406);
    assert_json_body(&f.resp, "{\"message\":\"Invalid\"}");
    fx_free(&f);
}

/* TERM-SPEC 257-279 (config 89-101): a raw body, with its content_type when set. */
static void test_term_body(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/status/200", NULL, "api4.request-termination.test");
    fx_plugin(&f, "request-termination",
              "{\"body\":\"<html><body><h1>Service is down for maintenance</h1></body></html>\"}");
    fx_access(&f);
    assert_int_equal(f.resp.status, 503);
    assert_string_equal(f.resp.body,
                        "<html><body><h1>Service is down for maintenance</h1></body></html>");
    assert_null(hval(&f.resp.headers, "Content-Type", 0));
    fx_free(&f);

    fx_init(&f, "GET", "/status/200", NULL, "api5.request-termination.test");
    fx_plugin(&f, "request-termination",
              "{\"status_code\":451,\"content_type\":\"text/html\",\"body\":\"<p>x</p>\"}");
    fx_access(&f);
    assert_int_equal(f.resp.status, 451);
    assert_string_equal(f.resp.body, "<p>x</p>");
    assert_string_equal(hval(&f.resp.headers, "Content-Type", 0), "text/html");
    fx_free(&f);
}

/* TERM-SPEC 241-252 (config 122-124): 204 has no default message, so no body. */
static void test_term_204_no_body(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/status/204", NULL, "api7.request-termination.test");
    fx_plugin(&f, "request-termination", "{\"status_code\":204}");
    fx_access(&f);
    assert_int_equal(f.resp.status, 204);
    assert_null(f.resp.body);
    fx_free(&f);
}

/* TERM-SPEC 319-353 (config 130-133): echo the request back. */
static void test_term_echo(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/status/200", "a=1", "api9.request-termination.test");
    fx_body(&f, "cool body");
    fx_plugin(&f, "request-termination", "{\"echo\":true,\"status_code\":404}");
    fx_access(&f);
    assert_int_equal(f.resp.status, 404);
    json_object *b = json_tokener_parse(f.resp.body), *r = NULL, *v = NULL;
    assert_non_null(b);
    assert_true(json_object_object_get_ex(b, "request", &r));
    assert_true(json_object_object_get_ex(r, "path", &v));
    assert_string_equal(json_object_get_string(v), "/status/200");
    assert_true(json_object_object_get_ex(r, "raw_body", &v));
    assert_string_equal(json_object_get_string(v), "cool body");
    assert_true(json_object_object_get_ex(r, "host", &v));
    assert_string_equal(json_object_get_string(v), "api9.request-termination.test");
    assert_true(json_object_object_get_ex(r, "query", &v));
    assert_true(json_object_object_get_ex(v, "a", &v));
    assert_string_equal(json_object_get_string(v), "1");
    assert_true(json_object_object_get_ex(b, "message", &v));
    assert_string_equal(json_object_get_string(v), "Not found");
    json_object_put(b);
    fx_free(&f);
}

/* kong.request.get_body() in the echo (kong/pdk/request.lua get_body): a JSON body is decoded
 * from its bytes, which dataplane.c hands over without a terminating NUL (found by
 * fuzz_kong_proxy: the echo read past the buffer); a body with trailing bytes is not JSON. */
static void test_term_echo_json_body_exact_length(void **state)
{
    (void)state;
    static const char *const bodies[] = {"{\"a\":1}", "{\"a\":1}xyz"};
    for (size_t i = 0; i < 2; i++) {
        struct fx f;
        fx_init(&f, "POST", "/t", NULL, "term.test");
        fx_hdr(&f, "Content-Type", "application/json");
        size_t n = strlen(bodies[i]);
        f.c.body = bodies[i];
        f.c.body_len = n;
        f.up.body = malloc(n); /* exactly the body, as dataplane.c copies it */
        assert_non_null(f.up.body);
        memcpy(f.up.body, bodies[i], n);
        f.up.body_len = n;
        fx_plugin(&f, "request-termination", "{\"echo\":true}");
        fx_access(&f);
        assert_int_equal(f.resp.status, 503);
        json_object *b = json_tokener_parse(f.resp.body), *r = NULL, *v = NULL;
        assert_non_null(b);
        assert_true(json_object_object_get_ex(b, "request", &r));
        if (i == 0) {
            assert_true(json_object_object_get_ex(r, "body", &v));
            assert_true(json_object_object_get_ex(v, "a", &v));
            assert_int_equal(json_object_get_int(v), 1);
        } else {
            assert_false(json_object_object_get_ex(r, "body", &v));
        }
        json_object_put(b);
        fx_free(&f);
    }
}

/* TERM-SPEC 355-425 (config 139-143): with a trigger, only a request carrying it as a header or
 * a query argument is answered. */
static void test_term_trigger(void **state)
{
    (void)state;
    const char *cfg = "{\"echo\":true,\"trigger\":\"gimme-an-echo\",\"status_code\":404}";
    struct fx f;
    fx_init(&f, "GET", "/status/200", NULL, "api10.request-termination.test");
    fx_plugin(&f, "request-termination", cfg);
    fx_access(&f);
    assert_false(f.resp.short_circuit);
    fx_free(&f);

    fx_init(&f, "GET", "/status/200", NULL, "api10.request-termination.test");
    fx_hdr(&f, "Gimme-An-Echo", "anything will do");
    fx_plugin(&f, "request-termination", cfg);
    fx_access(&f);
    assert_int_equal(f.resp.status, 404);
    fx_free(&f);

    fx_init(&f, "GET", "/status/200", "gimme-an-echo=anything%20will%20do",
            "api10.request-termination.test");
    fx_plugin(&f, "request-termination", cfg);
    fx_access(&f);
    assert_int_equal(f.resp.status, 404);
    fx_free(&f);
}

/* ---- redirect ---------------------------------------------------------------------------------
 */

/* REDIR-SPEC 99-108, 123-133 (config 22, 53): 301 by default, Location as configured, body
 * "redirecting" (redirect/handler.lua:29). */
static void test_redirect_default(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/status/200", NULL, "api1.redirect.test");
    fx_plugin(&f, "redirect", "{\"location\":\"https://example.com/path?foo=bar\"}");
    fx_access(&f);
    assert_int_equal(f.resp.status, 301);
    assert_string_equal(hval(&f.resp.headers, "Location", 0), "https://example.com/path?foo=bar");
    assert_string_equal(f.resp.body, "redirecting");
    fx_free(&f);
}

/* REDIR-SPEC 110-119 (config 37-38): a custom status code. */
static void test_redirect_status(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/status/200", NULL, "api2.redirect.test");
    fx_plugin(&f, "redirect", "{\"status_code\":302,\"location\":\"https://example.com\"}");
    fx_access(&f);
    assert_int_equal(f.resp.status, 302);
    assert_string_equal(hval(&f.resp.headers, "Location", 0), "https://example.com");
    fx_free(&f);
}

/* REDIR-SPEC 135-145 (config 68-69): keep_incoming_path takes the request's path and query. */
static void test_redirect_keep_incoming_path(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/status/200", "keep=this", "api4.redirect.test");
    fx_plugin(
        &f, "redirect",
        "{\"location\":\"https://example.com/some_path?foo=bar\",\"keep_incoming_path\":true}");
    fx_access(&f);
    assert_int_equal(f.resp.status, 301);
    assert_string_equal(hval(&f.resp.headers, "Location", 0),
                        "https://example.com/status/200?keep=this");
    fx_free(&f);

    /* no query: set_search("") drops the location's own query */
    fx_init(&f, "GET", "/a/./b", NULL, "api4.redirect.test");
    fx_plugin(&f, "redirect",
              "{\"location\":\"https://Example.COM:443/x?foo=bar\",\"keep_incoming_path\":true}");
    fx_access(&f);
    assert_string_equal(hval(&f.resp.headers, "Location", 0), "https://example.com/a/b");
    fx_free(&f);
}

/* ---- order of plugins -------------------------------------------------------------------------
 */

/* redirect/handler.lua:9 (779) runs before request-termination/handler.lua:17 (2), and after
 * request-transformer (801): the redirect sees the query the transformer set
 * (kong/pdk/request.lua:475 reads ngx.var.args). */
static void test_order_priorities(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/p", "a=1", "t.test");
    fx_plugin(&f, "request-termination", "{\"status_code\":500}");
    fx_plugin(&f, "redirect", "{\"location\":\"http://x.test/\",\"keep_incoming_path\":true}");
    fx_plugin(&f, "request-transformer", "{\"add\":{\"querystring\":[\"b:2\"]}}");
    fx_access(&f);
    assert_int_equal(f.resp.status, 301);
    assert_string_equal(hval(&f.resp.headers, "Location", 0), "http://x.test/p?a=1&b=2");
    fx_free(&f);
}

/* kong/init.lua:360-430 with plugins_iterator.lua:372-411: every plugin is collected, so
 * response-transformer's header_filter also runs on request-termination's answer (kgc's
 * redirect fallback: request-termination + a Location added by response-transformer). */
static void test_order_response_filter_on_exit(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "GET", "/old", NULL, "t.test");
    fx_plugin(&f, "request-termination", "{\"status_code\":302}");
    fx_plugin(&f, "response-transformer", "{\"add\":{\"headers\":[\"Location:/new\"]}}");
    fx_access(&f);
    fx_response(&f);
    assert_int_equal(f.resp.status, 302);
    assert_string_equal(hval(&f.resp.headers, "Location", 0), "/new");
    fx_free(&f);
}

/* plugins.enabled = false is not run; plugins the fake does not model are ignored. */
static void test_disabled_and_unsupported(void **state)
{
    (void)state;
    assert_true(kf_plugin_supported("request-transformer"));
    assert_true(kf_plugin_supported("response-transformer"));
    assert_true(kf_plugin_supported("redirect"));
    assert_true(kf_plugin_supported("request-termination"));
    assert_false(kf_plugin_supported("key-auth"));
    assert_false(kf_plugin_supported(NULL));
    struct fx f;
    fx_init(&f, "GET", "/", NULL, "t.test");
    f.plugins[f.np++] =
        json_tokener_parse("{\"name\":\"request-termination\",\"enabled\":false,\"config\":{}}");
    fx_plugin(&f, "key-auth", "{}");
    fx_access(&f);
    assert_false(f.resp.short_circuit);
    fx_free(&f);
}

/* ---- helpers of the model ---------------------------------------------------------------------
 */

/* lua-nginx-module ngx_http_lua_parse_args: '+' is a space, a bare key is true, empty keys are
 * dropped, repeats make a table. */
static void test_args_parse(void **state)
{
    (void)state;
    struct kp_args a;
    const char *q = "a=1&b&=x&a=2&c=x+y%21";
    assert_int_equal(kp_args_parse(q, strlen(q), 100, &a), 0);
    assert_int_equal(a.n, 3);
    struct kp_arg *g = kp_args_get(&a, "a");
    assert_non_null(g);
    assert_true(g->is_table);
    assert_int_equal(g->n, 2);
    g = kp_args_get(&a, "b");
    assert_non_null(g);
    assert_null(g->v[0].s);
    g = kp_args_get(&a, "c");
    assert_string_equal(g->v[0].s, "x y!");
    char *enc = kp_args_encode_ordered(&a);
    assert_string_equal(enc, "a=1&a=2&b&c=x%20y!");
    free(enc);
    kp_args_free(&a);
}

/* kong/tools/uri.lua:79-160: normalize decodes unreserved escapes, keeps reserved ones
 * (upper-cased), resolves dot segments and merges slashes. */
static void test_uri_normalize(void **state)
{
    (void)state;
    char *s = kf_uri_normalize("/a//b/./c/../%7euser/%2f");
    assert_string_equal(s, "/a/b/~user/%2F");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rt_add_headers),
        cmocka_unit_test(test_rt_add_existing_unchanged),
        cmocka_unit_test(test_rt_add_host_ignored),
        cmocka_unit_test(test_rt_remove_ignore_case),
        cmocka_unit_test(test_rt_rename_header),
        cmocka_unit_test(test_rt_rename_overrides_target),
        cmocka_unit_test(test_rt_rename_capitalisation),
        cmocka_unit_test(test_rt_replace_header),
        cmocka_unit_test(test_rt_append_headers),
        cmocka_unit_test(test_rt_append_keeps_config_case),
        cmocka_unit_test(test_rt_remove_then_add),
        cmocka_unit_test(test_rt_replace_host),
        RT_CASE(rt_query_add),
        RT_CASE(rt_query_ops),
        RT_CASE(rt_query_template_captures),
        RT_CASE(rt_uri_template),
        RT_CASE(rt_template_or_default),
        cmocka_unit_test(test_rt_template_runtime_error_500),
        cmocka_unit_test(test_rt_template_arith_number),
        RT_CASE(rt_template_capture_index),
        cmocka_unit_test(test_rt_template_headers_query),
        cmocka_unit_test(test_rt_template_removed_header),
        cmocka_unit_test(test_rt_template_old_value),
        RT_CASE(rt_template_escaped),
        RT_CASE(rt_template_call_error),
        cmocka_unit_test(test_rt_template_type_function),
        RT_CASE(rt_template_write_attempt),
        cmocka_unit_test(test_rt_template_unbalanced_literal),
        RT_CASE(rt_uri_escaped),
        RT_CASE(rt_uri_not_slash_500),
        cmocka_unit_test(test_rt_body_add),
        cmocka_unit_test(test_rt_body_json_existing_and_malformed),
        cmocka_unit_test(test_rt_body_remove),
        cmocka_unit_test(test_rt_body_json_rename_replace),
        RT_CASE(rt_body_form_append),
        cmocka_unit_test(test_rt_http_method),
        cmocka_unit_test(test_rt_method_and_json_body),
        RT_CASE(rt_multipart_remove),
        cmocka_unit_test(test_rt_multipart_add),
        cmocka_unit_test(test_rt_multipart_rename_replace),
        RT_CASE(rt_multipart_append_ignored),
        cmocka_unit_test(test_rh_is_json_body),
        cmocka_unit_test(test_rh_remove),
        cmocka_unit_test(test_rh_rename),
        cmocka_unit_test(test_rh_replace),
        cmocka_unit_test(test_rh_add),
        cmocka_unit_test(test_rh_append),
        cmocka_unit_test(test_rh_together),
        cmocka_unit_test(test_rh_content_length_kept),
        cmocka_unit_test(test_rh_snapshot_semantics),
        cmocka_unit_test(test_rb_add_json_types),
        cmocka_unit_test(test_rb_append),
        cmocka_unit_test(test_rb_remove),
        cmocka_unit_test(test_rb_not_json_untouched),
        cmocka_unit_test(test_term_defaults),
        cmocka_unit_test(test_term_status_default_message),
        cmocka_unit_test(test_term_custom_message),
        cmocka_unit_test(test_term_body),
        cmocka_unit_test(test_term_204_no_body),
        cmocka_unit_test(test_term_echo),
        cmocka_unit_test(test_term_echo_json_body_exact_length),
        cmocka_unit_test(test_term_trigger),
        cmocka_unit_test(test_redirect_default),
        cmocka_unit_test(test_redirect_status),
        cmocka_unit_test(test_redirect_keep_incoming_path),
        cmocka_unit_test(test_order_priorities),
        cmocka_unit_test(test_order_response_filter_on_exit),
        cmocka_unit_test(test_disabled_and_unsupported),
        cmocka_unit_test(test_args_parse),
        cmocka_unit_test(test_uri_normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

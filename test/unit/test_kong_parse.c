/* kong parsers: every listener shape (the shared fixture, Kong's `{}` empty list, `[]`, IPv6,
 * host names with string ports, stream udp), malformed answers, /status hashes, POST /config
 * replies, Kong's configuration hash, EndpointSlice discovery, URL and option checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kgc/kong.h"
#include "kgc/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

/* Reads test/fixtures/<name> (tests run from the repository root). */
static char *read_fixture(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "test/fixtures/%s", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("fixture %s not found (run the tests from the repository root)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int parse(const char *json, struct kgc_kong_info *out, struct kgc_err *err)
{
    return kgc_kong_parse_root(json, strlen(json), out, err);
}

static void test_fixture_root(void **state)
{
    (void)state;
    size_t len;
    char *body = read_fixture("kong-root.json", &len);
    struct kgc_kong_info info;
    struct kgc_err err = {0};
    assert_int_equal(kgc_kong_parse_root(body, len, &info, &err), 0);
    assert_string_equal(info.version, "3.9.1");
    assert_string_equal(info.edition, "community");
    assert_string_equal(info.node_id, "69d063c5-761b-4bab-a426-c89da49a9409");
    assert_string_equal(info.router_flavor, "traditional_compatible");
    assert_string_equal(info.database, "off");
    assert_int_equal(info.listeners.n_proxy, 2);
    assert_int_equal(info.listeners.n_stream, 1);
    const struct kgc_kong_listener *p = info.listeners.proxy;
    assert_string_equal(p[0].ip, "0.0.0.0");
    assert_int_equal(p[0].port, 8000);
    assert_false(p[0].ssl);
    assert_false(p[0].http2);
    assert_int_equal(p[0].kind, KGC_KONG_LISTENER_PROXY);
    assert_int_equal(p[1].port, 8443);
    assert_true(p[1].ssl);
    assert_true(p[1].http2);
    const struct kgc_kong_listener *s = info.listeners.stream;
    assert_int_equal(s[0].port, 9443);
    assert_true(s[0].ssl);
    assert_false(s[0].udp);
    assert_int_equal(s[0].kind, KGC_KONG_LISTENER_STREAM);

    struct kgc_kong_info copy;
    assert_int_equal(kgc_kong_info_copy(&copy, &info), 0);
    assert_true(kgc_kong_listeners_equal(&copy.listeners, &info.listeners));
    copy.listeners.proxy[1].http2 = false;
    assert_false(kgc_kong_listeners_equal(&copy.listeners, &info.listeners));
    kgc_kong_info_free(&copy);
    kgc_kong_info_free(&info);
    free(body);
}

static void test_fixture_status(void **state)
{
    (void)state;
    size_t len;
    char *body = read_fixture("kong-status.json", &len);
    char hash[33];
    assert_int_equal(kgc_kong_parse_status(body, len, hash, NULL), 0);
    assert_string_equal(hash, "b07d5e4f1c2a4e8a9d0f6b3c7a1e2d4f");
    assert_false(kgc_kong_hash_is_empty(hash));
    free(body);

    const char *zeros = "{\"configuration_hash\":\"00000000000000000000000000000000\"}";
    assert_int_equal(kgc_kong_parse_status(zeros, strlen(zeros), hash, NULL), 0);
    assert_true(kgc_kong_hash_is_empty(hash));

    const char *upper = "{\"configuration_hash\":\"B07D5E4F1C2A4E8A9D0F6B3C7A1E2D4F\"}";
    assert_int_equal(kgc_kong_parse_status(upper, strlen(upper), hash, NULL), 0);
    assert_string_equal(hash, "b07d5e4f1c2a4e8a9d0f6b3c7a1e2d4f");

    const char *none = "{\"server\":{\"total_requests\":1}}"; /* DB mode: no hash */
    assert_int_equal(kgc_kong_parse_status(none, strlen(none), hash, NULL), 0);
    assert_string_equal(hash, "");

    struct kgc_err err = {0};
    const char *bad = "{\"configuration_hash\":\"xyz\"}";
    assert_int_equal(kgc_kong_parse_status(bad, strlen(bad), hash, &err), KGC_EPARSE);
    assert_non_null(strstr(err.msg, "32 hex digits"));
    const char *num = "{\"configuration_hash\":5}";
    assert_int_equal(kgc_kong_parse_status(num, strlen(num), hash, &err), KGC_EPARSE);
    assert_int_equal(kgc_kong_parse_status("[1]", 3, hash, &err), KGC_EPARSE);
    assert_int_equal(kgc_kong_parse_status("{\"config", 9, hash, &err), KGC_EPARSE);
    assert_non_null(strstr(err.msg, "malformed JSON"));
}

/* Kong's lua-cjson encodes an empty list as {}: both lists empty, no error. */
static void test_empty_lists_both_encodings(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{\"version\":\"3.9.1\",\"configuration\":{\"proxy_listeners\":{},"
        "\"stream_listeners\":{},\"proxy_listen\":{},\"stream_listen\":{}}}",
        "{\"version\":\"3.9.1\",\"configuration\":{\"proxy_listeners\":[],"
        "\"stream_listeners\":[]}}",
        "{\"version\":\"3.9.1\",\"configuration\":{\"proxy_listeners\":null}}",
        "{\"version\":\"3.9.1\",\"configuration\":{}}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct kgc_kong_info info;
        struct kgc_err err = {0};
        int rc = parse(docs[i], &info, &err);
        if (rc)
            fail_msg("doc %zu: %s", i, err.msg);
        assert_int_equal(info.listeners.n_proxy, 0);
        assert_int_equal(info.listeners.n_stream, 0);
        assert_null(info.listeners.proxy);
        kgc_kong_info_free(&info);
    }
}

/* IPv6 ("[::]", as Kong's conf loader brackets it), proxy_protocol, a udp stream listener, a host
 * name with its port as a string, and unknown flags ignored. */
static void test_other_shapes(void **state)
{
    (void)state;
    const char *doc =
        "{\"version\":\"3.4.2\",\"node_id\":\"n1\",\"configuration\":{"
        "\"database\":\"postgres\",\"router_flavor\":\"expressions\","
        "\"proxy_listeners\":[{\"listener\":\"[::]:8000 proxy_protocol\",\"ip\":\"[::]\","
        "\"port\":8000,\"ssl\":false,\"http2\":false,\"proxy_protocol\":true,\"deferred\":false,"
        "\"backlog=%d+\":false,\"reuseport\":true},"
        "{\"listener\":\"localhost:8080\",\"ip\":\"localhost\",\"port\":\"8080\"}],"
        "\"stream_listeners\":[{\"ip\":\"0.0.0.0\",\"port\":5353,\"udp\":true,\"ssl\":false},"
        "{\"ip\":\"127.0.0.1\",\"port\":9000.0,\"ssl\":true,\"proxy_protocol\":null}]}}";
    struct kgc_kong_info info;
    struct kgc_err err = {0};
    assert_int_equal(parse(doc, &info, &err), 0);
    assert_string_equal(info.database, "postgres");
    assert_string_equal(info.router_flavor, "expressions");
    assert_int_equal(info.listeners.n_proxy, 2);
    assert_string_equal(info.listeners.proxy[0].ip, "[::]");
    assert_true(info.listeners.proxy[0].proxy_protocol);
    assert_string_equal(info.listeners.proxy[1].ip, "localhost");
    assert_int_equal(info.listeners.proxy[1].port, 8080);
    assert_int_equal(info.listeners.n_stream, 2);
    assert_true(info.listeners.stream[0].udp);
    assert_int_equal(info.listeners.stream[0].port, 5353);
    assert_int_equal(info.listeners.stream[1].port, 9000);
    assert_true(info.listeners.stream[1].ssl);
    assert_false(info.listeners.stream[1].proxy_protocol);
    kgc_kong_info_free(&info);
}

static void expect_parse_error(const char *doc, size_t len, const char *needle)
{
    struct kgc_kong_info info;
    struct kgc_err err = {0};
    int rc = kgc_kong_parse_root(doc, len, &info, &err);
    if (rc != KGC_EPARSE)
        fail_msg("expected EPARSE, got %d for %.80s", rc, doc ? doc : "(null)");
    if (!strstr(err.msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
    assert_int_equal(info.listeners.n_proxy, 0);
    assert_null(info.listeners.proxy);
}

static void test_malformed_root(void **state)
{
    (void)state;
    expect_parse_error("", 0, "empty body");
    expect_parse_error(NULL, 0, "empty body");
    expect_parse_error("{\"version\":\"3.9", 15, "malformed JSON");
    expect_parse_error("<html>502 Bad Gateway</html>", 28, "malformed JSON");
    expect_parse_error("{} {}", 5, "trailing data");
    expect_parse_error("[1,2]", 5, "not a JSON object");
    expect_parse_error("{\"version\":\"3\"}", 15, "no \"configuration\" object");
    expect_parse_error("{\"version\":3,\"configuration\":{}}", 32, "\"version\" is not a string");
    const char *d1 = "{\"configuration\":{\"proxy_listeners\":{\"a\":1}}}";
    expect_parse_error(d1, strlen(d1), "non-empty object");
    const char *d2 = "{\"configuration\":{\"proxy_listeners\":\"0.0.0.0:8000\"}}";
    expect_parse_error(d2, strlen(d2), "is not a list");
    const char *d3 = "{\"configuration\":{\"proxy_listeners\":[{\"port\":8000}]}}";
    expect_parse_error(d3, strlen(d3), "proxy_listeners[0]: \"ip\" missing");
    const char *d4 = "{\"configuration\":{\"stream_listeners\":[{\"ip\":\"x\",\"port\":70000}]}}";
    expect_parse_error(d4, strlen(d4), "stream_listeners[0]: \"port\" is not a port");
    const char *d5 = "{\"configuration\":{\"proxy_listeners\":[{\"ip\":\"x\",\"port\":\"80a\"}]}}";
    expect_parse_error(d5, strlen(d5), "not a port");
    const char *d6 =
        "{\"configuration\":{\"proxy_listeners\":[{\"ip\":\"x\",\"port\":80,\"ssl\":\"yes\"}]}}";
    expect_parse_error(d6, strlen(d6), "\"ssl\" is not a boolean");
    const char *d7 = "{\"configuration\":{\"proxy_listeners\":[7]}}";
    expect_parse_error(d7, strlen(d7), "not an object");

    /* An ip longer than any host name. */
    char big[1024];
    int n = snprintf(big, sizeof(big), "{\"configuration\":{\"proxy_listeners\":[{\"ip\":\"");
    memset(big + n, 'a', 300);
    n += 300;
    n += snprintf(big + n, sizeof(big) - (size_t)n, "\",\"port\":1}]}}");
    expect_parse_error(big, (size_t)n, "too long");

    /* Nesting beyond the tokenizer's depth. */
    char deep[400];
    memset(deep, '[', 300);
    expect_parse_error(deep, 300, "malformed JSON");

    /* More listeners than the cap. */
    size_t cap = 64 + (size_t)(KGC_KONG_LISTENER_CAP + 1) * 24;
    char *many = malloc(cap);
    assert_non_null(many);
    size_t m = (size_t)snprintf(many, cap, "{\"configuration\":{\"proxy_listeners\":[");
    for (int i = 0; i <= KGC_KONG_LISTENER_CAP; i++)
        m += (size_t)snprintf(many + m, cap - m, "%s{\"ip\":\"a\",\"port\":1}", i ? "," : "");
    m += (size_t)snprintf(many + m, cap - m, "]}}");
    expect_parse_error(many, m, "max 1024");
    free(many);

    /* Embedded NUL: the length, not strlen, bounds the input. */
    const char nul[] = "{\"configuration\":{}}\0garbage";
    expect_parse_error(nul, sizeof(nul) - 1, "trailing");
}

static void test_merge(void **state)
{
    (void)state;
    struct kgc_kong_listener a[] = {
        {.ip = "0.0.0.0", .port = 8443, .ssl = true},
        {.ip = "0.0.0.0", .port = 8000},
    };
    struct kgc_kong_listener b[] = {
        {.ip = "0.0.0.0", .port = 8000},
        {.ip = "0.0.0.0", .port = 8001},
    };
    struct kgc_kong_listeners src_a = {.proxy = a, .n_proxy = 2};
    struct kgc_kong_listeners src_b = {.proxy = b, .n_proxy = 2};
    struct kgc_kong_listeners dst = {0};
    assert_int_equal(kgc_kong_listeners_merge(&dst, &src_a), 0);
    assert_int_equal(kgc_kong_listeners_merge(&dst, &src_b), 0);
    assert_int_equal(dst.n_proxy, 3);
    assert_int_equal(dst.proxy[0].port, 8000);
    assert_int_equal(dst.proxy[1].port, 8001);
    assert_int_equal(dst.proxy[2].port, 8443);
    assert_int_equal(dst.n_stream, 0);
    kgc_kong_listeners_free(&dst);
}

static void test_config_hash(void **state)
{
    (void)state;
    char h[33];
    kgc_kong_config_hash("", 0, h);
    assert_string_equal(h, "d41d8cd98f00b204e9800998ecf8427e");
    kgc_kong_config_hash("abc", 3, h);
    assert_string_equal(h, "900150983cd24fb0d6963f7d28e17f72");
    assert_false(kgc_kong_hash_is_empty(h));
    assert_true(kgc_kong_hash_is_empty(KGC_KONG_EMPTY_HASH));
    assert_false(kgc_kong_hash_is_empty(""));
    assert_false(kgc_kong_hash_is_empty(NULL));
}

static void test_push_replies(void **state)
{
    (void)state;
    struct kgc_kong_push_result r;
    assert_int_equal(kgc_kong_parse_push_reply(201, "{\"services\":{}}", 15, NULL, &r, NULL), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_APPLIED);
    assert_null(r.message);
    kgc_kong_push_result_free(&r);
    assert_int_equal(kgc_kong_parse_push_reply(200, "", 0, NULL, &r, NULL), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_APPLIED);
    kgc_kong_push_result_free(&r);
    assert_int_equal(kgc_kong_parse_push_reply(304, "", 0, NULL, &r, NULL), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_UNCHANGED);
    assert_string_equal(kgc_kong_push_kind_name(r.kind), "unchanged");
    kgc_kong_push_result_free(&r);

    const char *rejected =
        "{\"code\":14,\"name\":\"invalid declarative configuration\",\"message\":\"declarative "
        "config is invalid: {...}\",\"fields\":{},\"flattened_errors\":["
        "{\"entity_type\":\"service\",\"entity_name\":\"httproute.default.r.0\","
        "\"entity_tags\":[\"k8s-name:r\",\"k8s-namespace:default\"],\"entity\":{},"
        "\"errors\":[{\"type\":\"field\",\"field\":\"port\",\"message\":\"value should be "
        "between 0 and 65535\"},{\"type\":\"entity\",\"message\":\"uniqueness violation\"}]},"
        "{\"entity_type\":\"route\",\"entity_id\":\"7b6c1c0c-0000-5000-8000-000000000000\","
        "\"errors\":[{\"type\":\"field\",\"field\":\"paths.1\",\"message\":\"invalid regex\"}]},"
        "5]}";
    assert_int_equal(kgc_kong_parse_push_reply(400, rejected, strlen(rejected), NULL, &r, NULL), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_REJECTED);
    assert_int_equal(r.n_entity_errors, 2);
    const struct kgc_kong_entity_error *e = &r.entity_errors[0];
    assert_string_equal(e->entity_type, "service");
    assert_string_equal(e->entity_name, "httproute.default.r.0");
    assert_null(e->entity_id);
    assert_int_equal(e->n_tags, 2);
    assert_string_equal(e->entity_tags[1], "k8s-namespace:default");
    assert_int_equal(e->n_errors, 2);
    assert_string_equal(e->errors[0].type, "field");
    assert_string_equal(e->errors[0].field, "port");
    assert_string_equal(e->errors[0].message, "value should be between 0 and 65535");
    assert_string_equal(e->errors[1].type, "entity");
    assert_null(e->errors[1].field);
    assert_string_equal(r.entity_errors[1].entity_id, "7b6c1c0c-0000-5000-8000-000000000000");
    assert_string_equal(r.entity_errors[1].errors[0].field, "paths.1");
    assert_string_equal(r.message, "declarative config is invalid: {...}");
    kgc_kong_push_result_free(&r);

    /* Kong's quirk: nothing flattened, still rejected: the top-level message tells. */
    const char *whole = "{\"code\":14,\"message\":\"declarative config is invalid: {}\","
                        "\"fields\":{},\"flattened_errors\":{}}";
    assert_int_equal(kgc_kong_parse_push_reply(400, whole, strlen(whole), NULL, &r, NULL), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_REJECTED);
    assert_int_equal(r.n_entity_errors, 0);
    assert_string_equal(r.message, "declarative config is invalid: {}");
    kgc_kong_push_result_free(&r);

    assert_int_equal(kgc_kong_parse_push_reply(400, "<html>", 6, NULL, &r, NULL), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_REJECTED);
    assert_non_null(strstr(r.message, "HTTP 400: POST /config: malformed JSON"));
    kgc_kong_push_result_free(&r);

    const char *busy = "{\"message\":\"Currently loading previous configuration\"}";
    assert_int_equal(kgc_kong_parse_push_reply(429, busy, strlen(busy), " 7", &r, NULL), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_BUSY);
    assert_int_equal(r.retry_after_s, 7);
    assert_string_equal(r.message, "Currently loading previous configuration");
    kgc_kong_push_result_free(&r);
    assert_int_equal(kgc_kong_parse_push_reply(429, busy, strlen(busy),
                                               "Wed, 21 Oct 2015 07:28:00 GMT", &r, NULL),
                     0);
    assert_int_equal(r.retry_after_s, 0);
    kgc_kong_push_result_free(&r);
    assert_int_equal(kgc_kong_parse_push_reply(503, "", 0, NULL, &r, NULL), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_BUSY);
    assert_string_equal(r.message, "HTTP 503 with an empty body");
    kgc_kong_push_result_free(&r);
    assert_int_equal(
        kgc_kong_parse_push_reply(413, "{\"message\":\"too big\"}", 21, NULL, &r, NULL), 0);
    assert_int_equal(r.kind, KGC_KONG_PUSH_OTHER);
    assert_string_equal(r.message, "too big");
    kgc_kong_push_result_free(&r);
}

static void test_urls_from_endpoints(void **state)
{
    (void)state;
    const char *a1[] = {"10.0.0.1"}, *a2[] = {"10.0.0.2"}, *a3[] = {"10.0.0.3"};
    const char *a4[] = {"10.0.0.4"}, *a5[] = {"10.0.0.5"}, *a6[] = {"fd00::6"};
    struct kgc_kong_endpoint eps[] = {
        {.addresses = a1, .n_addresses = 1}, /* nil conditions: ready */
        {.addresses = a2,
         .n_addresses = 1,
         .ready = KGC_KONG_COND_FALSE,
         .serving = KGC_KONG_COND_TRUE}, /* serving, not ready: included */
        {.addresses = a3,
         .n_addresses = 1,
         .ready = KGC_KONG_COND_FALSE,
         .serving = KGC_KONG_COND_TRUE,
         .terminating = KGC_KONG_COND_TRUE},                               /* terminating */
        {.addresses = a4, .n_addresses = 1, .ready = KGC_KONG_COND_FALSE}, /* serving = ready */
        {.addresses = a5, .n_addresses = 1, .ready = KGC_KONG_COND_TRUE},
        {.addresses = a6, .n_addresses = 1, .ready = KGC_KONG_COND_TRUE},
    };
    struct kgc_kong_endpoint_port ports[] = {{.name = "proxy", .port = 8000},
                                             {.name = "admin", .port = 8001}};
    struct kgc_kong_endpoint_port tls_ports[] = {
        {.name = "admin", .port = 8444, .app_protocol = "https"}};
    struct kgc_kong_endpoint_port other[] = {{.name = "status", .port = 8100}};
    struct kgc_kong_endpoint dup[] = {{.addresses = a1, .n_addresses = 1}};
    struct kgc_kong_endpoint_slice slices[] = {
        {.endpoints = eps, .n_endpoints = 6, .ports = ports, .n_ports = 2},
        {.endpoints = dup, .n_endpoints = 1, .ports = ports, .n_ports = 2},
        {.endpoints = dup, .n_endpoints = 1, .ports = other, .n_ports = 1},
        {.endpoints = eps + 4, .n_endpoints = 1, .ports = tls_ports, .n_ports = 1},
    };
    char **urls;
    size_t n;
    assert_int_equal(kgc_kong_urls_from_endpoints(slices, 4, "admin", &urls, &n), 0);
    assert_int_equal(n, 5);
    assert_string_equal(urls[0], "http://10.0.0.1:8001");
    assert_string_equal(urls[1], "http://10.0.0.2:8001");
    assert_string_equal(urls[2], "http://10.0.0.5:8001");
    assert_string_equal(urls[3], "http://[fd00::6]:8001");
    assert_string_equal(urls[4], "https://10.0.0.5:8444");
    kgc_kong_urls_free(urls, n);

    struct kgc_kong_endpoint_port named_tls[] = {{.name = "admin-tls", .port = 8444}};
    struct kgc_kong_endpoint_slice s2 = {
        .endpoints = eps, .n_endpoints = 1, .ports = named_tls, .n_ports = 1};
    assert_int_equal(kgc_kong_urls_from_endpoints(&s2, 1, "admin-tls", &urls, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(urls[0], "https://10.0.0.1:8444");
    kgc_kong_urls_free(urls, n);

    assert_int_equal(kgc_kong_urls_from_endpoints(slices, 4, "nope", &urls, &n), 0);
    assert_int_equal(n, 0);
    assert_null(urls);

    /* addresses that would change the URL's host or path, or break it, are skipped; IPs and
       DNS names are kept */
    const char *hostile[] = {"10.0.0.9 x", "evil.example/x",     "user@10.0.0.9", "10.0.0.9:1",
                             "-bad",       "kong-0.kong.ns.svc", "10.0.0.8"};
    struct kgc_kong_endpoint hep = {.addresses = hostile, .n_addresses = 7};
    struct kgc_kong_endpoint_slice hs = {
        .endpoints = &hep, .n_endpoints = 1, .ports = ports, .n_ports = 2};
    assert_int_equal(kgc_kong_urls_from_endpoints(&hs, 1, "admin", &urls, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(urls[0], "http://10.0.0.8:8001");
    assert_string_equal(urls[1], "http://kong-0.kong.ns.svc:8001");
    kgc_kong_urls_free(urls, n);
}

static void test_urls_and_options(void **state)
{
    (void)state;
    char out[KGC_KONG_URL_MAX];
    struct kgc_err err = {0};
    assert_int_equal(kgc_kong_url_normalize("HTTP://127.0.0.1:8001//", out, &err), 0);
    assert_string_equal(out, "http://127.0.0.1:8001");
    assert_int_equal(kgc_kong_url_normalize("https://kong.example/admin/", out, &err), 0);
    assert_string_equal(out, "https://kong.example/admin");
    assert_int_equal(kgc_kong_url_normalize("ftp://x", out, &err), KGC_EUSAGE);
    assert_int_equal(kgc_kong_url_normalize("http://", out, &err), KGC_EUSAGE);
    assert_int_equal(kgc_kong_url_normalize("http://a b", out, &err), KGC_EUSAGE);
    assert_int_equal(kgc_kong_url_normalize(NULL, out, &err), KGC_EUSAGE);

    struct kgc_kong_options o;
    kgc_kong_options_default(&o);
    assert_string_equal(o.admin_port_name, "admin");
    assert_int_equal(o.probe_interval_ms, 1000);
    assert_int_equal(o.down_probe_interval_ms, 200);
    assert_int_equal(o.client.request_timeout_ms, 2000);
    assert_int_equal(kgc_kong_options_validate(&o, &err), KGC_EUSAGE);
    assert_non_null(strstr(err.msg, "--kong-admin-url or --kong-admin-service"));
    const char *urls[] = {"http://127.0.0.1:8001"};
    o.admin_urls = urls;
    o.n_admin_urls = 1;
    assert_int_equal(kgc_kong_options_validate(&o, &err), 0);
    o.admin_service = "kong/kong-admin";
    assert_int_equal(kgc_kong_options_validate(&o, &err), KGC_EUSAGE);
    assert_non_null(strstr(err.msg, "exclusive"));
    o.n_admin_urls = 0;
    assert_int_equal(kgc_kong_options_validate(&o, &err), 0);
    o.admin_service = "kong";
    assert_int_equal(kgc_kong_options_validate(&o, &err), KGC_EUSAGE);
    o.admin_service = "Kong/x";
    assert_int_equal(kgc_kong_options_validate(&o, &err), KGC_EUSAGE);
    o.admin_service = "kong/admin";
    o.client.cert_file = "/tmp/c.pem";
    assert_int_equal(kgc_kong_options_validate(&o, &err), KGC_EUSAGE);
    assert_non_null(strstr(err.msg, "go together"));
    o.client.cert_file = NULL;
    const char *hdrs[] = {"Kong-Admin-Token:secret", "bad"};
    o.client.headers = hdrs;
    o.client.n_headers = 2;
    assert_int_equal(kgc_kong_options_validate(&o, &err), KGC_EUSAGE);
    o.client.n_headers = 1;
    assert_int_equal(kgc_kong_options_validate(&o, &err), 0);
    const char *bad_name[] = {"Kong Admin Token:x"};
    o.client.headers = bad_name;
    assert_int_equal(kgc_kong_options_validate(&o, &err), KGC_EUSAGE);
    o.client.n_headers = 0;
    o.client.ca_file = "/nonexistent/ca.pem";
    assert_int_equal(kgc_kong_options_validate(&o, &err), KGC_EUSAGE);
    assert_non_null(strstr(err.msg, "--kong-admin-ca-file /nonexistent/ca.pem"));
    o.client.ca_file = NULL;
    o.probe_interval_ms = 0;
    assert_int_equal(kgc_kong_options_validate(&o, &err), KGC_EUSAGE);

    char ns[254], name[254];
    assert_int_equal(kgc_kong_parse_service_ref("kong/kong-admin", ns, name, &err), 0);
    assert_string_equal(ns, "kong");
    assert_string_equal(name, "kong-admin");
    assert_int_equal(kgc_kong_parse_service_ref("a/b/c", ns, name, &err), KGC_EUSAGE);
    assert_int_equal(kgc_kong_parse_service_ref("/b", ns, name, &err), KGC_EUSAGE);

    assert_string_equal(kgc_kong_event_name(KGC_KONG_EV_RESTARTED), "restarted");
}

int main(void)
{
    kgc_log_setup(KGC_LOG_WARN, KGC_LOG_TEXT, 2);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_root),
        cmocka_unit_test(test_fixture_status),
        cmocka_unit_test(test_empty_lists_both_encodings),
        cmocka_unit_test(test_other_shapes),
        cmocka_unit_test(test_malformed_root),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_config_hash),
        cmocka_unit_test(test_push_replies),
        cmocka_unit_test(test_urls_from_endpoints),
        cmocka_unit_test(test_urls_and_options),
    };
    int rc = cmocka_run_group_tests_name("kong_parse", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

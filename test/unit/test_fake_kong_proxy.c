/* The test Kong's proxy, in-process on free ports with libcurl: Kong's proxy_listen parsing, 404
 * without a route, the echo of a routed request (upstream path, Host, X-Forwarded-*, the kong
 * object), 426 and the https redirects, the TLS certificate Kong picks for an SNI (exact,
 * wildcards, "*", the default certificate), Kong-Debug, 503 without a target, a configuration
 * swap, Kong's error body negotiation, malformed requests, the URI Kong's exec() routes on
 * (normalised) and the upstream path it sends (escaped), the router's query arguments, and the
 * balancer's uri_capture hashing and hash cookie. Configurations go through kf_validate first, so
 * the proxy sees what the Admin API would hand it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fakes/kong/kong_fake.h"
#include "../fakes/kong/proxy_internal.h"

#include <kgc/log.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* ---- helpers -----------------------------------------------------------------------------------
 */

struct buf {
    char *p;
    size_t n;
};

#define MAX_HDRS 64
struct reply {
    long status;
    json_object *json;
    char body[4096];
    char hdr[MAX_HDRS][2][256];
    size_t n_hdr;
    char cert_subject[512]; /* TLS: the server certificate's subject */
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct buf *b = arg;
    size_t n = size * nmemb;
    char *np = realloc(b->p, b->n + n + 1);
    if (!np) {
        return 0;
    }
    memcpy(np + b->n, data, n);
    b->p = np;
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct reply *r = arg;
    size_t n = size * nmemb;
    const char *colon = memchr(data, ':', n);
    if (colon && r->n_hdr < MAX_HDRS) {
        snprintf(r->hdr[r->n_hdr][0], 256, "%.*s", (int)(colon - data), data);
        const char *v = colon + 1;
        while (v < data + n && *v == ' ') {
            v++;
        }
        snprintf(r->hdr[r->n_hdr][1], 256, "%.*s", (int)(data + n - v), v);
        r->hdr[r->n_hdr][1][strcspn(r->hdr[r->n_hdr][1], "\r\n")] = '\0';
        r->n_hdr++;
    }
    return n;
}

static const char *hdr(const struct reply *r, const char *name)
{
    for (size_t i = 0; i < r->n_hdr; i++) {
        if (strcasecmp(r->hdr[i][0], name) == 0) {
            return r->hdr[i][1];
        }
    }
    return NULL;
}

/* A request to the proxy: url_host is what the URL names (resolved to 127.0.0.1, so it is the
 * SNI for https); headers is a NULL-terminated list of "Name: value" lines. */
static struct reply req(const char *scheme, const char *url_host, unsigned port, const char *method,
                        const char *path, const char *const *headers, const char *body)
{
    struct reply r = {0};
    struct buf b = {0};
    char url[512], resolve[300];
    snprintf(url, sizeof(url), "%s://%s:%u%s", scheme, url_host, port, path);
    snprintf(resolve, sizeof(resolve), "%s:%u:127.0.0.1", url_host, port);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; headers && headers[i]; i++) {
        h = curl_slist_append(h, headers[i]);
    }
    struct curl_slist *res = curl_slist_append(NULL, resolve);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_RESOLVE, res);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        print_message("%s: %s\n", url, curl_easy_strerror(rc));
    }
    assert_int_equal(rc, CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    struct curl_certinfo *ci = NULL;
    if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) == CURLE_OK && ci && ci->num_of_certs > 0) {
        for (struct curl_slist *s = ci->certinfo[0]; s; s = s->next) {
            if (strncmp(s->data, "Subject:", 8) == 0) {
                snprintf(r.cert_subject, sizeof(r.cert_subject), "%s", s->data + 8);
            }
        }
    }
    curl_slist_free_all(h);
    curl_slist_free_all(res);
    curl_easy_cleanup(c);
    if (b.p) {
        snprintf(r.body, sizeof(r.body), "%s", b.p);
        r.json = json_tokener_parse(b.p);
    }
    free(b.p);
    return r;
}

static json_object *jpath(json_object *o, const char *a, const char *b)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, a, &v)) {
        return NULL;
    }
    if (b) {
        json_object *w = NULL;
        return json_object_object_get_ex(v, b, &w) ? w : NULL;
    }
    return v;
}

static const char *jstr(json_object *o, const char *a, const char *b)
{
    json_object *v = jpath(o, a, b);
    return v ? json_object_get_string(v) : "(none)";
}

/* the first value of an echoed request header */
static const char *echo_hdr(const struct reply *r, const char *name)
{
    json_object *l = jpath(r->json, "headers", name);
    return l && json_object_array_length(l) > 0
               ? json_object_get_string(json_object_array_get_idx(l, 0))
               : NULL;
}

struct fixture {
    struct kf_proxy *p;
    unsigned http, https;
};

static void start(struct fixture *f, enum kf_flavor flavor, bool debug)
{
    struct kf_proxy_options o = {
        .proxy_listen = "127.0.0.1:0, 127.0.0.1:0 ssl",
        .flavor = flavor,
        .debug_header = debug,
    };
    char err[512];
    int rc = kf_proxy_start(&o, &f->p, err, sizeof(err));
    if (rc != 0) {
        print_message("kf_proxy_start: %s\n", err);
    }
    assert_int_equal(rc, 0);
    f->http = kf_proxy_port(f->p, 0);
    f->https = kf_proxy_port(f->p, 1);
    assert_true(f->http > 0 && f->https > 0);
    assert_int_equal(kf_proxy_port(f->p, 2), 0);
}

/* Validates doc as the Admin API does and installs the 201 entities in the proxy. */
static void configure(struct fixture *f, const char *doc, const char *flavor)
{
    json_object *d = json_tokener_parse(doc);
    assert_non_null(d);
    struct kf_validate_opts o = {.router_flavor = flavor};
    json_object *ents = NULL, *err = NULL;
    int rc = kf_validate(d, &o, &ents, &err);
    if (rc != 0) {
        print_message("kf_validate: %s\n", err ? json_object_to_json_string(err) : "?");
    }
    assert_int_equal(rc, 0);
    assert_int_equal(kf_proxy_set_config(f->p, ents), 0);
    json_object_put(ents);
    json_object_put(err);
    json_object_put(d);
}

/* ---- proxy_listen -------------------------------------------------------------------------------
 */

static void test_listeners_json(void **state)
{
    (void)state;
    char err[600];
    /* Kong 3.9.1's default proxy_listen (kong/templates/kong_defaults.lua:27) */
    json_object *l = kf_proxy_listeners_json(
        "0.0.0.0:8000 reuseport backlog=16384, 0.0.0.0:8443 http2 ssl reuseport backlog=16384", err,
        sizeof(err));
    assert_non_null(l);
    assert_int_equal(json_object_array_length(l), 2);
    json_object *a = json_object_array_get_idx(l, 0), *b = json_object_array_get_idx(l, 1);
    assert_string_equal(jstr(a, "listener", NULL), "0.0.0.0:8000 reuseport backlog=16384");
    assert_string_equal(jstr(a, "ip", NULL), "0.0.0.0");
    assert_int_equal(json_object_get_int(jpath(a, "port", NULL)), 8000);
    assert_false(json_object_get_boolean(jpath(a, "ssl", NULL)));
    assert_true(json_object_get_boolean(jpath(a, "reuseport", NULL)));
    assert_true(json_object_get_boolean(jpath(a, "backlog=16384", NULL)));
    assert_null(jpath(a, "backlog=%d+", NULL));
    assert_false(json_object_get_boolean(jpath(a, "so_keepalive=%w*:%w*:%d*", NULL)));
    /* http2 is a flag but not part of the listener string (nginx >= 1.25.1) */
    assert_string_equal(jstr(b, "listener", NULL), "0.0.0.0:8443 ssl reuseport backlog=16384");
    assert_true(json_object_get_boolean(jpath(b, "ssl", NULL)));
    assert_true(json_object_get_boolean(jpath(b, "http2", NULL)));
    json_object_put(l);

    /* the fixture's form: http2 before ssl */
    l = kf_proxy_listeners_json("0.0.0.0:8443 http2 ssl", err, sizeof(err));
    assert_string_equal(jstr(json_object_array_get_idx(l, 0), "listener", NULL),
                        "0.0.0.0:8443 ssl");
    json_object_put(l);

    /* IPv6 is expanded and bracketed; IPv4 loses leading zeros; a name keeps its port as a
     * string (the Lua match result) */
    l = kf_proxy_listeners_json("[::1]:8000 so_keepalive=on, 010.001.0.1:80, localhost:9000 bind",
                                err, sizeof(err));
    assert_non_null(l);
    assert_string_equal(jstr(json_object_array_get_idx(l, 0), "listener", NULL),
                        "[0000:0000:0000:0000:0000:0000:0000:0001]:8000 so_keepalive=on");
    assert_string_equal(jstr(json_object_array_get_idx(l, 1), "ip", NULL), "10.1.0.1");
    json_object *name = json_object_array_get_idx(l, 2);
    assert_string_equal(jstr(name, "listener", NULL), "localhost:9000 bind");
    assert_true(json_object_is_type(jpath(name, "port", NULL), json_type_string));
    json_object_put(l);

    l = kf_proxy_listeners_json("off", err, sizeof(err));
    assert_non_null(l);
    assert_int_equal(json_object_array_length(l), 0);
    json_object_put(l);

    static const char *const bad[] = {
        "8000", "1.2.3.4", "", "  ", "1.2.3.4:99999", "[::1]", "0.0.0.0:8000,", "300.1.1.1:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        l = kf_proxy_listeners_json(bad[i], err, sizeof(err));
        if (l) {
            print_message("accepted: '%s'\n", bad[i]);
        }
        assert_null(l);
        assert_string_equal(err, "proxy_listen must be of form: [off] | <ip>:<port> [ssl] [http2] "
                                 "[proxy_protocol] [deferred] [bind] [reuseport] [backlog=%d+] "
                                 "[ipv6only=on] [ipv6only=off] [so_keepalive=on] "
                                 "[so_keepalive=off] [so_keepalive=%w*:%w*:%d*], [... next "
                                 "entry ...]");
    }
}

static void test_wild_snis(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        /* sni, wildcard prefix, wildcard suffix (kong/runloop/certificate.lua produce_wild_snis) */
        {"a.example.com", "*.example.com", "a.example.*"},
        {"example.com", "", "example.*"},
        {"x.y.example.com", "*.y.example.com", "x.y.example.*"},
        {"localhost", "", ""},
        {"*.example.com", "*.example.com", ""},
        {"example.*", "", "example.*"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char pre[256], suf[256];
        kf_wild_snis(cases[i][0], pre, sizeof(pre), suf, sizeof(suf));
        assert_string_equal(pre, cases[i][1]);
        assert_string_equal(suf, cases[i][2]);
    }
}

/* ---- routing ------------------------------------------------------------------------------------
 */

static const char *DOC =
    "{\"_format_version\":\"3.0\","
    "\"services\":[{\"name\":\"s1\",\"url\":\"http://up1:8080/base\",\"routes\":["
    "{\"name\":\"r1\",\"paths\":[\"/a\"],\"hosts\":[\"echo.example.com\"],"
    "\"tags\":[\"k8s-namespace:demo\"]},"
    "{\"name\":\"r-https\",\"paths\":[\"/secure\"],\"protocols\":[\"https\"]},"
    "{\"name\":\"r-301\",\"paths\":[\"/moved\"],\"protocols\":[\"https\"],"
    "\"https_redirect_status_code\":301},"
    "{\"name\":\"r-keep\",\"paths\":[\"/keep\"],\"strip_path\":false,\"preserve_host\":true}]},"
    "{\"name\":\"s-empty\",\"host\":\"up-empty\",\"routes\":[{\"name\":\"r-empty\",\"paths\":"
    "[\"/empty\"]}]},"
    "{\"name\":\"s-direct\",\"host\":\"backend.local\",\"port\":8443,\"protocol\":\"https\","
    "\"routes\":[{\"name\":\"r-direct\",\"paths\":[\"/direct\"]}]}],"
    "\"upstreams\":[{\"name\":\"up1\",\"targets\":[{\"target\":\"10.0.0.1:8080\"}]},"
    "{\"name\":\"up-empty\"}]}";

/* The proxy under traditional_compatible (debug: --allow-debug-header) configured with DOC. */
static void start_doc(struct fixture *f, bool debug)
{
    start(f, KF_FLAVOR_TRADITIONAL_COMPATIBLE, debug);
    configure(f, DOC, "traditional_compatible");
}

/* GET path over plain HTTP with headers (NULL-terminated, or NULL). */
static struct reply http_get(struct fixture *f, const char *path, const char *const *headers)
{
    return req("http", "127.0.0.1", f->http, "GET", path, headers, NULL);
}

static void check_echo_route(enum kf_flavor flavor, const char *flavor_name)
{
    struct fixture f;
    start(&f, flavor, false);
    /* no configuration: Kong's router is empty */
    struct reply r = http_get(&f, "/a", NULL);
    assert_int_equal(r.status, 404);
    assert_string_equal(jstr(r.json, "message", NULL), "no Route matched with those values");
    assert_string_equal(hdr(&r, "Content-Type"), "application/json; charset=utf-8");
    assert_string_equal(hdr(&r, "Server"), "kong/3.9.1");
    assert_non_null(hdr(&r, "X-Kong-Response-Latency"));
    assert_int_equal(strlen(hdr(&r, "X-Kong-Request-Id")), 32);
    assert_string_equal(jstr(r.json, "request_id", NULL), hdr(&r, "X-Kong-Request-Id"));
    json_object_put(r.json);

    configure(&f, DOC, flavor_name);
    static const char *const h1[] = {"Host: echo.example.com", "X-Forwarded-For: 1.2.3.4", NULL};
    r = http_get(&f, "/a/b?x=1&y", h1);
    assert_int_equal(r.status, 200);
    /* strip_path: /a removed, service path /base prefixed (path_handling v0) */
    assert_string_equal(jstr(r.json, "path", NULL), "/base/b?x=1&y");
    /* the target's host and port (not 80): Host is "10.0.0.1:8080" */
    assert_string_equal(jstr(r.json, "host", NULL), "10.0.0.1:8080");
    assert_string_equal(jstr(r.json, "method", NULL), "GET");
    assert_string_equal(jstr(r.json, "proto", NULL), "HTTP/1.1");
    assert_string_equal(jstr(r.json, "namespace", NULL), "demo");
    assert_string_equal(echo_hdr(&r, "X-Forwarded-For"), "1.2.3.4, 127.0.0.1");
    assert_string_equal(echo_hdr(&r, "X-Forwarded-Proto"), "http");
    assert_string_equal(echo_hdr(&r, "X-Forwarded-Host"), "echo.example.com");
    char port[16];
    snprintf(port, sizeof(port), "%u", f.http);
    assert_string_equal(echo_hdr(&r, "X-Forwarded-Port"), port);
    assert_string_equal(echo_hdr(&r, "X-Forwarded-Path"), "/a/b");
    assert_string_equal(echo_hdr(&r, "X-Forwarded-Prefix"), "/a");
    assert_string_equal(echo_hdr(&r, "X-Real-Ip"), "127.0.0.1");
    assert_string_equal(echo_hdr(&r, "Via"), "1.1 kong/3.9.1");
    assert_string_equal(echo_hdr(&r, "X-Kong-Request-Id"), hdr(&r, "X-Kong-Request-Id"));
    assert_string_equal(jstr(jpath(r.json, "kong", "route"), "name", NULL), "r1");
    assert_string_equal(jstr(jpath(r.json, "kong", "service"), "name", NULL), "s1");
    assert_string_equal(jstr(r.json, "kong", "upstream"), "up1");
    assert_string_equal(jstr(r.json, "kong", "target"), "10.0.0.1:8080");
    /* proxied: Kong's latency headers, Via and Server */
    assert_string_equal(hdr(&r, "Via"), "1.1 kong/3.9.1");
    assert_string_equal(hdr(&r, "Server"), "kong/3.9.1");
    assert_non_null(hdr(&r, "X-Kong-Upstream-Latency"));
    assert_non_null(hdr(&r, "X-Kong-Proxy-Latency"));
    assert_null(hdr(&r, "X-Kong-Response-Latency"));
    assert_null(hdr(&r, "Kong-Route-Id")); /* allow_debug_header is off */
    json_object_put(r.json);

    /* the hosts matcher: another Host does not match r1 */
    static const char *const h2[] = {"Host: other.example.com", NULL};
    r = http_get(&f, "/a", h2);
    assert_int_equal(r.status, 404);
    json_object_put(r.json);

    /* strip_path false, preserve_host true: the path as sent, the client's Host */
    static const char *const h3[] = {"Host: keep.example.com:1234", NULL};
    r = req("http", "127.0.0.1", f.http, "POST", "/keep/x", h3, "hello");
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "path", NULL), "/base/keep/x");
    assert_string_equal(jstr(r.json, "host", NULL), "keep.example.com:1234");
    assert_string_equal(jstr(r.json, "method", NULL), "POST");
    assert_string_equal(echo_hdr(&r, "Content-Length"), "5");
    assert_null(echo_hdr(&r, "X-Forwarded-Prefix"));
    json_object_put(r.json);

    /* a service without an upstream: its host and port (not the scheme's default: kept) */
    r = req("https", "127.0.0.1", f.https, "GET", "/direct", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "host", NULL), "backend.local:8443");
    assert_string_equal(jstr(r.json, "kong", "target"), "backend.local:8443");
    assert_string_equal(echo_hdr(&r, "X-Forwarded-Proto"), "https");
    assert_true(jpath(jpath(r.json, "kong", NULL), "upstream", NULL) == NULL);
    json_object_put(r.json);
    kf_proxy_stop(f.p);
}

static void test_route_echo_traditional_compatible(void **state)
{
    (void)state;
    check_echo_route(KF_FLAVOR_TRADITIONAL_COMPATIBLE, "traditional_compatible");
}

static void test_route_echo_traditional(void **state)
{
    (void)state;
    check_echo_route(KF_FLAVOR_TRADITIONAL, "traditional");
}

/* the expressions flavour: routes carry an ATC expression and a priority */
static void test_route_echo_expressions(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, KF_FLAVOR_EXPRESSIONS, false);
    configure(&f,
              "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"url\":"
              "\"http://10.0.0.5:8080/up\",\"routes\":["
              "{\"name\":\"low\",\"expression\":\"http.path ^= \\\"/x\\\"\",\"priority\":1},"
              "{\"name\":\"high\",\"expression\":\"http.path ^= \\\"/x\\\" && "
              "http.headers.x_v == \\\"2\\\"\",\"priority\":2,\"strip_path\":true},"
              "{\"name\":\"dst\",\"expression\":\"http.path == \\\"/d\\\" && net.dst.ip == "
              "127.0.0.1 && net.src.ip == 127.0.0.1\"}]}]}",
              "expressions");
    struct reply r = http_get(&f, "/x/y", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(jpath(r.json, "kong", "route"), "name", NULL), "low");
    /* strip_path (default true) strips what http.path ^= matched (kong/router/atc.lua:387-397) */
    assert_string_equal(jstr(r.json, "path", NULL), "/up/y");
    json_object_put(r.json);
    static const char *const h[] = {"X-V: 2", NULL};
    r = http_get(&f, "/x/y", h);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(jpath(r.json, "kong", "route"), "name", NULL), "high");
    json_object_put(r.json);
    /* net.dst.ip / net.src.ip: the connection's addresses, also behind TLS */
    r = http_get(&f, "/d", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(jpath(r.json, "kong", "route"), "name", NULL), "dst");
    json_object_put(r.json);
    r = req("https", "127.0.0.1", f.https, "GET", "/d", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(jpath(r.json, "kong", "route"), "name", NULL), "dst");
    json_object_put(r.json);
    r = http_get(&f, "/z", NULL);
    assert_int_equal(r.status, 404);
    json_object_put(r.json);
    kf_proxy_stop(f.p);
}

/* The URI as Kong's exec() sees it: the request target as sent (nginx $request_uri, never decoded
 * by the proxy), its query cut and normalised (kong/router/utils.lua:57-64, kong/tools/uri.lua
 * normalize) before the router runs; the upstream path = escape(upstream_uri) + "?" + the query as
 * sent (kong/runloop/handler.lua:1324, 1392-1394); X-Forwarded-Path = the raw path
 * (handler.lua:1248-1254). */
static void check_exec_uri(enum kf_flavor flavor, const char *flavor_name)
{
    struct fixture f;
    start(&f, flavor, false);
    configure(&f, DOC, flavor_name);
    static const char *const h[] = {"Host: echo.example.com", NULL};
    static const char *const cases[][3] = {
        /* request target, echoed upstream path, X-Forwarded-Path */
        {"/a/%7Ex%2Fy/./z?q=%20a+b", "/base/~x%2Fy/z?q=%20a+b", "/a/%7Ex%2Fy/./z"},
        {"/x/../a//b", "/base/b", "/x/../a//b"},
        {"/%61/b", "/base/b", "/%61/b"},
        {"/a/caf%C3%A9", "/base/caf%C3%A9", "/a/caf%C3%A9"},
        {"/a/sp%20ace%3f?", "/base/sp%20ace%3F?", "/a/sp%20ace%3f"},
        {"/a/%2e%2e/a/c", "/base/c", "/a/%2e%2e/a/c"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct reply r = http_get(&f, cases[i][0], h);
        if (r.status != 200 || strcmp(jstr(r.json, "path", NULL), cases[i][1]) != 0) {
            print_message("%s %s: %ld %s\n", flavor_name, cases[i][0], r.status, r.body);
        }
        assert_int_equal(r.status, 200);
        assert_string_equal(jstr(jpath(r.json, "kong", "route"), "name", NULL), "r1");
        assert_string_equal(jstr(r.json, "path", NULL), cases[i][1]);
        assert_string_equal(echo_hdr(&r, "X-Forwarded-Path"), cases[i][2]);
        json_object_put(r.json);
    }
    /* "/b/../keep" is "/keep" for the router; strip_path false keeps the normalised URI */
    struct reply r = http_get(&f, "/b/../keep/%41", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(jpath(r.json, "kong", "route"), "name", NULL), "r-keep");
    assert_string_equal(jstr(r.json, "path", NULL), "/base/keep/A");
    json_object_put(r.json);
    kf_proxy_stop(f.p);
}

static void test_exec_uri(void **state)
{
    (void)state;
    check_exec_uri(KF_FLAVOR_TRADITIONAL, "traditional");
    check_exec_uri(KF_FLAVOR_TRADITIONAL_COMPATIBLE, "traditional_compatible");
}

/* The balancer with the router's match and its cookie (kf_balancer_pick_ex): hash_on =
 * uri_capture hashes the named capture (kong/runloop/balancer/init.lua:166-171), hash_on = cookie
 * without the cookie generates one and header_filter sends it (balancer/init.lua:137-154,
 * 195-225; handler.lua:1534-1537). */
static void test_balancer_extras(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, KF_FLAVOR_TRADITIONAL_COMPATIBLE, false);
    configure(&f,
              "{\"_format_version\":\"3.0\",\"services\":["
              "{\"name\":\"sc\",\"host\":\"up-cap\",\"routes\":[{\"name\":\"rc\",\"paths\":"
              "[\"~/u/(?<who>[a-z0-9]+)\"]}]},"
              "{\"name\":\"sk\",\"host\":\"up-cookie\",\"routes\":[{\"name\":\"rk\",\"paths\":"
              "[\"/k\"]}]}],"
              "\"upstreams\":[{\"name\":\"up-cap\",\"algorithm\":\"consistent-hashing\","
              "\"hash_on\":\"uri_capture\",\"hash_on_uri_capture\":\"who\",\"targets\":["
              "{\"target\":\"10.1.0.1:80\"},{\"target\":\"10.1.0.2:80\"},"
              "{\"target\":\"10.1.0.3:80\"},{\"target\":\"10.1.0.4:80\"}]},"
              "{\"name\":\"up-cookie\",\"algorithm\":\"consistent-hashing\",\"hash_on\":"
              "\"cookie\",\"hash_on_cookie\":\"sticky\",\"hash_on_cookie_path\":\"/k\","
              "\"targets\":[{\"target\":\"10.2.0.1:80\"},{\"target\":\"10.2.0.2:80\"}]}]}",
              "traditional_compatible");
    /* each capture keeps its target; different captures spread over the targets (with no
     * captures every request would hash "" and land on one target) */
    char first[40][64];
    size_t distinct = 0;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 40; i++) {
            char path[64];
            snprintf(path, sizeof(path), "/u/user%d", i);
            struct reply r = http_get(&f, path, NULL);
            assert_int_equal(r.status, 200);
            const char *t = jstr(r.json, "kong", "target");
            if (round == 0) {
                snprintf(first[i], sizeof(first[i]), "%s", t);
                bool seen = false;
                for (int j = 0; j < i; j++) {
                    seen = seen || strcmp(first[j], t) == 0;
                }
                distinct += !seen;
            } else {
                assert_string_equal(first[i], t);
            }
            assert_null(hdr(&r, "Set-Cookie"));
            json_object_put(r.json);
        }
    }
    assert_true(distinct >= 2);
    /* no cookie: Kong makes one (a UUID) with the upstream's path */
    struct reply r = http_get(&f, "/k", NULL);
    assert_int_equal(r.status, 200);
    const char *sc = hdr(&r, "Set-Cookie");
    assert_non_null(sc);
    assert_int_equal(strncmp(sc, "sticky=", 7), 0);
    assert_int_equal(strlen(sc),
                     strlen("sticky=") + 36 + strlen("; Path=/k; Same-Site=Lax; HttpOnly"));
    assert_string_equal(sc + 7 + 36, "; Path=/k; Same-Site=Lax; HttpOnly");
    json_object_put(r.json);
    /* with the cookie: none sent, and the cookie's value picks the target */
    static const char *const ck[] = {"Cookie: sticky=abc", NULL};
    r = http_get(&f, "/k", ck);
    assert_int_equal(r.status, 200);
    assert_null(hdr(&r, "Set-Cookie"));
    json_object_put(r.json);
    kf_proxy_stop(f.p);
}

/* The router's query arguments are ngx.req.get_uri_args (kong/router/fields.lua:287) with
 * lua_max_uri_args = 100 (kong_defaults.lua:200): '+' and %XX decoded, a repeated key gives every
 * value, and the limit counts every '&'-separated piece, empty ones too (lua-nginx-module
 * src/ngx_http_lua_args.c ngx_http_lua_parse_args, read at its HEAD). */
static void test_router_query_args(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, KF_FLAVOR_EXPRESSIONS, false);
    configure(&f,
              "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s\",\"url\":"
              "\"http://10.0.0.5:8080/\",\"routes\":["
              "{\"name\":\"q\",\"expression\":\"http.path == \\\"/q\\\" && "
              "http.queries.a == \\\"x y\\\"\"}]}]}",
              "expressions");
    struct reply r = http_get(&f, "/q?a=x+y", NULL);
    assert_int_equal(r.status, 200);
    json_object_put(r.json);
    r = http_get(&f, "/q?a=x%20y", NULL);
    assert_int_equal(r.status, 200);
    json_object_put(r.json);
    /* 99 empty pieces then a=x+y: the 100th piece still counts */
    char path[300] = "/q?";
    for (int i = 0; i < 99; i++) {
        strcat(path, "&");
    }
    strcat(path, "a=x+y");
    r = http_get(&f, path, NULL);
    assert_int_equal(r.status, 200);
    json_object_put(r.json);
    /* 100 empty pieces: the limit is reached before a */
    snprintf(path, sizeof(path), "/q?&");
    for (int i = 0; i < 99; i++) {
        strcat(path, "&");
    }
    strcat(path, "a=x+y");
    r = http_get(&f, path, NULL);
    assert_int_equal(r.status, 404);
    json_object_put(r.json);
    kf_proxy_stop(f.p);
}

static void test_https_only_routes(void **state)
{
    (void)state;
    struct fixture f;
    start_doc(&f, false);
    struct reply r = http_get(&f, "/secure", NULL);
    /* handler.lua: 426 with Kong's body and the upgrade headers */
    assert_int_equal(r.status, 426);
    assert_string_equal(jstr(r.json, "message", NULL), "Please use HTTPS protocol");
    assert_string_equal(hdr(&r, "Upgrade"), "TLS/1.2, HTTP/1.1");
    assert_string_equal(hdr(&r, "Connection"), "Upgrade");
    assert_string_equal(hdr(&r, "Server"), "kong/3.9.1");
    json_object_put(r.json);
    r = req("https", "127.0.0.1", f.https, "GET", "/secure", NULL, NULL);
    assert_int_equal(r.status, 200);
    json_object_put(r.json);
    /* 301: Location is https:// + the host + the request URI as sent */
    static const char *const h[] = {"Host: shop.example.com:8000", NULL};
    r = http_get(&f, "/moved/x?q=1", h);
    assert_int_equal(r.status, 301);
    assert_string_equal(hdr(&r, "Location"), "https://shop.example.com/moved/x?q=1");
    json_object_put(r.json);
    kf_proxy_stop(f.p);
}

static void test_no_target_503(void **state)
{
    (void)state;
    struct fixture f;
    start_doc(&f, false);
    struct reply r = http_get(&f, "/empty", NULL);
    assert_int_equal(r.status, 503);
    assert_string_equal(jstr(r.json, "message", NULL),
                        "failure to get a peer from the ring-balancer");
    assert_non_null(hdr(&r, "X-Kong-Response-Latency"));
    json_object_put(r.json);
    /* a route without a service */
    configure(&f,
              "{\"_format_version\":\"3.0\",\"routes\":[{\"name\":\"lonely\",\"paths\":"
              "[\"/lonely\"]}]}",
              "traditional_compatible");
    r = http_get(&f, "/lonely", NULL);
    assert_int_equal(r.status, 503);
    assert_string_equal(jstr(r.json, "message", NULL), "no Service found with those values");
    json_object_put(r.json);
    kf_proxy_stop(f.p);
}

static void test_debug_header(void **state)
{
    (void)state;
    struct fixture f;
    start_doc(&f, true);
    static const char *const h[] = {"Host: echo.example.com", "Kong-Debug: 1", NULL};
    struct reply r = http_get(&f, "/a", h);
    assert_int_equal(r.status, 200);
    char rid[37], sid[37];
    kf_entity_uuid("routes", "r1", rid);
    kf_entity_uuid("services", "s1", sid);
    assert_string_equal(hdr(&r, "Kong-Route-Id"), rid);
    assert_string_equal(hdr(&r, "Kong-Route-Name"), "r1");
    assert_string_equal(hdr(&r, "Kong-Service-Id"), sid);
    assert_string_equal(hdr(&r, "Kong-Service-Name"), "s1");
    json_object_put(r.json);
    /* without the request header: none */
    static const char *const h2[] = {"Host: echo.example.com", NULL};
    r = http_get(&f, "/a", h2);
    assert_null(hdr(&r, "Kong-Route-Id"));
    json_object_put(r.json);
    /* also on Kong's own answers for a matched route (426) */
    static const char *const h3[] = {"Kong-Debug: 1", NULL};
    r = http_get(&f, "/secure", h3);
    assert_int_equal(r.status, 426);
    assert_string_equal(hdr(&r, "Kong-Route-Name"), "r-https");
    json_object_put(r.json);
    kf_proxy_stop(f.p);
}

/* gRPC routes (Kong 3.9.1 handler.lua:1283-1310): a gRPC request (POST, application/grpc,
 * /<service>/<method>) is routed by path like any other; Kong then answers 415 to a non-gRPC
 * request and 426 to HTTP/1.x. With the fake-only "Kong-Test-Http-Version: 2" (debug header
 * allowed) the request counts as HTTP/2: the grpcs check runs, then the balancer, and the echo
 * names the target. */
static void check_grpc_routes(enum kf_flavor flavor, const char *flavor_name)
{
    struct fixture f;
    start(&f, flavor, true);
    bool expr = flavor == KF_FLAVOR_EXPRESSIONS;
    char doc[4096];
    snprintf(doc, sizeof(doc),
             "{\"_format_version\":\"3.0\",\"services\":["
             "{\"name\":\"g1\",\"host\":\"u1\",\"protocol\":\"grpc\",\"routes\":[{\"name\":"
             "\"echo\",\"protocols\":[\"grpc\",\"grpcs\"],\"strip_path\":false,%s}]},"
             "{\"name\":\"g2\",\"host\":\"u2\",\"protocol\":\"grpc\",\"routes\":[{\"name\":"
             "\"two\",\"protocols\":[\"grpcs\"],\"strip_path\":false,%s}]}],"
             "\"upstreams\":[{\"name\":\"u1\",\"targets\":[{\"target\":\"10.0.0.1:8080\"}]},"
             "{\"name\":\"u2\",\"targets\":[{\"target\":\"10.0.0.2:8080\"}]}]}",
             expr ? "\"expression\":\"http.path == \\\"/pkg.Echo/Echo\\\"\""
                  : "\"paths\":[\"~/pkg\\\\.Echo/Echo$\"]",
             expr ? "\"expression\":\"http.path == \\\"/pkg.Echo/Two\\\"\""
                  : "\"paths\":[\"~/pkg\\\\.Echo/Two$\"]");
    configure(&f, doc, flavor_name);
    static const char *const grpc[] = {"Content-Type: application/grpc", "Kong-Debug: 1", NULL};
    static const char *const h2[] = {"Content-Type: application/grpc", "Kong-Debug: 1",
                                     "Kong-Test-Http-Version: 2", NULL};
    static const char *const plain[] = {"Content-Type: application/json", NULL};
    /* HTTP/1.1: Kong's 426, after routing (the debug headers name the route) */
    struct reply r = req("http", "127.0.0.1", f.http, "POST", "/pkg.Echo/Echo", grpc, "x");
    assert_int_equal(r.status, 426);
    assert_string_equal(jstr(r.json, "message", NULL), "Please use HTTP2 protocol");
    assert_string_equal(hdr(&r, "Upgrade"), "HTTP/2");
    assert_string_equal(hdr(&r, "Kong-Route-Name"), "echo");
    json_object_put(r.json);
    /* not gRPC: 415 */
    r = req("http", "127.0.0.1", f.http, "POST", "/pkg.Echo/Echo", plain, "x");
    assert_int_equal(r.status, 415);
    assert_string_equal(jstr(r.json, "message", NULL), "Non-gRPC request matched gRPC route");
    json_object_put(r.json);
    /* "HTTP/2": proxied to the route's target */
    r = req("http", "127.0.0.1", f.http, "POST", "/pkg.Echo/Echo", h2, "x");
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "kong", "target"), "10.0.0.1:8080");
    assert_string_equal(jstr(r.json, "path", NULL), "/pkg.Echo/Echo");
    json_object_put(r.json);
    /* a grpcs-only route over cleartext: Kong's grpc-status 1; the expressions flavour appends
     * net.protocol == "https" for grpcs (expressions.lua:20-28, 48-52): no route there */
    r = req("http", "127.0.0.1", f.http, "POST", "/pkg.Echo/Two", h2, "x");
    if (expr) {
        assert_int_equal(r.status, 404);
    } else {
        assert_int_equal(r.status, 200);
        assert_string_equal(hdr(&r, "grpc-status"), "1");
        assert_string_equal(hdr(&r, "grpc-message"), "gRPC request matched gRPCs route");
    }
    json_object_put(r.json);
    r = req("https", "127.0.0.1", f.https, "POST", "/pkg.Echo/Two", h2, "x");
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "kong", "target"), "10.0.0.2:8080");
    json_object_put(r.json);
    /* another method: no route; to a gRPC request (HTTP/2) Kong's error is gRPC-shaped:
     * no body, grpc-status 5 (response.lua HTTP_TO_GRPC_STATUS[404]) */
    r = req("http", "127.0.0.1", f.http, "POST", "/pkg.Echo/Three", h2, "x");
    assert_int_equal(r.status, 404);
    assert_string_equal(hdr(&r, "Content-Type"), "application/grpc");
    assert_string_equal(hdr(&r, "grpc-status"), "5");
    assert_string_equal(hdr(&r, "grpc-message"), "NotFound");
    assert_string_equal(r.body, "");
    json_object_put(r.json);
    r = req("http", "127.0.0.1", f.http, "POST", "/pkg.Echo/Three", grpc, "x"); /* HTTP/1.1 */
    assert_int_equal(r.status, 404);
    assert_null(hdr(&r, "grpc-status"));
    json_object_put(r.json);
    kf_proxy_stop(f.p);
}

static void test_grpc_routes(void **state)
{
    (void)state;
    check_grpc_routes(KF_FLAVOR_TRADITIONAL_COMPATIBLE, "traditional_compatible");
    check_grpc_routes(KF_FLAVOR_EXPRESSIONS, "expressions");
    check_grpc_routes(KF_FLAVOR_TRADITIONAL, "traditional");
}

static void test_config_swap(void **state)
{
    (void)state;
    struct fixture f;
    start_doc(&f, false);
    struct reply r = http_get(&f, "/empty", NULL);
    assert_int_equal(r.status, 503);
    json_object_put(r.json);
    configure(&f,
              "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s2\",\"host\":\"up\","
              "\"routes\":[{\"name\":\"r2\",\"paths\":[\"/b\"]}]}],\"upstreams\":[{\"name\":"
              "\"up\",\"targets\":[{\"target\":\"10.9.9.9\"}]}]}",
              "traditional_compatible");
    r = http_get(&f, "/empty", NULL);
    assert_int_equal(r.status, 404);
    json_object_put(r.json);
    r = http_get(&f, "/b/c", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(jpath(r.json, "kong", "route"), "name", NULL), "r2");
    /* a target without a port: 8000 (kong/db/dao/targets.lua) */
    assert_string_equal(jstr(r.json, "kong", "target"), "10.9.9.9:8000");
    assert_string_equal(jstr(r.json, "host", NULL), "10.9.9.9:8000");
    assert_string_equal(jstr(r.json, "path", NULL), "/c");
    json_object_put(r.json);
    /* no configuration again */
    assert_int_equal(kf_proxy_set_config(f.p, NULL), 0);
    r = http_get(&f, "/b/c", NULL);
    assert_int_equal(r.status, 404);
    json_object_put(r.json);
    kf_proxy_stop(f.p);
}

static void test_error_negotiation(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, KF_FLAVOR_TRADITIONAL_COMPATIBLE, false);
    static const char *const html[] = {"Accept: text/html", NULL};
    struct reply r = http_get(&f, "/", html);
    assert_int_equal(r.status, 404);
    assert_string_equal(hdr(&r, "Content-Type"), "text/html; charset=utf-8");
    assert_non_null(strstr(r.body, "<p>no Route matched with those values.</p>"));
    json_object_put(r.json);
    static const char *const plain[] = {"Accept: text/html;q=0.5, text/plain", NULL};
    r = http_get(&f, "/", plain);
    assert_string_equal(hdr(&r, "Content-Type"), "text/plain; charset=utf-8");
    assert_int_equal(strncmp(r.body, "no Route matched with those values\nrequest_id: ", 47), 0);
    json_object_put(r.json);
    static const char *const other[] = {"Accept: image/png", NULL};
    r = http_get(&f, "/", other);
    assert_string_equal(hdr(&r, "Content-Type"), "application/json; charset=utf-8");
    json_object_put(r.json);
    kf_proxy_stop(f.p);
}

/* ---- TLS ----------------------------------------------------------------------------------------
 */

/* A self-signed EC certificate for CN=cn as PEM strings (caller frees). */
static void make_cert(const char *cn, char **cert, char **key)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
    X509_set_pubkey(x, k);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *p = NULL;
    long len = BIO_get_mem_data(b, &p);
    *cert = strndup(p, (size_t)len);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    len = BIO_get_mem_data(b, &p);
    *key = strndup(p, (size_t)len);
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void add_cert(json_object *certs, const char *cn, const char *const *snis)
{
    char *cert = NULL, *key = NULL;
    make_cert(cn, &cert, &key);
    json_object *c = json_object_new_object();
    json_object_object_add(c, "cert", json_object_new_string(cert));
    json_object_object_add(c, "key", json_object_new_string(key));
    json_object *s = json_object_new_array();
    for (size_t i = 0; snis[i]; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(snis[i]));
        json_object_array_add(s, o);
    }
    json_object_object_add(c, "snis", s);
    json_object_array_add(certs, c);
    free(cert);
    free(key);
}

static void check_cert(struct fixture *f, const char *sni, const char *want_cn)
{
    struct reply r = req("https", sni, f->https, "GET", "/direct", NULL, NULL);
    assert_int_equal(r.status, 200);
    char want[128];
    snprintf(want, sizeof(want), "CN = %s", want_cn);
    if (!strstr(r.cert_subject, want)) {
        print_message("SNI %s: subject '%s', want %s\n", sni, r.cert_subject, want);
    }
    assert_non_null(strstr(r.cert_subject, want));
    json_object_put(r.json);
}

static void test_tls_certificates(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, KF_FLAVOR_TRADITIONAL_COMPATIBLE, false);
    json_object *doc = json_tokener_parse(DOC);
    json_object *certs = json_object_new_array();
    static const char *const exact[] = {"exact.example.com", NULL};
    static const char *const prefix[] = {"*.wild.test", NULL};
    static const char *const suffix[] = {"suffix.*", NULL};
    add_cert(certs, "exact", exact);
    add_cert(certs, "prefix", prefix);
    add_cert(certs, "suffix", suffix);
    json_object_object_add(doc, "certificates", certs);
    configure(&f, json_object_to_json_string(doc), "traditional_compatible");

    /* Kong's default certificate (prefix_handler.lua): no SNI, or an SNI nothing matches */
    struct reply r = req("https", "127.0.0.1", f.https, "GET", "/direct", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.cert_subject, "CN = localhost"));
    assert_non_null(strstr(r.cert_subject, "O = Kong"));
    assert_non_null(strstr(r.cert_subject, "OU = IT Department"));
    json_object_put(r.json);
    check_cert(&f, "nothing.example.org", "localhost");
    check_cert(&f, "exact.example.com", "exact");
    check_cert(&f, "a.wild.test", "prefix");
    check_cert(&f, "suffix.org", "suffix");

    /* the "*" SNI catches every other name */
    static const char *const star[] = {"*", NULL};
    add_cert(certs, "star", star);
    configure(&f, json_object_to_json_string(doc), "traditional_compatible");
    check_cert(&f, "nothing.example.org", "star");
    check_cert(&f, "exact.example.com", "exact");
    json_object_put(doc);
    kf_proxy_stop(f.p);
}

/* ---- robustness --------------------------------------------------------------------------------
 */

static void raw_send(unsigned port, const char *data, size_t len, char *out, size_t outsz)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
    (void)w;
    shutdown(fd, SHUT_WR);
    size_t got = 0;
    ssize_t n;
    while (got + 1 < outsz && (n = recv(fd, out + got, outsz - got - 1, 0)) > 0) {
        got += (size_t)n;
    }
    out[got] = '\0';
    close(fd);
}

static void test_malformed_requests(void **state)
{
    (void)state;
    struct fixture f;
    start_doc(&f, false);
    char out[8192];
    static const char *const junk[] = {
        "\x16\x03\x01garbage\r\n\r\n",
        "GET\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: echo.example.com\r\nContent-Length: -5\r\n\r\n",
        "GET /a%zz%00 HTTP/1.1\r\nHost: echo.example.com\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: [::1\r\n\r\n",
        "POST /a HTTP/1.1\r\nHost: echo.example.com\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "GET /a?%%%&&==&a=%41 HTTP/1.1\r\nHost: echo.example.com\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        raw_send(f.http, junk[i], strlen(junk[i]), out, sizeof(out));
    }
    /* plaintext on the TLS port, and a TLS port closed mid-handshake */
    raw_send(f.https, junk[2], strlen(junk[2]), out, sizeof(out));
    raw_send(f.https, "\x16\x03\x01\x00\x05hello", 10, out, sizeof(out));
    /* still serving */
    static const char *const h[] = {"Host: echo.example.com", NULL};
    struct reply r = http_get(&f, "/a", h);
    assert_int_equal(r.status, 200);
    json_object_put(r.json);
    r = req("https", "127.0.0.1", f.https, "GET", "/a", h, NULL);
    assert_int_equal(r.status, 200);
    json_object_put(r.json);
    kf_proxy_stop(f.p);
}

int main(void)
{
    kgc_log_setup(KGC_LOG_ERROR, KGC_LOG_TEXT, 2);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listeners_json),
        cmocka_unit_test(test_wild_snis),
        cmocka_unit_test(test_route_echo_traditional_compatible),
        cmocka_unit_test(test_route_echo_traditional),
        cmocka_unit_test(test_route_echo_expressions),
        cmocka_unit_test(test_exec_uri),
        cmocka_unit_test(test_balancer_extras),
        cmocka_unit_test(test_router_query_args),
        cmocka_unit_test(test_https_only_routes),
        cmocka_unit_test(test_no_target_503),
        cmocka_unit_test(test_debug_header),
        cmocka_unit_test(test_grpc_routes),
        cmocka_unit_test(test_config_swap),
        cmocka_unit_test(test_error_negotiation),
        cmocka_unit_test(test_tls_certificates),
        cmocka_unit_test(test_malformed_requests),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

/* server: routing of every path shape through a recording provider (404 JSON for bad paths, 405
 * for other methods, ?pretty=1, provider errors and the body cap), listen address parsing, the
 * real libmicrohttpd daemon over HTTP (port 0, concurrent clients, HEAD, a busy port), and the
 * application provider over real modules (cache dump with Secret data redacted, 404 for a
 * missing object, /debug/queue keys with requeue counts, /debug/listeners, readiness). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kgc/log.h"
#include "kgc/server.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- a recording provider --------------------------------------------------------------------- */

struct fake {
    int calls;
    char kind[64], ns[64], name[64];
    bool ns_set, name_set, kind_set;
    bool pretty;
    int rc;          /* what the callbacks return */
    size_t body_len; /* > 0: answer this many 'x' bytes (to test the cap) */
    bool ready;
    const char *reason;
};

static int reply(struct fake *f, const char *text, char **out, size_t *len)
{
    f->calls++;
    if (f->rc)
        return f->rc;
    if (f->body_len) {
        *out = malloc(f->body_len + 1);
        assert_non_null(*out);
        memset(*out, 'x', f->body_len);
        (*out)[f->body_len] = '\0';
        *len = f->body_len;
        return 0;
    }
    *out = strdup(text);
    assert_non_null(*out);
    *len = strlen(text);
    return 0;
}

static int fake_cache(void *ctx, const char *kind, const char *ns, const char *name, bool pretty,
                      char **out, size_t *len)
{
    struct fake *f = ctx;
    f->kind_set = kind != NULL;
    f->ns_set = ns != NULL;
    f->name_set = name != NULL;
    snprintf(f->kind, sizeof(f->kind), "%s", kind ? kind : "");
    snprintf(f->ns, sizeof(f->ns), "%s", ns ? ns : "");
    snprintf(f->name, sizeof(f->name), "%s", name ? name : "");
    f->pretty = pretty;
    return reply(f, pretty ? "{\n  \"gateways\": []\n}\n" : "{\"gateways\":[]}", out, len);
}

static int fake_metrics(void *ctx, char **out, size_t *len)
{
    return reply(ctx, "# HELP kgc_leader x\n# TYPE kgc_leader gauge\nkgc_leader 1\n", out, len);
}

static int fake_listeners(void *ctx, bool pretty, char **out, size_t *len)
{
    ((struct fake *)ctx)->pretty = pretty;
    return reply(ctx, "{\"instances\":[]}", out, len);
}

static int fake_queues(void *ctx, bool pretty, char **out, size_t *len)
{
    ((struct fake *)ctx)->pretty = pretty;
    return reply(ctx, "{\"queues\":[]}", out, len);
}

static bool fake_ready(void *ctx, char *reason, size_t size)
{
    struct fake *f = ctx;
    f->calls++;
    if (!f->ready)
        snprintf(reason, size, "%s", f->reason);
    return f->ready;
}

static struct kgc_server_provider fake_provider(struct fake *f)
{
    memset(f, 0, sizeof(*f));
    f->ready = true;
    struct kgc_server_provider p = {.ctx = f,
                                    .ready = fake_ready,
                                    .metrics = fake_metrics,
                                    .cache = fake_cache,
                                    .listeners = fake_listeners,
                                    .queues = fake_queues};
    return p;
}

#define ALL (KGC_SERVER_ROUTES_HEALTH | KGC_SERVER_ROUTES_DEBUG)

/* Routes GET path and returns the status; the body parsed as JSON goes to *json (may be NULL)
 * when the content type is JSON. */
static unsigned get(const struct kgc_server_provider *p, unsigned routes, const char *path,
                    bool pretty, json_object **json, struct kgc_server_response *keep)
{
    struct kgc_server_response r;
    assert_int_equal(kgc_server_route(p, routes, "GET", path, pretty, 0, &r), 0);
    assert_non_null(r.body);
    assert_int_equal(r.len, strlen(r.body));
    if (json) {
        assert_string_equal(r.content_type, "application/json");
        *json = json_tokener_parse(r.body);
        if (!*json)
            fail_msg("%s: not JSON: %s", path, r.body);
    }
    unsigned status = r.status;
    if (keep)
        *keep = r;
    else
        kgc_server_response_free(&r);
    return status;
}

static const char *str(json_object *j, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(j, key, &v))
        return NULL;
    return json_object_get_string(v);
}

static void assert_not_found(const struct kgc_server_provider *p, unsigned routes, const char *path)
{
    json_object *j = NULL;
    unsigned st = get(p, routes, path, false, &j, NULL);
    if (st != 404)
        fail_msg("%s: status %u, want 404", path, st);
    assert_string_equal(str(j, "error"), "not found");
    assert_string_equal(str(j, "path"), path);
    json_object_put(j);
}

/* --- routing ---------------------------------------------------------------------------------- */

static void cache_call(const struct kgc_server_provider *p, struct fake *f, const char *path,
                       const char *kind, const char *ns, const char *name)
{
    json_object *j = NULL;
    int before = f->calls;
    unsigned st = get(p, ALL, path, false, &j, NULL);
    if (st != 200)
        fail_msg("%s: status %u", path, st);
    json_object_put(j);
    assert_int_equal(f->calls, before + 1);
    assert_int_equal(f->kind_set, kind != NULL);
    assert_int_equal(f->ns_set, ns != NULL);
    assert_int_equal(f->name_set, name != NULL);
    assert_string_equal(f->kind, kind ? kind : "");
    assert_string_equal(f->ns, ns ? ns : "");
    assert_string_equal(f->name, name ? name : "");
}

static void test_cache_path_shapes(void **state)
{
    (void)state;
    struct fake f;
    struct kgc_server_provider p = fake_provider(&f);
    cache_call(&p, &f, "/debug/cache", NULL, NULL, NULL);
    cache_call(&p, &f, "/debug/cache/", NULL, NULL, NULL);
    cache_call(&p, &f, "/debug/cache/gateways", "gateways", NULL, NULL);
    cache_call(&p, &f, "/debug/cache/httproutes/", "httproutes", NULL, NULL);
    cache_call(&p, &f, "/debug/cache/gateways/demo", "gateways", "demo", NULL);
    cache_call(&p, &f, "/debug/cache/services/demo/web", "services", "demo", "web");
    cache_call(&p, &f, "/debug/cache/secrets/demo/tls", "secrets", "demo", "tls");
    cache_call(&p, &f, "/debug/cache/endpointslices/demo/web-abc", "endpointslices", "demo",
               "web-abc");
    cache_call(&p, &f, "/debug/cache/referencegrants/demo", "referencegrants", "demo", NULL);
    /* Cluster-scoped kinds: the second segment is the name. */
    cache_call(&p, &f, "/debug/cache/gatewayclasses", "gatewayclasses", NULL, NULL);
    cache_call(&p, &f, "/debug/cache/gatewayclasses/kgc", "gatewayclasses", NULL, "kgc");
    cache_call(&p, &f, "/debug/cache/namespaces/demo", "namespaces", NULL, "demo");

    int calls = f.calls;
    assert_not_found(&p, ALL, "/debug/cache/gatewayclasses/kgc/extra"); /* cluster-scoped: 2 max */
    assert_not_found(&p, ALL, "/debug/cache/gateways/demo/gw/extra");
    assert_not_found(&p, ALL, "/debug/cache/Gateway"); /* the plural only */
    assert_not_found(&p, ALL, "/debug/cache/gateway"); /* not the singular */
    assert_not_found(&p, ALL, "/debug/cache/widgets"); /* unknown kind */
    assert_not_found(&p, ALL, "/debug/cache//demo");   /* empty segment */
    assert_not_found(&p, ALL, "/debug/cache/gateways//gw");
    assert_not_found(&p, ALL, "/debug/caches");
    assert_not_found(&p, ALL, "/debug/cachegateways");
    assert_int_equal(f.calls, calls); /* the provider was never asked */
}

static void test_fixed_paths_and_groups(void **state)
{
    (void)state;
    struct fake f;
    struct kgc_server_provider p = fake_provider(&f);
    json_object *j = NULL;

    assert_int_equal(get(&p, ALL, "/healthz", false, &j, NULL), 200);
    assert_string_equal(str(j, "status"), "ok");
    json_object_put(j);

    assert_int_equal(get(&p, ALL, "/readyz", false, &j, NULL), 200);
    assert_string_equal(str(j, "status"), "ready");
    json_object_put(j);
    f.ready = false;
    f.reason = "2 cache(s) not synced yet (gateways first)";
    assert_int_equal(get(&p, ALL, "/readyz", false, &j, NULL), 503);
    assert_string_equal(str(j, "status"), "not ready");
    assert_string_equal(str(j, "reason"), f.reason);
    json_object_put(j);

    struct kgc_server_response r;
    assert_int_equal(get(&p, ALL, "/metrics", false, NULL, &r), 200);
    assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body, "kgc_leader 1\n"));
    kgc_server_response_free(&r);

    assert_int_equal(get(&p, ALL, "/debug/listeners", false, &j, NULL), 200);
    assert_non_null(json_object_object_get(j, "instances"));
    json_object_put(j);
    assert_int_equal(get(&p, ALL, "/debug/queue/", false, &j, NULL), 200);
    assert_non_null(json_object_object_get(j, "queues"));
    json_object_put(j);

    /* No config syncer: 200 with the reason, not a 404. */
    assert_int_equal(get(&p, ALL, "/debug/config", false, &j, NULL), 200);
    assert_false(json_object_get_boolean(json_object_object_get(j, "pushed")));
    assert_string_equal(str(j, "reason"), "the config syncer is not running in this build");
    json_object_put(j);

    /* Route groups: the health server does not show debug data and vice versa. */
    assert_not_found(&p, KGC_SERVER_ROUTES_HEALTH, "/debug/cache");
    assert_not_found(&p, KGC_SERVER_ROUTES_HEALTH, "/debug/queue");
    assert_not_found(&p, KGC_SERVER_ROUTES_DEBUG, "/metrics");
    assert_not_found(&p, KGC_SERVER_ROUTES_DEBUG, "/healthz");
    assert_int_equal(get(&p, KGC_SERVER_ROUTES_DEBUG, "/debug/cache", false, &j, NULL), 200);
    json_object_put(j);

    /* Bad paths. */
    static const char *const bad[] = {"/",          "/nope",
                                      "/healthz/x", "/debug",
                                      "/debug/",    "/debug/queues",
                                      "/metricsx",  "/debug/config/x",
                                      "relative",   "/debug/listeners/x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_not_found(&p, ALL, bad[i]);
    char long_path[2048];
    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = '\0';
    assert_not_found(&p, ALL, long_path);
    /* A path with a quote and a backslash comes back escaped, as valid JSON. */
    assert_not_found(&p, ALL, "/x\"y\\z");

    /* A provider without a callback: 404, not a crash. */
    struct kgc_server_provider none = {0};
    assert_not_found(&none, ALL, "/metrics");
    assert_not_found(&none, ALL, "/debug/cache/gateways");
    assert_not_found(&none, ALL, "/debug/queue");
    assert_int_equal(get(&none, ALL, "/readyz", false, &j, NULL), 200);
    json_object_put(j);
}

static void test_methods(void **state)
{
    (void)state;
    struct fake f;
    struct kgc_server_provider p = fake_provider(&f);
    static const char *const methods[] = {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        struct kgc_server_response r;
        assert_int_equal(kgc_server_route(&p, ALL, methods[i], "/debug/cache", false, 0, &r), 0);
        assert_int_equal(r.status, 405);
        json_object *j = json_tokener_parse(r.body);
        assert_non_null(j);
        assert_string_equal(str(j, "error"), "method not allowed");
        assert_string_equal(str(j, "method"), methods[i]);
        json_object_put(j);
        kgc_server_response_free(&r);
    }
    assert_int_equal(f.calls, 0);
    struct kgc_server_response r;
    assert_int_equal(kgc_server_route(&p, ALL, "HEAD", "/healthz", false, 0, &r), 0);
    assert_int_equal(r.status, 200);
    kgc_server_response_free(&r);
}

static void test_pretty(void **state)
{
    (void)state;
    struct fake f;
    struct kgc_server_provider p = fake_provider(&f);
    struct kgc_server_response r;
    assert_int_equal(get(&p, ALL, "/debug/cache/gateways", true, NULL, &r), 200);
    assert_true(f.pretty);
    assert_non_null(strstr(r.body, "\n  \""));
    kgc_server_response_free(&r);
    assert_int_equal(get(&p, ALL, "/debug/cache/gateways", false, NULL, &r), 200);
    assert_false(f.pretty);
    assert_null(strchr(r.body, ' '));
    kgc_server_response_free(&r);
    assert_int_equal(get(&p, ALL, "/debug/queue", true, NULL, &r), 200);
    assert_true(f.pretty);
    kgc_server_response_free(&r);
    /* The server's own JSON (errors, health, config) is indented too. */
    assert_int_equal(get(&p, ALL, "/nope", true, NULL, &r), 404);
    assert_non_null(strstr(r.body, "\n  \"error\": \"not found\""));
    kgc_server_response_free(&r);
    assert_int_equal(get(&p, ALL, "/nope", false, NULL, &r), 404);
    assert_string_equal(r.body, "{\"error\":\"not found\",\"path\":\"/nope\"}\n");
    kgc_server_response_free(&r);
}

static void test_provider_errors_and_cap(void **state)
{
    (void)state;
    struct fake f;
    struct kgc_server_provider p = fake_provider(&f);
    json_object *j = NULL;
    f.rc = KGC_ENOENT;
    assert_not_found(&p, ALL, "/debug/cache/gateways/demo/missing");
    f.rc = KGC_ENOMEM;
    assert_int_equal(get(&p, ALL, "/debug/cache", false, &j, NULL), 500);
    assert_string_equal(str(j, "path"), "/debug/cache");
    assert_non_null(str(j, "error"));
    json_object_put(j);
    assert_int_equal(get(&p, ALL, "/metrics", false, &j, NULL), 500);
    json_object_put(j);
    f.rc = 0;
    f.body_len = 5000;
    struct kgc_server_response r;
    assert_int_equal(kgc_server_route(&p, ALL, "GET", "/debug/cache", false, 4096, &r), 0);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "cap"));
    kgc_server_response_free(&r);
    assert_int_equal(kgc_server_route(&p, ALL, "GET", "/debug/cache", false, 5000, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 5000);
    kgc_server_response_free(&r);
}

static void test_parse_listen(void **state)
{
    (void)state;
    char host[64];
    uint16_t port = 1;
    struct kgc_err err = {0};
    assert_int_equal(kgc_server_parse_listen(":10254", host, sizeof(host), &port, &err), 0);
    assert_string_equal(host, "");
    assert_int_equal(port, 10254);
    assert_int_equal(kgc_server_parse_listen("127.0.0.1:0", host, sizeof(host), &port, &err), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 0);
    assert_int_equal(kgc_server_parse_listen("[::1]:8080", host, sizeof(host), &port, &err), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 8080);
    assert_int_equal(kgc_server_parse_listen("localhost:65535", host, sizeof(host), &port, &err),
                     0);
    assert_string_equal(host, "localhost");
    assert_int_equal(port, 65535);
    static const char *const bad[] = {"",           "10254",    "host:",   "host:x1",
                                      "host:65536", "::1:80",   "[::1]80", "[]:80",
                                      "h:-1",       "h:123456", "[::1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        if (kgc_server_parse_listen(bad[i], host, sizeof(host), &port, &err) != KGC_EUSAGE)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_true(err.msg[0] != '\0');
    }
    assert_int_equal(kgc_server_parse_listen(NULL, host, sizeof(host), &port, &err), KGC_EUSAGE);
    char tiny[4];
    assert_int_equal(kgc_server_parse_listen("localhost:1", tiny, sizeof(tiny), &port, &err),
                     KGC_EUSAGE);
}

/* --- the real daemon -------------------------------------------------------------------------- */

struct fetched {
    long status;
    char *body;
    size_t len;
    char ctype[128];
    char allow[128];
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct fetched *f = ud;
    size_t n = size * nmemb;
    char *b = realloc(f->body, f->len + n + 1);
    if (!b)
        return 0;
    memcpy(b + f->len, ptr, n);
    f->body = b;
    f->len += n;
    f->body[f->len] = '\0';
    return n;
}

static size_t header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct fetched *f = ud;
    size_t n = size * nmemb;
    if (n > 6 && strncasecmp(ptr, "Allow:", 6) == 0)
        snprintf(f->allow, sizeof(f->allow), "%.*s", (int)(n - 6), ptr + 6);
    return n;
}

static void fetch(uint16_t port, const char *method, const char *path, struct fetched *out)
{
    memset(out, 0, sizeof(*out));
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"a\":1}");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(out->ctype, sizeof(out->ctype), "%s", ct ? ct : "");
    curl_easy_cleanup(c);
}

struct client_arg {
    uint16_t port;
    int ok;
};

static void *client_main(void *arg)
{
    struct client_arg *a = arg;
    for (int i = 0; i < 25; i++) {
        struct fetched f;
        fetch(a->port, "GET", i % 2 ? "/metrics" : "/debug/cache/gateways/demo", &f);
        if (f.status == 200 && f.body)
            a->ok++;
        free(f.body);
    }
    return NULL;
}

static void test_daemon_over_http(void **state)
{
    (void)state;
    struct fake f;
    struct kgc_server_provider p = fake_provider(&f);
    struct kgc_server_options o;
    kgc_server_options_default(&o);
    o.name = "test";
    o.listen = "127.0.0.1:0";
    struct kgc_server *s = NULL;
    struct kgc_err err = {0};
    assert_int_equal(kgc_server_start(&o, &p, &s, &err), 0);
    uint16_t port = kgc_server_port(s);
    assert_true(port != 0);

    struct fetched r;
    fetch(port, "GET", "/healthz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    assert_string_equal(r.body, "{\"status\":\"ok\"}\n");
    free(r.body);

    fetch(port, "GET", "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
    free(r.body);

    fetch(port, "GET", "/debug/cache/gateways/demo?pretty=1", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(f.kind, "gateways");
    assert_string_equal(f.ns, "demo");
    assert_true(f.pretty);
    free(r.body);
    fetch(port, "GET", "/debug/cache/gateways/demo?pretty=0", &r);
    assert_false(f.pretty);
    free(r.body);
    /* Percent-encoded paths are decoded before routing. */
    fetch(port, "GET", "/debug/cache/services/my%2Dns/web", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(f.ns, "my-ns");
    free(r.body);

    fetch(port, "GET", "/nope", &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.ctype, "application/json");
    assert_string_equal(r.body, "{\"error\":\"not found\",\"path\":\"/nope\"}\n");
    free(r.body);

    fetch(port, "POST", "/debug/cache", &r);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.allow, "GET"));
    free(r.body);

    fetch(port, "HEAD", "/healthz", &r);
    assert_int_equal(r.status, 200);
    assert_null(r.body);

    /* Four clients at once, each with its own connections. */
    pthread_t th[4];
    struct client_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i].port = port;
        args[i].ok = 0;
        assert_int_equal(pthread_create(&th[i], NULL, client_main, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].ok, 25);
    }

    /* The port is taken: a second server on it fails with a reason naming the address. */
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)port);
    o.listen = addr;
    struct kgc_server *s2 = NULL;
    assert_int_equal(kgc_server_start(&o, &p, &s2, &err), KGC_EIO);
    assert_null(s2);
    assert_non_null(strstr(err.msg, addr));
    o.listen = "nonsense";
    assert_int_equal(kgc_server_start(&o, &p, &s2, &err), KGC_EUSAGE);
    o.listen = "no-such-host.invalid:0";
    assert_int_equal(kgc_server_start(&o, &p, &s2, &err), KGC_EUSAGE);

    kgc_server_stop(s);
    kgc_server_stop(NULL);

    /* ":0" listens on every interface; 127.0.0.1 reaches it. */
    o.listen = ":0";
    o.routes = KGC_SERVER_ROUTES_HEALTH;
    assert_int_equal(kgc_server_start(&o, &p, &s, &err), 0);
    fetch(kgc_server_port(s), "GET", "/readyz", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    fetch(kgc_server_port(s), "GET", "/debug/cache", &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    kgc_server_stop(s);
}

/* The probe-only group answers /healthz and /readyz, nothing else. */
static void test_probe_routes(void **state)
{
    (void)state;
    struct fake f = {0};
    struct kgc_server_provider p = fake_provider(&f);
    assert_int_equal(get(&p, KGC_SERVER_ROUTES_PROBES, "/healthz", false, NULL, NULL), 200);
    assert_int_equal(get(&p, KGC_SERVER_ROUTES_PROBES, "/readyz/", false, NULL, NULL),
                     get(&p, ALL, "/readyz", false, NULL, NULL));
    assert_not_found(&p, KGC_SERVER_ROUTES_PROBES, "/metrics");
    assert_not_found(&p, KGC_SERVER_ROUTES_PROBES, "/debug/queue");
}

/* A raw connection to 127.0.0.1:port. */
static int dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Whether the server closes fd within timeout_ms (reads until the end of the stream). */
static bool closed_within(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    char buf[256];
    while (poll(&pfd, 1, timeout_ms) == 1) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return true;
    }
    return false;
}

/* GET /healthz over a raw HTTP/1.0 connection: true on a 200. */
static bool raw_get_ok(uint16_t port)
{
    int fd = dial(port);
    const char *req = "GET /healthz HTTP/1.0\r\n\r\n";
    char buf[64] = "";
    bool ok = send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req) &&
              recv(fd, buf, sizeof(buf) - 1, MSG_WAITALL) > 12 && strncmp(buf + 9, "200", 3) == 0;
    close(fd);
    return ok;
}

/* libmicrohttpd's own timeout counts idle time: a client that sends a byte every 300 ms (under
 * the 2 s idle timeout) never finishing its request is closed by the 1 s request deadline; a
 * client past its per-address share is refused while another request still gets through. */
static void test_daemon_limits(void **state)
{
    (void)state;
    struct fake f = {0};
    struct kgc_server_provider p = fake_provider(&f);
    struct kgc_server_options o;
    kgc_server_options_default(&o);
    o.listen = "127.0.0.1:0";
    o.idle_timeout_s = 2;
    o.request_timeout_s = 1;
    o.per_ip_connections = 2;
    struct kgc_server *s = NULL;
    struct kgc_err err = {0};
    assert_int_equal(kgc_server_start(&o, &p, &s, &err), 0);
    uint16_t port = kgc_server_port(s);

    int slow = dial(port);
    const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaa";
    bool closed = false;
    size_t i = 0;
    for (; req[i] && !closed; i++) {
        if (send(slow, req + i, 1, MSG_NOSIGNAL) != 1)
            closed = true;
        else
            closed = closed_within(slow, 300);
    }
    assert_true(closed);
    close(slow);
    assert_int_equal(kgc_server_deadline_closed(s), 1);

    /* Two connections from 127.0.0.1 are its share: a third is closed at once. */
    int a = dial(port), b = dial(port), c = dial(port);
    assert_true(closed_within(c, 2000));
    close(c);
    close(a);
    close(b);
    /* once the server has seen them go (bounded wait), requests get through again */
    bool answered = false;
    for (int t = 0; t < 100 && !answered; t++) {
        answered = raw_get_ok(port);
        if (!answered)
            usleep(20000);
    }
    assert_true(answered);
    kgc_server_stop(s);
}

/* --- the application provider over real modules ---------------------------------------------- */

static struct kgc_api_obj *obj(enum kgc_api_kind kind, const char *json)
{
    struct kgc_api_obj *o = NULL;
    struct kgc_err err = {0};
    if (kgc_api_parse_text(kind, json, strlen(json), &o, &err) != 0)
        fail_msg("%s: %s", json, err.msg);
    return o;
}

/* base64 of a PEM block, as a Secret's data holds it */
#define PEM                                                                                        \
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJzekNDQVZtZ0F3SUJBZ0lVWG8KLS0tLS1FTkQgQ0VSVElGSUNB" \
    "VEUtLS0tLQo="

struct app_fixture {
    struct kgc_cache *cache;
    struct kgc_listenercache *lc;
    struct kgc_kong *kong;
    struct kgc_reconcile *r;
    struct kgc_server_app app;
    struct kgc_server_provider p;
};

static int app_setup(void **state)
{
    struct app_fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    struct kgc_err err = {0};
    fx->cache = kgc_cache_new();
    assert_non_null(fx->cache);
    assert_int_equal(
        kgc_cache_upsert(
            fx->cache,
            obj(KGC_API_GATEWAYCLASS,
                "{\"metadata\":{\"name\":\"kgc\",\"resourceVersion\":\"5\"},"
                "\"spec\":{\"controllerName\":\"konghq.com/kgc-gateway-controller\"}}"),
            NULL),
        0);
    assert_int_equal(
        kgc_cache_upsert(fx->cache,
                         obj(KGC_API_GATEWAY,
                             "{\"metadata\":{\"name\":\"gw\",\"namespace\":\"demo\","
                             "\"resourceVersion\":\"7\"},\"spec\":{\"gatewayClassName\":\"kgc\","
                             "\"listeners\":[{\"name\":\"http\",\"port\":8000,\"protocol\":"
                             "\"HTTP\"}]}}"),
                         NULL),
        0);
    assert_int_equal(
        kgc_cache_upsert(fx->cache,
                         obj(KGC_API_GATEWAY, "{\"metadata\":{\"name\":\"other\",\"namespace\":"
                                              "\"prod\",\"resourceVersion\":\"8\"},\"spec\":{"
                                              "\"gatewayClassName\":\"kgc\",\"listeners\":[]}}"),
                         NULL),
        0);
    assert_int_equal(
        kgc_cache_upsert(fx->cache,
                         obj(KGC_API_SECRET,
                             "{\"metadata\":{\"name\":\"tls\",\"namespace\":\"demo\","
                             "\"resourceVersion\":\"9\"},\"type\":\"kubernetes.io/"
                             "tls\",\"data\":{\"tls.crt\":\"" PEM "\",\"tls.key\":\"" PEM "\"}}"),
                         NULL),
        0);

    struct kgc_listenercache_options lo;
    kgc_listenercache_options_default(&lo);
    lo.dir = NULL;
    assert_int_equal(kgc_listenercache_open(&lo, &fx->lc, &err), 0);
    struct kgc_kong_info info;
    memset(&info, 0, sizeof(info));
    snprintf(info.version, sizeof(info.version), "3.9.1");
    info.listeners.proxy = calloc(1, sizeof(struct kgc_kong_listener));
    assert_non_null(info.listeners.proxy);
    info.listeners.n_proxy = 1;
    snprintf(info.listeners.proxy[0].ip, sizeof(info.listeners.proxy[0].ip), "0.0.0.0");
    info.listeners.proxy[0].port = 8000;
    assert_int_equal(kgc_listenercache_set_live(fx->lc, "http://kong:8001", &info, 0, &err), 0);
    kgc_kong_info_free(&info);

    struct kgc_kong_options ko;
    kgc_kong_options_default(&ko);
    assert_int_equal(kgc_kong_new(&ko, &fx->kong, &err), 0);
    struct kgc_reconcile_options ro;
    kgc_reconcile_options_default(&ro);
    assert_int_equal(kgc_reconcile_new(&ro, fx->cache, NULL, fx->lc, &fx->r, &err), 0);

    fx->app.metrics.reconciler = fx->r;
    fx->app.metrics.cache = fx->cache;
    fx->app.metrics.kong = fx->kong;
    fx->app.metrics.lc = fx->lc;
    fx->app.metrics.version = "test";
    kgc_server_app_provider(&fx->app, &fx->p);
    *state = fx;
    return 0;
}

static int app_teardown(void **state)
{
    struct app_fixture *fx = *state;
    kgc_reconcile_free(fx->r);
    kgc_kong_free(fx->kong);
    kgc_listenercache_close(fx->lc);
    kgc_cache_free(fx->cache);
    free(fx);
    return 0;
}

/* The names in dump[plural], joined with ',' into buf. */
static const char *names(json_object *dump, const char *plural, char *buf, size_t size)
{
    buf[0] = '\0';
    json_object *arr = json_object_object_get(dump, plural);
    if (!arr)
        return "(absent)";
    size_t n = 0;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *meta = json_object_object_get(json_object_array_get_idx(arr, i), "metadata");
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "," : "",
                              json_object_get_string(json_object_object_get(meta, "name")));
    }
    return buf;
}

static void test_app_cache_dump(void **state)
{
    struct app_fixture *fx = *state;
    char buf[256];
    json_object *j = NULL;
    struct kgc_server_response r;

    assert_int_equal(get(&fx->p, ALL, "/debug/cache", false, &j, &r), 200);
    assert_string_equal(names(j, "gateways", buf, sizeof(buf)), "gw,other");
    assert_string_equal(names(j, "gatewayclasses", buf, sizeof(buf)), "kgc");
    assert_string_equal(names(j, "secrets", buf, sizeof(buf)), "tls");
    assert_string_equal(names(j, "httproutes", buf, sizeof(buf)), "");
    assert_null(strstr(r.body, "BEGIN CERTIFICATE"));
    assert_null(strstr(r.body, "LS0tLS1CRUdJTi"));
    assert_non_null(strstr(r.body, "<redacted>"));
    kgc_server_response_free(&r);
    json_object_put(j);

    assert_int_equal(get(&fx->p, ALL, "/debug/cache/gateways", false, &j, NULL), 200);
    assert_string_equal(names(j, "gateways", buf, sizeof(buf)), "gw,other");
    assert_null(json_object_object_get(j, "secrets"));
    json_object_put(j);

    assert_int_equal(get(&fx->p, ALL, "/debug/cache/gateways/prod", false, &j, NULL), 200);
    assert_string_equal(names(j, "gateways", buf, sizeof(buf)), "other");
    json_object_put(j);

    assert_int_equal(get(&fx->p, ALL, "/debug/cache/gateways/demo/gw", false, &j, NULL), 200);
    assert_string_equal(names(j, "gateways", buf, sizeof(buf)), "gw");
    json_object *gw = json_object_array_get_idx(json_object_object_get(j, "gateways"), 0);
    assert_string_equal(json_object_get_string(json_object_object_get(
                            json_object_object_get(gw, "metadata"), "resourceVersion")),
                        "7");
    json_object_put(j);

    assert_int_equal(get(&fx->p, ALL, "/debug/cache/gatewayclasses/kgc", false, &j, NULL), 200);
    assert_string_equal(names(j, "gatewayclasses", buf, sizeof(buf)), "kgc");
    json_object_put(j);

    assert_int_equal(get(&fx->p, ALL, "/debug/cache/secrets/demo/tls", true, &j, &r), 200);
    assert_null(strstr(r.body, "BEGIN CERTIFICATE"));
    assert_non_null(strstr(r.body, "<redacted>"));
    assert_non_null(strstr(r.body, "\n  \"secrets\": ["));
    kgc_server_response_free(&r);
    json_object_put(j);

    /* An object that is not cached: 404, not an empty list. */
    assert_not_found(&fx->p, ALL, "/debug/cache/gateways/demo/missing");
    assert_not_found(&fx->p, ALL, "/debug/cache/gatewayclasses/missing");
    assert_not_found(&fx->p, ALL, "/debug/cache/gateways/prod/gw");
    /* An empty namespace is an empty list (it may fill later). */
    assert_int_equal(get(&fx->p, ALL, "/debug/cache/gateways/empty", false, &j, NULL), 200);
    assert_string_equal(names(j, "gateways", buf, sizeof(buf)), "");
    json_object_put(j);
}

static const char *key_at(json_object *q, const char *state, size_t i, int *requeues)
{
    json_object *arr = json_object_object_get(json_object_object_get(q, "keys"), state);
    if (!arr || i >= json_object_array_length(arr))
        return NULL;
    json_object *e = json_object_array_get_idx(arr, i);
    if (requeues)
        *requeues = json_object_get_int(json_object_object_get(e, "requeues"));
    return json_object_get_string(json_object_object_get(e, "key"));
}

static void test_app_queue(void **state)
{
    struct app_fixture *fx = *state;
    struct kgc_workqueue *q = kgc_reconcile_queue(fx->r, KGC_RECONCILE_GATEWAY);
    assert_int_equal(kgc_workqueue_add(q, "demo/gw"), 0);
    assert_int_equal(kgc_workqueue_add(q, "prod/other"), 0);
    const char *key = NULL;
    assert_int_equal(kgc_workqueue_try_get(q, &key), 0); /* demo/gw is now in progress */
    assert_string_equal(key, "demo/gw");
    assert_int_equal(kgc_workqueue_add_rate_limited(q, "demo/late"), 0); /* delayed, 1 requeue */

    json_object *j = NULL;
    assert_int_equal(get(&fx->p, ALL, "/debug/queue", false, &j, NULL), 200);
    json_object *queues = json_object_object_get(j, "queues");
    /* gatewayclass, gateway, httproute, backendtlspolicy */
    assert_int_equal(json_object_array_length(queues), KGC_RECONCILE_CONTROLLER_COUNT);
    json_object *g = NULL;
    for (size_t i = 0; i < KGC_RECONCILE_CONTROLLER_COUNT; i++) {
        json_object *e = json_object_array_get_idx(queues, i);
        if (strcmp(str(e, "name"), "gateway") == 0)
            g = e;
    }
    assert_non_null(g);
    assert_int_equal(json_object_get_int(json_object_object_get(g, "depth")), 1);
    assert_int_equal(json_object_get_int(json_object_object_get(g, "in_progress")), 1);
    assert_int_equal(json_object_get_int(json_object_object_get(g, "delayed")), 1);
    int rq = -1;
    assert_string_equal(key_at(g, "waiting", 0, &rq), "prod/other");
    assert_int_equal(rq, 0);
    assert_null(key_at(g, "waiting", 1, NULL));
    assert_string_equal(key_at(g, "in_progress", 0, NULL), "demo/gw");
    assert_string_equal(key_at(g, "delayed", 0, &rq), "demo/late");
    assert_int_equal(rq, 1);
    assert_false(json_object_get_boolean(json_object_object_get(g, "keys_truncated")));
    json_object_put(j);
    kgc_workqueue_done(q, key);

    /* The key lists are capped. */
    fx->app.max_queue_keys = 1;
    assert_int_equal(kgc_workqueue_add(q, "z/1"), 0);
    assert_int_equal(get(&fx->p, ALL, "/debug/queue", false, &j, NULL), 200);
    queues = json_object_object_get(j, "queues");
    for (size_t i = 0; i < 3; i++) {
        json_object *e = json_object_array_get_idx(queues, i);
        if (strcmp(str(e, "name"), "gateway") == 0) {
            assert_true(json_object_get_boolean(json_object_object_get(e, "keys_truncated")));
            assert_null(key_at(e, "waiting", 1, NULL));
        }
    }
    json_object_put(j);
}

static void test_app_listeners_ready_metrics(void **state)
{
    struct app_fixture *fx = *state;
    json_object *j = NULL;
    assert_int_equal(get(&fx->p, ALL, "/debug/listeners", false, &j, NULL), 200);
    json_object *view = json_object_object_get(j, "view");
    assert_string_equal(str(view, "source"), "live");
    json_object *inst = json_object_object_get(j, "instances");
    assert_int_equal(json_object_array_length(inst), 1);
    json_object *i0 = json_object_array_get_idx(inst, 0);
    assert_string_equal(str(i0, "url"), "http://kong:8001");
    assert_string_equal(str(i0, "source"), "live");
    assert_non_null(json_object_object_get(i0, "proxy_listeners"));
    json_object_put(j);

    /* No informers: nothing to wait for. */
    assert_int_equal(get(&fx->p, ALL, "/readyz", false, &j, NULL), 200);
    json_object_put(j);

    struct kgc_server_response r;
    assert_int_equal(get(&fx->p, ALL, "/metrics", false, NULL, &r), 200);
    assert_non_null(strstr(r.body, "\nkgc_leader 1\n"));
    assert_non_null(strstr(r.body, "kgc_listener_view_source{source=\"live\"} 1\n"));
    kgc_server_response_free(&r);
}

static bool not_pushed(void *ctx)
{
    (void)ctx;
    return false;
}

static bool follower(void *ctx)
{
    (void)ctx;
    return false;
}

static int config_dump(void *ctx, bool pretty, char **out, size_t *len)
{
    (void)pretty;
    *out = strdup((const char *)ctx);
    *len = strlen(*out);
    return 0;
}

/* The hooks for the config syncer and leader election: readiness waits for a push only while
 * leading; /debug/config asks the syncer. */
static void test_app_hooks(void **state)
{
    struct app_fixture *fx = *state;
    json_object *j = NULL;
    fx->app.config_pushed = not_pushed;
    kgc_server_app_provider(&fx->app, &fx->p);
    assert_int_equal(get(&fx->p, ALL, "/readyz", false, &j, NULL), 503);
    assert_string_equal(str(j, "reason"), "no configuration pushed to Kong yet");
    json_object_put(j);
    fx->app.metrics.is_leader = follower;
    assert_int_equal(get(&fx->p, ALL, "/readyz", false, &j, NULL), 200);
    json_object_put(j);

    fx->app.config_dump = config_dump;
    fx->app.config_ctx = "{\"pushed\":true}";
    kgc_server_app_provider(&fx->app, &fx->p);
    assert_int_equal(get(&fx->p, ALL, "/debug/config", false, &j, NULL), 200);
    assert_true(json_object_get_boolean(json_object_object_get(j, "pushed")));
    json_object_put(j);
    struct kgc_server_response r;
    assert_int_equal(get(&fx->p, ALL, "/metrics", false, NULL, &r), 200);
    assert_non_null(strstr(r.body, "\nkgc_leader 0\n"));
    kgc_server_response_free(&r);
}

int main(void)
{
    kgc_log_setup(KGC_LOG_ERROR, KGC_LOG_TEXT, 2);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_path_shapes),
        cmocka_unit_test(test_fixed_paths_and_groups),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_pretty),
        cmocka_unit_test(test_provider_errors_and_cap),
        cmocka_unit_test(test_parse_listen),
        cmocka_unit_test(test_daemon_over_http),
        cmocka_unit_test(test_probe_routes),
        cmocka_unit_test(test_daemon_limits),
        cmocka_unit_test_setup_teardown(test_app_cache_dump, app_setup, app_teardown),
        cmocka_unit_test_setup_teardown(test_app_queue, app_setup, app_teardown),
        cmocka_unit_test_setup_teardown(test_app_listeners_ready_metrics, app_setup, app_teardown),
        cmocka_unit_test_setup_teardown(test_app_hooks, app_setup, app_teardown),
    };
    int rc = cmocka_run_group_tests_name("server", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

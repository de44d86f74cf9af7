/* libFuzzer target: the test Kong's proxy request pipeline (test/fakes/kong/dataplane.c
 * kf_dp_handle, the per-request entry proxy.c calls after libmicrohttpd has read the request):
 * the raw request target (exec()'s URI normalisation, the router's query arguments), headers,
 * cookies and the body as the router, the plugins (request-transformer's JSON, form-urlencoded
 * and multipart bodies, querystring, header and template handling; response-transformer,
 * redirect, request-termination) and the balancer (consistent-hashing on path, header, cookie,
 * query argument, uri capture) see them. No network.
 *
 * At start, one fixed declarative configuration is validated as the Admin API does (kf_validate)
 * and built into a snapshot for each router flavour (kf_dp_new). Input:
 *   byte 0:   bits 0-1 router flavour (0 traditional_compatible, 1 expressions, 2 traditional,
 *             3 traditional_compatible), bit 2 https, bit 3 allow_debug_header, bit 4 HTTP/1.0,
 *             bit 5 the SNI is the Host header's value, bit 6 the body went over the test Kong's
 *             cap (413)
 *   then:     "METHOD TARGET" up to the first '\n' (no space: GET and the whole line)
 *             header lines "Name: value" up to an empty line (a trailing '\r' is dropped; a line
 *             without ':' is a name with an empty value), at most 64
 *             the rest is the body (may contain NULs)
 * Whatever the input: no crash, no leak, no undefined behaviour; the answer has a status in
 * 100..599, named headers, and a JSON body wherever its Content-Type says JSON on a 200.
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_kong_proxy
 *   build-fuzz/fuzz/fuzz_kong_proxy test/fuzz/corpus/fuzz_kong_proxy */
#include "../fakes/kong/kong_fake.h"
#include "../fakes/kong/proxy_internal.h"

#include <kgc/err.h>
#include <kgc/log.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void check(bool ok)
{
    if (!ok)
        abort();
}

/* The configuration: routes with regex paths and named captures, hosts (plain and wildcard),
 * headers (plain and regex values), methods, an https-only route, every plugin the test Kong
 * runs, and hashed upstreams. SERVICES(EXTRA) holds the routes every flavour has; the expressions
 * flavour adds ATC expression routes. */
#define SERVICES(EXTRA)                                                                            \
    "\"services\":["                                                                               \
    "{\"name\":\"s-cap\",\"host\":\"up-cap\",\"path\":\"/base\",\"routes\":["                      \
    "{\"name\":\"rt\",\"paths\":[\"~/rt/(?<id>\\\\d+)/(?<rest>.*)$\"],\"strip_path\":false},"      \
    "{\"name\":\"rt-get\",\"paths\":[\"/get\"],\"methods\":[\"POST\",\"PUT\",\"GET\"]},"           \
    "{\"name\":\"mp\",\"hosts\":[\"mp.test\"]}" EXTRA "]},"                                        \
    "{\"name\":\"s-path\",\"host\":\"up-path\",\"routes\":["                                       \
    "{\"name\":\"p\",\"paths\":[\"/p\"],\"path_handling\":\"v1\"},"                                \
    "{\"name\":\"wild\",\"hosts\":[\"*.wild.test\",\"exact.test:8000\"],\"paths\":[\"/w\"],"       \
    "\"strip_path\":false,\"preserve_host\":true},"                                                \
    "{\"name\":\"sec\",\"paths\":[\"/secure\"],\"protocols\":[\"https\"],"                         \
    "\"https_redirect_status_code\":308}]},"                                                       \
    "{\"name\":\"s-hdr\",\"host\":\"up-hdr\",\"routes\":["                                         \
    "{\"name\":\"hdr\",\"headers\":{\"x-version\":[\"v1\",\"~*^v\\\\d+$\"]},"                      \
    "\"regex_priority\":5}]},"                                                                     \
    "{\"name\":\"s-cookie\",\"host\":\"up-cookie\",\"routes\":["                                   \
    "{\"name\":\"ck\",\"paths\":[\"/ck\"],\"methods\":[\"POST\",\"DELETE\"]}]},"                   \
    "{\"name\":\"s-plain\",\"url\":\"https://backend.local:8443/pre\",\"routes\":["                \
    "{\"name\":\"resp\",\"hosts\":[\"resp.test\"]},"                                               \
    "{\"name\":\"redir\",\"hosts\":[\"redir.test\"]},"                                             \
    "{\"name\":\"term\",\"hosts\":[\"term.test\"]},"                                               \
    "{\"name\":\"term204\",\"paths\":[\"/t204\"]}]}],"                                             \
    "\"routes\":[{\"name\":\"nosvc\",\"paths\":[\"/nosvc\"]}],"

#define UPSTREAMS                                                                                  \
    "\"upstreams\":["                                                                              \
    "{\"name\":\"up-cap\",\"algorithm\":\"consistent-hashing\",\"hash_on\":\"uri_capture\","       \
    "\"hash_on_uri_capture\":\"id\",\"hash_fallback\":\"ip\",\"targets\":["                        \
    "{\"target\":\"10.1.0.1:80\"},{\"target\":\"10.1.0.2\"},{\"target\":\"[::1]:81\"}]},"          \
    "{\"name\":\"up-path\",\"algorithm\":\"consistent-hashing\",\"hash_on\":\"path\",\"targets\":" \
    "[{\"target\":\"10.2.0.1:80\"},{\"target\":\"10.2.0.2:80\",\"weight\":50}]},"                  \
    "{\"name\":\"up-hdr\",\"algorithm\":\"consistent-hashing\",\"hash_on\":\"header\","            \
    "\"hash_on_header\":\"x_user\",\"hash_fallback\":\"query_arg\","                               \
    "\"hash_fallback_query_arg\":\"u\",\"targets\":[{\"target\":\"10.3.0.1:80\"},"                 \
    "{\"target\":\"10.3.0.2:80\"}]},"                                                              \
    "{\"name\":\"up-cookie\",\"algorithm\":\"consistent-hashing\",\"hash_on\":\"cookie\","         \
    "\"hash_on_cookie\":\"sess\",\"hash_on_cookie_path\":\"/ck\",\"targets\":["                    \
    "{\"target\":\"10.4.0.1:80\"},{\"target\":\"10.4.0.2:80\"}]}],"

#define PLUGINS                                                                                    \
    "\"plugins\":["                                                                                \
    "{\"name\":\"request-transformer\",\"route\":\"rt\",\"config\":{"                              \
    "\"remove\":{\"headers\":[\"x-drop\"],\"querystring\":[\"drop\"],\"body\":[\"drop\"]},"        \
    "\"rename\":{\"headers\":[\"x-old:x-new\"],\"querystring\":[\"old:new\"],"                     \
    "\"body\":[\"old:new\"]},"                                                                     \
    "\"replace\":{\"uri\":\"/x/$(uri_captures.id)/$(query_params.a or 'none')\","                  \
    "\"headers\":[\"x-rep:$(headers['x-in'] or "                                                   \
    "'-')\"],\"querystring\":[\"q:$(uri_captures.rest)\""                                          \
    "],\"body\":[\"b:$(uri_captures[1])\"]},"                                                      \
    "\"add\":{\"headers\":[\"x-add:$(type(query_params.a))\"],\"querystring\":[\"u:1\"],"          \
    "\"body\":[\"added:$(#(headers.cookie or ''))\"]},"                                            \
    "\"append\":{\"headers\":[\"x-app:1\",\"x-app:$(headers.host)\"],"                             \
    "\"querystring\":[\"a:2\"],\"body\":[\"list:x\"]}}},"                                          \
    "{\"name\":\"request-transformer\",\"route\":\"rt-get\",\"config\":{\"http_method\":\"GET\","  \
    "\"add\":{\"body\":[\"k:v\"]}}},"                                                              \
    "{\"name\":\"request-transformer\",\"route\":\"mp\",\"config\":{"                              \
    "\"remove\":{\"body\":[\"secret\"]},\"rename\":{\"body\":[\"a:b\"]},"                          \
    "\"replace\":{\"body\":[\"c:3\"]},\"add\":{\"body\":[\"d:4\"]}}},"                             \
    "{\"name\":\"response-transformer\",\"route\":\"resp\",\"config\":{"                           \
    "\"remove\":{\"headers\":[\"x-kong-upstream-latency\"],\"json\":[\"path\"]},"                  \
    "\"rename\":{\"headers\":[\"content-type:x-ct\"],\"json\":[\"method:verb\"]},"                 \
    "\"replace\":{\"json\":[\"host:h\"],\"json_types\":[\"string\"]},"                             \
    "\"add\":{\"headers\":[\"x-a:1\"],\"json\":[\"n:12\",\"t:true\"],"                             \
    "\"json_types\":[\"number\",\"boolean\"]},"                                                    \
    "\"append\":{\"headers\":[\"x-a:2\"],\"json\":[\"headers:z\"]}}},"                             \
    "{\"name\":\"response-transformer\",\"config\":{\"add\":{\"headers\":[\"x-global:g\"]}}},"     \
    "{\"name\":\"redirect\",\"route\":\"redir\",\"config\":{\"location\":"                         \
    "\"https://Example.COM:443/some_path?foo=bar#frag\",\"keep_incoming_path\":true,"              \
    "\"status_code\":307}},"                                                                       \
    "{\"name\":\"request-termination\",\"route\":\"term\",\"config\":{\"echo\":true,"              \
    "\"trigger\":\"x-stop\",\"status_code\":418,\"message\":\"stopped\"}},"                        \
    "{\"name\":\"request-termination\",\"route\":\"term204\",\"config\":{\"status_code\":204}}]"

static const char *DOC_FIELDS = "{\"_format_version\":\"3.0\"," SERVICES("") UPSTREAMS PLUGINS "}";
static const char *DOC_EXPR = "{\"_format_version\":\"3.0\"," SERVICES(
    ",{\"name\":\"ex\",\"priority\":10,\"expression\":\"http.path ^= \\\"/expr\\\" && "
    "(http.queries.a == \\\"1\\\" || http.headers.x_e ~ r#\\\"^e\\\\d$\\\"#) && "
    "lower(http.host) =^ \\\".test\\\"\"},"
    "{\"name\":\"ex-cap\",\"priority\":5,\"expression\":\"http.path ~ "
    "r#\\\"^/excap/(?P<id>[^/]+)/(?P<rest>.*)$\\\"# && net.protocol != \\\"grpc\\\"\"}")
    UPSTREAMS PLUGINS "}";

static struct kf_dp *g_dp[3];
static bool g_print; /* FUZZ_KONG_PROXY_PRINT set: print each answer (to look at the seeds) */

static struct kf_dp *build(const char *doc, const char *flavor_name, enum kf_flavor flavor)
{
    json_object *d = json_tokener_parse(doc);
    check(d != NULL);
    struct kf_validate_opts o = {.router_flavor = flavor_name};
    json_object *ents = NULL, *err = NULL;
    int rc = kf_validate(d, &o, &ents, &err);
    if (rc != 0) {
        fprintf(stderr, "fuzz_kong_proxy: %s configuration rejected: %s\n", flavor_name,
                err ? json_object_to_json_string(err) : "?");
        abort();
    }
    char e[512] = "";
    struct kf_dp *dp = kf_dp_new(ents, flavor, e, sizeof(e));
    if (!dp) {
        fprintf(stderr, "fuzz_kong_proxy: kf_dp_new(%s): %s\n", flavor_name, e);
        abort();
    }
    json_object_put(ents);
    json_object_put(err);
    json_object_put(d);
    return dp;
}

static void release(void)
{
    for (size_t i = 0; i < 3; i++) {
        kf_dp_unref(g_dp[i]);
        g_dp[i] = NULL;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    kgc_log_setup(KGC_LOG_OFF, KGC_LOG_TEXT, STDERR_FILENO);
    g_print = getenv("FUZZ_KONG_PROXY_PRINT") != NULL;
    g_dp[0] = build(DOC_FIELDS, "traditional_compatible", KF_FLAVOR_TRADITIONAL_COMPATIBLE);
    g_dp[1] = build(DOC_EXPR, "expressions", KF_FLAVOR_EXPRESSIONS);
    g_dp[2] = build(DOC_FIELDS, "traditional", KF_FLAVOR_TRADITIONAL);
    atexit(release);
    return 0;
}

/* the next line of [*p, end) without its '\n' (and a '\r' before it); false at the end */
static bool next_line(char **p, char *end, char **line)
{
    if (*p >= end) {
        return false;
    }
    char *nl = memchr(*p, '\n', (size_t)(end - *p));
    char *e = nl ? nl : end;
    *line = *p;
    *p = nl ? nl + 1 : end;
    if (e > *line && e[-1] == '\r') {
        e--;
    }
    *e = '\0';
    return true;
}

static void check_resp(const struct kf_presp *r)
{
    check(r->status >= 100 && r->status <= 599);
    check(r->body_len == 0 || r->body != NULL);
    const char *ct = NULL;
    for (size_t i = 0; i < r->headers.n; i++) {
        check(r->headers.v[i].name != NULL && r->headers.v[i].name[0] != '\0');
        check(r->headers.v[i].value != NULL);
        if (!ct && strcasecmp(r->headers.v[i].name, "Content-Type") == 0) {
            ct = r->headers.v[i].value;
        }
    }
    if (r->status == 200 && ct && strncasecmp(ct, "application/json", 16) == 0 && r->body_len) {
        json_tokener *tok = json_tokener_new();
        check(tok != NULL);
        json_object *j = json_tokener_parse_ex(tok, r->body, (int)r->body_len);
        check(j != NULL);
        json_object_put(j);
        json_tokener_free(tok);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    unsigned flags = data[0];
    unsigned fl = flags & 3;
    struct kf_dp *dp = g_dp[fl == 3 ? 0 : fl];
    bool https = flags & 4;

    /* a NUL-terminated copy whose lines are cut in place */
    char *buf = malloc(size);
    check(buf != NULL);
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    char *p = buf, *end = buf + size - 1, *line = NULL;

    const char *method = "GET";
    char *target = (char *)"/";
    if (next_line(&p, end, &line)) {
        char *sp = strchr(line, ' ');
        if (sp) {
            *sp = '\0';
            method = line;
            target = sp + 1;
        } else {
            target = line;
        }
    }
    struct kf_hdrs hdrs = {0};
    while (hdrs.n < 64 && next_line(&p, end, &line) && *line) {
        char *colon = strchr(line, ':');
        const char *value = "";
        if (colon) {
            *colon = '\0';
            value = colon + 1;
            while (*value == ' ' || *value == '\t') {
                value++;
            }
        }
        if (*line) {
            check(kf_hdrs_add(&hdrs, line, value) == 0);
        }
    }
    const char *body = p < end ? p : NULL;
    size_t body_len = p < end ? (size_t)(end - p) : 0;

    /* proxy.c: the path is the target up to the first '?', the query what follows (NULL when
     * empty) */
    char *path = strdup(target);
    check(path != NULL);
    char *q = strchr(path, '?');
    const char *query = NULL;
    if (q) {
        *q = '\0';
        query = q[1] ? q + 1 : NULL;
    }
    const char *host = kf_hdrs_get(&hdrs, "Host");
    struct kf_client_req creq = {
        .method = method,
        .scheme = https ? "https" : "http",
        .host = host,
        .path = path,
        .query = query,
        .headers = &hdrs,
        .body = body,
        .body_len = body_len,
        .client_ip = "192.0.2.7",
        .port = https ? 8443 : 8000,
        .sni = https && (flags & 32) ? host : NULL,
    };
    struct kf_req_extra x = {
        .request_uri = target,
        .http_version = flags & 16 ? "1.0" : "1.1",
        .remote_port = 40000,
        .local_ip = "192.0.2.1",
        .debug_header_allowed = flags & 8,
        .body_too_big = flags & 64,
    };
    struct kf_presp resp = {0};
    int rc = kf_dp_handle(dp, &creq, &x, &resp);
    check(rc == 0);
    check_resp(&resp);
    if (g_print) {
        printf("%d %.*s\n", resp.status, (int)(resp.body_len > 400 ? 400 : resp.body_len),
               resp.body ? resp.body : "");
    }
    kf_presp_free(&resp);
    kf_hdrs_free(&hdrs);
    free(path);
    free(buf);
    return 0;
}

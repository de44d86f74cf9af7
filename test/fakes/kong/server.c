/* server — the test Kong Admin API over libmicrohttpd: GET /, /status, /status/ready, POST and
 * GET /config, POST /_test/fail-config; fault injection, latency and an audit log. */
#include "kong_fake.h"

#include <kgc/clock.h>
#include <kgc/err.h>
#include <kgc/log.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define LOG_COMPONENT "kong-fake"
#define ZERO_HASH     "00000000000000000000000000000000"

/* The fixture's listeners (test/fixtures/kong-root.json "configuration"). */
static const char DEFAULT_LISTENERS[] =
    "{\"proxy_listen\":[\"0.0.0.0:8000\",\"0.0.0.0:8443 http2 ssl\"],"
    "\"proxy_listeners\":["
    "{\"listener\":\"0.0.0.0:8000\",\"ip\":\"0.0.0.0\",\"port\":8000,\"ssl\":false,"
    "\"http2\":false,\"proxy_protocol\":false,\"deferred\":false,\"bind\":false,"
    "\"reuseport\":false,\"backlog=%d+\":false,\"ipv6only=on\":false,\"ipv6only=off\":false,"
    "\"so_keepalive=on\":false,\"so_keepalive=off\":false,\"so_keepalive=%w*:%w*:%d*\":false},"
    "{\"listener\":\"0.0.0.0:8443 ssl\",\"ip\":\"0.0.0.0\",\"port\":8443,\"ssl\":true,"
    "\"http2\":true,\"proxy_protocol\":false,\"deferred\":false,\"bind\":false,"
    "\"reuseport\":false,\"backlog=%d+\":false,\"ipv6only=on\":false,\"ipv6only=off\":false,"
    "\"so_keepalive=on\":false,\"so_keepalive=off\":false,\"so_keepalive=%w*:%w*:%d*\":false}],"
    "\"stream_listen\":[\"0.0.0.0:9443 ssl\"],"
    "\"stream_listeners\":["
    "{\"listener\":\"0.0.0.0:9443 ssl\",\"ip\":\"0.0.0.0\",\"port\":9443,\"ssl\":true,"
    "\"udp\":false,\"proxy_protocol\":false,\"bind\":false,\"reuseport\":false,"
    "\"backlog=%d+\":false,\"ipv6only=on\":false,\"ipv6only=off\":false,"
    "\"so_keepalive=on\":false,\"so_keepalive=off\":false,\"so_keepalive=%w*:%w*:%d*\":false}],"
    "\"status_listen\":[\"0.0.0.0:8100\"]}";

const char *kf_default_listeners_json(void)
{
    return DEFAULT_LISTENERS;
}

struct kf_server {
    struct kf_server_options o; /* copied at start; strings borrowed from the caller */
    struct MHD_Daemon *daemon;
    unsigned port;
    uint64_t started_ns; /* monotonic start time, for --not-ready-ms */
    char node_id[37];
    json_object *listeners; /* the configuration listeners document (immutable) */
    int audit_fd;           /* -1 when no audit log */

    pthread_mutex_t mu;          /* guards everything below */
    char hash[33];               /* configuration_hash; 32 zeros until a config is accepted */
    json_object *config;         /* last accepted document, or NULL (shared, read-only) */
    unsigned fail_left;          /* injected failures still to come */
    unsigned fail_code;          /* their status */
    unsigned long long requests; /* total requests */
    unsigned long long conns;    /* connections accepted */
    unsigned long long active;   /* connections open */

    /* POST /config's validation memo (kf_vmemo): one validation uses it at a time; another
     * arriving meanwhile validates without it (same answer, just slower) rather than wait */
    pthread_mutex_t memo_mu;
    struct kf_vmemo *memo; /* NULL when it could not be allocated */
};

/* Per-request state, owned by libmicrohttpd's con_cls slot. */
struct request {
    char *body; /* the raw body; for multipart/form-data, the value of the config field */
    size_t len, cap;
    bool too_large; /* the body went over max_body: discard it and answer 413 */
    bool answered;  /* a response was queued early */
    bool chunked;   /* a body came without a Content-Length */
    /* POST /config as multipart/form-data (curl -F config=@kong.yml): the body is fed to
     * libmicrohttpd's post processor as it arrives and only the fields are kept. */
    bool multipart;
    struct MHD_PostProcessor *pp;
    size_t received;    /* raw body bytes, against max_body */
    bool form_bad;      /* malformed multipart body (or no boundary) */
    bool form_oom;      /* out of memory collecting a field */
    bool have_config;   /* the config field was present */
    char check_hash[8]; /* the check_hash field, if any (truncated) */
    char flatten[8];    /* the flatten_errors field, if any (truncated) */
};

void kf_server_options_init(struct kf_server_options *o)
{
    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->version = "3.9.1";
    o->router_flavor = "traditional_compatible";
    o->fail_config_code = 503;
    /* nginx_admin_client_max_body_size = 10m (kong/templates/kong_defaults.lua:114, 3.9.1) */
    o->max_body = (size_t)10 << 20;
}

unsigned kf_server_port(const struct kf_server *s)
{
    return s->port;
}

/* ---- responses
 * ------------------------------------------------------------------------------------ */

static void audit(struct kf_server *s, const char *method, const char *path, unsigned status)
{
    if (s->audit_fd < 0) {
        return;
    }
    char now[40];
    kgc_clock_rfc3339(now, sizeof(now), 3);
    json_object *line = json_object_new_object();
    if (!line) {
        return;
    }
    json_object_object_add(line, "time", json_object_new_string(now));
    json_object_object_add(line, "method", json_object_new_string(method));
    json_object_object_add(line, "path", json_object_new_string(path));
    json_object_object_add(line, "status", json_object_new_int((int)status));
    const char *text = json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE);
    char *buf = NULL;
    int n = asprintf(&buf, "%s\n", text);
    if (n > 0) {
        pthread_mutex_lock(&s->mu);
        ssize_t w = write(s->audit_fd, buf, (size_t)n); /* O_APPEND: one line, one write */
        pthread_mutex_unlock(&s->mu);
        if (w < 0) {
            kgc_warn(LOG_COMPONENT, "audit write failed", KGC_F_STR("error", strerror(errno)));
        }
        free(buf);
    }
    json_object_put(line);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Queues status with body (taken; NULL = empty) and an optional Retry-After. */
/* respond() with the body's text already made (copied). */
static enum MHD_Result respond_text(struct kf_server *s, struct MHD_Connection *conn,
                                    const char *method, const char *path, unsigned status,
                                    const char *text, const char *retry_after)
{
    if (s->o.latency_ms) {
        sleep_ms(s->o.latency_ms);
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r) {
        return MHD_NO;
    }
    if (status != 304) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_SERVER, "kong/fake");
    if (retry_after) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry_after);
    }
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    audit(s, method, path, status);
    kgc_debug(LOG_COMPONENT, "request", KGC_F_STR("method", method), KGC_F_STR("path", path),
              KGC_F_INT("status", status));
    return rc;
}

static enum MHD_Result respond(struct kf_server *s, struct MHD_Connection *conn, const char *method,
                               const char *path, unsigned status, json_object *body,
                               const char *retry_after)
{
    const char *text = body ? json_object_to_json_string_ext(
                                  body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                            : "";
    enum MHD_Result rc = respond_text(s, conn, method, path, status, text, retry_after);
    json_object_put(body);
    return rc;
}

/* nginx's own error page for status, as Kong's OpenResty sends it: the admin server has no
 * error_page (kong/templates/nginx_kong.lua:411-456, 3.9.1) and Kong's build drops the
 * "<center>openresty</center>" tail (build/openresty/patches/nginx-1.25.3_02-remove-server-tokens-
 * from-special-responses-output.patch); the page head is nginx's ngx_http_error_<status>_page. */
static enum MHD_Result respond_nginx_page(struct kf_server *s, struct MHD_Connection *conn,
                                          const char *method, const char *path, unsigned status)
{
    const char *title =
        status == 413 ? "413 Request Entity Too Large" : "415 Unsupported Media Type";
    char page[512];
    int n = snprintf(page, sizeof(page),
                     "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n"
                     "<center><h1>%s</h1></center>\r\n</body>\r\n</html>\r\n",
                     title, title);
    if (s->o.latency_ms) {
        sleep_ms(s->o.latency_ms);
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer((size_t)n, page, MHD_RESPMEM_MUST_COPY);
    if (!r) {
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html");
    MHD_add_response_header(r, MHD_HTTP_HEADER_SERVER, "kong/fake");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    audit(s, method, path, status);
    return rc;
}

static json_object *message(const char *msg)
{
    json_object *o = json_object_new_object();
    if (o) {
        json_object_object_add(o, "message", json_object_new_string(msg));
    }
    return o;
}

/* ---- GET / and /status
 * ------------------------------------------------------------------------------ */

static json_object *copy_or_empty_object(json_object *list)
{
    /* an empty listener list is encoded as {} (lua-cjson's empty table) */
    if (!list ||
        (json_object_is_type(list, json_type_array) && json_object_array_length(list) == 0) ||
        (json_object_is_type(list, json_type_object) && json_object_object_length(list) == 0)) {
        return json_object_new_object();
    }
    json_object *c = NULL;
    return json_object_deep_copy(list, &c, NULL) == 0 ? c : NULL;
}

/* each bundled plugin's handler PRIORITY (kong/plugins/<name>/handler.lua, 3.9.1; pre- and
 * post-function: pre-function/handler.lua and post-function/handler.lua; the ai-* plugins: the
 * PRIORITY their handler.lua passes to kong/llm/plugin/base.lua define). VERSION is Kong's own. */
static int plugin_priority(const char *name)
{
    static const struct {
        const char *name;
        int priority;
    } known[] = {
        {"acl", 950},
        {"acme", 1705},
        {"ai-prompt-decorator", 772},
        {"ai-prompt-guard", 771},
        {"ai-prompt-template", 773},
        {"ai-proxy", 770},
        {"ai-request-transformer", 777},
        {"ai-response-transformer", 768},
        {"aws-lambda", 750},
        {"azure-functions", 749},
        {"basic-auth", 1100},
        {"bot-detection", 2500},
        {"correlation-id", 100001},
        {"cors", 2000},
        {"datadog", 10},
        {"file-log", 9},
        {"grpc-gateway", 998},
        {"grpc-web", 3},
        {"hmac-auth", 1030},
        {"http-log", 12},
        {"ip-restriction", 990},
        {"jwt", 1450},
        {"key-auth", 1250},
        {"ldap-auth", 1200},
        {"loggly", 6},
        {"oauth2", 1400},
        {"opentelemetry", 14},
        {"post-function", -1000},
        {"pre-function", 1000000},
        {"prometheus", 13},
        {"proxy-cache", 100},
        {"rate-limiting", 910},
        {"redirect", 779},
        {"request-size-limiting", 951},
        {"request-termination", 2},
        {"request-transformer", 801},
        {"response-ratelimiting", 900},
        {"response-transformer", 800},
        {"session", 1900},
        {"standard-webhooks", 760},
        {"statsd", 11},
        {"syslog", 4},
        {"tcp-log", 7},
        {"udp-log", 8},
        {"zipkin", 100000},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(known[i].name, name) == 0) {
            return known[i].priority;
        }
    }
    return 1000;
}

static void collect_plugins(json_object *node, json_object *names, int depth)
{
    if (!node || depth > 8) {
        return;
    }
    if (json_object_is_type(node, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(node); i++) {
            collect_plugins(json_object_array_get_idx(node, i), names, depth + 1);
        }
        return;
    }
    if (!json_object_is_type(node, json_type_object)) {
        return;
    }
    json_object *plugins = NULL;
    if (json_object_object_get_ex(node, "plugins", &plugins) &&
        json_object_is_type(plugins, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(plugins); i++) {
            json_object *p = json_object_array_get_idx(plugins, i);
            json_object *n = NULL;
            if (json_object_object_get_ex(p, "name", &n) &&
                json_object_is_type(n, json_type_string)) {
                json_object_object_add(names, json_object_get_string(n), NULL);
            }
        }
    }
    json_object_object_foreach(node, k, v)
    {
        (void)k;
        if (json_object_is_type(v, json_type_array)) {
            collect_plugins(v, names, depth + 1);
        }
    }
}

static json_object *root_body(struct kf_server *s)
{
    json_object *root = json_object_new_object();
    if (!root) {
        return NULL;
    }
    char host[256] = "kong";
    gethostname(host, sizeof(host) - 1);
    json_object_object_add(root, "version", json_object_new_string(s->o.version));
    json_object_object_add(root, "edition", json_object_new_string("community"));
    json_object_object_add(root, "tagline", json_object_new_string("Welcome to kong"));
    json_object_object_add(root, "hostname", json_object_new_string(host));
    json_object_object_add(root, "node_id", json_object_new_string(s->node_id));
    json_object_object_add(root, "lua_version", json_object_new_string("LuaJIT 2.1.0-20231117"));
    json_object *timers = json_object_new_object();
    json_object_object_add(timers, "running", json_object_new_int(0));
    json_object_object_add(timers, "pending", json_object_new_int(7));
    json_object_object_add(root, "timers", timers);
    json_object *pids = json_object_new_object();
    json_object *workers = json_object_new_array();
    json_object_array_add(workers, json_object_new_int((int)getpid()));
    json_object_object_add(pids, "master", json_object_new_int((int)getpid()));
    json_object_object_add(pids, "workers", workers);
    json_object_object_add(root, "pids", pids);

    json_object *plugins = json_object_new_object();
    json_object *available = json_object_new_object();
    const char *const *names = s->o.plugins ? s->o.plugins : kf_default_plugins();
    for (size_t i = 0; names[i]; i++) {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "version", json_object_new_string(s->o.version));
        json_object_object_add(p, "priority", json_object_new_int(plugin_priority(names[i])));
        json_object_object_add(available, names[i], p);
    }
    json_object_object_add(plugins, "available_on_server", available);
    json_object *used = json_object_new_object();
    pthread_mutex_lock(&s->mu);
    collect_plugins(s->config, used, 0);
    pthread_mutex_unlock(&s->mu);
    json_object *enabled = json_object_new_array();
    json_object_object_foreach(used, name, unused)
    {
        (void)unused;
        json_object_array_add(enabled, json_object_new_string(name));
    }
    json_object_put(used);
    json_object_object_add(plugins, "enabled_in_cluster", enabled);
    json_object_object_add(root, "plugins", plugins);

    json_object *conf = json_object_new_object();
    json_object_object_add(conf, "database", json_object_new_string("off"));
    json_object_object_add(conf, "role", json_object_new_string("traditional"));
    json_object_object_add(conf, "router_flavor", json_object_new_string(s->o.router_flavor));
    static const char *const keys[] = {"proxy_listen", "stream_listen", "status_listen", NULL};
    for (size_t i = 0; keys[i]; i++) {
        json_object *v = NULL;
        if (json_object_object_get_ex(s->listeners, keys[i], &v)) {
            json_object_object_add(conf, keys[i], copy_or_empty_object(v));
        }
    }
    json_object *pl = NULL, *sl = NULL;
    json_object_object_get_ex(s->listeners, "proxy_listeners", &pl);
    json_object_object_get_ex(s->listeners, "stream_listeners", &sl);
    json_object_object_add(conf, "proxy_listeners", copy_or_empty_object(pl));
    json_object_object_add(conf, "stream_listeners", copy_or_empty_object(sl));
    char admin[300];
    snprintf(admin, sizeof(admin), "%s:%u", s->o.host, s->port);
    json_object *al = json_object_new_array();
    json_object_array_add(al, json_object_new_string(admin));
    json_object_object_add(conf, "admin_listen", al);
    json_object_object_add(root, "configuration", conf);
    return root;
}

static json_object *status_body(struct kf_server *s)
{
    json_object *st = json_object_new_object();
    if (!st) {
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    json_object_object_add(st, "configuration_hash", json_object_new_string(s->hash));
    unsigned long long req = s->requests, conns = s->conns, active = s->active;
    pthread_mutex_unlock(&s->mu);
    json_object *mem = json_object_new_object();
    json_object *dicts = json_object_new_object();
    json_object *kong = json_object_new_object();
    json_object_object_add(kong, "allocated_slabs", json_object_new_string("0.04 MiB"));
    json_object_object_add(kong, "capacity", json_object_new_string("5.00 MiB"));
    json_object_object_add(dicts, "kong", kong);
    json_object_object_add(mem, "lua_shared_dicts", dicts);
    json_object *vms = json_object_new_array();
    json_object *vm = json_object_new_object();
    json_object_object_add(vm, "http_allocated_gc", json_object_new_string("44.00 MiB"));
    json_object_object_add(vm, "pid", json_object_new_int((int)getpid()));
    json_object_array_add(vms, vm);
    json_object_object_add(mem, "workers_lua_vms", vms);
    json_object_object_add(st, "memory", mem);
    json_object *srv = json_object_new_object();
    json_object_object_add(srv, "connections_accepted", json_object_new_int64((int64_t)conns));
    json_object_object_add(srv, "connections_active", json_object_new_int64((int64_t)active));
    json_object_object_add(srv, "connections_handled", json_object_new_int64((int64_t)conns));
    json_object_object_add(srv, "connections_reading", json_object_new_int(0));
    json_object_object_add(srv, "connections_waiting", json_object_new_int(0));
    json_object_object_add(srv, "connections_writing", json_object_new_int64((int64_t)active));
    json_object_object_add(srv, "total_requests", json_object_new_int64((int64_t)req));
    json_object_object_add(st, "server", srv);
    return st;
}

/* ---- POST /config
 * ------------------------------------------------------------------------------------ */

static bool truthy(const char *v)
{
    return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "on") == 0 ||
                 strcasecmp(v, "yes") == 0);
}

static bool json_truthy(json_object *v)
{
    if (json_object_is_type(v, json_type_boolean)) {
        return json_object_get_boolean(v);
    }
    if (json_object_is_type(v, json_type_int)) {
        return json_object_get_int64(v) == 1;
    }
    return json_object_is_type(v, json_type_string) && truthy(json_object_get_string(v));
}

static int hexval(char ch)
{
    return isdigit((unsigned char)ch) ? ch - '0' : (tolower((unsigned char)ch) - 'a' + 10);
}

/* The value of key in an application/x-www-form-urlencoded body, decoded; caller frees. */
static char *form_value(const char *body, size_t len, const char *key)
{
    size_t klen = strlen(key);
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&') {
            end++;
        }
        if (end - i > klen && strncmp(body + i, key, klen) == 0 && body[i + klen] == '=') {
            char *out = malloc(end - i);
            if (!out) {
                return NULL;
            }
            size_t o = 0;
            for (size_t k = i + klen + 1; k < end; k++) {
                if (body[k] == '+') {
                    out[o++] = ' ';
                } else if (body[k] == '%' && k + 2 < end && isxdigit((unsigned char)body[k + 1]) &&
                           isxdigit((unsigned char)body[k + 2])) {
                    out[o++] = (char)(hexval(body[k + 1]) * 16 + hexval(body[k + 2]));
                    k += 2;
                } else {
                    out[o++] = body[k];
                }
            }
            out[o] = '\0';
            return out;
        }
        i = end + 1;
    }
    return NULL;
}

/* Lapis json_params / parse_params: "application/json" anywhere in the lower-cased type */
static bool json_content_type(const char *ct)
{
    char low[256];
    size_t n = 0;
    for (; ct[n] && n + 1 < sizeof(low); n++) {
        low[n] = (char)tolower((unsigned char)ct[n]);
    }
    low[n] = '\0';
    return strstr(low, "application/json") != NULL;
}

/* A configuration found valid, made current before its 201 body is built (kf_validate_opts
 * accepted). */
struct accept_ctx {
    struct kf_server *s;
    json_object *doc; /* the document as sent: GET /config's and GET /'s */
    char hash[33];
    bool done;
    bool memo_held; /* this request holds memo_mu */
};

static void accept_config(void *arg, bool empty)
{
    struct accept_ctx *a = arg;
    /* kong/db/declarative/import.lua:270-273, 433-435 (3.9.1): a configuration with no entities
     * is stored with the empty hash, 32 zeros (so it is never a 304 either) */
    if (empty) {
        memcpy(a->hash, ZERO_HASH, sizeof(a->hash));
    }
    pthread_mutex_lock(&a->s->mu);
    json_object *old = a->s->config;
    a->s->config = json_object_get(a->doc);
    memcpy(a->s->hash, a->hash, sizeof(a->s->hash));
    pthread_mutex_unlock(&a->s->mu);
    a->done = true;
    /* the old document may share values with the memo (kf_vmemo_parse): released holding it */
    if (!a->memo_held && a->s->memo) {
        pthread_mutex_lock(&a->s->memo_mu);
    }
    json_object_put(old);
    if (!a->memo_held && a->s->memo) {
        pthread_mutex_unlock(&a->s->memo_mu);
    }
}

static enum MHD_Result post_config(struct kf_server *s, struct MHD_Connection *conn,
                                   const char *path, struct request *req)
{
    const char *m = "POST";
    bool check_hash = false;
    const char *q = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "check_hash");
    check_hash = q && strcmp(q, "1") == 0;
    bool flatten =
        truthy(MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "flatten_errors"));
    const char *ct =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    ct = ct ? ct : "";

    json_object *doc = NULL; /* the document form */
    const char *text = NULL; /* the string form */
    size_t text_len = 0;
    char *owned_text = NULL;
    json_object *parsed = NULL;
    /* kong/api/api_helpers.lua:241-271 (3.9.1): a body needs one of these content types (YAML
     * only on /config), else 415 with nginx's page (kong.response.exit(415) has no body) */
    const char *cth =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!cth) {
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        bool no_body = cl ? strcmp(cl, "0") == 0 : req->len == 0 && !req->chunked;
        if (!no_body) {
            return respond_nginx_page(s, conn, m, path, 415);
        }
    } else if (strncmp(cth, "application/json", 16) != 0 &&
               strncmp(cth, "multipart/form-data", 19) != 0 &&
               strncmp(cth, "application/x-www-form-urlencoded", 33) != 0 &&
               strncmp(cth, "application/yaml", 16) != 0 && strncmp(cth, "text/yaml", 9) != 0) {
        return respond_nginx_page(s, conn, m, path, 415);
    }
    if (req->multipart) {
        if (req->form_oom) {
            return respond(s, conn, m, path, 500, message("An unexpected error occurred"), NULL);
        }
        if (req->form_bad) {
            return respond(s, conn, m, path, 400, message("malformed multipart/form-data body"),
                           NULL);
        }
        if (!req->have_config) {
            return respond(s, conn, m, path, 400, message("expected a declarative configuration"),
                           NULL);
        }
        check_hash = check_hash || strcmp(req->check_hash, "1") == 0;
        flatten = flatten || truthy(req->flatten);
        text = req->body ? req->body : "";
        text_len = req->len;
    } else if (json_content_type(ct)) {
        /* kong/api/api_helpers.lua:311-317: a JSON body Lapis could not decode (empty, broken
         * or a scalar) is 400 "Cannot parse JSON body" */
        json_tokener *tok = json_tokener_new_ex(64);
        parsed = tok && req->len > 0 ? json_tokener_parse_ex(tok, req->body, (int)req->len) : NULL;
        if (tok && parsed &&
            (json_tokener_get_error(tok) != json_tokener_success ||
             json_tokener_get_parse_end(tok) < req->len)) {
            /* trailing bytes after the value: lua-cjson rejects the whole text */
            size_t end = json_tokener_get_parse_end(tok);
            bool only_space = true;
            for (size_t i = end; i < req->len && only_space; i++) {
                only_space = strchr(" \t\r\n", req->body[i]) != NULL;
            }
            if (json_tokener_get_error(tok) != json_tokener_success || !only_space) {
                json_object_put(parsed);
                parsed = NULL;
            }
        }
        json_tokener_free(tok);
        if (!parsed || (!json_object_is_type(parsed, json_type_object) &&
                        !json_object_is_type(parsed, json_type_array))) {
            json_object_put(parsed);
            return respond(s, conn, m, path, 400, message("Cannot parse JSON body"), NULL);
        }
        json_object *v = NULL;
        if (parsed && json_object_is_type(parsed, json_type_object)) {
            if (json_object_object_get_ex(parsed, "check_hash", &v)) {
                check_hash = check_hash || (v && strcmp(json_object_get_string(v), "1") == 0);
                json_object_object_del(parsed, "check_hash");
            }
            if (json_object_object_get_ex(parsed, "flatten_errors", &v)) {
                flatten = flatten || json_truthy(v);
                json_object_object_del(parsed, "flatten_errors");
            }
            if (json_object_object_get_ex(parsed, "_format_version", NULL)) {
                doc = parsed;
            } else if (json_object_object_get_ex(parsed, "config", &v)) {
                if (!json_object_is_type(v, json_type_string)) {
                    json_object_put(parsed);
                    return respond(
                        s, conn, m, path, 400,
                        kf_declarative_error_body(
                            "failed parsing declarative configuration: expected a string", false),
                        NULL);
                }
                text = json_object_get_string(v);
                text_len = (size_t)json_object_get_string_len(v);
            }
        }
    } else if (req->len == 0) {
        return respond(s, conn, m, path, 400, message("expected a declarative configuration"),
                       NULL);
    } else if (strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
        owned_text = form_value(req->body, req->len, "config");
        char *ch = form_value(req->body, req->len, "check_hash");
        char *fe = form_value(req->body, req->len, "flatten_errors");
        check_hash = check_hash || (ch && strcmp(ch, "1") == 0);
        flatten = flatten || truthy(fe);
        free(ch);
        free(fe);
        if (owned_text) {
            text = owned_text;
            text_len = strlen(owned_text);
        }
    }
    if (!doc && !text) {
        text = req->body;
        text_len = req->len;
    }

    char hash[33];
    enum MHD_Result rc;
    if (!doc) {
        kf_md5_hex(text, text_len, hash);
        pthread_mutex_lock(&s->mu);
        bool same = check_hash && strcmp(hash, s->hash) == 0;
        pthread_mutex_unlock(&s->mu);
        if (same) {
            rc = respond(s, conn, m, path, 304, NULL, NULL);
            goto out;
        }
    }

    /* injected failures (--fail-config) */
    pthread_mutex_lock(&s->mu);
    unsigned fail = 0;
    if (s->fail_left > 0) {
        s->fail_left--;
        fail = s->fail_code;
    }
    pthread_mutex_unlock(&s->mu);
    if (fail == 429) {
        rc = respond(s, conn, m, path, 429, message("Currently loading previous configuration"),
                     "1");
        goto out;
    }
    if (fail == 503) {
        rc = respond(s, conn, m, path, 503, message("Kong currently exiting"), NULL);
        goto out;
    }
    if (fail) {
        rc = respond(s, conn, m, path, 400,
                     kf_declarative_error_body("injected failure (--fail-config)", flatten), NULL);
        goto out;
    }

    json_object *to_check = doc;
    json_object *from_text = NULL;
    /* The memo is held from the parse to the release of the document the parse built: that
     * document shares values with it (kf_vmemo_parse, kong_fake.h). A POST that arrives while
     * another holds it parses and validates without it. */
    bool memo_held = s->memo && pthread_mutex_trylock(&s->memo_mu) == 0;
    if (!doc) {
        char err[512];
        int prc = 1;
        if (memo_held && !s->o.on_config) {
            prc = kf_vmemo_parse(s->memo, text, text_len, &from_text);
        }
        if (prc != 0) {
            prc = kf_text_parse(text, text_len, &from_text, err, sizeof(err));
        }
        if (prc == KGC_ENOMEM) {
            if (memo_held) {
                pthread_mutex_unlock(&s->memo_mu);
            }
            rc = respond(s, conn, m, path, 500, message("An unexpected error occurred"), NULL);
            goto out;
        }
        if (prc != 0 || !json_object_is_type(from_text, json_type_object)) {
            char msg[600];
            snprintf(msg, sizeof(msg), "failed parsing declarative configuration: %s",
                     prc != 0 ? err : "expected an object");
            json_object_put(from_text);
            if (memo_held) {
                pthread_mutex_unlock(&s->memo_mu);
            }
            /* config.lua:61-63 (3.9.1): an unparsable text gets the plain error body, never
             * flattened_errors */
            rc = respond(s, conn, m, path, 400, kf_declarative_error_body(msg, false), NULL);
            goto out;
        }
        to_check = from_text;
    } else {
        char *canon = kf_canonical_json(doc);
        if (!canon) {
            if (memo_held) {
                pthread_mutex_unlock(&s->memo_mu);
            }
            rc = respond(s, conn, m, path, 500, message("An unexpected error occurred"), NULL);
            goto out;
        }
        kf_md5_hex(canon, strlen(canon), hash);
        free(canon);
    }

    struct kf_validate_opts vo = {
        .plugins = s->o.plugins, .router_flavor = s->o.router_flavor, .flatten_errors = flatten};
    if (memo_held) {
        vo.memo = s->memo;
        /* the 201 body is encoded and released below while the memo is still held: it may
         * share the memo's values instead of copying them (the proxy keeps its entities) */
        vo.share_memo_values = !s->o.on_config;
    }
    /* Without a proxy nothing needs the 201 body before the configuration is current: it is
     * made current (hash included) as soon as it is known valid, and the body is built after. */
    struct accept_ctx ac = {.s = s, .doc = to_check, .memo_held = memo_held};
    memcpy(ac.hash, hash, sizeof(ac.hash));
    if (!s->o.on_config) {
        vo.accepted = accept_config;
        vo.accepted_arg = &ac;
    }
    json_object *entities = NULL, *error = NULL;
    int vrc = kf_validate(to_check, &vo, &entities, &error);
    if (ac.done || vrc != 0) {
        json_object_put(from_text); /* current already, or never: this reference goes */
        from_text = NULL;
    }
    char *body_text = NULL;
    bool body_oom = false;
    if (ac.done && vrc == 0 && vo.share_memo_values) {
        body_text = strdup(json_object_to_json_string_ext(
            entities, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        body_oom = !body_text;
        json_object_put(entities);
        entities = NULL;
    }
    if (memo_held) {
        pthread_mutex_unlock(&s->memo_mu);
    }
    if (ac.done) {
        /* current already: only the answer is left (or out of memory building it) */
        kgc_info(LOG_COMPONENT, "configuration applied", KGC_F_STR("hash", ac.hash));
        if (vrc != 0 || body_oom) {
            json_object_put(error);
            rc = respond(s, conn, m, path, 500, message("An unexpected error occurred"), NULL);
            goto out;
        }
        if (body_text) {
            rc = respond_text(s, conn, m, path, 201, body_text, NULL);
            free(body_text);
            goto out;
        }
        rc = respond(s, conn, m, path, 201, entities, NULL);
        goto out;
    }
    if (vrc == KGC_EINVAL) {
        kgc_info(LOG_COMPONENT, "configuration rejected", KGC_F_STR("hash", hash));
        rc = respond(s, conn, m, path, 400, error, NULL);
        goto out;
    }
    if (vrc != 0) {
        rc = respond(s, conn, m, path, 500, message("An unexpected error occurred"), NULL);
        goto out;
    }
    /* with a proxy (on_config) the document never shares values with the memo: kf_vmemo_parse
     * is not used */
    /* kong/db/declarative/import.lua:270-273, 433-435 (3.9.1): a configuration with no entities
     * is stored with the empty hash, 32 zeros (so it is never a 304 either) */
    if (json_object_object_length(entities) == 0) {
        memcpy(hash, ZERO_HASH, sizeof(hash));
    }
    pthread_mutex_lock(&s->mu);
    json_object *old = s->config;
    s->config = json_object_get(to_check);
    memcpy(s->hash, hash, sizeof(s->hash));
    if (s->o.on_config) {
        s->o.on_config(s->o.on_config_arg, entities);
    }
    pthread_mutex_unlock(&s->mu);
    json_object_put(old);
    json_object_put(from_text);
    kgc_info(LOG_COMPONENT, "configuration applied", KGC_F_STR("hash", hash));
    rc = respond(s, conn, m, path, 201, entities, NULL);
out:
    json_object_put(parsed);
    free(owned_text);
    return rc;
}

/* ---- dispatch
 * ------------------------------------------------------------------------------------------ */

static enum MHD_Result handle(struct kf_server *s, struct MHD_Connection *conn, const char *url,
                              const char *method, struct request *req)
{
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool post = strcmp(method, "POST") == 0;
    if (req->too_large) {
        return respond_nginx_page(s, conn, method, url, 413);
    }
    if (strcmp(url, "/") == 0) {
        return get ? respond(s, conn, method, url, 200, root_body(s), NULL)
                   : respond(s, conn, method, url, 405, message("Method not allowed"), NULL);
    }
    if (strcmp(url, "/status") == 0) {
        return get ? respond(s, conn, method, url, 200, status_body(s), NULL)
                   : respond(s, conn, method, url, 405, message("Method not allowed"), NULL);
    }
    if (strcmp(url, "/status/ready") == 0) {
        if (!get) {
            return respond(s, conn, method, url, 405, message("Method not allowed"), NULL);
        }
        /* kong/status/ready.lua:28-51 (3.9.1): router builds first, then the hash, which is 32
         * zeros at start (kong/init.lua:524-530 loads an empty configuration) and after an empty
         * configuration is pushed (kong/db/declarative/import.lua:433-435) */
        pthread_mutex_lock(&s->mu);
        bool configured = strcmp(s->hash, ZERO_HASH) != 0;
        pthread_mutex_unlock(&s->mu);
        uint64_t up_ms = (kgc_clock_now(NULL) - s->started_ns) / KGC_NS_PER_MS;
        if (up_ms < s->o.not_ready_ms) {
            return respond(
                s, conn, method, url, 503,
                message("router builds not yet complete, router ready in 0 of 1 workers"), NULL);
        }
        if (!configured) {
            return respond(s, conn, method, url, 503,
                           message("no configuration available (empty configuration present)"),
                           NULL);
        }
        return respond(s, conn, method, url, 200, message("ready"), NULL);
    }
    if (strcmp(url, "/config") == 0) {
        if (post) {
            return post_config(s, conn, url, req);
        }
        if (!get) {
            return respond(s, conn, method, url, 405, message("Method not allowed"), NULL);
        }
        /* the document may share values with the memo (kf_vmemo_parse): this reference is
         * dropped holding it */
        if (s->memo) {
            pthread_mutex_lock(&s->memo_mu);
        }
        pthread_mutex_lock(&s->mu);
        json_object *cfg = json_object_get(s->config);
        pthread_mutex_unlock(&s->mu);
        enum MHD_Result grc;
        if (!cfg) {
            grc = respond(s, conn, method, url, 404, message("no configuration available"), NULL);
        } else {
            json_object *body = json_object_new_object();
            if (body) {
                json_object_object_add(body, "config", cfg);
            } else {
                json_object_put(cfg);
            }
            grc = respond(s, conn, method, url, 200, body, NULL);
        }
        if (s->memo) {
            pthread_mutex_unlock(&s->memo_mu);
        }
        return grc;
    }
    if (strcmp(url, "/_test/fail-config") == 0) {
        if (!post) {
            return respond(s, conn, method, url, 405, message("Method not allowed"), NULL);
        }
        const char *n = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "n");
        const char *code = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "code");
        long nv = n ? strtol(n, NULL, 10) : 1;
        long cv = code ? strtol(code, NULL, 10) : 503;
        if (nv < 0 || nv > 1000000 || (cv != 400 && cv != 429 && cv != 503)) {
            return respond(s, conn, method, url, 400,
                           message("n must be 0..1000000 and code one of 400, 429, 503"), NULL);
        }
        pthread_mutex_lock(&s->mu);
        s->fail_left = (unsigned)nv;
        s->fail_code = (unsigned)cv;
        pthread_mutex_unlock(&s->mu);
        json_object *body = json_object_new_object();
        if (body) {
            json_object_object_add(body, "n", json_object_new_int((int)nv));
            json_object_object_add(body, "code", json_object_new_int((int)cv));
        }
        return respond(s, conn, method, url, 200, body, NULL);
    }
    return respond(s, conn, method, url, 404, message("Not found"), NULL);
}

/* Appends n bytes to the request's buffer (NUL-terminated). 0 or KGC_ENOMEM. */
static int body_append(struct request *req, const char *data, size_t n)
{
    if (req->len + n + 1 > req->cap) {
        size_t cap = req->cap ? req->cap : 4096;
        while (cap < req->len + n + 1) {
            cap *= 2;
        }
        char *nb = realloc(req->body, cap);
        if (!nb) {
            return KGC_ENOMEM;
        }
        req->body = nb;
        req->cap = cap;
    }
    memcpy(req->body + req->len, data, n);
    req->len += n;
    req->body[req->len] = '\0';
    return 0;
}

/* A small form field into a fixed buffer (longer values are truncated: they match nothing). */
static void field_copy(char *dst, size_t size, const char *data, uint64_t off, size_t n)
{
    if (off >= size - 1) {
        return;
    }
    size_t room = size - 1 - (size_t)off;
    n = n < room ? n : room;
    memcpy(dst + off, data, n);
    dst[off + n] = '\0';
}

/* libmicrohttpd's post processor hands over each form field, possibly in several chunks. */
static enum MHD_Result form_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *filename, const char *content_type,
                                  const char *transfer_encoding, const char *data, uint64_t off,
                                  size_t size)
{
    (void)kind, (void)filename, (void)content_type, (void)transfer_encoding;
    struct request *req = cls;
    if (!key) {
        return MHD_YES;
    }
    if (strcmp(key, "config") == 0) {
        if (off == 0) {
            req->len = 0; /* a repeated field: the last one wins */
        }
        req->have_config = true;
        if (size > 0 && body_append(req, data, size) != 0) {
            req->form_oom = true;
            return MHD_NO;
        }
    } else if (strcmp(key, "check_hash") == 0) {
        field_copy(req->check_hash, sizeof(req->check_hash), data, off, size);
    } else if (strcmp(key, "flatten_errors") == 0) {
        field_copy(req->flatten, sizeof(req->flatten), data, off, size);
    }
    return MHD_YES;
}

/* Stops the post processor; a body that ended inside a part is malformed. */
static void form_finish(struct request *req)
{
    if (req->pp) {
        if (MHD_destroy_post_processor(req->pp) != MHD_YES) {
            req->form_bad = true;
        }
        req->pp = NULL;
    }
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void)version;
    struct kf_server *s = cls;
    struct request *req = *con_cls;
    if (!req) {
        req = calloc(1, sizeof(*req));
        if (!req) {
            return MHD_NO;
        }
        *con_cls = req;
        pthread_mutex_lock(&s->mu);
        s->requests++;
        pthread_mutex_unlock(&s->mu);
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        req->chunked = !cl && MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                          MHD_HTTP_HEADER_TRANSFER_ENCODING);
        if (cl && strtoull(cl, NULL, 10) > s->o.max_body) {
            req->too_large = true;
            req->answered = true;
            return respond_nginx_page(s, conn, method, url, 413);
        }
        const char *ct =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (strcmp(method, "POST") == 0 && strcmp(url, "/config") == 0 && ct &&
            strncasecmp(ct, "multipart/form-data", 19) == 0) {
            req->multipart = true;
            req->pp = MHD_create_post_processor(conn, 64 * 1024, form_field, req);
            req->form_bad = req->pp == NULL; /* no boundary */
        }
        return MHD_YES;
    }
    if (*upload_size > 0 && req->multipart) {
        if (!req->too_large) {
            req->received += *upload_size;
            if (req->received > s->o.max_body) {
                req->too_large = true;
                form_finish(req);
                free(req->body);
                req->body = NULL;
                req->len = req->cap = 0;
            } else if (req->pp && !req->form_bad && !req->form_oom &&
                       MHD_post_process(req->pp, upload, *upload_size) != MHD_YES) {
                req->form_bad = !req->form_oom;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!req->too_large) {
            if (req->len + *upload_size > s->o.max_body) {
                req->too_large = true;
                free(req->body);
                req->body = NULL;
                req->len = req->cap = 0;
            } else if (body_append(req, upload, *upload_size) != 0) {
                return MHD_NO;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->answered) {
        return MHD_YES;
    }
    req->answered = true;
    form_finish(req);
    return handle(s, conn, url, method, req);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct request *req = *con_cls;
    if (req) {
        form_finish(req);
        free(req->body);
        free(req);
        *con_cls = NULL;
    }
}

static void connection_cb(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)conn;
    (void)socket_context;
    struct kf_server *s = cls;
    pthread_mutex_lock(&s->mu);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        s->conns++;
        s->active++;
    } else if (s->active > 0) {
        s->active--;
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- start/stop
 * ---------------------------------------------------------------------------------------- */

static int load_listeners(struct kf_server *s, char *err, size_t errsz)
{
    const char *text = s->o.listeners_json ? s->o.listeners_json : DEFAULT_LISTENERS;
    json_object *doc = NULL;
    char perr[256] = "";
    if (kf_text_parse(text, strlen(text), &doc, perr, sizeof(perr)) != 0 ||
        !json_object_is_type(doc, json_type_object)) {
        json_object_put(doc);
        snprintf(err, errsz, "listeners: not a JSON/YAML object%s%s", perr[0] ? ": " : "", perr);
        return KGC_EINVAL;
    }
    json_object *conf = NULL;
    if (json_object_object_get_ex(doc, "configuration", &conf) &&
        json_object_is_type(conf, json_type_object)) {
        s->listeners = json_object_get(conf); /* a whole root document */
        json_object_put(doc);
    } else {
        s->listeners = doc;
    }
    static const char *const lists[] = {"proxy_listeners", "stream_listeners", NULL};
    for (size_t i = 0; lists[i]; i++) {
        json_object *v = NULL;
        if (json_object_object_get_ex(s->listeners, lists[i], &v) && v &&
            !json_object_is_type(v, json_type_array) && !json_object_is_type(v, json_type_object)) {
            snprintf(err, errsz, "listeners: %s must be a list", lists[i]);
            return KGC_EINVAL;
        }
    }
    return 0;
}

int kf_server_start(const struct kf_server_options *o, struct kf_server **out, char *err,
                    size_t errsz)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errsz = sizeof(dummy);
    }
    *out = NULL;
    struct kf_server *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errsz, "out of memory");
        return KGC_ENOMEM;
    }
    s->o = *o;
    s->audit_fd = -1;
    memcpy(s->hash, ZERO_HASH, sizeof(s->hash));
    s->fail_left = o->fail_config;
    s->fail_code = o->fail_config_code ? o->fail_config_code : 503;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        snprintf(err, errsz, "mutex init failed");
        return KGC_ENOMEM;
    }
    if (pthread_mutex_init(&s->memo_mu, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        snprintf(err, errsz, "mutex init failed");
        return KGC_ENOMEM;
    }
    s->memo = kf_vmemo_new();
    int rc = load_listeners(s, err, errsz);
    if (rc != 0) {
        goto fail;
    }
    if (o->node_id) {
        snprintf(s->node_id, sizeof(s->node_id), "%s", o->node_id);
    } else {
        kf_uuid4(s->node_id);
    }
    if (o->audit_path) {
        s->audit_fd = open(o->audit_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (s->audit_fd < 0) {
            snprintf(err, errsz, "audit %s: %s", o->audit_path, strerror(errno));
            rc = KGC_EIO;
            goto fail;
        }
    }

    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%u", o->port);
    int gai = getaddrinfo(o->host, port, &hints, &ai);
    if (gai != 0 || !ai) {
        snprintf(err, errsz, "cannot resolve %s: %s", o->host, gai_strerror(gai));
        rc = KGC_EINVAL;
        goto fail;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    s->daemon = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, access_cb, s,
                                 MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED,
                                 completed_cb, s, MHD_OPTION_NOTIFY_CONNECTION, connection_cb, s,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        snprintf(err, errsz, "cannot listen on %s:%u", o->host, o->port);
        rc = KGC_EIO;
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : o->port;
    s->started_ns = kgc_clock_now(NULL);
    *out = s;
    return 0;
fail:
    if (s->audit_fd >= 0) {
        close(s->audit_fd);
    }
    json_object_put(s->listeners);
    kf_vmemo_free(s->memo);
    pthread_mutex_destroy(&s->memo_mu);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return rc;
}

void kf_server_stop(struct kf_server *s)
{
    if (!s) {
        return;
    }
    MHD_stop_daemon(s->daemon);
    if (s->audit_fd >= 0) {
        close(s->audit_fd);
    }
    json_object_put(s->config);
    json_object_put(s->listeners);
    kf_vmemo_free(s->memo);
    pthread_mutex_destroy(&s->memo_mu);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

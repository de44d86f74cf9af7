#include "server.h"

#include "audit.h"
#include "faults.h"
#include "jsonutil.h"
#include "kgc/log.h"
#include "reply.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define DEFAULT_MAX_BODY  (32UL * 1024 * 1024)
#define WATCH_BLOCK_SIZE  (64 * 1024)
#define MAX_PATH_SEGMENTS 12
#define CONNECTION_LIMIT  8192
#define THREAD_STACK_SIZE (1024 * 1024)
#define IDLE_TIMEOUT_S    600

struct fas_server {
    struct MHD_Daemon *daemon;
    struct fas_store *store;
    struct fas_faults faults;
    struct fas_audit audit;
    char *token;
    size_t max_body;
    int port;
    char *tls_cert, *tls_key; /* MHD keeps pointers to these for its lifetime */
};

/* Per-request state kept by MHD between calls of the access handler. */
struct req {
    struct fas_buf body;
    bool too_big;
};

/* ---- helpers -------------------------------------------------------------------------------- */

static const char *arg(struct MHD_Connection *c, const char *key)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

static const char *header(struct MHD_Connection *c, const char *key)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, key);
}

static bool arg_true(struct MHD_Connection *c, const char *key)
{
    const char *v = arg(c, key);
    return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static long arg_long(struct MHD_Connection *c, const char *key, long dflt)
{
    const char *v = arg(c, key);
    if (!v || !v[0])
        return dflt;
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    return errno || *end ? dflt : n;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct fas_reply *r)
{
    if (!r->body) {
        fas_reply_internal(r, "no reply");
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        return MHD_NO;
    r->body = NULL; /* MHD owns it now */
    MHD_add_response_header(resp, "Content-Type",
                            r->content_type ? r->content_type : "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
    if (r->warning)
        MHD_add_response_header(resp, "Warning", r->warning);
    if (r->code == 429 || r->code == 503)
        MHD_add_response_header(resp, "Retry-After", "1");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->code, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- watch streaming ------------------------------------------------------------------------ */

static ssize_t watch_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    ssize_t n = fas_watch_read(cls, buf, max);
    if (n == -1)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

static void watch_free(void *cls)
{
    fas_watch_release(cls);
}

static enum MHD_Result start_watch(struct fas_server *srv, struct MHD_Connection *c,
                                   const struct fas_target *t, const struct fas_list_opts *lo)
{
    struct fas_reply r;
    fas_reply_init(&r);
    struct fas_watch *w = NULL;
    fas_store_watch(srv->store, t, lo, &w, &r);
    if (!w) {
        enum MHD_Result ret = send_reply(c, &r);
        fas_reply_free(&r);
        return ret;
    }
    fas_reply_free(&r);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci)
        w->fd = ci->connect_fd;
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, WATCH_BLOCK_SIZE, watch_reader, w, watch_free);
    if (!resp) {
        fas_watch_release(w);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
    enum MHD_Result ret = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- /_test/ -------------------------------------------------------------------------------- */

static void test_endpoint(struct fas_server *srv, struct MHD_Connection *c, const char *method,
                          const char *url, const struct fas_buf *body, struct fas_reply *r)
{
    const char *what = url + strlen("/_test/");
    char msg[256];
    if (strcmp(what, "stats") == 0) {
        snprintf(msg, sizeof(msg), "{\"resourceVersion\":\"%lld\",\"objects\":%zu,\"watches\":%zu}",
                 (long long)fas_store_rv(srv->store), fas_store_count(srv->store),
                 fas_store_watch_count(srv->store));
        fas_reply_set(r, 200, msg, strlen(msg));
        return;
    }
    if (strcmp(method, "POST") != 0) {
        fas_reply_method_not_allowed(r);
        return;
    }
    if (strcmp(what, "close-watches") == 0) {
        fas_store_close_watches(srv->store);
        kgc_info("apiserver", "test: closed all watches");
    } else if (strcmp(what, "drop-history") == 0) {
        fas_store_drop_history(srv->store);
        kgc_info("apiserver", "test: dropped watch history",
                 KGC_F_INT("rv", fas_store_rv(srv->store)));
    } else if (strcmp(what, "fail") == 0) {
        const char *prefix = arg(c, "prefix");
        long code = arg_long(c, "code", 0);
        long count = arg_long(c, "count", 0);
        long every = arg_long(c, "every", 0);
        if (!prefix ||
            fas_faults_add_fail(&srv->faults, prefix, arg(c, "verb"), (int)code, count, every)) {
            fas_reply_bad_request(r, "fail needs prefix=PATH and code=400..599 "
                                     "(optional count=N, every=K, verb=VERB)");
            return;
        }
        kgc_info("apiserver", "test: failing requests", KGC_F_STR("prefix", prefix),
                 KGC_F_INT("code", code), KGC_F_INT("count", count), KGC_F_INT("every", every));
    } else if (strcmp(what, "latency") == 0) {
        const char *prefix = arg(c, "prefix");
        long ms = arg_long(c, "ms", -1);
        if (!prefix || fas_faults_set_latency(&srv->faults, prefix, arg(c, "verb"), ms)) {
            fas_reply_bad_request(r, "latency needs prefix=PATH and ms=0..600000 (optional "
                                     "verb=VERB)");
            return;
        }
        kgc_info("apiserver", "test: latency", KGC_F_STR("prefix", prefix), KGC_F_INT("ms", ms));
    } else if (strcmp(what, "reset-faults") == 0) {
        fas_faults_reset(&srv->faults);
    } else if (strcmp(what, "inject-event") == 0) {
        const char *plural = arg(c, "resource");
        if (!plural || !body->len) {
            fas_reply_bad_request(r, "inject-event needs resource=PLURAL (optional group=G) and "
                                     "the raw bytes to send as the body");
            return;
        }
        int n = fas_store_inject(srv->store, arg(c, "group"), plural, body->data, body->len);
        if (n < 0) {
            fas_reply_status(r, 404, "NotFound", "inject-event: no such resource", NULL);
            return;
        }
        kgc_info("apiserver", "test: injected raw bytes into watches",
                 KGC_F_STR("resource", plural), KGC_F_INT("bytes", body->len),
                 KGC_F_INT("watches", n));
        snprintf(msg, sizeof(msg), "{\"ok\":true,\"watches\":%d}", n);
        fas_reply_set(r, 200, msg, strlen(msg));
        return;
    } else {
        fas_reply_no_route(r);
        return;
    }
    snprintf(msg, sizeof(msg), "{\"ok\":true,\"resourceVersion\":\"%lld\"}",
             (long long)fas_store_rv(srv->store));
    fas_reply_set(r, 200, msg, strlen(msg));
}

/* ---- routing -------------------------------------------------------------------------------- */

struct route {
    char buf[2048];
    const char *seg[MAX_PATH_SEGMENTS];
    size_t n;
};

static bool split_path(const char *url, struct route *rt)
{
    snprintf(rt->buf, sizeof(rt->buf), "%s", url);
    rt->n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(rt->buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (rt->n == MAX_PATH_SEGMENTS)
            return false;
        rt->seg[rt->n++] = tok;
    }
    return true;
}

static const char *verb_of(const char *method, const struct fas_target *t, bool watch)
{
    if (strcmp(method, "GET") == 0)
        return t->name ? "get" : watch ? "watch" : "list";
    if (strcmp(method, "POST") == 0)
        return "create";
    if (strcmp(method, "PUT") == 0)
        return "update";
    if (strcmp(method, "PATCH") == 0)
        return "patch";
    if (strcmp(method, "DELETE") == 0)
        return t->name ? "delete" : "deletecollection";
    return "unknown";
}

/* Parses /api/v1/... or /apis/G/V/... into t. Returns 1 for a resource path, 2 for a discovery
 * path, 0 for anything else. */
static int parse_api_path(struct route *p, struct fas_target *t, bool *watch)
{
    size_t i;
    memset(t, 0, sizeof(*t));
    *watch = false;
    if (p->n == 0)
        return 0;
    if (strcmp(p->seg[0], "api") == 0) {
        if (p->n < 3)
            return 2;
        t->group = "";
        t->version = p->seg[1];
        i = 2;
    } else if (strcmp(p->seg[0], "apis") == 0) {
        if (p->n < 4)
            return 2;
        t->group = p->seg[1];
        t->version = p->seg[2];
        i = 3;
    } else {
        return 0;
    }
    if (strcmp(p->seg[i], "watch") == 0) {
        *watch = true;
        i++;
    }
    size_t left = p->n - i;
    if (left >= 3 && strcmp(p->seg[i], "namespaces") == 0 && strcmp(p->seg[i + 2], "status") != 0 &&
        strcmp(p->seg[i + 2], "finalize") != 0) {
        t->ns = p->seg[i + 1];
        i += 2;
        left -= 2;
    }
    if (left == 0 || left > 3)
        return -1;
    t->plural = p->seg[i];
    t->name = left > 1 ? p->seg[i + 1] : NULL;
    t->subresource = left > 2 ? p->seg[i + 2] : NULL;
    return 1;
}

static bool wants_table(struct MHD_Connection *c)
{
    const char *accept = header(c, "Accept");
    return accept && strstr(accept, "as=Table") && strstr(accept, "g=meta.k8s.io");
}

static void write_opts(struct MHD_Connection *c, struct fas_write_opts *o)
{
    memset(o, 0, sizeof(*o));
    const char *dr = arg(c, "dryRun");
    o->dry_run = dr && strcmp(dr, "All") == 0;
    const char *fv = arg(c, "fieldValidation");
    if (fv && strcasecmp(fv, "Strict") == 0)
        o->field_validation = FAS_FV_STRICT;
    else if (fv && strcasecmp(fv, "Ignore") == 0)
        o->field_validation = FAS_FV_IGNORE;
    else
        o->field_validation = FAS_FV_WARN;
    o->force = arg_true(c, "force");
}

static void list_opts(struct MHD_Connection *c, struct fas_list_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->label_selector = arg(c, "labelSelector");
    o->field_selector = arg(c, "fieldSelector");
    o->limit = arg_long(c, "limit", 0);
    o->cont = arg(c, "continue");
    o->resource_version = arg(c, "resourceVersion");
    o->rv_match = arg(c, "resourceVersionMatch");
    o->allow_bookmarks = arg_true(c, "allowWatchBookmarks");
    o->send_initial_events = arg_true(c, "sendInitialEvents");
    o->timeout_seconds = arg_long(c, "timeoutSeconds", 0);
    o->table = wants_table(c);
}

static bool authorized(struct fas_server *srv, struct MHD_Connection *c)
{
    if (!srv->token)
        return true;
    const char *h = header(c, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *tok = h + 7;
    size_t n = strlen(srv->token);
    return strlen(tok) == n && CRYPTO_memcmp(tok, srv->token, n) == 0;
}

static bool is_write(const char *verb)
{
    return strcmp(verb, "create") == 0 || strcmp(verb, "update") == 0 ||
           strcmp(verb, "patch") == 0 || strcmp(verb, "delete") == 0 ||
           strcmp(verb, "deletecollection") == 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static enum MHD_Result handle(struct fas_server *srv, struct MHD_Connection *c, const char *url,
                              const char *method, struct req *rq)
{
    struct fas_reply r;
    fas_reply_init(&r);
    enum MHD_Result ret;
    bool health =
        strcmp(url, "/healthz") == 0 || strcmp(url, "/livez") == 0 || strcmp(url, "/readyz") == 0;
    if (health) {
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
        ret = MHD_queue_response(c, 200, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (!authorized(srv, c)) {
        fas_reply_unauthorized(&r);
        goto send;
    }
    if (strncmp(url, "/_test/", 7) == 0) {
        test_endpoint(srv, c, method, url, &rq->body, &r);
        goto send;
    }
    struct route p = {.n = 0};
    struct fas_target t;
    bool watch = false;
    int kind = split_path(url, &p) ? parse_api_path(&p, &t, &watch) : -1;
    if (kind == 1 && arg_true(c, "watch"))
        watch = true;
    /* A watch of one object (/watch/.../NAME or ?watch on an object path) is a watch of the
     * collection filtered by metadata.name. */
    char name_selector[300] = "";
    if (kind == 1 && watch && t.name && !t.subresource && strcmp(method, "GET") == 0) {
        snprintf(name_selector, sizeof(name_selector), "metadata.name=%s", t.name);
        t.name = NULL;
    }
    const char *verb = kind == 1 ? verb_of(method, &t, watch) : "get";
    long latency = 0;
    int fail = fas_faults_check(&srv->faults, url, verb, &latency);
    if (latency > 0)
        sleep_ms(latency);
    if (fail) {
        char msg[256];
        snprintf(msg, sizeof(msg), "injected failure (%d) by the test server", fail);
        struct fas_status_details d = {.retry_after_seconds = (fail == 429 || fail == 503) ? 1 : 0};
        if (fail == 409)
            snprintf(msg, sizeof(msg),
                     "the object has been modified; please apply your changes "
                     "to the latest version and try again");
        fas_reply_status(&r, fail, fas_reason_for_code(fail), msg, &d);
        if (kind == 1 && is_write(verb))
            fas_audit_write(&srv->audit, verb, url, t.subresource, fail, NULL);
        goto send;
    }
    if (rq->too_big) {
        fas_reply_status(&r, 413, "RequestEntityTooLarge", "the request body is too large", NULL);
        goto send;
    }
    if (strcmp(url, "/version") == 0) {
        static const char version[] =
            "{\"major\":\"1\",\"minor\":\"31\",\"gitVersion\":\"v1.31.0-kgc-test\","
            "\"gitCommit\":\"0000000000000000000000000000000000000000\",\"gitTreeState\":"
            "\"clean\",\"buildDate\":\"2026-01-01T00:00:00Z\",\"goVersion\":\"go1.22.0\","
            "\"compiler\":\"gc\",\"platform\":\"linux/amd64\"}";
        fas_reply_set(&r, 200, version, strlen(version));
        goto send;
    }
    if (strncmp(url, "/openapi/", 9) == 0) {
        if (strcmp(method, "GET") != 0)
            fas_reply_method_not_allowed(&r);
        else if (strcmp(url, "/openapi/v2") == 0)
            fas_store_openapi_v2(header(c, "Accept"), &r);
        else
            fas_store_openapi(srv->store, url, &r);
        goto send;
    }
    if (kind == 2) {
        if (strcmp(method, "GET") != 0) {
            fas_reply_method_not_allowed(&r);
        } else {
            const char *accept = header(c, "Accept");
            bool agg =
                accept && strstr(accept, "g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
            char path[512];
            if (p.n == 1)
                snprintf(path, sizeof(path), "/%s", p.seg[0]);
            else if (p.n == 2)
                snprintf(path, sizeof(path), "/%s/%s", p.seg[0], p.seg[1]);
            else
                snprintf(path, sizeof(path), "/%s/%s/%s", p.seg[0], p.seg[1], p.seg[2]);
            fas_store_discovery(srv->store, path, agg, &r);
        }
        goto send;
    }
    if (kind != 1) {
        fas_reply_no_route(&r);
        goto send;
    }
    struct fas_list_opts lo;
    struct fas_write_opts wo;
    list_opts(c, &lo);
    if (name_selector[0])
        lo.field_selector = name_selector; /* an explicit fieldSelector is not combined */
    write_opts(c, &wo);
    const char *body = rq->body.data ? rq->body.data : "";
    size_t blen = rq->body.len;
    if (strcmp(method, "GET") == 0) {
        if (t.name)
            fas_store_get(srv->store, &t, lo.table, &r);
        else if (watch)
            return start_watch(srv, c, &t, &lo);
        else
            fas_store_list(srv->store, &t, &lo, &r);
    } else if (strcmp(method, "POST") == 0) {
        fas_store_create(srv->store, &t, body, blen, &wo, &r);
    } else if (strcmp(method, "PUT") == 0) {
        fas_store_update(srv->store, &t, body, blen, &wo, &r);
    } else if (strcmp(method, "PATCH") == 0) {
        fas_store_patch(srv->store, &t, header(c, "Content-Type"), body, blen, &wo, &r);
    } else if (strcmp(method, "DELETE") == 0) {
        if (t.name)
            fas_store_delete(srv->store, &t, body, blen, &wo, &r);
        else
            fas_store_delete_collection(srv->store, &t, &lo, &wo, &r);
    } else {
        fas_reply_method_not_allowed(&r);
    }
    if (is_write(verb))
        fas_audit_write(&srv->audit, verb, url, t.subresource, r.code, r.audit_status);
    kgc_debug("apiserver", "request", KGC_F_STR("method", method), KGC_F_STR("path", url),
              KGC_F_INT("code", r.code));
send:
    ret = send_reply(c, &r);
    fas_reply_free(&r);
    return ret;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    (void)version;
    struct fas_server *srv = cls;
    struct req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        fas_buf_init(&rq->body);
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!rq->too_big && rq->body.len + *upload_data_size <= srv->max_body) {
            if (fas_buf_append(&rq->body, upload_data, *upload_data_size))
                rq->too_big = true;
        } else {
            rq->too_big = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return handle(srv, c, url, method, rq);
}

static void request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct req *rq = *con_cls;
    if (!rq)
        return;
    fas_buf_free(&rq->body);
    free(rq);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    kgc_debug("apiserver", "libmicrohttpd", KGC_F_STR("detail", msg));
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

int fas_server_start(const struct fas_server_opts *opts, struct fas_server **out,
                     struct kgc_err *err)
{
    struct fas_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    fas_faults_init(&srv->faults);
    srv->audit.fd = -1;
    pthread_mutex_init(&srv->audit.mu, NULL);
    srv->max_body = opts->max_body ? opts->max_body : DEFAULT_MAX_BODY;
    int rc;
    if (opts->audit_path) {
        pthread_mutex_destroy(&srv->audit.mu);
        rc = fas_audit_open(&srv->audit, opts->audit_path);
        if (rc) {
            kgc_err_set(err, rc, "cannot open audit file %s: %s", opts->audit_path, strerror(-rc));
            goto out_free;
        }
    }
    if (opts->token && !(srv->token = strdup(opts->token))) {
        rc = kgc_err_set(err, KGC_ENOMEM, "out of memory");
        goto out_free;
    }
    struct fas_store_opts so = {.history = opts->history,
                                .bookmark_ms = opts->bookmark_ms,
                                .namespace_cleanup_ms = opts->namespace_cleanup_ms};
    rc = fas_store_new(&so, &srv->store);
    if (rc) {
        kgc_err_set(err, rc, "cannot create the store");
        goto out_free;
    }
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%d", opts->port);
    int gai = getaddrinfo(opts->host ? opts->host : "127.0.0.1", port, &hints, &ai);
    if (gai) {
        rc = kgc_err_set(err, KGC_EINVAL, "cannot resolve %s: %s", opts->host, gai_strerror(gai));
        goto out_free;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    bool tls = opts->tls_cert && opts->tls_key;
    if (tls) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            freeaddrinfo(ai);
            rc = kgc_err_set(err, KGC_EINVAL, "libmicrohttpd was built without TLS support");
            goto out_free;
        }
        flags |= MHD_USE_TLS;
        srv->tls_cert = strdup(opts->tls_cert);
        srv->tls_key = strdup(opts->tls_key);
        if (!srv->tls_cert || !srv->tls_key) {
            freeaddrinfo(ai);
            rc = kgc_err_set(err, KGC_ENOMEM, "out of memory");
            goto out_free;
        }
    }
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, access_handler, srv, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, srv, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)THREAD_STACK_SIZE, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        (unsigned)1, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv, MHD_OPTION_ARRAY,
        tls ? tls_opts : no_opts, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!srv->daemon) {
        rc = kgc_err_set(err, KGC_EIO, "cannot listen on %s:%d", opts->host, opts->port);
        goto out_free;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : opts->port;
    *out = srv;
    return 0;
out_free:
    fas_server_stop(srv);
    return rc;
}

int fas_server_port(const struct fas_server *srv)
{
    return srv->port;
}

struct fas_store *fas_server_store(struct fas_server *srv)
{
    return srv->store;
}

void fas_server_stop(struct fas_server *srv)
{
    if (!srv)
        return;
    if (srv->store)
        fas_store_shutdown(srv->store);
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    fas_store_free(srv->store);
    fas_faults_destroy(&srv->faults);
    fas_audit_close(&srv->audit);
    free(srv->token);
    free(srv->tls_cert);
    free(srv->tls_key);
    free(srv);
}

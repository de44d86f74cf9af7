/* The libmicrohttpd daemon: binds the listen address, hands each request to kgc_server_route()
 * and sends the answer. */
#include "kgc/base.h"
#include "kgc/log.h"
#include "kgc/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define COMPONENT "server"

#define WARN_KINDS    16                     /* kinds of warning rate-limited apart */
#define WATCHDOG_TICK (250ull * 1000 * 1000) /* ns between the watchdog's passes */
#define NS_PER_S      (1000ull * 1000 * 1000)

/* One open connection, for the watchdog. Linked in kgc_server.conns under mu from libmicrohttpd's
 * STARTED notification until its CLOSED one, which libmicrohttpd sends before it closes the
 * socket: so the watchdog's shutdown() never reaches a descriptor reused by something else. */
struct conn {
    struct conn *prev, *next;
    int fd;
    uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0: closed by the watchdog already */
    char peer[INET6_ADDRSTRLEN];
};

/* A warning kind: key is a static string (ours, or libmicrohttpd's format). */
struct warn_kind {
    const void *key;
    uint64_t last_ns;    /* last line logged */
    uint64_t suppressed; /* since then */
};

struct kgc_server {
    struct MHD_Daemon *daemon;
    struct kgc_server_provider provider; /* copied at start; read-only afterwards */
    unsigned routes;
    size_t max_body;
    uint16_t port;            /* the bound port */
    uint64_t requests;        /* answered (atomic) */
    uint64_t deadline_closed; /* connections the watchdog closed (atomic) */
    char name[32];            /* "http" | "debug" */
    char addr[300];           /* "host:port" as bound, for logs */
    uint64_t request_timeout_ns, warn_interval_ns;

    pthread_mutex_t mu; /* conns, stop, warn */
    pthread_cond_t cond;
    pthread_t watchdog;
    bool watchdog_started, stop;
    struct conn *conns;
    struct warn_kind warn[WARN_KINDS];
};

void kgc_server_options_default(struct kgc_server_options *o)
{
    memset(o, 0, sizeof(*o));
    o->name = "http";
    o->listen = KGC_SERVER_DEFAULT_HTTP_LISTEN;
    o->routes = KGC_SERVER_ROUTES_HEALTH | KGC_SERVER_ROUTES_DEBUG;
    o->max_connections = 64;
    o->per_ip_connections = 8;
    o->idle_timeout_s = 30;
    o->request_timeout_s = 10;
    o->warn_interval_s = 30;
    o->max_body = (size_t)256 << 20;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Whether a warning of this kind may be logged now; *suppressed gets how many of its kind were
 * not since the last one. Kinds past WARN_KINDS share the last slot. */
static bool warn_allowed(struct kgc_server *s, const void *key, uint64_t *suppressed)
{
    uint64_t now = now_ns();
    bool ok = false;
    pthread_mutex_lock(&s->mu);
    struct warn_kind *w = &s->warn[WARN_KINDS - 1];
    for (size_t i = 0; i < WARN_KINDS; i++) {
        if (s->warn[i].key == key || !s->warn[i].key) {
            w = &s->warn[i];
            break;
        }
    }
    if (!w->key || w->key != key || now - w->last_ns >= s->warn_interval_ns) {
        *suppressed = w->key == key ? w->suppressed : 0;
        w->key = key;
        w->last_ns = now;
        w->suppressed = 0;
        ok = true;
    } else {
        w->suppressed++;
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static void peer_name(const struct sockaddr *sa, char *out, size_t size)
{
    out[0] = '\0';
    if (!sa)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)size);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct kgc_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn *c = calloc(1, sizeof(*c));
        *socket_context = c;
        if (!c)
            return; /* not watched; it still has the idle timeout */
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ai =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        c->fd = fi ? fi->connect_fd : -1;
        peer_name(ai ? ai->client_addr : NULL, c->peer, sizeof(c->peer));
        c->deadline_ns = now_ns() + s->request_timeout_ns;
        pthread_mutex_lock(&s->mu);
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        pthread_mutex_unlock(&s->mu);
        return;
    }
    struct conn *c = *socket_context;
    if (!c)
        return;
    pthread_mutex_lock(&s->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&s->mu);
    free(c);
    *socket_context = NULL;
}

/* A new deadline for the connection's current phase (answer out, or next request in). */
static void conn_deadline(struct kgc_server *s, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn *c = ci ? ci->socket_context : NULL;
    if (!c)
        return;
    pthread_mutex_lock(&s->mu);
    if (c->deadline_ns)
        c->deadline_ns = now_ns() + s->request_timeout_ns;
    pthread_mutex_unlock(&s->mu);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)req_cls, (void)toe;
    conn_deadline(cls, conn); /* a kept-alive connection: the next request has its own time */
}

static void *watchdog_main(void *arg)
{
    struct kgc_server *s = arg;
    static const char kind[] = "deadline";
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        kgc_base_cond_wait_once(&s->cond, &s->mu, now_ns() + WATCHDOG_TICK);
        if (s->stop)
            break;
        uint64_t now = now_ns();
        char peer[INET6_ADDRSTRLEN] = "";
        unsigned closed = 0;
        for (struct conn *c = s->conns; c; c = c->next) {
            if (!c->deadline_ns || now < c->deadline_ns || c->fd < 0)
                continue;
            c->deadline_ns = 0;
            __atomic_add_fetch(&s->deadline_closed, 1, __ATOMIC_RELAXED);
            shutdown(c->fd, SHUT_RDWR); /* its thread sees the end of the stream and closes */
            memcpy(peer, c->peer, sizeof(peer));
            closed++;
        }
        if (!closed)
            continue;
        pthread_mutex_unlock(&s->mu);
        uint64_t suppressed = 0;
        if (warn_allowed(s, kind, &suppressed))
            kgc_warn(COMPONENT, "closed connections that did not send a whole request in time",
                     KGC_F_STR("server", s->name), KGC_F_INT("connections", closed),
                     KGC_F_STR("peer", peer),
                     KGC_F_INT("timeout_s", (long long)(s->request_timeout_ns / NS_PER_S)),
                     KGC_F_INT("suppressed", (long long)suppressed));
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int kgc_server_parse_listen(const char *listen, char *host, size_t size, uint16_t *port,
                            struct kgc_err *err)
{
    if (!listen || !*listen)
        return kgc_err_set(err, KGC_EUSAGE, "empty listen address (want HOST:PORT or :PORT)");
    const char *colon;
    const char *h = listen;
    size_t hlen;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':')
            return kgc_err_set(err, KGC_EUSAGE, "listen address \"%.100s\": want [IPV6]:PORT",
                               listen);
        h = listen + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
        if (hlen == 0)
            return kgc_err_set(err, KGC_EUSAGE, "listen address \"%.100s\": empty IPv6 address",
                               listen);
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return kgc_err_set(err, KGC_EUSAGE,
                               "listen address \"%.100s\": want HOST:PORT or :PORT", listen);
        hlen = (size_t)(colon - listen);
        if (memchr(listen, ':', hlen))
            return kgc_err_set(err, KGC_EUSAGE,
                               "listen address \"%.100s\": write an IPv6 address as [ADDR]:PORT",
                               listen);
    }
    if (hlen >= size)
        return kgc_err_set(err, KGC_EUSAGE, "listen address \"%.100s\": host too long", listen);
    const char *ps = colon + 1;
    if (!*ps || strlen(ps) > 5 || strspn(ps, "0123456789") != strlen(ps))
        return kgc_err_set(err, KGC_EUSAGE, "listen address \"%.100s\": bad port", listen);
    long v = strtol(ps, NULL, 10);
    if (v > 65535)
        return kgc_err_set(err, KGC_EUSAGE, "listen address \"%.100s\": port over 65535", listen);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)v;
    return 0;
}

/* libmicrohttpd's messages: a flood of connections makes hundreds ("Server reached connection
 * limit", "Failed to receive data"), so each format is one kind, logged at most once per
 * warn_interval. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct kgc_server *s = cls;
    uint64_t suppressed = 0;
    if (!warn_allowed(s, fmt, &suppressed))
        return;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    kgc_warn(COMPONENT, "libmicrohttpd", KGC_F_STR("server", s->name), KGC_F_STR("error", msg),
             KGC_F_INT("suppressed", (long long)suppressed));
}

static bool truthy(const char *v)
{
    return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0);
}

static enum MHD_Result queue(struct MHD_Connection *conn, struct kgc_server_response *r,
                             bool allow_header)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        kgc_server_response_free(r);
        return MHD_NO;
    }
    r->body = NULL; /* the response owns it now */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow_header)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(conn, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    (void)version;
    (void)upload_data;
    struct kgc_server *s = cls;
    if (*req_cls) {
        /* A request body arrives after the answer was queued: drop it. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    *req_cls = s;
    conn_deadline(s, conn); /* the request is in: now the answer has its time */
    bool pretty = truthy(MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "pretty"));
    struct kgc_server_response r;
    if (kgc_server_route(&s->provider, s->routes, method, url, pretty, s->max_body, &r) != 0) {
        kgc_warn(COMPONENT, "out of memory answering a request", KGC_F_STR("server", s->name),
                 KGC_F_STR("path", url));
        return MHD_NO; /* closes the connection */
    }
    __atomic_add_fetch(&s->requests, 1, __ATOMIC_RELAXED);
    kgc_debug(COMPONENT, "request", KGC_F_STR("server", s->name), KGC_F_STR("method", method),
              KGC_F_STR("path", url), KGC_F_INT("status", r.status),
              KGC_F_INT("bytes", (long long)r.len));
    return queue(conn, &r, r.status == 405);
}

/* Starts the daemon on sa (NULL: every interface of the family flags select, on port). */
static struct MHD_Daemon *start_daemon(struct kgc_server *s, unsigned flags, uint16_t port,
                                       const struct sockaddr *sa,
                                       const struct kgc_server_options *o)
{
    struct MHD_OptionItem addr_opts[] = {
        {MHD_OPTION_SOCK_ADDR, 0, (void *)sa},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};
    /* The logger first: libmicrohttpd logs the options before it with its own logger. */
    return MHD_start_daemon(flags, port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
                            mhd_log, s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)o->per_ip_connections,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->idle_timeout_s,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_ARRAY,
                            sa ? addr_opts : no_opts, MHD_OPTION_END);
}

static void server_free(struct kgc_server *s)
{
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int kgc_server_start(const struct kgc_server_options *o, const struct kgc_server_provider *p,
                     struct kgc_server **out, struct kgc_err *err)
{
    *out = NULL;
    char host[256] = "";
    uint16_t port = 0;
    int rc = kgc_server_parse_listen(o->listen, host, sizeof(host), &port, err);
    if (rc != 0)
        return rc;
    struct kgc_server *s = calloc(1, sizeof(*s));
    if (!s)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    s->provider = *p;
    s->routes = o->routes;
    s->max_body = o->max_body ? o->max_body : (size_t)256 << 20;
    snprintf(s->name, sizeof(s->name), "%s", o->name ? o->name : "http");
    struct kgc_server_options opts = *o;
    if (!opts.max_connections)
        opts.max_connections = 64;
    if (!opts.per_ip_connections)
        opts.per_ip_connections = 8;
    if (opts.per_ip_connections > opts.max_connections)
        opts.per_ip_connections = opts.max_connections;
    if (!opts.idle_timeout_s)
        opts.idle_timeout_s = 30;
    s->request_timeout_ns =
        (uint64_t)(opts.request_timeout_s ? opts.request_timeout_s : 10) * NS_PER_S;
    s->warn_interval_ns = (uint64_t)(opts.warn_interval_s ? opts.warn_interval_s : 30) * NS_PER_S;
    pthread_mutex_init(&s->mu, NULL);
    kgc_base_cond_init(&s->cond);

    const unsigned base = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                          MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (!host[0]) {
        /* Every interface: IPv6 and IPv4 on one socket where the kernel has IPv6, else IPv4. */
        s->daemon = start_daemon(s, base | MHD_USE_DUAL_STACK, port, NULL, &opts);
        if (!s->daemon)
            s->daemon = start_daemon(s, base, port, NULL, &opts);
    } else {
        struct addrinfo hints = {.ai_family = AF_UNSPEC,
                                 .ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
        struct addrinfo *ai = NULL;
        char ps[8];
        snprintf(ps, sizeof(ps), "%u", (unsigned)port);
        int gai = getaddrinfo(host, ps, &hints, &ai);
        if (gai != 0 || !ai) {
            rc = kgc_err_set(err, KGC_EUSAGE, "listen address \"%.100s\": cannot resolve: %s",
                             o->listen, gai_strerror(gai));
            server_free(s);
            return rc;
        }
        unsigned flags = base | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
        s->daemon = start_daemon(s, flags, port, ai->ai_addr, &opts);
        freeaddrinfo(ai);
    }
    if (!s->daemon) {
        rc = kgc_err_set(err, KGC_EIO,
                         "cannot listen on \"%.100s\" (address in use, or not allowed)", o->listen);
        server_free(s);
        return rc;
    }
    if (pthread_create(&s->watchdog, NULL, watchdog_main, s) != 0) {
        MHD_stop_daemon(s->daemon);
        server_free(s);
        return kgc_err_set(err, KGC_ENOMEM, "cannot start the connection watchdog");
    }
    s->watchdog_started = true;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di && di->port ? di->port : port;
    snprintf(s->addr, sizeof(s->addr), "%s%s%s:%u", strchr(host, ':') ? "[" : "", host,
             strchr(host, ':') ? "]" : "", (unsigned)s->port);
    kgc_info(COMPONENT, "listening", KGC_F_STR("server", s->name), KGC_F_STR("address", s->addr),
             KGC_F_INT("port", s->port), KGC_F_INT("max_connections", opts.max_connections),
             KGC_F_INT("per_client", opts.per_ip_connections),
             KGC_F_INT("request_timeout_s", (long long)(s->request_timeout_ns / NS_PER_S)));
    *out = s;
    return 0;
}

uint16_t kgc_server_port(const struct kgc_server *s)
{
    return s->port;
}

uint64_t kgc_server_requests(const struct kgc_server *s)
{
    return s ? __atomic_load_n(&s->requests, __ATOMIC_RELAXED) : 0;
}

bool kgc_server_hook_requests(void *ctx, uint64_t *out)
{
    *out = kgc_server_requests(ctx);
    return true;
}

uint64_t kgc_server_deadline_closed(const struct kgc_server *s)
{
    return s ? __atomic_load_n(&s->deadline_closed, __ATOMIC_RELAXED) : 0;
}

void kgc_server_stop(struct kgc_server *s)
{
    if (!s)
        return;
    /* The daemon first: its CLOSED notifications empty conns while the watchdog still runs. */
    MHD_stop_daemon(s->daemon);
    if (s->watchdog_started) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->watchdog, NULL);
    }
    kgc_info(COMPONENT, "stopped", KGC_F_STR("server", s->name), KGC_F_STR("address", s->addr));
    server_free(s);
}

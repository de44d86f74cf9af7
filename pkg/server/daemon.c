/* The libmicrohttpd daemon: binds the listen address, hands each request to kgc_server_route()
 * and sends the answer. */
#include "kgc/log.h"
#include "kgc/server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define COMPONENT "server"

struct kgc_server {
    struct MHD_Daemon *daemon;
    struct kgc_server_provider provider; /* copied at start; read-only afterwards */
    unsigned routes;
    size_t max_body;
    uint16_t port;     /* the bound port */
    uint64_t requests; /* answered (atomic) */
    char name[32];     /* "http" | "debug" */
    char addr[300];    /* "host:port" as bound, for logs */
};

void kgc_server_options_default(struct kgc_server_options *o)
{
    memset(o, 0, sizeof(*o));
    o->name = "http";
    o->listen = KGC_SERVER_DEFAULT_HTTP_LISTEN;
    o->routes = KGC_SERVER_ROUTES_HEALTH | KGC_SERVER_ROUTES_DEBUG;
    o->max_connections = 64;
    o->idle_timeout_s = 30;
    o->max_body = (size_t)256 << 20;
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

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    const struct kgc_server *s = cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    kgc_warn(COMPONENT, "libmicrohttpd", KGC_F_STR("server", s->name), KGC_F_STR("error", msg));
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
    return MHD_start_daemon(flags, port, NULL, NULL, on_request, s, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)o->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)o->idle_timeout_s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                            MHD_OPTION_ARRAY, sa ? addr_opts : no_opts, MHD_OPTION_END);
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
    if (!opts.idle_timeout_s)
        opts.idle_timeout_s = 30;

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
            free(s);
            return rc;
        }
        unsigned flags = base | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
        s->daemon = start_daemon(s, flags, port, ai->ai_addr, &opts);
        freeaddrinfo(ai);
    }
    if (!s->daemon) {
        rc = kgc_err_set(err, KGC_EIO,
                         "cannot listen on \"%.100s\" (address in use, or not allowed)", o->listen);
        free(s);
        return rc;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di && di->port ? di->port : port;
    snprintf(s->addr, sizeof(s->addr), "%s%s%s:%u", strchr(host, ':') ? "[" : "", host,
             strchr(host, ':') ? "]" : "", (unsigned)s->port);
    kgc_info(COMPONENT, "listening", KGC_F_STR("server", s->name), KGC_F_STR("address", s->addr),
             KGC_F_INT("port", s->port));
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

void kgc_server_stop(struct kgc_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    kgc_info(COMPONENT, "stopped", KGC_F_STR("server", s->name), KGC_F_STR("address", s->addr));
    free(s);
}

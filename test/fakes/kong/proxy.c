/* proxy — the test Kong's proxy listeners (proxy.h): one libmicrohttpd daemon per proxy_listen
 * entry. A plain listener's daemon accepts on the bound socket itself; an `ssl` listener's daemon
 * has no listen socket and gets each connection's plaintext from proxy_tls.c through a socketpair
 * (MHD_add_connection), with the SNI attached. Every request runs Kong's runloop (dataplane.c) on
 * the snapshot current when it arrived.
 *
 * Threads: each daemon has its own polling thread (and TLS listeners an accept thread plus one per
 * connection, bounded). The current snapshot is swapped under a mutex by kf_proxy_set_config();
 * requests hold a reference for their duration. Bounds: 512 connections per listener, a 60 s idle
 * timeout, request bodies up to 16 MiB (larger: 413 as Kong's error handler answers). */
#include "proxy_internal.h"

#include <kgc/err.h>
#include <kgc/log.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#define LOG_COMPONENT   "kong-fake-proxy"
#define MAX_BODY        ((size_t)16 << 20)
#define MAX_CONNECTIONS 512

struct conn_info {
    int fd;
    char *sni;
    struct sockaddr_storage addr;  /* the TLS peer */
    struct sockaddr_storage local; /* where the TLS connection arrived */
};

struct kf_proxy_srv {
    struct kf_proxy *p;
    struct kf_listen l;
    unsigned port; /* bound */
    struct MHD_Daemon *d;
    struct kf_tls *tls;
    pthread_mutex_t mu; /* pending */
    struct conn_info **pending;
    size_t n_pending, cap_pending;
};

struct kf_proxy {
    enum kf_flavor flavor;
    bool debug_header;
    pthread_mutex_t mu; /* dp */
    struct kf_dp *dp;
    struct kf_proxy_srv *srvs;
    size_t n;
    void *default_tls;
    struct kf_stream *stream; /* stream.c, NULL without stream_listen */
};

/* ---- per request ---------------------------------------------------------------------------- */

struct req_ctx {
    char *uri; /* the request target as sent */
    char *body;
    size_t len, cap;
    bool started, too_big;
};

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls, (void)c;
    struct req_ctx *r = calloc(1, sizeof(*r));
    if (r) {
        r->uri = strdup(uri ? uri : "/");
        if (!r->uri) {
            free(r);
            r = NULL;
        }
    }
    return r;
}

/* libmicrohttpd percent-decodes the URL it hands to handlers by default; nginx keeps the request
 * target as sent ($request_uri), which Kong's router normalises itself (kf_uri_normalize). An
 * unescape callback that changes nothing keeps every URL libmicrohttpd passes on as sent. */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls, (void)c;
    return strlen(s);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    struct req_ctx *r = *con_cls;
    if (r) {
        free(r->uri);
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    struct kf_hdrs *h = cls;
    if (h->n >= 1000 || kf_hdrs_add(h, key, value ? value : "") != 0) {
        return MHD_NO;
    }
    return MHD_YES;
}

static enum MHD_Result send_resp(struct MHD_Connection *c, const struct kf_presp *resp)
{
    struct MHD_Response *mr = MHD_create_response_from_buffer(
        resp->body_len, resp->body ? resp->body : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (!mr) {
        return MHD_NO;
    }
    for (size_t i = 0; i < resp->headers.n; i++) {
        const struct kf_hdr *h = &resp->headers.v[i];
        if (strcasecmp(h->name, "Content-Length") == 0) {
            continue; /* libmicrohttpd writes it */
        }
        if (MHD_add_response_header(mr, h->name, h->value) != MHD_YES) {
            kgc_debug(LOG_COMPONENT, "response header refused by libmicrohttpd",
                      KGC_F_STR("name", h->name), KGC_F_STR("value", h->value));
        }
    }
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)resp->status, mr);
    MHD_destroy_response(mr);
    return ret;
}

static void addr_str(const struct sockaddr *sa, char *ip, size_t ipsz, unsigned *port)
{
    ip[0] = '\0';
    *port = 0;
    if (!sa) {
        return;
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)ipsz);
        *port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)ipsz);
        *port = ntohs(in6->sin6_port);
    }
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)url;
    struct kf_proxy_srv *srv = cls;
    struct req_ctx *r = *con_cls;
    if (!r) {
        return MHD_NO;
    }
    if (!r->started) {
        r->started = true;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_big || r->len + n > MAX_BODY) {
            r->too_big = true;
            return MHD_YES;
        }
        if (r->len + n > r->cap) {
            size_t cap = r->cap ? r->cap : 4096;
            while (cap < r->len + n) {
                cap *= 2;
            }
            char *nb = realloc(r->body, cap);
            if (!nb) {
                return MHD_NO;
            }
            r->body = nb;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        return MHD_YES;
    }

    struct kf_hdrs hdrs = {0};
    struct kf_presp resp = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &hdrs);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    const struct conn_info *info = ci ? ci->socket_context : NULL;
    char ip[INET6_ADDRSTRLEN] = "";
    unsigned rport = 0;
    if (info && info->addr.ss_family != AF_UNSPEC) {
        addr_str((const struct sockaddr *)&info->addr, ip, sizeof(ip), &rport);
    } else {
        const union MHD_ConnectionInfo *ai =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        addr_str(ai ? ai->client_addr : NULL, ip, sizeof(ip), &rport);
    }
    char lip[INET6_ADDRSTRLEN] = "";
    unsigned lport = 0;
    if (info && info->local.ss_family != AF_UNSPEC) {
        addr_str((const struct sockaddr *)&info->local, lip, sizeof(lip), &lport);
    } else {
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct sockaddr_storage ls;
        socklen_t ll = sizeof(ls);
        if (fi && getsockname(fi->connect_fd, (struct sockaddr *)&ls, &ll) == 0) {
            addr_str((const struct sockaddr *)&ls, lip, sizeof(lip), &lport);
        }
    }
    char *path = strdup(r->uri);
    if (!path) {
        kf_hdrs_free(&hdrs);
        return MHD_NO;
    }
    char *q = strchr(path, '?');
    const char *query = NULL;
    if (q) {
        *q = '\0';
        query = q + 1;
        if (!*query) {
            query = NULL;
        }
    }
    const char *hv = version && strncmp(version, "HTTP/", 5) == 0 ? version + 5 : "1.1";
    struct kf_client_req creq = {
        .method = method,
        .scheme = srv->l.ssl ? "https" : "http",
        .host = kf_hdrs_get(&hdrs, "Host"),
        .path = path,
        .query = query,
        .headers = &hdrs,
        .body = r->body,
        .body_len = r->len,
        .client_ip = ip,
        .port = srv->port,
        .sni = info ? info->sni : NULL,
    };
    struct kf_req_extra x = {
        .request_uri = r->uri,
        .http_version = hv,
        .remote_port = rport,
        .local_ip = lip,
        .debug_header_allowed = srv->p->debug_header,
    };
    x.body_too_big = r->too_big;
    struct kf_dp *dp = kf_proxy_snapshot(srv->p);
    int rc = kf_dp_handle(dp, &creq, &x, &resp);
    kf_dp_unref(dp);
    enum MHD_Result ret;
    if (rc != 0) {
        kf_presp_free(&resp);
        resp.status = 500;
        ret = send_resp(conn, &resp);
    } else {
        ret = send_resp(conn, &resp);
    }
    kf_presp_free(&resp);
    kf_hdrs_free(&hdrs);
    free(path);
    return ret;
}

/* ---- connections handed over by the TLS side ------------------------------------------------- */

static void notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
    struct kf_proxy_srv *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci) {
            return;
        }
        pthread_mutex_lock(&srv->mu);
        for (size_t i = 0; i < srv->n_pending; i++) {
            if (srv->pending[i]->fd == ci->connect_fd) {
                *socket_context = srv->pending[i];
                srv->pending[i] = srv->pending[--srv->n_pending];
                break;
            }
        }
        pthread_mutex_unlock(&srv->mu);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct conn_info *info = *socket_context;
        if (info) {
            free(info->sni);
            free(info);
            *socket_context = NULL;
        }
    }
}

int kf_proxy_srv_add(struct kf_proxy_srv *srv, int fd, const struct sockaddr *addr,
                     unsigned addrlen, const struct sockaddr *local, unsigned locallen,
                     const char *sni)
{
    struct conn_info *info = calloc(1, sizeof(*info));
    if (!info) {
        close(fd);
        return KGC_ENOMEM;
    }
    info->fd = fd;
    info->sni = sni ? strdup(sni) : NULL;
    if (addr && addrlen <= sizeof(info->addr)) {
        memcpy(&info->addr, addr, addrlen);
    }
    if (local && locallen <= sizeof(info->local)) {
        memcpy(&info->local, local, locallen);
    }
    pthread_mutex_lock(&srv->mu);
    if (srv->n_pending == srv->cap_pending) {
        size_t cap = srv->cap_pending ? srv->cap_pending * 2 : 16;
        struct conn_info **v = realloc(srv->pending, cap * sizeof(*v));
        if (!v) {
            pthread_mutex_unlock(&srv->mu);
            free(info->sni);
            free(info);
            close(fd);
            return KGC_ENOMEM;
        }
        srv->pending = v;
        srv->cap_pending = cap;
    }
    srv->pending[srv->n_pending++] = info;
    pthread_mutex_unlock(&srv->mu);
    /* libmicrohttpd wants a socket address; the TLS peer's is the one Kong would see */
    if (MHD_add_connection(srv->d, fd, addr, (socklen_t)addrlen) != MHD_YES) {
        /* it closed fd; drop the pending entry if the notification did not take it */
        pthread_mutex_lock(&srv->mu);
        for (size_t i = 0; i < srv->n_pending; i++) {
            if (srv->pending[i] == info) {
                srv->pending[i] = srv->pending[--srv->n_pending];
                free(info->sni);
                free(info);
                break;
            }
        }
        pthread_mutex_unlock(&srv->mu);
        return KGC_EIO;
    }
    return 0;
}

/* ---- listeners ---------------------------------------------------------------------------------
 */

static int bind_listener(const struct kf_listen *l, int *out, unsigned *port, char *err,
                         size_t errsz)
{
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    memset(&ss, 0, sizeof(ss));
    if (l->port > 65535) {
        snprintf(err, errsz, "%s: invalid port", l->host);
        return KGC_EINVAL;
    }
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (strcmp(l->bind_host, "*") == 0) {
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_ANY);
        in->sin_port = htons((uint16_t)l->port);
        sl = sizeof(*in);
    } else if (inet_pton(AF_INET, l->bind_host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)l->port);
        sl = sizeof(*in);
    } else if (inet_pton(AF_INET6, l->bind_host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)l->port);
        sl = sizeof(*in6);
    } else {
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        struct addrinfo *res = NULL;
        if (getaddrinfo(l->bind_host, NULL, &hints, &res) != 0 || !res ||
            res->ai_addrlen > sizeof(ss)) {
            if (res) {
                freeaddrinfo(res);
            }
            snprintf(err, errsz, "%s: cannot resolve", l->bind_host);
            return KGC_EINVAL;
        }
        memcpy(&ss, res->ai_addr, res->ai_addrlen);
        sl = res->ai_addrlen;
        freeaddrinfo(res);
        if (ss.ss_family == AF_INET) {
            in->sin_port = htons((uint16_t)l->port);
        } else {
            in6->sin6_port = htons((uint16_t)l->port);
        }
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errsz, "socket: %s", strerror(errno));
        return KGC_EIO;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (l->reuseport) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    }
    if (ss.ss_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)); /* nginx's default */
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
        listen(fd, l->backlog > 0 ? l->backlog : 511) != 0) {
        snprintf(err, errsz, "%s:%u: %s", l->host, l->port, strerror(errno));
        close(fd);
        return KGC_EIO;
    }
    struct sockaddr_storage b;
    socklen_t bl = sizeof(b);
    getsockname(fd, (struct sockaddr *)&b, &bl);
    *port = ntohs(b.ss_family == AF_INET ? ((struct sockaddr_in *)&b)->sin_port
                                         : ((struct sockaddr_in6 *)&b)->sin6_port);
    *out = fd;
    return 0;
}

static int start_srv(struct kf_proxy *p, struct kf_proxy_srv *srv, char *err, size_t errsz)
{
    int fd = -1;
    int rc = bind_listener(&srv->l, &fd, &srv->port, err, errsz);
    if (rc != 0) {
        return rc;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC;
    if (srv->l.ssl) {
        flags |= MHD_USE_NO_LISTEN_SOCKET;
    }
    srv->d = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, srv, MHD_OPTION_URI_LOG_CALLBACK, uri_log, srv,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, srv, MHD_OPTION_NOTIFY_COMPLETED, completed,
        srv, MHD_OPTION_NOTIFY_CONNECTION, notify_conn, srv, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        srv->l.ssl ? MHD_OPTION_END : MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_END);
    if (!srv->d) {
        close(fd);
        snprintf(err, errsz, "%s:%u: libmicrohttpd did not start", srv->l.host, srv->port);
        return KGC_EIO;
    }
    if (srv->l.ssl) {
        rc = kf_tls_start(srv, fd, p->default_tls, &srv->tls, err, errsz);
        if (rc != 0) {
            close(fd);
            return rc;
        }
    }
    return 0;
}

int kf_proxy_start(const struct kf_proxy_options *o, struct kf_proxy **out, char *err, size_t errsz)
{
    *out = NULL;
    struct kf_proxy *p = calloc(1, sizeof(*p));
    if (!p) {
        return KGC_ENOMEM;
    }
    p->flavor = o->flavor;
    p->debug_header = o->debug_header;
    pthread_mutex_init(&p->mu, NULL);
    struct kf_listen *ls = NULL;
    size_t n = 0;
    int rc = 0;
    if (o->proxy_listen && strcmp(o->proxy_listen, "off") != 0) {
        rc = kf_listen_parse(o->proxy_listen, &ls, &n, NULL, err, errsz);
    }
    if (rc != 0) {
        pthread_mutex_destroy(&p->mu);
        free(p);
        return rc;
    }
    p->srvs = calloc(n ? n : 1, sizeof(*p->srvs));
    if (!p->srvs) {
        free(ls);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return KGC_ENOMEM;
    }
    char derr[256] = "";
    p->dp = kf_dp_new(NULL, p->flavor, derr, sizeof(derr));
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (ls[i].ssl && !p->default_tls) {
            p->default_tls = kf_tls_default_new(p, err, errsz);
            if (!p->default_tls) {
                rc = KGC_EINVAL;
                break;
            }
        }
        struct kf_proxy_srv *srv = &p->srvs[i];
        srv->p = p;
        srv->l = ls[i];
        pthread_mutex_init(&srv->mu, NULL);
        p->n = i + 1;
        rc = start_srv(p, srv, err, errsz);
    }
    free(ls);
    if (rc == 0 && o->stream_listen && strcmp(o->stream_listen, "off") != 0) {
        if (!p->default_tls && strstr(o->stream_listen, "ssl")) {
            p->default_tls = kf_tls_default_new(p, err, errsz);
            rc = p->default_tls ? 0 : KGC_EINVAL;
        }
        struct kf_stream_options so = {.stream_listen = o->stream_listen,
                                       .backend_cert = o->stream_backend_cert,
                                       .idle_ms = o->stream_idle_ms,
                                       .max_conns = o->stream_max_conns};
        rc = rc ? rc : kf_stream_start(p, &so, p->default_tls, &p->stream, err, errsz);
    }
    if (rc != 0) {
        kf_proxy_stop(p);
        return rc;
    }
    *out = p;
    return 0;
}

unsigned kf_proxy_stream_port(const struct kf_proxy *p, size_t i)
{
    unsigned port = 0;
    return p && kf_stream_listener(p->stream, i, &port) ? port : 0;
}

unsigned kf_proxy_port(const struct kf_proxy *p, size_t i)
{
    return p && i < p->n ? p->srvs[i].port : 0;
}

struct kf_dp *kf_proxy_snapshot(struct kf_proxy *p)
{
    pthread_mutex_lock(&p->mu);
    struct kf_dp *dp = kf_dp_ref(p->dp);
    pthread_mutex_unlock(&p->mu);
    return dp;
}

int kf_proxy_set_config(struct kf_proxy *p, json_object *entities)
{
    char err[512] = "";
    struct kf_dp *dp = kf_dp_new(entities, p->flavor, err, sizeof(err));
    if (!dp) {
        kgc_error(LOG_COMPONENT, "configuration not installed in the proxy",
                  KGC_F_STR("error", err));
        return KGC_ENOMEM;
    }
    pthread_mutex_lock(&p->mu);
    struct kf_dp *old = p->dp;
    p->dp = dp;
    pthread_mutex_unlock(&p->mu);
    kf_dp_unref(old);
    return 0;
}

void kf_proxy_stop(struct kf_proxy *p)
{
    if (!p) {
        return;
    }
    kf_stream_stop(p->stream);
    for (size_t i = 0; i < p->n; i++) {
        struct kf_proxy_srv *srv = &p->srvs[i];
        if (srv->tls) {
            kf_tls_stop(srv->tls);
        }
    }
    for (size_t i = 0; i < p->n; i++) {
        struct kf_proxy_srv *srv = &p->srvs[i];
        if (srv->d) {
            MHD_stop_daemon(srv->d); /* closes a plain listener's socket */
        }
        for (size_t k = 0; k < srv->n_pending; k++) {
            free(srv->pending[k]->sni);
            free(srv->pending[k]);
        }
        free(srv->pending);
        pthread_mutex_destroy(&srv->mu);
    }
    kf_tls_ctx_free(p->default_tls);
    kf_dp_unref(p->dp);
    pthread_mutex_destroy(&p->mu);
    free(p->srvs);
    free(p);
}

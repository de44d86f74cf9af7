/* stream — the test Kong's stream listeners (Kong 3.9.1's stream subsystem,
 * kong/templates/nginx_kong_stream.lua:87-228), up to the point where nginx would connect to the
 * upstream; there the test Kong answers the connection itself: one JSON line telling what was
 * chosen (README.md "Stream"), then an echo of what the client sends.
 *
 *   tcp listener   the router runs at once (preread, kong/init.lua:1052-1103) with scheme tcp
 *   udp listener   every datagram is routed and balanced, one reply datagram each
 *   ssl listener   the ClientHello is read without consuming it (nginx ssl_preread) for the SNI;
 *                  the router runs in the "preread block" (handler.lua:1087-1105): a tls route
 *                  terminates TLS here (certificate by SNI, as proxy_tls.c) and routes again; a
 *                  tls_passthrough route routes again on the preread SNI and hands the still
 *                  encrypted connection to a stand-in backend that speaks TLS itself
 *
 * Threads: one accept/receive thread per listener, one detached thread per TCP connection (at
 * most max_conns over all listeners; more are closed at once). Every read is bounded by idle_ms;
 * kf_stream_stop() shuts every connection down and waits for the threads. A connection holds a
 * snapshot reference (kf_proxy_snapshot) for its routing decisions only. */
#include "proxy_internal.h"

#include <kgc/err.h>
#include <kgc/log.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define LOG_COMPONENT "kong-fake-stream"
#define MAX_HELLO     16384 /* bytes of ClientHello handshake the preread reads at most */
#define UDP_MAX       65536
#define UDP_ECHO      512

/* ---- the ClientHello's server_name (nginx ngx_stream_ssl_preread_module) ------------------- */

static size_t be16(const unsigned char *p)
{
    return (size_t)p[0] << 8 | p[1];
}

/* The SNI of a ClientHello handshake message body (after the 4-byte handshake header), RFC 8446
 * 4.1.2 / RFC 6066 3: the first host_name entry of the server_name extension. */
static int hello_sni(const unsigned char *b, size_t n, char *sni, size_t snisz)
{
    size_t o = 2 + 32; /* legacy_version, random */
    if (o + 1 > n) {
        return KF_HELLO_NOT_TLS;
    }
    o += 1 + b[o]; /* legacy_session_id */
    if (o + 2 > n) {
        return KF_HELLO_NOT_TLS;
    }
    o += 2 + be16(b + o); /* cipher_suites */
    if (o + 1 > n) {
        return KF_HELLO_NOT_TLS;
    }
    o += 1 + b[o]; /* legacy_compression_methods */
    if (o == n) {
        return KF_HELLO_DONE; /* no extensions (SSLv3-style hello) */
    }
    if (o + 2 > n) {
        return KF_HELLO_NOT_TLS;
    }
    size_t end = o + 2 + be16(b + o);
    if (end > n) {
        return KF_HELLO_NOT_TLS;
    }
    for (o += 2; o + 4 <= end;) {
        size_t type = be16(b + o), len = be16(b + o + 2);
        o += 4;
        if (o + len > end) {
            return KF_HELLO_NOT_TLS;
        }
        if (type == 0) { /* server_name */
            if (len < 2 || 2 + be16(b + o) > len) {
                return KF_HELLO_NOT_TLS;
            }
            size_t le = o + 2 + be16(b + o);
            for (size_t e = o + 2; e + 3 <= le;) {
                size_t nlen = be16(b + e + 1);
                if (e + 3 + nlen > le) {
                    return KF_HELLO_NOT_TLS;
                }
                if (b[e] == 0) { /* host_name */
                    if (nlen == 0 || nlen >= snisz || memchr(b + e + 3, '\0', nlen)) {
                        return KF_HELLO_NOT_TLS;
                    }
                    memcpy(sni, b + e + 3, nlen);
                    sni[nlen] = '\0';
                    return KF_HELLO_DONE;
                }
                e += 3 + nlen;
            }
            return KF_HELLO_DONE;
        }
        o += len;
    }
    return KF_HELLO_DONE;
}

int kf_tls_hello_sni(const unsigned char *buf, size_t len, char *sni, size_t snisz, size_t *need)
{
    sni[0] = '\0';
    *need = 0;
    unsigned char hs[MAX_HELLO];
    size_t hl = 0, o = 0;
    /* handshake records, their fragments joined (the ClientHello may span several) */
    for (;;) {
        if (o + 5 > len) {
            *need = o + 5;
            return KF_HELLO_NEED_MORE;
        }
        if (buf[o] != 0x16 || buf[o + 1] != 3) {
            return KF_HELLO_NOT_TLS; /* nginx: not a handshake record, preread declines */
        }
        size_t rl = be16(buf + o + 3);
        if (rl == 0 || rl > 16384 + 2048) {
            return KF_HELLO_NOT_TLS;
        }
        if (o + 5 + rl > len) {
            *need = o + 5 + rl;
            return KF_HELLO_NEED_MORE;
        }
        size_t take = rl < sizeof(hs) - hl ? rl : sizeof(hs) - hl;
        memcpy(hs + hl, buf + o + 5, take);
        hl += take;
        o += 5 + rl;
        if (hl >= 4) {
            if (hs[0] != 1) {
                return KF_HELLO_NOT_TLS; /* not a ClientHello */
            }
            size_t ml = (size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3];
            if (ml + 4 > sizeof(hs)) {
                return KF_HELLO_NOT_TLS; /* bigger than the preread reads */
            }
            if (hl >= ml + 4) {
                return hello_sni(hs + 4, ml, sni, snisz);
            }
        }
        if (hl >= sizeof(hs)) {
            return KF_HELLO_NOT_TLS;
        }
    }
}

/* ---- the server ------------------------------------------------------------------------------ */

struct sconn;

struct ssrv {
    struct kf_stream *s;
    struct kf_listen l;
    int fd;
    unsigned port;
    pthread_t th;
    bool started;
};

struct kf_stream {
    struct kf_proxy *p;
    struct ssrv *srvs;
    size_t n;
    int stop_pipe[2];
    void *default_tls; /* borrowed from the proxy */
    void *backend_tls; /* owned */
    unsigned idle_ms, max_conns;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t active;
    bool stopping;
    bool full; /* the last connection was refused for max_conns (logged once) */
    struct sconn *conns;
};

struct sconn {
    struct ssrv *srv;
    int fd;
    struct sockaddr_storage addr;
    struct sconn *next, *prev;
};

static void addr_str(const struct sockaddr_storage *ss, char *ip, size_t ipsz, unsigned *port)
{
    ip[0] = '\0';
    *port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)ipsz);
        *port = ntohs(in->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)ipsz);
        *port = ntohs(in6->sin6_port);
    }
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool send_all(int fd, const char *buf, size_t n)
{
    while (n) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        buf += w;
        n -= (size_t)w;
    }
    return true;
}

/* The answer line: res->answer plus the connection's facts. Caller frees. */
static char *answer_line(json_object *a, const char *scheme, bool passthrough, const char *sni,
                         unsigned port, const char *cip, unsigned cport, size_t *len)
{
    json_object_object_add(a, "protocol", json_object_new_string(scheme));
    json_object_object_add(a, "passthrough", json_object_new_boolean(passthrough));
    json_object_object_add(a, "sni", sni && *sni ? json_object_new_string(sni) : NULL);
    json_object_object_add(a, "port", json_object_new_int((int)port));
    char client[128];
    bool v6 = strchr(cip, ':') != NULL;
    snprintf(client, sizeof(client), "%s%s%s:%u", v6 ? "[" : "", cip, v6 ? "]" : "", cport);
    json_object_object_add(a, "client", json_object_new_string(client));
    size_t l = 0;
    const char *s = json_object_to_json_string_length(
        a, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &l);
    char *out = s ? malloc(l + 2) : NULL;
    if (out) {
        memcpy(out, s, l);
        out[l] = '\n';
        out[l + 1] = '\0';
        *len = l + 1;
    }
    return out;
}

/* Waits until fd is readable (or closed) for at most the idle timeout; false on timeout. */
static bool wait_readable(int fd, unsigned ms)
{
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN | POLLRDHUP};
        int pr = poll(&pf, 1, (int)ms);
        if (pr < 0 && errno == EINTR) {
            continue;
        }
        return pr > 0;
    }
}

/* Plain echo until EOF, an error or the idle timeout. */
static void echo_plain(int fd, unsigned idle_ms)
{
    char buf[16384];
    while (wait_readable(fd, idle_ms)) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || !send_all(fd, buf, (size_t)n)) {
            return;
        }
    }
}

/* TLS echo until close_notify/EOF, an error or the idle timeout. */
static void echo_tls(SSL *ssl, int fd, unsigned idle_ms)
{
    char buf[16384];
    for (;;) {
        if (SSL_pending(ssl) <= 0 && !wait_readable(fd, idle_ms)) {
            return;
        }
        int n = SSL_read(ssl, buf, sizeof(buf));
        if (n <= 0) {
            int e = SSL_get_error(ssl, n);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                continue;
            }
            return;
        }
        if (SSL_write(ssl, buf, n) <= 0) {
            return;
        }
    }
}

/* Reads the ClientHello without consuming it (MSG_PEEK, the kernel waking us only once the bytes
 * the parser needs are there: SO_RCVLOWAT). Returns the parser's verdict; KF_HELLO_NEED_MORE
 * here means the client went quiet, closed or sent more than the preread reads. */
static int preread(int fd, unsigned idle_ms, char *sni, size_t snisz)
{
    unsigned char *buf = malloc(MAX_HELLO + 5 * 8 + 2048);
    if (!buf) {
        return KF_HELLO_NEED_MORE;
    }
    size_t cap = MAX_HELLO + 5 * 8 + 2048;
    long long deadline = mono_ms() + idle_ms;
    size_t need = 5;
    int v = KF_HELLO_NEED_MORE;
    for (;;) {
        if (need > cap) {
            break;
        }
        int lowat = (int)need;
        setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat));
        long long left = deadline - mono_ms();
        if (left <= 0) {
            break;
        }
        struct pollfd pf = {.fd = fd, .events = POLLIN | POLLRDHUP};
        int pr = poll(&pf, 1, (int)left);
        if (pr < 0 && errno == EINTR) {
            continue;
        }
        if (pr <= 0) {
            break;
        }
        ssize_t n = recv(fd, buf, cap, MSG_PEEK | MSG_DONTWAIT);
        if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
            break;
        }
        size_t got = n > 0 ? (size_t)n : 0;
        v = kf_tls_hello_sni(buf, got, sni, snisz, &need);
        if (v != KF_HELLO_NEED_MORE) {
            break;
        }
        if (pf.revents & (POLLRDHUP | POLLHUP | POLLERR)) {
            break; /* closed before the hello was complete */
        }
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
    free(buf);
    return v;
}

static const char *outcome_name(enum kf_stream_outcome o)
{
    switch (o) {
    case KF_STREAM_NO_ROUTE:
        return "no route";
    case KF_STREAM_UNEXPECTED:
        return "unexpected protocols";
    case KF_STREAM_NO_SERVICE:
        return "no service";
    case KF_STREAM_NO_PEER:
        return "no peer";
    default:
        return "proxied";
    }
}

static void serve_conn(struct sconn *c)
{
    struct ssrv *srv = c->srv;
    struct kf_stream *s = srv->s;
    char cip[INET6_ADDRSTRLEN] = "", lip[INET6_ADDRSTRLEN] = "";
    unsigned cport = 0, lport = 0;
    addr_str(&c->addr, cip, sizeof(cip), &cport);
    struct sockaddr_storage local;
    socklen_t ll = sizeof(local);
    if (getsockname(c->fd, (struct sockaddr *)&local, &ll) == 0) {
        addr_str(&local, lip, sizeof(lip), &lport);
    }
    struct timeval tv = {.tv_sec = s->idle_ms / 1000, .tv_usec = (s->idle_ms % 1000) * 1000};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct kf_dp *dp = kf_proxy_snapshot(s->p);
    struct kf_stream_req q = {
        .src_ip = cip, .src_port = cport, .dst_ip = lip, .dst_port = srv->port};
    struct kf_stream_res res;
    char sni[256] = "";
    SSL *ssl = NULL;
    bool passthrough = false;
    if (srv->l.ssl) {
        int v = preread(c->fd, s->idle_ms, sni, sizeof(sni));
        if (v == KF_HELLO_NEED_MORE) {
            kgc_info(LOG_COMPONENT, "closed: no complete ClientHello in time",
                     KGC_F_STR("client", cip), KGC_F_INT("port", srv->port));
            goto done;
        }
        q.preread_block = true;
        q.sni = sni[0] ? sni : NULL;
        if (kf_dp_stream(dp, &q, &res) != 0) {
            goto done;
        }
        if (res.outcome != KF_STREAM_TERMINATE && res.outcome != KF_STREAM_PASSTHROUGH) {
            kgc_debug(LOG_COMPONENT, "closed", KGC_F_STR("why", outcome_name(res.outcome)));
            goto done;
        }
        passthrough = res.outcome == KF_STREAM_PASSTHROUGH;
        q.preread_block = false;
        if (!passthrough) {
            /* the TLS terminator (nginx_kong_stream.lua:96-98,113-125): Kong's certificate by
             * SNI, then the router again with server_name() */
            ssl = SSL_new(s->default_tls);
            if (!ssl || SSL_set_fd(ssl, c->fd) != 1 || SSL_accept(ssl) != 1) {
                goto done;
            }
            const char *sn = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
            snprintf(sni, sizeof(sni), "%s", sn ? sn : "");
            q.sni = sni[0] ? sni : NULL;
        }
    }
    q.preread_block = false;
    if (kf_dp_stream(dp, &q, &res) != 0) {
        goto done;
    }
    if (res.outcome != KF_STREAM_PROXY) {
        kgc_debug(LOG_COMPONENT, "closed", KGC_F_STR("why", outcome_name(res.outcome)));
        goto done;
    }
    if (passthrough) {
        /* the upstream speaks TLS itself: the stand-in backend terminates */
        ssl = SSL_new(s->backend_tls);
        if (!ssl || SSL_set_fd(ssl, c->fd) != 1 || SSL_accept(ssl) != 1) {
            json_object_put(res.answer);
            goto done;
        }
    }
    size_t len = 0;
    char *line =
        answer_line(res.answer, res.scheme, passthrough, q.sni, srv->port, cip, cport, &len);
    json_object_put(res.answer);
    kf_dp_unref(dp);
    dp = NULL;
    if (!line) {
        goto done;
    }
    bool ok = ssl ? SSL_write(ssl, line, (int)len) > 0 : send_all(c->fd, line, len);
    free(line);
    if (ok) {
        if (ssl) {
            echo_tls(ssl, c->fd, s->idle_ms);
            SSL_shutdown(ssl);
        } else {
            echo_plain(c->fd, s->idle_ms);
        }
    }
done:
    kf_dp_unref(dp);
    if (ssl) {
        SSL_free(ssl);
    }
    ERR_clear_error();
}

static void *conn_main(void *arg)
{
    struct sconn *c = arg;
    struct kf_stream *s = c->srv->s;
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    serve_conn(c);
    OPENSSL_thread_stop();
    pthread_mutex_lock(&s->mu);
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        s->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    close(c->fd);
    free(c);
    s->active--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void accept_one(struct ssrv *srv)
{
    struct kf_stream *s = srv->s;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = accept4(srv->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
    if (fd < 0) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    if (s->stopping || s->active >= s->max_conns) {
        /* logged once per episode of being full, not once per refused connection */
        bool log = !s->stopping && !s->full;
        s->full = true;
        pthread_mutex_unlock(&s->mu);
        if (log) {
            kgc_warn(LOG_COMPONENT, "connections refused: too many stream connections",
                     KGC_F_INT("max", s->max_conns));
        }
        close(fd);
        return;
    }
    s->full = false;
    struct sconn *c = calloc(1, sizeof(*c));
    if (!c) {
        pthread_mutex_unlock(&s->mu);
        close(fd);
        return;
    }
    c->srv = srv;
    c->fd = fd;
    c->addr = ss;
    c->next = s->conns;
    if (s->conns) {
        s->conns->prev = c;
    }
    s->conns = c;
    s->active++;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    if (pthread_create(&th, &attr, conn_main, c) != 0) {
        s->conns = c->next;
        if (c->next) {
            c->next->prev = NULL;
        }
        s->active--;
        close(fd);
        free(c);
    }
    pthread_attr_destroy(&attr);
    pthread_mutex_unlock(&s->mu);
}

/* One datagram: routed and balanced on its own, one reply (or none). */
static void udp_one(struct ssrv *srv, unsigned char *buf)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    ssize_t n =
        recvfrom(srv->fd, buf, UDP_MAX, MSG_TRUNC | MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
    if (n < 0) {
        return;
    }
    size_t full = (size_t)n, got = full < UDP_MAX ? full : UDP_MAX;
    char cip[INET6_ADDRSTRLEN];
    unsigned cport = 0;
    addr_str(&ss, cip, sizeof(cip), &cport);
    struct kf_dp *dp = kf_proxy_snapshot(srv->s->p);
    struct kf_stream_req q = {.udp = true,
                              .src_ip = cip,
                              .src_port = cport,
                              .dst_ip = srv->l.bind_host,
                              .dst_port = srv->port};
    struct kf_stream_res res;
    int rc = kf_dp_stream(dp, &q, &res);
    kf_dp_unref(dp);
    if (rc != 0 || res.outcome != KF_STREAM_PROXY) {
        return;
    }
    char echo[UDP_ECHO + 1];
    size_t el = got < UDP_ECHO ? got : UDP_ECHO;
    for (size_t i = 0; i < el; i++) {
        echo[i] = buf[i] >= 0x20 && buf[i] < 0x7f ? (char)buf[i] : '.';
    }
    echo[el] = '\0';
    json_object_object_add(res.answer, "bytes", json_object_new_int64((int64_t)full));
    json_object_object_add(res.answer, "echo", json_object_new_string(echo));
    size_t len = 0;
    char *line = answer_line(res.answer, res.scheme, false, NULL, srv->port, cip, cport, &len);
    json_object_put(res.answer);
    if (line) {
        sendto(srv->fd, line, len - 1, MSG_DONTWAIT, (struct sockaddr *)&ss, sl);
        free(line);
    }
}

static void *srv_main(void *arg)
{
    struct ssrv *srv = arg;
    unsigned char *buf = srv->l.udp ? malloc(UDP_MAX) : NULL;
    for (;;) {
        struct pollfd pf[2] = {{.fd = srv->fd, .events = POLLIN},
                               {.fd = srv->s->stop_pipe[0], .events = POLLIN}};
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (pf[1].revents) {
            break;
        }
        if (!(pf[0].revents & POLLIN)) {
            continue;
        }
        if (srv->l.udp) {
            if (buf) {
                udp_one(srv, buf);
            }
        } else {
            accept_one(srv);
        }
    }
    free(buf);
    OPENSSL_thread_stop();
    return NULL;
}

static int bind_stream(struct ssrv *srv, char *err, size_t errsz)
{
    const struct kf_listen *l = &srv->l;
    if (l->port > 65535) {
        snprintf(err, errsz, "%s: invalid port", l->host);
        return KGC_EINVAL;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = l->udp ? SOCK_DGRAM : SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char port[8];
    snprintf(port, sizeof(port), "%u", l->port);
    const char *host = strcmp(l->bind_host, "*") == 0 ? "0.0.0.0" : l->bind_host;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res) {
        snprintf(err, errsz, "%s: cannot resolve", l->bind_host);
        return KGC_EINVAL;
    }
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        snprintf(err, errsz, "socket: %s", strerror(errno));
        return KGC_EIO;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (l->reuseport) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    }
    if (res->ai_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)); /* nginx's default */
    }
    int rc = bind(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc != 0 || (!l->udp && listen(fd, l->backlog > 0 ? l->backlog : 511) != 0)) {
        snprintf(err, errsz, "%s:%u: %s", l->host, l->port, strerror(errno));
        close(fd);
        return KGC_EIO;
    }
    struct sockaddr_storage b;
    socklen_t bl = sizeof(b);
    getsockname(fd, (struct sockaddr *)&b, &bl);
    char ip[INET6_ADDRSTRLEN];
    addr_str(&b, ip, sizeof(ip), &srv->port);
    srv->fd = fd;
    return 0;
}

int kf_stream_start(struct kf_proxy *p, const struct kf_stream_options *o, void *default_tls,
                    struct kf_stream **out, char *err, size_t errsz)
{
    *out = NULL;
    struct kf_listen *ls = NULL;
    size_t n = 0;
    int rc = kf_stream_listen_parse(o->stream_listen, &ls, &n, NULL, err, errsz);
    if (rc != 0) {
        return rc;
    }
    struct kf_stream *s = calloc(1, sizeof(*s));
    if (!s || !(s->srvs = calloc(n ? n : 1, sizeof(*s->srvs)))) {
        free(s);
        free(ls);
        return KGC_ENOMEM;
    }
    s->p = p;
    s->default_tls = default_tls;
    s->idle_ms = o->idle_ms ? o->idle_ms : 10000;
    s->max_conns = o->max_conns ? o->max_conns : 256;
    s->stop_pipe[0] = s->stop_pipe[1] = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pipe2(s->stop_pipe, O_CLOEXEC) != 0) {
        snprintf(err, errsz, "pipe: %s", strerror(errno));
        rc = KGC_EIO;
    }
    bool any_ssl = false;
    for (size_t i = 0; i < n; i++) {
        any_ssl = any_ssl || ls[i].ssl;
    }
    if (rc == 0 && any_ssl) {
        if (!default_tls) {
            snprintf(err, errsz, "no TLS context");
            rc = KGC_EINVAL;
        } else if (!(s->backend_tls = kf_tls_backend_ctx(o->backend_cert, err, errsz))) {
            rc = KGC_EINVAL;
        }
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct ssrv *srv = &s->srvs[i];
        srv->s = s;
        srv->l = ls[i];
        srv->fd = -1;
        s->n = i + 1;
        rc = bind_stream(srv, err, errsz);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (pthread_create(&s->srvs[i].th, NULL, srv_main, &s->srvs[i]) != 0) {
            snprintf(err, errsz, "cannot start a stream listener thread");
            rc = KGC_EIO;
        } else {
            s->srvs[i].started = true;
        }
    }
    free(ls);
    if (rc != 0) {
        kf_stream_stop(s);
        return rc;
    }
    *out = s;
    return 0;
}

size_t kf_stream_count(const struct kf_stream *s)
{
    return s ? s->n : 0;
}

const struct kf_listen *kf_stream_listener(const struct kf_stream *s, size_t i, unsigned *port)
{
    if (!s || i >= s->n) {
        return NULL;
    }
    *port = s->srvs[i].port;
    return &s->srvs[i].l;
}

void kf_stream_stop(struct kf_stream *s)
{
    if (!s) {
        return;
    }
    if (s->stop_pipe[1] >= 0) {
        ssize_t w = write(s->stop_pipe[1], "x", 1);
        (void)w;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (s->srvs[i].started) {
            pthread_join(s->srvs[i].th, NULL);
        }
    }
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    for (struct sconn *c = s->conns; c; c = c->next) {
        shutdown(c->fd, SHUT_RDWR);
    }
    while (s->active > 0) {
        pthread_cond_wait(&s->cv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        if (s->srvs[i].fd >= 0) {
            close(s->srvs[i].fd);
        }
    }
    if (s->stop_pipe[0] >= 0) {
        close(s->stop_pipe[0]);
        close(s->stop_pipe[1]);
    }
    kf_tls_ctx_free(s->backend_tls);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->srvs);
    free(s);
}

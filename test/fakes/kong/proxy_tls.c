/* proxy_tls — TLS termination for the test Kong's `ssl` proxy listeners (OpenSSL).
 *
 * An accept thread per TLS listener; each accepted connection gets its own thread (at most
 * MAX_TLS_CONNS per listener; more are closed at once) that completes the handshake — the SNI
 * callback picks the certificate as kong/runloop/certificate.lua does, through the current
 * snapshot (kf_dp_ssl_ctx), else Kong's default certificate — then hands one end of a socketpair
 * to the listener's libmicrohttpd daemon (kf_proxy_srv_add, with the SNI and the peer address)
 * and copies bytes both ways until either side closes or 60 s pass idle.
 *
 * libssl and libcrypto are linked (Makefile PKGS), called directly.
 * kf_tls_stop() closes the listen socket and every connection and waits for the threads. */
#include "proxy_internal.h"

#include <kgc/err.h>
#include <kgc/log.h>

#include <errno.h>
#include <fcntl.h>
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

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define LOG_COMPONENT "kong-fake-proxy"
#define MAX_TLS_CONNS 128
#define IDLE_MS       60000
#define HANDSHAKE_S   10

void kf_tls_ctx_free(void *ctx)
{
    if (ctx) {
        SSL_CTX_free(ctx);
    }
}

/* ---- certificates ---------------------------------------------------------------------------- */

static void ssl_err(char *err, size_t errsz, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[200] = "";
    if (e) {
        ERR_error_string_n(e, buf, sizeof(buf));
    }
    snprintf(err, errsz, "%s%s%s", what, buf[0] ? ": " : "", buf);
    ERR_clear_error();
}

/* the certificate (and its chain) and key into ctx */
static bool load_pair(SSL_CTX *ctx, const char *cert, const char *key, char *err, size_t errsz)
{
    BIO *b = BIO_new_mem_buf(cert, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    if (!x || SSL_CTX_use_certificate(ctx, x) != 1) {
        X509_free(x);
        BIO_free(b);
        ssl_err(err, errsz, "could not parse PEM certificate");
        return false;
    }
    X509_free(x);
    X509 *chain;
    while ((chain = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        SSL_CTX_add1_chain_cert(ctx, chain);
        X509_free(chain);
    }
    ERR_clear_error(); /* the end of the PEM stream */
    BIO_free(b);
    b = BIO_new_mem_buf(key, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!k || SSL_CTX_use_PrivateKey(ctx, k) != 1) {
        EVP_PKEY_free(k);
        ssl_err(err, errsz, "could not parse PEM private key");
        return false;
    }
    EVP_PKEY_free(k);
    return true;
}

void *kf_tls_cert_ctx(const char *cert, const char *key, const char *cert_alt, const char *key_alt,
                      char *err, size_t errsz)
{
    err[0] = '\0';
    if (!cert || !key) {
        return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ssl_err(err, errsz, "SSL_CTX_new");
        return NULL;
    }
    if (!load_pair(ctx, cert, key, err, errsz) ||
        (cert_alt && key_alt && !load_pair(ctx, cert_alt, key_alt, err, errsz))) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* A self-signed certificate as kong/cmd/utils/prefix_handler.lua:103-176 (3.9.1) makes it:
 * v3, random 16-byte serial, valid 20 years from now, subject = issuer = C=US, ST=California,
 * L=San Francisco, O=Kong, OU=IT Department, CN=localhost; basicConstraints CA:FALSE (critical),
 * extendedKeyUsage serverAuth,clientAuth, subjectKeyIdentifier hash; signed with its own key. */
static X509 *self_signed(EVP_PKEY *key, const char *cn)
{
    X509 *x = X509_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    bool ok = x && RAND_bytes(serial, sizeof(serial)) == 1 &&
              (bn = BN_bin2bn(serial, sizeof(serial), NULL)) != NULL &&
              BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
              X509_set_version(x, 2) == 1 && X509_set_pubkey(x, key) == 1;
    BN_free(bn);
    time_t now = time(NULL);
    ok = ok && X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &now) != NULL &&
         X509_time_adj_ex(X509_getm_notAfter(x), 20 * 365, 0, &now) != NULL;
    X509_NAME *name = ok ? X509_get_subject_name(x) : NULL;
    const char *const rdn[][2] = {{"C", "US"},   {"ST", "California"},    {"L", "San Francisco"},
                                  {"O", "Kong"}, {"OU", "IT Department"}, {"CN", cn}};
    for (size_t i = 0; ok && i < sizeof(rdn) / sizeof(rdn[0]); i++) {
        ok = X509_NAME_add_entry_by_txt(name, rdn[i][0], MBSTRING_ASC,
                                        (const unsigned char *)rdn[i][1], -1, -1, 0) == 1;
    }
    ok = ok && X509_set_issuer_name(x, name) == 1;
    X509V3_CTX v3;
    static const char *const ext[][2] = {{"basicConstraints", "critical,CA:FALSE"},
                                         {"extendedKeyUsage", "serverAuth,clientAuth"},
                                         {"subjectKeyIdentifier", "hash"}};
    if (ok) {
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    }
    for (size_t i = 0; ok && i < sizeof(ext) / sizeof(ext[0]); i++) {
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v3, ext[i][0], ext[i][1]);
        ok = e && X509_add_ext(x, e, -1) == 1;
        X509_EXTENSION_free(e);
    }
    ok = ok && X509_sign(x, key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int sni_callback(SSL *ssl, int *alert, void *arg)
{
    (void)alert;
    struct kf_proxy *p = arg;
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!sni) {
        return SSL_TLSEXT_ERR_NOACK; /* the default certificate */
    }
    struct kf_dp *dp = kf_proxy_snapshot(p);
    SSL_CTX *ctx = kf_dp_ssl_ctx(dp, sni);
    if (ctx) {
        SSL_set_SSL_CTX(ssl, ctx); /* takes its own reference */
    }
    kf_dp_unref(dp);
    return SSL_TLSEXT_ERR_OK;
}

void *kf_tls_default_new(struct kf_proxy *p, char *err, size_t errsz)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ssl_err(err, errsz, "SSL_CTX_new");
        return NULL;
    }
    /* RSA 2048 and ECDSA prime256v1, as prefix_handler.lua:133-138 */
    EVP_PKEY *keys[2] = {EVP_RSA_gen(2048), EVP_EC_gen("P-256")};
    bool ok = true;
    for (size_t i = 0; i < 2; i++) {
        X509 *x = keys[i] ? self_signed(keys[i], "localhost") : NULL;
        ok = ok && x && SSL_CTX_use_certificate(ctx, x) == 1 &&
             SSL_CTX_use_PrivateKey(ctx, keys[i]) == 1;
        X509_free(x);
        EVP_PKEY_free(keys[i]);
    }
    if (!ok) {
        ssl_err(err, errsz, "could not generate the default certificate");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_tlsext_servername_callback(ctx, sni_callback);
    SSL_CTX_set_tlsext_servername_arg(ctx, p);
    return ctx;
}

void *kf_tls_backend_ctx(const char *pem_file, char *err, size_t errsz)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ssl_err(err, errsz, "SSL_CTX_new");
        return NULL;
    }
    bool ok;
    if (pem_file) {
        ok = SSL_CTX_use_certificate_chain_file(ctx, pem_file) == 1 &&
             SSL_CTX_use_PrivateKey_file(ctx, pem_file, SSL_FILETYPE_PEM) == 1;
        if (!ok) {
            ssl_err(err, errsz, "cannot load the certificate and key");
        }
    } else {
        EVP_PKEY *key = EVP_EC_gen("P-256");
        X509 *x = key ? self_signed(key, "kgc-test-kong-stream-backend") : NULL;
        ok = x && SSL_CTX_use_certificate(ctx, x) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1;
        X509_free(x);
        EVP_PKEY_free(key);
        if (!ok) {
            ssl_err(err, errsz, "could not generate the backend certificate");
        }
    }
    if (!ok) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* ---- connections ------------------------------------------------------------------------------
 */

struct tls_conn {
    struct kf_tls *t;
    int fd;
    int local; /* our end of the socketpair, -1 until the handshake is done (under t->mu) */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct tls_conn *next, *prev;
};

struct kf_tls {
    struct kf_proxy_srv *srv;
    SSL_CTX *ctx;
    int fd;
    int stop_pipe[2];
    pthread_t accept_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t active;
    bool stopping;
    struct tls_conn *conns;
};

static bool write_all(int fd, const char *buf, size_t n)
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

/* Copies between the TLS peer and libmicrohttpd's end of the socketpair. */
static void pump(SSL *ssl, int net, int local)
{
    char buf[16384];
    bool net_open = true;
    for (;;) {
        if (net_open && SSL_pending(ssl) > 0) {
            int n = SSL_read(ssl, buf, sizeof(buf));
            if (n <= 0 || !write_all(local, buf, (size_t)n)) {
                return;
            }
            continue;
        }
        struct pollfd pf[2] = {{.fd = net, .events = net_open ? POLLIN : 0},
                               {.fd = local, .events = POLLIN}};
        int pr = poll(pf, 2, IDLE_MS);
        if (pr < 0 && errno == EINTR) {
            continue;
        }
        if (pr <= 0) {
            return; /* idle */
        }
        if (net_open && (pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            int n = SSL_read(ssl, buf, sizeof(buf));
            if (n <= 0) {
                int e = SSL_get_error(ssl, n);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                    continue;
                }
                /* the client is done sending: let the daemon finish its answer */
                net_open = false;
                shutdown(local, SHUT_WR);
            } else if (!write_all(local, buf, (size_t)n)) {
                return;
            }
        }
        if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(local, buf, sizeof(buf), 0);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                SSL_shutdown(ssl);
                return;
            }
            if (SSL_write(ssl, buf, (int)n) <= 0) {
                return;
            }
        }
    }
}

static void *conn_main(void *arg)
{
    struct tls_conn *c = arg;
    struct kf_tls *t = c->t;
    /* OpenSSL writes with write(): a peer gone away must give EPIPE, not kill the process */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    struct timeval tv = {.tv_sec = HANDSHAKE_S};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    SSL *ssl = SSL_new(t->ctx);
    if (ssl && SSL_set_fd(ssl, c->fd) == 1 && SSL_accept(ssl) == 1) {
        struct timeval idle = {.tv_sec = IDLE_MS / 1000};
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0) {
            pthread_mutex_lock(&t->mu);
            c->local = sp[0];
            bool stopping = t->stopping;
            pthread_mutex_unlock(&t->mu);
            if (stopping) {
                shutdown(sp[0], SHUT_RDWR);
            }
            const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
            struct sockaddr_storage local;
            socklen_t locallen = sizeof(local);
            if (getsockname(c->fd, (struct sockaddr *)&local, &locallen) != 0) {
                locallen = 0;
            }
            if (kf_proxy_srv_add(t->srv, sp[1], (struct sockaddr *)&c->addr, c->addrlen,
                                 locallen ? (struct sockaddr *)&local : NULL, locallen, sni) == 0) {
                pump(ssl, c->fd, sp[0]);
            }
            pthread_mutex_lock(&t->mu);
            c->local = -1;
            close(sp[0]);
            pthread_mutex_unlock(&t->mu);
        }
    }
    ERR_clear_error();
    if (ssl) {
        SSL_free(ssl);
    }
    /* this thread's OpenSSL state (error queue, per-thread DRBGs) now, not in a thread-exit
     * destructor that may run after the process has started exiting */
    OPENSSL_thread_stop();
    pthread_mutex_lock(&t->mu);
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        t->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    close(c->fd);
    free(c);
    t->active--;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct kf_tls *t = arg;
    for (;;) {
        struct pollfd pf[2] = {{.fd = t->fd, .events = POLLIN},
                               {.fd = t->stop_pipe[0], .events = POLLIN}};
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (pf[1].revents) {
            break;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(t->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        pthread_mutex_lock(&t->mu);
        if (t->stopping || t->active >= MAX_TLS_CONNS) {
            pthread_mutex_unlock(&t->mu);
            close(fd);
            continue;
        }
        struct tls_conn *c = calloc(1, sizeof(*c));
        if (!c) {
            pthread_mutex_unlock(&t->mu);
            close(fd);
            continue;
        }
        c->t = t;
        c->fd = fd;
        c->local = -1;
        c->addr = ss;
        c->addrlen = sl;
        c->next = t->conns;
        if (t->conns) {
            t->conns->prev = c;
        }
        t->conns = c;
        t->active++;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_t th;
        int rc = pthread_create(&th, &attr, conn_main, c);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            t->conns = c->next;
            if (c->next) {
                c->next->prev = NULL;
            }
            t->active--;
            close(fd);
            free(c);
        }
        pthread_mutex_unlock(&t->mu);
    }
    return NULL;
}

int kf_tls_start(struct kf_proxy_srv *srv, int fd, void *default_ctx, struct kf_tls **out,
                 char *err, size_t errsz)
{
    *out = NULL;
    if (!default_ctx) {
        snprintf(err, errsz, "no TLS context");
        return KGC_EINVAL;
    }
    struct kf_tls *t = calloc(1, sizeof(*t));
    if (!t) {
        return KGC_ENOMEM;
    }
    t->srv = srv;
    t->ctx = default_ctx;
    t->fd = fd;
    if (pipe2(t->stop_pipe, O_CLOEXEC) != 0) {
        free(t);
        snprintf(err, errsz, "pipe: %s", strerror(errno));
        return KGC_EIO;
    }
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (pthread_create(&t->accept_thread, NULL, accept_main, t) != 0) {
        close(t->stop_pipe[0]);
        close(t->stop_pipe[1]);
        pthread_mutex_destroy(&t->mu);
        pthread_cond_destroy(&t->cv);
        free(t);
        snprintf(err, errsz, "cannot start the TLS accept thread");
        return KGC_EIO;
    }
    *out = t;
    return 0;
}

void kf_tls_stop(struct kf_tls *t)
{
    if (!t) {
        return;
    }
    ssize_t w = write(t->stop_pipe[1], "x", 1);
    (void)w;
    pthread_join(t->accept_thread, NULL);
    pthread_mutex_lock(&t->mu);
    t->stopping = true;
    for (struct tls_conn *c = t->conns; c; c = c->next) {
        shutdown(c->fd, SHUT_RDWR);
        if (c->local >= 0) {
            shutdown(c->local, SHUT_RDWR);
        }
    }
    while (t->active > 0) {
        pthread_cond_wait(&t->cv, &t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    close(t->fd);
    close(t->stop_pipe[0]);
    close(t->stop_pipe[1]);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}

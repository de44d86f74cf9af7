/* The REST client: a pool of curl easy handles (each on its own multi handle, so a cancel token
 * can wake it), a share handle for TLS sessions and DNS, bearer tokens re-read on rotation, a
 * token-bucket rate limiter, Status decoding, paginated lists and streaming watches. */
#include "kgc/k8s.h"
#include "kgc/base.h"
#include "kgc/jsonscan.h"

#include "kgc/log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#ifndef KGC_VERSION
#define KGC_VERSION "dev"
#endif

#define POOL_MAX            16
#define ERROR_BODY_MAX      (64 * 1024) /* a refused watch's Status body */
#define TOKEN_MAX           (64 * 1024)
#define POLL_MS             1000       /* the longest a transfer waits between checks */
#define WATCH_TIMEOUT_SLACK 30         /* seconds past timeoutSeconds before curl gives up */
#define TAPE_KEEP_MAX       (1u << 20) /* a watch keeps the tape of events below this size */
#define TAPE_KEEP_NODES     65536u     /* ... and of at most this many nodes (1.3 MB) */

void kgc_k8s_options_default(struct kgc_k8s_options *o)
{
    memset(o, 0, sizeof(*o));
    o->qps = 0; /* no client-side limit: the API server's priority and fairness (pkg/config) */
    o->burst = 100;
    o->timeout_ns = 30 * KGC_NS_PER_S;
    o->connect_timeout_ns = 10 * KGC_NS_PER_S;
    o->watch_event_max_bytes = 8u * 1024 * 1024;
    o->response_max_bytes = 256u * 1024 * 1024;
    o->watch_idle_timeout_ns = 150 * KGC_NS_PER_S;
    o->token_recheck_ns = 1 * KGC_NS_PER_S;
}

/* --- cancel token ----------------------------------------------------------------------------- */

struct kgc_k8s_cancel {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* wakes rate-limit waits */
    bool fired;
    CURLM *active; /* the multi handle of the call running with this token, or NULL */
};

struct kgc_k8s_cancel *kgc_k8s_cancel_new(void)
{
    struct kgc_k8s_cancel *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    kgc_base_cond_init(&c->cv);
    return c;
}

void kgc_k8s_cancel_free(struct kgc_k8s_cancel *c)
{
    if (!c)
        return;
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void kgc_k8s_cancel_fire(struct kgc_k8s_cancel *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->fired = true;
    if (c->active)
        curl_multi_wakeup(c->active);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

bool kgc_k8s_cancel_fired(struct kgc_k8s_cancel *c)
{
    if (!c)
        return false;
    pthread_mutex_lock(&c->mu);
    bool f = c->fired;
    pthread_mutex_unlock(&c->mu);
    return f;
}

/* Registers m as the running call; false when already cancelled. */
static bool cancel_attach(struct kgc_k8s_cancel *c, CURLM *m)
{
    if (!c)
        return true;
    pthread_mutex_lock(&c->mu);
    bool ok = !c->fired;
    if (ok)
        c->active = m;
    pthread_mutex_unlock(&c->mu);
    return ok;
}

static void cancel_detach(struct kgc_k8s_cancel *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->active = NULL;
    pthread_mutex_unlock(&c->mu);
}

/* Sleeps ns, or less when the token fires; false when cancelled. */
static bool cancel_sleep(struct kgc_k8s_cancel *c, uint64_t ns)
{
    if (!c) {
        uint64_t t = kgc_clock_now(NULL) + ns;
        struct timespec ts = {.tv_sec = (time_t)(t / KGC_NS_PER_S),
                              .tv_nsec = (long)(t % KGC_NS_PER_S)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        return true;
    }
    return kgc_base_sleep_or_stop(&c->cv, &c->mu, ns, &c->fired);
}

/* --- client ----------------------------------------------------------------------------------- */

struct pooled {
    CURL *easy;
    CURLM *multi; /* holds the connection cache of this handle */
};

struct kgc_k8s_client {
    struct kgc_k8s_config cfg; /* deep copy */
    struct kgc_k8s_options opts;
    char user_agent[96];

    pthread_mutex_t token_mu; /* guards the token fields */
    char *token;              /* current bearer token (from cfg or the file), or NULL */
    struct timespec token_mtime;
    ino_t token_ino;
    off_t token_size;
    uint64_t token_checked_ns;

    pthread_mutex_t bucket_mu;
    struct kgc_k8s_bucket bucket;

    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];

    pthread_mutex_t pool_mu;
    struct pooled pool[POOL_MAX];
    size_t n_pool;

    uint64_t st_requests, st_errors, st_throttled, st_throttle_wait_ns; /* atomic */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *u)
{
    (void)h;
    (void)access;
    struct kgc_k8s_client *c = u;
    pthread_mutex_lock(&c->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *u)
{
    (void)h;
    struct kgc_k8s_client *c = u;
    pthread_mutex_unlock(&c->share_mu[data]);
}

static int dup_blob(unsigned char **dst, size_t *dlen, const unsigned char *src, size_t len)
{
    *dst = NULL;
    *dlen = 0;
    if (!src)
        return 0;
    *dst = malloc(len + 1);
    if (!*dst)
        return KGC_ENOMEM;
    memcpy(*dst, src, len);
    (*dst)[len] = '\0';
    *dlen = len;
    return 0;
}

static int dup_str(char **dst, const char *src)
{
    *dst = src ? strdup(src) : NULL;
    return src && !*dst ? KGC_ENOMEM : 0;
}

static int copy_config(struct kgc_k8s_config *d, const struct kgc_k8s_config *s)
{
    int rc = 0;
    rc |= dup_str(&d->server, s->server);
    rc |= dup_str(&d->ca_file, s->ca_file);
    rc |= dup_blob(&d->ca_data, &d->ca_data_len, s->ca_data, s->ca_data_len);
    d->insecure = s->insecure;
    rc |= dup_str(&d->token, s->token);
    rc |= dup_str(&d->token_file, s->token_file);
    rc |= dup_str(&d->client_cert_file, s->client_cert_file);
    rc |= dup_blob(&d->client_cert_data, &d->client_cert_data_len, s->client_cert_data,
                   s->client_cert_data_len);
    rc |= dup_str(&d->client_key_file, s->client_key_file);
    rc |= dup_blob(&d->client_key_data, &d->client_key_data_len, s->client_key_data,
                   s->client_key_data_len);
    rc |= dup_str(&d->namespace, s->namespace);
    rc |= dup_str(&d->source, s->source);
    return rc ? KGC_ENOMEM : 0;
}

static void free_config_fields(struct kgc_k8s_config *d)
{
    free(d->server);
    free(d->ca_file);
    free(d->ca_data);
    free(d->token);
    free(d->token_file);
    free(d->client_cert_file);
    free(d->client_cert_data);
    free(d->client_key_file);
    free(d->client_key_data);
    free(d->namespace);
    free(d->source);
}

int kgc_k8s_client_new(const struct kgc_k8s_config *cfg, const struct kgc_k8s_options *opts,
                       struct kgc_k8s_client **out, struct kgc_err *err)
{
    *out = NULL;
    if (!cfg || !cfg->server ||
        (strncmp(cfg->server, "https://", 8) != 0 && strncmp(cfg->server, "http://", 7) != 0))
        return kgc_err_set(err, KGC_EINVAL, "the server must be an http:// or https:// URL");
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return kgc_err_set(err, KGC_ENOMEM, "curl_global_init: %s",
                           curl_easy_strerror(curl_init_rc));
    struct kgc_k8s_client *c = calloc(1, sizeof(*c));
    if (!c)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    if (opts)
        c->opts = *opts;
    else
        kgc_k8s_options_default(&c->opts);
    c->opts.kubeconfig = NULL; /* borrowed strings are not kept */
    c->opts.context = NULL;
    snprintf(c->user_agent, sizeof(c->user_agent), "%s",
             opts && opts->user_agent ? opts->user_agent : "kgc/" KGC_VERSION);
    c->opts.user_agent = NULL;
    if (c->opts.watch_event_max_bytes == 0)
        c->opts.watch_event_max_bytes = 8u * 1024 * 1024;
    if (c->opts.response_max_bytes == 0)
        c->opts.response_max_bytes = 256u * 1024 * 1024;
    pthread_mutex_init(&c->token_mu, NULL);
    pthread_mutex_init(&c->bucket_mu, NULL);
    pthread_mutex_init(&c->pool_mu, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_mu[i], NULL);
    kgc_k8s_bucket_init(&c->bucket, c->opts.qps, c->opts.burst, kgc_clock_now(NULL));

    if (copy_config(&c->cfg, cfg) != 0 || (cfg->token && !(c->token = strdup(cfg->token)))) {
        kgc_k8s_client_free(c);
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    }
    c->share = curl_share_init();
    if (!c->share) {
        kgc_k8s_client_free(c);
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    }
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    if ((cfg->token || cfg->token_file) && strncmp(cfg->server, "http://", 7) == 0)
        kgc_warn("k8s", "a bearer token will be sent over plain http",
                 KGC_F_STR("server", cfg->server));
    *out = c;
    return 0;
}

void kgc_k8s_client_free(struct kgc_k8s_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_pool; i++) {
        curl_easy_cleanup(c->pool[i].easy);
        curl_multi_cleanup(c->pool[i].multi);
    }
    if (c->share)
        curl_share_cleanup(c->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_mu[i]);
    pthread_mutex_destroy(&c->pool_mu);
    pthread_mutex_destroy(&c->bucket_mu);
    pthread_mutex_destroy(&c->token_mu);
    free(c->token);
    free_config_fields(&c->cfg);
    free(c);
}

const char *kgc_k8s_client_server(const struct kgc_k8s_client *c)
{
    return c->cfg.server;
}

void kgc_k8s_client_stats(struct kgc_k8s_client *c, struct kgc_k8s_client_stats *out)
{
    out->requests = __atomic_load_n(&c->st_requests, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&c->st_errors, __ATOMIC_RELAXED);
    out->throttled = __atomic_load_n(&c->st_throttled, __ATOMIC_RELAXED);
    out->throttle_wait_ns = __atomic_load_n(&c->st_throttle_wait_ns, __ATOMIC_RELAXED);
}

static int pool_get(struct kgc_k8s_client *c, struct pooled *out)
{
    pthread_mutex_lock(&c->pool_mu);
    if (c->n_pool > 0) {
        *out = c->pool[--c->n_pool];
        pthread_mutex_unlock(&c->pool_mu);
        return 0;
    }
    pthread_mutex_unlock(&c->pool_mu);
    out->easy = curl_easy_init();
    out->multi = curl_multi_init();
    if (!out->easy || !out->multi) {
        curl_easy_cleanup(out->easy);
        curl_multi_cleanup(out->multi);
        return KGC_ENOMEM;
    }
    return 0;
}

static void pool_put(struct kgc_k8s_client *c, struct pooled *p)
{
    pthread_mutex_lock(&c->pool_mu);
    if (c->n_pool < POOL_MAX) {
        c->pool[c->n_pool++] = *p;
        pthread_mutex_unlock(&c->pool_mu);
        return;
    }
    pthread_mutex_unlock(&c->pool_mu);
    curl_easy_cleanup(p->easy);
    curl_multi_cleanup(p->multi);
}

/* --- tokens ----------------------------------------------------------------------------------- */

/* Re-reads the token file when its identity, size or mtime changed (checked at most every
 * token_recheck_ns). Called with token_mu held. */
static int refresh_token(struct kgc_k8s_client *c, struct kgc_err *err)
{
    uint64_t now = kgc_clock_now(NULL);
    if (c->token && now - c->token_checked_ns < c->opts.token_recheck_ns)
        return 0;
    c->token_checked_ns = now;
    struct stat st;
    if (stat(c->cfg.token_file, &st) != 0) {
        if (c->token)
            return 0; /* keep the last good token; the server will say if it expired */
        return kgc_err_set(err, KGC_EACCES, "cannot read the token file %s: %s", c->cfg.token_file,
                           strerror(errno));
    }
    if (c->token && st.st_ino == c->token_ino && st.st_size == c->token_size &&
        st.st_mtim.tv_sec == c->token_mtime.tv_sec && st.st_mtim.tv_nsec == c->token_mtime.tv_nsec)
        return 0;
    FILE *f = fopen(c->cfg.token_file, "rb");
    char *buf = malloc(TOKEN_MAX + 1);
    size_t n = 0;
    if (f && buf)
        n = fread(buf, 1, TOKEN_MAX, f);
    if (f)
        fclose(f);
    if (!f || !buf) {
        free(buf);
        if (c->token)
            return 0;
        return kgc_err_set(err, KGC_EACCES, "cannot read the token file %s", c->cfg.token_file);
    }
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (n == 0 || strpbrk(buf, "\r\n")) {
        free(buf);
        if (c->token)
            return 0;
        return kgc_err_set(err, KGC_EACCES, "the token file %s holds no token", c->cfg.token_file);
    }
    free(c->token);
    c->token = buf;
    c->token_ino = st.st_ino;
    c->token_size = st.st_size;
    c->token_mtime = st.st_mtim;
    return 0;
}

/* Appends the Authorization header (if any) to *h. */
static int add_auth(struct kgc_k8s_client *c, struct curl_slist **h, struct kgc_err *err)
{
    int rc = 0;
    pthread_mutex_lock(&c->token_mu);
    if (c->cfg.token_file && !c->cfg.token)
        rc = refresh_token(c, err);
    if (rc == 0 && c->token) {
        size_t n = strlen(c->token) + 32;
        char *hdr = malloc(n);
        if (!hdr) {
            rc = kgc_err_set(err, KGC_ENOMEM, "out of memory");
        } else {
            snprintf(hdr, n, "Authorization: Bearer %s", c->token);
            struct curl_slist *nh = curl_slist_append(*h, hdr);
            memset(hdr, 0, n);
            free(hdr);
            if (!nh)
                rc = kgc_err_set(err, KGC_ENOMEM, "out of memory");
            else
                *h = nh;
        }
    }
    pthread_mutex_unlock(&c->token_mu);
    return rc;
}

/* --- rate limit ------------------------------------------------------------------------------- */

static int throttle(struct kgc_k8s_client *c, struct kgc_k8s_cancel *cancel, struct kgc_err *err)
{
    pthread_mutex_lock(&c->bucket_mu);
    uint64_t wait = kgc_k8s_bucket_reserve(&c->bucket, kgc_clock_now(NULL));
    pthread_mutex_unlock(&c->bucket_mu);
    if (wait == 0)
        return 0;
    __atomic_add_fetch(&c->st_throttled, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&c->st_throttle_wait_ns, wait, __ATOMIC_RELAXED);
    if (!cancel_sleep(cancel, wait))
        return kgc_err_set(err, KGC_ESHUTDOWN, "cancelled");
    return 0;
}

/* --- transfers -------------------------------------------------------------------------------- */

struct xfer {
    struct kgc_k8s_client *c;
    CURL *easy;
    /* the body (every response except a streaming watch's 200) */
    struct kgc_base_buf body; /* capped at the most bytes read and a NUL; err KGC_E2BIG: over */
    /* a watch */
    bool is_watch;
    bool streaming; /* a 200 watch response: bytes go to the stream splitter */
    bool decided;   /* the response code was looked at */
    struct kgc_k8s_watch_stream ws;
    struct kgc_jsonscan_tape tape; /* the current event's values (memory reused across events) */
    kgc_k8s_event_fn fn;
    void *ctx;
    int stop_rc; /* why the write callback stopped the transfer (0: it did not) */
    struct kgc_err *err;
    uint64_t last_data_ns;
};

static int on_line(const char *line, size_t len, void *ctx)
{
    struct xfer *x = ctx;
    struct kgc_k8s_event ev;
    int rc = kgc_k8s_event_parse(line, len, &x->tape, &ev, x->err);
    if (rc == 0)
        rc = x->fn(&ev, x->ctx);
    if (len >= TAPE_KEEP_MAX || x->tape.cap > TAPE_KEEP_NODES) {
        /* a big event's tape is not kept for the small ones that follow */
        kgc_jsonscan_tape_free(&x->tape);
        kgc_jsonscan_release(len);
    }
    return rc;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    x->last_data_ns = kgc_clock_now(NULL);
    if (x->is_watch && !x->decided) {
        long code = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        x->decided = true;
        x->streaming = code == 200;
        if (!x->streaming)
            x->body.max = ERROR_BODY_MAX + 1;
    }
    if (x->streaming) {
        int rc = kgc_k8s_watch_stream_feed(&x->ws, data, n, on_line, x);
        if (rc != 0) {
            if (rc == KGC_E2BIG)
                kgc_err_set(x->err, KGC_E2BIG, "a watch event exceeds %zu bytes", x->ws.max_line);
            x->stop_rc = rc;
            return 0; /* abort the transfer */
        }
        return n;
    }
    return kgc_base_buf_add(&x->body, data, n) == 0 ? n : 0;
}

static void pct_encode(char *dst, size_t size, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 <= size; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            dst[o++] = (char)ch;
        } else {
            dst[o++] = '%';
            dst[o++] = hex[ch >> 4];
            dst[o++] = hex[ch & 15];
        }
    }
    dst[o] = '\0';
}

/* Appends "&key=value" (value percent-encoded) to q. */
static void query_add(char *q, size_t size, const char *key, const char *value)
{
    if (!value)
        return;
    size_t len = strlen(q);
    char *enc = malloc(strlen(value) * 3 + 1);
    if (!enc)
        return;
    pct_encode(enc, strlen(value) * 3 + 1, value);
    snprintf(q + len, size - len, "%s%s=%s", len ? "&" : "", key, enc);
    free(enc);
}

static int curl_to_rc(CURLcode cc)
{
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return KGC_ETIMEDOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
        return KGC_ECONNECT;
    case CURLE_OUT_OF_MEMORY:
        return KGC_ENOMEM;
    default:
        return KGC_EIO;
    }
}

/* Runs one transfer to completion (or cancellation / idle timeout). Returns 0 with *code set
 * when a response arrived, else an error. */
static int perform(struct kgc_k8s_client *c, const char *method, const char *path,
                   const char *query, const char *content_type, const char *body, size_t body_len,
                   uint64_t timeout_ns, struct xfer *x, struct kgc_k8s_cancel *cancel, long *code,
                   bool *idle_out, struct kgc_err *err)
{
    *code = 0;
    if (idle_out)
        *idle_out = false;
    int rc = throttle(c, cancel, err);
    if (rc != 0)
        return rc;
    __atomic_add_fetch(&c->st_requests, 1, __ATOMIC_RELAXED);

    size_t ulen = strlen(c->cfg.server) + strlen(path) + (query ? strlen(query) : 0) + 2;
    char *url = malloc(ulen);
    if (!url)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    snprintf(url, ulen, "%s%s%s%s", c->cfg.server, path, query && query[0] ? "?" : "",
             query ? query : "");

    struct curl_slist *h = NULL, *nh;
    char ct[128];
    snprintf(ct, sizeof(ct), "Content-Type: %s", content_type ? content_type : "application/json");
    nh = curl_slist_append(h, "Accept: application/json");
    if (nh)
        h = nh;
    if (nh && body && (nh = curl_slist_append(h, ct)))
        h = nh;
    if (nh && (nh = curl_slist_append(h, "Expect:")))
        h = nh;
    if (!nh) {
        curl_slist_free_all(h);
        free(url);
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    }
    rc = add_auth(c, &h, err);
    if (rc != 0) {
        curl_slist_free_all(h);
        free(url);
        return rc;
    }

    struct pooled p;
    if (pool_get(c, &p) != 0) {
        curl_slist_free_all(h);
        free(url);
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    }
    CURL *e = p.easy;
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_reset(e);
    x->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->opts.connect_timeout_ns / 1000000));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout_ns / 1000000));
    if (c->cfg.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->cfg.ca_data) {
        struct curl_blob b = {c->cfg.ca_data, c->cfg.ca_data_len, CURL_BLOB_NOCOPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
    } else if (c->cfg.ca_file) {
        curl_easy_setopt(e, CURLOPT_CAINFO, c->cfg.ca_file);
    }
    if (c->cfg.client_cert_data) {
        struct curl_blob b = {c->cfg.client_cert_data, c->cfg.client_cert_data_len,
                              CURL_BLOB_NOCOPY};
        curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
    } else if (c->cfg.client_cert_file) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, c->cfg.client_cert_file);
    }
    if (c->cfg.client_key_data) {
        struct curl_blob b = {c->cfg.client_key_data, c->cfg.client_key_data_len, CURL_BLOB_NOCOPY};
        curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
    } else if (c->cfg.client_key_file) {
        curl_easy_setopt(e, CURLOPT_SSLKEY, c->cfg.client_key_file);
    }
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0 && !body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
    }

    bool cancelled = false, idle = false;
    CURLcode cc = CURLE_OK;
    x->last_data_ns = kgc_clock_now(NULL);
    if (!cancel_attach(cancel, p.multi)) {
        cancelled = true;
    } else if (curl_multi_add_handle(p.multi, e) != CURLM_OK) {
        cancel_detach(cancel);
        cc = CURLE_OUT_OF_MEMORY;
    } else {
        int running = 1;
        for (;;) {
            CURLMcode mc = curl_multi_perform(p.multi, &running);
            if (mc != CURLM_OK) {
                cc = CURLE_RECV_ERROR;
                break;
            }
            if (!running)
                break;
            if (kgc_k8s_cancel_fired(cancel)) {
                cancelled = true;
                break;
            }
            if (x->is_watch && c->opts.watch_idle_timeout_ns &&
                kgc_clock_now(NULL) - x->last_data_ns > c->opts.watch_idle_timeout_ns) {
                idle = true;
                break;
            }
            curl_multi_poll(p.multi, NULL, 0, POLL_MS, NULL);
        }
        if (!cancelled && !idle && running == 0) {
            int left;
            CURLMsg *m;
            while ((m = curl_multi_info_read(p.multi, &left))) {
                if (m->msg == CURLMSG_DONE)
                    cc = m->data.result;
            }
        }
        curl_multi_remove_handle(p.multi, e);
        cancel_detach(cancel);
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, code);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    pool_put(c, &p);
    curl_slist_free_all(h);

    if (cancelled)
        rc = kgc_err_set(err, KGC_ESHUTDOWN, "%s %s: cancelled", method, path);
    else if (idle) {
        if (idle_out)
            *idle_out = true;
        rc = 0;
    } else if (x->stop_rc)
        rc = x->stop_rc; /* err was filled where the stop was decided */
    else if (x->body.err == KGC_E2BIG)
        rc = kgc_err_set(err, KGC_E2BIG, "%s %s: response larger than %zu bytes", method, path,
                         x->body.max - 1);
    else if (cc != CURLE_OK) {
        rc = curl_to_rc(cc);
        kgc_err_set(err, rc, "%s %s: %s", method, path,
                    errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
    free(url);
    if (rc != 0 && rc != KGC_ESHUTDOWN)
        __atomic_add_fetch(&c->st_errors, 1, __ATOMIC_RELAXED);
    return rc;
}

/* Fills st and err from an HTTP error response; returns the mapped code. */
static int http_error(struct kgc_k8s_client *c, const char *method, const char *path, long code,
                      const char *body, size_t len, struct kgc_k8s_status *st, struct kgc_err *err)
{
    struct kgc_k8s_status local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof(*st));
    json_object *j = NULL;
    /* A Status is a handful of values: anything bigger is kept as text, never built. */
    static const struct kgc_jsonscan_limits status_lim = {.max_values = 1000, .max_depth = 32};
    if (body && len)
        (void)kgc_jsonscan_parse(body, len, &status_lim, "Status", &j, NULL);
    if (!kgc_k8s_status_decode(j, st)) {
        memset(st, 0, sizeof(*st));
        /* Not a Status: keep a printable prefix of the body as the message. */
        size_t n = 0;
        for (size_t i = 0; body && i < len && n + 1 < sizeof(st->message); i++)
            st->message[n++] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : ' ';
        st->message[n] = '\0';
    }
    json_object_put(j);
    if (st->code == 0 || st->code != (int)code)
        st->code = (int)code;
    int rc = kgc_k8s_code_for_status((int)code, st->reason);
    kgc_err_set(err, rc, "%s %s: HTTP %ld%s%s: %s", method, path, code, st->reason[0] ? " " : "",
                st->reason, st->message[0] ? st->message : "(no message)");
    __atomic_add_fetch(&c->st_errors, 1, __ATOMIC_RELAXED);
    return rc;
}

int kgc_k8s_request(struct kgc_k8s_client *c, const char *method, const char *path,
                    const char *query, const char *content_type, const char *body, size_t body_len,
                    struct kgc_k8s_cancel *cancel, struct kgc_k8s_response *resp,
                    struct kgc_k8s_status *st, struct kgc_err *err)
{
    memset(resp, 0, sizeof(*resp));
    if (st)
        memset(st, 0, sizeof(*st));
    struct xfer x = {.c = c, .body = {.max = c->opts.response_max_bytes + 1}, .err = err};
    long code = 0;
    int rc = perform(c, method, path, query, content_type, body, body_len, c->opts.timeout_ns, &x,
                     cancel, &code, NULL, err);
    if (rc != 0) {
        kgc_base_buf_free(&x.body);
        return rc;
    }
    resp->http_code = (int)code;
    resp->body = kgc_base_buf_take(&x.body, &resp->len);
    if (!resp->body)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    if (code >= 400 || code < 200)
        return http_error(c, method, path, code, resp->body, resp->len, st, err);
    return 0;
}

static int parse_body(const struct kgc_k8s_response *r, const char *what, json_object **out,
                      struct kgc_err *err)
{
    *out = NULL;
    static const struct kgc_jsonscan_limits lim = {.max_values = KGC_K8S_OBJECT_MAX_VALUES,
                                                   .max_containers = KGC_K8S_OBJECT_MAX_CONTAINERS};
    json_object *j = NULL;
    int rc = kgc_jsonscan_parse(r->body, r->len, &lim, what, &j, err);
    if (rc == KGC_E2BIG || rc == KGC_ENOMEM)
        return rc;
    if (rc || !json_object_is_type(j, json_type_object)) {
        json_object_put(j);
        return kgc_err_set(err, KGC_EPARSE, "%s: the response is not a JSON object", what);
    }
    *out = j;
    return 0;
}

static int json_call(struct kgc_k8s_client *c, const char *method, const char *path,
                     const char *content_type, json_object *body, json_object **out,
                     struct kgc_k8s_status *st, struct kgc_err *err)
{
    if (out)
        *out = NULL;
    size_t blen = 0;
    const char *btext =
        body ? json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &blen) : NULL;
    if (body && !btext)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    struct kgc_k8s_response r;
    int rc = kgc_k8s_request(c, method, path, NULL, content_type, btext, blen, NULL, &r, st, err);
    if (rc == 0 && out)
        rc = parse_body(&r, path, out, err);
    free(r.body);
    return rc;
}

int kgc_k8s_get(struct kgc_k8s_client *c, const char *path, json_object **out,
                struct kgc_k8s_status *st, struct kgc_err *err)
{
    return json_call(c, "GET", path, NULL, NULL, out, st, err);
}

int kgc_k8s_create(struct kgc_k8s_client *c, const char *collection_path, json_object *body,
                   json_object **out, struct kgc_k8s_status *st, struct kgc_err *err)
{
    return json_call(c, "POST", collection_path, "application/json", body, out, st, err);
}

int kgc_k8s_update(struct kgc_k8s_client *c, const char *path, json_object *body, json_object **out,
                   struct kgc_k8s_status *st, struct kgc_err *err)
{
    return json_call(c, "PUT", path, "application/json", body, out, st, err);
}

int kgc_k8s_merge_patch(struct kgc_k8s_client *c, const char *path, json_object *patch,
                        json_object **out, struct kgc_k8s_status *st, struct kgc_err *err)
{
    return json_call(c, "PATCH", path, "application/merge-patch+json", patch, out, st, err);
}

/* path + "/status" (malloc'd), or NULL when out of memory. */
static char *status_path(const char *path)
{
    size_t n = strlen(path) + sizeof("/status");
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/status", path);
    return p;
}

int kgc_k8s_patch_status(struct kgc_k8s_client *c, const char *path, json_object *patch,
                         json_object **out, struct kgc_k8s_status *st, struct kgc_err *err)
{
    char *p = status_path(path);
    if (!p)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    int rc = kgc_k8s_merge_patch(c, p, patch, out, st, err);
    free(p);
    return rc;
}

void kgc_k8s_object_rv(const char *text, size_t len, char *rv, size_t rv_size)
{
    if (rv_size)
        rv[0] = '\0';
    struct kgc_jsonscan_iter top, md;
    const char *key, *val;
    size_t klen, vlen;
    if (!text || kgc_jsonscan_iter_start(&top, text, len, '{', "object", NULL) != 0)
        return;
    while (kgc_jsonscan_iter_next(&top, &key, &klen, &val, &vlen, NULL) == 1) {
        if (!kgc_jsonscan_key_is(key, klen, "metadata"))
            continue;
        if (kgc_jsonscan_iter_start(&md, val, vlen, '{', "metadata", NULL) != 0)
            return;
        while (kgc_jsonscan_iter_next(&md, &key, &klen, &val, &vlen, NULL) == 1) {
            if (!kgc_jsonscan_key_is(key, klen, "resourceVersion"))
                continue;
            /* a plain string: "digits" (the API server never escapes one) */
            if (vlen < 2 || val[0] != '"' || val[vlen - 1] != '"' || vlen - 2 >= rv_size ||
                memchr(val + 1, '\\', vlen - 2))
                return;
            memcpy(rv, val + 1, vlen - 2);
            rv[vlen - 2] = '\0';
            return;
        }
        return;
    }
}

int kgc_k8s_patch_status_rv(struct kgc_k8s_client *c, const char *path, json_object *patch,
                            char *rv, size_t rv_size, struct kgc_k8s_status *st,
                            struct kgc_err *err)
{
    if (rv_size)
        rv[0] = '\0';
    char *p = status_path(path);
    if (!p)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    size_t blen = 0;
    const char *btext = json_object_to_json_string_length(patch, JSON_C_TO_STRING_PLAIN, &blen);
    if (!btext) {
        free(p);
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    }
    struct kgc_k8s_response r;
    int rc = kgc_k8s_request(c, "PATCH", p, NULL, "application/merge-patch+json", btext, blen, NULL,
                             &r, st, err);
    if (rc == 0)
        kgc_k8s_object_rv(r.body, r.len, rv, rv_size);
    free(r.body);
    free(p);
    return rc;
}

int kgc_k8s_delete(struct kgc_k8s_client *c, const char *path, struct kgc_k8s_status *st,
                   struct kgc_err *err)
{
    static const char body[] = "{\"propagationPolicy\":\"Background\"}";
    struct kgc_k8s_response r;
    int rc = kgc_k8s_request(c, "DELETE", path, NULL, "application/json", body, sizeof(body) - 1,
                             NULL, &r, st, err);
    free(r.body);
    return rc;
}

/* --- paths ------------------------------------------------------------------------------------ */

static bool safe_segment(const char *s)
{
    if (!s || !s[0])
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == '?' || ch == '#' || ch == '%')
            return false;
    }
    return strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int kgc_k8s_path(char *buf, size_t size, const struct kgc_k8s_resource *r, const char *ns,
                 const char *name, const char *subresource)
{
    if (!r || !safe_segment(r->version) || !safe_segment(r->plural) ||
        (r->group && r->group[0] && !safe_segment(r->group)) || (ns && !safe_segment(ns)) ||
        (name && !safe_segment(name)) || (subresource && !safe_segment(subresource)) ||
        (subresource && !name))
        return KGC_EINVAL;
    int n;
    char prefix[256];
    if (r->group && r->group[0])
        n = snprintf(prefix, sizeof(prefix), "/apis/%s/%s", r->group, r->version);
    else
        n = snprintf(prefix, sizeof(prefix), "/api/%s", r->version);
    if (n < 0 || (size_t)n >= sizeof(prefix))
        return KGC_ERANGE;
    n = snprintf(buf, size, "%s%s%s/%s%s%s%s%s", prefix, r->namespaced && ns ? "/namespaces/" : "",
                 r->namespaced && ns ? ns : "", r->plural, name ? "/" : "", name ? name : "",
                 subresource ? "/" : "", subresource ? subresource : "");
    if (n < 0 || (size_t)n >= size)
        return KGC_ERANGE;
    return 0;
}

/* --- list ------------------------------------------------------------------------------------- */

/* The string value of text[0, len) (a JSON string), malloc'd; NULL when not a string. */
static char *json_string_dup(const char *text, size_t len, bool *oom)
{
    static const struct kgc_jsonscan_limits one = {.max_values = 1};
    json_object *j = NULL;
    char *s = NULL;
    if (kgc_jsonscan_parse(text, len, &one, "string", &j, NULL) == 0 &&
        json_object_is_type(j, json_type_string)) {
        s = strdup(json_object_get_string(j));
        *oom |= !s;
    }
    json_object_put(j);
    return s;
}

int kgc_k8s_list_page_decode(const char *body, size_t len, const char *path, kgc_k8s_item_fn fn,
                             void *ctx, char **cont, char **rv, struct kgc_err *err)
{
    static const struct kgc_jsonscan_limits page = {.max_depth = KGC_JSONSCAN_MAX_DEPTH};
    static const struct kgc_jsonscan_limits item = {
        .max_values = KGC_K8S_OBJECT_MAX_VALUES, .max_containers = KGC_K8S_OBJECT_MAX_CONTAINERS};
    char what[160];
    snprintf(what, sizeof(what), "list %.120s", path);
    /* One allocation-free pass checks the whole page's syntax first, so a bad page changes
     * nothing: no item reaches fn. */
    int rc = kgc_jsonscan_scan(body, len, &page, NULL, what, err);
    struct kgc_jsonscan_iter top;
    if (rc == 0 && kgc_jsonscan_iter_start(&top, body, len, '{', what, NULL) != 0)
        rc = kgc_err_set(err, KGC_EPARSE, "%s: the response is not a JSON object", what);
    if (rc)
        return rc;
    const char *k, *v, *items = NULL;
    size_t kl, vl, items_len = 0;
    bool oom = false;
    while (kgc_jsonscan_iter_next(&top, &k, &kl, &v, &vl, NULL) == 1) {
        if (kgc_jsonscan_key_is(k, kl, "items")) {
            items = v;
            items_len = vl;
        } else if (kgc_jsonscan_key_is(k, kl, "metadata")) {
            struct kgc_jsonscan_iter m;
            if (kgc_jsonscan_iter_start(&m, v, vl, '{', what, NULL) != 0)
                continue;
            const char *mk, *mv;
            size_t mkl, mvl;
            while (kgc_jsonscan_iter_next(&m, &mk, &mkl, &mv, &mvl, NULL) == 1) {
                if (kgc_jsonscan_key_is(mk, mkl, "continue")) {
                    free(*cont);
                    *cont = json_string_dup(mv, mvl, &oom);
                    if (*cont && !**cont) {
                        free(*cont);
                        *cont = NULL;
                    }
                } else if (kgc_jsonscan_key_is(mk, mkl, "resourceVersion")) {
                    char *s = json_string_dup(mv, mvl, &oom);
                    if (s) {
                        free(*rv);
                        *rv = s;
                    }
                }
            }
        }
    }
    if (oom)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    struct kgc_jsonscan_iter it;
    if (!items || (!(items_len == 4 && memcmp(items, "null", 4) == 0) &&
                   kgc_jsonscan_iter_start(&it, items, items_len, '[', what, NULL) != 0))
        return kgc_err_set(err, KGC_EPARSE, "%s: no items", what);
    if (items_len == 4 && memcmp(items, "null", 4) == 0)
        return 0;
    size_t n = 0;
    struct kgc_jsonscan_tape t;
    kgc_jsonscan_tape_init(&t);
    for (;;) {
        char iwhat[200];
        snprintf(iwhat, sizeof(iwhat), "%s: item %zu", what, n++);
        rc = kgc_jsonscan_iter_next_tape(&it, &t, &item, iwhat, err);
        if (rc != 1)
            break;
        if ((rc = fn(&t, ctx)))
            break;
    }
    kgc_jsonscan_tape_free(&t);
    return rc;
}

int kgc_k8s_list(struct kgc_k8s_client *c, const char *collection_path,
                 const struct kgc_k8s_list_opts *opts, kgc_k8s_item_fn fn, void *ctx,
                 char **list_rv, struct kgc_k8s_cancel *cancel, struct kgc_k8s_status *st,
                 struct kgc_err *err)
{
    static const struct kgc_k8s_list_opts none = {0};
    if (!opts)
        opts = &none;
    if (list_rv)
        *list_rv = NULL;
    char *cont = NULL, *rv = NULL;
    uint32_t max_pages = opts->max_pages ? opts->max_pages : 100000;
    int rc = 0;
    for (uint32_t page = 0;; page++) {
        if (page >= max_pages) {
            rc = kgc_err_set(err, KGC_ERANGE, "list %s: more than %u pages", collection_path,
                             max_pages);
            break;
        }
        size_t qsize = 1024 + (cont ? strlen(cont) * 3 : 0) +
                       (opts->label_selector ? strlen(opts->label_selector) * 3 : 0) +
                       (opts->field_selector ? strlen(opts->field_selector) * 3 : 0);
        char *q = calloc(1, qsize);
        if (!q) {
            rc = kgc_err_set(err, KGC_ENOMEM, "out of memory");
            break;
        }
        if (opts->limit) {
            char lim[16];
            snprintf(lim, sizeof(lim), "%u", opts->limit);
            query_add(q, qsize, "limit", lim);
        }
        query_add(q, qsize, "continue", cont);
        query_add(q, qsize, "labelSelector", opts->label_selector);
        query_add(q, qsize, "fieldSelector", opts->field_selector);
        if (!cont)
            query_add(q, qsize, "resourceVersion", opts->resource_version);
        struct kgc_k8s_response r;
        rc = kgc_k8s_request(c, "GET", collection_path, q, NULL, NULL, 0, cancel, &r, st, err);
        free(q);
        free(cont);
        cont = NULL;
        if (rc == 0)
            rc = kgc_k8s_list_page_decode(r.body, r.len, collection_path, fn, ctx, &cont, &rv, err);
        free(r.body);
        kgc_jsonscan_release(r.len);
        if (rc != 0)
            break;
        if (!cont)
            break;
    }
    free(cont);
    if (rc == 0 && list_rv)
        *list_rv = rv;
    else
        free(rv);
    return rc;
}

/* --- watch ------------------------------------------------------------------------------------ */

int kgc_k8s_watch(struct kgc_k8s_client *c, const char *collection_path,
                  const struct kgc_k8s_watch_opts *opts, kgc_k8s_event_fn fn, void *ctx,
                  struct kgc_k8s_cancel *cancel, struct kgc_k8s_status *st, struct kgc_err *err)
{
    static const struct kgc_k8s_watch_opts none = {0};
    if (!opts)
        opts = &none;
    if (st)
        memset(st, 0, sizeof(*st));
    size_t qsize = 512 + (opts->resource_version ? strlen(opts->resource_version) * 3 : 0) +
                   (opts->label_selector ? strlen(opts->label_selector) * 3 : 0) +
                   (opts->field_selector ? strlen(opts->field_selector) * 3 : 0);
    char *q = calloc(1, qsize);
    if (!q)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    query_add(q, qsize, "watch", "1");
    if (opts->allow_bookmarks)
        query_add(q, qsize, "allowWatchBookmarks", "true");
    query_add(q, qsize, "resourceVersion", opts->resource_version);
    if (opts->timeout_seconds) {
        char ts[16];
        snprintf(ts, sizeof(ts), "%u", opts->timeout_seconds);
        query_add(q, qsize, "timeoutSeconds", ts);
    }
    query_add(q, qsize, "labelSelector", opts->label_selector);
    query_add(q, qsize, "fieldSelector", opts->field_selector);

    struct xfer x = {.c = c,
                     .body = {.max = ERROR_BODY_MAX + 1},
                     .is_watch = true,
                     .fn = fn,
                     .ctx = ctx,
                     .err = err};
    kgc_k8s_watch_stream_init(&x.ws, c->opts.watch_event_max_bytes);
    uint64_t timeout = opts->timeout_seconds
                           ? (uint64_t)(opts->timeout_seconds + WATCH_TIMEOUT_SLACK) * KGC_NS_PER_S
                           : 0;
    long code = 0;
    bool idle = false;
    int rc = perform(c, "GET", collection_path, q, NULL, NULL, 0, timeout, &x, cancel, &code, &idle,
                     err);
    free(q);
    if (rc == 0 && !x.streaming && code != 0 && code != 200) {
        rc = http_error(c, "WATCH", collection_path, code, x.body.s, x.body.len, st, err);
    } else if (rc == 0 && !idle && kgc_k8s_watch_stream_pending(&x.ws) > 0) {
        rc = kgc_err_set(err, KGC_EIO, "watch %s: the stream ended inside an event",
                         collection_path);
    } else if (rc == KGC_ETIMEDOUT && x.streaming) {
        rc = 0; /* the server did not end the stream at timeoutSeconds: we did; watch again */
    }
    kgc_k8s_watch_stream_free(&x.ws);
    kgc_jsonscan_tape_free(&x.tape);
    kgc_base_buf_free(&x.body);
    return rc;
}

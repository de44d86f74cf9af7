/* Helpers shared by the k8s, api, informer and cache tests (and bench_informer):
 *   - a canned HTTP peer on 127.0.0.1 (libmicrohttpd, a thread per connection) whose responses
 *     a test scripts: status, body parts sent as separate chunks with optional delays, a cut
 *     (the connection ends without the final chunk) or a hold (the stream stays open);
 *   - YAML → json-c (libyaml), for the Gateway API manifests and CRDs;
 *   - a self-signed certificate and key in PEM (OpenSSL), for TLS Secrets.
 * Everything is static inline: each test binary uses what it needs. */
#ifndef KGC_TEST_K8S_HELPERS_H
#define KGC_TEST_K8S_HELPERS_H

#include <arpa/inet.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

/* --- canned HTTP peer ------------------------------------------------------------------------- */

#define PEER_MAX_PARTS    64
#define PEER_MAX_REQUESTS 4096

struct peer_request {
    char method[16];
    char path[512];
    char query[2048]; /* "k=v&k=v" as received (decoded values) */
    char auth[512];   /* the Authorization header, or "" */
    char content_type[128];
    char *body; /* NUL-terminated */
    size_t body_len;
};

struct peer_response {
    int status;
    const char *content_type;
    char *parts[PEER_MAX_PARTS]; /* malloc'd; each sent as its own chunk (or glued when plain) */
    size_t n_parts;
    unsigned delay_ms; /* before each part */
    bool stream;       /* chunked with unknown length (implied by cut/hold/several parts) */
    bool cut;          /* after the parts, break the connection without the final chunk */
    bool hold;         /* after the parts, keep the stream open until peer_release() or stop */
};

struct peer;
typedef void (*peer_handler)(struct peer *p, const struct peer_request *req,
                             struct peer_response *resp, void *ctx);

struct peer {
    struct MHD_Daemon *d;
    unsigned short port;
    char url[64];
    peer_handler fn;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    unsigned release_gen;
    struct peer_request *log; /* every request, in order */
    size_t n_log;
};

struct peer_conn {
    struct peer_request req;
    size_t cap;
};

struct peer_stream {
    struct peer *p;
    struct peer_response r;
    size_t idx, off;
    unsigned gen;
};

static inline void peer_resp_part(struct peer_response *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void peer_resp_part(struct peer_response *r, const char *fmt, ...)
{
    if (r->n_parts >= PEER_MAX_PARTS)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) >= 0)
        r->parts[r->n_parts++] = s;
    va_end(ap);
}

/* A part of exactly n bytes (may contain anything). */
static inline void peer_resp_bytes(struct peer_response *r, const char *data, size_t n)
{
    if (r->n_parts >= PEER_MAX_PARTS)
        return;
    char *s = malloc(n + 1);
    memcpy(s, data, n);
    s[n] = '\0';
    r->parts[r->n_parts++] = s;
}

static inline void peer_resp_free(struct peer_response *r)
{
    for (size_t i = 0; i < r->n_parts; i++)
        free(r->parts[i]);
    r->n_parts = 0;
}

static inline void peer_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static inline ssize_t peer_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct peer_stream *s = cls;
    struct peer *p = s->p;
    if (s->idx < s->r.n_parts) {
        if (s->off == 0 && s->r.delay_ms)
            peer_sleep_ms(s->r.delay_ms);
        const char *part = s->r.parts[s->idx];
        size_t len = strlen(part) - s->off;
        size_t n = len < max ? len : max;
        memcpy(buf, part + s->off, n);
        s->off += n;
        if (s->off == strlen(part)) {
            s->idx++;
            s->off = 0;
        }
        if (n > 0)
            return (ssize_t)n;
    }
    if (s->r.hold) {
        pthread_mutex_lock(&p->mu);
        while (!p->stopping && p->release_gen == s->gen) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 50 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        }
        pthread_mutex_unlock(&p->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    if (s->r.cut)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return MHD_CONTENT_READER_END_OF_STREAM;
}

static inline void peer_stream_free(void *cls)
{
    struct peer_stream *s = cls;
    peer_resp_free(&s->r);
    free(s);
}

static inline enum MHD_Result peer_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    (void)kind;
    struct peer_request *r = cls;
    size_t len = strlen(r->query);
    snprintf(r->query + len, sizeof(r->query) - len, "%s%s=%s", len ? "&" : "", key,
             value ? value : "");
    return MHD_YES;
}

static inline enum MHD_Result peer_on_request(void *cls, struct MHD_Connection *conn,
                                              const char *url, const char *method,
                                              const char *version, const char *upload_data,
                                              size_t *upload_size, void **con_cls)
{
    (void)version;
    struct peer *p = cls;
    struct peer_conn *c = *con_cls;
    if (!c) {
        c = calloc(1, sizeof(*c));
        *con_cls = c;
        return c ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        if (c->req.body_len + *upload_size + 1 > c->cap) {
            c->cap = (c->req.body_len + *upload_size + 1) * 2;
            c->req.body = realloc(c->req.body, c->cap);
        }
        memcpy(c->req.body + c->req.body_len, upload_data, *upload_size);
        c->req.body_len += *upload_size;
        c->req.body[c->req.body_len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    struct peer_request *rq = &c->req;
    snprintf(rq->method, sizeof(rq->method), "%s", method);
    snprintf(rq->path, sizeof(rq->path), "%s", url);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, peer_arg, rq);
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    snprintf(rq->auth, sizeof(rq->auth), "%s", auth ? auth : "");
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    snprintf(rq->content_type, sizeof(rq->content_type), "%s", ct ? ct : "");
    if (!rq->body)
        rq->body = strdup("");

    pthread_mutex_lock(&p->mu);
    if (p->n_log < PEER_MAX_REQUESTS) {
        struct peer_request *l = &p->log[p->n_log++];
        *l = *rq;
        l->body = strdup(rq->body);
    }
    unsigned gen = p->release_gen;
    pthread_mutex_unlock(&p->mu);

    struct peer_stream *s = calloc(1, sizeof(*s));
    s->p = p;
    s->gen = gen;
    s->r.status = 200;
    s->r.content_type = "application/json";
    p->fn(p, rq, &s->r, p->ctx);
    int status = s->r.status;
    char ctype[128];
    snprintf(ctype, sizeof(ctype), "%s", s->r.content_type ? s->r.content_type : "text/plain");
    struct MHD_Response *resp;
    if (s->r.stream || s->r.cut || s->r.hold || s->r.n_parts > 1 || s->r.delay_ms) {
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, peer_reader, s,
                                                 peer_stream_free);
    } else {
        const char *body = s->r.n_parts ? s->r.parts[0] : "";
        resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
        peer_stream_free(s);
    }
    MHD_add_response_header(resp, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static inline void peer_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                                     enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct peer_conn *c = *con_cls;
    if (c) {
        free(c->req.body);
        free(c);
        *con_cls = NULL;
    }
}

/* Starts a peer on 127.0.0.1 (a free port) answering with fn. NULL on failure. */
static inline struct peer *peer_start(peer_handler fn, void *ctx)
{
    struct peer *p = calloc(1, sizeof(*p));
    p->fn = fn;
    p->ctx = ctx;
    p->log = calloc(PEER_MAX_REQUESTS, sizeof(*p->log));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    p->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                            NULL, NULL, peer_on_request, p, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_NOTIFY_COMPLETED, peer_on_completed, p,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
    if (!p->d) {
        free(p->log);
        free(p);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(p->d, MHD_DAEMON_INFO_BIND_PORT);
    p->port = di ? di->port : 0;
    snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%u", (unsigned)p->port);
    return p;
}

/* Ends every held stream. */
static inline void peer_release(struct peer *p)
{
    pthread_mutex_lock(&p->mu);
    p->release_gen++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static inline void peer_stop(struct peer *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    MHD_stop_daemon(p->d);
    for (size_t i = 0; i < p->n_log; i++)
        free(p->log[i].body);
    free(p->log);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static inline size_t peer_count(struct peer *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->n_log;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* A copy of request i (body not copied: points into the log, valid until peer_stop). */
static inline struct peer_request peer_get(struct peer *p, size_t i)
{
    pthread_mutex_lock(&p->mu);
    struct peer_request r = i < p->n_log ? p->log[i] : (struct peer_request){0};
    pthread_mutex_unlock(&p->mu);
    return r;
}

/* The value of query parameter key in q, copied into buf ("" when absent). */
static inline const char *query_param(const char *q, const char *key, char *buf, size_t size)
{
    size_t kl = strlen(key);
    buf[0] = '\0';
    const char *s = q;
    while (*s) {
        const char *amp = strchr(s, '&');
        size_t len = amp ? (size_t)(amp - s) : strlen(s);
        if (len > kl && strncmp(s, key, kl) == 0 && s[kl] == '=') {
            snprintf(buf, size, "%.*s", (int)(len - kl - 1), s + kl + 1);
            return buf;
        }
        s = amp ? amp + 1 : s + len;
    }
    return buf;
}

/* A Kubernetes Status body. */
static inline void peer_status(struct peer_response *r, int code, const char *reason,
                               const char *message)
{
    r->status = code;
    peer_resp_part(r,
                   "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                   "\"Failure\",\"message\":\"%s\",\"reason\":\"%s\",\"code\":%d}",
                   message, reason, code);
}

/* --- YAML → json-c ---------------------------------------------------------------------------- */

static inline json_object *yaml_node_to_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
    if (!n || depth > 64)
        return NULL;
    switch (n->type) {
    case YAML_SCALAR_NODE: {
        const char *v = (const char *)n->data.scalar.value;
        size_t len = n->data.scalar.length;
        if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
            if (strcmp(v, "null") == 0 || strcmp(v, "~") == 0 || len == 0)
                return NULL;
            if (strcmp(v, "true") == 0)
                return json_object_new_boolean(1);
            if (strcmp(v, "false") == 0)
                return json_object_new_boolean(0);
            char *end = NULL;
            long long x = strtoll(v, &end, 10);
            if (end && *end == '\0' && end != v && (v[0] != '0' || len == 1))
                return json_object_new_int64(x);
            double d = strtod(v, &end);
            if (end && *end == '\0' && end != v && strchr(v, '.'))
                return json_object_new_double(d);
        }
        return json_object_new_string_len(v, (int)len);
    }
    case YAML_SEQUENCE_NODE: {
        json_object *a = json_object_new_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++)
            json_object_array_add(
                a, yaml_node_to_json(doc, yaml_document_get_node(doc, *it), depth + 1));
        return a;
    }
    case YAML_MAPPING_NODE: {
        json_object *o = json_object_new_object();
        for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
             pr++) {
            yaml_node_t *k = yaml_document_get_node(doc, pr->key);
            if (!k || k->type != YAML_SCALAR_NODE)
                continue;
            json_object_object_add(
                o, (const char *)k->data.scalar.value,
                yaml_node_to_json(doc, yaml_document_get_node(doc, pr->value), depth + 1));
        }
        return o;
    }
    default:
        return NULL;
    }
}

/* Every document of a YAML text as a json-c array (the caller puts it); NULL on a YAML error.
 * `from`/`to` (may be NULL) replace a placeholder in the text first. */
static inline json_object *yaml_docs_to_json(const char *text, size_t len, const char *from,
                                             const char *to)
{
    char *buf = NULL;
    if (from && to) {
        size_t fl = strlen(from), tl = strlen(to);
        buf = malloc(len * (tl > 1 ? tl : 1) + 1); /* each match takes >= 1 byte, gives tl */
        size_t o = 0;
        for (size_t i = 0; i < len;) {
            if (i + fl <= len && memcmp(text + i, from, fl) == 0) {
                memcpy(buf + o, to, tl);
                o += tl;
                i += fl;
            } else {
                buf[o++] = text[i++];
            }
        }
        buf[o] = '\0';
        text = buf;
        len = o;
    }
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    json_object *all = json_object_new_array();
    for (;;) {
        yaml_document_t doc;
        if (!yaml_parser_load(&parser, &doc)) {
            json_object_put(all);
            all = NULL;
            break;
        }
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (!root) {
            yaml_document_delete(&doc);
            break;
        }
        json_object *j = yaml_node_to_json(&doc, root, 0);
        if (j)
            json_object_array_add(all, j);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    free(buf);
    return all;
}

static inline char *read_whole_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t r = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[r] = '\0';
    if (len)
        *len = r;
    return buf;
}

static inline json_object *yaml_file_to_json(const char *path, const char *from, const char *to)
{
    size_t len = 0;
    char *text = read_whole_file(path, &len);
    if (!text)
        return NULL;
    json_object *j = yaml_docs_to_json(text, len, from, to);
    free(text);
    return j;
}

/* --- TLS material ----------------------------------------------------------------------------- */

/* A self-signed EC certificate for cn and its key, as malloc'd PEM strings. */
static inline int make_cert(const char *cn, char **cert_pem, char **key_pem)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (!k || !x)
        return -1;
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
    X509_set_pubkey(x, k);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, k, EVP_sha256());
    BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(cb, x);
    PEM_write_bio_PrivateKey(kb, k, NULL, NULL, 0, NULL, NULL);
    char *p;
    long n = BIO_get_mem_data(cb, &p);
    *cert_pem = strndup(p, (size_t)n);
    n = BIO_get_mem_data(kb, &p);
    *key_pem = strndup(p, (size_t)n);
    BIO_free(cb);
    BIO_free(kb);
    X509_free(x);
    EVP_PKEY_free(k);
    return 0;
}

/* Standard base64 of n bytes, malloc'd. */
static inline char *b64(const char *data, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)n);
    return out;
}

#endif

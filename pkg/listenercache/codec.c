/* listenercache: the on-disk encoding of one instance's entry.
 *
 *   "KL" u8 format(1) u8 0
 *   u64 last_seen_live_ms  u64 written_ms
 *   str url  str version  str edition  str node_id  str router_flavor  str database
 *   u16 n_proxy  u16 n_stream
 *   n_proxy + n_stream × { str ip  u16 port  u8 flags (1 ssl, 2 http2, 4 udp, 8 proxy_protocol) }
 *
 * Integers little-endian; str = u16 length + bytes (no NUL). Decoding checks every length against
 * the bytes left and the destination's size, and that nothing trails. */
#include "kgc/listenercache.h"

#include <stdlib.h>
#include <string.h>

#define FORMAT 1

enum { F_SSL = 1, F_HTTP2 = 2, F_UDP = 4, F_PROXY_PROTOCOL = 8 };

struct wbuf {
    unsigned char *p;
    size_t n, cap;
};

static void put(struct wbuf *w, const void *src, size_t n)
{
    memcpy(w->p + w->n, src, n);
    w->n += n;
}

static void put_u16(struct wbuf *w, uint16_t v)
{
    unsigned char b[2] = {(unsigned char)(v & 0xff), (unsigned char)(v >> 8)};
    put(w, b, 2);
}

static void put_u64(struct wbuf *w, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put(w, b, 8);
}

static void put_str(struct wbuf *w, const char *s)
{
    size_t n = strlen(s);
    put_u16(w, (uint16_t)n);
    put(w, s, n);
}

static size_t str_size(const char *s)
{
    return 2 + strlen(s);
}

int kgc_listenercache_encode(const struct kgc_listenercache_entry *e, unsigned char **buf,
                             size_t *len)
{
    const struct kgc_kong_info *in = &e->info;
    const struct kgc_kong_listeners *l = &in->listeners;
    *buf = NULL;
    *len = 0;
    if (l->n_proxy > KGC_KONG_LISTENER_CAP || l->n_stream > KGC_KONG_LISTENER_CAP)
        return KGC_EINVAL;
    size_t need = 4 + 16 + str_size(e->url) + str_size(in->version) + str_size(in->edition) +
                  str_size(in->node_id) + str_size(in->router_flavor) + str_size(in->database) + 4;
    for (size_t i = 0; i < l->n_proxy; i++)
        need += str_size(l->proxy[i].ip) + 3;
    for (size_t i = 0; i < l->n_stream; i++)
        need += str_size(l->stream[i].ip) + 3;
    struct wbuf w = {.p = malloc(need), .cap = need};
    if (!w.p)
        return KGC_ENOMEM;
    unsigned char head[4] = {'K', 'L', FORMAT, 0};
    put(&w, head, 4);
    put_u64(&w, e->last_seen_live_ms);
    put_u64(&w, e->written_ms);
    put_str(&w, e->url);
    put_str(&w, in->version);
    put_str(&w, in->edition);
    put_str(&w, in->node_id);
    put_str(&w, in->router_flavor);
    put_str(&w, in->database);
    put_u16(&w, (uint16_t)l->n_proxy);
    put_u16(&w, (uint16_t)l->n_stream);
    for (int k = 0; k < 2; k++) {
        const struct kgc_kong_listener *v = k ? l->stream : l->proxy;
        size_t n = k ? l->n_stream : l->n_proxy;
        for (size_t i = 0; i < n; i++) {
            put_str(&w, v[i].ip);
            put_u16(&w, v[i].port);
            unsigned char f = (unsigned char)((v[i].ssl ? F_SSL : 0) | (v[i].http2 ? F_HTTP2 : 0) |
                                              (v[i].udp ? F_UDP : 0) |
                                              (v[i].proxy_protocol ? F_PROXY_PROTOCOL : 0));
            put(&w, &f, 1);
        }
    }
    *buf = w.p;
    *len = w.n;
    return 0;
}

struct rbuf {
    const unsigned char *p;
    size_t n, off;
    const char *fail; /* the first failure, or NULL */
};

static bool get(struct rbuf *r, void *dst, size_t n, const char *what)
{
    if (r->fail)
        return false;
    if (n > r->n - r->off) {
        r->fail = what;
        return false;
    }
    memcpy(dst, r->p + r->off, n);
    r->off += n;
    return true;
}

static uint16_t get_u16(struct rbuf *r, const char *what)
{
    unsigned char b[2] = {0, 0};
    get(r, b, 2, what);
    return (uint16_t)(b[0] | b[1] << 8);
}

static uint64_t get_u64(struct rbuf *r, const char *what)
{
    unsigned char b[8] = {0};
    uint64_t v = 0;
    get(r, b, 8, what);
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static void get_str(struct rbuf *r, char *dst, size_t size, const char *what)
{
    uint16_t n = get_u16(r, what);
    dst[0] = '\0';
    if (r->fail)
        return;
    if ((size_t)n >= size) {
        r->fail = what;
        return;
    }
    if (get(r, dst, n, what)) {
        dst[n] = '\0';
        if (strlen(dst) != n)
            r->fail = what; /* an embedded NUL */
    }
}

static struct kgc_kong_listener *get_listeners(struct rbuf *r, size_t n,
                                               enum kgc_kong_listener_kind kind, const char *what)
{
    if (n == 0 || r->fail)
        return NULL;
    struct kgc_kong_listener *v = calloc(n, sizeof(*v));
    if (!v) {
        r->fail = "out of memory";
        return NULL;
    }
    for (size_t i = 0; i < n && !r->fail; i++) {
        unsigned char f = 0;
        v[i].kind = kind;
        get_str(r, v[i].ip, sizeof(v[i].ip), what);
        v[i].port = get_u16(r, what);
        get(r, &f, 1, what);
        if (!r->fail && (f & ~0x0fu || v[i].port == 0 || !v[i].ip[0]))
            r->fail = what;
        v[i].ssl = f & F_SSL;
        v[i].http2 = f & F_HTTP2;
        v[i].udp = f & F_UDP;
        v[i].proxy_protocol = f & F_PROXY_PROTOCOL;
    }
    return v;
}

void kgc_listenercache_entry_free(struct kgc_listenercache_entry *e)
{
    if (!e)
        return;
    kgc_kong_info_free(&e->info);
    memset(e, 0, sizeof(*e));
}

int kgc_listenercache_decode(const void *buf, size_t len, struct kgc_listenercache_entry *e,
                             struct kgc_err *err)
{
    struct rbuf r = {.p = buf, .n = buf ? len : 0};
    memset(e, 0, sizeof(*e));
    unsigned char head[4] = {0};
    get(&r, head, 4, "header");
    if (!r.fail && (head[0] != 'K' || head[1] != 'L'))
        r.fail = "magic";
    if (!r.fail && head[2] != FORMAT)
        return kgc_err_set(err, KGC_EPARSE, "listener cache entry: unknown format %u (want %u)",
                           head[2], FORMAT);
    struct kgc_kong_info *in = &e->info;
    e->last_seen_live_ms = get_u64(&r, "last_seen_live_ms");
    e->written_ms = get_u64(&r, "written_ms");
    get_str(&r, e->url, sizeof(e->url), "url");
    get_str(&r, in->version, sizeof(in->version), "version");
    get_str(&r, in->edition, sizeof(in->edition), "edition");
    get_str(&r, in->node_id, sizeof(in->node_id), "node_id");
    get_str(&r, in->router_flavor, sizeof(in->router_flavor), "router_flavor");
    get_str(&r, in->database, sizeof(in->database), "database");
    size_t np = get_u16(&r, "listener count"), ns = get_u16(&r, "listener count");
    if (!r.fail && (np > KGC_KONG_LISTENER_CAP || ns > KGC_KONG_LISTENER_CAP))
        r.fail = "listener count";
    in->listeners.proxy = get_listeners(&r, np, KGC_KONG_LISTENER_PROXY, "proxy listener");
    in->listeners.n_proxy = in->listeners.proxy ? np : 0;
    in->listeners.stream = get_listeners(&r, ns, KGC_KONG_LISTENER_STREAM, "stream listener");
    in->listeners.n_stream = in->listeners.stream ? ns : 0;
    if (!r.fail && r.off != r.n)
        r.fail = "trailing bytes";
    if (r.fail) {
        int code = strcmp(r.fail, "out of memory") == 0 ? KGC_ENOMEM : KGC_EPARSE;
        kgc_listenercache_entry_free(e);
        return kgc_err_set(err, code, "listener cache entry: bad %s (at byte %zu of %zu)", r.fail,
                           r.off, len);
    }
    return 0;
}

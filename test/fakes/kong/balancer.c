/* balancer — target choice as Kong 3.9.1's ring-balancer makes it (proxy.h, balancer.h).
 *
 * Targets (kong/db/dao/targets.lua:20-37,150-171, kong/runloop/balancer/targets.lua:83-105): the
 * upstream's targets sorted by created_at then id, "target" formatted with port 8000 by default
 * (IPv6 expanded and bracketed, kong/tools/ip.lua:167-220,291-313), weight 100 by default
 * (kong/db/schema/entities/targets.lua:33). No DNS: a target is one address, the name itself.
 * Upstream defaults (kong/db/schema/entities/upstreams.lua): algorithm round-robin, hash_on and
 * hash_fallback none, slots 10000, hash_on_cookie_path "/".
 *
 *   round-robin        (balancer/round_robin.lua) wheel of weight/gcd slots per address, in
 *                      target order; Kong shuffles it with math.random (round_robin.lua:22-28,72),
 *                      the fake keeps the unshuffled order (one of the shuffles Kong can draw).
 *                      The pointer starts at 1 and is advanced before each pick (:88-99), so
 *                      the first pick is slot 2.
 *   consistent-hashing (balancer/consistent_hashing.lua) Ketama continuum of max(slots, 1000)
 *                      points, floor(w/total * #targets * 160) entries per address named
 *                      "<ip>::<port> <i>" hashed with xxhash32; a request's value hashed the
 *                      same way, scanned downwards to the first filled point (:135-193).
 *   least-connections  (balancer/least_connections.lua) binary min-heap on
 *                      (connections + 1) / weight; the fake's echo finishes before the next
 *                      request, so each pick is followed by its release (handler.lua:1639-1642)
 *                      and the count is always 0 when a pick starts: the pick is the heap top,
 *                      which rotates among the highest-weight targets as the heap's sift moves
 *                      them (binaryheap.lua update()); lower weights are never picked.
 *   latency            (balancer/latency.lua) every EWMA is 0 here, so every score ties; Kong
 *                      takes the first in pairs() order (undefined); the fake takes the first
 *                      target with a weight.
 * No target with a weight: KGC_ENOENT (Kong: 503 "failure to get a peer from the
 * ring-balancer", balancer/init.lua:357-361). Health checks are not modelled (all healthy).
 *
 * Ownership: kf_balancer_new() copies what it needs; the JSON is not kept. kf_balancer_pick()
 * is thread-safe (a mutex guards the round-robin pointer and the least-connections heap). */
#include "balancer.h"

#include <kgc/err.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

enum algo { ALG_RR, ALG_CH, ALG_LC, ALG_LATENCY };
enum hash_on { H_NONE, H_CONSUMER, H_IP, H_HEADER, H_COOKIE, H_PATH, H_QUERY, H_CAPTURE };

struct addr {
    char *name; /* target.name: host, or "[v6]" */
    unsigned port;
    long weight;
    char *target; /* "name:port" */
    double created_at;
    char *id;
};

struct kf_balancer {
    enum algo algo;
    enum hash_on hash_on, hash_fallback;
    char *on_header, *fb_header, *cookie, *cookie_path, *on_query, *fb_query, *on_capture,
        *fb_capture;
    struct addr *a;
    size_t n;
    long total_weight;
    pthread_mutex_t mu;
    /* round-robin: the wheel is the addresses' slots in order, kept as cumulative ends */
    uint64_t wheel_size;
    uint64_t *cum; /* cum[i] = slots of a[0..i] */
    uint64_t pointer;
    /* consistent-hashing */
    uint32_t points;
    int32_t *continuum; /* 1-based: continuum[1..points], -1 = empty */
    /* least-connections heap */
    double *hval;
    size_t *hpay;
    size_t *hrev;
    size_t hn;
    long *conn;
};

static char *jstr(json_object *o, const char *k)
{
    json_object *v = NULL;
    if (o && json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)) {
        return strdup(json_object_get_string(v));
    }
    return NULL;
}

static enum hash_on parse_hash_on(json_object *up, const char *field)
{
    char *s = jstr(up, field);
    enum hash_on h = H_NONE;
    if (s) {
        h = strcmp(s, "consumer") == 0      ? H_CONSUMER
            : strcmp(s, "ip") == 0          ? H_IP
            : strcmp(s, "header") == 0      ? H_HEADER
            : strcmp(s, "cookie") == 0      ? H_COOKIE
            : strcmp(s, "path") == 0        ? H_PATH
            : strcmp(s, "query_arg") == 0   ? H_QUERY
            : strcmp(s, "uri_capture") == 0 ? H_CAPTURE
                                            : H_NONE;
    }
    free(s);
    return h;
}

/* format_target (kong/db/dao/targets.lua:31-37): name and port, port 8000 when absent. */
static int parse_target(const char *t, struct addr *a)
{
    char host[256];
    unsigned port = 8000;
    const char *end = NULL;
    if (t[0] == '[') {
        const char *rb = strchr(t, ']');
        if (!rb || (size_t)(rb - t - 1) >= sizeof(host)) {
            return KGC_EINVAL;
        }
        memcpy(host, t + 1, (size_t)(rb - t - 1));
        host[rb - t - 1] = '\0';
        end = rb + 1;
    } else {
        const char *c = strchr(t, ':');
        if (c && strchr(c + 1, ':')) {
            snprintf(host, sizeof(host), "%s", t); /* bare IPv6, no port */
            end = t + strlen(t);
        } else {
            size_t n = c ? (size_t)(c - t) : strlen(t);
            if (n >= sizeof(host)) {
                return KGC_EINVAL;
            }
            memcpy(host, t, n);
            host[n] = '\0';
            end = t + n;
        }
    }
    if (*end == ':') {
        char *e = NULL;
        unsigned long p = strtoul(end + 1, &e, 10);
        if (!e || *e || p > 65535) {
            return KGC_EINVAL;
        }
        port = (unsigned)p;
    } else if (*end) {
        return KGC_EINVAL;
    }
    struct in6_addr v6;
    char name[300];
    if (inet_pton(AF_INET6, host, &v6) == 1) {
        /* kong/tools/ip.lua:208-217: eight zero-padded lower-case groups, bracketed */
        snprintf(name, sizeof(name),
                 "[%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x]",
                 v6.s6_addr[0], v6.s6_addr[1], v6.s6_addr[2], v6.s6_addr[3], v6.s6_addr[4],
                 v6.s6_addr[5], v6.s6_addr[6], v6.s6_addr[7], v6.s6_addr[8], v6.s6_addr[9],
                 v6.s6_addr[10], v6.s6_addr[11], v6.s6_addr[12], v6.s6_addr[13], v6.s6_addr[14],
                 v6.s6_addr[15]);
    } else {
        snprintf(name, sizeof(name), "%s", host);
    }
    char tgt[320];
    snprintf(tgt, sizeof(tgt), "%s:%u", name, port);
    a->name = strdup(name);
    a->target = strdup(tgt);
    a->port = port;
    return a->name && a->target ? 0 : KGC_ENOMEM;
}

static int cmp_dao(const struct addr *x, const struct addr *y)
{
    /* sort_targets (kong/db/dao/targets.lua:20-28): created_at, then id */
    if (x->created_at != y->created_at) {
        return x->created_at < y->created_at ? -1 : 1;
    }
    if (x->id && y->id) {
        return strcmp(x->id, y->id);
    }
    return 0;
}

static int cmp_name_port(const struct addr *x, const struct addr *y)
{
    /* consistent_hashing.lua:53-57 */
    int c = strcmp(x->name, y->name);
    if (c) {
        return c;
    }
    return x->port < y->port ? -1 : x->port > y->port;
}

/* A stable insertion sort (Lua's table.sort is not stable, but ties here are equal keys). */
static void sort_addrs(struct addr *a, size_t n,
                       int (*cmp)(const struct addr *, const struct addr *))
{
    for (size_t i = 1; i < n; i++) {
        struct addr t = a[i];
        size_t j = i;
        while (j > 0 && cmp(&a[j - 1], &t) > 0) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = t;
    }
}

static long gcd(long x, long y)
{
    return y == 0 ? x : gcd(y, x % y);
}

/* ---- xxhash32 ------------------------------------------------------------------------------- */

#define P1 0x9E3779B1u
#define P2 0x85EBCA77u
#define P3 0xC2B2AE3Du
#define P4 0x27D4EB2Fu
#define P5 0x165667B1u

static uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t kf_xxhash32(const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i = 0;
    uint32_t h;
    if (len >= 16) {
        uint32_t v[4] = {P1 + P2, P2, 0, 0u - P1};
        while (i + 16 <= len) {
            for (int j = 0; j < 4; j++, i += 4) {
                v[j] = rotl32(v[j] + rd32(p + i) * P2, 13) * P1;
            }
        }
        h = rotl32(v[0], 1) + rotl32(v[1], 7) + rotl32(v[2], 12) + rotl32(v[3], 18);
    } else {
        h = P5;
    }
    h += (uint32_t)len;
    while (i + 4 <= len) {
        h = rotl32(h + rd32(p + i) * P3, 17) * P4;
        i += 4;
    }
    while (i < len) {
        h = rotl32(h + p[i] * P5, 11) * P1;
        i++;
    }
    h ^= h >> 15;
    h *= P2;
    h ^= h >> 13;
    h *= P3;
    h ^= h >> 16;
    return h;
}

static uint32_t continuum_index(const char *s, uint32_t points)
{
    return kf_xxhash32(s, strlen(s)) % points + 1; /* consistent_hashing.lua:36-38 */
}

/* ---- least-connections heap (binaryheap.lua, strict less-than) ------------------------------- */

static void hswap(struct kf_balancer *b, size_t x, size_t y)
{
    double tv = b->hval[x];
    b->hval[x] = b->hval[y];
    b->hval[y] = tv;
    size_t tp = b->hpay[x];
    b->hpay[x] = b->hpay[y];
    b->hpay[y] = tp;
    b->hrev[b->hpay[x]] = x;
    b->hrev[b->hpay[y]] = y;
}

/* positions are 1-based as in the Lua library */
static void bubble_up(struct kf_balancer *b, size_t pos)
{
    while (pos > 1) {
        size_t parent = pos / 2;
        if (!(b->hval[pos] < b->hval[parent])) {
            break;
        }
        hswap(b, parent, pos);
        pos = parent;
    }
}

static void sink_down(struct kf_balancer *b, size_t pos)
{
    for (;;) {
        size_t min = pos, child = 2 * pos;
        for (size_t c = child; c <= child + 1; c++) {
            if (c <= b->hn && b->hval[c] < b->hval[min]) {
                min = c;
            }
        }
        if (min == pos) {
            break;
        }
        hswap(b, pos, min);
        pos = min;
    }
}

static void heap_update(struct kf_balancer *b, size_t payload, double v)
{
    size_t pos = b->hrev[payload];
    b->hval[pos] = v;
    if (pos > 1) {
        bubble_up(b, pos);
    }
    if (pos < b->hn) {
        sink_down(b, pos); /* the original position, as binaryheap's update() does */
    }
}

static double lc_key(const struct kf_balancer *b, size_t i)
{
    /* (connectionCount + 1) / weight: weight 0 gives +inf as in Lua */
    return b->a[i].weight ? (double)(b->conn[i] + 1) / (double)b->a[i].weight : INFINITY;
}

/* ---- construction ------------------------------------------------------------------------- */

static int build_ch(struct kf_balancer *b)
{
    sort_addrs(b->a, b->n, cmp_name_port);
    b->continuum = malloc(((size_t)b->points + 1) * sizeof(*b->continuum));
    if (!b->continuum) {
        return KGC_ENOMEM;
    }
    for (size_t i = 0; i <= b->points; i++) {
        b->continuum[i] = -1;
    }
    if (b->total_weight == 0) {
        return 0;
    }
    for (size_t t = 0; t < b->n; t++) {
        long w = b->a[t].weight;
        double prop = (double)w / (double)b->total_weight;
        double e = floor(prop * (double)b->n * 160.0); /* consistent_hashing.lua:86-91 */
        uint64_t entries = (uint64_t)e;
        if (w > 0 && entries == 0) {
            entries = 1;
        }
        for (uint64_t i = 1; i <= entries; i++) {
            char name[400];
            /* port carries its own ':' (consistent_hashing.lua:93,96) */
            snprintf(name, sizeof(name), "%s::%u %llu", b->a[t].name, b->a[t].port,
                     (unsigned long long)i);
            uint32_t idx = continuum_index(name, b->points);
            if (b->continuum[idx] < 0) {
                b->continuum[idx] = (int32_t)t;
            } else {
                entries++; /* move the problem forward */
            }
            if (i + 1 > b->points) {
                /* :105-112: the new continuum is abandoned; the balancer keeps the empty one */
                for (size_t k = 0; k <= b->points; k++) {
                    b->continuum[k] = -1;
                }
                return 0;
            }
        }
    }
    return 0;
}

struct kf_balancer *kf_balancer_new(json_object *upstream, json_object *const *targets, size_t n)
{
    struct kf_balancer *b = calloc(1, sizeof(*b));
    if (!b) {
        return NULL;
    }
    pthread_mutex_init(&b->mu, NULL);
    char *alg = jstr(upstream, "algorithm");
    b->algo = !alg                                     ? ALG_RR
              : strcmp(alg, "consistent-hashing") == 0 ? ALG_CH
              : strcmp(alg, "least-connections") == 0  ? ALG_LC
              : strcmp(alg, "latency") == 0            ? ALG_LATENCY
                                                       : ALG_RR;
    free(alg);
    b->hash_on = parse_hash_on(upstream, "hash_on");
    b->hash_fallback = parse_hash_on(upstream, "hash_fallback");
    b->on_header = jstr(upstream, "hash_on_header");
    b->fb_header = jstr(upstream, "hash_fallback_header");
    b->cookie = jstr(upstream, "hash_on_cookie");
    b->cookie_path = jstr(upstream, "hash_on_cookie_path");
    b->on_query = jstr(upstream, "hash_on_query_arg");
    b->fb_query = jstr(upstream, "hash_fallback_query_arg");
    b->on_capture = jstr(upstream, "hash_on_uri_capture");
    b->fb_capture = jstr(upstream, "hash_fallback_uri_capture");
    json_object *slots = NULL;
    long sl = 10000;
    if (upstream && json_object_object_get_ex(upstream, "slots", &slots) &&
        json_object_is_type(slots, json_type_int)) {
        sl = (long)json_object_get_int64(slots);
    }
    /* consistent_hashing.lua:214-217: wheelSize within [1000, 2^32] else 1000 */
    b->points = sl >= 1000 && sl <= 65536 ? (uint32_t)sl : 1000;

    b->a = calloc(n ? n : 1, sizeof(*b->a));
    if (!b->a) {
        kf_balancer_free(b);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *t = targets[i], *w = NULL, *ca = NULL;
        char *tg = jstr(t, "target");
        if (!tg) {
            continue;
        }
        struct addr *a = &b->a[b->n];
        int rc = parse_target(tg, a);
        free(tg);
        if (rc == KGC_ENOMEM) {
            kf_balancer_free(b);
            return NULL;
        }
        if (rc != 0) {
            free(a->name);
            free(a->target);
            memset(a, 0, sizeof(*a));
            continue;
        }
        a->weight = 100;
        if (json_object_object_get_ex(t, "weight", &w) && json_object_is_type(w, json_type_int)) {
            a->weight = (long)json_object_get_int64(w);
            if (a->weight < 0) {
                a->weight = 0;
            }
        }
        if (json_object_object_get_ex(t, "created_at", &ca) &&
            (json_object_is_type(ca, json_type_int) || json_object_is_type(ca, json_type_double))) {
            a->created_at = json_object_get_double(ca);
        }
        a->id = jstr(t, "id");
        b->total_weight += a->weight;
        b->n++;
    }
    sort_addrs(b->a, b->n, cmp_dao);
    int rc = 0;
    if (b->algo == ALG_CH) {
        rc = build_ch(b);
    } else if (b->algo == ALG_RR) {
        long d = 0;
        for (size_t i = 0; i < b->n; i++) {
            d = gcd(d, b->a[i].weight);
        }
        b->cum = calloc(b->n ? b->n : 1, sizeof(*b->cum));
        if (!b->cum) {
            rc = KGC_ENOMEM;
        }
        for (size_t i = 0; rc == 0 && i < b->n; i++) {
            b->wheel_size += d ? (uint64_t)(b->a[i].weight / d) : 0;
            b->cum[i] = b->wheel_size;
        }
        b->pointer = 1; /* round_robin.lua:152 */
    } else if (b->algo == ALG_LC) {
        b->hval = calloc(b->n + 1, sizeof(*b->hval));
        b->hpay = calloc(b->n + 1, sizeof(*b->hpay));
        b->hrev = calloc(b->n + 1, sizeof(*b->hrev));
        b->conn = calloc(b->n + 1, sizeof(*b->conn));
        if (!b->hval || !b->hpay || !b->hrev || !b->conn) {
            rc = KGC_ENOMEM;
        }
        /* afterHostUpdate: every (available) address inserted in target order (:157-165) */
        for (size_t i = 0; rc == 0 && i < b->n; i++) {
            b->hn++;
            b->hval[b->hn] = lc_key(b, i);
            b->hpay[b->hn] = i;
            b->hrev[i] = b->hn;
            bubble_up(b, b->hn);
        }
    }
    if (rc != 0) {
        kf_balancer_free(b);
        return NULL;
    }
    return b;
}

void kf_balancer_free(struct kf_balancer *b)
{
    if (!b) {
        return;
    }
    for (size_t i = 0; i < b->n; i++) {
        free(b->a[i].name);
        free(b->a[i].target);
        free(b->a[i].id);
    }
    free(b->a);
    free(b->on_header);
    free(b->fb_header);
    free(b->cookie);
    free(b->cookie_path);
    free(b->on_query);
    free(b->fb_query);
    free(b->on_capture);
    free(b->fb_capture);
    free(b->cum);
    free(b->continuum);
    free(b->hval);
    free(b->hpay);
    free(b->hrev);
    free(b->conn);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

/* ---- the value to hash (balancer/init.lua:107-193) ------------------------------------------ */

/* ngx.var["http_" .. name]: the variable name is lower-cased and compared with each header name
 * lower-cased with '-' read as '_' (nginx ngx_http_variable_unknown_header), so a configured
 * name containing '-' never matches (Kong issue #14447, fixed after 3.9). Repeated headers are
 * joined with ", " (nginx >= 1.23). */
static char *var_http(const struct kf_client_req *c, const char *name)
{
    if (!c->headers || !name) {
        return NULL;
    }
    char *want = NULL;
    size_t wl = strlen(name);
    want = malloc(wl + 1);
    if (!want) {
        return NULL;
    }
    for (size_t i = 0; i <= wl; i++) {
        want[i] = (char)tolower((unsigned char)name[i]);
    }
    char *out = NULL;
    size_t ol = 0;
    for (size_t i = 0; i < c->headers->n; i++) {
        const char *hn = c->headers->v[i].name;
        if (strlen(hn) != wl) {
            continue;
        }
        bool eq = true;
        for (size_t k = 0; eq && k < wl; k++) {
            int ch = tolower((unsigned char)hn[k]);
            if (ch == '-') {
                ch = '_';
            }
            eq = want[k] == ch;
        }
        if (!eq) {
            continue;
        }
        const char *v = c->headers->v[i].value;
        size_t vl = strlen(v);
        char *n2 = realloc(out, ol + (out ? 2 : 0) + vl + 1);
        if (!n2) {
            free(out);
            free(want);
            return NULL;
        }
        out = n2;
        if (ol) {
            memcpy(out + ol, ", ", 2);
            ol += 2;
        }
        memcpy(out + ol, v, vl);
        ol += vl;
        out[ol] = '\0';
    }
    free(want);
    return out;
}

/* ngx.var["cookie_" .. name]: the first cookie of that name (case-insensitive) in the Cookie
 * headers. */
static char *var_cookie(const struct kf_client_req *c, const char *name)
{
    if (!c->headers || !name) {
        return NULL;
    }
    size_t nl = strlen(name);
    for (size_t i = 0; i < c->headers->n; i++) {
        if (strcasecmp(c->headers->v[i].name, "cookie") != 0) {
            continue;
        }
        const char *p = c->headers->v[i].value;
        while (*p) {
            while (*p == ' ' || *p == ';' || *p == ',' || *p == '\t') {
                p++;
            }
            const char *eq = strchr(p, '=');
            const char *end = p + strcspn(p, ";,");
            if (eq && eq < end && (size_t)(eq - p) == nl && strncasecmp(p, name, nl) == 0) {
                return strndup(eq + 1, (size_t)(end - eq - 1));
            }
            p = end;
        }
    }
    return NULL;
}

static char *query_arg(const struct kf_client_req *c, const char *name)
{
    /* balancer/init.lua:62-100: values as strings, a multi-value arg sorted and joined with ','.
     * Arguments decoded as ngx.req.get_uri_args (lua_max_uri_args 100). */
    if (!c->query || !name) {
        return NULL;
    }
    char **vals = NULL;
    size_t nv = 0;
    int count = 0;
    const char *p = c->query;
    char *out = NULL;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t kl = eq ? (size_t)(eq - p) : len;
        /* decode key and value (%XX and '+') */
        char *k = malloc(kl + 1), *v = malloc(len + 5); /* room for "true" */
        if (!k || !v) {
            free(k);
            free(v);
            goto done;
        }
        size_t o = 0;
        for (size_t i = 0; i < kl; i++) {
            if (p[i] == '%' && i + 2 < kl && isxdigit((unsigned char)p[i + 1]) &&
                isxdigit((unsigned char)p[i + 2])) {
                char hx[3] = {p[i + 1], p[i + 2], 0};
                k[o++] = (char)strtol(hx, NULL, 16);
                i += 2;
            } else {
                k[o++] = p[i] == '+' ? ' ' : p[i];
            }
        }
        k[o] = '\0';
        o = 0;
        if (eq) {
            for (size_t i = kl + 1; i < len; i++) {
                if (p[i] == '%' && i + 2 < len && isxdigit((unsigned char)p[i + 1]) &&
                    isxdigit((unsigned char)p[i + 2])) {
                    char hx[3] = {p[i + 1], p[i + 2], 0};
                    v[o++] = (char)strtol(hx, NULL, 16);
                    i += 2;
                } else {
                    v[o++] = p[i] == '+' ? ' ' : p[i];
                }
            }
            v[o] = '\0';
        } else {
            strcpy(v, "true"); /* tostring(true) */
        }
        if (*k && strcmp(k, name) == 0) {
            char **nvv = realloc(vals, (nv + 1) * sizeof(*vals));
            if (!nvv) {
                free(k);
                free(v);
                goto done;
            }
            vals = nvv;
            vals[nv++] = v;
            v = NULL;
        }
        free(k);
        free(v);
        if (!amp || (amp && ++count == 100)) {
            break;
        }
        p = amp + 1;
    }
    if (nv) {
        /* sort (bytewise, as Lua compares strings) and join with ',' */
        for (size_t i = 1; i < nv; i++) {
            char *t = vals[i];
            size_t j = i;
            while (j > 0 && strcmp(vals[j - 1], t) > 0) {
                vals[j] = vals[j - 1];
                j--;
            }
            vals[j] = t;
        }
        size_t total = 1;
        for (size_t i = 0; i < nv; i++) {
            total += strlen(vals[i]) + 1;
        }
        out = malloc(total);
        if (out) {
            out[0] = '\0';
            for (size_t i = 0; i < nv; i++) {
                if (i) {
                    strcat(out, ",");
                }
                strcat(out, vals[i]);
            }
        }
    }
done:
    for (size_t i = 0; i < nv; i++) {
        free(vals[i]);
    }
    free(vals);
    return out;
}

static char *capture(const struct kf_match *m, const char *group)
{
    /* captures[group]: group is a string, so only named captures match */
    if (!m || !group || isdigit((unsigned char)group[0])) {
        return NULL;
    }
    for (size_t i = 0; i < m->n_captures; i++) {
        if (m->captures[i].name && strcmp(m->captures[i].name, group) == 0 &&
            m->captures[i].value) {
            return strdup(m->captures[i].value);
        }
    }
    return NULL;
}

/* nginx's $uri for a request path (hash_on = path reads var.uri, balancer/init.lua:156-160 in
 * 3.9.1): ngx_http_parse_complex_uri with merge_slashes on (nginx 1.25.3, the core of OpenResty
 * 1.25.3.2 that Kong 3.9.1 pins in .requirements; src/http/ngx_http_parse.c:1248-1624; the
 * default of merge_slashes, ngx_http_core_module.c:3507; Kong's templates do not set it). For a
 * path without '%', "//", "/." and "#" that parser gives the path unchanged, which is what nginx
 * uses then (ngx_http_request.c:1256). One pass, states as nginx's:
 *   - "%XX" is decoded and the byte goes through the state it was found in, so a decoded '/' or
 *     '.' takes part in slash merging and dot segments (parse.c:1499-1557); a decoded '%', '#' or
 *     '?' is kept as a plain character; a decoded NUL, or '%' not followed by two hex digits,
 *     makes nginx answer 400;
 *   - a raw '?' or '#' ends the path (parse.c:1339-1343, 1386-1390, 1428-1434, 1466-1480);
 *   - after '/': more '/' are dropped (merge_slashes); "/." and "/.." segments are removed when
 *     a '/', '?', '#' or the end follows (parse.c:1359-1497); ".." above the root
 *     makes nginx answer 400.
 * Returns the path, or NULL with *bad = true where nginx answers 400 itself (Kong never runs;
 * the test Kong, which routes such a path anyway, then hashes the path as sent), or NULL when
 * out of memory. */
/* u[0..*o) ends with "/..": drop it and the segment before it, keeping that segment's '/'.
 * false when there is none (".." above the root: nginx's 400). */
static bool dot_dot_back(const char *u, size_t *o)
{
    if (*o < 4) {
        return false;
    }
    size_t k = *o - 4;
    while (u[k] != '/') {
        if (k == 0) {
            return false;
        }
        k--;
    }
    *o = k + 1;
    return true;
}

static char *nginx_uri(const char *path, bool *bad)
{
    enum { S_USUAL, S_SLASH, S_DOT, S_DOT_DOT } st = S_USUAL;
    size_t n = strlen(path);
    char *u = malloc(n + 2);
    *bad = false;
    if (!u) {
        return NULL;
    }
    size_t o = 0;
    if (n == 0) {
        u[o++] = '/'; /* empty_path_in_uri (parse.c:1271-1273) */
    }
    size_t i = 0;
    while (i < n) {
        unsigned char ch = (unsigned char)path[i++];
        if (ch == '?' || ch == '#') {
            break; /* the state's end handling below, as at the end of the URI */
        }
        if (ch == '%') {
            int h1 = i < n && isxdigit((unsigned char)path[i]) ? 1 : 0;
            int h2 = h1 && i + 1 < n && isxdigit((unsigned char)path[i + 1]) ? 1 : 0;
            if (!h2) {
                free(u);
                *bad = true;
                return NULL;
            }
            char hx[3] = {path[i], path[i + 1], '\0'};
            ch = (unsigned char)strtol(hx, NULL, 16);
            i += 2;
            if (ch == '\0') {
                free(u);
                *bad = true;
                return NULL;
            }
            if (ch == '%' || ch == '#' || ch == '?') {
                u[o++] = (char)ch;
                st = S_USUAL;
                continue;
            }
        }
        if (ch == '/') {
            if (st == S_USUAL) {
                u[o++] = '/';
            } else if (st == S_DOT) {
                o--; /* "/./" -> "/" */
            } else if (st == S_DOT_DOT) {
                /* "/../": back to the '/' before the previous segment (parse.c:1459-1474) */
                if (!dot_dot_back(u, &o)) {
                    free(u);
                    *bad = true;
                    return NULL;
                }
            }
            st = S_SLASH; /* S_SLASH + '/': merged, nothing written */
        } else if (ch == '.' && (st == S_SLASH || st == S_DOT)) {
            u[o++] = '.';
            st = st == S_SLASH ? S_DOT : S_DOT_DOT;
        } else {
            u[o++] = (char)ch;
            st = S_USUAL;
        }
    }
    /* the end of the URI (parse.c:1559-1582) */
    if (st == S_DOT) {
        o--;
    } else if (st == S_DOT_DOT && !dot_dot_back(u, &o)) {
        free(u);
        *bad = true;
        return NULL;
    }
    u[o] = '\0';
    return u;
}

static char *var_uri(const char *path)
{
    bool bad = false;
    char *u = nginx_uri(path, &bad);
    return u ? u : bad ? strdup(path) : NULL;
}

static char *value_for(const struct kf_balancer *b, enum hash_on h, bool fallback,
                       const struct kf_client_req *c, const struct kf_match *m,
                       bool *cookie_missing)
{
    switch (h) {
    case H_CONSUMER:
        return NULL; /* no authenticated consumer or credential in the fake */
    case H_IP:
        return c->client_ip ? strdup(c->client_ip) : NULL;
    case H_HEADER:
        return var_http(c, fallback ? b->fb_header : b->on_header);
    case H_COOKIE: {
        char *v = var_cookie(c, b->cookie);
        *cookie_missing = v == NULL;
        return v;
    }
    case H_PATH:
        return var_uri(c->path ? c->path : "/");
    case H_QUERY:
        return query_arg(c, fallback ? b->fb_query : b->on_query);
    case H_CAPTURE:
        return capture(m, fallback ? b->fb_capture : b->on_capture);
    default:
        return NULL;
    }
}

static char *hash_value(const struct kf_balancer *b, const struct kf_client_req *c,
                        const struct kf_match *m, struct kf_balancer_extra *extra)
{
    if (b->hash_on == H_NONE) {
        return NULL;
    }
    bool missing = false;
    char *v = value_for(b, b->hash_on, false, c, m, &missing);
    if (!v && b->hash_on == H_COOKIE && missing) {
        /* a fresh UUID, sent back as a cookie (balancer/init.lua:137-154) */
        unsigned char r[16];
        if (RAND_bytes(r, sizeof(r)) != 1) {
            return NULL;
        }
        r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
        r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
        char u[37];
        snprintf(u, sizeof(u),
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
                 r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
                 r[15]);
        if (extra) {
            snprintf(extra->set_cookie, sizeof(extra->set_cookie),
                     "%s=%s; Path=%s; Same-Site=Lax; HttpOnly", b->cookie ? b->cookie : "", u,
                     b->cookie_path ? b->cookie_path : "/");
        }
        return strdup(u);
    }
    if (v || b->hash_fallback == H_NONE) {
        return v;
    }
    return value_for(b, b->hash_fallback, true, c, m, &missing);
}

char *kf_balancer_hash_value(const struct kf_balancer *b, const struct kf_client_req *client,
                             const struct kf_match *m)
{
    return hash_value(b, client, m, NULL);
}

/* ---- picking --------------------------------------------------------------------------------- */

static int put(char *out, size_t outsz, const char *t)
{
    if (outsz == 0 || (size_t)snprintf(out, outsz, "%s", t) >= outsz) {
        return KGC_ERANGE;
    }
    return 0;
}

int kf_balancer_pick_ex(struct kf_balancer *b, const struct kf_client_req *client,
                        const struct kf_match *m, char *out, size_t outsz,
                        struct kf_balancer_extra *extra)
{
    if (extra) {
        extra->set_cookie[0] = '\0';
    }
    if (!b || b->n == 0 || b->total_weight == 0) {
        return KGC_ENOENT; /* no weight: no peers / unhealthy (balancers.lua:457-466) */
    }
    /* the value is computed for every algorithm (balancer/init.lua:316-323), so hashing on a
     * missing cookie sets one even when the algorithm ignores the hash */
    char *v = b->hash_on != H_NONE ? hash_value(b, client, m, extra) : NULL;
    uint32_t h = b->algo == ALG_CH ? continuum_index(v ? v : "", b->points) /* :331 or "" */
                                   : 0;
    free(v);
    if (b->algo == ALG_CH) {
        /* scan h, h-1, ..., 1, points, ..., h+2 (consistent_hashing.lua:157-190) */
        uint64_t index = h;
        for (uint64_t steps = 0; steps <= (uint64_t)b->points + 1 && index - 1 != h; steps++) {
            if (index == 0) {
                index = b->points;
            }
            if (b->continuum[index] >= 0) {
                return put(out, outsz, b->a[b->continuum[index]].target);
            }
            index--;
        }
        return KGC_ENOENT;
    }
    if (b->algo == ALG_LATENCY) {
        for (size_t i = 0; i < b->n; i++) {
            if (b->a[i].weight > 0) {
                return put(out, outsz, b->a[i].target);
            }
        }
        return KGC_ENOENT;
    }
    pthread_mutex_lock(&b->mu);
    int rc = KGC_ENOENT;
    if (b->algo == ALG_LC) {
        if (b->hn) {
            size_t top = b->hpay[1];
            rc = put(out, outsz, b->a[top].target);
            /* acquire (+1) then, once the echo is sent, release (-1) */
            b->conn[top]++;
            heap_update(b, top, lc_key(b, top));
            b->conn[top]--;
            heap_update(b, top, lc_key(b, top));
        }
    } else {
        uint64_t start = b->pointer;
        do {
            b->pointer++;
            if (b->pointer > b->wheel_size) {
                b->pointer = 1;
            }
            if (b->wheel_size) {
                /* the address owning slot `pointer` */
                size_t lo = 0, hi = b->n - 1;
                while (lo < hi) {
                    size_t mid = (lo + hi) / 2;
                    if (b->cum[mid] >= b->pointer) {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                rc = put(out, outsz, b->a[lo].target);
                break;
            }
        } while (b->pointer != start);
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

int kf_balancer_pick(struct kf_balancer *b, const struct kf_client_req *client, char *out,
                     size_t outsz)
{
    return kf_balancer_pick_ex(b, client, NULL, out, outsz, NULL);
}

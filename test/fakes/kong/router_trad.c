/* router_trad — Kong 3.9.1's "traditional" router flavour (kong/router/traditional.lua), modelled
 * in C behind router_internal.h (kf_trad_new / kf_trad_select / kf_trad_free, kf_split_port).
 *
 * What it models (line numbers are kong/router/traditional.lua at tag 3.9.1 unless said):
 *   - marshall_route (287-615): the category bitmask (HOST 0x40, HEADER 0x20, URI 0x10, METHOD 8,
 *     SNI 4, SRC 2, DST 1; 183-191), match_weight, submatch_weight (HAS_REGEX_URI 1,
 *     PLAIN_HOSTS_ONLY 2, HAS_WILDCARD_HOST_PORT 4; 209-213), max_uri_length, and Kong's error
 *     texts for badly typed fields; routes with several paths are split into one route_t per path
 *     (1421-1444);
 *   - the sort of route_ts (sort_routes 681-709), of categories (712-718), of prefix URIs
 *     (721-723) and of the per-key source/destination lists (726-788), each with LuaJIT's
 *     table.sort algorithm (lib_table.c auxsort, LuaJIT v2.1), so ties come out in Kong's order;
 *   - the global indexes (index_route_t 636-678), the per-category maps (791-877), the request
 *     category computation of find_route (1541-1722), the category walk (find_match 1233-1347),
 *     the reducers (1125-1207, incl. the single-bit shortcut of 1199) and the matchers
 *     (935-1122, 880-932);
 *   - regexes as OpenResty's ngx.re with PCRE2: "a" = PCRE2_ANCHORED at compile time, no UTF,
 *     match limit 100000 (kong/templates/kong_defaults.lua:101), "(*LIMIT_MATCH=10000)" on the
 *     strip regex (51, 455); unmatched groups are Lua false (lua-resty-core collect_captures);
 *   - resty.ipmatcher 0.6.1 CIDR semantics for sources/destinations ranges.
 * It models select(), not exec(): the URI is matched as given (no normalisation; exec() does
 * strip_uri_args + kong.tools.uri.normalize, 1777), request header names are matched as
 * ngx.req.get_headers() does (lower-case, then "_" -> "-" on a miss). No LRU cache. A route's
 * header names are taken in JSON order where Lua has pairs() (LuaJIT hash order, which decides
 * hits.header_name only when one route brings several new names; not reproducible).
 *
 * Ownership: kf_trad_new copies what it needs and keeps no reference to the JSON it was given
 * (router.h lets it borrow, it does not need to). The router is immutable
 * after kf_trad_new; kf_trad_select only reads it, so any number of threads may select at once.
 * kf_match strings are malloc'd and owned by the match. Errors: KGC_EINVAL with Kong's text,
 * KGC_ENOMEM. Internal to test/fakes/kong/. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "router_internal.h"

#include <kgc/err.h>

#include <arpa/inet.h>
#include <math.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* traditional.lua:183-191 */
enum {
    R_HOST = 0x40,
    R_HEADER = 0x20,
    R_URI = 0x10,
    R_METHOD = 0x08,
    R_SNI = 0x04,
    R_SRC = 0x02,
    R_DST = 0x01,
};

/* traditional.lua:209-213 */
enum {
    S_HAS_REGEX_URI = 0x01,
    S_PLAIN_HOSTS_ONLY = 0x02,
    S_HAS_WILDCARD_HOST_PORT = 0x04,
};

/* kong/templates/kong_defaults.lua:101 nginx_http_lua_regex_match_limit */
#define TRAD_MATCH_LIMIT 100000u

/* ---- small helpers ----------------------------------------------------------------------------
 */

static char *xstrndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static char ascii_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* Lua's string.lower / string.upper (C locale: ASCII only). */
static char *dup_case(const char *s, bool upper)
{
    char *p = xstrdup(s);
    if (p) {
        for (char *q = p; *q; q++) {
            *q = upper ? ascii_upper(*q) : ascii_lower(*q);
        }
    }
    return p;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A growable array of pointers. */
struct pvec {
    void **v;
    size_t n, cap;
};

static int pvec_push(struct pvec *a, void *p)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4;
        void **v = realloc(a->v, cap * sizeof(*v));
        if (!v) {
            return KGC_ENOMEM;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = p;
    return 0;
}

/* A string -> size_t hash map (open addressing); keys are owned copies. Read-only lookups are
 * thread-safe. */
struct smap_ent {
    char *key;
    size_t val;
};

struct smap {
    struct smap_ent *e;
    size_t cap, n;
};

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static const size_t *smap_get(const struct smap *m, const char *key)
{
    if (!m->cap || !key) {
        return NULL;
    }
    size_t i = (size_t)str_hash(key) & (m->cap - 1);
    while (m->e[i].key) {
        if (strcmp(m->e[i].key, key) == 0) {
            return &m->e[i].val;
        }
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

static int smap_grow(struct smap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    struct smap_ent *e = calloc(cap, sizeof(*e));
    if (!e) {
        return KGC_ENOMEM;
    }
    for (size_t k = 0; k < m->cap; k++) {
        if (m->e[k].key) {
            size_t i = (size_t)str_hash(m->e[k].key) & (cap - 1);
            while (e[i].key) {
                i = (i + 1) & (cap - 1);
            }
            e[i] = m->e[k];
        }
    }
    free(m->e);
    m->e = e;
    m->cap = cap;
    return 0;
}

/* Inserts key with val unless present; *slot points at the stored value, *added says which. */
static int smap_put(struct smap *m, const char *key, size_t val, size_t **slot, bool *added)
{
    if ((m->n + 1) * 2 > m->cap) {
        int rc = smap_grow(m);
        if (rc) {
            return rc;
        }
    }
    size_t i = (size_t)str_hash(key) & (m->cap - 1);
    while (m->e[i].key) {
        if (strcmp(m->e[i].key, key) == 0) {
            if (slot) {
                *slot = &m->e[i].val;
            }
            if (added) {
                *added = false;
            }
            return 0;
        }
        i = (i + 1) & (m->cap - 1);
    }
    char *k = xstrdup(key);
    if (!k) {
        return KGC_ENOMEM;
    }
    m->e[i].key = k;
    m->e[i].val = val;
    m->n++;
    if (slot) {
        *slot = &m->e[i].val;
    }
    if (added) {
        *added = true;
    }
    return 0;
}

static void smap_free(struct smap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->e[i].key);
    }
    free(m->e);
    memset(m, 0, sizeof(*m));
}

/* ---- LuaJIT table.sort ------------------------------------------------------------------------
 */

/* A "less than" as Lua's sort sees it: 1 true, 0 false, <0 a Lua error (message in ud). */
typedef int (*lt_fn)(const void *x, const void *y, void *ud);

#define SORT_EINVALID (-2) /* lj_errmsg.h TABSORT "invalid order function for sorting" */

static void swap_p(void **a, long i, long j)
{
    void *t = a[i];
    a[i] = a[j];
    a[j] = t;
}

/* LuaJIT v2.1 src/lib_table.c auxsort, on a[l..u] (1-based like Lua: a points one before the
 * first element). Written from the algorithm: same comparisons in the same order, same swaps. */
static int auxsort(void **a, long l, long u, lt_fn lt, void *ud)
{
    while (l < u) {
        long i, j;
        int c = lt(a[u], a[l], ud);
        if (c < 0) {
            return c;
        }
        if (c) {
            swap_p(a, l, u);
        }
        if (u - l == 1) {
            break;
        }
        i = (l + u) / 2;
        c = lt(a[i], a[l], ud);
        if (c < 0) {
            return c;
        }
        if (c) {
            swap_p(a, i, l);
        } else {
            c = lt(a[u], a[i], ud);
            if (c < 0) {
                return c;
            }
            if (c) {
                swap_p(a, i, u);
            }
        }
        if (u - l == 2) {
            break;
        }
        void *pivot = a[i];
        swap_p(a, i, u - 1);
        i = l;
        j = u - 1;
        for (;;) {
            for (;;) {
                ++i;
                c = lt(a[i], pivot, ud);
                if (c < 0) {
                    return c;
                }
                if (!c) {
                    break;
                }
                if (i >= u) {
                    return SORT_EINVALID;
                }
            }
            for (;;) {
                --j;
                c = lt(pivot, a[j], ud);
                if (c < 0) {
                    return c;
                }
                if (!c) {
                    break;
                }
                if (j <= l) {
                    return SORT_EINVALID;
                }
            }
            if (j < i) {
                break;
            }
            swap_p(a, i, j);
        }
        swap_p(a, u - 1, i);
        if (i - l < u - i) {
            j = l;
            i = i - 1;
            l = i + 2;
        } else {
            j = i + 1;
            i = u;
            u = j - 2;
        }
        c = auxsort(a, j, i, lt, ud);
        if (c < 0) {
            return c;
        }
    }
    return 0;
}

static int lua_sort(struct pvec *v, lt_fn lt, void *ud)
{
    if (v->n < 2) {
        return 0;
    }
    return auxsort(v->v - 1, 1, (long)v->n, lt, ud);
}

/* ---- Lua value helpers over json-c ------------------------------------------------------------
 */

/* A field as Lua sees it after cjson: absent, JSON null and false are all falsy here (the Lua
 * tests `if hosts then`); NULL for those. */
static json_object *jfield(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!obj || !json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, key, &v) || !v) {
        return NULL;
    }
    if (json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v)) {
        return NULL;
    }
    return v;
}

/* A field as it is (false included); NULL when absent or JSON null (nil). */
static json_object *jraw(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!obj || !json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, key, &v)) {
        return NULL;
    }
    return v;
}

static bool is_table(json_object *v)
{
    return v &&
           (json_object_is_type(v, json_type_array) || json_object_is_type(v, json_type_object));
}

/* Lua's # on a cjson-decoded table: an array's length; an object (hash part only) has 0. */
static size_t lua_len(json_object *v)
{
    return (v && json_object_is_type(v, json_type_array)) ? json_object_array_length(v) : 0;
}

static const char *lua_type(json_object *v)
{
    if (!v) {
        return "nil";
    }
    switch (json_object_get_type(v)) {
    case json_type_boolean:
        return "boolean";
    case json_type_double:
    case json_type_int:
        return "number";
    case json_type_string:
        return "string";
    case json_type_object:
    case json_type_array:
        return "table";
    default:
        return "userdata"; /* cjson.null */
    }
}

static bool is_number(json_object *v)
{
    return v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double));
}

/* Lua's tostring for a number (LuaJIT "%.14g"); out >= 32 bytes. */
static void lua_numstr(double d, char *out, size_t outsz)
{
    snprintf(out, outsz, "%.14g", d);
}

/* string.lower/upper accept strings and numbers (converted); anything else is a Lua error. */
static char *lua_case_arg(json_object *v, bool upper, const char *fn, char *err, size_t errsz,
                          int *rc)
{
    char num[40];
    const char *s;
    if (v && json_object_is_type(v, json_type_string)) {
        s = json_object_get_string(v);
    } else if (is_number(v)) {
        lua_numstr(json_object_get_double(v), num, sizeof(num));
        s = num;
    } else {
        snprintf(err, errsz, "bad argument #1 to '%s' (string expected, got %s)", fn, lua_type(v));
        *rc = KGC_EINVAL;
        return NULL;
    }
    char *p = dup_case(s, upper);
    *rc = p ? 0 : KGC_ENOMEM;
    return p;
}

/* A Lua table key for a scalar, tagged by type so "80" and 80 differ as in Lua: "s<str>",
 * "n<number>", "b<bool>"; NULL (never equal to anything) for tables/userdata. */
static char *lua_key(json_object *v)
{
    char buf[64];
    if (!v) {
        return NULL;
    }
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        char *k = malloc(strlen(s) + 2);
        if (k) {
            k[0] = 's';
            strcpy(k + 1, s);
        }
        return k;
    }
    if (is_number(v)) {
        snprintf(buf, sizeof(buf), "n%.17g", json_object_get_double(v));
        return xstrdup(buf);
    }
    if (json_object_is_type(v, json_type_boolean)) {
        return xstrdup(json_object_get_boolean(v) ? "btrue" : "bfalse");
    }
    return NULL;
}

/* ---- CIDR (resty.ipmatcher 0.6.1) -------------------------------------------------------------
 */

struct cidr {
    int fam;     /* 0: ipmatcher.new() failed (never matches), 4, 6 */
    long bits;   /* the mask as given */
    bool exact;  /* /32, /128 or no usable mask */
    bool all;    /* /0 */
    bool weird;  /* a mask we do not model (not an integer): never matches */
    uint32_t w4; /* IPv4 address */
    uint32_t w6[4];
};

static bool parse_v4(const char *s, uint32_t *out)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1) {
        return false;
    }
    *out = ntohl(a.s_addr);
    return true;
}

/* ipmatcher parse_ipv6: brackets around the literal are peeled off. */
static bool parse_v6(const char *s, uint32_t out[4])
{
    char buf[128];
    size_t n = strlen(s);
    if (n >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, s, n + 1);
    if (n >= 2 && buf[0] == '[' && buf[n - 1] == ']') {
        buf[n - 1] = '\0';
        memmove(buf, buf + 1, n - 1);
    }
    unsigned char b[16];
    if (inet_pton(AF_INET6, buf, b) != 1) {
        return false;
    }
    for (int i = 0; i < 4; i++) {
        out[i] = ((uint32_t)b[i * 4] << 24) | ((uint32_t)b[i * 4 + 1] << 16) |
                 ((uint32_t)b[i * 4 + 2] << 8) | b[i * 4 + 3];
    }
    return true;
}

/* Lua's tonumber on a string: decimal or hex, surrounding spaces allowed; no inf/nan. */
static bool lua_tonumber(const char *s, double *out)
{
    char *end;
    while (*s == ' ' || (*s >= '\t' && *s <= '\r')) {
        s++;
    }
    if (!*s) {
        return false;
    }
    double d = strtod(s, &end);
    if (end == s || isnan(d) || isinf(d)) {
        return false;
    }
    while (*end == ' ' || (*end >= '\t' && *end <= '\r')) {
        end++;
    }
    if (*end) {
        return false;
    }
    *out = d;
    return true;
}

/* ipmatcher.lua split_ip + new(): "addr[/mask]", mask = tonumber(rest) (nil -> host route). */
static void cidr_parse(const char *text, struct cidr *c)
{
    memset(c, 0, sizeof(*c));
    char buf[160];
    size_t n = strlen(text);
    if (n >= sizeof(buf)) {
        return;
    }
    memcpy(buf, text, n + 1);
    char *slash = strchr(buf, '/');
    double mask = 0;
    bool has_mask = false;
    if (slash) {
        *slash = '\0';
        has_mask = lua_tonumber(slash + 1, &mask);
    }
    if (parse_v4(buf, &c->w4)) {
        c->fam = 4;
        if (!has_mask) {
            mask = 32;
        }
    } else if (parse_v6(buf, c->w6)) {
        c->fam = 6;
        if (!has_mask) {
            mask = 128;
        }
    } else {
        return;
    }
    if (mask != floor(mask) || fabs(mask) > 1e6) {
        c->weird = true;
        return;
    }
    c->bits = (long)mask;
    if ((c->fam == 4 && c->bits == 32) || (c->fam == 6 && c->bits >= 128)) {
        c->exact = true;
    } else if (c->bits == 0) {
        c->all = true;
    } else if (c->fam == 6 && c->bits < 0) {
        c->weird = true;
    }
}

/* ipmatcher match(): IPv4 rules only match IPv4 addresses, IPv6 rules IPv6 ones. */
static bool cidr_match(const struct cidr *c, const char *ip)
{
    if (!c->fam || c->weird || !ip) {
        return false;
    }
    uint32_t v4, v6[4];
    if (parse_v4(ip, &v4)) {
        if (c->fam != 4) {
            return false;
        }
        if (c->exact) {
            return v4 == c->w4;
        }
        if (c->all) {
            return true;
        }
        /* bit.rshift(x, 32 - mask): LuaJIT masks the shift count to 5 bits */
        unsigned sh = (unsigned)((32 - c->bits) & 31);
        return (v4 >> sh) == (c->w4 >> sh);
    }
    if (!parse_v6(ip, v6) || c->fam != 6) {
        return false;
    }
    if (c->all) {
        return true;
    }
    long bits = c->exact ? 128 : c->bits;
    for (int i = 0; i < 4 && bits > 0; i++, bits -= 32) {
        if (bits >= 32) {
            if (v6[i] != c->w6[i]) {
                return false;
            }
        } else {
            unsigned sh = (unsigned)(32 - bits);
            if ((v6[i] >> sh) != (c->w6[i] >> sh)) {
                return false;
            }
        }
    }
    return true;
}

/* ---- split_port (traditional.lua:83-177) ------------------------------------------------------
 */

static bool only_digits(const char *s)
{
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return false;
        }
    }
    return true;
}

/* safe_add_port (88-94) */
static void add_port(char *out, const char *host, size_t hlen, unsigned port)
{
    memcpy(out, host, hlen);
    out[hlen] = '\0';
    if (port) {
        sprintf(out + hlen, ":%u", port);
    }
}

void kf_split_port(const char *name, unsigned default_port, char *no_port, char *with_port,
                   bool *had_port)
{
    size_t len = strlen(name);
    *had_port = false;
    if (len > 0 && name[0] == '[') {
        /* 120-137 */
        if (name[len - 1] == ']') {
            memcpy(no_port, name + 1, len - 2);
            no_port[len - 2] = '\0';
            add_port(with_port, name, len, default_port);
            return;
        }
        const char *sp = strstr(name + 1, "]:");
        if (sp) {
            size_t pos = (size_t)(sp - name); /* 0-based index of ']' */
            if (pos == len - 2) {
                memcpy(no_port, name + 1, pos - 1);
                no_port[pos - 1] = '\0';
                strcpy(with_port, name);
                if (default_port) {
                    sprintf(with_port + len, "%u", default_port);
                }
                return;
            }
            if (only_digits(sp + 2)) {
                memcpy(no_port, name + 1, pos - 1);
                no_port[pos - 1] = '\0';
                strcpy(with_port, name);
                *had_port = true;
                return;
            }
        }
        strcpy(no_port, name);
        add_port(with_port, name, len, default_port);
        return;
    }
    const char *colon = strchr(name, ':');
    if (!colon) {
        /* 139-142 */
        strcpy(no_port, name);
        add_port(with_port, name, len, default_port);
        return;
    }
    size_t fc = (size_t)(colon - name);
    if (fc == len - 1) {
        /* 144-147 */
        memcpy(no_port, name, fc);
        no_port[fc] = '\0';
        add_port(with_port, name, fc, default_port);
        return;
    }
    if (!only_digits(colon + 1)) {
        /* 149-155 */
        strcpy(no_port, name);
        if (default_port) {
            sprintf(with_port, "[%s]:%u", name, default_port);
        } else {
            strcpy(with_port, name);
        }
        return;
    }
    /* 157 */
    memcpy(no_port, name, fc);
    no_port[fc] = '\0';
    strcpy(with_port, name);
    *had_port = true;
}

/* ---- the router's data ------------------------------------------------------------------------
 */

struct t_host {
    bool wildcard;
    char *value;
    pcre2_code *re; /* wildcard only; NULL = compile error (ngx.re returns err) */
};

struct t_header {
    char *name;  /* lower-cased */
    char **vals; /* lower-cased values_map keys */
    size_t nvals;
    bool has_pat; /* a single "~*" value: its rest as an unanchored regex */
    pcre2_code *pat;
};

struct t_uri {
    bool is_regex;
    char *value; /* prefix path, or the regex without its "~" */
    size_t len;
    pcre2_code *find_re;  /* regex: the path, "ajo" (1670) */
    pcre2_code *strip_re; /* regex: REGEX_PREFIX .. path .. (?<uri_postfix>.*), "ajo" (455, 904) */
};

struct t_sd {       /* one sources/destinations entry (541-545) */
    char *ip_key;   /* lua_key(ip) or NULL when ip is falsy */
    char *ip_str;   /* ip when it is a string */
    bool has_range; /* create_range_f: a string ip with "/" */
    struct cidr range;
    char *port_key; /* lua_key(port) or NULL when port is falsy */
};

struct t_route {
    size_t idx;      /* index in the routes given */
    size_t ret;      /* the route reported (routes_by_id, 1266-1268) */
    unsigned rules;  /* match_rules */
    unsigned weight; /* match_weight */
    unsigned sub;    /* submatch_weight */
    size_t max_uri_length;
    struct t_host *hosts;
    size_t nhosts;
    struct t_header *headers;
    size_t nheaders;
    struct t_uri *uri; /* at most one: several paths are split (1421-1444) */
    char **methods;
    size_t nmethods;
    char **snis;
    size_t nsnis;
    struct t_sd *src;
    size_t nsrc;
    struct t_sd *dst;
    size_t ndst;
    bool strip;        /* route.strip_path == true (594) */
    bool http_service; /* get_service_info type == "http" (kong/router/utils.lua:219-221) */
    json_object *regex_priority;
    json_object *created_at;
};

/* A match rule of the route (match_rules): its bit set, and one more for match_weight. */
static void add_rule(struct t_route *r, unsigned rule)
{
    r->rules |= rule;
    r->weight++;
}

/* The per-key route lists of one category (routes_by_*). */
struct t_keyed {
    struct smap idx;   /* key -> index in lists */
    struct pvec lists; /* of struct pvec * */
};

struct t_cat {
    unsigned bit;
    unsigned weight;
    struct pvec all;
    struct t_keyed by_hosts, by_headers, by_uris, by_methods, by_sni, by_src, by_dst;
};

struct trad {
    bool http;
    size_t n_in;
    struct pvec routes; /* struct t_route *, sorted */
    struct t_cat *cats[128];
    struct pvec cats_sorted; /* struct t_cat * */
    int cat_pos[128];        /* categories_lookup: position in cats_sorted, -1 */
    /* plain_indexes (1366-1374) */
    struct smap hosts, uris, methods, snis, sources, destinations;
    struct smap header_set;
    struct pvec header_names; /* char * (owned), first-appearance order */
    struct pvec prefix_uris;  /* struct t_uri * */
    struct pvec regex_uris;   /* struct t_uri * */
    struct pvec wild_hosts;   /* struct t_host * */
    struct pvec src_ranges;   /* struct cidr * */
    struct pvec dst_ranges;
    pcre2_match_context *mctx;
};

/* ---- regex ------------------------------------------------------------------------------------
 */

static pcre2_code *re_compile(const char *pat, bool anchored)
{
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                                   anchored ? PCRE2_ANCHORED : 0, &ec, &eo, NULL);
    if (re) {
        (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* "j"; the interpreter when no JIT */
    }
    return re;
}

/* ngx.re.find/match: 1 match, 0 no match, -1 an error (compile failure, match limit, ...). With
 * md non-NULL the caller's match data receives the groups. */
static int re_exec(const struct trad *t, const pcre2_code *re, const char *subj,
                   pcre2_match_data *md)
{
    if (!re) {
        return -1;
    }
    pcre2_match_data *own = md ? md : pcre2_match_data_create_from_pattern(re, NULL);
    if (!own) {
        return -1;
    }
    int rc = pcre2_match(re, (PCRE2_SPTR)subj, strlen(subj), 0, 0, own, t->mctx);
    if (!md) {
        pcre2_match_data_free(own);
    }
    if (rc == PCRE2_ERROR_NOMATCH) {
        return 0;
    }
    return rc < 0 ? -1 : 1;
}

/* ---- build --------------------------------------------------------------------------------------
 */

struct builder {
    struct trad *t;
    char *err;
    size_t errsz;
    struct smap ids;    /* lua_key(id) -> last index (1417-1419) */
    json_object *empty; /* an empty table, the paths of a route split from a string */
};

static void free_route(struct t_route *r)
{
    if (!r) {
        return;
    }
    for (size_t i = 0; i < r->nhosts; i++) {
        free(r->hosts[i].value);
        pcre2_code_free(r->hosts[i].re);
    }
    free(r->hosts);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        for (size_t j = 0; j < r->headers[i].nvals; j++) {
            free(r->headers[i].vals[j]);
        }
        free(r->headers[i].vals);
        pcre2_code_free(r->headers[i].pat);
    }
    free(r->headers);
    if (r->uri) {
        free(r->uri->value);
        pcre2_code_free(r->uri->find_re);
        pcre2_code_free(r->uri->strip_re);
        free(r->uri);
    }
    for (size_t i = 0; i < r->nmethods; i++) {
        free(r->methods[i]);
    }
    free(r->methods);
    for (size_t i = 0; i < r->nsnis; i++) {
        free(r->snis[i]);
    }
    free(r->snis);
    for (size_t i = 0; i < r->nsrc; i++) {
        free(r->src[i].ip_key);
        free(r->src[i].ip_str);
        free(r->src[i].port_key);
    }
    free(r->src);
    for (size_t i = 0; i < r->ndst; i++) {
        free(r->dst[i].ip_key);
        free(r->dst[i].ip_str);
        free(r->dst[i].port_key);
    }
    free(r->dst);
    free(r);
}

static int fail(struct builder *b, const char *msg)
{
    snprintf(b->err, b->errsz, "%s", msg);
    return KGC_EINVAL;
}

/* The wildcard host regex (337-343): "." escaped, "*" -> ".+", "$" appended, and when the host
 * has no port (split_port, 340) "(?::\\d+)?" before that "$". */
static char *wildcard_regex(const char *host, bool *has_port)
{
    size_t n = strlen(host);
    char *a = malloc(n + 16), *c = malloc(n + 16);
    char *out = malloc(n * 2 + 16);
    if (!a || !c || !out) {
        free(a);
        free(c);
        free(out);
        return NULL;
    }
    kf_split_port(host, 0, a, c, has_port);
    free(a);
    free(c);
    char *o = out;
    for (const char *p = host; *p; p++) {
        if (*p == '.') {
            *o++ = '\\';
            *o++ = '.';
        } else if (*p == '*') {
            *o++ = '.';
            *o++ = '+';
        } else {
            *o++ = *p;
        }
    }
    strcpy(o, *has_port ? "$" : "(?::\\d+)?$");
    return out;
}

static int marshall_hosts(struct builder *b, json_object *hosts, struct t_route *r)
{
    if (!is_table(hosts)) {
        return fail(b, "hosts field must be a table");
    }
    size_t n = lua_len(hosts);
    bool has_wild = false, has_plain = false, wild_port = false;
    r->hosts = calloc(n ? n : 1, sizeof(*r->hosts));
    if (!r->hosts) {
        return KGC_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *h = json_object_array_get_idx(hosts, i);
        if (!h || !json_object_is_type(h, json_type_string)) {
            return fail(b, "hosts values must be strings");
        }
        const char *host = json_object_get_string(h);
        struct t_host *th = &r->hosts[r->nhosts++];
        th->value = xstrdup(host);
        if (!th->value) {
            return KGC_ENOMEM;
        }
        if (strchr(host, '*')) {
            has_wild = true;
            th->wildcard = true;
            bool hp = false;
            char *rx = wildcard_regex(host, &hp);
            if (!rx) {
                return KGC_ENOMEM;
            }
            if (hp) { /* 345-347 */
                wild_port = true;
            }
            th->re = re_compile(rx, true);
            free(rx);
        } else {
            has_plain = true;
        }
    }
    if (has_plain || has_wild) {
        add_rule(r, R_HOST);
    }
    if (!has_wild) {
        r->sub |= S_PLAIN_HOSTS_ONLY;
    }
    if (wild_port) {
        r->sub |= S_HAS_WILDCARD_HOST_PORT;
    }
    return 0;
}

static int marshall_one_header(struct builder *b, const char *name_in, json_object *vals,
                               struct t_route *r)
{
    if (!is_table(vals)) {
        snprintf(b->err, b->errsz, "header values must be a table for header '%s'", name_in);
        return KGC_EINVAL;
    }
    char *name = dup_case(name_in, false);
    if (!name) {
        return KGC_ENOMEM;
    }
    if (strcmp(name, "host") == 0) { /* 394 */
        free(name);
        return 0;
    }
    struct t_header *h = &r->headers[r->nheaders++];
    h->name = name;
    size_t n = lua_len(vals);
    h->vals = calloc(n ? n : 1, sizeof(*h->vals));
    if (!h->vals) {
        return KGC_ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        h->vals[h->nvals] =
            lua_case_arg(json_object_array_get_idx(vals, i), false, "lower", b->err, b->errsz, &rc);
        if (rc) {
            return rc;
        }
        h->nvals++;
    }
    if (n == 1) { /* 401-406 */
        json_object *first = json_object_array_get_idx(vals, 0);
        const char *fs =
            json_object_is_type(first, json_type_string) ? json_object_get_string(first) : "";
        if (starts_with(fs, "~*")) {
            h->has_pat = true;
            h->pat = re_compile(fs + 2, false); /* "jo": not anchored */
        }
    }
    return 0;
}

static int marshall_headers(struct builder *b, json_object *headers, struct t_route *r)
{
    if (!is_table(headers)) {
        return fail(b, "headers field must be a table");
    }
    size_t cap = json_object_is_type(headers, json_type_array)
                     ? json_object_array_length(headers)
                     : (size_t)json_object_object_length(headers);
    r->headers = calloc(cap ? cap : 1, sizeof(*r->headers));
    if (!r->headers) {
        return KGC_ENOMEM;
    }
    /* pairs(headers) (386): modelled as the JSON document's order */
    if (json_object_is_type(headers, json_type_array)) {
        for (size_t i = 0; i < cap; i++) {
            char nm[32];
            snprintf(nm, sizeof(nm), "%zu", i + 1);
            /* a JSON null is cjson.null, not a table: the error below */
            json_object *v = json_object_array_get_idx(headers, i);
            int rc = marshall_one_header(b, nm, v, r);
            if (rc) {
                return rc;
            }
        }
    } else {
        json_object_object_foreach(headers, key, val)
        {
            int rc = marshall_one_header(b, key, val, r);
            if (rc) {
                return rc;
            }
        }
    }
    if (r->nheaders > 0) {
        add_rule(r, R_HEADER);
    }
    return 0;
}

static int marshall_path(struct builder *b, json_object *path, struct t_route *r)
{
    if (!path || !json_object_is_type(path, json_type_string)) {
        snprintf(b->err, b->errsz, "attempt to get length of local 'path' (a %s value)",
                 lua_type(path));
        return KGC_EINVAL;
    }
    const char *p = json_object_get_string(path);
    struct t_uri *u = calloc(1, sizeof(*u));
    if (!u) {
        return KGC_ENOMEM;
    }
    r->uri = u;
    if (p[0] != '~') {
        /* 439-449 */
        u->value = xstrdup(p);
        if (!u->value) {
            return KGC_ENOMEM;
        }
        u->len = strlen(p);
        if (u->len > r->max_uri_length) {
            r->max_uri_length = u->len;
        }
        return 0;
    }
    /* 451-466 */
    u->is_regex = true;
    u->value = xstrdup(p + 1);
    if (!u->value) {
        return KGC_ENOMEM;
    }
    u->len = strlen(u->value);
    static const char pre[] = "(*LIMIT_MATCH=10000)", post[] = "(?<uri_postfix>.*)";
    char *strip = malloc(sizeof(pre) + u->len + sizeof(post));
    if (!strip) {
        return KGC_ENOMEM;
    }
    sprintf(strip, "%s%s%s", pre, u->value, post);
    u->find_re = re_compile(u->value, true);
    u->strip_re = re_compile(strip, true);
    free(strip);
    r->sub |= S_HAS_REGEX_URI;
    return 0;
}

/* The array v (a Lua table, else tbl_msg) made ready for marshalling: its length in *n, whether
 * it has elements in *any, and room for n elements of elem_size bytes in *out (zeroed). */
static int marshall_begin(struct builder *b, json_object *v, const char *tbl_msg, size_t elem_size,
                          void **out, size_t *n, bool *any)
{
    if (!is_table(v)) {
        return fail(b, tbl_msg);
    }
    *n = lua_len(v);
    *any = *n > 0;
    *out = calloc(*n ? *n : 1, elem_size);
    return *out ? 0 : KGC_ENOMEM;
}

static int marshall_strings(struct builder *b, json_object *v, const char *tbl_msg, bool methods,
                            char ***out, size_t *nout, bool *any)
{
    size_t n = 0;
    void *mem = NULL;
    int brc = marshall_begin(b, v, tbl_msg, sizeof(**out), &mem, &n, any);
    if (brc) {
        return brc;
    }
    *out = mem;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        int rc = 0;
        char *s;
        if (methods) {
            /* 487: methods_t[upper(methods[i])] */
            s = lua_case_arg(e, true, "upper", b->err, b->errsz, &rc);
        } else {
            /* 506-516 */
            if (!e || !json_object_is_type(e, json_type_string)) {
                return fail(b, "sni elements must be strings");
            }
            const char *sni = json_object_get_string(e);
            size_t len = strlen(sni);
            if (len > 1 && sni[len - 1] == '.') {
                len--;
            }
            s = xstrndup(sni, len);
            rc = s ? 0 : KGC_ENOMEM;
        }
        if (rc) {
            return rc;
        }
        (*out)[(*nout)++] = s;
    }
    return 0;
}

static int marshall_sd(struct builder *b, json_object *v, const char *tbl_msg, const char *elem_msg,
                       struct t_sd **out, size_t *nout, bool *any)
{
    size_t n = 0;
    void *mem = NULL;
    int brc = marshall_begin(b, v, tbl_msg, sizeof(**out), &mem, &n, any);
    if (brc) {
        return brc;
    }
    *out = mem;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (!is_table(e)) {
            return fail(b, elem_msg);
        }
        struct t_sd *sd = &(*out)[(*nout)++];
        json_object *ip = jfield(e, "ip");
        json_object *port = jfield(e, "port");
        if (ip) {
            sd->ip_key = lua_key(ip);
            if (json_object_is_type(ip, json_type_string)) {
                sd->ip_str = xstrdup(json_object_get_string(ip));
                if (!sd->ip_str) {
                    return KGC_ENOMEM;
                }
                if (strchr(sd->ip_str, '/')) { /* create_range_f (279-284) */
                    sd->has_range = true;
                    cidr_parse(sd->ip_str, &sd->range);
                }
            }
        }
        if (port) {
            sd->port_key = lua_key(port);
        }
    }
    return 0;
}

static bool service_is_http(json_object *service)
{
    /* kong/router/utils.lua:219-221 + kong/constants.lua:77-86 */
    json_object *p = jfield(service, "protocol");
    if (!p || !json_object_is_type(p, json_type_string)) {
        return false;
    }
    const char *s = json_object_get_string(p);
    return strcmp(s, "http") == 0 || strcmp(s, "https") == 0 || strcmp(s, "grpc") == 0 ||
           strcmp(s, "grpcs") == 0;
}

/* marshall_route (287-615); path_override: the one path of a split route, or NULL. */
static int marshall(struct builder *b, size_t idx, const struct kf_route_in *in,
                    json_object *path_override, struct t_route **out)
{
    json_object *route = in->route;
    json_object *hosts = jfield(route, "hosts");
    json_object *headers = jfield(route, "headers");
    json_object *paths = path_override ? NULL : jfield(route, "paths");
    json_object *methods = jfield(route, "methods");
    json_object *snis = jfield(route, "snis");
    json_object *sources = jfield(route, "sources");
    json_object *dests = jfield(route, "destinations");
    *out = NULL;
    if (!(hosts || headers || methods || paths || path_override || snis || sources || dests)) {
        return fail(b, "could not categorize route"); /* 297-300 */
    }
    struct t_route *r = calloc(1, sizeof(*r));
    if (!r) {
        return KGC_ENOMEM;
    }
    r->idx = idx;
    r->ret = idx;
    int rc = 0;
    bool any;
    if (hosts) {
        rc = marshall_hosts(b, hosts, r);
    }
    if (!rc && headers) {
        rc = marshall_headers(b, headers, r);
    }
    if (!rc && (paths || path_override)) {
        if (path_override && path_override == b->empty) {
            /* paths = {} (see build): a table with no path, so no URI rule */
        } else if (path_override) {
            add_rule(r, R_URI);
            rc = marshall_path(b, path_override, r);
        } else if (!is_table(paths)) {
            rc = fail(b, "paths field must be a table");
        } else if (lua_len(paths) > 0) {
            add_rule(r, R_URI);
            rc = marshall_path(b, json_object_array_get_idx(paths, 0), r);
        }
    }
    if (!rc && methods) {
        rc = marshall_strings(b, methods, "methods field must be a table", true, &r->methods,
                              &r->nmethods, &any);
        if (!rc && any) {
            add_rule(r, R_METHOD);
        }
    }
    if (!rc && snis) {
        rc = marshall_strings(b, snis, "snis field must be a table", false, &r->snis, &r->nsnis,
                              &any);
        if (!rc && any) {
            add_rule(r, R_SNI);
        }
    }
    if (!rc && sources) {
        rc = marshall_sd(b, sources, "sources field must be a table",
                         "sources elements must be tables", &r->src, &r->nsrc, &any);
        if (!rc && any) {
            add_rule(r, R_SRC);
        }
    }
    if (!rc && dests) {
        rc = marshall_sd(b, dests, "destinations field must be a table",
                         "destinations elements must be tables", &r->dst, &r->ndst, &any);
        if (!rc && any) {
            add_rule(r, R_DST);
        }
    }
    if (rc) {
        free_route(r);
        return rc;
    }
    json_object *sp = jfield(route, "strip_path");
    r->strip = sp && json_object_is_type(sp, json_type_boolean) && json_object_get_boolean(sp);
    r->http_service = service_is_http(in->service);
    r->regex_priority = jraw(route, "regex_priority");
    r->created_at = jraw(route, "created_at");
    *out = r;
    return 0;
}

/* A scalar as Lua compares it. */
struct lval {
    const char *type; /* lua_type() */
    double d;         /* numbers */
    const char *s;    /* strings */
};

static struct lval lval_of(json_object *v, bool nil_is_zero)
{
    struct lval l = {lua_type(v), 0, NULL};
    if (!v || (json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v))) {
        if (nil_is_zero) { /* `x or 0` (693-694) */
            l.type = "number";
        }
        return l;
    }
    if (is_number(v)) {
        l.d = json_object_get_double(v);
    } else if (json_object_is_type(v, json_type_string)) {
        l.s = json_object_get_string(v);
    }
    return l;
}

static bool lval_eq(const struct lval *a, const struct lval *b)
{
    if (strcmp(a->type, b->type) != 0) {
        return false;
    }
    if (strcmp(a->type, "number") == 0) {
        return a->d == b->d;
    }
    if (strcmp(a->type, "string") == 0) {
        return strcmp(a->s, b->s) == 0;
    }
    return false; /* tables etc.: distinct objects */
}

/* Lua's "<" (LuaJIT: numbers numerically, strings bytewise); 1/0, or -1 with LuaJIT's error. */
static int lval_lt(const struct lval *a, const struct lval *b, char *err, size_t errsz)
{
    if (strcmp(a->type, "number") == 0 && strcmp(b->type, "number") == 0) {
        return a->d < b->d;
    }
    if (strcmp(a->type, "string") == 0 && strcmp(b->type, "string") == 0) {
        return strcmp(a->s, b->s) < 0;
    }
    if (strcmp(a->type, b->type) == 0) {
        snprintf(err, errsz, "attempt to compare two %s values", a->type);
    } else {
        snprintf(err, errsz, "attempt to compare %s with %s", a->type, b->type);
    }
    return -1;
}

struct sort_ud {
    char *err;
    size_t errsz;
};

/* sort_routes (681-709) */
static int lt_routes(const void *x, const void *y, void *ud)
{
    const struct t_route *r1 = x, *r2 = y;
    struct sort_ud *u = ud;
    if (r1->sub != r2->sub) {
        return r1->sub > r2->sub;
    }
    if (r1->nheaders != r2->nheaders) {
        return r1->nheaders > r2->nheaders;
    }
    if (r1->sub & S_HAS_REGEX_URI) {
        struct lval rp1 = lval_of(r1->regex_priority, true);
        struct lval rp2 = lval_of(r2->regex_priority, true);
        if (!lval_eq(&rp1, &rp2)) {
            return lval_lt(&rp2, &rp1, u->err, u->errsz); /* rp1 > rp2 */
        }
    }
    if (r1->max_uri_length != r2->max_uri_length) {
        return r1->max_uri_length > r2->max_uri_length;
    }
    if (r1->created_at && r2->created_at) {
        struct lval c1 = lval_of(r1->created_at, false);
        struct lval c2 = lval_of(r2->created_at, false);
        return lval_lt(&c1, &c2, u->err, u->errsz);
    }
    return 0;
}

/* sort_categories (712-718) */
static int lt_cats(const void *x, const void *y, void *ud)
{
    const struct t_cat *c1 = x, *c2 = y;
    (void)ud;
    if (c1->weight != c2->weight) {
        return c1->weight > c2->weight;
    }
    return c1->bit > c2->bit;
}

/* sort_uris (721-723) */
static int lt_uris(const void *x, const void *y, void *ud)
{
    (void)ud;
    return ((const struct t_uri *)x)->len > ((const struct t_uri *)y)->len;
}

static bool has_ip_port(const struct t_sd *sd, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (sd[i].ip_key && sd[i].port_key) {
            return true;
        }
    }
    return false;
}

/* sort_sources / sort_destinations (726-779): the same route_t compares equal. */
static int lt_sources(const void *x, const void *y, void *ud)
{
    const struct t_route *r1 = x, *r2 = y;
    (void)ud;
    if (r1 == r2) {
        return 0;
    }
    return has_ip_port(r1->src, r1->nsrc) > has_ip_port(r2->src, r2->nsrc);
}

static int lt_dests(const void *x, const void *y, void *ud)
{
    const struct t_route *r1 = x, *r2 = y;
    (void)ud;
    if (r1 == r2) {
        return 0;
    }
    return has_ip_port(r1->dst, r1->ndst) > has_ip_port(r2->dst, r2->ndst);
}

static int sort_rc(struct builder *b, int rc)
{
    if (rc == SORT_EINVALID) {
        return fail(b, "invalid order function for sorting");
    }
    return rc < 0 ? KGC_EINVAL : 0;
}

/* Appends r to the list under key in k (creating it). */
static int keyed_add(struct t_keyed *k, const char *key, struct t_route *r, bool dedup_last)
{
    if (!key) {
        return 0;
    }
    size_t *slot;
    bool added;
    int rc = smap_put(&k->idx, key, k->lists.n, &slot, &added);
    if (rc) {
        return rc;
    }
    if (added) {
        struct pvec *l = calloc(1, sizeof(*l));
        if (!l || pvec_push(&k->lists, l)) {
            free(l);
            return KGC_ENOMEM;
        }
    }
    struct pvec *l = k->lists.v[*slot];
    if (dedup_last && l->n && l->v[l->n - 1] == r) {
        return 0; /* APPENDED (828-843): one entry per route and key */
    }
    return pvec_push(l, r);
}

static const struct pvec *keyed_get(const struct t_keyed *k, const char *key)
{
    const size_t *v = smap_get(&k->idx, key);
    return v ? k->lists.v[*v] : NULL;
}

static void keyed_free(struct t_keyed *k)
{
    for (size_t i = 0; i < k->lists.n; i++) {
        struct pvec *l = k->lists.v[i];
        free(l->v);
        free(l);
    }
    free(k->lists.v);
    smap_free(&k->idx);
}

/* Route r under each of the n keys, a repeated key once (a Lua set). */
static int keyed_add_set(struct t_keyed *k, char *const *keys, size_t n, struct t_route *r)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < i; j++) {
            dup = dup || strcmp(keys[j], keys[i]) == 0;
        }
        if (!dup) {
            rc = keyed_add(k, keys[i], r, false);
        }
    }
    return rc;
}

/* categorize_route_t (851-877) */
static int categorize(struct trad *t, struct t_route *r)
{
    struct t_cat *c = t->cats[r->rules & 0x7f];
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c) {
            return KGC_ENOMEM;
        }
        c->bit = r->rules;
        c->weight = r->weight;
        t->cats[r->rules & 0x7f] = c;
    }
    int rc = pvec_push(&c->all, r);
    for (size_t i = 0; !rc && i < r->nhosts; i++) {
        rc = keyed_add(&c->by_hosts, r->hosts[i].value, r, false);
    }
    for (size_t i = 0; !rc && i < r->nheaders; i++) {
        rc = keyed_add(&c->by_headers, r->headers[i].name, r, false);
    }
    if (!rc && r->uri) {
        rc = keyed_add(&c->by_uris, r->uri->value, r, false);
    }
    /* methods_t / snis_t are sets (keys): a repeated value adds the route once (804-812) */
    if (!rc) {
        rc = keyed_add_set(&c->by_methods, r->methods, r->nmethods, r);
    }
    if (!rc) {
        rc = keyed_add_set(&c->by_sni, r->snis, r->nsnis, r);
    }
    for (size_t i = 0; !rc && i < r->nsrc; i++) {
        rc = keyed_add(&c->by_src, r->src[i].ip_key, r, true);
        if (!rc) {
            rc = keyed_add(&c->by_src, r->src[i].port_key, r, true);
        }
    }
    for (size_t i = 0; !rc && i < r->ndst; i++) {
        rc = keyed_add(&c->by_dst, r->dst[i].ip_key, r, true);
        if (!rc) {
            rc = keyed_add(&c->by_dst, r->dst[i].port_key, r, true);
        }
    }
    return rc;
}

static int set_add(struct smap *m, const char *key)
{
    return key ? smap_put(m, key, 0, NULL, NULL) : 0;
}

/* index_route_t (636-678) */
static int index_route(struct trad *t, struct t_route *r)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < r->nhosts; i++) {
        rc = r->hosts[i].wildcard ? pvec_push(&t->wild_hosts, &r->hosts[i])
                                  : set_add(&t->hosts, r->hosts[i].value);
    }
    for (size_t i = 0; !rc && i < r->nheaders; i++) {
        bool added;
        rc = smap_put(&t->header_set, r->headers[i].name, 0, NULL, &added);
        if (!rc && added) {
            char *n = xstrdup(r->headers[i].name);
            rc = n ? pvec_push(&t->header_names, n) : KGC_ENOMEM;
            if (rc) {
                free(n);
            }
        }
    }
    if (!rc && r->uri) {
        if (!r->uri->is_regex) {
            rc = set_add(&t->uris, r->uri->value);
            if (!rc) {
                rc = pvec_push(&t->prefix_uris, r->uri);
            }
        } else {
            rc = pvec_push(&t->regex_uris, r->uri);
        }
    }
    for (size_t i = 0; !rc && i < r->nmethods; i++) {
        rc = set_add(&t->methods, r->methods[i]);
    }
    for (size_t i = 0; !rc && i < r->nsnis; i++) {
        rc = set_add(&t->snis, r->snis[i]);
    }
    /* index_src_dst (618-633) */
    for (size_t i = 0; !rc && i < r->nsrc; i++) {
        if (r->src[i].ip_key) {
            rc = set_add(&t->sources, r->src[i].ip_key);
            if (!rc && r->src[i].has_range) {
                rc = pvec_push(&t->src_ranges, &r->src[i].range);
            }
        }
        if (!rc && r->src[i].port_key) {
            rc = set_add(&t->sources, r->src[i].port_key);
        }
    }
    for (size_t i = 0; !rc && i < r->ndst; i++) {
        if (r->dst[i].ip_key) {
            rc = set_add(&t->destinations, r->dst[i].ip_key);
            if (!rc && r->dst[i].has_range) {
                rc = pvec_push(&t->dst_ranges, &r->dst[i].range);
            }
        }
        if (!rc && r->dst[i].port_key) {
            rc = set_add(&t->destinations, r->dst[i].port_key);
        }
    }
    return rc;
}

void kf_trad_free(void *rv)
{
    struct trad *t = rv;
    if (!t) {
        return;
    }
    for (size_t i = 0; i < t->routes.n; i++) {
        free_route(t->routes.v[i]);
    }
    free(t->routes.v);
    for (size_t i = 0; i < 128; i++) {
        struct t_cat *c = t->cats[i];
        if (!c) {
            continue;
        }
        free(c->all.v);
        keyed_free(&c->by_hosts);
        keyed_free(&c->by_headers);
        keyed_free(&c->by_uris);
        keyed_free(&c->by_methods);
        keyed_free(&c->by_sni);
        keyed_free(&c->by_src);
        keyed_free(&c->by_dst);
        free(c);
    }
    free(t->cats_sorted.v);
    smap_free(&t->hosts);
    smap_free(&t->uris);
    smap_free(&t->methods);
    smap_free(&t->snis);
    smap_free(&t->sources);
    smap_free(&t->destinations);
    smap_free(&t->header_set);
    for (size_t i = 0; i < t->header_names.n; i++) {
        free(t->header_names.v[i]);
    }
    free(t->header_names.v);
    free(t->prefix_uris.v);
    free(t->regex_uris.v);
    free(t->wild_hosts.v);
    free(t->src_ranges.v);
    free(t->dst_ranges.v);
    pcre2_match_context_free(t->mctx);
    free(t);
}

static int sort_keyed(struct builder *b, struct t_keyed *k, lt_fn lt)
{
    for (size_t i = 0; i < k->lists.n; i++) {
        struct sort_ud ud = {b->err, b->errsz};
        int rc = sort_rc(b, lua_sort(k->lists.v[i], lt, &ud));
        if (rc) {
            return rc;
        }
    }
    return 0;
}

static int build(struct builder *b, const struct kf_route_in *routes, size_t n)
{
    struct trad *t = b->t;
    int rc = 0;
    /* 1404-1445: marshall, splitting routes with several paths */
    for (size_t i = 0; i < n; i++) {
        json_object *route = routes[i].route;
        if (!route || !json_object_is_type(route, json_type_object)) {
            return fail(b, "attempt to index local 'r' (a nil value)");
        }
        json_object *id = jfield(route, "id");
        char *idk = lua_key(id);
        if (idk) {
            size_t *slot;
            bool added;
            rc = smap_put(&b->ids, idk, i, &slot, &added);
            free(idk);
            if (rc) {
                return rc;
            }
            *slot = i; /* routes_by_id[r.id] = route: the last one wins */
        }
        json_object *paths = jfield(route, "paths");
        /* `paths and #paths or 0` (1422): # of a string is its length, and indexing a string
         * gives nil, so a string of 2+ bytes splits into that many routes with paths = {} */
        size_t count = 0;
        bool str_paths = false;
        if (paths && json_object_is_type(paths, json_type_string)) {
            count = strlen(json_object_get_string(paths));
            str_paths = true;
        } else if (paths && !is_table(paths)) {
            snprintf(b->err, b->errsz, "attempt to get length of local 'paths' (a %s value)",
                     lua_type(paths));
            return KGC_EINVAL;
        } else {
            count = lua_len(paths);
        }
        if (count > 1) {
            for (size_t j = 0; j < count; j++) {
                struct t_route *r;
                rc = marshall(b, i, &routes[i],
                              str_paths ? b->empty : json_object_array_get_idx(paths, j), &r);
                if (!rc) {
                    rc = pvec_push(&t->routes, r);
                    if (rc) {
                        free_route(r);
                    }
                }
                if (rc) {
                    return rc;
                }
            }
        } else {
            struct t_route *r;
            rc = marshall(b, i, &routes[i], NULL, &r);
            if (!rc) {
                rc = pvec_push(&t->routes, r);
                if (rc) {
                    free_route(r);
                }
            }
            if (rc) {
                return rc;
            }
        }
    }
    /* the route reported for a match (1266-1268) */
    for (size_t i = 0; i < t->routes.n; i++) {
        struct t_route *r = t->routes.v[i];
        char *idk = lua_key(jfield(routes[r->idx].route, "id"));
        const size_t *last = idk ? smap_get(&b->ids, idk) : NULL;
        if (last) {
            r->ret = *last;
        }
        free(idk);
    }
    /* 1455 */
    struct sort_ud ud = {b->err, b->errsz};
    rc = sort_rc(b, lua_sort(&t->routes, lt_routes, &ud));
    if (rc) {
        return rc;
    }
    /* the JSON values were only needed to sort */
    for (size_t i = 0; i < t->routes.n; i++) {
        struct t_route *r = t->routes.v[i];
        r->regex_priority = NULL;
        r->created_at = NULL;
    }
    /* 1457-1464 */
    for (size_t i = 0; i < t->routes.n; i++) {
        rc = categorize(t, t->routes.v[i]);
        if (!rc) {
            rc = index_route(t, t->routes.v[i]);
        }
        if (rc) {
            return rc;
        }
    }
    /* 1470-1489 */
    for (size_t i = 0; i < 128; i++) {
        t->cat_pos[i] = -1;
        if (t->cats[i] && (rc = pvec_push(&t->cats_sorted, t->cats[i]))) {
            return rc;
        }
    }
    rc = sort_rc(b, lua_sort(&t->cats_sorted, lt_cats, &ud));
    if (rc) {
        return rc;
    }
    for (size_t i = 0; i < t->cats_sorted.n; i++) {
        t->cat_pos[((struct t_cat *)t->cats_sorted.v[i])->bit & 0x7f] = (int)i;
    }
    /* 1493-1502 */
    rc = sort_rc(b, lua_sort(&t->prefix_uris, lt_uris, &ud));
    for (size_t i = 0; !rc && i < t->cats_sorted.n; i++) {
        struct t_cat *c = t->cats_sorted.v[i];
        rc = sort_keyed(b, &c->by_src, lt_sources);
        if (!rc) {
            rc = sort_keyed(b, &c->by_dst, lt_dests);
        }
    }
    return rc;
}

int kf_trad_new(bool http, const struct kf_route_in *routes, size_t n, void **out, char *err,
                size_t errsz)
{
    *out = NULL;
    if (n && !routes) {
        snprintf(err, errsz, "expected arg #1 routes to be a table"); /* 1359-1361 */
        return KGC_EINVAL;
    }
    struct trad *t = calloc(1, sizeof(*t));
    if (!t) {
        return KGC_ENOMEM;
    }
    t->http = http;
    t->n_in = n;
    t->mctx = pcre2_match_context_create(NULL);
    if (!t->mctx) {
        free(t);
        return KGC_ENOMEM;
    }
    pcre2_set_match_limit(t->mctx, TRAD_MATCH_LIMIT);
    struct builder b = {.t = t, .err = err, .errsz = errsz, .empty = json_object_new_array()};
    int rc = b.empty ? build(&b, routes, n) : KGC_ENOMEM;
    smap_free(&b.ids);
    json_object_put(b.empty);
    if (rc) {
        if (rc == KGC_ENOMEM) {
            snprintf(err, errsz, "not enough memory");
        }
        kf_trad_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

/* ---- select ------------------------------------------------------------------------------------
 */

struct req_hdr {
    char *name;  /* lower-cased */
    char *value; /* lower-cased (the matcher lowers values, 973/988) */
};

struct rctx {
    const struct trad *t;
    const char *method, *uri, *host, *scheme, *sni;
    bool has_host;
    char *host_no_port, *host_with_port;
    char *src_ip_key, *src_port_key, *dst_ip_key, *dst_port_key;
    const char *src_ip, *dst_ip;
    struct req_hdr *hdrs;
    size_t nhdrs;
    /* hits (1505) */
    const char *hit_host, *hit_uri, *hit_header;
    /* matches of the route being tried */
    const char *m_host;
    bool m_prefix;
    size_t m_prefix_len;
    struct kf_kv *caps;
    size_t ncaps;
};

static void caps_clear(struct rctx *c)
{
    for (size_t i = 0; i < c->ncaps; i++) {
        free((char *)c->caps[i].name);
        free((char *)c->caps[i].value);
    }
    free(c->caps);
    c->caps = NULL;
    c->ncaps = 0;
}

/* req_headers[name] as ngx.req.get_headers() answers it: the exact lower-case name, else on a miss
 * the name with "_" turned into "-" (lua-nginx-module headers metatable). Calls back per value
 * in request order until cb returns true. */
static bool hdr_lookup(const struct rctx *c, const char *name,
                       bool (*cb)(const struct rctx *, const char *, const void *), const void *ud,
                       bool *present)
{
    *present = false;
    for (int pass = 0; pass < 2; pass++) {
        char *alt = NULL;
        const char *want = name;
        if (pass == 1) {
            if (!strchr(name, '_')) {
                break;
            }
            alt = xstrdup(name);
            if (!alt) {
                return false;
            }
            for (char *p = alt; *p; p++) {
                if (*p == '_') {
                    *p = '-';
                }
            }
            want = alt;
        }
        bool found = false;
        for (size_t i = 0; i < c->nhdrs; i++) {
            if (strcmp(c->hdrs[i].name, want) == 0) {
                *present = true;
                if (cb && cb(c, c->hdrs[i].value, ud)) {
                    found = true;
                    break;
                }
            }
        }
        free(alt);
        if (*present) {
            return found;
        }
    }
    return false;
}

/* the HEADER matcher's per-value check (972-997) */
static bool header_value_ok(const struct rctx *c, const char *val, const void *ud)
{
    const struct t_header *h = ud;
    for (size_t i = 0; i < h->nvals; i++) {
        if (strcmp(h->vals[i], val) == 0) {
            return true;
        }
    }
    return h->has_pat && re_exec(c->t, h->pat, val, NULL) == 1;
}

static int match_regex_uri(struct rctx *c, const struct t_uri *u);

/* matchers (935-1086) */
static bool m_host(struct rctx *c, const struct t_route *r)
{
    const char *k1 = c->hit_host ? c->hit_host : c->host;
    for (size_t i = 0; i < r->nhosts; i++) {
        if (!r->hosts[i].wildcard && strcmp(r->hosts[i].value, k1) == 0) {
            c->m_host = r->hosts[i].value;
            return true;
        }
    }
    if (c->host_no_port) {
        for (size_t i = 0; i < r->nhosts; i++) {
            if (!r->hosts[i].wildcard && strcmp(r->hosts[i].value, c->host_no_port) == 0) {
                c->m_host = r->hosts[i].value;
                return true;
            }
        }
    }
    for (size_t i = 0; i < r->nhosts; i++) {
        if (r->hosts[i].wildcard) {
            /* ngx.re.find(tostring(host_with_port)): nil becomes "nil" (lua-resty-core regex) */
            int rc =
                re_exec(c->t, r->hosts[i].re, c->host_with_port ? c->host_with_port : "nil", NULL);
            if (rc < 0) {
                return false; /* 950-953 */
            }
            if (rc == 1) {
                c->m_host = r->hosts[i].value;
                return true;
            }
        }
    }
    return false;
}

static bool m_header(struct rctx *c, const struct t_route *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        bool present;
        if (!hdr_lookup(c, r->headers[i].name, header_value_ok, &r->headers[i], &present)) {
            return false;
        }
    }
    return true;
}

static bool m_uri(struct rctx *c, const struct t_route *r)
{
    size_t ulen = strlen(c->uri);
    if (ulen == 0 || !r->uri) { /* 1010-1012 */
        return false;
    }
    const struct t_uri *u = r->uri;
    const char *key = c->hit_uri ? c->hit_uri : c->uri;
    if (strcmp(u->value, key) == 0) { /* 1016-1035 */
        if (u->is_regex) {
            int rc = match_regex_uri(c, u);
            if (rc > 0) {
                return true;
            }
            if (rc < 0) {
                return false;
            }
        }
        c->m_prefix = true;
        c->m_prefix_len = u->len < ulen ? u->len : ulen;
        return true;
    }
    if (u->is_regex) { /* 1041-1051 */
        return match_regex_uri(c, u) > 0;
    }
    if (strncmp(c->uri, u->value, u->len) == 0) { /* 1053-1060 */
        c->m_prefix = true;
        c->m_prefix_len = u->len;
        return true;
    }
    return false;
}

static bool m_method(struct rctx *c, const struct t_route *r)
{
    for (size_t i = 0; i < r->nmethods; i++) {
        if (strcmp(r->methods[i], c->method) == 0) {
            return true;
        }
    }
    return false;
}

static bool m_sni(struct rctx *c, const struct t_route *r)
{
    if (c->scheme && strcmp(c->scheme, "http") == 0) { /* 1073 */
        return true;
    }
    for (size_t i = 0; i < r->nsnis; i++) {
        if (strcmp(r->snis[i], c->sni) == 0) {
            return true;
        }
    }
    return false;
}

static bool keq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* matcher_src_dst (880-900) */
static bool m_src_dst(const struct t_sd *sd, size_t n, const char *ip, const char *ip_key,
                      const char *port_key)
{
    for (size_t i = 0; i < n; i++) {
        bool ip_ok;
        if (!sd[i].ip_key) {
            ip_ok = true;
        } else if (sd[i].has_range) {
            ip_ok = cidr_match(&sd[i].range, ip);
        } else {
            ip_ok = keq(sd[i].ip_key, ip_key);
        }
        if (ip_ok && (!sd[i].port_key || keq(sd[i].port_key, port_key))) {
            return true;
        }
    }
    return false;
}

/* match_route (1089-1121): every rule of the route must match; matches cleared per try. */
static bool match_route(struct rctx *c, const struct t_route *r)
{
    c->m_host = NULL;
    c->m_prefix = false;
    c->m_prefix_len = 0;
    caps_clear(c);
    if ((r->rules & R_HOST) && !m_host(c, r)) {
        return false;
    }
    if ((r->rules & R_HEADER) && !m_header(c, r)) {
        return false;
    }
    if ((r->rules & R_URI) && !m_uri(c, r)) {
        return false;
    }
    if ((r->rules & R_METHOD) && !m_method(c, r)) {
        return false;
    }
    if ((r->rules & R_SNI) && !m_sni(c, r)) {
        return false;
    }
    if ((r->rules & R_SRC) &&
        !m_src_dst(r->src, r->nsrc, c->src_ip, c->src_ip_key, c->src_port_key)) {
        return false;
    }
    if ((r->rules & R_DST) &&
        !m_src_dst(r->dst, r->ndst, c->dst_ip, c->dst_ip_key, c->dst_port_key)) {
        return false;
    }
    return true;
}

/* match_regex_uri (903-932) with ngx.re.match's capture table (lua-resty-core
 * collect_captures): 1 matched, 0 not, -1 error. */
static int match_regex_uri(struct rctx *c, const struct t_uri *u)
{
    const pcre2_code *re = u->strip_re;
    if (!re) {
        return -1;
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) {
        return -1;
    }
    int rc = re_exec(c->t, re, c->uri, md);
    if (rc != 1) {
        pcre2_match_data_free(md);
        return rc;
    }
    int mrc = (int)pcre2_get_ovector_count(md);
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    uint32_t ncap = 0, namecount = 0, entsz = 0;
    PCRE2_SPTR names = NULL;
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &ncap);
    pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &namecount);
    pcre2_pattern_info(re, PCRE2_INFO_NAMEENTRYSIZE, &entsz);
    pcre2_pattern_info(re, PCRE2_INFO_NAMETABLE, &names);
    int pf = pcre2_substring_number_from_name(re, (PCRE2_SPTR) "uri_postfix");
    (void)mrc;
    bool pf_set = pf > 0 && (uint32_t)pf <= ncap && ov[2 * pf] != PCRE2_UNSET;
    size_t ulen = strlen(c->uri);
    if (pf_set) {
        size_t pflen = ov[2 * pf + 1] - ov[2 * pf];
        c->m_prefix = true;
        c->m_prefix_len = ulen - pflen; /* sub(req_uri, 1, -(#uri_postfix + 1)) */
    }
    /* numbered groups 0..top (the uri_postfix group dropped when it matched, 917-919) */
    uint32_t top = pf_set ? ncap - 1 : ncap;
    if (top >= 1) { /* m[1] ~= nil (927) */
        size_t total = (size_t)top + 1 + namecount;
        c->caps = calloc(total, sizeof(*c->caps));
        if (!c->caps) {
            pcre2_match_data_free(md);
            return -1;
        }
        for (uint32_t i = 0; i <= top; i++) {
            char nm[16];
            snprintf(nm, sizeof(nm), "%u", i);
            struct kf_kv *kv = &c->caps[c->ncaps++];
            kv->name = xstrdup(nm);
            if (ov[2 * i] != PCRE2_UNSET) {
                kv->value = xstrndup(c->uri + ov[2 * i], ov[2 * i + 1] - ov[2 * i]);
            }
        }
        for (uint32_t k = 0; k < namecount; k++) {
            PCRE2_SPTR ent = names + (size_t)k * entsz;
            uint32_t num = ((uint32_t)ent[0] << 8) | ent[1];
            const char *name = (const char *)ent + 2;
            if (pf_set && strcmp(name, "uri_postfix") == 0) {
                continue;
            }
            struct kf_kv *kv = &c->caps[c->ncaps++];
            kv->name = xstrdup(name);
            if (num <= ncap && ov[2 * num] != PCRE2_UNSET) {
                kv->value = xstrndup(c->uri + ov[2 * num], ov[2 * num + 1] - ov[2 * num]);
            }
        }
    }
    pcre2_match_data_free(md);
    return 1;
}

/* reducers (1126-1158) */
static const struct pvec *reducer(const struct rctx *c, const struct t_cat *cat, unsigned rule)
{
    switch (rule) {
    case R_HOST:
        return keyed_get(&cat->by_hosts, c->hit_host ? c->hit_host : c->host);
    case R_HEADER:
        return c->hit_header ? keyed_get(&cat->by_headers, c->hit_header) : NULL;
    case R_URI:
        return c->hit_uri ? keyed_get(&cat->by_uris, c->hit_uri) : NULL;
    case R_METHOD:
        return keyed_get(&cat->by_methods, c->method);
    case R_SNI:
        return keyed_get(&cat->by_sni, c->sni);
    case R_SRC: {
        const struct pvec *l = keyed_get(&cat->by_src, c->src_ip_key);
        return l ? l : keyed_get(&cat->by_src, c->src_port_key);
    }
    case R_DST: {
        const struct pvec *l = keyed_get(&cat->by_dst, c->dst_ip_key);
        return l ? l : keyed_get(&cat->by_dst, c->dst_port_key);
    }
    default:
        return NULL;
    }
}

/* reduce (1160-1206): a single-rule category uses that rule's reducer directly (1199); else the
 * rules in SORTED_MATCH_RULES order (194-206): the header list at once, else the smallest. */
static const struct pvec *reduce(const struct rctx *c, const struct t_cat *cat)
{
    static const unsigned http_order[] = {R_HOST, R_HEADER, R_URI, R_METHOD, R_SNI};
    static const unsigned stream_order[] = {R_SNI, R_SRC, R_DST};
    unsigned bit = cat->bit;
    if (bit && (bit & (bit - 1)) == 0) {
        return reducer(c, cat, bit);
    }
    const unsigned *order = c->t->http ? http_order : stream_order;
    size_t n = c->t->http ? 5 : 3;
    const struct pvec *smallest = NULL;
    size_t min = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(bit & order[i])) {
            continue;
        }
        const struct pvec *cand = reducer(c, cat, order[i]);
        if (cand) {
            if (order[i] == R_HEADER) {
                return cand;
            }
            if (!smallest || cand->n < min) {
                min = cand->n;
                smallest = cand;
            }
        }
    }
    return smallest;
}

static const struct t_route *match_candidates(struct rctx *c, const struct pvec *l)
{
    for (size_t i = 0; l && i < l->n; i++) {
        if (match_route(c, l->v[i])) {
            return l->v[i];
        }
    }
    return NULL;
}

/* find_match (1233-1347) */
static const struct t_route *find_match(struct rctx *c, unsigned req_category)
{
    const struct trad *t = c->t;
    int start = t->cat_pos[req_category & 0x7f];
    for (size_t i = start >= 0 ? (size_t)start : 0; i < t->cats_sorted.n; i++) {
        const struct t_cat *cat = t->cats_sorted.v[i];
        const struct pvec *reduced = reduce(c, cat);
        const struct t_route *r = reduced ? match_candidates(c, reduced) : NULL;
        if (!r) {
            r = match_candidates(c, &cat->all);
        }
        if (r) {
            return r;
        }
    }
    return NULL;
}

/* match_src_dst (1210-1221) */
static bool index_src_dst(const struct smap *idx, const struct pvec *ranges, const char *ip,
                          const char *ip_key, const char *port_key)
{
    if (smap_get(idx, ip_key) || smap_get(idx, port_key)) {
        return true;
    }
    for (size_t i = 0; i < ranges->n; i++) {
        if (cidr_match(ranges->v[i], ip)) {
            return true;
        }
    }
    return false;
}

static char *str_key(const char *s)
{
    char *k = malloc(strlen(s) + 2);
    if (k) {
        k[0] = 's';
        strcpy(k + 1, s);
    }
    return k;
}

/* The port as select() receives it: a number, or nil -> "" (1560-1562). */
static char *port_key(unsigned port)
{
    char buf[32];
    if (!port) {
        return xstrdup("s");
    }
    snprintf(buf, sizeof(buf), "n%.17g", (double)port);
    return xstrdup(buf);
}

/* find_route (1541-1751) after the argument checks. Returns the route or NULL; -1 on ENOMEM. */
static int find_route(struct rctx *c, const struct t_route **out)
{
    const struct trad *t = c->t;
    unsigned cat = 0;
    *out = NULL;
    /* header hits (1575-1614) */
    for (size_t i = 0; i < t->header_names.n; i++) {
        bool present;
        hdr_lookup(c, t->header_names.v[i], NULL, NULL, &present);
        if (present) {
            c->hit_header = t->header_names.v[i];
            cat |= R_HEADER;
            break;
        }
    }
    /* host (1640-1664) */
    if (c->has_host) {
        size_t hl = strlen(c->host);
        c->host_no_port = malloc(hl + 16);
        c->host_with_port = malloc(hl + 16);
        if (!c->host_no_port || !c->host_with_port) {
            return -1;
        }
        bool had;
        kf_split_port(c->host, c->scheme && strcmp(c->scheme, "https") == 0 ? 443 : 80,
                      c->host_no_port, c->host_with_port, &had);
        if (t->hosts.n &&
            (smap_get(&t->hosts, c->host_with_port) || smap_get(&t->hosts, c->host_no_port))) {
            cat |= R_HOST;
        } else if (t->wild_hosts.n) {
            for (size_t i = 0; i < t->wild_hosts.n; i++) {
                const struct t_host *h = t->wild_hosts.v[i];
                int rc = re_exec(t, h->re, c->host_with_port, NULL);
                if (rc < 0) {
                    return 0; /* 1652-1655: no route */
                }
                if (rc == 1) {
                    c->hit_host = h->value;
                    cat |= R_HOST;
                    break;
                }
            }
        }
    }
    /* uri (1668-1698) */
    for (size_t i = 0; i < t->regex_uris.n; i++) {
        const struct t_uri *u = t->regex_uris.v[i];
        int rc = re_exec(t, u->find_re, c->uri, NULL);
        if (rc < 0) {
            return 0; /* 1671-1674 */
        }
        if (rc == 1) {
            c->hit_uri = u->value;
            cat |= R_URI;
            break;
        }
    }
    if (t->uris.n && !c->hit_uri) {
        if (smap_get(&t->uris, c->uri)) {
            c->hit_uri = c->uri;
            cat |= R_URI;
        } else {
            for (size_t i = 0; i < t->prefix_uris.n; i++) {
                const struct t_uri *u = t->prefix_uris.v[i];
                if (strncmp(c->uri, u->value, u->len) == 0) {
                    c->hit_uri = u->value;
                    cat |= R_URI;
                    break;
                }
            }
        }
    }
    /* method, sni, src, dst (1702-1722) */
    if (smap_get(&t->methods, c->method)) {
        cat |= R_METHOD;
    }
    if (smap_get(&t->snis, c->sni)) {
        cat |= R_SNI;
    }
    if (t->sources.n &&
        index_src_dst(&t->sources, &t->src_ranges, c->src_ip, c->src_ip_key, c->src_port_key)) {
        cat |= R_SRC;
    }
    if (t->destinations.n && index_src_dst(&t->destinations, &t->dst_ranges, c->dst_ip,
                                           c->dst_ip_key, c->dst_port_key)) {
        cat |= R_DST;
    }
    if (cat) {
        *out = find_match(c, cat);
    }
    return 0;
}

int kf_trad_select(const void *rv, const struct kf_request *req, struct kf_match *m, char *err,
                   size_t errsz)
{
    memset(m, 0, sizeof(*m));
    m->route = -1;
    const struct trad *t = rv;
    if (!t || !req) {
        snprintf(err, errsz, "expected a router and a request");
        return KGC_EINVAL;
    }
    /* check_select_params (kong/router/utils.lua:67-104): the C types make every other check
     * hold; a header array that is missing is "not a table". */
    if (req->n_headers && !req->headers) {
        snprintf(err, errsz, "headers must be a table");
        return KGC_EINVAL;
    }
    struct rctx c = {.t = t};
    /* input sanitisation (1553-1563) */
    c.method = req->method ? req->method : "";
    c.uri = req->uri ? req->uri : "";
    c.has_host = req->host != NULL;
    c.host = req->host ? req->host : "";
    c.scheme = req->scheme;
    c.sni = req->sni ? req->sni : "";
    c.src_ip = req->src_ip ? req->src_ip : "";
    c.dst_ip = req->dst_ip ? req->dst_ip : "";
    int rc = 0;
    c.src_ip_key = str_key(c.src_ip);
    c.dst_ip_key = str_key(c.dst_ip);
    c.src_port_key = port_key(req->src_port);
    c.dst_port_key = port_key(req->dst_port);
    if (!c.src_ip_key || !c.dst_ip_key || !c.src_port_key || !c.dst_port_key) {
        rc = KGC_ENOMEM;
        goto out;
    }
    if (req->n_headers) {
        c.hdrs = calloc(req->n_headers, sizeof(*c.hdrs));
        if (!c.hdrs) {
            rc = KGC_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < req->n_headers; i++) {
            if (!req->headers[i].name || !req->headers[i].value) {
                continue;
            }
            struct req_hdr *h = &c.hdrs[c.nhdrs];
            h->name = dup_case(req->headers[i].name, false);
            h->value = dup_case(req->headers[i].value, false);
            c.nhdrs++;
            if (!h->name || !h->value) {
                rc = KGC_ENOMEM;
                goto out;
            }
        }
    }
    const struct t_route *r = NULL;
    if (find_route(&c, &r) < 0) {
        rc = KGC_ENOMEM;
        goto out;
    }
    if (r) {
        m->route = (int)r->ret;
        if (r->strip && r->http_service && c.m_prefix) { /* 1276-1277 */
            m->prefix = xstrndup(c.uri, c.m_prefix_len);
            if (!m->prefix) {
                rc = KGC_ENOMEM;
            }
        }
        if (c.m_host) {
            m->matched_host = xstrdup(c.m_host);
            if (!m->matched_host) {
                rc = KGC_ENOMEM;
            }
        }
        m->captures = c.caps;
        m->n_captures = c.ncaps;
        c.caps = NULL;
        c.ncaps = 0;
    }
out:
    caps_clear(&c);
    for (size_t i = 0; i < c.nhdrs; i++) {
        free(c.hdrs[i].name);
        free(c.hdrs[i].value);
    }
    free(c.hdrs);
    free(c.host_no_port);
    free(c.host_with_port);
    free(c.src_ip_key);
    free(c.dst_ip_key);
    free(c.src_port_key);
    free(c.dst_port_key);
    if (rc == KGC_ENOMEM) {
        snprintf(err, errsz, "not enough memory");
    }
    return rc;
}

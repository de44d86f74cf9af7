/* errtable — Kong's validation error tables (Lua tables of messages), their JSON encoding as
 * lua-cjson does it and their text as Penlight's pretty.write(t, "") does it. */
#include "kong_fake.h"
#include "kbuf.h"

#include <kgc/err.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kf_errt_entry {
    char *skey;       /* string key (owned), or NULL for an integer key */
    long ikey;        /* integer key when skey is NULL */
    struct kf_errv v; /* the value (owned) */
};

struct kf_errt {
    struct kf_errt_entry *e; /* entries in insertion order */
    size_t n, cap;
};

struct kf_errt *kf_errt_new(void)
{
    return calloc(1, sizeof(struct kf_errt));
}

void kf_errv_free(struct kf_errv *v)
{
    if (!v) {
        return;
    }
    free(v->str);
    kf_errt_free(v->tab);
    v->str = NULL;
    v->tab = NULL;
}

void kf_errt_free(struct kf_errt *t)
{
    if (!t) {
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        free(t->e[i].skey);
        kf_errv_free(&t->e[i].v);
    }
    free(t->e);
    free(t);
}

size_t kf_errt_count(const struct kf_errt *t)
{
    return t ? t->n : 0;
}

static struct kf_errt_entry *find(const struct kf_errt *t, const char *skey, long ikey)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct kf_errt_entry *e = &t->e[i];
        if (skey ? (e->skey && strcmp(e->skey, skey) == 0) : (!e->skey && e->ikey == ikey)) {
            return &t->e[i];
        }
    }
    return NULL;
}

int kf_errt_put(struct kf_errt *t, const char *skey, long ikey, struct kf_errv v)
{
    struct kf_errt_entry *e = find(t, skey, ikey);
    if (e) {
        kf_errv_free(&e->v);
        e->v = v;
        return 0;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4;
        struct kf_errt_entry *ne = realloc(t->e, cap * sizeof(*ne));
        if (!ne) {
            kf_errv_free(&v);
            return KGC_ENOMEM;
        }
        t->e = ne;
        t->cap = cap;
    }
    char *k = NULL;
    if (skey && !(k = strdup(skey))) {
        kf_errv_free(&v);
        return KGC_ENOMEM;
    }
    t->e[t->n++] = (struct kf_errt_entry){.skey = k, .ikey = skey ? 0 : ikey, .v = v};
    return 0;
}

int kf_errt_set(struct kf_errt *t, const char *skey, long ikey, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return KGC_ENOMEM;
    }
    return kf_errt_put(t, skey, ikey, (struct kf_errv){.str = s});
}

struct kf_errt *kf_errt_sub(struct kf_errt *t, const char *skey, long ikey)
{
    struct kf_errt_entry *e = find(t, skey, ikey);
    if (e && e->v.tab) {
        return e->v.tab;
    }
    struct kf_errt *sub = kf_errt_new();
    if (!sub || kf_errt_put(t, skey, ikey, (struct kf_errv){.tab = sub}) != 0) {
        return NULL; /* kf_errt_put freed sub */
    }
    return sub;
}

const struct kf_errv *kf_errt_get(const struct kf_errt *t, const char *skey, long ikey)
{
    const struct kf_errt_entry *e = t ? find(t, skey, ikey) : NULL;
    return e ? &e->v : NULL;
}

/* Lua's #t for the tables we build: the first border from 1. */
static long border(const struct kf_errt *t)
{
    long n = 0;
    while (find(t, NULL, n + 1)) {
        n++;
    }
    return n;
}

int kf_errt_append(struct kf_errt *t, const char *msg)
{
    return kf_errt_set(t, NULL, border(t) + 1, "%s", msg);
}

int kf_errt_entity(struct kf_errt *t, const char *msg)
{
    struct kf_errt *list = kf_errt_sub(t, "@entity", 0);
    return list ? kf_errt_append(list, msg) : KGC_ENOMEM;
}

struct kf_errv kf_errt_take(struct kf_errt *t, const char *skey, long ikey)
{
    struct kf_errt_entry *e = find(t, skey, ikey);
    if (!e) {
        return (struct kf_errv){0};
    }
    struct kf_errv v = e->v;
    free(e->skey);
    size_t i = (size_t)(e - t->e);
    memmove(&t->e[i], &t->e[i + 1], (t->n - i - 1) * sizeof(*t->e));
    t->n--;
    return v;
}

static int cmp_key(const void *a, const void *b)
{
    const struct kf_errkey *x = a, *y = b;
    if (x->skey && y->skey) {
        return strcmp(x->skey, y->skey);
    }
    if (x->skey || y->skey) {
        return x->skey ? 1 : -1;
    }
    return (x->ikey > y->ikey) - (x->ikey < y->ikey);
}

int kf_errt_keys(const struct kf_errt *t, struct kf_errkey **keys, size_t *n)
{
    *keys = calloc(t->n ? t->n : 1, sizeof(**keys));
    *n = 0;
    if (!*keys) {
        return KGC_ENOMEM;
    }
    for (size_t i = 0; i < t->n; i++) {
        (*keys)[i].ikey = t->e[i].ikey;
        if (t->e[i].skey && !((*keys)[i].skey = strdup(t->e[i].skey))) {
            kf_errkeys_free(*keys, i);
            *keys = NULL;
            return KGC_ENOMEM;
        }
    }
    *n = t->n;
    qsort(*keys, *n, sizeof(**keys), cmp_key);
    return 0;
}

void kf_errkeys_free(struct kf_errkey *keys, size_t n)
{
    for (size_t i = 0; keys && i < n; i++) {
        free(keys[i].skey);
    }
    free(keys);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

json_object *kf_errt_to_json(const struct kf_errt *t)
{
    bool all_int = t->n > 0;
    long max = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->e[i].skey || t->e[i].ikey < 1) {
            all_int = false;
        } else if (t->e[i].ikey > max) {
            max = t->e[i].ikey;
        }
    }
    json_object *out = all_int ? json_object_new_array() : json_object_new_object();
    if (!out) {
        return NULL;
    }
    for (size_t i = 0; i < t->n; i++) {
        const struct kf_errt_entry *e = &t->e[i];
        json_object *v =
            e->v.tab ? kf_errt_to_json(e->v.tab) : json_object_new_string(e->v.str ? e->v.str : "");
        if (!v) {
            json_object_put(out);
            return NULL;
        }
        if (all_int) {
            json_object_array_put_idx(out, (size_t)e->ikey - 1, v);
        } else if (e->skey) {
            json_object_object_add(out, e->skey, v);
        } else {
            char k[32];
            snprintf(k, sizeof(k), "%ld", e->ikey);
            json_object_object_add(out, k, v);
        }
    }
    if (all_int && json_object_array_length(out) < (size_t)max) {
        json_object_array_put_idx(out, (size_t)max - 1, NULL);
    }
    return out;
}

/* ---- pretty.write(t, "") --------------------------------------------------------------------- */

/* The longest run of '=' in a long-bracket lookalike ("[[", "[=[", "]]", "]==]"), or -1. */
static int long_quote_level(const char *s)
{
    int best = -1;
    for (const char *p = s; *p; p++) {
        if (*p != '[' && *p != ']') {
            continue;
        }
        const char *q = p + 1;
        while (*q == '=') {
            q++;
        }
        if (*q == *p && (int)(q - p - 1) > best) {
            best = (int)(q - p - 1);
        }
    }
    return best;
}

/* pl.stringx.quote_string: a long bracket string when s has a newline or a bracket lookalike,
 * else Lua's %q. */
static void quote_string(struct kf_buf *b, const char *s)
{
    int level = long_quote_level(s);
    if (strchr(s, '\n') || level >= 0) {
        int eq = level + 1;
        kf_buf_puts(b, "[");
        for (int i = 0; i < eq; i++) {
            kf_buf_puts(b, "=");
        }
        kf_buf_puts(b, "[");
        if (s[0] == '\n') {
            kf_buf_puts(b, "\n");
        }
        kf_buf_puts(b, s);
        kf_buf_puts(b, "]");
        for (int i = 0; i < eq; i++) {
            kf_buf_puts(b, "=");
        }
        kf_buf_puts(b, "]");
        return;
    }
    kf_buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char tmp[8];
        if (*p == '"' || *p == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)*p;
            kf_buf_putn(b, tmp, 2);
        } else if (*p == '\r') {
            kf_buf_puts(b, "\\r");
        } else if (*p < 32 || *p == 127) {
            snprintf(tmp, sizeof(tmp), (p[1] >= '0' && p[1] <= '9') ? "\\%03u" : "\\%u", *p);
            kf_buf_puts(b, tmp);
        } else {
            kf_buf_putn(b, (const char *)p, 1);
        }
    }
    kf_buf_puts(b, "\"");
}

static bool is_identifier(const char *s)
{
    static const char *const keywords[] = {
        "and",      "break",  "do",   "else", "elseif", "end",   "false", "for",
        "function", "goto",   "if",   "in",   "local",  "nil",   "not",   "or",
        "repeat",   "return", "then", "true", "until",  "while", NULL};
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')) {
        return false;
    }
    for (const char *p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_')) {
            return false;
        }
    }
    for (size_t i = 0; keywords[i]; i++) {
        if (strcmp(s, keywords[i]) == 0) {
            return false;
        }
    }
    return true;
}

/* Sort order for printing: string keys bytewise, then integer keys ascending (indexes into t). */
static int cmp_entry(const void *a, const void *b, void *arg)
{
    const struct kf_errt *t = arg;
    const struct kf_errt_entry *x = &t->e[*(const size_t *)a];
    const struct kf_errt_entry *y = &t->e[*(const size_t *)b];
    if (x->skey && y->skey) {
        return strcmp(x->skey, y->skey);
    }
    if (x->skey || y->skey) {
        return x->skey ? -1 : 1;
    }
    return (x->ikey > y->ikey) - (x->ikey < y->ikey);
}

static void pretty(struct kf_buf *b, const struct kf_errt *t);

static void pretty_value(struct kf_buf *b, const struct kf_errv *v)
{
    if (v->tab) {
        pretty(b, v->tab);
    } else {
        quote_string(b, v->str ? v->str : "");
    }
}

static void pretty(struct kf_buf *b, const struct kf_errt *t)
{
    kf_buf_puts(b, "{");
    bool first = true;
    long arr = border(t);
    for (long i = 1; i <= arr; i++) {
        if (!first) {
            kf_buf_puts(b, ",");
        }
        first = false;
        pretty_value(b, &find(t, NULL, i)->v);
    }
    size_t *rest = calloc(t->n ? t->n : 1, sizeof(size_t));
    if (!rest) {
        b->oom = true;
        return;
    }
    size_t nr = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->e[i].skey || t->e[i].ikey < 1 || t->e[i].ikey > arr) {
            rest[nr++] = i;
        }
    }
    qsort_r(rest, nr, sizeof(size_t), cmp_entry, (void *)t);
    for (size_t i = 0; i < nr; i++) {
        const struct kf_errt_entry *e = &t->e[rest[i]];
        if (!first) {
            kf_buf_puts(b, ",");
        }
        first = false;
        if (!e->skey) {
            char k[32];
            snprintf(k, sizeof(k), "[%ld]", e->ikey);
            kf_buf_puts(b, k);
        } else if (is_identifier(e->skey)) {
            kf_buf_puts(b, e->skey);
        } else {
            struct kf_buf q = {0};
            quote_string(&q, e->skey);
            bool sp = q.p && q.p[0] == '[';
            kf_buf_puts(b, sp ? "[ " : "[");
            kf_buf_puts(b, q.p ? q.p : "");
            kf_buf_puts(b, sp ? " ]" : "]");
            b->oom |= q.oom;
            free(q.p);
        }
        kf_buf_puts(b, "=");
        pretty_value(b, &e->v);
    }
    free(rest);
    kf_buf_puts(b, "}");
}

char *kf_errt_pretty(const struct kf_errt *t)
{
    struct kf_buf b = {0};
    pretty(&b, t);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

#include "schema.h"

#include "jsonutil.h"
#include "kgc/err.h"
#include "reply.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN     1024
#define MAX_SCHEMA_DEPTH 128

/* Values a pattern was last matched against, with the outcome: a status write matches the same
 * condition types, reasons, controller names and group/kind strings again and again, and a match
 * is a pure function of pattern and value (~2.4k instructions each for the Gateway API's). */
#define PATTERN_MEMO     16
#define PATTERN_MEMO_LEN 64 /* longer values are matched every time */

struct fas_pattern {
    char *src;        /* the pattern text (the map key points here) */
    pcre2_code *code; /* NULL when the pattern does not compile: it is then not enforced */
    char memo[PATTERN_MEMO][PATTERN_MEMO_LEN]; /* "" = unused (the empty value is not memoised) */
    bool memo_ok[PATTERN_MEMO];
    unsigned memo_next; /* the slot replaced next (round robin) */
};

void fas_schema_ctx_init(struct fas_schema_ctx *ctx)
{
    kgc_strmap_init(&ctx->patterns);
    ctx->match_data = NULL;
}

void fas_schema_ctx_destroy(struct fas_schema_ctx *ctx)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (kgc_strmap_next(&ctx->patterns, &pos, &k, &v)) {
        struct fas_pattern *p = v;
        pcre2_code_free(p->code);
        free(p->src);
        free(p);
    }
    kgc_strmap_destroy(&ctx->patterns);
    pcre2_match_data_free(ctx->match_data);
    ctx->match_data = NULL;
}

/* ---- schema keywords -------------------------------------------------------------------- */

/* The keywords looked up in every walked schema node, with their json-c hashes computed once: a
 * status write walks a few hundred nodes, and hashing the same constant keys again and again was
 * a tenth of its instructions. json-c hashes every object's keys with one function (per process),
 * so a hash taken from one table holds for all. */
enum kw {
    KW_ADDITIONALPROPERTIES,
    KW_DEFAULT,
    KW_ENUM,
    KW_EXCLUSIVEMAXIMUM,
    KW_EXCLUSIVEMINIMUM,
    KW_ITEMS,
    KW_MAXITEMS,
    KW_MAXLENGTH,
    KW_MAXPROPERTIES,
    KW_MAXIMUM,
    KW_MINITEMS,
    KW_MINLENGTH,
    KW_MINIMUM,
    KW_NULLABLE,
    KW_PATTERN,
    KW_PROPERTIES,
    KW_REQUIRED,
    KW_TYPE,
    KW_X_KUBERNETES_EMBEDDED_RESOURCE,
    KW_X_KUBERNETES_INT_OR_STRING,
    KW_X_KUBERNETES_PRESERVE_UNKNOWN_FIELDS,
    KW_N
};

static const char *const kw_name[KW_N] = {
    [KW_ADDITIONALPROPERTIES] = "additionalProperties",
    [KW_DEFAULT] = "default",
    [KW_ENUM] = "enum",
    [KW_EXCLUSIVEMAXIMUM] = "exclusiveMaximum",
    [KW_EXCLUSIVEMINIMUM] = "exclusiveMinimum",
    [KW_ITEMS] = "items",
    [KW_MAXITEMS] = "maxItems",
    [KW_MAXLENGTH] = "maxLength",
    [KW_MAXPROPERTIES] = "maxProperties",
    [KW_MAXIMUM] = "maximum",
    [KW_MINITEMS] = "minItems",
    [KW_MINLENGTH] = "minLength",
    [KW_MINIMUM] = "minimum",
    [KW_NULLABLE] = "nullable",
    [KW_PATTERN] = "pattern",
    [KW_PROPERTIES] = "properties",
    [KW_REQUIRED] = "required",
    [KW_TYPE] = "type",
    [KW_X_KUBERNETES_EMBEDDED_RESOURCE] = "x-kubernetes-embedded-resource",
    [KW_X_KUBERNETES_INT_OR_STRING] = "x-kubernetes-int-or-string",
    [KW_X_KUBERNETES_PRESERVE_UNKNOWN_FIELDS] = "x-kubernetes-preserve-unknown-fields",
};

static unsigned long kw_hash[KW_N];
static bool kw_hashed; /* false (no table to hash with): plain lookups */
static pthread_once_t kw_once = PTHREAD_ONCE_INIT;

static void kw_init(void)
{
    json_object *o = json_object_new_object();
    if (!o)
        return;
    for (size_t i = 0; i < KW_N; i++)
        kw_hash[i] = lh_get_hash(json_object_get_object(o), kw_name[i]);
    kw_hashed = true;
    json_object_put(o);
}

/* json_object_object_get_ex(s, kw_name[k], v) for a schema node s (anything: not an object has
 * no member). */
static bool kw_get_ex(json_object *s, enum kw k, json_object **v)
{
    if (v)
        *v = NULL;
    if (!s || !json_object_is_type(s, json_type_object))
        return false;
    pthread_once(&kw_once, kw_init);
    if (!kw_hashed)
        return json_object_object_get_ex(s, kw_name[k], v);
    struct lh_entry *e =
        lh_table_lookup_entry_w_hash(json_object_get_object(s), kw_name[k], kw_hash[k]);
    if (!e)
        return false;
    if (v)
        *v = (json_object *)lh_entry_v(e);
    return true;
}

static json_object *kw_get(json_object *s, enum kw k)
{
    json_object *v = NULL;
    kw_get_ex(s, k, &v);
    return v;
}

static const char *kw_str(json_object *s, enum kw k)
{
    json_object *v = kw_get(s, k);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* A field path being built while walking: "spec.listeners[0].port". */
struct path {
    char buf[PATH_MAX_LEN];
    size_t len;
};

/* Appends n bytes of s, truncated to the buffer (always NUL-terminated), as snprintf would:
 * appended by hand, every walked node pushes one (a format per node was a tenth of a status
 * write's instructions). */
static void path_put(struct path *p, const char *s, size_t n)
{
    size_t room = sizeof(p->buf) - 1 - p->len;
    if (n > room)
        n = room;
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    p->buf[p->len] = '\0';
}

static size_t path_push_key(struct path *p, const char *key)
{
    size_t saved = p->len;
    if (p->len)
        path_put(p, ".", 1);
    path_put(p, key, strlen(key));
    return saved;
}

static size_t path_push_index(struct path *p, size_t i)
{
    size_t saved = p->len;
    char d[24];
    size_t n = sizeof(d);
    d[--n] = ']';
    do {
        d[--n] = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    d[--n] = '[';
    path_put(p, d + n, sizeof(d) - n);
    return saved;
}

static size_t path_push_mapkey(struct path *p, const char *key)
{
    size_t saved = p->len;
    path_put(p, "[", 1);
    path_put(p, key, strlen(key));
    path_put(p, "]", 1);
    return saved;
}

static void path_pop(struct path *p, size_t saved)
{
    p->len = saved;
    p->buf[saved] = '\0';
}

static bool schema_flag(json_object *s, enum kw key)
{
    json_object *v = kw_get(s, key);
    return v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

/* ---- pruning -------------------------------------------------------------------------------- */

/* only (at the root): the one root member walked; the others are known to be pruned already. */
static int prune(json_object *x, json_object *s, struct path *p, bool root, json_object *unknown,
                 int depth, const char *only)
{
    if (!s || !x || depth > MAX_SCHEMA_DEPTH)
        return 0;
    if (json_object_is_type(x, json_type_array)) {
        json_object *items = kw_get(s, KW_ITEMS);
        if (!items)
            return 0;
        for (size_t i = 0; i < json_object_array_length(x); i++) {
            size_t saved = path_push_index(p, i);
            int rc =
                prune(json_object_array_get_idx(x, i), items, p, false, unknown, depth + 1, NULL);
            path_pop(p, saved);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (!json_object_is_type(x, json_type_object))
        return 0;
    bool preserve = schema_flag(s, KW_X_KUBERNETES_PRESERVE_UNKNOWN_FIELDS);
    bool embedded = root || schema_flag(s, KW_X_KUBERNETES_EMBEDDED_RESOURCE);
    json_object *props = kw_get(s, KW_PROPERTIES);
    json_object *addl = kw_get(s, KW_ADDITIONALPROPERTIES);
    bool addl_schema = addl && json_object_is_type(addl, json_type_object);
    bool addl_any =
        addl && json_object_is_type(addl, json_type_boolean) && json_object_get_boolean(addl);
    json_object *drop = NULL;
    json_object_object_foreach(x, k, v)
    {
        if (embedded &&
            (strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0 || strcmp(k, "metadata") == 0))
            continue;
        if (root && only && strcmp(k, only) != 0)
            continue;
        json_object *ps = fas_json_get(props, k);
        int rc = 0;
        if (ps) {
            size_t saved = path_push_key(p, k);
            rc = prune(v, ps, p, false, unknown, depth + 1, NULL);
            path_pop(p, saved);
        } else if (addl_schema) {
            size_t saved = path_push_mapkey(p, k);
            rc = prune(v, addl, p, false, unknown, depth + 1, NULL);
            path_pop(p, saved);
        } else if (!preserve && !addl_any) {
            if (!drop && !(drop = json_object_new_array()))
                return KGC_ENOMEM;
            json_object_array_add(drop, json_object_new_string(k));
            if (unknown) {
                size_t saved = path_push_key(p, k);
                json_object_array_add(unknown, json_object_new_string(p->buf));
                path_pop(p, saved);
            }
        }
        if (rc) {
            json_object_put(drop);
            return rc;
        }
    }
    for (size_t i = 0; drop && i < json_object_array_length(drop); i++)
        json_object_object_del(x, json_object_get_string(json_object_array_get_idx(drop, i)));
    json_object_put(drop);
    return 0;
}

int fas_schema_prune(json_object *obj, json_object *schema, json_object *unknown)
{
    return fas_schema_prune_only(obj, schema, unknown, NULL);
}

int fas_schema_prune_only(json_object *obj, json_object *schema, json_object *unknown,
                          const char *only)
{
    struct path p = {.len = 0};
    p.buf[0] = '\0';
    return prune(obj, schema, &p, true, unknown, 0, only);
}

/* ---- defaulting ----------------------------------------------------------------------------- */

static bool nullable(json_object *s)
{
    return schema_flag(s, KW_NULLABLE);
}

/* only (at depth 0): the one root member defaulted; the others are known to be defaulted. */
static int apply_defaults(json_object *x, json_object *s, int depth, const char *only)
{
    if (!s || !x || depth > MAX_SCHEMA_DEPTH)
        return 0;
    if (json_object_is_type(x, json_type_array)) {
        json_object *items = kw_get(s, KW_ITEMS);
        if (!items)
            return 0;
        for (size_t i = 0; i < json_object_array_length(x); i++) {
            json_object *e = json_object_array_get_idx(x, i);
            json_object *def = NULL;
            if (!e && !nullable(items) && kw_get_ex(items, KW_DEFAULT, &def) && def) {
                json_object *copy = fas_json_copy(def);
                if (!copy)
                    return KGC_ENOMEM;
                json_object_array_put_idx(x, i, copy);
                e = copy;
            }
            int rc = apply_defaults(e, items, depth + 1, NULL);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (!json_object_is_type(x, json_type_object))
        return 0;
    json_object *props = kw_get(s, KW_PROPERTIES);
    if (props && json_object_is_type(props, json_type_object)) {
        json_object_object_foreach(props, pk, ps)
        {
            json_object *def = NULL;
            json_object *cur = NULL;
            if (only && strcmp(pk, only) != 0)
                continue;
            bool found = json_object_object_get_ex(x, pk, &cur);
            if (!kw_get_ex(ps, KW_DEFAULT, &def)) {
                /* A non-nullable null without a default is dropped. */
                if (found && !cur && !nullable(ps))
                    json_object_object_del(x, pk);
                continue;
            }
            if (!def)
                continue;
            if (!found || (!cur && !nullable(ps))) {
                json_object *copy = fas_json_copy(def);
                if (!copy)
                    return KGC_ENOMEM;
                if (json_object_object_add(x, pk, copy)) {
                    json_object_put(copy);
                    return KGC_ENOMEM;
                }
            }
        }
    }
    json_object *addl = kw_get(s, KW_ADDITIONALPROPERTIES);
    bool addl_schema = addl && json_object_is_type(addl, json_type_object);
    json_object_object_foreach(x, k, v)
    {
        if (only && strcmp(k, only) != 0)
            continue;
        json_object *ps = fas_json_get(props, k);
        int rc = 0;
        if (ps)
            rc = apply_defaults(v, ps, depth + 1, NULL);
        else if (addl_schema) {
            json_object *def = NULL;
            if (!v && !nullable(addl) && kw_get_ex(addl, KW_DEFAULT, &def) && def) {
                json_object *copy = fas_json_copy(def);
                if (!copy)
                    return KGC_ENOMEM;
                json_object_object_add(x, k, copy);
                v = copy;
            }
            rc = apply_defaults(v, addl, depth + 1, NULL);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int fas_schema_default(json_object *obj, json_object *schema)
{
    return apply_defaults(obj, schema, 0, NULL);
}

int fas_schema_default_only(json_object *obj, json_object *schema, const char *only)
{
    return apply_defaults(obj, schema, 0, only);
}

/* ---- validation ----------------------------------------------------------------------------- */

struct vstate {
    struct fas_schema_ctx *ctx;
    json_object *causes;
    int errors;
    struct path path;
    const char *only; /* the one root member walked (NULL: all) */
};

static const char *type_name(json_object *x)
{
    switch (json_object_get_type(x)) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "boolean";
    case json_type_double:
        return "number";
    case json_type_int:
        return "integer";
    case json_type_object:
        return "object";
    case json_type_array:
        return "array";
    case json_type_string:
        return "string";
    default:
        return "unknown";
    }
}

/* The value as the real server quotes it in messages ("foo", 12, ...), truncated. */
static void value_text(json_object *x, char *buf, size_t size)
{
    if (!x) {
        snprintf(buf, size, "\"null\"");
        return;
    }
    if (json_object_is_type(x, json_type_object) || json_object_is_type(x, json_type_array)) {
        snprintf(buf, size, "\"%s\"", type_name(x));
        return;
    }
    size_t n = 0;
    const char *t = fas_json_text(x, &n);
    snprintf(buf, size, "%.*s", (int)(n > 200 ? 200 : n), t ? t : "");
}

static void verr(struct vstate *st, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void verr(struct vstate *st, const char *reason, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    st->errors++;
    if (st->errors <= 100)
        fas_cause_add(st->causes, reason, msg, st->path.buf[0] ? st->path.buf : "<root>");
}

static bool type_matches(json_object *x, const char *type)
{
    if (!type)
        return true;
    if (strcmp(type, "object") == 0)
        return json_object_is_type(x, json_type_object);
    if (strcmp(type, "array") == 0)
        return json_object_is_type(x, json_type_array);
    if (strcmp(type, "string") == 0)
        return json_object_is_type(x, json_type_string);
    if (strcmp(type, "integer") == 0)
        return json_object_is_type(x, json_type_int);
    if (strcmp(type, "number") == 0)
        return json_object_is_type(x, json_type_int) || json_object_is_type(x, json_type_double);
    if (strcmp(type, "boolean") == 0)
        return json_object_is_type(x, json_type_boolean);
    return true;
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

static struct fas_pattern *pattern_get(struct fas_schema_ctx *ctx, const char *src)
{
    struct fas_pattern *p = kgc_strmap_get(&ctx->patterns, src);
    if (p)
        return p;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->src = strdup(src);
    if (!p->src) {
        free(p);
        return NULL;
    }
    int ec = 0;
    PCRE2_SIZE eo = 0;
    p->code = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo, NULL);
    if (kgc_strmap_put(&ctx->patterns, p->src, p, NULL)) {
        pcre2_code_free(p->code);
        free(p->src);
        free(p);
        return NULL;
    }
    return p;
}

static bool pattern_matches(struct fas_schema_ctx *ctx, const char *pattern, const char *s)
{
    struct fas_pattern *p = pattern_get(ctx, pattern);
    if (!p || !p->code)
        return true; /* cannot enforce what does not compile */
    if (!ctx->match_data)
        ctx->match_data = pcre2_match_data_create(64, NULL);
    if (!ctx->match_data)
        return true;
    size_t n = strlen(s);
    bool memo = n > 0 && n < PATTERN_MEMO_LEN;
    for (size_t i = 0; memo && i < PATTERN_MEMO; i++)
        if (strcmp(p->memo[i], s) == 0)
            return p->memo_ok[i];
    int rc = pcre2_match(p->code, (PCRE2_SPTR)s, n, 0, 0, ctx->match_data, NULL);
    if (memo && (rc >= 0 || rc == PCRE2_ERROR_NOMATCH)) { /* outcomes, not failures */
        unsigned i = p->memo_next++ % PATTERN_MEMO;
        memcpy(p->memo[i], s, n + 1);
        p->memo_ok[i] = rc >= 0;
    }
    return rc >= 0;
}

static double num_value(json_object *x)
{
    return json_object_is_type(x, json_type_int) ? (double)json_object_get_int64(x)
                                                 : json_object_get_double(x);
}

static void validate(struct vstate *st, json_object *x, json_object *s, bool root, int depth);

static void validate_scalar(struct vstate *st, json_object *x, json_object *s)
{
    char vt[256];
    json_object *en = kw_get(s, KW_ENUM);
    if (en && json_object_is_type(en, json_type_array)) {
        bool ok = false;
        for (size_t i = 0; i < json_object_array_length(en) && !ok; i++)
            ok = fas_json_equal(json_object_array_get_idx(en, i), x);
        if (!ok) {
            char list[512];
            size_t off = 0;
            list[0] = '\0';
            for (size_t i = 0; i < json_object_array_length(en) && off < sizeof(list); i++) {
                char one[128];
                value_text(json_object_array_get_idx(en, i), one, sizeof(one));
                off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", one);
            }
            value_text(x, vt, sizeof(vt));
            verr(st, "FieldValueNotSupported", "Unsupported value: %s: supported values: %s", vt,
                 list);
        }
    }
    if (json_object_is_type(x, json_type_string)) {
        const char *sv = json_object_get_string(x);
        json_object *mx = kw_get(s, KW_MAXLENGTH);
        json_object *mn = kw_get(s, KW_MINLENGTH);
        const char *pat = kw_str(s, KW_PATTERN);
        size_t len = utf8_len(sv);
        if (mx && len > (size_t)json_object_get_int64(mx))
            verr(st, "FieldValueTooLong", "Too long: may not be more than %lld bytes",
                 (long long)json_object_get_int64(mx));
        if (mn && len < (size_t)json_object_get_int64(mn)) {
            value_text(x, vt, sizeof(vt));
            verr(st, "FieldValueInvalid",
                 "Invalid value: %s: %s in body should be at least %lld "
                 "chars long",
                 vt, st->path.buf, (long long)json_object_get_int64(mn));
        }
        if (pat && !pattern_matches(st->ctx, pat, sv)) {
            value_text(x, vt, sizeof(vt));
            verr(st, "FieldValueInvalid", "Invalid value: %s: %s in body should match '%s'", vt,
                 st->path.buf, pat);
        }
    }
    if (json_object_is_type(x, json_type_int) || json_object_is_type(x, json_type_double)) {
        json_object *mx = kw_get(s, KW_MAXIMUM);
        json_object *mn = kw_get(s, KW_MINIMUM);
        double v = num_value(x);
        if (mx) {
            bool excl = schema_flag(s, KW_EXCLUSIVEMAXIMUM);
            double m = num_value(mx);
            if (excl ? v >= m : v > m) {
                value_text(x, vt, sizeof(vt));
                verr(st, "FieldValueInvalid",
                     "Invalid value: %s: %s in body should be less than %s%g", vt, st->path.buf,
                     excl ? "" : "or equal to ", m);
            }
        }
        if (mn) {
            bool excl = schema_flag(s, KW_EXCLUSIVEMINIMUM);
            double m = num_value(mn);
            if (excl ? v <= m : v < m) {
                value_text(x, vt, sizeof(vt));
                verr(st, "FieldValueInvalid",
                     "Invalid value: %s: %s in body should be greater than %s%g", vt, st->path.buf,
                     excl ? "" : "or equal to ", m);
            }
        }
    }
}

static void validate(struct vstate *st, json_object *x, json_object *s, bool root, int depth)
{
    char vt[256];
    if (!s || depth > MAX_SCHEMA_DEPTH)
        return;
    const char *type = kw_str(s, KW_TYPE);
    bool int_or_string = schema_flag(s, KW_X_KUBERNETES_INT_OR_STRING);
    if (!x) {
        if (!nullable(s) && type)
            verr(st, "FieldValueTypeInvalid",
                 "Invalid value: \"null\": %s in body must be of type %s: \"null\"", st->path.buf,
                 type);
        return;
    }
    if (int_or_string) {
        if (!json_object_is_type(x, json_type_int) && !json_object_is_type(x, json_type_string)) {
            value_text(x, vt, sizeof(vt));
            verr(st, "FieldValueTypeInvalid",
                 "Invalid value: %s: %s in body must be of type integer,string: \"%s\"", vt,
                 st->path.buf, type_name(x));
            return;
        }
    } else if (!type_matches(x, type)) {
        verr(st, "FieldValueTypeInvalid",
             "Invalid value: \"%s\": %s in body must be of type %s: "
             "\"%s\"",
             type_name(x), st->path.buf, type, type_name(x));
        return;
    }
    if (json_object_is_type(x, json_type_array)) {
        size_t n = json_object_array_length(x);
        json_object *mx = kw_get(s, KW_MAXITEMS);
        json_object *mn = kw_get(s, KW_MINITEMS);
        if (mx && n > (size_t)json_object_get_int64(mx))
            verr(st, "FieldValueTooMany", "Too many: %zu: must have at most %lld items", n,
                 (long long)json_object_get_int64(mx));
        if (mn && n < (size_t)json_object_get_int64(mn))
            verr(st, "FieldValueInvalid",
                 "Invalid value: %zu: %s in body should have at least "
                 "%lld items",
                 n, st->path.buf, (long long)json_object_get_int64(mn));
        json_object *items = kw_get(s, KW_ITEMS);
        for (size_t i = 0; items && i < n; i++) {
            size_t saved = path_push_index(&st->path, i);
            validate(st, json_object_array_get_idx(x, i), items, false, depth + 1);
            path_pop(&st->path, saved);
        }
        return;
    }
    if (json_object_is_type(x, json_type_object)) {
        json_object *req = kw_get(s, KW_REQUIRED);
        for (size_t i = 0;
             req && json_object_is_type(req, json_type_array) && i < json_object_array_length(req);
             i++) {
            const char *k = json_object_get_string(json_object_array_get_idx(req, i));
            if (k && !json_object_object_get_ex(x, k, NULL)) {
                size_t saved = path_push_key(&st->path, k);
                verr(st, "FieldValueRequired", "Required value");
                path_pop(&st->path, saved);
            }
        }
        json_object *mxp = kw_get(s, KW_MAXPROPERTIES);
        if (mxp && (size_t)json_object_object_length(x) > (size_t)json_object_get_int64(mxp))
            verr(st, "FieldValueTooMany", "Too many: %d: must have at most %lld items",
                 json_object_object_length(x), (long long)json_object_get_int64(mxp));
        json_object *props = kw_get(s, KW_PROPERTIES);
        json_object *addl = kw_get(s, KW_ADDITIONALPROPERTIES);
        bool addl_schema = addl && json_object_is_type(addl, json_type_object);
        json_object_object_foreach(x, k, v)
        {
            if (root && (strcmp(k, "metadata") == 0 || strcmp(k, "apiVersion") == 0 ||
                         strcmp(k, "kind") == 0))
                continue;
            if (root && st->only && strcmp(k, st->only) != 0)
                continue;
            json_object *ps = fas_json_get(props, k);
            if (ps) {
                size_t saved = path_push_key(&st->path, k);
                validate(st, v, ps, false, depth + 1);
                path_pop(&st->path, saved);
            } else if (addl_schema) {
                size_t saved = path_push_mapkey(&st->path, k);
                validate(st, v, addl, false, depth + 1);
                path_pop(&st->path, saved);
            }
        }
        return;
    }
    validate_scalar(st, x, s);
}

int fas_schema_validate(struct fas_schema_ctx *ctx, json_object *obj, json_object *schema,
                        json_object *causes)
{
    return fas_schema_validate_only(ctx, obj, schema, causes, NULL);
}

int fas_schema_validate_only(struct fas_schema_ctx *ctx, json_object *obj, json_object *schema,
                             json_object *causes, const char *only)
{
    struct vstate st = {.ctx = ctx, .causes = causes, .errors = 0, .only = only};
    st.path.buf[0] = '\0';
    validate(&st, obj, schema, true, 0);
    return st.errors;
}

/* One YAML document to json-c, as Kong's controller reads plugin configs (include/kgc/yamljson.h).
 * libyaml's event parser; a stack of open containers; scalars resolved as go-yaml v2.4.2 does. */
#include "kgc/yamljson.h"

#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

struct frame {
    json_object *c; /* the open mapping or sequence */
    char *key;      /* a mapping's key waiting for its value (malloc'd), or NULL */
    bool map;
};

struct conv {
    struct frame stack[KGC_YAMLJSON_MAX_DEPTH];
    unsigned depth;
    json_object *root;
    bool have_root;
    size_t values;
    struct kgc_err *err;
    int rc;
};

static int fail(struct conv *c, int rc, const yaml_mark_t *m, const char *what)
{
    if (!c->rc)
        c->rc = kgc_err_set(c->err, rc, "YAML line %lu: %s", m ? (unsigned long)m->line + 1 : 0ul,
                            what);
    return c->rc;
}

/* ---- scalars (go-yaml v2.4.2 resolve.go) ------------------------------------------------------
 */

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* Go's strconv.ParseInt/ParseUint with base 0 (prefix 0x, 0o, 0b, or 0 for octal), on text
 * without '_' (resolve.go:150-160 removes them). *neg set for a leading '-'. */
static bool parse_go_int(const char *s, bool *neg, uint64_t *mag)
{
    *neg = false;
    if (*s == '+' || *s == '-')
        *neg = *s++ == '-';
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
        base = 8;
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
        base = 2;
        s += 2;
    } else if (s[0] == '0' && s[1]) {
        base = 8;
        s += 1;
    }
    if (!*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            return false;
        if (d >= base || v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *mag = v;
    return true;
}

/* resolve.go's yamlStyleFloat: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool yaml_style_float(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    } else {
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
        if (*s == '.') {
            s++;
            while (*s >= '0' && *s <= '9')
                s++;
        }
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == 0;
}

static bool parse_float(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(s, &end);
    if (!end || *end || errno == ERANGE || !isfinite(d))
        return false;
    *out = d;
    return true;
}

enum rtype { R_STR, R_NULL, R_BOOL, R_INT, R_UINT, R_FLOAT, R_BAD };

struct resolved {
    enum rtype t;
    bool b;
    int64_t i;
    uint64_t u;
    double f;
};

/* What a plain, untagged (or core-tagged) scalar is. */
static struct resolved resolve(const char *in)
{
    static const char *const yes[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                      "True", "TRUE", "on",  "On",  "ON",  NULL};
    static const char *const no[] = {"n",     "N",     "no",  "No",  "NO",  "false",
                                     "False", "FALSE", "off", "Off", "OFF", NULL};
    static const char *const null[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const nonfinite[] = {".nan",  ".NaN",  ".NAN",  ".inf",  ".Inf",
                                            ".INF",  "+.inf", "+.Inf", "+.INF", "-.inf",
                                            "-.Inf", "-.INF", NULL};
    struct resolved r = {.t = R_STR};
    if (in_list(in, null))
        return (struct resolved){.t = R_NULL};
    if (in_list(in, yes))
        return (struct resolved){.t = R_BOOL, .b = true};
    if (in_list(in, no))
        return (struct resolved){.t = R_BOOL, .b = false};
    if (in_list(in, nonfinite))
        return (struct resolved){.t = R_BAD};
    char c0 = in[0];
    if (c0 == '.') { /* resolve.go:131-136 */
        if (parse_float(in, &r.f))
            r.t = R_FLOAT;
        return r;
    }
    if (!((c0 >= '0' && c0 <= '9') || c0 == '+' || c0 == '-'))
        return r;
    size_t n = strlen(in);
    char *plain = malloc(n + 1);
    if (!plain)
        return (struct resolved){.t = R_BAD};
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (in[i] != '_')
            plain[k++] = in[i];
    plain[k] = 0;
    bool neg;
    uint64_t mag;
    if (parse_go_int(plain, &neg, &mag)) {
        if (!neg && mag <= (uint64_t)INT64_MAX) {
            r.t = R_INT;
            r.i = (int64_t)mag;
        } else if (neg && mag <= (uint64_t)INT64_MAX + 1) {
            r.t = R_INT;
            r.i = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
        } else if (!neg) {
            r.t = R_UINT;
            r.u = mag;
        }
    } else if (yaml_style_float(plain) && parse_float(plain, &r.f)) {
        r.t = R_FLOAT;
    }
    free(plain);
    return r;
}

static bool core_tag(const char *tag)
{
    static const char *const tags[] = {"tag:yaml.org,2002:null", "tag:yaml.org,2002:bool",
                                       "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", NULL};
    return in_list(tag, tags);
}

/* ---- the tree -------------------------------------------------------------------------------- */

/* Attaches a finished value v (owned) to the open container, or makes it the root. */
static int attach(struct conv *c, json_object *v, const yaml_mark_t *m)
{
    if (c->depth == 0) {
        if (c->have_root) {
            json_object_put(v);
            return fail(c, KGC_EPARSE, m, "more than one YAML document");
        }
        c->root = v;
        c->have_root = true;
        return 0;
    }
    struct frame *f = &c->stack[c->depth - 1];
    if (!f->map) {
        if (json_object_array_add(f->c, v) != 0) {
            json_object_put(v);
            return fail(c, KGC_ENOMEM, m, "out of memory");
        }
        return 0;
    }
    if (!f->key) { /* a key that is not a scalar */
        json_object_put(v);
        return fail(c, KGC_EPARSE, m, "a mapping key must be a scalar");
    }
    int rc = json_object_object_add(f->c, f->key, v);
    free(f->key);
    f->key = NULL;
    if (rc != 0) {
        json_object_put(v);
        return fail(c, KGC_ENOMEM, m, "out of memory");
    }
    return 0;
}

static bool waiting_for_key(const struct conv *c)
{
    return c->depth > 0 && c->stack[c->depth - 1].map && !c->stack[c->depth - 1].key;
}

static int count_value(struct conv *c, const yaml_mark_t *m)
{
    if (++c->values > KGC_YAMLJSON_MAX_VALUES)
        return fail(c, KGC_EPARSE, m, "more than 10000 values");
    return 0;
}

static int on_scalar(struct conv *c, const yaml_event_t *ev)
{
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (strlen(text) != len)
        return fail(c, KGC_EPARSE, &ev->start_mark, "a scalar holds a NUL character");
    const char *tag = (const char *)ev->data.scalar.tag;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    struct resolved r = {.t = R_STR};
    if (plain && (!tag || core_tag(tag)))
        r = resolve(text);
    if (r.t == R_BAD)
        return fail(c, KGC_EPARSE, &ev->start_mark,
                    "a value JSON cannot hold (.inf or .nan) or out of memory");
    if (waiting_for_key(c)) { /* sigs.k8s.io/yaml turns keys into strings */
        if (plain && strcmp(text, "<<") == 0)
            return fail(c, KGC_EPARSE, &ev->start_mark, "merge keys (<<) are not supported");
        char *key = strdup(r.t == R_NULL   ? "null"
                           : r.t == R_BOOL ? (r.b ? "true" : "false")
                                           : text);
        if (!key)
            return fail(c, KGC_ENOMEM, &ev->start_mark, "out of memory");
        c->stack[c->depth - 1].key = key;
        return 0;
    }
    if (count_value(c, &ev->start_mark))
        return c->rc;
    json_object *v = NULL;
    switch (r.t) {
    case R_NULL:
        return attach(c, NULL, &ev->start_mark);
    case R_BOOL:
        v = json_object_new_boolean(r.b);
        break;
    case R_INT:
        v = json_object_new_int64(r.i);
        break;
    case R_UINT:
        v = json_object_new_uint64(r.u);
        break;
    case R_FLOAT:
        v = json_object_new_double(r.f);
        break;
    default:
        v = json_object_new_string_len(text, (int)len);
        break;
    }
    if (!v)
        return fail(c, KGC_ENOMEM, &ev->start_mark, "out of memory");
    return attach(c, v, &ev->start_mark);
}

static int open_container(struct conv *c, bool map, const yaml_mark_t *m)
{
    if (waiting_for_key(c))
        return fail(c, KGC_EPARSE, m, "a mapping key must be a scalar");
    if (count_value(c, m))
        return c->rc;
    if (c->depth >= KGC_YAMLJSON_MAX_DEPTH)
        return fail(c, KGC_EPARSE, m, "nested deeper than 64 levels");
    json_object *o = map ? json_object_new_object() : json_object_new_array();
    if (!o)
        return fail(c, KGC_ENOMEM, m, "out of memory");
    c->stack[c->depth++] = (struct frame){.c = o, .map = map};
    return 0;
}

static int close_container(struct conv *c, const yaml_mark_t *m)
{
    if (c->depth == 0)
        return fail(c, KGC_EPARSE, m, "unbalanced YAML events");
    struct frame f = c->stack[--c->depth];
    free(f.key); /* libyaml never ends a mapping between a key and its value */
    return attach(c, f.c, m);
}

static void conv_free(struct conv *c)
{
    while (c->depth) {
        struct frame *f = &c->stack[--c->depth];
        free(f->key);
        json_object_put(f->c);
    }
    json_object_put(c->root);
    c->root = NULL;
}

int kgc_yamljson_parse(const char *text, size_t len, json_object **out, struct kgc_err *err)
{
    *out = NULL;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return kgc_err_set(err, KGC_ENOMEM, "YAML: out of memory");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    struct conv c = {.err = err};
    unsigned docs = 0;
    bool done = false;
    while (!done && !c.rc) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            char what[160];
            snprintf(what, sizeof(what), "not YAML (%s)", p.problem ? p.problem : "syntax error");
            fail(&c, p.error == YAML_MEMORY_ERROR ? KGC_ENOMEM : KGC_EPARSE, &p.problem_mark, what);
            break;
        }
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                fail(&c, KGC_EPARSE, &ev.start_mark, "more than one YAML document");
            break;
        case YAML_ALIAS_EVENT:
            fail(&c, KGC_EPARSE, &ev.start_mark, "aliases (*name) are not supported");
            break;
        case YAML_SCALAR_EVENT:
            on_scalar(&c, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            open_container(&c, false, &ev.start_mark);
            break;
        case YAML_MAPPING_START_EVENT:
            open_container(&c, true, &ev.start_mark);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            close_container(&c, &ev.start_mark);
            break;
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (c.rc) {
        conv_free(&c);
        return c.rc;
    }
    *out = c.root; /* NULL (JSON null) for an empty document */
    return 0;
}

/* jsonscan: a strict, allocation-free JSON syntax scanner that counts values, the bounded parse
 * on top of it, and member iterators (kgc/jsonscan.h). */
#include "kgc/jsonscan.h"

#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define STACK_MAX   1024u      /* nesting the scanner can follow at all */
#define RELEASE_MIN (1u << 20) /* kgc_jsonscan_release: documents from this size on */

static size_t skip_ws(const char *p, size_t len, size_t i)
{
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int syntax(struct kgc_err *err, const char *what, size_t at, const char *why)
{
    return kgc_err_set(err, KGC_EPARSE, "%s: malformed JSON at byte %zu: %s", what, at, why);
}

/* p[*i] is '"'. Leaves *i after the closing quote; *esc (when not NULL) says whether the string
 * holds escapes. */
static int scan_string(const char *p, size_t len, size_t *i, bool *esc, const char *what,
                       struct kgc_err *err)
{
    for (size_t j = *i + 1; j < len; j++) {
        unsigned char c = (unsigned char)p[j];
        if (c == '"') {
            *i = j + 1;
            return 0;
        }
        if (c < 0x20)
            return syntax(err, what, j, "control character in a string");
        if (c != '\\')
            continue;
        if (esc)
            *esc = true;
        if (j + 1 >= len)
            break;
        char e = p[j + 1];
        if (e == 'u') {
            if (len - j < 6 || !is_hex(p[j + 2]) || !is_hex(p[j + 3]) || !is_hex(p[j + 4]) ||
                !is_hex(p[j + 5]))
                return syntax(err, what, j, "bad \\u escape");
            j += 5;
        } else if (e && strchr("\"\\/bfnrt", e)) {
            j += 1;
        } else {
            return syntax(err, what, j, "bad escape");
        }
    }
    return syntax(err, what, len, "unterminated string");
}

static int scan_number(const char *p, size_t len, size_t *i, const char *what, struct kgc_err *err)
{
    size_t j = *i;
    if (j < len && p[j] == '-')
        j++;
    if (j >= len || !is_digit(p[j]))
        return syntax(err, what, j, "bad number");
    if (p[j] == '0')
        j++;
    else
        while (j < len && is_digit(p[j]))
            j++;
    if (j < len && p[j] == '.') {
        j++;
        if (j >= len || !is_digit(p[j]))
            return syntax(err, what, j, "bad number");
        while (j < len && is_digit(p[j]))
            j++;
    }
    if (j < len && (p[j] == 'e' || p[j] == 'E')) {
        j++;
        if (j < len && (p[j] == '+' || p[j] == '-'))
            j++;
        if (j >= len || !is_digit(p[j]))
            return syntax(err, what, j, "bad number");
        while (j < len && is_digit(p[j]))
            j++;
    }
    *i = j;
    return 0;
}

static int scan_literal(const char *p, size_t len, size_t *i, const char *what, struct kgc_err *err)
{
    static const char *const lits[] = {"true", "false", "null"};
    for (size_t k = 0; k < 3; k++) {
        size_t n = strlen(lits[k]);
        if (len - *i >= n && memcmp(p + *i, lits[k], n) == 0) {
            *i += n;
            return 0;
        }
    }
    return syntax(err, what, *i, "unexpected character");
}

/* --- tape recording --------------------------------------------------------------------------- */

static int tape_oom(struct kgc_err *err, const char *what)
{
    return kgc_err_set(err, KGC_ENOMEM, "%s: out of memory", what);
}

/* A new node at t->n (grown as needed); NULL when out of memory. */
static struct kgc_jsonscan_node *tape_push(struct kgc_jsonscan_tape *t, uint8_t type, size_t off)
{
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 64;
        if (cap <= t->cap)
            return NULL;
        struct kgc_jsonscan_node *v = realloc(t->nodes, (size_t)cap * sizeof(*v));
        if (!v)
            return NULL;
        t->nodes = v;
        t->cap = cap;
    }
    struct kgc_jsonscan_node *nd = &t->nodes[t->n];
    memset(nd, 0, sizeof(*nd));
    nd->type = type;
    nd->off = (uint32_t)off;
    nd->next = t->n + 1;
    t->n++;
    return nd;
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the validated string content s[0, n) (escapes in it) into t->dec; nd points there. An
 * escape never decodes to more bytes than it takes, so n bytes are enough. */
static int tape_decode(struct kgc_jsonscan_tape *t, struct kgc_jsonscan_node *nd, const char *s,
                       size_t n)
{
    if (t->dec_cap - t->dec_len < n + 1) {
        size_t cap = t->dec_cap ? t->dec_cap : 256;
        while (cap - t->dec_len < n + 1)
            cap *= 2;
        char *d = realloc(t->dec, cap);
        if (!d)
            return KGC_ENOMEM;
        t->dec = d;
        t->dec_cap = cap;
    }
    char *o = t->dec + t->dec_len;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] != '\\') {
            o[k++] = s[i++];
            continue;
        }
        char e = s[i + 1];
        if (e != 'u') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            o[k++] = to[strchr(from, e) - from];
            i += 2;
            continue;
        }
        unsigned cp = hex4(s + i + 2);
        i += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u') {
            unsigned lo = hex4(s + i + 2);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF)
            cp = 0xFFFD; /* a lone surrogate */
        k += put_utf8(o + k, cp);
    }
    o[k] = '\0';
    nd->off = (uint32_t)t->dec_len;
    nd->len = (uint32_t)k;
    nd->flags |= KGC_JSONSCAN_DECODED;
    t->dec_len += k + 1;
    return 0;
}

/* Records the string p[j0, j) (quotes included) as a node. */
static int tape_string(struct kgc_jsonscan_tape *t, const char *p, size_t j0, size_t j, bool esc)
{
    struct kgc_jsonscan_node *nd = tape_push(t, KGC_JSONSCAN_STRING, j0 + 1);
    if (!nd)
        return KGC_ENOMEM;
    nd->len = (uint32_t)(j - j0 - 2);
    nd->end = (uint32_t)j;
    return esc ? tape_decode(t, nd, p + j0 + 1, j - j0 - 2) : 0;
}

/* Scans one value from *i (white space first allowed); leaves *i just after it. With a tape, each
 * value (and each key) becomes a node. */
static int scan_one(const char *p, size_t len, size_t *i, const struct kgc_jsonscan_limits *lim,
                    struct kgc_jsonscan_stats *st, struct kgc_jsonscan_tape *t, const char *what,
                    struct kgc_err *err)
{
    size_t max_values = lim ? lim->max_values : 0;
    size_t max_containers = lim ? lim->max_containers : 0;
    unsigned max_depth = lim ? lim->max_depth : 0;
    char stack[STACK_MAX];
    uint32_t open[STACK_MAX]; /* with a tape: the node of each open container */
    unsigned depth = 0;
    size_t j = *i;
    int rc;
    if (max_depth == 0 || max_depth > STACK_MAX)
        max_depth = max_depth == 0 ? KGC_JSONSCAN_MAX_DEPTH : STACK_MAX;
    enum { VALUE, KEY, AFTER } state = VALUE;
    for (;;) {
        if (state == VALUE) {
            j = skip_ws(p, len, j);
            if (j >= len)
                return syntax(err, what, j, "unexpected end of input");
            st->values++;
            if (max_values && st->values > max_values)
                return kgc_err_set(err, KGC_E2BIG,
                                   "%s: more than %zu JSON values (kgc's limit for this answer)",
                                   what, max_values);
            if (t && depth && stack[depth - 1] == ']')
                t->nodes[open[depth - 1]].len++;
            char c = p[j];
            if (c == '{' || c == '[') {
                st->containers++;
                if (max_containers && st->containers > max_containers)
                    return kgc_err_set(
                        err, KGC_E2BIG,
                        "%s: more than %zu JSON objects and arrays (kgc's limit for this answer)",
                        what, max_containers);
                if (depth >= max_depth)
                    return kgc_err_set(err, KGC_EPARSE,
                                       "%s: malformed JSON at byte %zu: nested deeper than %u "
                                       "levels",
                                       what, j, max_depth);
                if (t) {
                    open[depth] = t->n;
                    if (!tape_push(t, c == '{' ? KGC_JSONSCAN_OBJECT : KGC_JSONSCAN_ARRAY, j))
                        return tape_oom(err, what);
                }
                stack[depth++] = c == '{' ? '}' : ']';
                if (depth > st->max_depth)
                    st->max_depth = depth;
                j = skip_ws(p, len, j + 1);
                if (j < len && p[j] == stack[depth - 1]) {
                    j++;
                    depth--;
                    if (t) {
                        t->nodes[open[depth]].next = t->n;
                        t->nodes[open[depth]].end = (uint32_t)j;
                    }
                    state = AFTER;
                } else {
                    state = c == '{' ? KEY : VALUE;
                }
                continue;
            }
            size_t j0 = j;
            bool esc = false;
            uint8_t type = KGC_JSONSCAN_NUMBER;
            if (c == '"') {
                rc = scan_string(p, len, &j, t ? &esc : NULL, what, err);
                type = KGC_JSONSCAN_STRING;
            } else if (c == '-' || is_digit(c)) {
                rc = scan_number(p, len, &j, what, err);
            } else {
                rc = scan_literal(p, len, &j, what, err);
                type = c == 't'   ? KGC_JSONSCAN_TRUE
                       : c == 'f' ? KGC_JSONSCAN_FALSE
                                  : KGC_JSONSCAN_NULL;
            }
            if (rc)
                return rc;
            if (t && type == KGC_JSONSCAN_STRING) {
                if (tape_string(t, p, j0, j, esc))
                    return tape_oom(err, what);
            } else if (t) {
                struct kgc_jsonscan_node *nd = tape_push(t, type, j0);
                if (!nd)
                    return tape_oom(err, what);
                nd->len = (uint32_t)(j - j0);
                nd->end = (uint32_t)j;
                if (type == KGC_JSONSCAN_NUMBER && !memchr(p + j0, '.', j - j0) &&
                    !memchr(p + j0, 'e', j - j0) && !memchr(p + j0, 'E', j - j0))
                    nd->flags |= KGC_JSONSCAN_INT;
            }
            state = AFTER;
        } else if (state == KEY) {
            j = skip_ws(p, len, j);
            if (j >= len || p[j] != '"')
                return syntax(err, what, j,
                              j >= len ? "unexpected end of input" : "expected a key");
            size_t j0 = j;
            bool esc = false;
            if ((rc = scan_string(p, len, &j, t ? &esc : NULL, what, err)))
                return rc;
            if (t) {
                t->nodes[open[depth - 1]].len++;
                if (tape_string(t, p, j0, j, esc))
                    return tape_oom(err, what);
            }
            j = skip_ws(p, len, j);
            if (j >= len || p[j] != ':')
                return syntax(err, what, j, "expected ':'");
            j++;
            state = VALUE;
        } else {
            if (depth == 0) {
                *i = j;
                return 0;
            }
            j = skip_ws(p, len, j);
            if (j >= len)
                return syntax(err, what, j, "unexpected end of input");
            if (p[j] == ',') {
                j++;
                state = stack[depth - 1] == '}' ? KEY : VALUE;
            } else if (p[j] == stack[depth - 1]) {
                j++;
                depth--;
                if (t) {
                    t->nodes[open[depth]].next = t->n;
                    t->nodes[open[depth]].end = (uint32_t)j;
                }
            } else {
                return syntax(err, what, j, "expected ',' or a closing bracket");
            }
        }
    }
}

int kgc_jsonscan_scan(const char *text, size_t len, const struct kgc_jsonscan_limits *lim,
                      struct kgc_jsonscan_stats *st, const char *what, struct kgc_err *err)
{
    struct kgc_jsonscan_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof(*st));
    if (!what)
        what = "JSON";
    if (!text)
        return syntax(err, what, 0, "empty input");
    size_t i = 0;
    int rc = scan_one(text, len, &i, lim, st, NULL, what, err);
    if (rc)
        return rc;
    i = skip_ws(text, len, i);
    if (i != len)
        return syntax(err, what, i, "trailing data");
    return 0;
}

int kgc_jsonscan_parse(const char *text, size_t len, const struct kgc_jsonscan_limits *lim,
                       const char *what, json_object **out, struct kgc_err *err)
{
    *out = NULL;
    if (!what)
        what = "JSON";
    if (len > INT_MAX)
        return kgc_err_set(err, KGC_E2BIG, "%s: %zu bytes is too large", what, len);
    struct kgc_jsonscan_stats st;
    int rc = kgc_jsonscan_scan(text, len, lim, &st, what, err);
    if (rc)
        return rc;
    /* The scan bounded the depth: json-c's own limit only needs to be no lower. */
    json_tokener *tok = json_tokener_new_ex((int)st.max_depth + 2);
    if (!tok)
        return kgc_err_set(err, KGC_ENOMEM, "%s: out of memory", what);
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (!o && je == json_tokener_continue) {
        /* A top-level scalar ("null", "12"): json-c waits for more input to know it ended. The
         * scan saw all of it, so the end of input is the end of the value: say so with a NUL. */
        o = json_tokener_parse_ex(tok, "", 1);
        je = json_tokener_get_error(tok);
    }
    json_tokener_free(tok);
    if (!o || je != json_tokener_success) {
        json_object_put(o);
        /* The scan accepted it: json-c returns NULL for a JSON null, and fails otherwise only
         * where its syntax differs (or it ran out of memory). */
        if (je == json_tokener_success)
            return kgc_err_set(err, KGC_EPARSE, "%s: the document is null", what);
        return kgc_err_set(err, KGC_EPARSE, "%s: malformed JSON at byte %zu: %s", what, end,
                           je == json_tokener_continue ? "unexpected end of input"
                                                       : json_tokener_error_desc(je));
    }
    *out = o;
    return 0;
}

int kgc_jsonscan_iter_start(struct kgc_jsonscan_iter *it, const char *text, size_t len, char kind,
                            const char *what, struct kgc_err *err)
{
    memset(it, 0, sizeof(*it));
    size_t i = text ? skip_ws(text, len, 0) : 0;
    if (!text || i >= len || text[i] != kind)
        return kgc_err_set(err, KGC_EPARSE, "%s: malformed JSON at byte %zu: expected a JSON %s",
                           what ? what : "JSON", i, kind == '{' ? "object" : "array");
    it->text = text;
    it->len = len;
    it->off = i + 1;
    it->close = kind == '{' ? '}' : ']';
    return 0;
}

/* The next member or element; its value scanned plainly (t NULL: nesting up to STACK_MAX, no
 * budget) or recorded on tape t within lim (node offsets relative to it->text). */
static int iter_step(struct kgc_jsonscan_iter *it, const char **key, size_t *klen, const char **val,
                     size_t *vlen, struct kgc_jsonscan_tape *t,
                     const struct kgc_jsonscan_limits *lim, const char *what, struct kgc_err *err)
{
    if (key)
        *key = NULL;
    if (klen)
        *klen = 0;
    *val = NULL;
    *vlen = 0;
    if (it->done)
        return 0;
    const char *p = it->text;
    size_t j = skip_ws(p, it->len, it->off);
    if (j >= it->len)
        return syntax(err, what, j, "unexpected end of input");
    if (!it->started && p[j] == it->close) {
        it->done = true;
        it->off = j + 1;
        return 0;
    }
    if (it->started) {
        if (p[j] == it->close) {
            it->done = true;
            it->off = j + 1;
            return 0;
        }
        if (p[j] != ',')
            return syntax(err, what, j, "expected ',' or a closing bracket");
        j = skip_ws(p, it->len, j + 1);
    }
    it->started = true;
    int rc;
    if (it->close == '}') {
        if (j >= it->len || p[j] != '"')
            return syntax(err, what, j, "expected a key");
        size_t k0 = j + 1;
        if ((rc = scan_string(p, it->len, &j, NULL, what, err)))
            return rc;
        if (key)
            *key = p + k0;
        if (klen)
            *klen = j - 1 - k0;
        j = skip_ws(p, it->len, j);
        if (j >= it->len || p[j] != ':')
            return syntax(err, what, j, "expected ':'");
        j++;
    }
    j = skip_ws(p, it->len, j);
    size_t v0 = j;
    struct kgc_jsonscan_stats st = {0};
    const struct kgc_jsonscan_limits deep = {.max_depth = STACK_MAX};
    if (t) {
        t->text = p;
        t->len = it->len;
        t->n = 0;
        t->dec_len = 0;
    }
    if ((rc = scan_one(p, it->len, &j, t ? lim : &deep, &st, t, what, err))) {
        /* The member's value is bad or cut: it is handed back as the rest of the text, so a
         * caller can still read what precedes the cut. */
        *val = p + v0;
        *vlen = it->len - v0;
        it->done = true;
        if (t)
            t->n = 0;
        return rc;
    }
    *val = p + v0;
    *vlen = j - v0;
    it->off = j;
    return 1;
}

int kgc_jsonscan_iter_next(struct kgc_jsonscan_iter *it, const char **key, size_t *klen,
                           const char **val, size_t *vlen, struct kgc_err *err)
{
    return iter_step(it, key, klen, val, vlen, NULL, NULL, "JSON", err);
}

int kgc_jsonscan_iter_next_tape(struct kgc_jsonscan_iter *it, struct kgc_jsonscan_tape *t,
                                const struct kgc_jsonscan_limits *lim, const char *what,
                                struct kgc_err *err)
{
    const char *val;
    size_t vlen;
    if (it->close != ']')
        return kgc_err_set(err, KGC_EINVAL, "%s: a tape iterates an array", what ? what : "JSON");
    if (it->len >= UINT32_MAX)
        return kgc_err_set(err, KGC_E2BIG, "%s: %zu bytes is too large", what ? what : "JSON",
                           it->len);
    return iter_step(it, NULL, NULL, &val, &vlen, t, lim, what ? what : "JSON", err);
}

bool kgc_jsonscan_key_is(const char *key, size_t klen, const char *s)
{
    return key && strlen(s) == klen && memcmp(key, s, klen) == 0;
}

void kgc_jsonscan_release(size_t bytes)
{
#ifdef __GLIBC__
    if (bytes >= RELEASE_MIN)
        malloc_trim(0);
#else
    (void)bytes;
#endif
}

/* --- tapes ------------------------------------------------------------------------------------ */

void kgc_jsonscan_tape_init(struct kgc_jsonscan_tape *t)
{
    memset(t, 0, sizeof(*t));
}

void kgc_jsonscan_tape_free(struct kgc_jsonscan_tape *t)
{
    free(t->nodes);
    free(t->dec);
    memset(t, 0, sizeof(*t));
}

int kgc_jsonscan_tape_build(struct kgc_jsonscan_tape *t, const char *text, size_t len,
                            const struct kgc_jsonscan_limits *lim, const char *what,
                            struct kgc_err *err)
{
    t->text = text;
    t->len = len;
    t->n = 0;
    t->dec_len = 0;
    if (!what)
        what = "JSON";
    if (!text)
        return syntax(err, what, 0, "empty input");
    if (len >= UINT32_MAX)
        return kgc_err_set(err, KGC_E2BIG, "%s: %zu bytes is too large", what, len);
    struct kgc_jsonscan_stats st = {0};
    size_t i = 0;
    int rc = scan_one(text, len, &i, lim, &st, t, what, err);
    if (rc == 0) {
        i = skip_ws(text, len, i);
        if (i != len)
            rc = syntax(err, what, i, "trailing data");
    }
    if (rc)
        t->n = 0;
    return rc;
}

const char *kgc_jsonscan_tape_str(const struct kgc_jsonscan_tape *t, uint32_t i, size_t *len)
{
    if (i >= t->n || t->nodes[i].type != KGC_JSONSCAN_STRING) {
        *len = 0;
        return NULL;
    }
    const struct kgc_jsonscan_node *nd = &t->nodes[i];
    *len = nd->len;
    return nd->flags & KGC_JSONSCAN_DECODED ? t->dec + nd->off : t->text + nd->off;
}

uint32_t kgc_jsonscan_tape_get(const struct kgc_jsonscan_tape *t, uint32_t obj, const char *key)
{
    if (obj >= t->n || t->nodes[obj].type != KGC_JSONSCAN_OBJECT)
        return 0;
    size_t klen = strlen(key);
    uint32_t found = 0, k = obj + 1;
    for (uint32_t m = 0; m < t->nodes[obj].len; m++) {
        size_t n;
        const char *s = kgc_jsonscan_tape_str(t, k, &n);
        if (n == klen && memcmp(s, key, klen) == 0)
            found = k + 1;
        k = t->nodes[k + 1].next;
    }
    return found;
}

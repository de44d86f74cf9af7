/* plugins_rt — Kong 3.9.1's request-transformer access handler
 * (kong/plugins/request-transformer/access.lua), run over the upstream request being built.
 *
 * Order (access.lua:553-557): replace.uri, http_method, headers (remove, rename, replace, add,
 * append), body (JSON / form-urlencoded / multipart), querystring (remove, rename, replace, add,
 * append). Values are pl.template templates (access.lua:40-42, 74-108): "$(expr)" with a
 * balanced parenthesised Lua expression is replaced by tostring(expr or ''); '#' lines are
 * disabled (escape "\xff"). Kong runs the expressions in its Lua sandbox (untrusted_lua =
 * sandbox, kong/templates/kong_defaults.lua:207); the fake evaluates a subset of Lua: literals,
 * the env tables headers / query_params / uri_captures / shared, indexing (.name, [expr]),
 * `or`, `and`, `not`, `..`, comparisons, arithmetic, and type(). Anything else is treated as a
 * runtime error (Kong: 500 "An unexpected error occurred"); see plugins.md.
 *
 * Reentrant; no global state. Everything allocated per call is freed before returning. */
#include "plugins_internal.h"

#include <kgc/err.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ARGS 100 /* lua_max_uri_args / ngx.decode_args default */

/* ---- the template environment (access.lua:506-551) ------------------------------------------- */

struct kp_tmpl_env {
    const struct kf_client_req *client;
    const struct kf_match *m;
    struct kf_preq *up;
    bool headers_loaded, query_loaded; /* lazily loaded, then kept (access.lua:531-533) */
    struct kp_args headers;            /* ngx.req.get_headers(): lower-case keys */
    struct kp_args query;              /* ngx.req.get_uri_args() */
};

/* ngx.req.get_headers() of the request as it is now: names lower-cased, repeats as tables. */
static int load_headers(const struct kf_preq *up, const struct kf_client_req *client,
                        struct kp_args *out)
{
    memset(out, 0, sizeof(*out));
    bool host = false;
    for (size_t i = 0; i < up->headers.n; i++) {
        char *ln = kp_lower_dup(up->headers.v[i].name);
        if (!ln) {
            kp_args_free(out);
            return KGC_ENOMEM;
        }
        host |= strcmp(ln, "host") == 0;
        int rc = kp_args_get(out, ln) ? kp_args_append(out, ln, up->headers.v[i].value)
                                      : kp_args_set_str(out, ln, up->headers.v[i].value);
        free(ln);
        if (rc != 0) {
            kp_args_free(out);
            return rc;
        }
    }
    /* the Host request header is part of get_headers() even when the proxy keeps it apart */
    const char *h = up->host ? up->host : client ? client->host : NULL;
    if (!host && h && kp_args_set_str(out, "host", h) != 0) {
        kp_args_free(out);
        return KGC_ENOMEM;
    }
    return 0;
}

static int env_headers(struct kp_tmpl_env *e)
{
    if (!e->headers_loaded) {
        int rc = load_headers(e->up, e->client, &e->headers);
        if (rc != 0) {
            return rc;
        }
        e->headers_loaded = true;
    }
    return 0;
}

static int env_query(struct kp_tmpl_env *e)
{
    if (!e->query_loaded) {
        const char *q = e->up->query;
        int rc = kp_args_parse(q, q ? strlen(q) : 0, MAX_ARGS, &e->query);
        if (rc != 0) {
            return rc;
        }
        e->query_loaded = true;
    }
    return 0;
}

static void env_free(struct kp_tmpl_env *e)
{
    kp_args_free(&e->headers);
    kp_args_free(&e->query);
}

/* A Lua-table lookup with the __index of ngx.req.get_headers() tables
 * (lua-nginx-module src/ngx_http_lua_headers.c:754): a missing key is retried lower-cased with
 * '_' turned into '-'. */
static struct kp_arg *hdr_index(const struct kp_args *t, const char *key)
{
    struct kp_arg *g = kp_args_get(t, key);
    if (g) {
        return g;
    }
    char *nk = kp_lower_dup(key);
    if (!nk) {
        return NULL;
    }
    for (char *p = nk; *p; p++) {
        if (*p == '_') {
            *p = '-';
        }
    }
    if (strcmp(nk, key) != 0) {
        g = kp_args_get(t, nk);
    }
    free(nk);
    return g;
}

/* ---- a small Lua expression evaluator ------------------------------------------------------- */

enum lk { L_NIL, L_BOOL, L_NUM, L_STR, L_HDRS, L_QUERY, L_CAPS, L_EMPTY, L_ARR, L_FTYPE };

struct lval {
    enum lk k;
    bool b;
    double n;
    char *s;                  /* L_STR, owned */
    const struct kp_arg *arr; /* L_ARR */
};

struct lp {
    const char *p, *end;
    struct kp_tmpl_env *env;
    int err;   /* 0, KGC_EINVAL (runtime error / unsupported), KGC_ENOMEM */
    int depth; /* nesting guard: every recursion passes through parse_unary */
};

static void lv_free(struct lval *v)
{
    free(v->s);
    memset(v, 0, sizeof(*v));
}

static struct lval lv_str(struct lp *P, const char *s, size_t n)
{
    struct lval v = {.k = L_STR};
    v.s = malloc(n + 1);
    if (!v.s) {
        P->err = KGC_ENOMEM;
        v.k = L_NIL;
        return v;
    }
    memcpy(v.s, s, n);
    v.s[n] = '\0';
    return v;
}

static bool lv_truthy(const struct lval *v)
{
    return !(v->k == L_NIL || (v->k == L_BOOL && !v->b));
}

/* Lua 5.1 number formatting (LUAI_NUMFFORMAT "%.14g"). */
static void fmt_num(double n, char *buf, size_t sz)
{
    snprintf(buf, sz, "%.14g", n);
}

static void skip_ws(struct lp *P)
{
    while (P->p < P->end && isspace((unsigned char)*P->p)) {
        P->p++;
    }
}

static bool peek_s(struct lp *P, const char *s)
{
    skip_ws(P);
    size_t n = strlen(s);
    return (size_t)(P->end - P->p) >= n && memcmp(P->p, s, n) == 0;
}

static bool accept_s(struct lp *P, const char *s)
{
    if (peek_s(P, s)) {
        P->p += strlen(s);
        return true;
    }
    return false;
}

static bool is_name_ch(int c)
{
    return isalnum(c) || c == '_';
}

static bool accept_kw(struct lp *P, const char *kw)
{
    skip_ws(P);
    size_t n = strlen(kw);
    if ((size_t)(P->end - P->p) >= n && memcmp(P->p, kw, n) == 0 &&
        (P->p + n == P->end || !is_name_ch((unsigned char)P->p[n]))) {
        P->p += n;
        return true;
    }
    return false;
}

static struct lval fail(struct lp *P)
{
    if (!P->err) {
        P->err = KGC_EINVAL;
    }
    return (struct lval){.k = L_NIL};
}

static bool tonum(const struct lval *v, double *out)
{
    if (v->k == L_NUM) {
        *out = v->n;
        return true;
    }
    if (v->k == L_STR) {
        char *end = NULL;
        const char *s = v->s;
        while (isspace((unsigned char)*s)) {
            s++;
        }
        if (!*s) {
            return false;
        }
        double d = strtod(s, &end);
        while (end && isspace((unsigned char)*end)) {
            end++;
        }
        if (end && !*end) {
            *out = d;
            return true;
        }
    }
    return false;
}

static struct lval parse_expr(struct lp *P);

static struct lval parse_string(struct lp *P)
{
    char q = *P->p++;
    struct kf_buf b = {0};
    while (P->p < P->end && *P->p != q) {
        char c = *P->p++;
        if (c == '\\' && P->p < P->end) {
            char e = *P->p++;
            switch (e) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'a':
                c = '\a';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'v':
                c = '\v';
                break;
            default:
                c = e;
                break; /* \\ \" \' and (not modelled) \ddd */
            }
        } else if (c == '\n') {
            kf_buf_free(&b);
            return fail(P);
        }
        kf_buf_ch(&b, c);
    }
    if (P->p >= P->end) {
        kf_buf_free(&b);
        return fail(P);
    }
    P->p++;
    struct lval v = {.k = L_STR, .s = kf_buf_take(&b)};
    if (!v.s) {
        P->err = KGC_ENOMEM;
        v.k = L_NIL;
    }
    return v;
}

static struct lval index_value(struct lp *P, struct lval *t, struct lval *key)
{
    struct lval r = {.k = L_NIL};
    char kbuf[64];
    const char *ks = NULL;
    if (key->k == L_STR) {
        ks = key->s;
    }
    switch (t->k) {
    case L_HDRS:
    case L_QUERY: {
        const struct kp_args *tab = t->k == L_HDRS ? &P->env->headers : &P->env->query;
        const struct kp_arg *g = NULL;
        if (ks) {
            g = t->k == L_HDRS ? hdr_index(tab, ks) : kp_args_get(tab, ks);
        }
        if (!g) {
            return r;
        }
        if (g->is_table) {
            r.k = L_ARR;
            r.arr = g;
        } else if (g->n == 1 && g->v[0].s) {
            r = lv_str(P, g->v[0].s, strlen(g->v[0].s));
        } else if (g->n == 1) {
            r.k = L_BOOL;
            r.b = true;
        }
        return r;
    }
    case L_CAPS: {
        /* numbered captures are integer keys, named ones string keys (kong/router) */
        const struct kf_match *m = P->env->m;
        if (key->k == L_NUM) {
            if (key->n != floor(key->n)) {
                return r;
            }
            fmt_num(key->n, kbuf, sizeof(kbuf));
            ks = kbuf;
        } else if (!ks || isdigit((unsigned char)ks[0])) {
            return r;
        }
        for (size_t i = 0; m && i < m->n_captures; i++) {
            if (m->captures[i].name && strcmp(m->captures[i].name, ks) == 0) {
                if (!m->captures[i].value) {
                    r.k = L_BOOL; /* an unmatched group is false */
                    return r;
                }
                return lv_str(P, m->captures[i].value, strlen(m->captures[i].value));
            }
        }
        return r;
    }
    case L_ARR:
        if (key->k == L_NUM && key->n >= 1 && key->n == floor(key->n) &&
            key->n <= (double)t->arr->n) {
            const struct kp_aval *e = &t->arr->v[(size_t)key->n - 1];
            if (e->s) {
                return lv_str(P, e->s, strlen(e->s));
            }
            r.k = L_BOOL;
            r.b = true;
        }
        return r;
    case L_EMPTY:
    case L_STR: /* string methods are not modelled: nil */
        return r;
    default:
        return fail(P); /* attempt to index a nil / boolean / number / function value */
    }
}

static struct lval parse_primary(struct lp *P)
{
    skip_ws(P);
    if (P->p >= P->end) {
        return fail(P);
    }
    char c = *P->p;
    if (c == '"' || c == '\'') {
        return parse_string(P);
    }
    if (c == '[' && P->p + 1 < P->end && P->p[1] == '[') {
        const char *s = P->p + 2;
        const char *e = s;
        while (e + 1 < P->end && !(e[0] == ']' && e[1] == ']')) {
            e++;
        }
        if (e + 1 >= P->end) {
            return fail(P);
        }
        P->p = e + 2;
        return lv_str(P, s, (size_t)(e - s));
    }
    if (isdigit((unsigned char)c) ||
        (c == '.' && P->p + 1 < P->end && isdigit((unsigned char)P->p[1]))) {
        char buf[64];
        size_t n = 0;
        while (
            P->p < P->end && n + 1 < sizeof(buf) &&
            (isalnum((unsigned char)*P->p) || *P->p == '.' ||
             ((*P->p == '-' || *P->p == '+') && n && tolower((unsigned char)buf[n - 1]) == 'e'))) {
            buf[n++] = *P->p++;
        }
        buf[n] = '\0';
        char *end = NULL;
        double d = strtod(buf, &end);
        if (!end || *end) {
            return fail(P);
        }
        return (struct lval){.k = L_NUM, .n = d};
    }
    if (c == '(') {
        P->p++;
        struct lval v = parse_expr(P);
        if (!accept_s(P, ")")) {
            lv_free(&v);
            return fail(P);
        }
        return v;
    }
    if (isalpha((unsigned char)c) || c == '_') {
        const char *s = P->p;
        while (P->p < P->end && is_name_ch((unsigned char)*P->p)) {
            P->p++;
        }
        size_t n = (size_t)(P->p - s);
#define NAME_IS(lit) (n == sizeof(lit) - 1 && memcmp(s, lit, n) == 0)
        if (NAME_IS("nil")) {
            return (struct lval){.k = L_NIL};
        }
        if (NAME_IS("true") || NAME_IS("false")) {
            return (struct lval){.k = L_BOOL, .b = NAME_IS("true")};
        }
        if (NAME_IS("headers")) {
            P->err = env_headers(P->env);
            return (struct lval){.k = P->err ? L_NIL : L_HDRS};
        }
        if (NAME_IS("query_params")) {
            P->err = env_query(P->env);
            return (struct lval){.k = P->err ? L_NIL : L_QUERY};
        }
        if (NAME_IS("uri_captures")) {
            return (struct lval){.k = L_CAPS};
        }
        if (NAME_IS("shared")) {
            return (struct lval){.k = L_EMPTY}; /* kong.ctx.shared: nothing sets it here */
        }
        if (NAME_IS("type")) {
            return (struct lval){.k = L_FTYPE}; /* access.lua:549 */
        }
        if (NAME_IS("and") || NAME_IS("or") || NAME_IS("not")) {
            return fail(P);
        }
#undef NAME_IS
        return (struct lval){.k = L_NIL}; /* other sandbox globals: not modelled */
    }
    return fail(P);
}

static const char *type_name(const struct lval *v)
{
    switch (v->k) {
    case L_NIL:
        return "nil";
    case L_BOOL:
        return "boolean";
    case L_NUM:
        return "number";
    case L_STR:
        return "string";
    case L_FTYPE:
        return "function";
    default:
        return "table";
    }
}

static struct lval parse_postfix(struct lp *P)
{
    struct lval v = parse_primary(P);
    while (!P->err) {
        if (peek_s(P, "..")) {
            break;
        }
        if (accept_s(P, ".")) {
            skip_ws(P);
            const char *s = P->p;
            while (P->p < P->end && is_name_ch((unsigned char)*P->p)) {
                P->p++;
            }
            if (P->p == s) {
                lv_free(&v);
                return fail(P);
            }
            struct lval key = lv_str(P, s, (size_t)(P->p - s));
            struct lval r = {.k = L_NIL};
            if (!P->err) {
                r = index_value(P, &v, &key);
            }
            lv_free(&key);
            lv_free(&v);
            v = r;
        } else if (peek_s(P, "[") && !peek_s(P, "[[")) {
            P->p++;
            struct lval key = parse_expr(P);
            if (!P->err && !accept_s(P, "]")) {
                fail(P);
            }
            struct lval r = {.k = L_NIL};
            if (!P->err) {
                r = index_value(P, &v, &key);
            }
            lv_free(&key);
            lv_free(&v);
            v = r;
        } else if (accept_s(P, "(")) {
            if (v.k != L_FTYPE) {
                lv_free(&v);
                return fail(P); /* attempt to call a non-function (or an unmodelled one) */
            }
            struct lval a = parse_expr(P);
            if (!P->err && !accept_s(P, ")")) {
                fail(P);
            }
            const char *tn = type_name(&a);
            lv_free(&a);
            memset(&v, 0, sizeof(v));
            if (!P->err) {
                v = lv_str(P, tn, strlen(tn));
            }
        } else {
            break;
        }
    }
    return v;
}

static struct lval parse_unary_inner(struct lp *P);

#define MAX_DEPTH 64 /* Lua's own limit is LUAI_MAXCCALLS (200); bounded here for the stack */

static struct lval parse_unary(struct lp *P)
{
    if (++P->depth > MAX_DEPTH) {
        P->depth--;
        return fail(P);
    }
    struct lval v = parse_unary_inner(P);
    P->depth--;
    return v;
}

static struct lval parse_unary_inner(struct lp *P)
{
    if (accept_kw(P, "not")) {
        struct lval a = parse_unary(P);
        bool t = lv_truthy(&a);
        lv_free(&a);
        return (struct lval){.k = L_BOOL, .b = !t};
    }
    if (peek_s(P, "-") && !peek_s(P, "--")) {
        P->p++;
        struct lval a = parse_unary(P);
        double d;
        if (P->err || !tonum(&a, &d)) {
            lv_free(&a);
            return fail(P);
        }
        lv_free(&a);
        return (struct lval){.k = L_NUM, .n = -d};
    }
    if (accept_s(P, "#")) {
        struct lval a = parse_unary(P);
        double n = 0;
        if (a.k == L_STR) {
            n = (double)strlen(a.s);
        } else if (a.k == L_ARR) {
            n = (double)a.arr->n;
        } else if (a.k != L_HDRS && a.k != L_QUERY && a.k != L_CAPS && a.k != L_EMPTY) {
            lv_free(&a);
            return fail(P);
        }
        lv_free(&a);
        return (struct lval){.k = L_NUM, .n = n};
    }
    return parse_postfix(P);
}

static struct lval arith(struct lp *P, struct lval *a, struct lval *b, char op)
{
    double x, y;
    bool ok = tonum(a, &x) && tonum(b, &y);
    lv_free(a);
    lv_free(b);
    if (!ok) {
        return fail(P); /* attempt to perform arithmetic on a non-number */
    }
    double r = op == '*'   ? x * y
               : op == '/' ? x / y
               : op == '+' ? x + y
               : op == '-' ? x - y
                           : x - floor(x / y) * y;
    return (struct lval){.k = L_NUM, .n = r};
}

static struct lval parse_mul(struct lp *P)
{
    struct lval a = parse_unary(P);
    while (!P->err) {
        char op = 0;
        if (accept_s(P, "*")) {
            op = '*';
        } else if (accept_s(P, "/")) {
            op = '/';
        } else if (accept_s(P, "%")) {
            op = '%';
        } else {
            break;
        }
        struct lval b = parse_unary(P);
        a = arith(P, &a, &b, op);
    }
    return a;
}

static struct lval parse_add(struct lp *P)
{
    struct lval a = parse_mul(P);
    while (!P->err) {
        char op = 0;
        if (accept_s(P, "+")) {
            op = '+';
        } else if (peek_s(P, "-") && !peek_s(P, "--")) {
            P->p++;
            op = '-';
        } else {
            break;
        }
        struct lval b = parse_mul(P);
        a = arith(P, &a, &b, op);
    }
    return a;
}

static bool concat_piece(struct lval *v, char *buf, size_t sz, const char **out)
{
    if (v->k == L_STR) {
        *out = v->s;
        return true;
    }
    if (v->k == L_NUM) {
        fmt_num(v->n, buf, sz);
        *out = buf;
        return true;
    }
    return false;
}

static struct lval parse_concat(struct lp *P)
{
    struct lval a = parse_add(P);
    if (P->err || !accept_s(P, "..")) {
        return a;
    }
    struct lval b = parse_concat(P); /* right associative */
    char b1[64], b2[64];
    const char *s1, *s2;
    if (P->err || !concat_piece(&a, b1, sizeof(b1), &s1) ||
        !concat_piece(&b, b2, sizeof(b2), &s2)) {
        lv_free(&a);
        lv_free(&b);
        return fail(P); /* attempt to concatenate a nil / boolean / table value */
    }
    struct kf_buf o = {0};
    kf_buf_puts(&o, s1);
    kf_buf_puts(&o, s2);
    lv_free(&a);
    lv_free(&b);
    struct lval r = {.k = L_STR, .s = kf_buf_take(&o)};
    if (!r.s) {
        P->err = KGC_ENOMEM;
        r.k = L_NIL;
    }
    return r;
}

static bool lv_equal(const struct lval *a, const struct lval *b)
{
    if (a->k != b->k) {
        return false;
    }
    switch (a->k) {
    case L_NIL:
        return true;
    case L_BOOL:
        return a->b == b->b;
    case L_NUM:
        return a->n == b->n;
    case L_STR:
        return strcmp(a->s, b->s) == 0;
    case L_ARR:
        return a->arr == b->arr;
    default:
        return true; /* the same env table */
    }
}

static struct lval parse_cmp(struct lp *P)
{
    struct lval a = parse_concat(P);
    while (!P->err) {
        int op = 0;
        if (accept_s(P, "==")) {
            op = 1;
        } else if (accept_s(P, "~=")) {
            op = 2;
        } else if (accept_s(P, "<=")) {
            op = 3;
        } else if (accept_s(P, ">=")) {
            op = 4;
        } else if (accept_s(P, "<")) {
            op = 5;
        } else if (accept_s(P, ">")) {
            op = 6;
        } else {
            break;
        }
        struct lval b = parse_concat(P);
        bool r = false;
        if (!P->err && op <= 2) {
            r = lv_equal(&a, &b) == (op == 1);
        } else if (!P->err && a.k == L_NUM && b.k == L_NUM) {
            r = op == 3 ? a.n <= b.n : op == 4 ? a.n >= b.n : op == 5 ? a.n < b.n : a.n > b.n;
        } else if (!P->err && a.k == L_STR && b.k == L_STR) {
            int c = strcmp(a.s, b.s);
            r = op == 3 ? c <= 0 : op == 4 ? c >= 0 : op == 5 ? c < 0 : c > 0;
        } else {
            fail(P); /* attempt to compare */
        }
        lv_free(&a);
        lv_free(&b);
        a = (struct lval){.k = L_BOOL, .b = r};
    }
    return a;
}

static struct lval parse_and(struct lp *P)
{
    struct lval a = parse_cmp(P);
    while (!P->err && accept_kw(P, "and")) {
        struct lval b = parse_cmp(P);
        if (lv_truthy(&a)) {
            lv_free(&a);
            a = b;
        } else {
            lv_free(&b);
        }
    }
    return a;
}

static struct lval parse_expr(struct lp *P)
{
    struct lval a = parse_and(P);
    while (!P->err && accept_kw(P, "or")) {
        struct lval b = parse_and(P);
        if (lv_truthy(&a)) {
            lv_free(&b);
        } else {
            lv_free(&a);
            a = b;
        }
    }
    if (P->err) {
        lv_free(&a);
    }
    return a;
}

/* tostring(v or '') (Penlight template.lua parseDollarParen). */
static int render_value(struct kf_buf *out, struct lval *v)
{
    char buf[64];
    switch (v->k) {
    case L_NIL:
        break;
    case L_BOOL:
        kf_buf_puts(out, v->b ? "true" : "");
        break; /* false or '' -> '' */
    case L_NUM:
        fmt_num(v->n, buf, sizeof(buf));
        kf_buf_puts(out, buf);
        break;
    case L_STR:
        kf_buf_puts(out, v->s);
        break;
    case L_FTYPE:
        kf_buf_puts(out, "function: builtin");
        break;
    default:
        kf_buf_puts(out, "table: 0x00000000");
        break; /* an address in Kong */
    }
    return 0;
}

int kp_template_render(struct kp_tmpl_env *env, const char *tmpl, char **out)
{
    *out = NULL;
    struct kf_buf b = {0};
    size_t len = strlen(tmpl);
    size_t i = 0;
    while (i < len) {
        if (tmpl[i] == '$' && i + 1 < len && tmpl[i + 1] == '(') {
            /* %b(): balanced parentheses, quotes not considered */
            size_t depth = 0, j = i + 1;
            for (; j < len; j++) {
                if (tmpl[j] == '(') {
                    depth++;
                } else if (tmpl[j] == ')' && --depth == 0) {
                    break;
                }
            }
            if (j < len) {
                struct lp P = {.p = tmpl + i + 2, .end = tmpl + j, .env = env};
                struct lval v = parse_expr(&P);
                skip_ws(&P);
                if (!P.err && P.p != P.end) {
                    P.err = KGC_EINVAL; /* trailing tokens: not an expression we model */
                }
                if (P.err) {
                    lv_free(&v);
                    kf_buf_free(&b);
                    return P.err;
                }
                render_value(&b, &v);
                lv_free(&v);
                i = j + 1;
                continue;
            }
        }
        kf_buf_ch(&b, tmpl[i]);
        i++;
    }
    *out = kf_buf_take(&b);
    return *out ? 0 : KGC_ENOMEM;
}

/* ---- the transformer ------------------------------------------------------------------------ */

/* One iteration step of access.lua:110-135: name, and the rendered value (NULL = none). */
struct pair {
    char *name;
    char *value;
};

static void pair_free(struct pair *p)
{
    free(p->name);
    free(p->value);
    p->name = p->value = NULL;
}

/* Returns 0 (pair filled; name NULL when the entry does not split), KGC_EINVAL, KGC_ENOMEM. */
static int next_pair(struct kp_tmpl_env *env, json_object *arr, size_t i, struct pair *out)
{
    memset(out, 0, sizeof(*out));
    const char *e = kp_arr_str(arr, i), *n, *v;
    size_t nl, vl;
    if (!e || !kp_split_pair(e, &n, &nl, &v, &vl)) {
        return 0;
    }
    if (!(out->name = strndup(n, nl))) {
        return KGC_ENOMEM;
    }
    if (vl == 0) {
        return 0; /* access.lua:120-122 */
    }
    int rc = kp_template_render(env, v, &out->value);
    if (rc != 0) {
        pair_free(out);
    }
    return rc;
}

static bool arr_nonempty(json_object *cfg, const char *sec, const char *field)
{
    return kp_arr_len(kp_cfg_arr(cfg, sec, field)) > 0;
}

static const char *content_type_kind(const char *ct)
{
    /* access.lua:61-72: substring tests on the lower-cased value, in this order */
    if (!ct) {
        return NULL;
    }
    char *l = kp_lower_dup(ct);
    const char *k = NULL;
    if (l && strstr(l, "application/json")) {
        k = "json";
    } else if (l && strstr(l, "multipart/form-data")) {
        k = "multi";
    } else if (l && strstr(l, "application/x-www-form-urlencoded")) {
        k = "form";
    }
    free(l);
    return k;
}

/* ngx.req.set_header(name, value(s)) on the upstream request: all headers of that name replaced
 * (kept as they are when the values are the same); "" is sent as " " (checks.lua:17). */
static int set_header_values(struct kf_preq *up, const char *name, const struct kp_arg *g)
{
    size_t have = kf_hdrs_count(&up->headers, name);
    bool same = have == g->n;
    for (size_t i = 0, k = 0; same && i < up->headers.n; i++) {
        if (strcasecmp(up->headers.v[i].name, name) == 0) {
            const char *want = g->v[k].s ? (*g->v[k].s ? g->v[k].s : " ") : "true";
            same = strcmp(up->headers.v[i].value, want) == 0;
            k++;
        }
    }
    if (same) {
        return 0;
    }
    kf_hdrs_del(&up->headers, name);
    for (size_t i = 0; i < g->n; i++) {
        const char *want = g->v[i].s ? (*g->v[i].s ? g->v[i].s : " ") : "true";
        if (kf_hdrs_add(&up->headers, name, want) != 0) {
            return KGC_ENOMEM;
        }
    }
    return 0;
}

static int set_host(struct kf_preq *up, const char *v)
{
    char *h = strdup(v);
    if (!h) {
        return KGC_ENOMEM;
    }
    free(up->host);
    up->host = h;
    return 0;
}

/* Replaces the value under the raw key `key` with a copy of g's (is_table kept). */
static int set_raw_copy(struct kp_args *t, const char *key, const struct kp_arg *g)
{
    struct kp_args one = {0}, cp = {0};
    /* copy g through a one-element list so the values are duplicated */
    one.a = (struct kp_arg *)g;
    one.n = 1;
    int rc = kp_args_copy(&one, &cp);
    if (rc != 0) {
        return rc;
    }
    kp_args_del(t, key);
    free(cp.a[0].name);
    cp.a[0].name = strdup(key);
    if (!cp.a[0].name) {
        kp_args_free(&cp);
        return KGC_ENOMEM;
    }
    /* move the entry into t */
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        struct kp_arg *p = realloc(t->a, cap * sizeof(*p));
        if (!p) {
            kp_args_free(&cp);
            return KGC_ENOMEM;
        }
        t->a = p;
        t->cap = cap;
    }
    t->a[t->n++] = cp.a[0];
    free(cp.a);
    return 0;
}

/* Lua rename(tbl, old, new) of access.lua:150-161 on the headers table (lookups with the
 * headers __index). Returns 1 when renamed, 0 when not, < 0 on error. */
static int hdr_rename(struct kp_args *t, const char *old_name, const char *new_name)
{
    if (strcmp(old_name, new_name) == 0) {
        return 0;
    }
    struct kp_arg *g = hdr_index(t, old_name);
    if (!g) {
        return 0;
    }
    struct kp_args one = {.a = g, .n = 1}, cp = {0};
    if (kp_args_copy(&one, &cp) != 0) {
        return KGC_ENOMEM;
    }
    kp_args_del(t, old_name);
    int rc = set_raw_copy(t, new_name, &cp.a[0]);
    kp_args_free(&cp);
    return rc == 0 ? 1 : rc;
}

static int transform_headers(json_object *cfg, struct kp_tmpl_env *env, struct kf_preq *up)
{
    struct kp_args h = {0}, to_remove = {0};
    int rc = load_headers(up, env->client, &h);
    if (rc != 0) {
        return rc;
    }
    kp_args_del(&h, "host"); /* access.lua:167 */
    struct pair p = {0};
    json_object *a;

    /* remove (access.lua:169-176) */
    a = kp_cfg_arr(cfg, "remove", "headers");
    for (size_t i = 0; rc == 0 && i < kp_arr_len(a); i++) {
        if ((rc = next_pair(env, a, i, &p)) != 0 || !p.name) {
            continue;
        }
        char *ln = kp_lower_dup(p.name);
        if (!ln) {
            rc = KGC_ENOMEM;
        } else if (hdr_index(&h, ln)) {
            kp_args_del(&h, ln);
            rc = kp_args_set_str(&to_remove, ln, "");
        }
        free(ln);
        pair_free(&p);
    }
    /* rename (access.lua:178-193) */
    a = kp_cfg_arr(cfg, "rename", "headers");
    for (size_t i = 0; rc == 0 && i < kp_arr_len(a); i++) {
        if ((rc = next_pair(env, a, i, &p)) != 0 || !p.name) {
            continue;
        }
        if (!p.value) {
            pair_free(&p); /* rename(tbl, old, nil): tbl[nil] = v errors in Lua */
            rc = KGC_EINVAL;
            break;
        }
        char *lo = kp_lower_dup(p.name), *ln = kp_lower_dup(p.value);
        if (!lo || !ln) {
            rc = KGC_ENOMEM;
        } else {
            int r = strcmp(lo, ln) == 0 ? hdr_rename(&h, p.name, p.value) : hdr_rename(&h, lo, ln);
            if (r < 0) {
                rc = r;
            } else if (r > 0) {
                rc = kp_args_set_str(&to_remove, p.name, "");
            }
        }
        free(lo);
        free(ln);
        pair_free(&p);
    }
    /* replace (access.lua:195-201) */
    a = kp_cfg_arr(cfg, "replace", "headers");
    for (size_t i = 0; rc == 0 && i < kp_arr_len(a); i++) {
        if ((rc = next_pair(env, a, i, &p)) != 0 || !p.name) {
            continue;
        }
        char *ln = kp_lower_dup(p.name);
        if (!ln) {
            rc = KGC_ENOMEM;
        } else if (hdr_index(&h, ln) || strcmp(ln, "host") == 0) {
            if (p.value) {
                rc = kp_args_set_str(&h, ln, p.value);
            } else {
                kp_args_del(&h, ln);
            }
        }
        free(ln);
        pair_free(&p);
    }
    /* add (access.lua:203-208) */
    a = kp_cfg_arr(cfg, "add", "headers");
    for (size_t i = 0; rc == 0 && i < kp_arr_len(a); i++) {
        if ((rc = next_pair(env, a, i, &p)) != 0 || !p.name) {
            continue;
        }
        if (!hdr_index(&h, p.name) && strcasecmp(p.name, "host") != 0 && p.value) {
            rc = kp_args_set_str(&h, p.name, p.value);
        }
        pair_free(&p);
    }
    /* append (access.lua:210-225) */
    a = kp_cfg_arr(cfg, "append", "headers");
    for (size_t i = 0; rc == 0 && i < kp_arr_len(a); i++) {
        if ((rc = next_pair(env, a, i, &p)) != 0 || !p.name) {
            continue;
        }
        char *lc = kp_lower_dup(p.name);
        if (!lc) {
            rc = KGC_ENOMEM;
        } else {
            struct kp_arg *cur = hdr_index(&h, p.name);
            if (strcmp(lc, "host") != 0 && strcmp(p.name, lc) != 0 && cur) {
                /* keep the value, use the configured case */
                struct kp_args one = {.a = cur, .n = 1}, cp = {0};
                rc = kp_args_copy(&one, &cp);
                if (rc == 0) {
                    kp_args_del(&h, lc);
                    rc = set_raw_copy(&h, p.name, &cp.a[0]);
                    kp_args_free(&cp);
                }
            }
            if (rc == 0) {
                cur = hdr_index(&h, p.name);
                if (cur && strcmp(cur->name, p.name) != 0) {
                    /* found through __index under another key: the raw key gets a copy */
                    struct kp_args one = {.a = cur, .n = 1}, cp = {0};
                    rc = kp_args_copy(&one, &cp);
                    if (rc == 0) {
                        rc = set_raw_copy(&h, p.name, &cp.a[0]);
                        kp_args_free(&cp);
                    }
                }
                if (rc == 0) {
                    rc = kp_args_append(&h, p.name, p.value);
                }
            }
        }
        free(lc);
        pair_free(&p);
    }
    /* clear_header for the removed / renamed names, then set_headers (access.lua:227-231) */
    for (size_t i = 0; rc == 0 && i < to_remove.n; i++) {
        kf_hdrs_del(&up->headers, to_remove.a[i].name);
    }
    for (size_t i = 0; rc == 0 && i < h.n; i++) {
        const struct kp_arg *g = &h.a[i];
        if (strcasecmp(g->name, "host") == 0 && g->n && g->v[0].s) {
            /* kong/pdk/service/request.lua:441-444: upstream_host */
            rc = set_host(up, g->v[0].s);
            if (rc == 0 && kf_hdrs_get(&up->headers, "host")) {
                rc = set_header_values(up, g->name, g);
            }
            continue;
        }
        rc = set_header_values(up, g->name, g);
    }
    kp_args_free(&h);
    kp_args_free(&to_remove);
    return rc;
}

/* kong.service.request.set_query(q): the ordered encoding becomes the upstream query (NULL when
 * it is empty). 0 or KGC_ENOMEM. */
static int set_query_ordered(struct kf_preq *up, const struct kp_args *q)
{
    char *s = kp_args_encode_ordered(q);
    if (!s) {
        return KGC_ENOMEM;
    }
    free(up->query);
    up->query = *s ? s : NULL;
    if (!*s) {
        free(s);
    }
    return 0;
}

static int transform_querystrings(json_object *cfg, struct kp_tmpl_env *env, struct kf_preq *up)
{
    static const char *const secs[] = {"remove", "rename", "replace", "add", "append"};
    bool any = false;
    for (size_t s = 0; s < 5; s++) {
        any |= arr_nonempty(cfg, secs[s], "querystring");
    }
    if (!any) {
        return 0; /* access.lua:236-240 */
    }
    int rc = env_query(env);
    struct kp_args q = {0};
    if (rc != 0 || (rc = kp_args_copy(&env->query, &q)) != 0) {
        return rc;
    }
    struct pair p = {0};
    for (size_t s = 0; rc == 0 && s < 5; s++) {
        json_object *a = kp_cfg_arr(cfg, secs[s], "querystring");
        for (size_t i = 0; rc == 0 && i < kp_arr_len(a); i++) {
            if ((rc = next_pair(env, a, i, &p)) != 0 || !p.name) {
                continue;
            }
            switch (s) {
            case 0:
                kp_args_del(&q, p.name);
                break;
            case 1:
                if (!p.value) {
                    rc = KGC_EINVAL; /* tbl[nil] = v */
                } else {
                    kp_args_rename(&q, p.name, p.value);
                }
                break;
            case 2:
                if (kp_args_get(&q, p.name)) {
                    if (p.value) {
                        rc = kp_args_set_str(&q, p.name, p.value);
                    } else {
                        kp_args_del(&q, p.name);
                    }
                }
                break;
            case 3:
                if (!kp_args_get(&q, p.name) && p.value) {
                    rc = kp_args_set_str(&q, p.name, p.value);
                }
                break;
            default:
                rc = kp_args_append(&q, p.name, p.value);
                break;
            }
            pair_free(&p);
        }
    }
    if (rc == 0) {
        rc = set_query_ordered(up, &q);
    }
    kp_args_free(&q);
    return rc;
}

static int set_body(struct kf_preq *up, char *body)
{
    free(up->body);
    up->body = body;
    up->body_len = strlen(body);
    char len[32];
    snprintf(len, sizeof(len), "%zu", up->body_len);
    return kf_hdrs_set(&up->headers, "content-length", len); /* access.lua:449-452 */
}

/* Lua truthiness of a JSON member (cjson: null is a truthy lightuserdata, false is falsy). */
static bool json_truthy(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v)) {
        return false;
    }
    return !(v && json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v));
}

static int json_append(json_object *obj, const char *key, const char *value)
{
    json_object *cur = NULL;
    json_object_object_get_ex(obj, key, &cur);
    if (!value) {
        if (!cur || !(json_object_is_type(cur, json_type_string) ||
                      json_object_is_type(cur, json_type_array))) {
            /* { nil } is an empty table without the array metatable: cjson says {} */
            json_object_object_add(obj, key, json_object_new_object());
        } else if (json_object_is_type(cur, json_type_string)) {
            json_object *a = json_object_new_array();
            json_object_array_add(a, json_object_get(cur));
            json_object_object_add(obj, key, a);
        }
        return 0;
    }
    json_object *nv = json_object_new_string(value);
    if (!nv) {
        return KGC_ENOMEM;
    }
    if (cur && json_object_is_type(cur, json_type_array)) {
        json_object_array_add(cur, nv);
    } else if (cur && json_object_is_type(cur, json_type_string)) {
        json_object *a = json_object_new_array();
        json_object_array_add(a, json_object_get(cur));
        json_object_array_add(a, nv);
        json_object_object_add(obj, key, a);
    } else {
        json_object *a = json_object_new_array();
        json_object_array_add(a, nv);
        json_object_object_add(obj, key, a);
    }
    return 0;
}

/* One step of a body transformation: section s of its list, the rendered pair p. */
typedef int (*body_step_fn)(void *ctx, size_t s, const struct pair *p);

/* The body steps of access.lua: for each section secs[s] in order, every name:value pair of its
 * "body" list, rendered, goes to step; with an empty body (clen 0) the first three sections are
 * skipped. Stops at the first error. */
static int each_body_pair(json_object *cfg, struct kp_tmpl_env *env, const char *const *secs,
                          size_t nsecs, size_t clen, body_step_fn step, void *ctx)
{
    int rc = 0;
    struct pair p = {0};
    for (size_t s = 0; rc == 0 && s < nsecs; s++) {
        json_object *a = kp_cfg_arr(cfg, secs[s], "body");
        if (s < 3 && clen == 0) {
            continue;
        }
        for (size_t i = 0; rc == 0 && i < kp_arr_len(a); i++) {
            if ((rc = next_pair(env, a, i, &p)) != 0 || !p.name) {
                continue;
            }
            rc = step(ctx, s, &p);
            pair_free(&p);
        }
    }
    return rc;
}

struct json_body_ctx {
    json_object *params;
    bool changed;
};

/* A JSON body: remove, rename, replace, add, append. */
static int json_body_step(void *ctx, size_t s, const struct pair *p)
{
    struct json_body_ctx *c = ctx;
    int rc = 0;
    switch (s) {
    case 0:
        json_object_object_del(c->params, p->name);
        c->changed = true;
        break;
    case 1:
        if (strcmp(p->name, p->value ? p->value : "") != 0 && json_truthy(c->params, p->name)) {
            if (!p->value) {
                rc = KGC_EINVAL;
                break;
            }
            json_object *v = NULL;
            json_object_object_get_ex(c->params, p->name, &v);
            json_object_object_add(c->params, p->value, json_object_get(v));
            json_object_object_del(c->params, p->name);
            c->changed = true;
        }
        break;
    case 2: /* replace: when present */
    case 3: /* add: when absent */
        if (json_truthy(c->params, p->name) == (s == 2)) {
            if (p->value) {
                json_object_object_add(c->params, p->name, json_object_new_string(p->value));
            } else {
                json_object_object_del(c->params, p->name);
            }
            c->changed = true;
        }
        break;
    default:
        rc = json_append(c->params, p->name, p->value);
        c->changed = true;
        break;
    }
    return rc;
}

static int transform_json_body(json_object *cfg, struct kp_tmpl_env *env, struct kf_preq *up)
{
    size_t clen = up->body ? up->body_len : 0;
    json_object *params = NULL;
    if (clen > 0) {
        bool nomem = false;
        params = kp_json_parse_whole(up->body, clen, &nomem);
        if (!params) {
            return nomem ? KGC_ENOMEM : 0; /* malformed: left alone (access.lua:278-281) */
        }
        if (!json_object_is_type(params, json_type_object)) {
            json_object_put(params); /* not modelled: see plugins.md */
            return 0;
        }
    } else {
        params = json_object_new_object();
        if (!params) {
            return KGC_ENOMEM;
        }
    }
    static const char *const secs[] = {"remove", "rename", "replace", "add", "append"};
    struct json_body_ctx c = {params, false};
    int rc = each_body_pair(cfg, env, secs, 5, clen, json_body_step, &c);
    if (rc == 0 && c.changed) {
        const char *s = json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN);
        char *d = s ? strdup(s) : NULL;
        rc = d ? set_body(up, d) : KGC_ENOMEM;
    }
    json_object_put(params);
    return rc;
}

struct form_body_ctx {
    struct kp_args *params;
    bool changed;
};

/* A form body: remove, rename, replace, add, append. */
static int form_body_step(void *ctx, size_t s, const struct pair *p)
{
    struct form_body_ctx *c = ctx;
    int rc = 0;
    switch (s) {
    case 0:
        kp_args_del(c->params, p->name);
        c->changed = true;
        break;
    case 1:
        if (!p->value) {
            rc = kp_args_get(c->params, p->name) ? KGC_EINVAL : 0;
        } else if (kp_args_rename(c->params, p->name, p->value)) {
            c->changed = true;
        }
        break;
    case 2:
        if (kp_args_get(c->params, p->name)) {
            if (p->value) {
                rc = kp_args_set_str(c->params, p->name, p->value);
            } else {
                kp_args_del(c->params, p->name);
            }
            c->changed = true;
        }
        break;
    case 3:
        if (!kp_args_get(c->params, p->name)) {
            if (p->value) {
                rc = kp_args_set_str(c->params, p->name, p->value);
            }
            c->changed = true;
        }
        break;
    default:
        rc = kp_args_append(c->params, p->name, p->value);
        c->changed = true;
        break;
    }
    return rc;
}

static int transform_form_body(json_object *cfg, struct kp_tmpl_env *env, struct kf_preq *up)
{
    size_t clen = up->body ? up->body_len : 0;
    struct kp_args params = {0};
    int rc = kp_args_parse(up->body, clen, MAX_ARGS, &params);
    if (rc != 0) {
        return rc;
    }
    static const char *const secs[] = {"remove", "rename", "replace", "add", "append"};
    struct form_body_ctx c = {&params, false};
    rc = each_body_pair(cfg, env, secs, 5, clen, form_body_step, &c);
    if (rc == 0 && c.changed) {
        char *s = kp_args_encode(&params);
        rc = s ? set_body(up, s) : KGC_ENOMEM;
    }
    kp_args_free(&params);
    return rc;
}

struct multipart_body_ctx {
    struct kp_mp *mp;
    bool changed;
};

/* A multipart body: rename, remove, replace, add. */
static int multipart_body_step(void *ctx, size_t s, const struct pair *p)
{
    struct multipart_body_ctx *c = ctx;
    int rc = 0;
    switch (s) {
    case 0:
        if (kp_mp_has(c->mp, p->name) && strcmp(p->name, p->value ? p->value : "") != 0) {
            if (!p->value) {
                rc = KGC_EINVAL; /* set_simple(nil, ...) builds "name=\"" .. nil */
                break;
            }
            const char *v = kp_mp_value(c->mp, p->name);
            char *copy = v ? strdup(v) : NULL;
            if (v && !copy) {
                rc = KGC_ENOMEM;
                break;
            }
            rc = kp_mp_set_simple(c->mp, p->value, copy);
            free(copy);
            kp_mp_delete(c->mp, p->name);
            c->changed = true;
        }
        break;
    case 1:
        kp_mp_delete(c->mp, p->name);
        c->changed = true;
        break;
    case 2:
        if (kp_mp_has(c->mp, p->name)) {
            kp_mp_delete(c->mp, p->name);
            rc = kp_mp_set_simple(c->mp, p->name, p->value);
            c->changed = true;
        }
        break;
    default:
        if (!kp_mp_has(c->mp, p->name)) {
            rc = kp_mp_set_simple(c->mp, p->name, p->value);
            c->changed = true;
        }
        break;
    }
    return rc;
}

/* access.lua:377-422: rename, remove, replace, add (no append for multipart). */
static int transform_multipart_body(json_object *cfg, struct kp_tmpl_env *env, struct kf_preq *up)
{
    size_t clen = up->body ? up->body_len : 0;
    struct kp_mp *mp = kp_mp_new(up->body, clen, kf_hdrs_get(&up->headers, "content-type"));
    if (!mp) {
        return KGC_ENOMEM;
    }
    static const char *const secs[] = {"rename", "remove", "replace", "add"};
    struct multipart_body_ctx c = {mp, false};
    int rc = each_body_pair(cfg, env, secs, 4, clen, multipart_body_step, &c);
    if (rc == 0 && c.changed) {
        char *s = kp_mp_tostring(mp);
        rc = s ? set_body(up, s) : KGC_ENOMEM;
    }
    kp_mp_free(mp);
    return rc;
}

static int transform_body(json_object *cfg, struct kp_tmpl_env *env, struct kf_preq *up)
{
    const char *kind = content_type_kind(kf_hdrs_get(&up->headers, "content-type"));
    static const char *const secs[] = {"remove", "rename", "replace", "add", "append"};
    bool any = false;
    for (size_t s = 0; s < 5; s++) {
        any |= arr_nonempty(cfg, secs[s], "body");
    }
    if (!kind || !any) {
        return 0; /* access.lua:424-431 */
    }
    if (strcmp(kind, "json") == 0) {
        return transform_json_body(cfg, env, up);
    }
    if (strcmp(kind, "form") == 0) {
        return transform_form_body(cfg, env, up);
    }
    return transform_multipart_body(cfg, env, up);
}

static int transform_method(json_object *cfg, struct kf_preq *up)
{
    const char *m = kp_cfg_str(cfg, "http_method");
    if (!m) {
        return 0;
    }
    char *u = strdup(m);
    if (!u) {
        return KGC_ENOMEM;
    }
    for (char *c = u; *c; c++) {
        *c = (char)toupper((unsigned char)*c);
    }
    free(up->method);
    up->method = u;
    if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "TRACE") != 0) {
        return 0;
    }
    const char *kind = content_type_kind(kf_hdrs_get(&up->headers, "content-type"));
    if (!kind || strcmp(kind, "form") != 0) {
        return 0;
    }
    /* the form body goes into the querystring as well (access.lua:459-483) */
    struct kp_args body = {0}, q = {0};
    int rc = kp_args_parse(up->body, up->body ? up->body_len : 0, MAX_ARGS, &body);
    if (rc == 0 && body.n) {
        rc = kp_args_parse(up->query, up->query ? strlen(up->query) : 0, MAX_ARGS, &q);
        for (size_t i = 0; rc == 0 && i < body.n; i++) {
            const struct kp_arg *g = &body.a[i];
            for (size_t j = 0; rc == 0 && j < g->n; j++) {
                if (!kp_args_get(&q, g->name) && j == 0 && !g->is_table) {
                    rc = kp_args_set_str(&q, g->name, g->v[0].s ? g->v[0].s : "");
                    struct kp_arg *ng = rc == 0 && !g->v[0].s ? kp_args_get(&q, g->name) : NULL;
                    if (ng) {
                        free(ng->v[0].s); /* a bare flag stays the boolean true */
                        ng->v[0].s = NULL;
                    }
                } else {
                    rc = kp_args_append(&q, g->name, g->v[j].s ? g->v[j].s : "true");
                }
            }
        }
        if (rc == 0) {
            rc = set_query_ordered(up, &q);
        }
    }
    kp_args_free(&body);
    kp_args_free(&q);
    return rc;
}

static int transform_uri(json_object *cfg, struct kp_tmpl_env *env, struct kf_preq *up)
{
    json_object *rep = NULL, *uri = NULL;
    if (!json_object_object_get_ex(cfg, "replace", &rep) ||
        !json_object_is_type(rep, json_type_object) ||
        !json_object_object_get_ex(rep, "uri", &uri) ||
        !json_object_is_type(uri, json_type_string)) {
        return 0;
    }
    const char *t = json_object_get_string(uri);
    if (!*t) {
        return 0; /* param_value: "" -> nil (access.lua:75-77) */
    }
    char *res = NULL;
    int rc = kp_template_render(env, t, &res);
    if (rc != 0) {
        return rc;
    }
    if (res[0] != '/') {
        free(res); /* set_path: "path must start with /" (pdk/service/request.lua:143) */
        return KGC_EINVAL;
    }
    char *esc = kf_uri_escape(res);
    free(res);
    if (!esc) {
        return KGC_ENOMEM;
    }
    free(up->uri);
    up->uri = esc;
    return 0;
}

int kp_request_transformer(json_object *config, const struct kf_client_req *client,
                           const struct kf_match *m, struct kf_preq *up)
{
    struct kp_tmpl_env env = {.client = client, .m = m, .up = up};
    int rc = transform_uri(config, &env, up);
    if (rc == 0) {
        rc = transform_method(config, up);
    }
    if (rc == 0) {
        rc = transform_headers(config, &env, up);
    }
    if (rc == 0) {
        rc = transform_body(config, &env, up);
    }
    if (rc == 0) {
        rc = transform_querystrings(config, &env, up);
    }
    env_free(&env);
    return rc;
}

int kp_template_render_req(const struct kf_client_req *client, const struct kf_match *m,
                           struct kf_preq *up, const char *tmpl, char **out)
{
    struct kp_tmpl_env env = {.client = client, .m = m, .up = up};
    int rc = kp_template_render(&env, tmpl, out);
    env_free(&env);
    return rc;
}

#include "selector.h"

#include "kgc/err.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEL_MAX_REQS   256
#define SEL_MAX_VALUES 256
#define SEL_MAX_TOKEN  512

static void req_free(struct fas_sel_req *r)
{
    free(r->key);
    for (size_t i = 0; i < r->n_values; i++)
        free(r->values[i]);
    free(r->values);
}

void fas_selector_free(struct fas_selector *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->n_reqs; i++)
        req_free(&sel->reqs[i]);
    free(sel->reqs);
    free(sel);
}

static int sel_add(struct fas_selector *sel, struct fas_sel_req *r)
{
    if (sel->n_reqs >= SEL_MAX_REQS)
        return KGC_E2BIG;
    struct fas_sel_req *p = realloc(sel->reqs, (sel->n_reqs + 1) * sizeof(*p));
    if (!p)
        return KGC_ENOMEM;
    sel->reqs = p;
    sel->reqs[sel->n_reqs++] = *r;
    memset(r, 0, sizeof(*r));
    return 0;
}

static int req_add_value(struct fas_sel_req *r, const char *v, size_t n)
{
    if (r->n_values >= SEL_MAX_VALUES)
        return KGC_E2BIG;
    char **p = realloc(r->values, (r->n_values + 1) * sizeof(*p));
    if (!p)
        return KGC_ENOMEM;
    r->values = p;
    char *s = strndup(v, n);
    if (!s)
        return KGC_ENOMEM;
    r->values[r->n_values++] = s;
    return 0;
}

/* ---- label selectors ------------------------------------------------------------------------ */

enum tok_kind {
    T_END,
    T_IDENT,
    T_NOT,    /* ! */
    T_EQ,     /* = */
    T_DEQ,    /* == */
    T_NEQ,    /* != */
    T_GT,     /* > */
    T_LT,     /* < */
    T_LPAREN, /* ( */
    T_RPAREN, /* ) */
    T_COMMA,  /* , */
    T_IN,     /* in */
    T_NOTIN,  /* notin */
};

struct lexer {
    const char *s;
    size_t pos;
};

static bool is_special(char c)
{
    return c == '!' || c == '=' || c == '<' || c == '>' || c == '(' || c == ')' || c == ',';
}

/* Returns the next token; identifiers are returned through start and len. */
static enum tok_kind lex(struct lexer *lx, const char **start, size_t *len)
{
    const char *s = lx->s;
    while (s[lx->pos] && isspace((unsigned char)s[lx->pos]))
        lx->pos++;
    char c = s[lx->pos];
    *start = s + lx->pos;
    *len = 0;
    if (!c)
        return T_END;
    if (is_special(c)) {
        char d = s[lx->pos + 1];
        lx->pos++;
        switch (c) {
        case '!':
            if (d == '=') {
                lx->pos++;
                return T_NEQ;
            }
            return T_NOT;
        case '=':
            if (d == '=') {
                lx->pos++;
                return T_DEQ;
            }
            return T_EQ;
        case '<':
            return T_LT;
        case '>':
            return T_GT;
        case '(':
            return T_LPAREN;
        case ')':
            return T_RPAREN;
        default:
            return T_COMMA;
        }
    }
    size_t b = lx->pos;
    while (s[lx->pos] && !isspace((unsigned char)s[lx->pos]) && !is_special(s[lx->pos]))
        lx->pos++;
    *len = lx->pos - b;
    if (*len == 2 && strncmp(*start, "in", 2) == 0)
        return T_IN;
    if (*len == 5 && strncmp(*start, "notin", 5) == 0)
        return T_NOTIN;
    return T_IDENT;
}

static bool valid_label_chars(const char *s, size_t n, bool key)
{
    if (n > SEL_MAX_TOKEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || (key && c == '/'))
            continue;
        return false;
    }
    return true;
}

static int parse_fail(char *err, size_t errsz, const char *fmt, const char *s, size_t n)
{
    snprintf(err, errsz, fmt, (int)n, s);
    return KGC_EINVAL;
}

static int parse_one_label_req(struct lexer *lx, struct fas_sel_req *r, char *err, size_t errsz)
{
    const char *t;
    size_t n;
    enum tok_kind k = lex(lx, &t, &n);
    bool negate = false;
    if (k == T_NOT) {
        negate = true;
        k = lex(lx, &t, &n);
    }
    if (k != T_IDENT)
        return parse_fail(err, errsz,
                          "unable to parse requirement: found '%.*s', expected: identifier", t,
                          n ? n : strlen(t));
    if (n == 0 || !valid_label_chars(t, n, true))
        return parse_fail(err, errsz, "unable to parse requirement: invalid label key \"%.*s\"", t,
                          n);
    r->key = strndup(t, n);
    if (!r->key)
        return KGC_ENOMEM;
    if (negate) {
        r->op = FAS_SEL_ABSENT;
        return 0;
    }
    struct lexer save = *lx;
    k = lex(lx, &t, &n);
    switch (k) {
    case T_END:
    case T_COMMA:
        *lx = save;
        r->op = FAS_SEL_EXISTS;
        return 0;
    case T_EQ:
    case T_DEQ:
    case T_NEQ:
    case T_GT:
    case T_LT: {
        r->op = k == T_NEQ  ? FAS_SEL_NE
                : k == T_GT ? FAS_SEL_GT
                : k == T_LT ? FAS_SEL_LT
                            : FAS_SEL_EQ;
        save = *lx;
        enum tok_kind v = lex(lx, &t, &n);
        if (v == T_END || v == T_COMMA) { /* empty value: k= */
            if (r->op == FAS_SEL_GT || r->op == FAS_SEL_LT)
                return parse_fail(err, errsz,
                                  "unable to parse requirement: for 'Gt', 'Lt' operators, the "
                                  "value must be an integer%.*s",
                                  "", 0);
            *lx = save;
            return req_add_value(r, "", 0);
        }
        if (v != T_IDENT && v != T_IN && v != T_NOTIN)
            return parse_fail(err, errsz,
                              "unable to parse requirement: found '%.*s', expected: identifier", t,
                              n ? n : strlen(t));
        if (!valid_label_chars(t, n, false))
            return parse_fail(err, errsz,
                              "unable to parse requirement: invalid label value: \"%.*s\"", t, n);
        if (r->op == FAS_SEL_GT || r->op == FAS_SEL_LT) {
            char num[64];
            char *end = NULL;
            snprintf(num, sizeof(num), "%.*s", (int)n, t);
            errno = 0;
            (void)strtoll(num, &end, 10);
            if (errno || !end || *end)
                return parse_fail(err, errsz,
                                  "unable to parse requirement: for 'Gt', 'Lt' operators, the "
                                  "value must be an integer: %.*s",
                                  t, n);
        }
        return req_add_value(r, t, n);
    }
    case T_IN:
    case T_NOTIN: {
        r->op = k == T_IN ? FAS_SEL_IN : FAS_SEL_NOTIN;
        if (lex(lx, &t, &n) != T_LPAREN)
            return parse_fail(err, errsz,
                              "unable to parse requirement: found '%.*s', expected: '('", t,
                              n ? n : strlen(t));
        bool expect_value = true;
        for (;;) {
            enum tok_kind v = lex(lx, &t, &n);
            if (v == T_RPAREN) {
                if (expect_value && r->n_values > 0) /* "(a,)" : trailing empty value */
                    if (req_add_value(r, "", 0))
                        return KGC_ENOMEM;
                break;
            }
            if (v == T_COMMA) {
                if (expect_value && req_add_value(r, "", 0))
                    return KGC_ENOMEM;
                expect_value = true;
                continue;
            }
            if ((v == T_IDENT || v == T_IN || v == T_NOTIN) && expect_value) {
                if (!valid_label_chars(t, n, false))
                    return parse_fail(err, errsz,
                                      "unable to parse requirement: invalid label value: \"%.*s\"",
                                      t, n);
                int rc = req_add_value(r, t, n);
                if (rc)
                    return rc;
                expect_value = false;
                continue;
            }
            return parse_fail(err, errsz,
                              "unable to parse requirement: found '%.*s', expected: ',', ')' or "
                              "identifier",
                              t, n ? n : strlen(t));
        }
        if (r->n_values == 0)
            return parse_fail(err, errsz,
                              "unable to parse requirement: for 'in', 'notin' operators, values "
                              "set can't be empty%.*s",
                              "", 0);
        return 0;
    }
    default:
        return parse_fail(err, errsz,
                          "unable to parse requirement: found '%.*s', expected: in, notin, =, ==, "
                          "!=, gt, lt",
                          t, n ? n : strlen(t));
    }
}

int fas_label_selector_parse(const char *s, struct fas_selector **out, char *err, size_t errsz)
{
    *out = NULL;
    if (errsz)
        err[0] = '\0';
    if (!s)
        return 0;
    struct lexer lx = {.s = s, .pos = 0};
    const char *t;
    size_t n;
    struct lexer probe = lx;
    if (lex(&probe, &t, &n) == T_END)
        return 0;
    struct fas_selector *sel = calloc(1, sizeof(*sel));
    if (!sel)
        return KGC_ENOMEM;
    for (;;) {
        struct fas_sel_req r = {0};
        int rc = parse_one_label_req(&lx, &r, err, errsz);
        if (!rc)
            rc = sel_add(sel, &r);
        req_free(&r);
        if (rc) {
            if (rc == KGC_E2BIG)
                snprintf(err, errsz, "too many requirements in selector");
            fas_selector_free(sel);
            return rc == KGC_ENOMEM ? rc : KGC_EINVAL;
        }
        enum tok_kind k = lex(&lx, &t, &n);
        if (k == T_END)
            break;
        if (k != T_COMMA) {
            parse_fail(err, errsz, "found '%.*s', expected: ',' or 'end of string'", t,
                       n ? n : strlen(t));
            fas_selector_free(sel);
            return KGC_EINVAL;
        }
    }
    *out = sel;
    return 0;
}

/* ---- field selectors ------------------------------------------------------------------------ */

/* Copies s[0..n) removing backslash escapes. */
static char *unescape(const char *s, size_t n)
{
    char *o = malloc(n + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n)
            i++;
        o[j++] = s[i];
    }
    o[j] = '\0';
    return o;
}

static int parse_field_term(const char *t, size_t n, const char *const *allowed,
                            struct fas_selector *sel, char *err, size_t errsz)
{
    size_t op_at = n, op_len = 0;
    enum fas_sel_op op = FAS_SEL_EQ;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '\\') {
            i++;
            continue;
        }
        if (t[i] == '!' && i + 1 < n && t[i + 1] == '=') {
            op_at = i, op_len = 2, op = FAS_SEL_NE;
            break;
        }
        if (t[i] == '=') {
            op_at = i;
            op_len = (i + 1 < n && t[i + 1] == '=') ? 2 : 1;
            op = FAS_SEL_EQ;
            break;
        }
    }
    if (op_at == n) {
        snprintf(err, errsz, "invalid selector: '%.*s'; can't understand '%.*s'", (int)n, t, (int)n,
                 t);
        return KGC_EINVAL;
    }
    struct fas_sel_req r = {0};
    r.op = op;
    r.key = unescape(t, op_at);
    char *v = unescape(t + op_at + op_len, n - op_at - op_len);
    if (!r.key || !v) {
        free(v);
        req_free(&r);
        return KGC_ENOMEM;
    }
    if (allowed) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(allowed[i], r.key) == 0)
                ok = true;
        if (!ok) {
            char msg[512];
            size_t off = (size_t)snprintf(msg, sizeof(msg),
                                          "\"%s\" is not a known field selector: only ", r.key);
            for (size_t i = 0; allowed[i] && off < sizeof(msg); i++)
                off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s\"%s\"", i ? ", " : "",
                                        allowed[i]);
            snprintf(err, errsz, "%s", msg);
            free(v);
            req_free(&r);
            return KGC_EINVAL;
        }
    }
    r.values = malloc(sizeof(char *));
    if (!r.values) {
        free(v);
        req_free(&r);
        return KGC_ENOMEM;
    }
    r.values[0] = v;
    r.n_values = 1;
    int rc = sel_add(sel, &r);
    req_free(&r);
    if (rc == KGC_E2BIG) {
        snprintf(err, errsz, "too many requirements in selector");
        return KGC_EINVAL;
    }
    return rc;
}

int fas_field_selector_parse(const char *s, const char *const *allowed, struct fas_selector **out,
                             char *err, size_t errsz)
{
    *out = NULL;
    if (errsz)
        err[0] = '\0';
    if (!s || !s[0])
        return 0;
    struct fas_selector *sel = calloc(1, sizeof(*sel));
    if (!sel)
        return KGC_ENOMEM;
    size_t start = 0, len = strlen(s);
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] == '\\') {
            i++;
            continue;
        }
        if (i == len || s[i] == ',') {
            const char *t = s + start;
            size_t n = i - start;
            while (n && isspace((unsigned char)*t))
                t++, n--;
            while (n && isspace((unsigned char)t[n - 1]))
                n--;
            if (n) {
                int rc = parse_field_term(t, n, allowed, sel, err, errsz);
                if (rc) {
                    fas_selector_free(sel);
                    return rc;
                }
            }
            start = i + 1;
        }
    }
    if (sel->n_reqs == 0) {
        fas_selector_free(sel);
        sel = NULL;
    }
    *out = sel;
    return 0;
}

/* ---- matching ------------------------------------------------------------------------------- */

static bool value_in(const struct fas_sel_req *r, const char *v)
{
    for (size_t i = 0; i < r->n_values; i++)
        if (strcmp(r->values[i], v) == 0)
            return true;
    return false;
}

static bool int_cmp(const char *have, const char *want, bool gt)
{
    char *e1 = NULL, *e2 = NULL;
    errno = 0;
    long long a = strtoll(have, &e1, 10);
    long long b = strtoll(want, &e2, 10);
    if (errno || !e1 || *e1 || !e2 || *e2 || !have[0])
        return false;
    return gt ? a > b : a < b;
}

bool fas_selector_matches(const struct fas_selector *sel, fas_sel_lookup_fn lookup, void *ctx)
{
    if (!sel)
        return true;
    for (size_t i = 0; i < sel->n_reqs; i++) {
        const struct fas_sel_req *r = &sel->reqs[i];
        const char *v = lookup(ctx, r->key);
        bool ok;
        switch (r->op) {
        case FAS_SEL_EQ:
        case FAS_SEL_IN:
            ok = v && value_in(r, v);
            break;
        case FAS_SEL_NE:
        case FAS_SEL_NOTIN:
            ok = !v || !value_in(r, v);
            break;
        case FAS_SEL_EXISTS:
            ok = v != NULL;
            break;
        case FAS_SEL_ABSENT:
            ok = v == NULL;
            break;
        case FAS_SEL_GT:
            ok = v && int_cmp(v, r->values[0], true);
            break;
        case FAS_SEL_LT:
            ok = v && int_cmp(v, r->values[0], false);
            break;
        default:
            ok = false;
        }
        if (!ok)
            return false;
    }
    return true;
}

const char *fas_selector_exact(const struct fas_selector *sel, const char *key)
{
    if (!sel)
        return NULL;
    for (size_t i = 0; i < sel->n_reqs; i++) {
        const struct fas_sel_req *r = &sel->reqs[i];
        if ((r->op == FAS_SEL_EQ || r->op == FAS_SEL_IN) && r->n_values == 1 &&
            strcmp(r->key, key) == 0)
            return r->values[0];
    }
    return NULL;
}

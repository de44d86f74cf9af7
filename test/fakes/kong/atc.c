/* atc — Kong's ATC router language as atc-router 1.6.2 (ffd11db6) implements it: the contract is
 * in atc.h. This file holds the parser (a PEG recognizer that tracks failed rule attempts the way
 * pest 2.7.9 does, so syntax errors read as atc-router prints them), the AST built from the
 * recognizer's token queue (src/parser.rs), type checking against Kong's schema
 * (src/semantics.rs, src/schema.rs, kong/router/fields.lua), evaluation (src/interpreter.rs), the
 * evaluation context (src/context.rs) and the matcher set (src/router.rs). Regexes are compiled
 * by atc_regex.c (Rust regex crate syntax, run by PCRE2).
 *
 * Ownership: an expression or router is owned by its creator and freed with its _free function;
 * both are immutable after construction and may be evaluated from several threads at once (PCRE2
 * code is shared read-only; match data lives on the caller's context). A context belongs to one
 * thread. Memory: every structure is bounded by the input's length; nesting is capped at
 * ATC_MAX_DEPTH so recursion stays bounded on hostile input. */
#include "atc.h"
#include "kbuf.h"

#include <kgc/err.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

/* Paren and transform nesting cap. pest has no limit (a deep input overflows the Rust stack);
 * ours turns it into an error (see kf_atc_parse). */
#define ATC_MAX_DEPTH 200
/* src/ffi.rs:15 ERR_BUF_MAX_LEN: atc-router truncates its messages to 4096 bytes. */
#define ATC_ERRBUF_MAX 4096

/* ------------------------------------------------------------------------------------------ */
/* small helpers                                                                              */

static void *xrealloc(void *p, size_t n)
{
    return realloc(p, n ? n : 1);
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void sb_printf(struct kf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct kf_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (k > 0)
        kf_buf_putn(b, tmp, (size_t)k < sizeof(tmp) ? (size_t)k : sizeof(tmp) - 1);
}

static void sb_rep(struct kf_buf *b, char c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kf_buf_putn(b, &c, 1);
}

/* Copies msg into err truncated to errsz and to atc-router's 4096-byte error buffer
 * (src/ffi.rs:101: errlen = min(e.len(), errbuf_len)). */
static void set_err(char *err, size_t errsz, const char *msg)
{
    if (!err || errsz == 0)
        return;
    size_t n = strlen(msg);
    if (n > ATC_ERRBUF_MAX)
        n = ATC_ERRBUF_MAX;
    if (n >= errsz)
        n = errsz - 1;
    memcpy(err, msg, n);
    err[n] = '\0';
}

/* A string -> index table (open addressing, FNV-1a), so field lookups stay O(1) however many
 * distinct fields an expression or a context holds. Slots hold index + 1; 0 is empty. */
struct sidx {
    uint32_t *slot;
    size_t cap; /* power of two, or 0 */
};

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

typedef const char *(*sidx_key_fn)(const void *owner, size_t i);

/* the index of key in the table or SIZE_MAX */
static size_t sidx_find(const struct sidx *t, const void *owner, sidx_key_fn key, const char *k,
                        size_t kn)
{
    if (!t->cap)
        return SIZE_MAX;
    for (size_t h = fnv(k, kn) & (t->cap - 1);; h = (h + 1) & (t->cap - 1)) {
        uint32_t v = t->slot[h];
        if (!v)
            return SIZE_MAX;
        const char *cand = key(owner, v - 1);
        if (strlen(cand) == kn && memcmp(cand, k, kn) == 0)
            return v - 1;
    }
}

/* records entry idx (its key via key()); count is the number of entries after adding */
static bool sidx_add(struct sidx *t, const void *owner, sidx_key_fn key, size_t idx, size_t count)
{
    if (count * 2 > t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        while (count * 2 > nc)
            nc *= 2;
        uint32_t *ns = calloc(nc, sizeof(*ns));
        if (!ns)
            return false;
        free(t->slot);
        t->slot = ns;
        t->cap = nc;
        for (size_t i = 0; i < count; i++) {
            if (i == idx)
                continue;
            const char *k = key(owner, i);
            size_t h = fnv(k, strlen(k)) & (nc - 1);
            while (ns[h])
                h = (h + 1) & (nc - 1);
            ns[h] = (uint32_t)i + 1;
        }
    }
    const char *k = key(owner, idx);
    size_t h = fnv(k, strlen(k)) & (t->cap - 1);
    while (t->slot[h])
        h = (h + 1) & (t->cap - 1);
    t->slot[h] = (uint32_t)idx + 1;
    return true;
}

static void sidx_clear(struct sidx *t)
{
    if (t->cap)
        memset(t->slot, 0, t->cap * sizeof(*t->slot));
}

/* ------------------------------------------------------------------------------------------ */
/* UTF-8: validation with Rust's Utf8Error text (t/02-bugs.t:52 "invalid utf-8 sequence of 1   */
/* bytes from index 0"), character stepping and counting.                                    */

/* Returns true when s[0..n) is valid UTF-8; else fills msg with Rust's Utf8Error Display. */
static bool utf8_check(const unsigned char *s, size_t n, char *msg, size_t msgsz)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t w, bad = 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            w = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            w = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            w = 4;
        else {
            bad = 1;
            w = 0;
        }
        if (!bad) {
            unsigned lo = 0x80, hi = 0xBF;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
            else if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
            for (size_t k = 1; k < w; k++) {
                if (i + k >= n) {
                    snprintf(msg, msgsz, "incomplete utf-8 byte sequence from index %zu", i);
                    return false;
                }
                unsigned d = s[i + k];
                unsigned l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
                if (d < l || d > h) {
                    bad = k;
                    break;
                }
            }
        }
        if (bad) {
            snprintf(msg, msgsz, "invalid utf-8 sequence of %zu bytes from index %zu", bad, i);
            return false;
        }
        i += w;
    }
    return true;
}

static void utf8_encode(struct kf_buf *b, uint32_t cp)
{
    char t[4];
    size_t n;
    if (cp < 0x80) {
        t[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        t[0] = (char)(0xC0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        t[0] = (char)(0xE0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        t[0] = (char)(0xF0 | (cp >> 18));
        t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    kf_buf_putn(b, t, n);
}

/* lower(): Rust's str::to_lowercase (src/interpreter.rs:39), character by character with glibc's
 * C.UTF-8 towlower (Unicode simple lowercase) plus Rust's two special cases (core
 * src/str/mod.rs to_lowercase): U+0130 becomes "i" + U+0307, and a capital sigma becomes final
 * sigma when a cased letter precedes it and none follows (case-ignorable characters skipped;
 * our case-ignorable set is the common one: ' . : ^ ` U+00AD U+00B7 and combining marks
 * U+0300-U+036F). Falls back to ASCII when the locale is missing. */
static pthread_once_t lower_once = PTHREAD_ONCE_INIT;
static locale_t lower_loc; /* written once under lower_once, then read-only */

static void lower_init(void)
{
    lower_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static bool case_ignorable(uint32_t c)
{
    return c == '\'' || c == '.' || c == ':' || c == '^' || c == '`' || c == 0xAD || c == 0xB7 ||
           (c >= 0x300 && c <= 0x36F);
}

static bool cased(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!lower_loc)
        return false;
    return towlower_l((wint_t)c, lower_loc) != (wint_t)c ||
           towupper_l((wint_t)c, lower_loc) != (wint_t)c;
}

/* Rust's case_ignorable_then_cased over s[0..at) backwards (dir < 0) or s[at..n) forwards */
static bool ignorable_then_cased(const char *s, size_t n, size_t at, int dir)
{
    if (dir < 0) {
        size_t i = at;
        while (i > 0) {
            size_t st = i - 1;
            while (st > 0 && ((unsigned char)s[st] & 0xC0) == 0x80)
                st--;
            size_t adv;
            uint32_t c = kf_utf8_decode((const unsigned char *)s + st, n - st, &adv);
            if (!case_ignorable(c))
                return cased(c);
            i = st;
        }
        return false;
    }
    for (size_t i = at; i < n;) {
        size_t adv;
        uint32_t c = kf_utf8_decode((const unsigned char *)s + i, n - i, &adv);
        if (!case_ignorable(c))
            return cased(c);
        i += adv;
    }
    return false;
}

static char *utf8_lower(const char *s, size_t n, size_t *outn)
{
    pthread_once(&lower_once, lower_init);
    struct kf_buf b = {0};
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            char l = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
            kf_buf_putn(&b, &l, 1);
            i++;
            continue;
        }
        size_t adv;
        uint32_t cp = kf_utf8_decode((const unsigned char *)s + i, n - i, &adv);
        if (cp == 0x130) { /* LATIN CAPITAL LETTER I WITH DOT ABOVE */
            kf_buf_puts(&b, "i\xcc\x87");
            i += adv;
            continue;
        }
        if (cp == 0x3A3) { /* GREEK CAPITAL LETTER SIGMA */
            bool final =
                ignorable_then_cased(s, n, i, -1) && !ignorable_then_cased(s, n, i + adv, 1);
            utf8_encode(&b, final ? 0x3C2 : 0x3C3);
            i += adv;
            continue;
        }
        if (lower_loc)
            cp = (uint32_t)towlower_l((wint_t)cp, lower_loc);
        utf8_encode(&b, cp);
        i += adv;
    }
    if (!b.p && !b.oom)
        kf_buf_putn(&b, "", 0);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *outn = b.n;
    return b.p;
}

/* ------------------------------------------------------------------------------------------ */
/* IP addresses                                                                               */

struct atc_ip {
    int fam; /* 4 or 6 */
    uint8_t b[16];
};

/* Rust std Ipv4Addr::from_str: four decimal octets, no leading zeros (a lone 0 is fine). With
 * lax, each octet is any decimal u8 ("01" allowed): cidr-0.2.2 src/local_addr_parser.rs falls
 * back to that parser for the address part of a network. */
static bool parse_ipv4(const char *s, size_t n, uint8_t out[4], bool lax)
{
    size_t i = 0;
    for (int k = 0; k < 4; k++) {
        if (k > 0) {
            if (i >= n || s[i] != '.')
                return false;
            i++;
        }
        size_t st = i;
        unsigned v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            v = v * 10 + (unsigned)(s[i] - '0');
            if (v > 255)
                return false;
            i++;
        }
        size_t len = i - st;
        if (len == 0 || (!lax && (len > 3 || (len > 1 && s[st] == '0'))))
            return false;
        out[k] = (uint8_t)v;
    }
    return i == n;
}

/* Rust std Ipv6Addr::from_str: 1-4 hex digit groups, one "::" standing for at least one group,
 * an optional trailing dotted IPv4 (core::net::parser read_ipv6_addr). */
static bool parse_ipv6(const char *s, size_t n, uint8_t out[16])
{
    uint16_t head[8], tail[8];
    size_t nh = 0, nt = 0, i = 0;
    bool dbl = false;
    uint16_t *g = head;
    size_t *ng = &nh;
    int limit = 8;
    uint8_t v4[4];
    bool have_v4 = false;

    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        dbl = true;
        g = tail;
        ng = &nt;
        limit = 7;
        i = 2;
        if (i == n)
            goto done;
    }
    for (;;) {
        /* an embedded IPv4 may close the address when at least two groups remain */
        if ((int)*ng <= limit - 2) {
            size_t j = i;
            while (j < n && s[j] != ':')
                j++;
            if (j == n && memchr(s + i, '.', n - i)) {
                if (!parse_ipv4(s + i, n - i, v4, false))
                    return false;
                have_v4 = true;
                g[(*ng)++] = (uint16_t)(v4[0] << 8 | v4[1]);
                g[(*ng)++] = (uint16_t)(v4[2] << 8 | v4[3]);
                i = n;
                break;
            }
        }
        size_t st = i;
        unsigned v = 0;
        while (i < n && i - st < 5) {
            char c = s[i];
            unsigned d;
            if (c >= '0' && c <= '9')
                d = (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                d = (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                d = (unsigned)(c - 'A' + 10);
            else
                break;
            v = v * 16 + d;
            i++;
        }
        if (i == st || i - st > 4)
            return false;
        if ((int)*ng >= limit)
            return false;
        g[(*ng)++] = (uint16_t)v;
        if (i == n)
            break;
        if (s[i] != ':')
            return false;
        i++;
        if (i < n && s[i] == ':') {
            if (dbl)
                return false;
            dbl = true;
            i++;
            limit = 8 - (int)nh - 1;
            if (limit < 0)
                return false;
            g = tail;
            ng = &nt;
            if (i == n)
                break;
            continue;
        }
        if (i == n)
            return false;
        if ((int)*ng >= limit)
            return false;
    }
done:
    (void)have_v4;
    if (!dbl && nh != 8)
        return false;
    if (dbl && nh + nt > 7)
        return false;
    memset(out, 0, 16);
    for (size_t k = 0; k < nh; k++) {
        out[2 * k] = (uint8_t)(head[k] >> 8);
        out[2 * k + 1] = (uint8_t)head[k];
    }
    for (size_t k = 0; k < nt; k++) {
        size_t pos = 8 - nt + k;
        out[2 * pos] = (uint8_t)(tail[k] >> 8);
        out[2 * pos + 1] = (uint8_t)tail[k];
    }
    return true;
}

static bool parse_ip_any(const char *s, struct atc_ip *ip)
{
    size_t n = strlen(s);
    memset(ip, 0, sizeof(*ip));
    if (parse_ipv4(s, n, ip->b, false)) {
        ip->fam = 4;
        return true;
    }
    if (parse_ipv6(s, n, ip->b)) {
        ip->fam = 6;
        return true;
    }
    return false;
}

static bool ip_eq(const struct atc_ip *a, const struct atc_ip *b)
{
    /* Rust IpAddr equality: V4 and V6 never compare equal (no ::ffff: mapping). */
    return a->fam == b->fam && memcmp(a->b, b->b, a->fam == 4 ? 4 : 16) == 0;
}

static bool cidr_contains(const struct atc_ip *net, int plen, const struct atc_ip *a)
{
    if (net->fam != a->fam)
        return false;
    int full = plen / 8, rem = plen % 8;
    if (memcmp(net->b, a->b, (size_t)full) != 0)
        return false;
    if (rem) {
        uint8_t mask = (uint8_t)(0xFF << (8 - rem));
        if ((net->b[full] & mask) != (a->b[full] & mask))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* pest-faithful recognizer for src/atc_grammar.pest                                           */

/* Rule ids in the grammar's declaration order, EOI first: pest_generator's Rule enum, whose
 * derived Ord sorts the "expected ..." list (pest 2.7.9 src/parser_state.rs:454). */
enum rule {
    R_EOI,
    R_WHITESPACE,
    R_ident,
    R_rhs,
    R_transform_func,
    R_lhs,
    R_int_literal,
    R_digits,
    R_hex_digits,
    R_oct_digits,
    R_dec_digits,
    R_str_literal,
    R_str_inner,
    R_str_char,
    R_str_esc,
    R_rawstr_literal,
    R_rawstr_char,
    R_ipv4_literal,
    R_ipv6_literal,
    R_ipv4_cidr_literal,
    R_ipv6_cidr_literal,
    R_ip_literal,
    R_binary_operator,
    R_logical_operator,
    R_and_op,
    R_or_op,
    R_not_op,
    R_predicate,
    R_parenthesised_expression,
    R_term,
    R_expression,
    R_matcher,
};

static const char *const rule_names[] = {
    "EOI",
    "WHITESPACE",
    "ident",
    "rhs",
    "transform_func",
    "lhs",
    "int_literal",
    "digits",
    "hex_digits",
    "oct_digits",
    "dec_digits",
    "str_literal",
    "str_inner",
    "str_char",
    "str_esc",
    "rawstr_literal",
    "rawstr_char",
    "ipv4_literal",
    "ipv6_literal",
    "ipv4_cidr_literal",
    "ipv6_cidr_literal",
    "ip_literal",
    "binary_operator",
    "logical_operator",
    "and_op",
    "or_op",
    "not_op",
    "predicate",
    "parenthesised_expression",
    "term",
    "expression",
    "matcher",
};

enum atomicity { A_NON, A_COMPOUND, A_ATOMIC };

/* A pair: a successful rule attempt outside atomic rules, in pre-order; next is the index just
 * past its subtree (pest's QueueableToken Start/End pair). */
struct tok {
    uint8_t rule;
    uint32_t start, end, next;
};

struct pst {
    const char *s;
    size_t n, pos;
    size_t attempt_pos;
    uint8_t *att; /* pos_attempts */
    size_t natt, catt;
    enum atomicity atom;
    struct tok *q;
    size_t nq, cq;
    unsigned depth;
    bool abort; /* nesting cap hit or out of memory: every rule fails from here */
    bool oom;
    size_t abort_pos;
};

typedef bool (*body_fn)(struct pst *);

static size_t attempts_at(const struct pst *p, size_t pos)
{
    return p->attempt_pos == pos ? p->natt : 0;
}

/* pest 2.7.9 src/parser_state.rs:753 ParserState::track (no negative lookahead holds a rule in
 * this grammar, so neg_attempts stays empty). */
static void track(struct pst *p, enum rule r, size_t pos, size_t pai, size_t prev)
{
    if (p->atom == A_ATOMIC)
        return;
    size_t curr = attempts_at(p, pos);
    if (curr > prev && curr - prev == 1)
        return;
    if (pos == p->attempt_pos && pai < p->natt)
        p->natt = pai;
    if (pos > p->attempt_pos) {
        p->natt = 0;
        p->attempt_pos = pos;
    }
    if (pos == p->attempt_pos) {
        if (p->natt == p->catt) {
            size_t nc = p->catt ? p->catt * 2 : 32;
            uint8_t *na = xrealloc(p->att, nc);
            if (!na) {
                p->oom = p->abort = true;
                return;
            }
            p->att = na;
            p->catt = nc;
        }
        p->att[p->natt++] = (uint8_t)r;
    }
}

/* pest 2.7.9 src/parser_state.rs:582 ParserState::rule. */
static bool rule(struct pst *p, enum rule r, body_fn body)
{
    if (p->abort)
        return false;
    size_t at = p->pos;
    size_t pai = at == p->attempt_pos ? p->natt : 0;
    size_t qi = p->nq;
    bool push = p->atom != A_ATOMIC;
    if (push) {
        if (p->nq == p->cq) {
            size_t nc = p->cq ? p->cq * 2 : 64;
            struct tok *nt = xrealloc(p->q, nc * sizeof(*nt));
            if (!nt) {
                p->oom = p->abort = true;
                return false;
            }
            p->q = nt;
            p->cq = nc;
        }
        p->q[p->nq++] = (struct tok){(uint8_t)r, (uint32_t)at, 0, 0};
    }
    size_t prev = attempts_at(p, at);
    bool ok = body(p);
    if (ok && !p->abort) {
        if (push) {
            p->q[qi].end = (uint32_t)p->pos;
            p->q[qi].next = (uint32_t)p->nq;
        }
        return true;
    }
    track(p, r, at, pai, prev);
    if (push)
        p->nq = qi;
    p->pos = at;
    return false;
}

static bool lit(struct pst *p, const char *s)
{
    size_t k = strlen(s);
    if (p->n - p->pos >= k && memcmp(p->s + p->pos, s, k) == 0) {
        p->pos += k;
        return true;
    }
    return false;
}

/* implicit WHITESPACE* between the elements of non-atomic rules */
static void skip(struct pst *p)
{
    if (p->atom != A_NON)
        return;
    while (p->pos < p->n) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            break;
        p->pos++;
    }
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}
static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool any_char(struct pst *p)
{
    if (p->pos >= p->n)
        return false;
    size_t w = kf_utf8_len((unsigned char)p->s[p->pos]);
    if (p->pos + w > p->n)
        w = p->n - p->pos;
    p->pos += w;
    return true;
}

/* class{lo,hi}: at least lo, greedily up to hi */
static bool cls_rep(struct pst *p, bool (*cls)(char), size_t lo, size_t hi)
{
    size_t k = 0;
    while (k < hi && p->pos < p->n && cls(p->s[p->pos])) {
        p->pos++;
        k++;
    }
    return k >= lo;
}

static bool is_oct(char c)
{
    return c >= '0' && c <= '7';
}

static bool
b_ident(struct pst *p) /* ident = @{ ASCII_ALPHA ~ (ASCII_ALPHANUMERIC | "_" | ".")* } */
{
    enum atomicity sa = p->atom;
    p->atom = A_ATOMIC;
    bool ok = false;
    if (p->pos < p->n && is_alpha(p->s[p->pos])) {
        p->pos++;
        while (p->pos < p->n) {
            char c = p->s[p->pos];
            if (!(is_alpha(c) || is_digit(c) || c == '_' || c == '.'))
                break;
            p->pos++;
        }
        ok = true;
    }
    p->atom = sa;
    return ok;
}

static bool b_lhs(struct pst *p);

/* "(" ~ r ~ ")" with the nesting bounded by ATC_MAX_DEPTH (deeper aborts the parse). */
static bool parenthesised(struct pst *p, enum rule r, body_fn body)
{
    if (!lit(p, "("))
        return false;
    skip(p);
    if (++p->depth > ATC_MAX_DEPTH) {
        p->abort = true;
        p->abort_pos = p->pos;
        return false;
    }
    bool ok = rule(p, r, body);
    p->depth--;
    if (!ok)
        return false;
    skip(p);
    return lit(p, ")");
}

static bool b_transform_func(struct pst *p) /* ident ~ "(" ~ lhs ~ ")" */
{
    if (!rule(p, R_ident, b_ident))
        return false;
    skip(p);
    return parenthesised(p, R_lhs, b_lhs);
}

static bool b_lhs(struct pst *p) /* transform_func | ident */
{
    return rule(p, R_transform_func, b_transform_func) || rule(p, R_ident, b_ident);
}

static bool b_hex_digits(struct pst *p)
{
    return cls_rep(p, is_hex, 1, SIZE_MAX);
}
static bool b_oct_digits(struct pst *p) /* "0" ~ ASCII_OCT_DIGIT+ */
{
    return lit(p, "0") && cls_rep(p, is_oct, 1, SIZE_MAX);
}
static bool b_dec_digits(struct pst *p)
{
    return cls_rep(p, is_digit, 1, SIZE_MAX);
}

static bool b_int_literal(struct pst *p) /* ${ "-"? ~ digits } */
{
    enum atomicity sa = p->atom;
    p->atom = A_COMPOUND;
    (void)lit(p, "-");
    bool ok = rule(p, R_oct_digits, b_oct_digits);
    if (!ok) {
        size_t at = p->pos;
        if (lit(p, "0x") && rule(p, R_hex_digits, b_hex_digits))
            ok = true;
        else
            p->pos = at;
    }
    if (!ok)
        ok = rule(p, R_dec_digits, b_dec_digits);
    p->atom = sa;
    return ok;
}

static bool b_str_char(struct pst *p) /* !("\"" | "\\") ~ ANY */
{
    if (p->pos < p->n && (p->s[p->pos] == '"' || p->s[p->pos] == '\\'))
        return false;
    return any_char(p);
}

static bool b_str_esc(struct pst *p) /* "\\" ~ ("\"" | "\\" | "n" | "r" | "t") */
{
    if (p->n - p->pos >= 2 && p->s[p->pos] == '\\' && strchr("\"\\nrt", p->s[p->pos + 1]) &&
        p->s[p->pos + 1] != '\0') {
        p->pos += 2;
        return true;
    }
    return false;
}

static bool b_str_literal(struct pst *p) /* ${ "\"" ~ str_inner ~ "\"" } */
{
    enum atomicity sa = p->atom;
    p->atom = A_COMPOUND;
    bool ok = false;
    if (lit(p, "\"")) {
        while (rule(p, R_str_esc, b_str_esc) || rule(p, R_str_char, b_str_char))
            ;
        ok = lit(p, "\"");
    }
    p->atom = sa;
    return ok;
}

static bool b_rawstr_char(struct pst *p) /* !"\"#" ~ ANY */
{
    if (p->n - p->pos >= 2 && p->s[p->pos] == '"' && p->s[p->pos + 1] == '#')
        return false;
    return any_char(p);
}

static bool b_rawstr_literal(struct pst *p) /* ${ "r#\"" ~ rawstr_char* ~ "\"#" } */
{
    enum atomicity sa = p->atom;
    p->atom = A_COMPOUND;
    bool ok = false;
    if (lit(p, "r#\"")) {
        while (rule(p, R_rawstr_char, b_rawstr_char))
            ;
        ok = lit(p, "\"#");
    }
    p->atom = sa;
    return ok;
}

static bool
b_ipv4_literal(struct pst *p) /* @{ ASCII_DIGIT{1,3} ~ ( "." ~ ASCII_DIGIT{1,3} ){3} } */
{
    enum atomicity sa = p->atom;
    p->atom = A_ATOMIC;
    bool ok = cls_rep(p, is_digit, 1, 3);
    for (int k = 0; ok && k < 3; k++)
        ok = lit(p, ".") && cls_rep(p, is_digit, 1, 3);
    p->atom = sa;
    return ok;
}

/* @{ ( ":" | ASCII_HEX_DIGIT{1,4} ) ~ ":" ~ ( ASCII_HEX_DIGIT{1,4} | ":" )* } */
static bool b_ipv6_literal(struct pst *p)
{
    enum atomicity sa = p->atom;
    p->atom = A_ATOMIC;
    bool ok = (lit(p, ":") || cls_rep(p, is_hex, 1, 4)) && lit(p, ":");
    if (ok)
        while (cls_rep(p, is_hex, 1, 4) || lit(p, ":"))
            ;
    p->atom = sa;
    return ok;
}

/* @{ literal ~ "/" ~ ASCII_DIGIT{1,max_digits} } */
static bool cidr_literal(struct pst *p, enum rule r, body_fn literal, size_t max_digits)
{
    enum atomicity sa = p->atom;
    p->atom = A_ATOMIC;
    bool ok = rule(p, r, literal) && lit(p, "/") && cls_rep(p, is_digit, 1, max_digits);
    p->atom = sa;
    return ok;
}

static bool b_ipv4_cidr_literal(struct pst *p) /* @{ ipv4_literal ~ "/" ~ ASCII_DIGIT{1,2} } */
{
    return cidr_literal(p, R_ipv4_literal, b_ipv4_literal, 2);
}

static bool b_ipv6_cidr_literal(struct pst *p) /* @{ ipv6_literal ~ "/" ~ ASCII_DIGIT{1,3} } */
{
    return cidr_literal(p, R_ipv6_literal, b_ipv6_literal, 3);
}

static bool b_rhs(struct pst *p) /* str_literal | rawstr_literal | ip_literal | int_literal */
{
    return rule(p, R_str_literal, b_str_literal) || rule(p, R_rawstr_literal, b_rawstr_literal) ||
           rule(p, R_ipv4_cidr_literal, b_ipv4_cidr_literal) ||
           rule(p, R_ipv6_cidr_literal, b_ipv6_cidr_literal) ||
           rule(p, R_ipv4_literal, b_ipv4_literal) || rule(p, R_ipv6_literal, b_ipv6_literal) ||
           rule(p, R_int_literal, b_int_literal);
}

static bool b_binary_operator(struct pst *p)
{
    static const char *const ops[] = {"==", "!=", "~", "^=", "=^", ">=", ">", "<=", "<", "in"};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (lit(p, ops[i]))
            return true;
    size_t at = p->pos;
    if (lit(p, "not")) {
        skip(p);
        if (lit(p, "in"))
            return true;
    }
    p->pos = at;
    return lit(p, "contains");
}

static bool b_and_op(struct pst *p)
{
    return lit(p, "&&");
}
static bool b_or_op(struct pst *p)
{
    return lit(p, "||");
}
static bool b_not_op(struct pst *p)
{
    return lit(p, "!");
}
static bool b_eoi(struct pst *p)
{
    return p->pos == p->n;
}

static bool b_predicate(struct pst *p) /* lhs ~ binary_operator ~ rhs */
{
    if (!rule(p, R_lhs, b_lhs))
        return false;
    skip(p);
    if (!rule(p, R_binary_operator, b_binary_operator))
        return false;
    skip(p);
    return rule(p, R_rhs, b_rhs);
}

static bool b_expression(struct pst *p);

static bool b_paren(struct pst *p) /* not_op? ~ "(" ~ expression ~ ")" */
{
    (void)rule(p, R_not_op, b_not_op);
    skip(p);
    return parenthesised(p, R_expression, b_expression);
}

static bool b_term(struct pst *p) /* predicate | parenthesised_expression */
{
    return rule(p, R_predicate, b_predicate) || rule(p, R_parenthesised_expression, b_paren);
}

/* logical_operator ~ term, as one sequence (restored as a whole on failure) */
static bool op_term(struct pst *p)
{
    size_t at = p->pos, nq = p->nq;
    if ((rule(p, R_and_op, b_and_op) || rule(p, R_or_op, b_or_op))) {
        skip(p);
        if (rule(p, R_term, b_term))
            return true;
    }
    p->pos = at;
    p->nq = nq;
    return false;
}

static bool b_expression(struct pst *p) /* term ~ ( logical_operator ~ term )* */
{
    if (!rule(p, R_term, b_term))
        return false;
    skip(p);
    if (op_term(p)) {
        for (;;) {
            size_t at = p->pos;
            skip(p);
            if (!op_term(p)) {
                p->pos = at;
                break;
            }
        }
    }
    return true;
}

static bool b_matcher(struct pst *p) /* SOI ~ expression ~ EOI */
{
    skip(p);
    if (!rule(p, R_expression, b_expression))
        return false;
    skip(p);
    return rule(p, R_EOI, b_eoi);
}

/* ------------------------------------------------------------------------------------------ */
/* pest error layout (pest 2.7.9 src/error.rs: new_from_pos, new_from_span, format, underline)  */

/* line and column (1-based, in characters) of byte offset pos: pest src/position.rs:129 */
static void line_col(const char *s, size_t pos, size_t *line, size_t *col)
{
    size_t l = 1, c = 1, i = 0;
    while (i < pos) {
        if (s[i] == '\r' && i + 1 < pos && s[i + 1] == '\n') {
            l++;
            c = 1;
            i += 2;
            continue;
        }
        if (s[i] == '\n') {
            l++;
            c = 1;
            i++;
            continue;
        }
        i += kf_utf8_len((unsigned char)s[i]);
        c++;
    }
    *line = l;
    *col = c;
}

static size_t line_start(const char *s, size_t pos)
{
    while (pos > 0 && s[pos - 1] != '\n')
        pos--;
    return pos;
}

/* pest Position::find_line_end: just past the next '\n' (or the end) */
static size_t line_end(const char *s, size_t n, size_t pos)
{
    if (n == 0)
        return 0;
    if (pos == n - 1)
        return n;
    for (size_t i = pos; i < n; i++)
        if (s[i] == '\n')
            return i + 1;
    return n;
}

/* appends s[a..b) either with \r \n removed or with them shown as ␍ ␊ */
static void put_line(struct kf_buf *b, const char *s, size_t a, size_t e, bool visualize)
{
    for (size_t i = a; i < e; i++) {
        if (s[i] == '\r' || s[i] == '\n') {
            if (visualize)
                kf_buf_puts(b, s[i] == '\r' ? "\xe2\x90\x8d" : "\xe2\x90\x8a");
            continue;
        }
        kf_buf_putn(b, s + i, 1);
    }
}

static size_t ndigits(size_t v)
{
    size_t k = 1;
    while (v >= 10) {
        v /= 10;
        k++;
    }
    return k;
}

/* the underline's leading blanks: one per character before col, tabs kept */
static void put_offset(struct kf_buf *b, const char *line, size_t linelen, size_t cols)
{
    size_t i = 0;
    for (size_t k = 0; k < cols && i < linelen; k++) {
        kf_buf_putn(b, line[i] == '\t' ? "\t" : " ", 1);
        i += kf_utf8_len((unsigned char)line[i]);
    }
}

/* " --> L:C\n  |\nL | line\n  | ^---\n  |\n  = message" for a position */
static void pest_pos_error(struct kf_buf *b, const char *s, size_t n, size_t pos, const char *msg)
{
    size_t l, c;
    line_col(s, pos, &l, &c);
    bool vis = pos < n && (s[pos] == '\n' || s[pos] == '\r');
    size_t ls = line_start(s, pos), le = line_end(s, n, pos);
    struct kf_buf line = {0};
    put_line(&line, s, ls, le, vis);
    size_t w = ndigits(l);
    sb_rep(b, ' ', w);
    sb_printf(b, "--> %zu:%zu\n", l, c);
    sb_rep(b, ' ', w);
    kf_buf_puts(b, " |\n");
    sb_printf(b, "%zu | ", l);
    if (line.p)
        kf_buf_puts(b, line.p);
    kf_buf_puts(b, "\n");
    sb_rep(b, ' ', w);
    kf_buf_puts(b, " | ");
    put_offset(b, line.p ? line.p : "", line.n, c - 1);
    kf_buf_puts(b, "^---\n");
    sb_rep(b, ' ', w);
    kf_buf_puts(b, " |\n");
    sb_rep(b, ' ', w);
    kf_buf_puts(b, " = ");
    kf_buf_puts(b, msg);
    free(line.p);
}

/* the same for a span [a, e) with a custom message (parser.rs into_parse_result) */
static void pest_span_error(struct kf_buf *b, const char *s, size_t n, size_t a, size_t e,
                            const char *msg)
{
    size_t ls_, sc, el, ec;
    line_col(s, a, &ls_, &sc);
    line_col(s, e, &el, &ec);
    if (ec == 1 && e > 0) { /* end right after a newline: point at the visible LF */
        size_t v = e - 1;
        while (v > 0 && ((unsigned char)s[v] & 0xC0) == 0x80)
            v--;
        line_col(s, v, &el, &ec);
        ec++;
    }
    bool vis = e > a && (s[a] == '\n' || s[a] == '\r' || s[e - 1] == '\n' || s[e - 1] == '\r');
    /* Span::lines: every line from the one holding a while the cursor is <= e and not at end */
    size_t first_a = 0, first_e = 0, last_a = 0, last_e = 0, nlines = 0;
    for (size_t cur = a; cur <= e && cur < n;) {
        size_t la = line_start(s, cur), lz = line_end(s, n, cur);
        if (nlines == 0) {
            first_a = la;
            first_e = lz;
        } else {
            last_a = la;
            last_e = lz;
        }
        nlines++;
        if (lz <= cur)
            break;
        cur = lz;
    }
    struct kf_buf line = {0}, cont = {0};
    if (nlines > 0)
        put_line(&line, s, first_a, first_e, vis);
    bool has_cont = nlines > 1;
    if (has_cont)
        put_line(&cont, s, last_a, last_e, !vis); /* pest swaps the flag for the last line */
    size_t maxl = el > ls_ ? el : ls_;
    size_t w = ndigits(maxl);
    size_t start = sc, end = ec;
    if (start > end) { /* pest inverts reversed columns and widens by one */
        size_t t = start;
        start = end;
        end = t;
        start -= 1;
        end += 1;
    }
    struct kf_buf ul = {0};
    put_offset(&ul, line.p ? line.p : "", line.n, start ? start - 1 : 0);
    kf_buf_puts(&ul, "^");
    if (end - start > 1) {
        sb_rep(&ul, '-', end - start - 2);
        kf_buf_puts(&ul, "^");
    }
    sb_rep(b, ' ', w);
    sb_printf(b, "--> %zu:%zu\n", ls_, sc);
    sb_rep(b, ' ', w);
    kf_buf_puts(b, " |\n");
    sb_printf(b, "%*zu | %s\n", (int)w, ls_, line.p ? line.p : "");
    if (has_cont) {
        if (el - ls_ > 1) {
            sb_rep(b, ' ', w);
            kf_buf_puts(b, " | ...\n");
        }
        sb_printf(b, "%*zu | %s\n", (int)w, el, cont.p ? cont.p : "");
    }
    sb_rep(b, ' ', w);
    sb_printf(b, " | %s\n", ul.p ? ul.p : "");
    sb_rep(b, ' ', w);
    kf_buf_puts(b, " |\n");
    sb_rep(b, ' ', w);
    kf_buf_puts(b, " = ");
    kf_buf_puts(b, msg);
    free(line.p);
    free(cont.p);
    free(ul.p);
}

/* ------------------------------------------------------------------------------------------ */
/* AST                                                                                        */

enum vtype { T_STRING, T_IPCIDR, T_IPADDR, T_INT, T_REGEX };

enum op {
    OP_EQ,
    OP_NE,
    OP_REGEX,
    OP_PREFIX,
    OP_POSTFIX,
    OP_GT,
    OP_GE,
    OP_LT,
    OP_LE,
    OP_IN,
    OP_NOTIN,
    OP_CONTAINS,
};

struct pred {
    const char *field; /* interned in the expression's field list */
    bool lower, any;
    char xf[ATC_MAX_DEPTH + 1]; /* transformations innermost first: 'l' lower, 'a' any */
    enum op op;
    enum vtype rt;
    char *s; /* T_STRING (and the regex source) */
    size_t slen;
    int64_t i;
    struct atc_ip ip;
    int plen;
    void *re; /* atc_regex.c code */
};

enum nkind { N_AND, N_OR, N_NOT, N_PRED };

struct node {
    enum nkind kind;
    struct node **kids; /* N_AND / N_OR: evaluated left to right, short-circuit */
    size_t nkids;
    struct node *kid; /* N_NOT */
    struct pred p;    /* N_PRED */
};

struct kf_atc_expr {
    struct node *root;
    char **fields;
    size_t nfields;
    struct sidx fidx; /* over fields */
};

static const char *expr_field_key(const void *owner, size_t i)
{
    return ((const struct kf_atc_expr *)owner)->fields[i];
}

static void node_free(struct node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    node_free(n->kid);
    free(n->p.s);
    kf_atc_regex_free(n->p.re);
    free(n);
}

void kf_atc_expr_free(struct kf_atc_expr *e)
{
    if (!e)
        return;
    node_free(e->root);
    for (size_t i = 0; i < e->nfields; i++)
        free(e->fields[i]);
    free(e->fields);
    free(e->fidx.slot);
    free(e);
}

size_t kf_atc_expr_fields(const struct kf_atc_expr *e, const char *const **names)
{
    *names = e ? (const char *const *)e->fields : NULL;
    return e ? e->nfields : 0;
}

/* builder over the token queue */
struct bld {
    const char *s;
    size_t n;
    const struct tok *q;
    struct kf_atc_expr *e;
    struct kf_buf err; /* set on the first error */
    bool failed;
    bool oom;
};

static void bld_span_err(struct bld *b, const struct tok *t, const char *msg)
{
    if (b->failed)
        return;
    b->failed = true;
    pest_span_error(&b->err, b->s, b->n, t->start, t->end, msg);
}

static const char *intern_field(struct bld *b, const char *s, size_t n)
{
    struct kf_atc_expr *e = b->e;
    size_t i = sidx_find(&e->fidx, e, expr_field_key, s, n);
    if (i != SIZE_MAX)
        return e->fields[i];
    char **nf = xrealloc(e->fields, (e->nfields + 1) * sizeof(*nf));
    if (!nf)
        return NULL;
    e->fields = nf;
    char *d = xstrndup(s, n);
    if (!d)
        return NULL;
    nf[e->nfields++] = d;
    if (!sidx_add(&e->fidx, e, expr_field_key, e->nfields - 1, e->nfields))
        return NULL;
    return d;
}

/* first child of token i with the given rule, or 0 */
static size_t child(const struct bld *b, size_t i, enum rule r)
{
    for (size_t k = i + 1; k < b->q[i].next; k = b->q[k].next)
        if (b->q[k].rule == r)
            return k;
    return 0;
}

/* lhs: the innermost ident, transformations flagged; the innermost unknown function is
 * reported first, over its transform_func span (src/parser.rs parse_transform_func) */
static bool build_lhs(struct bld *b, size_t i, struct pred *p, const char **name, size_t *nlen)
{
    size_t tf = child(b, i, R_transform_func);
    if (!tf) {
        size_t id = child(b, i, R_ident);
        *name = b->s + b->q[id].start;
        *nlen = b->q[id].end - b->q[id].start;
        return true;
    }
    size_t fn = child(b, tf, R_ident);
    size_t inner = child(b, tf, R_lhs);
    if (!build_lhs(b, inner, p, name, nlen))
        return false;
    const char *f = b->s + b->q[fn].start;
    size_t fl = b->q[fn].end - b->q[fn].start;
    size_t nx = strlen(p->xf);
    if (fl == 5 && memcmp(f, "lower", 5) == 0) {
        p->lower = true;
        if (nx < ATC_MAX_DEPTH)
            p->xf[nx] = 'l';
    } else if (fl == 3 && memcmp(f, "any", 3) == 0) {
        p->any = true;
        if (nx < ATC_MAX_DEPTH)
            p->xf[nx] = 'a';
    } else {
        struct kf_buf m = {0};
        kf_buf_puts(&m, "unknown transformation function: ");
        kf_buf_putn(&m, f, fl);
        bld_span_err(b, &b->q[tf], m.p ? m.p : "unknown transformation function");
        free(m.p);
        return false;
    }
    return true;
}

static enum op parse_op(const char *s, size_t n)
{
    if (n >= 3 && memcmp(s, "not", 3) == 0)
        return OP_NOTIN;
    static const struct {
        const char *t;
        enum op op;
    } m[] = {{"==", OP_EQ},
             {"!=", OP_NE},
             {"~", OP_REGEX},
             {"^=", OP_PREFIX},
             {"=^", OP_POSTFIX},
             {">=", OP_GE},
             {">", OP_GT},
             {"<=", OP_LE},
             {"<", OP_LT},
             {"in", OP_IN},
             {"contains", OP_CONTAINS}};
    for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++)
        if (strlen(m[k].t) == n && memcmp(m[k].t, s, n) == 0)
            return m[k].op;
    return OP_EQ;
}

/* i64::from_str_radix on the digits (src/parser.rs parse_int_literal); the error is
 * core::num::ParseIntError's text over the digits' span */
static bool build_int(struct bld *b, size_t i, int64_t *out)
{
    const struct tok *t = &b->q[i];
    bool neg = b->s[t->start] == '-';
    size_t d = child(b, i, R_hex_digits);
    int radix = 16;
    if (!d) {
        d = child(b, i, R_oct_digits);
        radix = 8;
    }
    if (!d) {
        d = child(b, i, R_dec_digits);
        radix = 10;
    }
    uint64_t v = 0;
    for (size_t k = b->q[d].start; k < b->q[d].end; k++) {
        char c = b->s[k];
        unsigned dv = is_digit(c) ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
        if (v > ((uint64_t)INT64_MAX - dv) / (uint64_t)radix) {
            bld_span_err(b, &b->q[d], "number too large to fit in target type");
            return false;
        }
        v = v * (uint64_t)radix + dv;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

/* str_literal: the escapes of str_esc; rawstr_literal: verbatim */
static bool build_str(struct bld *b, size_t i, char **out, size_t *outn)
{
    const struct tok *t = &b->q[i];
    struct kf_buf sb = {0};
    kf_buf_putn(&sb, "", 0);
    if (t->rule == R_rawstr_literal) {
        kf_buf_putn(&sb, b->s + t->start + 3, t->end - t->start - 5);
    } else {
        for (size_t k = t->start + 1; k + 1 < t->end; k++) {
            char c = b->s[k];
            if (c == '\\') {
                char e = b->s[++k];
                c = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
            }
            kf_buf_putn(&sb, &c, 1);
        }
    }
    if (sb.oom) {
        free(sb.p);
        b->oom = true;
        return false;
    }
    *out = sb.p;
    *outn = sb.n;
    return true;
}

static bool build_rhs(struct bld *b, size_t i, struct pred *p, size_t *lit_tok)
{
    size_t k = i + 1; /* rhs has exactly one child */
    const struct tok *t = &b->q[k];
    const char *s = b->s + t->start;
    size_t n = t->end - t->start;
    *lit_tok = k;
    switch ((enum rule)t->rule) {
    case R_str_literal:
    case R_rawstr_literal:
        p->rt = T_STRING;
        return build_str(b, k, &p->s, &p->slen);
    case R_int_literal:
        p->rt = T_INT;
        return build_int(b, k, &p->i);
    case R_ipv4_literal:
        p->rt = T_IPADDR;
        p->ip.fam = 4;
        if (!parse_ipv4(s, n, p->ip.b, false)) {
            bld_span_err(b, t, "invalid IPv4 address syntax");
            return false;
        }
        return true;
    case R_ipv6_literal:
        p->rt = T_IPADDR;
        p->ip.fam = 6;
        if (!parse_ipv6(s, n, p->ip.b)) {
            bld_span_err(b, t, "invalid IPv6 address syntax");
            return false;
        }
        return true;
    case R_ipv4_cidr_literal:
    case R_ipv6_cidr_literal: {
        /* cidr-0.2.2 src/cidr/from_str.rs + direct.rs new(): address, length, host bits */
        bool v4 = t->rule == R_ipv4_cidr_literal;
        const char *slash = s + n;
        while (slash > s && slash[-1] != '/')
            slash--;
        slash--;
        p->rt = T_IPCIDR;
        p->ip.fam = v4 ? 4 : 6;
        bool ok = v4 ? parse_ipv4(s, (size_t)(slash - s), p->ip.b, true)
                     : parse_ipv6(s, (size_t)(slash - s), p->ip.b);
        if (!ok) {
            bld_span_err(b, t,
                         v4 ? "couldn't parse address in network: invalid IPv4 address syntax"
                            : "couldn't parse address in network: invalid IPv6 address syntax");
            return false;
        }
        unsigned len = 0;
        for (const char *c = slash + 1; c < s + n; c++)
            len = len * 10 + (unsigned)(*c - '0');
        if (len > 255) {
            bld_span_err(b, t,
                         "couldn't parse length in network: number too large to fit in target "
                         "type");
            return false;
        }
        unsigned max = v4 ? 32 : 128;
        if (len > max) {
            char m[128];
            snprintf(m, sizeof(m),
                     "invalid length for network: Network length %u is too long for %s "
                     "(maximum: %u)",
                     len, v4 ? "Ipv4" : "Ipv6", max);
            bld_span_err(b, t, m);
            return false;
        }
        p->plen = (int)len;
        struct atc_ip masked = p->ip;
        for (unsigned bit = len; bit < max; bit++)
            masked.b[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
        if (!ip_eq(&masked, &p->ip)) {
            bld_span_err(b, t, "host part of address was not zero");
            return false;
        }
        return true;
    }
    default:
        return false;
    }
}

static struct node *build_predicate(struct bld *b, size_t i)
{
    struct node *nd = calloc(1, sizeof(*nd));
    if (!nd) {
        b->oom = true;
        return NULL;
    }
    nd->kind = N_PRED;
    struct pred *p = &nd->p;
    const char *name;
    size_t nlen;
    size_t lhs = child(b, i, R_lhs), op = child(b, i, R_binary_operator), rhs = child(b, i, R_rhs);
    size_t lit_tok = 0;
    if (!build_lhs(b, lhs, p, &name, &nlen))
        goto fail;
    p->field = intern_field(b, name, nlen);
    if (!p->field) {
        b->oom = true;
        goto fail;
    }
    p->op = parse_op(b->s + b->q[op].start, b->q[op].end - b->q[op].start);
    if (!build_rhs(b, rhs, p, &lit_tok))
        goto fail;
    if (p->op == OP_REGEX) {
        /* src/parser.rs parse_predicate: the regex compiles at parse time, errors over the rhs */
        if (p->rt != T_STRING) {
            bld_span_err(b, &b->q[rhs], "regex operator can only be used with String operands");
            goto fail;
        }
        char msg[ATC_ERRBUF_MAX];
        void *code = NULL;
        if (memchr(p->s, '\0', p->slen)) {
            bld_span_err(b, &b->q[rhs], "regex with NUL bytes is not supported here");
            goto fail;
        }
        int rc = kf_atc_regex_compile(p->s, &code, msg, sizeof(msg));
        if (rc == KGC_ENOMEM) {
            b->oom = true;
            goto fail;
        }
        if (rc != 0) {
            bld_span_err(b, &b->q[rhs], msg);
            goto fail;
        }
        p->re = code;
        p->rt = T_REGEX;
    }
    return nd;
fail:
    node_free(nd);
    return NULL;
}

static struct node *build_expression(struct bld *b, size_t i);

static struct node *build_term(struct bld *b, size_t i)
{
    size_t k = i + 1;
    if (b->q[k].rule == R_predicate)
        return build_predicate(b, k);
    /* parenthesised_expression */
    size_t notk = child(b, k, R_not_op), ex = child(b, k, R_expression);
    struct node *inner = build_expression(b, ex);
    if (!inner || !notk)
        return inner;
    struct node *nd = calloc(1, sizeof(*nd));
    if (!nd) {
        b->oom = true;
        node_free(inner);
        return NULL;
    }
    nd->kind = N_NOT;
    nd->kid = inner;
    return nd;
}

static bool add_kid(struct node *n, struct node *k)
{
    struct node **nk = xrealloc(n->kids, (n->nkids + 1) * sizeof(*nk));
    if (!nk)
        return false;
    n->kids = nk;
    nk[n->nkids++] = k;
    return true;
}

/* src/parser.rs ATCParser::new: the Pratt parser declares and_op then or_op, both left
 * associative, so "||" binds tighter than "&&" (ast.rs tests expr_op_and_prec). The result is
 * an AND of OR groups; n-ary nodes evaluate exactly like the left-deep binary tree. */
static struct node *build_expression(struct bld *b, size_t i)
{
    struct node *and = calloc(1, sizeof(*and)), * or = NULL;
    if (!and) {
        b->oom = true;
        return NULL;
    }
    and->kind = N_AND;
    for (size_t k = i + 1; k < b->q[i].next; k = b->q[k].next) {
        enum rule r = b->q[k].rule;
        if (r == R_and_op) {
            if (!add_kid(and, or))
                goto oom;
            or = NULL;
            continue;
        }
        if (r == R_or_op)
            continue;
        if (r != R_term)
            continue;
        struct node *t = build_term(b, k);
        if (!t)
            goto fail;
        if (! or) {
            or = calloc(1, sizeof(* or));
            if (! or) {
                node_free(t);
                goto oom;
            }
            or->kind = N_OR;
        }
        if (!add_kid(or, t)) {
            node_free(t);
            goto oom;
        }
    }
    if (or &&!add_kid(and, or))
        goto oom;
    or = NULL;
    /* collapse single-child groups */
    for (size_t k = 0; k < and->nkids; k++) {
        struct node *g = and->kids[k];
        if (g->nkids == 1) {
            and->kids[k] = g->kids[0];
            g->nkids = 0;
            node_free(g);
        }
    }
    if (and->nkids == 1) {
        struct node *only = and->kids[0];
        and->nkids = 0;
        node_free(and);
        return only;
    }
    return and;
oom:
    b->oom = true;
fail:
    node_free(or);
    node_free(and);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* semantics (src/semantics.rs Validate, src/schema.rs type_of, kong/router/fields.lua)        */

struct field_type {
    const char *name;
    enum vtype t;
};

/* kong/router/fields.lua:20-35 (HTTP_FIELDS) */
static const struct field_type http_fields[] = {
    {"net.protocol", T_STRING},        {"tls.sni", T_STRING},
    {"http.method", T_STRING},         {"http.host", T_STRING},
    {"http.path", T_STRING},           {"http.path.segments.*", T_STRING},
    {"http.headers.*", T_STRING},      {"http.queries.*", T_STRING},
    {"net.src.port", T_INT},           {"net.dst.port", T_INT},
    {"http.path.segments.len", T_INT}, {"net.src.ip", T_IPADDR},
    {"net.dst.ip", T_IPADDR},
};

/* kong/router/fields.lua:38-49 (STREAM_FIELDS) */
static const struct field_type stream_fields[] = {
    {"net.protocol", T_STRING}, {"tls.sni", T_STRING},    {"net.src.port", T_INT},
    {"net.dst.port", T_INT},    {"net.src.ip", T_IPADDR}, {"net.dst.ip", T_IPADDR},
};

static bool lookup_exact(enum kf_atc_schema sc, const char *f, size_t n, enum vtype *t)
{
    const struct field_type *tab = sc == KF_ATC_STREAM ? stream_fields : http_fields;
    size_t cnt = sc == KF_ATC_STREAM ? sizeof(stream_fields) / sizeof(stream_fields[0])
                                     : sizeof(http_fields) / sizeof(http_fields[0]);
    for (size_t i = 0; i < cnt; i++)
        if (strlen(tab[i].name) == n && memcmp(tab[i].name, f, n) == 0) {
            *t = tab[i].t;
            return true;
        }
    return false;
}

/* src/schema.rs:10 type_of: the exact name, else "<up to the last dot>.*" */
static bool type_of(enum kf_atc_schema sc, const char *f, enum vtype *t)
{
    size_t n = strlen(f);
    if (lookup_exact(sc, f, n, t))
        return true;
    const char *dot = strrchr(f, '.');
    if (!dot)
        return false;
    char tmp[512];
    size_t pre = (size_t)(dot - f);
    if (pre + 3 > sizeof(tmp))
        return false;
    memcpy(tmp, f, pre);
    memcpy(tmp + pre, ".*", 3);
    return lookup_exact(sc, tmp, pre + 2, t);
}

static const char *validate(enum kf_atc_schema sc, const struct node *n)
{
    if (n->kind == N_AND || n->kind == N_OR) {
        for (size_t i = 0; i < n->nkids; i++) {
            const char *e = validate(sc, n->kids[i]);
            if (e)
                return e;
        }
        return NULL;
    }
    if (n->kind == N_NOT)
        return validate(sc, n->kid);
    const struct pred *p = &n->p;
    enum vtype lt;
    if (!type_of(sc, p->field, &lt))
        return "Unknown LHS field";
    if (p->op != OP_REGEX && p->op != OP_IN && p->op != OP_NOTIN && lt != p->rt)
        return "Type mismatch between the LHS and RHS values of predicate";
    if (p->lower && lt != T_STRING)
        return "lower-case transformation function only supported with String type fields";
    switch (p->op) {
    case OP_EQ:
    case OP_NE:
        return NULL;
    case OP_REGEX:
        return lt == T_STRING ? NULL : "Regex operators only supports string operands";
    case OP_PREFIX:
    case OP_POSTFIX:
        return p->rt == T_STRING ? NULL
                                 : "Regex/Prefix/Postfix operators only supports string operands";
    case OP_GT:
    case OP_GE:
    case OP_LT:
    case OP_LE:
        return p->rt == T_INT ? NULL
                              : "Greater/GreaterOrEqual/Lesser/LesserOrEqual operators only "
                                "supports integer operands";
    case OP_IN:
    case OP_NOTIN:
        return (lt == T_IPADDR && p->rt == T_IPCIDR) ? NULL
                                                     : "In/NotIn operators only supports IP in "
                                                       "CIDR";
    case OP_CONTAINS:
        return p->rt == T_STRING ? NULL : "Contains operator only supports string operands";
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* kf_atc_parse                                                                               */

int kf_atc_parse_unchecked(const char *src, struct kf_atc_expr **out, char *err, size_t errsz)
{
    *out = NULL;
    if (err && errsz)
        err[0] = '\0';
    size_t n = strlen(src);
    char umsg[128];
    if (!utf8_check((const unsigned char *)src, n, umsg, sizeof(umsg))) {
        /* src/ffi.rs:88 unwraps to_str(): atc-router would panic; we refuse instead */
        set_err(err, errsz, umsg);
        return KGC_EINVAL;
    }
    if (n > UINT32_MAX / 2) {
        set_err(err, errsz, "expression too long");
        return KGC_EINVAL;
    }
    struct pst p = {.s = src, .n = n};
    bool ok = rule(&p, R_matcher, b_matcher);
    if (p.oom) {
        free(p.att);
        free(p.q);
        return KGC_ENOMEM;
    }
    if (!ok) {
        struct kf_buf m = {0};
        if (p.abort) {
            char msg[96];
            snprintf(msg, sizeof(msg), "expression nested deeper than %d levels", ATC_MAX_DEPTH);
            pest_pos_error(&m, src, n, p.abort_pos, msg);
        } else {
            /* sort + dedup by rule order, then pest's enumerate() */
            bool seen[R_matcher + 1] = {0};
            size_t cnt = 0;
            for (size_t i = 0; i < p.natt; i++)
                if (!seen[p.att[i]]) {
                    seen[p.att[i]] = true;
                    cnt++;
                }
            struct kf_buf msg = {0};
            if (cnt == 0)
                kf_buf_puts(&msg, "unknown parsing error");
            else {
                kf_buf_puts(&msg, "expected ");
                size_t k = 0;
                for (int r = 0; r <= R_matcher; r++) {
                    if (!seen[r])
                        continue;
                    if (k > 0)
                        kf_buf_puts(&msg, cnt == 2 ? " or " : (k == cnt - 1 ? ", or " : ", "));
                    kf_buf_puts(&msg, rule_names[r]);
                    k++;
                }
            }
            pest_pos_error(&m, src, n, p.attempt_pos, msg.p ? msg.p : "");
            free(msg.p);
        }
        free(p.att);
        free(p.q);
        if (m.oom) {
            free(m.p);
            return KGC_ENOMEM;
        }
        set_err(err, errsz, m.p ? m.p : "");
        free(m.p);
        return KGC_EINVAL;
    }
    free(p.att);

    struct kf_atc_expr *e = calloc(1, sizeof(*e));
    if (!e) {
        free(p.q);
        return KGC_ENOMEM;
    }
    struct bld b = {.s = src, .n = n, .q = p.q, .e = e};
    /* q[0] is matcher; its expression child */
    size_t ex = child(&b, 0, R_expression);
    e->root = build_expression(&b, ex);
    free(p.q);
    if (!e->root) {
        int rc = b.oom ? KGC_ENOMEM : KGC_EINVAL;
        if (b.err.oom)
            rc = KGC_ENOMEM;
        if (rc == KGC_EINVAL)
            set_err(err, errsz, b.err.p ? b.err.p : "parse error");
        free(b.err.p);
        kf_atc_expr_free(e);
        return rc;
    }
    free(b.err.p);
    *out = e;
    return 0;
}

int kf_atc_parse(enum kf_atc_schema schema, const char *src, struct kf_atc_expr **out, char *err,
                 size_t errsz)
{
    struct kf_atc_expr *e;
    int rc = kf_atc_parse_unchecked(src, &e, err, errsz);
    *out = NULL;
    if (rc)
        return rc;
    /* router.rs add_matcher: parse, then validate against the schema */
    const char *verr = validate(schema, e->root);
    if (verr) {
        set_err(err, errsz, verr);
        kf_atc_expr_free(e);
        return KGC_EINVAL;
    }
    *out = e;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* the AST's test Display (src/ast.rs:151-235, #[cfg(test)]), for checking precedence          */

/* Rust's Ipv6Addr Display: RFC 5952 (longest run of two or more zero groups as "::", the first
 * on ties), "::ffff:a.b.c.d" for IPv4-mapped addresses. */
static void fmt_ip(struct kf_buf *b, const struct atc_ip *ip)
{
    if (ip->fam == 4) {
        sb_printf(b, "%u.%u.%u.%u", ip->b[0], ip->b[1], ip->b[2], ip->b[3]);
        return;
    }
    uint16_t g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (uint16_t)(ip->b[2 * i] << 8 | ip->b[2 * i + 1]);
    if (!g[0] && !g[1] && !g[2] && !g[3] && !g[4] && g[5] == 0xffff) {
        sb_printf(b, "::ffff:%u.%u.%u.%u", ip->b[12], ip->b[13], ip->b[14], ip->b[15]);
        return;
    }
    int best = -1, bestlen = 0;
    for (int i = 0; i < 8;) {
        if (g[i]) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && !g[j])
            j++;
        if (j - i > bestlen && j - i > 1) {
            best = i;
            bestlen = j - i;
        }
        i = j;
    }
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            kf_buf_puts(b, "::");
            i += bestlen - 1;
            continue;
        }
        if (i > 0 && i != best + bestlen)
            kf_buf_puts(b, ":");
        sb_printf(b, "%x", g[i]);
    }
}

static const char *op_text(enum op op)
{
    static const char *const t[] = {"==", "!=", "~",  "^=", "=^",     ">",
                                    ">=", "<",  "<=", "in", "not in", "contains"};
    return t[op];
}

static void fmt_node(struct kf_buf *b, const struct node *n)
{
    if (n->kind == N_NOT) {
        kf_buf_puts(b, "!(");
        fmt_node(b, n->kid);
        kf_buf_puts(b, ")");
        return;
    }
    if (n->kind == N_AND || n->kind == N_OR) {
        /* the left-deep binary tree the Pratt parser builds */
        for (size_t i = 1; i < n->nkids; i++)
            kf_buf_puts(b, "(");
        fmt_node(b, n->kids[0]);
        for (size_t i = 1; i < n->nkids; i++) {
            kf_buf_puts(b, n->kind == N_AND ? " && " : " || ");
            fmt_node(b, n->kids[i]);
            kf_buf_puts(b, ")");
        }
        return;
    }
    const struct pred *p = &n->p;
    kf_buf_puts(b, "(");
    size_t nx = strlen(p->xf);
    for (size_t i = nx; i > 0; i--)
        kf_buf_puts(b, p->xf[i - 1] == 'l' ? "lower(" : "any(");
    kf_buf_puts(b, p->field);
    for (size_t i = 0; i < nx; i++)
        kf_buf_puts(b, ")");
    sb_printf(b, " %s ", op_text(p->op));
    switch (p->rt) {
    case T_STRING:
    case T_REGEX:
        kf_buf_puts(b, "\"");
        kf_buf_putn(b, p->s, p->slen);
        kf_buf_puts(b, "\"");
        break;
    case T_INT:
        sb_printf(b, "%lld", (long long)p->i);
        break;
    case T_IPADDR:
        fmt_ip(b, &p->ip);
        break;
    case T_IPCIDR:
        fmt_ip(b, &p->ip);
        if (p->plen != (p->ip.fam == 4 ? 32 : 128)) /* cidr-0.2.2 src/cidr/direct.rs:250 */
            sb_printf(b, "/%d", p->plen);
        break;
    }
    kf_buf_puts(b, ")");
}

size_t kf_atc_expr_format(const struct kf_atc_expr *e, char *buf, size_t sz)
{
    struct kf_buf b = {0};
    if (e)
        fmt_node(&b, e->root);
    size_t n = b.oom ? 0 : b.n;
    if (sz) {
        size_t k = n < sz - 1 ? n : sz - 1;
        if (k)
            memcpy(buf, b.p, k);
        buf[k] = '\0';
    }
    free(b.p);
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* context (src/context.rs)                                                                   */

struct cval {
    enum vtype t;
    char *s;
    size_t slen;
    int64_t i;
    struct atc_ip ip;
};

struct cfield {
    char *name;
    struct cval *v;
    size_t nv, cv;
};

struct kv {
    char *k;
    char *v;
};

struct kf_atc_ctx {
    struct cfield *f;
    size_t nf, cf;
    struct sidx fidx; /* over f[].name */
    /* the result (Match): uuid, string matches per field, captures */
    char uuid[37];
    bool has_uuid;
    struct kv *matches;
    size_t nmatches, cmatches;
    struct kv *caps;
    size_t ncaps, ccaps;
    const char **cap_names, **cap_values; /* views for kf_atc_match */
    size_t cview;
    pcre2_match_data *md;
    uint32_t md_pairs;
    char lasterr[128];
    bool oom;
};

struct kf_atc_ctx *kf_atc_ctx_new(void)
{
    return calloc(1, sizeof(struct kf_atc_ctx));
}

static void kv_clear(struct kv *a, size_t *n)
{
    for (size_t i = 0; i < *n; i++) {
        free(a[i].k);
        free(a[i].v);
    }
    *n = 0;
}

static void result_clear(struct kf_atc_ctx *c)
{
    kv_clear(c->matches, &c->nmatches);
    kv_clear(c->caps, &c->ncaps);
    c->has_uuid = false;
    c->oom = false;
}

void kf_atc_ctx_reset(struct kf_atc_ctx *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nf; i++) {
        for (size_t k = 0; k < c->f[i].nv; k++)
            free(c->f[i].v[k].s);
        free(c->f[i].v);
        free(c->f[i].name);
    }
    c->nf = 0;
    sidx_clear(&c->fidx);
    result_clear(c);
    c->lasterr[0] = '\0';
}

void kf_atc_ctx_free(struct kf_atc_ctx *c)
{
    if (!c)
        return;
    kf_atc_ctx_reset(c);
    free(c->f);
    free(c->fidx.slot);
    free(c->matches);
    free(c->caps);
    free(c->cap_names);
    free(c->cap_values);
    if (c->md)
        pcre2_match_data_free(c->md);
    free(c);
}

const char *kf_atc_ctx_error(const struct kf_atc_ctx *c)
{
    return c ? c->lasterr : "";
}

static const char *ctx_field_key(const void *owner, size_t i)
{
    return ((const struct kf_atc_ctx *)owner)->f[i].name;
}

static struct cfield *ctx_field(const struct kf_atc_ctx *c, const char *name)
{
    size_t i = sidx_find(&c->fidx, c, ctx_field_key, name, strlen(name));
    return i == SIZE_MAX ? NULL : &c->f[i];
}

static int ctx_add(struct kf_atc_ctx *c, const char *field, const struct cval *v)
{
    struct cfield *f = ctx_field(c, field);
    if (!f) {
        if (c->nf == c->cf) {
            size_t nc = c->cf ? c->cf * 2 : 8;
            struct cfield *nf = xrealloc(c->f, nc * sizeof(*nf));
            if (!nf)
                return KGC_ENOMEM;
            c->f = nf;
            c->cf = nc;
        }
        char *nm = strdup(field);
        if (!nm)
            return KGC_ENOMEM;
        f = &c->f[c->nf++];
        *f = (struct cfield){.name = nm};
        if (!sidx_add(&c->fidx, c, ctx_field_key, c->nf - 1, c->nf)) {
            free(nm);
            c->nf--;
            return KGC_ENOMEM;
        }
    }
    if (f->nv == f->cv) {
        size_t nc = f->cv ? f->cv * 2 : 2;
        struct cval *nv = xrealloc(f->v, nc * sizeof(*nv));
        if (!nv)
            return KGC_ENOMEM;
        f->v = nv;
        f->cv = nc;
    }
    f->v[f->nv++] = *v;
    return 0;
}

int kf_atc_ctx_add_str(struct kf_atc_ctx *c, const char *field, const char *value)
{
    if (!c || !field || !value)
        return KGC_EINVAL;
    size_t n = strlen(value);
    /* src/ffi.rs:32: the value must be UTF-8 (t/02-bugs.t:52) */
    if (!utf8_check((const unsigned char *)value, n, c->lasterr, sizeof(c->lasterr)))
        return KGC_EINVAL;
    struct cval v = {.t = T_STRING, .slen = n};
    v.s = xstrndup(value, n);
    if (!v.s)
        return KGC_ENOMEM;
    int rc = ctx_add(c, field, &v);
    if (rc)
        free(v.s);
    return rc;
}

int kf_atc_ctx_add_int(struct kf_atc_ctx *c, const char *field, int64_t value)
{
    if (!c || !field)
        return KGC_EINVAL;
    struct cval v = {.t = T_INT, .i = value};
    return ctx_add(c, field, &v);
}

int kf_atc_ctx_add_ip(struct kf_atc_ctx *c, const char *field, const char *ip)
{
    if (!c || !field || !ip)
        return KGC_EINVAL;
    struct cval v = {.t = T_IPADDR};
    if (!parse_ip_any(ip, &v.ip)) {
        /* std AddrParseError for IpAddr (src/ffi.rs:54) */
        snprintf(c->lasterr, sizeof(c->lasterr), "invalid IP address syntax");
        return KGC_EINVAL;
    }
    return ctx_add(c, field, &v);
}

/* Match.matches / Match.captures insert: replace the value of an existing key */
static void kv_set(struct kf_atc_ctx *c, struct kv **arr, size_t *n, size_t *cap, const char *k,
                   size_t kn, const char *v, size_t vn)
{
    for (size_t i = 0; i < *n; i++)
        if (strlen((*arr)[i].k) == kn && memcmp((*arr)[i].k, k, kn) == 0) {
            char *nv = xstrndup(v, vn);
            if (!nv) {
                c->oom = true;
                return;
            }
            free((*arr)[i].v);
            (*arr)[i].v = nv;
            return;
        }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        struct kv *na = xrealloc(*arr, nc * sizeof(*na));
        if (!na) {
            c->oom = true;
            return;
        }
        *arr = na;
        *cap = nc;
    }
    char *nk = xstrndup(k, kn), *nv = xstrndup(v, vn);
    if (!nk || !nv) {
        free(nk);
        free(nv);
        c->oom = true;
        return;
    }
    (*arr)[*n].k = nk;
    (*arr)[*n].v = nv;
    (*n)++;
}

static void record_match(struct kf_atc_ctx *c, const char *field, const char *v, size_t vn)
{
    kv_set(c, &c->matches, &c->nmatches, &c->cmatches, field, strlen(field), v, vn);
}

static void record_cap(struct kf_atc_ctx *c, const char *name, size_t nn, const char *v, size_t vn)
{
    kv_set(c, &c->caps, &c->ncaps, &c->ccaps, name, nn, v, vn);
}

/* ------------------------------------------------------------------------------------------ */
/* evaluation (src/interpreter.rs)                                                            */

static bool bytes_prefix(const char *s, size_t n, const char *p, size_t pn)
{
    return pn <= n && memcmp(s, p, pn) == 0;
}

static bool bytes_suffix(const char *s, size_t n, const char *p, size_t pn)
{
    return pn <= n && memcmp(s + n - pn, p, pn) == 0;
}

static bool bytes_contains(const char *s, size_t n, const char *p, size_t pn)
{
    if (pn == 0)
        return true;
    if (pn > n)
        return false;
    return memmem(s, n, p, pn) != NULL;
}

/* the regex predicate on one value: captures as src/interpreter.rs:68-95 records them */
static bool eval_regex(struct kf_atc_ctx *c, const struct pred *p, const char *s, size_t n)
{
    uint32_t ng = kf_atc_regex_groups(p->re);
    if (!c->md || c->md_pairs < ng + 1) {
        if (c->md)
            pcre2_match_data_free(c->md);
        c->md_pairs = ng + 1 > 16 ? ng + 1 : 16;
        c->md = pcre2_match_data_create(c->md_pairs, NULL);
        if (!c->md) {
            c->md_pairs = 0;
            c->oom = true;
            return false;
        }
    }
    int rc = kf_atc_regex_match(p->re, s, n, c->md);
    if (rc <= 0)
        return false;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
    record_match(c, p->field, s + ov[0], ov[1] - ov[0]);
    for (uint32_t g = 0; g <= ng; g++) {
        if (ov[2 * g] == PCRE2_UNSET)
            continue;
        char nm[16];
        int k = snprintf(nm, sizeof(nm), "%u", g);
        record_cap(c, nm, (size_t)k, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
    }
    for (uint32_t g = 1; g <= ng; g++) {
        const char *nm = kf_atc_regex_group_name(p->re, g);
        if (nm && ov[2 * g] != PCRE2_UNSET)
            record_cap(c, nm, strlen(nm), s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
    }
    return true;
}

/* one predicate over all values of its field: "all" mode unless any() (interpreter.rs:29) */
static bool eval_pred(struct kf_atc_ctx *c, const struct pred *p)
{
    const struct cfield *f = ctx_field(c, p->field);
    if (!f)
        return false;
    size_t seen = 0;
    for (size_t k = 0; k < f->nv; k++) {
        const struct cval *v = &f->v[k];
        bool matched = false;
        /* context.rs:36 panics on a value whose type differs from the schema; we skip it */
        enum vtype want = (p->rt == T_REGEX || p->rt == T_STRING) ? T_STRING
                          : p->rt == T_IPCIDR                     ? T_IPADDR
                                                                  : p->rt;
        if (v->t != want)
            continue;
        seen++;
        const char *s = v->s;
        size_t sn = v->slen;
        char *low = NULL;
        if (p->lower && v->t == T_STRING) {
            low = utf8_lower(v->s, v->slen, &sn);
            if (!low) {
                c->oom = true;
                return false;
            }
            s = low;
        }
        switch (p->op) {
        case OP_EQ:
            if (p->rt == T_STRING)
                matched = sn == p->slen && memcmp(s, p->s, sn) == 0;
            else if (p->rt == T_INT)
                matched = v->i == p->i;
            else if (p->rt == T_IPADDR)
                matched = ip_eq(&v->ip, &p->ip);
            if (matched && p->rt == T_STRING)
                record_match(c, p->field, p->s, p->slen); /* the rhs literal, as matched */
            break;
        case OP_NE:
            if (p->rt == T_STRING)
                matched = !(sn == p->slen && memcmp(s, p->s, sn) == 0);
            else if (p->rt == T_INT)
                matched = v->i != p->i;
            else
                matched = !ip_eq(&v->ip, &p->ip);
            break;
        case OP_REGEX:
            matched = eval_regex(c, p, s, sn);
            break;
        case OP_PREFIX:
            matched = bytes_prefix(s, sn, p->s, p->slen);
            if (matched)
                record_match(c, p->field, p->s, p->slen);
            break;
        case OP_POSTFIX:
            matched = bytes_suffix(s, sn, p->s, p->slen);
            if (matched)
                record_match(c, p->field, p->s, p->slen);
            break;
        case OP_GT:
            matched = v->i > p->i;
            break;
        case OP_GE:
            matched = v->i >= p->i;
            break;
        case OP_LT:
            matched = v->i < p->i;
            break;
        case OP_LE:
            matched = v->i <= p->i;
            break;
        case OP_IN:
            matched = cidr_contains(&p->ip, p->plen, &v->ip);
            break;
        case OP_NOTIN:
            matched = !cidr_contains(&p->ip, p->plen, &v->ip);
            break;
        case OP_CONTAINS:
            matched = bytes_contains(s, sn, p->s, p->slen);
            break;
        }
        free(low);
        if (matched && p->any)
            return true;
        if (!p->any && !matched)
            return false;
    }
    return !p->any && seen > 0;
}

static bool eval(struct kf_atc_ctx *c, const struct node *n)
{
    switch (n->kind) {
    case N_AND:
        for (size_t i = 0; i < n->nkids; i++)
            if (!eval(c, n->kids[i]))
                return false;
        return true;
    case N_OR:
        for (size_t i = 0; i < n->nkids; i++)
            if (eval(c, n->kids[i]))
                return true;
        return false;
    case N_NOT:
        return !eval(c, n->kid);
    case N_PRED:
        return eval_pred(c, &n->p);
    }
    return false;
}

static void fill_match(struct kf_atc_ctx *c, struct kf_atc_match *m)
{
    if (!m)
        return;
    memset(m, 0, sizeof(*m));
    m->uuid = c->has_uuid ? c->uuid : NULL;
    m->path_value = kf_atc_ctx_matched(c, "http.path");
    if (c->ncaps > c->cview) {
        const char **nn = xrealloc(c->cap_names, c->ncaps * sizeof(*nn));
        if (nn)
            c->cap_names = nn;
        const char **nv = xrealloc(c->cap_values, c->ncaps * sizeof(*nv));
        if (nv)
            c->cap_values = nv;
        if (!nn || !nv)
            return;
        c->cview = c->ncaps;
    }
    for (size_t i = 0; i < c->ncaps; i++) {
        c->cap_names[i] = c->caps[i].k;
        c->cap_values[i] = c->caps[i].v;
    }
    m->cap_names = c->cap_names;
    m->cap_values = c->cap_values;
    m->n_caps = c->ncaps;
}

const char *kf_atc_ctx_matched(const struct kf_atc_ctx *c, const char *field)
{
    if (!c)
        return NULL;
    for (size_t i = 0; i < c->nmatches; i++)
        if (strcmp(c->matches[i].k, field) == 0)
            return c->matches[i].v;
    return NULL;
}

bool kf_atc_expr_execute(const struct kf_atc_expr *e, struct kf_atc_ctx *c, struct kf_atc_match *m)
{
    if (!e || !c)
        return false;
    result_clear(c);
    bool ok = eval(c, e->root);
    if (!ok) {
        result_clear(c);
        return false;
    }
    fill_match(c, m);
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* router (src/router.rs)                                                                     */

struct matcher {
    uint64_t prio;
    uint8_t uuid[16];
    char uuid_str[37];
    struct kf_atc_expr *e;
};

struct kf_atc_router {
    enum kf_atc_schema schema;
    struct matcher **m; /* sorted: the order router.rs iterates its BTreeMap in (rev) */
    size_t n, cap;
};

struct kf_atc_router *kf_atc_router_new(enum kf_atc_schema schema)
{
    struct kf_atc_router *r = calloc(1, sizeof(*r));
    if (r)
        r->schema = schema;
    return r;
}

void kf_atc_router_free(struct kf_atc_router *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        kf_atc_expr_free(r->m[i]->e);
        free(r->m[i]);
    }
    free(r->m);
    free(r);
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* uuid-1.8 Uuid::try_parse: simple (32 hex), hyphenated (8-4-4-4-12), braced or urn:uuid: */
static bool parse_uuid(const char *s, uint8_t out[16])
{
    size_t n = strlen(s);
    if (n == 45 && strncmp(s, "urn:uuid:", 9) == 0) {
        s += 9;
        n -= 9;
    } else if (n == 38 && s[0] == '{' && s[37] == '}') {
        s++;
        n -= 2;
    }
    size_t k = 0;
    if (n == 32) {
        for (size_t i = 0; i < 32; i += 2) {
            int a = hexv(s[i]), b = hexv(s[i + 1]);
            if (a < 0 || b < 0)
                return false;
            out[k++] = (uint8_t)(a << 4 | b);
        }
        return true;
    }
    if (n != 36)
        return false;
    for (size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
            i++;
            continue;
        }
        int a = hexv(s[i]), b = hexv(s[i + 1]);
        if (a < 0 || b < 0)
            return false;
        out[k++] = (uint8_t)(a << 4 | b);
        i += 2;
    }
    return k == 16;
}

/* a goes before b in execution order: higher priority first, then the greater uuid
 * (router.rs: BTreeMap<MatcherKey(priority, Uuid)> iterated in .rev(); Uuid orders by bytes) */
static int key_cmp(uint64_t pa, const uint8_t *ua, uint64_t pb, const uint8_t *ub)
{
    if (pa != pb)
        return pa > pb ? -1 : 1;
    return -memcmp(ua, ub, 16);
}

int kf_atc_router_add(struct kf_atc_router *r, const char *uuid, uint64_t priority,
                      const char *expr, char *err, size_t errsz)
{
    if (err && errsz)
        err[0] = '\0';
    if (!r || !uuid || !expr)
        return KGC_EINVAL;
    uint8_t u[16];
    if (!parse_uuid(uuid, u)) {
        /* src/ffi.rs:91 expect("invalid UUID format") would panic */
        set_err(err, errsz, "invalid UUID format");
        return KGC_EINVAL;
    }
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = key_cmp(r->m[mid]->prio, r->m[mid]->uuid, priority, u);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < r->n && key_cmp(r->m[lo]->prio, r->m[lo]->uuid, priority, u) == 0) {
        set_err(err, errsz, "UUID already exists"); /* router.rs:31 */
        return KGC_EEXIST;
    }
    struct kf_atc_expr *e;
    int rc = kf_atc_parse(r->schema, expr, &e, err, errsz);
    if (rc)
        return rc;
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 16;
        struct matcher **nm = xrealloc(r->m, nc * sizeof(*nm));
        if (!nm) {
            kf_atc_expr_free(e);
            return KGC_ENOMEM;
        }
        r->m = nm;
        r->cap = nc;
    }
    struct matcher *m = calloc(1, sizeof(*m));
    if (!m) {
        kf_atc_expr_free(e);
        return KGC_ENOMEM;
    }
    memmove(&r->m[lo + 1], &r->m[lo], (r->n - lo) * sizeof(r->m[0]));
    r->m[lo] = m;
    m->prio = priority;
    memcpy(m->uuid, u, 16);
    static const char hx[] = "0123456789abcdef";
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            m->uuid_str[k++] = '-';
        m->uuid_str[k++] = hx[u[i] >> 4];
        m->uuid_str[k++] = hx[u[i] & 15];
    }
    m->uuid_str[k] = '\0';
    m->e = e;
    r->n++;
    return 0;
}

int kf_atc_router_remove(struct kf_atc_router *r, const char *uuid, uint64_t priority)
{
    uint8_t u[16];
    if (!r || !uuid || !parse_uuid(uuid, u))
        return KGC_EINVAL;
    for (size_t i = 0; i < r->n; i++)
        if (r->m[i]->prio == priority && memcmp(r->m[i]->uuid, u, 16) == 0) {
            kf_atc_expr_free(r->m[i]->e);
            free(r->m[i]);
            memmove(&r->m[i], &r->m[i + 1], (r->n - i - 1) * sizeof(r->m[0]));
            r->n--;
            return 0;
        }
    return KGC_ENOENT;
}

size_t kf_atc_router_count(const struct kf_atc_router *r)
{
    return r ? r->n : 0;
}

bool kf_atc_router_execute(const struct kf_atc_router *r, struct kf_atc_ctx *c,
                           struct kf_atc_match *m)
{
    if (!r || !c)
        return false;
    for (size_t i = 0; i < r->n; i++) {
        result_clear(c); /* a fresh Match per matcher (router.rs:58) */
        if (eval(c, r->m[i]->e->root)) {
            memcpy(c->uuid, r->m[i]->uuid_str, sizeof(c->uuid));
            c->has_uuid = true;
            fill_match(c, m);
            return true;
        }
    }
    result_clear(c);
    return false;
}

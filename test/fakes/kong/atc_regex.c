/* atc_regex — regexes for the ATC `~` operator and kf_atc_regex_check (atc.h), with the syntax and
 * semantics of the Rust regex crate 1.10.4 / regex-syntax 0.8.3 (the versions atc-router 1.6.2's
 * Cargo.lock pins), run by PCRE2.
 *
 * A pattern is parsed the way regex-syntax's src/ast/parse.rs parses it (same order of checks,
 * same error kinds and spans) and rewritten into an equivalent PCRE2 pattern: Rust constructs PCRE
 * reads differently are spelled out (a*+ is (a*)+ in Rust, not possessive; nested classes and
 * class set operations become look-ahead alternations; (?x) whitespace is dropped here, also
 * inside classes; ASCII classes stay ASCII; \< \> \b{start} ... become look-arounds). Errors are
 * laid out as regex-syntax src/error.rs Formatter prints them.
 *
 * Ownership: a compiled regex (struct atc_rx) is immutable and may be matched from several
 * threads at once with per-thread match data; free it with kf_atc_regex_free. Errors: KGC_EINVAL
 * with the crate's text, KGC_ENOMEM. Work is linear in the pattern; nesting is capped at the
 * crate's own limit (250); matching runs under a PCRE2 backtracking budget. */
#include "atc.h"
#include "kbuf.h"

#include <kgc/err.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* regex-syntax 0.8.3 src/ast/parse.rs:141 nest_limit */
#define RX_NEST_LIMIT 250
/* PCRE2's largest repetition count; regex 1.10.4 would refuse far smaller compiled sizes with
 * "Compiled regex exceeds size limit of 10485760 bytes." (regex src/builders.rs size_limit) */
#define RX_MAX_REPEAT 65535
/* the largest PCRE2 spelling we build: class set operations (~~ repeats both operands) could
 * otherwise grow exponentially; past it the pattern is refused as too big */
#define RX_MAX_OUT (1u << 20)

struct atc_rx {
    pcre2_code *re;
    uint32_t ngroups;
    char **names; /* [ngroups + 1], NULL for unnamed groups */
};

/* ---- output buffer ----------------------------------------------------------------------------
 */

static void ob_printf(struct kf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ob_printf(struct kf_buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (k > 0)
        kf_buf_putn(b, tmp, (size_t)k < sizeof(tmp) ? (size_t)k : sizeof(tmp) - 1);
}

/* inserts s at offset at */
static void ob_insert(struct kf_buf *b, size_t at, const char *s)
{
    size_t k = strlen(s), old = b->n;
    kf_buf_putn(b, s, k); /* grow */
    if (b->oom)
        return;
    memmove(b->p + at + k, b->p + at, old - at);
    memcpy(b->p + at, s, k);
}

/* ---- parser state --------------------------------------------------------------------------- */

enum ekind {
    E_NONE,
    E_CLASS_ESCAPE_INVALID,
    E_CLASS_RANGE_INVALID,
    E_CLASS_RANGE_LITERAL,
    E_CLASS_UNCLOSED,
    E_DECIMAL_EMPTY,
    E_DECIMAL_INVALID,
    E_HEX_EMPTY,
    E_HEX_INVALID,
    E_HEX_INVALID_DIGIT,
    E_ESCAPE_EOF,
    E_ESCAPE_UNRECOGNIZED,
    E_FLAG_DANGLING_NEG,
    E_FLAG_DUPLICATE,
    E_FLAG_REPEATED_NEG,
    E_FLAG_EOF,
    E_FLAG_UNRECOGNIZED,
    E_GROUP_NAME_DUP,
    E_GROUP_NAME_EMPTY,
    E_GROUP_NAME_INVALID,
    E_GROUP_NAME_EOF,
    E_GROUP_UNCLOSED,
    E_GROUP_UNOPENED,
    E_NEST_LIMIT,
    E_REP_COUNT_INVALID,
    E_REP_COUNT_DECIMAL_EMPTY,
    E_REP_COUNT_UNCLOSED,
    E_REP_MISSING,
    E_SWB_UNCLOSED,
    E_SWB_UNRECOGNIZED,
    E_SWB_OR_REP_EOF,
    E_UNICODE_CLASS_INVALID,
    E_BACKREF,
    E_LOOKAROUND,
    /* hir translation errors (regex-syntax src/hir/mod.rs) */
    E_UNICODE_NOT_ALLOWED,
    E_INVALID_UTF8,
    E_UNICODE_PROPERTY_NOT_FOUND,
    E_TOO_BIG,
};

/* regex-syntax 0.8.3 src/ast/mod.rs and src/hir/mod.rs ErrorKind Display */
static const char *ekind_text(enum ekind k)
{
    switch (k) {
    case E_CLASS_ESCAPE_INVALID:
        return "invalid escape sequence found in character class";
    case E_CLASS_RANGE_INVALID:
        return "invalid character class range, the start must be <= the end";
    case E_CLASS_RANGE_LITERAL:
        return "invalid range boundary, must be a literal";
    case E_CLASS_UNCLOSED:
        return "unclosed character class";
    case E_DECIMAL_EMPTY:
        return "decimal literal empty";
    case E_DECIMAL_INVALID:
        return "decimal literal invalid";
    case E_HEX_EMPTY:
        return "hexadecimal literal empty";
    case E_HEX_INVALID:
        return "hexadecimal literal is not a Unicode scalar value";
    case E_HEX_INVALID_DIGIT:
        return "invalid hexadecimal digit";
    case E_ESCAPE_EOF:
        return "incomplete escape sequence, reached end of pattern prematurely";
    case E_ESCAPE_UNRECOGNIZED:
        return "unrecognized escape sequence";
    case E_FLAG_DANGLING_NEG:
        return "dangling flag negation operator";
    case E_FLAG_DUPLICATE:
        return "duplicate flag";
    case E_FLAG_REPEATED_NEG:
        return "flag negation operator repeated";
    case E_FLAG_EOF:
        return "expected flag but got end of regex";
    case E_FLAG_UNRECOGNIZED:
        return "unrecognized flag";
    case E_GROUP_NAME_DUP:
        return "duplicate capture group name";
    case E_GROUP_NAME_EMPTY:
        return "empty capture group name";
    case E_GROUP_NAME_INVALID:
        return "invalid capture group character";
    case E_GROUP_NAME_EOF:
        return "unclosed capture group name";
    case E_GROUP_UNCLOSED:
        return "unclosed group";
    case E_GROUP_UNOPENED:
        return "unopened group";
    case E_NEST_LIMIT:
        return "exceed the maximum number of nested parentheses/brackets (250)";
    case E_REP_COUNT_INVALID:
        return "invalid repetition count range, the start must be <= the end";
    case E_REP_COUNT_DECIMAL_EMPTY:
        return "repetition quantifier expects a valid decimal";
    case E_REP_COUNT_UNCLOSED:
        return "unclosed counted repetition";
    case E_REP_MISSING:
        return "repetition operator missing expression";
    case E_SWB_UNCLOSED:
        return "special word boundary assertion is either unclosed or contains an invalid "
               "character";
    case E_SWB_UNRECOGNIZED:
        return "unrecognized special word boundary assertion, valid choices are: start, end, "
               "start-half or end-half";
    case E_SWB_OR_REP_EOF:
        return "found either the beginning of a special word boundary or a bounded repetition "
               "on a \\b with an opening brace, but no closing brace";
    case E_UNICODE_CLASS_INVALID:
        return "invalid Unicode character class";
    case E_BACKREF:
        return "backreferences are not supported";
    case E_LOOKAROUND:
        return "look-around, including look-ahead and look-behind, is not supported";
    case E_UNICODE_NOT_ALLOWED:
        return "Unicode not allowed here";
    case E_INVALID_UTF8:
        return "pattern can match invalid UTF-8";
    case E_UNICODE_PROPERTY_NOT_FOUND:
        return "Unicode property not found";
    case E_TOO_BIG:
        return "Compiled regex exceeds size limit of 10485760 bytes.";
    case E_NONE:
        break;
    }
    return "";
}

struct gframe {
    size_t open;         /* offset of '(' */
    size_t out_at;       /* where the group starts in the output */
    bool ws, uni, multi; /* the flags to restore at the closing paren */
    long last_at;        /* the parent concatenation's last item */
    int last_kind;
};

enum { K_NONE, K_FLAGS, K_ATOM, K_ASSERT, K_REP };

struct rxp {
    const char *p;
    size_t n, pos;
    struct kf_buf out;
    enum ekind ek;
    size_t es, ee; /* error span (byte offsets) */
    bool aux;      /* an auxiliary span (duplicates) */
    enum ekind dk; /* the first deferred (translation) error */
    size_t ds, de;
    size_t as, ae;
    bool ws, uni; /* (?x) and (?u) in effect */
    bool multi;   /* (?m) in effect */
    struct gframe *st;
    size_t nst, cst;
    long last_at;
    int last_kind;
    size_t wraps; /* "(?:" still to insert at last_at (see flush_wraps) */
    uint32_t ngroups;
    char **names;
    size_t *name_at; /* where each name starts in the pattern */
    size_t cnames;
    size_t nest; /* bracket nesting for the class parser */
};

static bool fail(struct rxp *r, enum ekind k, size_t s, size_t e)
{
    if (r->ek == E_NONE) {
        r->ek = k;
        r->es = s;
        r->ee = e;
    }
    return false;
}

/* Errors of regex-syntax's HIR translation (Unicode classes, invalid UTF-8, the size limit) come
 * only after the whole pattern parsed (regex-syntax src/parser.rs: ast parse, then translate),
 * so they wait until the end; the first one is kept. */
static void defer(struct rxp *r, enum ekind k, size_t s, size_t e)
{
    if (r->dk == E_NONE) {
        r->dk = k;
        r->ds = s;
        r->de = e;
    }
}

static bool eof(const struct rxp *r)
{
    return r->pos >= r->n;
}

/* the code point at offset i */
static uint32_t cp_at(const struct rxp *r, size_t i, size_t *w)
{
    size_t k;
    uint32_t c = kf_utf8_decode((const unsigned char *)r->p + i, r->n - i, &k);
    if (w)
        *w = k;
    return c;
}

static uint32_t ch(const struct rxp *r)
{
    return eof(r) ? 0 : cp_at(r, r->pos, NULL);
}

static size_t next_pos(const struct rxp *r)
{
    size_t w = 1;
    if (!eof(r))
        (void)cp_at(r, r->pos, &w);
    return r->pos + w;
}

static bool bump(struct rxp *r)
{
    if (eof(r))
        return false;
    r->pos = next_pos(r);
    return !eof(r);
}

static bool starts(const struct rxp *r, const char *s)
{
    size_t k = strlen(s);
    return r->n - r->pos >= k && memcmp(r->p + r->pos, s, k) == 0;
}

static bool bump_if(struct rxp *r, const char *s)
{
    if (!starts(r, s))
        return false;
    r->pos += strlen(s);
    return true;
}

/* Rust char::is_whitespace (Unicode White_Space) */
static bool is_ws(uint32_t c)
{
    return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* parse.rs bump_space: in (?x) mode skip whitespace and # comments */
static void bump_space(struct rxp *r)
{
    if (!r->ws)
        return;
    while (!eof(r)) {
        uint32_t c = ch(r);
        if (is_ws(c))
            bump(r);
        else if (c == '#') {
            bump(r);
            while (!eof(r)) {
                uint32_t d = ch(r);
                bump(r);
                if (d == '\n')
                    break;
            }
        } else
            break;
    }
}

static bool bump_and_bump_space(struct rxp *r)
{
    if (!bump(r))
        return false;
    bump_space(r);
    return !eof(r);
}

/* parse.rs peek_space: the next char after the current one, skipping (?x) space */
static uint32_t peek_space(const struct rxp *r)
{
    if (eof(r))
        return 0;
    size_t i = next_pos(r);
    bool in_comment = false;
    while (i < r->n) {
        size_t w;
        uint32_t c = cp_at(r, i, &w);
        if (r->ws && is_ws(c)) {
            i += w;
            continue;
        }
        if (r->ws && !in_comment && c == '#') {
            in_comment = true;
            i += w;
            continue;
        }
        if (r->ws && in_comment) {
            if (c == '\n')
                in_comment = false;
            i += w;
            continue;
        }
        return c;
    }
    return 0;
}

static bool is_hexc(uint32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_meta(uint32_t c)
{
    return c && strchr("\\.+*?()|[]{}^$#&-~", (int)c) != NULL && c < 0x80;
}

/* regex-syntax 0.8.3 src/lib.rs:303 is_escapeable_character */
static bool is_escapeable(uint32_t c)
{
    if (is_meta(c))
        return true;
    if (c >= 0x80)
        return false;
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
        return false;
    if (c == '<' || c == '>')
        return false;
    return true;
}

/* emits one code point as a PCRE2 literal (usable inside and outside classes) */
static void emit_lit(struct kf_buf *o, uint32_t c)
{
    if (c < 0x80) {
        if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
            char t = (char)c;
            kf_buf_putn(o, &t, 1);
        } else if (c < 0x20 || c == 0x7F)
            ob_printf(o, "\\x{%x}", c);
        else {
            char t[2] = {'\\', (char)c};
            kf_buf_putn(o, t, 2);
        }
        return;
    }
    ob_printf(o, "\\x{%x}", c);
}

/* ---- escapes (parse.rs parse_escape) -------------------------------------------------------- */

enum pkind { P_LIT, P_PERL, P_UNICODE, P_ASSERT };

struct prim {
    enum pkind k;
    uint32_t c;    /* P_LIT: the code point; P_PERL: d s w D S W */
    size_t s, e;   /* span */
    char text[96]; /* P_UNICODE / P_ASSERT: the PCRE2 spelling */
    bool neg;
    bool byte; /* written \xHH: a byte in (?-u) mode (ast Literal::byte) */
};

static bool unicode_prop(struct rxp *r, struct prim *pr, size_t start);

static bool parse_hex(struct rxp *r, struct prim *pr, size_t start)
{
    uint32_t kind = ch(r);
    int digits = kind == 'x' ? 2 : kind == 'u' ? 4 : 8;
    if (!bump_and_bump_space(r))
        return fail(r, E_ESCAPE_EOF, r->pos, r->pos);
    uint32_t v = 0;
    if (ch(r) == '{') {
        size_t brace = r->pos;
        size_t hs = next_pos(r);
        size_t nd = 0;
        bool big = false;
        while (bump_and_bump_space(r) && ch(r) != '}') {
            if (!is_hexc(ch(r)))
                return fail(r, E_HEX_INVALID_DIGIT, r->pos, next_pos(r));
            uint32_t d = ch(r);
            uint32_t dv = d <= '9' ? d - '0' : (d | 0x20) - 'a' + 10;
            if (v > 0x10FFFF)
                big = true;
            else
                v = v * 16 + dv;
            nd++;
        }
        if (eof(r))
            return fail(r, E_ESCAPE_EOF, brace, r->pos);
        size_t he = r->pos;
        bump_and_bump_space(r);
        if (nd == 0)
            return fail(r, E_HEX_EMPTY, brace, r->pos);
        if (big || nd > 8 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            return fail(r, E_HEX_INVALID, hs, he);
    } else {
        size_t hs = r->pos;
        for (int i = 0; i < digits; i++) {
            if (i > 0 && !bump_and_bump_space(r))
                return fail(r, E_ESCAPE_EOF, r->pos, r->pos);
            if (!is_hexc(ch(r)))
                return fail(r, E_HEX_INVALID_DIGIT, r->pos, next_pos(r));
            uint32_t d = ch(r);
            v = v * 16 + (d <= '9' ? d - '0' : (d | 0x20) - 'a' + 10);
        }
        bump_and_bump_space(r);
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            return fail(r, E_HEX_INVALID, hs, r->pos);
        pr->byte = digits == 2;
    }
    pr->k = P_LIT;
    pr->c = v;
    pr->s = start;
    pr->e = r->pos;
    return true;
}

/* parse.rs maybe_parse_special_word_boundary; returns 1 parsed, 0 not one (position kept at
 * the '{'), -1 error */
static int special_wb(struct rxp *r, struct prim *pr, size_t wb_start)
{
    size_t start = r->pos;
    if (!bump_and_bump_space(r)) {
        fail(r, E_SWB_OR_REP_EOF, wb_start, r->pos);
        return -1;
    }
    size_t cstart = r->pos;
    uint32_t c = ch(r);
    bool valid = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-';
    if (!valid) {
        r->pos = start;
        return 0;
    }
    char name[16];
    size_t nn = 0;
    bool longname = false;
    while (!eof(r)) {
        c = ch(r);
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-'))
            break;
        if (nn < sizeof(name) - 1)
            name[nn++] = (char)c;
        else
            longname = true;
        bump_and_bump_space(r);
    }
    name[nn] = '\0';
    if (eof(r) || ch(r) != '}') {
        fail(r, E_SWB_UNCLOSED, start, r->pos);
        return -1;
    }
    size_t end = r->pos;
    bump(r);
    const char *t = NULL;
    if (!longname) {
        if (!strcmp(name, "start"))
            t = "\\b(?=\\w)";
        else if (!strcmp(name, "end"))
            t = "\\b(?<=\\w)";
        else if (!strcmp(name, "start-half"))
            t = "(?<!\\w)";
        else if (!strcmp(name, "end-half"))
            t = "(?!\\w)";
    }
    if (!t) {
        fail(r, E_SWB_UNRECOGNIZED, cstart, end);
        return -1;
    }
    snprintf(pr->text, sizeof(pr->text), "%s", t);
    pr->e = r->pos;
    return 1;
}

/* The escapes that stand for one control character, and their code points. */
static const struct {
    char esc;
    uint32_t c;
} CTRL_ESCAPES[] = {{'a', 7}, {'f', 12}, {'t', 9}, {'n', 10}, {'r', 13}, {'v', 11}};

/* The zero-width assertions written as one escape (\b aside), and their PCRE2 spelling. */
static const struct {
    char esc;
    const char *text;
} ASSERT_ESCAPES[] = {
    {'A', "\\A"}, {'z', "\\z"}, {'B', "\\B"}, {'<', "\\b(?=\\w)"}, {'>', "\\b(?<=\\w)"},
};

static bool parse_escape(struct rxp *r, struct prim *pr)
{
    size_t start = r->pos;
    memset(pr, 0, sizeof(*pr));
    pr->s = start;
    if (!bump(r))
        return fail(r, E_ESCAPE_EOF, start, r->pos);
    uint32_t c = ch(r);
    if (c >= '0' && c <= '9') /* octal is off by default: parse.rs:1490-1506 */
        return fail(r, E_BACKREF, start, next_pos(r));
    if (c == 'x' || c == 'u' || c == 'U')
        return parse_hex(r, pr, start);
    if (c == 'p' || c == 'P')
        return unicode_prop(r, pr, start);
    if (c == 'd' || c == 's' || c == 'w' || c == 'D' || c == 'S' || c == 'W') {
        bump(r);
        pr->k = P_PERL;
        pr->c = c;
        pr->e = r->pos;
        return true;
    }
    bump(r);
    pr->e = r->pos;
    if (is_meta(c) || is_escapeable(c)) {
        pr->k = P_LIT;
        pr->c = c;
        return true;
    }
    pr->k = P_LIT;
    for (size_t i = 0; i < sizeof(CTRL_ESCAPES) / sizeof(CTRL_ESCAPES[0]); i++) {
        if (c == (uint32_t)CTRL_ESCAPES[i].esc) {
            pr->c = CTRL_ESCAPES[i].c;
            return true;
        }
    }
    pr->k = P_ASSERT;
    for (size_t i = 0; i < sizeof(ASSERT_ESCAPES) / sizeof(ASSERT_ESCAPES[0]); i++) {
        if (c == (uint32_t)ASSERT_ESCAPES[i].esc) {
            snprintf(pr->text, sizeof(pr->text), "%s", ASSERT_ESCAPES[i].text);
            return true;
        }
    }
    if (c == 'b') {
        snprintf(pr->text, sizeof(pr->text), "\\b");
        if (!eof(r) && ch(r) == '{') {
            int k = special_wb(r, pr, start);
            if (k < 0)
                return false;
        }
        return true;
    }
    return fail(r, E_ESCAPE_UNRECOGNIZED, start, r->pos);
}

/* loose property-name normalisation (UAX44-LM3): lower case, no ' ', '_', '-' */
static void loose(const char *in, size_t n, char *out, size_t outsz)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < outsz; i++) {
        char c = in[i];
        if (c == ' ' || c == '_' || c == '-')
            continue;
        out[k++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    out[k] = '\0';
}

/* General_Category long names (UCD PropertyValueAliases.txt), which Rust accepts and PCRE2 10.42
 * does not, by their loose-matched form; plus Rust's special "assigned" */
static const char *gc_short(const char *loose_name)
{
    static const char *const t[][2] = {
        {"letter", "L"},
        {"casedletter", "L&"},
        {"uppercaseletter", "Lu"},
        {"lowercaseletter", "Ll"},
        {"titlecaseletter", "Lt"},
        {"modifierletter", "Lm"},
        {"otherletter", "Lo"},
        {"mark", "M"},
        {"combiningmark", "M"},
        {"nonspacingmark", "Mn"},
        {"spacingmark", "Mc"},
        {"enclosingmark", "Me"},
        {"number", "N"},
        {"decimalnumber", "Nd"},
        {"digit", "Nd"},
        {"letternumber", "Nl"},
        {"othernumber", "No"},
        {"punctuation", "P"},
        {"punct", "P"},
        {"connectorpunctuation", "Pc"},
        {"dashpunctuation", "Pd"},
        {"openpunctuation", "Ps"},
        {"closepunctuation", "Pe"},
        {"initialpunctuation", "Pi"},
        {"finalpunctuation", "Pf"},
        {"otherpunctuation", "Po"},
        {"symbol", "S"},
        {"mathsymbol", "Sm"},
        {"currencysymbol", "Sc"},
        {"modifiersymbol", "Sk"},
        {"othersymbol", "So"},
        {"separator", "Z"},
        {"spaceseparator", "Zs"},
        {"lineseparator", "Zl"},
        {"paragraphseparator", "Zp"},
        {"other", "C"},
        {"control", "Cc"},
        {"cntrl", "Cc"},
        {"format", "Cf"},
        {"surrogate", "Cs"},
        {"privateuse", "Co"},
        {"unassigned", "Cn"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(t[i][0], loose_name))
            return t[i][1];
    return NULL;
}

/* does PCRE2 know \p{text}? */
static bool pcre_has_prop(const char *text)
{
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                                   &ec, &eo, NULL);
    if (!re)
        return false;
    pcre2_code_free(re);
    return true;
}

/* parse.rs parse_unicode_class, spelled for PCRE2 (sc=/scx=/gc= forms mapped; other names are
 * handed to PCRE2 and refused as "Unicode property not found" when it does not know them) */
static bool unicode_prop(struct rxp *r, struct prim *pr, size_t start)
{
    bool neg = ch(r) == 'P';
    if (!bump_and_bump_space(r))
        return fail(r, E_ESCAPE_EOF, r->pos, r->pos);
    char name[64], value[64];
    size_t nn = 0;
    bool named = false;
    if (ch(r) == '{') {
        named = true;
        char raw[128];
        size_t nr = 0;
        while (bump_and_bump_space(r) && ch(r) != '}') {
            size_t w;
            (void)cp_at(r, r->pos, &w);
            for (size_t k = 0; k < w && nr + 1 < sizeof(raw); k++)
                raw[nr++] = r->p[r->pos + k];
        }
        if (eof(r))
            return fail(r, E_ESCAPE_EOF, r->pos, r->pos);
        bump(r);
        raw[nr] = '\0';
        /* NamedValue forms: "!=", ':', '=' (parse.rs:2190-2225) */
        char *op = strstr(raw, "!=");
        size_t oplen = 2;
        if (!op) {
            op = strchr(raw, ':');
            oplen = 1;
        }
        if (!op) {
            op = strchr(raw, '=');
            oplen = 1;
        }
        if (op) {
            if (op[0] == '!')
                neg = !neg;
            loose(raw, (size_t)(op - raw), name, sizeof(name));
            loose(op + oplen, strlen(op + oplen), value, sizeof(value));
            nn = 1;
        } else {
            loose(raw, nr, name, sizeof(name));
            value[0] = '\0';
        }
    } else {
        uint32_t c = ch(r);
        if (c == '\\')
            return fail(r, E_UNICODE_CLASS_INVALID, r->pos, next_pos(r));
        size_t w;
        (void)cp_at(r, r->pos, &w);
        size_t k = w < sizeof(name) - 1 ? w : sizeof(name) - 1;
        memcpy(name, r->p + r->pos, k);
        name[k] = '\0';
        value[0] = '\0';
        bump_and_bump_space(r);
    }
    (void)named;
    pr->k = P_UNICODE;
    pr->s = start;
    pr->e = r->pos;
    pr->neg = neg;
    if (!r->uni)
        defer(r, E_UNICODE_NOT_ALLOWED, start, r->pos);
    char spelled[80];
    if (nn) {
        if (!strcmp(name, "sc") || !strcmp(name, "script"))
            snprintf(spelled, sizeof(spelled), "sc:%s", value);
        else if (!strcmp(name, "scx") || !strcmp(name, "scriptextensions"))
            snprintf(spelled, sizeof(spelled), "scx:%s", value);
        else if (!strcmp(name, "gc") || !strcmp(name, "generalcategory"))
            snprintf(spelled, sizeof(spelled), "%s", gc_short(value) ? gc_short(value) : value);
        else
            snprintf(spelled, sizeof(spelled), "%s:%s", name, value);
    } else if (!strcmp(name, "any"))
        snprintf(spelled, sizeof(spelled), "Any");
    else if (!strcmp(name, "assigned")) {
        snprintf(spelled, sizeof(spelled), "Cn");
        neg = !neg;
    } else if (gc_short(name))
        snprintf(spelled, sizeof(spelled), "%s", gc_short(name));
    else
        snprintf(spelled, sizeof(spelled), "%s", name);
    snprintf(pr->text, sizeof(pr->text), "\\%c{%s}", neg ? 'P' : 'p', spelled);
    if (!pcre_has_prop(pr->text))
        defer(r, E_UNICODE_PROPERTY_NOT_FOUND, start, r->pos);
    return true;
}

/* a Perl class for PCRE2 (PCRE2_UCP makes \d \s \w Unicode, as Rust's are); in (?-u) mode
 * the ASCII sets, the negated ones refused (they could match invalid UTF-8) */
static bool emit_perl(struct rxp *r, struct kf_buf *o, const struct prim *pr, bool in_class)
{
    if (r->uni) {
        ob_printf(o, "\\%c", (char)pr->c);
        return true;
    }
    const char *set = pr->c == 'd' ? "0-9" : pr->c == 'w' ? "0-9A-Za-z_" : "\\t\\n\\x0B\\f\\r ";
    if (pr->c == 'D' || pr->c == 'W' || pr->c == 'S') {
        /* translate.rs hir_perl_byte_class: a negated ASCII class could match invalid UTF-8 */
        defer(r, E_INVALID_UTF8, pr->s, pr->e);
        return true;
    }
    ob_printf(o, in_class ? "%s" : "[%s]", set);
    return true;
}

/* ---- classes (parse.rs parse_set_class and friends) ---------------------------------------- */

/* A parsed bracket: simple (a PCRE2 class body in s, negated by neg) or complex (a one-character
 * PCRE2 expression in s). */
struct cls {
    bool simple, neg, empty;
    struct kf_buf s;
};

static void cls_free(struct cls *c)
{
    free(c->s.p);
    memset(c, 0, sizeof(*c));
}

/* renders c as a one-character PCRE2 expression */
static void cls_expr(struct kf_buf *o, const struct cls *c)
{
    if (!c->simple) {
        kf_buf_putn(o, c->s.p ? c->s.p : "", c->s.n);
        return;
    }
    if (c->empty) {
        kf_buf_puts(o, c->neg ? "(?s:.)" : "(?!)");
        return;
    }
    kf_buf_puts(o, c->neg ? "[^" : "[");
    kf_buf_putn(o, c->s.p ? c->s.p : "", c->s.n);
    kf_buf_puts(o, "]");
}

/* POSIX classes as regex-syntax defines them (ASCII only): src/ast/mod.rs ClassAsciiKind */
static const char *ascii_class(const char *name, size_t n)
{
    static const struct {
        const char *name, *set;
    } t[] = {
        {"alnum", "0-9A-Za-z"},
        {"alpha", "A-Za-z"},
        {"ascii", "\\x{0}-\\x{7f}"},
        {"blank", "\\t "},
        {"cntrl", "\\x{0}-\\x{1f}\\x{7f}"},
        {"digit", "0-9"},
        {"graph", "!-~"},
        {"lower", "a-z"},
        {"print", " -~"},
        {"punct", "!-\\/:-@\\[-`{-~"},
        {"space", "\\t\\n\\x{b}\\f\\r "},
        {"upper", "A-Z"},
        {"word", "0-9A-Za-z_"},
        {"xdigit", "0-9A-Fa-f"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strlen(t[i].name) == n && memcmp(t[i].name, name, n) == 0)
            return t[i].set;
    return NULL;
}

/* parse.rs maybe_parse_ascii_class: "[:name:]" / "[:^name:]" or nothing (position kept) */
static bool try_ascii_class(struct rxp *r, struct kf_buf *simple, struct kf_buf *complex)
{
    size_t start = r->pos;
    if (!bump(r) || ch(r) != ':') {
        r->pos = start;
        return false;
    }
    if (!bump(r)) {
        r->pos = start;
        return false;
    }
    bool neg = false;
    if (ch(r) == '^') {
        neg = true;
        if (!bump(r)) {
            r->pos = start;
            return false;
        }
    }
    size_t ns = r->pos;
    while (ch(r) != ':' && bump(r))
        ;
    if (eof(r)) {
        r->pos = start;
        return false;
    }
    size_t ne = r->pos;
    if (!bump_if(r, ":]")) {
        r->pos = start;
        return false;
    }
    const char *set = ascii_class(r->p + ns, ne - ns);
    if (!set) {
        r->pos = start;
        return false;
    }
    if (!neg)
        kf_buf_puts(simple, set);
    else {
        if (complex->n)
            kf_buf_puts(complex, "|");
        ob_printf(complex, "[^%s]", set);
    }
    return true;
}

struct union_st {
    bool nonascii;         /* (?-u): a \xHH byte above 0x7F is in the class */
    struct kf_buf simple;  /* class body items */
    struct kf_buf complex; /* '|'-separated one-char expressions */
    bool any;              /* at least one item */
};

/* the union as a struct cls */
static void union_to_cls(struct union_st *u, struct cls *out)
{
    memset(out, 0, sizeof(*out));
    if (!u->any || (u->simple.n == 0 && u->complex.n == 0)) {
        out->simple = true;
        out->empty = true;
        return;
    }
    if (u->complex.n == 0) {
        out->simple = true;
        out->s = u->simple;
        memset(&u->simple, 0, sizeof(u->simple));
        return;
    }
    kf_buf_puts(&out->s, "(?:");
    if (u->simple.n) {
        kf_buf_puts(&out->s, "[");
        kf_buf_putn(&out->s, u->simple.p, u->simple.n);
        kf_buf_puts(&out->s, "]|");
    }
    kf_buf_putn(&out->s, u->complex.p, u->complex.n);
    kf_buf_puts(&out->s, ")");
}

static void union_free(struct union_st *u)
{
    free(u->simple.p);
    free(u->complex.p);
    memset(u, 0, sizeof(*u));
}

/* lhs OP rhs for &&, --, ~~ as look-ahead expressions */
static bool cls_op(struct cls *lhs, char op, struct cls *rhs)
{
    struct kf_buf a = {0}, b = {0}, o = {0};
    cls_expr(&a, lhs);
    cls_expr(&b, rhs);
    if (a.n + b.n > RX_MAX_OUT / 2 || a.oom || b.oom) {
        free(a.p);
        free(b.p);
        cls_free(rhs);
        return false;
    }
    const char *A = a.p ? a.p : "", *B = b.p ? b.p : "";
    if (op == '&') { /* intersection: in A and in B */
        kf_buf_puts(&o, "(?:(?=");
        kf_buf_puts(&o, A);
        kf_buf_puts(&o, ")");
        kf_buf_puts(&o, B);
        kf_buf_puts(&o, ")");
    } else if (op == '-') { /* difference: in A, not in B */
        kf_buf_puts(&o, "(?:(?!");
        kf_buf_puts(&o, B);
        kf_buf_puts(&o, ")");
        kf_buf_puts(&o, A);
        kf_buf_puts(&o, ")");
    } else { /* symmetric difference */
        kf_buf_puts(&o, "(?:(?!");
        kf_buf_puts(&o, B);
        kf_buf_puts(&o, ")");
        kf_buf_puts(&o, A);
        kf_buf_puts(&o, "|(?!");
        kf_buf_puts(&o, A);
        kf_buf_puts(&o, ")");
        kf_buf_puts(&o, B);
        kf_buf_puts(&o, ")");
    }
    free(a.p);
    free(b.p);
    cls_free(lhs);
    cls_free(rhs);
    lhs->simple = false;
    lhs->s = o;
    return true;
}

static bool parse_class(struct rxp *r, struct cls *out, size_t depth);

/* one item or range (parse.rs parse_set_class_range + parse_set_class_item) */
static bool class_range(struct rxp *r, struct union_st *u)
{
    struct prim a, b;
    if (ch(r) == '\\') {
        if (!parse_escape(r, &a))
            return false;
    } else {
        memset(&a, 0, sizeof(a));
        a.k = P_LIT;
        a.c = ch(r);
        a.s = r->pos;
        bump(r);
        a.e = r->pos;
    }
    bump_space(r);
    if (eof(r))
        return false; /* the caller reports the unclosed class */
    uint32_t pk = peek_space(r);
    if (ch(r) != '-' || pk == ']' || pk == '-') {
        u->any = true;
        switch (a.k) {
        case P_LIT:
            /* translate.rs class_literal_byte: Unicode chars cannot sit in a byte class, a \xHH
             * byte above 0x7F makes the class non-ASCII (refused at the class, see below) */
            if (!r->uni && a.c >= 0x80 && !a.byte)
                defer(r, E_UNICODE_NOT_ALLOWED, a.s, a.e);
            else if (!r->uni && a.c >= 0x80)
                u->nonascii = true;
            emit_lit(&u->simple, a.c);
            return true;
        case P_PERL:
            return emit_perl(r, &u->simple, &a, true);
        case P_UNICODE:
            kf_buf_puts(&u->simple, a.text);
            return true;
        case P_ASSERT:
            return fail(r, E_CLASS_ESCAPE_INVALID, a.s, a.e);
        }
        return true;
    }
    if (!bump_and_bump_space(r))
        return false;
    if (ch(r) == '\\') {
        if (!parse_escape(r, &b))
            return false;
    } else {
        memset(&b, 0, sizeof(b));
        b.k = P_LIT;
        b.c = ch(r);
        b.s = r->pos;
        bump(r);
        b.e = r->pos;
    }
    /* parse.rs parse_set_class_range: both ends go through into_class_literal */
    if (a.k != P_LIT)
        return fail(r, E_CLASS_RANGE_LITERAL, a.s, a.e);
    if (b.k != P_LIT)
        return fail(r, E_CLASS_RANGE_LITERAL, b.s, b.e);
    if (a.c > b.c)
        return fail(r, E_CLASS_RANGE_INVALID, a.s, b.e);
    if (!r->uni) {
        if (a.c >= 0x80 && !a.byte)
            defer(r, E_UNICODE_NOT_ALLOWED, a.s, a.e);
        else if (b.c >= 0x80 && !b.byte)
            defer(r, E_UNICODE_NOT_ALLOWED, b.s, b.e);
        else if (b.c >= 0x80)
            u->nonascii = true;
    }
    u->any = true;
    emit_lit(&u->simple, a.c);
    kf_buf_puts(&u->simple, "-");
    emit_lit(&u->simple, b.c);
    return true;
}

/* A class operand (the union u) ends: it becomes a class, combined into *lhs as lhs op operand
 * (op set) or alone (op 0); false (lhs freed) when the combination is too big. */
static bool operand_end(struct union_st *u, char op, struct cls *lhs, bool *nonascii)
{
    *nonascii = *nonascii || u->nonascii;
    struct cls cur;
    union_to_cls(u, &cur);
    union_free(u);
    if (!op) {
        *lhs = cur;
        return true;
    }
    if (!cls_op(lhs, op, &cur)) {
        cls_free(lhs);
        return false;
    }
    return true;
}

/* parse.rs parse_set_class_open + the loop of parse_set_class for one bracket */
static bool parse_class(struct rxp *r, struct cls *out, size_t depth)
{
    size_t start = r->pos;
    memset(out, 0, sizeof(*out));
    if (depth > RX_NEST_LIMIT)
        return fail(r, E_NEST_LIMIT, start, next_pos(r));
    if (!bump_and_bump_space(r))
        return fail(r, E_CLASS_UNCLOSED, start, r->pos);
    bool neg = false;
    if (ch(r) == '^') {
        if (!bump_and_bump_space(r))
            return fail(r, E_CLASS_UNCLOSED, start, r->pos);
        neg = true;
    }
    struct union_st u = {0};
    while (ch(r) == '-') {
        u.any = true;
        kf_buf_puts(&u.simple, "\\-");
        if (!bump_and_bump_space(r)) {
            union_free(&u);
            return fail(r, E_CLASS_UNCLOSED, start, start);
        }
    }
    if (!u.any && ch(r) == ']') {
        u.any = true;
        kf_buf_puts(&u.simple, "\\]");
        if (!bump_and_bump_space(r)) {
            union_free(&u);
            return fail(r, E_CLASS_UNCLOSED, start, r->pos);
        }
    }
    size_t open_end = r->pos; /* the class's span for "unclosed" is [start, open_end) */
    bool nonascii = false;
    struct cls lhs = {0};
    char op = 0;
    for (;;) {
        bump_space(r);
        if (eof(r)) {
            union_free(&u);
            cls_free(&lhs);
            if (r->ek == E_NONE)
                fail(r, E_CLASS_UNCLOSED, start, open_end);
            return false;
        }
        uint32_t c = ch(r);
        if (c == '[') {
            if (try_ascii_class(r, &u.simple, &u.complex)) {
                u.any = true;
                continue;
            }
            struct cls nested;
            if (!parse_class(r, &nested, depth + 1)) {
                union_free(&u);
                cls_free(&lhs);
                return false;
            }
            u.any = true;
            if (nested.simple && !nested.neg && !nested.empty)
                kf_buf_putn(&u.simple, nested.s.p ? nested.s.p : "", nested.s.n);
            else {
                if (u.complex.n)
                    kf_buf_puts(&u.complex, "|");
                cls_expr(&u.complex, &nested);
            }
            cls_free(&nested);
            continue;
        }
        if (c == ']') {
            bump(r);
            if (!operand_end(&u, op, &lhs, &nonascii))
                return fail(r, E_TOO_BIG, start, r->pos);
            *out = lhs;
            if (neg) {
                if (out->simple)
                    out->neg = !out->neg;
                else {
                    struct kf_buf o = {0};
                    kf_buf_puts(&o, "(?:(?!");
                    kf_buf_putn(&o, out->s.p ? out->s.p : "", out->s.n);
                    kf_buf_puts(&o, ")(?s:.))");
                    free(out->s.p);
                    out->s = o;
                }
            }
            /* translate.rs bytes_fold_and_negate: a byte class that is not all ASCII */
            if (!r->uni && ((out->simple && out->neg) || nonascii))
                defer(r, E_INVALID_UTF8, start, r->pos);
            return true;
        }
        if ((c == '&' || c == '-' || c == '~') && peek_space(r) == c &&
            starts(r, c == '&'   ? "&&"
                      : c == '-' ? "--"
                                 : "~~")) {
            r->pos += 2;
            if (!operand_end(&u, op, &lhs, &nonascii))
                return fail(r, E_TOO_BIG, start, r->pos);
            op = (char)c;
            continue;
        }
        if (!class_range(r, &u)) {
            union_free(&u);
            cls_free(&lhs);
            if (r->ek == E_NONE)
                fail(r, E_CLASS_UNCLOSED, start, open_end);
            return false;
        }
    }
}

/* ---- the main loop (parse.rs parse_with_comments) ------------------------------------------- */

static bool push_frame(struct rxp *r, const struct gframe *f)
{
    if (r->nst == r->cst) {
        size_t nc = r->cst ? r->cst * 2 : 8;
        struct gframe *ns = realloc(r->st, nc * sizeof(*ns));
        if (!ns) {
            r->out.oom = true;
            return false;
        }
        r->st = ns;
        r->cst = nc;
    }
    r->st[r->nst++] = *f;
    return true;
}

/* a repetition applies to the last item: Rust repeats whatever came before (even another
 * repetition or an assertion), so such items are grouped for PCRE2 */
static bool prepare_repeat(struct rxp *r)
{
    if (r->last_kind == K_NONE || r->last_kind == K_FLAGS)
        return fail(r, E_REP_MISSING, r->pos, r->pos);
    if (r->last_kind == K_REP || r->last_kind == K_ASSERT) {
        r->wraps++;
        kf_buf_puts(&r->out, ")");
    }
    return true;
}

/* inserts the pending "(?:" of repeated repetitions in one move, so a*+*+... stays linear */
static void flush_wraps(struct rxp *r)
{
    if (!r->wraps)
        return;
    size_t k = r->wraps * 3;
    char *t = malloc(k + 1);
    if (!t) {
        r->out.oom = true;
        return;
    }
    for (size_t i = 0; i < r->wraps; i++)
        memcpy(t + 3 * i, "(?:", 3);
    t[k] = '\0';
    ob_insert(&r->out, (size_t)r->last_at, t);
    free(t);
    r->wraps = 0;
}

static bool is_capture_char(uint32_t c, bool first)
{
    /* parse.rs:111 is_capture_char; non-ASCII letters accepted as alphabetic */
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
    if (first)
        return c == '_' || alpha;
    return c == '_' || c == '.' || c == '[' || c == ']' || alpha || (c >= '0' && c <= '9');
}

static bool add_name(struct rxp *r, size_t s, size_t e)
{
    for (uint32_t g = 1; g + 1 < r->ngroups; g++)
        if (r->names[g] && strlen(r->names[g]) == e - s &&
            memcmp(r->names[g], r->p + s, e - s) == 0) {
            /* parse.rs add_capture_name: the first use is the auxiliary span */
            r->aux = true;
            r->as = r->name_at[g];
            r->ae = r->name_at[g] + (e - s);
            return fail(r, E_GROUP_NAME_DUP, s, e);
        }
    char *nm = malloc(e - s + 1);
    if (!nm) {
        r->out.oom = true;
        return false;
    }
    memcpy(nm, r->p + s, e - s);
    nm[e - s] = '\0';
    r->names[r->ngroups - 1] = nm; /* the group new_group_slot just numbered */
    r->name_at[r->ngroups - 1] = s;
    return true;
}

static bool new_group_slot(struct rxp *r)
{
    if (r->ngroups + 1 >= r->cnames) {
        size_t nc = r->cnames ? r->cnames * 2 : 8;
        char **nn = realloc(r->names, nc * sizeof(*nn));
        if (!nn) {
            r->out.oom = true;
            return false;
        }
        for (size_t i = r->cnames; i < nc; i++)
            nn[i] = NULL;
        r->names = nn;
        size_t *na = realloc(r->name_at, nc * sizeof(*na));
        if (!na) {
            r->out.oom = true;
            return false;
        }
        r->name_at = na;
        r->cnames = nc;
    }
    r->ngroups++;
    return true;
}

/* parse.rs parse_flags; fills on/off with the PCRE2 letters, updates ws/uni for the scope */
static bool parse_flags(struct rxp *r, char *on, char *off, int *nitems, bool *ws, bool *uni,
                        bool *multi)
{
    size_t seen_pos[128];
    bool seen[128] = {0};
    bool negated = false, last_neg = false;
    size_t neg_pos = 0, last_neg_pos = 0;
    size_t non = 0, noff = 0;
    *nitems = 0;
    while (ch(r) != ':' && ch(r) != ')') {
        uint32_t c = ch(r);
        if (c == '-') {
            if (negated) {
                r->aux = true;
                r->as = neg_pos;
                r->ae = neg_pos + 1;
                return fail(r, E_FLAG_REPEATED_NEG, r->pos, next_pos(r));
            }
            negated = true;
            neg_pos = r->pos;
            last_neg = true;
            last_neg_pos = r->pos;
        } else {
            last_neg = false;
            if (!(c == 'i' || c == 'm' || c == 's' || c == 'U' || c == 'u' || c == 'R' || c == 'x'))
                return fail(r, E_FLAG_UNRECOGNIZED, r->pos, next_pos(r));
            if (seen[c]) {
                r->aux = true;
                r->as = seen_pos[c];
                r->ae = seen_pos[c] + 1;
                return fail(r, E_FLAG_DUPLICATE, r->pos, next_pos(r));
            }
            seen[c] = true;
            seen_pos[c] = r->pos;
            if (c == 'm')
                *multi = !negated;
            if (c == 'x')
                *ws = !negated;
            else if (c == 'u')
                *uni = !negated;
            else if (c != 'R') { /* CRLF mode is not modelled */
                if (negated)
                    off[noff++] = (char)c;
                else
                    on[non++] = (char)c;
            }
        }
        (*nitems)++;
        if (!bump(r))
            return fail(r, E_FLAG_EOF, r->pos, r->pos);
    }
    if (last_neg)
        return fail(r, E_FLAG_DANGLING_NEG, last_neg_pos, last_neg_pos + 1);
    on[non] = '\0';
    off[noff] = '\0';
    return true;
}

static void emit_flags(struct kf_buf *o, const char *on, const char *off, bool group)
{
    if (!*on && !*off) {
        if (group)
            kf_buf_puts(o, "(?:");
        return;
    }
    kf_buf_puts(o, "(?");
    kf_buf_puts(o, on);
    if (*off) {
        kf_buf_puts(o, "-");
        kf_buf_puts(o, off);
    }
    kf_buf_puts(o, group ? ":" : ")");
}

static bool parse_group(struct rxp *r)
{
    size_t open = r->pos;
    size_t open_end = next_pos(r);
    bump(r);
    bump_space(r);
    if (bump_if(r, "?=") || bump_if(r, "?!") || bump_if(r, "?<=") || bump_if(r, "?<!"))
        return fail(r, E_LOOKAROUND, open, r->pos);
    if (r->nst + r->nest >= RX_NEST_LIMIT)
        return fail(r, E_NEST_LIMIT, open, open_end);
    size_t inner = r->pos;
    struct gframe f = {.open = open,
                       .out_at = r->out.n,
                       .ws = r->ws,
                       .uni = r->uni,
                       .multi = r->multi,
                       .last_at = r->last_at,
                       .last_kind = r->last_kind};
    if (bump_if(r, "?P<") || bump_if(r, "?<")) {
        if (!new_group_slot(r))
            return false;
        if (eof(r))
            return fail(r, E_GROUP_NAME_EOF, r->pos, r->pos);
        size_t ns = r->pos;
        for (;;) {
            if (ch(r) == '>')
                break;
            if (!is_capture_char(ch(r), r->pos == ns))
                return fail(r, E_GROUP_NAME_INVALID, r->pos, next_pos(r));
            if (!bump(r))
                break;
        }
        size_t ne = r->pos;
        if (eof(r))
            return fail(r, E_GROUP_NAME_EOF, r->pos, r->pos);
        bump(r);
        if (ne == ns)
            return fail(r, E_GROUP_NAME_EMPTY, ns, ns);
        if (!add_name(r, ns, ne))
            return false;
        kf_buf_puts(&r->out, "(");
    } else if (bump_if(r, "?")) {
        if (eof(r))
            return fail(r, E_GROUP_UNCLOSED, open, open_end);
        char on[16], off[16];
        int nitems;
        bool ws = r->ws, uni = r->uni, multi = r->multi;
        if (!parse_flags(r, on, off, &nitems, &ws, &uni, &multi))
            return false;
        uint32_t end = ch(r);
        bump(r);
        if (end == ')') {
            if (nitems == 0)
                return fail(r, E_REP_MISSING, inner, inner);
            /* set flags: they last to the end of the enclosing group */
            r->ws = ws;
            r->uni = uni;
            r->multi = multi;
            emit_flags(&r->out, on, off, false);
            r->last_kind = K_FLAGS;
            return true;
        }
        emit_flags(&r->out, on, off, true);
        if (!push_frame(r, &f))
            return false;
        r->ws = ws;
        r->uni = uni;
        r->multi = multi;
        r->last_kind = K_NONE;
        r->last_at = -1;
        return true;
    } else {
        if (!new_group_slot(r))
            return false;
        kf_buf_puts(&r->out, "(");
    }
    if (!push_frame(r, &f))
        return false;
    r->last_kind = K_NONE;
    r->last_at = -1;
    return true;
}

/* the counted repetition {m}, {m,}, {m,n} (parse.rs parse_counted_repetition) */
static bool parse_decimal(struct rxp *r, uint64_t *v, size_t *ds, size_t *de)
{
    while (!eof(r) && is_ws(ch(r)))
        bump(r);
    *ds = r->pos;
    size_t nd = 0;
    uint64_t x = 0;
    bool big = false;
    while (!eof(r) && ch(r) >= '0' && ch(r) <= '9') {
        x = x * 10 + (ch(r) - '0');
        if (x > UINT32_MAX)
            big = true, x = UINT32_MAX + 1ULL;
        nd++;
        bump_and_bump_space(r);
    }
    *de = r->pos;
    while (!eof(r) && is_ws(ch(r)))
        bump_and_bump_space(r);
    if (nd == 0)
        return fail(r, E_REP_COUNT_DECIMAL_EMPTY, *ds, *de);
    if (big)
        return fail(r, E_DECIMAL_INVALID, *ds, *de);
    *v = x;
    return true;
}

static bool counted_repetition(struct rxp *r)
{
    size_t start = r->pos;
    if (r->last_kind == K_NONE || r->last_kind == K_FLAGS)
        return fail(r, E_REP_MISSING, r->pos, r->pos);
    if (!bump_and_bump_space(r))
        return fail(r, E_REP_COUNT_UNCLOSED, start, r->pos);
    uint64_t lo = 0, hi = 0;
    size_t ds, de;
    bool have_lo = parse_decimal(r, &lo, &ds, &de);
    enum ekind lo_err = r->ek;
    size_t les = r->es, lee = r->ee;
    if (!have_lo)
        r->ek = E_NONE; /* decided below, as parse.rs does */
    if (eof(r))
        return fail(r, E_REP_COUNT_UNCLOSED, start, r->pos);
    int form; /* 0 exactly, 1 at least, 2 bounded */
    if (ch(r) == ',') {
        if (!bump_and_bump_space(r))
            return fail(r, E_REP_COUNT_UNCLOSED, start, r->pos);
        if (ch(r) != '}') {
            if (!have_lo)
                return fail(r, lo_err, les, lee);
            if (!parse_decimal(r, &hi, &ds, &de))
                return false;
            form = 2;
        } else {
            if (!have_lo)
                return fail(r, lo_err, les, lee);
            form = 1;
        }
    } else {
        if (!have_lo)
            return fail(r, lo_err, les, lee);
        form = 0;
    }
    if (eof(r) || ch(r) != '}')
        return fail(r, E_REP_COUNT_UNCLOSED, start, r->pos);
    bool lazy = false;
    if (bump_and_bump_space(r) && ch(r) == '?') {
        lazy = true;
        bump(r);
    }
    if (form == 2 && lo > hi)
        return fail(r, E_REP_COUNT_INVALID, start, r->pos);
    if (lo > RX_MAX_REPEAT || hi > RX_MAX_REPEAT) {
        defer(r, E_TOO_BIG, start, r->pos);
        lo = hi = 0;
    }
    if (r->last_kind == K_REP || r->last_kind == K_ASSERT) {
        r->wraps++;
        kf_buf_puts(&r->out, ")");
    }
    if (form == 0)
        ob_printf(&r->out, "{%llu}", (unsigned long long)lo);
    else if (form == 1)
        ob_printf(&r->out, "{%llu,}", (unsigned long long)lo);
    else
        ob_printf(&r->out, "{%llu,%llu}", (unsigned long long)lo, (unsigned long long)hi);
    if (lazy)
        kf_buf_puts(&r->out, "?");
    r->last_kind = K_REP;
    return true;
}

static bool translate(struct rxp *r)
{
    r->uni = true;
    r->last_at = -1;
    r->last_kind = K_NONE;
    if (!new_group_slot(r)) /* slot 0: the whole match */
        return false;
    for (;;) {
        bump_space(r);
        if (eof(r))
            break;
        if (r->out.oom)
            return false;
        if (r->out.n > RX_MAX_OUT)
            return fail(r, E_TOO_BIG, 0, r->n);
        uint32_t c = ch(r);
        if (c != '?' && c != '*' && c != '+' && c != '{')
            flush_wraps(r);
        size_t at = r->out.n;
        switch (c) {
        case '(':
            if (!parse_group(r))
                return false;
            break;
        case ')': {
            if (r->nst == 0)
                return fail(r, E_GROUP_UNOPENED, r->pos, next_pos(r));
            struct gframe f = r->st[--r->nst];
            bump(r);
            kf_buf_puts(&r->out, ")");
            r->ws = f.ws;
            r->uni = f.uni;
            r->multi = f.multi;
            r->last_at = (long)f.out_at;
            r->last_kind = K_ATOM;
            break;
        }
        case '|':
            bump(r);
            kf_buf_puts(&r->out, "|");
            r->last_kind = K_NONE;
            r->last_at = -1;
            break;
        case '[': {
            struct cls k;
            if (!parse_class(r, &k, r->nst + 1))
                return false;
            cls_expr(&r->out, &k);
            cls_free(&k);
            r->last_at = (long)at;
            r->last_kind = K_ATOM;
            break;
        }
        case '?':
        case '*':
        case '+':
            if (!prepare_repeat(r))
                return false;
            bump(r);
            kf_buf_putn(&r->out, (const char[]){(char)c}, 1);
            if (!eof(r) && ch(r) == '?') {
                bump(r);
                kf_buf_puts(&r->out, "?");
            }
            r->last_kind = K_REP;
            break;
        case '{':
            if (!counted_repetition(r))
                return false;
            break;
        case '\\': {
            struct prim pr;
            if (!parse_escape(r, &pr))
                return false;
            int kind = K_ATOM;
            switch (pr.k) {
            case P_LIT:
                /* translate.rs ast_literal_to_scalar: only a \xHH byte above 0x7F is refused */
                if (!r->uni && pr.byte && pr.c >= 0x80)
                    defer(r, E_INVALID_UTF8, pr.s, pr.e);
                emit_lit(&r->out, pr.c);
                break;
            case P_PERL:
                if (!emit_perl(r, &r->out, &pr, false))
                    return false;
                break;
            case P_UNICODE:
                kf_buf_puts(&r->out, pr.text);
                break;
            case P_ASSERT:
                kf_buf_puts(&r->out, pr.text);
                kind = K_ASSERT;
                break;
            }
            r->last_at = (long)at;
            r->last_kind = kind;
            break;
        }
        case '.':
            if (!r->uni)
                defer(r, E_INVALID_UTF8, r->pos, next_pos(r));
            bump(r);
            kf_buf_puts(&r->out, ".");
            r->last_at = (long)at;
            r->last_kind = K_ATOM;
            break;
        case '^':
        case '$':
            /* (?m): Rust's ^ also matches after a final '\n' (PCRE2's does not), so both
             * line anchors are spelled as look-arounds on '\n' */
            bump(r);
            if (r->multi)
                kf_buf_puts(&r->out, c == '^' ? "(?<![^\n])" : "(?![^\n])");
            else
                kf_buf_putn(&r->out, (const char[]){(char)c}, 1);
            r->last_at = (long)at;
            r->last_kind = K_ASSERT;
            break;
        default:
            emit_lit(&r->out, c);
            bump(r);
            r->last_at = (long)at;
            r->last_kind = K_ATOM;
            break;
        }
    }
    flush_wraps(r);
    if (r->nst > 0) { /* parse.rs pop_group_end: the innermost open group */
        size_t o = r->st[r->nst - 1].open;
        return fail(r, E_GROUP_UNCLOSED, o, o + 1);
    }
    if (r->dk != E_NONE)
        return fail(r, r->dk, r->ds, r->de);
    return !r->out.oom;
}

/* ---- error layout (regex-syntax 0.8.3 src/error.rs Formatter + Spans) ----------------------- */

struct lc {
    size_t line, col;
};

static struct lc pos_lc(const char *p, size_t off)
{
    struct lc x = {1, 1};
    for (size_t i = 0; i < off;) {
        if (p[i] == '\n') {
            x.line++;
            x.col = 1;
            i++;
            continue;
        }
        i += kf_utf8_len((unsigned char)p[i]);
        x.col++;
    }
    return x;
}

static void format_error(const struct rxp *r, struct kf_buf *o)
{
    const char *p = r->p;
    size_t n = r->n;
    struct lspan {
        struct lc s, e;
    } spans[2];
    size_t nspans = 0;
    spans[nspans].s = pos_lc(p, r->es);
    spans[nspans].e = pos_lc(p, r->ee);
    nspans++;
    if (r->aux) {
        spans[nspans].s = pos_lc(p, r->as);
        spans[nspans].e = pos_lc(p, r->ae);
        nspans++;
    }
    if (nspans == 2 && (spans[1].s.line < spans[0].s.line ||
                        (spans[1].s.line == spans[0].s.line && spans[1].s.col < spans[0].s.col))) {
        struct lspan t = spans[0];
        spans[0] = spans[1];
        spans[1] = t;
    }
    bool multi = memchr(p, '\n', n) != NULL;
    /* str::lines(): split on '\n', a trailing '\r' dropped, no empty last line */
    size_t line_count = 0;
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(p + i, '\n', n - i);
        line_count++;
        i = nl ? (size_t)(nl - p) + 1 : n;
    }
    if (n > 0 && p[n - 1] == '\n')
        line_count++;
    size_t width = 0;
    if (line_count > 1)
        for (size_t v = line_count; v; v /= 10)
            width++;
    kf_buf_puts(o, "regex parse error:\n");
    if (multi) {
        for (int i = 0; i < 79; i++)
            kf_buf_puts(o, "~");
        kf_buf_puts(o, "\n");
    }
    size_t lineno = 0;
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(p + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - p) : n;
        size_t le = e;
        if (le > i && p[le - 1] == '\r')
            le--;
        lineno++;
        if (width)
            ob_printf(o, "%*zu: ", (int)width, lineno);
        else
            kf_buf_puts(o, "    ");
        kf_buf_putn(o, p + i, le - i);
        kf_buf_puts(o, "\n");
        bool any = false;
        size_t col = 0;
        for (size_t k = 0; k < nspans; k++) {
            if (spans[k].s.line != lineno || spans[k].e.line != spans[k].s.line)
                continue;
            if (!any) {
                size_t pad = width ? width + 2 : 4;
                for (size_t q = 0; q < pad; q++)
                    kf_buf_puts(o, " ");
                any = true;
            }
            for (; col + 1 < spans[k].s.col; col++)
                kf_buf_puts(o, " ");
            size_t len = spans[k].e.col > spans[k].s.col ? spans[k].e.col - spans[k].s.col : 0;
            if (len < 1)
                len = 1;
            for (size_t q = 0; q < len; q++, col++)
                kf_buf_puts(o, "^");
        }
        if (any)
            kf_buf_puts(o, "\n");
        i = nl ? e + 1 : n;
    }
    if (multi) {
        for (int i = 0; i < 79; i++)
            kf_buf_puts(o, "~");
        kf_buf_puts(o, "\n");
        for (size_t k = 0; k < nspans; k++)
            if (spans[k].e.line != spans[k].s.line)
                ob_printf(o, "on line %zu (column %zu) through line %zu (column %zu)\n",
                          spans[k].s.line, spans[k].s.col, spans[k].e.line, spans[k].e.col - 1);
    }
    kf_buf_puts(o, "error: ");
    kf_buf_puts(o, ekind_text(r->ek));
}

/* strict UTF-8 (no overlongs, surrogates or values past U+10FFFF) */
static bool utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t w = c < 0x80                   ? 1
                   : (c >= 0xC2 && c <= 0xDF) ? 2
                   : (c >= 0xE0 && c <= 0xEF) ? 3
                   : (c >= 0xF0 && c <= 0xF4) ? 4
                                              : 0;
        if (!w || i + w > n)
            return false;
        for (size_t k = 1; k < w; k++) {
            unsigned lo = 0x80, hi = 0xBF;
            if (k == 1) {
                if (c == 0xE0)
                    lo = 0xA0;
                else if (c == 0xED)
                    hi = 0x9F;
                else if (c == 0xF0)
                    lo = 0x90;
                else if (c == 0xF4)
                    hi = 0x8F;
            }
            if (p[i + k] < lo || p[i + k] > hi)
                return false;
        }
        i += w;
    }
    return true;
}

/* ---- public -------------------------------------------------------------------------------- */

static pthread_once_t mctx_once = PTHREAD_ONCE_INIT;
static pcre2_match_context *mctx;   /* read-only after init */
static pcre2_compile_context *cctx; /* read-only after init */

static void ctx_init(void)
{
    mctx = pcre2_match_context_create(NULL);
    if (mctx) {
        pcre2_set_match_limit(mctx, 1000000);
        pcre2_set_depth_limit(mctx, 100000);
    }
    cctx = pcre2_compile_context_create(NULL);
    if (cctx)
        pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
}

static void rx_free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

void kf_atc_regex_free(void *code)
{
    struct atc_rx *x = code;
    if (!x)
        return;
    pcre2_code_free(x->re);
    rx_free_names(x->names, x->ngroups + 1);
    free(x);
}

int kf_atc_regex_compile(const char *pattern, void **code, char *err, size_t errsz)
{
    *code = NULL;
    if (err && errsz)
        err[0] = '\0';
    pthread_once(&mctx_once, ctx_init);
    struct rxp r = {.p = pattern, .n = strlen(pattern)};
    if (!utf8_ok(pattern, r.n)) { /* Regex::new takes a &str: never reached from atc.c */
        snprintf(err, errsz, "regex parse error: pattern is not valid UTF-8");
        return KGC_EINVAL;
    }
    bool ok = translate(&r);
    int rc = 0;
    if (r.out.oom) {
        rc = KGC_ENOMEM;
        goto out;
    }
    if (!ok) {
        struct kf_buf m = {0};
        format_error(&r, &m);
        if (m.oom) {
            free(m.p);
            rc = KGC_ENOMEM;
            goto out;
        }
        snprintf(err, errsz, "%s", m.p ? m.p : "regex parse error");
        free(m.p);
        rc = KGC_EINVAL;
        goto out;
    }
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile(
        (PCRE2_SPTR)(r.out.p ? r.out.p : ""), r.out.n,
        PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C, &ec, &eo, cctx);
    if (!re) {
        /* a translation PCRE2 cannot take (e.g. its own size limits): report it plainly */
        char m[256];
        pcre2_get_error_message(ec, (PCRE2_UCHAR *)m, sizeof(m));
        snprintf(err, errsz, "regex parse error:\n    %s\nerror: %s", pattern, m);
        rc = KGC_EINVAL;
        goto out;
    }
    struct atc_rx *x = calloc(1, sizeof(*x));
    if (!x) {
        pcre2_code_free(re);
        rc = KGC_ENOMEM;
        goto out;
    }
    x->re = re;
    x->ngroups = r.ngroups - 1;
    x->names = r.names;
    r.names = NULL;
    *code = x;
out:
    if (r.names)
        rx_free_names(r.names, r.cnames);
    free(r.name_at);
    free(r.st);
    free(r.out.p);
    return rc;
}

int kf_atc_regex_match(const void *code, const char *s, size_t n, void *md)
{
    const struct atc_rx *x = code;
    return pcre2_match(x->re, (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK, (pcre2_match_data *)md,
                       mctx);
}

uint32_t kf_atc_regex_groups(const void *code)
{
    return ((const struct atc_rx *)code)->ngroups;
}

const char *kf_atc_regex_group_name(const void *code, uint32_t g)
{
    const struct atc_rx *x = code;
    return g <= x->ngroups ? x->names[g] : NULL;
}

int kf_atc_regex_check(const char *pattern, char *err, size_t errsz)
{
    void *code = NULL;
    int rc = kf_atc_regex_compile(pattern, &code, err, errsz);
    kf_atc_regex_free(code);
    return rc;
}

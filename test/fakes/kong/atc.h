/* atc — Kong's ATC router language as atc-router 1.6.2 implements it (the version Kong 3.9.1
 * pins in .requirements: ATC_ROUTER=ffd11db6): parsing (src/atc_grammar.pest, src/parser.rs),
 * type checking against Kong's schema (src/semantics.rs, kong/router/fields.lua), evaluation
 * (src/interpreter.rs) and the matcher set ordered by priority (src/router.rs). Regexes follow
 * Rust's regex crate: PCRE2 runs them, and what the crate refuses (look-around,
 * back-references, ...) is refused with the crate's message.
 *
 * Ownership: every object is owned by its creator and freed with its _free function. An
 * expression and a router are immutable once built and may be evaluated from many threads at
 * once; a context belongs to one thread. Errors: functions return 0 or a negative KGC_E* code;
 * KGC_EINVAL comes with the message atc-router gives (as Kong reports it) in err.
 * Internal to test/fakes/kong/. */
#ifndef KGC_TEST_KONG_ATC_H
#define KGC_TEST_KONG_ATC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The schema: which fields exist and their types, as Kong declares them for a subsystem
 * (kong/router/fields.lua: http.*, net.*, tls.sni; http.headers.* / http.queries.* wildcards). */
enum kf_atc_schema {
    KF_ATC_HTTP = 0,
    KF_ATC_STREAM = 1,
};

struct kf_atc_expr;

/* Parses and type-checks src. Returns 0 and *out, or KGC_EINVAL with atc-router's message
 * (parse errors in pest's " --> 1:5 ..." form, "Unknown LHS field", "Type mismatch between the
 * LHS and RHS values of predicate", "Regex operators only supports string operands", ...). */
int kf_atc_parse(enum kf_atc_schema schema, const char *src, struct kf_atc_expr **out, char *err,
                 size_t errsz);
void kf_atc_expr_free(struct kf_atc_expr *e);

/* The distinct field names the expression reads ("http.headers.x_foo" as written), in first-use
 * order. Borrowed from e. */
size_t kf_atc_expr_fields(const struct kf_atc_expr *e, const char *const **names);

/* Values for one evaluation: each field may carry several values (headers, query arguments).
 * As in atc-router's interpreter (src/interpreter.rs:26-270), a predicate is true only when it
 * holds for EVERY value of its field (so `!=` and `not in` need every value to differ), unless
 * its lhs is wrapped in any(), which makes one value enough; a field with no value never
 * matches, whatever the operator. */
struct kf_atc_ctx;
struct kf_atc_ctx *kf_atc_ctx_new(void);
void kf_atc_ctx_free(struct kf_atc_ctx *c);
void kf_atc_ctx_reset(struct kf_atc_ctx *c); /* drop every value and the result */
int kf_atc_ctx_add_str(struct kf_atc_ctx *c, const char *field, const char *value);
int kf_atc_ctx_add_int(struct kf_atc_ctx *c, const char *field, int64_t value);
int kf_atc_ctx_add_ip(struct kf_atc_ctx *c, const char *field, const char *ip); /* EINVAL if bad */

/* The result of a successful evaluation (atc-router's Match): the matched matcher's uuid, the
 * value each `==`, `^=`, `=^` (the literal) or `~` (the whole match) predicate recorded, per
 * field (Kong reads "http.path"), and the regex captures ("0" the whole match, "1".. each group
 * that took part, then named groups by name). Strings are owned by the context. */
struct kf_atc_match {
    const char *uuid;       /* NULL after kf_atc_expr_execute (no matcher) */
    const char *path_value; /* the matched value of "http.path", or NULL */
    const char *const *cap_names;
    const char *const *cap_values;
    size_t n_caps;
};

/* Evaluates e against c (no router): true when it matches. When it matches and m is not NULL, m
 * gets the predicates' matched values and captures (borrowed from c until the next call). */
bool kf_atc_expr_execute(const struct kf_atc_expr *e, struct kf_atc_ctx *c, struct kf_atc_match *m);

/* A router: matchers keyed by (priority, uuid) and tried in atc-router's order (highest priority
 * first; ties as router.rs orders its BTreeMap keys). */
struct kf_atc_router;
struct kf_atc_router *kf_atc_router_new(enum kf_atc_schema schema);
void kf_atc_router_free(struct kf_atc_router *r);

/* Adds a matcher; KGC_EINVAL with the parse/type message (the router is unchanged), KGC_EEXIST
 * ("UUID already exists") for a (priority, uuid) key already present — as router.rs:28-31, the
 * same uuid under another priority is a second matcher. */
int kf_atc_router_add(struct kf_atc_router *r, const char *uuid, uint64_t priority,
                      const char *expr, char *err, size_t errsz);

/* The first matcher that matches c, or false. m as for kf_atc_expr_execute(). */
bool kf_atc_router_execute(const struct kf_atc_router *r, struct kf_atc_ctx *c,
                           struct kf_atc_match *m);

/* Rust regex crate compatibility: 0 when the crate would accept pattern (and PCRE2 compiles it
 * with the crate's semantics), else KGC_EINVAL with the crate's error text ("regex parse
 * error:\n    ...\n    ^^^\nerror: look-around, including look-ahead and look-behind, is not
 * supported"). */
int kf_atc_regex_check(const char *pattern, char *err, size_t errsz);

/* --- additions (atc.c / atc_regex.c) --- */

/* The message of the last kf_atc_ctx_add_* that failed with KGC_EINVAL (Rust's Utf8Error text
 * for a non-UTF-8 string, "invalid IP address syntax" for a bad address). Borrowed from c. */
const char *kf_atc_ctx_error(const struct kf_atc_ctx *c);

/* After a successful execute: the value the expression's `==`, `^=`, `=^` or `~` predicates
 * recorded for field (atc-router's Match.matches, read by context:get_result(field)), or NULL.
 * Borrowed from c until the next execute or reset. */
const char *kf_atc_ctx_matched(const struct kf_atc_ctx *c, const char *field);

/* Removes the matcher keyed (priority, uuid): 0, or KGC_ENOENT (router.rs remove_matcher). */
int kf_atc_router_remove(struct kf_atc_router *r, const char *uuid, uint64_t priority);
size_t kf_atc_router_count(const struct kf_atc_router *r);

/* atc-router's parser alone (src/parser.rs parse, no schema): for tests of the grammar. */
int kf_atc_parse_unchecked(const char *src, struct kf_atc_expr **out, char *err, size_t errsz);
/* Writes e as src/ast.rs's #[cfg(test)] Display prints it ("((a == 1) && ((b != 2) || ...))")
 * into buf (NUL-terminated, truncated to sz); returns the full length. */
size_t kf_atc_expr_format(const struct kf_atc_expr *e, char *buf, size_t sz);

/* Internal to atc.c (atc_regex.c): compiles pattern with the Rust regex crate's syntax and
 * semantics into an opaque code in *code (free with kf_atc_regex_free), or returns KGC_EINVAL
 * with the crate's error text. */
int kf_atc_regex_compile(const char *pattern, void **code, char *err, size_t errsz);
void kf_atc_regex_free(void *code);
/* Runs code on s[0..n) with md (a pcre2_match_data_8 * with at least groups + 1 pairs):
 * pcre2_match's result (> 0 matched; <= 0 no match, also when the backtracking budget runs out). */
int kf_atc_regex_match(const void *code, const char *s, size_t n, void *md);
/* The number of capture groups (without group 0), and group g's name or NULL. */
uint32_t kf_atc_regex_groups(const void *code);
const char *kf_atc_regex_group_name(const void *code, uint32_t g);

#endif

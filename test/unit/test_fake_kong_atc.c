/* The test Kong's ATC language (test/fakes/kong/atc.h): cases taken from atc-router 1.6.2's own
 * tests (Kong/atc-router at ffd11db6: the #[cfg(test)] modules of src/ and the t/ suite) and
 * Kong 3.9.1's specs; each row names its source file:line. Field names from atc-router's test
 * schemas are mapped onto Kong's schema where a test needs type checking (kong/router/fields.lua):
 * String -> http.path / http.headers.*, Int -> net.src.port, IpAddr -> net.src.ip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fakes/kong/atc.h"

#include <kgc/err.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UUID1 "a921a9aa-ec0e-4cf3-a6cc-1aa5583d150c"
#define UUID2 "a921a9aa-ec0e-4cf3-a6cc-1aa5583d150d"
#define UUID8 "a921a9aa-ec0e-4cf3-a6cc-8aa5583d150c"

/* ---- grammar: the AST as src/ast.rs's test Display prints it ------------------------------- */

struct fmt_case {
    const char *src;
    const char *want;
};

static const struct fmt_case fmt_cases[] = {
    /* src/ast.rs:244 */ {"a > 0", "(a > 0)"},
    /* src/ast.rs:245 */ {"a in \"abc\"", "(a in \"abc\")"},
    /* src/ast.rs:246 */ {"a == 1 && b != 2", "((a == 1) && (b != 2))"},
    /* src/ast.rs:247-250 */
    {"a ^= \"1\" && b =^ \"2\" || c >= 3", "((a ^= \"1\") && ((b =^ \"2\") || (c >= 3)))"},
    /* src/ast.rs:251-254 */
    {"a == 1 && b != 2 || c >= 3", "((a == 1) && ((b != 2) || (c >= 3)))"},
    /* src/ast.rs:255-258 */
    {"a > 1 || b < 2 && c <= 3 || d not in \"foo\"",
     "(((a > 1) || (b < 2)) && ((c <= 3) || (d not in \"foo\")))"},
    /* src/ast.rs:259-262 */
    {"a > 1 || ((b < 2) && (c <= 3)) || d not in \"foo\"",
     "(((a > 1) || ((b < 2) && (c <= 3))) || (d not in \"foo\"))"},
    /* src/ast.rs:263 */ {"!(a == 1)", "!((a == 1))"},
    /* src/ast.rs:264-267 */
    {"!(a == 1) && b == 2 && !(c == 3) && d >= 4",
     "(((!((a == 1)) && (b == 2)) && !((c == 3))) && (d >= 4))"},
    /* src/ast.rs:268-271 */
    {"!(a == 1 || b == 2 && c == 3) && d == 4",
     "(!((((a == 1) || (b == 2)) && (c == 3))) && (d == 4))"},
    /* src/ast.rs:283 */ {"kong.foo in 1.1.1.1", "(kong.foo in 1.1.1.1)"},
    /* src/ast.rs:286-288 */ {"kong.foo.foo2 in 10.0.0.0/24", "(kong.foo.foo2 in 10.0.0.0/24)"},
    /* src/ast.rs:291-293 */ {"kong.foo.foo3 in 2001:db8::/32", "(kong.foo.foo3 in 2001:db8::/32)"},
    /* src/ast.rs:311-314 */ {"kong.foo.foo5 ~ \"^foo.*$\"", "(kong.foo.foo5 ~ \"^foo.*$\")"},
    /* src/ast.rs:330 */ {"kong.foo.foo7 == 123", "(kong.foo.foo7 == 123)"},
    /* src/ast.rs:332 */ {"kong.foo.foo8 == 0x123", "(kong.foo.foo8 == 291)"},
    /* src/ast.rs:334 */ {"kong.foo.foo9 == 0123", "(kong.foo.foo9 == 83)"},
    /* src/ast.rs:336 */ {"kong.foo.foo10 == -123", "(kong.foo.foo10 == -123)"},
    /* src/ast.rs:338 */ {"kong.foo.foo11 == -0x123", "(kong.foo.foo11 == -291)"},
    /* src/ast.rs:340 */ {"kong.foo.foo12 == -0123", "(kong.foo.foo12 == -83)"},
    /* src/ast.rs:352-355 */
    {"lower(kong.foo.foo13) == \"foo\"", "(lower(kong.foo.foo13) == \"foo\")"},
    /* src/ast.rs:357-360 */ {"any(kong.foo.foo14) == \"foo\"", "(any(kong.foo.foo14) == \"foo\")"},
    /* src/ast.rs:374-377 */
    {"lower(lower(kong.foo.foo15)) == \"foo\"", "(lower(lower(kong.foo.foo15)) == \"foo\")"},
    /* src/ast.rs:379-382 */
    {"lower(any(kong.foo.foo16)) == \"foo\"", "(lower(any(kong.foo.foo16)) == \"foo\")"},
    /* src/ast.rs:384-387 */
    {"any(lower(kong.foo.foo17)) == \"foo\"", "(any(lower(kong.foo.foo17)) == \"foo\")"},
    /* src/ast.rs:389-392 */
    {"any(any(kong.foo.foo18)) == \"foo\"", "(any(any(kong.foo.foo18)) == \"foo\")"},
    /* src/ast.rs:402 */
    {"t_msg in \"\xe4\xbd\xa0\xe5\xa5\xbd\"", "(t_msg in \"\xe4\xbd\xa0\xe5\xa5\xbd\")"},
    /* src/ast.rs:414 */ {"a == r#\"/path/to/\\d+\"#", "(a == \"/path/to/\\d+\")"},
    /* src/ast.rs:416 */ {"a == r#\"/path/to/\\n+\"#", "(a == \"/path/to/\\n+\")"},
    /* atc_grammar.pest str_esc: the five escapes decode */
    {"a == \"q\\\"b\\\\s\"", "(a == \"q\"b\\s\")"},
    /* atc_grammar.pest binary_operator: "not" ~ "in" takes implicit whitespace */
    {"a not   in 10.0.0.0/8", "(a not in 10.0.0.0/8)"},
    /* atc_grammar.pest WHITESPACE: tabs and newlines separate tokens */
    {"a\t==\n1\r\n&&\tb == 2", "((a == 1) && (b == 2))"},
    /* cidr-0.2.2 src/cidr/direct.rs:250: a host network prints as its address */
    {"a in 10.1.2.3/32", "(a in 10.1.2.3)"},
    /* atc_grammar.pest ipv6_literal + std Ipv6Addr Display */
    {"a == fd00:0:0:0:0:0:0:1", "(a == fd00::1)"},
};

static void test_grammar_ast(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++) {
        struct kf_atc_expr *e = NULL;
        char err[4096], out[1024];
        int rc = kf_atc_parse_unchecked(fmt_cases[i].src, &e, err, sizeof(err));
        if (rc != 0)
            fail_msg("%s: %s", fmt_cases[i].src, err);
        kf_atc_expr_format(e, out, sizeof(out));
        if (strcmp(out, fmt_cases[i].want) != 0)
            fail_msg("%s: got %s want %s", fmt_cases[i].src, out, fmt_cases[i].want);
        kf_atc_expr_free(e);
    }
}

/* ---- parse and type errors: atc-router's exact text ----------------------------------------- */

struct err_case {
    enum kf_atc_schema schema;
    const char *src;
    const char *want; /* NULL: must be accepted */
};

static const struct err_case err_cases[] = {
    /* src/parser.rs:323-326 */
    {KF_ATC_HTTP, "! a == 1", " --> 1:1\n  |\n1 | ! a == 1\n  | ^---\n  |\n  = expected term"},
    /* src/parser.rs:327-330 */
    {KF_ATC_HTTP, "a == 1 || ! b == 2",
     " --> 1:11\n  |\n1 | a == 1 || ! b == 2\n  |           ^---\n  |\n  = expected term"},
    /* src/parser.rs:331-335 */
    {KF_ATC_HTTP, "(a == 1 || b == 2) && ! c == 3",
     " --> 1:23\n  |\n1 | (a == 1 || b == 2) && ! c == 3\n  |                       ^---\n  |\n  = "
     "expected term"},
    /* t/01-sanity.t:180-191 */
    {KF_ATC_HTTP, "http.path = \"/foo\" && net.src.port == 80",
     " --> 1:11\n  |\n1 | http.path = \"/foo\" && net.src.port == 80\n  |           ^---\n  |\n"
     "  = expected binary_operator"},
    /* t/06-validate.t:97-113 */
    {KF_ATC_HTTP, "== 123", " --> 1:1\n  |\n1 | == 123\n  | ^---\n  |\n  = expected term"},
    /* t/06-validate.t:132-148 */
    {KF_ATC_HTTP, "== \"bar\"", " --> 1:1\n  |\n1 | == \"bar\"\n  | ^---\n  |\n  = expected term"},
    /* t/06-validate.t:68-79 */
    {KF_ATC_HTTP, "http.headers.foo == 123",
     "Type mismatch between the LHS and RHS values of predicate"},
    /* t/06-validate.t:195-213 */
    {KF_ATC_HTTP, "http.headers.foo ~ \"([.\"",
     " --> 1:20\n  |\n1 | http.headers.foo ~ \"([.\"\n  |                    ^---^\n  |\n  = regex "
     "parse error:\n    ([.\n     ^\nerror: unclosed character class"},
    /* t/06-validate.t:261-279 */
    {KF_ATC_HTTP, "http.headers.foo == \"a\" && http.headers.foo ~ \"([.\"",
     " --> 1:47\n  |\n1 | http.headers.foo == \"a\" && http.headers.foo ~ \"([.\"\n  |        "
     "                                       ^---^\n  |\n  = regex parse error:\n    ([.\n     "
     "^\nerror: unclosed character class"},
    /* t/06-validate.t:167-177 */
    {KF_ATC_HTTP, "http.headers.foo ~ \"/\\\\\\\\/*user$\"", NULL},
    /* t/06-validate.t:232-242 (Rust regex 1.8+ accepts an escaped slash) */
    {KF_ATC_HTTP, "http.headers.foo ~ \"/\\\\/*user$\"", NULL},
    /* t/07-in_notin.t:39-54 */
    {KF_ATC_HTTP, "net.src.port in 80", "In/NotIn operators only supports IP in CIDR"},
    {KF_ATC_HTTP, "http.path in 80", "In/NotIn operators only supports IP in CIDR"},
    {KF_ATC_HTTP, "http.path in \"foo\"", "In/NotIn operators only supports IP in CIDR"},
    /* src/semantics.rs:180-184 */
    {KF_ATC_HTTP, "unkn == \"abc\"", "Unknown LHS field"},
    /* src/semantics.rs:190-195 (string field) */
    {KF_ATC_HTTP, "http.path == \"abc\"", NULL},
    {KF_ATC_HTTP, "http.path != \"abc\"", NULL},
    {KF_ATC_HTTP, "http.path ~ \"abc\"", NULL},
    {KF_ATC_HTTP, "http.path ^= \"abc\"", NULL},
    {KF_ATC_HTTP, "http.path =^ \"abc\"", NULL},
    {KF_ATC_HTTP, "lower(http.path) =^ \"abc\"", NULL},
    /* src/semantics.rs:203-206 */
    {KF_ATC_HTTP, "http.path == 192.168.0.1",
     "Type mismatch between the LHS and RHS values of predicate"},
    {KF_ATC_HTTP, "http.path == 192.168.0.0/24",
     "Type mismatch between the LHS and RHS values of predicate"},
    {KF_ATC_HTTP, "http.path == 123", "Type mismatch between the LHS and RHS values of predicate"},
    {KF_ATC_HTTP, "http.path in \"abc\"", "In/NotIn operators only supports IP in CIDR"},
    /* src/semantics.rs:217-222 (ipaddr field) */
    {KF_ATC_HTTP, "net.src.ip == 192.168.0.1", NULL},
    {KF_ATC_HTTP, "net.src.ip == fd00::1", NULL},
    {KF_ATC_HTTP, "net.src.ip in 192.168.0.0/24", NULL},
    {KF_ATC_HTTP, "net.src.ip in fd00::/64", NULL},
    {KF_ATC_HTTP, "net.src.ip not in 192.168.0.0/24", NULL},
    {KF_ATC_HTTP, "net.src.ip not in fd00::/64", NULL},
    /* src/semantics.rs:230-236 */
    {KF_ATC_HTTP, "net.src.ip == \"abc\"",
     "Type mismatch between the LHS and RHS values of predicate"},
    {KF_ATC_HTTP, "net.src.ip == 123", "Type mismatch between the LHS and RHS values of predicate"},
    {KF_ATC_HTTP, "net.src.ip in 192.168.0.1", "In/NotIn operators only supports IP in CIDR"},
    {KF_ATC_HTTP, "net.src.ip in fd00::1", "In/NotIn operators only supports IP in CIDR"},
    {KF_ATC_HTTP, "net.src.ip == 192.168.0.0/24",
     "Type mismatch between the LHS and RHS values of predicate"},
    {KF_ATC_HTTP, "net.src.ip == fd00::/64",
     "Type mismatch between the LHS and RHS values of predicate"},
    {KF_ATC_HTTP, "lower(net.src.ip) == fd00::1",
     "lower-case transformation function only supported with String type fields"},
    /* src/semantics.rs:247-251 (int field) */
    {KF_ATC_HTTP, "net.src.port == 123", NULL},
    {KF_ATC_HTTP, "net.src.port >= 123", NULL},
    {KF_ATC_HTTP, "net.src.port <= 123", NULL},
    {KF_ATC_HTTP, "net.src.port > 123", NULL},
    {KF_ATC_HTTP, "net.src.port < 123", NULL},
    /* src/semantics.rs:259-261 */
    {KF_ATC_HTTP, "net.src.port == \"abc\"",
     "Type mismatch between the LHS and RHS values of predicate"},
    {KF_ATC_HTTP, "net.src.port in 192.168.0.0/24", "In/NotIn operators only supports IP in CIDR"},
    {KF_ATC_HTTP, "lower(net.src.port) == 123",
     "lower-case transformation function only supported with String type fields"},
    /* src/semantics.rs:131-138: a string rhs on an ordering operator fails the type check first */
    {KF_ATC_HTTP, "http.path > \"a\"",
     "Greater/GreaterOrEqual/Lesser/LesserOrEqual operators only supports integer operands"},
    /* src/semantics.rs:92-101: Regex skips the type check, then needs a String field */
    {KF_ATC_HTTP, "net.src.port ~ \"1\"", "Regex operators only supports string operands"},
    /* src/semantics.rs:149-156 */
    {KF_ATC_HTTP, "http.path contains \"a\"", NULL},
    /* src/parser.rs:226-234 */
    {KF_ATC_HTTP, "http.path ~ 12",
     " --> 1:13\n  |\n1 | http.path ~ 12\n  |             ^^\n  |\n  = regex operator can only be "
     "used with String operands"},
    /* src/parser.rs:252-262 */
    {KF_ATC_HTTP, "foo(http.path) == \"a\"",
     " --> 1:1\n  |\n1 | foo(http.path) == \"a\"\n  | ^------------^\n  |\n  = unknown "
     "transformation function: foo"},
    /* src/parser.rs:50-53 + core::num::ParseIntError (digits' span, not the sign) */
    {KF_ATC_HTTP, "net.src.port == -9223372036854775808",
     " --> 1:18\n  |\n1 | net.src.port == -9223372036854775808\n  |                  "
     "^-----------------^\n  |\n  = number too large to fit in target type"},
    /* cidr-0.2.2 src/cidr/direct.rs:91 (Kong spec/01-unit/01-db/01-schema/06-routes_spec.lua:1663)
     */
    {KF_ATC_HTTP, "net.src.ip in 1.2.3.4/16 && net.src.port == 80",
     " --> 1:15\n  |\n1 | net.src.ip in 1.2.3.4/16 && net.src.port == 80\n  |               "
     "^--------^\n  |\n  = host part of address was not zero"},
    /* cidr-0.2.2 src/cidr/direct.rs:87 + src/errors.rs NetworkLengthTooLongError */
    {KF_ATC_HTTP, "net.src.ip in 10.0.0.0/33",
     " --> 1:15\n  |\n1 | net.src.ip in 10.0.0.0/33\n  |               ^---------^\n  |\n  = "
     "invalid length for network: Network length 33 is too long for Ipv4 (maximum: 32)"},
    /* std Ipv4Addr::from_str (atc_grammar.pest ipv4_literal admits 999) */
    {KF_ATC_HTTP, "net.src.ip == 1.2.3.999",
     " --> 1:15\n  |\n1 | net.src.ip == 1.2.3.999\n  |               ^-------^\n  |\n  = invalid "
     "IPv4 address syntax"},
    /* Kong spec/01-unit/01-db/01-schema/06-routes_spec.lua:1422-1433 */
    {KF_ATC_HTTP, "(http.method == \"GET\") &&",
     " --> 1:26\n  |\n1 | (http.method == \"GET\") &&\n  |                          ^---\n  |\n"
     "  = expected term"},
    /* Kong spec/01-unit/01-db/01-schema/06-routes_spec.lua:1593 */
    {KF_ATC_HTTP,
     "!(http.method == \"GET\") && !(http.host == \"example.com\") && !(http.path ^= \"/foo\")",
     NULL},
    /* Kong spec/01-unit/01-db/01-schema/06-routes_spec.lua:1612 */
    {KF_ATC_HTTP, "http.method == \"GET\" && http.host == \"example.com\" && http.path == \"/ovo\"",
     NULL},
    /* Kong spec/01-unit/01-db/01-schema/06-routes_spec.lua:1631 (stream) */
    {KF_ATC_STREAM, "net.src.ip == 1.2.3.4 && net.src.port == 80", NULL},
    /* Kong spec/01-unit/01-db/01-schema/06-routes_spec.lua:1647 */
    {KF_ATC_HTTP, "http.method == \"GET\" && http.path ~ \"/[abc/*/user$\"",
     " --> 1:37\n  |\n1 | http.method == \"GET\" && http.path ~ \"/[abc/*/user$\"\n  |           "
     "                          ^-------------^\n  |\n  = regex parse error:\n    /[abc/*/user$\n "
     "    ^\nerror: unclosed character class"},
    /* Kong spec/01-unit/01-db/01-schema/06-routes_spec.lua:1679 (http field in a stream route) */
    {KF_ATC_STREAM, "http.method == \"GET\" && net.src.ip == 1.2.3.4 && net.src.port == 80",
     "Unknown LHS field"},
    /* Kong spec/01-unit/01-db/01-schema/06-routes_spec.lua:1702 (net.port is no schema field) */
    {KF_ATC_HTTP, "http.method == \"GET\" && net.port == 8000", "Unknown LHS field"},
    /* Kong spec/01-unit/01-db/01-schema/06-routes_spec.lua:1751-1754 */
    {KF_ATC_HTTP, "http.path.segments.0 == \"foo\"", NULL},
    {KF_ATC_HTTP, "http.path.segments.1 ^= \"bar\"", NULL},
    {KF_ATC_HTTP, "http.path.segments.20_30 ~ r#\"x/y\"#", NULL},
    {KF_ATC_HTTP, "http.path.segments.len == 10", NULL},
    /* Kong spec/01-unit/01-db/01-schema/06-routes_spec.lua:1778 (the type check half; the suffix
     * shape is Kong's own routes.lua check) */
    {KF_ATC_HTTP, "http.path.segments.len    == \"10\"",
     "Type mismatch between the LHS and RHS values of predicate"},
    /* Kong spec/01-unit/08-router_spec.lua:5290, 5308 */
    {KF_ATC_HTTP, "http.path == \"/foo/bar\" && http.queries.a == \"1\"", NULL},
    {KF_ATC_HTTP, "http.path == \"/foo/bar\" && any(http.queries.a) == \"2\"", NULL},
    /* Kong spec/01-unit/08-router_spec.lua:5232 (stream tls.sni) */
    {KF_ATC_STREAM, "tls.sni == \"www.example.com\"", NULL},
    /* src/schema.rs:10-14: only one level under a wildcard family */
    {KF_ATC_HTTP, "http.headers.a.b == \"x\"", "Unknown LHS field"},
    /* atc_grammar.pest: and_op / or_op / EOI are what may follow a complete predicate */
    {KF_ATC_HTTP, "http.path == \"a\" b",
     " --> 1:18\n  |\n1 | http.path == \"a\" b\n  |                  ^---\n  |\n  = expected EOI, "
     "and_op, or or_op"},
    /* atc_grammar.pest rhs: nothing after the operator */
    {KF_ATC_HTTP, "http.path == ",
     " --> 1:14\n  |\n1 | http.path == \n  |              ^---\n  |\n  = expected rhs"},
    /* atc_grammar.pest str_esc: only \" \\ \n \r \t */
    {KF_ATC_HTTP, "http.path == \"a\\x\"",
     " --> 1:16\n  |\n1 | http.path == \"a\\x\"\n  |                ^---\n  |\n  = expected "
     "str_char or str_esc"},
    /* atc_grammar.pest rawstr_literal: unterminated */
    {KF_ATC_HTTP, "http.path == r#\"abc",
     " --> 1:20\n  |\n1 | http.path == r#\"abc\n  |                    ^---\n  |\n  = expected "
     "rawstr_char"},
    /* pest src/error.rs:603: the line number widens the gutter; the error is on line 2 */
    {KF_ATC_HTTP, "http.path == \"a\" &&\nhttp.host ==",
     " --> 2:13\n  |\n2 | http.host ==\n  |             ^---\n  |\n  = expected rhs"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        const struct err_case *c = &err_cases[i];
        struct kf_atc_expr *e = NULL;
        char err[4096];
        int rc = kf_atc_parse(c->schema, c->src, &e, err, sizeof(err));
        if (!c->want) {
            if (rc != 0)
                fail_msg("%s: unexpected error %s", c->src, err);
            assert_non_null(e);
            kf_atc_expr_free(e);
            continue;
        }
        if (rc != KGC_EINVAL)
            fail_msg("%s: accepted", c->src);
        assert_null(e);
        if (strcmp(err, c->want) != 0)
            fail_msg("%s:\n--- got\n%s\n--- want\n%s", c->src, err, c->want);
    }
}

/* ---- evaluation --------------------------------------------------------------------------- */

static bool run1(const char *expr, struct kf_atc_ctx *c, struct kf_atc_match *m)
{
    struct kf_atc_expr *e = NULL;
    char err[4096];
    int rc = kf_atc_parse(KF_ATC_HTTP, expr, &e, err, sizeof(err));
    if (rc)
        fail_msg("%s: %s", expr, err);
    bool ok = kf_atc_expr_execute(e, c, m);
    kf_atc_expr_free(e);
    return ok;
}

/* Route uuid with priority and expression added to r (must succeed). */
static void add_ok(struct kf_atc_router *r, const char *uuid, uint64_t priority, const char *expr)
{
    char err[4096];
    assert_int_equal(kf_atc_router_add(r, uuid, priority, expr, err, sizeof(err)), 0);
}

/* r matches the context c (into *m) with route uuid. */
static void match_is(struct kf_atc_router *r, struct kf_atc_ctx *c, struct kf_atc_match *m,
                     const char *uuid)
{
    assert_true(kf_atc_router_execute(r, c, m));
    assert_string_equal(m->uuid, uuid);
}

/* t/05-equals.t:38-59 and 82-103: a multi-valued field matches only when every value does */
static void test_all_values_mode(void **state)
{
    (void)state;
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    struct kf_atc_match m;
    for (int i = 0; i < 3; i++)
        assert_int_equal(kf_atc_ctx_add_str(c, "http.headers.foo", "bar"), 0);
    assert_true(run1("http.headers.foo == \"bar\"", c, &m));
    assert_string_equal(kf_atc_ctx_matched(c, "http.headers.foo"), "bar");
    assert_int_equal(kf_atc_ctx_add_str(c, "http.headers.foo", "barX"), 0);
    assert_false(run1("http.headers.foo == \"bar\"", c, &m));
    assert_null(kf_atc_ctx_matched(c, "http.headers.foo"));
    /* src/interpreter.rs:52-60: != also needs every value to differ */
    assert_false(run1("http.headers.foo != \"bar\"", c, &m));
    assert_true(run1("any(http.headers.foo) != \"bar\"", c, &m));
    /* t/05-equals.t:124-142: no value at all never matches, not even != */
    kf_atc_ctx_reset(c);
    assert_false(run1("http.headers.foo == \"bar\"", c, &m));
    assert_false(run1("http.headers.foo != \"bar\"", c, &m));
    assert_false(run1("any(http.headers.foo) != \"bar\"", c, &m));
    kf_atc_ctx_free(c);
}

/* src/interpreter.rs:283-432 test_predicate, with http.headers.my_key for my_key */
static void test_interpreter_predicate(void **state)
{
    (void)state;
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    /* interpreter.rs:298-308: empty value list */
    assert_false(run1("http.headers.my_key ^= \"foo\"", c, NULL));
    /* interpreter.rs:310-320 */
    assert_false(run1("any(http.headers.my_key) ^= \"foo\"", c, NULL));
    const char *vals[] = {"foofoo", "foobar", "foocar", "fooban"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(kf_atc_ctx_add_str(c, "http.headers.my_key", vals[i]), 0);
    /* interpreter.rs:333-343: all start with foo */
    assert_true(run1("http.headers.my_key ^= \"foo\"", c, NULL));
    /* interpreter.rs:345-355: not all end with foo */
    assert_false(run1("http.headers.my_key =^ \"foo\"", c, NULL));
    /* interpreter.rs:357-367: one ends with foo */
    assert_true(run1("any(http.headers.my_key) =^ \"foo\"", c, NULL));
    /* interpreter.rs:369-379 */
    assert_true(run1("any(http.headers.my_key) ^= \"foo\"", c, NULL));
    /* interpreter.rs:381-391 */
    assert_false(run1("any(http.headers.my_key) =^ \"nar\"", c, NULL));
    /* interpreter.rs:393-403 */
    assert_true(run1("any(http.headers.my_key) =^ \"\"", c, NULL));
    /* interpreter.rs:405-415 */
    assert_true(run1("any(http.headers.my_key) ^= \"\"", c, NULL));
    /* interpreter.rs:417-427 */
    assert_true(run1("any(http.headers.my_key) contains \"ob\"", c, NULL));
    /* interpreter.rs:429-439 */
    assert_false(run1("any(http.headers.my_key) contains \"ok\"", c, NULL));
    kf_atc_ctx_free(c);
}

/* t/01-sanity.t:39-59 */
static void test_sanity_prefix(void **state)
{
    (void)state;
    struct kf_atc_router *r = kf_atc_router_new(KF_ATC_HTTP);
    add_ok(r, UUID1, 0, "http.path ^= \"/foo\" && net.src.port == 80");
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    kf_atc_ctx_add_str(c, "http.path", "/foo/bar");
    kf_atc_ctx_add_int(c, "net.src.port", 80);
    struct kf_atc_match m;
    match_is(r, c, &m, UUID1);
    assert_string_equal(m.path_value, "/foo");
    /* t/01-sanity.t:228-246: after reset nothing matches and there is no result */
    kf_atc_ctx_reset(c);
    assert_false(kf_atc_router_execute(r, c, &m));
    assert_null(kf_atc_ctx_matched(c, "http.path"));
    /* t/01-sanity.t:140-156: removed matchers no longer match */
    kf_atc_ctx_add_str(c, "http.path", "/foo/bar");
    kf_atc_ctx_add_int(c, "net.src.port", 80);
    assert_int_equal(kf_atc_router_remove(r, UUID1, 0), 0);
    assert_false(kf_atc_router_execute(r, c, &m));
    kf_atc_ctx_free(c);
    kf_atc_router_free(r);
}

/* t/01-sanity.t:82-103: the higher priority wins */
static void test_priority(void **state)
{
    (void)state;
    struct kf_atc_router *r = kf_atc_router_new(KF_ATC_HTTP);
    add_ok(r, UUID1, 1, "http.path ^= \"/foo\" && net.src.port == 80");
    add_ok(r, UUID2, 0, "http.path ^= \"/\"");
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    kf_atc_ctx_add_str(c, "http.path", "/foo/bar");
    kf_atc_ctx_add_int(c, "net.src.port", 80);
    struct kf_atc_match m;
    match_is(r, c, &m, UUID1);
    assert_string_equal(m.path_value, "/foo");
    kf_atc_ctx_free(c);
    kf_atc_router_free(r);
}

/* src/router.rs:12,58: MatcherKey(priority, Uuid) iterated in reverse: on equal priority the
 * greater uuid (byte order) goes first; src/router.rs:31: the same key twice is refused */
static void test_uuid_tiebreak(void **state)
{
    (void)state;
    struct kf_atc_router *r = kf_atc_router_new(KF_ATC_HTTP);
    char err[4096];
    add_ok(r, UUID1, 5, "http.path ^= \"/\"");
    add_ok(r, UUID8, 5, "http.path ^= \"/\"");
    add_ok(r, UUID2, 5, "http.path ^= \"/\"");
    assert_int_equal(kf_atc_router_add(r, UUID2, 5, "http.path ^= \"/\"", err, sizeof(err)),
                     KGC_EEXIST);
    assert_string_equal(err, "UUID already exists");
    /* upper-case input is the same uuid; the result is printed lower-case hyphenated */
    assert_int_equal(kf_atc_router_add(r, "A921A9AA-EC0E-4CF3-A6CC-8AA5583D150C", 5,
                                       "http.path ^= \"/\"", err, sizeof(err)),
                     KGC_EEXIST);
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    kf_atc_ctx_add_str(c, "http.path", "/x");
    struct kf_atc_match m;
    match_is(r, c, &m, UUID8);
    /* a router add that fails to parse leaves the router unchanged */
    assert_int_equal(kf_atc_router_add(r, UUID2, 9, "http.path ==", err, sizeof(err)), KGC_EINVAL);
    assert_int_equal(kf_atc_router_count(r), 3);
    kf_atc_ctx_free(c);
    kf_atc_router_free(r);
}

/* t/08-equals.t:38-64, 86-112, 134-160: == and != on Int, String and IpAddr */
static void test_equals_not_equals(void **state)
{
    (void)state;
    static const struct {
        const char *eq, *ne;
        int kind; /* 0 int, 1 string, 2 ip */
        const char *a, *b;
    } cases[] = {
        {"net.src.port == 8000", "net.src.port != 8000", 0, "8000", "8001"},
        {"http.path == \"/foo\"", "http.path != \"/foo\"", 1, "/foo", "/foo1"},
        {"net.src.ip == 192.168.1.1", "net.src.ip != 192.168.1.1", 2, "192.168.1.1", "192.168.1.2"},
    };
    for (size_t i = 0; i < 3; i++) {
        struct kf_atc_router *r = kf_atc_router_new(KF_ATC_HTTP);
        add_ok(r, UUID1, 0, cases[i].eq);
        add_ok(r, UUID8, 0, cases[i].ne);
        for (int k = 0; k < 2; k++) {
            const char *v = k ? cases[i].b : cases[i].a;
            struct kf_atc_ctx *c = kf_atc_ctx_new();
            const char *field = cases[i].kind == 0   ? "net.src.port"
                                : cases[i].kind == 1 ? "http.path"
                                                     : "net.src.ip";
            if (cases[i].kind == 0)
                kf_atc_ctx_add_int(c, field, atoi(v));
            else if (cases[i].kind == 1)
                kf_atc_ctx_add_str(c, field, v);
            else
                assert_int_equal(kf_atc_ctx_add_ip(c, field, v), 0);
            struct kf_atc_match m;
            match_is(r, c, &m, k ? UUID8 : UUID1);
            kf_atc_ctx_free(c);
        }
        kf_atc_router_free(r);
    }
}

/* t/07-in_notin.t:76-103 */
static void test_in_not_in(void **state)
{
    (void)state;
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    kf_atc_ctx_add_ip(c, "net.src.ip", "192.168.12.1");
    assert_true(run1("net.src.ip in 192.168.12.0/24", c, NULL));
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_ip(c, "net.src.ip", "192.168.1.1");
    assert_false(run1("net.src.ip in 192.168.12.0/24", c, NULL));
    assert_true(run1("net.src.ip not in 192.168.12.0/24", c, NULL));
    /* IpCidr::contains is family-strict: a v4 address is never in a v6 network */
    assert_false(run1("net.src.ip in ::/0", c, NULL));
    assert_true(run1("net.src.ip not in ::/0", c, NULL));
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_ip(c, "net.src.ip", "fd00::5");
    assert_true(run1("net.src.ip in fd00::/64", c, NULL));
    /* std IpAddr equality: ::ffff:1.2.3.4 is not 1.2.3.4 */
    kf_atc_ctx_reset(c);
    assert_int_equal(kf_atc_ctx_add_ip(c, "net.src.ip", "::ffff:1.2.3.4"), 0);
    assert_false(run1("net.src.ip == 1.2.3.4", c, NULL));
    assert_int_equal(kf_atc_ctx_add_ip(c, "net.src.ip", "1.2.3.x"), KGC_EINVAL);
    kf_atc_ctx_free(c);
}

/* t/09-not.t:38-77 */
static void test_not(void **state)
{
    (void)state;
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    kf_atc_ctx_add_str(c, "http.path", "/abc/d");
    assert_false(run1("!(http.path ^= \"/abc\")", c, NULL));
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_str(c, "http.path", "/abb/d");
    assert_true(run1("!(http.path ^= \"/abc\")", c, NULL));
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_str(c, "http.path", "/abb/d/");
    assert_false(run1("!(http.path =^ \"/\")", c, NULL));
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_str(c, "http.path", "/abb/d");
    assert_true(run1("!(http.path =^ \"/\")", c, NULL));
    kf_atc_ctx_free(c);
}

/* t/03-contains.t:39-59, 83-103: contains matches but records nothing */
static void test_contains(void **state)
{
    (void)state;
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    struct kf_atc_match m;
    kf_atc_ctx_add_str(c, "http.path", "/foo/keyword/bar");
    kf_atc_ctx_add_int(c, "net.src.port", 80);
    assert_true(run1("http.path contains \"keyword\" && net.src.port == 80", c, &m));
    assert_null(m.path_value);
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_str(c, "http.path", "/foo/bar");
    kf_atc_ctx_add_int(c, "net.src.port", 80);
    assert_false(run1("http.path contains \"keyword\" && net.src.port == 80", c, &m));
    kf_atc_ctx_free(c);
}

/* t/04-rawstr.t:39-189 */
static void test_rawstr(void **state)
{
    (void)state;
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    struct kf_atc_match m;
    kf_atc_ctx_add_str(c, "http.path", "/foo/bar");
    assert_true(run1("http.path ^= r#\"/foo\"# && http.path != \"\"", c, &m));
    assert_string_equal(m.path_value, "/foo");
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_str(c, "http.path", "/foo\"'/bar");
    assert_true(run1("http.path ^= r#\"/foo\"'\"#", c, &m));
    assert_string_equal(m.path_value, "/foo\"'");
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_str(c, "http.path", "/123/test");
    assert_true(run1("http.path ~ r#\"^/\\d+/test$\"#", c, &m));
    assert_string_equal(m.path_value, "/123/test");
    assert_false(run1("http.path ~ r#\"^/\\D+/test$\"#", c, &m));
    kf_atc_ctx_free(c);
}

/* src/interpreter.rs:68-95: the regex records the whole match (group 0) as the field's value,
 * every participating group by number and named groups by name */
static void test_regex_captures(void **state)
{
    (void)state;
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    struct kf_atc_match m;
    kf_atc_ctx_add_str(c, "http.path", "/users/42/x");
    assert_true(run1("http.path ~ r#\"/users/(?P<id>\\d+)(/y)?\"#", c, &m));
    assert_string_equal(m.path_value, "/users/42");
    bool saw0 = false, saw1 = false, sawid = false, saw2 = false;
    for (size_t i = 0; i < m.n_caps; i++) {
        if (!strcmp(m.cap_names[i], "0"))
            saw0 = !strcmp(m.cap_values[i], "/users/42");
        if (!strcmp(m.cap_names[i], "1"))
            saw1 = !strcmp(m.cap_values[i], "42");
        if (!strcmp(m.cap_names[i], "id"))
            sawid = !strcmp(m.cap_values[i], "42");
        if (!strcmp(m.cap_names[i], "2"))
            saw2 = true;
    }
    assert_true(saw0 && saw1 && sawid);
    assert_false(saw2); /* a group that did not participate is not recorded */
    assert_int_equal(m.n_caps, 3);
    kf_atc_ctx_free(c);
}

/* src/interpreter.rs:39-45 lower() and Kong spec/01-unit/08-router_spec.lua:5393-5430 */
static void test_lower_and_case(void **state)
{
    (void)state;
    struct kf_atc_router *r = kf_atc_router_new(KF_ATC_HTTP);
    add_ok(r, "e8fb37f1-102d-461e-9c51-6608a6bb8101", 100,
           "http.path == \"/foo/bar\" && http.headers.test1 == "
           "\"Quote\"");
    add_ok(r, "e8fb37f1-102d-461e-9c51-6608a6bb8102", 100,
           "http.path == \"/foo/bar\" && lower(http.headers.test2) == "
           "\"quote\"");
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    struct kf_atc_match m;
    kf_atc_ctx_add_str(c, "http.path", "/foo/bar");
    kf_atc_ctx_add_str(c, "http.headers.test1", "quoTe");
    assert_false(kf_atc_router_execute(r, c, &m));
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_str(c, "http.path", "/foo/bar");
    kf_atc_ctx_add_str(c, "http.headers.test1", "Quote");
    match_is(r, c, &m, "e8fb37f1-102d-461e-9c51-6608a6bb8101");
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_str(c, "http.path", "/foo/bar");
    kf_atc_ctx_add_str(c, "http.headers.test2", "QuOtE");
    match_is(r, c, &m, "e8fb37f1-102d-461e-9c51-6608a6bb8102");
    /* lower() is Unicode-aware (Rust str::to_lowercase) */
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_str(c, "http.headers.x", "\xc3\x84RGER");
    assert_true(run1("lower(http.headers.x) == \"\xc3\xa4rger\"", c, &m));
    /* Rust str::to_lowercase special cases: final sigma, U+0130 */
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_str(c, "http.headers.x", "\xce\x9f\xce\x94\xce\x9f\xce\xa3 \xc4\xb0");
    assert_true(
        run1("lower(http.headers.x) == \"\xce\xbf\xce\xb4\xce\xbf\xcf\x82 i\xcc\x87\"", c, &m));
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_str(c, "http.headers.x", "\xce\xa3\xce\x91");
    assert_true(run1("lower(http.headers.x) == \"\xcf\x83\xce\xb1\"", c, &m));
    kf_atc_ctx_free(c);
    kf_atc_router_free(r);
}

/* Kong spec/01-unit/08-router_spec.lua:5282-5330: query arguments, several values with any() */
static void test_queries(void **state)
{
    (void)state;
    struct kf_atc_router *r = kf_atc_router_new(KF_ATC_HTTP);
    add_ok(r, "e8fb37f1-102d-461e-9c51-6608a6bb8101", 100,
           "http.path == \"/foo/bar\" && http.queries.a == \"1\"");
    add_ok(r, "e8fb37f1-102d-461e-9c51-6608a6bb8102", 100,
           "http.path == \"/foo/bar\" && http.queries.a == \"\"");
    add_ok(r, "e8fb37f1-102d-461e-9c51-6608a6bb8103", 100,
           "http.path == \"/foo/bar\" && any(http.queries.a) == \"2\"");
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    struct kf_atc_match m;
    kf_atc_ctx_add_str(c, "http.path", "/foo/bar");
    kf_atc_ctx_add_str(c, "http.queries.a", "1");
    match_is(r, c, &m, "e8fb37f1-102d-461e-9c51-6608a6bb8101");
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_str(c, "http.path", "/foo/bar");
    kf_atc_ctx_add_str(c, "http.queries.a", "");
    match_is(r, c, &m, "e8fb37f1-102d-461e-9c51-6608a6bb8102");
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_str(c, "http.path", "/foo/bar");
    kf_atc_ctx_add_str(c, "http.queries.a", "2");
    kf_atc_ctx_add_str(c, "http.queries.a", "10");
    match_is(r, c, &m, "e8fb37f1-102d-461e-9c51-6608a6bb8103");
    kf_atc_ctx_free(c);
    kf_atc_router_free(r);
}

/* Kong spec/01-unit/08-router_spec.lua:5570-5610: path segments, higher priority first */
static void test_segments(void **state)
{
    (void)state;
    struct kf_atc_router *r = kf_atc_router_new(KF_ATC_HTTP);
    add_ok(r, "e8fb37f1-102d-461e-9c51-6608a6bb8101", 100,
           "http.path.segments.0 == \"foo\" && http.path.segments.1 == "
           "\"bar\"");
    add_ok(r, "e8fb37f1-102d-461e-9c51-6608a6bb8102", 200,
           "http.path.segments.0 == \"foo\" && http.path.segments.2 ^= "
           "\"baz\"");
    add_ok(r, "e8fb37f1-102d-461e-9c51-6608a6bb8103", 300,
           "http.path.segments.0 == \"foo\" && http.path.segments.3 ~ "
           "r#\"\\d+\"#");
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    struct kf_atc_match m;
    kf_atc_ctx_add_str(c, "http.path.segments.0", "foo");
    kf_atc_ctx_add_str(c, "http.path.segments.1", "bar");
    kf_atc_ctx_add_str(c, "http.path.segments.2", "baz");
    kf_atc_ctx_add_str(c, "http.path.segments.3", "12345");
    match_is(r, c, &m, "e8fb37f1-102d-461e-9c51-6608a6bb8103");
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_str(c, "http.path.segments.0", "foo");
    kf_atc_ctx_add_str(c, "http.path.segments.1", "xxx");
    assert_false(kf_atc_router_execute(r, c, &m));
    kf_atc_ctx_free(c);
    kf_atc_router_free(r);
}

/* t/02-bugs.t:37-54: non-UTF-8 values are refused with Rust's Utf8Error text */
static void test_bad_utf8(void **state)
{
    (void)state;
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    const char *bad[] = {"\x80", "\xbf", "\xfc\x80\x80\x80\x80\xaf"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(kf_atc_ctx_add_str(c, "http.path", bad[i]), KGC_EINVAL);
        assert_string_equal(kf_atc_ctx_error(c), "invalid utf-8 sequence of 1 bytes from index 0");
    }
    kf_atc_ctx_free(c);
}

/* t/02-bugs.t:98-116: long junk fails with an error, no crash; src/ffi.rs:15 caps messages */
static void test_long_inputs(void **state)
{
    (void)state;
    static const size_t lens[] = {128, 256, 512, 1024, 2048, 4096, 100000};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        char *s = malloc(lens[i] + 1);
        memset(s, 'a', lens[i]);
        s[lens[i]] = '\0';
        struct kf_atc_expr *e = NULL;
        static char err[8192];
        assert_int_equal(kf_atc_parse(KF_ATC_HTTP, s, &e, err, sizeof(err)), KGC_EINVAL);
        assert_true(strlen(err) > 0 && strlen(err) <= 4096);
        free(s);
    }
    /* deep nesting is capped with an error instead of exhausting the stack */
    size_t depth = 100000;
    char *s = malloc(depth * 2 + 32);
    size_t k = 0;
    for (size_t i = 0; i < depth; i++)
        s[k++] = '(';
    memcpy(s + k, "http.path == \"a\"", 16);
    k += 16;
    for (size_t i = 0; i < depth; i++)
        s[k++] = ')';
    s[k] = '\0';
    struct kf_atc_expr *e = NULL;
    char err[4096];
    assert_int_equal(kf_atc_parse(KF_ATC_HTTP, s, &e, err, sizeof(err)), KGC_EINVAL);
    /* the error points just past the 201st '(' (the message itself is past the 4096-byte cap) */
    assert_memory_equal(err, " --> 1:202\n", 11);
    free(s);
    /* a long flat chain evaluates without deep recursion */
    size_t terms = 20000;
    s = malloc(terms * 32);
    k = 0;
    for (size_t i = 0; i < terms; i++)
        k += (size_t)sprintf(s + k, "%shttp.path == \"a\"", i ? " && " : "");
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    kf_atc_ctx_add_str(c, "http.path", "a");
    assert_int_equal(kf_atc_parse(KF_ATC_HTTP, s, &e, err, sizeof(err)), 0);
    assert_true(kf_atc_expr_execute(e, c, NULL));
    kf_atc_expr_free(e);
    kf_atc_ctx_free(c);
    free(s);
}

/* kf_atc_expr_fields: distinct fields in first-use order (router.rs FieldCounter) */
static void test_fields(void **state)
{
    (void)state;
    struct kf_atc_expr *e = NULL;
    char err[256];
    assert_int_equal(kf_atc_parse(KF_ATC_HTTP,
                                  "http.path ^= \"/\" && (lower(http.headers.x_foo) == \"a\" || "
                                  "http.path == \"/b\")",
                                  &e, err, sizeof(err)),
                     0);
    const char *const *names;
    size_t n = kf_atc_expr_fields(e, &names);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "http.path");
    assert_string_equal(names[1], "http.headers.x_foo");
    kf_atc_expr_free(e);
}

/* ---- the Rust regex crate's syntax ---------------------------------------------------------- */

struct re_case {
    const char *re;
    const char *want; /* NULL: accepted */
};

static const struct re_case re_cases[] = {
    /* t/06-validate.t:205-213 */
    {"([.", "regex parse error:\n    ([.\n     ^\nerror: unclosed character class"},
    /* regex-syntax 0.8.3 src/ast/parse.rs:1227-1240 (look-around) */
    {"foo(?=bar)", "regex parse error:\n    foo(?=bar)\n       ^^^\nerror: look-around, including "
                   "look-ahead and look-behind, is not supported"},
    {"(?<!a)b", "regex parse error:\n    (?<!a)b\n    ^^^^\nerror: look-around, including "
                "look-ahead and look-behind, is not supported"},
    /* regex-syntax 0.8.3 src/ast/parse.rs:1479-1507 (backreferences) */
    {"(a)\\1",
     "regex parse error:\n    (a)\\1\n       ^^\nerror: backreferences are not supported"},
    /* regex-syntax 0.8.3 src/ast/parse.rs:1594 */
    {"a\\Kb", "regex parse error:\n    a\\Kb\n     ^^\nerror: unrecognized escape sequence"},
    /* regex-syntax 0.8.3 src/ast/parse.rs:808, 825 */
    {"(a", "regex parse error:\n    (a\n    ^\nerror: unclosed group"},
    /* regex-syntax 0.8.3 src/ast/parse.rs:762-768 */
    {"a)", "regex parse error:\n    a)\n     ^\nerror: unopened group"},
    /* regex-syntax 0.8.3 src/ast/parse.rs:1061-1068 */
    {"*a", "regex parse error:\n    *a\n    ^\nerror: repetition operator missing expression"},
    /* regex-syntax 0.8.3 src/error.rs:271-283 (test repetition_quantifier_expects_a_valid_decimal)
     */
    {"\\\\u{[^}]*}", "regex parse error:\n    \\\\u{[^}]*}\n        ^\nerror: repetition "
                     "quantifier expects a valid "
                     "decimal"},
    /* Rust accepts what PCRE would read differently; these must compile */
    {"a*+", NULL},
    {"(?P<name>x)(?<n2>y)", NULL},
    {"[[:alpha:]]+", NULL},
    {"\\/\\-", NULL},
    {"(?i)abc", NULL},
    {"(?x) a b # comment", NULL},
    /* atomic group and possessive-looking syntax are not Rust: (?> is an unknown flag */
    {"(?>a)", "regex parse error:\n    (?>a)\n      ^\nerror: unrecognized flag"},
};

static void test_regex_check(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(re_cases) / sizeof(re_cases[0]); i++) {
        char err[4096];
        int rc = kf_atc_regex_check(re_cases[i].re, err, sizeof(err));
        if (!re_cases[i].want) {
            if (rc != 0)
                fail_msg("%s: refused: %s", re_cases[i].re, err);
            continue;
        }
        if (rc != KGC_EINVAL)
            fail_msg("%s: accepted", re_cases[i].re);
        if (strcmp(err, re_cases[i].want) != 0)
            fail_msg("%s:\n--- got\n%s\n--- want\n%s", re_cases[i].re, err, re_cases[i].want);
    }
}

/* Rust regex semantics PCRE2 must follow: a*+ is (a*)+, $ is end of text only, \d Unicode */
static void test_regex_semantics(void **state)
{
    (void)state;
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    struct kf_atc_match m;
    kf_atc_ctx_add_str(c, "http.path", "aaa");
    assert_true(run1("http.path ~ \"^a*+a$\"", c, &m)); /* possessive in PCRE would fail */
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_str(c, "http.path", "abc\n");
    assert_false(run1("http.path ~ \"abc$\"", c, &m));
    assert_true(run1("http.path ~ \"(?m)abc$\"", c, &m));
    /* (?m)^ matches after the final newline too (regex-automata's StartLF look) */
    assert_true(run1("http.path ~ \"(?m)\\n^$\"", c, &m));
    assert_false(run1("http.path ~ \"\\n^$\"", c, &m));
    /* regex-syntax class set operations and nesting (src/ast/mod.rs ClassSetBinaryOpKind) */
    static const struct {
        const char *re, *yes, *no;
    } sets[] = {
        {"^[[:alpha:]--[a-c]]$", "d", "a"},
        {"^[a-z&&[^aeiou]]$", "b", "e"},
        {"^[ab~~bc]$", "c", "b"},
        {"^[a[^b-z]]$", "A", "b"},
        {"(?x)^[a b]$", "b", " "},
        {"^\\\\x{41}\\\\u0042$", "AB", "ab"},
        {"(?i)^stra\\\\x{df}e$",
         "STRA\xe1\xba\x9e"
         "E",
         "STRASSE"}, /* simple folding only */
        {"\\\\b{start}bar", "foo bar", "foobar"},
        {"^[[:digit:]]+$", "123", "\xd9\xa3"}, /* POSIX classes stay ASCII */
    };
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        char ex[128];
        snprintf(ex, sizeof(ex), "http.path ~ \"%s\"", sets[i].re);
        kf_atc_ctx_reset(c);
        kf_atc_ctx_add_str(c, "http.path", sets[i].yes);
        if (!run1(ex, c, &m))
            fail_msg("%s should match %s", sets[i].re, sets[i].yes);
        kf_atc_ctx_reset(c);
        kf_atc_ctx_add_str(c, "http.path", sets[i].no);
        if (run1(ex, c, &m))
            fail_msg("%s should not match %s", sets[i].re, sets[i].no);
    }
    kf_atc_ctx_reset(c);
    kf_atc_ctx_add_str(c, "http.path", "\xd9\xa3"); /* ARABIC-INDIC DIGIT THREE */
    assert_true(run1("http.path ~ \"^\\\\d$\"", c, &m));
    kf_atc_ctx_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grammar_ast),     cmocka_unit_test(test_errors),
        cmocka_unit_test(test_all_values_mode), cmocka_unit_test(test_interpreter_predicate),
        cmocka_unit_test(test_sanity_prefix),   cmocka_unit_test(test_priority),
        cmocka_unit_test(test_uuid_tiebreak),   cmocka_unit_test(test_equals_not_equals),
        cmocka_unit_test(test_in_not_in),       cmocka_unit_test(test_not),
        cmocka_unit_test(test_contains),        cmocka_unit_test(test_rawstr),
        cmocka_unit_test(test_regex_captures),  cmocka_unit_test(test_lower_and_case),
        cmocka_unit_test(test_queries),         cmocka_unit_test(test_segments),
        cmocka_unit_test(test_bad_utf8),        cmocka_unit_test(test_long_inputs),
        cmocka_unit_test(test_fields),          cmocka_unit_test(test_regex_check),
        cmocka_unit_test(test_regex_semantics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The test Kong's ATC routers (router_atc.c, router_atc_xform.c): the expressions and priorities
 * Kong 3.9.1's transform.lua generates, the expressions flavour's additions, the routes-schema
 * check of the ATC flavours, and select() over atc.h. Every case names the Kong 3.9.1 source it
 * comes from: spec/01-unit/08-router_spec.lua (expected expressions and matches),
 * spec/01-unit/01-db/01-schema/06-routes_spec.lua (validation), or kong/router/<file>.lua where the
 * spec asserts nothing (priorities). Cases that need the ATC language are skipped while atc.c is
 * a stub. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fakes/kong/atc.h"
#include "../fakes/kong/router_atc_impl.h"
#include "../fakes/kong/router_internal.h"

#include <kgc/err.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------------------------------- */

static json_object *parse(const char *text)
{
    json_object *o = json_tokener_parse(text);
    if (!o) {
        print_message("bad JSON in test: %s\n", text);
    }
    assert_non_null(o);
    return o;
}

/* Whether atc.c is real yet (it parses a trivial expression). */
static bool atc_ready(void)
{
    struct kf_atc_expr *e = NULL;
    char err[256];
    if (kf_atc_parse(KF_ATC_HTTP, "http.path == \"/\"", &e, err, sizeof(err)) != 0) {
        return false;
    }
    kf_atc_expr_free(e);
    return true;
}

#define NEED_ATC()                                                                                 \
    do {                                                                                           \
        if (!atc_ready()) {                                                                        \
            print_message("atc.c is a stub: skipped\n");                                           \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* ---- transform.lua get_expression (traditional_compatible) ----------------------------------- */

struct expr_case {
    const char *src; /* where Kong says so */
    const char *route;
    const char *want; /* NULL: kf_compat_expression refuses it */
};

static const struct expr_case expr_cases[] = {
    /* "check empty route fields": methods = {}, ngx.null, nil */
    {"08-router_spec.lua:2250-2255 empty methods {}",
     "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"methods\":[],\"paths\":[\"/foo\"]}",
     "(http.path ^= r#\"/foo\"#)"},
    {"08-router_spec.lua:2250-2255 empty methods null",
     "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"methods\":null,\"paths\":[\"/foo\"]}",
     "(http.path ^= r#\"/foo\"#)"},
    {"08-router_spec.lua:2250-2255 empty methods nil",
     "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"paths\":[\"/foo\"]}",
     "(http.path ^= r#\"/foo\"#)"},
    {"08-router_spec.lua:2257-2262 empty hosts",
     "{\"methods\":[\"GET\"],\"paths\":[\"/foo\"],\"hosts\":[]}",
     "(http.method == r#\"GET\"#) && (http.path ^= r#\"/foo\"#)"},
    {"08-router_spec.lua:2257-2262 empty hosts null",
     "{\"methods\":[\"GET\"],\"paths\":[\"/foo\"],\"hosts\":null}",
     "(http.method == r#\"GET\"#) && (http.path ^= r#\"/foo\"#)"},
    {"08-router_spec.lua:2264-2269 empty headers {}",
     "{\"methods\":[\"GET\"],\"paths\":[\"/foo\"],\"headers\":{}}",
     "(http.method == r#\"GET\"#) && (http.path ^= r#\"/foo\"#)"},
    {"08-router_spec.lua:2271-2276 empty paths", "{\"methods\":[\"GET\"],\"paths\":[]}",
     "(http.method == r#\"GET\"#)"},
    {"08-router_spec.lua:2278-2283 empty snis",
     "{\"methods\":[\"GET\"],\"paths\":[\"/foo\"],\"snis\":[]}",
     "(http.method == r#\"GET\"#) && (http.path ^= r#\"/foo\"#)"},
    {"08-router_spec.lua:2302-2308 raw string: path has '\"'",
     "{\"methods\":[\"GET\"],\"paths\":[\"~/\\\\\\\"/*$\"]}",
     "(http.method == r#\"GET\"#) && (http.path ~ r#\"^/\\\"/*$\"#)"},
    {"08-router_spec.lua:2310-2316 raw string: path has '\"#'",
     "{\"methods\":[\"GET\"],\"paths\":[\"~/\\\\\\\"#/*$\"]}",
     "(http.method == r#\"GET\"#) && (http.path ~ \"^/\\\\\\\"#/*$\")"},
    {"08-router_spec.lua:2334-2340 regex path has double '\\'",
     "{\"methods\":[\"GET\"],\"paths\":[\"~/\\\\\\\\/*$\"]}",
     "(http.method == r#\"GET\"#) && (http.path ~ r#\"^/\\\\/*$\"#)"},
    {"08-router_spec.lua:2342-2348 regex path has '\\d'",
     "{\"methods\":[\"GET\"],\"paths\":[\"~/\\\\d+\"]}",
     "(http.method == r#\"GET\"#) && (http.path ~ r#\"^/\\d+\"#)"},
    {"08-router_spec.lua:2365-2372 lower() for http.headers.*",
     "{\"methods\":[\"GET\"],\"headers\":{\"test\":[\"~*Quote\"]}}",
     "(http.method == r#\"GET\"#) && (any(lower(http.headers.test)) ~ r#\"quote\"#)"},
    {"08-router_spec.lua:2374-2380 host with port uses net.dst.port",
     "{\"hosts\":[\"www.example.com:8000\"]}",
     "((http.host == r#\"www.example.com\"# && net.dst.port == 8000))"},
    /* stream, traditional_compatible: "check empty route fields" */
    {"08-router_spec.lua:4841-4846 stream: empty snis",
     "{\"protocols\":[\"tls\"],\"snis\":[],\"sources\":[{\"ip\":\"127.0.0.1\"}]}",
     "(net.src.ip == 127.0.0.1)"},
    {"08-router_spec.lua:4848-4854 stream: empty snis and src cidr",
     "{\"protocols\":[\"tls\"],\"sources\":[{\"ip\":\"127.168.0.1/8\"}]}",
     "(net.src.ip in 127.0.0.0/8)"},
    {"08-router_spec.lua:4856-4863 stream: empty snis and dst cidr",
     "{\"protocols\":[\"tls\"],\"snis\":null,\"sources\":[{\"ip\":\"127.0.0.1\"}],"
     "\"destinations\":[{\"ip\":\"192.168.0.1/16\"}]}",
     "(net.src.ip == 127.0.0.1) && (net.dst.ip in 192.168.0.0/16)"},
    {"08-router_spec.lua:4865-4872 stream: empty sources",
     "{\"protocols\":[\"tls\"],\"snis\":[\"www.example.org\"],\"sources\":[],"
     "\"destinations\":[{\"ip\":\"192.168.0.1/16\"}]}",
     "(net.protocol != r#\"tls\"# || (tls.sni == r#\"www.example.org\"#)) && (net.dst.ip in "
     "192.168.0.0/16)"},
    {"08-router_spec.lua:4874-4880 stream: empty destinations",
     "{\"protocols\":[\"tls\"],\"snis\":[\"www.example.org\"],\"sources\":[{\"ip\":\"127.0.0.1\"}],"
     "\"destinations\":null}",
     "(net.protocol != r#\"tls\"# || (tls.sni == r#\"www.example.org\"#)) && (net.src.ip == "
     "127.0.0.1)"},
    /* transform.lua facts the spec does not spell out */
    {"transform.lua:344-355 http SNIs only count on https, wildcards =^ / ^= (281-314)",
     "{\"protocols\":[\"https\"],\"snis\":[\"*.example.org\",\"example.*\",\"a.test.\"]}",
     "(net.protocol != r#\"https\"# || (tls.sni =^ r#\".example.org\"# || tls.sni ^= "
     "r#\"example.\"# || tls.sni == r#\"a.test\"#))"},
    {"transform.lua:385-413 wildcard hosts, host:port, hosts not escaped",
     "{\"hosts\":[\"*.a.test\",\"b.*\",\"c.test:81\"]}",
     "(http.host =^ r#\".a.test\"# || http.host ^= r#\"b.\"# || (http.host == r#\"c.test\"# && "
     "net.dst.port == 81))"},
    {"transform.lua:322-328 regex paths: ^ anchor and (?< -> (?P<",
     "{\"paths\":[\"~/u/(?<id>\\\\d+)$\"]}", "(http.path ~ r#\"^/u/(?P<id>\\d+)$\"#)"},
    {"transform.lua:194-260 sources: ip+port, port only, cidr (sources then destinations)",
     "{\"protocols\":[\"tcp\"],\"sources\":[{\"ip\":\"10.1.2.3/24\",\"port\":80},{\"port\":81}],"
     "\"destinations\":[{\"ip\":\"::1\"}]}",
     "((net.src.ip in 10.1.2.0/24 && net.src.port == 80) || net.src.port == 81) && (net.dst.ip "
     "== ::1)"},
    {"transform.lua:424-445 headers: names lower-cased, '-' -> '_', values lower-cased",
     "{\"headers\":{\"X-Ver\":[\"V1\",\"v2\"],\"b\":[\"~*^A.*\"]}}",
     "(any(lower(http.headers.x_ver)) == r#\"v1\"# || any(lower(http.headers.x_ver)) == "
     "r#\"v2\"#) && (any(lower(http.headers.b)) ~ r#\"^a.*\"#)"},
    {"transform.lua:336-338 'expression' wins over the other fields",
     "{\"expression\":\"http.path == \\\"/x\\\"\",\"paths\":[\"/foo\"]}", "http.path == \"/x\""},
    {"transform.lua:371-376 stream routes ignore HTTP fields",
     "{\"protocols\":[\"tcp\"],\"paths\":[\"/foo\"],\"sources\":[{\"port\":1}]}",
     "(net.src.port == 1)"},
    {"transform.lua:448-452 nothing to express: \"\" (kf_compat_expression refuses it)",
     "{\"protocols\":[\"http\"]}", NULL},
};

static void test_compat_expressions(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof(expr_cases) / sizeof(expr_cases[0]); i++) {
        const struct expr_case *c = &expr_cases[i];
        json_object *route = parse(c->route);
        char *expr = NULL;
        uint64_t prio = 0;
        int rc = kf_compat_expression(route, true, &expr, &prio);
        bool ok =
            c->want ? rc == 0 && expr && strcmp(expr, c->want) == 0 : rc == KGC_EINVAL && !expr;
        if (!ok) {
            print_message("FAIL %s\n  want %s\n  got  rc=%d %s\n", c->src,
                          c->want ? c->want : "(refused)", rc, expr ? expr : "(null)");
            failed++;
        }
        free(expr);
        json_object_put(route);
    }
    assert_int_equal(failed, 0);
}

/* ---- transform.lua get_priority ------------------------------------------------------------- */

struct prio_case {
    const char *src;
    const char *route;
    uint64_t want;
};

static const struct prio_case prio_cases[] = {
    {"transform.lua:625-665 one path: weight 1 (a 32-bit shift: bit 29) + its length",
     "{\"paths\":[\"/foo\"]}", 0x20000004u},
    {"transform.lua:609-618,660 plain hosts add PLAIN_HOST_ONLY_BIT (a cdata: 64-bit bor)",
     "{\"hosts\":[\"a.test\"],\"paths\":[\"/foo\"]}", (UINT64_C(1) << 60) | 0x40000000u | 4u},
    {"transform.lua:609-618 a wildcard host clears the plain-host bit",
     "{\"hosts\":[\"*.a.test\"],\"paths\":[\"/foo\"]}", 0x40000004u},
    {"transform.lua:609 an empty hosts list is still a table: plain-host bit, weight 0",
     "{\"hosts\":[],\"methods\":[\"GET\"]}", (UINT64_C(1) << 60) | 0x20000000u},
    {"transform.lua:591-603,655 header count at bit 20 (32-bit shift of 52)",
     "{\"headers\":{\"a\":[\"1\"],\"b\":[\"2\"]}}", 0x20000000u | (2u << 20)},
    {"transform.lua:629-657 regex path: REGEX_URL_BIT, regex_priority << 19, no length",
     "{\"paths\":[\"~/a\"],\"regex_priority\":5}", (UINT64_C(1) << 51) | 0x20000000u | (5u << 19)},
    {"transform.lua:657 regex_priority only counts for regex paths",
     "{\"paths\":[\"/ab\"],\"regex_priority\":5}", 0x20000003u},
    {"transform.lua:654 + luajit2 lj_num2u64: weight >= 4 is negative in 32 bits -> bit 63 only",
     "{\"methods\":[\"GET\"],\"paths\":[\"/a\"],\"headers\":{\"h\":[\"v\"]},\"snis\":[\"s\"]}",
     UINT64_C(0x8000000000000000)},
    {"transform.lua:654,660 weight >= 4 with a plain host: bit 63 | bit 60 | the rest",
     "{\"methods\":[\"GET\"],\"hosts\":[\"a\"],\"paths\":[\"/a\"],\"headers\":{\"h\":[\"v\"]}}",
     UINT64_C(0x8000000000000000) | (UINT64_C(1) << 60) | (1u << 20) | 2u},
    {"transform.lua:657 + lj_num2u64: a negative regex_priority << 19 is bit 63 (LuaJIT-checked)",
     "{\"hosts\":[\"*.a\"],\"paths\":[\"~/a\"],\"regex_priority\":-1}",
     UINT64_C(0x8000000000000000) | (UINT64_C(1) << 51) | 0x40000000u},
    {"transform.lua:657: regex_priority 5000 << 19 overflows 32 bits: bit 63 too (LuaJIT-checked)",
     "{\"hosts\":[\"*.a\"],\"paths\":[\"~/a\"],\"regex_priority\":5000}",
     UINT64_C(0x8000000000000000) | (UINT64_C(1) << 51) | 0x40000000u},
    {"transform.lua:560-561 expression routes: 0xFF << 56 | priority",
     "{\"expression\":\"http.path == \\\"/\\\"\",\"priority\":100}", (UINT64_C(0xFF) << 56) | 100u},
    {"transform.lua:561 priority near 2^46 (08-router_spec.lua:5885-5921)",
     "{\"expression\":\"http.path ^= \\\"/foo\\\"\",\"priority\":70368744177662}",
     (UINT64_C(0xFF) << 56) | UINT64_C(70368744177662)},
    {"transform.lua:506-529 stream: SNI bit 61", "{\"protocols\":[\"tls\"],\"snis\":[\"a.test\"]}",
     UINT64_C(1) << 61},
    {"transform.lua:478-504,521-526 stream: src ip+port << 4 | dst cidr",
     "{\"protocols\":[\"tcp\"],\"sources\":[{\"ip\":\"1.2.3.4\",\"port\":80}],"
     "\"destinations\":[{\"ip\":\"10.0.0.0/8\"}]}",
     (UINT64_C(1) << 61) | (0xCu << 4) | 0x1u},
    {"transform.lua:506-519 stream: sources only have no SNI bit",
     "{\"protocols\":[\"udp\"],\"sources\":[{\"port\":53}]}", 0x4u << 4},
};

static void test_priorities(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof(prio_cases) / sizeof(prio_cases[0]); i++) {
        const struct prio_case *c = &prio_cases[i];
        json_object *route = parse(c->route);
        uint64_t got = 0;
        char err[256] = "";
        int rc = atcr_get_priority(route, &got, err, sizeof(err));
        if (rc != 0 || got != c->want) {
            print_message("FAIL %s\n  want 0x%016llx got rc=%d 0x%016llx %s\n", c->src,
                          (unsigned long long)c->want, rc, (unsigned long long)got, err);
            failed++;
        }
        json_object_put(route);
    }
    assert_int_equal(failed, 0);
}

static void test_priority_lua_errors(void **state)
{
    (void)state;
    /* transform.lua:640-645: get_priority asserts the paths it is given were split by group */
    json_object *route = parse("{\"paths\":[\"/a\",\"/bb\"]}");
    uint64_t p;
    char err[256] = "";
    assert_int_equal(atcr_get_priority(route, &p, err, sizeof(err)), KGC_EINVAL);
    assert_non_null(strstr(err, "cannot mix different length prefixes in get_priority()"));
    json_object_put(route);
    /* transform.lua:561: `route.priority or 0` with ngx.null -> bit.bor raises */
    route = parse("{\"expression\":\"http.path == \\\"/\\\"\",\"priority\":null}");
    assert_int_equal(atcr_get_priority(route, &p, err, sizeof(err)), KGC_EINVAL);
    json_object_put(route);
}

/* ---- expressions.lua get_expression -------------------------------------------------------- */

static const struct expr_case flavor_cases[] = {
    {"expressions.lua:48-52 net.protocol appended, grpc -> http",
     "{\"protocols\":[\"grpc\",\"grpcs\"],\"expression\":\"http.path == \\\"/\\\"\"}",
     "http.path == \"/\" && (net.protocol == r#\"http\"# || net.protocol == r#\"https\"#)"},
    {"expressions.lua:40-46 a lone https/tls/tls_passthrough keeps the expression as is",
     "{\"protocols\":[\"https\"],\"expression\":\"http.path == \\\"/\\\"\"}", "http.path == \"/\""},
    {"transform.lua:764-789 net.port -> net.dst.port (06-routes_spec.lua:1692)",
     "{\"protocols\":[\"https\"],\"expression\":\"http.method == \\\"GET\\\" && net.port == "
     "8000\"}",
     "http.method == \"GET\" && net.dst.port == 8000"},
    {"expressions.lua:31 traditional fields are converted too (tls_passthrough -> tcp)",
     "{\"protocols\":[\"tcp\",\"tls_passthrough\"],\"sources\":[{\"port\":1}]}",
     "(net.src.port == 1) && (net.protocol == r#\"tcp\"# || net.protocol == r#\"tcp\"#)"},
    {"expressions.lua:30-55 no protocols: nothing appended", "{\"paths\":[\"/a\"]}",
     "(http.path ^= r#\"/a\"#)"},
};

static void test_expressions_flavor(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof(flavor_cases) / sizeof(flavor_cases[0]); i++) {
        const struct expr_case *c = &flavor_cases[i];
        json_object *route = parse(c->route);
        char *expr = NULL;
        char err[256] = "";
        int rc = atcr_flavor_expression(KF_FLAVOR_EXPRESSIONS, route, &expr, err, sizeof(err));
        if (rc != 0 || !expr || strcmp(expr, c->want) != 0) {
            print_message("FAIL %s\n  want %s\n  got  rc=%d %s %s\n", c->src, c->want, rc,
                          expr ? expr : "(null)", err);
            failed++;
        }
        free(expr);
        json_object_put(route);
    }
    /* compat.lua:18: traditional_compatible hands get_expression over unchanged */
    json_object *route = parse("{\"protocols\":[\"http\"],\"expression\":\"net.port == 1\"}");
    char *expr = NULL;
    char err[64];
    assert_int_equal(
        atcr_flavor_expression(KF_FLAVOR_TRADITIONAL_COMPATIBLE, route, &expr, err, sizeof(err)),
        0);
    assert_string_equal(expr, "net.port == 1");
    free(expr);
    json_object_put(route);
    assert_int_equal(failed, 0);
}

/* 300 routes whose expression and priority Kong's own transform.lua computed under LuaJIT
 * (test/fakes/kong/spec/atc_transform_cases.tsv says how). */
static void test_transform_lua_outputs(void **state)
{
    (void)state;
    FILE *f = fopen("test/fakes/kong/spec/atc_transform_cases.tsv", "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int total = 0, bad = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[0] == '#') {
            continue;
        }
        if (line[n - 1] == '\n') {
            line[n - 1] = '\0';
        }
        char *col[4] = {0};
        char *p = line;
        for (int i = 0; i < 4 && p; i++) {
            col[i] = p;
            p = strchr(p, '\t');
            if (p) {
                *p++ = '\0';
            }
        }
        assert_non_null(col[3]);
        json_object *route = parse(col[0]);
        total++;
        char *expr = NULL;
        char err[512] = "";
        uint64_t prio = 0;
        int rce = atcr_get_expression(route, &expr, err, sizeof(err));
        int rcp = atcr_get_priority(route, &prio, err, sizeof(err));
        char ps[32];
        if (rcp != 0) {
            snprintf(ps, sizeof(ps), "ERR");
        } else {
            snprintf(ps, sizeof(ps), "%llu", (unsigned long long)prio);
        }
        bool ok = strcmp(ps, col[2]) == 0;
        if (strcmp(col[3], "M") != 0) {
            ok = ok &&
                 (strcmp(col[1], "ERR") == 0 ? rce != 0 : rce == 0 && strcmp(expr, col[1]) == 0);
        }
        if (!ok) {
            print_message("MISMATCH %s\n  Kong: %s | %s\n  fake: %s | %s\n", col[0], col[1], col[2],
                          rce ? "ERR" : expr, ps);
            bad++;
        }
        free(expr);
        json_object_put(route);
    }
    free(line);
    fclose(f);
    assert_int_equal(total, 300);
    assert_int_equal(bad, 0);
}

static void test_split_host_port(void **state)
{
    (void)state;
    /* transform.lua:72-99: first ':' and a Lua number after it */
    static const struct {
        const char *in, *host;
        bool has_port;
        double port;
    } cases[] = {
        {"example.com:123", "example.com", true, 123},
        {"example.*:123", "example.*", true, 123},
        {"example.com", "example.com", false, 0},
        {"example.com:", "example.com:", false, 0},
        {"example.com:8a", "example.com:8a", false, 0},
        {"[::1]:80", "[::1]:80", false, 0}, /* tonumber(":1]:80") is nil */
        {"a:0x10", "a", true, 16},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *host = NULL;
        bool hp;
        double port;
        assert_int_equal(atcr_split_host_port(cases[i].in, &host, &hp, &port), 0);
        assert_string_equal(host, cases[i].host);
        assert_int_equal(hp, cases[i].has_port);
        if (hp) {
            assert_true(port == cases[i].port);
        }
        free(host);
    }
}

/* ---- routes.lua validate_route -------------------------------------------------------------- */

struct val_case {
    const char *src;
    enum kf_flavor flavor;
    const char *route;
    const char *want; /* NULL = valid; else the message, or its prefix when it ends in '*' */
    bool needs_atc;
};

#define EXPR_WITH_OTHERS                                                                           \
    "Router Expression failed validation: cannot set 'expression' with 'methods', 'hosts', "       \
    "'paths', 'headers', 'snis', 'sources' or 'destinations' simultaneously"
#define PRIO_WITH_OTHERS                                                                           \
    "Router Expression failed validation: cannot set 'priority' with 'methods', 'hosts', "         \
    "'paths', 'headers', 'snis', 'sources' or 'destinations' simultaneously"
#define E  KF_FLAVOR_EXPRESSIONS
#define TC KF_FLAVOR_TRADITIONAL_COMPATIBLE

static const struct val_case val_cases[] = {
    {"06-routes_spec.lua:1333-1364 expression + methods", E,
     "{\"protocols\":[\"http\"],\"expression\":\"(http.method == "
     "\\\"GET\\\")\",\"methods\":[\"GET\","
     "\"POST\"]}",
     EXPR_WITH_OTHERS, false},
    {"06-routes_spec.lua:1333-1364 expression + hosts", E,
     "{\"protocols\":[\"http\"],\"expression\":\"(http.method == "
     "\\\"GET\\\")\",\"hosts\":[\"example."
     "com\"]}",
     EXPR_WITH_OTHERS, false},
    {"06-routes_spec.lua:1333-1364 expression + headers", E,
     "{\"protocols\":[\"http\"],\"expression\":\"(http.method == \\\"GET\\\")\",\"headers\":{"
     "\"location\":[\"location-1\"]}}",
     EXPR_WITH_OTHERS, false},
    {"06-routes_spec.lua:1333-1364 expression + sources", E,
     "{\"protocols\":[\"http\"],\"expression\":\"(http.method == "
     "\\\"GET\\\")\",\"sources\":[{\"ip\":"
     "\"127.0.0.1\"}]}",
     EXPR_WITH_OTHERS, false},
    {"06-routes_spec.lua:1333-1364 expression + regex_priority (routes.lua:85-91)", E,
     "{\"protocols\":[\"http\"],\"expression\":\"(http.method == \\\"GET\\\")\",\"regex_priority\":"
     "100}",
     "Router Expression failed validation: cannot set 'regex_priority' with 'expression' "
     "simultaneously",
     false},
    {"06-routes_spec.lua:1367-1395 priority + paths", E,
     "{\"protocols\":[\"http\"],\"priority\":100,\"paths\":[\"/ovo\"]}", PRIO_WITH_OTHERS, false},
    {"06-routes_spec.lua:1367-1395 priority + destinations", E,
     "{\"protocols\":[\"http\"],\"priority\":100,\"destinations\":[{\"ip\":\"127.0.0.1\"}]}",
     PRIO_WITH_OTHERS, false},
    {"routes.lua:74-76 nothing set: the check passes (the subschema complains)", E,
     "{\"protocols\":[\"http\"],\"priority\":0,\"expression\":null}", NULL, false},
    {"routes.lua:85-86 regex_priority 0 means 'not set'", E,
     "{\"protocols\":[\"http\"],\"expression\":\"http.path == \\\"/\\\"\",\"regex_priority\":0}",
     NULL, true},
    {"routes.lua:45 the traditional flavour has no router check", KF_FLAVOR_TRADITIONAL,
     "{\"protocols\":[\"http\"],\"expression\":\"broken\",\"paths\":[\"/a\"]}", NULL, false},
    {"06-routes_spec.lua:1421-1432 invalid expression", E,
     "{\"protocols\":[\"http\"],\"priority\":100,\"expression\":\"(http.method == \\\"GET\\\") "
     "&&\"}",
     "Router Expression failed validation: *", true},
    {"06-routes_spec.lua:1286-1303 a valid expression route", E,
     "{\"protocols\":[\"http\"],\"expression\":\"(http.method == \\\"GET\\\")\",\"priority\":100}",
     NULL, true},
    {"06-routes_spec.lua:1305-1330 a valid route without expression (expressions)", E,
     "{\"protocols\":[\"https\"],\"methods\":[\"GET\",\"POST\"],\"hosts\":[\"example.com\"],"
     "\"headers\":{\"location\":[\"location-1\"]},\"paths\":[\"/ovo\"],\"snis\":[\"example.org\"],"
     "\"sources\":[{\"ip\":\"127.0.0.1\"}],\"destinations\":[{\"ip\":\"127.0.0.1\"}]}",
     NULL, true},
    {"06-routes_spec.lua:1444-1462 a valid http route (traditional_compatible)", TC,
     "{\"protocols\":[\"http\"],\"methods\":[\"GET\",\"POST\"],\"hosts\":[\"example.com\"],"
     "\"headers\":{\"location\":[\"location-1\"]},\"paths\":[\"/ovo\"],\"regex_priority\":1}",
     NULL, true},
    {"06-routes_spec.lua:1464-1477 a valid stream route (traditional_compatible)", TC,
     "{\"protocols\":[\"tcp\"],\"sources\":[{\"ip\":\"1.2.3.4\",\"port\":80}]}", NULL, true},
    {"06-routes_spec.lua:1517-1529 won't fail when rust.regex update to 1.8", TC,
     "{\"protocols\":[\"http\"],\"paths\":[\"~/\\\\/*/user$\"]}", NULL, true},
    {"06-routes_spec.lua:1596-1612 a 'not' expression", E,
     "{\"protocols\":[\"http\"],\"priority\":100,\"expression\":\"!(http.method == \\\"GET\\\") && "
     "!(http.host == \\\"example.com\\\") && !(http.path ^= \\\"/foo\\\")\"}",
     NULL, true},
    {"06-routes_spec.lua:1631-1641 a valid stream expression", E,
     "{\"protocols\":[\"tcp\"],\"priority\":100,\"expression\":\"net.src.ip == 1.2.3.4 && "
     "net.src.port == 80\"}",
     NULL, true},
    {"06-routes_spec.lua:1675-1688 an http field in a stream route", E,
     "{\"protocols\":[\"tcp\"],\"priority\":100,\"expression\":\"http.method == \\\"GET\\\" && "
     "net.src.ip == 1.2.3.4 && net.src.port == 80\"}",
     "Router Expression failed validation: *", true},
    {"06-routes_spec.lua:1690-1712 net.port still accepted in http routes", E,
     "{\"protocols\":[\"grpc\"],\"priority\":100,\"expression\":\"http.method == \\\"GET\\\" && "
     "net.port == 8000\"}",
     NULL, true},
    {"06-routes_spec.lua:1747-1767 http.path.segments.20_30", E,
     "{\"protocols\":[\"grpcs\"],\"priority\":100,\"expression\":\"http.path.segments.20_30 ~ "
     "r#\\\"x/y\\\"#\"}",
     NULL, true},
    {"06-routes_spec.lua:1770-1801 http.path.segments.2_1", E,
     "{\"protocols\":[\"http\"],\"priority\":100,\"expression\":\"http.path.segments.2_1 == "
     "\\\"foo\\\"\"}",
     "Router Expression failed validation: illformed http.path.segments.* field", true},
    {"06-routes_spec.lua:1770-1801 http.path.segments.01_2", E,
     "{\"protocols\":[\"http\"],\"priority\":100,\"expression\":\"http.path.segments.01_2 == "
     "\\\"foo\\\"\"}",
     "Router Expression failed validation: illformed http.path.segments.* field", true},
    {"06-routes_spec.lua:1770-1801 http.path.segments.len == \"10\"", E,
     "{\"protocols\":[\"http\"],\"priority\":100,\"expression\":\"http.path.segments.len == "
     "\\\"10\\\"\"}",
     "Router Expression failed validation: *", true},
};

static void test_validate(void **state)
{
    (void)state;
    bool ready = atc_ready();
    int failed = 0, skipped = 0;
    for (size_t i = 0; i < sizeof(val_cases) / sizeof(val_cases[0]); i++) {
        const struct val_case *c = &val_cases[i];
        if (c->needs_atc && !ready) {
            skipped++;
            continue;
        }
        json_object *route = parse(c->route);
        const char *field = "unset";
        char err[1024] = "";
        int rc = kf_route_validate(c->flavor, route, &field, err, sizeof(err));
        bool ok;
        if (!c->want) {
            ok = rc == 0;
        } else {
            size_t wl = strlen(c->want);
            ok =
                rc == KGC_EINVAL && field == NULL &&
                (c->want[wl - 1] == '*' ? strncmp(err, c->want, wl - 1) == 0 && strlen(err) > wl - 1
                                        : strcmp(err, c->want) == 0);
        }
        if (!ok) {
            print_message("FAIL %s\n  want %s\n  got  rc=%d %s\n", c->src,
                          c->want ? c->want : "(valid)", rc, err);
            failed++;
        }
        json_object_put(route);
    }
    if (skipped) {
        print_message("%d validation cases need atc.c: skipped\n", skipped);
    }
    assert_int_equal(failed, 0);
}

static void test_validate_segments(void **state)
{
    (void)state;
    NEED_ATC();
    /* 06-routes_spec.lua:1747-1767: accepted segment fields */
    static const char *const good[] = {
        "http.path.segments.0 == \"foo\"",
        "http.path.segments.1 ^= \"bar\"",
        "http.path.segments.20_30 ~ r#\"x/y\"#",
        "http.path.segments.len == 10",
    };
    /* 06-routes_spec.lua:1779-1794: refused ones (a parse, type or routes.lua:110-121 error) */
    static const char *const bad[] = {
        "http.path.segments.len0   == 10",      "http.path.segments.len_a  == 10",
        "http.path.segments.len    == \"10\"",  "http.path.segments.       == \"foo\"",
        "http.path.segments.abc    == \"foo\"", "http.path.segments.a_c    == \"foo\"",
        "http.path.segments.1_2_3  == \"foo\"", "http.path.segments.1_     == \"foo\"",
        "http.path.segments._1     == \"foo\"", "http.path.segments.2_1    == \"foo\"",
        "http.path.segments.1_1    == \"foo\"", "http.path.segments.01_2   == \"foo\"",
        "http.path.segments.001_2  == \"foo\"", "http.path.segments.1_03   == \"foo\"",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]) + sizeof(bad) / sizeof(bad[0]); i++) {
        bool is_good = i < sizeof(good) / sizeof(good[0]);
        const char *expr = is_good ? good[i] : bad[i - sizeof(good) / sizeof(good[0])];
        json_object *route = json_object_new_object();
        json_object *protos = json_object_new_array();
        json_object_array_add(protos, json_object_new_string(is_good ? "grpcs" : "http"));
        json_object_object_add(route, "protocols", protos);
        json_object_object_add(route, "priority", json_object_new_int(100));
        json_object_object_add(route, "expression", json_object_new_string(expr));
        const char *field = "unset";
        char err[1024] = "";
        int rc = kf_route_validate(E, route, &field, err, sizeof(err));
        if (is_good ? rc != 0
                    : rc != KGC_EINVAL ||
                          strncmp(err, "Router Expression failed validation: ", 37) != 0) {
            print_message("FAIL %s: rc=%d %s\n", expr, rc, err);
        }
        assert_int_equal(rc, is_good ? 0 : KGC_EINVAL);
        assert_null(is_good ? NULL : field);
        json_object_put(route);
    }
}

/* ---- select() -------------------------------------------------------------------------------- */

struct rt {
    void *impl;
    json_object *routes; /* array */
};

/* The router over the first `limit` routes of routes_json (0 = all). */
static void rt_new_n(struct rt *r, enum kf_flavor flavor, bool http, const char *routes_json,
                     size_t limit)
{
    r->routes = parse(routes_json);
    size_t n = json_object_array_length(r->routes);
    if (limit && limit < n) {
        json_object_array_del_idx(r->routes, limit, n - limit);
        n = limit;
    }
    struct kf_route_in *in = calloc(n ? n : 1, sizeof(*in));
    assert_non_null(in);
    for (size_t i = 0; i < n; i++) {
        in[i].route = json_object_array_get_idx(r->routes, i);
    }
    char err[512] = "";
    int rc = kf_atcr_new(flavor, http, in, n, &r->impl, err, sizeof(err));
    if (rc != 0) {
        print_message("kf_atcr_new: %d %s\n", rc, err);
    }
    assert_int_equal(rc, 0);
    free(in);
}

static void rt_new(struct rt *r, enum kf_flavor flavor, bool http, const char *routes_json)
{
    rt_new_n(r, flavor, http, routes_json, 0);
}

static void rt_free(struct rt *r)
{
    kf_atcr_free(r->impl);
    json_object_put(r->routes);
}

/* The route index select() picks (-1 none); m kept for inspection when not NULL. */
static int sel(const struct rt *r, const struct kf_request *req, struct kf_match *keep)
{
    struct kf_match m;
    char err[256] = "";
    int rc = kf_atcr_select(r->impl, req, &m, err, sizeof(err));
    if (rc != 0) {
        print_message("select error %d: %s\n", rc, err);
    }
    assert_int_equal(rc, 0);
    int idx = m.route;
    if (keep) {
        *keep = m;
    } else {
        kf_match_clear(&m);
    }
    return idx;
}

static int sel_simple(const struct rt *r, const char *method, const char *uri, const char *host)
{
    struct kf_request req = {.method = method, .uri = uri, .host = host, .scheme = "http"};
    return sel(r, &req, NULL);
}

/* 08-router_spec.lua:153-366, the select() use_case (routes 1..15 are indexes 0..14) */
static const char *const SELECT_USE_CASE =
    "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"hosts\":[\"domain-1.org\",\"domain-2."
    "org\"]},"
    "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8102\",\"methods\":[\"TRACE\"]},"
    "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8103\",\"paths\":[\"/my-route\"]},"
    "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8104\",\"paths\":[\"/"
    "route-4\"],\"hosts\":[\"domain-1."
    "org\",\"domain-2.org\"]},"
    "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8105\",\"hosts\":[\"domain-1.org\",\"domain-2.org\"]"
    ","
    "\"methods\":[\"POST\",\"PUT\",\"PATCH\"]},"
    "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8106\",\"methods\":[\"POST\",\"PUT\",\"PATCH\"],"
    "\"paths\":[\"/route-6\"]},"
    "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8107\",\"hosts\":[\"domain-with-uri-1.org\","
    "\"domain-"
    "with-uri-2.org\"],\"methods\":[\"POST\",\"PUT\",\"PATCH\"],\"paths\":[\"/my-route-uri\"]},"
    "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8108\",\"paths\":[\"/serviceless\"]},"
    "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8109\",\"headers\":{\"location\":[\"my-location-1\","
    "\"my-location-2\"]}},"
    "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8110\",\"headers\":{\"location\":[\"my-location-1\"]"
    ","
    "\"version\":[\"v1\",\"v2\"]}},"
    "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8111\",\"headers\":{\"location\":[\"my-location-1\","
    "\"my-location-2\"]},\"paths\":[\"/headers-uri\"]},"
    "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8112\",\"hosts\":[\"domain-with-headers-1.org\","
    "\"domain-with-headers-2.org\"],\"headers\":{\"location\":[\"my-location-1\",\"my-location-2\"]"
    "},"
    "\"methods\":[\"POST\",\"PUT\",\"PATCH\"],\"paths\":[\"/headers-host-uri-method\"]},"
    "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8113\",\"hosts\":[\"domain-1.org:321\",\"domain-2."
    "org\"]},"
    "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8114\",\"hosts\":[\"domain-3.org:321\"]},"
    "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8115\",\"headers\":{\"user_agent\":[\"~*windows|"
    "linux|os\\\\s+x\\\\s*[\\\\d\\\\._]+|solaris|bsd\"]}}]";

static void test_select_use_case(void **state)
{
    (void)state;
    NEED_ATC();
    for (int f = TC; f <= E; f++) {
        struct rt r;
        rt_new(&r, (enum kf_flavor)f, true, SELECT_USE_CASE);
        /* 08-router_spec.lua:374-384 [host] */
        assert_int_equal(sel_simple(&r, "GET", "/", "domain-1.org"), 0);
        /* :387-397 [host] ignores default port */
        assert_int_equal(sel_simple(&r, "GET", "/", "domain-1.org:80"), 0);
        /* :410-422 [host] matches specific port */
        assert_int_equal(sel_simple(&r, "GET", "/", "domain-1.org:321"), 12);
        /* :424-435 [host] matches specific port on port-only route */
        assert_int_equal(sel_simple(&r, "GET", "/", "domain-3.org:321"), 13);
        /* :437-441 [host] fails just because of port on port-only route */
        assert_int_equal(sel_simple(&r, "GET", "/", "domain-3.org:123"), -1);
        /* :443-454 [uri] */
        assert_int_equal(sel_simple(&r, "GET", "/my-route", "domain.org"), 2);
        /* :456-468 [uri + empty host] */
        assert_int_equal(sel_simple(&r, "GET", "/my-route-uri", ""), 2);
        /* :470-480 [method] */
        assert_int_equal(sel_simple(&r, "TRACE", "/", "domain.org"), 1);
        /* :482-495 [host + uri] */
        assert_int_equal(sel_simple(&r, "GET", "/route-4", "domain-1.org"), 3);
        /* :497-507 [host + method] */
        assert_int_equal(sel_simple(&r, "POST", "/", "domain-1.org"), 4);
        /* :509-520 [uri + method] */
        assert_int_equal(sel_simple(&r, "PUT", "/route-6", "domain.org"), 5);
        /* :522-534 [host + uri + method] */
        assert_int_equal(sel_simple(&r, "PUT", "/my-route-uri", "domain-with-uri-2.org"), 6);
        /* :700-709 [serviceless] */
        assert_int_equal(sel_simple(&r, "GET", "/serviceless", NULL), 7);

        /* :536-596 single [headers] value, repeated headers, the regex header */
        struct kf_kv h1[] = {{"location", "my-location-2"}};
        struct kf_request req = {
            .method = "GET", .uri = "/", .scheme = "http", .headers = h1, .n_headers = 1};
        assert_int_equal(sel(&r, &req, NULL), 8);
        struct kf_kv h2[] = {{"location", "my-location-3"}, {"location", "my-location-2"}};
        req.headers = h2;
        req.n_headers = 2;
        assert_int_equal(sel(&r, &req, NULL), 8);
        struct kf_kv h3[] = {{"location", "my-location-3"}, {"location", "foo"}};
        req.headers = h3;
        assert_int_equal(sel(&r, &req, NULL), -1);
        struct kf_kv h4[] = {{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                                            "(KHTML, like Gecko) Chrome/83.0.4103.116"}};
        req.headers = h4;
        req.n_headers = 1;
        assert_int_equal(sel(&r, &req, NULL), 14);
        /* :598-661 multiple [headers] values; falls back to route 9 */
        struct kf_kv h5[] = {{"location", "my-location-1"}, {"version", "v2"}};
        req.headers = h5;
        req.n_headers = 2;
        assert_int_equal(sel(&r, &req, NULL), 9);
        struct kf_kv h6[] = {
            {"location", "my-location-3"}, {"location", "my-location-2"}, {"version", "v2"}};
        req.headers = h6;
        req.n_headers = 3;
        assert_int_equal(sel(&r, &req, NULL), 8);
        /* :680-698 [host + headers + uri + method] */
        struct kf_kv h7[] = {{"Location", "my-location-2"}};
        struct kf_request req2 = {.method = "PUT",
                                  .uri = "/headers-host-uri-method",
                                  .host = "domain-with-headers-1.org",
                                  .scheme = "http",
                                  .headers = h7,
                                  .n_headers = 1};
        assert_int_equal(sel(&r, &req2, NULL), 11);
        rt_free(&r);
    }
}

static void test_select_priorities(void **state)
{
    (void)state;
    NEED_ATC();
    /* 08-router_spec.lua:2862-2915 more [headers] has priority over longer [paths] */
    struct rt r;
    rt_new(&r, TC, true,
           "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"headers\":{\"version\":[\"v1\"]},"
           "\"paths\":[\"/my-route/hello\"]},"
           "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8102\",\"headers\":{\"version\":[\"v1\"],"
           "\"location\":[\"us-east\"]},\"paths\":[\"/my-route\"]}]");
    struct kf_kv h[] = {{"version", "v1"}, {"location", "us-east"}};
    struct kf_request req = {.method = "GET",
                             .uri = "/my-route/hello",
                             .host = "domain.org",
                             .scheme = "http",
                             .headers = h,
                             .n_headers = 2};
    assert_int_equal(sel(&r, &req, NULL), 1);
    rt_free(&r);

    /* 08-router_spec.lua:4889-4946 prefix matching ignores regex_priority (all flavours) */
    rt_new(
        &r, TC, true,
        "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"paths\":[\"/.*\"],\"hosts\":["
        "\"domain-1.org\"]},"
        "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8102\",\"paths\":[\"/\"],\"hosts\":[\"domain-2."
        "org\"],\"regex_priority\":5},"
        "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8103\",\"paths\":[\"/v1\"],\"hosts\":[\"domain-"
        "2.org\"]}]");
    assert_int_equal(sel_simple(&r, "GET", "/v1", "domain-2.org"), 2);
    rt_free(&r);

    /* 08-router_spec.lua:4950-5001 [both regex and prefix]: the route is split by path */
    rt_new(&r, E, true,
           "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"paths\":[\"~/some/thing/else\","
           "\"/foo\"],\"hosts\":[\"domain-1.org\"]},"
           "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8102\",\"paths\":[\"/foo/bar\"],\"hosts\":["
           "\"domain-1.org\"]}]");
    assert_int_equal(sel_simple(&r, "GET", "/some/thing/else", "domain-1.org"), 0);
    assert_int_equal(sel_simple(&r, "GET", "/foo/bar", "domain-1.org"), 1);
    rt_free(&r);

    /* 08-router_spec.lua:5003-5049 [overlapping prefixes] */
    rt_new(
        &r, TC, true,
        "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"paths\":[\"/foo\",\"/foo/bar/baz\"],"
        "\"hosts\":[\"domain-1.org\"]},"
        "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8102\",\"paths\":[\"/foo/bar\"],\"hosts\":["
        "\"domain-1.org\"]}]");
    assert_int_equal(sel_simple(&r, "GET", "/foo", "domain-1.org"), 0);
    assert_int_equal(sel_simple(&r, "GET", "/foo/bar", "domain-1.org"), 1);
    assert_int_equal(sel_simple(&r, "GET", "/foo/bar/baz/x", "domain-1.org"), 0);
    rt_free(&r);

    /* 08-router_spec.lua:2492-2599 [host] and [uri] have higher priority than [method] (its
     * use_case is the first 7 routes of the select() one) */
    rt_new_n(&r, TC, true, SELECT_USE_CASE, 7);
    assert_int_equal(sel_simple(&r, "TRACE", "/", "domain-2.org"), 0);
    assert_int_equal(sel_simple(&r, "TRACE", "/my-route", "domain.org"), 2);
    rt_free(&r);
}

static void test_select_expressions(void **state)
{
    (void)state;
    NEED_ATC();
    struct rt r;
    /* 08-router_spec.lua:5240-5286 select() should match http.queries */
    rt_new(&r, E, true,
           "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"expression\":\"http.path == "
           "\\\"/foo/bar\\\" && http.queries.a == \\\"1\\\"\",\"priority\":100},"
           "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8102\",\"expression\":\"http.path == "
           "\\\"/foo/bar\\\" && http.queries.a == \\\"\\\"\",\"priority\":100},"
           "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8103\",\"expression\":\"http.path == "
           "\\\"/foo/bar\\\" && any(http.queries.a) == \\\"2\\\"\",\"priority\":100}]");
    struct kf_kv q1[] = {{"a", "1"}};
    struct kf_request req = {.method = "GET", .uri = "/foo/bar", .queries = q1, .n_queries = 1};
    assert_int_equal(sel(&r, &req, NULL), 0);
    struct kf_kv q2[] = {{"a", ""}};
    req.queries = q2;
    assert_int_equal(sel(&r, &req, NULL), 1);
    struct kf_kv q3[] = {{"a", NULL}};
    req.queries = q3;
    assert_int_equal(sel(&r, &req, NULL), 1);
    struct kf_kv q4[] = {{"a", "2"}, {"a", "10"}};
    req.queries = q4;
    req.n_queries = 2;
    assert_int_equal(sel(&r, &req, NULL), 2);
    struct kf_kv q5[] = {{"a", "x"}};
    req.queries = q5;
    req.n_queries = 1;
    assert_int_equal(sel(&r, &req, NULL), -1);
    rt_free(&r);

    /* 08-router_spec.lua:5338-5368 header values are case sensitive unless lower() */
    rt_new(&r, E, true,
           "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"expression\":\"http.path == "
           "\\\"/foo/bar\\\" && http.headers.test1 == \\\"Quote\\\"\",\"priority\":100},"
           "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8102\",\"expression\":\"http.path == "
           "\\\"/foo/bar\\\" && lower(http.headers.test2) == \\\"quote\\\"\",\"priority\":100}]");
    struct kf_kv t1[] = {{"test1", "quoTe"}};
    struct kf_request hreq = {.method = "GET", .uri = "/foo/bar", .headers = t1, .n_headers = 1};
    assert_int_equal(sel(&r, &hreq, NULL), -1);
    struct kf_kv t2[] = {{"test1", "Quote"}};
    hreq.headers = t2;
    assert_int_equal(sel(&r, &hreq, NULL), 0);
    struct kf_kv t3[] = {{"Test2", "QUOTE"}};
    hreq.headers = t3;
    assert_int_equal(sel(&r, &hreq, NULL), 1);
    rt_free(&r);

    /* 08-router_spec.lua:5444-5462 net.port is read as net.dst.port from the Host header */
    rt_new(
        &r, E, true,
        "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"expression\":\"http.host == "
        "\\\"www.example.com\\\" && net.port == 8000\",\"priority\":100},"
        "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8102\",\"expression\":\"net.src.ip == 1.1.1.1 "
        "&& net.dst.ip == 2.2.2.2 && http.method == \\\"GET\\\"\",\"priority\":100}]");
    assert_int_equal(sel_simple(&r, "GET", "/", "www.example.com:80"), -1);
    assert_int_equal(sel_simple(&r, "GET", "/", "www.example.com:8000"), 0);
    /* 08-router_spec.lua:5464-5490: without a port in Host, the listener's port counts */
    struct kf_request preq = {
        .method = "GET", .uri = "/foo", .host = "www.example.com", .dst_port = 8000};
    assert_int_equal(sel(&r, &preq, NULL), 0);
    /* 08-router_spec.lua:5521-5550 net.src.* and net.dst.* */
    struct kf_request ipreq = {.method = "GET",
                               .uri = "/foo",
                               .host = "domain.org",
                               .src_ip = "1.1.1.1",
                               .dst_ip = "2.2.2.2"};
    assert_int_equal(sel(&r, &ipreq, NULL), 1);
    rt_free(&r);

    /* 08-router_spec.lua:5571-5615 single http.path.segments.* */
    rt_new(
        &r, E, true,
        "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"expression\":\"http.path.segments.0 "
        "== \\\"foo\\\" && http.path.segments.1 == \\\"bar\\\"\",\"priority\":100},"
        "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8102\",\"expression\":\"http.path.segments.0 "
        "== \\\"foo\\\" && http.path.segments.2 ^= \\\"baz\\\"\",\"priority\":200},"
        "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8103\",\"expression\":\"http.path.segments.0 "
        "== \\\"foo\\\" && http.path.segments.3 ~ r#\\\"\\\\d+\\\"#\",\"priority\":300}]");
    assert_int_equal(sel_simple(&r, "GET", "/foo/bar", NULL), 0);
    assert_int_equal(sel_simple(&r, "GET", "/foo/bar/bazxxx", NULL), 1);
    assert_int_equal(sel_simple(&r, "GET", "/foo/bar/baz/12345", NULL), 2);
    assert_int_equal(sel_simple(&r, "GET", "/foo/xxx", NULL), -1);
    rt_free(&r);

    /* 08-router_spec.lua:5617-5641 http.path.segments.len (a trailing '/' adds no segment) */
    rt_new(
        &r, E, true,
        "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"expression\":\"http.path.segments.0 "
        "== \\\"foo\\\" && http.path.segments.len == 1\",\"priority\":100}]");
    assert_int_equal(sel_simple(&r, "GET", "/foo", NULL), 0);
    assert_int_equal(sel_simple(&r, "GET", "/foo/", NULL), 0);
    assert_int_equal(sel_simple(&r, "GET", "/foo/xxx", NULL), -1);
    rt_free(&r);

    /* 08-router_spec.lua:5643-5692 range http.path.segments.* */
    rt_new(
        &r, E, true,
        "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"expression\":\"http.path.segments."
        "0_1 ~ r#\\\"\\\\d+/\\\\w+\\\"#\",\"priority\":100},"
        "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8102\",\"expression\":\"http.path.segments.1_3 "
        "== r#\\\"xxx/yyy/zzz\\\"#\",\"priority\":100},"
        "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8103\",\"expression\":\"http.path.segments.1_2 "
        "== r#\\\"xxx/yyy\\\"# && http.path.segments.len == 3\",\"priority\":100}]");
    assert_int_equal(sel_simple(&r, "GET", "/123/foo/bar", NULL), 0);
    assert_int_equal(sel_simple(&r, "GET", "/123/hello-world/bar", NULL), 0);
    assert_int_equal(sel_simple(&r, "GET", "/foo/xxx/yyy/zzz/bar", NULL), 1);
    assert_int_equal(sel_simple(&r, "GET", "/foo/xxx/yyy", NULL), 2);
    assert_int_equal(sel_simple(&r, "GET", "/foo/xxx/yyy/", NULL), 2);
    rt_free(&r);

    /* 08-router_spec.lua:5694-5718 wrong segment ranges are accepted but never match */
    rt_new(&r, E, true,
           "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"expression\":\"http.path.segments."
           "4_1 == r#\\\"foo\\\"#\",\"priority\":100},"
           "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8102\",\"expression\":\"http.path.segments."
           "10_11 == r#\\\"foo/bar\\\"#\",\"priority\":100}]");
    assert_int_equal(sel_simple(&r, "GET", "/foo/bar", NULL), -1);
    rt_free(&r);

    /* 08-router_spec.lua:5806-5830 a 'not' expression */
    rt_new(&r, E, true,
           "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"expression\":\"!(http.path ^= "
           "r#\\\"/foo\\\"#)\",\"priority\":100}]");
    assert_int_equal(sel_simple(&r, "GET", "/123/foo/bar", NULL), 0);
    assert_int_equal(sel_simple(&r, "GET", "/foo/bar", NULL), -1);
    rt_free(&r);

    /* 08-router_spec.lua:5836-5856 other fields are ignored when expression is set */
    rt_new(&r, E, true,
           "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"paths\":[\"/foo\"],\"expression\":"
           "\"http.path ^= r#\\\"/bar\\\"#\"}]");
    assert_int_equal(sel_simple(&r, "GET", "/foo", NULL), -1);
    assert_int_equal(sel_simple(&r, "GET", "/bar", NULL), 0);
    rt_free(&r);

    /* 08-router_spec.lua:5858-5883 an expression route beats a traditional route */
    rt_new(&r, E, true,
           "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"paths\":[\"/foo\"]},"
           "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8102\",\"expression\":\"http.path ^= "
           "r#\\\"/foo\\\"#\"}]");
    assert_int_equal(sel_simple(&r, "GET", "/foo/bar", NULL), 1);
    rt_free(&r);

    /* 08-router_spec.lua:5885-5921 priority near 2^46 */
    rt_new(&r, E, true,
           "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"expression\":\"http.path ^= "
           "r#\\\"/foo\\\"#\",\"priority\":70368744177661},"
           "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8102\",\"expression\":\"http.path ^= "
           "r#\\\"/foo\\\"#\",\"priority\":70368744177662}]");
    assert_int_equal(sel_simple(&r, "GET", "/foo/bar", NULL), 1);
    rt_free(&r);
}

static void test_select_captures_and_prefix(void **state)
{
    (void)state;
    NEED_ATC();
    struct rt r;
    struct kf_match m;
    /* 08-router_spec.lua:3507-3559 uri_captures from a [uri regex] */
    rt_new(
        &r, TC, true,
        "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"paths\":[\"~/users/(?P<user_id>\\\\d+)"
        "/profile/?(?P<scope>[a-z]*)\"]}]");
    struct kf_request req = {.method = "GET", .uri = "/users/1984/profile", .host = "domain.org"};
    assert_int_equal(sel(&r, &req, &m), 0);
    assert_int_equal(m.n_captures, 5); /* 0, 1, 2, scope, user_id */
    assert_string_equal(m.captures[0].name, "0");
    assert_string_equal(m.captures[0].value, "/users/1984/profile");
    assert_string_equal(m.captures[1].value, "1984");
    assert_string_equal(m.captures[2].value, "");
    assert_string_equal(m.captures[3].name, "scope");
    assert_string_equal(m.captures[4].name, "user_id");
    assert_string_equal(m.captures[4].value, "1984");
    assert_null(m.prefix); /* strip_path absent = false */
    kf_match_clear(&m);
    rt_free(&r);

    /* 08-router_spec.lua:3487-3505 an optional group that did not match is absent (#13014) */
    rt_new(&r, TC, true,
           "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"paths\":[\"~/(users/)?1984/"
           "(?<subpath>profile)$\"]}]");
    req.uri = "/1984/profile";
    assert_int_equal(sel(&r, &req, &m), 0);
    bool has1 = false, sub = false;
    for (size_t i = 0; i < m.n_captures; i++) {
        has1 = has1 || strcmp(m.captures[i].name, "1") == 0;
        sub = sub || (strcmp(m.captures[i].name, "subpath") == 0 &&
                      strcmp(m.captures[i].value, "profile") == 0);
    }
    assert_false(has1);
    assert_true(sub);
    kf_match_clear(&m);
    rt_free(&r);

    /* 08-router_spec.lua:3621-3638 no uri_captures from a regex without groups */
    rt_new(&r, TC, true,
           "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"paths\":[\"~/users/\\\\d+/"
           "profile\"],\"strip_path\":true}]");
    req.uri = "/users/1984/profile";
    assert_int_equal(sel(&r, &req, &m), 0);
    assert_int_equal(m.n_captures, 0);
    /* atc.lua:397: prefix = the matched http.path value (the regex's whole match) */
    assert_string_equal(m.prefix, "/users/1984/profile");
    kf_match_clear(&m);
    rt_free(&r);

    /* 08-router_spec.lua:3601-3619 a [uri prefix] strips the prefix, no captures */
    rt_new(
        &r, TC, true,
        "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"paths\":[\"/hello\"],\"strip_path\":"
        "true}]");
    req.uri = "/hello/world";
    assert_int_equal(sel(&r, &req, &m), 0);
    assert_string_equal(m.prefix, "/hello");
    assert_int_equal(m.n_captures, 0);
    kf_match_clear(&m);
    rt_free(&r);
}

static void test_select_stream_and_sni(void **state)
{
    (void)state;
    NEED_ATC();
    struct rt r;
    /* 08-router_spec.lua:1742-1795 [wildcard sni] */
    rt_new(&r, TC, true,
           "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"snis\":[\"*.sni.test\"]},"
           "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8102\",\"snis\":[\"sni.*\"]}]");
    static const char *const left[] = {"foo.sni.test", "foo.bar.sni.test"};
    static const char *const right[] = {"sni.foo", "sni.foo.bar"};
    static const char *const none[] = {"bar.sni.foo", "foo.sni.test.bar"};
    for (size_t i = 0; i < 2; i++) {
        struct kf_request req = {
            .method = "GET", .uri = "/", .host = "any.test", .scheme = "https", .sni = left[i]};
        assert_int_equal(sel(&r, &req, NULL), 0);
        req.sni = right[i];
        assert_int_equal(sel(&r, &req, NULL), 1);
        req.sni = none[i];
        assert_int_equal(sel(&r, &req, NULL), -1);
    }
    rt_free(&r);

    /* 08-router_spec.lua:5140-5180 tls_passthrough SNI routing (stream) */
    for (int f = TC; f <= E; f++) {
        rt_new(&r, (enum kf_flavor)f, false,
               "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"protocols\":[\"tls_"
               "passthrough\"],\"snis\":[\"www.example.com\"],\"preserve_host\":true},"
               "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8102\",\"protocols\":[\"tls_"
               "passthrough\"],\"snis\":[\"www.example.org\"],\"preserve_host\":true}]");
        /* atc.lua:597-605: scheme "tls" when there is an SNI */
        struct kf_request sreq = {.scheme = "tls", .sni = "www.example.com"};
        assert_int_equal(sel(&r, &sreq, NULL), 0);
        sreq.sni = "www.example.org";
        assert_int_equal(sel(&r, &sreq, NULL), 1);
        rt_free(&r);
    }
}

static void test_select_errors(void **state)
{
    (void)state;
    NEED_ATC();
    struct rt r;
    /* 08-router_spec.lua:4374-4403 invalid utf-8 in the path: select errs with Rust's message */
    rt_new(&r, TC, true,
           "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"paths\":[\"/hello\"]}]");
    struct kf_request req = {
        .method = "GET", .uri = "\xfc\x80\x80\x80\x80\xaf", .host = "example.org"};
    struct kf_match m;
    char err[256] = "";
    assert_int_equal(kf_atcr_select(r.impl, &req, &m, err, sizeof(err)), KGC_EINVAL);
    assert_string_equal(err, "invalid utf-8 sequence of 1 bytes from index 0");
    assert_int_equal(m.route, -1);
    rt_free(&r);

    /* 08-router_spec.lua:136-150 a route without id fails the router */
    json_object *routes = parse("[{\"paths\":[\"/a\"]}]");
    struct kf_route_in in = {.route = json_object_array_get_idx(routes, 0)};
    void *impl = NULL;
    assert_int_equal(kf_atcr_new(TC, true, &in, 1, &impl, err, sizeof(err)), KGC_EINVAL);
    assert_string_equal(err, "could not categorize route");
    assert_null(impl);
    json_object_put(routes);

    /* atc.lua:182-192: a route whose expression does not compile is left out, the rest works */
    rt_new(&r, E, true,
           "[{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8101\",\"expression\":\"http.path ==\"},"
           "{\"id\":\"e8fb37f1-102d-461e-9c51-6608a6bb8102\",\"paths\":[\"/\"]}]");
    assert_int_equal(sel_simple(&r, "GET", "/x", NULL), 1);
    rt_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compat_expressions),
        cmocka_unit_test(test_priorities),
        cmocka_unit_test(test_priority_lua_errors),
        cmocka_unit_test(test_expressions_flavor),
        cmocka_unit_test(test_transform_lua_outputs),
        cmocka_unit_test(test_split_host_port),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_validate_segments),
        cmocka_unit_test(test_select_use_case),
        cmocka_unit_test(test_select_priorities),
        cmocka_unit_test(test_select_expressions),
        cmocka_unit_test(test_select_captures_and_prefix),
        cmocka_unit_test(test_select_stream_and_sni),
        cmocka_unit_test(test_select_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

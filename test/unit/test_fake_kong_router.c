/* The test Kong's router (router.h) against Kong 3.9.1's own router facts: every case in
 * test/fakes/kong/spec/router_cases.json (transcribed from spec/01-unit/08-router_spec.lua and
 * spec/fixtures/router_path_handling_tests.lua) is run for each flavour it applies to, through
 * the façade (kf_router_new / kf_router_select) or, for "kind": "expression" cases, through
 * kf_compat_expression. One cmocka test per flavour; each prints a table (cases, passed, failed,
 * unsupported) and one line per failure, and fails on any failure of a supported case.
 *
 * The case format (also in /tmp/kgc-notes/cases.md, merged into test/fakes/kong/README.md):
 *   services     name -> service entity, referenced by a route set entry's "service": "name"
 *   route_sets   name -> {"line", "stream"?: true, "routes": [{"route": {...}, "service": ...}]}
 *   cases[]      {"line", "set" | "routes" (inline), "flavors"?: [...] (default: all three),
 *                 "req": {method, uri | uri_hex, host, scheme, headers, queries, sni, src_ip,
 *                         src_port, dst_ip, dst_port, exec?},
 *                 "expect": {route, host, prefix, upstream_uri, upstream_host, uri_captures,
 *                            uri_captures_n, new_error, error},
 *                 "by_flavor"?: {flavour: {expect keys}}, "unsupported"?: "why", "desc"?}
 *   "kind": "expression" cases: {route, stream?, expect: {expression}} (kf_compat_expression, then
 *   the router must build); "kind": "split_port": {host, default_port?, expect: {no_port,
 *   with_port, had_port}} (kf_split_port).
 *   route is the spec's 1-based use_case index (null: no match). A key absent from expect is not
 *   checked; null means the spec asserts nil. "exec": true models router:exec(), which strips
 *   the query and normalises the path (kong/router/utils.lua:57-64, kong/tools/uri.lua:78-170)
 *   before matching; select() cases pass the URI as is.
 *
 * Environment: ROUTER_CASES=<path> to run another file; ROUTER_CASES_LINE=<n> to run only the
 * cases of one spec line (for debugging). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fakes/kong/router_internal.h"

#include <kgc/err.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CASES_PATH     "test/fakes/kong/spec/router_cases.json"
#define MAX_FAIL_LINES 150

static const char *const FLAVOR_NAMES[] = {"traditional", "traditional_compatible", "expressions"};

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* URI normalisation as Kong's exec() does it: kf_uri_normalize (router.c). */
static char *exec_normalize(const char *raw)
{
    char *u = kf_uri_normalize(raw);
    assert_non_null(u);
    return u;
}

/* ---- JSON helpers ------------------------------------------------------------------------------
 */

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v)) {
        return NULL;
    }
    return v;
}

static bool has(json_object *o, const char *key)
{
    return o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, NULL);
}

static const char *str(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool applies(json_object *c, const char *flavor)
{
    json_object *fl = get(c, "flavors");
    if (!fl) {
        return true;
    }
    for (size_t i = 0; i < json_object_array_length(fl); i++) {
        if (strcmp(json_object_get_string(json_object_array_get_idx(fl, i)), flavor) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- one request -------------------------------------------------------------------------------
 */

struct built_req {
    struct kf_request r;
    struct kf_kv *headers, *queries;
    char *uri;
};

static void kv_from_object(json_object *obj, struct kf_kv **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!obj) {
        return;
    }
    size_t cap = 0;
    json_object_object_foreach(obj, k, v)
    {
        (void)k;
        cap += json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 1;
    }
    *out = calloc(cap + 1, sizeof(**out));
    assert_non_null(*out);
    json_object_object_foreach(obj, k2, v2)
    {
        if (json_object_is_type(v2, json_type_array)) {
            for (size_t i = 0; i < json_object_array_length(v2); i++) {
                (*out)[*n].name = k2;
                (*out)[*n].value = json_object_get_string(json_object_array_get_idx(v2, i));
                (*n)++;
            }
        } else {
            (*out)[*n].name = k2;
            /* a bare query flag (?a) is Lua's true: value NULL */
            (*out)[*n].value =
                json_object_is_type(v2, json_type_boolean) ? NULL : json_object_get_string(v2);
            (*n)++;
        }
    }
}

static void build_req(json_object *rq, struct built_req *b)
{
    memset(b, 0, sizeof(*b));
    const char *uri = str(rq, "uri");
    const char *hex = str(rq, "uri_hex");
    if (hex) {
        size_t l = strlen(hex) / 2;
        b->uri = calloc(l + 1, 1);
        assert_non_null(b->uri);
        for (size_t i = 0; i < l; i++) {
            b->uri[i] = (char)(hexval((unsigned char)hex[2 * i]) * 16 +
                               hexval((unsigned char)hex[2 * i + 1]));
        }
    } else if (uri) {
        b->uri = strdup(uri);
        assert_non_null(b->uri);
    }
    json_object *ex = get(rq, "exec");
    if (b->uri && ex && json_object_get_boolean(ex)) {
        char *nu = exec_normalize(b->uri);
        free(b->uri);
        b->uri = nu;
    }
    b->r.method = str(rq, "method");
    b->r.uri = b->uri;
    b->r.host = str(rq, "host");
    b->r.scheme = str(rq, "scheme");
    b->r.src_ip = str(rq, "src_ip");
    b->r.dst_ip = str(rq, "dst_ip");
    b->r.sni = str(rq, "sni");
    json_object *p = get(rq, "src_port");
    b->r.src_port = p ? (unsigned)json_object_get_int(p) : 0;
    p = get(rq, "dst_port");
    b->r.dst_port = p ? (unsigned)json_object_get_int(p) : 0;
    kv_from_object(get(rq, "headers"), &b->headers, &b->r.n_headers);
    b->r.headers = b->headers;
    kv_from_object(get(rq, "queries"), &b->queries, &b->r.n_queries);
    b->r.queries = b->queries;
}

static void free_req(struct built_req *b)
{
    free(b->headers);
    free(b->queries);
    free(b->uri);
}

/* ---- routers: built once per (route set, flavour) ------------------------------------------- */

struct set_router {
    const char *name;
    struct kf_router *r;
    int rc;
    char err[512];
    struct kf_route_in *in;
    size_t n;
};

struct runner {
    json_object *doc;
    json_object *services;
    json_object *sets;
    struct set_router *cache;
    size_t ncache, capcache;
    int only_line;
    /* counts */
    int cases, passed, failed, unsupported, fail_lines;
};

static json_object *resolve_service(struct runner *R, json_object *s)
{
    if (s && json_object_is_type(s, json_type_string)) {
        json_object *v = get(R->services, json_object_get_string(s));
        assert_non_null(v);
        return v;
    }
    return s;
}

static void build_router(struct runner *R, enum kf_flavor fl, json_object *routes, bool stream,
                         struct set_router *out)
{
    out->n = json_object_array_length(routes);
    out->in = calloc(out->n + 1, sizeof(*out->in));
    assert_non_null(out->in);
    for (size_t i = 0; i < out->n; i++) {
        json_object *e = json_object_array_get_idx(routes, i);
        out->in[i].route = get(e, "route");
        out->in[i].service = resolve_service(R, get(e, "service"));
    }
    out->err[0] = '\0';
    out->rc = kf_router_new(fl, !stream, out->in, out->n, &out->r, out->err, sizeof(out->err));
}

static void free_set_router(struct set_router *s)
{
    kf_router_free(s->r);
    free(s->in);
    memset(s, 0, sizeof(*s));
}

static struct set_router *set_router(struct runner *R, enum kf_flavor fl, const char *name)
{
    for (size_t i = 0; i < R->ncache; i++) {
        if (strcmp(R->cache[i].name, name) == 0) {
            return &R->cache[i];
        }
    }
    json_object *set = get(R->sets, name);
    assert_non_null(set);
    if (R->ncache == R->capcache) {
        R->capcache = R->capcache ? R->capcache * 2 : 64;
        R->cache = realloc(R->cache, R->capcache * sizeof(*R->cache));
        assert_non_null(R->cache);
    }
    struct set_router *s = &R->cache[R->ncache++];
    memset(s, 0, sizeof(*s));
    s->name = name;
    json_object *st = get(set, "stream");
    build_router(R, fl, get(set, "routes"), st && json_object_get_boolean(st), s);
    return s;
}

/* ---- reporting ---------------------------------------------------------------------------------
 */

static void describe_req(json_object *rq, char *buf, size_t sz)
{
    const char *s =
        json_object_to_json_string_ext(rq, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    snprintf(buf, sz, "%s", s);
}

static void case_fail(struct runner *R, json_object *c, const char *flavor, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void case_fail(struct runner *R, json_object *c, const char *flavor, const char *fmt, ...)
{
    R->failed++;
    if (R->fail_lines++ >= MAX_FAIL_LINES) {
        return;
    }
    char what[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    char rq[600];
    json_object *req = get(c, "req");
    if (req) {
        describe_req(req, rq, sizeof(rq));
    } else if (get(c, "route")) {
        describe_req(get(c, "route"), rq, sizeof(rq));
    } else {
        snprintf(rq, sizeof(rq), "%s", str(c, "kind") ? str(c, "kind") : "?");
    }
    const char *fx = str(c, "fixture");
    printf("  FAIL line %d%s%s [%s] %s: %s\n", json_object_get_int(get(c, "line")), fx ? " " : "",
           fx ? fx : "", flavor, rq, what);
}

/* ---- checks ------------------------------------------------------------------------------------
 */

/* expect[key] (string or null) against got; true when equal or not asserted. */
static bool check_str(struct runner *R, json_object *c, const char *flavor, json_object *expect,
                      const char *key, const char *got)
{
    if (!has(expect, key)) {
        return true;
    }
    const char *want = str(expect, key);
    if ((!want && !got) || (want && got && strcmp(want, got) == 0)) {
        return true;
    }
    case_fail(R, c, flavor, "%s: expected %s%s%s, got %s%s%s", key, want ? "\"" : "",
              want ? want : "nil", want ? "\"" : "", got ? "\"" : "", got ? got : "nil",
              got ? "\"" : "");
    return false;
}

static const char *capture(const struct kf_match *m, const char *name)
{
    for (size_t i = 0; i < m->n_captures; i++) {
        if (m->captures[i].name && strcmp(m->captures[i].name, name) == 0) {
            return m->captures[i].value;
        }
    }
    return NULL;
}

static bool check_captures(struct runner *R, json_object *c, const char *flavor,
                           json_object *expect, const struct kf_match *m)
{
    if (has(expect, "uri_captures")) {
        json_object *want = get(expect, "uri_captures");
        if (!want) {
            if (m->n_captures != 0) {
                case_fail(R, c, flavor,
                          "uri_captures: expected nil, got %zu captures (first %s=%s)",
                          m->n_captures, m->captures[0].name ? m->captures[0].name : "?",
                          m->captures[0].value ? m->captures[0].value : "nil");
                return false;
            }
        } else {
            json_object_object_foreach(want, k, v)
            {
                const char *got = capture(m, k);
                const char *w = v ? json_object_get_string(v) : NULL;
                if ((w && (!got || strcmp(w, got) != 0)) || (!w && got)) {
                    case_fail(R, c, flavor, "uri_captures[%s]: expected %s, got %s", k,
                              w ? w : "nil/false", got ? got : "nil");
                    return false;
                }
            }
        }
    }
    if (has(expect, "uri_captures_n")) {
        int want = json_object_get_int(get(expect, "uri_captures_n"));
        int n = 0;
        for (;; n++) {
            char k[16];
            snprintf(k, sizeof(k), "%d", n + 1);
            if (!capture(m, k)) {
                break;
            }
        }
        if (n != want) {
            case_fail(R, c, flavor, "#uri_captures: expected %d, got %d", want, n);
            return false;
        }
    }
    return true;
}

/* expect merged with by_flavor[flavor] (a new object). */
static json_object *merged_expect(json_object *c, const char *flavor)
{
    json_object *e = json_object_new_object();
    assert_non_null(e);
    json_object *base = get(c, "expect");
    if (base) {
        json_object_object_foreach(base, k, v)
        {
            json_object_object_add(e, k, json_object_get(v));
        }
    }
    json_object *over = get(get(c, "by_flavor"), flavor);
    if (over) {
        json_object_object_foreach(over, k2, v2)
        {
            json_object_object_add(e, k2, json_object_get(v2));
        }
    }
    return e;
}

static bool run_expression_case(struct runner *R, json_object *c, enum kf_flavor fl,
                                const char *flavor)
{
    json_object *route = get(c, "route");
    json_object *st = get(c, "stream");
    bool stream = st && json_object_get_boolean(st);
    const char *want = str(get(c, "expect"), "expression");
    char *expr = NULL;
    uint64_t prio = 0;
    int rc = kf_compat_expression(route, !stream, &expr, &prio);
    bool ok = true;
    if (rc != 0 || !expr || !want || strcmp(expr, want) != 0) {
        case_fail(R, c, flavor, "expression: expected %s, got %s (rc %d)", want ? want : "?",
                  expr ? expr : "none", rc);
        ok = false;
    }
    free(expr);
    if (!ok) {
        return false;
    }
    /* the spec then asserts new_router({route}) succeeds */
    json_object *routes = json_object_new_array();
    json_object *entry = json_object_new_object();
    json_object_object_add(entry, "route", json_object_get(route));
    json_object_object_add(entry, "service", json_object_new_string("default"));
    json_object_array_add(routes, entry);
    struct set_router sr;
    memset(&sr, 0, sizeof(sr));
    build_router(R, fl, routes, stream, &sr);
    if (sr.rc != 0) {
        case_fail(R, c, flavor, "router: expected it to build, got %d (%s)", sr.rc, sr.err);
        ok = false;
    }
    free_set_router(&sr);
    json_object_put(routes);
    return ok;
}

/* kf_split_port (traditional.lua's split_port) against the spec's table (08-router_spec.lua:95). */
static bool run_split_port_case(struct runner *R, json_object *c, const char *flavor)
{
    const char *host = str(c, "host");
    json_object *dp = get(c, "default_port");
    json_object *e = get(c, "expect");
    size_t sz = strlen(host ? host : "") + 16;
    char *no_port = calloc(1, sz), *with_port = calloc(1, sz);
    assert_non_null(no_port);
    assert_non_null(with_port);
    bool had = false;
    kf_split_port(host ? host : "", dp ? (unsigned)json_object_get_int(dp) : 0, no_port, with_port,
                  &had);
    const char *w1 = str(e, "no_port"), *w2 = str(e, "with_port");
    bool w3 = json_object_get_boolean(get(e, "had_port"));
    bool ok = w1 && w2 && strcmp(w1, no_port) == 0 && strcmp(w2, with_port) == 0 && w3 == had;
    if (!ok) {
        case_fail(R, c, flavor,
                  "split_port(\"%s\", %d): expected {\"%s\", \"%s\", %s}, got {\"%s\", \"%s\", %s}",
                  host ? host : "", dp ? json_object_get_int(dp) : 0, w1 ? w1 : "?", w2 ? w2 : "?",
                  w3 ? "true" : "false", no_port, with_port, had ? "true" : "false");
    }
    free(no_port);
    free(with_port);
    return ok;
}

static bool run_case(struct runner *R, json_object *c, enum kf_flavor fl, const char *flavor)
{
    if (str(c, "kind") && strcmp(str(c, "kind"), "split_port") == 0) {
        return run_split_port_case(R, c, flavor);
    }
    if (str(c, "kind") && strcmp(str(c, "kind"), "expression") == 0) {
        return run_expression_case(R, c, fl, flavor);
    }
    struct set_router inline_sr;
    memset(&inline_sr, 0, sizeof(inline_sr));
    struct set_router *sr;
    if (str(c, "set")) {
        sr = set_router(R, fl, str(c, "set"));
    } else {
        json_object *st = get(c, "stream");
        build_router(R, fl, get(c, "routes"), st && json_object_get_boolean(st), &inline_sr);
        sr = &inline_sr;
    }
    json_object *expect = merged_expect(c, flavor);
    bool ok = true;
    const char *new_error = str(expect, "new_error");
    if (new_error) {
        if (sr->rc == 0 || !strstr(sr->err, new_error)) {
            case_fail(R, c, flavor, "new(): expected error \"%s\", got %d (%s)", new_error, sr->rc,
                      sr->err);
            ok = false;
        }
        goto done;
    }
    if (sr->rc != 0) {
        case_fail(R, c, flavor, "new(): %d (%s)", sr->rc, sr->err);
        ok = false;
        goto done;
    }
    struct built_req b;
    build_req(get(c, "req"), &b);
    struct kf_match m;
    char err[512] = "";
    int rc = kf_router_select(sr->r, &b.r, &m, err, sizeof(err));
    const char *want_err = str(expect, "error");
    if (want_err) {
        if (rc == 0 || !strstr(err, want_err)) {
            case_fail(R, c, flavor, "select(): expected error \"%s\", got %d (%s), route %d",
                      want_err, rc, err, m.route + 1);
            ok = false;
        }
    } else if (rc != 0) {
        case_fail(R, c, flavor, "select(): %d (%s)", rc, err);
        ok = false;
    } else {
        json_object *wr = get(expect, "route");
        int want = wr ? json_object_get_int(wr) : 0; /* 0: no match */
        int got = m.route + 1;
        if (want != got) {
            case_fail(R, c, flavor, "route: expected %d, got %d%s", want, got,
                      want == 0 || got == 0 ? " (0 = no match)" : "");
            ok = false;
        } else if (got != 0) {
            ok = check_str(R, c, flavor, expect, "host", m.matched_host) &&
                 check_str(R, c, flavor, expect, "prefix", m.prefix) &&
                 check_str(R, c, flavor, expect, "upstream_uri", m.upstream_uri) &&
                 check_str(R, c, flavor, expect, "upstream_host", m.upstream_host) &&
                 check_captures(R, c, flavor, expect, &m);
        }
    }
    kf_match_clear(&m);
    free_req(&b);
done:
    json_object_put(expect);
    if (sr == &inline_sr) {
        free_set_router(&inline_sr);
    }
    return ok;
}

/* ---- per-flavour run ------------------------------------------------------------------------- */

static void run_flavor(enum kf_flavor fl)
{
    const char *flavor = FLAVOR_NAMES[fl];
    const char *path = getenv("ROUTER_CASES");
    json_object *doc = json_object_from_file(path ? path : CASES_PATH);
    assert_non_null(doc);
    struct runner R;
    memset(&R, 0, sizeof(R));
    R.doc = doc;
    R.services = get(doc, "services");
    R.sets = get(doc, "route_sets");
    const char *ol = getenv("ROUTER_CASES_LINE");
    R.only_line = ol ? atoi(ol) : 0;
    json_object *cases = get(doc, "cases");
    assert_non_null(cases);
    int spec_cases = 0, fixture_cases = 0;
    printf("router cases, flavour %s:\n", flavor);
    for (size_t i = 0; i < json_object_array_length(cases); i++) {
        json_object *c = json_object_array_get_idx(cases, i);
        if (!applies(c, flavor)) {
            continue;
        }
        if (R.only_line && json_object_get_int(get(c, "line")) != R.only_line) {
            continue;
        }
        R.cases++;
        if (has(c, "fixture")) {
            fixture_cases++;
        } else {
            spec_cases++;
        }
        if (str(c, "unsupported")) {
            R.unsupported++;
            continue;
        }
        if (run_case(&R, c, fl, flavor)) {
            R.passed++;
        }
    }
    if (R.fail_lines > MAX_FAIL_LINES) {
        printf("  ... %d more failures not shown\n", R.fail_lines - MAX_FAIL_LINES);
    }
    printf("  %-24s %6s %6s %6s %6s   (%d from the spec, %d from the path-handling fixture)\n",
           "flavour", "cases", "passed", "failed", "unsup", spec_cases, fixture_cases);
    printf("  %-24s %6d %6d %6d %6d\n", flavor, R.cases, R.passed, R.failed, R.unsupported);
    fflush(stdout);
    for (size_t i = 0; i < R.ncache; i++) {
        free_set_router(&R.cache[i]);
    }
    free(R.cache);
    json_object_put(doc);
    assert_int_equal(R.failed, 0);
}

static void test_traditional(void **state)
{
    (void)state;
    run_flavor(KF_FLAVOR_TRADITIONAL);
}

static void test_traditional_compatible(void **state)
{
    (void)state;
    run_flavor(KF_FLAVOR_TRADITIONAL_COMPATIBLE);
}

static void test_expressions(void **state)
{
    (void)state;
    run_flavor(KF_FLAVOR_EXPRESSIONS);
}

/* The exec() normalisation the runner applies (kong/tools/uri.lua), on its own facts: the
 * path-handling fixture's encoded requests and the spec's exec() cases. */
static void test_exec_normalize(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"/route%2E/req", "/route./req"},
        {"/route%2e%2E/req", "/route../req"},
        {"/endel%2Fst", "/endel%2Fst"},
        {"/endel%2fst", "/endel%2Fst"},
        {"/users/%6aohn%20doe/profile", "/users/john doe/profile"},
        {"/foo//bar///baz//", "/foo/bar/baz/"},
        {"/a/./b/../c", "/a/c"},
        {"/a/b/..", "/a/"},
        {"/..", "/"},
        {"/my-route?x=1", "/my-route"},
        {"/", "/"},
        /* uri.lua:80-82 and utils.lua:58 (the '?' is searched from the second byte) */
        {"", ""},
        {"/?a=1", "/"},
        /* a truncated triplet stays; %25 ('%', reserved) stays encoded, one pass only */
        {"/a%4", "/a%4"},
        {"/a%2", "/a%2"},
        {"/%252F", "/%252F"},
        {"/%7e%41%3a", "/~A%3A"},
        /* "/%2e%2e/x": decoded to /../x first, then the dot segment goes (uri.lua:93) */
        {"/a/%2e%2e/x", "/x"},
        {"/a/.", "/a/"},
        {".", ""},
        {"/%00", "/%00"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = exec_normalize(cases[i][0]);
        if (strcmp(got, cases[i][1]) != 0) {
            printf("normalize(%s) = %s, want %s\n", cases[i][0], got, cases[i][1]);
        }
        assert_string_equal(got, cases[i][1]);
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_normalize),
        cmocka_unit_test(test_traditional),
        cmocka_unit_test(test_traditional_compatible),
        cmocka_unit_test(test_expressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

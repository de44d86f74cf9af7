/* The test Kong's balancer (test/fakes/kong/balancer.c): each case cites the Kong 3.9.1 source
 * or spec line whose behaviour it checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fakes/kong/balancer.h"

#include <kgc/err.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------------------------------- */

struct fx {
    json_object *up;
    json_object *targets[16];
    size_t n;
    struct kf_balancer *b;
    struct kf_hdrs h;
    struct kf_client_req c;
};

static void fx_init(struct fx *f, const char *upstream_json)
{
    memset(f, 0, sizeof(*f));
    f->up = json_tokener_parse(upstream_json);
    assert_non_null(f->up);
    f->c.method = "GET";
    f->c.scheme = "http";
    f->c.path = "/";
    f->c.headers = &f->h;
    f->c.client_ip = "10.0.0.1";
}

static void fx_target(struct fx *f, const char *json)
{
    assert_true(f->n < 16);
    f->targets[f->n] = json_tokener_parse(json);
    assert_non_null(f->targets[f->n]);
    f->n++;
}

static void fx_build(struct fx *f)
{
    f->b = kf_balancer_new(f->up, f->targets, f->n);
    assert_non_null(f->b);
}

static void fx_free(struct fx *f)
{
    kf_balancer_free(f->b);
    json_object_put(f->up);
    for (size_t i = 0; i < f->n; i++) {
        json_object_put(f->targets[i]);
    }
    kf_hdrs_free(&f->h);
}

static const char *pick(struct fx *f)
{
    static char out[128];
    int rc = kf_balancer_pick(f->b, &f->c, out, sizeof(out));
    assert_int_equal(rc, 0);
    return out;
}

/* ---- xxhash32 -------------------------------------------------------------------------------- */

/* consistent_hashing.lua:13,37 hashes with luaxxhash; its own test vectors (luaxxhash test.lua). */
static void test_xxhash32_vectors(void **state)
{
    (void)state;
    assert_int_equal(kf_xxhash32("", 0), 0x02CC5D05u);
    assert_int_equal(kf_xxhash32("a", 1), 0x550D7456u);
    assert_int_equal(kf_xxhash32("aaaa", 4), 0xDA576727u);
    assert_int_equal(kf_xxhash32("dupa", 4), 0x1A47C09Du);
    assert_int_equal(kf_xxhash32("aaaaaaaaaaaaaaaa", 16), 0x5DACDD8Cu);
    assert_int_equal(kf_xxhash32("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32), 0xA3234FBEu);
    assert_int_equal(kf_xxhash32("Cats are interesting.", 21), 0x65ED1AFCu);
}

/* ---- round-robin ----------------------------------------------------------------------------- */

/* round_robin.lua:53-73: weight/gcd slots per address; :88-99,152: the pointer starts at 1 and
 * moves before the pick, so the unshuffled wheel [a,b,c] is walked b, c, a, b, ... */
static void test_rr_equal_weights_walk(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\"}");
    fx_target(&f, "{\"id\":\"00000000-0000-0000-0000-000000000001\",\"target\":\"10.0.0.1:80\"}");
    fx_target(&f, "{\"id\":\"00000000-0000-0000-0000-000000000002\",\"target\":\"10.0.0.2:80\"}");
    fx_target(&f, "{\"id\":\"00000000-0000-0000-0000-000000000003\",\"target\":\"10.0.0.3:80\"}");
    fx_build(&f);
    assert_string_equal(pick(&f), "10.0.0.2:80");
    assert_string_equal(pick(&f), "10.0.0.3:80");
    assert_string_equal(pick(&f), "10.0.0.1:80");
    assert_string_equal(pick(&f), "10.0.0.2:80");
    fx_free(&f);
}

/* round_robin.lua:38-69: weights 100 and 50 (gcd 50) give 2 + 1 slots: over a full cycle of the
 * wheel each target gets its weight's share, whatever order Kong's shuffle (:22-28) chose. */
static void test_rr_weighted_cycle(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\",\"algorithm\":\"round-robin\"}");
    fx_target(&f, "{\"id\":\"a\",\"target\":\"a.test:80\",\"weight\":100}");
    fx_target(&f, "{\"id\":\"b\",\"target\":\"b.test:80\",\"weight\":50}");
    fx_build(&f);
    int na = 0, nb = 0;
    for (int i = 0; i < 30; i++) {
        const char *t = pick(&f);
        na += strcmp(t, "a.test:80") == 0;
        nb += strcmp(t, "b.test:80") == 0;
    }
    assert_int_equal(na, 20);
    assert_int_equal(nb, 10);
    fx_free(&f);
}

/* round_robin.lua:63-67: an address of weight 0 has no slot on the wheel; never picked. */
static void test_rr_weight_zero_never(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\"}");
    fx_target(&f, "{\"id\":\"a\",\"target\":\"a.test:80\",\"weight\":0}");
    fx_target(&f, "{\"id\":\"b\",\"target\":\"b.test:80\",\"weight\":10}");
    fx_build(&f);
    for (int i = 0; i < 10; i++) {
        assert_string_equal(pick(&f), "b.test:80");
    }
    fx_free(&f);
}

/* round_robin.lua:48-51,139 and balancer/init.lua:357-361: no weight at all: no peers, 503. */
static void test_rr_all_zero_enoent(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\"}");
    fx_target(&f, "{\"id\":\"a\",\"target\":\"a.test:80\",\"weight\":0}");
    fx_build(&f);
    char out[64];
    assert_int_equal(kf_balancer_pick(f.b, &f.c, out, sizeof(out)), KGC_ENOENT);
    fx_free(&f);
}

/* An upstream without targets has no peer either (round_robin.lua:48-51). */
static void test_no_targets_enoent(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\",\"algorithm\":\"least-connections\"}");
    fx_build(&f);
    char out[64];
    assert_int_equal(kf_balancer_pick(f.b, &f.c, out, sizeof(out)), KGC_ENOENT);
    fx_free(&f);
}

/* kong/db/dao/targets.lua:17,31-37: a target without a port gets 8000; targets.lua:33: weight
 * defaults to 100 (so the target is used). */
static void test_target_defaults(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\"}");
    fx_target(&f, "{\"id\":\"a\",\"target\":\"backend.test\"}");
    fx_build(&f);
    assert_string_equal(pick(&f), "backend.test:8000");
    fx_free(&f);
}

/* kong/tools/ip.lua:167-220,291-313: an IPv6 target is expanded to eight groups and bracketed. */
static void test_target_ipv6_format(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\"}");
    fx_target(&f, "{\"id\":\"a\",\"target\":\"[::1]:8080\"}");
    fx_build(&f);
    assert_string_equal(pick(&f), "[0000:0000:0000:0000:0000:0000:0000:0001]:8080");
    fx_free(&f);
}

/* kong/db/dao/targets.lua:20-28,168: targets are ordered by created_at, then id; the wheel is
 * built in that order (round_robin.lua:61-69). */
static void test_target_order_by_id(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\"}");
    fx_target(&f, "{\"id\":\"ccc\",\"target\":\"c.test:1\"}");
    fx_target(&f, "{\"id\":\"aaa\",\"target\":\"a.test:1\"}");
    fx_target(&f, "{\"id\":\"bbb\",\"target\":\"b.test:1\"}");
    fx_build(&f);
    /* wheel [a, b, c]; first pick is slot 2 */
    assert_string_equal(pick(&f), "b.test:1");
    assert_string_equal(pick(&f), "c.test:1");
    assert_string_equal(pick(&f), "a.test:1");
    fx_free(&f);
}

/* ---- consistent-hashing ---------------------------------------------------------------------- */

/* balancer/init.lua:132-135 + consistent_hashing.lua:135-193: the same header value always lands
 * on the same target; a header name with '_' matches the '-' header (nginx $http_ variables). */
static void test_ch_header_sticky(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\",\"algorithm\":\"consistent-hashing\",\"hash_on\":\"header\","
                "\"hash_on_header\":\"x_user\"}");
    for (int i = 1; i <= 4; i++) {
        char t[128];
        snprintf(t, sizeof(t), "{\"id\":\"%d\",\"target\":\"10.0.0.%d:80\"}", i, i);
        fx_target(&f, t);
    }
    fx_build(&f);
    assert_int_equal(kf_hdrs_add(&f.h, "X-User", "alice"), 0);
    char *v = kf_balancer_hash_value(f.b, &f.c, NULL);
    assert_non_null(v);
    assert_string_equal(v, "alice");
    free(v);
    char first[64];
    snprintf(first, sizeof(first), "%s", pick(&f));
    for (int i = 0; i < 5; i++) {
        assert_string_equal(pick(&f), first);
    }
    fx_free(&f);
}

/* balancer/init.lua:135: ngx.var["http_X-User"] never matches a header (nginx compares with '-'
 * read as '_'; Kong issue #14447): the fallback is used, here none, so Kong hashes "". */
static void test_ch_header_dash_name_never_matches(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\",\"algorithm\":\"consistent-hashing\",\"hash_on\":\"header\","
                "\"hash_on_header\":\"X-User\",\"hash_fallback\":\"ip\"}");
    fx_target(&f, "{\"id\":\"1\",\"target\":\"10.0.0.1:80\"}");
    fx_build(&f);
    assert_int_equal(kf_hdrs_add(&f.h, "X-User", "alice"), 0);
    char *v = kf_balancer_hash_value(f.b, &f.c, NULL);
    assert_non_null(v);
    assert_string_equal(v, "10.0.0.1"); /* the fallback: remote_addr (init.lua:129-130) */
    free(v);
    fx_free(&f);
}

/* consistent_hashing.lua:44-66: hosts are sorted before the continuum is built, so the target
 * order in the configuration does not change where a value lands. */
static void test_ch_order_independent(void **state)
{
    (void)state;
    struct fx f1, f2;
    const char *up = "{\"name\":\"u\",\"algorithm\":\"consistent-hashing\",\"hash_on\":\"path\"}";
    fx_init(&f1, up);
    fx_init(&f2, up);
    fx_target(&f1, "{\"id\":\"1\",\"target\":\"10.0.0.1:80\"}");
    fx_target(&f1, "{\"id\":\"2\",\"target\":\"10.0.0.2:80\"}");
    fx_target(&f1, "{\"id\":\"3\",\"target\":\"10.0.0.3:80\"}");
    fx_target(&f2, "{\"id\":\"9\",\"target\":\"10.0.0.3:80\"}");
    fx_target(&f2, "{\"id\":\"8\",\"target\":\"10.0.0.1:80\"}");
    fx_target(&f2, "{\"id\":\"7\",\"target\":\"10.0.0.2:80\"}");
    fx_build(&f1);
    fx_build(&f2);
    int seen[3] = {0};
    for (int i = 0; i < 60; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/p%d", i);
        f1.c.path = f2.c.path = path;
        char a[64];
        snprintf(a, sizeof(a), "%s", pick(&f1));
        assert_string_equal(pick(&f2), a);
        seen[a[7] - '1']++;
    }
    /* every target owns part of the continuum */
    assert_true(seen[0] > 0 && seen[1] > 0 && seen[2] > 0);
    fx_free(&f1);
    fx_free(&f2);
}

/* balancer/init.lua:321: no value to hash (hash_on none) hashes "" — always the same target. */
static void test_ch_no_value_hashes_empty(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\",\"algorithm\":\"consistent-hashing\"}");
    fx_target(&f, "{\"id\":\"1\",\"target\":\"10.0.0.1:80\"}");
    fx_target(&f, "{\"id\":\"2\",\"target\":\"10.0.0.2:80\"}");
    fx_build(&f);
    assert_null(kf_balancer_hash_value(f.b, &f.c, NULL));
    char first[64];
    snprintf(first, sizeof(first), "%s", pick(&f));
    f.c.client_ip = "192.168.1.1";
    f.c.path = "/other";
    assert_string_equal(pick(&f), first);
    fx_free(&f);
}

/* balancer/init.lua:62-100,162-164: a query argument's values are sorted and joined with ','. */
static void test_ch_query_arg_multi(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\",\"algorithm\":\"consistent-hashing\",\"hash_on\":\"query_arg\","
                "\"hash_on_query_arg\":\"k\"}");
    fx_target(&f, "{\"id\":\"1\",\"target\":\"10.0.0.1:80\"}");
    fx_build(&f);
    f.c.query = "k=zeta&x=1&k=alpha&k=m%20n";
    char *v = kf_balancer_hash_value(f.b, &f.c, NULL);
    assert_non_null(v);
    assert_string_equal(v, "alpha,m n,zeta");
    free(v);
    f.c.query = "k";
    v = kf_balancer_hash_value(f.b, &f.c, NULL);
    assert_non_null(v);
    assert_string_equal(v, "true"); /* tostring(true) */
    free(v);
    fx_free(&f);
}

/* balancer/init.lua:180-189: hash_on misses, hash_fallback is tried. */
static void test_ch_fallback_header(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\",\"algorithm\":\"consistent-hashing\",\"hash_on\":\"query_arg\","
                "\"hash_on_query_arg\":\"k\",\"hash_fallback\":\"header\","
                "\"hash_fallback_header\":\"tenant\"}");
    fx_target(&f, "{\"id\":\"1\",\"target\":\"10.0.0.1:80\"}");
    fx_build(&f);
    assert_int_equal(kf_hdrs_add(&f.h, "Tenant", "t1"), 0);
    assert_int_equal(kf_hdrs_add(&f.h, "tenant", "t2"), 0);
    char *v = kf_balancer_hash_value(f.b, &f.c, NULL);
    assert_non_null(v);
    assert_string_equal(v, "t1, t2"); /* nginx joins repeated headers (init.lua:133-135) */
    free(v);
    fx_free(&f);
}

/* balancer/init.lua:137-154,195-224: no cookie: a UUID is hashed and sent as Set-Cookie with
 * the upstream's path (default "/", upstreams.lua hash_on_cookie_path). */
static void test_ch_cookie_generated_and_reused(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\",\"algorithm\":\"consistent-hashing\",\"hash_on\":\"cookie\","
                "\"hash_on_cookie\":\"sticky\"}");
    fx_target(&f, "{\"id\":\"1\",\"target\":\"10.0.0.1:80\"}");
    fx_target(&f, "{\"id\":\"2\",\"target\":\"10.0.0.2:80\"}");
    fx_build(&f);
    struct kf_balancer_extra x;
    char out[64];
    assert_int_equal(kf_balancer_pick_ex(f.b, &f.c, NULL, out, sizeof(out), &x), 0);
    assert_int_equal(strncmp(x.set_cookie, "sticky=", 7), 0);
    assert_non_null(strstr(x.set_cookie, "; Path=/; Same-Site=Lax; HttpOnly"));
    char uuid[37];
    snprintf(uuid, sizeof(uuid), "%.36s", x.set_cookie + 7);
    char cookie[64];
    snprintf(cookie, sizeof(cookie), "a=b; sticky=%s", uuid);
    assert_int_equal(kf_hdrs_add(&f.h, "Cookie", cookie), 0);
    char again[64];
    assert_int_equal(kf_balancer_pick_ex(f.b, &f.c, NULL, again, sizeof(again), &x), 0);
    assert_string_equal(x.set_cookie, "");
    assert_string_equal(again, out); /* the same value hashes to the same target */
    fx_free(&f);
}

/* balancer/init.lua:166-171: hash_on uri_capture takes a named capture of the matched route;
 * a group name is a string, so numbered captures are not reachable. */
static void test_ch_uri_capture(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\",\"algorithm\":\"consistent-hashing\",\"hash_on\":\"uri_capture\","
                "\"hash_on_uri_capture\":\"tenant\",\"hash_fallback\":\"uri_capture\","
                "\"hash_fallback_uri_capture\":\"1\"}");
    fx_target(&f, "{\"id\":\"1\",\"target\":\"10.0.0.1:80\"}");
    fx_build(&f);
    struct kf_kv caps[] = {{"0", "/t/acme"}, {"1", "acme"}, {"tenant", "acme"}};
    struct kf_match m = {.route = 0, .captures = caps, .n_captures = 3};
    char *v = kf_balancer_hash_value(f.b, &f.c, &m);
    assert_non_null(v);
    assert_string_equal(v, "acme");
    free(v);
    m.n_captures = 2; /* only numbered ones: the fallback's "1" is a string key, no match */
    assert_null(kf_balancer_hash_value(f.b, &f.c, &m));
    fx_free(&f);
}

/* balancer/init.lua:156-160 (3.9.1): hash_on = path hashes nginx's var.uri — the path as nginx's
 * ngx_http_parse_complex_uri leaves it (nginx 1.25.3 src/http/ngx_http_parse.c:1248-1624): %XX
 * decoded (a decoded '/' or '.' merged and resolved like a raw one; a decoded '%', '#', '?' kept
 * as is), slashes merged, dot segments removed, cut at '?' or '#'. A path nginx rejects with 400
 * (bad escape, %00, ".." above the root) never reaches Kong; the test Kong hashes it as sent. */
static void test_ch_path_is_nginx_uri(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\",\"algorithm\":\"consistent-hashing\",\"hash_on\":\"path\"}");
    fx_target(&f, "{\"id\":\"1\",\"target\":\"10.0.0.1:80\"}");
    fx_build(&f);
    static const char *const cases[][2] = {
        {"/plain/path", "/plain/path"},
        {"/a//b/./c/../d", "/a/b/d"},
        {"/%7Euser/%41%2f%62", "/~user/A/b"},
        {"/a/%2F%2e%2e/b", "/b"},
        {"/x%2F%2Fy", "/x/y"},
        {"/a%3Fb%23c%25", "/a?b#c%"},
        {"/a%252e", "/a%2e"},
        {"/a/.", "/a/"},
        {"/a/b/..", "/a/"},
        {"/a/..x/.b", "/a/..x/.b"},
        {"/a.b/./", "/a.b/"},
        {"/a/%2e%2E/", "/"},
        {"/a#frag/..", "/a"},
        {"", "/"},
        /* nginx answers 400: hashed as sent */
        {"/../x", "/../x"},
        {"/a/%2e%2e/..", "/a/%2e%2e/.."},
        {"/%zz", "/%zz"},
        {"/a%4", "/a%4"},
        {"/a%00b", "/a%00b"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        f.c.path = cases[i][0];
        char *v = kf_balancer_hash_value(f.b, &f.c, NULL);
        assert_non_null(v);
        if (strcmp(v, cases[i][1]) != 0) {
            print_message("path '%s': got '%s', want '%s'\n", cases[i][0], v, cases[i][1]);
        }
        assert_string_equal(v, cases[i][1]);
        free(v);
    }
    fx_free(&f);
}

/* consistent_hashing.lua:86-91: a weight-0 target gets no point on the continuum. */
static void test_ch_weight_zero_never(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\",\"algorithm\":\"consistent-hashing\",\"hash_on\":\"path\"}");
    fx_target(&f, "{\"id\":\"1\",\"target\":\"10.0.0.1:80\",\"weight\":0}");
    fx_target(&f, "{\"id\":\"2\",\"target\":\"10.0.0.2:80\"}");
    fx_build(&f);
    for (int i = 0; i < 40; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/x%d", i);
        f.c.path = path;
        assert_string_equal(pick(&f), "10.0.0.2:80");
    }
    fx_free(&f);
}

/* balancer/init.lua:316-323: the hash value is computed whatever the algorithm, so hashing on a
 * missing cookie answers with Set-Cookie under round-robin too. */
static void test_rr_cookie_still_set(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\",\"hash_on\":\"cookie\",\"hash_on_cookie\":\"c\","
                "\"hash_on_cookie_path\":\"/app\"}");
    fx_target(&f, "{\"id\":\"1\",\"target\":\"10.0.0.1:80\"}");
    fx_build(&f);
    struct kf_balancer_extra x;
    char out[64];
    assert_int_equal(kf_balancer_pick_ex(f.b, &f.c, NULL, out, sizeof(out), &x), 0);
    assert_string_equal(out, "10.0.0.1:80");
    assert_int_equal(strncmp(x.set_cookie, "c=", 2), 0);
    assert_non_null(strstr(x.set_cookie, "; Path=/app; Same-Site=Lax; HttpOnly"));
    fx_free(&f);
}

/* ---- least-connections ----------------------------------------------------------------------- */

/* least_connections.lua:23-44,125-129 with the release of handler.lua:1639-1642 before the next
 * request: equal weights rotate as binaryheap's update() sifts the picked entry down; with three
 * targets the third never reaches the top (a, b, a, b, ...). */
static void test_lc_equal_weights_rotation(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\",\"algorithm\":\"least-connections\"}");
    fx_target(&f, "{\"id\":\"1\",\"target\":\"a.test:80\"}");
    fx_target(&f, "{\"id\":\"2\",\"target\":\"b.test:80\"}");
    fx_target(&f, "{\"id\":\"3\",\"target\":\"c.test:80\"}");
    fx_build(&f);
    assert_string_equal(pick(&f), "a.test:80");
    assert_string_equal(pick(&f), "b.test:80");
    assert_string_equal(pick(&f), "a.test:80");
    assert_string_equal(pick(&f), "b.test:80");
    for (int i = 0; i < 20; i++) {
        assert_string_not_equal(pick(&f), "c.test:80");
    }
    fx_free(&f);
}

/* least_connections.lua:39-43: (connections + 1) / weight: with no connection in flight the
 * highest weight always wins; weight 0 is +inf. */
static void test_lc_highest_weight_wins(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\",\"algorithm\":\"least-connections\"}");
    fx_target(&f, "{\"id\":\"1\",\"target\":\"a.test:80\",\"weight\":50}");
    fx_target(&f, "{\"id\":\"2\",\"target\":\"b.test:80\",\"weight\":100}");
    fx_target(&f, "{\"id\":\"3\",\"target\":\"c.test:80\",\"weight\":0}");
    fx_build(&f);
    for (int i = 0; i < 10; i++) {
        assert_string_equal(pick(&f), "b.test:80");
    }
    fx_free(&f);
}

/* balancers.lua:457-466, least_connections.lua:75-81: total weight 0 is an unhealthy balancer. */
static void test_lc_all_zero_enoent(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\",\"algorithm\":\"least-connections\"}");
    fx_target(&f, "{\"id\":\"1\",\"target\":\"a.test:80\",\"weight\":0}");
    fx_build(&f);
    char out[64];
    assert_int_equal(kf_balancer_pick(f.b, &f.c, out, sizeof(out)), KGC_ENOENT);
    fx_free(&f);
}

/* latency.lua:136-147,171-176: every EWMA is 0 in the fake, all scores tie; the first target
 * with a weight (documented choice; Kong's pairs() order is undefined). */
static void test_latency_first_weighted(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "{\"name\":\"u\",\"algorithm\":\"latency\"}");
    fx_target(&f, "{\"id\":\"1\",\"target\":\"a.test:80\",\"weight\":0}");
    fx_target(&f, "{\"id\":\"2\",\"target\":\"b.test:80\"}");
    fx_build(&f);
    assert_string_equal(pick(&f), "b.test:80");
    assert_string_equal(pick(&f), "b.test:80");
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xxhash32_vectors),
        cmocka_unit_test(test_rr_equal_weights_walk),
        cmocka_unit_test(test_rr_weighted_cycle),
        cmocka_unit_test(test_rr_weight_zero_never),
        cmocka_unit_test(test_rr_all_zero_enoent),
        cmocka_unit_test(test_no_targets_enoent),
        cmocka_unit_test(test_target_defaults),
        cmocka_unit_test(test_target_ipv6_format),
        cmocka_unit_test(test_target_order_by_id),
        cmocka_unit_test(test_ch_header_sticky),
        cmocka_unit_test(test_ch_header_dash_name_never_matches),
        cmocka_unit_test(test_ch_order_independent),
        cmocka_unit_test(test_ch_no_value_hashes_empty),
        cmocka_unit_test(test_ch_query_arg_multi),
        cmocka_unit_test(test_ch_fallback_header),
        cmocka_unit_test(test_ch_cookie_generated_and_reused),
        cmocka_unit_test(test_ch_uri_capture),
        cmocka_unit_test(test_ch_path_is_nginx_uri),
        cmocka_unit_test(test_ch_weight_zero_never),
        cmocka_unit_test(test_rr_cookie_still_set),
        cmocka_unit_test(test_lc_equal_weights_rotation),
        cmocka_unit_test(test_lc_highest_weight_wins),
        cmocka_unit_test(test_lc_all_zero_enoent),
        cmocka_unit_test(test_latency_first_weighted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

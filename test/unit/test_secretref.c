/* Tests for include/kgc/secretref.h: the bounded reader of the Secret values Kong plugins take
 * their config from. A canned HTTP peer plays the API server (test_k8s_helpers.h); the plugin
 * objects come from an in-memory lookup. What a user would notice: the plugin gets the key's
 * value, a missing Secret/key or an oversized value is told apart, only named Secrets are read
 * (one GET per distinct reference, at most KGC_SECRETREF_MAX), and a changed value wakes the
 * syncer once — never for an unchanged one. */
#include "kgc/secretref.h"

#include "kgc/api.h"
#include "kgc/clock.h"
#include "kgc/err.h"
#include "kgc/k8s.h"
#include "kgc/status.h"
#include "test_k8s_helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- the API server: Secrets by path, each with a body or a status --------------------------- */

#define MAX_SECRETS 8

struct api {
    pthread_mutex_t mu;
    struct {
        char path[256];
        char *body; /* NULL: 404 */
    } s[MAX_SECRETS];
    size_t n;
};

static void api_set(struct api *a, const char *ns, const char *name, const char *data_json)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/secrets/%s", ns, name);
    pthread_mutex_lock(&a->mu);
    size_t i = 0;
    while (i < a->n && strcmp(a->s[i].path, path) != 0)
        i++;
    if (i == a->n) {
        assert_true(a->n < MAX_SECRETS);
        snprintf(a->s[a->n++].path, sizeof(a->s[0].path), "%s", path);
    }
    free(a->s[i].body);
    a->s[i].body = NULL;
    if (data_json) {
        char buf[4096];
        snprintf(buf, sizeof(buf),
                 "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"namespace\":\"%s\","
                 "\"name\":\"%s\"},\"data\":%s}",
                 ns, name, data_json);
        a->s[i].body = strdup(buf);
    }
    pthread_mutex_unlock(&a->mu);
}

static void api_handler(struct peer *p, const struct peer_request *req, struct peer_response *resp,
                        void *ctx)
{
    (void)p;
    struct api *a = ctx;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->s[i].path, req->path) == 0 && a->s[i].body) {
            resp->status = 200;
            resp->content_type = "application/json";
            peer_resp_part(resp, "%s", a->s[i].body);
            pthread_mutex_unlock(&a->mu);
            return;
        }
    }
    pthread_mutex_unlock(&a->mu);
    peer_status(resp, 404, "NotFound", "secrets not found");
}

static size_t gets_of(struct peer *p, const char *ns, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/secrets/%s", ns, name);
    size_t n = 0;
    for (size_t i = 0; i < peer_count(p); i++) {
        struct peer_request r = peer_get(p, i);
        if (strcmp(r.path, path) == 0 && strcmp(r.method, "GET") == 0)
            n++;
    }
    return n;
}

/* ---- the plugin objects ---------------------------------------------------------------------- */

#define MAX_OBJS 300

struct objs {
    pthread_mutex_t mu;
    const struct kgc_api_obj *v[MAX_OBJS];
    size_t n;
};

static const struct kgc_api_obj *objs_get(void *ctx, enum kgc_api_kind kind, const char *ns,
                                          const char *name)
{
    struct objs *o = ctx;
    const struct kgc_api_obj *found = NULL;
    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < o->n && !found; i++) {
        const struct kgc_api_obj *x = o->v[i];
        if (x->kind == kind && strcmp(x->meta.name, name) == 0 &&
            (!ns || (x->meta.namespace && strcmp(x->meta.namespace, ns) == 0)))
            found = kgc_api_obj_ref(x);
    }
    pthread_mutex_unlock(&o->mu);
    return found;
}

static void objs_foreach(void *ctx, enum kgc_api_kind kind, const char *ns, kgc_status_visit_fn fn,
                         void *fnctx)
{
    struct objs *o = ctx;
    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < o->n; i++) {
        const struct kgc_api_obj *x = o->v[i];
        if (x->kind != kind || (ns && (!x->meta.namespace || strcmp(x->meta.namespace, ns) != 0)))
            continue;
        if (!fn(x, fnctx))
            break;
    }
    pthread_mutex_unlock(&o->mu);
}

/* A KongPlugin ns/name (or, with ns NULL, a KongClusterPlugin name whose secretKeyRef names
 * ref_ns) taking its config from Secret secret key key. */
static void add_plugin(struct objs *o, const char *ns, const char *name, const char *ref_ns,
                       const char *secret, const char *key)
{
    char text[1024], refns[128] = "";
    if (ref_ns)
        snprintf(refns, sizeof(refns), "\"namespace\":\"%s\",", ref_ns);
    snprintf(text, sizeof(text),
             "{\"apiVersion\":\"configuration.konghq.com/v1\",\"kind\":\"%s\","
             "\"metadata\":{%s%s%s\"name\":\"%s\",\"uid\":\"u-%s\",\"resourceVersion\":\"1\"},"
             "\"plugin\":\"request-termination\","
             "\"configFrom\":{\"secretKeyRef\":{%s\"name\":\"%s\",\"key\":\"%s\"}}}",
             ns ? "KongPlugin" : "KongClusterPlugin", ns ? "\"namespace\":\"" : "", ns ? ns : "",
             ns ? "\"," : "", name, name, refns, secret, key);
    struct kgc_api_obj *obj = NULL;
    struct kgc_err err = {0};
    assert_int_equal(kgc_api_parse_text(ns ? KGC_API_KONGPLUGIN : KGC_API_KONGCLUSTERPLUGIN, text,
                                        strlen(text), &obj, &err),
                     0);
    pthread_mutex_lock(&o->mu);
    assert_true(o->n < MAX_OBJS);
    o->v[o->n++] = obj;
    pthread_mutex_unlock(&o->mu);
}

/* ---- the fixture --------------------------------------------------------------------------- */

struct fx {
    struct api api;
    struct objs objs;
    struct peer *peer;
    struct kgc_k8s_client *client;
    struct kgc_secretref *s;
    struct kgc_status_lookup lk;
    struct kgc_clock clock;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    unsigned changes; /* on_change calls (under mu) */
};

static void on_change(void *ctx)
{
    struct fx *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->changes++;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

static unsigned changes(struct fx *f)
{
    pthread_mutex_lock(&f->mu);
    unsigned n = f->changes;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    pthread_mutex_init(&f->api.mu, NULL);
    pthread_mutex_init(&f->objs.mu, NULL);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, NULL);
    kgc_clock_fake_init(&f->clock, 1000000000ull);
    f->peer = peer_start(api_handler, &f->api);
    assert_non_null(f->peer);
    struct kgc_k8s_options ko;
    kgc_k8s_options_default(&ko);
    ko.qps = 0;
    struct kgc_k8s_config cfg = {.server = f->peer->url};
    struct kgc_err err = {0};
    assert_int_equal(kgc_k8s_client_new(&cfg, &ko, &f->client, &err), 0);
    struct kgc_secretref_options o = {
        .client = f->client,
        .base = {.get = objs_get, .foreach = objs_foreach, .ctx = &f->objs},
        .clock = &f->clock,
        .period_ns = 10000000000ull,
        .on_change = on_change,
        .on_change_ctx = f,
    };
    assert_int_equal(kgc_secretref_new(&o, &f->s, &err), 0);
    kgc_secretref_lookup(f->s, &f->lk);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    kgc_secretref_free(f->s);
    kgc_k8s_client_free(f->client);
    peer_stop(f->peer);
    for (size_t i = 0; i < f->objs.n; i++)
        kgc_api_obj_unref(f->objs.v[i]);
    for (size_t i = 0; i < f->api.n; i++)
        free(f->api.s[i].body);
    pthread_mutex_destroy(&f->api.mu);
    pthread_mutex_destroy(&f->objs.mu);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cond);
    free(f);
    return 0;
}

/* secret_value through the lookup the translator gets: rc and, on 0, the value. */
static int value(struct fx *f, const char *ns, const char *name, const char *key, char *buf,
                 size_t size)
{
    char *v = NULL;
    int rc = f->lk.secret_value(f->lk.ctx, ns, name, key, &v);
    buf[0] = 0;
    if (rc == 0) {
        assert_non_null(v);
        snprintf(buf, size, "%s", v);
        free(v);
    } else {
        assert_null(v);
    }
    return rc;
}

/* base64 of s (the Secret's data encoding). */
static char *enc(const char *s)
{
    return b64(s, strlen(s));
}

/* ---- the cases ------------------------------------------------------------------------------- */

/* The value of the named key reaches the plugin; the other keys of the Secret are never offered;
 * the lookup forwards get/foreach to the cache's. */
static void test_value_of_named_key(void **state)
{
    struct fx *f = *state;
    char *v = enc("{\"status_code\":403}"), *other = enc("other-secret");
    char data[512];
    snprintf(data, sizeof(data), "{\"cfg\":\"%s\",\"password\":\"%s\"}", v, other);
    api_set(&f->api, "team-a", "plug-cfg", data);
    add_plugin(&f->objs, "team-a", "deny", NULL, "plug-cfg", "cfg");
    char buf[256];
    assert_int_equal(value(f, "team-a", "plug-cfg", "cfg", buf, sizeof(buf)), KGC_ENOENT);
    kgc_secretref_refresh(f->s);
    assert_int_equal(value(f, "team-a", "plug-cfg", "cfg", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "{\"status_code\":403}");
    assert_int_equal(value(f, "team-a", "plug-cfg", "password", buf, sizeof(buf)), KGC_ENOENT);
    assert_int_equal(value(f, "team-b", "plug-cfg", "cfg", buf, sizeof(buf)), KGC_ENOENT);
    assert_int_equal(changes(f), 1);
    const struct kgc_api_obj *o = f->lk.get(f->lk.ctx, KGC_API_KONGPLUGIN, "team-a", "deny");
    assert_non_null(o);
    kgc_api_obj_unref(o);
    free(v);
    free(other);
}

/* No Secret, no such key, a value over KGC_API_KONGPLUGIN_CONFIG_MAX, a value that is not
 * base64: each tells the translator why (secret_value's contract in kgc/status.h). */
static void test_problems_told_apart(void **state)
{
    struct fx *f = *state;
    add_plugin(&f->objs, "ns", "absent", NULL, "nope", "k");
    add_plugin(&f->objs, "ns", "nokey", NULL, "s1", "missing");
    add_plugin(&f->objs, "ns", "big", NULL, "s2", "k");
    add_plugin(&f->objs, "ns", "garbled", NULL, "s3", "k");
    api_set(&f->api, "ns", "s1", "{\"k\":\"eA==\"}");
    size_t n = KGC_API_KONGPLUGIN_CONFIG_MAX + 1;
    char *raw = malloc(n + 1);
    memset(raw, 'a', n);
    raw[n] = 0;
    char *big = b64(raw, n);
    size_t dl = strlen(big) + 16;
    char *data = malloc(dl);
    snprintf(data, dl, "{\"k\":\"%s\"}", big);
    /* api_set's body buffer is 4 KiB: store this one directly */
    pthread_mutex_lock(&f->api.mu);
    snprintf(f->api.s[f->api.n].path, sizeof(f->api.s[0].path), "/api/v1/namespaces/ns/secrets/s2");
    size_t bl = dl + 256;
    f->api.s[f->api.n].body = malloc(bl);
    snprintf(f->api.s[f->api.n].body, bl,
             "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"namespace\":\"ns\","
             "\"name\":\"s2\"},\"data\":%s}",
             data);
    f->api.n++;
    pthread_mutex_unlock(&f->api.mu);
    api_set(&f->api, "ns", "s3", "{\"k\":\"***not base64***\"}");
    kgc_secretref_refresh(f->s);
    char buf[64];
    assert_int_equal(value(f, "ns", "nope", "k", buf, sizeof(buf)), KGC_ENOENT);
    assert_int_equal(value(f, "ns", "s1", "missing", buf, sizeof(buf)), KGC_ERANGE);
    assert_int_equal(value(f, "ns", "s2", "k", buf, sizeof(buf)), KGC_ENOSPC);
    assert_int_equal(value(f, "ns", "s3", "k", buf, sizeof(buf)), KGC_ERANGE);
    free(raw);
    free(big);
    free(data);
}

/* Only the Secrets plugins name are read, one GET per distinct reference however many plugins
 * share it; a KongClusterPlugin reads the namespace its secretKeyRef names, and one without a
 * namespace reads nothing. */
static void test_reads_only_named_once(void **state)
{
    struct fx *f = *state;
    char *v = enc("{}");
    char data[128];
    snprintf(data, sizeof(data), "{\"k\":\"%s\"}", v);
    api_set(&f->api, "a", "shared", data);
    api_set(&f->api, "c", "cluster-cfg", data);
    api_set(&f->api, "a", "unnamed", data);
    add_plugin(&f->objs, "a", "p1", NULL, "shared", "k");
    add_plugin(&f->objs, "a", "p2", NULL, "shared", "k");
    add_plugin(&f->objs, NULL, "cp", "c", "cluster-cfg", "k");
    add_plugin(&f->objs, NULL, "cp-nons", NULL, "unnamed", "k");
    kgc_secretref_refresh(f->s);
    assert_int_equal(gets_of(f->peer, "a", "shared"), 1);
    assert_int_equal(gets_of(f->peer, "c", "cluster-cfg"), 1);
    assert_int_equal(gets_of(f->peer, "a", "unnamed"), 0);
    assert_int_equal(peer_count(f->peer), 2);
    char buf[16];
    assert_int_equal(value(f, "c", "cluster-cfg", "k", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "{}");
    free(v);
}

/* At most KGC_SECRETREF_MAX references are read per pass (a tenant with thousands of plugins
 * cannot make kgc fetch thousands of Secrets); the rest answer "not read yet". */
static void test_reference_bound(void **state)
{
    struct fx *f = *state;
    for (unsigned i = 0; i < KGC_SECRETREF_MAX + 10; i++) {
        char name[32], secret[32];
        snprintf(name, sizeof(name), "p%03u", i);
        snprintf(secret, sizeof(secret), "s%03u", i);
        add_plugin(&f->objs, "many", name, NULL, secret, "k");
    }
    kgc_secretref_refresh(f->s);
    assert_int_equal(peer_count(f->peer), KGC_SECRETREF_MAX);
    char buf[16];
    assert_int_equal(value(f, "many", "s299", "k", buf, sizeof(buf)), KGC_ENOENT);
}

/* on_change fires when a value appears, changes or goes away — not on a pass that finds the
 * same values (the syncer would re-translate for nothing). */
static void test_change_only_on_difference(void **state)
{
    struct fx *f = *state;
    add_plugin(&f->objs, "ns", "p", NULL, "s", "k");
    kgc_secretref_refresh(f->s); /* the reference appears (not read: no Secret) */
    unsigned base = changes(f);
    kgc_secretref_refresh(f->s);
    assert_int_equal(changes(f), base);
    char *v1 = enc("{\"v\":1}"), *v2 = enc("{\"v\":2}");
    char data[128];
    snprintf(data, sizeof(data), "{\"k\":\"%s\"}", v1);
    api_set(&f->api, "ns", "s", data);
    kgc_secretref_refresh(f->s);
    assert_int_equal(changes(f), base + 1);
    kgc_secretref_refresh(f->s);
    assert_int_equal(changes(f), base + 1);
    snprintf(data, sizeof(data), "{\"k\":\"%s\"}", v2);
    api_set(&f->api, "ns", "s", data);
    kgc_secretref_refresh(f->s);
    assert_int_equal(changes(f), base + 2);
    char buf[32];
    assert_int_equal(value(f, "ns", "s", "k", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "{\"v\":2}");
    api_set(&f->api, "ns", "s", NULL); /* deleted */
    kgc_secretref_refresh(f->s);
    assert_int_equal(changes(f), base + 3);
    assert_int_equal(value(f, "ns", "s", "k", buf, sizeof(buf)), KGC_ENOENT);
    free(v1);
    free(v2);
}

/* The worker reads once at start, then again every period (the real clock here: a fake clock's
 * deadline is only a signal away, kgc/base.h, and nothing signals it but a plugin change); a
 * Secret that appears later is picked up without any plugin changing; stop joins it. */
static void test_worker_period(void **state)
{
    struct fx *f = *state;
    kgc_secretref_free(f->s);
    struct kgc_secretref_options o = {
        .client = f->client,
        .base = {.get = objs_get, .foreach = objs_foreach, .ctx = &f->objs},
        .period_ns = 20000000ull, /* 20 ms */
        .on_change = on_change,
        .on_change_ctx = f,
    };
    struct kgc_err err = {0};
    assert_int_equal(kgc_secretref_new(&o, &f->s, &err), 0);
    kgc_secretref_lookup(f->s, &f->lk);
    add_plugin(&f->objs, "ns", "p", NULL, "s", "k");
    assert_int_equal(kgc_secretref_start(f->s, &err), 0);
    char *v = enc("{\"v\":1}");
    char data[128];
    snprintf(data, sizeof(data), "{\"k\":\"%s\"}", v);
    api_set(&f->api, "ns", "s", data);
    char buf[32];
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&f->mu);
    while (value(f, "ns", "s", "k", buf, sizeof(buf)) != 0 &&
           pthread_cond_timedwait(&f->cond, &f->mu, &until) == 0) {
    }
    pthread_mutex_unlock(&f->mu);
    assert_int_equal(value(f, "ns", "s", "k", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "{\"v\":1}");
    assert_true(gets_of(f->peer, "ns", "s") >= 1);
    kgc_secretref_stop(f->s);
    size_t after_stop = gets_of(f->peer, "ns", "s");
    peer_sleep_ms(60); /* three periods: a stopped worker reads nothing more */
    assert_int_equal(gets_of(f->peer, "ns", "s"), after_stop);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_value_of_named_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_problems_told_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_only_named_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reference_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_only_on_difference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_period, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

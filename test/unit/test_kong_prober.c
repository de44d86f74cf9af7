/* kong probers and the listener cache together:
 *   - events against the in-process test Kong: READY, LISTENERS_CHANGED, HASH_CHANGED (first
 *     contact and after a push), HEARTBEAT, UNREACHABLE, RESTARTED (node_id changed; hash turned
 *     to zeros even when the restart is quicker than a probe, unless kgc said it pushes an
 *     entity-free configuration, which Kong stores under the zero hash), listeners changed across
 *     a restart;
 *   - the instance set: add, remove (REMOVED), union of ready instances, bad URLs;
 *   - a stop wakes an idle prober at once;
 *   - the end-to-end story with the real build/kgc-test-kong process: read listeners, kill
 *     it with SIGKILL → the view turns cached and stale within about one probe interval; start it
 *     again on the same port → READY and RESTARTED within about a second; the stored listeners
 *     are read back by a new cache (a new kgc process).
 * Timings are printed; bounds asserted are generous (seconds), never tight.
 *
 * Driver mode (KGC_PROBER_DRIVER=1, used by test/e2e/kong_prober.sh): probes KGC_DRIVER_URL with
 * the default intervals and a cache in KGC_DRIVER_CACHE_DIR, prints one line per event and per
 * view change, until SIGTERM or KGC_DRIVER_SECONDS (30); then the cache dump and "bye". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fakes/kong/kong_fake.h"

#include "kgc/clock.h"
#include "kgc/kong.h"
#include "kgc/listenercache.h"
#include "kgc/log.h"
#include "fake_proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

/* ---- an event recorder ---------------------------------------------------------------------- */

struct rec_event {
    enum kgc_kong_event_type type;
    char url[KGC_KONG_URL_MAX];
    char reason[256];
    char hash[33];
    char node_id[64];
    size_t n_proxy;
    uint64_t at_ns;
};

struct recorder {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct rec_event ev[512];
    size_t n;
    bool print; /* driver mode: one line per event on stdout */
};

static void rec_init(struct recorder *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
}

static void rec_destroy(struct recorder *r)
{
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cond);
}

static void on_event(const struct kgc_kong_event *ev, void *ctx)
{
    struct recorder *r = ctx;
    pthread_mutex_lock(&r->mu);
    if (r->n < sizeof(r->ev) / sizeof(r->ev[0])) {
        struct rec_event *e = &r->ev[r->n++];
        e->type = ev->type;
        snprintf(e->url, sizeof(e->url), "%s", ev->url);
        snprintf(e->reason, sizeof(e->reason), "%s", ev->reason);
        snprintf(e->hash, sizeof(e->hash), "%s", ev->state->hash);
        snprintf(e->node_id, sizeof(e->node_id), "%s", ev->state->info.node_id);
        e->n_proxy = ev->state->info.listeners.n_proxy;
        e->at_ns = kgc_clock_now(NULL);
    }
    if (r->print) {
        printf("event %s url=%s node_id=%s hash=%s reason=%s\n", kgc_kong_event_name(ev->type),
               ev->url, ev->state->info.node_id, ev->state->hash, ev->reason);
        fflush(stdout);
    }
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

/* Waits for an event of type (for url, or any when NULL) at index >= from. Returns its index or
 * -1 after timeout_ms. */
static long rec_wait(struct recorder *r, size_t from, enum kgc_kong_event_type type,
                     const char *url, uint64_t timeout_ms)
{
    uint64_t deadline = kgc_clock_now(NULL) + timeout_ms * KGC_NS_PER_MS;
    struct timespec ts = {.tv_sec = (time_t)(deadline / KGC_NS_PER_S),
                          .tv_nsec = (long)(deadline % KGC_NS_PER_S)};
    long found = -1;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        for (size_t i = from; i < r->n && found < 0; i++)
            if (r->ev[i].type == type && (!url || strcmp(r->ev[i].url, url) == 0))
                found = (long)i;
        if (found >= 0 || pthread_cond_timedwait(&r->cond, &r->mu, &ts) != 0)
            break;
    }
    for (size_t i = from; i < r->n && found < 0; i++) /* one last look after a timeout */
        if (r->ev[i].type == type && (!url || strcmp(r->ev[i].url, url) == 0))
            found = (long)i;
    pthread_mutex_unlock(&r->mu);
    return found;
}

static size_t rec_count(struct recorder *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static struct rec_event rec_get(struct recorder *r, long i)
{
    pthread_mutex_lock(&r->mu);
    struct rec_event e = r->ev[i];
    pthread_mutex_unlock(&r->mu);
    return e;
}

static size_t rec_count_type(struct recorder *r, size_t from, enum kgc_kong_event_type type)
{
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = from; i < r->n; i++)
        n += r->ev[i].type == type;
    pthread_mutex_unlock(&r->mu);
    return n;
}

#define EXPECT_EVENT(r, from, type, url, ms)                                                       \
    ({                                                                                             \
        long i_ = rec_wait((r), (from), (type), (url), (ms));                                      \
        if (i_ < 0)                                                                                \
            fail_msg("no %s event within %d ms", kgc_kong_event_name(type), (int)(ms));            \
        i_;                                                                                        \
    })

/* Polls the view until source/stale match, for at most timeout_ms. Returns the wait in ms or -1. */
static long wait_view(struct kgc_listenercache *c, enum kgc_listenercache_source src, bool stale,
                      uint64_t timeout_ms)
{
    uint64_t t0 = kgc_clock_now(NULL);
    for (;;) {
        struct kgc_listenercache_view v;
        kgc_listenercache_view(c, &v);
        bool ok = v.source == src && v.stale == stale;
        kgc_listenercache_view_release(&v);
        uint64_t el = (kgc_clock_now(NULL) - t0) / KGC_NS_PER_MS;
        if (ok)
            return (long)el;
        if (el > timeout_ms)
            return -1;
        usleep(5000);
    }
}

/* ---- helpers -------------------------------------------------------------------------------- */

static struct kf_server *fake_start(unsigned port, const char *node_id, const char *listeners)
{
    struct kf_server_options o;
    kf_server_options_init(&o);
    o.port = port;
    o.node_id = node_id;
    o.listeners_json = listeners;
    struct kf_server *s = NULL;
    char err[256] = "";
    for (int i = 0; i < 50; i++) { /* the port may linger briefly after a stop */
        if (kf_server_start(&o, &s, err, sizeof(err)) == 0)
            return s;
        usleep(20000);
    }
    fail_msg("test kong on port %u: %s", port, err);
    return NULL;
}

static struct kgc_kong *kong_new(uint64_t interval_ms, uint64_t down_ms, uint64_t heartbeat_ms,
                                 struct recorder *r, struct kgc_listenercache *cache)
{
    struct kgc_kong_options o;
    kgc_kong_options_default(&o);
    o.probe_interval_ms = interval_ms;
    o.down_probe_interval_ms = down_ms;
    o.heartbeat_interval_ms = heartbeat_ms;
    o.client.request_timeout_ms = 1000;
    struct kgc_kong *k = NULL;
    struct kgc_err err = {0};
    assert_int_equal(kgc_kong_new(&o, &k, &err), 0);
    if (cache)
        assert_int_equal(kgc_listenercache_attach(cache, k), 0);
    if (r)
        assert_int_equal(kgc_kong_subscribe(k, on_event, r), 0);
    return k;
}

static struct kgc_listenercache *cache_open(const char *dir)
{
    struct kgc_listenercache_options o;
    kgc_listenercache_options_default(&o);
    o.dir = dir;
    struct kgc_listenercache *c = NULL;
    struct kgc_err err = {0};
    if (kgc_listenercache_open(&o, &c, &err))
        fail_msg("cache: %s", err.msg);
    return c;
}

static void push(const char *url, const char *config)
{
    struct kgc_kong_client *c = NULL;
    struct kgc_err err = {0};
    assert_int_equal(kgc_kong_client_new(url, NULL, &c, &err), 0);
    struct kgc_kong_push_result r;
    if (kgc_kong_push_config(c, config, strlen(config), &r, &err))
        fail_msg("push: %s", err.msg);
    assert_int_equal(r.kind, KGC_KONG_PUSH_APPLIED);
    kgc_kong_push_result_free(&r);
    kgc_kong_client_free(c);
}

static const char *CONFIG =
    "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s1\",\"host\":\"example.com\"}]}";

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* ---- tests: in-process test Kong ------------------------------------------------------------ */

static void test_events_through_restarts(void **state)
{
    (void)state;
    struct recorder r;
    rec_init(&r);
    struct kf_server *s = fake_start(0, "node-a", NULL);
    unsigned port = kf_server_port(s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
    char lcdir[] = "/tmp/kgc-prober-lc-XXXXXX";
    assert_non_null(mkdtemp(lcdir));
    struct kgc_listenercache *cache = cache_open(lcdir);
    struct kgc_kong *k = kong_new(100, 50, 400, &r, cache);
    assert_int_equal(kgc_kong_set_instances(k, (const char *[]){url}, 1, NULL), 0);

    /* First contact: READY, then the first listeners and hash, in that order. */
    long ready = EXPECT_EVENT(&r, 0, KGC_KONG_EV_READY, url, 3000);
    long lis = EXPECT_EVENT(&r, 0, KGC_KONG_EV_LISTENERS_CHANGED, url, 3000);
    long hash = EXPECT_EVENT(&r, 0, KGC_KONG_EV_HASH_CHANGED, url, 3000);
    assert_true(ready < lis && lis < hash);
    assert_true(kgc_kong_hash_is_empty(rec_get(&r, hash).hash));
    assert_int_equal(rec_get(&r, lis).n_proxy, 2);
    assert_true(wait_view(cache, KGC_LISTENERCACHE_LIVE, false, 1000) >= 0);
    struct kgc_kong_instance_state *st;
    size_t n;
    assert_int_equal(kgc_kong_states(k, &st, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(st[0].health, KGC_KONG_HEALTH_READY);
    assert_true(st[0].reachable);
    assert_false(st[0].configured);
    assert_string_equal(st[0].info.node_id, "node-a");
    assert_true(st[0].last_ok_wall_ms > 0);
    kgc_kong_states_free(st, n);

    /* A push changes the hash; probe_now makes the prober see it at once. */
    size_t mark = rec_count(&r);
    push(url, CONFIG);
    kgc_kong_probe_now(k);
    long h2 = EXPECT_EVENT(&r, mark, KGC_KONG_EV_HASH_CHANGED, url, 2000);
    char want[33];
    kgc_kong_config_hash(CONFIG, strlen(CONFIG), want);
    assert_string_equal(rec_get(&r, h2).hash, want);
    EXPECT_EVENT(&r, mark, KGC_KONG_EV_HEARTBEAT, url, 3000);
    assert_int_equal(rec_count_type(&r, mark, KGC_KONG_EV_READY), 0);

    /* Kong goes away: UNREACHABLE; the view turns cached and stale. */
    mark = rec_count(&r);
    kf_server_stop(s);
    long un = EXPECT_EVENT(&r, mark, KGC_KONG_EV_UNREACHABLE, url, 3000);
    assert_non_null(strstr(rec_get(&r, un).reason, url));
    assert_true(wait_view(cache, KGC_LISTENERCACHE_CACHED, true, 1000) >= 0);
    struct kgc_listenercache_view v;
    kgc_listenercache_view(cache, &v);
    assert_int_equal(v.listeners->n_proxy, 2);
    assert_non_null(strstr(v.reason, "kong admin API unreachable"));
    kgc_listenercache_view_release(&v);
    assert_int_equal(kgc_kong_states(k, &st, &n), 0);
    assert_int_equal(st[0].health, KGC_KONG_HEALTH_DOWN);
    assert_false(st[0].reachable);
    assert_true(st[0].have_info); /* last known data kept */
    assert_true(st[0].last_error[0] != '\0');
    kgc_kong_states_free(st, n);

    /* It comes back as a new node with no configuration: READY and RESTARTED. */
    mark = rec_count(&r);
    s = fake_start(port, "node-b", NULL);
    EXPECT_EVENT(&r, mark, KGC_KONG_EV_READY, url, 3000);
    long rs = EXPECT_EVENT(&r, mark, KGC_KONG_EV_RESTARTED, url, 3000);
    assert_non_null(strstr(rec_get(&r, rs).reason, "node_id changed from node-a to node-b"));
    long h3 = EXPECT_EVENT(&r, mark, KGC_KONG_EV_HASH_CHANGED, url, 3000);
    assert_true(kgc_kong_hash_is_empty(rec_get(&r, h3).hash));
    assert_int_equal(rec_count_type(&r, mark, KGC_KONG_EV_LISTENERS_CHANGED), 0); /* same ones */
    assert_true(wait_view(cache, KGC_LISTENERCACHE_LIVE, false, 1000) >= 0);

    /* Restarted with other listeners: LISTENERS_CHANGED, and the live view shows none. */
    kf_server_stop(s);
    EXPECT_EVENT(&r, mark, KGC_KONG_EV_UNREACHABLE, url, 3000);
    mark = rec_count(&r);
    s = fake_start(port, "node-c", "{\"proxy_listeners\":[],\"stream_listeners\":[]}");
    long lc = EXPECT_EVENT(&r, mark, KGC_KONG_EV_LISTENERS_CHANGED, url, 3000);
    assert_int_equal(rec_get(&r, lc).n_proxy, 0);
    assert_true(wait_view(cache, KGC_LISTENERCACHE_LIVE, false, 1000) >= 0);
    kgc_listenercache_view(cache, &v);
    assert_int_equal(v.listeners->n_proxy, 0);
    kgc_listenercache_view_release(&v);

    kgc_kong_free(k);
    size_t after = rec_count(&r);
    usleep(250 * 1000);
    assert_int_equal(rec_count(&r), after); /* no events after stop */
    kf_server_stop(s);
    kgc_listenercache_close(cache);
    rm_rf(lcdir);
    rec_destroy(&r);
}

/* Same node_id, a restart faster than a probe interval: the zero hash still tells. */
static void test_quick_restart_seen_by_hash(void **state)
{
    (void)state;
    struct recorder r;
    rec_init(&r);
    struct kf_server *s = fake_start(0, "same-node", NULL);
    unsigned port = kf_server_port(s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
    push(url, CONFIG);
    struct kgc_kong *k = kong_new(1000, 50, 0, &r, NULL);
    assert_int_equal(kgc_kong_set_instances(k, (const char *[]){url}, 1, NULL), 0);
    EXPECT_EVENT(&r, 0, KGC_KONG_EV_READY, url, 3000);
    size_t mark = rec_count(&r);
    kf_server_stop(s);
    s = fake_start(port, "same-node", NULL);
    long rs = EXPECT_EVENT(&r, mark, KGC_KONG_EV_RESTARTED, url, 3000);
    assert_non_null(strstr(rec_get(&r, rs).reason, "configuration hash turned to zeros"));
    kgc_kong_free(k);
    kf_server_stop(s);
    rec_destroy(&r);
}

/* Kong 3.9.1 stores a configuration with no entities under the zero hash: once kgc says it is
 * pushing one (kgc_kong_expect_empty), the hash turning to zeros is that configuration, not a
 * restart; a new node_id still is one; and without the flag zeros are a restart again. */
static void test_expected_empty_config_is_not_a_restart(void **state)
{
    (void)state;
    struct recorder r;
    rec_init(&r);
    struct kf_server *s = fake_start(0, "same-node", NULL);
    unsigned port = kf_server_port(s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
    push(url, CONFIG);
    struct kgc_kong *k = kong_new(1000, 50, 0, &r, NULL);
    assert_int_equal(kgc_kong_set_instances(k, (const char *[]){url}, 1, NULL), 0);
    EXPECT_EVENT(&r, 0, KGC_KONG_EV_HASH_CHANGED, url, 3000); /* the first probe's last event */
    size_t mark = rec_count(&r);
    kgc_kong_expect_empty(k, url, true);
    push(url, "{\"_format_version\":\"3.0\"}");
    kgc_kong_probe_now(k);
    long h = EXPECT_EVENT(&r, mark, KGC_KONG_EV_HASH_CHANGED, url, 3000);
    assert_true(kgc_kong_hash_is_empty(rec_get(&r, h).hash));
    assert_int_equal(rec_count_type(&r, mark, KGC_KONG_EV_RESTARTED), 0);

    /* a real restart: a new node_id */
    mark = rec_count(&r);
    kf_server_stop(s);
    s = fake_start(port, "other-node", NULL);
    long rs = EXPECT_EVENT(&r, mark, KGC_KONG_EV_RESTARTED, url, 3000);
    assert_non_null(strstr(rec_get(&r, rs).reason, "node_id changed"));

    /* a configuration with entities again: zeros are a restart again */
    kgc_kong_expect_empty(k, url, false);
    mark = rec_count(&r);
    push(url, CONFIG);
    kgc_kong_probe_now(k);
    EXPECT_EVENT(&r, mark, KGC_KONG_EV_HASH_CHANGED, url, 3000);
    mark = rec_count(&r);
    kf_server_stop(s);
    s = fake_start(port, "other-node", NULL);
    rs = EXPECT_EVENT(&r, mark, KGC_KONG_EV_RESTARTED, url, 3000);
    assert_non_null(strstr(rec_get(&r, rs).reason, "configuration hash turned to zeros"));
    kgc_kong_free(k);
    kf_server_stop(s);
    rec_destroy(&r);
}

static void test_instance_set(void **state)
{
    (void)state;
    struct recorder r;
    rec_init(&r);
    struct kf_server *a = fake_start(0, "node-a", NULL);
    struct kf_server *b =
        fake_start(0, "node-b",
                   "{\"proxy_listeners\":[{\"ip\":\"0.0.0.0\",\"port\":8000},{\"ip\":\"0.0.0.0\","
                   "\"port\":8001}],\"stream_listeners\":{}}");
    char ua[64], ub[64], ub_slash[70];
    snprintf(ua, sizeof(ua), "http://127.0.0.1:%u", kf_server_port(a));
    snprintf(ub, sizeof(ub), "http://127.0.0.1:%u", kf_server_port(b));
    snprintf(ub_slash, sizeof(ub_slash), "%s/", ub);
    char lcdir[] = "/tmp/kgc-prober-lc-XXXXXX";
    assert_non_null(mkdtemp(lcdir));
    struct kgc_listenercache *cache = cache_open(lcdir);
    struct kgc_kong *k = kong_new(100, 50, 0, &r, cache);
    struct kgc_err err = {0};
    assert_int_equal(kgc_kong_set_instances(k, (const char *[]){ub, ua, ub_slash}, 3, &err), 0);
    EXPECT_EVENT(&r, 0, KGC_KONG_EV_READY, ua, 3000);
    EXPECT_EVENT(&r, 0, KGC_KONG_EV_READY, ub, 3000);
    struct kgc_kong_instance_state *st;
    size_t n;
    assert_int_equal(kgc_kong_states(k, &st, &n), 0);
    assert_int_equal(n, 2); /* the duplicate collapsed */
    assert_true(strcmp(st[0].url, st[1].url) < 0);
    kgc_kong_states_free(st, n);
    struct kgc_listenercache_view v;
    for (int i = 0; i < 200; i++) { /* both instances' listeners reach the cache */
        kgc_listenercache_view(cache, &v);
        bool done = v.n_live == 2;
        kgc_listenercache_view_release(&v);
        if (done)
            break;
        usleep(5000);
    }
    kgc_listenercache_view(cache, &v);
    assert_int_equal(v.n_live, 2);
    assert_int_equal(v.listeners->n_proxy, 3); /* 8000, 8001, 8443 */
    assert_int_equal(v.listeners->n_stream, 1);
    kgc_listenercache_view_release(&v);

    /* A bad URL changes nothing. */
    assert_int_equal(kgc_kong_set_instances(k, (const char *[]){ub, "kong:8001"}, 2, &err),
                     KGC_EUSAGE);
    assert_int_equal(kgc_kong_states(k, &st, &n), 0);
    assert_int_equal(n, 2);
    kgc_kong_states_free(st, n);

    /* Removing a joins its prober and emits REMOVED before returning. */
    size_t mark = rec_count(&r);
    assert_int_equal(kgc_kong_set_instances(k, (const char *[]){ub}, 1, &err), 0);
    assert_true(rec_wait(&r, mark, KGC_KONG_EV_REMOVED, ua, 0) >= 0);
    kgc_listenercache_view(cache, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_LIVE);
    assert_int_equal(v.n_live, 1);
    assert_int_equal(v.listeners->n_proxy, 2);
    kgc_listenercache_view_release(&v);
    assert_int_equal(kgc_kong_states(k, &st, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(st[0].url, ub);
    kgc_kong_states_free(st, n);

    assert_int_equal(kgc_kong_set_instances(k, NULL, 0, &err), 0);
    assert_true(rec_wait(&r, mark, KGC_KONG_EV_REMOVED, ub, 0) >= 0);
    kgc_listenercache_view(cache, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_CACHED); /* what was seen stays known */
    kgc_listenercache_view_release(&v);

    kgc_kong_stop(k);
    assert_int_equal(kgc_kong_set_instances(k, (const char *[]){ua}, 1, &err), KGC_ESHUTDOWN);
    kgc_kong_free(k);
    kf_server_stop(a);
    kf_server_stop(b);
    kgc_listenercache_close(cache);
    rm_rf(lcdir);
    rec_destroy(&r);
}

static void test_stop_wakes_idle_prober(void **state)
{
    (void)state;
    struct recorder r;
    rec_init(&r);
    struct kf_server *s = fake_start(0, NULL, NULL);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", kf_server_port(s));
    struct kgc_kong *k = kong_new(60000, 60000, 0, &r, NULL); /* a minute between probes */
    assert_int_equal(kgc_kong_set_instances(k, (const char *[]){url}, 1, NULL), 0);
    EXPECT_EVENT(&r, 0, KGC_KONG_EV_READY, url, 3000);
    uint64_t t0 = kgc_clock_now(NULL);
    kgc_kong_free(k);
    uint64_t ms = (kgc_clock_now(NULL) - t0) / KGC_NS_PER_MS;
    print_message("stop of an idle prober took %llu ms\n", (unsigned long long)ms);
    assert_true(ms < 5000); /* not the minute it was waiting for */
    kf_server_stop(s);
    rec_destroy(&r);
}

/* ---- the real test Kong process ------------------------------------------------------------- */

struct proc {
    pid_t pid;
    int out; /* its stdout (kept open: it may still write) */
    unsigned port;
};

static void test_kong_path(char *out, size_t size)
{
    const char *env = getenv("KGC_TEST_KONG");
    if (env && env[0]) {
        snprintf(out, size, "%s", env);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) { /* BUILD/test/test_kong_prober → BUILD/kgc-test-kong */
        self[n] = '\0';
        char *d = dirname(dirname(self));
        snprintf(out, size, "%s/kgc-test-kong", d);
        if (access(out, X_OK) == 0)
            return;
    }
    snprintf(out, size, "build/kgc-test-kong");
}

/* Starts kgc-test-kong on 127.0.0.1:port (0: any) and waits (5 s at most) for its port. */
static bool proc_start(struct proc *p, unsigned port)
{
    char bin[PATH_MAX], listen[64];
    test_kong_path(bin, sizeof(bin));
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
    char *argv[] = {bin, "--admin-listen", listen, "--log-level", "error", NULL};
    char url[64];
    pid_t pid = fake_proc_start(argv, false, 5000, url, sizeof(url), &p->out);
    p->pid = pid > 0 ? pid : 0;
    p->port = pid > 0 ? (unsigned)atoi(strrchr(url, ':') + 1) : 0;
    return pid > 0;
}

static void proc_kill(struct proc *p)
{
    fake_proc_kill(p->pid);
    close(p->out);
}

static void test_e2e_sigkill_and_restart(void **state)
{
    (void)state;
    struct recorder r;
    rec_init(&r);
    char dir[] = "/tmp/kgc-prober-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct proc p = {0};
    if (!proc_start(&p, 0))
        fail_msg("kgc-test-kong did not start (set KGC_TEST_KONG)");
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", p.port);
    struct kgc_listenercache *cache = cache_open(dir);
    struct kgc_kong_options defaults;
    kgc_kong_options_default(&defaults);
    /* the default intervals: 1 s while ready, 200 ms while down */
    struct kgc_kong *k = kong_new(defaults.probe_interval_ms, defaults.down_probe_interval_ms,
                                  defaults.heartbeat_interval_ms, &r, cache);
    assert_int_equal(kgc_kong_set_instances(k, (const char *[]){url}, 1, NULL), 0);
    EXPECT_EVENT(&r, 0, KGC_KONG_EV_READY, url, 5000);
    assert_true(wait_view(cache, KGC_LISTENERCACHE_LIVE, false, 2000) >= 0);
    struct kgc_listenercache_view v;
    kgc_listenercache_view(cache, &v);
    assert_int_equal(v.listeners->n_proxy, 2);
    assert_int_equal(v.listeners->n_stream, 1);
    kgc_listenercache_view_release(&v);
    push(url, CONFIG);
    kgc_kong_probe_now(k);
    usleep(100 * 1000);

    /* SIGKILL: within about one probe interval the view is cached and stale. */
    proc_kill(&p);
    long to_cached = wait_view(cache, KGC_LISTENERCACHE_CACHED, true, 5000);
    print_message("killed: view cached+stale after %ld ms (probe interval %llu ms)\n", to_cached,
                  (unsigned long long)defaults.probe_interval_ms);
    assert_true(to_cached >= 0 && to_cached < 3000);
    kgc_listenercache_view(cache, &v);
    assert_int_equal(v.listeners->n_proxy, 2);
    assert_true(v.age_ms < 5000);
    kgc_listenercache_view_release(&v);

    /* Start it again on the same port: READY and RESTARTED within about a second. */
    size_t mark = rec_count(&r);
    usleep(300 * 1000); /* let a few down-probes fail first */
    uint64_t t0 = kgc_clock_now(NULL);
    if (!proc_start(&p, p.port))
        fail_msg("kgc-test-kong did not restart on port %u", p.port);
    long ready = EXPECT_EVENT(&r, mark, KGC_KONG_EV_READY, url, 5000);
    long rs = EXPECT_EVENT(&r, mark, KGC_KONG_EV_RESTARTED, url, 5000);
    uint64_t ready_ms = (rec_get(&r, ready).at_ns - t0) / KGC_NS_PER_MS;
    uint64_t rs_ms = (rec_get(&r, rs).at_ns - t0) / KGC_NS_PER_MS;
    print_message("restarted: ready after %llu ms, restarted after %llu ms (down-probe %llu ms)\n",
                  (unsigned long long)ready_ms, (unsigned long long)rs_ms,
                  (unsigned long long)defaults.down_probe_interval_ms);
    assert_true(ready_ms < 3000 && rs_ms < 3000);
    assert_true(wait_view(cache, KGC_LISTENERCACHE_LIVE, false, 2000) >= 0);

    /* kgc restarts while Kong is down: a new cache reads the listeners the last one stored. */
    kgc_kong_free(k);
    proc_kill(&p);
    kgc_listenercache_close(cache);
    cache = cache_open(dir);
    kgc_listenercache_view(cache, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_CACHED);
    assert_true(v.stale);
    assert_string_equal(v.url, url);
    assert_int_equal(v.listeners->n_proxy, 2);
    assert_int_equal(v.listeners->proxy[1].port, 8443);
    kgc_listenercache_view_release(&v);
    kgc_listenercache_close(cache);
    rm_rf(dir);
    rec_destroy(&r);
}

/* ---- driver mode for test/e2e/kong_prober.sh ------------------------------------------------ */

static volatile sig_atomic_t driver_stop;

static void on_term(int sig)
{
    (void)sig;
    driver_stop = 1;
}

static int driver_main(void)
{
    const char *url = getenv("KGC_DRIVER_URL");
    const char *dir = getenv("KGC_DRIVER_CACHE_DIR");
    const char *secs = getenv("KGC_DRIVER_SECONDS");
    uint64_t limit_ms = (secs ? strtoull(secs, NULL, 10) : 30) * 1000;
    kgc_log_setup(KGC_LOG_INFO, KGC_LOG_TEXT, 2);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    struct kgc_listenercache_options co;
    kgc_listenercache_options_default(&co);
    co.dir = dir ? dir : "";
    struct kgc_listenercache *cache = NULL;
    struct kgc_err err = {0};
    if (kgc_listenercache_open(&co, &cache, &err)) {
        printf("open failed: %s\n", err.msg);
        return 3;
    }
    const char *moved = kgc_listenercache_moved_aside(cache);
    printf("open ok persistent=%d moved_aside=%s\n", kgc_listenercache_persistent(cache),
           moved[0] ? moved : "-");
    fflush(stdout);
    static struct recorder r;
    rec_init(&r);
    r.print = true;
    struct kgc_kong_options ko;
    kgc_kong_options_default(&ko);
    const char *urls[] = {url};
    if (url && url[0]) {
        ko.admin_urls = urls;
        ko.n_admin_urls = 1;
    }
    struct kgc_kong *k = NULL;
    if (kgc_kong_new(&ko, &k, &err) || kgc_listenercache_attach(cache, k) ||
        kgc_kong_subscribe(k, on_event, &r) || kgc_kong_start(k, &err)) {
        printf("kong failed: %s\n", err.msg);
        return 3;
    }
    char last[512] = "";
    uint64_t t0 = kgc_clock_now(NULL);
    while (!driver_stop && (kgc_clock_now(NULL) - t0) / KGC_NS_PER_MS < limit_ms) {
        struct kgc_listenercache_view v;
        kgc_listenercache_view(cache, &v);
        char line[512];
        snprintf(line, sizeof(line), "view source=%s stale=%d proxy=%zu stream=%zu n_live=%zu",
                 kgc_listenercache_source_name(v.source), v.stale, v.listeners->n_proxy,
                 v.listeners->n_stream, v.n_live);
        if (strcmp(line, last) != 0) {
            printf("%s age_ms=%llu reason=%s\n", line, (unsigned long long)v.age_ms, v.reason);
            fflush(stdout);
            snprintf(last, sizeof(last), "%s", line);
        }
        kgc_listenercache_view_release(&v);
        usleep(20 * 1000);
    }
    kgc_kong_free(k);
    char *dump = kgc_listenercache_dump(cache);
    printf("dump %s\n", dump ? dump : "null");
    free(dump);
    kgc_listenercache_close(cache);
    rec_destroy(&r);
    curl_global_cleanup();
    printf("bye\n");
    return 0;
}

int main(void)
{
    if (getenv("KGC_PROBER_DRIVER"))
        return driver_main();
    kgc_log_setup(KGC_LOG_ERROR, KGC_LOG_TEXT, 2);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_through_restarts),
        cmocka_unit_test(test_quick_restart_seen_by_hash),
        cmocka_unit_test(test_expected_empty_config_is_not_a_restart),
        cmocka_unit_test(test_instance_set),
        cmocka_unit_test(test_stop_wakes_idle_prober),
        cmocka_unit_test(test_e2e_sigkill_and_restart),
    };
    int rc = cmocka_run_group_tests_name("kong_prober", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

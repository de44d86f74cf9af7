/* kong probers and the listener cache together:
 *   - the prober's decisions (struct kgc_kong_probe_state), driven directly with made-up probe
 *     results and times, nothing waits: first contact, ready → unreachable → ready, a restart by
 *     node_id, the hash turning to zeros (a restart unless kgc said it pushes an entity-free
 *     configuration, which Kong stores under the zero hash), listeners changed, the heartbeat
 *     cadence, the down interval, probe_now;
 *   - the thread on a fake clock against the in-process test Kong (no timed waits: the fake
 *     clock moves only when the test advances it): it probes when the machine says, restarts
 *     seen by the hash and expected empty configurations through the registry, the instance
 *     set (add, remove with REMOVED, union of ready instances, bad URLs), a stop wakes an idle
 *     prober at once;
 *   - two real-time scenarios that wait on conditions with deadlines: events through restarts
 *     feeding the listener cache (with HEARTBEAT), and the end-to-end story with the real
 *     build/kgc-test-kong process: read listeners, kill it with SIGKILL → the view turns cached
 *     and stale within about one probe interval; start it again on the same port → READY and
 *     RESTARTED within about a second; the stored listeners are read back by a new cache (a new
 *     kgc process).
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
#include "fixture_tmpdir.h"

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

/* ---- the prober's decisions, without a thread ----------------------------------------------- */

#define MS(x) ((uint64_t)(x)*KGC_NS_PER_MS)
#define H1    "0123456789abcdef0123456789abcdef"
#define H2    "fedcba9876543210fedcba9876543210"
#define WALL  1700000000000ULL

/* A ready answer from node with hash and n_proxy proxy listeners on ports 8000, 8001, ... */
static struct kgc_kong_probe_result answer(const char *node, const char *hash, size_t n_proxy)
{
    struct kgc_kong_probe_result r;
    memset(&r, 0, sizeof(r));
    r.ready = r.reachable = true;
    snprintf(r.info.version, sizeof(r.info.version), "3.9.1");
    snprintf(r.info.node_id, sizeof(r.info.node_id), "%s", node);
    if (n_proxy) {
        r.info.listeners.proxy = calloc(n_proxy, sizeof(*r.info.listeners.proxy));
        assert_non_null(r.info.listeners.proxy);
        r.info.listeners.n_proxy = n_proxy;
        for (size_t i = 0; i < n_proxy; i++) {
            snprintf(r.info.listeners.proxy[i].ip, sizeof(r.info.listeners.proxy[i].ip), "0.0.0.0");
            r.info.listeners.proxy[i].port = (uint16_t)(8000 + i);
            r.info.listeners.proxy[i].kind = KGC_KONG_LISTENER_PROXY;
        }
    }
    snprintf(r.hash, sizeof(r.hash), "%s", hash);
    r.wall_ms = WALL;
    return r;
}

/* No answer (reachable false) or a wrong one (reachable true). */
static struct kgc_kong_probe_result failure(bool reachable, const char *why)
{
    struct kgc_kong_probe_result r;
    memset(&r, 0, sizeof(r));
    r.reachable = reachable;
    r.error = why;
    return r;
}

/* One probe begun at start_ms that took took_ms; returns the events' names joined by ','. */
static const char *probe_took(struct kgc_kong_probe_state *m, uint64_t start_ms, uint64_t took_ms,
                              struct kgc_kong_probe_result r, struct kgc_kong_probe_events *ev)
{
    static char names[256];
    kgc_kong_probe_state_begin(m, MS(start_ms));
    kgc_kong_probe_state_apply(m, &r, MS(start_ms + took_ms), ev);
    assert_null(r.info.listeners.proxy); /* the machine took (or freed) the answer */
    names[0] = '\0';
    for (size_t i = 0; i < ev->n; i++)
        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? "," : "",
                 kgc_kong_event_name(ev->type[i]));
    return names;
}

/* A probe that takes 2 ms. */
static const char *probe(struct kgc_kong_probe_state *m, uint64_t start_ms,
                         struct kgc_kong_probe_result r, struct kgc_kong_probe_events *ev)
{
    return probe_took(m, start_ms, 2, r, ev);
}

static void machine_init(struct kgc_kong_probe_state *m, uint64_t interval_ms, uint64_t down_ms,
                         uint64_t heartbeat_ms)
{
    struct kgc_kong_options o;
    kgc_kong_options_default(&o);
    o.probe_interval_ms = interval_ms;
    o.down_probe_interval_ms = down_ms;
    o.heartbeat_interval_ms = heartbeat_ms;
    kgc_kong_probe_state_init(m, "http://kong:8001", &o);
}

static void test_machine_first_contact(void **state)
{
    (void)state;
    struct kgc_kong_probe_state m;
    struct kgc_kong_probe_events ev;
    machine_init(&m, 1000, 200, 60000);
    assert_string_equal(m.state.url, "http://kong:8001");
    assert_int_equal(m.state.health, KGC_KONG_HEALTH_UNKNOWN);
    assert_int_equal(kgc_kong_probe_state_next_ns(&m), 0); /* the first probe: at once */
    assert_true(kgc_kong_probe_state_heartbeat_ns(&m) == UINT64_MAX);

    /* READY, then the first listeners and the first hash, in that order */
    assert_string_equal(probe(&m, 10, answer("node-a", KGC_KONG_EMPTY_HASH, 2), &ev),
                        "ready,listeners_changed,hash_changed");
    assert_string_equal(ev.prev_hash, "");
    assert_string_equal(ev.prev_node_id, "");
    assert_string_equal(ev.reason, "");
    const struct kgc_kong_instance_state *s = &m.state;
    assert_int_equal(s->health, KGC_KONG_HEALTH_READY);
    assert_true(s->reachable && s->have_info);
    assert_false(s->configured); /* zeros: nothing loaded */
    assert_string_equal(s->info.node_id, "node-a");
    assert_int_equal(s->info.listeners.n_proxy, 2);
    assert_string_equal(s->hash, KGC_KONG_EMPTY_HASH);
    assert_true(s->last_ok_wall_ms == WALL);
    assert_true(s->health_since_ns == MS(12));
    assert_int_equal(s->probes, 1);
    assert_int_equal(s->failed_probes, 0);
    /* next probe one interval after this one's start; a heartbeat due one heartbeat after READY */
    assert_true(kgc_kong_probe_state_next_ns(&m) == MS(1010));
    assert_true(kgc_kong_probe_state_heartbeat_ns(&m) == MS(12 + 60000));

    /* the same answer again: nothing to tell */
    assert_string_equal(probe(&m, 1010, answer("node-a", KGC_KONG_EMPTY_HASH, 2), &ev), "");
    assert_true(kgc_kong_probe_state_next_ns(&m) == MS(2010));
    /* a configuration arrives: its hash, and now "configured" */
    assert_string_equal(probe(&m, 2010, answer("node-a", H1, 2), &ev), "hash_changed");
    assert_string_equal(ev.prev_hash, KGC_KONG_EMPTY_HASH);
    assert_true(m.state.configured);
    assert_int_equal(m.state.probes, 3);
    kgc_kong_probe_state_free(&m);

    /* a first probe that fails: UNREACHABLE with the reason, then the down interval */
    machine_init(&m, 1000, 200, 60000);
    assert_string_equal(probe(&m, 0, failure(false, "connection refused"), &ev), "unreachable");
    assert_string_equal(ev.reason, "connection refused");
    assert_int_equal(m.state.health, KGC_KONG_HEALTH_DOWN);
    assert_false(m.state.reachable || m.state.have_info);
    assert_string_equal(m.state.last_error, "connection refused");
    assert_int_equal(m.state.failed_probes, 1);
    assert_true(kgc_kong_probe_state_next_ns(&m) == MS(200));
    assert_string_equal(probe(&m, 200, failure(false, "connection refused"), &ev), "");
    assert_string_equal(probe(&m, 400, answer("node-a", H1, 1), &ev),
                        "ready,listeners_changed,hash_changed");
    assert_string_equal(m.state.last_error, "");
    kgc_kong_probe_state_free(&m);
}

static void test_machine_ready_unreachable_ready(void **state)
{
    (void)state;
    struct kgc_kong_probe_state m;
    struct kgc_kong_probe_events ev;
    machine_init(&m, 1000, 200, 60000);
    probe(&m, 0, answer("node-a", H1, 2), &ev);
    /* an answer, but a wrong one (500): UNREACHABLE; what was seen last is kept */
    assert_string_equal(probe(&m, 1000, failure(true, "GET /: HTTP 500"), &ev), "unreachable");
    assert_string_equal(ev.reason, "GET /: HTTP 500");
    const struct kgc_kong_instance_state *s = &m.state;
    assert_int_equal(s->health, KGC_KONG_HEALTH_DOWN);
    assert_true(s->health_since_ns == MS(1002));
    assert_true(s->reachable);
    assert_false(s->configured);
    assert_true(s->have_info);
    assert_string_equal(s->info.node_id, "node-a");
    assert_string_equal(s->hash, H1);
    assert_true(kgc_kong_probe_state_heartbeat_ns(&m) == UINT64_MAX); /* none while down */
    assert_string_equal(probe(&m, 1200, failure(false, "connection refused"), &ev), "");
    assert_false(m.state.reachable);
    assert_int_equal(m.state.failed_probes, 2);
    /* back, the same node holding the same configuration: READY alone */
    assert_string_equal(probe(&m, 1400, answer("node-a", H1, 2), &ev), "ready");
    assert_true(m.state.configured);
    assert_true(m.state.health_since_ns == MS(1402));
    assert_int_equal(m.state.restarts, 0);
    kgc_kong_probe_state_free(&m);
}

static void test_machine_restart_by_node_id(void **state)
{
    (void)state;
    struct kgc_kong_probe_state m;
    struct kgc_kong_probe_events ev;
    machine_init(&m, 1000, 200, 60000);
    probe(&m, 0, answer("node-a", H1, 2), &ev);
    probe(&m, 1000, failure(false, "connection refused"), &ev);
    /* back as a new node with nothing loaded and the same listeners */
    assert_string_equal(probe(&m, 1200, answer("node-b", KGC_KONG_EMPTY_HASH, 2), &ev),
                        "ready,restarted,hash_changed");
    assert_string_equal(ev.reason, "node_id changed from node-a to node-b");
    assert_string_equal(ev.prev_node_id, "node-a");
    assert_string_equal(ev.prev_hash, H1);
    assert_int_equal(m.state.restarts, 1);
    /* a restart quicker than a probe: the node_id tells even when the hash stays zeros */
    assert_string_equal(probe(&m, 2200, answer("node-c", KGC_KONG_EMPTY_HASH, 2), &ev),
                        "restarted");
    assert_string_equal(ev.reason, "node_id changed from node-b to node-c");
    assert_int_equal(m.state.restarts, 2);
    /* an answer without a node_id tells nothing */
    assert_string_equal(probe(&m, 3200, answer("", KGC_KONG_EMPTY_HASH, 2), &ev), "");
    kgc_kong_probe_state_free(&m);
}

static void test_machine_zero_hash(void **state)
{
    (void)state;
    struct kgc_kong_probe_state m;
    struct kgc_kong_probe_events ev;
    machine_init(&m, 1000, 200, 60000);
    probe(&m, 0, answer("same-node", H1, 2), &ev);
    /* same node_id, the configuration gone: a restart kgc could not see otherwise */
    assert_string_equal(probe(&m, 1000, answer("same-node", KGC_KONG_EMPTY_HASH, 2), &ev),
                        "restarted,hash_changed");
    assert_string_equal(ev.reason, "configuration hash turned to zeros (was " H1 ")");
    assert_int_equal(m.state.restarts, 1);
    /* zeros after zeros: nothing more */
    assert_string_equal(probe(&m, 2000, answer("same-node", KGC_KONG_EMPTY_HASH, 2), &ev), "");

    /* kgc pushes an entity-free configuration: zeros are that, not a restart */
    probe(&m, 3000, answer("same-node", H1, 2), &ev);
    kgc_kong_probe_state_expect_empty(&m, true);
    assert_string_equal(probe(&m, 4000, answer("same-node", KGC_KONG_EMPTY_HASH, 2), &ev),
                        "hash_changed");
    assert_int_equal(m.state.restarts, 1);
    /* ... but a new node_id still is one */
    probe(&m, 5000, answer("same-node", H1, 2), &ev);
    assert_string_equal(probe(&m, 6000, answer("other-node", KGC_KONG_EMPTY_HASH, 2), &ev),
                        "restarted,hash_changed");
    assert_non_null(strstr(ev.reason, "node_id changed"));
    /* entities again: zeros are a restart again, also seen across an unreachable period */
    kgc_kong_probe_state_expect_empty(&m, false);
    probe(&m, 7000, answer("other-node", H2, 2), &ev);
    probe(&m, 8000, failure(false, "connection refused"), &ev);
    assert_string_equal(probe(&m, 8200, answer("other-node", KGC_KONG_EMPTY_HASH, 2), &ev),
                        "ready,restarted,hash_changed");
    assert_string_equal(ev.reason, "configuration hash turned to zeros (was " H2 ")");
    assert_int_equal(m.state.restarts, 3);
    /* DB mode reports no hash: "" is never a restart */
    assert_string_equal(probe(&m, 9200, answer("other-node", "", 2), &ev), "hash_changed");
    assert_string_equal(probe(&m, 10200, answer("other-node", "", 2), &ev), "");
    assert_false(m.state.configured);
    kgc_kong_probe_state_free(&m);
}

static void test_machine_listeners_changed(void **state)
{
    (void)state;
    struct kgc_kong_probe_state m;
    struct kgc_kong_probe_events ev;
    machine_init(&m, 1000, 200, 60000);
    probe(&m, 0, answer("node-a", H1, 2), &ev);
    assert_string_equal(probe(&m, 1000, answer("node-a", H1, 3), &ev), "listeners_changed");
    assert_int_equal(m.state.info.listeners.n_proxy, 3);
    assert_string_equal(probe(&m, 2000, answer("node-a", H1, 0), &ev), "listeners_changed");
    assert_int_equal(m.state.info.listeners.n_proxy, 0);
    assert_string_equal(probe(&m, 3000, answer("node-a", H1, 0), &ev), "");
    /* across a restart, in the order of the contract */
    assert_string_equal(probe(&m, 4000, answer("node-b", KGC_KONG_EMPTY_HASH, 1), &ev),
                        "restarted,listeners_changed,hash_changed");
    kgc_kong_probe_state_free(&m);
}

static void test_machine_heartbeat_cadence(void **state)
{
    (void)state;
    struct kgc_kong_probe_state m;
    struct kgc_kong_probe_events ev;
    machine_init(&m, 100, 50, 400);
    assert_string_equal(probe(&m, 0, answer("node-a", H1, 2), &ev),
                        "ready,listeners_changed,hash_changed"); /* ends at 2 ms */
    assert_true(kgc_kong_probe_state_heartbeat_ns(&m) == MS(402));
    for (uint64_t t = 100; t < 400; t += 100)
        assert_string_equal(probe(&m, t, answer("node-a", H1, 2), &ev), "");
    /* the first quiet probe ending 400 ms after READY */
    assert_string_equal(probe(&m, 400, answer("node-a", H1, 2), &ev), "heartbeat");
    assert_true(kgc_kong_probe_state_heartbeat_ns(&m) == MS(802));
    for (uint64_t t = 500; t < 800; t += 100)
        assert_string_equal(probe(&m, t, answer("node-a", H1, 2), &ev), "");
    /* a probe with news is no heartbeat: the next quiet one is */
    assert_string_equal(probe(&m, 800, answer("node-a", H2, 2), &ev), "hash_changed");
    assert_string_equal(probe(&m, 900, answer("node-a", H2, 2), &ev), "heartbeat");
    assert_true(kgc_kong_probe_state_heartbeat_ns(&m) == MS(1302));
    /* down: none; back: counted from READY again */
    assert_string_equal(probe(&m, 1000, failure(false, "connection refused"), &ev), "unreachable");
    assert_true(kgc_kong_probe_state_heartbeat_ns(&m) == UINT64_MAX);
    assert_string_equal(probe(&m, 1500, failure(false, "connection refused"), &ev), "");
    assert_string_equal(probe(&m, 1550, answer("node-a", H2, 2), &ev), "ready");
    assert_true(kgc_kong_probe_state_heartbeat_ns(&m) == MS(1952));
    assert_string_equal(probe(&m, 1650, answer("node-a", H2, 2), &ev), "");
    assert_string_equal(probe(&m, 1950, answer("node-a", H2, 2), &ev), "heartbeat");
    kgc_kong_probe_state_free(&m);

    /* heartbeat_interval_ms 0: never */
    machine_init(&m, 100, 50, 0);
    probe(&m, 0, answer("node-a", H1, 2), &ev);
    assert_true(kgc_kong_probe_state_heartbeat_ns(&m) == UINT64_MAX);
    for (uint64_t t = 100; t < 100000; t += 10000)
        assert_string_equal(probe(&m, t, answer("node-a", H1, 2), &ev), "");
    kgc_kong_probe_state_free(&m);
}

static void test_machine_down_interval(void **state)
{
    (void)state;
    struct kgc_kong_probe_state m;
    struct kgc_kong_probe_events ev;
    machine_init(&m, 1000, 200, 0);
    probe(&m, 0, failure(false, "connection refused"), &ev);
    assert_true(kgc_kong_probe_state_next_ns(&m) == MS(200));
    /* counted from the start of the probe, not its end */
    probe_took(&m, 200, 150, failure(false, "timed out"), &ev);
    assert_true(kgc_kong_probe_state_next_ns(&m) == MS(400));
    /* ready: the ready interval */
    probe(&m, 400, answer("node-a", H1, 2), &ev);
    assert_true(kgc_kong_probe_state_next_ns(&m) == MS(1400));
    /* an answer slower than the interval: the next probe is already due when it ends */
    probe_took(&m, 1400, 1500, answer("node-a", H1, 2), &ev);
    assert_true(kgc_kong_probe_state_next_ns(&m) == MS(2400));
    assert_true(kgc_kong_probe_state_next_ns(&m) < MS(2900));
    /* down again: the down interval again */
    assert_string_equal(probe(&m, 2900, failure(true, "GET /status: HTTP 503"), &ev),
                        "unreachable");
    assert_true(kgc_kong_probe_state_next_ns(&m) == MS(3100));
    kgc_kong_probe_state_free(&m);

    /* zero intervals take the defaults (1000, 200) */
    machine_init(&m, 0, 0, 0);
    probe(&m, 0, failure(false, "connection refused"), &ev);
    assert_true(kgc_kong_probe_state_next_ns(&m) == MS(200));
    probe(&m, 200, answer("node-a", H1, 2), &ev);
    assert_true(kgc_kong_probe_state_next_ns(&m) == MS(1200));
    kgc_kong_probe_state_free(&m);
}

static void test_machine_probe_now(void **state)
{
    (void)state;
    struct kgc_kong_probe_state m;
    struct kgc_kong_probe_events ev;
    machine_init(&m, 1000, 200, 0);
    probe(&m, 0, answer("node-a", H1, 2), &ev);
    assert_true(kgc_kong_probe_state_next_ns(&m) == MS(1000));
    /* between probes: due at once */
    kgc_kong_probe_state_wake(&m);
    assert_true(m.probe_now);
    assert_int_equal(kgc_kong_probe_state_next_ns(&m), 0);
    /* the probe it caused serves it; the cadence counts from that probe */
    kgc_kong_probe_state_begin(&m, MS(30));
    assert_false(m.probe_now);
    struct kgc_kong_probe_result r = answer("node-a", H2, 2);
    kgc_kong_probe_state_apply(&m, &r, MS(32), &ev);
    assert_true(kgc_kong_probe_state_next_ns(&m) == MS(1030));
    /* during a probe: that probe may have read Kong before the change, so another at once */
    kgc_kong_probe_state_begin(&m, MS(1030));
    kgc_kong_probe_state_wake(&m);
    r = answer("node-a", H2, 2);
    kgc_kong_probe_state_apply(&m, &r, MS(1032), &ev);
    assert_int_equal(kgc_kong_probe_state_next_ns(&m), 0);
    assert_string_equal(probe(&m, 1033, answer("node-a", H1, 2), &ev), "hash_changed");
    assert_true(kgc_kong_probe_state_next_ns(&m) == MS(2033));
    /* also while down */
    probe(&m, 2033, failure(false, "connection refused"), &ev);
    kgc_kong_probe_state_wake(&m);
    assert_int_equal(kgc_kong_probe_state_next_ns(&m), 0);
    kgc_kong_probe_state_free(&m);
}

/* ---- helpers -------------------------------------------------------------------------------- */

/* Polls the (only) instance until it has failed at least n probes, for at most timeout_ms. Returns
 * the wait in ms or -1. */
static long wait_failed_probes(struct kgc_kong *k, uint64_t n, uint64_t timeout_ms)
{
    uint64_t t0 = kgc_clock_now(NULL);
    for (;;) {
        struct kgc_kong_instance_state *st;
        size_t cnt;
        bool ok = kgc_kong_states(k, &st, &cnt) == 0 && cnt == 1 && st[0].failed_probes >= n;
        kgc_kong_states_free(st, cnt);
        uint64_t el = (kgc_clock_now(NULL) - t0) / KGC_NS_PER_MS;
        if (ok)
            return (long)el;
        if (el > timeout_ms)
            return -1;
        usleep(5000);
    }
}

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

/* A registry with these intervals on clock (NULL: the real one). */
static struct kgc_kong *kong_new(uint64_t interval_ms, uint64_t down_ms, uint64_t heartbeat_ms,
                                 struct recorder *r, struct kgc_listenercache *cache,
                                 const struct kgc_clock *clock)
{
    struct kgc_kong_options o;
    kgc_kong_options_default(&o);
    o.clock = clock;
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

/* One scenario's fixtures: a fake clock (used only by the registries given &sc->clock), a
 * recorder, one in-process test Kong with its port and URL, and, when asked for, a listener cache
 * in a temporary directory. scene_end() releases all of it and the registry k (may be NULL). */
struct scene {
    struct kgc_clock clock;
    struct recorder r;
    struct kf_server *s;
    unsigned port;
    char url[64];
    char lcdir[FIXTURE_TMPDIR_MAX];
    struct kgc_listenercache *cache;
};

static void scene_start(struct scene *sc, const char *node_id, bool with_cache)
{
    memset(sc, 0, sizeof(*sc));
    kgc_clock_fake_init(&sc->clock, KGC_NS_PER_S);
    rec_init(&sc->r);
    sc->s = fake_start(0, node_id, NULL);
    sc->port = kf_server_port(sc->s);
    snprintf(sc->url, sizeof(sc->url), "http://127.0.0.1:%u", sc->port);
    if (with_cache) {
        assert_non_null(fixture_tmpdir_make(sc->lcdir, sizeof(sc->lcdir), "prober-lc"));
        sc->cache = cache_open(sc->lcdir);
    }
}

/* A registry probing the scene's Kong (kong_new's arguments), on the fake clock or the real one. */
static struct kgc_kong *scene_kong(struct scene *sc, uint64_t interval_ms, uint64_t down_ms,
                                   uint64_t heartbeat_ms, bool fake_clock)
{
    struct kgc_kong *k = kong_new(interval_ms, down_ms, heartbeat_ms, &sc->r, sc->cache,
                                  fake_clock ? &sc->clock : NULL);
    assert_int_equal(kgc_kong_set_instances(k, (const char *[]){sc->url}, 1, NULL), 0);
    return k;
}

static void scene_end(struct scene *sc, struct kgc_kong *k)
{
    kgc_kong_free(k); /* joins the probers: no event after this */
    kf_server_stop(sc->s);
    if (sc->cache) {
        kgc_listenercache_close(sc->cache);
        fixture_tmpdir_remove(sc->lcdir);
    }
    rec_destroy(&sc->r);
}

static const char *CONFIG =
    "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"s1\",\"host\":\"example.com\"}]}";

/* ---- tests: in-process test Kong ------------------------------------------------------------ */

/* Real time: the events feed the listener cache, and HEARTBEAT comes on its own. */
static void test_events_through_restarts(void **state)
{
    (void)state;
    struct scene sc;
    scene_start(&sc, "node-a", true);
    struct kgc_kong *k = scene_kong(&sc, 100, 50, 400, false);

    /* First contact: READY, then the first listeners and hash, in that order. */
    long ready = EXPECT_EVENT(&sc.r, 0, KGC_KONG_EV_READY, sc.url, 3000);
    long lis = EXPECT_EVENT(&sc.r, 0, KGC_KONG_EV_LISTENERS_CHANGED, sc.url, 3000);
    long hash = EXPECT_EVENT(&sc.r, 0, KGC_KONG_EV_HASH_CHANGED, sc.url, 3000);
    assert_true(ready < lis && lis < hash);
    assert_true(kgc_kong_hash_is_empty(rec_get(&sc.r, hash).hash));
    assert_int_equal(rec_get(&sc.r, lis).n_proxy, 2);
    assert_true(wait_view(sc.cache, KGC_LISTENERCACHE_LIVE, false, 1000) >= 0);
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
    size_t mark = rec_count(&sc.r);
    push(sc.url, CONFIG);
    kgc_kong_probe_now(k);
    long h2 = EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_HASH_CHANGED, sc.url, 2000);
    char want[33];
    kgc_kong_config_hash(CONFIG, strlen(CONFIG), want);
    assert_string_equal(rec_get(&sc.r, h2).hash, want);
    EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_HEARTBEAT, sc.url, 3000);
    assert_int_equal(rec_count_type(&sc.r, mark, KGC_KONG_EV_READY), 0);

    /* Kong goes away: UNREACHABLE; the view turns cached and stale. */
    mark = rec_count(&sc.r);
    kf_server_stop(sc.s);
    long un = EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_UNREACHABLE, sc.url, 3000);
    assert_non_null(strstr(rec_get(&sc.r, un).reason, sc.url));
    assert_true(wait_view(sc.cache, KGC_LISTENERCACHE_CACHED, true, 1000) >= 0);
    struct kgc_listenercache_view v;
    kgc_listenercache_view(sc.cache, &v);
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
    mark = rec_count(&sc.r);
    sc.s = fake_start(sc.port, "node-b", NULL);
    EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_READY, sc.url, 3000);
    long rs = EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_RESTARTED, sc.url, 3000);
    assert_non_null(strstr(rec_get(&sc.r, rs).reason, "node_id changed from node-a to node-b"));
    long h3 = EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_HASH_CHANGED, sc.url, 3000);
    assert_true(kgc_kong_hash_is_empty(rec_get(&sc.r, h3).hash));
    assert_int_equal(rec_count_type(&sc.r, mark, KGC_KONG_EV_LISTENERS_CHANGED), 0); /* same ones */
    assert_true(wait_view(sc.cache, KGC_LISTENERCACHE_LIVE, false, 1000) >= 0);

    /* Restarted with other listeners: LISTENERS_CHANGED, and the live view shows none. */
    kf_server_stop(sc.s);
    EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_UNREACHABLE, sc.url, 3000);
    mark = rec_count(&sc.r);
    sc.s = fake_start(sc.port, "node-c", "{\"proxy_listeners\":[],\"stream_listeners\":[]}");
    long lc = EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_LISTENERS_CHANGED, sc.url, 3000);
    assert_int_equal(rec_get(&sc.r, lc).n_proxy, 0);
    assert_true(wait_view(sc.cache, KGC_LISTENERCACHE_LIVE, false, 1000) >= 0);
    kgc_listenercache_view(sc.cache, &v);
    assert_int_equal(v.listeners->n_proxy, 0);
    kgc_listenercache_view_release(&v);

    scene_end(&sc, k);
}

/* The thread probes when its machine says, on the registry's clock: the first probe at once, the
 * next one when the fake clock reaches one interval after it (and only that one: the fake clock
 * is all it looks at), the down interval while Kong is gone. No timed wait: the test moves the
 * clock and ticks. */
static void test_thread_probes_on_its_clock(void **state)
{
    (void)state;
    struct scene sc;
    scene_start(&sc, "node-a", false);
    struct kgc_kong *k = scene_kong(&sc, 1000, 200, 0, true);
    EXPECT_EVENT(&sc.r, 0, KGC_KONG_EV_HASH_CHANGED, sc.url, 3000); /* first contact's last event */

    /* a push Kong took; the prober sees it when the clock reaches its next probe */
    size_t mark = rec_count(&sc.r);
    push(sc.url, CONFIG);
    kgc_clock_fake_advance(&sc.clock, MS(1000));
    kgc_kong_tick(k);
    long h = EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_HASH_CHANGED, sc.url, 3000);
    char want[33];
    kgc_kong_config_hash(CONFIG, strlen(CONFIG), want);
    assert_string_equal(rec_get(&sc.r, h).hash, want);
    struct kgc_kong_instance_state *st;
    size_t n;
    assert_int_equal(kgc_kong_states(k, &st, &n), 0);
    assert_int_equal(st[0].probes, 2);
    kgc_kong_states_free(st, n);

    /* Kong gone: seen at the next interval; back: seen one down interval later */
    mark = rec_count(&sc.r);
    kf_server_stop(sc.s);
    kgc_clock_fake_advance(&sc.clock, MS(1000));
    kgc_kong_tick(k);
    EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_UNREACHABLE, sc.url, 3000);
    sc.s = fake_start(sc.port, "node-a", NULL);
    kgc_clock_fake_advance(&sc.clock, MS(200));
    kgc_kong_tick(k);
    long rs = EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_RESTARTED, sc.url, 3000); /* zeros again */
    assert_true(EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_READY, sc.url, 0) < rs);
    assert_int_equal(kgc_kong_states(k, &st, &n), 0);
    assert_int_equal(st[0].probes, 4);
    kgc_kong_states_free(st, n);
    scene_end(&sc, k);
}

/* Same node_id, a restart faster than a probe interval: the zero hash still tells. On a fake clock
 * that never moves: only the first probe and probe_now's run. */
static void test_quick_restart_seen_by_hash(void **state)
{
    (void)state;
    struct scene sc;
    scene_start(&sc, "same-node", false);
    push(sc.url, CONFIG);
    struct kgc_kong *k = scene_kong(&sc, 1000, 50, 0, true);
    EXPECT_EVENT(&sc.r, 0, KGC_KONG_EV_READY, sc.url, 3000);
    size_t mark = rec_count(&sc.r);
    kf_server_stop(sc.s);
    sc.s = fake_start(sc.port, "same-node", NULL);
    kgc_kong_probe_now(k);
    long rs = EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_RESTARTED, sc.url, 3000);
    assert_non_null(strstr(rec_get(&sc.r, rs).reason, "configuration hash turned to zeros"));
    scene_end(&sc, k);
}

/* Kong 3.9.1 stores a configuration with no entities under the zero hash: once kgc says it is
 * pushing one (kgc_kong_expect_empty), the hash turning to zeros is that configuration, not a
 * restart; a new node_id still is one; and without the flag zeros are a restart again. */
static void test_expected_empty_config_is_not_a_restart(void **state)
{
    (void)state;
    struct scene sc; /* its clock stands still: probes come from probe_now */
    scene_start(&sc, "same-node", false);
    push(sc.url, CONFIG);
    struct kgc_kong *k = scene_kong(&sc, 1000, 50, 0, true);
    EXPECT_EVENT(&sc.r, 0, KGC_KONG_EV_HASH_CHANGED, sc.url,
                 3000); /* the first probe's last event */
    size_t mark = rec_count(&sc.r);
    kgc_kong_expect_empty(k, sc.url, true);
    push(sc.url, "{\"_format_version\":\"3.0\"}");
    kgc_kong_probe_now(k);
    long h = EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_HASH_CHANGED, sc.url, 3000);
    assert_true(kgc_kong_hash_is_empty(rec_get(&sc.r, h).hash));
    assert_int_equal(rec_count_type(&sc.r, mark, KGC_KONG_EV_RESTARTED), 0);

    /* a real restart: a new node_id */
    mark = rec_count(&sc.r);
    kf_server_stop(sc.s);
    sc.s = fake_start(sc.port, "other-node", NULL);
    kgc_kong_probe_now(k);
    long rs = EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_RESTARTED, sc.url, 3000);
    assert_non_null(strstr(rec_get(&sc.r, rs).reason, "node_id changed"));

    /* a configuration with entities again: zeros are a restart again */
    kgc_kong_expect_empty(k, sc.url, false);
    mark = rec_count(&sc.r);
    push(sc.url, CONFIG);
    kgc_kong_probe_now(k);
    EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_HASH_CHANGED, sc.url, 3000);
    mark = rec_count(&sc.r);
    kf_server_stop(sc.s);
    sc.s = fake_start(sc.port, "other-node", NULL);
    kgc_kong_probe_now(k);
    rs = EXPECT_EVENT(&sc.r, mark, KGC_KONG_EV_RESTARTED, sc.url, 3000);
    assert_non_null(strstr(rec_get(&sc.r, rs).reason, "configuration hash turned to zeros"));
    scene_end(&sc, k);
}

/* On a fake clock: each instance probes once, at once. */
static void test_instance_set(void **state)
{
    (void)state;
    struct kgc_clock clock;
    kgc_clock_fake_init(&clock, KGC_NS_PER_S);
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
    char lcdir[FIXTURE_TMPDIR_MAX];
    assert_non_null(fixture_tmpdir_make(lcdir, sizeof(lcdir), "prober-lc"));
    struct kgc_listenercache *cache = cache_open(lcdir);
    struct kgc_kong *k = kong_new(100, 50, 0, &r, cache, &clock);
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
    fixture_tmpdir_remove(lcdir);
    rec_destroy(&r);
}

/* On a fake clock the prober waits with no timeout at all: only the stop can end it. */
static void test_stop_wakes_idle_prober(void **state)
{
    (void)state;
    struct scene sc;
    scene_start(&sc, NULL, false);
    struct kgc_kong *k = scene_kong(&sc, 60000, 60000, 0, true); /* never due: the clock stands */
    EXPECT_EVENT(&sc.r, 0, KGC_KONG_EV_READY, sc.url, 3000);
    uint64_t t0 = kgc_clock_now(NULL);
    kgc_kong_free(k);
    k = NULL;
    uint64_t ms = (kgc_clock_now(NULL) - t0) / KGC_NS_PER_MS;
    print_message("stop of an idle prober took %llu ms\n", (unsigned long long)ms);
    assert_true(ms < 5000); /* not forever */
    scene_end(&sc, k);
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
    char dir[FIXTURE_TMPDIR_MAX];
    assert_non_null(fixture_tmpdir_make(dir, sizeof(dir), "prober"));
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
                                  defaults.heartbeat_interval_ms, &r, cache, NULL);
    assert_int_equal(kgc_kong_set_instances(k, (const char *[]){url}, 1, NULL), 0);
    EXPECT_EVENT(&r, 0, KGC_KONG_EV_READY, url, 5000);
    assert_true(wait_view(cache, KGC_LISTENERCACHE_LIVE, false, 2000) >= 0);
    struct kgc_listenercache_view v;
    kgc_listenercache_view(cache, &v);
    assert_int_equal(v.listeners->n_proxy, 2);
    assert_int_equal(v.listeners->n_stream, 1);
    kgc_listenercache_view_release(&v);
    size_t mark = rec_count(&r);
    push(url, CONFIG);
    kgc_kong_probe_now(k);
    EXPECT_EVENT(&r, mark, KGC_KONG_EV_HASH_CHANGED, url, 5000);

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
    mark = rec_count(&r);
    if (wait_failed_probes(k, 3, 5000) < 0) /* a few down-probes fail first */
        fail_msg("the prober did not keep probing while Kong was down");
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
    fixture_tmpdir_remove(dir);
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
        cmocka_unit_test(test_machine_first_contact),
        cmocka_unit_test(test_machine_ready_unreachable_ready),
        cmocka_unit_test(test_machine_restart_by_node_id),
        cmocka_unit_test(test_machine_zero_hash),
        cmocka_unit_test(test_machine_listeners_changed),
        cmocka_unit_test(test_machine_heartbeat_cadence),
        cmocka_unit_test(test_machine_down_interval),
        cmocka_unit_test(test_machine_probe_now),
        cmocka_unit_test(test_thread_probes_on_its_clock),
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

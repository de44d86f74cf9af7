/* reconcile: the controllers' runtime over a real cache and listener cache, without a Kubernetes
 * client (compute only). The restart story at this level: with no Kong listeners known a Gateway
 * is retried with backoff; once Kong's listeners are live, re-queueing settles it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../fakes/apiserver/server.h"
#include "fixture_yaml.h"
#include "kgc/k8s.h"
#include "kgc/reconcile.h"
#include "kgc/status.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const objects[][2] = {
    {"GatewayClass", "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"GatewayClass\","
                     "\"metadata\":{\"name\":\"kgc\",\"resourceVersion\":\"1\",\"generation\":1,"
                     "\"uid\":\"u1\"},\"spec\":{\"controllerName\":"
                     "\"konghq.com/kgc-gateway-controller\"}}"},
    {"Namespace", "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"demo\","
                  "\"resourceVersion\":\"2\"}}"},
    {"Gateway", "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\","
                "\"metadata\":{\"name\":\"gw\",\"namespace\":\"demo\",\"resourceVersion\":\"3\","
                "\"generation\":1,\"uid\":\"u3\"},\"spec\":{\"gatewayClassName\":\"kgc\","
                "\"listeners\":[{\"name\":\"http\",\"port\":8000,\"protocol\":\"HTTP\","
                "\"allowedRoutes\":{\"namespaces\":{\"from\":\"Same\"}}}]}}"},
    {"HTTPRoute", "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
                  "\"metadata\":{\"name\":\"rt\",\"namespace\":\"demo\",\"resourceVersion\":\"4\","
                  "\"generation\":1,\"uid\":\"u4\"},\"spec\":{\"parentRefs\":[{\"name\":\"gw\"}],"
                  "\"rules\":[{\"backendRefs\":[{\"name\":\"svc\",\"port\":80}]}]}}"},
};

struct world {
    struct kgc_cache *cache;
    struct kgc_listenercache *lc;
    struct kgc_reconcile *r;
};

static void sleep_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* The world with reconciler options o (NULL: the defaults, quick retries). */
static void setup_world_with(struct world *w, const struct kgc_reconcile_options *given)
{
    struct kgc_err err = {0};
    w->cache = kgc_cache_new();
    assert_non_null(w->cache);
    struct kgc_listenercache_options lo;
    kgc_listenercache_options_default(&lo);
    lo.dir = ""; /* memory only */
    assert_int_equal(kgc_listenercache_open(&lo, &w->lc, &err), 0);
    struct kgc_reconcile_options o;
    kgc_reconcile_options_default(&o);
    o.rate_limit.base_delay_ns = 2 * KGC_NS_PER_MS; /* keep the retries quick */
    if (given)
        o = *given;
    assert_int_equal(kgc_reconcile_new(&o, w->cache, NULL, w->lc, &w->r, &err), 0);
    for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
        int kind = kgc_api_kind_from_name(objects[i][0]);
        struct kgc_api_obj *obj = NULL;
        assert_int_equal(kgc_api_parse_text((enum kgc_api_kind)kind, objects[i][1],
                                            strlen(objects[i][1]), &obj, &err),
                         0);
        assert_int_equal(kgc_cache_upsert(w->cache, obj, NULL), 0);
    }
}

static void setup_world(struct world *w)
{
    setup_world_with(w, NULL);
}

static void teardown_world(struct world *w)
{
    kgc_reconcile_free(w->r);
    kgc_listenercache_close(w->lc);
    kgc_cache_free(w->cache);
}

/* Polls (bounded: 5 s) until the controller's counter reaches want. */
static uint64_t wait_stat(struct world *w, enum kgc_reconcile_controller c, size_t off,
                          uint64_t want)
{
    struct kgc_reconcile_stats st;
    for (int i = 0; i < 500; i++) {
        kgc_reconcile_stats(w->r, c, &st);
        uint64_t v = *(uint64_t *)((char *)&st + off);
        if (v >= want)
            return v;
        sleep_ms(10);
    }
    kgc_reconcile_stats(w->r, c, &st);
    return *(uint64_t *)((char *)&st + off);
}

static void test_changes_are_queued_by_the_cache_handlers(void **state)
{
    (void)state;
    struct world w;
    setup_world(&w);
    /* Before any worker runs, the upserts alone queued the class, the gateway and the route. */
    assert_int_equal(kgc_workqueue_len(kgc_reconcile_queue(w.r, KGC_RECONCILE_GATEWAYCLASS)), 1);
    assert_int_equal(kgc_workqueue_len(kgc_reconcile_queue(w.r, KGC_RECONCILE_GATEWAY)), 1);
    assert_int_equal(kgc_workqueue_len(kgc_reconcile_queue(w.r, KGC_RECONCILE_HTTPROUTE)), 1);
    teardown_world(&w);
}

/* Takes every key off a controller's queue (no worker runs in these tests). */
static size_t drain(struct world *w, enum kgc_reconcile_controller c)
{
    struct kgc_workqueue *q = kgc_reconcile_queue(w->r, c);
    size_t n = 0;
    const char *key;
    while (kgc_workqueue_try_get(q, &key) == 0) {
        kgc_workqueue_done(q, key);
        n++;
    }
    return n;
}

/* The data plane reaches the controllers by two announcements only: the listener view's "view
 * changed" and the syncer's changes. Each re-queues what it can alter; nothing else does. */
static void test_data_plane_announcements_requeue(void **state)
{
    (void)state;
    struct world w;
    setup_world(&w);
    struct kgc_err err = {0};
    for (int c = 0; c < KGC_RECONCILE_CONTROLLER_COUNT; c++)
        drain(&w, (enum kgc_reconcile_controller)c);

    /* an instance becomes live: the view changes, every Gateway is judged again */
    struct kgc_kong_listener proxy = {.ip = "0.0.0.0", .port = 8000};
    struct kgc_kong_info info = {.version = "3.9.1", .node_id = "n1", .database = "off"};
    info.listeners.proxy = &proxy;
    info.listeners.n_proxy = 1;
    assert_int_equal(kgc_listenercache_set_live(w.lc, "http://kong:8001", &info, 1, &err), 0);
    assert_int_equal(drain(&w, KGC_RECONCILE_GATEWAY), 1);
    assert_int_equal(drain(&w, KGC_RECONCILE_HTTPROUTE), 0);
    /* a heartbeat changes nothing */
    assert_int_equal(kgc_listenercache_touch(w.lc, "http://kong:8001", 2, &err), 0);
    assert_int_equal(drain(&w, KGC_RECONCILE_GATEWAY), 0);

    struct kgc_sync_change ch = {.what = KGC_SYNC_CHANGE_PROGRAMMED};
    kgc_reconcile_on_sync_change(w.r, &ch);
    assert_int_equal(drain(&w, KGC_RECONCILE_GATEWAY), 1);

    ch = (struct kgc_sync_change){.what = KGC_SYNC_CHANGE_ROUTE_VERDICT,
                                  .kind = KGC_API_HTTPROUTE,
                                  .ns = "demo",
                                  .name = "rt"};
    kgc_reconcile_on_sync_change(w.r, &ch);
    assert_int_equal(drain(&w, KGC_RECONCILE_HTTPROUTE), 1);
    assert_int_equal(drain(&w, KGC_RECONCILE_GATEWAY), 1); /* its parent: attachedRoutes */

    ch = (struct kgc_sync_change){.what = KGC_SYNC_CHANGE_REJECTED,
                                  .kind = KGC_API_HTTPROUTE,
                                  .ns = "demo",
                                  .name = "rt",
                                  .message = "bad plugin"};
    kgc_reconcile_on_sync_change(w.r, &ch);
    assert_int_equal(drain(&w, KGC_RECONCILE_HTTPROUTE), 1);
    ch = (struct kgc_sync_change){.what = KGC_SYNC_CHANGE_REJECTED,
                                  .kind = KGC_API_SECRET,
                                  .ns = "demo",
                                  .name = "tls",
                                  .message = "bad key"};
    kgc_reconcile_on_sync_change(w.r, &ch);
    assert_int_equal(drain(&w, KGC_RECONCILE_GATEWAY), 1);
    assert_int_equal(drain(&w, KGC_RECONCILE_HTTPROUTE), 0);
    teardown_world(&w);
}

static void add_json(struct world *w, const char *kind, const char *json)
{
    struct kgc_err err = {0};
    struct kgc_api_obj *obj = NULL;
    assert_int_equal(kgc_api_parse_text((enum kgc_api_kind)kgc_api_kind_from_name(kind), json,
                                        strlen(json), &obj, &err),
                     0);
    assert_int_equal(kgc_cache_upsert(w->cache, obj, NULL), 0);
}

#define ROUTE(ns, name, parent)                                                                    \
    "{\"apiVersion\":\"gateway.networking.k8s.io/"                                                 \
    "v1\",\"kind\":\"HTTPRoute\",\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns          \
    "\",\"resourceVersion\":\"9\",\"generation\":1,\"uid\":\"u-" name                              \
    "\"},\"spec\":{\"parentRefs\":[" parent "],\"rules\":[{\"backendRefs\":[{\"name\":\"svc\","    \
    "\"port\":80}]}]}}"

/* The controllers count attachedRoutes through the cache's route-by-Gateway index; the count
 * must equal the one over every route (the status module's own definition). */
static void test_attached_routes_through_the_index_equal_the_full_scan(void **state)
{
    (void)state;
    struct world w;
    setup_world(&w);
    add_json(&w, "Namespace",
             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"other\","
             "\"resourceVersion\":\"5\"}}");
    add_json(&w, "HTTPRoute", ROUTE("demo", "rt2", "{\"name\":\"gw\",\"sectionName\":\"http\"}"));
    add_json(&w, "HTTPRoute", ROUTE("demo", "rt3", "{\"name\":\"gw\",\"sectionName\":\"nope\"}"));
    add_json(&w, "HTTPRoute", ROUTE("demo", "rt4", "{\"name\":\"other-gw\"}"));
    add_json(&w, "HTTPRoute",
             ROUTE("other", "rt5", "{\"name\":\"gw\",\"namespace\":\"demo\"}")); /* from: Same */
    for (int i = 0; i < 50; i++) {
        char name[32], json[1024];
        snprintf(name, sizeof(name), "many-%d", i);
        snprintf(json, sizeof(json), ROUTE("demo", "%s", "{\"name\":\"%s\"}"), name, name,
                 i % 5 == 0 ? "gw" : "elsewhere");
        add_json(&w, "HTTPRoute", json);
    }
    const struct kgc_api_obj *o = kgc_cache_get(w.cache, KGC_API_GATEWAY, "demo", "gw");
    assert_non_null(o);
    struct kgc_status_options so;
    kgc_status_options_default(&so);
    struct kgc_status_lookup indexed, scan;
    kgc_reconcile_cache_lookup(w.cache, &indexed);
    assert_non_null(indexed.foreach_route_of_gateway);
    scan = indexed;
    scan.foreach_route_of_gateway = NULL;
    int32_t a = -1, b = -1;
    struct kgc_err err = {0};
    assert_int_equal(
        kgc_status_gateway_attached_routes(&so, &indexed, kgc_api_as_gateway(o), &a, &err), 0);
    assert_int_equal(
        kgc_status_gateway_attached_routes(&so, &scan, kgc_api_as_gateway(o), &b, &err), 0);
    assert_int_equal(a, 12); /* rt, rt2 and the 10 many-N naming gw */
    assert_int_equal(a, b);
    kgc_api_obj_unref(o);
    teardown_world(&w);
}

static void test_gateway_waits_for_kong_then_settles_when_listeners_are_live(void **state)
{
    (void)state;
    struct world w;
    setup_world(&w);
    struct kgc_err err = {0};
    assert_int_equal(kgc_reconcile_start(w.r, &err), 0);

    /* No live and no cached listeners: the Gateway is retried with backoff, never settled. */
    assert_true(wait_stat(&w, KGC_RECONCILE_GATEWAY,
                          offsetof(struct kgc_reconcile_stats, pending_kong), 3) >= 3);
    struct kgc_workqueue *gq = kgc_reconcile_queue(w.r, KGC_RECONCILE_GATEWAY);
    assert_true(kgc_workqueue_num_requeues(gq, "demo/gw") >= 2);

    /* Kong is live with a proxy listen on 8000: one more pass settles it (forgotten: no
     * backoff left) and the waiting stops. */
    struct kgc_kong_listener proxy = {
        .ip = "0.0.0.0", .port = 8000, .kind = KGC_KONG_LISTENER_PROXY};
    struct kgc_kong_info info = {.version = "3.9.1", .node_id = "n1", .database = "off"};
    info.listeners.proxy = &proxy;
    info.listeners.n_proxy = 1;
    assert_int_equal(kgc_listenercache_set_live(w.lc, "http://kong:8001", &info, 1, &err), 0);
    kgc_reconcile_enqueue_all(w.r);
    int settled = 0;
    for (int i = 0; i < 500 && !settled; i++) {
        settled = kgc_workqueue_num_requeues(gq, "demo/gw") == 0;
        if (!settled)
            sleep_ms(10);
    }
    assert_true(settled);
    struct kgc_reconcile_stats st;
    kgc_reconcile_stats(w.r, KGC_RECONCILE_HTTPROUTE, &st);
    assert_true(st.reconciles >= 1);
    assert_int_equal(st.errors, 0);
    kgc_reconcile_stop(w.r, KGC_NS_PER_S);
    teardown_world(&w);
}

/* Status-only updates (kgc's own writes coming back, mostly) re-queue the object itself and
 * nothing else: no status reads a Gateway's status, and of a route's status only the verdict of
 * ours a pending translation falls back to (Accepted=False/UnsupportedValue at its generation). */
#define RT_STATUS(gen, rv, accepted, reason)                                                       \
    "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\",\"metadata\":{"       \
    "\"name\":\"rt\",\"namespace\":\"demo\",\"resourceVersion\":\"" rv "\",\"generation\":" #gen   \
    ",\"uid\":\"u4\"},\"spec\":{\"parentRefs\":[{\"name\":\"gw\"}],\"rules\":[{\"backendRefs\":[{" \
    "\"name\":\"svc\",\"port\":80}]}]},\"status\":{\"parents\":[{\"parentRef\":{\"name\":\"gw\"}," \
    "\"controllerName\":\"konghq.com/kgc-gateway-controller\",\"conditions\":[{\"type\":"          \
    "\"Accepted\",\"status\":\"" accepted "\",\"reason\":\"" reason "\",\"message\":\"m\","        \
    "\"observedGeneration\":" #gen ",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}]}}"
#define GW_STATUS(gen, rv)                                                                         \
    "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\",\"metadata\":{"         \
    "\"name\":\"gw\",\"namespace\":\"demo\",\"resourceVersion\":\"" rv "\",\"generation\":" #gen   \
    ",\"uid\":\"u3\"},\"spec\":{\"gatewayClassName\":\"kgc\",\"listeners\":[{\"name\":\"http\","   \
    "\"port\":8000,\"protocol\":\"HTTP\",\"allowedRoutes\":{\"namespaces\":{\"from\":\"Same\"}}}]" \
    "},"                                                                                           \
    "\"status\":{\"conditions\":[{\"type\":\"Accepted\",\"status\":\"True\",\"reason\":"           \
    "\"Accepted\",\"message\":\"\",\"observedGeneration\":" #gen ",\"lastTransitionTime\":"        \
    "\"2026-01-01T00:00:00Z\"}]}}"
static void test_status_only_updates_requeue_only_the_object(void **state)
{
    (void)state;
    struct world w;
    setup_world(&w);
    for (int c = 0; c < KGC_RECONCILE_CONTROLLER_COUNT; c++)
        drain(&w, (enum kgc_reconcile_controller)c);

    /* the route's status written (Accepted): the route only */
    add_json(&w, "HTTPRoute", RT_STATUS(1, "21", "True", "Accepted"));
    assert_int_equal(drain(&w, KGC_RECONCILE_HTTPROUTE), 1);
    assert_int_equal(drain(&w, KGC_RECONCILE_GATEWAY), 0);
    /* a verdict of ours in it (attachedRoutes falls back to it): its Gateway too */
    add_json(&w, "HTTPRoute", RT_STATUS(1, "22", "False", "UnsupportedValue"));
    assert_int_equal(drain(&w, KGC_RECONCILE_HTTPROUTE), 1);
    assert_int_equal(drain(&w, KGC_RECONCILE_GATEWAY), 1);
    /* a spec change (new generation): its Gateway too */
    add_json(&w, "HTTPRoute", RT_STATUS(2, "23", "False", "UnsupportedValue"));
    assert_int_equal(drain(&w, KGC_RECONCILE_HTTPROUTE), 1);
    assert_int_equal(drain(&w, KGC_RECONCILE_GATEWAY), 1);

    /* the Gateway's status written: the Gateway only */
    add_json(&w, "Gateway", GW_STATUS(1, "31"));
    assert_int_equal(drain(&w, KGC_RECONCILE_GATEWAY), 1);
    assert_int_equal(drain(&w, KGC_RECONCILE_HTTPROUTE), 0);
    /* its spec changed: its routes too */
    add_json(&w, "Gateway", GW_STATUS(2, "32"));
    assert_int_equal(drain(&w, KGC_RECONCILE_GATEWAY), 1);
    assert_int_equal(drain(&w, KGC_RECONCILE_HTTPROUTE), 1);
    teardown_world(&w);
}

/* ---- start-up: one status write per Gateway -------------------------------------------------- */

/* The syncer as the start-up hooks see it. */
struct fake_syncer {
    bool programmed;    /* Kong accepted a configuration with the Gateway */
    bool push_expected; /* a push is on its way */
    int asked;          /* push_expected calls */
};

static bool fake_programmed(void *ctx, const struct kgc_api_gateway *gw, char *why, size_t size)
{
    (void)gw;
    struct fake_syncer *f = ctx;
    if (!f->programmed)
        snprintf(why, size, "waiting for Kong http://kong:8001 to accept the configuration");
    return f->programmed;
}

static bool fake_push_expected(void *ctx)
{
    struct fake_syncer *f = ctx;
    f->asked++;
    return f->push_expected;
}

static void setup_startup_world(struct world *w, struct kgc_clock *clk, struct fake_syncer *f)
{
    kgc_clock_fake_init(clk, 1000 * KGC_NS_PER_S);
    struct kgc_reconcile_options o;
    kgc_reconcile_options_default(&o);
    o.clock = clk;
    o.programmed = fake_programmed;
    o.push_expected = fake_push_expected;
    o.programmed_ctx = f;
    setup_world_with(w, &o);
}

static void set_kong_live(struct world *w)
{
    struct kgc_err err = {0};
    struct kgc_kong_listener proxy = {
        .ip = "0.0.0.0", .port = 8000, .kind = KGC_KONG_LISTENER_PROXY};
    struct kgc_kong_info info = {.version = "3.9.1", .node_id = "n1", .database = "off"};
    info.listeners.proxy = &proxy;
    info.listeners.n_proxy = 1;
    assert_int_equal(kgc_listenercache_set_live(w->lc, "http://kong:8001", &info, 1, &err), 0);
}

static struct kgc_reconcile_stats gw_stats(struct world *w)
{
    struct kgc_reconcile_stats st;
    kgc_reconcile_stats(w->r, KGC_RECONCILE_GATEWAY, &st);
    return st;
}

/* Reconciles every Gateway key that is due after moving the fake clock by advance_ns. */
static size_t run_gateways(struct world *w, struct kgc_clock *clk, uint64_t advance_ns)
{
    kgc_clock_fake_advance(clk, advance_ns);
    kgc_workqueue_tick(kgc_reconcile_queue(w->r, KGC_RECONCILE_GATEWAY));
    size_t n = 0;
    while (kgc_reconcile_process_one(w->r, KGC_RECONCILE_GATEWAY))
        n++;
    return n;
}

/* Kong is reachable, kgc just started: the Gateway's only missing piece is Kong's acceptance of
 * the first push. It is not written Pending; it is looked at again when the push's PROGRAMMED
 * comes and written once, Programmed. Meanwhile one re-check every 500 ms (the hold tick) asks
 * whether a push is still expected, without computing the Gateway's status again. */
static void test_gateway_first_status_waits_for_the_first_push(void **state)
{
    (void)state;
    struct world w;
    struct kgc_clock clk;
    struct fake_syncer f = {.programmed = false, .push_expected = true};
    setup_startup_world(&w, &clk, &f);
    set_kong_live(&w);

    assert_int_equal(run_gateways(&w, &clk, 0), 1);
    struct kgc_reconcile_stats st = gw_stats(&w);
    assert_int_equal(st.held, 1);
    assert_int_equal(st.pending_kong, 0); /* no Pending status */
    assert_int_equal(st.errors, 0);       /* no backoff either: a plain re-check */
    int asked = f.asked;
    assert_int_equal(run_gateways(&w, &clk, 499 * KGC_NS_PER_MS), 0);
    assert_int_equal(run_gateways(&w, &clk, 1 * KGC_NS_PER_MS), 1); /* the hold tick */
    assert_int_equal(f.asked, asked + 1);
    assert_int_equal(gw_stats(&w).held, 1);       /* not computed again: nothing changed */
    assert_int_equal(gw_stats(&w).reconciles, 1); /* the tick is not a Gateway's reconcile */
    assert_int_equal(run_gateways(&w, &clk, 500 * KGC_NS_PER_MS), 1); /* the next tick */
    assert_int_equal(f.asked, asked + 2);

    /* the push lands: PROGRAMMED re-queues it, and this time its status is final */
    f.programmed = true;
    struct kgc_sync_change ch = {.what = KGC_SYNC_CHANGE_PROGRAMMED};
    kgc_reconcile_on_sync_change(w.r, &ch);
    assert_int_equal(run_gateways(&w, &clk, 0), 1);
    st = gw_stats(&w);
    assert_int_equal(st.held, 1);
    assert_int_equal(st.pending_kong, 0);
    assert_int_equal(st.errors, 0);
    teardown_world(&w);
}

/* The wait is bounded: when the window ends the Gateway is written as it is (Pending, with a
 * retry), and a window opens again only on becoming the leader. */
static void test_gateway_start_up_wait_is_bounded(void **state)
{
    (void)state;
    struct world w;
    struct kgc_clock clk;
    struct fake_syncer f = {.programmed = false, .push_expected = true};
    setup_startup_world(&w, &clk, &f);
    set_kong_live(&w);
    assert_int_equal(run_gateways(&w, &clk, 0), 1);
    uint64_t t = 0;
    while (gw_stats(&w).pending_kong == 0 && t < 20 * KGC_NS_PER_S) {
        t += 100 * KGC_NS_PER_MS;
        run_gateways(&w, &clk, 100 * KGC_NS_PER_MS);
    }
    struct kgc_reconcile_stats st = gw_stats(&w);
    assert_int_equal(st.pending_kong, 1);
    assert_int_equal(t, 10 * KGC_NS_PER_S); /* 10 s after start (the first look was at 0) */
    assert_int_equal(st.held, 1);           /* at 0; the hold tick re-queued it at 10 s */
    assert_int_equal(st.errors, 1);         /* backs off as before */

    /* leadership lost and won again: a new window */
    kgc_reconcile_set_leader(w.r, false);
    kgc_reconcile_set_leader(w.r, true);
    run_gateways(&w, &clk, 0);
    assert_int_equal(gw_stats(&w).held, 2);
    teardown_world(&w);
}

/* A held Gateway learns within 500 ms that the push it waits for failed (the hook turns false)
 * and is written as it is, Pending, without waiting for the window's end. */
static void test_gateway_hold_ends_when_the_push_fails(void **state)
{
    (void)state;
    struct world w;
    struct kgc_clock clk;
    struct fake_syncer f = {.programmed = false, .push_expected = true};
    setup_startup_world(&w, &clk, &f);
    set_kong_live(&w);
    assert_int_equal(run_gateways(&w, &clk, 0), 1);
    assert_int_equal(gw_stats(&w).held, 1);
    assert_int_equal(run_gateways(&w, &clk, 500 * KGC_NS_PER_MS), 1); /* tick: still expected */
    f.push_expected = false;
    assert_int_equal(run_gateways(&w, &clk, 499 * KGC_NS_PER_MS), 0);
    /* the tick, then the Gateway it re-queued, written Pending */
    assert_int_equal(run_gateways(&w, &clk, 1 * KGC_NS_PER_MS), 2);
    struct kgc_reconcile_stats st = gw_stats(&w);
    assert_int_equal(st.held, 1);
    assert_int_equal(st.pending_kong, 1);
    /* no tick any more: the Gateway retries with backoff as before */
    f.push_expected = true;
    assert_int_equal(run_gateways(&w, &clk, 0), 0);
    teardown_world(&w);
}

/* What is true is written at once: Kong known down or its push failed (the hook says no push is
 * expected), or a Gateway with a real problem (an invalid listener). */
static void test_gateway_start_up_never_hides_a_failure(void **state)
{
    (void)state;
    struct world w;
    struct kgc_clock clk;
    struct fake_syncer f = {.programmed = false, .push_expected = false};
    setup_startup_world(&w, &clk, &f);
    set_kong_live(&w);
    assert_int_equal(run_gateways(&w, &clk, 0), 1);
    struct kgc_reconcile_stats st = gw_stats(&w);
    assert_int_equal(st.held, 0);
    assert_int_equal(st.pending_kong, 1);
    assert_true(f.asked >= 1);

    /* a listener that cannot be programmed (invalid route kinds) is written at once, even
     * with a push expected */
    f.push_expected = true;
    add_json(&w, "Gateway",
             "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\","
             "\"metadata\":{\"name\":\"bad\",\"namespace\":\"demo\",\"resourceVersion\":"
             "\"7\",\"generation\":1,\"uid\":\"u7\"},\"spec\":{\"gatewayClassName\":\"kgc\","
             "\"listeners\":[{\"name\":\"http\",\"port\":8000,\"protocol\":\"HTTP\","
             "\"allowedRoutes\":{\"kinds\":[{\"kind\":\"Nope\"}]}}]}}");
    kgc_workqueue_forget(kgc_reconcile_queue(w.r, KGC_RECONCILE_GATEWAY), "demo/gw");
    const char *key;
    struct kgc_workqueue *gq = kgc_reconcile_queue(w.r, KGC_RECONCILE_GATEWAY);
    while (kgc_workqueue_try_get(gq, &key) == 0) /* keep only "bad" */
        kgc_workqueue_done(gq, key);
    kgc_reconcile_enqueue(w.r, KGC_RECONCILE_GATEWAY, "demo/bad");
    assert_int_equal(run_gateways(&w, &clk, 0), 1);
    st = gw_stats(&w);
    assert_int_equal(st.held, 0);
    assert_int_equal(st.pending_kong, 2);

    teardown_world(&w);
}

/* The syncer's start-up answer: a push is expected while it leads and no push failed; not when
 * it does not lead, and not once a push failed (here: nothing listens at the instance's port). */
static void test_sync_push_expected_until_a_push_fails(void **state)
{
    (void)state;
    struct world w;
    setup_world(&w);
    struct kgc_err err = {0};
    struct kgc_status_lookup lk;
    kgc_reconcile_cache_lookup(w.cache, &lk);
    struct kgc_sync_options so;
    kgc_sync_options_default(&so);
    so.debounce_ns = KGC_NS_PER_MS;
    struct kgc_sync *s = NULL;
    assert_int_equal(kgc_sync_new(&so, &lk, NULL, NULL, &s, &err), 0);
    assert_false(kgc_sync_push_expected(s)); /* not the leader */
    kgc_sync_set_leader(s, true);
    assert_true(kgc_sync_push_expected(s)); /* no Kong has answered yet */
    assert_int_equal(kgc_sync_add_instance(s, "http://127.0.0.1:1", &err), 0);
    assert_true(kgc_sync_push_expected(s)); /* ready, nothing pushed yet */
    assert_int_equal(kgc_sync_start(s, &err), 0);
    kgc_sync_mark_dirty(s);
    bool expected = true;
    for (int i = 0; i < 1000 && expected; i++) { /* bounded: 10 s */
        expected = kgc_sync_push_expected(s);
        if (expected)
            sleep_ms(10);
    }
    assert_false(expected); /* the push failed: the status must say so at once */
    kgc_sync_free(s);
    teardown_world(&w);
}

/* ---- kgc's own status write coming back through the watch ------------------------------------ */

struct api {
    struct fas_server *srv;
    struct kgc_k8s_client *client;
};

static json_object *api_call(struct api *a, const char *method, const char *path, const char *body)
{
    struct kgc_k8s_response resp;
    struct kgc_err err = {0};
    int rc = kgc_k8s_request(a->client, method, path, NULL,
                             strcmp(method, "PATCH") == 0 ? "application/merge-patch+json"
                                                          : "application/json",
                             body, body ? strlen(body) : 0, NULL, &resp, NULL, &err);
    if (rc != 0)
        fail_msg("%s %s: %s", method, path, err.msg);
    json_object *j = json_tokener_parse(resp.body);
    free(resp.body);
    assert_non_null(j);
    return j;
}

static void api_create_crd(struct api *a, const char *file)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/crds/%s.yaml", fixture_gateway_api_dir(), file);
    json_object **docs = NULL;
    size_t nd = 0;
    char err[FIXTURE_ERR_MAX];
    if (fixture_yaml_load(path, NULL, NULL, &docs, &nd, err, sizeof(err)) != 0)
        fail_msg("%s: %s (%s)", path, err, FIXTURE_GATEWAY_API_HINT);
    assert_true(nd >= 1);
    json_object_put(api_call(a, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                             json_object_to_json_string(docs[0])));
    fixture_docs_free(docs, nd);
}

/* The object at path as the server has it now, put in the cache as a watch event would. */
static json_object *api_get(struct api *a, const char *path)
{
    return api_call(a, "GET", path, NULL);
}

static void to_cache(struct world *w, const char *kind, json_object *j)
{
    add_json(w, kind, json_object_to_json_string(j));
    json_object_put(j);
}

#define RT_PATH "/apis/gateway.networking.k8s.io/v1/namespaces/demo/httproutes/rt"

/* A route's status written by kgc comes back as a watch event at the resourceVersion the PATCH
 * answered: it is not reconciled again (it would compute the same). A change by anyone else is a
 * different event and is: after kgc's write and before its event reaches the cache (the events
 * arrive in order), or when a relist jumps from before kgc's write to after the change. */
static void test_own_status_write_coming_back_is_not_reconciled(void **state)
{
    (void)state;
    struct api a = {0};
    struct kgc_err err = {0};
    struct fas_server_opts so = {.host = "127.0.0.1"};
    assert_int_equal(fas_server_start(&so, &a.srv, &err), 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", fas_server_port(a.srv));
    struct kgc_k8s_config cfg = {.server = url};
    struct kgc_k8s_options ko;
    kgc_k8s_options_default(&ko);
    assert_int_equal(kgc_k8s_client_new(&cfg, &ko, &a.client, &err), 0);
    api_create_crd(&a, "gatewayclasses");
    api_create_crd(&a, "gateways");
    api_create_crd(&a, "httproutes");
    json_object_put(api_call(&a, "POST", "/api/v1/namespaces",
                             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{"
                             "\"name\":\"demo\"}}"));

    struct world w;
    w.cache = kgc_cache_new();
    assert_non_null(w.cache);
    w.lc = NULL;
    struct kgc_reconcile_options o;
    kgc_reconcile_options_default(&o);
    assert_int_equal(kgc_reconcile_new(&o, w.cache, a.client, NULL, &w.r, &err), 0);
    to_cache(&w, "GatewayClass",
             api_call(&a, "POST", "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
                      "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"GatewayClass\","
                      "\"metadata\":{\"name\":\"kgc\"},\"spec\":{\"controllerName\":"
                      "\"konghq.com/kgc-gateway-controller\"}}"));
    to_cache(&w, "Gateway",
             api_call(&a, "POST", "/apis/gateway.networking.k8s.io/v1/namespaces/demo/gateways",
                      "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\","
                      "\"metadata\":{\"name\":\"gw\"},\"spec\":{\"gatewayClassName\":\"kgc\","
                      "\"listeners\":[{\"name\":\"http\",\"port\":8000,\"protocol\":\"HTTP\"}]}}"));
    to_cache(&w, "HTTPRoute",
             api_call(&a, "POST", "/apis/gateway.networking.k8s.io/v1/namespaces/demo/httproutes",
                      "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
                      "\"metadata\":{\"name\":\"rt\"},\"spec\":{\"parentRefs\":[{\"name\":\"gw\"}],"
                      "\"rules\":[{\"backendRefs\":[{\"name\":\"svc\",\"port\":80}]}]}}"));
    for (int c = 0; c < KGC_RECONCILE_CONTROLLER_COUNT; c++)
        drain(&w, (enum kgc_reconcile_controller)c);
    struct kgc_workqueue *rq = kgc_reconcile_queue(w.r, KGC_RECONCILE_HTTPROUTE);
    struct kgc_reconcile_stats st;

    /* kgc writes the route's status; its event comes back: nothing is queued */
    kgc_reconcile_enqueue(w.r, KGC_RECONCILE_HTTPROUTE, "demo/rt");
    assert_true(kgc_reconcile_process_one(w.r, KGC_RECONCILE_HTTPROUTE));
    kgc_reconcile_stats(w.r, KGC_RECONCILE_HTTPROUTE, &st);
    assert_int_equal(st.writes, 1);
    to_cache(&w, "HTTPRoute", api_get(&a, RT_PATH));
    assert_int_equal(kgc_workqueue_len(rq), 0);
    assert_int_equal(drain(&w, KGC_RECONCILE_GATEWAY), 0);

    /* someone changes the spec after kgc's next write, before that write's event is in the
     * cache: kgc's event is skipped, the change is reconciled */
    json_object_put(api_call(&a, "PATCH", RT_PATH, "{\"spec\":{\"hostnames\":[\"a.example\"]}}"));
    to_cache(&w, "HTTPRoute", api_get(&a, RT_PATH));
    assert_int_equal(drain(&w, KGC_RECONCILE_HTTPROUTE), 1);
    kgc_reconcile_enqueue(w.r, KGC_RECONCILE_HTTPROUTE, "demo/rt");
    assert_true(kgc_reconcile_process_one(w.r, KGC_RECONCILE_HTTPROUTE));
    kgc_reconcile_stats(w.r, KGC_RECONCILE_HTTPROUTE, &st);
    assert_int_equal(st.writes, 2);
    json_object *own = api_get(&a, RT_PATH); /* kgc's write, not yet delivered */
    json_object_put(api_call(&a, "PATCH", RT_PATH, "{\"spec\":{\"hostnames\":[\"b.example\"]}}"));
    json_object *other = api_get(&a, RT_PATH);
    to_cache(&w, "HTTPRoute", own);
    assert_int_equal(kgc_workqueue_len(rq), 0);
    to_cache(&w, "HTTPRoute", other);
    assert_int_equal(drain(&w, KGC_RECONCILE_HTTPROUTE), 1);
    assert_int_equal(drain(&w, KGC_RECONCILE_GATEWAY), 1); /* a spec change: its parent too */

    /* a relist from before kgc's write to after someone else's status write: reconciled */
    kgc_reconcile_enqueue(w.r, KGC_RECONCILE_HTTPROUTE, "demo/rt");
    assert_true(kgc_reconcile_process_one(w.r, KGC_RECONCILE_HTTPROUTE));
    kgc_reconcile_stats(w.r, KGC_RECONCILE_HTTPROUTE, &st);
    assert_int_equal(st.writes, 3);
    json_object_put(api_call(&a, "PATCH", RT_PATH "/status",
                             "{\"status\":{\"parents\":[]}}")); /* kgc's entry removed */
    to_cache(&w, "HTTPRoute", api_get(&a, RT_PATH));
    assert_int_equal(drain(&w, KGC_RECONCILE_HTTPROUTE), 1);

    kgc_reconcile_free(w.r);
    kgc_cache_free(w.cache);
    kgc_k8s_client_free(a.client);
    fas_server_stop(a.srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changes_are_queued_by_the_cache_handlers),
        cmocka_unit_test(test_data_plane_announcements_requeue),
        cmocka_unit_test(test_attached_routes_through_the_index_equal_the_full_scan),
        cmocka_unit_test(test_status_only_updates_requeue_only_the_object),
        cmocka_unit_test(test_gateway_waits_for_kong_then_settles_when_listeners_are_live),
        cmocka_unit_test(test_gateway_first_status_waits_for_the_first_push),
        cmocka_unit_test(test_gateway_start_up_wait_is_bounded),
        cmocka_unit_test(test_gateway_start_up_never_hides_a_failure),
        cmocka_unit_test(test_gateway_hold_ends_when_the_push_fails),
        cmocka_unit_test(test_sync_push_expected_until_a_push_fails),
        cmocka_unit_test(test_own_status_write_coming_back_is_not_reconciled),
    };
    return cmocka_run_group_tests_name("reconcile", tests, NULL, NULL);
}

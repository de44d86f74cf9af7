/* informer: list → watch → apply against a scripted API server (a canned HTTP peer): events
 * split across chunks, bookmarks, ERROR Expired → relist with synthetic deletes, resume after a
 * cut without duplicates or misses, pagination, 401/403/500 with backoff, oversized events,
 * prompt stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kgc/cache.h"
#include "kgc/informer.h"
#include "kgc/k8s.h"
#include "kgc/log.h"
#include "test_k8s_helpers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTES_PATH "/apis/gateway.networking.k8s.io/v1/httproutes"

/* --- a scripted API server -------------------------------------------------------------------- */

#define MAX_SCRIPT 8

struct watch_script {
    const char *parts[8]; /* body parts (each its own chunk); NULL-terminated */
    bool cut;             /* break the connection after the parts */
    int status;           /* non-zero: refuse the watch with this Status code */
    unsigned delay_ms;    /* before each part */
};

struct list_version {
    const char *items[8]; /* JSON objects, NULL-terminated */
    const char *rv;
};

struct sim {
    pthread_mutex_t mu;
    struct list_version lists[MAX_SCRIPT]; /* the n-th full list serves lists[min(n, last)] */
    int n_lists;
    int list_fail[MAX_SCRIPT]; /* Status codes for the first list requests (0: serve) */
    int n_list_fail;
    int fail_every_list;                     /* non-zero: every list gets this Status code */
    struct watch_script watches[MAX_SCRIPT]; /* the n-th watch; later ones hold until stop */
    int n_watches;
    /* observed */
    int full_lists;    /* list requests without continue that were served */
    int list_requests; /* every list request, pages and failures included */
    int watch_calls;
    char watch_rv[16][32];
    char list_query[16][256];
    char last_path[256];
};

static void sim_handler(struct peer *p, const struct peer_request *req, struct peer_response *r,
                        void *ctx)
{
    (void)p;
    struct sim *s = ctx;
    char q[256], cont[64], limit[16];
    pthread_mutex_lock(&s->mu);
    snprintf(s->last_path, sizeof(s->last_path), "%s", req->path);
    if (strcmp(query_param(req->query, "watch", q, sizeof(q)), "1") == 0) {
        int n = s->watch_calls++;
        if (n < 16)
            query_param(req->query, "resourceVersion", s->watch_rv[n], sizeof(s->watch_rv[n]));
        if (n >= s->n_watches) {
            r->hold = true; /* nothing more to say: a quiet stream */
            pthread_mutex_unlock(&s->mu);
            return;
        }
        const struct watch_script *w = &s->watches[n];
        if (w->status) {
            peer_status(r, w->status, "InternalError", "watch refused");
        } else {
            r->stream = true;
            r->cut = w->cut;
            r->delay_ms = w->delay_ms;
            for (int i = 0; i < 8 && w->parts[i]; i++)
                peer_resp_part(r, "%s", w->parts[i]);
        }
        pthread_mutex_unlock(&s->mu);
        return;
    }
    int n = s->list_requests++;
    if (n < 16)
        snprintf(s->list_query[n], sizeof(s->list_query[n]), "%s", req->query);
    int fail = s->fail_every_list ? s->fail_every_list : n < s->n_list_fail ? s->list_fail[n] : 0;
    if (fail) {
        peer_status(r, fail, fail == 401 ? "Unauthorized" : "Failure", "scripted failure");
        pthread_mutex_unlock(&s->mu);
        return;
    }
    query_param(req->query, "continue", cont, sizeof(cont));
    query_param(req->query, "limit", limit, sizeof(limit));
    int version;
    if (cont[0]) {
        version = atoi(cont) / 100; /* continue token "VVPP": list version, next item */
    } else {
        version = s->full_lists < s->n_lists ? s->full_lists : s->n_lists - 1;
        s->full_lists++;
    }
    const struct list_version *lv = &s->lists[version];
    int start = cont[0] ? atoi(cont) % 100 : 0;
    int lim = limit[0] ? atoi(limit) : 1000;
    int total = 0;
    while (total < 8 && lv->items[total])
        total++;
    int end = start + lim < total ? start + lim : total;
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    fprintf(f,
            "{\"kind\":\"HTTPRouteList\",\"apiVersion\":\"gateway.networking.k8s.io/v1\","
            "\"metadata\":{\"resourceVersion\":\"%s\"",
            lv->rv);
    if (end < total)
        fprintf(f, ",\"continue\":\"%d\"", version * 100 + end);
    fprintf(f, "},\"items\":[");
    for (int i = start; i < end; i++)
        fprintf(f, "%s%s", i > start ? "," : "", lv->items[i]);
    fprintf(f, "]}");
    fclose(f);
    peer_resp_part(r, "%s", body);
    free(body);
    pthread_mutex_unlock(&s->mu);
}

/* --- objects and events ----------------------------------------------------------------------- */

#define ROUTE(name, rv)                                                                            \
    "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"apps\",\"resourceVersion\":\"" rv        \
    "\"},\"spec\":{\"parentRefs\":[{\"name\":\"gw\"}]}}"
#define EVENT(type, obj) "{\"type\":\"" type "\",\"object\":" obj "}\n"
#define BOOKMARK(rv)                                                                               \
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"HTTPRoute\",\"apiVersion\":"                    \
    "\"gateway.networking.k8s.io/v1\",\"metadata\":{\"resourceVersion\":\"" rv "\"}}}\n"
#define EXPIRED                                                                                    \
    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"   \
    "\"status\":\"Failure\",\"message\":\"too old resource version: 10 (30)\",\"reason\":"         \
    "\"Expired\",\"code\":410}}\n"

/* --- fixture ---------------------------------------------------------------------------------- */

struct rec {
    pthread_mutex_t mu;
    char log[64][96];
    int n;
};

static void record(enum kgc_api_kind kind, const struct kgc_api_obj *old_obj,
                   const struct kgc_api_obj *new_obj, void *ctx)
{
    (void)kind;
    struct rec *r = ctx;
    const struct kgc_api_obj *o = new_obj ? new_obj : old_obj;
    if (!o)
        return; /* never: the cache always passes one */
    pthread_mutex_lock(&r->mu);
    if (r->n < 64)
        snprintf(r->log[r->n++], sizeof(r->log[0]), "%s %s %s%s%s",
                 !old_obj             ? "add"
                 : !new_obj           ? "delete"
                 : old_obj == new_obj ? "resync"
                                      : "update",
                 o->meta.name, old_obj ? old_obj->meta.resource_version : "",
                 old_obj && new_obj ? "->" : "", new_obj ? new_obj->meta.resource_version : "");
    pthread_mutex_unlock(&r->mu);
}

struct fx {
    struct sim sim;
    struct peer *peer;
    struct kgc_k8s_client *client;
    struct kgc_cache *cache;
    struct kgc_informer *inf;
    struct rec rec;
    struct kgc_informer_options opts;
    struct kgc_k8s_options kopts;
    bool secrets;  /* a Secrets informer instead of an HTTPRoutes one */
    bool grpc;     /* a GRPCRoutes informer (an optional kind) instead */
    bool plugins;  /* a KongPlugins informer (an optional kind) */
    bool policies; /* a BackendTLSPolicies informer (an optional kind) */
};

static struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof(*f));
    pthread_mutex_init(&f->sim.mu, NULL);
    pthread_mutex_init(&f->rec.mu, NULL);
    kgc_informer_options_default(&f->opts);
    f->opts.backoff_initial_ns = 1 * KGC_NS_PER_MS;
    f->opts.backoff_max_ns = 5 * KGC_NS_PER_MS;
    f->opts.min_watch_ns = 0;
    f->opts.page_size = 2;
    kgc_k8s_options_default(&f->kopts);
    return f;
}

static void fx_start(struct fx *f)
{
    f->peer = peer_start(sim_handler, &f->sim);
    assert_non_null(f->peer);
    struct kgc_k8s_config cfg = {.server = f->peer->url};
    struct kgc_err err = {0};
    assert_int_equal(kgc_k8s_client_new(&cfg, &f->kopts, &f->client, &err), 0);
    f->cache = kgc_cache_new();
    enum kgc_api_kind kind = f->secrets    ? KGC_API_SECRET
                             : f->grpc     ? KGC_API_GRPCROUTE
                             : f->plugins  ? KGC_API_KONGPLUGIN
                             : f->policies ? KGC_API_BACKENDTLSPOLICY
                                           : KGC_API_HTTPROUTE;
    kgc_cache_add_handler(f->cache, kind, record, &f->rec);
    assert_int_equal(kgc_informer_new(f->client, f->cache, kind, &f->opts, &f->inf, &err), 0);
    assert_int_equal(kgc_informer_start(f->inf, &err), 0);
}

static void fx_free(struct fx *f)
{
    kgc_informer_free(f->inf);
    peer_stop(f->peer);
    kgc_k8s_client_free(f->client);
    kgc_cache_free(f->cache);
    pthread_mutex_destroy(&f->sim.mu);
    pthread_mutex_destroy(&f->rec.mu);
    free(f);
}

static int watch_calls(struct fx *f)
{
    pthread_mutex_lock(&f->sim.mu);
    int n = f->sim.watch_calls;
    pthread_mutex_unlock(&f->sim.mu);
    return n;
}

/* Waits (bounded) until the server has seen n watch requests: the informer then sits in the
 * held one, having applied everything before it. */
static void wait_watches(struct fx *f, int n)
{
    for (int i = 0; i < 2000 && watch_calls(f) < n; i++)
        peer_sleep_ms(5);
    assert_true(watch_calls(f) >= n);
    peer_sleep_ms(20); /* the held watch has started; nothing else is in flight */
}

static bool logged(struct fx *f, const char *line)
{
    for (int i = 0; i < f->rec.n; i++) {
        if (strcmp(f->rec.log[i], line) == 0)
            return true;
    }
    return false;
}

static const char *rv_of(struct fx *f, const char *name)
{
    static char buf[32];
    const struct kgc_api_obj *o = kgc_cache_get(f->cache, KGC_API_HTTPROUTE, "apps", name);
    if (!o)
        return "absent";
    snprintf(buf, sizeof(buf), "%s", o->meta.resource_version);
    kgc_api_obj_unref(o);
    return buf;
}

/* --- tests ------------------------------------------------------------------------------------ */

static void test_list_then_watch_applies_events(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->sim.lists[0] =
        (struct list_version){{ROUTE("r1", "1"), ROUTE("r2", "2"), ROUTE("r0", "3")}, "10"};
    f->sim.n_lists = 1;
    /* events cut mid-key, mid-string and mid-number, two events in one chunk */
    f->sim.watches[0] = (struct watch_script){
        {"{\"type\":\"ADD", "ED\",\"object\":" ROUTE("r3", "11") "}\n{\"type\":\"MODIF",
         "IED\",\"object\":" ROUTE(
             "r1",
             "12") "}\n{\"type\":\"DELETED\",\"object\":{"
                   "\"metadata\":{\"name\":\"r2\",\"namespace\":\"apps\",\"resourceVersion\":\"1",
         "3\"}}}\n" BOOKMARK("20"), NULL}};
    f->sim.n_watches = 1;
    fx_start(f);
    struct kgc_informer *infs[] = {f->inf};
    assert_int_equal(kgc_informer_wait_synced(infs, 1, 10 * KGC_NS_PER_S), 0);
    assert_true(kgc_informer_has_synced(f->inf));
    wait_watches(f, 2);

    assert_string_equal(rv_of(f, "r1"), "12");
    assert_string_equal(rv_of(f, "r2"), "absent");
    assert_string_equal(rv_of(f, "r3"), "11");
    assert_string_equal(rv_of(f, "r0"), "3");
    assert_true(logged(f, "add r1 1"));
    assert_true(logged(f, "update r1 1->12"));
    assert_true(logged(f, "delete r2 2"));
    assert_true(logged(f, "add r3 11"));
    assert_int_equal(f->rec.n, 6);
    /* pagination: 3 objects in pages of 2 */
    char q[64];
    assert_int_equal(f->sim.list_requests, 2);
    assert_string_equal(query_param(f->sim.list_query[0], "limit", q, sizeof(q)), "2");
    assert_string_equal(query_param(f->sim.list_query[1], "continue", q, sizeof(q)), "2");
    /* the first watch starts at the list's version; the bookmark moved the second one on */
    assert_string_equal(f->sim.watch_rv[0], "10");
    assert_string_equal(f->sim.watch_rv[1], "20");
    struct kgc_informer_stats st;
    kgc_informer_stats(f->inf, &st);
    assert_true(st.synced);
    assert_int_equal(st.lists, 1);
    assert_int_equal(st.relists, 0);
    assert_int_equal(st.added, 1);
    assert_int_equal(st.modified, 1);
    assert_int_equal(st.deleted, 1);
    assert_int_equal(st.bookmarks, 1);
    assert_string_equal(st.last_rv, "20");
    fx_free(f);
}

static void test_expired_relists_with_synthetic_deletes(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->sim.lists[0] =
        (struct list_version){{ROUTE("a", "1"), ROUTE("b", "2"), ROUTE("c", "3")}, "10"};
    /* by the relist b and d are gone and c changed */
    f->sim.lists[1] = (struct list_version){{ROUTE("a", "1"), ROUTE("c", "15")}, "30"};
    f->sim.n_lists = 2;
    f->sim.watches[0] = (struct watch_script){{EVENT("ADDED", ROUTE("d", "11")) EXPIRED, NULL}};
    f->sim.n_watches = 1;
    fx_start(f);
    wait_watches(f, 2);
    assert_string_equal(rv_of(f, "a"), "1");
    assert_string_equal(rv_of(f, "b"), "absent");
    assert_string_equal(rv_of(f, "c"), "15");
    assert_string_equal(rv_of(f, "d"), "absent");
    assert_true(logged(f, "add d 11"));
    assert_true(logged(f, "delete b 2"));
    assert_true(logged(f, "delete d 11"));
    assert_true(logged(f, "update c 3->15"));
    assert_int_equal(f->rec.n, 3 + 1 + 3); /* a unchanged: no handler call */
    assert_string_equal(f->sim.watch_rv[1], "30");
    struct kgc_informer_stats st;
    kgc_informer_stats(f->inf, &st);
    assert_int_equal(st.lists, 2);
    assert_int_equal(st.relists, 1);
    assert_int_equal(st.synthetic_deletes, 2);
    assert_int_equal(st.error_events, 1);
    fx_free(f);
}

static void test_resume_after_cut_without_duplicates(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->sim.lists[0] = (struct list_version){{ROUTE("a", "1")}, "10"};
    f->sim.n_lists = 1;
    f->sim.watches[0] =
        (struct watch_script){{EVENT("ADDED", ROUTE("b", "11")) EVENT("MODIFIED", ROUTE("a", "12")),
                               "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"na", NULL},
                              .cut = true};
    /* the server repeats the last event (as a resumed stream may), then moves on */
    f->sim.watches[1] = (struct watch_script){
        {EVENT("MODIFIED", ROUTE("a", "12")) EVENT("ADDED", ROUTE("c", "13")), NULL}, .cut = true};
    f->sim.n_watches = 2;
    fx_start(f);
    wait_watches(f, 3);
    assert_string_equal(f->sim.watch_rv[0], "10");
    assert_string_equal(f->sim.watch_rv[1], "12"); /* after the last whole event, not before */
    assert_string_equal(f->sim.watch_rv[2], "13");
    assert_int_equal(f->rec.n, 4);
    assert_string_equal(f->rec.log[0], "add a 1");
    assert_string_equal(f->rec.log[1], "add b 11");
    assert_string_equal(f->rec.log[2], "update a 1->12");
    assert_string_equal(f->rec.log[3], "add c 13");
    struct kgc_informer_stats st;
    kgc_informer_stats(f->inf, &st);
    assert_int_equal(st.lists, 1); /* resumed, never relisted */
    fx_free(f);
}

static void test_http_errors_back_off_and_recover(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->sim.lists[0] = (struct list_version){{ROUTE("a", "1")}, "10"};
    f->sim.n_lists = 1;
    f->sim.list_fail[0] = 500;
    f->sim.list_fail[1] = 403;
    f->sim.list_fail[2] = 401;
    f->sim.n_list_fail = 3;
    f->sim.watches[0] = (struct watch_script){.status = 500};
    f->sim.watches[1] = (struct watch_script){.status = 401};
    f->sim.n_watches = 2;
    fx_start(f);
    wait_watches(f, 3);
    assert_string_equal(rv_of(f, "a"), "1");
    /* a refused watch is retried from the same version: no relist */
    assert_string_equal(f->sim.watch_rv[1], "10");
    assert_string_equal(f->sim.watch_rv[2], "10");
    struct kgc_informer_stats st;
    kgc_informer_stats(f->inf, &st);
    assert_true(st.synced);
    assert_int_equal(st.lists, 1);
    assert_int_equal(st.list_errors, 3);
    assert_int_equal(st.watch_errors, 2);
    assert_int_equal(st.backoffs, 5);
    fx_free(f);
}

static void test_short_empty_watches_back_off(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->opts.min_watch_ns = 10 * KGC_NS_PER_S; /* every watch here is short */
    f->sim.lists[0] = (struct list_version){{ROUTE("a", "1")}, "10"};
    f->sim.n_lists = 1;
    for (int i = 0; i < 3; i++)
        f->sim.watches[i] = (struct watch_script){{NULL}}; /* 200, then closed at once */
    f->sim.watches[3] = (struct watch_script){{EVENT("ADDED", ROUTE("b", "11")), NULL}};
    f->sim.n_watches = 4;
    fx_start(f);
    wait_watches(f, 5);
    struct kgc_informer_stats st;
    kgc_informer_stats(f->inf, &st);
    assert_int_equal(st.backoffs, 3); /* the watch with an event was healthy */
    assert_string_equal(f->sim.watch_rv[4], "11");
    fx_free(f);
}

/* A watch that fails (short and empty) backs off, then resumes; when that resume finds the
 * history expired the informer lists at once: the wait already happened, and a second backoff
 * would double the catch-up after a storm of cuts and compactions (client-go lists after its one
 * backoff). An Expired right after a list still backs off (no list/watch loop). */
static void test_expired_resume_after_backoff_lists_at_once(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->opts.min_watch_ns = 10 * KGC_NS_PER_S; /* every watch here is short */
    f->sim.lists[0] = (struct list_version){{ROUTE("a", "1")}, "10"};
    f->sim.lists[1] = (struct list_version){{ROUTE("a", "1"), ROUTE("b", "25")}, "30"};
    f->sim.lists[2] = (struct list_version){{ROUTE("a", "1"), ROUTE("b", "25")}, "40"};
    f->sim.n_lists = 3;
    f->sim.watches[0] = (struct watch_script){{NULL}};          /* short and empty: back off */
    f->sim.watches[1] = (struct watch_script){{EXPIRED, NULL}}; /* the resume: list at once */
    f->sim.watches[2] = (struct watch_script){{EXPIRED, NULL}}; /* right after a list: back off */
    f->sim.watches[3] = (struct watch_script){{EVENT("ADDED", ROUTE("c", "41")), NULL}};
    f->sim.n_watches = 4;
    fx_start(f);
    wait_watches(f, 5);
    struct kgc_informer_stats st;
    kgc_informer_stats(f->inf, &st);
    assert_int_equal(st.lists, 3);
    assert_int_equal(st.backoffs, 2); /* the empty watch and the Expired after a list */
    assert_string_equal(f->sim.watch_rv[1], "10");
    assert_string_equal(f->sim.watch_rv[2], "30");
    assert_string_equal(rv_of(f, "b"), "25");
    fx_free(f);
}

static void test_oversized_event_relists(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->kopts.watch_event_max_bytes = 2048;
    char big[8192];
    char pad[4096];
    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    snprintf(big, sizeof(big),
             "{\"metadata\":{\"name\":\"big\",\"namespace\":\"apps\",\"resourceVersion\":\"11\","
             "\"annotations\":{\"pad\":\"%s\"}}}",
             pad);
    char *event = NULL;
    assert_true(asprintf(&event, "{\"type\":\"ADDED\",\"object\":%s}\n", big) > 0);
    f->sim.lists[0] = (struct list_version){{ROUTE("a", "1")}, "10"};
    f->sim.lists[1] = (struct list_version){{ROUTE("a", "1"), big}, "11"};
    f->sim.n_lists = 2;
    f->sim.watches[0] = (struct watch_script){{event, NULL}};
    f->sim.n_watches = 1;
    fx_start(f);
    wait_watches(f, 2);
    /* no crash: the watch failed, a list (which has its own, larger cap) brought the object */
    assert_string_equal(rv_of(f, "big"), "11");
    struct kgc_informer_stats st;
    kgc_informer_stats(f->inf, &st);
    assert_int_equal(st.lists, 2);
    assert_int_equal(st.watch_errors, 1);
    assert_string_equal(f->sim.watch_rv[1], "11");
    fx_free(f);
    free(event);
}

/* GRPCRoute's CRD absent (404 to the list): the kind is synced and empty at once, the list is
 * retried with backoff (not counted as a list error), and the objects come once it is served.
 * A kind that is not optional (HTTPRoute) never syncs on a 404. */
static void test_optional_kind_absent_then_installed(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->grpc = true;
    f->opts.not_served_retry_ns = 50 * KGC_NS_PER_MS;
    f->sim.lists[0] = (struct list_version){{ROUTE("a", "1")}, "10"};
    f->sim.n_lists = 1;
    for (int i = 0; i < 3; i++)
        f->sim.list_fail[i] = 404;
    f->sim.n_list_fail = 3;
    fx_start(f);
    struct kgc_informer *infs[] = {f->inf};
    assert_int_equal(kgc_informer_wait_synced(infs, 1, 5 * KGC_NS_PER_S), 0);
    wait_watches(f, 1); /* the fourth list is served, then the watch */
    const struct kgc_api_obj *o = kgc_cache_get(f->cache, KGC_API_GRPCROUTE, "apps", "a");
    assert_non_null(o);
    kgc_api_obj_unref(o);
    struct kgc_informer_stats st;
    kgc_informer_stats(f->inf, &st);
    assert_int_equal(st.list_errors, 0);
    assert_int_equal(st.lists, 1);
    assert_true(f->sim.list_requests >= 4);
    fx_free(f);

    f = fx_new();
    f->sim.lists[0] = (struct list_version){{NULL}, "1"};
    f->sim.n_lists = 1;
    f->sim.fail_every_list = 404;
    fx_start(f);
    infs[0] = f->inf;
    assert_int_equal(kgc_informer_wait_synced(infs, 1, 200 * KGC_NS_PER_MS), KGC_ETIMEDOUT);
    fx_free(f);
}

static void test_wait_synced_times_out_and_stop_is_prompt(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->sim.lists[0] = (struct list_version){{NULL}, "1"};
    f->sim.n_lists = 1;
    f->sim.fail_every_list = 503;
    f->opts.backoff_initial_ns = 50 * KGC_NS_PER_MS;
    fx_start(f);
    struct kgc_informer *infs[] = {f->inf};
    assert_int_equal(kgc_informer_wait_synced(infs, 1, 200 * KGC_NS_PER_MS), KGC_ETIMEDOUT);
    assert_false(kgc_informer_has_synced(f->inf));
    kgc_informer_stop(f->inf);
    kgc_informer_stop(f->inf); /* idempotent */
    assert_int_equal(kgc_informer_wait_synced(infs, 1, 0), KGC_ESHUTDOWN);
    fx_free(f);

    /* stopping while the informer sits in a quiet watch: the watch is cancelled */
    f = fx_new();
    f->sim.lists[0] = (struct list_version){{ROUTE("a", "1")}, "10"};
    f->sim.n_lists = 1;
    fx_start(f);
    wait_watches(f, 1);
    kgc_informer_stop(f->inf);
    struct kgc_informer_stats st;
    kgc_informer_stats(f->inf, &st);
    assert_int_equal(st.watches, 1);
    fx_free(f);
}

static void test_resync_redelivers_every_object(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->opts.resync_ns = 50 * KGC_NS_PER_MS;
    f->sim.lists[0] = (struct list_version){{ROUTE("a", "1"), ROUTE("b", "2")}, "10"};
    f->sim.n_lists = 1;
    /* quiet watches that end after a while (as timeoutSeconds makes a real server do) */
    for (int i = 0; i < MAX_SCRIPT; i++)
        f->sim.watches[i] = (struct watch_script){{"", NULL}, .delay_ms = 100};
    f->sim.n_watches = MAX_SCRIPT;
    fx_start(f);
    wait_watches(f, 4);
    kgc_informer_stop(f->inf);
    struct kgc_informer_stats st;
    kgc_informer_stats(f->inf, &st);
    assert_true(st.resyncs >= 1);
    assert_true(logged(f, "resync a 1->1"));
    assert_true(logged(f, "resync b 2->2"));
    /* a resync caps the server-side watch timeout at the time left until it */
    char q[32];
    struct peer_request r = peer_get(f->peer, peer_count(f->peer) - 1);
    assert_string_equal(query_param(r.query, "timeoutSeconds", q, sizeof(q)), "1");
    assert_int_equal(st.lists, 1);
    fx_free(f);
}

static void test_watch_namespace(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->opts.namespace = "apps";
    f->sim.lists[0] = (struct list_version){{ROUTE("a", "1")}, "10"};
    f->sim.n_lists = 1;
    fx_start(f);
    wait_watches(f, 1);
    assert_string_equal(f->sim.last_path,
                        "/apis/gateway.networking.k8s.io/v1/namespaces/apps/httproutes");
    assert_int_equal(kgc_informer_kind(f->inf), KGC_API_HTTPROUTE);
    fx_free(f);
}

/* A list page over the response cap is asked for again in smaller pages: the list succeeds. */
static void test_page_too_large_shrinks_pages(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->opts.page_size = 4;
    f->kopts.response_max_bytes = 420; /* two routes per page fit, four do not */
    f->sim.lists[0] = (struct list_version){
        {ROUTE("a", "1"), ROUTE("b", "2"), ROUTE("c", "3"), ROUTE("d", "4"), ROUTE("e", "5")},
        "10"};
    f->sim.n_lists = 1;
    fx_start(f);
    struct kgc_informer *infs[] = {f->inf};
    assert_int_equal(kgc_informer_wait_synced(infs, 1, 10 * KGC_NS_PER_S), 0);
    assert_string_equal(rv_of(f, "a"), "1");
    assert_string_equal(rv_of(f, "e"), "5");
    struct kgc_informer_stats st;
    kgc_informer_stats(f->inf, &st);
    assert_int_equal(st.list_errors, 0);
    assert_true(st.page_shrinks >= 1);
    char q[64];
    assert_string_equal(query_param(f->sim.list_query[0], "limit", q, sizeof(q)), "4");
    assert_string_equal(query_param(f->sim.list_query[1], "limit", q, sizeof(q)), "2");
    fx_free(f);
}

#define SECRET(name, rv)                                                                           \
    "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"apps\",\"resourceVersion\":\"" rv        \
    "\"},\"type\":\"kubernetes.io/tls\",\"data\":{\"tls.crt\":\"eA==\",\"tls.key\":\"eA==\"}}"

/* Secrets: list and watch only type kubernetes.io/tls, in pages of secret_page_size. */
static void test_secrets_field_selector_and_pages(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->secrets = true;
    f->opts.page_size = 500;
    f->sim.lists[0] = (struct list_version){{SECRET("s1", "1"), SECRET("s2", "2")}, "10"};
    f->sim.n_lists = 1;
    fx_start(f);
    wait_watches(f, 1);
    char q[64];
    assert_string_equal(query_param(f->sim.list_query[0], "fieldSelector", q, sizeof(q)),
                        KGC_INFORMER_SECRET_FIELD_SELECTOR);
    assert_string_equal(query_param(f->sim.list_query[0], "limit", q, sizeof(q)), "10");
    struct peer_request r = peer_get(f->peer, peer_count(f->peer) - 1);
    assert_string_equal(query_param(r.query, "watch", q, sizeof(q)), "1");
    assert_string_equal(query_param(r.query, "fieldSelector", q, sizeof(q)),
                        KGC_INFORMER_SECRET_FIELD_SELECTOR);
    const struct kgc_api_obj *o = kgc_cache_get(f->cache, KGC_API_SECRET, "apps", "s2");
    assert_non_null(o);
    kgc_api_obj_unref(o);
    fx_free(f);
}

/* An optional kind whose list answers 404 (no CRD) or 403: synced and empty at once, no watch,
 * listed again every not_served_retry_ns; once the list is served, its objects arrive and it
 * watches. A kind that is not optional keeps failing its list (not synced). */
static void test_optional_kind_not_served(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->plugins = true;
    f->opts.not_served_retry_ns = 5 * KGC_NS_PER_MS;
    f->sim.lists[0] = (struct list_version){
        {"{\"metadata\":{\"name\":\"p\",\"namespace\":\"apps\",\"resourceVersion\":\"3\","
         "\"generation\":1},\"plugin\":\"cors\",\"config\":{\"origins\":[\"*\"]}}"},
        "10"};
    f->sim.n_lists = 1;
    for (int i = 0; i < 4; i++)
        f->sim.list_fail[i] = i == 2 ? 403 : 404; /* RBAC without the kind: the same */
    f->sim.n_list_fail = 4;
    fx_start(f);
    struct kgc_informer *infs[1] = {f->inf};
    assert_int_equal(kgc_informer_wait_synced(infs, 1, 5 * KGC_NS_PER_S), 0);
    wait_watches(f, 1);
    const struct kgc_api_obj *o = kgc_cache_get(f->cache, KGC_API_KONGPLUGIN, "apps", "p");
    assert_non_null(o);
    assert_string_equal(kgc_api_as_kongplugin(o)->plugin, "cors");
    assert_string_equal(kgc_api_as_kongplugin(o)->config, "{\"origins\":[\"*\"]}");
    kgc_api_obj_unref(o);
    assert_int_equal(f->sim.list_requests, 5); /* four 404s, then the list */
    struct kgc_informer_stats st;
    kgc_informer_stats(f->inf, &st);
    assert_int_equal(st.list_errors, 0);
    assert_int_equal(st.lists, 1); /* a 404 is neither a list nor a list error */
    fx_free(f);

    f = fx_new(); /* HTTPRoutes are not optional: a 404 is a failed list */
    f->sim.fail_every_list = 404;
    fx_start(f);
    infs[0] = f->inf;
    assert_int_equal(kgc_informer_wait_synced(infs, 1, 100 * KGC_NS_PER_MS), KGC_ETIMEDOUT);
    fx_free(f);
}

/* BackendTLSPolicy's CRD is not installed (404): the informer counts as synced with nothing
 * stored, keeps listing every not_served_retry_ns, and stores the objects once the CRD is served.
 */
static void test_optional_kind_without_crd(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->policies = true;
    f->opts.not_served_retry_ns = 200 * KGC_NS_PER_MS;
    f->sim.lists[0] = (struct list_version){
        {"{\"metadata\":{\"name\":\"p\",\"namespace\":\"apps\",\"resourceVersion\":\"5\"},"
         "\"spec\":{\"validation\":{\"hostname\":\"a.example.com\"}}}"},
        "10"};
    f->sim.n_lists = 1;
    for (int i = 0; i < 4; i++)
        f->sim.list_fail[i] = 404;
    f->sim.n_list_fail = 4;
    fx_start(f);
    struct kgc_informer *infs[] = {f->inf};
    assert_int_equal(kgc_informer_wait_synced(infs, 1, 5 * KGC_NS_PER_S), 0);
    pthread_mutex_lock(&f->sim.mu);
    int served = f->sim.full_lists; /* synced on the first 404, ~800 ms before any list */
    pthread_mutex_unlock(&f->sim.mu);
    assert_int_equal(served, 0);
    /* the CRD appears: the next list stores the policy */
    wait_watches(f, 1);
    const struct kgc_api_obj *o = kgc_cache_get(f->cache, KGC_API_BACKENDTLSPOLICY, "apps", "p");
    assert_non_null(o);
    kgc_api_obj_unref(o);
    struct kgc_informer_stats st;
    kgc_informer_stats(f->inf, &st);
    assert_int_equal(st.list_errors, 0); /* a missing CRD is not a failing list */
    assert_int_equal(st.lists, 1);
    fx_free(f);
}

int main(void)
{
    kgc_log_setup(KGC_LOG_OFF, KGC_LOG_TEXT, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_then_watch_applies_events),
        cmocka_unit_test(test_expired_relists_with_synthetic_deletes),
        cmocka_unit_test(test_resume_after_cut_without_duplicates),
        cmocka_unit_test(test_http_errors_back_off_and_recover),
        cmocka_unit_test(test_short_empty_watches_back_off),
        cmocka_unit_test(test_expired_resume_after_backoff_lists_at_once),
        cmocka_unit_test(test_oversized_event_relists),
        cmocka_unit_test(test_wait_synced_times_out_and_stop_is_prompt),
        cmocka_unit_test(test_optional_kind_absent_then_installed),
        cmocka_unit_test(test_resync_redelivers_every_object),
        cmocka_unit_test(test_watch_namespace),
        cmocka_unit_test(test_page_too_large_shrinks_pages),
        cmocka_unit_test(test_secrets_field_selector_and_pages),
        cmocka_unit_test(test_optional_kind_not_served),
        cmocka_unit_test(test_optional_kind_without_crd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

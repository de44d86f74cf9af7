/* The three controllers. Handlers (informer threads) and Kong events (prober threads) only
 * enqueue keys; workers compute and write. Keys: GatewayClass "name", others "ns/name". */
#include "kgc/reconcile.h"

#include "kgc/log.h"
#include "kgc/strmap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMPONENT "reconcile"
#define KEY_MAX   512

/* The start-up window in which a Gateway waiting only for Kong's first acceptance is not written
 * (kgc_reconcile_options.push_expected), and how often a held Gateway is looked at again when no
 * PROGRAMMED announcement comes. At 1k Gateways and 10k routes the first push (10.9 MB) lands
 * 3-5 s after the workers start on this project's loaded 2-core bench machine, the test Kong's
 * validation being most of it (docs/benchmarks.md): 10 s leaves room; a silent Kong delays the
 * first status (Pending) by that much, never longer. */
#define KGC_RECONCILE_STARTUP_HOLD_NS (10 * KGC_NS_PER_S)
#define HOLD_RECHECK_NS               (500 * KGC_NS_PER_MS)
/* The held Gateways are looked at again through one key of the Gateway queue, not one timer per
 * Gateway: what can end a hold with nothing else happening is time (the window's end) and the
 * syncer's answer (push_expected turning false: a push failed or Kong went down), both the same
 * for every Gateway, so one re-check every 500 ms asks them and re-queues every Gateway when
 * they changed. Everything else a hold depends on re-queues the Gateway by itself (its own
 * changes, the listener view, PROGRAMMED, the leadership). At 1k Gateways the per-Gateway
 * re-check was ~1,000 status computations every 500 ms while the first push was on its way.
 * No Kubernetes key starts with a control character. */
static const char HOLD_TICK_KEY[] = "\001startup-hold";

static const char *const controller_names[] = {
    "gatewayclass",     "gateway",     "httproute", "grpcroute", "kongplugin",
    "backendtlspolicy", "listenerset", "tlsroute",  "tcproute",  "udproute"};
static const enum kgc_api_kind controller_kinds[] = {
    KGC_API_GATEWAYCLASS, KGC_API_GATEWAY,          KGC_API_HTTPROUTE,   KGC_API_GRPCROUTE,
    KGC_API_KONGPLUGIN,   KGC_API_BACKENDTLSPOLICY, KGC_API_LISTENERSET, KGC_API_TLSROUTE,
    KGC_API_TCPROUTE,     KGC_API_UDPROUTE};

/* The controller, and the cache indexes, of a route kind. */
static enum kgc_reconcile_controller route_controller(enum kgc_api_kind kind)
{
    switch (kind) {
    case KGC_API_GRPCROUTE:
        return KGC_RECONCILE_GRPCROUTE;
    case KGC_API_TLSROUTE:
        return KGC_RECONCILE_TLSROUTE;
    case KGC_API_TCPROUTE:
        return KGC_RECONCILE_TCPROUTE;
    case KGC_API_UDPROUTE:
        return KGC_RECONCILE_UDPROUTE;
    default:
        return KGC_RECONCILE_HTTPROUTE;
    }
}
static enum kgc_cache_index route_by_gateway(enum kgc_api_kind kind)
{
    switch (kind) {
    case KGC_API_GRPCROUTE:
        return KGC_CACHE_IDX_GRPCROUTE_BY_GATEWAY;
    case KGC_API_TLSROUTE:
        return KGC_CACHE_IDX_TLSROUTE_BY_GATEWAY;
    case KGC_API_TCPROUTE:
        return KGC_CACHE_IDX_TCPROUTE_BY_GATEWAY;
    case KGC_API_UDPROUTE:
        return KGC_CACHE_IDX_UDPROUTE_BY_GATEWAY;
    default:
        return KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY;
    }
}
static enum kgc_cache_index route_by_service(enum kgc_api_kind kind)
{
    return (enum kgc_cache_index)(route_by_gateway(kind) + 1); /* each kind's pair (kgc/cache.h) */
}
/* The stream route kinds (their controllers and indexes follow the HTTP kinds'). */
static const enum kgc_api_kind l4_kinds[] = {KGC_API_TLSROUTE, KGC_API_TCPROUTE, KGC_API_UDPROUTE};
#define N_L4_KINDS (sizeof(l4_kinds) / sizeof(l4_kinds[0]))

struct worker {
    struct kgc_reconcile *r;
    enum kgc_reconcile_controller c;
    pthread_t thread;
    bool started;
};

struct kgc_reconcile {
    struct kgc_reconcile_options o;
    char *controller_name;
    char *publish_ns, *publish_name;
    struct kgc_cache *cache;
    struct kgc_k8s_client *client;
    struct kgc_listenercache *lc;
    struct kgc_status_lookup lookup;
    struct kgc_workqueue *queues[KGC_RECONCILE_CONTROLLER_COUNT];
    struct worker *workers;
    size_t n_workers;
    bool leader;            /* atomic */
    uint64_t hold_until_ns; /* atomic: the start-up window's end (push_expected) */
    bool hold_tick_armed;   /* atomic: HOLD_TICK_KEY is in the Gateway queue (or running) */
    bool stopping; /* atomic: workers hand back what is still queued without processing it */
    pthread_mutex_t stats_lock;
    struct kgc_reconcile_stats stats[KGC_RECONCILE_CONTROLLER_COUNT];
    /* The last status patch written per key, with the resourceVersion it was computed from:
     * the same patch against the same object is not sent again (a key re-queued before the
     * watch brings back kgc's own write would otherwise repeat it); and the resourceVersion the
     * API server answered, which names the watch event that is that write coming back
     * (own_write). Guarded by written_lock. */
    pthread_mutex_t written_lock;
    struct kgc_strmap written[KGC_RECONCILE_CONTROLLER_COUNT]; /* key → struct written */
};

/* One per object kgc wrote the status of (11k at 1k Gateways / 10k routes: one block each, sized
 * to its strings: ~64 B of heap where two fixed 32-byte resourceVersions took ~112). */
struct written {
    uint64_t patch_hash;
    uint16_t rv_at, answered_at; /* offsets in text */
    /* the map's key (borrowed by the map), NUL, the object's resourceVersion that the patch
     * carried (the write's precondition), NUL, the object's after the write ("": not known) */
    char text[];
};

#define WRITTEN_RV_MAX 64 /* a longer resourceVersion is not remembered (a write is then sent) */

static const char *written_rv(const struct written *w)
{
    return w->text + w->rv_at;
}

static const char *written_answered(const struct written *w)
{
    return w->text + w->answered_at;
}

void kgc_reconcile_options_default(struct kgc_reconcile_options *o)
{
    memset(o, 0, sizeof(*o));
    o->controller_name = KGC_STATUS_DEFAULT_CONTROLLER;
    o->workers[KGC_RECONCILE_GATEWAYCLASS] = 1;
    o->workers[KGC_RECONCILE_GATEWAY] = 4;
    o->workers[KGC_RECONCILE_HTTPROUTE] = 4;
    o->workers[KGC_RECONCILE_GRPCROUTE] = 2;
    o->workers[KGC_RECONCILE_KONGPLUGIN] = 1;
    o->workers[KGC_RECONCILE_BACKENDTLSPOLICY] = 1;
    o->workers[KGC_RECONCILE_LISTENERSET] = 1;
    o->workers[KGC_RECONCILE_TLSROUTE] = 1;
    o->workers[KGC_RECONCILE_TCPROUTE] = 1;
    o->workers[KGC_RECONCILE_UDPROUTE] = 1;
    o->requeue_on_kong_ready = true;
    o->startup_hold_ns = KGC_RECONCILE_STARTUP_HOLD_NS;
    kgc_workqueue_ratelimit_default(&o->rate_limit);
}

/* --- the cache as a status lookup ------------------------------------------------------------- */

static const struct kgc_api_obj *lookup_get(void *ctx, enum kgc_api_kind kind, const char *ns,
                                            const char *name)
{
    return kgc_cache_get(ctx, kind, ns, name);
}

/* Visits list (rc: how it was filled) with fn until fn returns false, then releases it. */
static void visit_list(int rc, struct kgc_cache_list *list, kgc_status_visit_fn fn, void *fnctx)
{
    if (rc != 0)
        return;
    for (size_t i = 0; i < list->n; i++)
        if (!fn(list->items[i], fnctx))
            break;
    kgc_cache_list_release(list);
}

static void lookup_foreach(void *ctx, enum kgc_api_kind kind, const char *ns,
                           kgc_status_visit_fn fn, void *fnctx)
{
    struct kgc_cache_list list = {0};
    visit_list(kgc_cache_list(ctx, kind, ns, &list), &list, fn, fnctx);
}

/* The status computations only count and test what they visit (attachedRoutes, grants), so the
 * controllers' own lookup skips the sort: at 1k Gateways and 10k routes, sorting every route for
 * every Gateway reconcile took about half of kgc's CPU during the initial sync. The translator
 * keeps the sorted lookup (its output order must be stable). */
static void lookup_foreach_unsorted(void *ctx, enum kgc_api_kind kind, const char *ns,
                                    kgc_status_visit_fn fn, void *fnctx)
{
    struct kgc_cache_list list = {0};
    visit_list(kgc_cache_list_unsorted(ctx, kind, ns, &list), &list, fn, fnctx);
}

/* The routes naming a Gateway as parent, from the cache's route-by-Gateway index. */
static void lookup_routes_of_gateway(void *ctx, enum kgc_api_kind kind, const char *gw_ns,
                                     const char *gw_name, kgc_status_visit_fn fn, void *fnctx)
{
    char key[512];
    if (snprintf(key, sizeof(key), "%s/%s", gw_ns ? gw_ns : "", gw_name ? gw_name : "") >=
        (int)sizeof(key))
        return;
    struct kgc_cache_list list = {0};
    visit_list(kgc_cache_by_index(ctx, route_by_gateway(kind), key, &list), &list, fn, fnctx);
}

void kgc_reconcile_cache_lookup(struct kgc_cache *cache, struct kgc_status_lookup *out)
{
    out->get = lookup_get;
    out->foreach = lookup_foreach;
    out->foreach_route_of_gateway = lookup_routes_of_gateway;
    out->ctx = cache;
}

/* --- enqueueing ------------------------------------------------------------------------------- */

static void enqueue(struct kgc_reconcile *r, enum kgc_reconcile_controller c, const char *key)
{
    if (kgc_workqueue_add(r->queues[c], key) != 0)
        kgc_error(COMPONENT, "out of memory queueing a key", KGC_F_STR("key", key));
}

static void enqueue_ns_name(struct kgc_reconcile *r, enum kgc_reconcile_controller c,
                            const char *ns, const char *name)
{
    char key[KEY_MAX];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    enqueue(r, c, key);
}

static void enqueue_list(struct kgc_reconcile *r, enum kgc_reconcile_controller c,
                         struct kgc_cache_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        enqueue(r, c, list->items[i]->meta.key);
    kgc_cache_list_release(list);
}

static void enqueue_kind(struct kgc_reconcile *r, enum kgc_reconcile_controller c, const char *ns)
{
    struct kgc_cache_list list = {0};
    if (c == KGC_RECONCILE_KONGPLUGIN && !r->o.plugin_status)
        return; /* plugin statuses are not written */
    if (kgc_cache_list(r->cache, controller_kinds[c], ns, &list) == 0)
        enqueue_list(r, c, &list);
    if (c == KGC_RECONCILE_KONGPLUGIN && !ns) { /* the cluster-scoped kind shares the queue */
        struct kgc_cache_list cl = {0};
        if (kgc_cache_list(r->cache, KGC_API_KONGCLUSTERPLUGIN, NULL, &cl) == 0)
            enqueue_list(r, c, &cl);
    }
}

static void enqueue_by_index(struct kgc_reconcile *r, enum kgc_reconcile_controller c,
                             enum kgc_cache_index idx, const char *value)
{
    struct kgc_cache_list list = {0};
    if (kgc_cache_by_index(r->cache, idx, value, &list) == 0)
        enqueue_list(r, c, &list);
}

/* The BackendTLSPolicies targeting a backend Service of the route (their ancestors follow the
 * routes that use their Services). */
static void enqueue_route_policies(struct kgc_reconcile *r, const struct kgc_api_httproute *rt)
{
    char key[KEY_MAX];
    for (uint32_t i = 0; rt && i < rt->n_rules; i++) {
        for (uint32_t k = 0; k < rt->rules[i].n_backend_refs; k++) {
            const struct kgc_api_backend_ref *b = &rt->rules[i].backend_refs[k];
            if (!b->name || (b->group && b->group[0]) ||
                (b->kind && strcmp(b->kind, "Service") != 0))
                continue;
            snprintf(key, sizeof(key), "%s/%s",
                     b->namespace ? b->namespace : rt->obj.meta.namespace, b->name);
            enqueue_by_index(r, KGC_RECONCILE_BACKENDTLSPOLICY,
                             KGC_CACHE_IDX_BACKENDTLSPOLICY_BY_SERVICE, key);
        }
    }
}

/* The other policies on the same Services (a conflict's loser changes with the winner). */
static void enqueue_policy_neighbours(struct kgc_reconcile *r,
                                      const struct kgc_api_backendtlspolicy *p)
{
    char key[KEY_MAX];
    for (uint32_t i = 0; p && i < p->n_target_refs; i++) {
        if (!p->target_refs[i].name)
            continue;
        snprintf(key, sizeof(key), "%s/%s", p->obj.meta.namespace, p->target_refs[i].name);
        enqueue_by_index(r, KGC_RECONCILE_BACKENDTLSPOLICY,
                         KGC_CACHE_IDX_BACKENDTLSPOLICY_BY_SERVICE, key);
    }
}

/* The ListenerSets naming Gateway gw_key ("ns/name") as parent, and their routes (the set's
 * status and its routes' follow the Gateway's). ListenerSets are few: the kind is listed. */
static void enqueue_sets_of_gateway(struct kgc_reconcile *r, const char *gw_key)
{
    struct kgc_cache_list list = {0};
    if (kgc_cache_list(r->cache, KGC_API_LISTENERSET, NULL, &list) != 0)
        return;
    char key[KEY_MAX];
    for (size_t i = 0; i < list.n; i++) {
        const struct kgc_api_listenerset *s = kgc_api_as_listenerset(list.items[i]);
        if (!s || !s->parent_ref.name)
            continue;
        snprintf(key, sizeof(key), "%s/%s",
                 s->parent_ref.namespace ? s->parent_ref.namespace : s->obj.meta.namespace,
                 s->parent_ref.name);
        if (strcmp(key, gw_key) != 0)
            continue;
        enqueue(r, KGC_RECONCILE_LISTENERSET, s->obj.meta.key);
        enqueue_by_index(r, KGC_RECONCILE_HTTPROUTE, KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY,
                         s->obj.meta.key);
        enqueue_by_index(r, KGC_RECONCILE_GRPCROUTE, KGC_CACHE_IDX_GRPCROUTE_BY_GATEWAY,
                         s->obj.meta.key);
    }
    kgc_cache_list_release(&list);
}

/* The Gateways a route names in its parentRefs (attachedRoutes change with it), and the routes
 * of the other kind on those Gateways (an HTTPRoute and a GRPCRoute sharing a hostname on a
 * listener: which one is accepted depends on both). */
static void enqueue_route_parents(struct kgc_reconcile *r, const struct kgc_api_httproute *rt)
{
    if (!rt)
        return;
    bool l4 = kgc_api_is_l4_route_kind(rt->obj.kind); /* no rule between kinds for these */
    enum kgc_api_kind other =
        rt->obj.kind == KGC_API_GRPCROUTE ? KGC_API_HTTPROUTE : KGC_API_GRPCROUTE;
    for (uint32_t i = 0; i < rt->n_parent_refs; i++) {
        const struct kgc_api_parent_ref *p = &rt->parent_refs[i];
        if (p->group && strcmp(p->group, KGC_STATUS_GROUP) != 0)
            continue;
        if (!p->name)
            continue;
        const char *ns = p->namespace ? p->namespace : rt->obj.meta.namespace;
        if (p->kind && strcmp(p->kind, "ListenerSet") == 0) {
            enqueue_ns_name(r, KGC_RECONCILE_LISTENERSET, ns, p->name); /* attachedRoutes */
            continue;
        }
        if (p->kind && strcmp(p->kind, "Gateway") != 0)
            continue;
        enqueue_ns_name(r, KGC_RECONCILE_GATEWAY, ns, p->name);
        char key[512];
        if (!l4 && snprintf(key, sizeof(key), "%s/%s", ns, p->name) < (int)sizeof(key))
            enqueue_by_index(r, route_controller(other), route_by_gateway(other), key);
    }
}

static bool is_publish_service(const struct kgc_reconcile *r, const struct kgc_api_obj *o)
{
    return r->publish_ns && o && strcmp(o->meta.namespace, r->publish_ns) == 0 &&
           strcmp(o->meta.name, r->publish_name) == 0;
}

/* One handler for every kind: what a change of this object can alter, re-queued. */
static void forget_written(struct kgc_reconcile *r, enum kgc_reconcile_controller c,
                           const char *key);

/* An update of a Gateway API object that keeps its generation (the API server raises it on
 * every change outside metadata and status), labels, annotations and deletion timestamp: a
 * status write (kgc's own, mostly). No status computation reads a Gateway's status (only its own
 * patch merges with it), so such a Gateway update re-queues no route: at start-up the 1,000
 * Gateway writes used to re-queue their 10,000 routes. */
static bool status_only(const struct kgc_api_obj *old_obj, const struct kgc_api_obj *new_obj)
{
    if (!old_obj || !new_obj)
        return false;
    const struct kgc_api_meta *a = &old_obj->meta, *b = &new_obj->meta;
    return a->generation > 0 && a->generation == b->generation &&
           kgc_api_str_equal(a->deletion_timestamp, b->deletion_timestamp) &&
           kgc_api_kvs_equal(a->labels, a->n_labels, b->labels, b->n_labels) &&
           kgc_api_kvs_equal(a->annotations, a->n_annotations, b->annotations, b->n_annotations);
}

/* A route update that changes only what no other object's status reads: status_only, and the
 * same verdict of ours in its status (the one part of a route's
 * status a Gateway's attachedRoutes or another route's status reads while the translator's
 * verdict is pending: kgc_status_route_same_written_verdict). Such an update is, mostly, kgc's
 * own status write coming back: at start-up 10,000 route writes used to re-queue their Gateways
 * 10,000 times. The route itself is still re-queued (a status someone else overwrote is put
 * back). The syncer's test for the configuration is the same idea (pkg/sync/changes.c). */
static bool route_status_only(const struct kgc_reconcile *r, const struct kgc_api_obj *old_obj,
                              const struct kgc_api_obj *new_obj)
{
    if (!status_only(old_obj, new_obj))
        return false;
    struct kgc_status_options so;
    kgc_status_options_default(&so);
    so.controller_name = r->controller_name;
    return kgc_status_route_same_written_verdict(&so, kgc_api_as_route(old_obj),
                                                 kgc_api_as_route(new_obj));
}

/* Whether old_obj → new_obj is exactly kgc's own status write of controller c coming back
 * through the watch: old_obj at the resourceVersion the written patch was computed from and
 * carried (the API server applies it only to that version, else 409), new_obj at the one the
 * server answered, and only status between them. Its status is then what kgc computed from
 * old_obj, so reconciling it again computes the same and writes nothing: at start-up that was
 * 11,000 reconciles (a route's status and its patch, a Gateway's) for nothing. Anything else
 * that changed meanwhile is a different event (another resourceVersion) and re-queues as usual;
 * a relist that jumps over versions is not skipped (old_obj is then at another version). */
static bool own_write(struct kgc_reconcile *r, enum kgc_reconcile_controller c,
                      const struct kgc_api_obj *old_obj, const struct kgc_api_obj *new_obj)
{
    if (!status_only(old_obj, new_obj) || !old_obj->meta.resource_version ||
        !new_obj->meta.resource_version)
        return false;
    pthread_mutex_lock(&r->written_lock);
    const struct written *w = kgc_strmap_get(&r->written[c], new_obj->meta.key);
    bool own = w && written_answered(w)[0] &&
               strcmp(written_answered(w), new_obj->meta.resource_version) == 0 &&
               strcmp(written_rv(w), old_obj->meta.resource_version) == 0;
    pthread_mutex_unlock(&r->written_lock);
    return own;
}

static void on_change(enum kgc_api_kind kind, const struct kgc_api_obj *old_obj,
                      const struct kgc_api_obj *new_obj, void *ctx)
{
    struct kgc_reconcile *r = ctx;
    const struct kgc_api_obj *o = new_obj ? new_obj : old_obj;
    if (!o)
        return;
    if (!new_obj) {
        for (int c = 0; c < KGC_RECONCILE_CONTROLLER_COUNT; c++)
            if (controller_kinds[c] == kind)
                forget_written(r, (enum kgc_reconcile_controller)c, o->meta.key);
        if (kind == KGC_API_KONGCLUSTERPLUGIN)
            forget_written(r, KGC_RECONCILE_KONGPLUGIN, o->meta.key);
    }
    switch (kind) {
    case KGC_API_GATEWAYCLASS:
        enqueue(r, KGC_RECONCILE_GATEWAYCLASS, o->meta.key);
        enqueue_by_index(r, KGC_RECONCILE_GATEWAY, KGC_CACHE_IDX_GATEWAY_BY_CLASS, o->meta.name);
        break;
    case KGC_API_GATEWAY: {
        if (own_write(r, KGC_RECONCILE_GATEWAY, old_obj, new_obj))
            break;
        enqueue(r, KGC_RECONCILE_GATEWAY, o->meta.key);
        if (status_only(old_obj, new_obj))
            break;
        enqueue_by_index(r, KGC_RECONCILE_HTTPROUTE, KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY,
                         o->meta.key);
        enqueue_by_index(r, KGC_RECONCILE_GRPCROUTE, KGC_CACHE_IDX_GRPCROUTE_BY_GATEWAY,
                         o->meta.key);
        enqueue_sets_of_gateway(r, o->meta.key);
        for (size_t k = 0; k < N_L4_KINDS; k++)
            enqueue_by_index(r, route_controller(l4_kinds[k]), route_by_gateway(l4_kinds[k]),
                             o->meta.key);
        /* a Gateway created, deleted or changing class adds or removes policy ancestors;
         * policies are few (a status-only Gateway update writes nothing new: written[]) */
        if (!old_obj || !new_obj ||
            strcmp(kgc_api_as_gateway(old_obj)->gateway_class_name
                       ? kgc_api_as_gateway(old_obj)->gateway_class_name
                       : "",
                   kgc_api_as_gateway(new_obj)->gateway_class_name
                       ? kgc_api_as_gateway(new_obj)->gateway_class_name
                       : "") != 0)
            enqueue_kind(r, KGC_RECONCILE_BACKENDTLSPOLICY, NULL);
        /* A class change of the Gateway: both classes' views of it change; nothing to queue for
         * the classes themselves (their status does not depend on Gateways). */
        break;
    }
    case KGC_API_HTTPROUTE:
    case KGC_API_GRPCROUTE:
    case KGC_API_TLSROUTE:
    case KGC_API_TCPROUTE:
    case KGC_API_UDPROUTE:
        /* its own write: its status is what kgc computed; the parents still follow a verdict
         * of ours that the write changed (route_status_only) */
        if (!own_write(r, route_controller(kind), old_obj, new_obj))
            enqueue(r, route_controller(kind), o->meta.key);
        if (route_status_only(r, old_obj, new_obj))
            break; /* kgc's own status write coming back, mostly: nothing else reads it */
        enqueue_route_parents(r, kgc_api_as_route(old_obj));
        enqueue_route_parents(r, kgc_api_as_route(new_obj));
        enqueue_route_policies(r, kgc_api_as_route(old_obj));
        enqueue_route_policies(r, kgc_api_as_route(new_obj));
        break;
    case KGC_API_BACKENDTLSPOLICY:
        enqueue(r, KGC_RECONCILE_BACKENDTLSPOLICY, o->meta.key);
        enqueue_policy_neighbours(r, kgc_api_as_backendtlspolicy(old_obj));
        enqueue_policy_neighbours(r, kgc_api_as_backendtlspolicy(new_obj));
        break;
    case KGC_API_LISTENERSET: {
        /* the set, its routes, its parent Gateway (merged listeners, attachedListenerSets) and,
         * through it, the Gateway's other sets (conflicts are judged across them) */
        enqueue(r, KGC_RECONCILE_LISTENERSET, o->meta.key);
        enqueue_by_index(r, KGC_RECONCILE_HTTPROUTE, KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY,
                         o->meta.key);
        enqueue_by_index(r, KGC_RECONCILE_GRPCROUTE, KGC_CACHE_IDX_GRPCROUTE_BY_GATEWAY,
                         o->meta.key);
        const struct kgc_api_listenerset *sets[2] = {kgc_api_as_listenerset(old_obj),
                                                     kgc_api_as_listenerset(new_obj)};
        char key[KEY_MAX];
        for (int k = 0; k < 2; k++) {
            if (!sets[k] || !sets[k]->parent_ref.name)
                continue;
            snprintf(key, sizeof(key), "%s/%s",
                     sets[k]->parent_ref.namespace ? sets[k]->parent_ref.namespace
                                                   : sets[k]->obj.meta.namespace,
                     sets[k]->parent_ref.name);
            enqueue(r, KGC_RECONCILE_GATEWAY, key);
            enqueue_sets_of_gateway(r, key);
        }
        break;
    }
    case KGC_API_CONFIGMAP:
        enqueue_by_index(r, KGC_RECONCILE_BACKENDTLSPOLICY,
                         KGC_CACHE_IDX_BACKENDTLSPOLICY_BY_CONFIGMAP, o->meta.key);
        break;
    case KGC_API_REFERENCEGRANT: {
        /* A grant lets objects in its from[] namespaces reach objects in its own namespace: the
         * Gateways and routes of those namespaces may change. Grants are few; be generous. */
        const struct kgc_api_referencegrant *g[2] = {kgc_api_as_referencegrant(old_obj),
                                                     kgc_api_as_referencegrant(new_obj)};
        for (int k = 0; k < 2; k++) {
            if (!g[k])
                continue;
            for (uint32_t i = 0; i < g[k]->n_from; i++) {
                const char *ns = g[k]->from[i].namespace;
                if (!ns)
                    continue;
                enqueue_kind(r, KGC_RECONCILE_GATEWAY, ns);
                enqueue_kind(r, KGC_RECONCILE_LISTENERSET, ns);
                enqueue_kind(r, KGC_RECONCILE_HTTPROUTE, ns);
                enqueue_kind(r, KGC_RECONCILE_GRPCROUTE, ns);
                for (size_t l = 0; l < N_L4_KINDS; l++)
                    enqueue_kind(r, route_controller(l4_kinds[l]), ns);
            }
        }
        break;
    }
    case KGC_API_SECRET:
        enqueue_by_index(r, KGC_RECONCILE_GATEWAY, KGC_CACHE_IDX_GATEWAY_BY_SECRET, o->meta.key);
        enqueue_kind(r, KGC_RECONCILE_LISTENERSET, NULL); /* few; certificateRefs unindexed */
        break;
    case KGC_API_SERVICE:
        enqueue_by_index(r, KGC_RECONCILE_HTTPROUTE, KGC_CACHE_IDX_HTTPROUTE_BY_SERVICE,
                         o->meta.key);
        enqueue_by_index(r, KGC_RECONCILE_GRPCROUTE, KGC_CACHE_IDX_GRPCROUTE_BY_SERVICE,
                         o->meta.key);
        for (size_t k = 0; k < N_L4_KINDS; k++)
            enqueue_by_index(r, route_controller(l4_kinds[k]), route_by_service(l4_kinds[k]),
                             o->meta.key);
        enqueue_by_index(r, KGC_RECONCILE_BACKENDTLSPOLICY,
                         KGC_CACHE_IDX_BACKENDTLSPOLICY_BY_SERVICE, o->meta.key);
        if (is_publish_service(r, o))
            enqueue_kind(r, KGC_RECONCILE_GATEWAY, NULL); /* addresses and port mapping */
        break;
    case KGC_API_NAMESPACE:
        /* Labels feed allowedRoutes selectors: every Gateway may count routes differently and
         * the routes of this namespace may be allowed or refused. */
        if (old_obj && new_obj && old_obj->meta.n_labels == new_obj->meta.n_labels) {
            bool same = true;
            for (uint32_t i = 0; i < old_obj->meta.n_labels && same; i++)
                same = strcmp(old_obj->meta.labels[i].key, new_obj->meta.labels[i].key) == 0 &&
                       strcmp(old_obj->meta.labels[i].value, new_obj->meta.labels[i].value) == 0;
            if (same)
                break;
        }
        enqueue_kind(r, KGC_RECONCILE_GATEWAY, NULL);
        enqueue_kind(r, KGC_RECONCILE_LISTENERSET, NULL);
        enqueue_kind(r, KGC_RECONCILE_HTTPROUTE, o->meta.name);
        enqueue_kind(r, KGC_RECONCILE_GRPCROUTE, o->meta.name);
        for (size_t k = 0; k < N_L4_KINDS; k++)
            enqueue_kind(r, route_controller(l4_kinds[k]), o->meta.name);
        break;
    case KGC_API_KONGPLUGIN:
    case KGC_API_KONGCLUSTERPLUGIN:
        /* its own Programmed condition; the routes using it get the translator's verdict
         * (ROUTE_VERDICT) after the next translation */
        if (r->o.plugin_status)
            enqueue(r, KGC_RECONCILE_KONGPLUGIN, o->meta.key);
        break;
    case KGC_API_ENDPOINTSLICE: /* endpoints feed the Kong config, not status */
    default:
        break;
    }
}

/* The listener view changed (an instance became ready or not, restarted, changed listeners):
 * every Gateway's listeners are judged again. Runs on a prober thread, after the new view is in
 * place, so the workers read it. */
static void on_view_changed(void *ctx)
{
    struct kgc_reconcile *r = ctx;
    kgc_info(COMPONENT, "listener view changed: re-queueing every Gateway");
    enqueue_kind(r, KGC_RECONCILE_GATEWAY, NULL);
    enqueue_kind(r, KGC_RECONCILE_LISTENERSET, NULL);
}

void kgc_reconcile_on_sync_change(void *ctx, const struct kgc_sync_change *ch)
{
    struct kgc_reconcile *r = ctx;
    char key[2 * KGC_STATUS_NAME_MAX + 2];
    switch (ch->what) {
    case KGC_SYNC_CHANGE_PROGRAMMED:
        /* requeue_on_kong_ready=false is Kong's own controller's policy: Gateways waiting for a
         * data plane are only retried with backoff, not woken by the push that programs them. */
        if (r->o.requeue_on_kong_ready) {
            enqueue_kind(r, KGC_RECONCILE_GATEWAY, NULL);
            enqueue_kind(r, KGC_RECONCILE_LISTENERSET, NULL);
        }
        enqueue_kind(r, KGC_RECONCILE_KONGPLUGIN, NULL); /* Programmed follows Kong's answer */
        break;
    case KGC_SYNC_CHANGE_ROUTE_VERDICT:
        kgc_reconcile_enqueue_route(r, ch->kind, ch->ns, ch->name);
        break;
    case KGC_SYNC_CHANGE_REJECTED:
        /* a rejected route says so in its status; any other object (a Secret, a Service) may
         * change what the Gateways' listeners or counts say */
        if (kgc_api_is_route_kind(ch->kind)) {
            snprintf(key, sizeof(key), "%s/%s", ch->ns ? ch->ns : "", ch->name);
            enqueue(r, route_controller(ch->kind), key);
        } else if (ch->kind == KGC_API_KONGPLUGIN || ch->kind == KGC_API_KONGCLUSTERPLUGIN) {
            if (ch->kind == KGC_API_KONGPLUGIN)
                snprintf(key, sizeof(key), "%s/%s", ch->ns ? ch->ns : "", ch->name);
            else
                snprintf(key, sizeof(key), "%s", ch->name);
            if (r->o.plugin_status)
                enqueue(r, KGC_RECONCILE_KONGPLUGIN, key);
        } else {
            enqueue_kind(r, KGC_RECONCILE_GATEWAY, NULL);
            enqueue_kind(r, KGC_RECONCILE_LISTENERSET, NULL);
        }
        break;
    }
}

void kgc_reconcile_enqueue(struct kgc_reconcile *r, enum kgc_reconcile_controller c,
                           const char *key)
{
    enqueue(r, c, key);
}

void kgc_reconcile_enqueue_route(struct kgc_reconcile *r, enum kgc_api_kind kind, const char *ns,
                                 const char *name)
{
    if (!kgc_api_is_route_kind(kind))
        return;
    const struct kgc_api_obj *o = kgc_cache_get(r->cache, kind, ns, name);
    if (!o)
        return;
    enqueue(r, route_controller(kind), o->meta.key);
    enqueue_route_parents(r, kgc_api_as_route(o));
    kgc_api_obj_unref(o);
}

void kgc_reconcile_enqueue_every(struct kgc_reconcile *r, enum kgc_reconcile_controller c)
{
    enqueue_kind(r, c, NULL);
}

void kgc_reconcile_enqueue_all(struct kgc_reconcile *r)
{
    for (int c = 0; c < KGC_RECONCILE_CONTROLLER_COUNT; c++)
        enqueue_kind(r, (enum kgc_reconcile_controller)c, NULL);
}

/* --- reconciling ------------------------------------------------------------------------------ */

static void count(struct kgc_reconcile *r, enum kgc_reconcile_controller c, size_t field_offset)
{
    pthread_mutex_lock(&r->stats_lock);
    (*(uint64_t *)((char *)&r->stats[c] + field_offset))++;
    pthread_mutex_unlock(&r->stats_lock);
}

#define COUNT(r, c, field) count((r), (c), offsetof(struct kgc_reconcile_stats, field))

/* Splits "ns/name" (or "name") into its parts in buf. */
static void split_key(const char *key, char *buf, size_t size, const char **ns, const char **name)
{
    snprintf(buf, size, "%s", key);
    char *slash = strchr(buf, '/');
    if (slash) {
        *slash = '\0';
        *ns = buf;
        *name = slash + 1;
    } else {
        *ns = NULL;
        *name = buf;
    }
}

/* Whether patch (hash h) was already written for obj at its current resourceVersion. */
static bool already_written(struct kgc_reconcile *r, enum kgc_reconcile_controller c,
                            const struct kgc_api_obj *obj, uint64_t h)
{
    const char *rv = obj->meta.resource_version;
    if (!rv)
        return false;
    pthread_mutex_lock(&r->written_lock);
    const struct written *w = kgc_strmap_get(&r->written[c], obj->meta.key);
    bool same = w && w->patch_hash == h && strcmp(written_rv(w), rv) == 0;
    pthread_mutex_unlock(&r->written_lock);
    return same;
}

static void remember_written(struct kgc_reconcile *r, enum kgc_reconcile_controller c,
                             const struct kgc_api_obj *obj, uint64_t h, const char *answered_rv)
{
    const char *rv = obj->meta.resource_version, *key = obj->meta.key;
    size_t nk = strlen(key) + 1, nr = rv ? strlen(rv) + 1 : 0, na = strlen(answered_rv) + 1;
    if (na > WRITTEN_RV_MAX)
        na = 1; /* not known */
    struct written *w = NULL;
    if (rv && nr <= WRITTEN_RV_MAX && nk <= UINT16_MAX - 2 * WRITTEN_RV_MAX &&
        (w = malloc(sizeof(*w) + nk + nr + na))) {
        w->patch_hash = h;
        w->rv_at = (uint16_t)nk;
        w->answered_at = (uint16_t)(nk + nr);
        memcpy(w->text, key, nk);
        memcpy(w->text + nk, rv, nr);
        memcpy(w->text + nk + nr, answered_rv, na - 1);
        w->text[nk + nr + na - 1] = '\0';
    }
    /* no record (out of memory, an unusual resourceVersion): the next identical write is sent */
    pthread_mutex_lock(&r->written_lock);
    free(kgc_strmap_remove(&r->written[c], key));
    if (w && kgc_strmap_put(&r->written[c], w->text, w, NULL) != 0) {
        free(w);
        w = NULL;
    }
    pthread_mutex_unlock(&r->written_lock);
}

static void forget_written(struct kgc_reconcile *r, enum kgc_reconcile_controller c,
                           const char *key)
{
    pthread_mutex_lock(&r->written_lock);
    free(kgc_strmap_remove(&r->written[c], key));
    pthread_mutex_unlock(&r->written_lock);
}

/* Sends patch to obj's /status. Returns 0, or an error that means "retry". */
static int write_status(struct kgc_reconcile *r, enum kgc_reconcile_controller c,
                        const struct kgc_api_obj *obj, json_object *patch)
{
    if (!r->client)
        return 0;
    const char *text = json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN);
    uint64_t h = text ? kgc_strmap_hash(text, strlen(text)) : 0;
    if (text && already_written(r, c, obj, h)) {
        COUNT(r, c, unchanged);
        return 0;
    }
    const struct kgc_api_kind_info *ki = kgc_api_kind_info(obj->kind);
    struct kgc_k8s_resource res = {ki->group, ki->version, ki->plural, ki->namespaced};
    char path[1024];
    int rc = kgc_k8s_path(path, sizeof(path), &res, obj->meta.namespace, obj->meta.name, NULL);
    if (rc)
        return rc;
    struct kgc_k8s_status st = {0};
    struct kgc_err err = {0};
    COUNT(r, c, writes);
    char answered[32];
    rc = kgc_k8s_patch_status_rv(r->client, path, patch, answered, sizeof(answered), &st, &err);
    if (rc == 0 && text)
        remember_written(r, c, obj, h, answered);
    if (rc == KGC_ECONFLICT) {
        COUNT(r, c, write_conflicts);
        kgc_debug(COMPONENT, "status write conflict; retrying from the cache",
                  KGC_F_STR("controller", controller_names[c]), KGC_F_STR("key", obj->meta.key));
    } else if (rc == KGC_ENOENT) {
        rc = 0; /* deleted meanwhile: its delete event ends the story */
    } else if (rc) {
        kgc_warn(COMPONENT, "status write failed", KGC_F_STR("controller", controller_names[c]),
                 KGC_F_STR("key", obj->meta.key), KGC_F_STR("error", err.msg));
    }
    return rc;
}

static void fill_status_options(struct kgc_reconcile *r, struct kgc_status_options *so,
                                const struct kgc_listenercache_view *view)
{
    kgc_status_options_default(so);
    so->controller_name = r->controller_name;
    so->publish_service_namespace = r->publish_ns;
    so->publish_service_name = r->publish_name;
    so->publish_addresses = r->o.publish_addresses;
    so->n_publish_addresses = r->o.n_publish_addresses;
    so->view = view;
    so->programmed = r->o.programmed;
    so->programmed_ctx = r->o.programmed_ctx;
    so->route_verdict = r->o.route_verdict;
    so->route_verdict_ctx = r->o.route_verdict_ctx;
}

static void open_hold_window(struct kgc_reconcile *r)
{
    uint64_t until = r->o.startup_hold_ns ? kgc_clock_now(r->o.clock) + r->o.startup_hold_ns : 0;
    __atomic_store_n(&r->hold_until_ns, until, __ATOMIC_RELEASE);
}

/* How long to hold the write of Gateway status d (0: write it now). Held only in the start-up
 * window, when nothing but Kong is missing from it (d->kong_pending, Accepted=True, every listener
 * valid: a real failure is never held), the view is not CACHED (Kong is not known to be down) and
 * the syncer expects a push. */
static uint64_t hold_for(struct kgc_reconcile *r, const struct kgc_status_gateway *d,
                         const struct kgc_listenercache_view *view, bool leader)
{
    if (!leader || !r->o.push_expected || !d->kong_pending)
        return 0;
    if (view && view->source == KGC_LISTENERCACHE_CACHED)
        return 0;
    uint64_t until = __atomic_load_n(&r->hold_until_ns, __ATOMIC_ACQUIRE);
    uint64_t now = kgc_clock_now(r->o.clock);
    if (now >= until)
        return 0;
    if (d->n_conditions == 0 || strcmp(d->conditions[0].status, "True") != 0)
        return 0;
    for (uint32_t i = 0; i < d->n_listeners; i++)
        if (!d->listeners[i].valid)
            return 0;
    if (!r->o.push_expected(r->o.programmed_ctx))
        return 0;
    return until - now < HOLD_RECHECK_NS ? until - now : HOLD_RECHECK_NS;
}

/* Puts HOLD_TICK_KEY in the Gateway queue after delay_ns unless it is there already. */
static void arm_hold_tick(struct kgc_reconcile *r, uint64_t delay_ns)
{
    if (!__atomic_exchange_n(&r->hold_tick_armed, true, __ATOMIC_ACQ_REL) &&
        kgc_workqueue_add_after(r->queues[KGC_RECONCILE_GATEWAY], HOLD_TICK_KEY, delay_ns) != 0)
        __atomic_store_n(&r->hold_tick_armed, false, __ATOMIC_RELEASE);
}

/* The hold tick: while the window is open, kgc leads and the syncer still expects a push, the
 * held Gateways stay held (look again in 500 ms); otherwise every Gateway is re-queued, and
 * those held are written as they are now. */
static void hold_tick(struct kgc_reconcile *r)
{
    __atomic_store_n(&r->hold_tick_armed, false, __ATOMIC_RELEASE);
    if (!__atomic_load_n(&r->leader, __ATOMIC_ACQUIRE))
        return; /* nothing is written; becoming the leader re-queues every Gateway */
    uint64_t until = __atomic_load_n(&r->hold_until_ns, __ATOMIC_ACQUIRE);
    uint64_t now = kgc_clock_now(r->o.clock);
    if (now < until && r->o.push_expected && r->o.push_expected(r->o.programmed_ctx)) {
        arm_hold_tick(r, until - now < HOLD_RECHECK_NS ? until - now : HOLD_RECHECK_NS);
        return;
    }
    enqueue_kind(r, KGC_RECONCILE_GATEWAY, NULL);
}

/* Returns 0 when done with the key (*after_ns: look again after that long; 0: no need),
 * non-zero to retry it with backoff. */
static int reconcile_key(struct kgc_reconcile *r, enum kgc_reconcile_controller c, const char *key,
                         uint64_t *after_ns)
{
    char buf[KEY_MAX];
    const char *ns, *name;
    split_key(key, buf, sizeof(buf), &ns, &name);
    enum kgc_api_kind kind = controller_kinds[c];
    if (c == KGC_RECONCILE_KONGPLUGIN && !ns)
        kind = KGC_API_KONGCLUSTERPLUGIN; /* "name": the cluster-scoped kind */
    const struct kgc_api_obj *obj = kgc_cache_get(r->cache, kind, ns, name);
    if (!obj)
        return 0; /* deleted: nothing to write */

    struct kgc_listenercache_view view = {0};
    if (r->lc)
        kgc_listenercache_view(r->lc, &view);
    struct kgc_status_options so;
    fill_status_options(r, &so, r->lc ? &view : NULL);
    bool leader = __atomic_load_n(&r->leader, __ATOMIC_ACQUIRE);

    int rc = 0;
    bool retry = false, held = false;
    json_object *patch = NULL;
    struct kgc_err err = {0};
    switch (c) {
    case KGC_RECONCILE_GATEWAYCLASS: {
        struct kgc_status_gatewayclass d = {0};
        rc = kgc_status_gatewayclass_compute(&so, &r->lookup, kgc_api_as_gatewayclass(obj), &d,
                                             &err);
        if (!rc && d.owned)
            rc = kgc_status_gatewayclass_patch(&d, kgc_api_as_gatewayclass(obj), &patch, &err);
        kgc_status_gatewayclass_release(&d);
        break;
    }
    case KGC_RECONCILE_GATEWAY: {
        struct kgc_status_gateway d = {0};
        rc = kgc_status_gateway_compute(&so, &r->lookup, kgc_api_as_gateway(obj), &d, &err);
        if (!rc && d.owned) {
            rc = kgc_status_gateway_patch(&d, kgc_api_as_gateway(obj), &patch, &err);
            uint64_t hold = d.needs_retry ? hold_for(r, &d, r->lc ? &view : NULL, leader) : 0;
            if (hold) {
                /* nothing written: the push's PROGRAMMED or the hold tick brings it back */
                COUNT(r, c, held);
                arm_hold_tick(r, hold);
                if (patch)
                    json_object_put(patch);
                patch = NULL;
                held = true;
                kgc_debug(COMPONENT, "gateway waits for Kong's first push before its status",
                          KGC_F_STR("key", key), KGC_F_STR("reason", d.retry_reason));
            } else if (d.needs_retry) {
                retry = true;
                COUNT(r, c, pending_kong);
                kgc_info(COMPONENT, "gateway waits for Kong; will retry", KGC_F_STR("key", key),
                         KGC_F_STR("reason", d.retry_reason));
            }
        }
        kgc_status_gateway_release(&d);
        break;
    }
    case KGC_RECONCILE_HTTPROUTE:
    case KGC_RECONCILE_GRPCROUTE:
    case KGC_RECONCILE_TLSROUTE:
    case KGC_RECONCILE_TCPROUTE:
    case KGC_RECONCILE_UDPROUTE: { /* one status code for every route kind (kgc/api.h) */
        struct kgc_status_httproute d = {0};
        rc = kgc_status_httproute_compute(&so, &r->lookup, kgc_api_as_route(obj), &d, &err);
        if (!rc && d.verdict_pending) {
            /* the translator has not judged this version yet: a status written now would lack
             * its verdict (PartiallyInvalid, UnsupportedValue) or drop the one written before a
             * kgc restart; the syncer re-queues the route once it translated it */
            COUNT(r, c, verdict_pending);
            kgc_debug(COMPONENT, "route waits for the translator's verdict", KGC_F_STR("key", key));
        } else if (!rc) {
            rc = kgc_status_httproute_patch(&d, kgc_api_as_route(obj), &patch, &err);
        }
        kgc_status_httproute_release(&d);
        break;
    }
    case KGC_RECONCILE_KONGPLUGIN: {
        struct kgc_status_condition cond;
        bool again = false;
        if (!r->o.plugin_status)
            break;
        r->o.plugin_status(r->o.programmed_ctx, obj, &cond, &again);
        rc = kgc_status_kongplugin_patch(kgc_api_as_kongplugin(obj), &cond, NULL, &patch, &err);
        if (again)
            *after_ns = KGC_NS_PER_S; /* Kong's answer, or the first translation, is coming */
        break;
    }
    case KGC_RECONCILE_BACKENDTLSPOLICY: {
        struct kgc_status_backendtlspolicy d;
        rc = kgc_status_backendtlspolicy_compute(&so, &r->lookup, kgc_api_as_backendtlspolicy(obj),
                                                 &d, &err);
        if (!rc)
            rc = kgc_status_backendtlspolicy_patch(&d, kgc_api_as_backendtlspolicy(obj), &patch,
                                                   &err);
        kgc_status_backendtlspolicy_release(&d);
        break;
    }
    case KGC_RECONCILE_LISTENERSET: {
        struct kgc_status_listenerset d;
        rc = kgc_status_listenerset_compute(&so, &r->lookup, kgc_api_as_listenerset(obj), &d, &err);
        if (!rc && d.owned) {
            rc = kgc_status_listenerset_patch(&d, kgc_api_as_listenerset(obj), &patch, &err);
            if (d.needs_retry) {
                retry = true;
                COUNT(r, c, pending_kong);
            }
        }
        kgc_status_listenerset_release(&d);
        break;
    }
    default:
        break;
    }
    if (rc) {
        kgc_error(COMPONENT, "status computation failed",
                  KGC_F_STR("controller", controller_names[c]), KGC_F_STR("key", key),
                  KGC_F_STR("error", err.msg));
    } else if (held) {
        /* counted as held */
    } else if (!patch) {
        COUNT(r, c, unchanged);
    } else if (leader) {
        rc = write_status(r, c, obj, patch);
    }
    if (patch)
        json_object_put(patch);
    kgc_api_obj_unref(obj);
    kgc_listenercache_view_release(&view);
    return rc ? rc : (retry ? KGC_EAGAIN : 0);
}

/* One key taken off controller c's queue: reconciled, then re-queued as its outcome asks. */
static void process(struct kgc_reconcile *r, enum kgc_reconcile_controller c, const char *key)
{
    struct kgc_workqueue *q = r->queues[c];
    if (__atomic_load_n(&r->stopping, __ATOMIC_ACQUIRE)) {
        kgc_workqueue_done(q, key); /* stop taking work: the next leader redoes it */
        return;
    }
    if (c == KGC_RECONCILE_GATEWAY && strcmp(key, HOLD_TICK_KEY) == 0) {
        hold_tick(r);
        kgc_workqueue_forget(q, key);
        kgc_workqueue_done(q, key);
        return;
    }
    uint64_t after = 0;
    int rc = reconcile_key(r, c, key, &after);
    COUNT(r, c, reconciles);
    if (rc) {
        COUNT(r, c, errors);
        kgc_workqueue_add_rate_limited(q, key);
    } else {
        kgc_workqueue_forget(q, key);
        if (after)
            kgc_workqueue_add_after(q, key, after);
    }
    kgc_workqueue_done(q, key);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct kgc_reconcile *r = w->r;
    struct kgc_workqueue *q = r->queues[w->c];
    char tname[16];
    snprintf(tname, sizeof(tname), "kgc-%.6s", controller_names[w->c]);
    pthread_setname_np(pthread_self(), tname);
    const char *key;
    while (kgc_workqueue_get(q, &key) == 0)
        process(r, w->c, key);
    return NULL;
}

bool kgc_reconcile_process_one(struct kgc_reconcile *r, enum kgc_reconcile_controller c)
{
    const char *key;
    if (kgc_workqueue_try_get(r->queues[c], &key) != 0)
        return false;
    process(r, c, key);
    return true;
}

/* --- lifecycle -------------------------------------------------------------------------------- */

int kgc_reconcile_new(const struct kgc_reconcile_options *o, struct kgc_cache *cache,
                      struct kgc_k8s_client *client, struct kgc_listenercache *lc,
                      struct kgc_reconcile **out, struct kgc_err *err)
{
    if (!o || !cache || !out)
        return kgc_err_set(err, KGC_EINVAL, "reconciler: missing options or cache");
    struct kgc_reconcile *r = calloc(1, sizeof(*r));
    if (!r)
        return kgc_err_set(err, KGC_ENOMEM, "reconciler: out of memory");
    r->o = *o;
    r->cache = cache;
    r->client = client;
    r->lc = lc;
    r->leader = true;
    open_hold_window(r);
    pthread_mutex_init(&r->stats_lock, NULL);
    pthread_mutex_init(&r->written_lock, NULL);
    for (int c = 0; c < KGC_RECONCILE_CONTROLLER_COUNT; c++)
        kgc_strmap_init(&r->written[c]);
    r->controller_name =
        strdup(o->controller_name ? o->controller_name : KGC_STATUS_DEFAULT_CONTROLLER);
    if (!r->controller_name)
        goto out_nomem;
    if (o->publish_service && *o->publish_service) {
        const char *slash = strchr(o->publish_service, '/');
        if (!slash || slash == o->publish_service || !slash[1]) {
            kgc_reconcile_free(r);
            return kgc_err_set(err, KGC_EINVAL, "publish service \"%s\" is not NAMESPACE/NAME",
                               o->publish_service);
        }
        r->publish_ns = strndup(o->publish_service, (size_t)(slash - o->publish_service));
        r->publish_name = strdup(slash + 1);
        if (!r->publish_ns || !r->publish_name)
            goto out_nomem;
    }
    kgc_reconcile_cache_lookup(cache, &r->lookup);
    r->lookup.foreach = lookup_foreach_unsorted;
    for (int c = 0; c < KGC_RECONCILE_CONTROLLER_COUNT; c++) {
        r->queues[c] = kgc_workqueue_new(controller_names[c], &o->rate_limit, o->clock);
        if (!r->queues[c])
            goto out_nomem;
        r->n_workers += o->workers[c] ? o->workers[c] : 1;
    }
    r->workers = calloc(r->n_workers, sizeof(*r->workers));
    if (!r->workers)
        goto out_nomem;
    for (int kind = 0; kind < KGC_API_KIND_COUNT; kind++) {
        int rc = kgc_cache_add_handler(cache, (enum kgc_api_kind)kind, on_change, r);
        if (rc) {
            kgc_reconcile_free(r);
            return kgc_err_set(err, rc, "reconciler: cannot add a cache handler");
        }
    }
    if (lc && o->requeue_on_kong_ready) {
        int rc = kgc_listenercache_subscribe(lc, on_view_changed, r);
        if (rc) {
            kgc_reconcile_free(r);
            return kgc_err_set(err, rc, "reconciler: cannot subscribe to the listener view");
        }
    }
    *out = r;
    return 0;

out_nomem:
    kgc_reconcile_free(r);
    return kgc_err_set(err, KGC_ENOMEM, "reconciler: out of memory");
}

int kgc_reconcile_start(struct kgc_reconcile *r, struct kgc_err *err)
{
    open_hold_window(r);
    size_t w = 0;
    for (int c = 0; c < KGC_RECONCILE_CONTROLLER_COUNT; c++) {
        unsigned n = r->o.workers[c] ? r->o.workers[c] : 1;
        for (unsigned i = 0; i < n; i++, w++) {
            r->workers[w].r = r;
            r->workers[w].c = (enum kgc_reconcile_controller)c;
            if (pthread_create(&r->workers[w].thread, NULL, worker_main, &r->workers[w]) != 0) {
                kgc_reconcile_stop(r, 0);
                return kgc_err_set(err, KGC_EAGAIN, "reconciler: cannot start a worker thread");
            }
            r->workers[w].started = true;
        }
    }
    kgc_info(COMPONENT, "workers started",
             KGC_F_INT("gatewayclass", r->o.workers[KGC_RECONCILE_GATEWAYCLASS]),
             KGC_F_INT("gateway", r->o.workers[KGC_RECONCILE_GATEWAY]),
             KGC_F_INT("httproute", r->o.workers[KGC_RECONCILE_HTTPROUTE]),
             KGC_F_INT("grpcroute", r->o.workers[KGC_RECONCILE_GRPCROUTE]),
             KGC_F_INT("kongplugin", r->o.workers[KGC_RECONCILE_KONGPLUGIN]),
             KGC_F_INT("backendtlspolicy", r->o.workers[KGC_RECONCILE_BACKENDTLSPOLICY]),
             KGC_F_INT("listenerset", r->o.workers[KGC_RECONCILE_LISTENERSET]),
             KGC_F_INT("tlsroute", r->o.workers[KGC_RECONCILE_TLSROUTE]),
             KGC_F_INT("tcproute", r->o.workers[KGC_RECONCILE_TCPROUTE]),
             KGC_F_INT("udproute", r->o.workers[KGC_RECONCILE_UDPROUTE]));
    return 0;
}

void kgc_reconcile_stop(struct kgc_reconcile *r, uint64_t timeout_ns)
{
    if (!r)
        return;
    __atomic_store_n(&r->stopping, true, __ATOMIC_RELEASE);
    for (int c = 0; c < KGC_RECONCILE_CONTROLLER_COUNT; c++)
        if (r->queues[c])
            kgc_workqueue_shutdown_with_drain(r->queues[c], timeout_ns ? timeout_ns : 1);
    for (size_t i = 0; i < r->n_workers; i++) {
        if (r->workers[i].started) {
            pthread_join(r->workers[i].thread, NULL);
            r->workers[i].started = false;
        }
    }
}

void kgc_reconcile_free(struct kgc_reconcile *r)
{
    if (!r)
        return;
    kgc_reconcile_stop(r, 0);
    for (int c = 0; c < KGC_RECONCILE_CONTROLLER_COUNT; c++)
        kgc_workqueue_destroy(r->queues[c]);
    free(r->workers);
    free(r->controller_name);
    free(r->publish_ns);
    free(r->publish_name);
    pthread_mutex_destroy(&r->stats_lock);
    for (int c = 0; c < KGC_RECONCILE_CONTROLLER_COUNT; c++) {
        size_t pos = 0;
        const char *k;
        void *v;
        while (kgc_strmap_next(&r->written[c], &pos, &k, &v))
            free(v);
        kgc_strmap_destroy(&r->written[c]);
    }
    pthread_mutex_destroy(&r->written_lock);
    free(r);
}

void kgc_reconcile_set_leader(struct kgc_reconcile *r, bool leader)
{
    if (leader && !__atomic_load_n(&r->leader, __ATOMIC_ACQUIRE))
        open_hold_window(r); /* before the flag: a new leader's first reconciles see the window */
    bool was = __atomic_exchange_n(&r->leader, leader, __ATOMIC_ACQ_REL);
    if (leader && !was)
        kgc_reconcile_enqueue_all(r);
}

struct kgc_workqueue *kgc_reconcile_queue(struct kgc_reconcile *r, enum kgc_reconcile_controller c)
{
    return r->queues[c];
}

void kgc_reconcile_stats(struct kgc_reconcile *r, enum kgc_reconcile_controller c,
                         struct kgc_reconcile_stats *out)
{
    pthread_mutex_lock(&r->stats_lock);
    *out = r->stats[c];
    pthread_mutex_unlock(&r->stats_lock);
}

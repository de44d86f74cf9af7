/* reconcile — the GatewayClass, Gateway, HTTPRoute, GRPCRoute, KongPlugin and BackendTLSPolicy
 * controllers: cache handlers turn object changes into keys on six rate-limited work queues (a
 * policy is re-queued when it, its Services, its CA ConfigMaps, a route using its Services,
 * another policy on them or a Gateway's creation, deletion or class changes); worker threads
 * compute the desired status (kgc/status.h) from the cache, the Kong listener view and the
 * syncer's hooks, and write it with a JSON merge patch on /status when it changed. The patch
 * carries the resourceVersion it was computed from; the watch event at the resourceVersion the
 * API server answered, coming from that version with only status changed, is kgc's own write
 * and re-queues nothing (any other change is another event and re-queues as usual).
 *
 * The data plane reaches the reconciler by two announcements only: the listener view's "view
 * changed" (kgc_listenercache_subscribe(), subscribed here: it fires after the new view is in
 * place, so the re-queued workers read it — no subscription order matters) and the syncer's
 * changes (kgc_reconcile_on_sync_change(), which the caller subscribes with kgc_sync_subscribe()).
 *
 * The restart story lives here: with no live and no cached Kong listeners a Gateway gets
 * Programmed=False/Pending and its key backs off (never UnsupportedProtocol); when the view
 * changes (an instance becomes ready, restarts or changes listeners) or the syncer's Programmed
 * answer may have changed, every Gateway is re-queued at once (requeue_on_kong_ready). */
#ifndef KGC_RECONCILE_H
#define KGC_RECONCILE_H

#include "kgc/cache.h"
#include "kgc/err.h"
#include "kgc/k8s.h"
#include "kgc/listenercache.h"
#include "kgc/status.h"
#include "kgc/sync.h"
#include "kgc/workqueue.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kgc_reconcile_controller {
    KGC_RECONCILE_GATEWAYCLASS = 0,
    KGC_RECONCILE_GATEWAY,
    KGC_RECONCILE_HTTPROUTE,
    KGC_RECONCILE_GRPCROUTE,
    KGC_RECONCILE_KONGPLUGIN,       /* KongPlugin ("ns/name" keys) and KongClusterPlugin ("name") */
    KGC_RECONCILE_BACKENDTLSPOLICY, /* status.ancestors of BackendTLSPolicies (kgc/status.h) */
    KGC_RECONCILE_LISTENERSET,      /* ListenerSet status (kgc/status.h) */
    KGC_RECONCILE_TLSROUTE,         /* route status as HTTPROUTE's (one status code: kgc/api.h) */
    KGC_RECONCILE_TCPROUTE,
    KGC_RECONCILE_UDPROUTE,
    KGC_RECONCILE_CONTROLLER_COUNT
};

struct kgc_reconcile_options {
    const char *controller_name;                      /* NULL: konghq.com/kgc-gateway-controller */
    unsigned workers[KGC_RECONCILE_CONTROLLER_COUNT]; /* defaults 1, 4, 4, 2, 1, 1, 1, 1, 1, 1 */
    const char *publish_service;          /* "NS/NAME" of the Kong proxy Service, or NULL */
    const char *const *publish_addresses; /* overrides the Service's addresses when given */
    size_t n_publish_addresses;
    bool requeue_on_kong_ready;                /* re-queue every Gateway when the listener view
                                                  changes or the syncer announces PROGRAMMED
                                                  (default true; false: backoff only, as Kong's
                                                  own controller) */
    struct kgc_workqueue_ratelimit rate_limit; /* each queue's retry policy */
    const struct kgc_clock *clock;             /* NULL: real (the queues use it) */
    /* Hooks for the config syncer (all optional): Gateway Programmed (kgc/status.h's
     * `programmed`), the translator's and Kong's verdict on a route (`route_verdict`; while it
     * says pending the route's status is not written: kgc_reconcile_enqueue_route() brings the
     * route back once the verdict is known: kgc_reconcile_on_sync_change()). */
    bool (*programmed)(void *ctx, const struct kgc_api_gateway *gw, char *why, size_t why_size);
    void *programmed_ctx;
    void (*route_verdict)(void *ctx, const struct kgc_api_httproute *route,
                          struct kgc_status_route_verdict *out);
    void *route_verdict_ctx;
    /* One status write per Gateway at start-up (optional; called with programmed_ctx; the
     * syncer's kgc_sync_push_expected()): for startup_hold_ns after kgc_reconcile_new(),
     * kgc_reconcile_start() and becoming the leader, a Gateway whose status is final but for
     * Kong (kgc_status_gateway.kong_pending: Accepted=True, every listener valid, only Kong's
     * acceptance or first answer missing) is not written while the listener view is not CACHED
     * and this says a push is on its way: every 500 ms one re-check asks this hook and the
     * clock for all held Gateways together and re-queues them all when the window ended or no
     * push is expected any more (they are also re-queued at once by the syncer's PROGRAMMED, the
     * listener view and their own changes); a held Gateway is written as it is then. Anything else
     * (a real failure, Kong down, a failed push, a cached view) is written at once. */
    bool (*push_expected)(void *ctx);
    /* A plugin object's Programmed condition (optional; the syncer's kgc_sync_plugin_status(),
     * called with programmed_ctx); *retry: look again in 1 s. NULL: plugin statuses are not
     * written. Plugins are re-queued on each cache change of theirs, on PROGRAMMED and on a
     * REJECTED naming one. */
    void (*plugin_status)(void *ctx, const struct kgc_api_obj *plugin,
                          struct kgc_status_condition *out, bool *retry);
    uint64_t startup_hold_ns; /* default 10 s; 0: never hold */
};

/* Defaults as documented above. */
void kgc_reconcile_options_default(struct kgc_reconcile_options *o);

/* Counters per controller, for metrics. */
struct kgc_reconcile_stats {
    uint64_t reconciles;      /* keys processed */
    uint64_t errors;          /* reconciles that ended in a retry */
    uint64_t writes;          /* status patches sent */
    uint64_t write_conflicts; /* 409 answers */
    uint64_t unchanged;       /* reconciles that found nothing to write */
    uint64_t pending_kong;    /* Gateway reconciles that wrote Programmed=False/Pending and
                                 retry: Kong's listeners unknown, its acceptance missing, or
                                 the publish Service missing */
    uint64_t held;            /* Gateway reconciles that held such a write at start-up (the
                                 push_expected hook); re-checked shortly */
    uint64_t verdict_pending; /* HTTPRoute reconciles that wrote nothing: the translator had not
                                 judged the route's version yet (it re-queues the route) */
};

struct kgc_reconcile;

/* A reconciler over cache (handlers are added here: call before the informers start), writing
 * with client (thread-safe; NULL: compute only, never write, for tests), reading the Kong
 * listener view from lc (may be NULL: view NONE) and subscribing to its "view changed" (before
 * anything feeds lc). Returns 0, KGC_EINVAL, KGC_ENOSPC (no subscriber slot) or KGC_ENOMEM. */
int kgc_reconcile_new(const struct kgc_reconcile_options *o, struct kgc_cache *cache,
                      struct kgc_k8s_client *client, struct kgc_listenercache *lc,
                      struct kgc_reconcile **out, struct kgc_err *err);

/* The syncer's announcements (a kgc_sync_change_fn; ctx = the reconciler; subscribe it with
 * kgc_sync_subscribe()): PROGRAMMED re-queues every Gateway (when requeue_on_kong_ready),
 * ROUTE_VERDICT the route and its Gateways (kgc_reconcile_enqueue_route()), REJECTED the route,
 * or every Gateway for another kind. Any thread; cheap. */
void kgc_reconcile_on_sync_change(void *ctx, const struct kgc_sync_change *ch);

/* Takes one key that is ready off controller c's queue (without waiting) and reconciles it on
 * the calling thread, as a worker would. Returns false when none was ready. For tests: no worker
 * thread, a fake clock (delayed keys come due with kgc_workqueue_tick()). */
bool kgc_reconcile_process_one(struct kgc_reconcile *r, enum kgc_reconcile_controller c);

/* Starts the worker threads. Returns 0 or an error (no thread left running). */
int kgc_reconcile_start(struct kgc_reconcile *r, struct kgc_err *err);

/* Stops taking work (keys still queued are dropped: a new leader re-queues everything), waits
 * up to timeout_ns for keys in progress, then joins the workers. */
void kgc_reconcile_stop(struct kgc_reconcile *r, uint64_t timeout_ns);

/* Frees r (stopped first if needed). Its handlers stay registered on the cache, the listener
 * cache and the syncer: stop the informers, the Kong probers and the syncer before freeing the
 * reconciler. */
void kgc_reconcile_free(struct kgc_reconcile *r);

/* Only a leader writes status. Until told otherwise a reconciler is the leader. Becoming the
 * leader re-queues every object so the new leader catches up. */
void kgc_reconcile_set_leader(struct kgc_reconcile *r, bool leader);

/* Queues every key of every controller (start-up, leadership, resync). */
void kgc_reconcile_enqueue_all(struct kgc_reconcile *r);

/* Queues one key ("ns/name", or "name" for GatewayClasses) on a controller's queue. */
void kgc_reconcile_enqueue(struct kgc_reconcile *r, enum kgc_reconcile_controller c,
                           const char *key);

/* Queues route ns/name of kind (kgc_api_is_route_kind) and the Gateways its
 * parentRefs name (the route's verdict counts in their attachedRoutes): the syncer's "verdict
 * changed" hook. A route not in the cache queues nothing. */
void kgc_reconcile_enqueue_route(struct kgc_reconcile *r, enum kgc_api_kind kind, const char *ns,
                                 const char *name);

/* Queues every object of a controller's kind. */
void kgc_reconcile_enqueue_every(struct kgc_reconcile *r, enum kgc_reconcile_controller c);

/* The queue of a controller (for metrics and the debug endpoint; owned by r). */
struct kgc_workqueue *kgc_reconcile_queue(struct kgc_reconcile *r, enum kgc_reconcile_controller c);

/* A snapshot of a controller's counters. */
void kgc_reconcile_stats(struct kgc_reconcile *r, enum kgc_reconcile_controller c,
                         struct kgc_reconcile_stats *out);

/* A kgc_status_lookup served by the cache (for the translator and tests). */
void kgc_reconcile_cache_lookup(struct kgc_cache *cache, struct kgc_status_lookup *out);

#endif

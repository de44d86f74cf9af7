/* sync — the configuration syncer: translates the cache into one Kong configuration and pushes it
 * to every ready Kong instance.
 *
 *   - One thread. kgc_sync_mark_dirty() (any thread, cheap) starts a debounce: the syncer
 *     translates debounce_ns after the last mark, and at most max_delay_ns after the first.
 *   - The text is pushed as a string (kgc_kong_push_config(): check_hash=1&flatten_errors=1), so
 *     Kong's configuration_hash is the MD5 of what kgc sent and a probe tells whether an instance
 *     is up to date. 304 counts as success.
 *   - A configuration without any entity (a Gateway and no route, or every route deleted) is
 *     stored by Kong 3.9.1 under the empty hash, 32 zeros (kong/db/declarative/import.lua:270-273,
 *     433-435), as after a restart, and never answered 304. The syncer tells the registry before
 *     such a push (kgc_kong_expect_empty(), so the prober does not report a restart) and counts
 *     zeros as that configuration: it is pushed once per change, never in a loop. A real restart
 *     (a new node_id, or a READY after an unreachable period) is still re-pushed once.
 *   - Kong events (kgc_kong_subscribe()): READY and RESTARTED push the current configuration to
 *     that instance at once; HASH_CHANGED to a hash kgc did not send re-pushes.
 *   - Only usable listeners carry routes: Accepted and not Conflicted on an Accepted Gateway,
 *     judged as the Gateway reconciler does (options.publish_service, the listener view) at each
 *     translation; a listener that becomes invalid loses its routes in the next push.
 *   - Route verdicts: the HTTPRoutes are walked before each translation and judged after it; a
 *     route's verdict is pending until a translation judged its current version, and every route
 *     whose verdict is new or changed is reported (on_route_verdict_changed).
 *   - 400: each flattened error is mapped to its object (kgc_translate_entity_owner()); those
 *     objects are reported (on_broken + a log line), hidden from the translator (until their spec
 *     changes: generation, or resourceVersion for kinds without one) and the configuration is
 *     translated again without them (at most KGC_SYNC_MAX_EXCLUDE_ROUNDS times per change). A 400
 *     nothing can be attributed to leaves the instance on (or sends it) the last configuration
 *     any instance accepted, and that text is never sent to that instance again.
 *   - 429/503 and network errors: the instance is retried with exponential backoff (from 100 ms,
 *     cap 30 s), or after Retry-After when Kong gives one (capped likewise).
 *   - Only the leader pushes (kgc_sync_set_leader()).
 *
 * Only the syncer thread does network I/O; no lock is held across it. The configuration text
 * holds TLS private keys: it is never logged nor put in kgc_sync_status_json(). At most two
 * texts are kept (the current and the last accepted), plus one held by a push in flight. */
#ifndef KGC_SYNC_H
#define KGC_SYNC_H

#include "kgc/api.h"
#include "kgc/err.h"
#include "kgc/kong.h"
#include "kgc/listenercache.h"
#include "kgc/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KGC_SYNC_MAX_EXCLUDE_ROUNDS 3
#define KGC_SYNC_MAX_BROKEN         1024 /* broken objects remembered */
#define KGC_SYNC_BACKOFF_MIN_NS     (100ULL * 1000000ULL)
#define KGC_SYNC_BACKOFF_MAX_NS     (30ULL * 1000000000ULL)
#define KGC_SYNC_PUSH_BUCKETS       13 /* push-duration histogram: kgc_sync_push_bounds() */

/* An object Kong rejected (message non-NULL), or one that is no longer rejected (message NULL:
 * its spec changed or it is gone, so it is translated again). Runs on the syncer thread without
 * any syncer lock held; everything is borrowed for the call. */
typedef void (*kgc_sync_broken_fn)(void *ctx, enum kgc_api_kind kind, const char *ns,
                                   const char *name, const char *message);

/* Something that kgc_sync_gateway_programmed() answers may have changed (an instance accepted
 * a configuration, restarted or went away): the lead re-queues the Gateways. Syncer thread or a
 * prober thread; no syncer lock held. */
typedef void (*kgc_sync_changed_fn)(void *ctx);

/* The verdict on HTTPRoute ns/name (kgc_sync_route_verdict()) may have changed: a translation
 * judged it for the first time (kgc started, became the leader, or the route is new), at a new
 * generation, or its verdict differs from the one the translation before gave. The lead
 * re-queues the route and its Gateways. Syncer thread; no syncer lock held; strings borrowed. */
typedef void (*kgc_sync_route_fn)(void *ctx, const char *ns, const char *name);

struct kgc_sync_options {
    uint64_t debounce_ns;        /* --sync-debounce (100 ms) */
    uint64_t max_delay_ns;       /* --sync-max-delay (1 s) */
    const char *controller_name; /* GatewayClass controller kgc owns; NULL: the default */
    /* Clients the syncer makes per instance (TLS, headers, push_timeout_ms) when there is no
     * registry; with one, the registry's client options are used (kgc_kong_get_options()). */
    struct kgc_kong_client_options client;
    kgc_sync_broken_fn on_broken; /* optional */
    void *on_broken_ctx;
    kgc_sync_changed_fn on_programmed_changed; /* optional */
    void *on_programmed_changed_ctx;
    kgc_sync_route_fn on_route_verdict_changed; /* optional */
    void *on_route_verdict_changed_ctx;
    /* --invalid-backend-target (copied; NULL or "": off): the translator's
     * invalid_backend_target, see kgc/translate.h */
    const char *invalid_backend_target;
    /* --publish-service "NS/NAME" (copied; NULL or "": none), as the reconciler gets it: the
     * translator carries routes only on listeners the Gateway reconciler accepts
     * (kgc_status_gateway_usable_listeners() with this Service and the listener view), so a
     * Conflicted listener, or one on a Gateway that is not Accepted, has no route in Kong */
    const char *publish_service;
};

/* Fills the defaults (in parentheses above; client options as kgc_kong_client_options_default). */
void kgc_sync_options_default(struct kgc_sync_options *o);

struct kgc_sync;

/* A syncer (no thread yet). lookup (required) is read on the syncer thread only and must be safe
 * to call from it while other threads change the objects (the cache lookup is). kong (may be
 * NULL: then only instances added with kgc_sync_add_instance() exist) is subscribed to at once;
 * it must outlive the syncer and be started after this call to catch first contacts. lc (may be
 * NULL; must outlive the syncer) gives the router flavour and Kong version for the translator,
 * and its store keeps the accepted Gateway set across restarts (read back here, see
 * kgc_sync_accepted_record_canonical()). Strings are copied; the
 * lookup struct is copied (its ctx borrowed). A new syncer is not the leader. Returns 0 and *out
 * (kgc_sync_free()), KGC_EINVAL, KGC_ENOSPC (no subscriber slot), KGC_ENOMEM. */
int kgc_sync_new(const struct kgc_sync_options *o, const struct kgc_status_lookup *lookup,
                 struct kgc_kong *kong, struct kgc_listenercache *lc, struct kgc_sync **out,
                 struct kgc_err *err);

/* Adds an instance that is always considered ready (no registry: tests, static setups). Returns
 * 0, KGC_EUSAGE (bad URL), KGC_ENOMEM. */
int kgc_sync_add_instance(struct kgc_sync *s, const char *admin_url, struct kgc_err *err);

/* Starts the thread ("kgc-sync"). 0 or an errno code. */
int kgc_sync_start(struct kgc_sync *s, struct kgc_err *err);

/* Stops and joins the thread; a push in flight is aborted. Idempotent. */
void kgc_sync_stop(struct kgc_sync *s);

/* Stops and frees. The registry cannot unsubscribe: stop it (kgc_kong_stop()) before this so
 * that no event reaches a freed syncer. NULL is a no-op. */
void kgc_sync_free(struct kgc_sync *s);

/* Something the configuration depends on changed. Any thread; cheap. Nothing is translated
 * before the first mark: the lead marks once the informers have synced (an empty cache must
 * never wipe Kong). */
void kgc_sync_mark_dirty(struct kgc_sync *s);

/* Only the leader translates and pushes. Becoming leader pushes at once to every instance. */
void kgc_sync_set_leader(struct kgc_sync *s, bool leader);

/* The status module's `programmed` hook (ctx = the syncer): true once every ready instance has
 * accepted a configuration translated from gw at its current generation (or a newer one);
 * false with a reason in why otherwise (an instance not yet synced). With no ready instance
 * (Kong restarting) the last-known data plane answers: true when an instance had accepted a
 * configuration containing gw before it went away, else false ("no ready Kong instance"). */
bool kgc_sync_gateway_programmed(void *ctx, const struct kgc_api_gateway *gw, char *why,
                                 size_t why_size);

/* The status module's `route_verdict` hook (ctx = the syncer): the translator's verdict from the
 * last translation, and Accepted=False/UnsupportedValue with Kong's message for a route Kong
 * rejected. v->pending is set while no translation has judged this version of the route (same
 * uid, its generation or a newer one): after kgc starts or becomes the leader until the first
 * translation, and after a spec change until the next one (a debounce later); the translation
 * that judges it calls on_route_verdict_changed for it. */
void kgc_sync_route_verdict(void *ctx, const struct kgc_api_httproute *route,
                            struct kgc_status_route_verdict *v);

/* Counters for /metrics. Monotonic unless said otherwise. */
struct kgc_sync_stats {
    uint64_t pushes[KGC_KONG_PUSH_OTHER + 1]; /* by kgc_kong_push_kind */
    uint64_t push_errors;                     /* no answer (connect, timeout, ...) */
    uint64_t push_duration_ns_sum;            /* over every push attempt */
    uint64_t push_count;
    /* push attempts by duration, non-cumulative: [i] counts those <= kgc_sync_push_bounds()[i]
     * and above the bound before; those over the last bound are only in push_count */
    uint64_t push_duration_buckets[KGC_SYNC_PUSH_BUCKETS];
    uint64_t translations;
    uint64_t translate_duration_ns_sum;
    uint64_t config_bytes;           /* gauge: size of the current configuration */
    uint64_t broken_objects;         /* gauge: objects Kong rejected, currently hidden */
    uint64_t problems;               /* gauge: translator problems of the last translation */
    uint64_t route_kong_limitations; /* gauge: HTTPRoutes whose last verdict carries a
                                        konghq.com/KongLimitation condition */
};

void kgc_sync_stats(struct kgc_sync *s, struct kgc_sync_stats *out);

/* The push-duration histogram's upper bounds in seconds (KGC_SYNC_PUSH_BUCKETS, increasing):
 * 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10. Static storage. */
const double *kgc_sync_push_bounds(void);

/* /debug/config: {"leader","hash","size","last_good_hash","translated_at","problems",
 * "last_rejection","instances":[{url,ready,accepted_hash,kong_hash?,last_result,last_status,
 * last_push_at,last_error,retry_in_ms}],"broken":[{kind,namespace,name,message}]}. Never the
 * configuration text. malloc'd (free()), NULL on ENOMEM. */
char *kgc_sync_status_json(struct kgc_sync *s);

/* The Gateway set of the last configuration a Kong accepted survives restarts as the record
 * "rec:sync-accepted" of the store the listener cache persists to (kgc/store.h, reached with
 * kgc_listenercache_store(lc); none when lc is NULL or not persistent): "kgc-sync-accepted/1\n",
 * the configuration hash (32 bytes) and "\n", then one "<generation> <namespace>/<name>\n" per
 * Gateway. It is written by the syncer thread when an instance accepts a configuration whose hash
 * differs from the stored one (a failed write is logged and retried on the next acceptance).
 * A starting syncer reads it back and ignores (with a warning) a record that does not parse. For
 * the fuzz target (test/fuzz/fuzz_sync_record.c): parses rec (len bytes followed by a NUL, as
 * kgc_store_get() returns it; any bytes) as the syncer does and returns the record the syncer
 * would store for what it read (malloc'd, *out_len bytes plus a NUL), or NULL when it is
 * malformed (or out of memory). Pure. */
char *kgc_sync_accepted_record_canonical(const char *rec, size_t len, size_t *out_len);

#endif

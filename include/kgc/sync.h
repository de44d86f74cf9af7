/* sync — the configuration syncer: translates the cache into one Kong configuration and pushes it
 * to every ready Kong instance.
 *
 *   - One syncer thread and push_concurrency push workers. kgc_sync_mark_dirty() (any thread,
 *     cheap): a change after a quiet period (nothing translated for debounce_ns) is translated at
 *     once (leading edge); marks within debounce_ns of a translation are gathered into one
 *     translation debounce_ns after the last of them, at most max_delay_ns after the first, so
 *     the debounce only paces bursts.
 *   - Pushes run concurrently, at most push_concurrency at once and one per instance: a slow or
 *     silent instance holds one worker until its push times out (kgc/kong.h: connect timeout,
 *     bytes-moving stall limit, size-scaled cap) and delays no other; each answer is fed back as
 *     it comes, and that instance alone backs off.
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
 *     that instance at once (a RESTARTED or HASH_CHANGED read after that process refused the
 *     push keeps its backoff or Retry-After); HASH_CHANGED to a hash kgc did not send re-pushes.
 *     Until that re-push is answered, a restarted instance counts as carrying what it had
 *     accepted (for kgc_sync_gateway_programmed()); a rejection or 3 failures of the re-push end
 *     that. Only the new process's failures count: not pushes that failed against the dead one
 *     before the prober saw the new node_id (a restart between two probes: RESTARTED without
 *     READY), nor an answer of the old process read after it (neither a failure nor an
 *     acceptance of the new one).
 *   - Only usable listeners carry routes: Accepted and not Conflicted on an Accepted Gateway,
 *     judged as the Gateway reconciler does (options.publish_service, the listener view) at each
 *     translation; a listener that becomes invalid loses its routes in the next push.
 *   - Route verdicts: the HTTPRoutes are walked before each translation and judged after it; a
 *     route's verdict is pending until a translation judged its current version, and every route
 *     whose verdict is new or changed is announced (KGC_SYNC_CHANGE_ROUTE_VERDICT).
 *   - 400: each flattened error is mapped to its object (kgc_translate_entity_owner()); those
 *     objects are announced (KGC_SYNC_CHANGE_REJECTED + a log line), hidden from the translator
 * (until their spec changes: generation, or resourceVersion for kinds without one) and the
 * configuration is translated again without them (at most KGC_SYNC_MAX_EXCLUDE_ROUNDS times per
 * change). A 400 nothing can be attributed to leaves the instance on (or sends it) the last
 * configuration any instance accepted, and that text is never sent to that instance again.
 *   - 429/503 and network errors: the instance is retried with exponential backoff (from 100 ms,
 *     cap 30 s), or after Retry-After when Kong gives one (capped likewise).
 *   - Only the leader pushes (kgc_sync_set_leader()).
 *
 * Shape (pkg/sync/README.md maps the files): every decision above is taken by a pure state
 * machine (pkg/sync/machine.c: inputs are marks, leadership, Kong events, translation results
 * and push answers, each with the time as an argument; the output is "translate", "push this
 * configuration to this instance", "wait until t" or "idle", plus the Programmed answer). The
 * thread (sync.c) only asks it what now, with now from options.clock, does that with the lock
 * released and feeds the result back; translation (build.c), rejected objects (exclude.c),
 * route verdicts (verdicts.c), the stored record (record.c) and /debug (debug.c) are apart.
 *
 * Only the push workers do network I/O (the translation reads the cache); no lock is held across
 * either. The configuration text holds TLS private keys: it is never logged nor put in
 * kgc_sync_status_json(). At most two texts are kept (the current and the last accepted), plus
 * those held by pushes in flight (shared, never copied: in practice one of the two). */
#ifndef KGC_SYNC_H
#define KGC_SYNC_H

#include "kgc/api.h"
#include "kgc/cache.h"
#include "kgc/clock.h"
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
/* --sync-push-concurrency's default: pushes in flight at once, one per instance. A push is
 * network and Kong's load time, not kgc's CPU (every push sends the same shared text, never a
 * copy), so the bound is only there to cap threads and connections: 16 covers a few replicas
 * per Gateway class in one round, and 50 instances in four rounds of a few ms each (the fan-out
 * bench, docs/benchmarks.md). Kong's controller pushes to its instances in parallel too
 * (Kong/kubernetes-ingress-controller v3.5.9 internal/dataplane/kong_client.go:722,742,
 * sendOutToGatewayClients: iter.MapErr over the clients; sourcegraph/conc v0.3.0, its go.mod
 * version, iter/map.go:38-40 and iter/iter.go:12: at most GOMAXPROCS at once). */
#define KGC_SYNC_PUSH_CONCURRENCY 16

/* What the syncer announces to its subscribers (kgc_sync_subscribe()): the answers of its status
 * hooks may have changed. */
enum kgc_sync_change_what {
    /* kgc_sync_gateway_programmed() may answer differently for any Gateway: an instance accepted
     * a configuration, restarted, went away or was re-pushed. */
    KGC_SYNC_CHANGE_PROGRAMMED = 0,
    /* kgc_sync_route_verdict() on route ns/name may have changed: a translation judged it for
     * the first time (kgc started, became the leader, or the route is new), at a new generation,
     * or its verdict differs from the one the translation before gave. */
    KGC_SYNC_CHANGE_ROUTE_VERDICT,
    /* Kong rejected the object kind ns/name (message non-NULL: Kong's words), or it is no longer
     * rejected (message NULL: its spec changed or it is gone, so it is translated again). */
    KGC_SYNC_CHANGE_REJECTED,
};

struct kgc_sync_change {
    enum kgc_sync_change_what what;
    enum kgc_api_kind kind; /* ROUTE_VERDICT: a route kind (kgc_api_is_route_kind); REJECTED:
                               the object's */
    const char *ns;         /* ROUTE_VERDICT, REJECTED ("" for cluster-scoped kinds); else NULL */
    const char *name;       /* ROUTE_VERDICT, REJECTED; else NULL */
    const char *message;    /* REJECTED: Kong's message, or NULL when no longer rejected */
};

/* A subscriber. Runs on the syncer thread (or a prober thread, for PROGRAMMED after a Kong event)
 * without any syncer lock held, so it may call the syncer's hooks; everything is borrowed for the
 * call. It must be quick (queue work, do not do it). */
typedef void (*kgc_sync_change_fn)(void *ctx, const struct kgc_sync_change *ch);

#define KGC_SYNC_MAX_SUBSCRIBERS 4

struct kgc_sync_options {
    uint64_t debounce_ns;      /* --sync-debounce (100 ms) */
    uint64_t max_delay_ns;     /* --sync-max-delay (1 s) */
    unsigned push_concurrency; /* --sync-push-concurrency (KGC_SYNC_PUSH_CONCURRENCY; 0: it) */
    /* --sync-incremental (true): translate through a kgc_translate_state (kgc/translate.h),
     * re-translating only what the recorded changes touch. The state (every route's planning
     * records; the rule texts are read from the last document, which the blob shares) is built
     * by an "upkeep" translation once the HTTPRoutes were quiet (no change, no status write) for
     * 2 s, at most 10 s after start-up, after any push that can go: built during the initial
     * sync it would also hold the route objects kgc's own status writes replace. Until then, and
     * when off, every translation is a whole kgc_translate(). A status write on an HTTPRoute lists
     * the route for the next translation (or an upkeep) so that the state lets the replaced object
     * go. */
    bool incremental;
    const char *controller_name; /* GatewayClass controller kgc owns; NULL: the default */
    /* Clients the syncer makes per instance (TLS, headers, push_timeout_ms) when there is no
     * registry; with one, the registry's client options are used (kgc_kong_get_options()). */
    struct kgc_kong_client_options client;
    /* --invalid-backend-target (copied; NULL or "": off): the translator's
     * invalid_backend_target, see kgc/translate.h */
    const char *invalid_backend_target;
    /* --publish-service "NS/NAME" (copied; NULL or "": none), as the reconciler gets it: the
     * translator carries routes only on listeners the Gateway reconciler accepts
     * (kgc_status_gateway_usable_listeners() with this Service and the listener view), so a
     * Conflicted listener, or one on a Gateway that is not Accepted, has no route in Kong */
    const char *publish_service;
    /* The time source of the debounce, the backoff and the durations (borrowed; must outlive
     * the syncer). NULL: the real monotonic clock. With a fake clock the thread looks at the
     * time again at every input and every millisecond. */
    const struct kgc_clock *clock;
};

/* Fills the defaults (in parentheses above; client options as kgc_kong_client_options_default). */
void kgc_sync_options_default(struct kgc_sync_options *o);

struct kgc_sync;

/* A syncer (no thread yet). lookup (required) is read on the syncer thread only and must be safe
 * to call from it while other threads change the objects (the cache lookup is). kong (may be
 * NULL: then only instances added with kgc_sync_add_instance() exist) is subscribed to at once;
 * it must outlive the syncer and be started after this call to catch first contacts. lc (may be
 * NULL; must outlive the syncer) gives the router flavour and Kong version for the translator
 * (its "view changed" marks the configuration dirty: subscribed here, so create the syncer before
 * anything feeds lc),
 * and its store keeps the accepted Gateway set across restarts (read back here, see
 * kgc_sync_accepted_record_canonical()). Strings are copied; the
 * lookup struct is copied (its ctx borrowed). A new syncer is not the leader. Returns 0 and *out
 * (kgc_sync_free()), KGC_EINVAL, KGC_ENOSPC (no subscriber slot), KGC_ENOMEM. */
int kgc_sync_new(const struct kgc_sync_options *o, const struct kgc_status_lookup *lookup,
                 struct kgc_kong *kong, struct kgc_listenercache *lc, struct kgc_sync **out,
                 struct kgc_err *err);

/* Marks the configuration dirty on every change of any kind in cache (a handler per kind; call
 * before the informers start) but a status-only update of a Gateway API object (same generation,
 * labels, annotations and deletion timestamp: kgc's own status writes coming back), and records
 * what changed for the incremental translation. Changes seen before kgc_sync_start() are
 * translated at start.
 * Returns 0 or the cache's error (KGC_ENOSPC, KGC_ENOMEM). */
int kgc_sync_watch_cache(struct kgc_sync *s, struct kgc_cache *cache);

/* Adds a subscriber to the syncer's announcements (kgc_sync_change). Call before
 * kgc_sync_start() and before the Kong registry starts (the list is not locked). Returns 0 or
 * KGC_ENOSPC (more than KGC_SYNC_MAX_SUBSCRIBERS). */
int kgc_sync_subscribe(struct kgc_sync *s, kgc_sync_change_fn fn, void *ctx);

/* Adds an instance that is always considered ready (no registry: tests, static setups). Returns
 * 0, KGC_EUSAGE (bad URL), KGC_ENOMEM. */
int kgc_sync_add_instance(struct kgc_sync *s, const char *admin_url, struct kgc_err *err);

/* Starts the thread ("kgc-sync") and the push workers ("kgc-push"). 0 or an errno code. */
int kgc_sync_start(struct kgc_sync *s, struct kgc_err *err);

/* Stops and joins the threads; pushes in flight are aborted. Idempotent. */
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

/* The reconciler's start-up hook (ctx = the syncer; pkg/sync/startup.c): whether a push that may
 * program the Gateways is expected soon: this syncer is the leader, and no ready instance's last
 * push failed or was rejected, and Kong is not known to be down (some instance answered and every
 * one that did is unreachable). No instance known yet counts as expected (none has answered
 * yet). Any thread; takes the syncer's lock briefly. */
bool kgc_sync_push_expected(void *ctx);

/* The status module's `route_verdict` hook (ctx = the syncer): the translator's verdict from the
 * last translation, and Accepted=False/UnsupportedValue with Kong's message for a route Kong
 * rejected. v->pending is set while no translation has judged this version of the route (same
 * uid, its generation or a newer one): after kgc starts or becomes the leader until the first
 * translation, and after a spec change until the next one (at once, or a debounce later in a
 * burst); the translation that judges it announces KGC_SYNC_CHANGE_ROUTE_VERDICT for it. */
void kgc_sync_route_verdict(void *ctx, const struct kgc_api_httproute *route,
                            struct kgc_status_route_verdict *v);

/* The reconciler's hook for a KongPlugin/KongClusterPlugin's Programmed condition (ctx = the
 * syncer), Kong's controller's condition (Kong/kubernetes-configuration
 * api/configuration/v1/conditions.go: True/Programmed, False/Invalid, Unknown/Pending):
 *   False/Invalid  Kong rejected it (Kong's flattened error), or kgc cannot use it
 *                  (kgc_translate_plugin_problem());
 *   True/Programmed every ready instance holds a configuration that uses it at its current
 *                  generation (or Kong is down and the last one that answered did);
 *   Unknown/Pending no route or Service kgc configures uses it, or Kong has not accepted the
 *                  configuration using it yet (*retry set: look again shortly).
 * Any thread; takes the syncer's lock briefly. */
void kgc_sync_plugin_status(void *ctx, const struct kgc_api_obj *plugin,
                            struct kgc_status_condition *out, bool *retry);

/* Counters for /metrics. Monotonic unless said otherwise. */
struct kgc_sync_stats {
    uint64_t pushes[KGC_KONG_PUSH_OTHER + 1]; /* by kgc_kong_push_kind */
    uint64_t push_errors;                     /* no answer (connect, timeout, ...) */
    uint64_t push_duration_ns_sum;            /* over every push attempt */
    uint64_t push_count;
    /* push attempts by duration, non-cumulative: [i] counts those <= kgc_sync_push_bounds()[i]
     * and above the bound before; those over the last bound are only in push_count */
    uint64_t push_duration_buckets[KGC_SYNC_PUSH_BUCKETS];
    /* kgc_change_to_push_seconds: from the first cache event (mark) of a change to the last byte
     * of the push to the last instance, counted once every ready instance holds the
     * configuration translated for it (Kong's load time after that last byte is not counted);
     * same buckets as the pushes'. Changes no instance needed a push for are not counted. */
    uint64_t change_to_push_ns_sum;
    uint64_t change_to_push_count;
    uint64_t change_to_push_buckets[KGC_SYNC_PUSH_BUCKETS];
    uint64_t translations;
    uint64_t translate_duration_ns_sum;
    uint64_t config_bytes;           /* gauge: size of the current configuration */
    uint64_t broken_objects;         /* gauge: objects Kong rejected, currently hidden */
    uint64_t problems;               /* gauge: translator problems of the last translation */
    uint64_t route_kong_limitations; /* gauge: HTTPRoutes whose last verdict carries a
                                        konghq.com/KongLimitation condition */
    /* KGC_SYNC_CHANGE_PROGRAMMED: announced, and not announced because nothing the Gateways'
     * Programmed answers read had changed since the last announcement (a route change) */
    uint64_t programmed_announced;
    uint64_t programmed_unchanged;
};

void kgc_sync_stats(struct kgc_sync *s, struct kgc_sync_stats *out);

/* The HTTP endpoints' hooks (kgc/server.h, config_pushed and config_dump; ctx = the syncer):
 * true once any instance took a configuration (applied or 304); /debug/config as
 * kgc_sync_status_json(), indented when pretty (malloc'd *out of *len bytes; KGC_ENOMEM). */
bool kgc_sync_hook_pushed(void *ctx);
int kgc_sync_hook_dump(void *ctx, bool pretty, char **out, size_t *len);

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
 * differs from the stored one (a failed write is logged and retried on the next acceptance); when
 * only the hash differs (the same Gateways at the same generations: most changes), at most every
 * KGC_SYNC_RECORD_HASH_EVERY_NS, the newest such record waiting in memory until then or until
 * kgc_sync_stop(): every write waits for the disk, ~0.3 ms of CPU a change here and more on a
 * slow disk. A record whose hash is older than what Kong holds (kgc killed before the wait
 * ended) only means the Gateways count as carried until the first push answers, as with a
 * current one (machine.c, KGC_KONG_EV_READY).
 * A starting syncer reads it back and ignores (with a warning) a record that does not parse. For
 * the fuzz target (test/fuzz/fuzz_sync_record.c): parses rec (len bytes followed by a NUL, as
 * kgc_store_get() returns it; any bytes) as the syncer does and returns the record the syncer
 * would store for what it read (malloc'd, *out_len bytes plus a NUL), or NULL when it is
 * malformed (or out of memory). Pure. */
char *kgc_sync_accepted_record_canonical(const char *rec, size_t len, size_t *out_len);

#define KGC_SYNC_RECORD_HASH_EVERY_NS (10ULL * 1000000000ULL)

#endif

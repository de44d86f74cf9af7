/* metrics — Prometheus text exposition (format 0.0.4) for /metrics.
 *
 * Two layers:
 *   - a writer: families with their HELP and TYPE lines, counter and gauge samples, histograms
 *     (`_bucket{le=...}` cumulative and ending with le="+Inf", `_sum`, `_count`), label values
 *     and help text escaped as the format requires, a hard size cap;
 *   - kgc's families: a snapshot of every module's counters (taken from the live objects, or
 *     filled by a test with synthetic numbers) rendered with the writer.
 *
 * Every name starts with `kgc_`. The families and what they hold are listed at
 * kgc_metrics_render(). Not thread-safe by itself: a writer and a snapshot belong to one thread;
 * taking a snapshot reads the modules through their own thread-safe stats calls. */
#ifndef KGC_METRICS_H
#define KGC_METRICS_H

#include "kgc/api.h"
#include "kgc/base.h"
#include "kgc/cache.h"
#include "kgc/informer.h"
#include "kgc/k8s.h"
#include "kgc/kong.h"
#include "kgc/listenercache.h"
#include "kgc/reconcile.h"
#include "kgc/sync.h"
#include "kgc/workqueue.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The Content-Type of the exposition. */
#define KGC_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A rendering larger than this fails with KGC_E2BIG (default cap of kgc_metrics_collect()). */
#define KGC_METRICS_DEFAULT_MAX_BYTES (16u << 20)

/* ---------------------------------------------------------------------------------------------
 * The writer.
 * ------------------------------------------------------------------------------------------- */

enum kgc_metrics_type { KGC_METRICS_COUNTER = 0, KGC_METRICS_GAUGE, KGC_METRICS_HISTOGRAM };

/* One label; value is any UTF-8 text (escaped on output). */
struct kgc_metrics_label {
    const char *name;
    const char *value;
};

/* A growing text buffer with the family being written. Fields are private to the writer; a
 * failure is sticky (later calls do nothing) and reported by kgc_metrics_writer_finish(). */
struct kgc_metrics_writer {
    struct kgc_base_buf text; /* the text so far, never more than max_bytes with its NUL */
    size_t max_bytes;         /* the cap */
    int error;        /* 0, KGC_ENOMEM, KGC_E2BIG or KGC_EINVAL (a bad name, a sample outside a
                         family, a histogram sample in a counter family, ...) */
    char family[128]; /* the current family's name ("" before the first) */
    enum kgc_metrics_type type;
};

/* Starts an empty writer capped at max_bytes (0: KGC_METRICS_DEFAULT_MAX_BYTES). */
void kgc_metrics_writer_init(struct kgc_metrics_writer *w, size_t max_bytes);

/* Starts a family: writes `# HELP name help` and `# TYPE name type`. name must match
 * [a-zA-Z_:][a-zA-Z0-9_:]* and be unique in the exposition (not checked: the caller's duty). */
void kgc_metrics_family(struct kgc_metrics_writer *w, const char *name, enum kgc_metrics_type type,
                        const char *help);

/* One sample of the current counter or gauge family: `name{labels} value`. Label names must
 * match [a-zA-Z_][a-zA-Z0-9_]* and must not be "le". Values: integers print exactly up to 2^53,
 * others with the shortest round-tripping precision; ±Inf and NaN as the format spells them. */
void kgc_metrics_sample(struct kgc_metrics_writer *w, const struct kgc_metrics_label *labels,
                        size_t n_labels, double value);

/* One histogram series of the current histogram family. counts[i] is the non-cumulative number
 * of observations <= bounds[i] (bounds increasing); count includes those above the last bound,
 * so the +Inf bucket is count. Writes the cumulative `_bucket` lines, `_sum` and `_count`. */
void kgc_metrics_histogram(struct kgc_metrics_writer *w, const struct kgc_metrics_label *labels,
                           size_t n_labels, const double *bounds, const uint64_t *counts,
                           size_t n_buckets, uint64_t count, double sum);

/* Hands the text over: returns 0 with *out (malloc'd, NUL-terminated; the caller frees it; an
 * empty exposition is "") and *len (may be NULL), or the writer's error (nothing handed over).
 * Either way the writer is empty afterwards. */
int kgc_metrics_writer_finish(struct kgc_metrics_writer *w, char **out, size_t *len);

/* Frees what the writer holds (after an abandoned rendering). */
void kgc_metrics_writer_release(struct kgc_metrics_writer *w);

/* The workqueue histograms' upper bounds in seconds (10^-6 .. 10^2, KGC_WORKQUEUE_BUCKETS). */
const double *kgc_metrics_workqueue_bounds(void);

/* ---------------------------------------------------------------------------------------------
 * kgc's families.
 * ------------------------------------------------------------------------------------------- */

/* One controller: its work queue and its reconcile counters. */
struct kgc_metrics_controller {
    /* "gatewayclass" | "gateway" | "httproute" | "grpcroute" (the queue's name) */
    const char *name;
    struct kgc_workqueue_stats queue;
    struct kgc_reconcile_stats reconcile;
};

/* One informer (one kind) and the cache it fills. */
struct kgc_metrics_informer {
    const char *kind; /* the plural: "gateways" */
    struct kgc_informer_stats stats;
    size_t objects; /* objects of the kind in the cache */
    size_t bytes;   /* bytes their blocks take */
};

/* One Kong instance as its prober last saw it. */
struct kgc_metrics_kong {
    char url[KGC_KONG_URL_MAX];
    bool up;         /* reachable: the last probe got an HTTP answer */
    bool ready;      /* the last probe found it ready */
    bool configured; /* ready and holding a configuration */
    uint64_t probes, failed_probes;
    unsigned restarts;
};

/* Config pushes (the config syncer's counters; results as kgc_kong_push_kind_name(), plus "error"
 * for a push that got no answer). */
#define KGC_METRICS_PUSH_RESULTS 6 /* applied, unchanged, rejected, busy, other, error */
#define KGC_METRICS_MAX_BUCKETS  32
struct kgc_metrics_push_stats {
    /* indexed by enum kgc_kong_push_kind; [KGC_METRICS_PUSH_RESULTS - 1]: no answer */
    uint64_t by_result[KGC_METRICS_PUSH_RESULTS];
    /* whole POST /config, same buckets as the queues' */
    struct kgc_workqueue_histogram duration;
    /* false: only duration.count and .sum_seconds are known; the family then has the +Inf
     * bucket alone (still a valid histogram) */
    bool duration_bucketed;
    /* Preferred over duration.buckets when n_bounds > 0: the push histogram's own upper bounds
     * (seconds, increasing, static storage: the syncer's 1 ms .. 10 s) and the non-cumulative
     * counts per bound; duration.count and .sum_seconds still give _count and _sum. */
    const double *bounds;
    uint64_t counts[KGC_METRICS_MAX_BUCKETS];
    size_t n_bounds; /* at most KGC_METRICS_MAX_BUCKETS */
    /* HTTPRoutes whose status carries konghq.com/KongLimitation (kgc_route_kong_limitations,
     * by reason: KongLimitation) */
    uint64_t route_kong_limitations;
    /* kgc_change_to_push_seconds: from the cache event of a change to the last byte of its push
     * to the last ready instance (kgc_sync_stats()'s change_to_push_*), on the same bounds as
     * counts (bounds/n_bounds); non-cumulative */
    uint64_t change_counts[KGC_METRICS_MAX_BUCKETS];
    uint64_t change_count;
    double change_sum_seconds;
};

/* What /metrics shows. Fill it with kgc_metrics_snapshot_take(), or by hand in tests (then only
 * kong may need freeing: set it to NULL or to memory kgc_metrics_snapshot_release() may free). */
struct kgc_metrics_snapshot {
    const char *version; /* kgc_build_info{version}; NULL: no build info */
    bool leader;         /* kgc_leader */
    struct kgc_metrics_controller controllers[KGC_RECONCILE_CONTROLLER_COUNT];
    size_t n_controllers;
    struct kgc_metrics_informer informers[KGC_API_KIND_COUNT];
    size_t n_informers;
    bool have_kong;                /* the Kong fields below are set (even with no instance) */
    struct kgc_metrics_kong *kong; /* malloc'd array (freed by ..._release); NULL when n_kong 0 */
    size_t n_kong;
    bool have_view; /* the listener view fields below are set */
    enum kgc_listenercache_source view_source;
    double view_age_seconds;
    size_t view_live_instances;
    bool have_k8s; /* k8s holds the Kubernetes API client's counters */
    struct kgc_k8s_client_stats k8s;
    bool have_pushes; /* pushes holds the config syncer's counters (false: no syncer) */
    struct kgc_metrics_push_stats pushes;
    bool have_invalid_backend; /* the --invalid-backend-listen endpoint runs */
    uint64_t invalid_backend_requests;
};

/* Where a snapshot comes from: the running process's modules. Any pointer may be NULL (its
 * families are then left out). */
struct kgc_metrics_sources {
    struct kgc_reconcile *reconciler;
    struct kgc_informer *const *informers; /* n_informers of them */
    size_t n_informers;
    struct kgc_cache *cache; /* object counts per informer kind */
    struct kgc_kong *kong;
    struct kgc_listenercache *lc;
    struct kgc_k8s_client *client;
    const char *version;
    /* The config syncer: its push counters (kgc_sync_stats()); NULL: no syncer (the push
     * families are left out). */
    struct kgc_sync *sync;
    /* Leadership (kgc_leader_hook_is_leader(), ctx = the elector): NULL means "always the
     * leader" (no leader election). */
    bool (*is_leader)(void *ctx);
    void *is_leader_ctx;
    /* Requests the invalid-backend endpoint answered (kgc_server_hook_requests(), ctx = that
     * server); NULL or false: the family is left out (the endpoint is off). */
    bool (*invalid_backend_requests)(void *ctx, uint64_t *out);
    void *invalid_backend_ctx;
};

/* Reads every source into *out. Returns 0 or KGC_ENOMEM (*out then holds nothing to free).
 * Release with kgc_metrics_snapshot_release(). */
int kgc_metrics_snapshot_take(const struct kgc_metrics_sources *src,
                              struct kgc_metrics_snapshot *out);

/* Frees what a snapshot holds (the kong array) and zeroes it. */
void kgc_metrics_snapshot_release(struct kgc_metrics_snapshot *s);

/* Writes kgc's families from s, in this order (labels in braces; families whose source is
 * absent are left out, a family with no series keeps its HELP and TYPE lines):
 *   kgc_build_info{version} 1, kgc_leader
 *   kgc_workqueue_depth{name}, kgc_workqueue_delayed{name}, kgc_workqueue_in_progress{name},
 *   kgc_workqueue_adds_total{name}, kgc_workqueue_retries_total{name},
 *   kgc_workqueue_queue_duration_seconds{name} (histogram),
 *   kgc_workqueue_work_duration_seconds{name} (histogram),
 *   kgc_workqueue_longest_running_processor_seconds{name},
 *   kgc_workqueue_unfinished_work_seconds{name}
 *   kgc_reconcile_total{controller,result=success|error},
 *   kgc_reconcile_status_writes_total{controller},
 * kgc_reconcile_status_conflicts_total{controller}, kgc_reconcile_unchanged_total{controller},
 * kgc_reconcile_kong_pending_total{controller} kgc_informer_synced{kind},
 * kgc_informer_events_total{kind,type=added|modified|deleted| bookmark|error},
 * kgc_informer_lists_total{kind}, kgc_informer_relists_total{kind},
 *   kgc_informer_list_errors_total{kind}, kgc_informer_watch_restarts_total{kind} (watch requests
 *   after the first), kgc_informer_watch_errors_total{kind}, kgc_informer_synthetic_deletes_total
 *   {kind}, kgc_informer_parse_errors_total{kind}, kgc_cache_objects{kind}, kgc_cache_bytes{kind}
 *   kgc_kong_instance_up{url}, kgc_kong_instance_ready{url}, kgc_kong_instance_configured{url},
 *   kgc_kong_probes_total{url}, kgc_kong_probe_failures_total{url}, kgc_kong_restarts_total{url}
 *   kgc_listener_view_source{source=live|cached|none} (1 for the current, 0 for the others),
 *   kgc_listener_view_age_seconds, kgc_listener_view_live_instances
 *   kgc_k8s_requests_total, kgc_k8s_request_errors_total, kgc_k8s_throttled_total,
 *   kgc_k8s_throttle_wait_seconds_total
 *   kgc_config_push_total{result}, kgc_config_push_duration_seconds (histogram),
 *   kgc_change_to_push_seconds (histogram),
 *   kgc_route_kong_limitations{reason} (gauge)
 *   kgc_invalid_backend_requests_total
 * The writer's error stays in w (see kgc_metrics_writer_finish()). */
void kgc_metrics_render(const struct kgc_metrics_snapshot *s, struct kgc_metrics_writer *w);

/* Snapshot + render + finish: the whole /metrics body. Returns 0 with *out (malloc'd; the caller
 * frees it) and *len (may be NULL), KGC_ENOMEM or KGC_E2BIG (over max_bytes; 0: the default). */
int kgc_metrics_collect(const struct kgc_metrics_sources *src, size_t max_bytes, char **out,
                        size_t *len);

#endif

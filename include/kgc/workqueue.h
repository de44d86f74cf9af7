/* workqueue — client-go's rate-limited work queue contract, in C, for string keys.
 *
 *   - add: a key waiting to be processed is queued once, however often it is added;
 *   - get: blocks for a key; a key being processed is never handed to a second worker; a key
 *     added while it is processed is queued again when the worker calls done;
 *   - add_after: a delay heap; when the same key is delayed twice the earlier deadline wins;
 *   - add_rate_limited: delay = max(per-key exponential backoff, global token bucket), or a fixed
 *     interval (tests); forget resets the key's backoff; num_requeues tells its failure count;
 *   - shutdown: no new keys; get hands out what is queued, then returns KGC_ESHUTDOWN;
 *     shutdown_with_drain also waits until every key handed out is done.
 *
 * Thread-safe. Time comes from an injectable clock (kgc/clock.h): with a fake clock nothing waits
 * on real time; a test advances the clock and calls kgc_workqueue_tick(). */
#ifndef KGC_WORKQUEUE_H
#define KGC_WORKQUEUE_H

#include "kgc/clock.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kgc_workqueue_ratelimit_policy {
    KGC_WORKQUEUE_RATELIMIT_BACKOFF_AND_BUCKET =
        0,                                  /* client-go default: the larger of the two delays */
    KGC_WORKQUEUE_RATELIMIT_FIXED_INTERVAL, /* every retry waits fixed_interval_ns (for tests) */
};

struct kgc_workqueue_ratelimit {
    enum kgc_workqueue_ratelimit_policy policy;
    uint64_t base_delay_ns; /* first per-key backoff; doubles per failure (default 5 ms) */
    uint64_t max_delay_ns;  /* per-key backoff cap (default 1000 s) */
    double bucket_qps;      /* global token refill rate; <= 0 disables the bucket (default 10) */
    uint32_t bucket_burst;  /* global bucket size (default 100) */
    uint64_t fixed_interval_ns; /* FIXED_INTERVAL policy only */
};

/* client-go's defaults: 5 ms × 2^n capped at 1000 s, bucket 10/s burst 100. */
void kgc_workqueue_ratelimit_default(struct kgc_workqueue_ratelimit *cfg);

#define KGC_WORKQUEUE_BUCKETS 9 /* histogram upper bounds: 1e-6 .. 1e2 s, ×10 each */

/* Histogram of durations in seconds; bucket i counts observations <= 10^(i-6) s (cumulative
 * counts are computed by the reader). */
struct kgc_workqueue_histogram {
    uint64_t buckets[KGC_WORKQUEUE_BUCKETS]; /* non-cumulative counts per bucket */
    uint64_t count;                          /* all observations, including over the last bound */
    double sum_seconds;
};

/* A snapshot of the queue's counters, for metrics (names follow client-go's workqueue metrics). */
struct kgc_workqueue_stats {
    size_t depth;           /* keys waiting to be handed out */
    size_t delayed;         /* keys waiting in the delay heap */
    size_t in_progress;     /* keys handed out and not yet done */
    uint64_t adds_total;    /* adds that queued a key (not deduplicated ones) */
    uint64_t retries_total; /* add_rate_limited calls */
    struct kgc_workqueue_histogram queue_latency; /* add → get */
    struct kgc_workqueue_histogram work_duration; /* get → done */
    double longest_running_seconds;               /* the oldest key in progress, seconds so far */
    double unfinished_work_seconds;               /* sum over keys in progress of seconds so far */
};

enum kgc_workqueue_key_state {
    KGC_WORKQUEUE_WAITING = 1,     /* queued, to be handed out */
    KGC_WORKQUEUE_IN_PROGRESS = 2, /* handed out; done not yet called */
    KGC_WORKQUEUE_DELAYED = 4,     /* in the delay heap */
};

struct kgc_workqueue;

/* Creates a queue named `name` (for logs and metrics; copied). rl may be NULL for the defaults;
 * clock may be NULL for the real clock (a fake clock must outlive the queue). Returns NULL when
 * out of memory. Free with kgc_workqueue_destroy(). */
struct kgc_workqueue *kgc_workqueue_new(const char *name, const struct kgc_workqueue_ratelimit *rl,
                                        const struct kgc_clock *clock);

/* Frees the queue and every key in it. No thread may use the queue any more: shut it down and
 * join the workers first. */
void kgc_workqueue_destroy(struct kgc_workqueue *q);

/* The name given at creation. */
const char *kgc_workqueue_name(const struct kgc_workqueue *q);

/* Queues key (copied). Ignored after shutdown. Returns 0 or KGC_ENOMEM. */
int kgc_workqueue_add(struct kgc_workqueue *q, const char *key);

/* Queues key after delay_ns (0: at once). If key is already delayed, the earlier deadline wins.
 * Ignored after shutdown. Returns 0 or KGC_ENOMEM. */
int kgc_workqueue_add_after(struct kgc_workqueue *q, const char *key, uint64_t delay_ns);

/* Queues key after the rate limiter's delay for it and counts a retry. Returns 0 or KGC_ENOMEM. */
int kgc_workqueue_add_rate_limited(struct kgc_workqueue *q, const char *key);

/* Blocks until a key can be handed out and stores it in *key: the string is owned by the queue
 * and valid until kgc_workqueue_done() for it. Returns 0, or KGC_ESHUTDOWN once the queue is shut
 * down and nothing is left to hand out. */
int kgc_workqueue_get(struct kgc_workqueue *q, const char **key);

/* As get, but never blocks: KGC_EAGAIN when nothing is ready now. */
int kgc_workqueue_try_get(struct kgc_workqueue *q, const char **key);

/* As get, but waits at most timeout_ns of real time: KGC_ETIMEDOUT when nothing came. */
int kgc_workqueue_get_timeout(struct kgc_workqueue *q, const char **key, uint64_t timeout_ns);

/* Marks key (as returned by get) processed. If it was added meanwhile it is queued again. */
void kgc_workqueue_done(struct kgc_workqueue *q, const char *key);

/* Resets key's failure count (backoff starts again from the base delay). */
void kgc_workqueue_forget(struct kgc_workqueue *q, const char *key);

/* How many times key went through add_rate_limited since its last forget. */
unsigned kgc_workqueue_num_requeues(struct kgc_workqueue *q, const char *key);

/* Keys waiting to be handed out. */
size_t kgc_workqueue_len(struct kgc_workqueue *q);

/* Moves delayed keys whose deadline has passed into the queue and wakes waiting workers. Workers
 * do this themselves with the real clock; with a fake clock a test calls it after advancing. */
void kgc_workqueue_tick(struct kgc_workqueue *q);

/* Stops accepting keys, drops delayed ones, and wakes every waiting get. */
void kgc_workqueue_shutdown(struct kgc_workqueue *q);

/* Shuts down, then waits (real time, at most timeout_ns; 0 = forever) until every key handed out
 * is done (keys still queued are not waited for, as in client-go). Returns 0, or KGC_ETIMEDOUT
 * with keys still in progress. */
int kgc_workqueue_shutdown_with_drain(struct kgc_workqueue *q, uint64_t timeout_ns);

/* True once shutdown was called. */
bool kgc_workqueue_shutting_down(struct kgc_workqueue *q);

/* Fills *out with a snapshot of the counters. */
void kgc_workqueue_stats(struct kgc_workqueue *q, struct kgc_workqueue_stats *out);

/* Calls fn for every key the queue holds (waiting, in progress or delayed; a key can be in more
 * than one state at once), with its state bits and failure count. Holds the queue's lock: fn must
 * not call back into the queue. */
void kgc_workqueue_foreach(struct kgc_workqueue *q,
                           void (*fn)(const char *key, unsigned state, unsigned requeues,
                                      void *ctx),
                           void *ctx);

#endif

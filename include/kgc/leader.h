/* leader — leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics.
 *
 * Every replica runs an elector on the same Lease. A standby reads the Lease every retry period
 * (with client-go's 1.2 jitter factor), creates it when absent and takes it over (PUT with the
 * last seen resourceVersion, leaseTransitions + 1) when it is free (holderIdentity "") or
 * expired. Expiry is never judged from the remote renewTime: a record counts as expired once it
 * has not changed for leaseDurationSeconds on OUR monotonic clock since we first saw it as it is.
 * The leader renews every retry period; when it has not renewed for renew_deadline it stops
 * leading at once (before the lease can expire for the others, as renew_deadline <
 * lease_duration) and goes back to acquiring. kgc_leader_stop() releases the Lease
 * (holderIdentity "") so a standby takes over within one retry period.
 *
 * Callbacks run on the elector's thread; they must be quick and must not call
 * kgc_leader_stop()/kgc_leader_free(). */
#ifndef KGC_LEADER_H
#define KGC_LEADER_H

#include "kgc/clock.h"
#include "kgc/err.h"
#include "kgc/k8s.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- options ---------------------------------------------------------------------------------- */

#define KGC_LEADER_DEFAULT_NAME  "kgc-leader"
#define KGC_LEADER_IDENTITY_MAX  253 /* longest identity we accept (a DNS subdomain) */
#define KGC_LEADER_JITTER_FACTOR 1.2 /* acquire waits retry + rand[0,1) x 1.2 x retry */
#define KGC_LEADER_DEFAULT_LEASE (15 * KGC_NS_PER_S)
#define KGC_LEADER_DEFAULT_RENEW (10 * KGC_NS_PER_S)
#define KGC_LEADER_DEFAULT_RETRY (2 * KGC_NS_PER_S)

struct kgc_leader_options {
    const char *namespace;      /* --election-namespace: the Lease's namespace (required) */
    const char *name;           /* --election-id: the Lease's name (NULL: "kgc-leader") */
    const char *identity;       /* this replica (NULL: hostname + "_" + 8 random hex digits) */
    uint64_t lease_duration_ns; /* how long a standby waits before taking over (15 s) */
    uint64_t renew_deadline_ns; /* a leader unable to renew this long steps down (10 s) */
    uint64_t retry_period_ns;   /* between attempts (2 s) */
    void (*on_started_leading)(void *ctx);                  /* we became the leader */
    void (*on_stopped_leading)(void *ctx);                  /* we are no longer the leader */
    void (*on_new_leader)(void *ctx, const char *identity); /* the observed holder changed */
    void *ctx;                                              /* passed to the callbacks */
    const struct kgc_clock *clock; /* measures time (NULL: real); waits are always real time */
    bool release_on_cancel;        /* kgc_leader_stop() writes holderIdentity "" (true) */
};

/* Fills o with the defaults above (namespace NULL, callbacks NULL, release_on_cancel true). */
void kgc_leader_options_default(struct kgc_leader_options *o);

/* --- pure decision logic (public so it is unit-testable with a fake clock) -------------------- */

#define KGC_LEADER_HOLDER_MAX 256
#define KGC_LEADER_TIME_MAX   40

/* A Lease's spec as the election reads and writes it. */
struct kgc_leader_record {
    char holder[KGC_LEADER_HOLDER_MAX];     /* holderIdentity; "" = free (longer ones are cut) */
    int64_t lease_duration_s;               /* leaseDurationSeconds (0: absent) */
    char acquire_time[KGC_LEADER_TIME_MAX]; /* acquireTime (MicroTime text, "" when absent) */
    char renew_time[KGC_LEADER_TIME_MAX];   /* renewTime */
    int64_t transitions;                    /* leaseTransitions */
};

/* What an elector remembers of the Lease: the record last seen and when (our clock) it was
 * first seen as it is. Owned by the elector's thread. */
struct kgc_leader_observation {
    bool known;                   /* a record has been seen */
    struct kgc_leader_record rec; /* the last record read or written */
    uint64_t observed_ns;         /* our clock when rec last changed */
};

enum kgc_leader_action {
    KGC_LEADER_WAIT = 0, /* held by another and still valid: try again later */
    KGC_LEADER_CREATE,   /* no Lease: POST next */
    KGC_LEADER_TAKE,     /* free or expired: PUT next (a takeover: transitions + 1) */
    KGC_LEADER_RENEW,    /* ours: PUT next (acquireTime and transitions kept) */
};

/* Records `read` (NULL: the Lease does not exist) in obs at now_ns, then decides what identity
 * does. Unless WAIT, fills next with the record to write: holder identity, leaseDurationSeconds
 * ceil(lease_duration_ns) (at least 1), renewTime now_time. A foreign holder is valid while
 * now_ns < observed_ns + its leaseDurationSeconds (lease_duration_ns when it has none). */
enum kgc_leader_action kgc_leader_decide(struct kgc_leader_observation *obs,
                                         const struct kgc_leader_record *read, uint64_t now_ns,
                                         const char *identity, uint64_t lease_duration_ns,
                                         const char *now_time, struct kgc_leader_record *next);

/* Notes in obs that `written` was stored at now_ns (after a successful POST or PUT). */
void kgc_leader_observe_written(struct kgc_leader_observation *obs,
                                const struct kgc_leader_record *written, uint64_t now_ns);

/* The record that releases cur: holderIdentity "", leaseDurationSeconds 1, acquire/renew
 * now_time, transitions kept (client-go's release). */
void kgc_leader_release_record(const struct kgc_leader_record *cur, const char *now_time,
                               struct kgc_leader_record *next);

/* True when a leader whose last successful renew was at last_ok_ns must step down at now_ns. */
bool kgc_leader_renew_expired(uint64_t last_ok_ns, uint64_t now_ns, uint64_t renew_deadline_ns);

/* How long a standby waits before its next attempt: retry + u x 1.2 x retry, u in [0, 1). */
uint64_t kgc_leader_jittered(uint64_t retry_period_ns, double u);

/* Reads lease.spec into rec (missing fields: "" / 0). Returns 0 or KGC_EPARSE (not an object). */
int kgc_leader_record_from_json(json_object *lease, struct kgc_leader_record *rec);

/* Writes rec into lease.spec (creating spec), leaving every other field alone. Returns 0 or
 * KGC_ENOMEM. */
int kgc_leader_record_to_json(const struct kgc_leader_record *rec, json_object *lease);

/* --- the elector ------------------------------------------------------------------------------ */

struct kgc_leader;

/* An elector for opts (strings copied) talking through client (borrowed: must outlive it; give
 * it a client of its own, unthrottled, with a timeout below lease - renew deadline, so a renew
 * never queues behind other writes). Returns 0, KGC_EINVAL (no namespace, bad name, identity
 * too long, lease <= renew deadline, renew deadline <= 1.2 x retry, zero retry) or KGC_ENOMEM. */
int kgc_leader_new(struct kgc_k8s_client *client, const struct kgc_leader_options *opts,
                   struct kgc_leader **out, struct kgc_err *err);

/* Starts the elector's thread ("kgc-leader"). Returns 0, KGC_EINVAL (already started) or an
 * errno code (no thread left running). */
int kgc_leader_start(struct kgc_leader *l, struct kgc_err *err);

/* True while this replica leads: it has the Lease and renewed it less than renew_deadline ago
 * (so it turns false at the deadline even while a renew is stuck in I/O). Cheap: atomics and a
 * clock read. Any thread. */
bool kgc_leader_is_leader(const struct kgc_leader *l);

/* kgc_leader_is_leader() as a hook (ctx = the elector; NULL: false), for the metrics and the
 * readiness check (kgc_metrics_sources.is_leader). */
bool kgc_leader_hook_is_leader(void *ctx);

/* Stops the elector promptly and joins its thread: an in-flight read of the Lease is cancelled,
 * an in-flight write is not (the API server may take it after a cut client; the client's timeout
 * bounds the wait). When leading, or when that write acquired the Lease: is_leader turns false,
 * on_stopped_leading runs (when it was leading), then (release_on_cancel) the Lease is released
 * with holderIdentity "" so a standby takes over at once. Idempotent. */
void kgc_leader_stop(struct kgc_leader *l);

/* For tests: stops like a crash — no release (the Lease expires on its own); is_leader turns
 * false and on_stopped_leading still runs. */
void kgc_leader_abandon(struct kgc_leader *l);

/* Stops (with release, per the options) and frees l. NULL is a no-op. */
void kgc_leader_free(struct kgc_leader *l);

/* Counters for metrics. */
struct kgc_leader_stats {
    uint64_t transitions;    /* times this elector became the leader */
    uint64_t step_downs;     /* times it stopped leading (deadline, lost lease or stop) */
    uint64_t renew_failures; /* failed renew attempts while leading */
    uint64_t attempts;       /* acquire/renew attempts */
    bool leading;            /* kgc_leader_is_leader() now */
};
void kgc_leader_stats(const struct kgc_leader *l, struct kgc_leader_stats *out);

/* The holder last observed ("" when none or unknown) into buf (NUL-terminated, cut to size).
 * Returns buf. */
char *kgc_leader_holder(const struct kgc_leader *l, char *buf, size_t size);

/* This elector's identity (owned by l). */
const char *kgc_leader_identity(const struct kgc_leader *l);

#endif

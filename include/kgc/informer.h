/* informer — one thread per kind that keeps the shared cache equal to the API server's state:
 *
 *   list (paginated) → replace the kind's store (synthetic deletes for vanished objects)
 *   → watch from the list's resourceVersion with bookmarks → apply each event to the store
 *   → stream ended or broke: watch again from the last resourceVersion seen
 *   → ERROR Expired / 410 / an oversized or unparsable event: list again
 *   → a failure (list or watch refused, unreachable, a watch that dies at once): back off
 *     (initial → max, × factor, jitter) before the next attempt; the backoff resets after
 *     backoff_reset of health.
 *
 * Secrets: only type kubernetes.io/tls ones are listed and watched (fieldSelector
 * type=kubernetes.io/tls, a field kube-apiserver selects on: pkg/registry/core/secret/strategy.go
 * SelectableFields), the only type a Gateway listener may use (Gateway API: "Support: Core - A
 * single reference to a Kubernetes Secret of type kubernetes.io/tls"), in pages of at most
 * secret_page_size: any tenant can create big Secrets of other types, and a page of big TLS ones
 * is bounded. A list page over the client's response cap (KGC_E2BIG) is asked for again with half
 * the limit (down to 1) rather than failing the whole list; an object that cannot be parsed is
 * skipped and counted (parse_errors), the rest is stored.
 *
 * Optional kinds (struct kgc_api_kind_info.optional: GRPCRoute, BackendTLSPolicy, ListenerSet,
 * KongPlugin, KongClusterPlugin, whose CRDs may not be installed): a list answered 404 (no CRD) or
 * 403 (RBAC without the kind) stores an empty list and counts as synced (kgc runs without the kind;
 * one warning "kind not served" or "kind not readable"; neither `lists` nor `list_errors` counts
 * it); it is listed again every not_served_retry_ns (a cheap 404), and once the CRD is installed
 * the next list finds it and the informer watches as usual. ConfigMaps are listed and watched whole
 * (no server-side selector can pick CA bundles); kgc/api.h keeps only their ca.crt.
 *
 * has_synced becomes true once the first list is stored; the controller waits for every
 * informer (kgc_informer_wait_synced) before starting its workers. Cache handlers run on the
 * informer's thread. Time is the real clock (the informer waits on the network anyway). */
#ifndef KGC_INFORMER_H
#define KGC_INFORMER_H

#include "kgc/api.h"
#include "kgc/cache.h"
#include "kgc/err.h"
#include "kgc/k8s.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kgc_informer_options {
    const char *namespace;        /* --watch-namespace: namespaced kinds only here (NULL: all) */
    uint32_t page_size;           /* list page size, limit= (500) */
    uint32_t secret_page_size;    /* the same for Secrets, whose objects are big (10) */
    uint64_t resync_ns;           /* --informer-resync: re-deliver every object as an update
                                     (old == new) this often; 0 disables (0) */
    uint64_t backoff_initial_ns;  /* --informer-backoff-initial (800 ms) */
    uint64_t backoff_max_ns;      /* --informer-backoff-max (30 s) */
    double backoff_factor;        /* growth per consecutive failure (2.0) */
    double backoff_jitter;        /* 1.0: full jitter, the delay is uniform in (0, d]; 0: none */
    uint64_t backoff_reset_ns;    /* --informer-backoff-reset: healthy this long resets (2 min) */
    uint32_t watch_timeout_min_s; /* timeoutSeconds is uniform in [min, 2*min) (300, as
                                     client-go) */
    uint64_t min_watch_ns;        /* a watch that ends sooner with no event is a failure (1 s) */
    uint64_t not_served_retry_ns; /* an optional kind whose list answered 404 (its CRD is not
                                     installed) is listed again this often (5 s) */
};

/* Fills o with the defaults above. */
void kgc_informer_options_default(struct kgc_informer_options *o);

/* Counters for metrics and tests (a snapshot). */
struct kgc_informer_stats {
    bool synced;                /* the first list is stored */
    uint64_t lists;             /* lists completed and stored */
    uint64_t relists;           /* lists after the first (Expired, 410, bad event) */
    uint64_t list_errors;       /* lists that failed */
    uint64_t watches;           /* watch requests made */
    uint64_t watch_errors;      /* watches refused or broken */
    uint64_t added;             /* ADDED events */
    uint64_t modified;          /* MODIFIED events */
    uint64_t deleted;           /* DELETED events */
    uint64_t bookmarks;         /* BOOKMARK events */
    uint64_t error_events;      /* ERROR events (Expired included) */
    uint64_t synthetic_deletes; /* objects gone at a relist */
    uint64_t parse_errors;      /* objects that could not be parsed (skipped) */
    uint64_t page_shrinks;      /* list pages refused as too big and asked for with a smaller
                                   limit */
    uint64_t backoffs;          /* waits after a failure */
    uint64_t resyncs;           /* resync rounds */
    char last_rv[64];           /* the last resourceVersion seen (list, event or bookmark) */
};

/* The field selector of the Secrets informer (list and watch). */
#define KGC_INFORMER_SECRET_FIELD_SELECTOR "type=kubernetes.io/tls"

struct kgc_informer;

/* An informer for kind, writing into cache through client (both must outlive it). opts may be
 * NULL (defaults); it is copied, the namespace string too. Returns 0, KGC_EINVAL or KGC_ENOMEM. */
int kgc_informer_new(struct kgc_k8s_client *client, struct kgc_cache *cache, enum kgc_api_kind kind,
                     const struct kgc_informer_options *opts, struct kgc_informer **out,
                     struct kgc_err *err);

/* Starts the thread (once). Returns 0, KGC_EINVAL (already started) or an errno code. */
int kgc_informer_start(struct kgc_informer *inf, struct kgc_err *err);

/* Stops the thread promptly (a running list or watch is cancelled) and joins it. Idempotent;
 * an informer cannot be started again. */
void kgc_informer_stop(struct kgc_informer *inf);

/* Stops (if needed) and frees. NULL is allowed. */
void kgc_informer_free(struct kgc_informer *inf);

enum kgc_api_kind kgc_informer_kind(const struct kgc_informer *inf);

/* True once the first list is in the cache. */
bool kgc_informer_has_synced(struct kgc_informer *inf);

/* Waits until every informer has synced: 0, KGC_ETIMEDOUT after timeout_ns (0: forever), or
 * KGC_ESHUTDOWN when one of them was stopped first. */
int kgc_informer_wait_synced(struct kgc_informer *const *infs, size_t n, uint64_t timeout_ns);

void kgc_informer_stats(struct kgc_informer *inf, struct kgc_informer_stats *out);

#endif

/* objstore_internal — what objstore.c, watch.c and discovery.c share; not for other modules. */
#ifndef FAS_OBJSTORE_INTERNAL_H
#define FAS_OBJSTORE_INTERNAL_H

#include "jsonutil.h"
#include "objstore.h"

enum fas_event_type { FAS_EV_ADDED = 0, FAS_EV_MODIFIED, FAS_EV_DELETED };

/* One entry of the history ring. Holds references to obj and prev. */
struct fas_event {
    int64_t rv;
    enum fas_event_type type;
    struct fas_rtype *rt;
    struct fas_obj *obj;  /* the new state (DELETED: the final state, with the deletion's rv) */
    struct fas_obj *prev; /* MODIFIED: the previous state; else NULL */
};

struct fas_disc_cache;

struct fas_store {
    pthread_mutex_t mu;         /* the store lock */
    int64_t rv;                 /* last resourceVersion issued */
    atomic_llong dispatched_rv; /* every event up to this rv is queued on its watches */
    struct fas_rtype *types;    /* served types */
    struct fas_rtype *retired;  /* types of deleted CRDs, freed at shutdown */
    uint64_t types_gen;         /* bumped when types change (discovery caches key on it) */
    struct fas_event *ring;     /* history ring: ring_cap slots */
    size_t ring_cap, ring_start, ring_len;
    int64_t min_rv; /* a watch or continue from rv < min_rv is Expired */
    struct fas_schema_ctx schema;
    size_t watch_queue_max;
    unsigned bookmark_ms;
    atomic_bool shutdown;
    size_t n_objects;
    size_t n_watches;
    struct fas_disc_cache *disc; /* discovery/OpenAPI documents, owned by discovery.c */

    /* The namespace "controller": deletes the contents of terminating namespaces after a delay,
     * as the real one does asynchronously. */
    unsigned ns_cleanup_ms; /* 0: synchronously, inside the DELETE */
    pthread_t ns_thread;    /* runs ns_cleanup_loop; joined by fas_store_free */
    bool ns_thread_started;
    bool ns_stop;         /* store lock */
    pthread_cond_t ns_cv; /* signalled on new work and on stop (waits on the store lock) */
    struct fas_ns_pending *ns_pending; /* terminating namespaces waiting for cleanup (store lock) */
    size_t n_ns_pending;
};

struct fas_ns_pending {
    char name[256];
    uint64_t due_ns; /* monotonic time of the cleanup */
};

/* Builds a watch line {"type":T,"object":<obj in api_version>}\n. */
struct fas_line *fas_event_line(const char *type, struct fas_obj *o, const char *api_version);
/* Appends obj's JSON with its apiVersion rewritten to api_version. */
int fas_obj_emit(struct fas_buf *b, const struct fas_obj *o, const char *api_version);
/* Queues a line on w (reference taken over). Store lock held. */
void fas_watch_enqueue(struct fas_watch *w, struct fas_line *line);
/* Does obj pass w's namespace and selectors? */
bool fas_watch_matches(const struct fas_watch *w, const struct fas_obj *o);
/* A new, unregistered watch. */
struct fas_watch *fas_watch_new(struct fas_store *s, struct fas_rtype *rt, const char *api_version);

/* Discovery cache lifecycle (discovery.c). */
struct fas_disc_cache *fas_disc_cache_new(void);
void fas_disc_cache_free(struct fas_disc_cache *c);

#endif

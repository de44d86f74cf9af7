/* objstore — the test API server's state: resource types, objects, the global resourceVersion,
 * the event history that watches resume from, and the watches themselves.
 *
 * One mutex (the store lock) guards everything except each watch's event queue, which has its own
 * lock (taken after the store lock, never before). Stored objects are immutable and
 * reference-counted: a reader takes references under the lock and serialises outside it.
 *
 * Every operation answers with a struct fas_reply (HTTP code + JSON body), worded as the real API
 * server words it; the HTTP layer only maps requests to these calls. */
#ifndef FAS_OBJSTORE_H
#define FAS_OBJSTORE_H

#include "reply.h"
#include "rtypes.h"
#include "schema.h"
#include "selector.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A stored object: immutable once published; freed when the last reference goes. */
struct fas_obj {
    atomic_int refs;
    int64_t rv;       /* metadata.resourceVersion */
    char *json;       /* canonical JSON: {"apiVersion":"...","kind":...,"metadata":{...},...} */
    size_t len;       /* strlen(json) */
    size_t av_end;    /* json[av_end] is the ',' after the apiVersion value */
    char *key;        /* "ns/name" (namespaced) or "name": the sort key */
    const char *name; /* points into key */
    char *ns;         /* namespace, NULL for cluster-scoped objects */
    char *uid;        /* metadata.uid */
    char **labels;    /* n_labels (key, value) pairs, flattened */
    size_t n_labels;
    bool deleting; /* metadata.deletionTimestamp is set */
    size_t n_finalizers;
    char *created; /* metadata.creationTimestamp */
    char *type;    /* the top-level "type" string (a Secret's), NULL when none: field selector */
    /* The fas_rversion.schema_gen its content was pruned, defaulted and validated under without
     * a problem (a custom resource written through that version), 0: not known. A status write
     * through the same version then walks only the new status (fas_schema_*_only). */
    uint64_t valid_gen;
};

void fas_obj_ref(struct fas_obj *o);
void fas_obj_unref(struct fas_obj *o);

/* A serialised event line shared by the watches it is queued on. */
struct fas_line {
    atomic_int refs;
    size_t len;
    char data[]; /* len bytes, ends with '\n' */
};

struct fas_line *fas_line_new(size_t len);
void fas_line_unref(struct fas_line *l);

struct fas_wq_item {
    struct fas_line *line;
    struct fas_wq_item *next;
};

struct fas_store;

/* An open watch. Created by fas_store_watch(), drained by fas_watch_read() from the connection's
 * thread, released by fas_watch_release(). */
struct fas_watch {
    /* Filter: set at creation, read under the store lock. */
    struct fas_store *store;
    struct fas_rtype *rt;
    char *api_version;             /* the version the client asked for */
    char *ns;                      /* NULL: every namespace */
    struct fas_selector *lsel;     /* label selector, NULL: all */
    struct fas_selector *fsel;     /* field selector, NULL: all */
    bool bookmarks;                /* allowWatchBookmarks=true */
    bool table;                    /* events carry Tables (kubectl get -w) */
    bool registered;               /* on rt->watches (store lock) */
    struct fas_watch *prev, *next; /* rt->watches list (store lock) */

    /* Queue: guarded by mu; producers hold the store lock too. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct fas_wq_item *head, *tail;
    size_t queued;
    bool closed; /* no more events: end once the queue is drained */
    bool cut;    /* end now, dropping what is queued */

    /* Streaming state: only the thread that reads the watch touches these. */
    struct fas_line *cur;
    size_t cur_off;
    uint64_t deadline_ns;  /* timeoutSeconds, 0: none */
    uint64_t last_send_ns; /* for idle bookmarks */
    int fd;                /* client socket for hang-up detection, -1: unknown */
};

/* Store settings. */
struct fas_store_opts {
    size_t history;           /* events kept for watch resumption (0: default 10000) */
    size_t watch_queue_max;   /* events queued per watch before it is cut (0: default 100000) */
    unsigned bookmark_ms;     /* idle time before a bookmark (0: default 1000) */
    int namespace_cleanup_ms; /* delay before a deleted namespace's contents go (real clusters
                                 take seconds); 0: at once, inside the DELETE; < 0: default 500 */
};

/* Where a request points. Strings borrowed. */
struct fas_target {
    const char *group; /* "" for /api/v1 */
    const char *version;
    const char *plural;
    const char *ns;          /* the namespace in the path, NULL when none */
    const char *name;        /* NULL: the collection */
    const char *subresource; /* NULL or "status" */
};

struct fas_list_opts {
    const char *label_selector;
    const char *field_selector;
    long limit;       /* 0: no limit */
    const char *cont; /* continue token */
    const char *resource_version;
    const char *rv_match;
    bool allow_bookmarks;
    bool send_initial_events;
    long timeout_seconds; /* 0: none */
    bool table;           /* answer with a meta.k8s.io/v1 Table */
};

/* fieldValidation: Warn (the default when the query parameter is absent), Strict or Ignore. */
enum fas_field_validation { FAS_FV_WARN = 0, FAS_FV_STRICT, FAS_FV_IGNORE };

struct fas_write_opts {
    bool dry_run;
    enum fas_field_validation field_validation;
    bool force; /* apply: force=true */
};

/* Creates a store with the built-in types and the namespaces default, kube-system, kube-public
 * and kube-node-lease. Returns 0 or KGC_ENOMEM. */
int fas_store_new(const struct fas_store_opts *opts, struct fas_store **out);

/* Frees everything; every watch must have been released. */
void fas_store_free(struct fas_store *s);

/* The current resourceVersion. */
int64_t fas_store_rv(struct fas_store *s);

/* Number of objects of all types (for tests and benches). */
size_t fas_store_count(struct fas_store *s);

/* Number of open (registered) watches. */
size_t fas_store_watch_count(struct fas_store *s);

void fas_store_get(struct fas_store *s, const struct fas_target *t, bool table,
                   struct fas_reply *r);
void fas_store_list(struct fas_store *s, const struct fas_target *t, const struct fas_list_opts *o,
                    struct fas_reply *r);
void fas_store_create(struct fas_store *s, const struct fas_target *t, const char *body, size_t len,
                      const struct fas_write_opts *o, struct fas_reply *r);
void fas_store_update(struct fas_store *s, const struct fas_target *t, const char *body, size_t len,
                      const struct fas_write_opts *o, struct fas_reply *r);
/* content_type: application/merge-patch+json, application/json-patch+json,
 * application/strategic-merge-patch+json (built-ins) or application/apply-patch+yaml (JSON body;
 * creates a missing object). */
void fas_store_patch(struct fas_store *s, const struct fas_target *t, const char *content_type,
                     const char *body, size_t len, const struct fas_write_opts *o,
                     struct fas_reply *r);
/* body: DeleteOptions JSON (preconditions, dryRun) or empty. */
void fas_store_delete(struct fas_store *s, const struct fas_target *t, const char *body, size_t len,
                      const struct fas_write_opts *o, struct fas_reply *r);
void fas_store_delete_collection(struct fas_store *s, const struct fas_target *t,
                                 const struct fas_list_opts *lo, const struct fas_write_opts *o,
                                 struct fas_reply *r);

/* Opens a watch. On success *out is set and r->code is 0. When the request is refused r holds the
 * error (and *out is NULL). An expired resourceVersion gives a watch whose only event is the
 * ERROR Expired Status. */
void fas_store_watch(struct fas_store *s, const struct fas_target *t, const struct fas_list_opts *o,
                     struct fas_watch **out, struct fas_reply *r);

/* Copies up to max bytes of the next event(s) into buf, waiting (bounded steps) for events.
 * Returns the byte count, -1 at the regular end (timeout, server cut, closed) or -2 when the
 * client went away. */
ssize_t fas_watch_read(struct fas_watch *w, char *buf, size_t max);

/* Unregisters and frees a watch. */
void fas_watch_release(struct fas_watch *w);

/* Ends every open watch now (clients see the stream end and watch again). */
void fas_store_close_watches(struct fas_store *s);

/* Forgets the event history: every resourceVersion issued so far becomes too old to resume a
 * watch or a list from (watches get an ERROR Expired event, continue tokens 410). */
void fas_store_drop_history(struct fas_store *s);

/* Tests: queues len raw bytes, as they are (the caller adds the '\n' that ends a line), on every
 * open watch of the resource plural (in group, when group is not NULL): a malformed event no
 * write can produce. Returns the number of watches that got it, or -1 when no such resource. */
int fas_store_inject(struct fas_store *s, const char *group, const char *plural, const char *data,
                     size_t len);

/* Stops everything for shutdown: ends watches, refuses new ones. */
void fas_store_shutdown(struct fas_store *s);

/* Discovery and OpenAPI documents (paths: /api, /apis, /api/v1, /apis/G, /apis/G/V,
 * /openapi/v3, /openapi/v3/apis/G/V, ...). aggregated: answer APIGroupDiscoveryList for /api and
 * /apis. Fills r with 404 when the path names nothing. */
void fas_store_discovery(struct fas_store *s, const char *path, bool aggregated,
                         struct fas_reply *r);
void fas_store_openapi(struct fas_store *s, const char *path, struct fas_reply *r);

/* GET /openapi/v2: a minimal Swagger 2.0 document (info, empty paths and definitions), as JSON or
 * as the protobuf kubectl asks for (Accept application/com.github.proto-openapi.spec.v2@v1.0+
 * protobuf), negotiated like kube-openapi's handler; 406 when accept names neither. */
void fas_store_openapi_v2(const char *accept, struct fas_reply *r);

/* For the discovery module: the store lock must be held. */
struct fas_rtype *fas_store_types_locked(struct fas_store *s);

#endif

/* cache — the shared store of typed objects, one map per kind keyed "namespace/name" (or "name"
 * for cluster-scoped kinds), with secondary indexes and change handlers.
 *
 * Writers are the informers (one thread per kind); readers are the reconcilers, the translator
 * and the debug endpoint. Objects are immutable and reference-counted (kgc/api.h): a reader gets
 * its own reference and never blocks a writer for longer than a map lookup or a list copy. Each
 * kind has its own writer-preferring rwlock; no lock is held while handlers run.
 *
 * Handlers run on the writing (informer) thread after the store was updated, outside every lock,
 * in the order they were added, with borrowed objects valid for the call (take a reference to
 * keep one): add (old NULL), update (both), delete (new NULL). An object whose resourceVersion
 * did not change is not an update (a resumed watch that repeats an event, a relist). */
#ifndef KGC_CACHE_H
#define KGC_CACHE_H

#include "kgc/api.h"
#include "kgc/err.h"

#include <stdbool.h>
#include <stddef.h>

struct kgc_cache;

/* Secondary indexes; the value a lookup takes is given for each. */
enum kgc_cache_index {
    KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY = 0,      /* "ns/name" of a parent Gateway or ListenerSet */
    KGC_CACHE_IDX_HTTPROUTE_BY_SERVICE,          /* "ns/name" of a backend Service */
    KGC_CACHE_IDX_GATEWAY_BY_CLASS,              /* GatewayClass name */
    KGC_CACHE_IDX_GATEWAY_BY_SECRET,             /* "ns/name" of a Secret in a certificateRef or
                                                    spec.tls.backend.clientCertificateRef */
    KGC_CACHE_IDX_ENDPOINTSLICE_BY_SERVICE,      /* "ns/name" of the Service (service-name label) */
    KGC_CACHE_IDX_REFERENCEGRANT_BY_NAMESPACE,   /* namespace of the grant (the target namespace) */
    KGC_CACHE_IDX_GRPCROUTE_BY_GATEWAY,          /* as HTTPROUTE_BY_GATEWAY, for GRPCRoutes */
    KGC_CACHE_IDX_GRPCROUTE_BY_SERVICE,          /* as HTTPROUTE_BY_SERVICE, for GRPCRoutes */
    KGC_CACHE_IDX_BACKENDTLSPOLICY_BY_SERVICE,   /* "ns/name" of a targetRefs Service */
    KGC_CACHE_IDX_BACKENDTLSPOLICY_BY_CONFIGMAP, /* "ns/name" of a caCertificateRefs ConfigMap */
    KGC_CACHE_IDX_TLSROUTE_BY_GATEWAY,           /* as HTTPROUTE_BY_GATEWAY, for TLSRoutes */
    KGC_CACHE_IDX_TLSROUTE_BY_SERVICE,           /* as HTTPROUTE_BY_SERVICE, for TLSRoutes */
    KGC_CACHE_IDX_TCPROUTE_BY_GATEWAY,           /* ... for TCPRoutes */
    KGC_CACHE_IDX_TCPROUTE_BY_SERVICE,
    KGC_CACHE_IDX_UDPROUTE_BY_GATEWAY, /* ... for UDPRoutes */
    KGC_CACHE_IDX_UDPROUTE_BY_SERVICE,
    KGC_CACHE_IDX_COUNT
};

/* A list of references, sorted by key. Release with kgc_cache_list_release(). */
struct kgc_cache_list {
    const struct kgc_api_obj **items;
    size_t n;
};

/* Called on add (old_obj NULL), update, and delete (new_obj NULL). */
typedef void (*kgc_cache_handler_fn)(enum kgc_api_kind kind, const struct kgc_api_obj *old_obj,
                                     const struct kgc_api_obj *new_obj, void *ctx);

/* What a replace did (counts of handler calls). */
struct kgc_cache_replace_result {
    size_t added;
    size_t updated;
    size_t deleted;   /* objects that vanished: synthetic deletes */
    size_t unchanged; /* same resourceVersion: kept, no handler call */
};

/* An empty cache, or NULL when out of memory. Free with kgc_cache_free() once no thread uses it
 * (stop the informers first). */
struct kgc_cache *kgc_cache_new(void);
void kgc_cache_free(struct kgc_cache *cache);

/* Adds a change handler for kind (at most 16 per kind). Add handlers before the informers start:
 * a handler added later misses earlier changes. Returns 0, KGC_EINVAL or KGC_ENOSPC. */
int kgc_cache_add_handler(struct kgc_cache *cache, enum kgc_api_kind kind, kgc_cache_handler_fn fn,
                          void *ctx);

/* --- writers (the informer of the object's kind) ---------------------------------------------- */

/* Stores obj (taking over the caller's reference) under its key, replacing any previous object,
 * then calls the handlers (add or update). An object with the stored resourceVersion is dropped
 * without a handler call. *changed (may be NULL) tells whether the store changed. Returns 0 or
 * KGC_ENOMEM (obj released, store unchanged). */
int kgc_cache_upsert(struct kgc_cache *cache, struct kgc_api_obj *obj, bool *changed);

/* Removes the object with this key and calls the delete handlers with it. Returns 0 or
 * KGC_ENOENT (nothing stored under key; no handler call). */
int kgc_cache_delete(struct kgc_cache *cache, enum kgc_api_kind kind, const char *key);

/* Makes the kind's store hold exactly objs (a full list), taking over one reference to each:
 * adds new keys, updates changed ones, deletes keys that are not in objs (synthetic deletes),
 * then calls the handlers. Duplicate keys in objs: the last wins. res may be NULL. Returns 0 or
 * KGC_ENOMEM (every obj released, store unchanged). */
int kgc_cache_replace(struct kgc_cache *cache, enum kgc_api_kind kind, struct kgc_api_obj **objs,
                      size_t n, struct kgc_cache_replace_result *res);

/* Calls the update handlers of kind with old == new for every stored object (a periodic resync,
 * on the caller's thread, outside the lock). Returns how many objects were re-delivered. */
size_t kgc_cache_resync(struct kgc_cache *cache, enum kgc_api_kind kind);

/* --- readers (any thread) --------------------------------------------------------------------- */

/* A new reference to the object (namespace NULL for cluster-scoped kinds), or NULL. Release with
 * kgc_api_obj_unref(). */
const struct kgc_api_obj *kgc_cache_get(struct kgc_cache *cache, enum kgc_api_kind kind,
                                        const char *namespace, const char *name);

/* The same by store key ("ns/name" or "name"). */
const struct kgc_api_obj *kgc_cache_get_key(struct kgc_cache *cache, enum kgc_api_kind kind,
                                            const char *key);

/* Every object of kind (in namespace, when not NULL), sorted by key. Returns 0 or KGC_ENOMEM. */
int kgc_cache_list(struct kgc_cache *cache, enum kgc_api_kind kind, const char *namespace,
                   struct kgc_cache_list *out);

/* The same in no particular order (no sort: for callers that only count or test, e.g. the
 * attachedRoutes count of every Gateway reconcile over every HTTPRoute). */
int kgc_cache_list_unsorted(struct kgc_cache *cache, enum kgc_api_kind kind, const char *namespace,
                            struct kgc_cache_list *out);

/* The objects an index maps value to, sorted by key. Returns 0, KGC_EINVAL or KGC_ENOMEM. */
int kgc_cache_by_index(struct kgc_cache *cache, enum kgc_cache_index index, const char *value,
                       struct kgc_cache_list *out);

/* Whether some object is indexed under value (e.g. a Secret referenced by any Gateway). */
bool kgc_cache_index_has(struct kgc_cache *cache, enum kgc_cache_index index, const char *value);

/* Releases every reference in the list and the array; the list is empty afterwards. */
void kgc_cache_list_release(struct kgc_cache_list *list);

/* The number of objects of kind, and the bytes their blocks take (for metrics and benches). */
size_t kgc_cache_count(struct kgc_cache *cache, enum kgc_api_kind kind);
size_t kgc_cache_bytes(struct kgc_cache *cache, enum kgc_api_kind kind);

/* Writes the cache as JSON: {"<plural>": [object, ...], ...} with kinds in enum order and
 * objects sorted by key, each as kgc_api_to_json() emits it (metadata.resourceVersion included,
 * Secret data "<redacted>"). kind (a plural such as "httproutes", or a kind name), namespace and
 * name narrow it down; NULL means all. A namespace leaves out cluster-scoped kinds unless one is
 * asked for by kind. *out is malloc'd and NUL-terminated (the caller frees it),
 * *len (may be NULL) its length. Returns 0, KGC_EINVAL (unknown kind) or KGC_ENOMEM. */
int kgc_cache_dump(struct kgc_cache *cache, const char *kind, const char *namespace,
                   const char *name, bool pretty, char **out, size_t *len, struct kgc_err *err);

#endif

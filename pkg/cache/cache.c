/* The shared store: per-kind maps of immutable objects, secondary indexes and handlers. */
#include "kgc/cache.h"

#include "kgc/strmap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HANDLERS 16
#define GW_GROUP     "gateway.networking.k8s.io"

struct handler {
    kgc_cache_handler_fn fn;
    void *ctx;
};

/* The objects indexed under one value: one allocation holding the value; a single object is
 * stored inline (most buckets of the by-Service and by-Secret indexes hold one). objs are
 * borrowed from the kind's map (which holds the references) and change only under the kind's
 * write lock. */
struct bucket {
    uint32_t n;   /* objects in the bucket */
    uint32_t cap; /* 0: the object (if any) is `one`; else `many` has cap slots */
    union {
        const struct kgc_api_obj *one;
        const struct kgc_api_obj **many;
    } u;
    char value[]; /* the index value (the map's key points here) */
};

static const struct kgc_api_obj **bucket_items(struct bucket *b)
{
    return b->cap ? b->u.many : &b->u.one;
}

struct kind_store {
    pthread_rwlock_t lock;  /* guards objs, bytes and this kind's indexes */
    struct kgc_strmap objs; /* meta.key → object (one reference each) */
    size_t bytes;           /* sum of the objects' block sizes */
    struct handler handlers[MAX_HANDLERS];
    unsigned n_handlers; /* entries below it are final (atomic: written under handlers_mu) */
};

struct kgc_cache {
    struct kind_store kinds[KGC_API_KIND_COUNT];
    struct kgc_strmap idx[KGC_CACHE_IDX_COUNT]; /* value → bucket, under the indexed kind's lock */
    pthread_mutex_t handlers_mu;                /* serialises kgc_cache_add_handler */
};

static const enum kgc_api_kind idx_kind[KGC_CACHE_IDX_COUNT] = {
    [KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY] = KGC_API_HTTPROUTE,
    [KGC_CACHE_IDX_HTTPROUTE_BY_SERVICE] = KGC_API_HTTPROUTE,
    [KGC_CACHE_IDX_GATEWAY_BY_CLASS] = KGC_API_GATEWAY,
    [KGC_CACHE_IDX_GATEWAY_BY_SECRET] = KGC_API_GATEWAY,
    [KGC_CACHE_IDX_ENDPOINTSLICE_BY_SERVICE] = KGC_API_ENDPOINTSLICE,
    [KGC_CACHE_IDX_REFERENCEGRANT_BY_NAMESPACE] = KGC_API_REFERENCEGRANT,
    [KGC_CACHE_IDX_GRPCROUTE_BY_GATEWAY] = KGC_API_GRPCROUTE,
    [KGC_CACHE_IDX_GRPCROUTE_BY_SERVICE] = KGC_API_GRPCROUTE,
    [KGC_CACHE_IDX_BACKENDTLSPOLICY_BY_SERVICE] = KGC_API_BACKENDTLSPOLICY,
    [KGC_CACHE_IDX_BACKENDTLSPOLICY_BY_CONFIGMAP] = KGC_API_BACKENDTLSPOLICY,
    [KGC_CACHE_IDX_TLSROUTE_BY_GATEWAY] = KGC_API_TLSROUTE,
    [KGC_CACHE_IDX_TLSROUTE_BY_SERVICE] = KGC_API_TLSROUTE,
    [KGC_CACHE_IDX_TCPROUTE_BY_GATEWAY] = KGC_API_TCPROUTE,
    [KGC_CACHE_IDX_TCPROUTE_BY_SERVICE] = KGC_API_TCPROUTE,
    [KGC_CACHE_IDX_UDPROUTE_BY_GATEWAY] = KGC_API_UDPROUTE,
    [KGC_CACHE_IDX_UDPROUTE_BY_SERVICE] = KGC_API_UDPROUTE,
};

/* --- index values ----------------------------------------------------------------------------- */

/* The distinct index values of one object, as malloc'd strings. */
struct valset {
    char **v;
    size_t n;
    size_t cap;
    bool oom;
};

static void valset_add(struct valset *s, const char *ns, const char *name)
{
    if (!name || !name[0] || s->oom)
        return;
    char buf[600];
    int len =
        ns ? snprintf(buf, sizeof(buf), "%s/%s", ns, name) : snprintf(buf, sizeof(buf), "%s", name);
    if (len < 0 || (size_t)len >= sizeof(buf))
        return; /* longer than any valid Kubernetes name pair: nothing can match it */
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->v[i], buf) == 0)
            return;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        char **v = realloc(s->v, cap * sizeof(*v));
        if (!v) {
            s->oom = true;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    char *d = strdup(buf);
    if (!d) {
        s->oom = true;
        return;
    }
    s->v[s->n++] = d;
}

static void valset_free(struct valset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static bool is(const char *v, const char *dflt_or_null, const char *want)
{
    const char *x = v ? v : dflt_or_null;
    return x && strcmp(x, want) == 0;
}

static bool core_group(const char *g)
{
    return !g || g[0] == '\0' || strcmp(g, "core") == 0;
}

static void index_values(enum kgc_cache_index idx, const struct kgc_api_obj *o, struct valset *s)
{
    const char *ns = o->meta.namespace;
    switch (idx) {
    case KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY:
    case KGC_CACHE_IDX_GRPCROUTE_BY_GATEWAY:
    case KGC_CACHE_IDX_TLSROUTE_BY_GATEWAY:
    case KGC_CACHE_IDX_TCPROUTE_BY_GATEWAY:
    case KGC_CACHE_IDX_UDPROUTE_BY_GATEWAY: {
        const struct kgc_api_httproute *r = kgc_api_as_route(o);
        for (uint32_t i = 0; r && i < r->n_parent_refs; i++) {
            const struct kgc_api_parent_ref *p = &r->parent_refs[i];
            /* a ListenerSet parent is indexed by its own namespace/name too: the status of the
             * set (and of its Gateway, which counts the set's routes) walks them this way */
            if (is(p->group, GW_GROUP, GW_GROUP) &&
                (is(p->kind, "Gateway", "Gateway") || is(p->kind, NULL, "ListenerSet")))
                valset_add(s, p->namespace ? p->namespace : ns, p->name);
        }
        break;
    }
    case KGC_CACHE_IDX_HTTPROUTE_BY_SERVICE:
    case KGC_CACHE_IDX_GRPCROUTE_BY_SERVICE:
    case KGC_CACHE_IDX_TLSROUTE_BY_SERVICE:
    case KGC_CACHE_IDX_TCPROUTE_BY_SERVICE:
    case KGC_CACHE_IDX_UDPROUTE_BY_SERVICE: {
        const struct kgc_api_httproute *r = kgc_api_as_route(o);
        for (uint32_t i = 0; r && i < r->n_rules; i++) {
            for (uint32_t k = 0; k < r->rules[i].n_backend_refs; k++) {
                const struct kgc_api_backend_ref *b = &r->rules[i].backend_refs[k];
                if (core_group(b->group) && is(b->kind, "Service", "Service"))
                    valset_add(s, b->namespace ? b->namespace : ns, b->name);
            }
        }
        break;
    }
    case KGC_CACHE_IDX_GATEWAY_BY_CLASS: {
        const struct kgc_api_gateway *g = kgc_api_as_gateway(o);
        if (g)
            valset_add(s, NULL, g->gateway_class_name);
        break;
    }
    case KGC_CACHE_IDX_GATEWAY_BY_SECRET: {
        const struct kgc_api_gateway *g = kgc_api_as_gateway(o);
        for (uint32_t i = 0; g && i < g->n_listeners; i++) {
            const struct kgc_api_listener_tls *t = g->listeners[i].tls;
            for (uint32_t k = 0; t && k < t->n_certificate_refs; k++) {
                const struct kgc_api_object_ref *c = &t->certificate_refs[k];
                if (core_group(c->group) && is(c->kind, "Secret", "Secret"))
                    valset_add(s, c->namespace ? c->namespace : ns, c->name);
            }
        }
        const struct kgc_api_object_ref *cc = g ? g->backend_client_certificate_ref : NULL;
        if (cc && core_group(cc->group) && is(cc->kind, "Secret", "Secret"))
            valset_add(s, cc->namespace ? cc->namespace : ns, cc->name);
        break;
    }
    case KGC_CACHE_IDX_BACKENDTLSPOLICY_BY_SERVICE: {
        const struct kgc_api_backendtlspolicy *p = kgc_api_as_backendtlspolicy(o);
        for (uint32_t i = 0; p && i < p->n_target_refs; i++) {
            const struct kgc_api_policy_target_ref *t = &p->target_refs[i];
            if (core_group(t->group) && is(t->kind, NULL, "Service"))
                valset_add(s, ns, t->name);
        }
        break;
    }
    case KGC_CACHE_IDX_BACKENDTLSPOLICY_BY_CONFIGMAP: {
        const struct kgc_api_backendtlspolicy *p = kgc_api_as_backendtlspolicy(o);
        for (uint32_t i = 0; p && i < p->n_ca_certificate_refs; i++) {
            const struct kgc_api_object_ref *r = &p->ca_certificate_refs[i];
            if (core_group(r->group) && is(r->kind, NULL, "ConfigMap"))
                valset_add(s, ns, r->name);
        }
        break;
    }
    case KGC_CACHE_IDX_ENDPOINTSLICE_BY_SERVICE: {
        const struct kgc_api_endpointslice *e = kgc_api_as_endpointslice(o);
        if (e)
            valset_add(s, ns, e->service_name);
        break;
    }
    case KGC_CACHE_IDX_REFERENCEGRANT_BY_NAMESPACE:
        valset_add(s, NULL, ns);
        break;
    default:
        break;
    }
}

/* --- index maintenance (under the kind's write lock) ----------------------------------------- */

static void bucket_free(struct bucket *b)
{
    if (b->cap)
        free(b->u.many);
    free(b);
}

static int index_add(struct kgc_strmap *m, const char *value, const struct kgc_api_obj *o)
{
    struct bucket *b = kgc_strmap_get(m, value);
    if (!b) {
        size_t len = strlen(value);
        b = calloc(1, sizeof(*b) + len + 1);
        if (!b)
            return KGC_ENOMEM;
        memcpy(b->value, value, len + 1);
        if (kgc_strmap_put(m, b->value, b, NULL) != 0) {
            free(b);
            return KGC_ENOMEM;
        }
    }
    if (b->cap == 0 && b->n == 0) {
        b->u.one = o;
        b->n = 1;
        return 0;
    }
    if (b->n == b->cap || b->cap == 0) {
        uint32_t cap = b->cap ? b->cap * 2 : 4;
        const struct kgc_api_obj **v =
            b->cap ? realloc(b->u.many, cap * sizeof(void *)) : malloc(cap * sizeof(void *));
        if (!v)
            return KGC_ENOMEM;
        if (b->cap == 0)
            v[0] = b->u.one;
        b->u.many = v;
        b->cap = cap;
    }
    b->u.many[b->n++] = o;
    return 0;
}

static void index_remove(struct kgc_strmap *m, const char *value, const struct kgc_api_obj *o)
{
    struct bucket *b = kgc_strmap_get(m, value);
    if (!b)
        return;
    const struct kgc_api_obj **items = bucket_items(b);
    for (uint32_t i = 0; i < b->n; i++) {
        if (items[i] == o) {
            items[i] = items[--b->n];
            break;
        }
    }
    if (b->n == 0) {
        kgc_strmap_remove(m, value);
        bucket_free(b);
    }
}

static void index_map_free(struct kgc_strmap *m)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (kgc_strmap_next(m, &pos, &k, &v))
        bucket_free(v);
    kgc_strmap_destroy(m);
}

/* Adds (add=true) or removes o under every value of every index of its kind. */
static int index_object(struct kgc_cache *c, const struct kgc_api_obj *o, bool add)
{
    int rc = 0;
    for (int i = 0; i < KGC_CACHE_IDX_COUNT; i++) {
        if (idx_kind[i] != o->kind)
            continue;
        struct valset s = {0};
        index_values((enum kgc_cache_index)i, o, &s);
        if (s.oom)
            rc = KGC_ENOMEM;
        for (size_t k = 0; k < s.n; k++) {
            if (add) {
                if (index_add(&c->idx[i], s.v[k], o) != 0)
                    rc = KGC_ENOMEM;
            } else {
                index_remove(&c->idx[i], s.v[k], o);
            }
        }
        valset_free(&s);
    }
    return rc;
}

/* --- lifecycle and handlers ------------------------------------------------------------------- */

struct kgc_cache *kgc_cache_new(void)
{
    struct kgc_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* Readers are many (workers); never let them starve the one writer per kind. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        pthread_rwlock_init(&c->kinds[k].lock, &attr);
        kgc_strmap_init(&c->kinds[k].objs);
    }
    pthread_rwlockattr_destroy(&attr);
    for (int i = 0; i < KGC_CACHE_IDX_COUNT; i++)
        kgc_strmap_init(&c->idx[i]);
    pthread_mutex_init(&c->handlers_mu, NULL);
    return c;
}

static void unref_all(struct kgc_strmap *m)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (kgc_strmap_next(m, &pos, &k, &v))
        kgc_api_obj_unref(v);
}

void kgc_cache_free(struct kgc_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < KGC_CACHE_IDX_COUNT; i++)
        index_map_free(&c->idx[i]);
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        unref_all(&c->kinds[k].objs);
        kgc_strmap_destroy(&c->kinds[k].objs);
        pthread_rwlock_destroy(&c->kinds[k].lock);
    }
    pthread_mutex_destroy(&c->handlers_mu);
    free(c);
}

static bool valid_kind(enum kgc_api_kind kind)
{
    return (int)kind >= 0 && kind < KGC_API_KIND_COUNT;
}

int kgc_cache_add_handler(struct kgc_cache *c, enum kgc_api_kind kind, kgc_cache_handler_fn fn,
                          void *ctx)
{
    if (!c || !valid_kind(kind) || !fn)
        return KGC_EINVAL;
    struct kind_store *ks = &c->kinds[kind];
    pthread_mutex_lock(&c->handlers_mu);
    unsigned n = __atomic_load_n(&ks->n_handlers, __ATOMIC_RELAXED);
    if (n >= MAX_HANDLERS) {
        pthread_mutex_unlock(&c->handlers_mu);
        return KGC_ENOSPC;
    }
    ks->handlers[n].fn = fn;
    ks->handlers[n].ctx = ctx;
    __atomic_store_n(&ks->n_handlers, n + 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&c->handlers_mu);
    return 0;
}

static void notify(struct kgc_cache *c, enum kgc_api_kind kind, const struct kgc_api_obj *old_obj,
                   const struct kgc_api_obj *new_obj)
{
    struct kind_store *ks = &c->kinds[kind];
    unsigned n = __atomic_load_n(&ks->n_handlers, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n; i++)
        ks->handlers[i].fn(kind, old_obj, new_obj, ks->handlers[i].ctx);
}

static bool same_version(const struct kgc_api_obj *a, const struct kgc_api_obj *b)
{
    return a->meta.resource_version && b->meta.resource_version &&
           strcmp(a->meta.resource_version, b->meta.resource_version) == 0;
}

/* --- writers ---------------------------------------------------------------------------------- */

int kgc_cache_upsert(struct kgc_cache *c, struct kgc_api_obj *obj, bool *changed)
{
    if (changed)
        *changed = false;
    if (!c || !obj || !valid_kind(obj->kind)) {
        kgc_api_obj_unref(obj);
        return KGC_EINVAL;
    }
    struct kind_store *ks = &c->kinds[obj->kind];
    pthread_rwlock_wrlock(&ks->lock);
    struct kgc_api_obj *old = kgc_strmap_get(&ks->objs, obj->meta.key);
    if (old && same_version(old, obj)) {
        pthread_rwlock_unlock(&ks->lock);
        kgc_api_obj_unref(obj);
        return 0;
    }
    if (kgc_strmap_put(&ks->objs, obj->meta.key, obj, NULL) != 0) {
        pthread_rwlock_unlock(&ks->lock);
        kgc_api_obj_unref(obj);
        return KGC_ENOMEM;
    }
    if (old) {
        index_object(c, old, false);
        ks->bytes -= old->size;
    }
    int rc = index_object(c, obj, true); /* ENOMEM: stored, but some index misses it */
    ks->bytes += obj->size;
    kgc_api_obj_ref(obj); /* keeps obj alive through the handlers whatever happens next */
    pthread_rwlock_unlock(&ks->lock);

    if (changed)
        *changed = true;
    notify(c, obj->kind, old, obj);
    kgc_api_obj_unref(old);
    kgc_api_obj_unref(obj);
    return rc;
}

int kgc_cache_delete(struct kgc_cache *c, enum kgc_api_kind kind, const char *key)
{
    if (!c || !valid_kind(kind) || !key)
        return KGC_EINVAL;
    struct kind_store *ks = &c->kinds[kind];
    pthread_rwlock_wrlock(&ks->lock);
    struct kgc_api_obj *old = kgc_strmap_remove(&ks->objs, key);
    if (old) {
        index_object(c, old, false);
        ks->bytes -= old->size;
    }
    pthread_rwlock_unlock(&ks->lock);
    if (!old)
        return KGC_ENOENT;
    notify(c, kind, old, NULL);
    kgc_api_obj_unref(old);
    return 0;
}

struct change {
    struct kgc_api_obj *old_obj; /* reference taken over from the old map, or NULL */
    struct kgc_api_obj *new_obj; /* borrowed from the new map, or NULL */
};

int kgc_cache_replace(struct kgc_cache *c, enum kgc_api_kind kind, struct kgc_api_obj **objs,
                      size_t n, struct kgc_cache_replace_result *res)
{
    struct kgc_cache_replace_result r = {0};
    struct kgc_strmap map;
    struct kgc_strmap fresh[KGC_CACHE_IDX_COUNT];
    struct change *changes = NULL;
    size_t n_changes = 0, bytes = 0, pos = 0;
    const char *k;
    void *v;
    int rc = 0;

    if (res)
        *res = r;
    if (!c || !valid_kind(kind)) {
        for (size_t i = 0; i < n; i++)
            kgc_api_obj_unref(objs[i]);
        return KGC_EINVAL;
    }
    struct kind_store *ks = &c->kinds[kind];

    /* Build the whole new state (map and indexes) privately: under the lock it is only swapped. */
    kgc_strmap_init(&map);
    for (int i = 0; i < KGC_CACHE_IDX_COUNT; i++)
        kgc_strmap_init(&fresh[i]);
    for (size_t i = 0; i < n; i++) {
        struct kgc_api_obj *o = objs[i];
        if (!o || o->kind != kind || rc != 0) {
            kgc_api_obj_unref(o);
            continue;
        }
        void *dup = NULL;
        if (kgc_strmap_put(&map, o->meta.key, o, &dup) != 0) {
            kgc_api_obj_unref(o);
            rc = KGC_ENOMEM;
            continue;
        }
        if (dup) {
            bytes -= ((struct kgc_api_obj *)dup)->size;
            kgc_api_obj_unref(dup);
        }
        bytes += o->size;
    }
    while (rc == 0 && kgc_strmap_next(&map, &pos, &k, &v)) {
        for (int i = 0; i < KGC_CACHE_IDX_COUNT && rc == 0; i++) {
            if (idx_kind[i] != kind)
                continue;
            struct valset s = {0};
            index_values((enum kgc_cache_index)i, v, &s);
            if (s.oom)
                rc = KGC_ENOMEM;
            for (size_t j = 0; j < s.n && rc == 0; j++)
                rc = index_add(&fresh[i], s.v[j], v);
            valset_free(&s);
        }
    }

    if (rc == 0) {
        pthread_rwlock_wrlock(&ks->lock);
        size_t cap = kgc_strmap_len(&map) + kgc_strmap_len(&ks->objs);
        changes = cap ? calloc(cap, sizeof(*changes)) : NULL;
        if (cap && !changes) {
            rc = KGC_ENOMEM;
        } else {
            pos = 0;
            while (kgc_strmap_next(&map, &pos, &k, &v)) {
                struct kgc_api_obj *old = kgc_strmap_get(&ks->objs, k);
                if (old && same_version(old, v)) {
                    r.unchanged++;
                    continue;
                }
                changes[n_changes].old_obj = old;
                changes[n_changes].new_obj = v;
                n_changes++;
                if (old)
                    r.updated++;
                else
                    r.added++;
            }
            pos = 0;
            while (kgc_strmap_next(&ks->objs, &pos, &k, &v)) {
                if (!kgc_strmap_get(&map, k)) {
                    changes[n_changes].old_obj = v;
                    changes[n_changes].new_obj = NULL;
                    n_changes++;
                    r.deleted++;
                }
            }
            /* Swap: the store takes the new map and indexes; the old ones are freed below. */
            struct kgc_strmap old_map = ks->objs;
            ks->objs = map;
            map = old_map;
            ks->bytes = bytes;
            for (int i = 0; i < KGC_CACHE_IDX_COUNT; i++) {
                if (idx_kind[i] != kind)
                    continue;
                struct kgc_strmap tmp = c->idx[i];
                c->idx[i] = fresh[i];
                fresh[i] = tmp;
            }
            /* Keep every new object alive through the handlers. */
            for (size_t i = 0; i < n_changes; i++)
                kgc_api_obj_ref(changes[i].new_obj);
        }
        pthread_rwlock_unlock(&ks->lock);
    }

    if (rc == 0) {
        for (size_t i = 0; i < n_changes; i++)
            notify(c, kind, changes[i].old_obj, changes[i].new_obj);
        for (size_t i = 0; i < n_changes; i++)
            kgc_api_obj_unref(changes[i].new_obj);
        if (res)
            *res = r;
    }
    /* On success `map` and `fresh` hold the old store and indexes; on failure the new ones. */
    for (int i = 0; i < KGC_CACHE_IDX_COUNT; i++)
        index_map_free(&fresh[i]);
    unref_all(&map);
    kgc_strmap_destroy(&map);
    free(changes);
    return rc;
}

size_t kgc_cache_resync(struct kgc_cache *c, enum kgc_api_kind kind)
{
    struct kgc_cache_list l;
    if (kgc_cache_list(c, kind, NULL, &l) != 0)
        return 0;
    for (size_t i = 0; i < l.n; i++)
        notify(c, kind, l.items[i], l.items[i]);
    size_t n = l.n;
    kgc_cache_list_release(&l);
    return n;
}

/* --- readers ---------------------------------------------------------------------------------- */

const struct kgc_api_obj *kgc_cache_get_key(struct kgc_cache *c, enum kgc_api_kind kind,
                                            const char *key)
{
    if (!c || !valid_kind(kind) || !key)
        return NULL;
    struct kind_store *ks = &c->kinds[kind];
    pthread_rwlock_rdlock(&ks->lock);
    const struct kgc_api_obj *o = kgc_api_obj_ref(kgc_strmap_get(&ks->objs, key));
    pthread_rwlock_unlock(&ks->lock);
    return o;
}

const struct kgc_api_obj *kgc_cache_get(struct kgc_cache *c, enum kgc_api_kind kind,
                                        const char *namespace, const char *name)
{
    if (!name)
        return NULL;
    if (!namespace)
        return kgc_cache_get_key(c, kind, name);
    char key[600];
    int n = snprintf(key, sizeof(key), "%s/%s", namespace, name);
    if (n < 0 || (size_t)n >= sizeof(key))
        return NULL;
    return kgc_cache_get_key(c, kind, key);
}

static int by_key(const void *a, const void *b)
{
    const struct kgc_api_obj *x = *(const struct kgc_api_obj *const *)a;
    const struct kgc_api_obj *y = *(const struct kgc_api_obj *const *)b;
    return strcmp(x->meta.key, y->meta.key);
}

static void sort_list(struct kgc_cache_list *l)
{
    if (l->n > 1)
        qsort(l->items, l->n, sizeof(void *), by_key); /* an array of pointers */
}

static int list_kind(struct kgc_cache *c, enum kgc_api_kind kind, const char *namespace,
                     struct kgc_cache_list *out, bool sorted)
{
    out->items = NULL;
    out->n = 0;
    if (!c || !valid_kind(kind))
        return KGC_EINVAL;
    struct kind_store *ks = &c->kinds[kind];
    pthread_rwlock_rdlock(&ks->lock);
    size_t len = kgc_strmap_len(&ks->objs);
    if (len) {
        out->items = malloc(len * sizeof(void *));
        if (!out->items) {
            pthread_rwlock_unlock(&ks->lock);
            return KGC_ENOMEM;
        }
    }
    size_t pos = 0;
    const char *k;
    void *v;
    while (kgc_strmap_next(&ks->objs, &pos, &k, &v)) {
        const struct kgc_api_obj *o = v;
        if (namespace && (!o->meta.namespace || strcmp(o->meta.namespace, namespace) != 0))
            continue;
        if (out->items) /* (len > 0 whenever the map yields an entry) */
            out->items[out->n++] = kgc_api_obj_ref(o);
    }
    pthread_rwlock_unlock(&ks->lock);
    if (sorted)
        sort_list(out);
    return 0;
}

int kgc_cache_list(struct kgc_cache *c, enum kgc_api_kind kind, const char *namespace,
                   struct kgc_cache_list *out)
{
    return list_kind(c, kind, namespace, out, true);
}

int kgc_cache_list_unsorted(struct kgc_cache *c, enum kgc_api_kind kind, const char *namespace,
                            struct kgc_cache_list *out)
{
    return list_kind(c, kind, namespace, out, false);
}

int kgc_cache_by_index(struct kgc_cache *c, enum kgc_cache_index index, const char *value,
                       struct kgc_cache_list *out)
{
    out->items = NULL;
    out->n = 0;
    if (!c || (int)index < 0 || index >= KGC_CACHE_IDX_COUNT || !value)
        return KGC_EINVAL;
    struct kind_store *ks = &c->kinds[idx_kind[index]];
    pthread_rwlock_rdlock(&ks->lock);
    struct bucket *b = kgc_strmap_get(&c->idx[index], value);
    if (b && b->n) {
        out->items = malloc(b->n * sizeof(void *));
        if (!out->items) {
            pthread_rwlock_unlock(&ks->lock);
            return KGC_ENOMEM;
        }
        const struct kgc_api_obj **items = bucket_items(b);
        for (uint32_t i = 0; i < b->n; i++)
            out->items[out->n++] = kgc_api_obj_ref(items[i]);
    }
    pthread_rwlock_unlock(&ks->lock);
    sort_list(out);
    return 0;
}

bool kgc_cache_index_has(struct kgc_cache *c, enum kgc_cache_index index, const char *value)
{
    if (!c || (int)index < 0 || index >= KGC_CACHE_IDX_COUNT || !value)
        return false;
    struct kind_store *ks = &c->kinds[idx_kind[index]];
    pthread_rwlock_rdlock(&ks->lock);
    const struct bucket *b = kgc_strmap_get(&c->idx[index], value);
    bool has = b && b->n > 0;
    pthread_rwlock_unlock(&ks->lock);
    return has;
}

void kgc_cache_list_release(struct kgc_cache_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        kgc_api_obj_unref(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

size_t kgc_cache_count(struct kgc_cache *c, enum kgc_api_kind kind)
{
    if (!c || !valid_kind(kind))
        return 0;
    struct kind_store *ks = &c->kinds[kind];
    pthread_rwlock_rdlock(&ks->lock);
    size_t n = kgc_strmap_len(&ks->objs);
    pthread_rwlock_unlock(&ks->lock);
    return n;
}

size_t kgc_cache_bytes(struct kgc_cache *c, enum kgc_api_kind kind)
{
    if (!c || !valid_kind(kind))
        return 0;
    struct kind_store *ks = &c->kinds[kind];
    pthread_rwlock_rdlock(&ks->lock);
    size_t n = ks->bytes;
    pthread_rwlock_unlock(&ks->lock);
    return n;
}

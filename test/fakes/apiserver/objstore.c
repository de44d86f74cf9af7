#include "objstore_internal.h"

#include "jsonutil.h"
#include "kgc/clock.h"
#include "kgc/err.h"
#include "kgc/jsonscan.h"
#include "kgc/log.h"
#include "patch.h"
#include "table.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define DEFAULT_HISTORY       10000
#define DEFAULT_WATCH_QUEUE   100000
#define DEFAULT_BOOKMARK_MS   1000
#define DEFAULT_NS_CLEANUP_MS 500
#define BODY_ERR_MAX          256

static const char *const meta_order[] = {"name",
                                         "generateName",
                                         "namespace",
                                         "selfLink",
                                         "uid",
                                         "resourceVersion",
                                         "generation",
                                         "creationTimestamp",
                                         "deletionTimestamp",
                                         "deletionGracePeriodSeconds",
                                         "labels",
                                         "annotations",
                                         "ownerReferences",
                                         "finalizers",
                                         "managedFields",
                                         NULL};

static const char *const protected_namespaces[] = {"default", "kube-system", "kube-public", NULL};

/* ---- objects -------------------------------------------------------------------------------- */

void fas_obj_ref(struct fas_obj *o)
{
    atomic_fetch_add(&o->refs, 1);
}

void fas_obj_unref(struct fas_obj *o)
{
    if (!o || atomic_fetch_sub(&o->refs, 1) != 1)
        return;
    free(o->json);
    free(o->key);
    free(o->ns);
    free(o->uid);
    for (size_t i = 0; i < o->n_labels * 2; i++)
        free(o->labels[i]);
    free(o->labels);
    free(o->created);
    free(o->type);
    free(o);
}

static int64_t parse_rv(const char *s)
{
    if (!s || !s[0])
        return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || !end || *end || v < 0)
        return -1;
    return v;
}

/* A published object from a canonical tree (borrowed; serialised here). */
static struct fas_obj *obj_from_tree(json_object *tree, bool namespaced)
{
    json_object *md = fas_json_get(tree, "metadata");
    const char *name = fas_json_str(md, "name");
    const char *ns = namespaced ? fas_json_str(md, "namespace") : NULL;
    struct fas_obj *o = calloc(1, sizeof(*o));
    if (!o || !name)
        goto out_free;
    atomic_init(&o->refs, 1);
    o->json = fas_json_text_dup(tree, &o->len);
    if (!o->json)
        goto out_free;
    /* The canonical text starts {"apiVersion":"...", find the end of that string. */
    const char *p = o->json + 15;
    if (strncmp(o->json, "{\"apiVersion\":\"", 15) != 0)
        goto out_free;
    while (*p && *p != '"') {
        if (*p == '\\' && p[1])
            p++;
        p++;
    }
    if (*p != '"')
        goto out_free;
    o->av_end = (size_t)(p + 1 - o->json);
    o->rv = parse_rv(fas_json_str(md, "resourceVersion"));
    size_t klen = strlen(name) + (ns ? strlen(ns) + 1 : 0) + 1;
    o->key = malloc(klen);
    if (!o->key)
        goto out_free;
    if (ns) {
        snprintf(o->key, klen, "%s/%s", ns, name);
        o->name = o->key + strlen(ns) + 1;
        o->ns = strdup(ns);
        if (!o->ns)
            goto out_free;
    } else {
        snprintf(o->key, klen, "%s", name);
        o->name = o->key;
    }
    const char *uid = fas_json_str(md, "uid");
    const char *created = fas_json_str(md, "creationTimestamp");
    o->uid = strdup(uid ? uid : "");
    o->created = strdup(created ? created : "");
    if (!o->uid || !o->created)
        goto out_free;
    json_object *labels = fas_json_get(md, "labels");
    if (labels && json_object_is_type(labels, json_type_object)) {
        size_t n = (size_t)json_object_object_length(labels);
        o->labels = calloc(n * 2 + 1, sizeof(char *));
        if (!o->labels)
            goto out_free;
        json_object_object_foreach(labels, lk, lv)
        {
            const char *v =
                lv && json_object_is_type(lv, json_type_string) ? json_object_get_string(lv) : "";
            o->labels[o->n_labels * 2] = strdup(lk);
            o->labels[o->n_labels * 2 + 1] = strdup(v);
            o->n_labels++;
            if (!o->labels[o->n_labels * 2 - 2] || !o->labels[o->n_labels * 2 - 1])
                goto out_free;
        }
    }
    const char *type = fas_json_str(tree, "type");
    if (type && !(o->type = strdup(type)))
        goto out_free;
    o->deleting = fas_json_get(md, "deletionTimestamp") != NULL;
    json_object *fin = fas_json_get(md, "finalizers");
    o->n_finalizers = json_object_is_type(fin, json_type_array) ? json_object_array_length(fin) : 0;
    return o;
out_free:
    if (o)
        fas_obj_unref(o);
    return NULL;
}

/* A published object that is old with another text (json, owned, len bytes) at resourceVersion
 * rv: a status write, which changes nothing else that is indexed here (names, labels, uid, ...).
 * json is freed on failure. */
static struct fas_obj *obj_restatus(const struct fas_obj *old, char *json, size_t len, int64_t rv)
{
    struct fas_obj *o = calloc(1, sizeof(*o));
    if (!o) {
        free(json);
        return NULL;
    }
    atomic_init(&o->refs, 1);
    o->json = json;
    o->len = len;
    o->av_end = old->av_end;
    o->rv = rv;
    o->key = strdup(old->key);
    o->ns = old->ns ? strdup(old->ns) : NULL;
    o->uid = strdup(old->uid);
    o->created = strdup(old->created);
    o->type = old->type ? strdup(old->type) : NULL;
    o->deleting = old->deleting;
    o->n_finalizers = old->n_finalizers;
    if (!o->key || (old->ns && !o->ns) || !o->uid || !o->created || (old->type && !o->type))
        goto out_free;
    o->name = o->key + (old->name - old->key);
    if (old->n_labels) {
        o->labels = calloc(old->n_labels * 2 + 1, sizeof(char *));
        if (!o->labels)
            goto out_free;
        for (; o->n_labels < old->n_labels; o->n_labels++) {
            o->labels[o->n_labels * 2] = strdup(old->labels[o->n_labels * 2]);
            o->labels[o->n_labels * 2 + 1] = strdup(old->labels[o->n_labels * 2 + 1]);
            if (!o->labels[o->n_labels * 2] || !o->labels[o->n_labels * 2 + 1]) {
                o->n_labels++;
                goto out_free;
            }
        }
    }
    return o;
out_free:
    fas_obj_unref(o);
    return NULL;
}

static json_object *obj_tree(const struct fas_obj *o)
{
    char err[BODY_ERR_MAX];
    return fas_json_parse(o->json, o->len, err, sizeof(err));
}

int fas_obj_emit(struct fas_buf *b, const struct fas_obj *o, const char *api_version)
{
    size_t have = o->av_end - 16; /* length of the stored apiVersion value */
    if (strlen(api_version) == have && memcmp(o->json + 15, api_version, have) == 0)
        return fas_buf_append(b, o->json, o->len);
    fas_buf_puts(b, "{\"apiVersion\":");
    fas_buf_json_string(b, api_version);
    return fas_buf_append(b, o->json + o->av_end, o->len - o->av_end);
}

/* ---- canonical form ------------------------------------------------------------------------- */

static bool empty_container(json_object *v)
{
    if (!v)
        return true;
    if (json_object_is_type(v, json_type_object))
        return json_object_object_length(v) == 0;
    if (json_object_is_type(v, json_type_array))
        return json_object_array_length(v) == 0;
    return false;
}

/* Orders metadata fields as the real server writes them and drops unknown and empty ones. */
static json_object *canonical_metadata(json_object *md)
{
    json_object *out = json_object_new_object();
    if (!out)
        return NULL;
    for (size_t i = 0; meta_order[i]; i++) {
        json_object *v = NULL;
        if (!json_object_object_get_ex(md, meta_order[i], &v) || !v)
            continue;
        if ((strcmp(meta_order[i], "labels") == 0 || strcmp(meta_order[i], "annotations") == 0 ||
             strcmp(meta_order[i], "finalizers") == 0 ||
             strcmp(meta_order[i], "ownerReferences") == 0 ||
             strcmp(meta_order[i], "managedFields") == 0) &&
            empty_container(v))
            continue;
        json_object_object_add(out, meta_order[i], json_object_get(v));
    }
    return out;
}

/* Rebuilds o as {apiVersion, kind, metadata, ...rest}; consumes o. NULL on allocation failure. */
static json_object *canonical(json_object *o, const char *api_version, const char *kind)
{
    json_object *out = json_object_new_object();
    json_object *md = canonical_metadata(fas_json_get(o, "metadata"));
    if (!out || !md) {
        json_object_put(out);
        json_object_put(md);
        json_object_put(o);
        return NULL;
    }
    fas_json_set_str(out, "apiVersion", api_version);
    fas_json_set_str(out, "kind", kind);
    json_object_object_add(out, "metadata", md);
    json_object_object_foreach(o, k, v)
    {
        if (strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0 || strcmp(k, "metadata") == 0)
            continue;
        json_object_object_add(out, k, json_object_get(v));
    }
    json_object_put(o);
    return out;
}

/* ---- lines ---------------------------------------------------------------------------------- */

struct fas_line *fas_line_new(size_t len)
{
    struct fas_line *l = malloc(sizeof(*l) + len + 1);
    if (!l)
        return NULL;
    atomic_init(&l->refs, 1);
    l->len = len;
    l->data[len] = '\0';
    return l;
}

void fas_line_unref(struct fas_line *l)
{
    if (l && atomic_fetch_sub(&l->refs, 1) == 1)
        free(l);
}

static struct fas_line *line_from_buf(struct fas_buf *b)
{
    if (b->oom) {
        fas_buf_free(b);
        return NULL;
    }
    struct fas_line *l = fas_line_new(b->len);
    if (l)
        memcpy(l->data, b->data, b->len);
    fas_buf_free(b);
    return l;
}

struct fas_line *fas_event_line(const char *type, struct fas_obj *o, const char *api_version)
{
    struct fas_buf b;
    fas_buf_init(&b);
    fas_buf_printf(&b, "{\"type\":\"%s\",\"object\":", type);
    fas_obj_emit(&b, o, api_version);
    fas_buf_puts(&b, "}\n");
    return line_from_buf(&b);
}

static struct fas_line *table_event_line(const char *type, struct fas_obj *o,
                                         const struct fas_watch *w)
{
    struct fas_rversion *ver = NULL;
    for (size_t i = 0; i < w->rt->n_versions; i++)
        if (strcmp(w->rt->versions[i].api_version, w->api_version) == 0)
            ver = &w->rt->versions[i];
    if (!ver)
        ver = fas_rtype_storage(w->rt);
    char rv[32];
    snprintf(rv, sizeof(rv), "%" PRId64, o->rv);
    size_t n = 0;
    char *table = fas_table_render(w->rt, ver, &o, 1, rv, NULL, &n);
    if (!table)
        return NULL;
    struct fas_buf b;
    fas_buf_init(&b);
    fas_buf_printf(&b, "{\"type\":\"%s\",\"object\":", type);
    fas_buf_append(&b, table, n);
    fas_buf_puts(&b, "}\n");
    free(table);
    return line_from_buf(&b);
}

static struct fas_line *bookmark_line(const struct fas_watch *w, int64_t rv, bool initial_end)
{
    struct fas_buf b;
    fas_buf_init(&b);
    fas_buf_puts(&b, "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":");
    fas_buf_json_string(&b, w->rt->kind);
    fas_buf_puts(&b, ",\"apiVersion\":");
    fas_buf_json_string(&b, w->api_version);
    fas_buf_printf(&b, ",\"metadata\":{\"resourceVersion\":\"%" PRId64 "\"", rv);
    if (initial_end)
        fas_buf_puts(&b, ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}");
    fas_buf_puts(&b, "}}}\n");
    return line_from_buf(&b);
}

/* ---- selectors against stored objects ------------------------------------------------------- */

static const char *label_lookup(void *ctx, const char *key)
{
    const struct fas_obj *o = ctx;
    for (size_t i = 0; i < o->n_labels; i++)
        if (strcmp(o->labels[i * 2], key) == 0)
            return o->labels[i * 2 + 1];
    return NULL;
}

static const char *field_lookup(void *ctx, const char *key)
{
    const struct fas_obj *o = ctx;
    if (strcmp(key, "metadata.name") == 0)
        return o->name;
    if (strcmp(key, "metadata.namespace") == 0)
        return o->ns ? o->ns : "";
    if (strcmp(key, "type") == 0) /* only allowed on Secrets (parse_selectors) */
        return o->type ? o->type : "";
    return NULL;
}

static bool obj_matches(const struct fas_obj *o, const char *ns, const struct fas_selector *lsel,
                        const struct fas_selector *fsel)
{
    if (ns && (!o->ns || strcmp(ns, o->ns) != 0))
        return false;
    return fas_selector_matches(lsel, label_lookup, (void *)o) &&
           fas_selector_matches(fsel, field_lookup, (void *)o);
}

bool fas_watch_matches(const struct fas_watch *w, const struct fas_obj *o)
{
    return obj_matches(o, w->ns, w->lsel, w->fsel);
}

static const char *const field_selectors_allowed[] = {"metadata.name", "metadata.namespace", NULL};
/* Secrets also select on their type, as kube-apiserver: pkg/registry/core/secret/strategy.go
 * SelectableFields = the ObjectMeta fields + {"type": string(obj.Type)} (GetAttrs uses it for
 * list and watch alike); the type is defaulted to Opaque on create and immutable. */
static const char *const secret_field_selectors_allowed[] = {"metadata.name", "metadata.namespace",
                                                             "type", NULL};

/* ---- type registry -------------------------------------------------------------------------- */

static struct fas_rtype *find_type(struct fas_store *s, const char *group, const char *plural)
{
    for (struct fas_rtype *rt = s->types; rt; rt = rt->next)
        if (strcmp(rt->group, group) == 0 && strcmp(rt->plural, plural) == 0)
            return rt;
    return NULL;
}

struct fas_rtype *fas_store_types_locked(struct fas_store *s)
{
    return s->types;
}

static void add_type(struct fas_store *s, struct fas_rtype *rt)
{
    struct fas_rtype **pp = &s->types;
    while (*pp)
        pp = &(*pp)->next;
    rt->next = NULL;
    *pp = rt;
    s->types_gen++;
}

/* Resolves the target's type and version; fills r with 404 when there is none. */
static bool resolve(struct fas_store *s, const struct fas_target *t, struct fas_rtype **rtp,
                    struct fas_rversion **verp, struct fas_reply *r)
{
    struct fas_rtype *rt = find_type(s, t->group ? t->group : "", t->plural ? t->plural : "");
    struct fas_rversion *ver = rt ? fas_rtype_version(rt, t->version ? t->version : "") : NULL;
    if (!rt || !ver) {
        fas_reply_no_route(r);
        return false;
    }
    /* A namespaced type needs a namespace for single objects; a cluster one must have none. */
    if ((!rt->namespaced && t->ns) || (rt->namespaced && t->name && !t->ns)) {
        fas_reply_no_route(r);
        return false;
    }
    if (t->subresource && (strcmp(t->subresource, "status") != 0 || !ver->has_status)) {
        fas_reply_no_route(r);
        return false;
    }
    *rtp = rt;
    *verp = ver;
    return true;
}

/* ---- object index --------------------------------------------------------------------------- */

static size_t obj_search(const struct fas_rtype *rt, const char *key, bool *found)
{
    size_t lo = 0, hi = rt->n_objs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(rt->objs[mid]->key, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static struct fas_obj *obj_find(const struct fas_rtype *rt, const char *ns, const char *name)
{
    char key[1024];
    if (ns)
        snprintf(key, sizeof(key), "%s/%s", ns, name);
    else
        snprintf(key, sizeof(key), "%s", name);
    bool found;
    size_t i = obj_search(rt, key, &found);
    return found ? rt->objs[i] : NULL;
}

static int index_put(struct fas_store *s, struct fas_rtype *rt, struct fas_obj *o)
{
    bool found;
    size_t i = obj_search(rt, o->key, &found);
    if (found) {
        fas_obj_unref(rt->objs[i]);
        rt->objs[i] = o;
        return 0;
    }
    if (rt->n_objs == rt->cap_objs) {
        size_t cap = rt->cap_objs ? rt->cap_objs * 2 : 16;
        struct fas_obj **p = realloc(rt->objs, cap * sizeof(struct fas_obj *));
        if (!p)
            return KGC_ENOMEM;
        rt->objs = p;
        rt->cap_objs = cap;
    }
    memmove(rt->objs + i + 1, rt->objs + i, (rt->n_objs - i) * sizeof(struct fas_obj *));
    rt->objs[i] = o;
    rt->n_objs++;
    s->n_objects++;
    return 0;
}

static void index_remove(struct fas_store *s, struct fas_rtype *rt, const char *key)
{
    bool found;
    size_t i = obj_search(rt, key, &found);
    if (!found)
        return;
    fas_obj_unref(rt->objs[i]);
    memmove(rt->objs + i, rt->objs + i + 1, (rt->n_objs - i - 1) * sizeof(struct fas_obj *));
    rt->n_objs--;
    s->n_objects--;
}

/* First index whose key starts with "ns/" (or 0 without ns). */
static size_t ns_range_start(const struct fas_rtype *rt, const char *ns, char *prefix, size_t psz)
{
    if (!ns) {
        prefix[0] = '\0';
        return 0;
    }
    snprintf(prefix, psz, "%s/", ns);
    bool found;
    return obj_search(rt, prefix, &found);
}

/* ---- history and dispatch ------------------------------------------------------------------- */

static void event_clear(struct fas_event *e)
{
    fas_obj_unref(e->obj);
    fas_obj_unref(e->prev);
    memset(e, 0, sizeof(*e));
}

static void history_push(struct fas_store *s, const struct fas_event *ev)
{
    if (s->ring_cap == 0) {
        s->min_rv = ev->rv;
        return;
    }
    if (s->ring_len == s->ring_cap) {
        struct fas_event *old = &s->ring[s->ring_start];
        s->min_rv = old->rv;
        event_clear(old);
        s->ring_start = (s->ring_start + 1) % s->ring_cap;
        s->ring_len--;
    }
    struct fas_event *slot = &s->ring[(s->ring_start + s->ring_len) % s->ring_cap];
    *slot = *ev;
    fas_obj_ref(slot->obj);
    if (slot->prev)
        fas_obj_ref(slot->prev);
    s->ring_len++;
}

/* A copy of o (the previous state) carrying resourceVersion rv. */
static struct fas_obj *obj_with_rv(const struct fas_obj *o, int64_t rv, bool namespaced)
{
    json_object *t = obj_tree(o);
    if (!t)
        return NULL;
    char rvs[32];
    snprintf(rvs, sizeof(rvs), "%" PRId64, rv);
    fas_json_set_str(fas_json_obj_member(t, "metadata"), "resourceVersion", rvs);
    struct fas_obj *n = obj_from_tree(t, namespaced);
    json_object_put(t);
    return n;
}

/* Queues ev on w when w's filter lets it through, as the real watch cache does: an object that
 * stops matching is DELETED for this watch, one that starts matching is ADDED. */
static void deliver(struct fas_watch *w, const struct fas_event *ev)
{
    bool cur = fas_watch_matches(w, ev->obj);
    bool old = ev->prev && fas_watch_matches(w, ev->prev);
    const char *type;
    struct fas_obj *obj = ev->obj;
    struct fas_obj *tmp = NULL;
    switch (ev->type) {
    case FAS_EV_ADDED:
        if (!cur)
            return;
        type = "ADDED";
        break;
    case FAS_EV_MODIFIED:
        if (cur && old)
            type = "MODIFIED";
        else if (cur)
            type = "ADDED";
        else if (old) {
            type = "DELETED";
            tmp = obj_with_rv(ev->prev, ev->rv, w->rt->namespaced);
            if (!tmp)
                return;
            obj = tmp;
        } else
            return;
        break;
    default:
        if (!cur)
            return;
        type = "DELETED";
    }
    struct fas_line *line =
        w->table ? table_event_line(type, obj, w) : fas_event_line(type, obj, w->api_version);
    if (line)
        fas_watch_enqueue(w, line);
    if (tmp)
        fas_obj_unref(tmp);
}

/* Publishes an event: index, history, watches. Takes over the reference to obj. */
static void commit(struct fas_store *s, struct fas_rtype *rt, enum fas_event_type type,
                   struct fas_obj *obj, struct fas_obj *prev)
{
    struct fas_event ev = {.rv = obj->rv, .type = type, .rt = rt, .obj = obj, .prev = prev};
    if (prev)
        fas_obj_ref(prev);
    history_push(s, &ev);
    /* Shared line for the common case: watchers on the stored version without tables. */
    struct fas_line *shared = NULL;
    for (struct fas_watch *w = rt->watches; w; w = w->next) {
        bool plain = !w->table && ev.type != FAS_EV_MODIFIED;
        if (plain && fas_watch_matches(w, obj)) {
            size_t have = obj->av_end - 16;
            if (strlen(w->api_version) == have &&
                memcmp(obj->json + 15, w->api_version, have) == 0) {
                if (!shared)
                    shared = fas_event_line(type == FAS_EV_ADDED ? "ADDED" : "DELETED", obj,
                                            w->api_version);
                if (shared) {
                    atomic_fetch_add(&shared->refs, 1);
                    fas_watch_enqueue(w, shared);
                }
                continue;
            }
        }
        deliver(w, &ev);
    }
    fas_line_unref(shared);
    if (type == FAS_EV_DELETED)
        index_remove(s, rt, obj->key);
    else if (index_put(s, rt, obj) == 0)
        obj = NULL;
    if (obj)
        fas_obj_unref(obj);
    if (prev)
        fas_obj_unref(prev);
    atomic_store(&s->dispatched_rv, s->rv);
}

/* ---- store lifecycle ------------------------------------------------------------------------ */

static void set_now(json_object *md, const char *key)
{
    char ts[40];
    kgc_clock_rfc3339(ts, sizeof(ts), 0);
    fas_json_set_str(md, key, ts);
}

static struct fas_rtype *namespaces_type(struct fas_store *s)
{
    return find_type(s, "", "namespaces");
}

static void *ns_cleanup_loop(void *arg);

static void create_initial_namespace(struct fas_store *s, const char *name)
{
    struct fas_target t = {.group = "", .version = "v1", .plural = "namespaces"};
    char body[256];
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", name);
    struct fas_reply r;
    fas_reply_init(&r);
    struct fas_write_opts o = {0};
    fas_store_create(s, &t, body, strlen(body), &o, &r);
    fas_reply_free(&r);
}

int fas_store_new(const struct fas_store_opts *opts, struct fas_store **out)
{
    struct fas_store *s = calloc(1, sizeof(*s));
    if (!s)
        return KGC_ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->ns_cv, &ca);
    pthread_condattr_destroy(&ca);
    s->ns_cleanup_ms = !opts || opts->namespace_cleanup_ms < 0
                           ? DEFAULT_NS_CLEANUP_MS
                           : (unsigned)opts->namespace_cleanup_ms;
    s->ring_cap = opts && opts->history ? opts->history : DEFAULT_HISTORY;
    s->watch_queue_max =
        opts && opts->watch_queue_max ? opts->watch_queue_max : DEFAULT_WATCH_QUEUE;
    s->bookmark_ms = opts && opts->bookmark_ms ? opts->bookmark_ms : DEFAULT_BOOKMARK_MS;
    s->ring = calloc(s->ring_cap, sizeof(*s->ring));
    s->disc = fas_disc_cache_new();
    atomic_init(&s->dispatched_rv, 0);
    atomic_init(&s->shutdown, false);
    fas_schema_ctx_init(&s->schema);
    if (!s->ring || !s->disc) {
        fas_store_free(s);
        return KGC_ENOMEM;
    }
    size_t n;
    const struct fas_builtin *b = fas_builtins(&n);
    for (size_t i = 0; i < n; i++) {
        struct fas_rtype *rt = fas_rtype_from_builtin(&b[i]);
        if (!rt) {
            fas_store_free(s);
            return KGC_ENOMEM;
        }
        add_type(s, rt);
    }
    create_initial_namespace(s, "default");
    create_initial_namespace(s, "kube-system");
    create_initial_namespace(s, "kube-public");
    create_initial_namespace(s, "kube-node-lease");
    if (s->n_objects != 4) {
        fas_store_free(s);
        return KGC_ENOMEM;
    }
    if (s->ns_cleanup_ms) {
        if (pthread_create(&s->ns_thread, NULL, ns_cleanup_loop, s)) {
            fas_store_free(s);
            return KGC_ENOMEM;
        }
        pthread_setname_np(s->ns_thread, "fas-namespaces");
        s->ns_thread_started = true;
    }
    *out = s;
    return 0;
}

static void free_type_list(struct fas_rtype *rt)
{
    while (rt) {
        struct fas_rtype *next = rt->next;
        for (size_t i = 0; i < rt->n_objs; i++)
            fas_obj_unref(rt->objs[i]);
        rt->n_objs = 0;
        fas_rtype_free(rt);
        rt = next;
    }
}

void fas_store_free(struct fas_store *s)
{
    if (!s)
        return;
    if (s->ns_thread_started) {
        pthread_mutex_lock(&s->mu);
        s->ns_stop = true;
        pthread_cond_signal(&s->ns_cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->ns_thread, NULL);
    }
    free(s->ns_pending);
    pthread_cond_destroy(&s->ns_cv);
    for (size_t i = 0; s->ring && i < s->ring_len; i++)
        event_clear(&s->ring[(s->ring_start + i) % s->ring_cap]);
    free(s->ring);
    free_type_list(s->types);
    free_type_list(s->retired);
    fas_schema_ctx_destroy(&s->schema);
    fas_disc_cache_free(s->disc);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int64_t fas_store_rv(struct fas_store *s)
{
    pthread_mutex_lock(&s->mu);
    int64_t rv = s->rv;
    pthread_mutex_unlock(&s->mu);
    return rv;
}

size_t fas_store_watch_count(struct fas_store *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_watches;
    pthread_mutex_unlock(&s->mu);
    return n;
}

size_t fas_store_count(struct fas_store *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_objects;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- write pipeline ------------------------------------------------------------------------- */

struct wctx {
    struct fas_store *s;
    struct fas_rtype *rt;
    struct fas_rversion *ver;
    const struct fas_target *t;
    const struct fas_write_opts *o;
    struct fas_reply *r;
};

static json_object *parse_body(struct fas_reply *r, const char *body, size_t len)
{
    char err[BODY_ERR_MAX];
    json_object *o = fas_json_parse(body ? body : "", len, err, sizeof(err));
    if (!o) {
        char msg[BODY_ERR_MAX + 64];
        snprintf(msg, sizeof(msg), "couldn't get version/kind; json parse error: %s", err);
        fas_reply_bad_request(r, msg);
        return NULL;
    }
    return o;
}

static void set_audit_status(struct fas_reply *r, json_object *tree)
{
    json_object *st = fas_json_get(tree, "status");
    free(r->audit_status);
    r->audit_status = st ? fas_json_text_dup(st, NULL) : NULL;
}

static void set_audit_status_obj(struct fas_reply *r, const struct fas_obj *o)
{
    json_object *t = obj_tree(o);
    if (t) {
        set_audit_status(r, t);
        json_object_put(t);
    }
}

static void reply_obj(struct fas_reply *r, int code, const struct fas_obj *o,
                      const char *api_version)
{
    struct fas_buf b;
    fas_buf_init(&b);
    fas_obj_emit(&b, o, api_version);
    size_t n = 0;
    char *text = fas_buf_take(&b, &n);
    fas_reply_take(r, code, text, n);
}

static void reply_tree(struct fas_reply *r, int code, json_object *tree)
{
    fas_reply_json(r, code, tree);
}

static void reply_delete_success(struct wctx *c, const struct fas_obj *o)
{
    struct fas_buf b;
    fas_buf_init(&b);
    fas_buf_puts(&b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                     "\"status\":\"Success\",\"details\":{\"name\":");
    fas_buf_json_string(&b, o->name);
    if (c->rt->group[0]) {
        fas_buf_puts(&b, ",\"group\":");
        fas_buf_json_string(&b, c->rt->group);
    }
    fas_buf_puts(&b, ",\"kind\":");
    fas_buf_json_string(&b, c->rt->plural);
    fas_buf_puts(&b, ",\"uid\":");
    fas_buf_json_string(&b, o->uid);
    fas_buf_puts(&b, "}}");
    size_t n = 0;
    char *text = fas_buf_take(&b, &n);
    fas_reply_take(c->r, 200, text, n);
}

static bool dns_label_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!alnum && !(ch == '-' && i > 0 && i + 1 < n))
            return false;
    }
    return true;
}

static bool dns_subdomain_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    const char *p = s;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (!dns_label_ok(p, l))
            return false;
        if (!dot)
            return true;
        p = dot + 1;
    }
}

static bool check_name(struct wctx *c, const char *name)
{
    bool label = strcmp(c->rt->plural, "namespaces") == 0;
    bool ok = label ? dns_label_ok(name, strlen(name)) : dns_subdomain_ok(name);
    if (ok)
        return true;
    char msg[1024];
    if (label)
        snprintf(msg, sizeof(msg),
                 "Invalid value: \"%s\": a lowercase RFC 1123 label must consist of lower case "
                 "alphanumeric characters or '-', and must start and end with an alphanumeric "
                 "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                 name);
    else
        snprintf(msg, sizeof(msg),
                 "Invalid value: \"%s\": a lowercase RFC 1123 subdomain must consist of lower "
                 "case alphanumeric characters, '-' or '.', and must start and end with an "
                 "alphanumeric character (e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                 name);
    fas_reply_invalid1(c->r, c->rt->group, c->rt->kind, name, "metadata.name", "FieldValueInvalid",
                       msg);
    return false;
}

/* The namespace must exist and not be terminating. */
static bool check_namespace(struct wctx *c, const char *ns, const char *name)
{
    struct fas_obj *nso = obj_find(namespaces_type(c->s), NULL, ns);
    if (!nso) {
        fas_reply_not_found(c->r, "", "namespaces", ns);
        return false;
    }
    if (nso->deleting) {
        char why[512], cm[256];
        snprintf(why, sizeof(why),
                 "unable to create new content in namespace %s because it is being terminated", ns);
        snprintf(cm, sizeof(cm), "namespace %s is being terminated", ns);
        json_object *causes = json_object_new_array();
        if (causes)
            fas_cause_add(causes, "NamespaceTerminating", cm, "metadata.namespace");
        fas_reply_forbidden(c->r, c->rt->group, c->rt->plural, name, why, causes);
        json_object_put(causes);
        return false;
    }
    return true;
}

/* apiVersion and kind of a request body must be the resource's. */
static bool check_type_meta(struct wctx *c, json_object *tree)
{
    const char *av = fas_json_str(tree, "apiVersion");
    const char *kind = fas_json_str(tree, "kind");
    char msg[512];
    if (!json_object_is_type(tree, json_type_object)) {
        fas_reply_bad_request(c->r, "the body of the request must be a JSON object");
        return false;
    }
    if (!kind || !kind[0]) {
        fas_reply_bad_request(c->r, "Object 'Kind' is missing in the request body");
        return false;
    }
    if (!av || !av[0]) {
        fas_reply_bad_request(c->r, "Object 'apiVersion' is missing in the request body");
        return false;
    }
    if (strcmp(kind, c->rt->kind) != 0) {
        snprintf(msg, sizeof(msg),
                 "the kind in the data (%s) does not match the expected kind (%s)", kind,
                 c->rt->kind);
        fas_reply_bad_request(c->r, msg);
        return false;
    }
    if (strcmp(av, c->ver->api_version) != 0) {
        snprintf(msg, sizeof(msg),
                 "the API version in the data (%s) does not match the expected API version (%s)",
                 av, c->ver->api_version);
        fas_reply_bad_request(c->r, msg);
        return false;
    }
    json_object *md = fas_json_get(tree, "metadata");
    if (md && !json_object_is_type(md, json_type_object)) {
        fas_reply_bad_request(c->r, "metadata must be an object");
        return false;
    }
    return true;
}

/* Prunes, defaults and validates tree against the version's schema. */
/* The version's schema: prune, default, validate. only: see fas_schema_prune_only(). */
static bool apply_schema(struct wctx *c, json_object *tree, const char *name, const char *only)
{
    json_object *schema = c->ver->schema;
    if (!schema)
        return true;
    json_object *unknown = json_object_new_array();
    if (!unknown || fas_schema_prune_only(tree, schema, unknown, only)) {
        json_object_put(unknown);
        fas_reply_internal(c->r, "out of memory");
        return false;
    }
    size_t nu = json_object_array_length(unknown);
    if (nu && c->o->field_validation != FAS_FV_IGNORE) {
        struct fas_buf b;
        fas_buf_init(&b);
        if (c->o->field_validation == FAS_FV_STRICT)
            fas_buf_puts(&b, "strict decoding error: ");
        for (size_t i = 0; i < nu; i++)
            fas_buf_printf(&b, "%sunknown field \"%s\"", i ? ", " : "",
                           json_object_get_string(json_object_array_get_idx(unknown, i)));
        if (c->o->field_validation == FAS_FV_STRICT) {
            fas_reply_bad_request(c->r, b.oom ? "strict decoding error" : b.data);
            fas_buf_free(&b);
            json_object_put(unknown);
            return false;
        }
        free(c->r->warning);
        c->r->warning = NULL;
        struct fas_buf w;
        fas_buf_init(&w);
        fas_buf_puts(&w, "299 - ");
        fas_buf_json_string(&w, b.data ? b.data : "");
        c->r->warning = fas_buf_take(&w, NULL);
        fas_buf_free(&b);
    }
    json_object_put(unknown);
    if (fas_schema_default_only(tree, schema, only)) {
        fas_reply_internal(c->r, "out of memory");
        return false;
    }
    json_object *causes = json_object_new_array();
    if (!causes) {
        fas_reply_internal(c->r, "out of memory");
        return false;
    }
    int n = fas_schema_validate_only(&c->s->schema, tree, schema, causes, only);
    if (n > 0)
        fas_reply_invalid(c->r, c->rt->group, c->rt->kind, name, causes);
    json_object_put(causes);
    return n == 0;
}

static bool is_type(const struct fas_rtype *rt, const char *group, const char *plural)
{
    return strcmp(rt->group, group) == 0 && strcmp(rt->plural, plural) == 0;
}

/* Secret: stringData is written into data (base64) and dropped, as the real server does. */
static void secret_string_data(json_object *tree)
{
    json_object *sd = fas_json_get(tree, "stringData");
    if (!sd || !json_object_is_type(sd, json_type_object)) {
        json_object_object_del(tree, "stringData");
        return;
    }
    json_object *data = fas_json_obj_member(tree, "data");
    json_object_object_foreach(sd, k, v)
    {
        const char *sv = v ? json_object_get_string(v) : "";
        char *enc = fas_base64_encode((const unsigned char *)sv, strlen(sv));
        if (enc && data)
            fas_json_set_str(data, k, enc);
        free(enc);
    }
    json_object_object_del(tree, "stringData");
}

/* The status the server keeps on a CRD: names accepted, established, stored versions. */
static void crd_status(json_object *tree, json_object *old_tree)
{
    json_object *spec = fas_json_get(tree, "spec");
    json_object *old_status = fas_json_get(old_tree, "status");
    json_object *st = json_object_new_object();
    if (!st)
        return;
    json_object *names = fas_json_get(spec, "names");
    json_object_object_add(st, "acceptedNames",
                           names ? fas_json_copy(names) : json_object_new_object());
    json_object *conds = json_object_new_array();
    const char *types[2] = {"NamesAccepted", "Established"};
    const char *reasons[2] = {"NoConflicts", "InitialNamesAccepted"};
    const char *msgs[2] = {"no conflicts found", "the initial names have been accepted"};
    json_object *old_conds = fas_json_get(old_status, "conditions");
    for (int i = 0; i < 2 && conds; i++) {
        json_object *c = json_object_new_object();
        const char *ltt = NULL;
        for (size_t j = 0; old_conds && json_object_is_type(old_conds, json_type_array) &&
                           j < json_object_array_length(old_conds);
             j++) {
            json_object *oc = json_object_array_get_idx(old_conds, j);
            const char *ot = fas_json_str(oc, "type");
            if (ot && strcmp(ot, types[i]) == 0)
                ltt = fas_json_str(oc, "lastTransitionTime");
        }
        fas_json_set_str(c, "type", types[i]);
        fas_json_set_str(c, "status", "True");
        if (ltt)
            fas_json_set_str(c, "lastTransitionTime", ltt);
        else
            set_now(c, "lastTransitionTime");
        fas_json_set_str(c, "reason", reasons[i]);
        fas_json_set_str(c, "message", msgs[i]);
        json_object_array_add(conds, c);
    }
    json_object_object_add(st, "conditions", conds);
    json_object *stored = json_object_new_array();
    json_object *old_stored = fas_json_get(old_status, "storedVersions");
    for (size_t i = 0; old_stored && json_object_is_type(old_stored, json_type_array) &&
                       i < json_object_array_length(old_stored);
         i++)
        json_object_array_add(stored, fas_json_copy(json_object_array_get_idx(old_stored, i)));
    json_object *versions = fas_json_get(spec, "versions");
    for (size_t i = 0; versions && i < json_object_array_length(versions); i++) {
        json_object *v = json_object_array_get_idx(versions, i);
        json_object *sto = fas_json_get(v, "storage");
        const char *vn = fas_json_str(v, "name");
        if (!vn || !sto || !json_object_get_boolean(sto))
            continue;
        bool have = false;
        for (size_t j = 0; j < json_object_array_length(stored); j++)
            if (strcmp(json_object_get_string(json_object_array_get_idx(stored, j)), vn) == 0)
                have = true;
        if (!have)
            json_object_array_add(stored, json_object_new_string(vn));
    }
    json_object_object_add(st, "storedVersions", stored);
    json_object_object_add(tree, "status", st);
}

/* Kind-specific preparation before schema processing. old_tree is NULL on create. */
static bool prepare_kind(struct wctx *c, json_object *tree, json_object *old_tree, const char *name)
{
    struct fas_rtype *rt = c->rt;
    if (is_type(rt, "", "secrets")) {
        secret_string_data(tree);
    } else if (is_type(rt, "", "namespaces")) {
        json_object *md = fas_json_obj_member(tree, "metadata");
        json_object *labels = md ? fas_json_obj_member(md, "labels") : NULL;
        if (labels)
            fas_json_set_str(labels, "kubernetes.io/metadata.name", name);
        if (!old_tree) {
            json_object *spec = fas_json_obj_member(tree, "spec");
            json_object *fin = json_object_new_array();
            if (spec && fin) {
                json_object_array_add(fin, json_object_new_string("kubernetes"));
                json_object_object_add(spec, "finalizers", fin);
            } else {
                json_object_put(fin);
            }
            json_object *st = fas_json_obj_member(tree, "status");
            if (st)
                fas_json_set_str(st, "phase", "Active");
        } else {
            json_object *ospec = fas_json_get(old_tree, "spec");
            if (ospec)
                json_object_object_add(tree, "spec", fas_json_copy(ospec));
        }
    } else if (is_type(rt, "apiextensions.k8s.io", "customresourcedefinitions")) {
        char field[128], msg[512];
        struct fas_rtype *def = fas_rtype_from_crd(tree, field, sizeof(field), msg, sizeof(msg));
        if (!def) {
            if (!field[0]) {
                fas_reply_internal(c->r, msg);
                return false;
            }
            fas_reply_invalid1(c->r, rt->group, rt->kind, name, field, "FieldValueInvalid", msg);
            return false;
        }
        struct fas_rtype *clash = find_type(c->s, def->group, def->plural);
        bool builtin_clash = clash && clash->builtin;
        fas_rtype_free(def);
        if (builtin_clash) {
            fas_reply_invalid1(c->r, rt->group, rt->kind, name, "spec.names.plural",
                               "FieldValueInvalid",
                               "Invalid value: the resource is already served by the server");
            return false;
        }
        json_object *spec = fas_json_get(tree, "spec");
        if (spec && !fas_json_get(spec, "conversion")) {
            json_object *conv = json_object_new_object();
            if (conv) {
                fas_json_set_str(conv, "strategy", "None");
                json_object_object_add(spec, "conversion", conv);
            }
        }
        crd_status(tree, old_tree);
    }
    return true;
}

/* After a CRD write: serve (or re-serve) the resource it defines. */
static void crd_register(struct fas_store *s, const struct fas_obj *crd)
{
    json_object *tree = obj_tree(crd);
    if (!tree)
        return;
    char field[128], msg[512];
    struct fas_rtype *def = fas_rtype_from_crd(tree, field, sizeof(field), msg, sizeof(msg));
    json_object_put(tree);
    if (!def)
        return;
    struct fas_rtype *existing = find_type(s, def->group, def->plural);
    if (existing && existing->builtin) {
        fas_rtype_free(def);
        return;
    }
    if (existing) {
        fas_rtype_redefine(existing, def);
        s->types_gen++;
    } else {
        add_type(s, def);
    }
    kgc_info("apiserver", "serving custom resource", KGC_F_STR("name", crd->name));
}

static void random_suffix(char *buf, size_t n)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    unsigned char r[16];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        for (size_t i = 0; i < sizeof(r); i++)
            r[i] = (unsigned char)rand();
    for (size_t i = 0; i + 1 < n && i < sizeof(r); i++)
        buf[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
    buf[n - 1] = '\0';
}

/* Creates the object in tree (owned). url_name: the name in the URL (apply) or NULL. */
static void do_create(struct wctx *c, json_object *tree, const char *url_name)
{
    struct fas_store *s = c->s;
    struct fas_rtype *rt = c->rt;
    struct fas_obj *obj = NULL;
    if (!check_type_meta(c, tree))
        goto out;
    json_object *md = fas_json_obj_member(tree, "metadata");
    if (!md) {
        fas_reply_internal(c->r, "out of memory");
        goto out;
    }
    const char *name = fas_json_str(md, "name");
    const char *gen_name = fas_json_str(md, "generateName");
    char generated[300];
    if (url_name && name && strcmp(url_name, name) != 0) {
        char msg[600];
        snprintf(msg, sizeof(msg),
                 "the name of the object (%s) does not match the name on the URL "
                 "(%s)",
                 name, url_name);
        fas_reply_bad_request(c->r, msg);
        goto out;
    }
    if ((!name || !name[0]) && url_name) {
        fas_json_set_str(md, "name", url_name);
    } else if ((!name || !name[0]) && gen_name && gen_name[0]) {
        char suffix[6];
        random_suffix(suffix, sizeof(suffix));
        snprintf(generated, sizeof(generated), "%.250s%s", gen_name, suffix);
        fas_json_set_str(md, "name", generated);
    }
    name = fas_json_str(md, "name");
    if (!name || !name[0]) {
        fas_reply_invalid1(c->r, rt->group, rt->kind, "", "metadata.name", "FieldValueRequired",
                           "Required value: name or generateName is required");
        goto out;
    }
    if (!check_name(c, name))
        goto out;
    const char *ns = NULL;
    if (rt->namespaced) {
        const char *body_ns = fas_json_str(md, "namespace");
        if (body_ns && body_ns[0] && c->t->ns && strcmp(body_ns, c->t->ns) != 0) {
            fas_reply_bad_request(c->r, "the namespace of the provided object does not match the "
                                        "namespace sent on the request");
            goto out;
        }
        ns = c->t->ns ? c->t->ns : body_ns;
        if (!ns || !ns[0]) {
            fas_reply_no_route(c->r);
            goto out;
        }
        fas_json_set_str(md, "namespace", ns);
        if (!check_namespace(c, ns, name))
            goto out;
    } else {
        json_object_object_del(md, "namespace");
    }
    if (obj_find(rt, ns, name)) {
        fas_reply_already_exists(c->r, rt->group, rt->plural, name);
        goto out;
    }
    /* What a create may not set. */
    if (c->ver->has_status)
        json_object_object_del(tree, "status");
    static const char *const system_fields[] = {"uid",
                                                "resourceVersion",
                                                "creationTimestamp",
                                                "deletionTimestamp",
                                                "deletionGracePeriodSeconds",
                                                "selfLink",
                                                "managedFields",
                                                "generation",
                                                NULL};
    for (size_t i = 0; system_fields[i]; i++)
        json_object_object_del(md, system_fields[i]);
    char uid[40];
    fas_uuid(uid, sizeof(uid));
    fas_json_set_str(md, "uid", uid);
    set_now(md, "creationTimestamp");
    if (rt->has_generation)
        fas_json_set_int(md, "generation", 1);
    if (!prepare_kind(c, tree, NULL, name))
        goto out;
    if (!apply_schema(c, tree, name, NULL))
        goto out;
    struct fas_rversion *storage = fas_rtype_storage(rt);
    if (!c->o->dry_run) {
        char rvs[32];
        snprintf(rvs, sizeof(rvs), "%" PRId64, s->rv + 1);
        fas_json_set_str(fas_json_obj_member(tree, "metadata"), "resourceVersion", rvs);
    }
    tree = canonical(tree, storage->api_version, rt->kind);
    if (!tree) {
        fas_reply_internal(c->r, "out of memory");
        return;
    }
    if (c->o->dry_run) {
        fas_json_set_str(tree, "apiVersion", c->ver->api_version);
        reply_tree(c->r, 201, tree);
        set_audit_status(c->r, tree);
        goto out;
    }
    obj = obj_from_tree(tree, rt->namespaced);
    if (!obj) {
        fas_reply_internal(c->r, "out of memory");
        goto out;
    }
    if (!rt->builtin && c->ver->schema)
        obj->valid_gen = c->ver->schema_gen;
    s->rv++;
    set_audit_status(c->r, tree);
    fas_obj_ref(obj);
    commit(s, rt, FAS_EV_ADDED, obj, NULL);
    reply_obj(c->r, 201, obj, c->ver->api_version);
    if (is_type(rt, "apiextensions.k8s.io", "customresourcedefinitions"))
        crd_register(s, obj);
    fas_obj_unref(obj);
out:
    json_object_put(tree);
}

static const char *const immutable_meta[] = {"name",
                                             "namespace",
                                             "uid",
                                             "creationTimestamp",
                                             "deletionTimestamp",
                                             "deletionGracePeriodSeconds",
                                             "generation",
                                             NULL};

static bool non_metadata_equal(json_object *a, json_object *b)
{
    int na = 0, nb = 0;
    json_object_object_foreach(a, k, v)
    {
        if (strcmp(k, "metadata") == 0 || strcmp(k, "apiVersion") == 0)
            continue;
        na++;
        json_object *bv = NULL;
        if (!json_object_object_get_ex(b, k, &bv) || !fas_json_equal(v, bv))
            return false;
    }
    json_object_object_foreach(b, k2, v2)
    {
        (void)v2;
        if (strcmp(k2, "metadata") != 0 && strcmp(k2, "apiVersion") != 0)
            nb++;
    }
    return na == nb;
}

/* Same object apart from resourceVersion and managedFields (a no-op write). */
static bool equivalent(json_object *a, json_object *b)
{
    if (!non_metadata_equal(a, b))
        return false;
    json_object *ma = fas_json_get(a, "metadata"), *mb = fas_json_get(b, "metadata");
    int na = 0, nb = 0;
    json_object_object_foreach(ma, k, v)
    {
        if (strcmp(k, "resourceVersion") == 0 || strcmp(k, "managedFields") == 0)
            continue;
        na++;
        json_object *bv = NULL;
        if (!json_object_object_get_ex(mb, k, &bv) || !fas_json_equal(v, bv))
            return false;
    }
    json_object_object_foreach(mb, k2, v2)
    {
        (void)v2;
        if (strcmp(k2, "resourceVersion") != 0 && strcmp(k2, "managedFields") != 0)
            nb++;
    }
    return na == nb;
}

static void maybe_finish_namespace(struct fas_store *s, const char *ns);
static void crd_unregister(struct fas_store *s, const struct fas_obj *crd);

/* Removes o now: DELETED event with the final state at a new resourceVersion. */
static struct fas_obj *delete_now(struct fas_store *s, struct fas_rtype *rt, struct fas_obj *o)
{
    struct fas_obj *final = obj_with_rv(o, s->rv + 1, rt->namespaced);
    if (!final)
        return NULL;
    s->rv++;
    fas_obj_ref(final);
    commit(s, rt, FAS_EV_DELETED, final, NULL);
    return final; /* the caller's reference */
}

/* A status write to a custom resource whose stored content passed this very schema: its other
 * members are old's, already pruned, defaulted and valid; only status is walked. */
static bool status_alone(const struct wctx *c, const struct fas_obj *old, bool status_only)
{
    return status_only && !c->rt->builtin && c->ver->schema && old->valid_gen != 0 &&
           old->valid_gen == c->ver->schema_gen;
}

/* Updates old with new_tree (owned): the main resource or only its status. For a status write,
 * new_tree_is_old: new_tree is old's own tree with only its status changed (a merge patch of
 * status, and at most the stored resourceVersion), so it is the result as it is, without a copy
 * of old. */
static void do_update(struct wctx *c, struct fas_obj *old, json_object *new_tree, bool status_only,
                      bool new_tree_is_old)
{
    struct fas_store *s = c->s;
    struct fas_rtype *rt = c->rt;
    json_object *old_tree = obj_tree(old);
    json_object *result = NULL;
    struct fas_obj *obj = NULL;
    if (!old_tree) {
        fas_reply_internal(c->r, "out of memory");
        json_object_put(new_tree);
        return;
    }
    if (status_only && new_tree_is_old) {
        result = new_tree;
    } else if (status_only) {
        result = fas_json_copy(old_tree);
        json_object *st = fas_json_get(new_tree, "status");
        if (result && st)
            json_object_object_add(result, "status", fas_json_copy(st));
        else if (result)
            json_object_object_del(result, "status");
        json_object_put(new_tree);
    } else {
        result = new_tree;
        json_object *md = fas_json_obj_member(result, "metadata");
        json_object *omd = fas_json_get(old_tree, "metadata");
        for (size_t i = 0; md && immutable_meta[i]; i++) {
            json_object *v = fas_json_get(omd, immutable_meta[i]);
            if (v)
                json_object_object_add(md, immutable_meta[i], fas_json_copy(v));
            else
                json_object_object_del(md, immutable_meta[i]);
        }
        if (c->ver->has_status) {
            json_object *st = fas_json_get(old_tree, "status");
            if (st)
                json_object_object_add(result, "status", fas_json_copy(st));
            else
                json_object_object_del(result, "status");
        }
    }
    if (!result) {
        fas_reply_internal(c->r, "out of memory");
        goto out;
    }
    fas_json_set_str(result, "apiVersion", c->ver->api_version);
    fas_json_set_str(result, "kind", rt->kind);
    if (!prepare_kind(c, result, old_tree, old->name))
        goto out;
    if (!apply_schema(c, result, old->name, status_alone(c, old, status_only) ? "status" : NULL))
        goto out;
    json_object *md = fas_json_obj_member(result, "metadata");
    if (!md) {
        fas_reply_internal(c->r, "out of memory");
        goto out;
    }
    char rvs[32];
    snprintf(rvs, sizeof(rvs), "%" PRId64, old->rv);
    fas_json_set_str(md, "resourceVersion", rvs);
    if (rt->has_generation && !status_only && !non_metadata_equal(result, old_tree)) {
        json_object *g = fas_json_get(fas_json_get(old_tree, "metadata"), "generation");
        fas_json_set_int(md, "generation", (g ? json_object_get_int64(g) : 0) + 1);
    }
    struct fas_rversion *storage = fas_rtype_storage(rt);
    result = canonical(result, storage->api_version, rt->kind);
    if (!result) {
        fas_reply_internal(c->r, "out of memory");
        goto out;
    }
    if (equivalent(result, old_tree)) {
        reply_obj(c->r, 200, old, c->ver->api_version);
        set_audit_status(c->r, old_tree);
        goto out;
    }
    md = fas_json_get(result, "metadata");
    json_object *fin = fas_json_get(md, "finalizers");
    bool finalize =
        fas_json_get(md, "deletionTimestamp") && (!fin || json_object_array_length(fin) == 0);
    if (c->o->dry_run) {
        fas_json_set_str(result, "apiVersion", c->ver->api_version);
        reply_tree(c->r, 200, result);
        set_audit_status(c->r, result);
        goto out;
    }
    snprintf(rvs, sizeof(rvs), "%" PRId64, s->rv + 1);
    fas_json_set_str(md, "resourceVersion", rvs);
    obj = obj_from_tree(result, rt->namespaced);
    if (!obj) {
        fas_reply_internal(c->r, "out of memory");
        goto out;
    }
    if (!rt->builtin && c->ver->schema)
        obj->valid_gen = c->ver->schema_gen;
    s->rv++;
    set_audit_status(c->r, result);
    fas_obj_ref(obj);
    fas_obj_ref(old);
    if (finalize) {
        commit(s, rt, FAS_EV_DELETED, obj, NULL);
        reply_obj(c->r, 200, obj, c->ver->api_version);
        if (is_type(rt, "apiextensions.k8s.io", "customresourcedefinitions"))
            crd_unregister(s, obj);
        if (obj->ns)
            maybe_finish_namespace(s, obj->ns);
    } else {
        commit(s, rt, FAS_EV_MODIFIED, obj, old);
        reply_obj(c->r, 200, obj, c->ver->api_version);
        if (is_type(rt, "apiextensions.k8s.io", "customresourcedefinitions"))
            crd_register(s, obj);
    }
    fas_obj_unref(old);
    fas_obj_unref(obj);
out:
    json_object_put(result);
    json_object_put(old_tree);
}

static void wctx_init(struct wctx *c, struct fas_store *s, const struct fas_target *t,
                      const struct fas_write_opts *o, struct fas_reply *r)
{
    memset(c, 0, sizeof(*c));
    c->s = s;
    c->t = t;
    c->o = o;
    c->r = r;
}

void fas_store_create(struct fas_store *s, const struct fas_target *t, const char *body, size_t len,
                      const struct fas_write_opts *o, struct fas_reply *r)
{
    struct wctx c;
    wctx_init(&c, s, t, o, r);
    json_object *tree = parse_body(r, body, len);
    if (!tree)
        return;
    if (t->name || t->subresource) {
        json_object_put(tree);
        fas_reply_method_not_allowed(r);
        return;
    }
    pthread_mutex_lock(&s->mu);
    if (resolve(s, t, &c.rt, &c.ver, r)) {
        if (c.rt->namespaced && !t->ns) {
            json_object_put(tree);
            fas_reply_no_route(r);
        } else {
            do_create(&c, tree, NULL);
        }
    } else {
        set_audit_status(r, tree);
        json_object_put(tree);
    }
    pthread_mutex_unlock(&s->mu);
}

void fas_store_update(struct fas_store *s, const struct fas_target *t, const char *body, size_t len,
                      const struct fas_write_opts *o, struct fas_reply *r)
{
    struct wctx c;
    wctx_init(&c, s, t, o, r);
    json_object *tree = parse_body(r, body, len);
    if (!tree)
        return;
    set_audit_status(r, tree);
    if (!t->name) {
        json_object_put(tree);
        fas_reply_method_not_allowed(r);
        return;
    }
    pthread_mutex_lock(&s->mu);
    if (!resolve(s, t, &c.rt, &c.ver, r) || !check_type_meta(&c, tree))
        goto out_put;
    struct fas_obj *old = obj_find(c.rt, c.rt->namespaced ? t->ns : NULL, t->name);
    json_object *md = fas_json_get(tree, "metadata");
    const char *name = fas_json_str(md, "name");
    const char *rvs = fas_json_str(md, "resourceVersion");
    if (name && strcmp(name, t->name) != 0) {
        char msg[600];
        snprintf(msg, sizeof(msg),
                 "the name of the object (%s) does not match the name on the URL (%s)", name,
                 t->name);
        fas_reply_bad_request(r, msg);
        goto out_put;
    }
    if (!old) {
        fas_reply_not_found(r, c.rt->group, c.rt->plural, t->name);
        goto out_put;
    }
    if ((!rvs || !rvs[0]) && !c.rt->unconditional_update) {
        fas_reply_invalid1(r, c.rt->group, c.rt->kind, t->name, "metadata.resourceVersion",
                           "FieldValueInvalid",
                           "Invalid value: 0x0: must be specified for an update");
        goto out_put;
    }
    if (rvs && rvs[0] && parse_rv(rvs) != old->rv) {
        fas_reply_conflict(r, c.rt->group, c.rt->plural, t->name,
                           "the object has been modified; please apply your changes to the "
                           "latest version and try again");
        goto out_put;
    }
    do_update(&c, old, tree, t->subresource != NULL, false);
    pthread_mutex_unlock(&s->mu);
    return;
out_put:
    json_object_put(tree);
    pthread_mutex_unlock(&s->mu);
}

/* A merge patch of only status, with at most metadata.resourceVersion beside it (a status
 * writer's precondition). */
static bool status_patch(json_object *patch)
{
    if (!json_object_is_type(patch, json_type_object))
        return false;
    json_object_object_foreach(patch, k, v)
    {
        if (strcmp(k, "status") == 0)
            continue;
        if (strcmp(k, "metadata") != 0 || !json_object_is_type(v, json_type_object))
            return false;
        json_object_object_foreach(v, mk, mv)
        {
            (void)mv;
            if (strcmp(mk, "resourceVersion") != 0)
                return false;
        }
    }
    return true;
}

/* old's status, kept aside before a status merge patch changed it in old's own tree. */
struct old_status {
    bool has;           /* old had a status member */
    json_object *value; /* a copy of it (NULL: JSON null or none); owned by the caller */
};

/* Same status member (presence and value) in tree as in os. */
static bool status_same(json_object *tree, const struct old_status *os)
{
    json_object *st = NULL;
    bool has = json_object_object_get_ex(tree, "status", &st);
    return has == os->has && fas_json_equal(st, os->value);
}

/* The spans of a stored object's text that a status write changes. */
#define LEAN_MAX_MEMBERS 32
struct stored_spans {
    size_t n;                          /* top-level members */
    const char *key[LEAN_MAX_MEMBERS]; /* raw key text (between its quotes) */
    size_t klen[LEAN_MAX_MEMBERS];
    const char *status; /* status value, NULL when none */
    size_t status_len;
    const char *rv; /* metadata.resourceVersion value (with its quotes) */
    size_t rv_len;
};

/* Finds the members of old's canonical text (as json-c wrote it). false: a shape this does not
 * handle (then the write takes the whole-tree path). */
static bool stored_spans(const struct fas_obj *old, struct stored_spans *sp)
{
    struct kgc_jsonscan_iter it, mit;
    const char *k, *v;
    size_t kl, vl;
    int rc;
    memset(sp, 0, sizeof(*sp));
    if (kgc_jsonscan_iter_start(&it, old->json, old->len, '{', "object", NULL))
        return false;
    while ((rc = kgc_jsonscan_iter_next(&it, &k, &kl, &v, &vl, NULL)) == 1) {
        if (sp->n == LEAN_MAX_MEMBERS || memchr(k, '\\', kl))
            return false;
        sp->key[sp->n] = k;
        sp->klen[sp->n++] = kl;
        if (kgc_jsonscan_key_is(k, kl, "status")) {
            sp->status = v;
            sp->status_len = vl;
        } else if (kgc_jsonscan_key_is(k, kl, "metadata")) {
            if (kgc_jsonscan_iter_start(&mit, v, vl, '{', "metadata", NULL))
                return false;
            const char *mk, *mv;
            size_t mkl, mvl;
            int mrc;
            while ((mrc = kgc_jsonscan_iter_next(&mit, &mk, &mkl, &mv, &mvl, NULL)) == 1)
                if (kgc_jsonscan_key_is(mk, mkl, "resourceVersion")) {
                    sp->rv = mv;
                    sp->rv_len = mvl;
                }
            if (mrc)
                return false;
        }
    }
    return rc == 0 && sp->rv && sp->n > 0 && old->json[old->len - 1] == '}';
}

/* The members of sp in order, each null but status (parsed): what the schema's status-only
 * walk sees of the object (root members' presence and count, and status). NULL on failure. */
static json_object *status_skeleton(const struct stored_spans *sp)
{
    json_object *skel = json_object_new_object();
    char key[256];
    for (size_t i = 0; skel && i < sp->n; i++) {
        if (sp->klen[i] >= sizeof(key))
            goto fail;
        memcpy(key, sp->key[i], sp->klen[i]);
        key[sp->klen[i]] = '\0';
        json_object *v = NULL;
        if (strcmp(key, "status") == 0) {
            char err[BODY_ERR_MAX];
            if (!(v = fas_json_parse(sp->status, sp->status_len, err, sizeof(err))) &&
                !(sp->status_len == 4 && memcmp(sp->status, "null", 4) == 0))
                goto fail;
        }
        if (json_object_object_add(skel, key, v)) {
            json_object_put(v);
            goto fail;
        }
    }
    return skel;
fail:
    json_object_put(skel);
    return NULL;
}

/* The members of skel are sp's, in sp's order, and status: where it was in sp, else last (as
 * json-c adds a new member, and canonical() keeps it). */
static bool same_members(json_object *skel, const struct stored_spans *sp)
{
    size_t i = 0;
    json_object_object_foreach(skel, k, v)
    {
        (void)v;
        if (i == sp->n)
            return !sp->status && strcmp(k, "status") == 0 && i++ == sp->n;
        if (!kgc_jsonscan_key_is(sp->key[i], sp->klen[i], k))
            return false;
        i++;
    }
    return i == sp->n + (sp->status ? 0 : 1);
}

/* A merge patch of a custom resource's status (status_patch(), status_alone()), written without
 * building old's whole tree: old's text is scanned for its members, only its status is parsed,
 * patched, walked by the schema (the status-only walk, on a skeleton holding old's root members)
 * and compared; the new text is old's with the new status and resourceVersion spliced in. The
 * answers, events, audit and stored text are the whole-tree path's (do_update): json-c writes a
 * parsed tree back as it read it, and canonical() keeps old's member order. Returns false, having
 * answered nothing, when the shape is one this does not handle (no resourceVersion in old's
 * text, status moved or removed, a dry run, an object being finalised): the whole-tree path then
 * does the write. */
static bool status_write_lean(struct wctx *c, struct fas_obj *old, json_object *patch)
{
    struct fas_store *s = c->s;
    struct fas_rversion *storage = fas_rtype_storage(c->rt);
    size_t have = old->av_end - 16;
    if (c->o->dry_run || (old->deleting && old->n_finalizers == 0) ||
        strlen(storage->api_version) != have || memcmp(old->json + 15, storage->api_version, have))
        return false;
    /* the precondition, as the whole-tree path reads it from the patched metadata */
    const char *rvs = fas_json_str(fas_json_get(patch, "metadata"), "resourceVersion");
    if (rvs && rvs[0] && parse_rv(rvs) != old->rv) {
        fas_reply_conflict(c->r, c->rt->group, c->rt->plural, old->name,
                           "the object has been modified; please apply your changes to the "
                           "latest version and try again");
        return true;
    }
    struct stored_spans sp;
    if (!stored_spans(old, &sp) || (sp.status && sp.status < sp.rv + sp.rv_len))
        return false;
    json_object *skel = status_skeleton(&sp);
    if (!skel)
        return false;
    bool done = false;
    struct old_status os = {0};
    os.has = json_object_object_get_ex(skel, "status", &os.value);
    if (os.value && !(os.value = fas_json_copy(os.value)))
        goto out;
    json_object *pst = NULL;
    if (json_object_object_get_ex(patch, "status", &pst)) {
        json_object *one = json_object_new_object();
        if (!one || json_object_object_add(one, "status", json_object_get(pst)) ||
            fas_merge_patch(&skel, one)) {
            json_object_put(one);
            goto out;
        }
        json_object_put(one);
    }
    done = true;
    if (!apply_schema(c, skel, old->name, "status"))
        goto out;
    if (status_same(skel, &os)) {
        reply_obj(c->r, 200, old, c->ver->api_version);
        free(c->r->audit_status);
        c->r->audit_status = os.value ? fas_json_text_dup(os.value, NULL) : NULL;
        goto out;
    }
    json_object *st = NULL;
    if (!json_object_object_get_ex(skel, "status", &st) || !same_members(skel, &sp)) {
        /* status gone, or moved to the end: the whole-tree path writes that */
        free(c->r->warning);
        c->r->warning = NULL;
        done = false;
        goto out;
    }
    size_t stn = 0;
    const char *stt = st ? fas_json_text(st, &stn) : "null";
    if (!st)
        stn = 4;
    char rvq[40];
    int rvn = snprintf(rvq, sizeof(rvq), "\"%" PRId64 "\"", s->rv + 1);
    /* old's text: [0, a) rv [a + rv_len, b) status [b + status_len, len); without a status,
     * ",\"status\":" and the new one go before the closing brace */
    static const char new_member[] = ",\"status\":";
    size_t nm = sp.status ? 0 : sizeof(new_member) - 1;
    size_t a = (size_t)(sp.rv - old->json);
    size_t b = sp.status ? (size_t)(sp.status - old->json) : old->len - 1;
    size_t tail = old->len - b - sp.status_len;
    size_t len = a + (size_t)rvn + (b - a - sp.rv_len) + nm + stn + tail;
    char *text = stt ? malloc(len + 1) : NULL;
    char *audit = st && stt ? malloc(stn + 1) : NULL; /* a null status audits as none */
    if (!text || (st && !audit)) {
        free(text);
        free(audit);
        fas_reply_internal(c->r, "out of memory");
        goto out;
    }
    char *w = text;
    memcpy(w, old->json, a);
    w += a;
    memcpy(w, rvq, (size_t)rvn);
    w += rvn;
    memcpy(w, sp.rv + sp.rv_len, b - a - sp.rv_len);
    w += b - a - sp.rv_len;
    memcpy(w, new_member, nm);
    w += nm;
    memcpy(w, stt, stn);
    w += stn;
    memcpy(w, old->json + b + sp.status_len, tail);
    text[len] = '\0';
    if (audit)
        memcpy(audit, stt, stn + 1);
    struct fas_obj *obj = obj_restatus(old, text, len, s->rv + 1);
    if (!obj) {
        free(audit);
        fas_reply_internal(c->r, "out of memory");
        goto out;
    }
    obj->valid_gen = c->ver->schema_gen;
    s->rv++;
    free(c->r->audit_status);
    c->r->audit_status = audit;
    fas_obj_ref(obj);
    fas_obj_ref(old);
    commit(s, c->rt, FAS_EV_MODIFIED, obj, old);
    reply_obj(c->r, 200, obj, c->ver->api_version);
    fas_obj_unref(old);
    fas_obj_unref(obj);
out:
    json_object_put(os.value);
    json_object_put(skel);
    return done;
}

static bool ct_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

void fas_store_patch(struct fas_store *s, const struct fas_target *t, const char *content_type,
                     const char *body, size_t len, const struct fas_write_opts *o,
                     struct fas_reply *r)
{
    struct wctx c;
    wctx_init(&c, s, t, o, r);
    bool merge = ct_is(content_type, "application/merge-patch+json");
    bool jpatch = ct_is(content_type, "application/json-patch+json");
    bool smp = ct_is(content_type, "application/strategic-merge-patch+json");
    bool apply = ct_is(content_type, "application/apply-patch+yaml") ||
                 ct_is(content_type, "application/apply-patch+json");
    if (!merge && !jpatch && !smp && !apply) {
        fas_reply_unsupported_media(r, content_type);
        return;
    }
    if (!t->name) {
        fas_reply_method_not_allowed(r);
        return;
    }
    json_object *patch = parse_body(r, body, len);
    if (!patch)
        return;
    json_object *tree = NULL;
    pthread_mutex_lock(&s->mu);
    if (!resolve(s, t, &c.rt, &c.ver, r))
        goto out;
    if (smp && !c.rt->builtin) {
        fas_reply_unsupported_media(r, content_type);
        goto out;
    }
    struct fas_obj *old = obj_find(c.rt, c.rt->namespaced ? t->ns : NULL, t->name);
    if (!old) {
        if (apply && !t->subresource) {
            set_audit_status(r, patch);
            do_create(&c, patch, t->name);
            patch = NULL;
        } else {
            fas_reply_not_found(r, c.rt->group, c.rt->plural, t->name);
        }
        goto out;
    }
    if (apply && !check_type_meta(&c, patch))
        goto out;
    bool new_tree_is_old = merge && t->subresource && status_patch(patch);
    if (new_tree_is_old && status_alone(&c, old, true) && status_write_lean(&c, old, patch))
        goto out;
    tree = obj_tree(old);
    if (!tree) {
        fas_reply_internal(r, "out of memory");
        goto out;
    }
    fas_json_set_str(tree, "apiVersion", c.ver->api_version);
    char err[512] = "";
    int rc;
    if (jpatch)
        rc = fas_json_patch(&tree, patch, err, sizeof(err));
    else if (smp)
        rc = fas_strategic_merge_patch(&tree, patch, err, sizeof(err));
    else
        rc = fas_merge_patch(&tree, patch);
    if (rc || !json_object_is_type(tree, json_type_object)) {
        if (rc == KGC_ENOMEM)
            fas_reply_internal(r, "out of memory");
        else
            fas_reply_status(r, 422, "Invalid", err[0] ? err : "the patch produced no object",
                             NULL);
        goto out;
    }
    json_object *md = fas_json_get(tree, "metadata");
    const char *rvs = fas_json_str(md, "resourceVersion");
    if (rvs && rvs[0] && parse_rv(rvs) != old->rv) {
        fas_reply_conflict(r, c.rt->group, c.rt->plural, t->name,
                           "the object has been modified; please apply your changes to the "
                           "latest version and try again");
        goto out;
    }
    /* tree is old's own tree and the patch; one of status (and of the stored resourceVersion,
     * checked just above) changed nothing else */
    do_update(&c, old, tree, t->subresource != NULL, new_tree_is_old);
    tree = NULL;
out:
    pthread_mutex_unlock(&s->mu);
    /* Every answer that wrote (2xx) audited its result's status; the others audit the patch's. */
    if (patch && (r->code < 200 || r->code >= 300))
        set_audit_status(r, patch);
    json_object_put(tree);
    json_object_put(patch);
}

/* ---- delete --------------------------------------------------------------------------------- */

/* Sets deletionTimestamp (and bumps generation) on an object that has finalizers. */
static struct fas_obj *mark_deleting(struct fas_store *s, struct fas_rtype *rt, struct fas_obj *o,
                                     bool namespace_phase)
{
    json_object *t = obj_tree(o);
    if (!t)
        return NULL;
    json_object *md = fas_json_obj_member(t, "metadata");
    set_now(md, "deletionTimestamp");
    fas_json_set_int(md, "deletionGracePeriodSeconds", 0);
    json_object *g = fas_json_get(md, "generation");
    if (g && json_object_get_int64(g) > 0)
        fas_json_set_int(md, "generation", json_object_get_int64(g) + 1);
    if (namespace_phase) {
        json_object *st = fas_json_obj_member(t, "status");
        if (st)
            fas_json_set_str(st, "phase", "Terminating");
    }
    char rvs[32];
    snprintf(rvs, sizeof(rvs), "%" PRId64, s->rv + 1);
    fas_json_set_str(md, "resourceVersion", rvs);
    t = canonical(t, fas_rtype_storage(rt)->api_version, rt->kind);
    struct fas_obj *n = t ? obj_from_tree(t, rt->namespaced) : NULL;
    json_object_put(t);
    if (!n)
        return NULL;
    s->rv++;
    fas_obj_ref(n);
    fas_obj_ref(o);
    commit(s, rt, FAS_EV_MODIFIED, n, o);
    fas_obj_unref(o);
    return n; /* the caller's reference */
}

/* Deletes everything in a terminating namespace; the namespace goes once it is empty. */
static void purge_namespace(struct fas_store *s, const char *ns)
{
    char prefix[300];
    for (struct fas_rtype *rt = s->types; rt; rt = rt->next) {
        if (!rt->namespaced)
            continue;
        size_t i = ns_range_start(rt, ns, prefix, sizeof(prefix));
        size_t plen = strlen(prefix);
        while (i < rt->n_objs && strncmp(rt->objs[i]->key, prefix, plen) == 0) {
            struct fas_obj *o = rt->objs[i];
            if (o->n_finalizers > 0) {
                if (!o->deleting) {
                    struct fas_obj *n = mark_deleting(s, rt, o, false);
                    fas_obj_unref(n);
                }
                i++;
                continue;
            }
            struct fas_obj *gone = delete_now(s, rt, o);
            if (!gone)
                return;
            fas_obj_unref(gone);
            /* the entry at i is gone: do not advance */
        }
    }
}

static bool namespace_empty(struct fas_store *s, const char *ns)
{
    char prefix[300];
    for (struct fas_rtype *rt = s->types; rt; rt = rt->next) {
        if (!rt->namespaced)
            continue;
        size_t i = ns_range_start(rt, ns, prefix, sizeof(prefix));
        if (i < rt->n_objs && strncmp(rt->objs[i]->key, prefix, strlen(prefix)) == 0)
            return false;
    }
    return true;
}

static void maybe_finish_namespace(struct fas_store *s, const char *ns)
{
    struct fas_rtype *nst = namespaces_type(s);
    struct fas_obj *nso = obj_find(nst, NULL, ns);
    if (!nso || !nso->deleting || !namespace_empty(s, ns))
        return;
    struct fas_obj *gone = delete_now(s, nst, nso);
    fas_obj_unref(gone);
}

/* Queues a terminating namespace for the cleanup thread. */
static void schedule_namespace_cleanup(struct fas_store *s, const char *name)
{
    for (size_t i = 0; i < s->n_ns_pending; i++)
        if (strcmp(s->ns_pending[i].name, name) == 0)
            return;
    struct fas_ns_pending *p =
        realloc(s->ns_pending, (s->n_ns_pending + 1) * sizeof(*s->ns_pending));
    if (!p) { /* cannot defer: clean up now */
        purge_namespace(s, name);
        maybe_finish_namespace(s, name);
        return;
    }
    s->ns_pending = p;
    snprintf(p[s->n_ns_pending].name, sizeof(p[0].name), "%s", name);
    p[s->n_ns_pending].due_ns = kgc_clock_now(NULL) + (uint64_t)s->ns_cleanup_ms * KGC_NS_PER_MS;
    s->n_ns_pending++;
    pthread_cond_signal(&s->ns_cv);
}

static void *ns_cleanup_loop(void *arg)
{
    struct fas_store *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->ns_stop) {
        uint64_t now = kgc_clock_now(NULL), next = 0;
        for (size_t i = 0; i < s->n_ns_pending;) {
            if (s->ns_pending[i].due_ns <= now) {
                char name[256];
                snprintf(name, sizeof(name), "%s", s->ns_pending[i].name);
                s->ns_pending[i] = s->ns_pending[--s->n_ns_pending];
                purge_namespace(s, name);
                maybe_finish_namespace(s, name);
                continue;
            }
            if (!next || s->ns_pending[i].due_ns < next)
                next = s->ns_pending[i].due_ns;
            i++;
        }
        if (s->ns_stop)
            break;
        if (!next) {
            pthread_cond_wait(&s->ns_cv, &s->mu);
        } else {
            struct timespec ts = {.tv_sec = (time_t)(next / KGC_NS_PER_S),
                                  .tv_nsec = (long)(next % KGC_NS_PER_S)};
            pthread_cond_timedwait(&s->ns_cv, &s->mu, &ts);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Stops serving the resource a CRD defined: its objects are deleted, its watches cut. */
static void crd_unregister(struct fas_store *s, const struct fas_obj *crd)
{
    json_object *tree = obj_tree(crd);
    json_object *spec = fas_json_get(tree, "spec");
    const char *group = fas_json_str(spec, "group");
    const char *plural = fas_json_str(fas_json_get(spec, "names"), "plural");
    struct fas_rtype *rt = group && plural ? find_type(s, group, plural) : NULL;
    if (!rt || rt->builtin) {
        json_object_put(tree);
        return;
    }
    while (rt->n_objs > 0) {
        struct fas_obj *gone = delete_now(s, rt, rt->objs[rt->n_objs - 1]);
        if (!gone)
            break;
        fas_obj_unref(gone);
    }
    for (struct fas_watch *w = rt->watches; w; w = w->next) {
        pthread_mutex_lock(&w->mu);
        w->cut = true;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    struct fas_rtype **pp = &s->types;
    while (*pp && *pp != rt)
        pp = &(*pp)->next;
    if (*pp)
        *pp = rt->next;
    rt->removed = true;
    rt->next = s->retired;
    s->retired = rt;
    s->types_gen++;
    kgc_info("apiserver", "custom resource no longer served", KGC_F_STR("name", crd->name));
    json_object_put(tree);
}

/* Deletes one object (the store lock held). */
static void delete_one(struct wctx *c, struct fas_obj *o, json_object *opts, bool reply)
{
    struct fas_store *s = c->s;
    struct fas_rtype *rt = c->rt;
    json_object *pre = fas_json_get(opts, "preconditions");
    const char *puid = fas_json_str(pre, "uid");
    const char *prv = fas_json_str(pre, "resourceVersion");
    char msg[512];
    if (puid && strcmp(puid, o->uid) != 0) {
        snprintf(msg, sizeof(msg),
                 "Precondition failed: UID in precondition: %s, UID in object meta: %s", puid,
                 o->uid);
        fas_reply_conflict(c->r, rt->group, rt->plural, o->name, msg);
        return;
    }
    if (prv && parse_rv(prv) != o->rv) {
        snprintf(msg, sizeof(msg),
                 "Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in "
                 "object meta: %" PRId64,
                 prv, o->rv);
        fas_reply_conflict(c->r, rt->group, rt->plural, o->name, msg);
        return;
    }
    bool is_ns = is_type(rt, "", "namespaces");
    if (is_ns) {
        for (size_t i = 0; protected_namespaces[i]; i++)
            if (strcmp(protected_namespaces[i], o->name) == 0) {
                fas_reply_forbidden(c->r, "", "namespaces", o->name,
                                    "this namespace may not be deleted", NULL);
                return;
            }
    }
    if (c->o->dry_run) {
        if (reply)
            reply_obj(c->r, 200, o, c->ver->api_version);
        return;
    }
    set_audit_status_obj(c->r, o);
    if (is_ns) {
        char name[256];
        snprintf(name, sizeof(name), "%s", o->name);
        struct fas_obj *marked = o;
        if (o->deleting)
            fas_obj_ref(o);
        else
            marked = mark_deleting(s, rt, o, true);
        if (!marked) {
            fas_reply_internal(c->r, "out of memory");
            return;
        }
        if (reply)
            reply_obj(c->r, 200, marked, c->ver->api_version);
        fas_obj_unref(marked);
        if (s->ns_cleanup_ms == 0) {
            purge_namespace(s, name);
            maybe_finish_namespace(s, name);
        } else {
            schedule_namespace_cleanup(s, name);
        }
        return;
    }
    if (o->n_finalizers > 0) {
        if (o->deleting) {
            if (reply)
                reply_obj(c->r, 200, o, c->ver->api_version);
            return;
        }
        struct fas_obj *n = mark_deleting(s, rt, o, false);
        if (!n) {
            fas_reply_internal(c->r, "out of memory");
            return;
        }
        if (reply)
            reply_obj(c->r, 200, n, c->ver->api_version);
        fas_obj_unref(n);
        return;
    }
    bool is_crd = is_type(rt, "apiextensions.k8s.io", "customresourcedefinitions");
    if (is_crd)
        crd_unregister(s, o);
    fas_obj_ref(o);
    struct fas_obj *gone = delete_now(s, rt, o);
    if (!gone) {
        fas_obj_unref(o);
        fas_reply_internal(c->r, "out of memory");
        return;
    }
    if (reply)
        reply_delete_success(c, gone);
    if (gone->ns)
        maybe_finish_namespace(s, gone->ns);
    fas_obj_unref(gone);
    fas_obj_unref(o);
}

static json_object *parse_delete_options(struct fas_reply *r, const char *body, size_t len,
                                         bool *dry_run)
{
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
        i++;
    if (i == len)
        return json_object_new_object();
    json_object *o = parse_body(r, body, len);
    if (!o)
        return NULL;
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        fas_reply_bad_request(r, "DeleteOptions must be a JSON object");
        return NULL;
    }
    json_object *dr = fas_json_get(o, "dryRun");
    if (dr && json_object_is_type(dr, json_type_array) && json_object_array_length(dr) > 0)
        *dry_run = true;
    return o;
}

void fas_store_delete(struct fas_store *s, const struct fas_target *t, const char *body, size_t len,
                      const struct fas_write_opts *o, struct fas_reply *r)
{
    struct fas_write_opts wo = *o;
    json_object *opts = parse_delete_options(r, body, len, &wo.dry_run);
    if (!opts)
        return;
    struct wctx c;
    wctx_init(&c, s, t, &wo, r);
    if (!t->name || t->subresource) {
        json_object_put(opts);
        fas_reply_method_not_allowed(r);
        return;
    }
    pthread_mutex_lock(&s->mu);
    if (resolve(s, t, &c.rt, &c.ver, r)) {
        struct fas_obj *old = obj_find(c.rt, c.rt->namespaced ? t->ns : NULL, t->name);
        if (!old)
            fas_reply_not_found(r, c.rt->group, c.rt->plural, t->name);
        else
            delete_one(&c, old, opts, true);
    }
    pthread_mutex_unlock(&s->mu);
    json_object_put(opts);
}

/* ---- reads ---------------------------------------------------------------------------------- */

static char *continue_token(int64_t rv, const char *last_key)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    size_t kl = strlen(last_key);
    char *start = malloc(kl + 2);
    if (!start) {
        json_object_put(o);
        return NULL;
    }
    memcpy(start, last_key, kl);
    start[kl] = '\x01'; /* the smallest key after last_key that we can carry in JSON */
    start[kl + 1] = '\0';
    fas_json_set_str(o, "v", "meta.k8s.io/v1");
    fas_json_set_int(o, "rv", rv);
    fas_json_set_str(o, "start", start);
    free(start);
    size_t n = 0;
    const char *t = fas_json_text(o, &n);
    char *tok = t ? fas_base64_encode((const unsigned char *)t, n) : NULL;
    json_object_put(o);
    return tok;
}

static int parse_continue(const char *tok, int64_t *rv, char **start)
{
    size_t n = 0;
    unsigned char *raw = fas_base64_decode(tok, &n);
    if (!raw)
        return KGC_EINVAL;
    char err[BODY_ERR_MAX];
    json_object *o = fas_json_parse((const char *)raw, n, err, sizeof(err));
    free(raw);
    json_object *jrv = fas_json_get(o, "rv");
    const char *st = fas_json_str(o, "start");
    if (!o || !jrv || !st) {
        json_object_put(o);
        return KGC_EINVAL;
    }
    *rv = json_object_get_int64(jrv);
    *start = strdup(st);
    json_object_put(o);
    return *start ? 0 : KGC_ENOMEM;
}

static bool parse_selectors(const struct fas_target *t, const struct fas_list_opts *o,
                            struct fas_selector **lsel, struct fas_selector **fsel,
                            struct fas_reply *r)
{
    char err[512];
    bool secrets = t && t->group && !t->group[0] && t->plural && strcmp(t->plural, "secrets") == 0;
    *lsel = *fsel = NULL;
    if (fas_label_selector_parse(o->label_selector, lsel, err, sizeof(err))) {
        fas_reply_bad_request(r, err);
        return false;
    }
    if (fas_field_selector_parse(o->field_selector,
                                 secrets ? secret_field_selectors_allowed : field_selectors_allowed,
                                 fsel, err, sizeof(err))) {
        fas_selector_free(*lsel);
        *lsel = NULL;
        fas_reply_bad_request(r, err);
        return false;
    }
    return true;
}

void fas_store_get(struct fas_store *s, const struct fas_target *t, bool table, struct fas_reply *r)
{
    struct fas_rtype *rt;
    struct fas_rversion *ver;
    struct fas_obj *o = NULL;
    pthread_mutex_lock(&s->mu);
    if (resolve(s, t, &rt, &ver, r)) {
        o = obj_find(rt, rt->namespaced ? t->ns : NULL, t->name);
        if (o) {
            fas_obj_ref(o);
            if (table) {
                char rv[32];
                snprintf(rv, sizeof(rv), "%" PRId64, o->rv);
                size_t n = 0;
                char *text = fas_table_render(rt, ver, &o, 1, rv, NULL, &n);
                fas_reply_take(r, 200, text, n);
            }
        } else {
            fas_reply_not_found(r, rt->group, rt->plural, t->name);
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (o && !table)
        reply_obj(r, 200, o, ver->api_version);
    fas_obj_unref(o);
}

void fas_store_list(struct fas_store *s, const struct fas_target *t, const struct fas_list_opts *o,
                    struct fas_reply *r)
{
    struct fas_selector *lsel, *fsel;
    if (!parse_selectors(t, o, &lsel, &fsel, r))
        return;
    int64_t cont_rv = 0;
    char *start = NULL;
    if (o->cont && o->cont[0] && parse_continue(o->cont, &cont_rv, &start)) {
        fas_reply_bad_request(r, "continue key is not valid: invalid continue token");
        fas_selector_free(lsel);
        fas_selector_free(fsel);
        return;
    }
    struct fas_rtype *rt;
    struct fas_rversion *ver;
    struct fas_obj **items = NULL;
    size_t n = 0, cap = 0;
    char *cont = NULL;
    long long remaining = -1;
    int64_t list_rv = 0;
    char kind[300], api_version[300];
    bool ok = false;
    pthread_mutex_lock(&s->mu);
    if (!resolve(s, t, &rt, &ver, r))
        goto out_unlock;
    if (start && cont_rv < s->min_rv) {
        fas_reply_expired(r, "The provided continue parameter is too old to display a consistent "
                             "list result. You can start a new list without the continue "
                             "parameter, or use the continue value from the response to the "
                             "list.");
        goto out_unlock;
    }
    list_rv = start ? cont_rv : s->rv;
    snprintf(kind, sizeof(kind), "%s", rt->list_kind);
    snprintf(api_version, sizeof(api_version), "%s", ver->api_version);
    char prefix[300];
    size_t i = ns_range_start(rt, t->ns, prefix, sizeof(prefix));
    size_t plen = strlen(prefix);
    if (start) {
        bool found;
        size_t j = obj_search(rt, start, &found);
        if (j > i)
            i = j;
    }
    const char *want_name = fas_selector_exact(fsel, "metadata.name");
    for (; i < rt->n_objs; i++) {
        struct fas_obj *ob = rt->objs[i];
        if (plen && strncmp(ob->key, prefix, plen) != 0)
            break;
        if (want_name && strcmp(ob->name, want_name) != 0)
            continue;
        if (!obj_matches(ob, NULL, lsel, fsel))
            continue;
        if (o->limit > 0 && n >= (size_t)o->limit) {
            cont = continue_token(list_rv, items[n - 1]->key);
            if (!lsel && !fsel) {
                remaining = 0;
                for (; i < rt->n_objs; i++) {
                    if (plen && strncmp(rt->objs[i]->key, prefix, plen) != 0)
                        break;
                    remaining++;
                }
            }
            break;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct fas_obj **p = realloc(items, nc * sizeof(struct fas_obj *));
            if (!p) {
                fas_reply_internal(r, "out of memory");
                goto out_unlock;
            }
            items = p;
            cap = nc;
        }
        fas_obj_ref(ob);
        items[n++] = ob;
    }
    ok = true;
    if (o->table) {
        char rvs[32];
        snprintf(rvs, sizeof(rvs), "%" PRId64, list_rv);
        size_t tl = 0;
        char *text = fas_table_render(rt, ver, items, n, rvs, cont, &tl);
        fas_reply_take(r, 200, text, tl);
        ok = false;
    }
out_unlock:
    pthread_mutex_unlock(&s->mu);
    if (ok) {
        struct fas_buf b;
        fas_buf_init(&b);
        fas_buf_puts(&b, "{\"kind\":");
        fas_buf_json_string(&b, kind);
        fas_buf_puts(&b, ",\"apiVersion\":");
        fas_buf_json_string(&b, api_version);
        fas_buf_printf(&b, ",\"metadata\":{\"resourceVersion\":\"%" PRId64 "\"", list_rv);
        if (cont) {
            fas_buf_puts(&b, ",\"continue\":");
            fas_buf_json_string(&b, cont);
            if (remaining >= 0)
                fas_buf_printf(&b, ",\"remainingItemCount\":%lld", remaining);
        }
        fas_buf_puts(&b, "},\"items\":[");
        for (size_t k = 0; k < n; k++) {
            if (k)
                fas_buf_puts(&b, ",");
            fas_obj_emit(&b, items[k], api_version);
        }
        fas_buf_puts(&b, "]}");
        size_t len = 0;
        char *text = fas_buf_take(&b, &len);
        fas_reply_take(r, 200, text, len);
    }
    for (size_t k = 0; k < n; k++)
        fas_obj_unref(items[k]);
    free(items);
    free(cont);
    free(start);
    fas_selector_free(lsel);
    fas_selector_free(fsel);
}

void fas_store_delete_collection(struct fas_store *s, const struct fas_target *t,
                                 const struct fas_list_opts *lo, const struct fas_write_opts *o,
                                 struct fas_reply *r)
{
    struct fas_selector *lsel, *fsel;
    if (!parse_selectors(t, lo, &lsel, &fsel, r))
        return;
    struct wctx c;
    wctx_init(&c, s, t, o, r);
    pthread_mutex_lock(&s->mu);
    if (resolve(s, t, &c.rt, &c.ver, r)) {
        char prefix[300];
        struct fas_buf b;
        fas_buf_init(&b);
        fas_buf_puts(&b, "{\"kind\":");
        fas_buf_json_string(&b, c.rt->list_kind);
        fas_buf_puts(&b, ",\"apiVersion\":");
        fas_buf_json_string(&b, c.ver->api_version);
        fas_buf_puts(&b, ",\"metadata\":{},\"items\":[");
        /* Collect first: deleting changes the index. */
        size_t i = ns_range_start(c.rt, t->ns, prefix, sizeof(prefix));
        size_t plen = strlen(prefix), n = 0;
        struct fas_obj **victims = calloc(c.rt->n_objs + 1, sizeof(struct fas_obj *));
        for (; victims && i < c.rt->n_objs; i++) {
            struct fas_obj *ob = c.rt->objs[i];
            if (plen && strncmp(ob->key, prefix, plen) != 0)
                break;
            if (obj_matches(ob, NULL, lsel, fsel)) {
                fas_obj_ref(ob);
                victims[n++] = ob;
            }
        }
        json_object *opts = json_object_new_object();
        for (size_t k = 0; k < n; k++) {
            if (k)
                fas_buf_puts(&b, ",");
            fas_obj_emit(&b, victims[k], c.ver->api_version);
            struct fas_obj *cur = obj_find(c.rt, victims[k]->ns, victims[k]->name);
            if (cur)
                delete_one(&c, cur, opts, false);
            fas_obj_unref(victims[k]);
        }
        json_object_put(opts);
        free(victims);
        fas_buf_puts(&b, "]}");
        size_t len = 0;
        char *text = fas_buf_take(&b, &len);
        fas_reply_take(r, 200, text, len);
    }
    pthread_mutex_unlock(&s->mu);
    fas_selector_free(lsel);
    fas_selector_free(fsel);
}

/* ---- watch ---------------------------------------------------------------------------------- */

void fas_store_watch(struct fas_store *s, const struct fas_target *t, const struct fas_list_opts *o,
                     struct fas_watch **out, struct fas_reply *r)
{
    *out = NULL;
    struct fas_selector *lsel, *fsel;
    if (!parse_selectors(t, o, &lsel, &fsel, r))
        return;
    const char *rvs = o->resource_version;
    int64_t from = 0;
    if (rvs && rvs[0] && (from = parse_rv(rvs)) < 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "invalid resource version: %.64s", rvs);
        fas_reply_bad_request(r, msg);
        fas_selector_free(lsel);
        fas_selector_free(fsel);
        return;
    }
    struct fas_rtype *rt;
    struct fas_rversion *ver;
    pthread_mutex_lock(&s->mu);
    if (!resolve(s, t, &rt, &ver, r)) {
        pthread_mutex_unlock(&s->mu);
        fas_selector_free(lsel);
        fas_selector_free(fsel);
        return;
    }
    if (atomic_load(&s->shutdown)) {
        pthread_mutex_unlock(&s->mu);
        fas_selector_free(lsel);
        fas_selector_free(fsel);
        fas_reply_status(r, 503, "ServiceUnavailable", "the server is shutting down", NULL);
        return;
    }
    struct fas_watch *w = fas_watch_new(s, rt, ver->api_version);
    if (!w || (t->ns && !(w->ns = strdup(t->ns)))) {
        pthread_mutex_unlock(&s->mu);
        if (w)
            fas_watch_release(w);
        fas_selector_free(lsel);
        fas_selector_free(fsel);
        fas_reply_internal(r, "out of memory");
        return;
    }
    w->lsel = lsel;
    w->fsel = fsel;
    w->bookmarks = o->allow_bookmarks;
    w->table = o->table;
    bool initial = o->send_initial_events || from == 0;
    if (initial) {
        for (size_t i = 0; i < rt->n_objs; i++) {
            struct fas_obj *ob = rt->objs[i];
            if (!fas_watch_matches(w, ob))
                continue;
            struct fas_line *line = w->table ? table_event_line("ADDED", ob, w)
                                             : fas_event_line("ADDED", ob, w->api_version);
            if (line)
                fas_watch_enqueue(w, line);
        }
        if (o->send_initial_events) {
            struct fas_line *bm = bookmark_line(w, s->rv, true);
            if (bm)
                fas_watch_enqueue(w, bm);
        }
    } else if (from < s->min_rv) {
        char msg[256];
        snprintf(msg, sizeof(msg), "too old resource version: %" PRId64 " (%" PRId64 ")", from,
                 s->min_rv);
        struct fas_buf b;
        fas_buf_init(&b);
        fas_buf_puts(&b, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":"
                         "\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":");
        fas_buf_json_string(&b, msg);
        fas_buf_puts(&b, ",\"reason\":\"Expired\",\"code\":410}}\n");
        struct fas_line *line = line_from_buf(&b);
        if (line)
            fas_watch_enqueue(w, line);
        w->closed = true;
        pthread_mutex_unlock(&s->mu);
        *out = w;
        return;
    } else {
        for (size_t i = 0; i < s->ring_len; i++) {
            struct fas_event *ev = &s->ring[(s->ring_start + i) % s->ring_cap];
            if (ev->rv > from && ev->rt == rt)
                deliver(w, ev);
        }
    }
    w->next = rt->watches;
    if (rt->watches)
        rt->watches->prev = w;
    rt->watches = w;
    w->registered = true;
    s->n_watches++;
    pthread_mutex_unlock(&s->mu);
    if (o->timeout_seconds > 0)
        w->deadline_ns = kgc_clock_now(NULL) + (uint64_t)o->timeout_seconds * KGC_NS_PER_S;
    *out = w;
}

void fas_watch_release(struct fas_watch *w)
{
    if (!w)
        return;
    struct fas_store *s = w->store;
    pthread_mutex_lock(&s->mu);
    if (w->registered) {
        if (w->prev)
            w->prev->next = w->next;
        else
            w->rt->watches = w->next;
        if (w->next)
            w->next->prev = w->prev;
        w->registered = false;
        s->n_watches--;
    }
    pthread_mutex_unlock(&s->mu);
    while (w->head) {
        struct fas_wq_item *it = w->head;
        w->head = it->next;
        fas_line_unref(it->line);
        free(it);
    }
    fas_line_unref(w->cur);
    fas_selector_free(w->lsel);
    fas_selector_free(w->fsel);
    free(w->api_version);
    free(w->ns);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

static void cut_all(struct fas_store *s)
{
    for (struct fas_rtype *rt = s->types; rt; rt = rt->next)
        for (struct fas_watch *w = rt->watches; w; w = w->next) {
            pthread_mutex_lock(&w->mu);
            w->cut = true;
            pthread_cond_broadcast(&w->cv);
            pthread_mutex_unlock(&w->mu);
        }
}

void fas_store_close_watches(struct fas_store *s)
{
    pthread_mutex_lock(&s->mu);
    cut_all(s);
    pthread_mutex_unlock(&s->mu);
}

void fas_store_drop_history(struct fas_store *s)
{
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->ring_len; i++)
        event_clear(&s->ring[(s->ring_start + i) % s->ring_cap]);
    s->ring_start = s->ring_len = 0;
    /* A silent step of the resourceVersion: whatever a client saw so far is now too old. */
    s->rv++;
    s->min_rv = s->rv;
    atomic_store(&s->dispatched_rv, s->rv);
    pthread_mutex_unlock(&s->mu);
}

int fas_store_inject(struct fas_store *s, const char *group, const char *plural, const char *data,
                     size_t len)
{
    int n = -1;
    pthread_mutex_lock(&s->mu);
    for (struct fas_rtype *rt = s->types; rt; rt = rt->next) {
        if (strcmp(rt->plural, plural) != 0 || (group && strcmp(rt->group, group) != 0))
            continue;
        if (n < 0)
            n = 0;
        for (struct fas_watch *w = rt->watches; w; w = w->next) {
            struct fas_line *l = fas_line_new(len);
            if (!l)
                continue;
            memcpy(l->data, data, len);
            fas_watch_enqueue(w, l); /* takes the reference */
            n++;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

void fas_store_shutdown(struct fas_store *s)
{
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->shutdown, true);
    cut_all(s);
    pthread_mutex_unlock(&s->mu);
}

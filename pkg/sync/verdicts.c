/* sync — route verdicts (kgc_sync_route_verdict(), KGC_SYNC_CHANGE_ROUTE_VERDICT).
 *
 * The status of a route carries the translator's verdict (PartiallyInvalid, UnsupportedValue),
 * so it must not be written before the translator judged that version of the route: the routes
 * are walked before each translation (so none is recorded at a generation newer than what was
 * translated), judged after it, and every route whose entry is new or changed is announced so
 * that its status is computed again. Only the syncer thread changes the map (under mu). */
#include "sync_internal.h"

#include "kgc/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The verdict (translator's and Kong's) on one HTTPRoute or GRPCRoute version, as of the last
 * translation. */
struct kgc_sync_rverdict {
    uint64_t uid;                  /* kgc_strmap_hash of metadata.uid (0: none) */
    int64_t generation;            /* the generation seen before the translation ran */
    uint64_t verdict;              /* hash of the verdict; 0: no objection */
    const struct kgc_api_obj *obj; /* while being built only (a reference) */
    enum kgc_api_kind kind;        /* a route kind (kgc_api_is_route_kind) */
    char key[];                    /* the map's key: verdict_key() */
};

/* The map key of a route: "ns/name" for an HTTPRoute, "grpc:ns/name" for a GRPCRoute, "tls:",
 * "tcp:", "udp:" for the stream route kinds (no namespace holds a ':'). Into buf; false when it
 * does not fit. */
static const char *key_prefix(enum kgc_api_kind kind)
{
    switch (kind) {
    case KGC_API_GRPCROUTE:
        return "grpc:";
    case KGC_API_TLSROUTE:
        return "tls:";
    case KGC_API_TCPROUTE:
        return "tcp:";
    case KGC_API_UDPROUTE:
        return "udp:";
    default:
        return "";
    }
}
static bool verdict_key(enum kgc_api_kind kind, const char *key, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s%s", key_prefix(kind), key);
    return n >= 0 && (size_t)n < size;
}

/* "ns/name" of an entry (its key without the kind prefix). */
static const char *entry_ns_name(const struct kgc_sync_rverdict *e)
{
    return e->key + strlen(key_prefix(e->kind));
}

struct kgc_sync_rwalk {
    struct kgc_sync_rverdict **v;
    size_t n, cap;
    bool oom;
};

/* The verdict on route from the last translation and from Kong's rejections (syncer thread, or
 * mu held: only the syncer thread changes last_out and the broken list). */
static void verdict_of(struct kgc_sync *s, const struct kgc_api_httproute *route,
                       struct kgc_status_route_verdict *v)
{
    memset(v, 0, sizeof(*v));
    const char *ns = route->obj.meta.namespace ? route->obj.meta.namespace : "";
    if (s->have_out)
        kgc_translate_route_verdict(&s->last_out, route, v);
    for (size_t i = 0; i < s->n_broken; i++) {
        const struct kgc_sync_broken *b = &s->broken[i];
        if (b->kind == route->obj.kind && strcmp(b->ns, ns) == 0 &&
            strcmp(b->name, route->obj.meta.name) == 0) {
            v->accepted_reason = KGC_STATUS_R_UNSUPPORTED_VALUE;
            snprintf(v->accepted_message, sizeof(v->accepted_message), "%s", b->message);
            break;
        }
    }
}

/* A hash of the verdict on route; 0 when there is no objection (syncer thread). */
static uint64_t verdict_hash(struct kgc_sync *s, const struct kgc_api_httproute *route)
{
    size_t n = 0;
    if (s->have_out)
        kgc_translate_problems_of(&s->last_out, route->obj.kind, route->obj.meta.namespace,
                                  route->obj.meta.name, &n);
    bool broken = false;
    for (size_t i = 0; i < s->n_broken && !broken; i++)
        broken = s->broken[i].kind == route->obj.kind &&
                 strcmp(s->broken[i].name, route->obj.meta.name) == 0;
    if (!n && !broken)
        return 0;
    struct kgc_status_route_verdict v;
    verdict_of(s, route, &v);
    if (!v.accepted_reason && !v.partially_invalid[0] && !v.kong_limitation[0] &&
        !v.resolved_refs_reason)
        return 0;
    char text[4 * KGC_STATUS_MSG_MAX + 96];
    int len = snprintf(
        text, sizeof(text), "%s\n%s\n%s\n%s\n%s\n%s", v.accepted_reason ? v.accepted_reason : "",
        v.accepted_message, v.partially_invalid, v.kong_limitation,
        v.resolved_refs_reason ? v.resolved_refs_reason : "", v.resolved_refs_message);
    size_t tl = len < 0 ? 0 : (size_t)len < sizeof(text) ? (size_t)len : sizeof(text) - 1;
    uint64_t h = kgc_strmap_hash(text, tl);
    return h ? h : 1;
}

static bool visit_route(const struct kgc_api_obj *obj, void *ctx)
{
    struct kgc_sync_rwalk *w = ctx;
    if (!obj->meta.key)
        return true;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        struct kgc_sync_rverdict **v = realloc(w->v, cap * sizeof(struct kgc_sync_rverdict *));
        if (!v) {
            w->oom = true;
            return false;
        }
        w->v = v;
        w->cap = cap;
    }
    char key[2 * KGC_STATUS_NAME_MAX + 8];
    if (!verdict_key(obj->kind, obj->meta.key, key, sizeof(key)))
        return true;
    size_t kl = strlen(key) + 1;
    struct kgc_sync_rverdict *e = malloc(sizeof(*e) + kl);
    if (!e) {
        w->oom = true;
        return false;
    }
    memcpy(e->key, key, kl);
    e->kind = obj->kind;
    e->uid = obj->meta.uid ? kgc_strmap_hash(obj->meta.uid, strlen(obj->meta.uid)) : 0;
    e->generation = obj->meta.generation;
    e->verdict = 0;
    e->obj = kgc_api_obj_ref(obj);
    w->v[w->n++] = e;
    return true;
}

static void rverdict_free(struct kgc_sync_rverdict *e)
{
    if (e)
        kgc_api_obj_unref(e->obj);
    free(e);
}

void kgc_sync_verdicts_clear(struct kgc_strmap *m)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (kgc_strmap_next(m, &pos, &k, &v))
        rverdict_free(v);
    kgc_strmap_destroy(m);
}

static void walk_free(struct kgc_sync_rwalk *w)
{
    for (size_t i = 0; i < w->n; i++)
        rverdict_free(w->v[i]);
    free(w->v);
    memset(w, 0, sizeof(*w));
}

/* Whether the verdict on e (its hash already in e->verdict) carries a Kong limitation; logs it
 * once per route generation and verdict: when the last recorded entry differs (syncer thread,
 * the only one that changes s->verdicts, so reading it unlocked is safe). */
static uint64_t note_limitation(struct kgc_sync *s, const struct kgc_sync_rverdict *e)
{
    const struct kgc_api_httproute *route = kgc_api_as_route(e->obj);
    if (!route)
        return 0;
    struct kgc_status_route_verdict v;
    verdict_of(s, route, &v);
    if (v.accepted_reason || !v.kong_limitation[0])
        return 0;
    const struct kgc_sync_rverdict *o = kgc_strmap_get(&s->verdicts, e->key);
    if (!o || o->uid != e->uid || o->generation != e->generation || o->verdict != e->verdict)
        kgc_warn(KGC_SYNC_COMPONENT, "Kong cannot serve this route exactly as the Gateway API asks",
                 KGC_F_STR("kind", kgc_api_kind_info(e->kind)->name),
                 KGC_F_STR("route", entry_ns_name(e)), KGC_F_INT("generation", e->generation),
                 KGC_F_STR("condition", KGC_STATUS_KONG_LIMITATION),
                 KGC_F_STR("message", v.kong_limitation));
    return 1;
}

struct kgc_sync_rwalk *kgc_sync_verdicts_walk(struct kgc_sync *s)
{
    struct kgc_sync_rwalk *w = calloc(1, sizeof(*w));
    if (w) {
        s->lookup.foreach (s->lookup.ctx, KGC_API_HTTPROUTE, NULL, visit_route, w);
        s->lookup.foreach (s->lookup.ctx, KGC_API_GRPCROUTE, NULL, visit_route, w);
        s->lookup.foreach (s->lookup.ctx, KGC_API_TLSROUTE, NULL, visit_route, w);
        s->lookup.foreach (s->lookup.ctx, KGC_API_TCPROUTE, NULL, visit_route, w);
        s->lookup.foreach (s->lookup.ctx, KGC_API_UDPROUTE, NULL, visit_route, w);
    }
    return w;
}

void kgc_sync_verdicts_walk_free(struct kgc_sync_rwalk *w)
{
    if (w)
        walk_free(w);
    free(w);
}

void kgc_sync_verdicts_record(struct kgc_sync *s, struct kgc_sync_rwalk *w)
{
    if (!w) {
        kgc_error(KGC_SYNC_COMPONENT, "out of memory recording route verdicts");
        return;
    }
    struct kgc_strmap next;
    kgc_strmap_init(&next);
    bool oom = w->oom;
    uint64_t limited = 0;
    for (size_t i = 0; i < w->n && !oom; i++) {
        struct kgc_sync_rverdict *e = w->v[i];
        e->verdict = verdict_hash(s, kgc_api_as_route(e->obj));
        if (e->verdict)
            limited += note_limitation(s, e);
        kgc_api_obj_unref(e->obj);
        e->obj = NULL;
        void *dup = NULL;
        if (kgc_strmap_put(&next, e->key, e, &dup) != 0) {
            oom = true;
            break;
        }
        w->v[i] = NULL;
        rverdict_free(dup);
    }
    kgc_sync_verdicts_walk_free(w);
    if (oom) { /* keep the last map: the routes it lacks stay pending until the next one */
        kgc_sync_verdicts_clear(&next);
        kgc_error(KGC_SYNC_COMPONENT, "out of memory recording route verdicts");
        return;
    }
    pthread_mutex_lock(&s->mu);
    struct kgc_strmap prev = s->verdicts;
    s->verdicts = next;
    s->stats.route_kong_limitations = limited;
    pthread_mutex_unlock(&s->mu);
    /* only this thread changes the map: reading it unlocked is safe */
    size_t pos = 0, changed = 0;
    const char *k;
    void *val;
    while (kgc_strmap_next(&s->verdicts, &pos, &k, &val)) {
        const struct kgc_sync_rverdict *e = val, *o = kgc_strmap_get(&prev, k);
        if (o && o->uid == e->uid && o->generation == e->generation && o->verdict == e->verdict)
            continue;
        changed++;
        const char *nn = entry_ns_name(e), *slash = strchr(nn, '/');
        if (!s->n_subs || !slash)
            continue;
        char ns[KGC_STATUS_NAME_MAX];
        snprintf(ns, sizeof(ns), "%.*s", (int)(slash - nn), nn);
        kgc_sync_announce_object(s, KGC_SYNC_CHANGE_ROUTE_VERDICT, e->kind, ns, slash + 1, NULL);
    }
    kgc_sync_verdicts_clear(&prev);
    if (changed)
        kgc_debug(KGC_SYNC_COMPONENT, "route verdicts recorded",
                  KGC_F_INT("routes", kgc_strmap_len(&s->verdicts)),
                  KGC_F_INT("new_or_changed", changed));
}

void kgc_sync_route_verdict(void *ctx, const struct kgc_api_httproute *route,
                            struct kgc_status_route_verdict *v)
{
    struct kgc_sync *s = ctx;
    const char *uid = route->obj.meta.uid;
    uint64_t uid_hash = uid ? kgc_strmap_hash(uid, strlen(uid)) : 0;
    pthread_mutex_lock(&s->mu);
    verdict_of(s, route, v);
    char key[2 * KGC_STATUS_NAME_MAX + 8];
    if (route->obj.meta.key &&
        verdict_key(route->obj.kind, route->obj.meta.key, key, sizeof(key))) {
        const struct kgc_sync_rverdict *e = kgc_strmap_get(&s->verdicts, key);
        v->pending = !e || e->uid != uid_hash || e->generation < route->obj.meta.generation;
    }
    pthread_mutex_unlock(&s->mu);
}

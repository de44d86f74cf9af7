/* sync — route verdicts (kgc_sync_route_verdict(), KGC_SYNC_CHANGE_ROUTE_VERDICT).
 *
 * The status of a route carries the translator's verdict (PartiallyInvalid, UnsupportedValue),
 * so it must not be written before the translator judged that version of the route: the routes
 * are walked before each translation (so none is recorded at a generation newer than what was
 * translated), judged after it, and every route whose entry is new or changed is announced so
 * that its status is computed again. Only the syncer thread changes the map (under mu).
 *
 * Once a whole walk was recorded, a translation whose changes are known walks only the routes
 * those changes name (kgc_sync_verdicts_walk_changes()): no other route's uid or generation can
 * have moved, and the only other verdicts that can move are those of routes with problems or
 * Kong rejections before or after the translation (every other route's verdict is "no
 * objection"), which the record judges again. A route change at 10k routes costs a few map
 * entries instead of a sorted walk and a new map of every route. */
#include "sync_internal.h"

#include "kgc/base.h"
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
    bool limited;                  /* the verdict carries a Kong limitation */
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
    const char *pre = key_prefix(kind);
    size_t pl = strlen(pre), kl = strlen(key);
    if (pl + kl >= size)
        return false;
    memcpy(buf, pre, pl + 1);      /* the prefix and its NUL, */
    memcpy(buf + pl, key, kl + 1); /* then the key over that NUL */
    return true;
}

/* The key of route kind ns/name (ns "" for none). */
static bool verdict_key_of(enum kgc_api_kind kind, const char *ns, const char *name, char *buf,
                           size_t size)
{
    int n = snprintf(buf, size, "%s%s/%s", key_prefix(kind), ns ? ns : "", name ? name : "");
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
    /* kgc_sync_verdicts_walk_changes(): only the changed routes were walked; gone: the keys of
     * changed routes no longer in the cache */
    bool partial;
    struct kgc_base_vec gone; /* char * (owned) */
};

/* The verdict on route kind ns/name from the last translation and from Kong's rejections (syncer
 * thread, or mu held: only the syncer thread changes last_out and the broken list). */
static void verdict_of(struct kgc_sync *s, enum kgc_api_kind kind, const char *ns, const char *name,
                       struct kgc_status_route_verdict *v)
{
    memset(v, 0, sizeof(*v));
    ns = ns ? ns : "";
    if (s->have_out)
        kgc_translate_route_verdict_of(&s->last_out, kind, ns, name, v);
    for (size_t i = 0; i < s->n_broken; i++) {
        const struct kgc_sync_broken *b = &s->broken[i];
        if (b->kind == kind && strcmp(b->ns, ns) == 0 && strcmp(b->name, name) == 0) {
            v->accepted_reason = KGC_STATUS_R_UNSUPPORTED_VALUE;
            snprintf(v->accepted_message, sizeof(v->accepted_message), "%s", b->message);
            break;
        }
    }
}

/* A hash of the verdict on route kind ns/name; 0 when there is no objection (syncer thread).
 * *limited: the verdict carries a Kong limitation. */
static uint64_t verdict_hash(struct kgc_sync *s, enum kgc_api_kind kind, const char *ns,
                             const char *name, bool *limited)
{
    *limited = false;
    size_t n = 0;
    if (s->have_out)
        kgc_translate_problems_of(&s->last_out, kind, ns, name, &n);
    bool broken = false;
    for (size_t i = 0; i < s->n_broken && !broken; i++)
        broken = s->broken[i].kind == kind && strcmp(s->broken[i].name, name) == 0;
    if (!n && !broken)
        return 0;
    struct kgc_status_route_verdict v;
    verdict_of(s, kind, ns, name, &v);
    if (!v.accepted_reason && !v.partially_invalid[0] && !v.kong_limitation[0] &&
        !v.resolved_refs_reason)
        return 0;
    *limited = !v.accepted_reason && v.kong_limitation[0];
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
    e->limited = false;
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
    for (size_t i = 0; i < w->gone.n; i++)
        free(w->gone.v[i]);
    kgc_base_vec_free(&w->gone);
    memset(w, 0, sizeof(*w));
}

/* Logs e's Kong limitation (e->limited, its hash in e->verdict) once per route generation and
 * verdict: when the last recorded entry o (NULL: none) differs (syncer thread). */
static void note_limitation(struct kgc_sync *s, const struct kgc_sync_rverdict *e,
                            const struct kgc_sync_rverdict *o)
{
    if (!e->limited ||
        (o && o->uid == e->uid && o->generation == e->generation && o->verdict == e->verdict))
        return;
    const char *nn = entry_ns_name(e), *slash = strchr(nn, '/');
    if (!slash)
        return;
    char ns[KGC_STATUS_NAME_MAX];
    snprintf(ns, sizeof(ns), "%.*s", (int)(slash - nn), nn);
    struct kgc_status_route_verdict v;
    verdict_of(s, e->kind, ns, slash + 1, &v);
    kgc_warn(KGC_SYNC_COMPONENT, "Kong cannot serve this route exactly as the Gateway API asks",
             KGC_F_STR("kind", kgc_api_kind_info(e->kind)->name), KGC_F_STR("route", nn),
             KGC_F_INT("generation", e->generation),
             KGC_F_STR("condition", KGC_STATUS_KONG_LIMITATION),
             KGC_F_STR("message", v.kong_limitation));
}

/* Announces that route e's entry is new or changed (mu not held). */
static void announce_entry(struct kgc_sync *s, const struct kgc_sync_rverdict *e)
{
    const char *nn = entry_ns_name(e), *slash = strchr(nn, '/');
    if (!s->n_subs || !slash)
        return;
    char ns[KGC_STATUS_NAME_MAX];
    snprintf(ns, sizeof(ns), "%.*s", (int)(slash - nn), nn);
    kgc_sync_announce_object(s, KGC_SYNC_CHANGE_ROUTE_VERDICT, e->kind, ns, slash + 1, NULL);
}

static bool same_entry(const struct kgc_sync_rverdict *a, const struct kgc_sync_rverdict *b)
{
    return a && b && a->uid == b->uid && a->generation == b->generation && a->verdict == b->verdict;
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

struct kgc_sync_rwalk *kgc_sync_verdicts_walk_changes(struct kgc_sync *s,
                                                      const struct kgc_sync_changes *c)
{
    if (!s->verdicts_complete || c->everything)
        return kgc_sync_verdicts_walk(s);
    struct kgc_sync_rwalk *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->partial = true;
    for (size_t i = 0; i < c->n && !w->oom; i++) {
        const struct kgc_sync_objchange *ch = &c->v[i];
        if (!kgc_api_is_route_kind(ch->kind))
            continue;
        const struct kgc_api_obj *obj = s->lookup.get(s->lookup.ctx, ch->kind, ch->ns, ch->name);
        if (obj) {
            visit_route(obj, w);
            kgc_api_obj_unref(obj);
            continue;
        }
        char key[2 * KGC_STATUS_NAME_MAX + 8];
        if (!verdict_key_of(ch->kind, ch->ns, ch->name, key, sizeof(key)))
            continue;
        char *g = strdup(key);
        if (!g || kgc_base_vec_push(&w->gone, g) != 0) {
            free(g);
            w->oom = true;
        }
    }
    return w;
}

void kgc_sync_verdicts_walk_free(struct kgc_sync_rwalk *w)
{
    if (w)
        walk_free(w);
    free(w);
}

/* Counts e (sign 1) or uncounts it (-1) in s->n_objected and s->n_limited. */
static void tally(struct kgc_sync *s, const struct kgc_sync_rverdict *e, int sign)
{
    if (!e)
        return;
    if (e->verdict)
        s->n_objected = sign > 0 ? s->n_objected + 1 : s->n_objected - 1;
    if (e->limited)
        s->n_limited = sign > 0 ? s->n_limited + 1 : s->n_limited - 1;
}

/* Puts e into the map in place of the entry it had (freed; mu taken). Returns whether the entry
 * is new or changed. */
static bool map_replace(struct kgc_sync *s, struct kgc_sync_rverdict *e, bool *oom)
{
    void *dup = NULL;
    pthread_mutex_lock(&s->mu);
    int rc = kgc_strmap_put(&s->verdicts, e->key, e, &dup);
    pthread_mutex_unlock(&s->mu);
    if (rc != 0) {
        *oom = true;
        rverdict_free(e);
        return false;
    }
    tally(s, dup, -1);
    tally(s, e, 1);
    bool changed = !same_entry(dup, e);
    rverdict_free(dup);
    return changed;
}

/* Adds route kind ns/name's entry, when it has one, to again (keyed by the entry's own key).
 * False when out of memory. */
static bool again_add(struct kgc_sync *s, struct kgc_strmap *again, enum kgc_api_kind kind,
                      const char *ns, const char *name)
{
    char key[2 * KGC_STATUS_NAME_MAX + 8];
    if (!kgc_api_is_route_kind(kind) || !verdict_key_of(kind, ns, name, key, sizeof(key)))
        return true;
    struct kgc_sync_rverdict *e = kgc_strmap_get(&s->verdicts, key);
    return !e || kgc_strmap_put(again, e->key, e, NULL) == 0;
}

/* The record of a partial walk: the walked routes' entries replace theirs, the gone routes'
 * entries go, and every other route that has or had a problem or a Kong rejection is judged
 * again in place. */
static void record_partial(struct kgc_sync *s, struct kgc_sync_rwalk *w)
{
    bool oom = false;
    size_t changed = 0;
    /* 1. the walked routes */
    for (size_t i = 0; i < w->n && !oom; i++) {
        struct kgc_sync_rverdict *e = w->v[i];
        e->verdict =
            verdict_hash(s, e->kind, e->obj->meta.namespace, e->obj->meta.name, &e->limited);
        note_limitation(s, e, kgc_strmap_get(&s->verdicts, e->key));
        kgc_api_obj_unref(e->obj);
        e->obj = NULL;
        w->v[i] = NULL;
        if (map_replace(s, e, &oom)) { /* e is in the map until this thread replaces it */
            changed++;
            announce_entry(s, e);
        }
    }
    /* 2. the routes that are gone */
    for (size_t i = 0; i < w->gone.n && !oom; i++) {
        pthread_mutex_lock(&s->mu);
        struct kgc_sync_rverdict *old = kgc_strmap_remove(&s->verdicts, w->gone.v[i]);
        pthread_mutex_unlock(&s->mu);
        tally(s, old, -1);
        rverdict_free(old);
    }
    /* 3. every other entry whose verdict may have moved: it had an objection, or the new
     * translation or Kong's rejections name it. The set is gathered first (the map changes) */
    struct kgc_strmap again;
    kgc_strmap_init(&again);
    size_t pos = 0;
    const char *k;
    void *val;
    while (!oom && s->n_objected && kgc_strmap_next(&s->verdicts, &pos, &k, &val))
        if (((const struct kgc_sync_rverdict *)val)->verdict &&
            kgc_strmap_put(&again, k, val, NULL) != 0)
            oom = true;
    for (size_t i = 0; s->have_out && i < s->last_out.n_problems && !oom; i++) {
        const struct kgc_translate_problem *p = &s->last_out.problems[i];
        oom = !again_add(s, &again, p->kind, p->namespace, p->name);
    }
    for (size_t i = 0; i < s->n_broken && !oom; i++)
        oom = !again_add(s, &again, s->broken[i].kind, s->broken[i].ns, s->broken[i].name);
    pos = 0;
    while (!oom && kgc_strmap_next(&again, &pos, &k, &val)) {
        struct kgc_sync_rverdict *e = val;
        const char *nn = entry_ns_name(e), *slash = strchr(nn, '/');
        if (!slash)
            continue;
        char ns[KGC_STATUS_NAME_MAX];
        snprintf(ns, sizeof(ns), "%.*s", (int)(slash - nn), nn);
        bool limited = false;
        uint64_t v = verdict_hash(s, e->kind, ns, slash + 1, &limited);
        if (v == e->verdict)
            continue;
        struct kgc_sync_rverdict o = *e; /* (key not copied: note_limitation reads no key) */
        tally(s, e, -1);
        pthread_mutex_lock(&s->mu);
        e->verdict = v;
        e->limited = limited;
        pthread_mutex_unlock(&s->mu);
        tally(s, e, 1);
        note_limitation(s, e, &o);
        changed++;
        announce_entry(s, e);
    }
    kgc_strmap_destroy(&again);
    /* the gauge: entries whose verdict carries a Kong limitation */
    pthread_mutex_lock(&s->mu);
    s->stats.route_kong_limitations = s->n_limited;
    pthread_mutex_unlock(&s->mu);
    kgc_sync_verdicts_walk_free(w);
    if (oom) {
        s->verdicts_complete = false; /* what was missed is caught by the next, whole walk */
        kgc_error(KGC_SYNC_COMPONENT, "out of memory recording route verdicts");
    }
    if (changed)
        kgc_debug(KGC_SYNC_COMPONENT, "route verdicts recorded",
                  KGC_F_INT("routes", kgc_strmap_len(&s->verdicts)),
                  KGC_F_INT("new_or_changed", changed), KGC_F_BOOL("partial", true));
}

void kgc_sync_verdicts_record(struct kgc_sync *s, struct kgc_sync_rwalk *w)
{
    if (!w || w->oom) {
        s->verdicts_complete = false; /* the next walk is a whole one */
        if (w && w->partial) {
            kgc_sync_verdicts_walk_free(w);
            kgc_error(KGC_SYNC_COMPONENT, "out of memory recording route verdicts");
            return;
        }
    }
    if (!w) {
        kgc_error(KGC_SYNC_COMPONENT, "out of memory recording route verdicts");
        return;
    }
    if (w->partial) {
        record_partial(s, w);
        return;
    }
    struct kgc_strmap next;
    kgc_strmap_init(&next);
    bool oom = w->oom;
    uint64_t limited = 0;
    for (size_t i = 0; i < w->n && !oom; i++) {
        struct kgc_sync_rverdict *e = w->v[i];
        e->verdict =
            verdict_hash(s, e->kind, e->obj->meta.namespace, e->obj->meta.name, &e->limited);
        if (e->limited) {
            limited++;
            note_limitation(s, e, kgc_strmap_get(&s->verdicts, e->key));
        }
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
    s->verdicts_complete = true;
    s->n_objected = s->n_limited = 0;
    size_t tpos = 0;
    const char *tk;
    void *tv;
    while (kgc_strmap_next(&s->verdicts, &tpos, &tk, &tv))
        tally(s, tv, 1);
    /* only this thread changes the map: reading it unlocked is safe */
    size_t pos = 0, changed = 0;
    const char *k;
    void *val;
    while (kgc_strmap_next(&s->verdicts, &pos, &k, &val)) {
        const struct kgc_sync_rverdict *e = val, *o = kgc_strmap_get(&prev, k);
        if (o && o->uid == e->uid && o->generation == e->generation && o->verdict == e->verdict)
            continue;
        changed++;
        announce_entry(s, e);
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
    verdict_of(s, route->obj.kind, route->obj.meta.namespace, route->obj.meta.name, v);
    char key[2 * KGC_STATUS_NAME_MAX + 8];
    if (route->obj.meta.key &&
        verdict_key(route->obj.kind, route->obj.meta.key, key, sizeof(key))) {
        const struct kgc_sync_rverdict *e = kgc_strmap_get(&s->verdicts, key);
        v->pending = !e || e->uid != uid_hash || e->generation < route->obj.meta.generation;
    }
    pthread_mutex_unlock(&s->mu);
}

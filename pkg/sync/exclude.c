/* sync — objects Kong rejected: attributed from a 400's flattened errors
 * (kgc_translate_entity_owner()), hidden from the translator until their spec changes
 * (generation, or resourceVersion for kinds without one), announced when rejected and when no
 * longer (kgc/sync.h). The broken list is changed by the syncer thread only (under mu). */
#include "sync_internal.h"

#include "kgc/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void object_version(const struct kgc_api_obj *obj, char *out, size_t size)
{
    if (obj->meta.generation > 0)
        snprintf(out, size, "g%lld", (long long)obj->meta.generation);
    else
        snprintf(out, size, "rv%s", obj->meta.resource_version ? obj->meta.resource_version : "");
}

const char *kgc_sync_kind_name(enum kgc_api_kind kind)
{
    const struct kgc_api_kind_info *ki = kgc_api_kind_info(kind);
    return ki ? ki->name : "?";
}

void kgc_sync_broken_free(struct kgc_sync_broken *b)
{
    free(b->ns);
    free(b->name);
    free(b->message);
}

/* ---- the lookup that hides broken objects -----------------------------------------------------
 */

struct hide_ctx {
    struct kgc_sync *s;
    kgc_status_visit_fn fn;
    void *fnctx;
};

/* Syncer thread only (reads the broken list without the lock). */
static bool is_hidden(const struct kgc_sync *s, const struct kgc_api_obj *obj)
{
    if (!s->n_broken)
        return false;
    const char *ns = obj->meta.namespace ? obj->meta.namespace : "";
    char ver[96];
    object_version(obj, ver, sizeof(ver));
    for (size_t i = 0; i < s->n_broken; i++) {
        const struct kgc_sync_broken *b = &s->broken[i];
        if (b->kind == obj->kind && strcmp(b->name, obj->meta.name) == 0 &&
            strcmp(b->ns, ns) == 0 && strcmp(b->version, ver) == 0)
            return true;
    }
    return false;
}

static const struct kgc_api_obj *hide_get(void *ctx, enum kgc_api_kind kind, const char *ns,
                                          const char *name)
{
    struct kgc_sync *s = ctx;
    const struct kgc_api_obj *obj = s->lookup.get(s->lookup.ctx, kind, ns, name);
    if (obj && is_hidden(s, obj)) {
        kgc_api_obj_unref(obj);
        return NULL;
    }
    return obj;
}

static bool hide_visit(const struct kgc_api_obj *obj, void *ctx)
{
    struct hide_ctx *h = ctx;
    if (is_hidden(h->s, obj))
        return true;
    return h->fn(obj, h->fnctx);
}

static void hide_foreach(void *ctx, enum kgc_api_kind kind, const char *ns, kgc_status_visit_fn fn,
                         void *fnctx)
{
    struct kgc_sync *s = ctx;
    struct hide_ctx h = {.s = s, .fn = fn, .fnctx = fnctx};
    s->lookup.foreach (s->lookup.ctx, kind, ns, hide_visit, &h);
}

/* The routes of a Gateway through the underlying index (the HTTPRoute/GRPCRoute hostname rule
 * asks it for every route the translator attaches: without it, every route of the other kind). */
static void hide_foreach_route_of_gateway(void *ctx, enum kgc_api_kind kind, const char *gw_ns,
                                          const char *gw_name, kgc_status_visit_fn fn, void *fnctx)
{
    struct kgc_sync *s = ctx;
    struct hide_ctx h = {.s = s, .fn = fn, .fnctx = fnctx};
    s->lookup.foreach_route_of_gateway(s->lookup.ctx, kind, gw_ns, gw_name, hide_visit, &h);
}

static int hide_secret_value(void *ctx, const char *ns, const char *name, const char *key,
                             char **out)
{
    struct kgc_sync *s = ctx;
    return s->lookup.secret_value(s->lookup.ctx, ns, name, key, out);
}

struct kgc_status_lookup kgc_sync_hiding_lookup(struct kgc_sync *s)
{
    return (struct kgc_status_lookup){
        .get = hide_get,
        .foreach = hide_foreach,
        .foreach_route_of_gateway =
            s->lookup.foreach_route_of_gateway ? hide_foreach_route_of_gateway : NULL,
        .secret_value = s->lookup.secret_value ? hide_secret_value : NULL,
        .ctx = s};
}

/* ---- prune, collect, add ----------------------------------------------------------------------
 */

/* The lookup is called without mu (it takes the cache's locks; mark_dirty may run under them). */
void kgc_sync_exclude_prune(struct kgc_sync *s)
{
    if (!s->n_broken)
        return;
    bool *gone = calloc(s->n_broken, sizeof(bool));
    if (!gone)
        return;
    size_t n = s->n_broken, n_gone = 0;
    for (size_t i = 0; i < n; i++) {
        struct kgc_sync_broken *b = &s->broken[i];
        const struct kgc_api_obj *obj =
            s->lookup.get(s->lookup.ctx, b->kind, b->ns[0] ? b->ns : NULL, b->name);
        char ver[96] = "";
        if (obj) {
            object_version(obj, ver, sizeof(ver));
            kgc_api_obj_unref(obj);
        }
        gone[i] = !obj || strcmp(ver, b->version) != 0;
        n_gone += gone[i];
    }
    struct kgc_sync_broken *cleared = n_gone ? calloc(n_gone, sizeof(*cleared)) : NULL;
    if (!cleared) {
        free(gone);
        return;
    }
    size_t kept = 0, nc = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < n; i++) {
        if (gone[i])
            cleared[nc++] = s->broken[i];
        else
            s->broken[kept++] = s->broken[i];
    }
    s->n_broken = kept;
    s->stats.broken_objects = kept;
    pthread_mutex_unlock(&s->mu);
    free(gone);
    for (size_t i = 0; i < nc; i++) {
        kgc_info(KGC_SYNC_COMPONENT, "rejected object changed: translating it again",
                 KGC_F_STR("kind", kgc_sync_kind_name(cleared[i].kind)),
                 KGC_F_STR("namespace", cleared[i].ns), KGC_F_STR("name", cleared[i].name));
        kgc_sync_announce_object(s, KGC_SYNC_CHANGE_REJECTED, cleared[i].kind, cleared[i].ns,
                                 cleared[i].name, NULL);
        kgc_sync_broken_free(&cleared[i]);
    }
    free(cleared);
}

size_t kgc_sync_exclude_collect(struct kgc_sync *s, const struct kgc_kong_push_result *r,
                                struct kgc_sync_broken **out)
{
    size_t n = 0;
    *out = NULL;
    for (size_t e = 0; e < r->n_entity_errors && s->n_broken + n < KGC_SYNC_MAX_BROKEN; e++) {
        const struct kgc_kong_entity_error *ee = &r->entity_errors[e];
        struct kgc_translate_owner owner;
        if (kgc_translate_entity_owner(ee->entity_type, ee->entity_name,
                                       (const char *const *)ee->entity_tags, ee->n_tags,
                                       &owner) != 0)
            continue;
        bool dup = false;
        for (size_t i = 0; i < s->n_broken + n && !dup; i++) {
            const struct kgc_sync_broken *b =
                i < s->n_broken ? &s->broken[i] : &(*out)[i - s->n_broken];
            dup = b->kind == owner.kind && strcmp(b->ns, owner.namespace) == 0 &&
                  strcmp(b->name, owner.name) == 0;
        }
        if (dup)
            continue;
        const struct kgc_api_obj *obj = s->lookup.get(
            s->lookup.ctx, owner.kind, owner.namespace[0] ? owner.namespace : NULL, owner.name);
        if (!obj)
            continue;
        char msg[KGC_SYNC_MSG_MAX];
        int off = snprintf(msg, sizeof(msg),
                           "Kong rejected %s %s:", ee->entity_type ? ee->entity_type : "entity",
                           ee->entity_name ? ee->entity_name : "(unnamed)");
        for (size_t k = 0; k < ee->n_errors && off > 0 && (size_t)off < sizeof(msg); k++) {
            const struct kgc_kong_field_error *fe = &ee->errors[k];
            off += snprintf(msg + off, sizeof(msg) - (size_t)off, "%s %s%s%s", k ? ";" : "",
                            fe->field ? fe->field : "", fe->field ? ": " : "",
                            fe->message ? fe->message : "invalid");
        }
        struct kgc_sync_broken nb = {.kind = owner.kind};
        object_version(obj, nb.version, sizeof(nb.version));
        kgc_api_obj_unref(obj);
        nb.ns = strdup(owner.namespace);
        nb.name = strdup(owner.name);
        nb.message = strdup(msg);
        struct kgc_sync_broken *v = realloc(*out, (n + 1) * sizeof(*v));
        if (!nb.ns || !nb.name || !nb.message || !v) {
            kgc_sync_broken_free(&nb);
            if (v)
                *out = v;
            break;
        }
        *out = v;
        v[n++] = nb;
    }
    return n;
}

size_t kgc_sync_exclude_add(struct kgc_sync *s, struct kgc_sync_broken *fresh, size_t n,
                            size_t *first)
{
    *first = s->n_broken;
    if (!n) {
        free(fresh);
        return 0;
    }
    struct kgc_sync_broken *v = realloc(s->broken, (s->n_broken + n) * sizeof(*v));
    if (!v) {
        for (size_t k = 0; k < n; k++)
            kgc_sync_broken_free(&fresh[k]);
        free(fresh);
        return 0;
    }
    s->broken = v;
    memcpy(v + s->n_broken, fresh, n * sizeof(*v));
    s->n_broken += n;
    s->stats.broken_objects = s->n_broken;
    free(fresh);
    return n;
}

void kgc_sync_exclude_announce(struct kgc_sync *s, size_t first, size_t n)
{
    /* the broken list only changes on this thread: reading it unlocked is safe */
    for (size_t k = first; k < first + n; k++) {
        const struct kgc_sync_broken *bo = &s->broken[k];
        kgc_warn(KGC_SYNC_COMPONENT, "object rejected by Kong",
                 KGC_F_STR("kind", kgc_sync_kind_name(bo->kind)), KGC_F_STR("namespace", bo->ns),
                 KGC_F_STR("name", bo->name), KGC_F_STR("message", bo->message));
        kgc_sync_announce_object(s, KGC_SYNC_CHANGE_REJECTED, bo->kind, bo->ns, bo->name,
                                 bo->message);
    }
}

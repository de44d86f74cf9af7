/* sync — one translation: the cache (without the objects Kong rejected, exclude.c) into a
 * configuration blob with the Gateway set it was made from, handed to the state machine
 * (syncer thread; the translation runs with no syncer lock held).
 *
 * Only usable listeners carry routes: the translator's listener_usable input is the Gateway
 * reconciler's verdict on the listener (kgc_status_gateway_usable_listeners() with the same
 * options, the same listener view and the same lookup the translator reads), computed once per
 * Gateway version per translation. */
#include "sync_internal.h"

#include "kgc/base.h"
#include "kgc/listenercache.h"
#include "kgc/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* This thread's CPU time in ns (for the debug log: wall times stretch on a busy machine). */
static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * KGC_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* ---- which Gateways a configuration holds -----------------------------------------------------
 */

struct names {
    char **v;
    size_t n, cap;
    bool oom;
};

static void names_add(struct names *n, const char *v)
{
    if (n->oom)
        return;
    if (n->n == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 8;
        char **nv = realloc(n->v, cap * sizeof(*nv));
        if (!nv) {
            n->oom = true;
            return;
        }
        n->v = nv;
        n->cap = cap;
    }
    if (!(n->v[n->n] = strdup(v)))
        n->oom = true;
    else
        n->n++;
}

static void names_free(struct names *n)
{
    for (size_t i = 0; i < n->n; i++)
        free(n->v[i]);
    free(n->v);
}

struct gw_walk {
    const char *controller;
    struct names classes;
    struct kgc_sync_blob *b;
    bool oom;
};

static bool visit_class(const struct kgc_api_obj *obj, void *ctx)
{
    struct gw_walk *w = ctx;
    const struct kgc_api_gatewayclass *gc = kgc_api_as_gatewayclass(obj);
    if (gc && gc->controller_name && strcmp(gc->controller_name, w->controller) == 0)
        names_add(&w->classes, obj->meta.name);
    return true;
}

static bool visit_gateway(const struct kgc_api_obj *obj, void *ctx)
{
    struct gw_walk *w = ctx;
    const struct kgc_api_gateway *gw = kgc_api_as_gateway(obj);
    if (!gw || !gw->gateway_class_name || w->oom)
        return true;
    bool owned = false;
    for (size_t i = 0; i < w->classes.n && !owned; i++)
        owned = strcmp(w->classes.v[i], gw->gateway_class_name) == 0;
    if (!owned)
        return true;
    if (kgc_sync_blob_add_gateway(w->b, obj->meta.key, obj->meta.generation) != 0) {
        w->oom = true;
        return false;
    }
    return true;
}

/* ---- the plugin objects the configuration uses ---------------------------------------------- */

/* The key a plugin object has in a blob's set (beside the Gateways' "ns/name" keys, which never
 * contain ':'): "KongPlugin:ns/name" or "KongClusterPlugin:name". */
void kgc_sync_plugin_key(const struct kgc_api_obj *obj, char *out, size_t size)
{
    snprintf(out, size, "%s:%s", kgc_sync_kind_name(obj->kind), obj->meta.key);
}

/* Adds to b's set every plugin object b's text uses, at the generation the lookup has now: the
 * translator gives each plugin entity its object's tags (pkg/translate/plugins.c), in the fixed
 * order k8s-name, [k8s-namespace,] k8s-kind; one pass over the text. 0 or KGC_ENOMEM. */
static int add_used_plugins(const struct kgc_status_lookup *lk, struct kgc_sync_blob *b)
{
    static const char mark[] = "\"k8s-kind:Kong";
    const char *text = b->text, *end = text ? text + b->len : NULL;
    for (const char *p = text; p && (p = memmem(p, (size_t)(end - p), mark, sizeof(mark) - 1));
         p += sizeof(mark) - 1) {
        const char *k = p + sizeof(mark) - 1;
        enum kgc_api_kind kind;
        if ((size_t)(end - k) > 7 && strncmp(k, "Plugin\"", 7) == 0)
            kind = KGC_API_KONGPLUGIN;
        else if ((size_t)(end - k) > 14 && strncmp(k, "ClusterPlugin\"", 14) == 0)
            kind = KGC_API_KONGCLUSTERPLUGIN;
        else
            continue;
        /* back to the start of the tags array: ["k8s-name:N",("k8s-namespace:S",)"k8s-kind:.. */
        const char *a = p;
        while (a > text && a[-1] != '[' && p - a < 800)
            a--;
        char name[KGC_STATUS_NAME_MAX] = "", ns[KGC_STATUS_NAME_MAX] = "";
        if (sscanf(a, "\"k8s-name:%252[^\"]\"", name) != 1)
            continue;
        const char *nsp = strstr(a, "\"k8s-namespace:");
        if (kind == KGC_API_KONGPLUGIN &&
            (!nsp || nsp > p || sscanf(nsp, "\"k8s-namespace:%63[^\"]\"", ns) != 1))
            continue;
        const struct kgc_api_obj *obj =
            lk->get(lk->ctx, kind, kind == KGC_API_KONGPLUGIN ? ns : NULL, name);
        if (!obj)
            continue;
        char key[2 * KGC_STATUS_NAME_MAX + 32];
        kgc_sync_plugin_key(obj, key, sizeof(key));
        int rc = kgc_sync_blob_has_gateway(b, key, 0)
                     ? 0
                     : kgc_sync_blob_add_gateway(b, key, obj->meta.generation);
        kgc_api_obj_unref(obj);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- which listeners carry routes ----------------------------------------------------------- */

struct usable_gw {
    char *key; /* "ns/name@<uid>@<resourceVersion>" (owned) */
    uint64_t bits;
    uint16_t kong_ports[KGC_STATUS_MAX_LISTENERS]; /* 0: unknown */
};

struct usable_ctx {
    const struct kgc_status_options *so;
    const struct kgc_status_lookup *lk;
    struct kgc_strmap by_key; /* key → struct usable_gw */
    bool oom;
};

/* The verdict on gw (computed and kept on first use); NULL when it cannot be computed. */
static const struct usable_gw *usable_of(struct usable_ctx *u, const struct kgc_api_gateway *gw)
{
    char key[512];
    snprintf(key, sizeof(key), "%s/%s@%s@%s", gw->obj.meta.namespace ? gw->obj.meta.namespace : "",
             gw->obj.meta.name ? gw->obj.meta.name : "", gw->obj.meta.uid ? gw->obj.meta.uid : "",
             gw->obj.meta.resource_version ? gw->obj.meta.resource_version : "");
    struct usable_gw *e = kgc_strmap_get(&u->by_key, key);
    if (e)
        return e;
    e = calloc(1, sizeof(*e));
    struct kgc_err err = {0};
    if (!e || !(e->key = strdup(key)) ||
        kgc_status_gateway_usable_listeners(u->so, u->lk, gw, &e->bits, e->kong_ports, &err) != 0 ||
        kgc_strmap_put(&u->by_key, e->key, e, NULL) != 0) {
        u->oom |= !e || !e->key || err.code == KGC_ENOMEM || err.code == 0;
        if (e)
            free(e->key);
        free(e);
        return NULL;
    }
    return e;
}

static bool listener_usable(void *ctx, const struct kgc_api_gateway *gw, uint32_t li)
{
    const struct usable_gw *e = usable_of(ctx, gw);
    return e && li < KGC_STATUS_MAX_LISTENERS && ((e->bits >> li) & 1);
}

/* The Kong proxy port the listener reaches (status's kong_port), 0 when unknown. */
static uint16_t listener_kong_port(void *ctx, const struct kgc_api_gateway *gw, uint32_t li)
{
    const struct usable_gw *e = usable_of(ctx, gw);
    return e && li < KGC_STATUS_MAX_LISTENERS ? e->kong_ports[li] : 0;
}

static void usable_ctx_free(struct usable_ctx *u)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (kgc_strmap_next(&u->by_key, &pos, &k, &v)) {
        struct usable_gw *e = v;
        free(e->key);
        free(e);
    }
    kgc_strmap_destroy(&u->by_key);
}

/* ---- what changed ------------------------------------------------------------------------------
 */

void kgc_sync_record_change(struct kgc_sync *s, enum kgc_api_kind kind,
                            const struct kgc_api_obj *obj)
{
    char *ns = obj ? strdup(obj->meta.namespace ? obj->meta.namespace : "") : NULL;
    char *name = obj && obj->meta.name ? strdup(obj->meta.name) : NULL;
    pthread_mutex_lock(&s->mu);
    struct kgc_sync_changes *c = &s->changes;
    if (!c->everything && !c->v)
        c->v = calloc(KGC_SYNC_MAX_CHANGES, sizeof(*c->v));
    if (!c->everything && (!ns || !name || !c->v || c->n == KGC_SYNC_MAX_CHANGES))
        c->everything = true;
    if (!c->everything) {
        c->v[c->n++] = (struct kgc_sync_objchange){kind, ns, name};
        ns = name = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    free(ns);
    free(name);
}

static void changes_clear(struct kgc_sync_objchange *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].ns);
        free(v[i].name);
    }
    free(v);
}

static void gwset_clear(struct kgc_sync *s)
{
    for (size_t i = 0; i < s->n_gwset; i++)
        free(s->gwset[i].key);
    free(s->gwset);
    s->gwset = NULL;
    s->n_gwset = 0;
    s->gwset_valid = false;
}

/* Whether the Gateway set the last build walked still holds: the changes name no GatewayClass
 * or Gateway, and no object was hidden (the hiding lookup) then or now. */
static bool gwset_holds(const struct kgc_sync *s, const struct kgc_sync_changes *c)
{
    if (!s->gwset_valid || c->everything || s->n_broken || s->built_broken)
        return false;
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].kind == KGC_API_GATEWAYCLASS || c->v[i].kind == KGC_API_GATEWAY)
            return false;
    return true;
}

/* Adds to b the Gateways of this controller's classes, at their generations: copied from the last
 * walk when it still holds, else walked through lk (and kept for the next build). Returns false
 * when out of memory. */
static bool gateway_set(struct kgc_sync *s, const struct kgc_status_lookup *lk,
                        const struct kgc_sync_changes *c, struct kgc_sync_blob *b)
{
    if (gwset_holds(s, c))
        return kgc_sync_blob_add_gateways(b, s->gwset, s->n_gwset) == 0;
    gwset_clear(s);
    struct gw_walk w = {.controller = s->controller_name, .b = b};
    lk->foreach (lk->ctx, KGC_API_GATEWAYCLASS, NULL, visit_class, &w);
    if (!w.classes.oom)
        lk->foreach (lk->ctx, KGC_API_GATEWAY, NULL, visit_gateway, &w);
    bool ok = !w.classes.oom && !w.oom;
    names_free(&w.classes);
    if (ok && b->n_gws && !(s->gwset = calloc(b->n_gws, sizeof(*s->gwset))))
        return true; /* kept for no next build */
    for (size_t i = 0; ok && i < b->n_gws; i++) {
        if (!(s->gwset[i].key = strdup(b->gws[i].key))) {
            gwset_clear(s);
            return true;
        }
        s->gwset[i].generation = b->gws[i].generation;
        s->n_gwset = i + 1;
    }
    s->gwset_valid = ok && !s->n_broken;
    return ok;
}

void kgc_sync_changes_free(struct kgc_sync *s)
{
    changes_clear(s->changes.v, s->changes.n);
    s->changes = (struct kgc_sync_changes){0};
    kgc_sync_verdicts_walk_free(s->pending_rw);
    s->pending_rw = NULL;
    kgc_translate_state_free(s->tstate);
    s->tstate = NULL;
    gwset_clear(s);
}

/* Whether the changes can be scoped by the translator: the listeners' verdicts
 * (kgc_status_gateway_usable_listeners) also read TLS Secrets, ReferenceGrants and the publish
 * Service, which the translator does not know; a hidden (rejected) object changes the lookup
 * without a change. */
static bool need_everything(const struct kgc_sync *s, const struct kgc_sync_changes *c, bool fresh)
{
    if (c->everything || !fresh || s->n_broken || s->built_broken)
        return true;
    for (size_t i = 0; i < c->n; i++) {
        const struct kgc_sync_objchange *ch = &c->v[i];
        if (ch->kind == KGC_API_SECRET || ch->kind == KGC_API_REFERENCEGRANT)
            return true;
        if (ch->kind == KGC_API_SERVICE && s->publish_ns && s->publish_name &&
            strcmp(ch->ns, s->publish_ns) == 0 && strcmp(ch->name, s->publish_name) == 0)
            return true;
    }
    return false;
}

/* Translates, incrementally when the changes allow (else everything again through the same
 * state; without a state — --sync-incremental off, not built yet, or no memory —
 * kgc_translate()). The state is built by an upkeep translation (machine.c), once the routes
 * were quiet for a while after start-up: built during the initial sync, it would hold the route
 * objects that kgc's own status writes replace a moment later (twice the routes' memory at the
 * peak). */
static int translate(struct kgc_sync *s, const struct kgc_translate_input *in,
                     const struct kgc_sync_changes *c, bool fresh, bool upkeep,
                     struct kgc_translate_output *out, struct kgc_translate_incr_stats *stats,
                     struct kgc_err *err)
{
    if (s->incremental && !s->tstate && upkeep)
        s->tstate = kgc_translate_state_new();
    if (!s->tstate) {
        memset(stats, 0, sizeof(*stats));
        stats->full = true;
        return kgc_translate(in, out, err);
    }
    struct kgc_translate_change *v = c->n ? calloc(c->n, sizeof(*v)) : NULL;
    bool everything = need_everything(s, c, fresh || upkeep) || (c->n && !v);
    for (size_t i = 0; v && i < c->n; i++)
        v[i] = (struct kgc_translate_change){c->v[i].kind, c->v[i].ns, c->v[i].name};
    int rc = kgc_translate_incremental(s->tstate, in, everything ? NULL : v, everything ? 0 : c->n,
                                       everything, out, stats, err);
    free(v);
    return rc;
}

/* fresh: a change (not a re-translation after a rejection); upkeep: for the translator's state
 * (build it, or plan again the routes whose objects a status write replaced). */
void kgc_sync_verdicts_flush(struct kgc_sync *s)
{
    struct kgc_sync_rwalk *rw = s->pending_rw;
    s->pending_rw = NULL;
    if (rw)
        kgc_sync_verdicts_record(s, rw);
}

int kgc_sync_build(struct kgc_sync *s, bool fresh, bool upkeep)
{
    kgc_sync_verdicts_flush(s); /* judged on the translation they were walked for */
    uint64_t cpu0 = thread_cpu_ns();
    /* what changed, taken before the translation reads the cache: a change recorded from here on
     * is translated (again) by the next build; with a state (or building it) this translation
     * also takes the routes an upkeep was wanted for */
    pthread_mutex_lock(&s->mu);
    struct kgc_sync_changes changes = s->changes;
    s->changes = (struct kgc_sync_changes){0};
    if (s->tstate || (upkeep && s->incremental))
        s->m.upkeep = false;
    pthread_mutex_unlock(&s->mu);
    kgc_sync_exclude_prune(s);
    /* the routes, before the translator reads them */
    struct kgc_sync_rwalk *rw = kgc_sync_verdicts_walk_changes(s, &changes);
    struct kgc_listenercache_view view = {0};
    if (s->lc)
        kgc_listenercache_view(s->lc, &view);
    struct kgc_status_lookup hl = kgc_sync_hiding_lookup(s);
    struct kgc_status_options so;
    kgc_status_options_default(&so);
    so.controller_name = s->controller_name;
    so.publish_service_namespace = s->publish_ns;
    so.publish_service_name = s->publish_name;
    so.view = s->lc ? &view : NULL;
    so.now = "1970-01-01T00:00:00Z"; /* no condition is written from here */
    struct usable_ctx uc = {.so = &so, .lk = &hl};
    kgc_strmap_init(&uc.by_key);
    struct kgc_translate_input in = {
        .lookup = &hl,
        .controller_name = s->controller_name,
        .router_flavor = s->lc ? view.router_flavor : NULL,
        .kong_version = s->lc ? view.version : NULL,
        .listener_usable = listener_usable,
        .listener_usable_ctx = &uc,
        .listener_kong_port = listener_kong_port,
        .invalid_backend_target = s->invalid_backend_target,
    };
    struct kgc_translate_output out = {0};
    struct kgc_err err = {0};
    struct kgc_translate_incr_stats istats = {0};
    uint64_t t0 = kgc_clock_now(s->clock), tcpu0 = thread_cpu_ns();
    int rc = translate(s, &in, &changes, fresh, upkeep, &out, &istats, &err);
    uint64_t took = kgc_clock_now(s->clock) - t0, tcpu = thread_cpu_ns() - tcpu0;
    s->built_broken = s->n_broken;
    if (rc == 0 && uc.oom) {
        kgc_translate_output_free(&out);
        rc = kgc_err_set(&err, KGC_ENOMEM, "out of memory judging listeners");
    }
    usable_ctx_free(&uc);
    if (s->lc)
        kgc_listenercache_view_release(&view);
    struct kgc_sync_blob *b = NULL;
    bool oom = false;
    const struct kgc_translate_counts *n = &out.counts;
    if (rc == 0 && (b = kgc_sync_blob_new(out.hash, !n->services && !n->routes && !n->upstreams &&
                                                        !n->targets && !n->plugins &&
                                                        !n->certificates && !n->snis))) {
        b->len = out.config_len;
        if ((b->shared = kgc_translate_output_take_text(&out)))
            b->text = b->shared->s;
        oom = !gateway_set(s, &hl, &changes, b);
        kgc_sync_blob_seal(b); /* add_used_plugins() looks the Gateways up by bisection */
        if (!oom && n->plugins && add_used_plugins(&hl, b) != 0)
            oom = true;
        kgc_sync_blob_seal(b);
        if (!b->shared || oom) {
            kgc_sync_blob_unref(b);
            b = NULL;
        }
    }
    changes_clear(changes.v, changes.n);
    if (!b) {
        kgc_sync_verdicts_walk_free(rw);
        kgc_translate_output_free(&out);
        kgc_error(KGC_SYNC_COMPONENT, "translation failed",
                  KGC_F_STR("error", rc ? err.msg : "out of memory"));
        return rc ? rc : KGC_ENOMEM;
    }

    pthread_mutex_lock(&s->mu);
    bool built = !s->tstate_ready && s->tstate; /* the state's first build */
    s->tstate_ready = s->tstate != NULL;
    bool same = s->m.cur && strcmp(s->m.cur->hash, b->hash) == 0;
    bool adopted = kgc_sync_machine_translated(&s->m, b, fresh);
    kgc_translate_output_free(&s->last_out);
    s->last_out = out;
    s->have_out = true;
    s->translated_wall_ms = kgc_base_wall_ms();
    s->stats.translations++;
    s->stats.translate_duration_ns_sum += took;
    s->stats.config_bytes = b->len;
    s->stats.problems = out.n_problems;
    pthread_mutex_unlock(&s->mu);
    s->pending_rw = rw; /* judged once the pushes are handed out (kgc_sync_verdicts_flush) */
    /* CPU times: the whole build (routes walked, listeners, translation) and the translation
     * alone */
    uint64_t cpu = thread_cpu_ns() - cpu0;
    kgc_debug(KGC_SYNC_COMPONENT, "translated", KGC_F_STR("hash", b->hash),
              KGC_F_INT("bytes", b->len), KGC_F_INT("routes", out.counts.routes),
              KGC_F_INT("problems", out.n_problems), KGC_F_INT("ms", took / KGC_NS_PER_MS),
              KGC_F_INT("cpu_us", cpu / 1000), KGC_F_INT("translate_cpu_us", tcpu / 1000),
              KGC_F_BOOL("unchanged", same), KGC_F_BOOL("incremental", !istats.full),
              KGC_F_BOOL("upkeep", upkeep), KGC_F_INT("routes_translated", istats.routes_planned),
              KGC_F_INT("fragments_written", istats.fragments_written),
              KGC_F_INT("bytes_written", istats.bytes_written),
              KGC_F_STR("why_full", istats.why_full ? istats.why_full : ""));
    if (built)
        kgc_info(KGC_SYNC_COMPONENT, "incremental translation ready",
                 KGC_F_INT("routes", out.counts.http_routes),
                 KGC_F_INT("ms", took / KGC_NS_PER_MS));
    kgc_sync_blob_unref(b); /* cur holds it; only this thread changes cur */
    if (adopted)
        kgc_sync_announce_programmed(s);
    return 0;
}

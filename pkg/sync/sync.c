/* sync — the configuration syncer (see include/kgc/sync.h).
 *
 * Locking: s->mu guards everything below "guarded by mu". The syncer thread is the only one that
 * changes the broken list and the per-instance clients, so it reads them without the lock; every
 * other thread (event subscribers, status hooks, /debug, /metrics) takes the lock. Network I/O
 * and the translation run with the lock released. */
#include "kgc/sync.h"

#include "kgc/base.h"
#include "kgc/clock.h"
#include "kgc/log.h"
#include "kgc/store.h"
#include "kgc/strmap.h"
#include "kgc/translate.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COMPONENT "sync"
#define MSG_MAX   512

/* A configuration text and the Gateways it was translated from. Immutable once made; shared by
 * reference (cur, last_good, each instance's accepted, a push in flight). */
struct gwref {
    char *key; /* "ns/name" */
    int64_t generation;
};

struct blob {
    atomic_uint refs;
    char *text; /* never logged: holds TLS private keys */
    size_t len;
    char hash[KGC_KONG_HASH_LEN + 1];
    /* no entity at all: Kong stores it under the empty hash (32 zeros), not under hash
     * (kong/db/declarative/import.lua:270-273, 433-435), and never answers 304 for it */
    bool empty;
    struct gwref *gws;
    size_t n_gws;
};

/* One Kong instance. */
struct inst {
    char url[KGC_KONG_URL_MAX];
    bool is_static; /* added with kgc_sync_add_instance(): always ready */
    bool ready;     /* guarded by mu: the last event said ready */
    bool removed;   /* guarded by mu: REMOVED seen (kept until free: the client may be in use) */
    bool force;     /* guarded by mu: push even when it seems to hold the target */
    struct blob *accepted; /* guarded by mu: what it last accepted */
    struct blob *carried;  /* guarded by mu: what it had accepted before it restarted empty, while
                              the re-push that restores it is pending (cleared by its answer, a
                              rejection or KGC_SYNC_CARRIED_ATTEMPTS failures) */
    char rejected_hash[KGC_KONG_HASH_LEN + 1]; /* guarded by mu: never re-sent until a change */
    char inflight_hash[KGC_KONG_HASH_LEN + 1]; /* guarded by mu: the hash Kong will report for
                                                  the push in flight (kong_hash_of()) */
    char kong_hash[KGC_KONG_HASH_LEN + 1];     /* guarded by mu: the last hash its prober saw */
    char node_id[64];               /* guarded by mu: the Kong process the prober last saw ready */
    char inflight_node[64];         /* guarded by mu: node_id when the push in flight was picked */
    char accepted_node[64];         /* guarded by mu: the Kong process that answered `accepted` */
    uint64_t retry_at_ns;           /* guarded by mu: not before (backoff) */
    unsigned attempts;              /* guarded by mu: failures in a row */
    const char *last_result;        /* guarded by mu: push kind name, "error", "" */
    long last_status;               /* guarded by mu */
    uint64_t last_push_wall_ms;     /* guarded by mu */
    char last_error[MSG_MAX];       /* guarded by mu */
    struct kgc_kong_client *client; /* syncer thread only */
    struct inst *next;
};

/* The verdict (translator's and Kong's) on one HTTPRoute version, as of the last translation. */
struct rverdict {
    uint64_t uid;                  /* kgc_strmap_hash of metadata.uid (0: none) */
    int64_t generation;            /* the generation seen before the translation ran */
    uint64_t verdict;              /* hash of the verdict; 0: no objection */
    const struct kgc_api_obj *obj; /* while being built only (a reference) */
    char key[];                    /* "ns/name": the map's key */
};

/* An object Kong rejected, hidden from the translator while `version` is current. */
struct broken {
    enum kgc_api_kind kind;
    char *ns; /* "" for cluster-scoped kinds */
    char *name;
    char version[96]; /* "g<generation>" or "rv<resourceVersion>" */
    char *message;
};

struct kgc_sync {
    uint64_t debounce_ns, max_delay_ns;
    char *controller_name;
    char *invalid_backend_target;         /* NULL: off */
    char *publish_ns, *publish_name;      /* --publish-service; NULL: none */
    struct kgc_kong_client_options copts; /* deep copy (no registry) */
    char **copts_strings;                 /* what copts points at */
    size_t n_copts_strings;
    const struct kgc_kong_client_options *client_opts; /* &copts or the registry's */
    struct {
        kgc_sync_change_fn fn;
        void *ctx;
    } subs[KGC_SYNC_MAX_SUBSCRIBERS]; /* set before start; read without a lock */
    size_t n_subs;
    struct kgc_status_lookup lookup;
    struct kgc_kong *kong;
    struct kgc_listenercache *lc;

    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_t thread;
    bool started;
    volatile int abort_flag; /* aborts a push in flight at stop */

    /* guarded by mu */
    bool stop;
    bool leader;
    bool dirty;
    uint64_t first_mark_ns, last_mark_ns;
    bool translate_now; /* re-translate at once (objects were rejected) */
    unsigned exclude_rounds;
    struct blob *cur;
    struct blob *last_good;
    /* The Gateway set (no text) of the last configuration a Kong accepted before kgc started,
     * from the listener cache: answers kgc_sync_gateway_programmed() while no instance is
     * ready, until this process learns better (an acceptance, a restart, a foreign config). */
    struct blob *restored;
    struct kgc_translate_output last_out; /* problems of the last translation (config NULL) */
    bool have_out;
    /* "ns/name" → struct rverdict: every HTTPRoute the last translation judged, at the
     * generation it had then (replaced whole by the syncer thread after each translation) */
    struct kgc_strmap verdicts;
    uint64_t translated_wall_ms;
    char last_rejection[MSG_MAX];
    struct broken *broken;
    size_t n_broken;
    struct inst *insts;
    struct kgc_sync_stats stats;
    char persisted_hash[KGC_KONG_HASH_LEN + 1]; /* syncer thread: the stored record's hash */
};

/* Failed re-pushes after which a restarted instance no longer counts as carrying its old
 * configuration (the Gateways it held then wait, Programmed=False/Pending). */
#define KGC_SYNC_CARRIED_ATTEMPTS 3

#define RECORD_NAME   "rec:sync-accepted" /* a store record name (kgc/store.h) */
#define RECORD_HEADER "kgc-sync-accepted/1\n"

/* ---- small helpers ----------------------------------------------------------------------------
 */

static uint64_t now_ns(void)
{
    return kgc_clock_now(NULL);
}

static struct blob *blob_ref(struct blob *b)
{
    if (b)
        atomic_fetch_add(&b->refs, 1);
    return b;
}

static void blob_unref(struct blob *b)
{
    if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    for (size_t i = 0; i < b->n_gws; i++)
        free(b->gws[i].key);
    free(b->gws);
    free(b->text);
    free(b);
}

/* *slot = b (a new reference), dropping the old one. */
static void blob_set(struct blob **slot, struct blob *b)
{
    struct blob *old = *slot;
    *slot = blob_ref(b);
    blob_unref(old);
}

static bool hash_eq(const struct blob *b, const char *hash)
{
    return b && hash && strcmp(b->hash, hash) == 0;
}

/* The configuration_hash Kong reports once it holds b. */
static const char *kong_hash_of(const struct blob *b)
{
    return b->empty ? KGC_KONG_EMPTY_HASH : b->hash;
}

/* Whether Kong reporting hash means it holds b. */
static bool kong_hash_eq(const struct blob *b, const char *hash)
{
    return b && hash && strcmp(kong_hash_of(b), hash) == 0;
}

static void object_version(const struct kgc_api_obj *obj, char *out, size_t size)
{
    if (obj->meta.generation > 0)
        snprintf(out, size, "g%lld", (long long)obj->meta.generation);
    else
        snprintf(out, size, "rv%s", obj->meta.resource_version ? obj->meta.resource_version : "");
}

static const char *kind_name(enum kgc_api_kind kind)
{
    const struct kgc_api_kind_info *ki = kgc_api_kind_info(kind);
    return ki ? ki->name : "?";
}

static void broken_free(struct broken *b)
{
    free(b->ns);
    free(b->name);
    free(b->message);
}

static struct inst *inst_find(struct kgc_sync *s, const char *url)
{
    for (struct inst *i = s->insts; i; i = i->next)
        if (strcmp(i->url, url) == 0)
            return i;
    return NULL;
}

static struct inst *inst_get(struct kgc_sync *s, const char *url)
{
    struct inst *i = inst_find(s, url);
    if (i)
        return i;
    i = calloc(1, sizeof(*i));
    if (!i)
        return NULL;
    snprintf(i->url, sizeof(i->url), "%s", url);
    i->last_result = "";
    i->next = s->insts;
    s->insts = i;
    return i;
}

static uint64_t backoff_ns(unsigned attempts)
{
    uint64_t d = KGC_SYNC_BACKOFF_MIN_NS;
    for (unsigned k = 0; k < attempts && d < KGC_SYNC_BACKOFF_MAX_NS; k++)
        d *= 2;
    return d < KGC_SYNC_BACKOFF_MAX_NS ? d : KGC_SYNC_BACKOFF_MAX_NS;
}

static void announce(struct kgc_sync *s, const struct kgc_sync_change *ch)
{
    for (size_t k = 0; k < s->n_subs; k++)
        s->subs[k].fn(s->subs[k].ctx, ch);
}

static void announce_object(struct kgc_sync *s, enum kgc_sync_change_what what,
                            enum kgc_api_kind kind, const char *ns, const char *name,
                            const char *message)
{
    struct kgc_sync_change ch = {
        .what = what, .kind = kind, .ns = ns, .name = name, .message = message};
    announce(s, &ch);
}

static void notify_changed(struct kgc_sync *s)
{
    struct kgc_sync_change ch = {.what = KGC_SYNC_CHANGE_PROGRAMMED};
    announce(s, &ch);
}

/* ---- options ----------------------------------------------------------------------------------
 */

void kgc_sync_options_default(struct kgc_sync_options *o)
{
    memset(o, 0, sizeof(*o));
    o->debounce_ns = 100 * KGC_NS_PER_MS;
    o->max_delay_ns = KGC_NS_PER_S;
    kgc_kong_client_options_default(&o->client);
}

static const char *keep_string(struct kgc_sync *s, const char *v, bool *ok)
{
    if (!v)
        return NULL;
    char *c = strdup(v);
    if (!c) {
        *ok = false;
        return NULL;
    }
    s->copts_strings[s->n_copts_strings++] = c;
    return c;
}

static int copy_client_options(struct kgc_sync *s, const struct kgc_kong_client_options *o)
{
    s->copts = *o;
    s->copts_strings = calloc(4 + o->n_headers + o->n_credential_urls, sizeof(char *));
    const char **headers = o->n_headers ? calloc(o->n_headers, sizeof(char *)) : NULL;
    const char **creds = o->n_credential_urls ? calloc(o->n_credential_urls, sizeof(char *)) : NULL;
    if (!s->copts_strings || (o->n_headers && !headers) || (o->n_credential_urls && !creds)) {
        free(headers);
        free(creds);
        return KGC_ENOMEM;
    }
    bool ok = true;
    s->copts.ca_file = keep_string(s, o->ca_file, &ok);
    s->copts.cert_file = keep_string(s, o->cert_file, &ok);
    s->copts.key_file = keep_string(s, o->key_file, &ok);
    for (size_t i = 0; i < o->n_headers; i++)
        headers[i] = keep_string(s, o->headers[i], &ok);
    s->copts.headers = headers;
    s->copts.tls_server_name = keep_string(s, o->tls_server_name, &ok);
    for (size_t i = 0; i < o->n_credential_urls; i++)
        creds[i] = keep_string(s, o->credential_urls[i], &ok);
    s->copts.credential_urls = creds;
    return ok ? 0 : KGC_ENOMEM;
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
        const struct broken *b = &s->broken[i];
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
    struct blob *b;
    size_t cap;
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
    struct blob *b = w->b;
    if (b->n_gws == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        struct gwref *v = realloc(b->gws, cap * sizeof(*v));
        if (!v) {
            w->oom = true;
            return false;
        }
        b->gws = v;
        w->cap = cap;
    }
    char *key = strdup(obj->meta.key);
    if (!key) {
        w->oom = true;
        return false;
    }
    b->gws[b->n_gws++] = (struct gwref){.key = key, .generation = obj->meta.generation};
    return true;
}

/* ---- translation (syncer thread) --------------------------------------------------------------
 */

/* Drops the broken entries whose object changed or is gone (they are translated again). The
 * lookup is called without mu (it takes the cache's locks; mark_dirty may run under them). */
static void prune_broken(struct kgc_sync *s)
{
    if (!s->n_broken)
        return;
    bool *gone = calloc(s->n_broken, sizeof(bool));
    if (!gone)
        return;
    size_t n = s->n_broken, n_gone = 0;
    for (size_t i = 0; i < n; i++) {
        struct broken *b = &s->broken[i];
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
    struct broken *cleared = n_gone ? calloc(n_gone, sizeof(*cleared)) : NULL;
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
        kgc_info(COMPONENT, "rejected object changed: translating it again",
                 KGC_F_STR("kind", kind_name(cleared[i].kind)),
                 KGC_F_STR("namespace", cleared[i].ns), KGC_F_STR("name", cleared[i].name));
        announce_object(s, KGC_SYNC_CHANGE_REJECTED, cleared[i].kind, cleared[i].ns,
                        cleared[i].name, NULL);
        broken_free(&cleared[i]);
    }
    free(cleared);
}

/* ---- route verdicts (syncer thread) -----------------------------------------------------------
 *
 * The status of a route carries the translator's verdict (PartiallyInvalid, UnsupportedValue),
 * so it must not be written before the translator judged that version of the route: the routes
 * are walked before each translation (so none is recorded at a generation newer than what was
 * translated), judged after it, and every route whose entry is new or changed is reported
 * (on_route_verdict_changed) so that its status is computed again. */

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
        const struct broken *b = &s->broken[i];
        if (b->kind == KGC_API_HTTPROUTE && strcmp(b->ns, ns) == 0 &&
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
        kgc_translate_problems_of(&s->last_out, KGC_API_HTTPROUTE, route->obj.meta.namespace,
                                  route->obj.meta.name, &n);
    bool broken = false;
    for (size_t i = 0; i < s->n_broken && !broken; i++)
        broken = s->broken[i].kind == KGC_API_HTTPROUTE &&
                 strcmp(s->broken[i].name, route->obj.meta.name) == 0;
    if (!n && !broken)
        return 0;
    struct kgc_status_route_verdict v;
    verdict_of(s, route, &v);
    if (!v.accepted_reason && !v.partially_invalid[0] && !v.kong_limitation[0])
        return 0;
    char text[3 * KGC_STATUS_MSG_MAX + 64];
    int len =
        snprintf(text, sizeof(text), "%s\n%s\n%s\n%s", v.accepted_reason ? v.accepted_reason : "",
                 v.accepted_message, v.partially_invalid, v.kong_limitation);
    size_t tl = len < 0 ? 0 : (size_t)len < sizeof(text) ? (size_t)len : sizeof(text) - 1;
    uint64_t h = kgc_strmap_hash(text, tl);
    return h ? h : 1;
}

struct rv_walk {
    struct rverdict **v;
    size_t n, cap;
    bool oom;
};

static bool visit_route(const struct kgc_api_obj *obj, void *ctx)
{
    struct rv_walk *w = ctx;
    if (!obj->meta.key)
        return true;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        struct rverdict **v = realloc(w->v, cap * sizeof(struct rverdict *));
        if (!v) {
            w->oom = true;
            return false;
        }
        w->v = v;
        w->cap = cap;
    }
    size_t kl = strlen(obj->meta.key) + 1;
    struct rverdict *e = malloc(sizeof(*e) + kl);
    if (!e) {
        w->oom = true;
        return false;
    }
    memcpy(e->key, obj->meta.key, kl);
    e->uid = obj->meta.uid ? kgc_strmap_hash(obj->meta.uid, strlen(obj->meta.uid)) : 0;
    e->generation = obj->meta.generation;
    e->verdict = 0;
    e->obj = kgc_api_obj_ref(obj);
    w->v[w->n++] = e;
    return true;
}

static void rverdict_free(struct rverdict *e)
{
    if (e)
        kgc_api_obj_unref(e->obj);
    free(e);
}

static void verdicts_clear(struct kgc_strmap *m)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (kgc_strmap_next(m, &pos, &k, &v))
        rverdict_free(v);
    kgc_strmap_destroy(m);
}

static void walk_free(struct rv_walk *w)
{
    for (size_t i = 0; i < w->n; i++)
        rverdict_free(w->v[i]);
    free(w->v);
    memset(w, 0, sizeof(*w));
}

/* Judges the routes walked before the translation that just ended, makes them the verdict map
 * and reports every route whose entry is new or changed (syncer thread, mu not held). Takes
 * what w holds. */
/* Whether the verdict on e (its hash already in e->verdict) carries a Kong limitation; logs it
 * once per route generation and verdict: when the last recorded entry differs (syncer thread,
 * the only one that changes s->verdicts, so reading it unlocked is safe). */
static uint64_t note_limitation(struct kgc_sync *s, const struct rverdict *e)
{
    const struct kgc_api_httproute *route = kgc_api_as_httproute(e->obj);
    if (!route)
        return 0;
    struct kgc_status_route_verdict v;
    verdict_of(s, route, &v);
    if (v.accepted_reason || !v.kong_limitation[0])
        return 0;
    const struct rverdict *o = kgc_strmap_get(&s->verdicts, e->key);
    if (!o || o->uid != e->uid || o->generation != e->generation || o->verdict != e->verdict)
        kgc_warn(COMPONENT, "Kong cannot serve this route exactly as the Gateway API asks",
                 KGC_F_STR("route", e->key), KGC_F_INT("generation", e->generation),
                 KGC_F_STR("condition", KGC_STATUS_KONG_LIMITATION),
                 KGC_F_STR("message", v.kong_limitation));
    return 1;
}

static void record_verdicts(struct kgc_sync *s, struct rv_walk *w)
{
    struct kgc_strmap next;
    kgc_strmap_init(&next);
    bool oom = w->oom;
    uint64_t limited = 0;
    for (size_t i = 0; i < w->n && !oom; i++) {
        struct rverdict *e = w->v[i];
        e->verdict = verdict_hash(s, kgc_api_as_httproute(e->obj));
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
    walk_free(w);
    if (oom) { /* keep the last map: the routes it lacks stay pending until the next one */
        verdicts_clear(&next);
        kgc_error(COMPONENT, "out of memory recording route verdicts");
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
        const struct rverdict *e = val, *o = kgc_strmap_get(&prev, k);
        if (o && o->uid == e->uid && o->generation == e->generation && o->verdict == e->verdict)
            continue;
        changed++;
        const char *slash = strchr(e->key, '/');
        if (!s->n_subs || !slash)
            continue;
        char ns[KGC_STATUS_NAME_MAX];
        snprintf(ns, sizeof(ns), "%.*s", (int)(slash - e->key), e->key);
        announce_object(s, KGC_SYNC_CHANGE_ROUTE_VERDICT, KGC_API_HTTPROUTE, ns, slash + 1, NULL);
    }
    verdicts_clear(&prev);
    if (changed)
        kgc_debug(COMPONENT, "route verdicts recorded",
                  KGC_F_INT("routes", kgc_strmap_len(&s->verdicts)),
                  KGC_F_INT("new_or_changed", changed));
}

/* ---- which listeners carry routes --------------------------------------------------------------
 * The translator's listener_usable input: the Gateway reconciler's verdict on the listener
 * (kgc_status_gateway_usable_listeners() with the same options, the same listener view and the
 * same lookup the translator reads), computed once per Gateway version per translation. */

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

/* fresh: a change (not a re-translation after a rejection). Returns 0 or KGC_ENOMEM. */
static int do_translate(struct kgc_sync *s, bool fresh)
{
    prune_broken(s);
    struct rv_walk rw = {0}; /* the routes, before the translator reads them */
    s->lookup.foreach (s->lookup.ctx, KGC_API_HTTPROUTE, NULL, visit_route, &rw);
    struct kgc_listenercache_view view = {0};
    if (s->lc)
        kgc_listenercache_view(s->lc, &view);
    struct kgc_status_lookup hl = {.get = hide_get, .foreach = hide_foreach, .ctx = s};
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
    uint64_t t0 = now_ns();
    int rc = kgc_translate(&in, &out, &err);
    uint64_t took = now_ns() - t0;
    if (rc == 0 && uc.oom) {
        kgc_translate_output_free(&out);
        rc = kgc_err_set(&err, KGC_ENOMEM, "out of memory judging listeners");
    }
    usable_ctx_free(&uc);
    if (s->lc)
        kgc_listenercache_view_release(&view);
    struct blob *b = NULL;
    struct gw_walk w = {.controller = s->controller_name};
    if (rc == 0 && (b = calloc(1, sizeof(*b)))) {
        atomic_init(&b->refs, 1);
        b->text = out.config;
        b->len = out.config_len;
        memcpy(b->hash, out.hash, sizeof(b->hash));
        const struct kgc_translate_counts *n = &out.counts;
        b->empty = !n->services && !n->routes && !n->upstreams && !n->targets && !n->plugins &&
                   !n->certificates && !n->snis;
        out.config = NULL;
        w.b = b;
        hl.foreach (hl.ctx, KGC_API_GATEWAYCLASS, NULL, visit_class, &w);
        if (!w.classes.oom)
            hl.foreach (hl.ctx, KGC_API_GATEWAY, NULL, visit_gateway, &w);
        if (w.classes.oom || w.oom) {
            blob_unref(b);
            b = NULL;
        }
    }
    names_free(&w.classes);
    if (!b) {
        walk_free(&rw);
        kgc_translate_output_free(&out);
        kgc_error(COMPONENT, "translation failed",
                  KGC_F_STR("error", rc ? err.msg : "out of memory"));
        return rc ? rc : KGC_ENOMEM;
    }

    bool adopted = false;
    pthread_mutex_lock(&s->mu);
    bool same = hash_eq(s->cur, b->hash);
    blob_set(&s->cur, b);
    if (hash_eq(s->last_good, b->hash))
        blob_set(&s->last_good, b);
    kgc_translate_output_free(&s->last_out);
    s->last_out = out;
    s->have_out = true;
    s->translated_wall_ms = kgc_base_wall_ms();
    s->stats.translations++;
    s->stats.translate_duration_ns_sum += took;
    s->stats.config_bytes = b->len;
    s->stats.problems = out.n_problems;
    for (struct inst *i = s->insts; i; i = i->next) {
        if (fresh)
            i->rejected_hash[0] = '\0';
        /* same text: the instance holds this configuration, with this Gateway set */
        if (i->accepted && i->accepted != b && hash_eq(i->accepted, b->hash)) {
            blob_set(&i->accepted, b);
            adopted = true;
        }
    }
    pthread_mutex_unlock(&s->mu);
    blob_unref(b);
    kgc_debug(COMPONENT, "translated", KGC_F_STR("hash", b->hash), KGC_F_INT("bytes", b->len),
              KGC_F_INT("routes", out.counts.routes), KGC_F_INT("problems", out.n_problems),
              KGC_F_INT("ms", took / KGC_NS_PER_MS), KGC_F_BOOL("unchanged", same));
    record_verdicts(s, &rw);
    if (adopted)
        notify_changed(s);
    return 0;
}

/* Whether b's Gateway set holds key at generation gen or newer. */
static bool blob_has_gateway(const struct blob *b, const char *key, int64_t gen)
{
    for (size_t k = 0; b && k < b->n_gws; k++)
        if (strcmp(b->gws[k].key, key) == 0 && b->gws[k].generation >= gen)
            return true;
    return false;
}

/* ---- the accepted Gateway set across kgc restarts ---------------------------------------------
 *
 * Record "rec:sync-accepted" in the store the listener cache persists to (kgc/store.h,
 * kgc_listenercache_store()): RECORD_HEADER, the hash, then one "<generation> <namespace>/<name>"
 * line per Gateway. */

/* The record of b's Gateway set (malloc'd, *len bytes plus a NUL), or NULL when out of memory. */
static char *encode_accepted(const struct blob *b, size_t *len)
{
    size_t cap = strlen(RECORD_HEADER) + sizeof(b->hash) + 1;
    for (size_t i = 0; i < b->n_gws; i++)
        cap += strlen(b->gws[i].key) + 24;
    char *rec = malloc(cap);
    if (!rec)
        return NULL;
    size_t n = (size_t)snprintf(rec, cap, "%s%s\n", RECORD_HEADER, b->hash);
    for (size_t i = 0; i < b->n_gws && n < cap; i++)
        n += (size_t)snprintf(rec + n, cap - n, "%lld %s\n", (long long)b->gws[i].generation,
                              b->gws[i].key);
    if (n >= cap) {
        free(rec);
        return NULL;
    }
    *len = n;
    return rec;
}

/* Stores b's Gateway set when it is not the one stored (syncer thread, no lock held). */
static void persist_accepted(struct kgc_sync *s, const struct blob *b)
{
    struct kgc_store *st = kgc_listenercache_store(s->lc);
    if (!st || strcmp(s->persisted_hash, b->hash) == 0)
        return;
    size_t n = 0;
    char *rec = encode_accepted(b, &n);
    if (!rec)
        return;
    struct kgc_err err = {0};
    if (kgc_store_put(st, RECORD_NAME, rec, n, &err) == 0)
        snprintf(s->persisted_hash, sizeof(s->persisted_hash), "%s", b->hash);
    else
        kgc_warn(COMPONENT, "cannot store the accepted Gateway set", KGC_F_STR("error", err.msg));
    free(rec);
}

/* A stored record (len bytes followed by a NUL, as kgc_store_get() gives it) as a blob without
 * text, or NULL (malformed, out of memory). Any bytes. */
static struct blob *parse_accepted(const char *rec, size_t len)
{
    struct blob *b = calloc(1, sizeof(*b));
    size_t hl = strlen(RECORD_HEADER);
    bool ok = b && len > hl && strncmp(rec, RECORD_HEADER, hl) == 0;
    const char *p = ok ? rec + hl : rec, *nl = ok ? strchr(p, '\n') : NULL;
    ok = nl && (size_t)(nl - p) == KGC_KONG_HASH_LEN;
    if (ok) {
        atomic_init(&b->refs, 1);
        memcpy(b->hash, p, KGC_KONG_HASH_LEN);
        b->hash[KGC_KONG_HASH_LEN] = '\0';
        size_t cap = 0;
        for (p = nl + 1; ok && *p; p = nl + 1) {
            nl = strchr(p, '\n');
            const char *sp = nl ? memchr(p, ' ', (size_t)(nl - p)) : NULL;
            char *end = NULL;
            long long gen = sp ? strtoll(p, &end, 10) : 0;
            if (!nl || !sp || end != sp || sp + 1 >= nl) {
                ok = false;
                break;
            }
            if (b->n_gws == cap) {
                cap = cap ? 2 * cap : 8;
                struct gwref *v = realloc(b->gws, cap * sizeof(*v));
                if (!v) {
                    ok = false;
                    break;
                }
                b->gws = v;
            }
            char *key = strndup(sp + 1, (size_t)(nl - sp - 1));
            if (!key) {
                ok = false;
                break;
            }
            b->gws[b->n_gws++] = (struct gwref){.key = key, .generation = gen};
        }
    }
    if (!ok) {
        if (b)
            atomic_init(&b->refs, 1);
        blob_unref(b);
        return NULL;
    }
    return b;
}

char *kgc_sync_accepted_record_canonical(const char *rec, size_t len, size_t *out_len)
{
    struct blob *b = parse_accepted(rec, len);
    char *out = b ? encode_accepted(b, out_len) : NULL;
    blob_unref(b);
    return out;
}

/* The stored Gateway set as a blob without text, or NULL (none, unreadable, malformed). */
static struct blob *restore_accepted(struct kgc_sync *s)
{
    struct kgc_store *st = kgc_listenercache_store(s->lc);
    if (!st)
        return NULL;
    char *rec = NULL;
    size_t len = 0;
    struct kgc_err err = {0};
    int rc = kgc_store_get(st, RECORD_NAME, &rec, &len, &err);
    if (rc != 0) {
        if (rc != KGC_ENOENT)
            kgc_warn(COMPONENT, "cannot read the stored Gateway set", KGC_F_STR("error", err.msg));
        return NULL;
    }
    struct blob *b = parse_accepted(rec, len);
    free(rec);
    if (!b) {
        kgc_warn(COMPONENT, "ignoring a malformed stored Gateway set");
        return NULL;
    }
    snprintf(s->persisted_hash, sizeof(s->persisted_hash), "%s", b->hash);
    kgc_info(COMPONENT, "last accepted Gateway set restored", KGC_F_STR("hash", b->hash),
             KGC_F_INT("gateways", b->n_gws));
    return b;
}

/* ---- pushes (syncer thread) -------------------------------------------------------------------
 */

/* What instance i should hold (guarded by mu). */
static struct blob *target_of(struct kgc_sync *s, const struct inst *i)
{
    if (s->cur && !hash_eq(s->cur, i->rejected_hash))
        return s->cur;
    if (s->last_good && !hash_eq(s->last_good, i->rejected_hash))
        return s->last_good;
    return NULL;
}

static bool wants_push(struct kgc_sync *s, const struct inst *i)
{
    if (i->removed || !i->ready)
        return false;
    const struct blob *t = target_of(s, i);
    return t && (i->force || !i->accepted || !hash_eq(i->accepted, t->hash));
}

/* The objects a rejection names that are not broken yet, as new entries in *out (syncer thread,
 * mu NOT held: the lookup is called). Returns how many. */
static size_t collect_broken(struct kgc_sync *s, const struct kgc_kong_push_result *r,
                             struct broken **out)
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
            const struct broken *b = i < s->n_broken ? &s->broken[i] : &(*out)[i - s->n_broken];
            dup = b->kind == owner.kind && strcmp(b->ns, owner.namespace) == 0 &&
                  strcmp(b->name, owner.name) == 0;
        }
        if (dup)
            continue;
        const struct kgc_api_obj *obj = s->lookup.get(
            s->lookup.ctx, owner.kind, owner.namespace[0] ? owner.namespace : NULL, owner.name);
        if (!obj)
            continue;
        char msg[MSG_MAX];
        int off = snprintf(msg, sizeof(msg),
                           "Kong rejected %s %s:", ee->entity_type ? ee->entity_type : "entity",
                           ee->entity_name ? ee->entity_name : "(unnamed)");
        for (size_t k = 0; k < ee->n_errors && off > 0 && (size_t)off < sizeof(msg); k++) {
            const struct kgc_kong_field_error *fe = &ee->errors[k];
            off += snprintf(msg + off, sizeof(msg) - (size_t)off, "%s %s%s%s", k ? ";" : "",
                            fe->field ? fe->field : "", fe->field ? ": " : "",
                            fe->message ? fe->message : "invalid");
        }
        struct broken nb = {.kind = owner.kind};
        object_version(obj, nb.version, sizeof(nb.version));
        kgc_api_obj_unref(obj);
        nb.ns = strdup(owner.namespace);
        nb.name = strdup(owner.name);
        nb.message = strdup(msg);
        struct broken *v = realloc(*out, (n + 1) * sizeof(*v));
        if (!nb.ns || !nb.name || !nb.message || !v) {
            broken_free(&nb);
            if (v)
                *out = v;
            break;
        }
        *out = v;
        v[n++] = nb;
    }
    return n;
}

static void push_one(struct kgc_sync *s, struct inst *i, struct blob *b)
{
    struct kgc_err err = {0};
    int rc = 0;
    if (!i->client) {
        rc = kgc_kong_client_new(i->url, s->client_opts, &i->client, &err);
        if (rc == 0)
            kgc_kong_client_set_abort_flag(i->client, &s->abort_flag);
    }
    /* before the push: once Kong loads an empty configuration its hash is zeros, which the
     * prober must not take for a restart */
    if (s->kong)
        kgc_kong_expect_empty(s->kong, i->url, b->empty);
    struct kgc_kong_push_result r = {0};
    uint64_t t0 = now_ns();
    if (rc == 0)
        rc = kgc_kong_push_config(i->client, b->text, b->len, &r, &err);
    uint64_t took = now_ns() - t0;
    if (rc == KGC_ESHUTDOWN) {
        pthread_mutex_lock(&s->mu);
        i->inflight_hash[0] = '\0';
        pthread_mutex_unlock(&s->mu);
        return;
    }

    bool changed = false;
    size_t first_new = 0, n_new = 0;
    struct broken *fresh = NULL;
    /* cur only changes on this thread: comparing unlocked is safe */
    if (rc == 0 && r.kind == KGC_KONG_PUSH_REJECTED && b == s->cur)
        n_new = collect_broken(s, &r, &fresh);
    pthread_mutex_lock(&s->mu);
    i->inflight_hash[0] = '\0';
    i->last_push_wall_ms = kgc_base_wall_ms();
    s->stats.push_count++;
    s->stats.push_duration_ns_sum += took;
    const double *bounds = kgc_sync_push_bounds();
    for (size_t k = 0; k < KGC_SYNC_PUSH_BUCKETS; k++) {
        if ((double)took <= bounds[k] * 1e9) {
            s->stats.push_duration_buckets[k]++;
            break;
        }
    }
    uint64_t now = now_ns();
    if (rc != 0) {
        s->stats.push_errors++;
        if (i->attempts + 1 >= KGC_SYNC_CARRIED_ATTEMPTS && i->carried) {
            blob_set(&i->carried, NULL);
            blob_set(&s->restored, NULL); /* what it carried is gone for good */
            changed = true;
        }
        i->last_result = "error";
        i->last_status = 0;
        snprintf(i->last_error, sizeof(i->last_error), "%s", err.msg);
        i->retry_at_ns = now + backoff_ns(i->attempts++);
    } else {
        s->stats.pushes[r.kind]++;
        i->last_result = kgc_kong_push_kind_name(r.kind);
        i->last_status = r.http_status;
        i->last_error[0] = '\0';
        switch (r.kind) {
        case KGC_KONG_PUSH_APPLIED:
        case KGC_KONG_PUSH_UNCHANGED:
            blob_set(&i->accepted, b);
            snprintf(i->accepted_node, sizeof(i->accepted_node), "%s", i->inflight_node);
            blob_set(&i->carried, NULL);
            blob_set(&s->last_good, b);
            blob_set(&s->restored, NULL); /* this process knows better now */
            i->force = false;
            i->attempts = 0;
            i->retry_at_ns = 0;
            snprintf(i->kong_hash, sizeof(i->kong_hash), "%s", kong_hash_of(b));
            changed = true;
            break;
        case KGC_KONG_PUSH_REJECTED:
            if (i->carried) {
                blob_set(&i->carried, NULL);
                blob_set(&s->restored, NULL); /* what it carried is gone for good */
                changed = true;
            }
            snprintf(i->rejected_hash, sizeof(i->rejected_hash), "%s", b->hash);
            snprintf(i->last_error, sizeof(i->last_error), "%s",
                     r.message ? r.message : "rejected");
            snprintf(s->last_rejection, sizeof(s->last_rejection), "%s: %s", i->url,
                     r.message ? r.message : "rejected");
            i->retry_at_ns = 0;
            if (n_new) {
                struct broken *v = realloc(s->broken, (s->n_broken + n_new) * sizeof(*v));
                if (v) {
                    s->broken = v;
                    first_new = s->n_broken;
                    memcpy(v + s->n_broken, fresh, n_new * sizeof(*v));
                    s->n_broken += n_new;
                    s->stats.broken_objects = s->n_broken;
                } else {
                    for (size_t k = 0; k < n_new; k++)
                        broken_free(&fresh[k]);
                    n_new = 0;
                }
                free(fresh);
                fresh = NULL;
                if (n_new && s->exclude_rounds < KGC_SYNC_MAX_EXCLUDE_ROUNDS) {
                    s->exclude_rounds++;
                    s->translate_now = true;
                }
            }
            break;
        case KGC_KONG_PUSH_BUSY:
        case KGC_KONG_PUSH_OTHER: {
            if (i->attempts + 1 >= KGC_SYNC_CARRIED_ATTEMPTS && i->carried) {
                blob_set(&i->carried, NULL);
                blob_set(&s->restored, NULL); /* what it carried is gone for good */
                changed = true;
            }
            uint64_t d = backoff_ns(i->attempts++);
            if (r.retry_after_s)
                d = (uint64_t)r.retry_after_s * KGC_NS_PER_S;
            if (d > KGC_SYNC_BACKOFF_MAX_NS)
                d = KGC_SYNC_BACKOFF_MAX_NS;
            i->retry_at_ns = now + d;
            snprintf(i->last_error, sizeof(i->last_error), "%s",
                     r.message ? r.message : "no message");
            break;
        }
        }
    }
    pthread_mutex_unlock(&s->mu);

    if (rc != 0) {
        kgc_warn(COMPONENT, "push failed", KGC_F_STR("url", i->url), KGC_F_STR("error", err.msg),
                 KGC_F_INT("attempts", i->attempts));
    } else if (r.kind == KGC_KONG_PUSH_REJECTED) {
        kgc_error(COMPONENT, "Kong rejected the configuration", KGC_F_STR("url", i->url),
                  KGC_F_STR("hash", b->hash), KGC_F_STR("message", r.message),
                  KGC_F_INT("flattened_errors", r.n_entity_errors),
                  KGC_F_INT("new_broken_objects", n_new),
                  KGC_F_STR("next", n_new ? "translating without them"
                                          : "keeping the last accepted configuration"));
        /* the broken list only changes on this thread: reading it unlocked is safe */
        for (size_t k = first_new; k < first_new + n_new; k++) {
            const struct broken *bo = &s->broken[k];
            kgc_warn(COMPONENT, "object rejected by Kong", KGC_F_STR("kind", kind_name(bo->kind)),
                     KGC_F_STR("namespace", bo->ns), KGC_F_STR("name", bo->name),
                     KGC_F_STR("message", bo->message));
            announce_object(s, KGC_SYNC_CHANGE_REJECTED, bo->kind, bo->ns, bo->name, bo->message);
        }
    } else if (r.kind == KGC_KONG_PUSH_BUSY || r.kind == KGC_KONG_PUSH_OTHER) {
        kgc_warn(COMPONENT, "push not taken, retrying", KGC_F_STR("url", i->url),
                 KGC_F_STR("result", kgc_kong_push_kind_name(r.kind)),
                 KGC_F_INT("status", r.http_status), KGC_F_INT("retry_after_s", r.retry_after_s));
    } else {
        kgc_info(COMPONENT, "configuration pushed", KGC_F_STR("url", i->url),
                 KGC_F_STR("result", kgc_kong_push_kind_name(r.kind)), KGC_F_STR("hash", b->hash),
                 KGC_F_INT("bytes", b->len), KGC_F_INT("ms", took / KGC_NS_PER_MS));
    }
    kgc_kong_push_result_free(&r);
    if (changed)
        persist_accepted(s, b);
    if (changed)
        notify_changed(s);
}

static void *syncer_main(void *arg)
{
    struct kgc_sync *s = arg;
    pthread_setname_np(pthread_self(), "kgc-sync");
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        if (!s->leader) {
            pthread_cond_wait(&s->cond, &s->mu);
            continue;
        }
        uint64_t now = now_ns();
        uint64_t due = UINT64_MAX;
        if (s->dirty) {
            due = s->last_mark_ns + s->debounce_ns;
            if (s->first_mark_ns + s->max_delay_ns < due)
                due = s->first_mark_ns + s->max_delay_ns;
        }
        if (s->translate_now || (s->dirty && now >= due)) {
            bool fresh = s->dirty && now >= due;
            if (fresh) {
                s->dirty = false;
                s->exclude_rounds = 0;
            }
            s->translate_now = false;
            pthread_mutex_unlock(&s->mu);
            int rc = do_translate(s, fresh);
            pthread_mutex_lock(&s->mu);
            if (rc != 0 && !s->dirty) { /* try again after a debounce */
                s->dirty = true;
                s->first_mark_ns = s->last_mark_ns = now_ns();
            }
            continue;
        }
        struct inst *pick = NULL;
        for (struct inst *i = s->insts; i; i = i->next) {
            if (!wants_push(s, i))
                continue;
            if (i->retry_at_ns <= now) {
                pick = i;
                break;
            }
            if (i->retry_at_ns < due)
                due = i->retry_at_ns;
        }
        if (pick) {
            struct blob *b = blob_ref(target_of(s, pick));
            pick->force = false;
            snprintf(pick->inflight_hash, sizeof(pick->inflight_hash), "%s", kong_hash_of(b));
            snprintf(pick->inflight_node, sizeof(pick->inflight_node), "%s", pick->node_id);
            pthread_mutex_unlock(&s->mu);
            push_one(s, pick, b);
            blob_unref(b);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        kgc_base_cond_wait_once(&s->cond, &s->mu, due);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- Kong events (prober threads) -------------------------------------------------------------
 */

/* What instance i held before it restarted empty: what it accepted from this process, else what
 * it was already counted as carrying, else what the last kgc process saw accepted (restored). */
static struct blob *carried_before_restart(struct kgc_sync *s, struct inst *i)
{
    return i->accepted ? i->accepted : i->carried ? i->carried : s->restored;
}

static void on_kong_event(const struct kgc_kong_event *ev, void *ctx)
{
    struct kgc_sync *s = ctx;
    bool changed = false;
    const char *why = NULL;
    pthread_mutex_lock(&s->mu);
    struct inst *i = ev->type == KGC_KONG_EV_REMOVED ? inst_find(s, ev->url) : inst_get(s, ev->url);
    if (!i) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    const char *hash = ev->state ? ev->state->hash : "";
    switch (ev->type) {
    case KGC_KONG_EV_READY:
        if (ev->state)
            snprintf(i->node_id, sizeof(i->node_id), "%s", ev->state->info.node_id);
        /* first seen by this process: until the push answers, it counts as carrying what the
         * last process saw accepted (a 304 or an acceptance replaces that at once) */
        if (!i->accepted && !i->carried && s->restored)
            blob_set(&i->carried, s->restored);
        i->ready = true;
        i->removed = false;
        i->force = true; /* push at once; 304 when it already holds it */
        i->retry_at_ns = 0;
        i->attempts = 0;
        changed = true;
        why = "ready";
        break;
    case KGC_KONG_EV_RESTARTED:
        if (ev->state)
            snprintf(i->node_id, sizeof(i->node_id), "%s", ev->state->info.node_id);
        /* The prober says ready, then restarted, for the one probe that sees a new node_id: the
         * READY may already have pushed to this very process (the syncer thread runs between
         * the two). Then it holds the configuration: nothing to do. */
        if (i->accepted && i->node_id[0] && strcmp(i->accepted_node, i->node_id) == 0)
            break;
        /* re-pushed at once: until that answers, it counts as carrying what it had */
        blob_set(&i->carried, carried_before_restart(s, i));
        blob_set(&i->accepted, NULL);
        i->force = true;
        i->retry_at_ns = 0;
        i->rejected_hash[0] = '\0';
        changed = true;
        why = "restarted";
        break;
    case KGC_KONG_EV_HASH_CHANGED:
        snprintf(i->kong_hash, sizeof(i->kong_hash), "%s", hash);
        if (kong_hash_eq(i->accepted, hash) || strcmp(i->inflight_hash, hash) == 0) {
            /* ours (zeros too, when what it holds or is being sent has no entity) */
        } else if (kgc_kong_hash_is_empty(hash)) {
            blob_set(&i->carried, carried_before_restart(s, i));
            blob_set(&i->accepted, NULL);
            i->force = true;
            i->retry_at_ns = 0;
            changed = true;
            why = "empty configuration";
        } else if (hash_eq(s->cur, hash) || hash_eq(s->last_good, hash)) {
            blob_set(&i->accepted, hash_eq(s->cur, hash) ? s->cur : s->last_good);
            changed = true;
        } else if (hash[0]) {
            if (!hash_eq(s->restored, hash))
                blob_set(&s->restored, NULL);
            blob_set(&i->accepted, NULL);
            i->force = true;
            i->retry_at_ns = 0;
            changed = true;
            why = "configuration changed by someone else";
        }
        break;
    case KGC_KONG_EV_UNREACHABLE:
        i->ready = false;
        changed = true;
        break;
    case KGC_KONG_EV_REMOVED:
        i->ready = false;
        i->removed = true;
        blob_set(&i->accepted, NULL);
        blob_set(&i->carried, NULL);
        changed = true;
        break;
    default:
        break;
    }
    if (why)
        pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    if (why)
        kgc_info(COMPONENT, "instance needs the configuration", KGC_F_STR("url", ev->url),
                 KGC_F_STR("why", why), KGC_F_STR("kong_hash", hash));
    if (changed)
        notify_changed(s);
}

/* ---- public API -------------------------------------------------------------------------------
 */

/* The router flavour, Kong version or listeners the translation reads may have changed. */
static void on_view_changed(void *ctx)
{
    kgc_sync_mark_dirty(ctx);
}

int kgc_sync_new(const struct kgc_sync_options *o, const struct kgc_status_lookup *lookup,
                 struct kgc_kong *kong, struct kgc_listenercache *lc, struct kgc_sync **out,
                 struct kgc_err *err)
{
    if (!o || !lookup || !lookup->get || !lookup->foreach || !out)
        return kgc_err_set(err, KGC_EINVAL, "syncer: options, lookup and out are required");
    struct kgc_sync *s = calloc(1, sizeof(*s));
    if (!s)
        return kgc_err_set(err, KGC_ENOMEM, "syncer: out of memory");
    s->debounce_ns = o->debounce_ns;
    s->max_delay_ns = o->max_delay_ns ? o->max_delay_ns : KGC_NS_PER_S;
    if (s->max_delay_ns < s->debounce_ns)
        s->max_delay_ns = s->debounce_ns;
    kgc_strmap_init(&s->verdicts);
    s->lookup = *lookup;
    s->kong = kong;
    s->lc = lc;
    pthread_mutex_init(&s->mu, NULL);
    kgc_base_cond_init(&s->cond);
    s->controller_name =
        strdup(o->controller_name ? o->controller_name : KGC_STATUS_DEFAULT_CONTROLLER);
    int rc = s->controller_name ? 0 : KGC_ENOMEM;
    if (rc == 0 && o->invalid_backend_target && o->invalid_backend_target[0] &&
        !(s->invalid_backend_target = strdup(o->invalid_backend_target)))
        rc = KGC_ENOMEM;
    const char *ps = o->publish_service, *slash = ps ? strchr(ps, '/') : NULL;
    if (rc == 0 && ps && ps[0] && (!slash || slash == ps || !slash[1])) {
        kgc_sync_free(s);
        return kgc_err_set(err, KGC_EINVAL, "syncer: publish service \"%s\" is not NAMESPACE/NAME",
                           ps);
    }
    if (rc == 0 && ps && ps[0] &&
        (!(s->publish_ns = strndup(ps, (size_t)(slash - ps))) ||
         !(s->publish_name = strdup(slash + 1))))
        rc = KGC_ENOMEM;
    if (rc == 0 && kong)
        s->client_opts = &kgc_kong_get_options(kong)->client;
    else if (rc == 0) {
        rc = copy_client_options(s, &o->client);
        s->client_opts = &s->copts;
    }
    if (rc != 0) {
        kgc_sync_free(s);
        return kgc_err_set(err, rc, "syncer: out of memory");
    }
    s->restored = restore_accepted(s);
    if (kong && (rc = kgc_kong_subscribe(kong, on_kong_event, s)) != 0) {
        kgc_sync_free(s);
        return kgc_err_set(err, rc, "syncer: cannot subscribe to Kong events");
    }
    if (lc && (rc = kgc_listenercache_subscribe(lc, on_view_changed, s)) != 0) {
        kgc_sync_free(s);
        return kgc_err_set(err, rc, "syncer: cannot subscribe to the listener view");
    }
    *out = s;
    return 0;
}

static void on_object_change(enum kgc_api_kind kind, const struct kgc_api_obj *old_obj,
                             const struct kgc_api_obj *new_obj, void *ctx)
{
    (void)kind;
    (void)old_obj;
    (void)new_obj;
    kgc_sync_mark_dirty(ctx);
}

int kgc_sync_watch_cache(struct kgc_sync *s, struct kgc_cache *cache)
{
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        int rc = kgc_cache_add_handler(cache, (enum kgc_api_kind)k, on_object_change, s);
        if (rc)
            return rc;
    }
    return 0;
}

int kgc_sync_subscribe(struct kgc_sync *s, kgc_sync_change_fn fn, void *ctx)
{
    if (!s || !fn)
        return KGC_EINVAL;
    if (s->n_subs == KGC_SYNC_MAX_SUBSCRIBERS)
        return KGC_ENOSPC;
    s->subs[s->n_subs].fn = fn;
    s->subs[s->n_subs].ctx = ctx;
    s->n_subs++;
    return 0;
}

int kgc_sync_add_instance(struct kgc_sync *s, const char *admin_url, struct kgc_err *err)
{
    char url[KGC_KONG_URL_MAX];
    int rc = kgc_kong_url_normalize(admin_url, url, err);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&s->mu);
    struct inst *i = inst_get(s, url);
    if (i) {
        i->is_static = true;
        i->ready = true;
        i->force = true;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->mu);
    return i ? 0 : kgc_err_set(err, KGC_ENOMEM, "syncer: out of memory");
}

int kgc_sync_start(struct kgc_sync *s, struct kgc_err *err)
{
    if (s->started)
        return 0;
    int rc = pthread_create(&s->thread, NULL, syncer_main, s);
    if (rc != 0)
        return kgc_err_set(err, -rc, "syncer: cannot create thread: %s", strerror(rc));
    s->started = true;
    return 0;
}

void kgc_sync_stop(struct kgc_sync *s)
{
    if (!s || !s->started)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    s->abort_flag = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    s->started = false;
}

void kgc_sync_free(struct kgc_sync *s)
{
    if (!s)
        return;
    kgc_sync_stop(s);
    while (s->insts) {
        struct inst *i = s->insts;
        s->insts = i->next;
        kgc_kong_client_free(i->client);
        blob_unref(i->accepted);
        blob_unref(i->carried);
        free(i);
    }
    for (size_t i = 0; i < s->n_broken; i++)
        broken_free(&s->broken[i]);
    free(s->broken);
    blob_unref(s->cur);
    blob_unref(s->last_good);
    blob_unref(s->restored);
    kgc_translate_output_free(&s->last_out);
    verdicts_clear(&s->verdicts);
    for (size_t i = 0; i < s->n_copts_strings; i++)
        free(s->copts_strings[i]);
    free(s->copts_strings);
    free((void *)s->copts.headers);
    free((void *)s->copts.credential_urls);
    free(s->controller_name);
    free(s->invalid_backend_target);
    free(s->publish_ns);
    free(s->publish_name);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    free(s);
}

void kgc_sync_mark_dirty(struct kgc_sync *s)
{
    uint64_t now = now_ns();
    pthread_mutex_lock(&s->mu);
    if (!s->dirty) {
        s->dirty = true;
        s->first_mark_ns = now;
    }
    s->last_mark_ns = now;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

void kgc_sync_set_leader(struct kgc_sync *s, bool leader)
{
    pthread_mutex_lock(&s->mu);
    if (leader && !s->leader)
        for (struct inst *i = s->insts; i; i = i->next) {
            i->force = true;
            i->retry_at_ns = 0;
        }
    s->leader = leader;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

bool kgc_sync_gateway_programmed(void *ctx, const struct kgc_api_gateway *gw, char *why,
                                 size_t why_size)
{
    struct kgc_sync *s = ctx;
    const char *key = gw->obj.meta.key;
    int64_t gen = gw->obj.meta.generation;
    bool ok = true;
    size_t n_ready = 0;
    pthread_mutex_lock(&s->mu);
    for (struct inst *i = s->insts; i && ok; i = i->next) {
        if (i->removed || !i->ready)
            continue;
        n_ready++;
        bool found = blob_has_gateway(i->accepted, key, gen) ||
                     blob_has_gateway(i->carried, key, gen); /* restarted, re-push pending */
        if (!found) {
            ok = false;
            if (why && why_size)
                snprintf(why, why_size, "waiting for Kong %s to accept the configuration", i->url);
        }
    }
    if (ok && n_ready == 0) {
        /* Kong is down (restarting): keep the status the last-known data plane implies. The
         * Gateway stays Programmed if an instance had accepted a configuration containing it
         * before it went away; a Gateway it never carried waits (Pending). */
        bool carried = false;
        for (struct inst *i = s->insts; i && !carried; i = i->next) {
            if (i->removed)
                continue;
            carried =
                blob_has_gateway(i->accepted, key, gen) || blob_has_gateway(i->carried, key, gen);
        }
        /* kgc restarted while Kong is down: what the last process saw accepted */
        carried = carried || blob_has_gateway(s->restored, key, gen);
        ok = carried;
        if (!ok && why && why_size)
            snprintf(why, why_size, "no ready Kong instance to configure");
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void kgc_sync_route_verdict(void *ctx, const struct kgc_api_httproute *route,
                            struct kgc_status_route_verdict *v)
{
    struct kgc_sync *s = ctx;
    const char *uid = route->obj.meta.uid;
    uint64_t uid_hash = uid ? kgc_strmap_hash(uid, strlen(uid)) : 0;
    pthread_mutex_lock(&s->mu);
    verdict_of(s, route, v);
    if (route->obj.meta.key) {
        const struct rverdict *e = kgc_strmap_get(&s->verdicts, route->obj.meta.key);
        v->pending = !e || e->uid != uid_hash || e->generation < route->obj.meta.generation;
    }
    pthread_mutex_unlock(&s->mu);
}

const double *kgc_sync_push_bounds(void)
{
    static const double bounds[KGC_SYNC_PUSH_BUCKETS] = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    return bounds;
}

void kgc_sync_stats(struct kgc_sync *s, struct kgc_sync_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}

static void jadd_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

char *kgc_sync_status_json(struct kgc_sync *s)
{
    json_object *root = json_object_new_object();
    json_object *insts = json_object_new_array();
    json_object *broken = json_object_new_array();
    if (!root || !insts || !broken) {
        json_object_put(root);
        json_object_put(insts);
        json_object_put(broken);
        return NULL;
    }
    uint64_t now = now_ns();
    pthread_mutex_lock(&s->mu);
    json_object_object_add(root, "leader", json_object_new_boolean(s->leader));
    jadd_str(root, "hash", s->cur ? s->cur->hash : NULL);
    json_object_object_add(root, "size", json_object_new_int64(s->cur ? (int64_t)s->cur->len : 0));
    jadd_str(root, "last_good_hash", s->last_good ? s->last_good->hash : NULL);
    json_object_object_add(root, "translated_at_ms",
                           json_object_new_int64((int64_t)s->translated_wall_ms));
    json_object_object_add(root, "problems", json_object_new_int64((int64_t)s->stats.problems));
    jadd_str(root, "last_rejection", s->last_rejection[0] ? s->last_rejection : NULL);
    json_object_object_add(root, "dirty", json_object_new_boolean(s->dirty));
    for (struct inst *i = s->insts; i; i = i->next) {
        json_object *j = json_object_new_object();
        if (!j)
            continue;
        jadd_str(j, "url", i->url);
        json_object_object_add(j, "ready", json_object_new_boolean(i->ready && !i->removed));
        jadd_str(j, "accepted_hash", i->accepted ? i->accepted->hash : NULL);
        jadd_str(j, "kong_hash", i->kong_hash[0] ? i->kong_hash : NULL);
        jadd_str(j, "last_result", i->last_result[0] ? i->last_result : NULL);
        json_object_object_add(j, "last_status", json_object_new_int64(i->last_status));
        json_object_object_add(j, "last_push_at_ms",
                               json_object_new_int64((int64_t)i->last_push_wall_ms));
        jadd_str(j, "last_error", i->last_error[0] ? i->last_error : NULL);
        jadd_str(j, "rejected_hash", i->rejected_hash[0] ? i->rejected_hash : NULL);
        json_object_object_add(
            j, "retry_in_ms",
            json_object_new_int64(
                i->retry_at_ns > now ? (int64_t)((i->retry_at_ns - now) / KGC_NS_PER_MS) : 0));
        json_object_array_add(insts, j);
    }
    for (size_t k = 0; k < s->n_broken; k++) {
        json_object *j = json_object_new_object();
        if (!j)
            continue;
        jadd_str(j, "kind", kind_name(s->broken[k].kind));
        jadd_str(j, "namespace", s->broken[k].ns);
        jadd_str(j, "name", s->broken[k].name);
        jadd_str(j, "message", s->broken[k].message);
        json_object_array_add(broken, j);
    }
    pthread_mutex_unlock(&s->mu);
    json_object_object_add(root, "instances", insts);
    json_object_object_add(root, "broken", broken);
    const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
    char *res = text ? strdup(text) : NULL;
    json_object_put(root);
    return res;
}

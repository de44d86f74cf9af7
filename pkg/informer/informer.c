/* The informer thread: list → replace → watch → apply, with resume, relist and backoff. */
#include "kgc/informer.h"

#include "kgc/base.h"
#include "kgc/clock.h"
#include "kgc/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COMPONENT     "informer"
#define RELIST        (-1100) /* internal: the watch callback asks for a list */
#define NOT_SERVED    (-1101) /* internal: an optional kind's list answered 404 (no CRD) */
#define LIST_RESTARTS 3       /* an expired continue token restarts the list this often */

void kgc_informer_options_default(struct kgc_informer_options *o)
{
    memset(o, 0, sizeof(*o));
    o->page_size = 500;
    o->secret_page_size = 10;
    o->resync_ns = 0;
    o->backoff_initial_ns = 800 * KGC_NS_PER_MS;
    o->backoff_max_ns = 30 * KGC_NS_PER_S;
    o->backoff_factor = 2.0;
    o->backoff_jitter = 1.0;
    o->backoff_reset_ns = 120 * KGC_NS_PER_S;
    o->watch_timeout_min_s = 300;
    o->min_watch_ns = 1 * KGC_NS_PER_S;
    o->not_served_retry_ns = 5 * KGC_NS_PER_S;
}

struct kgc_informer {
    struct kgc_k8s_client *client;
    struct kgc_cache *cache;
    enum kgc_api_kind kind;
    const struct kgc_api_kind_info *info;
    struct kgc_informer_options opts;
    char *namespace;            /* owned copy of opts.namespace */
    char path[512];             /* the collection path */
    const char *field_selector; /* static, or NULL */

    struct kgc_k8s_cancel *cancel; /* fired by stop */
    pthread_t thread;
    bool started;

    pthread_mutex_t mu; /* guards stopping, synced, stats, and the waits below */
    pthread_cond_t cv;  /* signalled on stop and on sync */
    bool stopping;
    bool synced;
    bool not_served; /* an optional kind whose last list answered 404 */
    struct kgc_informer_stats stats;

    /* thread-private */
    char *rv;              /* the last resourceVersion seen */
    uint64_t backoff_cur;  /* the next backoff before jitter */
    uint64_t last_failure; /* when the last failure happened (0: none) */
    uint64_t next_resync;  /* when the next resync is due (0: disabled) */
    uint64_t rng;
    uint64_t events_in_watch;
    bool after_backoff; /* the next watch resumes right after a backoff (a failed watch) */
};

/* --- helpers ---------------------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    return kgc_clock_now(NULL);
}

static double rand01(struct kgc_informer *inf)
{
    /* xorshift64*: private to the thread, no global state. */
    uint64_t x = inf->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    inf->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / (double)(1ULL << 53);
}

static bool stopping(struct kgc_informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    bool s = inf->stopping;
    pthread_mutex_unlock(&inf->mu);
    return s;
}

#define STAT_ADD(inf, field, n)                                                                    \
    do {                                                                                           \
        pthread_mutex_lock(&(inf)->mu);                                                            \
        (inf)->stats.field += (n);                                                                 \
        pthread_mutex_unlock(&(inf)->mu);                                                          \
    } while (0)

static void set_rv(struct kgc_informer *inf, const char *rv)
{
    if (!rv || !rv[0])
        return;
    if (inf->rv && strcmp(inf->rv, rv) == 0)
        return;
    char *d = strdup(rv);
    if (!d)
        return; /* keep the older one: a resume from it repeats events, which are deduplicated */
    free(inf->rv);
    inf->rv = d;
    pthread_mutex_lock(&inf->mu);
    snprintf(inf->stats.last_rv, sizeof(inf->stats.last_rv), "%s", rv);
    pthread_mutex_unlock(&inf->mu);
}

/* Waits ns or until stop; false when stopping. */
static bool sleep_or_stop(struct kgc_informer *inf, uint64_t ns)
{
    return kgc_base_sleep_or_stop(&inf->cv, &inf->mu, ns, &inf->stopping);
}

/* Backs off after a failure; false when stopping. */
static bool backoff(struct kgc_informer *inf)
{
    uint64_t now = now_ns();
    if (inf->last_failure == 0 || now - inf->last_failure > inf->opts.backoff_reset_ns)
        inf->backoff_cur = inf->opts.backoff_initial_ns;
    inf->last_failure = now;
    uint64_t d = inf->backoff_cur;
    double next = (double)inf->backoff_cur * inf->opts.backoff_factor;
    inf->backoff_cur =
        next > (double)inf->opts.backoff_max_ns ? inf->opts.backoff_max_ns : (uint64_t)next;
    double j = inf->opts.backoff_jitter;
    if (j > 1)
        j = 1;
    if (j > 0)
        d = (uint64_t)((double)d * (1.0 - j * rand01(inf)));
    if (d == 0)
        d = 1 * KGC_NS_PER_MS;
    STAT_ADD(inf, backoffs, 1);
    kgc_debug(COMPONENT, "backing off", KGC_F_STR("kind", inf->info->name),
              KGC_F_INT("ms", d / KGC_NS_PER_MS));
    return sleep_or_stop(inf, d);
}

/* --- list ------------------------------------------------------------------------------------- */

struct list_acc {
    struct kgc_informer *inf;
    struct kgc_api_obj **objs;
    size_t n;
    size_t cap;
};

static int on_item(const struct kgc_jsonscan_tape *item, void *ctx)
{
    struct list_acc *a = ctx;
    struct kgc_err err = {0};
    struct kgc_api_obj *o = NULL;
    int rc = kgc_api_parse_tape(a->inf->kind, item, 0, &o, &err);
    if (rc == KGC_ENOMEM)
        return rc;
    if (rc != 0) {
        STAT_ADD(a->inf, parse_errors, 1);
        kgc_warn(COMPONENT, "skipping an object that cannot be parsed",
                 KGC_F_STR("kind", a->inf->info->name), KGC_F_STR("error", err.msg));
        return 0;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        struct kgc_api_obj **v = realloc(a->objs, cap * sizeof(void *));
        if (!v) {
            kgc_api_obj_unref(o);
            return KGC_ENOMEM;
        }
        a->objs = v;
        a->cap = cap;
    }
    a->objs[a->n++] = o;
    return 0;
}

static int do_list(struct kgc_informer *inf)
{
    uint32_t limit = inf->opts.page_size;
    if (inf->kind == KGC_API_SECRET && inf->opts.secret_page_size &&
        (limit == 0 || inf->opts.secret_page_size < limit))
        limit = inf->opts.secret_page_size;
    int rc = 0;
    for (int attempt = 0; attempt < LIST_RESTARTS;) {
        struct kgc_k8s_list_opts lo = {.limit = limit, .field_selector = inf->field_selector};
        struct list_acc acc = {.inf = inf};
        struct kgc_err err = {0};
        struct kgc_k8s_status st;
        char *rv = NULL;
        rc = kgc_k8s_list(inf->client, inf->path, &lo, on_item, &acc, &rv, inf->cancel, &st, &err);
        if (rc == 0) {
            struct kgc_cache_replace_result res;
            size_t n = acc.n;
            rc = kgc_cache_replace(inf->cache, inf->kind, acc.objs, acc.n, &res);
            free(acc.objs);
            if (rc != 0) {
                free(rv);
                kgc_error(COMPONENT, "storing the list failed", KGC_F_STR("kind", inf->info->name),
                          KGC_F_STR("error", kgc_err_str(rc)));
                return rc;
            }
            set_rv(inf, rv);
            free(rv);
            pthread_mutex_lock(&inf->mu);
            if (inf->stats.lists > 0)
                inf->stats.relists++;
            inf->stats.lists++;
            inf->stats.synthetic_deletes += res.deleted;
            bool first = !inf->synced || inf->not_served;
            inf->synced = true;
            inf->stats.synced = true;
            inf->not_served = false;
            pthread_cond_broadcast(&inf->cv);
            pthread_mutex_unlock(&inf->mu);
            kgc_info(COMPONENT, first ? "synced" : "relisted", KGC_F_STR("kind", inf->info->name),
                     KGC_F_INT("objects", n), KGC_F_INT("added", res.added),
                     KGC_F_INT("updated", res.updated), KGC_F_INT("deleted", res.deleted),
                     KGC_F_STR("resourceVersion", inf->rv));
            return 0;
        }
        for (size_t i = 0; i < acc.n; i++)
            kgc_api_obj_unref(acc.objs[i]);
        free(acc.objs);
        free(rv);
        if (rc == KGC_ESHUTDOWN)
            return rc;
        if (rc == KGC_E2BIG && limit != 1) {
            /* A page over the response cap: smaller pages, not a failed list. limit 0 (no
             * pagination) starts from the default page size. */
            limit = limit == 0 ? 500 : limit / 2;
            STAT_ADD(inf, page_shrinks, 1);
            kgc_warn(COMPONENT, "list page too large, listing again with smaller pages",
                     KGC_F_STR("kind", inf->info->name), KGC_F_INT("limit", limit),
                     KGC_F_STR("error", err.msg));
            continue;
        }
        if ((rc == KGC_ENOENT || rc == KGC_EACCES) && inf->info->optional) {
            /* The kind's CRD is not installed (404), or kgc may not read it (403: RBAC made
             * before the kind existed): none of it is visible. Store that (objects of a deleted
             * CRD go with it) and count as synced, so kgc runs without the kind. */
            struct kgc_cache_replace_result res;
            if (kgc_cache_replace(inf->cache, inf->kind, NULL, 0, &res) != 0)
                return KGC_ENOMEM;
            pthread_mutex_lock(&inf->mu);
            bool first = !inf->synced, was = inf->not_served;
            inf->synced = true;
            inf->stats.synced = true;
            inf->not_served = true;
            inf->stats.synthetic_deletes += res.deleted;
            pthread_cond_broadcast(&inf->cv);
            pthread_mutex_unlock(&inf->mu);
            if (first || !was)
                kgc_warn(COMPONENT,
                         rc == KGC_ENOENT
                             ? "kind not served (its CRD is not installed): watching none"
                             : "kind not readable (RBAC forbids listing it): watching none",
                         KGC_F_STR("kind", inf->info->name), KGC_F_STR("group", inf->info->group),
                         KGC_F_INT("retry_s", inf->opts.not_served_retry_ns / KGC_NS_PER_S));
            return NOT_SERVED;
        }
        if (rc != KGC_EGONE) {
            kgc_warn(COMPONENT, "list failed", KGC_F_STR("kind", inf->info->name),
                     KGC_F_STR("error", err.msg[0] ? err.msg : kgc_err_str(rc)));
            break;
        }
        /* The continue token expired mid-list: start the list again from the beginning. */
        kgc_info(COMPONENT, "list continue token expired, listing again",
                 KGC_F_STR("kind", inf->info->name));
        attempt++;
    }
    STAT_ADD(inf, list_errors, 1);
    return rc;
}

/* --- watch ------------------------------------------------------------------------------------ */

static int apply(struct kgc_informer *inf, const struct kgc_k8s_event *ev)
{
    struct kgc_err err = {0};
    struct kgc_api_obj *o = NULL;
    int rc = kgc_api_parse_tape(inf->kind, ev->tape, ev->object, &o, &err);
    if (rc == KGC_ENOMEM)
        return rc;
    if (rc != 0) {
        STAT_ADD(inf, parse_errors, 1);
        kgc_warn(COMPONENT, "skipping an event whose object cannot be parsed",
                 KGC_F_STR("kind", inf->info->name), KGC_F_STR("error", err.msg));
        return 0;
    }
    if (ev->type == KGC_K8S_DELETED) {
        kgc_cache_delete(inf->cache, inf->kind, o->meta.key); /* ENOENT: already gone */
        kgc_api_obj_unref(o);
        return 0;
    }
    return kgc_cache_upsert(inf->cache, o, NULL);
}

static int on_event(const struct kgc_k8s_event *ev, void *ctx)
{
    struct kgc_informer *inf = ctx;
    int rc = 0;
    switch (ev->type) {
    case KGC_K8S_ADDED:
        STAT_ADD(inf, added, 1);
        rc = apply(inf, ev);
        break;
    case KGC_K8S_MODIFIED:
        STAT_ADD(inf, modified, 1);
        rc = apply(inf, ev);
        break;
    case KGC_K8S_DELETED:
        STAT_ADD(inf, deleted, 1);
        rc = apply(inf, ev);
        break;
    case KGC_K8S_BOOKMARK:
        STAT_ADD(inf, bookmarks, 1);
        break;
    case KGC_K8S_ERROR:
        STAT_ADD(inf, error_events, 1);
        if (ev->status.code == 410 || strcmp(ev->status.reason, "Expired") == 0 ||
            strcmp(ev->status.reason, "Gone") == 0) {
            kgc_info(COMPONENT, "watch expired, relisting", KGC_F_STR("kind", inf->info->name),
                     KGC_F_STR("message", ev->status.message));
            return RELIST;
        }
        kgc_warn(COMPONENT, "watch error event", KGC_F_STR("kind", inf->info->name),
                 KGC_F_INT("code", ev->status.code), KGC_F_STR("reason", ev->status.reason),
                 KGC_F_STR("message", ev->status.message));
        return KGC_EHTTP;
    }
    if (rc != 0)
        return rc;
    inf->events_in_watch++;
    /* Only after the event is applied: a resume then starts after it, never before. */
    set_rv(inf, ev->resource_version);
    return 0;
}

static void resync(struct kgc_informer *inf)
{
    size_t n = kgc_cache_resync(inf->cache, inf->kind);
    STAT_ADD(inf, resyncs, 1);
    kgc_debug(COMPONENT, "resync", KGC_F_STR("kind", inf->info->name), KGC_F_INT("objects", n));
}

enum outcome {
    WATCH_AGAIN, /* the stream ended or broke after working: resume from the last version */
    FAILED,      /* back off, then resume the watch */
    FAILED_LIST, /* back off, then list */
    NEED_LIST,   /* list now (Expired) */
    STOP,
};

static enum outcome do_watch(struct kgc_informer *inf)
{
    uint32_t min = inf->opts.watch_timeout_min_s ? inf->opts.watch_timeout_min_s : 300;
    uint32_t timeout = (uint32_t)((double)min * (1.0 + rand01(inf)));
    if (inf->next_resync) {
        uint64_t now = now_ns();
        uint64_t left = inf->next_resync > now ? (inf->next_resync - now) / KGC_NS_PER_S : 0;
        if (left + 1 < timeout)
            timeout = (uint32_t)left + 1;
    }
    struct kgc_k8s_watch_opts wo = {
        .resource_version = inf->rv,
        .allow_bookmarks = true,
        .timeout_seconds = timeout,
        .field_selector = inf->field_selector,
    };
    struct kgc_err err = {0};
    struct kgc_k8s_status st;
    bool after_backoff = inf->after_backoff;
    inf->after_backoff = false;
    inf->events_in_watch = 0;
    uint64_t t0 = now_ns();
    STAT_ADD(inf, watches, 1);
    int rc = kgc_k8s_watch(inf->client, inf->path, &wo, on_event, inf, inf->cancel, &st, &err);
    bool short_and_empty = inf->events_in_watch == 0 && now_ns() - t0 < inf->opts.min_watch_ns;
    if (rc == KGC_ESHUTDOWN || stopping(inf))
        return STOP;
    if (rc == 0)
        return short_and_empty ? FAILED : WATCH_AGAIN;
    /* Expired at once right after a list would loop: back off. Right after a backoff the wait
     * already happened: list now (client-go lists after its one backoff), so that a watch that
     * failed and then finds its history compacted does not wait twice. */
    if (rc == RELIST || rc == KGC_EGONE)
        return short_and_empty && !after_backoff ? FAILED_LIST : NEED_LIST;
    STAT_ADD(inf, watch_errors, 1);
    if (rc == KGC_E2BIG || rc == KGC_EPARSE) {
        /* The stream cannot get past this event: list instead (lists have their own cap). */
        kgc_warn(COMPONENT, "watch event rejected, relisting", KGC_F_STR("kind", inf->info->name),
                 KGC_F_STR("error", err.msg));
        return FAILED_LIST;
    }
    if (rc == KGC_EIO && inf->events_in_watch > 0) {
        kgc_info(COMPONENT, "watch broke, resuming", KGC_F_STR("kind", inf->info->name),
                 KGC_F_STR("resourceVersion", inf->rv), KGC_F_STR("error", err.msg));
        return WATCH_AGAIN;
    }
    kgc_warn(COMPONENT, "watch failed", KGC_F_STR("kind", inf->info->name),
             KGC_F_STR("error", err.msg[0] ? err.msg : kgc_err_str(rc)));
    return FAILED;
}

static void *run(void *arg)
{
    struct kgc_informer *inf = arg;
    char name[16];
    snprintf(name, sizeof(name), "inf-%s", inf->info->plural);
    pthread_setname_np(pthread_self(), name);
    bool need_list = true;
    if (inf->opts.resync_ns)
        inf->next_resync = now_ns() + inf->opts.resync_ns;
    while (!stopping(inf)) {
        if (need_list) {
            int rc = do_list(inf);
            if (rc == KGC_ESHUTDOWN)
                break;
            if (rc == NOT_SERVED) { /* look again later: the CRD may be installed meanwhile */
                if (!sleep_or_stop(inf, inf->opts.not_served_retry_ns
                                            ? inf->opts.not_served_retry_ns
                                            : 5 * KGC_NS_PER_S))
                    break;
                continue;
            }
            if (rc != 0) {
                if (!backoff(inf))
                    break;
                continue;
            }
            need_list = false;
        }
        if (inf->next_resync && now_ns() >= inf->next_resync) {
            resync(inf);
            inf->next_resync = now_ns() + inf->opts.resync_ns;
        }
        enum outcome out = do_watch(inf);
        if (out == STOP)
            break;
        if (out == NEED_LIST || out == FAILED_LIST)
            need_list = true;
        if ((out == FAILED || out == FAILED_LIST) && !backoff(inf))
            break;
        inf->after_backoff = out == FAILED; /* FAILED_LIST lists before the next watch */
    }
    return NULL;
}

/* --- lifecycle -------------------------------------------------------------------------------- */

int kgc_informer_new(struct kgc_k8s_client *client, struct kgc_cache *cache, enum kgc_api_kind kind,
                     const struct kgc_informer_options *opts, struct kgc_informer **out,
                     struct kgc_err *err)
{
    *out = NULL;
    const struct kgc_api_kind_info *info = kgc_api_kind_info(kind);
    if (!client || !cache || !info)
        return kgc_err_set(err, KGC_EINVAL, "informer: bad arguments");
    struct kgc_informer *inf = calloc(1, sizeof(*inf));
    if (!inf)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    inf->client = client;
    inf->cache = cache;
    inf->kind = kind;
    inf->info = info;
    if (opts)
        inf->opts = *opts;
    else
        kgc_informer_options_default(&inf->opts);
    if (inf->opts.namespace && inf->opts.namespace[0] && info->namespaced)
        inf->namespace = strdup(inf->opts.namespace);
    inf->opts.namespace = NULL;
    if (inf->opts.backoff_initial_ns == 0)
        inf->opts.backoff_initial_ns = 800 * KGC_NS_PER_MS;
    if (inf->opts.backoff_max_ns < inf->opts.backoff_initial_ns)
        inf->opts.backoff_max_ns = inf->opts.backoff_initial_ns;
    if (inf->opts.backoff_factor < 1.0)
        inf->opts.backoff_factor = 1.0;
    if (kind == KGC_API_SECRET)
        inf->field_selector = KGC_INFORMER_SECRET_FIELD_SELECTOR;
    struct kgc_k8s_resource r = {info->group, info->version, info->plural, info->namespaced};
    int rc = kgc_k8s_path(inf->path, sizeof(inf->path), &r, inf->namespace, NULL, NULL);
    inf->cancel = kgc_k8s_cancel_new();
    if (rc != 0 || !inf->cancel ||
        (opts && opts->namespace && opts->namespace[0] && info->namespaced && !inf->namespace)) {
        kgc_k8s_cancel_free(inf->cancel);
        free(inf->namespace);
        free(inf);
        return kgc_err_set(err, rc ? rc : KGC_ENOMEM, "informer %s: %s", info->plural,
                           rc ? "bad namespace" : "out of memory");
    }
    pthread_mutex_init(&inf->mu, NULL);
    kgc_base_cond_init(&inf->cv);
    inf->rng = now_ns() ^ (uint64_t)(uintptr_t)inf ^ ((uint64_t)kind << 40);
    if (!inf->rng)
        inf->rng = 0x9E3779B97F4A7C15ULL;
    *out = inf;
    return 0;
}

int kgc_informer_start(struct kgc_informer *inf, struct kgc_err *err)
{
    if (!inf || inf->started)
        return kgc_err_set(err, KGC_EINVAL, "informer already started");
    int e = pthread_create(&inf->thread, NULL, run, inf);
    if (e != 0)
        return kgc_err_set(err, -e, "informer %s: pthread_create: %s", inf->info->plural,
                           strerror(e));
    inf->started = true;
    return 0;
}

void kgc_informer_stop(struct kgc_informer *inf)
{
    if (!inf)
        return;
    pthread_mutex_lock(&inf->mu);
    inf->stopping = true;
    pthread_cond_broadcast(&inf->cv);
    pthread_mutex_unlock(&inf->mu);
    kgc_k8s_cancel_fire(inf->cancel);
    if (inf->started) {
        pthread_join(inf->thread, NULL);
        inf->started = false;
    }
}

void kgc_informer_free(struct kgc_informer *inf)
{
    if (!inf)
        return;
    kgc_informer_stop(inf);
    kgc_k8s_cancel_free(inf->cancel);
    pthread_cond_destroy(&inf->cv);
    pthread_mutex_destroy(&inf->mu);
    free(inf->namespace);
    free(inf->rv);
    free(inf);
}

enum kgc_api_kind kgc_informer_kind(const struct kgc_informer *inf)
{
    return inf->kind;
}

bool kgc_informer_has_synced(struct kgc_informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    bool s = inf->synced;
    pthread_mutex_unlock(&inf->mu);
    return s;
}

int kgc_informer_wait_synced(struct kgc_informer *const *infs, size_t n, uint64_t timeout_ns)
{
    uint64_t deadline = timeout_ns ? kgc_clock_now(NULL) + timeout_ns : UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        struct kgc_informer *inf = infs[i];
        pthread_mutex_lock(&inf->mu);
        enum kgc_base_wait w =
            kgc_base_wait_until(&inf->cv, &inf->mu, NULL, deadline, &inf->stopping, &inf->synced);
        pthread_mutex_unlock(&inf->mu);
        if (w != KGC_BASE_WAIT_DONE)
            return w == KGC_BASE_WAIT_STOPPED ? KGC_ESHUTDOWN : KGC_ETIMEDOUT;
    }
    return 0;
}

void kgc_informer_stats(struct kgc_informer *inf, struct kgc_informer_stats *out)
{
    pthread_mutex_lock(&inf->mu);
    *out = inf->stats;
    pthread_mutex_unlock(&inf->mu);
}

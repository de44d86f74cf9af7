/* The provider over the running process: readiness from the informers, /metrics from
 * kgc/metrics.h, and the debug dumps from the cache, the listener cache, the Kong probers and
 * the work queues. Every callback only reads memory (short locks) and is thread-safe because the
 * modules' read calls are. */
#include "kgc/server.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_QUEUE_KEYS 10000

static const struct kgc_server_app *app_of(void *ctx)
{
    return ctx;
}

/* Serialises j (consumed) into *out. Returns 0 or KGC_ENOMEM. */
static int to_text(json_object *j, bool pretty, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (!j)
        return KGC_ENOMEM;
    int flags =
        JSON_C_TO_STRING_NOSLASHESCAPE |
        (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
    size_t n = 0;
    const char *s = json_object_to_json_string_length(j, flags, &n);
    *out = s ? strndup(s, n) : NULL;
    json_object_put(j);
    if (!*out)
        return KGC_ENOMEM;
    *len = n;
    return 0;
}

static bool is_leader(const struct kgc_server_app *a)
{
    return a->metrics.is_leader ? a->metrics.is_leader(a->metrics.is_leader_ctx) : true;
}

static bool app_ready(void *ctx, char *reason, size_t size)
{
    const struct kgc_server_app *a = app_of(ctx);
    size_t waiting = 0;
    const char *first = NULL;
    for (size_t i = 0; i < a->metrics.n_informers; i++) {
        struct kgc_informer *inf = a->metrics.informers[i];
        if (!inf || kgc_informer_has_synced(inf))
            continue;
        if (!waiting++) {
            const struct kgc_api_kind_info *info = kgc_api_kind_info(kgc_informer_kind(inf));
            first = info ? info->plural : "?";
        }
    }
    if (waiting) {
        snprintf(reason, size, "%zu cache(s) not synced yet (%s first)", waiting, first);
        return false;
    }
    /* The hook for the config syncer: a leader is ready once Kong got a configuration. */
    if (a->config_pushed && is_leader(a) && !a->config_pushed(a->config_ctx)) {
        snprintf(reason, size, "no configuration pushed to Kong yet");
        return false;
    }
    return true;
}

static int app_metrics(void *ctx, char **out, size_t *len)
{
    const struct kgc_server_app *a = app_of(ctx);
    return kgc_metrics_collect(&a->metrics, 0, out, len);
}

static int app_cache(void *ctx, const char *kind, const char *namespace, const char *name,
                     bool pretty, char **out, size_t *len)
{
    const struct kgc_server_app *a = app_of(ctx);
    *out = NULL;
    *len = 0;
    struct kgc_cache *cache = a->metrics.cache;
    if (!cache)
        return KGC_ENOENT;
    if (name) {
        /* One object asked for: 404 when it is not cached, rather than an empty list. */
        int k = kgc_api_kind_from_name(kind);
        if (k < 0)
            return KGC_ENOENT;
        const struct kgc_api_obj *o = kgc_cache_get(cache, (enum kgc_api_kind)k, namespace, name);
        if (!o)
            return KGC_ENOENT;
        kgc_api_obj_unref(o);
    }
    struct kgc_err err = {0};
    return kgc_cache_dump(cache, kind, namespace, name, pretty, out, len, &err);
}

static const char *health_name(enum kgc_kong_health h)
{
    switch (h) {
    case KGC_KONG_HEALTH_READY:
        return "ready";
    case KGC_KONG_HEALTH_DOWN:
        return "down";
    case KGC_KONG_HEALTH_UNKNOWN:
        break;
    }
    return "unknown";
}

static json_object *prober_json(const struct kgc_kong_instance_state *st, uint64_t now_ns)
{
    json_object *p = json_object_new_object();
    if (!p)
        return NULL;
    json_object_object_add(p, "health", json_object_new_string(health_name(st->health)));
    json_object_object_add(p, "reachable", json_object_new_boolean(st->reachable));
    json_object_object_add(p, "configured", json_object_new_boolean(st->configured));
    json_object_object_add(p, "hash", json_object_new_string(st->hash));
    json_object_object_add(p, "version",
                           json_object_new_string(st->have_info ? st->info.version : ""));
    json_object_object_add(p, "node_id",
                           json_object_new_string(st->have_info ? st->info.node_id : ""));
    json_object_object_add(p, "last_ok_unix_ms",
                           json_object_new_int64((int64_t)st->last_ok_wall_ms));
    double since = now_ns > st->health_since_ns ? (double)(now_ns - st->health_since_ns) / 1e9 : 0;
    json_object_object_add(p, "health_for_seconds", json_object_new_double(since));
    json_object_object_add(p, "probes", json_object_new_int64((int64_t)st->probes));
    json_object_object_add(p, "failed_probes", json_object_new_int64((int64_t)st->failed_probes));
    json_object_object_add(p, "restarts", json_object_new_int64((int64_t)st->restarts));
    json_object_object_add(p, "last_error", json_object_new_string(st->last_error));
    return p;
}

/* Adds each prober's state to the matching instance of the listener cache dump (by URL), or as
 * a new instance with source "none" when the listener cache has never seen it. */
static int add_probers(json_object *root, struct kgc_kong *kong)
{
    json_object *inst = NULL;
    if (!json_object_object_get_ex(root, "instances", &inst) ||
        !json_object_is_type(inst, json_type_array)) {
        inst = json_object_new_array();
        if (!inst)
            return KGC_ENOMEM;
        json_object_object_add(root, "instances", inst);
    }
    if (!kong)
        return 0;
    struct kgc_kong_instance_state *st = NULL;
    size_t n = 0;
    if (kgc_kong_states(kong, &st, &n) != 0)
        return KGC_ENOMEM;
    uint64_t now = kgc_clock_now(NULL);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_object *match = NULL;
        size_t m = json_object_array_length(inst);
        for (size_t j = 0; j < m && !match; j++) {
            json_object *e = json_object_array_get_idx(inst, j);
            json_object *url = NULL;
            if (json_object_object_get_ex(e, "url", &url) &&
                strcmp(json_object_get_string(url), st[i].url) == 0)
                match = e;
        }
        json_object *p = prober_json(&st[i], now);
        if (!p) {
            rc = KGC_ENOMEM;
            break;
        }
        if (!match) {
            match = json_object_new_object();
            if (!match) {
                json_object_put(p);
                rc = KGC_ENOMEM;
                break;
            }
            json_object_object_add(match, "url", json_object_new_string(st[i].url));
            json_object_object_add(match, "source", json_object_new_string("none"));
            json_object_array_add(inst, match);
        }
        json_object_object_add(match, "prober", p);
    }
    kgc_kong_states_free(st, n);
    return rc;
}

static int app_listeners(void *ctx, bool pretty, char **out, size_t *len)
{
    const struct kgc_server_app *a = app_of(ctx);
    json_object *root = NULL;
    if (a->metrics.lc) {
        char *dump = kgc_listenercache_dump(a->metrics.lc);
        if (!dump)
            return KGC_ENOMEM;
        root = json_tokener_parse(dump);
        free(dump);
    } else {
        root = json_object_new_object();
        if (root)
            json_object_object_add(root, "view", NULL);
    }
    if (!root)
        return KGC_ENOMEM;
    int rc = add_probers(root, a->metrics.kong);
    if (rc != 0) {
        json_object_put(root);
        return rc;
    }
    return to_text(root, pretty, out, len);
}

/* Collects a queue's keys into three arrays while the queue's lock is held (kept short: one
 * small object per key, capped). */
struct key_lists {
    json_object *waiting, *in_progress, *delayed;
    size_t cap;
    size_t n_waiting, n_in_progress, n_delayed;
    bool truncated;
    bool oom;
};

static void add_key(json_object *arr, size_t *n, struct key_lists *kl, const char *key,
                    unsigned requeues)
{
    if (*n >= kl->cap) {
        kl->truncated = true;
        return;
    }
    json_object *e = json_object_new_object();
    if (!e) {
        kl->oom = true;
        return;
    }
    json_object_object_add(e, "key", json_object_new_string(key));
    json_object_object_add(e, "requeues", json_object_new_int64(requeues));
    json_object_array_add(arr, e);
    (*n)++;
}

static void collect_key(const char *key, unsigned state, unsigned requeues, void *ctx)
{
    struct key_lists *kl = ctx;
    if (kl->oom)
        return;
    if (state & KGC_WORKQUEUE_WAITING)
        add_key(kl->waiting, &kl->n_waiting, kl, key, requeues);
    if (state & KGC_WORKQUEUE_IN_PROGRESS)
        add_key(kl->in_progress, &kl->n_in_progress, kl, key, requeues);
    if (state & KGC_WORKQUEUE_DELAYED)
        add_key(kl->delayed, &kl->n_delayed, kl, key, requeues);
}

static json_object *queue_json(struct kgc_workqueue *q, size_t cap)
{
    struct kgc_workqueue_stats st;
    kgc_workqueue_stats(q, &st);
    struct key_lists kl = {json_object_new_array(), json_object_new_array(),
                           json_object_new_array(), cap};
    json_object *o = json_object_new_object();
    if (!o || !kl.waiting || !kl.in_progress || !kl.delayed)
        goto out_oom;
    kgc_workqueue_foreach(q, collect_key, &kl);
    if (kl.oom)
        goto out_oom;
    json_object_object_add(o, "name", json_object_new_string(kgc_workqueue_name(q)));
    json_object_object_add(o, "depth", json_object_new_int64((int64_t)st.depth));
    json_object_object_add(o, "delayed", json_object_new_int64((int64_t)st.delayed));
    json_object_object_add(o, "in_progress", json_object_new_int64((int64_t)st.in_progress));
    json_object_object_add(o, "adds_total", json_object_new_int64((int64_t)st.adds_total));
    json_object_object_add(o, "retries_total", json_object_new_int64((int64_t)st.retries_total));
    json_object_object_add(o, "longest_running_seconds",
                           json_object_new_double(st.longest_running_seconds));
    json_object_object_add(o, "shutting_down",
                           json_object_new_boolean(kgc_workqueue_shutting_down(q)));
    json_object *keys = json_object_new_object();
    if (!keys)
        goto out_oom;
    json_object_object_add(keys, "waiting", kl.waiting);
    json_object_object_add(keys, "in_progress", kl.in_progress);
    json_object_object_add(keys, "delayed", kl.delayed);
    json_object_object_add(o, "keys", keys);
    json_object_object_add(o, "keys_truncated", json_object_new_boolean(kl.truncated));
    return o;
out_oom:
    json_object_put(kl.waiting);
    json_object_put(kl.in_progress);
    json_object_put(kl.delayed);
    json_object_put(o);
    return NULL;
}

static int app_queues(void *ctx, bool pretty, char **out, size_t *len)
{
    const struct kgc_server_app *a = app_of(ctx);
    size_t cap = a->max_queue_keys ? a->max_queue_keys : DEFAULT_MAX_QUEUE_KEYS;
    json_object *root = json_object_new_object();
    json_object *arr = json_object_new_array();
    if (!root || !arr) {
        json_object_put(root);
        json_object_put(arr);
        return KGC_ENOMEM;
    }
    json_object_object_add(root, "queues", arr);
    for (int c = 0; a->metrics.reconciler && c < KGC_RECONCILE_CONTROLLER_COUNT; c++) {
        struct kgc_workqueue *q =
            kgc_reconcile_queue(a->metrics.reconciler, (enum kgc_reconcile_controller)c);
        if (!q)
            continue;
        json_object *qj = queue_json(q, cap);
        if (!qj) {
            json_object_put(root);
            return KGC_ENOMEM;
        }
        json_object_array_add(arr, qj);
    }
    return to_text(root, pretty, out, len);
}

static int app_config(void *ctx, bool pretty, char **out, size_t *len)
{
    const struct kgc_server_app *a = app_of(ctx);
    return a->config_dump(a->config_ctx, pretty, out, len);
}

void kgc_server_app_provider(const struct kgc_server_app *app, struct kgc_server_provider *out)
{
    memset(out, 0, sizeof(*out));
    out->ctx = (void *)app;
    out->ready = app_ready;
    out->metrics = app_metrics;
    out->cache = app_cache;
    out->listeners = app_listeners;
    out->queues = app_queues;
    out->config = app->config_dump ? app_config : NULL;
}

/* kgc's metric families: a snapshot of the modules' counters, rendered in a fixed order. */
#include "kgc/metrics.h"

#include <stdlib.h>
#include <string.h>

/* The syncer's counters as the push families show them. */
static void push_stats(struct kgc_sync *s, struct kgc_metrics_push_stats *out)
{
    struct kgc_sync_stats st;
    kgc_sync_stats(s, &st);
    memset(out, 0, sizeof(*out));
    for (int i = 0; i <= KGC_KONG_PUSH_OTHER && i < KGC_METRICS_PUSH_RESULTS - 1; i++)
        out->by_result[i] = st.pushes[i];
    out->by_result[KGC_METRICS_PUSH_RESULTS - 1] = st.push_errors;
    out->route_kong_limitations = st.route_kong_limitations;
    out->duration.count = st.push_count;
    out->duration.sum_seconds = (double)st.push_duration_ns_sum / 1e9;
    out->duration_bucketed = false;
    out->bounds = kgc_sync_push_bounds();
    out->n_bounds = KGC_SYNC_PUSH_BUCKETS;
    for (size_t i = 0; i < KGC_SYNC_PUSH_BUCKETS && i < KGC_METRICS_MAX_BUCKETS; i++)
        out->counts[i] = st.push_duration_buckets[i];
    for (size_t i = 0; i < KGC_SYNC_PUSH_BUCKETS && i < KGC_METRICS_MAX_BUCKETS; i++)
        out->change_counts[i] = st.change_to_push_buckets[i];
    out->change_count = st.change_to_push_count;
    out->change_sum_seconds = (double)st.change_to_push_ns_sum / 1e9;
}

int kgc_metrics_snapshot_take(const struct kgc_metrics_sources *src,
                              struct kgc_metrics_snapshot *out)
{
    memset(out, 0, sizeof(*out));
    out->version = src->version;
    out->leader = src->is_leader ? src->is_leader(src->is_leader_ctx) : true;

    if (src->reconciler) {
        for (int c = 0; c < KGC_RECONCILE_CONTROLLER_COUNT; c++) {
            struct kgc_metrics_controller *mc = &out->controllers[out->n_controllers];
            struct kgc_workqueue *q =
                kgc_reconcile_queue(src->reconciler, (enum kgc_reconcile_controller)c);
            if (!q)
                continue;
            mc->name = kgc_workqueue_name(q);
            kgc_workqueue_stats(q, &mc->queue);
            kgc_reconcile_stats(src->reconciler, (enum kgc_reconcile_controller)c, &mc->reconcile);
            out->n_controllers++;
        }
    }

    for (size_t i = 0; i < src->n_informers && out->n_informers < KGC_API_KIND_COUNT; i++) {
        struct kgc_informer *inf = src->informers[i];
        if (!inf)
            continue;
        struct kgc_metrics_informer *mi = &out->informers[out->n_informers++];
        enum kgc_api_kind kind = kgc_informer_kind(inf);
        const struct kgc_api_kind_info *info = kgc_api_kind_info(kind);
        mi->kind = info ? info->plural : "unknown";
        kgc_informer_stats(inf, &mi->stats);
        if (src->cache && info) {
            mi->objects = kgc_cache_count(src->cache, kind);
            mi->bytes = kgc_cache_bytes(src->cache, kind);
        }
    }

    if (src->kong) {
        struct kgc_kong_instance_state *st = NULL;
        size_t n = 0;
        if (kgc_kong_states(src->kong, &st, &n) != 0)
            return KGC_ENOMEM;
        if (n) {
            out->kong = calloc(n, sizeof(*out->kong));
            if (!out->kong) {
                kgc_kong_states_free(st, n);
                return KGC_ENOMEM;
            }
        }
        for (size_t i = 0; i < n; i++) {
            struct kgc_metrics_kong *mk = &out->kong[i];
            memcpy(mk->url, st[i].url, sizeof(mk->url));
            mk->up = st[i].reachable;
            mk->ready = st[i].health == KGC_KONG_HEALTH_READY;
            mk->configured = st[i].configured;
            mk->probes = st[i].probes;
            mk->failed_probes = st[i].failed_probes;
            mk->restarts = st[i].restarts;
        }
        out->n_kong = n;
        out->have_kong = true;
        kgc_kong_states_free(st, n);
    }

    if (src->lc) {
        struct kgc_listenercache_view v;
        kgc_listenercache_view(src->lc, &v);
        out->have_view = true;
        out->view_source = v.source;
        out->view_age_seconds = (double)v.age_ms / 1e3;
        out->view_live_instances = v.n_live;
        kgc_listenercache_view_release(&v);
    }

    if (src->client) {
        out->have_k8s = true;
        kgc_k8s_client_stats(src->client, &out->k8s);
    }

    if (src->sync) {
        push_stats(src->sync, &out->pushes);
        out->have_pushes = true;
    }
    if (src->invalid_backend_requests)
        out->have_invalid_backend =
            src->invalid_backend_requests(src->invalid_backend_ctx, &out->invalid_backend_requests);
    return 0;
}

void kgc_metrics_snapshot_release(struct kgc_metrics_snapshot *s)
{
    free(s->kong);
    memset(s, 0, sizeof(*s));
}

/* --- rendering -------------------------------------------------------------------------------- */

#define COUNTER   KGC_METRICS_COUNTER
#define GAUGE     KGC_METRICS_GAUGE
#define HISTOGRAM KGC_METRICS_HISTOGRAM

/* One sample with a single label. */
static void one(struct kgc_metrics_writer *w, const char *label, const char *value, double v)
{
    struct kgc_metrics_label l = {label, value};
    kgc_metrics_sample(w, &l, 1, v);
}

static void wq_histogram(struct kgc_metrics_writer *w, const struct kgc_metrics_label *l, size_t n,
                         const struct kgc_workqueue_histogram *h)
{
    kgc_metrics_histogram(w, l, n, kgc_metrics_workqueue_bounds(), h->buckets,
                          KGC_WORKQUEUE_BUCKETS, h->count, h->sum_seconds);
}

/* A per-controller family read at a field offset of the queue or reconcile stats. */
enum field_src { FROM_QUEUE_SIZE, FROM_QUEUE_U64, FROM_QUEUE_DBL, FROM_RECONCILE_U64 };

static double field(const struct kgc_metrics_controller *c, enum field_src src, size_t off)
{
    const char *base =
        src == FROM_RECONCILE_U64 ? (const char *)&c->reconcile : (const char *)&c->queue;
    switch (src) {
    case FROM_QUEUE_SIZE:
        return (double)*(const size_t *)(const void *)(base + off);
    case FROM_QUEUE_DBL:
        return *(const double *)(const void *)(base + off);
    case FROM_QUEUE_U64:
    case FROM_RECONCILE_U64:
        return (double)*(const uint64_t *)(const void *)(base + off);
    }
    return 0;
}

static void per_controller(struct kgc_metrics_writer *w, const struct kgc_metrics_snapshot *s,
                           const char *name, enum kgc_metrics_type type, const char *help,
                           const char *label, enum field_src src, size_t off)
{
    kgc_metrics_family(w, name, type, help);
    for (size_t i = 0; i < s->n_controllers; i++)
        one(w, label, s->controllers[i].name, field(&s->controllers[i], src, off));
}

static void render_queues(const struct kgc_metrics_snapshot *s, struct kgc_metrics_writer *w)
{
#define QOFF(f) offsetof(struct kgc_workqueue_stats, f)
    per_controller(w, s, "kgc_workqueue_depth", GAUGE,
                   "Keys waiting in the work queue to be handed to a worker.", "name",
                   FROM_QUEUE_SIZE, QOFF(depth));
    per_controller(w, s, "kgc_workqueue_delayed", GAUGE,
                   "Keys waiting in the work queue's delay heap (backoff or add_after).", "name",
                   FROM_QUEUE_SIZE, QOFF(delayed));
    per_controller(w, s, "kgc_workqueue_in_progress", GAUGE,
                   "Keys handed to a worker and not yet done.", "name", FROM_QUEUE_SIZE,
                   QOFF(in_progress));
    per_controller(w, s, "kgc_workqueue_adds_total", COUNTER,
                   "Adds that queued a key (deduplicated adds are not counted).", "name",
                   FROM_QUEUE_U64, QOFF(adds_total));
    per_controller(w, s, "kgc_workqueue_retries_total", COUNTER,
                   "Rate-limited re-adds of a failed key.", "name", FROM_QUEUE_U64,
                   QOFF(retries_total));
    kgc_metrics_family(w, "kgc_workqueue_queue_duration_seconds", HISTOGRAM,
                       "Seconds a key waited in the queue before a worker took it.");
    for (size_t i = 0; i < s->n_controllers; i++) {
        struct kgc_metrics_label l = {"name", s->controllers[i].name};
        wq_histogram(w, &l, 1, &s->controllers[i].queue.queue_latency);
    }
    kgc_metrics_family(w, "kgc_workqueue_work_duration_seconds", HISTOGRAM,
                       "Seconds a worker spent on a key (one reconcile, status write included).");
    for (size_t i = 0; i < s->n_controllers; i++) {
        struct kgc_metrics_label l = {"name", s->controllers[i].name};
        wq_histogram(w, &l, 1, &s->controllers[i].queue.work_duration);
    }
    per_controller(w, s, "kgc_workqueue_longest_running_processor_seconds", GAUGE,
                   "Seconds the longest-running key in progress has been processed.", "name",
                   FROM_QUEUE_DBL, QOFF(longest_running_seconds));
    per_controller(w, s, "kgc_workqueue_unfinished_work_seconds", GAUGE,
                   "Sum over the keys in progress of the seconds each has been processed.", "name",
                   FROM_QUEUE_DBL, QOFF(unfinished_work_seconds));
#undef QOFF
}

static void render_reconcile(const struct kgc_metrics_snapshot *s, struct kgc_metrics_writer *w)
{
#define ROFF(f) offsetof(struct kgc_reconcile_stats, f)
    kgc_metrics_family(w, "kgc_reconcile_total", COUNTER,
                       "Keys reconciled, by result: success, or error (re-queued with backoff, "
                       "Kong pending included).");
    for (size_t i = 0; i < s->n_controllers; i++) {
        const struct kgc_reconcile_stats *r = &s->controllers[i].reconcile;
        uint64_t errors = r->errors < r->reconciles ? r->errors : r->reconciles;
        struct kgc_metrics_label l[2] = {{"controller", s->controllers[i].name},
                                         {"result", "success"}};
        kgc_metrics_sample(w, l, 2, (double)(r->reconciles - errors));
        l[1].value = "error";
        kgc_metrics_sample(w, l, 2, (double)r->errors);
    }
    /* A reconcile is exactly one work-queue key from get to done: the same measurement under
     * the name operators look for. */
    kgc_metrics_family(
        w, "kgc_reconcile_duration_seconds", HISTOGRAM,
        "Seconds one reconcile took (status computation and write), per controller.");
    for (size_t i = 0; i < s->n_controllers; i++) {
        struct kgc_metrics_label l = {"controller", s->controllers[i].name};
        wq_histogram(w, &l, 1, &s->controllers[i].queue.work_duration);
    }
    per_controller(w, s, "kgc_reconcile_status_writes_total", COUNTER,
                   "Status merge patches sent to the Kubernetes API.", "controller",
                   FROM_RECONCILE_U64, ROFF(writes));
    per_controller(w, s, "kgc_reconcile_status_conflicts_total", COUNTER,
                   "Status patches refused with 409 Conflict.", "controller", FROM_RECONCILE_U64,
                   ROFF(write_conflicts));
    per_controller(w, s, "kgc_reconcile_unchanged_total", COUNTER,
                   "Reconciles that found the status already right (nothing written).",
                   "controller", FROM_RECONCILE_U64, ROFF(unchanged));
    per_controller(w, s, "kgc_reconcile_kong_pending_total", COUNTER,
                   "Gateway reconciles that found no live and no cached Kong listeners.",
                   "controller", FROM_RECONCILE_U64, ROFF(pending_kong));
#undef ROFF
}

static void informer_counter(struct kgc_metrics_writer *w, const struct kgc_metrics_snapshot *s,
                             const char *name, const char *help, size_t off)
{
    kgc_metrics_family(w, name, COUNTER, help);
    for (size_t i = 0; i < s->n_informers; i++) {
        const char *base = (const char *)&s->informers[i].stats;
        one(w, "kind", s->informers[i].kind, (double)*(const uint64_t *)(const void *)(base + off));
    }
}

static void render_informers(const struct kgc_metrics_snapshot *s, struct kgc_metrics_writer *w)
{
#define IOFF(f) offsetof(struct kgc_informer_stats, f)
    kgc_metrics_family(w, "kgc_informer_synced", GAUGE,
                       "1 once the informer's first list is in the cache.");
    for (size_t i = 0; i < s->n_informers; i++)
        one(w, "kind", s->informers[i].kind, s->informers[i].stats.synced ? 1 : 0);

    static const struct {
        const char *type;
        size_t off;
    } events[] = {{"added", IOFF(added)},
                  {"modified", IOFF(modified)},
                  {"deleted", IOFF(deleted)},
                  {"bookmark", IOFF(bookmarks)},
                  {"error", IOFF(error_events)}};
    kgc_metrics_family(w, "kgc_informer_events_total", COUNTER,
                       "Watch events received, by kind and event type.");
    for (size_t i = 0; i < s->n_informers; i++) {
        const char *base = (const char *)&s->informers[i].stats;
        for (size_t e = 0; e < sizeof(events) / sizeof(events[0]); e++) {
            struct kgc_metrics_label l[2] = {{"kind", s->informers[i].kind},
                                             {"type", events[e].type}};
            kgc_metrics_sample(w, l, 2,
                               (double)*(const uint64_t *)(const void *)(base + events[e].off));
        }
    }
    informer_counter(w, s, "kgc_informer_lists_total", "Full lists completed and stored.",
                     IOFF(lists));
    informer_counter(w, s, "kgc_informer_relists_total",
                     "Lists after the first (expired resourceVersion, 410 Gone, a bad event).",
                     IOFF(relists));
    informer_counter(w, s, "kgc_informer_list_errors_total", "Lists that failed.",
                     IOFF(list_errors));
    kgc_metrics_family(w, "kgc_informer_watch_restarts_total", COUNTER,
                       "Watch requests after the first one (resumed, re-listed or retried).");
    for (size_t i = 0; i < s->n_informers; i++) {
        uint64_t watches = s->informers[i].stats.watches;
        one(w, "kind", s->informers[i].kind, watches ? (double)(watches - 1) : 0);
    }
    informer_counter(w, s, "kgc_informer_watch_errors_total", "Watches refused or broken.",
                     IOFF(watch_errors));
    informer_counter(w, s, "kgc_informer_synthetic_deletes_total",
                     "Objects found gone at a relist (deletes the watch missed).",
                     IOFF(synthetic_deletes));
    informer_counter(w, s, "kgc_informer_parse_errors_total",
                     "Objects that could not be parsed and were skipped.", IOFF(parse_errors));
    kgc_metrics_family(w, "kgc_cache_objects", GAUGE, "Objects of the kind in the shared cache.");
    for (size_t i = 0; i < s->n_informers; i++)
        one(w, "kind", s->informers[i].kind, (double)s->informers[i].objects);
    kgc_metrics_family(w, "kgc_cache_bytes", GAUGE,
                       "Bytes the kind's objects take in the shared cache.");
    for (size_t i = 0; i < s->n_informers; i++)
        one(w, "kind", s->informers[i].kind, (double)s->informers[i].bytes);
#undef IOFF
}

static void render_kong(const struct kgc_metrics_snapshot *s, struct kgc_metrics_writer *w)
{
    kgc_metrics_family(w, "kgc_kong_instance_up", GAUGE,
                       "1 when the last probe of the Kong Admin API got an HTTP answer.");
    for (size_t i = 0; i < s->n_kong; i++)
        one(w, "url", s->kong[i].url, s->kong[i].up ? 1 : 0);
    kgc_metrics_family(w, "kgc_kong_instance_ready", GAUGE,
                       "1 when the last probe found the Kong instance ready (GET / and /status).");
    for (size_t i = 0; i < s->n_kong; i++)
        one(w, "url", s->kong[i].url, s->kong[i].ready ? 1 : 0);
    kgc_metrics_family(w, "kgc_kong_instance_configured", GAUGE,
                       "1 when the Kong instance is ready and holds a configuration.");
    for (size_t i = 0; i < s->n_kong; i++)
        one(w, "url", s->kong[i].url, s->kong[i].configured ? 1 : 0);
    kgc_metrics_family(w, "kgc_kong_probes_total", COUNTER, "Probes of the Kong instance.");
    for (size_t i = 0; i < s->n_kong; i++)
        one(w, "url", s->kong[i].url, (double)s->kong[i].probes);
    kgc_metrics_family(w, "kgc_kong_probe_failures_total", COUNTER,
                       "Probes that did not find the Kong instance ready.");
    for (size_t i = 0; i < s->n_kong; i++)
        one(w, "url", s->kong[i].url, (double)s->kong[i].failed_probes);
    kgc_metrics_family(w, "kgc_kong_restarts_total", COUNTER,
                       "Restarts of the Kong instance seen (empty hash or new node id).");
    for (size_t i = 0; i < s->n_kong; i++)
        one(w, "url", s->kong[i].url, (double)s->kong[i].restarts);
}

static void render_view(const struct kgc_metrics_snapshot *s, struct kgc_metrics_writer *w)
{
    static const enum kgc_listenercache_source sources[] = {
        KGC_LISTENERCACHE_LIVE, KGC_LISTENERCACHE_CACHED, KGC_LISTENERCACHE_NONE};
    kgc_metrics_family(w, "kgc_listener_view_source", GAUGE,
                       "1 for where the listeners the reconcilers use come from now: live (a "
                       "ready Kong), cached (last-known, stale) or none.");
    for (size_t i = 0; i < 3; i++)
        one(w, "source", kgc_listenercache_source_name(sources[i]),
            s->view_source == sources[i] ? 1 : 0);
    kgc_metrics_family(w, "kgc_listener_view_age_seconds", GAUGE,
                       "Age of cached listeners (seconds since last seen live); 0 when live.");
    kgc_metrics_sample(w, NULL, 0, s->view_age_seconds);
    kgc_metrics_family(w, "kgc_listener_view_live_instances", GAUGE,
                       "Ready Kong instances whose listeners make up the live view.");
    kgc_metrics_sample(w, NULL, 0, (double)s->view_live_instances);
}

static void render_k8s(const struct kgc_metrics_snapshot *s, struct kgc_metrics_writer *w)
{
    kgc_metrics_family(w, "kgc_k8s_requests_total", COUNTER,
                       "Kubernetes API calls started (watches included).");
    kgc_metrics_sample(w, NULL, 0, (double)s->k8s.requests);
    kgc_metrics_family(w, "kgc_k8s_request_errors_total", COUNTER,
                       "Kubernetes API calls that failed (transport or HTTP error).");
    kgc_metrics_sample(w, NULL, 0, (double)s->k8s.errors);
    kgc_metrics_family(w, "kgc_k8s_throttled_total", COUNTER,
                       "Kubernetes API calls that waited for the client-side rate limiter.");
    kgc_metrics_sample(w, NULL, 0, (double)s->k8s.throttled);
    kgc_metrics_family(w, "kgc_k8s_throttle_wait_seconds_total", COUNTER,
                       "Seconds spent waiting for the client-side rate limiter.");
    kgc_metrics_sample(w, NULL, 0, (double)s->k8s.throttle_wait_ns / 1e9);
}

static void render_pushes(const struct kgc_metrics_snapshot *s, struct kgc_metrics_writer *w)
{
    kgc_metrics_family(w, "kgc_route_kong_limitations", GAUGE,
                       "HTTPRoutes Kong cannot serve exactly as the Gateway API asks (their "
                       "konghq.com/KongLimitation condition says which rules), by reason.");
    one(w, "reason", "KongLimitation", (double)s->pushes.route_kong_limitations);
    kgc_metrics_family(w, "kgc_config_push_total", COUNTER,
                       "Configuration pushes to Kong (POST /config), by result.");
    for (int r = 0; r < KGC_METRICS_PUSH_RESULTS; r++) {
        const char *name = r < KGC_METRICS_PUSH_RESULTS - 1
                               ? kgc_kong_push_kind_name((enum kgc_kong_push_kind)r)
                               : "error";
        one(w, "result", name, (double)s->pushes.by_result[r]);
    }
    kgc_metrics_family(w, "kgc_config_push_duration_seconds", HISTOGRAM,
                       "Seconds a configuration push to Kong took.");
    const struct kgc_workqueue_histogram *h = &s->pushes.duration;
    if (s->pushes.n_bounds && s->pushes.bounds && s->pushes.n_bounds <= KGC_METRICS_MAX_BUCKETS)
        kgc_metrics_histogram(w, NULL, 0, s->pushes.bounds, s->pushes.counts, s->pushes.n_bounds,
                              h->count, h->sum_seconds);
    else if (s->pushes.duration_bucketed)
        wq_histogram(w, NULL, 0, h);
    else
        kgc_metrics_histogram(w, NULL, 0, NULL, NULL, 0, h->count, h->sum_seconds);
    kgc_metrics_family(w, "kgc_change_to_push_seconds", HISTOGRAM,
                       "Seconds from the watch event of a change to the last byte of its push to "
                       "the last ready Kong instance (Kong's load time not included).");
    if (s->pushes.n_bounds && s->pushes.bounds && s->pushes.n_bounds <= KGC_METRICS_MAX_BUCKETS)
        kgc_metrics_histogram(w, NULL, 0, s->pushes.bounds, s->pushes.change_counts,
                              s->pushes.n_bounds, s->pushes.change_count,
                              s->pushes.change_sum_seconds);
    else
        kgc_metrics_histogram(w, NULL, 0, NULL, NULL, 0, s->pushes.change_count,
                              s->pushes.change_sum_seconds);
}

void kgc_metrics_render(const struct kgc_metrics_snapshot *s, struct kgc_metrics_writer *w)
{
    if (s->version) {
        kgc_metrics_family(w, "kgc_build_info", GAUGE, "Always 1; the version is a label.");
        one(w, "version", s->version, 1);
    }
    kgc_metrics_family(w, "kgc_leader", GAUGE,
                       "1 when this process is the leader (writes status and pushes config).");
    kgc_metrics_sample(w, NULL, 0, s->leader ? 1 : 0);
    if (s->n_controllers) {
        render_queues(s, w);
        render_reconcile(s, w);
    }
    if (s->n_informers)
        render_informers(s, w);
    if (s->have_kong)
        render_kong(s, w);
    if (s->have_view)
        render_view(s, w);
    if (s->have_k8s)
        render_k8s(s, w);
    if (s->have_pushes)
        render_pushes(s, w);
    if (s->have_invalid_backend) {
        kgc_metrics_family(w, "kgc_invalid_backend_requests_total", COUNTER,
                           "Requests the invalid-backend endpoint answered with 500 (the share "
                           "of routes' traffic that belongs to invalid backendRefs).");
        kgc_metrics_sample(w, NULL, 0, (double)s->invalid_backend_requests);
    }
}

int kgc_metrics_collect(const struct kgc_metrics_sources *src, size_t max_bytes, char **out,
                        size_t *len)
{
    *out = NULL;
    if (len)
        *len = 0;
    struct kgc_metrics_snapshot s;
    int rc = kgc_metrics_snapshot_take(src, &s);
    if (rc != 0)
        return rc;
    struct kgc_metrics_writer w;
    kgc_metrics_writer_init(&w, max_bytes);
    kgc_metrics_render(&s, &w);
    kgc_metrics_snapshot_release(&s);
    return kgc_metrics_writer_finish(&w, out, len);
}

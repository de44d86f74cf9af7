/* sync — the syncer's thread and public API (see include/kgc/sync.h and pkg/sync/README.md).
 *
 * Thin on purpose: the decisions are the state machine's (machine.c). The thread asks it what
 * to do with `now` from the injected clock, does that with the lock released (build.c
 * translates, push_one pushes), and feeds the result back. Kong events, marks and leadership go
 * straight into the machine under the lock. */
#include "sync_internal.h"

#include "kgc/base.h"
#include "kgc/listenercache.h"
#include "kgc/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- announcements ----------------------------------------------------------------------------
 */

static void announce(struct kgc_sync *s, const struct kgc_sync_change *ch)
{
    for (size_t k = 0; k < s->n_subs; k++)
        s->subs[k].fn(s->subs[k].ctx, ch);
}

void kgc_sync_announce_object(struct kgc_sync *s, enum kgc_sync_change_what what,
                              enum kgc_api_kind kind, const char *ns, const char *name,
                              const char *message)
{
    struct kgc_sync_change ch = {
        .what = what, .kind = kind, .ns = ns, .name = name, .message = message};
    announce(s, &ch);
}

void kgc_sync_announce_programmed(struct kgc_sync *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t fp = kgc_sync_machine_programmed_fp(&s->m);
    bool same = s->announced_fp_set && s->announced_fp == fp;
    s->announced_fp = fp;
    s->announced_fp_set = true;
    if (same)
        s->stats.programmed_unchanged++;
    else
        s->stats.programmed_announced++;
    pthread_mutex_unlock(&s->mu);
    if (same)
        return;
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
    o->push_concurrency = KGC_SYNC_PUSH_CONCURRENCY;
    o->incremental = true;
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

/* ---- pushes (syncer thread) -------------------------------------------------------------------
 */

/* The /debug fields of i after a push (mu held). */
static void note_result(struct kgc_sync *s, struct kgc_sync_inst *i, int rc,
                        const struct kgc_kong_push_result *r, const struct kgc_err *err,
                        uint64_t took)
{
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
    if (rc != 0) {
        s->stats.push_errors++;
        i->last_result = "error";
        i->last_status = 0;
        snprintf(i->last_error, sizeof(i->last_error), "%s", err->msg);
        return;
    }
    s->stats.pushes[r->kind]++;
    i->last_result = kgc_kong_push_kind_name(r->kind);
    i->last_status = r->http_status;
    i->last_error[0] = '\0';
    if (r->kind == KGC_KONG_PUSH_REJECTED) {
        snprintf(i->last_error, sizeof(i->last_error), "%s", r->message ? r->message : "rejected");
        snprintf(s->last_rejection, sizeof(s->last_rejection), "%s: %s", i->url,
                 r->message ? r->message : "rejected");
    } else if (r->kind == KGC_KONG_PUSH_BUSY || r->kind == KGC_KONG_PUSH_OTHER) {
        snprintf(i->last_error, sizeof(i->last_error), "%s",
                 r->message ? r->message : "no message");
    }
}

/* Counts one change-to-push latency in the histogram (mu held). */
static void note_change_latency(struct kgc_sync *s, uint64_t ns)
{
    s->stats.change_to_push_count++;
    s->stats.change_to_push_ns_sum += ns;
    const double *bounds = kgc_sync_push_bounds();
    for (size_t k = 0; k < KGC_SYNC_PUSH_BUCKETS; k++) {
        if ((double)ns <= bounds[k] * 1e9) {
            s->stats.change_to_push_buckets[k]++;
            break;
        }
    }
}

/* A push worker's half of a PUSH decision (mu not held): the network call alone. The client is
 * the instance's; the machine hands out one PUSH per instance at a time, so one worker uses it. */
static void push_run(struct kgc_sync *s, struct kgc_sync_job *j)
{
    struct kgc_sync_inst *i = j->inst;
    j->rc = 0;
    if (!i->client) {
        j->rc = kgc_kong_client_new(i->url, s->client_opts, &i->client, &j->err);
        if (j->rc == 0)
            kgc_kong_client_set_abort_flag(i->client, &s->abort_flag);
    }
    uint64_t t0 = kgc_clock_now(s->clock);
    if (j->rc == 0)
        j->rc = kgc_kong_push_config_hashed(i->client, j->blob->text, j->blob->len, j->blob->hash,
                                            &j->r, &j->err);
    j->done_ns = kgc_clock_now(s->clock);
    j->took = j->done_ns - t0;
    /* the client's time is the real monotonic clock: usable unless the syncer's is fake */
    j->sent_ns = j->rc == 0 && j->r.sent_ns && !s->clock->is_fake ? j->r.sent_ns : j->done_ns;
}

/* The syncer thread's half (mu not held): feeds the answer of job j to the machine, logs, and
 * announces. Runs on the syncer thread so the broken list and the record stay its own. */
static void push_finish(struct kgc_sync *s, struct kgc_sync_job *j)
{
    struct kgc_sync_inst *i = j->inst;
    struct kgc_sync_blob *b = j->blob;
    struct kgc_kong_push_result *r = &j->r;
    int rc = j->rc;
    if (rc == KGC_ESHUTDOWN) {
        pthread_mutex_lock(&s->mu);
        kgc_sync_machine_push_aborted(&s->m, i);
        pthread_mutex_unlock(&s->mu);
        return;
    }

    size_t n_new = 0, first_new = 0;
    struct kgc_sync_broken *fresh = NULL;
    /* cur only changes on this thread: comparing unlocked is safe */
    if (rc == 0 && r->kind == KGC_KONG_PUSH_REJECTED && b == s->m.cur)
        n_new = kgc_sync_exclude_collect(s, r, &fresh);
    pthread_mutex_lock(&s->mu);
    note_result(s, i, rc, r, &j->err, j->took);
    if (rc == 0 && r->kind == KGC_KONG_PUSH_REJECTED)
        n_new = kgc_sync_exclude_add(s, fresh, n_new, &first_new);
    else
        free(fresh);
    struct kgc_sync_push_outcome o = {.failed = rc != 0,
                                      .kind = r->kind,
                                      .retry_after_s = r->retry_after_s,
                                      .n_new_broken = n_new,
                                      .sent_ns = j->sent_ns};
    /* the time the answer came, not the time this thread got to it */
    bool changed = kgc_sync_machine_push_done(&s->m, i, b, &o, j->done_ns);
    uint64_t latency = 0;
    bool measured = kgc_sync_machine_take_latency(&s->m, &latency);
    if (measured)
        note_change_latency(s, latency);
    unsigned attempts = i->attempts;
    pthread_mutex_unlock(&s->mu);
    if (measured)
        kgc_info(KGC_SYNC_COMPONENT, "every ready instance holds the change",
                 KGC_F_STR("hash", b->hash), KGC_F_INT("change_to_push_us", latency / 1000));

    if (rc != 0) {
        kgc_warn(KGC_SYNC_COMPONENT, "push failed", KGC_F_STR("url", i->url),
                 KGC_F_STR("error", j->err.msg), KGC_F_INT("attempts", attempts));
    } else if (r->kind == KGC_KONG_PUSH_REJECTED) {
        kgc_error(KGC_SYNC_COMPONENT, "Kong rejected the configuration", KGC_F_STR("url", i->url),
                  KGC_F_STR("hash", b->hash), KGC_F_STR("message", r->message),
                  KGC_F_INT("flattened_errors", r->n_entity_errors),
                  KGC_F_INT("new_broken_objects", n_new),
                  KGC_F_STR("next", n_new ? "translating without them"
                                          : "keeping the last accepted configuration"));
        kgc_sync_exclude_announce(s, first_new, n_new);
    } else if (r->kind == KGC_KONG_PUSH_BUSY || r->kind == KGC_KONG_PUSH_OTHER) {
        kgc_warn(KGC_SYNC_COMPONENT, "push not taken, retrying", KGC_F_STR("url", i->url),
                 KGC_F_STR("result", kgc_kong_push_kind_name(r->kind)),
                 KGC_F_INT("status", r->http_status), KGC_F_INT("retry_after_s", r->retry_after_s));
    } else {
        kgc_info(KGC_SYNC_COMPONENT, "configuration pushed", KGC_F_STR("url", i->url),
                 KGC_F_STR("result", kgc_kong_push_kind_name(r->kind)), KGC_F_STR("hash", b->hash),
                 KGC_F_INT("bytes", b->len), KGC_F_INT("ms", j->took / KGC_NS_PER_MS));
    }
    /* only a configuration a Kong took is the accepted set that survives a kgc restart; a
     * failure that ends a restarted instance's carried set changes Programmed, not the record
     * (the result itself is freed with the job). Whether or not the answer changed anything: a
     * probe may have found Kong holding this text first (on_kong_event), and the record is
     * written once per text */
    if (rc == 0 && (r->kind == KGC_KONG_PUSH_APPLIED || r->kind == KGC_KONG_PUSH_UNCHANGED))
        kgc_sync_record_persist(s, b);
    if (changed)
        kgc_sync_announce_programmed(s);
}

static void job_free(struct kgc_sync_job *j)
{
    kgc_kong_push_result_free(&j->r);
    kgc_sync_blob_unref(j->blob);
    free(j);
}

/* Appends j to the list (head, tail) (mu held). */
static void job_append(struct kgc_sync_job **head, struct kgc_sync_job **tail,
                       struct kgc_sync_job *j)
{
    j->next = NULL;
    if (*tail)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
}

static struct kgc_sync_job *job_pop(struct kgc_sync_job **head, struct kgc_sync_job **tail)
{
    struct kgc_sync_job *j = *head;
    if (j) {
        *head = j->next;
        if (!*head)
            *tail = NULL;
    }
    return j;
}

/* A push worker ("kgc-push"): takes queued pushes, runs them, hands the answers back to the
 * syncer thread. After stop, a queued push is answered as aborted without running. */
static void *push_worker_main(void *arg)
{
    struct kgc_sync *s = arg;
    pthread_setname_np(pthread_self(), "kgc-push");
    pthread_mutex_lock(&s->mu);
    for (;;) {
        struct kgc_sync_job *j = job_pop(&s->todo_head, &s->todo_tail);
        if (!j) {
            if (s->stop)
                break;
            kgc_base_cond_wait_once(&s->work_cond, &s->mu, UINT64_MAX);
            continue;
        }
        if (s->stop) {
            j->rc = KGC_ESHUTDOWN;
        } else {
            pthread_mutex_unlock(&s->mu);
            push_run(s, j);
            pthread_mutex_lock(&s->mu);
        }
        job_append(&s->done_head, &s->done_tail, j);
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Hands a PUSH decision to the workers (mu held). Out of memory: the push is aborted (the
 * machine asks again at the next input). */
static void push_dispatch(struct kgc_sync *s, const struct kgc_sync_decision *d)
{
    struct kgc_sync_job *j = calloc(1, sizeof(*j));
    if (!j) {
        kgc_sync_machine_push_aborted(&s->m, d->inst);
        kgc_sync_blob_unref(d->blob);
        return;
    }
    j->inst = d->inst;
    j->blob = d->blob;
    /* before the push: once Kong loads an empty configuration its hash is zeros, which the
     * prober must not take for a restart */
    if (s->kong)
        kgc_kong_expect_empty(s->kong, d->inst->url, d->blob->empty);
    job_append(&s->todo_head, &s->todo_tail, j);
    pthread_cond_signal(&s->work_cond);
}

/* Feeds every answered push back (mu held on entry and exit; released around each). */
static void push_drain(struct kgc_sync *s)
{
    struct kgc_sync_job *j;
    while ((j = job_pop(&s->done_head, &s->done_tail))) {
        pthread_mutex_unlock(&s->mu);
        push_finish(s, j);
        job_free(j);
        pthread_mutex_lock(&s->mu);
    }
}

/* The real-clock deadline for a wait until `until` on s's clock. A fake clock does not move by
 * itself: the thread looks again every millisecond (and at every input). */
static uint64_t wait_deadline(const struct kgc_sync *s, uint64_t until)
{
    if (until == UINT64_MAX)
        return UINT64_MAX;
    if (s->clock->is_fake)
        return kgc_clock_now(NULL) + KGC_NS_PER_MS;
    return until;
}

static void *syncer_main(void *arg)
{
    struct kgc_sync *s = arg;
    pthread_setname_np(pthread_self(), "kgc-sync");
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        push_drain(s); /* answers first: they free push slots and may ask for a translation */
        if (s->stop)
            break;
        struct kgc_sync_decision d = kgc_sync_machine_next(&s->m, kgc_clock_now(s->clock));
        switch (d.what) {
        case KGC_SYNC_DO_TRANSLATE: {
            /* a translation from nothing through the translator's state (its build at the
             * upkeep, or everything again) makes the text the syncer holds, most often the same
             * bytes: seeded with it, it shares that text instead of a second copy (3.7 MiB at
             * 10k routes, at start-up's peak). build.c makes the same state when this does not. */
            if (s->incremental && (s->tstate || d.upkeep)) {
                if (!s->tstate)
                    s->tstate = kgc_translate_state_new();
                kgc_translate_state_seed(s->tstate, s->m.cur ? s->m.cur->shared : NULL);
            }
            pthread_mutex_unlock(&s->mu);
            int rc = kgc_sync_build(s, d.fresh, d.upkeep);
            pthread_mutex_lock(&s->mu);
            if (rc != 0)
                kgc_sync_machine_translate_failed(&s->m, kgc_clock_now(s->clock));
            break;
        }
        case KGC_SYNC_DO_PUSH:
            push_dispatch(s, &d); /* the job owns d.blob now */
            break;
        case KGC_SYNC_DO_WAIT:
            if (s->pending_rw) { /* the pushes are out: judge the routes now */
                pthread_mutex_unlock(&s->mu);
                kgc_sync_verdicts_flush(s);
                pthread_mutex_lock(&s->mu);
                break;
            }
            if (!s->done_head)
                kgc_base_cond_wait_once(&s->cond, &s->mu, wait_deadline(s, d.until_ns));
            break;
        case KGC_SYNC_DO_IDLE:
        default:
            if (s->pending_rw) {
                pthread_mutex_unlock(&s->mu);
                kgc_sync_verdicts_flush(s);
                pthread_mutex_lock(&s->mu);
                break;
            }
            if (!s->done_head)
                kgc_base_cond_wait_once(&s->cond, &s->mu, UINT64_MAX);
            break;
        }
    }
    /* stop: the workers abort what is in flight (abort_flag) and answer what is queued */
    s->stop = true;
    pthread_cond_broadcast(&s->work_cond);
    pthread_mutex_unlock(&s->mu);
    for (size_t k = 0; k < s->n_workers; k++)
        pthread_join(s->workers[k], NULL);
    pthread_mutex_lock(&s->mu);
    struct kgc_sync_job *j;
    while ((j = job_pop(&s->done_head, &s->done_tail))) {
        kgc_sync_machine_push_aborted(&s->m, j->inst);
        job_free(j);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- Kong events (prober threads) -------------------------------------------------------------
 */

static void on_kong_event(const struct kgc_kong_event *ev, void *ctx)
{
    struct kgc_sync *s = ctx;
    const char *hash = ev->state ? ev->state->hash : "";
    const char *why = NULL;
    pthread_mutex_lock(&s->mu);
    bool changed = kgc_sync_machine_event(&s->m, ev->type, ev->url,
                                          ev->state ? ev->state->info.node_id : NULL, hash, &why);
    if (why)
        pthread_cond_broadcast(&s->cond);
    /* a probe found Kong holding the current (or last good) text before the push's answer was
     * taken in: it is Programmed now, so it is the accepted set a restart must find, even if
     * kgc stops before the answer is read */
    struct kgc_sync_blob *held = NULL;
    if (changed && !why && ev->type == KGC_KONG_EV_HASH_CHANGED) {
        struct kgc_sync_inst *i = kgc_sync_machine_instance(&s->m, ev->url, false);
        held = i && i->accepted ? kgc_sync_blob_ref(i->accepted) : NULL;
    }
    pthread_mutex_unlock(&s->mu);
    if (held) {
        kgc_sync_record_persist(s, held);
        kgc_sync_blob_unref(held);
    }
    if (why)
        kgc_info(KGC_SYNC_COMPONENT, "instance needs the configuration", KGC_F_STR("url", ev->url),
                 KGC_F_STR("why", why), KGC_F_STR("kong_hash", hash));
    if (changed)
        kgc_sync_announce_programmed(s);
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
    s->clock = o->clock ? o->clock : kgc_clock_real();
    kgc_sync_machine_init(&s->m, o->debounce_ns, o->max_delay_ns);
    kgc_strmap_init(&s->verdicts);
    s->lookup = *lookup;
    s->kong = kong;
    s->lc = lc;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->record_mu, NULL);
    kgc_base_cond_init(&s->cond);
    kgc_base_cond_init(&s->work_cond);
    s->push_concurrency = o->push_concurrency ? o->push_concurrency : KGC_SYNC_PUSH_CONCURRENCY;
    s->incremental = o->incremental;
    if (s->incremental) /* the translator's state is built once the routes are quiet */
        kgc_sync_machine_want_upkeep(&s->m, kgc_clock_now(s->clock));
    kgc_sync_machine_set_max_pushes(&s->m, s->push_concurrency);
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
    s->m.restored = kgc_sync_record_restore(s);
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

static void mark(struct kgc_sync *s);

static void upkeep(struct kgc_sync *s, enum kgc_api_kind kind, const struct kgc_api_obj *obj)
{
    kgc_sync_record_change(s, kind, obj);
    pthread_mutex_lock(&s->mu);
    if (!s->tstate_ready || s->changes.everything || s->changes.n >= KGC_SYNC_UPKEEP_MIN_ROUTES) {
        kgc_sync_machine_want_upkeep(&s->m, kgc_clock_now(s->clock));
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->mu);
}

void kgc_sync_on_object_change(enum kgc_api_kind kind, const struct kgc_api_obj *old_obj,
                               const struct kgc_api_obj *new_obj, void *ctx)
{
    if (kgc_sync_change_is_status_only(kind, old_obj, new_obj)) {
        /* a status write (kgc's own, mostly): the configuration cannot change. The incremental
         * translator's state may still hold the route object it replaced: listed (no mark) so
         * that the next translation, or an upkeep once the routes are quiet, plans the route
         * again from the new object and lets the old one go */
        if (kind == KGC_API_HTTPROUTE && ((struct kgc_sync *)ctx)->incremental)
            upkeep(ctx, kind, new_obj);
        return;
    }
    kgc_sync_record_change(ctx, kind, new_obj ? new_obj : old_obj);
    mark(ctx); /* the change says what to translate again */
    struct kgc_sync *s = ctx;
    if (kind == KGC_API_HTTPROUTE && s->incremental) {
        /* the routes are not quiet: an upkeep that builds the state waits (the initial list's
         * adds count, so the state is not built in the middle of the initial sync) */
        pthread_mutex_lock(&s->mu);
        if (!s->tstate_ready && s->m.upkeep)
            kgc_sync_machine_want_upkeep(&s->m, kgc_clock_now(s->clock));
        pthread_mutex_unlock(&s->mu);
    }
}

int kgc_sync_watch_cache(struct kgc_sync *s, struct kgc_cache *cache)
{
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        int rc = kgc_cache_add_handler(cache, (enum kgc_api_kind)k, kgc_sync_on_object_change, s);
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
    struct kgc_sync_inst *i = kgc_sync_machine_add_static(&s->m, url);
    if (i)
        pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    return i ? 0 : kgc_err_set(err, KGC_ENOMEM, "syncer: out of memory");
}

int kgc_sync_start(struct kgc_sync *s, struct kgc_err *err)
{
    if (s->started)
        return 0;
    int rc = 0;
    s->workers = calloc(s->push_concurrency, sizeof(*s->workers));
    if (!s->workers)
        return kgc_err_set(err, KGC_ENOMEM, "syncer: out of memory");
    for (s->n_workers = 0; s->n_workers < s->push_concurrency; s->n_workers++)
        if ((rc = pthread_create(&s->workers[s->n_workers], NULL, push_worker_main, s)) != 0)
            break;
    if (rc == 0)
        rc = pthread_create(&s->thread, NULL, syncer_main, s);
    if (rc != 0) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_broadcast(&s->work_cond);
        pthread_mutex_unlock(&s->mu);
        for (size_t k = 0; k < s->n_workers; k++)
            pthread_join(s->workers[k], NULL);
        s->n_workers = 0;
        return kgc_err_set(err, -rc, "syncer: cannot create thread: %s", strerror(rc));
    }
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
    kgc_sync_record_flush(s);
}

void kgc_sync_free(struct kgc_sync *s)
{
    if (!s)
        return;
    kgc_sync_stop(s);
    for (struct kgc_sync_inst *i = s->m.insts; i; i = i->next)
        kgc_kong_client_free(i->client);
    kgc_sync_machine_free(&s->m);
    for (size_t i = 0; i < s->n_broken; i++)
        kgc_sync_broken_free(&s->broken[i]);
    free(s->broken);
    kgc_translate_output_free(&s->last_out);
    kgc_sync_verdicts_clear(&s->verdicts);
    for (size_t i = 0; i < s->n_copts_strings; i++)
        free(s->copts_strings[i]);
    free(s->copts_strings);
    free((void *)s->copts.headers);
    free((void *)s->copts.credential_urls);
    free(s->controller_name);
    free(s->invalid_backend_target);
    free(s->publish_ns);
    free(s->publish_name);
    kgc_sync_changes_free(s);
    kgc_sync_record_free(s);
    free(s->workers);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->record_mu);
    pthread_cond_destroy(&s->cond);
    pthread_cond_destroy(&s->work_cond);
    free(s);
}

void kgc_sync_mark_dirty(struct kgc_sync *s)
{
    kgc_sync_record_change(s, KGC_API_KIND_COUNT, NULL); /* unknown: translate everything */
    mark(s);
}

static void mark(struct kgc_sync *s)
{
    uint64_t now = kgc_clock_now(s->clock);
    pthread_mutex_lock(&s->mu);
    kgc_sync_machine_mark(&s->m, now);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

void kgc_sync_set_leader(struct kgc_sync *s, bool leader)
{
    pthread_mutex_lock(&s->mu);
    kgc_sync_machine_set_leader(&s->m, leader);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

bool kgc_sync_gateway_programmed(void *ctx, const struct kgc_api_gateway *gw, char *why,
                                 size_t why_size)
{
    struct kgc_sync *s = ctx;
    pthread_mutex_lock(&s->mu);
    bool ok = kgc_sync_machine_programmed(&s->m, gw->obj.meta.key, gw->obj.meta.generation, why,
                                          why_size);
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void kgc_sync_plugin_status(void *ctx, const struct kgc_api_obj *plugin,
                            struct kgc_status_condition *out, bool *retry)
{
    struct kgc_sync *s = ctx;
    *retry = false;
    memset(out, 0, sizeof(*out));
    out->type = "Programmed";
    const struct kgc_api_kongplugin *p = kgc_api_as_kongplugin(plugin);
    char buf[KGC_STATUS_MSG_MAX];
    const char *why =
        p ? kgc_translate_plugin_problem(&s->lookup, p, buf, sizeof(buf)) : "not a plugin";
    if (why) {
        out->status = "False";
        out->reason = "Invalid";
        snprintf(out->message, sizeof(out->message), "kgc cannot use it: the plugin %s", why);
        return;
    }
    const char *ns = plugin->meta.namespace ? plugin->meta.namespace : "";
    char key[2 * KGC_STATUS_NAME_MAX + 32], pwhy[KGC_STATUS_MSG_MAX] = "";
    kgc_sync_plugin_key(plugin, key, sizeof(key));
    pthread_mutex_lock(&s->mu);
    const struct kgc_sync_broken *rejected = NULL;
    for (size_t i = 0; i < s->n_broken && !rejected; i++) {
        const struct kgc_sync_broken *b = &s->broken[i];
        if (b->kind == plugin->kind && strcmp(b->ns, ns) == 0 &&
            strcmp(b->name, plugin->meta.name) == 0)
            rejected = b;
    }
    if (rejected) {
        out->status = "False";
        out->reason = "Invalid";
        snprintf(out->message, sizeof(out->message), "Kong rejected it: %s", rejected->message);
    } else if (!kgc_sync_blob_has_gateway(s->m.cur, key, 0)) {
        out->status = "Unknown";
        out->reason = "Pending";
        snprintf(out->message, sizeof(out->message), "%s",
                 s->m.cur ? "no route or Service kgc configures uses it"
                          : "waiting for the first translation");
        *retry = !s->m.cur;
    } else if (kgc_sync_machine_programmed(&s->m, key, plugin->meta.generation, pwhy,
                                           sizeof(pwhy))) {
        out->status = "True";
        out->reason = "Programmed";
        snprintf(out->message, sizeof(out->message),
                 "Kong accepted the configuration that uses it");
    } else {
        out->status = "Unknown";
        out->reason = "Pending";
        snprintf(out->message, sizeof(out->message), "%s", pwhy);
        *retry = true;
    }
    pthread_mutex_unlock(&s->mu);
    /* what Kong's controller would also do with it, and kgc does not: said, not hidden */
    size_t len = strlen(out->message);
    char gbuf[KGC_TRANSLATE_PLUGIN_WHY_MAX];
    const char *gwhy =
        p->global ? kgc_translate_global_plugin_problem(&s->lookup, p, gbuf, sizeof(gbuf)) : NULL;
    if (gwhy && len < sizeof(out->message))
        snprintf(out->message + len, sizeof(out->message) - len,
                 "; label global=true is not applied: %s", gwhy);
    len = strlen(out->message);
    if (p->consumer_ref && len < sizeof(out->message))
        snprintf(out->message + len, sizeof(out->message) - len,
                 "; consumerRef is not applied (kgc has no consumers)");
}

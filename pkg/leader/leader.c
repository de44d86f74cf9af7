/* leader — Lease-based leader election (see include/kgc/leader.h). The pure decision logic is at
 * the top; the elector thread below only does I/O and timing around it. */
#include "kgc/jsonscan.h"
#include "kgc/leader.h"

#include "kgc/base.h"

#include "kgc/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define COMPONENT "leader"

static const struct kgc_k8s_resource LEASES = {"coordination.k8s.io", "v1", "leases", true};

void kgc_leader_options_default(struct kgc_leader_options *o)
{
    memset(o, 0, sizeof(*o));
    o->name = KGC_LEADER_DEFAULT_NAME;
    o->lease_duration_ns = KGC_LEADER_DEFAULT_LEASE;
    o->renew_deadline_ns = KGC_LEADER_DEFAULT_RENEW;
    o->retry_period_ns = KGC_LEADER_DEFAULT_RETRY;
    o->release_on_cancel = true;
}

/* --- pure logic ------------------------------------------------------------------------------- */

static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

static int64_t lease_seconds(uint64_t lease_duration_ns)
{
    int64_t s = (int64_t)((lease_duration_ns + KGC_NS_PER_S - 1) / KGC_NS_PER_S);
    return s < 1 ? 1 : s;
}

static bool record_equal(const struct kgc_leader_record *a, const struct kgc_leader_record *b)
{
    return strcmp(a->holder, b->holder) == 0 && a->lease_duration_s == b->lease_duration_s &&
           strcmp(a->acquire_time, b->acquire_time) == 0 &&
           strcmp(a->renew_time, b->renew_time) == 0 && a->transitions == b->transitions;
}

enum kgc_leader_action kgc_leader_decide(struct kgc_leader_observation *obs,
                                         const struct kgc_leader_record *read, uint64_t now_ns,
                                         const char *identity, uint64_t lease_duration_ns,
                                         const char *now_time, struct kgc_leader_record *next)
{
    if (!read) {
        obs->known = false;
        memset(next, 0, sizeof(*next));
        copy_str(next->holder, sizeof(next->holder), identity);
        next->lease_duration_s = lease_seconds(lease_duration_ns);
        copy_str(next->acquire_time, sizeof(next->acquire_time), now_time);
        copy_str(next->renew_time, sizeof(next->renew_time), now_time);
        return KGC_LEADER_CREATE;
    }
    /* The clock of expiry restarts whenever the record changes: remote clocks are not trusted. */
    if (!obs->known || !record_equal(&obs->rec, read)) {
        obs->rec = *read;
        obs->observed_ns = now_ns;
        obs->known = true;
    }
    bool ours = strcmp(read->holder, identity) == 0;
    uint64_t valid_ns = read->lease_duration_s > 0 ? (uint64_t)read->lease_duration_s * KGC_NS_PER_S
                                                   : lease_duration_ns;
    if (!ours && read->holder[0] && now_ns < obs->observed_ns + valid_ns)
        return KGC_LEADER_WAIT;
    *next = *read;
    copy_str(next->holder, sizeof(next->holder), identity);
    next->lease_duration_s = lease_seconds(lease_duration_ns);
    copy_str(next->renew_time, sizeof(next->renew_time), now_time);
    if (ours)
        return KGC_LEADER_RENEW;
    copy_str(next->acquire_time, sizeof(next->acquire_time), now_time);
    next->transitions = read->transitions + 1;
    return KGC_LEADER_TAKE;
}

void kgc_leader_observe_written(struct kgc_leader_observation *obs,
                                const struct kgc_leader_record *written, uint64_t now_ns)
{
    obs->rec = *written;
    obs->observed_ns = now_ns;
    obs->known = true;
}

void kgc_leader_release_record(const struct kgc_leader_record *cur, const char *now_time,
                               struct kgc_leader_record *next)
{
    memset(next, 0, sizeof(*next));
    next->lease_duration_s = 1;
    copy_str(next->acquire_time, sizeof(next->acquire_time), now_time);
    copy_str(next->renew_time, sizeof(next->renew_time), now_time);
    next->transitions = cur->transitions;
}

bool kgc_leader_renew_expired(uint64_t last_ok_ns, uint64_t now_ns, uint64_t renew_deadline_ns)
{
    return now_ns >= last_ok_ns + renew_deadline_ns;
}

uint64_t kgc_leader_jittered(uint64_t retry_period_ns, double u)
{
    if (u < 0)
        u = 0;
    if (u >= 1)
        u = 0.999999;
    return retry_period_ns + (uint64_t)(u * KGC_LEADER_JITTER_FACTOR * (double)retry_period_ns);
}

static void str_field(json_object *spec, const char *key, char *dst, size_t size)
{
    json_object *v;
    if (json_object_object_get_ex(spec, key, &v) && json_object_is_type(v, json_type_string))
        copy_str(dst, size, json_object_get_string(v));
    else
        dst[0] = '\0';
}

static int64_t int_field(json_object *spec, const char *key)
{
    json_object *v;
    if (json_object_object_get_ex(spec, key, &v) && json_object_is_type(v, json_type_int))
        return json_object_get_int64(v);
    return 0;
}

int kgc_leader_record_from_json(json_object *lease, struct kgc_leader_record *rec)
{
    memset(rec, 0, sizeof(*rec));
    if (!json_object_is_type(lease, json_type_object))
        return KGC_EPARSE;
    json_object *spec;
    if (!json_object_object_get_ex(lease, "spec", &spec) ||
        !json_object_is_type(spec, json_type_object))
        return 0; /* an empty spec: a free Lease */
    str_field(spec, "holderIdentity", rec->holder, sizeof(rec->holder));
    rec->lease_duration_s = int_field(spec, "leaseDurationSeconds");
    str_field(spec, "acquireTime", rec->acquire_time, sizeof(rec->acquire_time));
    str_field(spec, "renewTime", rec->renew_time, sizeof(rec->renew_time));
    rec->transitions = int_field(spec, "leaseTransitions");
    return 0;
}

static int set_field(json_object *obj, const char *key, json_object *v)
{
    if (!v)
        return KGC_ENOMEM;
    if (json_object_object_add(obj, key, v) != 0) {
        json_object_put(v);
        return KGC_ENOMEM;
    }
    return 0;
}

/* MicroTime fields are omitted when empty (as the API server would with a nil pointer). */
static int set_time(json_object *spec, const char *key, const char *t)
{
    if (!t[0]) {
        json_object_object_del(spec, key);
        return 0;
    }
    return set_field(spec, key, json_object_new_string(t));
}

int kgc_leader_record_to_json(const struct kgc_leader_record *rec, json_object *lease)
{
    json_object *spec;
    if (!json_object_object_get_ex(lease, "spec", &spec) ||
        !json_object_is_type(spec, json_type_object)) {
        spec = json_object_new_object();
        int rc = set_field(lease, "spec", spec);
        if (rc)
            return rc;
    }
    int rc = set_field(spec, "holderIdentity", json_object_new_string(rec->holder));
    if (!rc)
        rc = set_field(spec, "leaseDurationSeconds", json_object_new_int64(rec->lease_duration_s));
    if (!rc)
        rc = set_time(spec, "acquireTime", rec->acquire_time);
    if (!rc)
        rc = set_time(spec, "renewTime", rec->renew_time);
    if (!rc)
        rc = set_field(spec, "leaseTransitions", json_object_new_int64(rec->transitions));
    return rc;
}

/* --- the elector ------------------------------------------------------------------------------ */

struct kgc_leader {
    struct kgc_leader_options opts; /* strings point into the copies below; immutable */
    char *ns, *name, *identity;     /* owned copies */
    char path[512];                 /* .../leases/NAME */
    char collection[512];           /* .../leases */
    struct kgc_k8s_client *client;  /* borrowed */
    const struct kgc_clock *clock;  /* never NULL */
    struct kgc_k8s_cancel *cancel;  /* fired by stop: cuts an in-flight request */

    /* Thread-only state (the elector thread; stop reads it after the join). */
    struct kgc_leader_observation obs;
    json_object *lease; /* the Lease last read or written (for the next PUT), or NULL */
    unsigned rand_state;

    pthread_t thread;
    bool started; /* start/stop caller only */
    bool joined;

    pthread_mutex_t mu; /* guards stopping, no_release, holder */
    pthread_cond_t cv;  /* signalled by stop */
    bool stopping;
    bool no_release; /* abandon: leave the Lease to expire */
    char holder[KGC_LEADER_HOLDER_MAX];

    atomic_bool leading;          /* set by the thread */
    atomic_uint_fast64_t last_ok; /* clock time of the last successful acquire/renew */
    atomic_uint_fast64_t transitions, step_downs, renew_failures, attempts;
};

static uint64_t now_ns(const struct kgc_leader *l)
{
    return kgc_clock_now(l->clock);
}

static void default_identity(char *buf, size_t size)
{
    char host[128] = "";
    if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
        snprintf(host, sizeof(host), "kgc");
    host[sizeof(host) - 1] = '\0';
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint32_t)time(NULL) ^ (uint32_t)getpid();
    snprintf(buf, size, "%s_%08x", host, r);
}

int kgc_leader_new(struct kgc_k8s_client *client, const struct kgc_leader_options *opts,
                   struct kgc_leader **out, struct kgc_err *err)
{
    *out = NULL;
    if (!client || !opts || !opts->namespace || !opts->namespace[0])
        return kgc_err_set(err, KGC_EINVAL, "leader election: a client and a namespace are needed");
    const char *name = opts->name && opts->name[0] ? opts->name : KGC_LEADER_DEFAULT_NAME;
    if (opts->retry_period_ns == 0)
        return kgc_err_set(err, KGC_EINVAL, "leader election: retry period must be > 0");
    if (opts->lease_duration_ns <= opts->renew_deadline_ns)
        return kgc_err_set(err, KGC_EINVAL,
                           "leader election: lease duration must be greater than renew deadline");
    if ((double)opts->renew_deadline_ns <= KGC_LEADER_JITTER_FACTOR * (double)opts->retry_period_ns)
        return kgc_err_set(err, KGC_EINVAL,
                           "leader election: renew deadline must be greater than %.1f x retry "
                           "period",
                           KGC_LEADER_JITTER_FACTOR);
    char idbuf[KGC_LEADER_HOLDER_MAX];
    if (opts->identity && opts->identity[0])
        copy_str(idbuf, sizeof(idbuf), opts->identity);
    else
        default_identity(idbuf, sizeof(idbuf));
    if (opts->identity && strlen(opts->identity) > KGC_LEADER_IDENTITY_MAX)
        return kgc_err_set(err, KGC_EINVAL, "leader election: identity longer than %d",
                           KGC_LEADER_IDENTITY_MAX);

    struct kgc_leader *l = calloc(1, sizeof(*l));
    if (!l)
        return kgc_err_set(err, KGC_ENOMEM, "leader election: out of memory");
    l->ns = strdup(opts->namespace);
    l->name = strdup(name);
    l->identity = strdup(idbuf);
    l->cancel = kgc_k8s_cancel_new();
    int rc = 0;
    if (!l->ns || !l->name || !l->identity || !l->cancel) {
        rc = kgc_err_set(err, KGC_ENOMEM, "leader election: out of memory");
        goto out_free;
    }
    rc = kgc_k8s_path(l->path, sizeof(l->path), &LEASES, l->ns, l->name, NULL);
    if (!rc)
        rc = kgc_k8s_path(l->collection, sizeof(l->collection), &LEASES, l->ns, NULL, NULL);
    if (rc) {
        kgc_err_set(err, rc, "leader election: bad lease namespace/name %s/%s", l->ns, l->name);
        goto out_free;
    }
    l->opts = *opts;
    l->opts.namespace = l->ns;
    l->opts.name = l->name;
    l->opts.identity = l->identity;
    l->client = client;
    l->clock = opts->clock ? opts->clock : kgc_clock_real();
    uint32_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
        seed = (uint32_t)time(NULL) ^ (uint32_t)getpid();
    l->rand_state = seed;
    pthread_mutex_init(&l->mu, NULL);
    kgc_base_cond_init(&l->cv);
    atomic_init(&l->leading, false);
    atomic_init(&l->last_ok, 0);
    atomic_init(&l->transitions, 0);
    atomic_init(&l->step_downs, 0);
    atomic_init(&l->renew_failures, 0);
    atomic_init(&l->attempts, 0);
    *out = l;
    return 0;

out_free:
    kgc_k8s_cancel_free(l->cancel);
    free(l->identity);
    free(l->name);
    free(l->ns);
    free(l);
    return rc;
}

/* Waits ns of real time or until stop; false when stopping. */
static bool sleep_or_stop(struct kgc_leader *l, uint64_t ns)
{
    return kgc_base_sleep_or_stop(&l->cv, &l->mu, ns, &l->stopping);
}

/* One request on the Lease; *out receives the parsed body on success (may be NULL). */
static int lease_call(struct kgc_leader *l, const char *method, const char *path, json_object *body,
                      struct kgc_k8s_cancel *cancel, json_object **out, struct kgc_err *err)
{
    const char *text = NULL;
    size_t len = 0;
    if (body) {
        text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
        len = strlen(text);
    }
    struct kgc_k8s_response resp = {0};
    struct kgc_k8s_status st = {0};
    int rc = kgc_k8s_request(l->client, method, path, NULL, body ? "application/json" : NULL, text,
                             len, cancel, &resp, &st, err);
    if (rc == 0 && out) {
        /* a Lease is a small object: bounded like any other object from the API server */
        static const struct kgc_jsonscan_limits lim = {.max_values = KGC_K8S_OBJECT_MAX_VALUES,
                                                       .max_containers =
                                                           KGC_K8S_OBJECT_MAX_CONTAINERS};
        json_object *j = NULL;
        struct kgc_err perr = {0};
        if (resp.body)
            (void)kgc_jsonscan_parse(resp.body, resp.len, &lim, "Lease", &j, &perr);
        if (!j || !json_object_is_type(j, json_type_object)) {
            json_object_put(j);
            rc = kgc_err_set(err, KGC_EPARSE, "%s %s: the answer is not a JSON object", method,
                             path);
        } else {
            *out = j;
        }
    }
    free(resp.body);
    return rc;
}

static void set_holder(struct kgc_leader *l, const char *holder)
{
    pthread_mutex_lock(&l->mu);
    bool changed = strcmp(l->holder, holder) != 0;
    if (changed)
        copy_str(l->holder, sizeof(l->holder), holder);
    pthread_mutex_unlock(&l->mu);
    if (changed && holder[0]) {
        kgc_info(COMPONENT, "new leader", KGC_F_STR("lease", l->name), KGC_F_STR("holder", holder));
        if (l->opts.on_new_leader)
            l->opts.on_new_leader(l->opts.ctx, holder);
    }
}

static json_object *new_lease_object(const struct kgc_leader *l)
{
    json_object *o = json_object_new_object();
    json_object *meta = json_object_new_object();
    if (!o || !meta ||
        set_field(o, "apiVersion", json_object_new_string("coordination.k8s.io/v1")) ||
        set_field(o, "kind", json_object_new_string("Lease")) ||
        set_field(meta, "name", json_object_new_string(l->name)) ||
        set_field(meta, "namespace", json_object_new_string(l->ns))) {
        json_object_put(o);
        json_object_put(meta);
        return NULL;
    }
    if (set_field(o, "metadata", meta)) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* client-go's tryAcquireOrRenew: 0 when we hold the Lease now, else a negative code
 * (KGC_EAGAIN: held by another). */
static int try_acquire_or_renew(struct kgc_leader *l)
{
    struct kgc_err err = {0};
    char now_time[KGC_LEADER_TIME_MAX];
    json_object *got = NULL;
    atomic_fetch_add(&l->attempts, 1);
    int rc = lease_call(l, "GET", l->path, NULL, l->cancel, &got, &err);
    if (rc != 0 && rc != KGC_ENOENT) {
        kgc_debug(COMPONENT, "lease read failed", KGC_F_STR("error", err.msg));
        return rc;
    }
    struct kgc_leader_record read, next;
    const struct kgc_leader_record *readp = NULL;
    if (rc == 0) {
        rc = kgc_leader_record_from_json(got, &read);
        if (rc) {
            json_object_put(got);
            return rc;
        }
        readp = &read;
        json_object_put(l->lease);
        l->lease = got;
        set_holder(l, read.holder);
    }
    uint64_t now = now_ns(l);
    kgc_clock_rfc3339(now_time, sizeof(now_time), 6);
    enum kgc_leader_action act = kgc_leader_decide(&l->obs, readp, now, l->identity,
                                                   l->opts.lease_duration_ns, now_time, &next);
    if (act == KGC_LEADER_WAIT)
        return KGC_EAGAIN;

    json_object *body = act == KGC_LEADER_CREATE ? new_lease_object(l) : json_object_get(l->lease);
    if (!body)
        return KGC_ENOMEM;
    rc = kgc_leader_record_to_json(&next, body);
    json_object *stored = NULL;
    if (!rc) {
        /* PUT carries the resourceVersion we read: a concurrent writer makes it a 409. Not cut
         * by a stop (the client's timeout bounds it): a write the API server took but whose
         * answer a stop cut would leave the Lease held by a process that is gone, for a whole
         * lease duration, with no release (its resourceVersion unknown). */
        rc = act == KGC_LEADER_CREATE
                 ? lease_call(l, "POST", l->collection, body, NULL, &stored, &err)
                 : lease_call(l, "PUT", l->path, body, NULL, &stored, &err);
    }
    json_object_put(body);
    if (rc) {
        kgc_debug(COMPONENT,
                  act == KGC_LEADER_CREATE ? "lease create failed" : "lease update failed",
                  KGC_F_STR("error", err.msg[0] ? err.msg : kgc_err_str(rc)));
        return rc;
    }
    json_object_put(l->lease);
    l->lease = stored;
    kgc_leader_observe_written(&l->obs, &next, now);
    set_holder(l, next.holder);
    return 0;
}

static void start_leading(struct kgc_leader *l)
{
    atomic_store(&l->last_ok, now_ns(l));
    atomic_store(&l->leading, true);
    atomic_fetch_add(&l->transitions, 1);
    kgc_info(COMPONENT, "started leading", KGC_F_STR("lease", l->name),
             KGC_F_STR("identity", l->identity));
    if (l->opts.on_started_leading)
        l->opts.on_started_leading(l->opts.ctx);
}

static void stop_leading(struct kgc_leader *l, const char *why)
{
    atomic_store(&l->leading, false);
    atomic_fetch_add(&l->step_downs, 1);
    kgc_warn(COMPONENT, "stopped leading", KGC_F_STR("lease", l->name),
             KGC_F_STR("identity", l->identity), KGC_F_STR("reason", why));
    if (l->opts.on_stopped_leading)
        l->opts.on_stopped_leading(l->opts.ctx);
}

/* Writes holderIdentity "" with the last resourceVersion (client-go's release: no read first;
 * a 409 means someone else already moved on). Not cancellable: stop has fired the token. */
static void release(struct kgc_leader *l)
{
    if (!l->lease || strcmp(l->obs.rec.holder, l->identity) != 0)
        return;
    char now_time[KGC_LEADER_TIME_MAX];
    struct kgc_leader_record next;
    kgc_leader_release_record(&l->obs.rec, kgc_clock_rfc3339(now_time, sizeof(now_time), 6), &next);
    struct kgc_err err = {0};
    int rc = kgc_leader_record_to_json(&next, l->lease);
    if (!rc)
        rc = lease_call(l, "PUT", l->path, l->lease, NULL, NULL, &err);
    if (rc) {
        kgc_warn(COMPONENT, "lease release failed", KGC_F_STR("lease", l->name),
                 KGC_F_STR("error", err.msg[0] ? err.msg : kgc_err_str(rc)));
        return;
    }
    kgc_leader_observe_written(&l->obs, &next, now_ns(l));
    kgc_info(COMPONENT, "lease released", KGC_F_STR("lease", l->name));
}

static bool stopping(struct kgc_leader *l)
{
    pthread_mutex_lock(&l->mu);
    bool s = l->stopping;
    pthread_mutex_unlock(&l->mu);
    return s;
}

static void *run(void *arg)
{
    struct kgc_leader *l = arg;
    pthread_setname_np(pthread_self(), "kgc-leader");
    bool leading = false;
    bool held = false; /* acquired as the stop came: released below, never led */
    for (;;) {
        if (!leading) {
            if (try_acquire_or_renew(l) == 0) {
                if (stopping(l)) {
                    held = true;
                    break;
                }
                leading = true;
                start_leading(l);
                if (!sleep_or_stop(l, l->opts.retry_period_ns))
                    break;
                continue;
            }
            double u = (double)rand_r(&l->rand_state) / ((double)RAND_MAX + 1.0);
            if (!sleep_or_stop(l, kgc_leader_jittered(l->opts.retry_period_ns, u)))
                break;
            continue;
        }
        int rc = try_acquire_or_renew(l);
        if (rc == KGC_ESHUTDOWN)
            break;
        if (rc == 0) {
            atomic_store(&l->last_ok, now_ns(l));
        } else {
            atomic_fetch_add(&l->renew_failures, 1);
            if (rc == KGC_EAGAIN) {
                leading = false; /* someone else holds it: stop writing at once */
                stop_leading(l, "lease taken by another holder");
                continue;
            }
        }
        /* Wake at the renew deadline if it comes first, so on_stopped_leading runs on time. */
        uint64_t deadline = atomic_load(&l->last_ok) + l->opts.renew_deadline_ns;
        uint64_t now = now_ns(l);
        uint64_t wait = l->opts.retry_period_ns;
        if (deadline <= now)
            wait = 0;
        else if (deadline - now < wait)
            wait = deadline - now;
        if (!sleep_or_stop(l, wait))
            break;
        if (kgc_leader_renew_expired(atomic_load(&l->last_ok), now_ns(l),
                                     l->opts.renew_deadline_ns)) {
            leading = false;
            stop_leading(l, "renew deadline passed");
            double u = (double)rand_r(&l->rand_state) / ((double)RAND_MAX + 1.0);
            if (!sleep_or_stop(l, kgc_leader_jittered(l->opts.retry_period_ns, u)))
                break;
        }
    }
    if (leading)
        stop_leading(l, "stopped");
    if (leading || held) {
        pthread_mutex_lock(&l->mu);
        bool rel = l->opts.release_on_cancel && !l->no_release;
        pthread_mutex_unlock(&l->mu);
        if (rel)
            release(l);
    }
    return NULL;
}

int kgc_leader_start(struct kgc_leader *l, struct kgc_err *err)
{
    if (l->started)
        return kgc_err_set(err, KGC_EINVAL, "leader election: already started");
    int rc = pthread_create(&l->thread, NULL, run, l);
    if (rc)
        return kgc_err_set(err, -rc, "leader election: cannot start a thread: %s", strerror(rc));
    l->started = true;
    kgc_info(COMPONENT, "election started", KGC_F_STR("lease", l->path),
             KGC_F_STR("identity", l->identity));
    return 0;
}

bool kgc_leader_hook_is_leader(void *ctx)
{
    return ctx && kgc_leader_is_leader(ctx);
}

bool kgc_leader_is_leader(const struct kgc_leader *l)
{
    if (!atomic_load(&l->leading))
        return false;
    return !kgc_leader_renew_expired(atomic_load(&l->last_ok), kgc_clock_now(l->clock),
                                     l->opts.renew_deadline_ns);
}

static void stop_thread(struct kgc_leader *l, bool no_release)
{
    if (!l->started || l->joined)
        return;
    pthread_mutex_lock(&l->mu);
    l->stopping = true;
    l->no_release = no_release;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    kgc_k8s_cancel_fire(l->cancel);
    pthread_join(l->thread, NULL);
    l->joined = true;
}

void kgc_leader_stop(struct kgc_leader *l)
{
    stop_thread(l, false);
}

void kgc_leader_abandon(struct kgc_leader *l)
{
    stop_thread(l, true);
}

void kgc_leader_free(struct kgc_leader *l)
{
    if (!l)
        return;
    kgc_leader_stop(l);
    json_object_put(l->lease);
    kgc_k8s_cancel_free(l->cancel);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l->identity);
    free(l->name);
    free(l->ns);
    free(l);
}

void kgc_leader_stats(const struct kgc_leader *l, struct kgc_leader_stats *out)
{
    out->transitions = atomic_load(&l->transitions);
    out->step_downs = atomic_load(&l->step_downs);
    out->renew_failures = atomic_load(&l->renew_failures);
    out->attempts = atomic_load(&l->attempts);
    out->leading = kgc_leader_is_leader(l);
}

char *kgc_leader_holder(const struct kgc_leader *l, char *buf, size_t size)
{
    struct kgc_leader *m = (struct kgc_leader *)l; /* the mutex only */
    pthread_mutex_lock(&m->mu);
    copy_str(buf, size, l->holder);
    pthread_mutex_unlock(&m->mu);
    return buf;
}

const char *kgc_leader_identity(const struct kgc_leader *l)
{
    return l->identity;
}

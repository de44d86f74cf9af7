/* kong: the instance registry and one prober thread per instance.
 *
 * A prober owns its client (and so its libcurl handle and kept-alive connection). It is thin: it
 * waits until its machine (probe_state.c) says the next probe is due, calls GET / and GET /status
 * without a lock, feeds the outcome to the machine under the instance lock, then emits the events
 * the machine listed with no lock held. It waits on a condition variable (kgc_base_wait_until on
 * the registry's clock), so a stop, kgc_kong_probe_now() or kgc_kong_tick() wakes it at once. */
#include "kgc/kong.h"

#include "kgc/base.h"
#include "kgc/clock.h"
#include "kgc/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMPONENT "kong"

struct subscriber {
    kgc_kong_event_fn fn;
    void *ctx;
};

struct instance {
    struct kgc_kong *kong;      /* the registry (outlives the instance) */
    char url[KGC_KONG_URL_MAX]; /* normalised admin URL; the registry's key */
    unsigned id;                /* for the thread name */
    pthread_t thread;           /* the prober; joined by instance_stop() */
    bool thread_started;
    pthread_mutex_t mu;             /* guards everything below */
    pthread_cond_t cond;            /* signalled on stop, probe_now and tick */
    bool stopping;                  /* set once by instance_stop() */
    volatile int abort_flag;        /* set with stopping: aborts a call in flight */
    struct kgc_kong_probe_state ps; /* the machine: state, timing, probe_now, expect_empty */
};

struct kgc_kong {
    struct kgc_kong_options opts; /* deep copy; strings below back its pointers */
    char **urls;                  /* copies of opts.admin_urls */
    char **headers;               /* copies of opts.client.headers */
    char **cred_urls;             /* copies of opts.client.credential_urls */
    char *admin_service, *admin_port_name, *ca_file, *cert_file, *key_file, *server_name;

    pthread_mutex_t set_mu; /* serialises set_instances/stop (held across joins) */
    pthread_mutex_t mu;     /* guards inst, n_inst, next_id (never held across I/O) */
    struct instance **inst; /* sorted by url */
    size_t n_inst;
    unsigned next_id;
    bool stopped; /* kgc_kong_stop() ran: no more instances (under set_mu) */

    pthread_mutex_t sub_mu; /* serialises subscribe */
    struct subscriber subs[KGC_KONG_MAX_SUBSCRIBERS];
    unsigned n_subs; /* published with release; read with acquire */
};

/* ---- options ----------------------------------------------------------------------------------
 */

void kgc_kong_options_default(struct kgc_kong_options *o)
{
    memset(o, 0, sizeof(*o));
    o->admin_port_name = "admin";
    kgc_kong_client_options_default(&o->client);
    o->probe_interval_ms = 1000;
    o->down_probe_interval_ms = 200;
    o->heartbeat_interval_ms = 60000;
}

int kgc_kong_parse_service_ref(const char *ref, char ns[254], char name[254], struct kgc_err *err)
{
    const char *slash = ref ? strchr(ref, '/') : NULL;
    if (!slash || slash == ref || !slash[1] || strchr(slash + 1, '/'))
        return kgc_err_set(err, KGC_EUSAGE, "--kong-admin-service \"%.200s\": expected NS/NAME",
                           ref ? ref : "");
    size_t nl = (size_t)(slash - ref), ml = strlen(slash + 1);
    if (nl > 253 || ml > 253)
        return kgc_err_set(err, KGC_EUSAGE, "--kong-admin-service: name too long");
    for (const char *p = ref; *p; p++)
        if (p != slash &&
            !((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
            return kgc_err_set(err, KGC_EUSAGE,
                               "--kong-admin-service \"%.200s\": not a lower-case DNS name", ref);
    memcpy(ns, ref, nl);
    ns[nl] = '\0';
    memcpy(name, slash + 1, ml + 1);
    return 0;
}

int kgc_kong_options_validate(const struct kgc_kong_options *o, struct kgc_err *err)
{
    bool svc = o->admin_service && o->admin_service[0];
    if (o->n_admin_urls && svc)
        return kgc_err_set(err, KGC_EUSAGE,
                           "--kong-admin-url and --kong-admin-service are exclusive: give one");
    if (!o->n_admin_urls && !svc)
        return kgc_err_set(err, KGC_EUSAGE,
                           "no Kong instance: give --kong-admin-url or --kong-admin-service");
    for (size_t i = 0; i < o->n_admin_urls; i++) {
        char url[KGC_KONG_URL_MAX];
        int rc = kgc_kong_url_normalize(o->admin_urls[i], url, err);
        if (rc)
            return kgc_err_wrap(err, "--kong-admin-url");
    }
    if (svc) {
        char ns[254], name[254];
        int rc = kgc_kong_parse_service_ref(o->admin_service, ns, name, err);
        if (rc)
            return rc;
        if (!o->admin_port_name || !o->admin_port_name[0])
            return kgc_err_set(err, KGC_EUSAGE, "--kong-admin-port-name must not be empty");
    }
    if (!o->probe_interval_ms || !o->down_probe_interval_ms || !o->client.request_timeout_ms)
        return kgc_err_set(err, KGC_EUSAGE,
                           "--kong-probe-interval, --kong-down-probe-interval and "
                           "--kong-probe-timeout must be greater than 0");
    bool cert = o->client.cert_file && o->client.cert_file[0];
    bool key = o->client.key_file && o->client.key_file[0];
    if (cert != key)
        return kgc_err_set(err, KGC_EUSAGE,
                           "--kong-admin-cert-file and --kong-admin-key-file go together");
    /* Headers, TLS files and the server name are checked the way a prober's client will check
     * them (an https URL: the server name only applies there). */
    struct kgc_kong_client *c = NULL;
    int rc = kgc_kong_client_new("https://127.0.0.1", &o->client, &c, err);
    kgc_kong_client_free(c);
    return rc;
}

/* ---- names ------------------------------------------------------------------------------------
 */

const char *kgc_kong_event_name(enum kgc_kong_event_type type)
{
    switch (type) {
    case KGC_KONG_EV_READY:
        return "ready";
    case KGC_KONG_EV_UNREACHABLE:
        return "unreachable";
    case KGC_KONG_EV_RESTARTED:
        return "restarted";
    case KGC_KONG_EV_LISTENERS_CHANGED:
        return "listeners_changed";
    case KGC_KONG_EV_HASH_CHANGED:
        return "hash_changed";
    case KGC_KONG_EV_HEARTBEAT:
        return "heartbeat";
    case KGC_KONG_EV_REMOVED:
        return "removed";
    }
    return "unknown";
}

/* ---- state copies -----------------------------------------------------------------------------
 */

void kgc_kong_instance_state_free(struct kgc_kong_instance_state *s)
{
    if (!s)
        return;
    kgc_kong_info_free(&s->info);
}

static int state_copy(struct kgc_kong_instance_state *dst,
                      const struct kgc_kong_instance_state *src)
{
    *dst = *src;
    memset(&dst->info, 0, sizeof(dst->info));
    if (kgc_kong_info_copy(&dst->info, &src->info)) {
        memset(dst, 0, sizeof(*dst));
        return KGC_ENOMEM;
    }
    return 0;
}

void kgc_kong_states_free(struct kgc_kong_instance_state *s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++)
        kgc_kong_instance_state_free(&s[i]);
    free(s);
}

/* ---- events -----------------------------------------------------------------------------------
 */

static void emit(struct kgc_kong *k, const struct kgc_kong_event *ev)
{
    unsigned n = __atomic_load_n(&k->n_subs, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n; i++)
        k->subs[i].fn(ev, k->subs[i].ctx);
}

int kgc_kong_subscribe(struct kgc_kong *k, kgc_kong_event_fn fn, void *ctx)
{
    int rc = 0;
    pthread_mutex_lock(&k->sub_mu);
    unsigned n = __atomic_load_n(&k->n_subs, __ATOMIC_RELAXED);
    if (n >= KGC_KONG_MAX_SUBSCRIBERS) {
        rc = KGC_ENOSPC;
    } else {
        k->subs[n].fn = fn;
        k->subs[n].ctx = ctx;
        __atomic_store_n(&k->n_subs, n + 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&k->sub_mu);
    return rc;
}

/* ---- one probe --------------------------------------------------------------------------------
 */

/* GET / then GET /status into r; err says why when not ready. */
static void probe_once(struct kgc_kong_client *c, struct kgc_kong_probe_result *r,
                       struct kgc_err *err)
{
    long status = 0;
    int rc = kgc_kong_client_get_root(c, &r->info, &status, err);
    r->reachable = status != 0;
    if (rc == 0) {
        rc = kgc_kong_client_get_status(c, r->hash, &status, err);
        r->reachable = r->reachable || status != 0;
    }
    r->ready = rc == 0;
}

static void log_event(const struct kgc_kong_event *ev)
{
    const struct kgc_kong_instance_state *s = ev->state;
    switch (ev->type) {
    case KGC_KONG_EV_READY:
        kgc_info(COMPONENT, "kong instance ready", KGC_F_STR("url", ev->url),
                 KGC_F_STR("version", s->info.version), KGC_F_STR("node_id", s->info.node_id),
                 KGC_F_STR("hash", s->hash),
                 KGC_F_INT("proxy_listeners", s->info.listeners.n_proxy),
                 KGC_F_INT("stream_listeners", s->info.listeners.n_stream));
        break;
    case KGC_KONG_EV_UNREACHABLE:
        kgc_warn(COMPONENT, "kong instance unreachable", KGC_F_STR("url", ev->url),
                 KGC_F_STR("error", ev->reason));
        break;
    case KGC_KONG_EV_RESTARTED:
        kgc_info(COMPONENT, "kong instance restarted", KGC_F_STR("url", ev->url),
                 KGC_F_STR("reason", ev->reason));
        break;
    default:
        kgc_debug(COMPONENT, "kong instance event", KGC_F_STR("url", ev->url),
                  KGC_F_STR("event", kgc_kong_event_name(ev->type)), KGC_F_STR("hash", s->hash));
        break;
    }
}

static void emit_pending(struct instance *in, const struct kgc_kong_instance_state *snap,
                         const struct kgc_kong_probe_events *p)
{
    for (size_t i = 0; i < p->n; i++) {
        struct kgc_kong_event ev = {
            .type = p->type[i],
            .url = in->url,
            .state = snap,
            .prev_hash = p->prev_hash,
            .prev_node_id = p->prev_node_id,
            .reason = (p->type[i] == KGC_KONG_EV_UNREACHABLE || p->type[i] == KGC_KONG_EV_RESTARTED)
                          ? p->reason
                          : "",
        };
        log_event(&ev);
        emit(in->kong, &ev);
    }
}

/* ---- the prober thread ------------------------------------------------------------------------
 */

static void *prober_main(void *arg)
{
    struct instance *in = arg;
    struct kgc_kong *k = in->kong;
    const struct kgc_clock *clock = k->opts.clock;
    char name[16];
    snprintf(name, sizeof(name), "kgc-probe-%u", in->id % 100000);
    pthread_setname_np(pthread_self(), name);

    struct kgc_kong_client *c = NULL;
    pthread_mutex_lock(&in->mu);
    for (;;) {
        /* Until the machine's next time, a probe_now (its flag) or a stop. */
        kgc_base_wait_until(&in->cond, &in->mu, clock, kgc_kong_probe_state_next_ns(&in->ps),
                            &in->stopping, &in->ps.probe_now);
        if (in->stopping)
            break;
        kgc_kong_probe_state_begin(&in->ps, kgc_clock_now(clock));
        pthread_mutex_unlock(&in->mu);

        struct kgc_kong_probe_result r;
        struct kgc_err err = {0};
        memset(&r, 0, sizeof(r));
        if (!c && kgc_kong_client_new(in->url, &k->opts.client, &c, &err) == 0)
            kgc_kong_client_set_abort_flag(c, &in->abort_flag);
        if (c)
            probe_once(c, &r, &err);
        if (err.code == KGC_ESHUTDOWN) {
            kgc_kong_info_free(&r.info);
            pthread_mutex_lock(&in->mu);
            break;
        }
        r.error = err.msg;
        r.wall_ms = kgc_base_wall_ms();

        struct kgc_kong_probe_events ev;
        struct kgc_kong_instance_state snap;
        bool have_snap = false;
        pthread_mutex_lock(&in->mu);
        kgc_kong_probe_state_apply(&in->ps, &r, kgc_clock_now(clock), &ev);
        if (ev.n)
            have_snap = state_copy(&snap, &in->ps.state) == 0;
        pthread_mutex_unlock(&in->mu);
        if (have_snap) {
            emit_pending(in, &snap, &ev);
            kgc_kong_instance_state_free(&snap);
        } else if (ev.n) {
            kgc_error(COMPONENT, "out of memory: kong events dropped", KGC_F_STR("url", in->url));
        }
        pthread_mutex_lock(&in->mu);
    }
    pthread_mutex_unlock(&in->mu);
    kgc_kong_client_free(c);
    return NULL;
}

/* ---- instances ------------------------------------------------------------------------------- */

static struct instance *instance_new(struct kgc_kong *k, const char *url, unsigned id)
{
    struct instance *in = calloc(1, sizeof(*in));
    if (!in)
        return NULL;
    in->kong = k;
    in->id = id;
    snprintf(in->url, sizeof(in->url), "%s", url);
    kgc_kong_probe_state_init(&in->ps, url, &k->opts);
    kgc_base_cond_init(&in->cond);
    pthread_mutex_init(&in->mu, NULL);
    return in;
}

static int instance_start(struct instance *in)
{
    int rc = pthread_create(&in->thread, NULL, prober_main, in);
    if (rc)
        return -rc;
    in->thread_started = true;
    return 0;
}

static void instance_stop(struct instance *in)
{
    pthread_mutex_lock(&in->mu);
    in->stopping = true;
    __atomic_store_n(&in->abort_flag, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->mu);
    if (in->thread_started) {
        pthread_join(in->thread, NULL);
        in->thread_started = false;
    }
}

static void instance_free(struct instance *in)
{
    if (!in)
        return;
    kgc_kong_probe_state_free(&in->ps);
    pthread_cond_destroy(&in->cond);
    pthread_mutex_destroy(&in->mu);
    free(in);
}

/* Stops, emits REMOVED and frees. */
static void instance_remove(struct kgc_kong *k, struct instance *in)
{
    instance_stop(in);
    struct kgc_kong_event ev = {
        .type = KGC_KONG_EV_REMOVED,
        .url = in->url,
        .state = &in->ps.state,
        .prev_hash = "",
        .prev_node_id = "",
        .reason = "",
    };
    kgc_info(COMPONENT, "kong instance removed", KGC_F_STR("url", in->url));
    emit(k, &ev);
    instance_free(in);
}

/* ---- the registry -----------------------------------------------------------------------------
 */

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

static char **dup_list(const char *const *v, size_t n, bool *oom)
{
    if (!n)
        return NULL;
    char **d = calloc(n, sizeof(*d));
    if (!d) {
        *oom = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        d[i] = dup_or_null(v[i], oom);
    return d;
}

static void free_list(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int kgc_kong_new(const struct kgc_kong_options *o, struct kgc_kong **out, struct kgc_err *err)
{
    *out = NULL;
    struct kgc_kong *k = calloc(1, sizeof(*k));
    if (!k)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    bool oom = false;
    k->opts = *o;
    k->urls = dup_list(o->admin_urls, o->n_admin_urls, &oom);
    k->headers = dup_list(o->client.headers, o->client.n_headers, &oom);
    k->admin_service = dup_or_null(o->admin_service, &oom);
    k->admin_port_name = dup_or_null(o->admin_port_name ? o->admin_port_name : "admin", &oom);
    k->ca_file = dup_or_null(o->client.ca_file, &oom);
    k->cert_file = dup_or_null(o->client.cert_file, &oom);
    k->key_file = dup_or_null(o->client.key_file, &oom);
    k->server_name = dup_or_null(o->client.tls_server_name, &oom);
    /* The static admin URLs keep their userinfo here only: every client of the registry's
     * options (probers, the syncer's) finds its credentials by display URL. */
    if (!o->client.n_credential_urls) {
        k->opts.client.n_credential_urls = o->n_admin_urls;
        k->cred_urls = dup_list(o->admin_urls, o->n_admin_urls, &oom);
    } else {
        k->cred_urls = dup_list(o->client.credential_urls, o->client.n_credential_urls, &oom);
    }
    k->opts.client.credential_urls = (const char *const *)k->cred_urls;
    k->opts.client.tls_server_name = k->server_name;
    k->opts.admin_urls = (const char *const *)k->urls;
    k->opts.client.headers = (const char *const *)k->headers;
    k->opts.admin_service = k->admin_service;
    k->opts.admin_port_name = k->admin_port_name;
    k->opts.client.ca_file = k->ca_file;
    k->opts.client.cert_file = k->cert_file;
    k->opts.client.key_file = k->key_file;
    if (!k->opts.probe_interval_ms)
        k->opts.probe_interval_ms = 1000;
    if (!k->opts.down_probe_interval_ms)
        k->opts.down_probe_interval_ms = 200;
    pthread_mutex_init(&k->set_mu, NULL);
    pthread_mutex_init(&k->mu, NULL);
    pthread_mutex_init(&k->sub_mu, NULL);
    if (oom) {
        kgc_kong_free(k);
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    }
    *out = k;
    return 0;
}

const struct kgc_kong_options *kgc_kong_get_options(const struct kgc_kong *k)
{
    return &k->opts;
}

int kgc_kong_start(struct kgc_kong *k, struct kgc_err *err)
{
    if (!k->opts.n_admin_urls)
        return 0;
    return kgc_kong_set_instances(k, k->opts.admin_urls, k->opts.n_admin_urls, err);
}

static int url_cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static struct instance *find(struct instance **v, size_t n, const char *url)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i]->url, url) == 0)
            return v[i];
    return NULL;
}

static int inst_cmp(const void *a, const void *b)
{
    return strcmp((*(struct instance *const *)a)->url, (*(struct instance *const *)b)->url);
}

/* True when the instance at display URL url logs in with credentials of the options. */
static bool has_credentials(const struct kgc_kong *k, const char *url)
{
    char disp[KGC_KONG_URL_MAX];
    for (size_t i = 0; i < k->opts.client.n_credential_urls; i++) {
        struct kgc_err e = {0};
        if (kgc_kong_url_has_userinfo(k->opts.client.credential_urls[i]) &&
            kgc_kong_url_normalize(k->opts.client.credential_urls[i], disp, &e) == 0 &&
            strcmp(disp, url) == 0)
            return true;
    }
    return false;
}

/* Once per instance, when it joins: what would cross the network unprotected. Over plain http,
 * every push carries the TLS private keys of the Gateways' HTTPS listeners, plus the extra
 * headers (a Kong-Admin-Token) and the URL's credentials on every call; with verification off,
 * the same go to whoever answers. Header names are logged, never their values. */
static void warn_exposure(const struct kgc_kong *k, const char *url)
{
    char headers[256] = "";
    for (size_t i = 0; i < k->opts.client.n_headers; i++) {
        const char *h = k->opts.client.headers[i];
        size_t nl = strcspn(h, ":");
        size_t used = strlen(headers);
        snprintf(headers + used, sizeof(headers) - used, "%s%.*s", used ? "," : "",
                 (int)(nl > 64 ? 64 : nl), h);
    }
    bool creds = has_credentials(k, url);
    if (strncmp(url, "http://", 7) == 0) {
        kgc_warn(
            COMPONENT,
            "kong Admin API over plain http: configuration pushes (with the TLS private keys "
            "of HTTPS listeners), extra headers and credentials cross the network unencrypted; "
            "use an https admin URL (fine only for a Kong on the same host)",
            KGC_F_STR("url", url), KGC_F_STR("headers", headers[0] ? headers : "none"),
            KGC_F_STR("credentials", creds ? "yes" : "no"));
    } else if (k->opts.client.tls_skip_verify) {
        kgc_warn(
            COMPONENT,
            "kong Admin API TLS verification is off (--kong-admin-tls-skip-verify): anyone "
            "who can answer for this address receives the TLS private keys, extra headers and "
            "credentials; give --kong-admin-ca-file (and --kong-admin-tls-server-name) instead",
            KGC_F_STR("url", url), KGC_F_STR("headers", headers[0] ? headers : "none"),
            KGC_F_STR("credentials", creds ? "yes" : "no"));
    }
}

int kgc_kong_set_instances(struct kgc_kong *k, const char *const *urls, size_t n,
                           struct kgc_err *err)
{
    char(*norm)[KGC_KONG_URL_MAX] = n ? calloc(n, sizeof(*norm)) : NULL;
    if (n && !norm)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    size_t nn = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = kgc_kong_url_normalize(urls[i], norm[nn], err);
        if (rc) {
            free(norm);
            return rc;
        }
        nn++;
    }
    if (nn > 1)
        qsort(norm, nn, sizeof(*norm), url_cmp);
    size_t w = 0;
    for (size_t i = 0; i < nn; i++)
        if (w == 0 || strcmp(norm[w - 1], norm[i]) != 0)
            memmove(norm[w++], norm[i], KGC_KONG_URL_MAX);
    nn = w;

    pthread_mutex_lock(&k->set_mu);
    int rc = 0;
    if (k->stopped) {
        pthread_mutex_unlock(&k->set_mu);
        free(norm);
        return kgc_err_set(err, KGC_ESHUTDOWN, "kong: stopped");
    }
    struct instance **next = nn ? calloc(nn, sizeof(struct instance *)) : NULL;
    struct instance **added = nn ? calloc(nn, sizeof(struct instance *)) : NULL;
    struct instance **gone = NULL;
    size_t n_added = 0, n_gone = 0;
    if (nn && (!next || !added)) {
        rc = kgc_err_set(err, KGC_ENOMEM, "out of memory");
        goto out_unlock;
    }
    pthread_mutex_lock(&k->mu);
    struct instance **cur = k->inst;
    size_t n_cur = k->n_inst;
    unsigned id = k->next_id;
    pthread_mutex_unlock(&k->mu); /* only set_instances (serialised by set_mu) changes inst */
    for (size_t i = 0; i < nn; i++) {
        struct instance *in = find(cur, n_cur, norm[i]);
        if (!in) {
            in = instance_new(k, norm[i], id++);
            if (!in || (rc = instance_start(in))) {
                if (!in)
                    rc = KGC_ENOMEM;
                kgc_err_set(err, rc, "cannot start a prober for %s: %s", norm[i], kgc_err_str(rc));
                instance_free(in);
                goto out_undo;
            }
            added[n_added++] = in;
        }
        next[i] = in;
    }
    gone = n_cur ? calloc(n_cur, sizeof(struct instance *)) : NULL;
    if (n_cur && !gone) {
        rc = kgc_err_set(err, KGC_ENOMEM, "out of memory");
        goto out_undo;
    }
    for (size_t i = 0; i < n_cur; i++)
        if (!find(next, nn, cur[i]->url))
            gone[n_gone++] = cur[i];
    for (size_t i = 0; i < n_added; i++) {
        kgc_info(COMPONENT, "kong instance added", KGC_F_STR("url", added[i]->url));
        warn_exposure(k, added[i]->url);
    }
    if (nn > 1)
        qsort(next, nn, sizeof(struct instance *), inst_cmp);
    pthread_mutex_lock(&k->mu);
    k->inst = next;
    k->n_inst = nn;
    k->next_id = id;
    pthread_mutex_unlock(&k->mu);
    next = NULL;
    free(cur);
    for (size_t i = 0; i < n_gone; i++)
        instance_remove(k, gone[i]);
    goto out_unlock;
out_undo:
    for (size_t i = 0; i < n_added; i++) {
        instance_stop(added[i]);
        instance_free(added[i]);
    }
out_unlock:
    pthread_mutex_unlock(&k->set_mu);
    free(gone);
    free(added);
    free(next);
    free(norm);
    return rc;
}

int kgc_kong_states(struct kgc_kong *k, struct kgc_kong_instance_state **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&k->mu);
    size_t cnt = k->n_inst;
    struct kgc_kong_instance_state *v = cnt ? calloc(cnt, sizeof(*v)) : NULL;
    int rc = cnt && !v ? KGC_ENOMEM : 0;
    for (size_t i = 0; i < cnt && !rc; i++) {
        struct instance *in = k->inst[i];
        pthread_mutex_lock(&in->mu);
        rc = state_copy(&v[i], &in->ps.state);
        pthread_mutex_unlock(&in->mu);
    }
    pthread_mutex_unlock(&k->mu);
    if (rc) {
        kgc_kong_states_free(v, cnt);
        return rc;
    }
    *out = v;
    *n = cnt;
    return 0;
}

void kgc_kong_expect_empty(struct kgc_kong *k, const char *url, bool empty)
{
    char norm[KGC_KONG_URL_MAX];
    if (!k || !url || kgc_kong_url_normalize(url, norm, NULL) != 0)
        return;
    pthread_mutex_lock(&k->mu);
    struct instance *in = find(k->inst, k->n_inst, norm);
    if (in) {
        pthread_mutex_lock(&in->mu);
        kgc_kong_probe_state_expect_empty(&in->ps, empty);
        pthread_mutex_unlock(&in->mu);
    }
    pthread_mutex_unlock(&k->mu);
}

void kgc_kong_probe_now(struct kgc_kong *k)
{
    pthread_mutex_lock(&k->mu);
    for (size_t i = 0; i < k->n_inst; i++) {
        struct instance *in = k->inst[i];
        pthread_mutex_lock(&in->mu);
        kgc_kong_probe_state_wake(&in->ps);
        pthread_cond_broadcast(&in->cond);
        pthread_mutex_unlock(&in->mu);
    }
    pthread_mutex_unlock(&k->mu);
}

void kgc_kong_tick(struct kgc_kong *k)
{
    pthread_mutex_lock(&k->mu);
    for (size_t i = 0; i < k->n_inst; i++) {
        struct instance *in = k->inst[i];
        pthread_mutex_lock(&in->mu);
        pthread_cond_broadcast(&in->cond);
        pthread_mutex_unlock(&in->mu);
    }
    pthread_mutex_unlock(&k->mu);
}

void kgc_kong_stop(struct kgc_kong *k)
{
    pthread_mutex_lock(&k->set_mu);
    pthread_mutex_lock(&k->mu);
    struct instance **v = k->inst;
    size_t n = k->n_inst;
    pthread_mutex_unlock(&k->mu);
    /* Stop all first (each wakes at once), then join: the slowest call bounds the stop. */
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&v[i]->mu);
        v[i]->stopping = true;
        __atomic_store_n(&v[i]->abort_flag, 1, __ATOMIC_RELAXED);
        pthread_cond_broadcast(&v[i]->cond);
        pthread_mutex_unlock(&v[i]->mu);
    }
    for (size_t i = 0; i < n; i++)
        instance_stop(v[i]);
    k->stopped = true;
    pthread_mutex_unlock(&k->set_mu);
}

void kgc_kong_free(struct kgc_kong *k)
{
    if (!k)
        return;
    kgc_kong_stop(k);
    for (size_t i = 0; i < k->n_inst; i++)
        instance_free(k->inst[i]);
    free(k->inst);
    for (size_t i = 0; k->cred_urls && i < k->opts.client.n_credential_urls; i++)
        if (k->cred_urls[i])
            explicit_bzero(k->cred_urls[i], strlen(k->cred_urls[i]));
    for (size_t i = 0; k->urls && i < k->opts.n_admin_urls; i++)
        if (k->urls[i])
            explicit_bzero(k->urls[i], strlen(k->urls[i]));
    for (size_t i = 0; k->headers && i < k->opts.client.n_headers; i++)
        if (k->headers[i])
            explicit_bzero(k->headers[i], strlen(k->headers[i]));
    free_list(k->cred_urls, k->opts.client.n_credential_urls);
    free_list(k->urls, k->opts.n_admin_urls);
    free_list(k->headers, k->opts.client.n_headers);
    free(k->server_name);
    free(k->admin_service);
    free(k->admin_port_name);
    free(k->ca_file);
    free(k->cert_file);
    free(k->key_file);
    pthread_mutex_destroy(&k->set_mu);
    pthread_mutex_destroy(&k->mu);
    pthread_mutex_destroy(&k->sub_mu);
    free(k);
}

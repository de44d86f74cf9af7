/* kgc: parses options (flags and KGC_* environment), connects to the Kubernetes API, fills the
 * cache with informers, probes Kong, and runs the GatewayClass, Gateway and HTTPRoute
 * controllers until SIGTERM or SIGINT.
 * Exit codes: 0 clean stop, 2 bad usage, 1 fatal error (one clear log line). */
#include "kgc/cache.h"
#include "kgc/config.h"
#include "kgc/informer.h"
#include "kgc/k8s.h"
#include "kgc/kong.h"
#include "kgc/kongdiscovery.h"
#include "kgc/leader.h"
#include "kgc/listenercache.h"
#include "kgc/log.h"
#include "kgc/reconcile.h"
#include "kgc/secretref.h"
#include "kgc/sync.h"
#include "kgc/translate.h"
#include "kgc/server.h"

#include <curl/curl.h>
#include <json-c/json.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/prctl.h>
#include <stdlib.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

extern char **environ;

/* Everything the process runs, torn down in reverse order. */
struct app {
    struct kgc_config cfg;
    struct kgc_k8s_config *k8s_cfg;
    struct kgc_k8s_client *client;
    struct kgc_cache *cache;
    struct kgc_listenercache *lc;
    struct kgc_kong *kong;
    struct kgc_kongdiscovery *discovery;
    struct kgc_reconcile *reconciler;
    struct kgc_sync *syncer;
    struct kgc_secretref *secretref;     /* the Secret values Kong plugins' configFrom name */
    struct kgc_k8s_client *lease_client; /* unthrottled, short timeout: renewals never queue */
    struct kgc_leader *leader;           /* NULL without --leader-elect */
    struct kgc_informer *informers[KGC_API_KIND_COUNT];
    struct kgc_server_app srv_app;       /* what the endpoints read (borrows the above) */
    struct kgc_server_provider provider; /* callbacks over srv_app */
    struct kgc_server *http;             /* --http-listen: /healthz /readyz /metrics */
    struct kgc_server *probe;            /* --probe-listen: /healthz /readyz */
    struct kgc_server *debug;            /* --debug-listen: /debug/... */
    struct kgc_server *invalid_backend;  /* --invalid-backend-listen: 500 for every request */
    char **header_file_lines;            /* --kong-admin-header-file */
    size_t n_header_file_lines;
    const char **kong_headers; /* --kong-admin-header then the file's lines (borrowed) */
};

/* configFrom Secrets are re-read this often (and whenever a plugin object changes). */
#define SECRETREF_PERIOD_NS (10ull * KGC_NS_PER_S)

static void secretref_changed(void *ctx)
{
    struct app *a = ctx;
    kgc_sync_mark_dirty(a->syncer);
}

static const char *empty_to_null(const char *s)
{
    return s && *s ? s : NULL;
}

static int fatal(const char *what, const struct kgc_err *err)
{
    kgc_error("main", what, KGC_F_STR("error", err->msg));
    return 1;
}

/* Both listen options, checked before anything starts so a typo is a usage error (exit 2). */
static int check_listen_options(const struct kgc_config *c, struct kgc_err *err)
{
    char host[256];
    uint16_t port;
    if (c->http_listen && *c->http_listen &&
        kgc_server_parse_listen(c->http_listen, host, sizeof(host), &port, err) != 0)
        return kgc_err_wrap(err, "--http-listen");
    if (c->debug_listen && *c->debug_listen &&
        kgc_server_parse_listen(c->debug_listen, host, sizeof(host), &port, err) != 0)
        return kgc_err_wrap(err, "--debug-listen");
    if (c->probe_listen && *c->probe_listen &&
        kgc_server_parse_listen(c->probe_listen, host, sizeof(host), &port, err) != 0)
        return kgc_err_wrap(err, "--probe-listen");
    if (c->invalid_backend_listen && *c->invalid_backend_listen &&
        kgc_server_parse_listen(c->invalid_backend_listen, host, sizeof(host), &port, err) != 0)
        return kgc_err_wrap(err, "--invalid-backend-listen");
    /* the target is what Kong dials: HOST:PORT or [V6]:PORT with a real port */
    if (c->invalid_backend_target && *c->invalid_backend_target &&
        !kgc_translate_target_valid(c->invalid_backend_target))
        return kgc_err_set(err, KGC_EUSAGE,
                           "--invalid-backend-target \"%.100s\": want HOST:PORT (an IP or a "
                           "lower-case DNS name, port 1-65535)",
                           c->invalid_backend_target);
    return 0;
}

/* --- hooks between the modules (ctx is the app) --------------------------------------------- */

static void on_started_leading(void *ctx)
{
    struct app *a = ctx;
    kgc_info("main", "became the leader: writing status and pushing configuration");
    kgc_reconcile_set_leader(a->reconciler, true);
    kgc_sync_set_leader(a->syncer, true);
}

static void on_stopped_leading(void *ctx)
{
    struct app *a = ctx;
    kgc_warn("main", "not the leader any more: status writes and pushes stop");
    kgc_reconcile_set_leader(a->reconciler, false);
    kgc_sync_set_leader(a->syncer, false);
}

static void on_new_leader(void *ctx, const char *identity)
{
    (void)ctx;
    kgc_info("main", "leader observed", KGC_F_STR("identity", identity));
}

/* The HTTP endpoints over the running modules, started while the caches sync (readiness answers
 * 503 until they did). The same address for both serves every route on one server. */
static int start_servers(struct app *a)
{
    struct kgc_err err = {0};
    const char *http = empty_to_null(a->cfg.http_listen);
    const char *debug = empty_to_null(a->cfg.debug_listen);
    bool shared = http && debug && strcmp(http, debug) == 0;
    struct kgc_server_app *sa = &a->srv_app;
    sa->metrics.reconciler = a->reconciler;
    sa->metrics.informers = a->informers;
    sa->metrics.n_informers = KGC_API_KIND_COUNT;
    sa->metrics.cache = a->cache;
    sa->metrics.kong = a->kong;
    sa->metrics.lc = a->lc;
    sa->metrics.client = a->client;
    sa->metrics.version = KGC_VERSION;
    sa->metrics.sync = a->syncer;
    if (a->leader) { /* --leader-elect: created, not started yet (not the leader until elected) */
        sa->metrics.is_leader = kgc_leader_hook_is_leader;
        sa->metrics.is_leader_ctx = a->leader;
    }
    sa->config_pushed = kgc_sync_hook_pushed;
    sa->config_dump = kgc_sync_hook_dump;
    sa->config_ctx = a->syncer;
    kgc_server_app_provider(sa, &a->provider); /* reads sa at each request */

    struct kgc_server_options so;
    /* the invalid-backend endpoint first: /metrics counts its requests */
    const char *invalid = empty_to_null(a->cfg.invalid_backend_listen);
    if (invalid) {
        kgc_server_options_default(&so);
        so.name = "invalid-backend";
        so.listen = invalid;
        so.routes = KGC_SERVER_ROUTES_INVALID_BACKEND;
        so.max_connections = 256;    /* it takes data-plane traffic */
        so.per_ip_connections = 256; /* all of it from the few Kong pods */
        if (kgc_server_start(&so, &a->provider, &a->invalid_backend, &err) != 0)
            return fatal("cannot start the invalid-backend endpoint", &err);
        sa->metrics.invalid_backend_requests = kgc_server_hook_requests;
        sa->metrics.invalid_backend_ctx = a->invalid_backend;
    }

    if (http) {
        kgc_server_options_default(&so);
        so.name = shared ? "http+debug" : "http";
        so.listen = http;
        so.routes = KGC_SERVER_ROUTES_HEALTH | (shared ? KGC_SERVER_ROUTES_DEBUG : 0);
        if (kgc_server_start(&so, &a->provider, &a->http, &err) != 0)
            return fatal("cannot start the HTTP server", &err);
    }
    if (debug && !shared) {
        kgc_server_options_default(&so);
        so.name = "debug";
        so.listen = debug;
        so.routes = KGC_SERVER_ROUTES_DEBUG;
        so.request_timeout_s = 60; /* a whole-cache dump through kubectl port-forward */
        if (kgc_server_start(&so, &a->provider, &a->debug, &err) != 0)
            return fatal("cannot start the debug HTTP server", &err);
    }
    const char *probe = empty_to_null(a->cfg.probe_listen);
    if (probe) {
        /* Few, short connections: the kubelet opens one per probe and waits 1 s by default. */
        kgc_server_options_default(&so);
        so.name = "probe";
        so.listen = probe;
        so.routes = KGC_SERVER_ROUTES_PROBES;
        so.max_connections = 16;
        so.per_ip_connections = 4;
        so.idle_timeout_s = 5;
        so.request_timeout_s = 3;
        if (kgc_server_start(&so, &a->provider, &a->probe, &err) != 0)
            return fatal("cannot start the probe HTTP server", &err);
    }
    return 0;
}

static int start(struct app *a)
{
    struct kgc_err err = {0};
    const struct kgc_config *c = &a->cfg;

    struct kgc_k8s_options ko;
    kgc_k8s_options_default(&ko);
    ko.kubeconfig = empty_to_null(c->kubeconfig);
    ko.qps = c->apiserver_qps;
    ko.burst = (uint32_t)c->apiserver_burst;
    ko.timeout_ns = c->k8s_timeout_ns;
    ko.watch_event_max_bytes = (size_t)c->watch_event_max_bytes;
    if (kgc_k8s_config_load(&ko, &a->k8s_cfg, &err) != 0)
        return fatal("cannot configure the Kubernetes API client", &err);
    if (kgc_k8s_client_new(a->k8s_cfg, &ko, &a->client, &err) != 0)
        return fatal("cannot create the Kubernetes API client", &err);
    kgc_info("main", "kubernetes API", KGC_F_STR("server", kgc_k8s_client_server(a->client)),
             KGC_F_STR("source", a->k8s_cfg->source));
    if (a->k8s_cfg->insecure)
        kgc_warn("main",
                 "Kubernetes API TLS verification is off (kubeconfig insecure-skip-tls-verify): "
                 "whoever answers for the API server gets kgc's credentials and feeds it objects",
                 KGC_F_STR("server", kgc_k8s_client_server(a->client)));

    a->cache = kgc_cache_new();
    if (!a->cache)
        return fatal("out of memory", &err);

    struct kgc_listenercache_options lo;
    kgc_listenercache_options_default(&lo);
    lo.dir = c->listener_cache_dir;
    lo.max_mb = (unsigned)c->listener_cache_max_mb;
    int lrc = kgc_listenercache_open(&lo, &a->lc, &err);
    if (lrc != 0 && lrc != KGC_ENOMEM && lo.dir && *lo.dir) {
        /* A full disk or an unwritable directory costs the cache, not the controller: the
         * listeners then come from live Kong instances only (as with --listener-cache-dir ""). */
        kgc_error("main",
                  "listener cache unusable: running without the persistent cache (last-known Kong "
                  "listeners will not survive kgc restarts); free space or fix the directory and "
                  "restart kgc to get it back",
                  KGC_F_STR("error", err.msg));
        lo.dir = NULL;
        lrc = kgc_listenercache_open(&lo, &a->lc, &err);
    }
    if (lrc != 0)
        return fatal("cannot open the listener cache", &err);

    struct kgc_kong_options kopts;
    kgc_kong_options_default(&kopts);
    kopts.admin_urls = (const char *const *)c->kong_admin_urls.items;
    kopts.n_admin_urls = c->kong_admin_urls.len;
    kopts.admin_service = empty_to_null(c->kong_admin_service);
    kopts.admin_port_name = c->kong_admin_port_name;
    kopts.client.ca_file = empty_to_null(c->kong_admin_ca_file);
    kopts.client.cert_file = empty_to_null(c->kong_admin_cert_file);
    kopts.client.key_file = empty_to_null(c->kong_admin_key_file);
    kopts.client.tls_skip_verify = c->kong_admin_tls_skip_verify;
    if (empty_to_null(c->kong_admin_header_file) &&
        kgc_kong_read_header_file(c->kong_admin_header_file, &a->header_file_lines,
                                  &a->n_header_file_lines, &err) != 0)
        return fatal("bad Kong Admin API options", &err);
    size_t n_headers = c->kong_admin_headers.len + a->n_header_file_lines;
    a->kong_headers = calloc(n_headers ? n_headers : 1, sizeof(*a->kong_headers));
    if (!a->kong_headers)
        return fatal("out of memory", &err);
    for (size_t i = 0; i < c->kong_admin_headers.len; i++)
        a->kong_headers[i] = c->kong_admin_headers.items[i];
    for (size_t i = 0; i < a->n_header_file_lines; i++)
        a->kong_headers[c->kong_admin_headers.len + i] = a->header_file_lines[i];
    kopts.client.headers = a->kong_headers;
    kopts.client.n_headers = n_headers;
    kopts.client.tls_server_name = empty_to_null(c->kong_admin_tls_server_name);
    kopts.client.request_timeout_ms = c->kong_probe_timeout_ns / KGC_NS_PER_MS;
    kopts.probe_interval_ms = c->kong_probe_interval_ns / KGC_NS_PER_MS;
    kopts.down_probe_interval_ms = c->kong_down_probe_interval_ns / KGC_NS_PER_MS;
    if (kgc_kong_options_validate(&kopts, &err) != 0)
        return fatal("bad Kong Admin API options", &err);
    if (kgc_kong_new(&kopts, &a->kong, &err) != 0)
        return fatal("cannot create the Kong registry", &err);
    if (kgc_listenercache_attach(a->lc, a->kong) != 0)
        return fatal("cannot attach the listener cache to Kong events", &err);

    /* The syncer subscribes to Kong events and to the listener view at creation (before
     * kgc_kong_start); the reconciler to the view at creation and to the syncer below. */
    struct kgc_status_lookup lookup;
    kgc_reconcile_cache_lookup(a->cache, &lookup);
    struct kgc_secretref_options sro = {.client = a->client,
                                        .base = lookup,
                                        .period_ns = SECRETREF_PERIOD_NS,
                                        .on_change = secretref_changed,
                                        .on_change_ctx = a};
    if (kgc_secretref_new(&sro, &a->secretref, &err) != 0 ||
        kgc_secretref_watch_cache(a->secretref, a->cache) != 0)
        return fatal("cannot create the configFrom Secret reader", &err);
    kgc_secretref_lookup(a->secretref, &lookup);
    struct kgc_sync_options so;
    kgc_sync_options_default(&so);
    so.debounce_ns = c->sync_debounce_ns;
    so.max_delay_ns = c->sync_max_delay_ns;
    so.push_concurrency = (unsigned)c->sync_push_concurrency;
    so.incremental = c->sync_incremental;
    so.controller_name = c->controller_name;
    so.client = kopts.client;
    so.invalid_backend_target = empty_to_null(c->invalid_backend_target);
    so.publish_service = empty_to_null(c->publish_service);
    if (kgc_sync_new(&so, &lookup, a->kong, a->lc, &a->syncer, &err) != 0)
        return fatal("cannot create the config syncer", &err);
    if (kgc_sync_watch_cache(a->syncer, a->cache) != 0)
        return fatal("cannot watch the cache for the config syncer", &err);

    struct kgc_reconcile_options ro;
    kgc_reconcile_options_default(&ro);
    ro.controller_name = c->controller_name;
    ro.workers[KGC_RECONCILE_GATEWAYCLASS] = (unsigned)c->gatewayclass_workers;
    ro.workers[KGC_RECONCILE_GATEWAY] = (unsigned)c->gateway_workers;
    ro.workers[KGC_RECONCILE_HTTPROUTE] = (unsigned)c->httproute_workers;
    ro.workers[KGC_RECONCILE_GRPCROUTE] = (unsigned)c->grpcroute_workers;
    ro.workers[KGC_RECONCILE_KONGPLUGIN] = (unsigned)c->kongplugin_workers;
    ro.workers[KGC_RECONCILE_BACKENDTLSPOLICY] = (unsigned)c->backendtlspolicy_workers;
    ro.workers[KGC_RECONCILE_LISTENERSET] = (unsigned)c->listenerset_workers;
    ro.workers[KGC_RECONCILE_TLSROUTE] = (unsigned)c->tlsroute_workers;
    ro.workers[KGC_RECONCILE_TCPROUTE] = (unsigned)c->tcproute_workers;
    ro.workers[KGC_RECONCILE_UDPROUTE] = (unsigned)c->udproute_workers;
    ro.publish_service = empty_to_null(c->publish_service);
    ro.publish_addresses = (const char *const *)c->publish_addresses.items;
    ro.n_publish_addresses = c->publish_addresses.len;
    ro.requeue_on_kong_ready = c->requeue_on_kong_ready;
    ro.rate_limit.base_delay_ns = c->queue_base_delay_ns;
    ro.rate_limit.max_delay_ns = c->queue_max_delay_ns;
    ro.rate_limit.bucket_qps = c->queue_qps;
    ro.rate_limit.bucket_burst = (uint32_t)c->queue_burst;
    ro.programmed = kgc_sync_gateway_programmed;
    ro.programmed_ctx = a->syncer;
    ro.route_verdict = kgc_sync_route_verdict;
    ro.route_verdict_ctx = a->syncer;
    ro.push_expected = kgc_sync_push_expected; /* one status write per Gateway at start-up */
    ro.plugin_status = kgc_sync_plugin_status; /* KongPlugin/KongClusterPlugin Programmed */
    if (kgc_reconcile_new(&ro, a->cache, a->client, a->lc, &a->reconciler, &err) != 0)
        return fatal("cannot create the controllers", &err);
    if (kgc_sync_subscribe(a->syncer, kgc_reconcile_on_sync_change, a->reconciler) != 0)
        return fatal("cannot subscribe the controllers to the config syncer", &err);
    if (kopts.admin_service &&
        kgc_kongdiscovery_new(a->kong, a->cache, kopts.admin_service, kopts.admin_port_name,
                              &a->discovery, &err) != 0)
        return fatal("cannot watch the Kong admin Service", &err);

    if (c->leader_elect) {
        /* Until elected, compute but neither write status nor push configuration (the elector
         * starts once the caches synced; the endpoints ask it who leads from the start). */
        kgc_reconcile_set_leader(a->reconciler, false);
        struct kgc_k8s_options lko;
        kgc_k8s_options_default(&lko);
        lko.kubeconfig = empty_to_null(c->kubeconfig);
        lko.qps = 0; /* a renewal must never queue behind status writes */
        lko.timeout_ns = c->election_retry_period_ns;
        if (kgc_k8s_client_new(a->k8s_cfg, &lko, &a->lease_client, &err) != 0)
            return fatal("cannot create the leader election client", &err);
        struct kgc_leader_options elo;
        kgc_leader_options_default(&elo);
        elo.namespace =
            empty_to_null(c->election_namespace) ? c->election_namespace : a->k8s_cfg->namespace;
        elo.name = c->election_id;
        elo.lease_duration_ns = c->election_lease_duration_ns;
        elo.renew_deadline_ns = c->election_renew_deadline_ns;
        elo.retry_period_ns = c->election_retry_period_ns;
        elo.on_started_leading = on_started_leading;
        elo.on_stopped_leading = on_stopped_leading;
        elo.on_new_leader = on_new_leader;
        elo.ctx = a;
        if (kgc_leader_new(a->lease_client, &elo, &a->leader, &err) != 0)
            return fatal("cannot set up leader election", &err);
    }

    /* The Kong probers first: Kong's listeners are known by the time the caches synced, so the
     * first translation has them (started after the sync, the first probe's answer came just
     * after the syncer's first translation, which then had to be done again: ~0.2 s of CPU and
     * up to 1 s on a loaded machine before the first push; docs/benchmarks.md). Every
     * subscriber (listener cache, syncer, reconciler) is in place; none of them needs the
     * caches to take an event. */
    if (kgc_kong_start(a->kong, &err) != 0)
        return fatal("cannot start the Kong probers", &err);
    struct kgc_informer_options io;
    kgc_informer_options_default(&io);
    io.namespace = empty_to_null(c->watch_namespace);
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        if (kgc_informer_new(a->client, a->cache, (enum kgc_api_kind)k, &io, &a->informers[k],
                             &err) != 0 ||
            kgc_informer_start(a->informers[k], &err) != 0)
            return fatal("cannot start an informer", &err);
    }
    /* Serve /healthz (and /readyz: 503) while the caches sync, so probes see a live process. */
    if (start_servers(a) != 0)
        return 1;
    int rc = kgc_informer_wait_synced(a->informers, KGC_API_KIND_COUNT, c->cache_sync_timeout_ns);
    if (rc != 0) {
        kgc_err_set(&err, rc, "caches did not sync within --cache-sync-timeout (%llus)",
                    (unsigned long long)(c->cache_sync_timeout_ns / KGC_NS_PER_S));
        return fatal("cannot sync the caches", &err);
    }
    kgc_info("main", "caches synced");
    kgc_secretref_refresh(a->secretref); /* the first push has the configFrom values */
    if (kgc_secretref_start(a->secretref, &err) != 0)
        return fatal("cannot start the configFrom Secret reader", &err);
    if (kgc_sync_start(a->syncer, &err) != 0)
        return fatal("cannot start the config syncer", &err);
    kgc_sync_mark_dirty(a->syncer);

    if (a->leader) {
        if (kgc_leader_start(a->leader, &err) != 0)
            return fatal("cannot start leader election", &err);
    } else {
        kgc_sync_set_leader(a->syncer, true);
    }
    if (kgc_reconcile_start(a->reconciler, &err) != 0)
        return fatal("cannot start the controllers", &err);
    return 0;
}

static void stop(struct app *a)
{
    /* The endpoints read every module below: they go first. */
    kgc_server_stop(a->probe);
    kgc_server_stop(a->debug);
    kgc_server_stop(a->http); /* its /metrics reads the invalid-backend endpoint's counter */
    kgc_server_stop(a->invalid_backend);
    if (a->reconciler)
        kgc_reconcile_stop(a->reconciler, a->cfg.shutdown_timeout_ns);
    /* Releasing the Lease lets a standby take over at once; writes have stopped above. */
    kgc_leader_free(a->leader);
    kgc_k8s_client_free(a->lease_client);
    for (int k = 0; k < KGC_API_KIND_COUNT; k++)
        kgc_informer_stop(a->informers[k]);
    if (a->kong)
        kgc_kong_stop(a->kong);
    kgc_secretref_stop(a->secretref); /* it marks the syncer dirty */
    kgc_sync_free(a->syncer);
    kgc_secretref_free(a->secretref); /* the syncer's lookup reads it */
    kgc_reconcile_free(a->reconciler);
    kgc_kongdiscovery_free(a->discovery);
    for (int k = 0; k < KGC_API_KIND_COUNT; k++)
        kgc_informer_free(a->informers[k]);
    kgc_kong_free(a->kong);
    kgc_listenercache_close(a->lc);
    kgc_cache_free(a->cache);
    kgc_k8s_client_free(a->client);
    kgc_k8s_config_free(a->k8s_cfg);
    free(a->kong_headers);
    kgc_kong_header_lines_free(a->header_file_lines, a->n_header_file_lines);
}

/* glibc gives a process up to 8 malloc arenas per core (mallopt(3), M_ARENA_MAX; 16 on two
 * cores), each keeping the memory its threads freed. kgc's threads (informers, workers, syncer,
 * servers) mostly wait on the network and rarely allocate at the same moment, and most of their
 * small blocks come from glibc's per-thread caches without the arena's lock. With two arenas the
 * 1k-Gateway/10k-route initial sync peaked 2 MiB lower than with sixteen (55 vs 57 MiB), with
 * one 47.9-48.1 MiB against two's 48.5-50.8 (alternated runs: the free fragments of two heaps),
 * for ~10 % more CPU during that sync (lock contention; a route change's CPU unchanged):
 * docs/benchmarks.md "Memory" and "Where #19's goals stand, session 10", docs/operations.md.
 * MALLOC_ARENA_MAX or GLIBC_TUNABLES=glibc.malloc.arena_max, when set, win. */
static void limit_malloc_arenas(void)
{
#ifdef __GLIBC__
    const char *t = getenv("GLIBC_TUNABLES");
    if (!getenv("MALLOC_ARENA_MAX") && !(t && strstr(t, "arena_max")))
        mallopt(M_ARENA_MAX, 1);
#endif
}

int main(int argc, char **argv)
{
    limit_malloc_arenas();
    struct app a;
    memset(&a, 0, sizeof(a));
    struct kgc_err err = {0};
    enum kgc_config_action action;
    if (kgc_config_parse(&a.cfg, argc, argv, environ, &action, &err) != 0) {
        fprintf(stderr, "kgc: %s\n", err.msg);
        kgc_config_free(&a.cfg);
        return 2;
    }
    if (action == KGC_CONFIG_RUN && check_listen_options(&a.cfg, &err) != 0) {
        fprintf(stderr, "kgc: %s\n", err.msg);
        kgc_config_free(&a.cfg);
        return 2;
    }
    if (action != KGC_CONFIG_RUN) {
        if (action == KGC_CONFIG_HELP)
            kgc_config_print_help(stdout, "kgc");
        else
            printf("kgc %s\n", KGC_VERSION);
        kgc_config_free(&a.cfg);
        return 0;
    }
    kgc_log_setup(a.cfg.log_level, a.cfg.log_format, 2);
    /* Before any key or token is read: no core file, and no ptrace or /proc/PID/mem by other
     * processes of the same user (prctl(2): PR_SET_DUMPABLE 0 makes /proc/PID files root-owned
     * and core dumps are not produced). --allow-core-dumps keeps them for debugging. */
    if (!a.cfg.allow_core_dumps && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        kgc_warn("main", "cannot make the process non-dumpable (prctl PR_SET_DUMPABLE)",
                 KGC_F_STR("error", strerror(errno)));

    /* Signals are taken by sigwait in this thread only: block them before any thread starts. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    kgc_info("main", "kgc starting", KGC_F_STR("version", KGC_VERSION));
    int rc = start(&a);
    if (rc == 0) {
        int sig = 0;
        sigwait(&sigs, &sig);
        kgc_info("main", "signal received: stopping", KGC_F_INT("signal", sig));
        /* A second signal during the drain exits at once. */
        pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
    }
    stop(&a);
    curl_global_cleanup();
    kgc_config_free(&a.cfg);
    if (rc == 0)
        kgc_info("main", "stopped");
    return rc;
}

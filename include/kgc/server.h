/* server — kgc's HTTP endpoints on libmicrohttpd: health, readiness and Prometheus metrics
 * (--http-listen), and the debug dumps (--debug-listen).
 *
 *   GET /healthz                       200 {"status":"ok"} while the process serves requests
 *   GET /readyz                        200 {"status":"ready"} | 503 {"status":"not ready",
 *                                      "reason":...}: every cache synced (and, when a config
 *                                      syncer is wired and this process leads, a config pushed)
 *   GET /metrics                       Prometheus text format 0.0.4 (kgc/metrics.h)
 *   GET /debug/cache                   every cached object: {"<plural>": [object, ...], ...}
 *   GET /debug/cache/<kind>            one kind (kind = lower-case plural: gateways, httproutes,
 *                                      services, secrets, namespaces, ...)
 *   GET /debug/cache/<kind>/<ns>       a namespaced kind in one namespace
 *   GET /debug/cache/<kind>/<ns>/<n>   one object (404 when it is not cached)
 *   GET /debug/cache/<kind>/<n>        one object of a cluster-scoped kind (404 when not cached)
 *   GET /debug/listeners               the listener view and, per Kong instance, its listeners,
 *                                      live/cached, age and prober state
 *   GET /debug/queue                   per work queue: counts, keys waiting / in progress /
 *                                      delayed with their requeue counts
 *   GET /debug/config                  the last configuration pushed and Kong's answer
 *
 * Debug answers are JSON (`?pretty=1` indents them); Secret data is always "<redacted>". An
 * unknown path answers 404 {"error":"not found","path":...}; a method other than GET or HEAD
 * answers 405 JSON. A trailing slash is ignored. The answers come from a provider (a struct of
 * callbacks), so routing is testable without the application; kgc_server_app_provider() is the
 * provider over the running process's modules.
 *
 * Threads: libmicrohttpd's listening thread, one thread per connection (bounded by
 * max_connections, and per client address by per_ip_connections) and a watchdog thread; every
 * provider callback must be thread-safe. Handlers only read memory (short locks, no network
 * I/O), and every answer is capped at max_body bytes.
 *
 * Hostile clients: libmicrohttpd's connection timeout only counts idle time, so a client that
 * sends one byte of its request every few seconds would hold a connection forever. The watchdog
 * closes (shutdown(2)) every connection that has not received a whole request within
 * request_timeout_s of connecting or of its previous answer, or has not sent its answer within
 * request_timeout_s of the request. Warnings (refused connections, closed ones, libmicrohttpd's
 * own) are logged at most once per warn_interval_s per kind, with how many were suppressed. */
#ifndef KGC_SERVER_H
#define KGC_SERVER_H

#include "kgc/cache.h"
#include "kgc/err.h"
#include "kgc/informer.h"
#include "kgc/kong.h"
#include "kgc/listenercache.h"
#include "kgc/metrics.h"
#include "kgc/reconcile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KGC_SERVER_DEFAULT_HTTP_LISTEN  ":10254"
#define KGC_SERVER_DEFAULT_DEBUG_LISTEN "127.0.0.1:10256"
#define KGC_SERVER_DEFAULT_PROBE_LISTEN ":10253"

/* Route groups a server answers. */
#define KGC_SERVER_ROUTES_HEALTH 1u /* /healthz /readyz /metrics */
#define KGC_SERVER_ROUTES_DEBUG  2u /* /debug/... */
/* /healthz /readyz alone (--probe-listen): a listener of their own, so clients of /metrics (or a
 * flood of them) cannot take the connections the kubelet's probes need. */
#define KGC_SERVER_ROUTES_PROBES 8u
/* --invalid-backend-listen: every request, whatever its method and path, answers 500 with
 * KGC_SERVER_INVALID_BACKEND_BODY (text/plain). Kong sends it the share of a rule's traffic that
 * belongs to invalid backendRefs (kgc/translate.h, invalid_backend_target). Alone: no other
 * route group is served. */
#define KGC_SERVER_ROUTES_INVALID_BACKEND 4u
#define KGC_SERVER_INVALID_BACKEND_BODY   "kgc: no valid backend for this share of the route\n"

/* What a server answers with, through callbacks that get ctx. A NULL callback: see each. The
 * `char **out` callbacks return 0 with *out malloc'd (the server frees it) and *len, or a
 * negative code: KGC_ENOENT answers 404, anything else 500. */
struct kgc_server_provider {
    void *ctx;
    /* /readyz: true when ready; otherwise a one-line reason in reason[size]. NULL: ready. */
    bool (*ready)(void *ctx, char *reason, size_t size);
    /* /metrics: the Prometheus text. NULL: 404. */
    int (*metrics)(void *ctx, char **out, size_t *len);
    /* /debug/cache...: kind is a valid plural; namespace NULL or "" for all (and for a
     * cluster-scoped kind); name NULL for all. Secret data must be redacted. NULL: 404. */
    int (*cache)(void *ctx, const char *kind, const char *namespace, const char *name, bool pretty,
                 char **out, size_t *len);
    /* /debug/listeners. NULL: 404. */
    int (*listeners)(void *ctx, bool pretty, char **out, size_t *len);
    /* /debug/queue. NULL: 404. */
    int (*queues)(void *ctx, bool pretty, char **out, size_t *len);
    /* /debug/config. NULL: 200 {"pushed":false,"reason":"the config syncer is not running in
     * this build"}. */
    int (*config)(void *ctx, bool pretty, char **out, size_t *len);
};

/* One answer. body is malloc'd (free with kgc_server_response_free); content_type is static. */
struct kgc_server_response {
    unsigned status; /* HTTP status */
    const char *content_type;
    char *body;
    size_t len;
};

void kgc_server_response_free(struct kgc_server_response *r);

/* Routes one request without any socket: what the server would answer for method and path
 * (path without the query string; pretty from ?pretty=1) given the route groups and the body
 * cap (0: the default). Returns 0 and fills *out, or KGC_ENOMEM (nothing to free). */
int kgc_server_route(const struct kgc_server_provider *p, unsigned routes, const char *method,
                     const char *path, bool pretty, size_t max_body,
                     struct kgc_server_response *out);

/* Parses a listen address: "HOST:PORT", ":PORT" (all interfaces: host set to ""), "[V6]:PORT"
 * (host without brackets). PORT 0..65535; 0 picks a free port. host gets at most size - 1
 * bytes. Returns 0 or KGC_EUSAGE with a reason naming the address. */
int kgc_server_parse_listen(const char *listen, char *host, size_t size, uint16_t *port,
                            struct kgc_err *err);

struct kgc_server_options {
    const char *name;            /* for logs: "http", "debug" (copied) */
    const char *listen;          /* see kgc_server_parse_listen */
    unsigned routes;             /* KGC_SERVER_ROUTES_* bits */
    unsigned max_connections;    /* concurrent connections (64) */
    unsigned per_ip_connections; /* concurrent connections from one client address (8) */
    unsigned idle_timeout_s;     /* an idle connection is closed after this (30) */
    unsigned request_timeout_s;  /* whole request in, and whole answer out, within this (10) */
    unsigned warn_interval_s;    /* at most one warning line per kind per this (30) */
    size_t max_body;             /* an answer larger than this is a 500 (256 MiB) */
};

/* Fills the defaults in parentheses above (name "http", listen ":10254", every route). */
void kgc_server_options_default(struct kgc_server_options *o);

struct kgc_server;

/* Binds and starts serving with provider p (copied; its ctx must outlive the server). Logs
 * "listening" with the address and the bound port (useful with port 0). Returns 0 and *out,
 * KGC_EUSAGE (bad address), KGC_EIO (cannot bind: in use, no permission) or KGC_ENOMEM, with a
 * reason naming the address. */
int kgc_server_start(const struct kgc_server_options *o, const struct kgc_server_provider *p,
                     struct kgc_server **out, struct kgc_err *err);

/* The bound port (the chosen one when the address said 0). */
uint16_t kgc_server_port(const struct kgc_server *s);

/* Requests answered so far (any status). Any thread. */
uint64_t kgc_server_requests(const struct kgc_server *s);

/* Connections the watchdog closed for missing request_timeout_s. Any thread. */
uint64_t kgc_server_deadline_closed(const struct kgc_server *s);

/* Stops accepting, closes every connection, joins the threads and frees. NULL is a no-op. */
void kgc_server_stop(struct kgc_server *s);

/* ---------------------------------------------------------------------------------------------
 * The provider over the running process.
 * ------------------------------------------------------------------------------------------- */

/* The process's modules the endpoints read (all owned by the caller and outliving every server
 * that uses the provider: stop the servers first). Any of them may be NULL (its answers are then
 * empty or 404). */
struct kgc_server_app {
    struct kgc_metrics_sources metrics; /* reconciler, informers, cache, kong, lc, client, version,
                                           leadership and push hooks */
    /* The config syncer's hooks (kgc_sync_hook_pushed(), kgc_sync_hook_dump(); both get
     * config_ctx, the syncer). Readiness: true once a configuration was pushed; NULL: not
     * required (no syncer). Only asked when this process leads (metrics.is_leader). */
    bool (*config_pushed)(void *ctx);
    /* /debug/config: the last configuration pushed and Kong's answer. NULL: "not running". */
    int (*config_dump)(void *ctx, bool pretty, char **out, size_t *len);
    void *config_ctx;
    size_t max_queue_keys; /* keys listed per state per queue in /debug/queue (10000; 0: default) */
};

/* A kgc_metrics_sources.invalid_backend_requests hook over a server (ctx): its
 * kgc_server_requests(). Always true. */
bool kgc_server_hook_requests(void *ctx, uint64_t *out);

/* Fills *out with callbacks over app (borrowed: it must outlive every server using *out). */
void kgc_server_app_provider(const struct kgc_server_app *app, struct kgc_server_provider *out);

#endif

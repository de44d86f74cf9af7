/* proxy — the test Kong's proxy: what Kong 3.9.1 does with a request on a proxy listener, up to
 * the point where it would connect to the upstream target. Instead of connecting, it answers as
 * the Gateway API conformance echo server does (200, JSON with the upstream request and the
 * chosen target, service, route and upstream).
 *
 * Pieces (all internal to test/fakes/kong/):
 *   proxy.c      listeners (Kong's proxy_listen syntax), plain HTTP and TLS (OpenSSL, SNI picks
 *                the certificate), Kong's runloop (router, 426 for a protocol the route does not
 *                take, plugins, balancer, echo), the dataplane snapshot swapped on each accepted
 *                configuration
 *   plugins.c    the plugins kgc emits, run as Kong runs them (priority order, their semantics)
 *   balancer.c   target choice as Kong's balancer makes it for the upstream's algorithm
 *   hdrs.c       the header list below
 * Threads: a dataplane snapshot is immutable and shared (refcounted); a request's kf_preq and
 * kf_presp belong to the thread serving it. */
#ifndef KGC_TEST_KONG_PROXY_H
#define KGC_TEST_KONG_PROXY_H

#include "router.h"

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/* ---- headers: an ordered multimap, names compared case-insensitively, strings owned ---------- */
struct kf_hdr {
    char *name;
    char *value;
};
struct kf_hdrs {
    struct kf_hdr *v;
    size_t n, cap;
};
int kf_hdrs_add(struct kf_hdrs *h, const char *name, const char *value); /* 0 or KGC_ENOMEM */
int kf_hdrs_set(struct kf_hdrs *h, const char *name, const char *value); /* replaces all */
const char *kf_hdrs_get(const struct kf_hdrs *h, const char *name);      /* first, or NULL */
size_t kf_hdrs_count(const struct kf_hdrs *h, const char *name);
size_t kf_hdrs_del(struct kf_hdrs *h, const char *name); /* how many removed */
void kf_hdrs_free(struct kf_hdrs *h);                    /* leaves it empty */

/* ---- a proxied request and its response as they move through Kong's phases ------------------ */

/* The request as the client sent it (read-only after parsing). */
struct kf_client_req {
    const char *method;
    const char *scheme; /* http | https */
    const char *host;   /* Host header as sent, or NULL */
    const char *path;   /* path as sent, without query */
    const char *query;  /* raw query without '?', or NULL */
    const struct kf_hdrs *headers;
    const char *body;
    size_t body_len;
    const char *client_ip;
    unsigned port;   /* the proxy listener's port */
    const char *sni; /* TLS SNI, or NULL */
};

/* The upstream request being built (plugins change it). Owned strings. */
struct kf_preq {
    char *method;
    char *host;  /* the Host header to send upstream */
    char *uri;   /* upstream path (from the router's upstream_uri), without query */
    char *query; /* upstream query string without '?', or NULL */
    struct kf_hdrs headers;
    char *body;
    size_t body_len;
};
void kf_preq_free(struct kf_preq *r);

/* The response to send (a plugin may produce it: short_circuit = true). Owned strings. */
struct kf_presp {
    int status;
    struct kf_hdrs headers;
    char *body;
    size_t body_len;
    bool short_circuit; /* produced by a plugin or Kong itself, not the upstream */
};
void kf_presp_free(struct kf_presp *r);

/* ---- plugins (plugins.c) ------------------------------------------------------------------- */

/* Runs the access phase of the plugins that apply to the matched route/service (the caller
 * picked them as Kong's plugins iterator does), in Kong's order (PRIORITY high to low; see each
 * plugin's handler.lua). Plugin entities are as accepted (config without defaults: plugins.c
 * applies each schema's defaults). A plugin that answers itself (redirect, request-termination)
 * fills resp with short_circuit = true and stops the phase. Returns 0, or KGC_ENOMEM. */
int kf_plugins_access(json_object *const *plugins, size_t n, const struct kf_client_req *client,
                      const struct kf_match *m, struct kf_preq *up, struct kf_presp *resp);

/* Runs header_filter and body_filter (response-transformer, ...) over resp, in Kong's order. Also
 * runs for short-circuited responses where Kong does. Returns 0, or KGC_ENOMEM. */
int kf_plugins_response(json_object *const *plugins, size_t n, const struct kf_client_req *client,
                        struct kf_presp *resp);

/* Whether the test Kong can run this plugin (others are accepted by the Admin API and ignored by
 * the proxy, logged once). */
bool kf_plugin_supported(const char *name);

/* ---- balancer (balancer.c) ------------------------------------------------------------------ */

/* Per-upstream balancer state (round-robin wheel position, least-connections counts). Built
 * once per upstream per dataplane snapshot; kf_balancer_pick() is thread-safe. */
struct kf_balancer;

/* upstream: the upstream entity as accepted (defaults applied by balancer.c); targets: its
 * target entities. Returns NULL on allocation failure. */
struct kf_balancer *kf_balancer_new(json_object *upstream, json_object *const *targets, size_t n);
void kf_balancer_free(struct kf_balancer *b);

/* Chooses a target for the request as Kong's balancer does for the upstream's algorithm and
 * hash_on settings. Returns 0 and the target ("host:port") in out; KGC_ENOENT when no target can
 * take it (all weight 0 / none: Kong answers 503 "failure to get a peer from the ring-balancer").
 */
int kf_balancer_pick(struct kf_balancer *b, const struct kf_client_req *client, char *out,
                     size_t outsz);

/* ---- the proxy (proxy.c) -------------------------------------------------------------------- */

struct kf_proxy;

struct kf_proxy_options {
    const char *proxy_listen; /* Kong's proxy_listen value, e.g. "127.0.0.1:8000, 127.0.0.1:8443
                                 ssl"; NULL or "off" = no proxy */
    enum kf_flavor flavor;
    bool debug_header; /* allow_debug_header: Kong-Debug: 1 adds Kong-Route-Id, ... */
    /* stream_listen (stream.c): NULL or "off" = no stream listener */
    const char *stream_listen;
    const char *stream_backend_cert; /* PEM for the TLS-passthrough stand-in, NULL = generated */
    unsigned stream_idle_ms;         /* 0 = 10000 */
    unsigned stream_max_conns;       /* 0 = 256 */
};

/* Parses proxy_listen as Kong's conf_loader does and returns the "proxy_listeners" array GET /
 * reports (new reference), or NULL with Kong's message in err. */
json_object *kf_proxy_listeners_json(const char *proxy_listen, char *err, size_t errsz);

/* Binds every listener and serves. Returns 0 and *out or a negative code with err. */
int kf_proxy_start(const struct kf_proxy_options *o, struct kf_proxy **out, char *err,
                   size_t errsz);

/* The bound port of the i-th listener (0 when i is out of range). */
unsigned kf_proxy_port(const struct kf_proxy *p, size_t i);

/* The bound port of the i-th stream listener (0 when i is out of range). */
unsigned kf_proxy_stream_port(const struct kf_proxy *p, size_t i);

/* Installs a newly accepted configuration (the 201 entities body: {"routes": {"<id>": {...}},
 * ...}; borrowed, the proxy takes its own reference). Requests already in flight finish on the
 * old snapshot. NULL = no configuration (404 for everything). */
int kf_proxy_set_config(struct kf_proxy *p, json_object *entities);

void kf_proxy_stop(struct kf_proxy *p);

#endif

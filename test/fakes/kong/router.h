/* router — Kong 3.9.1's HTTP router, modelled: a set of routes and a request in, the route Kong
 * would pick (and what it computes from it: uri captures, the stripped prefix, the upstream URI
 * and host) out. One implementation per router flavour, as Kong has:
 *   traditional             router_trad.c   (kong/router/traditional.lua)
 *   traditional_compatible  router_atc.c    (kong/router/compat.lua + transform.lua + atc.lua)
 *   expressions             router_atc.c    (kong/router/expressions.lua + atc.lua)
 * router.c is the façade: it dispatches to the flavour and computes what kong/router/utils.lua
 * computes for every flavour (upstream URI with strip_path/path_handling, preserve_host).
 *
 * Routes are taken exactly as given: an absent field is Lua's nil, NOT Kong's schema default
 * (Kong's own router specs build routes without defaults, e.g. strip_path absent = false). The
 * proxy fills schema defaults before it builds a router from an accepted configuration.
 *
 * Ownership: kf_router_new() borrows the JSON it is given for the router's lifetime (it takes its
 * own references). A router is immutable once built: kf_router_select() may be called from any
 * number of threads at once. A kf_match owns its strings; kf_match_clear() frees them.
 * Internal to test/fakes/kong/. */
#ifndef KGC_TEST_KONG_ROUTER_H
#define KGC_TEST_KONG_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* The same numbers as struct kf_vctx's flavor. */
enum kf_flavor {
    KF_FLAVOR_TRADITIONAL = 0,
    KF_FLAVOR_TRADITIONAL_COMPATIBLE = 1,
    KF_FLAVOR_EXPRESSIONS = 2,
};

/* "traditional" | "traditional_compatible" | "expressions" -> 0/1/2; -1 when unknown. */
int kf_flavor_parse(const char *name);

/* A name/value pair (header, query argument, capture). */
struct kf_kv {
    const char *name;
    const char *value; /* query arguments: NULL for a bare flag (`?a`), which Kong treats as true */
};

/* One route as the router sees it. */
struct kf_route_in {
    json_object *route;   /* the route entity (id, name, protocols, methods, hosts, paths,
                             headers, snis, sources, destinations, regex_priority, strip_path,
                             preserve_host, path_handling, expression, priority, created_at, ...) */
    json_object *service; /* its service entity (protocol, host, port, path), or NULL */
};

/* A request, with the arguments of Kong's router:select() (spec/01-unit/08-router_spec.lua) */
struct kf_request {
    const char *method;          /* "GET" */
    const char *uri;             /* the request path as sent, WITHOUT the query string ("/a/b") */
    const char *host;            /* the Host header as sent, may carry ":port"; NULL = none */
    const char *scheme;          /* "http" | "https" (stream: "tcp" | "tls" | "udp" ...) */
    const char *src_ip;          /* NULL = unknown */
    unsigned src_port;           /* 0 = unknown */
    const char *dst_ip;          /* NULL = unknown */
    unsigned dst_port;           /* 0 = unknown */
    const char *sni;             /* NULL = none */
    const struct kf_kv *headers; /* names as sent (matched case-insensitively); repeats allowed */
    size_t n_headers;
    const struct kf_kv *queries; /* decoded query arguments; repeats allowed */
    size_t n_queries;
};

/* What Kong's router returns (match_t), for the fields a proxy needs. */
struct kf_match {
    int route;              /* index into the routes given to kf_router_new(); -1 = no match */
    char *prefix;           /* the matched prefix that strip_path removes, or NULL */
    struct kf_kv *captures; /* matches.uri_captures: numbered ("0", "1", ...) and named, owned */
    size_t n_captures;
    char *upstream_uri;  /* the upstream path Kong computes (service path, strip_path,
                            path_handling v0/v1), without query string; NULL without a service */
    char *upstream_host; /* preserve_host: the request's Host as sent; else NULL */
    char *matched_host;  /* matches.host: the route host that matched (traditional), or NULL */
};

struct kf_router;

/* Builds a router of the given flavour for HTTP (http = true) or stream (false) over n routes.
 * Returns 0 and *out; KGC_EINVAL with Kong's error text in err when Kong's Router.new() would
 * fail (e.g. an expression that does not compile); KGC_ENOMEM. */
int kf_router_new(enum kf_flavor flavor, bool http, const struct kf_route_in *routes, size_t n,
                  struct kf_router **out, char *err, size_t errsz);
void kf_router_free(struct kf_router *r);

/* Picks the route for req as Kong's router:select() does. Returns 0 with m filled (m->route == -1
 * when nothing matched), KGC_EINVAL with Kong's message in err for arguments Kong rejects,
 * KGC_ENOMEM. m is always initialised; free it with kf_match_clear(). */
int kf_router_select(const struct kf_router *r, const struct kf_request *req, struct kf_match *m,
                     char *err, size_t errsz);
void kf_match_clear(struct kf_match *m);

/* The route-level check Kong's schema runs through the router for this flavour (the ATC dry-run
 * of kong/db/schema/entities/routes.lua): 0 when valid, else KGC_EINVAL with Kong's message in
 * err (e.g. "Router Expression failed validation: ..."); which field it belongs to, when Kong
 * attaches it to one, in *field (a static string, or NULL for an entity-level error). */
int kf_route_validate(enum kf_flavor flavor, json_object *route, const char **field, char *err,
                      size_t errsz);

/* The URI Kong's exec() hands to select(): kong/router/utils.lua:57-64 (3.9.1) strip_uri_args —
 * the request target cut at the first '?' found from its second byte — then kong/tools/uri.lua
 * normalize(uri, true) (lines 78-167): %XX triplets decoded unless they encode a reserved
 * character (uri.lua:28, those are upper-cased instead), dot segments removed, slashes merged.
 * Divergence: %00 stays encoded (a C string cannot carry the NUL Lua would decode).
 * raw = the request target as sent (nginx $request_uri). Returns a malloc'd string, or NULL when
 * out of memory. */
char *kf_uri_normalize(const char *raw);

/* kong/tools/uri.lua escape (3.9.1 lines 41, 69-75): every byte outside
 * [!#$&'()*+,/:;=?@[]A-Za-z0-9-_.~%] percent-encoded as %XX (upper-case hex) — what
 * handler.lua:1324 does to the router's upstream_uri before nginx sends it. Malloc'd, NULL when
 * out of memory. */
char *kf_uri_escape(const char *s);

#endif

/* dataplane — the test Kong's configuration snapshot and Kong 3.9.1's proxy runloop over it.
 *
 * A snapshot (struct kf_dp) is built once per accepted configuration from the Admin API's 201
 * entities body: the schema defaults Kong's DB layer would have filled are added, the router is
 * built (router.h), one balancer per upstream (proxy.h), the plugins that apply to the http
 * subsystem are indexed by scope, and one TLS context per certificate is prepared (proxy_tls.c).
 * It is then immutable and shared between request threads by reference count.
 *
 * kf_dp_handle() is what kong/init.lua + kong/runloop/handler.lua do for one request, up to the
 * point where nginx would connect to the upstream target; instead of connecting it answers as the
 * Gateway API conformance echo server does (conformance/echo-basic/echo-basic.go: path, host,
 * method, proto, headers, namespace, ingress, service, pod, sni), plus a "kong" object naming the
 * route, service, upstream and target. Errors: allocation failures only (KGC_ENOMEM); anything a
 * client sends gets an HTTP answer. */
#include "proxy_internal.h"

#include "balancer.h"
#include "plugins_internal.h"

#include <kgc/err.h>
#include <kgc/log.h>

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define LOG_COMPONENT "kong-fake-proxy"
/* kong/meta.lua:19 (3.9.1): _SERVER_TOKENS = "kong/" .. version */
#define SERVER_TOKENS "kong/3.9.1"
/* kong/dao/targets.lua:17 (3.9.1): a target without a port gets 8000 */
#define TARGET_DEFAULT_PORT 8000

struct dp_service {
    json_object *obj; /* with defaults */
    const char *id, *name, *protocol, *host, *path;
    int port;
    int upstream; /* index into upstreams when host names one, else -1 */
};

struct dp_upstream {
    json_object *obj;
    const char *id, *name, *host_header;
    struct kf_balancer *bal;
};

struct dp_route {
    json_object *obj; /* with defaults */
    const char *id, *name;
    int service; /* index into services, or -1 */
    bool https_only;
    bool grpc;          /* protocols has grpc or grpcs */
    bool grpc_only_tls; /* protocols has grpcs and not grpc */
    int redirect_code;
    const char *k8s_namespace; /* the route's "k8s-namespace:" tag, for the echo (fake) */
};

struct dp_plugin {
    json_object *obj;
    const char *name, *route_id, *service_id;
    bool consumer; /* scoped to a consumer or consumer group: never selected (no auth model) */
};

struct dp_cert {
    const char *id;
    void *ctx; /* SSL_CTX, or NULL when TLS is not available / the PEM did not load */
};

struct dp_sni {
    const char *name;
    int cert; /* index into certs, -1 when unknown */
};

struct kf_dp {
    atomic_int refs;
    json_object *entities;
    struct dp_service *services;
    size_t n_services;
    struct dp_upstream *upstreams;
    size_t n_upstreams;
    struct dp_route *routes; /* the router's route indexes */
    size_t n_routes;
    struct dp_plugin *plugins;
    size_t n_plugins;
    struct dp_cert *certs;
    size_t n_certs;
    struct dp_sni *snis;
    size_t n_snis;
    struct kf_router *router; /* NULL when the router failed to build (logged) */
    /* the stream subsystem's routes and router (kf_dp_stream) */
    struct dp_route *sroutes;
    size_t n_sroutes;
    struct kf_router *srouter; /* NULL when it failed to build (logged) */
};

/* ---- JSON helpers ---------------------------------------------------------------------------- */

static json_object *jget(json_object *o, const char *k)
{
    json_object *v = NULL;
    if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, k, &v)) {
        return v;
    }
    return NULL;
}

static const char *jstr(json_object *o, const char *k)
{
    json_object *v = jget(o, k);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* a foreign key {"id": "..."} (or a bare string) */
static const char *jref(json_object *o, const char *k)
{
    json_object *v = jget(o, k);
    if (v && json_object_is_type(v, json_type_string)) {
        return json_object_get_string(v);
    }
    return jstr(v, "id");
}

static void jdefault(json_object *o, const char *k, json_object *v)
{
    if (!jget(o, k)) {
        json_object_object_add(o, k, v);
    } else {
        json_object_put(v);
    }
}

static bool jarr_has(json_object *arr, const char *s)
{
    if (!arr || !json_object_is_type(arr, json_type_array)) {
        return false;
    }
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        if (json_object_is_type(e, json_type_string) && strcmp(json_object_get_string(e), s) == 0) {
            return true;
        }
    }
    return false;
}

static json_object *str_array(const char *const *v)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; a && v[i]; i++) {
        json_object_array_add(a, json_object_new_string(v[i]));
    }
    return a;
}

/* ---- schema defaults ------------------------------------------------------------------------- */

/* socket.url-like split of a service's url shorthand (kong/db/schema/entities/services.lua:76-106
 * (3.9.1)): protocol, host, port (from the url, else 80 for http, 443 for https, else 80), path. */
static void expand_url(json_object *svc, const char *url)
{
    char scheme[32] = "", host[512] = "", path[2048] = "";
    long port = -1;
    const char *p = url;
    const char *sep = strstr(p, "://");
    if (sep && (size_t)(sep - p) < sizeof(scheme)) {
        snprintf(scheme, sizeof(scheme), "%.*s", (int)(sep - p), p);
        p = sep + 3;
    }
    size_t alen = strcspn(p, "/?#");
    const char *auth = p;
    const char *at = memchr(auth, '@', alen);
    if (at) {
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    const char *hend = auth + alen;
    if (auth[0] == '[') {
        const char *rb = memchr(auth, ']', alen);
        if (rb) {
            snprintf(host, sizeof(host), "%.*s", (int)(rb - auth - 1), auth + 1);
            if (rb + 1 < hend && rb[1] == ':') {
                port = strtol(rb + 2, NULL, 10);
            }
        }
    } else {
        const char *colon = memchr(auth, ':', alen);
        if (colon) {
            snprintf(host, sizeof(host), "%.*s", (int)(colon - auth), auth);
            port = strtol(colon + 1, NULL, 10);
        } else {
            snprintf(host, sizeof(host), "%.*s", (int)alen, auth);
        }
    }
    const char *rest = hend;
    if (*rest == '/') {
        snprintf(path, sizeof(path), "%.*s", (int)strcspn(rest, "?#"), rest);
    }
    const char *proto = scheme[0] ? scheme : port == 80 ? "http" : port == 443 ? "https" : "http";
    json_object_object_add(svc, "protocol", json_object_new_string(proto));
    if (host[0]) {
        json_object_object_add(svc, "host", json_object_new_string(host));
    }
    if (port < 0) {
        port = strcmp(proto, "https") == 0 ? 443 : 80;
    }
    json_object_object_add(svc, "port", json_object_new_int((int)port));
    if (path[0]) {
        json_object_object_add(svc, "path", json_object_new_string(path));
    }
    json_object_object_del(svc, "url");
}

/* kong/db/schema/entities/services.lua:29-48 (3.9.1) */
static void service_defaults(json_object *s, long now)
{
    const char *url = jstr(s, "url");
    if (url) {
        char *copy = strdup(url);
        if (copy) {
            expand_url(s, copy);
            free(copy);
        }
    }
    jdefault(s, "protocol", json_object_new_string("http"));
    jdefault(s, "port", json_object_new_int(80));
    jdefault(s, "retries", json_object_new_int(5));
    jdefault(s, "connect_timeout", json_object_new_int(60000));
    jdefault(s, "write_timeout", json_object_new_int(60000));
    jdefault(s, "read_timeout", json_object_new_int(60000));
    jdefault(s, "enabled", json_object_new_boolean(1));
    jdefault(s, "created_at", json_object_new_int64(now));
    jdefault(s, "updated_at", json_object_new_int64(now));
}

/* kong/db/schema/entities/routes.lua:149-213 (3.9.1) */
static void route_defaults(json_object *r, enum kf_flavor flavor, long now)
{
    static const char *const protocols[] = {"http", "https", NULL};
    jdefault(r, "protocols", str_array(protocols));
    jdefault(r, "https_redirect_status_code", json_object_new_int(426));
    jdefault(r, "strip_path", json_object_new_boolean(1));
    jdefault(r, "preserve_host", json_object_new_boolean(0));
    jdefault(r, "request_buffering", json_object_new_boolean(1));
    jdefault(r, "response_buffering", json_object_new_boolean(1));
    jdefault(r, "regex_priority", json_object_new_int(0));
    jdefault(r, "path_handling", json_object_new_string("v0"));
    if (flavor == KF_FLAVOR_EXPRESSIONS) {
        /* the expressions flavour's extra fields (routes.lua:212-213) */
        jdefault(r, "priority", json_object_new_int(0));
    }
    jdefault(r, "created_at", json_object_new_int64(now));
    jdefault(r, "updated_at", json_object_new_int64(now));
}

/* ---- snapshot -------------------------------------------------------------------------------- */

struct kf_dp *kf_dp_ref(struct kf_dp *dp)
{
    if (dp) {
        atomic_fetch_add(&dp->refs, 1);
    }
    return dp;
}

static void dp_free(struct kf_dp *dp)
{
    kf_router_free(dp->router);
    for (size_t i = 0; i < dp->n_upstreams; i++) {
        kf_balancer_free(dp->upstreams[i].bal);
    }
    for (size_t i = 0; i < dp->n_certs; i++) {
        kf_tls_ctx_free(dp->certs[i].ctx);
    }
    for (size_t i = 0; i < dp->n_services; i++) {
        json_object_put(dp->services[i].obj);
    }
    for (size_t i = 0; i < dp->n_routes; i++) {
        json_object_put(dp->routes[i].obj);
    }
    kf_router_free(dp->srouter);
    for (size_t i = 0; i < dp->n_sroutes; i++) {
        json_object_put(dp->sroutes[i].obj);
    }
    free(dp->sroutes);
    free(dp->services);
    free(dp->upstreams);
    free(dp->routes);
    free(dp->plugins);
    free(dp->certs);
    free(dp->snis);
    json_object_put(dp->entities);
    free(dp);
}

void kf_dp_unref(struct kf_dp *dp)
{
    if (dp && atomic_fetch_sub(&dp->refs, 1) == 1) {
        dp_free(dp);
    }
}

static size_t section_len(json_object *entities, const char *name)
{
    json_object *sec = jget(entities, name);
    return sec && json_object_is_type(sec, json_type_object)
               ? (size_t)json_object_object_length(sec)
               : 0;
}

static int find_service(const struct kf_dp *dp, const char *id)
{
    for (size_t i = 0; id && i < dp->n_services; i++) {
        if (dp->services[i].id && strcmp(dp->services[i].id, id) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static int build_upstreams(struct kf_dp *dp)
{
    json_object *ups = jget(dp->entities, "upstreams"), *tgts = jget(dp->entities, "targets");
    size_t cap = section_len(dp->entities, "upstreams");
    size_t tcap = section_len(dp->entities, "targets");
    dp->upstreams = calloc(cap ? cap : 1, sizeof(*dp->upstreams));
    json_object **list = calloc(tcap ? tcap : 1, sizeof(*list));
    if (!dp->upstreams || !list) {
        free(list);
        return KGC_ENOMEM;
    }
    if (ups && json_object_is_type(ups, json_type_object)) {
        json_object_object_foreach(ups, uid, u)
        {
            struct dp_upstream *du = &dp->upstreams[dp->n_upstreams];
            du->obj = u;
            du->id = jstr(u, "id") ? jstr(u, "id") : uid;
            du->name = jstr(u, "name");
            du->host_header = jstr(u, "host_header");
            size_t n = 0;
            if (tgts && json_object_is_type(tgts, json_type_object)) {
                json_object_object_foreach(tgts, tid, t)
                {
                    (void)tid;
                    const char *ref = jref(t, "upstream");
                    if (ref &&
                        (strcmp(ref, du->id) == 0 || (du->name && strcmp(ref, du->name) == 0))) {
                        list[n++] = t;
                    }
                }
            }
            du->bal = kf_balancer_new(u, list, n);
            if (!du->bal) {
                free(list);
                return KGC_ENOMEM;
            }
            dp->n_upstreams++;
        }
    }
    free(list);
    return 0;
}

static int build_services(struct kf_dp *dp, long now)
{
    json_object *svcs = jget(dp->entities, "services");
    size_t cap = section_len(dp->entities, "services");
    dp->services = calloc(cap ? cap : 1, sizeof(*dp->services));
    if (!dp->services) {
        return KGC_ENOMEM;
    }
    if (!svcs || !json_object_is_type(svcs, json_type_object)) {
        return 0;
    }
    json_object_object_foreach(svcs, sid, s)
    {
        json_object *copy = NULL;
        if (json_object_deep_copy(s, &copy, NULL) != 0 || !copy) {
            return KGC_ENOMEM;
        }
        service_defaults(copy, now);
        if (!jget(copy, "id")) {
            json_object_object_add(copy, "id", json_object_new_string(sid));
        }
        struct dp_service *ds = &dp->services[dp->n_services++];
        ds->obj = copy;
        ds->id = jstr(copy, "id");
        ds->name = jstr(copy, "name");
        ds->protocol = jstr(copy, "protocol");
        ds->host = jstr(copy, "host");
        ds->path = jstr(copy, "path");
        json_object *port = jget(copy, "port");
        ds->port = port ? json_object_get_int(port) : 80;
        ds->upstream = -1;
        /* the service host names an upstream: the ring-balancer (balancers.get_balancer) */
        for (size_t u = 0; ds->host && u < dp->n_upstreams; u++) {
            if (dp->upstreams[u].name && strcmp(dp->upstreams[u].name, ds->host) == 0) {
                ds->upstream = (int)u;
                break;
            }
        }
    }
    return 0;
}

static const char *route_ns_tag(json_object *route)
{
    json_object *tags = jget(route, "tags");
    static const char prefix[] = "k8s-namespace:";
    for (size_t i = 0;
         tags && json_object_is_type(tags, json_type_array) && i < json_object_array_length(tags);
         i++) {
        json_object *t = json_object_array_get_idx(tags, i);
        const char *s = json_object_is_type(t, json_type_string) ? json_object_get_string(t) : "";
        if (strncmp(s, prefix, sizeof(prefix) - 1) == 0) {
            return s + sizeof(prefix) - 1;
        }
    }
    return NULL;
}

static int build_routes(struct kf_dp *dp, enum kf_flavor flavor, long now, char *err, size_t errsz)
{
    json_object *routes = jget(dp->entities, "routes");
    size_t cap = section_len(dp->entities, "routes");
    dp->routes = calloc(cap ? cap : 1, sizeof(*dp->routes));
    struct kf_route_in *in = calloc(cap ? cap : 1, sizeof(*in));
    if (!dp->routes || !in) {
        free(in);
        return KGC_ENOMEM;
    }
    if (routes && json_object_is_type(routes, json_type_object)) {
        json_object_object_foreach(routes, rid, r)
        {
            json_object *copy = NULL;
            if (json_object_deep_copy(r, &copy, NULL) != 0 || !copy) {
                free(in);
                return KGC_ENOMEM;
            }
            route_defaults(copy, flavor, now);
            if (!jget(copy, "id")) {
                json_object_object_add(copy, "id", json_object_new_string(rid));
            }
            json_object *protocols = jget(copy, "protocols");
            /* should_process_route: a protocol of the http subsystem (handler.lua:248-256) */
            static const char *const http_protocols[] = {"http", "https", "grpc", "grpcs", NULL};
            bool http = false;
            for (size_t k = 0; http_protocols[k]; k++) {
                http = http || jarr_has(protocols, http_protocols[k]);
            }
            int svc = find_service(dp, jref(copy, "service"));
            /* routes whose service has enabled == false are left out (handler.lua:402-403) */
            bool svc_disabled =
                svc >= 0 &&
                json_object_is_type(jget(dp->services[svc].obj, "enabled"), json_type_boolean) &&
                !json_object_get_boolean(jget(dp->services[svc].obj, "enabled"));
            if (!http || svc_disabled) {
                json_object_put(copy);
                continue;
            }
            struct dp_route *dr = &dp->routes[dp->n_routes];
            dr->obj = copy;
            dr->id = jstr(copy, "id");
            dr->name = jstr(copy, "name");
            dr->service = svc;
            dr->https_only = jarr_has(protocols, "https") && !jarr_has(protocols, "http");
            dr->grpc = jarr_has(protocols, "grpc") || jarr_has(protocols, "grpcs");
            dr->grpc_only_tls = jarr_has(protocols, "grpcs") && !jarr_has(protocols, "grpc");
            json_object *code = jget(copy, "https_redirect_status_code");
            dr->redirect_code = code ? json_object_get_int(code) : 426;
            dr->k8s_namespace = route_ns_tag(copy);
            in[dp->n_routes].route = copy;
            in[dp->n_routes].service = svc >= 0 ? dp->services[svc].obj : NULL;
            dp->n_routes++;
        }
    }
    int rc = kf_router_new(flavor, true, in, dp->n_routes, &dp->router, err, errsz);
    free(in);
    if (rc == KGC_ENOMEM) {
        return rc;
    }
    if (rc != 0) {
        dp->router = NULL;
        kgc_error(LOG_COMPONENT, "the router could not be built: every request gets 404",
                  KGC_F_STR("error", err));
    }
    return 0;
}

/* The stream subsystem's router: routes with a protocol of the stream subsystem
 * (should_process_route, handler.lua:248-256; tcp, tls, tls_passthrough, udp are "stream" in
 * kong/constants.lua's PROTOCOLS_WITH_SUBSYSTEM), services disabled left out as for http. */
static int build_stream_routes(struct kf_dp *dp, enum kf_flavor flavor, long now, char *err,
                               size_t errsz)
{
    json_object *routes = jget(dp->entities, "routes");
    size_t cap = section_len(dp->entities, "routes");
    dp->sroutes = calloc(cap ? cap : 1, sizeof(*dp->sroutes));
    struct kf_route_in *in = calloc(cap ? cap : 1, sizeof(*in));
    if (!dp->sroutes || !in) {
        free(in);
        return KGC_ENOMEM;
    }
    static const char *const stream_protocols[] = {"tcp", "tls", "tls_passthrough", "udp", NULL};
    if (routes && json_object_is_type(routes, json_type_object)) {
        json_object_object_foreach(routes, rid, r)
        {
            json_object *protocols = jget(r, "protocols");
            bool stream = false;
            for (size_t k = 0; stream_protocols[k]; k++) {
                stream = stream || jarr_has(protocols, stream_protocols[k]);
            }
            if (!stream) {
                continue;
            }
            int svc = find_service(dp, jref(r, "service"));
            if (svc >= 0 &&
                json_object_is_type(jget(dp->services[svc].obj, "enabled"), json_type_boolean) &&
                !json_object_get_boolean(jget(dp->services[svc].obj, "enabled"))) {
                continue;
            }
            json_object *copy = NULL;
            if (json_object_deep_copy(r, &copy, NULL) != 0 || !copy) {
                free(in);
                return KGC_ENOMEM;
            }
            route_defaults(copy, flavor, now);
            if (!jget(copy, "id")) {
                json_object_object_add(copy, "id", json_object_new_string(rid));
            }
            struct dp_route *dr = &dp->sroutes[dp->n_sroutes];
            dr->obj = copy;
            dr->id = jstr(copy, "id");
            dr->name = jstr(copy, "name");
            dr->service = svc;
            dr->k8s_namespace = route_ns_tag(copy);
            in[dp->n_sroutes].route = copy;
            in[dp->n_sroutes].service = svc >= 0 ? dp->services[svc].obj : NULL;
            dp->n_sroutes++;
        }
    }
    int rc = kf_router_new(flavor, false, in, dp->n_sroutes, &dp->srouter, err, errsz);
    free(in);
    if (rc == KGC_ENOMEM) {
        return rc;
    }
    if (rc != 0) {
        dp->srouter = NULL;
        kgc_error(LOG_COMPONENT, "the stream router could not be built: every connection is closed",
                  KGC_F_STR("error", err));
    }
    return 0;
}

static int build_plugins(struct kf_dp *dp)
{
    json_object *plugins = jget(dp->entities, "plugins");
    size_t cap = section_len(dp->entities, "plugins");
    dp->plugins = calloc(cap ? cap : 1, sizeof(*dp->plugins));
    if (!dp->plugins) {
        return KGC_ENOMEM;
    }
    if (!plugins || !json_object_is_type(plugins, json_type_object)) {
        return 0;
    }
    json_object_object_foreach(plugins, pid, pl)
    {
        (void)pid;
        /* should_process_plugin (plugins_iterator.lua:141-154): enabled (default true,
         * kong/db/schema/entities/plugins.lua) and a protocol of the http subsystem (default
         * protocols: grpc, grpcs, http, https) */
        json_object *en = jget(pl, "enabled");
        if (en && json_object_is_type(en, json_type_boolean) && !json_object_get_boolean(en)) {
            continue;
        }
        json_object *protocols = jget(pl, "protocols");
        if (protocols && json_object_is_type(protocols, json_type_array)) {
            static const char *const hp[] = {"http", "https", "grpc", "grpcs", NULL};
            bool http = false;
            for (size_t k = 0; hp[k]; k++) {
                http = http || jarr_has(protocols, hp[k]);
            }
            if (!http) {
                continue;
            }
        }
        const char *name = jstr(pl, "name");
        if (!name) {
            continue;
        }
        struct dp_plugin *p = &dp->plugins[dp->n_plugins++];
        p->obj = pl;
        p->name = name;
        p->route_id = jref(pl, "route");
        p->service_id = jref(pl, "service");
        p->consumer = jref(pl, "consumer") || jref(pl, "consumer_group");
    }
    return 0;
}

static int build_certs(struct kf_dp *dp)
{
    json_object *certs = jget(dp->entities, "certificates"), *snis = jget(dp->entities, "snis");
    dp->certs = calloc(section_len(dp->entities, "certificates") + 1, sizeof(*dp->certs));
    dp->snis = calloc(section_len(dp->entities, "snis") + 1, sizeof(*dp->snis));
    if (!dp->certs || !dp->snis) {
        return KGC_ENOMEM;
    }
    if (certs && json_object_is_type(certs, json_type_object)) {
        json_object_object_foreach(certs, cid, c)
        {
            struct dp_cert *dc = &dp->certs[dp->n_certs++];
            dc->id = jstr(c, "id") ? jstr(c, "id") : cid;
            char err[256] = "";
            dc->ctx = kf_tls_cert_ctx(jstr(c, "cert"), jstr(c, "key"), jstr(c, "cert_alt"),
                                      jstr(c, "key_alt"), err, sizeof(err));
            if (!dc->ctx && err[0]) {
                kgc_warn(LOG_COMPONENT, "certificate not usable", KGC_F_STR("id", dc->id),
                         KGC_F_STR("error", err));
            }
        }
    }
    if (snis && json_object_is_type(snis, json_type_object)) {
        json_object_object_foreach(snis, sid, s)
        {
            (void)sid;
            const char *name = jstr(s, "name"), *cert = jref(s, "certificate");
            if (!name) {
                continue;
            }
            struct dp_sni *ds = &dp->snis[dp->n_snis++];
            ds->name = name;
            ds->cert = -1;
            for (size_t i = 0; cert && i < dp->n_certs; i++) {
                if (strcmp(dp->certs[i].id, cert) == 0) {
                    ds->cert = (int)i;
                }
            }
        }
    }
    return 0;
}

struct kf_dp *kf_dp_new(json_object *entities, enum kf_flavor flavor, char *err, size_t errsz)
{
    struct kf_dp *dp = calloc(1, sizeof(*dp));
    if (!dp) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    atomic_init(&dp->refs, 1);
    if (entities) {
        if (json_object_deep_copy(entities, &dp->entities, NULL) != 0) {
            free(dp);
            snprintf(err, errsz, "out of memory");
            return NULL;
        }
    } else {
        dp->entities = json_object_new_object();
    }
    long now = (long)time(NULL);
    int rc = dp->entities ? 0 : KGC_ENOMEM;
    if (rc == 0) {
        rc = build_upstreams(dp);
    }
    if (rc == 0) {
        rc = build_services(dp, now);
    }
    if (rc == 0) {
        rc = build_routes(dp, flavor, now, err, errsz);
    }
    if (rc == 0) {
        rc = build_stream_routes(dp, flavor, now, err, errsz);
    }
    if (rc == 0) {
        rc = build_plugins(dp);
    }
    if (rc == 0) {
        rc = build_certs(dp);
    }
    if (rc != 0) {
        snprintf(err, errsz, "out of memory");
        dp_free(dp);
        return NULL;
    }
    return dp;
}

/* ---- certificates (kong/runloop/certificate.lua, 3.9.1) -------------------------------------- */

void kf_wild_snis(const char *sni, char *prefix, size_t psz, char *suffix, size_t ssz)
{
    prefix[0] = suffix[0] = '\0';
    size_t n = strlen(sni);
    const char *star = strchr(sni, '*');
    /* certificate.lua:142-157: "*" first -> the name itself; none -> the first match of
     * ([^.]+)(\.[^.]+\.\S+) replaced by "*$2" */
    if (star == sni) {
        snprintf(prefix, psz, "%s", sni);
    } else if (!star) {
        for (size_t i = 0; i < n; i++) {
            size_t j = i;
            while (j < n && sni[j] != '.') {
                j++;
            }
            if (j == i || j >= n) {
                continue;
            }
            size_t k = j + 1;
            while (k < n && sni[k] != '.') {
                k++;
            }
            if (k == j + 1 || k >= n || k + 1 >= n || isspace((unsigned char)sni[k + 1])) {
                continue;
            }
            size_t e = k + 1;
            while (e < n && !isspace((unsigned char)sni[e])) {
                e++;
            }
            snprintf(prefix, psz, "%.*s*%.*s%s", (int)i, sni, (int)(e - j), sni + j, sni + e);
            break;
        }
    }
    /* certificate.lua:159-171: "*" last -> the name itself; none -> ([^.]+\.)([^.]+)$ replaced
     * by "$1*" (the last label becomes "*" when a label precedes it) */
    if (n && star && star == sni + n - 1) {
        snprintf(suffix, ssz, "%s", sni);
    } else if (!star) {
        const char *dot = strrchr(sni, '.');
        if (dot && dot[1] && dot > sni && dot[-1] != '.') {
            snprintf(suffix, ssz, "%.*s*", (int)(dot + 1 - sni), sni);
        }
    }
}

static int sni_cert(const struct kf_dp *dp, const char *name)
{
    for (size_t i = 0; name && name[0] && i < dp->n_snis; i++) {
        if (strcmp(dp->snis[i].name, name) == 0) {
            return dp->snis[i].cert;
        }
    }
    return -2; /* no such sni */
}

void *kf_dp_ssl_ctx(const struct kf_dp *dp, const char *sni)
{
    if (!dp || !sni) {
        return NULL; /* find_certificate: no SNI -> the default certificate */
    }
    char pre[512], suf[512];
    kf_wild_snis(sni, pre, sizeof(pre), suf, sizeof(suf));
    /* exact, wildcard prefix, wildcard suffix, then "*" (certificate.lua:279-296) */
    const char *order[] = {sni, pre, suf, "*"};
    for (size_t i = 0; i < 4; i++) {
        int c = sni_cert(dp, order[i]);
        if (c >= 0) {
            return dp->certs[c].ctx;
        }
        if (c == -1) {
            return NULL;
        }
    }
    return NULL;
}

/* ---- error bodies (kong/tools/http.lua, kong/pdk/response.lua, 3.9.1) ------------------------ */

static const char JSON_TYPE[] = "application/json; charset=utf-8";

/* get_mime_type (kong/tools/http.lua:491-513) with use_default */
static const char *mime_type(const char *media, size_t len)
{
    static const struct {
        const char *key, *type;
    } MIME[] = {
        {"application/grpc", ""},
        {"text/html", "text/html; charset=utf-8"},
        {"application/json", JSON_TYPE},
        {"text/plain", "text/plain; charset=utf-8"},
        {"application/xml", "application/xml; charset=utf-8"},
        {"application", JSON_TYPE},
        {"text", "text/plain; charset=utf-8"},
    };
    const char *slash = memchr(media, '/', len);
    if (!slash) {
        return JSON_TYPE;
    }
    size_t tl = (size_t)(slash - media), sl = len - tl - 1;
    const char *key = media;
    size_t kl = len;
    if (sl == 1 && slash[1] == '*') {
        if (tl == 1 && media[0] == '*') {
            return JSON_TYPE;
        }
        kl = tl;
    }
    for (size_t i = 0; i < sizeof(MIME) / sizeof(MIME[0]); i++) {
        if (strlen(MIME[i].key) == kl && memcmp(MIME[i].key, key, kl) == 0) {
            return MIME[i].type[0] ? MIME[i].type : "application/grpc";
        }
    }
    return JSON_TYPE;
}

static bool media_char(int c, bool first)
{
    c = tolower(c);
    if (isalnum(c)) {
        return true;
    }
    return !first && c && strchr("-!#$&^_+.", c);
}

/* a media-type token of get_response_type's pattern: [a-z0-9][a-z0-9-!#$&^_+.]+ or "*" */
static size_t media_token(const char *s)
{
    if (s[0] == '*') {
        return 1;
    }
    size_t n = 0;
    while (media_char((unsigned char)s[n], n == 0)) {
        n++;
    }
    return n >= 2 ? n : 0;
}

/* get_response_type (kong/tools/http.lua:453-488): the Accept value with the highest q wins */
static const char *response_type(const char *accept)
{
    const char *type = JSON_TYPE;
    if (!accept) {
        return type;
    }
    double max_q = 0;
    const char *p = accept;
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *v = p;
        size_t vl = len;
        while (vl && isspace((unsigned char)*v)) {
            v++, vl--;
        }
        while (vl && isspace((unsigned char)v[vl - 1])) {
            vl--;
        }
        size_t t1 = media_token(v);
        size_t t2 = t1 && t1 < vl && v[t1] == '/' ? media_token(v + t1 + 1) : 0;
        if (t2) {
            size_t ml = t1 + 1 + t2;
            double q = 1;
            const char *par = v + ml;
            const char *end = v + vl;
            while (par < end) {
                const char *semi = memchr(par, ';', (size_t)(end - par));
                if (!semi) {
                    break;
                }
                par = semi + 1;
                while (par < end && isspace((unsigned char)*par)) {
                    par++;
                }
                if (end - par >= 2 && tolower((unsigned char)par[0]) == 'q' && par[1] == '=') {
                    char num[16];
                    size_t nl = strcspn(par + 2, "; \t,");
                    if (nl < sizeof(num) && (par[2] == '0' || par[2] == '1')) {
                        snprintf(num, sizeof(num), "%.*s", (int)nl, par + 2);
                        q = strtod(num, NULL);
                    }
                }
            }
            if (q > max_q) {
                max_q = q;
                type = mime_type(v, ml);
            }
        }
        p += len;
        if (*p == ',') {
            p++;
        }
    }
    return type;
}

int kf_dp_error(struct kf_presp *resp, int status, const char *message, const char *accept,
                const char *request_id)
{
    const char *type = response_type(accept);
    const char *fmt;
    /* the templates (kong/tools/http.lua:393-421) */
    if (strncmp(type, "text/html", 9) == 0) {
        fmt = "<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n"
              "    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n"
              "    <p>%s.</p>\n    <p>request_id: %s</p>\n  </body>\n</html>\n";
    } else if (strncmp(type, "text/plain", 10) == 0) {
        fmt = "%s\nrequest_id: %s\n";
    } else if (strncmp(type, "application/xml", 15) == 0) {
        fmt = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>%s</message>\n"
              "  <requestid>%s</requestid>\n</error>\n";
    } else if (strcmp(type, "application/grpc") == 0) {
        fmt = NULL; /* gRPC: no body (response.lua:1152-1156) */
    } else {
        fmt = "{\n  \"message\":\"%s\",\n  \"request_id\":\"%s\"\n}";
    }
    resp->status = status;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    if (fmt) {
        int n = snprintf(NULL, 0, fmt, message, request_id);
        resp->body = malloc((size_t)n + 1);
        if (!resp->body) {
            return KGC_ENOMEM;
        }
        snprintf(resp->body, (size_t)n + 1, fmt, message, request_id);
        resp->body_len = (size_t)n;
    }
    return kf_hdrs_set(&resp->headers, "Content-Type", type);
}

/* ---- the runloop ----------------------------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void request_id(char out[33])
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        for (size_t i = 0; i < sizeof(b); i++) {
            b[i] = (unsigned char)((unsigned long)ts.tv_nsec >> (i % 4 * 8)) ^ (unsigned char)i;
        }
    }
    for (size_t i = 0; i < sizeof(b); i++) {
        snprintf(out + i * 2, 3, "%02x", b[i]);
    }
}

struct kvs {
    struct kf_kv *v;
    size_t n;
};

static void kvs_free(struct kvs *k)
{
    for (size_t i = 0; i < k->n; i++) {
        free((char *)k->v[i].name);
        free((char *)k->v[i].value);
    }
    free(k->v);
}

/* ngx.req.get_uri_args for the router (kong/router/fields.lua:287, lua_max_uri_args = 100,
 * kong_defaults.lua:200): OpenResty's argument parser as plugins_util.c models it (the same one
 * the plugins use), flattened to one kf_kv per value: a repeated key gives one entry per value in
 * order, a bare flag a NULL value (Lua true). */
static int parse_query(const char *q, struct kvs *out)
{
    out->v = NULL;
    out->n = 0;
    if (!q || !*q) {
        return 0;
    }
    struct kp_args args;
    int rc = kp_args_parse(q, strlen(q), 100, &args);
    if (rc != 0) {
        return rc;
    }
    size_t total = 0;
    for (size_t i = 0; i < args.n; i++) {
        total += args.a[i].n;
    }
    out->v = calloc(total + 1, sizeof(*out->v));
    for (size_t i = 0; out->v && rc == 0 && i < args.n; i++) {
        for (size_t j = 0; rc == 0 && j < args.a[i].n; j++) {
            const char *v = args.a[i].v[j].s;
            char *name = strdup(args.a[i].name);
            char *val = v ? strdup(v) : NULL;
            if (!name || (v && !val)) {
                free(name);
                free(val);
                rc = KGC_ENOMEM;
                break;
            }
            out->v[out->n].name = name;
            out->v[out->n].value = val;
            out->n++;
        }
    }
    kp_args_free(&args);
    return !out->v ? KGC_ENOMEM : rc;
}

/* nginx $host: the Host header without its port, lowercased; "kong" (the server_name of Kong's
 * proxy server block, nginx_kong.lua) without one */
static void var_host(const char *host, char *out, size_t outsz)
{
    if (!host || !*host) {
        snprintf(out, outsz, "kong");
        return;
    }
    size_t len = strlen(host);
    if (host[0] == '[') {
        const char *rb = strchr(host, ']');
        len = rb ? (size_t)(rb - host + 1) : len;
    } else {
        const char *colon = strchr(host, ':');
        len = colon ? (size_t)(colon - host) : len;
    }
    if (len >= outsz) {
        len = outsz - 1;
    }
    for (size_t i = 0; i < len; i++) {
        out[i] = (char)tolower((unsigned char)host[i]);
    }
    out[len] = '\0';
}

/* Go's textproto.CanonicalMIMEHeaderKey, for the echo's "headers" */
static void canonical_header(const char *name, char *out, size_t outsz)
{
    size_t n = strlen(name);
    if (n >= outsz) {
        n = outsz - 1;
    }
    bool valid = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!(isalnum(c) || strchr("!#$%&'*+-.^_`|~", c))) {
            valid = false;
        }
    }
    bool upper = true;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (valid) {
            c = upper ? (char)toupper((unsigned char)c) : (char)tolower((unsigned char)c);
            upper = c == '-';
        }
        out[i] = c;
    }
    out[n] = '\0';
}

struct pick {
    json_object **v;
    size_t n;
};

/* lookup_cfg (plugins_iterator.lua:215-266) without a consumer: route+service, route, service,
 * global — per plugin name. */
static int pick_plugins(const struct kf_dp *dp, const char *route_id, const char *service_id,
                        struct pick *out)
{
    out->n = 0;
    out->v = calloc(dp->n_plugins + 1, sizeof(*out->v));
    if (!out->v) {
        return KGC_ENOMEM;
    }
    for (size_t i = 0; i < dp->n_plugins; i++) {
        const struct dp_plugin *p = &dp->plugins[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            seen = strcmp(dp->plugins[j].name, p->name) == 0;
        }
        if (seen) {
            continue;
        }
        json_object *best = NULL;
        int best_rank = 99;
        for (size_t j = i; j < dp->n_plugins; j++) {
            const struct dp_plugin *q = &dp->plugins[j];
            if (strcmp(q->name, p->name) != 0 || q->consumer) {
                continue;
            }
            bool r = q->route_id != NULL, s = q->service_id != NULL;
            bool r_ok = r && route_id && strcmp(q->route_id, route_id) == 0;
            bool s_ok = s && service_id && strcmp(q->service_id, service_id) == 0;
            int rank = 99;
            if (r && s && r_ok && s_ok) {
                rank = 0;
            } else if (r && !s && r_ok) {
                rank = 1;
            } else if (!r && s && s_ok) {
                rank = 2;
            } else if (!r && !s) {
                rank = 3;
            }
            if (rank < best_rank) {
                best_rank = rank;
                best = q->obj;
            }
        }
        if (best) {
            out->v[out->n++] = best;
        }
    }
    return 0;
}

struct run {
    struct kf_dp *dp;
    const struct kf_client_req *c;
    const struct kf_req_extra *x;
    struct kf_presp *resp;
    char rid[33];
    long long t0;
    bool proxied;
    const char *norm_uri; /* the URI exec() gives the router (kf_uri_normalize) */
    /* the balancer's hash cookie (balancer_data.hash_cookie), sent by header_filter */
    struct kf_balancer_extra bx;
};

/* The request counts as HTTP/2 (fake-specific: the test Kong speaks HTTP/1.x; with
 * --allow-debug-header, "Kong-Test-Http-Version: 2" stands for HTTP/2). */
static bool fake_http2(const struct run *r)
{
    const char *hv =
        r->x->debug_header_allowed ? kf_hdrs_get(r->c->headers, "Kong-Test-Http-Version") : NULL;
    return hv && strcmp(hv, "2") == 0;
}

/* kong/pdk/response.lua is_grpc_request (3.9.1 lines 647-652): application/grpc over HTTP/2. */
static bool grpc_request(const struct run *r)
{
    const char *ct = kf_hdrs_get(r->c->headers, "Content-Type");
    return ct && strncmp(ct, "application/grpc", 16) == 0 && fake_http2(r);
}

/* kong.response.error: the default error body and the caller's extra headers; for a gRPC
 * request no body, Content-Type application/grpc, grpc-status from the HTTP status and
 * grpc-message its name (response.lua:87-118, 686-711, 790-793, 1148-1156). */
static int kong_error(struct run *r, int status, const char *msg)
{
    if (!grpc_request(r))
        return kf_dp_error(r->resp, status, msg, kf_hdrs_get(r->c->headers, "Accept"), r->rid);
    static const struct {
        int http, grpc;
    } TO_GRPC[] = {{200, 0}, {400, 3}, {401, 16}, {403, 7},  {404, 5},  {409, 6},
                   {429, 8}, {499, 1}, {500, 13}, {501, 12}, {503, 14}, {504, 4}};
    static const char *const NAMES[] = {
        "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
        "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
        "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
        "DataLoss", "Unauthenticated"};
    int g = status >= 500 && status <= 599   ? 13
            : status >= 400 && status <= 499 ? 3
            : status >= 200 && status <= 299 ? 0
                                             : 2;
    for (size_t i = 0; i < sizeof(TO_GRPC) / sizeof(TO_GRPC[0]); i++)
        if (TO_GRPC[i].http == status)
            g = TO_GRPC[i].grpc;
    (void)msg; /* error() sends no body to a gRPC client: grpc-message is the status's name */
    char gs[8];
    snprintf(gs, sizeof(gs), "%d", g);
    r->resp->status = status;
    free(r->resp->body);
    r->resp->body = NULL;
    r->resp->body_len = 0;
    int rc = kf_hdrs_set(&r->resp->headers, "Content-Type", "application/grpc");
    rc = rc ? rc : kf_hdrs_set(&r->resp->headers, "grpc-status", gs);
    rc = rc ? rc : kf_hdrs_set(&r->resp->headers, "grpc-message", NAMES[g]);
    return rc;
}

/* kong/runloop/handler.lua header_filter after (3.9.1 lines 1539-1605) */
static int header_filter(struct run *r)
{
    struct kf_hdrs *h = &r->resp->headers;
    char ms[32];
    snprintf(ms, sizeof(ms), "%lld", now_ms() - r->t0);
    int rc = 0;
    if (r->proxied) {
        rc = rc ? rc : kf_hdrs_set(h, "X-Kong-Upstream-Latency", "0");
        rc = rc ? rc : kf_hdrs_set(h, "X-Kong-Proxy-Latency", ms);
        /* Via: the upstream's Via, then "1.1 kong/3.9.1" (proxy_http_version 1.1) */
        const char *uv = kf_hdrs_get(h, "Via");
        char via[512];
        snprintf(via, sizeof(via), "%s%s1.1 " SERVER_TOKENS, uv ? uv : "", uv ? ", " : "");
        rc = rc ? rc : kf_hdrs_set(h, "Via", via);
        if (!kf_hdrs_get(h, "Server")) {
            rc = rc ? rc : kf_hdrs_set(h, "Server", SERVER_TOKENS);
        }
    } else {
        rc = rc ? rc : kf_hdrs_set(h, "X-Kong-Response-Latency", ms);
        const char *via = kf_hdrs_get(h, "Via");
        if (!(via && strcmp(via, SERVER_TOKENS) == 0)) {
            rc = rc ? rc : kf_hdrs_set(h, "Server", SERVER_TOKENS);
        }
    }
    rc = rc ? rc : kf_hdrs_set(h, "X-Kong-Request-Id", r->rid);
    return rc;
}

static int add_echo_headers(json_object *hdrs, const struct kf_hdrs *up)
{
    for (size_t i = 0; i < up->n; i++) {
        if (strcasecmp(up->v[i].name, "Host") == 0) {
            continue; /* Go keeps Host out of r.Header */
        }
        char name[256];
        canonical_header(up->v[i].name, name, sizeof(name));
        json_object *list = NULL;
        if (!json_object_object_get_ex(hdrs, name, &list)) {
            list = json_object_new_array();
            if (!list) {
                return KGC_ENOMEM;
            }
            json_object_object_add(hdrs, name, list);
        }
        json_object_array_add(list, json_object_new_string(up->v[i].value));
    }
    return 0;
}

static json_object *id_name(const char *id, const char *name)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", id ? json_object_new_string(id) : NULL);
    json_object_object_add(o, "name", name ? json_object_new_string(name) : NULL);
    return o;
}

/* The upstream request as nginx sends it (nginx_kong.lua:190-204 proxy_set_header) after the
 * runloop's access before/after (handler.lua:1225-1477). */
static int upstream_headers(struct run *r, struct kf_preq *up, const char *fwd_proto,
                            const char *fwd_host, unsigned fwd_port, const char *fwd_path,
                            const char *fwd_prefix)
{
    const struct kf_client_req *c = r->c;
    struct kf_hdrs *h = &up->headers;
    /* hop-by-hop request headers named in Connection (handler.lua:1436-1453) */
    const char *conn = kf_hdrs_get(c->headers, "Connection");
    const char *upgrade = kf_hdrs_get(c->headers, "Upgrade");
    bool websocket = upgrade && strcasecmp(upgrade, "websocket") == 0;
    if (conn && strcasecmp(conn, "keep-alive") != 0 && strcasecmp(conn, "close") != 0 &&
        strcasecmp(conn, "upgrade") != 0) {
        char *copy = strdup(conn);
        if (!copy) {
            return KGC_ENOMEM;
        }
        for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
            while (isspace((unsigned char)*tok)) {
                tok++;
            }
            size_t tl = strlen(tok);
            while (tl && isspace((unsigned char)tok[tl - 1])) {
                tok[--tl] = '\0';
            }
            if (strcasecmp(tok, "upgrade") == 0 && websocket) {
                continue;
            }
            kf_hdrs_del(h, tok);
        }
        free(copy);
    }
    kf_hdrs_del(h, "Proxy");
    kf_hdrs_del(h, "Proxy-Connection");
    /* TE: "trailers" only when the client asked for them */
    const char *te = kf_hdrs_get(c->headers, "TE");
    kf_hdrs_del(h, "TE");
    if (te && strstr(te, "trailers")) {
        kf_hdrs_add(h, "TE", "trailers");
    }
    int rc = 0;
    const char *req_via = kf_hdrs_get(c->headers, "Via");
    /* ngx.req.http_version() is a Lua number: 1.0 prints as "1" (handler.lua:1355-1359) */
    const char *hv = r->x->http_version ? r->x->http_version : "1.1";
    if (strcmp(hv, "1.0") == 0) {
        hv = "1";
    }
    char via[1024];
    snprintf(via, sizeof(via), "%s%s%s " SERVER_TOKENS, req_via ? req_via : "", req_via ? ", " : "",
             hv);
    rc = rc ? rc : kf_hdrs_set(h, "Via", via);
    kf_hdrs_del(h, "Upgrade");
    if (websocket) {
        rc = rc ? rc : kf_hdrs_add(h, "Upgrade", "websocket");
    }
    rc = rc ? rc : kf_hdrs_set(h, "Connection", websocket ? "keep-alive, Upgrade" : "keep-alive");
    const char *xff = kf_hdrs_get(c->headers, "X-Forwarded-For");
    char *xffv = NULL;
    if (xff) {
        size_t n = strlen(xff) + strlen(c->client_ip ? c->client_ip : "") + 3;
        xffv = malloc(n);
        if (!xffv) {
            return KGC_ENOMEM;
        }
        snprintf(xffv, n, "%s, %s", xff, c->client_ip ? c->client_ip : "");
    }
    rc = rc ? rc : kf_hdrs_set(h, "X-Forwarded-For", xffv ? xffv : c->client_ip);
    free(xffv);
    char port[16];
    snprintf(port, sizeof(port), "%u", fwd_port);
    rc = rc ? rc : kf_hdrs_set(h, "X-Forwarded-Proto", fwd_proto);
    rc = rc ? rc : kf_hdrs_set(h, "X-Forwarded-Host", fwd_host);
    rc = rc ? rc : kf_hdrs_set(h, "X-Forwarded-Port", port);
    rc = rc ? rc : kf_hdrs_set(h, "X-Forwarded-Path", fwd_path);
    kf_hdrs_del(h, "X-Forwarded-Prefix");
    if (fwd_prefix && *fwd_prefix) {
        rc = rc ? rc : kf_hdrs_add(h, "X-Forwarded-Prefix", fwd_prefix);
    }
    rc = rc ? rc : kf_hdrs_set(h, "X-Real-IP", c->client_ip);
    /* headers_upstream = x-kong-request-id (kong_defaults.lua:72) */
    rc = rc ? rc : kf_hdrs_set(h, "X-Kong-Request-Id", r->rid);
    /* nginx sends the buffered body with its length */
    kf_hdrs_del(h, "Transfer-Encoding");
    kf_hdrs_del(h, "Content-Length");
    if (up->body_len > 0 || kf_hdrs_get(c->headers, "Content-Length")) {
        char cl[32];
        snprintf(cl, sizeof(cl), "%zu", up->body_len);
        rc = rc ? rc : kf_hdrs_add(h, "Content-Length", cl);
    }
    return rc;
}

/* Echo: the upstream answer (echo-basic.go echoHandler), plus "kong". */
static int echo(struct run *r, const struct kf_preq *up, const char *path,
                const struct dp_route *rt, const struct dp_service *svc,
                const struct dp_upstream *ups, const char *target)
{
    json_object *o = json_object_new_object();
    json_object *hdrs = json_object_new_object();
    if (!o || !hdrs) {
        json_object_put(o);
        json_object_put(hdrs);
        return KGC_ENOMEM;
    }
    json_object_object_add(o, "path", json_object_new_string(path));
    json_object_object_add(o, "host", json_object_new_string(up->host ? up->host : ""));
    json_object_object_add(o, "method", json_object_new_string(up->method));
    json_object_object_add(o, "proto", json_object_new_string("HTTP/1.1"));
    int rc = add_echo_headers(hdrs, &up->headers);
    json_object_object_add(o, "headers", hdrs);
    json_object_object_add(o, "namespace",
                           json_object_new_string(rt->k8s_namespace ? rt->k8s_namespace : ""));
    json_object_object_add(o, "ingress", json_object_new_string(""));
    json_object_object_add(o, "service", json_object_new_string(""));
    json_object_object_add(o, "pod", json_object_new_string(""));
    json_object_object_add(o, "sni", json_object_new_string(""));
    json_object *k = json_object_new_object();
    json_object_object_add(k, "route", id_name(rt->id, rt->name));
    json_object_object_add(k, "service", svc ? id_name(svc->id, svc->name) : NULL);
    json_object_object_add(k, "upstream",
                           ups && ups->name ? json_object_new_string(ups->name) : NULL);
    json_object_object_add(k, "target", json_object_new_string(target));
    json_object_object_add(o, "kong", k);
    const char *s =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    free(r->resp->body);
    r->resp->body = s ? strdup(s) : NULL;
    r->resp->body_len = r->resp->body ? strlen(r->resp->body) : 0;
    json_object_put(o);
    if (rc != 0 || !r->resp->body) {
        return KGC_ENOMEM;
    }
    r->resp->status = 200;
    rc = kf_hdrs_set(&r->resp->headers, "Content-Type", "application/json");
    rc = rc ? rc : kf_hdrs_set(&r->resp->headers, "X-Content-Type-Options", "nosniff");
    return rc;
}

static int run_matched(struct run *r, const struct kf_match *m, struct pick *plugins)
{
    const struct kf_client_req *c = r->c;
    struct kf_dp *dp = r->dp;
    const struct dp_route *rt = &dp->routes[m->route];
    const struct dp_service *svc = rt->service >= 0 ? &dp->services[rt->service] : NULL;
    int rc = 0;

    /* Kong-Debug (kong/router/utils.lua:113-143) */
    if (r->x->debug_header_allowed && kf_hdrs_get(c->headers, "Kong-Debug")) {
        struct kf_hdrs *h = &r->resp->headers;
        if (rt->id) {
            rc = rc ? rc : kf_hdrs_set(h, "Kong-Route-Id", rt->id);
        }
        if (rt->name) {
            rc = rc ? rc : kf_hdrs_set(h, "Kong-Route-Name", rt->name);
        }
        if (svc && svc->id) {
            rc = rc ? rc : kf_hdrs_set(h, "Kong-Service-Id", svc->id);
        }
        if (svc && svc->name) {
            rc = rc ? rc : kf_hdrs_set(h, "Kong-Service-Name", svc->name);
        }
        if (rc) {
            return rc;
        }
    }

    /* X-Forwarded-* (handler.lua:1225-1262): trusted_ips is empty by default, so the client's
     * X-Forwarded-* are not trusted */
    const char *fwd_proto = c->scheme;
    char fwd_host[512];
    var_host(c->host, fwd_host, sizeof(fwd_host));
    unsigned fwd_port = c->port;
    const char *fwd_path = c->path;
    const char *fwd_prefix = m->prefix && strcmp(m->prefix, "/") != 0 ? m->prefix : NULL;

    /* a protocol the route does not take (handler.lua:1263-1283) */
    if (rt->https_only && strcmp(fwd_proto, "https") != 0) {
        if (rt->redirect_code == 301 || rt->redirect_code == 302 || rt->redirect_code == 307 ||
            rt->redirect_code == 308) {
            size_t n = strlen(fwd_host) + strlen(r->x->request_uri) + 16;
            char *loc = malloc(n);
            if (!loc) {
                return KGC_ENOMEM;
            }
            snprintf(loc, n, "https://%s%s", fwd_host, r->x->request_uri);
            rc = kf_hdrs_set(&r->resp->headers, "Location", loc);
            free(loc);
            r->resp->status = rt->redirect_code;
            r->resp->short_circuit = true;
            return rc;
        }
        /* 426 (and any other code: Kong answers 426 only for 426; others pass through) */
        if (rt->redirect_code == 426) {
            rc = kong_error(r, 426, "Please use HTTPS protocol");
            rc = rc ? rc : kf_hdrs_set(&r->resp->headers, "Connection", "Upgrade");
            rc = rc ? rc : kf_hdrs_set(&r->resp->headers, "Upgrade", "TLS/1.2, HTTP/1.1");
            r->resp->short_circuit = true;
            return rc;
        }
    }
    /* gRPC routes (handler.lua:1283-1310) */
    if (rt->grpc) {
        const char *ct = kf_hdrs_get(c->headers, "Content-Type");
        if (!ct || strncmp(ct, "application/grpc", 16) != 0) {
            r->resp->short_circuit = true;
            return kong_error(r, 415, "Non-gRPC request matched gRPC route");
        }
        /* The test Kong speaks HTTP/1.x only. Fake-specific: with --allow-debug-header, the
         * request header "Kong-Test-Http-Version: 2" stands for an HTTP/2 request, so that the
         * rest of the runloop (the grpcs check, the balancer, the echo naming the target) runs
         * for gRPC routes; nothing of HTTP/2 or of gRPC's framing is modelled. */
        if (!fake_http2(r)) {
            r->resp->short_circuit = true;
            rc = kong_error(r, 426, "Please use HTTP2 protocol");
            rc = rc ? rc : kf_hdrs_set(&r->resp->headers, "Connection", "Upgrade");
            rc = rc ? rc : kf_hdrs_set(&r->resp->headers, "Upgrade", "HTTP/2");
            return rc;
        }
        if (rt->grpc_only_tls && strcmp(fwd_proto, "https") != 0) {
            /* kong.response.exit(200, nil, {...}) (handler.lua:1302-1308) */
            r->resp->short_circuit = true;
            r->resp->status = 200;
            rc = kf_hdrs_set(&r->resp->headers, "Content-Type", "application/grpc");
            rc = rc ? rc : kf_hdrs_set(&r->resp->headers, "grpc-status", "1");
            rc = rc ? rc
                    : kf_hdrs_set(&r->resp->headers, "grpc-message",
                                  "gRPC request matched gRPCs route");
            return rc;
        }
    }

    /* the upstream request the plugins see */
    struct kf_preq up = {0};
    up.method = strdup(c->method);
    /* handler.lua:1324: var.upstream_uri = escape(match_t.upstream_uri), the router's URI computed
     * from the normalised request URI (a route without a service has none: the normalised URI) */
    up.uri = kf_uri_escape(m->upstream_uri ? m->upstream_uri : r->norm_uri);
    up.query = c->query ? strdup(c->query) : NULL;
    up.host = m->upstream_host ? strdup(m->upstream_host) : NULL;
    if (c->body_len) {
        up.body = malloc(c->body_len);
        if (up.body) {
            memcpy(up.body, c->body, c->body_len);
            up.body_len = c->body_len;
        }
    }
    rc = !up.method || !up.uri || (c->query && !up.query) || (m->upstream_host && !up.host) ||
                 (c->body_len && !up.body)
             ? KGC_ENOMEM
             : 0;
    for (size_t i = 0; rc == 0 && i < c->headers->n; i++) {
        rc = kf_hdrs_add(&up.headers, c->headers->v[i].name, c->headers->v[i].value);
    }
    rc = rc ? rc : pick_plugins(dp, rt->id, svc ? svc->id : NULL, plugins);
    rc = rc ? rc : kf_plugins_access(plugins->v, plugins->n, c, m, &up, r->resp);
    if (rc != 0 || r->resp->short_circuit) {
        kf_preq_free(&up);
        return rc;
    }
    if (!svc) {
        /* a route without a service (kong/init.lua:1219-1231) */
        kf_preq_free(&up);
        return kong_error(r, 503, "no Service found with those values");
    }

    /* access after (handler.lua:1384-1434): the query, the balancer, the Host header */
    size_t rl = strlen(r->x->request_uri);
    bool has_args = up.query || (rl && r->x->request_uri[rl - 1] == '?');
    size_t plen = strlen(up.uri) + (up.query ? strlen(up.query) : 0) + 2;
    char *path = malloc(plen);
    if (!path) {
        kf_preq_free(&up);
        return KGC_ENOMEM;
    }
    snprintf(path, plen, "%s%s%s", up.uri, has_args ? "?" : "", up.query ? up.query : "");

    const struct dp_upstream *ups =
        svc && svc->upstream >= 0 ? &dp->upstreams[svc->upstream] : NULL;
    char target[600];
    char hostname[512];
    unsigned tport;
    if (ups) {
        /* with the router's match for hash_on = uri_capture (balancer/init.lua:166-171) */
        if (kf_balancer_pick_ex(ups->bal, c, m, target, sizeof(target), &r->bx) != 0) {
            /* balancer/init.lua:352-355 */
            free(path);
            kf_preq_free(&up);
            r->proxied = false;
            return kong_error(r, 503, "failure to get a peer from the ring-balancer");
        }
        /* host and port of the target ("^(.-):(%d+)$", balancer/targets.lua:96) */
        const char *colon = strrchr(target, ':');
        bool has_port = colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
                        (target[0] != '[' || colon[-1] == ']');
        if (has_port) {
            snprintf(hostname, sizeof(hostname), "%.*s", (int)(colon - target), target);
            tport = (unsigned)strtoul(colon + 1, NULL, 10);
        } else {
            snprintf(hostname, sizeof(hostname), "%s", target);
            tport = TARGET_DEFAULT_PORT;
            size_t tl = strlen(target);
            snprintf(target + tl, sizeof(target) - tl, ":%u", tport);
        }
        if (ups->host_header) {
            snprintf(hostname, sizeof(hostname), "%s", ups->host_header);
        }
    } else {
        snprintf(hostname, sizeof(hostname), "%s", svc && svc->host ? svc->host : "");
        tport = svc ? (unsigned)svc->port : 80;
        bool v6 = strchr(hostname, ':') != NULL && hostname[0] != '[';
        snprintf(target, sizeof(target), "%s%s%s:%u", v6 ? "[" : "", hostname, v6 ? "]" : "",
                 tport);
    }
    /* set_host_header (balancer/init.lua:400-416): hostname, with the port unless it is the
     * scheme's default */
    if (!up.host) {
        const char *scheme = svc && svc->protocol ? svc->protocol : "http";
        bool omit =
            (tport == 80 && (strcmp(scheme, "http") == 0 || strcmp(scheme, "grpc") == 0)) ||
            (tport == 443 && (strcmp(scheme, "https") == 0 || strcmp(scheme, "grpcs") == 0));
        char hh[600];
        if (omit) {
            snprintf(hh, sizeof(hh), "%s", hostname);
        } else {
            snprintf(hh, sizeof(hh), "%s:%u", hostname, tport);
        }
        up.host = strdup(hh);
        if (!up.host) {
            free(path);
            kf_preq_free(&up);
            return KGC_ENOMEM;
        }
    }
    rc = upstream_headers(r, &up, fwd_proto, fwd_host, fwd_port, fwd_path, fwd_prefix);
    rc = rc ? rc : kf_hdrs_set(&up.headers, "Host", up.host);
    r->proxied = true;
    rc = rc ? rc : echo(r, &up, path, rt, svc, ups, target);
    free(path);
    kf_preq_free(&up);
    return rc;
}

int kf_dp_handle(struct kf_dp *dp, const struct kf_client_req *c, const struct kf_req_extra *x,
                 struct kf_presp *resp)
{
    struct run r = {.dp = dp, .c = c, .x = x, .resp = resp, .t0 = now_ms()};
    request_id(r.rid);
    resp->status = 0;
    resp->short_circuit = false;

    struct kvs hdrs = {0}, qs = {0};
    struct kf_match m;
    memset(&m, 0, sizeof(m));
    m.route = -1;
    struct pick plugins = {0};
    int rc = 0;
    if (x->body_too_big) {
        /* nginx's 413 through Kong's error handler (kong/error_handlers.lua BODIES[413]); the
         * cap is the test Kong's own (Kong's client_max_body_size defaults to 0, no limit) */
        rc = kong_error(&r, 413, "Payload too large");
        rc = rc ? rc : header_filter(&r);
        return rc;
    }
    /* exec(): the request target without its query, normalised (kong/router/utils.lua:57-64;
     * ctx.request_uri = var.request_uri, handler.lua:1168, atc.lua:446-449,
     * traditional.lua:1757-1777) */
    char *norm_uri = kf_uri_normalize(x->request_uri ? x->request_uri : c->path);
    if (!norm_uri) {
        return KGC_ENOMEM;
    }
    r.norm_uri = norm_uri;
    if (dp && dp->router) {
        hdrs.v = calloc(c->headers->n + 1, sizeof(*hdrs.v));
        rc = hdrs.v ? parse_query(c->query, &qs) : KGC_ENOMEM;
        for (size_t i = 0; rc == 0 && i < c->headers->n; i++) {
            hdrs.v[i].name = c->headers->v[i].name;
            hdrs.v[i].value = c->headers->v[i].value;
        }
        struct kf_request req = {
            .method = c->method,
            .uri = norm_uri,
            .host = c->host,
            .scheme = c->scheme,
            .src_ip = c->client_ip,
            .src_port = x->remote_port,
            .dst_ip = x->local_ip && *x->local_ip ? x->local_ip : NULL,
            .dst_port = c->port,
            .sni = c->sni,
            .headers = hdrs.v,
            .n_headers = c->headers->n,
            .queries = qs.v,
            .n_queries = qs.n,
        };
        char err[256] = "";
        if (rc == 0) {
            int src = kf_router_select(dp->router, &req, &m, err, sizeof(err));
            if (src == KGC_ENOMEM) {
                rc = src;
            } else if (src != 0) {
                kgc_warn(LOG_COMPONENT, "router:select failed", KGC_F_STR("error", err));
                m.route = -1;
            }
        }
        free(hdrs.v); /* borrowed strings */
        hdrs.v = NULL;
    }
    if (rc == 0) {
        if (m.route < 0 || !dp || (size_t)m.route >= dp->n_routes) {
            /* handler.lua:1197 */
            rc = kong_error(&r, 404, "no Route matched with those values");
        } else {
            rc = run_matched(&r, &m, &plugins);
            /* header_filter before (handler.lua:1534-1537): the hash cookie the balancer made
             * (balancer/init.lua:195-225; the echo sends no Set-Cookie of its own) */
            if (rc == 0 && r.bx.set_cookie[0]) {
                rc = kf_hdrs_add(&resp->headers, "Set-Cookie", r.bx.set_cookie);
            }
            if (rc == 0) {
                rc = kf_plugins_response(plugins.v, plugins.n, c, resp);
            }
        }
    }
    rc = rc ? rc : header_filter(&r);
    free(norm_uri);
    kf_match_clear(&m);
    kvs_free(&qs);
    free(plugins.v);
    return rc;
}

/* ---- the stream subsystem (kong/init.lua:1052-1103, handler.lua:1073-1149) --------------------
 */

int kf_dp_stream(const struct kf_dp *dp, const struct kf_stream_req *q, struct kf_stream_res *res)
{
    memset(res, 0, sizeof(*res));
    res->outcome = KF_STREAM_NO_ROUTE;
    if (!dp || !dp->srouter) {
        return 0;
    }
    /* the traditional exec(): scheme udp on a UDP listener, else tls when an SNI is known, else
     * tcp (traditional.lua:1804-1809; atc.lua:597-603) */
    const char *scheme = q->udp ? "udp" : q->sni ? "tls" : "tcp";
    struct kf_request req = {
        .scheme = scheme,
        .src_ip = q->src_ip,
        .src_port = q->src_port,
        .dst_ip = q->dst_ip,
        .dst_port = q->dst_port,
        .sni = q->sni,
    };
    struct kf_match m;
    char err[256] = "";
    int rc = kf_router_select(dp->srouter, &req, &m, err, sizeof(err));
    if (rc == KGC_ENOMEM) {
        kf_match_clear(&m);
        return rc;
    }
    if (rc != 0 || m.route < 0) {
        if (rc != 0) {
            kgc_error(LOG_COMPONENT, "router returned an error", KGC_F_STR("error", err));
        }
        kf_match_clear(&m);
        kgc_error(LOG_COMPONENT, "no Route found with those values", KGC_F_STR("scheme", scheme),
                  KGC_F_INT("port", q->dst_port), KGC_F_STR("sni", q->sni ? q->sni : ""));
        return 0; /* handler.lua:1080-1084: exit(500), the connection is closed */
    }
    const struct dp_route *rt = &dp->sroutes[m.route];
    kf_match_clear(&m);
    json_object *protocols = jget(rt->obj, "protocols");
    snprintf(res->scheme, sizeof(res->scheme), "%s", scheme);
    if (q->preread_block) {
        /* handler.lua:1087-1105: the ssl listener's preread server only decides where to go */
        res->outcome = jarr_has(protocols, "tls")               ? KF_STREAM_TERMINATE
                       : jarr_has(protocols, "tls_passthrough") ? KF_STREAM_PASSTHROUGH
                                                                : KF_STREAM_UNEXPECTED;
        if (res->outcome == KF_STREAM_UNEXPECTED) {
            kgc_error(LOG_COMPONENT, "unexpected protocols in matched Route",
                      KGC_F_STR("route", rt->id ? rt->id : ""));
        }
        return 0;
    }
    const struct dp_service *svc = rt->service >= 0 ? &dp->services[rt->service] : NULL;
    if (!svc) {
        kgc_warn(LOG_COMPONENT, "no Service found with those values",
                 KGC_F_STR("route", rt->id ? rt->id : "")); /* kong/init.lua:1087-1094 */
        res->outcome = KF_STREAM_NO_SERVICE;
        return 0;
    }
    const struct dp_upstream *ups = svc->upstream >= 0 ? &dp->upstreams[svc->upstream] : NULL;
    char target[600];
    if (ups) {
        struct kf_hdrs none = {0};
        struct kf_client_req c = {.method = "",
                                  .scheme = scheme,
                                  .path = "",
                                  .headers = &none,
                                  .client_ip = q->src_ip ? q->src_ip : "",
                                  .port = q->dst_port,
                                  .sni = q->sni};
        if (kf_balancer_pick_ex(ups->bal, &c, NULL, target, sizeof(target), NULL) != 0) {
            /* balancer/init.lua:352-355, handler.lua:1138-1141: the connection is closed */
            kgc_error(LOG_COMPONENT, "failure to get a peer from the ring-balancer",
                      KGC_F_STR("upstream", ups->name ? ups->name : ""));
            res->outcome = KF_STREAM_NO_PEER;
            return 0;
        }
        const char *colon = strrchr(target, ':');
        bool has_port = colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
                        (target[0] != '[' || colon[-1] == ']');
        if (!has_port) {
            size_t tl = strlen(target);
            snprintf(target + tl, sizeof(target) - tl, ":%d", TARGET_DEFAULT_PORT);
        }
    } else {
        const char *h = svc->host ? svc->host : "";
        bool v6 = strchr(h, ':') != NULL && h[0] != '[';
        snprintf(target, sizeof(target), "%s%s%s:%d", v6 ? "[" : "", h, v6 ? "]" : "", svc->port);
    }
    json_object *a = json_object_new_object();
    json_object *k = json_object_new_object();
    if (!a || !k) {
        json_object_put(a);
        json_object_put(k);
        return KGC_ENOMEM;
    }
    json_object_object_add(k, "route", id_name(rt->id, rt->name));
    json_object_object_add(k, "service", id_name(svc->id, svc->name));
    json_object_object_add(k, "upstream", ups ? id_name(ups->id, ups->name) : NULL);
    json_object_object_add(k, "target", json_object_new_string(target));
    json_object_object_add(a, "namespace",
                           rt->k8s_namespace ? json_object_new_string(rt->k8s_namespace) : NULL);
    json_object_object_add(a, "kong", k);
    res->answer = a;
    res->outcome = KF_STREAM_PROXY;
    return 0;
}

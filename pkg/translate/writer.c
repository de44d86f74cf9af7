/* The writer: streams the planned configuration into one text, one entity at a time (a service
 * with its Kong routes and plugins, an upstream with its targets), so that no more than one
 * service's json-c tree exists at once; the bytes are those json-c would give for the whole
 * document. It reads only what the planning pass kept (struct tr_svc, the ranked struct tr_kroute)
 * and the route objects it holds. Calls context.c, match.c, filters.c and certs.c. */
#include "translate_internal.h"

#include "kgc/base.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* ---- the output text ------------------------------------------------------------------------- */

/* Appends to the configuration text; a failure there is the context's (c->oom). */
static void obuf_add(struct tr_ctx *c, struct kgc_base_buf *b, const char *p, size_t len)
{
    if (c->oom)
        return;
    if (kgc_base_buf_add(b, p, len) != 0)
        c->oom = true;
}

/* Appends o's compact text and frees o (consumed). */
static void obuf_json(struct tr_ctx *c, struct kgc_base_buf *b, json_object *o)
{
    size_t len = 0;
    const char *text = o && !c->oom
                           ? json_object_to_json_string_length(
                                 o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len)
                           : NULL;
    if (!text)
        c->oom = true;
    else
        obuf_add(c, b, text, len);
    json_object_put(o);
}

/* ---- services and their Kong routes ---------------------------------------------------------- */

/* The Kong route's protocols: http/https, or grpc/grpcs for a GRPCRoute (grpc.c). */
static json_object *protocols(struct tr_ctx *c, bool http, bool https, bool grpc)
{
    json_object *p = tr_jarr(c);
    if (http)
        tr_jpush(c, p, tr_jstr(c, grpc ? "grpc" : "http"));
    if (https)
        tr_jpush(c, p, tr_jstr(c, grpc ? "grpcs" : "https"));
    return p;
}

/* hosts[i] into arr. traditional_compatible: one "host:port" entry per Kong port of the listeners
 * that give it (Kong 3.9.1's kong/router/transform.lua:388-409 makes it `(http.host == "host" &&
 * net.dst.port == port)`: the listen port), the bare host when a listener's port is unknown or
 * there are too many pairs; traditional: the bare host (kong/router/traditional.lua compares a
 * port in hosts with the Host header's). */
static void push_scoped_hosts(struct tr_ctx *c, const struct route_ctx *rc, const char *h,
                              uint32_t bits, json_object *arr)
{
    bool bare = c->flavor != TR_TRADITIONAL_COMPATIBLE || rc->listens_overflow || !bits;
    for (uint32_t k = 0; k < rc->n_listens && !bare; k++)
        bare = (bits & (UINT32_C(1) << k)) && !rc->listens[k].port;
    if (bare) {
        tr_jpush(c, arr, tr_jstr(c, h));
        return;
    }
    for (uint32_t k = 0; k < rc->n_listens; k++) {
        if (!(bits & (UINT32_C(1) << k)))
            continue;
        char *hp = tr_printf(c, "%s:%u", h, (unsigned)rc->listens[k].port);
        tr_jpush(c, arr, tr_jstr(c, hp));
        free(hp);
        uint16_t g = rc->listens[k].gw_port;
        bool seen = g == rc->listens[k].port || !g; /* Host header port (tr_listen) */
        for (uint32_t j = 0; j < rc->n_listens && !seen; j++)
            seen = j != k && (bits & (UINT32_C(1) << j)) &&
                   (rc->listens[j].port == g || (j < k && rc->listens[j].gw_port == g));
        if (!seen) {
            hp = tr_printf(c, "%s:%u", h, (unsigned)g);
            tr_jpush(c, arr, tr_jstr(c, hp));
            free(hp);
        }
    }
}

/* One Kong route for the match with its rank-given priority; host_index >= 0 selects one
 * hostname (expressions flavour). *name gets the route's name (owned). */
static json_object *kroute_json(struct route_ctx *rc, const struct match_plan *mp,
                                const struct rule_filters *f, int32_t host_index, json_object *tags,
                                const struct tr_kroute *k, const struct tr_rule_plugins *rp,
                                char **name)
{
    int64_t prio = k->prio;
    struct tr_ctx *c = rc->c;
    if (host_index >= 0)
        *name = tr_printf(c, "%s.%s.%s.%u.%u.h%d", tr_route_prefix(rc->r), rc->ns, rc->name,
                          mp->rule, mp->match, host_index);
    else if (host_index == TR_HOSTS_ISO)
        *name = tr_printf(c, "%s.%s.%s.%u.%u.iso", tr_route_prefix(rc->r), rc->ns, rc->name,
                          mp->rule, mp->match);
    else
        *name = tr_printf(c, "%s.%s.%s.%u.%u", tr_route_prefix(rc->r), rc->ns, rc->name, mp->rule,
                          mp->match);
    json_object *o = tr_jobj(c);
    if (c->flavor == TR_TRADITIONAL_COMPATIBLE && *name) {
        char id[37];
        tr_kroute_id(k, *name, id);
        tr_jset(c, o, "id", tr_jstr(c, id));
    }
    tr_jset(c, o, "name", tr_jstr(c, *name));
    bool https_only = mp->has_redirect && mp->redirect.https_only;
    tr_jset(c, o, "protocols",
            protocols(c, https_only ? false : rc->http, https_only || rc->https,
                      rc->r->obj.kind == KGC_API_GRPCROUTE));
    if (c->flavor == TR_EXPRESSIONS) {
        const char *host = host_index >= 0 && rc->n_hosts ? rc->hosts[host_index] : NULL;
        char *expr = tr_expression(c, mp, host);
        char *scope = tr_listen_scope(c, rc, rc->n_hosts ? host_index : -1);
        char *full = expr && scope ? tr_printf(c, "%s%s", expr, scope) : NULL;
        tr_jset(c, o, "expression", tr_jstr(c, full));
        free(full);
        free(scope);
        free(expr);
        tr_jset(c, o, "priority", tr_jint(c, prio));
    } else {
        bool iso = host_index == TR_HOSTS_ISO;
        char *const *hs = iso ? rc->iso_hosts : rc->hosts;
        const uint32_t *bits = iso ? rc->iso_listens : rc->host_listens;
        size_t nh = iso ? rc->n_iso_hosts : rc->n_hosts;
        if (nh) {
            json_object *hosts = tr_jarr(c);
            for (size_t i = 0; i < nh; i++)
                push_scoped_hosts(c, rc, hs[i], bits ? bits[i] : 0, hosts);
            tr_jset(c, o, "hosts", hosts);
        }
        /* a GRPCRoute's prefix (a service match) is a regex under traditional too: Kong's
         * traditional router tries every regex path before any prefix (traditional.lua:1668-1692),
         * and a service match outranks a method-only match, which is a regex (grpc.c) */
        tr_jset(c, o, "paths",
                tr_trad_paths(c, &mp->path,
                              c->flavor == TR_TRADITIONAL_COMPATIBLE ||
                                  rc->r->obj.kind == KGC_API_GRPCROUTE,
                              tr_route_has_wildcard(rc, iso)));
        if (mp->n_headers)
            tr_jset(c, o, "headers", tr_trad_headers(c, mp));
        if (mp->m->method) {
            json_object *methods = tr_jarr(c);
            tr_jpush(c, methods, tr_jstr(c, mp->m->method));
            tr_jset(c, o, "methods", methods);
        }
    }
    tr_jset(c, o, "strip_path", json_object_new_boolean(0));
    tr_jset(c, o, "preserve_host", json_object_new_boolean(1));
    if (c->flavor == TR_TRADITIONAL) {
        /* kong/router/traditional.lua:681-709 (3.9.1): regex_priority orders regex paths, and
         * created_at (older first) is the last tie-break: both carry kgc's rank. */
        tr_jset(c, o, "regex_priority", tr_jint(c, prio));
        tr_jset(c, o, "created_at", tr_jint(c, (int64_t)c->kroutes.n - prio + 1));
    }
    if (https_only)
        tr_jset(c, o, "https_redirect_status_code", tr_jint(c, mp->redirect.status));
    /* no tags: the name leads a Kong error back to the HTTPRoute, rule and match
     * (kgc_translate_entity_owner); the plugins, whose names are Kong's, carry them */
    json_object *plugins = tr_route_plugins(rc, mp, f, tags);
    if (rp && !rp->blocked && rp->route.n) { /* KongPlugins (plugins.c) */
        if (!plugins)
            plugins = tr_jarr(c);
        tr_plugins_append(c, plugins, &rp->route, *name);
    }
    if (plugins)
        tr_jset(c, o, "plugins", plugins);
    return o;
}

void tr_service_timeouts(struct route_ctx *rc, uint32_t ri, json_object *svc)
{
    struct tr_ctx *c = rc->c;
    const struct kgc_api_http_route_rule *rule = &rc->r->rules[ri];
    const char *t =
        rule->timeout_backend_request ? rule->timeout_backend_request : rule->timeout_request;
    if (!t)
        return;
    int64_t ms = tr_duration_ms(t);
    if (ms < 0) {
        tr_problem(c, rc->r->obj.kind, rc->ns, rc->name, (int32_t)ri, -1, KGC_TRANSLATE_DEGRADED,
                   "timeout \"%.32s\" is not a duration: ignored", t);
        return;
    }
    if (ms == 0) {
        tr_problem(c, rc->r->obj.kind, rc->ns, rc->name, (int32_t)ri, -1, KGC_TRANSLATE_DEGRADED,
                   "timeout 0 (none) cannot be expressed: Kong's 60 s default applies");
        return;
    }
    if (!svc) /* planning: only the problems */
        return;
    if (ms > 2147483646)
        ms = 2147483646;
    tr_jset(c, svc, "connect_timeout", tr_jint(c, ms));
    tr_jset(c, svc, "read_timeout", tr_jint(c, ms));
    tr_jset(c, svc, "write_timeout", tr_jint(c, ms));
}

/* A Kong route being written with its service. */
struct named {
    char *name;
    json_object *obj;
};

struct write_ctx {
    const struct tr_svc *v;
    const struct tr_rule_plugins *rp;
    size_t next; /* the next of v->kr to meet */
    struct named *kr;
    size_t n;
};

static void write_kroute(struct route_ctx *rc, const struct match_plan *mp,
                         const struct rule_filters *f, int32_t host_index, json_object *tags,
                         void *ctx)
{
    struct write_ctx *w = ctx;
    struct tr_ctx *c = rc->c;
    /* the planning pass met the same Kong routes in the same order (same objects, same code) */
    const struct tr_kroute *k = w->next < w->v->n_kr ? &w->v->kr[w->next] : NULL;
    w->next++;
    if (!k || k->match != mp->match ||
        k->host != (host_index >= 0              ? (uint32_t)host_index
                    : host_index == TR_HOSTS_ISO ? 1u
                                                 : 0u)) {
        c->oom = true; /* cannot happen; fail rather than write a wrong priority */
        return;
    }
    char *name = NULL;
    json_object *o = kroute_json(rc, mp, f, host_index, tags, k, w->rp, &name);
    if (o && w->v->tls) /* the upstream's host_header carries the SNI (backendtls.c) */
        tr_jset(c, o, "preserve_host", json_object_new_boolean(0));
    if (!o || !name) {
        json_object_put(o);
        free(name);
        c->oom = true;
        return;
    }
    w->kr[w->n].name = name;
    w->kr[w->n].obj = o;
    w->n++;
}

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

/* Writes the service of v (with its Kong routes and plugins) into b. */
static void write_service(struct tr_ctx *c, const struct tr_svc *v, struct kgc_base_buf *b)
{
    struct route_ctx *rc = (struct route_ctx *)v->rc;
    uint32_t ri = v->rule;
    struct rule_filters f;
    if (!tr_check_filters(rc, ri, &f)) {
        c->oom = true; /* the planning pass kept it: cannot happen */
        return;
    }
    struct tr_rule_plugins rp;
    tr_rule_plugins(rc, ri, v->n_targets == 0, &rp);
    struct write_ctx w = {.v = v, .rp = &rp, .kr = calloc(v->n_kr, sizeof(struct named))};
    if (!w.kr) {
        tr_rule_plugins_free(&rp);
        c->oom = true;
        return;
    }
    tr_plan_matches(rc, ri, &f, write_kroute, &w);
    if (w.n != v->n_kr)
        c->oom = true;
    json_object *rule_tags =
        tr_obj_tags_ext(c, rc->r->obj.kind, &rc->r->obj, (int32_t)ri, -1, true);
    json_object *o = tr_jobj(c);
    tr_jset(c, o, "name", tr_jstr(c, v->name));
    /* protocol "http" and port 80 are Kong's defaults (kong/db/schema/entities/services.lua:17-18,
     * 36, 38 in 3.9.1): not written. No tags: the name leads back to the HTTPRoute and rule. */
    tr_jset(c, o, "host", tr_jstr(c, v->name));
    if (rc->r->obj.kind == KGC_API_GRPCROUTE) /* HTTP/2 to the backends (grpc.c) */
        tr_jset(c, o, "protocol", tr_jstr(c, "grpc"));
    tr_service_timeouts(rc, ri, o);
    tr_backend_tls_service(c, v, o);
    if (w.n > 1)
        qsort(w.kr, w.n, sizeof(*w.kr), cmp_named);
    json_object *routes = tr_jarr(c);
    for (size_t i = 0; i < w.n; i++) {
        tr_jpush(c, routes, w.kr[i].obj);
        free(w.kr[i].name);
    }
    free(w.kr);
    tr_jset(c, o, "routes", routes);
    json_object *plugins = NULL;
    if (rp.blocked || v->n_targets == 0) {
        /* nothing to forward to, or a plugin the rule needs is missing: the Gateway API wants
         * 500 (plugins.c) */
        json_object *cfg = tr_jobj(c);
        plugins = tr_jarr(c);
        tr_jset(c, cfg, "status_code", tr_jint(c, 500));
        char msg[96];
        snprintf(msg, sizeof(msg),
                 rp.blocked ? "a Kong plugin this %s rule uses is unavailable"
                            : "no backend of this %s rule is available",
                 kgc_api_kind_info(rc->r->obj.kind)->name);
        tr_jset(c, cfg, "message", tr_jstr(c, msg));
        tr_jpush(c, plugins, tr_plugin(c, "request-termination", cfg, tr_jref(rule_tags)));
    }
    if (!rp.blocked && rp.service.n) {
        if (!plugins)
            plugins = tr_jarr(c);
        tr_plugins_append(c, plugins, &rp.service, v->name);
    }
    if (plugins)
        tr_jset(c, o, "plugins", plugins);
    tr_rule_plugins_free(&rp);
    json_object_put(rule_tags);
    obuf_json(c, b, o);
}

/* ---- upstreams ------------------------------------------------------------------------------- */

/* Writes the upstream of v (with its targets) into b. */
static void write_upstream(struct tr_ctx *c, const struct tr_svc *v, struct kgc_base_buf *b)
{
    json_object *o = tr_jobj(c);
    /* no tags: the name leads back to the HTTPRoute and rule */
    tr_jset(c, o, "name", tr_jstr(c, v->name));
    /* Equal weights balance as Kong's default weight does (100, kong/db/schema/entities/
     * targets.lua:33 in 3.9.1): the round-robin wheel divides every weight by their gcd
     * (kong/runloop/balancer/round_robin.lua:38-66), so such targets are written without one. */
    bool equal = true;
    for (size_t i = 1; i < v->n_targets && equal; i++)
        equal = v->weights[i] == v->weights[0];
    /* Targets carry no tags: they are the most numerous entity (a third of the bytes went to
     * their tags), their names are Kong's (none), and kgc writes only addresses it checked
     * itself (ready EndpointSlice addresses, kgc_translate_target_valid()), one per address. */
    json_object *tl = tr_jarr(c);
    const char *addr = v->addrs;
    for (size_t i = 0; i < v->n_targets; i++) {
        json_object *t = tr_jobj(c);
        tr_jset(c, t, "target", tr_jstr(c, addr));
        if (!equal)
            tr_jset(c, t, "weight", tr_jint(c, v->weights[i]));
        tr_jpush(c, tl, t);
        addr += strlen(addr) + 1;
    }
    tr_jset(c, o, "targets", tl);
    tr_backend_tls_upstream(c, v, o);
    obuf_json(c, b, o);
}

/* ---- the document ---------------------------------------------------------------------------- */

static int cmp_svc(const void *a, const void *b)
{
    return strcmp((*(const struct tr_svc *const *)a)->name,
                  (*(const struct tr_svc *const *)b)->name);
}

/* Writes the document: {"_format_version":"3.0","certificates":[...],"services":[...],
 * ["routes":[...],] "upstreams":[...]}, the bytes json-c would give for the whole tree, one entity
 * at a time so that no more than one service's tree exists at once. */
static void write_document(struct tr_ctx *c, struct kgc_base_buf *b)
{
    json_object *head = tr_jobj(c);
    tr_jset(c, head, "_format_version", tr_jstr(c, "3.0"));
    if (!c->oom)
        tr_jset(c, head, "certificates", tr_certificates(c));
    tr_head_ca_certificates(c, head);
    tr_head_global_plugins(c, head);
    c->quiet = true; /* every problem was recorded by the planning pass */
    size_t len = 0;
    const char *text =
        head && !c->oom ? json_object_to_json_string_length(
                              head, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len)
                        : NULL;
    /* One allocation sized past what the rest will take: pages never written cost no memory,
     * and growing a buffer of tens of MB by realloc may copy it (two copies at once) when
     * malloc serves it from the heap. Grown by doubling should the guess fall short. */
    size_t guess = len + 4096 + c->svcs.n * 1024 + c->kroutes.n * 2048 + c->counts.targets * 192;
    if (!c->oom && kgc_base_buf_reserve(b, guess - 1) != 0)
        b->err = 0; /* too much at once: grow by doubling instead */
    if (!text || len < 2 || text[len - 1] != '}')
        c->oom = true;
    else
        obuf_add(c, b, text, len - 1); /* without its closing brace */
    json_object_put(head);
    if (c->svcs.n > 1)
        qsort(c->svcs.v, c->svcs.n, sizeof(*c->svcs.v), cmp_svc);
    static const char services[] = ",\"services\":[";
    obuf_add(c, b, services, sizeof(services) - 1);
    for (size_t i = 0; i < c->svcs.n && !c->oom; i++) {
        if (i)
            obuf_add(c, b, ",", 1);
        write_service(c, c->svcs.v[i], b);
    }
    for (size_t i = 0; i < c->stream_svcs.n && !c->oom; i++) { /* stream.c: after "httproute." */
        if (i || c->svcs.n)
            obuf_add(c, b, ",", 1);
        obuf_add(c, b, c->stream_svcs.v[i], strlen(c->stream_svcs.v[i]));
    }
    if (c->n_iso) { /* service-less Kong routes: listener isolation (isolation.c) */
        static const char routes[] = "],\"routes\":[";
        obuf_add(c, b, routes, sizeof(routes) - 1);
        for (size_t i = 0; i < c->n_iso && !c->oom; i++) {
            if (i)
                obuf_add(c, b, ",", 1);
            obuf_json(c, b, tr_isolation_route(c, i));
        }
    }
    static const char upstreams[] = "],\"upstreams\":[";
    obuf_add(c, b, upstreams, sizeof(upstreams) - 1);
    bool first = true;
    for (size_t i = 0; i < c->svcs.n && !c->oom; i++) {
        const struct tr_svc *v = c->svcs.v[i];
        if (!v->n_targets)
            continue;
        if (!first)
            obuf_add(c, b, ",", 1);
        first = false;
        write_upstream(c, v, b);
    }
    for (size_t i = 0; i < c->stream_ups.n && !c->oom; i++) {
        if (!first)
            obuf_add(c, b, ",", 1);
        first = false;
        obuf_add(c, b, c->stream_ups.v[i], strlen(c->stream_ups.v[i]));
    }
    obuf_add(c, b, "]}", 2);
}

char *tr_write_document(struct tr_ctx *c, size_t *len)
{
    struct kgc_base_buf b = {0};
    write_document(c, &b);
    if (c->oom || !b.s) {
        kgc_base_buf_free(&b);
        *len = 0;
        return NULL;
    }
    return kgc_base_buf_take(&b, len);
}

void tr_write_service_text(struct tr_ctx *c, const struct tr_svc *v, struct kgc_base_buf *b)
{
    write_service(c, v, b);
}

void tr_write_upstream_text(struct tr_ctx *c, const struct tr_svc *v, struct kgc_base_buf *b)
{
    write_upstream(c, v, b);
}

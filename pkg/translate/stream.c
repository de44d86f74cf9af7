/* TLSRoute, TCPRoute and UDPRoute → Kong 3.9.1 stream routes and services.
 *
 * Each kept rule becomes one Kong service "<kind>.<ns>.<name>.<rule>" (tlsroute., tcproute.,
 * udproute.) of protocol tcp (TCPRoute; TLSRoute: Kong sends the backend the decrypted stream for
 * a terminating listener and the client's own TLS bytes for a passthrough one) or udp (UDPRoute),
 * whose host is the upstream of the same name holding the rule's weighted targets (backends.c).
 * Its Kong routes, "<service>.<k>", carry:
 *
 *   TCPRoute   protocols [tcp],  destinations [{port}] for each Kong stream listen its listeners
 *                                are served on (k = 0)
 *   UDPRoute   protocols [udp],  the same (k = 0)
 *   TLSRoute   one Kong route per (mode, Kong port P) of its listeners: protocols
 *              [tls_passthrough] on Passthrough listeners (k = 2P), [tls] on terminating ones
 *              (k = 2P + 1; the listener's certificate comes from certs.c like an HTTPS
 *              listener's), snis = the route's hostnames intersected with those listeners'
 *              hostnames, destinations [{port: P}].
 *
 * What Kong accepts (kong/db/schema/entities/routes_subschemas.lua at 3.9.1): stream routes may
 * not set methods/hosts/paths/headers; tcp/tls/udp need one of sources, destinations, snis;
 * tls_passthrough needs snis; snis only with tls/tls_passthrough (routes.lua:17-22); under the
 * traditional flavour snis are plain names (routes.lua:39-41: typedefs.sni, no wildcard). The
 * destination port matches the Kong stream listen the connection came in on, also for TLS whose
 * terminate and passthrough blocks recover it from the PROXY protocol (kong/router/fields.lua:
 * 129-170): listener isolation by port, and by SNI for TLS. Kong's own controller does the same
 * for TCPRoute/UDPRoute (translate_tcproute.go, translate_udproute.go at v3.5.9: gateway ports as
 * destinations) and matches TLSRoutes on SNI (translate_tlsroute.go).
 *
 * A rule without any usable backend keeps its route and an upstream without targets: Kong then
 * closes the connection (no HTTP 500 exists on a stream); the route's ResolvedRefs says why. */
#include "translate_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_prefix(enum kgc_api_kind kind)
{
    switch (kind) {
    case KGC_API_TLSROUTE:
        return "tlsroute";
    case KGC_API_TCPROUTE:
        return "tcproute";
    default:
        return "udproute";
    }
}

/* The listeners one rule's Kong route serves: Kong ports and (TLS) SNIs. */
struct stream_group {
    bool terminate; /* TLS: the group of the terminating listeners on port (else passthrough) */
    uint16_t port;  /* TLS: the Kong port of the group (0: unknown) */
    uint16_t ports[TR_MAX_LISTENS];
    uint64_t port_gw[TR_MAX_LISTENS]; /* kgc_strmap_hash of the first Gateway giving the port */
    uint32_t n_ports;
    char *snis[TR_MAX_LISTENS];
    uint32_t n_snis;
    bool used;
};

static void group_free(struct stream_group *g)
{
    for (uint32_t i = 0; i < g->n_snis; i++)
        free(g->snis[i]);
    memset(g, 0, sizeof(*g));
}

/* What the older stream routes already match: "tcp:<port>", "udp:<port>", "tls:<port>:<sni>" →
 * the route ("ns/name", borrowed from the route, alive for the whole translation) and the Gateway
 * it came through. When routes of one listener match the same connections, only the oldest
 * receives them (the Gateway API: tcproute-multiple-routes-attachment.go at v1.6.1, "Only the
 * oldest TCPRoute should receive traffic"): a newer route's ports and SNIs that an older one
 * holds are left out. Routes of different Gateways whose listeners Kong serves on one stream
 * listen meet the same way, but there Kong is the reason (a LIMITATION). */
struct claim {
    const char *route;
    uint64_t gw;
    char key[]; /* the map's key */
};

struct stream_claims {
    struct kgc_strmap map;    /* key → struct claim * */
    struct kgc_base_vec vals; /* struct claim * (owned) */
};

/* Who holds a connection: same Gateway → *winner (the API's rule), another → *limited. */
struct claim_result {
    const char *winner;
    const char *limited;
};

static const struct claim *held(const struct stream_claims *cl, const char *key, uint64_t gw,
                                struct claim_result *res)
{
    const struct claim *h = kgc_strmap_get(&cl->map, key);
    if (h && h->gw == gw && !res->winner)
        res->winner = h->route;
    if (h && h->gw != gw && !res->limited)
        res->limited = h->route;
    return h;
}

static void claim(struct tr_ctx *c, struct stream_claims *cl, const char *key, const char *route,
                  uint64_t gw)
{
    if (kgc_strmap_get(&cl->map, key)) /* a pair this route named twice */
        return;
    size_t len = strlen(key) + 1;
    struct claim *v = malloc(sizeof(*v) + len);
    if (!v || kgc_base_vec_push(&cl->vals, v) != 0) {
        free(v);
        c->oom = true;
        return;
    }
    v->route = route;
    v->gw = gw;
    memcpy(v->key, key, len);
    if (kgc_strmap_put(&cl->map, v->key, v, NULL) != 0)
        c->oom = true;
}

static void remove_port(struct stream_group *g, uint32_t i)
{
    memmove(&g->ports[i], &g->ports[i + 1], (g->n_ports - i - 1) * sizeof(g->ports[0]));
    memmove(&g->port_gw[i], &g->port_gw[i + 1], (g->n_ports - i - 1) * sizeof(g->port_gw[0]));
    g->n_ports--;
}

static void remove_sni(struct stream_group *g, uint32_t i)
{
    free(g->snis[i]);
    memmove(&g->snis[i], &g->snis[i + 1], (g->n_snis - i - 1) * sizeof(g->snis[0]));
    g->n_snis--;
}

/* Leaves out of g what older routes hold, then claims the rest. TCP/UDP: ports; TLS: SNIs held
 * on every port, then ports held for every SNI (a partial overlap stays: both routes then match
 * those connections in Kong). */
static void settle_claims(struct tr_ctx *c, struct stream_claims *cl, const char *space,
                          struct stream_group *g, const char *route, struct claim_result *res)
{
    char key[400];
    bool tls = strcmp(space, "tls") == 0;
    for (uint32_t pi = 0; !tls && pi < g->n_ports;) {
        snprintf(key, sizeof(key), "%s:%u", space, g->ports[pi]);
        if (held(cl, key, g->port_gw[pi], res))
            remove_port(g, pi);
        else
            pi++;
    }
    for (uint32_t si = 0; tls && si < g->n_snis;) {
        uint32_t n_held = 0;
        for (uint32_t pi = 0; pi < g->n_ports; pi++) {
            snprintf(key, sizeof(key), "tls:%u:%s", g->ports[pi], g->snis[si]);
            n_held += held(cl, key, g->port_gw[pi], res) ? 1 : 0;
        }
        if (g->n_ports && n_held == g->n_ports)
            remove_sni(g, si);
        else
            si++;
    }
    for (uint32_t pi = 0; tls && pi < g->n_ports && g->n_snis;) {
        uint32_t n_held = 0;
        for (uint32_t si = 0; si < g->n_snis; si++) {
            snprintf(key, sizeof(key), "tls:%u:%s", g->ports[pi], g->snis[si]);
            n_held += kgc_strmap_get(&cl->map, key) ? 1 : 0;
        }
        if (n_held == g->n_snis)
            remove_port(g, pi);
        else
            pi++;
    }
    for (uint32_t pi = 0; pi < g->n_ports && !c->oom; pi++) {
        if (!tls) {
            snprintf(key, sizeof(key), "%s:%u", space, g->ports[pi]);
            claim(c, cl, key, route, g->port_gw[pi]);
            continue;
        }
        for (uint32_t si = 0; si < g->n_snis && !c->oom; si++) {
            snprintf(key, sizeof(key), "tls:%u:%s", g->ports[pi], g->snis[si]);
            claim(c, cl, key, route, g->port_gw[pi]);
        }
    }
}

static void add_port(struct stream_group *g, uint16_t port, uint64_t gw)
{
    for (uint32_t i = 0; i < g->n_ports; i++)
        if (g->ports[i] == port)
            return;
    if (g->n_ports < TR_MAX_LISTENS) {
        g->port_gw[g->n_ports] = gw;
        g->ports[g->n_ports++] = port;
    }
}

static void add_sni(struct tr_ctx *c, struct stream_group *g, const char *sni)
{
    for (uint32_t i = 0; i < g->n_snis; i++)
        if (strcmp(g->snis[i], sni) == 0)
            return;
    if (g->n_snis < TR_MAX_LISTENS && !(g->snis[g->n_snis] = tr_strdup(c, sni)))
        return;
    if (g->n_snis < TR_MAX_LISTENS)
        g->n_snis++;
}

/* The SNI both a route hostname h and a listener hostname lh (NULL: any) match: the more specific
 * of the two; NULL when they do not intersect. */
static const char *sni_of(const char *h, const char *lh)
{
    if (!lh || !lh[0])
        return h;
    if (!kgc_status_hostnames_intersect(h, lh))
        return NULL;
    bool wh = tr_is_wildcard(h), wl = tr_is_wildcard(lh);
    if (wh && !wl)
        return lh;
    if (!wh && wl)
        return h;
    return strlen(h) >= strlen(lh) ? h : lh;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* TLS groups by Kong port, passthrough first. */
static int cmp_group(const void *a, const void *b)
{
    const struct stream_group *x = a, *y = b;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    return (int)x->terminate - (int)y->terminate;
}

static int cmp_port(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return x < y ? -1 : x > y;
}

/* The Kong route of group g (protocol proto, index k) of rule ri, as JSON text into b. */
static json_object *stream_route(struct tr_ctx *c, const struct kgc_api_httproute *r, uint32_t ri,
                                 const char *svc_name, struct stream_group *g, const char *proto,
                                 int k)
{
    json_object *o = tr_jobj(c);
    char *name = tr_printf(c, "%s.%d", svc_name, k);
    tr_jset(c, o, "name", tr_jstr(c, name));
    free(name);
    json_object *protos = tr_jarr(c);
    tr_jpush(c, protos, tr_jstr(c, proto));
    tr_jset(c, o, "protocols", protos);
    if (g->n_snis) {
        qsort(g->snis, g->n_snis, sizeof(g->snis[0]), cmp_cstr);
        json_object *snis = tr_jarr(c);
        for (uint32_t i = 0; i < g->n_snis; i++)
            tr_jpush(c, snis, tr_jstr(c, g->snis[i]));
        tr_jset(c, o, "snis", snis);
    }
    if (g->n_ports) {
        qsort(g->ports, g->n_ports, sizeof(g->ports[0]), cmp_port);
        json_object *dests = tr_jarr(c);
        for (uint32_t i = 0; i < g->n_ports; i++) {
            json_object *d = tr_jobj(c);
            tr_jset(c, d, "port", tr_jint(c, g->ports[i]));
            tr_jpush(c, dests, d);
        }
        tr_jset(c, o, "destinations", dests);
    }
    tr_jset(c, o, "tags", tr_obj_tags(c, r->obj.kind, &r->obj, (int32_t)ri, k));
    return o;
}

static char *json_text(struct tr_ctx *c, json_object *o)
{
    if (!o || c->oom) {
        json_object_put(o);
        c->oom = true;
        return NULL;
    }
    char *t = tr_strdup(c, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return t;
}

/* Plans one stream route: its attachments, then one service (and upstream) per rule. */
static void plan_stream_route(struct tr_ctx *c, struct stream_claims *cl,
                              const struct kgc_api_httproute *r)
{
    const char *ns = r->obj.meta.namespace, *nm = r->obj.meta.name;
    if (!ns || !nm)
        return;
    struct kgc_status_attachment *att = NULL;
    size_t n = 0;
    struct kgc_err err = {0};
    if (kgc_status_httproute_attachments(&c->so, c->lk, r, &att, &n, &err) != 0) {
        if (err.code == KGC_ENOMEM)
            c->oom = true;
        return;
    }
    bool tls = r->obj.kind == KGC_API_TLSROUTE;
    /* TCP/UDP: one group (every listen port); TLS: one per (mode, Kong port), so that each SNI
     * is matched only on the ports whose listeners take it (listener isolation by port and SNI) */
    size_t cap_groups = tls ? 2 * TR_MAX_LISTENS : 1, n_groups = tls ? 0 : 1;
    struct stream_group *groups = calloc(cap_groups, sizeof(*groups));
    if (!groups) {
        free(att);
        c->oom = true;
        return;
    }
    uint32_t dropped_snis = 0;
    for (size_t i = 0; i < n && !c->oom; i++) {
        const struct kgc_api_obj *o =
            c->lk->get(c->lk->ctx, KGC_API_GATEWAY, att[i].gateway_namespace, att[i].gateway_name);
        const struct kgc_api_gateway *gw = kgc_api_as_gateway(o);
        uint32_t li = att[i].listener_index;
        if (!gw || li >= gw->n_listeners ||
            (c->in->listener_usable &&
             !c->in->listener_usable(c->in->listener_usable_ctx, gw, li))) {
            kgc_api_obj_unref(o);
            continue;
        }
        const struct kgc_api_listener *l = &gw->listeners[li];
        bool terminate =
            tls && !(l->tls && l->tls->mode && strcmp(l->tls->mode, "Passthrough") == 0);
        uint16_t kong_port = c->in->listener_kong_port
                                 ? c->in->listener_kong_port(c->in->listener_usable_ctx, gw, li)
                                 : 0;
        if (!kong_port && l->port > 0 && l->port <= 65535)
            kong_port = (uint16_t)l->port; /* no publish Service: Kong listens on it */
        struct stream_group *g = tls ? NULL : &groups[0];
        for (size_t k = 0; tls && k < n_groups && !g; k++)
            if (groups[k].terminate == terminate && groups[k].port == kong_port)
                g = &groups[k];
        if (!g && n_groups < cap_groups) {
            g = &groups[n_groups++];
            g->terminate = terminate;
            g->port = kong_port;
        }
        if (!g) {
            kgc_api_obj_unref(o);
            continue;
        }
        char gkey[2 * KGC_STATUS_NAME_MAX + 2];
        int gl =
            snprintf(gkey, sizeof(gkey), "%s/%s", att[i].gateway_namespace, att[i].gateway_name);
        uint64_t gw_hash =
            kgc_strmap_hash(gkey, gl > 0 && (size_t)gl < sizeof(gkey) ? (size_t)gl : 0);
        if (kong_port)
            add_port(g, kong_port, gw_hash);
        g->used = true;
        for (uint32_t h = 0; tls && h < r->n_hostnames; h++) {
            const char *sni = r->hostnames[h] ? sni_of(r->hostnames[h], l->hostname) : NULL;
            if (!sni)
                continue;
            if (!tr_hostname(sni, c->flavor != TR_TRADITIONAL)) {
                dropped_snis++;
                continue;
            }
            add_sni(c, g, sni);
        }
        if (tls && r->n_hostnames == 0 && l->hostname && tr_hostname(l->hostname, true))
            add_sni(c, g, l->hostname);
        kgc_api_obj_unref(o);
    }
    free(att);
    if (n_groups > 1)
        qsort(groups, n_groups, sizeof(*groups), cmp_group);
    if (dropped_snis)
        tr_problem(c, r->obj.kind, ns, nm, -1, -1, KGC_TRANSLATE_DEGRADED,
                   "%u hostname(s) cannot be Kong SNIs%s: not matched", dropped_snis,
                   c->flavor == TR_TRADITIONAL ? " (the traditional router takes no wildcard SNI)"
                                               : "");
    /* a group Kong cannot match on: no SNI (TLS), no port (TCP/UDP: Kong needs destinations) */
    size_t n_unusable = 0, n_used = 0;
    const struct stream_group *first_unusable = NULL;
    for (size_t k = 0; k < n_groups; k++) {
        struct stream_group *g = &groups[k];
        if (g->used && ((tls && g->n_snis == 0) || (!tls && g->n_ports == 0))) {
            g->used = false;
            n_unusable++;
            first_unusable = first_unusable ? first_unusable : g;
        }
        n_used += g->used ? 1 : 0;
    }
    if (first_unusable) { /* the whole route when nothing is left, else PartiallyInvalid */
        if (tls)
            tr_problem(c, r->obj.kind, ns, nm, -1, -1,
                       n_used ? KGC_TRANSLATE_DEGRADED : KGC_TRANSLATE_DROPPED,
                       "no hostname of the TLSRoute can be a Kong SNI on its %s listeners of "
                       "Kong port %u%s",
                       first_unusable->terminate ? "terminating" : "passthrough",
                       first_unusable->port, n_unusable > 1 ? " (and others)" : "");
        else
            tr_problem(c, r->obj.kind, ns, nm, -1, -1, KGC_TRANSLATE_DROPPED,
                       "no Kong stream listen port is known for its listeners");
    }
    /* the older routes' connections stay theirs */
    struct claim_result res = {0};
    const char *space = r->obj.kind == KGC_API_TCPROUTE   ? "tcp"
                        : r->obj.kind == KGC_API_UDPROUTE ? "udp"
                                                          : "tls";
    size_t n_left = 0;
    for (size_t k = 0; k < n_groups && n_used; k++) {
        struct stream_group *g = &groups[k];
        if (!g->used)
            continue;
        settle_claims(c, cl, space, g, r->obj.meta.key, &res);
        if ((tls && !g->n_snis) || (!tls && !g->n_ports))
            g->used = false;
        n_left += g->used ? 1 : 0;
    }
    const char *how = n_left ? "some" : "all";
    if (res.winner && n_used)
        tr_problem(c, r->obj.kind, ns, nm, -1, -1, KGC_TRANSLATE_NOTE,
                   "the older route %s matches %s of its connections on the same listener: only "
                   "the oldest route receives them",
                   res.winner, how);
    if (res.limited && n_used)
        tr_problem(c, r->obj.kind, ns, nm, -1, -1, KGC_TRANSLATE_LIMITATION,
                   "the older route %s of another Gateway matches %s of its connections: Kong "
                   "serves both Gateways' listeners on one stream listen and cannot tell their "
                   "connections apart, so the oldest route receives them",
                   res.limited, how);
    if (!n_left || c->oom || !tr_dns_label(ns) || !tr_dns_subdomain(nm)) {
        if (n_left && !c->oom)
            tr_problem(c, r->obj.kind, ns, nm, -1, -1, KGC_TRANSLATE_DROPPED,
                       "the namespace or name is not a valid Kubernetes name, so no Kong entity "
                       "name can be made from it");
        for (size_t k = 0; k < n_groups; k++)
            group_free(&groups[k]);
        free(groups);
        return;
    }
    uint32_t n_rules = r->n_rules;
    if (n_rules > 1 && r->obj.kind != KGC_API_TLSROUTE) {
        /* the CRDs allow one rule (tcproutes, udproutes: rules maxItems 1) */
        tr_problem(c, r->obj.kind, ns, nm, -1, -1, KGC_TRANSLATE_DEGRADED,
                   "only the first of %u rules is served: a rule has no match to tell them apart",
                   n_rules);
        n_rules = 1;
    }
    char saved_fallback[sizeof(c->fallback)];
    memcpy(saved_fallback, c->fallback, sizeof(saved_fallback));
    c->fallback[0] = '\0'; /* the invalid-backend target answers HTTP 500: not for a stream */
    for (uint32_t ri = 0; ri < n_rules && !c->oom; ri++) {
        if (ri > 0) {
            tr_problem(c, r->obj.kind, ns, nm, (int32_t)ri, -1, KGC_TRANSLATE_DROPPED,
                       "a TLSRoute's later rules match the same SNIs as its first: only the first "
                       "is served");
            continue;
        }
        struct tr_target *targets = NULL;
        size_t n_targets = 0;
        const struct kgc_api_backendtlspolicy *pol = NULL;
        if (tr_rule_targets(c, r, ri, &targets, &n_targets, &pol) != 0)
            c->oom = true;
        kgc_api_obj_unref(pol ? &pol->obj : NULL); /* TLS to backends: HTTP services only */
        char *svc_name = tr_printf(c, "%s.%s.%s.%u", kind_prefix(r->obj.kind), ns, nm, ri);
        json_object *svc = tr_jobj(c);
        tr_jset(c, svc, "name", tr_jstr(c, svc_name));
        tr_jset(c, svc, "host", tr_jstr(c, svc_name));
        tr_jset(c, svc, "protocol", tr_jstr(c, r->obj.kind == KGC_API_UDPROUTE ? "udp" : "tcp"));
        json_object *routes = tr_jarr(c);
        size_t n_routes = 0;
        for (size_t k = 0; k < n_groups; k++) {
            if (!groups[k].used)
                continue;
            const char *proto = r->obj.kind == KGC_API_TCPROUTE   ? "tcp"
                                : r->obj.kind == KGC_API_UDPROUTE ? "udp"
                                : groups[k].terminate             ? "tls"
                                                                  : "tls_passthrough";
            /* the Kong route's index: 0 for TCP/UDP; TLS 2 * port + (terminate) */
            int idx = tls ? 2 * groups[k].port + (groups[k].terminate ? 1 : 0) : 0;
            tr_jpush(c, routes, stream_route(c, r, ri, svc_name, &groups[k], proto, idx));
            n_routes++;
        }
        tr_jset(c, svc, "routes", routes);
        json_object *up = tr_jobj(c);
        tr_jset(c, up, "name", tr_jstr(c, svc_name));
        json_object *tl = tr_jarr(c);
        bool equal = true;
        for (size_t t = 1; t < n_targets && equal; t++)
            equal = targets[t].weight == targets[0].weight;
        for (size_t t = 0; t < n_targets; t++) {
            json_object *to = tr_jobj(c);
            tr_jset(c, to, "target", tr_jstr(c, targets[t].target));
            if (!equal)
                tr_jset(c, to, "weight", tr_jint(c, targets[t].weight));
            tr_jpush(c, tl, to);
        }
        tr_jset(c, up, "targets", tl);
        free(targets);
        free(svc_name);
        char *st = json_text(c, svc), *ut = json_text(c, up);
        if (!st || !ut || kgc_base_vec_push(&c->stream_svcs, st) != 0) {
            free(st);
            free(ut);
            c->oom = true;
            break;
        }
        if (kgc_base_vec_push(&c->stream_ups, ut) != 0) {
            free(ut);
            c->oom = true;
            break;
        }
        c->counts.services++;
        c->counts.routes += n_routes;
        c->counts.upstreams++;
        c->counts.targets += n_targets;
    }
    memcpy(c->fallback, saved_fallback, sizeof(saved_fallback));
    for (size_t k = 0; k < n_groups; k++)
        group_free(&groups[k]);
    free(groups);
}

/* The Gateway API's order among routes: the oldest by creationTimestamp (a route without one
 * counts as the newest), then by "namespace/name", then the kind. */
static int cmp_age(const void *a, const void *b)
{
    const struct kgc_api_obj *x = *(const struct kgc_api_obj *const *)a;
    const struct kgc_api_obj *y = *(const struct kgc_api_obj *const *)b;
    const char *tx = x->meta.creation_timestamp, *ty = y->meta.creation_timestamp;
    bool hx = tx && tx[0], hy = ty && ty[0];
    if (hx && hy && strcmp(tx, ty) != 0)
        return strcmp(tx, ty);
    if (hx != hy)
        return hx ? -1 : 1;
    int k = strcmp(x->meta.key ? x->meta.key : "", y->meta.key ? y->meta.key : "");
    return k ? k : (int)x->kind - (int)y->kind;
}

static int cmp_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void tr_plan_streams(struct tr_ctx *c)
{
    struct kgc_base_vec routes = {0};
    static const enum kgc_api_kind kinds[] = {KGC_API_TCPROUTE, KGC_API_TLSROUTE, KGC_API_UDPROUTE};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]) && !c->oom; k++)
        tr_collect(c, kinds[k], &routes);
    if (routes.n > 1)
        qsort(routes.v, routes.n, sizeof(routes.v[0]), cmp_age);
    struct stream_claims cl = {0};
    kgc_strmap_init(&cl.map);
    for (size_t i = 0; i < routes.n && !c->oom; i++) {
        const struct kgc_api_httproute *r = kgc_api_as_route(routes.v[i]);
        if (r)
            plan_stream_route(c, &cl, r);
    }
    kgc_strmap_destroy(&cl.map);
    for (size_t i = 0; i < cl.vals.n; i++)
        free(cl.vals.v[i]);
    kgc_base_vec_free(&cl.vals);
    tr_release_all(&routes);
    /* the document lists services and upstreams by name (each text starts {"name":"...) */
    if (c->stream_svcs.n > 1)
        qsort(c->stream_svcs.v, c->stream_svcs.n, sizeof(c->stream_svcs.v[0]), cmp_text);
    if (c->stream_ups.n > 1)
        qsort(c->stream_ups.v, c->stream_ups.n, sizeof(c->stream_ups.v[0]), cmp_text);
}

void tr_free_streams(struct tr_ctx *c)
{
    for (size_t i = 0; i < c->stream_svcs.n; i++)
        free(c->stream_svcs.v[i]);
    kgc_base_vec_free(&c->stream_svcs);
    for (size_t i = 0; i < c->stream_ups.n; i++)
        free(c->stream_ups.v[i]);
    kgc_base_vec_free(&c->stream_ups);
}

static bool any_visit(const struct kgc_api_obj *obj, void *ctx)
{
    (void)obj;
    *(bool *)ctx = true;
    return false;
}

bool tr_streams_present(const struct kgc_status_lookup *lk)
{
    bool any = false;
    static const enum kgc_api_kind kinds[] = {KGC_API_TLSROUTE, KGC_API_TCPROUTE, KGC_API_UDPROUTE};
    for (size_t k = 0; lk && lk->foreach && k < sizeof(kinds) / sizeof(kinds[0]) && !any; k++)
        lk->foreach (lk->ctx, kinds[k], NULL, any_visit, &any);
    return any;
}

/* GatewayClass and Gateway status: class ownership and parameters, listener validity (protocol,
 * route kinds, certificates, conflicts, Kong listens through the publish Service), attached
 * routes, addresses, and the Kong-down rules. */
#include "status_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- GatewayClass --------------------------------------------------------------------------- */

int kgc_status_gatewayclass_compute(const struct kgc_status_options *o,
                                    const struct kgc_status_lookup *lk,
                                    const struct kgc_api_gatewayclass *gc,
                                    struct kgc_status_gatewayclass *out, struct kgc_err *err)
{
    (void)lk; /* kgc supports no parameters kind, so nothing needs looking up */
    if (!out)
        return kgc_err_set(err, KGC_EINVAL, "status: no result to fill");
    memset(out, 0, sizeof(*out));
    if (!o || !gc)
        return kgc_err_set(err, KGC_EINVAL,
                           "status: gatewayclass compute needs options and an "
                           "object");
    out->gc = kgc_api_as_gatewayclass(kgc_api_obj_ref(&gc->obj));
    out->generation = gc->obj.meta.generation;
    status_now(o, out->now, sizeof(out->now));
    out->owned = status_streq(gc->controller_name, status_controller(o));
    if (!out->owned)
        return 0;
    char why[KGC_STATUS_MSG_MAX];
    if (status_class_valid(gc, why, sizeof(why)))
        status_cond_set(&out->conditions[0], KGC_STATUS_ACCEPTED, true, KGC_STATUS_R_ACCEPTED,
                        "accepted by %s", status_controller(o));
    else
        status_cond_set(&out->conditions[0], KGC_STATUS_ACCEPTED, false,
                        KGC_STATUS_R_INVALID_PARAMETERS, "%s", why);
    out->n_conditions = 1;
    return 0;
}

void kgc_status_gatewayclass_release(struct kgc_status_gatewayclass *s)
{
    if (!s)
        return;
    kgc_api_obj_unref(s->gc ? &s->gc->obj : NULL);
    memset(s, 0, sizeof(*s));
}

/* ---- Kong listens --------------------------------------------------------------------------- */

static const char *proto_name(enum status_proto p)
{
    static const char *const names[] = {"?", "HTTP", "HTTPS", "TLS", "TCP", "UDP"};
    return names[p];
}

/* What a Kong listen must be to serve protocol p (Kong's own controller reads port and flags). */
static bool listen_serves(const struct kgc_kong_listener *k, enum status_proto p)
{
    switch (p) {
    case STATUS_P_HTTP:
        return !k->ssl;
    case STATUS_P_HTTPS:
        return k->ssl;
    case STATUS_P_TLS:
        return k->ssl && !k->udp;
    case STATUS_P_TCP:
        /* an ssl stream listen cannot: Kong sends its connections to the ssl_preread server
         * (kong/templates/nginx_kong_stream.lua:146-178, 3.9.1), whose preread block closes any
         * that matched a route other than tls/tls_passthrough (kong/runloop/handler.lua:1090-1102)
         */
        return !k->udp && !k->ssl;
    case STATUS_P_UDP:
        return k->udp;
    default:
        return false;
    }
}

/* Whether the view has a listen serving p (on port, or on any port when port is 0). */
static bool kong_has_listen(const struct kgc_kong_listeners *ls, enum status_proto p, uint16_t port)
{
    bool proxy = p == STATUS_P_HTTP || p == STATUS_P_HTTPS;
    const struct kgc_kong_listener *arr = proxy ? ls->proxy : ls->stream;
    size_t n = proxy ? ls->n_proxy : ls->n_stream;
    for (size_t i = 0; arr && i < n; i++) {
        if (listen_serves(&arr[i], p) && (port == 0 || arr[i].port == port))
            return true;
    }
    return false;
}

static const char *listen_desc(enum status_proto p)
{
    switch (p) {
    case STATUS_P_HTTP:
        return "non-ssl proxy";
    case STATUS_P_HTTPS:
        return "ssl proxy";
    case STATUS_P_TLS:
        return "ssl stream";
    case STATUS_P_TCP:
        return "TCP stream";
    case STATUS_P_UDP:
        return "udp stream";
    default:
        return "?";
    }
}

/* The Kong port the publish Service sends listener port `port` to. 0, or -1 with why. */
static int publish_target_port(const struct kgc_api_service *svc, enum status_proto p, int32_t port,
                               uint16_t *kong_port, char *why, size_t why_size)
{
    const char *want = p == STATUS_P_UDP ? "UDP" : "TCP";
    for (uint32_t i = 0; i < svc->n_ports; i++) {
        const struct kgc_api_service_port *sp = &svc->ports[i];
        if (sp->port != port || !status_streq(status_or(sp->protocol, "TCP"), want))
            continue;
        if (sp->target_port > 0) {
            *kong_port = (uint16_t)sp->target_port;
            return 0;
        }
        if (sp->target_port_name) {
            snprintf(why, why_size,
                     "the publish Service %s/%s sends port %d to the named targetPort %s: kgc "
                     "needs a numeric targetPort to match Kong listens",
                     svc->obj.meta.namespace, svc->obj.meta.name, port, sp->target_port_name);
            return -1;
        }
        *kong_port = (uint16_t)port; /* no targetPort: Kubernetes uses the port itself */
        return 0;
    }
    snprintf(why, why_size, "the publish Service %s/%s has no %s port %d", svc->obj.meta.namespace,
             svc->obj.meta.name, want, port);
    return -1;
}

/* ---- listeners ------------------------------------------------------------------------------ */

/* What the listener-level pass knows about one listener before its conditions are written. */
struct listener_facts {
    enum status_proto proto;
    const char *conflict_reason; /* HostnameConflict / ProtocolConflict, or NULL */
    const char *conflict_with;   /* the first listener it conflicts with */
    const char *overlap_with;    /* the first listener whose hostname overlaps its own */
};

static int family(enum status_proto p)
{
    switch (p) {
    case STATUS_P_HTTP:
        return 1;
    case STATUS_P_HTTPS:
    case STATUS_P_TLS:
        return 2; /* TLS-based: told apart by SNI */
    case STATUS_P_TCP:
        return 3;
    case STATUS_P_UDP:
        return 4;
    default:
        return 0;
    }
}

static bool same_hostname(const char *a, const char *b)
{
    a = a ? a : "";
    b = b ? b : "";
    return strcasecmp(a, b) == 0;
}

static void mark_conflict(struct listener_facts *f, const char *reason, const char *with)
{
    /* ProtocolConflict outranks HostnameConflict; the first partner is named. */
    if (!f->conflict_reason || (strcmp(reason, KGC_STATUS_R_PROTOCOL_CONFLICT) == 0 &&
                                strcmp(f->conflict_reason, KGC_STATUS_R_PROTOCOL_CONFLICT) != 0)) {
        f->conflict_reason = reason;
        f->conflict_with = with;
    }
}

/* Listeners that are not distinct are all Conflicted: no winner is picked. */
static void find_conflicts(const struct kgc_api_gateway *gw, uint32_t n,
                           struct listener_facts *facts)
{
    for (uint32_t i = 0; i < n; i++) {
        const struct kgc_api_listener *a = &gw->listeners[i];
        int fa = family(facts[i].proto);
        for (uint32_t j = i + 1; fa && j < n; j++) {
            const struct kgc_api_listener *b = &gw->listeners[j];
            int fb = family(facts[j].proto);
            if (!fb || a->port != b->port)
                continue;
            const char *reason = NULL;
            if (fa != fb) {
                if (fa + fb == 7) /* TCP and UDP share a port number without meeting */
                    continue;
                reason = KGC_STATUS_R_PROTOCOL_CONFLICT;
            } else if (fa <= 2) {
                if (!same_hostname(a->hostname, b->hostname)) {
                    if (fa == 2 && a->hostname && a->hostname[0] && b->hostname && b->hostname[0] &&
                        kgc_status_hostnames_intersect(a->hostname, b->hostname)) {
                        facts[i].overlap_with =
                            facts[i].overlap_with ? facts[i].overlap_with : b->name;
                        facts[j].overlap_with =
                            facts[j].overlap_with ? facts[j].overlap_with : a->name;
                    }
                    continue;
                }
                reason = facts[i].proto == facts[j].proto ? KGC_STATUS_R_HOSTNAME_CONFLICT
                                                          : KGC_STATUS_R_PROTOCOL_CONFLICT;
            } else {
                reason = KGC_STATUS_R_PROTOCOL_CONFLICT; /* two TCP (or UDP) listens, one port */
            }
            mark_conflict(&facts[i], reason, b->name);
            mark_conflict(&facts[j], reason, a->name);
        }
    }
}

/* find_conflicts() on listeners i and j alone: the reason j conflicts with i, or NULL; a
 * hostname overlap is recorded on both. */
static const char *pair_conflict(const struct kgc_api_gateway *gw, struct listener_facts *facts,
                                 uint32_t i, uint32_t j)
{
    struct kgc_api_listener ls[2] = {gw->listeners[i], gw->listeners[j]};
    struct kgc_api_gateway two = {.listeners = ls, .n_listeners = 2};
    struct listener_facts f[2] = {{.proto = facts[i].proto}, {.proto = facts[j].proto}};
    find_conflicts(&two, 2, f);
    if (f[0].overlap_with && !facts[i].overlap_with)
        facts[i].overlap_with = gw->listeners[j].name;
    if (f[1].overlap_with && !facts[j].overlap_with)
        facts[j].overlap_with = gw->listeners[i].name;
    return f[1].conflict_reason;
}

/* The merged ListenerSets' listeners (gw's listeners own..n-1, one set after the other in
 * precedence order): the Gateway's listeners come first, then ListenerSets by creation time, then
 * namespace/name (ListenerSetSpec.Listeners, gateway-api v1.6.1 apis/v1/listenerset_types.go), so
 * a set's listener that is not distinct from a live (unconflicted) listener of higher precedence
 * loses alone; within one set the Gateway's rule applies among the listeners left. */
static void find_set_conflicts(const struct kgc_api_gateway *gw, uint32_t own, uint32_t n,
                               struct listener_facts *facts)
{
    for (uint32_t start = own; start < n;) {
        const struct kgc_api_listenerset *set = kgc_api_listener_origin(gw, start);
        uint32_t end = start;
        while (end < n && kgc_api_listener_origin(gw, end) == set)
            end++;
        for (uint32_t j = start; j < end; j++) {
            for (uint32_t i = 0; i < start && !facts[j].conflict_reason; i++) {
                if (facts[i].conflict_reason)
                    continue;
                const char *reason = pair_conflict(gw, facts, i, j);
                if (reason)
                    mark_conflict(&facts[j], reason, gw->listeners[i].name);
            }
        }
        bool lost[KGC_STATUS_MAX_LISTENERS] = {false};
        for (uint32_t j = start; j < end; j++)
            lost[j] = facts[j].conflict_reason != NULL;
        for (uint32_t i = start; i < end; i++) {
            for (uint32_t j = i + 1; j < end && !lost[i]; j++) {
                if (lost[j])
                    continue;
                const char *reason = pair_conflict(gw, facts, i, j);
                if (!reason)
                    continue;
                mark_conflict(&facts[i], reason, gw->listeners[j].name);
                mark_conflict(&facts[j], reason, gw->listeners[i].name);
            }
        }
        start = end;
    }
}

/* The listener's ResolvedRefs condition: certificates first (they block serving), then kinds. */
static void resolve_listener_refs(const struct kgc_status_lookup *lk,
                                  const struct kgc_api_gateway *gw,
                                  const struct kgc_api_listener *l, enum status_proto p,
                                  bool invalid_kinds, const char *bad_kinds,
                                  const struct kgc_status_listener *st,
                                  struct kgc_status_condition *c)
{
    /* a ListenerSet's references are its own: ReferenceGrants from the Gateway do not carry over
     * (ListenerSet godoc, "ReferenceGrant Semantics") */
    const struct kgc_api_listenerset *origin =
        kgc_api_listener_origin(gw, (uint32_t)(l - gw->listeners));
    const char *gw_ns = origin ? origin->obj.meta.namespace : gw->obj.meta.namespace;
    const char *from_kind = origin ? "ListenerSet" : "Gateway";
    bool needs_certs =
        p == STATUS_P_HTTPS ||
        (p == STATUS_P_TLS && !(l->tls && status_streq(l->tls->mode, "Passthrough")));
    char not_permitted[KGC_STATUS_MSG_MAX] = "", invalid[KGC_STATUS_MSG_MAX] = "";
    if (needs_certs && (!l->tls || l->tls->n_certificate_refs == 0))
        snprintf(invalid, sizeof(invalid),
                 "a %s listener that terminates TLS needs "
                 "tls.certificateRefs",
                 proto_name(p));
    for (uint32_t i = 0; needs_certs && l->tls && i < l->tls->n_certificate_refs; i++) {
        const struct kgc_api_object_ref *r = &l->tls->certificate_refs[i];
        const char *group = status_or(r->group, ""), *kind = status_or(r->kind, "Secret");
        const char *ns = status_or(r->namespace, gw_ns), *name = status_or(r->name, "");
        if (!status_streq(ns, gw_ns) &&
            !kgc_status_reference_granted(lk, KGC_STATUS_GROUP, from_kind, gw_ns, group, kind, ns,
                                          name)) {
            if (!not_permitted[0])
                snprintf(not_permitted, sizeof(not_permitted),
                         "certificateRef %s/%s %s/%s is in another namespace and no "
                         "ReferenceGrant in %s allows it",
                         group, kind, ns, name, ns);
            continue;
        }
        if (invalid[0])
            continue;
        if (group[0] || strcmp(kind, "Secret") != 0) {
            snprintf(invalid, sizeof(invalid),
                     "certificateRef %s/%s %s/%s: only core Secrets are supported", group, kind, ns,
                     name);
            continue;
        }
        const struct kgc_api_obj *obj = lk->get ? lk->get(lk->ctx, KGC_API_SECRET, ns, name) : NULL;
        const struct kgc_api_secret *sec = kgc_api_as_secret(obj);
        if (!sec)
            /* kgc only watches Secrets of type kubernetes.io/tls (the informer's field selector),
             * the only type Gateway API core support covers: say so, one of another type exists. */
            snprintf(invalid, sizeof(invalid),
                     "certificateRef Secret %s/%s does not exist or is not of type "
                     "kubernetes.io/tls",
                     ns, name);
        else if (!sec->tls_valid)
            snprintf(invalid, sizeof(invalid), "Secret %s/%s is not a valid TLS Secret: %s", ns,
                     name, status_or(sec->tls_problem, "no usable tls.crt/tls.key"));
        kgc_api_obj_unref(obj);
    }
    if (not_permitted[0])
        status_cond_set(c, KGC_STATUS_RESOLVED_REFS, false, KGC_STATUS_R_REF_NOT_PERMITTED, "%s",
                        not_permitted);
    else if (invalid[0])
        status_cond_set(c, KGC_STATUS_RESOLVED_REFS, false, KGC_STATUS_R_INVALID_CERTIFICATE_REF,
                        "%s", invalid);
    else if (invalid_kinds)
        status_cond_set(c, KGC_STATUS_RESOLVED_REFS, false, KGC_STATUS_R_INVALID_ROUTE_KINDS,
                        "route kinds %s are not supported on a %s listener%s%s%s%s", bad_kinds,
                        status_or(l->protocol, "?"), st->n_supported_kinds ? "; supported: " : "",
                        st->n_supported_kinds ? st->supported_kinds[0].kind : "",
                        st->n_supported_kinds > 1 ? ", " : "",
                        st->n_supported_kinds > 1 ? st->supported_kinds[1].kind : "");
    else
        status_cond_set(c, KGC_STATUS_RESOLVED_REFS, true, KGC_STATUS_R_RESOLVED_REFS,
                        "all references are resolved");
}

/* Everything the Gateway-wide pass decided that listener conditions depend on. */
struct gateway_ctx {
    const struct kgc_status_options *o;
    const struct kgc_status_lookup *lk;
    const struct kgc_api_gateway *gw;
    bool kong_checks; /* LIVE or CACHED listens, and the Service (if any) known */
    const struct kgc_kong_listeners *listens;
    const struct kgc_api_service *svc; /* the publish Service, NULL when none or missing */
};

/* Accepted: kgc's protocol support first, then conflicts, then Kong's listens. */
static void accept_listener(const struct gateway_ctx *g, const struct kgc_api_listener *l,
                            const struct listener_facts *f, struct kgc_status_listener *st,
                            struct kgc_status_condition *c)
{
    enum status_proto p = f->proto;
    if (p == STATUS_P_UNKNOWN) {
        status_cond_set(c, KGC_STATUS_ACCEPTED, false, KGC_STATUS_R_UNSUPPORTED_PROTOCOL,
                        "protocol %s is not supported: kgc supports HTTP, HTTPS, TLS, TCP and UDP",
                        status_or(l->protocol, "(none)"));
        return;
    }
    if (f->conflict_reason && kgc_api_listener_origin(g->gw, (uint32_t)(l - g->gw->listeners))) {
        /* a ListenerSet's listener that lost to an earlier one: the conformance tests
         * (listenerset-hostname-conflict.go, -protocol-conflict.go) want the reason here */
        status_cond_set(c, KGC_STATUS_ACCEPTED, false, f->conflict_reason,
                        "listener conflicts with listener %s of higher precedence (%s)",
                        status_or(f->conflict_with, "?"), f->conflict_reason);
        return;
    }
    if (f->conflict_reason) {
        status_cond_set(c, KGC_STATUS_ACCEPTED, false, KGC_STATUS_R_INVALID,
                        "listener conflicts with listener %s (%s); neither is accepted",
                        status_or(f->conflict_with, "?"), f->conflict_reason);
        return;
    }
    if (l->port <= 0 || l->port > 65535) {
        status_cond_set(c, KGC_STATUS_ACCEPTED, false, KGC_STATUS_R_PORT_UNAVAILABLE,
                        "the listener has no valid port");
        return;
    }
    if (!g->kong_checks) {
        status_cond_set(c, KGC_STATUS_ACCEPTED, true, KGC_STATUS_R_ACCEPTED,
                        "the listener is accepted");
        return;
    }
    if (!kong_has_listen(g->listens, p, 0)) {
        status_cond_set(c, KGC_STATUS_ACCEPTED, false, KGC_STATUS_R_UNSUPPORTED_PROTOCOL,
                        "no Kong listen with the requested protocol is configured: %s needs a "
                        "%s listen",
                        proto_name(p), listen_desc(p));
        return;
    }
    uint16_t kong_port = (uint16_t)l->port;
    char why[KGC_STATUS_MSG_MAX];
    if (g->svc && publish_target_port(g->svc, p, l->port, &kong_port, why, sizeof(why)) != 0) {
        status_cond_set(c, KGC_STATUS_ACCEPTED, false, KGC_STATUS_R_PORT_UNAVAILABLE, "%s", why);
        return;
    }
    if (!kong_has_listen(g->listens, p, kong_port)) {
        if (kong_port != l->port)
            status_cond_set(c, KGC_STATUS_ACCEPTED, false, KGC_STATUS_R_PORT_UNAVAILABLE,
                            "no Kong %s listen on port %u (the publish Service sends port %d "
                            "there)",
                            listen_desc(p), kong_port, l->port);
        else
            status_cond_set(c, KGC_STATUS_ACCEPTED, false, KGC_STATUS_R_PORT_UNAVAILABLE,
                            "no Kong %s listen on port %u", listen_desc(p), kong_port);
        return;
    }
    st->kong_port = kong_port;
    status_cond_set(c, KGC_STATUS_ACCEPTED, true, KGC_STATUS_R_ACCEPTED,
                    "the listener is accepted");
}

/* ---- attached routes ------------------------------------------------------------------------ */

struct attach_ctx {
    const struct kgc_status_options *o;
    const struct kgc_status_lookup *lk;
    const struct kgc_api_gateway *gw;
    const struct kgc_api_listenerset *scope; /* the parentRefs counted: gw's (NULL) or a set's */
    int32_t *counts;
    uint32_t n;
};

static bool attach_visit(const struct kgc_api_obj *obj, void *ctx)
{
    struct attach_ctx *a = ctx;
    const struct kgc_api_httproute *r = kgc_api_as_route(obj);
    if (!r)
        return true;
    uint64_t bits = 0;
    for (uint32_t i = 0; i < r->n_parent_refs; i++) {
        if (a->scope ? !status_parent_names_set(r, &r->parent_refs[i], a->scope)
                     : !status_parent_names_gateway(r, &r->parent_refs[i], a->gw))
            continue;
        struct status_parent_eval ev;
        status_eval_parent(a->lk, r, &r->parent_refs[i], a->gw, &ev);
        if (ev.accepted)
            bits |= ev.listeners;
    }
    if (!bits)
        return true;
    struct kgc_status_route_verdict v;
    status_route_verdict(a->o, r, &v);
    if (v.accepted_reason) /* the translator rejects it: Accepted=False, so not attached */
        return true;
    for (uint32_t i = 0; i < a->n; i++) {
        if (bits & (UINT64_C(1) << i))
            a->counts[i]++;
    }
    return true;
}

static void attach_walk(const struct kgc_status_lookup *lk, struct attach_ctx *a, const char *ns,
                        const char *name)
{
    static const enum kgc_api_kind route_kinds[] = {
        KGC_API_HTTPROUTE, KGC_API_GRPCROUTE, KGC_API_TLSROUTE, KGC_API_TCPROUTE, KGC_API_UDPROUTE};
    for (size_t k = 0; k < sizeof(route_kinds) / sizeof(route_kinds[0]); k++) {
        if (lk->foreach_route_of_gateway)
            lk->foreach_route_of_gateway(lk->ctx, route_kinds[k], ns, name, attach_visit, a);
        else if (lk->foreach)
            lk->foreach (lk->ctx, route_kinds[k], NULL, attach_visit, a);
    }
}

int kgc_status_gateway_attached_routes(const struct kgc_status_options *o,
                                       const struct kgc_status_lookup *lk,
                                       const struct kgc_api_gateway *gw, int32_t *counts,
                                       struct kgc_err *err)
{
    if (!o || !lk || !gw || (!counts && gw->n_listeners))
        return kgc_err_set(err, KGC_EINVAL,
                           "status: attached routes needs options, a lookup, a "
                           "Gateway and a count array");
    for (uint32_t i = 0; i < gw->n_listeners; i++)
        counts[i] = 0;
    struct attach_ctx a = {
        .o = o,
        .lk = lk,
        .gw = gw,
        .counts = counts,
        .n =
            gw->n_listeners < KGC_STATUS_MAX_LISTENERS ? gw->n_listeners : KGC_STATUS_MAX_LISTENERS,
    };
    /* the Gateway's routes, then each merged ListenerSet's (the routes-of-a-Gateway index also
     * holds routes naming a ListenerSet of that namespace/name, kgc/cache.h); a set's listeners
     * are contiguous in the merged Gateway */
    attach_walk(lk, &a, gw->obj.meta.namespace, gw->obj.meta.name);
    const struct kgc_api_listenerset *last = NULL;
    for (uint32_t i = kgc_api_gateway_own_listeners(gw); i < a.n; i++) {
        const struct kgc_api_listenerset *set = kgc_api_listener_origin(gw, i);
        if (!set || set == last)
            continue;
        last = a.scope = set;
        attach_walk(lk, &a, set->obj.meta.namespace, set->obj.meta.name);
    }
    return 0;
}

/* ---- addresses ------------------------------------------------------------------------------ */

static const char *address_type(const char *value)
{
    unsigned char buf[16];
    if (inet_pton(AF_INET, value, buf) == 1 || inet_pton(AF_INET6, value, buf) == 1)
        return "IPAddress";
    return "Hostname";
}

static void add_address(struct kgc_status_gateway *s, const char *value)
{
    if (!value || !value[0] || strcmp(value, "None") == 0 ||
        s->n_addresses >= KGC_STATUS_MAX_ADDRESSES || strlen(value) >= KGC_STATUS_NAME_MAX)
        return;
    for (uint32_t i = 0; i < s->n_addresses; i++) {
        if (strcmp(s->addresses[i].value, value) == 0)
            return;
    }
    struct kgc_status_address *a = &s->addresses[s->n_addresses++];
    a->type = address_type(value);
    snprintf(a->value, sizeof(a->value), "%s", value);
}

/* status.addresses: the publish addresses option, else the Service's LoadBalancer ingress (IP,
 * else hostname) then its ClusterIPs. */
static void collect_addresses(const struct kgc_status_options *o, const struct kgc_api_service *svc,
                              struct kgc_status_gateway *s)
{
    if (o->n_publish_addresses) {
        for (size_t i = 0; i < o->n_publish_addresses; i++)
            add_address(s, o->publish_addresses[i]);
        return;
    }
    if (!svc)
        return;
    for (uint32_t i = 0; i < svc->n_lb_ingress; i++)
        add_address(s, svc->lb_ingress[i].ip ? svc->lb_ingress[i].ip : svc->lb_ingress[i].hostname);
    for (uint32_t i = 0; i < svc->n_cluster_ips; i++)
        add_address(s, svc->cluster_ips[i]);
    if (!svc->n_cluster_ips)
        add_address(s, svc->cluster_ip);
}

/* spec.addresses: kgc assigns none itself, so a requested address must be one it publishes. */
static void check_requested_addresses(const struct kgc_api_gateway *gw,
                                      const struct kgc_status_gateway *s, char *unsupported,
                                      size_t us, char *unusable, size_t uu)
{
    for (uint32_t i = 0; i < gw->n_addresses; i++) {
        const char *type = status_or(gw->addresses[i].type, "IPAddress");
        const char *value = gw->addresses[i].value;
        if (strcmp(type, "IPAddress") != 0 && strcmp(type, "Hostname") != 0) {
            if (!unsupported[0])
                snprintf(unsupported, us,
                         "address type %s is not supported: kgc publishes "
                         "IPAddress and Hostname addresses",
                         type);
            continue;
        }
        if (!value || !value[0] || unusable[0])
            continue;
        bool found = false;
        for (uint32_t k = 0; k < s->n_addresses && !found; k++)
            found = strcmp(s->addresses[k].value, value) == 0;
        if (!found)
            snprintf(unusable, uu, "requested %s %s is not an address of the Kong proxy", type,
                     value);
    }
}

/* ---- Gateway -------------------------------------------------------------------------------- */

void kgc_status_gateway_release(struct kgc_status_gateway *s)
{
    if (!s)
        return;
    free(s->listeners);
    kgc_api_obj_unref(s->gw ? &s->gw->obj : NULL);
    kgc_api_obj_unref(s->merged ? &s->merged->obj : NULL);
    memset(s, 0, sizeof(*s));
}

/* The view says where listens come from; NULL counts as NONE. */
static const char *view_none_reason(const struct kgc_listenercache_view *v)
{
    if (!v)
        return "no listener view";
    if (v->source == KGC_LISTENERCACHE_NONE)
        return v->reason && v->reason[0] ? v->reason : "no live and no cached Kong listeners";
    return NULL;
}

/* Fills the Gateway's own Accepted and Programmed conditions from the listener results. */
static void gateway_conditions(const struct gateway_ctx *g, struct kgc_status_gateway *s,
                               bool class_ok, const char *class_why, const char *pending,
                               const char *svc_missing)
{
    const struct kgc_api_gateway *gw = g->gw;
    uint32_t n_accepted = 0, n_valid = 0;
    char not_valid[KGC_STATUS_MSG_MAX / 2] = "";
    for (uint32_t i = 0; i < s->n_listeners; i++) {
        n_accepted += s->listeners[i].accepted;
        n_valid += s->listeners[i].valid;
        if (!s->listeners[i].valid)
            status_append_name(not_valid, sizeof(not_valid), s->listeners[i].name);
    }
    char unsupported[KGC_STATUS_MSG_MAX] = "", unusable[KGC_STATUS_MSG_MAX] = "";
    check_requested_addresses(gw, s, unsupported, sizeof(unsupported), unusable, sizeof(unusable));
    struct kgc_status_condition *acc = &s->conditions[0], *prog = &s->conditions[1];
    s->n_conditions = 2;
    const struct kgc_api_object_ref *pr = gw->infrastructure_parameters_ref;
    if (!class_ok)
        status_cond_set(acc, KGC_STATUS_ACCEPTED, false, KGC_STATUS_R_INVALID,
                        "GatewayClass %s is not accepted: %s", gw->gateway_class_name, class_why);
    else if (pr)
        status_cond_set(acc, KGC_STATUS_ACCEPTED, false, KGC_STATUS_R_INVALID_PARAMETERS,
                        "spec.infrastructure.parametersRef %s/%s %s is not supported: kgc takes "
                        "no infrastructure parameters",
                        status_or(pr->group, ""), status_or(pr->kind, ""), status_or(pr->name, ""));
    else if (unsupported[0])
        status_cond_set(acc, KGC_STATUS_ACCEPTED, false, KGC_STATUS_R_UNSUPPORTED_ADDRESS, "%s",
                        unsupported);
    else if (n_accepted == 0)
        status_cond_set(acc, KGC_STATUS_ACCEPTED, false, KGC_STATUS_R_LISTENERS_NOT_VALID,
                        "no listener is accepted (invalid: %s)", not_valid);
    else if (n_valid < s->n_listeners)
        status_cond_set(acc, KGC_STATUS_ACCEPTED, true, KGC_STATUS_R_LISTENERS_NOT_VALID,
                        "accepted with invalid listeners: %s", not_valid);
    else
        status_cond_set(acc, KGC_STATUS_ACCEPTED, true, KGC_STATUS_R_ACCEPTED,
                        "the Gateway is accepted");

    bool accepted = acc->status[0] == 'T';
    if (!accepted)
        status_cond_set(prog, KGC_STATUS_PROGRAMMED, false, KGC_STATUS_R_INVALID,
                        "the Gateway is not accepted");
    else if (n_valid == 0)
        status_cond_set(prog, KGC_STATUS_PROGRAMMED, false, KGC_STATUS_R_INVALID,
                        "no listener can be programmed");
    else if (svc_missing)
        status_cond_set(prog, KGC_STATUS_PROGRAMMED, false, KGC_STATUS_R_ADDRESS_NOT_ASSIGNED, "%s",
                        svc_missing);
    else if (pending)
        status_cond_set(prog, KGC_STATUS_PROGRAMMED, false, KGC_STATUS_R_PENDING, "%s", pending);
    else if (g->svc && s->n_addresses == 0)
        status_cond_set(prog, KGC_STATUS_PROGRAMMED, false, KGC_STATUS_R_ADDRESS_NOT_ASSIGNED,
                        "the publish Service %s/%s has no address yet", g->svc->obj.meta.namespace,
                        g->svc->obj.meta.name);
    else if (unusable[0])
        status_cond_set(prog, KGC_STATUS_PROGRAMMED, false, KGC_STATUS_R_ADDRESS_NOT_USABLE, "%s",
                        unusable);
    else
        status_cond_set(prog, KGC_STATUS_PROGRAMMED, true, KGC_STATUS_R_PROGRAMMED,
                        "Kong carries the configuration of the Gateway");
    bool gw_accepted = accepted;
    for (uint32_t i = 0; i < s->n_all_listeners; i++) {
        struct kgc_status_listener *st = &s->listeners[i];
        struct kgc_status_condition *c = &st->conditions[1];
        bool set_conflicted =
            i >= s->n_listeners && st->n_conditions > 3 && st->conditions[3].status[0] == 'T';
        if (set_conflicted)
            status_cond_set(c, KGC_STATUS_PROGRAMMED, false, st->conditions[3].reason,
                            "the listener conflicts with one of higher precedence");
        else if (!st->valid)
            status_cond_set(c, KGC_STATUS_PROGRAMMED, false, KGC_STATUS_R_INVALID,
                            "the listener is invalid: see its other conditions");
        else if (!gw_accepted)
            status_cond_set(c, KGC_STATUS_PROGRAMMED, false, KGC_STATUS_R_INVALID,
                            "the Gateway is not accepted");
        else if (svc_missing || pending)
            status_cond_set(c, KGC_STATUS_PROGRAMMED, false, KGC_STATUS_R_PENDING, "%s",
                            svc_missing ? svc_missing : pending);
        else
            status_cond_set(c, KGC_STATUS_PROGRAMMED, true, KGC_STATUS_R_PROGRAMMED,
                            "Kong serves the listener");
    }
}

/* with_routes false: attachedRoutes are left 0 (the routes are not walked). */
/* The ListenerSets among gw's merged listeners with at least one valid listener, on an accepted
 * Gateway: status.attachedListenerSets (gateway_types.go:1032-1043). */
static int32_t count_attached_sets(const struct kgc_status_gateway *s)
{
    if (s->n_conditions == 0 || s->conditions[0].status[0] != 'T')
        return 0;
    int32_t count = 0;
    const struct kgc_api_listenerset *last = NULL;
    bool last_counted = false;
    for (uint32_t i = s->n_listeners; i < s->n_all_listeners; i++) {
        const struct kgc_api_listenerset *set = kgc_api_listener_origin(s->merged, i);
        if (set != last) {
            last = set;
            last_counted = false;
        }
        if (set && !last_counted && s->listeners[i].valid) {
            count++;
            last_counted = true;
        }
    }
    return count;
}

static int gateway_compute(const struct kgc_status_options *o, const struct kgc_status_lookup *lk,
                           const struct kgc_api_gateway *gw_in, struct kgc_status_gateway *out,
                           bool with_routes, struct kgc_err *err)
{
    if (!out)
        return kgc_err_set(err, KGC_EINVAL, "status: no result to fill");
    memset(out, 0, sizeof(*out));
    if (!o || !lk || !gw_in)
        return kgc_err_set(err, KGC_EINVAL,
                           "status: gateway compute needs options, a lookup "
                           "and an object");
    char class_why[KGC_STATUS_MSG_MAX] = "";
    bool class_ok = false;
    if (!status_class_owned(o, lk, gw_in->gateway_class_name, &class_ok, class_why,
                            sizeof(class_why)))
        return 0; /* another controller's (or no) class: nothing to write */
    /* the Gateway with its ListenerSets' listeners after its own (kgc_status_gateway_merged) */
    const struct kgc_api_gateway *gw = kgc_status_gateway_merged(lk, gw_in);
    if (!gw)
        return kgc_err_set(err, KGC_ENOMEM, "status: out of memory");
    uint32_t n =
        gw->n_listeners < KGC_STATUS_MAX_LISTENERS ? gw->n_listeners : KGC_STATUS_MAX_LISTENERS;
    uint32_t own = kgc_api_gateway_own_listeners(gw);
    struct listener_facts *facts = calloc(n ? n : 1, sizeof(*facts));
    int32_t *counts = calloc(n ? n : 1, sizeof(*counts));
    out->listeners = calloc(n ? n : 1, sizeof(*out->listeners));
    if (!facts || !counts || !out->listeners) {
        free(facts);
        free(counts);
        free(out->listeners);
        out->listeners = NULL;
        kgc_api_obj_unref(&gw->obj);
        return kgc_err_set(err, KGC_ENOMEM, "status: out of memory");
    }
    out->gw = kgc_api_as_gateway(kgc_api_obj_ref(&gw_in->obj));
    out->merged = gw;
    out->owned = true;
    out->n_listeners = own < n ? own : n;
    out->n_all_listeners = n;
    out->generation = gw->obj.meta.generation;
    status_now(o, out->now, sizeof(out->now));

    /* Where the listens come from, and through which Service. */
    struct gateway_ctx g = {.o = o, .lk = lk, .gw = gw};
    const struct kgc_api_obj *svc_obj = NULL;
    char svc_missing[KGC_STATUS_MSG_MAX] = "", pending[KGC_STATUS_MSG_MAX] = "";
    if (o->publish_service_name && o->publish_service_name[0] && lk->get) {
        svc_obj = lk->get(lk->ctx, KGC_API_SERVICE, o->publish_service_namespace,
                          o->publish_service_name);
        g.svc = kgc_api_as_service(svc_obj);
        if (!g.svc)
            snprintf(svc_missing, sizeof(svc_missing),
                     "waiting for the publish Service %s/%s, which does not exist",
                     status_or(o->publish_service_namespace, ""), o->publish_service_name);
    }
    const char *none = view_none_reason(o->view);
    if (none)
        snprintf(pending, sizeof(pending), "waiting for the Kong Admin API: %s", none);
    g.kong_checks = !none && !svc_missing[0];
    g.listens = o->view ? o->view->listeners : NULL;
    if (g.kong_checks && !g.listens)
        g.kong_checks = false;
    if (none || svc_missing[0]) {
        out->needs_retry = true;
        out->kong_pending = !svc_missing[0];
        snprintf(out->retry_reason, sizeof(out->retry_reason), "%s",
                 svc_missing[0] ? svc_missing : pending);
    }

    for (uint32_t i = 0; i < n; i++)
        facts[i].proto = status_proto_of(gw->listeners[i].protocol);
    find_conflicts(gw, out->n_listeners, facts);
    find_set_conflicts(gw, out->n_listeners, n, facts);
    if (with_routes)
        kgc_status_gateway_attached_routes(o, lk, gw, counts, NULL);

    for (uint32_t i = 0; i < n; i++) {
        const struct kgc_api_listener *l = &gw->listeners[i];
        struct kgc_status_listener *st = &out->listeners[i];
        st->name = l->name;
        st->attached_routes = counts[i];
        char bad[KGC_STATUS_MSG_MAX / 2];
        bool invalid_kinds =
            status_listener_kinds(l, st->supported_kinds, &st->n_supported_kinds, bad, sizeof(bad));
        accept_listener(&g, l, &facts[i], st, &st->conditions[0]);
        resolve_listener_refs(lk, gw, l, facts[i].proto, invalid_kinds, bad, st,
                              &st->conditions[2]);
        if (facts[i].conflict_reason)
            status_cond_set(
                &st->conditions[3], KGC_STATUS_CONFLICTED, true, facts[i].conflict_reason,
                "listener %s is not distinct from listener %s on port %d", status_or(l->name, "?"),
                status_or(facts[i].conflict_with, "?"), l->port);
        else
            status_cond_set(&st->conditions[3], KGC_STATUS_CONFLICTED, false,
                            KGC_STATUS_R_NO_CONFLICTS, "no conflicts");
        st->n_conditions = 4;
        if (facts[i].overlap_with)
            status_cond_set(&st->conditions[st->n_conditions++], KGC_STATUS_OVERLAPPING_TLS, true,
                            KGC_STATUS_R_OVERLAPPING_HOSTNAMES,
                            "the hostname overlaps that of listener %s on port %d",
                            facts[i].overlap_with, l->port);
        st->accepted = st->conditions[0].status[0] == 'T';
        st->valid = st->accepted && !facts[i].conflict_reason && st->conditions[2].status[0] == 'T';
    }
    collect_addresses(o, g.svc, out);

    /* Whether Kong carries the configuration: the config syncer's answer, else yes. */
    if (!pending[0] && !svc_missing[0] && o->programmed) {
        char why[KGC_STATUS_MSG_MAX] = "";
        if (!o->programmed(o->programmed_ctx, gw_in, why, sizeof(why))) {
            snprintf(pending, sizeof(pending), "waiting for Kong to accept the configuration%s%s",
                     why[0] ? ": " : "", why);
            /* retried with backoff too: the push's answer also re-queues it (unless
             * --requeue-on-kong-ready=false), but a Gateway must never wait on an event alone */
            out->needs_retry = true;
            out->kong_pending = true;
            snprintf(out->retry_reason, sizeof(out->retry_reason), "%s", pending);
        }
    }
    gateway_conditions(&g, out, class_ok, class_why, pending[0] ? pending : NULL,
                       svc_missing[0] ? svc_missing : NULL);
    out->attached_listener_sets = count_attached_sets(out);
    if (gw->backend_client_certificate_ref) {
        /* gateway_types.go GatewayConditionResolvedRefs: the Gateway's own references (the
         * backend client certificate); it does not change Accepted or Programmed. Written only
         * for Gateways that have one. */
        char why[KGC_STATUS_MSG_MAX] = "";
        const char *bad = kgc_status_gateway_client_certificate(lk, gw, NULL, why, sizeof(why));
        struct kgc_status_condition *c = &out->conditions[out->n_conditions++];
        if (bad)
            status_cond_set(c, KGC_STATUS_RESOLVED_REFS, false, bad, "%s", why);
        else
            status_cond_set(c, KGC_STATUS_RESOLVED_REFS, true, KGC_STATUS_R_RESOLVED_REFS,
                            "tls.backend.clientCertificateRef is resolved");
    }
    kgc_api_obj_unref(svc_obj);
    free(facts);
    free(counts);
    return 0;
}

int kgc_status_gateway_compute(const struct kgc_status_options *o,
                               const struct kgc_status_lookup *lk, const struct kgc_api_gateway *gw,
                               struct kgc_status_gateway *out, struct kgc_err *err)
{
    return gateway_compute(o, lk, gw, out, true, err);
}

int kgc_status_gateway_usable_listeners(const struct kgc_status_options *o,
                                        const struct kgc_status_lookup *lk,
                                        const struct kgc_api_gateway *gw, uint64_t *usable,
                                        uint16_t *kong_ports, struct kgc_err *err)
{
    if (!usable)
        return kgc_err_set(err, KGC_EINVAL, "status: no result to fill");
    *usable = 0;
    if (kong_ports)
        memset(kong_ports, 0, KGC_STATUS_MAX_LISTENERS * sizeof(*kong_ports));
    if (!o)
        return kgc_err_set(err, KGC_EINVAL, "status: usable listeners needs options");
    /* the listener verdicts depend on neither hook: leave them out (no syncer round trip) */
    struct kgc_status_options lo = *o;
    lo.programmed = NULL;
    lo.route_verdict = NULL;
    struct kgc_status_gateway s;
    int rc = gateway_compute(&lo, lk, gw, &s, false, err);
    if (rc != 0)
        return rc;
    bool gw_accepted = s.owned && s.n_conditions > 0 && s.conditions[0].status[0] == 'T';
    for (uint32_t i = 0; i < s.n_all_listeners; i++) {
        const struct kgc_status_listener *st = &s.listeners[i];
        bool conflicted = st->n_conditions > 3 && st->conditions[3].status[0] == 'T';
        if (gw_accepted && st->accepted && !conflicted)
            *usable |= UINT64_C(1) << i;
        if (kong_ports)
            kong_ports[i] = st->kong_port;
    }
    kgc_status_gateway_release(&s);
    return 0;
}

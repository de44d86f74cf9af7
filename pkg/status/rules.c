/* The Gateway API matching rules every status computation shares: hostnames, label selectors,
 * ReferenceGrants, listener route kinds, class ownership, parentRef resolution and evaluation. */
#include "status_internal.h"

#include "kgc/clock.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool status_streq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

void status_cond_set(struct kgc_status_condition *c, const char *type, bool status,
                     const char *reason, const char *fmt, ...)
{
    c->type = type;
    c->status = status ? "True" : "False";
    c->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof(c->message), fmt, ap);
    va_end(ap);
}

void status_append_name(char *buf, size_t size, const char *name)
{
    size_t len = strnlen(buf, size);
    if (len + 1 >= size)
        return;
    snprintf(buf + len, size - len, "%s%s", len ? ", " : "", name ? name : "");
}

const char *status_controller(const struct kgc_status_options *o)
{
    return o->controller_name && o->controller_name[0] ? o->controller_name
                                                       : KGC_STATUS_DEFAULT_CONTROLLER;
}

void status_now(const struct kgc_status_options *o, char *buf, size_t size)
{
    if (o->now && o->now[0])
        snprintf(buf, size, "%s", o->now);
    else
        kgc_clock_rfc3339(buf, size, 0);
}

void kgc_status_options_default(struct kgc_status_options *o)
{
    memset(o, 0, sizeof(*o));
    o->controller_name = KGC_STATUS_DEFAULT_CONTROLLER;
}

/* ---- hostnames ------------------------------------------------------------------------------ */

static bool is_wildcard(const char *h)
{
    return h[0] == '*' && h[1] == '.';
}

/* "*.example.com" against the precise host h: h ends in ".example.com" with a label before. */
static bool wildcard_covers(const char *wildcard, const char *h)
{
    const char *suffix = wildcard + 1; /* ".example.com" */
    size_t sl = strlen(suffix), hl = strlen(h);
    return hl > sl && strcasecmp(h + hl - sl, suffix) == 0;
}

static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t sl = strlen(s), xl = strlen(suffix);
    return sl >= xl && strcasecmp(s + sl - xl, suffix) == 0;
}

bool kgc_status_hostnames_intersect(const char *a, const char *b)
{
    if (!a || !a[0] || !b || !b[0])
        return true;
    bool wa = is_wildcard(a), wb = is_wildcard(b);
    if (!wa && !wb)
        return strcasecmp(a, b) == 0;
    if (wa && !wb)
        return wildcard_covers(a, b);
    if (!wa && wb)
        return wildcard_covers(b, a);
    /* Both wildcards: the longer suffix lies inside the shorter one's domain. */
    return ends_with_ci(a + 1, b + 1) || ends_with_ci(b + 1, a + 1);
}

/* ---- label selectors ------------------------------------------------------------------------ */

static const char *label_value(const struct kgc_api_kv *labels, uint32_t n, const char *key)
{
    for (uint32_t i = 0; i < n; i++) {
        if (status_streq(labels[i].key, key))
            return labels[i].value ? labels[i].value : "";
    }
    return NULL;
}

static bool value_in(const char *v, const char *const *values, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (status_streq(values[i], v))
            return true;
    }
    return false;
}

bool kgc_status_selector_matches(const struct kgc_api_label_selector *selector,
                                 const struct kgc_api_kv *labels, uint32_t n_labels)
{
    if (!selector)
        return false;
    for (uint32_t i = 0; i < selector->n_match_labels; i++) {
        const struct kgc_api_kv *want = &selector->match_labels[i];
        const char *have = label_value(labels, n_labels, want->key);
        if (!have || !status_streq(have, status_or(want->value, "")))
            return false;
    }
    for (uint32_t i = 0; i < selector->n_match_expressions; i++) {
        const struct kgc_api_selector_requirement *r = &selector->match_expressions[i];
        const char *have = label_value(labels, n_labels, r->key);
        bool ok;
        if (status_streq(r->operator, "In"))
            ok = have && value_in(have, r->values, r->n_values);
        else if (status_streq(r->operator, "NotIn"))
            ok = !have || !value_in(have, r->values, r->n_values);
        else if (status_streq(r->operator, "Exists"))
            ok = have != NULL;
        else if (status_streq(r->operator, "DoesNotExist"))
            ok = have == NULL;
        else
            ok = false; /* an operator Kubernetes does not know selects nothing */
        if (!ok)
            return false;
    }
    return true;
}

/* ---- ReferenceGrants ------------------------------------------------------------------------ */

struct grant_query {
    const char *from_group, *from_kind, *from_namespace;
    const char *to_group, *to_kind, *to_name;
    bool granted;
};

static bool grant_visit(const struct kgc_api_obj *obj, void *ctx)
{
    struct grant_query *q = ctx;
    const struct kgc_api_referencegrant *g = kgc_api_as_referencegrant(obj);
    if (!g)
        return true;
    bool from_ok = false, to_ok = false;
    for (uint32_t i = 0; i < g->n_from && !from_ok; i++) {
        const struct kgc_api_object_ref *f = &g->from[i];
        from_ok = status_streq(status_or(f->group, ""), q->from_group) &&
                  status_streq(f->kind, q->from_kind) &&
                  status_streq(f->namespace, q->from_namespace);
    }
    for (uint32_t i = 0; i < g->n_to && from_ok && !to_ok; i++) {
        const struct kgc_api_object_ref *t = &g->to[i];
        to_ok = status_streq(status_or(t->group, ""), q->to_group) &&
                status_streq(t->kind, q->to_kind) &&
                (!t->name || !t->name[0] || status_streq(t->name, q->to_name));
    }
    if (from_ok && to_ok) {
        q->granted = true;
        return false;
    }
    return true;
}

bool kgc_status_reference_granted(const struct kgc_status_lookup *lk, const char *from_group,
                                  const char *from_kind, const char *from_namespace,
                                  const char *to_group, const char *to_kind,
                                  const char *to_namespace, const char *to_name)
{
    if (!lk || !lk->foreach || !to_namespace)
        return false;
    struct grant_query q = {
        .from_group = status_or(from_group, ""),
        .from_kind = from_kind,
        .from_namespace = from_namespace,
        .to_group = status_or(to_group, ""),
        .to_kind = to_kind,
        .to_name = to_name,
    };
    lk->foreach (lk->ctx, KGC_API_REFERENCEGRANT, to_namespace, grant_visit, &q);
    return q.granted;
}

/* ---- listeners ------------------------------------------------------------------------------ */

enum status_proto status_proto_of(const char *protocol)
{
    static const struct {
        const char *name;
        enum status_proto p;
    } protos[] = {{"HTTP", STATUS_P_HTTP},
                  {"HTTPS", STATUS_P_HTTPS},
                  {"TLS", STATUS_P_TLS},
                  {"TCP", STATUS_P_TCP},
                  {"UDP", STATUS_P_UDP}};
    for (size_t i = 0; protocol && i < sizeof(protos) / sizeof(protos[0]); i++) {
        if (strcmp(protocol, protos[i].name) == 0)
            return protos[i].p;
    }
    return STATUS_P_UNKNOWN;
}

/* The route kinds each protocol carries: HTTP and HTTPS listeners carry HTTPRoute and GRPCRoute
 * (kgc reconciles both; GRPCRoute's godoc pairs it with HTTP and HTTPS listeners, gateway-api
 * v1.6.1 apis/v1/grpcroute_types.go:41-57); the others are what the API pairs with those
 * protocols. Returns how many went to out (at most 2). */
static uint32_t proto_route_kinds(enum status_proto p, const char *out[2])
{
    switch (p) {
    case STATUS_P_HTTP:
    case STATUS_P_HTTPS:
        out[0] = "HTTPRoute";
        out[1] = "GRPCRoute";
        return 2;
    case STATUS_P_TLS:
        out[0] = "TLSRoute";
        return 1;
    case STATUS_P_TCP:
        out[0] = "TCPRoute";
        return 1;
    case STATUS_P_UDP:
        out[0] = "UDPRoute";
        return 1;
    default:
        return 0;
    }
}

static void add_kind(struct kgc_api_group_kind *kinds, uint32_t *n_kinds, const char *kind)
{
    for (uint32_t k = 0; k < *n_kinds; k++)
        if (strcmp(kinds[k].kind, kind) == 0)
            return; /* each supported kind once */
    if (*n_kinds < KGC_STATUS_MAX_KINDS) {
        kinds[*n_kinds].group = KGC_STATUS_GROUP;
        kinds[(*n_kinds)++].kind = kind;
    }
}

bool status_listener_kinds(const struct kgc_api_listener *l, struct kgc_api_group_kind *kinds,
                           uint32_t *n_kinds, char *bad, size_t bad_size)
{
    const char *allowed[2];
    uint32_t n_allowed = proto_route_kinds(status_proto_of(l->protocol), allowed);
    bool invalid = false;
    *n_kinds = 0;
    if (bad_size)
        bad[0] = '\0';
    const struct kgc_api_allowed_routes *ar = l->allowed_routes;
    if (!ar || ar->n_kinds == 0) {
        for (uint32_t k = 0; k < n_allowed; k++)
            add_kind(kinds, n_kinds, allowed[k]);
        return false;
    }
    for (uint32_t i = 0; i < ar->n_kinds; i++) {
        const char *group = status_or(ar->kinds[i].group, KGC_STATUS_GROUP);
        const char *kind = ar->kinds[i].kind;
        const char *match = NULL;
        for (uint32_t k = 0; k < n_allowed && !match; k++)
            if (status_streq(group, KGC_STATUS_GROUP) && status_streq(kind, allowed[k]))
                match = allowed[k];
        if (match) {
            add_kind(kinds, n_kinds, match);
            continue;
        }
        invalid = true;
        char gk[2 * KGC_STATUS_NAME_MAX];
        snprintf(gk, sizeof(gk), "%s%s%s", group[0] ? group : "", group[0] ? "/" : "",
                 status_or(kind, ""));
        status_append_name(bad, bad_size, gk);
    }
    return invalid;
}

const char *status_route_kind_name(const struct kgc_api_httproute *route)
{
    return kgc_api_kind_info(route->obj.kind)->name; /* a route kind: never NULL */
}

/* ---- classes and parents -------------------------------------------------------------------- */

bool status_class_valid(const struct kgc_api_gatewayclass *gc, char *why, size_t why_size)
{
    const struct kgc_api_object_ref *p = gc->parameters_ref;
    if (!p)
        return true;
    /* kgc takes no GatewayClass parameters: any reference is to an unsupported kind. */
    snprintf(why, why_size,
             "spec.parametersRef %s/%s %s%s%s is not supported: kgc takes no GatewayClass "
             "parameters; remove parametersRef",
             status_or(p->group, ""), status_or(p->kind, ""), p->namespace ? p->namespace : "",
             p->namespace ? "/" : "", status_or(p->name, ""));
    return false;
}

bool status_class_owned(const struct kgc_status_options *o, const struct kgc_status_lookup *lk,
                        const char *class_name, bool *accepted, char *why, size_t why_size)
{
    if (!class_name || !lk->get)
        return false;
    const struct kgc_api_obj *obj = lk->get(lk->ctx, KGC_API_GATEWAYCLASS, NULL, class_name);
    const struct kgc_api_gatewayclass *gc = kgc_api_as_gatewayclass(obj);
    bool owned = gc && status_streq(gc->controller_name, status_controller(o));
    if (owned && accepted)
        *accepted = status_class_valid(gc, why, why_size);
    kgc_api_obj_unref(obj);
    return owned;
}

static bool parent_is_gateway_kind(const struct kgc_api_parent_ref *p)
{
    return status_streq(status_or(p->group, KGC_STATUS_GROUP), KGC_STATUS_GROUP) &&
           status_streq(status_or(p->kind, "Gateway"), "Gateway");
}

static bool parent_is_set_kind(const struct kgc_api_parent_ref *p)
{
    return status_streq(status_or(p->group, KGC_STATUS_GROUP), KGC_STATUS_GROUP) &&
           status_streq(p->kind, "ListenerSet");
}

bool status_parent_names_set(const struct kgc_api_httproute *route,
                             const struct kgc_api_parent_ref *p,
                             const struct kgc_api_listenerset *set)
{
    return set && parent_is_set_kind(p) &&
           status_streq(status_or(p->namespace, route->obj.meta.namespace),
                        set->obj.meta.namespace) &&
           status_streq(p->name, set->obj.meta.name);
}

bool status_parent_names_merged(const struct kgc_api_httproute *route,
                                const struct kgc_api_parent_ref *p,
                                const struct kgc_api_gateway *gw)
{
    if (status_parent_names_gateway(route, p, gw))
        return true;
    if (!parent_is_set_kind(p))
        return false;
    for (uint32_t i = kgc_api_gateway_own_listeners(gw); i < gw->n_listeners; i++)
        if (status_parent_names_set(route, p, kgc_api_listener_origin(gw, i)))
            return true;
    return false;
}

bool status_parent_names_gateway(const struct kgc_api_httproute *route,
                                 const struct kgc_api_parent_ref *p,
                                 const struct kgc_api_gateway *gw)
{
    return parent_is_gateway_kind(p) &&
           status_streq(status_or(p->namespace, route->obj.meta.namespace),
                        gw->obj.meta.namespace) &&
           status_streq(p->name, gw->obj.meta.name);
}

const struct kgc_api_gateway *status_parent_gateway(const struct kgc_status_options *o,
                                                    const struct kgc_status_lookup *lk,
                                                    const struct kgc_api_httproute *route,
                                                    const struct kgc_api_parent_ref *p)
{
    if (!p->name || !lk->get)
        return NULL;
    const char *ns = status_or(p->namespace, route->obj.meta.namespace), *name = p->name;
    const struct kgc_api_obj *set_obj = NULL;
    if (parent_is_set_kind(p)) {
        /* a ListenerSet parent: the set's Gateway, merged with its sets (whether this set is
         * among them decides the parentRef's fate in status_eval_parent) */
        set_obj = lk->get(lk->ctx, KGC_API_LISTENERSET, ns, name);
        const struct kgc_api_listenerset *set = kgc_api_as_listenerset(set_obj);
        const struct kgc_api_parent_ref *sp = set ? &set->parent_ref : NULL;
        if (!sp || !sp->name ||
            !status_streq(status_or(sp->group, KGC_STATUS_GROUP), KGC_STATUS_GROUP) ||
            !status_streq(status_or(sp->kind, "Gateway"), "Gateway")) {
            kgc_api_obj_unref(set_obj);
            return NULL;
        }
        ns = status_or(sp->namespace, set->obj.meta.namespace);
        name = sp->name;
    } else if (!parent_is_gateway_kind(p)) {
        return NULL;
    }
    const struct kgc_api_obj *obj = lk->get(lk->ctx, KGC_API_GATEWAY, ns, name);
    kgc_api_obj_unref(set_obj); /* only its parentRef's strings were used, before this point */
    const struct kgc_api_gateway *gw = kgc_api_as_gateway(obj);
    if (!gw || !status_class_owned(o, lk, gw->gateway_class_name, NULL, NULL, 0)) {
        kgc_api_obj_unref(obj);
        return NULL;
    }
    const struct kgc_api_gateway *merged = kgc_status_gateway_merged(lk, gw);
    kgc_api_obj_unref(obj);
    return merged;
}

/* While the verdict is pending, the one the route's status already carries at this generation:
 * an Accepted=False/UnsupportedValue written by this controller (kgc writes that reason only
 * from a translator's or Kong's verdict). */
static void last_written_verdict(const struct kgc_status_options *o,
                                 const struct kgc_api_httproute *route,
                                 struct kgc_status_route_verdict *v)
{
    for (uint32_t i = 0; i < route->n_parents; i++) {
        const struct kgc_api_route_parent_status *ps = &route->parents[i];
        if (!status_streq(ps->controller_name, status_controller(o)))
            continue;
        for (uint32_t k = 0; k < ps->n_conditions; k++) {
            const struct kgc_api_condition *c = &ps->conditions[k];
            if (status_streq(c->type, KGC_STATUS_ACCEPTED) && status_streq(c->status, "False") &&
                status_streq(c->reason, KGC_STATUS_R_UNSUPPORTED_VALUE) &&
                c->observed_generation == route->obj.meta.generation) {
                v->accepted_reason = KGC_STATUS_R_UNSUPPORTED_VALUE;
                snprintf(v->accepted_message, sizeof(v->accepted_message), "%s",
                         c->message ? c->message : "");
                return;
            }
        }
    }
}

bool kgc_status_route_same_written_verdict(const struct kgc_status_options *o,
                                           const struct kgc_api_httproute *a,
                                           const struct kgc_api_httproute *b)
{
    if (!a || !b)
        return a == b;
    struct kgc_status_route_verdict va = {0}, vb = {0};
    last_written_verdict(o, a, &va);
    last_written_verdict(o, b, &vb);
    return va.accepted_reason == vb.accepted_reason &&
           strcmp(va.accepted_message, vb.accepted_message) == 0;
}

void status_route_verdict(const struct kgc_status_options *o, const struct kgc_api_httproute *route,
                          struct kgc_status_route_verdict *v)
{
    memset(v, 0, sizeof(*v));
    if (o->route_verdict)
        o->route_verdict(o->route_verdict_ctx, route, v);
    if (v->pending && !v->accepted_reason)
        last_written_verdict(o, route, v);
}

/* Whether listener l of a Gateway (or ListenerSet) in gw_ns admits routes from route_ns. */
static bool namespace_allowed(const struct kgc_status_lookup *lk, const struct kgc_api_listener *l,
                              const char *gw_ns, const char *route_ns)
{
    const struct kgc_api_allowed_routes *ar = l->allowed_routes;
    const char *from = ar ? ar->namespaces_from : NULL;
    if (!from || strcmp(from, "Same") == 0)
        return status_streq(gw_ns, route_ns);
    if (strcmp(from, "All") == 0)
        return true;
    if (strcmp(from, "Selector") != 0 || !lk->get)
        return false;
    const struct kgc_api_obj *ns = lk->get(lk->ctx, KGC_API_NAMESPACE, NULL, route_ns);
    bool ok = ns && kgc_status_selector_matches(ar->selector, ns->meta.labels, ns->meta.n_labels);
    kgc_api_obj_unref(ns);
    return ok;
}

static bool route_hostnames_match(const struct kgc_api_httproute *route, const char *listener_host)
{
    if (route->n_hostnames == 0)
        return true;
    for (uint32_t i = 0; i < route->n_hostnames; i++) {
        if (kgc_status_hostnames_intersect(route->hostnames[i], listener_host))
            return true;
    }
    return false;
}

/* status_eval_parent() without the HTTPRoute/GRPCRoute hostname rule. */
static void eval_parent_listeners(const struct kgc_status_lookup *lk,
                                  const struct kgc_api_httproute *route,
                                  const struct kgc_api_parent_ref *p,
                                  const struct kgc_api_gateway *gw, struct status_parent_eval *out)
{
    memset(out, 0, sizeof(*out));
    const char *gw_ns = gw->obj.meta.namespace, *gw_name = gw->obj.meta.name;
    uint32_t n =
        gw->n_listeners < KGC_STATUS_MAX_LISTENERS ? gw->n_listeners : KGC_STATUS_MAX_LISTENERS;
    uint64_t candidates = 0, allowed = 0, matched = 0;
    /* A Gateway parentRef reaches the Gateway's own listeners, a ListenerSet parentRef that
     * set's (listenerset-http-routing.go: a route of the Gateway is not served on the sets'
     * hostnames). The messages name the parent as the route names it. */
    bool to_set = parent_is_set_kind(p);
    const char *kind_name = to_set ? "ListenerSet" : "Gateway";
    if (to_set) {
        gw_ns = status_or(p->namespace, route->obj.meta.namespace);
        gw_name = status_or(p->name, "");
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct kgc_api_listener *l = &gw->listeners[i];
        const struct kgc_api_listenerset *origin = kgc_api_listener_origin(gw, i);
        if (to_set ? !status_parent_names_set(route, p, origin) : origin != NULL)
            continue;
        if (p->section_name && !status_streq(l->name, p->section_name))
            continue;
        if (p->port && l->port != p->port)
            continue;
        candidates |= UINT64_C(1) << i;
    }
    if (!candidates) {
        out->reason = KGC_STATUS_R_NO_MATCHING_PARENT;
        if (to_set && !status_parent_names_merged(route, p, gw))
            snprintf(out->message, sizeof(out->message),
                     "ListenerSet %s/%s is not attached to Gateway %s/%s (see its status)", gw_ns,
                     gw_name, gw->obj.meta.namespace, gw->obj.meta.name);
        else if (p->section_name && p->port)
            snprintf(out->message, sizeof(out->message),
                     "%s %s/%s has no listener named %s on port %d", kind_name, gw_ns, gw_name,
                     p->section_name, p->port);
        else if (p->section_name)
            snprintf(out->message, sizeof(out->message), "%s %s/%s has no listener named %s",
                     kind_name, gw_ns, gw_name, p->section_name);
        else if (p->port)
            snprintf(out->message, sizeof(out->message), "%s %s/%s has no listener on port %d",
                     kind_name, gw_ns, gw_name, p->port);
        else
            snprintf(out->message, sizeof(out->message), "%s %s/%s has no listeners", kind_name,
                     gw_ns, gw_name);
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!(candidates & (UINT64_C(1) << i)))
            continue;
        const struct kgc_api_listener *l = &gw->listeners[i];
        struct kgc_api_group_kind kinds[KGC_STATUS_MAX_KINDS];
        uint32_t n_kinds = 0;
        char bad[8];
        status_listener_kinds(l, kinds, &n_kinds, bad, sizeof(bad));
        bool kind_ok = false;
        for (uint32_t k = 0; k < n_kinds; k++)
            kind_ok = kind_ok || status_streq(kinds[k].kind, status_route_kind_name(route));
        const struct kgc_api_listenerset *origin = kgc_api_listener_origin(gw, i);
        if (kind_ok &&
            namespace_allowed(lk, l, origin ? origin->obj.meta.namespace : gw->obj.meta.namespace,
                              route->obj.meta.namespace))
            allowed |= UINT64_C(1) << i;
    }
    if (!allowed) {
        out->reason = KGC_STATUS_R_NOT_ALLOWED_BY_LISTENERS;
        snprintf(out->message, sizeof(out->message),
                 "no matching listener of %s %s/%s allows a%s %s from namespace %s", kind_name,
                 gw_ns, gw_name, route->obj.kind == KGC_API_HTTPROUTE ? "n" : "",
                 status_route_kind_name(route), route->obj.meta.namespace);
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        if ((allowed & (UINT64_C(1) << i)) &&
            route_hostnames_match(route, gw->listeners[i].hostname))
            matched |= UINT64_C(1) << i;
    }
    if (!matched) {
        out->reason = KGC_STATUS_R_NO_MATCHING_HOSTNAME;
        snprintf(out->message, sizeof(out->message),
                 "no hostname of the route intersects a listener hostname of %s %s/%s", kind_name,
                 gw_ns, gw_name);
        return;
    }
    out->accepted = true;
    out->listeners = matched;
    out->reason = KGC_STATUS_R_ACCEPTED;
    char names[KGC_STATUS_MSG_MAX / 2] = "";
    for (uint32_t i = 0; i < n; i++) {
        if (matched & (UINT64_C(1) << i))
            status_append_name(names, sizeof(names), gw->listeners[i].name);
    }
    snprintf(out->message, sizeof(out->message), "accepted by %s %s/%s on listener(s) %s",
             kind_name, gw_ns, gw_name, names);
}

/* ---- HTTPRoute and GRPCRoute on one listener ------------------------------------------------- */

/* Whether route b takes precedence over route a under GRPCRoute's rule: the older by
 * creationTimestamp (RFC 3339 strings in one format compare as times; a route without one counts
 * as the newest), then the first by "namespace/name". */
static bool route_first(const struct kgc_api_httproute *b, const struct kgc_api_httproute *a)
{
    const char *tb = b->obj.meta.creation_timestamp, *ta = a->obj.meta.creation_timestamp;
    bool hb = tb && tb[0], ha = ta && ta[0];
    if (hb && ha && strcmp(tb, ta) != 0)
        return strcmp(tb, ta) < 0;
    if (hb != ha)
        return hb;
    return strcmp(status_or(b->obj.meta.key, ""), status_or(a->obj.meta.key, "")) < 0;
}

/* Whether a and b, both attached to a listener with hostname lh (NULL: any), share a hostname
 * there: a route without hostnames takes the listener's. */
static bool hostnames_shared(const struct kgc_api_httproute *a, const struct kgc_api_httproute *b,
                             const char *lh)
{
    uint32_t na = a->n_hostnames ? a->n_hostnames : 1, nb = b->n_hostnames ? b->n_hostnames : 1;
    for (uint32_t i = 0; i < na; i++) {
        const char *ha = a->n_hostnames ? a->hostnames[i] : lh;
        if (a->n_hostnames && !kgc_status_hostnames_intersect(ha, lh))
            continue;
        for (uint32_t k = 0; k < nb; k++) {
            const char *hb = b->n_hostnames ? b->hostnames[k] : lh;
            if (b->n_hostnames && !kgc_status_hostnames_intersect(hb, lh))
                continue;
            if (kgc_status_hostnames_intersect(ha, hb))
                return true;
        }
    }
    return false;
}

struct kind_conflict {
    const struct kgc_status_lookup *lk;
    const struct kgc_api_httproute *route; /* the route being judged */
    const struct kgc_api_gateway *gw;
    uint64_t listeners; /* the route's listeners still open; bits cleared as conflicts are met */
    char winner[KGC_STATUS_MSG_MAX / 4]; /* "GRPCRoute ns/name" of the first route it lost to */
};

static bool kind_conflict_visit(const struct kgc_api_obj *obj, void *ctx)
{
    struct kind_conflict *q = ctx;
    const struct kgc_api_httproute *b = kgc_api_as_route(obj);
    if (!b || b->obj.kind == q->route->obj.kind || !route_first(b, q->route))
        return true;
    for (uint32_t i = 0; i < b->n_parent_refs && q->listeners; i++) {
        if (!status_parent_names_merged(b, &b->parent_refs[i], q->gw))
            continue;
        struct status_parent_eval ev;
        eval_parent_listeners(q->lk, b, &b->parent_refs[i], q->gw, &ev);
        uint64_t both = ev.accepted ? ev.listeners & q->listeners : 0;
        for (uint32_t li = 0; both && li < KGC_STATUS_MAX_LISTENERS; li++) {
            uint64_t bit = UINT64_C(1) << li;
            if (!(both & bit) || !hostnames_shared(q->route, b, q->gw->listeners[li].hostname))
                continue;
            q->listeners &= ~bit;
            if (!q->winner[0])
                snprintf(q->winner, sizeof(q->winner), "%s %s", status_route_kind_name(b),
                         status_or(b->obj.meta.key, ""));
        }
    }
    return q->listeners != 0;
}

/* GRPCRoute's rule (gateway-api v1.6.1 apis/v1/grpcroute_types.go:114-124): when an HTTPRoute and
 * a GRPCRoute attached to one listener share a hostname, only the first by route_first() is
 * accepted there; the other loses that listener, and is not accepted when it loses them all. */
void status_eval_parent(const struct kgc_status_lookup *lk, const struct kgc_api_httproute *route,
                        const struct kgc_api_parent_ref *p, const struct kgc_api_gateway *gw,
                        struct status_parent_eval *out)
{
    eval_parent_listeners(lk, route, p, gw, out);
    if (!out->accepted || kgc_api_is_l4_route_kind(route->obj.kind))
        return; /* the rule is HTTPRoute's and GRPCRoute's only */
    struct kind_conflict q = {.lk = lk, .route = route, .gw = gw, .listeners = out->listeners};
    enum kgc_api_kind other =
        route->obj.kind == KGC_API_GRPCROUTE ? KGC_API_HTTPROUTE : KGC_API_GRPCROUTE;
    if (lk->foreach_route_of_gateway)
        lk->foreach_route_of_gateway(lk->ctx, other, gw->obj.meta.namespace, gw->obj.meta.name,
                                     kind_conflict_visit, &q);
    else if (lk->foreach)
        lk->foreach (lk->ctx, other, NULL, kind_conflict_visit, &q);
    if (q.listeners == out->listeners)
        return;
    out->listeners = q.listeners;
    if (!q.listeners) {
        out->accepted = false;
        out->reason = KGC_STATUS_R_NOT_ALLOWED_BY_LISTENERS;
        snprintf(out->message, sizeof(out->message),
                 "%s shares a hostname with %s on every listener of Gateway %s/%s it matches: an "
                 "HTTPRoute and a GRPCRoute may not share a hostname on one listener, and the "
                 "older route (then the first by namespace/name) is the one accepted",
                 status_route_kind_name(route), q.winner, gw->obj.meta.namespace,
                 gw->obj.meta.name);
        return;
    }
    char names[KGC_STATUS_MSG_MAX / 2] = "";
    uint32_t n =
        gw->n_listeners < KGC_STATUS_MAX_LISTENERS ? gw->n_listeners : KGC_STATUS_MAX_LISTENERS;
    for (uint32_t i = 0; i < n; i++) {
        if (q.listeners & (UINT64_C(1) << i))
            status_append_name(names, sizeof(names), gw->listeners[i].name);
    }
    snprintf(out->message, sizeof(out->message),
             "accepted by Gateway %s/%s on listener(s) %s (not where it shares a hostname with "
             "the older %s)",
             gw->obj.meta.namespace, gw->obj.meta.name, names, q.winner);
}

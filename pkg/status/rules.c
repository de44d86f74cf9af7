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

/* The one route kind each protocol carries (kgc reconciles HTTPRoute; the others are what the
 * API pairs with those protocols). */
static const char *proto_route_kind(enum status_proto p)
{
    switch (p) {
    case STATUS_P_HTTP:
    case STATUS_P_HTTPS:
        return "HTTPRoute";
    case STATUS_P_TLS:
        return "TLSRoute";
    case STATUS_P_TCP:
        return "TCPRoute";
    case STATUS_P_UDP:
        return "UDPRoute";
    default:
        return NULL;
    }
}

bool status_listener_kinds(const struct kgc_api_listener *l, struct kgc_api_group_kind *kinds,
                           uint32_t *n_kinds, char *bad, size_t bad_size)
{
    const char *allowed = proto_route_kind(status_proto_of(l->protocol));
    bool invalid = false;
    *n_kinds = 0;
    if (bad_size)
        bad[0] = '\0';
    const struct kgc_api_allowed_routes *ar = l->allowed_routes;
    if (!ar || ar->n_kinds == 0) {
        if (allowed) {
            kinds[0].group = KGC_STATUS_GROUP;
            kinds[0].kind = allowed;
            *n_kinds = 1;
        }
        return false;
    }
    for (uint32_t i = 0; i < ar->n_kinds; i++) {
        const char *group = status_or(ar->kinds[i].group, KGC_STATUS_GROUP);
        const char *kind = ar->kinds[i].kind;
        if (allowed && status_streq(group, KGC_STATUS_GROUP) && status_streq(kind, allowed)) {
            if (*n_kinds == 0) { /* one supported kind per protocol: keep it once */
                kinds[0].group = KGC_STATUS_GROUP;
                kinds[0].kind = allowed;
                *n_kinds = 1;
            }
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
    if (!parent_is_gateway_kind(p) || !p->name || !lk->get)
        return NULL;
    const struct kgc_api_obj *obj = lk->get(
        lk->ctx, KGC_API_GATEWAY, status_or(p->namespace, route->obj.meta.namespace), p->name);
    const struct kgc_api_gateway *gw = kgc_api_as_gateway(obj);
    if (!gw || !status_class_owned(o, lk, gw->gateway_class_name, NULL, NULL, 0)) {
        kgc_api_obj_unref(obj);
        return NULL;
    }
    return gw;
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

void status_route_verdict(const struct kgc_status_options *o, const struct kgc_api_httproute *route,
                          struct kgc_status_route_verdict *v)
{
    memset(v, 0, sizeof(*v));
    if (o->route_verdict)
        o->route_verdict(o->route_verdict_ctx, route, v);
    if (v->pending && !v->accepted_reason)
        last_written_verdict(o, route, v);
}

/* Whether listener l of a Gateway in gw_ns admits routes from route_ns. */
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

void status_eval_parent(const struct kgc_status_lookup *lk, const struct kgc_api_httproute *route,
                        const struct kgc_api_parent_ref *p, const struct kgc_api_gateway *gw,
                        struct status_parent_eval *out)
{
    memset(out, 0, sizeof(*out));
    const char *gw_ns = gw->obj.meta.namespace, *gw_name = gw->obj.meta.name;
    uint32_t n =
        gw->n_listeners < KGC_STATUS_MAX_LISTENERS ? gw->n_listeners : KGC_STATUS_MAX_LISTENERS;
    uint64_t candidates = 0, allowed = 0, matched = 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct kgc_api_listener *l = &gw->listeners[i];
        if (p->section_name && !status_streq(l->name, p->section_name))
            continue;
        if (p->port && l->port != p->port)
            continue;
        candidates |= UINT64_C(1) << i;
    }
    if (!candidates) {
        out->reason = KGC_STATUS_R_NO_MATCHING_PARENT;
        if (p->section_name && p->port)
            snprintf(out->message, sizeof(out->message),
                     "Gateway %s/%s has no listener named %s on port %d", gw_ns, gw_name,
                     p->section_name, p->port);
        else if (p->section_name)
            snprintf(out->message, sizeof(out->message), "Gateway %s/%s has no listener named %s",
                     gw_ns, gw_name, p->section_name);
        else if (p->port)
            snprintf(out->message, sizeof(out->message), "Gateway %s/%s has no listener on port %d",
                     gw_ns, gw_name, p->port);
        else
            snprintf(out->message, sizeof(out->message), "Gateway %s/%s has no listeners", gw_ns,
                     gw_name);
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
            kind_ok = kind_ok || status_streq(kinds[k].kind, "HTTPRoute");
        if (kind_ok && namespace_allowed(lk, l, gw_ns, route->obj.meta.namespace))
            allowed |= UINT64_C(1) << i;
    }
    if (!allowed) {
        out->reason = KGC_STATUS_R_NOT_ALLOWED_BY_LISTENERS;
        snprintf(out->message, sizeof(out->message),
                 "no matching listener of Gateway %s/%s allows an HTTPRoute from namespace %s",
                 gw_ns, gw_name, route->obj.meta.namespace);
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
                 "no hostname of the route intersects a listener hostname of Gateway %s/%s", gw_ns,
                 gw_name);
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
    snprintf(out->message, sizeof(out->message), "accepted by Gateway %s/%s on listener(s) %s",
             gw_ns, gw_name, names);
}

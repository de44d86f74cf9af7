/* HTTPRoute and GRPCRoute status (one code for both kinds, kgc/api.h): one status.parents entry per
 * parentRef that resolves to a Gateway of a class kgc owns (Accepted from the listeners'
 * allowedRoutes, sectionName/port and hostnames; ResolvedRefs from the backendRefs), and the
 * (Gateway, listener) pairs the translator attaches. */
#include "status_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The route's ResolvedRefs: the first backendRef (rule order) that cannot be used decides. */
static void resolve_backends(const struct kgc_status_lookup *lk,
                             const struct kgc_api_httproute *route, struct kgc_status_condition *c)
{
    const char *route_ns = route->obj.meta.namespace;
    for (uint32_t ri = 0; ri < route->n_rules; ri++) {
        const struct kgc_api_http_route_rule *rule = &route->rules[ri];
        for (uint32_t bi = 0; bi < rule->n_backend_refs; bi++) {
            const struct kgc_api_backend_ref *b = &rule->backend_refs[bi];
            const char *group = status_or(b->group, ""), *kind = status_or(b->kind, "Service");
            const char *ns = status_or(b->namespace, route_ns), *name = status_or(b->name, "");
            if (group[0] || strcmp(kind, "Service") != 0) {
                status_cond_set(c, KGC_STATUS_RESOLVED_REFS, false, KGC_STATUS_R_INVALID_KIND,
                                "rules[%u].backendRefs[%u]: %s%s%s %s is not supported: kgc "
                                "routes to core Services only",
                                ri, bi, group, group[0] ? "/" : "", kind, name);
                return;
            }
            if (!status_streq(ns, route_ns) &&
                !kgc_status_reference_granted(lk, KGC_STATUS_GROUP, status_route_kind_name(route),
                                              route_ns, "", "Service", ns, name)) {
                status_cond_set(c, KGC_STATUS_RESOLVED_REFS, false, KGC_STATUS_R_REF_NOT_PERMITTED,
                                "rules[%u].backendRefs[%u]: Service %s/%s is in another "
                                "namespace and no ReferenceGrant in %s allows it",
                                ri, bi, ns, name, ns);
                return;
            }
            const struct kgc_api_obj *obj =
                lk->get ? lk->get(lk->ctx, KGC_API_SERVICE, ns, name) : NULL;
            const struct kgc_api_service *svc = kgc_api_as_service(obj);
            bool port_ok = !svc || !b->port || svc->n_ports == 0;
            for (uint32_t k = 0; svc && !port_ok && k < svc->n_ports; k++)
                port_ok = svc->ports[k].port == b->port;
            kgc_api_obj_unref(obj);
            if (!svc) {
                status_cond_set(c, KGC_STATUS_RESOLVED_REFS, false, KGC_STATUS_R_BACKEND_NOT_FOUND,
                                "rules[%u].backendRefs[%u]: Service %s/%s not found", ri, bi, ns,
                                name);
                return;
            }
            if (!port_ok) {
                status_cond_set(c, KGC_STATUS_RESOLVED_REFS, false, KGC_STATUS_R_BACKEND_NOT_FOUND,
                                "rules[%u].backendRefs[%u]: Service %s/%s has no port %d", ri, bi,
                                ns, name, b->port);
                return;
            }
        }
    }
    status_cond_set(c, KGC_STATUS_RESOLVED_REFS, true, KGC_STATUS_R_RESOLVED_REFS,
                    "all backend references are resolved");
}

void kgc_status_httproute_release(struct kgc_status_httproute *s)
{
    if (!s)
        return;
    free(s->parents);
    kgc_api_obj_unref(s->route ? &s->route->obj : NULL);
    memset(s, 0, sizeof(*s));
}

int kgc_status_httproute_compute(const struct kgc_status_options *o,
                                 const struct kgc_status_lookup *lk,
                                 const struct kgc_api_httproute *route,
                                 struct kgc_status_httproute *out, struct kgc_err *err)
{
    if (!out)
        return kgc_err_set(err, KGC_EINVAL, "status: no result to fill");
    memset(out, 0, sizeof(*out));
    if (!o || !lk || !route)
        return kgc_err_set(err, KGC_EINVAL,
                           "status: httproute compute needs options, a lookup "
                           "and an object");
    uint32_t cap = route->n_parent_refs < KGC_STATUS_MAX_PARENTS ? route->n_parent_refs
                                                                 : KGC_STATUS_MAX_PARENTS;
    if (cap) {
        out->parents = calloc(cap, sizeof(*out->parents));
        if (!out->parents)
            return kgc_err_set(err, KGC_ENOMEM, "status: out of memory");
    }
    out->route = kgc_api_as_route(kgc_api_obj_ref(&route->obj));
    snprintf(out->controller_name, sizeof(out->controller_name), "%s", status_controller(o));
    out->generation = route->obj.meta.generation;
    status_now(o, out->now, sizeof(out->now));

    struct kgc_status_route_verdict v;
    status_route_verdict(o, route, &v);
    out->verdict_pending = v.pending;
    if (v.pending)
        return 0; /* not written: no parent is evaluated (at start-up, every route once) */
    struct kgc_status_condition resolved;
    resolve_backends(lk, route, &resolved);
    if (v.resolved_refs_reason && strcmp(resolved.status, "True") == 0)
        status_cond_set(&resolved, KGC_STATUS_RESOLVED_REFS, false, v.resolved_refs_reason, "%s",
                        v.resolved_refs_message);

    for (uint32_t i = 0; i < route->n_parent_refs && out->n_parents < cap; i++) {
        const struct kgc_api_parent_ref *p = &route->parent_refs[i];
        const struct kgc_api_gateway *gw = status_parent_gateway(o, lk, route, p);
        if (!gw)
            continue; /* no such Gateway, or not kgc's: another controller's business */
        struct status_parent_eval ev;
        status_eval_parent(lk, route, p, gw, &ev);
        struct kgc_status_route_parent *e = &out->parents[out->n_parents++];
        e->parent_ref = *p;
        e->parent_ref.group = status_or(p->group, KGC_STATUS_GROUP);
        e->parent_ref.kind = status_or(p->kind, "Gateway");
        e->parent_index = i;
        e->gateway_namespace = status_or(p->namespace, route->obj.meta.namespace);
        e->gateway_name = p->name;
        if (ev.accepted && v.accepted_reason) {
            status_cond_set(&e->conditions[0], KGC_STATUS_ACCEPTED, false, v.accepted_reason, "%s",
                            v.accepted_message);
        } else {
            e->accepted = ev.accepted;
            e->listeners = ev.listeners;
            status_cond_set(&e->conditions[0], KGC_STATUS_ACCEPTED, ev.accepted, ev.reason, "%s",
                            ev.message);
        }
        e->conditions[1] = resolved;
        e->n_conditions = 2;
        if (e->accepted && v.partially_invalid[0])
            status_cond_set(&e->conditions[e->n_conditions++], KGC_STATUS_PARTIALLY_INVALID, true,
                            KGC_STATUS_R_UNSUPPORTED_VALUE, "%s", v.partially_invalid);
        if (e->accepted && v.kong_limitation[0])
            status_cond_set(&e->conditions[e->n_conditions++], KGC_STATUS_KONG_LIMITATION, true,
                            KGC_STATUS_R_KONG_LIMITATION, "%s", v.kong_limitation);
        kgc_api_obj_unref(&gw->obj);
    }
    return 0;
}

int kgc_status_httproute_attachments(const struct kgc_status_options *o,
                                     const struct kgc_status_lookup *lk,
                                     const struct kgc_api_httproute *route,
                                     struct kgc_status_attachment **out, size_t *n,
                                     struct kgc_err *err)
{
    if (!out || !n)
        return kgc_err_set(err, KGC_EINVAL, "status: attachments needs somewhere to put them");
    *out = NULL;
    *n = 0;
    if (!o || !lk || !route)
        return kgc_err_set(err, KGC_EINVAL,
                           "status: attachments needs options, a lookup and "
                           "a route");
    struct kgc_status_route_verdict v;
    status_route_verdict(o, route, &v);
    if (v.accepted_reason)
        return 0;
    size_t cap = 0;
    for (uint32_t i = 0; i < route->n_parent_refs; i++) {
        const struct kgc_api_parent_ref *p = &route->parent_refs[i];
        const struct kgc_api_gateway *gw = status_parent_gateway(o, lk, route, p);
        if (!gw)
            continue;
        struct status_parent_eval ev;
        status_eval_parent(lk, route, p, gw, &ev);
        for (uint32_t li = 0; ev.accepted && li < KGC_STATUS_MAX_LISTENERS; li++) {
            if (!(ev.listeners & (UINT64_C(1) << li)))
                continue;
            if (*n == cap) {
                size_t ncap = cap ? 2 * cap : 4;
                struct kgc_status_attachment *grown = realloc(*out, ncap * sizeof(**out));
                if (!grown) {
                    kgc_api_obj_unref(&gw->obj);
                    free(*out);
                    *out = NULL;
                    *n = 0;
                    return kgc_err_set(err, KGC_ENOMEM, "status: out of memory");
                }
                *out = grown;
                cap = ncap;
            }
            struct kgc_status_attachment *a = &(*out)[(*n)++];
            memset(a, 0, sizeof(*a));
            a->parent_index = i;
            a->listener_index = li;
            snprintf(a->gateway_namespace, sizeof(a->gateway_namespace), "%s",
                     gw->obj.meta.namespace);
            snprintf(a->gateway_name, sizeof(a->gateway_name), "%s", gw->obj.meta.name);
            snprintf(a->listener_name, sizeof(a->listener_name), "%s",
                     status_or(gw->listeners[li].name, ""));
        }
        kgc_api_obj_unref(&gw->obj);
    }
    return 0;
}

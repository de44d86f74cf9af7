/* Typed struct → Kubernetes-shaped json-c tree, for the dump endpoint. Emits exactly what parse
 * kept, so parse(emit(x)) == x; Secret data is never emitted. */
#include "api_internal.h"

#include <string.h>

struct ectx {
    bool oom; /* some json-c allocation failed: the result is dropped */
};

static json_object *chk(struct ectx *e, json_object *o)
{
    if (!o)
        e->oom = true;
    return o;
}

static void add(struct ectx *e, json_object *parent, const char *key, json_object *v)
{
    if (!v) {
        e->oom = true;
        return;
    }
    if (json_object_object_add(parent, key, v) != 0) {
        json_object_put(v);
        e->oom = true;
    }
}

static void push(struct ectx *e, json_object *arr, json_object *v)
{
    if (!v) {
        e->oom = true;
        return;
    }
    if (json_object_array_add(arr, v) != 0) {
        json_object_put(v);
        e->oom = true;
    }
}

static void add_str(struct ectx *e, json_object *o, const char *key, const char *v)
{
    if (v)
        add(e, o, key, json_object_new_string(v));
}

static void add_int(struct ectx *e, json_object *o, const char *key, int64_t v)
{
    if (v)
        add(e, o, key, json_object_new_int64(v));
}

static void add_tri(struct ectx *e, json_object *o, const char *key, int8_t v)
{
    if (v != KGC_API_UNSET)
        add(e, o, key, json_object_new_boolean(v));
}

static json_object *new_obj(struct ectx *e)
{
    return chk(e, json_object_new_object());
}

/* Adds o under key when it has members; otherwise drops it. */
static void add_nonempty(struct ectx *e, json_object *parent, const char *key, json_object *o)
{
    if (!o)
        return;
    if ((json_object_is_type(o, json_type_object) && json_object_object_length(o) == 0) ||
        (json_object_is_type(o, json_type_array) && json_object_array_length(o) == 0)) {
        json_object_put(o);
        return;
    }
    add(e, parent, key, o);
}

static json_object *str_array(struct ectx *e, const char *const *v, uint32_t n)
{
    json_object *a = chk(e, json_object_new_array());
    for (uint32_t i = 0; a && i < n; i++)
        push(e, a, json_object_new_string(v[i]));
    return a;
}

static json_object *kv_map(struct ectx *e, const struct kgc_api_kv *kv, uint32_t n)
{
    json_object *o = new_obj(e);
    for (uint32_t i = 0; o && i < n; i++)
        add_str(e, o, kv[i].key, kv[i].value);
    return o;
}

/* [{name, value}] as HTTP header lists are written. */
static json_object *header_list(struct ectx *e, const struct kgc_api_kv *kv, uint32_t n)
{
    json_object *a = chk(e, json_object_new_array());
    for (uint32_t i = 0; a && i < n; i++) {
        json_object *h = new_obj(e);
        if (!h)
            break;
        add_str(e, h, "name", kv[i].key);
        add_str(e, h, "value", kv[i].value);
        push(e, a, h);
    }
    return a;
}

static json_object *conditions(struct ectx *e, const struct kgc_api_condition *c, uint32_t n)
{
    json_object *a = chk(e, json_object_new_array());
    for (uint32_t i = 0; a && i < n; i++) {
        json_object *o = new_obj(e);
        if (!o)
            break;
        add_str(e, o, "type", c[i].type);
        add_str(e, o, "status", c[i].status);
        add_str(e, o, "reason", c[i].reason);
        add_str(e, o, "message", c[i].message);
        add_str(e, o, "lastTransitionTime", c[i].last_transition_time);
        add_int(e, o, "observedGeneration", c[i].observed_generation);
        push(e, a, o);
    }
    return a;
}

static json_object *object_ref(struct ectx *e, const struct kgc_api_object_ref *r)
{
    json_object *o = new_obj(e);
    if (!o)
        return NULL;
    add_str(e, o, "group", r->group);
    add_str(e, o, "kind", r->kind);
    add_str(e, o, "name", r->name);
    add_str(e, o, "namespace", r->namespace);
    return o;
}

static json_object *object_refs(struct ectx *e, const struct kgc_api_object_ref *r, uint32_t n)
{
    json_object *a = chk(e, json_object_new_array());
    for (uint32_t i = 0; a && i < n; i++)
        push(e, a, object_ref(e, &r[i]));
    return a;
}

static json_object *group_kinds(struct ectx *e, const struct kgc_api_group_kind *gk, uint32_t n)
{
    json_object *a = chk(e, json_object_new_array());
    for (uint32_t i = 0; a && i < n; i++) {
        json_object *o = new_obj(e);
        if (!o)
            break;
        add_str(e, o, "group", gk[i].group);
        add_str(e, o, "kind", gk[i].kind);
        push(e, a, o);
    }
    return a;
}

static json_object *addresses(struct ectx *e, const struct kgc_api_address *ad, uint32_t n)
{
    json_object *a = chk(e, json_object_new_array());
    for (uint32_t i = 0; a && i < n; i++) {
        json_object *o = new_obj(e);
        if (!o)
            break;
        add_str(e, o, "type", ad[i].type);
        add_str(e, o, "value", ad[i].value);
        push(e, a, o);
    }
    return a;
}

static json_object *selector(struct ectx *e, const struct kgc_api_label_selector *s)
{
    json_object *o = new_obj(e);
    if (!o)
        return NULL;
    add_nonempty(e, o, "matchLabels", kv_map(e, s->match_labels, s->n_match_labels));
    json_object *a = chk(e, json_object_new_array());
    for (uint32_t i = 0; a && i < s->n_match_expressions; i++) {
        const struct kgc_api_selector_requirement *r = &s->match_expressions[i];
        json_object *ro = new_obj(e);
        if (!ro)
            break;
        add_str(e, ro, "key", r->key);
        add_str(e, ro, "operator", r->operator);
        add_nonempty(e, ro, "values", str_array(e, r->values, r->n_values));
        push(e, a, ro);
    }
    add_nonempty(e, o, "matchExpressions", a);
    return o;
}

static json_object *metadata(struct ectx *e, const struct kgc_api_meta *m)
{
    json_object *o = new_obj(e);
    if (!o)
        return NULL;
    add_str(e, o, "name", m->name);
    add_str(e, o, "namespace", m->namespace);
    add_str(e, o, "uid", m->uid);
    add_str(e, o, "resourceVersion", m->resource_version);
    add_int(e, o, "generation", m->generation);
    add_str(e, o, "creationTimestamp", m->creation_timestamp);
    add_str(e, o, "deletionTimestamp", m->deletion_timestamp);
    add_nonempty(e, o, "labels", kv_map(e, m->labels, m->n_labels));
    add_nonempty(e, o, "annotations", kv_map(e, m->annotations, m->n_annotations));
    return o;
}

/* --- kinds ------------------------------------------------------------------------------------ */

static void emit_gatewayclass(struct ectx *e, json_object *root,
                              const struct kgc_api_gatewayclass *g)
{
    json_object *spec = new_obj(e);
    if (spec) {
        add_str(e, spec, "controllerName", g->controller_name);
        if (g->parameters_ref)
            add(e, spec, "parametersRef", object_ref(e, g->parameters_ref));
    }
    add_nonempty(e, root, "spec", spec);
    json_object *status = new_obj(e);
    if (status)
        add_nonempty(e, status, "conditions", conditions(e, g->conditions, g->n_conditions));
    add_nonempty(e, root, "status", status);
}

static json_object *listener(struct ectx *e, const struct kgc_api_listener *l)
{
    json_object *o = new_obj(e);
    if (!o)
        return NULL;
    add_str(e, o, "name", l->name);
    add_str(e, o, "hostname", l->hostname);
    add_int(e, o, "port", l->port);
    add_str(e, o, "protocol", l->protocol);
    if (l->tls) {
        json_object *t = new_obj(e);
        if (t) {
            add_str(e, t, "mode", l->tls->mode);
            add_nonempty(e, t, "certificateRefs",
                         object_refs(e, l->tls->certificate_refs, l->tls->n_certificate_refs));
            add_nonempty(e, t, "options", kv_map(e, l->tls->options, l->tls->n_options));
            add(e, o, "tls", t);
        }
    }
    if (l->allowed_routes) {
        const struct kgc_api_allowed_routes *ar = l->allowed_routes;
        json_object *r = new_obj(e);
        if (r) {
            if (ar->namespaces_from || ar->selector) {
                json_object *ns = new_obj(e);
                if (ns) {
                    add_str(e, ns, "from", ar->namespaces_from);
                    if (ar->selector)
                        add(e, ns, "selector", selector(e, ar->selector));
                    add(e, r, "namespaces", ns);
                }
            }
            add_nonempty(e, r, "kinds", group_kinds(e, ar->kinds, ar->n_kinds));
            add(e, o, "allowedRoutes", r);
        }
    }
    return o;
}

static json_object *listener_statuses(struct ectx *e, const struct kgc_api_listener_status *st,
                                      uint32_t n)
{
    json_object *ls = chk(e, json_object_new_array());
    for (uint32_t i = 0; ls && i < n; i++) {
        const struct kgc_api_listener_status *l = &st[i];
        json_object *o = new_obj(e);
        if (!o)
            break;
        add_str(e, o, "name", l->name);
        add(e, o, "supportedKinds", group_kinds(e, l->supported_kinds, l->n_supported_kinds));
        add(e, o, "attachedRoutes", json_object_new_int(l->attached_routes));
        add(e, o, "conditions", conditions(e, l->conditions, l->n_conditions));
        push(e, ls, o);
    }
    return ls;
}

static void emit_gateway(struct ectx *e, json_object *root, const struct kgc_api_gateway *g)
{
    json_object *spec = new_obj(e);
    if (spec) {
        add_str(e, spec, "gatewayClassName", g->gateway_class_name);
        json_object *ls = chk(e, json_object_new_array());
        for (uint32_t i = 0; ls && i < g->n_listeners; i++)
            push(e, ls, listener(e, &g->listeners[i]));
        add_nonempty(e, spec, "listeners", ls);
        add_nonempty(e, spec, "addresses", addresses(e, g->addresses, g->n_addresses));
        if (g->backend_client_certificate_ref) {
            json_object *tls = new_obj(e), *backend = new_obj(e);
            if (tls && backend) {
                add(e, backend, "clientCertificateRef",
                    object_ref(e, g->backend_client_certificate_ref));
                add(e, tls, "backend", backend);
                add(e, spec, "tls", tls);
            } else {
                json_object_put(tls);
                json_object_put(backend);
            }
        }
        if (g->infrastructure_parameters_ref) {
            json_object *infra = new_obj(e);
            if (infra) {
                add(e, infra, "parametersRef", object_ref(e, g->infrastructure_parameters_ref));
                add(e, spec, "infrastructure", infra);
            }
        }
        if (g->allowed_listeners) {
            json_object *al = new_obj(e), *ns = new_obj(e);
            if (al && ns) {
                add_str(e, ns, "from", g->allowed_listeners->namespaces_from);
                if (g->allowed_listeners->selector)
                    add(e, ns, "selector", selector(e, g->allowed_listeners->selector));
                add(e, al, "namespaces", ns);
                add(e, spec, "allowedListeners", al);
            } else {
                json_object_put(al);
                json_object_put(ns);
            }
        }
    }
    add_nonempty(e, root, "spec", spec);
    json_object *status = new_obj(e);
    if (status) {
        add_nonempty(e, status, "addresses",
                     addresses(e, g->status_addresses, g->n_status_addresses));
        add_nonempty(e, status, "conditions", conditions(e, g->conditions, g->n_conditions));
        add_nonempty(e, status, "listeners",
                     listener_statuses(e, g->listener_status, g->n_listener_status));
        if (g->attached_listener_sets >= 0)
            add(e, status, "attachedListenerSets", json_object_new_int(g->attached_listener_sets));
    }
    add_nonempty(e, root, "status", status);
}

static json_object *parent_ref(struct ectx *e, const struct kgc_api_parent_ref *p)
{
    json_object *o = new_obj(e);
    if (!o)
        return NULL;
    add_str(e, o, "group", p->group);
    add_str(e, o, "kind", p->kind);
    add_str(e, o, "namespace", p->namespace);
    add_str(e, o, "name", p->name);
    add_str(e, o, "sectionName", p->section_name);
    add_int(e, o, "port", p->port);
    return o;
}

static json_object *value_matches(struct ectx *e, const struct kgc_api_http_value_match *m,
                                  uint32_t n)
{
    json_object *a = chk(e, json_object_new_array());
    for (uint32_t i = 0; a && i < n; i++) {
        json_object *o = new_obj(e);
        if (!o)
            break;
        add_str(e, o, "type", m[i].type);
        add_str(e, o, "name", m[i].name);
        add_str(e, o, "value", m[i].value);
        push(e, a, o);
    }
    return a;
}

static json_object *header_modifier(struct ectx *e, const struct kgc_api_http_header_modifier *m)
{
    json_object *o = new_obj(e);
    if (!o)
        return NULL;
    add_nonempty(e, o, "set", header_list(e, m->set, m->n_set));
    add_nonempty(e, o, "add", header_list(e, m->add, m->n_add));
    add_nonempty(e, o, "remove", str_array(e, m->remove, m->n_remove));
    return o;
}

static json_object *path_modifier(struct ectx *e, const struct kgc_api_http_path_modifier *p)
{
    json_object *o = new_obj(e);
    if (!o)
        return NULL;
    add_str(e, o, "type", p->type);
    add_str(e, o, "replaceFullPath", p->replace_full_path);
    add_str(e, o, "replacePrefixMatch", p->replace_prefix_match);
    return o;
}

static json_object *filters(struct ectx *e, const struct kgc_api_http_filter *f, uint32_t n)
{
    json_object *a = chk(e, json_object_new_array());
    for (uint32_t i = 0; a && i < n; i++) {
        json_object *o = new_obj(e);
        if (!o)
            break;
        add_str(e, o, "type", f[i].type);
        if (f[i].request_header_modifier)
            add(e, o, "requestHeaderModifier", header_modifier(e, f[i].request_header_modifier));
        if (f[i].response_header_modifier)
            add(e, o, "responseHeaderModifier", header_modifier(e, f[i].response_header_modifier));
        if (f[i].request_redirect) {
            const struct kgc_api_http_redirect *r = f[i].request_redirect;
            json_object *ro = new_obj(e);
            if (ro) {
                add_str(e, ro, "scheme", r->scheme);
                add_str(e, ro, "hostname", r->hostname);
                if (r->path)
                    add(e, ro, "path", path_modifier(e, r->path));
                add_int(e, ro, "port", r->port);
                add_int(e, ro, "statusCode", r->status_code);
                add(e, o, "requestRedirect", ro);
            }
        }
        if (f[i].url_rewrite) {
            const struct kgc_api_http_rewrite *r = f[i].url_rewrite;
            json_object *ro = new_obj(e);
            if (ro) {
                add_str(e, ro, "hostname", r->hostname);
                if (r->path)
                    add(e, ro, "path", path_modifier(e, r->path));
                add(e, o, "urlRewrite", ro);
            }
        }
        if (f[i].extension_ref)
            add(e, o, "extensionRef", object_ref(e, f[i].extension_ref));
        push(e, a, o);
    }
    return a;
}

static json_object *rule(struct ectx *e, const struct kgc_api_http_route_rule *r)
{
    json_object *o = new_obj(e);
    if (!o)
        return NULL;
    add_str(e, o, "name", r->name);
    json_object *ms = chk(e, json_object_new_array());
    for (uint32_t i = 0; ms && i < r->n_matches; i++) {
        const struct kgc_api_http_route_match *m = &r->matches[i];
        json_object *mo = new_obj(e);
        if (!mo)
            break;
        if (m->path.type || m->path.value) {
            json_object *p = new_obj(e);
            if (p) {
                add_str(e, p, "type", m->path.type);
                add_str(e, p, "value", m->path.value);
                add(e, mo, "path", p);
            }
        }
        add_nonempty(e, mo, "headers", value_matches(e, m->headers, m->n_headers));
        add_nonempty(e, mo, "queryParams", value_matches(e, m->query_params, m->n_query_params));
        add_str(e, mo, "method", m->method);
        if (m->grpc_method) {
            json_object *g = new_obj(e);
            if (g) {
                add_str(e, g, "type", m->grpc_method->type);
                add_str(e, g, "service", m->grpc_method->service);
                add_str(e, g, "method", m->grpc_method->method);
                add(e, mo, "method", g);
            }
        }
        push(e, ms, mo);
    }
    add_nonempty(e, o, "matches", ms);
    add_nonempty(e, o, "filters", filters(e, r->filters, r->n_filters));
    json_object *bs = chk(e, json_object_new_array());
    for (uint32_t i = 0; bs && i < r->n_backend_refs; i++) {
        const struct kgc_api_backend_ref *b = &r->backend_refs[i];
        json_object *bo = new_obj(e);
        if (!bo)
            break;
        add_str(e, bo, "group", b->group);
        add_str(e, bo, "kind", b->kind);
        add_str(e, bo, "name", b->name);
        add_str(e, bo, "namespace", b->namespace);
        add_int(e, bo, "port", b->port);
        add(e, bo, "weight", json_object_new_int(b->weight));
        add_nonempty(e, bo, "filters", filters(e, b->filters, b->n_filters));
        push(e, bs, bo);
    }
    add_nonempty(e, o, "backendRefs", bs);
    if (r->timeout_request || r->timeout_backend_request) {
        json_object *t = new_obj(e);
        if (t) {
            add_str(e, t, "request", r->timeout_request);
            add_str(e, t, "backendRequest", r->timeout_backend_request);
            add(e, o, "timeouts", t);
        }
    }
    return o;
}

/* An HTTPRoute or a GRPCRoute (the same struct). */
static void emit_route(struct ectx *e, json_object *root, const struct kgc_api_httproute *r)
{
    json_object *spec = new_obj(e);
    if (spec) {
        json_object *ps = chk(e, json_object_new_array());
        for (uint32_t i = 0; ps && i < r->n_parent_refs; i++)
            push(e, ps, parent_ref(e, &r->parent_refs[i]));
        add_nonempty(e, spec, "parentRefs", ps);
        add_nonempty(e, spec, "hostnames", str_array(e, r->hostnames, r->n_hostnames));
        json_object *rs = chk(e, json_object_new_array());
        for (uint32_t i = 0; rs && i < r->n_rules; i++)
            push(e, rs, rule(e, &r->rules[i]));
        add_nonempty(e, spec, "rules", rs);
    }
    add_nonempty(e, root, "spec", spec);
    json_object *status = new_obj(e);
    if (status) {
        json_object *ps = chk(e, json_object_new_array());
        for (uint32_t i = 0; ps && i < r->n_parents; i++) {
            const struct kgc_api_route_parent_status *p = &r->parents[i];
            json_object *o = new_obj(e);
            if (!o)
                break;
            add(e, o, "parentRef", parent_ref(e, &p->parent_ref));
            add_str(e, o, "controllerName", p->controller_name);
            add(e, o, "conditions", conditions(e, p->conditions, p->n_conditions));
            push(e, ps, o);
        }
        add_nonempty(e, status, "parents", ps);
    }
    add_nonempty(e, root, "status", status);
}

static void emit_referencegrant(struct ectx *e, json_object *root,
                                const struct kgc_api_referencegrant *g)
{
    json_object *spec = new_obj(e);
    if (spec) {
        add_nonempty(e, spec, "from", object_refs(e, g->from, g->n_from));
        add_nonempty(e, spec, "to", object_refs(e, g->to, g->n_to));
    }
    add_nonempty(e, root, "spec", spec);
}

static void emit_service(struct ectx *e, json_object *root, const struct kgc_api_service *s)
{
    json_object *spec = new_obj(e);
    if (spec) {
        add_str(e, spec, "type", s->type);
        add_str(e, spec, "clusterIP", s->cluster_ip);
        add_nonempty(e, spec, "clusterIPs", str_array(e, s->cluster_ips, s->n_cluster_ips));
        add_str(e, spec, "externalName", s->external_name);
        json_object *ps = chk(e, json_object_new_array());
        for (uint32_t i = 0; ps && i < s->n_ports; i++) {
            const struct kgc_api_service_port *p = &s->ports[i];
            json_object *o = new_obj(e);
            if (!o)
                break;
            add_str(e, o, "name", p->name);
            add_str(e, o, "protocol", p->protocol);
            add_str(e, o, "appProtocol", p->app_protocol);
            add_int(e, o, "port", p->port);
            if (p->target_port_name)
                add_str(e, o, "targetPort", p->target_port_name);
            else
                add_int(e, o, "targetPort", p->target_port);
            add_int(e, o, "nodePort", p->node_port);
            push(e, ps, o);
        }
        add_nonempty(e, spec, "ports", ps);
    }
    add_nonempty(e, root, "spec", spec);
    if (s->n_lb_ingress) {
        json_object *status = new_obj(e), *lb = new_obj(e), *ing = chk(e, json_object_new_array());
        for (uint32_t i = 0; ing && i < s->n_lb_ingress; i++) {
            json_object *o = new_obj(e);
            if (!o)
                break;
            add_str(e, o, "ip", s->lb_ingress[i].ip);
            add_str(e, o, "hostname", s->lb_ingress[i].hostname);
            push(e, ing, o);
        }
        if (status && lb && ing) {
            add(e, lb, "ingress", ing);
            add(e, status, "loadBalancer", lb);
            add(e, root, "status", status);
        } else {
            json_object_put(status);
            json_object_put(lb);
            json_object_put(ing);
        }
    }
}

static void emit_endpointslice(struct ectx *e, json_object *root,
                               const struct kgc_api_endpointslice *s)
{
    add_str(e, root, "addressType", s->address_type);
    json_object *ps = chk(e, json_object_new_array());
    for (uint32_t i = 0; ps && i < s->n_ports; i++) {
        json_object *o = new_obj(e);
        if (!o)
            break;
        add_str(e, o, "name", s->ports[i].name);
        add_str(e, o, "protocol", s->ports[i].protocol);
        add_str(e, o, "appProtocol", s->ports[i].app_protocol);
        add_int(e, o, "port", s->ports[i].port);
        push(e, ps, o);
    }
    add_nonempty(e, root, "ports", ps);
    json_object *eps = chk(e, json_object_new_array());
    for (uint32_t i = 0; eps && i < s->n_endpoints; i++) {
        const struct kgc_api_endpoint *ep = &s->endpoints[i];
        json_object *o = new_obj(e);
        if (!o)
            break;
        add(e, o, "addresses", str_array(e, ep->addresses, ep->n_addresses));
        json_object *c = new_obj(e);
        if (c) {
            add_tri(e, c, "ready", ep->ready);
            add_tri(e, c, "serving", ep->serving);
            add_tri(e, c, "terminating", ep->terminating);
            add_nonempty(e, o, "conditions", c);
        }
        add_str(e, o, "nodeName", ep->node_name);
        push(e, eps, o);
    }
    add_nonempty(e, root, "endpoints", eps);
}

static void emit_secret(struct ectx *e, json_object *root, const struct kgc_api_secret *s)
{
    add_str(e, root, "type", s->type);
    json_object *data = new_obj(e);
    if (data) {
        if (s->has_tls_crt)
            add_str(e, data, "tls.crt", "<redacted>");
        if (s->has_tls_key)
            add_str(e, data, "tls.key", "<redacted>");
        add_nonempty(e, root, "data", data);
    }
    add(e, root, "kgcTLSValid", json_object_new_boolean(s->tls_valid));
    add_str(e, root, "kgcTLSProblem", s->tls_problem);
}

static void emit_namespace(struct ectx *e, json_object *root, const struct kgc_api_namespace *n)
{
    if (n->phase) {
        json_object *status = new_obj(e);
        if (status) {
            add_str(e, status, "phase", n->phase);
            add(e, root, "status", status);
        }
    }
}

/* JSON text kept by parse back into a tree (it was printed by json-c: it parses). */
static void add_json_text(struct ectx *e, json_object *o, const char *key, const char *text)
{
    if (text)
        add(e, o, key, json_tokener_parse(text));
}

static json_object *secret_key_ref(struct ectx *e, const struct kgc_api_secret_key_ref *r)
{
    json_object *o = new_obj(e), *ref = new_obj(e);
    if (!o || !ref) {
        json_object_put(o);
        json_object_put(ref);
        return NULL;
    }
    add_str(e, ref, "namespace", r->namespace);
    add_str(e, ref, "name", r->name);
    add_str(e, ref, "key", r->key);
    add(e, o, "secretKeyRef", ref);
    return o;
}

/* configFrom names the Secret; its value is never read into the object (the translator reads
 * the Secret), so nothing secret is here. */
static void emit_kongplugin(struct ectx *e, json_object *root, const struct kgc_api_kongplugin *p)
{
    add_str(e, root, "plugin", p->plugin);
    add_json_text(e, root, "config", p->config);
    if (p->config_from)
        add(e, root, "configFrom", secret_key_ref(e, p->config_from));
    if (p->n_config_patches) { /* only their number is kept: as many empty entries */
        json_object *a = chk(e, json_object_new_array());
        for (uint32_t i = 0; a && i < p->n_config_patches; i++)
            push(e, a, json_object_new_object());
        add(e, root, "configPatches", a);
    }
    if (p->disabled)
        add(e, root, "disabled", json_object_new_boolean(1));
    if (p->n_protocols)
        add(e, root, "protocols", str_array(e, p->protocols, p->n_protocols));
    add_json_text(e, root, "ordering", p->ordering);
    add_str(e, root, "instance_name", p->instance_name);
    add_str(e, root, "consumerRef", p->consumer_ref);
    add_str(e, root, "run_on", p->run_on);
    if (p->n_conditions) {
        json_object *status = new_obj(e);
        if (status) {
            add(e, status, "conditions", conditions(e, p->conditions, p->n_conditions));
            add(e, root, "status", status);
        }
    }
}

/* A ConfigMap as kgc keeps it: data["ca.crt"] only (public CA certificates), with kgc's verdict. */
static void emit_configmap(struct ectx *e, json_object *root, const struct kgc_api_configmap *m)
{
    if (m->has_ca_crt) {
        json_object *data = new_obj(e);
        if (data) {
            add_str(e, data, "ca.crt", m->ca_valid ? m->ca_crt : "<not kept>");
            add(e, root, "data", data);
        }
    }
    add(e, root, "kgcCAValid", json_object_new_boolean(m->ca_valid));
    add_str(e, root, "kgcCAProblem", m->ca_problem);
}

static void emit_backendtlspolicy(struct ectx *e, json_object *root,
                                  const struct kgc_api_backendtlspolicy *p)
{
    json_object *spec = new_obj(e);
    if (spec) {
        json_object *ts = chk(e, json_object_new_array());
        for (uint32_t i = 0; ts && i < p->n_target_refs; i++) {
            json_object *o = new_obj(e);
            if (!o)
                break;
            add_str(e, o, "group", p->target_refs[i].group);
            add_str(e, o, "kind", p->target_refs[i].kind);
            add_str(e, o, "name", p->target_refs[i].name);
            add_str(e, o, "sectionName", p->target_refs[i].section_name);
            push(e, ts, o);
        }
        add_nonempty(e, spec, "targetRefs", ts);
        json_object *v = new_obj(e);
        if (v) {
            add_nonempty(e, v, "caCertificateRefs",
                         object_refs(e, p->ca_certificate_refs, p->n_ca_certificate_refs));
            add_str(e, v, "wellKnownCACertificates", p->well_known_ca_certificates);
            add_str(e, v, "hostname", p->hostname);
            json_object *sa = chk(e, json_object_new_array());
            for (uint32_t i = 0; sa && i < p->n_subject_alt_names; i++) {
                json_object *o = new_obj(e);
                if (!o)
                    break;
                add_str(e, o, "type", p->subject_alt_names[i].type);
                add_str(e, o, "hostname", p->subject_alt_names[i].hostname);
                add_str(e, o, "uri", p->subject_alt_names[i].uri);
                push(e, sa, o);
            }
            add_nonempty(e, v, "subjectAltNames", sa);
            add(e, spec, "validation", v);
        }
        add_nonempty(e, spec, "options", kv_map(e, p->options, p->n_options));
    }
    add_nonempty(e, root, "spec", spec);
    json_object *status = new_obj(e);
    if (status) {
        json_object *as = chk(e, json_object_new_array());
        for (uint32_t i = 0; as && i < p->n_ancestors; i++) {
            const struct kgc_api_policy_ancestor_status *a = &p->ancestors[i];
            json_object *o = new_obj(e);
            if (!o)
                break;
            add(e, o, "ancestorRef", parent_ref(e, &a->ancestor_ref));
            add_str(e, o, "controllerName", a->controller_name);
            add(e, o, "conditions", conditions(e, a->conditions, a->n_conditions));
            push(e, as, o);
        }
        add_nonempty(e, status, "ancestors", as);
    }
    add_nonempty(e, root, "status", status);
}

static void emit_listenerset(struct ectx *e, json_object *root, const struct kgc_api_listenerset *s)
{
    json_object *spec = new_obj(e);
    if (spec) {
        json_object *pr = new_obj(e);
        if (pr) {
            add_str(e, pr, "group", s->parent_ref.group);
            add_str(e, pr, "kind", s->parent_ref.kind);
            add_str(e, pr, "namespace", s->parent_ref.namespace);
            add_str(e, pr, "name", s->parent_ref.name);
            add(e, spec, "parentRef", pr);
        }
        json_object *ls = chk(e, json_object_new_array());
        for (uint32_t i = 0; ls && i < s->n_listeners; i++)
            push(e, ls, listener(e, &s->listeners[i]));
        add_nonempty(e, spec, "listeners", ls);
    }
    add_nonempty(e, root, "spec", spec);
    json_object *status = new_obj(e);
    if (status) {
        add_nonempty(e, status, "conditions", conditions(e, s->conditions, s->n_conditions));
        add_nonempty(e, status, "listeners",
                     listener_statuses(e, s->listener_status, s->n_listener_status));
    }
    add_nonempty(e, root, "status", status);
}

json_object *kgc_api_to_json(const struct kgc_api_obj *obj)
{
    const struct kgc_api_kind_info *info = obj ? kgc_api_kind_info(obj->kind) : NULL;
    if (!info)
        return NULL;
    struct ectx e = {0};
    json_object *root = new_obj(&e);
    if (!root)
        return NULL;
    add_str(&e, root, "apiVersion", info->api_version);
    add_str(&e, root, "kind", info->name);
    add(&e, root, "metadata", metadata(&e, &obj->meta));
    switch (obj->kind) {
    case KGC_API_GATEWAYCLASS:
        emit_gatewayclass(&e, root, kgc_api_as_gatewayclass(obj));
        break;
    case KGC_API_GATEWAY:
        emit_gateway(&e, root, kgc_api_as_gateway(obj));
        break;
    case KGC_API_HTTPROUTE:
    case KGC_API_GRPCROUTE:
        emit_route(&e, root, kgc_api_as_route(obj));
        break;
    case KGC_API_REFERENCEGRANT:
        emit_referencegrant(&e, root, kgc_api_as_referencegrant(obj));
        break;
    case KGC_API_SERVICE:
        emit_service(&e, root, kgc_api_as_service(obj));
        break;
    case KGC_API_ENDPOINTSLICE:
        emit_endpointslice(&e, root, kgc_api_as_endpointslice(obj));
        break;
    case KGC_API_SECRET:
        emit_secret(&e, root, kgc_api_as_secret(obj));
        break;
    case KGC_API_NAMESPACE:
        emit_namespace(&e, root, kgc_api_as_namespace(obj));
        break;
    case KGC_API_KONGPLUGIN:
    case KGC_API_KONGCLUSTERPLUGIN:
        emit_kongplugin(&e, root, kgc_api_as_kongplugin(obj));
        break;
    case KGC_API_CONFIGMAP:
        emit_configmap(&e, root, kgc_api_as_configmap(obj));
        break;
    case KGC_API_BACKENDTLSPOLICY:
        emit_backendtlspolicy(&e, root, kgc_api_as_backendtlspolicy(obj));
        break;
    case KGC_API_LISTENERSET:
        emit_listenerset(&e, root, kgc_api_as_listenerset(obj));
        break;
    case KGC_API_TLSROUTE:
    case KGC_API_TCPROUTE:
    case KGC_API_UDPROUTE:
        emit_route(&e, root, kgc_api_as_route(obj));
        break;
    default:
        break;
    }
    if (obj->n_problems)
        add(&e, root, "kgcProblems", str_array(&e, obj->problems, obj->n_problems));
    if (e.oom) {
        json_object_put(root);
        return NULL;
    }
    return root;
}

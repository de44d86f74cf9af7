/* Per-kind parsers: a tape (kgc/jsonscan.h) → typed struct in the arena. Every function here runs
 * twice per object (measure, then fill) and must allocate the same sizes in the same order both
 * times. */
#include "api_internal.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

/* Allocates an array of n elements of *ptr's type; NULL when n is 0. */
#define ALLOC_ARRAY(c, ptr, n) ((n) ? api_alloc((c)->a, (size_t)(n) * sizeof(*(ptr))) : NULL)

/* Element i of a list (el) when it is an object; otherwise records a problem and returns 0. */
static api_jv item_obj(struct api_pctx *c, api_jv el, const char *field, size_t i)
{
    if (api_type(c, el) == KGC_JSONSCAN_OBJECT)
        return el;
    api_problem(c, field, "item %zu must be an object", i);
    return 0;
}

static size_t arr_len(struct api_pctx *c, api_jv arr)
{
    return api_count(c, arr);
}

/* --- shared pieces ---------------------------------------------------------------------------- */

static void parse_meta(struct api_pctx *c, api_jv j, struct kgc_api_obj *o, bool namespaced)
{
    /* kgc_api_parse checked these before the passes. */
    api_jv m = api_field(c, j, "metadata");
    size_t name_len = 0, ns_len = 0;
    const char *name = api_str(c, api_field(c, m, "name"), &name_len);
    const char *ns = namespaced ? api_str(c, api_field(c, m, "namespace"), &ns_len) : NULL;
    size_t saved = api_path_push(c, "metadata");
    if (namespaced) {
        char *key = api_alloc_chars(c->a, ns_len + 1 + name_len + 1);
        memcpy(key, ns, ns_len);
        key[ns_len] = '/';
        memcpy(key + ns_len + 1, name, name_len);
        key[ns_len + 1 + name_len] = '\0';
        o->meta.key = key;
        o->meta.name = key + ns_len + 1; /* the name is the key's tail: no second copy */
        if (c->ns_shared) {
            o->meta.namespace = c->ns_shared;
            api_remember(c->a, c->ns_shared, ns_len); /* other namespace fields share it too */
        } else {
            o->meta.namespace = api_strndup(c->a, ns, ns_len);
        }
    } else {
        o->meta.key = api_strndup(c->a, name, name_len);
        o->meta.name = o->meta.key;
    }
    o->meta.uid = api_get_str(c, m, "uid");
    o->meta.resource_version = api_get_str(c, m, "resourceVersion");
    o->meta.creation_timestamp = api_get_str(c, m, "creationTimestamp");
    o->meta.deletion_timestamp = api_get_str(c, m, "deletionTimestamp");
    o->meta.generation = api_get_int(c, m, "generation", 0, INT64_MAX, 0);
    o->meta.labels = api_get_kv_map(c, m, "labels", &o->meta.n_labels, NULL);
    o->meta.annotations = api_get_kv_map(c, m, "annotations", &o->meta.n_annotations, LAST_APPLIED);
    api_path_pop(c, saved);
}

static const struct kgc_api_condition *parse_conditions(struct api_pctx *c, api_jv parent,
                                                        const char *field, uint32_t *n)
{
    *n = 0;
    api_jv arr = api_get_arr(c, parent, field);
    size_t len = arr_len(c, arr);
    struct kgc_api_condition *out = ALLOC_ARRAY(c, out, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, field, i);
        if (!it)
            continue;
        size_t saved = api_path_push(c, "%s[%u]", field, i);
        struct kgc_api_condition *k = &out[(*n)++];
        k->type = api_get_str(c, it, "type");
        k->status = api_get_str(c, it, "status");
        k->reason = api_get_str(c, it, "reason");
        k->message = api_get_str(c, it, "message");
        k->last_transition_time = api_get_str(c, it, "lastTransitionTime");
        k->observed_generation = api_get_int(c, it, "observedGeneration", 0, INT64_MAX, 0);
        if (k->status && strcmp(k->status, "True") != 0 && strcmp(k->status, "False") != 0 &&
            strcmp(k->status, "Unknown") != 0)
            api_problem(c, "status", "must be True, False or Unknown");
        api_path_pop(c, saved);
    }
    return out;
}

static void parse_object_ref(struct api_pctx *c, api_jv o, struct kgc_api_object_ref *r)
{
    r->group = api_get_str(c, o, "group");
    r->kind = api_get_str(c, o, "kind");
    r->name = api_get_str(c, o, "name");
    r->namespace = api_get_str(c, o, "namespace");
}

static const struct kgc_api_object_ref *parse_object_ref_ptr(struct api_pctx *c, api_jv parent,
                                                             const char *field)
{
    api_jv o = api_get_obj(c, parent, field);
    if (!o)
        return NULL;
    struct kgc_api_object_ref *r = api_alloc(c->a, sizeof(*r));
    size_t saved = api_path_push(c, "%s", field);
    parse_object_ref(c, o, r);
    api_path_pop(c, saved);
    return r;
}

static const struct kgc_api_object_ref *parse_object_refs(struct api_pctx *c, api_jv parent,
                                                          const char *field, uint32_t *n)
{
    *n = 0;
    api_jv arr = api_get_arr(c, parent, field);
    size_t len = arr_len(c, arr);
    struct kgc_api_object_ref *out = ALLOC_ARRAY(c, out, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, field, i);
        if (!it)
            continue;
        size_t saved = api_path_push(c, "%s[%u]", field, i);
        parse_object_ref(c, it, &out[(*n)++]);
        api_path_pop(c, saved);
    }
    return out;
}

static const struct kgc_api_group_kind *parse_group_kinds(struct api_pctx *c, api_jv parent,
                                                          const char *field, uint32_t *n)
{
    *n = 0;
    api_jv arr = api_get_arr(c, parent, field);
    size_t len = arr_len(c, arr);
    struct kgc_api_group_kind *out = ALLOC_ARRAY(c, out, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, field, i);
        if (!it)
            continue;
        size_t saved = api_path_push(c, "%s[%u]", field, i);
        out[*n].group = api_get_str(c, it, "group");
        out[*n].kind = api_get_str(c, it, "kind");
        (*n)++;
        api_path_pop(c, saved);
    }
    return out;
}

static const struct kgc_api_label_selector *parse_selector(struct api_pctx *c, api_jv parent,
                                                           const char *field)
{
    api_jv o = api_get_obj(c, parent, field);
    if (!o)
        return NULL;
    struct kgc_api_label_selector *s = api_alloc(c->a, sizeof(*s));
    size_t saved = api_path_push(c, "%s", field);
    s->match_labels = api_get_kv_map(c, o, "matchLabels", &s->n_match_labels, NULL);
    api_jv arr = api_get_arr(c, o, "matchExpressions");
    size_t len = arr_len(c, arr);
    struct kgc_api_selector_requirement *reqs = ALLOC_ARRAY(c, reqs, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, "matchExpressions", i);
        if (!it)
            continue;
        size_t s2 = api_path_push(c, ".matchExpressions[%u]", i);
        struct kgc_api_selector_requirement *r = &reqs[s->n_match_expressions++];
        r->key = api_get_str(c, it, "key");
        r->operator= api_get_str(c, it, "operator");
        r->values = api_get_str_array(c, it, "values", &r->n_values);
        api_path_pop(c, s2);
    }
    s->match_expressions = reqs;
    api_path_pop(c, saved);
    return s;
}

static const struct kgc_api_address *parse_addresses(struct api_pctx *c, api_jv parent,
                                                     const char *field, uint32_t *n)
{
    *n = 0;
    api_jv arr = api_get_arr(c, parent, field);
    size_t len = arr_len(c, arr);
    struct kgc_api_address *out = ALLOC_ARRAY(c, out, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, field, i);
        if (!it)
            continue;
        size_t saved = api_path_push(c, "%s[%u]", field, i);
        out[*n].type = api_get_str(c, it, "type");
        out[*n].value = api_get_str(c, it, "value");
        (*n)++;
        api_path_pop(c, saved);
    }
    return out;
}

/* --- GatewayClass ----------------------------------------------------------------------------- */

static struct kgc_api_obj *parse_gatewayclass(struct api_pctx *c, api_jv j)
{
    struct kgc_api_gatewayclass *g = api_alloc(c->a, sizeof(*g));
    parse_meta(c, j, &g->obj, false);
    api_jv spec = api_get_obj(c, j, "spec");
    size_t saved = api_path_push(c, "spec");
    g->controller_name = api_get_str(c, spec, "controllerName");
    g->parameters_ref = parse_object_ref_ptr(c, spec, "parametersRef");
    api_path_pop(c, saved);
    api_jv status = api_get_obj(c, j, "status");
    saved = api_path_push(c, "status");
    g->conditions = parse_conditions(c, status, "conditions", &g->n_conditions);
    api_path_pop(c, saved);
    return &g->obj;
}

/* --- Gateway ---------------------------------------------------------------------------------- */

static const struct kgc_api_listener_tls *parse_listener_tls(struct api_pctx *c, api_jv l)
{
    api_jv o = api_get_obj(c, l, "tls");
    if (!o)
        return NULL;
    struct kgc_api_listener_tls *t = api_alloc(c->a, sizeof(*t));
    size_t saved = api_path_push(c, ".tls");
    t->mode = api_get_str(c, o, "mode");
    t->certificate_refs = parse_object_refs(c, o, "certificateRefs", &t->n_certificate_refs);
    t->options = api_get_kv_map(c, o, "options", &t->n_options, NULL);
    api_path_pop(c, saved);
    return t;
}

static const struct kgc_api_allowed_routes *parse_allowed_routes(struct api_pctx *c, api_jv l)
{
    api_jv o = api_get_obj(c, l, "allowedRoutes");
    if (!o)
        return NULL;
    struct kgc_api_allowed_routes *r = api_alloc(c->a, sizeof(*r));
    size_t saved = api_path_push(c, ".allowedRoutes");
    api_jv ns = api_get_obj(c, o, "namespaces");
    if (ns) {
        size_t s2 = api_path_push(c, ".namespaces");
        r->namespaces_from = api_get_str(c, ns, "from");
        r->selector = parse_selector(c, ns, "selector");
        api_path_pop(c, s2);
    }
    r->kinds = parse_group_kinds(c, o, "kinds", &r->n_kinds);
    api_path_pop(c, saved);
    return r;
}

static void parse_listener_entry(struct api_pctx *c, api_jv it, struct kgc_api_listener *l)
{
    l->name = api_get_str(c, it, "name");
    l->hostname = api_get_str(c, it, "hostname");
    l->port = (int32_t)api_get_int(c, it, "port", 1, 65535, 0);
    l->protocol = api_get_str(c, it, "protocol");
    l->tls = parse_listener_tls(c, it);
    l->allowed_routes = parse_allowed_routes(c, it);
}

static const struct kgc_api_listener_status *parse_listener_status(struct api_pctx *c,
                                                                   api_jv status, uint32_t *n)
{
    api_jv arr = api_get_arr(c, status, "listeners");
    size_t len = arr_len(c, arr);
    struct kgc_api_listener_status *st = ALLOC_ARRAY(c, st, len);
    *n = 0;
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, "listeners", i);
        if (!it)
            continue;
        size_t s2 = api_path_push(c, ".listeners[%u]", i);
        struct kgc_api_listener_status *l = &st[(*n)++];
        l->name = api_get_str(c, it, "name");
        l->supported_kinds = parse_group_kinds(c, it, "supportedKinds", &l->n_supported_kinds);
        l->attached_routes = (int32_t)api_get_int(c, it, "attachedRoutes", 0, INT32_MAX, 0);
        l->conditions = parse_conditions(c, it, "conditions", &l->n_conditions);
        api_path_pop(c, s2);
    }
    return st;
}

static struct kgc_api_obj *parse_gateway(struct api_pctx *c, api_jv j)
{
    struct kgc_api_gateway *g = api_alloc(c->a, sizeof(*g));
    parse_meta(c, j, &g->obj, true);
    api_jv spec = api_get_obj(c, j, "spec");
    size_t saved = api_path_push(c, "spec");
    g->gateway_class_name = api_get_str(c, spec, "gatewayClassName");
    api_jv arr = api_get_arr(c, spec, "listeners");
    size_t len = arr_len(c, arr);
    struct kgc_api_listener *ls = ALLOC_ARRAY(c, ls, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, "listeners", i);
        if (!it)
            continue;
        size_t s2 = api_path_push(c, ".listeners[%u]", i);
        parse_listener_entry(c, it, &ls[g->n_listeners++]);
        api_path_pop(c, s2);
    }
    g->listeners = ls;
    g->addresses = parse_addresses(c, spec, "addresses", &g->n_addresses);
    api_jv tls = api_get_obj(c, spec, "tls");
    api_jv backend = tls ? api_get_obj(c, tls, "backend") : 0;
    if (backend) {
        size_t s2 = api_path_push(c, ".tls.backend");
        g->backend_client_certificate_ref =
            parse_object_ref_ptr(c, backend, "clientCertificateRef");
        api_path_pop(c, s2);
    }
    api_jv infra = api_get_obj(c, spec, "infrastructure");
    if (infra) {
        size_t s2 = api_path_push(c, ".infrastructure");
        g->infrastructure_parameters_ref = parse_object_ref_ptr(c, infra, "parametersRef");
        api_path_pop(c, s2);
    }
    api_jv al = api_get_obj(c, spec, "allowedListeners");
    api_jv alns = al ? api_get_obj(c, al, "namespaces") : 0;
    if (alns) {
        size_t s2 = api_path_push(c, ".allowedListeners.namespaces");
        struct kgc_api_allowed_listeners *a = api_alloc(c->a, sizeof(*a));
        a->namespaces_from = api_get_str(c, alns, "from");
        a->selector = parse_selector(c, alns, "selector");
        g->allowed_listeners = a;
        api_path_pop(c, s2);
    }
    api_path_pop(c, saved);

    api_jv status = api_get_obj(c, j, "status");
    saved = api_path_push(c, "status");
    g->conditions = parse_conditions(c, status, "conditions", &g->n_conditions);
    g->status_addresses = parse_addresses(c, status, "addresses", &g->n_status_addresses);
    g->listener_status = parse_listener_status(c, status, &g->n_listener_status);
    g->attached_listener_sets =
        (int32_t)api_get_int(c, status, "attachedListenerSets", 0, INT32_MAX, -1);
    api_path_pop(c, saved);
    return &g->obj;
}

/* --- ListenerSet ------------------------------------------------------------------------------ */

static struct kgc_api_obj *parse_listenerset(struct api_pctx *c, api_jv j)
{
    struct kgc_api_listenerset *s = api_alloc(c->a, sizeof(*s));
    parse_meta(c, j, &s->obj, true);
    api_jv spec = api_get_obj(c, j, "spec");
    size_t saved = api_path_push(c, "spec");
    api_jv pr = api_get_obj(c, spec, "parentRef");
    if (pr) {
        size_t s2 = api_path_push(c, ".parentRef");
        s->parent_ref.group = api_get_str(c, pr, "group");
        s->parent_ref.kind = api_get_str(c, pr, "kind");
        s->parent_ref.namespace = api_get_str(c, pr, "namespace");
        s->parent_ref.name = api_get_str(c, pr, "name");
        api_path_pop(c, s2);
    }
    api_jv arr = api_get_arr(c, spec, "listeners");
    size_t len = arr_len(c, arr);
    struct kgc_api_listener *ls = ALLOC_ARRAY(c, ls, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, "listeners", i);
        if (!it)
            continue;
        size_t s2 = api_path_push(c, ".listeners[%u]", i);
        parse_listener_entry(c, it, &ls[s->n_listeners++]);
        api_path_pop(c, s2);
    }
    s->listeners = ls;
    api_path_pop(c, saved);
    api_jv status = api_get_obj(c, j, "status");
    saved = api_path_push(c, "status");
    s->conditions = parse_conditions(c, status, "conditions", &s->n_conditions);
    s->listener_status = parse_listener_status(c, status, &s->n_listener_status);
    api_path_pop(c, saved);
    return &s->obj;
}

/* --- HTTPRoute -------------------------------------------------------------------------------- */

static void parse_parent_ref(struct api_pctx *c, api_jv o, struct kgc_api_parent_ref *p)
{
    p->group = api_get_str(c, o, "group");
    p->kind = api_get_str(c, o, "kind");
    p->namespace = api_get_str(c, o, "namespace");
    p->name = api_get_str(c, o, "name");
    p->section_name = api_get_str(c, o, "sectionName");
    p->port = (int32_t)api_get_int(c, o, "port", 1, 65535, 0);
}

static const struct kgc_api_http_value_match *parse_value_matches(struct api_pctx *c, api_jv parent,
                                                                  const char *field, uint32_t *n)
{
    *n = 0;
    api_jv arr = api_get_arr(c, parent, field);
    size_t len = arr_len(c, arr);
    struct kgc_api_http_value_match *out = ALLOC_ARRAY(c, out, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, field, i);
        if (!it)
            continue;
        size_t saved = api_path_push(c, ".%s[%u]", field, i);
        out[*n].type = api_get_str(c, it, "type");
        out[*n].name = api_get_str(c, it, "name");
        out[*n].value = api_get_str(c, it, "value");
        (*n)++;
        api_path_pop(c, saved);
    }
    return out;
}

static const struct kgc_api_kv *parse_headers(struct api_pctx *c, api_jv parent, const char *field,
                                              uint32_t *n)
{
    *n = 0;
    api_jv arr = api_get_arr(c, parent, field);
    size_t len = arr_len(c, arr);
    struct kgc_api_kv *out = ALLOC_ARRAY(c, out, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, field, i);
        if (!it)
            continue;
        size_t saved = api_path_push(c, ".%s[%u]", field, i);
        out[*n].key = api_get_str(c, it, "name");
        out[*n].value = api_get_str(c, it, "value");
        (*n)++;
        api_path_pop(c, saved);
    }
    return out;
}

static const struct kgc_api_http_header_modifier *parse_header_modifier(struct api_pctx *c,
                                                                        api_jv f, const char *field)
{
    api_jv o = api_get_obj(c, f, field);
    if (!o)
        return NULL;
    struct kgc_api_http_header_modifier *m = api_alloc(c->a, sizeof(*m));
    size_t saved = api_path_push(c, ".%s", field);
    m->set = parse_headers(c, o, "set", &m->n_set);
    m->add = parse_headers(c, o, "add", &m->n_add);
    m->remove = api_get_str_array(c, o, "remove", &m->n_remove);
    api_path_pop(c, saved);
    return m;
}

static const struct kgc_api_http_path_modifier *parse_path_modifier(struct api_pctx *c,
                                                                    api_jv parent)
{
    api_jv o = api_get_obj(c, parent, "path");
    if (!o)
        return NULL;
    struct kgc_api_http_path_modifier *p = api_alloc(c->a, sizeof(*p));
    size_t saved = api_path_push(c, ".path");
    p->type = api_get_str(c, o, "type");
    p->replace_full_path = api_get_str(c, o, "replaceFullPath");
    p->replace_prefix_match = api_get_str(c, o, "replacePrefixMatch");
    api_path_pop(c, saved);
    return p;
}

static const struct kgc_api_http_filter *parse_filters(struct api_pctx *c, api_jv parent,
                                                       uint32_t *n)
{
    *n = 0;
    api_jv arr = api_get_arr(c, parent, "filters");
    size_t len = arr_len(c, arr);
    struct kgc_api_http_filter *out = ALLOC_ARRAY(c, out, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, "filters", i);
        if (!it)
            continue;
        size_t saved = api_path_push(c, ".filters[%u]", i);
        struct kgc_api_http_filter *f = &out[(*n)++];
        f->type = api_get_str(c, it, "type");
        f->request_header_modifier = parse_header_modifier(c, it, "requestHeaderModifier");
        f->response_header_modifier = parse_header_modifier(c, it, "responseHeaderModifier");
        api_jv rr = api_get_obj(c, it, "requestRedirect");
        if (rr) {
            struct kgc_api_http_redirect *r = api_alloc(c->a, sizeof(*r));
            size_t s2 = api_path_push(c, ".requestRedirect");
            r->scheme = api_get_str(c, rr, "scheme");
            r->hostname = api_get_str(c, rr, "hostname");
            r->path = parse_path_modifier(c, rr);
            r->port = (int32_t)api_get_int(c, rr, "port", 1, 65535, 0);
            r->status_code = (int32_t)api_get_int(c, rr, "statusCode", 100, 599, 0);
            api_path_pop(c, s2);
            f->request_redirect = r;
        }
        api_jv rw = api_get_obj(c, it, "urlRewrite");
        if (rw) {
            struct kgc_api_http_rewrite *r = api_alloc(c->a, sizeof(*r));
            size_t s2 = api_path_push(c, ".urlRewrite");
            r->hostname = api_get_str(c, rw, "hostname");
            r->path = parse_path_modifier(c, rw);
            api_path_pop(c, s2);
            f->url_rewrite = r;
        }
        f->extension_ref = parse_object_ref_ptr(c, it, "extensionRef");
        api_path_pop(c, saved);
    }
    return out;
}

/* A GRPCRoute match's method (GRPCMethodMatch), or NULL when absent. */
static const struct kgc_api_grpc_method_match *parse_grpc_method(struct api_pctx *c, api_jv mo)
{
    api_jv o = api_get_obj(c, mo, "method");
    if (!o)
        return NULL;
    struct kgc_api_grpc_method_match *g = api_alloc(c->a, sizeof(*g));
    size_t saved = api_path_push(c, ".method");
    g->type = api_get_str(c, o, "type");
    g->service = api_get_str(c, o, "service");
    g->method = api_get_str(c, o, "method");
    api_path_pop(c, saved);
    return g;
}

/* An HTTPRoute, or with grpc a GRPCRoute, or with l4 a TLSRoute/TCPRoute/UDPRoute (the same
 * struct: kgc/api.h; an L4 route's rules have backendRefs and a name only, and only TLSRoute has
 * hostnames: gateway-api v1.6.1 apis/v1/tlsroute_types.go, tcproute_types.go, udproute_types.go).
 */
static struct kgc_api_obj *parse_route(struct api_pctx *c, api_jv j, bool grpc, bool l4)
{
    struct kgc_api_httproute *r = api_alloc(c->a, sizeof(*r));
    parse_meta(c, j, &r->obj, true);
    api_jv spec = api_get_obj(c, j, "spec");
    size_t saved = api_path_push(c, "spec");

    api_jv arr = api_get_arr(c, spec, "parentRefs");
    size_t len = arr_len(c, arr);
    struct kgc_api_parent_ref *prefs = ALLOC_ARRAY(c, prefs, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, "parentRefs", i);
        if (!it)
            continue;
        size_t s2 = api_path_push(c, ".parentRefs[%u]", i);
        parse_parent_ref(c, it, &prefs[r->n_parent_refs++]);
        api_path_pop(c, s2);
    }
    r->parent_refs = prefs;
    r->hostnames = api_get_str_array(c, spec, "hostnames", &r->n_hostnames);

    arr = api_get_arr(c, spec, "rules");
    len = arr_len(c, arr);
    struct kgc_api_http_route_rule *rules = ALLOC_ARRAY(c, rules, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, "rules", i);
        if (!it)
            continue;
        size_t s2 = api_path_push(c, ".rules[%u]", i);
        struct kgc_api_http_route_rule *rule = &rules[r->n_rules++];
        rule->name = api_get_str(c, it, "name");

        api_jv marr = l4 ? 0 : api_get_arr(c, it, "matches");
        size_t mlen = arr_len(c, marr);
        struct kgc_api_http_route_match *ms = ALLOC_ARRAY(c, ms, mlen);
        for (uint32_t k = 0, mo_at = api_first(c, marr); k < mlen;
             k++, mo_at = api_next(c, mo_at)) {
            api_jv mo = item_obj(c, mo_at, "matches", k);
            if (!mo)
                continue;
            size_t s3 = api_path_push(c, ".matches[%u]", k);
            struct kgc_api_http_route_match *m = &ms[rule->n_matches++];
            api_jv po = grpc ? 0 : api_get_obj(c, mo, "path");
            if (po) {
                size_t s4 = api_path_push(c, ".path");
                m->path.type = api_get_str(c, po, "type");
                m->path.value = api_get_str(c, po, "value");
                api_path_pop(c, s4);
            }
            m->headers = parse_value_matches(c, mo, "headers", &m->n_headers);
            if (grpc) {
                m->grpc_method = parse_grpc_method(c, mo);
            } else {
                m->query_params = parse_value_matches(c, mo, "queryParams", &m->n_query_params);
                m->method = api_get_str(c, mo, "method");
            }
            api_path_pop(c, s3);
        }
        rule->matches = ms;
        if (!l4)
            rule->filters = parse_filters(c, it, &rule->n_filters);

        api_jv barr = api_get_arr(c, it, "backendRefs");
        size_t blen = arr_len(c, barr);
        struct kgc_api_backend_ref *bs = ALLOC_ARRAY(c, bs, blen);
        for (uint32_t k = 0, bo_at = api_first(c, barr); k < blen;
             k++, bo_at = api_next(c, bo_at)) {
            api_jv bo = item_obj(c, bo_at, "backendRefs", k);
            if (!bo)
                continue;
            size_t s3 = api_path_push(c, ".backendRefs[%u]", k);
            struct kgc_api_backend_ref *b = &bs[rule->n_backend_refs++];
            b->group = api_get_str(c, bo, "group");
            b->kind = api_get_str(c, bo, "kind");
            b->name = api_get_str(c, bo, "name");
            b->namespace = api_get_str(c, bo, "namespace");
            b->port = (int32_t)api_get_int(c, bo, "port", 1, 65535, 0);
            b->weight = (int32_t)api_get_int(c, bo, "weight", 0, 1000000, 1);
            if (!l4)
                b->filters = parse_filters(c, bo, &b->n_filters);
            api_path_pop(c, s3);
        }
        rule->backend_refs = bs;

        api_jv to = grpc || l4 ? 0 : api_get_obj(c, it, "timeouts");
        if (to) {
            size_t s3 = api_path_push(c, ".timeouts");
            rule->timeout_request = api_get_str(c, to, "request");
            rule->timeout_backend_request = api_get_str(c, to, "backendRequest");
            api_path_pop(c, s3);
        }
        api_path_pop(c, s2);
    }
    r->rules = rules;
    api_path_pop(c, saved);

    api_jv status = api_get_obj(c, j, "status");
    saved = api_path_push(c, "status");
    arr = api_get_arr(c, status, "parents");
    len = arr_len(c, arr);
    struct kgc_api_route_parent_status *ps = ALLOC_ARRAY(c, ps, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, "parents", i);
        if (!it)
            continue;
        size_t s2 = api_path_push(c, ".parents[%u]", i);
        struct kgc_api_route_parent_status *p = &ps[r->n_parents++];
        api_jv pr = api_get_obj(c, it, "parentRef");
        if (pr) {
            size_t s3 = api_path_push(c, ".parentRef");
            parse_parent_ref(c, pr, &p->parent_ref);
            api_path_pop(c, s3);
        }
        p->controller_name = api_get_str(c, it, "controllerName");
        p->conditions = parse_conditions(c, it, "conditions", &p->n_conditions);
        api_path_pop(c, s2);
    }
    r->parents = ps;
    api_path_pop(c, saved);
    return &r->obj;
}

/* --- ReferenceGrant --------------------------------------------------------------------------- */

static struct kgc_api_obj *parse_referencegrant(struct api_pctx *c, api_jv j)
{
    struct kgc_api_referencegrant *g = api_alloc(c->a, sizeof(*g));
    parse_meta(c, j, &g->obj, true);
    api_jv spec = api_get_obj(c, j, "spec");
    size_t saved = api_path_push(c, "spec");
    g->from = parse_object_refs(c, spec, "from", &g->n_from);
    g->to = parse_object_refs(c, spec, "to", &g->n_to);
    api_path_pop(c, saved);
    return &g->obj;
}

/* --- Service ---------------------------------------------------------------------------------- */

static struct kgc_api_obj *parse_service(struct api_pctx *c, api_jv j)
{
    struct kgc_api_service *s = api_alloc(c->a, sizeof(*s));
    parse_meta(c, j, &s->obj, true);
    api_jv spec = api_get_obj(c, j, "spec");
    size_t saved = api_path_push(c, "spec");
    s->type = api_get_str(c, spec, "type");
    s->cluster_ip = api_get_str(c, spec, "clusterIP");
    s->cluster_ips = api_get_str_array(c, spec, "clusterIPs", &s->n_cluster_ips);
    s->external_name = api_get_str(c, spec, "externalName");
    api_jv arr = api_get_arr(c, spec, "ports");
    size_t len = arr_len(c, arr);
    struct kgc_api_service_port *ports = ALLOC_ARRAY(c, ports, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, "ports", i);
        if (!it)
            continue;
        size_t s2 = api_path_push(c, ".ports[%u]", i);
        struct kgc_api_service_port *p = &ports[s->n_ports++];
        p->name = api_get_str(c, it, "name");
        p->protocol = api_get_str(c, it, "protocol");
        p->app_protocol = api_get_str(c, it, "appProtocol");
        p->port = (int32_t)api_get_int(c, it, "port", 1, 65535, 0);
        p->node_port = (int32_t)api_get_int(c, it, "nodePort", 0, 65535, 0);
        unsigned tp = api_type(c, api_field(c, it, "targetPort"));
        if (tp != KGC_JSONSCAN_NULL) {
            if (tp == KGC_JSONSCAN_STRING)
                p->target_port_name = api_get_str(c, it, "targetPort");
            else
                p->target_port = (int32_t)api_get_int(c, it, "targetPort", 1, 65535, 0);
        }
        api_path_pop(c, s2);
    }
    s->ports = ports;
    api_path_pop(c, saved);

    api_jv status = api_get_obj(c, j, "status");
    api_jv lb = api_get_obj(c, status, "loadBalancer");
    saved = api_path_push(c, "status.loadBalancer");
    arr = api_get_arr(c, lb, "ingress");
    len = arr_len(c, arr);
    struct kgc_api_lb_ingress *ing = ALLOC_ARRAY(c, ing, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, "ingress", i);
        if (!it)
            continue;
        size_t s2 = api_path_push(c, ".ingress[%u]", i);
        ing[s->n_lb_ingress].ip = api_get_str(c, it, "ip");
        ing[s->n_lb_ingress].hostname = api_get_str(c, it, "hostname");
        s->n_lb_ingress++;
        api_path_pop(c, s2);
    }
    s->lb_ingress = ing;
    api_path_pop(c, saved);
    return &s->obj;
}

/* --- EndpointSlice ---------------------------------------------------------------------------- */

static struct kgc_api_obj *parse_endpointslice(struct api_pctx *c, api_jv j)
{
    struct kgc_api_endpointslice *e = api_alloc(c->a, sizeof(*e));
    parse_meta(c, j, &e->obj, true);
    for (uint32_t i = 0; i < e->obj.meta.n_labels; i++) {
        if (strcmp(e->obj.meta.labels[i].key, "kubernetes.io/service-name") == 0)
            e->service_name = e->obj.meta.labels[i].value;
        else if (strcmp(e->obj.meta.labels[i].key, "endpointslice.kubernetes.io/managed-by") == 0)
            e->managed_by = e->obj.meta.labels[i].value;
    }
    /* The EndpointSlice controller sets one controller reference to the Service (apiVersion v1,
     * kind Service, controller: true): k8s.io/endpointslice utils.go newEndpointSlice
     * (metav1.NewControllerRef(service, {Version: "v1", Kind: "Service"})). */
    api_jv meta = api_get_obj(c, j, "metadata");
    api_jv owners = meta ? api_get_arr(c, meta, "ownerReferences") : 0;
    size_t n_owners = arr_len(c, owners);
    api_jv ow = api_first(c, owners);
    for (uint32_t i = 0; i < n_owners && !e->owner_service_name; i++, ow = api_next(c, ow)) {
        if (api_type(c, ow) != KGC_JSONSCAN_OBJECT)
            continue;
        size_t kl = 0, vl = 0;
        const char *kind = api_str(c, api_field(c, ow, "kind"), &kl);
        const char *ver = api_str(c, api_field(c, ow, "apiVersion"), &vl);
        if (!kind || !ver || api_type(c, api_field(c, ow, "controller")) != KGC_JSONSCAN_TRUE ||
            kl != strlen("Service") || memcmp(kind, "Service", kl) != 0 || vl != 2 ||
            memcmp(ver, "v1", 2) != 0)
            continue;
        size_t s2 = api_path_push(c, "metadata.ownerReferences[%u]", i);
        e->owner_service_name = api_get_str(c, ow, "name");
        e->owner_service_uid = api_get_str(c, ow, "uid");
        api_path_pop(c, s2);
    }
    e->address_type = api_get_str(c, j, "addressType");
    api_jv arr = api_get_arr(c, j, "ports");
    size_t len = arr_len(c, arr);
    struct kgc_api_endpoint_port *ports = ALLOC_ARRAY(c, ports, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, "ports", i);
        if (!it)
            continue;
        size_t s2 = api_path_push(c, "ports[%u]", i);
        struct kgc_api_endpoint_port *p = &ports[e->n_ports++];
        p->name = api_get_str(c, it, "name");
        p->protocol = api_get_str(c, it, "protocol");
        p->app_protocol = api_get_str(c, it, "appProtocol");
        p->port = (int32_t)api_get_int(c, it, "port", 1, 65535, 0);
        api_path_pop(c, s2);
    }
    e->ports = ports;
    arr = api_get_arr(c, j, "endpoints");
    len = arr_len(c, arr);
    struct kgc_api_endpoint *eps = ALLOC_ARRAY(c, eps, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, "endpoints", i);
        if (!it)
            continue;
        size_t s2 = api_path_push(c, "endpoints[%u]", i);
        struct kgc_api_endpoint *ep = &eps[e->n_endpoints++];
        ep->addresses = api_get_str_array(c, it, "addresses", &ep->n_addresses);
        ep->node_name = api_get_str(c, it, "nodeName");
        api_jv cond = api_get_obj(c, it, "conditions");
        size_t s3 = api_path_push(c, ".conditions");
        ep->ready = api_get_bool(c, cond, "ready");
        ep->serving = api_get_bool(c, cond, "serving");
        ep->terminating = api_get_bool(c, cond, "terminating");
        api_path_pop(c, s3);
        api_path_pop(c, s2);
    }
    e->endpoints = eps;
    return &e->obj;
}

/* --- Secret ----------------------------------------------------------------------------------- */

static struct kgc_api_obj *parse_secret(struct api_pctx *c, api_jv j,
                                        const struct api_secret_prep *prep)
{
    struct kgc_api_secret *s = api_alloc(c->a, sizeof(*s));
    parse_meta(c, j, &s->obj, true);
    s->type = api_get_str(c, j, "type");
    s->has_tls_crt = prep->has_crt;
    s->has_tls_key = prep->has_key;
    s->tls_valid = prep->valid;
    if (prep->valid) {
        s->tls_crt_pem = api_strndup(c->a, (const char *)prep->crt, prep->crt_len);
        s->tls_key_pem = api_strndup(c->a, (const char *)prep->key, prep->key_len);
    } else {
        s->tls_problem = api_strdup(c->a, prep->problem);
    }
    return &s->obj;
}

/* --- Namespace -------------------------------------------------------------------------------- */

static struct kgc_api_obj *parse_namespace(struct api_pctx *c, api_jv j)
{
    struct kgc_api_namespace *n = api_alloc(c->a, sizeof(*n));
    parse_meta(c, j, &n->obj, false);
    api_jv status = api_get_obj(c, j, "status");
    size_t saved = api_path_push(c, "status");
    n->phase = api_get_str(c, status, "phase");
    api_path_pop(c, saved);
    return &n->obj;
}

/* --- KongPlugin, KongClusterPlugin ----------------------------------------------------------- */

/* parent[field] as compact JSON text when it is an object (else a problem); *invalid when it was
 * present but unusable. The text json-c prints is the same in both passes. */
static const char *json_text_field(struct api_pctx *c, api_jv parent, const char *field, size_t max,
                                   bool *invalid)
{
    api_jv v = api_field(c, parent, field);
    unsigned ty = api_type(c, v);
    if (ty == KGC_JSONSCAN_NULL)
        return NULL;
    if (ty != KGC_JSONSCAN_OBJECT) {
        api_problem(c, field, "must be an object");
        *invalid = true;
        return NULL;
    }
    /* json-c prints the text (compact, its escapes) from the value's span: the same in both
     * passes, and the same as the configuration has always carried */
    static const struct kgc_jsonscan_limits deep = {.max_depth = 1024};
    size_t span = 0;
    const char *text = api_text(c, v, &span);
    json_object *o = NULL;
    (void)kgc_jsonscan_parse(text, span, &deep, field, &o, NULL);
    size_t len = 0;
    const char *t = o ? json_object_to_json_string_length(
                            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len)
                      : NULL;
    const char *out = NULL;
    if (!t) {
        *invalid = true;
    } else if (len > max) {
        api_problem(c, field, "is %zu bytes of JSON, more than the %zu kgc takes", len, max);
        *invalid = true;
    } else {
        out = api_strndup(c->a, t, len);
    }
    json_object_put(o);
    return out;
}

static const struct kgc_api_secret_key_ref *parse_secret_key_ref(struct api_pctx *c, api_jv parent,
                                                                 const char *field, bool with_ns)
{
    api_jv o = api_get_obj(c, parent, field);
    if (!o)
        return NULL;
    size_t saved = api_path_push(c, "%s", field);
    api_jv ref = api_get_obj(c, o, "secretKeyRef");
    struct kgc_api_secret_key_ref *r = api_alloc(c->a, sizeof(*r));
    if (ref) {
        size_t s2 = api_path_push(c, ".secretKeyRef");
        if (with_ns)
            r->namespace = api_get_str(c, ref, "namespace");
        r->name = api_get_str(c, ref, "name");
        r->key = api_get_str(c, ref, "key");
        api_path_pop(c, s2);
    }
    api_path_pop(c, saved);
    return r;
}

static struct kgc_api_obj *parse_kongplugin(struct api_pctx *c, api_jv j, bool cluster)
{
    struct kgc_api_kongplugin *p = api_alloc(c->a, sizeof(*p));
    parse_meta(c, j, &p->obj, !cluster);
    p->plugin = api_get_str(c, j, "plugin");
    bool invalid = false;
    p->config = json_text_field(c, j, "config", KGC_API_KONGPLUGIN_CONFIG_MAX, &invalid);
    p->config_invalid = invalid;
    p->config_from = parse_secret_key_ref(c, j, "configFrom", cluster);
    p->n_config_patches = (uint32_t)arr_len(c, api_get_arr(c, j, "configPatches"));
    p->disabled = api_get_bool(c, j, "disabled") == 1;
    p->protocols = api_get_str_array(c, j, "protocols", &p->n_protocols);
    bool bad_ordering = false;
    p->ordering = json_text_field(c, j, "ordering", 4096, &bad_ordering);
    p->instance_name = api_get_str(c, j, "instance_name");
    p->consumer_ref = api_get_str(c, j, "consumerRef");
    p->run_on = api_get_str(c, j, "run_on");
    const char *global = kgc_api_label(&p->obj, "global");
    p->global = global && strcmp(global, "true") == 0;
    api_jv status = api_get_obj(c, j, "status");
    size_t saved = api_path_push(c, "status");
    p->conditions = parse_conditions(c, status, "conditions", &p->n_conditions);
    api_path_pop(c, saved);
    return &p->obj;
}

/* --- ConfigMap ------------------------------------------------------------------------------- */

static struct kgc_api_obj *parse_configmap(struct api_pctx *c, api_jv j)
{
    struct kgc_api_configmap *m = api_alloc(c->a, sizeof(*m));
    parse_meta(c, j, &m->obj, true);
    api_jv data = api_field(c, j, "data");
    api_jv ca = api_type(c, data) == KGC_JSONSCAN_OBJECT ? api_field(c, data, "ca.crt") : 0;
    if (api_type(c, ca) == KGC_JSONSCAN_NULL)
        return &m->obj; /* everything but data["ca.crt"] is dropped */
    m->has_ca_crt = true;
    size_t len = 0;
    const char *pem = api_str(c, ca, &len);
    if (!pem) {
        m->ca_problem = "data[ca.crt] is not a string";
        api_problem(c, "data[ca.crt]", "must be a string");
        return &m->obj;
    }
    char problem[160];
    if (len > KGC_API_CONFIGMAP_CA_MAX_BYTES) {
        snprintf(problem, sizeof(problem), "ca.crt holds %zu KiB, more than the %u KiB kgc keeps",
                 len / 1024, KGC_API_CONFIGMAP_CA_MAX_BYTES / 1024);
        m->ca_problem = api_strdup(c->a, problem);
        api_problem(c, "data[ca.crt]", "%s", problem);
        return &m->obj;
    }
    if (memchr(pem, '\0', len)) {
        m->ca_problem = "ca.crt holds a NUL byte";
        api_problem(c, "data[ca.crt]", "holds a NUL byte");
        return &m->obj;
    }
    /* checked in both passes (same answer): CA bundles are small and changes rare */
    if (kgc_api_ca_bundle_check(pem, len, problem, sizeof(problem)) == 0) {
        m->ca_problem = api_strdup(c->a, problem);
        api_problem(c, "data[ca.crt]", "%s", problem);
        return &m->obj;
    }
    m->ca_valid = true;
    m->ca_crt = api_strndup(c->a, pem, len);
    return &m->obj;
}

/* --- BackendTLSPolicy ------------------------------------------------------------------------- */

static struct kgc_api_obj *parse_backendtlspolicy(struct api_pctx *c, api_jv j)
{
    struct kgc_api_backendtlspolicy *p = api_alloc(c->a, sizeof(*p));
    parse_meta(c, j, &p->obj, true);
    api_jv spec = api_get_obj(c, j, "spec");
    size_t saved = api_path_push(c, "spec");
    api_jv arr = api_get_arr(c, spec, "targetRefs");
    size_t len = arr_len(c, arr);
    struct kgc_api_policy_target_ref *t = ALLOC_ARRAY(c, t, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, "targetRefs", i);
        if (!it)
            continue;
        size_t s2 = api_path_push(c, ".targetRefs[%u]", i);
        struct kgc_api_policy_target_ref *r = &t[p->n_target_refs++];
        r->group = api_get_str(c, it, "group");
        r->kind = api_get_str(c, it, "kind");
        r->name = api_get_str(c, it, "name");
        r->section_name = api_get_str(c, it, "sectionName");
        api_path_pop(c, s2);
    }
    p->target_refs = t;
    api_jv v = api_get_obj(c, spec, "validation");
    size_t s3 = api_path_push(c, ".validation");
    p->ca_certificate_refs =
        parse_object_refs(c, v, "caCertificateRefs", &p->n_ca_certificate_refs);
    p->well_known_ca_certificates = api_get_str(c, v, "wellKnownCACertificates");
    p->hostname = api_get_str(c, v, "hostname");
    arr = api_get_arr(c, v, "subjectAltNames");
    len = arr_len(c, arr);
    struct kgc_api_subject_alt_name *sans = ALLOC_ARRAY(c, sans, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, "subjectAltNames", i);
        if (!it)
            continue;
        size_t s2 = api_path_push(c, ".subjectAltNames[%u]", i);
        struct kgc_api_subject_alt_name *a = &sans[p->n_subject_alt_names++];
        a->type = api_get_str(c, it, "type");
        a->hostname = api_get_str(c, it, "hostname");
        a->uri = api_get_str(c, it, "uri");
        api_path_pop(c, s2);
    }
    p->subject_alt_names = sans;
    api_path_pop(c, s3);
    p->options = api_get_kv_map(c, spec, "options", &p->n_options, NULL);
    api_path_pop(c, saved);

    api_jv status = api_get_obj(c, j, "status");
    saved = api_path_push(c, "status");
    arr = api_get_arr(c, status, "ancestors");
    len = arr_len(c, arr);
    struct kgc_api_policy_ancestor_status *as = ALLOC_ARRAY(c, as, len);
    for (uint32_t i = 0, it_at = api_first(c, arr); i < len; i++, it_at = api_next(c, it_at)) {
        api_jv it = item_obj(c, it_at, "ancestors", i);
        if (!it)
            continue;
        size_t s2 = api_path_push(c, ".ancestors[%u]", i);
        struct kgc_api_policy_ancestor_status *a = &as[p->n_ancestors++];
        api_jv ref = api_get_obj(c, it, "ancestorRef");
        if (ref)
            parse_parent_ref(c, ref, &a->ancestor_ref);
        a->controller_name = api_get_str(c, it, "controllerName");
        a->conditions = parse_conditions(c, it, "conditions", &a->n_conditions);
        api_path_pop(c, s2);
    }
    p->ancestors = as;
    api_path_pop(c, saved);
    return &p->obj;
}

struct kgc_api_obj *api_parse_kind(struct api_pctx *c, enum kgc_api_kind kind, api_jv j,
                                   const struct api_secret_prep *prep)
{
    struct kgc_api_obj *o = NULL;
    switch (kind) {
    case KGC_API_GATEWAYCLASS:
        o = parse_gatewayclass(c, j);
        break;
    case KGC_API_GATEWAY:
        o = parse_gateway(c, j);
        break;
    case KGC_API_HTTPROUTE:
        o = parse_route(c, j, false, false);
        break;
    case KGC_API_GRPCROUTE:
        o = parse_route(c, j, true, false);
        break;
    case KGC_API_REFERENCEGRANT:
        o = parse_referencegrant(c, j);
        break;
    case KGC_API_SERVICE:
        o = parse_service(c, j);
        break;
    case KGC_API_ENDPOINTSLICE:
        o = parse_endpointslice(c, j);
        break;
    case KGC_API_SECRET:
        o = parse_secret(c, j, prep);
        break;
    case KGC_API_NAMESPACE:
        o = parse_namespace(c, j);
        break;
    case KGC_API_KONGPLUGIN:
    case KGC_API_KONGCLUSTERPLUGIN:
        o = parse_kongplugin(c, j, kind == KGC_API_KONGCLUSTERPLUGIN);
        break;
    case KGC_API_CONFIGMAP:
        o = parse_configmap(c, j);
        break;
    case KGC_API_BACKENDTLSPOLICY:
        o = parse_backendtlspolicy(c, j);
        break;
    case KGC_API_LISTENERSET:
        o = parse_listenerset(c, j);
        break;
    case KGC_API_TLSROUTE:
    case KGC_API_TCPROUTE:
    case KGC_API_UDPROUTE:
        o = parse_route(c, j, false, true);
        break;
    default:
        return NULL;
    }
    o->kind = kind;
    if (c->n_problems) {
        const char **p = api_alloc(c->a, c->n_problems * sizeof(*p));
        memcpy(p, c->problems, c->n_problems * sizeof(*p));
        o->problems = p;
        o->n_problems = c->n_problems;
    }
    return o;
}

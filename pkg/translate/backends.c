/* Backends: a rule's backendRefs → the targets of its upstream. A backend is used when it is a
 * core Service the route may reference (same namespace, or a ReferenceGrant), with the port the
 * backendRef names, and ready endpoints on that port (or an ExternalName). Its weight is spread
 * over its targets; see README.md for the rounding. */
#include "translate_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the EndpointSlice index ----------------------------------------------------------------- */

/* c->slices: every EndpointSlice with a namespace and a Service name (references held), sorted
 * by "namespace/service" and then by key, so a Service's slices are adjacent and in key order.
 * One sorted array (8 B a slice) instead of a map of per-Service lists (a key, a list and its
 * array, ~135 B a Service, kept by the incremental state). */

/* One part of a "first/second" string being read (joined_get). */
struct joined {
    const char *p, *next;
};

static int joined_get(struct joined *j)
{
    if (*j->p)
        return (unsigned char)*j->p++;
    if (j->next) {
        j->p = j->next;
        j->next = NULL;
        return '/';
    }
    return 0;
}

/* strcmp() of a1 "/" a2 with b1 "/" b2, without making either. */
static int cmp_joined(const char *a1, const char *a2, const char *b1, const char *b2)
{
    struct joined a = {a1, a2}, b = {b1, b2};
    for (;;) {
        int x = joined_get(&a), y = joined_get(&b);
        if (x != y)
            return x - y;
        if (!x)
            return 0;
    }
}

static const char *slice_service(const struct kgc_api_obj *o)
{
    return ((const struct kgc_api_endpointslice *)(const void *)o)->service_name;
}

static int cmp_slice(const void *a, const void *b)
{
    const struct kgc_api_obj *x = *(const struct kgc_api_obj *const *)a;
    const struct kgc_api_obj *y = *(const struct kgc_api_obj *const *)b;
    int r = cmp_joined(x->meta.namespace, slice_service(x), y->meta.namespace, slice_service(y));
    return r ? r : strcmp(x->meta.key ? x->meta.key : "", y->meta.key ? y->meta.key : "");
}

/* Whether c->slices can hold o. */
static bool slice_indexed(const struct kgc_api_obj *o)
{
    const struct kgc_api_endpointslice *es = kgc_api_as_endpointslice(o);
    return es && es->service_name && o->meta.namespace;
}

size_t tr_slices_of(const struct tr_ctx *c, const char *ns, const char *svc, size_t *n)
{
    size_t lo = 0, hi = c->slices.n;
    while (lo < hi) { /* the first at or after ns/svc */
        size_t mid = lo + (hi - lo) / 2;
        const struct kgc_api_obj *o = c->slices.v[mid];
        if (cmp_joined(o->meta.namespace, slice_service(o), ns, svc) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < c->slices.n) {
        const struct kgc_api_obj *o = c->slices.v[end];
        if (cmp_joined(o->meta.namespace, slice_service(o), ns, svc) != 0)
            break;
        end++;
    }
    *n = end - lo;
    return lo;
}

static bool index_visit(const struct kgc_api_obj *obj, void *fnctx)
{
    struct tr_ctx *c = fnctx;
    if (!slice_indexed(obj))
        return true;
    if (kgc_base_vec_push(&c->slices, (void *)kgc_api_obj_ref(obj)) != 0) {
        kgc_api_obj_unref(obj);
        c->oom = true;
        return false;
    }
    return true;
}

int tr_index_slices(struct tr_ctx *c)
{
    bool oom = c->oom;
    c->oom = false;
    if (c->lk->foreach)
        c->lk->foreach (c->lk->ctx, KGC_API_ENDPOINTSLICE, NULL, index_visit, c);
    bool failed = c->oom;
    c->oom = oom || failed;
    if (failed)
        return KGC_ENOMEM;
    if (c->slices.n > 1) /* (no slice: no array to sort; qsort must not see NULL) */
        qsort(c->slices.v, c->slices.n, sizeof(*c->slices.v), cmp_slice);
    return 0;
}

int tr_slices_add(struct tr_ctx *c, const struct kgc_api_obj *o)
{
    if (!slice_indexed(o))
        return 0;
    if (kgc_base_vec_push(&c->slices, (void *)kgc_api_obj_ref(o)) != 0) {
        kgc_api_obj_unref(o);
        return KGC_ENOMEM;
    }
    /* to its place: after every slice that sorts before it or equal */
    size_t i = c->slices.n - 1;
    while (i > 0 && cmp_slice(&c->slices.v[i - 1], &o) > 0) {
        c->slices.v[i] = c->slices.v[i - 1];
        i--;
    }
    c->slices.v[i] = (void *)o;
    return 0;
}

void tr_slices_remove(struct tr_ctx *c, const char *ns, const char *svc, const char *key)
{
    size_t n = 0, first = tr_slices_of(c, ns, svc, &n);
    for (size_t i = first; i < first + n; i++) {
        const struct kgc_api_obj *o = c->slices.v[i];
        if (o->meta.key && strcmp(o->meta.key, key) == 0) {
            memmove(&c->slices.v[i], &c->slices.v[i + 1],
                    (c->slices.n - i - 1) * sizeof(*c->slices.v));
            c->slices.n--;
            kgc_api_obj_unref(o);
            return;
        }
    }
}

void tr_free_slices(struct tr_ctx *c)
{
    for (size_t i = 0; i < c->slices.n; i++)
        kgc_api_obj_unref(c->slices.v[i]);
    kgc_base_vec_free(&c->slices);
}

/* ---- one backend ----------------------------------------------------------------------------- */

/* Growable target list. */
struct tlist {
    struct tr_target *v;
    size_t n, cap;
};

static int tlist_add(struct tlist *l, const char *target, uint32_t weight)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? 2 * l->cap : 8;
        struct tr_target *grown = realloc(l->v, ncap * sizeof(*grown));
        if (!grown)
            return KGC_ENOMEM;
        l->v = grown;
        l->cap = ncap;
    }
    snprintf(l->v[l->n].target, sizeof(l->v[l->n].target), "%s", target);
    l->v[l->n].weight = weight;
    l->n++;
    return 0;
}

static int cmp_target(const void *a, const void *b)
{
    return strcmp(((const struct tr_target *)a)->target, ((const struct tr_target *)b)->target);
}

/* Sorts and drops duplicate addresses (an endpoint listed by two slices during a rollout). */
static void tlist_unique(struct tlist *l)
{
    if (l->n < 2)
        return;
    qsort(l->v, l->n, sizeof(*l->v), cmp_target);
    size_t w = 1;
    for (size_t i = 1; i < l->n; i++) {
        if (strcmp(l->v[i].target, l->v[w - 1].target) != 0)
            l->v[w++] = l->v[i];
    }
    l->n = w;
}

static bool streq0(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The ready addresses of the Service's endpoints on the port named port_name. */
static int endpoint_targets(struct tr_ctx *c, const char *ns, const char *svc,
                            const char *port_name, struct tlist *out)
{
    size_t n_slices = 0, first = tr_slices_of(c, ns, svc, &n_slices);
    for (size_t s = first; s < first + n_slices; s++) {
        const struct kgc_api_endpointslice *es = kgc_api_as_endpointslice(c->slices.v[s]);
        int32_t port = 0;
        for (uint32_t p = 0; p < es->n_ports && !port; p++) {
            if (streq0(es->ports[p].name, port_name))
                port = es->ports[p].port;
        }
        if (!port)
            continue;
        for (uint32_t e = 0; e < es->n_endpoints; e++) {
            const struct kgc_api_endpoint *ep = &es->endpoints[e];
            if (ep->ready == 0) /* absent means ready (Kubernetes API) */
                continue;
            for (uint32_t a = 0; a < ep->n_addresses; a++) {
                char t[sizeof(((struct tr_target *)0)->target)];
                if (!tr_target(ep->addresses[a], port, t, sizeof(t)))
                    continue;
                if (tlist_add(out, t, 0) != 0)
                    return KGC_ENOMEM;
            }
        }
    }
    tlist_unique(out);
    return 0;
}

/* The targets of backendRef b (weights not set yet), or a NOTE saying why there are none;
 * *invalid tells a backend the Gateway API calls invalid (its share must get 500) from a valid
 * Service that has no ready endpoint now. */
static int backend_targets(struct tr_ctx *c, const struct kgc_api_httproute *route, uint32_t ri,
                           uint32_t bi, const struct kgc_api_backend_ref *b, struct tlist *out,
                           bool *invalid, const struct kgc_api_backendtlspolicy **pol)
{
    *invalid = true;
    *pol = NULL;
    const char *route_ns = route->obj.meta.namespace, *route_name = route->obj.meta.name;
    const char *group = b->group ? b->group : "", *kind = b->kind ? b->kind : "Service";
    const char *ns = b->namespace ? b->namespace : route_ns, *name = b->name ? b->name : "";
#define NOTE(...)                                                                                  \
    tr_problem(c, route->obj.kind, route_ns, route_name, (int32_t)ri, -1, KGC_TRANSLATE_NOTE,      \
               __VA_ARGS__)
    if (group[0] || strcmp(kind, "Service") != 0) {
        NOTE("backendRefs[%u]: %s%s%s %s is not a core Service: dropped", bi, group,
             group[0] ? "/" : "", kind, name);
        return 0;
    }
    if (strcmp(ns, route_ns) != 0 &&
        !kgc_status_reference_granted(c->lk, TR_GW_GROUP, kgc_api_kind_info(route->obj.kind)->name,
                                      route_ns, "", "Service", ns, name)) {
        NOTE("backendRefs[%u]: Service %s/%s is not permitted by a ReferenceGrant: dropped", bi, ns,
             name);
        return 0;
    }
    const struct kgc_api_obj *obj =
        c->lk->get ? c->lk->get(c->lk->ctx, KGC_API_SERVICE, ns, name) : NULL;
    const struct kgc_api_service *svc = kgc_api_as_service(obj);
    int rc = 0;
    if (!svc) {
        NOTE("backendRefs[%u]: Service %s/%s not found: dropped", bi, ns, name);
        goto out;
    }
    const struct kgc_api_service_port *sp = NULL;
    const char *proto = route->obj.kind == KGC_API_UDPROUTE ? "UDP" : "TCP";
    for (uint32_t i = 0; i < svc->n_ports; i++) {
        const struct kgc_api_service_port *p = &svc->ports[i];
        if (!(b->port ? p->port == b->port : svc->n_ports == 1))
            continue;
        /* one port number may be served over TCP and UDP (DNS): the route kind's own first */
        if (!sp || strcmp(p->protocol ? p->protocol : "TCP", proto) == 0)
            sp = p;
    }
    /* the BackendTLSPolicy for this port (backendtls.c); one Kong cannot apply makes the
     * backend invalid: its share answers 500, never an unverified connection */
    char why[KGC_STATUS_MSG_MAX];
    *pol = tr_backend_policy(c, ns, name, sp ? sp->name : NULL, why, sizeof(why));
    if (why[0]) {
        NOTE("backendRefs[%u]: Service %s/%s: %s: its share answers 500", bi, ns, name, why);
        kgc_api_obj_unref(*pol ? &(*pol)->obj : NULL);
        *pol = NULL;
        goto out;
    }
    if (svc->type && strcmp(svc->type, "ExternalName") == 0) {
        int32_t port = sp ? sp->port : b->port;
        char t[sizeof(((struct tr_target *)0)->target)];
        if (!tr_target(svc->external_name, port, t, sizeof(t))) {
            NOTE("backendRefs[%u]: ExternalName Service %s/%s has no usable name and port: "
                 "dropped",
                 bi, ns, name);
            goto out;
        }
        rc = tlist_add(out, t, 0);
        goto out;
    }
    if (!sp) {
        if (b->port)
            NOTE("backendRefs[%u]: Service %s/%s has no port %d: dropped", bi, ns, name, b->port);
        else
            NOTE("backendRefs[%u]: no port given and Service %s/%s has %u ports: dropped", bi, ns,
                 name, svc->n_ports);
        goto out;
    }
    /* a UDPRoute's backends listen on UDP ports, every other route kind's on TCP ones */
    if (strcmp(sp->protocol ? sp->protocol : "TCP", proto) != 0) {
        NOTE("backendRefs[%u]: Service %s/%s port %d is %s, not %s: dropped", bi, ns, name,
             sp->port, sp->protocol ? sp->protocol : "TCP", proto);
        goto out;
    }
    *invalid = false;
    rc = endpoint_targets(c, ns, name, sp->name, out);
    if (rc == 0 && out->n == 0)
        NOTE("backendRefs[%u]: Service %s/%s has no ready endpoints on port %d: dropped", bi, ns,
             name, sp->port);
out:
    kgc_api_obj_unref(obj);
    return rc;
#undef NOTE
}

/* ---- the rule -------------------------------------------------------------------------------- */

#define WEIGHT_SCALE 10000 /* target weights are per ten thousand of the rule's traffic */

static const char *policy_key(const struct kgc_api_backendtlspolicy *p)
{
    return p ? p->obj.meta.key : "";
}

int tr_rule_targets(struct tr_ctx *c, const struct kgc_api_httproute *route, uint32_t rule_index,
                    struct tr_target **out, size_t *n, const struct kgc_api_backendtlspolicy **tls)
{
    const struct kgc_api_http_route_rule *rule = &route->rules[rule_index];
    *out = NULL;
    *n = 0;
    *tls = NULL;
    /* an array of pointers: sizeof(void *) each */
    const struct kgc_api_backendtlspolicy **pols =
        calloc(rule->n_backend_refs ? rule->n_backend_refs : 1, sizeof(void *));
    if (!pols)
        return KGC_ENOMEM;
    struct tlist *per = calloc(rule->n_backend_refs ? rule->n_backend_refs : 1, sizeof(*per));
    if (!per) {
        free(pols);
        return KGC_ENOMEM;
    }
    int rc = 0;
    uint64_t total = 0, invalid_total = 0;
    bool *invalid = calloc(rule->n_backend_refs ? rule->n_backend_refs : 1, sizeof(*invalid));
    if (!invalid) {
        free(per);
        free(pols);
        return KGC_ENOMEM;
    }
    for (uint32_t bi = 0; bi < rule->n_backend_refs; bi++) {
        const struct kgc_api_backend_ref *b = &rule->backend_refs[bi];
        if (b->weight <= 0)
            continue; /* weight 0: no traffic by definition */
        rc = backend_targets(c, route, rule_index, bi, b, &per[bi], &invalid[bi], &pols[bi]);
        if (rc != 0)
            goto out;
        if (per[bi].n && !*tls) /* the rule's Kong service follows its first usable backend */
            *tls = kgc_api_as_backendtlspolicy(kgc_api_obj_ref(pols[bi] ? &pols[bi]->obj : NULL));
        if (per[bi].n && strcmp(policy_key(pols[bi]), policy_key(*tls)) != 0) {
            /* one Kong service per rule: one TLS setting for all its targets */
            tr_problem(c, KGC_API_HTTPROUTE, route->obj.meta.namespace, route->obj.meta.name,
                       (int32_t)rule_index, -1, KGC_TRANSLATE_NOTE,
                       "backendRefs[%u]: its BackendTLSPolicy (%s) differs from the rule's first "
                       "backend's (%s) and a Kong service has one TLS setting: its share answers "
                       "500",
                       bi, pols[bi] ? pols[bi]->obj.meta.name : "none",
                       *tls ? (*tls)->obj.meta.name : "none");
            per[bi].n = 0;
            invalid[bi] = true;
        }
        if (per[bi].n)
            total += (uint64_t)b->weight;
        else if (invalid[bi])
            invalid_total += (uint64_t)b->weight;
    }
    /* The invalid backends' share goes to the fallback target (it answers 500), each as a
     * backend of one target; with no usable backend at all the rule keeps answering 500 by
     * request-termination. */
    if (c->fallback[0] && total && invalid_total) {
        for (uint32_t bi = 0; bi < rule->n_backend_refs; bi++) {
            if (rule->backend_refs[bi].weight > 0 && invalid[bi] && !per[bi].n &&
                (rc = tlist_add(&per[bi], c->fallback, 0)) != 0)
                goto out;
        }
        uint64_t share = (invalid_total * WEIGHT_SCALE * 2 + total + invalid_total) /
                         (2 * (total + invalid_total));
        tr_problem(c, route->obj.kind, route->obj.meta.namespace, route->obj.meta.name,
                   (int32_t)rule_index, -1, KGC_TRANSLATE_NOTE,
                   "the invalid backendRefs' share of the traffic (about %llu/%d) goes to the "
                   "invalid-backend target %s, which answers 500",
                   (unsigned long long)share, WEIGHT_SCALE, c->fallback);
        total += invalid_total;
    }
    struct tlist all = {0};
    for (uint32_t bi = 0; bi < rule->n_backend_refs && total; bi++) {
        const struct tlist *l = &per[bi];
        uint64_t w =
            rule->backend_refs[bi].weight > 0 ? (uint64_t)rule->backend_refs[bi].weight : 0;
        for (size_t t = 0; t < l->n; t++) {
            /* round half up; a target of a backend with traffic never gets 0 */
            uint64_t den = total * l->n;
            uint64_t tw = (w * WEIGHT_SCALE * 2 + den) / (2 * den);
            if (tw == 0)
                tw = 1;
            rc = tlist_add(&all, l->v[t].target, (uint32_t)tw);
            if (rc != 0) {
                free(all.v);
                goto out;
            }
        }
    }
    /* the same address behind two backends: one target with the summed weight */
    if (all.n > 1) {
        qsort(all.v, all.n, sizeof(*all.v), cmp_target);
        size_t w = 1;
        for (size_t i = 1; i < all.n; i++) {
            if (strcmp(all.v[i].target, all.v[w - 1].target) == 0) {
                uint32_t sum = all.v[w - 1].weight + all.v[i].weight;
                all.v[w - 1].weight = sum > 65535 ? 65535 : sum;
            } else {
                all.v[w++] = all.v[i];
            }
        }
        all.n = w;
    }
    *out = all.v;
    *n = all.n;
out:
    for (uint32_t bi = 0; bi < rule->n_backend_refs; bi++) {
        free(per[bi].v);
        kgc_api_obj_unref(pols[bi] ? &pols[bi]->obj : NULL);
    }
    free(per);
    free(pols);
    free(invalid);
    if (rc != 0 || !*n) { /* no target: no TLS either (the service answers 500 itself) */
        kgc_api_obj_unref(*tls ? &(*tls)->obj : NULL);
        *tls = NULL;
    }
    return rc;
}

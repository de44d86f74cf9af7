/* ListenerSet (gateway-api v1.6.1 apis/v1/listenerset_types.go): which sets a Gateway's
 * spec.allowedListeners admits, the Gateway merged with them (its listeners first, then the sets'
 * by creation time, then namespace/name: ListenerSetSpec.Listeners' precedence), and the set's
 * own status, cut out of its parent Gateway's computed over the merged listeners. */
#include "status_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool ref_names_gateway(const struct kgc_api_listenerset *set,
                              const struct kgc_api_gateway *gw)
{
    const struct kgc_api_parent_ref *p = &set->parent_ref;
    return status_streq(status_or(p->group, KGC_STATUS_GROUP), KGC_STATUS_GROUP) &&
           status_streq(status_or(p->kind, "Gateway"), "Gateway") &&
           status_streq(status_or(p->namespace, set->obj.meta.namespace), gw->obj.meta.namespace) &&
           status_streq(p->name, gw->obj.meta.name);
}

/* allowedListeners.namespaces.from: None (the default) admits nothing (gateway_types.go:327-360,
 * FromNamespaces at :857-871). */
static bool namespace_admits(const struct kgc_status_lookup *lk, const struct kgc_api_gateway *gw,
                             const char *set_ns)
{
    const struct kgc_api_allowed_listeners *al = gw->allowed_listeners;
    const char *from = al ? al->namespaces_from : NULL;
    if (!from || strcmp(from, "None") == 0)
        return false;
    if (strcmp(from, "Same") == 0)
        return status_streq(set_ns, gw->obj.meta.namespace);
    if (strcmp(from, "All") == 0)
        return true;
    if (strcmp(from, "Selector") != 0 || !lk->get)
        return false;
    const struct kgc_api_obj *ns = lk->get(lk->ctx, KGC_API_NAMESPACE, NULL, set_ns);
    bool ok = ns && kgc_status_selector_matches(al->selector, ns->meta.labels, ns->meta.n_labels);
    kgc_api_obj_unref(ns);
    return ok;
}

bool kgc_status_listenerset_allowed(const struct kgc_status_lookup *lk,
                                    const struct kgc_api_gateway *gw,
                                    const struct kgc_api_listenerset *set)
{
    return lk && gw && set && ref_names_gateway(set, gw) &&
           namespace_admits(lk, gw, set->obj.meta.namespace);
}

/* ---- the merged Gateway --------------------------------------------------------------------- */

struct collect {
    const struct kgc_status_lookup *lk;
    const struct kgc_api_gateway *gw;
    const struct kgc_api_listenerset **sets; /* references held */
    uint32_t n, cap;
    bool oom;
};

static bool collect_visit(const struct kgc_api_obj *obj, void *ctx)
{
    struct collect *c = ctx;
    const struct kgc_api_listenerset *s = kgc_api_as_listenerset(obj);
    if (!s || s->obj.meta.deletion_timestamp || !kgc_status_listenerset_allowed(c->lk, c->gw, s))
        return true;
    if (c->n == c->cap) {
        uint32_t cap = c->cap ? 2 * c->cap : 4;
        const struct kgc_api_listenerset **grown =
            realloc(c->sets, cap * sizeof(const struct kgc_api_listenerset *));
        if (!grown) {
            c->oom = true;
            return false;
        }
        c->sets = grown;
        c->cap = cap;
    }
    c->sets[c->n++] = kgc_api_as_listenerset(kgc_api_obj_ref(obj));
    return true;
}

/* The older first (RFC 3339 strings in one format compare as times; none sorts last), then by
 * "namespace/name". */
static int set_order(const void *pa, const void *pb)
{
    const struct kgc_api_listenerset *a = *(const struct kgc_api_listenerset *const *)pa;
    const struct kgc_api_listenerset *b = *(const struct kgc_api_listenerset *const *)pb;
    const char *ta = a->obj.meta.creation_timestamp, *tb = b->obj.meta.creation_timestamp;
    bool ha = ta && ta[0], hb = tb && tb[0];
    if (ha && hb && strcmp(ta, tb) != 0)
        return strcmp(ta, tb);
    if (ha != hb)
        return ha ? -1 : 1;
    return strcmp(status_or(a->obj.meta.key, ""), status_or(b->obj.meta.key, ""));
}

const struct kgc_api_gateway *kgc_status_gateway_merged(const struct kgc_status_lookup *lk,
                                                        const struct kgc_api_gateway *gw)
{
    if (!gw)
        return NULL;
    if (gw->listener_origin) /* already merged */
        return kgc_api_as_gateway(kgc_api_obj_ref(&gw->obj));
    const struct kgc_api_allowed_listeners *al = gw->allowed_listeners;
    if (!lk || !lk->foreach || !al || !al->namespaces_from ||
        strcmp(al->namespaces_from, "None") == 0)
        return kgc_api_as_gateway(kgc_api_obj_ref(&gw->obj));
    struct collect c = {.lk = lk, .gw = gw};
    const char *ns = strcmp(al->namespaces_from, "Same") == 0 ? gw->obj.meta.namespace : NULL;
    lk->foreach (lk->ctx, KGC_API_LISTENERSET, ns, collect_visit, &c);
    const struct kgc_api_gateway *out = NULL;
    if (!c.oom) {
        if (c.n == 0) {
            out = kgc_api_as_gateway(kgc_api_obj_ref(&gw->obj));
        } else {
            qsort(c.sets, c.n, sizeof(const struct kgc_api_listenerset *), set_order);
            if (kgc_api_gateway_merge(gw, c.sets, c.n, KGC_STATUS_MAX_LISTENERS, &out) != 0)
                out = NULL;
        }
    }
    for (uint32_t i = 0; i < c.n; i++)
        kgc_api_obj_unref(&c.sets[i]->obj);
    free(c.sets);
    return out;
}

/* ---- ListenerSet status --------------------------------------------------------------------- */

void kgc_status_listenerset_release(struct kgc_status_listenerset *s)
{
    if (!s)
        return;
    free(s->listeners);
    kgc_api_obj_unref(s->set ? &s->set->obj : NULL);
    memset(s, 0, sizeof(*s));
}

static bool same_set(const struct kgc_api_listenerset *a, const struct kgc_api_listenerset *b)
{
    return a && b && status_streq(a->obj.meta.key, b->obj.meta.key);
}

int kgc_status_listenerset_compute(const struct kgc_status_options *o,
                                   const struct kgc_status_lookup *lk,
                                   const struct kgc_api_listenerset *set,
                                   struct kgc_status_listenerset *out, struct kgc_err *err)
{
    if (!out)
        return kgc_err_set(err, KGC_EINVAL, "status: no result to fill");
    memset(out, 0, sizeof(*out));
    if (!o || !lk || !set)
        return kgc_err_set(err, KGC_EINVAL,
                           "status: listenerset compute needs options, a lookup and an object");
    const struct kgc_api_parent_ref *p = &set->parent_ref;
    if (!status_streq(status_or(p->group, KGC_STATUS_GROUP), KGC_STATUS_GROUP) ||
        !status_streq(status_or(p->kind, "Gateway"), "Gateway") || !p->name || !lk->get)
        return 0; /* not a Gateway parent: no controller can be told apart, write nothing */
    const struct kgc_api_obj *gobj = lk->get(
        lk->ctx, KGC_API_GATEWAY, status_or(p->namespace, set->obj.meta.namespace), p->name);
    const struct kgc_api_gateway *gw = kgc_api_as_gateway(gobj);
    if (!gw || !status_class_owned(o, lk, gw->gateway_class_name, NULL, NULL, 0)) {
        kgc_api_obj_unref(gobj);
        return 0; /* another controller's (or no) Gateway */
    }
    if (set->n_listeners) {
        out->listeners = calloc(set->n_listeners, sizeof(*out->listeners));
        if (!out->listeners) {
            kgc_api_obj_unref(gobj);
            return kgc_err_set(err, KGC_ENOMEM, "status: out of memory");
        }
    }
    out->set = kgc_api_as_listenerset(kgc_api_obj_ref(&set->obj));
    out->owned = true;
    out->generation = set->obj.meta.generation;
    status_now(o, out->now, sizeof(out->now));
    out->n_conditions = 2;
    struct kgc_status_condition *acc = &out->conditions[0], *prog = &out->conditions[1];
    const char *gw_ns = gw->obj.meta.namespace, *gw_name = gw->obj.meta.name;

    if (!kgc_status_listenerset_allowed(lk, gw, set)) {
        const char *from = gw->allowed_listeners ? gw->allowed_listeners->namespaces_from : NULL;
        status_cond_set(acc, KGC_STATUS_ACCEPTED, false, KGC_STATUS_R_NOT_ALLOWED,
                        "Gateway %s/%s does not allow ListenerSets from namespace %s "
                        "(spec.allowedListeners.namespaces.from: %s)",
                        gw_ns, gw_name, set->obj.meta.namespace, status_or(from, "None"));
        status_cond_set(prog, KGC_STATUS_PROGRAMMED, false, KGC_STATUS_R_NOT_ALLOWED, "%s",
                        acc->message);
        kgc_api_obj_unref(gobj);
        return 0;
    }

    struct kgc_status_gateway gs;
    int rc = kgc_status_gateway_compute(o, lk, gw, &gs, err);
    kgc_api_obj_unref(gobj);
    if (rc != 0) {
        kgc_status_listenerset_release(out);
        return rc;
    }
    out->needs_retry = gs.needs_retry;
    snprintf(out->retry_reason, sizeof(out->retry_reason), "%s", gs.retry_reason);
    bool gw_accepted = gs.n_conditions > 0 && gs.conditions[0].status[0] == 'T';
    bool gw_programmed = gs.n_conditions > 1 && gs.conditions[1].status[0] == 'T';
    uint32_t n_valid = 0, n_merged = 0;
    char not_valid[KGC_STATUS_MSG_MAX / 2] = "";
    for (uint32_t i = 0; i < set->n_listeners; i++) {
        struct kgc_status_listener *st = &out->listeners[out->n_listeners++];
        const struct kgc_api_listener *l = &set->listeners[i];
        st->name = l->name;
        uint32_t k = gs.n_listeners;
        for (; k < gs.n_all_listeners; k++) {
            if (same_set(kgc_api_listener_origin(gs.merged, k), set) &&
                status_streq(gs.merged->listeners[k].name, l->name))
                break;
        }
        if (k < gs.n_all_listeners) {
            *st = gs.listeners[k];
            st->name = l->name; /* borrowed from the set out holds, not the merged Gateway */
            n_merged++;
        } else {
            /* left out of the merged Gateway: KGC_STATUS_MAX_LISTENERS in all */
            char bad[8];
            status_listener_kinds(l, st->supported_kinds, &st->n_supported_kinds, bad, sizeof(bad));
            status_cond_set(&st->conditions[0], KGC_STATUS_ACCEPTED, false,
                            KGC_STATUS_R_TOO_MANY_LISTENERS,
                            "Gateway %s/%s and its ListenerSets have more than %d listeners", gw_ns,
                            gw_name, KGC_STATUS_MAX_LISTENERS);
            status_cond_set(&st->conditions[1], KGC_STATUS_PROGRAMMED, false, KGC_STATUS_R_INVALID,
                            "the listener is not accepted");
            status_cond_set(&st->conditions[2], KGC_STATUS_RESOLVED_REFS, true,
                            KGC_STATUS_R_RESOLVED_REFS, "all references are resolved");
            status_cond_set(&st->conditions[3], KGC_STATUS_CONFLICTED, false,
                            KGC_STATUS_R_NO_CONFLICTS, "no conflicts");
            st->n_conditions = 4;
        }
        if (st->valid)
            n_valid++;
        else
            status_append_name(not_valid, sizeof(not_valid), l->name);
    }
    (void)n_merged;
    if (!gw_accepted) {
        status_cond_set(acc, KGC_STATUS_ACCEPTED, false, KGC_STATUS_R_PARENT_NOT_ACCEPTED,
                        "the parent Gateway %s/%s is not accepted", gw_ns, gw_name);
        status_cond_set(prog, KGC_STATUS_PROGRAMMED, false, KGC_STATUS_R_PARENT_NOT_PROGRAMMED,
                        "the parent Gateway %s/%s is not accepted", gw_ns, gw_name);
    } else if (n_valid == 0) {
        status_cond_set(acc, KGC_STATUS_ACCEPTED, false, KGC_STATUS_R_LISTENERS_NOT_VALID,
                        "no listener is valid: %s", not_valid);
        status_cond_set(prog, KGC_STATUS_PROGRAMMED, false, KGC_STATUS_R_LISTENERS_NOT_VALID,
                        "no listener is valid: %s", not_valid);
    } else {
        out->accepted = true;
        if (n_valid < out->n_listeners)
            status_cond_set(acc, KGC_STATUS_ACCEPTED, true, KGC_STATUS_R_LISTENERS_NOT_VALID,
                            "accepted by Gateway %s/%s with invalid listeners: %s", gw_ns, gw_name,
                            not_valid);
        else
            status_cond_set(acc, KGC_STATUS_ACCEPTED, true, KGC_STATUS_R_ACCEPTED,
                            "accepted by Gateway %s/%s", gw_ns, gw_name);
        if (gw_programmed)
            status_cond_set(prog, KGC_STATUS_PROGRAMMED, true, KGC_STATUS_R_PROGRAMMED,
                            "Kong carries the configuration of the ListenerSet");
        else
            status_cond_set(prog, KGC_STATUS_PROGRAMMED, false,
                            status_streq(gs.conditions[1].reason, KGC_STATUS_R_PENDING)
                                ? KGC_STATUS_R_PENDING
                                : KGC_STATUS_R_PARENT_NOT_PROGRAMMED,
                            "the parent Gateway %s/%s is not programmed: %s", gw_ns, gw_name,
                            gs.conditions[1].message);
    }
    kgc_status_gateway_release(&gs);
    return 0;
}

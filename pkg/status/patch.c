/* Desired status + the object's current status → the JSON merge patch for `/status`, or nothing
 * when the write would change nothing. Conditions are merged by type in place: kgc's own types
 * are updated (lastTransitionTime kept while the status holds) or dropped when no longer wanted,
 * every other type is kept where it is; a merge patch replaces lists whole, so the lists written
 * are complete (other controllers' route parents included). */
#include "status_internal.h"

#include <stdlib.h>
#include <string.h>

/* The condition types kgc writes (and so may remove) in each list. */
static const char *const class_owned[] = {KGC_STATUS_ACCEPTED, NULL};
static const char *const gateway_owned[] = {KGC_STATUS_ACCEPTED, KGC_STATUS_PROGRAMMED,
                                            KGC_STATUS_RESOLVED_REFS, NULL};
static const char *const listener_owned[] = {KGC_STATUS_ACCEPTED,        KGC_STATUS_PROGRAMMED,
                                             KGC_STATUS_RESOLVED_REFS,   KGC_STATUS_CONFLICTED,
                                             KGC_STATUS_OVERLAPPING_TLS, NULL};
static const char *const parent_owned[] = {KGC_STATUS_ACCEPTED, KGC_STATUS_RESOLVED_REFS,
                                           KGC_STATUS_PARTIALLY_INVALID, KGC_STATUS_KONG_LIMITATION,
                                           NULL};

/* ---- a json-c builder that remembers the first allocation failure -------------------------- */

struct jb {
    bool failed;
};

static json_object *jb_check(struct jb *b, json_object *v)
{
    if (!v)
        b->failed = true;
    return v;
}

static void jb_add(struct jb *b, json_object *o, const char *key, json_object *v)
{
    if (!o || !v || json_object_object_add(o, key, v) != 0) {
        b->failed = true;
        json_object_put(v);
    }
}

static void jb_push(struct jb *b, json_object *arr, json_object *v)
{
    if (!arr || !v || json_object_array_add(arr, v) != 0) {
        b->failed = true;
        json_object_put(v);
    }
}

static void jb_add_str(struct jb *b, json_object *o, const char *key, const char *s)
{
    jb_add(b, o, key, jb_check(b, json_object_new_string(s ? s : "")));
}

static void jb_add_opt_str(struct jb *b, json_object *o, const char *key, const char *s)
{
    if (s)
        jb_add_str(b, o, key, s);
}

static void jb_add_int(struct jb *b, json_object *o, const char *key, int64_t v)
{
    jb_add(b, o, key, jb_check(b, json_object_new_int64(v)));
}

/* ---- conditions ----------------------------------------------------------------------------- */

/* A condition as the API object holds it (absent fields stay absent). */
static json_object *cond_from_api(struct jb *b, const struct kgc_api_condition *c)
{
    json_object *o = jb_check(b, json_object_new_object());
    jb_add_opt_str(b, o, "type", c->type);
    jb_add_opt_str(b, o, "status", c->status);
    jb_add_opt_str(b, o, "reason", c->reason);
    jb_add_opt_str(b, o, "message", c->message);
    jb_add_opt_str(b, o, "lastTransitionTime", c->last_transition_time);
    if (c->observed_generation)
        jb_add_int(b, o, "observedGeneration", c->observed_generation);
    return o;
}

static json_object *cond_new(struct jb *b, const struct kgc_status_condition *d, const char *ltt,
                             int64_t generation)
{
    json_object *o = jb_check(b, json_object_new_object());
    jb_add_str(b, o, "type", d->type);
    jb_add_str(b, o, "status", d->status);
    jb_add_str(b, o, "reason", d->reason);
    jb_add_str(b, o, "message", d->message);
    jb_add_str(b, o, "lastTransitionTime", ltt);
    jb_add_int(b, o, "observedGeneration", generation);
    return o;
}

static json_object *conds_from_api(struct jb *b, const struct kgc_api_condition *c, uint32_t n)
{
    json_object *arr = jb_check(b, json_object_new_array());
    for (uint32_t i = 0; i < n; i++)
        jb_push(b, arr, cond_from_api(b, &c[i]));
    return arr;
}

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; s && list[i]; i++) {
        if (strcmp(list[i], s) == 0)
            return true;
    }
    return false;
}

struct citem {
    json_object *j;
    bool ours;
};

/* The merged list: current order kept, kgc's types updated in place or dropped, new ones
 * appended; over KGC_STATUS_MAX_CONDITIONS, kgc's last ones give way (never another's). */
static json_object *merge_conditions(struct jb *b, const struct kgc_api_condition *cur,
                                     uint32_t n_cur, const struct kgc_status_condition *want,
                                     uint32_t n_want, const char *const *owned, int64_t generation,
                                     const char *now)
{
    struct citem *items = calloc((size_t)n_cur + n_want + 1, sizeof(*items));
    bool used[8] = {false};
    json_object *arr = jb_check(b, json_object_new_array());
    if (!items || n_want > 8) {
        b->failed = true;
        free(items);
        return arr;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < n_cur; i++) {
        const struct kgc_api_condition *c = &cur[i];
        int w = -1;
        for (uint32_t k = 0; k < n_want && w < 0 && c->type; k++) {
            if (!used[k] && strcmp(want[k].type, c->type) == 0)
                w = (int)k;
        }
        if (w >= 0) {
            used[w] = true;
            if (c->observed_generation > generation) {
                /* Our copy is older than what wrote this: leave it for a later pass. */
                items[n++] = (struct citem){cond_from_api(b, c), true};
            } else {
                bool same = status_streq(c->status, want[w].status) && c->last_transition_time;
                items[n++] = (struct citem){
                    cond_new(b, &want[w], same ? c->last_transition_time : now, generation), true};
            }
        } else if (!in_list(owned, c->type)) {
            items[n++] = (struct citem){cond_from_api(b, c), false};
        } /* else: a type kgc owns but no longer sets (or a duplicate): dropped */
    }
    for (uint32_t k = 0; k < n_want; k++) {
        if (!used[k])
            items[n++] = (struct citem){cond_new(b, &want[k], now, generation), true};
    }
    for (size_t i = n; n > KGC_STATUS_MAX_CONDITIONS && i-- > 0;) {
        if (items[i].ours) {
            json_object_put(items[i].j);
            memmove(&items[i], &items[i + 1], (n - i - 1) * sizeof(*items));
            n--;
        }
    }
    for (size_t i = 0; i < n; i++)
        jb_push(b, arr, items[i].j);
    free(items);
    return arr;
}

/* ---- finishing ------------------------------------------------------------------------------ */

/* Compares and wraps: *patch = {"metadata":{"resourceVersion"},"status": merged} or NULL. */
static int finish(struct jb *b, json_object *merged, json_object *current, const char *rv,
                  bool null_addresses, json_object **patch, struct kgc_err *err)
{
    if (b->failed || !merged || !current) {
        json_object_put(merged);
        json_object_put(current);
        return kgc_err_set(err, KGC_ENOMEM, "status: out of memory building the patch");
    }
    bool same = json_object_equal(merged, current);
    json_object_put(current);
    if (same) {
        json_object_put(merged);
        return 0;
    }
    if (null_addresses && json_object_object_add(merged, "addresses", NULL) != 0)
        b->failed = true;
    json_object *p = jb_check(b, json_object_new_object());
    if (rv) {
        json_object *meta = jb_check(b, json_object_new_object());
        jb_add_str(b, meta, "resourceVersion", rv);
        jb_add(b, p, "metadata", meta);
    }
    jb_add(b, p, "status", merged);
    if (b->failed) {
        json_object_put(p);
        return kgc_err_set(err, KGC_ENOMEM, "status: out of memory building the patch");
    }
    *patch = p;
    return 0;
}

/* ---- GatewayClass --------------------------------------------------------------------------- */

int kgc_status_gatewayclass_patch(const struct kgc_status_gatewayclass *desired,
                                  const struct kgc_api_gatewayclass *current, json_object **patch,
                                  struct kgc_err *err)
{
    if (!patch || !desired)
        return kgc_err_set(err, KGC_EINVAL, "status: gatewayclass patch needs a desired status");
    *patch = NULL;
    const struct kgc_api_gatewayclass *cur = current ? current : desired->gc;
    if (!desired->owned || !cur)
        return 0;
    struct jb b = {false};
    json_object *merged = jb_check(&b, json_object_new_object());
    jb_add(&b, merged, "conditions",
           merge_conditions(&b, cur->conditions, cur->n_conditions, desired->conditions,
                            desired->n_conditions, class_owned, desired->generation, desired->now));
    json_object *now = jb_check(&b, json_object_new_object());
    jb_add(&b, now, "conditions", conds_from_api(&b, cur->conditions, cur->n_conditions));
    return finish(&b, merged, now, cur->obj.meta.resource_version, false, patch, err);
}

/* ---- KongPlugin, KongClusterPlugin ---------------------------------------------------------- */

int kgc_status_kongplugin_patch(const struct kgc_api_kongplugin *current,
                                const struct kgc_status_condition *programmed, const char *now,
                                json_object **patch, struct kgc_err *err)
{
    static const char *const owned[] = {"Programmed", NULL};
    if (!patch || !current || !programmed)
        return kgc_err_set(err, KGC_EINVAL, "status: plugin patch needs an object and a condition");
    *patch = NULL;
    char tbuf[KGC_STATUS_TIME_MAX];
    if (!now) {
        struct kgc_status_options o = {0};
        status_now(&o, tbuf, sizeof(tbuf));
        now = tbuf;
    }
    struct jb b = {false};
    json_object *merged = jb_check(&b, json_object_new_object());
    jb_add(&b, merged, "conditions",
           merge_conditions(&b, current->conditions, current->n_conditions, programmed, 1, owned,
                            current->obj.meta.generation, now));
    json_object *cur = jb_check(&b, json_object_new_object());
    jb_add(&b, cur, "conditions", conds_from_api(&b, current->conditions, current->n_conditions));
    return finish(&b, merged, cur, current->obj.meta.resource_version, false, patch, err);
}

/* ---- Gateway -------------------------------------------------------------------------------- */

static json_object *kinds_json(struct jb *b, const struct kgc_api_group_kind *k, uint32_t n)
{
    json_object *arr = jb_check(b, json_object_new_array());
    for (uint32_t i = 0; i < n; i++) {
        json_object *o = jb_check(b, json_object_new_object());
        jb_add_str(b, o, "group", status_or(k[i].group, KGC_STATUS_GROUP));
        jb_add_str(b, o, "kind", k[i].kind);
        jb_push(b, arr, o);
    }
    return arr;
}

static json_object *listener_json(struct jb *b, const char *name, json_object *kinds,
                                  int32_t attached, json_object *conds)
{
    json_object *o = jb_check(b, json_object_new_object());
    jb_add_str(b, o, "name", name);
    jb_add(b, o, "supportedKinds", kinds);
    jb_add_int(b, o, "attachedRoutes", attached);
    jb_add(b, o, "conditions", conds);
    return o;
}

static const struct kgc_api_listener_status *
find_listener_status(const struct kgc_api_listener_status *ls, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++) {
        if (status_streq(ls[i].name, name))
            return &ls[i];
    }
    return NULL;
}

/* status.listeners of desired listeners st[0..n-1] merged onto the current ones cur. */
static json_object *listeners_merged(struct jb *b, const struct kgc_status_listener *st, uint32_t n,
                                     const struct kgc_api_listener_status *cur, uint32_t n_cur,
                                     int64_t generation, const char *now)
{
    json_object *ls = jb_check(b, json_object_new_array());
    for (uint32_t i = 0; i < n; i++) {
        const struct kgc_api_listener_status *old = find_listener_status(cur, n_cur, st[i].name);
        json_object *conds =
            merge_conditions(b, old ? old->conditions : NULL, old ? old->n_conditions : 0,
                             st[i].conditions, st[i].n_conditions, listener_owned, generation, now);
        jb_push(b, ls,
                listener_json(b, st[i].name,
                              kinds_json(b, st[i].supported_kinds, st[i].n_supported_kinds),
                              st[i].attached_routes, conds));
    }
    return ls;
}

static json_object *listeners_current(struct jb *b, const struct kgc_api_listener_status *cur,
                                      uint32_t n)
{
    json_object *cls = jb_check(b, json_object_new_array());
    for (uint32_t i = 0; i < n; i++) {
        const struct kgc_api_listener_status *l = &cur[i];
        jb_push(b, cls,
                listener_json(b, l->name, kinds_json(b, l->supported_kinds, l->n_supported_kinds),
                              l->attached_routes,
                              conds_from_api(b, l->conditions, l->n_conditions)));
    }
    return cls;
}

static json_object *address_json(struct jb *b, const char *type, const char *value)
{
    json_object *o = jb_check(b, json_object_new_object());
    jb_add_str(b, o, "type", status_or(type, "IPAddress"));
    jb_add_str(b, o, "value", value);
    return o;
}

int kgc_status_gateway_patch(const struct kgc_status_gateway *desired,
                             const struct kgc_api_gateway *current, json_object **patch,
                             struct kgc_err *err)
{
    if (!patch || !desired)
        return kgc_err_set(err, KGC_EINVAL, "status: gateway patch needs a desired status");
    *patch = NULL;
    const struct kgc_api_gateway *cur = current ? current : desired->gw;
    if (!desired->owned || !cur)
        return 0;
    struct jb b = {false};
    json_object *merged = jb_check(&b, json_object_new_object());
    if (desired->n_addresses) {
        json_object *arr = jb_check(&b, json_object_new_array());
        for (uint32_t i = 0; i < desired->n_addresses; i++)
            jb_push(&b, arr,
                    address_json(&b, desired->addresses[i].type, desired->addresses[i].value));
        jb_add(&b, merged, "addresses", arr);
    }
    jb_add(&b, merged, "conditions",
           merge_conditions(&b, cur->conditions, cur->n_conditions, desired->conditions,
                            desired->n_conditions, gateway_owned, desired->generation,
                            desired->now));
    jb_add(&b, merged, "listeners",
           listeners_merged(&b, desired->listeners, desired->n_listeners, cur->listener_status,
                            cur->n_listener_status, desired->generation, desired->now));
    /* written for Gateways that admit ListenerSets (or already carry it): the field is optional
     * and absent reads as 0 (conformance/utils/kubernetes/helpers.go GatewayMustHaveAttached-
     * Listeners), so other Gateways' statuses stay as they were */
    const struct kgc_api_allowed_listeners *al = cur->allowed_listeners;
    if ((al && al->namespaces_from && strcmp(al->namespaces_from, "None") != 0) ||
        cur->attached_listener_sets >= 0)
        jb_add_int(&b, merged, "attachedListenerSets", desired->attached_listener_sets);

    json_object *now = jb_check(&b, json_object_new_object());
    if (cur->n_status_addresses) {
        json_object *arr = jb_check(&b, json_object_new_array());
        for (uint32_t i = 0; i < cur->n_status_addresses; i++)
            jb_push(
                &b, arr,
                address_json(&b, cur->status_addresses[i].type, cur->status_addresses[i].value));
        jb_add(&b, now, "addresses", arr);
    }
    jb_add(&b, now, "conditions", conds_from_api(&b, cur->conditions, cur->n_conditions));
    jb_add(&b, now, "listeners",
           listeners_current(&b, cur->listener_status, cur->n_listener_status));
    if (cur->attached_listener_sets >= 0)
        jb_add_int(&b, now, "attachedListenerSets", cur->attached_listener_sets);
    return finish(&b, merged, now, cur->obj.meta.resource_version,
                  desired->n_addresses == 0 && cur->n_status_addresses > 0, patch, err);
}

/* ---- HTTPRoute ------------------------------------------------------------------------------ */

static json_object *parent_ref_json(struct jb *b, const struct kgc_api_parent_ref *p)
{
    json_object *o = jb_check(b, json_object_new_object());
    jb_add_opt_str(b, o, "group", p->group);
    jb_add_opt_str(b, o, "kind", p->kind);
    jb_add_opt_str(b, o, "namespace", p->namespace);
    jb_add_str(b, o, "name", p->name);
    jb_add_opt_str(b, o, "sectionName", p->section_name);
    if (p->port)
        jb_add_int(b, o, "port", p->port);
    return o;
}

static json_object *parent_json(struct jb *b, const struct kgc_api_parent_ref *p,
                                const char *controller, json_object *conds)
{
    json_object *o = jb_check(b, json_object_new_object());
    jb_add(b, o, "parentRef", parent_ref_json(b, p));
    jb_add_str(b, o, "controllerName", controller);
    jb_add(b, o, "conditions", conds);
    return o;
}

/* Whether two parentRefs of route name the same parent and section (API defaults applied). */
static bool same_parent(const struct kgc_api_httproute *route, const struct kgc_api_parent_ref *a,
                        const struct kgc_api_parent_ref *b)
{
    const char *ns = route->obj.meta.namespace;
    return status_streq(status_or(a->group, KGC_STATUS_GROUP),
                        status_or(b->group, KGC_STATUS_GROUP)) &&
           status_streq(status_or(a->kind, "Gateway"), status_or(b->kind, "Gateway")) &&
           status_streq(status_or(a->namespace, ns), status_or(b->namespace, ns)) &&
           status_streq(a->name, b->name) &&
           status_streq(status_or(a->section_name, ""), status_or(b->section_name, "")) &&
           a->port == b->port;
}

int kgc_status_httproute_patch(const struct kgc_status_httproute *desired,
                               const struct kgc_api_httproute *current, json_object **patch,
                               struct kgc_err *err)
{
    if (!patch || !desired)
        return kgc_err_set(err, KGC_EINVAL, "status: httproute patch needs a desired status");
    *patch = NULL;
    const struct kgc_api_httproute *cur = current ? current : desired->route;
    if (!cur)
        return 0;
    const char *me = desired->controller_name;
    bool *used = calloc((size_t)desired->n_parents + 1, sizeof(*used));
    struct citem *items = calloc((size_t)cur->n_parents + desired->n_parents + 1, sizeof(*items));
    if (!used || !items) {
        free(used);
        free(items);
        return kgc_err_set(err, KGC_ENOMEM, "status: out of memory building the patch");
    }
    struct jb b = {false};
    size_t n = 0;
    for (uint32_t i = 0; i < cur->n_parents; i++) {
        const struct kgc_api_route_parent_status *p = &cur->parents[i];
        if (!status_streq(p->controller_name, me)) { /* another controller's: untouched */
            items[n++] =
                (struct citem){parent_json(&b, &p->parent_ref, p->controller_name,
                                           conds_from_api(&b, p->conditions, p->n_conditions)),
                               false};
            continue;
        }
        for (uint32_t k = 0; k < desired->n_parents; k++) {
            const struct kgc_status_route_parent *d = &desired->parents[k];
            if (used[k] || !same_parent(cur, &p->parent_ref, &d->parent_ref))
                continue;
            used[k] = true;
            items[n++] = (struct citem){
                parent_json(&b, &d->parent_ref, me,
                            merge_conditions(&b, p->conditions, p->n_conditions, d->conditions,
                                             d->n_conditions, parent_owned, desired->generation,
                                             desired->now)),
                true};
            break;
        } /* an entry of ours no longer wanted is dropped */
    }
    for (uint32_t k = 0; k < desired->n_parents; k++) {
        const struct kgc_status_route_parent *d = &desired->parents[k];
        if (!used[k])
            items[n++] = (struct citem){
                parent_json(&b, &d->parent_ref, me,
                            merge_conditions(&b, NULL, 0, d->conditions, d->n_conditions,
                                             parent_owned, desired->generation, desired->now)),
                true};
    }
    for (size_t i = n; n > KGC_STATUS_MAX_PARENTS && i-- > 0;) {
        if (items[i].ours) {
            json_object_put(items[i].j);
            memmove(&items[i], &items[i + 1], (n - i - 1) * sizeof(*items));
            n--;
        }
    }
    json_object *merged = jb_check(&b, json_object_new_object());
    json_object *arr = jb_check(&b, json_object_new_array());
    for (size_t i = 0; i < n; i++)
        jb_push(&b, arr, items[i].j);
    jb_add(&b, merged, "parents", arr);
    free(items);
    free(used);

    json_object *now = jb_check(&b, json_object_new_object());
    json_object *carr = jb_check(&b, json_object_new_array());
    for (uint32_t i = 0; i < cur->n_parents; i++) {
        const struct kgc_api_route_parent_status *p = &cur->parents[i];
        jb_push(&b, carr,
                parent_json(&b, &p->parent_ref, p->controller_name,
                            conds_from_api(&b, p->conditions, p->n_conditions)));
    }
    jb_add(&b, now, "parents", carr);
    return finish(&b, merged, now, cur->obj.meta.resource_version, false, patch, err);
}

/* ---- BackendTLSPolicy ----------------------------------------------------------------------- */

static const char *const ancestor_owned[] = {KGC_STATUS_ACCEPTED, KGC_STATUS_RESOLVED_REFS,
                                             KGC_STATUS_KONG_LIMITATION, NULL};

static json_object *ancestor_json(struct jb *b, const struct kgc_api_parent_ref *p,
                                  const char *controller, json_object *conds)
{
    json_object *o = jb_check(b, json_object_new_object());
    jb_add(b, o, "ancestorRef", parent_ref_json(b, p));
    jb_add_str(b, o, "controllerName", controller);
    jb_add(b, o, "conditions", conds);
    return o;
}

static bool same_ancestor(const struct kgc_api_backendtlspolicy *p,
                          const struct kgc_api_parent_ref *a, const struct kgc_api_parent_ref *d)
{
    const char *ns = p->obj.meta.namespace;
    return status_streq(status_or(a->group, KGC_STATUS_GROUP), d->group) &&
           status_streq(status_or(a->kind, "Gateway"), d->kind) &&
           status_streq(status_or(a->namespace, ns), d->namespace) &&
           status_streq(a->name, d->name) && !a->section_name && !a->port;
}

int kgc_status_backendtlspolicy_patch(const struct kgc_status_backendtlspolicy *desired,
                                      const struct kgc_api_backendtlspolicy *current,
                                      json_object **patch, struct kgc_err *err)
{
    if (!patch || !desired)
        return kgc_err_set(err, KGC_EINVAL, "status: policy patch needs a desired status");
    *patch = NULL;
    const struct kgc_api_backendtlspolicy *cur = current ? current : desired->policy;
    if (!cur)
        return 0;
    const char *me = desired->controller_name;
    bool used[KGC_STATUS_MAX_ANCESTORS] = {false};
    struct citem *items =
        calloc((size_t)cur->n_ancestors + desired->n_ancestors + 1, sizeof(*items));
    if (!items)
        return kgc_err_set(err, KGC_ENOMEM, "status: out of memory building the patch");
    struct jb b = {false};
    size_t n = 0;
    for (uint32_t i = 0; i < cur->n_ancestors; i++) {
        const struct kgc_api_policy_ancestor_status *a = &cur->ancestors[i];
        if (!status_streq(a->controller_name, me)) { /* another controller's: untouched */
            items[n++] =
                (struct citem){ancestor_json(&b, &a->ancestor_ref, a->controller_name,
                                             conds_from_api(&b, a->conditions, a->n_conditions)),
                               false};
            continue;
        }
        for (uint32_t k = 0; k < desired->n_ancestors; k++) {
            const struct kgc_status_policy_ancestor *d = &desired->ancestors[k];
            if (used[k] || !same_ancestor(cur, &a->ancestor_ref, &d->ancestor_ref))
                continue;
            used[k] = true;
            items[n++] = (struct citem){
                ancestor_json(&b, &d->ancestor_ref, me,
                              merge_conditions(&b, a->conditions, a->n_conditions, d->conditions,
                                               d->n_conditions, ancestor_owned, desired->generation,
                                               desired->now)),
                true};
            break;
        } /* an entry of ours no longer wanted is dropped */
    }
    for (uint32_t k = 0; k < desired->n_ancestors; k++) {
        const struct kgc_status_policy_ancestor *d = &desired->ancestors[k];
        if (!used[k])
            items[n++] = (struct citem){
                ancestor_json(&b, &d->ancestor_ref, me,
                              merge_conditions(&b, NULL, 0, d->conditions, d->n_conditions,
                                               ancestor_owned, desired->generation, desired->now)),
                true};
    }
    for (size_t i = n; n > KGC_STATUS_MAX_ANCESTORS && i-- > 0;) {
        if (items[i].ours) {
            json_object_put(items[i].j);
            memmove(&items[i], &items[i + 1], (n - i - 1) * sizeof(*items));
            n--;
        }
    }
    json_object *merged = jb_check(&b, json_object_new_object());
    json_object *arr = jb_check(&b, json_object_new_array());
    for (size_t i = 0; i < n; i++)
        jb_push(&b, arr, items[i].j);
    jb_add(&b, merged, "ancestors", arr);
    free(items);

    json_object *now = jb_check(&b, json_object_new_object());
    json_object *carr = jb_check(&b, json_object_new_array());
    for (uint32_t i = 0; i < cur->n_ancestors; i++) {
        const struct kgc_api_policy_ancestor_status *a = &cur->ancestors[i];
        jb_push(&b, carr,
                ancestor_json(&b, &a->ancestor_ref, a->controller_name,
                              conds_from_api(&b, a->conditions, a->n_conditions)));
    }
    jb_add(&b, now, "ancestors", carr);
    return finish(&b, merged, now, cur->obj.meta.resource_version, false, patch, err);
}

/* ---- ListenerSet ---------------------------------------------------------------------------- */

int kgc_status_listenerset_patch(const struct kgc_status_listenerset *desired,
                                 const struct kgc_api_listenerset *current, json_object **patch,
                                 struct kgc_err *err)
{
    if (!patch || !desired)
        return kgc_err_set(err, KGC_EINVAL, "status: listenerset patch needs a desired status");
    *patch = NULL;
    const struct kgc_api_listenerset *cur = current ? current : desired->set;
    if (!desired->owned || !cur)
        return 0;
    struct jb b = {false};
    json_object *merged = jb_check(&b, json_object_new_object());
    jb_add(&b, merged, "conditions",
           merge_conditions(&b, cur->conditions, cur->n_conditions, desired->conditions,
                            desired->n_conditions, gateway_owned, desired->generation,
                            desired->now));
    jb_add(&b, merged, "listeners",
           listeners_merged(&b, desired->listeners, desired->n_listeners, cur->listener_status,
                            cur->n_listener_status, desired->generation, desired->now));
    json_object *now = jb_check(&b, json_object_new_object());
    jb_add(&b, now, "conditions", conds_from_api(&b, cur->conditions, cur->n_conditions));
    jb_add(&b, now, "listeners",
           listeners_current(&b, cur->listener_status, cur->n_listener_status));
    return finish(&b, merged, now, cur->obj.meta.resource_version, false, patch, err);
}

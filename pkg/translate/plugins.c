/* Kong plugins from KongPlugin and KongClusterPlugin objects (configuration.konghq.com/v1),
 * attached the way Kong's own controller attaches them (README.md, "Kong plugins"):
 *
 *   - to every Kong route of a rule: the HTTPRoute's konghq.com/plugins annotation (names
 *     separated by commas) and the rule's ExtensionRef filters of group configuration.konghq.com
 *     (Kong's controller turns those filters into the same annotation on the Kong route:
 *     internal/dataplane/translator/subtranslator/httproute.go:1147-1162 at v3.5.9);
 *   - to the Kong service of a rule: the konghq.com/plugins annotation of each Service its
 *     backendRefs name (internal/dataplane/kongstate/kongstate.go:455-459: a Kong service takes
 *     the plugins of each of its Kubernetes Services).
 *   - to every request (a Kong plugin with no route, service or consumer): a KongClusterPlugin
 *     labelled global=true (kongstate/kongstate.go:609-614,619-657 at v3.5.9: store.go:675-697
 *     lists them by that label); two or more usable ones of the same plugin name are all left out,
 *     as Kong's controller leaves them out (kongstate.go:641-654) — Kong keys a global plugin by
 * its name alone. kgc reads no ingress.class annotation (it has no ingress class); the objects are
 *     cluster-scoped, so only a cluster administrator can make one.
 *
 * A name is a KongPlugin in the referrer's namespace, else the KongClusterPlugin of that name
 * (kongstate/plugin.go:22-50, getKongPluginOrKongClusterPlugin). A reference that resolves to
 * nothing usable is never skipped: the Gateway API says "If a reference to a custom filter type
 * cannot be resolved, the filter MUST NOT be skipped. Instead, requests that would have been
 * processed by that filter MUST receive a HTTP error response" (apis/v1/httproute_types.go:847-849
 * at v1.6.1), and a plugin left out may be the one that authenticates. The rule then answers 500
 * and the route's ResolvedRefs is False (BackendNotFound: "a reference to a resource that does
 * not exist", InvalidKind: an unsupported kind). The same holds for the annotations.
 *
 * Kong keys a plugin by (name, route, service, consumer) (kong/db/schema/entities/plugins.lua:8
 * in 3.9.1): a second plugin of the same name on one Kong route or service would make Kong reject
 * the whole configuration, so the first one (annotation, then filters in order; Services in
 * backendRef order) is kept and the others are reported (DEGRADED). The plugins kgc makes itself
 * for a rule's filters (request-transformer, response-transformer, redirect, request-termination)
 * come first on the Kong routes of that rule.
 *
 * Pure functions of the snapshot: the planning pass records the problems, the writing pass calls
 * the same functions (quiet) and meets the same plugins. */
#include "translate_internal.h"

#include "kgc/err.h"
#include "kgc/status.h"
#include "kgc/yamljson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KONG_GROUP "configuration.konghq.com"

/* The annotation value's names: split on commas, trimmed, empty ones skipped. Calls fn for each
 * (nul-terminated copy in buf). */
static const char *annotation(const struct kgc_api_obj *o)
{
    for (uint32_t i = 0; o && i < o->meta.n_annotations; i++)
        if (strcmp(o->meta.annotations[i].key, TR_PLUGINS_ANNOTATION) == 0)
            return o->meta.annotations[i].value;
    return NULL;
}

/* Next name of a comma-separated list from *pos into buf; false at the end. */
static bool next_name(const char **pos, char *buf, size_t size)
{
    const char *s = *pos;
    while (s && *s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        const char *a = s;
        *pos = e ? e + 1 : s + n;
        s = *pos;
        while (n && (*a == ' ' || *a == '\t')) {
            a++;
            n--;
        }
        while (n && (a[n - 1] == ' ' || a[n - 1] == '\t'))
            n--;
        if (!n)
            continue;
        snprintf(buf, size, "%.*s", (int)n, a);
        return true;
    }
    return false;
}

/* configFrom: the Secret's value becomes the plugin's whole config, as in Kong's controller
 * (internal/dataplane/kongstate/plugin.go:65-79 and 120-133 at v3.5.9: config and configFrom
 * together are an error; a KongClusterPlugin's secretKeyRef names its namespace, a KongPlugin's
 * Secret is in its own namespace; plugin.go:283-309: no Secret, no key or a value that is
 * neither JSON nor YAML are errors). kgc reads JSON, else YAML (kgc/yamljson.h), and wants an
 * object. The messages name
 * the Secret and key, never the value. Returns the reason, or NULL with *cfg (when cfg is not
 * NULL) the parsed config, which the caller owns. */
static const char *resolve(const struct kgc_status_lookup *lk, const struct kgc_api_kongplugin *p,
                           char *buf, size_t size, json_object **cfg)
{
    const struct kgc_api_secret_key_ref *r = p->config_from;
    const char *ns =
        p->obj.kind == KGC_API_KONGCLUSTERPLUGIN ? r->namespace : p->obj.meta.namespace;
    const char *name = r->name ? r->name : "", *key = r->key ? r->key : "";
    if (p->config) {
        snprintf(buf, size, "sets both config and configFrom (Secret %s key %s): use one", name,
                 key);
        return buf;
    }
    if (!ns || !ns[0]) {
        snprintf(buf, size,
                 "takes its configuration from Secret %s key %s (configFrom) but the "
                 "secretKeyRef has no namespace (KongClusterPlugin needs one)",
                 name, key);
        return buf;
    }
    if (!lk || !lk->secret_value) {
        snprintf(buf, size,
                 "takes its configuration from Secret %s/%s key %s (configFrom), which this kgc "
                 "does not read",
                 ns, name, key);
        return buf;
    }
    char *v = NULL;
    int rc = lk->secret_value(lk->ctx, ns, name, key, &v);
    if (rc != 0) {
        snprintf(buf, size, "takes its configuration from Secret %s/%s key %s (configFrom): %s", ns,
                 name, key,
                 rc == KGC_ENOENT   ? "no such Secret (or not read yet)"
                 : rc == KGC_ERANGE ? "the Secret has no such key"
                 : rc == KGC_ENOSPC ? "the value is bigger than 64 KiB"
                                    : "the Secret could not be read");
        free(v);
        return buf;
    }
    size_t n = strlen(v);
    json_tokener *tok = json_tokener_new();
    json_object *o = tok ? json_tokener_parse_ex(tok, v, (int)n) : NULL;
    bool whole = tok && json_tokener_get_error(tok) == json_tokener_success &&
                 (size_t)json_tokener_get_parse_end(tok) == n;
    if (tok)
        json_tokener_free(tok);
    if (!o || !whole) { /* Kong's controller: JSON, else YAML (kongstate/plugin.go:301-308) */
        json_object_put(o);
        o = NULL;
        struct kgc_err yerr = {0};
        if (kgc_yamljson_parse(v, n, &o, &yerr) != 0)
            o = NULL;
        whole = true;
    }
    for (volatile char *z = v; *z; z++) /* the value leaves no copy behind in freed memory */
        *z = 0;
    free(v);
    if (!o || !whole || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        snprintf(buf, size,
                 "takes its configuration from Secret %s/%s key %s (configFrom), whose value is "
                 "neither a JSON nor a YAML object",
                 ns, name, key);
        return buf;
    }
    if (cfg)
        *cfg = o;
    else
        json_object_put(o);
    return NULL;
}

const char *kgc_translate_plugin_problem(const struct kgc_status_lookup *lk,
                                         const struct kgc_api_kongplugin *p, char *buf, size_t size)
{
    if (!p->plugin || !p->plugin[0])
        return "has no plugin name";
    if (p->config_invalid)
        return "has a config kgc cannot use (see the object's kgcProblems in /debug/cache)";
    if (p->n_config_patches)
        return "uses configPatches, which kgc does not apply";
    if (p->config_from)
        return resolve(lk, p, buf, size, NULL);
    return NULL;
}

/* Adds the plugin named name (a KongPlugin in ns, else a KongClusterPlugin; cluster_only: a
 * KongClusterPlugin) to list, or records why it cannot be used. */
static void add_ref(struct route_ctx *rc, uint32_t ri, const char *ns, const char *name,
                    bool cluster_only, const char *where, struct tr_plugin_list *list)
{
    struct tr_ctx *c = rc->c;
    const struct kgc_api_obj *o = NULL;
    if (!cluster_only && c->lk->get)
        o = c->lk->get(c->lk->ctx, KGC_API_KONGPLUGIN, ns, name);
    if (!o && c->lk->get)
        o = c->lk->get(c->lk->ctx, KGC_API_KONGCLUSTERPLUGIN, NULL, name);
    const struct kgc_api_kongplugin *p = kgc_api_as_kongplugin(o);
    if (!p) {
        kgc_api_obj_unref(o);
        list->blocked = true;
        tr_problem_ref(c, rc->r->obj.kind, rc->ns, rc->name, (int32_t)ri,
                       KGC_STATUS_R_BACKEND_NOT_FOUND,
                       "%s: %s %s%s%s not found (or Kong rejected it: see its status); the rule "
                       "answers 500",
                       where, cluster_only ? "KongClusterPlugin" : "KongPlugin",
                       cluster_only ? "" : ns, cluster_only ? "" : "/", name);
        return;
    }
    char buf[400];
    const char *why = kgc_translate_plugin_problem(c->lk, p, buf, sizeof(buf));
    if (why) {
        list->blocked = true;
        tr_problem_ref(c, rc->r->obj.kind, rc->ns, rc->name, (int32_t)ri,
                       KGC_STATUS_R_BACKEND_NOT_FOUND, "%s: %s %s %s; the rule answers 500", where,
                       kgc_api_kind_info(p->obj.kind)->name, p->obj.meta.key, why);
        kgc_api_obj_unref(o);
        return;
    }
    for (size_t i = 0; i < list->n; i++) {
        const struct kgc_api_kongplugin *q = kgc_api_as_kongplugin(list->v[i]);
        if (q == p) { /* the same object twice: once */
            kgc_api_obj_unref(o);
            return;
        }
        if (strcmp(q->plugin, p->plugin) == 0) {
            tr_problem(c, rc->r->obj.kind, rc->ns, rc->name, (int32_t)ri, -1,
                       KGC_TRANSLATE_DEGRADED,
                       "%s: %s %s ignored: %s %s already sets plugin %s here (Kong allows one "
                       "per route or service)",
                       where, kgc_api_kind_info(p->obj.kind)->name, p->obj.meta.key,
                       kgc_api_kind_info(q->obj.kind)->name, q->obj.meta.key, p->plugin);
            kgc_api_obj_unref(o);
            return;
        }
    }
    for (size_t i = 0; i < list->n_reserved; i++) {
        if (strcmp(list->reserved[i], p->plugin) == 0) {
            tr_problem(c, rc->r->obj.kind, rc->ns, rc->name, (int32_t)ri, -1,
                       KGC_TRANSLATE_DEGRADED,
                       "%s: %s %s ignored: the rule's filters already use plugin %s (Kong allows "
                       "one per route or service)",
                       where, kgc_api_kind_info(p->obj.kind)->name, p->obj.meta.key, p->plugin);
            kgc_api_obj_unref(o);
            return;
        }
    }
    const struct kgc_api_obj **grown = realloc(list->v, (list->n + 1) * sizeof(const void *));
    if (!grown) {
        kgc_api_obj_unref(o);
        c->oom = true;
        return;
    }
    list->v = grown;
    list->v[list->n++] = o;
}

static void add_annotation(struct route_ctx *rc, uint32_t ri, const struct kgc_api_obj *o,
                           const char *what, struct tr_plugin_list *list)
{
    const char *pos = annotation(o);
    char name[256], where[400];
    while (pos && next_name(&pos, name, sizeof(name))) {
        snprintf(where, sizeof(where), "%s annotation %s", what, TR_PLUGINS_ANNOTATION);
        add_ref(rc, ri, o->meta.namespace, name, false, where, list);
    }
}

static void reserve(struct tr_plugin_list *l, const char *name)
{
    if (l->n_reserved < sizeof(l->reserved) / sizeof(l->reserved[0]))
        l->reserved[l->n_reserved++] = name;
}

bool tr_is_plugin_filter(const struct kgc_api_http_filter *fl)
{
    return fl->type && strcmp(fl->type, "ExtensionRef") == 0 && fl->extension_ref &&
           fl->extension_ref->group && strcmp(fl->extension_ref->group, KONG_GROUP) == 0;
}

void tr_rule_plugins(struct route_ctx *rc, uint32_t ri, bool no_targets,
                     struct tr_rule_plugins *out)
{
    memset(out, 0, sizeof(*out));
    const struct kgc_api_httproute *r = rc->r;
    const struct kgc_api_http_route_rule *rule = &r->rules[ri];
    /* the plugins kgc writes itself for the filters (filters.c, tr_route_plugins) */
    for (uint32_t i = 0; i < rule->n_filters; i++) {
        const char *t = rule->filters[i].type ? rule->filters[i].type : "";
        if (strcmp(t, "RequestHeaderModifier") == 0 || strcmp(t, "URLRewrite") == 0) {
            reserve(&out->route, "request-transformer");
        } else if (strcmp(t, "ResponseHeaderModifier") == 0) {
            reserve(&out->route, "response-transformer");
        } else if (strcmp(t, "RequestRedirect") == 0) {
            reserve(&out->route, "redirect");
            reserve(&out->route, "request-termination");
            reserve(&out->route, "response-transformer");
        }
    }
    if (no_targets)
        reserve(&out->service, "request-termination");
    add_annotation(rc, ri, &r->obj, "the HTTPRoute's", &out->route);
    for (uint32_t i = 0; i < rule->n_filters; i++) {
        const struct kgc_api_http_filter *fl = &rule->filters[i];
        if (!tr_is_plugin_filter(fl))
            continue;
        char where[64];
        snprintf(where, sizeof(where), "filters[%u] ExtensionRef", i);
        const char *kind = fl->extension_ref->kind ? fl->extension_ref->kind : "";
        const char *name = fl->extension_ref->name ? fl->extension_ref->name : "";
        if (strcmp(kind, "KongPlugin") == 0 || strcmp(kind, "KongClusterPlugin") == 0) {
            add_ref(rc, ri, rc->ns, name, strcmp(kind, "KongClusterPlugin") == 0, where,
                    &out->route);
        } else {
            out->route.blocked = true;
            tr_problem_ref(rc->c, rc->r->obj.kind, rc->ns, rc->name, (int32_t)ri,
                           KGC_STATUS_R_INVALID_KIND,
                           "%s: %s/%.64s %s is not supported (KongPlugin or KongClusterPlugin "
                           "only); the rule answers 500",
                           where, KONG_GROUP, kind, name);
        }
    }
    for (uint32_t b = 0; b < rule->n_backend_refs; b++) {
        const struct kgc_api_backend_ref *br = &rule->backend_refs[b];
        if ((br->group && br->group[0]) || (br->kind && strcmp(br->kind, "Service") != 0) ||
            !br->name || !rc->c->lk->get)
            continue;
        const char *ns = br->namespace ? br->namespace : rc->ns;
        bool seen = false; /* a Service named twice gives its plugins once */
        for (uint32_t k = 0; k < b && !seen; k++) {
            const struct kgc_api_backend_ref *o = &rule->backend_refs[k];
            seen = o->name && strcmp(o->name, br->name) == 0 &&
                   strcmp(o->namespace ? o->namespace : rc->ns, ns) == 0 &&
                   !(o->group && o->group[0]) && !(o->kind && strcmp(o->kind, "Service") != 0);
        }
        if (seen)
            continue;
        const struct kgc_api_obj *svc =
            rc->c->lk->get(rc->c->lk->ctx, KGC_API_SERVICE, ns, br->name);
        if (svc && annotation(svc)) {
            char what[320];
            snprintf(what, sizeof(what), "backendRefs[%u] Service %s", b, svc->meta.key);
            add_annotation(rc, ri, svc, what, &out->service);
        }
        kgc_api_obj_unref(svc);
    }
    out->blocked = out->route.blocked || out->service.blocked;
}

static void list_free(struct tr_plugin_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        kgc_api_obj_unref(l->v[i]);
    free(l->v);
}

void tr_rule_plugins_free(struct tr_rule_plugins *rp)
{
    list_free(&rp->route);
    list_free(&rp->service);
    memset(rp, 0, sizeof(*rp));
}

/* One Kong plugin entity for p on the Kong route or service named entity_name (NULL: a global
 * plugin). */
static json_object *entity(struct tr_ctx *c, const struct kgc_api_kongplugin *p,
                           const char *entity_name)
{
    json_object *o = tr_jobj(c);
    tr_jset(c, o, "name", tr_jstr(c, p->plugin));
    if (p->instance_name && !entity_name) /* global: once, as written (kongstate.go:613) */
        tr_jset(c, o, "instance_name", tr_jstr(c, p->instance_name));
    if (p->instance_name && entity_name) {
        /* instance_name is unique among all plugins; one KongPlugin may sit on many Kong
         * entities: Kong's controller suffixes a hash of the entity (kongstate.go:592-606 at
         * v3.5.9); kgc the first 9 hex digits of the MD5 of the entity's name */
        char md5[KGC_DIGEST_MD5_HEX_LEN + 1];
        kgc_digest_md5_hex(entity_name, strlen(entity_name), md5);
        char *n = tr_printf(c, "%s-%.9s", p->instance_name, md5);
        tr_jset(c, o, "instance_name", tr_jstr(c, n));
        free(n);
    }
    json_object *cfg = p->config ? json_tokener_parse(p->config) : NULL;
    char why[400];
    if (p->config_from && resolve(c->lk, p, why, sizeof(why), &cfg))
        cfg = NULL; /* add_ref kept only usable plugins: the snapshot changed under us */
    tr_jset(c, o, "config", cfg ? cfg : tr_jobj(c));
    if (p->disabled)
        tr_jset(c, o, "enabled", json_object_new_boolean(0));
    if (p->n_protocols) {
        json_object *a = tr_jarr(c);
        for (uint32_t i = 0; i < p->n_protocols; i++)
            tr_jpush(c, a, tr_jstr(c, p->protocols[i]));
        tr_jset(c, o, "protocols", a);
    }
    if (p->ordering) { /* Kong Enterprise only: Kong 3.9.1 OSS rejects it (unknown field) */
        json_object *ord = json_tokener_parse(p->ordering);
        if (ord)
            tr_jset(c, o, "ordering", ord);
    }
    /* the plugin object's tags: a Kong error on this entity leads back to it */
    tr_jset(c, o, "tags", tr_obj_tags(c, p->obj.kind, &p->obj, -1, -1));
    c->counts.plugins++;
    return o;
}

void tr_plugins_append(struct tr_ctx *c, json_object *list, const struct tr_plugin_list *pl,
                       const char *entity_name)
{
    for (size_t i = 0; i < pl->n && list; i++)
        tr_jpush(c, list, entity(c, kgc_api_as_kongplugin(pl->v[i]), entity_name));
}

/* ---- global KongClusterPlugins --------------------------------------------------------------- */

struct globals {
    const struct kgc_status_lookup *lk;
    struct kgc_base_vec v; /* usable global KongClusterPlugins (references) */
    bool oom;
};

static bool collect_global(const struct kgc_api_obj *obj, void *ctx)
{
    struct globals *g = ctx;
    const struct kgc_api_kongplugin *p = kgc_api_as_kongplugin(obj);
    char buf[KGC_TRANSLATE_PLUGIN_WHY_MAX];
    if (!p || !p->global || kgc_translate_plugin_problem(g->lk, p, buf, sizeof(buf)))
        return true;
    if (kgc_base_vec_push(&g->v, (void *)kgc_api_obj_ref(obj)) != 0) {
        kgc_api_obj_unref(obj);
        g->oom = true;
        return false;
    }
    return true;
}

static int cmp_global(const void *a, const void *b)
{
    const struct kgc_api_kongplugin *x =
        kgc_api_as_kongplugin(*(const struct kgc_api_obj *const *)a);
    const struct kgc_api_kongplugin *y =
        kgc_api_as_kongplugin(*(const struct kgc_api_obj *const *)b);
    int d = strcmp(x->plugin, y->plugin);
    return d ? d : strcmp(x->obj.meta.name, y->obj.meta.name);
}

/* The usable global KongClusterPlugins sorted by plugin name, then object name. 0 or KGC_ENOMEM. */
static int globals_collect(const struct kgc_status_lookup *lk, struct globals *g)
{
    memset(g, 0, sizeof(*g));
    g->lk = lk;
    if (lk && lk->foreach)
        lk->foreach (lk->ctx, KGC_API_KONGCLUSTERPLUGIN, NULL, collect_global, g);
    if (g->v.n > 1)
        qsort(g->v.v, g->v.n, sizeof(*g->v.v), cmp_global);
    return g->oom ? KGC_ENOMEM : 0;
}

static void globals_free(struct globals *g)
{
    for (size_t i = 0; i < g->v.n; i++)
        kgc_api_obj_unref(g->v.v[i]);
    kgc_base_vec_free(&g->v);
}

static const struct kgc_api_kongplugin *global_at(const struct globals *g, size_t i)
{
    return kgc_api_as_kongplugin(g->v.v[i]);
}

/* Whether the i-th shares its plugin name with a neighbour (the list is sorted by name). */
static bool global_dup(const struct globals *g, size_t i, size_t *other)
{
    const char *name = global_at(g, i)->plugin;
    if (i > 0 && strcmp(global_at(g, i - 1)->plugin, name) == 0) {
        *other = i - 1;
        return true;
    }
    if (i + 1 < g->v.n && strcmp(global_at(g, i + 1)->plugin, name) == 0) {
        *other = i + 1;
        return true;
    }
    return false;
}

void tr_head_global_plugins(struct tr_ctx *c, json_object *head)
{
    if (c->oom)
        return;
    struct globals g;
    if (globals_collect(c->lk, &g) != 0) {
        c->oom = true;
        globals_free(&g);
        return;
    }
    json_object *arr = NULL;
    for (size_t i = 0; i < g.v.n && !c->oom; i++) {
        size_t other;
        if (global_dup(&g, i, &other))
            continue; /* kongstate.go:641-654: none of them */
        if (!arr)
            arr = tr_jarr(c);
        tr_jpush(c, arr, entity(c, global_at(&g, i), NULL));
    }
    if (arr)
        tr_jset(c, head, "plugins", arr); /* none: the key is left out (the document as before) */
    globals_free(&g);
}

const char *kgc_translate_global_plugin_problem(const struct kgc_status_lookup *lk,
                                                const struct kgc_api_kongplugin *p, char *buf,
                                                size_t size)
{
    if (!p->global || p->obj.kind != KGC_API_KONGCLUSTERPLUGIN)
        return "only a KongClusterPlugin is applied globally";
    const char *why = kgc_translate_plugin_problem(lk, p, buf, size);
    if (why)
        return why;
    struct globals g;
    if (globals_collect(lk, &g) != 0) {
        globals_free(&g);
        return "out of memory";
    }
    why = "is not among the KongClusterPlugins kgc reads yet";
    for (size_t i = 0; i < g.v.n; i++) {
        if (strcmp(global_at(&g, i)->obj.meta.name, p->obj.meta.name) != 0)
            continue;
        size_t other;
        if (global_dup(&g, i, &other)) {
            snprintf(buf, size,
                     "KongClusterPlugin %s is also global for plugin %s: Kong keys a global plugin "
                     "by its name, and neither is applied (as Kong's controller does)",
                     global_at(&g, other)->obj.meta.name, p->plugin);
            why = buf;
        } else {
            why = NULL;
        }
        break;
    }
    globals_free(&g);
    return why;
}

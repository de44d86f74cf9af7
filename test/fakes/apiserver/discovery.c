/* discovery — the discovery documents (aggregated apidiscovery.k8s.io/v2 and classic) and the
 * OpenAPI v3 documents kubectl reads, built from the served types and cached until they change;
 * a minimal OpenAPI v2 document (JSON or protobuf). */
#include "objstore_internal.h"

#include "jsonutil.h"
#include "kgc/err.h"
#include "kgc/strmap.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGG_CONTENT_TYPE "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

struct cached_doc {
    char *key; /* "d:/apis", "a:/apis", "o:/openapi/v3/apis/G/V" ... */
    char *body;
    size_t len;
    const char *content_type;
};

struct fas_disc_cache {
    uint64_t gen; /* s->types_gen the documents were built for */
    bool valid;
    struct kgc_strmap docs; /* key -> struct cached_doc * */
};

struct fas_disc_cache *fas_disc_cache_new(void)
{
    struct fas_disc_cache *c = calloc(1, sizeof(*c));
    if (c)
        kgc_strmap_init(&c->docs);
    return c;
}

static void cache_clear(struct fas_disc_cache *c)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (kgc_strmap_next(&c->docs, &pos, &k, &v)) {
        struct cached_doc *d = v;
        free(d->key);
        free(d->body);
        free(d);
    }
    kgc_strmap_destroy(&c->docs);
    kgc_strmap_init(&c->docs);
}

void fas_disc_cache_free(struct fas_disc_cache *c)
{
    if (!c)
        return;
    cache_clear(c);
    kgc_strmap_destroy(&c->docs);
    free(c);
}

static const char *const verbs_all[] = {
    "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch", NULL};
static const char *const verbs_status[] = {"get", "patch", "update", NULL};

static json_object *str_array(const char *const *v)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; a && v[i]; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
    return a;
}

static json_object *gvk(const char *group, const char *version, const char *kind)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    fas_json_set_str(o, "group", group);
    fas_json_set_str(o, "version", version);
    fas_json_set_str(o, "kind", kind);
    return o;
}

/* The distinct groups (excluding core) in registry order, with their versions by priority. */
struct group_info {
    const char *name;
    const char *versions[32];
    size_t n;
};

static size_t collect_groups(struct fas_store *s, struct group_info *out, size_t max)
{
    size_t n = 0;
    for (struct fas_rtype *rt = s->types; rt; rt = rt->next) {
        if (!rt->group[0])
            continue;
        size_t g = 0;
        while (g < n && strcmp(out[g].name, rt->group) != 0)
            g++;
        if (g == n) {
            if (n == max)
                continue;
            out[n].name = rt->group;
            out[n].n = 0;
            n++;
        }
        for (size_t i = 0; i < rt->n_versions; i++) {
            if (!rt->versions[i].served)
                continue;
            const char *v = rt->versions[i].name;
            size_t j = 0;
            while (j < out[g].n && strcmp(out[g].versions[j], v) != 0)
                j++;
            if (j == out[g].n && out[g].n < 32) {
                /* insert by priority */
                size_t at = 0;
                while (at < out[g].n && fas_version_compare(out[g].versions[at], v) < 0)
                    at++;
                memmove(&out[g].versions[at + 1], &out[g].versions[at],
                        (out[g].n - at) * sizeof(char *));
                out[g].versions[at] = v;
                out[g].n++;
            }
        }
    }
    return n;
}

static json_object *agg_resource(struct fas_rtype *rt, struct fas_rversion *v)
{
    json_object *r = json_object_new_object();
    if (!r)
        return NULL;
    fas_json_set_str(r, "resource", rt->plural);
    json_object_object_add(r, "responseKind", gvk(rt->group, v->name, rt->kind));
    fas_json_set_str(r, "scope", rt->namespaced ? "Namespaced" : "Cluster");
    fas_json_set_str(r, "singularResource", rt->singular);
    json_object_object_add(r, "verbs", str_array(verbs_all));
    if (json_object_array_length(rt->short_names))
        json_object_object_add(r, "shortNames", fas_json_copy(rt->short_names));
    if (json_object_array_length(rt->categories))
        json_object_object_add(r, "categories", fas_json_copy(rt->categories));
    if (v->has_status) {
        json_object *subs = json_object_new_array();
        json_object *st = json_object_new_object();
        if (subs && st) {
            fas_json_set_str(st, "subresource", "status");
            json_object_object_add(st, "responseKind", gvk(rt->group, v->name, rt->kind));
            json_object_object_add(st, "verbs", str_array(verbs_status));
            json_object_array_add(subs, st);
            json_object_object_add(r, "subresources", subs);
        } else {
            json_object_put(subs);
            json_object_put(st);
        }
    }
    return r;
}

static json_object *agg_group(struct fas_store *s, const char *group, const char *const *versions,
                              size_t nv)
{
    json_object *g = json_object_new_object();
    json_object *md = json_object_new_object();
    json_object *vs = json_object_new_array();
    if (!g || !md || !vs) {
        json_object_put(g);
        json_object_put(md);
        json_object_put(vs);
        return NULL;
    }
    if (group[0])
        fas_json_set_str(md, "name", group);
    json_object_object_add(md, "creationTimestamp", NULL);
    json_object_object_add(g, "metadata", md);
    for (size_t i = 0; i < nv; i++) {
        json_object *ver = json_object_new_object();
        json_object *res = json_object_new_array();
        if (!ver || !res) {
            json_object_put(ver);
            json_object_put(res);
            continue;
        }
        fas_json_set_str(ver, "version", versions[i]);
        for (struct fas_rtype *rt = s->types; rt; rt = rt->next) {
            if (strcmp(rt->group, group) != 0)
                continue;
            struct fas_rversion *v = fas_rtype_version(rt, versions[i]);
            if (v)
                json_object_array_add(res, agg_resource(rt, v));
        }
        json_object_object_add(ver, "resources", res);
        fas_json_set_str(ver, "freshness", "Current");
        json_object_array_add(vs, ver);
    }
    json_object_object_add(g, "versions", vs);
    return g;
}

static json_object *agg_list(void)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    fas_json_set_str(o, "kind", "APIGroupDiscoveryList");
    fas_json_set_str(o, "apiVersion", "apidiscovery.k8s.io/v2");
    json_object_object_add(o, "metadata", json_object_new_object());
    json_object_object_add(o, "items", json_object_new_array());
    return o;
}

static json_object *gv_entry(const char *group, const char *version)
{
    json_object *o = json_object_new_object();
    char gv[300];
    snprintf(gv, sizeof(gv), "%s/%s", group, version);
    if (o) {
        fas_json_set_str(o, "groupVersion", gv);
        fas_json_set_str(o, "version", version);
    }
    return o;
}

static json_object *api_group(const struct group_info *g)
{
    json_object *o = json_object_new_object();
    json_object *vs = json_object_new_array();
    if (!o || !vs) {
        json_object_put(o);
        json_object_put(vs);
        return NULL;
    }
    fas_json_set_str(o, "name", g->name);
    for (size_t i = 0; i < g->n; i++)
        json_object_array_add(vs, gv_entry(g->name, g->versions[i]));
    json_object_object_add(o, "versions", vs);
    if (g->n)
        json_object_object_add(o, "preferredVersion", gv_entry(g->name, g->versions[0]));
    return o;
}

static json_object *resource_list(struct fas_store *s, const char *group, const char *version)
{
    json_object *o = json_object_new_object();
    json_object *res = json_object_new_array();
    if (!o || !res) {
        json_object_put(o);
        json_object_put(res);
        return NULL;
    }
    char gv[300];
    if (group[0])
        snprintf(gv, sizeof(gv), "%s/%s", group, version);
    else
        snprintf(gv, sizeof(gv), "%s", version);
    fas_json_set_str(o, "kind", "APIResourceList");
    fas_json_set_str(o, "apiVersion", "v1");
    fas_json_set_str(o, "groupVersion", gv);
    size_t found = 0;
    for (struct fas_rtype *rt = s->types; rt; rt = rt->next) {
        if (strcmp(rt->group, group) != 0)
            continue;
        struct fas_rversion *v = fas_rtype_version(rt, version);
        if (!v)
            continue;
        found++;
        json_object *r = json_object_new_object();
        if (!r)
            continue;
        fas_json_set_str(r, "name", rt->plural);
        fas_json_set_str(r, "singularName", rt->singular);
        json_object_object_add(r, "namespaced", json_object_new_boolean(rt->namespaced));
        fas_json_set_str(r, "kind", rt->kind);
        json_object_object_add(r, "verbs", str_array(verbs_all));
        if (json_object_array_length(rt->short_names))
            json_object_object_add(r, "shortNames", fas_json_copy(rt->short_names));
        if (json_object_array_length(rt->categories))
            json_object_object_add(r, "categories", fas_json_copy(rt->categories));
        json_object_array_add(res, r);
        if (v->has_status) {
            json_object *st = json_object_new_object();
            char name[300];
            snprintf(name, sizeof(name), "%s/status", rt->plural);
            if (st) {
                fas_json_set_str(st, "name", name);
                fas_json_set_str(st, "singularName", "");
                json_object_object_add(st, "namespaced", json_object_new_boolean(rt->namespaced));
                fas_json_set_str(st, "kind", rt->kind);
                json_object_object_add(st, "verbs", str_array(verbs_status));
                json_object_array_add(res, st);
            }
        }
    }
    json_object_object_add(o, "resources", res);
    if (!found) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* Builds a discovery document; NULL when the path names nothing. */
static json_object *build_discovery(struct fas_store *s, const char *path, bool aggregated,
                                    const char **ctype)
{
    struct group_info groups[64];
    size_t ng = collect_groups(s, groups, 64);
    *ctype = NULL;
    if (strcmp(path, "/api") == 0) {
        if (aggregated) {
            json_object *l = agg_list();
            const char *v1[] = {"v1"};
            if (l)
                json_object_array_add(fas_json_get(l, "items"), agg_group(s, "", v1, 1));
            *ctype = AGG_CONTENT_TYPE;
            return l;
        }
        json_object *o = json_object_new_object();
        if (!o)
            return NULL;
        fas_json_set_str(o, "kind", "APIVersions");
        const char *v1[] = {"v1", NULL};
        json_object_object_add(o, "versions", str_array(v1));
        json_object *cidrs = json_object_new_array();
        json_object *c = json_object_new_object();
        if (cidrs && c) {
            fas_json_set_str(c, "clientCIDR", "0.0.0.0/0");
            fas_json_set_str(c, "serverAddress", "127.0.0.1");
            json_object_array_add(cidrs, c);
        } else {
            json_object_put(c);
        }
        json_object_object_add(o, "serverAddressByClientCIDRs", cidrs);
        return o;
    }
    if (strcmp(path, "/apis") == 0) {
        if (aggregated) {
            json_object *l = agg_list();
            for (size_t i = 0; l && i < ng; i++)
                json_object_array_add(
                    fas_json_get(l, "items"),
                    agg_group(s, groups[i].name, groups[i].versions, groups[i].n));
            *ctype = AGG_CONTENT_TYPE;
            return l;
        }
        json_object *o = json_object_new_object();
        json_object *gl = json_object_new_array();
        if (!o || !gl) {
            json_object_put(o);
            json_object_put(gl);
            return NULL;
        }
        fas_json_set_str(o, "kind", "APIGroupList");
        fas_json_set_str(o, "apiVersion", "v1");
        for (size_t i = 0; i < ng; i++)
            json_object_array_add(gl, api_group(&groups[i]));
        json_object_object_add(o, "groups", gl);
        return o;
    }
    if (strcmp(path, "/api/v1") == 0)
        return resource_list(s, "", "v1");
    if (strncmp(path, "/apis/", 6) == 0) {
        char group[256], version[64];
        const char *rest = path + 6;
        const char *slash = strchr(rest, '/');
        if (!slash) {
            for (size_t i = 0; i < ng; i++)
                if (strcmp(groups[i].name, rest) == 0) {
                    json_object *g = api_group(&groups[i]);
                    if (g) {
                        fas_json_set_str(g, "kind", "APIGroup");
                        fas_json_set_str(g, "apiVersion", "v1");
                    }
                    return g;
                }
            return NULL;
        }
        snprintf(group, sizeof(group), "%.*s", (int)(slash - rest), rest);
        snprintf(version, sizeof(version), "%s", slash + 1);
        if (strchr(version, '/'))
            return NULL;
        return resource_list(s, group, version);
    }
    return NULL;
}

/* ---- OpenAPI v3 ----------------------------------------------------------------------------- */

/* "gateway.networking.k8s.io" -> "io.k8s.networking.gateway" (reversed domain). */
static void schema_name(const struct fas_rtype *rt, const char *version, char *buf, size_t size)
{
    char rev[256] = "";
    size_t off = 0;
    const char *g = rt->group[0] ? rt->group : "core";
    const char *end = g + strlen(g);
    while (end > g) {
        const char *dot = end;
        while (dot > g && dot[-1] != '.')
            dot--;
        off += (size_t)snprintf(rev + off, sizeof(rev) - off, "%s%.*s", off ? "." : "",
                                (int)(end - dot), dot);
        if (off >= sizeof(rev))
            break;
        end = dot > g ? dot - 1 : g;
    }
    if (!rt->group[0])
        snprintf(rev, sizeof(rev), "io.k8s.api.core");
    snprintf(buf, size, "%s.%s.%s", rev, version, rt->kind);
}

static json_object *query_param(const char *name, const char *type)
{
    json_object *p = json_object_new_object();
    json_object *sch = json_object_new_object();
    if (!p || !sch) {
        json_object_put(p);
        json_object_put(sch);
        return NULL;
    }
    fas_json_set_str(p, "name", name);
    fas_json_set_str(p, "in", "query");
    fas_json_set_str(sch, "type", type);
    json_object_object_add(p, "schema", sch);
    return p;
}

static json_object *path_param(const char *name)
{
    json_object *p = query_param(name, "string");
    if (p) {
        fas_json_set_str(p, "in", "path");
        json_object_object_add(p, "required", json_object_new_boolean(1));
    }
    return p;
}

static json_object *ref_content(const char *ref)
{
    json_object *c = json_object_new_object();
    json_object *mt = json_object_new_object();
    json_object *sch = json_object_new_object();
    if (!c || !mt || !sch) {
        json_object_put(c);
        json_object_put(mt);
        json_object_put(sch);
        return NULL;
    }
    fas_json_set_str(sch, "$ref", ref);
    json_object_object_add(mt, "schema", sch);
    json_object_object_add(c, "application/json", mt);
    return c;
}

static json_object *operation(const char *action, const char *op_id, const struct fas_rtype *rt,
                              const char *version, const char *ref, bool write_params)
{
    json_object *op = json_object_new_object();
    if (!op)
        return NULL;
    fas_json_set_str(op, "operationId", op_id);
    json_object *params = json_object_new_array();
    if (params) {
        if (write_params) {
            json_object_array_add(params, query_param("dryRun", "string"));
            json_object_array_add(params, query_param("fieldManager", "string"));
            json_object_array_add(params, query_param("fieldValidation", "string"));
            if (strcmp(action, "patch") == 0)
                json_object_array_add(params, query_param("force", "boolean"));
        }
        json_object_object_add(op, "parameters", params);
    }
    if (strcmp(action, "patch") == 0) {
        json_object *rb = json_object_new_object();
        json_object *content = json_object_new_object();
        static const char *const types[] = {"application/apply-patch+yaml",
                                            "application/json-patch+json",
                                            "application/merge-patch+json", NULL};
        for (size_t i = 0; rb && content && types[i]; i++) {
            json_object *mt = json_object_new_object();
            json_object *sch = json_object_new_object();
            fas_json_set_str(sch, "$ref",
                             "#/components/schemas/io.k8s.apimachinery.pkg.apis."
                             "meta.v1.Patch");
            json_object_object_add(mt, "schema", sch);
            json_object_object_add(content, types[i], mt);
        }
        json_object_object_add(rb, "content", content);
        json_object_object_add(rb, "required", json_object_new_boolean(1));
        json_object_object_add(op, "requestBody", rb);
    } else if (strcmp(action, "put") == 0 || strcmp(action, "post") == 0) {
        json_object *rb = json_object_new_object();
        json_object_object_add(rb, "content", ref_content(ref));
        json_object_object_add(rb, "required", json_object_new_boolean(1));
        json_object_object_add(op, "requestBody", rb);
    }
    json_object *resp = json_object_new_object();
    json_object *ok = json_object_new_object();
    fas_json_set_str(ok, "description", "OK");
    json_object_object_add(ok, "content", ref_content(ref));
    json_object_object_add(resp, "200", ok);
    json_object_object_add(op, "responses", resp);
    fas_json_set_str(op, "x-kubernetes-action", action);
    json_object_object_add(op, "x-kubernetes-group-version-kind",
                           gvk(rt->group, version, rt->kind));
    return op;
}

static void add_paths(json_object *paths, const struct fas_rtype *rt, const char *version,
                      const char *ref)
{
    char base[512], item[600], coll[600], status[700], id[512];
    if (rt->group[0])
        snprintf(base, sizeof(base), "/apis/%s/%s", rt->group, version);
    else
        snprintf(base, sizeof(base), "/api/%s", version);
    if (rt->namespaced) {
        snprintf(coll, sizeof(coll), "%s/namespaces/{namespace}/%s", base, rt->plural);
    } else {
        snprintf(coll, sizeof(coll), "%s/%s", base, rt->plural);
    }
    snprintf(item, sizeof(item), "%s/{name}", coll);
    snprintf(status, sizeof(status), "%s/{name}/status", coll);
    const char *scope = rt->namespaced ? "Namespaced" : "";

    json_object *pi = json_object_new_object();
    json_object *params = json_object_new_array();
    json_object_array_add(params, path_param("name"));
    if (rt->namespaced)
        json_object_array_add(params, path_param("namespace"));
    json_object_object_add(pi, "parameters", params);
    snprintf(id, sizeof(id), "read%s%s", scope, rt->kind);
    json_object_object_add(pi, "get", operation("get", id, rt, version, ref, false));
    snprintf(id, sizeof(id), "replace%s%s", scope, rt->kind);
    json_object_object_add(pi, "put", operation("put", id, rt, version, ref, true));
    snprintf(id, sizeof(id), "patch%s%s", scope, rt->kind);
    json_object_object_add(pi, "patch", operation("patch", id, rt, version, ref, true));
    snprintf(id, sizeof(id), "delete%s%s", scope, rt->kind);
    json_object_object_add(pi, "delete", operation("delete", id, rt, version, ref, false));
    json_object_object_add(paths, item, pi);

    json_object *pc = json_object_new_object();
    json_object *cparams = json_object_new_array();
    if (rt->namespaced)
        json_object_array_add(cparams, path_param("namespace"));
    json_object_object_add(pc, "parameters", cparams);
    snprintf(id, sizeof(id), "list%s%s", scope, rt->kind);
    json_object_object_add(pc, "get", operation("list", id, rt, version, ref, false));
    snprintf(id, sizeof(id), "create%s%s", scope, rt->kind);
    json_object_object_add(pc, "post", operation("post", id, rt, version, ref, true));
    json_object_object_add(paths, coll, pc);

    struct fas_rversion *v = fas_rtype_version(rt, version);
    if (v && v->has_status) {
        json_object *ps = json_object_new_object();
        json_object *sparams = json_object_new_array();
        json_object_array_add(sparams, path_param("name"));
        if (rt->namespaced)
            json_object_array_add(sparams, path_param("namespace"));
        json_object_object_add(ps, "parameters", sparams);
        snprintf(id, sizeof(id), "read%s%sStatus", scope, rt->kind);
        json_object_object_add(ps, "get", operation("get", id, rt, version, ref, false));
        snprintf(id, sizeof(id), "replace%s%sStatus", scope, rt->kind);
        json_object_object_add(ps, "put", operation("put", id, rt, version, ref, true));
        snprintf(id, sizeof(id), "patch%s%sStatus", scope, rt->kind);
        json_object_object_add(ps, "patch", operation("patch", id, rt, version, ref, true));
        json_object_object_add(paths, status, ps);
    }
}

/* The OpenAPI v3 document of one group/version; NULL when nothing is served there. */
static json_object *build_gv_doc(struct fas_store *s, const char *group, const char *version)
{
    json_object *doc = json_object_new_object();
    json_object *info = json_object_new_object();
    json_object *paths = json_object_new_object();
    json_object *comps = json_object_new_object();
    json_object *schemas = json_object_new_object();
    if (!doc || !info || !paths || !comps || !schemas) {
        json_object_put(doc);
        json_object_put(info);
        json_object_put(paths);
        json_object_put(comps);
        json_object_put(schemas);
        return NULL;
    }
    fas_json_set_str(doc, "openapi", "3.0.0");
    fas_json_set_str(info, "title", "Kubernetes");
    fas_json_set_str(info, "version", "v1.31.0");
    json_object_object_add(doc, "info", info);
    json_object_object_add(doc, "paths", paths);
    json_object_object_add(comps, "schemas", schemas);
    json_object_object_add(doc, "components", comps);
    json_object *patch = json_object_new_object();
    fas_json_set_str(patch, "type", "object");
    fas_json_set_str(patch, "description",
                     "Patch is provided to give a concrete name and type "
                     "to the Kubernetes PATCH request body.");
    json_object_object_add(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.Patch", patch);
    size_t found = 0;
    for (struct fas_rtype *rt = s->types; rt; rt = rt->next) {
        if (strcmp(rt->group, group) != 0)
            continue;
        struct fas_rversion *v = fas_rtype_version(rt, version);
        if (!v)
            continue;
        found++;
        char name[512], ref[600];
        schema_name(rt, version, name, sizeof(name));
        snprintf(ref, sizeof(ref), "#/components/schemas/%s", name);
        json_object *sch = v->schema ? fas_json_copy(v->schema) : json_object_new_object();
        if (!sch)
            continue;
        if (!fas_json_get(sch, "type"))
            fas_json_set_str(sch, "type", "object");
        json_object *gvks = json_object_new_array();
        json_object_array_add(gvks, gvk(rt->group, version, rt->kind));
        json_object_object_add(sch, "x-kubernetes-group-version-kind", gvks);
        json_object_object_add(schemas, name, sch);
        add_paths(paths, rt, version, ref);
    }
    if (!found) {
        json_object_put(doc);
        return NULL;
    }
    return doc;
}

static void hash_hex(const char *s, size_t n, char *out, size_t size)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = '\0';
    if (!EVP_Digest(s, n, md, &mdlen, EVP_sha512(), NULL))
        return;
    size_t off = 0;
    for (unsigned i = 0; i < mdlen && off + 3 <= size; i++)
        off += (size_t)snprintf(out + off, size - off, "%02X", md[i]);
}

/* ---- cache ---------------------------------------------------------------------------------- */

static struct cached_doc *cache_put(struct fas_disc_cache *c, const char *key, json_object *doc,
                                    const char *ctype)
{
    struct cached_doc *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->key = strdup(key);
    d->body = fas_json_text_dup(doc, &d->len);
    d->content_type = ctype;
    if (!d->key || !d->body || kgc_strmap_put(&c->docs, d->key, d, NULL)) {
        free(d->key);
        free(d->body);
        free(d);
        return NULL;
    }
    return d;
}

static void cache_check(struct fas_store *s)
{
    if (!s->disc->valid || s->disc->gen != s->types_gen) {
        cache_clear(s->disc);
        s->disc->gen = s->types_gen;
        s->disc->valid = true;
    }
}

static void reply_cached(struct fas_reply *r, const struct cached_doc *d)
{
    if (!d) {
        fas_reply_no_route(r);
        return;
    }
    fas_reply_set(r, 200, d->body, d->len);
    r->content_type = d->content_type;
}

void fas_store_discovery(struct fas_store *s, const char *path, bool aggregated,
                         struct fas_reply *r)
{
    char key[600];
    bool agg = aggregated && (strcmp(path, "/api") == 0 || strcmp(path, "/apis") == 0);
    snprintf(key, sizeof(key), "%c:%s", agg ? 'a' : 'd', path);
    pthread_mutex_lock(&s->mu);
    cache_check(s);
    struct cached_doc *d = kgc_strmap_get(&s->disc->docs, key);
    if (!d) {
        const char *ctype = NULL;
        json_object *doc = build_discovery(s, path, agg, &ctype);
        if (doc)
            d = cache_put(s->disc, key, doc, ctype);
        json_object_put(doc);
    }
    reply_cached(r, d);
    pthread_mutex_unlock(&s->mu);
}

/* The cached GV document for "api/v1" or "apis/G/V" (built on first use). */
static struct cached_doc *gv_doc(struct fas_store *s, const char *gvpath)
{
    char key[600];
    snprintf(key, sizeof(key), "o:%s", gvpath);
    struct cached_doc *d = kgc_strmap_get(&s->disc->docs, key);
    if (d)
        return d;
    char group[256] = "", version[64] = "";
    if (strncmp(gvpath, "api/", 4) == 0) {
        snprintf(version, sizeof(version), "%s", gvpath + 4);
    } else if (strncmp(gvpath, "apis/", 5) == 0) {
        const char *g = gvpath + 5;
        const char *slash = strchr(g, '/');
        if (!slash)
            return NULL;
        snprintf(group, sizeof(group), "%.*s", (int)(slash - g), g);
        snprintf(version, sizeof(version), "%s", slash + 1);
    } else {
        return NULL;
    }
    if (!version[0] || strchr(version, '/'))
        return NULL;
    json_object *doc = build_gv_doc(s, group, version);
    if (!doc)
        return NULL;
    d = cache_put(s->disc, key, doc, NULL);
    json_object_put(doc);
    return d;
}

void fas_store_openapi(struct fas_store *s, const char *path, struct fas_reply *r)
{
    pthread_mutex_lock(&s->mu);
    cache_check(s);
    if (strcmp(path, "/openapi/v3") == 0 || strcmp(path, "/openapi/v3/") == 0) {
        struct cached_doc *d = kgc_strmap_get(&s->disc->docs, "o:root");
        if (!d) {
            json_object *root = json_object_new_object();
            json_object *paths = json_object_new_object();
            if (root && paths) {
                json_object_object_add(root, "paths", paths);
                struct group_info groups[64];
                size_t ng = collect_groups(s, groups, 64);
                char gvpath[400], url[700], hash[160];
                for (size_t i = 0; i <= ng; i++) {
                    size_t nv = i < ng ? groups[i].n : 1;
                    for (size_t j = 0; j < nv; j++) {
                        if (i < ng)
                            snprintf(gvpath, sizeof(gvpath), "apis/%s/%s", groups[i].name,
                                     groups[i].versions[j]);
                        else
                            snprintf(gvpath, sizeof(gvpath), "api/v1");
                        struct cached_doc *gd = gv_doc(s, gvpath);
                        if (!gd)
                            continue;
                        hash_hex(gd->body, gd->len, hash, sizeof(hash));
                        snprintf(url, sizeof(url), "/openapi/v3/%s?hash=%s", gvpath, hash);
                        json_object *e = json_object_new_object();
                        fas_json_set_str(e, "serverRelativeURL", url);
                        json_object_object_add(paths, gvpath, e);
                    }
                }
                d = cache_put(s->disc, "o:root", root, NULL);
            } else {
                json_object_put(paths);
            }
            json_object_put(root);
        }
        reply_cached(r, d);
    } else if (strncmp(path, "/openapi/v3/", 12) == 0) {
        reply_cached(r, gv_doc(s, path + 12));
    } else {
        fas_reply_no_route(r);
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- OpenAPI v2 ----------------------------------------------------------------------------- */

/* kubectl reads /openapi/v2 for client-side validation when the server-side kind cannot take it:
 * a `kind: List` (k8s.io/kubectl/pkg/validation: the query-param verifiers answer "unsupported"
 * for v1 List, so the schema validation runs) and client-go's DiscoveryClient.OpenAPISchema asks
 * for protobuf only (discovery_client.go: Accept openAPIV2mimePb, then proto.Unmarshal into a
 * gnostic openapi_v2.Document). The document served here has no definitions: kubectl skips the
 * validation of kinds it has no schema for (validation.schemaValidation.validateResource: "resource
 * is not present, let's just skip validation") and the server validates each item as usual. */
#define OPENAPI_V2_PB "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

static void pb_varint(struct fas_buf *b, uint64_t v)
{
    unsigned char c[10];
    size_t n = 0;
    do {
        c[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            c[n] |= 0x80;
        n++;
    } while (v);
    fas_buf_append(b, c, n);
}

/* A length-delimited field (wire type 2): a string or an embedded message. */
static void pb_bytes(struct fas_buf *b, unsigned field, const void *p, size_t n)
{
    pb_varint(b, ((uint64_t)field << 3) | 2);
    pb_varint(b, n);
    fas_buf_append(b, p, n);
}

/* gnostic openapiv2/OpenAPIv2.proto: Document {string swagger = 1; Info info = 2; Paths paths = 8;
 * Definitions definitions = 9}, Info {string title = 1; string version = 2}. Paths and Definitions
 * are present and empty. */
static char *openapi_v2_pb(size_t *len)
{
    static const char title[] = "Kubernetes", version[] = "v1.31.0";
    struct fas_buf info, doc;
    fas_buf_init(&info);
    fas_buf_init(&doc);
    pb_bytes(&info, 1, title, strlen(title));
    pb_bytes(&info, 2, version, strlen(version));
    pb_bytes(&doc, 1, "2.0", 3);
    pb_bytes(&doc, 2, info.data, info.len);
    pb_bytes(&doc, 8, "", 0);
    pb_bytes(&doc, 9, "", 0);
    fas_buf_free(&info);
    return fas_buf_take(&doc, len);
}

/* One Accept clause: its media type (without parameters) and q (1 when absent). */
static void accept_clause(const char *s, size_t n, char *type, size_t size, double *q)
{
    *q = 1.0;
    const char *semi = memchr(s, ';', n);
    size_t tl = semi ? (size_t)(semi - s) : n;
    while (tl && (s[tl - 1] == ' ' || s[tl - 1] == '\t'))
        tl--;
    while (tl && (*s == ' ' || *s == '\t'))
        s++, tl--, n--;
    snprintf(type, size, "%.*s", (int)tl, s);
    for (const char *p = semi; p && p < s + n; p = memchr(p + 1, ';', (size_t)(s + n - p - 1))) {
        const char *v = p + 1;
        while (v < s + n && *v == ' ')
            v++;
        if (v + 2 <= s + n && v[0] == 'q' && v[1] == '=')
            *q = strtod(v + 2, NULL);
    }
}

void fas_store_openapi_v2(const char *accept, struct fas_reply *r)
{
    /* kube-openapi pkg/handler/handler.go RegisterOpenAPIVersionedService: the clauses in order of
     * preference (goautoneg: q, highest first), the first one that names application/json or the
     * protobuf type (wildcards included) wins; none: 406. An absent Accept is * / *. */
    if (!accept || !accept[0])
        accept = "*/*";
    double best_q = 0;
    int best = -1; /* 0: JSON, 1: protobuf */
    for (const char *p = accept; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char type[160];
        double q;
        accept_clause(p, n, type, sizeof(type), &q);
        int which = -1;
        if (strcmp(type, "application/json") == 0 || strcmp(type, "application/*") == 0 ||
            strcmp(type, "*/*") == 0)
            which = 0;
        else if (strcmp(type, OPENAPI_V2_PB) == 0)
            which = 1;
        if (which >= 0 && q > best_q) {
            best_q = q;
            best = which;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (best < 0) {
        char *empty = strdup("");
        fas_reply_take(r, 406, empty, 0);
        return;
    }
    if (best == 1) {
        size_t len = 0;
        char *pb = openapi_v2_pb(&len);
        fas_reply_take(r, 200, pb, len);
        /* kube-openapi serves it with http.ServeContent, which sniffs the type of binary data as
         * application/octet-stream; the media type kubectl asked for has an "@", which Go's
         * mime.ParseMediaType (client-go checks the Content-Type) refuses. */
        r->content_type = "application/octet-stream";
        return;
    }
    static const char json[] = "{\"swagger\":\"2.0\",\"info\":{\"title\":\"Kubernetes\","
                               "\"version\":\"v1.31.0\"},\"paths\":{},\"definitions\":{}}";
    fas_reply_set(r, 200, json, strlen(json));
}

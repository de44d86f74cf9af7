/* The translation context's plumbing, used by every other file here and depending on none but
 * kong_values.c (pointer arrays are kgc_base_vec, kgc/base.h): json-c constructors and string
 * helpers that record an allocation failure in the context (c->oom) instead of returning it, the
 * problem list, the k8s-* tags every Kong entity carries, and reading every object of a kind from
 * the snapshot. */
#include "translate_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- json helpers ---------------------------------------------------------------------------- */

json_object *tr_jstr(struct tr_ctx *c, const char *s)
{
    json_object *j = json_object_new_string(s ? s : "");
    if (!j)
        c->oom = true;
    return j;
}

json_object *tr_jint(struct tr_ctx *c, int64_t v)
{
    json_object *j = json_object_new_int64(v);
    if (!j)
        c->oom = true;
    return j;
}

json_object *tr_jobj(struct tr_ctx *c)
{
    json_object *j = json_object_new_object();
    if (!j)
        c->oom = true;
    return j;
}

json_object *tr_jarr(struct tr_ctx *c)
{
    json_object *j = json_object_new_array();
    if (!j)
        c->oom = true;
    return j;
}

void tr_jset(struct tr_ctx *c, json_object *obj, const char *key, json_object *val)
{
    if (!obj || !val || json_object_object_add(obj, key, val) != 0) {
        json_object_put(val);
        c->oom = true;
    }
}

void tr_jpush(struct tr_ctx *c, json_object *arr, json_object *val)
{
    if (!arr || !val || json_object_array_add(arr, val) != 0) {
        json_object_put(val);
        c->oom = true;
    }
}

char *tr_strdup(struct tr_ctx *c, const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        c->oom = true;
    return d;
}

char *tr_printf(struct tr_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        c->oom = true;
        return NULL;
    }
    return s;
}

/* ---- problems -------------------------------------------------------------------------------- */

static void vproblem(struct tr_ctx *c, enum kgc_api_kind kind, const char *ns, const char *name,
                     int32_t rule, int32_t match, enum kgc_translate_severity sev,
                     const char *ref_reason, const char *fmt, va_list ap)
{
    if (c->quiet) /* a writing pass meets again what the planning pass recorded */
        return;
    if (c->n_problems == c->cap_problems) {
        size_t ncap = c->cap_problems ? 2 * c->cap_problems : 16;
        struct kgc_translate_problem *grown = realloc(c->problems, ncap * sizeof(*grown));
        if (!grown) {
            c->oom = true;
            return;
        }
        c->problems = grown;
        c->cap_problems = ncap;
    }
    struct kgc_translate_problem *p = &c->problems[c->n_problems];
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->rule = rule;
    p->match = match;
    p->severity = sev;
    p->ref_reason = ref_reason;
    p->namespace = tr_strdup(c, ns);
    p->name = tr_strdup(c, name);
    if (vasprintf(&p->message, fmt, ap) < 0) {
        p->message = NULL;
        c->oom = true;
    }
    c->n_problems++; /* kept even when a string is missing: output_free copes */
}

void tr_problem(struct tr_ctx *c, enum kgc_api_kind kind, const char *ns, const char *name,
                int32_t rule, int32_t match, enum kgc_translate_severity sev, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vproblem(c, kind, ns, name, rule, match, sev, NULL, fmt, ap);
    va_end(ap);
}

void tr_problem_ref(struct tr_ctx *c, enum kgc_api_kind kind, const char *ns, const char *name,
                    int32_t rule, const char *ref_reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vproblem(c, kind, ns, name, rule, -1, KGC_TRANSLATE_NOTE, ref_reason, fmt, ap);
    va_end(ap);
}

bool tr_grow(struct tr_ctx *c, void **arr, uint32_t n, size_t elem)
{
    if (n & (n - 1))
        return true; /* the capacity is the power of two above n: there is room */
    void *p = realloc(*arr, (n ? 2 * (size_t)n : 1) * elem);
    if (!p) {
        c->oom = true;
        return false;
    }
    *arr = p;
    return true;
}

/* ---- tags ------------------------------------------------------------------------------------ */

/* Another reference to a shared json value (tag arrays are built once and shared). */
json_object *tr_jref(json_object *o)
{
    return o ? json_object_get(o) : NULL;
}

/* Tags in kgc's fixed order for an object of kind; rule/match < 0 are left out. */
json_object *tr_obj_tags_ext(struct tr_ctx *c, enum kgc_api_kind kind, const struct kgc_api_obj *o,
                             int32_t rule, int32_t match, bool minimal)
{
    const struct kgc_api_kind_info *ki = kgc_api_kind_info(kind);
    json_object *t = tr_jarr(c);
    char buf[320];
    /* a name Kong would refuse as a tag (a control character, ',' or '/': no Kubernetes name
     * has one, but the cache takes what it is given) is left out rather than failing the whole
     * configuration */
    snprintf(buf, sizeof(buf), "k8s-name:%s", o->meta.name ? o->meta.name : "");
    if (tr_kong_tag(buf))
        tr_jpush(c, t, tr_jstr(c, buf));
    if (o->meta.namespace) {
        snprintf(buf, sizeof(buf), "k8s-namespace:%s", o->meta.namespace);
        if (tr_kong_tag(buf))
            tr_jpush(c, t, tr_jstr(c, buf));
    }
    snprintf(buf, sizeof(buf), "k8s-kind:%s", ki->name);
    tr_jpush(c, t, tr_jstr(c, buf));
    if (minimal)
        goto indexes;
    if (tr_tag_value(o->meta.uid)) {
        snprintf(buf, sizeof(buf), "k8s-uid:%s", o->meta.uid);
        tr_jpush(c, t, tr_jstr(c, buf));
    }
    if (ki->group[0]) {
        snprintf(buf, sizeof(buf), "k8s-group:%s", ki->group);
        tr_jpush(c, t, tr_jstr(c, buf));
    }
    snprintf(buf, sizeof(buf), "k8s-version:%s", ki->version);
    tr_jpush(c, t, tr_jstr(c, buf));
indexes:
    if (rule >= 0) {
        snprintf(buf, sizeof(buf), "k8s-rule:%d", rule);
        tr_jpush(c, t, tr_jstr(c, buf));
    }
    if (match >= 0) {
        snprintf(buf, sizeof(buf), "k8s-match:%d", match);
        tr_jpush(c, t, tr_jstr(c, buf));
    }
    return t;
}

json_object *tr_obj_tags(struct tr_ctx *c, enum kgc_api_kind kind, const struct kgc_api_obj *o,
                         int32_t rule, int32_t match)
{
    return tr_obj_tags_ext(c, kind, o, rule, match, false);
}

/* ---- reading the snapshot -------------------------------------------------------------------- */

static bool collect_visit(const struct kgc_api_obj *obj, void *fnctx)
{
    struct kgc_base_vec *v = ((void **)fnctx)[0];
    struct tr_ctx *c = ((void **)fnctx)[1];
    if (kgc_base_vec_push(v, (void *)kgc_api_obj_ref(obj)) != 0) {
        kgc_api_obj_unref(obj);
        c->oom = true;
        return false;
    }
    return true;
}

static int cmp_obj_key(const void *a, const void *b)
{
    const struct kgc_api_obj *x = *(const struct kgc_api_obj *const *)a;
    const struct kgc_api_obj *y = *(const struct kgc_api_obj *const *)b;
    return strcmp(x->meta.key ? x->meta.key : "", y->meta.key ? y->meta.key : "");
}

/* Every object of kind, referenced, sorted by key. */
void tr_collect(struct tr_ctx *c, enum kgc_api_kind kind, struct kgc_base_vec *out)
{
    void *ctx[2] = {out, c};
    if (c->lk->foreach)
        c->lk->foreach (c->lk->ctx, kind, NULL, collect_visit, ctx);
    for (size_t i = 0; kind == KGC_API_GATEWAY && i < out->n; i++) {
        /* Gateways come merged with their ListenerSets (listener indexes are the merged ones) */
        const struct kgc_api_gateway *m =
            kgc_status_gateway_merged(c->lk, kgc_api_as_gateway(out->v[i]));
        if (!m) {
            c->oom = true;
            continue;
        }
        kgc_api_obj_unref(out->v[i]);
        out->v[i] = (void *)&m->obj;
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_obj_key);
}

const struct kgc_api_obj *tr_gateway_get(struct tr_ctx *c, const char *ns, const char *name)
{
    const struct kgc_api_obj *o =
        c->lk->get ? c->lk->get(c->lk->ctx, KGC_API_GATEWAY, ns, name) : NULL;
    const struct kgc_api_gateway *gw = kgc_api_as_gateway(o);
    if (!gw)
        return o;
    const struct kgc_api_gateway *m = kgc_status_gateway_merged(c->lk, gw);
    kgc_api_obj_unref(o);
    if (!m)
        c->oom = true;
    return m ? &m->obj : NULL;
}

void tr_release_all(struct kgc_base_vec *v)
{
    for (size_t i = 0; i < v->n; i++)
        kgc_api_obj_unref(v->v[i]);
    kgc_base_vec_free(v);
}

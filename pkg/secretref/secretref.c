/* The bounded reader of the Secret values Kong plugins name (include/kgc/secretref.h). */
#include "kgc/secretref.h"

#include "kgc/api.h"
#include "kgc/base.h"
#include "kgc/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMPONENT "secretref"

struct entry {
    char *ns, *name, *key;
    int rc;      /* 0: value holds the key's value; else what secret_value() returns */
    char *value; /* malloc'd, NUL-terminated; NULL unless rc == 0 */
};

struct table {
    struct entry *v;
    size_t n;
};

struct kgc_secretref {
    struct kgc_secretref_options o;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct table t; /* under mu */
    bool stop, wake, started;
    pthread_t thread;
};

static void wipe_free(char *v)
{
    if (!v)
        return;
    for (volatile char *z = v; *z; z++)
        *z = 0;
    free(v);
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].ns);
        free(t->v[i].name);
        free(t->v[i].key);
        wipe_free(t->v[i].value);
    }
    free(t->v);
    memset(t, 0, sizeof(*t));
}

/* ---- the references plugin objects make ------------------------------------------------------ */

struct collect {
    struct table *t;
    bool oom;
};

static bool collect_one(const struct kgc_api_obj *obj, void *ctx)
{
    struct collect *c = ctx;
    const struct kgc_api_kongplugin *p = kgc_api_as_kongplugin(obj);
    if (!p || !p->config_from || !p->config_from->name || !p->config_from->key)
        return true;
    const char *ns =
        obj->kind == KGC_API_KONGCLUSTERPLUGIN ? p->config_from->namespace : obj->meta.namespace;
    if (!ns || !ns[0])
        return true;
    for (size_t i = 0; i < c->t->n; i++)
        if (strcmp(c->t->v[i].ns, ns) == 0 && strcmp(c->t->v[i].name, p->config_from->name) == 0 &&
            strcmp(c->t->v[i].key, p->config_from->key) == 0)
            return true;
    if (c->t->n >= KGC_SECRETREF_MAX)
        return false;
    struct entry *grown = realloc(c->t->v, (c->t->n + 1) * sizeof(*grown));
    if (!grown) {
        c->oom = true;
        return false;
    }
    c->t->v = grown;
    struct entry *e = &grown[c->t->n];
    memset(e, 0, sizeof(*e));
    e->ns = strdup(ns);
    e->name = strdup(p->config_from->name);
    e->key = strdup(p->config_from->key);
    e->rc = KGC_ENOENT;
    c->t->n++;
    if (!e->ns || !e->name || !e->key)
        c->oom = true;
    return !c->oom;
}

/* One GET: the key's decoded value or why not. */
static void read_one(struct kgc_secretref *s, struct entry *e)
{
    static const struct kgc_k8s_resource secrets = {"", "v1", "secrets", true};
    char path[1024];
    if (kgc_k8s_path(path, sizeof(path), &secrets, e->ns, e->name, NULL) != 0) {
        e->rc = KGC_ENOENT;
        return;
    }
    json_object *obj = NULL;
    struct kgc_err err = {0};
    int rc = kgc_k8s_get(s->o.client, path, &obj, NULL, &err);
    if (rc != 0) {
        e->rc = KGC_ENOENT;
        if (rc != KGC_ENOENT) /* the error text is the API server's, never the value */
            kgc_warn(COMPONENT, "cannot read a Secret a Kong plugin names",
                     KGC_F_STR("namespace", e->ns), KGC_F_STR("name", e->name),
                     KGC_F_STR("error", err.msg));
        return;
    }
    json_object *data = NULL, *v = NULL;
    if (!json_object_object_get_ex(obj, "data", &data) ||
        !json_object_object_get_ex(data, e->key, &v) || !json_object_is_type(v, json_type_string)) {
        e->rc = KGC_ERANGE;
    } else {
        size_t n = (size_t)json_object_get_string_len(v), len = 0;
        unsigned char *dec = NULL;
        if (n > (KGC_API_KONGPLUGIN_CONFIG_MAX / 3 + 1) * 4 + 64) {
            e->rc = KGC_ENOSPC;
        } else if (kgc_api_base64_decode(json_object_get_string(v), n, &dec, &len) != 0) {
            e->rc = KGC_ERANGE;
        } else if (len > KGC_API_KONGPLUGIN_CONFIG_MAX) {
            e->rc = KGC_ENOSPC;
        } else {
            e->rc = 0;
            e->value = (char *)dec;
            dec = NULL;
        }
        wipe_free((char *)dec);
    }
    /* the parsed Secret holds every key's value: json-c's strings are freed with the tree (not
     * wiped; the process's own memory only) */
    json_object_put(obj);
}

static bool same(const struct table *a, const struct table *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const struct entry *x = &a->v[i], *y = &b->v[i];
        if (strcmp(x->ns, y->ns) != 0 || strcmp(x->name, y->name) != 0 ||
            strcmp(x->key, y->key) != 0 || x->rc != y->rc ||
            (x->value && strcmp(x->value, y->value) != 0))
            return false;
    }
    return true;
}

void kgc_secretref_refresh(struct kgc_secretref *s)
{
    struct table t = {0};
    struct collect c = {.t = &t};
    s->o.base.foreach (s->o.base.ctx, KGC_API_KONGPLUGIN, NULL, collect_one, &c);
    if (!c.oom && t.n < KGC_SECRETREF_MAX)
        s->o.base.foreach (s->o.base.ctx, KGC_API_KONGCLUSTERPLUGIN, NULL, collect_one, &c);
    if (c.oom) {
        kgc_error(COMPONENT, "out of memory collecting the Secrets Kong plugins name",
                  KGC_F_STR("kind", "Secret"));
        table_free(&t);
        return;
    }
    for (size_t i = 0; i < t.n; i++)
        read_one(s, &t.v[i]);
    pthread_mutex_lock(&s->mu);
    bool changed = !same(&s->t, &t);
    struct table old = s->t;
    s->t = t;
    pthread_mutex_unlock(&s->mu);
    table_free(&old);
    if (changed && s->o.on_change)
        s->o.on_change(s->o.on_change_ctx);
}

/* ---- the lookup --------------------------------------------------------------------------- */

static const struct kgc_api_obj *fwd_get(void *ctx, enum kgc_api_kind kind, const char *ns,
                                         const char *name)
{
    struct kgc_secretref *s = ctx;
    return s->o.base.get(s->o.base.ctx, kind, ns, name);
}

static void fwd_foreach(void *ctx, enum kgc_api_kind kind, const char *ns, kgc_status_visit_fn fn,
                        void *fnctx)
{
    struct kgc_secretref *s = ctx;
    s->o.base.foreach (s->o.base.ctx, kind, ns, fn, fnctx);
}

static void fwd_routes(void *ctx, enum kgc_api_kind kind, const char *gw_ns, const char *gw_name,
                       kgc_status_visit_fn fn, void *fnctx)
{
    struct kgc_secretref *s = ctx;
    s->o.base.foreach_route_of_gateway(s->o.base.ctx, kind, gw_ns, gw_name, fn, fnctx);
}

static int secret_value(void *ctx, const char *ns, const char *name, const char *key, char **out)
{
    struct kgc_secretref *s = ctx;
    *out = NULL;
    int rc = KGC_ENOENT;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->t.n; i++) {
        const struct entry *e = &s->t.v[i];
        if (strcmp(e->ns, ns) != 0 || strcmp(e->name, name) != 0 || strcmp(e->key, key) != 0)
            continue;
        rc = e->rc;
        if (rc == 0) {
            *out = strdup(e->value);
            if (!*out)
                rc = KGC_ENOMEM;
        }
        break;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void kgc_secretref_lookup(struct kgc_secretref *s, struct kgc_status_lookup *out)
{
    *out = (struct kgc_status_lookup){.get = fwd_get,
                                      .foreach = fwd_foreach,
                                      .foreach_route_of_gateway =
                                          s->o.base.foreach_route_of_gateway ? fwd_routes : NULL,
                                      .secret_value = secret_value,
                                      .ctx = s};
}

/* ---- the worker ----------------------------------------------------------------------------- */

static void on_plugin(enum kgc_api_kind kind, const struct kgc_api_obj *old_obj,
                      const struct kgc_api_obj *new_obj, void *ctx)
{
    (void)kind;
    (void)old_obj;
    (void)new_obj;
    struct kgc_secretref *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->wake = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

int kgc_secretref_watch_cache(struct kgc_secretref *s, struct kgc_cache *cache)
{
    if (kgc_cache_add_handler(cache, KGC_API_KONGPLUGIN, on_plugin, s) != 0 ||
        kgc_cache_add_handler(cache, KGC_API_KONGCLUSTERPLUGIN, on_plugin, s) != 0)
        return KGC_ENOMEM;
    return 0;
}

static void *worker(void *arg)
{
    struct kgc_secretref *s = arg;
    pthread_setname_np(pthread_self(), "kgc-secretref");
    for (;;) {
        pthread_mutex_lock(&s->mu);
        uint64_t deadline = kgc_clock_now(s->o.clock) + s->o.period_ns;
        enum kgc_base_wait w =
            kgc_base_wait_until(&s->cond, &s->mu, s->o.clock, deadline, &s->stop, &s->wake);
        s->wake = false;
        pthread_mutex_unlock(&s->mu);
        if (w == KGC_BASE_WAIT_STOPPED)
            return NULL;
        kgc_secretref_refresh(s);
    }
}

int kgc_secretref_new(const struct kgc_secretref_options *o, struct kgc_secretref **out,
                      struct kgc_err *err)
{
    if (!o || !o->client || !o->base.get || !o->base.foreach || !out || !o->period_ns)
        return kgc_err_set(err, KGC_EINVAL,
                           "secretref: client, lookup, period and out are required");
    struct kgc_secretref *s = calloc(1, sizeof(*s));
    if (!s)
        return kgc_err_set(err, KGC_ENOMEM, "secretref: out of memory");
    s->o = *o;
    if (!s->o.clock)
        s->o.clock = kgc_clock_real();
    pthread_mutex_init(&s->mu, NULL);
    if (kgc_base_cond_init(&s->cond) != 0) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return kgc_err_set(err, KGC_ENOMEM, "secretref: cannot make a condition variable");
    }
    s->wake = true; /* the first pass at start */
    *out = s;
    return 0;
}

int kgc_secretref_start(struct kgc_secretref *s, struct kgc_err *err)
{
    if (pthread_create(&s->thread, NULL, worker, s) != 0)
        return kgc_err_set(err, KGC_ENOMEM, "secretref: cannot start its thread");
    s->started = true;
    return 0;
}

void kgc_secretref_stop(struct kgc_secretref *s)
{
    if (!s || !s->started)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    s->started = false;
}

void kgc_secretref_free(struct kgc_secretref *s)
{
    if (!s)
        return;
    kgc_secretref_stop(s);
    table_free(&s->t);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

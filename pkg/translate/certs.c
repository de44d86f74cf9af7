/* Certificates: for every Gateway of kgc's class, the TLS Secrets of its usable HTTPS listeners
 * and terminating TLS listeners →
 * Kong certificates with their snis: the listener's hostname, or "*" for a listener without one
 * (one certificate per SNI; a NOTE problem says why a listener gets none), then the Gateways'
 * backend client certificates (backendtls.c). Calls context.c, kong_values.c and backendtls.c. */
#include "translate_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cert_sni {
    char *name;                        /* owned */
    const struct kgc_api_obj *gateway; /* the first Gateway that asked for it (ref held) */
};

struct cert {
    char *key;                           /* "ns/name" of the Secret (owned; the map's key) */
    const struct kgc_api_secret *secret; /* ref held */
    struct kgc_base_vec snis;            /* struct cert_sni * */
};

struct cert_ctx {
    struct tr_ctx *c;
    struct kgc_strmap certs; /* Secret key → struct cert * */
    struct kgc_strmap snis;  /* SNI name → struct cert * (Kong serves one certificate per SNI) */
    struct kgc_base_vec gateways; /* refs of every Gateway, sorted by key */
};

bool tr_gateway_owned(struct tr_ctx *c, const struct kgc_api_gateway *gw)
{
    if (!gw->gateway_class_name || !c->lk->get)
        return false;
    const struct kgc_api_obj *o =
        c->lk->get(c->lk->ctx, KGC_API_GATEWAYCLASS, NULL, gw->gateway_class_name);
    const struct kgc_api_gatewayclass *gc = kgc_api_as_gatewayclass(o);
    bool owned = gc && gc->controller_name && strcmp(gc->controller_name, c->controller) == 0;
    kgc_api_obj_unref(o);
    return owned;
}

/* The certificate entry of a usable TLS Secret for listener li's ref k, or NULL (NOTE given). */
static struct cert *listener_cert(struct cert_ctx *x, const struct kgc_api_gateway *gw, uint32_t li,
                                  uint32_t k)
{
    struct tr_ctx *c = x->c;
    const struct kgc_api_object_ref *ref = &gw->listeners[li].tls->certificate_refs[k];
    const char *gns = gw->obj.meta.namespace, *gname = gw->obj.meta.name;
    const char *lname = gw->listeners[li].name ? gw->listeners[li].name : "";
    /* a ListenerSet listener's references are the set's (its namespace, its ReferenceGrants) */
    const struct kgc_api_listenerset *origin = kgc_api_listener_origin(gw, li);
    const char *from_ns = origin ? origin->obj.meta.namespace : gns;
    const char *from_kind = origin ? "ListenerSet" : "Gateway";
    const char *ns = ref->namespace ? ref->namespace : from_ns, *name = ref->name ? ref->name : "";
#define GW_NOTE(...)                                                                               \
    tr_problem(c, KGC_API_GATEWAY, gns, gname, -1, -1, KGC_TRANSLATE_NOTE, __VA_ARGS__)
    if ((ref->group && ref->group[0]) || (ref->kind && strcmp(ref->kind, "Secret") != 0)) {
        GW_NOTE("listener %s certificateRefs[%u] is not a core Secret: no certificate", lname, k);
        return NULL;
    }
    if (strcmp(ns, from_ns) != 0 &&
        !kgc_status_reference_granted(c->lk, TR_GW_GROUP, from_kind, from_ns, "", "Secret", ns,
                                      name)) {
        GW_NOTE("listener %s certificateRefs[%u]: Secret %s/%s is not permitted by a "
                "ReferenceGrant: no certificate",
                lname, k, ns, name);
        return NULL;
    }
    char key[600];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    struct cert *ce = kgc_strmap_get(&x->certs, key);
    if (ce)
        return ce;
    const struct kgc_api_obj *o = c->lk->get(c->lk->ctx, KGC_API_SECRET, ns, name);
    const struct kgc_api_secret *s = kgc_api_as_secret(o);
    if (!s || !s->tls_valid || !s->tls_crt_pem || !s->tls_key_pem || !tr_dns_label(ns) ||
        !tr_dns_subdomain(name)) {
        GW_NOTE("listener %s certificateRefs[%u]: Secret %s/%s is %s: no certificate", lname, k, ns,
                name, s ? "not a valid TLS Secret" : "missing");
        kgc_api_obj_unref(o);
        return NULL;
    }
    ce = calloc(1, sizeof(*ce));
    if (ce)
        ce->key = strdup(key);
    if (!ce || !ce->key || kgc_strmap_put(&x->certs, ce->key, ce, NULL) != 0) {
        if (ce)
            free(ce->key);
        free(ce);
        kgc_api_obj_unref(o);
        c->oom = true;
        return NULL;
    }
    ce->secret = s;
    return ce;
#undef GW_NOTE
}

static void gateway_certs(struct cert_ctx *x, const struct kgc_api_gateway *gw)
{
    struct tr_ctx *c = x->c;
    const char *gns = gw->obj.meta.namespace, *gname = gw->obj.meta.name;
    uint32_t n =
        gw->n_listeners < KGC_STATUS_MAX_LISTENERS ? gw->n_listeners : KGC_STATUS_MAX_LISTENERS;
    for (uint32_t li = 0; li < n && !c->oom; li++) {
        const struct kgc_api_listener *l = &gw->listeners[li];
        const char *lname = l->name ? l->name : "";
        /* HTTPS listeners, and TLS listeners that terminate (Kong's stream listens take their
         * certificate from the same certificates/snis: kong/templates/nginx_kong_stream.lua
         * ssl_certificate_by_lua_block at 3.9.1) */
        if (!l->protocol ||
            (strcmp(l->protocol, "HTTPS") != 0 && strcmp(l->protocol, "TLS") != 0) || !l->tls ||
            (l->tls->mode && strcmp(l->tls->mode, "Terminate") != 0))
            continue;
        if (c->in->listener_usable && !c->in->listener_usable(c->in->listener_usable_ctx, gw, li))
            continue;
        bool has_host = l->hostname && l->hostname[0];
        if (has_host && !tr_hostname(l->hostname, true)) {
            tr_problem(c, KGC_API_GATEWAY, gns, gname, -1, -1, KGC_TRANSLATE_NOTE,
                       "listener %s hostname is not a valid SNI: no certificate", lname);
            continue;
        }
        for (uint32_t k = 0; k < l->tls->n_certificate_refs && !c->oom; k++) {
            struct cert *ce = listener_cert(x, gw, li, k);
            if (!ce)
                continue;
            /* a listener without hostname serves every name: Kong's SNI "*" is the certificate
             * for any SNI no other sni entry matches (kong/runloop/certificate.lua:279-296) */
            const char *sni_name = has_host ? l->hostname : "*";
            struct cert *owner = kgc_strmap_get(&x->snis, sni_name);
            if (owner && owner != ce) {
                tr_problem(c, KGC_API_GATEWAY, gns, gname, -1, -1, KGC_TRANSLATE_NOTE,
                           "listener %s: SNI %s is already served by Secret %s", lname, sni_name,
                           owner->key);
                break;
            }
            if (!owner) {
                struct cert_sni *sni = calloc(1, sizeof(*sni));
                if (sni)
                    sni->name = strdup(sni_name);
                if (!sni || !sni->name || kgc_base_vec_push(&ce->snis, sni) != 0) {
                    if (sni)
                        free(sni->name);
                    free(sni);
                    c->oom = true;
                    break;
                }
                sni->gateway = kgc_api_obj_ref(&gw->obj);
                if (kgc_strmap_put(&x->snis, sni->name, ce, NULL) != 0)
                    c->oom = true;
            }
            break; /* one certificate per SNI: later refs would never be served */
        }
    }
}

static int cmp_sni(const void *a, const void *b)
{
    return strcmp((*(const struct cert_sni *const *)a)->name,
                  (*(const struct cert_sni *const *)b)->name);
}

static int cmp_cert(const void *a, const void *b)
{
    return strcmp((*(const struct cert *const *)a)->key, (*(const struct cert *const *)b)->key);
}

/* The certificates array: one entry per Secret with at least one SNI. */
json_object *tr_certificates(struct tr_ctx *c)
{
    struct cert_ctx x = {.c = c};
    kgc_strmap_init(&x.certs);
    kgc_strmap_init(&x.snis);
    tr_collect(c, KGC_API_GATEWAY, &x.gateways);
    for (size_t i = 0; i < x.gateways.n && !c->oom; i++) {
        const struct kgc_api_gateway *gw = kgc_api_as_gateway(x.gateways.v[i]);
        if (gw && gw->obj.meta.namespace && tr_gateway_owned(c, gw))
            gateway_certs(&x, gw);
    }
    struct kgc_base_vec list = {0};
    size_t pos = 0;
    const char *key;
    void *value;
    while (kgc_strmap_next(&x.certs, &pos, &key, &value)) {
        if (kgc_base_vec_push(&list, value) != 0)
            c->oom = true;
    }
    if (list.n > 1)
        qsort(list.v, list.n, sizeof(*list.v), cmp_cert);
    json_object *arr = tr_jarr(c);
    for (size_t i = 0; i < list.n; i++) {
        struct cert *ce = list.v[i];
        if (ce->snis.n == 0)
            continue;
        json_object *o = tr_jobj(c), *snis = tr_jarr(c);
        tr_jset(c, o, "cert", tr_jstr(c, ce->secret->tls_crt_pem));
        tr_jset(c, o, "key", tr_jstr(c, ce->secret->tls_key_pem));
        tr_jset(c, o, "tags", tr_obj_tags(c, KGC_API_SECRET, &ce->secret->obj, -1, -1));
        qsort(ce->snis.v, ce->snis.n, sizeof(*ce->snis.v), cmp_sni);
        for (size_t k = 0; k < ce->snis.n; k++) {
            const struct cert_sni *sni = ce->snis.v[k];
            json_object *so = tr_jobj(c);
            tr_jset(c, so, "name", tr_jstr(c, sni->name));
            tr_jset(c, so, "tags", tr_obj_tags(c, KGC_API_GATEWAY, sni->gateway, -1, -1));
            tr_jpush(c, snis, so);
            c->counts.snis++;
        }
        tr_jset(c, o, "snis", snis);
        tr_jpush(c, arr, o);
        c->counts.certificates++;
    }
    for (size_t i = 0; i < list.n; i++) {
        struct cert *ce = list.v[i];
        for (size_t k = 0; k < ce->snis.n; k++) {
            struct cert_sni *sni = ce->snis.v[k];
            kgc_api_obj_unref(sni->gateway);
            free(sni->name);
            free(sni);
        }
        kgc_base_vec_free(&ce->snis);
        kgc_api_obj_unref(&ce->secret->obj);
        free(ce->key);
        free(ce);
    }
    kgc_base_vec_free(&list);
    kgc_strmap_destroy(&x.certs);
    kgc_strmap_destroy(&x.snis);
    tr_release_all(&x.gateways);
    tr_backend_tls_client_certificates(c, arr); /* backendtls.c: with ids, no snis */
    return arr;
}

#include "kgc/kongdiscovery.h"

#include "kgc/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct kgc_kong_discovery {
    struct kgc_kong *kong;
    struct kgc_cache *cache;
    char *service_key; /* "ns/name": the EndpointSlice index value */
    char *port_name;
    pthread_mutex_t lock; /* one recomputation at a time */
};

static enum kgc_kong_cond cond_of(int8_t v)
{
    return v == KGC_API_UNSET ? KGC_KONG_COND_UNSET : v ? KGC_KONG_COND_TRUE : KGC_KONG_COND_FALSE;
}

int kgc_kong_discovery_sync(struct kgc_kong_discovery *d, struct kgc_err *err)
{
    struct kgc_cache_list list = {0};
    int rc =
        kgc_cache_by_index(d->cache, KGC_CACHE_IDX_ENDPOINTSLICE_BY_SERVICE, d->service_key, &list);
    if (rc)
        return kgc_err_set(err, rc, "kong discovery: cannot read EndpointSlices");
    struct kgc_kong_endpoint_slice *slices = calloc(list.n ? list.n : 1, sizeof(*slices));
    size_t n_eps = 0, n_ports = 0;
    for (size_t i = 0; i < list.n; i++) {
        const struct kgc_api_endpointslice *s = kgc_api_as_endpointslice(list.items[i]);
        n_eps += s ? s->n_endpoints : 0;
        n_ports += s ? s->n_ports : 0;
    }
    struct kgc_kong_endpoint *eps = calloc(n_eps ? n_eps : 1, sizeof(*eps));
    struct kgc_kong_endpoint_port *ports = calloc(n_ports ? n_ports : 1, sizeof(*ports));
    char **urls = NULL;
    size_t n_urls = 0;
    if (!slices || !eps || !ports) {
        rc = kgc_err_set(err, KGC_ENOMEM, "kong discovery: out of memory");
        goto out;
    }
    size_t e = 0, p = 0;
    for (size_t i = 0; i < list.n; i++) {
        const struct kgc_api_endpointslice *s = kgc_api_as_endpointslice(list.items[i]);
        if (!s)
            continue;
        slices[i].endpoints = &eps[e];
        slices[i].n_endpoints = s->n_endpoints;
        for (uint32_t j = 0; j < s->n_endpoints; j++, e++) {
            eps[e].addresses = s->endpoints[j].addresses;
            eps[e].n_addresses = s->endpoints[j].n_addresses;
            eps[e].ready = cond_of(s->endpoints[j].ready);
            eps[e].serving = cond_of(s->endpoints[j].serving);
            eps[e].terminating = cond_of(s->endpoints[j].terminating);
        }
        slices[i].ports = &ports[p];
        slices[i].n_ports = s->n_ports;
        for (uint32_t j = 0; j < s->n_ports; j++, p++) {
            ports[p].name = s->ports[j].name;
            ports[p].port = s->ports[j].port;
            ports[p].app_protocol = s->ports[j].app_protocol;
        }
    }
    rc = kgc_kong_urls_from_endpoints(slices, list.n, d->port_name, &urls, &n_urls);
    if (rc) {
        rc = kgc_err_set(err, rc, "kong discovery: out of memory");
        goto out;
    }
    rc = kgc_kong_set_instances(d->kong, (const char *const *)urls, n_urls, err);
    if (!rc)
        kgc_debug("kongdiscovery", "kong instances from endpoints",
                  KGC_F_STR("service", d->service_key), KGC_F_INT("instances", n_urls));
out:
    kgc_kong_urls_free(urls, n_urls);
    free(ports);
    free(eps);
    free(slices);
    kgc_cache_list_release(&list);
    return rc;
}

static void on_slice(enum kgc_api_kind kind, const struct kgc_api_obj *old_obj,
                     const struct kgc_api_obj *new_obj, void *ctx)
{
    (void)kind;
    struct kgc_kong_discovery *d = ctx;
    bool ours = false;
    const struct kgc_api_obj *objs[2] = {old_obj, new_obj};
    for (int i = 0; i < 2 && !ours; i++) {
        const struct kgc_api_endpointslice *s = kgc_api_as_endpointslice(objs[i]);
        if (!s || !s->service_name)
            continue;
        size_t nslen = strlen(s->obj.meta.namespace);
        ours = strncmp(d->service_key, s->obj.meta.namespace, nslen) == 0 &&
               d->service_key[nslen] == '/' &&
               strcmp(d->service_key + nslen + 1, s->service_name) == 0;
    }
    if (!ours)
        return;
    struct kgc_err err = {0};
    pthread_mutex_lock(&d->lock);
    if (kgc_kong_discovery_sync(d, &err) != 0)
        kgc_warn("kongdiscovery", "cannot update Kong instances", KGC_F_STR("error", err.msg));
    pthread_mutex_unlock(&d->lock);
}

int kgc_kong_discovery_new(struct kgc_kong *k, struct kgc_cache *cache, const char *service,
                           const char *port_name, struct kgc_kong_discovery **out,
                           struct kgc_err *err)
{
    const char *slash = service ? strchr(service, '/') : NULL;
    if (!slash || slash == service || !slash[1] || strchr(slash + 1, '/'))
        return kgc_err_set(err, KGC_EINVAL, "--kong-admin-service: \"%s\" is not NAMESPACE/NAME",
                           service ? service : "");
    struct kgc_kong_discovery *d = calloc(1, sizeof(*d));
    if (!d)
        return kgc_err_set(err, KGC_ENOMEM, "kong discovery: out of memory");
    d->kong = k;
    d->cache = cache;
    d->service_key = strdup(service);
    d->port_name = strdup(port_name ? port_name : "admin");
    pthread_mutex_init(&d->lock, NULL);
    if (!d->service_key || !d->port_name) {
        kgc_kong_discovery_free(d);
        return kgc_err_set(err, KGC_ENOMEM, "kong discovery: out of memory");
    }
    int rc = kgc_cache_add_handler(cache, KGC_API_ENDPOINTSLICE, on_slice, d);
    if (rc) {
        kgc_kong_discovery_free(d);
        return kgc_err_set(err, rc, "kong discovery: cannot add a cache handler");
    }
    *out = d;
    return 0;
}

void kgc_kong_discovery_free(struct kgc_kong_discovery *d)
{
    if (!d)
        return;
    free(d->service_key);
    free(d->port_name);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

#include "kgc/kongdiscovery.h"

#include "kgc/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct kgc_kongdiscovery {
    struct kgc_kong *kong;
    struct kgc_cache *cache;
    char *service_key; /* "ns/name": the EndpointSlice index value */
    char *port_name;
    const char *service_name; /* the NAME of service_key */
    pthread_mutex_t lock;     /* one recomputation at a time; guards the fields below */
    uint64_t last_warn_ns;    /* monotonic time of the last "untrusted slice" warning */
    unsigned suppressed;      /* untrusted slices seen since that warning, not logged */
};

/* The EndpointSlice controller's own marks on what it makes for a Service (Kubernetes
 * staging/src/k8s.io/api/discovery/v1/well_known_labels.go: LabelServiceName, LabelManagedBy;
 * pkg/controller/endpointslice/endpointslice_controller.go: controllerName
 * "endpointslice-controller.k8s.io"; staging/src/k8s.io/endpointslice/utils.go newEndpointSlice
 * and setEndpointSliceLabels: both labels set on every slice, plus one controller reference
 * metav1.NewControllerRef(service, {Version: "v1", Kind: "Service"}), i.e. apiVersion v1, kind
 * Service, the Service's name and uid, controller: true; its ownedBy() matches on uid, kind and
 * apiVersion). Anyone allowed to create EndpointSlices can copy the labels; the reference is what
 * the API server's garbage collector and the controller itself go by. */
#define MANAGED_BY_CONTROLLER "endpointslice-controller.k8s.io"

const char *kgc_kongdiscovery_untrusted(const struct kgc_api_endpointslice *s,
                                        const char *service_name, const char *service_uid)
{
    if (!s->service_name || strcmp(s->service_name, service_name) != 0)
        return "label kubernetes.io/service-name does not name the Service";
    if (!s->managed_by || strcmp(s->managed_by, MANAGED_BY_CONTROLLER) != 0)
        return "not managed by the EndpointSlice controller (label "
               "endpointslice.kubernetes.io/managed-by is not " MANAGED_BY_CONTROLLER ")";
    if (!s->owner_service_name || strcmp(s->owner_service_name, service_name) != 0)
        return "no controller ownerReference to the Service";
    if (service_uid && service_uid[0] &&
        (!s->owner_service_uid || strcmp(s->owner_service_uid, service_uid) != 0))
        return "its ownerReference names another Service of that name (uid differs)";
    return NULL;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One warning per minute at most, counting the slices ignored in between (lock held). */
static void warn_untrusted(struct kgc_kongdiscovery *d, const struct kgc_api_endpointslice *s,
                           const char *why)
{
    uint64_t now = mono_ns();
    if (d->last_warn_ns && now - d->last_warn_ns < 60ull * 1000000000ull) {
        d->suppressed++;
        return;
    }
    kgc_warn("kongdiscovery",
             "EndpointSlice ignored: only slices the EndpointSlice controller made for the Kong "
             "admin Service receive configuration",
             KGC_F_STR("service", d->service_key), KGC_F_STR("slice", s->obj.meta.key),
             KGC_F_STR("reason", why), KGC_F_INT("suppressed", d->suppressed));
    d->last_warn_ns = now;
    d->suppressed = 0;
}

static enum kgc_kong_cond cond_of(int8_t v)
{
    return v == KGC_API_UNSET ? KGC_KONG_COND_UNSET : v ? KGC_KONG_COND_TRUE : KGC_KONG_COND_FALSE;
}

/* Recomputes the instance set (lock held). */
static int sync_locked(struct kgc_kongdiscovery *d, struct kgc_err *err)
{
    struct kgc_cache_list list = {0};
    int rc =
        kgc_cache_by_index(d->cache, KGC_CACHE_IDX_ENDPOINTSLICE_BY_SERVICE, d->service_key, &list);
    if (rc)
        return kgc_err_set(err, rc, "kong discovery: cannot read EndpointSlices");
    /* The Service's uid when kgc has it (Services are cached): a slice left over from a deleted
     * Service of the same name, or made up to look like the controller's, is not trusted. */
    const char *slash = strchr(d->service_key, '/');
    char ns[254];
    snprintf(ns, sizeof(ns), "%.*s", (int)(slash - d->service_key), d->service_key);
    const struct kgc_api_obj *svc = kgc_cache_get(d->cache, KGC_API_SERVICE, ns, d->service_name);
    const char *svc_uid = svc ? svc->meta.uid : NULL;
    struct kgc_kong_endpoint_slice *slices = calloc(list.n ? list.n : 1, sizeof(*slices));
    bool *trusted = calloc(list.n ? list.n : 1, sizeof(*trusted));
    size_t n_eps = 0, n_ports = 0;
    for (size_t i = 0; i < list.n && trusted; i++) {
        const struct kgc_api_endpointslice *s = kgc_api_as_endpointslice(list.items[i]);
        const char *why = s ? kgc_kongdiscovery_untrusted(s, d->service_name, svc_uid) : "";
        if (why) {
            if (s)
                warn_untrusted(d, s, why);
            continue;
        }
        trusted[i] = true;
        n_eps += s->n_endpoints;
        n_ports += s ? s->n_ports : 0;
    }
    struct kgc_kong_endpoint *eps = calloc(n_eps ? n_eps : 1, sizeof(*eps));
    struct kgc_kong_endpoint_port *ports = calloc(n_ports ? n_ports : 1, sizeof(*ports));
    char **urls = NULL;
    size_t n_urls = 0;
    if (!slices || !trusted || !eps || !ports) {
        rc = kgc_err_set(err, KGC_ENOMEM, "kong discovery: out of memory");
        goto out;
    }
    size_t e = 0, p = 0;
    for (size_t i = 0; i < list.n; i++) {
        const struct kgc_api_endpointslice *s = kgc_api_as_endpointslice(list.items[i]);
        if (!s || !trusted[i])
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
    free(trusted);
    free(slices);
    if (svc)
        kgc_api_obj_unref(svc);
    kgc_cache_list_release(&list);
    return rc;
}

int kgc_kongdiscovery_sync(struct kgc_kongdiscovery *d, struct kgc_err *err)
{
    pthread_mutex_lock(&d->lock);
    int rc = sync_locked(d, err);
    pthread_mutex_unlock(&d->lock);
    return rc;
}

static void resync(struct kgc_kongdiscovery *d)
{
    struct kgc_err err = {0};
    if (kgc_kongdiscovery_sync(d, &err) != 0)
        kgc_warn("kongdiscovery", "cannot update Kong instances", KGC_F_STR("error", err.msg));
}

/* The Service itself: its uid decides which slices are trusted. */
static void on_service(enum kgc_api_kind kind, const struct kgc_api_obj *old_obj,
                       const struct kgc_api_obj *new_obj, void *ctx)
{
    (void)kind;
    struct kgc_kongdiscovery *d = ctx;
    const struct kgc_api_obj *o = new_obj ? new_obj : old_obj;
    if (o && o->meta.key && strcmp(o->meta.key, d->service_key) == 0)
        resync(d);
}

static void on_slice(enum kgc_api_kind kind, const struct kgc_api_obj *old_obj,
                     const struct kgc_api_obj *new_obj, void *ctx)
{
    (void)kind;
    struct kgc_kongdiscovery *d = ctx;
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
    if (ours)
        resync(d);
}

int kgc_kongdiscovery_new(struct kgc_kong *k, struct kgc_cache *cache, const char *service,
                          const char *port_name, struct kgc_kongdiscovery **out,
                          struct kgc_err *err)
{
    const char *slash = service ? strchr(service, '/') : NULL;
    if (!slash || slash == service || !slash[1] || strchr(slash + 1, '/'))
        return kgc_err_set(err, KGC_EINVAL, "--kong-admin-service: \"%s\" is not NAMESPACE/NAME",
                           service ? service : "");
    struct kgc_kongdiscovery *d = calloc(1, sizeof(*d));
    if (!d)
        return kgc_err_set(err, KGC_ENOMEM, "kong discovery: out of memory");
    d->kong = k;
    d->cache = cache;
    d->service_key = strdup(service);
    d->port_name = strdup(port_name ? port_name : "admin");
    pthread_mutex_init(&d->lock, NULL);
    if (d->service_key)
        d->service_name = strchr(d->service_key, '/') + 1;
    if (!d->service_key || !d->port_name) {
        kgc_kongdiscovery_free(d);
        return kgc_err_set(err, KGC_ENOMEM, "kong discovery: out of memory");
    }
    int rc = kgc_cache_add_handler(cache, KGC_API_ENDPOINTSLICE, on_slice, d);
    if (!rc)
        rc = kgc_cache_add_handler(cache, KGC_API_SERVICE, on_service, d);
    if (rc) {
        kgc_kongdiscovery_free(d);
        return kgc_err_set(err, rc, "kong discovery: cannot add a cache handler");
    }
    *out = d;
    return 0;
}

void kgc_kongdiscovery_free(struct kgc_kongdiscovery *d)
{
    if (!d)
        return;
    free(d->service_key);
    free(d->port_name);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

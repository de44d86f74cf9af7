/* kongdiscovery — Kong instances from a Service's EndpointSlices (--kong-admin-service NS/NAME):
 * a cache handler that, whenever one of the Service's EndpointSlices (or the Service) changes,
 * recomputes the admin URLs (one per address of a ready or serving, not terminating endpoint, on
 * the port named --kong-admin-port-name) and hands them to the Kong registry, which starts and
 * stops probers.
 *
 * Trust: an instance receives every configuration push, TLS private keys included, so only the
 * slices the EndpointSlice controller made for that Service count: label
 * kubernetes.io/service-name = NAME, label endpointslice.kubernetes.io/managed-by =
 * endpointslice-controller.k8s.io, and a controller ownerReference (apiVersion v1, kind Service,
 * name NAME, and the Service's uid when the Service is in the cache). Any other slice carrying the
 * service-name label (made by a tenant, by another controller, or mirrored from a selector-less
 * Service's Endpoints) is ignored with a warning (at most one a minute, counting the rest). */
#ifndef KGC_KONGDISCOVERY_H
#define KGC_KONGDISCOVERY_H

#include "kgc/cache.h"
#include "kgc/err.h"
#include "kgc/kong.h"

struct kgc_kongdiscovery;

/* Watches service ("NS/NAME") in cache and keeps k's instance set equal to its endpoints on the
 * port named port_name. Add it before the informers start. Returns 0, KGC_EINVAL (service is not
 * NS/NAME) or KGC_ENOMEM. The handler stays registered: free only after the informers stopped. */
int kgc_kongdiscovery_new(struct kgc_kong *k, struct kgc_cache *cache, const char *service,
                          const char *port_name, struct kgc_kongdiscovery **out,
                          struct kgc_err *err);

/* Recomputes the instance set from the cache now (also done on every slice change). Returns 0
 * or the registry's error. */
int kgc_kongdiscovery_sync(struct kgc_kongdiscovery *d, struct kgc_err *err);

void kgc_kongdiscovery_free(struct kgc_kongdiscovery *d);

/* Why slice s is not trusted for the Service named service_name (uid service_uid, NULL or "" when
 * unknown), or NULL when it is (see "Trust" above). Pure. */
const char *kgc_kongdiscovery_untrusted(const struct kgc_api_endpointslice *s,
                                        const char *service_name, const char *service_uid);

#endif

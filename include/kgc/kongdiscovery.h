/* kongdiscovery — Kong instances from a Service's EndpointSlices (--kong-admin-service NS/NAME):
 * a cache handler that, whenever one of the Service's EndpointSlices changes, recomputes the
 * admin URLs (one per address of a ready or serving, not terminating endpoint, on the port named
 * --kong-admin-port-name) and hands them to the Kong registry, which starts and stops probers. */
#ifndef KGC_KONGDISCOVERY_H
#define KGC_KONGDISCOVERY_H

#include "kgc/cache.h"
#include "kgc/err.h"
#include "kgc/kong.h"

struct kgc_kong_discovery;

/* Watches service ("NS/NAME") in cache and keeps k's instance set equal to its endpoints on the
 * port named port_name. Add it before the informers start. Returns 0, KGC_EINVAL (service is not
 * NS/NAME) or KGC_ENOMEM. The handler stays registered: free only after the informers stopped. */
int kgc_kong_discovery_new(struct kgc_kong *k, struct kgc_cache *cache, const char *service,
                           const char *port_name, struct kgc_kong_discovery **out,
                           struct kgc_err *err);

/* Recomputes the instance set from the cache now (also done on every slice change). Returns 0
 * or the registry's error. */
int kgc_kong_discovery_sync(struct kgc_kong_discovery *d, struct kgc_err *err);

void kgc_kong_discovery_free(struct kgc_kong_discovery *d);

#endif

/* sync — which cache changes can change the configuration (see include/kgc/sync.h). */
#include "sync_internal.h"

#include <string.h>

/* For a custom resource with the status subresource, the API server raises metadata.generation
 * on every change outside metadata and status; an update that keeps the generation, the labels,
 * the annotations and the deletion timestamp is a status write (kgc's own, mostly), which the
 * translator does not read. Core kinds (Services, EndpointSlices, Secrets, Namespaces) have no
 * generation: each of their updates counts. */
bool kgc_sync_change_is_status_only(enum kgc_api_kind kind, const struct kgc_api_obj *old_obj,
                                    const struct kgc_api_obj *new_obj)
{
    if (kind == KGC_API_CONFIGMAP) {
        /* kgc keeps only a ConfigMap's ca.crt (kgc/api.h): any other change of it, or of a
         * ConfigMap without one, cannot change the configuration */
        const struct kgc_api_configmap *x = kgc_api_as_configmap(old_obj);
        const struct kgc_api_configmap *y = kgc_api_as_configmap(new_obj);
        if (!x || !y)
            return (!x || !x->has_ca_crt) && (!y || !y->has_ca_crt);
        return x->has_ca_crt == y->has_ca_crt && x->ca_valid == y->ca_valid &&
               kgc_api_str_equal(x->ca_crt, y->ca_crt) &&
               kgc_api_str_equal(x->ca_problem, y->ca_problem);
    }
    bool crd = kind == KGC_API_GATEWAYCLASS || kind == KGC_API_GATEWAY ||
               kind == KGC_API_HTTPROUTE || kind == KGC_API_GRPCROUTE ||
               kind == KGC_API_REFERENCEGRANT || kind == KGC_API_KONGPLUGIN ||
               kind == KGC_API_KONGCLUSTERPLUGIN || kind == KGC_API_BACKENDTLSPOLICY ||
               kind == KGC_API_LISTENERSET || kgc_api_is_l4_route_kind(kind);
    const struct kgc_api_meta *a = old_obj ? &old_obj->meta : NULL;
    const struct kgc_api_meta *b = new_obj ? &new_obj->meta : NULL;
    return crd && a && b && a->generation > 0 && a->generation == b->generation &&
           kgc_api_str_equal(a->deletion_timestamp, b->deletion_timestamp) &&
           kgc_api_kvs_equal(a->labels, a->n_labels, b->labels, b->n_labels) &&
           kgc_api_kvs_equal(a->annotations, a->n_annotations, b->annotations, b->n_annotations);
}

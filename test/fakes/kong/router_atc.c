/* router_atc — STUB until the ATC-based routers land (router_internal.h). */
#include "router_internal.h"

#include <kgc/err.h>

#include <stdio.h>

int kf_atcr_new(enum kf_flavor flavor, bool http, const struct kf_route_in *routes, size_t n,
                void **out, char *err, size_t errsz)
{
    (void)flavor, (void)http, (void)routes, (void)n;
    *out = NULL;
    snprintf(err, errsz, "ATC router not implemented");
    return KGC_EINVAL;
}

int kf_atcr_select(const void *r, const struct kf_request *req, struct kf_match *m, char *err,
                   size_t errsz)
{
    (void)r, (void)req, (void)m;
    snprintf(err, errsz, "ATC router not implemented");
    return KGC_EINVAL;
}

void kf_atcr_free(void *r)
{
    (void)r;
}

int kf_atcr_validate(enum kf_flavor flavor, json_object *route, const char **field, char *err,
                     size_t errsz)
{
    (void)flavor, (void)route, (void)err, (void)errsz;
    *field = NULL;
    return 0;
}

int kf_compat_expression(json_object *route, bool http, char **expr, uint64_t *priority)
{
    (void)route, (void)http;
    *expr = NULL;
    *priority = 0;
    return KGC_EINVAL;
}

/* router — STUB façade until it lands (router.h). */
#include "router_internal.h"

#include <kgc/err.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kf_flavor_parse(const char *name)
{
    if (!name) {
        return -1;
    }
    if (strcmp(name, "traditional") == 0) {
        return KF_FLAVOR_TRADITIONAL;
    }
    if (strcmp(name, "traditional_compatible") == 0) {
        return KF_FLAVOR_TRADITIONAL_COMPATIBLE;
    }
    if (strcmp(name, "expressions") == 0) {
        return KF_FLAVOR_EXPRESSIONS;
    }
    return -1;
}

int kf_router_new(enum kf_flavor flavor, bool http, const struct kf_route_in *routes, size_t n,
                  struct kf_router **out, char *err, size_t errsz)
{
    (void)flavor, (void)http, (void)routes, (void)n;
    *out = NULL;
    snprintf(err, errsz, "router not implemented");
    return KGC_EINVAL;
}

void kf_router_free(struct kf_router *r)
{
    (void)r;
}

int kf_router_select(const struct kf_router *r, const struct kf_request *req, struct kf_match *m,
                     char *err, size_t errsz)
{
    (void)r, (void)req;
    memset(m, 0, sizeof(*m));
    m->route = -1;
    snprintf(err, errsz, "router not implemented");
    return KGC_EINVAL;
}

void kf_match_clear(struct kf_match *m)
{
    for (size_t i = 0; i < m->n_captures; i++) {
        free((char *)m->captures[i].name);
        free((char *)m->captures[i].value);
    }
    free(m->captures);
    free(m->prefix);
    free(m->upstream_uri);
    free(m->upstream_host);
    free(m->matched_host);
    memset(m, 0, sizeof(*m));
    m->route = -1;
}

int kf_route_validate(enum kf_flavor flavor, json_object *route, const char **field, char *err,
                      size_t errsz)
{
    if (flavor == KF_FLAVOR_TRADITIONAL) {
        *field = NULL;
        return 0;
    }
    return kf_atcr_validate(flavor, route, field, err, errsz);
}

/* router_trad — STUB until the traditional router lands (router_internal.h). */
#include "router_internal.h"

#include <kgc/err.h>

#include <stdio.h>
#include <string.h>

int kf_trad_new(bool http, const struct kf_route_in *routes, size_t n, void **out, char *err,
                size_t errsz)
{
    (void)http, (void)routes, (void)n;
    *out = NULL;
    snprintf(err, errsz, "traditional router not implemented");
    return KGC_EINVAL;
}

int kf_trad_select(const void *r, const struct kf_request *req, struct kf_match *m, char *err,
                   size_t errsz)
{
    (void)r, (void)req, (void)m;
    snprintf(err, errsz, "traditional router not implemented");
    return KGC_EINVAL;
}

void kf_trad_free(void *r)
{
    (void)r;
}

void kf_split_port(const char *host, unsigned default_port, char *no_port, char *with_port,
                   bool *had_port)
{
    (void)default_port;
    strcpy(no_port, host);
    strcpy(with_port, host);
    *had_port = false;
}

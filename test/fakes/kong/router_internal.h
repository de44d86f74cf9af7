/* router_internal — the per-flavour router implementations behind router.h's façade.
 *
 * Each implementation fills m->route, m->prefix (only when the route strips its path, as the
 * Lua does), m->captures and m->matched_host; router.c computes upstream_uri and upstream_host
 * (kong/router/utils.lua) for every flavour. Same ownership and thread rules as router.h.
 * Internal to test/fakes/kong/. */
#ifndef KGC_TEST_KONG_ROUTER_INTERNAL_H
#define KGC_TEST_KONG_ROUTER_INTERNAL_H

#include "router.h"

/* traditional (router_trad.c, kong/router/traditional.lua) */
int kf_trad_new(bool http, const struct kf_route_in *routes, size_t n, void **out, char *err,
                size_t errsz);
int kf_trad_select(const void *r, const struct kf_request *req, struct kf_match *m, char *err,
                   size_t errsz);
void kf_trad_free(void *r);

/* traditional_compatible and expressions (router_atc.c, kong/router/{atc,compat,expressions,
 * transform}.lua over atc.h) */
int kf_atcr_new(enum kf_flavor flavor, bool http, const struct kf_route_in *routes, size_t n,
                void **out, char *err, size_t errsz);
int kf_atcr_select(const void *r, const struct kf_request *req, struct kf_match *m, char *err,
                   size_t errsz);
void kf_atcr_free(void *r);
int kf_atcr_validate(enum kf_flavor flavor, json_object *route, const char **field, char *err,
                     size_t errsz);

/* traditional_compatible: the ATC expression and priority Kong's transform.lua generates for a
 * route (get_expression / get_priority). Returns 0 with *expr (caller frees) and *priority;
 * KGC_EINVAL when the route has no HTTP matcher Kong can express; KGC_ENOMEM. */
int kf_compat_expression(json_object *route, bool http, char **expr, uint64_t *priority);

/* Kong's split_port (traditional.lua): host without port, host with port (or default_port
 * appended when given and none present, IPv6 bracketed), whether a port was present. Writes
 * into caller buffers of at least strlen(host) + 16 bytes. Exposed for the spec's cases. */
void kf_split_port(const char *host, unsigned default_port, char *no_port, char *with_port,
                   bool *had_port);

#endif

/* GRPCRoute: what differs from an HTTPRoute in the translation (everything else — attachments,
 * hostnames, listener scope, headers, weights, the header-modifier filters, precedence ranking,
 * limits — is the HTTPRoute code, run on the same struct, kgc/api.h).
 *
 *   - a match's method (GRPCMethodMatch) becomes the Kong route's path: a gRPC request's path is
 *     "/<service>/<method>" (gRPC over HTTP/2, "Path → ":path" "/" Service-Name "/"
 *     {method name}"). Exact service and method → Exact "/svc/Method"; Exact service only →
 *     PathPrefix "/svc" (also "/svc/..."); Exact method only → the regex "/[^/]+/Method$";
 *     RegularExpression → "/(?:S)/(?:M)$" with an omitted part "[^/]+" (both matched whole, as
 *     the regex is a match of the service or method name); no method → every path ("/");
 *   - the Kong routes' protocols are grpc/grpcs instead of http/https and the services' protocol
 *     is grpc (Kong 3.9.1 kong/db/schema/entities/routes.lua:163 keeps {grpc, grpcs} apart from
 *     {http, https}; routes_subschemas.lua:46-63: grpc routes take no methods and no strip_path,
 *     and need one of hosts, headers, paths — kgc always writes paths; services.lua:53-56: a grpc
 *     service has no path — kgc writes none);
 *   - precedence: GRPCRoute's order (grpcroute_types.go, GRPCRouteRule: the hostname's
 *     characters, then the service's, then the method's, then the header matches) is ranked with
 *     the HTTPRoute facts: the path kind is the same for every GRPCRoute match, the path length
 *     is the service's characters and the method fact the method's (so a longer service ranks
 *     first whatever the methods), then the header matches.
 * Called from match.c (the method) and translate.c (the facts); calls context.c and
 * kong_values.c. */
#include "translate_internal.h"

#include <stdio.h>
#include <string.h>

/* A name of the form the CRD allows for an Exact service ("pkg.Service") or method ("Method"):
 * letters, digits, '_' (and '.' for a service). */
static bool plain_name(const char *s, bool dots)
{
    if (!s || !s[0] || strlen(s) > 1024)
        return false;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || (dots && ch == '.');
        if (!ok)
            return false;
    }
    return true;
}

bool tr_grpc_plan_method(struct route_ctx *rc, struct match_plan *mp)
{
    const struct kgc_api_grpc_method_match *g = mp->m->grpc_method;
    struct path_plan *pp = &mp->path;
    const char *svc = g && g->service && g->service[0] ? g->service : NULL;
    const char *meth = g && g->method && g->method[0] ? g->method : NULL;
    if (!svc && !meth) { /* no method match: every request */
        pp->kind = PATH_PREFIX;
        snprintf(pp->value, sizeof(pp->value), "/");
        return true;
    }
    const char *type = g->type ? g->type : "Exact";
    if (strcmp(type, "Exact") == 0) {
        if ((svc && !plain_name(svc, true)) || (meth && !plain_name(meth, false))) {
            MATCH_DROP(rc, mp,
                       "method match: service \"%.100s\" / method \"%.100s\" is not a gRPC name "
                       "(letters, digits, _ and, in a service, .)",
                       svc ? svc : "", meth ? meth : "");
            return false;
        }
        int n;
        if (svc && meth) {
            pp->kind = PATH_EXACT;
            n = snprintf(pp->value, sizeof(pp->value), "/%s/%s", svc, meth);
        } else if (svc) {
            pp->kind = PATH_PREFIX;
            n = snprintf(pp->value, sizeof(pp->value), "/%s", svc);
        } else {
            pp->kind = PATH_REGEX;
            n = snprintf(pp->value, sizeof(pp->value), "/[^/]+/%s$", meth);
        }
        if (n < 0 || (size_t)n >= sizeof(pp->value)) {
            MATCH_DROP(rc, mp, "method match: the service and method are too long");
            return false;
        }
        return true;
    }
    if (strcmp(type, "RegularExpression") == 0) {
        if ((svc && !tr_text_value(svc)) || (meth && !tr_text_value(meth))) {
            MATCH_DROP(rc, mp, "method match: the regular expressions must be printable");
            return false;
        }
        int n = snprintf(pp->value, sizeof(pp->value), "/(?:%s)/(?:%s)$", svc ? svc : "[^/]+",
                         meth ? meth : "[^/]+");
        if (n < 0 || (size_t)n + 2 >= sizeof(pp->value)) {
            MATCH_DROP(rc, mp, "method match: the regular expressions are too long");
            return false;
        }
        char why[200];
        if (!tr_regex_ok(rc->c, pp->value, why, sizeof(why))) {
            MATCH_DROP(rc, mp, "method match: regular expression \"%.200s\" cannot be used: %s",
                       pp->value, why);
            return false;
        }
        pp->kind = PATH_REGEX;
        return true;
    }
    MATCH_DROP(rc, mp, "method match type \"%.64s\" is not supported", type);
    return false;
}

void tr_grpc_facts(const struct match_plan *mp, struct tr_kroute *k)
{
    const struct kgc_api_grpc_method_match *g = mp->m->grpc_method;
    k->grpc = true;
    k->path_kind = (uint32_t)PATH_EXACT; /* one kind for every GRPCRoute match */
    k->path_len = (uint32_t)(g && g->service ? strlen(g->service) : 0);
    k->method = (uint32_t)(g && g->method ? strlen(g->method) : 0);
}

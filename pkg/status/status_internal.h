/* status internals shared by the files of pkg/status (not part of the public contract). */
#ifndef KGC_STATUS_INTERNAL_H
#define KGC_STATUS_INTERNAL_H

#include "kgc/status.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The listener protocols kgc knows. */
enum status_proto {
    STATUS_P_UNKNOWN = 0,
    STATUS_P_HTTP,
    STATUS_P_HTTPS,
    STATUS_P_TLS,
    STATUS_P_TCP,
    STATUS_P_UDP,
};

/* NULL-safe equality; NULL equals only NULL. */
bool status_streq(const char *a, const char *b);

/* The value, or def when NULL. */
static inline const char *status_or(const char *v, const char *def)
{
    return v ? v : def;
}

/* Sets a condition (message printf-formatted, truncated to KGC_STATUS_MSG_MAX). */
void status_cond_set(struct kgc_status_condition *c, const char *type, bool status,
                     const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Appends ", name" (or "name" first) to buf of size, never overflowing. */
void status_append_name(char *buf, size_t size, const char *name);

/* The controller name in force for o. */
const char *status_controller(const struct kgc_status_options *o);

/* Copies o->now (or the wall clock) into buf. */
void status_now(const struct kgc_status_options *o, char *buf, size_t size);

enum status_proto status_proto_of(const char *protocol);

/* The route kinds a listener supports (allowedRoutes.kinds ∩ what its protocol carries, or the
 * protocol's default). Returns true when some requested kind is not supported, with their
 * names in bad. kinds holds KGC_STATUS_MAX_KINDS entries of static strings. */
bool status_listener_kinds(const struct kgc_api_listener *l, struct kgc_api_group_kind *kinds,
                           uint32_t *n_kinds, char *bad, size_t bad_size);

/* "HTTPRoute" or "GRPCRoute": the kind of route (either kind's struct, kgc/api.h). */
const char *status_route_kind_name(const struct kgc_api_httproute *route);

/* Looks up class name and tells whether kgc owns it; *accepted (when not NULL) says whether
 * the class is valid (Accepted=True), with the reason in why. */
bool status_class_owned(const struct kgc_status_options *o, const struct kgc_status_lookup *lk,
                        const char *class_name, bool *accepted, char *why, size_t why_size);

/* The class's validity: true, or false with a message (parametersRef is unsupported). */
bool status_class_valid(const struct kgc_api_gatewayclass *gc, char *why, size_t why_size);

/* True when parent ref p of route names gw (group/kind/namespace defaults applied). */
bool status_parent_names_gateway(const struct kgc_api_httproute *route,
                                 const struct kgc_api_parent_ref *p,
                                 const struct kgc_api_gateway *gw);

/* True when parent ref p of route names ListenerSet set (group/namespace defaults applied). */
bool status_parent_names_set(const struct kgc_api_httproute *route,
                             const struct kgc_api_parent_ref *p,
                             const struct kgc_api_listenerset *set);

/* True when p names merged Gateway gw or one of the ListenerSets merged into it. */
bool status_parent_names_merged(const struct kgc_api_httproute *route,
                                const struct kgc_api_parent_ref *p,
                                const struct kgc_api_gateway *gw);

/* The Gateway p resolves to when it is a Gateway of a class kgc owns (or a ListenerSet whose
 * parent is one), merged with its ListenerSets (kgc_status_gateway_merged): a NEW reference the
 * caller drops, or NULL. */
const struct kgc_api_gateway *status_parent_gateway(const struct kgc_status_options *o,
                                                    const struct kgc_status_lookup *lk,
                                                    const struct kgc_api_httproute *route,
                                                    const struct kgc_api_parent_ref *p);

/* How one parentRef fares against a Gateway's listeners. */
struct status_parent_eval {
    bool accepted;
    const char *reason; /* Accepted's reason */
    char message[KGC_STATUS_MSG_MAX];
    uint64_t listeners; /* bit i: accepted on spec.listeners[i] */
};

void status_eval_parent(const struct kgc_status_lookup *lk, const struct kgc_api_httproute *route,
                        const struct kgc_api_parent_ref *p, const struct kgc_api_gateway *gw,
                        struct status_parent_eval *out);

/* Asks the translator hook (if any) for its verdict on route; *v is zeroed first. While the
 * hook says pending, an Accepted=False/UnsupportedValue the route's status already carries from
 * this controller at this generation stands (see kgc_status_route_verdict.pending). */
void status_route_verdict(const struct kgc_status_options *o, const struct kgc_api_httproute *route,
                          struct kgc_status_route_verdict *v);

#endif

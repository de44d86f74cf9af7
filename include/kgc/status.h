/* status — the pure status computation of kgc: (objects, Kong listener view, options) → the exact
 * status Gateway API v1.6.1 requires for GatewayClass, Gateway and HTTPRoute (and GRPCRoute: the
 * same struct and functions, kgc/api.h; HTTP/HTTPS listeners support both kinds; an HTTPRoute and
 * a GRPCRoute sharing a hostname on one listener: only the older is accepted there), and the JSON
 * merge patch for the `/status` subresource that writes it. ListenerSets: a Gateway is judged
 * merged with the sets its allowedListeners admits (kgc_status_gateway_merged: its listeners,
 * then theirs); its own status lists its own listeners, a set's status its own
 * (kgc_status_listenerset_compute), and a route's parentRef of kind ListenerSet resolves to the
 * merged parent Gateway, restricted to that set's listeners (a Gateway parentRef: to the
 * Gateway's own).
 *
 * No threads, no I/O, no globals: every function is a function of its arguments, so the
 * reconcilers call it with a cache snapshot and the tests with an in-memory object set.
 *
 *   compute   objects + view + options → desired status (struct kgc_status_<kind>), which holds a
 *             reference on the object it was computed from; release it with ..._release().
 *   patch     desired status + the object's CURRENT status → {"metadata":{"resourceVersion"},
 *             "status":{...}} or NULL ("unchanged: do not write"). Read-modify-write rules:
 *             lastTransitionTime kept while a condition's status is unchanged, observedGeneration =
 *             metadata.generation, at most 8 conditions, conditions of types kgc does not own kept
 *             in place, a condition whose observedGeneration is newer than ours left alone, and for
 *             HTTPRoute every status.parents entry of another controller kept (a merge patch
 *             replaces lists whole, so the patch carries the full list).
 *
 * Kong-down behaviour (the point of kgc), driven by options.view:
 *   LIVE    normal: listeners are matched against Kong's listens.
 *   CACHED  exactly as LIVE with the last-known listens (the status stays true to the last-known
 *           data plane; no message mentions staleness, so LIVE→CACHED writes nothing).
 *   NONE    Gateway Programmed=False/Pending "waiting for the Kong Admin API: <reason>", valid
 *           listeners Programmed=False/Pending, listener Accepted computed WITHOUT the Kong-listen
 *           checks (never UnsupportedProtocol/PortUnavailable because of the outage), and
 *           needs_retry set so the reconciler returns an error and the item backs off.
 *
 * Ownership: the lookup's get() returns a NEW reference the caller (this module) drops; foreach()
 * lends each object for the duration of the callback. Results hold what they point at (a
 * reference on the computed object; strings borrowed from it or copied). */
#ifndef KGC_STATUS_H
#define KGC_STATUS_H

#include "kgc/api.h"
#include "kgc/err.h"
#include "kgc/listenercache.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KGC_STATUS_DEFAULT_CONTROLLER "konghq.com/kgc-gateway-controller"
#define KGC_STATUS_GROUP              "gateway.networking.k8s.io"

#define KGC_STATUS_MAX_CONDITIONS 8  /* per list (CRD maxItems) */
#define KGC_STATUS_MAX_ADDRESSES  16 /* status.addresses (CRD maxItems) */
#define KGC_STATUS_MAX_PARENTS    32 /* status.parents (CRD maxItems) */
#define KGC_STATUS_MAX_KINDS      8  /* supportedKinds (CRD maxItems) */
#define KGC_STATUS_MAX_LISTENERS  64 /* spec.listeners (CRD maxItems); later ones are ignored */
#define KGC_STATUS_MSG_MAX        512
#define KGC_STATUS_TIME_MAX       40
#define KGC_STATUS_NAME_MAX       254 /* a DNS subdomain name + NUL */

/* Condition types (exact API strings). */
#define KGC_STATUS_ACCEPTED          "Accepted"
#define KGC_STATUS_PROGRAMMED        "Programmed"
#define KGC_STATUS_RESOLVED_REFS     "ResolvedRefs"
#define KGC_STATUS_CONFLICTED        "Conflicted"
#define KGC_STATUS_OVERLAPPING_TLS   "OverlappingTLSConfig"
#define KGC_STATUS_PARTIALLY_INVALID "PartiallyInvalid"
/* Implementation-specific (domain-prefixed, as RouteConditionType allows) HTTPRoute parent
 * condition: True when Kong serves part of the route, as translated, not exactly as the Gateway
 * API asks and kgc cannot do better (a redirect's relative Location, an order Kong's router
 * cannot honour, ...). Reason KGC_STATUS_R_KONG_LIMITATION; the message names the rules
 * ("Rule N: ...") and the fix when there is one. Absent when there is nothing to say. */
#define KGC_STATUS_KONG_LIMITATION "konghq.com/KongLimitation"

/* Reasons (exact API strings). */
#define KGC_STATUS_R_ACCEPTED                 "Accepted"
#define KGC_STATUS_R_PROGRAMMED               "Programmed"
#define KGC_STATUS_R_RESOLVED_REFS            "ResolvedRefs"
#define KGC_STATUS_R_PENDING                  "Pending"
#define KGC_STATUS_R_INVALID                  "Invalid"
#define KGC_STATUS_R_INVALID_PARAMETERS       "InvalidParameters"
#define KGC_STATUS_R_LISTENERS_NOT_VALID      "ListenersNotValid"
#define KGC_STATUS_R_UNSUPPORTED_ADDRESS      "UnsupportedAddress"
#define KGC_STATUS_R_ADDRESS_NOT_ASSIGNED     "AddressNotAssigned"
#define KGC_STATUS_R_ADDRESS_NOT_USABLE       "AddressNotUsable"
#define KGC_STATUS_R_UNSUPPORTED_PROTOCOL     "UnsupportedProtocol"
#define KGC_STATUS_R_PORT_UNAVAILABLE         "PortUnavailable"
#define KGC_STATUS_R_INVALID_ROUTE_KINDS      "InvalidRouteKinds"
#define KGC_STATUS_R_INVALID_CERTIFICATE_REF  "InvalidCertificateRef"
#define KGC_STATUS_R_REF_NOT_PERMITTED        "RefNotPermitted"
#define KGC_STATUS_R_HOSTNAME_CONFLICT        "HostnameConflict"
#define KGC_STATUS_R_PROTOCOL_CONFLICT        "ProtocolConflict"
#define KGC_STATUS_R_NO_CONFLICTS             "NoConflicts"
#define KGC_STATUS_R_OVERLAPPING_HOSTNAMES    "OverlappingHostnames"
#define KGC_STATUS_R_NOT_ALLOWED_BY_LISTENERS "NotAllowedByListeners"
#define KGC_STATUS_R_NO_MATCHING_HOSTNAME     "NoMatchingListenerHostname"
#define KGC_STATUS_R_NO_MATCHING_PARENT       "NoMatchingParent"
#define KGC_STATUS_R_UNSUPPORTED_VALUE        "UnsupportedValue"
#define KGC_STATUS_R_BACKEND_NOT_FOUND        "BackendNotFound"
#define KGC_STATUS_R_INVALID_KIND             "InvalidKind"
#define KGC_STATUS_R_KONG_LIMITATION          "KongLimitation"
/* Gateway spec.tls.backend and BackendTLSPolicy (apis/v1/gateway_types.go,
 * backendtlspolicy_types.go, policy_types.go at v1.6.1) */
#define KGC_STATUS_R_INVALID_CLIENT_CERTIFICATE_REF "InvalidClientCertificateRef"
#define KGC_STATUS_R_CONFLICTED                     "Conflicted"
#define KGC_STATUS_R_NO_VALID_CA_CERTIFICATE        "NoValidCACertificate"
#define KGC_STATUS_R_INVALID_CA_CERTIFICATE_REF     "InvalidCACertificateRef"
#define KGC_STATUS_MAX_ANCESTORS                    16 /* status.ancestors (CRD maxItems) */
/* ListenerSet (apis/v1/listenerset_types.go at v1.6.1) */
#define KGC_STATUS_R_NOT_ALLOWED           "NotAllowed"
#define KGC_STATUS_R_PARENT_NOT_ACCEPTED   "ParentNotAccepted"
#define KGC_STATUS_R_PARENT_NOT_PROGRAMMED "ParentNotProgrammed"
#define KGC_STATUS_R_TOO_MANY_LISTENERS    "TooManyListeners"

/* ---- inputs ------------------------------------------------------------------------------- */

/* Visits one object; the object is lent for the call only. Return false to stop the walk. */
typedef bool (*kgc_status_visit_fn)(const struct kgc_api_obj *obj, void *fnctx);

/* Where the objects come from: the shared cache in kgc, an in-memory set in tests. */
struct kgc_status_lookup {
    /* The object of kind at ns/name (ns NULL for cluster-scoped kinds): a NEW reference the
     * caller drops with kgc_api_obj_unref(), or NULL when absent. */
    const struct kgc_api_obj *(*get)(void *ctx, enum kgc_api_kind kind, const char *ns,
                                     const char *name);
    /* Calls fn for every object of kind in ns (NULL: every namespace) until fn returns false. */
    void (*foreach)(void *ctx, enum kgc_api_kind kind, const char *ns, kgc_status_visit_fn fn,
                    void *fnctx);
    /* Optional: calls fn for every route of kind (kgc_api_is_route_kind) with a
     * parentRef naming Gateway gw_ns/gw_name (at least those; extra routes are harmless) until
     * fn returns false. NULL: foreach over every route of the kind. The attachedRoutes count and
     * the HTTPRoute/GRPCRoute hostname rule use it so that a Gateway reconcile costs its own
     * routes, not all of them. */
    void (*foreach_route_of_gateway)(void *ctx, enum kgc_api_kind kind, const char *gw_ns,
                                     const char *gw_name, kgc_status_visit_fn fn, void *fnctx);
    /* Optional: the value of key in Secret ns/name, for a Kong plugin's configFrom (only the
     * Secrets plugin objects name are ever read: see pkg/translate/README.md "Kong plugins").
     * Returns 0 and a malloc'd nul-terminated copy in *out (the caller clears and frees it),
     * KGC_ENOENT (no such Secret, or not read yet), KGC_ERANGE (no such key) or KGC_ENOSPC
     * (the value is bigger than KGC_API_KONGPLUGIN_CONFIG_MAX). NULL: kgc reads no Secret
     * values and every configFrom plugin is unusable. Never logs the value. */
    int (*secret_value)(void *ctx, const char *ns, const char *name, const char *key, char **out);
    void *ctx;
};

/* What the translator found wrong with a route (the hook for features it cannot express). */
struct kgc_status_route_verdict {
    const char *accepted_reason; /* NULL: no objection; else Accepted=False with this
                                    reason (UnsupportedValue, IncompatibleFilters, ...)
                                    on every parent that would otherwise accept it */
    char accepted_message[KGC_STATUS_MSG_MAX];
    char partially_invalid[KGC_STATUS_MSG_MAX]; /* non-empty: PartiallyInvalid=True /
                                                   UnsupportedValue with this message (the API
                                                   wants it to start with "Dropped Rule") */
    char kong_limitation[KGC_STATUS_MSG_MAX];   /* non-empty: konghq.com/KongLimitation=True /
                                                   KongLimitation with this message */
    /* NULL, or ResolvedRefs=False with this reason and resolved_refs_message when every
     * backendRef resolves (a reference the translator could not resolve: a Kong plugin of an
     * ExtensionRef or a konghq.com/plugins annotation) */
    const char *resolved_refs_reason;
    char resolved_refs_message[KGC_STATUS_MSG_MAX];
    bool pending; /* the translator has not judged this version of the route yet (kgc started,
                     or the route changed, since the last translation): the verdict is unknown.
                     The route's status is not written (kgc_status_httproute.verdict_pending);
                     for attachedRoutes the verdict the route's own status already carries for
                     this generation (an Accepted=False/UnsupportedValue of ours) stands. */
};

struct kgc_status_options {
    const char *controller_name; /* GatewayClass spec.controllerName kgc owns; NULL: default */
    const char *publish_service_namespace; /* the Kong proxy Service; NULL: none (listener ports
                                              are then Kong listen ports) */
    const char *publish_service_name;
    const char *const *publish_addresses; /* when given, status.addresses (else the Service's) */
    size_t n_publish_addresses;
    const struct kgc_listenercache_view *view; /* the Kong listener view; NULL counts as NONE */
    /* Whether Kong carries the configuration containing gw. NULL: yes whenever the view is LIVE
     * or CACHED. False (with a reason in why) → Programmed=False/Pending. The config syncer
     * drives it. */
    bool (*programmed)(void *ctx, const struct kgc_api_gateway *gw, char *why, size_t why_size);
    void *programmed_ctx;
    /* Optional translator verdict for a route; fills *out (zeroed before the call). */
    void (*route_verdict)(void *ctx, const struct kgc_api_httproute *route,
                          struct kgc_status_route_verdict *out);
    void *route_verdict_ctx;
    const char *now; /* RFC 3339 time for new lastTransitionTimes; NULL: the wall clock */
};

/* Zeroes o and sets the documented defaults (controller name; everything else absent). */
void kgc_status_options_default(struct kgc_status_options *o);

/* ---- outputs ------------------------------------------------------------------------------ */

struct kgc_status_condition {
    const char *type;   /* static string */
    const char *status; /* "True" | "False" | "Unknown" (static) */
    const char *reason; /* static string */
    char message[KGC_STATUS_MSG_MAX];
};

/* Desired GatewayClass status. */
struct kgc_status_gatewayclass {
    const struct kgc_api_gatewayclass *gc; /* one reference, dropped by release */
    bool owned;                            /* spec.controllerName is kgc's: else write nothing */
    int64_t generation;                    /* observedGeneration to write */
    char now[KGC_STATUS_TIME_MAX];
    struct kgc_status_condition conditions[1]; /* Accepted */
    uint32_t n_conditions;
};

struct kgc_status_listener {
    const char *name; /* borrowed from the Gateway held by the result */
    struct kgc_api_group_kind supported_kinds[KGC_STATUS_MAX_KINDS]; /* static strings */
    uint32_t n_supported_kinds;
    int32_t attached_routes;
    struct kgc_status_condition conditions[5]; /* Accepted, Programmed, ResolvedRefs, Conflicted,
                                                  OverlappingTLSConfig (only when True) */
    uint32_t n_conditions;
    bool accepted;      /* Accepted=True */
    bool valid;         /* accepted, not conflicted, refs resolved: can be programmed */
    uint16_t kong_port; /* the Kong listen port it is served by (0: not checked or none) */
};

struct kgc_status_address {
    const char *type; /* "IPAddress" | "Hostname" (static) */
    char value[KGC_STATUS_NAME_MAX];
};

/* Desired Gateway status. */
struct kgc_status_gateway {
    const struct kgc_api_gateway *gw; /* one reference, dropped by release */
    bool owned;                       /* its GatewayClass exists and is kgc's: else write nothing */
    bool needs_retry; /* Kong's listeners are unknown (view NONE), the publish Service is
                         missing, or Kong has not accepted a configuration with this Gateway:
                         write this status, then return an error to back off */
    char retry_reason[KGC_STATUS_MSG_MAX];
    bool kong_pending; /* needs_retry because of Kong alone: its listeners are unknown (view
                          NONE) or the `programmed` hook said no; false when the publish Service
                          is missing. The reconciler may hold such a write at start-up. */
    int64_t generation;
    char now[KGC_STATUS_TIME_MAX];
    struct kgc_status_condition conditions[3]; /* Accepted, Programmed, ResolvedRefs (only
                                                  with spec.tls.backend.clientCertificateRef) */
    uint32_t n_conditions;
    struct kgc_status_listener *listeners; /* one per spec listener, spec order (malloc'd), then
                                              one per listener of its attached ListenerSets */
    uint32_t n_listeners;     /* the Gateway's own (what its status.listeners carries) */
    uint32_t n_all_listeners; /* with the ListenerSets' (listeners[n_listeners..]) */
    /* The Gateway merged with the ListenerSets its allowedListeners admits (a reference; the
     * Gateway itself when none): merged->listeners[i] is listeners[i]'s spec, and
     * kgc_api_listener_origin(merged, i) its ListenerSet. */
    const struct kgc_api_gateway *merged;
    int32_t attached_listener_sets; /* status.attachedListenerSets: sets with Accepted=True */
    struct kgc_status_address addresses[KGC_STATUS_MAX_ADDRESSES];
    uint32_t n_addresses;
};

/* Desired ListenerSet status (gateway-api v1.6.1 apis/v1/listenerset_types.go). */
struct kgc_status_listenerset {
    const struct kgc_api_listenerset *set; /* one reference, dropped by release */
    bool owned;       /* its parent Gateway exists and is of a class kgc owns: else write nothing */
    bool needs_retry; /* as the parent Gateway's (Kong's listeners unknown, ...) */
    char retry_reason[KGC_STATUS_MSG_MAX];
    int64_t generation;
    char now[KGC_STATUS_TIME_MAX];
    struct kgc_status_condition conditions[2]; /* Accepted, Programmed */
    uint32_t n_conditions;
    bool accepted;                         /* Accepted=True: counted in attachedListenerSets */
    struct kgc_status_listener *listeners; /* one per spec listener (malloc'd) */
    uint32_t n_listeners;
};

/* One status.parents entry kgc owns. */
struct kgc_status_route_parent {
    struct kgc_api_parent_ref parent_ref; /* as written: group and kind defaulted, the rest as
                                             in spec (strings borrowed from the route) */
    uint32_t parent_index;                /* its spec.parentRefs index */
    const char *gateway_namespace;        /* the Gateway (or ListenerSet) it names (borrowed) */
    const char *gateway_name;
    bool accepted;
    uint64_t listeners; /* bit i: accepted on the merged Gateway's listeners[i] (its own
                           spec.listeners, then its ListenerSets') */
    struct kgc_status_condition conditions[4]; /* Accepted, ResolvedRefs, PartiallyInvalid?,
                                                  konghq.com/KongLimitation? */
    uint32_t n_conditions;
};

/* Desired HTTPRoute status (kgc's parents only; others' are kept by the patch). */
struct kgc_status_httproute {
    const struct kgc_api_httproute *route; /* one reference, dropped by release */
    char controller_name[KGC_STATUS_NAME_MAX];
    int64_t generation;
    char now[KGC_STATUS_TIME_MAX];
    struct kgc_status_route_parent *parents; /* malloc'd, spec order, at most 32 */
    uint32_t n_parents;
    bool verdict_pending; /* the route_verdict hook said pending: the translator's verdict on
                             this version is not known yet, so this status lacks it; do not
                             write it (the syncer re-queues the route once it translated it).
                             No parent is evaluated then (n_parents is 0). */
};

/* A (Gateway, listener) pair a route is accepted on: what the translator attaches. */
struct kgc_status_attachment {
    uint32_t parent_index; /* the route's spec.parentRefs index */
    char gateway_namespace[KGC_STATUS_NAME_MAX];
    char gateway_name[KGC_STATUS_NAME_MAX];
    char listener_name[KGC_STATUS_NAME_MAX];
    uint32_t listener_index; /* in the merged Gateway's listeners (kgc_status_gateway_merged) */
};

/* ---- compute ------------------------------------------------------------------------------ */

/* Desired status of gc into *out (owned=false when another controller's). Returns 0 or
 * KGC_EINVAL (NULL argument). Release *out with kgc_status_gatewayclass_release(). */
int kgc_status_gatewayclass_compute(const struct kgc_status_options *o,
                                    const struct kgc_status_lookup *lk,
                                    const struct kgc_api_gatewayclass *gc,
                                    struct kgc_status_gatewayclass *out, struct kgc_err *err);

/* Desired status of gw (conditions, listeners with attachedRoutes, addresses). Returns 0,
 * KGC_EINVAL or KGC_ENOMEM (*out then holds nothing). Release with kgc_status_gateway_release(). */
int kgc_status_gateway_compute(const struct kgc_status_options *o,
                               const struct kgc_status_lookup *lk, const struct kgc_api_gateway *gw,
                               struct kgc_status_gateway *out, struct kgc_err *err);

/* Desired status.parents entries kgc owns for route (any route kind: kgc_api_as_route(); the
 * HTTPRoute/GRPCRoute same-hostname rule applies to those two only): one per parentRef that
 * resolves to an existing Gateway of an owned class. Returns 0, KGC_EINVAL or KGC_ENOMEM. Release
 * with kgc_status_httproute_release(). */
int kgc_status_httproute_compute(const struct kgc_status_options *o,
                                 const struct kgc_status_lookup *lk,
                                 const struct kgc_api_httproute *route,
                                 struct kgc_status_httproute *out, struct kgc_err *err);

/* Desired status of ListenerSet set: NotAllowed when its parent Gateway's allowedListeners does
 * not admit it (None by default), ParentNotAccepted, ListenersNotValid when none of its listeners
 * is valid; per-listener status as a Gateway's (conflicts judged against the Gateway's listeners
 * first, then older sets', then by namespace/name; a conflicted set listener says
 * Accepted=False and Programmed=False with the conflict's reason). Returns 0, KGC_EINVAL or
 * KGC_ENOMEM. Release with kgc_status_listenerset_release(). */
int kgc_status_listenerset_compute(const struct kgc_status_options *o,
                                   const struct kgc_status_lookup *lk,
                                   const struct kgc_api_listenerset *set,
                                   struct kgc_status_listenerset *out, struct kgc_err *err);
void kgc_status_listenerset_release(struct kgc_status_listenerset *s);
int kgc_status_listenerset_patch(const struct kgc_status_listenerset *desired,
                                 const struct kgc_api_listenerset *current, json_object **patch,
                                 struct kgc_err *err);

/* gw merged with the ListenerSets its spec.allowedListeners admits and whose parentRef names it,
 * in the API's precedence (creation time, then namespace/name; at most KGC_STATUS_MAX_LISTENERS
 * listeners in all): a NEW reference the caller drops — gw itself (referenced) when it admits
 * none, or NULL when out of memory. Route attachments' listener_index and
 * kgc_status_gateway_usable_listeners() bits index the merged listeners. */
const struct kgc_api_gateway *kgc_status_gateway_merged(const struct kgc_status_lookup *lk,
                                                        const struct kgc_api_gateway *gw);

/* Whether gw's spec.allowedListeners admits set (namespaces None/Same/All/Selector) and set's
 * parentRef names gw. */
bool kgc_status_listenerset_allowed(const struct kgc_status_lookup *lk,
                                    const struct kgc_api_gateway *gw,
                                    const struct kgc_api_listenerset *set);

/* Which of gw's listeners may carry routes: bit i of *usable is set when spec.listeners[i] is
 * Accepted and not Conflicted on a Gateway that is Accepted (its class kgc's and accepted), as
 * kgc_status_gateway_compute() judges them with o (o->programmed and o->route_verdict are not
 * called; the routes are not walked). kong_ports (optional, KGC_STATUS_MAX_LISTENERS entries)
 * gets each listener's Kong listen port (struct kgc_status_listener.kong_port: 0 when the Kong
 * listens were not checked). *usable is 0 for a Gateway kgc does not own. Returns 0, KGC_EINVAL
 * or KGC_ENOMEM. The translator's listener_usable input is this verdict (the syncer sets it). */
int kgc_status_gateway_usable_listeners(const struct kgc_status_options *o,
                                        const struct kgc_status_lookup *lk,
                                        const struct kgc_api_gateway *gw, uint64_t *usable,
                                        uint16_t *kong_ports, struct kgc_err *err);

/* Free what a result holds and zero it. NULL and zeroed results are fine. */
void kgc_status_gatewayclass_release(struct kgc_status_gatewayclass *s);
void kgc_status_gateway_release(struct kgc_status_gateway *s);
void kgc_status_httproute_release(struct kgc_status_httproute *s);

/* attachedRoutes for each of gw's listeners into counts[0..gw->n_listeners-1]: the routes whose
 * parentRefs are accepted on that listener (set even when the listener is not accepted).
 * Returns 0, KGC_EINVAL or KGC_ENOMEM. */
int kgc_status_gateway_attached_routes(const struct kgc_status_options *o,
                                       const struct kgc_status_lookup *lk,
                                       const struct kgc_api_gateway *gw, int32_t *counts,
                                       struct kgc_err *err);

/* The (Gateway, listener) pairs route is accepted on, in parentRef then listener order: a
 * malloc'd array in *out (the caller frees; NULL when *n is 0). Returns 0, KGC_EINVAL,
 * KGC_ENOMEM. */
int kgc_status_httproute_attachments(const struct kgc_status_options *o,
                                     const struct kgc_status_lookup *lk,
                                     const struct kgc_api_httproute *route,
                                     struct kgc_status_attachment **out, size_t *n,
                                     struct kgc_err *err);

/* Whether two versions of a route carry the same verdict of this controller in their status at
 * their generation (an Accepted=False/UnsupportedValue of ours, with its message): the only part
 * of a route's status that any status computation reads (kgc_status_route_verdict.pending). A
 * status-only update that keeps it changes no Gateway's status and no other route's. NULL routes
 * compare equal only to NULL. */
bool kgc_status_route_same_written_verdict(const struct kgc_status_options *o,
                                           const struct kgc_api_httproute *a,
                                           const struct kgc_api_httproute *b);

/* ---- backend TLS (Gateway spec.tls.backend, BackendTLSPolicy) -------------------------------- */

/* Resolves gw's spec.tls.backend.clientCertificateRef. Returns NULL when gw has none (*secret
 * NULL) or it resolves to a valid kubernetes.io/tls Secret (*secret: a NEW reference the caller
 * drops); else the Gateway's ResolvedRefs reason (RefNotPermitted: another namespace without a
 * ReferenceGrant; InvalidClientCertificateRef: another group/kind, missing, not a valid TLS
 * Secret) with why in msg. secret may be NULL. */
const char *kgc_status_gateway_client_certificate(const struct kgc_status_lookup *lk,
                                                  const struct kgc_api_gateway *gw,
                                                  const struct kgc_api_obj **secret, char *msg,
                                                  size_t msg_size);

/* The BackendTLSPolicy in force for port port_name of Service ns/name (the API's precedence:
 * a policy naming the port in sectionName beats one without; among equals the oldest
 * creationTimestamp, then namespace/name): a NEW reference the caller drops, or NULL. */
const struct kgc_api_backendtlspolicy *
kgc_status_backendtls_for_port(const struct kgc_status_lookup *lk, const char *ns, const char *name,
                               const char *port_name);

/* What kgc can do with a policy, whatever its targets: usable (Kong can verify the backend as
 * the policy asks) or not (why: requests to its backends must fail), and its CA ConfigMaps.
 * kong_limit (non-empty): what Kong cannot verify (subjectAltNames other than hostname). */
struct kgc_status_backendtls_eval {
    bool usable;
    const char *accepted_reason; /* NULL: Accepted=True; else Invalid or NoValidCACertificate */
    char accepted_message[KGC_STATUS_MSG_MAX];
    const char *refs_reason; /* ResolvedRefs: ResolvedRefs, InvalidKind, InvalidCACertificateRef */
    char refs_message[KGC_STATUS_MSG_MAX];
    char kong_limit[KGC_STATUS_MSG_MAX];
    uint32_t n_valid_cas; /* caCertificateRefs that resolved to a valid CA bundle */
};

void kgc_status_backendtls_evaluate(const struct kgc_status_lookup *lk,
                                    const struct kgc_api_backendtlspolicy *p,
                                    struct kgc_status_backendtls_eval *out);

/* One status.ancestors entry kgc owns: a Gateway of kgc's whose routes use a target. */
struct kgc_status_policy_ancestor {
    struct kgc_api_parent_ref ancestor_ref;    /* group, kind Gateway, namespace, name (strings
                                                  static or borrowed from gateways[] below) */
    struct kgc_status_condition conditions[3]; /* Accepted, ResolvedRefs, KongLimitation? */
    uint32_t n_conditions;
};

/* Desired BackendTLSPolicy status. */
struct kgc_status_backendtlspolicy {
    const struct kgc_api_backendtlspolicy *policy; /* one reference, dropped by release */
    char controller_name[KGC_STATUS_NAME_MAX];
    int64_t generation;
    char now[KGC_STATUS_TIME_MAX];
    struct kgc_status_policy_ancestor ancestors[KGC_STATUS_MAX_ANCESTORS];
    uint32_t n_ancestors;
    const struct kgc_api_obj *gateways[KGC_STATUS_MAX_ANCESTORS]; /* references held */
};

/* Desired status of policy p: one ancestor per Gateway of kgc's that an HTTPRoute naming a
 * targeted Service as backend has as parent (none: kgc writes no entry). Conditions: Accepted
 * (True/Accepted; False/Conflicted when another policy takes precedence on a target;
 * False/Invalid; False/NoValidCACertificate), ResolvedRefs (True/ResolvedRefs; False/InvalidKind
 * or False/InvalidCACertificateRef) and konghq.com/KongLimitation=True when Kong cannot verify
 * some subjectAltNames. Returns 0, KGC_EINVAL or KGC_ENOMEM. */
int kgc_status_backendtlspolicy_compute(const struct kgc_status_options *o,
                                        const struct kgc_status_lookup *lk,
                                        const struct kgc_api_backendtlspolicy *p,
                                        struct kgc_status_backendtlspolicy *out,
                                        struct kgc_err *err);
void kgc_status_backendtlspolicy_release(struct kgc_status_backendtlspolicy *s);

/* The merge patch of status.ancestors (other controllers' entries kept), or *patch = NULL. */
int kgc_status_backendtlspolicy_patch(const struct kgc_status_backendtlspolicy *desired,
                                      const struct kgc_api_backendtlspolicy *current,
                                      json_object **patch, struct kgc_err *err);

/* ---- patch -------------------------------------------------------------------------------- */

/* The merge patch giving a KongPlugin/KongClusterPlugin the Programmed condition (computed by
 * kgc_sync_plugin_status(); other types are kept, lastTransitionTime moves only with the status,
 * observedGeneration is the object's); *patch = NULL when nothing would change. now: RFC 3339
 * (NULL: the wall clock). Returns 0, KGC_EINVAL or KGC_ENOMEM. */
int kgc_status_kongplugin_patch(const struct kgc_api_kongplugin *current,
                                const struct kgc_status_condition *programmed, const char *now,
                                json_object **patch, struct kgc_err *err);

/* The JSON merge patch writing desired onto current (NULL: the object desired was computed
 * from), or *patch = NULL when nothing would change (or the object is not kgc's). The patch
 * carries current's resourceVersion. Returns 0 and a new tree the caller puts, KGC_EINVAL,
 * or KGC_ENOMEM. */
int kgc_status_gatewayclass_patch(const struct kgc_status_gatewayclass *desired,
                                  const struct kgc_api_gatewayclass *current, json_object **patch,
                                  struct kgc_err *err);
int kgc_status_gateway_patch(const struct kgc_status_gateway *desired,
                             const struct kgc_api_gateway *current, json_object **patch,
                             struct kgc_err *err);
int kgc_status_httproute_patch(const struct kgc_status_httproute *desired,
                               const struct kgc_api_httproute *current, json_object **patch,
                               struct kgc_err *err);

/* ---- shared rules (the translator uses them too) --------------------------------------------- */

/* True when the hostnames intersect under the Gateway API wildcard rules: NULL or "" matches
 * everything; "*.example.com" matches "a.example.com" and "a.b.example.com", not "example.com";
 * two wildcards intersect when one's suffix contains the other's. Case-insensitive. */
bool kgc_status_hostnames_intersect(const char *a, const char *b);

/* True when labels satisfy selector (matchLabels AND matchExpressions In/NotIn/Exists/
 * DoesNotExist; an empty selector matches everything, NULL matches nothing). */
bool kgc_status_selector_matches(const struct kgc_api_label_selector *selector,
                                 const struct kgc_api_kv *labels, uint32_t n_labels);

/* True when a ReferenceGrant in to_namespace lets objects of (from_group, from_kind) in
 * from_namespace refer to the (to_group, to_kind) object to_name. Groups: "" is core. */
bool kgc_status_reference_granted(const struct kgc_status_lookup *lk, const char *from_group,
                                  const char *from_kind, const char *from_namespace,
                                  const char *to_group, const char *to_kind,
                                  const char *to_namespace, const char *to_name);

#endif

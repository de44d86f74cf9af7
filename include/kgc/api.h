/* api — typed Gateway API and core Kubernetes objects, parsed from JSON and emitted back to JSON.
 *
 * Each object is ONE malloc'd block holding the struct and every string and array it points to,
 * so freeing is one call and the per-object overhead is small (a json-c tree costs ~19x the JSON
 * text; never keep one). Well-known strings ("gateway.networking.k8s.io", "PathPrefix", "True",
 * ...) point at static constants instead of copies, and a namespaced object's namespace (with its
 * other fields equal to it) at the process's one copy of that name (the first 16,384 names seen;
 * kept for the process's life, so bounded; later ones are copied into each object).
 *
 * Objects are immutable once parsed and reference-counted (atomic): share them between threads
 * with kgc_api_obj_ref()/kgc_api_obj_unref(). To change one, parse or build a new one.
 *
 * Parsing keeps exactly the fields kgc uses (listed in the structs below) and ignores the rest.
 * A value of the wrong type or out of range is never fatal: it is left unset and recorded in
 * obj.problems ("spec.listeners[1].port: must be an integer 1-65535") for reconcilers to report.
 * Only an object without metadata.name (or a namespaced one without metadata.namespace) fails
 * to parse. The annotation kubectl.kubernetes.io/last-applied-configuration (a full copy of the
 * object) is dropped. Secret data other than tls.crt/tls.key is dropped; the PEM of those two (at
 * most KGC_API_SECRET_TLS_MAX_BYTES together, else none and tls_problem says why) is kept for the
 * Kong configuration and is never logged or emitted (emit writes "<redacted>").
 *
 * Conventions: absent strings are NULL; absent integers are 0 unless a field says otherwise;
 * counts are uint32_t named n_<array>, after the pointers in the structs there are thousands of
 * (objects, rules, matches: a count beside each pointer padded 4 B; 16-48 B an object). */
#ifndef KGC_API_H
#define KGC_API_H

#include "kgc/err.h"
#include "kgc/jsonscan.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kinds kgc watches; the order is the dump order. */
enum kgc_api_kind {
    KGC_API_GATEWAYCLASS = 0,
    KGC_API_GATEWAY,
    KGC_API_HTTPROUTE,
    KGC_API_GRPCROUTE,
    KGC_API_REFERENCEGRANT,
    KGC_API_SERVICE,
    KGC_API_ENDPOINTSLICE,
    KGC_API_SECRET,
    KGC_API_NAMESPACE,
    KGC_API_KONGPLUGIN,        /* configuration.konghq.com/v1: optional (the CRD may be absent) */
    KGC_API_KONGCLUSTERPLUGIN, /* configuration.konghq.com/v1, cluster-scoped: optional */
    KGC_API_CONFIGMAP,
    KGC_API_BACKENDTLSPOLICY,
    KGC_API_LISTENERSET, /* gateway.networking.k8s.io/v1 (v1.6): optional (the CRD may be absent) */
    KGC_API_TLSROUTE,    /* gateway.networking.k8s.io/v1 (standard channel since v1.6): optional */
    KGC_API_TCPROUTE,    /* as TLSRoute */
    KGC_API_UDPROUTE,    /* as TLSRoute */
    KGC_API_KIND_COUNT
};

/* Static facts about a kind: how the API server serves it. */
struct kgc_api_kind_info {
    enum kgc_api_kind kind;
    const char *name;        /* "HTTPRoute" */
    const char *plural;      /* "httproutes" (the dump and the URL use it) */
    const char *group;       /* "gateway.networking.k8s.io", "" for the core group */
    const char *version;     /* "v1" */
    const char *api_version; /* "gateway.networking.k8s.io/v1" or "v1" */
    bool namespaced;
    bool optional; /* served only where its CRD is installed (GRPCRoute, BackendTLSPolicy, Kong's
                      configuration.konghq.com kinds): the informer takes a 404 (or 403) list as
                      an empty one and lists again later (include/kgc/informer.h) */
};

/* The facts for kind (never NULL for a valid kind; NULL otherwise). */
const struct kgc_api_kind_info *kgc_api_kind_info(enum kgc_api_kind kind);

/* The kind whose plural (or, case-insensitively, kind name) is s; -1 when none. */
int kgc_api_kind_from_name(const char *s);

/* --- shared pieces ---------------------------------------------------------------------------- */

struct kgc_api_kv {
    const char *key;
    const char *value;
};

struct kgc_api_condition {
    const char *type;
    const char *status; /* "True", "False" or "Unknown" (anything else is kept and recorded) */
    const char *reason;
    const char *message;
    const char *last_transition_time; /* RFC 3339 as sent */
    int64_t observed_generation;
};

struct kgc_api_meta {
    const char *key;       /* "namespace/name", or "name" for cluster-scoped kinds: the cache key */
    const char *namespace; /* NULL for cluster-scoped kinds */
    const char *name;
    const char *uid;
    const char *resource_version;
    const char *creation_timestamp; /* RFC 3339 as sent (route precedence uses it) */
    const char *deletion_timestamp; /* set while the object is being deleted */
    int64_t generation;             /* 0 for kinds without one */
    const struct kgc_api_kv *labels;
    const struct kgc_api_kv *annotations;
    uint32_t n_labels;
    uint32_t n_annotations;
};

#define KGC_API_MAX_PROBLEMS 8

/* The header every typed object starts with. */
struct kgc_api_obj {
    uint32_t refs;          /* reference count; changed only by kgc_api_obj_ref/unref (atomic) */
    uint32_t size;          /* bytes of the single allocation holding the object */
    enum kgc_api_kind kind; /* which kgc_api_<kind> struct this header starts */
    uint32_t n_problems;    /* at most KGC_API_MAX_PROBLEMS (later ones are dropped) */
    struct kgc_api_meta meta;
    const char *const *problems; /* invalid values found while parsing ("field: reason") */
};

/* A label selector (matchLabels AND matchExpressions). */
struct kgc_api_selector_requirement {
    const char *key;
    const char *operator; /* In, NotIn, Exists, DoesNotExist */
    const char *const *values;
    uint32_t n_values;
};

struct kgc_api_label_selector {
    const struct kgc_api_kv *match_labels;
    uint32_t n_match_labels;
    const struct kgc_api_selector_requirement *match_expressions;
    uint32_t n_match_expressions;
};

/* A reference to an object in another (or the same) namespace: parentRef-less refs
 * (certificateRefs, backendRefs' target, parametersRef, ReferenceGrant from/to). */
struct kgc_api_object_ref {
    const char *group; /* NULL when absent (the API default applies: "" for core refs) */
    const char *kind;  /* NULL when absent */
    const char *name;
    const char *namespace; /* NULL: the referrer's namespace */
};

struct kgc_api_group_kind {
    const char *group;
    const char *kind;
};

/* --- GatewayClass ----------------------------------------------------------------------------- */

struct kgc_api_gatewayclass {
    struct kgc_api_obj obj;
    const char *controller_name;
    const struct kgc_api_object_ref *parameters_ref; /* NULL when absent */
    const struct kgc_api_condition *conditions;      /* status.conditions */
    uint32_t n_conditions;
};

/* --- Gateway ---------------------------------------------------------------------------------- */

struct kgc_api_listener_tls {
    const char *mode; /* "Terminate" (API default, NULL when absent) or "Passthrough" */
    const struct kgc_api_object_ref *certificate_refs;
    uint32_t n_certificate_refs;
    const struct kgc_api_kv *options;
    uint32_t n_options;
};

struct kgc_api_allowed_routes {
    const char *namespaces_from;                   /* Same (default, NULL), All, Selector */
    const struct kgc_api_label_selector *selector; /* NULL when absent */
    const struct kgc_api_group_kind *kinds;
    uint32_t n_kinds;
};

struct kgc_api_listener {
    const char *name;
    const char *hostname; /* NULL: any */
    int32_t port;         /* 0 when missing or invalid (recorded) */
    const char *protocol;
    const struct kgc_api_listener_tls *tls;              /* NULL when absent */
    const struct kgc_api_allowed_routes *allowed_routes; /* NULL when absent */
};

/* spec.allowedListeners (gateway-api v1.6.1 apis/v1/gateway_types.go:327-360): which
 * ListenerSets may attach. */
struct kgc_api_allowed_listeners {
    const char *namespaces_from;                   /* None (default, NULL), Same, All, Selector */
    const struct kgc_api_label_selector *selector; /* NULL when absent */
};

struct kgc_api_listenerset;

struct kgc_api_address {
    const char *type; /* IPAddress (default, NULL when absent), Hostname, ... */
    const char *value;
};

struct kgc_api_listener_status {
    const char *name;
    const struct kgc_api_group_kind *supported_kinds;
    uint32_t n_supported_kinds;
    int32_t attached_routes;
    const struct kgc_api_condition *conditions;
    uint32_t n_conditions;
};

struct kgc_api_gateway {
    struct kgc_api_obj obj;
    const char *gateway_class_name;
    /* spec.tls.backend.clientCertificateRef: the client certificate Kong presents to backends
     * (group NULL: core, kind NULL: Secret); NULL when absent */
    const struct kgc_api_object_ref *backend_client_certificate_ref;
    const struct kgc_api_listener *listeners;
    uint32_t n_listeners;
    const struct kgc_api_address *addresses;
    uint32_t n_addresses;
    const struct kgc_api_object_ref *infrastructure_parameters_ref; /* NULL when absent */
    /* status */
    const struct kgc_api_condition *conditions;
    uint32_t n_conditions;
    const struct kgc_api_listener_status *listener_status;
    uint32_t n_listener_status;
    const struct kgc_api_address *status_addresses;
    uint32_t n_status_addresses;
    /* spec.allowedListeners; NULL when absent (no ListenerSet may attach) */
    const struct kgc_api_allowed_listeners *allowed_listeners;
    int32_t attached_listener_sets; /* status.attachedListenerSets (-1 when absent) */
    /* A merged Gateway (kgc_api_gateway_merge) only, else NULL/0: the ListenerSet each of
     * listeners[] comes from (NULL: the Gateway's own, which come first), and the references the
     * merged object holds on the Gateway and the sets it borrows from (dropped with it). */
    const struct kgc_api_listenerset *const *listener_origin;
    uint32_t n_own_listeners; /* merged: how many of listeners[] are the Gateway's own */
    const struct kgc_api_obj *const *held;
    uint32_t n_held;
};

/* The ListenerSet listeners[i] of gw comes from, NULL for the Gateway's own. */
static inline const struct kgc_api_listenerset *
kgc_api_listener_origin(const struct kgc_api_gateway *gw, uint32_t i)
{
    return gw->listener_origin && i < gw->n_listeners ? gw->listener_origin[i] : NULL;
}

/* How many of gw's listeners are its own (all of them unless gw is a merged Gateway). */
static inline uint32_t kgc_api_gateway_own_listeners(const struct kgc_api_gateway *gw)
{
    return gw->listener_origin ? gw->n_own_listeners : gw->n_listeners;
}

/* --- HTTPRoute -------------------------------------------------------------------------------- */

struct kgc_api_parent_ref {
    const char *group;     /* NULL: gateway.networking.k8s.io */
    const char *kind;      /* NULL: Gateway */
    const char *namespace; /* NULL: the route's namespace */
    const char *name;
    const char *section_name; /* NULL when absent */
    int32_t port;             /* 0 when absent */
};

struct kgc_api_http_path_match {
    const char *type; /* Exact, PathPrefix, RegularExpression; NULL when the match has no path */
    const char *value;
};

/* A header or query parameter match. */
struct kgc_api_http_value_match {
    const char *type; /* Exact (default, NULL when absent) or RegularExpression */
    const char *name;
    const char *value;
};

/* A GRPCRoute match's method (GRPCMethodMatch): service and method are each optional (NULL),
 * not both (the CRD's CEL rules); type Exact (API default, NULL when absent) or
 * RegularExpression. */
struct kgc_api_grpc_method_match {
    const char *type;
    const char *service; /* "pkg.Service" */
    const char *method;  /* "Method" */
};

struct kgc_api_http_route_match {
    struct kgc_api_http_path_match path; /* GRPCRoute: unset */
    const struct kgc_api_http_value_match *headers;
    const struct kgc_api_http_value_match *query_params; /* GRPCRoute: none */
    const char *method;                                  /* NULL: any (GRPCRoute: NULL) */
    const struct kgc_api_grpc_method_match *grpc_method; /* GRPCRoute only; NULL: any method */
    uint32_t n_headers;
    uint32_t n_query_params;
};

struct kgc_api_http_header_modifier {
    const struct kgc_api_kv *set; /* key = header name */
    uint32_t n_set;
    const struct kgc_api_kv *add;
    uint32_t n_add;
    const char *const *remove;
    uint32_t n_remove;
};

struct kgc_api_http_path_modifier {
    const char *type; /* ReplaceFullPath or ReplacePrefixMatch */
    const char *replace_full_path;
    const char *replace_prefix_match;
};

struct kgc_api_http_redirect {
    const char *scheme;                            /* NULL: unchanged */
    const char *hostname;                          /* NULL: unchanged */
    const struct kgc_api_http_path_modifier *path; /* NULL when absent */
    int32_t port;                                  /* 0 when absent */
    int32_t status_code;                           /* 0 when absent (API default 302) */
};

struct kgc_api_http_rewrite {
    const char *hostname;
    const struct kgc_api_http_path_modifier *path; /* NULL when absent */
};

struct kgc_api_http_filter {
    const char *type; /* RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect,
                         URLRewrite, ExtensionRef, RequestMirror, CORS, ... (kept as sent) */
    const struct kgc_api_http_header_modifier *request_header_modifier;
    const struct kgc_api_http_header_modifier *response_header_modifier;
    const struct kgc_api_http_redirect *request_redirect;
    const struct kgc_api_http_rewrite *url_rewrite;
    const struct kgc_api_object_ref *extension_ref; /* group, kind, name */
};

struct kgc_api_backend_ref {
    const char *group; /* NULL: core ("") */
    const char *kind;  /* NULL: Service */
    const char *name;
    const char *namespace; /* NULL: the route's namespace */
    int32_t port;          /* 0 when absent */
    int32_t weight;        /* 1 when absent (the API default) */
    const struct kgc_api_http_filter *filters;
    uint32_t n_filters;
};

struct kgc_api_http_route_rule {
    const char *name; /* NULL when absent */
    const struct kgc_api_http_route_match *matches;
    const struct kgc_api_http_filter *filters;
    const struct kgc_api_backend_ref *backend_refs;
    const char *timeout_request;         /* timeouts.request, NULL when absent */
    const char *timeout_backend_request; /* timeouts.backendRequest, NULL when absent */
    uint32_t n_matches;
    uint32_t n_filters;
    uint32_t n_backend_refs;
};

struct kgc_api_route_parent_status {
    struct kgc_api_parent_ref parent_ref;
    const char *controller_name;
    const struct kgc_api_condition *conditions;
    uint32_t n_conditions;
};

/* An HTTPRoute, or a GRPCRoute (obj.kind KGC_API_GRPCROUTE): GRPCRoute's spec is HTTPRoute's
 * with gRPC method matches instead of path/method/query matches, the filters RequestHeaderModifier,
 * ResponseHeaderModifier, RequestMirror and ExtensionRef, and no timeouts (gateway-api v1.6.1
 * apis/v1/grpcroute_types.go), so both parse into this struct and share the status and
 * translation code; kgc_api_as_route() accepts both kinds.
 * TLSRoute, TCPRoute and UDPRoute (obj.kind KGC_API_TLSROUTE, _TCPROUTE, _UDPROUTE) parse into it
 * too: their rules carry only a name and backendRefs (no matches, filters or timeouts), and only
 * TLSRoute has hostnames (gateway-api v1.6.1 apis/v1/tlsroute_types.go, tcproute_types.go,
 * udproute_types.go); kgc_api_as_route() accepts them as well, kgc_api_is_l4_route_kind() tells
 * them apart. */
struct kgc_api_httproute {
    struct kgc_api_obj obj;
    const struct kgc_api_parent_ref *parent_refs;
    const char *const *hostnames;
    const struct kgc_api_http_route_rule *rules;
    const struct kgc_api_route_parent_status *parents; /* status.parents */
    uint32_t n_parent_refs;
    uint32_t n_hostnames;
    uint32_t n_rules;
    uint32_t n_parents;
};

/* --- ReferenceGrant --------------------------------------------------------------------------- */

struct kgc_api_referencegrant {
    struct kgc_api_obj obj;
    const struct kgc_api_object_ref *from; /* group, kind, namespace */
    uint32_t n_from;
    const struct kgc_api_object_ref *to; /* group, kind, name (NULL: every object of the kind) */
    uint32_t n_to;
};

/* --- Service ---------------------------------------------------------------------------------- */

struct kgc_api_service_port {
    const char *name;
    const char *protocol; /* TCP (default, NULL when absent), UDP, SCTP */
    const char *app_protocol;
    int32_t port;
    int32_t target_port;          /* numeric targetPort, 0 when absent or named */
    const char *target_port_name; /* named targetPort, NULL when numeric or absent */
    int32_t node_port;
};

struct kgc_api_lb_ingress {
    const char *ip;
    const char *hostname;
};

struct kgc_api_service {
    struct kgc_api_obj obj;
    const char *type;       /* ClusterIP (default, NULL when absent), NodePort, LoadBalancer, ... */
    const char *cluster_ip; /* "None" for headless */
    const char *const *cluster_ips;
    const char *external_name; /* ExternalName services */
    const struct kgc_api_service_port *ports;
    const struct kgc_api_lb_ingress *lb_ingress; /* status.loadBalancer.ingress */
    uint32_t n_cluster_ips;
    uint32_t n_ports;
    uint32_t n_lb_ingress;
};

/* --- EndpointSlice ---------------------------------------------------------------------------- */

/* A tri-state boolean: KGC_API_UNSET when the field is absent. */
#define KGC_API_UNSET (-1)

struct kgc_api_endpoint_port {
    const char *name;
    const char *protocol;
    const char *app_protocol;
    int32_t port; /* 0 when absent */
};

struct kgc_api_endpoint {
    const char *const *addresses;
    uint32_t n_addresses;
    int8_t ready;       /* 1, 0 or KGC_API_UNSET (absent means ready) */
    int8_t serving;     /* 1, 0 or KGC_API_UNSET */
    int8_t terminating; /* 1, 0 or KGC_API_UNSET */
    const char *node_name;
};

struct kgc_api_endpointslice {
    struct kgc_api_obj obj;
    const char *service_name; /* label kubernetes.io/service-name, NULL when absent */
    const char *managed_by;   /* label endpointslice.kubernetes.io/managed-by, NULL when absent */
    /* The controller ownerReference (controller: true) when it names a core v1 Service: its name
     * and uid; NULL when the slice has none (kongdiscovery trusts only slices the EndpointSlice
     * controller made for the Service it watches). */
    const char *owner_service_name;
    const char *owner_service_uid;
    const char *address_type; /* IPv4, IPv6, FQDN */
    const struct kgc_api_endpoint_port *ports;
    const struct kgc_api_endpoint *endpoints;
    uint32_t n_ports;
    uint32_t n_endpoints;
};

/* --- Secret ----------------------------------------------------------------------------------- */

/* The most PEM a TLS Secret may hold (tls.crt and tls.key decoded, together): a bigger one is
 * kept without its data and tls_problem says so (a certificate chain with its key is a few KiB;
 * this bounds what each Secret costs in memory and in every Kong push whatever tenants create). */
#define KGC_API_SECRET_TLS_MAX_BYTES (256u * 1024)

struct kgc_api_secret {
    struct kgc_api_obj obj;
    const char *type; /* "kubernetes.io/tls", "Opaque", ... */
    bool has_tls_crt; /* data["tls.crt"] present */
    bool has_tls_key; /* data["tls.key"] present */
    bool tls_valid;   /* tls.crt holds a PEM certificate, tls.key a PEM private key, they match
                         (each judged up to its first NUL byte: what tls_*_pem keep) */
    const char *tls_problem; /* why tls_valid is false (no secret material in it), or NULL */
    const char *tls_crt_pem; /* decoded tls.crt (NUL-terminated); NEVER log or emit */
    const char *tls_key_pem; /* decoded tls.key (NUL-terminated); NEVER log or emit */
};

/* --- Namespace -------------------------------------------------------------------------------- */

struct kgc_api_namespace {
    struct kgc_api_obj obj; /* labels are in obj.meta.labels */
    const char *phase;      /* status.phase: Active, Terminating */
};

/* --- KongPlugin, KongClusterPlugin (configuration.konghq.com/v1) ------------------------------ */

/* The same fields as Kong's controller's CRDs (Kong/kubernetes-configuration
 * api/configuration/v1/kongplugin_types.go, kongclusterplugin_types.go, configsource.go): they
 * sit at the top level of the object, not under spec. */

/* The most `config` (as compact JSON text) a plugin object may carry: a bigger one is dropped and
 * recorded in obj.problems (the translator then treats the plugin as unusable). */
#define KGC_API_KONGPLUGIN_CONFIG_MAX (64u * 1024)

struct kgc_api_secret_key_ref {
    const char *namespace; /* KongClusterPlugin only (required there); NULL for KongPlugin */
    const char *name;
    const char *key;
};

/* Both kinds share this struct (obj.kind says which; KongClusterPlugin has no namespace). */
struct kgc_api_kongplugin {
    struct kgc_api_obj obj;
    const char *plugin;  /* the Kong plugin name ("plugin", required by the CRD) */
    const char *config;  /* "config" as compact JSON text (an object); NULL when absent */
    bool config_invalid; /* "config" was present but not an object or too big (recorded) */
    const struct kgc_api_secret_key_ref *config_from; /* configFrom.secretKeyRef; NULL if absent */
    uint32_t n_config_patches; /* configPatches entries (kgc does not apply them: the translator
                                  reports the plugin as unusable) */
    bool disabled;
    const char *const *protocols; /* "protocols" as sent (the CRD's enum: http, https, grpc,
                                     grpcs, tcp, tls, udp) */
    uint32_t n_protocols;
    const char *ordering;      /* "ordering" as compact JSON text; NULL when absent */
    const char *instance_name; /* "instance_name"; NULL when absent */
    const char *consumer_ref;  /* "consumerRef" (kgc has no consumers: reported, not applied) */
    const char *run_on;        /* "run_on" (service mesh only: ignored) */
    bool global;               /* label global=true (a KongClusterPlugin so labelled is a global
                                  Kong plugin: pkg/translate/plugins.c) */
    const struct kgc_api_condition *conditions; /* status.conditions */
    uint32_t n_conditions;
};

/* --- ConfigMap ------------------------------------------------------------------------------- */

/* The most a ConfigMap's ca.crt may hold: a bigger one is kept without its data (ca_problem says
 * so). Every other key of data/binaryData is dropped: kgc reads ConfigMaps only as CA bundles of
 * BackendTLSPolicies, and a tenant's large ConfigMaps must not cost kgc memory. */
#define KGC_API_CONFIGMAP_CA_MAX_BYTES (256u * 1024)

struct kgc_api_configmap {
    struct kgc_api_obj obj;
    bool has_ca_crt;        /* data["ca.crt"] present (even empty or too big) */
    bool ca_valid;          /* ca_crt holds PEM CA certificates only (kgc_api_ca_bundle_check) */
    const char *ca_problem; /* why ca_valid is false, or NULL */
    const char *ca_crt;     /* data["ca.crt"] when ca_valid (public CA certificates), else NULL */
};

/* --- BackendTLSPolicy ------------------------------------------------------------------------- */

struct kgc_api_policy_target_ref {
    const char *group; /* "" for core (Service) */
    const char *kind;
    const char *name;
    const char *section_name; /* NULL when absent */
};

struct kgc_api_subject_alt_name {
    const char *type; /* Hostname or URI */
    const char *hostname;
    const char *uri;
};

struct kgc_api_policy_ancestor_status {
    struct kgc_api_parent_ref ancestor_ref;
    const char *controller_name;
    const struct kgc_api_condition *conditions;
    uint32_t n_conditions;
};

struct kgc_api_backendtlspolicy {
    struct kgc_api_obj obj;
    const struct kgc_api_policy_target_ref *target_refs;
    uint32_t n_target_refs;
    const struct kgc_api_object_ref *ca_certificate_refs; /* validation.caCertificateRefs */
    uint32_t n_ca_certificate_refs;
    const char *well_known_ca_certificates; /* validation.wellKnownCACertificates, NULL: absent */
    const char *hostname;                   /* validation.hostname */
    const struct kgc_api_subject_alt_name *subject_alt_names;
    uint32_t n_subject_alt_names;
    const struct kgc_api_kv *options;
    uint32_t n_options;
    const struct kgc_api_policy_ancestor_status *ancestors; /* status.ancestors */
    uint32_t n_ancestors;
};

/* --- ListenerSet ----------------------------------------------------------------------------- */

/* gateway-api v1.6.1 apis/v1/listenerset_types.go: listeners attached to a parent Gateway from
 * another object (possibly another namespace). Listener entries have a Gateway listener's fields
 * and parse into the same struct. */
struct kgc_api_listenerset {
    struct kgc_api_obj obj;
    struct kgc_api_parent_ref parent_ref; /* spec.parentRef: group, kind (NULL: Gateway),
                                             namespace (NULL: the set's), name */
    const struct kgc_api_listener *listeners;
    uint32_t n_listeners;
    /* status */
    const struct kgc_api_condition *conditions;
    uint32_t n_conditions;
    const struct kgc_api_listener_status *listener_status;
    uint32_t n_listener_status;
};

/* --- functions -------------------------------------------------------------------------------- */

/* Parses the object at node of tape t (kgc/jsonscan.h: a validated document; node 0 is the
 * document itself) into a new typed object of the given kind with one reference. The tape and
 * its text are only read during the call. Returns 0, KGC_EPARSE (not an object, or no usable
 * metadata.name/namespace: err says which) or KGC_ENOMEM. Where JSON repeats a key, the last
 * value counts (as in json-c and the API server's decoder); a repeated key of a string map
 * (labels, annotations, options) is kept once per occurrence, in document order. */
int kgc_api_parse_tape(enum kgc_api_kind kind, const struct kgc_jsonscan_tape *t, uint32_t node,
                       struct kgc_api_obj **out, struct kgc_err *err);

/* The same from JSON text (len bytes), validated within the object limits of kgc/k8s.h
 * (KGC_K8S_OBJECT_MAX_VALUES, ..._CONTAINERS: KGC_E2BIG over them). */
int kgc_api_parse_text(enum kgc_api_kind kind, const char *text, size_t len,
                       struct kgc_api_obj **out, struct kgc_err *err);

/* The same from a json-c tree (printed to text first: for tests and tools, not hot paths). */
int kgc_api_parse(enum kgc_api_kind kind, json_object *json, struct kgc_api_obj **out,
                  struct kgc_err *err);

/* Emits the object as a Kubernetes-shaped JSON tree (apiVersion, kind, metadata with
 * resourceVersion, spec, status, and "kgcProblems" when some values were invalid). Secret data
 * values are "<redacted>". Returns a new tree the caller puts, or NULL when out of memory. */
json_object *kgc_api_to_json(const struct kgc_api_obj *obj);

/* Takes one more reference; returns obj. Safe from any thread. NULL is allowed (returns NULL). */
const struct kgc_api_obj *kgc_api_obj_ref(const struct kgc_api_obj *obj);

/* Both NULL or equal strings. */
bool kgc_api_str_equal(const char *a, const char *b);
/* The same key/value pairs in the same order (labels, annotations as parsed). */
bool kgc_api_kvs_equal(const struct kgc_api_kv *a, uint32_t na, const struct kgc_api_kv *b,
                       uint32_t nb);

/* Drops one reference, freeing the object with the last one. NULL is allowed. */
void kgc_api_obj_unref(const struct kgc_api_obj *obj);

/* Checked downcasts: the typed object, or NULL when obj is NULL or of another kind. */
const struct kgc_api_gatewayclass *kgc_api_as_gatewayclass(const struct kgc_api_obj *obj);
const struct kgc_api_gateway *kgc_api_as_gateway(const struct kgc_api_obj *obj);
const struct kgc_api_httproute *kgc_api_as_httproute(const struct kgc_api_obj *obj);
const struct kgc_api_httproute *kgc_api_as_grpcroute(const struct kgc_api_obj *obj);
/* An HTTPRoute, GRPCRoute, TLSRoute, TCPRoute or UDPRoute (NULL for any other kind). */
const struct kgc_api_httproute *kgc_api_as_route(const struct kgc_api_obj *obj);
/* Whether kind is a route kind kgc reconciles (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute,
 * UDPRoute). */
bool kgc_api_is_route_kind(enum kgc_api_kind kind);
/* Whether kind is one of the stream route kinds (TLSRoute, TCPRoute, UDPRoute). */
bool kgc_api_is_l4_route_kind(enum kgc_api_kind kind);
const struct kgc_api_referencegrant *kgc_api_as_referencegrant(const struct kgc_api_obj *obj);
const struct kgc_api_service *kgc_api_as_service(const struct kgc_api_obj *obj);
const struct kgc_api_endpointslice *kgc_api_as_endpointslice(const struct kgc_api_obj *obj);
const struct kgc_api_secret *kgc_api_as_secret(const struct kgc_api_obj *obj);
const struct kgc_api_namespace *kgc_api_as_namespace(const struct kgc_api_obj *obj);
/* KongPlugin and KongClusterPlugin both. */
const struct kgc_api_kongplugin *kgc_api_as_kongplugin(const struct kgc_api_obj *obj);
const struct kgc_api_configmap *kgc_api_as_configmap(const struct kgc_api_obj *obj);
const struct kgc_api_backendtlspolicy *kgc_api_as_backendtlspolicy(const struct kgc_api_obj *obj);
const struct kgc_api_listenerset *kgc_api_as_listenerset(const struct kgc_api_obj *obj);

/* A merged Gateway: gw with the listeners of sets[0..n_sets-1] appended in that order (the
 * caller orders them by the API's precedence), at most max_listeners in all (later ones are
 * left out). The new object (one reference, kind Gateway, gw's metadata and fields) borrows
 * every string from gw and the sets and holds a reference on each of them until it is freed.
 * Returns 0 or KGC_ENOMEM. */
int kgc_api_gateway_merge(const struct kgc_api_gateway *gw,
                          const struct kgc_api_listenerset *const *sets, uint32_t n_sets,
                          uint32_t max_listeners, const struct kgc_api_gateway **out);

/* The value of label key on obj, or NULL. */
const char *kgc_api_label(const struct kgc_api_obj *obj, const char *key);

/* The condition of the given type in a list, or NULL. */
const struct kgc_api_condition *kgc_api_condition_find(const struct kgc_api_condition *conds,
                                                       uint32_t n, const char *type);

/* Decodes standard base64 (newlines allowed) into a new NUL-terminated buffer (*out, *out_len
 * without the NUL). Returns 0, KGC_EPARSE or KGC_ENOMEM. The caller frees *out. */
int kgc_api_base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len);

/* Checks that cert_pem holds at least one PEM certificate, key_pem a PEM private key, and that
 * the key matches the first certificate. Returns true, or false with a reason in problem. */
/* Checks that pem (len bytes) is a bundle of one or more PEM CA certificates (basicConstraints
 * CA:TRUE, as Kong requires of a trust anchor) and nothing else unparsable. Returns the number
 * of certificates, or 0 with a reason in problem. */
unsigned kgc_api_ca_bundle_check(const char *pem, size_t len, char *problem, size_t problem_size);

bool kgc_api_tls_pair_valid(const char *cert_pem, size_t cert_len, const char *key_pem,
                            size_t key_len, char *problem, size_t problem_size);

#endif

/* translate internals, shared by the files of pkg/translate/ (README.md, "Source files"): the
 * translation context, the records the planning pass keeps for the writing passes, the match
 * plans, and each file's entry points. Calls run one way, never back up:
 *
 *   translate.c (planning, entry points) → writer.c → certs.c
 *   translate.c, writer.c → match.c, filters.c; match.c → filters.c
 *   translate.c → backends.c, owner.c
 *   translate.c, backends.c, writer.c, certs.c, incremental.c → backendtls.c (BackendTLSPolicy,
 *   the Gateways' backend client certificates)
 *   every file but owner.c → context.c → kong_values.c
 *
 * kong_values.c holds what Kong accepts: the checks that keep every user-supplied value inside
 * it (a value Kong would reject must never reach the configuration: one bad route would
 * otherwise block every other route's update). */
#ifndef KGC_TRANSLATE_INTERNAL_H
#define KGC_TRANSLATE_INTERNAL_H

#include "kgc/base.h"
#include "kgc/strmap.h"
#include "kgc/translate.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TR_GW_GROUP "gateway.networking.k8s.io"

enum tr_flavor { TR_TRADITIONAL_COMPATIBLE = 0, TR_TRADITIONAL, TR_EXPRESSIONS };

/* One Kong route as the planning pass sees it: what its precedence is computed from, and the
 * priority the ranking gives it (written when its service is serialized). */
struct tr_kroute {
    /* (fields ordered by size, no padding: 112 bytes, one per Kong route, kept per route by the
     * incremental state) */
    int64_t prio; /* regex_priority/priority: n - rank (set by the ranking) */
    /* precedence, smaller first (after the fields below): */
    const char *created; /* creationTimestamp (borrowed from the route), NULL sorts last */
    const char *key;     /* "ns/name" (borrowed) */
    /* the match's path value as the route gives it ("/" when it has none; borrowed from the
     * route, which outlives its Kong routes) and its length (raw_path_len): the limits compare
     * them */
    const char *raw_path;
    uint64_t tc_prio; /* tr_tc_priority(), set with the other facts (kroute_facts) */
    /* the hostnames the Kong route matches (borrowed from its route_ctx: hosts, iso_hosts, or
     * the one of hosts it carries under expressions); none (n_hosts 0): any hostname */
    char *const *hosts;
    /* set by the ranking: the first seven precedence fields packed in 40 bits (larger =
     * earlier; equal facts are adjacent in rank order) and the place among the routes with
     * equal facts that it can meet, directly or through others (facts_place; 0 = first;
     * tr_rank_assign). The traditional_compatible flavour writes them into the Kong route's id,
     * which Kong's ATC router uses to order routes of equal priority (see tr_kroute_id). */
    uint64_t facts;
    /* precedence (Gateway API order), larger first */
    uint32_t host_exact; /* characters of the matching non-wildcard hostname */
    uint32_t host_len;   /* characters of the matching hostname (wildcard or not) */
    uint32_t path_kind;  /* 2 Exact, 1 RegularExpression, 0 PathPrefix */
    uint32_t path_len;
    uint32_t method;
    uint32_t headers;
    uint32_t queries;
    /* then, smaller first: created, key (above), then */
    uint32_t rule, match, host;
    uint32_t raw_path_len;
    uint32_t n_hosts;
    uint32_t facts_place;
    bool iso;       /* the Kong route carrying route_ctx.iso_hosts (TR_HOSTS_ISO) */
    bool grpc;      /* a GRPCRoute's: path_len is the service's characters, method the method's
                       (grpc.c), packed in other widths (tr_kroute_pack) */
    bool root_path; /* the Kong route's path is the plain prefix "/" (every other is a regex
                       under traditional_compatible) */
};

/* The Kong route id that orders k among routes of equal Kong priority as the ranking does: Kong
 * 3.9.1's ATC router runs matchers of equal priority in descending id order (atc-router
 * src/router.rs:11,15,57 at ffd11db6: BTreeMap keyed by (priority, uuid), iterated in reverse).
 * Bytes 0-4: k->facts (40 bits); 5-7: 0xFFFFFF - k->facts_place; 8-15: from the MD5 of name. Stable
 * while the route's own precedence facts and its place among the equal ones it can meet stay
 * (tr_rank_assign). out: 36 characters + NUL. */
void tr_kroute_id(const struct tr_kroute *k, const char *name, char out[37]);
/* The priority Kong 3.9.1 gives k under traditional_compatible (limits.c, where the lines of
 * kong/router/transform.lua it follows are cited); fixed once k's facts are (kroute_facts keeps
 * it in k->tc_prio). */
struct route_ctx;
uint64_t tr_tc_priority(const struct route_ctx *rc, const struct tr_kroute *k);
/* Sets k->facts from k's precedence fields (the ranking does it for every Kong route). */
void tr_kroute_pack(struct tr_kroute *k);

/* The whole translation. */
struct tr_ctx {
    const struct kgc_translate_input *in;
    const struct kgc_status_lookup *lk;
    struct kgc_status_options so; /* controller name only: attachments are computed with it */
    const char *controller;
    enum tr_flavor flavor;
    bool redirect_plugin; /* Kong >= 3.9 */
    char fallback[300];   /* input.invalid_backend_target as a Kong target; "" when off */
    bool oom;             /* sticky: an allocation failed somewhere */
    bool too_big; /* incremental.c: the document would exceed its 32-bit offsets (oom set too) */
    bool quiet;   /* the writing passes: problems were recorded by the planning pass */
    /* every EndpointSlice with a namespace and a Service name (refs held), sorted by
     * "ns/service" then key (backends.c, tr_slices_of) */
    struct kgc_base_vec slices;
    struct kgc_base_vec routes; /* struct route_ctx * of every route with a kept rule (owned) */
    struct kgc_base_vec svcs;   /* struct tr_svc * of every kept rule (owned) */
    struct kgc_base_vec
        kroutes;         /* struct tr_kroute * of every Kong route (borrowed), for ranking */
    size_t places_moved; /* tr_rank_assign: the Kong routes whose facts_place it changed */
    struct tr_iso *iso;  /* listener-isolation routes (traditional_compatible), sorted, unique */
    size_t n_iso;
    struct kgc_translate_problem *problems;
    size_t n_problems, cap_problems;
    struct kgc_translate_counts counts;
    /* stream.c: the TLSRoute/TCPRoute/UDPRoute services (with their routes) and upstreams, as
     * JSON text (char *, owned), in document order */
    struct kgc_base_vec stream_svcs, stream_ups;
};

/* ---- the planning pass's records (translate.c makes them; the other files read them) -------- */

#define TR_MAX_LISTENS 32

/* The prefix of the Kong entity names of route r: "httproute" or "grpcroute" (grpc.c). */
static inline const char *tr_route_prefix(const struct kgc_api_httproute *r)
{
    return r->obj.kind == KGC_API_GRPCROUTE ? "grpcroute" : "httproute";
}

/* One HTTPRoute or GRPCRoute (rc->r->obj.kind) being translated and where it is attached
 * (hostnames, protocols, port). */
struct route_ctx {
    struct tr_ctx *c;
    const struct kgc_api_httproute *r;
    const char *ns, *name;
    char **hosts; /* effective hostnames (route ∩ listeners), sorted, unique */
    size_t n_hosts;
    bool any_host;     /* some listener/route pair matches every hostname */
    uint32_t isolated; /* hostnames left out: they belong to a more specific listener */
    /* traditional_compatible, kept only when any_host: the hostnames this route takes through
     * listeners that a less specific listener on their port covers (each has an isolation route,
     * isolation.c, that would hide them from a Kong route without hosts), with their listens[]
     * bits; written as a second Kong route per match (host_index TR_HOSTS_ISO). */
    char **iso_hosts;
    uint32_t *iso_listens;
    size_t n_iso_hosts;
    bool http, https; /* protocols of the listeners it is attached to */
    bool port_set;    /* (beside the bools: no padding) */
    int32_t port;     /* their port when they all share it, else 0 */
    /* The (protocol, Kong proxy port) pairs of the listeners it is attached to, and for each
     * effective hostname the pairs whose listener gives it (bit k: listens[k]); the expressions
     * flavour matches each Kong route on its pairs only (net.protocol, net.dst.port). Grown as
     * needed (most routes have one or two): one route_ctx per HTTPRoute lives through the whole
     * translation, and arrays of TR_MAX_LISTENS inline made it 824 bytes (8 MB at 10k routes). */
    struct tr_listen {
        bool https;
        uint16_t port;    /* the Kong proxy listen port; 0: unknown (protocol only) */
        uint16_t gw_port; /* the Gateway listener's port: Kong 3.9.1 takes net.dst.port from
                             the Host header's port when it has one (kong/router/fields.lua:
                             129-139), e.g. a browser's "Host: foo.com:8080" for a listener on
                             8080 that Kong serves on another port; both are accepted */
    } * listens;          /* n_listens (owned) */
    uint32_t n_listens;
    bool listens_overflow;  /* more than TR_MAX_LISTENS pairs: no scoping */
    uint32_t *host_listens; /* parallel to hosts */
    /* The Gateways it is attached to (kgc_strmap_hash of "ns/name") with the Kong listen of
     * each attachment: routes of different Gateways on one listen collide in Kong. */
    struct tr_gw_listen {
        uint64_t gw;
        bool https;
        uint16_t port;
    } * gw_listens; /* n_gw_listens, at most TR_MAX_LISTENS (owned) */
    uint32_t n_gw_listens;
    /* Once attached (tr_plan_route), the record, its arrays and its hostnames are moved into
     * one block (the arrays and strings point into it; tr_route_ctx_free frees the block only):
     * six small blocks a route cost ~300 B with malloc's 32 B minimum each, kept per route by
     * the incremental state. Nothing grows the arrays after that. */
    bool packed;
};

/* Appends one element to *arr of *n elements (of size elem), growing it; false when out of
 * memory (c->oom set). Grows to the next power of two, so *n is all the state it needs. */
bool tr_grow(struct tr_ctx *c, void **arr, uint32_t n, size_t elem);

/* host_index of the Kong route of a match that carries rc->iso_hosts. */
#define TR_HOSTS_ISO (-2)

/* Whether a hostname is a wildcard ("*.example.com"). */
static inline bool tr_is_wildcard(const char *h)
{
    return h && h[0] == '*';
}

/* Whether one of the hostnames of rc's Kong route (iso: the TR_HOSTS_ISO one) is a wildcard. */
static inline bool tr_route_has_wildcard(const struct route_ctx *rc, bool iso)
{
    char *const *hosts = iso ? rc->iso_hosts : rc->hosts;
    size_t n = iso ? rc->n_iso_hosts : rc->n_hosts;
    for (size_t i = 0; i < n; i++)
        if (tr_is_wildcard(hosts[i]))
            return true;
    return false;
}

/* A rule kept in the configuration: one service, and an upstream when it has targets. The
 * planning pass makes it (recording every problem, counting the entities and keeping the
 * targets); its JSON is only made when the writing passes serialize it, one at a time. */
struct tr_svc {
    char *name;                 /* httproute.<ns>.<route>.<rule>: service and upstream (owned) */
    const struct route_ctx *rc; /* the route's attachment facts (owned by c->routes) */
    struct tr_kroute *kr; /* its Kong routes in (match, host) order: what a writing pass meets */
    size_t n_kr;
    size_t n_targets;
    uint32_t *weights; /* n_targets */
    char *addrs;       /* n_targets NUL-terminated addresses back to back, in target order */
    const struct kgc_api_backendtlspolicy *tls; /* its backends' BackendTLSPolicy (ref), or NULL */
    const struct kgc_api_obj *client_secret;    /* with tls: the Gateway's client certificate Secret
                                                   (ref), or NULL */
    /* Once planned (plan_rule), the record, name, kr, weights and addrs are one block (they
     * point into it; tr_svc_free frees the block and the references only): five blocks a rule
     * cost ~100 B of malloc minimums and headers more, kept per rule by the incremental state.
     * kr's fields are still written in place (the ranking); nothing grows the arrays after. */
    bool packed;
    uint32_t rule; /* (beside packed: no padding) */
};

/* ---- context.c: the plumbing every other file uses ------------------------------------------ */

/* Records a problem (copies everything). On allocation failure sets c->oom. */
void tr_problem(struct tr_ctx *c, enum kgc_api_kind kind, const char *ns, const char *name,
                int32_t rule, int32_t match, enum kgc_translate_severity sev, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

/* A NOTE problem of rule (< 0: the object) that is an unresolved reference: the route's
 * ResolvedRefs condition becomes False with ref_reason (a static KGC_STATUS_R_* string) and the
 * message (kgc_translate_route_verdict()). */
void tr_problem_ref(struct tr_ctx *c, enum kgc_api_kind kind, const char *ns, const char *name,
                    int32_t rule, const char *ref_reason, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* json helpers: every one sets c->oom and returns NULL/-1 when json-c fails. */
json_object *tr_jstr(struct tr_ctx *c, const char *s);
json_object *tr_jint(struct tr_ctx *c, int64_t v);
json_object *tr_jobj(struct tr_ctx *c);
json_object *tr_jarr(struct tr_ctx *c);
/* Adds val under key (val is consumed, also when obj is NULL). */
void tr_jset(struct tr_ctx *c, json_object *obj, const char *key, json_object *val);
/* Appends val (consumed). */
void tr_jpush(struct tr_ctx *c, json_object *arr, json_object *val);
/* strdup/asprintf that set c->oom. */
char *tr_strdup(struct tr_ctx *c, const char *s);
char *tr_printf(struct tr_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Another reference to a shared json value (tag arrays are built once and shared); NULL stays
 * NULL. */
json_object *tr_jref(json_object *o);
/* Tags in kgc's fixed order for an object of kind; rule/match < 0 are left out. minimal: only
 * k8s-name, k8s-namespace, k8s-kind and the indexes (targets). */
json_object *tr_obj_tags_ext(struct tr_ctx *c, enum kgc_api_kind kind, const struct kgc_api_obj *o,
                             int32_t rule, int32_t match, bool minimal);
/* tr_obj_tags_ext(..., false). */
json_object *tr_obj_tags(struct tr_ctx *c, enum kgc_api_kind kind, const struct kgc_api_obj *o,
                         int32_t rule, int32_t match);
/* Every object of kind in the snapshot, referenced, sorted by key, appended to out (c->oom on
 * allocation failure). */
void tr_collect(struct tr_ctx *c, enum kgc_api_kind kind, struct kgc_base_vec *out);
/* Gateway ns/name merged with its ListenerSets (kgc_status_gateway_merged): a NEW reference, or
 * NULL (none; c->oom when out of memory). tr_collect() of KGC_API_GATEWAY gives merged ones too:
 * attachments' listener indexes are the merged Gateway's. */
const struct kgc_api_obj *tr_gateway_get(struct tr_ctx *c, const char *ns, const char *name);
/* Drops the references tr_collect() took and frees the array. */
void tr_release_all(struct kgc_base_vec *v);

/* ---- stream.c: TLSRoute, TCPRoute, UDPRoute ------------------------------------------------- */

/* Plans every stream route of the snapshot into c->stream_svcs/stream_ups (problems recorded,
 * counts added). */
void tr_plan_streams(struct tr_ctx *c);
void tr_free_streams(struct tr_ctx *c);
/* Whether the snapshot holds any TLSRoute, TCPRoute or UDPRoute. */
bool tr_streams_present(const struct kgc_status_lookup *lk);

/* ---- what Kong accepts (kong_values.c) ------------------------------------------------------ */

/* A DNS-1123 label (a namespace): [a-z0-9-]{1,63}, alphanumeric at both ends. */
bool tr_dns_label(const char *s);
/* A DNS-1123 subdomain (an object name): labels as above joined by dots, at most 253. */
bool tr_dns_subdomain(const char *s);
/* A Gateway API hostname: a DNS-1123 subdomain, optionally prefixed by "*." when wildcard_ok;
 * never an IP address. */
bool tr_hostname(const char *s, bool wildcard_ok);
/* A header name Kong accepts in route headers and transformer plugins: [A-Za-z0-9_-]{1,256}. */
bool tr_header_name(const char *s);
/* A value kgc puts in a string field: 1..4096 bytes of valid UTF-8 without control characters. */
bool tr_text_value(const char *s);
/* A query parameter name the expressions router can address: [A-Za-z0-9_]{1,256}. */
bool tr_query_name(const char *s);
/* An HTTP method token Kong accepts: [A-Z]{1,32}. */
bool tr_method(const char *s);
/* A path value: starts with '/', no "//", text value. */
bool tr_path_value(const char *s);
/* A path Kong takes as a plain (prefix) path: only RFC 3986 path characters without '%', and
 * already normalized (no dot segments, no "//"). */
bool tr_plain_path(const char *s);
/* Whether re compiles with PCRE2 (as Kong's router and the test Kong check it). On failure a
 * one-line reason goes to why. */
bool tr_regex_compiles(const char *re, char *why, size_t why_size);
/* Whether re avoids what PCRE accepts and Rust's regex crate (Kong's ATC router, used by the
 * traditional_compatible and expressions flavours) rejects: look-around, back-references,
 * atomic and possessive forms, recursion, conditionals, \Q..\E and a few PCRE-only escapes. A
 * conservative approximation; why says what was found. */
bool tr_regex_portable(const char *re, char *why, size_t why_size);
/* re with PCRE meta characters backslash-escaped: a new string, or NULL (c->oom). */
char *tr_regex_escape(struct tr_ctx *c, const char *s);
/* s as an expressions-router string literal, quotes included: a new string, or NULL. */
char *tr_expr_string(struct tr_ctx *c, const char *s);
/* A tag value kgc can put after "k8s-uid:" and the like: [A-Za-z0-9._-]{1,253}. */
bool tr_tag_value(const char *s);
/* Whether Kong takes s as a tag (kong_values.c: typedefs.lua validate_tag). */
bool tr_kong_tag(const char *s);
/* An IP address or a DNS name with a port, as a Kong target ("[v6]:port" for IPv6, canonical
 * form for IPs) into out. false when the address is neither. */
bool tr_target(const char *address, int32_t port, char *out, size_t out_size);
/* "HOST:PORT" or "[V6]:PORT" (port 1..65535) as a Kong target into out (tr_target's form).
 * false when malformed. */
bool tr_host_port(const char *s, char *out, size_t out_size);
/* A Gateway API duration ("1h", "500ms", "1m30s") in milliseconds; -1 when malformed. */
int64_t tr_duration_ms(const char *s);

/* ---- backends.c ----------------------------------------------------------------------------- */

/* Indexes every EndpointSlice by "ns/service" into c->slices. 0 or KGC_ENOMEM. */
int tr_index_slices(struct tr_ctx *c);
void tr_free_slices(struct tr_ctx *c);
/* Where the EndpointSlices of Service ns/svc begin in c->slices (in key order); *n of them. */
size_t tr_slices_of(const struct tr_ctx *c, const char *ns, const char *svc, size_t *n);
/* Puts EndpointSlice o in its place in c->slices (a new reference; nothing when it names no
 * Service or namespace). 0 or KGC_ENOMEM. */
int tr_slices_add(struct tr_ctx *c, const struct kgc_api_obj *o);
/* Takes the EndpointSlice keyed key out of Service ns/svc's in c->slices (its reference
 * dropped); nothing when it is not there. */
void tr_slices_remove(struct tr_ctx *c, const char *ns, const char *svc, const char *key);

/* One target of an upstream. */
struct tr_target {
    char target[300]; /* "ip:port", "[v6]:port" or "name:port" */
    uint32_t weight;
};

/* The targets for a rule's backendRefs (merged, sorted, weights per ten thousand of the rule's
 * traffic), into *out (malloc'd, *n of them; NULL when none). Backends that cannot be used are
 * recorded as NOTE problems. Returns 0 or KGC_ENOMEM. */
int tr_rule_targets(struct tr_ctx *c, const struct kgc_api_httproute *route, uint32_t rule_index,
                    struct tr_target **out, size_t *n, const struct kgc_api_backendtlspolicy **tls);

/* ---- backendtls.c --------------------------------------------------------------------------- */

/* The BackendTLSPolicy in force for port port_name of Service ns/svc (a NEW reference, or NULL);
 * why is non-empty when Kong cannot apply it (the backend must then answer 500). */
const struct kgc_api_backendtlspolicy *tr_backend_policy(struct tr_ctx *c, const char *ns,
                                                         const char *svc, const char *port_name,
                                                         char *why, size_t why_size);
/* The client certificate Secret (a NEW reference) of the first Gateway route is attached to
 * that has a valid spec.tls.backend.clientCertificateRef, or NULL. */
const struct kgc_api_obj *tr_backend_client_secret(struct tr_ctx *c,
                                                   const struct kgc_api_httproute *route);
/* The service fields of v's policy (protocol https, tls_verify, tls_verify_depth,
 * ca_certificates, client_certificate); nothing without one. */
void tr_backend_tls_service(struct tr_ctx *c, const struct tr_svc *v, json_object *svc);
/* The upstream's host_header (the SNI) for v's policy; nothing without one. */
void tr_backend_tls_upstream(struct tr_ctx *c, const struct tr_svc *v, json_object *upstream);
/* The ca_certificates entities of every usable CA ConfigMap of every policy (sorted by id). */
json_object *tr_backend_tls_ca_certificates(struct tr_ctx *c);
/* Appends a certificate entity (with its id) per valid client certificate Secret of kgc's
 * Gateways to certificates. */
void tr_backend_tls_client_certificates(struct tr_ctx *c, json_object *certificates);
/* Adds "ca_certificates" (tr_backend_tls_ca_certificates) to the document's head when any. */
void tr_head_ca_certificates(struct tr_ctx *c, json_object *head);
/* The document's top-level "plugins": the global KongClusterPlugins (plugins.c); the key is left
 * out when there is none. */
void tr_head_global_plugins(struct tr_ctx *c, json_object *head);

/* ---- match plans (match.c and filters.c fill them, writer.c reads them) ---------------------- */

/* What a rule's filters ask for, once checked. */
struct rule_filters {
    const struct kgc_api_http_redirect *redirect;
    const struct kgc_api_http_rewrite *rewrite;
};

enum path_kind { PATH_PREFIX = 0, PATH_REGEX = 1, PATH_EXACT = 2 };

/* How a match's path is put into the Kong route. */
struct path_plan {
    enum path_kind kind;
    char value[1100]; /* Exact/Regex as given; PathPrefix without its trailing '/' (or "/") */
    bool exact_only;  /* a PathPrefix narrowed to its own path (static redirect) */
    bool capture;     /* a PathPrefix with a capture of the rest (ReplacePrefixMatch rewrite) */
};

/* One header or query parameter match, after the Gateway API's "first entry wins" rule. */
struct value_match {
    const char *name;
    const char *value;
    bool regex;
};

/* A redirect as the Kong route will carry it. */
struct redirect_plan {
    int status;
    char *location;  /* owned; absolute, or a path (relative redirect) */
    bool keep_path;  /* redirect plugin keep_incoming_path */
    bool plugin;     /* the redirect plugin (else request-termination + Location header) */
    bool https_only; /* Kong's own http → https redirect (https_redirect_status_code) */
};

/* Everything one Kong route is made from. */
struct match_plan {
    uint32_t rule, match;
    const struct kgc_api_http_route_match *m;
    struct path_plan path;
    struct value_match headers[64];
    size_t n_headers;
    struct value_match queries[64];
    size_t n_queries;
    struct redirect_plan redirect;
    bool has_redirect;
    char *uri; /* request-transformer replace.uri (owned), or NULL */
};

/* Record a problem of the match (DROPPED) or of its rule (DEGRADED). */
#define MATCH_DROP(rc, mp, ...)                                                                    \
    tr_problem((rc)->c, (rc)->r->obj.kind, (rc)->ns, (rc)->name, (int32_t)(mp)->rule,              \
               (int32_t)(mp)->match, KGC_TRANSLATE_DROPPED, __VA_ARGS__)
#define MATCH_DEGRADED(rc, mp, ...)                                                                \
    tr_problem((rc)->c, (rc)->r->obj.kind, (rc)->ns, (rc)->name, (int32_t)(mp)->rule, -1,          \
               KGC_TRANSLATE_DEGRADED, __VA_ARGS__)

/* ---- filters.c ------------------------------------------------------------------------------ */

/* Checks rule ri's filters into *f; false (with the problem recorded) when the rule cannot be
 * served as specified and must be dropped. Unsupported filters that only add behaviour are
 * DEGRADED. */
bool tr_check_filters(struct route_ctx *rc, uint32_t ri, struct rule_filters *f);
/* The match's redirect (mp->redirect, narrowing mp->path when the Location is static); false
 * when it cannot be expressed (the match's problem recorded). */
bool tr_plan_redirect(struct route_ctx *rc, struct match_plan *mp,
                      const struct kgc_api_http_redirect *rd);
/* URLRewrite's path into mp->uri (and, for a prefix, a capture of the rest of the path); false
 * when it cannot be expressed (the match's problem recorded). */
bool tr_plan_rewrite(struct route_ctx *rc, struct match_plan *mp,
                     const struct kgc_api_http_rewrite *rw);
/* A plugin entity {name, config, tags} (config and tags consumed); counts it. */
json_object *tr_plugin(struct tr_ctx *c, const char *name, json_object *config, json_object *tags);
/* The plugins of one Kong route, in name order, or NULL when it has none. */
json_object *tr_route_plugins(struct route_ctx *rc, const struct match_plan *mp,
                              const struct rule_filters *f, json_object *tags);

/* ---- plugins.c: KongPlugin/KongClusterPlugin attachments ------------------------------------ */

/* The annotation naming plugins on an HTTPRoute or a Service (Kong's controller's
 * internal/annotations/annotations.go:45 at v3.5.9: prefix konghq.com + "/plugins"). */
#define TR_PLUGINS_ANNOTATION "konghq.com/plugins"

/* The plugin objects for one Kong entity, in attachment order (references held). */
struct tr_plugin_list {
    const struct kgc_api_obj **v;
    size_t n;
    bool blocked;            /* some reference could not be resolved */
    const char *reserved[4]; /* plugin names kgc itself writes on the entity */
    size_t n_reserved;
};

/* Rule ri's plugins: route (the route's annotation, the rule's ExtensionRefs) and service (its
 * Services' annotations). blocked: some reference is unusable, the rule answers 500 and carries
 * no plugin object. */
struct tr_rule_plugins {
    struct tr_plugin_list route, service;
    bool blocked;
};

/* Whether fl is an ExtensionRef of group configuration.konghq.com (plugins.c resolves it). */
bool tr_is_plugin_filter(const struct kgc_api_http_filter *fl);
/* Resolves rule ri's plugins into *out (problems recorded unless c->quiet); no_targets: the
 * Kong service carries kgc's request-termination. Free with tr_rule_plugins_free(). */
void tr_rule_plugins(struct route_ctx *rc, uint32_t ri, bool no_targets,
                     struct tr_rule_plugins *out);
void tr_rule_plugins_free(struct tr_rule_plugins *rp);
/* Appends one Kong plugin entity per object of pl to list, for the Kong route or service named
 * entity_name (instance_name is made unique from it); counts them. */
void tr_plugins_append(struct tr_ctx *c, json_object *list, const struct tr_plugin_list *pl,
                       const char *entity_name);

/* ---- isolation.c ---------------------------------------------------------------------------- */

/* A hostname of a listener that a less specific listener of its Gateway on the same Kong proxy
 * port would otherwise answer for: under traditional_compatible one Kong route answers 404 for
 * it below the listener's own routes (README.md "Listener scope"). */
struct tr_iso {
    bool https;
    uint16_t port;     /* the Kong proxy port */
    uint16_t gw_port;  /* the listener's own port (a Host header's port, see tr_listen) */
    char *hostname;    /* owned */
    json_object *tags; /* the tags of the first Gateway giving it (owned) */
};

/* Planning (after the routes): fills c->iso and counts its routes and plugins. */
void tr_plan_isolation(struct tr_ctx *c);
/* The Kong route of c->iso[i], with its request-termination plugin. */
json_object *tr_isolation_route(struct tr_ctx *c, size_t i);
void tr_isolation_free(struct tr_ctx *c);

/* Whether every hostname a matches is one b matches (NULL or "": any; match.c). */
bool tr_host_within(const char *a, const char *b);
/* Whether listener li of gw is an HTTP/HTTPS listener kgc serves, with its Kong proxy port (0:
 * unknown) (match.c). */
bool tr_served_listener(struct tr_ctx *c, const struct kgc_api_gateway *gw, uint32_t li,
                        uint16_t *kong_port);
/* Whether gw's GatewayClass is kgc's (certs.c). */
bool tr_gateway_owned(struct tr_ctx *c, const struct kgc_api_gateway *gw);

/* ---- limits.c ------------------------------------------------------------------------------- */

/* After the ranking: records a LIMITATION problem for each rule Kong would serve other than the
 * Gateway API asks (precedence under the traditional flavours, Gateways sharing a Kong listen). */
void tr_kong_limits(struct tr_ctx *c);

/* Which routes tr_kong_limits_focused() judges (incremental.c): problems are recorded only for
 * the routes focus() admits, each against every other route, and exactly those a whole run records
 * for them. */
struct tr_limits_focus {
    bool (*focus)(const struct route_ctx *rc, void *ctx);
    void *ctx;
    /* at least the pairs a whole traditional_compatible run compares: sum over hostnames of the
     * square of the number of Kong routes of exact-host routes with that hostname, plus 2 x Kong
     * routes x Kong routes of routes open to any hostname. Below the pair budget the run is
     * judged for the focus alone. */
    uint64_t pair_bound;
    /* the caller knows every Kong route has Kong priority uniform_prio (the last run found one
     * priority for all, and every Kong route planned since has it): traditional_compatible then
     * compares nothing, without a pass over every route to find that out */
    bool uniform_known;
    uint64_t uniform_prio;
    /* the struct tr_svc * of the routes in focus, in c->svcs's order (NULL: every one of c->svcs
     * that focus() takes) */
    const struct kgc_base_vec *svcs;
    /* no Kong route of those routes (without method, header or query) has a path another Kong
     * route has: the shared-listen limits have no pair to judge */
    bool paths_unshared;
};
/* What a run of the limits saw that makes its result depend on every route. */
struct tr_limits_info {
    bool uniform;    /* traditional_compatible: one Kong priority for all (nothing compared) */
    bool budget_hit; /* the pair budget ran out (what is judged then depends on every route) */
    bool has_prio;   /* uniform over at least one Kong route, whose priority is prio */
    uint64_t prio;
};
/* tr_kong_limits() restricted to lf (NULL: every route). */
void tr_kong_limits_focused(struct tr_ctx *c, const struct tr_limits_focus *lf,
                            struct tr_limits_info *info);

/* ---- match.c -------------------------------------------------------------------------------- */

/* A regex Kong's router for c's flavour takes (PCRE compiles it and, unless the flavour is
 * traditional, the ATC router's Rust regex can too); why says what is wrong. */
bool tr_regex_ok(struct tr_ctx *c, const char *re, char *why, size_t why_size);

/* Called once per Kong route of a rule, in (match, host) order, by tr_plan_matches(). */
typedef void (*kroute_fn)(struct route_ctx *rc, const struct match_plan *mp,
                          const struct rule_filters *f, int32_t host_index, json_object *tags,
                          void *ctx);

/* Plans every match of rule ri (problems recorded unless c->quiet) and calls fn for each Kong
 * route it makes. The planning and the writing passes both walk a rule through here, so they
 * meet the same Kong routes in the same order. */
void tr_plan_matches(struct route_ctx *rc, uint32_t ri, const struct rule_filters *f, kroute_fn fn,
                     void *ctx);
/* Traditional router paths for a match (README.md, "Matches"). */
json_object *tr_trad_paths(struct tr_ctx *c, const struct path_plan *pp, bool all_regex,
                           bool regex_root);
/* The expressions router expression of a match, for host (NULL: any host): a new string, or NULL
 * (c->oom). */
char *tr_expression(struct tr_ctx *c, const struct match_plan *mp, const char *host);

/* " && (<pairs>)": the listener scope of host_index's Kong route (every pair when host_index < 0
 * or the route matches any host), then its listener isolation exclusions ` && !(net.dst.port ==
 * P && <host> ...)` (include/kgc/translate.h, "Listener scope"), appended by the writer to the
 * expression; "" when no scope can be said (no pair, or too many). A new string, or NULL (out of
 * memory). */
char *tr_listen_scope(struct tr_ctx *c, const struct route_ctx *rc, int32_t host_index);
/* Traditional router headers of a match: {Name: ["value"]}. */
json_object *tr_trad_headers(struct tr_ctx *c, const struct match_plan *mp);

/* ---- grpc.c: what a GRPCRoute changes (README.md "GRPCRoute") -------------------------------- */

/* The match's gRPC method (mp->m->grpc_method) as mp->path; false when it cannot be expressed
 * (the match's problem recorded). */
bool tr_grpc_plan_method(struct route_ctx *rc, struct match_plan *mp);
/* GRPCRoute's precedence facts of the match into k (after the HTTPRoute ones were set). */
void tr_grpc_facts(const struct match_plan *mp, struct tr_kroute *k);

/* ---- certs.c -------------------------------------------------------------------------------- */

/* The certificates array: one entry per Secret with at least one SNI; counts them. */
json_object *tr_certificates(struct tr_ctx *c);

/* ---- writer.c ------------------------------------------------------------------------------- */

/* Rule ri's timeouts: into svc's connect/read/write timeouts, or, with svc NULL (the planning
 * pass), only the problems they give. */
void tr_service_timeouts(struct route_ctx *rc, uint32_t ri, json_object *svc);
/* The document, {"_format_version":"3.0","certificates":[...],"services":[...],
 * "upstreams":[...]}: a malloc'd NUL-terminated text (one allocation sized from the plan, so it
 * may be larger than needed) and its length in *len; NULL (and c->oom) when an allocation failed.
 * Sets c->quiet. */
char *tr_write_document(struct tr_ctx *c, size_t *len);

/* The service (with its Kong routes and plugins) and the upstream (with its targets) of v, as
 * the document holds them, appended to b (incremental.c keeps them per rule). */
void tr_write_service_text(struct tr_ctx *c, const struct tr_svc *v, struct kgc_base_buf *b);
void tr_write_upstream_text(struct tr_ctx *c, const struct tr_svc *v, struct kgc_base_buf *b);

/* ---- translate.c: the planning pass, for incremental.c --------------------------------------- */

/* Fills c's settings (flavour, version, controller, fallback target) from in. */
void tr_ctx_setup(struct tr_ctx *c, const struct kgc_translate_input *in);
/* Plans one route: its struct route_ctx goes to c->routes, its rules to c->svcs and c->kroutes,
 * its problems to c->problems, its entities into c->counts. */
void tr_plan_route(struct tr_ctx *c, const struct kgc_api_httproute *r);
/* Gateway API precedence of two struct tr_kroute * (qsort order, highest first). */
int tr_cmp_precedence(const void *a, const void *b);
/* With c->kroutes in precedence order: sets every prio (and, touched NULL, every facts: with
 * touched the caller packed them, tr_kroute_pack), and the facts_place of every
 * Kong route in a run of equal facts whose facts are in touched (n_touched values, sorted
 * ascending; NULL: every run). A place counts only the routes of its run that it can meet: the
 * run's Kong routes are grouped by hostname (one group per set of routes connected by a hostname
 * in common or a wildcard of one covering a hostname of the other; a run with a Kong route open
 * to any hostname is one group), and the place is the rank within the group. Routes of different
 * groups never match one request, so their relative order in Kong does not matter; a change
 * moves the places of its own groups only. joined (n_joined values, sorted ascending): the
 * touched facts a Kong route joined; a touched run no Kong route joined (one only left) whose
 * places are all 0 keeps them: every group was one route, and a group a route leaves can only
 * shrink or split. c->places_moved counts the Kong routes whose facts_place changed. Returns 0,
 * or KGC_ENOMEM (c->oom set). */
int tr_rank_assign(struct tr_ctx *c, const uint64_t *touched, size_t n_touched,
                   const uint64_t *joined, size_t n_joined);
void tr_route_ctx_free(struct route_ctx *rc);
void tr_svc_free(struct tr_svc *v);
void tr_free_problems(struct kgc_translate_problem *p, size_t n);

/* ---- incremental.c: the spare document buffer ------------------------------------------------ */

/* kgc_translate_text_unref()'s last reference to a text whose spare is set: its buffer (s, cap
 * bytes, holding document serial) goes to the spare slot, or is freed when the slot holds one
 * already or its state is gone; the text's reference to the slot is dropped. Any thread. */
void tr_spare_return(struct kgc_translate_spare *sp, char *s, size_t cap, uint64_t serial);

/* ---- owner.c -------------------------------------------------------------------------------- */

/* Sorts problems into the documented order. */
void tr_sort_problems(struct kgc_translate_problem *p, size_t n);

#endif

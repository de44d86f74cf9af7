/* translate — the accepted HTTPRoutes of kgc's Gateways, and their GRPCRoutes, TLSRoutes,
 * TCPRoutes and UDPRoutes (stream routes: pkg/translate/stream.c, docs/kong.md "Stream routes";
 * while any exists kgc_translate_incremental() runs in full) (with the Services, EndpointSlices,
 * ReferenceGrants, TLS Secrets, BackendTLSPolicies, CA ConfigMaps and Kong plugin objects they
 * use) → one Kong 3.x declarative configuration. Kong plugins (KongPlugin/KongClusterPlugin
 * through konghq.com/plugins annotations and ExtensionRef filters; an unresolved one makes its
 * rule answer 500): pkg/translate/README.md "Kong plugins".
 *
 * Backend TLS (pkg/translate/backendtls.c, docs/kong.md "Backend TLS"): a rule whose backends a
 * BackendTLSPolicy targets gets a service with protocol https, tls_verify, ca_certificates (ids
 * of top-level ca_certificates entities, one per CA certificate, id from its DER) and, when the
 * route's Gateway has spec.tls.backend.clientCertificateRef, client_certificate (a certificates
 * entity with an id and no snis); its upstream's host_header is validation.hostname (Kong's SNI)
 * and its Kong routes do not preserve the Host. A policy Kong cannot apply (no valid CA,
 * subjectAltNames Kong cannot check, an unsupported wellKnownCACertificates) makes its backends
 * invalid: their share answers 500.
 *
 * Pure: no threads, no I/O, no globals. Input is a consistent snapshot read through a
 * struct kgc_status_lookup; output is the configuration text (compact JSON, `_format_version`
 * "3.0": services with nested routes and plugins, upstreams with nested targets, certificates
 * with nested snis), its MD5 (Kong's hash of a configuration sent as a string), entity counts and
 * the problems met on the way. The same input gives the same bytes whatever order the lookup
 * enumerates objects in: every collection is sorted (routes by namespace/name, entities by name,
 * targets by address, tags in a fixed order).
 *
 * Which routes: a route is translated on the (Gateway, listener) pairs it is accepted on
 * (kgc_status_httproute_attachments() with the controller name given here), restricted to the
 * listeners input.listener_usable admits. Gateways of other controllers are never read.
 *
 * Certificates: one per TLS Secret of a usable HTTPS listener, with an sni per listener
 * hostname and the sni "*" for a listener without hostname (Kong presents it for any SNI no other
 * sni matches; without SNI the client gets Kong's default certificate).
 *
 * Listener scope (which requests a Kong route answers; Kong has no notion of listener):
 *   expressions             every Kong route (one per effective hostname) is ANDed with the
 *                           (net.protocol, net.dst.port) pairs of the listeners that give it that
 *                           hostname: `((net.protocol == "http" && net.dst.port == 8000) || ...)`
 *                           (net.dst.port is the Kong proxy listen port, listener_kong_port; a pair
 *                           with an unknown port says the protocol only). So a route attached only
 *                           to the port-80 listener does not answer on another port, and an
 *                           HTTPS-only route does not capture plain-HTTP requests (no 426).
 *   traditional_compatible  scoped by port through the hosts: each hostname becomes one
 *                           "host:<kong port>" entry per listener port that gives it, which
 *                           kong/router/transform.lua:388-409 (3.9.1) turns into
 *                           `(http.host == "host" && net.dst.port == <port>)`. Since a Kong listen
 *                           is either plain or TLS, the port also scopes the protocol. NOT scoped
 *                           (known gap): a route matching every host (no hostname on the route
 *                           nor its listener: `hosts` cannot say "any host on port p"), or with a
 *                           listener whose Kong port is unknown. Routes have no port field for
 *                           HTTP (destinations are refused for http/https) and `protocols` adds
 *                           nothing that stops a match (a mismatch answers 426 or the https
 *                           redirect after the match).
 *   Each Kong port P of a listener on Gateway port G is written as "P or G" (net.dst.port ==
 *   P || net.dst.port == G; host:P and host:G): Kong 3.9.1 takes net.dst.port from the Host
 *   header's port when there is one (kong/router/fields.lua:129-139). A Host port that is
 *   neither matches nothing (known gap).
 *   traditional             NOT scoped (known gap): kong/router/traditional.lua (3.9.1) compares a
 *                           port in `hosts` with the Host header's port (80/443 by scheme when
 *                           absent; :1637-1646, :939-940), not the listen port.
 *   Listener isolation (a request goes to the most specific listener of its port: a less
 *   specific listener's route never serves a hostname a more specific listener there has):
 *   expressions             each Kong route gets `&& !(net.dst.port == P && http.host == "m"
 *                           && !(<own>))` (`http.host =^ ".s"` for "*.s") for each hostname m of
 *                           another listener of its Gateway on the Kong port P of its listener L,
 *                           m strictly within L's hostname and overlapping the route's, m not
 *                           the hostname of one of the route's own listeners; <own>: the route's
 *                           own listeners' hostnames within m on P. Needs the Kong port (none
 *                           known: nothing excluded). Per Gateway: listeners of different
 *                           Gateways sharing a Kong port are not isolated from each other.
 *   traditional_compatible  a hostname wholly within a more specific listener on its port is left
 *                           out of the less specific listener's routes, and each such more
 *                           specific hostname M on Kong port P gets a service-less Kong route
 *                           `kgc.isolation.<proto>.<P>.<M>` answering 404 that Kong's priority
 *                           and kgc's ids place below M's routes and above the others
 *                           (pkg/translate/README.md "Listener scope"; gap: routes with four or
 *                           more kinds of conditions outrank it).
 *   traditional             NOT isolated (known gap). See pkg/translate/README.md.
 *
 * Names and tags (they lead a Kong error back to its object, see kgc_translate_entity_owner()):
 *   (a GRPCRoute's: the same with "grpcroute." — grpc/grpcs routes and services, method matches
 *   as paths; pkg/translate/README.md "GRPCRoute"; a TLSRoute's, TCPRoute's, UDPRoute's:
 *   "tlsroute."/"tcproute."/"udproute.<ns>.<route>.<rule>" services and upstreams, routes
 *   "...<rule>.<k>" with the route's tags, k 0 for tcp/udp, 2P (tls_passthrough) or 2P + 1
 *   (tls) for a TLSRoute's routes on Kong port P)
 *   service, upstream   httproute.<ns>.<route>.<rule>
 *   route               httproute.<ns>.<route>.<rule>.<match>          (traditional flavours;
 *                       traditional_compatible also sets `id`, see Precedence)
 *                       httproute.<ns>.<route>.<rule>.<match>.h<host>  (expressions flavour: one
 *                       Kong route per effective hostname, so that each gets its own priority)
 *   tags                services, upstreams and routes named as above carry none (the name
 *                       leads back); plugins k8s-name:<n> k8s-namespace:<ns> k8s-kind:HTTPRoute
 *                       k8s-rule:<i> [k8s-match:<j>]; plugins made from a KongPlugin or
 *                       KongClusterPlugin (pkg/translate/plugins.c) that object's full set;
 *                       targets none (kgc checks their addresses itself); certificates, snis
 *                       and isolation routes the full set of their Secret or Gateway: k8s-name
 *                       k8s-namespace k8s-kind k8s-uid k8s-group (not for core kinds)
 *                       k8s-version. Fields Kong defaults are left out (service protocol http
 *                       and port 80, target weight when all are equal).
 *
 * The mapping decisions (paths, precedence, weights, filters, redirects, what is dropped and why)
 * are written down in pkg/translate/README.md.
 *
 * Precedence is exact only under router_flavor "expressions" (each Kong route's `priority` is
 * its rank by the Gateway API order). Under "traditional_compatible" (Kong's default) Kong
 * computes each route's priority itself (kong/router/transform.lua get_priority): bits for
 * four or more kinds of conditions, plain hosts only, a regex path, then the number of kinds
 * (hosts, methods, headers, paths) and the header count. kgc writes every path but the root
 * prefix "/" as a regex, so that any longer path outranks "/" whatever its other conditions,
 * sets no regex_priority (LuaJIT shifts it into the other bits), and gives each Kong route an
 * `id` that orders equal priorities as kgc ranks them (Kong's ATC router runs them by
 * descending id). What Kong still orders differently — e.g. a header-only match above a
 * method-only match on the same path, or PathPrefix /api with a method above an Exact /api/v1
 * — is reported on the route (konghq.com/KongLimitation, naming the rules it overtakes). Under
 * "traditional" `regex_priority` and `created_at` carry the rank (traditional.lua sort_routes),
 * and the header-over-method case is reported. See pkg/translate/README.md "Precedence".
 *
 * Memory: the configuration is never held as one json-c tree. A planning pass reads the snapshot
 * once (attachments, matches, backends, problems, counts, precedence) and keeps only small
 * records; the writing passes then build one service (with its routes and plugins) or one
 * upstream (with its targets) at a time, serialize it into the output text and free it. The
 * bytes are those json-c gives for the whole document (PLAIN | NOSLASHESCAPE). After a document of
 * 1 MiB or more, what the translation freed goes back to the system (kgc_jsonscan_release(): the
 * process-wide malloc_trim). */
#ifndef KGC_TRANSLATE_H
#define KGC_TRANSLATE_H

#include "kgc/api.h"
#include "kgc/digest.h"
#include "kgc/err.h"
#include "kgc/status.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What to translate and for which Kong. Everything is borrowed for the duration of the call. */
struct kgc_translate_input {
    const struct kgc_status_lookup *lookup; /* the snapshot (required) */
    const char *controller_name;            /* GatewayClass controller kgc owns; NULL: default */
    const char *router_flavor;              /* Kong's configuration.router_flavor: "traditional",
                                               "traditional_compatible" or "expressions"; NULL or "" means
                                               traditional_compatible (Kong's default) */
    const char *kong_version; /* "3.9.1"; NULL or "" means "the newest" (redirect plugin
                                 available). Below 3.9 redirects use request-termination and a
                                 Location header added by response-transformer. */
    /* Optional: whether spec.listeners[listener_index] of gw may carry routes and certificates.
     * kgc's syncer passes the Gateway reconciler's verdict (kgc_status_gateway_usable_listeners():
     * Accepted, not Conflicted, on an Accepted Gateway), so Kong serves nothing for a listener
     * the status rejects. NULL: every HTTP/HTTPS listener a route is accepted on (tests). */
    bool (*listener_usable)(void *ctx, const struct kgc_api_gateway *gw, uint32_t listener_index);
    void *listener_usable_ctx;
    /* Optional (ctx: listener_usable_ctx): the Kong proxy listen port a listener's traffic
     * reaches (through the publish Service's port → targetPort; kgc's syncer passes the status
     * module's struct kgc_status_listener.kong_port), 0 when unknown. NULL: every port unknown
     * (routes are then scoped by protocol only, expressions flavour). See "Listener scope". */
    uint16_t (*listener_kong_port)(void *ctx, const struct kgc_api_gateway *gw,
                                   uint32_t listener_index);
    /* Optional (--invalid-backend-target): "HOST:PORT" ("[V6]:PORT") of an endpoint answering
     * every request with 500 (kgc's --invalid-backend-listen). When set, a rule with some
     * invalid backendRefs (not a core Service, not permitted by a ReferenceGrant, Service not
     * found, no such port, not TCP, unusable ExternalName) and at least one usable one gets this
     * target in its upstream carrying the invalid backends' share of the weight, so that share
     * of the requests gets 500 as the Gateway API requires. Weight-0 backends carry no share;
     * a Service without ready endpoints is not invalid (its share goes to the others, as
     * without this option); a rule with no usable backend keeps its request-termination 500.
     * NULL, "" or malformed: off (the invalid backends' share goes to the valid ones). */
    const char *invalid_backend_target;
};

/* How bad a problem is. */
enum kgc_translate_severity {
    KGC_TRANSLATE_NOTE = 0,   /* information only; the route's status already tells (a backend
                                 dropped for ResolvedRefs reasons, a listener without certificate) */
    KGC_TRANSLATE_LIMITATION, /* translated as the API asks, but Kong cannot serve it exactly
                                 (a redirect's relative Location, ...): the route's
                                 konghq.com/KongLimitation condition says it */
    KGC_TRANSLATE_DEGRADED,   /* translated, but a feature is ignored or narrowed (says which) */
    KGC_TRANSLATE_DROPPED,    /* left out of the configuration: the match (match >= 0), the rule
                                 (match < 0) or, with rule < 0, the whole route */
};

/* One problem met while translating, attributed to its object. */
struct kgc_translate_problem {
    enum kgc_api_kind kind; /* a route kind (kgc_api_is_route_kind) or KGC_API_GATEWAY */
    char *namespace;        /* owned */
    char *name;             /* owned */
    int32_t rule;           /* spec.rules index; -1: the object as a whole */
    int32_t match;          /* rules[rule].matches index; -1: the whole rule */
    enum kgc_translate_severity severity;
    char *message; /* owned, one line, relative to the rule/match named above ("filters[1]
                      ExtensionRef is not supported; ...") */
    /* static, or NULL: a NOTE that is an unresolved reference (a Kong plugin that does not
     * exist, ...): the route's ResolvedRefs is False with this reason (BackendNotFound,
     * InvalidKind) */
    const char *ref_reason;
};

/* Numbers of entities in the configuration. */
struct kgc_translate_counts {
    size_t http_routes; /* HTTPRoutes with at least one rule in the configuration */
    size_t grpc_routes; /* GRPCRoutes with at least one rule in the configuration */
    size_t services;
    size_t routes;
    size_t upstreams;
    size_t targets;
    size_t plugins;
    size_t certificates;
    size_t snis;
};

/* The buffer an incremental state assembles its next document into (incremental.c). */
struct kgc_translate_spare;

/* A configuration text shared by reference: the incremental state keeps the last document it
 * made (its rules' texts are read from it at the next call) while the syncer pushes it. Immutable
 * once made; the last kgc_translate_text_unref() frees it (any thread), or, for a text an
 * incremental state assembled (spare set), hands its buffer back to that state for its next
 * document (one buffer at most; its pages are then not faulted in and cleared again, ~1 ms a
 * change at 10k routes). */
struct kgc_translate_text {
    atomic_uint refs;
    char *s; /* NUL-terminated */
    size_t len;
    size_t cap;                        /* bytes allocated at s (0: unknown) */
    uint64_t serial;                   /* which document of its state (0: none); spare only */
    struct kgc_translate_spare *spare; /* NULL, or a reference to the state's spare buffer slot */
};

struct kgc_translate_text *kgc_translate_text_ref(struct kgc_translate_text *t); /* NULL-safe */
void kgc_translate_text_unref(struct kgc_translate_text *t);                     /* NULL-safe */

/* The result of one translation. Owned by the caller: kgc_translate_output_free(). */
struct kgc_translate_output {
    /* NUL-terminated compact JSON, the exact text to push. It holds the TLS private keys of the
     * certificates: never log it. Never written to nor freed by the caller but through
     * kgc_translate_output_free() or kgc_translate_output_take_text(): an incremental call shares
     * it with its state (text). */
    char *config;
    size_t config_len; /* strlen(config) */
    /* NULL: config is a block of its own (kgc_translate()); else the shared text config is in */
    struct kgc_translate_text *text;
    char hash[KGC_DIGEST_MD5_HEX_LEN + 1]; /* kgc_digest_md5_hex() of config: Kong's
                                              configuration hash (kgc_kong_config_hash()) */
    struct kgc_translate_counts counts;
    /* sorted by kind, namespace, name, rule, match, severity (worst first), message; NULL when
     * n_problems is 0 */
    struct kgc_translate_problem *problems;
    size_t n_problems;
};

/* Translates the snapshot into *out (zeroed first). Problems with single routes never fail the
 * call: they are dropped, recorded in out->problems, and the rest is translated. Returns 0,
 * KGC_EINVAL (no input, lookup or output) or KGC_ENOMEM (*out then holds nothing). */
int kgc_translate(const struct kgc_translate_input *in, struct kgc_translate_output *out,
                  struct kgc_err *err);

/* ---- incremental translation ------------------------------------------------------------------
 * A state that keeps, per HTTPRoute, what translating it gave (its planning records, problems and
 * the text of each rule's service and upstream), so that a call translates again only the
 * objects that changed since the previous call on the state and assembles the document from the
 * kept pieces: the same bytes, hash, counts and problems as kgc_translate() on the same snapshot
 * (test_translate compares both on random change sequences).
 *
 * Translated again per call: each changed HTTPRoute; the HTTPRoutes whose backendRefs name a
 * changed Service, or the Service of a changed EndpointSlice; with a changed ReferenceGrant, every
 * HTTPRoute with a backendRef into another namespace. Redone per call over the kept records
 * (linear, no re-serialisation): the precedence ranking (a route whose Kong route id moves is
 * written again), the LIMITATION problems of the changed routes and of the routes that can meet
 * them (a hostname in common, or open to any hostname; all of them when the pair budget runs out
 * or Kong's priorities stop or start being uniform), the isolation routes and the certificates
 * (Gateways and Secrets: a Secret change costs nothing else). The assembly copies the document
 * into the buffer of the one before the last once every holder released it (the state keeps one
 * such buffer: one more document of steady memory, none while a call from nothing runs, and not
 * one over twice the next document's size), and
 * skips the first bytes that buffer holds already; the MD5 goes on from the last kept MD5 state
 * before the first byte that differs from the previous document. Everything is translated again
 * (stats->full, with why) on the first call, after a failed call, when `everything` is set, when
 * the input's settings (controller, flavour, version, fallback target, which callbacks are set)
 * change, under a flavour other than traditional_compatible (its priorities are n - rank: one route
 * moves them all), and when a Gateway, GatewayClass, Namespace (attachments, listeners), KongPlugin
 * or KongClusterPlugin (any route may name one) or another kind changed.
 *
 * The caller's contract: `changes` names every object (kind, namespace, name) added, changed or
 * deleted since the previous call on this state, or `everything` is true; and the answers of
 * input.listener_usable and input.listener_kong_port changed only with a Gateway-kind change
 * listed (else pass everything). Memory: the state holds the route objects it translated
 * (references), their planning records, and the last document it made (a reference to the
 * output's shared text, out->text: the rules' texts are read from it at the next call), and that
 * document's head (certificates, global plugins) and isolation routes, written again only when a
 * full call, a Secret or a ReferenceGrant change could change them. One thread at a time. */
struct kgc_translate_state;

/* One changed object: kind and where ("" or NULL namespace for cluster-scoped kinds). */
struct kgc_translate_change {
    enum kgc_api_kind kind;
    const char *namespace;
    const char *name;
};

/* What one incremental call did. */
struct kgc_translate_incr_stats {
    bool full;                /* everything translated again */
    const char *why_full;     /* static text when full, else NULL */
    size_t routes_planned;    /* HTTPRoutes translated again */
    size_t fragments_written; /* services and upstreams serialised */
    size_t bytes_written;     /* their bytes */
    size_t hashed_bytes;      /* bytes the MD5 went over (from the last kept MD5 state before
                                 the first byte that differs from the previous document) */
    bool head_kept; /* the certificates, global plugins and isolation routes not written again
                       (no Secret or ReferenceGrant changed) */
    size_t bytes_in_place; /* bytes of the document not copied: its buffer, the one of the
                              document before the last, held them already */
};

/* A new empty state (NULL when out of memory). */
struct kgc_translate_state *kgc_translate_state_new(void);
/* Frees st and everything it keeps. NULL is fine. */
void kgc_translate_state_free(struct kgc_translate_state *st);
/* The text the caller holds (e.g. the configuration it pushes; a reference is taken), for the
 * next kgc_translate_incremental() call on st only: if that call starts from nothing and makes
 * the same bytes, its output is t (another reference) instead of a copy, and while its bytes are
 * t's it copies none (building the state at start-up makes the text the caller already holds).
 * NULL: none. */
void kgc_translate_state_seed(struct kgc_translate_state *st, struct kgc_translate_text *t);
/* kgc_translate() of in's snapshot, reusing what st kept (see above). out as kgc_translate()'s;
 * stats optional. Returns 0, KGC_EINVAL, KGC_ENOMEM or KGC_E2BIG (the document would exceed
 * 4 GiB, the bound of the state's 32-bit offsets; kgc_translate() has none) (the state then
 * starts again next call). */
int kgc_translate_incremental(struct kgc_translate_state *st, const struct kgc_translate_input *in,
                              const struct kgc_translate_change *changes, size_t n_changes,
                              bool everything, struct kgc_translate_output *out,
                              struct kgc_translate_incr_stats *stats, struct kgc_err *err);

/* Whether s can be input.invalid_backend_target: "HOST:PORT" or "[V6]:PORT", HOST an IP address
 * or a lower-case DNS name, PORT 1..65535 (what Kong takes as a target). */
bool kgc_translate_target_valid(const char *s);

/* Frees what out holds and zeroes it. NULL and zeroed outputs are fine. */
void kgc_translate_output_free(struct kgc_translate_output *out);
/* Hands out's configuration text over as a shared text (one reference, the caller's; NULL when
 * out has none or out of memory, out's text then stays with out): out->config is NULL after. */
struct kgc_translate_text *kgc_translate_output_take_text(struct kgc_translate_output *out);

/* The problems of one object: a pointer into out->problems and their number in *n (0 and NULL
 * when none). kind is a route kind (kgc_api_is_route_kind) or KGC_API_GATEWAY. */
const struct kgc_translate_problem *
kgc_translate_problems_of(const struct kgc_translate_output *out, enum kgc_api_kind kind,
                          const char *ns, const char *name, size_t *n);

/* The status hook (struct kgc_status_options.route_verdict, ctx = the output, which must outlive
 * the status computation): fills *v for
 * route from the output's problems. A route whose every rule was dropped gets
 * Accepted=False/UnsupportedValue; dropped or degraded rules and matches give a PartiallyInvalid
 * message ("Dropped Rule 2: ...; Rule 0: ..."); LIMITATION problems give the
 * konghq.com/KongLimitation message ("Rule 1: ..."). NOTE problems are left out (ResolvedRefs
 * says them; those with ref_reason become resolved_refs_reason/message). v is zeroed first; a
 * NULL ctx leaves it zeroed. */
void kgc_translate_route_verdict(void *ctx, const struct kgc_api_httproute *route,
                                 struct kgc_status_route_verdict *v);
/* The same verdict for route kind ns/name (a verdict reads nothing of a route but these), for a
 * caller that holds names rather than the object (the syncer's recorded verdicts). */
void kgc_translate_route_verdict_of(const struct kgc_translate_output *out, enum kgc_api_kind kind,
                                    const char *ns, const char *name,
                                    struct kgc_status_route_verdict *v);

/* The Kubernetes object behind a Kong entity. */
struct kgc_translate_owner {
    enum kgc_api_kind kind;              /* KGC_API_HTTPROUTE, KGC_API_SECRET or KGC_API_GATEWAY */
    char namespace[KGC_STATUS_NAME_MAX]; /* "" for cluster-scoped kinds */
    char name[KGC_STATUS_NAME_MAX];
    int32_t rule;  /* -1 when the entity is not tied to a rule */
    int32_t match; /* -1 when the entity is not tied to a match */
};

/* Maps one of Kong's flattened errors (entity_type "service", "route", ...; entity_name and tags
 * as Kong reports them, any of them may be NULL) back to the object at fault: from the k8s-*
 * tags first, else by parsing a name kgc generated. Returns 0 and fills *owner, or KGC_ENOENT
 * when neither leads to an object (an entity kgc did not make, or Kong reported nothing). */
int kgc_translate_entity_owner(const char *entity_type, const char *entity_name,
                               const char *const *tags, size_t n_tags,
                               struct kgc_translate_owner *owner);

/* Why kgc cannot use plugin object p as a Kong plugin (no plugin name, a config it could not
 * parse, configPatches, which kgc does not apply, a configFrom Secret value lk->secret_value
 * cannot give or that is neither a JSON nor a YAML object, or config and configFrom both), in buf
 * (or a static text), or NULL when it can. lk may be NULL (then every configFrom is unusable). The
 * text names the Secret and key, never the value. A route naming such a plugin answers 500
 * (pkg/translate/plugins.c). */
const char *kgc_translate_plugin_problem(const struct kgc_status_lookup *lk,
                                         const struct kgc_api_kongplugin *p, char *buf,
                                         size_t size);

/* A buffer for the two functions above and below: their texts fit. */
#define KGC_TRANSLATE_PLUGIN_WHY_MAX 400

/* Why p, labelled global=true, is not applied to every request (a Kong plugin with no route,
 * service or consumer), in buf or a static text: not a KongClusterPlugin, unusable (as
 * kgc_translate_plugin_problem), or another usable global KongClusterPlugin has the same plugin
 * name (Kong keys global plugins by name; Kong's controller then applies neither). NULL: the
 * translation makes it a global Kong plugin. */
const char *kgc_translate_global_plugin_problem(const struct kgc_status_lookup *lk,
                                                const struct kgc_api_kongplugin *p, char *buf,
                                                size_t size);

/* "note" | "limitation" | "degraded" | "dropped". */
const char *kgc_translate_severity_name(enum kgc_translate_severity s);

#endif

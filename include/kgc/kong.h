/* kong — Kong Admin API client, instance discovery and readiness probers.
 *
 *   - Parsers (pure, no I/O): `GET /` (version, node id, router flavour, listeners), `GET /status`
 *     (configuration hash), the reply of `POST /config` (applied / unchanged / rejected with
 *     Kong's flattened errors / busy), and EndpointSlice endpoints → admin URLs.
 *   - A client (one libcurl easy handle; not thread-safe: one client per thread) with a timeout
 *     on every call, capped response bodies, TLS (CA, client certificate, skip-verify, server
 *     name), extra headers and URL credentials (HTTP Basic).
 *   - A registry (struct kgc_kong) of instances keyed by display URL (the admin URL without
 *     userinfo: see "Admin URLs and their credentials"), each with its own prober
 *     thread. A prober emits events to subscribers: READY, UNREACHABLE, RESTARTED,
 *     LISTENERS_CHANGED, HASH_CHANGED, HEARTBEAT, REMOVED.
 *
 * Definitions used throughout:
 *   reachable   the last probe got an HTTP answer (any status) from the Admin API;
 *   ready       the last probe got 200 and a well-formed body from both `GET /` and `GET /status`.
 *               Not `GET /status/ready`: Kong 3.9.1 answers it 503 "no configuration available
 *               (empty configuration present)" whenever its hash is 32 zeros
 *               (kong/status/ready.lua:40-48), i.e. at start and after an entity-free
 *               configuration was loaded. It tells a load balancer that the node has nothing to
 *               proxy; the Admin API works all the same, and waiting on it would wait forever
 *               (the first push, or an empty one, is what it waits for);
 *   configured  ready and the configuration hash is not 32 zeros. Kong stores a configuration
 *               without entities under the zero hash too (kong/db/declarative/import.lua:270-273,
 *               433-435), so an instance holding kgc's empty configuration is not "configured";
 *   restarted   a ready probe sees a node_id different from the last one seen (Kong draws a new
 *               one at every start: kong/pdk/node.lua:72-90; only a hybrid data plane keeps it in
 *               a file, kong/pdk/private/node.lua:61), or the hash turn to 32 zeros after it was
 *               non-zero while kgc_kong_expect_empty() is not set for the instance (both
 *               remembered across unreachable periods). A restart that keeps its node_id, faster
 *               than one probe interval, while the instance held an empty configuration, cannot
 *               be seen: nothing kgc observes differs. */
#ifndef KGC_KONG_H
#define KGC_KONG_H

#include "kgc/clock.h"
#include "kgc/digest.h"
#include "kgc/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KGC_KONG_URL_MAX      512 /* an admin URL, NUL included */
#define KGC_KONG_HOST_MAX     256 /* a listener's ip or host name ("[::]" for IPv6), NUL included */
#define KGC_KONG_HASH_LEN     KGC_DIGEST_MD5_HEX_LEN /* an MD5 hex digest */
#define KGC_KONG_LISTENER_CAP 1024 /* listeners per kind accepted from one answer */
#define KGC_KONG_EMPTY_HASH   "00000000000000000000000000000000"

/* ---------------------------------------------------------------------------------------------
 * Listeners and what `GET /` tells.
 * ------------------------------------------------------------------------------------------- */

enum kgc_kong_listener_kind {
    KGC_KONG_LISTENER_PROXY = 0,  /* configuration.proxy_listeners: HTTP, or HTTPS with ssl */
    KGC_KONG_LISTENER_STREAM = 1, /* configuration.stream_listeners: TCP, TLS with ssl, UDP */
};

/* One Kong listen directive, as Kong's conf loader parsed it. */
struct kgc_kong_listener {
    char ip[KGC_KONG_HOST_MAX];       /* "0.0.0.0", "[::]", "127.0.0.1" or a host name */
    uint16_t port;                    /* 1..65535 */
    bool ssl;                         /* TLS terminated by Kong on this listener */
    bool http2;                       /* proxy only */
    bool udp;                         /* stream only */
    bool proxy_protocol;              /* PROXY protocol expected from the client */
    enum kgc_kong_listener_kind kind; /* which list it came from */
};

/* A listener set. Arrays are malloc'd and owned by the holder; NULL when the count is 0. */
struct kgc_kong_listeners {
    struct kgc_kong_listener *proxy;
    size_t n_proxy;
    struct kgc_kong_listener *stream;
    size_t n_stream;
};

/* What `GET /` tells kgc about an instance. Owned by the holder: kgc_kong_info_free(). */
struct kgc_kong_info {
    char version[64];       /* "3.9.1" */
    char edition[32];       /* "community" | "enterprise" | "" */
    char node_id[64];       /* changes when Kong restarts */
    char router_flavor[32]; /* configuration.router_flavor, "" when absent */
    char database[32];      /* configuration.database ("off" in DB-less mode), "" when absent */
    struct kgc_kong_listeners listeners;
};

/* Parses the body of `GET /`. An empty listener list may be `{}` (Kong's encoding), `[]`, null or
 * absent. Returns 0 and fills *out (free with kgc_kong_info_free(), also after a failure), or
 * KGC_EPARSE with a one-line reason in err for malformed JSON or wrong types, KGC_ENOMEM. */
int kgc_kong_parse_root(const char *body, size_t len, struct kgc_kong_info *out,
                        struct kgc_err *err);

/* Parses the body of `GET /status`: the configuration hash (32 lowercase hex digits) into hash,
 * or "" when the answer carries none (DB mode). Returns 0 or KGC_EPARSE with a reason. */
int kgc_kong_parse_status(const char *body, size_t len, char hash[KGC_KONG_HASH_LEN + 1],
                          struct kgc_err *err);

/* Frees what info holds and zeroes it. NULL is a no-op. */
void kgc_kong_info_free(struct kgc_kong_info *info);

/* Deep copy: 0 or KGC_ENOMEM (dst is then zeroed). dst must not hold anything. */
int kgc_kong_info_copy(struct kgc_kong_info *dst, const struct kgc_kong_info *src);

/* Frees the arrays and zeroes the set. NULL is a no-op. */
void kgc_kong_listeners_free(struct kgc_kong_listeners *l);

/* Deep copy: 0 or KGC_ENOMEM (dst is then zeroed). dst must not hold anything. */
int kgc_kong_listeners_copy(struct kgc_kong_listeners *dst, const struct kgc_kong_listeners *src);

/* True when both sets hold the same listeners in the same order. */
bool kgc_kong_listeners_equal(const struct kgc_kong_listeners *a,
                              const struct kgc_kong_listeners *b);

/* Adds to dst every listener of src not already in it (same kind, ip, port and flags), then sorts
 * each list by port, ip, flags: the union of several instances' sets, in a stable order.
 * 0 or KGC_ENOMEM (dst unchanged). */
int kgc_kong_listeners_merge(struct kgc_kong_listeners *dst, const struct kgc_kong_listeners *src);

/* True when hash is Kong's "no configuration" hash (32 zeros). */
bool kgc_kong_hash_is_empty(const char *hash);

/* Kong's configuration hash of a configuration sent as a string: MD5 hex of the text
 * (kgc_digest_md5_hex), into out (33 bytes). */
void kgc_kong_config_hash(const char *text, size_t len, char out[KGC_KONG_HASH_LEN + 1]);

/* ---------------------------------------------------------------------------------------------
 * POST /config replies.
 * ------------------------------------------------------------------------------------------- */

enum kgc_kong_push_kind {
    KGC_KONG_PUSH_APPLIED = 0, /* 200/201: Kong loaded the configuration */
    KGC_KONG_PUSH_UNCHANGED,   /* 304: the hash equals what Kong holds (check_hash=1) */
    KGC_KONG_PUSH_REJECTED,    /* 400: invalid configuration; see entity_errors and message */
    KGC_KONG_PUSH_BUSY,        /* 429 (loading a previous configuration) or 503 (exiting) */
    KGC_KONG_PUSH_OTHER,       /* any other status (413, 415, 5xx, ...); see message */
};

/* One error on one field or on a whole entity. Strings owned by the result. */
struct kgc_kong_field_error {
    char *type;    /* "field" | "entity" */
    char *field;   /* dotted, 1-based path ("paths.1"); NULL for entity errors */
    char *message; /* Kong's text */
};

/* One entry of Kong's `flattened_errors`. Strings owned by the result; NULL when absent. */
struct kgc_kong_entity_error {
    char *entity_type; /* singular: "service", "route", ... */
    char *entity_name;
    char *entity_id;
    char **entity_tags; /* n_tags strings ("k8s-name:x", ...) */
    size_t n_tags;
    struct kgc_kong_field_error *errors;
    size_t n_errors;
};

#define KGC_KONG_PUSH_MAX_ENTITIES 1000 /* flattened entries kept from one reply */
#define KGC_KONG_PUSH_MAX_ERRORS   64   /* errors kept per entry; tags likewise */

/* The outcome of one push. Owned by the caller: kgc_kong_push_result_free(). */
struct kgc_kong_push_result {
    enum kgc_kong_push_kind kind;
    long http_status;
    unsigned retry_after_s;           /* Retry-After in seconds (429/503), 0 when absent */
    char hash[KGC_KONG_HASH_LEN + 1]; /* MD5 of the configuration text that was sent */
    char *message;                    /* top-level "message" (or NULL) */
    struct kgc_kong_entity_error *entity_errors; /* REJECTED: the flattened errors */
    size_t n_entity_errors; /* REJECTED with 0: the whole configuration was refused */
    bool truncated;         /* more flattened errors than the caps kept */
    /* kgc_kong_push_config(): when the last byte of the text was sent (kgc_clock_now(NULL),
     * seen by libcurl's progress callback); 0 when unknown. What follows is Kong's load time. */
    uint64_t sent_ns;
};

/* Classifies a `POST /config` answer: status, body and the Retry-After header value (may be
 * NULL). Pure; used by kgc_kong_push_config(). Returns 0 and fills *out (free with
 * kgc_kong_push_result_free()), KGC_ENOMEM. A malformed 400 body is still REJECTED (message says
 * so); the hash field is left for the caller. */
int kgc_kong_parse_push_reply(long status, const char *body, size_t len, const char *retry_after,
                              struct kgc_kong_push_result *out, struct kgc_err *err);

/* Frees what r holds and zeroes it. NULL is a no-op. */
void kgc_kong_push_result_free(struct kgc_kong_push_result *r);

/* "applied" | "unchanged" | "rejected" | "busy" | "other". */
const char *kgc_kong_push_kind_name(enum kgc_kong_push_kind kind);

/* ---------------------------------------------------------------------------------------------
 * The client.
 * ------------------------------------------------------------------------------------------- */

/* The push timeout rule's defaults (see push_timeout_ms below). */
#define KGC_KONG_PUSH_TIMEOUT_MS 10000
#define KGC_KONG_PUSH_STALL_MS   5000
#define KGC_KONG_PUSH_MS_PER_MIB 2000

/* The cap of a push of len bytes: base_ms + ms_per_mib per started MiB. Pure. */
uint64_t kgc_kong_push_timeout_ms(uint64_t base_ms, uint64_t ms_per_mib, size_t len);

/* Connection options. Strings are copied by kgc_kong_client_new()/kgc_kong_new(). */
struct kgc_kong_client_options {
    const char *ca_file;   /* --kong-admin-ca-file: PEM bundle to verify Kong (NULL: system) */
    const char *cert_file; /* --kong-admin-cert-file: client certificate (PEM), for mTLS */
    const char *key_file;  /* --kong-admin-key-file: its private key (PEM) */
    bool tls_skip_verify;  /* --kong-admin-tls-skip-verify: no peer or host name check */
    const char *tls_server_name; /* --kong-admin-tls-server-name: the name TLS sends (SNI) and
                                    verifies instead of the URL's host (NULL: the host) */
    const char *const *headers;  /* --kong-admin-header K:V (repeatable), n_headers of them */
    size_t n_headers;
    /* Admin URLs carrying userinfo (--kong-admin-url): a client for the instance whose display
     * URL equals one of them without its userinfo logs in with it. The registry fills this from
     * its static admin URLs; NULL/0: none. */
    const char *const *credential_urls;
    size_t n_credential_urls;
    uint64_t request_timeout_ms; /* --kong-probe-timeout: whole GET /, GET /status (2000) */
    uint64_t connect_timeout_ms; /* TCP+TLS connect, capped by the request timeout (1000) */
    /* POST /config (kgc_kong_push_config()) is bounded by progress, not by one fixed time:
     *   - connect: connect_timeout_ms;
     *   - stall: aborted (KGC_ETIMEDOUT, "stalled") when no byte moved either way for
     *     push_stall_ms while the text is being sent or the answer read: a Kong that stopped
     *     reading. The wait between the last byte sent and the answer's first byte is Kong
     *     loading the text, where nothing moves by design: only the cap bounds it;
     *   - cap: the whole call, push_timeout_ms + push_ms_per_mib per started MiB of text
     *     (kgc_kong_push_timeout_ms()): Kong's load time grows with the text (the test Kong
     *     validates 31 MB in ~6.5 s, docs/benchmarks.md), a silent Kong holding a small text in
     *     its socket buffer is given up after ~push_timeout_ms.
     * 0 for push_stall_ms or push_ms_per_mib turns that rule off. */
    uint64_t push_timeout_ms; /* the cap's base (KGC_KONG_PUSH_TIMEOUT_MS) */
    uint64_t push_stall_ms;   /* KGC_KONG_PUSH_STALL_MS */
    uint64_t push_ms_per_mib; /* KGC_KONG_PUSH_MS_PER_MIB */
    size_t max_root_body;     /* cap for GET / answers (KGC_KONG_MAX_ROOT_BODY) */
    size_t max_reply_body;    /* cap for POST /config error answers (KGC_KONG_MAX_REPLY_BODY)
                                 and /status ones (at most KGC_KONG_MAX_STATUS_BODY) */
};

/* Byte caps of Kong's answers; the parsers also cap the JSON values they build (parse.c). GET /
 * (kong/api/routes/kong.lua:130-147 in Kong 3.9.1) is tens of KB: the configuration, one object per
 * loaded plugin. /status is a few hundred bytes plus ~100 per worker. A rejected push's answer
 * (kong/db/errors.lua:1153-1167) echoes each bad entity: the first 16 MiB are read, enough for the
 * KGC_KONG_PUSH_MAX_ENTITIES entries kgc keeps; past it the answer is cut and the entries read so
 * far are kept (truncated). A 2xx push answer is not read at all: its status is the answer. */
#define KGC_KONG_MAX_ROOT_BODY   ((size_t)1 << 20)
#define KGC_KONG_MAX_STATUS_BODY ((size_t)256 << 10)
#define KGC_KONG_MAX_REPLY_BODY  ((size_t)16 << 20)

/* Fills the documented defaults (values in parentheses above; strings NULL). */
void kgc_kong_client_options_default(struct kgc_kong_client_options *o);

struct kgc_kong_client;

/* A client for the Admin API at admin_url ("http[s]://[user:pass@]host[:port][/prefix]",
 * trailing slash dropped). Credentials come from admin_url's userinfo, else from the
 * credential_urls entry of the same display URL; they are sent as HTTP Basic authentication and
 * never appear in a message. With tls_server_name on an https URL, requests go to
 * https://SERVER-NAME:PORT/... and libcurl's CURLOPT_CONNECT_TO sends them to the URL's host and
 * port: SNI, certificate verification and the Host header use SERVER-NAME (libcurl has no
 * separate SNI option; CONNECT_TO keeps the connection to the real address without a resolver
 * trick, and the Admin API ignores Host). Checks the options (header syntax, files readable).
 * Returns 0 and *out (free with kgc_kong_client_free()), or KGC_EINVAL/KGC_EUSAGE with a reason
 * that never shows a header value or credentials, KGC_ENOMEM. */
int kgc_kong_client_new(const char *admin_url, const struct kgc_kong_client_options *o,
                        struct kgc_kong_client **out, struct kgc_err *err);

/* Frees the client. NULL is a no-op. */
void kgc_kong_client_free(struct kgc_kong_client *c);

/* The display URL (normalised, without userinfo). Owned by the client. */
const char *kgc_kong_client_url(const struct kgc_kong_client *c);

/* Makes a call in progress on c fail at once with KGC_ESHUTDOWN (within libcurl's progress
 * callback granularity). May be called from any thread; *flag must outlive the client; NULL
 * detaches. */
void kgc_kong_client_set_abort_flag(struct kgc_kong_client *c, const volatile int *flag);

/* GET / → *out (free with kgc_kong_info_free()). Returns 0; KGC_ECONNECT (refused, reset, TLS
 * failure, ...), KGC_ETIMEDOUT, KGC_E2BIG (body over the cap), KGC_EHTTP (non-200; the status is
 * in the message), KGC_EPARSE, KGC_ESHUTDOWN, KGC_ENOMEM; reason in err. *http_status (may be
 * NULL) receives the HTTP status or 0 when none arrived. */
int kgc_kong_client_get_root(struct kgc_kong_client *c, struct kgc_kong_info *out,
                             long *http_status, struct kgc_err *err);

/* GET /status → hash (33 bytes; "" when Kong reports none). Errors as kgc_kong_client_get_root. */
int kgc_kong_client_get_status(struct kgc_kong_client *c, char hash[KGC_KONG_HASH_LEN + 1],
                               long *http_status, struct kgc_err *err);

/* POST /config?check_hash=1&flatten_errors=1 as multipart/form-data, field config = config_text
 * (curl -F config=@kong.yml), streamed from the caller's buffer without a copy (the string form:
 * Kong's hash is the MD5 of the text, so an unchanged configuration gets 304). A 2xx answer's
 * body (Kong echoes every entity) is not read: the transfer stops once the status is known (an
 * endless 201 costs nothing). An error answer is read up to max_reply_body. Returns 0
 * when Kong answered (whatever it answered: see out->kind; free with kgc_kong_push_result_free()),
 * or a network error as kgc_kong_client_get_root (out is then zeroed). */
int kgc_kong_push_config(struct kgc_kong_client *c, const char *config_text, size_t len,
                         struct kgc_kong_push_result *out, struct kgc_err *err);
/* As kgc_kong_push_config(), with the text's kgc_kong_config_hash() known to the caller (copied
 * into out->hash rather than computed again: ~1.7 ns per byte, per instance and push). */
int kgc_kong_push_config_hashed(struct kgc_kong_client *c, const char *config_text, size_t len,
                                const char *hash, struct kgc_kong_push_result *out,
                                struct kgc_err *err);

/* ---------------------------------------------------------------------------------------------
 * Discovery from EndpointSlices (pure: the informer wiring feeds it).
 * ------------------------------------------------------------------------------------------- */

/* A condition of an EndpointSlice endpoint: absent (nil) or set. */
enum kgc_kong_cond { KGC_KONG_COND_UNSET = 0, KGC_KONG_COND_FALSE, KGC_KONG_COND_TRUE };

struct kgc_kong_endpoint {
    const char *const *addresses; /* IPs (or FQDNs), n_addresses of them */
    size_t n_addresses;
    enum kgc_kong_cond ready;       /* nil means true (Kubernetes API) */
    enum kgc_kong_cond serving;     /* nil means the value of ready */
    enum kgc_kong_cond terminating; /* nil means false */
};

struct kgc_kong_endpoint_port {
    const char *name;         /* port name ("" or NULL for an unnamed port) */
    int32_t port;             /* 1..65535 (anything else: the port is skipped) */
    const char *app_protocol; /* appProtocol ("https" selects TLS), may be NULL */
};

struct kgc_kong_endpoint_slice {
    const struct kgc_kong_endpoint *endpoints;
    size_t n_endpoints;
    const struct kgc_kong_endpoint_port *ports;
    size_t n_ports;
};

/* Admin URLs for the endpoints of a Service's EndpointSlices: one per address of an endpoint that
 * is ready or serving and not terminating, on the port named port_name. The scheme is https when
 * the port's appProtocol is "https" or its name contains "tls" or "https", else http. IPv6
 * addresses are bracketed. The result is sorted and without duplicates. Returns 0, *urls (a
 * malloc'd array of malloc'd strings; free with kgc_kong_urls_free()) and *n_urls; KGC_ENOMEM. */
int kgc_kong_urls_from_endpoints(const struct kgc_kong_endpoint_slice *slices, size_t n_slices,
                                 const char *port_name, char ***urls, size_t *n_urls);

void kgc_kong_urls_free(char **urls, size_t n);

/* ---------------------------------------------------------------------------------------------
 * Admin URLs and their credentials (pkg/kong/adminurl.c).
 *
 * An admin URL may carry credentials: http://user:pass@host:8001 (accepted; sent as HTTP Basic
 * authentication). Everything but the HTTP request itself knows an instance by its display URL,
 * the normalised URL without userinfo: the registry's keys, events, kgc_kong_instance_state.url,
 * logs, /metrics labels, the debug endpoints, the listener cache (keys and records) and Gateway
 * status messages. Error messages show the display URL too, never the userinfo. A query or a
 * fragment is refused (the Admin API paths are appended to the URL).
 * ------------------------------------------------------------------------------------------- */

/* Splits an admin URL: the display URL (scheme lower-cased, userinfo removed, trailing slashes
 * dropped) into out and the raw (percent-encoded) userinfo into userinfo ("" when none; NULL:
 * not wanted). Returns 0 or KGC_EUSAGE with a reason that shows the URL without userinfo. */
int kgc_kong_url_split(const char *url, char out[KGC_KONG_URL_MAX], char userinfo[KGC_KONG_URL_MAX],
                       struct kgc_err *err);

/* kgc_kong_url_split() without the userinfo: the instance's name everywhere. */
int kgc_kong_url_normalize(const char *url, char out[KGC_KONG_URL_MAX], struct kgc_err *err);

/* A printable name for any string given as a URL, valid or not, for messages: userinfo, query and
 * fragment removed, control characters replaced by '?'. Never fails (truncates to size). */
void kgc_kong_url_display(const char *url, char *out, size_t size);

/* True when url is valid and carries userinfo. */
bool kgc_kong_url_has_userinfo(const char *url);

/* Percent-decodes "user[:password]" into user and password ("" when absent). */
void kgc_kong_userinfo_decode(const char *userinfo, char user[KGC_KONG_URL_MAX],
                              char password[KGC_KONG_URL_MAX]);

/* Reads --kong-admin-header-file: one "Name: value" per line; blank lines and lines starting with
 * '#' skipped; at most 64 KiB. Returns 0 and *lines ("Name: value" strings, *n of them; free with
 * kgc_kong_header_lines_free()), or KGC_EUSAGE naming the file and line but never a value,
 * KGC_ENOMEM. */
int kgc_kong_read_header_file(const char *path, char ***lines, size_t *n, struct kgc_err *err);

/* Frees (and wipes) what kgc_kong_read_header_file() returned. NULL is a no-op. */
void kgc_kong_header_lines_free(char **lines, size_t n);

/* ---------------------------------------------------------------------------------------------
 * The instance registry and its probers.
 * ------------------------------------------------------------------------------------------- */

/* Module options, filled by cmd/kgc from flags. Strings and arrays are copied by kgc_kong_new(). */
struct kgc_kong_options {
    const char *const *admin_urls; /* --kong-admin-url (repeatable), n_admin_urls of them */
    size_t n_admin_urls;
    const char *admin_service;   /* --kong-admin-service NS/NAME (NULL: static URLs only) */
    const char *admin_port_name; /* --kong-admin-port-name ("admin") */
    struct kgc_kong_client_options client; /* TLS, headers, --kong-probe-timeout, caps */
    uint64_t probe_interval_ms;            /* --kong-probe-interval, while ready (1000) */
    uint64_t down_probe_interval_ms;       /* --kong-down-probe-interval, while not ready (200) */
    uint64_t heartbeat_interval_ms;        /* HEARTBEAT events while ready (60000; 0 = none) */
    const struct kgc_clock *clock; /* when probes are due (NULL: the real one). A fake clock must
                                      outlive the registry; after advancing it, call
                                      kgc_kong_tick() so waiting probers look at it again */
};

/* Fills the documented defaults (in parentheses above). */
void kgc_kong_options_default(struct kgc_kong_options *o);

/* Checks the options as cmd/kgc needs: exactly one of admin URLs / admin service, URLs
 * well-formed (messages never show their userinfo), NS/NAME well-formed, intervals > 0, cert and
 * key given together, headers K:V with a token name, TLS files readable. Returns 0 or KGC_EUSAGE
 * with a reason naming the flag. */
int kgc_kong_options_validate(const struct kgc_kong_options *o, struct kgc_err *err);

/* Splits "NS/NAME" into ns and name (each at most 253 bytes + NUL). 0 or KGC_EUSAGE. */
int kgc_kong_parse_service_ref(const char *ref, char ns[254], char name[254], struct kgc_err *err);

enum kgc_kong_health {
    KGC_KONG_HEALTH_UNKNOWN = 0, /* not probed yet */
    KGC_KONG_HEALTH_READY,       /* see "ready" above */
    KGC_KONG_HEALTH_DOWN,        /* not ready: unreachable, or answering wrongly */
};

/* An instance as its prober last saw it. A copy: the holder owns it (kgc_kong_instance_state_free).
 */
struct kgc_kong_instance_state {
    char url[KGC_KONG_URL_MAX]; /* the display URL (no userinfo) */
    enum kgc_kong_health health;
    bool reachable;                   /* the last probe got an HTTP answer */
    bool configured;                  /* ready and hash not 32 zeros */
    bool have_info;                   /* info holds a GET / answer (kept while down) */
    struct kgc_kong_info info;        /* the last good GET / answer */
    char hash[KGC_KONG_HASH_LEN + 1]; /* the last hash seen ("" none yet; kept while down) */
    uint64_t last_ok_wall_ms;         /* wall time (Unix ms) of the last ready probe, 0 never */
    uint64_t health_since_ns;         /* monotonic time health last changed */
    uint64_t probes;                  /* probes made */
    uint64_t failed_probes;           /* probes that did not find the instance ready */
    unsigned restarts;                /* RESTARTED events so far */
    char last_error[KGC_ERR_MSG_MAX]; /* why the last failed probe failed ("" none) */
};

void kgc_kong_instance_state_free(struct kgc_kong_instance_state *s);

enum kgc_kong_event_type {
    KGC_KONG_EV_READY = 0,         /* became ready (from unknown or down): first contact too */
    KGC_KONG_EV_UNREACHABLE,       /* stopped being ready (or the first probe failed) */
    KGC_KONG_EV_RESTARTED,         /* node_id changed, or hash turned to zeros unexpectedly
                                      (see "restarted" above); after READY */
    KGC_KONG_EV_LISTENERS_CHANGED, /* listeners differ from the last set seen (first set too) */
    KGC_KONG_EV_HASH_CHANGED,      /* hash differs from the last one seen (first one too) */
    KGC_KONG_EV_HEARTBEAT,         /* still ready; every heartbeat_interval_ms */
    KGC_KONG_EV_REMOVED,           /* the instance left the set (its prober has stopped) */
};

/* One event. Everything is borrowed for the duration of the callback. */
struct kgc_kong_event {
    enum kgc_kong_event_type type;
    const char *url;
    const struct kgc_kong_instance_state *state; /* the state after the probe */
    const char *prev_hash;    /* RESTARTED, HASH_CHANGED: the previous hash ("" none) */
    const char *prev_node_id; /* RESTARTED: the previous node_id ("" none) */
    const char *reason;       /* UNREACHABLE: the error; RESTARTED: what was seen; else "" */
};

/* "ready" | "unreachable" | "restarted" | "listeners_changed" | "hash_changed" | "heartbeat" |
 * "removed". */
const char *kgc_kong_event_name(enum kgc_kong_event_type type);

/* Subscribers run on the emitting thread (a prober, or the caller of kgc_kong_set_instances()
 * for REMOVED), one event at a time per instance, in the order READY, RESTARTED,
 * LISTENERS_CHANGED, HASH_CHANGED within a probe. They must be quick (enqueue work) and must not
 * call kgc_kong_set_instances(), kgc_kong_stop() or kgc_kong_free(). */
typedef void (*kgc_kong_event_fn)(const struct kgc_kong_event *ev, void *ctx);

struct kgc_kong;

/* A registry with no instance and no thread yet. Copies the options (not checked: see
 * kgc_kong_options_validate()). Returns 0 and *out, KGC_ENOMEM. */
int kgc_kong_new(const struct kgc_kong_options *o, struct kgc_kong **out, struct kgc_err *err);

#define KGC_KONG_MAX_SUBSCRIBERS 16

/* Adds a subscriber for every instance's events (before kgc_kong_start() to see first contacts).
 * Thread-safe. Returns 0 or KGC_ENOSPC (more than KGC_KONG_MAX_SUBSCRIBERS). */
int kgc_kong_subscribe(struct kgc_kong *k, kgc_kong_event_fn fn, void *ctx);

/* Starts probing the static admin URLs of the options (none: nothing happens until
 * kgc_kong_set_instances()). Returns 0 or an error of kgc_kong_set_instances(). */
int kgc_kong_start(struct kgc_kong *k, struct kgc_err *err);

/* Makes the instance set exactly urls (normalised to display URLs, duplicates ignored; their
 * userinfo is dropped: credentials come from the client options' credential_urls), and logs one
 * warning per new instance when it is plain http or TLS verification is off (what would cross
 * unprotected: header names, never values). Starts a prober for each new URL, stops and joins the
 * prober of each URL gone (then emits REMOVED). Blocks for at most about one request's connect time
 * per removed instance. Returns 0, KGC_EUSAGE (bad URL; nothing changed), KGC_ENOMEM, or an errno
 * code when a thread cannot be created. */
int kgc_kong_set_instances(struct kgc_kong *k, const char *const *urls, size_t n,
                           struct kgc_err *err);

/* Copies the state of every instance, sorted by URL. Returns 0, *out (free with
 * kgc_kong_states_free()) and *n; KGC_ENOMEM. */
int kgc_kong_states(struct kgc_kong *k, struct kgc_kong_instance_state **out, size_t *n);

void kgc_kong_states_free(struct kgc_kong_instance_state *s, size_t n);

/* The configuration being pushed to the instance at url (normalised first; an unknown URL is
 * ignored) holds no entity (empty true) or some (false). Kong stores an entity-free configuration
 * under the zero hash, so while empty is set the hash turning to zeros is that configuration, not
 * a restart (see "restarted" above). The syncer calls it before every push. Thread-safe; a new
 * instance starts with false. */
void kgc_kong_expect_empty(struct kgc_kong *k, const char *url, bool empty);

/* Wakes every prober to probe at once (e.g. after a push). Thread-safe. */
void kgc_kong_probe_now(struct kgc_kong *k);

/* Makes every waiting prober read its clock again (a test that advanced a fake clock); a prober
 * whose next probe is now due probes. No effect with the real clock. Thread-safe. */
void kgc_kong_tick(struct kgc_kong *k);

/* Stops and joins every prober (no more events; kgc_kong_set_instances() then fails with
 * KGC_ESHUTDOWN). Idempotent. */
void kgc_kong_stop(struct kgc_kong *k);

/* Stops and frees. NULL is a no-op. */
void kgc_kong_free(struct kgc_kong *k);

/* The options as copied (for clients the syncer creates per instance). Owned by k. */
const struct kgc_kong_options *kgc_kong_get_options(const struct kgc_kong *k);

/* ---------------------------------------------------------------------------------------------
 * The prober's decisions (pkg/kong/probe_state.c): pure — no I/O, no lock, no clock read.
 *
 * One machine per instance. Its prober thread drives it under the instance lock (the registry
 * reads its state; kgc_kong_expect_empty() and kgc_kong_probe_now() feed it from other threads):
 * wait until kgc_kong_probe_state_next_ns() (or a probe_now, or a stop), then
 * kgc_kong_probe_state_begin(), make the two requests without the lock, then
 * kgc_kong_probe_state_apply() with the outcome, and emit the events it lists, in their order,
 * with no lock held. Times are nanoseconds on the registry's clock (options.clock).
 *
 * Timing:
 *   - the first probe is due at once; then probes start probe_interval_ms apart while ready and
 *     down_probe_interval_ms apart while not, counted from the start of the previous probe (a
 *     slow answer does not push the next probe back by its own duration; an answer slower than
 *     the interval makes the next probe due at once);
 *   - a probe_now makes the next probe due at once, also when it arrives during a probe (that
 *     probe may have read Kong before what the caller changed);
 *   - HEARTBEAT rides on probes, never between them: it is emitted by the first ready probe with
 *     no other event that ends heartbeat_interval_ms or more after the last READY or HEARTBEAT
 *     (0: never).
 * Events within one probe come in the order READY | UNREACHABLE, RESTARTED, LISTENERS_CHANGED,
 * HASH_CHANGED | HEARTBEAT (see the definitions at the top of this header).
 * ------------------------------------------------------------------------------------------- */

#define KGC_KONG_PROBE_MAX_EVENTS 5

/* What one probe found. */
struct kgc_kong_probe_result {
    bool ready;                       /* GET / and GET /status both 200 with a well-formed body */
    bool reachable;                   /* an HTTP answer arrived (any status) */
    struct kgc_kong_info info;        /* ready: the GET / answer (apply takes it; else ignored) */
    char hash[KGC_KONG_HASH_LEN + 1]; /* ready: the /status hash ("" when Kong reports none) */
    const char *error;                /* not ready: why (borrowed; NULL: "") */
    uint64_t wall_ms;                 /* ready: wall-clock Unix ms of the answer */
};

/* The events one probe causes, to emit in order; the strings are those of struct
 * kgc_kong_event. */
struct kgc_kong_probe_events {
    enum kgc_kong_event_type type[KGC_KONG_PROBE_MAX_EVENTS];
    size_t n;
    char prev_hash[KGC_KONG_HASH_LEN + 1]; /* the hash before the probe ("" none) */
    char prev_node_id[64];                 /* the node_id before the probe ("" none) */
    char reason[KGC_ERR_MSG_MAX];          /* UNREACHABLE: the error; RESTARTED: what was seen */
};

/* One instance's prober state. Fields are read-only outside probe_state.c. */
struct kgc_kong_probe_state {
    struct kgc_kong_instance_state state; /* as kgc_kong_states() shows it */
    uint64_t interval_ns;                 /* probe_interval_ms */
    uint64_t down_interval_ns;            /* down_probe_interval_ms */
    uint64_t heartbeat_ns;                /* heartbeat_interval_ms (0: none) */
    uint64_t started_ns;                  /* start of the last probe */
    uint64_t due_ns;                      /* the next probe's time without a probe_now */
    uint64_t last_heartbeat_ns;           /* the last READY or HEARTBEAT */
    bool expect_empty; /* kgc_kong_expect_empty(): zeros are what kgc pushed, not a restart */
    bool probe_now;    /* a probe_now came since the last probe began (a waiter's "done" flag) */
};

/* A machine for the instance at display URL url, not probed yet (its first probe is due at
 * once), with the intervals of o (a zero probe or down interval takes its default). */
void kgc_kong_probe_state_init(struct kgc_kong_probe_state *m, const char *url,
                               const struct kgc_kong_options *o);

/* Frees what m holds. NULL is a no-op. */
void kgc_kong_probe_state_free(struct kgc_kong_probe_state *m);

/* A probe starts at now_ns: the cadence counts from here; a probe_now seen so far is served. */
void kgc_kong_probe_state_begin(struct kgc_kong_probe_state *m, uint64_t now_ns);

/* Folds the outcome of the probe begun last, ended at now_ns, into the state and lists the
 * events it causes in *out. Takes r->info (zeroed on return). */
void kgc_kong_probe_state_apply(struct kgc_kong_probe_state *m, struct kgc_kong_probe_result *r,
                                uint64_t now_ns, struct kgc_kong_probe_events *out);

/* When the next probe is due: 0 after a probe_now (at once), else the cadence above. */
uint64_t kgc_kong_probe_state_next_ns(const struct kgc_kong_probe_state *m);

/* When a HEARTBEAT becomes due (emitted by the first quiet ready probe from then on);
 * UINT64_MAX while not ready or with heartbeats off. */
uint64_t kgc_kong_probe_state_heartbeat_ns(const struct kgc_kong_probe_state *m);

/* kgc_kong_probe_now() for this instance. */
void kgc_kong_probe_state_wake(struct kgc_kong_probe_state *m);

/* kgc_kong_expect_empty() for this instance. */
void kgc_kong_probe_state_expect_empty(struct kgc_kong_probe_state *m, bool empty);

#endif

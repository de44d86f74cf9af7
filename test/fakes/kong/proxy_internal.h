/* proxy_internal — the pieces of the test Kong's proxy behind proxy.h, shared by
 *   proxy_listen.c  Kong's proxy_listen syntax (kong/conf_loader/listeners.lua)
 *   dataplane.c     the configuration snapshot (schema defaults, router, balancers, plugins,
 *                   certificates) and Kong's runloop over it (kong/runloop/handler.lua)
 *   proxy.c         the listeners: libmicrohttpd for HTTP, the snapshot swap
 *   proxy_tls.c     TLS termination (OpenSSL) in front of libmicrohttpd
 * Snapshots are immutable once built and refcounted: any thread may use one it holds a reference
 * to. Internal to test/fakes/kong/. */
#ifndef KGC_TEST_KONG_PROXY_INTERNAL_H
#define KGC_TEST_KONG_PROXY_INTERNAL_H

#include "proxy.h"

#include <stdbool.h>
#include <stddef.h>

#include <sys/socket.h>

/* ---- proxy_listen.c ----------------------------------------------------------------------- */

/* One parsed proxy_listen entry. */
struct kf_listen {
    char host[300];      /* as Kong reports it: normalized IPv4, [expanded IPv6], or the name */
    char bind_host[300]; /* what to bind: host without brackets ("*" = any IPv4) */
    unsigned port;
    bool ssl, http2, proxy_protocol, reuseport, deferred, bind;
    int backlog; /* -1 = not given */
};

/* Parses a proxy_listen value as Kong's conf_loader does. Returns 0 with *out (caller frees; n
 * may be 0 for "off") and, when json is not NULL, *json = {"proxy_listen": [...],
 * "proxy_listeners": [...]} (new reference); KGC_EINVAL with Kong's message in err; KGC_ENOMEM. */
int kf_listen_parse(const char *value, struct kf_listen **out, size_t *n, json_object **json,
                    char *err, size_t errsz);

/* ---- dataplane.c -------------------------------------------------------------------------- */

struct kf_dp;

/* Builds a snapshot from an accepted configuration's entities body ({"routes": {"<id>":
 * {...}}, ...}; borrowed; NULL = empty). Returns NULL with a reason in err (router build
 * failure, allocation failure). The snapshot holds its own references. */
struct kf_dp *kf_dp_new(json_object *entities, enum kf_flavor flavor, char *err, size_t errsz);
struct kf_dp *kf_dp_ref(struct kf_dp *dp);
void kf_dp_unref(struct kf_dp *dp);

/* Per-request facts that are not in kf_client_req. */
struct kf_req_extra {
    const char *request_uri;  /* the request target as sent (path?query) */
    const char *http_version; /* "1.1" / "1.0" */
    unsigned remote_port;
    const char *local_ip;      /* the address the connection arrived at (nginx $server_addr) */
    bool debug_header_allowed; /* allow_debug_header */
    bool body_too_big;         /* the body went over the test Kong's cap: 413 */
};

/* Kong's runloop for one request on snapshot dp (NULL = no configuration): fills resp (status,
 * headers, body). Returns 0, or KGC_ENOMEM (the caller answers 500). */
int kf_dp_handle(struct kf_dp *dp, const struct kf_client_req *req, const struct kf_req_extra *x,
                 struct kf_presp *resp);

/* The certificate Kong's certificate.lua picks for sni (NULL = no SNI), as an opaque SSL_CTX
 * pointer owned by the snapshot (NULL = Kong's default certificate). */
void *kf_dp_ssl_ctx(const struct kf_dp *dp, const char *sni);

/* Kong's wildcard SNI candidates for sni (certificate.lua produce_wild_snis): each buffer gets a
 * candidate or "" when there is none. Exposed for unit tests. */
void kf_wild_snis(const char *sni, char *prefix, size_t psz, char *suffix, size_t ssz);

/* Kong's default error body for status and message, negotiated on the Accept header as
 * kong/tools/http.lua does: fills resp's Content-Type and body. 0 or KGC_ENOMEM. */
int kf_dp_error(struct kf_presp *resp, int status, const char *message, const char *accept,
                const char *request_id);

/* ---- proxy_tls.c -------------------------------------------------------------------------- */

struct kf_tls;
struct kf_proxy_srv; /* one listener's server (proxy.c) */

/* Kong's default certificate (generated at start as kong/cmd/utils/prefix_handler.lua does: a
 * self-signed RSA 2048 and an ECDSA P-256 certificate, CN=localhost) in a server context whose SNI
 * callback asks the current snapshot (kf_dp_ssl_ctx) for the configured certificate. Returns the
 * SSL_CTX (opaque) or NULL with err. */
void *kf_tls_default_new(struct kf_proxy *p, char *err, size_t errsz);
void kf_tls_ctx_free(void *ctx);

/* A server context for a configured certificate (PEM; the chain after the first certificate is
 * sent too; cert_alt/key_alt may be NULL). NULL with err when a PEM does not load, or when libssl
 * is not available (err empty). */
void *kf_tls_cert_ctx(const char *cert, const char *key, const char *cert_alt, const char *key_alt,
                      char *err, size_t errsz);

/* Starts accepting TLS on fd (bound and listening; taken over, closed by kf_tls_stop) with the
 * default context, handing the plaintext to srv through kf_proxy_srv_add(). Returns 0 and *out,
 * or a negative code with err. */
int kf_tls_start(struct kf_proxy_srv *srv, int fd, void *default_ctx, struct kf_tls **out,
                 char *err, size_t errsz);
/* Stops accepting, closes every TLS connection and waits for their threads. */
void kf_tls_stop(struct kf_tls *t);

/* proxy.c, for proxy_tls.c: the current snapshot (a reference; kf_dp_unref it) and the handoff of
 * a decrypted connection (fd: one end of a socketpair, taken over; sni may be NULL). */
struct kf_dp *kf_proxy_snapshot(struct kf_proxy *p);
int kf_proxy_srv_add(struct kf_proxy_srv *srv, int fd, const struct sockaddr *addr,
                     unsigned addrlen, const struct sockaddr *local, unsigned locallen,
                     const char *sni);

#endif

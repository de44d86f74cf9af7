/* proxy_internal — the pieces of the test Kong's proxy behind proxy.h, shared by
 *   proxy_listen.c  Kong's proxy_listen syntax (kong/conf_loader/listeners.lua)
 *   dataplane.c     the configuration snapshot (schema defaults, router, balancers, plugins,
 *                   certificates) and Kong's runloop over it (kong/runloop/handler.lua)
 *   proxy.c         the listeners: libmicrohttpd for HTTP, the snapshot swap
 *   proxy_tls.c     TLS termination (OpenSSL) in front of libmicrohttpd
 *   stream.c        the stream listeners (stream_listen): tcp, udp, ssl (termination and
 *                   passthrough), answered with one JSON line telling the route and target
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
    bool udp;          /* stream_listen only */
    bool so_keepalive; /* any so_keepalive= flag */
    int backlog;       /* -1 = not given */
};

/* Parses a proxy_listen value as Kong's conf_loader does. Returns 0 with *out (caller frees; n
 * may be 0 for "off") and, when json is not NULL, *json = {"proxy_listen": [...],
 * "proxy_listeners": [...]} (new reference); KGC_EINVAL with Kong's message in err; KGC_ENOMEM. */
int kf_listen_parse(const char *value, struct kf_listen **out, size_t *n, json_object **json,
                    char *err, size_t errsz);

/* The same for stream_listen (the stream subsystem's flags, listeners.lua:20-22): *json =
 * {"stream_listen": [...], "stream_listeners": [...]}. Also KGC_EINVAL ("\"ssl\" parameter is
 * incompatible with \"udp\"") for a udp entry with backlog, ssl, so_keepalive or
 * proxy_protocol, which nginx refuses (Kong does not start). */
int kf_stream_listen_parse(const char *value, struct kf_listen **out, size_t *n, json_object **json,
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

/* One stream connection (or UDP datagram) at the point Kong's preread phase runs the router. */
struct kf_stream_req {
    bool udp;           /* arrived on a udp listener */
    bool preread_block; /* the ssl listener's first layer (nginx_kong_stream.lua:146-178) */
    const char *sni;    /* the ClientHello's server_name (preread or terminated), or NULL */
    const char *src_ip;
    unsigned src_port;
    const char *dst_ip; /* the listener's address (proxy_protocol_server_addr in layer two) */
    unsigned dst_port;  /* the listener's port */
};

enum kf_stream_outcome {
    KF_STREAM_NO_ROUTE = 0, /* "no Route found with those values": closed (also no config) */
    KF_STREAM_TERMINATE,    /* preread block: a tls route, terminate TLS then route again */
    KF_STREAM_PASSTHROUGH,  /* preread block: a tls_passthrough route */
    KF_STREAM_UNEXPECTED,   /* preread block: "unexpected protocols in matched Route": closed */
    KF_STREAM_NO_SERVICE,   /* "no Service found with those values": closed */
    KF_STREAM_NO_PEER,      /* the balancer found no target: closed */
    KF_STREAM_PROXY,        /* answer = {"namespace", "kong": {route, service, upstream, target}} */
};

struct kf_stream_res {
    enum kf_stream_outcome outcome;
    char scheme[8];      /* the protocol the router matched with: tcp | tls | udp */
    json_object *answer; /* KF_STREAM_PROXY: new reference, the caller's */
};

/* Kong's stream runloop (preread before/after) for one connection or datagram on snapshot dp
 * (NULL = no configuration: no route). Logs each outcome other than PROXY with Kong's message.
 * Returns 0 with res filled, or KGC_ENOMEM. */
int kf_dp_stream(const struct kf_dp *dp, const struct kf_stream_req *q, struct kf_stream_res *res);

/* ---- stream.c ----------------------------------------------------------------------------- */

/* kf_tls_hello_sni() verdicts. */
enum {
    KF_HELLO_NEED_MORE = 0, /* *need = how many bytes from the start the parser needs */
    KF_HELLO_DONE = 1,      /* a ClientHello: sni = its host_name, or "" when it has none */
    KF_HELLO_NOT_TLS = 2,   /* not a TLS handshake / malformed / over 16 KiB: no SNI (nginx's
                               ssl_preread declines and the router sees no SNI) */
};

/* nginx ssl_preread's view of the first bytes a client sent on an ssl stream listener: the
 * server_name of its ClientHello (RFC 8446 4.1.2, RFC 6066 3; the first host_name entry; a name
 * with a NUL byte or longer than snisz - 1 counts as malformed). Handshake fragments over several
 * records are joined, up to 16 KiB. Reads only buf[0..len); any input is safe. */
int kf_tls_hello_sni(const unsigned char *buf, size_t len, char *sni, size_t snisz, size_t *need);

struct kf_stream;

struct kf_stream_options {
    const char *stream_listen; /* Kong's stream_listen value */
    const char *backend_cert;  /* PEM file for the passthrough backend, or NULL (generated) */
    unsigned idle_ms;          /* 0 = 10000 */
    unsigned max_conns;        /* 0 = 256 */
};

/* Binds every stream listener and serves them with proxy p's snapshots (kf_proxy_snapshot) and
 * default TLS context (required when a listener has ssl). 0 and *out, or a negative code. */
int kf_stream_start(struct kf_proxy *p, const struct kf_stream_options *o, void *default_tls,
                    struct kf_stream **out, char *err, size_t errsz);
size_t kf_stream_count(const struct kf_stream *s);
/* The i-th listener as parsed and its bound port, or NULL. */
const struct kf_listen *kf_stream_listener(const struct kf_stream *s, size_t i, unsigned *port);
/* Stops accepting, closes every connection, waits for the threads. NULL is a no-op. */
void kf_stream_stop(struct kf_stream *s);

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

/* The TLS-passthrough stand-in backend's context (stream.c): the certificate and key of pem_file
 * (PEM, chain allowed), or when NULL a self-signed ECDSA P-256 certificate made like Kong's
 * default one with CN=kgc-test-kong-stream-backend. NULL with err. */
void *kf_tls_backend_ctx(const char *pem_file, char *err, size_t errsz);

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

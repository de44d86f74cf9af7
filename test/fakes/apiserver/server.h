/* server — the HTTP(S) front of the test API server (libmicrohttpd, one thread per connection):
 * authentication, fault injection, the /_test/ endpoints, routing of Kubernetes paths to the
 * store, chunked watch streams and the audit log. */
#ifndef FAS_SERVER_H
#define FAS_SERVER_H

#include "kgc/err.h"
#include "objstore.h"

#include <stddef.h>

struct fas_server_opts {
    const char *host;         /* address to bind ("127.0.0.1") */
    int port;                 /* 0: any free port */
    const char *tls_cert;     /* PEM text (not a path); NULL: plain HTTP */
    const char *tls_key;      /* PEM text */
    const char *token;        /* bearer token required on every request but /healthz etc.; NULL:
                                 none */
    const char *audit_path;   /* --audit file, NULL: none */
    size_t history;           /* watch history size (0: default) */
    unsigned bookmark_ms;     /* idle bookmark interval (0: default 1000) */
    size_t max_body;          /* request body cap in bytes (0: 32 MiB) */
    int namespace_cleanup_ms; /* see struct fas_store_opts (< 0: default) */
};

struct fas_server;

/* Starts serving. Returns 0 and *out, or a negative code with err filled. */
int fas_server_start(const struct fas_server_opts *opts, struct fas_server **out,
                     struct kgc_err *err);

/* The port actually bound. */
int fas_server_port(const struct fas_server *srv);

/* The store behind the server (for in-process tests and benches). */
struct fas_store *fas_server_store(struct fas_server *srv);

/* Ends every watch, stops the daemon (joining its threads) and frees everything. */
void fas_server_stop(struct fas_server *srv);

#endif

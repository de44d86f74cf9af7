/* k8s — a Kubernetes REST client over libcurl: connection settings (kubeconfig or in-cluster),
 * get / list (paginated) / watch (streaming) / create / update / patch / delete, Status errors,
 * per-call timeouts and a client-side QPS/burst limit. Also the pure pieces it is built from,
 * public so they can be unit- and fuzz-tested: the watch stream splitter and the token bucket.
 *
 * Thread-safe: one client is shared by every thread. Each call borrows a curl easy handle from
 * the client's pool (so connections and TLS sessions are reused; TLS sessions and DNS are also
 * shared between handles) and runs it on its own multi handle, so a cancel token can interrupt
 * any call, a watch included, at once. */
#ifndef KGC_K8S_H
#define KGC_K8S_H

#include "kgc/clock.h"
#include "kgc/err.h"
#include "kgc/jsonscan.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- options ---------------------------------------------------------------------------------- */

struct kgc_k8s_options {
    const char *kubeconfig; /* --kubeconfig FILE; NULL: in-cluster, else $KUBECONFIG */
    const char *context;    /* kubeconfig context; NULL: current-context */
    double qps;             /* --apiserver-qps: sustained requests/s; <= 0 disables (0) */
    uint32_t burst;         /* --apiserver-burst: bucket size (100) */
    uint64_t timeout_ns;    /* --k8s-timeout: whole-call limit for every non-watch call (30 s) */
    uint64_t connect_timeout_ns;    /* TCP+TLS connect limit (10 s) */
    size_t watch_event_max_bytes;   /* --watch-event-max-bytes: one watch event line (8 MiB) */
    size_t response_max_bytes;      /* one non-watch response body, e.g. a list page (256 MiB) */
    uint64_t watch_idle_timeout_ns; /* a watch receiving nothing this long is ended (150 s) */
    uint64_t token_recheck_ns;      /* how often a token file's mtime is checked (1 s) */
    const char *user_agent;         /* NULL: "kgc/<version>" */
};

/* Fills o with the defaults above. */
void kgc_k8s_options_default(struct kgc_k8s_options *o);

/* --- connection settings ---------------------------------------------------------------------- */

/* Where and how to connect. Strings and blobs are owned by the struct. */
struct kgc_k8s_config {
    char *server;           /* "https://host:port" (no trailing slash) */
    char *ca_file;          /* CA bundle path, or NULL */
    unsigned char *ca_data; /* CA PEM bytes (decoded), or NULL */
    size_t ca_data_len;
    bool insecure;          /* insecure-skip-tls-verify */
    char *token;            /* static bearer token, or NULL */
    char *token_file;       /* bearer token re-read when the file changes (rotation), or NULL */
    char *client_cert_file; /* client certificate (PEM) path, or NULL */
    unsigned char *client_cert_data;
    size_t client_cert_data_len;
    char *client_key_file; /* client key (PEM) path, or NULL */
    unsigned char *client_key_data;
    size_t client_key_data_len;
    char *namespace; /* the context's or the pod's namespace ("default" when unknown) */
    char *source;    /* for logs: "kubeconfig FILE (context C)" or "in-cluster" */
};

/* Loads the settings: opts->kubeconfig when set; else in-cluster when KUBERNETES_SERVICE_HOST is
 * set; else $KUBECONFIG (its first path). The error says what was tried. Free with
 * kgc_k8s_config_free(). Returns 0, KGC_EUSAGE (nothing usable), KGC_EPARSE, KGC_ENOENT. */
int kgc_k8s_config_load(const struct kgc_k8s_options *opts, struct kgc_k8s_config **out,
                        struct kgc_err *err);

/* Reads a kubeconfig file (YAML): the named context (NULL: current-context), its cluster
 * (server, certificate-authority[-data], insecure-skip-tls-verify) and user (token, tokenFile,
 * client-certificate[-data], client-key[-data]). Relative paths are relative to the file's
 * directory. exec and auth-provider users are refused with a clear error. */
int kgc_k8s_config_from_kubeconfig(const char *path, const char *context,
                                   struct kgc_k8s_config **out, struct kgc_err *err);

/* The same from memory; base_dir resolves relative paths (NULL: the current directory). */
int kgc_k8s_config_from_kubeconfig_mem(const char *yaml, size_t len, const char *base_dir,
                                       const char *context, struct kgc_k8s_config **out,
                                       struct kgc_err *err);

/* In-cluster settings: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, the token file
 * and ca.crt in sa_dir (NULL: /var/run/secrets/kubernetes.io/serviceaccount), the namespace
 * from $POD_NAMESPACE, else sa_dir/namespace, else "default". */
int kgc_k8s_config_in_cluster(const char *sa_dir, struct kgc_k8s_config **out, struct kgc_err *err);

void kgc_k8s_config_free(struct kgc_k8s_config *cfg);

/* --- token bucket (QPS/burst) ----------------------------------------------------------------- */

struct kgc_k8s_bucket {
    double qps;       /* tokens per second; <= 0: unlimited */
    double burst;     /* capacity */
    double tokens;    /* available now (may go negative: reservations in the future) */
    uint64_t last_ns; /* when tokens was computed */
};

/* A full bucket at now_ns. */
void kgc_k8s_bucket_init(struct kgc_k8s_bucket *b, double qps, uint32_t burst, uint64_t now_ns);

/* Reserves one token at now_ns; returns how long the caller must wait before using it (0 when
 * one was available). Not thread-safe: the client locks. */
uint64_t kgc_k8s_bucket_reserve(struct kgc_k8s_bucket *b, uint64_t now_ns);

/* --- watch stream ----------------------------------------------------------------------------- */

/* Splits a watch response body into lines (events), whatever the chunking, with a cap on one
 * line. Pure: no I/O, no JSON. */
struct kgc_k8s_watch_stream {
    char *buf; /* the incomplete line so far */
    size_t len;
    size_t cap;
    size_t max_line; /* a longer line is an error */
    bool failed;     /* a line was too long: every later feed fails */
};

/* Called once per complete, non-blank line (without the newline; a trailing \r is dropped). The
 * line is valid during the call. A non-zero return stops the feed and is returned by it. */
typedef int (*kgc_k8s_line_fn)(const char *line, size_t len, void *ctx);

void kgc_k8s_watch_stream_init(struct kgc_k8s_watch_stream *ws, size_t max_line);
void kgc_k8s_watch_stream_free(struct kgc_k8s_watch_stream *ws);

/* Feeds n bytes. Returns 0, the callback's non-zero value, KGC_E2BIG (a line exceeds max_line;
 * the stream is failed) or KGC_ENOMEM. */
int kgc_k8s_watch_stream_feed(struct kgc_k8s_watch_stream *ws, const char *data, size_t n,
                              kgc_k8s_line_fn fn, void *ctx);

/* Bytes of an incomplete line still buffered (a stream that ends with some is truncated). */
size_t kgc_k8s_watch_stream_pending(const struct kgc_k8s_watch_stream *ws);

enum kgc_k8s_event_type {
    KGC_K8S_ADDED = 1,
    KGC_K8S_MODIFIED,
    KGC_K8S_DELETED,
    KGC_K8S_BOOKMARK,
    KGC_K8S_ERROR,
};

/* A decoded Kubernetes Status (errors). */
struct kgc_k8s_status {
    int code;        /* HTTP code from the Status (or the response), 0 if none */
    char reason[64]; /* "NotFound", "Expired", "Conflict", ... or "" */
    char message[256];
};

/* One decoded watch event. */
struct kgc_k8s_event {
    enum kgc_k8s_event_type type;
    const struct kgc_jsonscan_tape *tape; /* the event line's values (kgc/jsonscan.h; borrowed:
                                        valid during the callback) */
    uint32_t object;                      /* the event's object: its node on tape (0: none) */
    const char *resource_version; /* object.metadata.resourceVersion (in rv_buf), or NULL (also
                                     when longer than rv_buf holds) */
    char rv_buf[128];
    struct kgc_k8s_status status; /* ERROR events: the decoded Status */
};

/* Parses one event line into ev, recording its values on tape t (whose earlier contents are
 * dropped and memory reused; the caller frees it with kgc_jsonscan_tape_free), which ev->tape then
 * names. The line is only read, and must outlive ev. Returns 0, KGC_EPARSE (bad JSON, unknown
 * type, missing object), KGC_E2BIG (over KGC_K8S_OBJECT_MAX_* and the envelope) or KGC_ENOMEM. */
int kgc_k8s_event_parse(const char *line, size_t len, struct kgc_jsonscan_tape *t,
                        struct kgc_k8s_event *ev, struct kgc_err *err);

/* Decodes a Status object (kind "Status") into st; false when j is not a Status. */
bool kgc_k8s_status_decode(json_object *j, struct kgc_k8s_status *st);

/* The kgc error code for an HTTP status and Status reason: 401/403 KGC_EACCES, 404 KGC_ENOENT,
 * 409 KGC_EEXIST (AlreadyExists) or KGC_ECONFLICT, 410 KGC_EGONE, 400/422 KGC_EINVAL, 408/504
 * KGC_ETIMEDOUT, anything else KGC_EHTTP. */
int kgc_k8s_code_for_status(int http_code, const char *reason);

/* True for results worth retrying later (timeouts, connection errors, 429, 5xx). */
bool kgc_k8s_retriable(int rc, const struct kgc_k8s_status *st);

/* --- cancel token ----------------------------------------------------------------------------- */

/* Cancels a running call (a watch in particular) from another thread, at once. */
struct kgc_k8s_cancel;

struct kgc_k8s_cancel *kgc_k8s_cancel_new(void);
void kgc_k8s_cancel_free(struct kgc_k8s_cancel *c);
/* Makes the call running with this token (and every later one) return KGC_ESHUTDOWN. */
void kgc_k8s_cancel_fire(struct kgc_k8s_cancel *c);
bool kgc_k8s_cancel_fired(struct kgc_k8s_cancel *c);

/* --- client ----------------------------------------------------------------------------------- */

struct kgc_k8s_client;

/* A client for cfg (copied) with opts (copied; NULL: defaults) and clock (NULL: real; used by
 * the rate limiter). Returns 0, KGC_EINVAL (bad settings) or KGC_ENOMEM. */
int kgc_k8s_client_new(const struct kgc_k8s_config *cfg, const struct kgc_k8s_options *opts,
                       struct kgc_k8s_client **out, struct kgc_err *err);
void kgc_k8s_client_free(struct kgc_k8s_client *c);

/* The server URL the client talks to. */
const char *kgc_k8s_client_server(const struct kgc_k8s_client *c);

/* Counters for metrics. */
struct kgc_k8s_client_stats {
    uint64_t requests;         /* calls started (watches included) */
    uint64_t errors;           /* calls that failed (transport or HTTP error) */
    uint64_t throttled;        /* calls that waited for the rate limiter */
    uint64_t throttle_wait_ns; /* total time spent waiting for it */
};
void kgc_k8s_client_stats(struct kgc_k8s_client *c, struct kgc_k8s_client_stats *out);

/* A resource type as the URL names it. */
struct kgc_k8s_resource {
    const char *group;   /* "" for the core group */
    const char *version; /* "v1" */
    const char *plural;  /* "httproutes" */
    bool namespaced;
};

/* Writes the path /api/v1[/namespaces/NS]/PLURAL[/NAME[/SUB]] or /apis/G/V/... into buf. ns is
 * ignored for cluster-scoped types; NULL ns on a namespaced type means all namespaces (lists).
 * Returns 0, KGC_EINVAL (a name with '/', '?', '#', '%' or spaces) or KGC_ERANGE (too long). */
int kgc_k8s_path(char *buf, size_t size, const struct kgc_k8s_resource *r, const char *ns,
                 const char *name, const char *subresource);

/* A raw response. */
struct kgc_k8s_response {
    int http_code;
    char *body; /* malloc'd, NUL-terminated; the caller frees it */
    size_t len;
};

/* One request: method, path (+ "?" + query when query is set), optional body. On an HTTP error
 * (>= 400) returns the mapped code, fills st (may be NULL) from the Status and still returns
 * the body in resp. Returns 0, KGC_ETIMEDOUT, KGC_ECONNECT, KGC_E2BIG (body over the cap),
 * KGC_ESHUTDOWN (cancelled), or an HTTP-mapped code. */
int kgc_k8s_request(struct kgc_k8s_client *c, const char *method, const char *path,
                    const char *query, const char *content_type, const char *body, size_t body_len,
                    struct kgc_k8s_cancel *cancel, struct kgc_k8s_response *resp,
                    struct kgc_k8s_status *st, struct kgc_err *err);

/* GET path → *out (a new json-c tree the caller puts). */
int kgc_k8s_get(struct kgc_k8s_client *c, const char *path, json_object **out,
                struct kgc_k8s_status *st, struct kgc_err *err);

/* POST body to the collection path → *out (the created object; may be NULL to discard). */
int kgc_k8s_create(struct kgc_k8s_client *c, const char *collection_path, json_object *body,
                   json_object **out, struct kgc_k8s_status *st, struct kgc_err *err);

/* PUT the full object (with metadata.resourceVersion) → *out (may be NULL). */
int kgc_k8s_update(struct kgc_k8s_client *c, const char *path, json_object *body, json_object **out,
                   struct kgc_k8s_status *st, struct kgc_err *err);

/* PATCH with a JSON merge patch (RFC 7386) → *out (may be NULL). */
int kgc_k8s_merge_patch(struct kgc_k8s_client *c, const char *path, json_object *patch,
                        json_object **out, struct kgc_k8s_status *st, struct kgc_err *err);

/* PATCH path + "/status" with a JSON merge patch: a status write. */
int kgc_k8s_patch_status(struct kgc_k8s_client *c, const char *path, json_object *patch,
                         json_object **out, struct kgc_k8s_status *st, struct kgc_err *err);

/* kgc_k8s_patch_status without building the answer: rv (rv_size bytes) gets the answered
 * object's metadata.resourceVersion, "" when the answer has none (or it does not fit). Scans the
 * answer's first members only (no tree is built): a status writer learns which watch event is its
 * own write coming back. */
int kgc_k8s_patch_status_rv(struct kgc_k8s_client *c, const char *path, json_object *patch,
                            char *rv, size_t rv_size, struct kgc_k8s_status *st,
                            struct kgc_err *err);

/* The metadata.resourceVersion of the object JSON text[0, len) into rv (rv_size bytes, "" when
 * absent, escaped, not a string, too long or the text is not an object). Nothing is allocated. */
void kgc_k8s_object_rv(const char *text, size_t len, char *rv, size_t rv_size);

/* DELETE path (propagationPolicy Background). */
int kgc_k8s_delete(struct kgc_k8s_client *c, const char *path, struct kgc_k8s_status *st,
                   struct kgc_err *err);

/* The JSON one object may hold, in values (kgc/jsonscan.h): every watch event and list item is
 * recorded on a tape within these (20 bytes per value or key: at most ~12 MB for a hostile object,
 * whatever its bytes), and every other answer body is scanned against them before json-c builds
 * it (at most ~60 MB: json-c spends ~0.8 KB per object or array, ~80 bytes per scalar). An object
 * fits in etcd's request limit (1.5 MiB by default, etcd embed/config.go DefaultMaxRequestBytes);
 * the biggest kgc reads, an HTTPRoute at the Gateway API's maxima (16 rules, at most 128 matches in
 * all, 16 headers and 16 query params each) with its managedFields, is ~10k objects and arrays.
 * A bigger one fails its list or watch with KGC_E2BIG naming the limit. */
#define KGC_K8S_OBJECT_MAX_VALUES     300000
#define KGC_K8S_OBJECT_MAX_CONTAINERS 60000

/* List options. */
struct kgc_k8s_list_opts {
    uint32_t limit;               /* page size (limit=); 0: no pagination */
    const char *label_selector;   /* or NULL */
    const char *field_selector;   /* or NULL */
    const char *resource_version; /* or NULL: the most recent (a consistent read) */
    uint32_t max_pages;           /* bound on pages (0: 100000) */
};

/* Called for every item of every page with the item's values (node 0 is the item; the tape and
 * the page's text are borrowed: valid during the call). A non-zero return stops the list and is
 * returned. */
typedef int (*kgc_k8s_item_fn)(const struct kgc_jsonscan_tape *item, void *ctx);

/* One list page as kgc_k8s_list decodes it (exposed for tests and fuzzing): the whole page's
 * syntax is checked first (nothing reaches fn from a bad page), then metadata.continue goes to
 * *cont (NULL when absent or empty) and metadata.resourceVersion to *rv (replaced when present),
 * both malloc'd, and fn gets every item, each built alone within KGC_K8S_OBJECT_MAX_*. path names
 * the collection in messages. Returns 0, fn's value, KGC_EPARSE ("no items", bad JSON),
 * KGC_E2BIG (an item over the limits) or KGC_ENOMEM. */
int kgc_k8s_list_page_decode(const char *body, size_t len, const char *path, kgc_k8s_item_fn fn,
                             void *ctx, char **cont, char **rv, struct kgc_err *err);

/* Lists a collection page by page (limit/continue), calling fn per item; a page's items are built
 * one at a time (each within KGC_K8S_OBJECT_MAX_*), so one page's text and one item's tape are in
 * memory at a time. *list_rv (may be NULL) receives the list's resourceVersion (malloc'd).
 * An expired continue token returns KGC_EGONE (the caller restarts the list). */
int kgc_k8s_list(struct kgc_k8s_client *c, const char *collection_path,
                 const struct kgc_k8s_list_opts *opts, kgc_k8s_item_fn fn, void *ctx,
                 char **list_rv, struct kgc_k8s_cancel *cancel, struct kgc_k8s_status *st,
                 struct kgc_err *err);

/* Watch options. */
struct kgc_k8s_watch_opts {
    const char *resource_version; /* start after this version (NULL or "0": from now, with
                                     synthetic ADDED events for the current state) */
    bool allow_bookmarks;         /* allowWatchBookmarks=true */
    uint32_t timeout_seconds;     /* server-side timeoutSeconds (0: none) */
    const char *label_selector;
    const char *field_selector;
};

/* Called for every event; a non-zero return ends the watch and is returned by it. */
typedef int (*kgc_k8s_event_fn)(const struct kgc_k8s_event *ev, void *ctx);

/* Streams a watch, calling fn per event (ERROR events included: fn decides). Returns 0 when the
 * server ended the stream cleanly or it was idle for watch_idle_timeout (watch again from the
 * last resourceVersion), the callback's value, KGC_ESHUTDOWN (cancelled), KGC_E2BIG (an event
 * over watch_event_max_bytes), KGC_EPARSE (a bad event), KGC_EIO (the stream broke mid-way, or
 * ended inside an event), KGC_ECONNECT, or an HTTP-mapped code when the watch was refused. */
int kgc_k8s_watch(struct kgc_k8s_client *c, const char *collection_path,
                  const struct kgc_k8s_watch_opts *opts, kgc_k8s_event_fn fn, void *ctx,
                  struct kgc_k8s_cancel *cancel, struct kgc_k8s_status *st, struct kgc_err *err);

#endif

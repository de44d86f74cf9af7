/* audit — the --audit log: one JSON line per write request (create, update, patch, delete, on the
 * main resource or /status), written with one write(2) and so flushed at once:
 *   {"time":"2026-11-27T11:20:00.123456Z","verb":"update","path":"/apis/...","code":200,
 *    "subresource":"status","status":{...}}
 * status is the object's .status after a successful write, else the request body's .status (null
 * when there is none). Thread-safe. */
#ifndef FAS_AUDIT_H
#define FAS_AUDIT_H

#include <pthread.h>

struct fas_audit {
    int fd; /* -1: auditing off */
    pthread_mutex_t mu;
};

/* Opens (appends to, creating) path. Returns 0 or a negative errno. */
int fas_audit_open(struct fas_audit *a, const char *path);
void fas_audit_close(struct fas_audit *a);

/* Writes one line; status_json is JSON text or NULL. subresource may be NULL. */
void fas_audit_write(struct fas_audit *a, const char *verb, const char *path,
                     const char *subresource, int code, const char *status_json);

#endif

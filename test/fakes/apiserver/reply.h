/* reply — what a handled API request answers: an HTTP code and a JSON body, plus the Kubernetes
 * Status objects for every error, worded as the real API server words them. */
#ifndef FAS_REPLY_H
#define FAS_REPLY_H

#include <json-c/json.h>
#include <stddef.h>

/* One answer. All pointers are malloc'd and owned by the reply (fas_reply_free). */
struct fas_reply {
    int code;                 /* HTTP status code; 0 = not filled yet */
    char *body;               /* JSON text (NUL-terminated) */
    size_t len;               /* length of body */
    const char *content_type; /* static string; NULL means application/json */
    char *warning;            /* value of a Warning header, or NULL */
    char *audit_status; /* JSON of the object's .status after a write (for --audit), or NULL */
};

void fas_reply_init(struct fas_reply *r);
void fas_reply_free(struct fas_reply *r);

/* Replaces the body with a copy of text. Returns 0 or KGC_ENOMEM (then a 500 Status is set). */
int fas_reply_set(struct fas_reply *r, int code, const char *text, size_t len);
/* Takes ownership of body (malloc'd). */
void fas_reply_take(struct fas_reply *r, int code, char *body, size_t len);
/* Serialises o into the body (o is borrowed). */
int fas_reply_json(struct fas_reply *r, int code, json_object *o);

/* Optional fields of a failure Status's details. Strings borrowed; causes (a JSON array) is
 * borrowed too and copied in. */
struct fas_status_details {
    const char *name;
    const char *group;
    const char *kind;
    const char *uid;
    json_object *causes;
    int retry_after_seconds; /* > 0: details.retryAfterSeconds */
};

/* A failure Status: {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
 * "message":...,"reason":...,"details":...,"code":code}. reason NULL or "" is left out. */
void fas_reply_status(struct fas_reply *r, int code, const char *reason, const char *message,
                      const struct fas_status_details *d);

/* `plural.group` or `plural` for the core group, into buf. */
const char *fas_qualified_resource(char *buf, size_t size, const char *group, const char *plural);

/* The common failures. group "" is the core group; plural is the resource ("gateways"). */
void fas_reply_not_found(struct fas_reply *r, const char *group, const char *plural,
                         const char *name);
void fas_reply_already_exists(struct fas_reply *r, const char *group, const char *plural,
                              const char *name);
/* 409 Conflict: `Operation cannot be fulfilled on plural.group "name": why`. */
void fas_reply_conflict(struct fas_reply *r, const char *group, const char *plural,
                        const char *name, const char *why);
/* 422 Invalid: `Kind.group "name" is invalid: <field: message>[, ...]`; causes is a JSON array of
 * {reason, message, field} (borrowed). */
void fas_reply_invalid(struct fas_reply *r, const char *group, const char *kind, const char *name,
                       json_object *causes);
/* A one-cause 422. */
void fas_reply_invalid1(struct fas_reply *r, const char *group, const char *kind, const char *name,
                        const char *field, const char *cause_reason, const char *message);
/* 403 Forbidden: `plural.group "name" is forbidden: why`. */
void fas_reply_forbidden(struct fas_reply *r, const char *group, const char *plural,
                         const char *name, const char *why, json_object *causes);
void fas_reply_bad_request(struct fas_reply *r, const char *message);
void fas_reply_method_not_allowed(struct fas_reply *r);
void fas_reply_unsupported_media(struct fas_reply *r, const char *content_type);
void fas_reply_expired(struct fas_reply *r, const char *message);
void fas_reply_unauthorized(struct fas_reply *r);
void fas_reply_internal(struct fas_reply *r, const char *message);
/* The generic 404 for a path that names no resource. */
void fas_reply_no_route(struct fas_reply *r);

/* The Status reason the real server uses for an HTTP code ("Conflict", "TooManyRequests", ...). */
const char *fas_reason_for_code(int code);

/* Appends one {reason, message, field} cause to the array causes. */
void fas_cause_add(json_object *causes, const char *reason, const char *message, const char *field);

#endif

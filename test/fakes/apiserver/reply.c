#include "reply.h"

#include "jsonutil.h"
#include "kgc/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char oom_status[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"out of memory\",\"reason\":\"InternalError\",\"code\":500}";

void fas_reply_init(struct fas_reply *r)
{
    memset(r, 0, sizeof(*r));
}

void fas_reply_free(struct fas_reply *r)
{
    free(r->body);
    free(r->warning);
    free(r->audit_status);
    fas_reply_init(r);
}

static void reply_oom(struct fas_reply *r)
{
    free(r->body);
    r->body = strdup(oom_status);
    r->len = r->body ? strlen(r->body) : 0;
    r->code = 500;
    r->content_type = NULL;
}

int fas_reply_set(struct fas_reply *r, int code, const char *text, size_t len)
{
    char *p = malloc(len + 1);
    if (!p) {
        reply_oom(r);
        return KGC_ENOMEM;
    }
    memcpy(p, text, len);
    p[len] = '\0';
    fas_reply_take(r, code, p, len);
    return 0;
}

void fas_reply_take(struct fas_reply *r, int code, char *body, size_t len)
{
    free(r->body);
    r->body = body;
    r->len = len;
    r->code = code;
    if (!body)
        reply_oom(r);
}

int fas_reply_json(struct fas_reply *r, int code, json_object *o)
{
    size_t n = 0;
    const char *t = fas_json_text(o, &n);
    if (!t) {
        reply_oom(r);
        return KGC_ENOMEM;
    }
    return fas_reply_set(r, code, t, n);
}

const char *fas_reason_for_code(int code)
{
    switch (code) {
    case 400:
        return "BadRequest";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "NotFound";
    case 405:
        return "MethodNotAllowed";
    case 406:
        return "NotAcceptable";
    case 409:
        return "Conflict";
    case 410:
        return "Expired";
    case 413:
        return "RequestEntityTooLarge";
    case 415:
        return "UnsupportedMediaType";
    case 422:
        return "Invalid";
    case 429:
        return "TooManyRequests";
    case 500:
        return "InternalError";
    case 503:
        return "ServiceUnavailable";
    case 504:
        return "Timeout";
    default:
        return code >= 500 ? "InternalError" : "BadRequest";
    }
}

void fas_cause_add(json_object *causes, const char *reason, const char *message, const char *field)
{
    json_object *c = json_object_new_object();
    if (!c)
        return;
    if (reason)
        fas_json_set_str(c, "reason", reason);
    if (message)
        fas_json_set_str(c, "message", message);
    if (field)
        fas_json_set_str(c, "field", field);
    if (json_object_array_add(causes, c))
        json_object_put(c);
}

void fas_reply_status(struct fas_reply *r, int code, const char *reason, const char *message,
                      const struct fas_status_details *d)
{
    json_object *st = json_object_new_object();
    if (!st) {
        reply_oom(r);
        return;
    }
    fas_json_set_str(st, "kind", "Status");
    fas_json_set_str(st, "apiVersion", "v1");
    json_object_object_add(st, "metadata", json_object_new_object());
    fas_json_set_str(st, "status", "Failure");
    if (message)
        fas_json_set_str(st, "message", message);
    if (reason && reason[0])
        fas_json_set_str(st, "reason", reason);
    if (d) {
        json_object *det = json_object_new_object();
        if (det) {
            if (d->name)
                fas_json_set_str(det, "name", d->name);
            if (d->group && d->group[0])
                fas_json_set_str(det, "group", d->group);
            if (d->kind)
                fas_json_set_str(det, "kind", d->kind);
            if (d->uid)
                fas_json_set_str(det, "uid", d->uid);
            if (d->causes && json_object_array_length(d->causes) > 0)
                json_object_object_add(det, "causes", fas_json_copy(d->causes));
            if (d->retry_after_seconds > 0)
                fas_json_set_int(det, "retryAfterSeconds", d->retry_after_seconds);
            json_object_object_add(st, "details", det);
        }
    }
    fas_json_set_int(st, "code", code);
    fas_reply_json(r, code, st);
    r->content_type = NULL;
    json_object_put(st);
}

const char *fas_qualified_resource(char *buf, size_t size, const char *group, const char *plural)
{
    if (group && group[0])
        snprintf(buf, size, "%s.%s", plural, group);
    else
        snprintf(buf, size, "%s", plural);
    return buf;
}

void fas_reply_not_found(struct fas_reply *r, const char *group, const char *plural,
                         const char *name)
{
    char qr[512], msg[1024];
    fas_qualified_resource(qr, sizeof(qr), group, plural);
    snprintf(msg, sizeof(msg), "%s \"%s\" not found", qr, name ? name : "");
    struct fas_status_details d = {.name = name, .group = group, .kind = plural};
    fas_reply_status(r, 404, "NotFound", msg, &d);
}

void fas_reply_already_exists(struct fas_reply *r, const char *group, const char *plural,
                              const char *name)
{
    char qr[512], msg[1024];
    fas_qualified_resource(qr, sizeof(qr), group, plural);
    snprintf(msg, sizeof(msg), "%s \"%s\" already exists", qr, name ? name : "");
    struct fas_status_details d = {.name = name, .group = group, .kind = plural};
    fas_reply_status(r, 409, "AlreadyExists", msg, &d);
}

void fas_reply_conflict(struct fas_reply *r, const char *group, const char *plural,
                        const char *name, const char *why)
{
    char qr[512], msg[1536];
    fas_qualified_resource(qr, sizeof(qr), group, plural);
    snprintf(msg, sizeof(msg), "Operation cannot be fulfilled on %s \"%s\": %s", qr,
             name ? name : "", why);
    struct fas_status_details d = {.name = name, .group = group, .kind = plural};
    fas_reply_status(r, 409, "Conflict", msg, &d);
}

void fas_reply_invalid(struct fas_reply *r, const char *group, const char *kind, const char *name,
                       json_object *causes)
{
    struct fas_buf b;
    fas_buf_init(&b);
    if (group && group[0])
        fas_buf_printf(&b, "%s.%s \"%s\" is invalid: ", kind, group, name ? name : "");
    else
        fas_buf_printf(&b, "%s \"%s\" is invalid: ", kind, name ? name : "");
    size_t n = causes ? json_object_array_length(causes) : 0;
    if (n > 1)
        fas_buf_puts(&b, "[");
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(causes, i);
        const char *f = fas_json_str(c, "field");
        const char *m = fas_json_str(c, "message");
        if (i)
            fas_buf_puts(&b, ", ");
        if (f && f[0])
            fas_buf_printf(&b, "%s: ", f);
        fas_buf_puts(&b, m ? m : "");
    }
    if (n > 1)
        fas_buf_puts(&b, "]");
    struct fas_status_details d = {.name = name, .group = group, .kind = kind, .causes = causes};
    fas_reply_status(r, 422, "Invalid", b.oom ? "invalid" : b.data, &d);
    fas_buf_free(&b);
}

void fas_reply_invalid1(struct fas_reply *r, const char *group, const char *kind, const char *name,
                        const char *field, const char *cause_reason, const char *message)
{
    json_object *causes = json_object_new_array();
    if (!causes) {
        reply_oom(r);
        return;
    }
    fas_cause_add(causes, cause_reason, message, field);
    fas_reply_invalid(r, group, kind, name, causes);
    json_object_put(causes);
}

void fas_reply_forbidden(struct fas_reply *r, const char *group, const char *plural,
                         const char *name, const char *why, json_object *causes)
{
    char qr[512], msg[1536];
    fas_qualified_resource(qr, sizeof(qr), group, plural);
    snprintf(msg, sizeof(msg), "%s \"%s\" is forbidden: %s", qr, name ? name : "", why);
    struct fas_status_details d = {.name = name, .group = group, .kind = plural, .causes = causes};
    fas_reply_status(r, 403, "Forbidden", msg, &d);
}

void fas_reply_bad_request(struct fas_reply *r, const char *message)
{
    fas_reply_status(r, 400, "BadRequest", message, NULL);
}

void fas_reply_method_not_allowed(struct fas_reply *r)
{
    fas_reply_status(r, 405, "MethodNotAllowed",
                     "the server does not allow this method on the requested resource", NULL);
}

void fas_reply_unsupported_media(struct fas_reply *r, const char *content_type)
{
    char msg[512];
    snprintf(msg, sizeof(msg),
             "the body of the request was in an unknown format - accepted media "
             "types include: application/json-patch+json, application/merge-patch+json, "
             "application/apply-patch+yaml");
    (void)content_type;
    fas_reply_status(r, 415, "UnsupportedMediaType", msg, NULL);
}

void fas_reply_expired(struct fas_reply *r, const char *message)
{
    fas_reply_status(r, 410, "Expired", message, NULL);
}

void fas_reply_unauthorized(struct fas_reply *r)
{
    fas_reply_status(r, 401, "Unauthorized", "Unauthorized", NULL);
}

void fas_reply_internal(struct fas_reply *r, const char *message)
{
    char msg[1024];
    snprintf(msg, sizeof(msg), "Internal error occurred: %s", message);
    struct fas_status_details d = {0};
    json_object *causes = json_object_new_array();
    if (causes)
        fas_cause_add(causes, NULL, message, NULL);
    d.causes = causes;
    fas_reply_status(r, 500, "InternalError", msg, &d);
    json_object_put(causes);
}

void fas_reply_no_route(struct fas_reply *r)
{
    struct fas_status_details d = {0};
    fas_reply_status(r, 404, "NotFound", "the server could not find the requested resource", &d);
}

/* Request routing: method and path → an answer from the provider. No sockets here, so every path
 * shape is unit-testable. */
#include "kgc/server.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_TYPE        "application/json"
#define PATH_MAX_BYTES   1024 /* longer paths are not ours: 404 */
#define DEFAULT_MAX_BODY ((size_t)256 << 20)

void kgc_server_response_free(struct kgc_server_response *r)
{
    if (!r)
        return;
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* Serialises j (consumed) into out with status. Returns 0 or KGC_ENOMEM. */
static int answer_json(struct kgc_server_response *out, unsigned status, json_object *j,
                       bool pretty)
{
    if (!j)
        return KGC_ENOMEM;
    int flags =
        JSON_C_TO_STRING_NOSLASHESCAPE |
        (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
    size_t n = 0;
    const char *s = json_object_to_json_string_length(j, flags, &n);
    char *body = s ? malloc(n + 2) : NULL;
    if (!body) {
        json_object_put(j);
        return KGC_ENOMEM;
    }
    memcpy(body, s, n);
    body[n++] = '\n';
    body[n] = '\0';
    json_object_put(j);
    out->status = status;
    out->content_type = JSON_TYPE;
    out->body = body;
    out->len = n;
    return 0;
}

/* {"error": msg, "path": path} (+ "method" when given). */
static int answer_error(struct kgc_server_response *out, unsigned status, const char *msg,
                        const char *path, const char *method, bool pretty)
{
    json_object *j = json_object_new_object();
    if (!j)
        return KGC_ENOMEM;
    json_object_object_add(j, "error", json_object_new_string(msg));
    if (method)
        json_object_object_add(j, "method", json_object_new_string(method));
    json_object_object_add(j, "path", json_object_new_string(path));
    return answer_json(out, status, j, pretty);
}

static int not_found(struct kgc_server_response *out, const char *path, bool pretty)
{
    return answer_error(out, 404, "not found", path, NULL, pretty);
}

/* Takes a provider's answer: rc 0 with body, or an error mapped to 404/500. */
static int answer_body(struct kgc_server_response *out, int rc, char *body, size_t len,
                       const char *content_type, const char *path, size_t max_body, bool pretty)
{
    if (rc == KGC_ENOENT || rc == KGC_EINVAL) {
        free(body);
        return not_found(out, path, pretty);
    }
    if (rc == 0 && !body)
        rc = KGC_ENOMEM;
    if (rc != 0) {
        free(body);
        return answer_error(out, 500, kgc_err_str(rc), path, NULL, pretty);
    }
    if (len > max_body) {
        free(body);
        return answer_error(out, 500, "answer larger than the server's cap", path, NULL, pretty);
    }
    out->status = 200;
    out->content_type = content_type;
    out->body = body;
    out->len = len;
    return 0;
}

static int route_ready(const struct kgc_server_provider *p, struct kgc_server_response *out,
                       bool pretty)
{
    char reason[512] = "";
    bool ready = p->ready ? p->ready(p->ctx, reason, sizeof(reason)) : true;
    json_object *j = json_object_new_object();
    if (!j)
        return KGC_ENOMEM;
    json_object_object_add(j, "status", json_object_new_string(ready ? "ready" : "not ready"));
    if (!ready)
        json_object_object_add(j, "reason", json_object_new_string(reason));
    return answer_json(out, ready ? 200 : 503, j, pretty);
}

static int route_config(const struct kgc_server_provider *p, struct kgc_server_response *out,
                        const char *path, size_t max_body, bool pretty)
{
    if (p->config) {
        char *body = NULL;
        size_t len = 0;
        int rc = p->config(p->ctx, pretty, &body, &len);
        return answer_body(out, rc, body, len, JSON_TYPE, path, max_body, pretty);
    }
    json_object *j = json_object_new_object();
    if (!j)
        return KGC_ENOMEM;
    json_object_object_add(j, "pushed", json_object_new_boolean(false));
    json_object_object_add(
        j, "reason", json_object_new_string("the config syncer is not running in this build"));
    return answer_json(out, 200, j, pretty);
}

/* The kind whose plural is s exactly (the URL form), or NULL. */
static const struct kgc_api_kind_info *kind_by_plural(const char *s)
{
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        const struct kgc_api_kind_info *info = kgc_api_kind_info((enum kgc_api_kind)k);
        if (info && strcmp(info->plural, s) == 0)
            return info;
    }
    return NULL;
}

/* rest: what follows "/debug/cache" ("" or "/kind[/a[/b]]"), in a writable copy. */
static int route_cache(const struct kgc_server_provider *p, struct kgc_server_response *out,
                       char *rest, const char *path, size_t max_body, bool pretty)
{
    if (!p->cache)
        return not_found(out, path, pretty);
    char *seg[4] = {NULL};
    size_t n = 0;
    if (*rest) {
        char *s = rest + 1; /* skip the '/' */
        for (;;) {
            if (n == 4)
                return not_found(out, path, pretty);
            char *slash = strchr(s, '/');
            if (slash)
                *slash = '\0';
            if (!*s)
                return not_found(out, path, pretty); /* an empty segment: "//" */
            seg[n++] = s;
            if (!slash)
                break;
            s = slash + 1;
        }
    }
    const char *kind = NULL, *ns = NULL, *name = NULL;
    if (n >= 1) {
        const struct kgc_api_kind_info *info = kind_by_plural(seg[0]);
        if (!info)
            return not_found(out, path, pretty);
        kind = info->plural;
        if (info->namespaced) {
            if (n > 3)
                return not_found(out, path, pretty);
            ns = n >= 2 ? seg[1] : NULL;
            name = n >= 3 ? seg[2] : NULL;
        } else {
            if (n > 2)
                return not_found(out, path, pretty);
            name = n >= 2 ? seg[1] : NULL;
        }
    }
    char *body = NULL;
    size_t len = 0;
    int rc = p->cache(p->ctx, kind, ns, name, pretty, &body, &len);
    return answer_body(out, rc, body, len, JSON_TYPE, path, max_body, pretty);
}

static int route_debug(const struct kgc_server_provider *p, struct kgc_server_response *out,
                       char *clean, const char *path, size_t max_body, bool pretty)
{
    static const char cache_prefix[] = "/debug/cache";
    const size_t plen = sizeof(cache_prefix) - 1;
    if (strncmp(clean, cache_prefix, plen) == 0 && (clean[plen] == '\0' || clean[plen] == '/'))
        return route_cache(p, out, clean + plen, path, max_body, pretty);
    int (*fn)(void *, bool, char **, size_t *) = NULL;
    if (strcmp(clean, "/debug/listeners") == 0)
        fn = p->listeners;
    else if (strcmp(clean, "/debug/queue") == 0)
        fn = p->queues;
    else if (strcmp(clean, "/debug/config") == 0)
        return route_config(p, out, path, max_body, pretty);
    if (!fn)
        return not_found(out, path, pretty);
    char *body = NULL;
    size_t len = 0;
    int rc = fn(p->ctx, pretty, &body, &len);
    return answer_body(out, rc, body, len, JSON_TYPE, path, max_body, pretty);
}

int kgc_server_route(const struct kgc_server_provider *p, unsigned routes, const char *method,
                     const char *path, bool pretty, size_t max_body,
                     struct kgc_server_response *out)
{
    memset(out, 0, sizeof(*out));
    if (!max_body)
        max_body = DEFAULT_MAX_BODY;
    if (!path)
        path = "";
    if (routes & KGC_SERVER_ROUTES_INVALID_BACKEND) { /* every method, every path */
        out->body = strdup(KGC_SERVER_INVALID_BACKEND_BODY);
        if (!out->body)
            return KGC_ENOMEM;
        out->status = 500;
        out->content_type = "text/plain; charset=utf-8";
        out->len = strlen(out->body);
        return 0;
    }
    if (!method || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))
        return answer_error(out, 405, "method not allowed", path, method ? method : "", pretty);
    size_t n = strlen(path);
    if (n == 0 || n >= PATH_MAX_BYTES || path[0] != '/')
        return not_found(out, path, pretty);
    char clean[PATH_MAX_BYTES];
    memcpy(clean, path, n + 1);
    if (n > 1 && clean[n - 1] == '/')
        clean[n - 1] = '\0';

    if (routes & (KGC_SERVER_ROUTES_HEALTH | KGC_SERVER_ROUTES_PROBES)) {
        if (strcmp(clean, "/healthz") == 0) {
            json_object *j = json_object_new_object();
            if (!j)
                return KGC_ENOMEM;
            json_object_object_add(j, "status", json_object_new_string("ok"));
            return answer_json(out, 200, j, pretty);
        }
        if (strcmp(clean, "/readyz") == 0)
            return route_ready(p, out, pretty);
    }
    if (routes & KGC_SERVER_ROUTES_HEALTH) {
        if (strcmp(clean, "/metrics") == 0) {
            if (!p->metrics)
                return not_found(out, path, pretty);
            char *body = NULL;
            size_t len = 0;
            int rc = p->metrics(p->ctx, &body, &len);
            return answer_body(out, rc, body, len, KGC_METRICS_CONTENT_TYPE, path, max_body,
                               pretty);
        }
    }
    if ((routes & KGC_SERVER_ROUTES_DEBUG) && strncmp(clean, "/debug/", 7) == 0)
        return route_debug(p, out, clean, path, max_body, pretty);
    return not_found(out, path, pretty);
}

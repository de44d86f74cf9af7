/* The watch stream splitter (bytes → lines, with a cap per line), event and Status decoding, and
 * the HTTP-status → kgc code mapping. Pure: no I/O. */
#include "kgc/k8s.h"
#include "kgc/jsonscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64
#define SHRINK_ABOVE   (64 * 1024) /* a buffer grown past this is freed after its line */

void kgc_k8s_watch_stream_init(struct kgc_k8s_watch_stream *ws, size_t max_line)
{
    memset(ws, 0, sizeof(*ws));
    ws->max_line = max_line ? max_line : 1;
}

void kgc_k8s_watch_stream_free(struct kgc_k8s_watch_stream *ws)
{
    free(ws->buf);
    ws->buf = NULL;
    ws->len = ws->cap = 0;
}

size_t kgc_k8s_watch_stream_pending(const struct kgc_k8s_watch_stream *ws)
{
    return ws->len;
}

static int fail_too_big(struct kgc_k8s_watch_stream *ws)
{
    ws->failed = true;
    kgc_k8s_watch_stream_free(ws);
    return KGC_E2BIG;
}

static int append(struct kgc_k8s_watch_stream *ws, const char *data, size_t n)
{
    if (n > ws->max_line - ws->len)
        return fail_too_big(ws);
    if (ws->len + n > ws->cap) {
        size_t cap = ws->cap ? ws->cap : 4096;
        while (cap < ws->len + n)
            cap *= 2;
        if (cap > ws->max_line)
            cap = ws->max_line;
        char *p = realloc(ws->buf, cap);
        if (!p)
            return KGC_ENOMEM;
        ws->buf = p;
        ws->cap = cap;
    }
    memcpy(ws->buf + ws->len, data, n);
    ws->len += n;
    return 0;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    }
    return true;
}

int kgc_k8s_watch_stream_feed(struct kgc_k8s_watch_stream *ws, const char *data, size_t n,
                              kgc_k8s_line_fn fn, void *ctx)
{
    if (ws->failed)
        return KGC_E2BIG;
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        if (!nl)
            return append(ws, data, n);
        size_t seg = (size_t)(nl - data);
        const char *line;
        size_t len;
        if (ws->len == 0) {
            if (seg > ws->max_line)
                return fail_too_big(ws);
            line = data; /* the whole line is in this chunk: no copy */
            len = seg;
        } else {
            int rc = append(ws, data, seg);
            if (rc)
                return rc;
            line = ws->buf;
            len = ws->len;
        }
        if (len && line[len - 1] == '\r')
            len--;
        int rc = blank(line, len) ? 0 : fn(line, len, ctx);
        ws->len = 0;
        if (ws->cap > SHRINK_ABOVE)
            kgc_k8s_watch_stream_free(ws);
        if (rc)
            return rc;
        data += seg + 1;
        n -= seg + 1;
    }
    return 0;
}

/* --- events and Status ------------------------------------------------------------------------ */

static const char *str_field(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

bool kgc_k8s_status_decode(json_object *j, struct kgc_k8s_status *st)
{
    memset(st, 0, sizeof(*st));
    if (!j || !json_object_is_type(j, json_type_object))
        return false;
    const char *kind = str_field(j, "kind");
    if (!kind || strcmp(kind, "Status") != 0)
        return false;
    json_object *code = NULL;
    if (json_object_object_get_ex(j, "code", &code) && json_object_is_type(code, json_type_int)) {
        int64_t c = json_object_get_int64(code);
        st->code = c >= 0 && c < 1000 ? (int)c : 0;
    }
    const char *reason = str_field(j, "reason");
    const char *message = str_field(j, "message");
    snprintf(st->reason, sizeof(st->reason), "%s", reason ? reason : "");
    snprintf(st->message, sizeof(st->message), "%s", message ? message : "");
    /* One line: a multi-line message must not break a log line. */
    for (char *p = st->message; *p; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
    return true;
}

int kgc_k8s_event_parse(const char *line, size_t len, struct kgc_jsonscan_tape *t,
                        struct kgc_k8s_event *ev, struct kgc_err *err)
{
    memset(ev, 0, sizeof(*ev));
    /* The envelope adds two values and one object to the object's own limits. */
    static const struct kgc_jsonscan_limits lim = {.max_values = KGC_K8S_OBJECT_MAX_VALUES + 3,
                                                   .max_containers =
                                                       KGC_K8S_OBJECT_MAX_CONTAINERS + 1,
                                                   .max_depth = JSON_MAX_DEPTH};
    int prc = kgc_jsonscan_tape_build(t, line, len, &lim, "watch event", err);
    if (prc == KGC_EPARSE)
        kgc_err_wrap(err, "watch event is not JSON");
    if (prc)
        return prc;
    size_t tl = 0;
    const char *type = kgc_jsonscan_tape_str(t, kgc_jsonscan_tape_get(t, 0, "type"), &tl);
    uint32_t obj = kgc_jsonscan_tape_get(t, 0, "object");
    if (!type || !obj || t->nodes[obj].type != KGC_JSONSCAN_OBJECT)
        return kgc_err_set(err, KGC_EPARSE, "watch event without type or object");
    static const struct {
        const char *name;
        enum kgc_k8s_event_type type;
    } types[] = {{"ADDED", KGC_K8S_ADDED},
                 {"MODIFIED", KGC_K8S_MODIFIED},
                 {"DELETED", KGC_K8S_DELETED},
                 {"BOOKMARK", KGC_K8S_BOOKMARK},
                 {"ERROR", KGC_K8S_ERROR}};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]) && !ev->type; i++)
        if (tl == strlen(types[i].name) && memcmp(type, types[i].name, tl) == 0)
            ev->type = types[i].type;
    if (!ev->type)
        return kgc_err_set(err, KGC_EPARSE, "unknown watch event type '%.*s'",
                           (int)(tl < 32 ? tl : 32), type);
    ev->tape = t;
    ev->object = obj;
    size_t rl = 0;
    const char *rv = kgc_jsonscan_tape_str(
        t, kgc_jsonscan_tape_get(t, kgc_jsonscan_tape_get(t, obj, "metadata"), "resourceVersion"),
        &rl);
    if (rv && rl < sizeof(ev->rv_buf) && !memchr(rv, '\0', rl)) {
        memcpy(ev->rv_buf, rv, rl);
        ev->rv_buf[rl] = '\0';
        ev->resource_version = ev->rv_buf;
    }
    if (ev->type == KGC_K8S_ERROR) {
        /* rare: the Status through json-c */
        json_object *j = NULL;
        const struct kgc_jsonscan_node *nd = &t->nodes[obj];
        (void)kgc_jsonscan_parse(line + nd->off, nd->end - nd->off, &lim, "watch event", &j, NULL);
        if (!kgc_k8s_status_decode(j, &ev->status))
            snprintf(ev->status.message, sizeof(ev->status.message),
                     "ERROR event without a Status");
        json_object_put(j);
    }
    return 0;
}

int kgc_k8s_code_for_status(int http_code, const char *reason)
{
    switch (http_code) {
    case 400:
    case 422:
        return KGC_EINVAL;
    case 401:
    case 403:
        return KGC_EACCES;
    case 404:
        return KGC_ENOENT;
    case 408:
    case 504:
        return KGC_ETIMEDOUT;
    case 409:
        return reason && strcmp(reason, "AlreadyExists") == 0 ? KGC_EEXIST : KGC_ECONFLICT;
    case 410:
        return KGC_EGONE;
    default:
        return KGC_EHTTP;
    }
}

bool kgc_k8s_retriable(int rc, const struct kgc_k8s_status *st)
{
    switch (rc) {
    case KGC_ETIMEDOUT:
    case KGC_ECONNECT:
    case KGC_EIO:
    case KGC_EAGAIN:
        return true;
    case KGC_EHTTP:
        return !st || st->code == 0 || st->code == 429 || st->code >= 500;
    default:
        return false;
    }
}

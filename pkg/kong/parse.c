/* kong: parsers for the Admin API answers (GET /, GET /status, POST /config), listener-set
 * helpers, Kong's configuration hash, URL normalisation and EndpointSlice discovery. Pure: no
 * I/O, no global state. json-c trees are freed before returning. */
#include "kgc/kong.h"

#include "kgc/digest.h"
#include "kgc/jsonscan.h"

#include <ctype.h>
#include <limits.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* What kgc parses of each Kong answer, in JSON values: json-c costs ~0.8 KB per object or array
 * and ~80 bytes per scalar, so these bound the memory of one parse whatever the bytes hold
 * (kgc/jsonscan.h).
 *
 * GET / (kong/api/routes/kong.lua:130-147 in Kong 3.9.1): a few scalars, timers, one object per
 * loaded plugin (version, priority), the plugins enabled in the cluster, the pids and the
 * configuration from kong.configuration.remove_sensitive() (a few hundred properties, some lists):
 * a few thousand values. GET /status (kong/api/routes/health.lua): server counters, the database
 * flag, memory per worker: tens of values per worker. 20x room over the biggest real answers. */
static const struct kgc_jsonscan_limits ROOT_LIMITS = {.max_values = 50000,
                                                       .max_containers = 10000};
static const struct kgc_jsonscan_limits STATUS_LIMITS = {.max_values = 10000,
                                                         .max_containers = 3000};
/* One flattened_errors entry of a rejected push (kong/db/errors.lua:997-1010): entity_name,
 * entity_id, entity_tags, entity_type, the entity as sent (a route with many paths and headers, a
 * plugin with its config, a certificate with its PEM strings) and its errors. */
static const struct kgc_jsonscan_limits ENTRY_LIMITS = {.max_values = 20000,
                                                        .max_containers = 4000};

/* Parses exactly len bytes of JSON (trailing white space allowed) within lim. Returns a new
 * reference or NULL with KGC_EPARSE/KGC_E2BIG in err; `what` names the document in the message. */
static json_object *parse_json(const char *body, size_t len, const struct kgc_jsonscan_limits *lim,
                               const char *what, int *rc, struct kgc_err *err)
{
    if (!body || len == 0) {
        *rc = kgc_err_set(err, KGC_EPARSE, "%s: empty body", what);
        return NULL;
    }
    json_object *o = NULL;
    *rc = kgc_jsonscan_parse(body, len, lim, what, &o, err);
    return o;
}

/* Copies an optional string member into buf. Absent or null: "". Returns 0 or KGC_EPARSE. */
static int get_str(json_object *obj, const char *key, char *buf, size_t size, const char *what,
                   struct kgc_err *err)
{
    json_object *v = NULL;
    buf[0] = '\0';
    if (!json_object_object_get_ex(obj, key, &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return kgc_err_set(err, KGC_EPARSE, "%s: \"%s\" is not a string", what, key);
    size_t n = (size_t)json_object_get_string_len(v);
    if (n >= size)
        return kgc_err_set(err, KGC_EPARSE, "%s: \"%s\" is too long (%zu bytes, max %zu)", what,
                           key, n, size - 1);
    memcpy(buf, json_object_get_string(v), n);
    buf[n] = '\0';
    return 0;
}

/* An optional boolean member: absent or null → false. */
static int get_flag(json_object *obj, const char *key, bool *out, const char *what,
                    struct kgc_err *err)
{
    json_object *v = NULL;
    *out = false;
    if (!json_object_object_get_ex(obj, key, &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_boolean))
        return kgc_err_set(err, KGC_EPARSE, "%s: \"%s\" is not a boolean", what, key);
    *out = json_object_get_boolean(v);
    return 0;
}

/* A port: a JSON integer, an integral number or a string of digits (Kong's conf loader leaves
 * host-name listeners' ports as strings), within 1..65535. */
static int get_port(json_object *obj, uint16_t *out, const char *what, struct kgc_err *err)
{
    json_object *v = NULL;
    long long p = -1;
    if (!json_object_object_get_ex(obj, "port", &v) || !v)
        return kgc_err_set(err, KGC_EPARSE, "%s: \"port\" missing", what);
    switch (json_object_get_type(v)) {
    case json_type_int:
        p = (long long)json_object_get_int64(v);
        break;
    case json_type_double: {
        double d = json_object_get_double(v);
        if (d >= 1 && d <= 65535 && d == (double)(long long)d)
            p = (long long)d;
        break;
    }
    case json_type_string: {
        const char *s = json_object_get_string(v);
        size_t n = strlen(s);
        if (n > 0 && n <= 5 && strspn(s, "0123456789") == n)
            p = strtoll(s, NULL, 10);
        break;
    }
    default:
        break;
    }
    if (p < 1 || p > 65535)
        return kgc_err_set(err, KGC_EPARSE, "%s: \"port\" is not a port number (1..65535)", what);
    *out = (uint16_t)p;
    return 0;
}

static int parse_listener(json_object *o, enum kgc_kong_listener_kind kind,
                          struct kgc_kong_listener *l, const char *what, struct kgc_err *err)
{
    int rc;
    memset(l, 0, sizeof(*l));
    l->kind = kind;
    if (!json_object_is_type(o, json_type_object))
        return kgc_err_set(err, KGC_EPARSE, "%s: not an object", what);
    if ((rc = get_str(o, "ip", l->ip, sizeof(l->ip), what, err)))
        return rc;
    if (!l->ip[0])
        return kgc_err_set(err, KGC_EPARSE, "%s: \"ip\" missing", what);
    if ((rc = get_port(o, &l->port, what, err)) || (rc = get_flag(o, "ssl", &l->ssl, what, err)) ||
        (rc = get_flag(o, "proxy_protocol", &l->proxy_protocol, what, err)))
        return rc;
    if (kind == KGC_KONG_LISTENER_PROXY)
        return get_flag(o, "http2", &l->http2, what, err);
    return get_flag(o, "udp", &l->udp, what, err);
}

/* configuration.<key>: an array of listener objects; `{}` (lua-cjson's empty table), `[]`, null
 * or absent mean none. */
static int parse_listener_list(json_object *cfg, const char *key, enum kgc_kong_listener_kind kind,
                               struct kgc_kong_listener **arr, size_t *n, struct kgc_err *err)
{
    json_object *v = NULL;
    *arr = NULL;
    *n = 0;
    if (!json_object_object_get_ex(cfg, key, &v) || !v)
        return 0;
    if (json_object_is_type(v, json_type_object)) {
        if (json_object_object_length(v) == 0)
            return 0;
        return kgc_err_set(err, KGC_EPARSE,
                           "GET /: configuration.%s is a non-empty object, expected a list", key);
    }
    if (!json_object_is_type(v, json_type_array))
        return kgc_err_set(err, KGC_EPARSE, "GET /: configuration.%s is not a list", key);
    size_t len = json_object_array_length(v);
    if (len == 0)
        return 0;
    if (len > KGC_KONG_LISTENER_CAP)
        return kgc_err_set(err, KGC_EPARSE, "GET /: configuration.%s has %zu entries (max %d)", key,
                           len, KGC_KONG_LISTENER_CAP);
    struct kgc_kong_listener *a = calloc(len, sizeof(*a));
    if (!a)
        return kgc_err_set(err, KGC_ENOMEM, "GET /: out of memory");
    for (size_t i = 0; i < len; i++) {
        char what[96];
        snprintf(what, sizeof(what), "GET /: configuration.%s[%zu]", key, i);
        int rc = parse_listener(json_object_array_get_idx(v, i), kind, &a[i], what, err);
        if (rc) {
            free(a);
            return rc;
        }
    }
    *arr = a;
    *n = len;
    return 0;
}

int kgc_kong_parse_root(const char *body, size_t len, struct kgc_kong_info *out,
                        struct kgc_err *err)
{
    int rc;
    memset(out, 0, sizeof(*out));
    json_object *root = parse_json(body, len, &ROOT_LIMITS, "GET /", &rc, err);
    if (!root)
        return rc;
    json_object *cfg = NULL;
    if (!json_object_is_type(root, json_type_object)) {
        rc = kgc_err_set(err, KGC_EPARSE, "GET /: the answer is not a JSON object");
        goto out_put;
    }
    if ((rc = get_str(root, "version", out->version, sizeof(out->version), "GET /", err)) ||
        (rc = get_str(root, "edition", out->edition, sizeof(out->edition), "GET /", err)) ||
        (rc = get_str(root, "node_id", out->node_id, sizeof(out->node_id), "GET /", err)))
        goto out_put;
    if (!json_object_object_get_ex(root, "configuration", &cfg) ||
        !json_object_is_type(cfg, json_type_object)) {
        rc = kgc_err_set(err, KGC_EPARSE,
                         "GET /: no \"configuration\" object (not a Kong Admin API answer?)");
        goto out_put;
    }
    if ((rc = get_str(cfg, "router_flavor", out->router_flavor, sizeof(out->router_flavor),
                      "GET /: configuration", err)) ||
        (rc = get_str(cfg, "database", out->database, sizeof(out->database), "GET /: configuration",
                      err)))
        goto out_put;
    if ((rc = parse_listener_list(cfg, "proxy_listeners", KGC_KONG_LISTENER_PROXY,
                                  &out->listeners.proxy, &out->listeners.n_proxy, err)) ||
        (rc = parse_listener_list(cfg, "stream_listeners", KGC_KONG_LISTENER_STREAM,
                                  &out->listeners.stream, &out->listeners.n_stream, err)))
        goto out_put;
out_put:
    json_object_put(root);
    if (rc)
        kgc_kong_info_free(out);
    return rc;
}

int kgc_kong_parse_status(const char *body, size_t len, char hash[KGC_KONG_HASH_LEN + 1],
                          struct kgc_err *err)
{
    int rc;
    hash[0] = '\0';
    json_object *root = parse_json(body, len, &STATUS_LIMITS, "GET /status", &rc, err);
    if (!root)
        return rc;
    if (!json_object_is_type(root, json_type_object)) {
        rc = kgc_err_set(err, KGC_EPARSE, "GET /status: the answer is not a JSON object");
        goto out_put;
    }
    char h[KGC_KONG_HASH_LEN + 2];
    if ((rc = get_str(root, "configuration_hash", h, sizeof(h), "GET /status", err)))
        goto out_put;
    if (h[0]) {
        bool ok = strlen(h) == KGC_KONG_HASH_LEN;
        for (size_t i = 0; ok && i < KGC_KONG_HASH_LEN; i++)
            ok = isxdigit((unsigned char)h[i]);
        if (!ok) {
            rc = kgc_err_set(err, KGC_EPARSE,
                             "GET /status: configuration_hash \"%s\" is not 32 hex digits", h);
            goto out_put;
        }
        for (size_t i = 0; i < KGC_KONG_HASH_LEN; i++)
            hash[i] = (char)tolower((unsigned char)h[i]);
        hash[KGC_KONG_HASH_LEN] = '\0';
    }
out_put:
    json_object_put(root);
    return rc;
}

void kgc_kong_listeners_free(struct kgc_kong_listeners *l)
{
    if (!l)
        return;
    free(l->proxy);
    free(l->stream);
    memset(l, 0, sizeof(*l));
}

void kgc_kong_info_free(struct kgc_kong_info *info)
{
    if (!info)
        return;
    kgc_kong_listeners_free(&info->listeners);
    memset(info, 0, sizeof(*info));
}

static int dup_array(struct kgc_kong_listener **dst, const struct kgc_kong_listener *src, size_t n)
{
    *dst = NULL;
    if (n == 0)
        return 0;
    *dst = malloc(n * sizeof(*src));
    if (!*dst)
        return KGC_ENOMEM;
    memcpy(*dst, src, n * sizeof(*src));
    return 0;
}

int kgc_kong_listeners_copy(struct kgc_kong_listeners *dst, const struct kgc_kong_listeners *src)
{
    memset(dst, 0, sizeof(*dst));
    if (dup_array(&dst->proxy, src->proxy, src->n_proxy) ||
        dup_array(&dst->stream, src->stream, src->n_stream)) {
        kgc_kong_listeners_free(dst);
        return KGC_ENOMEM;
    }
    dst->n_proxy = src->n_proxy;
    dst->n_stream = src->n_stream;
    return 0;
}

int kgc_kong_info_copy(struct kgc_kong_info *dst, const struct kgc_kong_info *src)
{
    *dst = *src;
    memset(&dst->listeners, 0, sizeof(dst->listeners));
    if (kgc_kong_listeners_copy(&dst->listeners, &src->listeners)) {
        memset(dst, 0, sizeof(*dst));
        return KGC_ENOMEM;
    }
    return 0;
}

static bool listener_equal(const struct kgc_kong_listener *a, const struct kgc_kong_listener *b)
{
    return a->kind == b->kind && a->port == b->port && a->ssl == b->ssl && a->http2 == b->http2 &&
           a->udp == b->udp && a->proxy_protocol == b->proxy_protocol && strcmp(a->ip, b->ip) == 0;
}

static bool list_equal(const struct kgc_kong_listener *a, size_t na,
                       const struct kgc_kong_listener *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (!listener_equal(&a[i], &b[i]))
            return false;
    return true;
}

bool kgc_kong_listeners_equal(const struct kgc_kong_listeners *a,
                              const struct kgc_kong_listeners *b)
{
    return list_equal(a->proxy, a->n_proxy, b->proxy, b->n_proxy) &&
           list_equal(a->stream, a->n_stream, b->stream, b->n_stream);
}

static int listener_cmp(const void *pa, const void *pb)
{
    const struct kgc_kong_listener *a = pa, *b = pb;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    int c = strcmp(a->ip, b->ip);
    if (c)
        return c;
    unsigned fa = (unsigned)a->ssl | (unsigned)a->http2 << 1 | (unsigned)a->udp << 2 |
                  (unsigned)a->proxy_protocol << 3;
    unsigned fb = (unsigned)b->ssl | (unsigned)b->http2 << 1 | (unsigned)b->udp << 2 |
                  (unsigned)b->proxy_protocol << 3;
    return fa < fb ? -1 : fa > fb;
}

static int merge_list(struct kgc_kong_listener **dst, size_t *nd,
                      const struct kgc_kong_listener *src, size_t ns)
{
    size_t cap = *nd + ns;
    if (cap == 0)
        return 0;
    struct kgc_kong_listener *m = malloc(cap * sizeof(*m));
    if (!m)
        return KGC_ENOMEM;
    if (*nd)
        memcpy(m, *dst, *nd * sizeof(*m));
    size_t n = *nd;
    for (size_t i = 0; i < ns; i++) {
        bool dup = false;
        for (size_t j = 0; j < n && !dup; j++)
            dup = listener_equal(&m[j], &src[i]);
        if (!dup)
            m[n++] = src[i];
    }
    qsort(m, n, sizeof(*m), listener_cmp);
    free(*dst);
    *dst = m;
    *nd = n;
    return 0;
}

int kgc_kong_listeners_merge(struct kgc_kong_listeners *dst, const struct kgc_kong_listeners *src)
{
    struct kgc_kong_listeners t;
    if (kgc_kong_listeners_copy(&t, dst))
        return KGC_ENOMEM;
    if (merge_list(&t.proxy, &t.n_proxy, src->proxy, src->n_proxy) ||
        merge_list(&t.stream, &t.n_stream, src->stream, src->n_stream)) {
        kgc_kong_listeners_free(&t);
        return KGC_ENOMEM;
    }
    kgc_kong_listeners_free(dst);
    *dst = t;
    return 0;
}

bool kgc_kong_hash_is_empty(const char *hash)
{
    return hash && strcmp(hash, KGC_KONG_EMPTY_HASH) == 0;
}

void kgc_kong_config_hash(const char *text, size_t len, char out[KGC_KONG_HASH_LEN + 1])
{
    kgc_digest_md5_hex(text, len, out);
}

/* ---- POST /config replies -------------------------------------------------------------------- */

const char *kgc_kong_push_kind_name(enum kgc_kong_push_kind kind)
{
    switch (kind) {
    case KGC_KONG_PUSH_APPLIED:
        return "applied";
    case KGC_KONG_PUSH_UNCHANGED:
        return "unchanged";
    case KGC_KONG_PUSH_REJECTED:
        return "rejected";
    case KGC_KONG_PUSH_BUSY:
        return "busy";
    case KGC_KONG_PUSH_OTHER:
        break;
    }
    return "other";
}

/* A malloc'd copy of a string member, NULL when absent or not a string. *oom set on failure. */
static char *dup_member(json_object *o, const char *key, bool *oom)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    char *s = strdup(json_object_get_string(v));
    if (!s)
        *oom = true;
    return s;
}

static void entity_error_free(struct kgc_kong_entity_error *e)
{
    free(e->entity_type);
    free(e->entity_name);
    free(e->entity_id);
    for (size_t i = 0; i < e->n_tags; i++)
        free(e->entity_tags[i]);
    free(e->entity_tags);
    for (size_t i = 0; i < e->n_errors; i++) {
        free(e->errors[i].type);
        free(e->errors[i].field);
        free(e->errors[i].message);
    }
    free(e->errors);
    memset(e, 0, sizeof(*e));
}

void kgc_kong_push_result_free(struct kgc_kong_push_result *r)
{
    if (!r)
        return;
    free(r->message);
    for (size_t i = 0; i < r->n_entity_errors; i++)
        entity_error_free(&r->entity_errors[i]);
    free(r->entity_errors);
    memset(r, 0, sizeof(*r));
}

/* One flattened_errors entry. Returns false when out of memory; *truncated when a cap cut it. */
static bool parse_entity_error(json_object *o, struct kgc_kong_entity_error *e, bool *truncated)
{
    bool oom = false;
    memset(e, 0, sizeof(*e));
    e->entity_type = dup_member(o, "entity_type", &oom);
    e->entity_name = dup_member(o, "entity_name", &oom);
    e->entity_id = dup_member(o, "entity_id", &oom);
    json_object *tags = NULL, *errs = NULL;
    if (json_object_object_get_ex(o, "entity_tags", &tags) &&
        json_object_is_type(tags, json_type_array)) {
        size_t n = json_object_array_length(tags);
        if (n > KGC_KONG_PUSH_MAX_ERRORS) {
            n = KGC_KONG_PUSH_MAX_ERRORS;
            *truncated = true;
        }
        e->entity_tags = n ? calloc(n, sizeof(char *)) : NULL;
        oom |= n && !e->entity_tags;
        for (size_t i = 0; i < n && !oom; i++) {
            json_object *t = json_object_array_get_idx(tags, i);
            if (!json_object_is_type(t, json_type_string))
                continue;
            char *s = strdup(json_object_get_string(t));
            oom |= !s;
            if (s)
                e->entity_tags[e->n_tags++] = s;
        }
    }
    if (json_object_object_get_ex(o, "errors", &errs) &&
        json_object_is_type(errs, json_type_array)) {
        size_t n = json_object_array_length(errs);
        if (n > KGC_KONG_PUSH_MAX_ERRORS) {
            n = KGC_KONG_PUSH_MAX_ERRORS;
            *truncated = true;
        }
        e->errors = n ? calloc(n, sizeof(*e->errors)) : NULL;
        oom |= n && !e->errors;
        for (size_t i = 0; i < n && !oom; i++) {
            json_object *x = json_object_array_get_idx(errs, i);
            if (!json_object_is_type(x, json_type_object))
                continue;
            struct kgc_kong_field_error *fe = &e->errors[e->n_errors++];
            fe->type = dup_member(x, "type", &oom);
            fe->field = dup_member(x, "field", &oom);
            fe->message = dup_member(x, "message", &oom);
        }
    }
    return !oom;
}

static unsigned parse_retry_after(const char *v)
{
    if (!v)
        return 0;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strspn(v, "0123456789");
    if (n == 0 || n > 6)
        return 0; /* an HTTP-date or nonsense: the caller's own backoff applies */
    unsigned long s = strtoul(v, NULL, 10);
    return s > 3600 ? 3600 : (unsigned)s;
}

/* The flattened_errors array (text[0, len)): keeps the first KGC_KONG_PUSH_MAX_ENTITIES object
 * entries, each built alone within ENTRY_LIMITS; *cut when the array ends early (a cut answer).
 * Returns false when out of memory. */
static bool parse_flattened(const char *text, size_t len, struct kgc_kong_push_result *out,
                            bool *cut)
{
    struct kgc_jsonscan_iter it;
    struct kgc_err ierr = {0};
    if (kgc_jsonscan_iter_start(&it, text, len, '[', "flattened_errors", &ierr) != 0)
        return true;
    out->entity_errors = calloc(KGC_KONG_PUSH_MAX_ENTITIES, sizeof(*out->entity_errors));
    if (!out->entity_errors)
        return false;
    const char *v;
    size_t vl;
    int more;
    while ((more = kgc_jsonscan_iter_next(&it, NULL, NULL, &v, &vl, &ierr)) == 1) {
        if (out->n_entity_errors == KGC_KONG_PUSH_MAX_ENTITIES) {
            out->truncated = true;
            continue;
        }
        json_object *e = NULL;
        if (kgc_jsonscan_parse(v, vl, &ENTRY_LIMITS, "flattened_errors entry", &e, &ierr) != 0) {
            out->truncated = true; /* an entry over the limits is left out, said so */
            continue;
        }
        bool ok = true;
        if (json_object_is_type(e, json_type_object))
            ok =
                parse_entity_error(e, &out->entity_errors[out->n_entity_errors++], &out->truncated);
        json_object_put(e);
        if (!ok)
            return false;
    }
    if (more < 0)
        *cut = true;
    return true;
}

int kgc_kong_parse_push_reply(long status, const char *body, size_t len, const char *retry_after,
                              struct kgc_kong_push_result *out, struct kgc_err *err)
{
    memset(out, 0, sizeof(*out));
    out->http_status = status;
    if (status == 200 || status == 201)
        out->kind = KGC_KONG_PUSH_APPLIED;
    else if (status == 304)
        out->kind = KGC_KONG_PUSH_UNCHANGED;
    else if (status == 400)
        out->kind = KGC_KONG_PUSH_REJECTED;
    else if (status == 429 || status == 503)
        out->kind = KGC_KONG_PUSH_BUSY;
    else
        out->kind = KGC_KONG_PUSH_OTHER;
    if (out->kind == KGC_KONG_PUSH_BUSY)
        out->retry_after_s = parse_retry_after(retry_after);
    if (out->kind == KGC_KONG_PUSH_APPLIED || out->kind == KGC_KONG_PUSH_UNCHANGED)
        return 0; /* the 201 body echoes the entities: nothing kgc needs */

    /* The answer is walked member by member: "message" and the first
     * KGC_KONG_PUSH_MAX_ENTITIES entries of "flattened_errors" are built one at a time within
     * ENTRY_LIMITS, everything else ("fields", which mirrors the configuration's shape, and the
     * entries past the cap) is only scanned. So memory stays one entry's whatever Kong sends,
     * and an answer cut at the reply cap still yields the entries read before the cut. */
    struct kgc_err perr = {0};
    bool oom = false, parsed = false, cut = false;
    struct kgc_jsonscan_iter top;
    if (len && kgc_jsonscan_iter_start(&top, body, len, '{', "POST /config", &perr) == 0) {
        const char *k, *v;
        size_t kl, vl;
        int more;
        while (!oom && (more = kgc_jsonscan_iter_next(&top, &k, &kl, &v, &vl, &perr)) == 1) {
            if (kgc_jsonscan_key_is(k, kl, "message") && !out->message) {
                json_object *m = NULL;
                const struct kgc_jsonscan_limits one = {.max_values = 1};
                if (kgc_jsonscan_parse(v, vl, &one, "POST /config: message", &m, &perr) == 0 &&
                    json_object_is_type(m, json_type_string)) {
                    out->message = strdup(json_object_get_string(m));
                    oom |= !out->message;
                }
                json_object_put(m);
            } else if (kgc_jsonscan_key_is(k, kl, "flattened_errors") &&
                       out->kind == KGC_KONG_PUSH_REJECTED && !out->entity_errors) {
                oom |= !parse_flattened(v, vl, out, &cut);
            }
        }
        if (more < 0) {
            cut = true; /* cut at the reply cap, or malformed past what was read */
            if (v && kgc_jsonscan_key_is(k, kl, "flattened_errors") &&
                out->kind == KGC_KONG_PUSH_REJECTED && !out->entity_errors)
                oom |= !parse_flattened(v, vl, out, &cut);
        }
        parsed = !cut || out->message || out->n_entity_errors;
        out->truncated |= cut && out->n_entity_errors;
    }
    if (!oom && !out->message) {
        char m[KGC_ERR_MSG_MAX];
        if (len == 0)
            snprintf(m, sizeof(m), "HTTP %ld with an empty body", status);
        else if (!parsed)
            snprintf(m, sizeof(m), "HTTP %ld: %s", status, perr.msg);
        else
            snprintf(m, sizeof(m), "HTTP %ld without a message", status);
        out->message = strdup(m);
        oom = !out->message;
    }
    kgc_jsonscan_release(len);
    if (oom) {
        kgc_kong_push_result_free(out);
        return kgc_err_set(err, KGC_ENOMEM, "POST /config: out of memory reading the reply");
    }
    return 0;
}

/* ---- URLs and discovery ---------------------------------------------------------------------- */

void kgc_kong_urls_free(char **urls, size_t n)
{
    if (!urls)
        return;
    for (size_t i = 0; i < n; i++)
        free(urls[i]);
    free(urls);
}

static bool cond_true(enum kgc_kong_cond c, bool if_unset)
{
    return c == KGC_KONG_COND_UNSET ? if_unset : c == KGC_KONG_COND_TRUE;
}

static int str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool port_is_tls(const struct kgc_kong_endpoint_port *p)
{
    if (p->app_protocol && strcasecmp(p->app_protocol, "https") == 0)
        return true;
    return p->name && (strcasestr(p->name, "tls") || strcasestr(p->name, "https"));
}

/* An EndpointSlice address kgc may put in a URL: an IPv4 or IPv6 address, or a DNS name (letters,
 * digits, '-' and '.', as the API server validates FQDN addresses:
 * staging/src/k8s.io/api/discovery/v1 types.go Endpoint.Addresses). Anything else (a space, '/',
 * '@', ...) would change the URL's host or path, or make the whole instance set refused. */
static bool endpoint_address_ok(const char *a)
{
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, a, buf) == 1 || inet_pton(AF_INET6, a, buf) == 1)
        return true;
    if (!a[0] || a[0] == '-' || a[0] == '.')
        return false;
    for (const char *p = a; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.'))
            return false;
    return true;
}

int kgc_kong_urls_from_endpoints(const struct kgc_kong_endpoint_slice *slices, size_t n_slices,
                                 const char *port_name, char ***urls, size_t *n_urls)
{
    size_t cap = 0, n = 0;
    char **out = NULL;
    *urls = NULL;
    *n_urls = 0;
    if (!port_name)
        port_name = "";
    for (size_t s = 0; s < n_slices; s++) {
        const struct kgc_kong_endpoint_slice *sl = &slices[s];
        const struct kgc_kong_endpoint_port *port = NULL;
        for (size_t p = 0; p < sl->n_ports && !port; p++)
            if (strcmp(sl->ports[p].name ? sl->ports[p].name : "", port_name) == 0 &&
                sl->ports[p].port >= 1 && sl->ports[p].port <= 65535)
                port = &sl->ports[p];
        if (!port)
            continue;
        const char *scheme = port_is_tls(port) ? "https" : "http";
        for (size_t e = 0; e < sl->n_endpoints; e++) {
            const struct kgc_kong_endpoint *ep = &sl->endpoints[e];
            bool ready = cond_true(ep->ready, true);
            bool serving = cond_true(ep->serving, ready);
            bool terminating = cond_true(ep->terminating, false);
            if (terminating || !(ready || serving))
                continue;
            for (size_t a = 0; a < ep->n_addresses; a++) {
                const char *addr = ep->addresses[a];
                if (!addr || !addr[0] || strlen(addr) > 253 || !endpoint_address_ok(addr))
                    continue;
                char buf[KGC_KONG_URL_MAX];
                bool v6 = strchr(addr, ':') != NULL;
                snprintf(buf, sizeof(buf), "%s://%s%s%s:%d", scheme, v6 ? "[" : "", addr,
                         v6 ? "]" : "", (int)port->port);
                if (n == cap) {
                    size_t ncap = cap ? cap * 2 : 8;
                    char **t = realloc(out, ncap * sizeof(*t));
                    if (!t)
                        goto out_nomem;
                    out = t;
                    cap = ncap;
                }
                if (!(out[n] = strdup(buf)))
                    goto out_nomem;
                n++;
            }
        }
    }
    if (n > 1) {
        qsort(out, n, sizeof(*out), str_ptr_cmp);
        size_t w = 1;
        for (size_t i = 1; i < n; i++) {
            if (strcmp(out[i], out[w - 1]) == 0)
                free(out[i]);
            else
                out[w++] = out[i];
        }
        n = w;
    }
    *urls = out;
    *n_urls = n;
    return 0;
out_nomem:
    kgc_kong_urls_free(out, n);
    return KGC_ENOMEM;
}

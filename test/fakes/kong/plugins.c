/* plugins — the plugins kgc emits, run the way Kong 3.9.1 runs them (proxy.h):
 *
 *   plugin                PRIORITY  phases modelled
 *   request-transformer   801       access (kong/plugins/request-transformer/handler.lua:7)
 *   response-transformer  800       header_filter, body_filter
 * (response-transformer/handler.lua:16) redirect              779       access
 * (redirect/handler.lua:9) request-termination   2         access
 * (request-termination/handler.lua:17)
 *
 * Access handlers run highest PRIORITY first; once one answers (kong.response.exit) the later
 * ones do not run, but every plugin is still collected for header_filter / body_filter
 * (kong/init.lua:360-430, kong/runloop/plugins_iterator.lua:372-411), so response-transformer also
 * changes a redirect's or a termination's answer. A handler that throws gives 500
 * {"message":"An unexpected error occurred"} (kong/init.lua:397-407).
 *
 * Config defaults are applied here (the accepted entities carry none): see each schema.lua.
 * Reentrant; nothing global. Each call's allocations are freed before it returns. */
#include "plugins_internal.h"

#include <kgc/err.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- which plugins, in which order ----------------------------------------------------------- */

static int priority_of(const char *name)
{
    if (strcmp(name, "request-transformer") == 0) {
        return 801;
    }
    if (strcmp(name, "response-transformer") == 0) {
        return 800;
    }
    if (strcmp(name, "redirect") == 0) {
        return 779;
    }
    if (strcmp(name, "request-termination") == 0) {
        return 2;
    }
    return -1;
}

bool kf_plugin_supported(const char *name)
{
    return name && priority_of(name) >= 0;
}

struct slot {
    int prio;
    size_t idx;
    const char *name;
    json_object *config;
};

static int cmp_slot(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;
    if (x->prio != y->prio) {
        return y->prio - x->prio; /* highest first */
    }
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The supported, enabled plugins in Kong's execution order. Caller frees *out. */
static int ordered(json_object *const *plugins, size_t n, struct slot **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (n == 0) {
        return 0;
    }
    struct slot *s = calloc(n, sizeof(*s));
    if (!s) {
        return KGC_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *nm = NULL, *cfg = NULL, *en = NULL;
        if (!plugins[i] || !json_object_object_get_ex(plugins[i], "name", &nm) ||
            !json_object_is_type(nm, json_type_string)) {
            continue;
        }
        if (json_object_object_get_ex(plugins[i], "enabled", &en) &&
            json_object_is_type(en, json_type_boolean) && !json_object_get_boolean(en)) {
            continue; /* plugins.enabled defaults to true */
        }
        const char *name = json_object_get_string(nm);
        int prio = priority_of(name);
        if (prio < 0) {
            continue;
        }
        json_object_object_get_ex(plugins[i], "config", &cfg);
        s[k++] = (struct slot){.prio = prio, .idx = i, .name = name, .config = cfg};
    }
    qsort(s, k, sizeof(*s), cmp_slot);
    *out = s;
    *nout = k;
    return 0;
}

/* ---- redirect (kong/plugins/redirect) -------------------------------------------------------- */

/* ada's path percent-encode set (WHATWG URL): C0 controls, space, " # < > ? ` { } and non-ASCII. */
static void enc_set(struct kf_buf *b, const char *s, const char *extra)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f || strchr(extra, *p)) {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            kf_buf_putn(b, e, 3);
        } else {
            kf_buf_ch(b, (char)*p);
        }
    }
}

/* location_url:set_pathname(path):set_search(query):get_href() (redirect/handler.lua:19-22) for
 * an absolute "scheme://authority..." location; NULL when ada.parse would not give a URL. */
static char *redirect_keep_path(const char *location, const char *path, const char *query)
{
    const char *colon = strstr(location, "://");
    if (!colon || colon == location) {
        return NULL;
    }
    for (const char *p = location; p < colon; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.') ||
            (p == location && !isalpha((unsigned char)*p))) {
            return NULL;
        }
    }
    const char *auth = colon + 3;
    size_t alen = strcspn(auth, "/?#");
    if (alen == 0) {
        return NULL;
    }
    const char *frag = strchr(auth + alen, '#');
    struct kf_buf b = {0};
    char *scheme = strndup(location, (size_t)(colon - location));
    char *authority = strndup(auth, alen);
    if (!scheme || !authority) {
        free(scheme);
        free(authority);
        return NULL;
    }
    for (char *p = scheme; *p; p++) {
        *p = (char)tolower((unsigned char)*p);
    }
    /* host lower-cased, the scheme's default port dropped (WHATWG URL serialisation) */
    char *host = strrchr(authority, '@');
    host = host ? host + 1 : authority;
    char *port = host[0] == '[' ? strstr(host, "]:") : strchr(host, ':');
    if (port && host[0] == '[') {
        port++;
    }
    for (char *p = host; *p && p != port; p++) {
        *p = (char)tolower((unsigned char)*p);
    }
    if (port && ((strcmp(scheme, "http") == 0 && strcmp(port, ":80") == 0) ||
                 (strcmp(scheme, "https") == 0 && strcmp(port, ":443") == 0) ||
                 (strcmp(scheme, "ws") == 0 && strcmp(port, ":80") == 0) ||
                 (strcmp(scheme, "wss") == 0 && strcmp(port, ":443") == 0) || port[1] == '\0')) {
        *port = '\0';
    }
    kf_buf_puts(&b, scheme);
    kf_buf_puts(&b, "://");
    kf_buf_puts(&b, authority);
    enc_set(&b, *path ? path : "/", "\"#<>?`{}");
    if (query && *query) {
        kf_buf_ch(&b, '?');
        enc_set(&b, query[0] == '?' ? query + 1 : query, "\"#<>'");
    }
    if (frag) {
        kf_buf_puts(&b, frag);
    }
    free(scheme);
    free(authority);
    return kf_buf_take(&b);
}

static int run_redirect(json_object *cfg, const struct kf_client_req *client,
                        const struct kf_preq *up, struct kf_presp *resp)
{
    long status = kp_cfg_int(cfg, "status_code", 301); /* redirect/schema.lua:14-19 */
    const char *location = kp_cfg_str(cfg, "location");
    if (!location) {
        return kp_exit_unexpected(resp); /* required by the schema; nil Location errors */
    }
    char *loc = NULL;
    if (kp_cfg_bool(cfg, "keep_incoming_path", false)) {
        /* kong.request.get_path(): the normalised request path; get_raw_query(): ngx.var.args,
         * which request-transformer may have changed (kong/pdk/request.lua:415,475) */
        char *path = kf_uri_normalize(client->path ? client->path : "/");
        if (!path) {
            return KGC_ENOMEM;
        }
        loc = redirect_keep_path(location, path, up->query ? up->query : "");
        free(path);
        if (!loc) {
            return kp_exit_unexpected(resp); /* ada.parse failed: indexing nil throws */
        }
    } else if (!(loc = strdup(location))) {
        return KGC_ENOMEM;
    }
    int rc = kp_exit(resp, (int)status, NULL, "redirecting", NULL); /* handler.lua:29 */
    if (rc == 0) {
        rc = kf_hdrs_set(&resp->headers, "Location", loc);
    }
    free(loc);
    return rc;
}

/* ---- request-termination (kong/plugins/request-termination) ---------------------------------- */

static const char *default_message(long status)
{
    switch (status) { /* request-termination/handler.lua:4-11 */
    case 401:
        return "Unauthorized";
    case 404:
        return "Not found";
    case 405:
        return "Method not allowed";
    case 500:
        return "An unexpected error occurred";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service unavailable";
    default:
        return NULL;
    }
}

/* The request headers as kong.request.get_headers() returns them now (lower-case keys; a
 * repeated header is an array). */
static json_object *headers_json(const struct kf_preq *up, const struct kf_client_req *client)
{
    json_object *o = json_object_new_object();
    bool host = false;
    for (size_t i = 0; o && i < up->headers.n; i++) {
        char *ln = kp_lower_dup(up->headers.v[i].name);
        if (!ln) {
            continue;
        }
        host |= strcmp(ln, "host") == 0;
        json_object *cur = NULL, *v = json_object_new_string(up->headers.v[i].value);
        if (json_object_object_get_ex(o, ln, &cur)) {
            if (!json_object_is_type(cur, json_type_array)) {
                json_object *a = json_object_new_array();
                json_object_array_add(a, json_object_get(cur));
                json_object_object_add(o, ln, a);
                cur = a;
            }
            json_object_array_add(cur, v);
        } else {
            json_object_object_add(o, ln, v);
        }
        free(ln);
    }
    const char *h = up->host ? up->host : client->host;
    if (o && !host && h) {
        json_object_object_add(o, "host", json_object_new_string(h));
    }
    return o;
}

static json_object *args_json(const struct kp_args *a)
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; o && i < a->n; i++) {
        const struct kp_arg *g = &a->a[i];
        json_object *v;
        if (g->is_table) {
            v = json_object_new_array();
            for (size_t j = 0; j < g->n; j++) {
                json_object_array_add(v, g->v[j].s ? json_object_new_string(g->v[j].s)
                                                   : json_object_new_boolean(1));
            }
        } else {
            v = g->n && g->v[0].s ? json_object_new_string(g->v[0].s) : json_object_new_boolean(1);
        }
        json_object_object_add(o, g->name, v);
    }
    return o;
}

/* The "echo" body (request-termination/handler.lua:37-59). */
static json_object *echo_body(const char *message, const struct kf_client_req *client,
                              const struct kf_match *m, const struct kf_preq *up)
{
    json_object *o = json_object_new_object();
    if (!o) {
        return NULL;
    }
    if (message) {
        json_object_object_add(o, "message", json_object_new_string(message));
    }
    json_object *k = json_object_new_object();
    char hn[256] = "";
    if (gethostname(hn, sizeof(hn) - 1) != 0) {
        hn[0] = '\0';
    }
    json_object_object_add(k, "worker_pid", json_object_new_int((int)getpid()));
    json_object_object_add(k, "hostname", json_object_new_string(hn));
    json_object_object_add(o, "kong", k);

    json_object *r = json_object_new_object();
    json_object_object_add(r, "scheme",
                           json_object_new_string(client->scheme ? client->scheme : "http"));
    /* ngx.var.host: the Host header without its port, lower-cased */
    if (client->host) {
        char *h = kp_lower_dup(client->host);
        if (h) {
            char *c = h[0] == '[' ? strstr(h, "]:") : strchr(h, ':');
            if (c) {
                c[h[0] == '[' ? 1 : 0] = '\0';
            }
            json_object_object_add(r, "host", json_object_new_string(h));
            free(h);
        }
    }
    json_object_object_add(r, "port", json_object_new_int((int)client->port));
    json_object_object_add(r, "headers", headers_json(up, client));
    struct kp_args q = {0};
    if (kp_args_parse(up->query, up->query ? strlen(up->query) : 0, 100, &q) == 0) {
        json_object_object_add(r, "query", args_json(&q));
    }
    kp_args_free(&q);
    /* kong.request.get_body(): JSON or form bodies decoded; others nil (omitted) */
    const char *ct = kf_hdrs_get(&up->headers, "content-type");
    if (up->body && ct) {
        char *l = kp_lower_dup(ct);
        if (l && strstr(l, "application/json")) {
            bool nomem = false;
            json_object *b = kp_json_parse_whole(up->body, up->body_len, &nomem);
            if (b) {
                json_object_object_add(r, "body", b);
            }
        } else if (l && strstr(l, "application/x-www-form-urlencoded")) {
            struct kp_args fa = {0};
            if (kp_args_parse(up->body, up->body_len, 100, &fa) == 0) {
                json_object_object_add(r, "body", args_json(&fa));
            }
            kp_args_free(&fa);
        }
        free(l);
    }
    if (up->body) {
        json_object_object_add(r, "raw_body",
                               json_object_new_string_len(up->body, (int)up->body_len));
    }
    json_object_object_add(r, "method",
                           json_object_new_string(up->method ? up->method : client->method));
    char *path = kf_uri_normalize(client->path ? client->path : "/");
    json_object_object_add(r, "path", json_object_new_string(path ? path : ""));
    free(path);
    /* kong.request.get_uri_captures() (kong/pdk/request.lua:922-965) */
    json_object *caps = json_object_new_object(), *named = json_object_new_object(),
                *unnamed = json_object_new_array();
    for (size_t i = 0; m && i < m->n_captures; i++) {
        const char *nm = m->captures[i].name;
        if (!nm) {
            continue;
        }
        if (isdigit((unsigned char)nm[0])) {
            long idx = strtol(nm, NULL, 10);
            if (idx >= 1) {
                json_object_array_put_idx(
                    unnamed, (size_t)idx - 1,
                    json_object_new_string(m->captures[i].value ? m->captures[i].value : ""));
            }
        } else {
            json_object_object_add(
                named, nm,
                json_object_new_string(m->captures[i].value ? m->captures[i].value : ""));
        }
    }
    json_object_object_add(caps, "unnamed", unnamed);
    json_object_object_add(caps, "named", named);
    json_object_object_add(r, "uri_captures", caps);
    json_object_object_add(o, "request", r);
    return o;
}

/* Returns 0 (resp filled when it answered), KGC_ENOMEM. */
static int run_termination(json_object *cfg, const struct kf_client_req *client,
                           const struct kf_match *m, const struct kf_preq *up,
                           struct kf_presp *resp)
{
    long status = kp_cfg_int(cfg, "status_code", 503); /* schema.lua:16-20 */
    const char *message = kp_cfg_str(cfg, "message");
    const char *body = kp_cfg_str(cfg, "body");
    const char *ctype = kp_cfg_str(cfg, "content_type");
    const char *trigger = kp_cfg_str(cfg, "trigger");
    bool echo = kp_cfg_bool(cfg, "echo", false); /* schema.lua:24 */

    if (trigger) {
        /* handler.lua:26-35: the header (get_headers' __index: lower-case, '_' -> '-') or the
         * query argument must be there */
        bool found = false;
        char *lt = kp_lower_dup(trigger);
        if (!lt) {
            return KGC_ENOMEM;
        }
        char *nt = strdup(lt);
        if (!nt) {
            free(lt);
            return KGC_ENOMEM;
        }
        for (char *p = nt; *p; p++) {
            if (*p == '_') {
                *p = '-';
            }
        }
        for (size_t i = 0; i < up->headers.n && !found; i++) {
            char *hn = kp_lower_dup(up->headers.v[i].name);
            found = hn && (strcmp(hn, trigger) == 0 || strcmp(hn, nt) == 0);
            free(hn);
        }
        if (!found && (strcmp(lt, "host") == 0 || strcmp(nt, "host") == 0) &&
            (up->host || client->host)) {
            found = true;
        }
        free(lt);
        free(nt);
        if (!found) {
            struct kp_args q = {0};
            if (kp_args_parse(up->query, up->query ? strlen(up->query) : 0, 100, &q) != 0) {
                return KGC_ENOMEM;
            }
            found = kp_args_get(&q, trigger) != NULL;
            kp_args_free(&q);
        }
        if (!found) {
            return 0;
        }
    }
    if (echo) {
        json_object *o = echo_body(message ? message : default_message(status), client, m, up);
        if (!o) {
            return KGC_ENOMEM;
        }
        int rc = kp_exit(resp, (int)status, o, NULL, NULL);
        json_object_put(o);
        return rc;
    }
    if (body) {
        /* handler.lua:64-70: the raw body, Content-Type only when configured */
        return kp_exit(resp, (int)status, NULL, body, ctype);
    }
    const char *msg = message ? message : default_message(status);
    if (!msg) {
        return kp_exit(resp, (int)status, NULL, NULL, NULL);
    }
    json_object *o = json_object_new_object();
    if (!o) {
        return KGC_ENOMEM;
    }
    json_object_object_add(o, "message", json_object_new_string(msg));
    int rc = kp_exit(resp, (int)status, o, NULL, NULL);
    json_object_put(o);
    return rc;
}

/* ---- access phase ---------------------------------------------------------------------------- */

int kf_plugins_access(json_object *const *plugins, size_t n, const struct kf_client_req *client,
                      const struct kf_match *m, struct kf_preq *up, struct kf_presp *resp)
{
    struct slot *s = NULL;
    size_t k = 0;
    int rc = ordered(plugins, n, &s, &k);
    for (size_t i = 0; rc == 0 && i < k && !resp->short_circuit; i++) {
        if (strcmp(s[i].name, "request-transformer") == 0) {
            rc = kp_request_transformer(s[i].config, client, m, up);
            if (rc == KGC_EINVAL) {
                rc = kp_exit_unexpected(resp);
            }
        } else if (strcmp(s[i].name, "redirect") == 0) {
            rc = run_redirect(s[i].config, client, up, resp);
        } else if (strcmp(s[i].name, "request-termination") == 0) {
            rc = run_termination(s[i].config, client, m, up, resp);
        }
    }
    free(s);
    return rc;
}

/* ---- response-transformer (kong/plugins/response-transformer) -------------------------------- */

/* kong.tools.mime_type parse_mime_type + includes (application/json, or a "+json" suffix). */
static bool json_media(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++, n--;
    }
    static const char seps[] = "()<>@,;:\\\"/[]?={} \t";
    size_t i = 0;
    while (i < n && (unsigned char)s[i] > 31 && (unsigned char)s[i] < 127 && !strchr(seps, s[i])) {
        i++;
    }
    if (i == 0 || i >= n || s[i] != '/') {
        return false;
    }
    size_t tl = i++;
    size_t st = i;
    while (i < n && (unsigned char)s[i] > 31 && (unsigned char)s[i] < 127 && !strchr(seps, s[i])) {
        i++;
    }
    size_t sl = i - st;
    if (sl == 0) {
        return false;
    }
    if (tl != 11 || strncasecmp(s, "application", 11) != 0) {
        return false;
    }
    const char *sub = s + st;
    return (sl == 4 && strncasecmp(sub, "json", 4) == 0) ||
           (sl > 5 && strncasecmp(sub + sl - 5, "+json", 5) == 0);
}

bool kp_is_json_body(const char *ct)
{
    if (!ct) {
        return false;
    }
    /* header_transformer.lua:43-62: every ','-separated part is tried */
    for (;;) {
        size_t n = strcspn(ct, ",");
        if (json_media(ct, n)) {
            return true;
        }
        if (!ct[n]) {
            return false;
        }
        ct += n + 1;
    }
}

/* The names response headers get from ngx.header: '_' becomes '-'. */
static char *resp_name(const char *name)
{
    char *d = strdup(name);
    for (char *p = d; p && *p; p++) {
        if (*p == '_') {
            *p = '-';
        }
    }
    return d;
}

/* headers[name] on the ngx.resp.get_headers() snapshot (lower-case keys + __index). Returns the
 * matching lower-case key, or NULL. */
static bool snap_has(const struct kf_hdrs *snap, const char *key)
{
    for (size_t i = 0; i < snap->n; i++) {
        char *l = kp_lower_dup(snap->v[i].name);
        bool eq = l && strcmp(l, key) == 0;
        free(l);
        if (eq) {
            return true;
        }
    }
    return false;
}

static char *snap_key(const struct kf_hdrs *snap, const char *name)
{
    if (snap_has(snap, name)) {
        return strdup(name);
    }
    char *nk = kp_lower_dup(name);
    for (char *p = nk; p && *p; p++) {
        if (*p == '_') {
            *p = '-';
        }
    }
    if (nk && strcmp(nk, name) != 0 && snap_has(snap, nk)) {
        return nk;
    }
    free(nk);
    return NULL;
}

static bool rt_iter(json_object *arr, size_t i, char **name, const char **value)
{
    const char *e = kp_arr_str(arr, i), *n, *v;
    size_t nl, vl;
    if (!e || !kp_split_pair(e, &n, &nl, &v, &vl)) {
        return false;
    }
    *name = strndup(n, nl);
    *value = vl ? v : NULL;
    return *name != NULL;
}

static int resp_set(struct kf_hdrs *h, const char *name, const struct kf_hdrs *snap,
                    const char *snap_k, const char *value)
{
    char *n = resp_name(name);
    if (!n) {
        return KGC_ENOMEM;
    }
    kf_hdrs_del(h, n);
    int rc = 0;
    if (snap_k) {
        for (size_t i = 0; rc == 0 && i < snap->n; i++) {
            if (strcasecmp(snap->v[i].name, snap_k) == 0) {
                const char *v = snap->v[i].value;
                rc = kf_hdrs_add(h, n, *v ? v : " ");
            }
        }
    } else {
        rc = kf_hdrs_add(h, n, *value ? value : " ");
    }
    free(n);
    return rc;
}

static void resp_clear(struct kf_hdrs *h, const char *name)
{
    char *n = resp_name(name);
    if (n) {
        kf_hdrs_del(h, n);
    }
    free(n);
}

static bool body_transform_set(json_object *cfg)
{
    static const char *const secs[] = {"add", "rename", "remove", "replace", "append"};
    for (size_t i = 0; i < 5; i++) {
        if (kp_arr_len(kp_cfg_arr(cfg, secs[i], "json")) > 0) {
            return true;
        }
    }
    return false;
}

/* header_transformer.lua:86-128. The lookups use the snapshot taken before any change
 * (kong.response.get_headers() returns a copy: kong/pdk/response.lua:297-301). */
static int rt_header_filter(json_object *cfg, struct kf_presp *resp)
{
    struct kf_hdrs snap = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < resp->headers.n; i++) {
        rc = kf_hdrs_add(&snap, resp->headers.v[i].name, resp->headers.v[i].value);
    }
    char *name = NULL;
    const char *value = NULL;
    json_object *a = kp_cfg_arr(cfg, "remove", "headers");
    for (size_t i = 0; rc == 0 && i < kp_arr_len(a); i++) {
        if (rt_iter(a, i, &name, &value)) {
            resp_clear(&resp->headers, name);
        }
        free(name);
        name = NULL;
    }
    a = kp_cfg_arr(cfg, "rename", "headers");
    for (size_t i = 0; rc == 0 && i < kp_arr_len(a); i++) {
        if (rt_iter(a, i, &name, &value)) {
            char *k = snap_key(&snap, name);
            if (k && value) {
                rc = resp_set(&resp->headers, value, &snap, k, NULL);
                resp_clear(&resp->headers, name);
            }
            free(k);
        }
        free(name);
        name = NULL;
    }
    a = kp_cfg_arr(cfg, "replace", "headers");
    for (size_t i = 0; rc == 0 && i < kp_arr_len(a); i++) {
        if (rt_iter(a, i, &name, &value)) {
            char *k = snap_key(&snap, name);
            if (k && value) {
                rc = resp_set(&resp->headers, name, NULL, NULL, value);
            }
            free(k);
        }
        free(name);
        name = NULL;
    }
    a = kp_cfg_arr(cfg, "add", "headers");
    for (size_t i = 0; rc == 0 && i < kp_arr_len(a); i++) {
        if (rt_iter(a, i, &name, &value)) {
            char *k = snap_key(&snap, name);
            if (!k && value) {
                rc = resp_set(&resp->headers, name, NULL, NULL, value);
            }
            free(k);
        }
        free(name);
        name = NULL;
    }
    a = kp_cfg_arr(cfg, "append", "headers");
    for (size_t i = 0; rc == 0 && i < kp_arr_len(a); i++) {
        if (rt_iter(a, i, &name, &value) && value) {
            char *n = resp_name(name);
            rc = n ? kf_hdrs_add(&resp->headers, n, value) : KGC_ENOMEM;
            free(n);
        }
        free(name);
        name = NULL;
    }
    if (rc == 0 && body_transform_set(cfg)) {
        char *k = snap_key(&snap, "Content-Type");
        if (k && kp_is_json_body(kf_hdrs_get(&snap, k))) {
            kf_hdrs_del(&resp->headers, "Content-Length"); /* header_transformer.lua:124-127 */
        }
        free(k);
    }
    kf_hdrs_free(&snap);
    return rc;
}

/* body_transformer.lua:51-64: the value through cjson.encode, quotes stripped, \" and \/
 * unescaped, then cast by json_types. Returns NULL for Lua nil (a failed tonumber). */
static json_object *rt_json_value(const char *value, const char *type)
{
    struct kf_buf b = {0};
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        switch (*p) {
        case '\\':
            kf_buf_puts(&b, "\\\\");
            break;
        case '\b':
            kf_buf_puts(&b, "\\b");
            break;
        case '\f':
            kf_buf_puts(&b, "\\f");
            break;
        case '\n':
            kf_buf_puts(&b, "\\n");
            break;
        case '\r':
            kf_buf_puts(&b, "\\r");
            break;
        case '\t':
            kf_buf_puts(&b, "\\t");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                char e[8];
                snprintf(e, sizeof(e), "\\u%04x", *p);
                kf_buf_puts(&b, e);
            } else {
                kf_buf_ch(&b, (char)*p); /* '"' and '/' come back unescaped */
            }
        }
    }
    char *v = kf_buf_take(&b);
    if (!v) {
        return NULL;
    }
    json_object *o = NULL;
    if (type && strcmp(type, "number") == 0) {
        char *end = NULL;
        const char *s = v;
        while (isspace((unsigned char)*s)) {
            s++;
        }
        double d = *s ? strtod(s, &end) : 0;
        while (end && isspace((unsigned char)*end)) {
            end++;
        }
        if (*s && end && !*end && isfinite(d)) {
            char num[64];
            snprintf(num, sizeof(num), "%.14g", d); /* cjson's number format */
            o = json_object_new_double_s(d, num);
        }
    } else if (type && strcmp(type, "boolean") == 0) {
        o = json_object_new_boolean(strcmp(v, "true") == 0);
    } else {
        o = json_object_new_string(v);
    }
    free(v);
    return o;
}

static bool json_truthy(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v)) {
        return false;
    }
    return !(v && json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v));
}

/* body_transformer.lua:115-166. Returns the new body (caller frees) or NULL when unchanged. */
static char *rt_transform_json(json_object *cfg, const char *body, size_t len)
{
    if (!body) {
        return NULL;
    }
    struct json_tokener *tok = json_tokener_new();
    if (!tok) {
        return NULL;
    }
    json_object *j = json_tokener_parse_ex(tok, body, (int)len);
    bool ok = json_tokener_get_error(tok) == json_tokener_success && tok->char_offset == (int)len;
    json_tokener_free(tok);
    if (!ok || !j || !json_object_is_type(j, json_type_object)) {
        json_object_put(j); /* "failed parsing json body": left alone */
        return NULL;
    }
    char *name = NULL;
    const char *value = NULL;
    json_object *a = kp_cfg_arr(cfg, "remove", "json");
    for (size_t i = 0; i < kp_arr_len(a); i++) {
        if (rt_iter(a, i, &name, &value)) {
            json_object_object_del(j, name);
        }
        free(name);
        name = NULL;
    }
    a = kp_cfg_arr(cfg, "rename", "json");
    for (size_t i = 0; i < kp_arr_len(a); i++) {
        json_object *v = NULL;
        if (rt_iter(a, i, &name, &value) && value && json_object_object_get_ex(j, name, &v)) {
            json_object_get(v);
            json_object_object_add(j, value, v);
            json_object_object_del(j, name); /* same name: removed (Lua order) */
        }
        free(name);
        name = NULL;
    }
    static const char *const secs[] = {"replace", "add", "append"};
    for (size_t s = 0; s < 3; s++) {
        a = kp_cfg_arr(cfg, secs[s], "json");
        json_object *types = kp_cfg_arr(cfg, secs[s], "json_types");
        for (size_t i = 0; i < kp_arr_len(a); i++) {
            if (!rt_iter(a, i, &name, &value)) {
                free(name);
                name = NULL;
                continue;
            }
            /* a missing value is nil: cjson.encode(nil) is "null" (not quoted), which is
             * then cast like any other text */
            const char *ty = kp_arr_str(types, i);
            json_object *v = NULL;
            if (value) {
                v = rt_json_value(value, ty);
            } else if (ty && strcmp(ty, "boolean") == 0) {
                v = json_object_new_boolean(0);
            } else if (!ty || strcmp(ty, "number") != 0) {
                v = json_object_new_string("null");
            }
            if (!v) { /* tonumber failed: nil, nothing set */
                free(name);
                name = NULL;
                continue;
            }
            if (s == 0) {
                if (json_truthy(j, name)) {
                    json_object_object_add(j, name, v);
                    v = NULL;
                }
            } else if (s == 1) {
                if (!json_truthy(j, name)) {
                    json_object_object_add(j, name, v);
                    v = NULL;
                }
            } else {
                json_object *cur = NULL;
                json_object_object_get_ex(j, name, &cur);
                if (cur && json_object_is_type(cur, json_type_array)) {
                    json_object_array_add(cur, v);
                } else if (cur && json_object_is_type(cur, json_type_string)) {
                    json_object *arr = json_object_new_array();
                    json_object_array_add(arr, json_object_get(cur));
                    json_object_array_add(arr, v);
                    json_object_object_add(j, name, arr);
                } else if (cur && json_object_is_type(cur, json_type_object)) {
                    json_object_object_add(cur, "1", v); /* table.insert on a hash: key 1 */
                } else {
                    json_object *arr = json_object_new_array();
                    json_object_array_add(arr, v);
                    json_object_object_add(j, name, arr);
                }
                v = NULL;
            }
            json_object_put(v);
            free(name);
            name = NULL;
        }
    }
    const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
    char *out = s ? strdup(s) : NULL;
    json_object_put(j);
    return out;
}

int kf_plugins_response(json_object *const *plugins, size_t n, const struct kf_client_req *client,
                        struct kf_presp *resp)
{
    (void)client;
    struct slot *s = NULL;
    size_t k = 0;
    int rc = ordered(plugins, n, &s, &k);
    /* header_filter of every collected plugin, then body_filter (kong/init.lua:1641,1713) */
    for (size_t i = 0; rc == 0 && i < k; i++) {
        if (strcmp(s[i].name, "response-transformer") == 0) {
            rc = rt_header_filter(s[i].config, resp);
        }
    }
    for (size_t i = 0; rc == 0 && i < k; i++) {
        if (strcmp(s[i].name, "response-transformer") != 0 || !body_transform_set(s[i].config) ||
            !kp_is_json_body(kf_hdrs_get(&resp->headers, "Content-Type"))) {
            continue; /* handler.lua:26-32 */
        }
        char *nb = rt_transform_json(s[i].config, resp->body, resp->body_len);
        if (nb) {
            free(resp->body);
            resp->body = nb;
            resp->body_len = strlen(nb);
        }
    }
    free(s);
    return rc;
}

/* Filters → plugins: checks a rule's filters (what drops the rule, what is ignored), plans a
 * RequestRedirect or URLRewrite for one match (its Location or replace.uri, and the narrowing or
 * capture of the path they need), and builds the plugins of one Kong route (redirect,
 * request-termination, request-/response-transformer). Calls context.c and kong_values.c only. */
#include "translate_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- transformer configurations -------------------------------------------------------------- */

/* A growable list of strings (owned). */
struct strv {
    char **v;
    size_t n;
};

static void strv_add(struct tr_ctx *c, struct strv *s, char *str /* consumed */)
{
    if (!str)
        return;
    char **grown = realloc(s->v, (s->n + 1) * sizeof(*grown));
    if (!grown) {
        free(str);
        c->oom = true;
        return;
    }
    s->v = grown;
    s->v[s->n++] = str;
}

static void strv_free(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static json_object *strv_json(struct tr_ctx *c, const struct strv *s)
{
    json_object *a = tr_jarr(c);
    for (size_t i = 0; i < s->n; i++)
        tr_jpush(c, a, tr_jstr(c, s->v[i]));
    return a;
}

/* request-/response-transformer configuration being built. */
struct transformer {
    struct strv add, append, remove, replace;
    char *uri; /* replace.uri (request-transformer only) */
};

static void transformer_free(struct transformer *t)
{
    strv_free(&t->add);
    strv_free(&t->append);
    strv_free(&t->remove);
    strv_free(&t->replace);
    free(t->uri);
}

static bool transformer_empty(const struct transformer *t)
{
    return !t->add.n && !t->append.n && !t->remove.n && !t->replace.n && !t->uri;
}

static json_object *headers_section(struct tr_ctx *c, const struct strv *h, const char *uri)
{
    json_object *o = tr_jobj(c);
    if (h->n)
        tr_jset(c, o, "headers", strv_json(c, h));
    if (uri)
        tr_jset(c, o, "uri", tr_jstr(c, uri));
    return o;
}

static json_object *transformer_config(struct tr_ctx *c, const struct transformer *t)
{
    json_object *cfg = tr_jobj(c);
    if (t->add.n)
        tr_jset(c, cfg, "add", headers_section(c, &t->add, NULL));
    if (t->append.n)
        tr_jset(c, cfg, "append", headers_section(c, &t->append, NULL));
    if (t->remove.n)
        tr_jset(c, cfg, "remove", headers_section(c, &t->remove, NULL));
    if (t->replace.n || t->uri)
        tr_jset(c, cfg, "replace", headers_section(c, &t->replace, t->uri));
    return cfg;
}

static void apply_header_modifier(struct tr_ctx *c, struct transformer *t,
                                  const struct kgc_api_http_header_modifier *m)
{
    for (uint32_t i = 0; i < m->n_set; i++) {
        strv_add(c, &t->replace, tr_printf(c, "%s:%s", m->set[i].key, m->set[i].value));
        strv_add(c, &t->add, tr_printf(c, "%s:%s", m->set[i].key, m->set[i].value));
    }
    for (uint32_t i = 0; i < m->n_add; i++)
        strv_add(c, &t->append, tr_printf(c, "%s:%s", m->add[i].key, m->add[i].value));
    for (uint32_t i = 0; i < m->n_remove; i++)
        strv_add(c, &t->remove, tr_strdup(c, m->remove[i]));
}

/* ---- checking a rule's filters --------------------------------------------------------------- */

/* A value that goes into a transformer plugin: Kong expands "$(...)" there as Lua. */
static bool plugin_value(const char *s)
{
    return tr_text_value(s) && !strstr(s, "$(");
}

static const char *header_modifier_problem(const struct kgc_api_http_header_modifier *m)
{
    if (!m)
        return "the filter has no configuration";
    for (uint32_t i = 0; i < m->n_set; i++) {
        if (!tr_header_name(m->set[i].key) || !plugin_value(m->set[i].value))
            return "a header name or value Kong cannot carry (names: A-Z a-z 0-9 - _; values: "
                   "printable, no \"$(\")";
    }
    for (uint32_t i = 0; i < m->n_add; i++) {
        if (!tr_header_name(m->add[i].key) || !plugin_value(m->add[i].value))
            return "a header name or value Kong cannot carry (names: A-Z a-z 0-9 - _; values: "
                   "printable, no \"$(\")";
    }
    for (uint32_t i = 0; i < m->n_remove; i++) {
        if (!tr_header_name(m->remove[i]))
            return "a header name Kong cannot carry (A-Z a-z 0-9 - _)";
    }
    return NULL;
}

static const char *path_modifier_problem(const struct kgc_api_http_path_modifier *p)
{
    if (!p)
        return NULL;
    const char *v = NULL;
    if (p->type && strcmp(p->type, "ReplaceFullPath") == 0)
        v = p->replace_full_path;
    else if (p->type && strcmp(p->type, "ReplacePrefixMatch") == 0)
        v = p->replace_prefix_match;
    else
        return "an unknown path modifier type";
    /* an empty ReplacePrefixMatch is the spec's "<empty string>" rows: the same as "/" */
    if (v && !v[0] && p->replace_prefix_match == v)
        return NULL;
    if (!v || !tr_path_value(v) || strstr(v, "$("))
        return "a path Kong cannot carry (must start with /, no //, no \"$(\")";
    return NULL;
}

/* Checks the rule's filters; false (with the problem recorded) when the rule cannot be served as
 * specified and must be dropped. Unsupported filters that only add behaviour are DEGRADED. */
bool tr_check_filters(struct route_ctx *rc, uint32_t ri, struct rule_filters *f)
{
    struct tr_ctx *c = rc->c;
    const struct kgc_api_http_route_rule *rule = &rc->r->rules[ri];
    memset(f, 0, sizeof(*f));
#define DROP(...)                                                                                  \
    do {                                                                                           \
        tr_problem(c, rc->r->obj.kind, rc->ns, rc->name, (int32_t)ri, -1, KGC_TRANSLATE_DROPPED,   \
                   __VA_ARGS__);                                                                   \
        return false;                                                                              \
    } while (0)
    for (uint32_t bi = 0; bi < rule->n_backend_refs; bi++) {
        if (rule->backend_refs[bi].n_filters)
            DROP("backendRefs[%u] has filters: Kong applies filters per route, not per backend",
                 bi);
    }
    for (uint32_t i = 0; i < rule->n_filters; i++) {
        const struct kgc_api_http_filter *fl = &rule->filters[i];
        const char *type = fl->type ? fl->type : "";
        const char *why;
        if (strcmp(type, "RequestHeaderModifier") == 0) {
            if ((why = header_modifier_problem(fl->request_header_modifier)))
                DROP("filters[%u] RequestHeaderModifier: %s", i, why);
        } else if (strcmp(type, "ResponseHeaderModifier") == 0) {
            if ((why = header_modifier_problem(fl->response_header_modifier)))
                DROP("filters[%u] ResponseHeaderModifier: %s", i, why);
        } else if (strcmp(type, "RequestRedirect") == 0) {
            const struct kgc_api_http_redirect *rd = fl->request_redirect;
            if (!rd)
                DROP("filters[%u] RequestRedirect has no configuration", i);
            if (f->redirect || f->rewrite)
                DROP("filters[%u] RequestRedirect cannot be combined with another "
                     "RequestRedirect or URLRewrite",
                     i);
            if (rd->scheme && strcmp(rd->scheme, "http") != 0 && strcmp(rd->scheme, "https") != 0)
                DROP("filters[%u] RequestRedirect scheme \"%.32s\" is not http or https", i,
                     rd->scheme);
            if (rd->hostname && !tr_hostname(rd->hostname, false))
                DROP("filters[%u] RequestRedirect hostname is not a valid hostname", i);
            if (rd->port < 0 || rd->port > 65535)
                DROP("filters[%u] RequestRedirect port %d is out of range", i, rd->port);
            if (rd->status_code && (rd->status_code < 300 || rd->status_code > 399))
                DROP("filters[%u] RequestRedirect statusCode %d is not a redirect", i,
                     rd->status_code);
            if ((why = path_modifier_problem(rd->path)))
                DROP("filters[%u] RequestRedirect has %s", i, why);
            f->redirect = rd;
        } else if (strcmp(type, "URLRewrite") == 0) {
            const struct kgc_api_http_rewrite *rw = fl->url_rewrite;
            if (!rw || (!rw->hostname && !rw->path))
                DROP("filters[%u] URLRewrite rewrites nothing", i);
            if (f->redirect || f->rewrite)
                DROP("filters[%u] URLRewrite cannot be combined with another URLRewrite or "
                     "RequestRedirect",
                     i);
            if (rw->hostname && (!tr_hostname(rw->hostname, false) || !plugin_value(rw->hostname)))
                DROP("filters[%u] URLRewrite hostname is not a valid hostname", i);
            if ((why = path_modifier_problem(rw->path)))
                DROP("filters[%u] URLRewrite has %s", i, why);
            f->rewrite = rw;
        } else if (strcmp(type, "RequestMirror") == 0 || strcmp(type, "CORS") == 0) {
            /* they add behaviour; the rule still serves its traffic correctly without them */
            tr_problem(c, rc->r->obj.kind, rc->ns, rc->name, (int32_t)ri, -1,
                       KGC_TRANSLATE_DEGRADED, "filters[%u] %s is not supported: ignored", i, type);
        } else if (tr_is_plugin_filter(fl)) {
            /* a Kong plugin: plugins.c attaches it, or makes the rule answer 500 */
        } else {
            /* ExtensionRef and unknown types may guard the traffic (authentication, ...):
             * serving the rule without them could expose it, so the rule goes */
            DROP("filters[%u] %.64s is not supported; the rule is not served without it", i,
                 type[0] ? type : "(no type)");
        }
    }
    return true;
#undef DROP
}

/* ---- redirects and rewrites, per match ------------------------------------------------------- */

/* ReplacePrefixMatch r applied to the matched prefix itself (nothing after it): r without its
 * trailing '/', or "/" when that leaves nothing (the spec's table: "/foo" with "/", or with the
 * empty string, gives "/"; "/xyz/" joins as "/xyz"). The rewrite uses the same rule. */
static const char *prefix_replaced(const char *r, char *buf, size_t size)
{
    snprintf(buf, size, "%s", r);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '/')
        buf[--n] = '\0';
    return n ? buf : "/";
}

/* The static path a redirect can send for this match, narrowing a PathPrefix to its own path
 * when the rest of the path would have to be carried over. NULL: not expressible. */
static const char *redirect_static_path(struct route_ctx *rc, struct match_plan *mp,
                                        const char *replacement, const char *what, char *buf,
                                        size_t size)
{
    if (mp->path.kind == PATH_REGEX) {
        MATCH_DROP(rc, mp,
                   "%s needs the request path, which Kong cannot put into a static "
                   "Location for a RegularExpression match",
                   what);
        return NULL;
    }
    if (mp->path.kind == PATH_PREFIX) {
        mp->path.exact_only = true;
        MATCH_DEGRADED(rc, mp,
                       "matches[%u]: %s: only %s itself is redirected (Kong's Location is "
                       "static), its sub-paths are not routed by this rule",
                       mp->match, what, mp->path.value);
    }
    return replacement ? prefix_replaced(replacement, buf, size) : mp->path.value;
}

bool tr_plan_redirect(struct route_ctx *rc, struct match_plan *mp,
                      const struct kgc_api_http_redirect *rd)
{
    struct tr_ctx *c = rc->c;
    struct redirect_plan *p = &mp->redirect;
    mp->has_redirect = true;
    p->status = rd->status_code ? rd->status_code : 302;
    const char *host = rd->hostname;
    if (!host && !rc->any_host && rc->n_hosts == 1 && !tr_is_wildcard(rc->hosts[0]))
        host = rc->hosts[0]; /* the only host this route answers for */
    enum { KEEP, FULL, PREFIX } mode = KEEP;
    if (rd->path && rd->path->type && strcmp(rd->path->type, "ReplaceFullPath") == 0)
        mode = FULL;
    else if (rd->path)
        mode = PREFIX;
    bool absolute = rd->hostname || rd->scheme || rd->port;
    char pbuf[1100];

    if (!host) {
        if (absolute) {
            bool to_https = rd->scheme && strcmp(rd->scheme, "https") == 0 &&
                            (!rd->port || rd->port == 443) && !rd->hostname && mode == KEEP;
            bool kong_code =
                p->status == 301 || p->status == 302 || p->status == 307 || p->status == 308;
            if (to_https && kong_code) {
                p->https_only = true;
                return true;
            }
            MATCH_DROP(rc, mp,
                       "the redirect needs the request's host, which Kong cannot put "
                       "into a static Location: set requestRedirect.hostname or give the "
                       "route a single hostname");
            return false;
        }
        /* same scheme, host and port: a relative Location */
        const char *path =
            mode == FULL
                ? rd->path->replace_full_path
                : redirect_static_path(
                      rc, mp, mode == PREFIX ? rd->path->replace_prefix_match : NULL,
                      mode == PREFIX ? "the prefix redirect" : "the redirect", pbuf, sizeof(pbuf));
        if (!path)
            return false;
        tr_problem(c, rc->r->obj.kind, rc->ns, rc->name, (int32_t)mp->rule, -1,
                   KGC_TRANSLATE_LIMITATION,
                   "matches[%u]: relative Location (Kong cannot add the request's host; set "
                   "requestRedirect.hostname)",
                   mp->match);
        p->location = tr_strdup(c, path);
        return true;
    }
    const char *scheme = rd->scheme;
    if (!scheme) {
        if (rc->https && !rc->http) {
            scheme = "https";
        } else {
            scheme = "http";
            if (rc->https)
                MATCH_DEGRADED(rc, mp,
                               "matches[%u]: the route serves HTTP and HTTPS listeners; "
                               "the redirect keeps scheme http",
                               mp->match);
        }
    }
    /* the spec's port: the given one; the scheme's well-known one when a scheme is given; else
     * the listener's, which is only known when the route's listeners share one port */
    int32_t port = rd->port ? rd->port : (rd->scheme ? 0 : rc->port);
    if (!rd->port && !rd->scheme && rc->port_set && !rc->port)
        MATCH_DEGRADED(rc, mp,
                       "matches[%u]: the route's listeners have different ports; the redirect's "
                       "Location names none (the scheme's default port)",
                       mp->match);
    bool https = strcmp(scheme, "https") == 0;
    if (port == (https ? 443 : 80))
        port = 0;
    char base[400];
    if (port)
        snprintf(base, sizeof(base), "%s://%s:%d", scheme, host, port);
    else
        snprintf(base, sizeof(base), "%s://%s", scheme, host);
    if (mode == KEEP && c->redirect_plugin) {
        p->plugin = true;
        p->keep_path = true;
        p->location = tr_strdup(c, base);
        return true;
    }
    const char *path =
        mode == FULL ? rd->path->replace_full_path
                     : redirect_static_path(
                           rc, mp, mode == PREFIX ? rd->path->replace_prefix_match : NULL,
                           mode == PREFIX ? "the prefix redirect" : "keeping the path (Kong < 3.9)",
                           pbuf, sizeof(pbuf));
    if (!path)
        return false;
    p->plugin = c->redirect_plugin;
    p->location = tr_printf(c, "%s%s", base, path);
    return true;
}

/* URLRewrite's path into replace.uri (and, for a prefix, a capture of the rest of the path). */
bool tr_plan_rewrite(struct route_ctx *rc, struct match_plan *mp,
                     const struct kgc_api_http_rewrite *rw)
{
    struct tr_ctx *c = rc->c;
    if (!rw->path)
        return true;
    if (strcmp(rw->path->type, "ReplaceFullPath") == 0) {
        mp->uri = tr_strdup(c, rw->path->replace_full_path);
        return true;
    }
    char repl[1100];
    snprintf(repl, sizeof(repl), "%s", rw->path->replace_prefix_match);
    size_t rl = strlen(repl);
    while (rl > 0 && repl[rl - 1] == '/')
        repl[--rl] = '\0';
    if (mp->path.kind == PATH_EXACT) { /* the whole path is the prefix */
        mp->uri = tr_strdup(c, rl ? repl : "/");
        return true;
    }
    if (mp->path.kind == PATH_REGEX) {
        MATCH_DROP(rc, mp, "URLRewrite ReplacePrefixMatch needs a PathPrefix match");
        return false;
    }
    mp->path.capture = true;
    if (strcmp(mp->path.value, "/") == 0) /* the capture is the rest without its '/' */
        mp->uri = rl ? tr_printf(c,
                                 "%s$((uri_captures[1] or \"\") == \"\" and \"\" or \"/\" .. "
                                 "uri_captures[1])",
                                 repl)
                     : tr_strdup(c, "/$(uri_captures[1] or \"\")");
    else /* the capture is "/rest", or nothing for the prefix itself */
        mp->uri = rl ? tr_printf(c, "%s$(uri_captures[1] or \"\")", repl)
                     : tr_strdup(c, "$(uri_captures[1] or \"/\")");
    return true;
}

/* ---- plugins --------------------------------------------------------------------------------- */

json_object *tr_plugin(struct tr_ctx *c, const char *name, json_object *config, json_object *tags)
{
    json_object *p = tr_jobj(c);
    tr_jset(c, p, "name", tr_jstr(c, name));
    tr_jset(c, p, "config", config);
    tr_jset(c, p, "tags", tags);
    c->counts.plugins++;
    return p;
}

/* The plugins of one Kong route, in name order, or NULL when it has none. */
json_object *tr_route_plugins(struct route_ctx *rc, const struct match_plan *mp,
                              const struct rule_filters *f, json_object *tags)
{
    struct tr_ctx *c = rc->c;
    const struct kgc_api_http_route_rule *rule = &rc->r->rules[mp->rule];
    struct transformer req = {0}, resp = {0};
    for (uint32_t i = 0; i < rule->n_filters; i++) {
        const struct kgc_api_http_filter *fl = &rule->filters[i];
        if (!fl->type)
            continue;
        if (strcmp(fl->type, "RequestHeaderModifier") == 0)
            apply_header_modifier(c, &req, fl->request_header_modifier);
        else if (strcmp(fl->type, "ResponseHeaderModifier") == 0)
            apply_header_modifier(c, &resp, fl->response_header_modifier);
    }
    if (f->rewrite && f->rewrite->hostname) {
        strv_add(c, &req.replace, tr_printf(c, "host:%s", f->rewrite->hostname));
        strv_add(c, &req.add, tr_printf(c, "host:%s", f->rewrite->hostname));
    }
    if (mp->uri)
        req.uri = tr_strdup(c, mp->uri);
    const struct redirect_plan *rp = &mp->redirect;
    bool fallback = mp->has_redirect && !rp->plugin && !rp->https_only;
    if (fallback)
        strv_add(c, &resp.add, tr_printf(c, "Location:%s", rp->location));

    json_object *list = tr_jarr(c);
    if (mp->has_redirect && rp->plugin) {
        json_object *cfg = tr_jobj(c);
        tr_jset(c, cfg, "status_code", tr_jint(c, rp->status));
        tr_jset(c, cfg, "location", tr_jstr(c, rp->location));
        tr_jset(c, cfg, "keep_incoming_path", json_object_new_boolean(rp->keep_path));
        tr_jpush(c, list, tr_plugin(c, "redirect", cfg, tr_jref(tags)));
    }
    if (fallback) {
        json_object *cfg = tr_jobj(c);
        tr_jset(c, cfg, "status_code", tr_jint(c, rp->status));
        tr_jpush(c, list, tr_plugin(c, "request-termination", cfg, tr_jref(tags)));
    }
    if (!transformer_empty(&req))
        tr_jpush(c, list,
                 tr_plugin(c, "request-transformer", transformer_config(c, &req), tr_jref(tags)));
    if (!transformer_empty(&resp))
        tr_jpush(c, list,
                 tr_plugin(c, "response-transformer", transformer_config(c, &resp), tr_jref(tags)));
    transformer_free(&req);
    transformer_free(&resp);
    if (list && json_object_array_length(list) == 0) {
        json_object_put(list);
        return NULL;
    }
    return list;
}

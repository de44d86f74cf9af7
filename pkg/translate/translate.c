/* The translator: snapshot → Kong declarative configuration. One pass over the HTTPRoutes in
 * namespace/name order builds a service per rule (with its Kong routes and plugins) and an
 * upstream per rule with ready endpoints; then every Kong route is ranked by the Gateway API
 * precedence, the TLS certificates of HTTPS listeners are added, and the document is serialized.
 * README.md beside this file says why each mapping is what it is. */
#include "translate_internal.h"

#include "kgc/digest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void free_problems(struct kgc_translate_problem *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].namespace);
        free(p[i].name);
        free(p[i].message);
    }
    free(p);
}

/* ---- one HTTPRoute: where it is attached ----------------------------------------------------- */

struct route_ctx {
    struct tr_ctx *c;
    const struct kgc_api_httproute *r;
    const char *ns, *name;
    char **hosts; /* effective hostnames (route ∩ listeners), sorted, unique */
    size_t n_hosts;
    bool any_host;    /* some listener/route pair matches every hostname */
    bool http, https; /* protocols of the listeners it is attached to */
    int32_t port;     /* their port when they all share it, else 0 */
    bool port_set;
};

static void route_ctx_free(struct route_ctx *rc)
{
    if (!rc)
        return;
    for (size_t i = 0; i < rc->n_hosts; i++)
        free(rc->hosts[i]);
    free(rc->hosts);
    free(rc);
}

static bool is_wildcard(const char *h)
{
    return h && h[0] == '*';
}

static void add_host(struct route_ctx *rc, const char *h)
{
    for (size_t i = 0; i < rc->n_hosts; i++) {
        if (strcasecmp(rc->hosts[i], h) == 0)
            return;
    }
    char **grown = realloc(rc->hosts, (rc->n_hosts + 1) * sizeof(*grown));
    char *copy = tr_strdup(rc->c, h);
    if (!grown || !copy) {
        free(copy);
        if (grown)
            rc->hosts = grown;
        rc->c->oom = true;
        return;
    }
    rc->hosts = grown;
    rc->hosts[rc->n_hosts++] = copy;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The hostnames one (route, listener) pair matches: the Gateway API intersection. */
static void intersect_hosts(struct route_ctx *rc, const char *lh)
{
    const struct kgc_api_httproute *r = rc->r;
    if (lh && !lh[0])
        lh = NULL;
    if (r->n_hostnames == 0) {
        if (lh)
            add_host(rc, lh);
        else
            rc->any_host = true;
        return;
    }
    for (uint32_t i = 0; i < r->n_hostnames; i++) {
        const char *h = r->hostnames[i];
        if (!h || !kgc_status_hostnames_intersect(h, lh))
            continue;
        if (!lh || !is_wildcard(h))
            add_host(rc, h);
        else if (!is_wildcard(lh))
            add_host(rc, lh);
        else
            add_host(rc, strlen(h) >= strlen(lh) ? h : lh);
    }
}

/* Fills hosts, protocols and port from the route's attachments. Returns false when the route is
 * attached nowhere kgc serves (nothing to translate, nothing to report). */
static bool route_attach(struct route_ctx *rc)
{
    struct tr_ctx *c = rc->c;
    struct kgc_status_attachment *att = NULL;
    size_t n = 0;
    struct kgc_err err = {0};
    if (kgc_status_httproute_attachments(&c->so, c->lk, rc->r, &att, &n, &err) != 0) {
        if (err.code == KGC_ENOMEM)
            c->oom = true;
        return false;
    }
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        const struct kgc_api_obj *o =
            c->lk->get(c->lk->ctx, KGC_API_GATEWAY, att[i].gateway_namespace, att[i].gateway_name);
        const struct kgc_api_gateway *gw = kgc_api_as_gateway(o);
        uint32_t li = att[i].listener_index;
        if (!gw || li >= gw->n_listeners ||
            (c->in->listener_usable &&
             !c->in->listener_usable(c->in->listener_usable_ctx, gw, li))) {
            kgc_api_obj_unref(o);
            continue;
        }
        const struct kgc_api_listener *l = &gw->listeners[li];
        bool https = l->protocol && strcmp(l->protocol, "HTTPS") == 0;
        bool http = l->protocol && strcmp(l->protocol, "HTTP") == 0;
        if (https && l->tls && l->tls->mode && strcmp(l->tls->mode, "Terminate") != 0)
            https = false;
        if (!http && !https) {
            kgc_api_obj_unref(o);
            continue;
        }
        any = true;
        rc->http |= http;
        rc->https |= https;
        if (!rc->port_set) {
            rc->port = l->port;
            rc->port_set = true;
        } else if (rc->port != l->port) {
            rc->port = 0;
        }
        intersect_hosts(rc, l->hostname);
        kgc_api_obj_unref(o);
    }
    free(att);
    if (!any)
        return false;
    /* keep only hostnames Kong can match; never widen to "any" by dropping them all */
    size_t w = 0;
    for (size_t i = 0; i < rc->n_hosts; i++) {
        if (tr_hostname(rc->hosts[i], true)) { /* lower-case only, as the Gateway API's */
            rc->hosts[w++] = rc->hosts[i];
        } else {
            tr_problem(c, KGC_API_HTTPROUTE, rc->ns, rc->name, -1, -1, KGC_TRANSLATE_DEGRADED,
                       "hostname \"%.253s\" is not a valid Gateway API hostname: ignored",
                       rc->hosts[i]);
            free(rc->hosts[i]);
        }
    }
    rc->n_hosts = w;
    if (rc->n_hosts > 1)
        qsort(rc->hosts, rc->n_hosts, sizeof(*rc->hosts), cmp_cstr);
    if (rc->any_host) {
        for (size_t i = 0; i < rc->n_hosts; i++)
            free(rc->hosts[i]);
        rc->n_hosts = 0;
    } else if (rc->n_hosts == 0) {
        tr_problem(c, KGC_API_HTTPROUTE, rc->ns, rc->name, -1, -1, KGC_TRANSLATE_DROPPED,
                   "no hostname of the route can be expressed in Kong");
        return false;
    }
    return true;
}

/* ---- filters --------------------------------------------------------------------------------- */

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
    if (!v || !tr_path_value(v) || strstr(v, "$("))
        return "a path Kong cannot carry (must start with /, no //, no \"$(\")";
    return NULL;
}

/* What a rule's filters ask for, once checked. */
struct rule_filters {
    const struct kgc_api_http_redirect *redirect;
    const struct kgc_api_http_rewrite *rewrite;
};

/* Checks the rule's filters; false (with the problem recorded) when the rule cannot be served as
 * specified and must be dropped. Unsupported filters that only add behaviour are DEGRADED. */
static bool check_filters(struct route_ctx *rc, uint32_t ri, struct rule_filters *f)
{
    struct tr_ctx *c = rc->c;
    const struct kgc_api_http_route_rule *rule = &rc->r->rules[ri];
    memset(f, 0, sizeof(*f));
#define DROP(...)                                                                                  \
    do {                                                                                           \
        tr_problem(c, KGC_API_HTTPROUTE, rc->ns, rc->name, (int32_t)ri, -1, KGC_TRANSLATE_DROPPED, \
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
            tr_problem(c, KGC_API_HTTPROUTE, rc->ns, rc->name, (int32_t)ri, -1,
                       KGC_TRANSLATE_DEGRADED, "filters[%u] %s is not supported: ignored", i, type);
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

/* ---- matches --------------------------------------------------------------------------------- */

enum path_kind { PATH_PREFIX = 0, PATH_REGEX = 1, PATH_EXACT = 2 };

/* How a match's path is put into the Kong route. */
struct path_plan {
    enum path_kind kind;
    char value[1100]; /* Exact/Regex as given; PathPrefix without its trailing '/' (or "/") */
    bool exact_only;  /* a PathPrefix narrowed to its own path (static redirect) */
    bool capture;     /* a PathPrefix with a capture of the rest (ReplacePrefixMatch rewrite) */
};

/* One header or query parameter match, after the Gateway API's "first entry wins" rule. */
struct value_match {
    const char *name;
    const char *value;
    bool regex;
};

/* Headers (case-insensitive names) or query params (exact names): first entry of a name wins. */
static size_t unique_matches(const struct kgc_api_http_value_match *in, uint32_t n,
                             bool case_insensitive, struct value_match *out)
{
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!in[i].name)
            continue;
        bool seen = false;
        for (size_t j = 0; j < k && !seen; j++)
            seen = case_insensitive ? strcasecmp(out[j].name, in[i].name) == 0
                                    : strcmp(out[j].name, in[i].name) == 0;
        if (seen)
            continue;
        out[k].name = in[i].name;
        out[k].value = in[i].value;
        out[k].regex = in[i].type && strcmp(in[i].type, "RegularExpression") == 0;
        k++;
    }
    /* sorted by name: the same matches in another order give the same configuration */
    for (size_t i = 1; i < k; i++) {
        for (size_t j = i; j > 0; j--) {
            int r = case_insensitive ? strcasecmp(out[j - 1].name, out[j].name)
                                     : strcmp(out[j - 1].name, out[j].name);
            if (r == 0 && case_insensitive)
                r = strcmp(out[j - 1].name, out[j].name);
            if (r <= 0)
                break;
            struct value_match tmp = out[j - 1];
            out[j - 1] = out[j];
            out[j] = tmp;
        }
    }
    return k;
}

/* A redirect as the Kong route will carry it. */
struct redirect_plan {
    int status;
    char *location;  /* owned; absolute, or a path (relative redirect) */
    bool keep_path;  /* redirect plugin keep_incoming_path */
    bool plugin;     /* the redirect plugin (else request-termination + Location header) */
    bool https_only; /* Kong's own http → https redirect (https_redirect_status_code) */
};

/* Everything one Kong route is made from. */
struct match_plan {
    uint32_t rule, match;
    const struct kgc_api_http_route_match *m;
    struct path_plan path;
    struct value_match headers[64];
    size_t n_headers;
    struct value_match queries[64];
    size_t n_queries;
    struct redirect_plan redirect;
    bool has_redirect;
    char *uri; /* request-transformer replace.uri (owned), or NULL */
};

#define MATCH_DROP(rc, mp, ...)                                                                    \
    tr_problem((rc)->c, KGC_API_HTTPROUTE, (rc)->ns, (rc)->name, (int32_t)(mp)->rule,              \
               (int32_t)(mp)->match, KGC_TRANSLATE_DROPPED, __VA_ARGS__)
#define MATCH_DEGRADED(rc, mp, ...)                                                                \
    tr_problem((rc)->c, KGC_API_HTTPROUTE, (rc)->ns, (rc)->name, (int32_t)(mp)->rule, -1,          \
               KGC_TRANSLATE_DEGRADED, __VA_ARGS__)

/* A regex Kong's router for this flavour takes: PCRE compiles it and, unless the flavour is
 * traditional, the ATC router's Rust regex can too. */
static bool regex_ok(struct tr_ctx *c, const char *re, char *why, size_t why_size)
{
    if (!tr_regex_compiles(re, why, why_size))
        return false;
    return c->flavor == TR_TRADITIONAL || tr_regex_portable(re, why, why_size);
}

static bool plan_path(struct route_ctx *rc, struct match_plan *mp)
{
    const struct kgc_api_http_path_match *pm = &mp->m->path;
    const char *type = pm->type ? pm->type : "PathPrefix";
    const char *v = pm->value ? pm->value : "/";
    char why[200];
    if (strcmp(type, "Exact") == 0 || strcmp(type, "PathPrefix") == 0) {
        if (!tr_path_value(v) || strlen(v) >= sizeof(mp->path.value)) {
            MATCH_DROP(rc, mp, "path \"%.200s\" must start with / and have no empty segment", v);
            return false;
        }
        mp->path.kind = type[0] == 'E' ? PATH_EXACT : PATH_PREFIX;
        snprintf(mp->path.value, sizeof(mp->path.value), "%s", v);
        size_t len = strlen(mp->path.value);
        if (mp->path.kind == PATH_PREFIX && len > 1 && mp->path.value[len - 1] == '/')
            mp->path.value[len - 1] = '\0'; /* "/foo/" and "/foo" match the same requests */
        return true;
    }
    if (strcmp(type, "RegularExpression") == 0) {
        if (!tr_text_value(v) || strstr(v, "//") || strlen(v) + 2 >= sizeof(mp->path.value)) {
            MATCH_DROP(rc, mp, "regular expression path must be printable and have no \"//\"");
            return false;
        }
        if (!regex_ok(rc->c, v, why, sizeof(why))) {
            MATCH_DROP(rc, mp, "regular expression path \"%.200s\" cannot be used: %s", v, why);
            return false;
        }
        mp->path.kind = PATH_REGEX;
        snprintf(mp->path.value, sizeof(mp->path.value), "%s", v);
        return true;
    }
    MATCH_DROP(rc, mp, "path match type \"%.64s\" is not supported", type);
    return false;
}

static bool plan_values(struct route_ctx *rc, struct match_plan *mp)
{
    const struct kgc_api_http_route_match *m = mp->m;
    char why[200];
    if (m->n_headers > 64 || m->n_query_params > 64) {
        MATCH_DROP(rc, mp, "more than 64 header or query parameter matches");
        return false;
    }
    mp->n_headers = unique_matches(m->headers, m->n_headers, true, mp->headers);
    for (size_t i = 0; i < mp->n_headers; i++) {
        const struct value_match *h = &mp->headers[i];
        if (!tr_header_name(h->name) || strcasecmp(h->name, "host") == 0) {
            MATCH_DROP(rc, mp,
                       "header match name \"%.64s\" is not one Kong can match (A-Z a-z "
                       "0-9 - _; Host is matched by hostnames)",
                       h->name);
            return false;
        }
        if (!tr_text_value(h->value)) {
            MATCH_DROP(rc, mp, "header %s: the value must be printable and not empty", h->name);
            return false;
        }
        if (h->regex && !regex_ok(rc->c, h->value, why, sizeof(why))) {
            MATCH_DROP(rc, mp, "header %s: regular expression cannot be used: %s", h->name, why);
            return false;
        }
    }
    mp->n_queries = unique_matches(m->query_params, m->n_query_params, false, mp->queries);
    if (mp->n_queries && rc->c->flavor != TR_EXPRESSIONS) {
        MATCH_DROP(rc, mp,
                   "query parameter matches need Kong's expressions router (router_flavor "
                   "is %s)",
                   rc->c->flavor == TR_TRADITIONAL ? "traditional" : "traditional_compatible");
        return false;
    }
    for (size_t i = 0; i < mp->n_queries; i++) {
        const struct value_match *q = &mp->queries[i];
        if (!tr_query_name(q->name)) {
            MATCH_DROP(rc, mp,
                       "query parameter name \"%.64s\" cannot be matched by Kong's "
                       "expressions router (A-Z a-z 0-9 _)",
                       q->name);
            return false;
        }
        if (!tr_text_value(q->value)) {
            MATCH_DROP(rc, mp, "query parameter %s: the value must be printable and not empty",
                       q->name);
            return false;
        }
        if (q->regex && !regex_ok(rc->c, q->value, why, sizeof(why))) {
            MATCH_DROP(rc, mp, "query parameter %s: regular expression cannot be used: %s", q->name,
                       why);
            return false;
        }
    }
    if (m->method && !tr_method(m->method)) {
        MATCH_DROP(rc, mp, "method \"%.32s\" is not an upper-case HTTP method", m->method);
        return false;
    }
    return true;
}

/* The static path a redirect can send for this match, narrowing a PathPrefix to its own path
 * when the rest of the path would have to be carried over. NULL: not expressible. */
static const char *redirect_static_path(struct route_ctx *rc, struct match_plan *mp,
                                        const char *replacement, const char *what)
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
    return replacement ? replacement : mp->path.value;
}

static bool plan_redirect(struct route_ctx *rc, struct match_plan *mp,
                          const struct kgc_api_http_redirect *rd)
{
    struct tr_ctx *c = rc->c;
    struct redirect_plan *p = &mp->redirect;
    mp->has_redirect = true;
    p->status = rd->status_code ? rd->status_code : 302;
    const char *host = rd->hostname;
    if (!host && !rc->any_host && rc->n_hosts == 1 && !is_wildcard(rc->hosts[0]))
        host = rc->hosts[0]; /* the only host this route answers for */
    enum { KEEP, FULL, PREFIX } mode = KEEP;
    if (rd->path && rd->path->type && strcmp(rd->path->type, "ReplaceFullPath") == 0)
        mode = FULL;
    else if (rd->path)
        mode = PREFIX;
    bool absolute = rd->hostname || rd->scheme || rd->port;

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
        const char *path = mode == FULL
                               ? rd->path->replace_full_path
                               : redirect_static_path(
                                     rc, mp, mode == PREFIX ? rd->path->replace_prefix_match : NULL,
                                     mode == PREFIX ? "the prefix redirect" : "the redirect");
        if (!path)
            return false;
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
    int32_t port = rd->port ? rd->port : (rd->scheme ? 0 : rc->port);
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
        mode == FULL
            ? rd->path->replace_full_path
            : redirect_static_path(rc, mp, mode == PREFIX ? rd->path->replace_prefix_match : NULL,
                                   mode == PREFIX ? "the prefix redirect"
                                                  : "keeping the path (Kong < 3.9)");
    if (!path)
        return false;
    p->plugin = c->redirect_plugin;
    p->location = tr_printf(c, "%s%s", base, path);
    return true;
}

/* URLRewrite's path into replace.uri (and, for a prefix, a capture of the rest of the path). */
static bool plan_rewrite(struct route_ctx *rc, struct match_plan *mp,
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

/* ---- Kong routes ----------------------------------------------------------------------------- */

/* A growable string with a sticky failure flag. */
struct sbuf {
    char *s;
    size_t n, cap;
    bool failed;
};

static void sbuf_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sbuf_add(struct sbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *piece = NULL;
    int n = vasprintf(&piece, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if (b->n + (size_t)n + 1 > b->cap) {
        size_t ncap = (b->n + (size_t)n + 1) * 2;
        char *grown = realloc(b->s, ncap);
        if (!grown) {
            free(piece);
            b->failed = true;
            return;
        }
        b->s = grown;
        b->cap = ncap;
    }
    memcpy(b->s + b->n, piece, (size_t)n + 1);
    b->n += (size_t)n;
    free(piece);
}

/* Traditional router paths for a match (README.md, "Paths"). */
static json_object *trad_paths(struct tr_ctx *c, const struct path_plan *pp)
{
    json_object *paths = tr_jarr(c);
    const char *v = pp->value;
    bool root = strcmp(v, "/") == 0;
    char *esc = tr_regex_escape(c, v);
    if (!esc)
        return paths;
    if (pp->kind == PATH_EXACT || (pp->kind == PATH_PREFIX && pp->exact_only)) {
        char *p = tr_printf(c, "~%s$", esc);
        tr_jpush(c, paths, tr_jstr(c, p));
        free(p);
    } else if (pp->kind == PATH_REGEX) {
        char *p = tr_printf(c, "~%s", v);
        tr_jpush(c, paths, tr_jstr(c, p));
        free(p);
    } else if (pp->capture) {
        if (root) {
            tr_jpush(c, paths, tr_jstr(c, "~/(.*)"));
        } else {
            char *a = tr_printf(c, "~%s$", esc), *b = tr_printf(c, "~%s(/.*)", esc);
            tr_jpush(c, paths, tr_jstr(c, a));
            tr_jpush(c, paths, tr_jstr(c, b));
            free(a);
            free(b);
        }
    } else if (root) {
        tr_jpush(c, paths, tr_jstr(c, "/"));
    } else {
        char *a = tr_printf(c, "~%s$", esc), *plain = tr_printf(c, "%s/", v);
        tr_jpush(c, paths, tr_jstr(c, a));
        if (plain && tr_plain_path(plain)) {
            tr_jpush(c, paths, tr_jstr(c, plain));
        } else {
            char *b = tr_printf(c, "~%s/", esc);
            tr_jpush(c, paths, tr_jstr(c, b));
            free(b);
        }
        free(a);
        free(plain);
    }
    free(esc);
    return paths;
}

/* Expressions router predicate on http.path (README.md, "Paths"). */
static void expr_path(struct tr_ctx *c, struct sbuf *b, const struct path_plan *pp)
{
    const char *v = pp->value;
    bool root = strcmp(v, "/") == 0;
    char *lit = tr_expr_string(c, v), *esc = tr_regex_escape(c, v), *tmp = NULL, *lit2 = NULL;
    if (!lit || !esc)
        goto out;
    if (pp->kind == PATH_EXACT || (pp->kind == PATH_PREFIX && pp->exact_only)) {
        sbuf_add(b, "http.path == %s", lit);
    } else if (pp->kind == PATH_REGEX) {
        tmp = tr_printf(c, "^(?:%s)", v); /* anchored like Kong's traditional regex paths */
        lit2 = tmp ? tr_expr_string(c, tmp) : NULL;
        if (lit2)
            sbuf_add(b, "http.path ~ %s", lit2);
    } else if (pp->capture) {
        if (root) {
            sbuf_add(b, "http.path ~ \"^/(.*)\"");
        } else {
            tmp = tr_printf(c, "^%s(/.*)", esc);
            lit2 = tmp ? tr_expr_string(c, tmp) : NULL;
            if (lit2)
                sbuf_add(b, "(http.path == %s || http.path ~ %s)", lit, lit2);
        }
    } else if (root) {
        sbuf_add(b, "http.path ^= \"/\"");
    } else {
        tmp = tr_printf(c, "%s/", v);
        lit2 = tmp ? tr_expr_string(c, tmp) : NULL;
        if (lit2)
            sbuf_add(b, "(http.path == %s || http.path ^= %s)", lit, lit2);
    }
out:
    free(lit);
    free(esc);
    free(tmp);
    free(lit2);
}

/* The expressions router expression of a match, for host (NULL: any host). */
static char *expression(struct tr_ctx *c, const struct match_plan *mp, const char *host)
{
    struct sbuf b = {0};
    if (host) {
        bool wild = is_wildcard(host);
        char *lit = tr_expr_string(c, wild ? host + 1 : host);
        if (lit)
            sbuf_add(&b, "http.host %s %s && ", wild ? "=^" : "==", lit);
        free(lit);
    }
    expr_path(c, &b, &mp->path);
    for (size_t i = 0; i < mp->n_headers; i++) {
        char field[300];
        size_t k = 0;
        for (const char *p = mp->headers[i].name; *p && k + 1 < sizeof(field); p++)
            field[k++] = *p == '-' ? '_' : (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
        field[k] = '\0';
        char *lit = tr_expr_string(c, mp->headers[i].value);
        if (lit)
            sbuf_add(&b, " && http.headers.%s %s %s", field,
                     mp->headers[i].regex ? "~" : "==", lit);
        free(lit);
    }
    for (size_t i = 0; i < mp->n_queries; i++) {
        char *lit = tr_expr_string(c, mp->queries[i].value);
        if (lit)
            sbuf_add(&b, " && http.queries.%s %s %s", mp->queries[i].name,
                     mp->queries[i].regex ? "~" : "==", lit);
        free(lit);
    }
    if (mp->m->method)
        sbuf_add(&b, " && http.method == \"%s\"", mp->m->method);
    if (b.failed || !b.s) {
        free(b.s);
        c->oom = true;
        return NULL;
    }
    return b.s;
}

static json_object *trad_headers(struct tr_ctx *c, const struct match_plan *mp)
{
    json_object *h = tr_jobj(c);
    for (size_t i = 0; i < mp->n_headers; i++) {
        const struct value_match *vm = &mp->headers[i];
        json_object *vals = tr_jarr(c);
        char *v;
        if (vm->regex) {
            v = tr_printf(c, "~*%s", vm->value);
        } else if (strncmp(vm->value, "~*", 2) == 0) {
            /* Kong would read it as a regex: say the same as an anchored, escaped one */
            char *esc = tr_regex_escape(c, vm->value);
            v = esc ? tr_printf(c, "~*^%s$", esc) : NULL;
            free(esc);
        } else {
            v = tr_strdup(c, vm->value);
        }
        tr_jpush(c, vals, tr_jstr(c, v));
        free(v);
        tr_jset(c, h, vm->name, vals);
    }
    return h;
}

static json_object *plugin(struct tr_ctx *c, const char *name, json_object *config,
                           json_object *tags)
{
    json_object *p = tr_jobj(c);
    tr_jset(c, p, "name", tr_jstr(c, name));
    tr_jset(c, p, "config", config);
    tr_jset(c, p, "tags", tags);
    c->counts.plugins++;
    return p;
}

/* The plugins of one Kong route, in name order, or NULL when it has none. */
static json_object *route_plugins(struct route_ctx *rc, const struct match_plan *mp,
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
        tr_jpush(c, list, plugin(c, "redirect", cfg, tr_jref(tags)));
    }
    if (fallback) {
        json_object *cfg = tr_jobj(c);
        tr_jset(c, cfg, "status_code", tr_jint(c, rp->status));
        tr_jpush(c, list, plugin(c, "request-termination", cfg, tr_jref(tags)));
    }
    if (!transformer_empty(&req))
        tr_jpush(c, list,
                 plugin(c, "request-transformer", transformer_config(c, &req), tr_jref(tags)));
    if (!transformer_empty(&resp))
        tr_jpush(c, list,
                 plugin(c, "response-transformer", transformer_config(c, &resp), tr_jref(tags)));
    transformer_free(&req);
    transformer_free(&resp);
    if (list && json_object_array_length(list) == 0) {
        json_object_put(list);
        return NULL;
    }
    return list;
}

static json_object *protocols(struct tr_ctx *c, bool http, bool https)
{
    json_object *p = tr_jarr(c);
    if (http)
        tr_jpush(c, p, tr_jstr(c, "http"));
    if (https)
        tr_jpush(c, p, tr_jstr(c, "https"));
    return p;
}

/* The precedence facts of the Kong route for the match; host_index >= 0 selects one hostname
 * (expressions flavour). */
static void kroute_facts(const struct route_ctx *rc, const struct match_plan *mp,
                         int32_t host_index, struct tr_kroute *k)
{
    memset(k, 0, sizeof(*k));
    for (size_t i = 0; i < rc->n_hosts; i++) {
        if (host_index >= 0 && (size_t)host_index != i)
            continue;
        uint32_t len = (uint32_t)strlen(rc->hosts[i]);
        if (!is_wildcard(rc->hosts[i]) && len > k->host_exact)
            k->host_exact = len;
        if (len > k->host_len)
            k->host_len = len;
    }
    k->path_kind = (uint32_t)mp->path.kind;
    k->path_len = (uint32_t)strlen(mp->path.value);
    k->method = mp->m->method ? 1 : 0;
    k->headers = (uint32_t)mp->n_headers;
    k->queries = (uint32_t)mp->n_queries;
    k->created = rc->r->obj.meta.creation_timestamp;
    k->key = rc->r->obj.meta.key;
    k->rule = mp->rule;
    k->match = mp->match;
    k->host = host_index >= 0 ? (uint32_t)host_index : 0;
}

/* One Kong route for the match with its rank-given priority; host_index >= 0 selects one
 * hostname (expressions flavour). *name gets the route's name (owned). */
static json_object *kroute_json(struct route_ctx *rc, const struct match_plan *mp,
                                const struct rule_filters *f, int32_t host_index, json_object *tags,
                                int64_t prio, char **name)
{
    struct tr_ctx *c = rc->c;
    if (host_index >= 0)
        *name = tr_printf(c, "httproute.%s.%s.%u.%u.h%d", rc->ns, rc->name, mp->rule, mp->match,
                          host_index);
    else
        *name = tr_printf(c, "httproute.%s.%s.%u.%u", rc->ns, rc->name, mp->rule, mp->match);
    json_object *o = tr_jobj(c);
    tr_jset(c, o, "name", tr_jstr(c, *name));
    bool https_only = mp->has_redirect && mp->redirect.https_only;
    tr_jset(c, o, "protocols",
            protocols(c, https_only ? false : rc->http, https_only || rc->https));
    if (c->flavor == TR_EXPRESSIONS) {
        const char *host = host_index >= 0 && rc->n_hosts ? rc->hosts[host_index] : NULL;
        char *expr = expression(c, mp, host);
        tr_jset(c, o, "expression", tr_jstr(c, expr));
        free(expr);
        tr_jset(c, o, "priority", tr_jint(c, prio));
    } else {
        if (rc->n_hosts) {
            json_object *hosts = tr_jarr(c);
            for (size_t i = 0; i < rc->n_hosts; i++)
                tr_jpush(c, hosts, tr_jstr(c, rc->hosts[i]));
            tr_jset(c, o, "hosts", hosts);
        }
        tr_jset(c, o, "paths", trad_paths(c, &mp->path));
        if (mp->n_headers)
            tr_jset(c, o, "headers", trad_headers(c, mp));
        if (mp->m->method) {
            json_object *methods = tr_jarr(c);
            tr_jpush(c, methods, tr_jstr(c, mp->m->method));
            tr_jset(c, o, "methods", methods);
        }
    }
    tr_jset(c, o, "strip_path", json_object_new_boolean(0));
    tr_jset(c, o, "preserve_host", json_object_new_boolean(1));
    if (c->flavor != TR_EXPRESSIONS)
        tr_jset(c, o, "regex_priority", tr_jint(c, prio));
    if (https_only)
        tr_jset(c, o, "https_redirect_status_code", tr_jint(c, mp->redirect.status));
    tr_jset(c, o, "tags", tr_jref(tags));
    json_object *plugins = route_plugins(rc, mp, f, tags);
    if (plugins)
        tr_jset(c, o, "plugins", plugins);
    return o;
}

/* ---- rules and routes ------------------------------------------------------------------------ */

/* A rule kept in the configuration: one service, and an upstream when it has targets. The
 * planning pass makes it (recording every problem, counting the entities and keeping the
 * targets); its JSON is only made when the writing passes serialize it, one at a time. */
struct tr_svc {
    char *name;                 /* httproute.<ns>.<route>.<rule>: service and upstream (owned) */
    const struct route_ctx *rc; /* the route's attachment facts (owned by c->routes) */
    uint32_t rule;
    struct tr_kroute *kr; /* its Kong routes in (match, host) order: what a writing pass meets */
    size_t n_kr;
    size_t n_targets;
    uint32_t *weights; /* n_targets */
    char *addrs;       /* n_targets NUL-terminated addresses back to back, in target order */
};

static void svc_free(struct tr_svc *v)
{
    if (!v)
        return;
    free(v->name);
    free(v->kr);
    free(v->weights);
    free(v->addrs);
    free(v);
}

static void service_timeouts(struct route_ctx *rc, uint32_t ri, json_object *svc)
{
    struct tr_ctx *c = rc->c;
    const struct kgc_api_http_route_rule *rule = &rc->r->rules[ri];
    const char *t =
        rule->timeout_backend_request ? rule->timeout_backend_request : rule->timeout_request;
    if (!t)
        return;
    int64_t ms = tr_duration_ms(t);
    if (ms < 0) {
        tr_problem(c, KGC_API_HTTPROUTE, rc->ns, rc->name, (int32_t)ri, -1, KGC_TRANSLATE_DEGRADED,
                   "timeout \"%.32s\" is not a duration: ignored", t);
        return;
    }
    if (ms == 0) {
        tr_problem(c, KGC_API_HTTPROUTE, rc->ns, rc->name, (int32_t)ri, -1, KGC_TRANSLATE_DEGRADED,
                   "timeout 0 (none) cannot be expressed: Kong's 60 s default applies");
        return;
    }
    if (!svc) /* planning: only the problems */
        return;
    if (ms > 2147483646)
        ms = 2147483646;
    tr_jset(c, svc, "connect_timeout", tr_jint(c, ms));
    tr_jset(c, svc, "read_timeout", tr_jint(c, ms));
    tr_jset(c, svc, "write_timeout", tr_jint(c, ms));
}

static void free_match_plan(struct match_plan *mp)
{
    free(mp->redirect.location);
    free(mp->uri);
}

/* Called once per Kong route of a rule, in (match, host) order, by plan_matches(). */
typedef void (*kroute_fn)(struct route_ctx *rc, const struct match_plan *mp,
                          const struct rule_filters *f, int32_t host_index, json_object *tags,
                          void *ctx);

/* Plans every match of rule ri (problems recorded unless c->quiet) and calls fn for each Kong
 * route it makes. The planning and the writing passes both walk a rule through here, so they
 * meet the same Kong routes in the same order. */
static void plan_matches(struct route_ctx *rc, uint32_t ri, const struct rule_filters *f,
                         kroute_fn fn, void *ctx)
{
    struct tr_ctx *c = rc->c;
    const struct kgc_api_http_route_rule *rule = &rc->r->rules[ri];
    static const struct kgc_api_http_route_match any_path = {{NULL, NULL}, NULL, 0, NULL, 0, NULL};
    uint32_t n_matches = rule->n_matches ? rule->n_matches : 1;
    for (uint32_t j = 0; j < n_matches && !c->oom; j++) {
        struct match_plan *mp = calloc(1, sizeof(*mp));
        if (!mp) {
            c->oom = true;
            break;
        }
        mp->rule = ri;
        mp->match = j;
        mp->m = rule->n_matches ? &rule->matches[j] : &any_path;
        bool ok = plan_path(rc, mp) && plan_values(rc, mp) &&
                  (!f->redirect || plan_redirect(rc, mp, f->redirect)) &&
                  (!f->rewrite || plan_rewrite(rc, mp, f->rewrite));
        if (ok) {
            size_t variants = c->flavor == TR_EXPRESSIONS && rc->n_hosts ? rc->n_hosts : 1;
            json_object *tags =
                c->quiet ? tr_obj_tags(c, KGC_API_HTTPROUTE, &rc->r->obj, (int32_t)ri, (int32_t)j)
                         : NULL;
            for (size_t h = 0; h < variants; h++)
                fn(rc, mp, f, c->flavor == TR_EXPRESSIONS ? (int32_t)h : -1, tags, ctx);
            json_object_put(tags);
        }
        free_match_plan(mp);
        free(mp);
    }
}

/* ---- the planning pass ----------------------------------------------------------------------- */

static void plan_kroute(struct route_ctx *rc, const struct match_plan *mp,
                        const struct rule_filters *f, int32_t host_index, json_object *tags,
                        void *ctx)
{
    (void)f;
    (void)tags;
    struct tr_svc *v = ctx;
    struct tr_kroute *grown = realloc(v->kr, (v->n_kr + 1) * sizeof(*grown));
    if (!grown) {
        rc->c->oom = true;
        return;
    }
    v->kr = grown;
    kroute_facts(rc, mp, host_index, &v->kr[v->n_kr++]);
}

/* Keeps the targets compactly until the upstream is written. */
static void keep_targets(struct tr_ctx *c, struct tr_svc *v, const struct tr_target *t, size_t n)
{
    if (!n)
        return;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += strlen(t[i].target) + 1;
    v->weights = malloc(n * sizeof(*v->weights));
    v->addrs = malloc(bytes);
    if (!v->weights || !v->addrs) {
        c->oom = true;
        return;
    }
    char *p = v->addrs;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(t[i].target) + 1;
        memcpy(p, t[i].target, len);
        p += len;
        v->weights[i] = t[i].weight;
    }
    v->n_targets = n;
}

/* Plans rule ri: its Kong routes' precedence facts, its targets and every problem; the rule goes
 * into c->svcs. false when the rule was dropped. */
static bool plan_rule(struct route_ctx *rc, uint32_t ri)
{
    struct tr_ctx *c = rc->c;
    struct rule_filters f;
    if (!check_filters(rc, ri, &f))
        return false;
    struct tr_svc *v = calloc(1, sizeof(*v));
    if (!v) {
        c->oom = true;
        return false;
    }
    v->rc = rc;
    v->rule = ri;
    plan_matches(rc, ri, &f, plan_kroute, v);
    if (v->n_kr == 0 || c->oom) {
        svc_free(v);
        if (!c->oom) {
            /* say why, with the reason of the last match dropped */
            const char *why = NULL;
            for (size_t i = c->n_problems; i > 0 && !why; i--) {
                const struct kgc_translate_problem *p = &c->problems[i - 1];
                if (p->kind == KGC_API_HTTPROUTE && p->rule == (int32_t)ri && p->match >= 0 &&
                    p->severity == KGC_TRANSLATE_DROPPED && p->name && p->namespace &&
                    strcmp(p->name, rc->name) == 0 && strcmp(p->namespace, rc->ns) == 0)
                    why = p->message;
            }
            char *msg = why ? tr_strdup(c, why) : NULL;
            tr_problem(c, KGC_API_HTTPROUTE, rc->ns, rc->name, (int32_t)ri, -1,
                       KGC_TRANSLATE_DROPPED, "no match of the rule can be expressed in Kong%s%s",
                       msg ? ": " : "", msg ? msg : "");
            free(msg);
        }
        return false;
    }
    service_timeouts(rc, ri, NULL);
    struct tr_target *targets = NULL;
    size_t n_targets = 0;
    if (!f.redirect && tr_rule_targets(c, rc->r, ri, &targets, &n_targets) != 0)
        c->oom = true;
    keep_targets(c, v, targets, n_targets);
    free(targets);
    v->name = tr_printf(c, "httproute.%s.%s.%u", rc->ns, rc->name, ri);
    if (c->oom || tr_vec_push(&c->svcs, v) != 0) {
        svc_free(v);
        c->oom = true;
        return false;
    }
    for (size_t i = 0; i < v->n_kr; i++) {
        if (tr_vec_push(&c->kroutes, &v->kr[i]) != 0)
            c->oom = true;
    }
    c->counts.services++;
    c->counts.routes += v->n_kr;
    if (v->n_targets) {
        c->counts.upstreams++;
        c->counts.targets += v->n_targets;
    }
    return !c->oom;
}

static void plan_route(struct tr_ctx *c, const struct kgc_api_httproute *r)
{
    struct route_ctx *rc = calloc(1, sizeof(*rc));
    if (!rc) {
        c->oom = true;
        return;
    }
    *rc = (struct route_ctx){.c = c, .r = r, .ns = r->obj.meta.namespace, .name = r->obj.meta.name};
    if (!rc->ns || !rc->name || !route_attach(rc)) {
        route_ctx_free(rc);
        return;
    }
    if (!tr_dns_label(rc->ns) || !tr_dns_subdomain(rc->name)) {
        tr_problem(c, KGC_API_HTTPROUTE, rc->ns, rc->name, -1, -1, KGC_TRANSLATE_DROPPED,
                   "the namespace or name is not a valid Kubernetes name, so no Kong entity name "
                   "can be made from it");
        route_ctx_free(rc);
        return;
    }
    /* owned by c->routes from here: the rules planned below point at it */
    if (tr_vec_push(&c->routes, rc) != 0) {
        route_ctx_free(rc);
        c->oom = true;
        return;
    }
    uint32_t kept = 0;
    for (uint32_t ri = 0; ri < r->n_rules && !c->oom; ri++)
        kept += plan_rule(rc, ri) ? 1 : 0;
    if (kept)
        c->counts.http_routes++;
    else if (r->n_rules && !c->oom)
        tr_problem(c, KGC_API_HTTPROUTE, rc->ns, rc->name, -1, -1, KGC_TRANSLATE_DROPPED,
                   "none of the route's %u rule(s) can be expressed in Kong", r->n_rules);
}

/* ---- the writing passes ---------------------------------------------------------------------- */

/* The configuration text as it grows. */
struct obuf {
    char *s;
    size_t n, cap;
};

static void obuf_add(struct tr_ctx *c, struct obuf *b, const char *p, size_t len)
{
    if (c->oom)
        return;
    if (b->n + len + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->n + len + 1)
            ncap *= 2;
        char *grown = realloc(b->s, ncap);
        if (!grown) {
            c->oom = true;
            return;
        }
        b->s = grown;
        b->cap = ncap;
    }
    memcpy(b->s + b->n, p, len);
    b->n += len;
    b->s[b->n] = '\0';
}

/* Appends o's compact text and frees o (consumed). */
static void obuf_json(struct tr_ctx *c, struct obuf *b, json_object *o)
{
    size_t len = 0;
    const char *text = o && !c->oom
                           ? json_object_to_json_string_length(
                                 o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len)
                           : NULL;
    if (!text)
        c->oom = true;
    else
        obuf_add(c, b, text, len);
    json_object_put(o);
}

/* A Kong route being written with its service. */
struct named {
    char *name;
    json_object *obj;
};

struct write_ctx {
    const struct tr_svc *v;
    size_t next; /* the next of v->kr to meet */
    struct named *kr;
    size_t n;
};

static void write_kroute(struct route_ctx *rc, const struct match_plan *mp,
                         const struct rule_filters *f, int32_t host_index, json_object *tags,
                         void *ctx)
{
    struct write_ctx *w = ctx;
    struct tr_ctx *c = rc->c;
    /* the planning pass met the same Kong routes in the same order (same objects, same code) */
    const struct tr_kroute *k = w->next < w->v->n_kr ? &w->v->kr[w->next] : NULL;
    w->next++;
    if (!k || k->match != mp->match || k->host != (host_index >= 0 ? (uint32_t)host_index : 0)) {
        c->oom = true; /* cannot happen; fail rather than write a wrong priority */
        return;
    }
    char *name = NULL;
    json_object *o = kroute_json(rc, mp, f, host_index, tags, k->prio, &name);
    if (!o || !name) {
        json_object_put(o);
        free(name);
        c->oom = true;
        return;
    }
    w->kr[w->n].name = name;
    w->kr[w->n].obj = o;
    w->n++;
}

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

/* Writes the service of v (with its Kong routes and plugins) into b. */
static void write_service(struct tr_ctx *c, const struct tr_svc *v, struct obuf *b)
{
    struct route_ctx *rc = (struct route_ctx *)v->rc;
    uint32_t ri = v->rule;
    struct rule_filters f;
    if (!check_filters(rc, ri, &f)) {
        c->oom = true; /* the planning pass kept it: cannot happen */
        return;
    }
    struct write_ctx w = {.v = v, .kr = calloc(v->n_kr, sizeof(struct named))};
    if (!w.kr) {
        c->oom = true;
        return;
    }
    plan_matches(rc, ri, &f, write_kroute, &w);
    if (w.n != v->n_kr)
        c->oom = true;
    json_object *rule_tags = tr_obj_tags(c, KGC_API_HTTPROUTE, &rc->r->obj, (int32_t)ri, -1);
    json_object *o = tr_jobj(c);
    tr_jset(c, o, "name", tr_jstr(c, v->name));
    tr_jset(c, o, "protocol", tr_jstr(c, "http"));
    tr_jset(c, o, "host", tr_jstr(c, v->name));
    tr_jset(c, o, "port", tr_jint(c, 80));
    service_timeouts(rc, ri, o);
    tr_jset(c, o, "tags", tr_jref(rule_tags));
    if (w.n > 1)
        qsort(w.kr, w.n, sizeof(*w.kr), cmp_named);
    json_object *routes = tr_jarr(c);
    for (size_t i = 0; i < w.n; i++) {
        tr_jpush(c, routes, w.kr[i].obj);
        free(w.kr[i].name);
    }
    free(w.kr);
    tr_jset(c, o, "routes", routes);
    if (v->n_targets == 0) {
        /* nothing to forward to: the Gateway API wants 500 */
        json_object *cfg = tr_jobj(c), *plugins = tr_jarr(c);
        tr_jset(c, cfg, "status_code", tr_jint(c, 500));
        tr_jset(c, cfg, "message", tr_jstr(c, "no backend of this HTTPRoute rule is available"));
        tr_jpush(c, plugins, plugin(c, "request-termination", cfg, tr_jref(rule_tags)));
        tr_jset(c, o, "plugins", plugins);
    }
    json_object_put(rule_tags);
    obuf_json(c, b, o);
}

/* Writes the upstream of v (with its targets) into b. */
static void write_upstream(struct tr_ctx *c, const struct tr_svc *v, struct obuf *b)
{
    const struct kgc_api_obj *ro = &v->rc->r->obj;
    json_object *rule_tags = tr_obj_tags(c, KGC_API_HTTPROUTE, ro, (int32_t)v->rule, -1);
    json_object *o = tr_jobj(c);
    tr_jset(c, o, "name", tr_jstr(c, v->name));
    tr_jset(c, o, "tags", rule_tags);
    /* targets carry only what leads back to the rule: they are many, and kgc checks their
     * addresses itself */
    json_object *target_tags =
        tr_obj_tags_ext(c, KGC_API_HTTPROUTE, ro, (int32_t)v->rule, -1, true);
    json_object *tl = tr_jarr(c);
    const char *addr = v->addrs;
    for (size_t i = 0; i < v->n_targets; i++) {
        json_object *t = tr_jobj(c);
        tr_jset(c, t, "target", tr_jstr(c, addr));
        tr_jset(c, t, "weight", tr_jint(c, v->weights[i]));
        tr_jset(c, t, "tags", tr_jref(target_tags));
        tr_jpush(c, tl, t);
        addr += strlen(addr) + 1;
    }
    json_object_put(target_tags);
    tr_jset(c, o, "targets", tl);
    obuf_json(c, b, o);
}

/* ---- precedence ------------------------------------------------------------------------------ */

#define CMP_DESC(f)                                                                                \
    do {                                                                                           \
        if (x->f != y->f)                                                                          \
            return x->f > y->f ? -1 : 1;                                                           \
    } while (0)
#define CMP_ASC(f)                                                                                 \
    do {                                                                                           \
        if (x->f != y->f)                                                                          \
            return x->f < y->f ? -1 : 1;                                                           \
    } while (0)

/* Gateway API precedence, highest first (README.md, "Precedence"). */
static int cmp_precedence(const void *a, const void *b)
{
    const struct tr_kroute *x = *(const struct tr_kroute *const *)a;
    const struct tr_kroute *y = *(const struct tr_kroute *const *)b;
    CMP_DESC(host_exact);
    CMP_DESC(host_len);
    CMP_DESC(path_kind);
    CMP_DESC(path_len);
    CMP_DESC(method);
    CMP_DESC(headers);
    CMP_DESC(queries);
    const char *cx = x->created && x->created[0] ? x->created : NULL;
    const char *cy = y->created && y->created[0] ? y->created : NULL;
    if (cx && cy) {
        int r = strcmp(cx, cy);
        if (r)
            return r;
    } else if (cx || cy) {
        return cx ? -1 : 1; /* without a timestamp: newest */
    }
    int r = strcmp(x->key ? x->key : "", y->key ? y->key : "");
    if (r)
        return r;
    CMP_ASC(rule);
    CMP_ASC(match);
    CMP_ASC(host);
    return 0;
}

static void rank(struct tr_ctx *c)
{
    size_t n = c->kroutes.n;
    if (n > 1)
        qsort(c->kroutes.v, n, sizeof(*c->kroutes.v), cmp_precedence);
    for (size_t i = 0; i < n; i++) {
        struct tr_kroute *k = c->kroutes.v[i];
        k->prio = (int64_t)(n - i);
    }
}

/* ---- certificates ---------------------------------------------------------------------------- */

struct cert_sni {
    char *name;                        /* owned */
    const struct kgc_api_obj *gateway; /* the first Gateway that asked for it (ref held) */
};

struct cert {
    char *key;                           /* "ns/name" of the Secret (owned; the map's key) */
    const struct kgc_api_secret *secret; /* ref held */
    struct tr_vec snis;                  /* struct cert_sni * */
};

struct cert_ctx {
    struct tr_ctx *c;
    struct kgc_strmap certs; /* Secret key → struct cert * */
    struct kgc_strmap snis;  /* SNI name → struct cert * (Kong serves one certificate per SNI) */
    struct tr_vec gateways;  /* refs of every Gateway, sorted by key */
};

static bool gateway_owned(struct tr_ctx *c, const struct kgc_api_gateway *gw)
{
    if (!gw->gateway_class_name || !c->lk->get)
        return false;
    const struct kgc_api_obj *o =
        c->lk->get(c->lk->ctx, KGC_API_GATEWAYCLASS, NULL, gw->gateway_class_name);
    const struct kgc_api_gatewayclass *gc = kgc_api_as_gatewayclass(o);
    bool owned = gc && gc->controller_name && strcmp(gc->controller_name, c->controller) == 0;
    kgc_api_obj_unref(o);
    return owned;
}

/* The certificate entry of a usable TLS Secret for listener li's ref k, or NULL (NOTE given). */
static struct cert *listener_cert(struct cert_ctx *x, const struct kgc_api_gateway *gw, uint32_t li,
                                  uint32_t k)
{
    struct tr_ctx *c = x->c;
    const struct kgc_api_object_ref *ref = &gw->listeners[li].tls->certificate_refs[k];
    const char *gns = gw->obj.meta.namespace, *gname = gw->obj.meta.name;
    const char *lname = gw->listeners[li].name ? gw->listeners[li].name : "";
    const char *ns = ref->namespace ? ref->namespace : gns, *name = ref->name ? ref->name : "";
#define GW_NOTE(...)                                                                               \
    tr_problem(c, KGC_API_GATEWAY, gns, gname, -1, -1, KGC_TRANSLATE_NOTE, __VA_ARGS__)
    if ((ref->group && ref->group[0]) || (ref->kind && strcmp(ref->kind, "Secret") != 0)) {
        GW_NOTE("listener %s certificateRefs[%u] is not a core Secret: no certificate", lname, k);
        return NULL;
    }
    if (strcmp(ns, gns) != 0 &&
        !kgc_status_reference_granted(c->lk, TR_GW_GROUP, "Gateway", gns, "", "Secret", ns, name)) {
        GW_NOTE("listener %s certificateRefs[%u]: Secret %s/%s is not permitted by a "
                "ReferenceGrant: no certificate",
                lname, k, ns, name);
        return NULL;
    }
    char key[600];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    struct cert *ce = kgc_strmap_get(&x->certs, key);
    if (ce)
        return ce;
    const struct kgc_api_obj *o = c->lk->get(c->lk->ctx, KGC_API_SECRET, ns, name);
    const struct kgc_api_secret *s = kgc_api_as_secret(o);
    if (!s || !s->tls_valid || !s->tls_crt_pem || !s->tls_key_pem || !tr_dns_label(ns) ||
        !tr_dns_subdomain(name)) {
        GW_NOTE("listener %s certificateRefs[%u]: Secret %s/%s is %s: no certificate", lname, k, ns,
                name, s ? "not a valid TLS Secret" : "missing");
        kgc_api_obj_unref(o);
        return NULL;
    }
    ce = calloc(1, sizeof(*ce));
    if (ce)
        ce->key = strdup(key);
    if (!ce || !ce->key || kgc_strmap_put(&x->certs, ce->key, ce, NULL) != 0) {
        if (ce)
            free(ce->key);
        free(ce);
        kgc_api_obj_unref(o);
        c->oom = true;
        return NULL;
    }
    ce->secret = s;
    return ce;
#undef GW_NOTE
}

static void gateway_certs(struct cert_ctx *x, const struct kgc_api_gateway *gw)
{
    struct tr_ctx *c = x->c;
    const char *gns = gw->obj.meta.namespace, *gname = gw->obj.meta.name;
    uint32_t n =
        gw->n_listeners < KGC_STATUS_MAX_LISTENERS ? gw->n_listeners : KGC_STATUS_MAX_LISTENERS;
    for (uint32_t li = 0; li < n && !c->oom; li++) {
        const struct kgc_api_listener *l = &gw->listeners[li];
        const char *lname = l->name ? l->name : "";
        if (!l->protocol || strcmp(l->protocol, "HTTPS") != 0 || !l->tls ||
            (l->tls->mode && strcmp(l->tls->mode, "Terminate") != 0))
            continue;
        if (c->in->listener_usable && !c->in->listener_usable(c->in->listener_usable_ctx, gw, li))
            continue;
        bool has_host = l->hostname && l->hostname[0];
        if (has_host && !tr_hostname(l->hostname, true)) {
            tr_problem(c, KGC_API_GATEWAY, gns, gname, -1, -1, KGC_TRANSLATE_NOTE,
                       "listener %s hostname is not a valid SNI: no certificate", lname);
            continue;
        }
        for (uint32_t k = 0; k < l->tls->n_certificate_refs && !c->oom; k++) {
            struct cert *ce = listener_cert(x, gw, li, k);
            if (!ce)
                continue;
            if (!has_host) {
                tr_problem(c, KGC_API_GATEWAY, gns, gname, -1, -1, KGC_TRANSLATE_NOTE,
                           "listener %s has no hostname: Kong selects certificates by SNI, so "
                           "its default certificate serves this listener",
                           lname);
                break;
            }
            struct cert *owner = kgc_strmap_get(&x->snis, l->hostname);
            if (owner && owner != ce) {
                tr_problem(c, KGC_API_GATEWAY, gns, gname, -1, -1, KGC_TRANSLATE_NOTE,
                           "listener %s: SNI %s is already served by Secret %s", lname, l->hostname,
                           owner->key);
                break;
            }
            if (!owner) {
                struct cert_sni *sni = calloc(1, sizeof(*sni));
                if (sni)
                    sni->name = strdup(l->hostname);
                if (!sni || !sni->name || tr_vec_push(&ce->snis, sni) != 0) {
                    if (sni)
                        free(sni->name);
                    free(sni);
                    c->oom = true;
                    break;
                }
                sni->gateway = kgc_api_obj_ref(&gw->obj);
                if (kgc_strmap_put(&x->snis, sni->name, ce, NULL) != 0)
                    c->oom = true;
            }
            break; /* one certificate per SNI: later refs would never be served */
        }
    }
}

static int cmp_sni(const void *a, const void *b)
{
    return strcmp((*(const struct cert_sni *const *)a)->name,
                  (*(const struct cert_sni *const *)b)->name);
}

static int cmp_cert(const void *a, const void *b)
{
    return strcmp((*(const struct cert *const *)a)->key, (*(const struct cert *const *)b)->key);
}

/* The certificates array: one entry per Secret with at least one SNI. */
static json_object *certificates(struct tr_ctx *c)
{
    struct cert_ctx x = {.c = c};
    kgc_strmap_init(&x.certs);
    kgc_strmap_init(&x.snis);
    tr_collect(c, KGC_API_GATEWAY, &x.gateways);
    for (size_t i = 0; i < x.gateways.n && !c->oom; i++) {
        const struct kgc_api_gateway *gw = kgc_api_as_gateway(x.gateways.v[i]);
        if (gw && gw->obj.meta.namespace && gateway_owned(c, gw))
            gateway_certs(&x, gw);
    }
    struct tr_vec list = {0};
    size_t pos = 0;
    const char *key;
    void *value;
    while (kgc_strmap_next(&x.certs, &pos, &key, &value)) {
        if (tr_vec_push(&list, value) != 0)
            c->oom = true;
    }
    if (list.n > 1)
        qsort(list.v, list.n, sizeof(*list.v), cmp_cert);
    json_object *arr = tr_jarr(c);
    for (size_t i = 0; i < list.n; i++) {
        struct cert *ce = list.v[i];
        if (ce->snis.n == 0)
            continue;
        json_object *o = tr_jobj(c), *snis = tr_jarr(c);
        tr_jset(c, o, "cert", tr_jstr(c, ce->secret->tls_crt_pem));
        tr_jset(c, o, "key", tr_jstr(c, ce->secret->tls_key_pem));
        tr_jset(c, o, "tags", tr_obj_tags(c, KGC_API_SECRET, &ce->secret->obj, -1, -1));
        qsort(ce->snis.v, ce->snis.n, sizeof(*ce->snis.v), cmp_sni);
        for (size_t k = 0; k < ce->snis.n; k++) {
            const struct cert_sni *sni = ce->snis.v[k];
            json_object *so = tr_jobj(c);
            tr_jset(c, so, "name", tr_jstr(c, sni->name));
            tr_jset(c, so, "tags", tr_obj_tags(c, KGC_API_GATEWAY, sni->gateway, -1, -1));
            tr_jpush(c, snis, so);
            c->counts.snis++;
        }
        tr_jset(c, o, "snis", snis);
        tr_jpush(c, arr, o);
        c->counts.certificates++;
    }
    for (size_t i = 0; i < list.n; i++) {
        struct cert *ce = list.v[i];
        for (size_t k = 0; k < ce->snis.n; k++) {
            struct cert_sni *sni = ce->snis.v[k];
            kgc_api_obj_unref(sni->gateway);
            free(sni->name);
            free(sni);
        }
        tr_vec_free(&ce->snis);
        kgc_api_obj_unref(&ce->secret->obj);
        free(ce->key);
        free(ce);
    }
    tr_vec_free(&list);
    kgc_strmap_destroy(&x.certs);
    kgc_strmap_destroy(&x.snis);
    tr_release_all(&x.gateways);
    return arr;
}

/* ---- the document ---------------------------------------------------------------------------- */

static int cmp_svc(const void *a, const void *b)
{
    return strcmp((*(const struct tr_svc *const *)a)->name,
                  (*(const struct tr_svc *const *)b)->name);
}

static void parse_version(struct tr_ctx *c, const char *v)
{
    c->redirect_plugin = true;
    if (!v || !v[0])
        return;
    int major = 0, minor = 0;
    if (sscanf(v, "%d.%d", &major, &minor) != 2) {
        c->redirect_plugin = false; /* unknown: what every Kong 3.x has */
        return;
    }
    c->redirect_plugin = major > 3 || (major == 3 && minor >= 9);
}

static void ctx_free(struct tr_ctx *c)
{
    tr_free_slices(c);
    for (size_t i = 0; i < c->svcs.n; i++)
        svc_free(c->svcs.v[i]);
    tr_vec_free(&c->svcs);
    for (size_t i = 0; i < c->routes.n; i++)
        route_ctx_free(c->routes.v[i]);
    tr_vec_free(&c->routes);
    tr_vec_free(&c->kroutes);
}

/* Writes the document: {"_format_version":"3.0","certificates":[...],"services":[...],
 * "upstreams":[...]}, the bytes json-c would give for the whole tree, one entity at a time so
 * that no more than one service's tree exists at once. */
static void write_document(struct tr_ctx *c, struct obuf *b)
{
    json_object *head = tr_jobj(c);
    tr_jset(c, head, "_format_version", tr_jstr(c, "3.0"));
    if (!c->oom)
        tr_jset(c, head, "certificates", certificates(c));
    c->quiet = true; /* every problem was recorded by the planning pass */
    size_t len = 0;
    const char *text =
        head && !c->oom ? json_object_to_json_string_length(
                              head, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len)
                        : NULL;
    /* One allocation sized past what the rest will take: pages never written cost no memory,
     * and growing a buffer of tens of MB by realloc may copy it (two copies at once) when
     * malloc serves it from the heap. Grown by doubling should the guess fall short. */
    size_t guess = len + 4096 + c->svcs.n * 1024 + c->kroutes.n * 2048 + c->counts.targets * 192;
    if (!c->oom && (b->s = malloc(guess)) != NULL)
        b->cap = guess;
    if (!text || len < 2 || text[len - 1] != '}')
        c->oom = true;
    else
        obuf_add(c, b, text, len - 1); /* without its closing brace */
    json_object_put(head);
    if (c->svcs.n > 1)
        qsort(c->svcs.v, c->svcs.n, sizeof(*c->svcs.v), cmp_svc);
    static const char services[] = ",\"services\":[";
    obuf_add(c, b, services, sizeof(services) - 1);
    for (size_t i = 0; i < c->svcs.n && !c->oom; i++) {
        if (i)
            obuf_add(c, b, ",", 1);
        write_service(c, c->svcs.v[i], b);
    }
    static const char upstreams[] = "],\"upstreams\":[";
    obuf_add(c, b, upstreams, sizeof(upstreams) - 1);
    bool first = true;
    for (size_t i = 0; i < c->svcs.n && !c->oom; i++) {
        const struct tr_svc *v = c->svcs.v[i];
        if (!v->n_targets)
            continue;
        if (!first)
            obuf_add(c, b, ",", 1);
        first = false;
        write_upstream(c, v, b);
    }
    obuf_add(c, b, "]}", 2);
}

int kgc_translate(const struct kgc_translate_input *in, struct kgc_translate_output *out,
                  struct kgc_err *err)
{
    if (!out)
        return kgc_err_set(err, KGC_EINVAL, "translate: no output to fill");
    memset(out, 0, sizeof(*out));
    if (!in || !in->lookup || !in->lookup->get)
        return kgc_err_set(err, KGC_EINVAL, "translate: no input or no lookup");

    struct tr_ctx c = {.in = in, .lk = in->lookup};
    kgc_strmap_init(&c.slices);
    kgc_status_options_default(&c.so);
    if (in->controller_name && in->controller_name[0])
        c.so.controller_name = in->controller_name;
    c.controller = c.so.controller_name ? c.so.controller_name : KGC_STATUS_DEFAULT_CONTROLLER;
    c.flavor = !in->router_flavor                              ? TR_TRADITIONAL_COMPATIBLE
               : strcmp(in->router_flavor, "expressions") == 0 ? TR_EXPRESSIONS
               : strcmp(in->router_flavor, "traditional") == 0 ? TR_TRADITIONAL
                                                               : TR_TRADITIONAL_COMPATIBLE;
    parse_version(&c, in->kong_version);
    if (in->invalid_backend_target &&
        !tr_host_port(in->invalid_backend_target, c.fallback, sizeof(c.fallback)))
        c.fallback[0] = '\0'; /* malformed: off (kgc checks the option at start) */

    /* The planning pass reads the snapshot once: routes, attachments, backends, problems,
     * counts, precedence. The writing passes read only what it kept (and the routes, whose
     * references are held until the end), so they cannot disagree with it. */
    struct tr_vec routes = {0};
    if (tr_index_slices(&c) != 0)
        c.oom = true;
    if (!c.oom)
        tr_collect(&c, KGC_API_HTTPROUTE, &routes);
    for (size_t i = 0; i < routes.n && !c.oom; i++) {
        const struct kgc_api_httproute *r = kgc_api_as_httproute(routes.v[i]);
        if (r)
            plan_route(&c, r);
    }
    if (!c.oom)
        rank(&c);
    struct obuf b = {0};
    if (!c.oom)
        write_document(&c, &b);
    ctx_free(&c);
    tr_release_all(&routes);
    if (c.oom || !b.s) {
        free(b.s);
        free_problems(c.problems, c.n_problems);
        memset(out, 0, sizeof(*out));
        return kgc_err_set(err, KGC_ENOMEM, "translate: out of memory");
    }
    char *fit = realloc(b.s, b.n + 1); /* give the unused tail back */
    out->config = fit ? fit : b.s;
    out->config_len = b.n;
    kgc_digest_md5_hex(out->config, out->config_len, out->hash);
    out->counts = c.counts;
    tr_sort_problems(c.problems, c.n_problems);
    out->problems = c.problems;
    out->n_problems = c.n_problems;
    return 0;
}

bool kgc_translate_target_valid(const char *s)
{
    char t[300];
    return tr_host_port(s, t, sizeof(t));
}

void kgc_translate_output_free(struct kgc_translate_output *out)
{
    if (!out)
        return;
    free(out->config);
    free_problems(out->problems, out->n_problems);
    memset(out, 0, sizeof(*out));
}

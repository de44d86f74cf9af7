/* Matches: a rule's matches (path, headers, method, query parameters) → match plans, checked
 * against what the flavour's router accepts; and a match plan → the Kong route fields that carry
 * it (traditional paths and headers, or an expressions-router (ATC) expression).
 * tr_plan_matches() walks a rule's matches for the planning and the writing passes alike. Calls
 * context.c, kong_values.c and filters.c (a match's redirect or rewrite). */
#include "translate_internal.h"

#include "kgc/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- planning a match ------------------------------------------------------------------------ */

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

/* A regex Kong's router for this flavour takes: PCRE compiles it and, unless the flavour is
 * traditional, the ATC router's Rust regex can too. */
bool tr_regex_ok(struct tr_ctx *c, const char *re, char *why, size_t why_size)
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
        if (!tr_regex_ok(rc->c, v, why, sizeof(why))) {
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
        if (h->regex && !tr_regex_ok(rc->c, h->value, why, sizeof(why))) {
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
        if (q->regex && !tr_regex_ok(rc->c, q->value, why, sizeof(why))) {
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

static void free_match_plan(struct match_plan *mp)
{
    free(mp->redirect.location);
    free(mp->uri);
}

/* Plans every match of rule ri (problems recorded unless c->quiet) and calls fn for each Kong
 * route it makes. The planning and the writing passes both walk a rule through here, so they
 * meet the same Kong routes in the same order. */
void tr_plan_matches(struct route_ctx *rc, uint32_t ri, const struct rule_filters *f, kroute_fn fn,
                     void *ctx)
{
    struct tr_ctx *c = rc->c;
    const struct kgc_api_http_route_rule *rule = &rc->r->rules[ri];
    static const struct kgc_api_http_route_match any_path = {.path = {NULL, NULL}};
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
        bool ok = (rc->r->obj.kind == KGC_API_GRPCROUTE ? tr_grpc_plan_method(rc, mp)
                                                        : plan_path(rc, mp)) &&
                  plan_values(rc, mp) && (!f->redirect || tr_plan_redirect(rc, mp, f->redirect)) &&
                  (!f->rewrite || tr_plan_rewrite(rc, mp, f->rewrite));
        if (ok) {
            size_t variants = c->flavor == TR_EXPRESSIONS && rc->n_hosts ? rc->n_hosts : 1;
            /* the plugins' tags (a Kong route's own name leads back to its object) */
            json_object *tags = c->quiet ? tr_obj_tags_ext(c, rc->r->obj.kind, &rc->r->obj,
                                                           (int32_t)ri, (int32_t)j, true)
                                         : NULL;
            for (size_t h = 0; h < variants; h++)
                fn(rc, mp, f, c->flavor == TR_EXPRESSIONS ? (int32_t)h : -1, tags, ctx);
            if (c->flavor == TR_TRADITIONAL_COMPATIBLE && rc->n_iso_hosts)
                fn(rc, mp, f, TR_HOSTS_ISO, tags, ctx);
            json_object_put(tags);
        }
        free_match_plan(mp);
        free(mp);
    }
}

/* ---- Kong route fields ----------------------------------------------------------------------- */

/* Traditional router paths for a match (README.md, "Paths"); all_regex: every path a regex but
 * the root prefix "/", and that one too with regex_root (traditional_compatible, README.md
 * "Precedence"). */
json_object *tr_trad_paths(struct tr_ctx *c, const struct path_plan *pp, bool all_regex,
                           bool regex_root)
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
        tr_jpush(c, paths, tr_jstr(c, all_regex && regex_root ? "~/" : "/"));
    } else {
        char *a = tr_printf(c, "~%s$", esc), *plain = tr_printf(c, "%s/", v);
        tr_jpush(c, paths, tr_jstr(c, a));
        if (plain && !all_regex && tr_plain_path(plain)) {
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
static void expr_path(struct tr_ctx *c, struct kgc_base_buf *b, const struct path_plan *pp)
{
    const char *v = pp->value;
    bool root = strcmp(v, "/") == 0;
    char *lit = tr_expr_string(c, v), *esc = tr_regex_escape(c, v), *tmp = NULL, *lit2 = NULL;
    if (!lit || !esc)
        goto out;
    if (pp->kind == PATH_EXACT || (pp->kind == PATH_PREFIX && pp->exact_only)) {
        kgc_base_buf_printf(b, "http.path == %s", lit);
    } else if (pp->kind == PATH_REGEX) {
        tmp = tr_printf(c, "^(?:%s)", v); /* anchored like Kong's traditional regex paths */
        lit2 = tmp ? tr_expr_string(c, tmp) : NULL;
        if (lit2)
            kgc_base_buf_printf(b, "http.path ~ %s", lit2);
    } else if (pp->capture) {
        if (root) {
            kgc_base_buf_printf(b, "http.path ~ \"^/(.*)\"");
        } else {
            tmp = tr_printf(c, "^%s(/.*)", esc);
            lit2 = tmp ? tr_expr_string(c, tmp) : NULL;
            if (lit2)
                kgc_base_buf_printf(b, "(http.path == %s || http.path ~ %s)", lit, lit2);
        }
    } else if (root) {
        kgc_base_buf_printf(b, "http.path ^= \"/\"");
    } else {
        tmp = tr_printf(c, "%s/", v);
        lit2 = tmp ? tr_expr_string(c, tmp) : NULL;
        if (lit2)
            kgc_base_buf_printf(b, "(http.path == %s || http.path ^= %s)", lit, lit2);
    }
out:
    free(lit);
    free(esc);
    free(tmp);
    free(lit2);
}

/* The expressions router expression of a match, for host (NULL: any host). */
char *tr_expression(struct tr_ctx *c, const struct match_plan *mp, const char *host)
{
    struct kgc_base_buf b = {0};
    if (host) {
        bool wild = tr_is_wildcard(host);
        char *lit = tr_expr_string(c, wild ? host + 1 : host);
        if (lit)
            kgc_base_buf_printf(&b, "http.host %s %s && ", wild ? "=^" : "==", lit);
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
            kgc_base_buf_printf(&b, " && http.headers.%s %s %s", field,
                                mp->headers[i].regex ? "~" : "==", lit);
        free(lit);
    }
    for (size_t i = 0; i < mp->n_queries; i++) {
        char *lit = tr_expr_string(c, mp->queries[i].value);
        if (lit)
            kgc_base_buf_printf(&b, " && http.queries.%s %s %s", mp->queries[i].name,
                                mp->queries[i].regex ? "~" : "==", lit);
        free(lit);
    }
    if (mp->m->method)
        kgc_base_buf_printf(&b, " && http.method == \"%s\"", mp->m->method);
    if (b.err || !b.s) {
        kgc_base_buf_free(&b);
        c->oom = true;
        return NULL;
    }
    return b.s;
}

/* ---- listener isolation (expressions flavour) ------------------------------------------------ */

/* Whether every hostname a matches is one b matches (NULL or "": any hostname; "*.s" matches
 * the hostnames ending in ".s", as Kong's `http.host =^ ".s"`). Equal hostnames included. */
bool tr_host_within(const char *a, const char *b)
{
    if (!b || !b[0])
        return true;
    if (!a || !a[0])
        return false;
    if (!tr_is_wildcard(b))
        return strcasecmp(a, b) == 0;
    const char *suffix = b + 1; /* ".s" */
    const char *ap = tr_is_wildcard(a) ? a + 1 : a;
    size_t la = strlen(ap), ls = strlen(suffix);
    if (la < ls || (!tr_is_wildcard(a) && la == ls))
        return false;
    return strcasecmp(ap + la - ls, suffix) == 0;
}

static bool hosts_overlap(const char *a, const char *b)
{
    return tr_host_within(a, b) || tr_host_within(b, a);
}

/* One HTTP/HTTPS listener kgc serves (the same checks as translate.c's route_attach) with its
 * Kong proxy port, or false. */
bool tr_served_listener(struct tr_ctx *c, const struct kgc_api_gateway *gw, uint32_t li,
                        uint16_t *kong_port)
{
    if (li >= gw->n_listeners ||
        (c->in->listener_usable && !c->in->listener_usable(c->in->listener_usable_ctx, gw, li)))
        return false;
    const struct kgc_api_listener *l = &gw->listeners[li];
    bool https = l->protocol && strcmp(l->protocol, "HTTPS") == 0;
    bool http = l->protocol && strcmp(l->protocol, "HTTP") == 0;
    if (https && l->tls && l->tls->mode && strcmp(l->tls->mode, "Terminate") != 0)
        https = false;
    if (!http && !https)
        return false;
    *kong_port = c->in->listener_kong_port
                     ? c->in->listener_kong_port(c->in->listener_usable_ctx, gw, li)
                     : 0;
    return true;
}

/* `http.host == "h"` or `http.host =^ ".s"` into b. */
static void expr_host(struct tr_ctx *c, struct kgc_base_buf *b, const char *h)
{
    bool wild = tr_is_wildcard(h);
    char *lit = tr_expr_string(c, wild ? h + 1 : h);
    if (lit)
        kgc_base_buf_printf(b, "http.host %s %s", wild ? "=^" : "==", lit);
    else
        b->err = KGC_ENOMEM; /* what tr_expr_string met */
    free(lit);
}

struct iso_att {
    const struct kgc_api_obj *gw; /* ref held */
    uint32_t li;
    uint16_t port;
    const char *hostname; /* the listener's; NULL: any */
};

/* The exclusions of listener isolation for the Kong route of host h (NULL: any host) in b:
 * ` && !(net.dst.port == P && <M> && !(<A>) ...)` for each hostname M of a listener of one of
 * the route's Gateways on the Kong port P of one of the route's listeners L, where M is not the
 * hostname of a listener the route is attached to, M is strictly within L's hostname and
 * overlaps h: such requests belong to that more specific listener. <A> are the hostnames within
 * M of listeners the route is attached to on P (their requests are the route's again). Kong
 * ports unknown (0): nothing. */
static void isolation(struct tr_ctx *c, const struct route_ctx *rc, const char *h,
                      struct kgc_base_buf *b)
{
    struct kgc_status_attachment *att = NULL;
    size_t n = 0;
    struct kgc_err err = {0};
    if (kgc_status_httproute_attachments(&c->so, c->lk, rc->r, &att, &n, &err) != 0) {
        if (err.code == KGC_ENOMEM)
            c->oom = true;
        return;
    }
    struct iso_att *a = calloc(n ? n : 1, sizeof(*a));
    size_t na = 0;
    if (!a) {
        c->oom = true;
        free(att);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct kgc_api_obj *o =
            tr_gateway_get(c, att[i].gateway_namespace, att[i].gateway_name);
        const struct kgc_api_gateway *gw = kgc_api_as_gateway(o);
        uint16_t port = 0;
        if (!gw || !tr_served_listener(c, gw, att[i].listener_index, &port) || !port) {
            kgc_api_obj_unref(o);
            continue;
        }
        const char *lh = gw->listeners[att[i].listener_index].hostname;
        a[na++] = (struct iso_att){o, att[i].listener_index, port, lh && lh[0] ? lh : NULL};
    }
    free(att);
    /* (port, hostname) pairs already excluded */
    struct iso_done {
        uint16_t port;
        const char *host;
    } *done = NULL;
    size_t n_done = 0;
    for (size_t i = 0; i < na; i++) {
        const struct kgc_api_gateway *gw = kgc_api_as_gateway(a[i].gw);
        if (h && !hosts_overlap(h, a[i].hostname))
            continue; /* this listener does not give the route h */
        for (uint32_t mi = 0; mi < gw->n_listeners; mi++) {
            const char *mh = gw->listeners[mi].hostname;
            uint16_t mport = 0;
            if (mi == a[i].li || !mh || !mh[0] || !tr_hostname(mh, true) ||
                !tr_served_listener(c, gw, mi, &mport) || mport != a[i].port ||
                !tr_host_within(mh, a[i].hostname) ||
                (a[i].hostname && strcasecmp(mh, a[i].hostname) == 0) ||
                (h && !hosts_overlap(h, mh)))
                continue;
            bool attached = false; /* some listener of the route on P has hostname M */
            for (size_t k = 0; k < na && !attached; k++)
                attached =
                    a[k].port == mport && a[k].hostname && strcasecmp(a[k].hostname, mh) == 0;
            for (size_t k = 0; k < n_done && !attached; k++)
                attached = done[k].port == mport && strcasecmp(done[k].host, mh) == 0;
            if (attached)
                continue;
            struct iso_done *grown = realloc(done, (n_done + 1) * sizeof(*done));
            if (!grown) {
                c->oom = true;
                break;
            }
            done = grown;
            done[n_done++] = (struct iso_done){mport, mh};
            int32_t gp = gw->listeners[mi].port;
            if (gp > 0 && gp <= 65535 && gp != mport)
                kgc_base_buf_printf(b, " && !((net.dst.port == %u || net.dst.port == %d) && ",
                                    (unsigned)mport, (int)gp);
            else
                kgc_base_buf_printf(b, " && !(net.dst.port == %u && ", (unsigned)mport);
            expr_host(c, b, mh);
            for (size_t k = 0; k < na; k++) {
                if (a[k].port != mport || !a[k].hostname || !tr_host_within(a[k].hostname, mh) ||
                    (h && !hosts_overlap(h, a[k].hostname)))
                    continue;
                bool seen = false; /* the same hostname on several attached listeners */
                for (size_t j = 0; j < k && !seen; j++)
                    seen = a[j].port == mport && a[j].hostname &&
                           tr_host_within(a[j].hostname, mh) &&
                           (!h || hosts_overlap(h, a[j].hostname)) &&
                           strcasecmp(a[j].hostname, a[k].hostname) == 0;
                if (seen)
                    continue;
                kgc_base_buf_printf(b, "%s", " && !(");
                expr_host(c, b, a[k].hostname);
                kgc_base_buf_printf(b, "%s", ")");
            }
            kgc_base_buf_printf(b, "%s", ")");
        }
    }
    free(done);
    for (size_t i = 0; i < na; i++)
        kgc_api_obj_unref(a[i].gw);
    free(a);
}

char *tr_listen_scope(struct tr_ctx *c, const struct route_ctx *rc, int32_t host_index)
{
    uint32_t bits = UINT32_MAX;
    if (host_index >= 0 && (size_t)host_index < rc->n_hosts && rc->host_listens)
        bits = rc->host_listens[host_index];
    struct kgc_base_buf b = {0};
    kgc_base_buf_printf(&b, "%s", "");
    uint32_t n = 0;
    for (uint32_t k = 0; k < rc->n_listens && !rc->listens_overflow; k++) {
        if (!(bits & (UINT32_C(1) << k)))
            continue;
        const struct tr_listen *l = &rc->listens[k];
        const char *proto = l->https ? "https" : "http";
        kgc_base_buf_printf(&b, "%s", n++ ? " || " : " && (");
        if (l->port && l->gw_port && l->gw_port != l->port)
            kgc_base_buf_printf(
                &b, "(net.protocol == \"%s\" && (net.dst.port == %u || net.dst.port == %u))", proto,
                (unsigned)l->port, (unsigned)l->gw_port);
        else if (l->port)
            kgc_base_buf_printf(&b, "(net.protocol == \"%s\" && net.dst.port == %u)", proto,
                                (unsigned)l->port);
        else
            kgc_base_buf_printf(&b, "net.protocol == \"%s\"", proto);
    }
    if (n)
        kgc_base_buf_printf(&b, "%s", ")");
    if (n && !rc->listens_overflow)
        isolation(
            c, rc,
            host_index >= 0 && (size_t)host_index < rc->n_hosts ? rc->hosts[host_index] : NULL, &b);
    if (b.err || !b.s) {
        kgc_base_buf_free(&b);
        c->oom = true;
        return NULL;
    }
    if (rc->listens_overflow)
        b.s[0] = '\0';
    return b.s;
}

json_object *tr_trad_headers(struct tr_ctx *c, const struct match_plan *mp)
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

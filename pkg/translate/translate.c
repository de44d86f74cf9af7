/* The translator's planning pass and entry points. One pass over the HTTPRoutes in namespace/name
 * order attaches each route to its listeners (hostnames, protocols, port) and plans every rule:
 * filters.c checks its filters, match.c plans its matches, backends.c resolves its targets, and
 * only small records are kept (struct tr_svc, struct tr_kroute). Then every Kong route is ranked
 * by the Gateway API precedence and writer.c serializes the document. The top of the call graph:
 * no other file here calls into it. README.md beside this file says why each mapping is what it
 * is. */
#include "translate_internal.h"

#include "kgc/digest.h"
#include "kgc/jsonscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void tr_free_problems(struct kgc_translate_problem *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].namespace);
        free(p[i].name);
        free(p[i].message);
    }
    free(p);
}

/* ---- one HTTPRoute: where it is attached ----------------------------------------------------- */

void tr_route_ctx_free(struct route_ctx *rc)
{
    if (!rc)
        return;
    if (rc->packed) { /* rc_pack(): one block */
        free(rc);
        return;
    }
    for (size_t i = 0; i < rc->n_hosts; i++)
        free(rc->hosts[i]);
    free(rc->hosts);
    free(rc->host_listens);
    for (size_t i = 0; i < rc->n_iso_hosts; i++)
        free(rc->iso_hosts[i]);
    free(rc->iso_hosts);
    free(rc->iso_listens);
    free(rc->listens);
    free(rc->gw_listens);
    free(rc);
}

/* off rounded up to a multiple of al (a power of two). */
static size_t align_up(size_t off, size_t al)
{
    return (off + al - 1) & ~(al - 1);
}

/* rc, attached, moved into one block (route_ctx.packed): the new record, or rc itself when the
 * block cannot be had (then freed piece by piece as before). Layout: the record, gw_listens,
 * hosts and iso_hosts (pointers), host_listens and iso_listens, listens, the hostnames. */
static struct route_ctx *rc_pack(struct route_ctx *rc)
{
    size_t nh = rc->n_hosts, ni = rc->n_iso_hosts;
    size_t o_gw = align_up(sizeof(*rc), _Alignof(struct tr_gw_listen));
    size_t o_hosts = align_up(o_gw + rc->n_gw_listens * sizeof(*rc->gw_listens), _Alignof(char *));
    size_t o_bits = align_up(o_hosts + (nh + ni) * sizeof(char *), _Alignof(uint32_t));
    size_t o_listens = align_up(o_bits + (nh + ni) * sizeof(uint32_t), _Alignof(struct tr_listen));
    size_t size = o_listens + rc->n_listens * sizeof(*rc->listens);
    for (size_t i = 0; i < nh; i++)
        size += strlen(rc->hosts[i]) + 1;
    for (size_t i = 0; i < ni; i++)
        size += strlen(rc->iso_hosts[i]) + 1;
    char *b = malloc(size);
    if (!b)
        return rc;
    struct route_ctx *p = (struct route_ctx *)(void *)b;
    *p = *rc;
    p->packed = true;
    p->gw_listens = rc->n_gw_listens ? (struct tr_gw_listen *)(void *)(b + o_gw) : NULL;
    if (p->gw_listens)
        memcpy(p->gw_listens, rc->gw_listens, rc->n_gw_listens * sizeof(*rc->gw_listens));
    p->hosts = nh ? (char **)(void *)(b + o_hosts) : NULL;
    p->iso_hosts = ni ? (char **)(void *)(b + o_hosts + nh * sizeof(char *)) : NULL;
    p->host_listens = nh ? (uint32_t *)(void *)(b + o_bits) : NULL;
    p->iso_listens = ni ? (uint32_t *)(void *)(b + o_bits + nh * sizeof(uint32_t)) : NULL;
    if (nh)
        memcpy(p->host_listens, rc->host_listens, nh * sizeof(uint32_t));
    if (ni)
        memcpy(p->iso_listens, rc->iso_listens, ni * sizeof(uint32_t));
    p->listens = rc->n_listens ? (struct tr_listen *)(void *)(b + o_listens) : NULL;
    if (p->listens)
        memcpy(p->listens, rc->listens, rc->n_listens * sizeof(*rc->listens));
    char *w = b + o_listens + rc->n_listens * sizeof(*rc->listens);
    for (size_t i = 0; i < nh + ni; i++) {
        const char *h = i < nh ? rc->hosts[i] : rc->iso_hosts[i - nh];
        size_t len = strlen(h) + 1;
        memcpy(w, h, len);
        if (i < nh)
            p->hosts[i] = w;
        else
            p->iso_hosts[i - nh] = w;
        w += len;
    }
    tr_route_ctx_free(rc);
    return p;
}

/* Adds h (once, case-insensitively) to the host list *hosts with its listens[] bits *bits: bit
 * is the listens[] bit of the listener giving h. */
static void add_host_to(struct route_ctx *rc, char ***hosts, uint32_t **bits, size_t *n,
                        const char *h, uint32_t bit)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcasecmp((*hosts)[i], h) == 0) {
            (*bits)[i] |= bit;
            return;
        }
    }
    char **grown = realloc(*hosts, (*n + 1) * sizeof(*grown));
    if (grown)
        *hosts = grown;
    uint32_t *gbits = realloc(*bits, (*n + 1) * sizeof(*gbits));
    if (gbits)
        *bits = gbits;
    char *copy = tr_strdup(rc->c, h);
    if (!grown || !gbits || !copy) {
        free(copy);
        rc->c->oom = true;
        return;
    }
    (*bits)[*n] = bit;
    (*hosts)[(*n)++] = copy;
}

static void add_host(struct route_ctx *rc, const char *h, uint32_t bit)
{
    add_host_to(rc, &rc->hosts, &rc->host_listens, &rc->n_hosts, h, bit);
}

/* The listens[] bit of (https, port), added when new; 0 when there are too many. */
static uint32_t listen_bit(struct route_ctx *rc, bool https, uint16_t port, uint16_t gw_port)
{
    for (uint32_t k = 0; k < rc->n_listens; k++) {
        if (rc->listens[k].https == https && rc->listens[k].port == port &&
            rc->listens[k].gw_port == gw_port)
            return UINT32_C(1) << k;
    }
    if (rc->n_listens >= TR_MAX_LISTENS) {
        rc->listens_overflow = true;
        return 0;
    }
    if (!tr_grow(rc->c, (void **)&rc->listens, rc->n_listens, sizeof(*rc->listens)))
        return 0;
    rc->listens[rc->n_listens] =
        (struct tr_listen){.https = https, .port = port, .gw_port = gw_port};
    return UINT32_C(1) << rc->n_listens++;
}

struct host_bits {
    char *host;
    uint32_t bits;
};

static int cmp_host_bits(const void *a, const void *b)
{
    return strcmp(((const struct host_bits *)a)->host, ((const struct host_bits *)b)->host);
}

/* Sorts hosts, keeping host_listens beside them. */
static void sort_hosts(struct route_ctx *rc)
{
    struct host_bits *hb = calloc(rc->n_hosts, sizeof(*hb));
    if (!hb) {
        rc->c->oom = true;
        return;
    }
    for (size_t i = 0; i < rc->n_hosts; i++)
        hb[i] = (struct host_bits){rc->hosts[i], rc->host_listens[i]};
    qsort(hb, rc->n_hosts, sizeof(*hb), cmp_host_bits);
    for (size_t i = 0; i < rc->n_hosts; i++) {
        rc->hosts[i] = hb[i].host;
        rc->host_listens[i] = hb[i].bits;
    }
    free(hb);
}

/* Whether every request for hostname h on listener li of gw belongs to a more specific listener
 * of gw on the same port (listener isolation): then li's routes must not take h. Only under
 * the traditional flavours, whose routes cannot exclude hostnames (the expressions flavour
 * excludes them in each route's expression, match.c). */
static bool isolated_away(struct route_ctx *rc, const struct kgc_api_gateway *gw, uint32_t li,
                          const char *h)
{
    if (!gw || rc->c->flavor == TR_EXPRESSIONS)
        return false;
    const struct kgc_api_listener *l = &gw->listeners[li];
    const char *lh = l->hostname && l->hostname[0] ? l->hostname : NULL;
    for (uint32_t mi = 0; mi < gw->n_listeners; mi++) {
        const char *mh = gw->listeners[mi].hostname;
        uint16_t kp = 0;
        if (mi == li || !mh || !mh[0] || gw->listeners[mi].port != l->port ||
            (lh && strcasecmp(mh, lh) == 0) || !tr_host_within(mh, lh) || !tr_host_within(h, mh) ||
            !tr_served_listener(rc->c, gw, mi, &kp))
            continue;
        rc->isolated++;
        return true;
    }
    return false;
}

/* Whether listener li of gw has a hostname that a less specific listener of gw on its port
 * covers (it then has an isolation route, isolation.c). */
static bool isolation_target(struct tr_ctx *c, const struct kgc_api_gateway *gw, uint32_t li)
{
    const char *mh = gw->listeners[li].hostname;
    if (c->flavor != TR_TRADITIONAL_COMPATIBLE || !mh || !mh[0])
        return false;
    for (uint32_t l = 0; l < gw->n_listeners; l++) {
        const char *lh = gw->listeners[l].hostname;
        uint16_t kp = 0;
        if (l != li && gw->listeners[l].port == gw->listeners[li].port &&
            !(lh && lh[0] && strcasecmp(lh, mh) == 0) && tr_host_within(mh, lh) &&
            tr_served_listener(c, gw, l, &kp))
            return true;
    }
    return false;
}

static void add_iso_host(struct route_ctx *rc, const char *h, uint32_t bit)
{
    add_host_to(rc, &rc->iso_hosts, &rc->iso_listens, &rc->n_iso_hosts, h, bit);
}

/* The hostnames one (route, listener) pair matches: the Gateway API intersection, less those
 * that belong to a more specific listener (isolated_away). */
static void intersect_hosts(struct route_ctx *rc, const struct kgc_api_gateway *gw, uint32_t li,
                            uint32_t bit)
{
    const struct kgc_api_httproute *r = rc->r;
    const char *lh = gw->listeners[li].hostname;
    if (lh && !lh[0])
        lh = NULL;
    bool target = isolation_target(rc->c, gw, li);
    if (r->n_hostnames == 0) {
        if (lh) {
            add_host(rc, lh, bit);
            if (target && tr_hostname(lh, true))
                add_iso_host(rc, lh, bit);
        } else {
            rc->any_host = true;
        }
        return;
    }
    for (uint32_t i = 0; i < r->n_hostnames; i++) {
        const char *h = r->hostnames[i];
        if (!h || !kgc_status_hostnames_intersect(h, lh))
            continue;
        const char *eff = !lh || !tr_is_wildcard(h) ? h
                          : !tr_is_wildcard(lh)     ? lh
                          : strlen(h) >= strlen(lh) ? h
                                                    : lh;
        if (isolated_away(rc, gw, li, eff))
            continue;
        add_host(rc, eff, bit);
        if (target && tr_hostname(eff, true))
            add_iso_host(rc, eff, bit);
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
            tr_gateway_get(c, att[i].gateway_namespace, att[i].gateway_name);
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
        uint16_t kong_port = c->in->listener_kong_port
                                 ? c->in->listener_kong_port(c->in->listener_usable_ctx, gw, li)
                                 : 0;
        intersect_hosts(rc, gw, li,
                        listen_bit(rc, https, kong_port,
                                   l->port > 0 && l->port <= 65535 ? (uint16_t)l->port : 0));
        char gkey[2 * KGC_STATUS_NAME_MAX + 2];
        int gl =
            snprintf(gkey, sizeof(gkey), "%s/%s", att[i].gateway_namespace, att[i].gateway_name);
        if (gl > 0 && rc->n_gw_listens < TR_MAX_LISTENS &&
            tr_grow(c, (void **)&rc->gw_listens, rc->n_gw_listens, sizeof(*rc->gw_listens)))
            rc->gw_listens[rc->n_gw_listens++] = (struct tr_gw_listen){
                .gw = kgc_strmap_hash(gkey,
                                      (size_t)gl < sizeof(gkey) ? (size_t)gl : sizeof(gkey) - 1),
                .https = https,
                .port = kong_port};
        kgc_api_obj_unref(o);
    }
    free(att);
    if (!any)
        return false;
    /* keep only hostnames Kong can match; never widen to "any" by dropping them all */
    size_t w = 0;
    for (size_t i = 0; i < rc->n_hosts; i++) {
        if (tr_hostname(rc->hosts[i], true)) { /* lower-case only, as the Gateway API's */
            rc->host_listens[w] = rc->host_listens[i];
            rc->hosts[w++] = rc->hosts[i];
        } else {
            tr_problem(c, rc->r->obj.kind, rc->ns, rc->name, -1, -1, KGC_TRANSLATE_DEGRADED,
                       "hostname \"%.253s\" is not a valid Gateway API hostname: ignored",
                       rc->hosts[i]);
            free(rc->hosts[i]);
        }
    }
    rc->n_hosts = w;
    if (rc->n_hosts > 1)
        sort_hosts(rc);
    if (rc->any_host) {
        for (size_t i = 0; i < rc->n_hosts; i++)
            free(rc->hosts[i]);
        rc->n_hosts = 0;
    }
    if (!rc->any_host) { /* the Kong route's own hosts carry them */
        for (size_t i = 0; i < rc->n_iso_hosts; i++)
            free(rc->iso_hosts[i]);
        rc->n_iso_hosts = 0;
    }
    if (rc->any_host) {
    } else if (rc->n_hosts == 0 && rc->isolated) {
        return false; /* every hostname belongs to a more specific listener: nothing to serve */
    } else if (rc->n_hosts == 0) {
        tr_problem(c, rc->r->obj.kind, rc->ns, rc->name, -1, -1, KGC_TRANSLATE_DROPPED,
                   "no hostname of the route can be expressed in Kong");
        return false;
    }
    return true;
}

/* ---- the planning pass ----------------------------------------------------------------------- */

/* The precedence facts of the Kong route for the match; host_index >= 0 selects one hostname
 * (expressions flavour). */
static void kroute_facts(const struct route_ctx *rc, const struct match_plan *mp,
                         int32_t host_index, struct tr_kroute *k)
{
    memset(k, 0, sizeof(*k));
    bool iso = host_index == TR_HOSTS_ISO;
    char *const *hosts = iso ? rc->iso_hosts : rc->hosts;
    size_t n_hosts = iso ? rc->n_iso_hosts : rc->n_hosts;
    for (size_t i = 0; i < n_hosts; i++) {
        if (host_index >= 0 && (size_t)host_index != i)
            continue;
        uint32_t len = (uint32_t)strlen(hosts[i]);
        if (!tr_is_wildcard(hosts[i]) && len > k->host_exact)
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
    const struct kgc_api_http_route_rule *rule =
        k->rule < rc->r->n_rules ? &rc->r->rules[k->rule] : NULL;
    const struct kgc_api_http_route_match *m =
        rule && k->match < rule->n_matches ? &rule->matches[k->match] : NULL;
    k->raw_path = m && m->path.value ? m->path.value : "/";
    k->raw_path_len = (uint32_t)strlen(k->raw_path);
    k->host = host_index >= 0 ? (uint32_t)host_index : iso ? 1 : 0;
    k->iso = iso;
    k->root_path = mp->path.kind == PATH_PREFIX && !mp->path.capture && !mp->path.exact_only &&
                   strcmp(mp->path.value, "/") == 0;
    if (host_index >= 0) {
        k->hosts = (size_t)host_index < n_hosts ? &hosts[host_index] : NULL;
        k->n_hosts = (size_t)host_index < n_hosts ? 1 : 0;
    } else {
        k->hosts = n_hosts ? hosts : NULL;
        k->n_hosts = (uint32_t)n_hosts;
    }
    if (rc->r->obj.kind == KGC_API_GRPCROUTE)
        tr_grpc_facts(mp, k);
    k->tc_prio = tr_tc_priority(rc, k);
}

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

void tr_svc_free(struct tr_svc *v)
{
    if (!v)
        return;
    if (!v->packed) { /* else one block: svc_pack() */
        free(v->name);
        free(v->kr);
        free(v->weights);
        free(v->addrs);
    }
    kgc_api_obj_unref(v->tls ? &v->tls->obj : NULL);
    kgc_api_obj_unref(v->client_secret);
    free(v);
}

/* v, planned, moved into one block (tr_svc.packed): the new record, or v itself when the block
 * cannot be had. Layout: the record, kr, weights, name, addrs. The references move with it. */
static struct tr_svc *svc_pack(struct tr_svc *v)
{
    size_t o_kr = align_up(sizeof(*v), _Alignof(struct tr_kroute));
    size_t o_w = align_up(o_kr + v->n_kr * sizeof(*v->kr), _Alignof(uint32_t));
    size_t o_name = o_w + v->n_targets * sizeof(uint32_t);
    size_t name_len = strlen(v->name) + 1, addrs_len = 0;
    for (size_t i = 0; i < v->n_targets; i++)
        addrs_len += strlen(v->addrs + addrs_len) + 1;
    char *b = malloc(o_name + name_len + addrs_len);
    if (!b)
        return v;
    struct tr_svc *p = (struct tr_svc *)(void *)b;
    *p = *v;
    p->packed = true;
    p->kr = v->n_kr ? (struct tr_kroute *)(void *)(b + o_kr) : NULL;
    if (p->kr)
        memcpy(p->kr, v->kr, v->n_kr * sizeof(*v->kr));
    p->weights = v->n_targets ? (uint32_t *)(void *)(b + o_w) : NULL;
    if (p->weights)
        memcpy(p->weights, v->weights, v->n_targets * sizeof(uint32_t));
    p->name = b + o_name;
    memcpy(p->name, v->name, name_len);
    p->addrs = v->n_targets ? b + o_name + name_len : NULL;
    if (p->addrs)
        memcpy(p->addrs, v->addrs, addrs_len);
    v->tls = NULL; /* moved */
    v->client_secret = NULL;
    tr_svc_free(v);
    return p;
}

/* Plans rule ri: its Kong routes' precedence facts, its targets and every problem; the rule goes
 * into c->svcs. false when the rule was dropped. */
static bool plan_rule(struct route_ctx *rc, uint32_t ri)
{
    struct tr_ctx *c = rc->c;
    struct rule_filters f;
    if (!tr_check_filters(rc, ri, &f))
        return false;
    struct tr_svc *v = calloc(1, sizeof(*v));
    if (!v) {
        c->oom = true;
        return false;
    }
    v->rc = rc;
    v->rule = ri;
    tr_plan_matches(rc, ri, &f, plan_kroute, v);
    if (v->n_kr == 0 || c->oom) {
        tr_svc_free(v);
        if (!c->oom) {
            /* say why, with the reason of the last match dropped */
            const char *why = NULL;
            for (size_t i = c->n_problems; i > 0 && !why; i--) {
                const struct kgc_translate_problem *p = &c->problems[i - 1];
                if (p->kind == rc->r->obj.kind && p->rule == (int32_t)ri && p->match >= 0 &&
                    p->severity == KGC_TRANSLATE_DROPPED && p->name && p->namespace &&
                    strcmp(p->name, rc->name) == 0 && strcmp(p->namespace, rc->ns) == 0)
                    why = p->message;
            }
            char *msg = why ? tr_strdup(c, why) : NULL;
            tr_problem(c, rc->r->obj.kind, rc->ns, rc->name, (int32_t)ri, -1, KGC_TRANSLATE_DROPPED,
                       "no match of the rule can be expressed in Kong%s%s", msg ? ": " : "",
                       msg ? msg : "");
            free(msg);
        }
        return false;
    }
    tr_service_timeouts(rc, ri, NULL);
    struct tr_target *targets = NULL;
    size_t n_targets = 0;
    if (!f.redirect && tr_rule_targets(c, rc->r, ri, &targets, &n_targets, &v->tls) != 0)
        c->oom = true;
    if (v->tls)
        v->client_secret = tr_backend_client_secret(c, rc->r);
    keep_targets(c, v, targets, n_targets);
    free(targets);
    struct tr_rule_plugins rp; /* its KongPlugins: only their problems here (plugins.c) */
    tr_rule_plugins(rc, ri, v->n_targets == 0, &rp);
    tr_rule_plugins_free(&rp);
    v->name = tr_printf(c, "%s.%s.%s.%u", tr_route_prefix(rc->r), rc->ns, rc->name, ri);
    if (!c->oom)
        v = svc_pack(v);
    if (c->oom || kgc_base_vec_push(&c->svcs, v) != 0) {
        tr_svc_free(v);
        c->oom = true;
        return false;
    }
    for (size_t i = 0; i < v->n_kr; i++) {
        if (kgc_base_vec_push(&c->kroutes, &v->kr[i]) != 0)
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

void tr_plan_route(struct tr_ctx *c, const struct kgc_api_httproute *r)
{
    struct route_ctx *rc = calloc(1, sizeof(*rc));
    if (!rc) {
        c->oom = true;
        return;
    }
    *rc = (struct route_ctx){.c = c, .r = r, .ns = r->obj.meta.namespace, .name = r->obj.meta.name};
    if (!rc->ns || !rc->name || !route_attach(rc)) {
        tr_route_ctx_free(rc);
        return;
    }
    if (!tr_dns_label(rc->ns) || !tr_dns_subdomain(rc->name)) {
        tr_problem(c, rc->r->obj.kind, rc->ns, rc->name, -1, -1, KGC_TRANSLATE_DROPPED,
                   "the namespace or name is not a valid Kubernetes name, so no Kong entity name "
                   "can be made from it");
        tr_route_ctx_free(rc);
        return;
    }
    rc = rc_pack(rc);
    /* owned by c->routes from here: the rules planned below point at it */
    if (kgc_base_vec_push(&c->routes, rc) != 0) {
        tr_route_ctx_free(rc);
        c->oom = true;
        return;
    }
    uint32_t kept = 0;
    for (uint32_t ri = 0; ri < r->n_rules && !c->oom; ri++)
        kept += plan_rule(rc, ri) ? 1 : 0;
    if (kept && r->obj.kind == KGC_API_GRPCROUTE)
        c->counts.grpc_routes++;
    else if (kept)
        c->counts.http_routes++;
    else if (r->n_rules && !c->oom)
        tr_problem(c, rc->r->obj.kind, rc->ns, rc->name, -1, -1, KGC_TRANSLATE_DROPPED,
                   "none of the route's %u rule(s) can be expressed in Kong", r->n_rules);
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
int tr_cmp_precedence(const void *a, const void *b)
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

static uint64_t clamp_bits(uint32_t v, unsigned bits)
{
    uint64_t max = (UINT64_C(1) << bits) - 1;
    return v > max ? max : v;
}

/* The first seven fields of cmp_precedence in 40 bits, larger first. No valid route reaches a
 * clamp: hostnames have at most 253 characters, paths 1024, a match 16 headers and 16 queries
 * (the Gateway API's CRD limits). A GRPCRoute's Kong route has no path kind, method or query
 * facts of its own (grpc.c): its service's characters (at most 1024, the CRD's limit) take the
 * path's 11 bits and its method's the 8 bits the others leave (a method name of more than 255
 * characters is the one clamp a valid GRPCRoute can reach). */
static uint64_t pack_facts(const struct tr_kroute *k)
{
    if (k->grpc)
        return clamp_bits(k->host_exact, 8) << 32 | clamp_bits(k->host_len, 8) << 24 |
               clamp_bits(k->path_len, 11) << 13 | clamp_bits(k->method, 8) << 5 |
               clamp_bits(k->headers, 5);
    return clamp_bits(k->host_exact, 8) << 32 | clamp_bits(k->host_len, 8) << 24 |
           clamp_bits(k->path_kind, 2) << 22 | clamp_bits(k->path_len, 11) << 11 |
           clamp_bits(k->method, 1) << 10 | clamp_bits(k->headers, 5) << 5 |
           clamp_bits(k->queries, 5);
}

void tr_kroute_pack(struct tr_kroute *k)
{
    k->facts = pack_facts(k);
}

void tr_kroute_id(const struct tr_kroute *k, const char *name, char out[37])
{
    char md5[KGC_DIGEST_MD5_HEX_LEN + 1];
    kgc_digest_md5_hex(name, strlen(name), md5);
    uint32_t place = k->facts_place > 0xFFFFFF ? 0 : 0xFFFFFF - k->facts_place;
    char hex[33];
    snprintf(hex, sizeof(hex), "%010llx%06x%.16s",
             (unsigned long long)(k->facts & UINT64_C(0xFFFFFFFFFF)), (unsigned)place, md5);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* ---- places among equal facts ------------------------------------------------------------------
 * Kong 3.9.1 runs routes of equal priority in descending id order (atc.lua:150 adds each route as
 * inst:add_matcher(priority, route.id, expression); atc-router src/router.rs:11,15,57 at ffd11db6
 * keeps the matchers in a BTreeMap keyed by (priority, uuid), iterated in reverse), and the id's
 * place bytes only decide between routes of equal facts (tr_kroute_id). That order matters only
 * for two routes that can both match one request, and under the traditional flavours a Kong route
 * with hosts matches only a request whose Host is one of them, exactly, or ends with a wildcard's
 * ".suffix" (kong/router/transform.lua:388-409, 3.9.1: `http.host == "h"`, `http.host =^
 * ".suffix"`). So the places are counted within groups of a run that can meet: routes sharing a
 * hostname, or whose wildcard covers a hostname of the other (exact or a longer wildcard), joined
 * transitively; a route without hostname meets every route (the run is one group). Listen ports,
 * paths and methods are not looked at: they could only split a group further. */

static uint32_t uf_find(uint32_t *parent, uint32_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static void uf_join(uint32_t *parent, uint32_t a, uint32_t b)
{
    a = uf_find(parent, a);
    b = uf_find(parent, b);
    if (a != b)
        parent[a > b ? a : b] = a < b ? a : b;
}

/* A hostname as the run's groups compare it: at most 253 characters, no upper case. */
static bool plain_host(const char *h, size_t *len)
{
    size_t n = 0;
    for (; h[n]; n++)
        if ((h[n] >= 'A' && h[n] <= 'Z') || n > 253)
            return false;
    *len = n;
    return true;
}

/* The places of the run v[0..n) (rank order, equal facts, n > 1): the rank within its group.
 * One pass over the run (its Kong routes lie all over the heap: each visit is a cache miss),
 * a second one only when the run holds a wildcard. */
static int place_run(struct tr_kroute *const *v, uint32_t n, size_t *moved)
{
    uint32_t *parent = malloc(2 * (size_t)n * sizeof(*parent));
    if (!parent)
        return KGC_ENOMEM;
    uint32_t *count = parent + n;
    bool one = false;  /* a route open to any hostname, or an unusual hostname: one group */
    bool wild = false; /* a wildcard in the run */
    int rc = 0;
    struct kgc_strmap seen; /* hostname → 1 + the first route of the run naming it */
    kgc_strmap_init(&seen);
    for (uint32_t i = 0; i < n; i++) {
        parent[i] = i;
        count[i] = 0;
    }
    for (uint32_t i = 0; i < n && !one && rc == 0; i++) {
        one = !v[i]->n_hosts;
        for (uint32_t h = 0; h < v[i]->n_hosts && !one && rc == 0; h++) {
            const char *name = v[i]->hosts[h];
            size_t len;
            if (!plain_host(name, &len)) {
                one = true;
                break;
            }
            wild = wild || tr_is_wildcard(name);
            uint64_t hash = kgc_strmap_hash(name, len);
            void *first = kgc_strmap_get_hashed(&seen, name, len, hash);
            if (first)
                uf_join(parent, (uint32_t)((uintptr_t)first - 1), i);
            else
                rc = kgc_strmap_put_hashed(&seen, name, hash, (void *)(uintptr_t)(i + 1), NULL);
        }
    }
    /* a wildcard "*.s" of the run covers the hostnames (and longer wildcards) ending in ".s":
     * looked up from the covered side, one lookup per label */
    for (uint32_t i = 0; i < n && wild && !one && rc == 0; i++) {
        for (uint32_t h = 0; h < v[i]->n_hosts; h++) {
            const char *name = v[i]->hosts[h];
            const char *from = tr_is_wildcard(name) ? name + 2 : name;
            for (const char *dot = strchr(from, '.'); dot; dot = strchr(dot + 1, '.')) {
                char key[256]; /* hostnames have at most 253 characters (plain_host) */
                size_t len = strlen(dot);
                key[0] = '*';
                memcpy(key + 1, dot, len + 1);
                void *first = kgc_strmap_get(&seen, key);
                if (first)
                    uf_join(parent, (uint32_t)((uintptr_t)first - 1), i);
            }
        }
    }
    kgc_strmap_destroy(&seen);
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        uint32_t place = count[one ? 0 : uf_find(parent, i)]++;
        *moved += v[i]->facts_place != place;
        v[i]->facts_place = place;
    }
    free(parent);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int tr_rank_assign(struct tr_ctx *c, const uint64_t *touched, size_t n_touched,
                   const uint64_t *joined, size_t n_joined)
{
    size_t n = c->kroutes.n;
    struct tr_kroute **v = (struct tr_kroute **)c->kroutes.v;
    c->places_moved = 0;
    /* incremental (touched): every Kong route's facts are current already (the kept ones'
     * fields never change after planning; incremental.c match_krs packs the new ones) */
    for (size_t i = 0; i < n; i++) {
        v[i]->prio = (int64_t)(n - i);
        if (!touched)
            tr_kroute_pack(v[i]);
    }
    for (size_t s = 0, e; s < n; s = e) {
        for (e = s + 1; e < n && v[e]->facts == v[s]->facts; e++)
            ;
        if (touched && !bsearch(&v[s]->facts, touched, n_touched, sizeof(*touched), cmp_u64))
            continue; /* the same routes as last time: the same places */
        if (touched &&
            !(n_joined && bsearch(&v[s]->facts, joined, n_joined, sizeof(*joined), cmp_u64))) {
            bool zero = true; /* only left: every group was one route, and still is */
            for (size_t i = s; i < e && zero; i++)
                zero = v[i]->facts_place == 0;
            if (zero)
                continue;
        }
        if (e - s == 1 || e - s > UINT32_MAX) {
            for (size_t i = s; i < e; i++) {
                c->places_moved += v[i]->facts_place != (uint32_t)(i - s);
                v[i]->facts_place = (uint32_t)(i - s);
            }
        } else if (place_run(&v[s], (uint32_t)(e - s), &c->places_moved) != 0) {
            c->oom = true;
            return KGC_ENOMEM;
        }
    }
    return 0;
}

static void rank(struct tr_ctx *c)
{
    if (c->kroutes.n > 1)
        qsort(c->kroutes.v, c->kroutes.n, sizeof(*c->kroutes.v), tr_cmp_precedence);
    tr_rank_assign(c, NULL, 0, NULL, 0);
}

/* ---- the entry points ------------------------------------------------------------------------ */

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

void tr_ctx_setup(struct tr_ctx *c, const struct kgc_translate_input *in)
{
    c->in = in;
    c->lk = in->lookup;
    kgc_status_options_default(&c->so);
    if (in->controller_name && in->controller_name[0])
        c->so.controller_name = in->controller_name;
    c->controller = c->so.controller_name ? c->so.controller_name : KGC_STATUS_DEFAULT_CONTROLLER;
    c->flavor = !in->router_flavor                              ? TR_TRADITIONAL_COMPATIBLE
                : strcmp(in->router_flavor, "expressions") == 0 ? TR_EXPRESSIONS
                : strcmp(in->router_flavor, "traditional") == 0 ? TR_TRADITIONAL
                                                                : TR_TRADITIONAL_COMPATIBLE;
    parse_version(c, in->kong_version);
    c->fallback[0] = '\0';
    if (in->invalid_backend_target &&
        !tr_host_port(in->invalid_backend_target, c->fallback, sizeof(c->fallback)))
        c->fallback[0] = '\0'; /* malformed: off (kgc checks the option at start) */
}

static void ctx_free(struct tr_ctx *c)
{
    tr_free_slices(c);
    for (size_t i = 0; i < c->svcs.n; i++)
        tr_svc_free(c->svcs.v[i]);
    kgc_base_vec_free(&c->svcs);
    for (size_t i = 0; i < c->routes.n; i++)
        tr_route_ctx_free(c->routes.v[i]);
    kgc_base_vec_free(&c->routes);
    kgc_base_vec_free(&c->kroutes);
    tr_isolation_free(c);
    tr_free_streams(c);
}

int kgc_translate(const struct kgc_translate_input *in, struct kgc_translate_output *out,
                  struct kgc_err *err)
{
    if (!out)
        return kgc_err_set(err, KGC_EINVAL, "translate: no output to fill");
    memset(out, 0, sizeof(*out));
    if (!in || !in->lookup || !in->lookup->get)
        return kgc_err_set(err, KGC_EINVAL, "translate: no input or no lookup");

    struct tr_ctx c = {0};
    tr_ctx_setup(&c, in);

    /* The planning pass reads the snapshot once: routes, attachments, backends, problems,
     * counts, precedence. The writing passes read only what it kept (and the routes, whose
     * references are held until the end), so they cannot disagree with it. */
    struct kgc_base_vec routes = {0};
    if (tr_index_slices(&c) != 0)
        c.oom = true;
    if (!c.oom)
        tr_collect(&c, KGC_API_HTTPROUTE, &routes);
    if (!c.oom)
        tr_collect(&c, KGC_API_GRPCROUTE, &routes); /* grpc.c */
    for (size_t i = 0; i < routes.n && !c.oom; i++) {
        const struct kgc_api_httproute *r = kgc_api_as_route(routes.v[i]);
        if (r)
            tr_plan_route(&c, r);
    }
    if (!c.oom)
        tr_plan_streams(&c); /* stream.c */
    if (!c.oom)
        rank(&c);
    if (!c.oom)
        tr_kong_limits(&c);
    if (!c.oom)
        tr_plan_isolation(&c);
    size_t text_len = 0;
    char *text = NULL;
    if (!c.oom)
        text = tr_write_document(&c, &text_len);
    ctx_free(&c);
    tr_release_all(&routes);
    /* What the translation just freed (its working set, several MB at 10k routes) would stay in
     * malloc's arenas, free but resident: give it back, as after any large document. */
    kgc_jsonscan_release(text_len);
    if (c.oom || !text) {
        free(text);
        tr_free_problems(c.problems, c.n_problems);
        memset(out, 0, sizeof(*out));
        return kgc_err_set(err, KGC_ENOMEM, "translate: out of memory");
    }
    char *fit = realloc(text, text_len + 1); /* give the unused tail back */
    out->config = fit ? fit : text;
    out->config_len = text_len;
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

struct kgc_translate_text *kgc_translate_text_ref(struct kgc_translate_text *t)
{
    if (t)
        atomic_fetch_add(&t->refs, 1);
    return t;
}

void kgc_translate_text_unref(struct kgc_translate_text *t)
{
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    if (t->spare)
        tr_spare_return(t->spare, t->s, t->cap, t->serial);
    else
        free(t->s);
    free(t);
}

struct kgc_translate_text *kgc_translate_output_take_text(struct kgc_translate_output *out)
{
    if (!out || !out->config)
        return NULL;
    struct kgc_translate_text *t = out->text;
    if (!t) {
        if (!(t = calloc(1, sizeof(*t))))
            return NULL;
        atomic_init(&t->refs, 1);
        t->s = out->config;
        t->len = out->config_len;
    }
    out->text = NULL;
    out->config = NULL;
    return t;
}

void kgc_translate_output_free(struct kgc_translate_output *out)
{
    if (!out)
        return;
    if (out->text)
        kgc_translate_text_unref(out->text);
    else
        free(out->config);
    tr_free_problems(out->problems, out->n_problems);
    memset(out, 0, sizeof(*out));
}

/* limits — what Kong cannot serve exactly as the Gateway API asks, said as LIMITATION problems
 * (the route's konghq.com/KongLimitation condition) after the ranking (translate_internal.h):
 * precedence Kong's traditional routers cannot honour, and routes of different Gateways that
 * collide on one Kong listen. Pure: reads the planning records, writes problems. */
#include "translate_internal.h"

#include "kgc/strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The path value of a Kong route's match ("/" when the match has none; kroute_facts keeps it). */
static const char *kroute_path(const struct route_ctx *rc, const struct tr_kroute *k)
{
    (void)rc;
    return k->raw_path ? k->raw_path : "/";
}

/* Whether c already holds a LIMITATION problem of rc's rule with this message. */
static bool limitation_said(const struct tr_ctx *c, const struct route_ctx *rc, uint32_t rule,
                            const char *msg)
{
    for (size_t i = 0; i < c->n_problems; i++) {
        const struct kgc_translate_problem *p = &c->problems[i];
        if (p->severity == KGC_TRANSLATE_LIMITATION && p->rule == (int32_t)rule && p->name &&
            p->namespace && p->message && strcmp(p->name, rc->name) == 0 &&
            strcmp(p->namespace, rc->ns) == 0 && strcmp(p->message, msg) == 0)
            return true;
    }
    return false;
}

/* Under the traditional flavour Kong ranks a route by the number of kinds of fields it matches,
 * then by its header count, and only then by regex_priority (traditional.lua sort_routes): of two
 * matches of one HTTPRoute on the same path and hosts, one with a method and no header and one
 * with headers and no method, the Gateway API picks the method match and Kong the header match,
 * whatever kgc's priorities. Said as a LIMITATION of the rule Kong prefers (ranked after the
 * ranking). */
static void traditional_precedence_limits(struct tr_ctx *c, const struct tr_limits_focus *lf)
{
    size_t start = 0;
    while (start < c->svcs.n && !c->oom) {
        const struct tr_svc *first = c->svcs.v[start];
        size_t end = start + 1;
        while (end < c->svcs.n && ((const struct tr_svc *)c->svcs.v[end])->rc == first->rc)
            end++;
        const struct route_ctx *rc = first->rc;
        for (size_t j = start; j < end && (!lf || lf->focus(rc, lf->ctx)); j++) {
            const struct tr_svc *vb = c->svcs.v[j];
            for (size_t b = 0; b < vb->n_kr; b++) {
                const struct tr_kroute *kb = &vb->kr[b];
                if (kb->method || !kb->headers)
                    continue;
                char rules[200] = "";
                size_t len = 0;
                int64_t last = -1;
                for (size_t i = start; i < end; i++) {
                    const struct tr_svc *va = c->svcs.v[i];
                    for (size_t a = 0; a < va->n_kr; a++) {
                        const struct tr_kroute *ka = &va->kr[a];
                        if (!ka->method || ka->headers || ka->prio <= kb->prio ||
                            ka->path_kind != kb->path_kind || ka->host != kb->host ||
                            (int64_t)ka->rule == last ||
                            strcmp(kroute_path(rc, ka), kroute_path(rc, kb)) != 0)
                            continue;
                        last = ka->rule;
                        int n = snprintf(rules + len, sizeof(rules) - len, "%s%u", len ? ", " : "",
                                         ka->rule);
                        if (n > 0 && (size_t)n < sizeof(rules) - len)
                            len += (size_t)n;
                    }
                }
                if (!len)
                    continue;
                char *msg = tr_printf(c,
                                      "matches[%u]: Kong's traditional router gives its headers "
                                      "precedence over the method match of Rule %s (the Gateway "
                                      "API ranks the method first); set router_flavor = "
                                      "expressions",
                                      kb->match, rules);
                if (msg && !limitation_said(c, rc, kb->rule, msg))
                    tr_problem(c, rc->r->obj.kind, rc->ns, rc->name, (int32_t)kb->rule, -1,
                               KGC_TRANSLATE_LIMITATION, "%s", msg);
                free(msg);
            }
        }
        start = end;
    }
}

/* Whether a and b are attached to different Gateways through one Kong listen. */
static bool share_listen(const struct route_ctx *a, const struct route_ctx *b)
{
    for (uint32_t i = 0; i < a->n_gw_listens; i++) {
        for (uint32_t j = 0; j < b->n_gw_listens; j++) {
            const struct tr_gw_listen *x = &a->gw_listens[i], *y = &b->gw_listens[j];
            if (x->gw != y->gw && x->https == y->https && x->port == y->port)
                return true;
        }
    }
    return false;
}

/* Whether a request can carry a hostname both answer for (exact names only). */
static bool hosts_overlap(const struct route_ctx *a, const struct route_ctx *b)
{
    if (a->any_host || b->any_host)
        return true;
    for (size_t i = 0; i < a->n_hosts; i++) {
        for (size_t j = 0; j < b->n_hosts; j++) {
            if (strcasecmp(a->hosts[i], b->hosts[j]) == 0)
                return true;
        }
    }
    return false;
}

struct bare {
    const struct route_ctx *rc;
    const struct tr_kroute *k;
    const char *path;
};

static int cmp_bare(const void *a, const void *b)
{
    const struct bare *x = a, *y = b;
    if (x->k->path_kind != y->k->path_kind)
        return x->k->path_kind < y->k->path_kind ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* Kong has no notion of Gateway: every Gateway's routes share its one proxy listen per port. Two
 * matches of routes of different Gateways on one listen with the same path, no method, header or
 * query, and a hostname in common are the same Kong route twice: one answers for both Gateways.
 * Said as a LIMITATION of each. */
/* The LIMITATION of x for the pair (x, y) of shared_listen_limits. */
static void shared_listen_said(struct tr_ctx *c, const struct bare *x, const struct bare *y)
{
    char *msg = tr_printf(c,
                          "matches[%u]: Kong serves every Gateway on one proxy listen "
                          "per port, and %s %s Rule %u of another Gateway on "
                          "this listen has the same path and hostname: one of them "
                          "answers for both Gateways",
                          x->k->match, kgc_api_kind_info(y->rc->r->obj.kind)->name,
                          y->rc->r->obj.meta.key, y->k->rule);
    if (msg && !limitation_said(c, x->rc, x->k->rule, msg))
        tr_problem(c, x->rc->r->obj.kind, x->rc->ns, x->rc->name, (int32_t)x->k->rule, -1,
                   KGC_TRANSLATE_LIMITATION, "%s", msg);
    free(msg);
}

static void shared_listen_limits(struct tr_ctx *c, const struct tr_limits_focus *lf)
{
    if (lf && lf->paths_unshared)
        return;
    struct bare *v = NULL, *keys = NULL;
    size_t n = 0, n_keys = 0;
    /* the focused routes' paths (from their list, when the caller has it: not a look at every
     * route) */
    const struct kgc_base_vec *from = lf && lf->svcs ? lf->svcs : &c->svcs;
    for (size_t i = 0; i < from->n && lf; i++) {
        const struct tr_svc *s = from->v[i];
        if (!lf->svcs && !lf->focus(s->rc, lf->ctx))
            continue;
        for (size_t j = 0; j < s->n_kr; j++) {
            const struct tr_kroute *k = &s->kr[j];
            if (k->method || k->headers || k->queries || s->rc->n_gw_listens == 0)
                continue;
            struct bare *g = realloc(keys, (n_keys + 1) * sizeof(*g));
            if (!g) {
                c->oom = true;
                free(keys);
                return;
            }
            keys = g;
            keys[n_keys++] = (struct bare){s->rc, k, kroute_path(s->rc, k)};
        }
    }
    if (lf) { /* every pair with a focused side, in one pass */
        for (size_t i = 0; i < c->svcs.n && n_keys && !c->oom; i++) {
            const struct tr_svc *s = c->svcs.v[i];
            for (size_t j = 0; j < s->n_kr && !c->oom; j++) {
                const struct tr_kroute *k = &s->kr[j];
                if (k->method || k->headers || k->queries)
                    continue;
                struct bare y = {s->rc, k, kroute_path(s->rc, k)};
                /* cmp_bare()'s fields cheaply first: the route's own record (a cache miss per
                 * route at 10k routes) only for a path in common */
                for (size_t x = 0; x < n_keys; x++)
                    if (keys[x].k->path_kind == k->path_kind &&
                        keys[x].k->raw_path_len == k->raw_path_len && cmp_bare(&keys[x], &y) == 0 &&
                        keys[x].rc != y.rc && s->rc->n_gw_listens != 0 &&
                        share_listen(keys[x].rc, y.rc) && hosts_overlap(keys[x].rc, y.rc))
                        shared_listen_said(c, &keys[x], &y);
            }
        }
        free(keys);
        return;
    }
    size_t cap = 0;
    for (size_t i = 0; i < c->svcs.n; i++) {
        const struct tr_svc *s = c->svcs.v[i];
        for (size_t j = 0; j < s->n_kr; j++) {
            const struct tr_kroute *k = &s->kr[j];
            if (k->method || k->headers || k->queries || s->rc->n_gw_listens == 0)
                continue;
            struct bare one = {s->rc, k, kroute_path(s->rc, k)};
            if (n < cap) {
                v[n++] = one;
                continue;
            }
            cap = cap ? 2 * cap : 64;
            struct bare *g = realloc(v, cap * sizeof(*g));
            if (!g) {
                c->oom = true;
                free(v);
                return;
            }
            v = g;
            v[n++] = one;
        }
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_bare);
    for (size_t i = 0; i < n && !c->oom; i++) {
        for (size_t j = i + 1; j < n && cmp_bare(&v[i], &v[j]) == 0; j++) {
            const struct bare *a = &v[i], *b = &v[j];
            if (a->rc == b->rc || !share_listen(a->rc, b->rc) || !hosts_overlap(a->rc, b->rc))
                continue;
            for (int side = 0; side < 2; side++)
                shared_listen_said(c, side ? b : a, side ? a : b);
        }
    }
    free(v);
}

/* ---- traditional_compatible: Kong's priority against kgc's rank ------------------------------ */

/* The priority Kong 3.9.1 gives the Kong route kgc writes for k under traditional_compatible
 * (kong/router/transform.lua:564-668 get_priority, as LuaJIT runs it — the test Kong's
 * router_atc_xform.c models and cites the same lines): bit 63 when four or more kinds of fields
 * match (match_weight << 61 is a 32-bit shift in LuaJIT: bit 31, negative, then 2^63), bit 60
 * when every host is plain, bit 51 for a regex path (every path but the root "/" of a route
 * without wildcard hostname, README.md "Precedence"), match_weight at bit 29, the header count at
 * bit 20, and the length of a plain path. kgc sets no regex_priority under this flavour, and Kong
 * orders equal priorities by route id, which kgc derives from its rank (tr_kroute_id). */
uint64_t tr_tc_priority(const struct route_ctx *rc, const struct tr_kroute *k)
{
    bool wildcard = tr_route_has_wildcard(rc, k->iso);
    size_t n_hosts = k->iso ? rc->n_iso_hosts : rc->n_hosts;
    uint64_t mw = 1 + (n_hosts > 0) + (k->method > 0) + (k->headers > 0);
    uint64_t p = mw >= 4 ? UINT64_C(1) << 63 : mw << 29;
    if (n_hosts > 0 && !wildcard)
        p |= UINT64_C(1) << 60;
    p |= k->root_path && !wildcard ? 1 : UINT64_C(1) << 51;
    p |= (uint64_t)(k->headers > 255 ? 255 : k->headers) << 20;
    return p;
}

/* Whether hostname pattern a (exact or "*.suffix") and b can name one request host. */
static bool host_pair(const char *a, const char *b)
{
    bool wa = tr_is_wildcard(a), wb = tr_is_wildcard(b);
    if (!wa && !wb)
        return strcasecmp(a, b) == 0;
    const char *w = wa ? a + 1 : b + 1; /* ".suffix" */
    const char *o = wa ? b : a;
    if (wa && wb) { /* one suffix ends the other */
        size_t la = strlen(a + 1), lb = strlen(b + 1);
        const char *lo = la >= lb ? a + 1 : b + 1, *sh = la >= lb ? b + 1 : a + 1;
        return strcasecmp(lo + strlen(lo) - strlen(sh), sh) == 0;
    }
    size_t lw = strlen(w), lo = strlen(o);
    return lo > lw && strcasecmp(o + lo - lw, w) == 0;
}

static bool hosts_meet(const struct route_ctx *a, const struct route_ctx *b)
{
    if (a->any_host || b->any_host || !a->n_hosts || !b->n_hosts)
        return true;
    for (size_t i = 0; i < a->n_hosts; i++)
        for (size_t j = 0; j < b->n_hosts; j++)
            if (host_pair(a->hosts[i], b->hosts[j]))
                return true;
    return false;
}

/* Whether a and b take requests on a common Kong listen (unknown listens: yes). */
static bool listens_meet(const struct route_ctx *a, const struct route_ctx *b)
{
    if (!a->n_listens || !b->n_listens || a->listens_overflow || b->listens_overflow)
        return true;
    for (uint32_t i = 0; i < a->n_listens; i++)
        for (uint32_t j = 0; j < b->n_listens; j++)
            if (a->listens[i].https == b->listens[j].https &&
                (a->listens[i].port == b->listens[j].port || !a->listens[i].port ||
                 !b->listens[j].port))
                return true;
    return false;
}

static const struct kgc_api_http_route_match *kroute_match(const struct route_ctx *rc,
                                                           const struct tr_kroute *k)
{
    const struct kgc_api_http_route_rule *rule =
        k->rule < rc->r->n_rules ? &rc->r->rules[k->rule] : NULL;
    return rule && k->match < rule->n_matches ? &rule->matches[k->match] : NULL;
}

/* Whether path p (a prefix) covers q, segment-wise. */
static bool prefix_covers(const char *p, const char *q)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    if (n == 1 && p[0] == '/')
        return true;
    return strncmp(p, q, n) == 0 && (q[n] == '\0' || q[n] == '/');
}

/* Whether one request can satisfy both matches (regular expressions: assumed so). */
static bool matches_meet(const struct route_ctx *ra, const struct tr_kroute *ka,
                         const struct route_ctx *rb, const struct tr_kroute *kb)
{
    const struct kgc_api_http_route_match *a = kroute_match(ra, ka), *b = kroute_match(rb, kb);
    if (!a || !b)
        return true;
    if (a->method && b->method && strcmp(a->method, b->method) != 0)
        return false;
    for (uint32_t i = 0; i < a->n_headers; i++) {
        const struct kgc_api_http_value_match *x = &a->headers[i];
        for (uint32_t j = 0; j < b->n_headers; j++) {
            const struct kgc_api_http_value_match *y = &b->headers[j];
            bool exact = (!x->type || strcmp(x->type, "Exact") == 0) &&
                         (!y->type || strcmp(y->type, "Exact") == 0);
            if (exact && x->name && y->name && x->value && y->value &&
                strcasecmp(x->name, y->name) == 0 && strcmp(x->value, y->value) != 0)
                return false;
        }
    }
    if (ka->path_kind == PATH_REGEX || kb->path_kind == PATH_REGEX)
        return true;
    const char *pa = kroute_path(ra, ka), *pb = kroute_path(rb, kb);
    if (ka->path_kind == PATH_EXACT && kb->path_kind == PATH_EXACT)
        return strcmp(pa, pb) == 0;
    if (ka->path_kind == PATH_EXACT)
        return prefix_covers(pb, pa);
    if (kb->path_kind == PATH_EXACT)
        return prefix_covers(pa, pb);
    return prefix_covers(pa, pb) || prefix_covers(pb, pa);
}

struct tc_entry {
    const struct route_ctx *rc;
    const struct tr_kroute *k;
    uint64_t kong; /* tc_priority */
};

static int cmp_rank(const void *a, const void *b)
{
    const struct tc_entry *x = a, *y = b;
    return x->k->prio > y->k->prio ? -1 : x->k->prio < y->k->prio;
}

/* At most this many pairs are compared (a configuration this mixed is checked in part; see
 * README.md "Precedence"). */
#define TC_PAIR_BUDGET 20000000u

/* Entry indexes in rank order. */
struct idx_list {
    size_t *v;
    size_t n, cap;
};

static bool idx_push(struct idx_list *l, size_t i)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        size_t *g = realloc(l->v, cap * sizeof(*g));
        if (!g)
            return false;
        l->v = g;
        l->cap = cap;
    }
    l->v[l->n++] = i;
    return true;
}

/* Whether rc's requests can carry any hostname (no hostname, or a wildcard). */
static bool open_hosts(const struct route_ctx *rc)
{
    if (rc->any_host || !rc->n_hosts)
        return true;
    for (size_t i = 0; i < rc->n_hosts; i++)
        if (tr_is_wildcard(rc->hosts[i]))
            return true;
    return false;
}

/* Appends to over the name of the rule of a that b overtakes, once; counts what does not fit. */
static void name_rule(const struct tc_entry *a, const struct tc_entry *b, char *over, size_t oversz,
                      size_t *len, size_t *more)
{
    char one[200];
    if (a->rc == b->rc)
        snprintf(one, sizeof(one), "Rule %u", a->k->rule);
    else
        snprintf(one, sizeof(one), "%s %s Rule %u", kgc_api_kind_info(a->rc->r->obj.kind)->name,
                 a->rc->r->obj.meta.key, a->k->rule);
    size_t ol = strlen(one);
    for (const char *s = strstr(over, one); s; s = strstr(s + 1, one))
        if ((s == over || s[-2] == ',') && (s[ol] == '\0' || s[ol] == ','))
            return;
    if (*len + ol + 2 < oversz)
        *len += (size_t)snprintf(over + *len, oversz - *len, "%s%s", *len ? ", " : "", one);
    else
        (*more)++;
}

/* Whether Kong runs b before a, which kgc ranks first, for some request. */
static bool overtakes(const struct tc_entry *a, const struct tc_entry *b)
{
    if (a->kong >= b->kong || (a->rc == b->rc && a->k->rule == b->k->rule))
        return false; /* matches of one rule lead to the same backends */
    return listens_meet(a->rc, b->rc) && hosts_meet(a->rc, b->rc) &&
           matches_meet(a->rc, a->k, b->rc, b->k);
}

/* The LIMITATION of b, which Kong runs before the rules named in over. */
static void tc_said(struct tr_ctx *c, const struct tc_entry *b, const char *over, size_t more)
{
    char *msg = tr_printf(c,
                          "matches[%u]: Kong's traditional_compatible router gives it "
                          "precedence over %s%s (Kong ranks kinds of conditions and header "
                          "count first; the Gateway API ranks those rules first); set "
                          "router_flavor = expressions",
                          b->k->match, over, more ? " and more" : "");
    if (msg && !limitation_said(c, b->rc, b->k->rule, msg))
        tr_problem(c, b->rc->r->obj.kind, b->rc->ns, b->rc->name, (int32_t)b->k->rule, -1,
                   KGC_TRANSLATE_LIMITATION, "%s", msg);
    free(msg);
}

/* Entry indexes by rank (prio descending). */
static int cmp_idx_rank(const void *a, const void *b, void *ctx)
{
    const struct tc_entry *v = ctx;
    int64_t x = v[*(const size_t *)a].k->prio, y = v[*(const size_t *)b].k->prio;
    return x > y ? -1 : x < y;
}

static void sort_by_rank(const struct tc_entry *v, struct idx_list *l)
{
    if (l->n > 1)
        qsort_r(l->v, l->n, sizeof(*l->v), cmp_idx_rank, (void *)v);
}

/* tc_precedence_limits for the routes in focus without ranking every route: v unsorted, each
 * focused b meets, per hostname of b and then among the routes open to any hostname, the routes
 * ranked above it in rank order, as the whole run meets them. Only when the whole run cannot run
 * out of its pair budget (lf->pair_bound): returns false otherwise, and then nothing was done. */
static bool tc_focused(struct tr_ctx *c, const struct tr_limits_focus *lf, const struct tc_entry *v,
                       size_t m)
{
    if (lf->pair_bound >= TC_PAIR_BUDGET)
        return false;
    /* the hostnames of the focused routes → their lists; the open routes */
    struct kgc_strmap lists;
    kgc_strmap_init(&lists);
    struct idx_list open = {0}, focus = {0};
    for (size_t j = 0; j < m && !c->oom; j++) {
        if (!lf->focus(v[j].rc, lf->ctx))
            continue;
        c->oom = !idx_push(&focus, j);
        for (size_t h = 0; h < v[j].rc->n_hosts && !c->oom && !open_hosts(v[j].rc); h++) {
            if (kgc_strmap_get(&lists, v[j].rc->hosts[h]))
                continue;
            struct idx_list *l = calloc(1, sizeof(*l));
            if (!l || kgc_strmap_put(&lists, v[j].rc->hosts[h], l, NULL) != 0) {
                free(l);
                c->oom = true;
            }
        }
    }
    for (size_t i = 0; i < m && !c->oom && focus.n; i++) {
        if (open_hosts(v[i].rc)) {
            c->oom = !idx_push(&open, i);
            continue;
        }
        for (size_t h = 0; h < v[i].rc->n_hosts && !c->oom; h++) {
            struct idx_list *l = kgc_strmap_get(&lists, v[i].rc->hosts[h]);
            if (l)
                c->oom = !idx_push(l, i);
        }
    }
    sort_by_rank(v, &open);
    size_t pos = 0;
    const char *key;
    void *val;
    while (kgc_strmap_next(&lists, &pos, &key, &val))
        sort_by_rank(v, val);
    for (size_t f = 0; f < focus.n && !c->oom; f++) {
        const struct tc_entry *b = &v[focus.v[f]];
        char over[240] = "";
        size_t len = 0, more = 0;
        bool open_b = open_hosts(b->rc);
        size_t n_lists = open_b ? 1 : b->rc->n_hosts + 1;
        for (size_t h = 0; h < n_lists; h++) {
            const struct idx_list *l =
                !open_b && h < b->rc->n_hosts ? kgc_strmap_get(&lists, b->rc->hosts[h]) : &open;
            if (open_b) /* every route ranked above: the open list holds only open ones */
                l = NULL;
            for (size_t x = 0; l && x < l->n && v[l->v[x]].k->prio > b->k->prio; x++) {
                const struct tc_entry *a = &v[l->v[x]];
                bool seen = false; /* met through an earlier hostname of b */
                for (size_t e = 0; e < h && !seen; e++)
                    for (size_t ah = 0; ah < a->rc->n_hosts && !seen && !open_hosts(a->rc); ah++)
                        seen = strcmp(a->rc->hosts[ah], b->rc->hosts[e]) == 0;
                if (!seen && overtakes(a, b))
                    name_rule(a, b, over, sizeof(over), &len, &more);
            }
        }
        if (open_b) { /* every route ranked above it, in rank order */
            struct idx_list above = {0};
            for (size_t i = 0; i < m && !c->oom; i++)
                if (v[i].k->prio > b->k->prio)
                    c->oom = !idx_push(&above, i);
            sort_by_rank(v, &above);
            for (size_t x = 0; x < above.n; x++)
                if (overtakes(&v[above.v[x]], b))
                    name_rule(&v[above.v[x]], b, over, sizeof(over), &len, &more);
            free(above.v);
        }
        if (len)
            tc_said(c, b, over, more);
    }
    pos = 0;
    while (kgc_strmap_next(&lists, &pos, &key, &val)) {
        free(((struct idx_list *)val)->v);
        free(val);
    }
    kgc_strmap_destroy(&lists);
    free(open.v);
    free(focus.v);
    return true;
}

/* Under traditional_compatible Kong runs routes by its own priority (tc_priority) and kgc's rank
 * decides only among equal ones: each Kong route that Kong ranks above a route kgc ranks first,
 * where one request can match both, is a LIMITATION of its rule naming the rules it overtakes.
 * Only routes that can share a hostname are compared: those with exact hostnames by hostname
 * (one list per name), against every route open to any hostname. */
static void tc_precedence_limits(struct tr_ctx *c, const struct tr_limits_focus *lf,
                                 struct tr_limits_info *info)
{
    if (lf && lf->uniform_known) {
        info->has_prio = true;
        info->prio = lf->uniform_prio;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < c->svcs.n; i++)
        n += ((const struct tr_svc *)c->svcs.v[i])->n_kr;
    if (n < 2)
        return;
    struct tc_entry *v = calloc(n, sizeof(*v));
    size_t *stamp = calloc(n, sizeof(*stamp));
    struct idx_list open = {0};
    struct kgc_strmap by_host;
    kgc_strmap_init(&by_host);
    if (!v || !stamp) {
        c->oom = true;
        goto out;
    }
    size_t m = 0;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < c->svcs.n; i++) {
        const struct tr_svc *s = c->svcs.v[i];
        for (size_t j = 0; j < s->n_kr; j++) {
            v[m] = (struct tc_entry){s->rc, &s->kr[j], s->kr[j].tc_prio};
            lo = v[m].kong < lo ? v[m].kong : lo;
            hi = v[m].kong > hi ? v[m].kong : hi;
            m++;
        }
    }
    if (lo == hi) { /* one Kong priority for all: the ids order them as kgc ranks */
        info->has_prio = true;
        info->prio = lo;
        goto out;
    }
    info->uniform = false;
    if (lf && tc_focused(c, lf, v, m))
        goto out;
    qsort(v, m, sizeof(*v), cmp_rank);
    for (size_t i = 0; i < m && !c->oom; i++) {
        if (open_hosts(v[i].rc)) {
            c->oom = !idx_push(&open, i);
            continue;
        }
        for (size_t h = 0; h < v[i].rc->n_hosts && !c->oom; h++) {
            struct idx_list *l = kgc_strmap_get(&by_host, v[i].rc->hosts[h]);
            if (!l) {
                l = calloc(1, sizeof(*l));
                if (!l || kgc_strmap_put(&by_host, v[i].rc->hosts[h], l, NULL) != 0) {
                    free(l);
                    c->oom = true;
                    break;
                }
            }
            c->oom = !idx_push(l, i);
        }
    }
    size_t budget = TC_PAIR_BUDGET;
    for (size_t j = 1; j < m && !c->oom && budget; j++) {
        const struct tc_entry *b = &v[j];
        char over[240] = "";
        size_t len = 0, more = 0;
        /* out of focus: the pairs are counted all the same, so that the budget runs out where
         * it would without a focus */
        bool judge = !lf || lf->focus(b->rc, lf->ctx);
        if (open_hosts(b->rc)) {
            if (!judge) {
                size_t pairs = j < budget ? j : budget;
                budget -= pairs;
                continue;
            }
            for (size_t i = 0; i < j && budget; i++, budget--)
                if (overtakes(&v[i], b))
                    name_rule(&v[i], b, over, sizeof(over), &len, &more);
        } else {
            for (size_t h = 0; h <= b->rc->n_hosts && budget; h++) {
                const struct idx_list *l =
                    h < b->rc->n_hosts ? kgc_strmap_get(&by_host, b->rc->hosts[h]) : &open;
                for (size_t x = 0; l && x < l->n && l->v[x] < j && budget; x++, budget--) {
                    size_t i = l->v[x];
                    if (stamp[i] == j + 1)
                        continue; /* met through another hostname */
                    stamp[i] = j + 1;
                    if (judge && overtakes(&v[i], b))
                        name_rule(&v[i], b, over, sizeof(over), &len, &more);
                }
            }
        }
        if (len)
            tc_said(c, b, over, more);
    }
    info->budget_hit = budget == 0;
out:;
    size_t pos = 0;
    const char *key;
    void *val;
    while (kgc_strmap_next(&by_host, &pos, &key, &val)) {
        struct idx_list *l = val;
        free(l->v);
        free(l);
    }
    kgc_strmap_destroy(&by_host);
    free(open.v);
    free(stamp);
    free(v);
}

void tr_kong_limits_focused(struct tr_ctx *c, const struct tr_limits_focus *lf,
                            struct tr_limits_info *info)
{
    *info = (struct tr_limits_info){.uniform = true};
    if (c->flavor == TR_TRADITIONAL)
        traditional_precedence_limits(c, lf);
    else if (c->flavor == TR_TRADITIONAL_COMPATIBLE)
        tc_precedence_limits(c, lf, info);
    if (!c->oom)
        shared_listen_limits(c, lf);
}

void tr_kong_limits(struct tr_ctx *c)
{
    struct tr_limits_info info;
    tr_kong_limits_focused(c, NULL, &info);
}

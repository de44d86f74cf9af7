/* isolation — listener isolation under Kong's traditional_compatible router (translate_internal.h).
 *
 * The Gateway API (apis/v1/gateway_types.go:146-152 v1.6.1, "Listeners that are distinct only by
 * Hostname"; conformance/tests/gateway-http-listener-isolation.go:52-125) gives a request to the
 * most specific listener of a Gateway whose hostname matches it: a request for abc.foo.example.com
 * belongs to a listener of that hostname, never to one for *.example.com or one without hostname on
 * the same port, even when only the less specific listener has a route for its path. The
 * expressions flavour says so in each route's expression (match.c, tr_listen_scope); a
 * traditional_compatible route cannot negate a condition. So each such more specific hostname H on
 * Kong proxy port P gets one Kong route of its own that answers 404 as Kong does when nothing
 * matches, placed by Kong's priority below every route of H's listener and above the routes of less
 * specific listeners:
 *   - H exact: `hosts = ["H:P"]`, `paths = ["/"]`: bit 60 (plain hosts) puts it above every route
 *     whose hosts are wildcards or absent; H's own routes have bit 60 too and regex paths (bit 51)
 *     or, on "/", at least as many kinds of conditions;
 *   - H a wildcard: `hosts = ["H:P"]`, `paths = ["~/"]`: bit 51 and two kinds of conditions, like
 *     every path-only route of a wildcard listener (whose root is a regex too, README.md
 *     "Precedence");
 * and among equal priorities its id is below every route of H (same hostname facts, no path) and
 * above the routes of shorter hostnames (Kong runs equal priorities by descending id, see
 * tr_kroute_id). kong/router/transform.lua:564-668 (3.9.1) get_priority; atc-router
 * src/router.rs:11,15,57 (ffd11db6) (priority, uuid) order. Routes of less specific listeners with
 * four or more kinds of conditions (bit 63: hostname, method, headers and path) still outrank it:
 * said in README.md "Listener scope".
 *
 * Pure: reads the snapshot through c->lk; c->iso is owned by the translation. */
#include "translate_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int cmp_iso(const void *a, const void *b)
{
    const struct tr_iso *x = a, *y = b;
    if (x->https != y->https)
        return x->https ? 1 : -1;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    return strcmp(x->hostname, y->hostname);
}

static bool iso_add(struct tr_ctx *c, bool https, uint16_t port, uint16_t gw_port, const char *h,
                    const struct kgc_api_gateway *gw)
{
    for (size_t i = 0; i < c->n_iso; i++)
        if (c->iso[i].https == https && c->iso[i].port == port &&
            strcasecmp(c->iso[i].hostname, h) == 0)
            return true;
    struct tr_iso *g = realloc(c->iso, (c->n_iso + 1) * sizeof(*g));
    if (!g)
        return false;
    c->iso = g;
    char *dup = strdup(h);
    json_object *tags = tr_obj_tags(c, KGC_API_GATEWAY, &gw->obj, -1, -1);
    if (!dup || !tags) {
        free(dup);
        json_object_put(tags);
        return false;
    }
    for (char *p = dup; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    c->iso[c->n_iso++] = (struct tr_iso){https, port, gw_port, dup, tags};
    return true;
}

/* The hostnames of gw's listeners that a less specific listener on the same port covers. */
static void gateway_isolation(struct tr_ctx *c, const struct kgc_api_gateway *gw)
{
    for (uint32_t mi = 0; mi < gw->n_listeners && !c->oom; mi++) {
        const char *mh = gw->listeners[mi].hostname;
        uint16_t mport = 0;
        if (!mh || !mh[0] || !tr_hostname(mh, true) || !tr_served_listener(c, gw, mi, &mport) ||
            !mport)
            continue;
        const char *proto = gw->listeners[mi].protocol;
        bool https = proto && strcmp(proto, "HTTPS") == 0;
        for (uint32_t li = 0; li < gw->n_listeners; li++) {
            const char *lh = gw->listeners[li].hostname;
            uint16_t lport = 0;
            if (li == mi || !tr_served_listener(c, gw, li, &lport) || lport != mport ||
                (lh && lh[0] && strcasecmp(lh, mh) == 0) || !tr_host_within(mh, lh))
                continue;
            int32_t gp = gw->listeners[mi].port;
            if (!iso_add(c, https, mport, gp > 0 && gp <= 65535 ? (uint16_t)gp : 0, mh, gw))
                c->oom = true;
            break;
        }
    }
}

void tr_plan_isolation(struct tr_ctx *c)
{
    if (c->flavor != TR_TRADITIONAL_COMPATIBLE)
        return;
    struct kgc_base_vec gws = {0};
    tr_collect(c, KGC_API_GATEWAY, &gws);
    for (size_t i = 0; i < gws.n && !c->oom; i++) {
        const struct kgc_api_gateway *gw = kgc_api_as_gateway(gws.v[i]);
        if (gw && gw->obj.meta.namespace && tr_gateway_owned(c, gw))
            gateway_isolation(c, gw);
    }
    tr_release_all(&gws);
    if (c->n_iso > 1)
        qsort(c->iso, c->n_iso, sizeof(*c->iso), cmp_iso);
    c->counts.routes += c->n_iso;
}

/* Below every route of its hostname and above those of shorter ones (tr_kroute_id's layout). */
static void iso_id(const struct tr_iso *v, const char *name, char out[37])
{
    struct tr_kroute k = {0};
    uint32_t len = (uint32_t)strlen(v->hostname);
    k.host_exact = tr_is_wildcard(v->hostname) ? 0 : len;
    k.host_len = len;
    /* the facts of a route of this hostname without path, and the last place among them */
    struct tr_kroute probe = k;
    probe.facts_place = 0xFFFFFF;
    tr_kroute_pack(&probe);
    tr_kroute_id(&probe, name, out);
}

json_object *tr_isolation_route(struct tr_ctx *c, size_t i)
{
    const struct tr_iso *v = &c->iso[i];
    char *name = tr_printf(c, "kgc.isolation.%s.%u.%s", v->https ? "https" : "http",
                           (unsigned)v->port, v->hostname);
    if (!name)
        return NULL;
    for (char *p = name; *p; p++)
        if (*p == '*')
            *p = '_'; /* Kong's names: letters, digits, "." "-" "_" "~" */
    char id[37];
    iso_id(v, name, id);
    json_object *o = tr_jobj(c), *protocols = tr_jarr(c), *hosts = tr_jarr(c), *paths = tr_jarr(c);
    tr_jset(c, o, "id", tr_jstr(c, id));
    tr_jset(c, o, "name", tr_jstr(c, name));
    free(name);
    tr_jpush(c, protocols, tr_jstr(c, v->https ? "https" : "http"));
    tr_jset(c, o, "protocols", protocols);
    char *hp = tr_printf(c, "%s:%u", v->hostname, (unsigned)v->port);
    tr_jpush(c, hosts, tr_jstr(c, hp));
    free(hp);
    if (v->gw_port && v->gw_port != v->port) { /* a Host header's port (tr_listen) */
        hp = tr_printf(c, "%s:%u", v->hostname, (unsigned)v->gw_port);
        tr_jpush(c, hosts, tr_jstr(c, hp));
        free(hp);
    }
    tr_jset(c, o, "hosts", hosts);
    tr_jpush(c, paths, tr_jstr(c, tr_is_wildcard(v->hostname) ? "~/" : "/"));
    tr_jset(c, o, "paths", paths);
    tr_jset(c, o, "strip_path", json_object_new_boolean(0));
    tr_jset(c, o, "preserve_host", json_object_new_boolean(1));
    tr_jset(c, o, "tags", tr_jref(v->tags));
    /* Kong's own answer when no route matches: kong/runloop/handler.lua:1197 (3.9.1) */
    json_object *cfg = tr_jobj(c), *plugins = tr_jarr(c);
    tr_jset(c, cfg, "status_code", tr_jint(c, 404));
    tr_jset(c, cfg, "message", tr_jstr(c, "no Route matched with those values"));
    tr_jpush(c, plugins, tr_plugin(c, "request-termination", cfg, tr_jref(v->tags)));
    tr_jset(c, o, "plugins", plugins);
    return o;
}

void tr_isolation_free(struct tr_ctx *c)
{
    for (size_t i = 0; i < c->n_iso; i++) {
        free(c->iso[i].hostname);
        json_object_put(c->iso[i].tags);
    }
    free(c->iso);
    c->iso = NULL;
    c->n_iso = 0;
}

/* router_atc — Kong 3.9.1's traditional_compatible and expressions routers (router_internal.h):
 * routes become ATC matchers keyed by (priority, route id) (router_atc_xform.c makes the
 * expressions and priorities), a request fills an ATC context, and the first matcher that
 * matches (atc.h) names the route.
 *
 * Sources (Kong 3.9.1 unless said):
 *   kong/router/atc.lua:136-156    add_atc_matcher: uuid = route.id; a route whose expression does
 *                                  not compile is logged and left out, the router still builds
 *   kong/router/atc.lua:159-206    new_from_scratch: a route without id fails the whole router
 *                                  ("could not categorize route"); routes_t[id] is dropped when
 *                                  its matcher cannot be added
 *   kong/router/atc.lua:299-301    HTTP routers split routes by path first
 *   kong/router/transform.lua:671-757  split_routes_and_services_by_path: one route per prefix
 *                                  length plus one for all regexes, ids uuid5(7f145bf9-..., id
 *                                  .. "#" .. n), the match reports the original route
 *   kong/router/atc.lua:361-415    matching(): Host split at its first ':' (http.host has no
 *                                  port, the port becomes net.dst.port), context filled, prefix =
 *                                  the matched http.path value when the route strips its path,
 *                                  uri_captures only when there are two or more
 *   kong/router/atc.lua:513-553    stream matching(): no prefix, no captures
 *   kong/router/fields.lua:20-49   the fields per subsystem; 55-197 where each value comes from
 *   kong/router/fields.lua:230-347 http.path.segments.*: the path split on '/' after its first
 *                                  byte (lua-resty-core lib/ngx/re.lua split drops trailing empty
 *                                  pieces), ranges "a_b" joined with '/'
 *   kong/router/fields.lua:273-292, 418-442  headers/queries: a repeated one adds every value, a
 *                                  bare query flag (`?a`) is ""
 *   lua-resty-core lib/resty/core/request.lua req_headers_mt: http.headers.<name> reads the header
 *                                  whose lower-case name is <name> as written, else lower(<name>)
 *                                  with '_' turned into '-'
 *   kong/globalpatches.lua:156,194 + kong.conf.default:1747,1765  only the first 100 request
 *                                  headers and query arguments are read (lua_max_req_headers /
 *                                  lua_max_uri_args defaults)
 *   atc-router ffi.rs:26-58, context.rs  a string value must be UTF-8 (Rust's from_utf8 message,
 *                                  "invalid utf-8 sequence of 1 bytes from index 0", is the
 *                                  error select() returns), an IP must parse ("invalid IP address
 *                                  syntax"); lib/resty/router/context.lua:108-110 an empty
 *                                  matched value counts as none
 *
 * Route ids are handed to atc.h in canonical lower-case form (Rust's Uuid::try_parse accepts
 * hyphenated, simple, braced and urn forms; Kong would abort the worker on anything else — the
 * fake refuses the router with "invalid UUID format").
 *
 * Ownership and threads as router_internal.h: the router holds its own references to the route
 * objects; select() uses a context of its own, so many threads may select at once. */
#include "router_atc_impl.h"
#include "router_internal.h"

#include "atc.h"
#include "kong_fake.h"

#include <kgc/err.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REQ_HEADERS 100 /* kong.conf.default:1747 */
#define MAX_URI_ARGS    100 /* kong.conf.default:1765 */

/* One ATC matcher: its uuid and the route (index into the routes given) it stands for. */
struct matcher {
    char uuid[37];
    size_t route;
    size_t seq; /* build order */
    bool ok;    /* its matcher was added */
};

struct atcr {
    enum kf_flavor flavor;
    bool http;
    struct kf_atc_router *router;
    struct matcher *m; /* sorted by uuid; only the matchers whose routes_t entry survived */
    size_t nm;
    char **fields; /* every field some matcher reads (atc.lua get_atc_fields) */
    size_t nfields;
    json_object **routes; /* own references, by index */
    size_t nroutes;
};

/* ---- small helpers ------------------------------------------------------------------------ */

static int xdigit(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Uuid::try_parse's forms -> "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in lower case. */
static bool canonical_uuid(const char *s, char out[37])
{
    size_t n = strlen(s);
    if (n == 45 && strncasecmp(s, "urn:uuid:", 9) == 0) {
        s += 9;
        n -= 9;
    } else if (n == 38 && s[0] == '{' && s[37] == '}') {
        s++;
        n -= 2;
    }
    unsigned char b[16];
    size_t nb = 0;
    if (n == 36) {
        for (size_t i = 0; i < 36; i++) {
            bool dash = i == 8 || i == 13 || i == 18 || i == 23;
            if (dash != (s[i] == '-')) {
                return false;
            }
        }
    } else if (n != 32) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '-') {
            continue;
        }
        int v = xdigit((unsigned char)s[i]);
        if (v < 0 || nb >= 32) {
            return false;
        }
        if (nb % 2 == 0) {
            b[nb / 2] = (unsigned char)(v << 4);
        } else {
            b[nb / 2] |= (unsigned char)v;
        }
        nb++;
    }
    if (nb != 32) {
        return false;
    }
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[o++] = '-';
        }
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
    return true;
}

/* Rust's std::str::from_utf8 (core/src/str/validations.rs run_utf8_validation) and the Display
 * of its Utf8Error. 0 when valid. */
static int utf8_check(const char *s, char *err, size_t errsz)
{
    const unsigned char *v = (const unsigned char *)s;
    size_t len = strlen(s), i = 0;
    while (i < len) {
        unsigned char first = v[i];
        size_t start = i;
        if (first < 0x80) {
            i++;
            continue;
        }
        int w = first >= 0xC2 && first <= 0xDF   ? 2
                : first >= 0xE0 && first <= 0xEF ? 3
                : first >= 0xF0 && first <= 0xF4 ? 4
                                                 : 0;
        int bad = 0; /* error_len, or -1 for an incomplete sequence */
        if (w == 0) {
            bad = 1;
        } else if (i + 1 >= len) {
            bad = -1;
        } else {
            unsigned char c1 = v[i + 1];
            bool ok1;
            if (w == 2) {
                ok1 = (c1 & 0xC0) == 0x80;
            } else if (w == 3) {
                ok1 = (first == 0xE0 && c1 >= 0xA0 && c1 <= 0xBF) ||
                      (first >= 0xE1 && first <= 0xEC && c1 >= 0x80 && c1 <= 0xBF) ||
                      (first == 0xED && c1 >= 0x80 && c1 <= 0x9F) ||
                      (first >= 0xEE && c1 >= 0x80 && c1 <= 0xBF);
            } else {
                ok1 = (first == 0xF0 && c1 >= 0x90 && c1 <= 0xBF) ||
                      (first >= 0xF1 && first <= 0xF3 && c1 >= 0x80 && c1 <= 0xBF) ||
                      (first == 0xF4 && c1 >= 0x80 && c1 <= 0x8F);
            }
            if (!ok1) {
                bad = 1;
            } else {
                for (int k = 2; k < w && !bad; k++) {
                    if (i + (size_t)k >= len) {
                        bad = -1;
                    } else if ((v[i + (size_t)k] & 0xC0) != 0x80) {
                        bad = k;
                    }
                }
            }
        }
        if (bad > 0) {
            snprintf(err, errsz, "invalid utf-8 sequence of %d bytes from index %zu", bad, start);
            return KGC_EINVAL;
        }
        if (bad < 0) {
            snprintf(err, errsz, "incomplete utf-8 byte sequence from index %zu", start);
            return KGC_EINVAL;
        }
        i += (size_t)w;
    }
    return 0;
}

static int cmp_matcher(const void *a, const void *b)
{
    return strcmp(((const struct matcher *)a)->uuid, ((const struct matcher *)b)->uuid);
}

/* ---- building ----------------------------------------------------------------------------- */

/* One route as atc.lua sees it after the split: the route table (the original, or a shallow copy
 * with some of its paths), the route it came from, and its id. */
struct entry {
    json_object *route; /* own reference */
    size_t orig;
    char id[64];
};

static void free_entries(struct entry *e, size_t n)
{
    for (size_t i = 0; e && i < n; i++) {
        json_object_put(e[i].route);
    }
    free(e);
}

/* shallow_copy(route) with paths = the given array (taken). */
static json_object *copy_with_paths(json_object *route, json_object *paths)
{
    json_object *c = json_object_new_object();
    if (!c) {
        json_object_put(paths);
        return NULL;
    }
    json_object_object_foreach(route, k, v)
    {
        if (strcmp(k, "paths") != 0 && json_object_object_add(c, k, json_object_get(v)) != 0) {
            json_object_put(c);
            json_object_put(paths);
            return NULL;
        }
    }
    if (json_object_object_add(c, "paths", paths) != 0) {
        json_object_put(c);
        return NULL;
    }
    return c;
}

static const char *route_id(json_object *route)
{
    json_object *id = NULL;
    if (!json_object_object_get_ex(route, "id", &id) || !id ||
        !json_object_is_type(id, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(id);
}

/* split_routes_and_services_by_path (transform.lua:704-757) into *out (appended). */
static int expand(const struct kf_route_in *routes, size_t n, bool http, struct entry **out,
                  size_t *nout, char *err, size_t errsz)
{
    size_t cap = n + 4, ne = 0;
    struct entry *e = calloc(cap, sizeof(*e));
    if (!e) {
        return KGC_ENOMEM;
    }
    /* the split routes are appended after all originals, as the Lua does */
    size_t extra_cap = 0, n_extra = 0;
    struct entry *extra = NULL;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_object *route = routes[i].route;
        if (!route || !json_object_is_type(route, json_type_object)) {
            rc = KGC_EINVAL;
            snprintf(err, errsz, "could not categorize route");
            break;
        }
        const char *id = route_id(route);
        if (!id) {
            rc = KGC_EINVAL;
            snprintf(err, errsz, "could not categorize route"); /* atc.lua:175-177 */
            break;
        }
        json_object *paths = NULL, *expr = NULL;
        json_object_object_get_ex(route, "paths", &paths);
        json_object_object_get_ex(route, "expression", &expr);
        size_t np = paths && json_object_is_type(paths, json_type_array)
                        ? json_object_array_length(paths)
                        : 0;
        /* group by regex (key 0) or by length, in first-seen order */
        size_t ngroups = 0;
        size_t *gkey = NULL;
        size_t *gof = NULL;
        if (http && np > 1 && !expr) {
            gkey = calloc(np, sizeof(*gkey));
            gof = calloc(np, sizeof(*gof));
            if (!gkey || !gof) {
                free(gkey);
                free(gof);
                rc = KGC_ENOMEM;
                break;
            }
            for (size_t k = 0; k < np; k++) {
                json_object *p = json_object_array_get_idx(paths, k);
                const char *s =
                    p && json_object_is_type(p, json_type_string) ? json_object_get_string(p) : "";
                size_t key = s[0] == '~' ? 0 : strlen(s);
                size_t g = 0;
                while (g < ngroups && gkey[g] != key) {
                    g++;
                }
                if (g == ngroups) {
                    gkey[ngroups++] = key;
                }
                gof[k] = g;
            }
        }
        if (ngroups <= 1) {
            free(gkey);
            free(gof);
            e[ne].route = json_object_get(route);
            e[ne].orig = i;
            snprintf(e[ne].id, sizeof(e[ne].id), "%s", id);
            ne++;
            continue;
        }
        for (size_t g = 0; g < ngroups && rc == 0; g++) {
            json_object *gp = json_object_new_array();
            for (size_t k = 0; gp && k < np; k++) {
                if (gof[k] == g) {
                    json_object_array_add(gp, json_object_get(json_object_array_get_idx(paths, k)));
                }
            }
            json_object *copy = gp ? copy_with_paths(route, gp) : NULL;
            if (!copy) {
                rc = KGC_ENOMEM;
                break;
            }
            char name[128];
            int nl = snprintf(name, sizeof(name), "%s#%zu", id, g + 1);
            char uuid[37];
            if (nl < 0 || (size_t)nl >= sizeof(name) ||
                kf_uuid5("7f145bf9-0dce-4f91-98eb-debbce4b9f6b", name, (size_t)nl, uuid) != 0) {
                json_object_put(copy);
                rc = KGC_EINVAL;
                snprintf(err, errsz, "could not categorize route");
                break;
            }
            struct entry *dst;
            if (g == 0) {
                dst = &e[ne++];
            } else {
                if (n_extra == extra_cap) {
                    size_t nc = extra_cap ? extra_cap * 2 : 8;
                    struct entry *x = realloc(extra, nc * sizeof(*x));
                    if (!x) {
                        json_object_put(copy);
                        rc = KGC_ENOMEM;
                        break;
                    }
                    extra = x;
                    extra_cap = nc;
                }
                dst = &extra[n_extra++];
            }
            dst->route = copy;
            dst->orig = i;
            snprintf(dst->id, sizeof(dst->id), "%s", uuid);
        }
        free(gkey);
        free(gof);
    }
    if (rc == 0 && n_extra > 0) {
        if (ne + n_extra > cap) {
            struct entry *x = realloc(e, (ne + n_extra) * sizeof(*x));
            if (!x) {
                rc = KGC_ENOMEM;
            } else {
                e = x;
            }
        }
        if (rc == 0) {
            memcpy(e + ne, extra, n_extra * sizeof(*extra));
            ne += n_extra;
            n_extra = 0;
        }
    }
    free_entries(extra, n_extra);
    if (rc != 0) {
        free_entries(e, ne);
        return rc;
    }
    *out = e;
    *nout = ne;
    return 0;
}

/* Pushes the fields expr reads onto a->fields (deduplicated once the router is built). */
static int add_fields(struct atcr *a, size_t *cap, enum kf_atc_schema schema, const char *expr)
{
    struct kf_atc_expr *ast = NULL;
    char perr[256];
    int rc = kf_atc_parse(schema, expr, &ast, perr, sizeof(perr));
    if (rc != 0) {
        return rc == KGC_ENOMEM ? rc : 0;
    }
    const char *const *names = NULL;
    size_t nf = kf_atc_expr_fields(ast, &names);
    for (size_t i = 0; i < nf && rc == 0; i++) {
        if (a->nfields == *cap) {
            size_t nc = *cap ? *cap * 2 : 16;
            char **f = realloc(a->fields, nc * sizeof(*f));
            if (!f) {
                rc = KGC_ENOMEM;
                break;
            }
            a->fields = f;
            *cap = nc;
        }
        a->fields[a->nfields] = strdup(names[i]);
        if (!a->fields[a->nfields]) {
            rc = KGC_ENOMEM;
            break;
        }
        a->nfields++;
    }
    kf_atc_expr_free(ast);
    return rc;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static void dedupe_fields(struct atcr *a)
{
    if (a->nfields < 2) {
        return;
    }
    qsort(a->fields, a->nfields, sizeof(*a->fields), cmp_str);
    size_t o = 1;
    for (size_t i = 1; i < a->nfields; i++) {
        if (strcmp(a->fields[i], a->fields[o - 1]) == 0) {
            free(a->fields[i]);
        } else {
            a->fields[o++] = a->fields[i];
        }
    }
    a->nfields = o;
}

void kf_atcr_free(void *r)
{
    struct atcr *a = r;
    if (!a) {
        return;
    }
    kf_atc_router_free(a->router);
    free(a->m);
    for (size_t i = 0; i < a->nfields; i++) {
        free(a->fields[i]);
    }
    free(a->fields);
    for (size_t i = 0; i < a->nroutes; i++) {
        json_object_put(a->routes[i]);
    }
    free(a->routes);
    free(a);
}

static int cmp_matcher_seq(const void *x, const void *y)
{
    const struct matcher *a = x, *b = y;
    int c = strcmp(a->uuid, b->uuid);
    return c ? c : (a->seq < b->seq ? -1 : a->seq > b->seq);
}

/* routes_t after the build loop (atc.lua:179-192): for each id, the route of its LAST matcher,
 * or none when that matcher could not be added. Leaves a->m sorted by uuid. */
static void settle_routes_t(struct atcr *a)
{
    if (a->nm > 1) {
        qsort(a->m, a->nm, sizeof(*a->m), cmp_matcher_seq);
    }
    size_t o = 0;
    for (size_t i = 0; i < a->nm; i++) {
        bool last = i + 1 == a->nm || strcmp(a->m[i].uuid, a->m[i + 1].uuid) != 0;
        if (last && a->m[i].ok) {
            a->m[o++] = a->m[i];
        }
    }
    a->nm = o;
}

int kf_atcr_new(enum kf_flavor flavor, bool http, const struct kf_route_in *routes, size_t n,
                void **out, char *err, size_t errsz)
{
    *out = NULL;
    if (errsz > 0) {
        err[0] = '\0';
    }
    enum kf_atc_schema schema = http ? KF_ATC_HTTP : KF_ATC_STREAM;
    struct atcr *a = calloc(1, sizeof(*a));
    if (!a) {
        return KGC_ENOMEM;
    }
    a->flavor = flavor;
    a->http = http;
    a->router = kf_atc_router_new(schema);
    a->routes = n ? calloc(n, sizeof(*a->routes)) : NULL;
    if (!a->router || (n && !a->routes)) {
        kf_atcr_free(a);
        return KGC_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        a->routes[i] = json_object_get(routes[i].route);
    }
    a->nroutes = n;

    struct entry *e = NULL;
    size_t ne = 0;
    int rc = expand(routes, n, http, &e, &ne, err, errsz);
    if (rc != 0) {
        kf_atcr_free(a);
        return rc;
    }
    a->m = ne ? calloc(ne, sizeof(*a->m)) : NULL;
    if (ne && !a->m) {
        free_entries(e, ne);
        kf_atcr_free(a);
        return KGC_ENOMEM;
    }
    size_t fcap = 0;
    for (size_t i = 0; i < ne && rc == 0; i++) {
        char uuid[37];
        if (!canonical_uuid(e[i].id, uuid)) {
            rc = KGC_EINVAL; /* atc-router ffi.rs:104: expect("invalid UUID format") */
            snprintf(err, errsz, "invalid UUID format");
            break;
        }
        /* routes_t[id] = route */
        struct matcher *mt = &a->m[a->nm++];
        memcpy(mt->uuid, uuid, sizeof(uuid));
        mt->route = e[i].orig;
        mt->seq = i;
        char *exp = NULL;
        uint64_t prio = 0;
        char lerr[512];
        rc = atcr_flavor_expression(flavor, e[i].route, &exp, lerr, sizeof(lerr));
        if (rc == 0) {
            rc = atcr_get_priority(e[i].route, &prio, lerr, sizeof(lerr));
        }
        if (rc != 0) {
            /* a Lua error inside Router.new: the whole build fails */
            free(exp);
            if (rc == KGC_EINVAL) {
                snprintf(err, errsz, "%s", lerr);
            }
            break;
        }
        char aerr[512];
        int arc = kf_atc_router_add(a->router, uuid, prio, exp, aerr, sizeof(aerr));
        if (arc == 0) {
            mt->ok = true;
            rc = add_fields(a, &fcap, schema, exp);
        } else if (arc == KGC_ENOMEM) {
            rc = arc;
        }
        /* else atc.lua:150-153, 186-192: logged ("could not add route: <id>, err: ..."),
         * routes_t[id] = nil, the route left out */
        free(exp);
    }
    free_entries(e, ne);
    if (rc != 0) {
        kf_atcr_free(a);
        return rc;
    }
    settle_routes_t(a);
    dedupe_fields(a);
    *out = a;
    return 0;
}

/* ---- selecting ---------------------------------------------------------------------------- */

/* The request as fields.lua reads it. */
struct rview {
    const struct kf_request *req;
    char *host; /* http.host: the Host without its port (atc.lua:370-373) */
    bool has_port;
    double port;
    char *path_copy; /* the segments, split in place */
    const char **segs;
    size_t nsegs;
    bool segs_done;
};

static void rview_free(struct rview *v)
{
    free(v->host);
    free(v->path_copy);
    free(v->segs);
}

/* get_http_segments (fields.lua:230-242). */
static int segments(struct rview *v)
{
    if (v->segs_done) {
        return 0;
    }
    v->segs_done = true;
    /* tostring(params.uri): a missing uri is the string "nil" */
    const char *uri = v->req->uri ? v->req->uri : "nil";
    size_t len = strlen(uri);
    if (len < 2) {
        return 0;
    }
    v->path_copy = strdup(uri + 1);
    v->segs = calloc(len, sizeof(*v->segs));
    if (!v->path_copy || !v->segs) {
        return KGC_ENOMEM;
    }
    char *p = v->path_copy;
    for (;;) {
        v->segs[v->nsegs++] = p;
        char *s = strchr(p, '/');
        if (!s) {
            break;
        }
        *s = '\0';
        p = s + 1;
    }
    while (v->nsegs > 0 && v->segs[v->nsegs - 1][0] == '\0') {
        v->nsegs--; /* lib/ngx/re.lua split: "delete empty trailing ones" */
    }
    return 0;
}

static int add_str(struct kf_atc_ctx *c, const char *field, const char *value, char *err,
                   size_t errsz)
{
    if (!value) {
        return 0; /* context.lua:40-43: nil adds nothing */
    }
    int rc = utf8_check(value, err, errsz);
    if (rc != 0) {
        return rc;
    }
    return kf_atc_ctx_add_str(c, field, value);
}

static int add_int(struct kf_atc_ctx *c, const char *field, double d)
{
    /* the FFI's int64_t conversion of a Lua number (truncation; out of range -> INT64_MIN) */
    int64_t v = (isfinite(d) && d > -9223372036854775808.0 && d < 9223372036854775808.0)
                    ? (int64_t)d
                    : INT64_MIN;
    return kf_atc_ctx_add_int(c, field, v);
}

static int add_ip(struct kf_atc_ctx *c, const char *field, const char *ip, char *err, size_t errsz)
{
    if (!ip) {
        return 0;
    }
    int rc = utf8_check(ip, err, errsz);
    if (rc != 0) {
        return rc;
    }
    rc = kf_atc_ctx_add_ip(c, field, ip);
    if (rc == KGC_EINVAL) {
        snprintf(err, errsz, "invalid IP address syntax"); /* Rust's AddrParseError */
    }
    return rc;
}

static bool streq_lower(const char *a, const char *b, bool dashes)
{
    for (; *a && *b; a++, b++) {
        int ca = tolower((unsigned char)*a), cb = tolower((unsigned char)*b);
        if (dashes && cb == '_') {
            cb = '-';
        }
        if (ca != cb) {
            return false;
        }
    }
    return *a == *b;
}

/* http.headers.<name>: params.headers[name] on ngx.req.get_headers()'s table. */
static int add_header(struct kf_atc_ctx *c, const char *field, const char *name,
                      const struct kf_request *req, char *err, size_t errsz)
{
    size_t n = req->n_headers < MAX_REQ_HEADERS ? req->n_headers : MAX_REQ_HEADERS;
    /* the raw key first: the table's keys are lower-case names, so only a lower-case <name> hits */
    bool raw_hit = false;
    for (const char *p = name; *p && !raw_hit; p++) {
        raw_hit = isupper((unsigned char)*p);
    }
    raw_hit = !raw_hit;
    bool dashes = false;
    if (raw_hit) {
        raw_hit = false;
        for (size_t i = 0; i < n && !raw_hit; i++) {
            raw_hit = req->headers[i].name && streq_lower(req->headers[i].name, name, false);
        }
    }
    if (!raw_hit) {
        dashes = true; /* __index: lower(key) with '_' -> '-' */
    }
    for (size_t i = 0; i < n; i++) {
        const struct kf_kv *h = &req->headers[i];
        if (h->name && h->value && streq_lower(h->name, name, dashes)) {
            int rc = add_str(c, field, h->value, err, errsz);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

/* http.queries.<name>: get_uri_args()[name], names as sent (case-sensitive). */
static int add_query(struct kf_atc_ctx *c, const char *field, const char *name,
                     const struct kf_request *req, char *err, size_t errsz)
{
    size_t n = req->n_queries < MAX_URI_ARGS ? req->n_queries : MAX_URI_ARGS;
    for (size_t i = 0; i < n; i++) {
        const struct kf_kv *q = &req->queries[i];
        if (q->name && strcmp(q->name, name) == 0) {
            /* fields.lua:433-439: a bare flag is `true`, taken as "" */
            int rc = add_str(c, field, q->value ? q->value : "", err, errsz);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

/* http.path.segments.<range> (fields.lua:295-347). */
static int add_segment(struct kf_atc_ctx *c, const char *field, const char *range, struct rview *v,
                       char *err, size_t errsz)
{
    int rc = segments(v);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(range, "len") == 0) {
        return add_int(c, field, (double)v->nsegs);
    }
    const char *us = strchr(range, '_');
    double p1, p2;
    if (!us) {
        if (!atcr_lua_tonumber(range, strlen(range), &p1) || p1 != floor(p1) || p1 < 0 ||
            p1 >= (double)v->nsegs) {
            return 0;
        }
        return add_str(c, field, v->segs[(size_t)p1], err, errsz);
    }
    if (!atcr_lua_tonumber(range, (size_t)(us - range), &p1) ||
        !atcr_lua_tonumber(us + 1, strlen(us + 1), &p2)) {
        return 0;
    }
    double count = (double)v->nsegs - 1;
    if (p1 >= p2 || p1 > count || p2 > count) {
        return 0;
    }
    if (p1 != floor(p1) || p1 < 0) {
        snprintf(err, errsz, "bad argument #1 to 'put' (string expected, got nil)");
        return KGC_EINVAL;
    }
    size_t len = 1;
    for (double p = p1; p <= p2; p += 1) {
        len += strlen(v->segs[(size_t)p]) + 1;
    }
    char *joined = malloc(len);
    if (!joined) {
        return KGC_ENOMEM;
    }
    size_t o = 0;
    for (double p = p1; p <= p2; p += 1) {
        const char *s = v->segs[(size_t)p];
        size_t l = strlen(s);
        memcpy(joined + o, s, l);
        o += l;
        if (p + 1 <= p2) {
            joined[o++] = '/';
        }
    }
    joined[o] = '\0';
    rc = add_str(c, field, joined, err, errsz);
    free(joined);
    return rc;
}

/* FIELDS_FUNCS (fields.lua:52-197) and the generated accessors. */
static int add_field(const struct atcr *a, struct kf_atc_ctx *c, const char *f, struct rview *v,
                     char *err, size_t errsz)
{
    const struct kf_request *req = v->req;
    if (strcmp(f, "net.protocol") == 0) {
        return add_str(c, f, req->scheme, err, errsz);
    }
    if (strcmp(f, "tls.sni") == 0) {
        return add_str(c, f, req->sni, err, errsz);
    }
    if (strcmp(f, "net.src.ip") == 0) {
        return add_ip(c, f, req->src_ip, err, errsz);
    }
    if (strcmp(f, "net.dst.ip") == 0) {
        return add_ip(c, f, req->dst_ip, err, errsz);
    }
    if (strcmp(f, "net.src.port") == 0) {
        return req->src_port ? add_int(c, f, req->src_port) : 0;
    }
    if (strcmp(f, "net.dst.port") == 0) {
        /* fields.lua:129-140: the Host header's port wins in http */
        if (a->http && v->has_port) {
            return add_int(c, f, v->port);
        }
        return req->dst_port ? add_int(c, f, req->dst_port) : 0;
    }
    if (!a->http) {
        return 0; /* the stream schema has no other field */
    }
    if (strcmp(f, "http.method") == 0) {
        return add_str(c, f, req->method, err, errsz);
    }
    if (strcmp(f, "http.path") == 0) {
        return add_str(c, f, req->uri, err, errsz);
    }
    if (strcmp(f, "http.host") == 0) {
        return add_str(c, f, v->host, err, errsz);
    }
    if (strncmp(f, "http.headers.", 13) == 0) {
        return add_header(c, f, f + 13, req, err, errsz);
    }
    if (strncmp(f, "http.queries.", 13) == 0) {
        return add_query(c, f, f + 13, req, err, errsz);
    }
    if (strncmp(f, "http.path.segments.", 19) == 0) {
        return add_segment(c, f, f + 19, v, err, errsz);
    }
    snprintf(err, errsz, "unknown router matching schema field: %s", f);
    return KGC_EINVAL;
}

static int cmp_cap(const void *x, const void *y)
{
    const struct kf_kv *a = x, *b = y;
    char *ea, *eb;
    unsigned long na = strtoul(a->name, &ea, 10), nb = strtoul(b->name, &eb, 10);
    bool a_num = a->name[0] && !*ea && isdigit((unsigned char)a->name[0]);
    bool b_num = b->name[0] && !*eb && isdigit((unsigned char)b->name[0]);
    if (a_num != b_num) {
        return a_num ? -1 : 1;
    }
    if (a_num) {
        return na < nb ? -1 : na > nb;
    }
    return strcmp(a->name, b->name);
}

static bool lua_truthy_field(json_object *route, const char *key)
{
    /* absent = nil and false are falsy; JSON null is ngx.null, a truthy userdata */
    json_object *v = NULL;
    if (!json_object_object_get_ex(route, key, &v)) {
        return false;
    }
    return !(v && json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v));
}

int kf_atcr_select(const void *r, const struct kf_request *req, struct kf_match *m, char *err,
                   size_t errsz)
{
    const struct atcr *a = r;
    memset(m, 0, sizeof(*m));
    m->route = -1;
    if (errsz > 0) {
        err[0] = '\0';
    }
    if (!a || !req) {
        snprintf(err, errsz, "no router or request");
        return KGC_EINVAL;
    }
    struct rview v = {.req = req};
    if (a->http && req->host) {
        if (atcr_split_host_port(req->host, &v.host, &v.has_port, &v.port) != 0) {
            return KGC_ENOMEM;
        }
    }
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    if (!c) {
        rview_free(&v);
        return KGC_ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < a->nfields && rc == 0; i++) {
        rc = add_field(a, c, a->fields[i], &v, err, errsz);
    }
    struct kf_atc_match am = {0};
    if (rc != 0 || !kf_atc_router_execute(a->router, c, &am)) {
        goto done; /* an error is returned as matching() returns (nil, err) */
    }
    struct matcher key = {0};
    snprintf(key.uuid, sizeof(key.uuid), "%s", am.uuid ? am.uuid : "");
    const struct matcher *hit = bsearch(&key, a->m, a->nm, sizeof(*a->m), cmp_matcher);
    if (!hit) {
        /* routes_t lost this id (a duplicate whose second matcher failed): Kong errors */
        snprintf(err, errsz, "attempt to index a nil value (route %s)", key.uuid);
        rc = KGC_EINVAL;
        goto done;
    }
    m->route = (int)hit->route;
    if (!a->http) {
        goto done;
    }
    json_object *route = a->routes[hit->route];
    if (lua_truthy_field(route, "strip_path") && am.path_value && am.path_value[0]) {
        m->prefix = strdup(am.path_value);
        if (!m->prefix) {
            rc = KGC_ENOMEM;
            goto done;
        }
    }
    if (am.n_caps >= 2) { /* has_capture (atc.lua:352-358) */
        m->captures = calloc(am.n_caps, sizeof(*m->captures));
        if (!m->captures) {
            rc = KGC_ENOMEM;
            goto done;
        }
        for (size_t i = 0; i < am.n_caps; i++) {
            m->captures[i].name = strdup(am.cap_names[i] ? am.cap_names[i] : "");
            m->captures[i].value = strdup(am.cap_values[i] ? am.cap_values[i] : "");
            m->n_captures++;
            if (!m->captures[i].name || !m->captures[i].value) {
                rc = KGC_ENOMEM;
                goto done;
            }
        }
        qsort(m->captures, m->n_captures, sizeof(*m->captures), cmp_cap);
    }
done:
    kf_atc_ctx_free(c);
    rview_free(&v);
    if (rc != 0) {
        for (size_t i = 0; i < m->n_captures; i++) {
            free((char *)m->captures[i].name);
            free((char *)m->captures[i].value);
        }
        free(m->captures);
        free(m->prefix);
        memset(m, 0, sizeof(*m));
        m->route = -1;
    }
    return rc;
}

/* router — the façade of router.h: dispatches to the flavour (router_internal.h) and computes
 * what Kong 3.9.1 computes after a match for every flavour: the upstream URI (service path,
 * strip_path, path_handling) and the upstream Host (preserve_host).
 *
 * Sources (Kong 3.9.1):
 *   kong/router/utils.lua:36-54    sanitize_uri_postfix
 *   kong/router/utils.lua:146-204  get_upstream_uri_v0
 *   kong/router/utils.lua:207-243  get_service_info (service path only for http-subsystem
 *                                  services, "/" when the service has none)
 *   kong/constants.lua:77-86       protocol -> subsystem
 *   kong/router/traditional.lua:1273-1317  traditional: prefix only when strip_path, postfix =
 *                                  the matcher's uri_postfix or the URI without its first byte,
 *                                  path_handling v1 and v0, preserve_host = the raw Host, else
 *                                  the SNI
 *   kong/router/atc.lua:335-345, 407-413, 500-501, 551  ATC flavours: prefix = the matched
 *                                  http.path value when strip_path, postfix sanitised, ALWAYS v0
 *                                  (path_handling is not read), preserve_host = the raw Host
 *                                  (http) or the SNI (stream)
 *
 * The URI is used as given: Kong's exec() normalises it first (kong/router/utils.lua:57-64,
 * strip_uri_args -> kong/tools/uri.lua normalize); a caller that models exec() normalises with
 * kf_uri_normalize() before calling kf_router_select() (the proxy and the case runner do).
 * kf_uri_escape() is kong/tools/uri.lua escape, applied to upstream_uri by the proxy.
 *
 * Contract kept from router.h: upstream_uri is NULL for a route without a service (Kong's
 * traditional router computes none; the ATC routers' exec() would compute one from "/", which no
 * caller uses since Kong answers such a route without proxying). Errors: KGC_EINVAL with the
 * flavour's message, KGC_ENOMEM. Threads: a router is immutable once built. */
#include "router_internal.h"

#include <kgc/err.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the façade keeps per route (its own references). */
struct route_info {
    json_object *route;
    json_object *service;
};

struct kf_router {
    enum kf_flavor flavor;
    bool http;
    void *impl;
    struct route_info *routes;
    size_t n;
};

int kf_flavor_parse(const char *name)
{
    if (!name) {
        return -1;
    }
    if (strcmp(name, "traditional") == 0) {
        return KF_FLAVOR_TRADITIONAL;
    }
    if (strcmp(name, "traditional_compatible") == 0) {
        return KF_FLAVOR_TRADITIONAL_COMPATIBLE;
    }
    if (strcmp(name, "expressions") == 0) {
        return KF_FLAVOR_EXPRESSIONS;
    }
    return -1;
}

static void free_infos(struct route_info *ri, size_t n)
{
    if (!ri) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_object_put(ri[i].route);
        json_object_put(ri[i].service);
    }
    free(ri);
}

int kf_router_new(enum kf_flavor flavor, bool http, const struct kf_route_in *routes, size_t n,
                  struct kf_router **out, char *err, size_t errsz)
{
    *out = NULL;
    if (errsz > 0) {
        err[0] = '\0';
    }
    if (flavor != KF_FLAVOR_TRADITIONAL && flavor != KF_FLAVOR_TRADITIONAL_COMPATIBLE &&
        flavor != KF_FLAVOR_EXPRESSIONS) {
        snprintf(err, errsz, "unknown router flavor");
        return KGC_EINVAL;
    }
    if (n > 0 && !routes) {
        snprintf(err, errsz, "expected arg #1 routes to be a table");
        return KGC_EINVAL;
    }
    struct kf_router *r = calloc(1, sizeof(*r));
    if (!r) {
        return KGC_ENOMEM;
    }
    r->flavor = flavor;
    r->http = http;
    if (n > 0) {
        r->routes = calloc(n, sizeof(*r->routes));
        if (!r->routes) {
            free(r);
            return KGC_ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            r->routes[i].route = json_object_get(routes[i].route);
            r->routes[i].service = json_object_get(routes[i].service);
        }
    }
    r->n = n;
    int rc;
    if (flavor == KF_FLAVOR_TRADITIONAL) {
        rc = kf_trad_new(http, routes, n, &r->impl, err, errsz);
    } else {
        rc = kf_atcr_new(flavor, http, routes, n, &r->impl, err, errsz);
    }
    if (rc != 0) {
        free_infos(r->routes, r->n);
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void kf_router_free(struct kf_router *r)
{
    if (!r) {
        return;
    }
    if (r->flavor == KF_FLAVOR_TRADITIONAL) {
        kf_trad_free(r->impl);
    } else {
        kf_atcr_free(r->impl);
    }
    free_infos(r->routes, r->n);
    free(r);
}

/* A boolean field that is true only when it is JSON true (Lua's `== true` / truthiness of a
 * boolean). */
static bool route_flag(json_object *route, const char *key)
{
    json_object *v = NULL;
    if (!route || !json_object_object_get_ex(route, key, &v) || !v) {
        return false;
    }
    return json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

static const char *obj_str(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

/* kong/constants.lua:77-86: the service's protocol belongs to the http subsystem. */
static bool service_is_http(json_object *service)
{
    const char *p = obj_str(service, "protocol");
    return p && (strcmp(p, "http") == 0 || strcmp(p, "https") == 0 || strcmp(p, "grpc") == 0 ||
                 strcmp(p, "grpcs") == 0);
}

/* kong/router/utils.lua:36-54: "." and ".." become empty, a leading "./" or "../" is dropped. */
static const char *sanitize_postfix(const char *p)
{
    if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
        return p + strlen(p);
    }
    if (strncmp(p, "./", 2) == 0) {
        return p + 2;
    }
    if (strncmp(p, "../", 3) == 0) {
        return p + 3;
    }
    return p;
}

static char *cat2(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    char *s = malloc(alen + blen + 1);
    if (!s) {
        return NULL;
    }
    memcpy(s, a, alen);
    memcpy(s + alen, b, blen);
    s[alen + blen] = '\0';
    return s;
}

static bool ends_slash(const char *s)
{
    size_t l = strlen(s);
    return l > 0 && s[l - 1] == '/';
}

/* kong/router/utils.lua:146-204 (get_upstream_uri_v0). */
static char *upstream_uri_v0(bool strip, const char *postfix, const char *req_uri, const char *base)
{
    size_t blen = strlen(base);
    if (ends_slash(base)) {
        if (strip) {
            if (postfix[0] == '\0') {
                if (strcmp(base, "/") == 0) {
                    return strdup("/");
                }
                if (ends_slash(req_uri)) {
                    return strdup(base);
                }
                return cat2(base, blen - 1, "");
            }
            if (postfix[0] == '/') {
                return cat2(base, blen - 1, postfix);
            }
            return cat2(base, blen, postfix);
        }
        return cat2(base, blen, req_uri[0] ? req_uri + 1 : req_uri);
    }
    if (strip) {
        if (postfix[0] == '\0') {
            if (strlen(req_uri) > 1 && ends_slash(req_uri)) {
                return cat2(base, blen, "/");
            }
            return strdup(base);
        }
        if (postfix[0] == '/') {
            return cat2(base, blen, postfix);
        }
        char *s = malloc(blen + 1 + strlen(postfix) + 1);
        if (s) {
            memcpy(s, base, blen);
            s[blen] = '/';
            strcpy(s + blen + 1, postfix);
        }
        return s;
    }
    if (strcmp(req_uri, "/") == 0) {
        return strdup(base);
    }
    return cat2(base, blen, req_uri);
}

/* kong/router/traditional.lua:1285-1301 (path_handling v1). */
static char *upstream_uri_v1(bool strip, const char *postfix, const char *req_uri, const char *base)
{
    size_t blen = strlen(base);
    if (strip) {
        if (ends_slash(base) && postfix[0] == '/') {
            return cat2(base, blen - 1, postfix);
        }
        return cat2(base, blen, postfix);
    }
    return cat2(base, blen, req_uri[0] ? req_uri + 1 : req_uri);
}

/* uri without its first strlen(prefix) bytes, as Lua's uri:sub(#prefix + 1) (the matched
 * prefix is not re-checked: an unanchored expressions regex may match elsewhere); "" when the
 * prefix is longer than the URI. */
static const char *after_prefix(const char *uri, const char *prefix)
{
    size_t pl = strlen(prefix);
    size_t ul = strlen(uri);
    return uri + (pl <= ul ? pl : ul);
}

static int compute_upstream(const struct kf_router *r, const struct kf_request *req,
                            struct kf_match *m)
{
    const struct route_info *ri = &r->routes[m->route];
    bool strip = route_flag(ri->route, "strip_path");
    bool preserve = route_flag(ri->route, "preserve_host");
    const char *req_uri = req->uri ? req->uri : "";

    if (!r->http) {
        /* traditional.lua:1315-1317, atc.lua:551: the SNI */
        if (preserve && req->sni) {
            m->upstream_host = strdup(req->sni);
            if (!m->upstream_host) {
                return KGC_ENOMEM;
            }
        }
        return 0;
    }

    bool http_service = service_is_http(ri->service);
    if (http_service) {
        /* utils.lua:238-240: the service path, "/" when it has none */
        const char *base = obj_str(ri->service, "path");
        if (!base) {
            base = "/";
        }
        const char *postfix;
        if (r->flavor == KF_FLAVOR_TRADITIONAL) {
            /* traditional.lua:1282 with the matcher's uri_postfix (traditional.lua:913-925,
             * 1031-1032, 1056-1057): present only when a path matched. The flavour reports the
             * prefix only when the route strips, which is the only case the postfix is read. */
            postfix = m->prefix ? sanitize_postfix(after_prefix(req_uri, m->prefix))
                                : (req_uri[0] ? req_uri + 1 : req_uri);
        } else {
            /* atc.lua:338-339: prefix or "/", then sanitised */
            const char *prefix = m->prefix ? m->prefix : "/";
            postfix = sanitize_postfix(after_prefix(req_uri, prefix));
        }
        const char *ph = obj_str(ri->route, "path_handling");
        bool v1 = r->flavor == KF_FLAVOR_TRADITIONAL && ph && strcmp(ph, "v1") == 0;
        m->upstream_uri = v1 ? upstream_uri_v1(strip, postfix, req_uri, base)
                             : upstream_uri_v0(strip, postfix, req_uri, base);
        if (!m->upstream_uri) {
            return KGC_ENOMEM;
        }
    }

    if (preserve) {
        const char *h = NULL;
        if (r->flavor == KF_FLAVOR_TRADITIONAL) {
            /* traditional.lua:1310-1317: the raw Host for an http service, else the SNI */
            h = http_service && req->host ? req->host : req->sni;
        } else {
            /* atc.lua:413: the Host as sent */
            h = req->host;
        }
        if (h) {
            m->upstream_host = strdup(h);
            if (!m->upstream_host) {
                return KGC_ENOMEM;
            }
        }
    }
    return 0;
}

int kf_router_select(const struct kf_router *r, const struct kf_request *req, struct kf_match *m,
                     char *err, size_t errsz)
{
    memset(m, 0, sizeof(*m));
    m->route = -1;
    if (errsz > 0) {
        err[0] = '\0';
    }
    if (!r || !req) {
        snprintf(err, errsz, "no router or request");
        return KGC_EINVAL;
    }
    int rc = r->flavor == KF_FLAVOR_TRADITIONAL ? kf_trad_select(r->impl, req, m, err, errsz)
                                                : kf_atcr_select(r->impl, req, m, err, errsz);
    if (rc != 0) {
        kf_match_clear(m);
        return rc;
    }
    if (m->route < 0) {
        kf_match_clear(m);
        return 0;
    }
    if ((size_t)m->route >= r->n) {
        kf_match_clear(m);
        snprintf(err, errsz, "router returned route %d of %zu", m->route, r->n);
        return KGC_EINVAL;
    }
    /* the flavour leaves these to the façade (router_internal.h) */
    free(m->upstream_uri);
    free(m->upstream_host);
    m->upstream_uri = NULL;
    m->upstream_host = NULL;
    rc = compute_upstream(r, req, m);
    if (rc != 0) {
        kf_match_clear(m);
    }
    return rc;
}

void kf_match_clear(struct kf_match *m)
{
    for (size_t i = 0; i < m->n_captures; i++) {
        free((char *)m->captures[i].name);
        free((char *)m->captures[i].value);
    }
    free(m->captures);
    free(m->prefix);
    free(m->upstream_uri);
    free(m->upstream_host);
    free(m->matched_host);
    memset(m, 0, sizeof(*m));
    m->route = -1;
}

int kf_route_validate(enum kf_flavor flavor, json_object *route, const char **field, char *err,
                      size_t errsz)
{
    if (flavor == KF_FLAVOR_TRADITIONAL) {
        *field = NULL;
        return 0;
    }
    return kf_atcr_validate(flavor, route, field, err, errsz);
}

/* ---- exec()'s URI --------------------------------------------------------------------------- */

/* kong/tools/uri.lua:28 (3.9.1): the reserved characters, which normalize leaves encoded */
static bool uri_reserved(int c)
{
    return c != 0 && strchr("!*'();:@&=+$,/?%#[]", c) != NULL;
}

static int uri_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int uri_upper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

char *kf_uri_normalize(const char *raw)
{
    /* utils.lua:57-62: cut at the first '?' searched from the second byte */
    size_t n = strlen(raw);
    const char *q = n > 1 ? strchr(raw + 1, '?') : NULL;
    if (q) {
        n = (size_t)(q - raw);
    }
    char *dec = malloc(n + 1);
    if (!dec) {
        return NULL;
    }
    /* uri.lua:80-82: "" and "/" as they are */
    if (n == 0 || (n == 1 && raw[0] == '/')) {
        memcpy(dec, raw, n);
        dec[n] = '\0';
        return dec;
    }
    /* uri.lua:86-89, 48-59: one pass over %XX (hex case-insensitive, "joi") */
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        int h1 = raw[i] == '%' && i + 2 < n ? uri_hex((unsigned char)raw[i + 1]) : -1;
        int h2 = h1 >= 0 ? uri_hex((unsigned char)raw[i + 2]) : -1;
        if (h1 >= 0 && h2 >= 0) {
            int c = h1 * 16 + h2;
            if (uri_reserved(c) || c == 0) {
                dec[o++] = '%';
                dec[o++] = (char)uri_upper((unsigned char)raw[i + 1]);
                dec[o++] = (char)uri_upper((unsigned char)raw[i + 2]);
            } else {
                dec[o++] = (char)c;
            }
            i += 3;
        } else {
            dec[o++] = raw[i++];
        }
    }
    dec[o] = '\0';
    /* uri.lua:94-102: nothing to do without a dot or a double slash */
    if (!strchr(dec, '.') && !strstr(dec, "//")) {
        return dec;
    }
    /* uri.lua:104-167: dot segments (RFC 3986 5.2.4) and merged slashes; segs[k] = where output
     * segment k starts, so "/.." can drop the last one */
    size_t len = o;
    char *out = malloc(len + 1);
    size_t *segs = malloc((len + 1) * sizeof(*segs));
    if (!out || !segs) {
        free(out);
        free(segs);
        free(dec);
        return NULL;
    }
    size_t nseg = 0, olen = 0;
    const char *p = dec;
    while (*p) {
        if (strcmp(p, "/.") == 0) {
            p = "/"; /* a static "/": the loop's next turn copies it as a segment */
        } else if (strcmp(p, "/..") == 0) {
            p = "/";
            if (nseg > 0) {
                olen = segs[--nseg];
            }
        } else if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
            p += strlen(p);
        } else if (strncmp(p, "../", 3) == 0) {
            p += 3;
        } else if (strncmp(p, "./", 2) == 0) {
            p += 2;
        } else if (strncmp(p, "/./", 3) == 0) {
            p += 2;
        } else if (strncmp(p, "/../", 4) == 0) {
            p += 3;
            if (nseg > 0) {
                olen = segs[--nseg];
            }
        } else if (strncmp(p, "//", 2) == 0) {
            p += 1;
        } else {
            /* uri.lua:143-154: up to (not including) the next '/' after the first byte */
            const char *slash = strchr(p + 1, '/');
            size_t l = slash ? (size_t)(slash - p) : strlen(p);
            segs[nseg++] = olen;
            memcpy(out + olen, p, l);
            olen += l;
            p += l;
        }
    }
    out[olen] = '\0';
    free(segs);
    free(dec);
    return out;
}

char *kf_uri_escape(const char *s)
{
    static const char keep[] = "!#$&'()*+,/:;=?@[]-_.~%";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool alnum =
            (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
        n += alnum || strchr(keep, *p) ? 1 : 3;
    }
    char *out = malloc(n + 1);
    if (!out) {
        return NULL;
    }
    static const char hex[] = "0123456789ABCDEF";
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool alnum =
            (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
        if (alnum || strchr(keep, *p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

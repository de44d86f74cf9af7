/* proxy_listen — Kong 3.9.1's proxy_listen and stream_listen parsing
 * (kong/conf_loader/listeners.lua parse_listeners / parse_option_flags, kong/conf_loader/parse.lua
 * parse_value for the comma-separated array, kong/tools/ip.lua hostname_type / normalize_ip).
 *
 * Contract: kf_listen_parse() takes any string (network-free, bounded by its length) and either
 * gives the entries and the "proxy_listen"/"proxy_listeners" JSON GET / reports, or Kong's usage
 * message. No global state; thread-safe. */
#include "proxy_internal.h"

#include <kgc/err.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The http subsystem's flags, in Kong's order (kong/conf_loader/listeners.lua:17-19). They are
 * Lua patterns: the three with % items are matched with the small matcher below. */
static const char *const HTTP_FLAGS[] = {
    "ssl",          "http2",           "proxy_protocol",   "deferred",
    "bind",         "reuseport",       "backlog=%d+",      "ipv6only=on",
    "ipv6only=off", "so_keepalive=on", "so_keepalive=off", "so_keepalive=%w*:%w*:%d*",
};
/* The stream subsystem's flags, in Kong's order (listeners.lua:20-22). */
static const char *const STREAM_FLAGS[] = {
    "udp",
    "ssl",
    "proxy_protocol",
    "bind",
    "reuseport",
    "backlog=%d+",
    "ipv6only=on",
    "ipv6only=off",
    "so_keepalive=on",
    "so_keepalive=off",
    "so_keepalive=%w*:%w*:%d*",
};
#define N_FLAGS  (sizeof(HTTP_FLAGS) / sizeof(HTTP_FLAGS[0]))
#define N_SFLAGS (sizeof(STREAM_FLAGS) / sizeof(STREAM_FLAGS[0]))

/* One subsystem's listen setting: its name and flags. */
struct subsystem {
    const char *name; /* "proxy_listen" | "stream_listen" */
    const char *const *flags;
    size_t n;
};
static const struct subsystem HTTP_SUB = {"proxy_listen", HTTP_FLAGS, N_FLAGS};
static const struct subsystem STREAM_SUB = {"stream_listen", STREAM_FLAGS, N_SFLAGS};

static bool lua_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* One Lua pattern item of the flag patterns: a literal or %s/%d/%w, with an optional * or +. */
static bool item_matches(const char *p, int c)
{
    if (p[0] == '%') {
        switch (p[1]) {
        case 's':
            return lua_space(c);
        case 'd':
            return c >= '0' && c <= '9';
        case 'w':
            return isalnum((unsigned char)c) != 0;
        default:
            return c == (unsigned char)p[1];
        }
    }
    return c == (unsigned char)p[0];
}

/* Lua's backtracking match of pattern p at s[i..n): returns the end index or -1. Only the items
 * the flag patterns use (single-character classes, * and +). */
static long pmatch(const char *p, const char *s, size_t i, size_t n)
{
    if (!*p) {
        return (long)i;
    }
    size_t ilen = p[0] == '%' && p[1] ? 2 : 1;
    char q = p[ilen];
    if (q == '*' || q == '+') {
        size_t max = 0;
        while (i + max < n && item_matches(p, (unsigned char)s[i + max])) {
            max++;
        }
        size_t min = q == '+' ? 1 : 0;
        for (size_t k = max + 1; k-- > min;) { /* greedy, then back off */
            long e = pmatch(p + ilen + 1, s, i + k, n);
            if (e >= 0) {
                return e;
            }
        }
        return -1;
    }
    if (i < n && item_matches(p, (unsigned char)s[i])) {
        return pmatch(p + ilen, s, i + 1, n);
    }
    return -1;
}

/* "%s(" flag ")%s" at position i: returns the end of the whole match or -1; *cap_end gets the
 * end of the capture. */
static long flag_at(const char *flag, const char *s, size_t i, size_t n, size_t *cap_end)
{
    if (i >= n || !lua_space((unsigned char)s[i])) {
        return -1;
    }
    /* the capture must be followed by one whitespace: try every way the flag can end */
    size_t fl = strlen(flag);
    char pat[64];
    if (fl + 3 > sizeof(pat)) {
        return -1;
    }
    memcpy(pat, flag, fl);
    memcpy(pat + fl, "%s", 3);
    long e = pmatch(pat, s, i + 1, n);
    if (e < 0) {
        return -1;
    }
    *cap_end = (size_t)e - 1;
    return e;
}

static void strip(const char *s, size_t len, const char **out, size_t *olen)
{
    while (len && lua_space((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && lua_space((unsigned char)s[len - 1])) {
        len--;
    }
    *out = s;
    *olen = len;
}

/* kong/tools/ip.lua normalize_ipv4 (3.9.1 lines 138-160): "a.b.c.d:port" only (a port is
 * required here). */
static bool norm_ipv4(const char *a, struct kf_listen *l)
{
    unsigned o[4];
    const char *colon = strchr(a, ':');
    if (!colon) {
        return false; /* no port: parse_listeners rejects it (listeners.lua:125) */
    }
    /* each octet 1-3 digits */
    const char *p = a;
    for (int k = 0; k < 4; k++) {
        int d = 0;
        o[k] = 0;
        while (d < 4 && isdigit((unsigned char)*p)) {
            o[k] = o[k] * 10 + (unsigned)(*p - '0');
            p++;
            d++;
        }
        if (d == 0 || d > 3 || o[k] > 255) {
            return false;
        }
        if (k < 3 && *p++ != '.') {
            return false;
        }
    }
    if (*p != ':' || !isdigit((unsigned char)p[1])) {
        return false;
    }
    unsigned long port = 0;
    for (p++; *p; p++) {
        if (!isdigit((unsigned char)*p)) {
            return false;
        }
        port = port * 10 + (unsigned long)(*p - '0');
        if (port > 65535) {
            return false; /* "invalid port number" */
        }
    }
    snprintf(l->host, sizeof(l->host), "%u.%u.%u.%u", o[0], o[1], o[2], o[3]);
    snprintf(l->bind_host, sizeof(l->bind_host), "%s", l->host);
    l->port = (unsigned)port;
    return true;
}

/* kong/tools/ip.lua normalize_ipv6 (3.9.1 lines 166-216): "[v6]:port" (a port is required
 * here), expanded to eight 4-digit lowercase groups. */
static bool norm_ipv6(const char *a, struct kf_listen *l)
{
    if (a[0] != '[') {
        return false; /* no brackets: no port, rejected by parse_listeners */
    }
    const char *rb = strchr(a, ']');
    if (!rb || rb[1] != ':' || !isdigit((unsigned char)rb[2])) {
        return false;
    }
    unsigned long port = 0;
    for (const char *p = rb + 2; *p; p++) {
        if (!isdigit((unsigned char)*p)) {
            return false;
        }
        port = port * 10 + (unsigned long)(*p - '0');
        if (port > 65535) {
            return false;
        }
    }
    char check[128];
    size_t cl = (size_t)(rb - a - 1);
    if (cl + 3 >= sizeof(check)) {
        return false;
    }
    size_t o = 0;
    if (a[1] == ':') {
        check[o++] = '0';
    }
    memcpy(check + o, a + 1, cl);
    o += cl;
    if (cl && a[cl] == ':') {
        check[o++] = '0';
    }
    check[o] = '\0';
    char expanded[160];
    const char *dc = strstr(check, "::");
    if (dc) {
        size_t colons = 0;
        for (const char *p = check; *p; p++) {
            colons += *p == ':';
        }
        if (colons > 8) {
            return false;
        }
        char ins[40] = ":";
        for (size_t k = 0; k < 8 - colons; k++) {
            strcat(ins, "0:");
        }
        snprintf(expanded, sizeof(expanded), "%.*s%s%s", (int)(dc - check), check, ins, dc + 2);
    } else {
        snprintf(expanded, sizeof(expanded), "%s", check);
    }
    char groups[8][5];
    const char *p = expanded;
    for (int g = 0; g < 8; g++) {
        size_t d = 0;
        while (d < 5 && isxdigit((unsigned char)p[d])) {
            d++;
        }
        if (d == 0 || d > 4) {
            return false;
        }
        snprintf(groups[g], sizeof(groups[g]), "%.*s%.*s", (int)(4 - d), "0000", (int)d, p);
        for (char *c = groups[g]; *c; c++) {
            *c = (char)tolower((unsigned char)*c);
        }
        p += d;
        if (g < 7 && *p++ != ':') {
            return false;
        }
    }
    if (*p) {
        return false;
    }
    snprintf(l->bind_host, sizeof(l->bind_host), "%s:%s:%s:%s:%s:%s:%s:%s", groups[0], groups[1],
             groups[2], groups[3], groups[4], groups[5], groups[6], groups[7]);
    snprintf(l->host, sizeof(l->host), "[%s]", l->bind_host);
    l->port = (unsigned)port;
    return true;
}

/* One entry (already stripped). Fills l and the JSON listener object; false = usage error. */
static bool parse_entry(const struct subsystem *sub, const char *entry, size_t elen,
                        struct kf_listen *l, json_object *obj, bool *port_is_string)
{
    /* value = " " .. value .. " " (listeners.lua:48) */
    size_t n = elen + 2;
    char *v = malloc(n + 1);
    char *rest = malloc(n + 1);
    if (!v || !rest) {
        free(v);
        free(rest);
        return false;
    }
    v[0] = ' ';
    memcpy(v + 1, entry, elen);
    v[n - 1] = ' ';
    v[n] = '\0';
    char sanitized[512] = "";
    bool found_flags[N_FLAGS] = {false};
    char names[N_FLAGS][64];
    for (size_t f = 0; f < sub->n; f++) {
        snprintf(names[f], sizeof(names[f]), "%s", sub->flags[f]);
        /* value:match(patt): the first occurrence names the flag (listeners.lua:56-61) */
        size_t ce = 0;
        bool named = false;
        for (size_t i = 0; i < n && !named; i++) {
            if (flag_at(sub->flags[f], v, i, n, &ce) >= 0) {
                snprintf(names[f], sizeof(names[f]), "%.*s", (int)(ce - i - 1), v + i + 1);
                named = true;
            }
        }
        /* value:gsub(patt, " "): every non-overlapping occurrence becomes one space */
        size_t o = 0, count = 0;
        for (size_t i = 0; i < n;) {
            long e = flag_at(sub->flags[f], v, i, n, &ce);
            if (e >= 0) {
                rest[o++] = ' ';
                i = (size_t)e;
                count++;
            } else {
                rest[o++] = v[i++];
            }
        }
        rest[o] = '\0';
        memcpy(v, rest, o + 1);
        n = o;
        found_flags[f] = count > 0;
        /* http2 is left out of the sanitized flags since nginx 1.25.1 (listeners.lua:66-69) */
        if (count > 0 && strcmp(sub->flags[f], "http2") != 0 &&
            strlen(sanitized) + strlen(names[f]) + 2 < sizeof(sanitized)) {
            if (sanitized[0]) {
                strcat(sanitized, " ");
            }
            strcat(sanitized, names[f]);
        }
    }
    const char *rem;
    size_t rlen;
    strip(v, n, &rem, &rlen);
    char addr[512];
    bool ok = rlen < sizeof(addr);
    if (ok) {
        memcpy(addr, rem, rlen);
        addr[rlen] = '\0';
    }
    free(rest);
    free(v);
    if (!ok) {
        return false;
    }
    /* hostname_type (kong/tools/ip.lua:122-131): colons removed and counted first */
    size_t colons = 0;
    bool digits_dots = rlen > 0;
    for (const char *p = addr; *p; p++) {
        if (*p == ':') {
            colons++;
        } else if (!isdigit((unsigned char)*p) && *p != '.') {
            digits_dots = false;
        }
    }
    *port_is_string = false;
    if (colons > 1) {
        ok = norm_ipv6(addr, l);
    } else if (digits_dots && colons + 0 < rlen) {
        ok = norm_ipv4(addr, l);
    } else {
        /* a name: (.+):(%d+)$ — the port stays a string (listeners.lua:113-115) */
        const char *colon = strrchr(addr, ':');
        ok = colon && colon > addr && colon[1];
        unsigned long port = 0;
        for (const char *p = colon ? colon + 1 : ""; ok && *p; p++) {
            ok = isdigit((unsigned char)*p) && port <= 100000;
            port = port * 10 + (unsigned long)(*p - '0');
        }
        if (ok) {
            snprintf(l->host, sizeof(l->host), "%.*s", (int)(colon - addr), addr);
            snprintf(l->bind_host, sizeof(l->bind_host), "%s", l->host);
            l->port = port > 65535 ? 65536 : (unsigned)port; /* bound later: refused */
            *port_is_string = true;
        }
    }
    if (!ok) {
        return false;
    }
    l->backlog = -1;
    for (size_t f = 0; f < sub->n; f++) {
        const char *fl = sub->flags[f];
        bool on = found_flags[f];
        if (strcmp(fl, "ssl") == 0) {
            l->ssl = on;
        } else if (strcmp(fl, "http2") == 0) {
            l->http2 = on;
        } else if (strcmp(fl, "udp") == 0) {
            l->udp = on;
        } else if (strcmp(fl, "proxy_protocol") == 0) {
            l->proxy_protocol = on;
        } else if (strcmp(fl, "deferred") == 0) {
            l->deferred = on;
        } else if (strcmp(fl, "bind") == 0) {
            l->bind = on;
        } else if (strcmp(fl, "reuseport") == 0) {
            l->reuseport = on;
        } else if (strncmp(fl, "so_keepalive=", 13) == 0 && on) {
            l->so_keepalive = true;
        } else if (strcmp(fl, "backlog=%d+") == 0 && on) {
            l->backlog = atoi(names[f] + strlen("backlog="));
        }
    }

    char listener[900];
    {
        const char *colon_port = strrchr(addr, ':');
        char portstr[32];
        if (*port_is_string) {
            snprintf(portstr, sizeof(portstr), "%s", colon_port + 1);
        } else {
            snprintf(portstr, sizeof(portstr), "%u", l->port);
        }
        snprintf(listener, sizeof(listener), "%s:%s%s%s", l->host, portstr, sanitized[0] ? " " : "",
                 sanitized);
        json_object_object_add(obj, "listener", json_object_new_string(listener));
        json_object_object_add(obj, "ip", json_object_new_string(l->host));
        json_object_object_add(obj, "port",
                               *port_is_string ? json_object_new_string(portstr)
                                               : json_object_new_int((int)l->port));
    }
    for (size_t f = 0; f < sub->n; f++) {
        json_object_object_add(obj, names[f], json_object_new_boolean(found_flags[f]));
    }
    return true;
}

static int listen_parse(const struct subsystem *sub, const char *value, struct kf_listen **out,
                        size_t *nout, json_object **json, char *err, size_t errsz)
{
    *out = NULL;
    *nout = 0;
    if (json) {
        *json = NULL;
    }
    /* the usage message (listeners.lua:94-95) */
    char usage[600] = "must be of form: [off] | <ip>:<port> [";
    for (size_t f = 0; f < sub->n; f++) {
        strcat(usage, sub->flags[f]);
        strcat(usage, f + 1 < sub->n ? "] [" : "]");
    }
    strcat(usage, ", [... next entry ...]");
    if (!value) {
        value = "";
    }
    /* parse_value: split on "," and strip each (kong/conf_loader/parse.lua:91-98) */
    size_t cap = 1;
    for (const char *p = value; *p; p++) {
        cap += *p == ',';
    }
    const char *s0;
    size_t l0;
    strip(value, strlen(value), &s0, &l0);
    if (l0 == 0) {
        snprintf(err, errsz, "%s %s", sub->name, usage);
        return KGC_EINVAL;
    }
    struct kf_listen *ls = calloc(cap, sizeof(*ls));
    json_object *listen = json_object_new_array();
    json_object *listeners = json_object_new_array();
    if (!ls || !listen || !listeners) {
        free(ls);
        json_object_put(listen);
        json_object_put(listeners);
        return KGC_ENOMEM;
    }
    size_t n = 0;
    int rc = 0;
    const char *p = value;
    for (size_t idx = 0; idx < cap; idx++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *e;
        size_t el;
        strip(p, len, &e, &el);
        json_object_array_add(listen, json_object_new_string_len(e, (int)el));
        /* "off" as the first entry: no listeners (listeners.lua:101-103) */
        if (idx == 0 && el == 3 && memcmp(e, "off", 3) == 0) {
            break;
        }
        json_object *obj = json_object_new_object();
        bool port_str = false;
        if (!obj || !parse_entry(sub, e, el, &ls[n], obj, &port_str)) {
            json_object_put(obj);
            snprintf(err, errsz, "%s %s", sub->name, usage);
            rc = KGC_EINVAL;
            break;
        }
        json_object_array_add(listeners, obj);
        n++;
        p = comma ? comma + 1 : p + len;
    }
    if (rc != 0) {
        free(ls);
        json_object_put(listen);
        json_object_put(listeners);
        return rc;
    }
    if (json) {
        json_object *doc = json_object_new_object();
        char plural[32];
        snprintf(plural, sizeof(plural), "%sers", sub->name); /* listeners.lua:152 */
        json_object_object_add(doc, sub->name, listen);
        json_object_object_add(doc, plural, listeners);
        if (sub == &HTTP_SUB) {
            /* Kong's default stream_listen is off (kong/templates/kong_defaults.lua:28) */
            json_object *sl = json_object_new_array();
            json_object_array_add(sl, json_object_new_string("off"));
            json_object_object_add(doc, "stream_listen", sl);
            json_object_object_add(doc, "stream_listeners", json_object_new_array());
        }
        *json = doc;
    } else {
        json_object_put(listen);
        json_object_put(listeners);
    }
    *out = ls;
    *nout = n;
    return 0;
}

int kf_listen_parse(const char *value, struct kf_listen **out, size_t *nout, json_object **json,
                    char *err, size_t errsz)
{
    return listen_parse(&HTTP_SUB, value, out, nout, json, err, errsz);
}

int kf_stream_listen_parse(const char *value, struct kf_listen **out, size_t *nout,
                           json_object **json, char *err, size_t errsz)
{
    int rc = listen_parse(&STREAM_SUB, value, out, nout, json, err, errsz);
    for (size_t i = 0; rc == 0 && i < *nout; i++) {
        /* nginx refuses these with udp (OpenResty 1.25.3's src/stream/ngx_stream_core_module.c,
         * ngx_stream_core_listen, checked in this order): Kong would not start */
        const struct kf_listen *l = &(*out)[i];
        const char *bad = !l->udp             ? NULL
                          : l->backlog >= 0   ? "backlog"
                          : l->ssl            ? "ssl"
                          : l->so_keepalive   ? "so_keepalive"
                          : l->proxy_protocol ? "proxy_protocol"
                                              : NULL;
        if (bad) {
            snprintf(err, errsz, "\"%s\" parameter is incompatible with \"udp\"", bad);
            free(*out);
            *out = NULL;
            *nout = 0;
            if (json) {
                json_object_put(*json);
                *json = NULL;
            }
            rc = KGC_EINVAL;
        }
    }
    return rc;
}

json_object *kf_proxy_listeners_json(const char *proxy_listen, char *err, size_t errsz)
{
    struct kf_listen *ls = NULL;
    size_t n = 0;
    json_object *doc = NULL;
    if (kf_listen_parse(proxy_listen, &ls, &n, &doc, err, errsz) != 0) {
        return NULL;
    }
    free(ls);
    json_object *pl = NULL;
    json_object_object_get_ex(doc, "proxy_listeners", &pl);
    json_object_get(pl);
    json_object_put(doc);
    return pl;
}

/* router_atc_xform — a route turned into the ATC expression and priority Kong 3.9.1 gives it, and
 * the routes-schema check of the ATC flavours (router_atc_impl.h, router_internal.h).
 *
 * Sources (Kong 3.9.1 unless said):
 *   kong/router/transform.lua:42-58    escape_str: r#"..."# unless the value holds `"#`, then a
 *                                      quoted string with `\` and `"` escaped
 *   kong/router/transform.lua:72-99    split_host_port (first ':', Lua tonumber of the rest)
 *   kong/router/transform.lua:131-166  expression_append / gen_for_field
 *   kong/router/transform.lua:169-260  parse_ip_addr / gen_for_nets (IPv4 CIDRs normalised with
 *                                      32-bit shifts, IPv6 kept as written)
 *   kong/router/transform.lua:263-331  stream routes, SNI and path operators and values
 *   kong/router/transform.lua:334-453  get_expression (field order: snis, sources, destinations,
 *                                      [stream stops], methods, hosts, paths, headers)
 *   kong/router/transform.lua:456-668  get_priority and its bit layout
 *   kong/router/transform.lua:760-791  amending_expression (net.port -> net.dst.port)
 *   kong/router/expressions.lua:19-56  the expressions flavour appends net.protocol
 *   kong/router/compat.lua:12-22       traditional_compatible uses get_expression as is
 *   kong/db/schema/entities/routes.lua:43-124  validate_route (the "Router Expression failed
 *                                      validation: ..." entity check)
 *   kong/tools/string.lua:246-248      replace_dashes_lower
 *   kong/router/utils.lua:265-267      is_regex_magic (a leading '~')
 *
 * Priority and LuaJIT. transform.lua:461-464 `lshift_uint64` rebinds its local to the argument
 * instead of storing into the uint64 cdata, so a plain Lua number is shifted by LuaJIT's 32-bit
 * bit.lshift (shift count mod 32, result a signed 32-bit number): match_weight lands at bit 29,
 * the header count at bit 20, regex_priority at bit 19. bit.bor then runs in 64 bits only when
 * one argument is a uint64 cdata (the plain-host, regex, expression and stream bits); a Lua
 * number argument, and the final number handed to the FFI's size_t, are converted by LuaJIT's
 * lj_num2u64 (openresty/luajit2 v2.1-20231117, the LuaJIT of OpenResty 1.25.3.2 that Kong 3.9.1
 * builds: src/lj_obj.h:1013-1022, src/lib_bit.c:116-133, src/lj_cconv.c:193-214), which turns any
 * negative number into 0x8000000000000000. Checked against that LuaJIT built from source, with
 * the JIT off: JIT-compiled code sign-extends instead — NOT modelled (Kong's router build runs
 * these functions once per route, interpreted unless the configuration is large).
 *
 * Lua errors Kong would raise on malformed routes (a non-string host, a `null` regex_priority,
 * ...) come back as KGC_EINVAL with a fake-specific description. */
#include "router_atc_impl.h"
#include "router_internal.h"

#include "atc.h"
#include "kbuf.h"

#include <kgc/err.h>

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

/* ---- a growable string -------------------------------------------------------------------- */

/* expression_append (transform.lua:131-137): the separator goes in when the buffer already holds
 * something and this is not the first element of a list (idx 0 = no list). */
static void expr_append(struct kf_buf *b, const char *sep, const char *s, size_t idx)
{
    if (b->n > 0 && (idx == 0 || idx > 1)) {
        kf_buf_puts(b, sep);
    }
    kf_buf_puts(b, s);
}

#define LOGICAL_OR  " || "
#define LOGICAL_AND " && "

/* ---- Lua views of the route's JSON -------------------------------------------------------- */

static int fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errsz, const char *fmt, ...)
{
    if (err && errsz > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return KGC_EINVAL;
}

/* route[key]: NULL when absent or JSON null (Lua nil / ngx.null); *present tells them apart. */
static json_object *fget(json_object *o, const char *key, bool *present)
{
    json_object *v = NULL;
    bool p = o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v);
    if (present) {
        *present = p;
    }
    return p ? v : NULL;
}

/* is_empty_field (transform.lua:36-38): nil, null, or an empty table. 1 = empty, 0 = not, and
 * KGC_EINVAL for a value table.isempty() rejects (not a table). */
static int empty_field(json_object *route, const char *key, char *err, size_t errsz)
{
    json_object *v = fget(route, key, NULL);
    if (!v) {
        return 1;
    }
    if (json_object_is_type(v, json_type_array)) {
        return json_object_array_length(v) == 0;
    }
    if (json_object_is_type(v, json_type_object)) {
        return json_object_object_length(v) == 0;
    }
    return fail(err, errsz, "bad argument #1 to 'isempty' (table expected) for route field '%s'",
                key);
}

static bool is_null_field(json_object *route, const char *key)
{
    return fget(route, key, NULL) == NULL;
}

static const char *str_at(json_object *arr, size_t i)
{
    json_object *e = json_object_array_get_idx(arr, i);
    return e && json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
}

/* Lua tostring() of a number: integers as integers, else "%.14g" (LuaJIT lj_strfmt_num). */
static void lua_num_str(double d, char *out, size_t outsz)
{
    if (isnan(d)) {
        snprintf(out, outsz, "nan");
    } else if (isinf(d)) {
        snprintf(out, outsz, d < 0 ? "-inf" : "inf");
    } else {
        snprintf(out, outsz, "%.14g", d);
    }
}

/* A JSON number as the Lua number cjson would decode (a double). */
static bool json_num(json_object *v, double *out)
{
    if (v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))) {
        *out = json_object_get_double(v);
        return true;
    }
    return false;
}

bool atcr_lua_tonumber(const char *s, size_t len, double *out)
{
    /* lj_strscan.c:383-396 (luajit2 v2.1-20231117): spaces, a sign, "inf"/"nan", decimal or 0x
     * hex; strtod accepts the same forms (parenthesised nan payloads are refused here). */
    if (len > 256) {
        return false;
    }
    char buf[260];
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (strlen(buf) != len || strchr(buf, '(')) {
        return false;
    }
    const char *p = buf;
    while (*p == ' ' || (*p >= '\t' && *p <= '\r')) {
        p++;
    }
    if (!*p) {
        return false;
    }
    char *end = NULL;
    double d = strtod(p, &end);
    if (end == p) {
        return false;
    }
    while (*end == ' ' || (*end >= '\t' && *end <= '\r')) {
        end++;
    }
    if (*end) {
        return false;
    }
    *out = d;
    return true;
}

int atcr_split_host_port(const char *key, char **host, bool *has_port, double *port)
{
    /* transform.lua:72-99 */
    *has_port = false;
    *port = 0;
    const char *c = strchr(key, ':');
    double d;
    if (c && atcr_lua_tonumber(c + 1, strlen(c + 1), &d)) {
        *host = strndup(key, (size_t)(c - key));
        *has_port = true;
        *port = d;
    } else {
        *host = strdup(key);
    }
    return *host ? 0 : KGC_ENOMEM;
}

bool atcr_is_stream_route(json_object *route)
{
    /* transform.lua:263-278: the FIRST protocol decides. */
    json_object *protos = fget(route, "protocols", NULL);
    if (!protos || !json_object_is_type(protos, json_type_array)) {
        return false;
    }
    const char *p = str_at(protos, 0);
    return p && (strcmp(p, "tcp") == 0 || strcmp(p, "udp") == 0 || strcmp(p, "tls") == 0 ||
                 strcmp(p, "tls_passthrough") == 0);
}

/* ---- expression generation ---------------------------------------------------------------- */

/* escape_str (transform.lua:42-58) */
static void put_escaped(struct kf_buf *b, const char *s)
{
    if (!strstr(s, "\"#")) {
        kf_buf_puts(b, "r#\"");
        kf_buf_puts(b, s);
        kf_buf_puts(b, "\"#");
        return;
    }
    kf_buf_puts(b, "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '\\') {
            kf_buf_puts(b, "\\\\");
        } else if (*p == '"') {
            kf_buf_puts(b, "\\\"");
        } else {
            kf_buf_putn(b, p, 1);
        }
    }
    kf_buf_puts(b, "\"");
}

/* How gen_for_field picks an operator and rewrites each value. */
enum field_kind { FK_PLAIN, FK_SNI, FK_PATH, FK_PROTOCOL };

static const char *protocol_override(const char *p)
{
    /* expressions.lua:20-28 */
    if (strcmp(p, "tls_passthrough") == 0) {
        return "tcp";
    }
    if (strcmp(p, "grpc") == 0) {
        return "http";
    }
    if (strcmp(p, "grpcs") == 0) {
        return "https";
    }
    return p;
}

/* One "name op value" term of gen_for_field into b. */
static void gen_term(struct kf_buf *b, const char *name, enum field_kind kind, const char *v)
{
    size_t n = strlen(v);
    kf_buf_puts(b, name);
    kf_buf_puts(b, " ");
    if (kind == FK_SNI) {
        /* sni_op_transform / sni_val_transform (transform.lua:281-314) */
        char *val = strdup(v);
        if (!val) {
            b->oom = true;
            return;
        }
        if (n > 0 && v[0] == '*') {
            kf_buf_puts(b, "=^ ");
            size_t l = n;
            if (l > 1 && val[l - 1] == '.') {
                val[--l] = '\0';
            }
            put_escaped(b, val + 1);
        } else if (n > 0 && v[n - 1] == '*') {
            kf_buf_puts(b, "^= ");
            val[n - 1] = '\0';
            put_escaped(b, val);
        } else {
            kf_buf_puts(b, "== ");
            if (n > 1 && val[n - 1] == '.') {
                val[n - 1] = '\0';
            }
            put_escaped(b, val);
        }
        free(val);
        return;
    }
    if (kind == FK_PATH) {
        /* path_op_transform / path_val_transform (transform.lua:317-331) */
        if (v[0] != '~') {
            kf_buf_puts(b, "^= ");
            put_escaped(b, v);
            return;
        }
        kf_buf_puts(b, "~ ");
        struct kf_buf r = {0};
        kf_buf_puts(&r, "^");
        for (const char *p = v + 1; *p; p++) {
            if (p[0] == '?' && p[1] == '<') {
                kf_buf_puts(&r, "?P<");
                p++;
            } else {
                kf_buf_putn(&r, p, 1);
            }
        }
        if (r.oom) {
            b->oom = true;
        } else {
            put_escaped(b, r.p);
        }
        kf_buf_free(&r);
        return;
    }
    kf_buf_puts(b, "== ");
    put_escaped(b, kind == FK_PROTOCOL ? protocol_override(v) : v);
}

/* gen_for_field (transform.lua:140-166) over route[key]; *out stays NULL when the field is empty.
 * *out is malloc'd. */
static int gen_for_field(json_object *route, const char *key, const char *name,
                         enum field_kind kind, char **out, char *err, size_t errsz)
{
    *out = NULL;
    int e = empty_field(route, key, err, errsz);
    if (e != 0) {
        return e < 0 ? e : 0;
    }
    json_object *vals = fget(route, key, NULL);
    if (!json_object_is_type(vals, json_type_array)) {
        return fail(err, errsz, "assertion failed! (route field '%s' is not an array)", key);
    }
    struct kf_buf b = {0};
    kf_buf_puts(&b, "(");
    size_t n = json_object_array_length(vals);
    for (size_t i = 0; i < n; i++) {
        const char *v = str_at(vals, i);
        if (!v) {
            kf_buf_free(&b);
            return fail(err, errsz, "route field '%s': element %zu is not a string", key, i + 1);
        }
        struct kf_buf t = {0};
        gen_term(&t, name, kind, v);
        if (t.oom) {
            kf_buf_free(&t);
            kf_buf_free(&b);
            return KGC_ENOMEM;
        }
        expr_append(&b, LOGICAL_OR, t.p, i + 1);
        kf_buf_free(&t);
    }
    kf_buf_puts(&b, ")");
    *out = kf_buf_take(&b);
    return *out ? 0 : KGC_ENOMEM;
}

static int32_t lua_tobit(double n);

/* ipmatcher.split_ip + parse_ip_addr (transform.lua:169-191): "a.b.c.d/m" comes back with the
 * host bits cleared by LuaJIT's 32-bit shifts (shift counts mod 32, so /0 keeps the address);
 * anything else that is not IPv4 is kept as written. mask < 0 when there is none. */
static void parse_ip_addr(const char *ip, char *addr, size_t addrsz, double *mask, bool *has_mask)
{
    const char *slash = strchr(ip, '/');
    *has_mask = false;
    if (!slash) {
        snprintf(addr, addrsz, "%s", ip);
        return;
    }
    snprintf(addr, addrsz, "%.*s", (int)(slash - ip), ip);
    double m;
    if (!atcr_lua_tonumber(slash + 1, strlen(slash + 1), &m)) {
        return; /* split_ip gives (addr, nil): only the address is used */
    }
    *has_mask = true;
    *mask = m;
    struct in_addr in;
    if (inet_pton(AF_INET, addr, &in) != 1 || !isfinite(m)) {
        return;
    }
    uint32_t v = ntohl(in.s_addr);
    /* 32 - mask as a LuaJIT bit-op shift count: tobit, then mod 32 */
    unsigned sh = (unsigned)lua_tobit(32 - m) & 31;
    uint32_t cidr = (v >> sh) << sh;
    snprintf(addr, addrsz, "%u.%u.%u.%u", (cidr >> 24) & 0xff, (cidr >> 16) & 0xff,
             (cidr >> 8) & 0xff, cidr & 0xff);
}

/* gen_for_nets (transform.lua:194-260). A malformed element makes Kong log and drop the whole
 * field (*out NULL, return 0). */
static int gen_for_nets(json_object *route, const char *key, const char *ip_field,
                        const char *port_field, char **out, char *err, size_t errsz)
{
    *out = NULL;
    int e = empty_field(route, key, err, errsz);
    if (e != 0) {
        return e < 0 ? e : 0;
    }
    json_object *vals = fget(route, key, NULL);
    struct kf_buf b = {0};
    kf_buf_puts(&b, "(");
    /* a JSON object is a Lua table whose #vals is 0: the loop adds nothing, "()" comes back */
    size_t n = json_object_is_type(vals, json_type_array) ? json_object_array_length(vals) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(vals, i);
        if (!v || !json_object_is_type(v, json_type_object) || json_object_object_length(v) == 0) {
            kf_buf_free(&b); /* "sources/destinations elements must be a table / not be empty" */
            return 0;
        }
        json_object *ip = fget(v, "ip", NULL);
        json_object *port = fget(v, "port", NULL);
        char exp_ip[160] = "", exp_port[96] = "";
        if (ip) {
            if (!json_object_is_type(ip, json_type_string)) {
                kf_buf_free(&b);
                return fail(err, errsz, "route field '%s': ip is not a string", key);
            }
            char addr[96];
            double mask = 0;
            bool has_mask;
            parse_ip_addr(json_object_get_string(ip), addr, sizeof(addr), &mask, &has_mask);
            if (has_mask) {
                char ms[32];
                lua_num_str(mask, ms, sizeof(ms));
                snprintf(exp_ip, sizeof(exp_ip), "%s in %s/%s", ip_field, addr, ms);
            } else {
                snprintf(exp_ip, sizeof(exp_ip), "%s == %s", ip_field, addr);
            }
        }
        if (port) {
            double d;
            char ps[32];
            if (json_num(port, &d)) {
                lua_num_str(d, ps, sizeof(ps));
            } else if (json_object_is_type(port, json_type_string)) {
                snprintf(ps, sizeof(ps), "%s", json_object_get_string(port));
            } else {
                kf_buf_free(&b);
                return fail(err, errsz, "route field '%s': port is not a number", key);
            }
            snprintf(exp_port, sizeof(exp_port), "%s == %s", port_field, ps);
        }
        if (!ip && !port) {
            kf_buf_free(&b);
            return fail(err, errsz, "bad argument #1 to 'put' (string expected, got nil)");
        }
        if (!ip) {
            expr_append(&b, LOGICAL_OR, exp_port, i + 1);
        } else if (!port) {
            expr_append(&b, LOGICAL_OR, exp_ip, i + 1);
        } else {
            char both[280];
            snprintf(both, sizeof(both), "(%s" LOGICAL_AND "%s)", exp_ip, exp_port);
            expr_append(&b, LOGICAL_OR, both, i + 1);
        }
    }
    kf_buf_puts(&b, ")");
    *out = kf_buf_take(&b);
    return *out ? 0 : KGC_ENOMEM;
}

/* Appends gen (taken) to b with " && " when there is one. */
static void append_and(struct kf_buf *b, char *gen)
{
    if (gen) {
        expr_append(b, LOGICAL_AND, gen, 0);
        free(gen);
    }
}

static int gen_hosts(json_object *route, struct kf_buf *b, char *err, size_t errsz)
{
    /* transform.lua:385-413 (the host is NOT escaped: r#"<host>"#) */
    int e = empty_field(route, "hosts", err, errsz);
    if (e != 0) {
        return e < 0 ? e : 0;
    }
    json_object *hosts = fget(route, "hosts", NULL);
    struct kf_buf h = {0};
    kf_buf_puts(&h, "(");
    /* ipairs over a JSON object (a Lua table without array part) visits nothing: "()" */
    size_t n = json_object_is_type(hosts, json_type_array) ? json_object_array_length(hosts) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *key = str_at(hosts, i);
        if (!key) {
            kf_buf_free(&h);
            return fail(err, errsz, "route field 'hosts': element %zu is not a string", i + 1);
        }
        char *host = NULL;
        bool has_port;
        double port;
        if (atcr_split_host_port(key, &host, &has_port, &port) != 0) {
            kf_buf_free(&h);
            return KGC_ENOMEM;
        }
        const char *op = "==";
        char *hv = host;
        size_t hl = strlen(host);
        if (hl > 0 && host[0] == '*') {
            op = "=^";
            hv = host + 1;
        } else if (hl > 0 && host[hl - 1] == '*') {
            op = "^=";
            host[hl - 1] = '\0';
        }
        struct kf_buf t = {0};
        if (has_port) {
            kf_buf_puts(&t, "(");
        }
        kf_buf_puts(&t, "http.host ");
        kf_buf_puts(&t, op);
        kf_buf_puts(&t, " r#\"");
        kf_buf_puts(&t, hv);
        kf_buf_puts(&t, "\"#");
        if (has_port) {
            char ps[32];
            lua_num_str(port, ps, sizeof(ps));
            kf_buf_puts(&t, LOGICAL_AND "net.dst.port == ");
            kf_buf_puts(&t, ps);
            kf_buf_puts(&t, ")");
        }
        free(host);
        if (t.oom) {
            kf_buf_free(&t);
            kf_buf_free(&h);
            return KGC_ENOMEM;
        }
        expr_append(&h, LOGICAL_OR, t.p, i + 1);
        kf_buf_free(&t);
    }
    kf_buf_puts(&h, ")");
    char *s = kf_buf_take(&h);
    if (!s) {
        return KGC_ENOMEM;
    }
    append_and(b, s);
    return 0;
}

static int gen_headers(json_object *route, struct kf_buf *b, char *err, size_t errsz)
{
    /* transform.lua:420-446. Kong walks the headers table with pairs(), whose order is Lua's hash
     * order; the fake takes the JSON object's order (matching is the same either way). */
    int e = empty_field(route, "headers", err, errsz);
    if (e != 0) {
        return e < 0 ? e : 0;
    }
    json_object *headers = fget(route, "headers", NULL);
    if (!json_object_is_type(headers, json_type_object)) {
        return fail(err, errsz, "route field 'headers' is not a table of names");
    }
    struct kf_buf all = {0};
    json_object_object_foreach(headers, hname, hvals)
    {
        struct kf_buf one = {0};
        kf_buf_puts(&one, "(");
        size_t n = hvals && json_object_is_type(hvals, json_type_array)
                       ? json_object_array_length(hvals)
                       : 0;
        for (size_t i = 0; i < n; i++) {
            const char *v = str_at(hvals, i);
            if (!v) {
                kf_buf_free(&one);
                kf_buf_free(&all);
                return fail(err, errsz, "route field 'headers.%s': element %zu is not a string",
                            hname, i + 1);
            }
            struct kf_buf t = {0};
            kf_buf_puts(&t, "any(lower(http.headers.");
            for (const char *p = hname; *p; p++) {
                char c = (char)tolower((unsigned char)*p);
                kf_buf_putn(&t, c == '-' ? "_" : &c, 1);
            }
            kf_buf_puts(&t, "))");
            const char *val = v;
            if (v[0] == '~' && v[1] == '*') {
                val = v + 2;
                kf_buf_puts(&t, " ~ ");
            } else {
                kf_buf_puts(&t, " == ");
            }
            char *low = strdup(val);
            if (!low) {
                t.oom = true;
            } else {
                for (char *p = low; *p; p++) {
                    *p = (char)tolower((unsigned char)*p);
                }
                put_escaped(&t, low);
                free(low);
            }
            if (t.oom) {
                kf_buf_free(&t);
                kf_buf_free(&one);
                kf_buf_free(&all);
                return KGC_ENOMEM;
            }
            expr_append(&one, LOGICAL_OR, t.p, i + 1);
            kf_buf_free(&t);
        }
        kf_buf_puts(&one, ")");
        if (one.oom) {
            kf_buf_free(&one);
            kf_buf_free(&all);
            return KGC_ENOMEM;
        }
        expr_append(&all, LOGICAL_AND, one.p, 0);
        kf_buf_free(&one);
    }
    char *s = kf_buf_take(&all);
    if (!s) {
        return KGC_ENOMEM;
    }
    append_and(b, s);
    return 0;
}

int atcr_get_expression(json_object *route, char **out, char *err, size_t errsz)
{
    *out = NULL;
    /* transform.lua:336-338: the 'expression' field wins over everything else */
    json_object *expr = fget(route, "expression", NULL);
    if (expr) {
        if (!json_object_is_type(expr, json_type_string)) {
            return fail(err, errsz, "route field 'expression' is not a string");
        }
        *out = strdup(json_object_get_string(expr));
        return *out ? 0 : KGC_ENOMEM;
    }

    struct kf_buf b = {0};
    char *gen = NULL;
    int rc = gen_for_field(route, "snis", "tls.sni", FK_SNI, &gen, err, errsz);
    if (rc != 0) {
        goto out;
    }
    if (gen) {
        /* transform.lua:344-355: SNIs only count on TLS (#6425) */
        struct kf_buf g = {0};
        kf_buf_puts(&g, atcr_is_stream_route(route) ? "(net.protocol != r#\"tls\"#"
                                                    : "(net.protocol != r#\"https\"#");
        kf_buf_puts(&g, LOGICAL_OR);
        kf_buf_puts(&g, gen);
        kf_buf_puts(&g, ")");
        free(gen);
        gen = kf_buf_take(&g);
        if (!gen) {
            rc = KGC_ENOMEM;
            goto out;
        }
        append_and(&b, gen);
    }
    /* transform.lua:359-367 */
    rc = gen_for_nets(route, "sources", "net.src.ip", "net.src.port", &gen, err, errsz);
    if (rc != 0) {
        goto out;
    }
    append_and(&b, gen);
    rc = gen_for_nets(route, "destinations", "net.dst.ip", "net.dst.port", &gen, err, errsz);
    if (rc != 0) {
        goto out;
    }
    append_and(&b, gen);
    /* transform.lua:371-376: stream routes stop here */
    if (!atcr_is_stream_route(route)) {
        rc = gen_for_field(route, "methods", "http.method", FK_PLAIN, &gen, err, errsz);
        if (rc != 0) {
            goto out;
        }
        append_and(&b, gen);
        rc = gen_hosts(route, &b, err, errsz);
        if (rc != 0) {
            goto out;
        }
        rc = gen_for_field(route, "paths", "http.path", FK_PATH, &gen, err, errsz);
        if (rc != 0) {
            goto out;
        }
        append_and(&b, gen);
        rc = gen_headers(route, &b, err, errsz);
        if (rc != 0) {
            goto out;
        }
    }
    *out = kf_buf_take(&b);
    return *out ? 0 : KGC_ENOMEM;
out:
    kf_buf_free(&b);
    return rc;
}

/* amending_expression (transform.lua:760-791): `(net\.port)(\s*)([=><!])` -> net.dst.port$2$3,
 * everywhere in the text (string literals included, as ngx.re.gsub does). *out is malloc'd. */
static char *amend_net_port(const char *exp)
{
    if (!strstr(exp, "net.port")) {
        return strdup(exp);
    }
    struct kf_buf b = {0};
    const char *p = exp;
    while (*p) {
        if (strncmp(p, "net.port", 8) == 0) {
            const char *q = p + 8;
            while (*q == ' ' || (*q >= '\t' && *q <= '\r')) {
                q++;
            }
            if (*q == '=' || *q == '>' || *q == '<' || *q == '!') {
                kf_buf_puts(&b, "net.dst.port");
                kf_buf_putn(&b, p + 8, (size_t)(q - (p + 8)) + 1);
                p = q + 1;
                continue;
            }
        }
        kf_buf_putn(&b, p, 1);
        p++;
    }
    return kf_buf_take(&b);
}

int atcr_flavor_expression(enum kf_flavor flavor, json_object *route, char **out, char *err,
                           size_t errsz)
{
    *out = NULL;
    char *exp = NULL;
    int rc = atcr_get_expression(route, &exp, err, errsz);
    if (rc != 0 || flavor != KF_FLAVOR_EXPRESSIONS) {
        /* compat.lua:18: traditional_compatible takes get_expression as is */
        *out = exp;
        return rc;
    }
    /* expressions.lua:30-55 */
    char *amended = amend_net_port(exp);
    free(exp);
    if (!amended) {
        return KGC_ENOMEM;
    }
    json_object *protos = fget(route, "protocols", NULL);
    if (protos && json_object_is_type(protos, json_type_array) &&
        json_object_array_length(protos) == 1) {
        const char *p = str_at(protos, 0);
        if (p && (strcmp(p, "https") == 0 || strcmp(p, "tls") == 0 ||
                  strcmp(p, "tls_passthrough") == 0)) {
            *out = amended;
            return 0;
        }
    }
    char *gen = NULL;
    rc = gen_for_field(route, "protocols", "net.protocol", FK_PROTOCOL, &gen, err, errsz);
    if (rc != 0) {
        free(amended);
        return rc;
    }
    if (!gen) {
        *out = amended;
        return 0;
    }
    struct kf_buf b = {0};
    kf_buf_puts(&b, amended);
    kf_buf_puts(&b, LOGICAL_AND);
    kf_buf_puts(&b, gen);
    free(amended);
    free(gen);
    *out = kf_buf_take(&b);
    return *out ? 0 : KGC_ENOMEM;
}

/* ---- priority ----------------------------------------------------------------------------- */

/* LuaJIT's tobit (lj_obj.h lj_num2bit): the low 32 bits of n + 2^52 + 2^51. */
static int32_t lua_tobit(double n)
{
    double t = n + 6755399441055744.0;
    uint64_t u;
    memcpy(&u, &t, sizeof(u));
    return (int32_t)(uint32_t)u;
}

/* bit.lshift on a Lua number: 32 bits, shift count mod 32, signed result. */
static int32_t lua_lshift32(double v, unsigned sh)
{
    return (int32_t)((uint32_t)lua_tobit(v) << (sh & 31));
}

/* lj_num2u64 (lj_obj.h:1013-1022, x64): negative numbers end up as 0x8000000000000000. */
static uint64_t lua_num2u64(double n)
{
    if (isnan(n)) {
        return UINT64_C(0x8000000000000000);
    }
    if (n >= 0) {
        if (n >= 18446744073709551616.0) {
            return UINT64_C(0x8000000000000000);
        }
        if (n >= 9223372036854775808.0) {
            return (uint64_t)(n - 9223372036854775808.0) + UINT64_C(0x8000000000000000);
        }
        return (uint64_t)n;
    }
    return UINT64_C(0x8000000000000000);
}

#define PLAIN_HOST_ONLY_BIT (UINT64_C(1) << 60)    /* transform.lua:536 */
#define REGEX_URL_BIT       (UINT64_C(1) << 51)    /* transform.lua:537 */
#define EXPRESSION_ONLY_BIT (UINT64_C(0xFF) << 56) /* transform.lua:541 */
#define STREAM_SNI_BIT      (UINT64_C(1) << 61)    /* transform.lua:471 */
#define MAX_HEADER_COUNT    255                    /* transform.lua:533 */

/* calc_ip_weight (transform.lua:478-504): IP 0x8 > PORT 0x4 > CIDR 0x1 */
static int ip_weight(json_object *route, const char *key, uint64_t *w, char *err, size_t errsz)
{
    *w = 0;
    int e = empty_field(route, key, err, errsz);
    if (e != 0) {
        return e < 0 ? e : 0;
    }
    json_object *vals = fget(route, key, NULL);
    size_t n = json_object_is_type(vals, json_type_array) ? json_object_array_length(vals) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(vals, i);
        if (!v || !json_object_is_type(v, json_type_object)) {
            return fail(err, errsz, "attempt to index route field '%s' element %zu", key, i + 1);
        }
        json_object *ip = fget(v, "ip", NULL);
        if (ip) {
            if (!json_object_is_type(ip, json_type_string)) {
                return fail(err, errsz, "route field '%s': ip is not a string", key);
            }
            *w |= strchr(json_object_get_string(ip), '/') ? 0x1 : 0x8;
        }
        if (fget(v, "port", NULL)) {
            *w |= 0x4;
        }
    }
    return 0;
}

static int stream_priority(json_object *route, uint64_t *out, char *err, size_t errsz)
{
    /* transform.lua:506-529 (all uint64 cdata: exact 64-bit arithmetic) */
    int snis = empty_field(route, "snis", err, errsz);
    int srcs = empty_field(route, "sources", err, errsz);
    int dsts = empty_field(route, "destinations", err, errsz);
    if (snis < 0 || srcs < 0 || dsts < 0) {
        return KGC_EINVAL;
    }
    uint64_t w = 0;
    if (!snis || (!srcs && !dsts)) {
        w = STREAM_SNI_BIT;
    }
    uint64_t sb, db;
    int rc = ip_weight(route, "sources", &sb, err, errsz);
    if (rc == 0) {
        rc = ip_weight(route, "destinations", &db, err, errsz);
    }
    if (rc != 0) {
        return rc;
    }
    *out = w | (sb << 4) | db;
    return 0;
}

int atcr_get_priority(json_object *route, uint64_t *out, char *err, size_t errsz)
{
    *out = 0;
    /* transform.lua:560-562: bor(EXPRESSION_ONLY_BIT, route.priority or 0) */
    if (!is_null_field(route, "expression")) {
        bool present;
        json_object *p = fget(route, "priority", &present);
        double d = 0;
        if (present && !json_num(p, &d)) {
            return fail(err, errsz, "bad argument #2 to 'bor' (number expected, got %s)",
                        p ? json_type_to_name(json_object_get_type(p)) : "userdata");
        }
        *out = EXPRESSION_ONLY_BIT | lua_num2u64(d);
        return 0;
    }
    if (atcr_is_stream_route(route)) {
        return stream_priority(route, out, err, errsz);
    }

    /* transform.lua:572-607 */
    static const char *const weighted[] = {"sources", "destinations", "methods", "hosts", "snis"};
    int match_weight = 0;
    for (size_t i = 0; i < sizeof(weighted) / sizeof(weighted[0]); i++) {
        int e = empty_field(route, weighted[i], err, errsz);
        if (e < 0) {
            return e;
        }
        match_weight += !e;
    }
    int he = empty_field(route, "headers", err, errsz);
    if (he < 0) {
        return he;
    }
    int headers_count = 0;
    if (!he) {
        json_object *h = fget(route, "headers", NULL);
        headers_count = json_object_is_type(h, json_type_object) ? json_object_object_length(h)
                                                                 : (int)json_object_array_length(h);
        if (headers_count > 0) {
            match_weight++;
            if (headers_count > MAX_HEADER_COUNT) {
                headers_count = MAX_HEADER_COUNT;
            }
        }
    }

    /* transform.lua:609-618: type(hosts) == "table" — an empty list counts, null does not */
    json_object *hosts = fget(route, "hosts", NULL);
    bool plain_host_only = hosts && (json_object_is_type(hosts, json_type_array) ||
                                     json_object_is_type(hosts, json_type_object));
    if (plain_host_only && json_object_is_type(hosts, json_type_array)) {
        size_t n = json_object_array_length(hosts);
        for (size_t i = 0; i < n; i++) {
            const char *h = str_at(hosts, i);
            if (!h) {
                return fail(err, errsz, "route field 'hosts': element %zu is not a string", i + 1);
            }
            if (strchr(h, '*')) {
                plain_host_only = false;
                break;
            }
        }
    }

    /* transform.lua:620-648 */
    size_t uri_length = 0;
    bool regex_url = false;
    int pe = empty_field(route, "paths", err, errsz);
    if (pe < 0) {
        return pe;
    }
    if (!pe) {
        match_weight++;
        json_object *paths = fget(route, "paths", NULL);
        if (!json_object_is_type(paths, json_type_array)) {
            return fail(err, errsz, "route field 'paths' is not an array");
        }
        size_t n = json_object_array_length(paths);
        for (size_t i = 0; i < n; i++) {
            const char *p = str_at(paths, i);
            if (!p) {
                return fail(err, errsz, "route field 'paths': element %zu is not a string", i + 1);
            }
            if (i == 0) {
                regex_url = p[0] == '~';
                uri_length = regex_url ? 0 : strlen(p);
            } else if (regex_url && p[0] != '~') {
                return fail(err, errsz,
                            "assertion failed: cannot mix regex and non-regex paths in "
                            "get_priority()");
            } else if (!regex_url && strlen(p) != uri_length) {
                return fail(err, errsz,
                            "assertion failed: cannot mix different length prefixes in "
                            "get_priority()");
            }
        }
    }

    /* transform.lua:654-665 with LuaJIT semantics (see the header comment) */
    double regex_priority = 0;
    if (regex_url) {
        bool present;
        json_object *rp = fget(route, "regex_priority", &present);
        if (present && !json_num(rp, &regex_priority)) {
            return fail(err, errsz, "bad argument #1 to 'lshift' (number expected, got %s)",
                        rp ? json_type_to_name(json_object_get_type(rp)) : "userdata");
        }
    }
    int32_t mw_term = lua_lshift32(match_weight, 61);
    int32_t hc_term = lua_lshift32(headers_count, 52);
    int32_t rp_term = lua_lshift32(regex_priority, 19);
    int32_t ml_term = (int32_t)(lua_tobit((double)uri_length) & 0x7FFFF);
    if (plain_host_only || regex_url) {
        /* a uint64 cdata among the arguments: 64-bit bor, numbers through lj_num2u64 */
        *out = lua_num2u64(mw_term) | (plain_host_only ? PLAIN_HOST_ONLY_BIT : 0) |
               (regex_url ? REGEX_URL_BIT : 0) | lua_num2u64(hc_term) | lua_num2u64(rp_term) |
               lua_num2u64(ml_term);
    } else {
        /* numbers only: 32-bit bor, then the FFI's size_t conversion */
        int32_t r = (int32_t)((uint32_t)mw_term | (uint32_t)hc_term | (uint32_t)rp_term |
                              (uint32_t)ml_term);
        *out = lua_num2u64(r);
    }
    return 0;
}

/* ---- the public pieces -------------------------------------------------------------------- */

int kf_compat_expression(json_object *route, bool http, char **expr, uint64_t *priority)
{
    (void)http; /* transform.lua reads the route's protocols, not the subsystem */
    *expr = NULL;
    *priority = 0;
    char err[256];
    char *e = NULL;
    int rc = atcr_get_expression(route, &e, err, sizeof(err));
    if (rc != 0) {
        return rc;
    }
    if (!e[0]) {
        free(e);
        return KGC_EINVAL;
    }
    rc = atcr_get_priority(route, priority, err, sizeof(err));
    if (rc != 0) {
        free(e);
        return rc;
    }
    *expr = e;
    return 0;
}

/* routes.lua:59: ^(0|[1-9]\d*)(_([1-9]\d*))?$ and, for a range, first < second. */
static bool segments_suffix_ok(const char *s)
{
    if (strcmp(s, "len") == 0) {
        return true;
    }
    const char *a = s;
    size_t alen = 0;
    if (a[0] == '0') {
        alen = 1;
    } else if (a[0] >= '1' && a[0] <= '9') {
        while (isdigit((unsigned char)a[alen])) {
            alen++;
        }
    } else {
        return false;
    }
    if (a[alen] == '\0') {
        return true;
    }
    if (a[alen] != '_') {
        return false;
    }
    const char *b = a + alen + 1;
    size_t blen = 0;
    if (!(b[0] >= '1' && b[0] <= '9')) {
        return false;
    }
    while (isdigit((unsigned char)b[blen])) {
        blen++;
    }
    if (b[blen] != '\0') {
        return false;
    }
    /* tonumber(m[1]) >= tonumber(m[3]) is refused; no leading zeros, so compare as text */
    if (alen != blen) {
        return alen < blen;
    }
    return strncmp(a, b, alen) < 0;
}

int kf_atcr_validate(enum kf_flavor flavor, json_object *route, const char **field, char *err,
                     size_t errsz)
{
    *field = NULL; /* a custom_entity_check: reported on "@entity" (06-routes_spec.lua:1360) */
    if (errsz > 0) {
        err[0] = '\0';
    }
    if (flavor == KF_FLAVOR_TRADITIONAL) {
        return 0; /* routes.lua:45: only the ATC flavours install the check */
    }
    /* routes.lua:62-72 */
    bool expression_empty = is_null_field(route, "expression");
    static const char *const others[] = {"snis",  "sources", "destinations", "methods",
                                         "hosts", "paths",   "headers"};
    bool others_empty = true;
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        int e = empty_field(route, others[i], err, errsz);
        if (e < 0) {
            return e;
        }
        others_empty = others_empty && e;
    }
    if (expression_empty && others_empty) {
        return 0;
    }
    if (!expression_empty && !others_empty) {
        /* routes.lua:78-83 */
        return fail(err, errsz,
                    "Router Expression failed validation: cannot set 'expression' with 'methods', "
                    "'hosts', 'paths', 'headers', 'snis', 'sources' or 'destinations' "
                    "simultaneously");
    }
    /* routes.lua:85-91: 0 is the default and means "not set" */
    json_object *rp = fget(route, "regex_priority", NULL);
    double d;
    bool rp_empty = !rp || (json_num(rp, &d) && d == 0);
    if (!expression_empty && !rp_empty) {
        return fail(err, errsz,
                    "Router Expression failed validation: cannot set 'regex_priority' with "
                    "'expression' simultaneously");
    }
    /* routes.lua:93-100 */
    json_object *prio = fget(route, "priority", NULL);
    bool prio_empty = !prio || (json_num(prio, &d) && d == 0);
    if (!others_empty && !prio_empty) {
        return fail(err, errsz,
                    "Router Expression failed validation: cannot set 'priority' with 'methods', "
                    "'hosts', 'paths', 'headers', 'snis', 'sources' or 'destinations' "
                    "simultaneously");
    }
    /* routes.lua:102-108: the schema of the FIRST protocol (atc.lua:89-105), the amended
     * expression (no net.protocol part), atc-router's parse and type check */
    enum kf_atc_schema schema = atcr_is_stream_route(route) ? KF_ATC_STREAM : KF_ATC_HTTP;
    char *exp = NULL;
    char lerr[512];
    int rc = atcr_get_expression(route, &exp, lerr, sizeof(lerr));
    if (rc != 0) {
        if (rc == KGC_EINVAL) {
            snprintf(err, errsz, "%s", lerr);
        }
        return rc;
    }
    char *amended = amend_net_port(exp);
    free(exp);
    if (!amended) {
        return KGC_ENOMEM;
    }
    struct kf_atc_expr *ast = NULL;
    char perr[4096];
    perr[0] = '\0';
    rc = kf_atc_parse(schema, amended, &ast, perr, sizeof(perr));
    free(amended);
    if (rc == KGC_ENOMEM) {
        return rc;
    }
    if (rc != 0) {
        return fail(err, errsz, "Router Expression failed validation: %s", perr);
    }
    /* routes.lua:110-121 */
    const char *const *names = NULL;
    size_t nf = kf_atc_expr_fields(ast, &names);
    static const char seg[] = "http.path.segments.";
    rc = 0;
    for (size_t i = 0; i < nf; i++) {
        const char *f = strstr(names[i], seg);
        if (f && !segments_suffix_ok(names[i] + strlen(seg))) {
            rc = fail(err, errsz,
                      "Router Expression failed validation: illformed http.path.segments.* field");
            break;
        }
    }
    kf_atc_expr_free(ast);
    return rc;
}

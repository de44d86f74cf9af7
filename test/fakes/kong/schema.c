/* schema — Kong's field validation (kong/db/schema/init.lua) and the typedef checks
 * (kong/db/schema/typedefs.lua, kong/tools/ip.lua) with Kong's messages. */
#include "schema.h"
#include "entities.h"

#include <kgc/err.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pcre2.h>

/* ---- small helpers -----------------------------------------------------------------------------
 */

struct kf_errv kf_msg(struct kf_vctx *c, const char *msg)
{
    char *s = strdup(msg);
    if (!s) {
        c->oom = true;
    }
    return (struct kf_errv){.str = s};
}

void kf_put_err(struct kf_vctx *c, struct kf_errt *errs, const char *key, struct kf_errv e)
{
    if (!e.str && !e.tab) {
        return;
    }
    if (kf_errt_put(errs, key, 0, e) != 0) {
        c->oom = true;
    }
}

bool kf_is_string(json_object *v)
{
    return v && json_object_is_type(v, json_type_string);
}

const char *kf_get_string(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!obj || !json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, key, &v) || !kf_is_string(v)) {
        return NULL;
    }
    return json_object_get_string(v);
}

bool kf_has(json_object *obj, const char *key, json_object **val)
{
    json_object *v = NULL;
    bool has = obj && json_object_is_type(obj, json_type_object) &&
               json_object_object_get_ex(obj, key, &v);
    if (val) {
        *val = has ? v : NULL;
    }
    return has;
}

bool kf_nonempty(json_object *v)
{
    if (!v) {
        return false;
    }
    switch (json_object_get_type(v)) {
    case json_type_string:
        return json_object_get_string_len(v) > 0;
    case json_type_array:
        return json_object_array_length(v) > 0;
    case json_type_object:
        return json_object_object_length(v) > 0;
    default:
        return true;
    }
}

bool kf_is_uuid(const char *s)
{
    if (strlen(s) != 36) {
        return false;
    }
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

/* Lua's tostring for integral numbers: "%d". */
static bool get_integer(json_object *v, long long *out)
{
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_int64(v);
        return true;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (isfinite(d) && floor(d) == d && fabs(d) < 9.2e18) {
            *out = (long long)d;
            return true;
        }
    }
    return false;
}

/* Kong's utils.validate_utf8: 0 when valid, else the 1-based position of the bad byte. */
static size_t utf8_bad_position(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (p[i]) {
        unsigned char b = p[i];
        size_t len = b < 0x80                   ? 1
                     : (b >= 0xc2 && b <= 0xdf) ? 2
                     : (b >= 0xe0 && b <= 0xef) ? 3
                     : (b >= 0xf0 && b <= 0xf4) ? 4
                                                : 0;
        if (len == 0) {
            return i + 1;
        }
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return i + 1;
            }
        }
        if ((b == 0xe0 && p[i + 1] < 0xa0) || (b == 0xed && p[i + 1] > 0x9f) ||
            (b == 0xf0 && p[i + 1] < 0x90) || (b == 0xf4 && p[i + 1] > 0x8f)) {
            return i + 1;
        }
        i += len;
    }
    return 0;
}

/* Lua's %w (C locale). */
static bool is_alnum(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* ---- kong.tools.ip -----------------------------------------------------------------------------
 */

static int ipv4(const char *a, bool *has_port, char *err, size_t errsz)
{
    unsigned oct[4];
    int n = 0;
    const char *p = a;
    for (int i = 0; i < 4; i++) {
        int digits = 0;
        unsigned v = 0;
        while (isdigit((unsigned char)*p) && digits < 4) {
            v = v * 10 + (unsigned)(*p - '0');
            p++;
            digits++;
        }
        if (digits < 1 || digits > 3) {
            goto bad;
        }
        oct[n++] = v;
        if (i < 3) {
            if (*p != '.') {
                goto bad;
            }
            p++;
        }
    }
    *has_port = false;
    if (strchr(a, ':')) {
        if (*p != ':' || !p[1]) {
            goto bad;
        }
        for (const char *q = p + 1; *q; q++) {
            if (!isdigit((unsigned char)*q)) {
                goto bad;
            }
        }
        if (oct[0] > 255 || oct[1] > 255 || oct[2] > 255 || oct[3] > 255) {
            goto bad;
        }
        if (strlen(p + 1) > 5 || atol(p + 1) > 65535) {
            snprintf(err, errsz, "invalid port number");
            return -1;
        }
        *has_port = true;
        return 0;
    }
    if (*p != '\0') {
        goto bad;
    }
    if (oct[0] > 255 || oct[1] > 255 || oct[2] > 255 || oct[3] > 255) {
        goto bad;
    }
    return 0;
bad:
    snprintf(err, errsz, "invalid ipv4 address: %s", a);
    return -1;
}

static int ipv6(const char *a, bool *has_port, char *err, size_t errsz)
{
    char check[256];
    *has_port = false;
    if (a[0] == '[' && strchr(a, ']')) {
        const char *close = strchr(a, ']');
        size_t n = (size_t)(close - a - 1);
        if (n >= sizeof(check)) {
            goto bad;
        }
        memcpy(check, a + 1, n);
        check[n] = '\0';
        const char *rest = close + 1;
        if (*rest) {
            if (rest[0] != ':' || !rest[1]) {
                snprintf(err, errsz, "invalid ipv6 address");
                return -1;
            }
            for (const char *q = rest + 1; *q; q++) {
                if (!isdigit((unsigned char)*q)) {
                    snprintf(err, errsz, "invalid ipv6 address");
                    return -1;
                }
            }
            if (strlen(rest + 1) > 5 || atol(rest + 1) > 65535) {
                snprintf(err, errsz, "invalid port number");
                return -1;
            }
            *has_port = true;
        }
    } else {
        if (strlen(a) >= sizeof(check)) {
            goto bad;
        }
        snprintf(check, sizeof(check), "%s", a);
    }
    /* expand the way Kong does, then require 8 groups of 1-4 hex digits */
    char exp[512];
    snprintf(exp, sizeof(exp), "%s%s%s", check[0] == ':' ? "0" : "", check,
             (check[0] && check[strlen(check) - 1] == ':') ? "0" : "");
    char *dbl = strstr(exp, "::");
    if (dbl) {
        int colons = 0;
        for (const char *q = exp; *q; q++) {
            colons += *q == ':';
        }
        char ins[64] = ":";
        for (int i = 0; i < 8 - colons && strlen(ins) + 3 < sizeof(ins); i++) {
            strcat(ins, "0:");
        }
        char out[512];
        snprintf(out, sizeof(out), "%.*s%s%s", (int)(dbl - exp), exp, ins, dbl + 2);
        snprintf(exp, sizeof(exp), "%s", out);
    }
    int groups = 0;
    const char *p = exp;
    while (*p) {
        int digits = 0;
        while (isxdigit((unsigned char)*p)) {
            p++;
            digits++;
        }
        if (digits < 1 || digits > 4) {
            goto bad;
        }
        groups++;
        if (*p == ':') {
            p++;
            if (!*p) {
                goto bad;
            }
        } else if (*p) {
            goto bad;
        }
    }
    if (groups != 8) {
        goto bad;
    }
    return 0;
bad:
    snprintf(err, errsz, "invalid ipv6 address: %s", a);
    return -1;
}

static int hostname(const char *a, bool *has_port, char *err, size_t errsz)
{
    size_t len = strlen(a);
    size_t name_len = len;
    *has_port = false;
    /* a trailing ":digits" is a port */
    size_t i = len;
    while (i > 0 && isdigit((unsigned char)a[i - 1])) {
        i--;
    }
    if (i < len && i > 0 && a[i - 1] == ':') {
        name_len = i - 1;
        if (len - i > 5 || atol(a + i) > 65535) {
            snprintf(err, errsz, "invalid port number");
            return -1;
        }
        *has_port = true;
    }
    if (name_len == 0) {
        goto bad;
    }
    for (size_t k = 0; k < name_len; k++) {
        unsigned char ch = (unsigned char)a[k];
        if (!(is_alnum(ch) || ch == '-' || ch == '.' || ch == '_')) {
            goto bad;
        }
    }
    /* segments: none may end in '-', only the last may be empty (an FQDN's trailing dot) */
    size_t start = 0;
    for (size_t k = 0; k <= name_len; k++) {
        if (k == name_len || a[k] == '.') {
            size_t seg = k - start;
            bool last = k == name_len;
            if ((seg == 0 && !last) || (seg > 0 && a[k - 1] == '-')) {
                goto bad;
            }
            start = k + 1;
        }
    }
    return 0;
bad:
    snprintf(err, errsz, "invalid hostname: %s", a);
    return -1;
}

int kf_normalize_ip(const char *address, char *type, bool *has_port, char *err, size_t errsz)
{
    int colons = 0;
    bool digits_dots = true;
    bool any = false;
    for (const char *p = address; *p; p++) {
        if (*p == ':') {
            colons++;
            continue;
        }
        any = true;
        if (!isdigit((unsigned char)*p) && *p != '.') {
            digits_dots = false;
        }
    }
    bool port = false;
    int rc;
    if (colons > 1) {
        *type = '6';
        rc = ipv6(address, &port, err, errsz);
    } else if (any && digits_dots) {
        *type = '4';
        rc = ipv4(address, &port, err, errsz);
    } else {
        *type = 'n';
        rc = hostname(address, &port, err, errsz);
    }
    if (has_port) {
        *has_port = port;
    }
    return rc;
}

/* ---- typedef checks ----------------------------------------------------------------------------
 */

bool kf_check_utf8_name(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    size_t bad = utf8_bad_position(s);
    if (bad) {
        snprintf(msg, msz, "invalid utf-8 character sequence detected at position %zu", bad);
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (!(is_alnum(*p) || *p == '.' || *p == '-' || *p == '_' || *p == '~' ||
              (*p >= 128 && *p <= 244))) {
            snprintf(msg, msz,
                     "invalid value '%s': the only accepted ascii characters are alphanumerics or "
                     "., -, _, and ~",
                     s);
            return false;
        }
    }
    return true;
}

bool kf_check_tag(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    size_t bad = utf8_bad_position(s);
    if (bad) {
        snprintf(msg, msz, "invalid utf-8 character sequence detected at position %zu", bad);
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned ch = *p;
        bool ok = ch == ' ' || (ch >= 33 && ch <= 43) || ch == 45 || ch == 46 ||
                  (ch >= 48 && ch <= 126) || (ch >= 128 && ch <= 244);
        if (!ok) {
            snprintf(msg, msz,
                     "invalid tag '%s': expected printable ascii (except `,` and `/`) or valid "
                     "utf-8 sequences",
                     s);
            return false;
        }
    }
    return true;
}

bool kf_check_host(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    char type, err[300];
    bool port = false;
    int rc = kf_normalize_ip(s, &type, &port, err, sizeof(err));
    if (rc != 0 && strcmp(err, "invalid port number") != 0) {
        snprintf(msg, msz, "invalid value: %s", s);
        return false;
    }
    if (rc != 0 || port) {
        snprintf(msg, msz, "must not have a port");
        return false;
    }
    return true;
}

bool kf_check_sni(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    char type, err[300];
    bool port = false;
    int rc = kf_normalize_ip(s, &type, &port, err, sizeof(err));
    if (rc != 0 && strcmp(err, "invalid port number") != 0) {
        snprintf(msg, msz, "invalid value: %s", s);
        return false;
    }
    if (rc == 0 && type != 'n') {
        snprintf(msg, msz, "must not be an IP");
        return false;
    }
    if (rc != 0 || port) {
        snprintf(msg, msz, "must not have a port");
        return false;
    }
    return true;
}

bool kf_check_wildcard_host(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    const char *star = strchr(s, '*');
    if (!star) {
        return kf_check_sni(c, s, msg, msz);
    }
    size_t len = strlen(s);
    if (star != s && star != s + len - 1) {
        snprintf(msg, msz, "wildcard must be leftmost or rightmost character");
        return false;
    }
    if (strchr(star + 1, '*')) {
        snprintf(msg, msz, "only one wildcard must be specified");
        return false;
    }
    char mock[1024];
    snprintf(mock, sizeof(mock), "%.*swildcard%s", (int)(star - s), s, star + 1);
    return kf_check_sni(c, mock, msg, msz);
}

bool kf_check_host_wildcards(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    /* match_all: at most one '*' */
    const char *star = strchr(s, '*');
    if (star && strchr(star + 1, '*')) {
        snprintf(msg, msz, "invalid wildcard: must have at most one wildcard");
        return false;
    }
    /* match_any: "^%*%.", "%.%*$", "^[^*]*$" */
    size_t len = strlen(s);
    if (star && !(strncmp(s, "*.", 2) == 0 || (len >= 2 && strcmp(s + len - 2, ".*") == 0))) {
        snprintf(msg, msz, "invalid wildcard: must be placed at leftmost or rightmost label");
        return false;
    }
    /* custom: the host with '*' replaced by "abc", port allowed */
    char mock[1024];
    if (star) {
        snprintf(mock, sizeof(mock), "%.*sabc%s", (int)(star - s), s, star + 1);
    } else {
        snprintf(mock, sizeof(mock), "%s", s);
    }
    char type;
    bool port;
    if (kf_normalize_ip(mock, &type, &port, msg, msz) != 0) {
        return false;
    }
    return true;
}

/* kong.tools.uri.normalize(path, true) for prefix paths: decode percent-encoded unreserved
 * characters, upper-case the others, remove dot segments. */
static void normalize_path(const char *in, char *out, size_t outsz)
{
    char dec[2048] = {0};
    size_t n = 0;
    for (size_t i = 0; in[i] && n + 4 < sizeof(dec); i++) {
        if (in[i] == '%' && isxdigit((unsigned char)in[i + 1]) &&
            isxdigit((unsigned char)in[i + 2])) {
            char h[3] = {in[i + 1], in[i + 2], 0};
            int v = (int)strtol(h, NULL, 16);
            if (is_alnum((unsigned char)v) || v == '-' || v == '.' || v == '_' || v == '~') {
                dec[n++] = (char)v;
            } else {
                dec[n++] = '%';
                dec[n++] = (char)toupper((unsigned char)in[i + 1]);
                dec[n++] = (char)toupper((unsigned char)in[i + 2]);
            }
            i += 2;
        } else {
            dec[n++] = in[i];
        }
    }
    dec[n] = '\0';
    /* dot segments */
    const char *segs[512];
    size_t seglen[512];
    size_t ns = 0;
    const char *p = dec;
    bool trailing = n > 0 && dec[n - 1] == '/';
    while (*p && ns < 512) {
        while (*p == '/') {
            p++;
        }
        if (!*p) {
            break;
        }
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 1 && p[0] == '.') {
            trailing = true;
        } else if (l == 2 && p[0] == '.' && p[1] == '.') {
            if (ns > 0) {
                ns--;
            }
            trailing = true;
        } else {
            segs[ns] = p;
            seglen[ns++] = l;
            trailing = e != NULL && e[1] == '\0';
        }
        p += l;
    }
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < ns && o + seglen[i] + 2 < outsz; i++) {
        out[o++] = '/';
        memcpy(out + o, segs[i], seglen[i]);
        o += seglen[i];
    }
    if ((trailing || ns == 0) && o + 2 < outsz) {
        out[o++] = '/';
    }
    out[o] = '\0';
}

/* typedefs.path's custom validator: 0 ok, 1 outside RFC 3986 (msg set), 2 bad percent (msg). */
static int validate_path_chars(const char *s, char *msg, size_t msz)
{
    static const char allowed[] = ".-_~/%:@!$&'()*+,;=";
    if (s[0] != '/') {
        goto rfc;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (!is_alnum(*p) && !strchr(allowed, *p)) {
            goto rfc;
        }
    }
    for (const char *p = s; *p; p++) {
        if (*p == '%') {
            if (isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
                p += 2;
                continue;
            }
            int take = 1 + (p[1] ? 1 : 0) + (p[1] && p[2] ? 1 : 0);
            snprintf(msg, msz, "invalid url-encoded value: '%.*s'", take, p);
            return 2;
        }
    }
    return 0;
rfc:
    snprintf(msg, msz,
             "invalid path: '%s' (characters outside of the reserved list of RFC 3986 found)", s);
    return 1;
}

bool kf_check_path(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    if (s[0] != '/') {
        snprintf(msg, msz, "should start with: /");
        return false;
    }
    if (strstr(s, "//")) {
        snprintf(msg, msz, "must not have empty segments");
        return false;
    }
    return validate_path_chars(s, msg, msz) == 0;
}

bool kf_regex_compiles(const char *re, char *msg, size_t msz)
{
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    size_t len = strlen(re);
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, len, PCRE2_ANCHORED, &errcode, &erroff, NULL);
    if (code) {
        pcre2_code_free(code);
        return true;
    }
    PCRE2_UCHAR text[256];
    if (pcre2_get_error_message(errcode, text, sizeof(text)) < 0) {
        snprintf((char *)text, sizeof(text), "error %d", errcode);
    }
    if (erroff >= len) {
        snprintf(msg, msz, "pcre2_compile() failed: %s in \"%s\"", (const char *)text, re);
    } else {
        snprintf(msg, msz, "pcre2_compile() failed: %s in \"%s\" at \"%s\"", (const char *)text, re,
                 re + erroff);
    }
    return false;
}

bool kf_check_router_path(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    if (strstr(s, "//")) {
        snprintf(msg, msz, "must not have empty segments");
        return false;
    }
    if (!(s[0] == '/' || (s[0] == '~' && s[1] == '/'))) {
        snprintf(msg, msz, "should start with: / (fixed path) or ~/ (regex path)");
        return false;
    }
    if (validate_path_chars(s, msg, msz) == 2) {
        return false;
    }
    if (s[0] != '~') {
        char norm[2048];
        normalize_path(s, norm, sizeof(norm));
        if (strcmp(norm, s) != 0) {
            snprintf(msg, msz, "non-normalized path, consider use '%s' instead", norm);
            return false;
        }
        return true;
    }
    char pcre[1536];
    if (!kf_regex_compiles(s + 1, pcre, sizeof(pcre))) {
        snprintf(msg, msz, "invalid regex: '%s' (PCRE returned: %s)", s + 1, pcre);
        return false;
    }
    return true;
}

bool kf_check_host_with_optional_port(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    char type, err[300];
    bool port = false;
    if (kf_normalize_ip(s, &type, &port, err, sizeof(err)) != 0) {
        snprintf(msg, msz, "%s", err);
        return false;
    }
    return true;
}

bool kf_check_cookie_name(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    static const char forbidden[] = " \t()<>@,;:\\\"/?={}[]";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p >= 0x7f || strchr(forbidden, *p)) {
            snprintf(msg, msz,
                     "contains one or more invalid characters. ASCII control characters "
                     "(0-31;127), space, tab and the characters ()<>@,;:\\\"/?={}[] are not "
                     "allowed.");
            return false;
        }
    }
    return true;
}

bool kf_check_header_name(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (!is_alnum(*p) && *p != '-' && *p != '_') {
            snprintf(msg, msz,
                     "bad header name '%s', allowed characters are A-Z, a-z, 0-9, '_', and '-'", s);
            return false;
        }
    }
    return true;
}

bool kf_check_route_header_name(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    if (strcasecmp(s, "host") == 0) {
        snprintf(msg, msz,
                 "cannot contain 'host' header, which must be specified in the 'hosts' attribute");
        return false;
    }
    return kf_check_header_name(c, s, msg, msz);
}

bool kf_check_http_method(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    for (const char *p = s; *p; p++) {
        if (*p < 'A' || *p > 'Z') {
            snprintf(msg, msz, "invalid value: %s", s);
            return false;
        }
    }
    return true;
}

bool kf_check_ip_or_cidr(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    char ip[128];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    unsigned char buf[16];
    bool ok = n < sizeof(ip);
    int family = 0;
    if (ok) {
        memcpy(ip, s, n);
        ip[n] = '\0';
        family = inet_pton(AF_INET, ip, buf) == 1 ? 4 : inet_pton(AF_INET6, ip, buf) == 1 ? 6 : 0;
        ok = family != 0;
    }
    if (ok && slash) {
        char *end = NULL;
        long bits = strtol(slash + 1, &end, 10);
        ok = slash[1] && end && *end == '\0' && bits >= 0 && bits <= (family == 4 ? 32 : 128);
    }
    if (!ok) {
        snprintf(msg, msz, "invalid ip or cidr range: '%s'", s);
    }
    return ok;
}

bool kf_check_upstream_name(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    /* kong/db/schema/entities/upstreams.lua:8-30 (3.9.1): the name is quoted only when it is
     * valid UTF-8 (get_name_for_error) */
    char quoted[1200];
    if (utf8_bad_position(s)) {
        snprintf(quoted, sizeof(quoted), "Invalid name");
    } else {
        snprintf(quoted, sizeof(quoted), "Invalid name ('%s')", s);
    }
    char type, err[300];
    bool port = false;
    if (kf_normalize_ip(s, &type, &port, err, sizeof(err)) != 0) {
        snprintf(msg, msz, "%s; must be a valid hostname", quoted);
        return false;
    }
    if (type != 'n') {
        snprintf(msg, msz, "%s; no ip addresses allowed", quoted);
        return false;
    }
    if (port) {
        snprintf(msg, msz, "%s; no port allowed", quoted);
        return false;
    }
    return true;
}

bool kf_check_target(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    char type, err[300];
    bool port = false;
    if (kf_normalize_ip(s, &type, &port, err, sizeof(err)) != 0) {
        if (utf8_bad_position(s)) {
            snprintf(msg, msz, "Invalid target; not a valid hostname or ip address");
        } else {
            snprintf(msg, msz, "Invalid target ('%s'); not a valid hostname or ip address", s);
        }
        return false;
    }
    return true;
}

bool kf_check_url(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    const char *colon = strchr(s, ':');
    bool scheme = colon && colon != s;
    for (const char *p = s; scheme && p < colon; p++) {
        scheme = isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.';
    }
    const char *auth = scheme ? colon + 1 : s;
    if (strncmp(auth, "//", 2) != 0 || auth[2] == '\0' || auth[2] == '/') {
        snprintf(msg, msz, "missing host in url");
        return false;
    }
    if (!scheme) {
        snprintf(msg, msz, "missing scheme in url");
        return false;
    }
    return true;
}

/* ---- certificates ------------------------------------------------------------------------------
 */

static void openssl_reason(char *buf, size_t n)
{
    unsigned long e, last = 0;
    while ((e = ERR_get_error()) != 0) {
        last = e;
    }
    if (last) {
        ERR_error_string_n(last, buf, n);
    } else {
        snprintf(buf, n, "unknown error");
    }
}

static X509 *load_cert(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    return x;
}

static EVP_PKEY *load_key(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    return k;
}

bool kf_check_certificate(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    ERR_clear_error();
    X509 *x = load_cert(s);
    if (!x) {
        char reason[256];
        openssl_reason(reason, sizeof(reason));
        snprintf(msg, msz, "invalid certificate: x509.new: %s", reason);
        return false;
    }
    X509_free(x);
    return true;
}

bool kf_check_key(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    ERR_clear_error();
    EVP_PKEY *k = load_key(s);
    if (!k) {
        char reason[256];
        openssl_reason(reason, sizeof(reason));
        snprintf(msg, msz, "invalid key: pkey.new:load_key: %s", reason);
        return false;
    }
    EVP_PKEY_free(k);
    return true;
}

int kf_cert_matches_key(const char *cert_pem, const char *key_pem)
{
    X509 *x = load_cert(cert_pem);
    EVP_PKEY *k = load_key(key_pem);
    int rc = -1;
    if (x && k) {
        EVP_PKEY *pub = X509_get0_pubkey(x);
        rc = (pub && EVP_PKEY_eq(pub, k) == 1) ? 0 : 1;
    }
    X509_free(x);
    EVP_PKEY_free(k);
    ERR_clear_error();
    return rc;
}

const char *kf_ca_cert_problem(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (!bio) {
        return "out of memory";
    }
    X509 *first = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    X509 *second = first ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    const char *problem = NULL;
    if (!first) {
        problem = NULL; /* the field check reports unparsable certificates */
    } else if (second) {
        problem = "please submit only one certificate at a time";
    } else if (X509_check_ca(first) == 0) {
        problem = "certificate does not appear to be a CA because it is missing the \"CA\" basic "
                  "constraint";
    } else if (X509_cmp_current_time(X509_get0_notAfter(first)) < 0) {
        problem = "certificate expired, \"Not After\" time is in the past";
    }
    X509_free(first);
    X509_free(second);
    return problem;
}

/* ---- the field validator -----------------------------------------------------------------------
 */

static struct kf_errv fmt_msg(struct kf_vctx *c, const char *fmt, long long a, long long b)
{
    char buf[128];
    snprintf(buf, sizeof(buf), fmt, a, b);
    return kf_msg(c, buf);
}

static struct kf_errv one_of_msg(struct kf_vctx *c, const struct kf_field *f)
{
    char buf[1024] = "expected one of: ";
    size_t n = strlen(buf);
    if (f->one_of) {
        for (size_t i = 0; f->one_of[i]; i++) {
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? ", " : "", f->one_of[i]);
            if (n >= sizeof(buf)) {
                break;
            }
        }
    } else {
        for (size_t i = 0; i < f->n_one_of_int; i++) {
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%lld", i ? ", " : "",
                                  f->one_of_int[i]);
            if (n >= sizeof(buf)) {
                break;
            }
        }
    }
    return kf_msg(c, buf);
}

/* routes.protocols mutually_exclusive_subsets */
static struct kf_errv protocol_subsets(struct kf_vctx *c, json_object *arr)
{
    static const char *const sets[][4] = {{"http", "https", NULL},
                                          {"tcp", "tls", "udp", NULL},
                                          {"tls_passthrough", NULL},
                                          {"grpc", "grpcs", NULL}};
    int order[4];
    int norder = 0;
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        const char *p = json_object_get_string(json_object_array_get_idx(arr, i));
        for (int s = 0; s < 4; s++) {
            for (int k = 0; sets[s][k]; k++) {
                if (p && strcmp(p, sets[s][k]) == 0) {
                    bool seen = false;
                    for (int j = 0; j < norder; j++) {
                        seen |= order[j] == s;
                    }
                    if (!seen) {
                        order[norder++] = s;
                    }
                }
            }
        }
    }
    if (norder <= 1) {
        return (struct kf_errv){0};
    }
    char buf[512] = "these sets are mutually exclusive: ";
    size_t len = strlen(buf);
    for (int j = 0; j < norder; j++) {
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s(", j ? ", " : "");
        for (int k = 0; sets[order[j]][k]; k++) {
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s'%s'", k ? ", " : "",
                                    sets[order[j]][k]);
        }
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, ")");
    }
    return kf_msg(c, buf);
}

static struct kf_errv validate_list(struct kf_vctx *c, const struct kf_field *f, json_object *v)
{
    bool is_set = f->type == KF_SET;
    if (json_object_is_type(v, json_type_object) && json_object_object_length(v) == 0) {
        v = NULL; /* an empty Lua table is an empty array */
    } else if (!json_object_is_type(v, json_type_array)) {
        return kf_msg(c, is_set ? "expected a set" : "expected an array");
    }
    size_t n = v ? json_object_array_length(v) : 0;
    struct kf_errt *errs = NULL;
    for (size_t i = 0; i < n && f->elements; i++) {
        json_object *el = json_object_array_get_idx(v, i);
        if (is_set && el && json_object_is_type(el, json_type_string)) {
            bool dup = false;
            for (size_t k = 0; k < i && !dup; k++) {
                json_object *prev = json_object_array_get_idx(v, k);
                dup = kf_is_string(prev) &&
                      strcmp(json_object_get_string(prev), json_object_get_string(el)) == 0;
            }
            if (dup) {
                continue;
            }
        }
        struct kf_field elf = *f->elements;
        elf.flags |= KF_REQUIRED;
        struct kf_errv e = kf_validate_value(c, &elf, el);
        if (e.str || e.tab) {
            if (!errs && !(errs = kf_errt_new())) {
                kf_errv_free(&e);
                c->oom = true;
                return (struct kf_errv){0};
            }
            if (kf_errt_put(errs, NULL, (long)i + 1, e) != 0) {
                c->oom = true;
            }
        }
    }
    if (errs) {
        return (struct kf_errv){.tab = errs};
    }
    if ((f->flags & KF_LEN_MIN1) && n == 0) {
        return kf_msg(c, "length must be at least 1");
    }
    if (f->protocols_subsets && v) {
        return protocol_subsets(c, v);
    }
    return (struct kf_errv){0};
}

static struct kf_errv validate_map(struct kf_vctx *c, const struct kf_field *f, json_object *v)
{
    if (json_object_is_type(v, json_type_array)) {
        if (json_object_array_length(v) == 0) {
            return (struct kf_errv){0};
        }
        return kf_msg(c, "expected a string"); /* integer keys fail the key check */
    }
    if (!json_object_is_type(v, json_type_object)) {
        return kf_msg(c, "expected a map");
    }
    json_object_object_foreach(v, k, val)
    {
        if (f->keys) {
            json_object *key = json_object_new_string(k);
            if (!key) {
                c->oom = true;
                return (struct kf_errv){0};
            }
            struct kf_field kf = *f->keys;
            kf.flags |= KF_REQUIRED;
            struct kf_errv e = kf_validate_value(c, &kf, key);
            json_object_put(key);
            if (e.str || e.tab) {
                return e;
            }
        }
        if (f->values) {
            struct kf_field vf = *f->values;
            vf.flags |= KF_REQUIRED;
            struct kf_errv e = kf_validate_value(c, &vf, val);
            if (e.str || e.tab) {
                return e;
            }
        }
    }
    return (struct kf_errv){0};
}

static struct kf_errv validate_string(struct kf_vctx *c, const struct kf_field *f, json_object *v)
{
    if (!json_object_is_type(v, json_type_string)) {
        return kf_msg(c, "expected a string");
    }
    const char *s = json_object_get_string(v);
    if (f->one_of) {
        bool found = false;
        for (size_t i = 0; f->one_of[i] && !found; i++) {
            found = strcmp(s, f->one_of[i]) == 0;
        }
        if (!found) {
            return one_of_msg(c, f);
        }
    }
    if ((f->flags & KF_UUID) && !kf_is_uuid(s)) {
        return kf_msg(c, "expected a valid UUID");
    }
    if (json_object_get_string_len(v) == 0) {
        return kf_msg(c, "length must be at least 1");
    }
    if (f->check) {
        char msg[2048];
        if (!f->check(c, s, msg, sizeof(msg))) {
            return kf_msg(c, msg);
        }
    }
    return (struct kf_errv){0};
}

struct kf_errv kf_validate_value(struct kf_vctx *c, const struct kf_field *f, json_object *v)
{
    if (!v) {
        if ((f->flags & KF_REQUIRED) && !(f->flags & KF_EQ_NULL) &&
            !(f->type == KF_FOREIGN && c->foreign_null)) {
            return kf_msg(c, "required field missing");
        }
        return (struct kf_errv){0};
    }
    if ((f->flags & KF_EQ_NULL) || (f->type == KF_FOREIGN && c->foreign_null)) {
        return kf_msg(c, f->eq_err ? f->eq_err : "value must be null");
    }
    long long iv = 0;
    switch (f->type) {
    case KF_STRING:
        return validate_string(c, f, v);
    case KF_INTEGER:
        if (!get_integer(v, &iv)) {
            return kf_msg(c, "expected an integer");
        }
        if (f->one_of_int) {
            bool found = false;
            for (size_t i = 0; i < f->n_one_of_int && !found; i++) {
                found = f->one_of_int[i] == iv;
            }
            if (!found) {
                return one_of_msg(c, f);
            }
        }
        if ((f->flags & KF_BETWEEN) && (iv < f->lo || iv > f->hi)) {
            return fmt_msg(c, "value should be between %lld and %lld", f->lo, f->hi);
        }
        return (struct kf_errv){0};
    case KF_NUMBER:
        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) {
            return kf_msg(c, "expected a number");
        }
        if (f->flags & KF_BETWEEN) {
            double d = json_object_get_double(v);
            if (d < (double)f->lo || d > (double)f->hi) {
                return fmt_msg(c, "value should be between %lld and %lld", f->lo, f->hi);
            }
        }
        return (struct kf_errv){0};
    case KF_BOOLEAN:
        if (!json_object_is_type(v, json_type_boolean)) {
            return kf_msg(c, "expected a boolean");
        }
        if ((f->flags & KF_NE_TRUE) && json_object_get_boolean(v)) {
            return kf_msg(c, f->eq_err ? f->eq_err : "value must not be true");
        }
        return (struct kf_errv){0};
    case KF_ARRAY:
    case KF_SET:
        return validate_list(c, f, v);
    case KF_MAP:
        return validate_map(c, f, v);
    case KF_RECORD: {
        if (json_object_is_type(v, json_type_array) && json_object_array_length(v) == 0) {
            return (struct kf_errv){0};
        }
        if (!json_object_is_type(v, json_type_object)) {
            return kf_msg(c, "expected a record");
        }
        struct kf_errt *errs = kf_errt_new();
        if (!errs) {
            c->oom = true;
            return (struct kf_errv){0};
        }
        if (f->record) {
            kf_validate_record(c, f->record, v, NULL, NULL, errs);
        }
        if (kf_errt_count(errs) == 0) {
            kf_errt_free(errs);
            return (struct kf_errv){0};
        }
        return (struct kf_errv){.tab = errs};
    }
    case KF_FOREIGN: {
        if (json_object_is_type(v, json_type_string)) {
            if (json_object_get_string_len(v) == 0) {
                return kf_msg(c, "length must be at least 1");
            }
            return (struct kf_errv){0};
        }
        if (json_object_is_type(v, json_type_object)) {
            json_object *id = NULL;
            if (!json_object_object_get_ex(v, "id", &id) || !id) {
                /* no primary key: the value is validated as the referenced entity (not a full
                 * check: no required fields), whose errors win (kong/db/schema/init.lua:963-975,
                 * 3.9.1); flattening then reports them as that entity (kong/db/errors.lua) */
                const struct kf_entity *ref = f->reference ? kf_entity(f->reference) : NULL;
                if (ref && ref->record) {
                    struct kf_errt *ferrs = kf_errt_new();
                    if (!ferrs) {
                        c->oom = true;
                        return (struct kf_errv){0};
                    }
                    json_object_object_foreach(v, fk, fval)
                    {
                        const struct kf_field *ff = kf_record_field(ref->record, fk);
                        kf_put_err(c, ferrs, fk,
                                   ff ? kf_validate_value(c, ff, fval)
                                      : kf_msg(c, "unknown field"));
                    }
                    if (kf_errt_count(ferrs) > 0) {
                        return (struct kf_errv){.tab = ferrs};
                    }
                    kf_errt_free(ferrs);
                }
                struct kf_errt *errs = kf_errt_new();
                if (!errs || kf_errt_set(errs, "id", 0, "missing primary key") != 0) {
                    kf_errt_free(errs);
                    c->oom = true;
                    return (struct kf_errv){0};
                }
                return (struct kf_errv){.tab = errs};
            }
            return (struct kf_errv){0};
        }
        return kf_msg(c, "expected a string");
    }
    case KF_ANY:
    default:
        return (struct kf_errv){0};
    }
}

const struct kf_field *kf_record_field(const struct kf_record *rec, const char *name)
{
    for (const struct kf_field *f = rec->fields; f && f->name; f++) {
        if (strcmp(f->name, name) == 0) {
            return f;
        }
    }
    return NULL;
}

void kf_validate_record(struct kf_vctx *c, const struct kf_record *rec, json_object *obj,
                        kf_extra_key extra, void *arg, struct kf_errt *errs)
{
    json_object_object_foreach(obj, key, val)
    {
        const struct kf_field *f = kf_record_field(rec, key);
        if (f) {
            kf_put_err(c, errs, key, kf_validate_value(c, f, val));
        } else if (!(extra && extra(c, arg, obj, key, val, errs))) {
            kf_put_err(c, errs, key, kf_msg(c, "unknown field"));
        }
    }
    for (const struct kf_field *f = rec->fields; f && f->name; f++) {
        bool nested_fk = f->type == KF_FOREIGN && c->foreign_null;
        if ((f->flags & KF_REQUIRED) && !(f->flags & (KF_DEFAULT | KF_EQ_NULL)) && !nested_fk &&
            !kf_has(obj, f->name, NULL)) {
            kf_put_err(c, errs, f->name, kf_msg(c, "required field missing"));
        }
    }
    if (rec->check) {
        rec->check(c, obj, errs);
    }
}

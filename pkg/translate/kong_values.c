/* The values kgc writes into Kong's configuration, checked against what Kong accepts (typedefs
 * of Kong 3.x: names, hosts, router paths, header names, targets) and escaped for the two router
 * flavours. Stricter than Kong where the Gateway API is stricter. */
#include "translate_internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_lower_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static bool is_alnum(char ch)
{
    return is_lower_alnum(ch) || (ch >= 'A' && ch <= 'Z');
}

/* One DNS-1123 label of n bytes at s. */
static bool label_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return false;
    }
    return true;
}

bool tr_dns_label(const char *s)
{
    return s && label_ok(s, strlen(s));
}

bool tr_dns_subdomain(const char *s)
{
    if (!s)
        return false;
    size_t len = strlen(s);
    if (len == 0 || len > 253)
        return false;
    const char *p = s;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!label_ok(p, n))
            return false;
        if (!dot)
            return true;
        p = dot + 1;
    }
}

bool tr_hostname(const char *s, bool wildcard_ok)
{
    if (!s)
        return false;
    if (wildcard_ok && s[0] == '*' && s[1] == '.')
        s += 2;
    if (!tr_dns_subdomain(s))
        return false;
    /* never an IPv4 address (Kong's SNI and upstream checks tell names from IPs this way) */
    bool digits_dots = true;
    for (const char *p = s; *p && digits_dots; p++)
        digits_dots = isdigit((unsigned char)*p) || *p == '.';
    return !digits_dots;
}

bool tr_header_name(const char *s)
{
    if (!s || !s[0] || strlen(s) > 256)
        return false;
    for (const char *p = s; *p; p++) {
        if (!is_alnum(*p) && *p != '-' && *p != '_')
            return false;
    }
    return true;
}

bool tr_query_name(const char *s)
{
    if (!s || !s[0] || strlen(s) > 256)
        return false;
    for (const char *p = s; *p; p++) {
        if (!is_alnum(*p) && *p != '_')
            return false;
    }
    return true;
}

bool tr_method(const char *s)
{
    if (!s || !s[0] || strlen(s) > 32)
        return false;
    for (const char *p = s; *p; p++) {
        if (*p < 'A' || *p > 'Z')
            return false;
    }
    return true;
}

/* Valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static bool utf8_valid(const unsigned char *p)
{
    while (*p) {
        unsigned char b = *p;
        size_t len = b < 0x80                   ? 1
                     : (b >= 0xc2 && b <= 0xdf) ? 2
                     : (b >= 0xe0 && b <= 0xef) ? 3
                     : (b >= 0xf0 && b <= 0xf4) ? 4
                                                : 0;
        if (len == 0)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[k] & 0xc0) != 0x80)
                return false;
        }
        if ((b == 0xe0 && p[1] < 0xa0) || (b == 0xed && p[1] > 0x9f) ||
            (b == 0xf0 && p[1] < 0x90) || (b == 0xf4 && p[1] > 0x8f))
            return false;
        p += len;
    }
    return true;
}

bool tr_text_value(const char *s)
{
    if (!s || !s[0] || strlen(s) > 4096)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
    }
    return utf8_valid((const unsigned char *)s);
}

bool tr_path_value(const char *s)
{
    return tr_text_value(s) && s[0] == '/' && !strstr(s, "//");
}

bool tr_plain_path(const char *s)
{
    static const char allowed[] = "-._~!$&'()*+,;=:@/";
    if (!tr_path_value(s))
        return false;
    for (const char *p = s; *p; p++) {
        if (!is_alnum(*p) && !strchr(allowed, *p))
            return false;
    }
    /* dot segments: "/./", "/../", or a trailing "/." or "/.." */
    for (const char *p = s; (p = strstr(p, "/.")) != NULL; p++) {
        const char *q = p + 2;
        if (*q == '.')
            q++;
        if (*q == '/' || *q == '\0')
            return false;
    }
    return true;
}

bool tr_regex_compiles(const char *re, char *why, size_t why_size)
{
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, strlen(re), 0, &errcode, &erroff, NULL);
    if (code) {
        pcre2_code_free(code);
        return true;
    }
    PCRE2_UCHAR text[160];
    if (pcre2_get_error_message(errcode, text, sizeof(text)) < 0)
        snprintf((char *)text, sizeof(text), "error %d", errcode);
    snprintf(why, why_size, "%s at offset %zu", (const char *)text, (size_t)erroff);
    return false;
}

bool tr_regex_portable(const char *re, char *why, size_t why_size)
{
    bool in_class = false;
    for (const char *p = re; *p; p++) {
        if (*p == '\\') {
            if (!p[1])
                break;
            if (strchr("123456789kgGKZQERXhHNCce", p[1])) {
                snprintf(why, why_size, "\\%c is PCRE-only (Kong's ATC router uses Rust regex)",
                         p[1]);
                return false;
            }
            p++;
            continue;
        }
        if (in_class) {
            if (*p == ']')
                in_class = false;
            continue;
        }
        if (*p == '[') {
            in_class = true;
            if (p[1] == '^')
                p++;
            if (p[1] == ']') /* a leading ']' is a literal */
                p++;
            continue;
        }
        if (*p == '(' && p[1] == '?') {
            const char *q = p + 2;
            bool bad = strchr("=!>|R0123456789+&(C#", *q) && *q;
            bad = bad || (q[0] == '<' && (q[1] == '=' || q[1] == '!'));
            bad = bad || (q[0] == 'P' && (q[1] == '>' || q[1] == '='));
            if (bad) {
                snprintf(why, why_size,
                         "the group (?%.2s is PCRE-only (Kong's ATC router uses Rust regex)", q);
                return false;
            }
        }
        if (strchr("*+?}", *p) && p[1] == '+') {
            snprintf(why, why_size,
                     "possessive quantifiers are PCRE-only (Kong's ATC router uses Rust regex)");
            return false;
        }
    }
    return true;
}

char *tr_regex_escape(struct tr_ctx *c, const char *s)
{
    static const char meta[] = "\\^$.|?*+()[]{}";
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += strchr(meta, *p) ? 2 : 1;
    char *out = malloc(n + 1);
    if (!out) {
        c->oom = true;
        return NULL;
    }
    char *o = out;
    for (const char *p = s; *p; p++) {
        if (strchr(meta, *p))
            *o++ = '\\';
        *o++ = *p;
    }
    *o = '\0';
    return out;
}

char *tr_expr_string(struct tr_ctx *c, const char *s)
{
    size_t n = 2;
    for (const char *p = s; *p; p++)
        n += (*p == '"' || *p == '\\') ? 2 : 1;
    char *out = malloc(n + 1);
    if (!out) {
        c->oom = true;
        return NULL;
    }
    char *o = out;
    *o++ = '"';
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            *o++ = '\\';
        *o++ = *p;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

bool tr_tag_value(const char *s)
{
    if (!s || !s[0] || strlen(s) > 253)
        return false;
    for (const char *p = s; *p; p++) {
        if (!is_alnum(*p) && *p != '-' && *p != '.' && *p != '_')
            return false;
    }
    return true;
}

bool tr_kong_tag(const char *s)
{
    if (!s || !s[0])
        return false;
    /* kong/db/schema/typedefs.lua:118-134 (3.9.1) validate_tag: valid UTF-8, every byte in
     * [ \033-\043\045\046\048-\126\128-\244] (Lua decimal escapes: space, printable ASCII but
     * ',' and '/', and the bytes of non-ASCII UTF-8) */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char b = *p;
        if (b < 0x20 || b == ',' || b == '/' || b == 0x7f || b > 244)
            return false;
    }
    return utf8_valid((const unsigned char *)s);
}

bool tr_target(const char *address, int32_t port, char *out, size_t out_size)
{
    if (!address || port < 1 || port > 65535)
        return false;
    unsigned char buf[16];
    char canon[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET, address, buf) == 1) {
        if (!inet_ntop(AF_INET, buf, canon, sizeof(canon)))
            return false;
        return (size_t)snprintf(out, out_size, "%s:%d", canon, port) < out_size;
    }
    if (inet_pton(AF_INET6, address, buf) == 1) {
        if (!inet_ntop(AF_INET6, buf, canon, sizeof(canon)))
            return false;
        return (size_t)snprintf(out, out_size, "[%s]:%d", canon, port) < out_size;
    }
    if (!tr_hostname(address, false))
        return false;
    return (size_t)snprintf(out, out_size, "%s:%d", address, port) < out_size;
}

bool tr_host_port(const char *s, char *out, size_t out_size)
{
    if (!s || !s[0] || strlen(s) > 300)
        return false;
    char host[301];
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || close == s + 1)
            return false;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        colon = close + 1;
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1)
            return false;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s || memchr(s, ':', (size_t)(colon - s)))
            return false;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
    }
    const char *ps = colon + 1;
    size_t pl = strlen(ps);
    if (pl < 1 || pl > 5 || strspn(ps, "0123456789") != pl)
        return false;
    return tr_target(host, (int32_t)strtol(ps, NULL, 10), out, out_size);
}

int64_t tr_duration_ms(const char *s)
{
    /* ^([0-9]{1,5}(h|m|s|ms)){1,4}$ */
    if (!s || !s[0])
        return -1;
    int64_t total = 0;
    int parts = 0;
    const char *p = s;
    while (*p) {
        int64_t v = 0;
        int digits = 0;
        while (isdigit((unsigned char)*p) && digits < 6) {
            v = v * 10 + (*p - '0');
            p++;
            digits++;
        }
        if (digits < 1 || digits > 5 || ++parts > 4)
            return -1;
        if (p[0] == 'm' && p[1] == 's') {
            total += v;
            p += 2;
        } else if (*p == 'h') {
            total += v * 3600000;
            p++;
        } else if (*p == 'm') {
            total += v * 60000;
            p++;
        } else if (*p == 's') {
            total += v * 1000;
            p++;
        } else {
            return -1;
        }
    }
    return total;
}

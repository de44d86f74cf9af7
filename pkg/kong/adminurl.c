/* kong: admin URLs without their secrets, and the header file.
 *
 * An admin URL may carry credentials (http://user:pass@host:8001). They are split off once, when
 * the URL is read: the instance is known everywhere by its display URL (scheme://host[:port]
 * [/path], no userinfo), which is what the registry, the events, the logs, /metrics, the debug
 * endpoints, the listener cache and Gateway status messages see; the userinfo only reaches the
 * client that makes the requests (libcurl CURLOPT_USERNAME/CURLOPT_PASSWORD). */
#include "kgc/kong.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Length of the scheme and "://" (7 or 8), or 0 when url starts with neither. */
static size_t scheme_len(const char *url)
{
    if (strncasecmp(url, "http://", 7) == 0)
        return 7;
    if (strncasecmp(url, "https://", 8) == 0)
        return 8;
    return 0;
}

void kgc_kong_url_display(const char *url, char *out, size_t size)
{
    if (!size)
        return;
    out[0] = '\0';
    if (!url)
        return;
    const char *sep = strstr(url, "://");
    size_t head = sep ? (size_t)(sep - url) + 3 : 0;
    if (sep && strcspn(url, "/?#@") < (size_t)(sep - url))
        head = 0; /* "://" further on is not a scheme separator */
    const char *auth = url + head;
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < auth_len; i++)
        if (auth[i] == '@')
            at = auth + i; /* the last '@' of the authority ends the userinfo */
    const char *host = at ? at + 1 : auth;
    size_t rest = strcspn(host, "?#");
    int n = snprintf(out, size, "%.*s%.*s", (int)head, url, (int)rest, host);
    if (n < 0)
        out[0] = '\0';
    /* printable only: the name goes into logs and JSON */
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < ' ' || *p == 0x7f)
            *p = '?';
}

int kgc_kong_url_split(const char *url, char out[KGC_KONG_URL_MAX], char userinfo[KGC_KONG_URL_MAX],
                       struct kgc_err *err)
{
    char shown[200];
    if (userinfo)
        userinfo[0] = '\0';
    if (!url)
        return kgc_err_set(err, KGC_EUSAGE, "kong admin URL missing");
    kgc_kong_url_display(url, shown, sizeof(shown));
    size_t skip = scheme_len(url);
    if (!skip)
        return kgc_err_set(err, KGC_EUSAGE,
                           "kong admin URL \"%s\": must start with http:// or https://", shown);
    size_t n = strlen(url);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
            return kgc_err_set(err, KGC_EUSAGE,
                               "kong admin URL \"%s\": white space or control character", shown);
    if (strpbrk(url, "?#"))
        return kgc_err_set(err, KGC_EUSAGE,
                           "kong admin URL \"%s\": a query or fragment is not allowed (kgc appends "
                           "the Admin API paths to the URL)",
                           shown);
    const char *auth = url + skip;
    size_t auth_len = strcspn(auth, "/");
    const char *at = NULL;
    for (size_t i = 0; i < auth_len; i++)
        if (auth[i] == '@')
            at = auth + i;
    const char *host = at ? at + 1 : auth;
    while (n > skip && url[n - 1] == '/')
        n--;
    size_t host_len = (size_t)(url + n - host);
    if (host_len == 0 || host[0] == '/' || host[0] == ':')
        return kgc_err_set(err, KGC_EUSAGE, "kong admin URL \"%s\": no host", shown);
    if (skip + host_len >= KGC_KONG_URL_MAX)
        return kgc_err_set(err, KGC_EUSAGE, "kong admin URL is too long (%zu bytes)",
                           skip + host_len);
    if (at && (size_t)(at - auth) >= KGC_KONG_URL_MAX)
        return kgc_err_set(err, KGC_EUSAGE, "kong admin URL \"%s\": credentials too long", shown);
    for (size_t i = 0; i < skip; i++)
        out[i] = (char)tolower((unsigned char)url[i]);
    memcpy(out + skip, host, host_len);
    out[skip + host_len] = '\0';
    if (at && userinfo) {
        memcpy(userinfo, auth, (size_t)(at - auth));
        userinfo[at - auth] = '\0';
    }
    return 0;
}

int kgc_kong_url_normalize(const char *url, char out[KGC_KONG_URL_MAX], struct kgc_err *err)
{
    return kgc_kong_url_split(url, out, NULL, err);
}

bool kgc_kong_url_has_userinfo(const char *url)
{
    char out[KGC_KONG_URL_MAX], ui[KGC_KONG_URL_MAX];
    struct kgc_err err = {0};
    bool has = kgc_kong_url_split(url, out, ui, &err) == 0 && ui[0];
    explicit_bzero(ui, sizeof(ui));
    return has;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = (char)tolower((unsigned char)ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decodes n bytes of s into out (size at least n + 1). */
static void pct_decode(const char *s, size_t n, char *out)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int hi = s[i] == '%' && i + 2 < n ? hexval(s[i + 1]) : -1;
        int lo = hi >= 0 ? hexval(s[i + 2]) : -1;
        if (lo >= 0) {
            out[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
}

void kgc_kong_userinfo_decode(const char *userinfo, char user[KGC_KONG_URL_MAX],
                              char password[KGC_KONG_URL_MAX])
{
    const char *colon = strchr(userinfo, ':');
    size_t ul = colon ? (size_t)(colon - userinfo) : strlen(userinfo);
    pct_decode(userinfo, ul, user);
    if (colon)
        pct_decode(colon + 1, strlen(colon + 1), password);
    else
        password[0] = '\0';
}

/* ---- --kong-admin-header-file ------------------------------------------------------------- */

static bool token_char(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

#define HEADER_FILE_MAX (64u << 10)

int kgc_kong_read_header_file(const char *path, char ***lines, size_t *n, struct kgc_err *err)
{
    *lines = NULL;
    *n = 0;
    FILE *f = fopen(path, "re");
    if (!f)
        return kgc_err_set(err, KGC_EUSAGE, "--kong-admin-header-file %s: %s", path,
                           strerror(errno));
    char *buf = malloc(HEADER_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    }
    size_t len = fread(buf, 1, HEADER_FILE_MAX + 1, f);
    bool rerr = ferror(f) != 0;
    fclose(f);
    int rc = 0;
    if (rerr)
        rc = kgc_err_set(err, KGC_EUSAGE, "--kong-admin-header-file %s: read error", path);
    else if (len > HEADER_FILE_MAX)
        rc = kgc_err_set(err, KGC_EUSAGE, "--kong-admin-header-file %s: larger than %u bytes", path,
                         HEADER_FILE_MAX);
    buf[len > HEADER_FILE_MAX ? HEADER_FILE_MAX : len] = '\0';
    if (!rc && memchr(buf, '\0', len))
        rc = kgc_err_set(err, KGC_EUSAGE, "--kong-admin-header-file %s: NUL byte", path);
    char **out = NULL;
    size_t cnt = 0, lineno = 0;
    for (char *p = buf, *next; !rc && p && *p; p = next) {
        lineno++;
        char *eol = strchr(p, '\n');
        next = eol ? eol + 1 : NULL;
        if (eol)
            *eol = '\0';
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r')
            p[--l] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        /* Messages name the file and line, never the value (it is usually a token). */
        char *colon = strchr(p, ':');
        if (!colon || colon == p) {
            rc = kgc_err_set(err, KGC_EUSAGE,
                             "--kong-admin-header-file %s line %zu: expected \"Name: value\"", path,
                             lineno);
            break;
        }
        for (char *q = p; q < colon; q++)
            if (!token_char(*q)) {
                rc = kgc_err_set(err, KGC_EUSAGE,
                                 "--kong-admin-header-file %s line %zu: bad character in the "
                                 "header name",
                                 path, lineno);
                break;
            }
        if (rc)
            break;
        for (char *q = colon + 1; *q; q++)
            if ((unsigned char)*q < ' ' && *q != '\t') {
                rc = kgc_err_set(err, KGC_EUSAGE,
                                 "--kong-admin-header-file %s line %zu: control character in "
                                 "the value of header %.*s",
                                 path, lineno, (int)(colon - p), p);
                break;
            }
        if (rc)
            break;
        char **grown = realloc(out, (cnt + 1) * sizeof(*out));
        if (!grown || !(grown[cnt] = strdup(p))) {
            out = grown ? grown : out;
            rc = kgc_err_set(err, KGC_ENOMEM, "out of memory");
            break;
        }
        out = grown;
        cnt++;
    }
    explicit_bzero(buf, HEADER_FILE_MAX + 1);
    free(buf);
    if (rc) {
        kgc_kong_header_lines_free(out, cnt);
        return rc;
    }
    *lines = out;
    *n = cnt;
    return 0;
}

void kgc_kong_header_lines_free(char **lines, size_t n)
{
    if (!lines)
        return;
    for (size_t i = 0; i < n; i++) {
        explicit_bzero(lines[i], strlen(lines[i]));
        free(lines[i]);
    }
    free(lines);
}

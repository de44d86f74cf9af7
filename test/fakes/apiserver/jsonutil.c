#include "jsonutil.h"

#include "kgc/err.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void fas_buf_init(struct fas_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void fas_buf_free(struct fas_buf *b)
{
    free(b->data);
    fas_buf_init(b);
}

/* Room for extra more bytes: by doubling (appends), or exactly (a length known ahead). */
static int buf_reserve(struct fas_buf *b, size_t extra, bool exact)
{
    if (b->oom)
        return KGC_ENOMEM;
    if (extra > FAS_BUF_MAX_SIZE - b->len - 1) {
        b->oom = true;
        return KGC_ENOMEM;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = exact ? need : b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return KGC_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int fas_buf_reserve(struct fas_buf *b, size_t extra)
{
    return buf_reserve(b, extra, true);
}

int fas_buf_append(struct fas_buf *b, const void *s, size_t n)
{
    int rc = buf_reserve(b, n, false);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int fas_buf_puts(struct fas_buf *b, const char *s)
{
    return fas_buf_append(b, s, strlen(s));
}

int fas_buf_printf(struct fas_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return KGC_EINVAL;
    int rc = buf_reserve(b, (size_t)n, false);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int fas_buf_json_string(struct fas_buf *b, const char *s)
{
    json_object *o = json_object_new_string(s ? s : "");
    if (!o) {
        b->oom = true;
        return KGC_ENOMEM;
    }
    size_t n = 0;
    const char *t = fas_json_text(o, &n);
    int rc = fas_buf_append(b, t, n);
    json_object_put(o);
    return rc;
}

char *fas_buf_take(struct fas_buf *b, size_t *len)
{
    if (b->oom) {
        fas_buf_free(b);
        return NULL;
    }
    if (!b->data && buf_reserve(b, 0, false))
        return NULL;
    char *p = b->data;
    if (len)
        *len = b->len;
    fas_buf_init(b);
    return p;
}

/* One tokener per thread, reset between documents: a new one callocs its FAS_JSON_DEPTH-deep
 * stack (16 KiB), and glibc consolidates its fast bins for every allocation that large — a
 * measurable share of the server's CPU when it parses three documents per status PATCH
 * (docs/benchmarks.md, issue #19). */
static pthread_key_t tok_key;
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;

static void tok_free(void *p)
{
    json_tokener_free(p);
}

static void tok_key_init(void)
{
    if (pthread_key_create(&tok_key, tok_free) != 0)
        abort();
}

static json_tokener *thread_tokener(void)
{
    pthread_once(&tok_once, tok_key_init);
    json_tokener *tok = pthread_getspecific(tok_key);
    if (tok) {
        json_tokener_reset(tok);
        return tok;
    }
    tok = json_tokener_new_ex(FAS_JSON_DEPTH);
    if (tok && pthread_setspecific(tok_key, tok) != 0) {
        json_tokener_free(tok);
        tok = NULL;
    }
    return tok;
}

json_object *fas_json_parse(const char *s, size_t len, char *err, size_t errsz)
{
    if (errsz)
        err[0] = '\0';
    if (len > (size_t)INT32_MAX) {
        snprintf(err, errsz, "body too large");
        return NULL;
    }
    json_tokener *tok = thread_tokener();
    if (!tok) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    json_object *o = json_tokener_parse_ex(tok, s, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    if (!o && jerr == json_tokener_continue)
        snprintf(err, errsz, "unexpected end of JSON input");
    else if (!o || jerr != json_tokener_success)
        snprintf(err, errsz, "%s", json_tokener_error_desc(jerr));
    else {
        /* Only whitespace may follow the value. */
        size_t off = json_tokener_get_parse_end(tok);
        for (; off < len; off++) {
            char c = s[off];
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t' && c != '\0') {
                snprintf(err, errsz, "invalid character after top-level value");
                json_object_put(o);
                o = NULL;
                break;
            }
        }
    }
    if (!o && jerr == json_tokener_success && errsz && err[0] == '\0')
        snprintf(err, errsz, "null is not an object");
    json_tokener_reset(tok); /* drops a partial document's objects now */
    return o;
}

const char *fas_json_text(json_object *o, size_t *len)
{
    size_t n = 0;
    const char *t = json_object_to_json_string_length(o, FAS_JSON_FLAGS, &n);
    if (len)
        *len = n;
    return t;
}

char *fas_json_text_dup(json_object *o, size_t *len)
{
    size_t n = 0;
    const char *t = fas_json_text(o, &n);
    if (!t)
        return NULL;
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, t, n + 1);
    if (len)
        *len = n;
    return p;
}

json_object *fas_json_get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object))
        return NULL;
    if (!json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

const char *fas_json_str(json_object *o, const char *key)
{
    json_object *v = fas_json_get(o, key);
    if (!v || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

json_object *fas_json_obj_member(json_object *o, const char *key)
{
    json_object *v = fas_json_get(o, key);
    if (v && json_object_is_type(v, json_type_object))
        return v;
    v = json_object_new_object();
    if (!v)
        return NULL;
    if (json_object_object_add(o, key, v)) {
        json_object_put(v);
        return NULL;
    }
    return v;
}

int fas_json_set_str(json_object *o, const char *key, const char *value)
{
    json_object *v = json_object_new_string(value);
    if (!v)
        return KGC_ENOMEM;
    if (json_object_object_add(o, key, v)) {
        json_object_put(v);
        return KGC_ENOMEM;
    }
    return 0;
}

int fas_json_set_int(json_object *o, const char *key, int64_t value)
{
    json_object *v = json_object_new_int64(value);
    if (!v)
        return KGC_ENOMEM;
    if (json_object_object_add(o, key, v)) {
        json_object_put(v);
        return KGC_ENOMEM;
    }
    return 0;
}

json_object *fas_json_copy(json_object *o)
{
    json_object *dst = NULL;
    if (!o)
        return NULL;
    if (json_object_deep_copy(o, &dst, NULL) != 0) {
        json_object_put(dst);
        return NULL;
    }
    return dst;
}

bool fas_json_equal(json_object *a, json_object *b)
{
    return json_object_equal(a, b) != 0;
}

void fas_uuid(char *buf, size_t size)
{
    unsigned char r[16];
    size_t got = 0;
    while (got < sizeof(r)) {
        ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
        if (n <= 0) {
            for (; got < sizeof(r); got++)
                r[got] = (unsigned char)rand();
            break;
        }
        got += (size_t)n;
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(buf, size, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
             r[14], r[15]);
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *fas_base64_encode(const unsigned char *s, size_t n)
{
    if (n > (SIZE_MAX / 4) * 3 - 3)
        return NULL;
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        out[o++] = b64chars[(v >> 18) & 63];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

unsigned char *fas_base64_decode(const char *s, size_t *out_len)
{
    size_t n = strlen(s);
    unsigned char *out = malloc(n / 4 * 3 + 4);
    if (!out)
        return NULL;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=')
            break;
        int v = b64val(s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return out;
}

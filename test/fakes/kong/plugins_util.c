/* plugins_util — the helpers of plugins_internal.h: buffers, OpenResty argument decoding and
 * encoding, Kong's URI escape/normalize, config readers, kong.response.exit. Reentrant, no
 * global mutable state. */
#include "plugins_internal.h"

#include <kgc/err.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *kp_lower_dup(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; p && *p; p++) {
        *p = (char)tolower((unsigned char)*p);
    }
    return d;
}

/* ---- argument lists -------------------------------------------------------------------------- */

/* empties g's values, keeping the key */
static void arg_drop_values(struct kp_arg *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->v[i].s);
    }
    g->n = 0;
}

static void arg_clear(struct kp_arg *g)
{
    free(g->name);
    arg_drop_values(g);
    free(g->v);
    memset(g, 0, sizeof(*g));
}

void kp_args_free(struct kp_args *a)
{
    for (size_t i = 0; i < a->n; i++) {
        arg_clear(&a->a[i]);
    }
    free(a->a);
    memset(a, 0, sizeof(*a));
}

struct kp_arg *kp_args_get(const struct kp_args *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->a[i].name, name) == 0) {
            return &a->a[i];
        }
    }
    return NULL;
}

void kp_args_del(struct kp_args *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->a[i].name, name) == 0) {
            arg_clear(&a->a[i]);
            memmove(&a->a[i], &a->a[i + 1], (a->n - i - 1) * sizeof(*a->a));
            a->n--;
            return;
        }
    }
}

static struct kp_arg *args_new_key(struct kp_args *a, const char *name)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        struct kp_arg *p = realloc(a->a, cap * sizeof(*p));
        if (!p) {
            return NULL;
        }
        a->a = p;
        a->cap = cap;
    }
    struct kp_arg *g = &a->a[a->n];
    memset(g, 0, sizeof(*g));
    g->name = strdup(name);
    if (!g->name) {
        return NULL;
    }
    a->n++;
    return g;
}

static int arg_push(struct kp_arg *g, const char *value, bool is_true)
{
    struct kp_aval *v = realloc(g->v, (g->n + 1) * sizeof(*v));
    if (!v) {
        return KGC_ENOMEM;
    }
    g->v = v;
    v[g->n].s = NULL;
    if (!is_true) {
        v[g->n].s = strdup(value ? value : "");
        if (!v[g->n].s) {
            return KGC_ENOMEM;
        }
    }
    g->n++;
    return 0;
}

int kp_args_set_str(struct kp_args *a, const char *name, const char *value)
{
    struct kp_arg *g = kp_args_get(a, name);
    if (g) {
        arg_drop_values(g);
    } else if (!(g = args_new_key(a, name))) {
        return KGC_ENOMEM;
    }
    g->is_table = false;
    return arg_push(g, value, false);
}

int kp_args_append(struct kp_args *a, const char *name, const char *value)
{
    struct kp_arg *g = kp_args_get(a, name);
    if (g && !g->is_table && g->n == 1 && g->v[0].s) {
        /* string -> { current, value } (request-transformer/access.lua:137-148) */
        g->is_table = true;
    } else if (g && g->is_table) {
        /* table.insert */
    } else {
        /* nil or boolean -> { value } */
        if (g) {
            arg_drop_values(g);
        } else if (!(g = args_new_key(a, name))) {
            return KGC_ENOMEM;
        }
        g->is_table = true;
    }
    if (!value) {
        return 0; /* inserting nil into a Lua table adds nothing */
    }
    return arg_push(g, value, false);
}

bool kp_args_rename(struct kp_args *a, const char *old_name, const char *new_name)
{
    if (strcmp(old_name, new_name) == 0) {
        return false;
    }
    struct kp_arg *g = kp_args_get(a, old_name);
    if (!g) {
        return false;
    }
    char *nn = strdup(new_name);
    if (!nn) {
        return false;
    }
    kp_args_del(a, new_name);
    g = kp_args_get(a, old_name); /* the array may have moved */
    free(g->name);
    g->name = nn;
    return true;
}

int kp_args_copy(const struct kp_args *src, struct kp_args *dst)
{
    memset(dst, 0, sizeof(*dst));
    for (size_t i = 0; i < src->n; i++) {
        struct kp_arg *g = args_new_key(dst, src->a[i].name);
        if (!g) {
            kp_args_free(dst);
            return KGC_ENOMEM;
        }
        g->is_table = src->a[i].is_table;
        for (size_t j = 0; j < src->a[i].n; j++) {
            if (arg_push(g, src->a[i].v[j].s, src->a[i].v[j].s == NULL) != 0) {
                kp_args_free(dst);
                return KGC_ENOMEM;
            }
        }
    }
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* ngx_http_lua_unescape_uri with NGX_UNESCAPE_URI_COMPONENT: %XX decoded, '+' is a space
 * (lua-nginx-module src/ngx_http_lua_util.c, '+' case); a bad escape stays as it is. */
static char *unescape_component(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) {
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
            hexval((unsigned char)s[i + 2]) >= 0) {
            d[o++] = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        } else if (s[i] == '+') {
            d[o++] = ' ';
        } else {
            d[o++] = s[i];
        }
    }
    d[o] = '\0';
    return d;
}

static int args_put(struct kp_args *out, const char *k, size_t kn, const char *v, size_t vn,
                    bool has_value)
{
    char *key = unescape_component(k, kn);
    if (!key) {
        return KGC_ENOMEM;
    }
    if (!*key) {
        free(key); /* "ignore empty string key pairs" (ngx_http_lua_args.c) */
        return 0;
    }
    char *val = NULL;
    if (has_value && !(val = unescape_component(v, vn))) {
        free(key);
        return KGC_ENOMEM;
    }
    struct kp_arg *g = kp_args_get(out, key);
    int rc = 0;
    if (!g) {
        g = args_new_key(out, key);
        rc = g ? arg_push(g, val, !has_value) : KGC_ENOMEM;
    } else {
        g->is_table = true; /* a repeated key becomes a table (set_multi_value_table) */
        rc = arg_push(g, val, !has_value);
    }
    free(key);
    free(val);
    return rc;
}

int kp_args_parse(const char *s, size_t len, int max, struct kp_args *out)
{
    memset(out, 0, sizeof(*out));
    if (!s) {
        return 0;
    }
    size_t i = 0;
    int count = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && s[j] != '&') {
            j++;
        }
        if (j > i) {
            const char *eq = memchr(s + i, '=', j - i);
            int rc = eq ? args_put(out, s + i, (size_t)(eq - (s + i)), eq + 1,
                                   (size_t)(s + j - eq - 1), true)
                        : args_put(out, s + i, j - i, NULL, 0, false);
            if (rc != 0) {
                kp_args_free(out);
                return rc;
            }
        }
        /* the limit counts every '&'-terminated piece, empty ones too (ngx_http_lua_args.c) */
        if (j < len && max > 0 && ++count == max) {
            break;
        }
        i = j + 1;
    }
    return 0;
}

/* lua-nginx-module uri_component table (src/ngx_http_lua_util.c:2074-2090): escaped are the
 * controls, space, " # $ % & + , / : ; < = > ? @ [ \ ] ^ ` { | } DEL and all bytes >= 0x80. */
static bool component_keep(unsigned char c)
{
    if (isalnum(c)) {
        return true;
    }
    return c == '!' || c == '\'' || c == '(' || c == ')' || c == '*' || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

void kp_escape_component(struct kf_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80 && component_keep(c)) {
            kf_buf_ch(b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            kf_buf_putn(b, e, 3);
        }
    }
}

void kp_args_encode_one(struct kf_buf *b, const struct kp_arg *g)
{
    bool first = true;
    for (size_t i = 0; i < g->n; i++) {
        if (!first) {
            kf_buf_ch(b, '&');
        }
        first = false;
        kp_escape_component(b, g->name, strlen(g->name));
        if (g->v[i].s) {
            kf_buf_ch(b, '=');
            kp_escape_component(b, g->v[i].s, strlen(g->v[i].s));
        }
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *kp_args_encode_ordered(const struct kp_args *a)
{
    char **pieces = calloc(a->n ? a->n : 1, sizeof(*pieces));
    if (!pieces) {
        return NULL;
    }
    bool oom = false;
    for (size_t i = 0; i < a->n; i++) {
        struct kf_buf b = {0};
        kp_args_encode_one(&b, &a->a[i]);
        pieces[i] = kf_buf_take(&b);
        oom |= pieces[i] == NULL;
    }
    struct kf_buf out = {0};
    if (!oom) {
        qsort(pieces, a->n, sizeof(*pieces), cmp_str);
        for (size_t i = 0; i < a->n; i++) {
            if (i) {
                kf_buf_ch(&out, '&');
            }
            kf_buf_puts(&out, pieces[i]);
        }
    }
    for (size_t i = 0; i < a->n; i++) {
        free(pieces[i]);
    }
    free(pieces);
    if (oom) {
        return NULL;
    }
    return kf_buf_take(&out);
}

char *kp_args_encode(const struct kp_args *a)
{
    struct kf_buf out = {0};
    bool first = true;
    for (size_t i = 0; i < a->n; i++) {
        if (a->a[i].n == 0) {
            continue;
        }
        if (!first) {
            kf_buf_ch(&out, '&');
        }
        first = false;
        kp_args_encode_one(&out, &a->a[i]);
    }
    return kf_buf_take(&out);
}

/* ---- config readers -------------------------------------------------------------------------- */

json_object *kp_cfg_arr(json_object *config, const char *section, const char *field)
{
    json_object *s = NULL, *f = NULL;
    if (!config || !json_object_is_type(config, json_type_object) ||
        !json_object_object_get_ex(config, section, &s) ||
        !json_object_is_type(s, json_type_object) || !json_object_object_get_ex(s, field, &f) ||
        !json_object_is_type(f, json_type_array)) {
        return NULL;
    }
    return f;
}

size_t kp_arr_len(json_object *arr)
{
    return arr ? json_object_array_length(arr) : 0;
}

const char *kp_arr_str(json_object *arr, size_t i)
{
    json_object *e = arr ? json_object_array_get_idx(arr, i) : NULL;
    return e && json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
}

bool kp_split_pair(const char *entry, const char **name, size_t *name_len, const char **value,
                   size_t *value_len)
{
    const char *c = strchr(entry, ':');
    size_t nl = c ? (size_t)(c - entry) : strlen(entry);
    if (nl == 0) {
        return false;
    }
    *name = entry;
    *name_len = nl;
    const char *v = entry + nl;
    while (*v == ':') {
        v++;
    }
    *value = v;
    *value_len = strlen(v);
    return true;
}

static json_object *cfg_get(json_object *config, const char *field)
{
    json_object *v = NULL;
    if (!config || !json_object_is_type(config, json_type_object) ||
        !json_object_object_get_ex(config, field, &v)) {
        return NULL;
    }
    return v;
}

const char *kp_cfg_str(json_object *config, const char *field)
{
    json_object *v = cfg_get(config, field);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

long kp_cfg_int(json_object *config, const char *field, long def)
{
    json_object *v = cfg_get(config, field);
    if (v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))) {
        return (long)json_object_get_int64(v);
    }
    return def;
}

bool kp_cfg_bool(json_object *config, const char *field, bool def)
{
    json_object *v = cfg_get(config, field);
    if (v && json_object_is_type(v, json_type_boolean)) {
        return json_object_get_boolean(v);
    }
    return def;
}

/* ---- JSON bodies ------------------------------------------------------------------------------
 */

json_object *kp_json_parse_whole(const char *s, size_t n, bool *nomem)
{
    *nomem = false;
    if (!s || n == 0 || n > INT_MAX) {
        return NULL;
    }
    struct json_tokener *tok = json_tokener_new();
    if (!tok) {
        *nomem = true;
        return NULL;
    }
    json_object *v = json_tokener_parse_ex(tok, s, (int)n);
    if (json_tokener_get_error(tok) != json_tokener_success || tok->char_offset < (int)n) {
        json_object_put(v);
        v = NULL;
    }
    json_tokener_free(tok);
    return v;
}

/* ---- kong.response.exit ---------------------------------------------------------------------- */

int kp_exit(struct kf_presp *resp, int status, json_object *json, const char *text,
            const char *content_type)
{
    kf_hdrs_free(&resp->headers);
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    resp->status = status;
    resp->short_circuit = true;
    if (content_type && kf_hdrs_set(&resp->headers, "Content-Type", content_type) != 0) {
        return KGC_ENOMEM;
    }
    if (json) {
        /* cjson: '/' escaped as "\/", like json-c's default (kong/pdk/response.lua:730) */
        const char *s = json_object_to_json_string_ext(json, JSON_C_TO_STRING_PLAIN);
        if (!s || !(resp->body = strdup(s))) {
            return KGC_ENOMEM;
        }
        resp->body_len = strlen(s);
        if (!content_type &&
            kf_hdrs_set(&resp->headers, "Content-Type", "application/json; charset=utf-8") != 0) {
            return KGC_ENOMEM; /* response.lua:81,742-744 */
        }
    } else if (text) {
        if (!(resp->body = strdup(text))) {
            return KGC_ENOMEM;
        }
        resp->body_len = strlen(text);
    }
    return 0;
}

int kp_exit_unexpected(struct kf_presp *resp)
{
    json_object *o = json_object_new_object();
    if (!o) {
        return KGC_ENOMEM;
    }
    json_object_object_add(o, "message", json_object_new_string("An unexpected error occurred"));
    int rc = kp_exit(resp, 500, o, NULL, NULL);
    json_object_put(o);
    return rc;
}

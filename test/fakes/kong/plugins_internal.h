/* plugins_internal — helpers shared by plugins.c, plugins_rt.c (request-transformer) and
 * plugins_util.c: a growable byte buffer, Kong's/OpenResty's URI escaping and argument decoding,
 * Lua-table-like argument lists, and plugin config readers that apply the schema defaults.
 *
 * Internal to test/fakes/kong/. No global mutable state; every function is reentrant. Functions
 * returning int give 0 or KGC_ENOMEM unless stated otherwise. */
#ifndef KGC_TEST_KONG_PLUGINS_INTERNAL_H
#define KGC_TEST_KONG_PLUGINS_INTERNAL_H

#include "proxy.h"

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "kbuf.h" /* struct kf_buf, the byte buffer the plugins build strings in */

/* ---- Lua-table-like argument list (ngx.decode_args / get_uri_args results) ------------------- */
/* One value of an argument: a string, or Lua `true` (a bare `?flag`). */
struct kp_aval {
    char *s; /* NULL = the boolean true */
};
/* One key: a scalar (is_table false, exactly one value) or a Lua array (is_table true, n >= 0). */
struct kp_arg {
    char *name;
    struct kp_aval *v;
    size_t n;
    bool is_table;
};
struct kp_args {
    struct kp_arg *a;
    size_t n, cap;
};
void kp_args_free(struct kp_args *a);
struct kp_arg *kp_args_get(const struct kp_args *a, const char *name);
void kp_args_del(struct kp_args *a, const char *name);
/* Sets name to the scalar string value (replacing whatever was there). */
int kp_args_set_str(struct kp_args *a, const char *name, const char *value);
/* Lua append_value(): string -> {old, v}; table -> insert; anything else (absent, true) -> {v}.
 * value NULL means Lua nil (inserting nil is a no-op). */
int kp_args_append(struct kp_args *a, const char *name, const char *value);
/* Renames old to new as the plugins' rename() does (new overwritten; false when old absent). */
bool kp_args_rename(struct kp_args *a, const char *old_name, const char *new_name);
int kp_args_copy(const struct kp_args *src, struct kp_args *dst);

/* OpenResty's ngx_http_lua_parse_args (ngx.decode_args, get_uri_args): '&'-separated, first '='
 * splits, '+' and %XX decoded, empty keys dropped, a key without '=' is true, repeats become a
 * table, at most max pairs (0 = no limit). */
int kp_args_parse(const char *s, size_t len, int max, struct kp_args *out);

/* ngx.encode_args over one key (what Kong's make_ordered_args does per key) appended to b. */
void kp_args_encode_one(struct kf_buf *b, const struct kp_arg *arg);
/* kong.service.request.set_query: each key encoded alone, the pieces sorted bytewise, joined
 * with '&' (kong/pdk/service/request.lua:44-64). Caller frees. NULL on allocation failure. */
char *kp_args_encode_ordered(const struct kp_args *a);
/* ngx.encode_args over the whole table, keys in the list's order (Lua's pairs order is not
 * defined; see plugins.md). */
char *kp_args_encode(const struct kp_args *a);

/* ngx.escape_uri component escaping (lua-nginx-module uri_component table) appended to b. */
void kp_escape_component(struct kf_buf *b, const char *s, size_t n);
/* kong.tools.uri.escape and normalize(uri, true) are router.h's kf_uri_escape and
 * kf_uri_normalize (one copy, router.c). */

/* ---- config readers (schema defaults applied: arrays default to {}) -------------------------- */
/* config.<section>.<field> when it is an array, else NULL (the schema default {}). */
json_object *kp_cfg_arr(json_object *config, const char *section, const char *field);
size_t kp_arr_len(json_object *arr);
/* i-th element as a string, or NULL when it is not one. */
const char *kp_arr_str(json_object *arr, size_t i);
/* Splits a "name:value" entry as Lua's match("^([^:]+):*(.-)$") does: the name is everything up
 * to the first ':', the value what follows every ':' right after it. false when no match (empty
 * name). *value_len 0 means the plugin's "no value" (nil). Pointers into entry. */
bool kp_split_pair(const char *entry, const char **name, size_t *name_len, const char **value,
                   size_t *value_len);
/* config.<field> as a string / int / bool, with the given default. */
const char *kp_cfg_str(json_object *config, const char *field);
long kp_cfg_int(json_object *config, const char *field, long def);
bool kp_cfg_bool(json_object *config, const char *field, bool def);

/* A request body as cjson.decode takes it: the n bytes of s (not NUL-terminated) must be one
 * whole JSON text. New reference, or NULL when it is not (or n is 0); *nomem tells allocation
 * failure apart. */
json_object *kp_json_parse_whole(const char *s, size_t n, bool *nomem);

/* Lower-cases into a new string (ASCII). */
char *kp_lower_dup(const char *s);

/* ---- response helpers ------------------------------------------------------------------------ */
/* kong.response.exit(status, body[, headers]) in the access phase (kong/pdk/response.lua:654-803):
 * json is a table body (encoded with cjson rules, Content-Type application/json; charset=utf-8
 * unless content_type is given), or text is a string body, or both NULL for none. Replaces resp.
 * Returns 0 or KGC_ENOMEM. */
int kp_exit(struct kf_presp *resp, int status, json_object *json, const char *text,
            const char *content_type);
/* The 500 Kong sends when a plugin's handler throws (kong/init.lua:397-407). */
int kp_exit_unexpected(struct kf_presp *resp);

/* ---- request-transformer (plugins_rt.c) ------------------------------------------------------ */
/* Runs request-transformer's access handler over up. Returns 0 (done), KGC_EINVAL when the
 * handler throws in Kong (template error, invalid path: the caller answers 500), KGC_ENOMEM. */
int kp_request_transformer(json_object *config, const struct kf_client_req *client,
                           const struct kf_match *m, struct kf_preq *up);

/* Template rendering as request-transformer does it (pl.template, escape "\xff"): exposed for
 * tests. env: the request view. Returns 0 and *out (caller frees), KGC_EINVAL on a Lua runtime
 * error or an expression the fake cannot evaluate, KGC_ENOMEM. */
struct kp_tmpl_env;
int kp_template_render(struct kp_tmpl_env *env, const char *tmpl, char **out);
/* The same with the environment of a request (the env tables load from up as Kong's do). */
int kp_template_render_req(const struct kf_client_req *client, const struct kf_match *m,
                           struct kf_preq *up, const char *tmpl, char **out);

/* ---- multipart/form-data as lua-multipart 0.5.9 (plugins_mp.c) ----------------------------- */
struct kp_mp;
/* MultipartData.new(body, content_type); NULL on allocation failure. */
struct kp_mp *kp_mp_new(const char *body, size_t len, const char *content_type);
void kp_mp_free(struct kp_mp *m);
bool kp_mp_has(const struct kp_mp *m, const char *name);          /* get(name) is truthy */
const char *kp_mp_value(const struct kp_mp *m, const char *name); /* get(name).value */
int kp_mp_set_simple(struct kp_mp *m, const char *name, const char *value); /* NULL = nil */
void kp_mp_delete(struct kp_mp *m, const char *name);
char *kp_mp_tostring(const struct kp_mp *m); /* caller frees; NULL on allocation failure */

/* ---- response-transformer pieces (plugins.c), exposed for tests ------------------------------ */
/* header_transformer.lua is_json_body(). */
bool kp_is_json_body(const char *content_type);

#endif

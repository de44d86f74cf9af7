/* kong_fake — the test Kong Admin API (DB-less): declarative-config validation with Kong 3.x's
 * error texts and shapes, the configuration hash, and the HTTP server around them.
 *
 * Internal to test/fakes/kong/ (built into build/libfake-kong.a, linked by unit tests). Prefixes:
 * kf_errt_* (Kong's error tables), kf_validate* (the declarative schema), kf_text_* (parsing and
 * hashing), kf_server_* (the HTTP server). See README.md beside this file for the behaviour. */
#ifndef KGC_TEST_KONG_FAKE_H
#define KGC_TEST_KONG_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* ---------------------------------------------------------------------------------------------
 * Error tables: Kong builds its validation errors as Lua tables whose keys are field names or
 * 1-based array indexes and whose values are messages or nested tables. These functions keep that
 * shape so the JSON (cjson rules) and the message text (Penlight's pretty.write) come out as
 * Kong's.
 * ------------------------------------------------------------------------------------------- */

struct kf_errt;

/* A value in an error table: nothing, a message, or a nested table. The holder owns it. */
struct kf_errv {
    char *str;           /* a message (owned), or NULL */
    struct kf_errt *tab; /* a nested table (owned), or NULL */
};

/* A new empty table, or NULL on allocation failure. Free with kf_errt_free(). */
struct kf_errt *kf_errt_new(void);
void kf_errt_free(struct kf_errt *t);
void kf_errv_free(struct kf_errv *v);

/* Number of entries (string and integer keys). */
size_t kf_errt_count(const struct kf_errt *t);

/* Stores a value under a string key (ikey ignored) or, when skey is NULL, under integer key ikey
 * (>= 1). Replaces any previous value. Takes ownership of v (also on failure). 0 or KGC_ENOMEM. */
int kf_errt_put(struct kf_errt *t, const char *skey, long ikey, struct kf_errv v);

/* Stores a copy of msg (printf-formatted) under the key. 0 or KGC_ENOMEM. */
int kf_errt_set(struct kf_errt *t, const char *skey, long ikey, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The nested table under the key, created when absent (a message there is replaced), or NULL on
 * allocation failure. The parent keeps ownership. */
struct kf_errt *kf_errt_sub(struct kf_errt *t, const char *skey, long ikey);

/* The value under the key, or NULL when absent. Borrowed. */
const struct kf_errv *kf_errt_get(const struct kf_errt *t, const char *skey, long ikey);

/* Appends a message at #t + 1 (Lua table.insert). 0 or KGC_ENOMEM. */
int kf_errt_append(struct kf_errt *t, const char *msg);

/* Appends msg to the table's "@entity" list (whole-entity errors). 0 or KGC_ENOMEM. */
int kf_errt_entity(struct kf_errt *t, const char *msg);

/* Removes the key and hands its value to the caller (zeroed when absent). */
struct kf_errv kf_errt_take(struct kf_errt *t, const char *skey, long ikey);

/* A key of an error table: a string, or an integer when skey is NULL. */
struct kf_errkey {
    char *skey; /* owned copy, or NULL */
    long ikey;
};

/* The table's keys sorted as Lua's table.sort would (integers ascending, then strings bytewise).
 * Returns 0 and *keys (free with kf_errkeys_free) or KGC_ENOMEM. */
int kf_errt_keys(const struct kf_errt *t, struct kf_errkey **keys, size_t *n);
void kf_errkeys_free(struct kf_errkey *keys, size_t n);

/* The table as JSON the way lua-cjson encodes it: only integer keys -> array (holes are null),
 * otherwise an object (integer keys as strings); an empty table is {}. New reference or NULL. */
json_object *kf_errt_to_json(const struct kf_errt *t);

/* The table as Penlight's pretty.write(t, "") text, keys in sorted order. Caller frees. */
char *kf_errt_pretty(const struct kf_errt *t);

/* ---------------------------------------------------------------------------------------------
 * Declarative configuration validation (Kong 3.x DB-less /config semantics).
 * ------------------------------------------------------------------------------------------- */

/* A memo of the top-level entities earlier validations found valid (vmemo.c): a validation
 * given one skips the schema check of every top-level entity whose parsed value is exactly one
 * the previous validation (under the same plugins and flavour) found valid, which gives the same
 * answer (a check reads nothing else) at a fraction of the cost when successive configurations
 * repeat most of their entities. Entities with errors are never remembered. It keeps the entities
 * of the last validation only: encoded (about the size of their text), their copies with ids and,
 * for documents kf_vmemo_parse() built, their bytes and parsed values. Not thread-safe: one
 * kf_validate() or kf_vmemo_parse() at a time per memo, and documents sharing its values are
 * released under the same exclusion. */
struct kf_vmemo;

/* A new empty memo, or NULL on allocation failure. Free with kf_vmemo_free() (NULL: no-op). */
struct kf_vmemo *kf_vmemo_new(void);
void kf_vmemo_free(struct kf_vmemo *m);

/* Parses a JSON configuration text as kf_text_parse() does, sharing the memo's parsed value for
 * every element of a top-level entity array whose bytes equal those of an element the memo
 * remembers (the texts of the last validation's valid top-level entities, with the value json-c
 * parsed from them): equal bytes, equal value, and the next kf_validate() with this memo finds it
 * without encoding it. Returns 0 and the document in *out, or 1 (nothing in *out) for any text it
 * cannot delimit for certain -- not plain JSON, a repeated top-level key, an element nested deeper
 * than 32, a parse error, no memory --: then kf_text_parse() decides, as without the memo.
 * The document shares values with the memo (json-c's reference counts are not atomic): it must
 * be released while holding the memo, and validated next with this memo (the spans it keeps are
 * the text's: text must live until that kf_validate() returns). */
int kf_vmemo_parse(struct kf_vmemo *m, const char *text, size_t len, json_object **out);

/* Options for one validation. Strings are borrowed for the duration of the call. */
struct kf_validate_opts {
    const char *const *plugins; /* enabled plugin names, NULL-terminated; NULL = default set */
    const char *router_flavor;  /* traditional | traditional_compatible | expressions; NULL = tc */
    bool flatten_errors;        /* add "flattened_errors" to a 400 body */
    struct kf_vmemo *memo;      /* NULL = none; else used and updated by this call alone */
    /* with memo: the 201 body may share values with the memo instead of copying them (json-c's
     * reference counts are not atomic): the caller then releases it under the memo's exclusion */
    bool share_memo_values;
    /* NULL, or called once the document is known valid, before the 201 body is built; empty
     * tells whether that body will have no entity (Kong then stores the empty hash). After it
     * has been called kf_validate() returns 0, or KGC_ENOMEM when the body cannot be built. */
    void (*accepted)(void *arg, bool empty);
    void *accepted_arg;
};

/* Validates a declarative configuration document (a JSON object; any other value is rejected the
 * way Kong rejects a non-table). Returns 0 when Kong would accept it — *entities (may be NULL)
 * receives the 201 body: {"<entity>": {"<id>": {...}}} — or KGC_EINVAL when Kong would reject it —
 * *error_body receives the 400 body ({"code":14,"name":...,"message":...,"fields":...} plus
 * "flattened_errors" when asked). KGC_ENOMEM on allocation failure. The document is not changed;
 * the caller owns what it receives. */
int kf_validate(json_object *doc, const struct kf_validate_opts *opts, json_object **entities,
                json_object **error_body);

/* The 400 body Kong sends for a configuration that could not be parsed or is otherwise rejected as
 * a whole: fields = {"error": msg}, message "declarative config is invalid: {error=\"...\"}".
 * flattened adds "flattened_errors": []. New reference or NULL. */
json_object *kf_declarative_error_body(const char *msg, bool flattened);

/* The default enabled plugin set (NULL-terminated, static). */
const char *const *kf_default_plugins(void);

/* Kong's deterministic entity id: uuid5(uuid5(fd02801f-0957-4a15-a55a-c8d9606f30b5, plural), key)
 * into out (37 bytes). */
void kf_entity_uuid(const char *plural, const char *key, char out[37]);

/* RFC 4122 version-5 UUID of name in namespace ns ("xxxxxxxx-xxxx-..."), into out (37 bytes).
 * Returns 0, or KGC_EINVAL when ns is not a UUID. */
int kf_uuid5(const char *ns, const char *name, size_t name_len, char out[37]);

/* A random version-4 UUID into out (37 bytes). */
void kf_uuid4(char out[37]);

/* Kong's host check (kong.tools.ip normalize_ip): 0 when valid; else -1 with Kong's message in
 * err ("invalid hostname: x", "invalid port number", ...). *type receives 'n', '4' or '6' and
 * *has_port whether a port was given. Exposed for unit tests. */
int kf_normalize_ip(const char *address, char *type, bool *has_port, char *err, size_t errsz);

/* ---------------------------------------------------------------------------------------------
 * Text: parsing a configuration sent as a string, hashing.
 * ------------------------------------------------------------------------------------------- */

/* Parses a configuration text as JSON, else as YAML (YAML 1.1 scalars as lyaml resolves them).
 * Returns 0 and *out (new reference; may be NULL for a null document), or KGC_EPARSE with a
 * one-line reason in err ("expected an object" is the caller's to decide). */
int kf_text_parse(const char *text, size_t len, json_object **out, char *err, size_t errsz);

/* MD5 of data as 32 lowercase hex digits (plus NUL) into out. */
void kf_md5_hex(const void *data, size_t len, char out[33]);

/* The canonical re-encoding of a document: compact JSON, object keys sorted bytewise, no slash
 * escaping. Caller frees. NULL on allocation failure. */
char *kf_canonical_json(json_object *doc);

/* ---------------------------------------------------------------------------------------------
 * The server.
 * ------------------------------------------------------------------------------------------- */

/* Server options; kf_server_options_init() fills the defaults. Strings are owned by the caller and
 * must outlive the server. */
struct kf_server_options {
    const char *host;           /* bind address (default 127.0.0.1) */
    unsigned port;              /* 0 = any free port */
    const char *listeners_json; /* "configuration" listeners document (NULL = the fixture's) */
    const char *node_id;        /* NULL = random UUIDv4 */
    const char *version;        /* default 3.9.1 */
    const char *router_flavor;  /* default traditional_compatible */
    const char *const *plugins; /* NULL-terminated; NULL = kf_default_plugins() */
    const char *audit_path;     /* NULL = no audit log */
    unsigned not_ready_ms;      /* /status/ready answers 503 until this long after start */
    unsigned fail_config;       /* reject the next N POST /config */
    unsigned fail_config_code;  /* 400, 429 or 503 */
    unsigned latency_ms;        /* delay before every answer */
    size_t max_body;            /* request bodies above this get 413 */
    /* Called after a configuration is accepted (before the 201 is sent) with the 201 entities
     * body ({"<entities>": {"<id>": {...}}}; borrowed: take a reference to keep it), in the
     * order configurations are accepted. The proxy installs it (kf_proxy_set_config). NULL =
     * none. */
    void (*on_config)(void *arg, json_object *entities);
    void *on_config_arg;
};

struct kf_server;

void kf_server_options_init(struct kf_server_options *o);

/* Binds and starts serving on its own threads. Returns 0 and *out, or a negative KGC_E* code with
 * a reason in err (may be NULL). The caller stops it with kf_server_stop(). */
int kf_server_start(const struct kf_server_options *o, struct kf_server **out, char *err,
                    size_t errsz);

/* The bound port. */
unsigned kf_server_port(const struct kf_server *s);

/* Stops serving (waits for in-flight requests) and frees everything. NULL is a no-op. */
void kf_server_stop(struct kf_server *s);

/* The embedded default listeners (the fixture's "configuration" proxy/stream listeners). */
const char *kf_default_listeners_json(void);

#endif

/* schema — a small re-implementation of Kong's kong.db.schema field validation (types, required,
 * one_of, between, string checks, arrays/sets/maps/records) producing Kong's error tables.
 * Internal to test/fakes/kong/: declarative.c describes the entities with it. */
#ifndef KGC_TEST_KONG_SCHEMA_H
#define KGC_TEST_KONG_SCHEMA_H

#include "kong_fake.h"

enum kf_ftype {
    KF_STRING,
    KF_INTEGER,
    KF_NUMBER,
    KF_BOOLEAN,
    KF_ARRAY,
    KF_SET,
    KF_MAP,
    KF_RECORD,
    KF_FOREIGN, /* a reference to another entity: a name/id string or {"id": ...} */
    KF_ANY,     /* anything (no checks) */
};

#define KF_REQUIRED 0x01u /* absent or null is "required field missing" (unless KF_DEFAULT) */
#define KF_DEFAULT  0x02u /* has a default: absent is filled in, so never missing */
#define KF_EQ_NULL  0x04u /* any non-null value is an error ("value must be null" or eq_err) */
#define KF_BETWEEN  0x08u /* lo..hi */
#define KF_UUID     0x10u /* "expected a valid UUID" */
#define KF_NE_TRUE  0x20u /* true is an error (eq_err) */
#define KF_LEN_MIN1 0x40u /* arrays/sets: "length must be at least 1" */

struct kf_vctx;

/* A string check run after the built-in string validators; returns false and fills msg. */
typedef bool (*kf_str_check)(struct kf_vctx *c, const char *s, char *msg, size_t msz);

struct kf_record;

struct kf_field {
    const char *name;
    enum kf_ftype type;
    unsigned flags;
    long long lo, hi;                /* KF_BETWEEN */
    const char *const *one_of;       /* strings, NULL-terminated */
    const long long *one_of_int;     /* integers ... */
    size_t n_one_of_int;             /* ... and how many */
    const char *eq_err;              /* message for KF_EQ_NULL / KF_NE_TRUE (default Kong's) */
    kf_str_check check;              /* strings: Kong's custom/match validators, in order */
    const struct kf_field *elements; /* arrays and sets */
    const struct kf_field *keys;     /* maps */
    const struct kf_field *values;   /* maps */
    const struct kf_record *record;  /* records */
    const char *reference;           /* foreign: the referenced entity (plural) */
    bool protocols_subsets;          /* routes.protocols: mutually exclusive subsets */
};

/* A record's entity checks run after its fields; obj is the record as sent (defaults must be
 * applied by the check itself through kf_field_value()). */
typedef void (*kf_record_check)(struct kf_vctx *c, json_object *obj, struct kf_errt *errs);

struct kf_record {
    const struct kf_field *fields; /* terminated by an entry with name NULL */
    kf_record_check check;         /* NULL when none */
};

/* Validation context shared by one kf_validate() call. */
struct kf_vctx {
    const char *const *plugins; /* enabled plugins */
    int flavor;                 /* 0 traditional, 1 traditional_compatible, 2 expressions */
    bool oom;                   /* an allocation failed somewhere: the result is unusable */
    bool foreign_null;          /* validating a nested entity: its foreign fields must be null */
    struct kf_vmemo *memo;      /* top-level entities known valid (declarative.c), or NULL */
};

/* Validates value v (present; NULL means JSON null) against f. Returns the error (zeroed when
 * valid); the caller owns it. */
struct kf_errv kf_validate_value(struct kf_vctx *c, const struct kf_field *f, json_object *v);

/* Validates obj as a record of fields: unknown keys, required fields, each field. extra (may be
 * NULL) decides about keys not in fields: it returns true when it handled the key (writing its
 * own errors). Errors go into errs. Then rec->check runs. */
typedef bool (*kf_extra_key)(struct kf_vctx *c, void *arg, json_object *obj, const char *key,
                             json_object *val, struct kf_errt *errs);
void kf_validate_record(struct kf_vctx *c, const struct kf_record *rec, json_object *obj,
                        kf_extra_key extra, void *arg, struct kf_errt *errs);

/* The field named name in rec, or NULL. */
const struct kf_field *kf_record_field(const struct kf_record *rec, const char *name);

/* Stores e into errs under key (string) taking ownership; no-op for an empty e. */
void kf_put_err(struct kf_vctx *c, struct kf_errt *errs, const char *key, struct kf_errv e);

/* A message error value (copy of msg), or zeroed on allocation failure (sets c->oom). */
struct kf_errv kf_msg(struct kf_vctx *c, const char *msg);

/* True when v is non-empty in Kong's sense (not null, not an empty table or string). */
bool kf_nonempty(json_object *v);

/* JSON value helpers. */
bool kf_is_string(json_object *v);
const char *kf_get_string(json_object *obj, const char *key);      /* NULL unless a string */
bool kf_has(json_object *obj, const char *key, json_object **val); /* present (maybe null) */
bool kf_is_uuid(const char *s);

/* String validators shared by the entity definitions (Kong's typedefs). */
bool kf_check_utf8_name(struct kf_vctx *c, const char *s, char *msg, size_t msz);
bool kf_check_host(struct kf_vctx *c, const char *s, char *msg, size_t msz);
bool kf_check_host_wildcards(struct kf_vctx *c, const char *s, char *msg, size_t msz);
bool kf_check_path(struct kf_vctx *c, const char *s, char *msg, size_t msz);
bool kf_check_router_path(struct kf_vctx *c, const char *s, char *msg, size_t msz);
bool kf_check_header_name(struct kf_vctx *c, const char *s, char *msg, size_t msz);
bool kf_check_route_header_name(struct kf_vctx *c, const char *s, char *msg, size_t msz);
bool kf_check_http_method(struct kf_vctx *c, const char *s, char *msg, size_t msz);
bool kf_check_tag(struct kf_vctx *c, const char *s, char *msg, size_t msz);
bool kf_check_sni(struct kf_vctx *c, const char *s, char *msg, size_t msz);
bool kf_check_wildcard_host(struct kf_vctx *c, const char *s, char *msg, size_t msz);
bool kf_check_ip_or_cidr(struct kf_vctx *c, const char *s, char *msg, size_t msz);
bool kf_check_upstream_name(struct kf_vctx *c, const char *s, char *msg, size_t msz);
bool kf_check_target(struct kf_vctx *c, const char *s, char *msg, size_t msz);
bool kf_check_certificate(struct kf_vctx *c, const char *s, char *msg, size_t msz);
bool kf_check_key(struct kf_vctx *c, const char *s, char *msg, size_t msz);
bool kf_check_url(struct kf_vctx *c, const char *s, char *msg, size_t msz);
/* typedefs.host_with_optional_port (typedefs.lua:38-41): normalize_ip's own error */
bool kf_check_host_with_optional_port(struct kf_vctx *c, const char *s, char *msg, size_t msz);
/* typedefs.cookie_name = kong.tools.http validate_http_token (http.lua:241-262) */
bool kf_check_cookie_name(struct kf_vctx *c, const char *s, char *msg, size_t msz);

/* PCRE2 compile check as OpenResty's ngx.re reports it; true when it compiles, else msg holds
 * "pcre2_compile() failed: ... in \"...\"". */
bool kf_regex_compiles(const char *re, char *msg, size_t msz);

/* Certificate/key pairing: 0 match, 1 mismatch, -1 unparsable. */
int kf_cert_matches_key(const char *cert_pem, const char *key_pem);

/* CA certificate checks (ca_certificates): NULL when fine, else Kong's message (static). */
const char *kf_ca_cert_problem(const char *pem);

#endif

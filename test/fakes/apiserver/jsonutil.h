/* jsonutil — a growable byte buffer with a hard cap, and small json-c helpers shared by the test
 * API server's modules.
 *
 * Every JSON text the server writes goes through fas_json_text(): plain (no spaces) and with '/'
 * left unescaped, as the real API server writes it. */
#ifndef FAS_JSONUTIL_H
#define FAS_JSONUTIL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAS_JSON_FLAGS   (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define FAS_JSON_DEPTH   512                    /* nesting accepted from the network */
#define FAS_BUF_MAX_SIZE (1024UL * 1024 * 1024) /* no buffer grows beyond 1 GiB */

/* A growable buffer. On allocation failure (or the cap) `oom` is set, later appends do nothing
 * and the owner reports KGC_ENOMEM once. data is always NUL-terminated when non-NULL. */
struct fas_buf {
    char *data; /* malloc'd, owned by the buffer until fas_buf_take() */
    size_t len; /* bytes used, excluding the terminating NUL */
    size_t cap; /* bytes allocated */
    bool oom;   /* an append failed: the content is truncated */
};

void fas_buf_init(struct fas_buf *b);
void fas_buf_free(struct fas_buf *b);
/* Makes room for extra more bytes at once (a length known ahead: one allocation, not a doubling
 * series). 0 or KGC_ENOMEM (then b->oom). */
int fas_buf_reserve(struct fas_buf *b, size_t extra);
/* Appends n bytes; returns 0 or KGC_ENOMEM. */
int fas_buf_append(struct fas_buf *b, const void *s, size_t n);
int fas_buf_puts(struct fas_buf *b, const char *s);
int fas_buf_printf(struct fas_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a quoted JSON string. */
int fas_buf_json_string(struct fas_buf *b, const char *s);
/* Hands the memory over to the caller (who frees it); the buffer is empty afterwards. Returns
 * NULL when the buffer overflowed (its memory is then freed). */
char *fas_buf_take(struct fas_buf *b, size_t *len);

/* Parses len bytes as one JSON value. Returns a new reference or NULL (err filled). */
json_object *fas_json_parse(const char *s, size_t len, char *err, size_t errsz);

/* The serialised text of o (owned by o, valid until o changes or is freed). */
const char *fas_json_text(json_object *o, size_t *len);

/* A malloc'd copy of o's serialised text. NULL on allocation failure. */
char *fas_json_text_dup(json_object *o, size_t *len);

/* Member key of o when o is an object, else NULL. Borrowed. */
json_object *fas_json_get(json_object *o, const char *key);

/* Member key's string value, or NULL when absent or not a string. Borrowed. */
const char *fas_json_str(json_object *o, const char *key);

/* Member key as an object, created (and replacing a non-object) when needed. Borrowed; NULL on
 * allocation failure. */
json_object *fas_json_obj_member(json_object *o, const char *key);

/* Sets member key to a new string value. Returns 0 or KGC_ENOMEM. */
int fas_json_set_str(json_object *o, const char *key, const char *value);
int fas_json_set_int(json_object *o, const char *key, int64_t value);

/* Deep copy (NULL for NULL or on allocation failure). */
json_object *fas_json_copy(json_object *o);

/* True when a and b hold the same JSON value (member order ignored). */
bool fas_json_equal(json_object *a, json_object *b);

/* A random RFC 4122 version 4 UUID into buf (at least 37 bytes). */
void fas_uuid(char *buf, size_t size);

/* Standard base64 (with padding) of n bytes; malloc'd, NULL on failure. */
char *fas_base64_encode(const unsigned char *s, size_t n);
/* Decodes standard or URL-safe base64 (padding optional); malloc'd and NUL-terminated. */
unsigned char *fas_base64_decode(const char *s, size_t *out_len);

#endif

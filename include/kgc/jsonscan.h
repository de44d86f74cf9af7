/* jsonscan — JSON parsing whose memory is bounded by what the document holds, not by its bytes.
 *
 * json-c turns every value into a heap object: an empty object `{}` (2 bytes of text) costs
 * ~0.7 KB (the object, its 16-entry hash table), so 8 MB of `{}` from a hostile peer costs ~2 GB.
 * Byte caps do not bound that. Here a document is first scanned without allocating: the scan
 * validates the syntax (RFC 8259, strict), counts its values (objects, arrays, strings, numbers,
 * literals; object keys are not counted) and its nesting depth, and refuses a document over the
 * caller's budget before json-c builds anything. Iterators give the byte span of each member of an
 * object or element of an array, so a caller can build one element at a time (a list page item,
 * one flattened error) and skip the rest. A tape is the same scan recording where each value is
 * (20 bytes a value or key, in one growing array): readers walk it instead of a json-c tree, which
 * for the API server's objects cost ~2-3x the CPU (json-c's blocks and hash tables) and malloc's
 * lock on every value.
 *
 * Pure (no I/O, no global state) except kgc_jsonscan_release(), which returns freed heap to the
 * system (glibc's malloc_trim) after a large document. Any thread; a tape is its owner's (reads of
 * a built tape may share it). Errors: KGC_EPARSE (syntax, depth), KGC_E2BIG (over a limit),
 * KGC_ENOMEM (a tape that could not grow), each with the document's name and the byte offset. */
#ifndef KGC_JSONSCAN_H
#define KGC_JSONSCAN_H

#include "kgc/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define KGC_JSONSCAN_MAX_DEPTH 64 /* nesting refused deeper than this when a limit says 0 */

struct kgc_jsonscan_limits {
    size_t max_values;     /* values in the document (0: no limit) */
    size_t max_containers; /* objects and arrays among them, the costly ones (0: no limit) */
    unsigned max_depth;    /* nesting of objects and arrays (0: KGC_JSONSCAN_MAX_DEPTH) */
};

struct kgc_jsonscan_stats {
    size_t values;      /* every value, containers included */
    size_t containers;  /* objects and arrays */
    unsigned max_depth; /* deepest nesting seen (a scalar alone: 0) */
};

/* Scans one JSON value in text[0, len): white space around it is allowed, nothing else. lim may
 * be NULL (no value limit, depth KGC_JSONSCAN_MAX_DEPTH). st may be NULL. Returns 0, KGC_EPARSE
 * (bad syntax, or deeper than lim, with the byte offset) or KGC_E2BIG (more values or containers
 * than lim: the message says which and the limit). `what` names the document in messages. Allocates
 * nothing. */
int kgc_jsonscan_scan(const char *text, size_t len, const struct kgc_jsonscan_limits *lim,
                      struct kgc_jsonscan_stats *st, const char *what, struct kgc_err *err);

/* kgc_jsonscan_scan() then json-c: *out is a new reference (json_object_put() it). Returns 0,
 * KGC_EPARSE, KGC_E2BIG (over lim, nothing was built) or KGC_ENOMEM. */
int kgc_jsonscan_parse(const char *text, size_t len, const struct kgc_jsonscan_limits *lim,
                       const char *what, json_object **out, struct kgc_err *err);

/* Iterates the members of the object or the elements of the array that text[0, len) is (white
 * space around allowed). Nothing is allocated and values are not counted: scan the whole document
 * first, or scan each span before building it. */
struct kgc_jsonscan_iter {
    const char *text;
    size_t len, off;
    char close; /* '}' or ']' */
    bool started, done;
};

/* Starts on an object (kind '{') or an array (kind '['). Returns 0 or KGC_EPARSE (text is not
 * one). */
int kgc_jsonscan_iter_start(struct kgc_jsonscan_iter *it, const char *text, size_t len, char kind,
                            const char *what, struct kgc_err *err);

/* The next member: for an object, key and klen get the raw key between its quotes (escapes not
 * decoded; key may be NULL for an array); val and vlen get the value's text. Returns 1 with a
 * member, 0 at the end, KGC_EPARSE on bad syntax (or input cut short): when the syntax went wrong
 * inside a value, key and val are still set, val to the rest of the text (so the members of a cut
 * array can be read up to the cut), and the iteration is over. */
int kgc_jsonscan_iter_next(struct kgc_jsonscan_iter *it, const char **key, size_t *klen,
                           const char **val, size_t *vlen, struct kgc_err *err);

/* --- tapes ------------------------------------------------------------------------------------
 *
 * A tape is one document's values in document order, built in the pass that validates it: each
 * node knows where its text is and which node follows it (its contents skipped), so a reader finds
 * an object's member or an array's element by hopping over siblings, without a tree of heap
 * objects (json-c: one to three blocks per value). An object's members are a key node (a string)
 * followed by the value's node. Node 0 is the document itself, so 0 can mean "absent" to a reader
 * looking for a member. Strings without escapes point into the text; strings with escapes are
 * decoded once into the tape's own buffer (\uXXXX as UTF-8, a surrogate pair as one code point, a
 * lone surrogate as U+FFFD, \u0000 as a NUL byte). */
enum kgc_jsonscan_type {
    KGC_JSONSCAN_NULL,
    KGC_JSONSCAN_FALSE,
    KGC_JSONSCAN_TRUE,
    KGC_JSONSCAN_NUMBER,
    KGC_JSONSCAN_STRING,
    KGC_JSONSCAN_ARRAY,
    KGC_JSONSCAN_OBJECT,
};

/* kgc_jsonscan_node.flags: a string whose bytes are in the tape's buffer (it had escapes); a
 * number without fraction or exponent. */
#define KGC_JSONSCAN_DECODED 1u
#define KGC_JSONSCAN_INT     2u

struct kgc_jsonscan_node {
    uint32_t off;  /* the value's first byte in the text; a string's first byte after its quote
                      (DECODED: in the tape's buffer) */
    uint32_t len;  /* a string's bytes, a number's characters, a container's members/elements */
    uint32_t next; /* the node after this value and everything it holds */
    uint32_t end;  /* the byte after the value in the text */
    uint8_t type;  /* enum kgc_jsonscan_type */
    uint8_t flags; /* KGC_JSONTAPE_* */
};

struct kgc_jsonscan_tape {
    const char *text; /* borrowed: must outlive every read */
    size_t len;
    struct kgc_jsonscan_node *nodes; /* owned */
    uint32_t n, cap;
    char *dec; /* owned: decoded strings */
    size_t dec_len, dec_cap;
};

/* An empty tape (no allocation). */
void kgc_jsonscan_tape_init(struct kgc_jsonscan_tape *t);
/* Frees what the tape holds; it is then empty again. */
void kgc_jsonscan_tape_free(struct kgc_jsonscan_tape *t);

/* Validates text[0, len) exactly as kgc_jsonscan_scan() (same limits, same messages) and fills t
 * (its earlier contents are dropped, its memory reused). Returns 0, KGC_EPARSE, KGC_E2BIG or
 * KGC_ENOMEM (documents over 4 GiB are refused with KGC_E2BIG). On failure t holds no nodes. */
int kgc_jsonscan_tape_build(struct kgc_jsonscan_tape *t, const char *text, size_t len,
                            const struct kgc_jsonscan_limits *lim, const char *what,
                            struct kgc_err *err);

/* The next element of the array it iterates, recorded on tape t (its earlier contents dropped)
 * within lim, validated as kgc_jsonscan_tape_build() validates: node 0 is the element, offsets
 * count from the iterator's text (t->text). One pass where kgc_jsonscan_iter_next() and a build
 * would scan the element twice. Returns 1 with an element, 0 at the end, or KGC_EPARSE, KGC_E2BIG,
 * KGC_ENOMEM (t then holds no nodes, and the iteration is over), KGC_EINVAL (not an array). */
int kgc_jsonscan_iter_next_tape(struct kgc_jsonscan_iter *it, struct kgc_jsonscan_tape *t,
                                const struct kgc_jsonscan_limits *lim, const char *what,
                                struct kgc_err *err);

/* The value of obj's member named key (the last one when the key repeats, as json-c and the API
 * server's decoder keep it), or 0 when obj is not an object or has no such member. Keys are
 * compared after decoding. */
uint32_t kgc_jsonscan_tape_get(const struct kgc_jsonscan_tape *t, uint32_t obj, const char *key);

/* A string node's bytes (not NUL-terminated; len may count NUL bytes from \u0000), or NULL when
 * node i is not a string. */
const char *kgc_jsonscan_tape_str(const struct kgc_jsonscan_tape *t, uint32_t i, size_t *len);

/* True when the raw key span equals s. */
bool kgc_jsonscan_key_is(const char *key, size_t klen, const char *s);

/* Call after freeing the json-c tree of a document of `bytes` bytes: from 1 MiB on, freed heap
 * goes back to the system (malloc_trim) so a big answer does not leave RSS high. */
void kgc_jsonscan_release(size_t bytes);

#endif

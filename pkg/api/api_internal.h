/* Internal to pkg/api: the one-block arena, interned strings and the parse context shared by
 * parse.c, emit.c and api.c. */
#ifndef KGC_API_INTERNAL_H
#define KGC_API_INTERNAL_H

#include "kgc/api.h"
#include "kgc/jsonscan.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An object is parsed twice from the same tape (kgc/jsonscan.h): first in "measure" mode
 * (allocations come from scratch chunks and only the total is kept), then in "fill" mode into one
 * exact-size block. The parse is deterministic, so both passes allocate the same sizes in the same
 * order. */
struct api_chunk {
    struct api_chunk *next;
    size_t cap;
    size_t used;
    char data[];
};

struct api_arena {
    bool measuring;           /* measure pass: memory from chunks, only `used` matters */
    char *base;               /* fill pass: the block (cap bytes) */
    size_t cap;               /* fill pass: the block's size */
    size_t used;              /* bytes handed out so far, with alignment */
    struct api_chunk *chunks; /* measure pass: scratch memory, freed by api_arena_release */
    bool oom;                 /* an allocation failed */
    jmp_buf *oom_jmp;         /* where an allocation failure jumps to (the pass is abandoned) */
    /* Strings copied so far: an equal string later in the same object points at the first copy
     * (lastTransitionTime, names repeated in spec and status, ...). */
    const char *strs[64];
    uint32_t str_lens[64];
    unsigned n_strs;
};

void api_arena_init_measure(struct api_arena *a);
void api_arena_init_fill(struct api_arena *a, char *block, size_t size);
void api_arena_release(struct api_arena *a);

/* Zeroed, 8-byte-aligned memory. Never NULL: on failure sets a->oom and longjmps to
 * *a->oom_jmp, abandoning the pass (the parse holds no resource but the arena's chunks). */
void *api_alloc(struct api_arena *a, size_t n);
/* The same without alignment, for characters (strings back to back: ~3.5 B a string saved). */
char *api_alloc_chars(struct api_arena *a, size_t n);

/* A copy of s (len bytes, NUL added) in the arena, or the static interned constant equal to it.
 * NULL stays NULL. */
const char *api_strndup(struct api_arena *a, const char *s, size_t len);
const char *api_strdup(struct api_arena *a, const char *s);

/* Remembers p (len bytes: a copy in the block, or api_intern_shared's) as the object's copy of
 * that string: an equal string later in the object points at it. */
void api_remember(struct api_arena *a, const char *p, size_t len);

/* The static interned constant equal to s (len bytes), or NULL. */
const char *api_intern_lookup(const char *s, size_t len);

/* Namespaces are shared by every object of the process: the one copy equal to s (len bytes,
 * added when new), or NULL when s holds a NUL, is longer than a namespace name (63) or the
 * table is full (API_SHARED_MAX names, never freed: bounded, whatever namespaces come and go;
 * a namespace beyond it is copied into each object as before). Thread-safe. */
#define API_SHARED_MAX 16384
const char *api_intern_shared(const char *s, size_t len);

/* A value of the document being parsed: its node on the context's tape plus one; 0 means
 * absent. */
typedef uint32_t api_jv;

/* The parse context: the tape read, the arena, the path of the value being read (for problem
 * messages) and the problems found so far. */
struct api_pctx {
    const struct kgc_jsonscan_tape *t;
    struct api_arena *a;
    char path[256];
    size_t plen;
    const char *problems[KGC_API_MAX_PROBLEMS];
    uint32_t n_problems;
    /* the object's metadata.namespace from api_intern_shared(), found once before the passes
     * (both passes must lay the block out alike); NULL: copied into the block */
    const char *ns_shared;
};

/* Appends a printf-formatted segment to the path; returns the previous length for pop. */
size_t api_path_push(struct api_pctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void api_path_pop(struct api_pctx *c, size_t saved);

/* Records "path.field: message" (at most KGC_API_MAX_PROBLEMS are kept). */
void api_problem(struct api_pctx *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Typed getters for parent[field]. Absent or null → the default without a problem; the wrong
 * type or range → the default and a problem. */
api_jv api_get_obj(struct api_pctx *c, api_jv parent, const char *field);
api_jv api_get_arr(struct api_pctx *c, api_jv parent, const char *field);
const char *api_get_str(struct api_pctx *c, api_jv parent, const char *field);
int64_t api_get_int(struct api_pctx *c, api_jv parent, const char *field, int64_t min, int64_t max,
                    int64_t dflt);
int8_t api_get_bool(struct api_pctx *c, api_jv parent, const char *field);
const char *const *api_get_str_array(struct api_pctx *c, api_jv parent, const char *field,
                                     uint32_t *n);
const struct kgc_api_kv *api_get_kv_map(struct api_pctx *c, api_jv parent, const char *field,
                                        uint32_t *n, const char *skip_key);

/* parent[field] as it is, null included (0: absent or parent not an object). */
api_jv api_field(const struct api_pctx *c, api_jv parent, const char *field);
/* v's type (enum kgc_jsonscan_type); KGC_JSONSCAN_NULL for 0. */
unsigned api_type(const struct api_pctx *c, api_jv v);
/* A string's bytes and length (NULL, 0 for anything else). */
const char *api_str(const struct api_pctx *c, api_jv v, size_t *len);
/* An array's elements (an object's members) in order: its count, its first element, the one
 * after an element. */
uint32_t api_count(const struct api_pctx *c, api_jv v);
api_jv api_first(const struct api_pctx *c, api_jv v);
api_jv api_next(const struct api_pctx *c, api_jv v);
/* A container's text, brackets included (NULL, 0 for 0). */
const char *api_text(const struct api_pctx *c, api_jv v, size_t *len);

/* The per-kind parse functions (parse.c). Each allocates its struct first (so it sits at offset
 * 0 of the block) and fills it. prep carries work done once outside the two passes (Secret). */
struct api_secret_prep {
    bool has_crt, has_key, valid;
    char problem[160];
    unsigned char *crt; /* decoded, malloc'd, NUL-terminated */
    size_t crt_len;
    unsigned char *key;
    size_t key_len;
};

struct kgc_api_obj *api_parse_kind(struct api_pctx *c, enum kgc_api_kind kind, api_jv j,
                                   const struct api_secret_prep *prep);

void api_secret_prep(const struct api_pctx *c, api_jv j, struct api_secret_prep *prep);
void api_secret_prep_free(struct api_secret_prep *prep);

#endif

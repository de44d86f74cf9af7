/* strmap — an open-addressing hash map from C strings to pointers (linear probing, backward-shift
 * deletion, no tombstones). Not thread-safe: the owner locks.
 *
 * A slot is the key and value pointers (16 B) plus one tag byte (7 bits of the key's hash) in an
 * array of its own after the slots: a probe compares tags and reads a key only on a tag match.
 * The full hash is not kept (a 64-bit hash per slot was a third of every map: at 10k keys the
 * cache's, the translator's and status's maps hold ~16k slots each); growing and deleting hash
 * the keys they move again.
 *
 * Keys are borrowed: the map stores the key pointer, so the key must stay valid and unchanged
 * while it is in the map (typically the key lives inside the value it maps to). */
#ifndef KGC_STRMAP_H
#define KGC_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct kgc_strmap_slot {
    const char *key; /* NULL: empty slot */
    void *value;
};

struct kgc_strmap {
    struct kgc_strmap_slot *slots; /* cap slots, cap a power of two (or 0 before first put), and
                                      in the same block after them the cap tags */
    unsigned char *tags;           /* 0: empty; else 0x80 | the hash's top 7 bits */
    size_t cap;
    size_t len;
};

/* 64-bit hash of n bytes (word-at-a-time multiply-xorshift; not for adversarial keys' DoS). */
uint64_t kgc_strmap_hash(const char *s, size_t n);

/* An empty map; allocates nothing until the first put. */
void kgc_strmap_init(struct kgc_strmap *m);

/* Frees the slot array (not keys or values). The map is empty and reusable afterwards. */
void kgc_strmap_destroy(struct kgc_strmap *m);

/* The value for key, or NULL. */
void *kgc_strmap_get(const struct kgc_strmap *m, const char *key);

/* The same with a precomputed length and hash (kgc_strmap_hash(key, keylen): the map hashes the
 * keys it moves itself, so no other hash may be given). */
void *kgc_strmap_get_hashed(const struct kgc_strmap *m, const char *key, size_t keylen,
                            uint64_t hash);

/* Inserts or replaces. *old (if not NULL) receives the replaced value or NULL. On replace the
 * stored key pointer becomes the new one. Returns 0 or KGC_ENOMEM (map unchanged). */
int kgc_strmap_put(struct kgc_strmap *m, const char *key, void *value, void **old);
int kgc_strmap_put_hashed(struct kgc_strmap *m, const char *key, uint64_t hash, void *value,
                          void **old);

/* Removes key; returns its value or NULL when absent. */
void *kgc_strmap_remove(struct kgc_strmap *m, const char *key);
void *kgc_strmap_remove_hashed(struct kgc_strmap *m, const char *key, size_t keylen, uint64_t hash);

/* Iteration: start with *pos = 0; returns 1 and fills key/value while entries remain, else 0.
 * The map must not change during an iteration. Order is unspecified. */
int kgc_strmap_next(const struct kgc_strmap *m, size_t *pos, const char **key, void **value);

static inline size_t kgc_strmap_len(const struct kgc_strmap *m)
{
    return m->len;
}

#endif

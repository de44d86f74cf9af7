#include "kgc/strmap.h"

#include "kgc/err.h"

#include <stdlib.h>
#include <string.h>

uint64_t kgc_strmap_hash(const char *s, size_t n)
{
    /* Eight bytes per step (keys are short but many: this is on every queue and cache lookup),
     * each step and the end mixed with splitmix64's multipliers. */
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    if (n > 0) {
        uint64_t w = 0;
        memcpy(&w, s, n);
        h = (h ^ w) * 0x94d049bb133111ebULL;
        h ^= h >> 29;
    }
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    return h;
}

void kgc_strmap_init(struct kgc_strmap *m)
{
    m->slots = NULL;
    m->tags = NULL;
    m->cap = 0;
    m->len = 0;
}

void kgc_strmap_destroy(struct kgc_strmap *m)
{
    free(m->slots); /* (the tags with them) */
    kgc_strmap_init(m);
}

static unsigned char tag_of(uint64_t hash)
{
    return (unsigned char)(0x80 | (hash >> 57));
}

static uint64_t hash_key(const char *key)
{
    return kgc_strmap_hash(key, strlen(key));
}

static size_t find_slot(const struct kgc_strmap *m, const char *key, size_t keylen, uint64_t hash)
{
    size_t mask = m->cap - 1;
    unsigned char tag = tag_of(hash);
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        unsigned char t = m->tags[i];
        if (!t)
            return i;
        const char *k = m->slots[i].key;
        if (t == tag && strncmp(k, key, keylen) == 0 && k[keylen] == '\0')
            return i;
    }
}

void *kgc_strmap_get_hashed(const struct kgc_strmap *m, const char *key, size_t keylen,
                            uint64_t hash)
{
    if (m->len == 0)
        return NULL;
    size_t i = find_slot(m, key, keylen, hash);
    return m->tags[i] ? m->slots[i].value : NULL;
}

void *kgc_strmap_get(const struct kgc_strmap *m, const char *key)
{
    size_t n = strlen(key);
    return kgc_strmap_get_hashed(m, key, n, kgc_strmap_hash(key, n));
}

static int grow(struct kgc_strmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    struct kgc_strmap_slot *ns = calloc(ncap, sizeof(*ns) + 1);
    if (!ns)
        return KGC_ENOMEM;
    unsigned char *nt = (unsigned char *)(ns + ncap);
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->tags[i])
            continue;
        uint64_t h = hash_key(m->slots[i].key);
        size_t j = h & (ncap - 1);
        while (nt[j])
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
        nt[j] = m->tags[i];
    }
    free(m->slots);
    m->slots = ns;
    m->tags = nt;
    m->cap = ncap;
    return 0;
}

int kgc_strmap_put_hashed(struct kgc_strmap *m, const char *key, uint64_t hash, void *value,
                          void **old)
{
    if ((m->len + 1) * 4 > m->cap * 3) { /* keep the load factor under 0.75 */
        int rc = grow(m);
        if (rc)
            return rc;
    }
    size_t i = find_slot(m, key, strlen(key), hash);
    struct kgc_strmap_slot *s = &m->slots[i];
    if (old)
        *old = m->tags[i] ? s->value : NULL;
    if (!m->tags[i])
        m->len++;
    s->key = key;
    s->value = value;
    m->tags[i] = tag_of(hash);
    return 0;
}

int kgc_strmap_put(struct kgc_strmap *m, const char *key, void *value, void **old)
{
    return kgc_strmap_put_hashed(m, key, kgc_strmap_hash(key, strlen(key)), value, old);
}

void *kgc_strmap_remove_hashed(struct kgc_strmap *m, const char *key, size_t keylen, uint64_t hash)
{
    if (m->len == 0)
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = find_slot(m, key, keylen, hash);
    if (!m->tags[i])
        return NULL;
    void *value = m->slots[i].value;
    /* Backward-shift deletion: pull later members of the probe run into the hole. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->tags[j]; j = (j + 1) & mask) {
        size_t home = hash_key(m->slots[j].key) & mask;
        /* Move j into hole if its home is not cyclically within (hole, j]. */
        int home_in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!home_in_range) {
            m->slots[hole] = m->slots[j];
            m->tags[hole] = m->tags[j];
            hole = j;
        }
    }
    m->slots[hole].key = NULL;
    m->slots[hole].value = NULL;
    m->tags[hole] = 0;
    m->len--;
    return value;
}

void *kgc_strmap_remove(struct kgc_strmap *m, const char *key)
{
    size_t n = strlen(key);
    return kgc_strmap_remove_hashed(m, key, n, kgc_strmap_hash(key, n));
}

int kgc_strmap_next(const struct kgc_strmap *m, size_t *pos, const char **key, void **value)
{
    while (*pos < m->cap) {
        size_t i = (*pos)++;
        const struct kgc_strmap_slot *s = &m->slots[i];
        if (m->tags[i]) {
            if (key)
                *key = s->key;
            if (value)
                *value = s->value;
            return 1;
        }
    }
    return 0;
}

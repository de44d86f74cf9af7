/* sync — the accepted Gateway set across kgc restarts: record "rec:sync-accepted" in the store
 * the listener cache persists to (kgc/store.h, kgc_listenercache_store()): RECORD_HEADER, the
 * hash, then one "<generation> <namespace>/<name>" line per Gateway (kgc/sync.h). */
#include "sync_internal.h"

#include "kgc/listenercache.h"
#include "kgc/log.h"
#include "kgc/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_NAME   "rec:sync-accepted" /* a store record name (kgc/store.h) */
#define RECORD_HEADER "kgc-sync-accepted/1\n"

/* The record of b's Gateway set (malloc'd, *len bytes plus a NUL), or NULL when out of memory. */
static char *encode_accepted(const struct kgc_sync_blob *b, size_t *len)
{
    size_t cap = strlen(RECORD_HEADER) + sizeof(b->hash) + 1;
    for (size_t i = 0; i < b->n_gws; i++)
        cap += strlen(b->gws[i].key) + 24;
    char *rec = malloc(cap);
    if (!rec)
        return NULL;
    size_t n = (size_t)snprintf(rec, cap, "%s%s\n", RECORD_HEADER, b->hash);
    /* the lines without snprintf: written after every accepted push, 1k Gateways cost ~0.2 ms
     * through it (as much as the rest of the record's write but the sync) */
    size_t i = 0;
    for (; i < b->n_gws && n < cap; i++) {
        char digits[24];
        size_t nd = 0;
        long long g = b->gws[i].generation;
        unsigned long long u = g < 0 ? 0ULL - (unsigned long long)g : (unsigned long long)g;
        do
            digits[nd++] = (char)('0' + u % 10);
        while ((u /= 10) && nd < sizeof(digits));
        size_t kl = strlen(b->gws[i].key);
        if (n + (g < 0) + nd + 1 + kl + 1 >= cap)
            break;
        if (g < 0)
            rec[n++] = '-';
        while (nd)
            rec[n++] = digits[--nd];
        rec[n++] = ' ';
        memcpy(rec + n, b->gws[i].key, kl);
        n += kl;
        rec[n++] = '\n';
        rec[n] = '\0';
    }
    if (n >= cap || i < b->n_gws) {
        free(rec);
        return NULL;
    }
    *len = n;
    return rec;
}

/* A stored record (len bytes followed by a NUL, as kgc_store_get() gives it) as a blob without
 * text, or NULL (malformed, out of memory). Any bytes. */
static struct kgc_sync_blob *parse_accepted(const char *rec, size_t len)
{
    size_t hl = strlen(RECORD_HEADER);
    if (len <= hl || strncmp(rec, RECORD_HEADER, hl) != 0)
        return NULL;
    const char *p = rec + hl, *nl = strchr(p, '\n');
    if (!nl || (size_t)(nl - p) != KGC_KONG_HASH_LEN)
        return NULL;
    char hash[KGC_KONG_HASH_LEN + 1];
    memcpy(hash, p, KGC_KONG_HASH_LEN);
    hash[KGC_KONG_HASH_LEN] = '\0';
    struct kgc_sync_blob *b = kgc_sync_blob_new(hash, false);
    bool ok = b != NULL;
    for (p = nl + 1; ok && *p; p = nl + 1) {
        nl = strchr(p, '\n');
        const char *sp = nl ? memchr(p, ' ', (size_t)(nl - p)) : NULL;
        char *end = NULL;
        long long gen = sp ? strtoll(p, &end, 10) : 0;
        if (!nl || !sp || end != sp || sp + 1 >= nl) {
            ok = false;
            break;
        }
        char *key = strndup(sp + 1, (size_t)(nl - sp - 1));
        ok = key && kgc_sync_blob_add_gateway(b, key, gen) == 0;
        free(key);
    }
    if (!ok) {
        kgc_sync_blob_unref(b);
        return NULL;
    }
    kgc_sync_blob_seal(b);
    return b;
}

char *kgc_sync_accepted_record_canonical(const char *rec, size_t len, size_t *out_len)
{
    struct kgc_sync_blob *b = parse_accepted(rec, len);
    char *out = b ? encode_accepted(b, out_len) : NULL;
    kgc_sync_blob_unref(b);
    return out;
}

/* Stores rec (n bytes, a record encode_accepted() made for hash) and remembers its lines (record_mu
 * held). */
static void record_write(struct kgc_sync *s, struct kgc_store *st, const char *rec, size_t n,
                         const char *hash, uint64_t now)
{
    struct kgc_err err = {0};
    if (kgc_store_put(st, RECORD_NAME, rec, n, &err) != 0) {
        kgc_warn(KGC_SYNC_COMPONENT, "cannot store the accepted Gateway set",
                 KGC_F_STR("error", err.msg));
        return;
    }
    snprintf(s->persisted_hash, sizeof(s->persisted_hash), "%s", hash);
    size_t head = strlen(RECORD_HEADER) + KGC_KONG_HASH_LEN + 1;
    char *lines = malloc(n - head + 1);
    if (lines)
        memcpy(lines, rec + head, n - head + 1);
    free(s->persisted_lines);
    s->persisted_lines = lines; /* NULL (out of memory): the next record is written */
    s->persisted_lines_len = lines ? n - head : 0;
    s->persisted_at_ns = now;
    free(s->pending_rec); /* older than this one */
    s->pending_rec = NULL;
}

void kgc_sync_record_persist(struct kgc_sync *s, const struct kgc_sync_blob *b)
{
    struct kgc_store *st = kgc_listenercache_store(s->lc);
    if (!st)
        return;
    pthread_mutex_lock(&s->record_mu);
    char *rec = NULL;
    size_t n = 0;
    if (strcmp(s->persisted_hash, b->hash) != 0 && (rec = encode_accepted(b, &n))) {
        uint64_t now = kgc_clock_now(s->clock);
        size_t head = strlen(RECORD_HEADER) + KGC_KONG_HASH_LEN + 1;
        /* the same Gateways at the same generations, only the hash new: each write waits for
         * the disk (LMDB syncs every commit), so not after every change */
        bool same = s->persisted_lines && n - head == s->persisted_lines_len &&
                    memcmp(rec + head, s->persisted_lines, n - head) == 0 &&
                    now - s->persisted_at_ns < KGC_SYNC_RECORD_HASH_EVERY_NS;
        if (same) {
            free(s->pending_rec);
            s->pending_rec = rec;
            s->pending_len = n;
            snprintf(s->pending_hash, sizeof(s->pending_hash), "%s", b->hash);
            rec = NULL;
        } else {
            record_write(s, st, rec, n, b->hash, now);
        }
    }
    pthread_mutex_unlock(&s->record_mu);
    free(rec);
}

void kgc_sync_record_flush(struct kgc_sync *s)
{
    struct kgc_store *st = kgc_listenercache_store(s->lc);
    pthread_mutex_lock(&s->record_mu);
    char *rec = s->pending_rec;
    s->pending_rec = NULL;
    if (rec && st)
        record_write(s, st, rec, s->pending_len, s->pending_hash, kgc_clock_now(s->clock));
    pthread_mutex_unlock(&s->record_mu);
    free(rec);
}

void kgc_sync_record_free(struct kgc_sync *s)
{
    free(s->pending_rec);
    free(s->persisted_lines);
    s->pending_rec = s->persisted_lines = NULL;
}

struct kgc_sync_blob *kgc_sync_record_restore(struct kgc_sync *s)
{
    struct kgc_store *st = kgc_listenercache_store(s->lc);
    if (!st)
        return NULL;
    char *rec = NULL;
    size_t len = 0;
    struct kgc_err err = {0};
    int rc = kgc_store_get(st, RECORD_NAME, &rec, &len, &err);
    if (rc != 0) {
        if (rc != KGC_ENOENT)
            kgc_warn(KGC_SYNC_COMPONENT, "cannot read the stored Gateway set",
                     KGC_F_STR("error", err.msg));
        return NULL;
    }
    struct kgc_sync_blob *b = parse_accepted(rec, len);
    free(rec);
    if (!b) {
        kgc_warn(KGC_SYNC_COMPONENT, "ignoring a malformed stored Gateway set");
        return NULL;
    }
    snprintf(s->persisted_hash, sizeof(s->persisted_hash), "%s", b->hash);
    kgc_info(KGC_SYNC_COMPONENT, "last accepted Gateway set restored", KGC_F_STR("hash", b->hash),
             KGC_F_INT("gateways", b->n_gws));
    return b;
}

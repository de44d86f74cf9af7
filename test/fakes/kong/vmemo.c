/* vmemo — the memo of top-level entities the schema pass found valid (kf_vmemo in kong_fake.h).
 *
 * kgc pushes its whole configuration on every change, so successive documents repeat all but a
 * few of their entities. An entity's schema check (declarative.c validate_entity with nested =
 * false) depends on nothing but the entity's parsed value, the enabled plugins and the router
 * flavour (struct kf_vctx holds nothing else), so a top-level entity whose parsed value is
 * exactly one the previous validation found valid is valid again: its check is skipped. Entities
 * with errors are never remembered (their error tables are always built afresh), so a rejected
 * document gets the same 400 body with or without the memo.
 *
 * "Exactly" is decided on an encoding of the parsed value that determines everything a check can
 * read: type, object keys in order, array elements, string bytes, both integer views, a double's
 * bits and its source text. Equal encodings mean equal values; keys are compared byte for byte,
 * never trusted to a hash alone. */
#include "entities.h"
#include "kong_fake.h"

#include <kgc/strmap.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Everything the memo keeps is bounded: entries are dropped when the validation after the one
 * that last used them ends, and no key is added past this many bytes in all. */
#define VMEMO_MAX_BYTES ((size_t)64 << 20)

struct entry {
    uint64_t hash;
    unsigned char *key; /* the encoding (owned); NULL: empty slot */
    size_t len;
    unsigned gen;      /* the validation that last used it */
    json_object *view; /* a copy with Kong's derived ids (owned, never changed), or NULL */
};

/* A top-level entity of the current validation found in the memo or added to it, in the order
 * the schema pass met them (the document's order). */
struct seen_rec {
    json_object *item;
    const unsigned char *key; /* the entry's (stable while the entry lives) */
    size_t len;
    uint64_t hash;
};

struct kf_vmemo {
    struct entry *slots; /* open addressing, cap a power of two */
    size_t cap, n, bytes;
    unsigned gen;
    /* what the entries were validated under: the plugin names, each with its NUL, then a NUL */
    char *plugins;
    size_t plugins_len;
    int flavor;
    /* the encoding of the entity last looked up */
    unsigned char *buf;
    size_t len, bufcap;
    uint64_t hash;
    bool buf_oom;
    /* this validation's entities, and where kf_vmemo_view() is in that list */
    struct seen_rec *recs;
    size_t nrec, caprec, cursor;
    struct entry *viewless; /* the entry kf_vmemo_view() found without a view */
};

struct kf_vmemo *kf_vmemo_new(void)
{
    return calloc(1, sizeof(struct kf_vmemo));
}

static void clear(struct kf_vmemo *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->slots[i].key);
        json_object_put(m->slots[i].view);
    }
    m->nrec = m->cursor = 0;
    m->viewless = NULL;
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = m->bytes = 0;
}

void kf_vmemo_free(struct kf_vmemo *m)
{
    if (!m) {
        return;
    }
    clear(m);
    free(m->buf);
    free(m->plugins);
    free(m->recs);
    free(m);
}

/* The names joined as "a\0b\0\0" (caller frees), or NULL. */
static char *join_plugins(const char *const *names, size_t *len)
{
    size_t n = 1;
    for (size_t i = 0; names[i]; i++) {
        n += strlen(names[i]) + 1;
    }
    char *out = malloc(n), *p = out;
    if (!out) {
        return NULL;
    }
    for (size_t i = 0; names[i]; i++) {
        size_t k = strlen(names[i]) + 1;
        memcpy(p, names[i], k);
        p += k;
    }
    *p = '\0';
    *len = n;
    return out;
}

void kf_vmemo_begin(struct kf_vmemo *m, const char *const *plugins, int flavor)
{
    size_t len = 0;
    char *joined = join_plugins(plugins, &len);
    if (!joined || !m->plugins || m->flavor != flavor || m->plugins_len != len ||
        memcmp(m->plugins, joined, len) != 0) {
        clear(m); /* validated under other settings (or unknown ones): nothing carries over */
    }
    free(m->plugins);
    m->plugins = joined;
    m->plugins_len = len;
    m->flavor = flavor;
    m->gen++;
    m->nrec = m->cursor = 0;
    m->viewless = NULL;
}

static void record(struct kf_vmemo *m, json_object *item, const struct entry *e)
{
    if (m->nrec == m->caprec) {
        size_t cap = m->caprec ? m->caprec * 2 : 256;
        struct seen_rec *nr = realloc(m->recs, cap * sizeof(*nr));
        if (!nr) {
            return; /* not recorded: kf_vmemo_view() then copies the item afresh */
        }
        m->recs = nr;
        m->caprec = cap;
    }
    m->recs[m->nrec++] = (struct seen_rec){item, e->key, e->len, e->hash};
}

/* ---- the encoding ---------------------------------------------------------------------------- */

static void put(struct kf_vmemo *m, const void *p, size_t n)
{
    if (m->buf_oom) {
        return;
    }
    if (m->len + n > m->bufcap) {
        size_t cap = m->bufcap ? m->bufcap : 4096;
        while (cap < m->len + n) {
            cap *= 2;
        }
        unsigned char *nb = realloc(m->buf, cap);
        if (!nb) {
            m->buf_oom = true;
            return;
        }
        m->buf = nb;
        m->bufcap = cap;
    }
    memcpy(m->buf + m->len, p, n);
    m->len += n;
}

static void put_tag(struct kf_vmemo *m, char tag)
{
    put(m, &tag, 1);
}

static void put_len(struct kf_vmemo *m, size_t n)
{
    unsigned char b[10];
    size_t k = 0;
    do {
        b[k++] = (unsigned char)((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
        n >>= 7;
    } while (n);
    put(m, b, k);
}

static void put_bytes(struct kf_vmemo *m, const char *s, size_t n)
{
    put_len(m, n);
    put(m, s, n);
}

static void encode(struct kf_vmemo *m, json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        put_tag(m, 'n');
        return;
    case json_type_boolean:
        put_tag(m, json_object_get_boolean(v) ? 't' : 'f');
        return;
    case json_type_int: {
        int64_t i = json_object_get_int64(v);
        uint64_t u = json_object_get_uint64(v);
        put_tag(m, 'i');
        put(m, &i, sizeof(i));
        put(m, &u, sizeof(u));
        return;
    }
    case json_type_double: {
        double d = json_object_get_double(v);
        put_tag(m, 'd');
        put(m, &d, sizeof(d));
        const char *text = json_object_get_string(v); /* the source text a check may read */
        put_bytes(m, text ? text : "", text ? strlen(text) : 0);
        return;
    }
    case json_type_string:
        put_tag(m, 's');
        put_bytes(m, json_object_get_string(v), (size_t)json_object_get_string_len(v));
        return;
    case json_type_array: {
        size_t n = json_object_array_length(v);
        put_tag(m, 'a');
        put_len(m, n);
        for (size_t i = 0; i < n; i++) {
            encode(m, json_object_array_get_idx(v, i));
        }
        return;
    }
    case json_type_object:
        put_tag(m, 'o');
        put_len(m, (size_t)json_object_object_length(v));
        json_object_object_foreach(v, k, val)
        {
            put_bytes(m, k, strlen(k));
            encode(m, val);
        }
        return;
    }
}

/* ---- the table ------------------------------------------------------------------------------- */

static struct entry *find(const struct kf_vmemo *m, uint64_t hash, const unsigned char *key,
                          size_t len)
{
    if (!m->cap) {
        return NULL;
    }
    for (size_t i = hash & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct entry *s = &m->slots[i];
        if (!s->key) {
            return NULL;
        }
        if (s->hash == hash && s->len == len && memcmp(s->key, key, len) == 0) {
            return s;
        }
    }
}

static void place(struct entry *slots, size_t cap, struct entry e)
{
    size_t i = e.hash & (cap - 1);
    while (slots[i].key) {
        i = (i + 1) & (cap - 1);
    }
    slots[i] = e;
}

static bool grow(struct kf_vmemo *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    struct entry *ns = calloc(cap, sizeof(*ns));
    if (!ns) {
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key) {
            place(ns, cap, m->slots[i]);
        }
    }
    free(m->slots);
    m->slots = ns;
    m->cap = cap;
    return true;
}

bool kf_vmemo_seen(struct kf_vmemo *m, const char *plural, json_object *item)
{
    m->len = 0;
    m->buf_oom = false;
    put_bytes(m, plural, strlen(plural));
    encode(m, item);
    if (m->buf_oom) {
        return false;
    }
    m->hash = kgc_strmap_hash((const char *)m->buf, m->len);
    struct entry *e = find(m, m->hash, m->buf, m->len);
    if (e) {
        e->gen = m->gen;
        record(m, item, e);
    }
    return e != NULL;
}

void kf_vmemo_add_last(struct kf_vmemo *m, json_object *item)
{
    if (m->buf_oom || m->len == 0 || m->bytes + m->len > VMEMO_MAX_BYTES ||
        find(m, m->hash, m->buf, m->len)) {
        return;
    }
    if ((m->n + 1) * 4 > m->cap * 3 && !grow(m)) {
        return;
    }
    unsigned char *key = malloc(m->len);
    if (!key) {
        return;
    }
    memcpy(key, m->buf, m->len);
    struct entry e = {m->hash, key, m->len, m->gen, NULL};
    place(m->slots, m->cap, e);
    m->n++;
    m->bytes += m->len;
    record(m, item, &e);
}

json_object *kf_vmemo_view(struct kf_vmemo *m, json_object *item)
{
    m->viewless = NULL;
    if (m->cursor >= m->nrec || m->recs[m->cursor].item != item) {
        return NULL; /* not one the schema pass met in the memo */
    }
    const struct seen_rec *r = &m->recs[m->cursor++];
    struct entry *e = find(m, r->hash, r->key, r->len);
    if (!e) {
        return NULL;
    }
    if (!e->view) {
        m->viewless = e;
        return NULL;
    }
    return json_object_get(e->view);
}

void kf_vmemo_keep_view(struct kf_vmemo *m, json_object *view)
{
    if (m->viewless) {
        m->viewless->view = json_object_get(view);
        m->viewless = NULL;
    }
}

void kf_vmemo_end(struct kf_vmemo *m)
{
    /* keep what this validation used or found valid; a table of that many entries */
    size_t keep = 0;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key && m->slots[i].gen == m->gen) {
            keep++;
        }
    }
    if (keep == m->n) {
        goto shrink_buf;
    }
    size_t cap = 1024;
    while ((keep + 1) * 4 > cap * 3) {
        cap *= 2;
    }
    struct entry *ns = calloc(cap, sizeof(*ns));
    if (!ns) {
        clear(m); /* cannot rebuild: forget everything (the memo is only a shortcut) */
        goto shrink_buf;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < m->cap; i++) {
        struct entry *s = &m->slots[i];
        if (!s->key) {
            continue;
        }
        if (s->gen == m->gen) {
            place(ns, cap, *s);
            bytes += s->len;
        } else {
            free(s->key);
            json_object_put(s->view);
        }
    }
    free(m->slots);
    m->slots = ns;
    m->cap = cap;
    m->n = keep;
    m->bytes = bytes;
shrink_buf:
    if (m->bufcap > ((size_t)1 << 20)) { /* one huge entity does not pin its buffer */
        free(m->buf);
        m->buf = NULL;
        m->bufcap = 0;
    }
    m->len = 0;
}

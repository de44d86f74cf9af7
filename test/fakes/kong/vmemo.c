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
 * never trusted to a hash alone.
 *
 * The texts (kf_vmemo_parse, used by the server before kf_validate): each remembered entity also
 * keeps the bytes it was parsed from and the value json-c parsed from them. The next text's
 * top-level entity arrays are delimited element by element (plain JSON only: anything this scan
 * cannot delimit for certain goes to kf_text_parse whole); an element whose bytes equal
 * remembered ones is that remembered value (json-c's parse of a value depends on its bytes alone,
 * and an element is never nested deep enough for the tokener's depth bound to matter), shared
 * instead of parsed, and kf_vmemo_seen() finds its entry from the encoding kept with it instead
 * of encoding it again. Other elements are parsed alone by the same tokener. At 10k routes this
 * turns ~70 ms of parsing and ~20 ms of encoding per one-route change into ~12 ms of scanning and
 * hashing; test_fake_kong, fuzz_kong_config_text and fuzz_translate compare both parses and both
 * answers byte for byte. */
#include "entities.h"
#include "kong_fake.h"

#include <kgc/strmap.h>

#include <ctype.h>
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
    bool complete;     /* whether every item in view has an id (declarative.c ids_missing) */
};

/* The text of a top-level entity (kf_vmemo_parse): its kind and bytes, the element json-c parsed
 * from them (so equal bytes give this very value again) and that value's encoding. */
struct raw {
    uint64_t hash;
    unsigned char *key; /* plural, NUL, the element's bytes (owned); NULL: empty slot */
    size_t len;
    unsigned gen;
    json_object *item;  /* the parsed element (owned, never changed) */
    unsigned char *enc; /* its encoding as kf_vmemo_seen() builds it (owned) */
    size_t enclen;
    uint64_t enchash;
};

/* A top-level element kf_vmemo_parse() put in its document, in document order. */
struct pre {
    json_object *item;
    const char *span; /* its bytes in the text (borrowed for the validation) */
    size_t len;
    const unsigned char *enc; /* the raw entry's encoding when item is that entry's, else NULL */
    size_t enclen;
    uint64_t enchash;
    const unsigned char *rkey; /* that raw entry's key (stable while it lives), its length, hash */
    size_t rklen;
    uint64_t rhash;
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
    /* the texts of the entities (kf_vmemo_parse), open addressing, cap a power of two */
    struct raw *raws;
    size_t rcap, rn;
    /* the elements of the document kf_vmemo_parse() built last, and where kf_vmemo_seen() is */
    struct pre *pres;
    size_t npre, cappre, pcur;
    struct pre *lastpre; /* the element kf_vmemo_seen() looked up last, or NULL */
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
    for (size_t i = 0; i < m->rcap; i++) {
        free(m->raws[i].key);
        free(m->raws[i].enc);
        json_object_put(m->raws[i].item);
    }
    free(m->raws);
    m->raws = NULL;
    m->rcap = m->rn = 0;
    for (size_t i = 0; i < m->npre; i++) { /* the encodings were the raw entries' */
        m->pres[i].enc = m->pres[i].rkey = NULL;
    }
    m->lastpre = NULL;
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
    free(m->pres);
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

/* ---- the texts ------------------------------------------------------------------------------- */

static struct raw *raw_find(const struct kf_vmemo *m, uint64_t hash, const unsigned char *key,
                            size_t len)
{
    if (!m->rcap) {
        return NULL;
    }
    for (size_t i = hash & (m->rcap - 1);; i = (i + 1) & (m->rcap - 1)) {
        struct raw *r = &m->raws[i];
        if (!r->key) {
            return NULL;
        }
        if (r->hash == hash && r->len == len && memcmp(r->key, key, len) == 0) {
            return r;
        }
    }
}

static void raw_place(struct raw *raws, size_t cap, struct raw r)
{
    size_t i = r.hash & (cap - 1);
    while (raws[i].key) {
        i = (i + 1) & (cap - 1);
    }
    raws[i] = r;
}

/* The raw entries in a new table of cap slots: all of them (keep_old), or only those this
 * validation used (the others are freed); false when out of memory (then nothing changed). */
static bool raw_rebuild(struct kf_vmemo *m, size_t cap, bool keep_old)
{
    struct raw *nr = calloc(cap, sizeof(*nr));
    if (!nr) {
        return false;
    }
    size_t n = 0;
    for (size_t i = 0; i < m->rcap; i++) {
        struct raw *r = &m->raws[i];
        if (!r->key) {
            continue;
        }
        if (keep_old || r->gen == m->gen) {
            raw_place(nr, cap, *r);
            n++;
        } else {
            free(r->key);
            free(r->enc);
            json_object_put(r->item);
        }
    }
    free(m->raws);
    m->raws = nr;
    m->rcap = cap;
    m->rn = n;
    return true;
}

/* The key of a raw entry: plural, NUL, bytes (caller frees), or NULL. */
static unsigned char *raw_key(const char *plural, const char *span, size_t len, size_t *klen)
{
    size_t pl = strlen(plural) + 1;
    unsigned char *k = malloc(pl + len);
    if (k) {
        memcpy(k, plural, pl);
        memcpy(k + pl, span, len);
        *klen = pl + len;
    }
    return k;
}

/* Remembers p's bytes with p's item and the encoding in m->buf (the item's). */
static void raw_add(struct kf_vmemo *m, const char *plural, struct pre *p)
{
    size_t klen = 0;
    if (!p->span || p->enc || m->buf_oom || m->len == 0 ||
        m->bytes + m->len + p->len + strlen(plural) + 1 > VMEMO_MAX_BYTES) {
        return;
    }
    if ((m->rn + 1) * 4 > m->rcap * 3 && !raw_rebuild(m, m->rcap ? m->rcap * 2 : 1024, true)) {
        return;
    }
    unsigned char *key = raw_key(plural, p->span, p->len, &klen);
    unsigned char *enc = key ? malloc(m->len) : NULL;
    if (!enc) {
        free(key);
        return;
    }
    uint64_t hash = kgc_strmap_hash((const char *)key, klen);
    struct raw *old = raw_find(m, hash, key, klen);
    if (old) { /* the same bytes again, as a value of their own: keep the one remembered */
        old->gen = m->gen;
        free(key);
        free(enc);
        return;
    }
    memcpy(enc, m->buf, m->len);
    raw_place(
        m->raws, m->rcap,
        (struct raw){hash, key, klen, m->gen, json_object_get(p->item), enc, m->len, m->hash});
    m->rn++;
    m->bytes += klen + m->len;
}

/* The element kf_vmemo_parse() put at this point of its document, when it is item. */
static struct pre *next_pre(struct kf_vmemo *m, json_object *item)
{
    if (m->pcur < m->npre && m->pres[m->pcur].item == item) {
        return &m->pres[m->pcur++];
    }
    return NULL;
}

bool kf_vmemo_seen(struct kf_vmemo *m, const char *plural, json_object *item)
{
    m->len = 0;
    m->buf_oom = false;
    struct pre *p = m->lastpre = next_pre(m, item);
    if (p && p->enc) {
        /* the very value remembered with these bytes: its encoding is known */
        struct entry *e = find(m, p->enchash, p->enc, p->enclen);
        if (e) {
            struct raw *r = raw_find(m, p->rhash, p->rkey, p->rklen);
            if (r) {
                r->gen = m->gen;
            }
            e->gen = m->gen;
            record(m, item, e);
            return true;
        }
    }
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
        if (p) {
            raw_add(m, plural, p);
        }
    }
    return e != NULL;
}

void kf_vmemo_add_last(struct kf_vmemo *m, const char *plural, json_object *item)
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
    struct entry e = {m->hash, key, m->len, m->gen, NULL, false};
    place(m->slots, m->cap, e);
    m->n++;
    m->bytes += m->len;
    record(m, item, &e);
    if (m->lastpre && m->lastpre->item == item) {
        raw_add(m, plural, m->lastpre);
    }
}

json_object *kf_vmemo_view(struct kf_vmemo *m, json_object *item, bool *complete)
{
    *complete = false;
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
    *complete = e->complete;
    return json_object_get(e->view);
}

void kf_vmemo_keep_view(struct kf_vmemo *m, json_object *view, bool complete)
{
    if (m->viewless) {
        m->viewless->view = json_object_get(view);
        m->viewless->complete = complete;
        m->viewless = NULL;
    }
}

void kf_vmemo_end(struct kf_vmemo *m)
{
    /* the texts: keep those of this validation's elements */
    size_t rkeep = 0;
    for (size_t i = 0; i < m->rcap; i++) {
        if (m->raws[i].key && m->raws[i].gen == m->gen) {
            rkeep++;
        }
    }
    if (rkeep != m->rn) {
        size_t rcap = 1024;
        while ((rkeep + 1) * 4 > rcap * 3) {
            rcap *= 2;
        }
        if (!raw_rebuild(m, rcap, false)) {
            clear(m); /* cannot rebuild: forget everything (the memo is only a shortcut) */
        }
    }
    m->npre = m->pcur = 0; /* their spans were the request's */
    m->lastpre = NULL;
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
    for (size_t i = 0; i < m->cap; i++) {
        struct entry *s = &m->slots[i];
        if (!s->key) {
            continue;
        }
        if (s->gen == m->gen) {
            place(ns, cap, *s);
        } else {
            free(s->key);
            json_object_put(s->view);
        }
    }
    free(m->slots);
    m->slots = ns;
    m->cap = cap;
    m->n = keep;
shrink_buf:
    m->bytes = 0; /* what the entries and the texts kept hold */
    for (size_t i = 0; i < m->cap; i++) {
        m->bytes += m->slots[i].key ? m->slots[i].len : 0;
    }
    for (size_t i = 0; i < m->rcap; i++) {
        m->bytes += m->raws[i].key ? m->raws[i].len + m->raws[i].enclen : 0;
    }
    if (m->bufcap > ((size_t)1 << 20)) { /* one huge entity does not pin its buffer */
        free(m->buf);
        m->buf = NULL;
        m->bufcap = 0;
    }
    m->len = 0;
}

/* ---- parsing with the texts ------------------------------------------------------------------ */

/* Where kf_text_parse() reads JSON (text.c): nesting bound of its tokener. */
#define PARSE_MAX_DEPTH 64
/* An element nested deeper than this is left to kf_text_parse(): well within PARSE_MAX_DEPTH
 * from where it sits (depth 2), so its value cannot depend on where it is parsed. */
#define SPAN_MAX_DEPTH 32

static bool json_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static size_t skip_ws(const char *t, size_t len, size_t i)
{
    while (i < len && json_ws(t[i])) {
        i++;
    }
    return i;
}

/* The end of the string starting at t[i] == '"' (just past its closing quote), or 0. With
 * plain set, 0 as well when it has an escape or a control byte. */
static size_t string_end(const char *t, size_t len, size_t i, bool plain)
{
    for (i++; i < len; i++) {
        unsigned char ch = (unsigned char)t[i];
        if (ch == '"') {
            return i + 1;
        }
        if (plain && (ch == '\\' || ch < 0x20)) {
            return 0;
        }
        if (ch == '\\') {
            i++;
        }
    }
    return 0;
}

/* The end of the value starting at t[i] (just past it), or 0 when it is not plain JSON this scan
 * can delimit for certain: strings, brackets properly nested at most SPAN_MAX_DEPTH deep, and
 * outside strings only whitespace, punctuation, digits and letters (no comments, no quotes of
 * another kind: json-c's extensions that could hide a bracket). */
static size_t value_end(const char *t, size_t len, size_t i)
{
    char stack[SPAN_MAX_DEPTH];
    size_t depth = 0;
    size_t start = i;
    while (i < len) {
        char ch = t[i];
        if (ch == '"') {
            if (!(i = string_end(t, len, i, false))) {
                return 0;
            }
        } else if (ch == '{' || ch == '[') {
            if (depth == SPAN_MAX_DEPTH) {
                return 0;
            }
            stack[depth++] = ch == '{' ? '}' : ']';
            i++;
        } else if (ch == '}' || ch == ']') {
            if (depth == 0) {
                return i > start ? i : 0; /* the end of a scalar */
            }
            if (stack[--depth] != ch) {
                return 0;
            }
            i++;
        } else if (ch == ',' || json_ws(ch)) {
            if (depth == 0) {
                return i > start ? i : 0;
            }
            i++;
        } else if (ch == ':' || ch == '+' || ch == '-' || ch == '.' || (ch >= '0' && ch <= '9') ||
                   (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
            i++;
        } else {
            return 0;
        }
        if (depth == 0 && (t[start] == '{' || t[start] == '[' || t[start] == '"')) {
            return i;
        }
    }
    return 0;
}

/* The value json-c parses from t[i..end) followed by t[end] (a delimiter json-c needs to end a
 * number), or NULL when it does not parse as exactly that value. */
static json_object *parse_span(json_tokener *tok, const char *t, size_t len, size_t i, size_t end)
{
    if (end >= len) {
        return NULL;
    }
    json_tokener_reset(tok);
    json_object *v = json_tokener_parse_ex(tok, t + i, (int)(end - i + 1));
    size_t used = json_tokener_get_parse_end(tok);
    /* json-c takes one whitespace byte after a complete value along with it */
    if (json_tokener_get_error(tok) != json_tokener_success || used < end - i ||
        (used == end - i + 1 && !json_ws(t[end])) || used > end - i + 1) {
        json_object_put(v);
        return NULL;
    }
    return v;
}

static bool pre_add(struct kf_vmemo *m, json_object *item, const char *span, size_t len,
                    const struct raw *r)
{
    if (m->npre == m->cappre) {
        size_t cap = m->cappre ? m->cappre * 2 : 1024;
        struct pre *np = realloc(m->pres, cap * sizeof(*np));
        if (!np) {
            return false;
        }
        m->pres = np;
        m->cappre = cap;
    }
    struct pre p = {item, span, len, NULL, 0, 0, NULL, 0, 0};
    if (r) {
        p.enc = r->enc;
        p.enclen = r->enclen;
        p.enchash = r->enchash;
        p.rkey = r->key;
        p.rklen = r->len;
        p.rhash = r->hash;
    }
    m->pres[m->npre++] = p;
    return true;
}

/* The array of entities of kind plural starting at t[*pos] == '['; *pos moves past it. */
static json_object *parse_entities(struct kf_vmemo *m, json_tokener *tok, const char *plural,
                                   const char *t, size_t len, size_t *pos)
{
    json_object *arr = json_object_new_array();
    size_t i = skip_ws(t, len, *pos + 1);
    if (!arr || i >= len) {
        json_object_put(arr);
        return NULL;
    }
    if (t[i] == ']') {
        *pos = i + 1;
        return arr;
    }
    char key[64];
    size_t pl = strlen(plural) + 1;
    memcpy(key, plural, pl);
    for (;;) {
        size_t end = value_end(t, len, i);
        if (!end) {
            break;
        }
        /* the same bytes as an element remembered: the same value (json-c's parse depends on
         * nothing else), so the remembered one is shared */
        size_t n = end - i;
        struct raw *r = NULL;
        if (m->rcap) {
            m->len = 0;
            m->buf_oom = false;
            put(m, key, pl);
            put(m, t + i, n);
            if (!m->buf_oom) {
                r = raw_find(m, kgc_strmap_hash((const char *)m->buf, m->len), m->buf, m->len);
            }
            m->len = 0;
        }
        json_object *item = r ? json_object_get(r->item) : parse_span(tok, t, len, i, end);
        if (!item || json_object_array_add(arr, item) != 0) {
            json_object_put(item);
            break;
        }
        if (!pre_add(m, item, t + i, n, r)) {
            break;
        }
        i = skip_ws(t, len, end);
        if (i < len && t[i] == ',') {
            i = skip_ws(t, len, i + 1);
            continue;
        }
        if (i < len && t[i] == ']') {
            *pos = i + 1;
            return arr;
        }
        break;
    }
    json_object_put(arr);
    return NULL;
}

int kf_vmemo_parse(struct kf_vmemo *m, const char *text, size_t len, json_object **out)
{
    *out = NULL;
    m->npre = m->pcur = 0;
    m->lastpre = NULL;
    json_tokener *tok = json_tokener_new_ex(PARSE_MAX_DEPTH);
    json_object *root = json_object_new_object();
    size_t i = skip_ws(text, len, 0);
    if (!tok || !root) {
        goto fallback;
    }
    if (i >= len || text[i] != '{') {
        goto fallback;
    }
    i = skip_ws(text, len, i + 1);
    if (i < len && text[i] == '}') {
        i++;
    } else {
        for (;;) {
            size_t kend = i < len && text[i] == '"' ? string_end(text, len, i, true) : 0;
            char key[64];
            size_t klen = kend ? kend - i - 2 : 0;
            if (!kend || klen >= sizeof(key)) {
                goto fallback;
            }
            memcpy(key, text + i + 1, klen);
            key[klen] = '\0';
            if (json_object_object_get_ex(root, key, NULL)) {
                goto fallback; /* a repeated key: left to json-c */
            }
            i = skip_ws(text, len, kend);
            if (i >= len || text[i] != ':') {
                goto fallback;
            }
            i = skip_ws(text, len, i + 1);
            json_object *v = NULL;
            if (i < len && text[i] == '[' && kf_entity(key)) {
                v = parse_entities(m, tok, kf_entity(key)->plural, text, len, &i);
            } else {
                size_t end = value_end(text, len, i);
                v = end ? parse_span(tok, text, len, i, end) : NULL;
                i = end;
            }
            if (!v || json_object_object_add(root, key, v) != 0) {
                json_object_put(v);
                goto fallback;
            }
            i = skip_ws(text, len, i);
            if (i < len && text[i] == ',') {
                i = skip_ws(text, len, i + 1);
                continue;
            }
            if (i < len && text[i] == '}') {
                i++;
                break;
            }
            goto fallback;
        }
    }
    for (; i < len; i++) { /* kf_text_parse(): only whitespace may follow */
        if (!isspace((unsigned char)text[i])) {
            goto fallback;
        }
    }
    json_tokener_free(tok);
    *out = root;
    return 0;
fallback:
    json_tokener_free(tok);
    json_object_put(root);
    m->npre = m->pcur = 0;
    m->lastpre = NULL;
    return 1;
}

/* sync — the state machine: debounce, per-instance push decisions, backoff, what a restarted
 * instance carries, and the `programmed` answer (see sync_internal.h and pkg/sync/README.md).
 *
 * Pure: no I/O, no thread, no lock, no clock read, no log. The syncer thread (sync.c) asks
 * kgc_sync_machine_next() what to do, does it with its lock released and feeds the result back;
 * tests drive it directly with made-up times, events and blobs. */
#include "sync_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- blobs ------------------------------------------------------------------------------------
 */

struct kgc_sync_blob *kgc_sync_blob_new(const char *hash, bool empty)
{
    struct kgc_sync_blob *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    snprintf(b->hash, sizeof(b->hash), "%s", hash ? hash : "");
    b->empty = empty;
    return b;
}

static int gws_room(struct kgc_sync_blob *b, size_t more)
{
    if (b->n_gws + more <= b->cap_gws)
        return 0;
    size_t cap = b->cap_gws ? 2 * b->cap_gws : 8;
    while (cap < b->n_gws + more)
        cap *= 2;
    struct kgc_sync_gwref *v = realloc(b->gws, cap * sizeof(*v));
    if (!v)
        return KGC_ENOMEM;
    b->gws = v;
    b->cap_gws = cap;
    return 0;
}

int kgc_sync_blob_add_gateways(struct kgc_sync_blob *b, const struct kgc_sync_gwref *v, size_t n)
{
    if (b->keys_block) { /* one block per blob: the rest one by one */
        for (size_t i = 0; i < n; i++)
            if (kgc_sync_blob_add_gateway(b, v[i].key, v[i].generation) != 0)
                return KGC_ENOMEM;
        return 0;
    }
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i].key) + 1;
    if (!n || gws_room(b, n) != 0 || !(b->keys_block = malloc(len)))
        return n ? KGC_ENOMEM : 0;
    b->keys_block_len = len;
    char *p = b->keys_block;
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(v[i].key) + 1;
        memcpy(p, v[i].key, kl);
        b->gws[b->n_gws++] = (struct kgc_sync_gwref){.key = p, .generation = v[i].generation};
        p += kl;
    }
    return 0;
}

int kgc_sync_blob_add_gateway(struct kgc_sync_blob *b, const char *key, int64_t gen)
{
    if (gws_room(b, 1) != 0)
        return KGC_ENOMEM;
    char *k = strdup(key);
    if (!k)
        return KGC_ENOMEM;
    b->gws[b->n_gws++] = (struct kgc_sync_gwref){.key = k, .generation = gen};
    return 0;
}

struct kgc_sync_blob *kgc_sync_blob_ref(struct kgc_sync_blob *b)
{
    if (b)
        atomic_fetch_add(&b->refs, 1);
    return b;
}

void kgc_sync_blob_unref(struct kgc_sync_blob *b)
{
    if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    uintptr_t blk = (uintptr_t)b->keys_block, blk_end = blk + b->keys_block_len;
    for (size_t i = 0; i < b->n_gws; i++) {
        uintptr_t k = (uintptr_t)b->gws[i].key;
        if (!blk || k < blk || k >= blk_end)
            free(b->gws[i].key);
    }
    free(b->keys_block);
    free(b->gws);
    if (b->shared)
        kgc_translate_text_unref(b->shared);
    else
        free(b->text);
    free(b);
}

void kgc_sync_blob_set(struct kgc_sync_blob **slot, struct kgc_sync_blob *b)
{
    struct kgc_sync_blob *old = *slot;
    *slot = kgc_sync_blob_ref(b);
    kgc_sync_blob_unref(old);
}

static int gwref_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kgc_sync_gwref *)a)->key, ((const struct kgc_sync_gwref *)b)->key);
}

/* splitmix64's finaliser: spreads every input bit over the result */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t str64(const char *s)
{
    return kgc_strmap_hash(s, strlen(s));
}

/* one entry's share of a set digest: the digest is their sum, so any order gives it */
static uint64_t gwref_digest(const struct kgc_sync_gwref *g)
{
    return mix64(str64(g->key) ^ mix64((uint64_t)g->generation));
}

static uint64_t set_digest_of(const struct kgc_sync_blob *b)
{
    uint64_t d = 0;
    for (size_t k = 0; k < b->n_gws; k++)
        d += gwref_digest(&b->gws[k]);
    return d;
}

void kgc_sync_blob_seal(struct kgc_sync_blob *b)
{
    if (b->n_gws > 1)
        qsort(b->gws, b->n_gws, sizeof(*b->gws), gwref_cmp);
    b->n_sorted = b->n_gws;
    b->set_digest = set_digest_of(b);
}

uint64_t kgc_sync_blob_set_digest(const struct kgc_sync_blob *b)
{
    if (!b)
        return 0;
    return b->n_sorted == b->n_gws ? b->set_digest : set_digest_of(b);
}

bool kgc_sync_blob_has_gateway(const struct kgc_sync_blob *b, const char *key, int64_t gen)
{
    if (!b)
        return false;
    /* the sorted part: the first entry >= key, then every entry equal to it (a set may hold a
     * key twice) */
    size_t lo = 0, hi = b->n_sorted <= b->n_gws ? b->n_sorted : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(b->gws[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < b->n_sorted && strcmp(b->gws[lo].key, key) == 0; lo++)
        if (b->gws[lo].generation >= gen)
            return true;
    /* what was added after the last seal */
    for (size_t k = b->n_sorted; k < b->n_gws; k++)
        if (strcmp(b->gws[k].key, key) == 0 && b->gws[k].generation >= gen)
            return true;
    return false;
}

const char *kgc_sync_blob_kong_hash(const struct kgc_sync_blob *b)
{
    return b->empty ? KGC_KONG_EMPTY_HASH : b->hash;
}

static bool hash_eq(const struct kgc_sync_blob *b, const char *hash)
{
    return b && hash && strcmp(b->hash, hash) == 0;
}

/* Whether Kong reporting hash means it holds b. */
static bool kong_hash_eq(const struct kgc_sync_blob *b, const char *hash)
{
    return b && hash && strcmp(kgc_sync_blob_kong_hash(b), hash) == 0;
}

/* ---- life -------------------------------------------------------------------------------------
 */

void kgc_sync_machine_init(struct kgc_sync_machine *m, uint64_t debounce_ns, uint64_t max_delay_ns)
{
    memset(m, 0, sizeof(*m));
    m->debounce_ns = debounce_ns;
    m->max_delay_ns = max_delay_ns ? max_delay_ns : KGC_NS_PER_S;
    if (m->max_delay_ns < m->debounce_ns)
        m->max_delay_ns = m->debounce_ns;
    m->max_pushes = 1;
}

void kgc_sync_machine_set_max_pushes(struct kgc_sync_machine *m, unsigned n)
{
    m->max_pushes = n ? n : 1;
}

bool kgc_sync_machine_take_latency(struct kgc_sync_machine *m, uint64_t *ns)
{
    if (!m->latency_ready)
        return false;
    m->latency_ready = false;
    *ns = m->latency_ns;
    return true;
}

void kgc_sync_machine_free(struct kgc_sync_machine *m)
{
    while (m->insts) {
        struct kgc_sync_inst *i = m->insts;
        m->insts = i->next;
        kgc_sync_blob_unref(i->accepted);
        kgc_sync_blob_unref(i->carried);
        free(i);
    }
    kgc_sync_blob_unref(m->cur);
    kgc_sync_blob_unref(m->last_good);
    kgc_sync_blob_unref(m->restored);
    m->cur = m->last_good = m->restored = NULL;
}

struct kgc_sync_inst *kgc_sync_machine_instance(struct kgc_sync_machine *m, const char *url,
                                                bool create)
{
    for (struct kgc_sync_inst *i = m->insts; i; i = i->next)
        if (strcmp(i->url, url) == 0)
            return i;
    if (!create)
        return NULL;
    struct kgc_sync_inst *i = calloc(1, sizeof(*i));
    if (!i)
        return NULL;
    snprintf(i->url, sizeof(i->url), "%s", url);
    i->last_result = "";
    i->next = m->insts;
    m->insts = i;
    return i;
}

struct kgc_sync_inst *kgc_sync_machine_add_static(struct kgc_sync_machine *m, const char *url)
{
    struct kgc_sync_inst *i = kgc_sync_machine_instance(m, url, true);
    if (i) {
        i->is_static = true;
        i->ready = true;
        i->force = true;
    }
    return i;
}

/* ---- inputs -----------------------------------------------------------------------------------
 */

void kgc_sync_machine_mark(struct kgc_sync_machine *m, uint64_t now)
{
    if (!m->dirty) {
        m->dirty = true;
        m->first_mark_ns = now;
        m->lead = !m->translated || now - m->last_fresh_ns >= m->debounce_ns;
    }
    m->last_mark_ns = now;
}

void kgc_sync_machine_want_upkeep(struct kgc_sync_machine *m, uint64_t now)
{
    if (!m->upkeep) {
        m->upkeep = true;
        m->upkeep_since_ns = now;
    }
    uint64_t after = now + KGC_SYNC_UPKEEP_QUIET_NS;
    uint64_t cap = m->upkeep_since_ns + KGC_SYNC_UPKEEP_MAX_NS;
    m->upkeep_after_ns = after < cap ? after : cap;
}

void kgc_sync_machine_set_leader(struct kgc_sync_machine *m, bool leader)
{
    if (leader && !m->leader)
        for (struct kgc_sync_inst *i = m->insts; i; i = i->next) {
            i->force = true;
            i->retry_at_ns = 0;
        }
    m->leader = leader;
}

uint64_t kgc_sync_backoff_ns(unsigned attempts)
{
    uint64_t d = KGC_SYNC_BACKOFF_MIN_NS;
    for (unsigned k = 0; k < attempts && d < KGC_SYNC_BACKOFF_MAX_NS; k++)
        d *= 2;
    return d < KGC_SYNC_BACKOFF_MAX_NS ? d : KGC_SYNC_BACKOFF_MAX_NS;
}

/* What instance i held before it restarted empty: what it accepted from this process, else what
 * it was already counted as carrying, else what the last kgc process saw accepted (restored). */
static struct kgc_sync_blob *carried_before_restart(struct kgc_sync_machine *m,
                                                    struct kgc_sync_inst *i)
{
    return i->accepted ? i->accepted : i->carried ? i->carried : m->restored;
}

/* i lost its configuration: re-pushed at once, and until that answers it counts as carrying
 * what it had. Not at once when this very process already refused a push (attempts counts its
 * failures only): its backoff or Retry-After stands. That is the order where the push READY
 * made was answered before the same probe's RESTARTED and HASH_CHANGED were read: they tell
 * nothing new. */
static void lost_config(struct kgc_sync_machine *m, struct kgc_sync_inst *i)
{
    kgc_sync_blob_set(&i->carried, carried_before_restart(m, i));
    kgc_sync_blob_set(&i->accepted, NULL);
    i->force = true;
    if (!i->attempts)
        i->retry_at_ns = 0;
}

bool kgc_sync_machine_event(struct kgc_sync_machine *m, enum kgc_kong_event_type type,
                            const char *url, const char *node_id, const char *hash,
                            const char **why)
{
    *why = NULL;
    struct kgc_sync_inst *i = kgc_sync_machine_instance(m, url, type != KGC_KONG_EV_REMOVED);
    if (!i)
        return false;
    if (!hash)
        hash = "";
    switch (type) {
    case KGC_KONG_EV_READY:
        if (node_id)
            snprintf(i->node_id, sizeof(i->node_id), "%s", node_id);
        /* first seen by this process: until the push answers, it counts as carrying what the
         * last process saw accepted (a 304 or an acceptance replaces that at once) */
        if (!i->accepted && !i->carried && m->restored)
            kgc_sync_blob_set(&i->carried, m->restored);
        i->ready = true;
        i->removed = false;
        i->force = true; /* push at once; 304 when it already holds it */
        i->retry_at_ns = 0;
        i->attempts = 0;
        *why = "ready";
        return true;
    case KGC_KONG_EV_RESTARTED:
        /* A process no READY announced (it restarted between two probes, so the prober never
         * saw it down): the failures counted so far were the old process's, pushes to a dead
         * address, not failures of this one's re-push (READY resets them likewise). */
        if (node_id && node_id[0] && strcmp(node_id, i->node_id) != 0)
            i->attempts = 0;
        if (node_id)
            snprintf(i->node_id, sizeof(i->node_id), "%s", node_id);
        /* The prober says ready, then restarted, for the one probe that sees a new node_id: the
         * READY may already have pushed to this very process (the syncer thread runs between
         * the two). Then it holds the configuration: nothing to do. */
        if (i->accepted && i->node_id[0] && strcmp(i->accepted_node, i->node_id) == 0)
            return false;
        lost_config(m, i);
        i->rejected_hash[0] = '\0';
        *why = "restarted";
        return true;
    case KGC_KONG_EV_HASH_CHANGED:
        snprintf(i->kong_hash, sizeof(i->kong_hash), "%s", hash);
        if (kong_hash_eq(i->accepted, hash) || strcmp(i->inflight_hash, hash) == 0)
            return false; /* ours (zeros too, when what it holds or is being sent is empty) */
        if (kgc_kong_hash_is_empty(hash)) {
            lost_config(m, i);
            *why = "empty configuration";
            return true;
        }
        if (hash_eq(m->cur, hash) || hash_eq(m->last_good, hash)) {
            kgc_sync_blob_set(&i->accepted, hash_eq(m->cur, hash) ? m->cur : m->last_good);
            return true;
        }
        if (!hash[0])
            return false;
        if (!hash_eq(m->restored, hash))
            kgc_sync_blob_set(&m->restored, NULL);
        kgc_sync_blob_set(&i->accepted, NULL);
        i->force = true;
        i->retry_at_ns = 0;
        *why = "configuration changed by someone else";
        return true;
    case KGC_KONG_EV_UNREACHABLE:
        i->ready = false;
        return true;
    case KGC_KONG_EV_REMOVED:
        i->ready = false;
        i->removed = true;
        kgc_sync_blob_set(&i->accepted, NULL);
        kgc_sync_blob_set(&i->carried, NULL);
        return true;
    default:
        return false;
    }
}

/* ---- decisions --------------------------------------------------------------------------------
 */

/* What instance i should hold: the current configuration, else the last accepted one, never
 * the text it rejected. */
static struct kgc_sync_blob *target_of(const struct kgc_sync_machine *m,
                                       const struct kgc_sync_inst *i)
{
    if (m->cur && !hash_eq(m->cur, i->rejected_hash))
        return m->cur;
    if (m->last_good && !hash_eq(m->last_good, i->rejected_hash))
        return m->last_good;
    return NULL;
}

bool kgc_sync_machine_wants_push(const struct kgc_sync_machine *m, const struct kgc_sync_inst *i)
{
    if (i->removed || !i->ready)
        return false;
    const struct kgc_sync_blob *t = target_of(m, i);
    return t && (i->force || !i->accepted || !hash_eq(i->accepted, t->hash));
}

struct kgc_sync_decision kgc_sync_machine_next(struct kgc_sync_machine *m, uint64_t now)
{
    struct kgc_sync_decision d = {.what = KGC_SYNC_DO_IDLE};
    if (!m->leader)
        return d;
    uint64_t due = UINT64_MAX;
    if (m->dirty && m->lead) {
        due = m->first_mark_ns;
    } else if (m->dirty) {
        due = m->last_mark_ns + m->debounce_ns;
        if (m->first_mark_ns + m->max_delay_ns < due)
            due = m->first_mark_ns + m->max_delay_ns;
    }
    if (m->translate_now || (m->dirty && now >= due)) {
        d.what = KGC_SYNC_DO_TRANSLATE;
        d.fresh = m->dirty && now >= due;
        if (d.fresh) {
            m->translating_mark_ns = m->first_mark_ns;
            m->translated = true;
            m->last_fresh_ns = now;
            m->lead = false;
            m->dirty = false;
            m->exclude_rounds = 0;
        }
        m->translate_now = false;
        return d;
    }
    /* with every push slot taken, the next answer (an input) is what to wait for */
    for (struct kgc_sync_inst *i = m->insts; i && m->n_pushing < m->max_pushes; i = i->next) {
        if (i->pushing || !kgc_sync_machine_wants_push(m, i))
            continue;
        if (i->retry_at_ns <= now) {
            d.what = KGC_SYNC_DO_PUSH;
            d.inst = i;
            d.blob = kgc_sync_blob_ref(target_of(m, i));
            i->force = false;
            i->pushing = true;
            m->n_pushing++;
            snprintf(i->inflight_hash, sizeof(i->inflight_hash), "%s",
                     kgc_sync_blob_kong_hash(d.blob));
            snprintf(i->inflight_node, sizeof(i->inflight_node), "%s", i->node_id);
            return d;
        }
        if (i->retry_at_ns < due)
            due = i->retry_at_ns;
    }
    /* the translator's upkeep: only after a first translation, with nothing marked, and after
     * the pushes that can go now (a push never waits for an upkeep: at start-up one used to hold
     * the first push for a whole translation when the initial list outlasted the quiet time) */
    if (m->upkeep && m->translated && !m->dirty) {
        if (now >= m->upkeep_after_ns) {
            d.what = KGC_SYNC_DO_TRANSLATE;
            d.upkeep = true;
            m->upkeep = false;
            return d;
        }
        if (m->upkeep_after_ns < due)
            due = m->upkeep_after_ns;
    }
    if (due != UINT64_MAX) {
        d.what = KGC_SYNC_DO_WAIT;
        d.until_ns = due;
    }
    return d;
}

bool kgc_sync_machine_translated(struct kgc_sync_machine *m, struct kgc_sync_blob *b, bool fresh)
{
    bool adopted = false;
    /* the change it answers: a fresh translation's first mark; a re-translation (after a 400)
     * still answers the change of the text it replaces */
    if (m->cur && m->cur != b && hash_eq(m->cur, b->hash)) {
        /* the same text again (e.g. after kgc's own status write): it still answers the change
         * that first produced it */
        b->mark_ns = m->cur->mark_ns;
    } else if (!b->mark_ns) {
        b->mark_ns = fresh ? m->translating_mark_ns : m->cur ? m->cur->mark_ns : 0;
    }
    kgc_sync_blob_set(&m->cur, b);
    if (hash_eq(m->last_good, b->hash))
        kgc_sync_blob_set(&m->last_good, b);
    for (struct kgc_sync_inst *i = m->insts; i; i = i->next) {
        if (fresh)
            i->rejected_hash[0] = '\0';
        /* same text: the instance holds this configuration, with this Gateway set */
        if (i->accepted && i->accepted != b && hash_eq(i->accepted, b->hash)) {
            kgc_sync_blob_set(&i->accepted, b);
            adopted = true;
        }
    }
    return adopted;
}

void kgc_sync_machine_translate_failed(struct kgc_sync_machine *m, uint64_t now)
{
    if (!m->dirty) { /* try again after a debounce */
        m->dirty = true;
        m->lead = false;
        m->first_mark_ns = m->last_mark_ns = now;
    }
}

/* i's push was answered (or aborted): its slot is free. */
static void push_ended(struct kgc_sync_machine *m, struct kgc_sync_inst *i)
{
    i->inflight_hash[0] = '\0';
    if (i->pushing && m->n_pushing)
        m->n_pushing--;
    i->pushing = false;
}

void kgc_sync_machine_push_aborted(struct kgc_sync_machine *m, struct kgc_sync_inst *i)
{
    push_ended(m, i);
}

/* b was just accepted at now: when every ready instance holds b's change (b, or a text
 * translated after it), that change reached the whole data plane; measured once per change
 * (first mark), also when a newer translation exists already (the next change came while the
 * answer was on its way). */
static void maybe_latency(struct kgc_sync_machine *m, const struct kgc_sync_blob *b, uint64_t now)
{
    if (!b->mark_ns || b->mark_ns <= m->measured_mark_ns)
        return;
    uint64_t last_sent = 0;
    for (const struct kgc_sync_inst *i = m->insts; i; i = i->next) {
        if (i->removed || !i->ready)
            continue;
        if (!i->accepted || i->accepted->mark_ns < b->mark_ns)
            return;
        if (i->accepted_sent_ns > last_sent)
            last_sent = i->accepted_sent_ns;
    }
    if (!last_sent || last_sent > now)
        last_sent = now;
    m->measured_mark_ns = b->mark_ns;
    m->latency_ready = true;
    m->latency_ns = last_sent > b->mark_ns ? last_sent - b->mark_ns : 0;
}

/* A failure while i counted as carrying its old configuration: after KGC_SYNC_CARRIED_ATTEMPTS
 * of them, what it carried is gone for good. Returns whether that changed. */
static bool failed_carrying(struct kgc_sync_machine *m, struct kgc_sync_inst *i)
{
    if (i->attempts + 1 < KGC_SYNC_CARRIED_ATTEMPTS || !i->carried)
        return false;
    kgc_sync_blob_set(&i->carried, NULL);
    kgc_sync_blob_set(&m->restored, NULL);
    return true;
}

bool kgc_sync_machine_push_done(struct kgc_sync_machine *m, struct kgc_sync_inst *i,
                                struct kgc_sync_blob *b, const struct kgc_sync_push_outcome *o,
                                uint64_t now)
{
    bool changed = false;
    /* The answer is about the Kong process the push was picked for. When the prober has seen
     * another one since (Kong answered, or died, then restarted before this thread read the
     * answer), it says nothing about the new process: an acceptance is not the new process
     * holding the text, and a failure is not one of its re-push's failures. Its re-push is due
     * at once already (READY or RESTARTED forced it). A 400 is about the text: as usual. */
    bool gone = i->inflight_node[0] && i->node_id[0] && strcmp(i->inflight_node, i->node_id) != 0;
    push_ended(m, i);
    if (gone && (o->failed || o->kind != KGC_KONG_PUSH_REJECTED)) {
        if (!o->failed &&
            (o->kind == KGC_KONG_PUSH_APPLIED || o->kind == KGC_KONG_PUSH_UNCHANGED)) {
            kgc_sync_blob_set(&m->last_good, b); /* a Kong took it all the same */
            kgc_sync_blob_set(&m->restored, NULL);
        }
        return false;
    }
    if (o->failed) {
        changed = failed_carrying(m, i);
        i->retry_at_ns = now + kgc_sync_backoff_ns(i->attempts++);
        return changed;
    }
    switch (o->kind) {
    case KGC_KONG_PUSH_APPLIED:
    case KGC_KONG_PUSH_UNCHANGED:
        kgc_sync_blob_set(&i->accepted, b);
        snprintf(i->accepted_node, sizeof(i->accepted_node), "%s", i->inflight_node);
        kgc_sync_blob_set(&i->carried, NULL);
        kgc_sync_blob_set(&m->last_good, b);
        kgc_sync_blob_set(&m->restored, NULL); /* this process knows better now */
        i->force = false;
        i->attempts = 0;
        i->retry_at_ns = 0;
        snprintf(i->kong_hash, sizeof(i->kong_hash), "%s", kgc_sync_blob_kong_hash(b));
        i->accepted_sent_ns = o->sent_ns ? o->sent_ns : now;
        maybe_latency(m, b, now);
        return true;
    case KGC_KONG_PUSH_REJECTED:
        if (i->carried) {
            kgc_sync_blob_set(&i->carried, NULL);
            kgc_sync_blob_set(&m->restored, NULL); /* what it carried is gone for good */
            changed = true;
        }
        snprintf(i->rejected_hash, sizeof(i->rejected_hash), "%s", b->hash);
        i->retry_at_ns = 0;
        if (o->n_new_broken && m->exclude_rounds < KGC_SYNC_MAX_EXCLUDE_ROUNDS) {
            m->exclude_rounds++;
            m->translate_now = true;
        }
        return changed;
    case KGC_KONG_PUSH_BUSY:
    case KGC_KONG_PUSH_OTHER:
    default: {
        changed = failed_carrying(m, i);
        uint64_t d = kgc_sync_backoff_ns(i->attempts++);
        if (o->retry_after_s)
            d = (uint64_t)o->retry_after_s * KGC_NS_PER_S;
        if (d > KGC_SYNC_BACKOFF_MAX_NS)
            d = KGC_SYNC_BACKOFF_MAX_NS;
        i->retry_at_ns = now + d;
        return changed;
    }
    }
}

/* ---- queries ----------------------------------------------------------------------------------
 */

bool kgc_sync_machine_programmed(const struct kgc_sync_machine *m, const char *key, int64_t gen,
                                 char *why, size_t why_size)
{
    bool ok = true;
    size_t n_ready = 0;
    for (const struct kgc_sync_inst *i = m->insts; i && ok; i = i->next) {
        if (i->removed || !i->ready)
            continue;
        n_ready++;
        bool found = kgc_sync_blob_has_gateway(i->accepted, key, gen) ||
                     kgc_sync_blob_has_gateway(i->carried, key, gen); /* re-push pending */
        if (!found) {
            ok = false;
            if (why && why_size)
                snprintf(why, why_size, "waiting for Kong %s to accept the configuration", i->url);
        }
    }
    if (!ok || n_ready)
        return ok;
    /* Kong is down (restarting): keep the status the last-known data plane implies. The Gateway
     * stays Programmed if an instance had accepted a configuration containing it before it went
     * away; a Gateway it never carried waits (Pending). */
    bool carried = false;
    for (const struct kgc_sync_inst *i = m->insts; i && !carried; i = i->next) {
        if (i->removed)
            continue;
        carried = kgc_sync_blob_has_gateway(i->accepted, key, gen) ||
                  kgc_sync_blob_has_gateway(i->carried, key, gen);
    }
    /* kgc restarted while Kong is down: what the last process saw accepted */
    carried = carried || kgc_sync_blob_has_gateway(m->restored, key, gen);
    if (!carried && why && why_size)
        snprintf(why, why_size, "no ready Kong instance to configure");
    return carried;
}

uint64_t kgc_sync_machine_programmed_fp(const struct kgc_sync_machine *m)
{
    /* each part mixed into the running value in order: the instance list's order is stable */
    uint64_t h = mix64(m->leader ? 1 : 2);
    for (const struct kgc_sync_inst *i = m->insts; i; i = i->next) {
        unsigned flags = (i->removed ? 1u : 0u) | (i->ready ? 2u : 0u) |
                         (i->attempts > 0 ? 4u : 0u) | (i->rejected_hash[0] ? 8u : 0u) |
                         (i->accepted ? 16u : 0u) | (i->carried ? 32u : 0u);
        h = mix64(h ^ str64(i->url));
        h = mix64(h ^ flags);
        h = mix64(h ^ kgc_sync_blob_set_digest(i->accepted));
        h = mix64(h ^ kgc_sync_blob_set_digest(i->carried));
    }
    h = mix64(h ^ (m->restored ? 3 : 4));
    h = mix64(h ^ kgc_sync_blob_set_digest(m->restored));
    h = mix64(h ^ (m->cur ? 5 : 6));
    return mix64(h ^ kgc_sync_blob_set_digest(m->cur));
}

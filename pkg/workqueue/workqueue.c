/* The work queue: one mutex guards a key table, a FIFO of keys to hand out, a min-heap of delayed
 * keys and the rate limiter's state. Each key has one item that lives while the key is waiting,
 * in progress, delayed, or has a failure count to remember. */
#include "kgc/workqueue.h"

#include "kgc/base.h"
#include "kgc/err.h"
#include "kgc/strmap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    F_DIRTY = 1,      /* needs processing (client-go's "dirty" set) */
    F_QUEUED = 2,     /* sits in the FIFO */
    F_PROCESSING = 4, /* handed out by get, done not yet called */
    F_DELAYED = 8,    /* sits in the delay heap */
    F_IDLE = 16,      /* nothing to do: kept on the idle list for reuse (never with the above) */
};

/* Idle items are kept (up to this many) so that re-adding a recently processed key, the common
 * case for a controller, costs no allocation and no table insert. */
#define IDLE_CAP 1024

struct item {
    unsigned flags;        /* F_* bits */
    unsigned failures;     /* add_rate_limited calls since the last forget */
    uint64_t deadline_ns;  /* F_DELAYED: when to queue it (queue clock) */
    size_t heap_idx;       /* F_DELAYED: position in the heap */
    uint64_t added_ns;     /* when it last became dirty (queue latency) */
    uint64_t started_ns;   /* F_PROCESSING: when get handed it out */
    struct item *prev_run; /* F_PROCESSING: the list of keys in progress; F_IDLE: the idle */
    struct item *next_run; /* list, oldest first */
    uint64_t hash;
    size_t keylen;
    char key[]; /* NUL-terminated; the key table points here */
};

struct kgc_workqueue {
    pthread_mutex_t lock;
    pthread_cond_t ready;   /* a key may be ready to hand out, or shutdown began */
    pthread_cond_t drained; /* the last key in progress was done */
    const struct kgc_clock *clock;
    struct kgc_workqueue_ratelimit rl;
    char *name;

    struct kgc_strmap items; /* key → struct item */

    struct item **fifo; /* ring buffer of F_QUEUED items */
    size_t fifo_cap, fifo_head, fifo_len;

    struct item **heap; /* min-heap of F_DELAYED items by deadline */
    size_t heap_cap, heap_len;

    struct item *running; /* F_PROCESSING items, newest first */
    size_t running_len;

    struct item *idle_head, *idle_tail; /* F_IDLE items, oldest first */
    size_t idle_len;

    double bucket_tokens; /* global token bucket; may go negative (reservations) */
    uint64_t bucket_last_ns;

    bool shutting_down;
    uint64_t adds_total, retries_total;
    struct kgc_workqueue_histogram latency, work;
};

void kgc_workqueue_ratelimit_default(struct kgc_workqueue_ratelimit *cfg)
{
    cfg->policy = KGC_WORKQUEUE_RATELIMIT_BACKOFF_AND_BUCKET;
    cfg->base_delay_ns = 5 * KGC_NS_PER_MS;
    cfg->max_delay_ns = 1000 * KGC_NS_PER_S;
    cfg->bucket_qps = 10.0;
    cfg->bucket_burst = 100;
    cfg->fixed_interval_ns = 0;
}

static uint64_t now_ns(const struct kgc_workqueue *q)
{
    return q->clock->now_ns(q->clock);
}

static void observe(struct kgc_workqueue_histogram *h, uint64_t ns)
{
    uint64_t bound = 1000; /* 1 µs */
    for (int i = 0; i < KGC_WORKQUEUE_BUCKETS; i++, bound *= 10) {
        if (ns <= bound) {
            h->buckets[i]++;
            break;
        }
    }
    h->count++;
    h->sum_seconds += (double)ns / 1e9;
}

/* --- items ------------------------------------------------------------------------------------ */

static struct item *item_find(struct kgc_workqueue *q, const char *key, size_t keylen,
                              uint64_t hash)
{
    return kgc_strmap_get_hashed(&q->items, key, keylen, hash);
}

static void idle_unlink(struct kgc_workqueue *q, struct item *it)
{
    if (it->prev_run)
        it->prev_run->next_run = it->next_run;
    else
        q->idle_head = it->next_run;
    if (it->next_run)
        it->next_run->prev_run = it->prev_run;
    else
        q->idle_tail = it->prev_run;
    it->prev_run = it->next_run = NULL;
    it->flags &= ~(unsigned)F_IDLE;
    q->idle_len--;
}

/* The item for key, created if needed, and taken off the idle list: the caller is about to give
 * it something to do. */
static struct item *item_find_or_create(struct kgc_workqueue *q, const char *key)
{
    size_t keylen = strlen(key);
    uint64_t hash = kgc_strmap_hash(key, keylen);
    struct item *it = item_find(q, key, keylen, hash);
    if (it) {
        if (it->flags & F_IDLE)
            idle_unlink(q, it);
        return it;
    }
    it = calloc(1, sizeof(*it) + keylen + 1);
    if (!it)
        return NULL;
    memcpy(it->key, key, keylen + 1);
    it->keylen = keylen;
    it->hash = hash;
    if (kgc_strmap_put_hashed(&q->items, it->key, hash, it, NULL) != 0) {
        free(it);
        return NULL;
    }
    return it;
}

/* An item with nothing left to do goes to the idle list; past IDLE_CAP the oldest is freed. */
static void item_release_if_idle(struct kgc_workqueue *q, struct item *it)
{
    if (it->flags != 0 || it->failures != 0)
        return;
    it->flags = F_IDLE;
    it->next_run = NULL;
    it->prev_run = q->idle_tail;
    if (q->idle_tail)
        q->idle_tail->next_run = it;
    else
        q->idle_head = it;
    q->idle_tail = it;
    q->idle_len++;
    if (q->idle_len > IDLE_CAP) {
        struct item *old = q->idle_head;
        idle_unlink(q, old);
        kgc_strmap_remove_hashed(&q->items, old->key, old->keylen, old->hash);
        free(old);
    }
}

/* --- FIFO ------------------------------------------------------------------------------------- */

static int fifo_push(struct kgc_workqueue *q, struct item *it)
{
    if (q->fifo_len == q->fifo_cap) {
        size_t ncap = q->fifo_cap ? q->fifo_cap * 2 : 64;
        struct item **n = malloc(ncap * sizeof(struct item *));
        if (!n)
            return KGC_ENOMEM;
        for (size_t i = 0; i < q->fifo_len; i++)
            n[i] = q->fifo[(q->fifo_head + i) % q->fifo_cap];
        free(q->fifo);
        q->fifo = n;
        q->fifo_cap = ncap;
        q->fifo_head = 0;
    }
    q->fifo[(q->fifo_head + q->fifo_len) % q->fifo_cap] = it;
    q->fifo_len++;
    return 0;
}

static struct item *fifo_pop(struct kgc_workqueue *q)
{
    struct item *it = q->fifo[q->fifo_head];
    q->fifo_head = (q->fifo_head + 1) % q->fifo_cap;
    q->fifo_len--;
    return it;
}

/* --- delay heap ------------------------------------------------------------------------------- */

static void heap_swap(struct kgc_workqueue *q, size_t a, size_t b)
{
    struct item *t = q->heap[a];
    q->heap[a] = q->heap[b];
    q->heap[b] = t;
    q->heap[a]->heap_idx = a;
    q->heap[b]->heap_idx = b;
}

static void heap_up(struct kgc_workqueue *q, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (q->heap[parent]->deadline_ns <= q->heap[i]->deadline_ns)
            break;
        heap_swap(q, parent, i);
        i = parent;
    }
}

static void heap_down(struct kgc_workqueue *q, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, min = i;
        if (l < q->heap_len && q->heap[l]->deadline_ns < q->heap[min]->deadline_ns)
            min = l;
        if (r < q->heap_len && q->heap[r]->deadline_ns < q->heap[min]->deadline_ns)
            min = r;
        if (min == i)
            return;
        heap_swap(q, i, min);
        i = min;
    }
}

static int heap_push(struct kgc_workqueue *q, struct item *it)
{
    if (q->heap_len == q->heap_cap) {
        size_t ncap = q->heap_cap ? q->heap_cap * 2 : 64;
        struct item **n = realloc(q->heap, ncap * sizeof(struct item *));
        if (!n)
            return KGC_ENOMEM;
        q->heap = n;
        q->heap_cap = ncap;
    }
    it->heap_idx = q->heap_len;
    q->heap[q->heap_len++] = it;
    heap_up(q, it->heap_idx);
    return 0;
}

static struct item *heap_pop(struct kgc_workqueue *q)
{
    struct item *top = q->heap[0];
    q->heap_len--;
    if (q->heap_len > 0) {
        q->heap[0] = q->heap[q->heap_len];
        q->heap[0]->heap_idx = 0;
        heap_down(q, 0);
    }
    return top;
}

/* --- core operations (lock held) -------------------------------------------------------------- */

static int add_locked(struct kgc_workqueue *q, struct item *it)
{
    if (it->flags & F_DIRTY)
        return 0; /* already waiting (or will be re-queued on done) */
    it->flags |= F_DIRTY;
    it->added_ns = now_ns(q);
    q->adds_total++;
    if (it->flags & F_PROCESSING)
        return 0; /* done() queues it again */
    int rc = fifo_push(q, it);
    if (rc) {
        it->flags &= ~(unsigned)F_DIRTY;
        return rc;
    }
    it->flags |= F_QUEUED;
    pthread_cond_signal(&q->ready);
    return 0;
}

/* Queues every delayed item whose deadline has passed. */
static void promote_due(struct kgc_workqueue *q)
{
    if (q->heap_len == 0)
        return;
    uint64_t now = now_ns(q);
    while (q->heap_len > 0 && q->heap[0]->deadline_ns <= now) {
        struct item *it = heap_pop(q);
        it->flags &= ~(unsigned)F_DELAYED;
        if (add_locked(q, it) != 0) {
            /* Out of memory for the FIFO: keep it delayed a little longer rather than lose it. */
            it->deadline_ns = now + KGC_NS_PER_MS;
            if (heap_push(q, it) == 0)
                it->flags |= F_DELAYED;
            break;
        }
    }
}

static int add_after_locked(struct kgc_workqueue *q, struct item *it, uint64_t delay_ns)
{
    if (delay_ns == 0)
        return add_locked(q, it);
    uint64_t deadline = now_ns(q) + delay_ns;
    if (it->flags & F_DELAYED) {
        if (deadline < it->deadline_ns) {
            it->deadline_ns = deadline;
            heap_up(q, it->heap_idx);
        }
    } else {
        it->deadline_ns = deadline;
        int rc = heap_push(q, it);
        if (rc)
            return rc;
        it->flags |= F_DELAYED;
    }
    /* A worker may sleep until a later deadline: let one recompute its wait. */
    pthread_cond_signal(&q->ready);
    return 0;
}

static uint64_t backoff_delay(const struct kgc_workqueue_ratelimit *rl, unsigned failures)
{
    if (rl->base_delay_ns == 0)
        return 0;
    if (failures >= 63 || rl->base_delay_ns > (rl->max_delay_ns >> failures))
        return rl->max_delay_ns;
    uint64_t d = rl->base_delay_ns << failures;
    return d > rl->max_delay_ns ? rl->max_delay_ns : d;
}

/* Reserves one token from the global bucket; returns how long the caller must wait for it. */
static uint64_t bucket_delay(struct kgc_workqueue *q)
{
    const struct kgc_workqueue_ratelimit *rl = &q->rl;
    if (rl->bucket_qps <= 0)
        return 0;
    uint64_t now = now_ns(q);
    double elapsed = (double)(now - q->bucket_last_ns) / 1e9;
    q->bucket_last_ns = now;
    q->bucket_tokens += elapsed * rl->bucket_qps;
    if (q->bucket_tokens > (double)rl->bucket_burst)
        q->bucket_tokens = (double)rl->bucket_burst;
    q->bucket_tokens -= 1.0;
    if (q->bucket_tokens >= 0)
        return 0;
    return (uint64_t)(-q->bucket_tokens / rl->bucket_qps * 1e9 + 0.5); /* nearest ns */
}

static uint64_t limiter_when(struct kgc_workqueue *q, struct item *it)
{
    unsigned failures = it->failures;
    if (it->failures < UINT32_MAX)
        it->failures++;
    if (q->rl.policy == KGC_WORKQUEUE_RATELIMIT_FIXED_INTERVAL)
        return q->rl.fixed_interval_ns;
    uint64_t per_item = backoff_delay(&q->rl, failures);
    uint64_t global = bucket_delay(q);
    return per_item > global ? per_item : global;
}

/* --- public API ------------------------------------------------------------------------------- */

struct kgc_workqueue *kgc_workqueue_new(const char *name, const struct kgc_workqueue_ratelimit *rl,
                                        const struct kgc_clock *clock)
{
    struct kgc_workqueue *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->name = strdup(name ? name : "queue");
    if (!q->name) {
        free(q);
        return NULL;
    }
    q->clock = clock ? clock : kgc_clock_real();
    if (rl)
        q->rl = *rl;
    else
        kgc_workqueue_ratelimit_default(&q->rl);
    q->bucket_tokens = (double)q->rl.bucket_burst;
    q->bucket_last_ns = now_ns(q);
    kgc_strmap_init(&q->items);
    pthread_mutex_init(&q->lock, NULL);
    kgc_base_cond_init(&q->ready);
    kgc_base_cond_init(&q->drained);
    return q;
}

void kgc_workqueue_destroy(struct kgc_workqueue *q)
{
    if (!q)
        return;
    size_t pos = 0;
    void *v;
    while (kgc_strmap_next(&q->items, &pos, NULL, &v))
        free(v);
    kgc_strmap_destroy(&q->items);
    free(q->fifo);
    free(q->heap);
    free(q->name);
    pthread_cond_destroy(&q->ready);
    pthread_cond_destroy(&q->drained);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

const char *kgc_workqueue_name(const struct kgc_workqueue *q)
{
    return q->name;
}

int kgc_workqueue_add(struct kgc_workqueue *q, const char *key)
{
    return kgc_workqueue_add_after(q, key, 0);
}

int kgc_workqueue_add_after(struct kgc_workqueue *q, const char *key, uint64_t delay_ns)
{
    int rc = 0;
    pthread_mutex_lock(&q->lock);
    if (!q->shutting_down) {
        struct item *it = item_find_or_create(q, key);
        if (!it) {
            rc = KGC_ENOMEM;
        } else {
            rc = add_after_locked(q, it, delay_ns);
            item_release_if_idle(q, it);
        }
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

int kgc_workqueue_add_rate_limited(struct kgc_workqueue *q, const char *key)
{
    int rc = 0;
    pthread_mutex_lock(&q->lock);
    if (!q->shutting_down) {
        struct item *it = item_find_or_create(q, key);
        if (!it) {
            rc = KGC_ENOMEM;
        } else {
            q->retries_total++;
            rc = add_after_locked(q, it, limiter_when(q, it));
            item_release_if_idle(q, it);
        }
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

static void hand_out(struct kgc_workqueue *q, const char **key)
{
    struct item *it = fifo_pop(q);
    uint64_t now = now_ns(q);
    it->flags &= ~(unsigned)(F_QUEUED | F_DIRTY);
    it->flags |= F_PROCESSING;
    it->started_ns = now;
    observe(&q->latency, now - it->added_ns);
    it->prev_run = NULL;
    it->next_run = q->running;
    if (q->running)
        q->running->prev_run = it;
    q->running = it;
    q->running_len++;
    *key = it->key;
}

static uint64_t real_now_ns(void)
{
    return kgc_clock_now(NULL);
}

/* mode: 0 blocks, 1 never waits, 2 waits until the real-time deadline `until`. */
static int get_common(struct kgc_workqueue *q, const char **key, int mode, uint64_t until)
{
    int rc = 0;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        promote_due(q);
        if (q->fifo_len > 0) {
            hand_out(q, key);
            break;
        }
        if (q->shutting_down) {
            rc = KGC_ESHUTDOWN;
            break;
        }
        if (mode == 1) {
            rc = KGC_EAGAIN;
            break;
        }
        /* Sleep until woken, the next delayed key is due (real clock only) or our deadline. */
        uint64_t wake = 0;
        if (q->heap_len > 0 && !q->clock->is_fake)
            wake = q->heap[0]->deadline_ns;
        if (mode == 2 && (wake == 0 || until < wake))
            wake = until;
        if (wake == 0) {
            pthread_cond_wait(&q->ready, &q->lock);
        } else {
            kgc_base_cond_wait_once(&q->ready, &q->lock, wake);
            if (mode == 2 && real_now_ns() >= until) {
                promote_due(q);
                if (q->fifo_len > 0) {
                    hand_out(q, key);
                } else {
                    rc = q->shutting_down ? KGC_ESHUTDOWN : KGC_ETIMEDOUT;
                }
                break;
            }
        }
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

int kgc_workqueue_get(struct kgc_workqueue *q, const char **key)
{
    return get_common(q, key, 0, 0);
}

int kgc_workqueue_try_get(struct kgc_workqueue *q, const char **key)
{
    return get_common(q, key, 1, 0);
}

int kgc_workqueue_get_timeout(struct kgc_workqueue *q, const char **key, uint64_t timeout_ns)
{
    int rc = get_common(q, key, 1, 0); /* the common case needs no clock reading */
    if (rc != KGC_EAGAIN)
        return rc;
    return get_common(q, key, 2, real_now_ns() + timeout_ns);
}

void kgc_workqueue_done(struct kgc_workqueue *q, const char *key)
{
    size_t keylen = strlen(key);
    uint64_t hash = kgc_strmap_hash(key, keylen);
    pthread_mutex_lock(&q->lock);
    struct item *it = item_find(q, key, keylen, hash);
    if (it && (it->flags & F_PROCESSING)) {
        observe(&q->work, now_ns(q) - it->started_ns);
        if (it->prev_run)
            it->prev_run->next_run = it->next_run;
        else
            q->running = it->next_run;
        if (it->next_run)
            it->next_run->prev_run = it->prev_run;
        q->running_len--;
        it->flags &= ~(unsigned)F_PROCESSING;
        if (it->flags & F_DIRTY) {
            if (fifo_push(q, it) == 0) {
                it->flags |= F_QUEUED;
                pthread_cond_signal(&q->ready);
            } else {
                /* No memory to queue it now: retry through the delay heap, never drop it. */
                it->flags &= ~(unsigned)F_DIRTY;
                add_after_locked(q, it, KGC_NS_PER_MS);
            }
        }
        if (q->running_len == 0)
            pthread_cond_broadcast(&q->drained);
        item_release_if_idle(q, it);
    }
    pthread_mutex_unlock(&q->lock);
}

void kgc_workqueue_forget(struct kgc_workqueue *q, const char *key)
{
    size_t keylen = strlen(key);
    uint64_t hash = kgc_strmap_hash(key, keylen);
    pthread_mutex_lock(&q->lock);
    struct item *it = item_find(q, key, keylen, hash);
    if (it) {
        it->failures = 0;
        item_release_if_idle(q, it);
    }
    pthread_mutex_unlock(&q->lock);
}

unsigned kgc_workqueue_num_requeues(struct kgc_workqueue *q, const char *key)
{
    size_t keylen = strlen(key);
    uint64_t hash = kgc_strmap_hash(key, keylen);
    pthread_mutex_lock(&q->lock);
    struct item *it = item_find(q, key, keylen, hash);
    unsigned n = it ? it->failures : 0;
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t kgc_workqueue_len(struct kgc_workqueue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->fifo_len;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void kgc_workqueue_tick(struct kgc_workqueue *q)
{
    pthread_mutex_lock(&q->lock);
    promote_due(q);
    pthread_cond_broadcast(&q->ready);
    pthread_mutex_unlock(&q->lock);
}

static void shutdown_locked(struct kgc_workqueue *q)
{
    q->shutting_down = true;
    while (q->heap_len > 0) {
        struct item *it = heap_pop(q);
        it->flags &= ~(unsigned)F_DELAYED;
        item_release_if_idle(q, it);
    }
    pthread_cond_broadcast(&q->ready);
}

void kgc_workqueue_shutdown(struct kgc_workqueue *q)
{
    pthread_mutex_lock(&q->lock);
    shutdown_locked(q);
    pthread_mutex_unlock(&q->lock);
}

int kgc_workqueue_shutdown_with_drain(struct kgc_workqueue *q, uint64_t timeout_ns)
{
    int rc = 0;
    uint64_t until = real_now_ns() + timeout_ns;
    pthread_mutex_lock(&q->lock);
    shutdown_locked(q);
    while (q->running_len > 0) {
        if (timeout_ns == 0) {
            pthread_cond_wait(&q->drained, &q->lock);
            continue;
        }
        kgc_base_cond_wait_once(&q->drained, &q->lock, until);
        if (real_now_ns() >= until && q->running_len > 0) {
            rc = KGC_ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

bool kgc_workqueue_shutting_down(struct kgc_workqueue *q)
{
    pthread_mutex_lock(&q->lock);
    bool s = q->shutting_down;
    pthread_mutex_unlock(&q->lock);
    return s;
}

void kgc_workqueue_stats(struct kgc_workqueue *q, struct kgc_workqueue_stats *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&q->lock);
    uint64_t now = now_ns(q);
    out->depth = q->fifo_len;
    out->delayed = q->heap_len;
    out->in_progress = q->running_len;
    out->adds_total = q->adds_total;
    out->retries_total = q->retries_total;
    out->queue_latency = q->latency;
    out->work_duration = q->work;
    for (const struct item *it = q->running; it; it = it->next_run) {
        double s = (double)(now - it->started_ns) / 1e9;
        out->unfinished_work_seconds += s;
        if (s > out->longest_running_seconds)
            out->longest_running_seconds = s;
    }
    pthread_mutex_unlock(&q->lock);
}

void kgc_workqueue_foreach(struct kgc_workqueue *q,
                           void (*fn)(const char *key, unsigned state, unsigned requeues,
                                      void *ctx),
                           void *ctx)
{
    pthread_mutex_lock(&q->lock);
    size_t pos = 0;
    void *v;
    while (kgc_strmap_next(&q->items, &pos, NULL, &v)) {
        const struct item *it = v;
        if (it->flags & F_IDLE)
            continue;
        unsigned state = 0;
        if (it->flags & F_DIRTY)
            state |= KGC_WORKQUEUE_WAITING;
        if (it->flags & F_PROCESSING)
            state |= KGC_WORKQUEUE_IN_PROGRESS;
        if (it->flags & F_DELAYED)
            state |= KGC_WORKQUEUE_DELAYED;
        fn(it->key, state, it->failures, ctx);
    }
    pthread_mutex_unlock(&q->lock);
}

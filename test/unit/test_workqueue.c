/* Work queue: the client-go contract (dedup, exclusivity, delays, rate limits, shutdown). Time
 * is a fake clock, so delays are checked to the nanosecond and nothing sleeps on a delay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kgc/err.h"
#include "kgc/workqueue.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

struct fixture {
    struct kgc_clock clock;
    struct kgc_workqueue *q;
};

static struct fixture *new_fixture(const struct kgc_workqueue_ratelimit *rl)
{
    struct fixture *f = test_calloc(1, sizeof(*f));
    kgc_clock_fake_init(&f->clock, 1000 * KGC_NS_PER_S);
    f->q = kgc_workqueue_new("test", rl, &f->clock);
    assert_non_null(f->q);
    return f;
}

static void free_fixture(struct fixture *f)
{
    kgc_workqueue_destroy(f->q);
    test_free(f);
}

/* Takes the next ready key (nothing blocks) and returns a copy in buf, or "" when none. */
static const char *take(struct fixture *f, char *buf, size_t n)
{
    const char *key;
    kgc_workqueue_tick(f->q);
    if (kgc_workqueue_try_get(f->q, &key) != 0)
        return "";
    snprintf(buf, n, "%s", key);
    return buf;
}

static void take_done(struct fixture *f, const char *want)
{
    char buf[64];
    assert_string_equal(take(f, buf, sizeof(buf)), want);
    kgc_workqueue_done(f->q, buf);
}

static void advance(struct fixture *f, uint64_t ns)
{
    kgc_clock_fake_advance(&f->clock, ns);
}

/* --- queue semantics -------------------------------------------------------------------------- */

static void test_add_is_deduplicated_while_waiting(void **state)
{
    (void)state;
    struct fixture *f = new_fixture(NULL);
    assert_int_equal(kgc_workqueue_add(f->q, "ns/a"), 0);
    assert_int_equal(kgc_workqueue_add(f->q, "ns/b"), 0);
    assert_int_equal(kgc_workqueue_add(f->q, "ns/a"), 0);
    assert_int_equal(kgc_workqueue_len(f->q), 2);
    take_done(f, "ns/a"); /* FIFO order, first add decides the place */
    take_done(f, "ns/b");
    char buf[64];
    assert_string_equal(take(f, buf, sizeof(buf)), "");
    free_fixture(f);
}

static void test_key_added_while_processing_is_requeued_after_done(void **state)
{
    (void)state;
    struct fixture *f = new_fixture(NULL);
    kgc_workqueue_add(f->q, "k");
    const char *key;
    assert_int_equal(kgc_workqueue_try_get(f->q, &key), 0);
    assert_string_equal(key, "k");

    /* While "k" is in progress another add must not hand it to a second worker... */
    kgc_workqueue_add(f->q, "k");
    kgc_workqueue_add(f->q, "k");
    assert_int_equal(kgc_workqueue_len(f->q), 0);
    const char *other;
    assert_int_equal(kgc_workqueue_try_get(f->q, &other), KGC_EAGAIN);

    /* ...but it is not lost either: done queues it again, once. */
    kgc_workqueue_done(f->q, key);
    assert_int_equal(kgc_workqueue_len(f->q), 1);
    take_done(f, "k");
    char buf[64];
    assert_string_equal(take(f, buf, sizeof(buf)), "");
    free_fixture(f);
}

#define EXCL_KEYS    16
#define EXCL_THREADS 8
#define EXCL_ADDS    20000

struct excl_state {
    struct kgc_workqueue *q;
    int in_progress[EXCL_KEYS];           /* workers inside the key right now (atomic) */
    int violations;                       /* times two workers held one key at once (atomic) */
    long processed_after_last[EXCL_KEYS]; /* processing runs that began after the last add */
    int last_add_done;                    /* producer finished (atomic) */
};

static void *excl_worker(void *arg)
{
    struct excl_state *s = arg;
    const char *key;
    while (kgc_workqueue_get(s->q, &key) == 0) {
        int k = 0;
        sscanf(key, "key-%d", &k);
        if (__atomic_add_fetch(&s->in_progress[k], 1, __ATOMIC_SEQ_CST) != 1)
            __atomic_add_fetch(&s->violations, 1, __ATOMIC_SEQ_CST);
        bool after = __atomic_load_n(&s->last_add_done, __ATOMIC_SEQ_CST);
        for (int i = 0; i < 50; i++)
            sched_yield(); /* widen the window in which a second worker could take the key */
        if (after)
            __atomic_add_fetch(&s->processed_after_last[k], 1, __ATOMIC_SEQ_CST);
        __atomic_sub_fetch(&s->in_progress[k], 1, __ATOMIC_SEQ_CST);
        kgc_workqueue_done(s->q, key);
    }
    return NULL;
}

static void test_no_concurrent_processing_of_one_key_under_8_threads(void **state)
{
    (void)state;
    struct excl_state s = {0};
    s.q = kgc_workqueue_new("excl", NULL, NULL);
    pthread_t th[EXCL_THREADS];
    for (int i = 0; i < EXCL_THREADS; i++)
        pthread_create(&th[i], NULL, excl_worker, &s);
    char key[32];
    for (int i = 0; i < EXCL_ADDS; i++) {
        snprintf(key, sizeof(key), "key-%d", i % EXCL_KEYS);
        kgc_workqueue_add(s.q, key);
    }
    __atomic_store_n(&s.last_add_done, 1, __ATOMIC_SEQ_CST);
    /* One more add of every key after the flag: each must be processed at least once more. */
    for (int k = 0; k < EXCL_KEYS; k++) {
        snprintf(key, sizeof(key), "key-%d", k);
        kgc_workqueue_add(s.q, key);
    }
    assert_int_equal(kgc_workqueue_shutdown_with_drain(s.q, 0), 0);
    for (int i = 0; i < EXCL_THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(s.violations, 0);
    for (int k = 0; k < EXCL_KEYS; k++)
        assert_true(s.processed_after_last[k] >= 1);
    struct kgc_workqueue_stats st;
    kgc_workqueue_stats(s.q, &st);
    assert_int_equal(st.in_progress, 0);
    assert_true(st.adds_total >= EXCL_KEYS && st.adds_total <= EXCL_ADDS + EXCL_KEYS);
    assert_int_equal(st.work_duration.count, st.queue_latency.count);
    kgc_workqueue_destroy(s.q);
}

/* --- delays ----------------------------------------------------------------------------------- */

static void test_delayed_keys_come_out_in_deadline_order(void **state)
{
    (void)state;
    struct fixture *f = new_fixture(NULL);
    kgc_workqueue_add_after(f->q, "c", 30 * KGC_NS_PER_MS);
    kgc_workqueue_add_after(f->q, "a", 10 * KGC_NS_PER_MS);
    kgc_workqueue_add_after(f->q, "b", 20 * KGC_NS_PER_MS);
    char buf[64];
    assert_string_equal(take(f, buf, sizeof(buf)), "");
    advance(f, 10 * KGC_NS_PER_MS - 1);
    assert_string_equal(take(f, buf, sizeof(buf)), "");
    advance(f, 1);
    take_done(f, "a");
    assert_string_equal(take(f, buf, sizeof(buf)), "");
    advance(f, 25 * KGC_NS_PER_MS);
    take_done(f, "b");
    take_done(f, "c");
    free_fixture(f);
}

static void test_earlier_deadline_wins_for_the_same_key(void **state)
{
    (void)state;
    struct fixture *f = new_fixture(NULL);
    char buf[64];
    kgc_workqueue_add_after(f->q, "x", 100 * KGC_NS_PER_MS);
    kgc_workqueue_add_after(f->q, "x", 10 * KGC_NS_PER_MS); /* sooner: moves it forward */
    kgc_workqueue_add_after(f->q, "y", 10 * KGC_NS_PER_MS);
    kgc_workqueue_add_after(f->q, "y", 100 * KGC_NS_PER_MS); /* later: ignored */
    advance(f, 10 * KGC_NS_PER_MS);
    take_done(f, "x");
    take_done(f, "y");
    advance(f, 200 * KGC_NS_PER_MS);
    assert_string_equal(take(f, buf, sizeof(buf)), ""); /* each came out exactly once */
    free_fixture(f);
}

static void test_delayed_key_already_waiting_is_not_duplicated(void **state)
{
    (void)state;
    struct fixture *f = new_fixture(NULL);
    char buf[64];
    kgc_workqueue_add(f->q, "k");
    kgc_workqueue_add_after(f->q, "k", 5 * KGC_NS_PER_MS);
    advance(f, 5 * KGC_NS_PER_MS);
    take_done(f, "k");
    assert_string_equal(take(f, buf, sizeof(buf)), "");
    free_fixture(f);
}

/* --- rate limiting ---------------------------------------------------------------------------- */

/* Asserts that "k" becomes ready exactly `delay` after now (not 1 ns earlier), then processes it.
 */
static void expect_ready_after(struct fixture *f, const char *k, uint64_t delay)
{
    char buf[64];
    if (delay > 0) {
        advance(f, delay - 1);
        assert_string_equal(take(f, buf, sizeof(buf)), "");
        advance(f, 1);
    }
    take_done(f, k);
}

static void test_backoff_doubles_per_failure_from_5ms(void **state)
{
    (void)state;
    struct fixture *f = new_fixture(NULL); /* client-go defaults */
    uint64_t want = 5 * KGC_NS_PER_MS;
    for (unsigned i = 0; i < 8; i++, want *= 2) {
        kgc_workqueue_add_rate_limited(f->q, "k");
        assert_int_equal(kgc_workqueue_num_requeues(f->q, "k"), i + 1);
        expect_ready_after(f, "k", want);
    }
    free_fixture(f);
}

static void test_backoff_is_capped(void **state)
{
    (void)state;
    struct kgc_workqueue_ratelimit rl;
    kgc_workqueue_ratelimit_default(&rl);
    rl.base_delay_ns = KGC_NS_PER_S;
    rl.max_delay_ns = 4 * KGC_NS_PER_S;
    rl.bucket_qps = 0;
    struct fixture *f = new_fixture(&rl);
    const uint64_t want[] = {1, 2, 4, 4, 4};
    for (size_t i = 0; i < 5; i++) {
        kgc_workqueue_add_rate_limited(f->q, "k");
        expect_ready_after(f, "k", want[i] * KGC_NS_PER_S);
    }
    /* The default cap (1000 s) holds after very many failures too (no shift overflow). */
    struct kgc_workqueue_ratelimit def;
    kgc_workqueue_ratelimit_default(&def);
    struct fixture *g = new_fixture(&def);
    for (int i = 0; i < 100; i++) {
        kgc_workqueue_add_rate_limited(g->q, "k");
        advance(g, 1000 * KGC_NS_PER_S);
        take_done(g, "k");
    }
    kgc_workqueue_add_rate_limited(g->q, "k");
    expect_ready_after(g, "k", 1000 * KGC_NS_PER_S);
    free_fixture(g);
    free_fixture(f);
}

static void test_bucket_allows_burst_then_paces_at_qps(void **state)
{
    (void)state;
    struct kgc_workqueue_ratelimit rl;
    kgc_workqueue_ratelimit_default(&rl);
    rl.base_delay_ns = 0; /* only the bucket counts */
    rl.bucket_qps = 10;
    rl.bucket_burst = 5;
    struct fixture *f = new_fixture(&rl);
    char key[16];
    for (int i = 0; i < 5; i++) { /* the burst: all ready at once */
        snprintf(key, sizeof(key), "b%d", i);
        kgc_workqueue_add_rate_limited(f->q, key);
    }
    assert_int_equal(kgc_workqueue_len(f->q), 5);
    kgc_workqueue_add_rate_limited(f->q, "b5"); /* past the burst: 1/qps later */
    kgc_workqueue_add_rate_limited(f->q, "b6"); /* and the next one 2/qps later */
    assert_int_equal(kgc_workqueue_len(f->q), 5);
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof(key), "b%d", i);
        take_done(f, key);
    }
    expect_ready_after(f, "b5", 100 * KGC_NS_PER_MS);
    expect_ready_after(f, "b6", 100 * KGC_NS_PER_MS);
    free_fixture(f);
}

static void test_larger_of_backoff_and_bucket_wins(void **state)
{
    (void)state;
    struct kgc_workqueue_ratelimit rl;
    kgc_workqueue_ratelimit_default(&rl);
    rl.base_delay_ns = 50 * KGC_NS_PER_MS;
    rl.bucket_qps = 1;
    rl.bucket_burst = 1;
    struct fixture *f = new_fixture(&rl);
    kgc_workqueue_add_rate_limited(f->q, "a"); /* bucket has a token: backoff 50 ms wins */
    expect_ready_after(f, "a", 50 * KGC_NS_PER_MS);
    advance(f, 450 * KGC_NS_PER_MS);           /* half a token refilled */
    kgc_workqueue_add_rate_limited(f->q, "b"); /* 500 ms until a whole token > 50 ms backoff */
    expect_ready_after(f, "b", 500 * KGC_NS_PER_MS);
    free_fixture(f);
}

static void test_forget_resets_backoff(void **state)
{
    (void)state;
    struct fixture *f = new_fixture(NULL);
    for (int i = 0; i < 3; i++) {
        kgc_workqueue_add_rate_limited(f->q, "k");
        advance(f, KGC_NS_PER_S);
        take_done(f, "k");
    }
    assert_int_equal(kgc_workqueue_num_requeues(f->q, "k"), 3);
    kgc_workqueue_forget(f->q, "k");
    assert_int_equal(kgc_workqueue_num_requeues(f->q, "k"), 0);
    kgc_workqueue_add_rate_limited(f->q, "k");
    expect_ready_after(f, "k", 5 * KGC_NS_PER_MS);
    /* Forgetting one key leaves another's backoff alone. */
    kgc_workqueue_add_rate_limited(f->q, "other");
    advance(f, KGC_NS_PER_S);
    take_done(f, "other");
    kgc_workqueue_forget(f->q, "k");
    assert_int_equal(kgc_workqueue_num_requeues(f->q, "other"), 1);
    free_fixture(f);
}

static void test_fixed_interval_policy(void **state)
{
    (void)state;
    struct kgc_workqueue_ratelimit rl = {.policy = KGC_WORKQUEUE_RATELIMIT_FIXED_INTERVAL,
                                         .fixed_interval_ns = 7 * KGC_NS_PER_MS};
    struct fixture *f = new_fixture(&rl);
    for (int i = 0; i < 4; i++) {
        kgc_workqueue_add_rate_limited(f->q, "k");
        expect_ready_after(f, "k", 7 * KGC_NS_PER_MS);
    }
    assert_int_equal(kgc_workqueue_num_requeues(f->q, "k"), 4);
    free_fixture(f);
}

/* --- shutdown --------------------------------------------------------------------------------- */

struct drain_ctx {
    struct kgc_workqueue *q;
    int rc;
};

static void *blocking_get(void *arg)
{
    struct drain_ctx *c = arg;
    const char *key;
    c->rc = kgc_workqueue_get(c->q, &key);
    return NULL;
}

static void test_shutdown_wakes_blocked_workers(void **state)
{
    (void)state;
    struct kgc_workqueue *q = kgc_workqueue_new("wake", NULL, NULL);
    struct drain_ctx c = {.q = q, .rc = 1};
    pthread_t th;
    pthread_create(&th, NULL, blocking_get, &c);
    kgc_workqueue_shutdown(q);
    pthread_join(th, NULL); /* hangs (and the runner's timeout fails the test) if not woken */
    assert_int_equal(c.rc, KGC_ESHUTDOWN);
    kgc_workqueue_destroy(q);
}

static void test_shutdown_hands_out_queued_keys_then_stops(void **state)
{
    (void)state;
    struct fixture *f = new_fixture(NULL);
    kgc_workqueue_add(f->q, "a");
    kgc_workqueue_add_after(f->q, "late", 10 * KGC_NS_PER_MS);
    kgc_workqueue_shutdown(f->q);
    assert_true(kgc_workqueue_shutting_down(f->q));
    kgc_workqueue_add(f->q, "ignored");
    take_done(f, "a");
    advance(f, KGC_NS_PER_S);
    const char *key;
    assert_int_equal(kgc_workqueue_try_get(f->q, &key), KGC_ESHUTDOWN); /* delayed key dropped */
    assert_int_equal(kgc_workqueue_get(f->q, &key), KGC_ESHUTDOWN);     /* and never blocks */
    free_fixture(f);
}

static void test_shutdown_with_drain_waits_for_keys_in_progress(void **state)
{
    (void)state;
    struct fixture *f = new_fixture(NULL);
    kgc_workqueue_add(f->q, "busy");
    const char *key;
    assert_int_equal(kgc_workqueue_try_get(f->q, &key), 0);
    /* The key is in progress: the drain must not report success (bounded real wait: 20 ms). */
    assert_int_equal(kgc_workqueue_shutdown_with_drain(f->q, 20 * KGC_NS_PER_MS), KGC_ETIMEDOUT);
    kgc_workqueue_done(f->q, key);
    assert_int_equal(kgc_workqueue_shutdown_with_drain(f->q, 20 * KGC_NS_PER_MS), 0);
    free_fixture(f);
}

struct drain_thread {
    struct kgc_workqueue *q;
    int *done_called; /* set by the main thread just before done() */
    int saw_done;     /* what the drainer saw when its drain returned */
    int rc;
};

static void *drainer(void *arg)
{
    struct drain_thread *d = arg;
    d->rc = kgc_workqueue_shutdown_with_drain(d->q, 0);
    d->saw_done = __atomic_load_n(d->done_called, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_drain_returns_only_after_done(void **state)
{
    (void)state;
    struct kgc_workqueue *q = kgc_workqueue_new("drain", NULL, NULL);
    int done_called = 0;
    kgc_workqueue_add(q, "k");
    const char *key;
    assert_int_equal(kgc_workqueue_get(q, &key), 0);
    struct drain_thread d = {.q = q, .done_called = &done_called, .rc = 1};
    pthread_t th;
    pthread_create(&th, NULL, drainer, &d);
    while (!kgc_workqueue_shutting_down(q))
        sched_yield();
    for (int i = 0; i < 1000; i++)
        sched_yield(); /* give a broken drain every chance to return early */
    __atomic_store_n(&done_called, 1, __ATOMIC_SEQ_CST);
    kgc_workqueue_done(q, key);
    pthread_join(th, NULL);
    assert_int_equal(d.rc, 0);
    assert_int_equal(d.saw_done, 1);
    kgc_workqueue_destroy(q);
}

static void test_get_timeout_returns_when_nothing_comes(void **state)
{
    (void)state;
    struct kgc_workqueue *q = kgc_workqueue_new("timeout", NULL, NULL);
    const char *key;
    assert_int_equal(kgc_workqueue_get_timeout(q, &key, 5 * KGC_NS_PER_MS), KGC_ETIMEDOUT);
    kgc_workqueue_add(q, "k");
    assert_int_equal(kgc_workqueue_get_timeout(q, &key, 5 * KGC_NS_PER_MS), 0);
    assert_string_equal(key, "k");
    kgc_workqueue_done(q, key);
    kgc_workqueue_destroy(q);
}

static void test_real_clock_delay_wakes_a_blocked_worker(void **state)
{
    (void)state;
    struct kgc_workqueue *q = kgc_workqueue_new("real", NULL, NULL);
    kgc_workqueue_add_after(q, "soon", 2 * KGC_NS_PER_MS);
    const char *key;
    assert_int_equal(kgc_workqueue_get(q, &key), 0); /* blocks ~2 ms, woken by its deadline */
    assert_string_equal(key, "soon");
    kgc_workqueue_done(q, key);
    kgc_workqueue_destroy(q);
}

/* --- metrics and introspection ---------------------------------------------------------------- */

static void count_keys(const char *key, unsigned st, unsigned requeues, void *ctx)
{
    int *c = ctx;
    if (strcmp(key, "w") == 0 && st == KGC_WORKQUEUE_WAITING && requeues == 0)
        c[0]++;
    if (strcmp(key, "p") == 0 && st == KGC_WORKQUEUE_IN_PROGRESS)
        c[1]++;
    if (strcmp(key, "d") == 0 && st == KGC_WORKQUEUE_DELAYED && requeues == 1)
        c[2]++;
}

static void test_stats_and_foreach_report_the_queue(void **state)
{
    (void)state;
    struct fixture *f = new_fixture(NULL);
    kgc_workqueue_add(f->q, "p");
    const char *key;
    assert_int_equal(kgc_workqueue_try_get(f->q, &key), 0);
    kgc_workqueue_add(f->q, "w");
    kgc_workqueue_add(f->q, "w");
    kgc_workqueue_add_rate_limited(f->q, "d");
    advance(f, 3 * KGC_NS_PER_MS);

    struct kgc_workqueue_stats st;
    kgc_workqueue_stats(f->q, &st);
    assert_int_equal(st.depth, 1);
    assert_int_equal(st.delayed, 1);
    assert_int_equal(st.in_progress, 1);
    assert_int_equal(st.adds_total, 2); /* p and w; the second w was deduplicated */
    assert_int_equal(st.retries_total, 1);
    assert_true(st.longest_running_seconds > 0.0029 && st.longest_running_seconds < 0.0031);
    assert_true(st.unfinished_work_seconds > 0.0029 && st.unfinished_work_seconds < 0.0031);

    int seen[3] = {0};
    kgc_workqueue_foreach(f->q, count_keys, seen);
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[1], 1);
    assert_int_equal(seen[2], 1);

    kgc_workqueue_done(f->q, key);
    kgc_workqueue_stats(f->q, &st);
    assert_int_equal(st.work_duration.count, 1);
    assert_int_equal(st.work_duration.buckets[4], 1); /* 3 ms falls in the <= 10 ms bucket */
    assert_true(st.work_duration.sum_seconds > 0.0029 && st.work_duration.sum_seconds < 0.0031);
    free_fixture(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_is_deduplicated_while_waiting),
        cmocka_unit_test(test_key_added_while_processing_is_requeued_after_done),
        cmocka_unit_test(test_no_concurrent_processing_of_one_key_under_8_threads),
        cmocka_unit_test(test_delayed_keys_come_out_in_deadline_order),
        cmocka_unit_test(test_earlier_deadline_wins_for_the_same_key),
        cmocka_unit_test(test_delayed_key_already_waiting_is_not_duplicated),
        cmocka_unit_test(test_backoff_doubles_per_failure_from_5ms),
        cmocka_unit_test(test_backoff_is_capped),
        cmocka_unit_test(test_bucket_allows_burst_then_paces_at_qps),
        cmocka_unit_test(test_larger_of_backoff_and_bucket_wins),
        cmocka_unit_test(test_forget_resets_backoff),
        cmocka_unit_test(test_fixed_interval_policy),
        cmocka_unit_test(test_shutdown_wakes_blocked_workers),
        cmocka_unit_test(test_shutdown_hands_out_queued_keys_then_stops),
        cmocka_unit_test(test_shutdown_with_drain_waits_for_keys_in_progress),
        cmocka_unit_test(test_drain_returns_only_after_done),
        cmocka_unit_test(test_get_timeout_returns_when_nothing_comes),
        cmocka_unit_test(test_real_clock_delay_wakes_a_blocked_worker),
        cmocka_unit_test(test_stats_and_foreach_report_the_queue),
    };
    return cmocka_run_group_tests_name("workqueue", tests, NULL, NULL);
}

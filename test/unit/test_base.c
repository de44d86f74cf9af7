/* base: the capped buffer (growth, the cap, the sticky failure, hand-over), the pointer vector,
 * and the stoppable wait (timed out on a fake or the real clock, woken, stopped). No sleeps: the
 * waits end on a condition another thread sets, or on an injected clock the test advances. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kgc/base.h"
#include "kgc/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- buffer ---------------------------------------------------------------------------------- */

static void test_buf_appends_and_grows(void **state)
{
    (void)state;
    struct kgc_base_buf b = {0};
    assert_int_equal(kgc_base_buf_add(&b, "ab", 2), 0);
    assert_int_equal(kgc_base_buf_puts(&b, "cd"), 0);
    assert_int_equal(kgc_base_buf_printf(&b, "-%d-%s", 42, "x"), 0);
    assert_string_equal(b.s, "abcd-42-x");
    assert_int_equal(b.len, 9);
    /* Past the first 4096 bytes, by many small appends and by one long formatted piece. */
    char big[10000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (int i = 0; i < 1000; i++)
        assert_int_equal(kgc_base_buf_add(&b, "0123456789", 10), 0);
    assert_int_equal(kgc_base_buf_printf(&b, "%s!", big), 0);
    assert_int_equal(b.len, 9 + 10000 + sizeof(big));
    assert_true(b.cap > b.len);
    assert_int_equal(b.s[b.len], '\0');
    assert_int_equal(b.s[b.len - 1], '!');
    assert_memory_equal(b.s + 9, "0123456789", 10);
    size_t len = 0;
    char *s = kgc_base_buf_take(&b, &len);
    assert_non_null(s);
    assert_int_equal(len, 9 + 10000 + sizeof(big));
    assert_null(b.s);
    assert_int_equal(b.len, 0);
    free(s);
}

static void test_buf_take_of_nothing_is_an_empty_text(void **state)
{
    (void)state;
    struct kgc_base_buf b = {0};
    size_t len = 7;
    char *s = kgc_base_buf_take(&b, &len);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
    assert_int_equal(kgc_base_buf_printf(&b, "%s", ""), 0); /* an empty piece still allocates */
    assert_non_null(b.s);
    assert_string_equal(b.s, "");
    kgc_base_buf_free(&b);
}

static void test_buf_cap_is_exact_and_the_failure_sticks(void **state)
{
    (void)state;
    struct kgc_base_buf b;
    kgc_base_buf_init(&b, 11); /* 10 bytes of text and the NUL */
    assert_int_equal(kgc_base_buf_add(&b, "0123456", 7), 0);
    assert_int_equal(kgc_base_buf_add(&b, "789", 3), 0); /* exactly the cap */
    assert_string_equal(b.s, "0123456789");
    assert_true(b.cap <= 11); /* never allocates past max */
    assert_int_equal(kgc_base_buf_add(&b, "a", 1), KGC_E2BIG);
    assert_int_equal(b.err, KGC_E2BIG);
    /* Sticky: nothing more is taken, not even what would fit, and the text so far stays. */
    assert_int_equal(kgc_base_buf_add(&b, "", 0), KGC_E2BIG);
    assert_int_equal(kgc_base_buf_printf(&b, "%s", ""), KGC_E2BIG);
    assert_string_equal(b.s, "0123456789");
    size_t len = 5;
    assert_null(kgc_base_buf_take(&b, &len));
    assert_int_equal(len, 0);
    /* Emptied, the cap kept, the error cleared: usable again. */
    assert_int_equal(b.max, 11);
    assert_int_equal(b.err, 0);
    assert_int_equal(kgc_base_buf_puts(&b, "ok"), 0);
    kgc_base_buf_free(&b);
}

static void test_buf_cap_of_one_byte_holds_only_the_empty_text(void **state)
{
    (void)state;
    struct kgc_base_buf b;
    kgc_base_buf_init(&b, 1);
    assert_int_equal(kgc_base_buf_add(&b, "", 0), 0);
    assert_string_equal(b.s, "");
    assert_int_equal(b.cap, 1);
    assert_int_equal(kgc_base_buf_puts(&b, "x"), KGC_E2BIG);
    kgc_base_buf_free(&b);
}

static void test_buf_printf_over_the_cap_keeps_the_text_terminated(void **state)
{
    (void)state;
    struct kgc_base_buf b;
    kgc_base_buf_init(&b, 5000);
    assert_int_equal(kgc_base_buf_puts(&b, "head"), 0);
    char big[6000];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(kgc_base_buf_printf(&b, "%s", big), KGC_E2BIG);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.s, "head");
    kgc_base_buf_free(&b);
}

/* An allocation failure cannot be forced portably (ASan aborts on absurd sizes), so it is
 * simulated: a buffer whose err is KGC_ENOMEM behaves as after a failed realloc. */
static void test_buf_out_of_memory_sticks(void **state)
{
    (void)state;
    struct kgc_base_buf b = {0};
    assert_int_equal(kgc_base_buf_puts(&b, "before"), 0);
    b.err = KGC_ENOMEM;
    assert_int_equal(kgc_base_buf_puts(&b, "after"), KGC_ENOMEM);
    assert_int_equal(kgc_base_buf_reserve(&b, 100000), KGC_ENOMEM);
    assert_string_equal(b.s, "before");
    assert_null(kgc_base_buf_take(&b, NULL));
    assert_null(b.s);
}

static void test_buf_reserve_allocates_once(void **state)
{
    (void)state;
    struct kgc_base_buf b;
    kgc_base_buf_init(&b, 100001);
    assert_int_equal(kgc_base_buf_reserve(&b, 50000), 0);
    assert_int_equal(b.cap, 50001);
    assert_string_equal(b.s, "");
    char *before = b.s;
    for (int i = 0; i < 5000; i++)
        assert_int_equal(kgc_base_buf_add(&b, "0123456789", 10), 0);
    assert_ptr_equal(b.s, before); /* exactly 50000 bytes fit without a realloc */
    assert_int_equal(kgc_base_buf_reserve(&b, 10), 0); /* less than held: nothing */
    assert_int_equal(b.cap, 50001);
    assert_int_equal(kgc_base_buf_reserve(&b, 100001), KGC_E2BIG);
    assert_int_equal(b.len, 50000);
    kgc_base_buf_free(&b);
}

/* ---- vector ---------------------------------------------------------------------------------- */

static void test_vec_grows_and_keeps_order(void **state)
{
    (void)state;
    struct kgc_base_vec v = {0};
    static int items[1000];
    for (int i = 0; i < 1000; i++)
        assert_int_equal(kgc_base_vec_push(&v, &items[i]), 0);
    assert_int_equal(v.n, 1000);
    assert_true(v.cap >= 1000);
    for (int i = 0; i < 1000; i++)
        assert_ptr_equal(v.v[i], &items[i]);
    assert_int_equal(kgc_base_vec_push(&v, NULL), 0); /* NULL is a value like any other */
    assert_null(v.v[1000]);
    kgc_base_vec_free(&v);
    assert_null(v.v);
    assert_int_equal(v.n, 0);
    assert_int_equal(v.cap, 0);
}

/* ---- waiting --------------------------------------------------------------------------------- */

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    const struct kgc_clock *clock;
    uint64_t deadline;
    bool stop, done;
    enum kgc_base_wait result;
    uint64_t ended_at;
};

static void waiter_init(struct waiter *w, const struct kgc_clock *clock, uint64_t deadline)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    assert_int_equal(kgc_base_cond_init(&w->cond), 0);
    w->clock = clock;
    w->deadline = deadline;
}

static void waiter_destroy(struct waiter *w)
{
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
}

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    w->result = kgc_base_wait_until(&w->cond, &w->mu, w->clock, w->deadline, &w->stop, &w->done);
    w->ended_at = kgc_clock_now(w->clock);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Sets *flag under the waiter's lock and wakes it. */
static void set_and_signal(struct waiter *w, bool *flag)
{
    pthread_mutex_lock(&w->mu);
    *flag = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

static void test_wait_times_out_on_a_fake_clock(void **state)
{
    (void)state;
    struct kgc_clock fake;
    kgc_clock_fake_init(&fake, 1000);
    struct waiter w;
    waiter_init(&w, &fake, 1000 + 5 * KGC_NS_PER_S);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
    /* Short of the deadline, a wake-up only makes it look at the clock again. */
    pthread_mutex_lock(&w.mu);
    kgc_clock_fake_advance(&fake, 4 * KGC_NS_PER_S);
    pthread_cond_broadcast(&w.cond);
    pthread_mutex_unlock(&w.mu);
    pthread_mutex_lock(&w.mu);
    kgc_clock_fake_advance(&fake, KGC_NS_PER_S);
    pthread_cond_broadcast(&w.cond);
    pthread_mutex_unlock(&w.mu);
    pthread_join(t, NULL);
    assert_int_equal(w.result, KGC_BASE_WAIT_TIMEDOUT);
    assert_true(w.ended_at >= 1000 + 5 * KGC_NS_PER_S);
    waiter_destroy(&w);
}

static void test_wait_past_deadline_returns_at_once(void **state)
{
    (void)state;
    struct kgc_clock fake;
    kgc_clock_fake_init(&fake, 500);
    struct waiter w;
    waiter_init(&w, &fake, 500);
    waiter_main(&w); /* same thread: would hang if it waited */
    assert_int_equal(w.result, KGC_BASE_WAIT_TIMEDOUT);
    w.stop = true; /* stop outranks the deadline, done outranks both */
    waiter_main(&w);
    assert_int_equal(w.result, KGC_BASE_WAIT_STOPPED);
    w.done = true;
    waiter_main(&w);
    assert_int_equal(w.result, KGC_BASE_WAIT_DONE);
    waiter_destroy(&w);
}

static void test_wait_times_out_on_the_real_clock(void **state)
{
    (void)state;
    uint64_t start = kgc_clock_now(NULL);
    struct waiter w;
    waiter_init(&w, NULL, start + 20 * KGC_NS_PER_MS);
    waiter_main(&w);
    assert_int_equal(w.result, KGC_BASE_WAIT_TIMEDOUT);
    assert_true(w.ended_at >= start + 20 * KGC_NS_PER_MS); /* never before the deadline */
    waiter_destroy(&w);
}

static void test_wait_is_woken_by_its_condition(void **state)
{
    (void)state;
    struct waiter w;
    waiter_init(&w, NULL, UINT64_MAX); /* no deadline: only the condition can end it */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
    set_and_signal(&w, &w.done);
    pthread_join(t, NULL);
    assert_int_equal(w.result, KGC_BASE_WAIT_DONE);
    waiter_destroy(&w);
}

static void test_wait_is_stopped(void **state)
{
    (void)state;
    struct kgc_clock fake;
    kgc_clock_fake_init(&fake, 0);
    struct waiter w;
    waiter_init(&w, &fake, KGC_NS_PER_S); /* a fake clock that never moves */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
    set_and_signal(&w, &w.stop);
    pthread_join(t, NULL);
    assert_int_equal(w.result, KGC_BASE_WAIT_STOPPED);
    waiter_destroy(&w);
}

struct sleeper {
    struct waiter w;
    bool slept;
};

static void *sleeper_main(void *arg)
{
    struct sleeper *s = arg;
    s->slept = kgc_base_sleep_or_stop(&s->w.cond, &s->w.mu, 3600 * KGC_NS_PER_S, &s->w.stop);
    return NULL;
}

static void test_sleep_or_stop(void **state)
{
    (void)state;
    struct sleeper s;
    waiter_init(&s.w, NULL, 0);
    assert_true(kgc_base_sleep_or_stop(&s.w.cond, &s.w.mu, 1000, &s.w.stop)); /* 1 µs: slept */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sleeper_main, &s), 0);
    set_and_signal(&s.w, &s.w.stop); /* an hour's sleep, cut short */
    pthread_join(t, NULL);
    assert_false(s.slept);
    assert_false(kgc_base_sleep_or_stop(&s.w.cond, &s.w.mu, 3600 * KGC_NS_PER_S, &s.w.stop));
    waiter_destroy(&s.w);
}

/* ---- time ------------------------------------------------------------------------------------ */

/* CLOCK_REALTIME in ms, read directly. (Not time(NULL): glibc reads it from the coarse clock,
 * which lags the real one by up to a tick, so "time() * 1000 + 1000" was once below a
 * kgc_base_wall_ms() taken just after a second began: a CI run failed on it.) */
static uint64_t realtime_ms(void)
{
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void test_wall_ms_is_the_epoch_in_milliseconds(void **state)
{
    (void)state;
    uint64_t before = realtime_ms();
    uint64_t ms = kgc_base_wall_ms();
    uint64_t after = realtime_ms();
    assert_true(ms >= before && ms <= after);
    assert_true(ms > UINT64_C(1577836800000)); /* after 2020-01-01: the epoch, in ms */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_appends_and_grows),
        cmocka_unit_test(test_buf_take_of_nothing_is_an_empty_text),
        cmocka_unit_test(test_buf_cap_is_exact_and_the_failure_sticks),
        cmocka_unit_test(test_buf_cap_of_one_byte_holds_only_the_empty_text),
        cmocka_unit_test(test_buf_printf_over_the_cap_keeps_the_text_terminated),
        cmocka_unit_test(test_buf_out_of_memory_sticks),
        cmocka_unit_test(test_buf_reserve_allocates_once),
        cmocka_unit_test(test_vec_grows_and_keeps_order),
        cmocka_unit_test(test_wait_times_out_on_a_fake_clock),
        cmocka_unit_test(test_wait_past_deadline_returns_at_once),
        cmocka_unit_test(test_wait_times_out_on_the_real_clock),
        cmocka_unit_test(test_wait_is_woken_by_its_condition),
        cmocka_unit_test(test_wait_is_stopped),
        cmocka_unit_test(test_sleep_or_stop),
        cmocka_unit_test(test_wall_ms_is_the_epoch_in_milliseconds),
    };
    return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}

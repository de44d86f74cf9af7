/* Stoppable timed waits on the monotonic or an injected clock, and wall-clock time (see
 * include/kgc/base.h). */
#include "kgc/base.h"

#include <time.h>

int kgc_base_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc)
        return rc;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (!rc)
        rc = pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
    return rc;
}

void kgc_base_cond_wait_once(pthread_cond_t *cond, pthread_mutex_t *mu, uint64_t deadline_ns)
{
    if (deadline_ns == UINT64_MAX) {
        pthread_cond_wait(cond, mu);
        return;
    }
    struct timespec ts = {.tv_sec = (time_t)(deadline_ns / KGC_NS_PER_S),
                          .tv_nsec = (long)(deadline_ns % KGC_NS_PER_S)};
    pthread_cond_timedwait(cond, mu, &ts);
}

enum kgc_base_wait kgc_base_wait_until(pthread_cond_t *cond, pthread_mutex_t *mu,
                                       const struct kgc_clock *clock, uint64_t deadline_ns,
                                       const bool *stop, const bool *done)
{
    if (!clock)
        clock = kgc_clock_real();
    for (;;) {
        if (done && *done)
            return KGC_BASE_WAIT_DONE;
        if (stop && *stop)
            return KGC_BASE_WAIT_STOPPED;
        if (deadline_ns != UINT64_MAX && kgc_clock_now(clock) >= deadline_ns)
            return KGC_BASE_WAIT_TIMEDOUT;
        /* A fake clock's deadline is not on CLOCK_MONOTONIC: wait for the test's signal. */
        kgc_base_cond_wait_once(cond, mu, clock->is_fake ? UINT64_MAX : deadline_ns);
    }
}

bool kgc_base_sleep_or_stop(pthread_cond_t *cond, pthread_mutex_t *mu, uint64_t ns,
                            const bool *stop)
{
    uint64_t now = kgc_clock_now(NULL);
    uint64_t deadline = ns > UINT64_MAX - 1 - now ? UINT64_MAX - 1 : now + ns;
    pthread_mutex_lock(mu);
    enum kgc_base_wait w = kgc_base_wait_until(cond, mu, NULL, deadline, stop, NULL);
    pthread_mutex_unlock(mu);
    return w != KGC_BASE_WAIT_STOPPED;
}

uint64_t kgc_base_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

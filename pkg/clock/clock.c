#include "kgc/clock.h"

#include <stdio.h>
#include <time.h>

static uint64_t real_now(const struct kgc_clock *clock)
{
    (void)clock;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * KGC_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t fake_now(const struct kgc_clock *clock)
{
    return __atomic_load_n(&clock->fake_now, __ATOMIC_ACQUIRE);
}

static const struct kgc_clock real_clock = {.now_ns = real_now, .is_fake = false};

const struct kgc_clock *kgc_clock_real(void)
{
    return &real_clock;
}

void kgc_clock_fake_init(struct kgc_clock *clock, uint64_t start_ns)
{
    clock->now_ns = fake_now;
    clock->is_fake = true;
    __atomic_store_n(&clock->fake_now, start_ns, __ATOMIC_RELEASE);
}

void kgc_clock_fake_advance(struct kgc_clock *clock, uint64_t delta_ns)
{
    __atomic_add_fetch(&clock->fake_now, delta_ns, __ATOMIC_ACQ_REL);
}

uint64_t kgc_clock_now(const struct kgc_clock *clock)
{
    if (!clock)
        clock = &real_clock;
    return clock->now_ns(clock);
}

char *kgc_clock_rfc3339(char *buf, unsigned long size, int frac_digits)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[24];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac_digits == 3)
        snprintf(buf, size, "%s.%03ldZ", base, ts.tv_nsec / 1000000L);
    else if (frac_digits == 6)
        snprintf(buf, size, "%s.%06ldZ", base, ts.tv_nsec / 1000L);
    else
        snprintf(buf, size, "%sZ", base);
    return buf;
}

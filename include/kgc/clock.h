/* clock — the time source every timed module takes, so tests can inject a fake one.
 *
 * Times are nanoseconds on a monotonic scale (CLOCK_MONOTONIC for the real clock). A fake clock
 * only moves when a test advances it. */
#ifndef KGC_CLOCK_H
#define KGC_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define KGC_NS_PER_MS 1000000ULL
#define KGC_NS_PER_S  1000000000ULL

struct kgc_clock {
    uint64_t (*now_ns)(const struct kgc_clock *clock); /* current monotonic time */
    bool is_fake;      /* true: time only moves by kgc_clock_fake_advance(); never wait on it */
    uint64_t fake_now; /* the fake clock's current time (atomic access); unused by the real one */
};

/* The process-wide real monotonic clock. Never NULL; never freed. */
const struct kgc_clock *kgc_clock_real(void);

/* Initialises a fake clock at start_ns. The caller owns the struct. */
void kgc_clock_fake_init(struct kgc_clock *clock, uint64_t start_ns);

/* Moves a fake clock forward by delta_ns. */
void kgc_clock_fake_advance(struct kgc_clock *clock, uint64_t delta_ns);

/* Now on the given clock (the real one when clock is NULL). */
uint64_t kgc_clock_now(const struct kgc_clock *clock);

/* Wall-clock time as RFC 3339 UTC with `frac_digits` (0, 3 or 6) fractional digits into buf
 * (at least 32 bytes). Returns buf. */
char *kgc_clock_rfc3339(char *buf, unsigned long size, int frac_digits);

#endif

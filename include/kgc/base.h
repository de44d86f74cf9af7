/* base — the small pieces every module needs and none should write again (pkg/base/README.md):
 *
 *   kgc_base_buf    a growable text buffer with a size cap and a sticky failure
 *   kgc_base_vec    a growable vector of pointers
 *   kgc_base_wait_until / kgc_base_cond_*   a stoppable timed wait on a condition variable,
 *                   on the monotonic clock or an injected fake one (kgc/clock.h)
 *   kgc_base_wall_ms  wall-clock milliseconds since the epoch
 *   kgc_digest_md5_hex  (kgc/digest.h, included here) MD5 hex digests: Kong's configuration hash
 *
 * Nothing here logs, keeps globals or takes locks of its own: a buffer or vector belongs to one
 * thread at a time (the caller's lock, if shared); the wait functions run under the caller's
 * mutex. Errors are kgc/err.h codes. */
#ifndef KGC_BASE_H
#define KGC_BASE_H

#include "kgc/clock.h"
#include "kgc/digest.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- kgc_base_buf -----------------------------------------------------------------------------
 * Bytes appended at the end, always NUL-terminated once anything was allocated (the NUL is not
 * counted in len). The first failure is sticky: err becomes KGC_E2BIG (text and NUL would pass
 * max bytes)
 * or KGC_ENOMEM (an allocation failed), and every later append does nothing, so a writer can
 * append a whole document and look at err once at the end. What was appended before the failure
 * stays (freed by kgc_base_buf_free). Zero-initialised ({0}) is an empty buffer without a cap;
 * kgc_base_buf_init sets one. Growth doubles from 4096 bytes and never allocates past max. */
struct kgc_base_buf {
    char *s;    /* the text (malloc'd; NULL until the first allocation) */
    size_t len; /* bytes of text, without the NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* the most bytes it may allocate, the NUL included (text: max - 1); 0: no cap */
    int err;    /* 0, KGC_E2BIG or KGC_ENOMEM: sticky */
};

/* An empty buffer that never allocates more than max bytes, its NUL included, so its text
 * stays below max bytes (0: no cap). Allocates nothing. */
void kgc_base_buf_init(struct kgc_base_buf *b, size_t max);

/* Appends n bytes at p. Returns b->err (0 on success). */
int kgc_base_buf_add(struct kgc_base_buf *b, const void *p, size_t n);

/* Appends the NUL-terminated s. Returns b->err. */
int kgc_base_buf_puts(struct kgc_base_buf *b, const char *s);

/* Appends printf-formatted text. Returns b->err. */
int kgc_base_buf_printf(struct kgc_base_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int kgc_base_buf_vprintf(struct kgc_base_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Makes room for at least n bytes of text in one allocation of exactly n + 1 bytes when the
 * buffer holds less (a writer that knows its size avoids the copies of doubling). Fails (sticky)
 * like an append: KGC_E2BIG when n + 1 passes max. Returns b->err. */
int kgc_base_buf_reserve(struct kgc_base_buf *b, size_t n);

/* Hands the text over: the malloc'd, NUL-terminated text ("" when nothing was appended) and its
 * length in *len (may be NULL); NULL when the buffer failed or "" could not be allocated. Either
 * way the buffer is empty afterwards (its cap kept, err cleared) and the caller owns the text. */
char *kgc_base_buf_take(struct kgc_base_buf *b, size_t *len);

/* Frees the text; the buffer is empty afterwards (its cap kept, err cleared). */
void kgc_base_buf_free(struct kgc_base_buf *b);

/* ---- kgc_base_vec -----------------------------------------------------------------------------
 * A growable array of pointers. Zero-initialised ({0}) is empty. It never owns what the pointers
 * point at: kgc_base_vec_free frees the array only. Growth doubles from 16 slots. */
struct kgc_base_vec {
    void **v;   /* the pointers (malloc'd; NULL while empty and never grown) */
    size_t n;   /* pointers held */
    size_t cap; /* slots allocated */
};

/* Appends p. Returns 0 or KGC_ENOMEM (the vector unchanged). */
int kgc_base_vec_push(struct kgc_base_vec *v, void *p);

/* Frees the array (not the pointees); the vector is empty afterwards. */
void kgc_base_vec_free(struct kgc_base_vec *v);

/* ---- waiting ----------------------------------------------------------------------------------
 * Deadlines are nanoseconds on a kgc_clock's monotonic scale; UINT64_MAX is "never". A condition
 * variable waited on with a real clock must use CLOCK_MONOTONIC: make it with kgc_base_cond_init.
 * With a fake clock (clock->is_fake) the wait has no timeout of its own: time passes only when a
 * test advances the clock, so the test signals the condition variable after advancing it and the
 * waiter then compares the fake now with the deadline. Spurious wake-ups are absorbed. */

/* pthread_cond_init with CLOCK_MONOTONIC. Returns 0 or the pthread error. */
int kgc_base_cond_init(pthread_cond_t *cond);

/* One wait with mu held: returns after a signal, a spurious wake-up or the deadline on the real
 * monotonic clock (UINT64_MAX: no deadline). For a caller that re-examines its own state after
 * every wake-up. */
void kgc_base_cond_wait_once(pthread_cond_t *cond, pthread_mutex_t *mu, uint64_t deadline_ns);

enum kgc_base_wait {
    KGC_BASE_WAIT_DONE,     /* *done became true (checked first) */
    KGC_BASE_WAIT_STOPPED,  /* *stop became true */
    KGC_BASE_WAIT_TIMEDOUT, /* the clock reached deadline_ns */
};

/* With mu held (and kept held on return): waits on cond until *done (may be NULL: only stop or
 * the deadline end the wait) or *stop is true, or the clock (NULL: the real one) reaches
 * deadline_ns. The flags are read under mu: whoever sets them does so under mu and then signals
 * or broadcasts cond. When several hold at once the result is the first of DONE, STOPPED,
 * TIMEDOUT. Never resets a flag. */
enum kgc_base_wait kgc_base_wait_until(pthread_cond_t *cond, pthread_mutex_t *mu,
                                       const struct kgc_clock *clock, uint64_t deadline_ns,
                                       const bool *stop, const bool *done);

/* kgc_base_wait_until for ns from now on the real clock, taking and releasing mu itself: the
 * stoppable sleep of a retry loop. Returns false when *stop ended it (the caller stops). */
bool kgc_base_sleep_or_stop(pthread_cond_t *cond, pthread_mutex_t *mu, uint64_t ns,
                            const bool *stop);

/* ---- time -------------------------------------------------------------------------------------
 */

/* Wall-clock (CLOCK_REALTIME) milliseconds since the Unix epoch: for timestamps shown to people
 * (/debug, logs), never for measuring intervals (use kgc_clock_now). */
uint64_t kgc_base_wall_ms(void);

#endif

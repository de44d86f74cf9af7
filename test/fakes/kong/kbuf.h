/* kbuf — the growable byte buffer the test Kong's modules build strings in (messages, encoded
 * arguments, rewritten bodies). Single-threaded per buffer; a zeroed struct is an empty buffer.
 * An allocation failure sticks (oom): later appends do nothing, kf_buf_take() then frees and
 * returns NULL, so callers check once at the end. Internal to test/fakes/kong/. */
#ifndef KGC_TEST_KONG_KBUF_H
#define KGC_TEST_KONG_KBUF_H

#include <stdbool.h>
#include <stddef.h>

struct kf_buf {
    char *p; /* NUL-terminated when non-NULL */
    size_t n, cap;
    bool oom; /* sticky allocation failure */
};

/* Appends n bytes of s (s may be NULL when n is 0). */
void kf_buf_putn(struct kf_buf *b, const char *s, size_t n);
void kf_buf_puts(struct kf_buf *b, const char *s);
void kf_buf_ch(struct kf_buf *b, char c);
/* Hands the string over ("" for an empty buffer); NULL after an allocation failure (the buffer
 * is then freed). The buffer is left empty either way. */
char *kf_buf_take(struct kf_buf *b);
/* Frees the contents and clears oom. */
void kf_buf_free(struct kf_buf *b);

#endif

/* kbuf — the growable byte buffer the test Kong's modules build strings in (messages, encoded
 * arguments, rewritten bodies). Single-threaded per buffer; a zeroed struct is an empty buffer.
 * An allocation failure sticks (oom): later appends do nothing, kf_buf_take() then frees and
 * returns NULL, so callers check once at the end. Internal to test/fakes/kong/. */
#ifndef KGC_TEST_KONG_KBUF_H
#define KGC_TEST_KONG_KBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* UTF-8, shared by the ATC parser and its regex translation (no validation: callers check
 * first). The sequence length a lead byte announces (1 for a continuation or ASCII byte), and
 * the code point at s (n bytes left; a sequence cut short decodes its lead byte alone), its
 * length in *adv. */
size_t kf_utf8_len(unsigned char c);
uint32_t kf_utf8_decode(const unsigned char *s, size_t n, size_t *adv);

#endif

/* kbuf — see kbuf.h. */
#include "kbuf.h"

#include <stdlib.h>
#include <string.h>

void kf_buf_putn(struct kf_buf *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) {
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n) {
        memcpy(b->p + b->n, s, n);
    }
    b->n += n;
    b->p[b->n] = '\0';
}

void kf_buf_puts(struct kf_buf *b, const char *s)
{
    kf_buf_putn(b, s, strlen(s));
}

void kf_buf_ch(struct kf_buf *b, char c)
{
    kf_buf_putn(b, &c, 1);
}

char *kf_buf_take(struct kf_buf *b)
{
    if (!b->oom && !b->p) {
        kf_buf_putn(b, "", 0);
    }
    if (b->oom) {
        kf_buf_free(b);
        return NULL;
    }
    char *p = b->p;
    b->p = NULL;
    b->n = b->cap = 0;
    return p;
}

void kf_buf_free(struct kf_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
    b->oom = false;
}

size_t kf_utf8_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c >= 0xF0)
        return 4;
    if (c >= 0xE0)
        return 3;
    if (c >= 0xC0)
        return 2;
    return 1;
}

uint32_t kf_utf8_decode(const unsigned char *s, size_t n, size_t *adv)
{
    size_t w = kf_utf8_len(s[0]);
    if (w > n)
        w = 1;
    uint32_t cp;
    switch (w) {
    case 1:
        cp = s[0];
        break;
    case 2:
        cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        break;
    case 3:
        cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        break;
    default:
        cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
             ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        break;
    }
    *adv = w;
    return cp;
}

/* kgc_base_buf: a growable text buffer with a cap and a sticky failure (see include/kgc/base.h). */
#include "kgc/base.h"

#include "kgc/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kgc_base_buf_init(struct kgc_base_buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

/* The most bytes of text: max less the NUL. */
static size_t limit(const struct kgc_base_buf *b)
{
    return b->max ? b->max - 1 : SIZE_MAX - 1;
}

/* Room for `need` bytes of text and the NUL; false (and the sticky error) when impossible. */
static bool grow(struct kgc_base_buf *b, size_t need)
{
    if (need > limit(b)) {
        b->err = KGC_E2BIG;
        return false;
    }
    if (need + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need + 1 && cap <= SIZE_MAX / 2)
        cap *= 2;
    if (cap < need + 1 || cap > limit(b) + 1)
        cap = cap < need + 1 ? need + 1 : limit(b) + 1;
    char *p = realloc(b->s, cap);
    if (!p) {
        b->err = KGC_ENOMEM;
        return false;
    }
    b->s = p;
    b->cap = cap;
    return true;
}

int kgc_base_buf_add(struct kgc_base_buf *b, const void *p, size_t n)
{
    if (b->err)
        return b->err;
    if (n > limit(b) - b->len) {
        b->err = KGC_E2BIG;
        return b->err;
    }
    if (!grow(b, b->len + n))
        return b->err;
    if (n)
        memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

int kgc_base_buf_puts(struct kgc_base_buf *b, const char *s)
{
    return kgc_base_buf_add(b, s, strlen(s));
}

int kgc_base_buf_vprintf(struct kgc_base_buf *b, const char *fmt, va_list ap)
{
    if (b->err)
        return b->err;
    va_list again;
    va_copy(again, ap);
    size_t room = b->cap > b->len ? b->cap - b->len : 0;
    int n = vsnprintf(room ? b->s + b->len : NULL, room, fmt, ap);
    if (n >= 0 && (size_t)n >= room) { /* did not fit: grow, then write it again */
        if ((size_t)n > limit(b) - b->len)
            b->err = KGC_E2BIG;
        else if (grow(b, b->len + (size_t)n))
            n = vsnprintf(b->s + b->len, (size_t)n + 1, fmt, again);
    }
    va_end(again);
    if (n < 0 && !b->err)
        b->err = KGC_ENOMEM; /* an encoding error: nothing usable was written */
    if (b->err) {
        if (b->s)
            b->s[b->len] = '\0'; /* a cut-off attempt may have written past the text */
        return b->err;
    }
    b->len += (size_t)n;
    return 0;
}

int kgc_base_buf_printf(struct kgc_base_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = kgc_base_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int kgc_base_buf_reserve(struct kgc_base_buf *b, size_t n)
{
    if (b->err)
        return b->err;
    if (n > limit(b)) {
        b->err = KGC_E2BIG;
        return b->err;
    }
    if (n + 1 <= b->cap)
        return 0;
    char *p = realloc(b->s, n + 1);
    if (!p) {
        b->err = KGC_ENOMEM;
        return b->err;
    }
    if (!b->s)
        p[0] = '\0';
    b->s = p;
    b->cap = n + 1;
    return 0;
}

char *kgc_base_buf_take(struct kgc_base_buf *b, size_t *len)
{
    char *s = b->err ? NULL : b->s;
    size_t n = s ? b->len : 0;
    if (b->err)
        free(b->s);
    else if (!s)
        s = strdup("");
    b->s = NULL;
    b->len = b->cap = 0;
    b->err = 0;
    if (len)
        *len = s ? n : 0;
    return s;
}

void kgc_base_buf_free(struct kgc_base_buf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
    b->err = 0;
}

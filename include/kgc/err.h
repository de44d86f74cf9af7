/* err — result codes and a one-line error message carried up the stack.
 *
 * Every fallible kgc function returns int: 0 on success or a negative code. Codes are negative
 * errno values where one fits (KGC_ENOMEM == -ENOMEM) and kgc's own codes below -1000 otherwise.
 * Where a reason helps the caller, the function also fills a struct kgc_err. */
#ifndef KGC_ERR_H
#define KGC_ERR_H

#include <errno.h>
#include <stddef.h>

#define KGC_OK        0
#define KGC_ENOMEM    (-ENOMEM)
#define KGC_EINVAL    (-EINVAL)
#define KGC_ENOENT    (-ENOENT)
#define KGC_EEXIST    (-EEXIST)
#define KGC_EAGAIN    (-EAGAIN)
#define KGC_ETIMEDOUT (-ETIMEDOUT)
#define KGC_ESHUTDOWN (-ESHUTDOWN)
#define KGC_EIO       (-EIO)
#define KGC_ERANGE    (-ERANGE)
#define KGC_EACCES    (-EACCES)
#define KGC_ENOSPC    (-ENOSPC)
#define KGC_E2BIG     (-E2BIG)
#define KGC_EPARSE    (-1001) /* input is not what the protocol says (bad JSON, bad YAML, ...) */
#define KGC_ECONFLICT (-1002) /* optimistic-concurrency conflict (HTTP 409) */
#define KGC_EGONE     (-1003) /* resource version expired (HTTP 410) */
#define KGC_EHTTP     (-1004) /* the peer answered with an unexpected HTTP status */
#define KGC_ECONNECT  (-1005) /* the peer could not be reached */
#define KGC_EUSAGE    (-1006) /* bad command-line or environment option */

#define KGC_ERR_MSG_MAX 512

/* A result code plus a human-readable, one-line reason. Owned by the caller (usually on the
 * stack); functions that take one fill it only when they fail. */
struct kgc_err {
    int code;                  /* the negative result code, 0 if none */
    char msg[KGC_ERR_MSG_MAX]; /* one line, no trailing newline */
};

/* Fills err (if not NULL) with code and a printf-formatted message; returns code, so a caller can
 * write `return kgc_err_set(err, KGC_EINVAL, "bad port %d", p);`. */
int kgc_err_set(struct kgc_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in err with a printf-formatted context ("context: old message").
 * Returns err->code (or KGC_EINVAL when err is NULL). */
int kgc_err_wrap(struct kgc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Resets err to "no error". */
void kgc_err_clear(struct kgc_err *err);

/* A static description of a result code ("out of memory", "conflict", ...). Never NULL. */
const char *kgc_err_str(int code);

#endif

#include "kgc/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int kgc_err_set(struct kgc_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int kgc_err_wrap(struct kgc_err *err, const char *fmt, ...)
{
    if (!err)
        return KGC_EINVAL;
    char prefix[KGC_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    char old[KGC_ERR_MSG_MAX];
    memcpy(old, err->msg, sizeof(old));
    snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old[0] ? old : kgc_err_str(err->code));
    return err->code;
}

void kgc_err_clear(struct kgc_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

const char *kgc_err_str(int code)
{
    switch (code) {
    case KGC_OK:
        return "ok";
    case KGC_EPARSE:
        return "malformed input";
    case KGC_ECONFLICT:
        return "conflict";
    case KGC_EGONE:
        return "resource version expired";
    case KGC_EHTTP:
        return "unexpected HTTP status";
    case KGC_ECONNECT:
        return "connection failed";
    case KGC_EUSAGE:
        return "bad usage";
    default:
        if (code < 0 && code > -4096)
            return strerror(-code); /* glibc's table is static and thread-safe for valid codes */
        return "unknown error";
    }
}

#include "audit.h"

#include "jsonutil.h"
#include "kgc/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int fas_audit_open(struct fas_audit *a, const char *path)
{
    a->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    pthread_mutex_init(&a->mu, NULL);
    return a->fd < 0 ? -errno : 0;
}

void fas_audit_close(struct fas_audit *a)
{
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    pthread_mutex_destroy(&a->mu);
}

void fas_audit_write(struct fas_audit *a, const char *verb, const char *path,
                     const char *subresource, int code, const char *status_json)
{
    if (a->fd < 0)
        return;
    char ts[40];
    kgc_clock_rfc3339(ts, sizeof(ts), 6);
    struct fas_buf b;
    fas_buf_init(&b);
    /* the line's length, nearly: the status is most of it (escapes in the path may add more) */
    fas_buf_reserve(&b, (status_json ? strlen(status_json) : 4) + strlen(path) + strlen(verb) +
                            (subresource ? strlen(subresource) : 0) + 160);
    fas_buf_puts(&b, "{\"time\":");
    fas_buf_json_string(&b, ts);
    fas_buf_puts(&b, ",\"verb\":");
    fas_buf_json_string(&b, verb);
    fas_buf_puts(&b, ",\"path\":");
    fas_buf_json_string(&b, path);
    if (subresource) {
        fas_buf_puts(&b, ",\"subresource\":");
        fas_buf_json_string(&b, subresource);
    }
    /* appended, not printed: the status is most of the line, and a format would scan it twice */
    fas_buf_printf(&b, ",\"code\":%d,\"status\":", code);
    fas_buf_puts(&b, status_json ? status_json : "null");
    fas_buf_puts(&b, "}\n");
    if (!b.oom) {
        pthread_mutex_lock(&a->mu);
        size_t off = 0;
        while (off < b.len) {
            ssize_t n = write(a->fd, b.data + off, b.len - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        pthread_mutex_unlock(&a->mu);
    }
    fas_buf_free(&b);
}

#include "kgc/log.h"

#include "kgc/clock.h"
#include "kgc/err.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LINE_MAX_BYTES 8192

static int g_level = KGC_LOG_INFO;
static int g_format = KGC_LOG_TEXT;
static int g_fd = 2;
static pthread_mutex_t g_write_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void kgc_log_setup(enum kgc_log_level level, enum kgc_log_format format, int fd)
{
    __atomic_store_n(&g_level, (int)level, __ATOMIC_RELEASE);
    __atomic_store_n(&g_format, (int)format, __ATOMIC_RELEASE);
    __atomic_store_n(&g_fd, fd, __ATOMIC_RELEASE);
}

bool kgc_log_enabled(enum kgc_log_level level)
{
    return (int)level >= __atomic_load_n(&g_level, __ATOMIC_ACQUIRE) && level != KGC_LOG_OFF;
}

const char *kgc_log_level_name(enum kgc_log_level level)
{
    return (unsigned)level <= KGC_LOG_OFF ? level_names[level] : "unknown";
}

int kgc_log_level_parse(const char *s, enum kgc_log_level *out)
{
    for (int i = 0; i <= KGC_LOG_OFF; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum kgc_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = KGC_LOG_WARN;
        return 0;
    }
    return KGC_EINVAL;
}

int kgc_log_format_parse(const char *s, enum kgc_log_format *out)
{
    if (strcasecmp(s, "text") == 0)
        *out = KGC_LOG_TEXT;
    else if (strcasecmp(s, "json") == 0)
        *out = KGC_LOG_JSON;
    else
        return KGC_EINVAL;
    return 0;
}

/* A bounded line builder: appends silently truncate, the line always ends in '\n'. */
struct line {
    char buf[LINE_MAX_BYTES];
    size_t len;
};

static void line_append(struct line *l, const char *s, size_t n)
{
    size_t room = sizeof(l->buf) - 1 - l->len; /* keep one byte for '\n' */
    if (n > room)
        n = room;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void line_puts(struct line *l, const char *s)
{
    line_append(l, s, strlen(s));
}

/* logfmt value: bare when it has no space, quote, '=' or control byte; else quoted and escaped. */
static void line_logfmt_value(struct line *l, const char *v)
{
    if (!v)
        v = "";
    bool bare = v[0] != '\0';
    for (const char *p = v; *p && bare; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20 || *p == '\\')
            bare = false;
    if (bare) {
        line_puts(l, v);
        return;
    }
    line_append(l, "\"", 1);
    for (const char *p = v; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = *p;
            line_append(l, esc, 2);
        } else if (*p == '\n') {
            line_append(l, "\\n", 2);
        } else if ((unsigned char)*p < 0x20) {
            snprintf(esc, sizeof(esc), "\\x%02x", (unsigned char)*p);
            line_puts(l, esc);
        } else {
            line_append(l, p, 1);
        }
    }
    line_append(l, "\"", 1);
}

static void format_text(struct line *l, const char *ts, enum kgc_log_level level,
                        const char *component, const char *msg, const struct kgc_log_field *fields,
                        size_t n)
{
    line_puts(l, "time=");
    line_puts(l, ts);
    line_puts(l, " level=");
    line_puts(l, kgc_log_level_name(level));
    line_puts(l, " component=");
    line_logfmt_value(l, component);
    line_puts(l, " msg=");
    line_logfmt_value(l, msg);
    for (size_t i = 0; i < n; i++) {
        char num[64];
        line_append(l, " ", 1);
        line_puts(l, fields[i].key ? fields[i].key : "?");
        line_append(l, "=", 1);
        switch (fields[i].type) {
        case KGC_LOG_F_STR:
            line_logfmt_value(l, fields[i].s);
            break;
        case KGC_LOG_F_INT:
            snprintf(num, sizeof(num), "%lld", fields[i].i);
            line_puts(l, num);
            break;
        case KGC_LOG_F_DBL:
            snprintf(num, sizeof(num), "%.6g", fields[i].d);
            line_puts(l, num);
            break;
        case KGC_LOG_F_BOOL:
            line_puts(l, fields[i].b ? "true" : "false");
            break;
        }
    }
}

static void format_json(struct line *l, const char *ts, enum kgc_log_level level,
                        const char *component, const char *msg, const struct kgc_log_field *fields,
                        size_t n)
{
    json_object *o = json_object_new_object();
    if (!o) {
        line_puts(l, "{\"level\":\"error\",\"msg\":\"log: out of memory\"}");
        return;
    }
    json_object_object_add(o, "time", json_object_new_string(ts));
    json_object_object_add(o, "level", json_object_new_string(kgc_log_level_name(level)));
    json_object_object_add(o, "component", json_object_new_string(component ? component : ""));
    json_object_object_add(o, "msg", json_object_new_string(msg ? msg : ""));
    for (size_t i = 0; i < n; i++) {
        json_object *v = NULL;
        switch (fields[i].type) {
        case KGC_LOG_F_STR:
            v = json_object_new_string(fields[i].s ? fields[i].s : "");
            break;
        case KGC_LOG_F_INT:
            v = json_object_new_int64(fields[i].i);
            break;
        case KGC_LOG_F_DBL:
            v = json_object_new_double(fields[i].d);
            break;
        case KGC_LOG_F_BOOL:
            v = json_object_new_boolean(fields[i].b);
            break;
        }
        json_object_object_add(o, fields[i].key ? fields[i].key : "?", v);
    }
    line_puts(l, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

void kgc_log_emit(enum kgc_log_level level, const char *component, const char *msg,
                  const struct kgc_log_field *fields, size_t n)
{
    if (!kgc_log_enabled(level))
        return;
    char ts[40];
    kgc_clock_rfc3339(ts, sizeof(ts), 3);
    static __thread struct line l; /* 8 KiB per logging thread, not on the stack */
    l.len = 0;
    if (__atomic_load_n(&g_format, __ATOMIC_ACQUIRE) == KGC_LOG_JSON)
        format_json(&l, ts, level, component, msg, fields, n);
    else
        format_text(&l, ts, level, component, msg, fields, n);
    l.buf[l.len++] = '\n';

    int fd = __atomic_load_n(&g_fd, __ATOMIC_ACQUIRE);
    pthread_mutex_lock(&g_write_lock);
    size_t off = 0;
    while (off < l.len) {
        ssize_t w = write(fd, l.buf + off, l.len - off);
        if (w <= 0)
            break; /* nowhere to report a failing log sink: drop the line */
        off += (size_t)w;
    }
    pthread_mutex_unlock(&g_write_lock);
}

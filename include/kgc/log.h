/* log — the one logger: level, component, message and typed key=value fields, written as one
 * logfmt text line or one JSON object per line, thread-safe, to stderr (or a chosen fd).
 *
 *   kgc_info("informer", "watch restarted", KGC_F_STR("kind", "Gateway"), KGC_F_INT("rv", 12));
 *   text: time=2026-11-27T11:20:00.123Z level=info component=informer msg="watch restarted"
 * kind=Gateway rv=12 json:
 * {"time":"2026-11-27T11:20:00.123Z","level":"info","component":"informer","msg":"watch
 * restarted","kind":"Gateway","rv":12}
 */
#ifndef KGC_LOG_H
#define KGC_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum kgc_log_level { KGC_LOG_DEBUG = 0, KGC_LOG_INFO, KGC_LOG_WARN, KGC_LOG_ERROR, KGC_LOG_OFF };
enum kgc_log_format { KGC_LOG_TEXT = 0, KGC_LOG_JSON };
enum kgc_log_ftype { KGC_LOG_F_STR, KGC_LOG_F_INT, KGC_LOG_F_DBL, KGC_LOG_F_BOOL };

/* One key=value field. Strings are borrowed for the duration of the call; NULL prints as "". */
struct kgc_log_field {
    const char *key;
    enum kgc_log_ftype type;
    union {
        const char *s;
        long long i;
        double d;
        bool b;
    };
};

#define KGC_F_STR(k, v) ((struct kgc_log_field){.key = (k), .type = KGC_LOG_F_STR, .s = (v)})
#define KGC_F_INT(k, v)                                                                            \
    ((struct kgc_log_field){.key = (k), .type = KGC_LOG_F_INT, .i = (long long)(v)})
#define KGC_F_DBL(k, v)                                                                            \
    ((struct kgc_log_field){.key = (k), .type = KGC_LOG_F_DBL, .d = (double)(v)})
#define KGC_F_BOOL(k, v) ((struct kgc_log_field){.key = (k), .type = KGC_LOG_F_BOOL, .b = (v)})

/* Sets the minimum level, the format and the output fd (2 for stderr). Safe at any time. */
void kgc_log_setup(enum kgc_log_level level, enum kgc_log_format format, int fd);

/* True when a line at this level would be written (cheap: one atomic load). */
bool kgc_log_enabled(enum kgc_log_level level);

/* Parses "debug|info|warn|error" (and "warning") / "text|json". Return 0 or KGC_EINVAL. */
int kgc_log_level_parse(const char *s, enum kgc_log_level *out);
int kgc_log_format_parse(const char *s, enum kgc_log_format *out);
const char *kgc_log_level_name(enum kgc_log_level level);

/* Writes one line with n fields. Lines are written whole with one write(2), never interleaved. */
void kgc_log_emit(enum kgc_log_level level, const char *component, const char *msg,
                  const struct kgc_log_field *fields, size_t n);

/* The leading empty field makes an empty field list legal C; it is skipped. */
#define KGC_LOG_AT(level, component, msg, ...)                                                     \
    do {                                                                                           \
        if (kgc_log_enabled(level)) {                                                              \
            const struct kgc_log_field kgc_log_f_[] = {{NULL}, __VA_ARGS__};                       \
            kgc_log_emit((level), (component), (msg), kgc_log_f_ + 1,                              \
                         sizeof(kgc_log_f_) / sizeof(kgc_log_f_[0]) - 1);                          \
        }                                                                                          \
    } while (0)

#define kgc_debug(component, msg, ...) KGC_LOG_AT(KGC_LOG_DEBUG, component, msg, __VA_ARGS__)
#define kgc_info(component, msg, ...)  KGC_LOG_AT(KGC_LOG_INFO, component, msg, __VA_ARGS__)
#define kgc_warn(component, msg, ...)  KGC_LOG_AT(KGC_LOG_WARN, component, msg, __VA_ARGS__)
#define kgc_error(component, msg, ...) KGC_LOG_AT(KGC_LOG_ERROR, component, msg, __VA_ARGS__)

#endif

/* log: levels, logfmt quoting, JSON lines, and whole lines under concurrency. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kgc/log.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Redirects the logger to a temporary file; returns its fd. */
static int capture(enum kgc_log_level level, enum kgc_log_format format)
{
    char path[] = "/tmp/kgc-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    kgc_log_setup(level, format, fd);
    return fd;
}

/* Everything written to fd so far (malloc'd). */
static char *captured(int fd)
{
    off_t size = lseek(fd, 0, SEEK_END);
    char *buf = malloc((size_t)size + 1);
    assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
    buf[size] = '\0';
    return buf;
}

static void restore(int fd)
{
    kgc_log_setup(KGC_LOG_INFO, KGC_LOG_TEXT, 2);
    close(fd);
}

static void test_text_line_is_logfmt_with_quoting(void **state)
{
    (void)state;
    int fd = capture(KGC_LOG_DEBUG, KGC_LOG_TEXT);
    kgc_info("informer", "watch restarted", KGC_F_STR("kind", "Gateway"), KGC_F_INT("rv", 12),
             KGC_F_STR("reason", "stream \"closed\" by peer"), KGC_F_BOOL("stale", true),
             KGC_F_STR("empty", ""));
    char *out = captured(fd);
    assert_non_null(strstr(out, " level=info component=informer msg=\"watch restarted\" "
                                "kind=Gateway rv=12 reason=\"stream \\\"closed\\\" by peer\" "
                                "stale=true empty=\"\"\n"));
    assert_memory_equal(out, "time=", 5);
    free(out);
    restore(fd);
}

static void test_json_line_parses_with_typed_fields(void **state)
{
    (void)state;
    int fd = capture(KGC_LOG_DEBUG, KGC_LOG_JSON);
    kgc_warn("kong", "instance unreachable", KGC_F_STR("url", "http://10.0.0.1:8001"),
             KGC_F_INT("attempt", 3), KGC_F_DBL("age_s", 1.5), KGC_F_STR("note", "tab\there"));
    char *out = captured(fd);
    size_t len = strlen(out);
    assert_true(len > 0 && out[len - 1] == '\n');
    json_object *o = json_tokener_parse(out);
    assert_non_null(o);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "level", &v));
    assert_string_equal(json_object_get_string(v), "warn");
    assert_true(json_object_object_get_ex(o, "component", &v));
    assert_string_equal(json_object_get_string(v), "kong");
    assert_true(json_object_object_get_ex(o, "attempt", &v));
    assert_int_equal(json_object_get_type(v), json_type_int);
    assert_int_equal(json_object_get_int(v), 3);
    assert_true(json_object_object_get_ex(o, "note", &v));
    assert_string_equal(json_object_get_string(v), "tab\there");
    json_object_put(o);
    free(out);
    restore(fd);
}

static void test_level_filters_lines(void **state)
{
    (void)state;
    int fd = capture(KGC_LOG_WARN, KGC_LOG_TEXT);
    kgc_debug("x", "dropped");
    kgc_info("x", "dropped too");
    kgc_error("x", "kept");
    assert_false(kgc_log_enabled(KGC_LOG_INFO));
    assert_true(kgc_log_enabled(KGC_LOG_ERROR));
    char *out = captured(fd);
    assert_null(strstr(out, "dropped"));
    assert_non_null(strstr(out, "level=error component=x msg=kept"));
    free(out);
    restore(fd);
}

static void test_level_and_format_names_parse(void **state)
{
    (void)state;
    enum kgc_log_level l;
    enum kgc_log_format f;
    assert_int_equal(kgc_log_level_parse("WARNING", &l), 0);
    assert_int_equal(l, KGC_LOG_WARN);
    assert_int_equal(kgc_log_level_parse("verbose", &l), -22);
    assert_int_equal(kgc_log_format_parse("json", &f), 0);
    assert_int_equal(f, KGC_LOG_JSON);
    assert_int_equal(kgc_log_format_parse("xml", &f), -22);
}

#define LOG_THREADS 8
#define LOG_LINES   500

static void *log_many(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < LOG_LINES; i++)
        kgc_info("worker", "reconciled a fairly long message to make interleaving visible",
                 KGC_F_INT("thread", id), KGC_F_INT("i", i),
                 KGC_F_STR("key", "gateway-conformance-infra/same-namespace-with-a-long-name"));
    return NULL;
}

static void test_concurrent_lines_are_never_interleaved(void **state)
{
    (void)state;
    int fd = capture(KGC_LOG_INFO, KGC_LOG_JSON);
    pthread_t th[LOG_THREADS];
    for (long t = 0; t < LOG_THREADS; t++)
        pthread_create(&th[t], NULL, log_many, (void *)t);
    for (int t = 0; t < LOG_THREADS; t++)
        pthread_join(th[t], NULL);
    char *out = captured(fd);
    int lines = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_object *o = json_tokener_parse(line);
        if (!o)
            fail_msg("line %d is not one JSON object: %.120s", lines, line);
        json_object_put(o);
        lines++;
    }
    assert_int_equal(lines, LOG_THREADS * LOG_LINES);
    free(out);
    restore(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_line_is_logfmt_with_quoting),
        cmocka_unit_test(test_json_line_parses_with_typed_fields),
        cmocka_unit_test(test_level_filters_lines),
        cmocka_unit_test(test_level_and_format_names_parse),
        cmocka_unit_test(test_concurrent_lines_are_never_interleaved),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}

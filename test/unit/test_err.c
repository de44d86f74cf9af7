/* err: what a caller sees of a failure — the code travels back unchanged, the one-line message is
 * formatted and cut at KGC_ERR_MSG_MAX, context is prefixed, and every code has a description. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kgc/err.h"

#include <string.h>

static void test_set_returns_code_and_formats(void **state)
{
    (void)state;
    struct kgc_err e = {0};
    assert_int_equal(kgc_err_set(&e, KGC_EINVAL, "bad port %d", 70000), KGC_EINVAL);
    assert_int_equal(e.code, KGC_EINVAL);
    assert_string_equal(e.msg, "bad port 70000");
    /* NULL err: the code still comes back, nothing is written */
    assert_int_equal(kgc_err_set(NULL, KGC_ENOSPC, "x"), KGC_ENOSPC);
}

static void test_set_truncates_long_messages(void **state)
{
    (void)state;
    struct kgc_err e = {0};
    char big[2 * KGC_ERR_MSG_MAX];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    kgc_err_set(&e, KGC_EPARSE, "%s", big);
    assert_int_equal(strlen(e.msg), KGC_ERR_MSG_MAX - 1);
}

static void test_wrap_prefixes_context(void **state)
{
    (void)state;
    struct kgc_err e = {0};
    kgc_err_set(&e, KGC_ECONNECT, "connection refused");
    assert_int_equal(kgc_err_wrap(&e, "kong %s", "http://k:8001"), KGC_ECONNECT);
    assert_string_equal(e.msg, "kong http://k:8001: connection refused");
    /* no message yet: the code's description stands in */
    struct kgc_err f = {.code = KGC_ETIMEDOUT};
    kgc_err_wrap(&f, "probe");
    assert_string_equal(f.msg, "probe: Connection timed out");
    assert_int_equal(kgc_err_wrap(NULL, "x"), KGC_EINVAL);
}

static void test_clear(void **state)
{
    (void)state;
    struct kgc_err e = {0};
    kgc_err_set(&e, KGC_EIO, "disk");
    kgc_err_clear(&e);
    assert_int_equal(e.code, 0);
    assert_string_equal(e.msg, "");
    kgc_err_clear(NULL);
}

static void test_every_code_has_a_description(void **state)
{
    (void)state;
    const int codes[] = {KGC_ENOMEM,    KGC_EINVAL,    KGC_ENOENT, KGC_EEXIST,    KGC_EAGAIN,
                         KGC_ETIMEDOUT, KGC_ESHUTDOWN, KGC_EIO,    KGC_ERANGE,    KGC_EACCES,
                         KGC_ENOSPC,    KGC_E2BIG,     KGC_EPARSE, KGC_ECONFLICT, KGC_EGONE,
                         KGC_EHTTP,     KGC_ECONNECT,  KGC_EUSAGE};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *d = kgc_err_str(codes[i]);
        assert_non_null(d);
        assert_true(d[0] != '\0');
        assert_string_not_equal(d, "unknown error");
        /* kgc's own codes are told apart from each other */
        for (size_t j = 0; j < i; j++)
            if (codes[j] <= -1000 && codes[i] <= -1000)
                assert_string_not_equal(d, kgc_err_str(codes[j]));
    }
    assert_string_equal(kgc_err_str(KGC_EPARSE), "malformed input");
    assert_string_equal(kgc_err_str(KGC_OK), "ok");
    assert_string_equal(kgc_err_str(-99999), "unknown error");
    assert_string_equal(kgc_err_str(5), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_returns_code_and_formats),
        cmocka_unit_test(test_set_truncates_long_messages),
        cmocka_unit_test(test_wrap_prefixes_context),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_every_code_has_a_description),
    };
    return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}

/* clock: the fake clock moves only when told (what every timed unit test relies on), the real
 * one never goes back, NULL means the real one, and wall time prints as RFC 3339 UTC with the
 * asked fraction (Kubernetes' lastTransitionTime and Lease times). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kgc/clock.h"

#include <regex.h>
#include <string.h>

static void test_fake_moves_only_when_advanced(void **state)
{
    (void)state;
    struct kgc_clock c;
    kgc_clock_fake_init(&c, 5 * KGC_NS_PER_S);
    assert_true(c.is_fake);
    assert_int_equal(kgc_clock_now(&c), 5 * KGC_NS_PER_S);
    assert_int_equal(kgc_clock_now(&c), 5 * KGC_NS_PER_S);
    kgc_clock_fake_advance(&c, 250 * KGC_NS_PER_MS);
    assert_int_equal(kgc_clock_now(&c), 5 * KGC_NS_PER_S + 250 * KGC_NS_PER_MS);
}

static void test_real_is_monotonic_and_default(void **state)
{
    (void)state;
    const struct kgc_clock *r = kgc_clock_real();
    assert_non_null(r);
    assert_false(r->is_fake);
    uint64_t prev = kgc_clock_now(r);
    for (int i = 0; i < 10000; i++) {
        uint64_t t = kgc_clock_now(NULL); /* NULL: the real clock */
        assert_true(t >= prev);
        prev = t;
    }
}

static void check_rfc3339(int frac, const char *pattern)
{
    char buf[64];
    assert_ptr_equal(kgc_clock_rfc3339(buf, sizeof(buf), frac), buf);
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    int m = regexec(&re, buf, 0, NULL, 0);
    regfree(&re);
    if (m != 0)
        fail_msg("%s does not match %s", buf, pattern);
}

static void test_rfc3339_utc(void **state)
{
    (void)state;
    check_rfc3339(0, "^2[0-9]{3}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z$");
    check_rfc3339(3,
                  "^2[0-9]{3}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}Z$");
    check_rfc3339(6,
                  "^2[0-9]{3}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{6}Z$");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake_moves_only_when_advanced),
        cmocka_unit_test(test_real_is_monotonic_and_default),
        cmocka_unit_test(test_rfc3339_utc),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}

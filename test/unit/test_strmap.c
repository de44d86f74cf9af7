/* strmap: lookups, replacement, deletion that keeps probe chains intact, growth and iteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kgc/strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 5000

static void test_put_get_replace_remove(void **state)
{
    (void)state;
    struct kgc_strmap m;
    kgc_strmap_init(&m);
    assert_null(kgc_strmap_get(&m, "missing"));
    int a = 1, b = 2;
    void *old = &a;
    assert_int_equal(kgc_strmap_put(&m, "ns/a", &a, &old), 0);
    assert_null(old);
    assert_int_equal(kgc_strmap_put(&m, "ns/a", &b, &old), 0);
    assert_ptr_equal(old, &a);
    assert_int_equal(kgc_strmap_len(&m), 1);
    assert_ptr_equal(kgc_strmap_get(&m, "ns/a"), &b);
    assert_null(kgc_strmap_get(&m, "ns/ab"));
    assert_null(kgc_strmap_get(&m, "ns/"));
    assert_ptr_equal(kgc_strmap_remove(&m, "ns/a"), &b);
    assert_null(kgc_strmap_remove(&m, "ns/a"));
    assert_int_equal(kgc_strmap_len(&m), 0);
    kgc_strmap_destroy(&m);
}

/* Against a plain array as the model: insert N keys, delete every third, check all. */
static void test_many_keys_with_deletions_match_a_model(void **state)
{
    (void)state;
    static char keys[N][32];
    static int present[N];
    struct kgc_strmap m;
    kgc_strmap_init(&m);
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "namespace-%d/route-%d", i % 7, i);
        assert_int_equal(kgc_strmap_put(&m, keys[i], keys[i], NULL), 0);
        present[i] = 1;
    }
    for (int i = 0; i < N; i += 3) {
        assert_ptr_equal(kgc_strmap_remove(&m, keys[i]), keys[i]);
        present[i] = 0;
    }
    size_t want = 0;
    for (int i = 0; i < N; i++) {
        want += (size_t)present[i];
        if (present[i])
            assert_ptr_equal(kgc_strmap_get(&m, keys[i]), keys[i]);
        else
            assert_null(kgc_strmap_get(&m, keys[i]));
    }
    assert_int_equal(kgc_strmap_len(&m), want);
    size_t pos = 0, seen = 0;
    const char *k;
    void *v;
    while (kgc_strmap_next(&m, &pos, &k, &v)) {
        assert_ptr_equal(k, v);
        seen++;
    }
    assert_int_equal(seen, want);
    kgc_strmap_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace_remove),
        cmocka_unit_test(test_many_keys_with_deletions_match_a_model),
    };
    return cmocka_run_group_tests_name("strmap", tests, NULL, NULL);
}

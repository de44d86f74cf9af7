/* jsonscan: strict syntax, value/container/depth budgets refused before json-c builds anything,
 * the member iterators (also on a cut document), and the bounded parse of what fits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kgc/jsonscan.h"

#include <stdlib.h>
#include <string.h>

static int scan(const char *s, const struct kgc_jsonscan_limits *lim, struct kgc_jsonscan_stats *st,
                struct kgc_err *err)
{
    return kgc_jsonscan_scan(s, strlen(s), lim, st, "doc", err);
}

static void test_valid_documents(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "{}",
        " [ ] ",
        "0",
        "-0.5e+3",
        "\"a\\u00e9\\n\\\"\"",
        "true",
        "false",
        "null",
        "{\"a\":[1,2,{\"b\":null}],\"c\":\"\"}\n",
        "[[[]]]",
        "1E5",
        "\"\\/\"",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct kgc_err err = {0};
        if (scan(ok[i], NULL, NULL, &err) != 0)
            fail_msg("%s refused: %s", ok[i], err.msg);
    }
    struct kgc_jsonscan_stats st;
    assert_int_equal(scan("{\"a\":[1,2,{\"b\":null}],\"c\":\"\"}", NULL, &st, NULL), 0);
    assert_int_equal(st.values, 7); /* {}, [], 1, 2, {}, null, "" */
    assert_int_equal(st.containers, 3);
    assert_int_equal(st.max_depth, 3);
}

static void test_malformed_documents(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",      "{",     "{\"a\"}", "{\"a\":}", "[1,]", "{,}",     "01",        "1.",
        "-",     "tru",   "nul",     "'a'",      "\"a",  "\"\\x\"", "\"\\u12\"", "{} {}",
        "[1 2]", "{1:2}", "\"\t\"",  "NaN",      "[}",   "{]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct kgc_err err = {0};
        int rc = scan(bad[i], NULL, NULL, &err);
        if (rc != KGC_EPARSE)
            fail_msg("\"%s\": got %d, want EPARSE", bad[i], rc);
        assert_non_null(strstr(err.msg, "doc: malformed JSON at byte"));
    }
}

/* 8 MB of `[{},{},...]` would cost json-c ~2 GB: the scan refuses it with nothing built. */
static void test_budgets(void **state)
{
    (void)state;
    size_t n = 1000000, len = 0;
    char *doc = malloc(n * 3 + 2);
    assert_non_null(doc);
    doc[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (i)
            doc[len++] = ',';
        doc[len++] = '{';
        doc[len++] = '}';
    }
    doc[len++] = ']';
    struct kgc_err err = {0};
    const struct kgc_jsonscan_limits lim = {.max_values = 2000000, .max_containers = 1000};
    json_object *j = NULL;
    assert_int_equal(kgc_jsonscan_parse(doc, len, &lim, "GET /", &j, &err), KGC_E2BIG);
    assert_null(j);
    assert_string_equal(
        err.msg, "GET /: more than 1000 JSON objects and arrays (kgc's limit for this answer)");
    const struct kgc_jsonscan_limits vlim = {.max_values = 10};
    assert_int_equal(kgc_jsonscan_parse("[1,2,3,4,5,6,7,8,9,10]", 22, &vlim, "x", &j, &err),
                     KGC_E2BIG);
    assert_non_null(strstr(err.msg, "more than 10 JSON values"));
    free(doc);

    /* Depth: 64 by default, 1024 at most whatever the limit says. */
    char deep[2100];
    memset(deep, '[', 1050);
    memset(deep + 1050, ']', 1050);
    assert_int_equal(kgc_jsonscan_scan(deep + 1050 - 64, 128, NULL, NULL, "d", NULL), 0);
    assert_int_equal(kgc_jsonscan_scan(deep + 1050 - 65, 130, NULL, NULL, "d", &err), KGC_EPARSE);
    assert_non_null(strstr(err.msg, "nested deeper than 64 levels"));
    const struct kgc_jsonscan_limits dl = {.max_depth = 5000};
    assert_int_equal(kgc_jsonscan_scan(deep, sizeof(deep), &dl, NULL, "d", NULL), KGC_EPARSE);

    /* Within budget: built as json-c would. */
    assert_int_equal(kgc_jsonscan_parse("{\"a\":[true]}", 12, &vlim, "x", &j, &err), 0);
    assert_true(json_object_is_type(j, json_type_object));
    json_object_put(j);
    assert_int_equal(kgc_jsonscan_parse("null", 4, NULL, "x", &j, &err), KGC_EPARSE);
}

static void test_iterators(void **state)
{
    (void)state;
    const char *doc = "{ \"metadata\" : {\"continue\":\"c\"}, \"items\":[{\"a\":1}, 2 ,\"x\"] }";
    struct kgc_jsonscan_iter it, ai;
    const char *k, *v;
    size_t kl, vl;
    assert_int_equal(kgc_jsonscan_iter_start(&it, doc, strlen(doc), '{', "l", NULL), 0);
    assert_int_equal(kgc_jsonscan_iter_next(&it, &k, &kl, &v, &vl, NULL), 1);
    assert_true(kgc_jsonscan_key_is(k, kl, "metadata"));
    assert_int_equal(vl, strlen("{\"continue\":\"c\"}"));
    assert_int_equal(kgc_jsonscan_iter_next(&it, &k, &kl, &v, &vl, NULL), 1);
    assert_true(kgc_jsonscan_key_is(k, kl, "items"));
    assert_false(kgc_jsonscan_key_is(k, kl, "item"));
    assert_int_equal(kgc_jsonscan_iter_next(&it, &k, &kl, &v, &vl, NULL), 0);
    assert_int_equal(kgc_jsonscan_iter_next(&it, &k, &kl, &v, &vl, NULL), 0);

    const char *items = strstr(doc, "[");
    assert_int_equal(kgc_jsonscan_iter_start(&ai, items, strlen(items) - 2, '[', "l", NULL), 0);
    const char *want[] = {"{\"a\":1}", "2", "\"x\""};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(kgc_jsonscan_iter_next(&ai, NULL, NULL, &v, &vl, NULL), 1);
        assert_int_equal(vl, strlen(want[i]));
        assert_memory_equal(v, want[i], vl);
    }
    assert_int_equal(kgc_jsonscan_iter_next(&ai, NULL, NULL, &v, &vl, NULL), 0);

    /* A cut document: the members before the cut, then an error. */
    const char *cut = "[{\"a\":1},{\"b\":";
    assert_int_equal(kgc_jsonscan_iter_start(&ai, cut, strlen(cut), '[', "l", NULL), 0);
    assert_int_equal(kgc_jsonscan_iter_next(&ai, NULL, NULL, &v, &vl, NULL), 1);
    assert_int_equal(kgc_jsonscan_iter_next(&ai, NULL, NULL, &v, &vl, NULL), KGC_EPARSE);
    assert_int_equal(kgc_jsonscan_iter_start(&ai, "{}", 2, '[', "l", NULL), KGC_EPARSE);
    assert_int_equal(kgc_jsonscan_iter_start(&ai, "[]", 2, '[', "l", NULL), 0);
    assert_int_equal(kgc_jsonscan_iter_next(&ai, NULL, NULL, &v, &vl, NULL), 0);
    kgc_jsonscan_release(2u << 20); /* returns freed heap; nothing to observe but that it returns */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_documents),
        cmocka_unit_test(test_malformed_documents),
        cmocka_unit_test(test_budgets),
        cmocka_unit_test(test_iterators),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

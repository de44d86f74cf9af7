/* jsonscan: strict syntax, value/container/depth budgets refused before json-c builds anything,
 * the member iterators (also on a cut document), the bounded parse of what fits, and tapes: the
 * same verdicts, the structure a reader walks, strings decoded as json-c decodes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kgc/jsonscan.h"

#include <stdio.h>
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

static uint32_t tget(const struct kgc_jsonscan_tape *t, uint32_t obj, const char *key)
{
    return kgc_jsonscan_tape_get(t, obj, key);
}

/* The string at node i as a C string (a test helper: strings here hold no NUL). */
static const char *tstr(const struct kgc_jsonscan_tape *t, uint32_t i, char *buf, size_t size)
{
    size_t n = 0;
    const char *s = kgc_jsonscan_tape_str(t, i, &n);
    if (!s)
        return NULL;
    snprintf(buf, size, "%.*s", (int)n, s);
    return buf;
}

static void test_tape_structure(void **state)
{
    (void)state;
    struct kgc_jsonscan_tape t;
    kgc_jsonscan_tape_init(&t);
    const char *doc = " {\"a\": [1, -2.5e3, {\"b\": null}], \"c\": \"x\", \"d\": {}, \"e\": true,"
                      " \"a\": [false], \"f\": [[], 7]} ";
    struct kgc_err err = {0};
    assert_int_equal(kgc_jsonscan_tape_build(&t, doc, strlen(doc), NULL, "doc", &err), 0);
    char buf[64];
    /* the document: 6 members (a repeated key counts once per occurrence), all nodes under it */
    assert_int_equal(t.nodes[0].type, KGC_JSONSCAN_OBJECT);
    assert_int_equal(t.nodes[0].len, 6);
    assert_int_equal(t.nodes[0].next, t.n);
    assert_int_equal(t.nodes[0].off, 1);
    assert_int_equal(t.nodes[0].end, strlen(doc) - 1);
    /* a repeated key: the last value, as json-c keeps it */
    uint32_t a = tget(&t, 0, "a");
    assert_int_equal(t.nodes[a].type, KGC_JSONSCAN_ARRAY);
    assert_int_equal(t.nodes[a].len, 1);
    assert_int_equal(t.nodes[a + 1].type, KGC_JSONSCAN_FALSE);
    assert_string_equal(tstr(&t, tget(&t, 0, "c"), buf, sizeof(buf)), "x");
    assert_int_equal(t.nodes[tget(&t, 0, "d")].len, 0);
    assert_int_equal(t.nodes[tget(&t, 0, "e")].type, KGC_JSONSCAN_TRUE);
    assert_int_equal(tget(&t, 0, "zz"), 0);
    assert_int_equal(tget(&t, a, "x"), 0); /* not an object */
    /* the first "a": elements hop over each other's contents */
    uint32_t k = 1; /* the first key */
    assert_string_equal(tstr(&t, k, buf, sizeof(buf)), "a");
    uint32_t first_a = k + 1, e = first_a + 1;
    assert_int_equal(t.nodes[first_a].len, 3);
    assert_int_equal(t.nodes[e].type, KGC_JSONSCAN_NUMBER);
    assert_true(t.nodes[e].flags & KGC_JSONSCAN_INT);
    e = t.nodes[e].next;
    assert_int_equal(t.nodes[e].type, KGC_JSONSCAN_NUMBER);
    assert_false(t.nodes[e].flags & KGC_JSONSCAN_INT);
    assert_memory_equal(doc + t.nodes[e].off, "-2.5e3", 6);
    assert_int_equal(t.nodes[e].len, 6);
    e = t.nodes[e].next;
    assert_int_equal(t.nodes[e].type, KGC_JSONSCAN_OBJECT);
    assert_int_equal(t.nodes[tget(&t, e, "b")].type, KGC_JSONSCAN_NULL);
    assert_memory_equal(doc + t.nodes[e].off, "{\"b\": null}", t.nodes[e].end - t.nodes[e].off);
    assert_int_equal(t.nodes[e].next, t.nodes[first_a].next);
    uint32_t f = tget(&t, 0, "f");
    assert_int_equal(t.nodes[f].len, 2);
    assert_int_equal(t.nodes[t.nodes[f + 1].next].type, KGC_JSONSCAN_NUMBER);
    /* reused: the next document replaces the nodes */
    assert_int_equal(kgc_jsonscan_tape_build(&t, "[\"q\"]", 5, NULL, "doc", &err), 0);
    assert_int_equal(t.n, 2);
    assert_string_equal(tstr(&t, 1, buf, sizeof(buf)), "q");
    assert_null(kgc_jsonscan_tape_str(&t, 0, &(size_t){0}));
    kgc_jsonscan_tape_free(&t);
}

/* Escaped strings decode to what json-c makes of them; plain ones point into the text. */
static void test_tape_strings_decode_like_json_c(void **state)
{
    (void)state;
    static const char *const strs[] = {
        "\"plain\"",
        "\"a\\u00e9\\n\\t\\\"\\\\\\/b\"",
        "\"\\ud83d\\ude00 smile\"", /* a surrogate pair: one code point */
        "\"\\u20ac\\u0041\"",
        "\"\\b\\f\\r\"",
        "\"x\\u0000y\"", /* a NUL byte kept */
        "\"\\ud800x\"",  /* lone surrogates: U+FFFD, as json-c */
        "\"\\ud800\\u0041\"",
        "\"\\udc00\"",
        "\"\"",
    };
    struct kgc_jsonscan_tape t;
    kgc_jsonscan_tape_init(&t);
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        assert_int_equal(kgc_jsonscan_tape_build(&t, strs[i], strlen(strs[i]), NULL, "s", NULL), 0);
        json_object *j = NULL;
        assert_int_equal(kgc_jsonscan_parse(strs[i], strlen(strs[i]), NULL, "s", &j, NULL), 0);
        size_t n = 0;
        const char *s = kgc_jsonscan_tape_str(&t, 0, &n);
        assert_non_null(s);
        if (n != (size_t)json_object_get_string_len(j) ||
            memcmp(s, json_object_get_string(j), n) != 0)
            fail_msg("%s: the tape's %zu bytes differ from json-c's", strs[i], n);
        assert_int_equal(!!(t.nodes[0].flags & KGC_JSONSCAN_DECODED),
                         strchr(strs[i], '\\') != NULL);
        if (!(t.nodes[0].flags & KGC_JSONSCAN_DECODED))
            assert_ptr_equal(s, strs[i] + 1);
        json_object_put(j);
    }
    /* a lone surrogate becomes U+FFFD */
    const char *lone = "[\"\\ud800x\",\"\\udc00\"]";
    assert_int_equal(kgc_jsonscan_tape_build(&t, lone, strlen(lone), NULL, "s", NULL), 0);
    size_t n = 0;
    const char *s = kgc_jsonscan_tape_str(&t, 1, &n);
    assert_int_equal(n, 4);
    assert_memory_equal(s, "\xEF\xBF\xBDx", 4);
    s = kgc_jsonscan_tape_str(&t, 2, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(s, "\xEF\xBF\xBD", 3);
    /* keys are compared decoded */
    const char *esc_key = "{\"n\\u0061me\":\"v\"}";
    assert_int_equal(kgc_jsonscan_tape_build(&t, esc_key, strlen(esc_key), NULL, "s", NULL), 0);
    assert_int_equal(tget(&t, 0, "name"), 2);
    kgc_jsonscan_tape_free(&t);
}

/* An array's elements one tape at a time, each within the limits, in one pass. */
static void test_tape_per_element(void **state)
{
    (void)state;
    const char *doc = " [ {\"a\":1} , [2,3] ,\"s\", [1,2,3,4,5,6] ] ";
    const struct kgc_jsonscan_limits lim = {.max_values = 4};
    struct kgc_jsonscan_iter it;
    struct kgc_jsonscan_tape t;
    kgc_jsonscan_tape_init(&t);
    struct kgc_err err = {0};
    assert_int_equal(kgc_jsonscan_iter_start(&it, doc, strlen(doc), '[', "doc", NULL), 0);
    assert_int_equal(kgc_jsonscan_iter_next_tape(&it, &t, &lim, "item 0", &err), 1);
    assert_int_equal(t.nodes[0].type, KGC_JSONSCAN_OBJECT);
    assert_int_equal(t.nodes[2].type, KGC_JSONSCAN_NUMBER); /* after the key "a" */
    assert_memory_equal(t.text + t.nodes[0].off, "{\"a\":1}", t.nodes[0].end - t.nodes[0].off);
    assert_int_equal(kgc_jsonscan_iter_next_tape(&it, &t, &lim, "item 1", &err), 1);
    assert_int_equal(t.nodes[0].type, KGC_JSONSCAN_ARRAY);
    assert_int_equal(t.nodes[0].len, 2);
    assert_int_equal(t.n, 3);
    assert_int_equal(kgc_jsonscan_iter_next_tape(&it, &t, &lim, "item 2", &err), 1);
    char buf[8];
    assert_string_equal(tstr(&t, 0, buf, sizeof(buf)), "s");
    /* over the limit: the element named, no nodes kept, the iteration over */
    assert_int_equal(kgc_jsonscan_iter_next_tape(&it, &t, &lim, "item 3", &err), KGC_E2BIG);
    assert_string_equal(err.msg, "item 3: more than 4 JSON values (kgc's limit for this answer)");
    assert_int_equal(t.n, 0);
    assert_int_equal(kgc_jsonscan_iter_next_tape(&it, &t, &lim, "item 4", &err), 0);
    /* the end, and an empty array */
    assert_int_equal(kgc_jsonscan_iter_start(&it, "[]", 2, '[', "doc", NULL), 0);
    assert_int_equal(kgc_jsonscan_iter_next_tape(&it, &t, &lim, "x", &err), 0);
    assert_int_equal(kgc_jsonscan_iter_start(&it, "{}", 2, '{', "doc", NULL), 0);
    assert_int_equal(kgc_jsonscan_iter_next_tape(&it, &t, &lim, "x", &err), KGC_EINVAL);
    kgc_jsonscan_tape_free(&t);
}

/* A tape refuses what the scan refuses, with the same message, and keeps no nodes then. */
static void test_tape_same_verdicts_as_scan(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{",
        "[1,]",
        "\"\\x\"",
        "{} {}",
        "01",
        "[1,2,3,4,5,6,7,8,9,10,11]",
        "{\"a\":[[[[1]]]]}",
        "{\"a\":1}",
    };
    const struct kgc_jsonscan_limits lim = {.max_values = 10, .max_depth = 4};
    struct kgc_jsonscan_tape t;
    kgc_jsonscan_tape_init(&t);
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct kgc_err e1 = {0}, e2 = {0};
        int r1 = kgc_jsonscan_scan(docs[i], strlen(docs[i]), &lim, NULL, "d", &e1);
        int r2 = kgc_jsonscan_tape_build(&t, docs[i], strlen(docs[i]), &lim, "d", &e2);
        assert_int_equal(r1, r2);
        assert_string_equal(e1.msg, e2.msg);
        if (r2)
            assert_int_equal(t.n, 0);
    }
    kgc_jsonscan_tape_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_documents),
        cmocka_unit_test(test_malformed_documents),
        cmocka_unit_test(test_budgets),
        cmocka_unit_test(test_iterators),
        cmocka_unit_test(test_tape_structure),
        cmocka_unit_test(test_tape_strings_decode_like_json_c),
        cmocka_unit_test(test_tape_same_verdicts_as_scan),
        cmocka_unit_test(test_tape_per_element),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

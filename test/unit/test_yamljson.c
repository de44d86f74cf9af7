/* Tests for include/kgc/yamljson.h: YAML to JSON as Kong's controller reads a plugin's config from
 * a Secret (sigs.k8s.io/yaml over go-yaml v2.4.2). Each case is a text and the compact JSON it
 * must give, or the error text it must fail with — what a user moving a YAML plugin config over
 * would see in the pushed Kong configuration. */
#include "kgc/yamljson.h"

#include "kgc/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *convert(const char *text, int *rc, char *why, size_t why_size)
{
    json_object *o = NULL;
    struct kgc_err err = {0};
    *rc = kgc_yamljson_parse(text, strlen(text), &o, &err);
    snprintf(why, why_size, "%s", err.msg);
    if (*rc != 0) {
        assert_null(o);
        return NULL;
    }
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

static void expect(const char *text, const char *want)
{
    int rc;
    char why[256];
    char *got = convert(text, &rc, why, sizeof(why));
    if (rc != 0)
        fail_msg("%s: error %s", text, why);
    if (strcmp(got, want) != 0)
        fail_msg("%s: got %s, want %s", text, got, want);
    free(got);
}

static void expect_error(const char *text, const char *want)
{
    int rc;
    char why[256];
    char *got = convert(text, &rc, why, sizeof(why));
    if (rc == 0)
        fail_msg("%s: converted to %s, want an error", text, got);
    assert_int_equal(rc, KGC_EPARSE);
    if (!strstr(why, want))
        fail_msg("%s: error \"%s\", want \"%s\"", text, why, want);
}

/* go-yaml v2.4.2 resolve.go:34-47: YAML 1.1's booleans and nulls, in every spelling it lists */
static void test_bool_null(void **state)
{
    (void)state;
    expect("[y, Y, yes, Yes, YES, true, True, TRUE, on, On, ON]",
           "[true,true,true,true,true,true,true,true,true,true,true]");
    expect("[n, N, no, No, NO, false, False, FALSE, off, Off, OFF]",
           "[false,false,false,false,false,false,false,false,false,false,false]");
    expect("[~, null, Null, NULL, '', 'yes', \"on\", yEs, nULL]",
           "[null,null,null,null,\"\",\"yes\",\"on\",\"yEs\",\"nULL\"]");
    expect("a:\nb: ~\n", "{\"a\":null,\"b\":null}");
}

/* resolve.go:150-190: Go's ParseInt(base 0) without '_', then ParseUint, then the float form */
static void test_numbers(void **state)
{
    (void)state;
    /* "08" is no Go integer (bad octal) but matches the float form: 8.0 */
    expect("[0, -7, +7, 1_000, 0x1F, 0o17, 017, 0b101, -0b11, 08]",
           "[0,-7,7,1000,31,15,15,5,-3,8.0]");
    expect("[9223372036854775807, -9223372036854775808, 18446744073709551615]",
           "[9223372036854775807,-9223372036854775808,18446744073709551615]");
    /* past uint64: no integer, but the float form */
    expect("[18446744073709551616]", "[1.8446744073709552e+19]");
    expect("[1.5, -0.25, .5, 1e3, 2.]", "[1.5,-0.25,0.5,1000.0,2.0]");
    expect("[1.2.3, 12abc, +, -, 1e, 0x]", "[\"1.2.3\",\"12abc\",\"+\",\"-\",\"1e\",\"0x\"]");
    expect("[\"5\", '0x10', !!str 7]", "[\"5\",\"0x10\",\"7\"]");
}

/* block and flow collections, keys made strings as sigs.k8s.io/yaml does */
static void test_structure(void **state)
{
    (void)state;
    expect("status_code: 403\nmessage: |\n  no\n  entry\nheaders:\n  - a:b\n  - 'c: d'\n",
           "{\"status_code\":403,\"message\":\"no\\nentry\\n\",\"headers\":[\"a:b\",\"c: d\"]}");
    expect("{yes: 1, 3: x, ~: z, 'q': {}}", "{\"true\":1,\"3\":\"x\",\"null\":\"z\",\"q\":{}}");
    expect("", "null");
    expect("---\nplain text\n...\n", "\"plain text\"");
    expect("a: &x 1\nb: 2\n", "{\"a\":1,\"b\":2}"); /* an anchor alone is harmless */
}

/* what is refused, each with a reason and never the text (it may be a secret) */
static void test_refused(void **state)
{
    (void)state;
    expect_error("a: &x s3cr3t\nb: *x\n", "aliases");
    expect_error("base: {a: 1}\nc:\n  <<: {a: 1}\n", "merge keys");
    expect_error("a: 1\n---\nb: 2\n", "more than one YAML document");
    expect_error("[.inf]", "JSON cannot hold");
    expect_error("? [a, b]\n: 1\n", "mapping key must be a scalar");
    expect_error("a: [s3cr3t\n", "not YAML");
    int rc;
    char why[256];
    assert_null(convert("a: [s3cr3t\n", &rc, why, sizeof(why)));
    assert_null(strstr(why, "s3cr3t"));
}

/* bounded: nesting and the number of values */
static void test_limits(void **state)
{
    (void)state;
    char deep[300];
    for (int levels = 64; levels <= 65; levels++) {
        size_t n = 0;
        for (int i = 0; i < levels; i++)
            deep[n++] = '[';
        for (int i = 0; i < levels; i++)
            deep[n++] = ']';
        deep[n] = 0;
        if (levels == 65) {
            expect_error(deep, "nested deeper than 64");
        } else {
            int rc;
            char why[256];
            char *got = convert(deep, &rc, why, sizeof(why));
            assert_int_equal(rc, 0); /* 64 levels: fine */
            free(got);
        }
    }
    size_t cap = 2 * (KGC_YAMLJSON_MAX_VALUES + 1) + 3;
    char *many = malloc(cap);
    size_t n = 0;
    many[n++] = '[';
    for (unsigned i = 0; i < KGC_YAMLJSON_MAX_VALUES; i++) {
        many[n++] = '1';
        many[n++] = ',';
    }
    many[n - 1] = ']';
    many[n] = 0;
    expect_error(many, "more than 10000 values"); /* the array counts too */
    free(many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bool_null), cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_structure), cmocka_unit_test(test_refused),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* digest: Kong's configuration hash is the MD5 of the text, in lower-case hex. The RFC 1321
 * (appendix A.5) test suite, a text with NUL bytes (the length counts, not a terminator), and
 * one larger than a block. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kgc/digest.h"

#include <stdlib.h>
#include <string.h>

static void test_rfc1321_suite(void **state)
{
    (void)state;
    static const struct {
        const char *in, *md5;
    } v[] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
         "d174ab98d277d9f5a5611c2c9f419d9f"},
        {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char out[KGC_DIGEST_MD5_HEX_LEN + 1];
        kgc_digest_md5_hex(v[i].in, strlen(v[i].in), out);
        assert_string_equal(out, v[i].md5);
    }
}

static void test_length_not_terminator(void **state)
{
    (void)state;
    char a[KGC_DIGEST_MD5_HEX_LEN + 1], b[KGC_DIGEST_MD5_HEX_LEN + 1];
    kgc_digest_md5_hex("a\0b", 3, a);
    kgc_digest_md5_hex("a", 1, b);
    assert_string_not_equal(a, b);
    assert_int_equal(strlen(a), KGC_DIGEST_MD5_HEX_LEN);
}

static void test_large_input(void **state)
{
    (void)state;
    /* 1 MiB of 'a': the value from GNU md5sum of `head -c 1048576 /dev/zero | tr '\0' a` */
    size_t n = 1048576;
    char *buf = malloc(n);
    assert_non_null(buf);
    memset(buf, 'a', n);
    char out[KGC_DIGEST_MD5_HEX_LEN + 1];
    kgc_digest_md5_hex(buf, n, out);
    free(buf);
    assert_string_equal(out, "7202826a7791073fe2787f0c94603278");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc1321_suite),
        cmocka_unit_test(test_length_not_terminator),
        cmocka_unit_test(test_large_input),
    };
    return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}

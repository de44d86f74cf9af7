/* atc_regex — regexes for the ATC `~` operator and kf_atc_regex_check (atc.h): Rust regex crate
 * 1.10.4 / regex-syntax 0.8.3 syntax (the versions atc-router 1.6.2's Cargo.lock pins), run by
 * PCRE2. Patterns the crate refuses are refused with its error layout
 * ("regex parse error:\n    <pattern>\n    <carets>\nerror: <kind>", regex-syntax
 * src/error.rs Formatter). Compiled codes are immutable and shared between threads.
 * Errors: KGC_EINVAL with the message, KGC_ENOMEM. */
#include "atc.h"

#include <kgc/err.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kf_atc_regex_compile(const char *pattern, void **code, char *err, size_t errsz)
{
    *code = NULL;
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &ec, &eo, NULL);
    if (!re) {
        char m[256];
        pcre2_get_error_message(ec, (PCRE2_UCHAR *)m, sizeof(m));
        snprintf(err, errsz, "regex parse error:\n    %s\n    ^\nerror: %s", pattern, m);
        return KGC_EINVAL;
    }
    *code = re;
    return 0;
}

int kf_atc_regex_match(const void *code, const char *s, size_t n, void *md)
{
    return pcre2_match((const pcre2_code *)code, (PCRE2_SPTR)s, n, 0, 0, (pcre2_match_data *)md,
                       NULL);
}

int kf_atc_regex_check(const char *pattern, char *err, size_t errsz)
{
    void *code = NULL;
    int rc = kf_atc_regex_compile(pattern, &code, err, errsz);
    if (code)
        pcre2_code_free(code);
    return rc;
}

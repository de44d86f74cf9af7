/* libFuzzer target: Kong's Retry-After header as kgc reads it (kgc_kong_parse_push_reply for
 * 429 and 503; the header value is the input up to the first NUL, the rest is the body). A value
 * is delay-seconds (RFC 9110 10.2.3) or an HTTP-date kgc ignores; whatever it says, the wait is
 * 0..3600 s and only busy answers have one.
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_retry_after
 *   build-fuzz/fuzz/fuzz_retry_after test/fuzz/corpus/fuzz_retry_after */
#include "kgc/kong.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t hlen = strlen(text);
    const char *body = hlen < size ? text + hlen + 1 : "";
    size_t blen = hlen < size ? size - hlen - 1 : 0;
    static const long statuses[] = {429, 503, 400, 201};
    for (size_t i = 0; i < 4; i++) {
        struct kgc_kong_push_result r;
        struct kgc_err err = {0};
        if (kgc_kong_parse_push_reply(statuses[i], body, blen, text, &r, &err) != 0)
            continue;
        if (r.retry_after_s > 3600)
            abort();
        if (r.kind != KGC_KONG_PUSH_BUSY && r.retry_after_s != 0)
            abort();
        if (r.n_entity_errors > KGC_KONG_PUSH_MAX_ENTITIES)
            abort();
        kgc_kong_push_result_free(&r);
    }
    free(text);
    return 0;
}

/* libFuzzer target: YAML to JSON for KongPlugin configFrom values (kgc/yamljson.h), which come
 * from Secrets any tenant with a KongPlugin can name. Whatever converts must be a json-c value
 * whose text json-c parses back to the same text, within the value and depth limits; whatever
 * fails must fail with KGC_EPARSE or KGC_ENOMEM and leave *out NULL. ASan/UBSan catch the rest.
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_yamljson
 *   build-fuzz/fuzz/fuzz_yamljson test/fuzz/corpus/fuzz_yamljson */
#include "kgc/yamljson.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count(json_object *j, unsigned depth, unsigned *max_depth)
{
    if (depth > *max_depth)
        *max_depth = depth;
    size_t n = 1;
    if (json_object_is_type(j, json_type_object)) {
        json_object_object_foreach(j, k, v)
        {
            (void)k;
            n += count(v, depth + 1, max_depth);
        }
    } else if (json_object_is_type(j, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(j); i++)
            n += count(json_object_array_get_idx(j, i), depth + 1, max_depth);
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024) /* the values configFrom reads are at most 64 KiB */
        return 0;
    json_object *o = (json_object *)data; /* must be replaced */
    struct kgc_err err = {0};
    int rc = kgc_yamljson_parse((const char *)data, size, &o, &err);
    if (rc != 0) {
        if ((rc != KGC_EPARSE && rc != KGC_ENOMEM) || o || !err.msg[0])
            abort();
        return 0;
    }
    if (!o)
        return 0; /* an empty document: JSON null */
    unsigned depth = 0;
    if (count(o, 1, &depth) > KGC_YAMLJSON_MAX_VALUES + 1 || depth > KGC_YAMLJSON_MAX_DEPTH + 1)
        abort();
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    json_tokener *tok = json_tokener_new_ex(KGC_YAMLJSON_MAX_DEPTH + 8);
    /* the NUL ends a bare number (json-c waits for more digits otherwise) */
    json_object *back = tok ? json_tokener_parse_ex(tok, text, (int)strlen(text) + 1) : NULL;
    if (!back)
        abort();
    if (strcmp(json_object_to_json_string_ext(back, JSON_C_TO_STRING_PLAIN), text) != 0)
        abort();
    json_object_put(back);
    json_tokener_free(tok);
    json_object_put(o);
    return 0;
}

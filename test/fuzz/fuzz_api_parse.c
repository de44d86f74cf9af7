/* libFuzzer target: typed-object parsing and emitting. Input: byte 0 picks the kind, the rest is
 * JSON. Whatever the input: no crash, no leak; and for an object without recorded problems
 * (Secrets aside: they are redacted), emit → parse → emit is stable.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude \
 *     $(pkg-config --cflags json-c libcrypto) test/fuzz/fuzz_api_parse.c pkg/api/[a-z]*.c \
 *     pkg/err/err.c pkg/strmap/strmap.c -o build-fuzz/fuzz_api_parse \
 *     $(pkg-config --libs json-c libcrypto)
 *   build-fuzz/fuzz_api_parse test/fuzz/corpus/fuzz_api_parse */
#include "kgc/api.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *emit(const struct kgc_api_obj *o)
{
    json_object *j = kgc_api_to_json(o);
    if (!j)
        abort();
    char *s = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
    json_object_put(j);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum kgc_api_kind kind = (enum kgc_api_kind)(data[0] % KGC_API_KIND_COUNT);
    struct kgc_api_obj *o = NULL;
    if (kgc_api_parse_text(kind, (const char *)data + 1, size - 1, &o, NULL) != 0)
        return 0;
    if (o->kind != kind || !o->meta.key || !o->meta.name)
        abort();
    char *s1 = emit(o);
    if (o->n_problems == 0 && kind != KGC_API_SECRET) {
        struct kgc_api_obj *o2 = NULL;
        if (kgc_api_parse_text(kind, s1, strlen(s1), &o2, NULL) != 0)
            abort();
        char *s2 = emit(o2);
        if (strcmp(s1, s2) != 0)
            abort();
        free(s2);
        kgc_api_obj_unref(o2);
    }
    free(s1);
    kgc_api_obj_unref(o);
    return 0;
}

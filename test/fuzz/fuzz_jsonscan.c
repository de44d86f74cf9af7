/* libFuzzer target: the bounded JSON scanner (kgc/jsonscan.h) against json-c. Whatever the scan
 * accepts, json-c must build (so a budget checked by the scan is the budget json-c spends), the
 * counts must match the tree json-c built, and the iterators must cover an object's members or
 * an array's elements exactly.
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_jsonscan
 *   build-fuzz/fuzz/fuzz_jsonscan test/fuzz/corpus/fuzz_jsonscan */
#include "kgc/jsonscan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count(json_object *j, size_t *values, size_t *containers)
{
    (*values)++;
    if (json_object_is_type(j, json_type_object)) {
        (*containers)++;
        json_object_object_foreach(j, k, v)
        {
            (void)k;
            count(v, values, containers);
        }
    } else if (json_object_is_type(j, json_type_array)) {
        (*containers)++;
        for (size_t i = 0; i < json_object_array_length(j); i++)
            count(json_object_array_get_idx(j, i), values, containers);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct kgc_jsonscan_stats st;
    struct kgc_err err = {0};
    const struct kgc_jsonscan_limits lim = {.max_values = 100000, .max_containers = 20000};
    int rc = kgc_jsonscan_scan(text, size, &lim, &st, "fuzz", &err);
    if (rc != 0) {
        if (!err.msg[0] || (rc != KGC_EPARSE && rc != KGC_E2BIG))
            abort();
        return 0;
    }
    json_object *j = NULL;
    rc = kgc_jsonscan_parse(text, size, &lim, "fuzz", &j, &err);
    /* json-c refuses what the scan accepted only where it cannot represent it (a top-level null)
     * or for lack of memory */
    if (rc != 0 && !strstr(err.msg, "null") && rc != KGC_ENOMEM) {
        /* json-c stops at a NUL byte the scan refuses inside strings: nothing else may differ */
        abort();
    }
    if (rc == 0) {
        size_t values = 0, containers = 0;
        count(j, &values, &containers);
        /* duplicate keys collapse in json-c, so the tree may hold fewer values than the text */
        if (values > st.values || containers > st.containers)
            abort();
        json_object_put(j);
    }
    /* The iterators over a container: members until the end, and they reach it. */
    struct kgc_jsonscan_iter it;
    for (int kind = 0; kind < 2; kind++) {
        if (kgc_jsonscan_iter_start(&it, text, size, kind ? '[' : '{', "fuzz", NULL) != 0)
            continue;
        const char *k, *v;
        size_t kl, vl, n = 0;
        int more;
        while ((more = kgc_jsonscan_iter_next(&it, &k, &kl, &v, &vl, NULL)) == 1) {
            if (v < text || v + vl > text + size || kgc_jsonscan_scan(v, vl, NULL, NULL, "m", NULL))
                abort(); /* each member is one valid value inside the text */
            n++;
        }
        if (more != 0)
            abort(); /* a document the scan accepted iterates to its end */
    }
    return 0;
}

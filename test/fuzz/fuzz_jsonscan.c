/* libFuzzer target: the bounded JSON scanner (kgc/jsonscan.h) against json-c. Whatever the scan
 * accepts, json-c must build (so a budget checked by the scan is the budget json-c spends), the
 * counts must match the tree json-c built, and the iterators must cover an object's members or
 * an array's elements exactly. A tape gives the scan's verdict, and holds what json-c holds:
 * the same types, lengths, strings, and the last value of a repeated key.
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_jsonscan
 *   build-fuzz/fuzz/fuzz_jsonscan test/fuzz/corpus/fuzz_jsonscan */
#include "kgc/jsonscan.h"

#include <stdbool.h>
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

/* The tape's value at node i is json-c's j: same type, same strings, same elements, members
 * found by key (json-c keeps the last value of a repeated key, and so does the tape's lookup). */
static void same(const struct kgc_jsonscan_tape *t, uint32_t i, json_object *j, bool has_nul)
{
    const struct kgc_jsonscan_node *nd = &t->nodes[i];
    switch (json_object_get_type(j)) {
    case json_type_null:
        if (nd->type != KGC_JSONSCAN_NULL)
            abort();
        break;
    case json_type_boolean:
        if (nd->type != (json_object_get_boolean(j) ? KGC_JSONSCAN_TRUE : KGC_JSONSCAN_FALSE))
            abort();
        break;
    case json_type_int:
    case json_type_double:
        if (nd->type != KGC_JSONSCAN_NUMBER)
            abort();
        break;
    case json_type_string: {
        size_t n = 0;
        const char *s = kgc_jsonscan_tape_str(t, i, &n);
        if (!s || n != (size_t)json_object_get_string_len(j) ||
            memcmp(s, json_object_get_string(j), n) != 0)
            abort();
        break;
    }
    case json_type_array: {
        size_t len = json_object_array_length(j);
        if (nd->type != KGC_JSONSCAN_ARRAY || nd->len != len)
            abort();
        uint32_t e = i + 1;
        for (size_t k = 0; k < len; k++, e = t->nodes[e].next)
            same(t, e, json_object_array_get_idx(j, k), has_nul);
        if (e != nd->next)
            abort(); /* the elements end where the array's next node is */
        break;
    }
    case json_type_object: {
        if (nd->type != KGC_JSONSCAN_OBJECT || (size_t)json_object_object_length(j) > nd->len)
            abort();
        if (has_nul)
            break; /* json-c cuts keys at a NUL byte, so its keys may collide where the tape's
                      do not: nothing to compare member by member */
        json_object_object_foreach(j, k, v)
        {
            uint32_t m = kgc_jsonscan_tape_get(t, i, k);
            if (!m)
                abort();
            same(t, m, v, has_nul);
        }
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct kgc_jsonscan_stats st;
    struct kgc_err err = {0};
    const struct kgc_jsonscan_limits lim = {.max_values = 100000, .max_containers = 20000};
    int rc = kgc_jsonscan_scan(text, size, &lim, &st, "fuzz", &err);
    struct kgc_jsonscan_tape t;
    kgc_jsonscan_tape_init(&t);
    struct kgc_err terr = {0};
    int trc = kgc_jsonscan_tape_build(&t, text, size, &lim, "fuzz", &terr);
    if (trc != rc && trc != KGC_ENOMEM)
        abort(); /* the tape's verdict is the scan's */
    if (trc == rc && strcmp(terr.msg, err.msg) != 0)
        abort();
    if (trc == 0 && (t.n < st.values || t.nodes[0].next != t.n))
        abort(); /* a node per value (keys too), all under the document's */
    if (rc != 0) {
        kgc_jsonscan_tape_free(&t);
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
        if (trc == 0)
            same(&t, 0, j, memmem(text, size, "\\u0000", 6) != NULL);
        size_t values = 0, containers = 0;
        count(j, &values, &containers);
        /* duplicate keys collapse in json-c, so the tree may hold fewer values than the text */
        if (values > st.values || containers > st.containers)
            abort();
        json_object_put(j);
    }
    kgc_jsonscan_tape_free(&t);
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
    /* An array's elements on tapes: each ends where the plain iterator's does (offsets count
     * from the array's text), node 0 holds the whole element, until the same end. */
    struct kgc_jsonscan_iter a, b;
    if (kgc_jsonscan_iter_start(&a, text, size, '[', "fuzz", NULL) == 0 &&
        kgc_jsonscan_iter_start(&b, text, size, '[', "fuzz", NULL) == 0) {
        struct kgc_jsonscan_tape et;
        kgc_jsonscan_tape_init(&et);
        const char *v;
        size_t vl;
        int ma, mb;
        do {
            ma = kgc_jsonscan_iter_next(&a, NULL, NULL, &v, &vl, NULL);
            mb = kgc_jsonscan_iter_next_tape(&b, &et, NULL, "fuzz", NULL);
            if (mb == KGC_ENOMEM)
                break;
            if ((ma == 1) != (mb == 1) || (ma == 0) != (mb == 0))
                abort();
            if (ma == 1 && (et.text != text || et.nodes[0].end != (size_t)(v + vl - text) ||
                            et.nodes[0].next != et.n))
                abort();
        } while (ma == 1);
        kgc_jsonscan_tape_free(&et);
    }
    return 0;
}

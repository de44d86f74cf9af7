/* libFuzzer target: one list page as kgc_k8s_list decodes it (kgc_k8s_list_page_decode): the
 * envelope (metadata.continue, metadata.resourceVersion) and each item built alone. Every item
 * handed over is a JSON value json-c built; a failed page hands over none. The same bytes as a
 * status write's answer (kgc_k8s_object_rv): a resourceVersion that fits, without quote or
 * backslash.
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_list_page
 *   build-fuzz/fuzz/fuzz_list_page test/fuzz/corpus/fuzz_list_page */
#include "kgc/k8s.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_item(const struct kgc_jsonscan_tape *item, void *ctx)
{
    size_t *n = ctx;
    (*n)++;
    /* touching it: a valid tape whose nodes stay inside the item's text */
    if (!item->n || item->nodes[0].next != item->n)
        abort();
    for (uint32_t i = 0; i < item->n; i++)
        if (item->nodes[i].end > item->len || item->nodes[i].next > item->n ||
            item->nodes[i].next <= i)
            abort();
    size_t len = 0;
    (void)kgc_jsonscan_tape_str(item, kgc_jsonscan_tape_get(item, 0, "metadata"), &len);
    return *n == 1000 ? KGC_ERANGE : 0; /* a callback that stops the page */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *cont = NULL, *rv = NULL;
    size_t n = 0;
    struct kgc_err err = {0};
    int rc = kgc_k8s_list_page_decode((const char *)data, size, "/api/v1/secrets", on_item, &n,
                                      &cont, &rv, &err);
    if (rc != 0 && rc != KGC_ERANGE && !err.msg[0])
        abort(); /* a failure says why */
    if (rc == KGC_EPARSE && n && strstr(err.msg, "malformed JSON") && !strstr(err.msg, "item"))
        abort(); /* the page's syntax is checked before any item is handed over */
    if (cont && !cont[0])
        abort(); /* an empty continue is no continue */
    free(cont);
    free(rv);
    char orv[32];
    kgc_k8s_object_rv((const char *)data, size, orv, sizeof(orv));
    if (strnlen(orv, sizeof(orv)) >= sizeof(orv) || strchr(orv, '"') || strchr(orv, '\\'))
        abort();
    return 0;
}

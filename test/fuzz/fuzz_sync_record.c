/* libFuzzer target: the syncer's stored record of the last accepted Gateway set
 * ("rec:sync-accepted" in the state store's LMDB file, kgc/store.h and kgc/sync.h), which a
 * starting kgc reads back from a file that may be damaged, from another version, or planted by
 * anyone with access to the volume. Input: the record's bytes (a NUL is appended, as
 * kgc_store_get() does).
 *
 * Properties (abort on violation): no crash, no leak, no read past the record; what parses
 * re-encodes to a record that parses to itself (the canonical form is a fixed point), without a
 * NUL inside.
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_sync_record
 *   build-fuzz/fuzz/fuzz_sync_record test/fuzz/corpus/fuzz_sync_record */
#include "kgc/sync.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *rec = malloc(size + 1);
    check(rec != NULL);
    memcpy(rec, data, size);
    rec[size] = '\0';
    size_t n1 = 0;
    char *c1 = kgc_sync_accepted_record_canonical(rec, size, &n1);
    if (c1) {
        check(strlen(c1) == n1);
        size_t n2 = 0;
        char *c2 = kgc_sync_accepted_record_canonical(c1, n1, &n2);
        check(c2 != NULL && n2 == n1 && memcmp(c1, c2, n1) == 0);
        free(c2);
    }
    free(c1);
    free(rec);
    return 0;
}

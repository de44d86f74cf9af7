/* libFuzzer target: a Lease as the API server returns it (pkg/leader): bounded JSON parsing
 * (kgc/jsonscan.h, the object limits of kgc/k8s.h), kgc_leader_record_from_json, then the record
 * written back and read again must be the same record.
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_lease
 *   build-fuzz/fuzz/fuzz_lease test/fuzz/corpus/fuzz_lease */
#include "kgc/jsonscan.h"
#include "kgc/k8s.h"
#include "kgc/leader.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct kgc_jsonscan_limits lim = {.max_values = KGC_K8S_OBJECT_MAX_VALUES,
                                                   .max_containers = KGC_K8S_OBJECT_MAX_CONTAINERS};
    json_object *j = NULL;
    if (kgc_jsonscan_parse((const char *)data, size, &lim, "Lease", &j, NULL) != 0)
        return 0;
    struct kgc_leader_record rec, back;
    if (kgc_leader_record_from_json(j, &rec) == 0) {
        if (memchr(rec.holder, '\0', sizeof(rec.holder)) == NULL ||
            memchr(rec.renew_time, '\0', sizeof(rec.renew_time)) == NULL ||
            memchr(rec.acquire_time, '\0', sizeof(rec.acquire_time)) == NULL)
            abort();
        json_object *w = json_object_new_object();
        if (w && kgc_leader_record_to_json(&rec, w) == 0) {
            if (kgc_leader_record_from_json(w, &back) != 0 ||
                strcmp(back.holder, rec.holder) != 0 ||
                back.lease_duration_s != rec.lease_duration_s ||
                back.transitions != rec.transitions ||
                strcmp(back.renew_time, rec.renew_time) != 0 ||
                strcmp(back.acquire_time, rec.acquire_time) != 0)
                abort();
        }
        json_object_put(w);
    }
    json_object_put(j);
    return 0;
}

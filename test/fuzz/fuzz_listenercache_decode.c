/* libFuzzer target: the listener cache's entry decoder, kgc_listenercache_decode()
 * (pkg/listenercache/codec.c), on arbitrary bytes — what an LMDB file damaged on disk, written by
 * another version or planted by someone with access to the volume hands to a new kgc process.
 * Input: the bytes of one stored "inst:<url>" value.
 *
 * Properties (abort on violation): no crash, no leak, no read outside the input; a refusal says
 * why and leaves the entry empty; an accepted entry has NUL-terminated strings within their
 * buffers, at most KGC_KONG_LISTENER_CAP listeners per kind, each with an address, a port and no
 * unknown flag; and encoding it again gives the input's bytes (the format has one encoding per
 * entry) except the reserved fourth header byte, which the decoder does not check.
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_listenercache_decode
 *   build-fuzz/fuzz/fuzz_listenercache_decode test/fuzz/corpus/fuzz_listenercache_decode */
#include "kgc/listenercache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void check_str(const char *s, size_t size)
{
    check(memchr(s, '\0', size) != NULL);
}

static void check_listeners(const struct kgc_kong_listener *v, size_t n)
{
    check(n <= KGC_KONG_LISTENER_CAP && (n == 0 || v != NULL));
    for (size_t i = 0; i < n; i++) {
        check_str(v[i].ip, sizeof(v[i].ip));
        check(v[i].ip[0] != '\0' && v[i].port != 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kgc_listenercache_entry e;
    struct kgc_err err = {0};
    int rc = kgc_listenercache_decode(data, size, &e, &err);
    if (rc != 0) {
        check(rc == KGC_EPARSE || rc == KGC_ENOMEM);
        check(err.msg[0] != '\0');
        check(e.info.listeners.proxy == NULL && e.info.listeners.stream == NULL);
        kgc_listenercache_entry_free(&e);
        return 0;
    }
    const struct kgc_kong_info *in = &e.info;
    check_str(e.url, sizeof(e.url));
    check_str(in->version, sizeof(in->version));
    check_str(in->edition, sizeof(in->edition));
    check_str(in->node_id, sizeof(in->node_id));
    check_str(in->router_flavor, sizeof(in->router_flavor));
    check_str(in->database, sizeof(in->database));
    check_listeners(in->listeners.proxy, in->listeners.n_proxy);
    check_listeners(in->listeners.stream, in->listeners.n_stream);

    unsigned char *buf = NULL;
    size_t len = 0;
    check(kgc_listenercache_encode(&e, &buf, &len) == 0);
    check(len == size && len >= 4);
    check(memcmp(buf, data, 3) == 0 && memcmp(buf + 4, data + 4, len - 4) == 0);

    /* and the re-encoded bytes decode to the same entry */
    struct kgc_listenercache_entry e2;
    check(kgc_listenercache_decode(buf, len, &e2, &err) == 0);
    check(strcmp(e2.url, e.url) == 0 && e2.last_seen_live_ms == e.last_seen_live_ms &&
          e2.written_ms == e.written_ms &&
          kgc_kong_listeners_equal(&e2.info.listeners, &e.info.listeners));
    kgc_listenercache_entry_free(&e2);
    free(buf);
    kgc_listenercache_entry_free(&e);
    return 0;
}

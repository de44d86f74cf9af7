/* libFuzzer target: what the test Kong's stream listeners read from the network (stream.c): the
 * first bytes on an ssl listener, parsed as nginx's ssl_preread does for the ClientHello's SNI
 * (kf_tls_hello_sni), and the SNI found then routed by Kong's stream runloop (kf_dp_stream, each
 * router flavour, the preread block and the second layer) over a fixed configuration; also
 * --stream-listen values (kf_stream_listen_parse: not network input, but a parser of user text).
 * Input:
 *   byte 0:  bit 0 = 0: the rest is the client's first bytes (the ClientHello); bits 1-7 pick the
 *            destination port among the configured ones
 *            bit 0 = 1: the rest is a stream_listen value
 * Whatever the input: no crash, no leak, no read outside the buffer; a DONE verdict gives a
 * NUL-free name shorter than the buffer, NEED_MORE asks for more than it was given, the same input
 * gives the same verdict again, and routing never fails but on memory.
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_kong_stream
 *   build-fuzz/fuzz/fuzz_kong_stream test/fuzz/corpus/fuzz_kong_stream */
#include "../fakes/kong/kong_fake.h"
#include "../fakes/kong/proxy_internal.h"

#include <kgc/log.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static const char CONFIG[] =
    "{\"_format_version\":\"3.0\",\"upstreams\":[{\"name\":\"up\",\"targets\":["
    "{\"target\":\"10.0.0.1:1\",\"weight\":3},{\"target\":\"10.0.0.2:2\"}]}],"
    "\"services\":[{\"name\":\"s\",\"protocol\":\"tcp\",\"host\":\"up\",\"port\":1,\"routes\":["
    "{\"name\":\"t\",\"protocols\":[\"tls\"],\"snis\":[\"a.example\",\"w.example\"],"
    "\"destinations\":[{\"port\":9443}]},"
    "{\"name\":\"p\",\"protocols\":[\"tls_passthrough\"],\"snis\":[\"b.example\"]},"
    "{\"name\":\"c\",\"protocols\":[\"tcp\"],\"destinations\":[{\"port\":9000}]},"
    "{\"name\":\"u\",\"protocols\":[\"udp\"],\"sources\":[{\"ip\":\"10.0.0.0/8\"}]}]}],"
    "\"routes\":[{\"name\":\"n\",\"protocols\":[\"tls\"],\"snis\":[\"n.example\"]}]}";

static struct kf_dp *dps[3];

static void init(void)
{
    if (dps[0]) {
        return;
    }
    kgc_log_setup(KGC_LOG_OFF, KGC_LOG_TEXT, 2);
    static const char *const flavors[] = {"traditional", "traditional_compatible", "expressions"};
    for (int f = 0; f < 3; f++) {
        json_object *d = json_tokener_parse(CONFIG), *ents = NULL, *err = NULL;
        struct kf_validate_opts o = {.router_flavor = flavors[f]};
        check(d && kf_validate(d, &o, &ents, &err) == 0);
        char e[256];
        dps[f] = kf_dp_new(ents, (enum kf_flavor)f, e, sizeof(e));
        check(dps[f] != NULL);
        json_object_put(ents);
        json_object_put(err);
        json_object_put(d);
    }
}

static void route(const char *sni, unsigned port)
{
    for (int f = 0; f < 3; f++) {
        for (int layer = 0; layer < 3; layer++) {
            struct kf_stream_req q = {.udp = layer == 2,
                                      .preread_block = layer == 0,
                                      .sni = sni,
                                      .src_ip = "10.1.2.3",
                                      .src_port = 40000,
                                      .dst_ip = "127.0.0.1",
                                      .dst_port = port};
            struct kf_stream_res res;
            check(kf_dp_stream(dps[f], &q, &res) == 0);
            check((res.outcome == KF_STREAM_PROXY) == (res.answer != NULL));
            json_object_put(res.answer);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (size < 1) {
        return 0;
    }
    const unsigned char *b = data + 1;
    size_t n = size - 1;
    if (data[0] & 1) {
        char *v = malloc(n + 1);
        check(v != NULL);
        memcpy(v, b, n);
        v[n] = '\0';
        struct kf_listen *ls = NULL;
        size_t nl = 0;
        json_object *doc = NULL;
        char err[600];
        if (kf_stream_listen_parse(v, &ls, &nl, &doc, err, sizeof(err)) == 0) {
            check(doc != NULL);
            for (size_t i = 0; i < nl; i++) {
                check(!(ls[i].udp && ls[i].ssl));
            }
        } else {
            check(ls == NULL && err[0] != '\0');
        }
        free(ls);
        json_object_put(doc);
        free(v);
        return 0;
    }
    static const unsigned ports[] = {9443, 9000, 1, 65535};
    unsigned port = ports[(data[0] >> 1) % 4];
    /* an exact-size copy so reads past the end are caught */
    unsigned char *buf = malloc(n ? n : 1);
    check(buf != NULL);
    memcpy(buf, b, n);
    char sni[256];
    size_t need = 0;
    int v = kf_tls_hello_sni(buf, n, sni, sizeof(sni), &need);
    check(v == KF_HELLO_NEED_MORE || v == KF_HELLO_DONE || v == KF_HELLO_NOT_TLS);
    if (v == KF_HELLO_NEED_MORE) {
        check(need > n);
    } else {
        check(strlen(sni) < sizeof(sni));
        /* a verdict on a prefix holds for the whole: the parser never looked further */
        char sni2[256];
        size_t need2 = 0;
        check(kf_tls_hello_sni(buf, n, sni2, sizeof(sni2), &need2) == v);
        check(strcmp(sni, sni2) == 0);
    }
    if (v == KF_HELLO_DONE) {
        route(sni[0] ? sni : NULL, port);
    }
    free(buf);
    return 0;
}

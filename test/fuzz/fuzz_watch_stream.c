/* libFuzzer target: the watch stream splitter and the event decoder. Input: byte 0 picks the
 * line cap, byte 1 the chunk size, the rest is the response body, fed in chunks. Every complete
 * line is decoded as a watch event (and its Status, for ERROR events).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude \
 *     $(pkg-config --cflags json-c) test/fuzz/fuzz_watch_stream.c pkg/k8s/watch_stream.c \
 *     pkg/jsonscan/jsonscan.c pkg/err/err.c -o build-fuzz/fuzz_watch_stream $(pkg-config --libs
 * json-c) build-fuzz/fuzz_watch_stream test/fuzz/corpus/fuzz_watch_stream */
#include "kgc/k8s.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_line(const char *line, size_t len, void *ctx)
{
    size_t *lines = ctx;
    struct kgc_k8s_event ev;
    struct kgc_err err = {0};
    struct kgc_jsonscan_tape t;
    kgc_jsonscan_tape_init(&t);
    (*lines)++;
    if (kgc_k8s_event_parse(line, len, &t, &ev, &err) == 0) {
        if (ev.tape != &t || !ev.object || t.nodes[ev.object].type != KGC_JSONSCAN_OBJECT)
            abort(); /* an event names its object */
        if (ev.resource_version && strlen(ev.resource_version) >= sizeof(ev.rv_buf))
            abort();
        if (ev.type == KGC_K8S_ERROR && strlen(ev.status.message) >= sizeof(ev.status.message))
            abort();
    } else if (!err.msg[0]) {
        abort(); /* a refusal says why */
    }
    kgc_jsonscan_tape_free(&t);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max_line = 16 + (size_t)data[0] * 64;
    size_t chunk = 1 + data[1] % 97;
    data += 2;
    size -= 2;
    struct kgc_k8s_watch_stream ws;
    size_t lines = 0;
    kgc_k8s_watch_stream_init(&ws, max_line);
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        int rc = kgc_k8s_watch_stream_feed(&ws, (const char *)data + off, n, on_line, &lines);
        if (rc == KGC_E2BIG) {
            /* the cap must hold: a failed stream keeps nothing buffered */
            if (kgc_k8s_watch_stream_pending(&ws) != 0)
                abort();
            break;
        }
    }
    if (kgc_k8s_watch_stream_pending(&ws) > max_line)
        abort();
    kgc_k8s_watch_stream_free(&ws);
    return 0;
}

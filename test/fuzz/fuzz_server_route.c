/* libFuzzer target: the HTTP route matcher of pkg/server and its listen-address parser. Input:
 * byte 0 picks the route groups, then "METHOD PATH" (the first space splits them; the rest of
 * the input after a NUL is a listen address). Answers come from a stub provider; every answer
 * must be a known status with a body that fits the cap, and the probe-only group must never
 * serve /metrics or /debug.
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_server_route
 *   build-fuzz/fuzz/fuzz_server_route test/fuzz/corpus/fuzz_server_route */
#include "kgc/server.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool stub_ready(void *ctx, char *reason, size_t size)
{
    (void)ctx;
    snprintf(reason, size, "caches not synced");
    return false;
}

static int stub_text(char **out, size_t *len, const char *text)
{
    *out = strdup(text);
    if (!*out)
        return KGC_ENOMEM;
    *len = strlen(text);
    return 0;
}

static int stub_metrics(void *ctx, char **out, size_t *len)
{
    (void)ctx;
    return stub_text(out, len, "kgc_up 1\n");
}

static int stub_cache(void *ctx, const char *kind, const char *ns, const char *name, bool pretty,
                      char **out, size_t *len)
{
    (void)ctx, (void)kind, (void)ns, (void)pretty;
    if (name && strcmp(name, "missing") == 0)
        return KGC_ENOENT;
    return stub_text(out, len, "{\"items\":[]}");
}

static int stub_dump(void *ctx, bool pretty, char **out, size_t *len)
{
    (void)ctx, (void)pretty;
    return stub_text(out, len, "{\"x\":[1,2,3]}");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    static const unsigned groups[] = {KGC_SERVER_ROUTES_HEALTH | KGC_SERVER_ROUTES_DEBUG,
                                      KGC_SERVER_ROUTES_HEALTH, KGC_SERVER_ROUTES_DEBUG,
                                      KGC_SERVER_ROUTES_PROBES, KGC_SERVER_ROUTES_INVALID_BACKEND};
    unsigned routes = groups[data[0] % 5];
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *sp = strchr(text, ' ');
    const char *method = sp ? text : "GET";
    const char *path = sp ? sp + 1 : text;
    if (sp)
        *sp = '\0';
    struct kgc_server_provider p = {.ready = stub_ready,
                                    .metrics = stub_metrics,
                                    .cache = stub_cache,
                                    .listeners = stub_dump,
                                    .queues = stub_dump,
                                    .config = stub_dump};
    size_t cap = (data[0] & 0x80) ? 16 : 0; /* a tiny cap: answers over it are 500s */
    for (int pretty = 0; pretty < 2; pretty++) {
        struct kgc_server_response r;
        if (kgc_server_route(&p, routes, method, path, pretty, cap, &r) != 0)
            continue;
        if (r.status != 200 && r.status != 404 && r.status != 405 && r.status != 500 &&
            r.status != 503)
            abort();
        if (!r.content_type || (r.len && !r.body))
            abort();
        if (routes == KGC_SERVER_ROUTES_PROBES && r.status == 200 &&
            (strstr(path, "metrics") || strstr(path, "debug")))
            abort(); /* the probe listener serves /healthz and /readyz only */
        kgc_server_response_free(&r);
    }
    /* The listen address after the first NUL, if any. */
    const char *addr = sp ? sp + 1 + strlen(sp + 1) : text + strlen(text);
    if (addr < text + size - 1) {
        char host[256];
        uint16_t port = 0;
        struct kgc_err err = {0};
        if (kgc_server_parse_listen(addr + 1, host, sizeof(host), &port, &err) == 0) {
            if (strlen(host) >= sizeof(host))
                abort();
        } else if (!err.msg[0]) {
            abort();
        }
    }
    free(text);
    return 0;
}

/* libFuzzer target: the parsers of Kong Admin API answers (pkg/kong/parse.c). Input: byte 0 picks
 * the parser, the rest is the answer body.
 *   0: GET /        kgc_kong_parse_root, then the listener set through copy/equal/merge and the
 *                   listener cache's binary encoding (encode → decode must give the same entry)
 *   1: GET /status  kgc_kong_parse_status (a hash, when given, is 32 lowercase hex digits)
 *   2: POST /config kgc_kong_parse_push_reply; byte 1 picks the HTTP status, the body follows
 *   3: an admin URL kgc_kong_url_normalize (normalizing is idempotent)
 * Whatever the input: no crash, no leak, no read outside the buffers.
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_kong_parse
 *   build-fuzz/fuzz/fuzz_kong_parse test/fuzz/corpus/fuzz_kong_parse */
#include "kgc/kong.h"
#include "kgc/listenercache.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void fuzz_root(const char *body, size_t len)
{
    struct kgc_kong_info info;
    struct kgc_err err = {0};
    int rc = kgc_kong_parse_root(body, len, &info, &err);
    if (rc != 0) {
        check(err.msg[0] != '\0');
        kgc_kong_info_free(&info);
        return;
    }
    const struct kgc_kong_listeners *l = &info.listeners;
    check(l->n_proxy <= KGC_KONG_LISTENER_CAP && l->n_stream <= KGC_KONG_LISTENER_CAP);
    check((l->n_proxy == 0) == (l->proxy == NULL) && (l->n_stream == 0) == (l->stream == NULL));
    for (size_t i = 0; i < l->n_proxy; i++)
        check(l->proxy[i].port > 0 && l->proxy[i].kind == KGC_KONG_LISTENER_PROXY &&
              memchr(l->proxy[i].ip, '\0', sizeof(l->proxy[i].ip)) != NULL);
    for (size_t i = 0; i < l->n_stream; i++)
        check(l->stream[i].port > 0 && l->stream[i].kind == KGC_KONG_LISTENER_STREAM &&
              memchr(l->stream[i].ip, '\0', sizeof(l->stream[i].ip)) != NULL);

    /* copy is equal; merging a set into its copy adds nothing new beyond duplicates */
    struct kgc_kong_info dup;
    if (kgc_kong_info_copy(&dup, &info) == 0) {
        check(kgc_kong_listeners_equal(&dup.listeners, &info.listeners));
        struct kgc_kong_listeners merged = {0};
        if (kgc_kong_listeners_merge(&merged, &info.listeners) == 0) {
            check(merged.n_proxy <= l->n_proxy && merged.n_stream <= l->n_stream);
            size_t np = merged.n_proxy, ns = merged.n_stream;
            if (kgc_kong_listeners_merge(&merged, &dup.listeners) == 0)
                check(merged.n_proxy == np && merged.n_stream == ns); /* idempotent union */
        }
        kgc_kong_listeners_free(&merged);
        kgc_kong_info_free(&dup);
    }

    /* what the listener cache stores from this answer reads back the same */
    struct kgc_listenercache_entry e;
    memset(&e, 0, sizeof(e));
    snprintf(e.url, sizeof(e.url), "http://127.0.0.1:8001");
    e.info = info;
    e.last_seen_live_ms = 1700000000000u;
    e.written_ms = 1700000000001u;
    unsigned char *buf = NULL;
    size_t blen = 0;
    rc = kgc_listenercache_encode(&e, &buf, &blen);
    if (rc == 0) {
        struct kgc_listenercache_entry d;
        struct kgc_err derr = {0};
        check(kgc_listenercache_decode(buf, blen, &d, &derr) == 0);
        check(strcmp(d.url, e.url) == 0 && d.last_seen_live_ms == e.last_seen_live_ms);
        check(strcmp(d.info.version, info.version) == 0 &&
              strcmp(d.info.edition, info.edition) == 0 &&
              strcmp(d.info.node_id, info.node_id) == 0 &&
              strcmp(d.info.router_flavor, info.router_flavor) == 0 &&
              strcmp(d.info.database, info.database) == 0);
        check(kgc_kong_listeners_equal(&d.info.listeners, &info.listeners));
        kgc_listenercache_entry_free(&d);
        /* every strict prefix of an encoding is refused, never read past */
        for (size_t cut = 0; cut < blen; cut += 1 + blen / 16) {
            unsigned char *part = malloc(cut ? cut : 1);
            if (!part)
                break;
            memcpy(part, buf, cut);
            struct kgc_listenercache_entry p;
            check(kgc_listenercache_decode(part, cut, &p, &derr) != 0);
            kgc_listenercache_entry_free(&p);
            free(part);
        }
        free(buf);
    }
    kgc_kong_info_free(&info);
}

static void fuzz_status(const char *body, size_t len)
{
    char hash[KGC_KONG_HASH_LEN + 1];
    memset(hash, 'x', sizeof(hash));
    struct kgc_err err = {0};
    if (kgc_kong_parse_status(body, len, hash, &err) != 0) {
        check(err.msg[0] != '\0');
        return;
    }
    size_t n = strnlen(hash, sizeof(hash));
    check(n == 0 || n == KGC_KONG_HASH_LEN);
    for (size_t i = 0; i < n; i++)
        check(isxdigit((unsigned char)hash[i]) && !isupper((unsigned char)hash[i]));
}

static void fuzz_push(const uint8_t *data, size_t size)
{
    static const long statuses[] = {200, 201, 304, 400, 413, 415, 429, 500, 503, 0};
    if (size < 1)
        return;
    long status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
    struct kgc_kong_push_result r;
    struct kgc_err err = {0};
    if (kgc_kong_parse_push_reply(status, (const char *)data + 1, size - 1, "7", &r, &err) != 0)
        return;
    check(r.http_status == status);
    check(r.n_entity_errors <= KGC_KONG_PUSH_MAX_ENTITIES);
    if (r.kind != KGC_KONG_PUSH_APPLIED && r.kind != KGC_KONG_PUSH_UNCHANGED)
        check(r.message != NULL);
    if (r.kind == KGC_KONG_PUSH_BUSY)
        check(r.retry_after_s == 7);
    for (size_t i = 0; i < r.n_entity_errors; i++) {
        const struct kgc_kong_entity_error *e = &r.entity_errors[i];
        check(e->n_errors <= KGC_KONG_PUSH_MAX_ERRORS && e->n_tags <= KGC_KONG_PUSH_MAX_ERRORS);
        for (size_t j = 0; j < e->n_tags; j++)
            check(e->entity_tags[j] != NULL);
    }
    check(kgc_kong_push_kind_name(r.kind) != NULL);
    kgc_kong_push_result_free(&r);
}

static void fuzz_url(const char *s, size_t len)
{
    char *url = strndup(s, len);
    if (!url)
        return;
    char out[KGC_KONG_URL_MAX], again[KGC_KONG_URL_MAX];
    struct kgc_err err = {0};
    if (kgc_kong_url_normalize(url, out, &err) == 0) {
        check(strlen(out) < KGC_KONG_URL_MAX);
        check(kgc_kong_url_normalize(out, again, &err) == 0 && strcmp(out, again) == 0);
    }
    free(url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    switch (data[0] % 4) {
    case 0:
        fuzz_root(body, len);
        break;
    case 1:
        fuzz_status(body, len);
        break;
    case 2:
        fuzz_push(data + 1, len);
        break;
    default:
        fuzz_url(body, len);
        break;
    }
    return 0;
}

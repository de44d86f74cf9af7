/* libFuzzer target: the test Kong's ATC language (test/fakes/kong/atc.h). Input: byte 0 picks the
 * entry point, the rest up to the first NUL is the expression (or pattern), and the lines after
 * that NUL are context values "field=value" (a value that parses as an integer or an IP address
 * is also added as one).
 *   0: kf_atc_parse with the http schema, then evaluation against the context
 *   1: the same with the stream schema
 *   2: kf_atc_parse_unchecked (grammar only) and the AST formatter
 *   3: kf_atc_regex_check on the pattern
 *   4: a router with the expression under two uuids and priorities, then execution
 * Whatever the input: no crash, no leak, no read outside the buffers; an error always carries a
 * message (an ATC one of at most 4096 bytes, atc-router's error buffer).
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_atc
 *   build-fuzz/fuzz/fuzz_atc test/fuzz/corpus/fuzz_atc */
#include "../fakes/kong/atc.h"

#include <kgc/err.h>

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

/* an ATC error fits atc-router's 4096-byte buffer; a regex check's text is the crate's, whole */
static void check_err(int rc, const char *err, size_t cap)
{
    if (rc == KGC_EINVAL)
        check(err[0] != '\0' && strlen(err) <= cap);
}

static void fill_ctx(struct kf_atc_ctx *c, const char *vals)
{
    char line[512];
    while (*vals) {
        const char *nl = strchr(vals, '\n');
        size_t n = nl ? (size_t)(nl - vals) : strlen(vals);
        if (n < sizeof(line)) {
            memcpy(line, vals, n);
            line[n] = '\0';
            char *eq = strchr(line, '=');
            if (eq) {
                *eq = '\0';
                const char *f = line, *v = eq + 1;
                (void)kf_atc_ctx_add_str(c, f, v);
                char *end;
                long long i = strtoll(v, &end, 10);
                if (*v && !*end)
                    (void)kf_atc_ctx_add_int(c, f, i);
                (void)kf_atc_ctx_add_ip(c, f, v);
            }
        }
        vals += n;
        if (*vals == '\n')
            vals++;
    }
}

static void check_match(const struct kf_atc_match *m)
{
    for (size_t i = 0; i < m->n_caps; i++)
        check(m->cap_names[i] != NULL && m->cap_values[i] != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    int mode = data[0] % 5;
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    buf[size] = '\0';
    const char *src = buf;
    const char *vals = buf + strlen(buf) + 1;
    if (vals > buf + size - 1)
        vals = "";

    static char err[8192];
    err[0] = '\0';
    struct kf_atc_expr *e = NULL;
    struct kf_atc_ctx *c = kf_atc_ctx_new();
    check(c != NULL);
    fill_ctx(c, vals);
    struct kf_atc_match m;
    int rc;

    switch (mode) {
    case 0:
    case 1:
        rc = kf_atc_parse(mode ? KF_ATC_STREAM : KF_ATC_HTTP, src, &e, err, sizeof(err));
        check_err(rc, err, 4096);
        check((rc == 0) == (e != NULL));
        if (e) {
            const char *const *names;
            size_t nf = kf_atc_expr_fields(e, &names);
            check(nf >= 1);
            for (size_t i = 0; i < nf; i++)
                check(names[i] != NULL);
            if (kf_atc_expr_execute(e, c, &m)) {
                check(m.uuid == NULL);
                check_match(&m);
            }
        }
        break;
    case 2: {
        rc = kf_atc_parse_unchecked(src, &e, err, sizeof(err));
        check_err(rc, err, 4096);
        if (e) {
            char out[256];
            size_t n = kf_atc_expr_format(e, out, sizeof(out));
            check(strlen(out) == (n < sizeof(out) ? n : sizeof(out) - 1));
        }
        break;
    }
    case 3:
        rc = kf_atc_regex_check(src, err, sizeof(err));
        check_err(rc, err, sizeof(err) - 1);
        break;
    default: {
        struct kf_atc_router *r = kf_atc_router_new(KF_ATC_HTTP);
        check(r != NULL);
        rc = kf_atc_router_add(r, "a921a9aa-ec0e-4cf3-a6cc-1aa5583d150c", 1, src, err, sizeof(err));
        check_err(rc, err, 4096);
        if (rc == 0) {
            int rc2 = kf_atc_router_add(r, "a921a9aa-ec0e-4cf3-a6cc-1aa5583d150c", 1, src, err,
                                        sizeof(err));
            check(rc2 == KGC_EEXIST);
            check(kf_atc_router_add(r, "b921a9aa-ec0e-4cf3-a6cc-1aa5583d150c", 1, src, err,
                                    sizeof(err)) == 0);
            if (kf_atc_router_execute(r, c, &m)) {
                /* equal priority: the greater uuid is tried first (router.rs) */
                check(strcmp(m.uuid, "b921a9aa-ec0e-4cf3-a6cc-1aa5583d150c") == 0);
                check_match(&m);
            }
        }
        kf_atc_router_free(r);
        break;
    }
    }
    kf_atc_expr_free(e);
    kf_atc_ctx_free(c);
    free(buf);
    return 0;
}

/* Translation time and configuration size for synthetic clusters: N HTTPRoutes (two rules each:
 * a PathPrefix + header match with a RequestHeaderModifier, and an Exact match splitting traffic
 * 80/20 over two Services) on N/10 Gateways (at most 1000) in 100 namespaces, one Service with a
 * 3-endpoint EndpointSlice per route. Prints a table; asserts nothing.
 *
 * Memory columns: "input KiB" is the resident size once the objects are loaded (what any process
 * holding them pays), "peak KiB" the highest resident size while translating (the peak is reset
 * before each flavour where the kernel allows it, else it is the process's peak so far), so
 * peak - input is what the translation costs. "md5" is the configuration's hash: the same input
 * must always give the same bytes. */
#include "bench_common.h"

#include "kgc/api.h"
#include "kgc/status.h"
#include "kgc/strmap.h"
#include "kgc/translate.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAMESPACES 100
#define RUNS       3

/* An in-memory snapshot: objects by kind, and by key for get(). */
struct store {
    const struct kgc_api_obj **objs[KGC_API_KIND_COUNT];
    size_t n[KGC_API_KIND_COUNT], cap[KGC_API_KIND_COUNT];
    struct kgc_strmap by_key[KGC_API_KIND_COUNT];
};

static void store_add(struct store *s, enum kgc_api_kind kind, const char *json)
{
    struct kgc_api_obj *o = NULL;
    struct kgc_err err = {0};
    if (kgc_api_parse_text(kind, json, strlen(json), &o, &err) != 0) {
        fprintf(stderr, "bench: parse: %s\n%s\n", err.msg, json);
        exit(1);
    }
    if (s->n[kind] == s->cap[kind]) {
        s->cap[kind] = s->cap[kind] ? 2 * s->cap[kind] : 64;
        s->objs[kind] = realloc(s->objs[kind], s->cap[kind] * sizeof(const struct kgc_api_obj *));
        if (!s->objs[kind])
            exit(1);
    }
    s->objs[kind][s->n[kind]++] = o;
    if (kgc_strmap_put(&s->by_key[kind], o->meta.key, o, NULL) != 0)
        exit(1);
}

static void store_free(struct store *s)
{
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        for (size_t i = 0; i < s->n[k]; i++)
            kgc_api_obj_unref(s->objs[k][i]);
        free(s->objs[k]);
        kgc_strmap_destroy(&s->by_key[k]);
    }
}

static const struct kgc_api_obj *store_get(void *ctx, enum kgc_api_kind kind, const char *ns,
                                           const char *name)
{
    struct store *s = ctx;
    char key[600];
    if (ns)
        snprintf(key, sizeof(key), "%s/%s", ns, name);
    else
        snprintf(key, sizeof(key), "%s", name);
    return kgc_api_obj_ref(kgc_strmap_get(&s->by_key[kind], key));
}

static void store_foreach(void *ctx, enum kgc_api_kind kind, const char *ns, kgc_status_visit_fn fn,
                          void *fnctx)
{
    struct store *s = ctx;
    for (size_t i = 0; i < s->n[kind]; i++) {
        const struct kgc_api_obj *o = s->objs[kind][i];
        if (ns && (!o->meta.namespace || strcmp(o->meta.namespace, ns) != 0))
            continue;
        if (!fn(o, fnctx))
            return;
    }
}

static void build(struct store *s, size_t routes)
{
    memset(s, 0, sizeof(*s));
    for (int k = 0; k < KGC_API_KIND_COUNT; k++)
        kgc_strmap_init(&s->by_key[k]);
    size_t gateways = routes / 10 ? routes / 10 : 1;
    if (gateways > 1000)
        gateways = 1000;
    char json[4096];
    snprintf(json, sizeof(json),
             "{\"metadata\":{\"name\":\"kong\"},\"spec\":{\"controllerName\":\"%s\"}}",
             KGC_STATUS_DEFAULT_CONTROLLER);
    store_add(s, KGC_API_GATEWAYCLASS, json);
    for (size_t n = 0; n < NAMESPACES; n++) {
        snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"ns%zu\"}}", n);
        store_add(s, KGC_API_NAMESPACE, json);
    }
    for (size_t g = 0; g < gateways; g++) {
        snprintf(json, sizeof(json),
                 "{\"metadata\":{\"name\":\"gw%zu\",\"namespace\":\"ns%zu\",\"uid\":\"g-%zu\"},"
                 "\"spec\":{\"gatewayClassName\":\"kong\",\"listeners\":[{\"name\":\"http\","
                 "\"port\":80,\"protocol\":\"HTTP\"}]}}",
                 g, g % NAMESPACES, g);
        store_add(s, KGC_API_GATEWAY, json);
    }
    for (size_t r = 0; r < routes; r++) {
        size_t g = r % gateways, ns = g % NAMESPACES;
        snprintf(json, sizeof(json),
                 "{\"metadata\":{\"name\":\"svc%zu\",\"namespace\":\"ns%zu\"},\"spec\":{"
                 "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080}]}}",
                 r, ns);
        store_add(s, KGC_API_SERVICE, json);
        snprintf(json, sizeof(json),
                 "{\"metadata\":{\"name\":\"svc%zu-a\",\"namespace\":\"ns%zu\",\"labels\":{"
                 "\"kubernetes.io/service-name\":\"svc%zu\"}},\"addressType\":\"IPv4\","
                 "\"ports\":[{\"name\":\"http\",\"port\":8080}],\"endpoints\":["
                 "{\"addresses\":[\"10.%zu.%zu.1\"]},{\"addresses\":[\"10.%zu.%zu.2\"]},"
                 "{\"addresses\":[\"10.%zu.%zu.3\"]}]}",
                 r, ns, r, r / 250 % 250, r % 250, r / 250 % 250, r % 250, r / 250 % 250, r % 250);
        store_add(s, KGC_API_ENDPOINTSLICE, json);
    }
    for (size_t r = 0; r < routes; r++) {
        size_t g = r % gateways, ns = g % NAMESPACES;
        size_t other = r + gateways < routes ? r + gateways : r; /* same namespace */
        snprintf(json, sizeof(json),
                 "{\"metadata\":{\"name\":\"route%zu\",\"namespace\":\"ns%zu\",\"uid\":\"r-%zu\","
                 "\"creationTimestamp\":\"2025-01-01T00:00:00Z\"},\"spec\":{"
                 "\"parentRefs\":[{\"name\":\"gw%zu\"}],\"hostnames\":[\"r%zu.example.com\"],"
                 "\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":"
                 "\"/api/v%zu\"},\"headers\":[{\"name\":\"x-env\",\"value\":\"prod\"}]}],"
                 "\"filters\":[{\"type\":\"RequestHeaderModifier\",\"requestHeaderModifier\":{"
                 "\"set\":[{\"name\":\"x-route\",\"value\":\"r%zu\"}]}}],"
                 "\"backendRefs\":[{\"name\":\"svc%zu\",\"port\":80}]},"
                 "{\"matches\":[{\"path\":{\"type\":\"Exact\",\"value\":\"/health\"}}],"
                 "\"backendRefs\":[{\"name\":\"svc%zu\",\"port\":80,\"weight\":80},"
                 "{\"name\":\"svc%zu\",\"port\":80,\"weight\":20}]}]}}",
                 r, ns, r, g, r, r % 7, r, r, r, other);
        store_add(s, KGC_API_HTTPROUTE, json);
    }
}

/* A "VmRSS:"-style line of /proc/self/status in KiB, or -1. */
static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, field, fl) == 0) {
            v = strtol(line + fl, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Resets the peak resident size (Linux >= 4.0); false when it cannot. */
static bool reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    bench_print_machine();
    printf("%-8s %-8s %-24s %10s %10s %12s %8s %8s %8s %10s %10s  %s\n", "routes", "gateways",
           "flavor", "best ms", "median ms", "config B", "svcs", "kroutes", "targets", "input KiB",
           "peak KiB", "md5");
    const size_t sizes[] = {1000, 10000};
    const char *const flavors[] = {"traditional_compatible", "expressions"};
    for (size_t si = 0; si < 2; si++) {
        struct store s;
        build(&s, sizes[si]);
        struct kgc_status_lookup lk = {.get = store_get, .foreach = store_foreach, .ctx = &s};
        malloc_trim(0); /* what the previous size freed is not counted as input */
        long input_kib = status_kib("VmRSS:");
        for (size_t f = 0; f < 2; f++) {
            bool reset = reset_peak();
            struct kgc_translate_input in = {.lookup = &lk, .router_flavor = flavors[f]};
            double times[RUNS];
            struct kgc_translate_output out = {0};
            for (int run = 0; run < RUNS; run++) {
                kgc_translate_output_free(&out);
                double t0 = bench_now_s();
                struct kgc_err err = {0};
                if (kgc_translate(&in, &out, &err) != 0) {
                    fprintf(stderr, "bench: translate: %s\n", err.msg);
                    return 1;
                }
                times[run] = (bench_now_s() - t0) * 1000.0;
            }
            qsort(times, RUNS, sizeof(times[0]), cmp_double);
            long peak_kib = reset ? status_kib("VmHWM:") : bench_peak_rss_kib();
            printf("%-8zu %-8zu %-24s %10.1f %10.1f %12zu %8zu %8zu %8zu %10ld %10ld  %s\n",
                   sizes[si], s.n[KGC_API_GATEWAY], flavors[f], times[0], times[RUNS / 2],
                   out.config_len, out.counts.services, out.counts.routes, out.counts.targets,
                   input_kib, peak_kib, out.hash);
            if (out.counts.http_routes != sizes[si] || out.n_problems)
                printf("  (unexpected: %zu routes translated, %zu problems)\n",
                       out.counts.http_routes, out.n_problems);
            kgc_translate_output_free(&out);
        }
        store_free(&s);
    }
    return 0;
}

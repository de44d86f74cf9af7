/* Translation time and configuration size for synthetic clusters: N HTTPRoutes (two rules each:
 * a PathPrefix + header match with a RequestHeaderModifier, and an Exact match splitting traffic
 * 80/20 over two Services) on N/10 Gateways (at most 1000) in 100 namespaces, one Service with a
 * 3-endpoint EndpointSlice per route. Prints a table; asserts nothing.
 *
 * Memory columns: "input KiB" is the resident size once the objects are loaded (what any process
 * holding them pays), "peak KiB" the highest resident size while translating (the peak is reset
 * before each flavour where the kernel allows it, else it is the process's peak so far), so
 * peak - input is what the translation costs. "md5" is the configuration's hash: the same input
 * must always give the same bytes.
 *
 * Then, per size, the configuration's bytes by entity kind (traditional_compatible): each
 * entity's own compact JSON without the entities nested in it (a service without its routes, an
 * upstream without its targets), its tags apart, per HTTPRoute and per entity.
 *
 * Knobs: BENCH_TRANSLATE_SIZES ("1000 10000": route counts), BENCH_TRANSLATE_DUMP=FILE (writes the
 * smallest size's traditional_compatible configuration to FILE, to read what one route costs). */
#include "bench_common.h"

#include "kgc/api.h"
#include "kgc/status.h"
#include "kgc/strmap.h"
#include "kgc/translate.h"

#include <json-c/json.h>
#include <malloc.h>
#include <stdbool.h>
#include <time.h>
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

/* HTTPRoute r of the bench's shape; version is the first rule's path "/api/v<version>". */
static void route_json(char *json, size_t size, size_t r, size_t routes, size_t gateways,
                       size_t version)
{
    size_t g = r % gateways, ns = g % NAMESPACES;
    size_t other = r + gateways < routes ? r + gateways : r; /* same namespace */
    snprintf(json, size,
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
             r, ns, r, g, r, version, r, r, r, other);
}

/* Replaces the stored object of the same kind and key (a watch's MODIFIED). */
static void store_replace(struct store *s, enum kgc_api_kind kind, const char *json)
{
    struct kgc_api_obj *o = NULL;
    struct kgc_err err = {0};
    if (kgc_api_parse_text(kind, json, strlen(json), &o, &err) != 0) {
        fprintf(stderr, "bench: parse: %s\n", err.msg);
        exit(1);
    }
    for (size_t i = 0; i < s->n[kind]; i++) {
        if (strcmp(s->objs[kind][i]->meta.key, o->meta.key) == 0) {
            kgc_api_obj_unref(s->objs[kind][i]);
            s->objs[kind][i] = o;
            if (kgc_strmap_put(&s->by_key[kind], o->meta.key, o, NULL) != 0)
                exit(1);
            return;
        }
    }
    exit(1);
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
        route_json(json, sizeof(json), r, routes, gateways, r % 7);
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

/* Bytes of the configuration by entity kind: "_format_version" and the separators between the
 * top-level arrays count as "document". */
enum { K_SERVICE, K_ROUTE, K_PLUGIN, K_UPSTREAM, K_TARGET, K_CERTIFICATE, K_SNI, K_KINDS };
static const char *const KIND_KEYS[K_KINDS] = {"services", "routes",       "plugins", "upstreams",
                                               "targets",  "certificates", "snis"};

struct kind_bytes {
    size_t n[K_KINDS], bytes[K_KINDS], tag_bytes[K_KINDS];
};

static size_t json_len(json_object *o)
{
    return strlen(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void count_entities(json_object *arr, int kind, struct kind_bytes *kb)
{
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        size_t own = json_len(e);
        for (int k = 0; k < K_KINDS; k++) {
            json_object *sub = NULL;
            if (json_object_object_get_ex(e, KIND_KEYS[k], &sub) &&
                json_object_is_type(sub, json_type_array)) {
                own -= json_len(sub) + strlen(KIND_KEYS[k]) + 4; /* ,"key": */
                count_entities(sub, k, kb);
            }
        }
        json_object *tags = NULL;
        if (json_object_object_get_ex(e, "tags", &tags))
            kb->tag_bytes[kind] += json_len(tags) + strlen("tags") + 4;
        kb->n[kind]++;
        kb->bytes[kind] += own;
    }
}

static void print_kind_bytes(const struct kgc_translate_output *out, size_t http_routes)
{
    json_object *doc = json_tokener_parse(out->config);
    if (!doc) {
        printf("  (the configuration does not parse)\n");
        return;
    }
    struct kind_bytes kb = {0};
    for (int k = 0; k < K_KINDS; k++) {
        json_object *arr = NULL;
        if (json_object_object_get_ex(doc, KIND_KEYS[k], &arr) &&
            json_object_is_type(arr, json_type_array))
            count_entities(arr, k, &kb);
    }
    json_object_put(doc);
    size_t total = 0, tags = 0;
    printf("  %-13s %8s %12s %12s %12s %12s\n", "entity", "count", "bytes", "B/entity",
           "tag B/entity", "B/HTTPRoute");
    for (int k = 0; k < K_KINDS; k++) {
        total += kb.bytes[k];
        tags += kb.tag_bytes[k];
        if (!kb.n[k])
            continue;
        printf("  %-13s %8zu %12zu %12.1f %12.1f %12.1f\n", KIND_KEYS[k], kb.n[k], kb.bytes[k],
               (double)kb.bytes[k] / (double)kb.n[k], (double)kb.tag_bytes[k] / (double)kb.n[k],
               (double)kb.bytes[k] / (double)http_routes);
    }
    printf("  %-13s %8s %12zu %12s %12s %12.1f\n", "document", "", out->config_len - total, "", "",
           (double)(out->config_len - total) / (double)http_routes);
    printf("  %-13s %8s %12zu %12s %12s %12.1f  (tags: %zu B, %.1f B/HTTPRoute)\n", "total", "",
           out->config_len, "", "", (double)out->config_len / (double)http_routes, tags,
           (double)tags / (double)http_routes);
}

/* CPU seconds this thread has used. */
static double cpu_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof(*v), cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

#define INCR_CHANGES 200
#define FULL_EVERY   20 /* a full translation after every 20th change, alternating */

/* Single-route path changes at 10k routes: CPU per change of kgc_translate() (before) and of
 * kgc_translate_incremental() (after), alternating on the same snapshot, and the bytes written
 * again per change; the last incremental hash is checked against a full translation. */
static int incremental_bench(size_t routes, bool same_length)
{
    struct store s;
    build(&s, routes);
    size_t gateways = s.n[KGC_API_GATEWAY];
    struct kgc_status_lookup lk = {.get = store_get, .foreach = store_foreach, .ctx = &s};
    struct kgc_translate_input in = {.lookup = &lk, .router_flavor = "traditional_compatible"};
    struct kgc_translate_state *st = kgc_translate_state_new();
    struct kgc_translate_output out = {0};
    struct kgc_translate_incr_stats stats;
    struct kgc_err err = {0};
    malloc_trim(0);
    struct mallinfo2 mi0 = mallinfo2();
    size_t heap0 = mi0.uordblks + mi0.hblkhd;
    double c0 = cpu_now_s();
    if (!st || kgc_translate_incremental(st, &in, NULL, 0, false, &out, &stats, &err) != 0) {
        fprintf(stderr, "bench: incremental: %s\n", err.msg);
        return 1;
    }
    double first_ms = (cpu_now_s() - c0) * 1000.0;
    size_t config_len = out.config_len;
    kgc_translate_output_free(&out);
    /* what the state keeps between calls (malloc's bytes in use, the output freed) */
    struct mallinfo2 mi1 = mallinfo2();
    size_t state_bytes = mi1.uordblks + mi1.hblkhd - heap0;
    double incr_ms[INCR_CHANGES], full_ms[INCR_CHANGES / FULL_EVERY], md5_ms[INCR_CHANGES];
    size_t n_full = 0, bytes = 0, planned = 0, fulls = 0, hashed = 0;
    char json[4096], last_hash[KGC_DIGEST_MD5_HEX_LEN + 1] = "";
    unsigned long long seed = 19;
    for (size_t k = 0; k < INCR_CHANGES; k++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t r = (size_t)(seed >> 33) % routes;
        /* a new path: of the same length (the route keeps its precedence facts), or longer
         * (it moves to other facts: the routes after it among equal facts move up a place,
         * and their Kong route ids with them) */
        route_json(json, sizeof(json), r, routes, gateways, same_length ? 1 + k % 8 : 10 + k);
        store_replace(&s, KGC_API_HTTPROUTE, json);
        char ns[32], name[32];
        snprintf(ns, sizeof(ns), "ns%zu", r % gateways % NAMESPACES);
        snprintf(name, sizeof(name), "route%zu", r);
        struct kgc_translate_change ch = {KGC_API_HTTPROUTE, ns, name};
        c0 = cpu_now_s();
        if (kgc_translate_incremental(st, &in, &ch, 1, false, &out, &stats, &err) != 0) {
            fprintf(stderr, "bench: incremental: %s\n", err.msg);
            return 1;
        }
        incr_ms[k] = (cpu_now_s() - c0) * 1000.0;
        bytes += stats.bytes_written;
        hashed += stats.hashed_bytes;
        planned += stats.routes_planned;
        fulls += stats.full;
        c0 = cpu_now_s();
        char h[KGC_DIGEST_MD5_HEX_LEN + 1];
        kgc_digest_md5_hex(out.config, out.config_len, h);
        md5_ms[k] = (cpu_now_s() - c0) * 1000.0;
        snprintf(last_hash, sizeof(last_hash), "%s", out.hash);
        config_len = out.config_len;
        kgc_translate_output_free(&out);
        if ((k + 1) % FULL_EVERY == 0 && !getenv("BENCH_INCR_NO_FULL")) {
            c0 = cpu_now_s();
            if (kgc_translate(&in, &out, &err) != 0) {
                fprintf(stderr, "bench: translate: %s\n", err.msg);
                return 1;
            }
            full_ms[n_full++] = (cpu_now_s() - c0) * 1000.0;
            if (strcmp(out.hash, last_hash) != 0) {
                fprintf(stderr, "bench: incremental hash %s != full %s\n", last_hash, out.hash);
                return 1;
            }
            kgc_translate_output_free(&out);
        }
    }
    printf("\nsingle-route path change (%s), %zu routes, traditional_compatible, CPU ms per "
           "change (thread CPU time; the incremental hash checked against a full translation "
           "every %d changes: equal)\n",
           same_length ? "same length: /api/v3 -> /api/v5" : "longer: /api/v3 -> /api/v12", routes,
           FULL_EVERY);
    printf("%-26s %8s %8s %8s %14s\n", "", "changes", "p50 ms", "p99 ms", "bytes written");
    double full_p50 = n_full ? pct(full_ms, n_full, 0.5) : 0,
           full_p99 = n_full ? pct(full_ms, n_full, 0.99) : 0;
    printf("%-26s %8zu %8.1f %8.1f %14zu\n", "before: kgc_translate", n_full, full_p50, full_p99,
           config_len);
    printf("%-26s %8d %8.1f %8.1f %14zu\n", "after: incremental", INCR_CHANGES,
           pct(incr_ms, INCR_CHANGES, 0.5), pct(incr_ms, INCR_CHANGES, 0.99), bytes / INCR_CHANGES);
    printf("%-26s %8d %8.1f %8.1f %14s\n", "MD5 of the whole text", INCR_CHANGES,
           pct(md5_ms, INCR_CHANGES, 0.5), pct(md5_ms, INCR_CHANGES, 0.99), "-");
    printf("bytes hashed per change (from the last kept MD5 state before the first changed byte): "
           "%zu of %zu\n",
           hashed / INCR_CHANGES, config_len);
    printf("first incremental call (full): %.1f ms; routes planned per change: %.2f; full "
           "fallbacks: %zu; config %zu B\n",
           first_ms, (double)planned / INCR_CHANGES, fulls, config_len);
    printf("state kept between calls: %.1f MiB (malloc in use, mmap'd chunks included, after the "
           "first call, output freed)\n",
           (double)state_bytes / 1048576.0);
    kgc_translate_state_free(st);
    store_free(&s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "incremental") == 0) { /* only the change bench */
        bench_print_machine();
        return incremental_bench(10000, true) || incremental_bench(10000, false);
    }
    bench_print_machine();
    printf("%-8s %-8s %-24s %10s %10s %12s %8s %8s %8s %10s %10s  %s\n", "routes", "gateways",
           "flavor", "best ms", "median ms", "config B", "svcs", "kroutes", "targets", "input KiB",
           "peak KiB", "md5");
    size_t sizes[8] = {1000, 10000}, n_sizes = 2;
    const char *env = getenv("BENCH_TRANSLATE_SIZES");
    if (env && *env) {
        n_sizes = 0;
        for (char *end = NULL; *env && n_sizes < 8; env = end) {
            unsigned long v = strtoul(env, &end, 10);
            if (end == env || v == 0)
                break;
            sizes[n_sizes++] = v;
        }
    }
    const char *dump = getenv("BENCH_TRANSLATE_DUMP");
    const char *const flavors[] = {"traditional_compatible", "expressions"};
    for (size_t si = 0; si < n_sizes; si++) {
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
            if (f == 0) {
                print_kind_bytes(&out, sizes[si]); /* after the peak was read */
                FILE *df = dump && si == 0 ? fopen(dump, "w") : NULL;
                if (df) {
                    fwrite(out.config, 1, out.config_len, df);
                    fclose(df);
                }
            }
            kgc_translate_output_free(&out);
            malloc_trim(0); /* what print_kind_bytes parsed is not the next flavour's */
        }
        store_free(&s);
    }
    return incremental_bench(10000, true) || incremental_bench(10000, false);
}

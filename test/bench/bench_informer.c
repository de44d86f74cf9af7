/* bench_informer: list+store of 10k HTTPRoutes and 10k Services through a real informer (HTTP
 * pages of 500 from an in-process server, json-c parse, typed objects, cache with indexes), and
 * the memory the store keeps. Prints a table; asserts nothing.
 *
 *   bench_informer [N]      N objects per kind (default 10000) */
#include "bench_common.h"

#include "../unit/test_k8s_helpers.h"
#include "kgc/api.h"
#include "kgc/cache.h"
#include "kgc/informer.h"
#include "kgc/k8s.h"
#include "kgc/log.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_objects = 10000;

/* A realistic route: two parents, two hostnames, two rules with matches, a filter and backends,
 * and the status a controller writes (one parent, two conditions). ~1.6 KB of JSON. */
static void route_json(FILE *f, int i)
{
    fprintf(
        f,
        "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\",\"metadata\":"
        "{\"name\":\"route-%d\",\"namespace\":\"ns-%d\",\"uid\":\"6f1c1a2e-0000-4000-8000-%012d\","
        "\"resourceVersion\":\"%d\",\"generation\":2,\"creationTimestamp\":"
        "\"2026-11-27T10:00:00Z\",\"labels\":{\"app\":\"app-%d\"}},\"spec\":{\"parentRefs\":[{"
        "\"group\":\"gateway.networking.k8s.io\",\"kind\":\"Gateway\",\"name\":\"gw-%d\","
        "\"namespace\":\"infra\",\"sectionName\":\"http\"}],\"hostnames\":[\"app-%d.example.com\","
        "\"www.app-%d.example.com\"],\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\","
        "\"value\":\"/api/v1\"},\"headers\":[{\"type\":\"Exact\",\"name\":\"x-tenant\",\"value\":"
        "\"t%d\"}]}],\"filters\":[{\"type\":\"RequestHeaderModifier\",\"requestHeaderModifier\":{"
        "\"set\":[{\"name\":\"x-route\",\"value\":\"route-%d\"}]}}],\"backendRefs\":[{\"group\":"
        "\"\",\"kind\":\"Service\",\"name\":\"svc-%d\",\"port\":8080,\"weight\":90},{\"group\":"
        "\"\",\"kind\":\"Service\",\"name\":\"svc-%d-canary\",\"port\":8080,\"weight\":10}]},{"
        "\"matches\":[{\"path\":{\"type\":\"Exact\",\"value\":\"/healthz\"},\"method\":\"GET\"}],"
        "\"backendRefs\":[{\"group\":\"\",\"kind\":\"Service\",\"name\":\"svc-%d\",\"port\":8081,"
        "\"weight\":1}]}]},\"status\":{\"parents\":[{\"parentRef\":{\"group\":"
        "\"gateway.networking.k8s.io\",\"kind\":\"Gateway\",\"name\":\"gw-%d\",\"namespace\":"
        "\"infra\",\"sectionName\":\"http\"},\"controllerName\":"
        "\"konghq.com/kgc-gateway-controller\",\"conditions\":[{\"type\":\"Accepted\",\"status\":"
        "\"True\",\"reason\":\"Accepted\",\"message\":\"Route is accepted\","
        "\"lastTransitionTime\":\"2026-11-27T10:00:01Z\",\"observedGeneration\":2},{\"type\":"
        "\"ResolvedRefs\",\"status\":\"True\",\"reason\":\"ResolvedRefs\",\"message\":"
        "\"All references resolved\",\"lastTransitionTime\":\"2026-11-27T10:00:01Z\","
        "\"observedGeneration\":2}]}]}}",
        i, i % 50, i, 1000 + i, i, i % 20, i, i, i % 7, i, i, i, i, i % 20);
}

static void service_json(FILE *f, int i)
{
    fprintf(
        f,
        "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"svc-%d\","
        "\"namespace\":\"ns-%d\",\"uid\":\"7a2b3c4d-0000-4000-8000-%012d\",\"resourceVersion\":"
        "\"%d\",\"creationTimestamp\":\"2026-11-27T10:00:00Z\",\"labels\":{\"app\":\"app-%d\"}},"
        "\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"10.96.%d.%d\",\"clusterIPs\":["
        "\"10.96.%d.%d\"],\"ipFamilies\":[\"IPv4\"],\"selector\":{\"app\":\"app-%d\"},\"ports\":["
        "{\"name\":\"http\",\"port\":8080,\"targetPort\":\"http\",\"protocol\":\"TCP\"},{\"name\":"
        "\"health\",\"port\":8081,\"targetPort\":9000,\"protocol\":\"TCP\"}],"
        "\"sessionAffinity\":\"None\"},\"status\":{\"loadBalancer\":{}}}",
        i, i % 50, i, 50000 + i, i, i / 250, i % 250, i / 250, i % 250, i);
}

/* Serves paginated lists of both kinds, generated on demand; watches stay open and quiet. */
static void handler(struct peer *p, const struct peer_request *req, struct peer_response *r,
                    void *ctx)
{
    (void)p;
    (void)ctx;
    char q[64];
    if (strcmp(query_param(req->query, "watch", q, sizeof(q)), "1") == 0) {
        r->hold = true;
        return;
    }
    bool routes = strstr(req->path, "httproutes") != NULL;
    int start = atoi(query_param(req->query, "continue", q, sizeof(q)));
    int limit = atoi(query_param(req->query, "limit", q, sizeof(q)));
    if (limit <= 0)
        limit = n_objects;
    int end = start + limit < n_objects ? start + limit : n_objects;
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    fprintf(f, "{\"kind\":\"%s\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"99999\"",
            routes ? "HTTPRouteList" : "ServiceList");
    if (end < n_objects)
        fprintf(f, ",\"continue\":\"%d\"", end);
    fprintf(f, "},\"items\":[");
    for (int i = start; i < end; i++) {
        if (i > start)
            fputc(',', f);
        if (routes)
            route_json(f, i);
        else
            service_json(f, i);
    }
    fprintf(f, "]}");
    fclose(f);
    r->n_parts = 1;
    r->parts[0] = body;
}

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

struct row {
    const char *kind;
    double seconds;
    size_t objects;
    size_t bytes;
    long rss_delta_kib;
};

static int run_kind(struct kgc_k8s_client *client, struct kgc_cache *cache, enum kgc_api_kind kind,
                    struct row *out)
{
    malloc_trim(0);
    long before = rss_kib();
    struct kgc_informer *inf = NULL;
    struct kgc_informer_options o;
    kgc_informer_options_default(&o);
    struct kgc_err err = {0};
    if (kgc_informer_new(client, cache, kind, &o, &inf, &err) != 0)
        return -1;
    double t0 = bench_now_s();
    if (kgc_informer_start(inf, &err) != 0)
        return -1;
    struct kgc_informer *infs[] = {inf};
    int rc = kgc_informer_wait_synced(infs, 1, 300 * KGC_NS_PER_S);
    double t1 = bench_now_s();
    kgc_informer_free(inf);
    if (rc != 0)
        return -1;
    malloc_trim(0);
    out->kind = kgc_api_kind_info(kind)->plural;
    out->seconds = t1 - t0;
    out->objects = kgc_cache_count(cache, kind);
    out->bytes = kgc_cache_bytes(cache, kind);
    out->rss_delta_kib = rss_kib() - before;
    return 0;
}

/* Parse alone (no HTTP, no store): JSON text → typed object → free. */
static double parse_only(enum kgc_api_kind kind, int n, size_t *json_bytes)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (kind == KGC_API_HTTPROUTE)
        route_json(f, 1234);
    else
        service_json(f, 1234);
    fclose(f);
    *json_bytes = len;
    double t0 = bench_now_s();
    for (int i = 0; i < n; i++) {
        struct kgc_api_obj *o = NULL;
        if (kgc_api_parse_text(kind, text, len, &o, NULL) == 0)
            kgc_api_obj_unref(o);
    }
    double t = bench_now_s() - t0;
    free(text);
    return t;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        n_objects = atoi(argv[1]) > 0 ? atoi(argv[1]) : n_objects;
    kgc_log_setup(KGC_LOG_ERROR, KGC_LOG_TEXT, 2);
    bench_print_machine();
    struct peer *p = peer_start(handler, NULL);
    if (!p) {
        fprintf(stderr, "bench_informer: cannot start the HTTP peer\n");
        return 1;
    }
    struct kgc_k8s_config cfg = {.server = p->url};
    struct kgc_k8s_options ko;
    kgc_k8s_options_default(&ko);
    struct kgc_k8s_client *client = NULL;
    struct kgc_err err = {0};
    if (kgc_k8s_client_new(&cfg, &ko, &client, &err) != 0) {
        fprintf(stderr, "bench_informer: %s\n", err.msg);
        return 1;
    }
    struct kgc_cache *cache = kgc_cache_new();
    long rss_start = rss_kib();
    struct row rows[2];
    if (run_kind(client, cache, KGC_API_HTTPROUTE, &rows[0]) != 0 ||
        run_kind(client, cache, KGC_API_SERVICE, &rows[1]) != 0) {
        fprintf(stderr, "bench_informer: an informer did not sync\n");
        return 1;
    }
    long rss_end = rss_kib();

    printf("list+store through an informer (HTTP pages of 500, parse, typed store, indexes)\n");
    printf("%-12s %8s %10s %10s %14s %16s\n", "kind", "objects", "seconds", "objects/s",
           "block B/obj", "RSS delta B/obj");
    for (int i = 0; i < 2; i++) {
        printf("%-12s %8zu %10.3f %10.0f %14.0f %16.0f\n", rows[i].kind, rows[i].objects,
               rows[i].seconds, (double)rows[i].objects / rows[i].seconds,
               (double)rows[i].bytes / (double)rows[i].objects,
               (double)rows[i].rss_delta_kib * 1024.0 / (double)rows[i].objects);
    }
    printf("RSS: %ld KiB at start, %ld KiB with both stores (%+ld KiB), peak %ld KiB\n", rss_start,
           rss_end, rss_end - rss_start, bench_peak_rss_kib());
    printf("goal: store <= 2048 B per HTTPRoute on average (block + map + indexes = RSS delta)\n");

    size_t jr, js;
    double tr = parse_only(KGC_API_HTTPROUTE, n_objects, &jr);
    double ts = parse_only(KGC_API_SERVICE, n_objects, &js);
    printf("\nparse only (JSON text -> typed object -> free), %d each\n", n_objects);
    printf("%-12s %10s %12s %10s\n", "kind", "JSON B", "objects/s", "MB/s");
    printf("%-12s %10zu %12.0f %10.1f\n", "httproutes", jr, n_objects / tr,
           (double)jr * n_objects / tr / 1e6);
    printf("%-12s %10zu %12.0f %10.1f\n", "services", js, n_objects / ts,
           (double)js * n_objects / ts / 1e6);

    kgc_cache_free(cache);
    kgc_k8s_client_free(client);
    peer_stop(p);
    return 0;
}

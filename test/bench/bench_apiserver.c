/* bench_apiserver — how fast the test API server is, in process (store calls) and over HTTP
 * (libcurl clients on keep-alive connections against the in-process server): writes per second,
 * list latency at 10k objects, and watch fan-out. Prints a table; never asserts. */
#include "../fakes/apiserver/jsonutil.h"
#include "../fakes/apiserver/objstore.h"
#include "../fakes/apiserver/server.h"
#include "kgc/clock.h"
#include "kgc/log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_OBJECTS      10000
#define N_LISTS        20
#define HTTP_THREADS   4
#define MAX_WATCHES    500
#define N_WATCH_EVENTS 1000

#define WIDGETS_CRD                                                                                \
    "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","           \
    "\"metadata\":{\"name\":\"widgets.example.com\"},\"spec\":{\"group\":\"example.com\","         \
    "\"scope\":\"Namespaced\",\"names\":{\"kind\":\"Widget\",\"plural\":\"widgets\"},"             \
    "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,\"subresources\":"            \
    "{\"status\":{}},\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"properties\":{"        \
    "\"spec\":{\"type\":\"object\",\"required\":[\"listeners\"],\"properties\":{\"listeners\":"    \
    "{\"type\":\"array\",\"maxItems\":64,\"items\":{\"type\":\"object\",\"properties\":{"          \
    "\"name\":{\"type\":\"string\",\"pattern\":\"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$\"},"              \
    "\"port\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535},"                             \
    "\"allowedRoutes\":{\"type\":\"object\",\"default\":{\"namespaces\":{\"from\":\"Same\"}},"     \
    "\"properties\":{\"namespaces\":{\"type\":\"object\",\"properties\":{\"from\":{\"type\":"      \
    "\"string\",\"enum\":[\"All\",\"Same\"]}}}}}}}}}},\"status\":{\"type\":\"object\","            \
    "\"default\":{\"conditions\":[{\"type\":\"Accepted\",\"status\":\"Unknown\"}]},"               \
    "\"x-kubernetes-preserve-unknown-fields\":true}}}}}]}}"

static double ms_since(uint64_t t0)
{
    return (double)(kgc_clock_now(NULL) - t0) / 1e6;
}

static void row(const char *what, long n, double ms)
{
    printf("%-52s %8ld %10.1f %10.1f %10.0f\n", what, n, ms, n ? ms * 1000.0 / (double)n : 0.0,
           ms > 0 ? (double)n * 1000.0 / ms : 0.0);
}

static const struct fas_target cm_target = {
    .group = "", .version = "v1", .plural = "configmaps", .ns = "default"};
static const struct fas_target widget_target = {
    .group = "example.com", .version = "v1", .plural = "widgets", .ns = "default"};

static void store_bench(void)
{
    struct fas_store *s = NULL;
    struct fas_store_opts so = {.history = 10000};
    if (fas_store_new(&so, &s))
        return;
    struct fas_write_opts wo = {0};
    struct fas_reply r;
    char body[512];
    uint64_t t0 = kgc_clock_now(NULL);
    for (int i = 0; i < N_OBJECTS; i++) {
        snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cm-%05d\","
                 "\"labels\":{\"app\":\"a%d\"}},\"data\":{\"key\":\"value-%d\"}}",
                 i, i % 10, i);
        fas_reply_init(&r);
        fas_store_create(s, &cm_target, body, strlen(body), &wo, &r);
        fas_reply_free(&r);
    }
    row("store: create ConfigMap", N_OBJECTS, ms_since(t0));

    struct fas_target crd = {
        .group = "apiextensions.k8s.io", .version = "v1", .plural = "customresourcedefinitions"};
    fas_reply_init(&r);
    fas_store_create(s, &crd, WIDGETS_CRD, strlen(WIDGETS_CRD), &wo, &r);
    fas_reply_free(&r);
    t0 = kgc_clock_now(NULL);
    for (int i = 0; i < N_OBJECTS; i++) {
        snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":"
                 "\"w-%05d\"},\"spec\":{\"listeners\":[{\"name\":\"http\",\"port\":80},{\"name\":"
                 "\"https\",\"port\":443,\"allowedRoutes\":{\"namespaces\":{\"from\":\"All\"}}}]}}",
                 i);
        fas_reply_init(&r);
        fas_store_create(s, &widget_target, body, strlen(body), &wo, &r);
        fas_reply_free(&r);
    }
    row("store: create Widget (CRD schema: default+validate)", N_OBJECTS, ms_since(t0));

    t0 = kgc_clock_now(NULL);
    for (int i = 0; i < N_OBJECTS; i++) {
        struct fas_target t = widget_target;
        char name[32];
        snprintf(name, sizeof(name), "w-%05d", i);
        t.name = name;
        t.subresource = "status";
        snprintf(body, sizeof(body),
                 "{\"status\":{\"conditions\":[{\"type\":\"Accepted\",\"status\":"
                 "\"True\",\"observedGeneration\":%d}]}}",
                 i % 3);
        fas_reply_init(&r);
        fas_store_patch(s, &t, "application/merge-patch+json", body, strlen(body), &wo, &r);
        fas_reply_free(&r);
    }
    row("store: merge-patch Widget /status", N_OBJECTS, ms_since(t0));

    struct fas_list_opts lo = {0};
    size_t bytes = 0;
    t0 = kgc_clock_now(NULL);
    for (int i = 0; i < N_LISTS; i++) {
        fas_reply_init(&r);
        fas_store_list(s, &widget_target, &lo, &r);
        bytes = r.len;
        fas_reply_free(&r);
    }
    double ms = ms_since(t0);
    row("store: list 10k Widgets (one call)", N_LISTS, ms);
    printf("    (list body %zu bytes)\n", bytes);
    lo.label_selector = "app=a3";
    t0 = kgc_clock_now(NULL);
    for (int i = 0; i < N_LISTS; i++) {
        fas_reply_init(&r);
        fas_store_list(s, &cm_target, &lo, &r);
        fas_reply_free(&r);
    }
    row("store: list 10k ConfigMaps, labelSelector (1k hit)", N_LISTS, ms_since(t0));
    fas_store_free(s);
}

/* ---- HTTP ----------------------------------------------------------------------------------- */

struct http_job {
    const char *base;
    int first, count;
    atomic_long *errors;
};

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    size_t *total = ud;
    if (total)
        *total += size * n;
    return size * n;
}

static void *http_creator(void *arg)
{
    struct http_job *j = arg;
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    char url[256], body[512];
    snprintf(url, sizeof(url), "%s/api/v1/namespaces/default/configmaps", j->base);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
    for (int i = j->first; i < j->first + j->count; i++) {
        snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"h-%05d\","
                 "\"labels\":{\"app\":\"a%d\"}},\"data\":{\"key\":\"value-%d\"}}",
                 i, i % 10, i);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        long code = 0;
        if (curl_easy_perform(c) != CURLE_OK ||
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 201)
            atomic_fetch_add(j->errors, 1);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static atomic_int patch_round; /* makes each patch run change the objects */

static void *http_patcher(void *arg)
{
    struct http_job *j = arg;
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    char url[256], body[256];
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/merge-patch+json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
    for (int i = j->first; i < j->first + j->count; i++) {
        snprintf(url, sizeof(url), "%s/api/v1/namespaces/default/configmaps/h-%05d", j->base, i);
        snprintf(body, sizeof(body), "{\"data\":{\"key\":\"patched-%d-%d\"}}", i,
                 atomic_load(&patch_round));
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        long code = 0;
        if (curl_easy_perform(c) != CURLE_OK ||
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200)
            atomic_fetch_add(j->errors, 1);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static double run_http(void *(*fn)(void *), const char *base, int total, atomic_long *errors)
{
    pthread_t th[HTTP_THREADS];
    struct http_job jobs[HTTP_THREADS];
    atomic_fetch_add(&patch_round, 1);
    uint64_t t0 = kgc_clock_now(NULL);
    for (int i = 0; i < HTTP_THREADS; i++) {
        jobs[i] = (struct http_job){.base = base,
                                    .first = i * (total / HTTP_THREADS),
                                    .count = total / HTTP_THREADS,
                                    .errors = errors};
        pthread_create(&th[i], NULL, fn, &jobs[i]);
    }
    for (int i = 0; i < HTTP_THREADS; i++)
        pthread_join(th[i], NULL);
    return ms_since(t0);
}

static double http_get_ms(CURL *c, const char *url, size_t *bytes)
{
    size_t total = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &total);
    uint64_t t0 = kgc_clock_now(NULL);
    curl_easy_perform(c);
    double ms = ms_since(t0);
    if (bytes)
        *bytes = total;
    return ms;
}

/* A watch client counting event lines until it has seen `want`. */
struct watcher {
    const char *url;
    long want;
    atomic_long lines;
    atomic_ullong done_ns;
};

static size_t count_lines(char *p, size_t size, size_t n, void *ud)
{
    struct watcher *w = ud;
    for (size_t i = 0; i < size * n; i++)
        if (p[i] == '\n' && atomic_fetch_add(&w->lines, 1) + 1 == w->want)
            atomic_store(&w->done_ns, kgc_clock_now(NULL));
    return size * n;
}

/* One client thread drives every watch through a curl multi handle (as one process with many
 * informers would), so the measurement is the server's fan-out, not client threads. */
struct watch_group {
    struct watcher *ws;
    int n;
    atomic_bool stop;
};

static void *watch_thread(void *arg)
{
    struct watch_group *g = arg;
    CURLM *m = curl_multi_init();
    CURL **easy = calloc((size_t)g->n, sizeof(CURL *));
    if (!m || !easy) {
        curl_multi_cleanup(m);
        free(easy);
        return NULL;
    }
    for (int i = 0; i < g->n; i++) {
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_URL, g->ws[i].url);
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, count_lines);
        curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, &g->ws[i]);
        curl_multi_add_handle(m, easy[i]);
    }
    int running = 1;
    while (running && !atomic_load(&g->stop)) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    for (int i = 0; i < g->n; i++) {
        curl_multi_remove_handle(m, easy[i]);
        curl_easy_cleanup(easy[i]);
    }
    free(easy);
    curl_multi_cleanup(m);
    return NULL;
}

/* n_watches watches on ConfigMaps from "now", then N_WATCH_EVENTS writes seen by each. */
static void fanout(struct fas_server *srv, const char *base, int n_watches, atomic_long *errors)
{
    double ms;
    static struct watcher ws[MAX_WATCHES];
    static struct watch_group group;
    pthread_t th;
    char wurl[256];
    snprintf(wurl, sizeof(wurl),
             "%s/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=%lld"
             "&timeoutSeconds=60",
             base, (long long)fas_store_rv(fas_server_store(srv)));
    for (int i = 0; i < n_watches; i++) {
        ws[i].url = wurl;
        ws[i].want = N_WATCH_EVENTS;
        atomic_init(&ws[i].lines, 0);
        atomic_init(&ws[i].done_ns, 0);
    }
    group.ws = ws;
    group.n = n_watches;
    atomic_init(&group.stop, false);
    pthread_create(&th, NULL, watch_thread, &group);
    struct timespec pause = {.tv_sec = 1, .tv_nsec = 0};
    nanosleep(&pause, NULL); /* let every watch connect */
    uint64_t t0 = kgc_clock_now(NULL);
    ms = run_http(http_patcher, base, N_WATCH_EVENTS, errors);
    uint64_t deadline = kgc_clock_now(NULL) + 30 * KGC_NS_PER_S;
    long complete = 0;
    while (kgc_clock_now(NULL) < deadline) {
        complete = 0;
        for (int i = 0; i < n_watches; i++)
            complete += atomic_load(&ws[i].lines) >= N_WATCH_EVENTS;
        if (complete == n_watches)
            break;
        struct timespec t = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    uint64_t last = t0;
    for (int i = 0; i < n_watches; i++)
        if (atomic_load(&ws[i].done_ns) > last)
            last = atomic_load(&ws[i].done_ns);
    char what[128];
    snprintf(what, sizeof(what), "http: writes while %d watches see each", n_watches);
    row(what, N_WATCH_EVENTS, ms);
    snprintf(what, sizeof(what), "http: %d watches: last one has all events", n_watches);
    printf("%-52s %8ld %10.1f   (%ld of %d watches got all %d events)\n", what,
           (long)n_watches * N_WATCH_EVENTS, (double)(last - t0) / 1e6, complete, n_watches,
           N_WATCH_EVENTS);
    fas_store_close_watches(fas_server_store(srv));
    atomic_store(&group.stop, true);
    pthread_join(th, NULL);
    long min_lines = N_WATCH_EVENTS, max_lines = 0;
    for (int i = 0; i < n_watches; i++) {
        long l = atomic_load(&ws[i].lines);
        min_lines = l < min_lines ? l : min_lines;
        max_lines = l > max_lines ? l : max_lines;
    }
    printf("    (events per watch: min %ld, max %ld)\n", min_lines, max_lines);
}

static void http_bench(void)
{
    struct fas_server *srv = NULL;
    struct fas_server_opts so = {.host = "127.0.0.1", .port = 0, .history = 20000};
    struct kgc_err err = {0};
    if (fas_server_start(&so, &srv, &err)) {
        printf("cannot start the server: %s\n", err.msg);
        return;
    }
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", fas_server_port(srv));
    atomic_long errors;
    atomic_init(&errors, 0);
    double ms = run_http(http_creator, base, N_OBJECTS, &errors);
    row("http: create ConfigMap (4 keep-alive clients)", N_OBJECTS, ms);
    ms = run_http(http_patcher, base, N_OBJECTS, &errors);
    row("http: merge-patch ConfigMap (4 clients)", N_OBJECTS, ms);

    CURL *c = curl_easy_init();
    char url[256];
    size_t bytes = 0;
    double sum = 0;
    snprintf(url, sizeof(url), "%s/api/v1/namespaces/default/configmaps", base);
    for (int i = 0; i < N_LISTS; i++)
        sum += http_get_ms(c, url, &bytes);
    row("http: list 10k ConfigMaps (one request)", N_LISTS, sum);
    printf("    (list body %zu bytes)\n", bytes);
    sum = 0;
    snprintf(url, sizeof(url), "%s/api/v1/namespaces/default/configmaps?limit=500", base);
    for (int i = 0; i < N_LISTS; i++)
        sum += http_get_ms(c, url, NULL);
    row("http: list first page of 500", N_LISTS, sum);
    sum = 0;
    snprintf(url, sizeof(url), "%s/api/v1/namespaces/default/configmaps/h-04242", base);
    for (int i = 0; i < 1000; i++)
        sum += http_get_ms(c, url, NULL);
    row("http: get one ConfigMap", 1000, sum);
    curl_easy_cleanup(c);

    fanout(srv, base, 20, &errors);
    fanout(srv, base, 200, &errors);
    fanout(srv, base, MAX_WATCHES, &errors);
    printf("http errors: %ld\n", atomic_load(&errors));
    fas_server_stop(srv);
}

int main(void)
{
    kgc_log_setup(KGC_LOG_WARN, KGC_LOG_TEXT, 2);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    printf("%-52s %8s %10s %10s %10s\n", "operation", "n", "total ms", "us/op", "ops/s");
    store_bench();
    http_bench();
    curl_global_cleanup();
    return 0;
}

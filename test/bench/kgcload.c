/* kgcload — the client side of the scenario benchmarks (the test/bench scenario scripts): creates
 * Gateway API objects in the test API server quickly (keep-alive libcurl threads), waits for Kong
 * or for every object's final status, drives route churn and reads the API server's audit log. It
 * prints figures ("key=value" lines the scripts read) and never asserts anything.
 *
 *   kgcload create  --api URL [--gateways G] [--routes R] [--namespaces N] [--class NAME]
 *                   [--controller NAME] [--threads T]
 *   kgcload wait    --api URL [--gateways G] [--routes R] [--attached] [--timeout-s S]
 *                   [--audit FILE --quiet-ms Q]
 *   kgcload wait-kong --url KONG [--timeout-s S]
 *   kgcload recovery-audit --audit FILE --outage-ms T0 --ready-ms TR --gateways G
 *   kgcload churn   --api URL --audit FILE [--routes R] [--gateways G] [--namespaces N]
 *                   [--rate N] [--seconds S] [--pid PID] [--threads T]
 *   kgcload latency --api URL --kongs FILE [--routes R] [--gateways G] [--namespaces N]
 *                   [--changes C] [--interval-ms I] [--timeout-s S]
 *       C single-route path changes (PATCH), I ms apart; for each, the time from the PATCH to a
 *       new configuration_hash on every Kong admin URL listed in FILE (one a line), polled
 *       round-robin on keep-alive connections, 5 ms between rounds (the resolution): "change=k
 *       all_ms=.. first_ms=..", then
 *       "changes= p50_ms= p99_ms= max_ms= missed=" (missed: changes some Kong never showed).
 *
 * Object layout (shared by every sub-command): namespaces bench-0..N-1; Gateway gw-i in
 * bench-(i % N) with one HTTP listener on 8000; HTTPRoute rt-j, Service svc-j and EndpointSlice
 * svc-j-1 in the namespace of Gateway gw-(j % G), the route attached to that Gateway.
 * Times printed as *_ms are wall-clock epoch milliseconds (the audit log's clock). */
#include "kgc/jsonscan.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GROUP_PATH  "/apis/gateway.networking.k8s.io/v1"
#define MAX_THREADS 16

/* ---- options ----------------------------------------------------------------------------------
 */

struct opts {
    const char *api, *url, *audit, *class_name, *controller, *kongs;
    long gateways, routes, namespaces, threads, rate, seconds, pid, quiet_ms, changes, interval_ms;
    double timeout_s, outage_ms, ready_ms;
    bool attached;
};

static double now_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double now_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(double ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)(ms / 1e3),
                          .tv_nsec = (long)((ms - (double)(long)(ms / 1e3) * 1e3) * 1e6)};
    nanosleep(&ts, NULL);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.gateways = 1,
                       .routes = 0,
                       .namespaces = 1,
                       .threads = 4,
                       .rate = 1000,
                       .seconds = 30,
                       .timeout_s = 120,
                       .quiet_ms = 0,
                       .changes = 10,
                       .interval_ms = 1500,
                       .class_name = "kgc",
                       .controller = "konghq.com/kgc-gateway-controller"};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--attached") == 0) {
            o->attached = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "kgcload: %s needs a value\n", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--api") == 0)
            o->api = v;
        else if (strcmp(a, "--url") == 0)
            o->url = v;
        else if (strcmp(a, "--kongs") == 0)
            o->kongs = v;
        else if (strcmp(a, "--changes") == 0)
            o->changes = atol(v);
        else if (strcmp(a, "--interval-ms") == 0)
            o->interval_ms = atol(v);
        else if (strcmp(a, "--audit") == 0)
            o->audit = v;
        else if (strcmp(a, "--class") == 0)
            o->class_name = v;
        else if (strcmp(a, "--controller") == 0)
            o->controller = v;
        else if (strcmp(a, "--gateways") == 0)
            o->gateways = atol(v);
        else if (strcmp(a, "--routes") == 0)
            o->routes = atol(v);
        else if (strcmp(a, "--namespaces") == 0)
            o->namespaces = atol(v);
        else if (strcmp(a, "--threads") == 0)
            o->threads = atol(v);
        else if (strcmp(a, "--rate") == 0)
            o->rate = atol(v);
        else if (strcmp(a, "--seconds") == 0)
            o->seconds = atol(v);
        else if (strcmp(a, "--pid") == 0)
            o->pid = atol(v);
        else if (strcmp(a, "--quiet-ms") == 0)
            o->quiet_ms = atol(v);
        else if (strcmp(a, "--timeout-s") == 0)
            o->timeout_s = atof(v);
        else if (strcmp(a, "--outage-ms") == 0)
            o->outage_ms = atof(v);
        else if (strcmp(a, "--ready-ms") == 0)
            o->ready_ms = atof(v);
        else {
            fprintf(stderr, "kgcload: unknown option %s\n", a);
            return -1;
        }
    }
    if (o->gateways < 1)
        o->gateways = 1;
    if (o->namespaces < 1)
        o->namespaces = 1;
    if (o->threads < 1)
        o->threads = 1;
    if (o->threads > MAX_THREADS)
        o->threads = MAX_THREADS;
    return 0;
}

/* ---- HTTP -------------------------------------------------------------------------------------
 */

struct buf {
    char *data;
    size_t len, cap;
};

static size_t buf_write(char *p, size_t size, size_t n, void *ud)
{
    struct buf *b = ud;
    size_t add = size * n;
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + add + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

struct client {
    CURL *c;
    struct curl_slist *json, *merge;
    struct buf body;
};

static int client_init(struct client *cl)
{
    memset(cl, 0, sizeof(*cl));
    cl->c = curl_easy_init();
    if (!cl->c)
        return -1;
    cl->json = curl_slist_append(NULL, "Content-Type: application/json");
    cl->merge = curl_slist_append(NULL, "Content-Type: application/merge-patch+json");
    curl_easy_setopt(cl->c, CURLOPT_WRITEFUNCTION, buf_write);
    curl_easy_setopt(cl->c, CURLOPT_WRITEDATA, &cl->body);
    curl_easy_setopt(cl->c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(cl->c, CURLOPT_NOSIGNAL, 1L);
    return 0;
}

static void client_free(struct client *cl)
{
    curl_slist_free_all(cl->json);
    curl_slist_free_all(cl->merge);
    curl_easy_cleanup(cl->c);
    free(cl->body.data);
}

/* One request; returns the HTTP code (0 on a transport error). The answer is in cl->body. */
static long request(struct client *cl, const char *method, const char *url, const char *body,
                    bool merge)
{
    cl->body.len = 0;
    if (cl->body.data)
        cl->body.data[0] = '\0';
    curl_easy_setopt(cl->c, CURLOPT_URL, url);
    curl_easy_setopt(cl->c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(cl->c, CURLOPT_HTTPHEADER, merge ? cl->merge : cl->json);
        curl_easy_setopt(cl->c, CURLOPT_POSTFIELDS, body);
    } else {
        curl_easy_setopt(cl->c, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(cl->c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(cl->c, CURLOPT_CUSTOMREQUEST, NULL);
    }
    long code = 0;
    if (curl_easy_perform(cl->c) != CURLE_OK)
        return 0;
    curl_easy_getinfo(cl->c, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

/* ---- the object layout ------------------------------------------------------------------------
 */

static long ns_of_gateway(const struct opts *o, long i)
{
    return i % o->namespaces;
}

static long ns_of_route(const struct opts *o, long j)
{
    return ns_of_gateway(o, j % o->gateways);
}

/* Object k of a creation phase: fills url and body (phase 0: namespaces and the class; phase 1:
 * Gateways, Services, EndpointSlices, routes). Returns false past the end. */
static bool object_at(const struct opts *o, int phase, long k, char *url, size_t us, char *body,
                      size_t bs)
{
    if (phase == 0) {
        if (k < o->namespaces) {
            snprintf(url, us, "%s/api/v1/namespaces", o->api);
            snprintf(body, bs,
                     "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                     "\"bench-%ld\"}}",
                     k);
            return true;
        }
        if (k == o->namespaces) {
            snprintf(url, us, "%s" GROUP_PATH "/gatewayclasses", o->api);
            snprintf(body, bs,
                     "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"GatewayClass\","
                     "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"controllerName\":\"%s\"}}",
                     o->class_name, o->controller);
            return true;
        }
        return false;
    }
    if (k < o->gateways) {
        snprintf(url, us, "%s" GROUP_PATH "/namespaces/bench-%ld/gateways", o->api,
                 ns_of_gateway(o, k));
        snprintf(body, bs,
                 "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\","
                 "\"metadata\":{\"name\":\"gw-%ld\"},\"spec\":{\"gatewayClassName\":\"%s\","
                 "\"listeners\":[{\"name\":\"http\",\"port\":8000,\"protocol\":\"HTTP\"}]}}",
                 k, o->class_name);
        return true;
    }
    k -= o->gateways;
    if (k >= 3 * o->routes)
        return false;
    long j = k / 3, ns = ns_of_route(o, j);
    switch (k % 3) {
    case 0:
        snprintf(url, us, "%s/api/v1/namespaces/bench-%ld/services", o->api, ns);
        snprintf(body, bs,
                 "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"svc-%ld\"},"
                 "\"spec\":{\"selector\":{\"app\":\"svc-%ld\"},\"ports\":[{\"name\":\"http\","
                 "\"port\":80,\"targetPort\":8080,\"protocol\":\"TCP\"}]}}",
                 j, j);
        break;
    case 1:
        snprintf(url, us, "%s/apis/discovery.k8s.io/v1/namespaces/bench-%ld/endpointslices", o->api,
                 ns);
        snprintf(body, bs,
                 "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":"
                 "{\"name\":\"svc-%ld-1\",\"labels\":{\"kubernetes.io/service-name\":\"svc-%ld\"}},"
                 "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":8080,"
                 "\"protocol\":\"TCP\"}],\"endpoints\":[{\"addresses\":[\"127.0.0.%ld\"],"
                 "\"conditions\":{\"ready\":true}}]}",
                 j, j, 1 + j % 250);
        break;
    default:
        snprintf(url, us, "%s" GROUP_PATH "/namespaces/bench-%ld/httproutes", o->api, ns);
        snprintf(body, bs,
                 "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
                 "\"metadata\":{\"name\":\"rt-%ld\"},\"spec\":{\"parentRefs\":[{\"name\":"
                 "\"gw-%ld\"}],\"hostnames\":[\"r%ld.example.com\"],\"rules\":[{\"matches\":[{"
                 "\"path\":{\"type\":\"PathPrefix\",\"value\":\"/r%ld\"}}],\"backendRefs\":[{"
                 "\"name\":\"svc-%ld\",\"port\":80}]}]}}",
                 j, j % o->gateways, j, j, j);
        break;
    }
    return true;
}

/* ---- create -----------------------------------------------------------------------------------
 */

struct create_job {
    const struct opts *o;
    int phase;
    atomic_long *next, *done, *errors;
};

static void *create_thread(void *arg)
{
    struct create_job *j = arg;
    struct client cl;
    if (client_init(&cl))
        return NULL;
    char url[512], body[2048];
    for (;;) {
        long k = atomic_fetch_add(j->next, 1);
        if (!object_at(j->o, j->phase, k, url, sizeof(url), body, sizeof(body)))
            break;
        long code = request(&cl, "POST", url, body, false);
        if (code == 201 || code == 200 || code == 409)
            atomic_fetch_add(j->done, 1);
        else if (atomic_fetch_add(j->errors, 1) < 5)
            fprintf(stderr, "kgcload: POST %s: %ld %.300s\n", url, code,
                    cl.body.data ? cl.body.data : "");
    }
    client_free(&cl);
    return NULL;
}

static int cmd_create(const struct opts *o)
{
    atomic_long next, done, errors;
    atomic_init(&done, 0);
    atomic_init(&errors, 0);
    double t0 = now_mono_s();
    for (int phase = 0; phase < 2; phase++) {
        atomic_init(&next, 0);
        pthread_t th[MAX_THREADS];
        struct create_job job = {o, phase, &next, &done, &errors};
        long n = phase == 0 ? 1 : o->threads;
        for (long i = 0; i < n; i++)
            pthread_create(&th[i], NULL, create_thread, &job);
        for (long i = 0; i < n; i++)
            pthread_join(th[i], NULL);
    }
    double s = now_mono_s() - t0;
    printf("created=%ld errors=%ld seconds=%.2f per_s=%.0f\n", atomic_load(&done),
           atomic_load(&errors), s, s > 0 ? (double)atomic_load(&done) / s : 0);
    return atomic_load(&errors) ? 1 : 0;
}

/* ---- status checks ----------------------------------------------------------------------------
 */

static json_object *jget(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v = jget(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* The condition of that type in conds, or NULL. */
static json_object *cond(json_object *conds, const char *type)
{
    size_t n =
        conds && json_object_is_type(conds, json_type_array) ? json_object_array_length(conds) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(conds, i);
        const char *t = jstr(c, "type");
        if (t && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

/* The condition is there with that status (and observedGeneration == gen when gen > 0). */
static bool cond_is(json_object *conds, const char *type, const char *status, int64_t gen)
{
    json_object *c = cond(conds, type);
    const char *s = jstr(c, "status");
    if (!s || strcmp(s, status) != 0)
        return false;
    return gen <= 0 || json_object_get_int64(jget(c, "observedGeneration")) == gen;
}

/* A Gateway status is correct: Accepted and Programmed True, every listener Accepted,
 * Programmed and ResolvedRefs True (and attachedRoutes == want when want >= 0). */
static bool gateway_status_ok(json_object *status, int64_t gen, long want_attached)
{
    json_object *conds = jget(status, "conditions");
    if (!cond_is(conds, "Accepted", "True", gen) || !cond_is(conds, "Programmed", "True", gen))
        return false;
    json_object *ls = jget(status, "listeners");
    size_t n = ls && json_object_is_type(ls, json_type_array) ? json_object_array_length(ls) : 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        json_object *l = json_object_array_get_idx(ls, i);
        json_object *lc = jget(l, "conditions");
        if (!cond_is(lc, "Accepted", "True", gen) || !cond_is(lc, "Programmed", "True", gen) ||
            !cond_is(lc, "ResolvedRefs", "True", gen))
            return false;
        if (want_attached >= 0 && json_object_get_int64(jget(l, "attachedRoutes")) != want_attached)
            return false;
    }
    return true;
}

/* A Gateway status that is wrong for a Gateway whose listeners are valid. */
static void gateway_status_wrong(json_object *status, bool *unsupported, bool *prog_false)
{
    *unsupported = *prog_false = false;
    json_object *pc = cond(jget(status, "conditions"), "Programmed");
    const char *ps = jstr(pc, "status");
    *prog_false = ps && strcmp(ps, "False") == 0;
    json_object *ls = jget(status, "listeners");
    size_t n = ls && json_object_is_type(ls, json_type_array) ? json_object_array_length(ls) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *ac = cond(jget(json_object_array_get_idx(ls, i), "conditions"), "Accepted");
        const char *s = jstr(ac, "status"), *r = jstr(ac, "reason");
        if (s && strcmp(s, "False") == 0 && r && strcmp(r, "UnsupportedProtocol") == 0)
            *unsupported = true;
    }
}

/* Every parent entry Accepted and ResolvedRefs True at generation gen. */
static bool route_status_ok(json_object *status, int64_t gen)
{
    json_object *ps = jget(status, "parents");
    size_t n = ps && json_object_is_type(ps, json_type_array) ? json_object_array_length(ps) : 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        json_object *c = jget(json_object_array_get_idx(ps, i), "conditions");
        if (!cond_is(c, "Accepted", "True", gen) || !cond_is(c, "ResolvedRefs", "True", gen))
            return false;
    }
    return true;
}

/* The lowest observedGeneration of the parents' Accepted conditions (-1: none). */
static int64_t route_observed_generation(json_object *status)
{
    json_object *ps = jget(status, "parents");
    size_t n = ps && json_object_is_type(ps, json_type_array) ? json_object_array_length(ps) : 0;
    int64_t low = -1;
    for (size_t i = 0; i < n; i++) {
        json_object *c = cond(jget(json_object_array_get_idx(ps, i), "conditions"), "Accepted");
        if (!c)
            return -1;
        int64_t g = json_object_get_int64(jget(c, "observedGeneration"));
        if (low < 0 || g < low)
            low = g;
    }
    return low;
}

/* Whether list item or watch object it is correct (a Gateway: with its route count when
 * --attached). */
static bool item_ok(const struct opts *o, json_object *it, bool gateways)
{
    int64_t gen = json_object_get_int64(jget(jget(it, "metadata"), "generation"));
    json_object *st = jget(it, "status");
    if (!gateways)
        return route_status_ok(st, gen);
    long want = -1;
    if (o->attached) {
        const char *name = jstr(jget(it, "metadata"), "name");
        long gi = name && strncmp(name, "gw-", 3) == 0 ? atol(name + 3) : 0;
        want = o->routes / o->gateways + (gi < o->routes % o->gateways ? 1 : 0);
    }
    return gateway_status_ok(st, gen, want);
}

static long file_size(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The wait follows the Gateways and the HTTPRoutes with one list and then a watch each (a list
 * again if the watch ends), the way a controller would: the moment every object is correct is
 * the arrival of the event that made it so, and the bench costs the API server one list per kind
 * plus the events, not a list of every object every 20 ms (which, at 1k Gateways and 10k routes,
 * took ~1.7 s of CPU from kgcload alone, and as much from the API server, on the 2 cores kgc
 * was measured on). Objects are told apart by the number in their names (gw-i, rt-j). */
struct wait_state {
    const struct opts *o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool *ok[2]; /* [0] Gateways, [1] routes */
    long n[2], n_ok[2], lists, events;
    double correct_ms;
    atomic_bool stop;
};

struct watcher {
    struct wait_state *w;
    int k; /* 0 Gateways, 1 routes */
    struct buf line;
    char rv[64];
};

/* Records object it's state; done when everything is correct. Called with w->mu held. */
static void wait_record(struct wait_state *w, int k, json_object *it, bool deleted)
{
    const char *name = jstr(jget(it, "metadata"), "name");
    const char *prefix = k == 0 ? "gw-" : "rt-";
    if (!name || strncmp(name, prefix, 3) != 0)
        return;
    long i = atol(name + 3);
    if (i < 0 || i >= w->n[k])
        return;
    bool ok = !deleted && item_ok(w->o, it, k == 0);
    if (ok != w->ok[k][i])
        w->n_ok[k] += ok ? 1 : -1;
    w->ok[k][i] = ok;
    if (w->correct_ms == 0 && w->n_ok[0] == w->n[0] && w->n_ok[1] == w->n[1]) {
        w->correct_ms = now_wall_ms();
        pthread_cond_broadcast(&w->cv);
    }
}

/* json-c's tree of text[0, len), NULL when it is not one JSON value. */
static json_object *parse_span(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return NULL;
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

/* The members of the object text[0, len) the wait reads (metadata, status), built alone: the
 * rest (spec) is skipped unbuilt. A watch brings 11,000 objects at start-up, and building each
 * whole was ~0.5 s of kgcload's CPU on the 2 cores it shares with kgc. NULL: not an object. */
static json_object *slim_object(const char *text, size_t len)
{
    struct kgc_jsonscan_iter it;
    if (kgc_jsonscan_iter_start(&it, text, len, '{', "object", NULL) != 0)
        return NULL;
    json_object *o = json_object_new_object();
    const char *key, *val;
    size_t klen, vlen;
    while (o && kgc_jsonscan_iter_next(&it, &key, &klen, &val, &vlen, NULL) == 1) {
        const char *k = kgc_jsonscan_key_is(key, klen, "metadata") ? "metadata"
                        : kgc_jsonscan_key_is(key, klen, "status") ? "status"
                        : kgc_jsonscan_key_is(key, klen, "type")   ? "type"
                                                                   : NULL;
        if (!k)
            continue;
        json_object *v = parse_span(val, vlen);
        if (v)
            json_object_object_add(o, k, v);
    }
    return o;
}

static void watch_line(struct watcher *wa, const char *text)
{
    /* {"type":"...","object":{...}}: the object slimmed */
    json_object *ev = json_object_new_object();
    struct kgc_jsonscan_iter it;
    const char *key, *val;
    size_t klen, vlen;
    if (ev && kgc_jsonscan_iter_start(&it, text, strlen(text), '{', "event", NULL) == 0) {
        while (kgc_jsonscan_iter_next(&it, &key, &klen, &val, &vlen, NULL) == 1) {
            json_object *v = NULL;
            if (kgc_jsonscan_key_is(key, klen, "type"))
                v = parse_span(val, vlen);
            else if (kgc_jsonscan_key_is(key, klen, "object"))
                v = slim_object(val, vlen);
            if (v)
                json_object_object_add(
                    ev, kgc_jsonscan_key_is(key, klen, "type") ? "type" : "object", v);
        }
    }
    const char *type = jstr(ev, "type");
    json_object *obj = jget(ev, "object");
    const char *rv = jstr(jget(obj, "metadata"), "resourceVersion");
    if (type && strcmp(type, "ERROR") == 0) {
        wa->rv[0] = '\0'; /* expired: list again */
    } else if (type && obj) {
        if (rv)
            snprintf(wa->rv, sizeof(wa->rv), "%s", rv);
        if (strcmp(type, "BOOKMARK") != 0) {
            pthread_mutex_lock(&wa->w->mu);
            wa->w->events++;
            wait_record(wa->w, wa->k, obj, strcmp(type, "DELETED") == 0);
            pthread_mutex_unlock(&wa->w->mu);
        }
    }
    json_object_put(ev);
}

static size_t watch_write(char *p, size_t size, size_t n, void *ud)
{
    struct watcher *wa = ud;
    size_t len = size * n;
    if (atomic_load(&wa->w->stop))
        return 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(p + i, '\n', len - i);
        size_t take = nl ? (size_t)(nl - (p + i)) : len - i;
        if (take && buf_write(p + i, 1, take, &wa->line) != take)
            return 0;
        i += take;
        if (!nl)
            break;
        i++; /* the newline */
        if (wa->line.len)
            watch_line(wa, wa->line.data);
        wa->line.len = 0;
    }
    return len;
}

static int watch_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    struct watcher *wa = ud;
    return atomic_load(&wa->w->stop) ? 1 : 0;
}

static void *watcher_main(void *arg)
{
    struct watcher *wa = arg;
    struct wait_state *w = wa->w;
    struct client cl;
    if (client_init(&cl))
        return NULL;
    const char *plural = wa->k == 0 ? "gateways" : "httproutes";
    char url[640];
    while (!atomic_load(&w->stop)) {
        if (!wa->rv[0]) {
            snprintf(url, sizeof(url), "%s" GROUP_PATH "/%s", w->o->api, plural);
            long code = request(&cl, "GET", url, NULL, false);
            /* the list's metadata and its items, each slimmed (slim_object) */
            json_object *list = NULL, *items = json_object_new_array();
            struct kgc_jsonscan_iter it, ii;
            const char *key, *val, *iv;
            size_t klen, vlen, ilen;
            if (items && code == 200 && cl.body.data &&
                kgc_jsonscan_iter_start(&it, cl.body.data, cl.body.len, '{', "list", NULL) == 0) {
                while (kgc_jsonscan_iter_next(&it, &key, &klen, &val, &vlen, NULL) == 1) {
                    if (kgc_jsonscan_key_is(key, klen, "metadata")) {
                        json_object_put(list);
                        list = json_object_new_object();
                        if (list)
                            json_object_object_add(list, "metadata", parse_span(val, vlen));
                    } else if (kgc_jsonscan_key_is(key, klen, "items") &&
                               kgc_jsonscan_iter_start(&ii, val, vlen, '[', "items", NULL) == 0) {
                        while (kgc_jsonscan_iter_next(&ii, NULL, NULL, &iv, &ilen, NULL) == 1) {
                            json_object *one = slim_object(iv, ilen);
                            if (one)
                                json_object_array_add(items, one);
                        }
                    }
                }
            }
            const char *rv = jstr(jget(list, "metadata"), "resourceVersion");
            if (!list || !rv) {
                json_object_put(list);
                json_object_put(items);
                sleep_ms(20);
                continue;
            }
            size_t n = json_object_array_length(items);
            pthread_mutex_lock(&w->mu);
            w->lists++;
            for (long i = 0; i < w->n[wa->k]; i++) /* what the list lacks is gone */
                if (w->ok[wa->k][i]) {
                    w->ok[wa->k][i] = false;
                    w->n_ok[wa->k]--;
                }
            for (size_t i = 0; i < n; i++)
                wait_record(w, wa->k, json_object_array_get_idx(items, i), false);
            pthread_mutex_unlock(&w->mu);
            json_object_put(items);
            snprintf(wa->rv, sizeof(wa->rv), "%s", rv);
            json_object_put(list);
        }
        snprintf(url, sizeof(url), "%s" GROUP_PATH "/%s?watch=1&resourceVersion=%s", w->o->api,
                 plural, wa->rv);
        CURL *c = curl_easy_init();
        if (!c)
            break;
        wa->line.len = 0;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, wa);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, watch_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, wa);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        CURLcode rc = curl_easy_perform(c);
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(c);
        if (rc != CURLE_OK && !atomic_load(&w->stop)) {
            wa->rv[0] = '\0';
            sleep_ms(20);
        } else if (code != 200) {
            wa->rv[0] = '\0';
        }
    }
    client_free(&cl);
    return NULL;
}

/* Waits until every Gateway and route is correct (then, with --audit/--quiet-ms, until the audit
 * log has been quiet that long). */
static int cmd_wait(const struct opts *o)
{
    struct wait_state w = {.o = o, .n = {o->gateways, o->routes}};
    pthread_mutex_init(&w.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w.cv, &ca);
    pthread_condattr_destroy(&ca);
    w.ok[0] = calloc((size_t)o->gateways, sizeof(bool));
    w.ok[1] = calloc((size_t)(o->routes > 0 ? o->routes : 1), sizeof(bool));
    if (!w.ok[0] || !w.ok[1])
        return 2;
    struct watcher wa[2] = {{.w = &w, .k = 0}, {.w = &w, .k = 1}};
    pthread_t th[2];
    int n_th = o->routes > 0 ? 2 : 1;
    double started = now_mono_s(), deadline = started + o->timeout_s;
    for (int k = 0; k < n_th; k++)
        pthread_create(&th[k], NULL, watcher_main, &wa[k]);
    pthread_mutex_lock(&w.mu);
    while (w.correct_ms == 0 && now_mono_s() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&w.cv, &w.mu, &ts);
    }
    double correct_ms = w.correct_ms;
    long g_ok = w.n_ok[0], r_ok = w.n_ok[1], lists = w.lists, events = w.events;
    pthread_mutex_unlock(&w.mu);
    atomic_store(&w.stop, true);
    for (int k = 0; k < n_th; k++)
        pthread_join(th[k], NULL);
    printf("correct=%s correct_ms=%.0f gateways_ok=%ld/%ld routes_ok=%ld/%ld lists=%ld "
           "events=%ld\n",
           correct_ms > 0 ? "yes" : "no", correct_ms, g_ok, o->gateways, r_ok, o->routes, lists,
           events);
    if (correct_ms > 0 && o->audit && o->quiet_ms > 0) {
        long last = file_size(o->audit);
        double since = now_mono_s();
        while (now_mono_s() < deadline && (now_mono_s() - since) * 1e3 < (double)o->quiet_ms) {
            sleep_ms(50);
            long sz = file_size(o->audit);
            if (sz != last) {
                last = sz;
                since = now_mono_s();
            }
        }
        printf("quiet=%s\n", (now_mono_s() - since) * 1e3 >= (double)o->quiet_ms ? "yes" : "no");
    }
    for (int k = 0; k < 2; k++) {
        free(wa[k].line.data);
        free(w.ok[k]);
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return correct_ms > 0 ? 0 : 1;
}

/* Polls Kong's /status: prints when it answers (ready) and when its configuration_hash stops
 * being 32 zeros (kgc pushed the configuration again). */
static int cmd_wait_kong(const struct opts *o)
{
    struct client cl;
    if (client_init(&cl))
        return 2;
    char url[512];
    snprintf(url, sizeof(url), "%s/status", o->url);
    curl_easy_setopt(cl.c, CURLOPT_TIMEOUT_MS, 200L);
    double deadline = now_mono_s() + o->timeout_s;
    int rc = 1;
    bool ready = false;
    while (now_mono_s() < deadline) {
        if (request(&cl, "GET", url, NULL, false) == 200) {
            if (!ready) {
                printf("kong_ready_ms=%.3f\n", now_wall_ms());
                fflush(stdout);
                ready = true;
            }
            json_object *st = json_tokener_parse(cl.body.data ? cl.body.data : "");
            const char *h = jstr(st, "configuration_hash");
            bool configured = h && strspn(h, "0") != strlen(h);
            json_object_put(st);
            if (configured) {
                printf("kong_configured_ms=%.3f\n", now_wall_ms());
                rc = 0;
                break;
            }
        }
        sleep_ms(2);
    }
    client_free(&cl);
    return rc;
}

/* ---- the audit log ----------------------------------------------------------------------------
 */

/* "2026-11-27T14:10:17.123456Z" → epoch ms. */
static double rfc3339_ms(const char *s)
{
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return 0;
    double frac = 0;
    if (*p == '.')
        frac = strtod(p, NULL);
    return (double)timegm(&tm) * 1e3 + frac * 1e3;
}

struct audit_line {
    double t;
    const char *verb, *path, *sub;
    long code;
    json_object *status, *root;
};

/* Calls fn for every line of the audit log. */
/* Calls fn for every complete line of file from byte *offset on, and moves *offset past the
 * last complete line (a line still being written is left for the next call). */
static int audit_follow(const char *file, long *offset,
                        void (*fn)(const struct audit_line *, void *), void *ctx)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "kgcload: cannot open %s\n", file);
        return -1;
    }
    if (*offset > 0 && fseek(f, *offset, SEEK_SET) != 0) {
        fclose(f);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n')
            break; /* partial: read again next time */
        *offset += len;
        json_object *root = json_tokener_parse(line);
        if (!root)
            continue;
        struct audit_line al = {.t = rfc3339_ms(jstr(root, "time") ? jstr(root, "time") : ""),
                                .verb = jstr(root, "verb"),
                                .path = jstr(root, "path"),
                                .sub = jstr(root, "subresource"),
                                .code = json_object_get_int(jget(root, "code")),
                                .status = jget(root, "status"),
                                .root = root};
        if (al.verb && al.path)
            fn(&al, ctx);
        json_object_put(root);
    }
    free(line);
    fclose(f);
    return 0;
}

static int audit_each(const char *file, void (*fn)(const struct audit_line *, void *), void *ctx)
{
    long offset = 0;
    return audit_follow(file, &offset, fn, ctx);
}

/* "/apis/.../namespaces/bench-3/gateways/gw-12/status" → 12 for kind "gateways"; -1 if not. */
static long object_index(const char *path, const char *kind, const char *prefix)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "/%s/%s", kind, prefix);
    const char *p = strstr(path, pat);
    return p ? atol(p + strlen(pat)) : -1;
}

struct gw_track {
    bool ok;             /* the state the last write left (true before any: checked correct) */
    double recovered_at; /* time of the last wrong -> correct write at or after ready */
};

struct recovery {
    const struct opts *o;
    struct gw_track *gw;
    long outage_writes, outage_unsupported, outage_prog_false;
    long after_writes, after_unsupported, after_prog_false;
};

static void recovery_line(const struct audit_line *al, void *ctx)
{
    struct recovery *r = ctx;
    if (!al->sub || strcmp(al->sub, "status") != 0 || al->code != 200)
        return;
    long i = object_index(al->path, "gateways", "gw-");
    if (i < 0 || i >= r->o->gateways)
        return;
    struct gw_track *g = &r->gw[i];
    bool ok = gateway_status_ok(al->status, 0, -1), unsup, pfalse;
    gateway_status_wrong(al->status, &unsup, &pfalse);
    if (al->t >= r->o->outage_ms && al->t < r->o->ready_ms) {
        r->outage_writes++;
        r->outage_unsupported += unsup;
        r->outage_prog_false += pfalse;
    } else if (al->t >= r->o->ready_ms) {
        r->after_writes++;
        r->after_unsupported += unsup;
        r->after_prog_false += pfalse;
        if (ok && !g->ok)
            g->recovered_at = al->t;
    }
    g->ok = ok;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, long n, double p)
{
    if (n <= 0)
        return 0;
    long k = (long)(p * (double)n + 0.999999) - 1;
    if (k < 0)
        k = 0;
    if (k >= n)
        k = n - 1;
    return v[k];
}

static int cmd_recovery_audit(const struct opts *o)
{
    struct recovery r = {.o = o, .gw = calloc((size_t)o->gateways, sizeof(struct gw_track))};
    double *rec = calloc((size_t)o->gateways, sizeof(double));
    if (!r.gw || !rec || !o->audit)
        return 2;
    for (long i = 0; i < o->gateways; i++)
        r.gw[i].ok = true;
    if (audit_each(o->audit, recovery_line, &r)) {
        free(r.gw);
        free(rec);
        return 2;
    }
    long n = 0, unrecovered = 0, rewritten = 0;
    for (long i = 0; i < o->gateways; i++) {
        struct gw_track *g = &r.gw[i];
        if (!g->ok) {
            unrecovered++;
            continue;
        }
        double ms = g->recovered_at > 0 ? g->recovered_at - o->ready_ms : 0;
        rewritten += g->recovered_at > 0;
        rec[n++] = ms < 0 ? 0 : ms;
    }
    qsort(rec, (size_t)n, sizeof(double), cmp_double);
    printf("recovered=%ld unrecovered=%ld rewritten=%ld p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", n,
           unrecovered, rewritten, pct(rec, n, 0.50), pct(rec, n, 0.99), pct(rec, n, 1.0));
    printf("outage_writes=%ld outage_unsupported=%ld outage_programmed_false=%ld\n",
           r.outage_writes, r.outage_unsupported, r.outage_prog_false);
    printf("after_writes=%ld after_unsupported=%ld after_programmed_false=%ld\n", r.after_writes,
           r.after_unsupported, r.after_prog_false);
    free(r.gw);
    free(rec);
    return 0;
}

/* ---- churn ------------------------------------------------------------------------------------
 */

struct churn_job {
    const struct opts *o;
    long first, step, total;
    double t0;
    atomic_long *sent, *errors;
};

static void *churn_thread(void *arg)
{
    struct churn_job *j = arg;
    const struct opts *o = j->o;
    struct client cl;
    if (client_init(&cl))
        return NULL;
    char url[512], body[512];
    for (long k = j->first; k < j->total; k += j->step) {
        double due = j->t0 + (double)k / (double)o->rate;
        double wait = due - now_mono_s();
        if (wait > 0)
            sleep_ms(wait * 1e3);
        long r = k % o->routes, round = k / o->routes + 1;
        snprintf(url, sizeof(url), "%s" GROUP_PATH "/namespaces/bench-%ld/httproutes/rt-%ld",
                 o->api, ns_of_route(o, r), r);
        snprintf(body, sizeof(body),
                 "{\"spec\":{\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":"
                 "\"/r%ld/v%ld\"}}],\"backendRefs\":[{\"name\":\"svc-%ld\",\"port\":80}]}]}}",
                 r, round, r);
        long code = request(&cl, "PATCH", url, body, true);
        if (code == 200)
            atomic_fetch_add(j->sent, 1);
        else if (atomic_fetch_add(j->errors, 1) < 5)
            fprintf(stderr, "kgcload: PATCH %s: %ld\n", url, code);
    }
    client_free(&cl);
    return NULL;
}

/* utime+stime of pid, in seconds. */
static double cpu_seconds(long pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    /* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
     * stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

struct route_hist {
    double *patch_t; /* spec patch k → generation k + 2 (created with generation 1) */
    long n_patch, cap_patch;
    double *first_write; /* per patch: first status write with observedGeneration >= its gen */
};

struct churn_audit {
    const struct opts *o;
    struct route_hist *rt;
    double since_ms;
};

static void churn_line(const struct audit_line *al, void *ctx)
{
    struct churn_audit *c = ctx;
    if (al->t < c->since_ms || al->code != 200)
        return;
    long i = object_index(al->path, "httproutes", "rt-");
    if (i < 0 || i >= c->o->routes)
        return;
    struct route_hist *h = &c->rt[i];
    if (!al->sub && strcmp(al->verb, "patch") == 0) {
        if (h->n_patch == h->cap_patch) {
            long cap = h->cap_patch ? h->cap_patch * 2 : 4;
            double *a = realloc(h->patch_t, (size_t)cap * sizeof(double));
            double *b = realloc(h->first_write, (size_t)cap * sizeof(double));
            if (a)
                h->patch_t = a;
            if (b)
                h->first_write = b;
            if (!a || !b)
                return;
            h->cap_patch = cap;
        }
        h->patch_t[h->n_patch] = al->t;
        h->first_write[h->n_patch] = 0;
        h->n_patch++;
    } else if (al->sub && strcmp(al->sub, "status") == 0) {
        int64_t og = route_observed_generation(al->status);
        for (long k = 0; k < h->n_patch; k++)
            if (h->first_write[k] == 0 && og >= k + 2)
                h->first_write[k] = al->t;
    }
}

static int cmd_churn(const struct opts *o)
{
    if (!o->audit || o->routes < 1)
        return 2;
    atomic_long sent, errors;
    atomic_init(&sent, 0);
    atomic_init(&errors, 0);
    long total = o->rate * o->seconds;
    double since_ms = now_wall_ms();
    double cpu0 = o->pid ? cpu_seconds(o->pid) : -1;
    double t0 = now_mono_s();
    pthread_t th[MAX_THREADS];
    struct churn_job jobs[MAX_THREADS];
    for (long i = 0; i < o->threads; i++) {
        jobs[i] = (struct churn_job){o, i, o->threads, total, t0, &sent, &errors};
        pthread_create(&th[i], NULL, churn_thread, &jobs[i]);
    }
    for (long i = 0; i < o->threads; i++)
        pthread_join(th[i], NULL);
    double wall = now_mono_s() - t0;
    double cpu1 = o->pid ? cpu_seconds(o->pid) : -1;
    /* Let the last status writes land: follow the audit log until every update has its write,
     * or for at most 60 s. (A window that closed after 2 s without audit lines lost the updates
     * of kgc's last translation whenever that one took longer than 2 s: issue #19.) */
    struct churn_audit ca = {.o = o,
                             .rt = calloc((size_t)o->routes, sizeof(struct route_hist)),
                             .since_ms = since_ms - 1};
    if (!ca.rt)
        return 2;
    long offset = 0;
    double stop = now_mono_s() + 60;
    for (;;) {
        if (audit_follow(o->audit, &offset, churn_line, &ca))
            return 2;
        long seen = 0, pending = 0;
        for (long i = 0; i < o->routes; i++) {
            seen += ca.rt[i].n_patch;
            for (long k = 0; k < ca.rt[i].n_patch; k++)
                pending += ca.rt[i].first_write[k] == 0;
        }
        if ((seen >= atomic_load(&sent) && pending == 0) || now_mono_s() >= stop)
            break;
        sleep_ms(200);
    }
    long n = 0, missing = 0, cap = total + 1;
    double last_patch = 0, last_write = 0;
    double *lat = calloc((size_t)cap, sizeof(double));
    for (long i = 0; i < o->routes && lat; i++) {
        struct route_hist *h = &ca.rt[i];
        for (long k = 0; k < h->n_patch; k++) {
            if (h->patch_t[k] > last_patch)
                last_patch = h->patch_t[k];
            if (h->first_write[k] > last_write)
                last_write = h->first_write[k];
            if (h->first_write[k] == 0) {
                if (missing++ < 10)
                    printf("missing route=rt-%ld generation=%ld patched_ms=%.0f\n", i, k + 2,
                           h->patch_t[k] - since_ms);
            } else if (n < cap) {
                lat[n++] = h->first_write[k] - h->patch_t[k];
            }
        }
        free(h->patch_t);
        free(h->first_write);
    }
    if (lat)
        qsort(lat, (size_t)n, sizeof(double), cmp_double);
    printf("updates=%ld errors=%ld seconds=%.1f rate=%.0f\n", atomic_load(&sent),
           atomic_load(&errors), wall, wall > 0 ? (double)atomic_load(&sent) / wall : 0);
    printf("latency_n=%ld missing=%ld p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", n, missing,
           pct(lat, n, 0.5), pct(lat, n, 0.99), pct(lat, n, 1.0));
    /* the last update → the last first status write at an update's generation */
    printf("settle_ms=%.0f\n", last_write > last_patch ? last_write - last_patch : 0);
    if (cpu0 >= 0 && cpu1 >= 0)
        printf("cpu_percent=%.0f\n", (cpu1 - cpu0) / wall * 100.0);
    free(lat);
    free(ca.rt);
    return 0;
}

/* ---- latency ----------------------------------------------------------------------------------
 */

#define MAX_KONGS 256

/* Kong i's configuration_hash into out (33 bytes); false when it did not answer. */
static bool kong_hash(struct client *cl, const char *status_url, char *out)
{
    if (request(cl, "GET", status_url, NULL, false) != 200)
        return false;
    json_object *st = json_tokener_parse(cl->body.data ? cl->body.data : "");
    const char *h = jstr(st, "configuration_hash");
    bool ok = h && strlen(h) == 32;
    if (ok)
        memcpy(out, h, 33);
    json_object_put(st);
    return ok;
}

static int cmd_latency(const struct opts *o)
{
    FILE *f = fopen(o->kongs, "r");
    if (!f) {
        fprintf(stderr, "kgcload: cannot read %s\n", o->kongs);
        return 2;
    }
    static char urls[MAX_KONGS][300];
    static struct client kc[MAX_KONGS];
    static char before[MAX_KONGS][33], now_h[33];
    int n = 0;
    char line[256];
    while (n < MAX_KONGS && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        snprintf(urls[n], sizeof(urls[n]), "%s/status", line);
        if (client_init(&kc[n]))
            return 2;
        curl_easy_setopt(kc[n].c, CURLOPT_TIMEOUT_MS, 500L);
        n++;
    }
    fclose(f);
    if (!n || o->routes <= 0) {
        fprintf(stderr, "kgcload: no Kong in %s or no --routes\n", o->kongs);
        return 2;
    }
    struct client api;
    if (client_init(&api))
        return 2;
    double *all = calloc((size_t)o->changes, sizeof(double));
    long done_changes = 0, missed = 0;
    long tag = (long)now_wall_ms() % 1000000;
    for (long k = 0; k < o->changes; k++) {
        double t_next = now_mono_s() + (double)o->interval_ms / 1e3;
        for (int i = 0; i < n; i++)
            if (!kong_hash(&kc[i], urls[i], before[i]))
                before[i][0] = '\0';
        long r = (k * 7919 + 13) % o->routes;
        char url[512], body[512];
        snprintf(url, sizeof(url), "%s" GROUP_PATH "/namespaces/bench-%ld/httproutes/rt-%ld",
                 o->api, ns_of_route(o, r), r);
        snprintf(body, sizeof(body),
                 "{\"spec\":{\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":"
                 "\"/r%ld/lat%ld-%ld\"}}],\"backendRefs\":[{\"name\":\"svc-%ld\",\"port\":80}]}]}}",
                 r, tag, k, r);
        double t0 = now_mono_s();
        long code = request(&api, "PATCH", url, body, true);
        if (code != 200) {
            fprintf(stderr, "kgcload: PATCH %s: %ld\n", url, code);
            continue;
        }
        double first = -1, last = -1, deadline = t0 + o->timeout_s;
        bool seen[MAX_KONGS] = {false};
        int n_seen = 0;
        while (n_seen < n && now_mono_s() < deadline) {
            for (int i = 0; i < n; i++) {
                if (seen[i] || !kong_hash(&kc[i], urls[i], now_h))
                    continue;
                if (strcmp(now_h, before[i]) != 0 && strspn(now_h, "0") != 32) {
                    double t = (now_mono_s() - t0) * 1e3;
                    seen[i] = true;
                    n_seen++;
                    if (first < 0)
                        first = t;
                    last = t;
                }
            }
            /* a pause between rounds: the poller must not take the CPU the Kongs and kgc need
             * (a round over 50 Kongs takes a few ms; this bounds the resolution) */
            if (n_seen < n)
                sleep_ms(5);
        }
        if (n_seen < n) {
            missed++;
            printf("change=%ld route=rt-%ld missed=%d of %d\n", k, r, n - n_seen, n);
        } else {
            all[done_changes++] = last;
            printf("change=%ld route=rt-%ld all_ms=%.1f first_ms=%.1f\n", k, r, last, first);
        }
        fflush(stdout);
        double wait = t_next - now_mono_s();
        if (wait > 0)
            sleep_ms(wait * 1e3);
    }
    qsort(all, (size_t)done_changes, sizeof(double), cmp_double);
    printf("changes=%ld kongs=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f missed=%ld\n", done_changes, n,
           pct(all, done_changes, 0.50), pct(all, done_changes, 0.99),
           done_changes ? all[done_changes - 1] : 0.0, missed);
    free(all);
    for (int i = 0; i < n; i++)
        client_free(&kc[i]);
    client_free(&api);
    return missed ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    if (argc < 2 || parse_opts(argc, argv, &o)) {
        fprintf(stderr,
                "usage: kgcload create|wait|wait-kong|recovery-audit|churn|latency [options] "
                "(see test/bench/kgcload.c)\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 2;
    const char *cmd = argv[1];
    if (strcmp(cmd, "create") == 0 && o.api)
        rc = cmd_create(&o);
    else if (strcmp(cmd, "wait") == 0 && o.api)
        rc = cmd_wait(&o);
    else if (strcmp(cmd, "wait-kong") == 0 && o.url)
        rc = cmd_wait_kong(&o);
    else if (strcmp(cmd, "recovery-audit") == 0 && o.audit)
        rc = cmd_recovery_audit(&o);
    else if (strcmp(cmd, "churn") == 0 && o.api)
        rc = cmd_churn(&o);
    else if (strcmp(cmd, "latency") == 0 && o.api && o.kongs)
        rc = cmd_latency(&o);
    else
        fprintf(stderr, "kgcload: unknown command %s or missing --api/--url/--audit\n", cmd);
    curl_global_cleanup();
    return rc;
}

/* sync — the configuration syncer, in two groups:
 *
 * "machine": the state machine (pkg/sync/machine.c) driven directly, with made-up times, Kong
 * events and blobs (a hash and a Gateway set): no thread, no process, no sleep. Debounce and its
 * max-delay cap, leader gating, READY/RESTARTED/HASH_CHANGED/UNREACHABLE/REMOVED, the carried
 * configuration of a restarted instance, the empty configuration, backoff and Retry-After, the
 * exclusion rounds after a 400, the unattributed 400, the restored Gateway set, Programmed.
 *
 * "processes": the wiring, against TWO real kgc-test-kong processes (path from KGC_TEST_KONG, or
 * next to this binary, or build/kgc-test-kong), probed by a real kgc_kong registry. Every wait is
 * a condition polled under a deadline (poll_pause()), never a fixed sleep:
 *   - becoming the leader configures both instances (GET /config holds the route);
 *   - the Programmed hook turns true only once both instances accepted (one answers 429 first);
 *   - a new syncer (kgc restarted) against instances holding the config gets 304, counted as
 *     success, nothing re-applied;
 *   - SIGKILL one instance, change a route, start it again on the same port: it gets the current
 *     configuration soon after READY; a restarted instance keeps its Gateways Programmed until
 *     its re-push fails 3 times;
 *   - Kong rejects a route (a plugin not enabled on Kong): reported via REJECTED and the route
 *     verdict, the other routes keep flowing; fixing the route brings it back;
 *   - a 400 nothing is attributed to: the instance keeps its last accepted config;
 *   - the push-duration histogram; the accepted Gateway set survives a kgc restart (LMDB);
 *   - a route's translator verdict is pending until a translation judged its version, and that
 *     translation reports the route (also in a new syncer: kgc restarted);
 *   - only usable listeners carry routes: a Conflicted listener's route is not pushed, it is once
 *     the conflict goes, and a Gateway that stops being Accepted takes its routes out.
 * The entity-free configuration over time (no re-push loop, no restart reported) is the e2e
 * scenario test/e2e/kgc_empty_config.sh; its decisions are test_m_empty_configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fake_proc.h"
#include "fixture_yaml.h"

#include "kgc/clock.h"
#include "kgc/kong.h"
#include "kgc/listenercache.h"
#include "kgc/log.h"
#include "kgc/sync.h"
#include "kgc/store.h"

#include "../../pkg/sync/sync_internal.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NS "sync-test"

/* ---- the test Kong processes ------------------------------------------------------------------
 */

struct proc {
    pid_t pid;
    int out;
    unsigned port;
    char url[64];
};

static void test_kong_path(char *out, size_t size)
{
    const char *env = getenv("KGC_TEST_KONG");
    if (env && env[0]) {
        snprintf(out, size, "%s", env);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        snprintf(out, size, "%s/kgc-test-kong", dirname(dirname(self)));
        if (access(out, X_OK) == 0)
            return;
    }
    snprintf(out, size, "build/kgc-test-kong");
}

static bool have_test_kong(void)
{
    char bin[PATH_MAX];
    test_kong_path(bin, sizeof(bin));
    return access(bin, X_OK) == 0;
}

/* Kong without request-transformer: a route with a header filter is rejected. */
#define PLUGINS "request-termination,response-transformer,redirect"

/* Extra arguments of the next proc_start (at most 4, NULL-terminated; tests reset it). */
static const char *proc_extra[5];

static bool proc_start(struct proc *p, unsigned port)
{
    char bin[PATH_MAX], listen[64];
    test_kong_path(bin, sizeof(bin));
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
    char *argv[12] = {bin,     "--admin-listen", listen,  "--log-level",
                      "error", "--plugins",      PLUGINS, NULL};
    for (int k = 0; k < 4 && proc_extra[k]; k++)
        argv[7 + k] = (char *)proc_extra[k];
    pid_t pid = fake_proc_start(argv, false, 5000, p->url, sizeof(p->url), &p->out);
    p->pid = pid > 0 ? pid : 0;
    p->port = pid > 0 ? (unsigned)atoi(strrchr(p->url, ':') + 1) : 0;
    return pid > 0;
}

static void proc_kill(struct proc *p)
{
    if (!p->pid)
        return;
    fake_proc_kill(p->pid);
    close(p->out);
    p->pid = 0;
}

/* ---- HTTP helpers -----------------------------------------------------------------------------
 */

struct buf {
    char *p;
    size_t n;
};

static size_t on_data(char *d, size_t sz, size_t nm, void *arg)
{
    struct buf *b = arg;
    char *np = realloc(b->p, b->n + sz * nm + 1);
    if (!np)
        return 0;
    memcpy(np + b->n, d, sz * nm);
    b->n += sz * nm;
    np[b->n] = '\0';
    b->p = np;
    return sz * nm;
}

/* GET or POST url+path: the body (malloc'd, "" on failure), *status. */
static char *http(const char *url, const char *path, bool post, long *status)
{
    char full[256];
    snprintf(full, sizeof(full), "%s%s", url, path);
    struct buf b = {0};
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, full);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 3000L);
    if (post)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    long st = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(c);
    if (status)
        *status = st;
    return b.p ? b.p : strdup("");
}

/* Whether instance url's GET /config mentions needle. */
static bool config_has(const char *url, const char *needle)
{
    long st = 0;
    char *body = http(url, "/config", false, &st);
    bool has = st == 200 && strstr(body, needle) != NULL;
    free(body);
    return has;
}

static void fail_next(const char *url, int n, int code)
{
    char path[96];
    snprintf(path, sizeof(path), "/_test/fail-config?n=%d&code=%d", n, code);
    long st = 0;
    free(http(url, path, true, &st));
    assert_true(st >= 200 && st < 300);
}

/* ---- a thread-safe object set -----------------------------------------------------------------
 */

static pthread_mutex_t set_mu = PTHREAD_MUTEX_INITIALIZER;

static const struct kgc_api_obj *locked_get(void *ctx, enum kgc_api_kind kind, const char *ns,
                                            const char *name)
{
    const struct kgc_status_lookup *in = ctx;
    pthread_mutex_lock(&set_mu);
    const struct kgc_api_obj *o = in->get(in->ctx, kind, ns, name);
    pthread_mutex_unlock(&set_mu);
    return o;
}

static void locked_foreach(void *ctx, enum kgc_api_kind kind, const char *ns,
                           kgc_status_visit_fn fn, void *fnctx)
{
    const struct kgc_status_lookup *in = ctx;
    pthread_mutex_lock(&set_mu);
    in->foreach (in->ctx, kind, ns, fn, fnctx);
    pthread_mutex_unlock(&set_mu);
}

static const char BASE[] = "apiVersion: gateway.networking.k8s.io/v1\n"
                           "kind: GatewayClass\n"
                           "metadata: {name: sync-class}\n"
                           "spec: {controllerName: " KGC_STATUS_DEFAULT_CONTROLLER "}\n"
                           "---\n"
                           "apiVersion: gateway.networking.k8s.io/v1\n"
                           "kind: Gateway\n"
                           "metadata: {name: gw, namespace: " NS ", generation: 1}\n"
                           "spec:\n"
                           "  gatewayClassName: sync-class\n"
                           "  listeners:\n"
                           "  - {name: http, protocol: HTTP, port: 80}\n"
                           "---\n"
                           "apiVersion: v1\n"
                           "kind: Service\n"
                           "metadata: {name: svc, namespace: " NS "}\n"
                           "spec:\n"
                           "  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]\n"
                           "---\n"
                           "apiVersion: discovery.k8s.io/v1\n"
                           "kind: EndpointSlice\n"
                           "metadata:\n"
                           "  name: svc-1\n"
                           "  namespace: " NS "\n"
                           "  labels: {kubernetes.io/service-name: svc}\n"
                           "addressType: IPv4\n"
                           "ports: [{name: http, port: 8080, protocol: TCP}]\n"
                           "endpoints: [{addresses: [10.0.0.1], conditions: {ready: true}}]\n";

/* Adds (or replaces) HTTPRoute name matching path; with_filter adds a RequestHeaderModifier. */
static void put_route(struct fixture_set *set, const char *name, const char *path, bool with_filter,
                      int generation)
{
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "apiVersion: gateway.networking.k8s.io/v1\n"
             "kind: HTTPRoute\n"
             "metadata: {name: %s, namespace: " NS ", generation: %d}\n"
             "spec:\n"
             "  parentRefs: [{name: gw}]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: %s}}]\n"
             "%s"
             "    backendRefs: [{name: svc, port: 80}]\n",
             name, generation, path,
             with_filter ? "    filters: [{type: RequestHeaderModifier, requestHeaderModifier: "
                           "{set: [{name: X-A, value: b}]}}]\n"
                         : "");
    char err[FIXTURE_ERR_MAX];
    pthread_mutex_lock(&set_mu);
    int rc = fixture_set_add_yaml(set, yaml, err, sizeof(err));
    pthread_mutex_unlock(&set_mu);
    if (rc != 0)
        fail_msg("fixture: %s", err);
}

/* ---- the environment --------------------------------------------------------------------------
 */

struct broken_rec {
    pthread_mutex_t mu;
    char last[512];
    char last_name[128];
    int reported, cleared;
    int programmed; /* KGC_SYNC_CHANGE_PROGRAMMED announcements */
};

struct env {
    struct proc kong[2];
    struct fixture_set *set;
    struct kgc_status_lookup inner, lk;
    struct kgc_kong *reg;
    struct kgc_sync *sync;
    struct broken_rec br;
};

static void on_broken(void *ctx, const struct kgc_sync_change *ch)
{
    struct broken_rec *r = ctx;
    if (ch->what == KGC_SYNC_CHANGE_PROGRAMMED) {
        pthread_mutex_lock(&r->mu);
        r->programmed++;
        pthread_mutex_unlock(&r->mu);
    }
    if (ch->what != KGC_SYNC_CHANGE_REJECTED)
        return;
    const char *name = ch->name, *message = ch->message;
    pthread_mutex_lock(&r->mu);
    snprintf(r->last_name, sizeof(r->last_name), "%s", name);
    if (message) {
        r->reported++;
        snprintf(r->last, sizeof(r->last), "%s", message);
    } else {
        r->cleared++;
    }
    pthread_mutex_unlock(&r->mu);
}

static void sync_open_lc(struct env *e, bool leader, struct kgc_listenercache *lc)
{
    struct kgc_kong_options ko;
    kgc_kong_options_default(&ko);
    ko.probe_interval_ms = 200;
    ko.down_probe_interval_ms = 100;
    ko.heartbeat_interval_ms = 0;
    struct kgc_err err = {0};
    assert_int_equal(kgc_kong_new(&ko, &e->reg, &err), 0);
    struct kgc_sync_options so;
    kgc_sync_options_default(&so);
    if (kgc_sync_new(&so, &e->lk, e->reg, lc, &e->sync, &err) != 0)
        fail_msg("syncer: %s", err.msg);
    assert_int_equal(kgc_sync_subscribe(e->sync, on_broken, &e->br), 0);
    kgc_sync_set_leader(e->sync, leader);
    assert_int_equal(kgc_sync_start(e->sync, &err), 0);
    const char *urls[] = {e->kong[0].url, e->kong[1].url};
    assert_int_equal(kgc_kong_set_instances(e->reg, urls, 2, &err), 0);
}

static void sync_open(struct env *e, bool leader)
{
    sync_open_lc(e, leader, NULL);
}

static void sync_close(struct env *e)
{
    kgc_kong_stop(e->reg);
    kgc_sync_free(e->sync);
    kgc_kong_free(e->reg);
    e->sync = NULL;
    e->reg = NULL;
}

static int setup(void **state)
{
    if (!have_test_kong()) {
        print_message("SKIP: kgc-test-kong not found (set KGC_TEST_KONG or build it)\n");
        return -1;
    }
    struct env *e = calloc(1, sizeof(*e));
    pthread_mutex_init(&e->br.mu, NULL);
    char err[FIXTURE_ERR_MAX];
    e->set = fixture_set_new();
    if (!e->set || fixture_set_add_yaml(e->set, BASE, err, sizeof(err)) != 0) {
        print_error("fixture: %s\n", err);
        return -1;
    }
    put_route(e->set, "r1", "/one", false, 1);
    e->inner = fixture_set_lookup(e->set);
    e->lk =
        (struct kgc_status_lookup){.get = locked_get, .foreach = locked_foreach, .ctx = &e->inner};
    for (int i = 0; i < 2; i++)
        if (!proc_start(&e->kong[i], 0)) {
            print_error("could not start kgc-test-kong\n");
            return -1;
        }
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    if (e->sync)
        sync_close(e);
    for (int i = 0; i < 2; i++)
        proc_kill(&e->kong[i]);
    fixture_set_free(e->set);
    pthread_mutex_destroy(&e->br.mu);
    free(e);
    return 0;
}

static struct kgc_sync_stats stats(struct env *e)
{
    struct kgc_sync_stats st;
    kgc_sync_stats(e->sync, &st);
    return st;
}

/* The one pause of the process-level tests: between two looks at a condition, always inside a
 * loop bounded by a deadline (never a fixed sleep standing for "long enough"). */
static void poll_pause(void)
{
    usleep(5 * 1000);
}

/* Instance url as the syncer's /debug JSON shows it: whether it counts as ready, and whether the
 * syncer has taken in its acceptance of the current configuration (accepted_hash is "hash").
 * Parsed, not searched for: json-c writes the URL's slashes escaped ("http:\/\/..."), so a
 * search for "url":"http://..." never matched and wait_down() did not wait. */
static void inst_status(struct env *e, const char *url, bool *ready, bool *holds_current)
{
    char *js = kgc_sync_status_json(e->sync);
    assert_non_null(js);
    json_object *root = json_tokener_parse(js), *insts = NULL, *v = NULL;
    free(js);
    assert_non_null(root);
    const char *cur =
        json_object_object_get_ex(root, "hash", &v) ? json_object_get_string(v) : NULL;
    assert_true(json_object_object_get_ex(root, "instances", &insts));
    bool found = false;
    for (size_t k = 0; k < json_object_array_length(insts) && !found; k++) {
        json_object *in = json_object_array_get_idx(insts, k);
        if (!json_object_object_get_ex(in, "url", &v) || strcmp(json_object_get_string(v), url))
            continue;
        found = true;
        *ready = json_object_object_get_ex(in, "ready", &v) && json_object_get_boolean(v);
        const char *acc =
            json_object_object_get_ex(in, "accepted_hash", &v) ? json_object_get_string(v) : NULL;
        *holds_current = cur && acc && strcmp(cur, acc) == 0;
    }
    json_object_put(root);
    if (!found)
        fail_msg("instance %s not in the syncer's status", url);
}

static bool inst_ready(struct env *e, const char *url)
{
    bool ready, holds;
    inst_status(e, url, &ready, &holds);
    return ready;
}

/* Waits (5 s at most) until the syncer has seen instance url go down (UNREACHABLE). */
static void wait_down(struct env *e, const char *url)
{
    uint64_t t0 = kgc_clock_now(NULL);
    while (inst_ready(e, url) && kgc_clock_now(NULL) - t0 < 5 * KGC_NS_PER_S)
        poll_pause();
    assert_false(inst_ready(e, url));
}

/* Waits (5 s at most) until the syncer has taken in instance url's acceptance of the current
 * configuration. Kong holds a configuration (GET /config shows it) a moment before the syncer
 * reads the answer: a test that kills the instance in between loses the answer, which counts as
 * a failed push. */
static void wait_holds_current(struct env *e, const char *url)
{
    bool ready = false, holds = false;
    uint64_t t0 = kgc_clock_now(NULL);
    for (;;) {
        inst_status(e, url, &ready, &holds);
        if ((ready && holds) || kgc_clock_now(NULL) - t0 >= 5 * KGC_NS_PER_S)
            break;
        poll_pause();
    }
    assert_true(ready && holds);
}

/* Waits (5 s at most) until both instances' GET /config mention needle; ms or -1. */
static long wait_both(struct env *e, const char *needle)
{
    uint64_t t0 = kgc_clock_now(NULL);
    while (kgc_clock_now(NULL) - t0 < 5 * KGC_NS_PER_S) {
        if (config_has(e->kong[0].url, needle) && config_has(e->kong[1].url, needle))
            return (long)((kgc_clock_now(NULL) - t0) / KGC_NS_PER_MS);
        poll_pause();
    }
    return -1;
}

#define R1  "httproute." NS ".r1.0.0"
#define R2  "httproute." NS ".r2.0.0"
#define R3  "httproute." NS ".r3.0.0"
#define BAD "httproute." NS ".bad.0.0"

/* ---- tests ------------------------------------------------------------------------------------
 */

static void test_only_leader_pushes(void **state)
{
    struct env *e = *state;
    sync_open(e, false);
    kgc_sync_mark_dirty(e->sync);
    /* not the leader: nothing translated nor pushed (that it stays so is test_m_leader's) */
    struct kgc_sync_stats st = stats(e);
    assert_int_equal(st.push_count, 0);
    long status = 0;
    free(http(e->kong[0].url, "/config", false, &status));
    assert_int_equal(status, 404);
    kgc_sync_set_leader(e->sync, true);
    long ms = wait_both(e, R1);
    print_message("leader: both instances configured after %ld ms\n", ms);
    assert_true(ms >= 0);
}

static bool wait_programmed(struct env *e, const struct kgc_api_gateway *gw, unsigned secs);

/* Gateway gw at its next generation (a spec change), checked to be gen and not yet programmed. */
static const struct kgc_api_gateway *bump_gateway(struct env *e, int64_t gen)
{
    char why[256] = "";
    pthread_mutex_lock(&set_mu);
    assert_non_null(fixture_set_update(e->set, KGC_API_GATEWAY, NS, "gw", true));
    const struct kgc_api_obj *gwo = fixture_set_find(e->set, KGC_API_GATEWAY, NS, "gw");
    pthread_mutex_unlock(&set_mu);
    const struct kgc_api_gateway *gw = kgc_api_as_gateway(gwo);
    assert_int_equal(gw->obj.meta.generation, gen);
    assert_false(kgc_sync_gateway_programmed(e->sync, gw, why, sizeof(why)));
    return gw;
}

static void test_programmed_after_both_accept(void **state)
{
    struct env *e = *state;
    /* continues from the previous test: both hold r1. A Gateway change must reach both. (A
     * change that leaves the text as it is is programmed at once: both already hold it.) */
    const struct kgc_api_obj *gwo = fixture_set_find(e->set, KGC_API_GATEWAY, NS, "gw");
    char why[256] = "";
    /* Kong holds it a moment before the syncer thread has taken the answer in */
    assert_true(wait_programmed(e, kgc_api_as_gateway(gwo), 5));
    fail_next(e->kong[1].url, 1, 429); /* Retry-After: 1 */
    const struct kgc_api_gateway *gw = bump_gateway(e, 2);
    struct kgc_sync_stats before = stats(e);
    put_route(e->set, "rp", "/p", false, 1); /* the configuration text changes too */
    kgc_sync_mark_dirty(e->sync);
    /* A accepts quickly; B answers 429 first and is retried after a second */
    uint64_t t0 = kgc_clock_now(NULL);
    while (stats(e).pushes[KGC_KONG_PUSH_BUSY] == before.pushes[KGC_KONG_PUSH_BUSY] &&
           kgc_clock_now(NULL) - t0 < 3 * KGC_NS_PER_S)
        poll_pause();
    assert_true(stats(e).pushes[KGC_KONG_PUSH_BUSY] > before.pushes[KGC_KONG_PUSH_BUSY]);
    /* pushes run concurrently: B's 429 may come back before A's acceptance */
    while (stats(e).pushes[KGC_KONG_PUSH_APPLIED] == before.pushes[KGC_KONG_PUSH_APPLIED] &&
           kgc_clock_now(NULL) - t0 < 3 * KGC_NS_PER_S)
        poll_pause();
    bool early = kgc_sync_gateway_programmed(e->sync, gw, why, sizeof(why));
    print_message("after the 429: programmed=%d (%s)\n", early, why);
    assert_false(early);
    assert_non_null(strstr(why, e->kong[1].url));
    bool ok = false;
    while (!ok && kgc_clock_now(NULL) - t0 < 5 * KGC_NS_PER_S) {
        ok = kgc_sync_gateway_programmed(e->sync, gw, why, sizeof(why));
        poll_pause();
    }
    print_message("429 retried, programmed after %llu ms\n",
                  (unsigned long long)((kgc_clock_now(NULL) - t0) / KGC_NS_PER_MS));
    assert_true(ok);
}

static int programmed_announcements(struct env *e)
{
    pthread_mutex_lock(&e->br.mu);
    int n = e->br.programmed;
    pthread_mutex_unlock(&e->br.mu);
    return n;
}

/* Waits (5 s at most) until both instances accepted one more configuration than in before. */
static void wait_applied_by_both(struct env *e, const struct kgc_sync_stats *before)
{
    uint64_t t0 = kgc_clock_now(NULL);
    while (stats(e).pushes[KGC_KONG_PUSH_APPLIED] < before->pushes[KGC_KONG_PUSH_APPLIED] + 2 &&
           kgc_clock_now(NULL) - t0 < 5 * KGC_NS_PER_S)
        poll_pause();
    assert_true(stats(e).pushes[KGC_KONG_PUSH_APPLIED] >=
                before->pushes[KGC_KONG_PUSH_APPLIED] + 2);
}

/* A route change is pushed to every Kong without telling the controllers that Gateways' Programmed
 * may have changed (at 1k Gateways that woke 1k reconciles per push: ~55 ms of CPU per route change
 * at 10k routes); a Gateway change is still announced, and the Gateway programmed at its new
 * generation. */
static void test_route_change_wakes_no_gateway(void **state)
{
    struct env *e = *state;
    /* continues from the previous test: both hold gw at generation 2 */
    const struct kgc_api_obj *gwo = fixture_set_find(e->set, KGC_API_GATEWAY, NS, "gw");
    char why[256] = "";
    assert_true(wait_programmed(e, kgc_api_as_gateway(gwo), 5));
    struct kgc_sync_stats before = stats(e);
    int ann = programmed_announcements(e);
    put_route(e->set, "rq", "/q", false, 1);
    kgc_sync_mark_dirty(e->sync);
    assert_true(wait_both(e, "httproute." NS ".rq.0.0") >= 0);
    wait_applied_by_both(e, &before);
    struct kgc_sync_stats after = stats(e);
    print_message("route change: %d PROGRAMMED announcements, %llu left out\n",
                  programmed_announcements(e) - ann,
                  (unsigned long long)(after.programmed_unchanged - before.programmed_unchanged));
    assert_int_equal(programmed_announcements(e), ann);
    assert_true(after.programmed_unchanged > before.programmed_unchanged);
    assert_true(kgc_sync_gateway_programmed(e->sync, kgc_api_as_gateway(gwo), why, sizeof(why)));

    /* the Gateway's generation moves: announced, and programmed once both hold it */
    const struct kgc_api_gateway *gw = bump_gateway(e, 3);
    put_route(e->set, "rq", "/q2", false, 2); /* the text changes too */
    kgc_sync_mark_dirty(e->sync);
    assert_true(wait_programmed(e, gw, 5));
    assert_true(programmed_announcements(e) > ann);
}

static void test_restarted_kgc_gets_304(void **state)
{
    struct env *e = *state;
    sync_close(e);
    sync_open(e, true);
    kgc_sync_mark_dirty(e->sync);
    uint64_t t0 = kgc_clock_now(NULL);
    while (stats(e).pushes[KGC_KONG_PUSH_UNCHANGED] < 2 &&
           kgc_clock_now(NULL) - t0 < 5 * KGC_NS_PER_S)
        poll_pause();
    struct kgc_sync_stats st = stats(e);
    assert_int_equal(st.pushes[KGC_KONG_PUSH_UNCHANGED], 2);
    assert_int_equal(st.pushes[KGC_KONG_PUSH_APPLIED], 0);
    char *js = kgc_sync_status_json(e->sync);
    assert_non_null(js);
    assert_non_null(strstr(js, "\"last_result\":\"unchanged\""));
    assert_null(strstr(js, "_format_version")); /* never the text */
    free(js);
}

static void test_restart_gets_current_config(void **state)
{
    struct env *e = *state;
    struct proc *b = &e->kong[1];
    unsigned port = b->port;
    proc_kill(b);
    put_route(e->set, "r3", "/three", false, 1);
    kgc_sync_mark_dirty(e->sync);
    uint64_t t0 = kgc_clock_now(NULL);
    while (!config_has(e->kong[0].url, R3) && kgc_clock_now(NULL) - t0 < 5 * KGC_NS_PER_S)
        poll_pause();
    assert_true(config_has(e->kong[0].url, R3));
    wait_down(e, b->url);
    t0 = kgc_clock_now(NULL);
    if (!proc_start(b, port))
        fail_msg("kgc-test-kong did not restart on port %u", port);
    long ms = -1;
    while (kgc_clock_now(NULL) - t0 < 5 * KGC_NS_PER_S) {
        if (config_has(b->url, R3)) {
            ms = (long)((kgc_clock_now(NULL) - t0) / KGC_NS_PER_MS);
            break;
        }
        poll_pause();
    }
    print_message("restarted instance got the current config %ld ms after it started "
                  "(down-probe interval 100 ms)\n",
                  ms);
    assert_true(ms >= 0 && ms < 3000);
}

/* Polls (bounded: secs) until the syncer says gw is Programmed; the last answer. */
static bool wait_programmed(struct env *e, const struct kgc_api_gateway *gw, unsigned secs)
{
    char why[256] = "";
    bool ok = false;
    uint64_t t0 = kgc_clock_now(NULL);
    while (!ok && kgc_clock_now(NULL) - t0 < secs * KGC_NS_PER_S) {
        ok = kgc_sync_gateway_programmed(e->sync, gw, why, sizeof(why));
        if (!ok)
            poll_pause();
    }
    return ok;
}

/* Starts test Kong p again on port with its next n POST /config answered code. */
static void restart_failing(struct proc *p, unsigned port, const char *n, const char *code)
{
    proc_extra[0] = "--fail-config";
    proc_extra[1] = n;
    proc_extra[2] = "--fail-config-code";
    proc_extra[3] = code;
    bool started = proc_start(p, port);
    proc_extra[0] = NULL;
    if (!started)
        fail_msg("kgc-test-kong did not restart on port %u", port);
}

/* A Kong that restarts empty is re-pushed at once; until that push is answered it still counts
 * as carrying what it had accepted, so the Gateways it served do not flap to Pending. A re-push
 * that keeps failing (KGC_SYNC_CARRIED_ATTEMPTS times) ends that: they wait, then recover. */
static void test_restarted_instance_keeps_gateways_programmed(void **state)
{
    struct env *e = *state;
    struct proc *b = &e->kong[1];
    const struct kgc_api_gateway *gw =
        kgc_api_as_gateway(fixture_set_find(e->set, KGC_API_GATEWAY, NS, "gw"));
    char why[256] = "";
    bool ok;
    uint64_t t0;
    assert_true(wait_programmed(e, gw, 5));
    wait_holds_current(e, b->url); /* not only carried: the last test's re-push was answered */
    unsigned port = b->port;

    /* 1. restarted empty, its first two pushes answered 429 + Retry-After: 1: after the first
     * 429 is counted, the configuration stays out for at least another second (the second 429),
     * so the check below sees the pending window even when the machine is loaded. */
    proc_kill(b);
    wait_down(e, b->url);
    struct kgc_sync_stats before = stats(e);
    restart_failing(b, port, "2", "429");
    t0 = kgc_clock_now(NULL);
    while (stats(e).pushes[KGC_KONG_PUSH_BUSY] == before.pushes[KGC_KONG_PUSH_BUSY] &&
           kgc_clock_now(NULL) - t0 < 3 * KGC_NS_PER_S)
        poll_pause();
    assert_true(stats(e).pushes[KGC_KONG_PUSH_BUSY] > before.pushes[KGC_KONG_PUSH_BUSY]);
    assert_false(config_has(b->url, R3)); /* really empty, the re-push still pending */
    ok = kgc_sync_gateway_programmed(e->sync, gw, why, sizeof(why));
    print_message("restarted, re-push answered 429: programmed=%d %s\n", ok, ok ? "" : why);
    assert_true(ok);
    t0 = kgc_clock_now(NULL);
    while (!config_has(b->url, R3) && kgc_clock_now(NULL) - t0 < 5 * KGC_NS_PER_S)
        poll_pause();
    assert_true(config_has(b->url, R3));
    assert_true(kgc_sync_gateway_programmed(e->sync, gw, why, sizeof(why)));

    /* 2. restarted empty, its re-push failing 3 times (503): Pending after the third, then back */
    wait_holds_current(e, b->url);
    proc_kill(b);
    wait_down(e, b->url);
    before = stats(e);
    restart_failing(b, port, "3", "503");
    bool seen_pending = false;
    t0 = kgc_clock_now(NULL);
    while (!config_has(b->url, R3) && kgc_clock_now(NULL) - t0 < 8 * KGC_NS_PER_S) {
        if (!kgc_sync_gateway_programmed(e->sync, gw, why, sizeof(why)) && strstr(why, b->url))
            seen_pending = true;
        poll_pause();
    }
    struct kgc_sync_stats after = stats(e);
    print_message(
        "re-push failed %llu times: seen Pending=%d\n",
        (unsigned long long)(after.pushes[KGC_KONG_PUSH_BUSY] - before.pushes[KGC_KONG_PUSH_BUSY]),
        seen_pending);
    assert_true(after.pushes[KGC_KONG_PUSH_BUSY] - before.pushes[KGC_KONG_PUSH_BUSY] >= 3);
    assert_true(seen_pending);
    assert_true(config_has(b->url, R3));
    assert_true(wait_programmed(e, gw, 3));
}

static void test_broken_route_reported_others_flow(void **state)
{
    struct env *e = *state;
    put_route(e->set, "bad", "/bad", true, 1);
    put_route(e->set, "r4", "/four", false, 1);
    kgc_sync_mark_dirty(e->sync);
    assert_true(wait_both(e, "httproute." NS ".r4.0.0") >= 0);
    assert_false(config_has(e->kong[0].url, BAD));
    assert_false(config_has(e->kong[1].url, BAD));
    pthread_mutex_lock(&e->br.mu);
    print_message("on_broken: %s: %s\n", e->br.last_name, e->br.last);
    assert_int_equal(e->br.reported, 1);
    assert_string_equal(e->br.last_name, "bad");
    assert_non_null(strstr(e->br.last, "request-transformer"));
    pthread_mutex_unlock(&e->br.mu);
    assert_int_equal(stats(e).broken_objects, 1);
    assert_true(stats(e).pushes[KGC_KONG_PUSH_REJECTED] >= 1);

    const struct kgc_api_obj *ro = fixture_set_find(e->set, KGC_API_HTTPROUTE, NS, "bad");
    struct kgc_status_route_verdict v;
    kgc_sync_route_verdict(e->sync, kgc_api_as_httproute(ro), &v);
    assert_non_null(v.accepted_reason);
    assert_string_equal(v.accepted_reason, KGC_STATUS_R_UNSUPPORTED_VALUE);
    ro = fixture_set_find(e->set, KGC_API_HTTPROUTE, NS, "r4");
    kgc_sync_route_verdict(e->sync, kgc_api_as_httproute(ro), &v);
    assert_null(v.accepted_reason);
    char *js = kgc_sync_status_json(e->sync);
    assert_non_null(strstr(js, "\"name\":\"bad\""));
    free(js);

    /* a status write (resourceVersion moves, generation does not) keeps it hidden */
    pthread_mutex_lock(&set_mu);
    assert_non_null(fixture_set_update(e->set, KGC_API_HTTPROUTE, NS, "bad", false));
    pthread_mutex_unlock(&set_mu);
    struct kgc_sync_stats before = stats(e);
    kgc_sync_mark_dirty(e->sync);
    /* then a change that must reach both: the syncer thread works in order, so any push of the
     * rejected route caused by the status write would have been answered before it */
    put_route(e->set, "r4b", "/fourb", false, 1);
    kgc_sync_mark_dirty(e->sync);
    assert_true(wait_both(e, "httproute." NS ".r4b.0.0") >= 0);
    assert_int_equal(stats(e).pushes[KGC_KONG_PUSH_REJECTED],
                     before.pushes[KGC_KONG_PUSH_REJECTED]);

    /* fixed: the filter removed (generation 2) → translated again, on both */
    put_route(e->set, "bad", "/bad", false, 2);
    kgc_sync_mark_dirty(e->sync);
    assert_true(wait_both(e, BAD) >= 0);
    pthread_mutex_lock(&e->br.mu);
    assert_int_equal(e->br.cleared, 1);
    pthread_mutex_unlock(&e->br.mu);
    assert_int_equal(stats(e).broken_objects, 0);
}

static void test_unattributed_400_keeps_last_good(void **state)
{
    struct env *e = *state;
    fail_next(e->kong[0].url, 1, 400);
    struct kgc_sync_stats before = stats(e);
    put_route(e->set, "r5", "/five", false, 1);
    kgc_sync_mark_dirty(e->sync);
    uint64_t t0 = kgc_clock_now(NULL);
    while ((!config_has(e->kong[1].url, "httproute." NS ".r5.0.0") ||
            stats(e).pushes[KGC_KONG_PUSH_REJECTED] == before.pushes[KGC_KONG_PUSH_REJECTED]) &&
           kgc_clock_now(NULL) - t0 < 5 * KGC_NS_PER_S)
        poll_pause();
    assert_true(config_has(e->kong[1].url, "httproute." NS ".r5.0.0"));
    /* A refused it without saying why: it keeps what it had, and is not hammered */
    assert_false(config_has(e->kong[0].url, "httproute." NS ".r5.0.0"));
    assert_true(config_has(e->kong[0].url, R3));
    assert_int_equal(
        stats(e).pushes[KGC_KONG_PUSH_REJECTED] - before.pushes[KGC_KONG_PUSH_REJECTED], 1);
    char *js = kgc_sync_status_json(e->sync);
    assert_non_null(strstr(js, "injected failure"));
    free(js);
    /* the next change reaches it */
    put_route(e->set, "r6", "/six", false, 1);
    kgc_sync_mark_dirty(e->sync);
    assert_true(wait_both(e, "httproute." NS ".r6.0.0") >= 0);
    assert_true(config_has(e->kong[0].url, "httproute." NS ".r5.0.0"));
}

/* Every push attempt lands in one bucket of the push-duration histogram (none of these takes
 * 10 s), so /metrics shows real buckets and not only +Inf; the bounds run from 1 ms to 10 s. */
static void test_push_duration_histogram(void **state)
{
    struct env *e = *state;
    const double *b = kgc_sync_push_bounds();
    assert_true(b[0] == 0.001 && b[KGC_SYNC_PUSH_BUCKETS - 1] == 10);
    for (size_t i = 1; i < KGC_SYNC_PUSH_BUCKETS; i++)
        assert_true(b[i] > b[i - 1]);
    struct kgc_sync_stats before = stats(e);
    put_route(e->set, "r7", "/seven", false, 1);
    kgc_sync_mark_dirty(e->sync);
    assert_true(wait_both(e, "httproute." NS ".r7.0.0") >= 0);
    /* Kong holds the route as soon as it answered; the syncer counts the push a moment later,
     * when its thread takes the lock again (a window a loaded machine widens): poll, bounded. */
    struct kgc_sync_stats st = stats(e);
    uint64_t t0 = kgc_clock_now(NULL);
    while (st.push_count < before.push_count + 2 && kgc_clock_now(NULL) - t0 < 5 * KGC_NS_PER_S) {
        poll_pause();
        st = stats(e);
    }
    assert_true(st.push_count >= before.push_count + 2);
    uint64_t in_buckets = 0, new_in_buckets = 0;
    for (size_t i = 0; i < KGC_SYNC_PUSH_BUCKETS; i++) {
        in_buckets += st.push_duration_buckets[i];
        new_in_buckets += st.push_duration_buckets[i] - before.push_duration_buckets[i];
    }
    assert_true(st.translate_duration_ns_sum > 0 && st.config_bytes > 0 && st.translations > 0);
    assert_int_equal(in_buckets, st.push_count);
    assert_int_equal(new_in_buckets, st.push_count - before.push_count);
    /* the buckets agree with the sum: the mean lies below the highest bucket used */
    size_t top = 0;
    for (size_t i = 0; i < KGC_SYNC_PUSH_BUCKETS; i++)
        if (st.push_duration_buckets[i])
            top = i;
    double mean_s = (double)st.push_duration_ns_sum / 1e9 / (double)st.push_count;
    print_message("%llu pushes, mean %.1f ms, slowest bucket le=%g s\n",
                  (unsigned long long)st.push_count, mean_s * 1e3, b[top]);
    assert_true(mean_s <= b[top]);
}

static struct kgc_listenercache *lc_open(const char *dir)
{
    struct kgc_listenercache_options lo;
    kgc_listenercache_options_default(&lo);
    lo.dir = dir;
    struct kgc_listenercache *lc = NULL;
    struct kgc_err err = {0};
    if (kgc_listenercache_open(&lo, &lc, &err) != 0)
        fail_msg("listener cache: %s", err.msg);
    return lc;
}

static void rm_lc_dir(const char *dir)
{
    char path[PATH_MAX];
    const char *files[] = {"data.mdb", "lock.mdb"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* A syncer (the leader) with a listener cache in dir (a mkdtemp() template, made here) in place
 * of e's, everything translated and pushed: returns the cache; *gw is "gw", Programmed. */
static struct kgc_listenercache *sync_open_programmed(struct env *e, char *dir,
                                                      const struct kgc_api_gateway **gw)
{
    if (e->sync)
        sync_close(e);
    assert_non_null(mkdtemp(dir));
    struct kgc_listenercache *lc = lc_open(dir);
    sync_open_lc(e, true, lc);
    kgc_sync_mark_dirty(e->sync);
    *gw = kgc_api_as_gateway(fixture_set_find(e->set, KGC_API_GATEWAY, NS, "gw"));
    assert_true(wait_programmed(e, *gw, 5));
    return lc;
}

/* kgc restarts while every Kong is down: the Gateway set of the last configuration a Kong
 * accepted comes back from the listener cache's LMDB environment, so a Gateway it carried stays
 * Programmed (the data plane kept serving it); a newer generation, or a fresh cache, does not. */
static void test_accepted_set_survives_restart(void **state)
{
    struct env *e = *state;
    char dir[] = "/tmp/kgc-sync-lc-XXXXXX", fresh[] = "/tmp/kgc-sync-lc-XXXXXX";
    const struct kgc_api_gateway *gw = NULL;
    struct kgc_listenercache *lc = sync_open_programmed(e, dir, &gw);
    assert_non_null(mkdtemp(fresh));
    char why[256] = "";
    bool ok;
    sync_close(e);
    kgc_listenercache_close(lc);

    /* the next process: no Kong instance ready (none known yet) */
    struct kgc_sync_options so;
    kgc_sync_options_default(&so);
    struct kgc_err err = {0};
    for (int pass = 0; pass < 2; pass++) {
        lc = lc_open(pass ? fresh : dir);
        struct kgc_sync *s = NULL;
        assert_int_equal(kgc_sync_new(&so, &e->lk, NULL, lc, &s, &err), 0);
        why[0] = '\0';
        ok = kgc_sync_gateway_programmed(s, gw, why, sizeof(why));
        print_message("%s cache: programmed=%d %s\n", pass ? "fresh" : "stored", ok, why);
        if (pass == 0)
            assert_true(ok); /* restored */
        else
            assert_false(ok); /* nothing known: Pending, as before */
        kgc_sync_free(s);
        kgc_listenercache_close(lc);
    }

    /* a generation the stored configuration did not carry is not Programmed */
    pthread_mutex_lock(&set_mu);
    assert_non_null(fixture_set_update(e->set, KGC_API_GATEWAY, NS, "gw", true));
    gw = kgc_api_as_gateway(fixture_set_find(e->set, KGC_API_GATEWAY, NS, "gw"));
    pthread_mutex_unlock(&set_mu);
    lc = lc_open(dir);
    struct kgc_sync *s = NULL;
    assert_int_equal(kgc_sync_new(&so, &e->lk, NULL, lc, &s, &err), 0);
    assert_false(kgc_sync_gateway_programmed(s, gw, why, sizeof(why)));
    kgc_sync_free(s);
    kgc_listenercache_close(lc);
    rm_lc_dir(dir);
    rm_lc_dir(fresh);
}

/* kgc restarted while every Kong is down, then the Kongs come back empty: until the re-push is
 * answered they count as carrying what the last process saw accepted (no Programmed flap). */
static void test_restored_set_carried_until_repush(void **state)
{
    struct env *e = *state;
    char dir[] = "/tmp/kgc-sync-lc-XXXXXX";
    const struct kgc_api_gateway *gw = NULL;
    struct kgc_listenercache *lc = sync_open_programmed(e, dir, &gw);
    char why[256] = "";
    bool ok;
    uint64_t t0;
    sync_close(e);
    kgc_listenercache_close(lc);

    unsigned ports[2] = {e->kong[0].port, e->kong[1].port};
    proc_kill(&e->kong[0]);
    proc_kill(&e->kong[1]);
    lc = lc_open(dir);
    sync_open_lc(e, true, lc);
    kgc_sync_mark_dirty(e->sync);
    assert_true(kgc_sync_gateway_programmed(e->sync, gw, why, sizeof(why))); /* restored */
    struct kgc_sync_stats before = stats(e);
    for (int k = 0; k < 2; k++)
        restart_failing(&e->kong[k], ports[k], "1", "429");
    t0 = kgc_clock_now(NULL);
    while (stats(e).pushes[KGC_KONG_PUSH_BUSY] < before.pushes[KGC_KONG_PUSH_BUSY] + 2 &&
           kgc_clock_now(NULL) - t0 < 3 * KGC_NS_PER_S)
        poll_pause();
    assert_true(stats(e).pushes[KGC_KONG_PUSH_BUSY] >= before.pushes[KGC_KONG_PUSH_BUSY] + 2);
    ok = kgc_sync_gateway_programmed(e->sync, gw, why, sizeof(why));
    print_message("both back empty, re-push answered 429: programmed=%d %s\n", ok, ok ? "" : why);
    assert_true(ok);
    t0 = kgc_clock_now(NULL);
    while (stats(e).pushes[KGC_KONG_PUSH_APPLIED] < before.pushes[KGC_KONG_PUSH_APPLIED] + 2 &&
           kgc_clock_now(NULL) - t0 < 5 * KGC_NS_PER_S)
        poll_pause();
    assert_true(stats(e).pushes[KGC_KONG_PUSH_APPLIED] >= before.pushes[KGC_KONG_PUSH_APPLIED] + 2);
    assert_true(kgc_sync_gateway_programmed(e->sync, gw, why, sizeof(why)));
    sync_close(e);
    kgc_listenercache_close(lc);
    rm_lc_dir(dir);
}

/* The stored record's hash ("" when there is none) into out. */
static void stored_hash(struct kgc_listenercache *lc, char out[KGC_KONG_HASH_LEN + 1])
{
    char *rec = NULL;
    size_t len = 0;
    out[0] = '\0';
    if (kgc_store_get(kgc_listenercache_store(lc), "rec:sync-accepted", &rec, &len, NULL) != 0)
        return;
    const char *nl = memchr(rec, '\n', len);
    if (nl && (size_t)(rec + len - nl) > KGC_KONG_HASH_LEN) {
        memcpy(out, nl + 1, KGC_KONG_HASH_LEN);
        out[KGC_KONG_HASH_LEN] = '\0';
    }
    free(rec);
}

/* The current configuration's hash, as /debug shows it. */
static void current_hash(struct env *e, char out[KGC_KONG_HASH_LEN + 1])
{
    char *j = kgc_sync_status_json(e->sync);
    json_object *o = j ? json_tokener_parse(j) : NULL;
    json_object *h = NULL;
    snprintf(out, KGC_KONG_HASH_LEN + 1, "%s",
             o && json_object_object_get_ex(o, "hash", &h) ? json_object_get_string(h) : "");
    json_object_put(o);
    free(j);
}

/* A configuration Kong accepted with the same Gateways at the same generations as the stored
 * record (a route change) is not written at once: every record write waits for the disk. The
 * newest waits in memory and is written when the syncer stops. */
static void test_record_same_gateways_written_later(void **state)
{
    struct env *e = *state;
    char dir[] = "/tmp/kgc-sync-lc-XXXXXX";
    const struct kgc_api_gateway *gw = NULL;
    struct kgc_listenercache *lc = sync_open_programmed(e, dir, &gw);
    char first[KGC_KONG_HASH_LEN + 1], got[KGC_KONG_HASH_LEN + 1], now[KGC_KONG_HASH_LEN + 1];
    current_hash(e, first);
    uint64_t t0 = kgc_clock_now(NULL);
    do {
        stored_hash(lc, got);
        if (strcmp(got, first) == 0)
            break;
        poll_pause();
    } while (kgc_clock_now(NULL) - t0 < 5 * KGC_NS_PER_S);
    assert_string_equal(got, first); /* the first one at once */

    char yaml[600], err[FIXTURE_ERR_MAX];
    snprintf(yaml, sizeof(yaml),
             "apiVersion: gateway.networking.k8s.io/v1\n"
             "kind: HTTPRoute\n"
             "metadata: {name: rec-later, namespace: " NS ", uid: u-rec-later, generation: 1}\n"
             "spec:\n"
             "  parentRefs: [{name: gw}]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: /rec-later}}]\n"
             "    backendRefs: [{name: svc, port: 80}]\n");
    struct kgc_sync_stats before = stats(e);
    pthread_mutex_lock(&set_mu);
    assert_int_equal(fixture_set_add_yaml(e->set, yaml, err, sizeof(err)), 0);
    pthread_mutex_unlock(&set_mu);
    kgc_sync_mark_dirty(e->sync);
    wait_applied_by_both(e, &before);
    current_hash(e, now);
    assert_string_not_equal(now, first);
    stored_hash(lc, got);
    print_message("route added: current %s, stored %s (first %s)\n", now, got, first);
    assert_string_equal(got, first); /* the same Gateway set: not yet */
    sync_close(e);
    stored_hash(lc, got);
    assert_string_equal(got, now); /* written when the syncer stopped */
    kgc_listenercache_close(lc);
    rm_lc_dir(dir);
    pthread_mutex_lock(&set_mu);
    fixture_set_remove(e->set, KGC_API_HTTPROUTE, NS, "rec-later");
    pthread_mutex_unlock(&set_mu);
}

/* The accepted set that survives a kgc restart holds only what a Kong took: a restarted Kong whose
 * re-pushes keep failing stops counting as carrying its old configuration (Programmed changes),
 * but the configuration that failed is not recorded as accepted — a kgc started next, with no
 * Kong ready, must not call a Gateway generation Programmed that no Kong ever held. */
static void test_failed_pushes_never_recorded_as_accepted(void **state)
{
    struct env *e = *state;
    char dir[] = "/tmp/kgc-sync-lc-XXXXXX";
    const struct kgc_api_gateway *gw = NULL;
    struct kgc_listenercache *lc = sync_open_programmed(e, dir, &gw);

    /* a new Gateway generation and a new route; both Kongs restart empty and answer 503 */
    char yaml[1024], err[FIXTURE_ERR_MAX];
    snprintf(yaml, sizeof(yaml),
             "apiVersion: gateway.networking.k8s.io/v1\n"
             "kind: HTTPRoute\n"
             "metadata: {name: unaccepted, namespace: " NS ", uid: u-unaccepted, generation: 1}\n"
             "spec:\n"
             "  parentRefs: [{name: gw}]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: /never}}]\n"
             "    backendRefs: [{name: svc, port: 80}]\n");
    pthread_mutex_lock(&set_mu);
    assert_int_equal(fixture_set_add_yaml(e->set, yaml, err, sizeof(err)), 0);
    assert_non_null(fixture_set_update(e->set, KGC_API_GATEWAY, NS, "gw", true));
    gw = kgc_api_as_gateway(fixture_set_find(e->set, KGC_API_GATEWAY, NS, "gw"));
    pthread_mutex_unlock(&set_mu);
    unsigned ports[2] = {e->kong[0].port, e->kong[1].port};
    struct kgc_sync_stats before = stats(e);
    proc_kill(&e->kong[0]);
    proc_kill(&e->kong[1]);
    for (int k = 0; k < 2; k++)
        restart_failing(&e->kong[k], ports[k], "1000", "503");
    kgc_sync_mark_dirty(e->sync);
    /* KGC_SYNC_CARRIED_ATTEMPTS failures on each: backoff 100 + 200 ms, well within 10 s */
    uint64_t t0 = kgc_clock_now(NULL);
    while (stats(e).pushes[KGC_KONG_PUSH_BUSY] < before.pushes[KGC_KONG_PUSH_BUSY] + 6 &&
           kgc_clock_now(NULL) - t0 < 10 * KGC_NS_PER_S)
        poll_pause();
    assert_true(stats(e).pushes[KGC_KONG_PUSH_BUSY] >= before.pushes[KGC_KONG_PUSH_BUSY] + 6);
    char why[256] = "";
    assert_false(kgc_sync_gateway_programmed(e->sync, gw, why, sizeof(why)));
    sync_close(e);
    kgc_listenercache_close(lc);

    /* the next process, no Kong ready: only the configuration Kong accepted is known */
    struct kgc_sync_options so;
    kgc_sync_options_default(&so);
    struct kgc_err kerr = {0};
    lc = lc_open(dir);
    struct kgc_sync *s = NULL;
    assert_int_equal(kgc_sync_new(&so, &e->lk, NULL, lc, &s, &kerr), 0);
    bool ok = kgc_sync_gateway_programmed(s, gw, why, sizeof(why));
    print_message("restarted kgc, Gateway at the generation no Kong took: programmed=%d %s\n", ok,
                  why);
    assert_false(ok);
    kgc_sync_free(s);
    kgc_listenercache_close(lc);
    rm_lc_dir(dir);
    pthread_mutex_lock(&set_mu);
    fixture_set_remove(e->set, KGC_API_HTTPROUTE, NS, "unaccepted");
    pthread_mutex_unlock(&set_mu);
    /* the Kongs keep failing: start them afresh for the tests after this one */
    proc_kill(&e->kong[0]);
    proc_kill(&e->kong[1]);
    for (int k = 0; k < 2; k++)
        if (!proc_start(&e->kong[k], ports[k]))
            fail_msg("kgc-test-kong did not restart on port %u", ports[k]);
}

/* Which cache changes mark the configuration dirty: kgc's own status writes come back as watch
 * events and must not cost a translation each; a spec, label or annotation change must. */
static const struct kgc_api_obj *parse_obj(enum kgc_api_kind kind, const char *json)
{
    struct kgc_api_obj *o = NULL;
    struct kgc_err err = {0};
    if (kgc_api_parse_text(kind, json, strlen(json), &o, &err) != 0)
        fail_msg("parse: %s", err.msg);
    return o;
}

#define GWJ(gen, ann, status)                                                                      \
    "{\"apiVersion\":\"gateway.networking.k8s.io/"                                                 \
    "v1\",\"kind\":\"Gateway\",\"metadata\":{\"name\":"                                            \
    "\"g\",\"namespace\":\"n\",\"uid\":\"u\",\"resourceVersion\":\"" #gen status                   \
    "\",\"generation\":" #gen ann "},\"spec\":{\"gatewayClassName\":\"kgc\",\"listeners\":[{"      \
    "\"name\":\"h\",\"port\":80,\"protocol\":\"HTTP\"}]},\"status\":{\"conditions\":[{\"type\":"   \
    "\"Accepted\",\"status\":\"" status "\",\"reason\":\"Accepted\",\"message\":\"\","             \
    "\"lastTransitionTime\":\"2026-12-06T00:00:00Z\"}]}}"

static void test_status_only_changes(void **state)
{
    (void)state;
    const struct kgc_api_obj *a = parse_obj(KGC_API_GATEWAY, GWJ(1, "", "False"));
    const struct kgc_api_obj *b = parse_obj(KGC_API_GATEWAY, GWJ(1, "", "True"));
    const struct kgc_api_obj *c = parse_obj(KGC_API_GATEWAY, GWJ(2, "", "True"));
    const struct kgc_api_obj *d =
        parse_obj(KGC_API_GATEWAY, GWJ(1, ",\"annotations\":{\"x\":\"y\"}", "True"));
    assert_true(kgc_sync_change_is_status_only(KGC_API_GATEWAY, a, b));     /* our own write */
    assert_false(kgc_sync_change_is_status_only(KGC_API_GATEWAY, a, c));    /* spec: generation */
    assert_false(kgc_sync_change_is_status_only(KGC_API_GATEWAY, b, d));    /* an annotation */
    assert_false(kgc_sync_change_is_status_only(KGC_API_GATEWAY, NULL, a)); /* added */
    assert_false(kgc_sync_change_is_status_only(KGC_API_GATEWAY, a, NULL)); /* deleted */
    /* kinds without a generation always count */
    assert_false(kgc_sync_change_is_status_only(KGC_API_SERVICE, a, b));
    kgc_api_obj_unref(a);
    kgc_api_obj_unref(b);
    kgc_api_obj_unref(c);
    kgc_api_obj_unref(d);
}

/* ---- route verdicts --------------------------------------------------------------------------
 */

struct verdict_rec {
    pthread_mutex_t mu;
    int calls;     /* the ROUTE_VERDICT announcement for the route "partial" */
    int calls_all; /* for any route */
};

static struct verdict_rec vrec = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void on_verdict_changed(void *ctx, const struct kgc_sync_change *ch)
{
    struct verdict_rec *r = ctx;
    if (ch->what != KGC_SYNC_CHANGE_ROUTE_VERDICT)
        return;
    const char *ns = ch->ns, *name = ch->name;
    pthread_mutex_lock(&r->mu);
    r->calls_all++;
    if (strcmp(ns, NS) == 0 && strcmp(name, "partial") == 0)
        r->calls++;
    pthread_mutex_unlock(&r->mu);
}

static int verdict_calls(void)
{
    pthread_mutex_lock(&vrec.mu);
    int n = vrec.calls;
    pthread_mutex_unlock(&vrec.mu);
    return n;
}

/* A syncer with the verdict hook (no listener cache); not started as the leader when !leader. */
static void verdict_sync_open(struct env *e, bool leader)
{
    struct kgc_kong_options ko;
    kgc_kong_options_default(&ko);
    ko.probe_interval_ms = 200;
    ko.heartbeat_interval_ms = 0;
    struct kgc_err err = {0};
    assert_int_equal(kgc_kong_new(&ko, &e->reg, &err), 0);
    struct kgc_sync_options so;
    kgc_sync_options_default(&so);
    if (kgc_sync_new(&so, &e->lk, e->reg, NULL, &e->sync, &err) != 0)
        fail_msg("syncer: %s", err.msg);
    assert_int_equal(kgc_sync_subscribe(e->sync, on_verdict_changed, &vrec), 0);
    kgc_sync_set_leader(e->sync, leader);
    assert_int_equal(kgc_sync_start(e->sync, &err), 0);
    const char *urls[] = {e->kong[0].url, e->kong[1].url};
    assert_int_equal(kgc_kong_set_instances(e->reg, urls, 2, &err), 0);
}

/* Waits (3 s at most) until the ROUTE_VERDICT announcement fired more than `than` times for
 * "partial". */
static bool wait_verdict_calls(int than)
{
    uint64_t t0 = kgc_clock_now(NULL);
    while (verdict_calls() <= than && kgc_clock_now(NULL) - t0 < 3 * KGC_NS_PER_S)
        poll_pause();
    return verdict_calls() > than;
}

static void put_partial_route(struct fixture_set *set, int generation, bool fixed)
{
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "apiVersion: gateway.networking.k8s.io/v1\n"
             "kind: HTTPRoute\n"
             "metadata: {name: partial, namespace: " NS ", uid: u-partial, generation: %d}\n"
             "spec:\n"
             "  parentRefs: [{name: gw}]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: /ok}}]\n"
             "    backendRefs: [{name: svc, port: 80}]\n"
             "  - matches: [{path: {type: PathPrefix, value: /ext}}]\n"
             "%s"
             "    backendRefs: [{name: svc, port: 80}]\n",
             generation,
             fixed ? ""
                   : "    filters: [{type: ExtensionRef, extensionRef: {group: example.com, "
                     "kind: Auth, name: x}}]\n");
    char err[FIXTURE_ERR_MAX];
    pthread_mutex_lock(&set_mu);
    int rc = fixture_set_add_yaml(set, yaml, err, sizeof(err));
    pthread_mutex_unlock(&set_mu);
    if (rc != 0)
        fail_msg("fixture: %s", err);
}

static void route_verdict(struct env *e, struct kgc_status_route_verdict *v)
{
    pthread_mutex_lock(&set_mu);
    const struct kgc_api_obj *ro = fixture_set_find(e->set, KGC_API_HTTPROUTE, NS, "partial");
    pthread_mutex_unlock(&set_mu);
    assert_non_null(ro);
    kgc_sync_route_verdict(e->sync, kgc_api_as_httproute(ro), v);
}

/* A route with one rule the translator drops: its verdict (PartiallyInvalid "Dropped Rule 1") is
 * pending — so its status is not written — until a translation judged that version, and the
 * translation that does reports the route (the lead re-queues it); a restarted kgc (a new syncer)
 * judges it again; a new generation is pending again until translated. */
static void test_route_verdict_known_before_first_status(void **state)
{
    struct env *e = *state;
    if (e->sync)
        sync_close(e);
    put_partial_route(e->set, 1, false);
    verdict_sync_open(e, false); /* not the leader: nothing translated yet */
    struct kgc_status_route_verdict v;
    route_verdict(e, &v);
    assert_true(v.pending);
    assert_int_equal(verdict_calls(), 0);

    int calls = verdict_calls();
    kgc_sync_set_leader(e->sync, true);
    kgc_sync_mark_dirty(e->sync);
    assert_true(wait_verdict_calls(calls));
    route_verdict(e, &v);
    print_message("judged: pending=%d accepted_reason=%s partially_invalid=\"%s\"\n", v.pending,
                  v.accepted_reason ? v.accepted_reason : "-", v.partially_invalid);
    assert_false(v.pending);
    assert_null(v.accepted_reason);
    assert_true(strncmp(v.partially_invalid, "Dropped Rule 1", 14) == 0);
    pthread_mutex_lock(&vrec.mu);
    assert_true(vrec.calls_all >= 2); /* every route judged the first time: r1 too */
    pthread_mutex_unlock(&vrec.mu);

    /* an unrelated change: same verdict, the route is not reported again */
    calls = verdict_calls();
    put_route(e->set, "r8", "/eight", false, 1);
    kgc_sync_mark_dirty(e->sync);
    /* the verdicts are recorded and announced before the push that put r8 on both */
    assert_true(wait_both(e, "httproute." NS ".r8.0.0") >= 0);
    assert_int_equal(verdict_calls(), calls);

    /* kgc restarts: the new process judges it again before its first status write */
    sync_close(e);
    verdict_sync_open(e, true);
    route_verdict(e, &v);
    assert_true(v.pending);
    calls = verdict_calls();
    kgc_sync_mark_dirty(e->sync);
    assert_true(wait_verdict_calls(calls));
    route_verdict(e, &v);
    assert_false(v.pending);
    assert_true(strncmp(v.partially_invalid, "Dropped Rule 1", 14) == 0);

    /* fixed (generation 2): pending until translated, then reported with no objection */
    put_partial_route(e->set, 2, true);
    route_verdict(e, &v);
    assert_true(v.pending);
    calls = verdict_calls();
    kgc_sync_mark_dirty(e->sync);
    assert_true(wait_verdict_calls(calls));
    route_verdict(e, &v);
    assert_false(v.pending);
    assert_null(v.accepted_reason);
    assert_string_equal(v.partially_invalid, "");
    sync_close(e);
    pthread_mutex_lock(&set_mu);
    fixture_set_remove(e->set, KGC_API_HTTPROUTE, NS, "partial");
    pthread_mutex_unlock(&set_mu);
}

/* Tells the syncer (as the cache would) that kind ns/name changed from old_obj to what the set
 * holds now (NULL: deleted). Takes old_obj's reference. */
static void object_changed(struct env *e, enum kgc_api_kind kind, const char *name,
                           const struct kgc_api_obj *old_obj)
{
    pthread_mutex_lock(&set_mu);
    const struct kgc_api_obj *now = kgc_api_obj_ref(fixture_set_find(e->set, kind, NS, name));
    pthread_mutex_unlock(&set_mu);
    kgc_sync_on_object_change(kind, old_obj, now, e->sync);
    kgc_api_obj_unref(old_obj);
    kgc_api_obj_unref(now);
}

static const struct kgc_api_obj *held(struct env *e, enum kgc_api_kind kind, const char *name)
{
    pthread_mutex_lock(&set_mu);
    const struct kgc_api_obj *o = kgc_api_obj_ref(fixture_set_find(e->set, kind, NS, name));
    pthread_mutex_unlock(&set_mu);
    return o;
}

static void put_plugin(struct fixture_set *set)
{
    char err[FIXTURE_ERR_MAX];
    pthread_mutex_lock(&set_mu);
    int rc = fixture_set_add_yaml(set,
                                  "apiVersion: configuration.konghq.com/v1\n"
                                  "kind: KongPlugin\n"
                                  "metadata: {name: auth, namespace: " NS ", generation: 1}\n"
                                  "plugin: response-transformer\n"
                                  "config: {add: {headers: ['x-a:b']}}\n",
                                  err, sizeof(err));
    pthread_mutex_unlock(&set_mu);
    if (rc != 0)
        fail_msg("fixture: %s", err);
}

/* A build driven by object changes (as the cache reports them) copies the Gateway set the last
 * walk found while no GatewayClass or Gateway changed (build.c gateway_set): a route change keeps
 * the Gateway programmed; the Gateway's next generation, reported as a Gateway change beside a
 * route change, is walked again and programmed at that generation. */
static void test_gateway_set_follows_gateway_changes(void **state)
{
    struct env *e = *state;
    /* continues from test_route_change_wakes_no_gateway: both hold gw at generation 3 */
    char why[256] = "";
    const struct kgc_api_obj *old_gw = held(e, KGC_API_GATEWAY, "gw");
    assert_true(wait_programmed(e, kgc_api_as_gateway(old_gw), 5));
    const struct kgc_api_obj *old = held(e, KGC_API_HTTPROUTE, "rq");
    put_route(e->set, "rq", "/q3", false, 3);
    object_changed(e, KGC_API_HTTPROUTE, "rq", old);
    assert_true(wait_both(e, "q3") >= 0);
    assert_true(kgc_sync_gateway_programmed(e->sync, kgc_api_as_gateway(old_gw), why, sizeof(why)));

    const struct kgc_api_gateway *gw = bump_gateway(e, 4);
    object_changed(e, KGC_API_GATEWAY, "gw", old_gw);
    old = held(e, KGC_API_HTTPROUTE, "rq");
    put_route(e->set, "rq", "/q4", false, 4); /* the text changes too */
    object_changed(e, KGC_API_HTTPROUTE, "rq", old);
    bool ok = wait_programmed(e, gw, 5);
    if (!ok)
        kgc_sync_gateway_programmed(e->sync, gw, why, sizeof(why));
    print_message("generation 4 programmed=%d %s\n", ok, ok ? "" : why);
    assert_true(ok);
}

/* Once a whole walk was recorded, a translation driven by object changes judges only the routes
 * they name and those whose verdict can move without a change of their own: a route whose
 * ExtensionRef plugin appears, then goes, is reported each time; an unrelated route change does
 * not report it; a deleted route's verdict is pending again. */
static void test_route_verdicts_follow_object_changes(void **state)
{
    struct env *e = *state;
    if (e->sync)
        sync_close(e);
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "apiVersion: gateway.networking.k8s.io/v1\n"
             "kind: HTTPRoute\n"
             "metadata: {name: partial, namespace: " NS ", uid: u-partial2, generation: 1}\n"
             "spec:\n"
             "  parentRefs: [{name: gw}]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: /ext}}]\n"
             "    filters: [{type: ExtensionRef, extensionRef: {group: configuration.konghq.com, "
             "kind: KongPlugin, name: auth}}]\n"
             "    backendRefs: [{name: svc, port: 80}]\n");
    char err[FIXTURE_ERR_MAX];
    pthread_mutex_lock(&set_mu);
    fixture_set_remove(e->set, KGC_API_KONGPLUGIN, NS, "auth");
    assert_int_equal(fixture_set_add_yaml(e->set, yaml, err, sizeof(err)), 0);
    pthread_mutex_unlock(&set_mu);
    verdict_sync_open(e, true);
    int calls = verdict_calls();
    kgc_sync_mark_dirty(e->sync); /* the first walk is a whole one */
    assert_true(wait_verdict_calls(calls));
    struct kgc_status_route_verdict v;
    route_verdict(e, &v);
    print_message("plugin missing: resolved_refs_reason=%s\n",
                  v.resolved_refs_reason ? v.resolved_refs_reason : "-");
    assert_false(v.pending);
    assert_non_null(v.resolved_refs_reason);

    /* the plugin appears: the route did not change, its verdict did */
    calls = verdict_calls();
    put_plugin(e->set);
    object_changed(e, KGC_API_KONGPLUGIN, "auth", NULL);
    assert_true(wait_verdict_calls(calls));
    route_verdict(e, &v);
    assert_false(v.pending);
    assert_null(v.resolved_refs_reason);

    /* an unrelated route changes: this one is not reported */
    calls = verdict_calls();
    put_route(e->set, "r9", "/nine", false, 1);
    object_changed(e, KGC_API_HTTPROUTE, "r9", NULL);
    assert_true(wait_both(e, "httproute." NS ".r9.0.0") >= 0);
    assert_int_equal(verdict_calls(), calls);

    /* the plugin goes: reported again, with the missing reference */
    const struct kgc_api_obj *old = held(e, KGC_API_KONGPLUGIN, "auth");
    pthread_mutex_lock(&set_mu);
    fixture_set_remove(e->set, KGC_API_KONGPLUGIN, NS, "auth");
    pthread_mutex_unlock(&set_mu);
    object_changed(e, KGC_API_KONGPLUGIN, "auth", old);
    assert_true(wait_verdict_calls(calls));
    route_verdict(e, &v);
    assert_false(v.pending);
    assert_non_null(v.resolved_refs_reason);

    /* a new generation of the route itself: pending, then judged */
    old = held(e, KGC_API_HTTPROUTE, "partial");
    put_partial_route(e->set, 2, true); /* (uid u-partial: a new object under the same name) */
    route_verdict(e, &v);
    assert_true(v.pending);
    calls = verdict_calls();
    object_changed(e, KGC_API_HTTPROUTE, "partial", old);
    assert_true(wait_verdict_calls(calls));
    route_verdict(e, &v);
    assert_false(v.pending);
    assert_string_equal(v.partially_invalid, "");

    /* deleted: its entry goes (a route of that name created later is pending until judged) */
    old = held(e, KGC_API_HTTPROUTE, "partial");
    const struct kgc_api_obj *keep = kgc_api_obj_ref(old);
    pthread_mutex_lock(&set_mu);
    fixture_set_remove(e->set, KGC_API_HTTPROUTE, NS, "partial");
    pthread_mutex_unlock(&set_mu);
    object_changed(e, KGC_API_HTTPROUTE, "partial", old);
    uint64_t t0 = kgc_clock_now(NULL);
    bool pending = false;
    while (!pending && kgc_clock_now(NULL) - t0 < 3 * KGC_NS_PER_S) {
        kgc_sync_route_verdict(e->sync, kgc_api_as_httproute(keep), &v);
        pending = v.pending;
        poll_pause();
    }
    assert_true(pending);
    kgc_api_obj_unref(keep);
    sync_close(e);
    pthread_mutex_lock(&set_mu);
    fixture_set_remove(e->set, KGC_API_HTTPROUTE, NS, "r9");
    pthread_mutex_unlock(&set_mu);
}

/* Gateway gw2 with listeners a and b (b present: a and b conflict on port 8000, same hostname)
 * and ok; params adds an infrastructure parametersRef (Accepted=False/InvalidParameters). */
static void put_gw2(struct fixture_set *set, bool conflict, bool params, int generation)
{
    char yaml[2048];
    snprintf(
        yaml, sizeof(yaml),
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: gw2, namespace: " NS ", generation: %d}\n"
        "spec:\n"
        "  gatewayClassName: sync-class\n"
        "%s"
        "  listeners:\n"
        "  - {name: a, protocol: HTTP, port: 8000, hostname: a.example.com}\n"
        "%s"
        "  - {name: ok, protocol: HTTP, port: 8000, hostname: ok.example.com}\n",
        generation,
        params ? "  infrastructure: {parametersRef: {group: example.com, kind: P, name: x}}\n" : "",
        conflict ? "  - {name: b, protocol: HTTP, port: 8000, hostname: a.example.com}\n" : "");
    char err[FIXTURE_ERR_MAX];
    pthread_mutex_lock(&set_mu);
    int rc = fixture_set_add_yaml(set, yaml, err, sizeof(err));
    pthread_mutex_unlock(&set_mu);
    if (rc != 0)
        fail_msg("fixture: %s", err);
}

static void put_section_route(struct fixture_set *set, const char *name, const char *section)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "apiVersion: gateway.networking.k8s.io/v1\n"
             "kind: HTTPRoute\n"
             "metadata: {name: %s, namespace: " NS ", generation: 1}\n"
             "spec:\n"
             "  parentRefs: [{name: gw2, sectionName: %s}]\n"
             "  rules: [{backendRefs: [{name: svc, port: 80}]}]\n",
             name, section);
    char err[FIXTURE_ERR_MAX];
    pthread_mutex_lock(&set_mu);
    int rc = fixture_set_add_yaml(set, yaml, err, sizeof(err));
    pthread_mutex_unlock(&set_mu);
    if (rc != 0)
        fail_msg("fixture: %s", err);
}

/* Waits (5 s at most) until neither instance's GET /config mentions needle (both answering). */
static bool wait_neither(struct env *e, const char *needle)
{
    uint64_t t0 = kgc_clock_now(NULL);
    while (kgc_clock_now(NULL) - t0 < 5 * KGC_NS_PER_S) {
        long s0 = 0, s1 = 0;
        char *b0 = http(e->kong[0].url, "/config", false, &s0);
        char *b1 = http(e->kong[1].url, "/config", false, &s1);
        bool gone = s0 == 200 && s1 == 200 && !strstr(b0, needle) && !strstr(b1, needle);
        free(b0);
        free(b1);
        if (gone)
            return true;
        poll_pause();
    }
    return false;
}

#define RCONF "httproute." NS ".on-a.0.0"
#define ROK   "httproute." NS ".on-ok.0.0"

/* Only usable listeners carry routes, and a listener or Gateway that becomes invalid takes its
 * routes out of Kong in the next push. */
static void test_only_usable_listeners_pushed(void **state)
{
    struct env *e = *state;
    if (e->sync)
        sync_close(e);
    put_gw2(e->set, true, false, 1);
    put_section_route(e->set, "on-a", "a");
    put_section_route(e->set, "on-ok", "ok");
    sync_open(e, true);
    kgc_sync_mark_dirty(e->sync);
    assert_true(wait_both(e, ROK) >= 0);
    assert_false(config_has(e->kong[0].url, RCONF)); /* a is Conflicted with b */
    assert_false(config_has(e->kong[1].url, RCONF));

    put_gw2(e->set, false, false, 2); /* b removed: a is usable */
    kgc_sync_mark_dirty(e->sync);
    long ms = wait_both(e, RCONF);
    print_message("conflict resolved: route pushed after %ld ms\n", ms);
    assert_true(ms >= 0);

    put_gw2(e->set, false, true, 3); /* the Gateway is no longer Accepted */
    kgc_sync_mark_dirty(e->sync);
    assert_true(wait_neither(e, "httproute." NS ".on-"));
    assert_true(config_has(e->kong[0].url, R1)); /* gw's route stays */

    sync_close(e);
    pthread_mutex_lock(&set_mu);
    fixture_set_remove(e->set, KGC_API_HTTPROUTE, NS, "on-a");
    fixture_set_remove(e->set, KGC_API_HTTPROUTE, NS, "on-ok");
    fixture_set_remove(e->set, KGC_API_GATEWAY, NS, "gw2");
    pthread_mutex_unlock(&set_mu);
}

/* The thread takes its time from the injected clock: with a fake clock and an hour of debounce,
 * the first change is translated at once (leading edge), and a second one within the hour is
 * translated and pushed as soon as the fake clock moves an hour (and not before). */
static void test_fake_clock_drives_thread(void **state)
{
    struct env *e = *state;
    if (e->sync)
        sync_close(e);
    struct kgc_clock fake;
    /* far beyond the real monotonic clock: read by mistake, it never reaches the deadline */
    kgc_clock_fake_init(&fake, 1000000000ULL * KGC_NS_PER_S);
    struct kgc_sync_options so;
    kgc_sync_options_default(&so);
    so.debounce_ns = 3600 * KGC_NS_PER_S;
    so.max_delay_ns = 2 * 3600 * KGC_NS_PER_S;
    so.incremental = false; /* no upkeep translation: the count below is the changes' */
    so.clock = &fake;
    struct kgc_err err = {0};
    struct kgc_sync *s = NULL;
    assert_int_equal(kgc_sync_new(&so, &e->lk, NULL, NULL, &s, &err), 0);
    assert_int_equal(kgc_sync_add_instance(s, e->kong[0].url, &err), 0);
    kgc_sync_set_leader(s, true);
    assert_int_equal(kgc_sync_start(s, &err), 0);
    kgc_sync_mark_dirty(s); /* after a quiet period (none yet): translated at once */
    struct kgc_sync_stats st;
    uint64_t w0 = kgc_clock_now(NULL);
    do {
        poll_pause();
        kgc_sync_stats(s, &st);
    } while (st.translations < 1 && kgc_clock_now(NULL) - w0 < 5 * KGC_NS_PER_S);
    assert_int_equal(st.translations, 1);
    put_route(e->set, "fc", "/fc", false, 1);
    kgc_sync_mark_dirty(s);
    kgc_sync_stats(s, &st);
    assert_int_equal(st.translations, 1); /* the fake clock has not moved: not due */
    kgc_clock_fake_advance(&fake, 3600 * KGC_NS_PER_S);
    uint64_t t0 = kgc_clock_now(NULL);
    while (!config_has(e->kong[0].url, "httproute." NS ".fc.0.0") &&
           kgc_clock_now(NULL) - t0 < 5 * KGC_NS_PER_S)
        poll_pause();
    print_message("fake clock moved an hour: pushed after %llu ms of real time\n",
                  (unsigned long long)((kgc_clock_now(NULL) - t0) / KGC_NS_PER_MS));
    assert_true(config_has(e->kong[0].url, "httproute." NS ".fc.0.0"));
    kgc_sync_stats(s, &st);
    assert_int_equal(st.translations, 2);
    kgc_sync_free(s);
    pthread_mutex_lock(&set_mu);
    fixture_set_remove(e->set, KGC_API_HTTPROUTE, NS, "fc");
    pthread_mutex_unlock(&set_mu);
}

/* ---- the state machine, driven directly: made-up times, events and blobs, no thread ----------
 * (pkg/sync/machine.c). Times are nanoseconds from 0; a blob is a hash and a Gateway set. */

#define MS  KGC_NS_PER_MS
#define H_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define H_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define H_C "cccccccccccccccccccccccccccccccc"
#define H_X "99999999999999999999999999999999" /* a configuration someone else loaded */
#define H_0 KGC_KONG_EMPTY_HASH
#define K1  "http://kong-1:8001"
#define K2  "http://kong-2:8001"
#define GW  "ns/gw"
#define GW2 "ns/gw2"

/* A blob of hash holding GW at generation gen (gen 0: no Gateway). */
static struct kgc_sync_blob *mkblob(const char *hash, bool empty, int64_t gen)
{
    struct kgc_sync_blob *b = kgc_sync_blob_new(hash, empty);
    assert_non_null(b);
    if (gen)
        assert_int_equal(kgc_sync_blob_add_gateway(b, GW, gen), 0);
    return b;
}

/* A leader machine (debounce 100 ms, max delay 1 s) with no instance. */
static void m_init(struct kgc_sync_machine *m)
{
    kgc_sync_machine_init(m, 100 * MS, 1000 * MS);
    kgc_sync_machine_set_leader(m, true);
}

static bool m_event(struct kgc_sync_machine *m, enum kgc_kong_event_type type, const char *url,
                    const char *node, const char *hash, const char **why)
{
    const char *w = NULL;
    bool changed = kgc_sync_machine_event(m, type, url, node, hash, &w);
    if (why)
        *why = w;
    return changed;
}

/* Asserts the next decision at now is what, and returns it (a PUSH's blob reference dropped:
 * the machine's own slots keep the blobs alive in these tests). */
static struct kgc_sync_decision m_expect(struct kgc_sync_machine *m, uint64_t now,
                                         enum kgc_sync_do what)
{
    struct kgc_sync_decision d = kgc_sync_machine_next(m, now);
    if (d.what != what)
        fail_msg("at %llu ms: decision %d, want %d", (unsigned long long)(now / MS), d.what, what);
    kgc_sync_blob_unref(d.blob);
    return d;
}

/* Asserts the next decision is a push of hash to url; returns the instance. */
static struct kgc_sync_inst *m_expect_push(struct kgc_sync_machine *m, uint64_t now,
                                           const char *url, const char *hash)
{
    struct kgc_sync_decision d = kgc_sync_machine_next(m, now);
    if (d.what != KGC_SYNC_DO_PUSH)
        fail_msg("at %llu ms: decision %d, want a push", (unsigned long long)(now / MS), d.what);
    assert_string_equal(d.inst->url, url);
    assert_string_equal(d.blob->hash, hash);
    kgc_sync_blob_unref(d.blob);
    return d.inst;
}

/* The translation the machine asks for at now produces b (the machine takes a reference). */
static void m_translate(struct kgc_sync_machine *m, uint64_t now, struct kgc_sync_blob *b,
                        bool fresh)
{
    struct kgc_sync_decision d = m_expect(m, now, KGC_SYNC_DO_TRANSLATE);
    assert_int_equal(d.fresh, fresh);
    kgc_sync_machine_translated(m, b, d.fresh);
    kgc_sync_blob_unref(b);
}

static bool m_answer(struct kgc_sync_machine *m, struct kgc_sync_inst *i, uint64_t now,
                     enum kgc_kong_push_kind kind, unsigned retry_after_s, size_t n_new_broken)
{
    struct kgc_sync_push_outcome o = {
        .kind = kind, .retry_after_s = retry_after_s, .n_new_broken = n_new_broken};
    struct kgc_sync_blob *b =
        kgc_sync_blob_ref(i->inflight_hash[0] && m->cur &&
                                  strcmp(kgc_sync_blob_kong_hash(m->cur), i->inflight_hash) == 0
                              ? m->cur
                              : m->last_good);
    bool changed = kgc_sync_machine_push_done(m, i, b, &o, now);
    kgc_sync_blob_unref(b);
    return changed;
}

static bool m_fail(struct kgc_sync_machine *m, struct kgc_sync_inst *i, uint64_t now)
{
    struct kgc_sync_push_outcome o = {.failed = true};
    return kgc_sync_machine_push_done(m, i, m->cur, &o, now);
}

static bool m_programmed(struct kgc_sync_machine *m, int64_t gen)
{
    char why[256] = "";
    return kgc_sync_machine_programmed(m, GW, gen, why, sizeof(why));
}

/* A machine at time 0 with cur = A (GW gen 1) accepted by K1 (node n1). */
static struct kgc_sync_inst *m_synced(struct kgc_sync_machine *m, const char *hash)
{
    m_init(m);
    kgc_sync_machine_mark(m, 0);
    m_translate(m, 100 * MS, mkblob(hash, false, 1), true);
    assert_true(m_event(m, KGC_KONG_EV_READY, K1, "n1", hash, NULL));
    struct kgc_sync_inst *i = m_expect_push(m, 100 * MS, K1, hash);
    assert_true(m_answer(m, i, 110 * MS, KGC_KONG_PUSH_UNCHANGED, 0, 0));
    m_expect(m, 110 * MS, KGC_SYNC_DO_IDLE);
    return i;
}

/* A change after a quiet period (no translation for a debounce) is translated at once (leading
 * edge); the marks that follow within a debounce of that translation are coalesced into one
 * translation a debounce after the last of them, never later than max_delay after the first;
 * nothing before the first mark. */
static void test_m_debounce(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    m_init(&m);
    m_expect(&m, 5000 * MS, KGC_SYNC_DO_IDLE); /* nothing marked: an empty cache never pushes */
    /* the first change: at once */
    kgc_sync_machine_mark(&m, 5000 * MS);
    m_translate(&m, 5000 * MS, mkblob(H_A, false, 1), true);
    m_expect(&m, 5000 * MS, KGC_SYNC_DO_IDLE);
    /* a burst right after it: one translation a debounce after its last mark */
    for (uint64_t t = 5050 * MS; t <= 5150 * MS; t += 50 * MS)
        kgc_sync_machine_mark(&m, t);
    struct kgc_sync_decision d = m_expect(&m, 5160 * MS, KGC_SYNC_DO_WAIT);
    assert_int_equal(d.until_ns, 5250 * MS);
    m_translate(&m, 5250 * MS, mkblob(H_B, false, 2), true);
    m_expect(&m, 5250 * MS, KGC_SYNC_DO_IDLE);
    /* a mark within a debounce of that translation waits too */
    kgc_sync_machine_mark(&m, 5300 * MS);
    d = m_expect(&m, 5300 * MS, KGC_SYNC_DO_WAIT);
    assert_int_equal(d.until_ns, 5400 * MS);
    m_translate(&m, 5400 * MS, mkblob(H_A, false, 3), true);
    /* quiet for a debounce: the next change is translated at once again */
    kgc_sync_machine_mark(&m, 5500 * MS);
    m_translate(&m, 5500 * MS, mkblob(H_B, false, 4), true);
    /* a mark every 50 ms for 2 s right after it: the first translation at max_delay after the
     * first mark */
    uint64_t t0 = 5550 * MS, translated_at = 0;
    for (uint64_t t = t0; t < t0 + 2000 * MS; t += 50 * MS) {
        kgc_sync_machine_mark(&m, t);
        struct kgc_sync_decision n = kgc_sync_machine_next(&m, t + 10 * MS);
        if (n.what == KGC_SYNC_DO_TRANSLATE) {
            translated_at = t + 10 * MS;
            break;
        }
        assert_int_equal(n.what, KGC_SYNC_DO_WAIT);
        assert_true(n.until_ns <= t0 + 1000 * MS);
    }
    assert_int_equal(translated_at, t0 + 1000 * MS + 10 * MS);
    kgc_sync_machine_free(&m);
}

/* The incremental translator's upkeep: a translation no change asks for (not fresh), once the
 * HTTPRoutes were quiet for KGC_SYNC_UPKEEP_QUIET_NS, never before a first translation, never
 * while a change is pending (that translation takes it), at most KGC_SYNC_UPKEEP_MAX_NS after it
 * was first wanted. */
static void test_m_upkeep(void **state)
{
    (void)state;
    const uint64_t q = KGC_SYNC_UPKEEP_QUIET_NS, cap = KGC_SYNC_UPKEEP_MAX_NS;
    struct kgc_sync_machine m;
    m_init(&m);
    kgc_sync_machine_want_upkeep(&m, 0);
    m_expect(&m, 2 * q, KGC_SYNC_DO_IDLE); /* nothing translated yet */
    kgc_sync_machine_mark(&m, 2 * q);
    m_translate(&m, 2 * q, mkblob(H_A, false, 1), true);
    struct kgc_sync_decision d = kgc_sync_machine_next(&m, 2 * q);
    assert_int_equal(d.what, KGC_SYNC_DO_TRANSLATE); /* quiet since 0 */
    assert_true(d.upkeep);
    assert_false(d.fresh);
    kgc_sync_machine_translated(&m, mkblob(H_A, false, 1), false);
    kgc_sync_blob_unref(m.cur); /* the reference mkblob gave; m holds its own */
    m_expect(&m, 3 * q, KGC_SYNC_DO_IDLE);
    /* status writes keep moving it... */
    uint64_t t0 = 10 * q;
    kgc_sync_machine_want_upkeep(&m, t0);
    kgc_sync_machine_want_upkeep(&m, t0 + q / 2);
    d = m_expect(&m, t0 + q, KGC_SYNC_DO_WAIT);
    assert_int_equal(d.until_ns, t0 + q / 2 + q);
    /* ... but a pending change goes first (its translation takes the routes) */
    kgc_sync_machine_mark(&m, t0 + q);
    d = kgc_sync_machine_next(&m, t0 + 2 * q);
    assert_int_equal(d.what, KGC_SYNC_DO_TRANSLATE);
    assert_true(d.fresh);
    assert_false(d.upkeep);
    kgc_sync_machine_translated(&m, mkblob(H_B, false, 2), true);
    kgc_sync_blob_unref(m.cur);
    d = kgc_sync_machine_next(&m, t0 + 2 * q); /* the syncer clears it when it takes them */
    assert_int_equal(d.what, KGC_SYNC_DO_TRANSLATE);
    assert_true(d.upkeep);
    kgc_sync_machine_translated(&m, mkblob(H_B, false, 2), false);
    kgc_sync_blob_unref(m.cur);
    /* routes that never stay quiet: at most cap after the first want */
    uint64_t t1 = 100 * q, last = 0;
    for (uint64_t t = t1; t < t1 + 2 * cap; t += q / 4) {
        kgc_sync_machine_want_upkeep(&m, t);
        d = kgc_sync_machine_next(&m, t);
        if (d.what == KGC_SYNC_DO_TRANSLATE) {
            last = t;
            break;
        }
    }
    assert_int_equal(last, t1 + cap);
    kgc_sync_machine_free(&m);
}

/* A push that can go is handed out before a due upkeep: at start-up, when the initial list
 * outlasted the quiet time, the upkeep came first and held the first push for a whole
 * translation. */
static void test_m_push_before_upkeep(void **state)
{
    (void)state;
    const uint64_t q = KGC_SYNC_UPKEEP_QUIET_NS;
    struct kgc_sync_machine m;
    m_init(&m);
    kgc_sync_machine_want_upkeep(&m, 0);
    assert_true(m_event(&m, KGC_KONG_EV_READY, K1, "n1", "", NULL));
    kgc_sync_machine_mark(&m, 2 * q);
    m_translate(&m, 2 * q, mkblob(H_A, false, 1), true);
    m_expect_push(&m, 2 * q, K1, H_A); /* before the upkeep, due since q */
    struct kgc_sync_decision d = kgc_sync_machine_next(&m, 2 * q);
    assert_int_equal(d.what, KGC_SYNC_DO_TRANSLATE); /* then the upkeep, the push in flight */
    assert_true(d.upkeep);
    kgc_sync_machine_free(&m);
}

/* Only the leader translates and pushes; becoming the leader pushes to every instance at once,
 * even one that holds the configuration (a 304 then). */
static void test_m_leader(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    struct kgc_sync_inst *i = m_synced(&m, H_A);
    kgc_sync_machine_set_leader(&m, false);
    kgc_sync_machine_mark(&m, 200 * MS);
    m_expect(&m, 10000 * MS, KGC_SYNC_DO_IDLE);
    assert_true(m_event(&m, KGC_KONG_EV_READY, K2, "n2", "", NULL));
    m_expect(&m, 10000 * MS, KGC_SYNC_DO_IDLE);
    kgc_sync_machine_set_leader(&m, true);
    m_translate(&m, 10000 * MS, mkblob(H_A, false, 1), true);
    /* one push slot (the machine's default; the syncer sets --sync-push-concurrency): one push
     * at a time, newest instance first */
    struct kgc_sync_inst *a = m_expect_push(&m, 10000 * MS, K2, H_A);
    m_answer(&m, a, 10001 * MS, KGC_KONG_PUSH_APPLIED, 0, 0);
    struct kgc_sync_inst *b = m_expect_push(&m, 10001 * MS, K1, H_A); /* it holds A: forced */
    assert_ptr_equal(b, i);
    m_answer(&m, b, 10001 * MS, KGC_KONG_PUSH_UNCHANGED, 0, 0);
    m_expect(&m, 10001 * MS, KGC_SYNC_DO_IDLE);
    kgc_sync_machine_free(&m);
}

/* READY pushes at once even when the instance seems to hold the configuration; 304 counts as
 * acceptance (Programmed); a second READY pushes again. */
static void test_m_ready_forces_push(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    struct kgc_sync_inst *i = m_synced(&m, H_A);
    assert_non_null(i->accepted);
    assert_true(m_programmed(&m, 1));
    assert_false(m_programmed(&m, 2)); /* not at a newer generation */
    assert_true(m_event(&m, KGC_KONG_EV_READY, K1, "n1", H_A, NULL));
    m_expect_push(&m, 200 * MS, K1, H_A);
    assert_true(m_answer(&m, i, 210 * MS, KGC_KONG_PUSH_UNCHANGED, 0, 0));
    m_expect(&m, 210 * MS, KGC_SYNC_DO_IDLE);
    /* a second instance not yet synced: Programmed waits for it */
    assert_true(m_event(&m, KGC_KONG_EV_READY, K2, "n2", "", NULL));
    assert_false(m_programmed(&m, 1));
    struct kgc_sync_inst *j = m_expect_push(&m, 300 * MS, K2, H_A);
    assert_true(m_answer(&m, j, 310 * MS, KGC_KONG_PUSH_APPLIED, 0, 0));
    assert_true(m_programmed(&m, 1));
    kgc_sync_machine_free(&m);
}

/* RESTARTED: re-pushed at once; until answered it counts as carrying what it had (Programmed
 * stays true), and after KGC_SYNC_CARRIED_ATTEMPTS failed re-pushes it no longer does. */
static void test_m_restarted_carried(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    struct kgc_sync_inst *i = m_synced(&m, H_A);
    const char *why = NULL;
    assert_true(m_event(&m, KGC_KONG_EV_RESTARTED, K1, "n2", H_0, &why));
    assert_string_equal(why, "restarted");
    assert_null(i->accepted);
    assert_non_null(i->carried);
    assert_true(m_programmed(&m, 1));
    uint64_t now = 200 * MS;
    for (unsigned k = 1; k <= KGC_SYNC_CARRIED_ATTEMPTS; k++) {
        m_expect_push(&m, now, K1, H_A);
        bool changed = m_fail(&m, i, now);
        assert_int_equal(changed, k == KGC_SYNC_CARRIED_ATTEMPTS);
        assert_int_equal(m_programmed(&m, 1), k < KGC_SYNC_CARRIED_ATTEMPTS);
        now = i->retry_at_ns;
    }
    assert_null(i->carried);
    /* the next answer restores it */
    m_expect_push(&m, now, K1, H_A);
    assert_true(m_answer(&m, i, now, KGC_KONG_PUSH_APPLIED, 0, 0));
    assert_true(m_programmed(&m, 1));
    assert_string_equal(i->accepted_node, "n2");
    /* an answer clears carried at once */
    assert_true(m_event(&m, KGC_KONG_EV_RESTARTED, K1, "n3", H_0, NULL));
    m_expect_push(&m, now, K1, H_A);
    assert_true(m_answer(&m, i, now, KGC_KONG_PUSH_APPLIED, 0, 0));
    assert_null(i->carried);
    kgc_sync_machine_free(&m);
}

/* The prober says READY then RESTARTED for the probe that sees a new node_id; when the READY's
 * push already reached that very process, the RESTARTED changes nothing (no second push). */
static void test_m_ready_restarted_one_push(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    struct kgc_sync_inst *i = m_synced(&m, H_A);
    assert_true(m_event(&m, KGC_KONG_EV_READY, K1, "n2", H_0, NULL));
    m_expect_push(&m, 200 * MS, K1, H_A);
    m_answer(&m, i, 210 * MS, KGC_KONG_PUSH_APPLIED, 0, 0);
    assert_string_equal(i->accepted_node, "n2");
    const char *why = "x";
    assert_false(m_event(&m, KGC_KONG_EV_RESTARTED, K1, "n2", H_A, &why));
    assert_null(why);
    assert_non_null(i->accepted);
    m_expect(&m, 220 * MS, KGC_SYNC_DO_IDLE);
    /* a different process than the one that answered: re-pushed */
    assert_true(m_event(&m, KGC_KONG_EV_RESTARTED, K1, "n3", H_0, &why));
    m_expect_push(&m, 230 * MS, K1, H_A);
    kgc_sync_machine_free(&m);
}

/* Kong restarted between two probes: the prober never saw it down, only a new node_id (RESTARTED
 * without READY). The pushes that failed against the dead process meanwhile are not failures of
 * the new process's re-push: that re-push still gets KGC_SYNC_CARRIED_ATTEMPTS tries before its
 * Gateways stop counting as carried. (Counting them made one 429 of the restarted Kong turn its
 * Gateways Pending: test_restarted_instance_keeps_gateways_programmed, once in ~15 runs.) */
static void test_m_restart_between_probes(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    struct kgc_sync_inst *i = m_synced(&m, H_A);
    /* a change while the process is dead and the prober has not noticed: its pushes fail */
    kgc_sync_machine_mark(&m, 200 * MS);
    m_translate(&m, 200 * MS, mkblob(H_B, false, 1), true);
    uint64_t now = 200 * MS;
    for (unsigned k = 0; k < KGC_SYNC_CARRIED_ATTEMPTS; k++) {
        m_expect_push(&m, now, K1, H_B);
        assert_false(m_fail(&m, i, now));
        now = i->retry_at_ns;
    }
    assert_true(m_programmed(&m, 1)); /* it accepted A */
    /* the new process, seen by one probe */
    assert_true(m_event(&m, KGC_KONG_EV_RESTARTED, K1, "n2", H_0, NULL));
    assert_true(m_event(&m, KGC_KONG_EV_HASH_CHANGED, K1, "n2", H_0, NULL));
    assert_true(m_programmed(&m, 1)); /* carried while its re-push is pending */
    for (unsigned k = 1; k <= KGC_SYNC_CARRIED_ATTEMPTS; k++) {
        m_expect_push(&m, now, K1, H_B);
        bool changed = m_answer(&m, i, now, KGC_KONG_PUSH_BUSY, 1, 0);
        assert_int_equal(changed, k == KGC_SYNC_CARRIED_ATTEMPTS);
        assert_int_equal(m_programmed(&m, 1), k < KGC_SYNC_CARRIED_ATTEMPTS);
        now = i->retry_at_ns;
    }
    kgc_sync_machine_free(&m);
}

/* The probe that sees a Kong back with a new node_id says READY, RESTARTED and HASH_CHANGED
 * (zeros); the READY's push may be answered before the other two are read. When that answer was
 * a refusal (429, Retry-After: 1), they tell nothing new: Kong's delay stands (before, each of
 * them re-pushed at once, so a 429 twice in a row could be followed by an acceptance within
 * milliseconds). */
static void test_m_restart_events_after_refusal(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    struct kgc_sync_inst *i = m_synced(&m, H_A);
    assert_true(m_event(&m, KGC_KONG_EV_UNREACHABLE, K1, NULL, NULL, NULL));
    assert_true(m_event(&m, KGC_KONG_EV_READY, K1, "n2", H_0, NULL));
    m_expect_push(&m, 200 * MS, K1, H_A);
    assert_false(m_answer(&m, i, 210 * MS, KGC_KONG_PUSH_BUSY, 1, 0));
    assert_true(m_event(&m, KGC_KONG_EV_RESTARTED, K1, "n2", H_0, NULL));
    assert_true(m_event(&m, KGC_KONG_EV_HASH_CHANGED, K1, "n2", H_0, NULL));
    assert_true(m_programmed(&m, 1)); /* carried */
    struct kgc_sync_decision d = m_expect(&m, 220 * MS, KGC_SYNC_DO_WAIT);
    assert_int_equal(d.until_ns, 1210 * MS);
    m_expect_push(&m, 1210 * MS, K1, H_A);
    assert_true(m_answer(&m, i, 1220 * MS, KGC_KONG_PUSH_APPLIED, 0, 0));
    assert_string_equal(i->accepted_node, "n2");
    assert_null(i->carried);
    kgc_sync_machine_free(&m);
}

/* A push picked for one Kong process whose answer is taken in after the prober saw another one
 * (Kong answered, then restarted, before the syncer thread read the answer) says nothing about
 * the new process: an acceptance is not the new process holding the text (it is re-pushed at
 * once), a failure is not one of its re-push's failures (no backoff, not counted). */
static void test_m_answer_from_gone_process(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    struct kgc_sync_inst *i = m_synced(&m, H_A);
    kgc_sync_machine_mark(&m, 200 * MS);
    m_translate(&m, 200 * MS, mkblob(H_B, false, 2), true);
    m_expect_push(&m, 200 * MS, K1, H_B); /* to n1 */
    /* n1 took it and answered; n2 is what the next probe sees, before the answer is read */
    assert_true(m_event(&m, KGC_KONG_EV_RESTARTED, K1, "n2", H_0, NULL));
    assert_true(m_event(&m, KGC_KONG_EV_HASH_CHANGED, K1, "n2", H_0, NULL));
    m_answer(&m, i, 210 * MS, KGC_KONG_PUSH_APPLIED, 0, 0);
    assert_null(i->accepted);          /* n2 holds nothing */
    assert_false(m_programmed(&m, 2)); /* so generation 2 is not programmed yet */
    assert_true(m_programmed(&m, 1));  /* A, carried until n2's re-push is answered */
    assert_non_null(m.last_good);
    assert_string_equal(m.last_good->hash, H_B); /* a Kong did accept B */
    m_expect_push(&m, 210 * MS, K1, H_B);        /* to n2, at once */
    /* n2 goes too while that push is on its way; the push fails: not n3's failure */
    assert_true(m_event(&m, KGC_KONG_EV_UNREACHABLE, K1, NULL, NULL, NULL));
    assert_true(m_event(&m, KGC_KONG_EV_READY, K1, "n3", H_0, NULL));
    assert_true(m_event(&m, KGC_KONG_EV_RESTARTED, K1, "n3", H_0, NULL));
    assert_false(m_fail(&m, i, 220 * MS));
    assert_int_equal(i->attempts, 0);
    assert_true(m_programmed(&m, 1));
    m_expect_push(&m, 220 * MS, K1, H_B); /* no backoff */
    assert_true(m_answer(&m, i, 230 * MS, KGC_KONG_PUSH_APPLIED, 0, 0));
    assert_string_equal(i->accepted->hash, H_B);
    assert_string_equal(i->accepted_node, "n3");
    assert_null(i->carried);
    assert_true(m_programmed(&m, 2));
    kgc_sync_machine_free(&m);
}

/* HASH_CHANGED: ours (accepted or in flight) changes nothing; zeros when we did not send an
 * empty configuration is a restart; someone else's configuration is overwritten; a hash kgc
 * knows (current or last accepted) is taken as accepted. */
static void test_m_hash_changed(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    struct kgc_sync_inst *i = m_synced(&m, H_A);
    const char *why = "x";
    assert_false(m_event(&m, KGC_KONG_EV_HASH_CHANGED, K1, NULL, H_A, &why)); /* ours */
    assert_null(why);
    m_expect(&m, 200 * MS, KGC_SYNC_DO_IDLE);
    /* zeros, unexpected: a restart */
    assert_true(m_event(&m, KGC_KONG_EV_HASH_CHANGED, K1, NULL, H_0, &why));
    assert_string_equal(why, "empty configuration");
    assert_non_null(i->carried);
    m_expect_push(&m, 200 * MS, K1, H_A);
    /* the hash of the push in flight: ours */
    assert_false(m_event(&m, KGC_KONG_EV_HASH_CHANGED, K1, NULL, H_A, &why));
    m_answer(&m, i, 210 * MS, KGC_KONG_PUSH_APPLIED, 0, 0);
    /* someone else's configuration: overwritten */
    assert_true(m_event(&m, KGC_KONG_EV_HASH_CHANGED, K1, NULL, H_X, &why));
    assert_string_equal(why, "configuration changed by someone else");
    assert_null(i->accepted);
    assert_false(m_programmed(&m, 1));
    m_expect_push(&m, 300 * MS, K1, H_A);
    m_answer(&m, i, 310 * MS, KGC_KONG_PUSH_APPLIED, 0, 0);
    /* a newer translation B not yet pushed; Kong reports B (another kgc replica sent it) */
    kgc_sync_machine_mark(&m, 400 * MS);
    m_translate(&m, 500 * MS, mkblob(H_B, false, 2), true);
    assert_true(m_event(&m, KGC_KONG_EV_HASH_CHANGED, K1, NULL, H_B, &why));
    assert_null(why);
    assert_string_equal(i->accepted->hash, H_B);
    assert_true(m_programmed(&m, 2));
    m_expect(&m, 500 * MS, KGC_SYNC_DO_IDLE);
    /* and back to the last accepted A: known, no push decided by the event itself */
    assert_true(m_event(&m, KGC_KONG_EV_HASH_CHANGED, K1, NULL, H_A, &why));
    assert_null(why);
    assert_string_equal(i->accepted->hash, H_A);
    m_expect_push(&m, 600 * MS, K1, H_B); /* it does not hold the current one */
    kgc_sync_machine_free(&m);
}

/* An entity-free configuration: Kong reports zeros for it, which is that configuration, not a
 * restart: pushed once, no loop. A real restart (new node_id) is still re-pushed once. */
static void test_m_empty_configuration(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    struct kgc_sync_inst *i = m_synced(&m, H_A);
    kgc_sync_machine_mark(&m, 200 * MS);
    m_translate(&m, 300 * MS, mkblob(H_C, true, 1), true);
    m_expect_push(&m, 300 * MS, K1, H_C);
    assert_string_equal(i->inflight_hash, H_0); /* what Kong will report */
    assert_false(m_event(&m, KGC_KONG_EV_HASH_CHANGED, K1, NULL, H_0, NULL));
    m_answer(&m, i, 310 * MS, KGC_KONG_PUSH_APPLIED, 0, 0);
    assert_string_equal(i->kong_hash, H_0);
    assert_false(m_event(&m, KGC_KONG_EV_HASH_CHANGED, K1, NULL, H_0, NULL));
    for (uint64_t t = 400 * MS; t < 5000 * MS; t += 200 * MS)
        m_expect(&m, t, KGC_SYNC_DO_IDLE);
    assert_true(m_programmed(&m, 1));
    /* a real restart: re-pushed once */
    assert_true(m_event(&m, KGC_KONG_EV_RESTARTED, K1, "n2", H_0, NULL));
    m_expect_push(&m, 5000 * MS, K1, H_C);
    m_answer(&m, i, 5010 * MS, KGC_KONG_PUSH_APPLIED, 0, 0);
    m_expect(&m, 5010 * MS, KGC_SYNC_DO_IDLE);
    kgc_sync_machine_free(&m);
}

/* Failures back off from 100 ms, doubling, to 30 s; Retry-After replaces the delay, capped
 * likewise; success resets it. */
static void test_m_backoff(void **state)
{
    (void)state;
    assert_int_equal(kgc_sync_backoff_ns(0), 100 * MS);
    assert_int_equal(kgc_sync_backoff_ns(1), 200 * MS);
    assert_int_equal(kgc_sync_backoff_ns(2), 400 * MS);
    assert_int_equal(kgc_sync_backoff_ns(8), 25600 * MS);
    assert_int_equal(kgc_sync_backoff_ns(9), KGC_SYNC_BACKOFF_MAX_NS);
    assert_int_equal(kgc_sync_backoff_ns(1000), KGC_SYNC_BACKOFF_MAX_NS);
    struct kgc_sync_machine m;
    m_init(&m);
    kgc_sync_machine_mark(&m, 0);
    m_translate(&m, 100 * MS, mkblob(H_A, false, 1), true);
    m_event(&m, KGC_KONG_EV_READY, K1, "n1", "", NULL);
    uint64_t now = 100 * MS, want = 100 * MS;
    for (int k = 0; k < 12; k++) {
        struct kgc_sync_inst *i = m_expect_push(&m, now, K1, H_A);
        m_fail(&m, i, now);
        assert_int_equal(i->retry_at_ns - now, want);
        struct kgc_sync_decision d = m_expect(&m, now + 1, KGC_SYNC_DO_WAIT);
        assert_int_equal(d.until_ns, i->retry_at_ns);
        now = i->retry_at_ns;
        want = want * 2 > KGC_SYNC_BACKOFF_MAX_NS ? KGC_SYNC_BACKOFF_MAX_NS : want * 2;
    }
    /* 429 with Retry-After: 5 s; then 100 s, capped at 30 s */
    struct kgc_sync_inst *i = m_expect_push(&m, now, K1, H_A);
    m_answer(&m, i, now, KGC_KONG_PUSH_BUSY, 5, 0);
    assert_int_equal(i->retry_at_ns - now, 5 * KGC_NS_PER_S);
    now = i->retry_at_ns;
    m_expect_push(&m, now, K1, H_A);
    m_answer(&m, i, now, KGC_KONG_PUSH_BUSY, 100, 0);
    assert_int_equal(i->retry_at_ns - now, KGC_SYNC_BACKOFF_MAX_NS);
    now = i->retry_at_ns;
    m_expect_push(&m, now, K1, H_A);
    m_answer(&m, i, now, KGC_KONG_PUSH_APPLIED, 0, 0);
    assert_int_equal(i->attempts, 0);
    assert_int_equal(i->retry_at_ns, 0);
    /* the next failure starts from 100 ms again */
    assert_true(m_event(&m, KGC_KONG_EV_READY, K1, "n1", H_A, NULL));
    m_expect_push(&m, now, K1, H_A);
    m_fail(&m, i, now);
    assert_int_equal(i->retry_at_ns - now, 100 * MS);
    kgc_sync_machine_free(&m);
}

/* A 400 naming objects: translated again at once without them, at most
 * KGC_SYNC_MAX_EXCLUDE_ROUNDS times per change; a fresh change starts the count again. */
static void test_m_exclusion_rounds(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    m_init(&m);
    kgc_sync_machine_mark(&m, 0);
    m_translate(&m, 100 * MS, mkblob(H_A, false, 1), true);
    m_event(&m, KGC_KONG_EV_READY, K1, "n1", "", NULL);
    const char *hashes[] = {H_A, H_B, H_C, H_X, "12121212121212121212121212121212"};
    unsigned rounds = 0;
    for (int k = 0; k < 5; k++) {
        struct kgc_sync_inst *i = m_expect_push(&m, 200 * MS, K1, hashes[k]);
        m_answer(&m, i, 200 * MS, KGC_KONG_PUSH_REJECTED, 0, 1);
        assert_string_equal(i->rejected_hash, hashes[k]);
        struct kgc_sync_decision d = kgc_sync_machine_next(&m, 200 * MS);
        if (d.what != KGC_SYNC_DO_TRANSLATE) {
            assert_int_equal(d.what, KGC_SYNC_DO_IDLE); /* nothing accepted, nothing to send */
            break;
        }
        assert_false(d.fresh);
        rounds++;
        kgc_sync_machine_translated(&m, mkblob(hashes[k + 1], false, 1), false);
        kgc_sync_blob_unref(m.cur); /* the machine holds its own reference */
    }
    assert_int_equal(rounds, KGC_SYNC_MAX_EXCLUDE_ROUNDS);
    /* a change: translated afresh, rejected hash forgotten, rounds counted again */
    kgc_sync_machine_mark(&m, 300 * MS);
    m_translate(&m, 400 * MS, mkblob(hashes[3], false, 1), true);
    assert_string_equal(m.insts->rejected_hash, "");
    struct kgc_sync_inst *i = m_expect_push(&m, 400 * MS, K1, hashes[3]);
    m_answer(&m, i, 400 * MS, KGC_KONG_PUSH_REJECTED, 0, 1);
    m_expect(&m, 400 * MS, KGC_SYNC_DO_TRANSLATE);
    kgc_sync_machine_free(&m);
}

/* A 400 nothing is attributed to: the instance stays on (or gets) the last accepted
 * configuration and the rejected text is never sent to it again until a change. */
static void test_m_unattributed_400(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    struct kgc_sync_inst *i = m_synced(&m, H_A);
    kgc_sync_machine_mark(&m, 200 * MS);
    m_translate(&m, 300 * MS, mkblob(H_B, false, 2), true);
    m_expect_push(&m, 300 * MS, K1, H_B);
    m_answer(&m, i, 310 * MS, KGC_KONG_PUSH_REJECTED, 0, 0);
    assert_string_equal(i->accepted->hash, H_A);
    m_expect(&m, 310 * MS, KGC_SYNC_DO_IDLE); /* no re-translation, no resend */
    /* a READY (or leadership) forces a push: the last accepted one, never B */
    assert_true(m_event(&m, KGC_KONG_EV_READY, K1, "n1", H_A, NULL));
    m_expect_push(&m, 400 * MS, K1, H_A);
    m_answer(&m, i, 410 * MS, KGC_KONG_PUSH_UNCHANGED, 0, 0);
    /* a new instance gets the last good configuration */
    m_event(&m, KGC_KONG_EV_READY, K2, "m1", "", NULL);
    struct kgc_sync_inst *j = m_expect_push(&m, 500 * MS, K2, H_B);
    m_answer(&m, j, 510 * MS, KGC_KONG_PUSH_REJECTED, 0, 0);
    m_expect_push(&m, 510 * MS, K2, H_A);
    m_answer(&m, j, 520 * MS, KGC_KONG_PUSH_APPLIED, 0, 0);
    m_expect(&m, 520 * MS, KGC_SYNC_DO_IDLE);
    assert_true(m_programmed(&m, 1));
    assert_false(m_programmed(&m, 2));
    kgc_sync_machine_free(&m);
}

/* UNREACHABLE: not pushed to; Programmed answers from what it had accepted. REMOVED: forgotten. */
static void test_m_unreachable_removed(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    m_synced(&m, H_A);
    assert_true(m_event(&m, KGC_KONG_EV_UNREACHABLE, K1, NULL, "", NULL));
    kgc_sync_machine_mark(&m, 200 * MS);
    m_translate(&m, 300 * MS, mkblob(H_B, false, 2), true);
    m_expect(&m, 300 * MS, KGC_SYNC_DO_IDLE);
    char why[128] = "";
    assert_true(kgc_sync_machine_programmed(&m, GW, 1, why, sizeof(why)));
    assert_false(kgc_sync_machine_programmed(&m, GW, 2, why, sizeof(why)));
    assert_string_equal(why, "no ready Kong instance to configure");
    assert_true(m_event(&m, KGC_KONG_EV_REMOVED, K1, NULL, "", NULL));
    assert_false(m_programmed(&m, 1));
    assert_false(m_event(&m, KGC_KONG_EV_REMOVED, "http://unknown:8001", NULL, "", NULL));
    /* back: pushed the current configuration */
    assert_true(m_event(&m, KGC_KONG_EV_READY, K1, "n1", H_A, NULL));
    m_expect_push(&m, 400 * MS, K1, H_B);
    kgc_sync_machine_free(&m);
}

/* A blob's set is looked up by bisection once sealed, entries added after the seal by a scan; its
 * digest does not depend on the order the entries came in, and does on every key and generation. */
static void test_m_blob_set_lookup(void **state)
{
    (void)state;
    struct kgc_sync_blob *a = kgc_sync_blob_new(H_A, false), *b = kgc_sync_blob_new(H_A, false);
    assert_non_null(a);
    assert_non_null(b);
    static const char *const keys[] = {"ns/m", "ns/c", "ns/x", "ns/a", "other/z", "ns/c"};
    static const int64_t gens[] = {1, 2, 3, 4, 5, 7};
    for (size_t k = 0; k < 6; k++) {
        assert_int_equal(kgc_sync_blob_add_gateway(a, keys[k], gens[k]), 0);
        assert_int_equal(kgc_sync_blob_add_gateway(b, keys[5 - k], gens[5 - k]), 0);
    }
    assert_int_equal(kgc_sync_blob_set_digest(a), kgc_sync_blob_set_digest(b)); /* unsealed */
    kgc_sync_blob_seal(a);
    assert_int_equal(kgc_sync_blob_set_digest(a), kgc_sync_blob_set_digest(b));
    for (size_t k = 0; k < 6; k++) {
        assert_true(kgc_sync_blob_has_gateway(a, keys[k], gens[k]));
        assert_true(kgc_sync_blob_has_gateway(b, keys[k], gens[k]));
    }
    /* "ns/c" is there at 2 and 7: any generation up to 7 */
    assert_true(kgc_sync_blob_has_gateway(a, "ns/c", 7));
    assert_false(kgc_sync_blob_has_gateway(a, "ns/c", 8));
    assert_false(kgc_sync_blob_has_gateway(a, "ns/m", 2));
    assert_false(kgc_sync_blob_has_gateway(a, "ns/b", 0));
    assert_false(kgc_sync_blob_has_gateway(a, "", 0));
    assert_false(kgc_sync_blob_has_gateway(NULL, "ns/m", 0));
    /* added after the seal: found by the scan; the digest follows the whole set */
    uint64_t d = kgc_sync_blob_set_digest(a);
    assert_int_equal(kgc_sync_blob_add_gateway(a, "KongPlugin:ns/p", 1), 0);
    assert_true(kgc_sync_blob_has_gateway(a, "KongPlugin:ns/p", 1));
    assert_true(kgc_sync_blob_has_gateway(a, "ns/x", 3));
    assert_true(kgc_sync_blob_set_digest(a) != d);
    kgc_sync_blob_seal(a);
    assert_true(kgc_sync_blob_has_gateway(a, "KongPlugin:ns/p", 1));
    assert_true(kgc_sync_blob_set_digest(a) != d);
    /* a generation alone changes the digest */
    struct kgc_sync_blob *c = kgc_sync_blob_new(H_A, false);
    assert_non_null(c);
    for (size_t k = 0; k < 6; k++)
        assert_int_equal(kgc_sync_blob_add_gateway(c, keys[k], k == 2 ? 4 : gens[k]), 0);
    kgc_sync_blob_seal(c);
    assert_true(kgc_sync_blob_set_digest(c) != kgc_sync_blob_set_digest(b));
    assert_int_equal(kgc_sync_blob_set_digest(NULL), 0);
    /* a set copied in one block (kgc_sync_blob_add_gateways), then a plugin key added alone:
     * the same answers and digest as one added key by key (ASan checks the frees) */
    struct kgc_sync_blob *d2 = kgc_sync_blob_new(H_A, false);
    assert_non_null(d2);
    struct kgc_sync_gwref refs[6];
    for (size_t k = 0; k < 6; k++)
        refs[k] = (struct kgc_sync_gwref){.key = (char *)keys[k], .generation = gens[k]};
    assert_int_equal(kgc_sync_blob_add_gateways(d2, refs, 3), 0);
    assert_int_equal(kgc_sync_blob_add_gateways(d2, refs + 3, 3),
                     0); /* a second block: one by one */
    assert_int_equal(kgc_sync_blob_add_gateway(d2, "KongPlugin:ns/p", 1), 0);
    kgc_sync_blob_seal(d2);
    assert_int_equal(kgc_sync_blob_set_digest(d2), kgc_sync_blob_set_digest(a));
    for (size_t k = 0; k < 6; k++)
        assert_true(kgc_sync_blob_has_gateway(d2, keys[k], gens[k]));
    assert_true(kgc_sync_blob_has_gateway(d2, "KongPlugin:ns/p", 1));
    kgc_sync_blob_unref(d2);
    kgc_sync_blob_unref(a);
    kgc_sync_blob_unref(b);
    kgc_sync_blob_unref(c);
}

/* The Gateway set the last kgc process saw accepted (restored) answers Programmed while no
 * instance is ready, is carried by an instance first seen until its push answers, and is
 * dropped when this process learns better. */
static void test_m_restored_set(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    m_init(&m);
    m.restored = mkblob(H_A, false, 2);
    assert_true(m_programmed(&m, 2));
    assert_false(m_programmed(&m, 3));
    char why[128] = "";
    assert_false(kgc_sync_machine_programmed(&m, GW2, 1, why, sizeof(why)));
    assert_string_equal(why, "no ready Kong instance to configure");
    /* first contact: carried until the push answers */
    m_event(&m, KGC_KONG_EV_READY, K1, "n1", H_A, NULL);
    struct kgc_sync_inst *i = m.insts;
    assert_ptr_equal(i->carried, m.restored);
    assert_true(m_programmed(&m, 2));
    /* an unknown configuration on it: what the last process saw is gone */
    assert_true(m_event(&m, KGC_KONG_EV_HASH_CHANGED, K1, NULL, H_X, NULL));
    assert_null(m.restored);
    /* an acceptance also drops it */
    m.restored = mkblob(H_A, false, 2);
    kgc_sync_machine_mark(&m, 0);
    m_translate(&m, 100 * MS, mkblob(H_B, false, 2), true);
    m_expect_push(&m, 100 * MS, K1, H_B);
    m_answer(&m, i, 110 * MS, KGC_KONG_PUSH_APPLIED, 0, 0);
    assert_null(m.restored);
    assert_null(i->carried);
    assert_true(m_programmed(&m, 2));
    kgc_sync_machine_free(&m);
}

/* A translation with the text an instance holds gives it that translation's Gateway set; a
 * failed translation is tried again a debounce later. */
/* Concurrent pushes: up to max_pushes PUSH decisions in flight, never two for one instance; a
 * translation is not held up by pushes in flight; an instance that gives no answer (a silent
 * Kong, then its timeout) delays no other: the others get each new configuration while it backs
 * off. */
static void test_m_concurrent_pushes(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    m_init(&m);
    kgc_sync_machine_set_max_pushes(&m, 2);
    kgc_sync_machine_mark(&m, 0);
    m_translate(&m, 100 * MS, mkblob(H_A, false, 1), true);
    struct kgc_sync_blob *blob_a = kgc_sync_blob_ref(m.cur);
    const char *k3 = "http://kong-3:8001";
    m_event(&m, KGC_KONG_EV_READY, K1, "n1", "", NULL);
    m_event(&m, KGC_KONG_EV_READY, K2, "n2", "", NULL);
    m_event(&m, KGC_KONG_EV_READY, k3, "n3", "", NULL);
    struct kgc_sync_inst *i3 = m_expect_push(&m, 100 * MS, k3, H_A);
    struct kgc_sync_inst *i2 = m_expect_push(&m, 100 * MS, K2, H_A);
    assert_int_equal(m.n_pushing, 2);
    m_expect(&m, 100 * MS, KGC_SYNC_DO_IDLE); /* both slots taken: K1 waits for an answer */
    m_answer(&m, i3, 110 * MS, KGC_KONG_PUSH_APPLIED, 0, 0);
    struct kgc_sync_inst *i1 = m_expect_push(&m, 110 * MS, K1, H_A);
    m_expect(&m, 110 * MS, KGC_SYNC_DO_IDLE); /* k3 holds A; K1 and K2 are in flight */

    /* a change while K1 and K2 are in flight: translated at once (the pushes in flight do not
     * hold it up; nothing was translated for a debounce), pushed as slots free up */
    kgc_sync_machine_mark(&m, 200 * MS);
    m_translate(&m, 200 * MS, mkblob(H_B, false, 2), true);
    struct kgc_sync_decision d;
    m_expect(&m, 300 * MS, KGC_SYNC_DO_IDLE); /* both slots still taken */
    /* K2 is silent: its push times out; it alone backs off and k3 gets B at once */
    m_fail(&m, i2, 5100 * MS);
    assert_int_equal(i2->retry_at_ns, 5200 * MS);
    m_expect_push(&m, 5100 * MS, k3, H_B);
    m_expect(&m, 5100 * MS, KGC_SYNC_DO_IDLE); /* K1 (A in flight) and k3 (B) hold the slots */
    m_answer(&m, i3, 5110 * MS, KGC_KONG_PUSH_APPLIED, 0, 0);
    struct kgc_sync_push_outcome applied = {.kind = KGC_KONG_PUSH_APPLIED};
    kgc_sync_machine_push_done(&m, i1, blob_a, &applied, 5120 * MS); /* A: sent before B was */
    kgc_sync_blob_unref(blob_a);
    assert_string_equal(i1->accepted->hash, H_A);
    m_expect_push(&m, 5120 * MS, K1, H_B);
    d = m_expect(&m, 5120 * MS, KGC_SYNC_DO_WAIT); /* K2's backoff */
    assert_int_equal(d.until_ns, 5200 * MS);
    m_answer(&m, i1, 5130 * MS, KGC_KONG_PUSH_APPLIED, 0, 0);
    m_expect_push(&m, 5200 * MS, K2, H_B);
    m_answer(&m, i2, 5210 * MS, KGC_KONG_PUSH_APPLIED, 0, 0);
    assert_int_equal(m.n_pushing, 0);
    m_expect(&m, 5210 * MS, KGC_SYNC_DO_IDLE);
    /* max_pushes 0 counts as 1 */
    kgc_sync_machine_set_max_pushes(&m, 0);
    assert_int_equal(m.max_pushes, 1);
    kgc_sync_machine_free(&m);
}

/* An aborted push (shutdown) frees its slot; REMOVED during a push: the answer still frees it. */
static void test_m_push_slots_freed(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    m_init(&m);
    kgc_sync_machine_set_max_pushes(&m, 1);
    kgc_sync_machine_mark(&m, 0);
    m_translate(&m, 100 * MS, mkblob(H_A, false, 1), true);
    m_event(&m, KGC_KONG_EV_READY, K1, "n1", "", NULL);
    m_event(&m, KGC_KONG_EV_READY, K2, "n2", "", NULL);
    struct kgc_sync_inst *i2 = m_expect_push(&m, 100 * MS, K2, H_A);
    m_expect(&m, 100 * MS, KGC_SYNC_DO_IDLE);
    kgc_sync_machine_push_aborted(&m, i2);
    assert_int_equal(m.n_pushing, 0);
    i2 = m_expect_push(&m, 100 * MS, K2, H_A); /* asked again */
    m_event(&m, KGC_KONG_EV_REMOVED, K2, NULL, "", NULL);
    m_fail(&m, i2, 200 * MS);
    m_expect_push(&m, 200 * MS, K1, H_A);
    kgc_sync_machine_free(&m);
}

/* kgc_change_to_push_seconds: from the first mark of a change to the last byte sent to the last
 * instance, taken once every ready instance holds its configuration; once per configuration; not
 * for a translation that needed no push; an instance that is not ready does not hold it back. */
static void test_m_change_latency(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    m_init(&m);
    kgc_sync_machine_set_max_pushes(&m, 4);
    m_event(&m, KGC_KONG_EV_READY, K1, "n1", "", NULL);
    m_event(&m, KGC_KONG_EV_READY, K2, "n2", "", NULL);
    uint64_t ns = 0;
    kgc_sync_machine_mark(&m, 1000 * MS);
    kgc_sync_machine_mark(&m, 1050 * MS); /* the same change's second event */
    m_translate(&m, 1150 * MS, mkblob(H_A, false, 1), true);
    struct kgc_sync_inst *a = m_expect_push(&m, 1150 * MS, K2, H_A);
    struct kgc_sync_inst *b = m_expect_push(&m, 1150 * MS, K1, H_A);
    /* measured to the last byte sent to the last instance; Kong's load time after it is not
     * kgc's */
    struct kgc_sync_push_outcome o = {.kind = KGC_KONG_PUSH_APPLIED, .sent_ns = 1168 * MS};
    kgc_sync_machine_push_done(&m, a, m.cur, &o, 1170 * MS);
    assert_false(kgc_sync_machine_take_latency(&m, &ns)); /* K1 does not hold it yet */
    o.sent_ns = 1160 * MS;
    kgc_sync_machine_push_done(&m, b, m.cur, &o, 1190 * MS);
    assert_true(kgc_sync_machine_take_latency(&m, &ns));
    assert_int_equal(ns, 168 * MS);
    assert_false(kgc_sync_machine_take_latency(&m, &ns)); /* once */
    /* a forced re-push of the same text (READY) is no new change */
    m_event(&m, KGC_KONG_EV_READY, K1, "n1", H_A, NULL);
    m_answer(&m, m_expect_push(&m, 2000 * MS, K1, H_A), 2010 * MS, KGC_KONG_PUSH_UNCHANGED, 0, 0);
    assert_false(kgc_sync_machine_take_latency(&m, &ns));
    /* a change whose translation gives the same text: no push, nothing measured */
    kgc_sync_machine_mark(&m, 3000 * MS);
    m_translate(&m, 3100 * MS, mkblob(H_A, false, 1), true);
    m_expect(&m, 3100 * MS, KGC_SYNC_DO_IDLE);
    assert_false(kgc_sync_machine_take_latency(&m, &ns));
    /* K2 goes unreachable: the next change is measured when K1 alone holds it */
    m_event(&m, KGC_KONG_EV_UNREACHABLE, K2, NULL, "", NULL);
    kgc_sync_machine_mark(&m, 4000 * MS);
    m_translate(&m, 4100 * MS, mkblob(H_B, false, 2), true);
    m_answer(&m, m_expect_push(&m, 4100 * MS, K1, H_B), 4130 * MS, KGC_KONG_PUSH_APPLIED, 0, 0);
    assert_true(kgc_sync_machine_take_latency(&m, &ns));
    assert_int_equal(ns, 130 * MS);
    /* kgc's own status write marks again while the push is in flight, and that translation gives
     * the same text: the answer still measures from the change's first mark */
    kgc_sync_machine_mark(&m, 5000 * MS);
    m_translate(&m, 5100 * MS, mkblob(H_C, false, 3), true);
    struct kgc_sync_inst *c = m_expect_push(&m, 5100 * MS, K1, H_C);
    kgc_sync_machine_mark(&m, 5150 * MS);
    m_translate(&m, 5250 * MS, mkblob(H_C, false, 3), true);
    m_expect(&m, 5250 * MS, KGC_SYNC_DO_IDLE); /* in flight already */
    m_answer(&m, c, 5300 * MS, KGC_KONG_PUSH_APPLIED, 0, 0);
    assert_true(kgc_sync_machine_take_latency(&m, &ns));
    assert_int_equal(ns, 300 * MS);
    /* the next change is translated while the answer to this one is on its way (Kong switched
     * before answering): both are measured, each once */
    kgc_sync_machine_mark(&m, 6000 * MS);
    m_translate(&m, 6100 * MS, mkblob("dddddddddddddddddddddddddddddddd", false, 4), true);
    struct kgc_sync_blob *d4 = kgc_sync_blob_ref(m.cur);
    c = m_expect_push(&m, 6100 * MS, K1, "dddddddddddddddddddddddddddddddd");
    kgc_sync_machine_mark(&m, 6200 * MS);
    m_translate(&m, 6300 * MS, mkblob("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", false, 5), true);
    struct kgc_sync_push_outcome ok = {.kind = KGC_KONG_PUSH_APPLIED, .sent_ns = 6150 * MS};
    kgc_sync_machine_push_done(&m, c, d4, &ok, 6500 * MS);
    kgc_sync_blob_unref(d4);
    assert_true(kgc_sync_machine_take_latency(&m, &ns));
    assert_int_equal(ns, 150 * MS);
    m_answer(&m, m_expect_push(&m, 6500 * MS, K1, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"), 6700 * MS,
             KGC_KONG_PUSH_APPLIED, 0, 0);
    assert_true(kgc_sync_machine_take_latency(&m, &ns));
    assert_int_equal(ns, 500 * MS);
    kgc_sync_machine_free(&m);
}

static void test_m_translated_adopts(void **state)
{
    (void)state;
    struct kgc_sync_machine m;
    struct kgc_sync_inst *i = m_synced(&m, H_A);
    assert_false(m_programmed(&m, 2));
    kgc_sync_machine_mark(&m, 200 * MS);
    struct kgc_sync_decision d = m_expect(&m, 300 * MS, KGC_SYNC_DO_TRANSLATE);
    struct kgc_sync_blob *b = mkblob(H_A, false, 2); /* same text, newer generation */
    assert_true(kgc_sync_machine_translated(&m, b, d.fresh));
    kgc_sync_blob_unref(b);
    assert_ptr_equal(i->accepted, m.cur);
    assert_true(m_programmed(&m, 2));
    m_expect(&m, 300 * MS, KGC_SYNC_DO_IDLE);
    kgc_sync_machine_translate_failed(&m, 400 * MS);
    d = m_expect(&m, 400 * MS, KGC_SYNC_DO_WAIT);
    assert_int_equal(d.until_ns, 500 * MS);
    m_expect(&m, 500 * MS, KGC_SYNC_DO_TRANSLATE);
    kgc_sync_machine_free(&m);
}

int main(void)
{
    kgc_log_setup(KGC_LOG_ERROR, KGC_LOG_TEXT, 2);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest machine[] = {
        cmocka_unit_test(test_m_debounce),
        cmocka_unit_test(test_m_upkeep),
        cmocka_unit_test(test_m_push_before_upkeep),
        cmocka_unit_test(test_m_leader),
        cmocka_unit_test(test_m_ready_forces_push),
        cmocka_unit_test(test_m_restarted_carried),
        cmocka_unit_test(test_m_ready_restarted_one_push),
        cmocka_unit_test(test_m_restart_between_probes),
        cmocka_unit_test(test_m_answer_from_gone_process),
        cmocka_unit_test(test_m_restart_events_after_refusal),
        cmocka_unit_test(test_m_hash_changed),
        cmocka_unit_test(test_m_empty_configuration),
        cmocka_unit_test(test_m_backoff),
        cmocka_unit_test(test_m_exclusion_rounds),
        cmocka_unit_test(test_m_unattributed_400),
        cmocka_unit_test(test_m_unreachable_removed),
        cmocka_unit_test(test_m_restored_set),
        cmocka_unit_test(test_m_blob_set_lookup),
        cmocka_unit_test(test_m_translated_adopts),
        cmocka_unit_test(test_m_concurrent_pushes),
        cmocka_unit_test(test_m_push_slots_freed),
        cmocka_unit_test(test_m_change_latency),
    };
    int rc = cmocka_run_group_tests_name("machine", machine, NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_leader_pushes),
        cmocka_unit_test(test_programmed_after_both_accept),
        cmocka_unit_test(test_route_change_wakes_no_gateway),
        cmocka_unit_test(test_gateway_set_follows_gateway_changes),
        cmocka_unit_test(test_restarted_kgc_gets_304),
        cmocka_unit_test(test_restart_gets_current_config),
        cmocka_unit_test(test_restarted_instance_keeps_gateways_programmed),
        cmocka_unit_test(test_broken_route_reported_others_flow),
        cmocka_unit_test(test_unattributed_400_keeps_last_good),
        cmocka_unit_test(test_push_duration_histogram),
        cmocka_unit_test(test_accepted_set_survives_restart),
        cmocka_unit_test(test_restored_set_carried_until_repush),
        cmocka_unit_test(test_record_same_gateways_written_later),
        cmocka_unit_test(test_failed_pushes_never_recorded_as_accepted),
        cmocka_unit_test(test_status_only_changes),
        cmocka_unit_test(test_route_verdict_known_before_first_status),
        cmocka_unit_test(test_route_verdicts_follow_object_changes),
        cmocka_unit_test(test_only_usable_listeners_pushed),
        cmocka_unit_test(test_fake_clock_drives_thread),
    };
    rc |= cmocka_run_group_tests_name("processes", tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}

/* informer e2e: eight informers (every kind) against the project's test API server while 1,000
 * objects are created, updated and deleted and the server cuts watches, forgets its history and
 * fails requests. In the end the cache must equal the server's state exactly (compared as dumps).
 *
 * The server: $KGC_TEST_APISERVER_URL (already running, CRDs may exist), else the binary
 * $KGC_TEST_APISERVER, else kgc-test-apiserver next to this test's directory (BUILD/), spawned
 * on 127.0.0.1:0. Skips, saying why, only when no binary is found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kgc/api.h"
#include "kgc/cache.h"
#include "kgc/informer.h"
#include "kgc/k8s.h"
#include "kgc/log.h"
#include "fake_proc.h"
#include "fixture_yaml.h"
#include "test_k8s_helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define NAMESPACES 5
#define TLS_NS     "ns-0"

struct env {
    pid_t server; /* 0: not ours */
    char url[128];
    char gwapi[PATH_MAX];
    struct kgc_k8s_client *client;
};

static struct env E;

/* --- the server ------------------------------------------------------------------------------- */

static bool find_binary(char *out, size_t size)
{
    const char *env = getenv("KGC_TEST_APISERVER");
    if (env && env[0]) {
        snprintf(out, size, "%s", env);
        return access(out, X_OK) == 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return false;
    self[n] = '\0';
    /* BUILD/test/test_informer_e2e → BUILD/kgc-test-apiserver */
    char *dir = dirname(dirname(self));
    snprintf(out, size, "%s/kgc-test-apiserver", dir);
    return access(out, X_OK) == 0;
}

static bool find_gateway_api(char *out, size_t size)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/crds/httproutes.yaml", fixture_gateway_api_dir());
    if (access(p, R_OK) != 0)
        return false;
    snprintf(out, size, "%s", fixture_gateway_api_dir());
    return true;
}

static int spawn_server(const char *bin)
{
    char *argv[] = {(char *)bin, "--listen",    "127.0.0.1:0", "--bookmark-ms",
                    "300",       "--log-level", "warn",        NULL};
    E.server = fake_proc_start(argv, true, 10000, E.url, sizeof(E.url), NULL);
    return E.server > 0 ? 0 : -1;
}

static int post_test(const char *what)
{
    struct kgc_k8s_response r;
    struct kgc_err err = {0};
    int rc = kgc_k8s_request(E.client, "POST", what, NULL, NULL, NULL, 0, NULL, &r, NULL, &err);
    free(r.body);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    kgc_log_setup(getenv("KGC_E2E_LOG") ? KGC_LOG_INFO : KGC_LOG_ERROR, KGC_LOG_TEXT, 2);
    if (!find_gateway_api(E.gwapi, sizeof(E.gwapi))) {
        fprintf(stderr, "informer e2e: %s/crds not found (%s)\n", fixture_gateway_api_dir(),
                FIXTURE_GATEWAY_API_HINT);
        return -1;
    }
    const char *url = getenv("KGC_TEST_APISERVER_URL");
    if (url && url[0]) {
        snprintf(E.url, sizeof(E.url), "%s", url);
    } else {
        char bin[PATH_MAX];
        if (!find_binary(bin, sizeof(bin))) {
            E.url[0] = '\0';
            return 0; /* the tests skip */
        }
        if (spawn_server(bin) != 0) {
            fprintf(stderr, "informer e2e: %s did not start\n", bin);
            return -1;
        }
    }
    struct kgc_k8s_config cfg = {.server = E.url};
    struct kgc_k8s_options o;
    kgc_k8s_options_default(&o);
    o.qps = 0; /* the churn is the load; do not throttle the test driver */
    struct kgc_err err = {0};
    if (kgc_k8s_client_new(&cfg, &o, &E.client, &err) != 0)
        return -1;
    post_test("/_test/reset-faults");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kgc_k8s_client_free(E.client);
    if (E.server > 0) {
        kill(E.server, SIGTERM);
        int st;
        waitpid(E.server, &st, 0);
    }
    return 0;
}

/* --- writes ----------------------------------------------------------------------------------- */

static int create_json(const char *collection, const char *json)
{
    json_object *j = json_tokener_parse(json);
    assert_non_null(j);
    struct kgc_k8s_status st;
    struct kgc_err err = {0};
    int rc = kgc_k8s_create(E.client, collection, j, NULL, &st, &err);
    json_object_put(j);
    if (rc != 0 && rc != KGC_EEXIST)
        fprintf(stderr, "create %s: %s\n", collection, err.msg);
    return rc;
}

static void apply_crds(void)
{
    const char *files[] = {"crds/gatewayclasses",
                           "crds/gateways",
                           "crds/httproutes",
                           "crds/referencegrants",
                           "crds-more/gateway.networking.k8s.io_grpcroutes",
                           "crds-more/gateway.networking.k8s.io_backendtlspolicies",
                           "crds-more/gateway.networking.k8s.io_listenersets",
                           "crds-more/gateway.networking.k8s.io_tlsroutes",
                           "crds-more/gateway.networking.k8s.io_tcproutes",
                           "crds-more/gateway.networking.k8s.io_udproutes"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/%s.yaml", E.gwapi, files[i]);
        json_object *docs = yaml_file_to_json(path, NULL, NULL);
        assert_non_null(docs);
        json_object *crd = json_object_array_get_idx(docs, 0);
        struct kgc_k8s_status st;
        struct kgc_err err = {0};
        int rc = kgc_k8s_create(E.client, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                crd, NULL, &st, &err);
        if (rc != 0 && rc != KGC_EEXIST)
            fail_msg("CRD %s: %s", files[i], err.msg);
        json_object_put(docs);
    }
    /* Kong's plugin kinds, from the chart (the test runs from the repository root) */
    const char *kong[] = {"charts/kgc/crds/configuration.konghq.com_kongplugins.yaml",
                          "charts/kgc/crds/configuration.konghq.com_kongclusterplugins.yaml"};
    for (size_t i = 0; i < 2; i++) {
        json_object *docs = yaml_file_to_json(kong[i], NULL, NULL);
        assert_non_null(docs);
        struct kgc_k8s_status st;
        struct kgc_err err = {0};
        int rc = kgc_k8s_create(E.client, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                json_object_array_get_idx(docs, 0), NULL, &st, &err);
        if (rc != 0 && rc != KGC_EEXIST)
            fail_msg("CRD %s: %s", kong[i], err.msg);
        json_object_put(docs);
    }
    /* served once listable */
    for (int i = 0; i < 200; i++) {
        json_object *out = NULL;
        if (kgc_k8s_get(E.client, "/apis/gateway.networking.k8s.io/v1/referencegrants", &out, NULL,
                        NULL) == 0) {
            json_object_put(out);
            return;
        }
        peer_sleep_ms(10);
    }
    fail_msg("the CRDs are not served");
}

static char *collection(enum kgc_api_kind k, const char *ns, char *buf, size_t size)
{
    const struct kgc_api_kind_info *i = kgc_api_kind_info(k);
    struct kgc_k8s_resource r = {i->group, i->version, i->plural, i->namespaced};
    assert_int_equal(kgc_k8s_path(buf, size, &r, ns, NULL, NULL), 0);
    return buf;
}

static char *object_path(enum kgc_api_kind k, const char *ns, const char *name, char *buf,
                         size_t size)
{
    const struct kgc_api_kind_info *i = kgc_api_kind_info(k);
    struct kgc_k8s_resource r = {i->group, i->version, i->plural, i->namespaced};
    assert_int_equal(kgc_k8s_path(buf, size, &r, ns, name, NULL), 0);
    return buf;
}

/* The JSON of object #i of kind k (version v changes the spec). */
static char *make_object(enum kgc_api_kind k, int i, int v, const char *tls_crt,
                         const char *tls_key)
{
    char *s = NULL;
    int nsi = i % NAMESPACES;
    int r;
    switch (k) {
    case KGC_API_GATEWAYCLASS:
        r = asprintf(&s,
                     "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"GatewayClass\","
                     "\"metadata\":{\"name\":\"class-%d\",\"labels\":{\"v\":\"%d\"}},\"spec\":{"
                     "\"controllerName\":\"konghq.com/kgc-gateway-controller\"}}",
                     i, v);
        break;
    case KGC_API_GATEWAY:
        r = asprintf(&s,
                     "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\","
                     "\"metadata\":{\"name\":\"gw-%d\",\"namespace\":\"ns-%d\"},\"spec\":{"
                     "\"gatewayClassName\":\"class-%d\",\"listeners\":[{\"name\":\"http\","
                     "\"port\":%d,\"protocol\":\"HTTP\",\"allowedRoutes\":{\"namespaces\":{"
                     "\"from\":\"All\"}}},{\"name\":\"https\",\"port\":443,\"protocol\":\"HTTPS\","
                     "\"hostname\":\"*.example.com\",\"tls\":{\"certificateRefs\":[{\"name\":"
                     "\"tls-%d\",\"namespace\":\"" TLS_NS "\"}]}}]}}",
                     i, nsi, i % 10, 8000 + v, i % 80);
        break;
    case KGC_API_HTTPROUTE:
        r = asprintf(&s,
                     "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
                     "\"metadata\":{\"name\":\"route-%d\",\"namespace\":\"ns-%d\"},\"spec\":{"
                     "\"parentRefs\":[{\"name\":\"gw-%d\",\"namespace\":\"ns-%d\"}],\"hostnames\":"
                     "[\"r%d.example.com\"],\"rules\":[{\"matches\":[{\"path\":{\"type\":"
                     "\"PathPrefix\",\"value\":\"/v%d\"}}],\"filters\":[{\"type\":"
                     "\"RequestHeaderModifier\",\"requestHeaderModifier\":{\"set\":[{\"name\":"
                     "\"x-v\",\"value\":\"%d\"}]}}],\"backendRefs\":[{\"name\":\"svc-%d\","
                     "\"port\":80,\"weight\":%d}]}]}}",
                     i, nsi, i % 100, (i % 100) % NAMESPACES, i, v, v, i % 200, 1 + v);
        break;
    case KGC_API_GRPCROUTE:
        r = asprintf(&s,
                     "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"GRPCRoute\","
                     "\"metadata\":{\"name\":\"grpc-%d\",\"namespace\":\"ns-%d\"},\"spec\":{"
                     "\"parentRefs\":[{\"name\":\"gw-%d\",\"namespace\":\"ns-%d\"}],\"hostnames\":"
                     "[\"g%d.example.com\"],\"rules\":[{\"matches\":[{\"method\":{\"service\":"
                     "\"pkg.S%d\",\"method\":\"M\"}}],\"backendRefs\":[{\"name\":\"svc-%d\","
                     "\"port\":80,\"weight\":%d}]}]}}",
                     i, nsi, i % 100, (i % 100) % NAMESPACES, i, v, i % 200, 1 + v);
        break;
    case KGC_API_REFERENCEGRANT:
        r = asprintf(&s,
                     "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"ReferenceGrant\","
                     "\"metadata\":{\"name\":\"grant-%d\",\"namespace\":\"ns-%d\"},\"spec\":{"
                     "\"from\":[{\"group\":\"gateway.networking.k8s.io\",\"kind\":\"HTTPRoute\","
                     "\"namespace\":\"ns-%d\"}],\"to\":[{\"group\":\"\",\"kind\":\"Service\"%s}]}}",
                     i, nsi, (i + v) % NAMESPACES, v ? ",\"name\":\"svc-1\"" : "");
        break;
    case KGC_API_SERVICE:
        r = asprintf(&s,
                     "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
                     "\"svc-%d\",\"namespace\":\"ns-%d\"},\"spec\":{\"type\":\"ClusterIP\","
                     "\"clusterIP\":\"10.0.%d.%d\",\"ports\":[{\"name\":\"http\",\"port\":80,"
                     "\"targetPort\":%d,\"protocol\":\"TCP\"},{\"name\":\"named\",\"port\":81,"
                     "\"targetPort\":\"web\"}]}}",
                     i, nsi, i / 250, i % 250 + 1, 8080 + v);
        break;
    case KGC_API_ENDPOINTSLICE:
        r = asprintf(&s,
                     "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","
                     "\"metadata\":{\"name\":\"svc-%d-abc\",\"namespace\":\"ns-%d\",\"labels\":{"
                     "\"kubernetes.io/service-name\":\"svc-%d\"}},\"addressType\":\"IPv4\","
                     "\"ports\":[{\"name\":\"http\",\"port\":%d,\"protocol\":\"TCP\"}],"
                     "\"endpoints\":[{\"addresses\":[\"10.1.%d.%d\"],\"conditions\":{\"ready\":%s,"
                     "\"serving\":true,\"terminating\":false}}]}",
                     i, nsi, i, 8080 + v, i / 250, i % 250 + 1, v % 2 ? "false" : "true");
        break;
    case KGC_API_SECRET: {
        bool valid = (i + v) % 2 == 0;
        char *c = b64(valid ? tls_crt : "junk", strlen(valid ? tls_crt : "junk"));
        char *kk = b64(tls_key, strlen(tls_key));
        r = asprintf(&s,
                     "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"tls-%d\","
                     "\"namespace\":\"" TLS_NS "\"},\"type\":\"kubernetes.io/tls\",\"data\":{"
                     "\"tls.crt\":\"%s\",\"tls.key\":\"%s\"}}",
                     i, c, kk);
        free(c);
        free(kk);
        break;
    }
    case KGC_API_NAMESPACE:
        r = asprintf(&s,
                     "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                     "\"extra-%d\",\"labels\":{\"team\":\"t%d\"}}}",
                     i, v);
        break;
    case KGC_API_KONGPLUGIN:
        r = asprintf(&s,
                     "{\"apiVersion\":\"configuration.konghq.com/v1\",\"kind\":\"KongPlugin\","
                     "\"metadata\":{\"name\":\"kp-%d\",\"namespace\":\"ns-%d\"},"
                     "\"plugin\":\"response-transformer\",\"config\":{\"add\":{\"headers\":"
                     "[\"x-v:%d\"]}}}",
                     i, nsi, v);
        break;
    case KGC_API_KONGCLUSTERPLUGIN:
        r = asprintf(&s,
                     "{\"apiVersion\":\"configuration.konghq.com/v1\",\"kind\":"
                     "\"KongClusterPlugin\",\"metadata\":{\"name\":\"kcp-%d\"},\"plugin\":"
                     "\"request-termination\",\"config\":{\"status_code\":%d}}",
                     i, 400 + v);
        break;
    case KGC_API_CONFIGMAP: {
        /* a CA bundle (kept), junk in ca.crt (kept as a problem) or no ca.crt (dropped data) */
        json_object *data = json_object_new_object();
        if ((i + v) % 3 == 0)
            json_object_object_add(data, "ca.crt", json_object_new_string(tls_crt));
        else if ((i + v) % 3 == 1)
            json_object_object_add(data, "ca.crt", json_object_new_string("junk"));
        json_object_object_add(data, "other", json_object_new_string("not kept"));
        r = asprintf(&s,
                     "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                     "\"cm-%d\",\"namespace\":\"ns-%d\"},\"data\":%s}",
                     i, nsi, json_object_to_json_string(data));
        json_object_put(data);
        break;
    }
    case KGC_API_BACKENDTLSPOLICY:
        r = asprintf(&s,
                     "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":"
                     "\"BackendTLSPolicy\",\"metadata\":{\"name\":\"btls-%d\",\"namespace\":"
                     "\"ns-%d\"},\"spec\":{\"targetRefs\":[{\"group\":\"\",\"kind\":"
                     "\"Service\",\"name\":\"svc-%d\"}],\"validation\":{\"caCertificateRefs\":"
                     "[{\"group\":\"\",\"kind\":\"ConfigMap\",\"name\":\"cm-%d\"}],"
                     "\"hostname\":\"h%d.example.com\"}}}",
                     i, nsi, i, i, v);
        break;
    case KGC_API_LISTENERSET:
        r = asprintf(&s,
                     "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"ListenerSet\","
                     "\"metadata\":{\"name\":\"ls-%d\",\"namespace\":\"ns-%d\"},\"spec\":{"
                     "\"parentRef\":{\"name\":\"gw-%d\"},\"listeners\":[{\"name\":\"l\","
                     "\"port\":80,\"protocol\":\"HTTP\",\"hostname\":\"ls%d-%d.example.com\"}]}}",
                     i, nsi, i % 100, i, v);
        break;
    case KGC_API_TLSROUTE:
        r = asprintf(&s,
                     "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"TLSRoute\","
                     "\"metadata\":{\"name\":\"tls-%d\",\"namespace\":\"ns-%d\"},\"spec\":{"
                     "\"parentRefs\":[{\"name\":\"gw-%d\",\"namespace\":\"ns-%d\"}],\"hostnames\":"
                     "[\"t%d.example.com\"],\"rules\":[{\"backendRefs\":[{\"name\":\"svc-%d\","
                     "\"port\":80,\"weight\":%d}]}]}}",
                     i, nsi, i % 100, (i % 100) % NAMESPACES, i, i % 200, 1 + v);
        break;
    case KGC_API_TCPROUTE:
    case KGC_API_UDPROUTE:
        r = asprintf(&s,
                     "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"%s\","
                     "\"metadata\":{\"name\":\"%s-%d\",\"namespace\":\"ns-%d\"},\"spec\":{"
                     "\"parentRefs\":[{\"name\":\"gw-%d\",\"namespace\":\"ns-%d\","
                     "\"sectionName\":\"s%d\"}],\"rules\":[{\"backendRefs\":[{\"name\":"
                     "\"svc-%d\",\"port\":80,\"weight\":%d}]}]}}",
                     k == KGC_API_TCPROUTE ? "TCPRoute" : "UDPRoute",
                     k == KGC_API_TCPROUTE ? "tcp" : "udp", i, nsi, i % 100, (i % 100) % NAMESPACES,
                     v, i % 200, 1 + v);
        break;
    default:
        r = -1;
    }
    assert_true(r > 0);
    return s;
}

static const char *object_ns(enum kgc_api_kind k, int i)
{
    static char buf[32];
    if (!kgc_api_kind_info(k)->namespaced)
        return NULL;
    snprintf(buf, sizeof(buf), k == KGC_API_SECRET ? TLS_NS : "ns-%d", i % NAMESPACES);
    return buf;
}

static const char *object_name(enum kgc_api_kind k, int i)
{
    static char buf[64];
    static const char *fmt[KGC_API_KIND_COUNT] = {
        [KGC_API_GATEWAYCLASS] = "class-%d",    [KGC_API_GATEWAY] = "gw-%d",
        [KGC_API_HTTPROUTE] = "route-%d",       [KGC_API_GRPCROUTE] = "grpc-%d",
        [KGC_API_REFERENCEGRANT] = "grant-%d",  [KGC_API_SERVICE] = "svc-%d",
        [KGC_API_ENDPOINTSLICE] = "svc-%d-abc", [KGC_API_SECRET] = "tls-%d",
        [KGC_API_NAMESPACE] = "extra-%d",       [KGC_API_KONGPLUGIN] = "kp-%d",
        [KGC_API_KONGCLUSTERPLUGIN] = "kcp-%d", [KGC_API_CONFIGMAP] = "cm-%d",
        [KGC_API_BACKENDTLSPOLICY] = "btls-%d", [KGC_API_LISTENERSET] = "ls-%d",
        [KGC_API_TLSROUTE] = "tls-%d",          [KGC_API_TCPROUTE] = "tcp-%d",
        [KGC_API_UDPROUTE] = "udp-%d"};
    snprintf(buf, sizeof(buf), fmt[k], i);
    return buf;
}

/* --- comparing states ------------------------------------------------------------------------- */

struct acc {
    enum kgc_api_kind kind;
    struct kgc_api_obj **objs;
    size_t n, cap;
};

static int take(const struct kgc_jsonscan_tape *item, void *ctx)
{
    struct acc *a = ctx;
    struct kgc_api_obj *o = NULL;
    if (kgc_api_parse_tape(a->kind, item, 0, &o, NULL) != 0)
        return KGC_EPARSE;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->objs = realloc(a->objs, a->cap * sizeof(void *));
    }
    a->objs[a->n++] = o;
    return 0;
}

/* The server's state, parsed like the informers do, dumped like the cache is. */
static char *server_dump(void)
{
    struct kgc_cache *c = kgc_cache_new();
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        char path[256];
        struct acc a = {.kind = (enum kgc_api_kind)k};
        struct kgc_k8s_list_opts lo = {.limit = 250};
        struct kgc_err err = {0};
        int rc;
        do {
            for (size_t i = 0; i < a.n; i++)
                kgc_api_obj_unref(a.objs[i]);
            a.n = 0;
            rc = kgc_k8s_list(E.client, collection((enum kgc_api_kind)k, NULL, path, sizeof(path)),
                              &lo, take, &a, NULL, NULL, NULL, &err);
        } while (rc != 0 && kgc_k8s_retriable(rc, NULL)); /* injected faults may still be armed */
        assert_int_equal(rc, 0);
        assert_int_equal(kgc_cache_replace(c, (enum kgc_api_kind)k, a.objs, a.n, NULL), 0);
        free(a.objs);
    }
    char *out = NULL;
    assert_int_equal(kgc_cache_dump(c, NULL, NULL, NULL, false, &out, NULL, NULL), 0);
    kgc_cache_free(c);
    return out;
}

/* Prints the first difference of two dumps (for a failing run). */
static void show_difference(const char *a, const char *b)
{
    size_t i = 0;
    while (a[i] && a[i] == b[i])
        i++;
    size_t from = i > 200 ? i - 200 : 0;
    fprintf(stderr, "first difference at byte %zu\n cache : %.400s\n server: %.400s\n", i, a + from,
            b + from);
}

/* Waits (bounded) until the cache dump equals the server's; both dumps are returned. */
static bool converge(struct kgc_cache *cache, char **mine, char **theirs)
{
    *mine = *theirs = NULL;
    for (int attempt = 0; attempt < 300; attempt++) {
        free(*mine);
        free(*theirs);
        *theirs = server_dump();
        assert_int_equal(kgc_cache_dump(cache, NULL, NULL, NULL, false, mine, NULL, NULL), 0);
        if (strcmp(*mine, *theirs) == 0)
            return true;
        peer_sleep_ms(100);
    }
    return false;
}

static uint64_t total_relists(struct kgc_informer *const *infs)
{
    uint64_t n = 0;
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        struct kgc_informer_stats st;
        kgc_informer_stats(infs[k], &st);
        n += st.relists;
    }
    return n;
}

/* Waits (bounded) until every informer received a new bookmark. */
static void wait_for_bookmarks(struct kgc_informer *const *infs)
{
    uint64_t before[KGC_API_KIND_COUNT];
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        struct kgc_informer_stats st;
        kgc_informer_stats(infs[k], &st);
        before[k] = st.bookmarks;
    }
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        struct kgc_informer_stats st;
        int i = 0;
        do {
            kgc_informer_stats(infs[k], &st);
            if (st.bookmarks > before[k])
                break;
            peer_sleep_ms(20);
        } while (++i < 1000);
        assert_true(st.bookmarks > before[k]);
    }
}

/* --- the test --------------------------------------------------------------------------------- */

struct counter {
    uint64_t calls; /* handler calls (atomic) */
};

static void count_calls(enum kgc_api_kind kind, const struct kgc_api_obj *old_obj,
                        const struct kgc_api_obj *new_obj, void *ctx)
{
    (void)kind;
    struct counter *c = ctx;
    /* an update always moves the resourceVersion: no duplicate deliveries */
    if (old_obj && new_obj && old_obj != new_obj)
        assert_string_not_equal(old_obj->meta.resource_version, new_obj->meta.resource_version);
    __atomic_add_fetch(&c->calls, 1, __ATOMIC_RELAXED);
}

static void test_cache_converges_through_churn_and_faults(void **state)
{
    (void)state;
    if (!E.url[0]) {
        fprintf(stderr, "informer e2e: SKIPPED: no kgc-test-apiserver binary (set "
                        "KGC_TEST_APISERVER or build it)\n");
        skip();
    }
    apply_crds();
    char path[256], cpath[256];
    for (int i = 0; i < NAMESPACES; i++) {
        char *ns = NULL;
        assert_true(asprintf(&ns,
                             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{"
                             "\"name\":\"ns-%d\",\"labels\":{\"team\":\"t%d\"}}}",
                             i, i) > 0);
        int rc = create_json("/api/v1/namespaces", ns);
        assert_true(rc == 0 || rc == KGC_EEXIST);
        free(ns);
    }

    struct kgc_cache *cache = kgc_cache_new();
    struct counter calls = {0};
    struct kgc_informer *infs[KGC_API_KIND_COUNT];
    struct kgc_informer_options io;
    kgc_informer_options_default(&io);
    io.backoff_initial_ns = 20 * KGC_NS_PER_MS;
    io.backoff_max_ns = 500 * KGC_NS_PER_MS;
    io.page_size = 100;
    io.watch_timeout_min_s = 20;
    struct kgc_err err = {0};
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        kgc_cache_add_handler(cache, (enum kgc_api_kind)k, count_calls, &calls);
        assert_int_equal(
            kgc_informer_new(E.client, cache, (enum kgc_api_kind)k, &io, &infs[k], &err), 0);
        assert_int_equal(kgc_informer_start(infs[k], &err), 0);
    }
    assert_int_equal(kgc_informer_wait_synced(infs, KGC_API_KIND_COUNT, 20 * KGC_NS_PER_S), 0);

    char *crt = NULL, *key = NULL;
    assert_int_equal(make_cert("e2e.example.com", &crt, &key), 0);
    /* 1,210 objects: how many of each kind */
    static const int count[KGC_API_KIND_COUNT] = {
        [KGC_API_GATEWAYCLASS] = 10,      [KGC_API_GATEWAY] = 100,
        [KGC_API_HTTPROUTE] = 400,        [KGC_API_GRPCROUTE] = 40,
        [KGC_API_REFERENCEGRANT] = 50,    [KGC_API_SERVICE] = 200,
        [KGC_API_ENDPOINTSLICE] = 150,    [KGC_API_SECRET] = 80,
        [KGC_API_NAMESPACE] = 10,         [KGC_API_KONGPLUGIN] = 40,
        [KGC_API_KONGCLUSTERPLUGIN] = 10, [KGC_API_CONFIGMAP] = 20,
        [KGC_API_BACKENDTLSPOLICY] = 20,  [KGC_API_LISTENERSET] = 20,
        [KGC_API_TLSROUTE] = 20,          [KGC_API_TCPROUTE] = 20,
        [KGC_API_UDPROUTE] = 20};
    int ops = 0, created = 0, updated = 0, deleted = 0;
    /* faults, spread through the churn */
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        for (int i = 0; i < count[k]; i++) {
            char *j = make_object((enum kgc_api_kind)k, i, 0, crt, key);
            assert_int_equal(
                create_json(collection((enum kgc_api_kind)k, object_ns(k, i), cpath, sizeof(cpath)),
                            j),
                0);
            free(j);
            created++;
            if (++ops % 150 == 0)
                assert_int_equal(post_test("/_test/close-watches"), 0);
            if (ops % 400 == 0)
                assert_int_equal(post_test("/_test/drop-history"), 0);
            if (ops % 333 == 0) {
                assert_int_equal(post_test("/_test/fail?prefix=/apis/gateway.networking.k8s.io"
                                           "&code=500&count=3&verb=watch"),
                                 0);
                assert_int_equal(post_test("/_test/fail?prefix=/api/v1&code=503&count=2&verb=list"),
                                 0);
            }
        }
    }
    /* updates: every other object of each kind, some twice; status writes on routes */
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        for (int i = 0; i < count[k]; i += 2) {
            for (int v = 1; v <= (i % 6 == 0 ? 2 : 1); v++) {
                char *j = make_object((enum kgc_api_kind)k, i, v, crt, key);
                json_object *patch = json_tokener_parse(j);
                free(j);
                object_path((enum kgc_api_kind)k, object_ns(k, i), object_name(k, i), path,
                            sizeof(path));
                assert_int_equal(kgc_k8s_merge_patch(E.client, path, patch, NULL, NULL, &err), 0);
                json_object_put(patch);
                updated++;
                if (++ops % 150 == 0)
                    assert_int_equal(post_test("/_test/close-watches"), 0);
                if (ops % 400 == 0)
                    assert_int_equal(post_test("/_test/drop-history"), 0);
            }
            if (k == KGC_API_HTTPROUTE && i % 4 == 0) {
                char *st = NULL;
                assert_true(
                    asprintf(&st,
                             "{\"status\":{\"parents\":[{\"parentRef\":{\"name\":\"gw-%d\"},"
                             "\"controllerName\":\"konghq.com/kgc-gateway-controller\","
                             "\"conditions\":[{\"type\":\"Accepted\",\"status\":\"True\","
                             "\"reason\":\"Accepted\",\"message\":\"ok\",\"lastTransitionTime\":"
                             "\"2026-01-01T00:00:00Z\",\"observedGeneration\":2}]}]}}",
                             i % 100) > 0);
                json_object *patch = json_tokener_parse(st);
                free(st);
                assert_int_equal(kgc_k8s_patch_status(E.client, path, patch, NULL, NULL, &err), 0);
                json_object_put(patch);
                updated++;
                ops++;
            }
        }
    }
    /* deletes: every third object of each kind */
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        for (int i = 1; i < count[k]; i += 3) {
            object_path((enum kgc_api_kind)k, object_ns(k, i), object_name(k, i), path,
                        sizeof(path));
            int rc = kgc_k8s_delete(E.client, path, NULL, &err);
            if (rc != 0)
                fail_msg("delete %s: %s", path, err.msg);
            deleted++;
            if (++ops % 150 == 0)
                assert_int_equal(post_test("/_test/close-watches"), 0);
            if (ops % 400 == 0)
                assert_int_equal(post_test("/_test/drop-history"), 0);
        }
    }
    assert_int_equal(post_test("/_test/reset-faults"), 0);

    /* converge: the cache equals the server (bounded wait) */
    char *mine = NULL, *theirs = NULL;
    bool equal = converge(cache, &mine, &theirs);
    if (!equal)
        show_difference(mine, theirs);
    assert_true(equal);

    /* a quiet last phase: with no fault left, every change must arrive as a watch event. It
     * starts once every informer got a bookmark, i.e. sits in a healthy watch (a relist still
     * pending from the faults would come before that). */
    wait_for_bookmarks(infs);
    uint64_t relists_before = total_relists(infs);
    for (int i = 0; i < 60; i++) {
        enum kgc_api_kind k = (enum kgc_api_kind)(i % KGC_API_KIND_COUNT);
        int idx = 1000 + i;
        char *j = make_object(k, idx, 0, crt, key);
        assert_int_equal(create_json(collection(k, object_ns(k, idx), cpath, sizeof(cpath)), j), 0);
        free(j);
        created++;
        int old = (i * 3) % count[k]; /* may be gone already: ENOENT is fine */
        object_path(k, object_ns(k, old), object_name(k, old), path, sizeof(path));
        if (i % 2) {
            j = make_object(k, old, 7, crt, key);
            json_object *patch = json_tokener_parse(j);
            free(j);
            int rc = kgc_k8s_merge_patch(E.client, path, patch, NULL, NULL, &err);
            assert_true(rc == 0 || rc == KGC_ENOENT);
            json_object_put(patch);
            updated += rc == 0;
        } else if (kgc_k8s_delete(E.client, path, NULL, &err) == 0) {
            deleted++;
        }
    }
    free(crt);
    free(key);
    free(mine);
    free(theirs);
    equal = converge(cache, &mine, &theirs);
    if (!equal)
        show_difference(mine, theirs);
    assert_true(equal);
    assert_int_equal(total_relists(infs), relists_before);

    uint64_t relists = 0, watches = 0, events = 0;
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        struct kgc_informer_stats st;
        kgc_informer_stats(infs[k], &st);
        relists += st.relists;
        watches += st.watches;
        events += st.added + st.modified + st.deleted;
    }
    size_t objects = 0;
    for (int k = 0; k < KGC_API_KIND_COUNT; k++)
        objects += kgc_cache_count(cache, (enum kgc_api_kind)k);
    fprintf(stderr,
            "informer e2e: %d created, %d updated, %d deleted; %zu objects in the cache; "
            "%llu events, %llu watches, %llu relists, %llu handler calls; dump %zu bytes\n",
            created, updated, deleted, objects, (unsigned long long)events,
            (unsigned long long)watches, (unsigned long long)relists,
            (unsigned long long)__atomic_load_n(&calls.calls, __ATOMIC_RELAXED), strlen(mine));
    assert_int_equal(created, 1270);
    assert_true(watches > KGC_API_KIND_COUNT); /* the cuts made them watch again */
    assert_true(relists > 0);                  /* the dropped history made them list again */
    free(mine);
    free(theirs);
    for (int k = 0; k < KGC_API_KIND_COUNT; k++)
        kgc_informer_free(infs[k]);
    kgc_cache_free(cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_converges_through_churn_and_faults),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

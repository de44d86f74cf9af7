/* k8s: the watch stream splitter, event/Status decoding, the token bucket, kubeconfig and
 * in-cluster settings, paths, and the client against a canned HTTP peer (errors, timeouts,
 * tokens, pagination, watches split across chunks, oversized events, cuts, cancellation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kgc/k8s.h"
#include "kgc/log.h"
#include "test_k8s_helpers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- watch stream ----------------------------------------------------------------------------- */

struct lines {
    char got[32][256];
    int n;
    int stop_at; /* return 7 on this line (1-based), 0: never */
};

static int collect(const char *line, size_t len, void *ctx)
{
    struct lines *l = ctx;
    assert_true(l->n < 32);
    snprintf(l->got[l->n], sizeof(l->got[0]), "%.*s", (int)len, line);
    l->n++;
    return l->stop_at && l->n == l->stop_at ? 7 : 0;
}

static const char STREAM[] = "{\"type\":\"ADDED\",\"object\":{\"a\":1}}\n"
                             "\n"
                             "{\"type\":\"MODIFIED\",\"object\":{\"a\":\"x\\ny\"}}\r\n"
                             "   \n"
                             "{\"type\":\"DELETED\",\"object\":{}}\n";

static void check_stream_lines(const struct lines *l)
{
    assert_int_equal(l->n, 3);
    assert_string_equal(l->got[0], "{\"type\":\"ADDED\",\"object\":{\"a\":1}}");
    assert_string_equal(l->got[1], "{\"type\":\"MODIFIED\",\"object\":{\"a\":\"x\\ny\"}}");
    assert_string_equal(l->got[2], "{\"type\":\"DELETED\",\"object\":{}}");
}

static void test_stream_splits_lines_whatever_the_chunking(void **state)
{
    (void)state;
    size_t n = sizeof(STREAM) - 1;
    /* every chunk size, byte by byte included */
    for (size_t chunk = 1; chunk <= n; chunk++) {
        struct kgc_k8s_watch_stream ws;
        struct lines l = {0};
        kgc_k8s_watch_stream_init(&ws, 1024);
        for (size_t off = 0; off < n; off += chunk) {
            size_t len = n - off < chunk ? n - off : chunk;
            assert_int_equal(kgc_k8s_watch_stream_feed(&ws, STREAM + off, len, collect, &l), 0);
        }
        check_stream_lines(&l);
        assert_int_equal(kgc_k8s_watch_stream_pending(&ws), 0);
        kgc_k8s_watch_stream_free(&ws);
    }
    /* a partial line stays pending */
    struct kgc_k8s_watch_stream ws;
    struct lines l = {0};
    kgc_k8s_watch_stream_init(&ws, 1024);
    assert_int_equal(kgc_k8s_watch_stream_feed(&ws, "{\"type\"", 7, collect, &l), 0);
    assert_int_equal(kgc_k8s_watch_stream_pending(&ws), 7);
    assert_int_equal(l.n, 0);
    kgc_k8s_watch_stream_free(&ws);
}

static void test_stream_callback_can_stop(void **state)
{
    (void)state;
    struct kgc_k8s_watch_stream ws;
    struct lines l = {.stop_at = 2};
    kgc_k8s_watch_stream_init(&ws, 1024);
    assert_int_equal(kgc_k8s_watch_stream_feed(&ws, STREAM, sizeof(STREAM) - 1, collect, &l), 7);
    assert_int_equal(l.n, 2);
    kgc_k8s_watch_stream_free(&ws);
}

static void test_stream_caps_one_line(void **state)
{
    (void)state;
    struct kgc_k8s_watch_stream ws;
    struct lines l = {0};
    char big[300];
    memset(big, 'x', sizeof(big));
    /* exactly the cap is fine, in pieces or whole */
    kgc_k8s_watch_stream_init(&ws, 100);
    assert_int_equal(kgc_k8s_watch_stream_feed(&ws, big, 60, collect, &l), 0);
    assert_int_equal(kgc_k8s_watch_stream_feed(&ws, big, 40, collect, &l), 0);
    assert_int_equal(kgc_k8s_watch_stream_feed(&ws, "\n", 1, collect, &l), 0);
    assert_int_equal(kgc_k8s_watch_stream_feed(&ws, big, 100, collect, &l), 0);
    assert_int_equal(kgc_k8s_watch_stream_feed(&ws, "\n", 1, collect, &l), 0);
    assert_int_equal(l.n, 2);
    /* one more byte is an error, and the stream stays failed */
    assert_int_equal(kgc_k8s_watch_stream_feed(&ws, big, 101, collect, &l), KGC_E2BIG);
    assert_int_equal(kgc_k8s_watch_stream_feed(&ws, "{}\n", 3, collect, &l), KGC_E2BIG);
    assert_int_equal(l.n, 2);
    kgc_k8s_watch_stream_free(&ws);
    /* a long line inside one chunk with its newline */
    kgc_k8s_watch_stream_init(&ws, 100);
    char line[202];
    memset(line, 'y', 201);
    line[201] = '\n';
    assert_int_equal(kgc_k8s_watch_stream_feed(&ws, line, sizeof(line), collect, &l), KGC_E2BIG);
    kgc_k8s_watch_stream_free(&ws);
}

/* --- events and Status ------------------------------------------------------------------------ */

static void test_event_parse(void **state)
{
    (void)state;
    struct kgc_k8s_event ev;
    struct kgc_jsonscan_tape t;
    kgc_jsonscan_tape_init(&t);
    struct kgc_err err = {0};
    const char *a = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\","
                    "\"resourceVersion\":\"17\"}}}";
    assert_int_equal(kgc_k8s_event_parse(a, strlen(a), &t, &ev, &err), 0);
    assert_int_equal(ev.type, KGC_K8S_ADDED);
    assert_string_equal(ev.resource_version, "17");

    const char *b = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Gateway\",\"apiVersion\":"
                    "\"gateway.networking.k8s.io/v1\",\"metadata\":{\"resourceVersion\":\"107\"}}}";
    assert_int_equal(kgc_k8s_event_parse(b, strlen(b), &t, &ev, &err), 0);
    assert_int_equal(ev.type, KGC_K8S_BOOKMARK);
    assert_string_equal(ev.resource_version, "107");

    const char *e = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                    "\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource "
                    "version: 101 (150)\",\"reason\":\"Expired\",\"code\":410}}";
    assert_int_equal(kgc_k8s_event_parse(e, strlen(e), &t, &ev, &err), 0);
    assert_int_equal(ev.type, KGC_K8S_ERROR);
    assert_int_equal(ev.status.code, 410);
    assert_string_equal(ev.status.reason, "Expired");
    assert_string_equal(ev.status.message, "too old resource version: 101 (150)");

    const char *bad[] = {"{\"type\":\"ADDED\"",
                         "{\"type\":\"ADDED\",\"object\":5}",
                         "{\"type\":\"SNOOZED\",\"object\":{}}",
                         "{\"object\":{}}",
                         "{\"type\":\"ADDED\",\"object\":{}} trailing",
                         "[1,2]",
                         ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(kgc_k8s_event_parse(bad[i], strlen(bad[i]), &t, &ev, &err), KGC_EPARSE);
        assert_int_equal(ev.object, 0);
    }
    kgc_jsonscan_tape_free(&t);
}

static void test_status_codes(void **state)
{
    (void)state;
    assert_int_equal(kgc_k8s_code_for_status(401, ""), KGC_EACCES);
    assert_int_equal(kgc_k8s_code_for_status(403, "Forbidden"), KGC_EACCES);
    assert_int_equal(kgc_k8s_code_for_status(404, "NotFound"), KGC_ENOENT);
    assert_int_equal(kgc_k8s_code_for_status(409, "AlreadyExists"), KGC_EEXIST);
    assert_int_equal(kgc_k8s_code_for_status(409, "Conflict"), KGC_ECONFLICT);
    assert_int_equal(kgc_k8s_code_for_status(410, "Expired"), KGC_EGONE);
    assert_int_equal(kgc_k8s_code_for_status(422, "Invalid"), KGC_EINVAL);
    assert_int_equal(kgc_k8s_code_for_status(500, ""), KGC_EHTTP);
    struct kgc_k8s_status st = {.code = 503};
    assert_true(kgc_k8s_retriable(KGC_EHTTP, &st));
    st.code = 429;
    assert_true(kgc_k8s_retriable(KGC_EHTTP, &st));
    st.code = 418;
    assert_false(kgc_k8s_retriable(KGC_EHTTP, &st));
    assert_true(kgc_k8s_retriable(KGC_ECONNECT, NULL));
    assert_false(kgc_k8s_retriable(KGC_EACCES, NULL));
    json_object *j = json_tokener_parse("{\"kind\":\"Pod\"}");
    assert_false(kgc_k8s_status_decode(j, &st));
    json_object_put(j);
}

static void test_bucket(void **state)
{
    (void)state;
    struct kgc_k8s_bucket b;
    uint64_t t = 1000 * KGC_NS_PER_S;
    kgc_k8s_bucket_init(&b, 10, 3, t);
    for (int i = 0; i < 3; i++)
        assert_int_equal(kgc_k8s_bucket_reserve(&b, t), 0); /* the burst */
    assert_int_equal(kgc_k8s_bucket_reserve(&b, t), 100 * KGC_NS_PER_MS);
    assert_int_equal(kgc_k8s_bucket_reserve(&b, t), 200 * KGC_NS_PER_MS); /* queued behind */
    t += 300 * KGC_NS_PER_MS; /* the two reserved tokens are paid, a third arrived */
    assert_int_equal(kgc_k8s_bucket_reserve(&b, t), 0);
    t += 10 * KGC_NS_PER_S; /* refills to the burst, not beyond */
    for (int i = 0; i < 3; i++)
        assert_int_equal(kgc_k8s_bucket_reserve(&b, t), 0);
    assert_true(kgc_k8s_bucket_reserve(&b, t) > 0);
    kgc_k8s_bucket_init(&b, 0, 1, t); /* disabled */
    for (int i = 0; i < 100; i++)
        assert_int_equal(kgc_k8s_bucket_reserve(&b, t), 0);
}

/* --- kubeconfig and in-cluster ---------------------------------------------------------------- */

static const char KUBECONFIG[] =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: dev\n"
    "clusters:\n"
    "- name: prod-cluster\n"
    "  cluster:\n"
    "    server: https://prod.example.com:6443/\n"
    "    certificate-authority: certs/ca.pem\n"
    "- name: dev-cluster\n"
    "  cluster:\n"
    "    server: https://127.0.0.1:6443\n"
    "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n"
    "    insecure-skip-tls-verify: true\n"
    "contexts:\n"
    "- name: dev\n"
    "  context: {cluster: dev-cluster, user: dev-user, namespace: team-a}\n"
    "- name: prod\n"
    "  context:\n"
    "    cluster: prod-cluster\n"
    "    user: prod-user\n"
    "- name: broken\n"
    "  context: {cluster: nowhere, user: dev-user}\n"
    "- name: plugin\n"
    "  context: {cluster: dev-cluster, user: exec-user}\n"
    "users:\n"
    "- name: dev-user\n"
    "  user:\n"
    "    token: abc.def\n"
    "- name: prod-user\n"
    "  user:\n"
    "    client-certificate: /abs/client.crt\n"
    "    client-key: client.key\n"
    "    tokenFile: tok\n"
    "- name: exec-user\n"
    "  user:\n"
    "    exec: {command: aws}\n";

static void test_kubeconfig(void **state)
{
    (void)state;
    struct kgc_k8s_config *cfg = NULL;
    struct kgc_err err = {0};
    assert_int_equal(kgc_k8s_config_from_kubeconfig_mem(KUBECONFIG, sizeof(KUBECONFIG) - 1,
                                                        "/etc/kube", NULL, &cfg, &err),
                     0);
    assert_string_equal(cfg->server, "https://127.0.0.1:6443");
    assert_true(cfg->insecure);
    assert_non_null(cfg->ca_data);
    assert_string_equal((char *)cfg->ca_data, "-----BEGIN CERTIFICATE-----");
    assert_null(cfg->ca_file);
    assert_string_equal(cfg->token, "abc.def");
    assert_string_equal(cfg->namespace, "team-a");
    kgc_k8s_config_free(cfg);

    assert_int_equal(kgc_k8s_config_from_kubeconfig_mem(KUBECONFIG, sizeof(KUBECONFIG) - 1,
                                                        "/etc/kube", "prod", &cfg, &err),
                     0);
    assert_string_equal(cfg->server, "https://prod.example.com:6443"); /* no trailing slash */
    assert_false(cfg->insecure);
    assert_string_equal(cfg->ca_file, "/etc/kube/certs/ca.pem");
    assert_string_equal(cfg->client_cert_file, "/abs/client.crt");
    assert_string_equal(cfg->client_key_file, "/etc/kube/client.key");
    assert_string_equal(cfg->token_file, "/etc/kube/tok");
    assert_null(cfg->token);
    assert_string_equal(cfg->namespace, "default");
    kgc_k8s_config_free(cfg);

    assert_int_equal(kgc_k8s_config_from_kubeconfig_mem(KUBECONFIG, sizeof(KUBECONFIG) - 1, NULL,
                                                        "missing", &cfg, &err),
                     KGC_EUSAGE);
    assert_non_null(strstr(err.msg, "no context 'missing'"));
    assert_int_equal(kgc_k8s_config_from_kubeconfig_mem(KUBECONFIG, sizeof(KUBECONFIG) - 1, NULL,
                                                        "broken", &cfg, &err),
                     KGC_EUSAGE);
    assert_non_null(strstr(err.msg, "no cluster 'nowhere'"));
    assert_int_equal(kgc_k8s_config_from_kubeconfig_mem(KUBECONFIG, sizeof(KUBECONFIG) - 1, NULL,
                                                        "plugin", &cfg, &err),
                     KGC_EUSAGE);
    assert_non_null(strstr(err.msg, "exec"));
    const char *bad_yaml = "clusters: [unclosed\n";
    assert_int_equal(
        kgc_k8s_config_from_kubeconfig_mem(bad_yaml, strlen(bad_yaml), NULL, NULL, &cfg, &err),
        KGC_EPARSE);
    assert_non_null(strstr(err.msg, "line"));
    const char *bad_b64 = "current-context: c\nclusters:\n- name: x\n  cluster:\n    server: "
                          "https://h\n    certificate-authority-data: '%%%%'\ncontexts:\n- name: "
                          "c\n  context: {cluster: x}\n";
    assert_int_equal(
        kgc_k8s_config_from_kubeconfig_mem(bad_b64, strlen(bad_b64), NULL, NULL, &cfg, &err),
        KGC_EPARSE);
    assert_int_equal(kgc_k8s_config_from_kubeconfig_mem("", 0, NULL, NULL, &cfg, &err), KGC_EPARSE);
    assert_null(cfg);
    assert_int_equal(kgc_k8s_config_from_kubeconfig("/nonexistent/kubeconfig", NULL, &cfg, &err),
                     KGC_ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/kubeconfig"));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_in_cluster(void **state)
{
    (void)state;
    char dir[] = "/tmp/kgc-sa-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char tok[256], ca[256], ns[256];
    snprintf(tok, sizeof(tok), "%s/token", dir);
    snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
    snprintf(ns, sizeof(ns), "%s/namespace", dir);
    struct kgc_k8s_config *cfg = NULL;
    struct kgc_err err = {0};

    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    unsetenv("POD_NAMESPACE");
    unsetenv("KUBECONFIG");
    assert_int_equal(kgc_k8s_config_in_cluster(dir, &cfg, &err), KGC_EUSAGE);
    assert_non_null(strstr(err.msg, "KUBERNETES_SERVICE_HOST"));
    struct kgc_k8s_options o;
    kgc_k8s_options_default(&o);
    assert_int_equal(kgc_k8s_config_load(&o, &cfg, &err), KGC_EUSAGE);
    assert_non_null(strstr(err.msg, "--kubeconfig"));

    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    assert_int_equal(kgc_k8s_config_in_cluster(dir, &cfg, &err), KGC_ENOENT);
    assert_non_null(strstr(err.msg, "token"));
    write_file(tok, "tok-1\n");
    assert_int_equal(kgc_k8s_config_in_cluster(dir, &cfg, &err), KGC_ENOENT);
    assert_non_null(strstr(err.msg, "CA"));
    write_file(ca, "x");
    assert_int_equal(kgc_k8s_config_in_cluster(dir, &cfg, &err), 0);
    assert_string_equal(cfg->server, "https://10.96.0.1:443");
    assert_string_equal(cfg->token_file, tok);
    assert_string_equal(cfg->ca_file, ca);
    assert_string_equal(cfg->namespace, "default");
    kgc_k8s_config_free(cfg);
    write_file(ns, "kong-system\n");
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    assert_int_equal(kgc_k8s_config_in_cluster(dir, &cfg, &err), 0);
    assert_string_equal(cfg->server, "https://[fd00::1]:443");
    assert_string_equal(cfg->namespace, "kong-system");
    kgc_k8s_config_free(cfg);
    setenv("POD_NAMESPACE", "from-env", 1);
    assert_int_equal(kgc_k8s_config_in_cluster(dir, &cfg, &err), 0);
    assert_string_equal(cfg->namespace, "from-env");
    kgc_k8s_config_free(cfg);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    unsetenv("POD_NAMESPACE");
    unlink(tok);
    unlink(ca);
    unlink(ns);
    rmdir(dir);
}

static void test_paths(void **state)
{
    (void)state;
    char buf[256];
    struct kgc_k8s_resource svc = {"", "v1", "services", true};
    struct kgc_k8s_resource gw = {"gateway.networking.k8s.io", "v1", "gateways", true};
    struct kgc_k8s_resource gc = {"gateway.networking.k8s.io", "v1", "gatewayclasses", false};
    assert_int_equal(kgc_k8s_path(buf, sizeof(buf), &svc, NULL, NULL, NULL), 0);
    assert_string_equal(buf, "/api/v1/services");
    assert_int_equal(kgc_k8s_path(buf, sizeof(buf), &svc, "ns", "a", NULL), 0);
    assert_string_equal(buf, "/api/v1/namespaces/ns/services/a");
    assert_int_equal(kgc_k8s_path(buf, sizeof(buf), &gw, "ns", "g", "status"), 0);
    assert_string_equal(buf, "/apis/gateway.networking.k8s.io/v1/namespaces/ns/gateways/g/status");
    assert_int_equal(kgc_k8s_path(buf, sizeof(buf), &gc, "ignored", "kong", NULL), 0);
    assert_string_equal(buf, "/apis/gateway.networking.k8s.io/v1/gatewayclasses/kong");
    assert_int_equal(kgc_k8s_path(buf, sizeof(buf), &svc, "ns", "a/../b", NULL), KGC_EINVAL);
    assert_int_equal(kgc_k8s_path(buf, sizeof(buf), &svc, "ns", "a?b", NULL), KGC_EINVAL);
    assert_int_equal(kgc_k8s_path(buf, sizeof(buf), &svc, "..", "a", NULL), KGC_EINVAL);
    assert_int_equal(kgc_k8s_path(buf, sizeof(buf), &svc, "ns", NULL, "status"), KGC_EINVAL);
    assert_int_equal(kgc_k8s_path(buf, 10, &svc, "ns", "a", NULL), KGC_ERANGE);
}

/* --- the client against a canned peer --------------------------------------------------------- */

/* Routes by path suffix; each test sets `mode` for what it needs. */
struct canned {
    const char *mode;
    char token_file[256];
    int pages;
};

static void canned_handler(struct peer *p, const struct peer_request *req, struct peer_response *r,
                           void *ctx)
{
    (void)p;
    struct canned *c = ctx;
    const char *path = req->path;
    char q[256];
    if (strcmp(path, "/ok") == 0) {
        peer_resp_part(r,
                       "{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"},\"method\":\"%s\","
                       "\"body\":%s}",
                       req->method, req->body_len ? req->body : "null");
    } else if (strcmp(path, "/notfound") == 0) {
        peer_status(r, 404, "NotFound", "services \\\"x\\\" not found");
    } else if (strcmp(path, "/unauthorized") == 0) {
        peer_status(r, 401, "Unauthorized", "Unauthorized");
    } else if (strcmp(path, "/forbidden") == 0) {
        peer_status(r, 403, "Forbidden", "services is forbidden: User cannot list");
    } else if (strcmp(path, "/boom") == 0) {
        r->status = 500;
        peer_resp_part(r, "internal\nerror <html>");
    } else if (strcmp(path, "/exists") == 0) {
        peer_status(r, 409, "AlreadyExists", "already exists");
    } else if (strcmp(path, "/conflict") == 0) {
        peer_status(r, 409, "Conflict", "the object has been modified");
    } else if (strcmp(path, "/slow") == 0) {
        r->delay_ms = 1000;
        peer_resp_part(r, "{}");
    } else if (strcmp(path, "/big") == 0) {
        char *s = malloc(300001);
        memset(s, ' ', 300000);
        s[0] = '{';
        s[299999] = '}';
        s[300000] = '\0';
        peer_resp_part(r, "%s", s);
        free(s);
    } else if (strcmp(path, "/list") == 0) {
        query_param(req->query, "continue", q, sizeof(q));
        int page = q[0] ? atoi(q) : 0;
        const char *next = page + 1 < c->pages ? "" : NULL;
        char cont[32] = "";
        if (next)
            snprintf(cont, sizeof(cont), ",\"continue\":\"%d\"", page + 1);
        peer_resp_part(r,
                       "{\"kind\":\"ServiceList\",\"metadata\":{\"resourceVersion\":\"900\"%s},"
                       "\"items\":[{\"metadata\":{\"name\":\"p%d-a\"}},{\"metadata\":{\"name\":"
                       "\"p%d-b\"}}]}",
                       cont, page, page);
    } else if (strcmp(path, "/list-stale") == 0) {
        if (strcmp(query_param(req->query, "continue", q, sizeof(q)), "stale") == 0)
            peer_status(r, 410, "Expired", "The provided continue parameter is too old");
        else
            peer_resp_part(r, "{\"metadata\":{\"continue\":\"stale\"},\"items\":[]}");
    } else if (strcmp(path, "/watch-split") == 0) {
        /* three events cut at awkward places: mid-key, mid-string, between two events */
        r->stream = true;
        peer_resp_part(r, "{\"type\":\"ADD");
        peer_resp_part(r, "ED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1");
        peer_resp_part(r, "1\"}}}\n{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\","
                          "\"resourceVersion\":\"12\"}}}\n{\"type\":\"BOOKMARK\",");
        peer_resp_part(r, "\"object\":{\"metadata\":{\"resourceVersion\":\"15\"}}}\n");
        peer_resp_part(r, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,"
                          "\"reason\":\"Expired\",\"message\":\"too old\"}}\n");
    } else if (strcmp(path, "/watch-big") == 0) {
        r->stream = true;
        peer_resp_part(r, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"ok\"}}}\n");
        char *s = malloc(20001);
        memset(s, 'z', 20000);
        s[20000] = '\0';
        peer_resp_part(r, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"%s\"}}}\n", s);
        free(s);
    } else if (strcmp(path, "/watch-cut") == 0) {
        r->cut = true;
        peer_resp_part(r, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n");
        peer_resp_part(r, "{\"type\":\"ADDED\",\"object\":{\"metad");
    } else if (strcmp(path, "/watch-hold") == 0) {
        r->hold = true;
        peer_resp_part(r, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n");
    } else if (strcmp(path, "/watch-refused") == 0) {
        peer_status(r, 403, "Forbidden", "watch is forbidden");
    } else if (strcmp(path, "/watch-garbage") == 0) {
        r->stream = true;
        peer_resp_part(r, "this is not json\n");
    } else {
        peer_status(r, 404, "NotFound", "no route");
    }
}

struct fixture {
    struct canned canned;
    struct peer *peer;
    struct kgc_k8s_client *client;
};

static struct fixture *fixture_new(const struct kgc_k8s_options *opts, const char *token,
                                   const char *token_file)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->canned.pages = 3;
    f->peer = peer_start(canned_handler, &f->canned);
    assert_non_null(f->peer);
    struct kgc_k8s_config cfg = {
        .server = f->peer->url, .token = (char *)token, .token_file = (char *)token_file};
    struct kgc_err err = {0};
    if (kgc_k8s_client_new(&cfg, opts, &f->client, &err) != 0)
        fail_msg("client: %s", err.msg);
    return f;
}

static void fixture_free(struct fixture *f)
{
    kgc_k8s_client_free(f->client);
    peer_stop(f->peer);
    free(f);
}

static void test_client_get_and_errors(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, "secret-token", NULL);
    json_object *out = NULL;
    struct kgc_k8s_status st;
    struct kgc_err err = {0};
    assert_int_equal(kgc_k8s_get(f->client, "/ok", &out, &st, &err), 0);
    assert_non_null(out);
    json_object_put(out);
    struct peer_request rq = peer_get(f->peer, 0);
    assert_string_equal(rq.auth, "Bearer secret-token");
    assert_string_equal(rq.method, "GET");

    assert_int_equal(kgc_k8s_get(f->client, "/notfound", &out, &st, &err), KGC_ENOENT);
    assert_null(out);
    assert_int_equal(st.code, 404);
    assert_string_equal(st.reason, "NotFound");
    assert_string_equal(st.message, "services \"x\" not found");
    assert_non_null(strstr(err.msg, "HTTP 404 NotFound"));

    assert_int_equal(kgc_k8s_get(f->client, "/unauthorized", &out, &st, &err), KGC_EACCES);
    assert_int_equal(st.code, 401);
    assert_int_equal(kgc_k8s_get(f->client, "/forbidden", &out, &st, &err), KGC_EACCES);
    assert_string_equal(st.reason, "Forbidden");
    assert_false(kgc_k8s_retriable(KGC_EACCES, &st));
    assert_int_equal(kgc_k8s_get(f->client, "/boom", &out, &st, &err), KGC_EHTTP);
    assert_int_equal(st.code, 500);
    assert_string_equal(st.message, "internal error <html>"); /* not a Status: printable text */
    assert_true(kgc_k8s_retriable(KGC_EHTTP, &st));

    json_object *body = json_tokener_parse("{\"metadata\":{\"name\":\"a\"}}");
    assert_int_equal(kgc_k8s_create(f->client, "/exists", body, NULL, &st, &err), KGC_EEXIST);
    assert_int_equal(kgc_k8s_update(f->client, "/conflict", body, NULL, &st, &err), KGC_ECONFLICT);
    /* verbs, bodies and content types */
    assert_int_equal(kgc_k8s_update(f->client, "/ok", body, &out, &st, &err), 0);
    json_object *m = NULL;
    json_object_object_get_ex(out, "method", &m);
    assert_string_equal(json_object_get_string(m), "PUT");
    json_object_put(out);
    assert_int_equal(kgc_k8s_create(f->client, "/ok", body, NULL, &st, &err), 0);
    size_t n = peer_count(f->peer);
    rq = peer_get(f->peer, n - 1);
    assert_string_equal(rq.method, "POST");
    assert_string_equal(rq.content_type, "application/json");
    assert_string_equal(rq.body, "{\"metadata\":{\"name\":\"a\"}}");
    json_object_put(body);
    json_object *patch = json_tokener_parse("{\"status\":{\"conditions\":[]}}");
    assert_int_equal(kgc_k8s_patch_status(f->client, "/nowhere", patch, NULL, &st, &err),
                     KGC_ENOENT);
    rq = peer_get(f->peer, peer_count(f->peer) - 1);
    assert_string_equal(rq.method, "PATCH");
    assert_string_equal(rq.path, "/nowhere/status");
    assert_string_equal(rq.content_type, "application/merge-patch+json");
    json_object_put(patch);
    assert_int_equal(kgc_k8s_delete(f->client, "/ok", &st, &err), 0);
    rq = peer_get(f->peer, peer_count(f->peer) - 1);
    assert_string_equal(rq.method, "DELETE");
    assert_string_equal(rq.body, "{\"propagationPolicy\":\"Background\"}");

    struct kgc_k8s_client_stats cs;
    kgc_k8s_client_stats(f->client, &cs);
    assert_int_equal(cs.requests, peer_count(f->peer));
    assert_true(cs.errors >= 6);
    fixture_free(f);
}

static void test_client_timeouts_and_caps(void **state)
{
    (void)state;
    struct kgc_k8s_options o;
    kgc_k8s_options_default(&o);
    o.timeout_ns = 300 * KGC_NS_PER_MS;
    o.response_max_bytes = 100000;
    struct fixture *f = fixture_new(&o, NULL, NULL);
    json_object *out = NULL;
    struct kgc_err err = {0};
    assert_int_equal(kgc_k8s_get(f->client, "/slow", &out, NULL, &err), KGC_ETIMEDOUT);
    assert_true(kgc_k8s_retriable(KGC_ETIMEDOUT, NULL));
    assert_int_equal(kgc_k8s_get(f->client, "/big", &out, NULL, &err), KGC_E2BIG);
    assert_string_equal(peer_get(f->peer, 0).auth, ""); /* no token configured, none sent */
    fixture_free(f);

    /* nobody listening */
    struct kgc_k8s_config cfg = {.server = "http://127.0.0.1:1"};
    struct kgc_k8s_client *c = NULL;
    assert_int_equal(kgc_k8s_client_new(&cfg, &o, &c, &err), 0);
    assert_int_equal(kgc_k8s_get(c, "/x", &out, NULL, &err), KGC_ECONNECT);
    kgc_k8s_client_free(c);
    cfg.server = "ftp://x";
    assert_int_equal(kgc_k8s_client_new(&cfg, &o, &c, &err), KGC_EINVAL);
}

static void test_client_rereads_a_rotated_token(void **state)
{
    (void)state;
    char path[] = "/tmp/kgc-token-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "first\n");
    struct kgc_k8s_options o;
    kgc_k8s_options_default(&o);
    o.token_recheck_ns = 0;
    struct fixture *f = fixture_new(&o, NULL, path);
    json_object *out = NULL;
    struct kgc_err err = {0};
    assert_int_equal(kgc_k8s_get(f->client, "/ok", &out, NULL, &err), 0);
    json_object_put(out);
    write_file(path, "second-longer\n"); /* rotation: new size and mtime */
    assert_int_equal(kgc_k8s_get(f->client, "/ok", &out, NULL, &err), 0);
    json_object_put(out);
    unlink(path); /* a missing file keeps the last good token */
    assert_int_equal(kgc_k8s_get(f->client, "/ok", &out, NULL, &err), 0);
    json_object_put(out);
    assert_string_equal(peer_get(f->peer, 0).auth, "Bearer first");
    assert_string_equal(peer_get(f->peer, 1).auth, "Bearer second-longer");
    assert_string_equal(peer_get(f->peer, 2).auth, "Bearer second-longer");
    fixture_free(f);

    /* never readable: a clear error before any request */
    f = fixture_new(&o, NULL, "/nonexistent/token");
    assert_int_equal(kgc_k8s_get(f->client, "/ok", &out, NULL, &err), KGC_EACCES);
    assert_non_null(strstr(err.msg, "/nonexistent/token"));
    assert_int_equal(peer_count(f->peer), 0);
    fixture_free(f);
}

static int count_item(const struct kgc_jsonscan_tape *item, void *ctx)
{
    (void)item;
    (*(int *)ctx)++;
    return 0;
}

static void test_client_list_paginates(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, NULL, NULL);
    struct kgc_k8s_list_opts lo = {.limit = 2, .label_selector = "app in (a,b)"};
    int items = 0;
    char *rv = NULL;
    struct kgc_err err = {0};
    assert_int_equal(
        kgc_k8s_list(f->client, "/list", &lo, count_item, &items, &rv, NULL, NULL, &err), 0);
    assert_int_equal(items, 6);
    assert_string_equal(rv, "900");
    free(rv);
    assert_int_equal(peer_count(f->peer), 3);
    char q[256];
    struct peer_request r0 = peer_get(f->peer, 0), r2 = peer_get(f->peer, 2);
    assert_string_equal(query_param(r0.query, "limit", q, sizeof(q)), "2");
    assert_string_equal(query_param(r0.query, "continue", q, sizeof(q)), "");
    assert_string_equal(query_param(r0.query, "labelSelector", q, sizeof(q)), "app in (a,b)");
    assert_string_equal(query_param(r2.query, "continue", q, sizeof(q)), "2");
    /* an expired continue token is KGC_EGONE */
    assert_int_equal(
        kgc_k8s_list(f->client, "/list-stale", &lo, count_item, &items, &rv, NULL, NULL, &err),
        KGC_EGONE);
    assert_null(rv);
    /* a bounded number of pages */
    lo.max_pages = 2;
    assert_int_equal(
        kgc_k8s_list(f->client, "/list", &lo, count_item, &items, NULL, NULL, NULL, &err),
        KGC_ERANGE);
    fixture_free(f);
}

struct events {
    char log[16][128];
    int n;
};

static int record_event(const struct kgc_k8s_event *ev, void *ctx)
{
    struct events *e = ctx;
    static const char *names[] = {"?", "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
    size_t nl = 0;
    const char *name = kgc_jsonscan_tape_str(
        ev->tape,
        kgc_jsonscan_tape_get(ev->tape, kgc_jsonscan_tape_get(ev->tape, ev->object, "metadata"),
                              "name"),
        &nl);
    if (e->n < 16)
        snprintf(e->log[e->n++], sizeof(e->log[0]), "%s %.*s rv=%s code=%d", names[ev->type],
                 name ? (int)(nl < 20 ? nl : 20) : 1, name ? name : "-",
                 ev->resource_version ? ev->resource_version : "-", ev->status.code);
    return 0;
}

static void test_watch_events_across_chunks(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, NULL, NULL);
    struct events e = {0};
    struct kgc_k8s_watch_opts wo = {
        .resource_version = "10", .allow_bookmarks = true, .timeout_seconds = 300};
    struct kgc_err err = {0};
    assert_int_equal(
        kgc_k8s_watch(f->client, "/watch-split", &wo, record_event, &e, NULL, NULL, &err), 0);
    assert_int_equal(e.n, 4);
    assert_string_equal(e.log[0], "ADDED a rv=11 code=0");
    assert_string_equal(e.log[1], "MODIFIED a rv=12 code=0");
    assert_string_equal(e.log[2], "BOOKMARK - rv=15 code=0");
    assert_string_equal(e.log[3], "ERROR - rv=- code=410");
    char q[64];
    struct peer_request r = peer_get(f->peer, 0);
    assert_string_equal(query_param(r.query, "watch", q, sizeof(q)), "1");
    assert_string_equal(query_param(r.query, "allowWatchBookmarks", q, sizeof(q)), "true");
    assert_string_equal(query_param(r.query, "resourceVersion", q, sizeof(q)), "10");
    assert_string_equal(query_param(r.query, "timeoutSeconds", q, sizeof(q)), "300");
    fixture_free(f);
}

static void test_watch_rejects_an_oversized_event(void **state)
{
    (void)state;
    struct kgc_k8s_options o;
    kgc_k8s_options_default(&o);
    o.watch_event_max_bytes = 4096;
    struct fixture *f = fixture_new(&o, NULL, NULL);
    struct events e = {0};
    struct kgc_err err = {0};
    assert_int_equal(
        kgc_k8s_watch(f->client, "/watch-big", NULL, record_event, &e, NULL, NULL, &err),
        KGC_E2BIG);
    assert_int_equal(e.n, 1); /* the event before it was delivered */
    assert_non_null(strstr(err.msg, "4096"));
    assert_int_equal(
        kgc_k8s_watch(f->client, "/watch-garbage", NULL, record_event, &e, NULL, NULL, &err),
        KGC_EPARSE);
    fixture_free(f);
}

static void test_watch_cut_and_refused(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, NULL, NULL);
    struct events e = {0};
    struct kgc_k8s_status st;
    struct kgc_err err = {0};
    assert_int_equal(
        kgc_k8s_watch(f->client, "/watch-cut", NULL, record_event, &e, NULL, &st, &err), KGC_EIO);
    assert_int_equal(e.n, 1);
    assert_true(kgc_k8s_retriable(KGC_EIO, NULL));
    assert_int_equal(
        kgc_k8s_watch(f->client, "/watch-refused", NULL, record_event, &e, NULL, &st, &err),
        KGC_EACCES);
    assert_int_equal(st.code, 403);
    assert_string_equal(st.reason, "Forbidden");
    assert_int_equal(e.n, 1);
    fixture_free(f);
}

struct canceller {
    struct kgc_k8s_cancel *cancel;
    struct peer *peer;
    size_t before; /* fire once the peer has seen more requests than this */
};

static void *cancel_later(void *arg)
{
    struct canceller *c = arg;
    while (peer_count(c->peer) <= c->before)
        peer_sleep_ms(10);
    peer_sleep_ms(100);
    kgc_k8s_cancel_fire(c->cancel);
    return NULL;
}

static void test_watch_stops_on_cancel_and_idles_out(void **state)
{
    (void)state;
    struct kgc_k8s_options o;
    kgc_k8s_options_default(&o);
    o.watch_idle_timeout_ns = 400 * KGC_NS_PER_MS;
    struct fixture *f = fixture_new(&o, NULL, NULL);
    struct events e = {0};
    struct kgc_err err = {0};
    /* an idle stream ends cleanly (watch again from the last version) */
    assert_int_equal(
        kgc_k8s_watch(f->client, "/watch-hold", NULL, record_event, &e, NULL, NULL, &err), 0);
    assert_int_equal(e.n, 1);
    kgc_k8s_client_free(f->client);

    /* a held stream with no idle limit ends when the token fires */
    o.watch_idle_timeout_ns = 0;
    struct kgc_k8s_config cfg = {.server = f->peer->url};
    assert_int_equal(kgc_k8s_client_new(&cfg, &o, &f->client, &err), 0);
    struct canceller c = {kgc_k8s_cancel_new(), f->peer, peer_count(f->peer)};
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, &c);
    assert_int_equal(
        kgc_k8s_watch(f->client, "/watch-hold", NULL, record_event, &e, c.cancel, NULL, &err),
        KGC_ESHUTDOWN);
    pthread_join(t, NULL);
    assert_true(kgc_k8s_cancel_fired(c.cancel));
    /* a fired token refuses later calls at once */
    json_object *out = NULL;
    struct kgc_k8s_response resp;
    assert_int_equal(
        kgc_k8s_request(f->client, "GET", "/ok", NULL, NULL, NULL, 0, c.cancel, &resp, NULL, &err),
        KGC_ESHUTDOWN);
    assert_null(out);
    kgc_k8s_cancel_free(c.cancel);
    peer_release(f->peer);
    fixture_free(f);
}

static void test_client_rate_limit(void **state)
{
    (void)state;
    struct kgc_k8s_options o;
    kgc_k8s_options_default(&o);
    o.qps = 20;
    o.burst = 2;
    struct fixture *f = fixture_new(&o, NULL, NULL);
    json_object *out = NULL;
    struct kgc_err err = {0};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(kgc_k8s_get(f->client, "/ok", &out, NULL, &err), 0);
        json_object_put(out);
    }
    struct kgc_k8s_client_stats cs;
    kgc_k8s_client_stats(f->client, &cs);
    assert_int_equal(cs.requests, 5);
    assert_int_equal(cs.throttled, 3); /* the burst of 2 passes, the rest wait */
    assert_true(cs.throttle_wait_ns > 0);
    fixture_free(f);
}

/* Hostile JSON (issue #17): a watch event or list item whose bytes fit but whose values would
 * cost json-c gigabytes is refused before anything is built, naming the limit. */
static char *many_objects(size_t n, const char *head, const char *tail, size_t *len)
{
    size_t hl = strlen(head), tl = strlen(tail);
    char *p = malloc(hl + n * 3 + tl + 1);
    assert_non_null(p);
    memcpy(p, head, hl);
    size_t k = hl;
    for (size_t i = 0; i < n; i++) {
        if (i)
            p[k++] = ',';
        p[k++] = '{';
        p[k++] = '}';
    }
    memcpy(p + k, tail, tl + 1);
    *len = k + tl;
    return p;
}

static void test_event_value_budget(void **state)
{
    (void)state;
    size_t len;
    char *line = many_objects(
        KGC_K8S_OBJECT_MAX_CONTAINERS + 10,
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"},\"x\":[", "]}}", &len);
    struct kgc_k8s_event ev;
    struct kgc_jsonscan_tape t;
    kgc_jsonscan_tape_init(&t);
    struct kgc_err err = {0};
    assert_int_equal(kgc_k8s_event_parse(line, len, &t, &ev, &err), KGC_E2BIG);
    assert_int_equal(ev.object, 0);
    assert_non_null(strstr(err.msg, "watch event: more than 60001 JSON objects and arrays"));
    free(line);
    /* within the budget: the event as before */
    line = many_objects(
        100, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"},\"x\":[", "]}}", &len);
    assert_int_equal(kgc_k8s_event_parse(line, len, &t, &ev, &err), 0);
    assert_int_equal(ev.type, KGC_K8S_ADDED);
    free(line);
    kgc_jsonscan_tape_free(&t);
}

struct page_items {
    size_t n;
    char names[4][16];
};

static int page_item(const struct kgc_jsonscan_tape *item, void *ctx)
{
    struct page_items *p = ctx;
    size_t nl = 0;
    const char *name = kgc_jsonscan_tape_str(
        item, kgc_jsonscan_tape_get(item, kgc_jsonscan_tape_get(item, 0, "metadata"), "name"), &nl);
    if (p->n < 4 && name)
        snprintf(p->names[p->n], sizeof(p->names[0]), "%.*s", (int)nl, name);
    p->n++;
    return 0;
}

/* A status write's answer: its metadata.resourceVersion, found without building the object;
 * anything else (absent, not a string, escaped, too long, not an object, cut) gives "". */
static void test_object_rv(void **state)
{
    (void)state;
    char rv[8];
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"apiVersion\":\"v1\",\"kind\":\"X\",\"metadata\":{\"name\":\"a\",\"resourceVersion\":"
         "\"42\"},\"status\":{\"resourceVersion\":\"7\"}}",
         "42"},
        {"{\"spec\":{\"resourceVersion\":\"7\"},\"metadata\":{\"resourceVersion\":\"9\"}}", "9"},
        {"{\"metadata\":{\"annotations\":{\"resourceVersion\":\"7\"}}}", ""},
        {"{\"metadata\":{\"resourceVersion\":42}}", ""},
        {"{\"metadata\":{\"resourceVersion\":\"4\\\"2\"}}", ""},
        {"{\"metadata\":{\"resourceVersion\":\"12345678\"}}", ""}, /* does not fit in 8 */
        {"{\"metadata\":{\"resourceVersion\":\"1234567\"}}", "1234567"},
        {"[{\"metadata\":{\"resourceVersion\":\"1\"}}]", ""},
        {"{\"metadata\":{\"resourceVersion\":\"1", ""},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(rv, 'x', sizeof(rv));
        kgc_k8s_object_rv(cases[i].text, strlen(cases[i].text), rv, sizeof(rv));
        assert_string_equal(rv, cases[i].want);
    }
}

static void test_list_page_decode(void **state)
{
    (void)state;
    struct page_items got = {0};
    char *cont = NULL, *rv = NULL;
    struct kgc_err err = {0};
    const char *page = "{\"kind\":\"SecretList\",\"items\":[{\"metadata\":{\"name\":\"a\"}},"
                       "{\"metadata\":{\"name\":\"b\"}}],\"metadata\":{\"resourceVersion\":\"7\","
                       "\"continue\":\"tok\"}}";
    assert_int_equal(
        kgc_k8s_list_page_decode(page, strlen(page), "/x", page_item, &got, &cont, &rv, &err), 0);
    assert_int_equal(got.n, 2);
    assert_string_equal(got.names[1], "b");
    assert_string_equal(cont, "tok");
    assert_string_equal(rv, "7");
    free(cont);
    cont = NULL;

    /* A malformed page hands over no item; a page without items is an error. */
    got.n = 0;
    const char *bad = "{\"items\":[{\"metadata\":{}},{]}";
    assert_int_equal(
        kgc_k8s_list_page_decode(bad, strlen(bad), "/x", page_item, &got, &cont, &rv, &err),
        KGC_EPARSE);
    assert_int_equal(got.n, 0);
    assert_int_equal(kgc_k8s_list_page_decode("{}", 2, "/x", page_item, &got, &cont, &rv, &err),
                     KGC_EPARSE);
    assert_non_null(strstr(err.msg, "no items"));

    /* An item over the object budget fails the page, naming the item; those before it were
     * handed over one at a time. */
    size_t len;
    char *big = many_objects(KGC_K8S_OBJECT_MAX_CONTAINERS + 10,
                             "{\"items\":[{\"metadata\":{\"name\":\"ok\"}},{\"x\":[", "]}]}", &len);
    assert_int_equal(
        kgc_k8s_list_page_decode(big, len, "/api/v1/secrets", page_item, &got, &cont, &rv, &err),
        KGC_E2BIG);
    assert_int_equal(got.n, 1);
    assert_non_null(strstr(err.msg, "list /api/v1/secrets: item 1: more than 60000 JSON objects"));
    free(big);
    free(cont);
    free(rv);
}

int main(void)
{
    kgc_log_setup(KGC_LOG_ERROR, KGC_LOG_TEXT, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_splits_lines_whatever_the_chunking),
        cmocka_unit_test(test_stream_callback_can_stop),
        cmocka_unit_test(test_stream_caps_one_line),
        cmocka_unit_test(test_event_parse),
        cmocka_unit_test(test_status_codes),
        cmocka_unit_test(test_bucket),
        cmocka_unit_test(test_kubeconfig),
        cmocka_unit_test(test_in_cluster),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_client_get_and_errors),
        cmocka_unit_test(test_client_timeouts_and_caps),
        cmocka_unit_test(test_client_rereads_a_rotated_token),
        cmocka_unit_test(test_client_list_paginates),
        cmocka_unit_test(test_watch_events_across_chunks),
        cmocka_unit_test(test_watch_rejects_an_oversized_event),
        cmocka_unit_test(test_watch_cut_and_refused),
        cmocka_unit_test(test_watch_stops_on_cancel_and_idles_out),
        cmocka_unit_test(test_client_rate_limit),
        cmocka_unit_test(test_event_value_budget),
        cmocka_unit_test(test_list_page_decode),
        cmocka_unit_test(test_object_rv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of the test API server's HTTP front (in process, port 0, libcurl): routing of
 * Kubernetes paths, the bearer token, the /_test/ fault endpoints, watch streaming over HTTP
 * and the audit log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fakes/apiserver/jsonutil.h"
#include "../fakes/apiserver/server.h"
#include "kgc/log.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct env {
    struct fas_server *srv;
    char base[64];
    char audit[64];
};

struct resp {
    long code;
    struct fas_buf body;
};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    fas_buf_append(ud, p, size * n);
    return size * n;
}

/* One request; the body (may be NULL) is sent with content_type. */
static void request(const struct env *e, const char *method, const char *path,
                    const char *content_type, const char *body, const char *token, struct resp *r)
{
    char url[512], auth[128], ct[128];
    snprintf(url, sizeof(url), "%s%s", e->base, path);
    fas_buf_init(&r->body);
    r->code = 0;
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = NULL;
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    if (content_type) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
        h = curl_slist_append(h, ct);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static long code_of(const struct env *e, const char *method, const char *path, const char *body)
{
    struct resp r;
    request(e, method, path, body ? "application/json" : NULL, body, NULL, &r);
    fas_buf_free(&r.body);
    return r.code;
}

static int start(void **state, const char *token)
{
    struct env *e = calloc(1, sizeof(*e));
    if (!e)
        return -1;
    snprintf(e->audit, sizeof(e->audit), "/tmp/fas-audit-%d.jsonl", (int)getpid());
    unlink(e->audit);
    struct fas_server_opts o = {.host = "127.0.0.1",
                                .token = token,
                                .audit_path = e->audit,
                                .bookmark_ms = 100,
                                .namespace_cleanup_ms = 0};
    struct kgc_err err = {0};
    if (fas_server_start(&o, &e->srv, &err)) {
        free(e);
        return -1;
    }
    snprintf(e->base, sizeof(e->base), "http://127.0.0.1:%d", fas_server_port(e->srv));
    *state = e;
    return 0;
}

static int setup(void **state)
{
    return start(state, NULL);
}

static int setup_token(void **state)
{
    return start(state, "s3cret");
}

static int teardown(void **state)
{
    struct env *e = *state;
    fas_server_stop(e->srv);
    unlink(e->audit);
    free(e);
    return 0;
}

static const char cm[] = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                         "\"c\"},\"data\":{\"a\":\"b\"}}";

static void test_routing(void **state)
{
    struct env *e = *state;
    assert_int_equal(code_of(e, "POST", "/api/v1/namespaces/default/configmaps", cm), 201);
    assert_int_equal(code_of(e, "GET", "/api/v1/namespaces/default/configmaps/c", NULL), 200);
    assert_int_equal(code_of(e, "GET", "/api/v1/configmaps", NULL), 200); /* all namespaces */
    assert_int_equal(code_of(e, "GET", "/api/v1/namespaces/default", NULL), 200);
    assert_int_equal(code_of(e, "GET", "/api/v1/namespaces/default/status", NULL), 200);
    assert_int_equal(code_of(e, "GET", "/api/v1/namespaces/default/configmaps/c/status", NULL),
                     404); /* ConfigMaps have no status subresource */
    assert_int_equal(code_of(e, "GET", "/api/v1/nothings", NULL), 404);
    assert_int_equal(code_of(e, "GET", "/apis/nope.io/v1/things", NULL), 404);
    assert_int_equal(code_of(e, "GET", "/apis/apps/v1/deployments/x", NULL), 404); /* no ns */
    assert_int_equal(code_of(e, "POST", "/api/v1/namespaces/default/configmaps/c", cm), 405);
    assert_int_equal(code_of(e, "PUT", "/api/v1/namespaces/default/configmaps", cm), 405);
    assert_int_equal(code_of(e, "GET", "/version", NULL), 200);
    assert_int_equal(code_of(e, "GET", "/healthz", NULL), 200);
    assert_int_equal(code_of(e, "GET", "/openapi/v3", NULL), 200);
    assert_int_equal(code_of(e, "GET", "/openapi/v3/apis/apps/v1", NULL), 200);
    assert_int_equal(code_of(e, "GET", "/openapi/v2", NULL), 200); /* no Accept: JSON */
    assert_int_equal(code_of(e, "GET", "/openapi/v2/nothing", NULL), 404);
    struct resp r;
    request(e, "GET", "/apis", NULL, NULL, NULL, &r);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body.data, "\"kind\":\"APIGroupList\""));
    fas_buf_free(&r.body);
    request(e, "GET", "/api/v1/namespaces/default/configmaps", NULL, NULL, NULL, &r);
    assert_non_null(strstr(r.body.data, "\"kind\":\"ConfigMapList\""));
    fas_buf_free(&r.body);
}

/* GET path with an Accept header: the code, the body and the Content-Type. */
static void get_accept(const struct env *e, const char *path, const char *accept, struct resp *r,
                       char *ctype, size_t size)
{
    char url[512], hdr[256];
    snprintf(url, sizeof(url), "%s%s", e->base, path);
    snprintf(hdr, sizeof(hdr), "Accept: %s", accept);
    fas_buf_init(&r->body);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = curl_slist_append(NULL, hdr);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(ctype, size, "%s", ct ? ct : "");
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

/* /openapi/v2: the protobuf kubectl asks for (a gnostic openapi_v2.Document), JSON, 406. */
static void test_openapi_v2(void **state)
{
    struct env *e = *state;
    struct resp r;
    char ct[128];
    /* Document{swagger "2.0", info {title "Kubernetes", version "v1.31.0"}, paths {},
     * definitions {}} in protobuf wire format: key = field << 3 | 2, then a varint length */
    static const char want[] = "\x0a\x03"
                               "2.0"
                               "\x12\x15"
                               "\x0a\x0a"
                               "Kubernetes"
                               "\x12\x07"
                               "v1.31.0"
                               "\x42\x00"
                               "\x4a\x00";
    get_accept(e, "/openapi/v2", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf", &r,
               ct, sizeof(ct));
    assert_int_equal(r.code, 200);
    assert_string_equal(ct, "application/octet-stream");
    assert_int_equal(r.body.len, sizeof(want) - 1);
    assert_memory_equal(r.body.data, want, sizeof(want) - 1);
    fas_buf_free(&r.body);
    /* preference by q */
    get_accept(e, "/openapi/v2",
               "application/json;q=0.5, "
               "application/com.github.proto-openapi.spec.v2@v1.0+protobuf;q=0.9",
               &r, ct, sizeof(ct));
    assert_int_equal(r.code, 200);
    assert_int_equal(r.body.len, sizeof(want) - 1);
    fas_buf_free(&r.body);
    get_accept(e, "/openapi/v2", "application/json", &r, ct, sizeof(ct));
    assert_int_equal(r.code, 200);
    assert_string_equal(ct, "application/json");
    char err[128];
    json_object *doc = fas_json_parse(r.body.data, r.body.len, err, sizeof(err));
    assert_non_null(doc);
    assert_string_equal(fas_json_str(doc, "swagger"), "2.0");
    assert_non_null(fas_json_get(doc, "definitions"));
    json_object_put(doc);
    fas_buf_free(&r.body);
    get_accept(e, "/openapi/v2", "text/html", &r, ct, sizeof(ct));
    assert_int_equal(r.code, 406);
    fas_buf_free(&r.body);
    assert_int_equal(code_of(e, "POST", "/openapi/v2", "{}"), 405);
}

static void test_token(void **state)
{
    struct env *e = *state;
    struct resp r;
    request(e, "GET", "/api/v1/namespaces", NULL, NULL, NULL, &r);
    assert_int_equal(r.code, 401);
    assert_non_null(strstr(r.body.data, "\"reason\":\"Unauthorized\""));
    fas_buf_free(&r.body);
    request(e, "GET", "/api/v1/namespaces", NULL, NULL, "wrong", &r);
    assert_int_equal(r.code, 401);
    fas_buf_free(&r.body);
    request(e, "GET", "/api/v1/namespaces", NULL, NULL, "s3cret", &r);
    assert_int_equal(r.code, 200);
    fas_buf_free(&r.body);
    assert_int_equal(code_of(e, "GET", "/healthz", NULL), 200);
}

static void test_faults_and_audit(void **state)
{
    struct env *e = *state;
    assert_int_equal(
        code_of(
            e, "POST",
            "/_test/fail?prefix=/api/v1/namespaces/default/configmaps&code=500&count=1&verb=create",
            NULL),
        200);
    assert_int_equal(code_of(e, "GET", "/api/v1/namespaces/default/configmaps", NULL), 200);
    assert_int_equal(code_of(e, "POST", "/api/v1/namespaces/default/configmaps", cm), 500);
    assert_int_equal(code_of(e, "POST", "/api/v1/namespaces/default/configmaps", cm), 201);
    assert_int_equal(code_of(e, "POST", "/_test/fail?code=500", NULL), 400); /* no prefix */
    assert_int_equal(code_of(e, "POST", "/_test/nope", NULL), 404);
    struct resp r;
    request(e, "PATCH", "/api/v1/namespaces/default/configmaps/c/status",
            "application/merge-patch+json", "{}", NULL, &r);
    assert_int_equal(r.code, 404);
    fas_buf_free(&r.body);
    request(e, "DELETE", "/api/v1/namespaces/default/configmaps/c", NULL, NULL, NULL, &r);
    assert_int_equal(r.code, 200);
    fas_buf_free(&r.body);
    /* audit: the failed create, the create, the failed patch, the delete */
    FILE *f = fopen(e->audit, "r");
    assert_non_null(f);
    char line[4096];
    const char *want_verbs[] = {"create", "create", "patch", "delete"};
    const int want_codes[] = {500, 201, 404, 200};
    int n = 0;
    while (fgets(line, sizeof(line), f)) {
        char err[128];
        json_object *o = fas_json_parse(line, strlen(line), err, sizeof(err));
        assert_non_null(o);
        assert_true(n < 4);
        assert_string_equal(fas_json_str(o, "verb"), want_verbs[n]);
        assert_int_equal(json_object_get_int(fas_json_get(o, "code")), want_codes[n]);
        assert_non_null(fas_json_str(o, "time"));
        json_object_put(o);
        n++;
    }
    fclose(f);
    assert_int_equal(n, 4);
}

static void test_watch_over_http(void **state)
{
    struct env *e = *state;
    assert_int_equal(code_of(e, "POST", "/api/v1/namespaces/default/configmaps", cm), 201);
    struct resp r;
    /* legacy /watch/ path of one object, bookmarks, ended by timeoutSeconds */
    request(e, "GET",
            "/api/v1/watch/namespaces/default/configmaps/c?allowWatchBookmarks=true&"
            "timeoutSeconds=1",
            NULL, NULL, NULL, &r);
    assert_int_equal(r.code, 200);
    assert_true(strncmp(r.body.data, "{\"type\":\"ADDED\",\"object\":{\"apiVersion\":\"v1\"", 43) ==
                0);
    assert_non_null(
        strstr(r.body.data, "\n{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\""));
    fas_buf_free(&r.body);
    /* an expired resourceVersion */
    assert_int_equal(code_of(e, "POST", "/_test/drop-history", NULL), 200);
    request(e, "GET", "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2", NULL, NULL,
            NULL, &r);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body.data, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\""));
    assert_non_null(strstr(r.body.data, "\"reason\":\"Expired\",\"code\":410}}\n"));
    fas_buf_free(&r.body);
}

/* resourceVersion and object count from /_test/stats. */
static void stats(const struct env *e, long long *rv, long long *objects)
{
    struct resp r;
    request(e, "GET", "/_test/stats", NULL, NULL, NULL, &r);
    assert_int_equal(r.code, 200);
    char err[128];
    json_object *o = fas_json_parse(r.body.data, r.body.len, err, sizeof(err));
    assert_non_null(o);
    *rv = atoll(fas_json_str(o, "resourceVersion"));
    *objects = json_object_get_int64(fas_json_get(o, "objects"));
    json_object_put(o);
    fas_buf_free(&r.body);
}

#define RBAC "/apis/rbac.authorization.k8s.io/v1"

/* The kinds the Helm chart renders, and dryRun=All: a dry-run write validates, defaults and
 * answers like the real one but stores nothing (no object, no resourceVersion bump). */
static void test_chart_kinds_and_dry_run(void **state)
{
    struct env *e = *state;
    static const char sa[] =
        "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"kgc\"}}";
    static const char pvc[] =
        "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":"
        "\"l\"},\"spec\":{\"accessModes\":[\"ReadWriteMany\"],\"resources\":{\"requests\":"
        "{\"storage\":\"64Mi\"}}}}";
    static const char bad_pvc[] =
        "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":"
        "\"l\"},\"spec\":{\"accessModes\":[\"ReadWriteSometimes\"],\"resources\":{}}}";
    static const char crole[] =
        "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\",\"metadata\":"
        "{\"name\":\"kgc\"},\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"services\"],"
        "\"verbs\":[\"get\"]}]}";
    static const char role[] =
        "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\",\"metadata\":"
        "{\"name\":\"le\"},\"rules\":[{\"apiGroups\":[\"coordination.k8s.io\"],\"resources\":"
        "[\"leases\"],\"verbs\":[\"get\"]}]}";
    static const char apply_rb[] =
        "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\",\"metadata\":"
        "{\"name\":\"le\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":"
        "\"Role\",\"name\":\"le\"}}";
    long long rv0, n0, rv1, n1;
    stats(e, &rv0, &n0);

    struct resp r;
    /* dry-run creates answer 201 with the object as created ... */
    request(e, "POST", "/api/v1/namespaces/default/serviceaccounts?dryRun=All", "application/json",
            sa, NULL, &r);
    assert_int_equal(r.code, 201);
    assert_non_null(strstr(r.body.data, "\"kind\":\"ServiceAccount\""));
    assert_non_null(strstr(r.body.data, "\"uid\":"));
    assert_non_null(strstr(r.body.data, "\"namespace\":\"default\""));
    fas_buf_free(&r.body);
    request(e, "POST", "/api/v1/namespaces/default/persistentvolumeclaims?dryRun=All",
            "application/json", pvc, NULL, &r);
    assert_int_equal(r.code, 201);
    assert_non_null(strstr(r.body.data, "\"volumeMode\":\"Filesystem\"")); /* defaulted */
    fas_buf_free(&r.body);
    /* ... after validating them */
    request(e, "POST", "/api/v1/namespaces/default/persistentvolumeclaims?dryRun=All",
            "application/json", bad_pvc, NULL, &r);
    assert_int_equal(r.code, 422);
    assert_non_null(strstr(r.body.data, "ReadWriteSometimes"));
    fas_buf_free(&r.body);
    assert_int_equal(code_of(e, "POST", RBAC "/clusterroles?dryRun=All", crole), 201);
    assert_int_equal(code_of(e, "POST", RBAC "/namespaces/default/roles?dryRun=All", role), 201);
    request(e, "PATCH", RBAC "/namespaces/default/rolebindings/le?dryRun=All&fieldManager=t",
            "application/apply-patch+yaml", apply_rb, NULL, &r);
    assert_int_equal(r.code, 201); /* server-side apply of a missing object: a create */
    fas_buf_free(&r.body);
    /* nothing was stored: no object, no new resourceVersion */
    assert_int_equal(code_of(e, "GET", "/api/v1/namespaces/default/serviceaccounts/kgc", NULL),
                     404);
    assert_int_equal(code_of(e, "GET", "/api/v1/namespaces/default/persistentvolumeclaims/l", NULL),
                     404);
    assert_int_equal(code_of(e, "GET", RBAC "/clusterroles/kgc", NULL), 404);
    assert_int_equal(code_of(e, "GET", RBAC "/namespaces/default/roles/le", NULL), 404);
    assert_int_equal(code_of(e, "GET", RBAC "/namespaces/default/rolebindings/le", NULL), 404);
    stats(e, &rv1, &n1);
    assert_int_equal(rv1, rv0);
    assert_int_equal(n1, n0);

    /* the same kinds for real: stored, with their scope */
    assert_int_equal(code_of(e, "POST", RBAC "/clusterroles", crole), 201);
    assert_int_equal(code_of(e, "POST", RBAC "/namespaces/default/clusterroles", crole), 404);
    assert_int_equal(code_of(e, "POST", RBAC "/namespaces/default/roles", role), 201);
    assert_int_equal(code_of(e, "POST", "/api/v1/namespaces/default/serviceaccounts", sa), 201);
    assert_int_equal(code_of(e, "GET", "/api/v1/namespaces/default/serviceaccounts/kgc", NULL),
                     200);
    stats(e, &rv0, &n0);
    assert_int_equal(n0, n1 + 3);
    /* a dry-run patch and a dry-run delete of stored objects change nothing */
    request(e, "PATCH", RBAC "/namespaces/default/roles/le?dryRun=All",
            "application/merge-patch+json", "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}", NULL, &r);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body.data, "\"x\":\"y\""));
    fas_buf_free(&r.body);
    request(e, "DELETE", RBAC "/clusterroles/kgc?dryRun=All", NULL, NULL, NULL, &r);
    assert_int_equal(r.code, 200);
    fas_buf_free(&r.body);
    request(e, "GET", RBAC "/namespaces/default/roles/le", NULL, NULL, NULL, &r);
    assert_int_equal(r.code, 200);
    assert_null(strstr(r.body.data, "\"x\":\"y\""));
    fas_buf_free(&r.body);
    assert_int_equal(code_of(e, "GET", RBAC "/clusterroles/kgc", NULL), 200);
    stats(e, &rv1, &n1);
    assert_int_equal(rv1, rv0);
    assert_int_equal(n1, n0);
}

int main(void)
{
    kgc_log_setup(KGC_LOG_WARN, KGC_LOG_TEXT, 2);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openapi_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token, setup_token, teardown),
        cmocka_unit_test_setup_teardown(test_faults_and_audit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_over_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chart_kinds_and_dry_run, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

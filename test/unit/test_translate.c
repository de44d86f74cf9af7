/* translate: HTTPRoutes → Kong declarative configuration.
 *
 * Golden tests: each conformance matching/filter manifest (on base-manifests, with EndpointSlices
 * made here with fixed addresses and TLS Secrets with a fixed test certificate) is translated and
 * compared with test/golden/<manifest>[.<variant>].json (stored pretty, compared after canonical
 * re-serialization) and its problems with the .problems file beside it; every golden document is
 * then validated in-process by the test Kong's declarative-config validator, which must accept it.
 * KGC_UPDATE_GOLDEN=1 rewrites the golden files (see test/golden/README.md).
 *
 * Unit tests: determinism (twice, and with the lookup enumerating in reverse), precedence, weights,
 * dropped backends, query parameters per router flavour, unsupported filters, redirects on Kong
 * < 3.9, rewrites, certificates, the status hook, entity owners, and hostile values that must never
 * reach Kong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../fakes/kong/kong_fake.h"
#include "../fakes/kong/proxy.h"
#include "../fakes/kong/router_internal.h"
#include "fixture_yaml.h"
#include "kgc/err.h"
#include "kgc/kong.h"
#include "kgc/translate.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INFRA      "gateway-conformance-infra"
#define GOLDEN_DIR "test/golden"

/* A fixed self-signed P-256 test certificate (CN kgc-golden-test, valid until 2126) and its key,
 * so golden configurations do not change from run to run. Test material only. */
static const char TEST_CERT[] = "-----BEGIN CERTIFICATE-----\n"
                                "MIIBqDCCAU+gAwIBAgIBATAKBggqhkjOPQQDAjAaMRgwFgYDVQQDDA9rZ2MtZ29s\n"
                                "ZGVuLXRlc3QwIBcNMjYxMTI3MTIyNDE4WhgPMjEyNjExMDMxMjI0MThaMBoxGDAW\n"
                                "BgNVBAMMD2tnYy1nb2xkZW4tdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IA\n"
                                "BEY0k3kgZVRvcew61zviHcgPsqBaWoVVd8FQukQZ+kMISC+WtL7yBoO9W7Wm7RwB\n"
                                "8azTrQXfUrEXY6Hryo2jIvKjgYMwgYAwHQYDVR0OBBYEFCG34ZF0G8toYUMa87wW\n"
                                "KEvcCC9NMB8GA1UdIwQYMBaAFCG34ZF0G8toYUMa87wWKEvcCC9NMA8GA1UdEwEB\n"
                                "/wQFMAMBAf8wLQYDVR0RBCYwJIIOKi53aWxkY2FyZC5vcmeCEnNlY29uZC1leGFt\n"
                                "cGxlLm9yZzAKBggqhkjOPQQDAgNHADBEAiBi8l3Mv0A1QU+KkZCYyMfd8VFbGvMT\n"
                                "GaX4IGkYIfu8DAIgLd+6QNO6dc2nlfubyU2lWuQ5e7XkmIExsAFa66BZfMI=\n"
                                "-----END CERTIFICATE-----\n";
static const char TEST_KEY[] = "-----BEGIN PRIVATE KEY-----\n"
                               "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgU3CDl9mog0QrlGUw\n"
                               "ycJM+eQ50mbf+H7e4dltAeVEbUuhRANCAARGNJN5IGVUb3HsOtc74h3ID7KgWlqF\n"
                               "VXfBULpEGfpDCEgvlrS+8gaDvVu1pu0cAfGs060F31KxF2Oh68qNoyLy\n"
                               "-----END PRIVATE KEY-----\n";

/* ---- the environment ---------------------------------------------------------------------------
 */

struct tenv {
    struct fixture_env env;
    const char *flavor;
    const char *version;
    const char *fallback; /* invalid_backend_target */
};

static void add_json_text(struct fixture_env *env, const char *json)
{
    char err[FIXTURE_ERR_MAX];
    json_object *doc = json_tokener_parse(json);
    if (!doc)
        fail_msg("bad test JSON: %s", json);
    int rc = fixture_set_add_json(env->set, doc, err, sizeof(err));
    json_object_put(doc);
    if (rc < 0)
        fail_msg("fixture: %s", err);
}

static void add_yaml(struct fixture_env *env, const char *yaml)
{
    char err[FIXTURE_ERR_MAX];
    if (fixture_set_add_yaml(env->set, yaml, err, sizeof(err)) != 0)
        fail_msg("fixture: %s", err);
}

static void load(struct fixture_env *env, const char *manifest)
{
    char err[FIXTURE_ERR_MAX];
    if (fixture_set_load(env->set, manifest, err, sizeof(err)) != 0)
        fail_msg("%s", err);
}

static char *b64(const char *s)
{
    size_t len = strlen(s);
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    assert_non_null(out);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
    return out;
}

static void fixed_tls_secret(struct fixture_env *env, const char *ns, const char *name)
{
    char *crt = b64(TEST_CERT), *key = b64(TEST_KEY);
    char json[4096];
    snprintf(json, sizeof(json),
             "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"%s\","
             "\"namespace\":\"%s\"},\"type\":\"kubernetes.io/tls\",\"data\":{\"tls.crt\":\"%s\","
             "\"tls.key\":\"%s\"}}",
             name, ns, crt, key);
    free(crt);
    free(key);
    add_json_text(env, json);
}

static void fixed_ca_configmap(struct fixture_env *env, const char *name)
{
    json_object *doc = json_object_new_object(), *md = json_object_new_object(),
                *data = json_object_new_object();
    json_object_object_add(doc, "apiVersion", json_object_new_string("v1"));
    json_object_object_add(doc, "kind", json_object_new_string("ConfigMap"));
    json_object_object_add(md, "name", json_object_new_string(name));
    json_object_object_add(md, "namespace", json_object_new_string(INFRA));
    json_object_object_add(doc, "metadata", md);
    json_object_object_add(data, "ca.crt", json_object_new_string(TEST_CERT));
    json_object_object_add(doc, "data", data);
    add_json_text(env, json_object_to_json_string(doc));
    json_object_put(doc);
}

struct collected {
    const struct kgc_api_obj *v[256];
    size_t n;
};

static bool collect_visit(const struct kgc_api_obj *obj, void *ctx)
{
    struct collected *c = ctx;
    if (c->n < 256)
        c->v[c->n++] = obj;
    return true;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp((*(const struct kgc_api_obj *const *)a)->meta.key,
                  (*(const struct kgc_api_obj *const *)b)->meta.key);
}

static void collect(struct fixture_env *env, enum kgc_api_kind kind, struct collected *c)
{
    c->n = 0;
    env->lk.foreach (env->lk.ctx, kind, NULL, collect_visit, c);
    qsort(c->v, c->n, sizeof(const struct kgc_api_obj *), cmp_key);
}

/* One EndpointSlice per Service: endpoints 10.<i>.0.1 and 10.<i>.0.2 ready, 10.<i>.0.9 not
 * ready, one slice port per Service port (its numeric targetPort). */
static void add_endpoint_slices(struct fixture_env *env)
{
    struct collected svcs;
    collect(env, KGC_API_SERVICE, &svcs);
    for (size_t i = 0; i < svcs.n; i++) {
        const struct kgc_api_service *s = kgc_api_as_service(svcs.v[i]);
        if (!s->obj.meta.namespace || (s->type && strcmp(s->type, "ExternalName") == 0))
            continue;
        char ports[1024] = "";
        for (uint32_t p = 0; p < s->n_ports; p++) {
            const struct kgc_api_service_port *sp = &s->ports[p];
            char one[256];
            int32_t tp = sp->target_port ? sp->target_port : sp->port;
            if (sp->name)
                snprintf(one, sizeof(one), "%s{\"name\":\"%s\",\"port\":%d,\"protocol\":\"TCP\"}",
                         p ? "," : "", sp->name, tp);
            else
                snprintf(one, sizeof(one), "%s{\"port\":%d,\"protocol\":\"TCP\"}", p ? "," : "",
                         tp);
            strncat(ports, one, sizeof(ports) - strlen(ports) - 1);
        }
        char json[4096];
        snprintf(json, sizeof(json),
                 "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","
                 "\"metadata\":{\"name\":\"%s-x1\",\"namespace\":\"%s\",\"labels\":{"
                 "\"kubernetes.io/service-name\":\"%s\"}},\"addressType\":\"IPv4\","
                 "\"ports\":[%s],\"endpoints\":["
                 "{\"addresses\":[\"10.%zu.0.1\"],\"conditions\":{\"ready\":true}},"
                 "{\"addresses\":[\"10.%zu.0.2\"]},"
                 "{\"addresses\":[\"10.%zu.0.9\"],\"conditions\":{\"ready\":false}}]}",
                 s->obj.meta.name, s->obj.meta.namespace, s->obj.meta.name, ports, i + 1, i + 1,
                 i + 1);
        add_json_text(env, json);
    }
}

/* A fixed uid on every HTTPRoute, Gateway and Secret (derived from its key). */
static void set_uids(struct fixture_env *env)
{
    static const enum kgc_api_kind kinds[] = {KGC_API_HTTPROUTE, KGC_API_GATEWAY, KGC_API_SECRET};
    for (size_t k = 0; k < 3; k++) {
        struct collected objs;
        collect(env, kinds[k], &objs);
        char keys[256][300];
        size_t n = objs.n;
        for (size_t i = 0; i < n; i++)
            snprintf(keys[i], sizeof(keys[i]), "%s", objs.v[i]->meta.key);
        for (size_t i = 0; i < n; i++) {
            char ns[128], name[200];
            const char *slash = strchr(keys[i], '/');
            snprintf(ns, sizeof(ns), "%.*s", (int)(slash - keys[i]), keys[i]);
            snprintf(name, sizeof(name), "%s", slash + 1);
            uint64_t h = 1469598103934665603ULL;
            for (const char *p = keys[i]; *p; p++)
                h = (h ^ (unsigned char)*p) * 1099511628211ULL;
            char uid[64];
            snprintf(uid, sizeof(uid), "%08x-%04x-4%03x-8%03x-%012llx", (unsigned)(h >> 32),
                     (unsigned)(h >> 16) & 0xffff, (unsigned)(h >> 4) & 0xfff, (unsigned)h & 0xfff,
                     (unsigned long long)(h * 31) & 0xffffffffffffULL);
            json_object *doc = fixture_set_json(env->set, kinds[k], ns, name);
            json_object *meta = NULL;
            assert_true(json_object_object_get_ex(doc, "metadata", &meta));
            json_object_object_add(meta, "uid", json_object_new_string(uid));
            assert_non_null(fixture_set_update(env->set, kinds[k], ns, name, false));
        }
    }
}

static int tenv_setup(void **state)
{
    struct tenv *t = calloc(1, sizeof(*t));
    char err[FIXTURE_ERR_MAX];
    if (!t || fixture_env_setup(&t->env, err, sizeof(err)) != 0) {
        print_error("fixture: %s\n", err);
        free(t);
        return -1;
    }
    fixed_tls_secret(&t->env, INFRA, "tls-validity-checks-certificate");
    fixed_tls_secret(&t->env, "gateway-conformance-web-backend", "certificate");
    /* what the harness makes for BackendTLSPolicy (suite.go:409-428): the CA ConfigMaps (the
     * fixed test certificate is a CA: basicConstraints CA:TRUE) and a client certificate */
    fixed_ca_configmap(&t->env, "tls-checks-ca-certificate");
    fixed_ca_configmap(&t->env, "mismatch-ca-certificate");
    fixed_tls_secret(&t->env, INFRA, "tls-checks-client-certificate");
    fixed_tls_secret(&t->env, INFRA, "tls-terminate-checks-certificate"); /* suite.go:422-424 */
    *state = t;
    return 0;
}

static int tenv_teardown(void **state)
{
    struct tenv *t = *state;
    fixture_env_free(&t->env);
    free(t);
    return 0;
}

static void translate(struct tenv *t, struct kgc_translate_output *out)
{
    struct kgc_translate_input in = {.lookup = &t->env.lk,
                                     .router_flavor = t->flavor,
                                     .kong_version = t->version,
                                     .invalid_backend_target = t->fallback};
    struct kgc_err err = {0};
    int rc = kgc_translate(&in, out, &err);
    if (rc != 0)
        fail_msg("translate: %s", err.msg);
    assert_non_null(out->config);
    assert_int_equal(strlen(out->config), out->config_len);
}

/* The test Kong's verdict on a configuration text: NULL when accepted, else its 400 body. */
static char *kong_rejects(const char *config, const char *flavor)
{
    json_object *doc = json_tokener_parse(config);
    if (!doc)
        return strdup("not JSON");
    struct kf_validate_opts o = {.router_flavor = flavor, .flatten_errors = true};
    json_object *entities = NULL, *body = NULL;
    int rc = kf_validate(doc, &o, &entities, &body);
    char *why = NULL;
    if (rc != 0)
        why = strdup(body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN)
                          : "rejected without a body");
    json_object_put(entities);
    json_object_put(body);
    json_object_put(doc);
    return why;
}

static void assert_kong_accepts(const struct kgc_translate_output *out, const char *flavor)
{
    char *why = kong_rejects(out->config, flavor);
    if (why) {
        print_error("config: %s\n", out->config);
        fail_msg("the test Kong rejects the configuration: %.3000s", why);
    }
}

/* ---- golden files -------------------------------------------------------------------------------
 */

struct golden_case {
    const char *manifest; /* in the conformance directory */
    const char *variant;  /* NULL, or a suffix before .json */
    const char *flavor;
    const char *version;
    const char *extra; /* YAML added after the manifest, or NULL */
};

/* Kong plugins: an ExtensionRef filter, the route's and a Service's konghq.com/plugins
 * annotations, a KongClusterPlugin found by name, a disabled plugin, instance_name, one plugin
 * kgc's own filter already uses on the route, a missing one (the rule answers 500). */
#define PLUGINS_YAML                                                                               \
    "apiVersion: configuration.konghq.com/v1\nkind: KongPlugin\n"                                  \
    "metadata: {name: add-header, namespace: " INFRA "}\n"                                         \
    "plugin: response-transformer\n"                                                               \
    "config: {add: {headers: ['x-plugin:yes']}}\n"                                                 \
    "protocols: [http, https]\ninstance_name: hdr\n"                                               \
    "---\napiVersion: configuration.konghq.com/v1\nkind: KongClusterPlugin\n"                      \
    "metadata: {name: limit}\nplugin: request-size-limiting\n"                                     \
    "config: {allowed_payload_size: 1}\n"                                                          \
    "---\napiVersion: configuration.konghq.com/v1\nkind: KongPlugin\n"                             \
    "metadata: {name: cors-off, namespace: " INFRA "}\nplugin: cors\ndisabled: true\n"             \
    "---\napiVersion: configuration.konghq.com/v1\nkind: KongPlugin\n"                             \
    "metadata: {name: svc-term, namespace: " INFRA "}\nplugin: request-termination\n"              \
    "config: {status_code: 418, message: teapot}\n"                                                \
    "---\napiVersion: v1\nkind: Service\n"                                                         \
    "metadata: {name: annotated, namespace: " INFRA                                                \
    ", annotations: {konghq.com/plugins: svc-term}}\n"                                             \
    "spec: {ports: [{name: http, port: 8080, targetPort: 3000}]}\n"                                \
    "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"                             \
    "metadata: {name: plugins, namespace: " INFRA                                                  \
    ", annotations: {konghq.com/plugins: 'limit, cors-off'}}\n"                                    \
    "spec:\n"                                                                                      \
    "  parentRefs: [{name: same-namespace}]\n"                                                     \
    "  rules:\n"                                                                                   \
    "  - matches: [{path: {type: PathPrefix, value: /plugins}}]\n"                                 \
    "    filters:\n"                                                                               \
    "    - {type: ExtensionRef, extensionRef: {group: configuration.konghq.com, kind: "            \
    "KongPlugin, "                                                                                 \
    "name: add-header}}\n"                                                                         \
    "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"                                    \
    "  - matches: [{path: {type: PathPrefix, value: /service}}]\n"                                 \
    "    filters:\n"                                                                               \
    "    - {type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: a, value: b}]}}\n" \
    "    - {type: ExtensionRef, extensionRef: {group: configuration.konghq.com, kind: "            \
    "KongPlugin, "                                                                                 \
    "name: add-header}}\n"                                                                         \
    "    backendRefs: [{name: annotated, port: 8080}]\n"                                           \
    "  - matches: [{path: {type: PathPrefix, value: /missing}}]\n"                                 \
    "    filters:\n"                                                                               \
    "    - {type: ExtensionRef, extensionRef: {group: configuration.konghq.com, kind: "            \
    "KongPlugin, "                                                                                 \
    "name: nope}}\n"                                                                               \
    "    backendRefs: [{name: infra-backend-v2, port: 8080}]\n"

static const struct golden_case GOLDEN[] = {
    {"httproute-matching.yaml", NULL, NULL, NULL},
    {"httproute-exact-path-matching.yaml", NULL, NULL, NULL},
    {"httproute-header-matching.yaml", NULL, NULL, NULL},
    {"httproute-method-matching.yaml", NULL, NULL, NULL},
    {"httproute-query-param-matching.yaml", NULL, NULL, NULL},
    {"httproute-path-match-order.yaml", NULL, NULL, NULL},
    {"httproute-weight.yaml", NULL, NULL, NULL},
    {"httproute-request-header-modifier.yaml", NULL, NULL, NULL},
    {"httproute-redirect-host-and-status.yaml", NULL, NULL, NULL},
    {"httproute-redirect-path.yaml", NULL, NULL, NULL},
    {"httproute-rewrite-host.yaml", NULL, NULL, NULL},
    {"httproute-rewrite-path.yaml", NULL, NULL, NULL},
    /* the expressions router: query parameters work, priorities are explicit */
    {"httproute-matching.yaml", "expressions", "expressions", NULL},
    {"httproute-header-matching.yaml", "expressions", "expressions", NULL},
    {"httproute-method-matching.yaml", "expressions", "expressions", NULL},
    {"httproute-query-param-matching.yaml", "expressions", "expressions", NULL},
    {"httproute-path-match-order.yaml", "expressions", "expressions", NULL},
    {"httproute-rewrite-host.yaml", "expressions", "expressions", NULL},
    {"httproute-rewrite-path.yaml", "expressions", "expressions", NULL},
    /* Kong before 3.9: no redirect plugin */
    {"httproute-redirect-host-and-status.yaml", "kong-3.8", NULL, "3.8.1"},
    {"httproute-redirect-path.yaml", "kong-3.8", NULL, "3.8.1"},
    /* HTTPS listeners: hostname intersection, protocols and the certificate */
    {"httproute-https-listener.yaml", NULL, NULL, NULL},
    /* GRPCRoute: grpc services and routes, method matches as paths (pkg/translate/grpc.c) */
    {"grpcroute-exact-method-matching.yaml", NULL, NULL, NULL},
    {"grpcroute-header-matching.yaml", NULL, NULL, NULL},
    {"grpcroute-listener-hostname-matching.yaml", NULL, NULL, NULL},
    {"grpcroute-named-rule.yaml", NULL, NULL, NULL},
    {"grpcroute-weight.yaml", NULL, NULL, NULL},
    {"grpcroute-exact-method-matching.yaml", "expressions", "expressions", NULL},
    {"grpcroute-listener-hostname-matching.yaml", "expressions", "expressions", NULL},
    /* Kong plugins (KongPlugin, KongClusterPlugin) */
    {"httproute-simple-same-namespace.yaml", "kongplugins", NULL, NULL, PLUGINS_YAML},
    /* backend TLS: https services verified with ca_certificates, SNI by host_header; SANs Kong
     * cannot check (500 instead); the Gateway's client certificate */
    {"backendtlspolicy.yaml", NULL, NULL, NULL},
    {"backendtlspolicy-san.yaml", NULL, NULL, NULL},
    {"backendtlspolicy-conflict-resolution.yaml", NULL, NULL, NULL},
    {"gateway-tls-backend-client-certificate.yaml", NULL, NULL, NULL},
    /* l4: TLSRoute (passthrough, terminate with its certificate, both on one listen; SNIs from
     * hostname intersection, wildcards dropped by the traditional router), TCPRoute and UDPRoute
     * (weighted upstreams, destinations per listener port) — pkg/translate/stream.c */
    {"tlsroute-simple-same-namespace.yaml", NULL, NULL, NULL},
    {"tlsroute-terminate-simple-same-namespace.yaml", NULL, NULL, NULL},
    {"tlsroute-mixed-termination-same-namespace.yaml", NULL, NULL, NULL},
    {"tlsroute-hostname-intersection.yaml", NULL, NULL, NULL},
    {"tlsroute-hostname-intersection.yaml", "traditional", "traditional", NULL},
    {"tcproute-weighted-routing.yaml", NULL, NULL, NULL},
    {"tcproute-parentref-port-and-section-name.yaml", NULL, NULL, NULL},
    {"udproute-weighted-routing.yaml", NULL, NULL, NULL},
    {"tlsroute-mixed-termination-same-namespace.yaml", "expressions", "expressions", NULL},
    {"udproute-weighted-routing.yaml", "expressions", "expressions", NULL},
};

static void golden_path(const struct golden_case *g, const char *ext, char *buf, size_t size)
{
    size_t n = strlen(g->manifest);
    if (n > 5 && strcmp(g->manifest + n - 5, ".yaml") == 0)
        n -= 5;
    snprintf(buf, size, GOLDEN_DIR "/%.*s%s%s%s", (int)n, g->manifest, g->variant ? "." : "",
             g->variant ? g->variant : "", ext);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[len] = '\0';
    fclose(f);
    return buf;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* The problems as reviewable text, one per line. */
static char *problems_text(const struct kgc_translate_output *out)
{
    size_t cap = 256 + out->n_problems * 700;
    char *buf = calloc(1, cap);
    assert_non_null(buf);
    size_t len = 0;
    for (size_t i = 0; i < out->n_problems; i++) {
        const struct kgc_translate_problem *p = &out->problems[i];
        len += (size_t)snprintf(buf + len, cap - len, "%s %s/%s rule=%d match=%d %s: %s\n",
                                kgc_api_kind_info(p->kind)->name, p->namespace, p->name, p->rule,
                                p->match, kgc_translate_severity_name(p->severity), p->message);
    }
    return buf;
}

static bool update_golden(void)
{
    const char *u = getenv("KGC_UPDATE_GOLDEN");
    return u && strcmp(u, "1") == 0;
}

/* Prints where two texts first differ. */
static void show_diff(const char *want, const char *got)
{
    size_t i = 0;
    while (want[i] && want[i] == got[i])
        i++;
    size_t from = i > 120 ? i - 120 : 0;
    print_error("first difference at byte %zu\n  golden: ...%.240s\n  output: ...%.240s\n", i,
                want + from, got + from);
}

static int golden_setup(void **state)
{
    const struct golden_case *g = *state;
    if (tenv_setup(state) != 0)
        return -1;
    struct tenv *t = *state;
    t->flavor = g->flavor;
    t->version = g->version;
    char err[FIXTURE_ERR_MAX];
    if (fixture_set_load(t->env.set, g->manifest, err, sizeof(err)) != 0) {
        print_error("%s\n", err);
        return -1;
    }
    if (g->extra && fixture_set_add_yaml(t->env.set, g->extra, err, sizeof(err)) != 0) {
        print_error("%s\n", err);
        return -1;
    }
    return 0;
}

static void golden_test(void **state, const struct golden_case *g)
{
    struct tenv *t = *state;
    add_endpoint_slices(&t->env);
    set_uids(&t->env);
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, g->flavor);

    char path[512], ppath[512];
    golden_path(g, ".json", path, sizeof(path));
    golden_path(g, ".problems", ppath, sizeof(ppath));
    char *problems = problems_text(&out);
    if (update_golden()) {
        json_object *doc = json_tokener_parse(out.config);
        assert_non_null(doc);
        char *pretty = NULL;
        assert_true(asprintf(&pretty, "%s\n",
                             json_object_to_json_string_ext(
                                 doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                          JSON_C_TO_STRING_NOSLASHESCAPE)) > 0);
        write_file(path, pretty);
        free(pretty);
        json_object_put(doc);
        if (problems[0])
            write_file(ppath, problems);
        else
            remove(ppath);
    }
    char *golden = read_file(path);
    if (!golden)
        fail_msg("no golden file %s (KGC_UPDATE_GOLDEN=1 writes it)", path);
    json_object *gdoc = json_tokener_parse(golden);
    if (!gdoc)
        fail_msg("golden file %s is not JSON", path);
    const char *canon = json_object_to_json_string_ext(gdoc, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
    if (strcmp(canon, out.config) != 0) {
        show_diff(canon, out.config);
        fail_msg("%s differs from the translation (review, then KGC_UPDATE_GOLDEN=1)", path);
    }
    /* the golden document itself must be what the test Kong accepts */
    char *why = kong_rejects(canon, g->flavor);
    if (why)
        fail_msg("the test Kong rejects %s: %.2000s", path, why);
    json_object_put(gdoc);
    free(golden);

    char *gprob = read_file(ppath);
    if (strcmp(gprob ? gprob : "", problems) != 0) {
        show_diff(gprob ? gprob : "", problems);
        fail_msg("%s differs from the translation's problems", ppath);
    }
    free(gprob);
    free(problems);
    kgc_translate_output_free(&out);
}

#define GOLDEN_TEST(i)                                                                             \
    static void golden_##i(void **state)                                                           \
    {                                                                                              \
        golden_test(state, &GOLDEN[i]);                                                            \
    }
GOLDEN_TEST(0)
GOLDEN_TEST(1)
GOLDEN_TEST(2)
GOLDEN_TEST(3)
GOLDEN_TEST(4)
GOLDEN_TEST(5)
GOLDEN_TEST(6)
GOLDEN_TEST(7)
GOLDEN_TEST(8)
GOLDEN_TEST(9)
GOLDEN_TEST(10)
GOLDEN_TEST(11)
GOLDEN_TEST(12)
GOLDEN_TEST(13)
GOLDEN_TEST(14)
GOLDEN_TEST(15)
GOLDEN_TEST(16)
GOLDEN_TEST(17)
GOLDEN_TEST(18)
GOLDEN_TEST(19)
GOLDEN_TEST(20)
GOLDEN_TEST(21)
GOLDEN_TEST(22)
GOLDEN_TEST(23)
GOLDEN_TEST(24)
GOLDEN_TEST(25)
GOLDEN_TEST(26)
GOLDEN_TEST(27)
GOLDEN_TEST(28)
GOLDEN_TEST(29)
GOLDEN_TEST(30)
GOLDEN_TEST(31)
GOLDEN_TEST(32)
GOLDEN_TEST(33)
GOLDEN_TEST(34)
GOLDEN_TEST(35)
GOLDEN_TEST(36)
GOLDEN_TEST(37)
GOLDEN_TEST(38)
GOLDEN_TEST(39)
GOLDEN_TEST(40)
GOLDEN_TEST(41)
GOLDEN_TEST(42)
GOLDEN_TEST(43)

/* ---- unit tests -------------------------------------------------------------------------------
 */

static int unit_setup(void **state)
{
    if (tenv_setup(state) != 0)
        return -1;
    struct tenv *t = *state;
    add_endpoint_slices(&t->env);
    return 0;
}

static json_object *parse_config(const struct kgc_translate_output *out)
{
    json_object *doc = json_tokener_parse(out->config);
    assert_non_null(doc);
    return doc;
}

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static json_object *find_named(json_object *arr, const char *name)
{
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        json_object *nm = get(e, "name");
        if (nm && strcmp(json_object_get_string(nm), name) == 0)
            return e;
    }
    return NULL;
}

static json_object *find_service(json_object *doc, const char *name)
{
    return find_named(get(doc, "services"), name);
}

static json_object *find_route(json_object *doc, const char *name)
{
    json_object *svcs = get(doc, "services");
    for (size_t i = 0; svcs && i < json_object_array_length(svcs); i++) {
        json_object *r = find_named(get(json_object_array_get_idx(svcs, i), "routes"), name);
        if (r)
            return r;
    }
    return NULL;
}

static json_object *must_route(json_object *doc, const char *name)
{
    json_object *r = find_route(doc, name);
    if (!r)
        fail_msg("no Kong route %s", name);
    return r;
}

static int64_t priority(json_object *doc, const char *route)
{
    json_object *r = must_route(doc, route);
    json_object *p = get(r, "regex_priority");
    if (!p)
        p = get(r, "priority");
    assert_non_null(p);
    return json_object_get_int64(p);
}

/* Whether Kong 3.9.1's ATC router (the test Kong's model of it) runs route a before route b:
 * by the priority it computes (traditional_compatible: get_priority; expressions: the route's
 * own), then by the greater id. */
static bool kong_runs_before(json_object *doc, const char *a, const char *b)
{
    json_object *ra = must_route(doc, a), *rb = must_route(doc, b);
    uint64_t pa = 0, pb = 0;
    char *ea = NULL, *eb = NULL;
    assert_int_equal(kf_compat_expression(ra, true, &ea, &pa), 0);
    assert_int_equal(kf_compat_expression(rb, true, &eb, &pb), 0);
    free(ea);
    free(eb);
    if (pa != pb)
        return pa > pb;
    json_object *ia = get(ra, "id"), *ib = get(rb, "id");
    assert_non_null(ia);
    assert_non_null(ib);
    return strcmp(json_object_get_string(ia), json_object_get_string(ib)) > 0;
}

/* The name of the Kong route the test Kong's model of Kong 3.9.1's router (flavour) picks for a
 * request to host with these headers, over every route of doc ("" when none matches). Routes
 * without an id (the expressions flavour) get one in document order, as Kong would generate. */
static void kong_pick_host(json_object *doc, const char *flavor, const char *host,
                           const char *method, const char *path, const struct kf_kv *headers,
                           size_t n_headers, char *out, size_t outsz)
{
    struct kf_route_in rin[64];
    size_t n = 0;
    json_object *svcs = get(doc, "services");
    for (size_t i = 0; svcs && i < json_object_array_length(svcs); i++) {
        json_object *svc = json_object_array_get_idx(svcs, i);
        json_object *routes = get(svc, "routes");
        for (size_t j = 0; routes && j < json_object_array_length(routes); j++) {
            assert_true(n < 64);
            json_object *r = json_object_array_get_idx(routes, j);
            if (!get(r, "id")) {
                char id[40];
                snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012zx", n);
                json_object_object_add(r, "id", json_object_new_string(id));
            }
            rin[n++] = (struct kf_route_in){.route = r, .service = svc};
        }
    }
    struct kf_router *router = NULL;
    char err[256];
    assert_int_equal(kf_router_new((enum kf_flavor)kf_flavor_parse(flavor), true, rin, n, &router,
                                   err, sizeof(err)),
                     0);
    struct kf_request req = {.method = method,
                             .uri = path,
                             .host = host,
                             .scheme = "http",
                             .dst_port = 8000,
                             .headers = headers,
                             .n_headers = n_headers};
    struct kf_match m;
    assert_int_equal(kf_router_select(router, &req, &m, err, sizeof(err)), 0);
    snprintf(out, outsz, "%s",
             m.route >= 0 ? json_object_get_string(get(rin[m.route].route, "name")) : "");
    kf_match_clear(&m);
    kf_router_free(router);
}

static void kong_pick(json_object *doc, const char *flavor, const char *method, const char *path,
                      const struct kf_kv *headers, size_t n_headers, char *out, size_t outsz)
{
    kong_pick_host(doc, flavor, "example.net", method, path, headers, n_headers, out, outsz);
}

static json_object *find_plugin(json_object *entity, const char *name)
{
    return find_named(get(entity, "plugins"), name);
}

static const char *jstr_at(json_object *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    json_object *cur = o;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, ".")) {
        if (json_object_is_type(cur, json_type_array))
            cur = json_object_array_get_idx(cur, (size_t)atoi(tok));
        else
            cur = get(cur, tok);
    }
    return cur ? json_object_get_string(cur) : NULL;
}

static const struct kgc_translate_problem *find_problem(const struct kgc_translate_output *out,
                                                        const char *name, int32_t rule,
                                                        int32_t match,
                                                        enum kgc_translate_severity sev)
{
    for (size_t i = 0; i < out->n_problems; i++) {
        const struct kgc_translate_problem *p = &out->problems[i];
        if (strcmp(p->name, name) == 0 && p->rule == rule && p->match == match &&
            p->severity == sev)
            return p;
    }
    return NULL;
}

/* A lookup over another one that enumerates every kind in reverse. */
struct reversed {
    const struct kgc_status_lookup *inner;
};

static const struct kgc_api_obj *rev_get(void *ctx, enum kgc_api_kind kind, const char *ns,
                                         const char *name)
{
    const struct reversed *r = ctx;
    return r->inner->get(r->inner->ctx, kind, ns, name);
}

struct rev_collect {
    const struct kgc_api_obj *v[512];
    size_t n;
};

static bool rev_visit(const struct kgc_api_obj *obj, void *ctx)
{
    struct rev_collect *c = ctx;
    if (c->n < 512)
        c->v[c->n++] = obj;
    return true;
}

static void rev_foreach(void *ctx, enum kgc_api_kind kind, const char *ns, kgc_status_visit_fn fn,
                        void *fnctx)
{
    const struct reversed *r = ctx;
    struct rev_collect c = {.n = 0};
    r->inner->foreach (r->inner->ctx, kind, ns, rev_visit, &c);
    for (size_t i = c.n; i > 0; i--) {
        if (!fn(c.v[i - 1], fnctx))
            return;
    }
}

static void test_deterministic(void **state)
{
    struct tenv *t = *state;
    load(&t->env, "httproute-matching.yaml");
    load(&t->env, "httproute-weight.yaml");
    load(&t->env, "httproute-redirect-path.yaml");
    load(&t->env, "httproute-header-matching.yaml");
    load(&t->env, "httproute-https-listener.yaml");
    struct kgc_translate_output a, b, c;
    translate(t, &a);
    translate(t, &b);
    assert_string_equal(a.config, b.config);
    assert_string_equal(a.hash, b.hash);
    char hash[KGC_KONG_HASH_LEN + 1];
    kgc_kong_config_hash(a.config, a.config_len, hash);
    assert_string_equal(a.hash, hash);

    /* the same objects enumerated in the opposite order */
    struct reversed rev = {&t->env.lk};
    struct kgc_status_lookup lk = {.get = rev_get, .foreach = rev_foreach, .ctx = &rev};
    struct kgc_translate_input in = {.lookup = &lk};
    assert_int_equal(kgc_translate(&in, &c, NULL), 0);
    assert_string_equal(a.config, c.config);
    assert_string_equal(a.hash, c.hash);
    assert_int_equal(a.n_problems, c.n_problems);
    for (size_t i = 0; i < a.n_problems; i++)
        assert_string_equal(a.problems[i].message, c.problems[i].message);
    assert_int_equal(a.counts.http_routes, 6);
    kgc_translate_output_free(&a);
    kgc_translate_output_free(&b);
    kgc_translate_output_free(&c);
}

static void test_precedence_paths(void **state)
{
    struct tenv *t = *state;
    load(&t->env, "httproute-path-match-order.yaml");
    const char *const flavors[] = {NULL, "expressions"};
    for (size_t f = 0; f < 2; f++) {
        t->flavor = flavors[f];
        struct kgc_translate_output out;
        translate(t, &out);
        json_object *doc = parse_config(&out);
        const char *sfx = f ? ".h0" : "";
        char r[6][128];
        for (int i = 0; i < 6; i++)
            snprintf(r[i], sizeof(r[i]), "httproute." INFRA ".path-matching-order.%d.0%s", i, sfx);
        /* Exact beats PathPrefix; longer beats shorter: in the order Kong runs them */
        assert_true(kong_runs_before(doc, r[2], r[1]));
        assert_true(kong_runs_before(doc, r[1], r[0]));
        assert_true(kong_runs_before(doc, r[0], r[5]));
        assert_true(kong_runs_before(doc, r[5], r[4]));
        assert_true(kong_runs_before(doc, r[4], r[3]));
        json_object_put(doc);
        kgc_translate_output_free(&out);
    }
}

static void test_precedence_hosts_and_ties(void **state)
{
    struct tenv *t = *state;
    t->flavor = "expressions";
    add_yaml(&t->env, "apiVersion: gateway.networking.k8s.io/v1\n"
                      "kind: HTTPRoute\n"
                      "metadata: {name: wild, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  parentRefs: [{name: same-namespace}]\n"
                      "  hostnames: ['*.example.com', 'very-long-name.other.example.net']\n"
                      "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n"
                      "---\n"
                      "apiVersion: gateway.networking.k8s.io/v1\n"
                      "kind: HTTPRoute\n"
                      "metadata: {name: exact, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  parentRefs: [{name: same-namespace}]\n"
                      "  hostnames: [foo.example.com]\n"
                      "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n"
                      "---\n"
                      "apiVersion: gateway.networking.k8s.io/v1\n"
                      "kind: HTTPRoute\n"
                      "metadata: {name: anyhost, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  parentRefs: [{name: same-namespace}]\n"
                      "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n"
                      "---\n"
                      "apiVersion: gateway.networking.k8s.io/v1\n"
                      "kind: HTTPRoute\n"
                      "metadata: {name: b-newer, namespace: " INFRA ",\n"
                      "           creationTimestamp: '2025-02-01T00:00:00Z'}\n"
                      "spec:\n"
                      "  parentRefs: [{name: same-namespace}]\n"
                      "  hostnames: [tie.example.org]\n"
                      "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]},\n"
                      "          {backendRefs: [{name: infra-backend-v2, port: 8080}]}]\n"
                      "---\n"
                      "apiVersion: gateway.networking.k8s.io/v1\n"
                      "kind: HTTPRoute\n"
                      "metadata: {name: z-older, namespace: " INFRA ",\n"
                      "           creationTimestamp: '2025-01-01T00:00:00Z'}\n"
                      "spec:\n"
                      "  parentRefs: [{name: same-namespace}]\n"
                      "  hostnames: [tie.example.org]\n"
                      "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n");
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, t->flavor);
    json_object *doc = parse_config(&out);
    /* one Kong route per hostname: the exact one outranks the wildcard, which outranks none */
    int64_t exact = priority(doc, "httproute." INFRA ".exact.0.0.h0");
    int64_t wild = priority(doc, "httproute." INFRA ".wild.0.0.h0");
    int64_t longer = priority(doc, "httproute." INFRA ".wild.0.0.h1");
    int64_t any = priority(doc, "httproute." INFRA ".anyhost.0.0.h0");
    assert_string_equal(jstr_at(must_route(doc, "httproute." INFRA ".wild.0.0.h0"), "expression"),
                        "http.host =^ \".example.com\" && http.path ^= \"/\" && "
                        "(net.protocol == \"http\")");
    assert_true(longer > exact); /* 32 non-wildcard characters beat 15 */
    assert_true(exact > wild);
    assert_true(wild > any);
    /* ties: the older route first, then rule order */
    int64_t older = priority(doc, "httproute." INFRA ".z-older.0.0.h0");
    int64_t newer0 = priority(doc, "httproute." INFRA ".b-newer.0.0.h0");
    int64_t newer1 = priority(doc, "httproute." INFRA ".b-newer.1.0.h0");
    assert_true(older > newer0);
    assert_true(newer0 > newer1);
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

static void test_weights(void **state)
{
    struct tenv *t = *state;
    add_yaml(&t->env, "apiVersion: v1\nkind: Service\n"
                      "metadata: {name: three, namespace: " INFRA "}\n"
                      "spec: {ports: [{name: web, port: 80, targetPort: 8080}]}\n"
                      "---\n"
                      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
                      "metadata: {name: three-a, namespace: " INFRA ",\n"
                      "           labels: {kubernetes.io/service-name: three}}\n"
                      "addressType: IPv4\n"
                      "ports: [{name: web, port: 8080}, {name: other, port: 9999}]\n"
                      "endpoints: [{addresses: [192.0.2.1]}, {addresses: [192.0.2.2]},\n"
                      "            {addresses: [192.0.2.3], conditions: {ready: false}}]\n"
                      "---\n"
                      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
                      "metadata: {name: three-b, namespace: " INFRA ",\n"
                      "           labels: {kubernetes.io/service-name: three}}\n"
                      "addressType: IPv6\n"
                      "ports: [{name: web, port: 8080}]\n"
                      "endpoints: [{addresses: ['2001:db8::0:1']}, {addresses: [192.0.2.1]}]\n"
                      "---\n"
                      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                      "metadata: {name: split, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  parentRefs: [{name: same-namespace}]\n"
                      "  rules:\n"
                      "  - backendRefs:\n"
                      "    - {name: three, port: 80, weight: 1}\n"
                      "    - {name: infra-backend-v2, port: 8080, weight: 2}\n"
                      "    - {name: missing, port: 80, weight: 5}\n"
                      "    - {name: infra-backend-v1, port: 8080, weight: 0}\n");
    load(&t->env, "httproute-weight.yaml");
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    json_object *doc = parse_config(&out);

    /* 70/30/0 over two endpoints each: per ten thousand, 3500 + 3500 and 1500 + 1500 */
    json_object *up = find_named(get(doc, "upstreams"), "httproute." INFRA ".weighted-backends.0");
    assert_non_null(up);
    json_object *tl = get(up, "targets");
    assert_int_equal(json_object_array_length(tl), 4);
    int64_t sum70 = 0, sum30 = 0;
    for (size_t i = 0; i < 4; i++) {
        json_object *tg = json_object_array_get_idx(tl, i);
        const char *addr = json_object_get_string(get(tg, "target"));
        int64_t w = json_object_get_int64(get(tg, "weight"));
        /* Services are numbered in key order by add_endpoint_slices: v1 is 10.8, v2 10.9 */
        if (strncmp(addr, "10.8.", 5) == 0)
            sum70 += w;
        else if (strncmp(addr, "10.9.", 5) == 0)
            sum30 += w;
        else
            fail_msg("unexpected target %s (weight-0 backend must not be there)", addr);
    }
    assert_int_equal(sum70, 7000);
    assert_int_equal(sum30, 3000);

    /* three: 3 ready addresses (192.0.2.1 in both slices once), weight 1 of 3 →
     * round(10000/9) = 1111 each; infra-backend-v2: 2 of 3 over 2 → 3333 each; the missing
     * backend's share goes to the others (a documented gap) */
    up = find_named(get(doc, "upstreams"), "httproute." INFRA ".split.0");
    assert_non_null(up);
    tl = get(up, "targets");
    assert_int_equal(json_object_array_length(tl), 5);
    assert_string_equal(jstr_at(tl, "0.target"), "10.9.0.1:3000");
    assert_string_equal(jstr_at(tl, "0.weight"), "3333");
    assert_string_equal(jstr_at(tl, "2.target"), "192.0.2.1:8080");
    assert_string_equal(jstr_at(tl, "2.weight"), "1111");
    assert_string_equal(jstr_at(tl, "4.target"), "[2001:db8::1]:8080");
    assert_string_equal(jstr_at(tl, "4.weight"), "1111");
    assert_non_null(find_problem(&out, "split", 0, -1, KGC_TRANSLATE_NOTE));
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

static void test_unresolvable_backends_answer_500(void **state)
{
    struct tenv *t = *state;
    load(&t->env, "httproute-invalid-nonexistent-backendref.yaml");
    load(&t->env, "httproute-invalid-backendref-unknown-kind.yaml");
    load(&t->env, "httproute-invalid-cross-namespace-backend-ref.yaml");
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    json_object *doc = parse_config(&out);
    const char *const names[] = {"invalid-nonexistent-backend-ref",
                                 "invalid-backend-ref-unknown-kind",
                                 "invalid-cross-namespace-backend-ref"};
    for (size_t i = 0; i < 3; i++) {
        char svc[256];
        snprintf(svc, sizeof(svc), "httproute." INFRA ".%s.0", names[i]);
        json_object *s = find_service(doc, svc);
        if (!s)
            fail_msg("no service %s", svc);
        json_object *term = find_plugin(s, "request-termination");
        assert_non_null(term);
        assert_string_equal(jstr_at(term, "config.status_code"), "500");
        assert_null(find_named(get(doc, "upstreams"), svc));
        assert_non_null(find_problem(&out, names[i], 0, -1, KGC_TRANSLATE_NOTE));
        /* a NOTE is ResolvedRefs' business: the route keeps a clean verdict */
        const struct kgc_api_httproute *r =
            kgc_api_as_httproute(fixture_set_find(t->env.set, KGC_API_HTTPROUTE, INFRA, names[i]));
        assert_non_null(r);
        struct kgc_status_route_verdict v;
        kgc_translate_route_verdict(&out, r, &v);
        assert_null(v.accepted_reason);
        assert_string_equal(v.partially_invalid, "");
    }
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

/* The weight of target addr in upstream name (0 when absent); *n gets the number of targets. */
/* The share of upstream name's traffic that target addr gets, per ten thousand (0: not there),
 * as Kong balances it: a target without a weight has Kong's default, 100 (kgc leaves equal weights
 * out). *n gets the upstream's number of targets. */
static int64_t target_weight(json_object *doc, const char *name, const char *addr, size_t *n)
{
    json_object *up = find_named(get(doc, "upstreams"), name);
    if (!up)
        fail_msg("no upstream %s", name);
    json_object *tl = get(up, "targets");
    *n = json_object_array_length(tl);
    int64_t sum = 0, mine = 0;
    for (size_t i = 0; i < *n; i++) {
        json_object *tg = json_object_array_get_idx(tl, i);
        json_object *w = get(tg, "weight");
        int64_t v = w ? json_object_get_int64(w) : 100;
        sum += v;
        if (strcmp(json_object_get_string(get(tg, "target")), addr) == 0)
            mine = v;
    }
    return sum ? (mine * 10000 + sum / 2) / sum : 0;
}

/* --invalid-backend-target: the invalid backends' share of a rule goes to a target answering
 * 500; weight 0 carries no share, a Service without endpoints is not invalid, and a rule with no
 * usable backend keeps its request-termination 500. */
static void test_invalid_backend_fallback(void **state)
{
    struct tenv *t = *state;
    add_yaml(&t->env, "apiVersion: v1\nkind: Service\n"
                      "metadata: {name: no-endpoints, namespace: " INFRA "}\n"
                      "spec: {ports: [{name: web, port: 80, targetPort: 8080}]}\n"
                      "---\n"
                      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                      "metadata: {name: half, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  parentRefs: [{name: same-namespace}]\n"
                      "  rules:\n"
                      "  - backendRefs:\n"
                      "    - {name: infra-backend-v1, port: 8080, weight: 1}\n"
                      "    - {name: missing, port: 80, weight: 1}\n"
                      "  - matches: [{path: {type: PathPrefix, value: /three}}]\n"
                      "    backendRefs:\n"
                      "    - {name: infra-backend-v1, port: 8080, weight: 2}\n"
                      "    - {name: web-backend, namespace: gateway-conformance-web-backend,\n"
                      "       port: 8080, weight: 1}\n"
                      "    - {name: infra-backend-v2, port: 9999, weight: 1}\n"
                      "  - matches: [{path: {type: PathPrefix, value: /zero}}]\n"
                      "    backendRefs:\n"
                      "    - {name: infra-backend-v1, port: 8080, weight: 1}\n"
                      "    - {name: missing, port: 80, weight: 0}\n"
                      "    - {name: no-endpoints, port: 80, weight: 1}\n"
                      "  - matches: [{path: {type: PathPrefix, value: /none}}]\n"
                      "    backendRefs:\n"
                      "    - {name: missing, port: 80, weight: 1}\n"
                      "    - {name: other-missing, port: 80, weight: 3}\n");
    load(&t->env, "httproute-weight.yaml");
    const char *up0 = "httproute." INFRA ".half.0", *up1 = "httproute." INFRA ".half.1";
    const char *up2 = "httproute." INFRA ".half.2", *svc3 = "httproute." INFRA ".half.3";
    size_t n = 0;

    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: the option is off (the valid backends share everything); 1: on */
        t->fallback = pass ? "127.0.0.1:9500" : NULL;
        struct kgc_translate_output out;
        translate(t, &out);
        assert_kong_accepts(&out, NULL);
        json_object *doc = parse_config(&out);

        /* rule 0, 1:1 with one invalid: the fallback carries half of the traffic */
        assert_int_equal(target_weight(doc, up0, "127.0.0.1:9500", &n), pass ? 5000 : 0);
        assert_int_equal(n, pass ? 3 : 2);
        assert_int_equal(target_weight(doc, up0, "10.8.0.1:3000", &n), pass ? 2500 : 5000);
        assert_int_equal(target_weight(doc, up0, "10.8.0.2:3000", &n), pass ? 2500 : 5000);

        /* rule 1, 2:1:1 with an ungranted cross-namespace Service and a port the Service does
         * not have: the two invalid shares (1/4 each) add up on the one fallback target */
        assert_int_equal(target_weight(doc, up1, "127.0.0.1:9500", &n), pass ? 5000 : 0);
        assert_int_equal(target_weight(doc, up1, "10.8.0.1:3000", &n), pass ? 2500 : 5000);

        /* rule 2: an invalid backend of weight 0 has no share, and a Service without ready
         * endpoints is not invalid: no fallback target */
        assert_int_equal(target_weight(doc, up2, "127.0.0.1:9500", &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(target_weight(doc, up2, "10.8.0.1:3000", &n), 5000);

        /* rule 3: nothing valid: the whole rule answers 500 as before, no upstream */
        json_object *s3 = find_service(doc, svc3);
        assert_non_null(s3);
        assert_string_equal(jstr_at(find_plugin(s3, "request-termination"), "config.status_code"),
                            "500");
        assert_null(find_named(get(doc, "upstreams"), svc3));

        /* ResolvedRefs tells about the invalid backends either way (NOTE problems) */
        assert_non_null(find_problem(&out, "half", 0, -1, KGC_TRANSLATE_NOTE));
        assert_non_null(find_problem(&out, "half", 3, -1, KGC_TRANSLATE_NOTE));
        json_object_put(doc);
        kgc_translate_output_free(&out);
    }

    /* what kgc accepts for --invalid-backend-target: what Kong takes as a target */
    assert_true(kgc_translate_target_valid("127.0.0.1:9500"));
    assert_true(kgc_translate_target_valid("[2001:db8::5]:9500"));
    assert_true(kgc_translate_target_valid("kgc-fallback.kgc.svc:9500"));
    assert_false(kgc_translate_target_valid("127.0.0.1:0"));
    assert_false(kgc_translate_target_valid("127.0.0.1"));
    assert_false(kgc_translate_target_valid("Kgc.svc:80"));
    assert_false(kgc_translate_target_valid("2001:db8::5:80"));
    assert_false(kgc_translate_target_valid("host:65536"));
    assert_false(kgc_translate_target_valid(""));
    assert_false(kgc_translate_target_valid(NULL));

    /* a malformed target is ignored (kgc rejects it at start), never put into the config */
    t->fallback = "not a target";
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    assert_null(strstr(out.config, "not a target"));
    kgc_translate_output_free(&out);
    t->fallback = NULL;
}

static void test_query_params_per_flavor(void **state)
{
    struct tenv *t = *state;
    load(&t->env, "httproute-query-param-matching.yaml");
    add_yaml(&t->env, "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                      "metadata: {name: only-query, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  parentRefs: [{name: same-namespace}]\n"
                      "  rules:\n"
                      "  - matches: [{queryParams: [{name: q, value: x}]}]\n"
                      "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n");
    const struct kgc_api_httproute *qpm = kgc_api_as_httproute(
        fixture_set_find(t->env.set, KGC_API_HTTPROUTE, INFRA, "query-param-matching"));
    const struct kgc_api_httproute *only =
        kgc_api_as_httproute(fixture_set_find(t->env.set, KGC_API_HTTPROUTE, INFRA, "only-query"));

    /* traditional_compatible: query matches are dropped and said so */
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    json_object *doc = parse_config(&out);
    assert_null(find_route(doc, "httproute." INFRA ".query-param-matching.0.0"));
    assert_non_null(find_route(doc, "httproute." INFRA ".query-param-matching.7.0"));
    assert_non_null(find_problem(&out, "query-param-matching", 0, 0, KGC_TRANSLATE_DROPPED));
    struct kgc_status_route_verdict v;
    kgc_translate_route_verdict(&out, qpm, &v);
    assert_null(v.accepted_reason);
    assert_true(strncmp(v.partially_invalid, "Dropped Rule 0: ", 16) == 0);
    assert_non_null(strstr(v.partially_invalid, "expressions router"));
    kgc_translate_route_verdict(&out, only, &v);
    assert_string_equal(v.accepted_reason, KGC_STATUS_R_UNSUPPORTED_VALUE);
    assert_non_null(strstr(v.accepted_message, "query parameter matches need"));
    json_object_put(doc);
    kgc_translate_output_free(&out);

    /* expressions: translated */
    t->flavor = "expressions";
    translate(t, &out);
    assert_kong_accepts(&out, t->flavor);
    doc = parse_config(&out);
    assert_string_equal(
        jstr_at(must_route(doc, "httproute." INFRA ".query-param-matching.0.0.h0"), "expression"),
        "http.path ^= \"/\" && http.queries.animal == \"whale\" && "
        "(net.protocol == \"http\")");
    kgc_translate_route_verdict(&out, qpm, &v);
    assert_null(v.accepted_reason);
    assert_string_equal(v.partially_invalid, "");
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

/* KongPlugin/KongClusterPlugin references: which object a name resolves to, what a missing or
 * wrong-kind reference does to the rule and the route's status, and what the test Kong (Kong
 * 3.9.1's schema) says of an unknown plugin and of a bad config, with the tags leading back. */
static void test_kong_plugins(void **state)
{
    struct tenv *t = *state;
    add_yaml(&t->env,
             "apiVersion: configuration.konghq.com/v1\nkind: KongClusterPlugin\n"
             "metadata: {name: shared}\nplugin: request-termination\n"
             "config: {status_code: 403}\n"
             "---\napiVersion: configuration.konghq.com/v1\nkind: KongPlugin\n"
             "metadata: {name: shared, namespace: " INFRA "}\nplugin: request-termination\n"
             "config: {status_code: 401}\n"
             "---\napiVersion: configuration.konghq.com/v1\nkind: KongPlugin\n"
             "metadata: {name: from-secret, namespace: " INFRA "}\nplugin: key-auth\n"
             "configFrom: {secretKeyRef: {name: s, key: k}}\n"
             "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: kp, namespace: " INFRA "}\n"
             "spec:\n"
             "  parentRefs: [{name: same-namespace}]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: /ns}}]\n"
             "    filters: [{type: ExtensionRef, extensionRef: {group: configuration.konghq.com,"
             " kind: KongPlugin, name: shared}}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
             "  - matches: [{path: {type: PathPrefix, value: /cluster}}]\n"
             "    filters: [{type: ExtensionRef, extensionRef: {group: configuration.konghq.com,"
             " kind: KongClusterPlugin, name: shared}}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
             "  - matches: [{path: {type: PathPrefix, value: /kind}}]\n"
             "    filters: [{type: ExtensionRef, extensionRef: {group: configuration.konghq.com,"
             " kind: KongIngress, name: shared}}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
             "  - matches: [{path: {type: PathPrefix, value: /secret}}]\n"
             "    filters: [{type: ExtensionRef, extensionRef: {group: configuration.konghq.com,"
             " kind: KongPlugin, name: from-secret}}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n");
    add_endpoint_slices(&t->env);
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    json_object *doc = parse_config(&out);
    /* a name is the namespace's KongPlugin first; kind KongClusterPlugin asks for the other */
    json_object *p =
        find_plugin(must_route(doc, "httproute." INFRA ".kp.0.0"), "request-termination");
    assert_non_null(p);
    assert_int_equal(json_object_get_int(get(get(p, "config"), "status_code")), 401);
    p = find_plugin(must_route(doc, "httproute." INFRA ".kp.1.0"), "request-termination");
    assert_non_null(p);
    assert_int_equal(json_object_get_int(get(get(p, "config"), "status_code")), 403);
    /* a wrong kind and an unusable plugin: the rule answers 500, no plugin object on it */
    for (int r = 2; r <= 3; r++) {
        char name[128];
        snprintf(name, sizeof(name), "httproute." INFRA ".kp.%d", r);
        json_object *svc = find_service(doc, name);
        assert_non_null(svc);
        json_object *term = find_plugin(svc, "request-termination");
        assert_non_null(term);
        assert_int_equal(json_object_get_int(get(get(term, "config"), "status_code")), 500);
        snprintf(name, sizeof(name), "httproute." INFRA ".kp.%d.0", r);
        assert_null(get(must_route(doc, name), "plugins"));
    }
    const struct kgc_api_httproute *route =
        kgc_api_as_httproute(fixture_set_find(t->env.set, KGC_API_HTTPROUTE, INFRA, "kp"));
    struct kgc_status_route_verdict v;
    kgc_translate_route_verdict(&out, route, &v);
    assert_null(v.accepted_reason);
    assert_string_equal(v.partially_invalid, "");
    assert_string_equal(v.resolved_refs_reason, KGC_STATUS_R_INVALID_KIND);
    assert_non_null(strstr(v.resolved_refs_message, "rules[2]: filters[0] ExtensionRef: "
                                                    "configuration.konghq.com/KongIngress"));
    assert_non_null(strstr(v.resolved_refs_message, "rules[3]: filters[0] ExtensionRef: KongPlugin"
                                                    " " INFRA "/from-secret takes its"));
    struct kgc_status_options o = t->env.o;
    o.route_verdict = kgc_translate_route_verdict;
    o.route_verdict_ctx = &out;
    struct kgc_status_httproute st;
    assert_int_equal(kgc_status_httproute_compute(&o, &t->env.lk, route, &st, NULL), 0);
    const struct kgc_status_condition *rr = fixture_cond(
        st.parents[0].conditions, st.parents[0].n_conditions, KGC_STATUS_RESOLVED_REFS);
    assert_string_equal(rr->status, "False");
    assert_string_equal(rr->reason, KGC_STATUS_R_INVALID_KIND);
    kgc_status_httproute_release(&st);
    json_object_put(doc);
    kgc_translate_output_free(&out);

    /* what Kong 3.9.1 says: an unknown plugin (kong/db/schema/entities/plugins.lua:14
     * subschema_error) and a bad config (kong/plugins/request-termination/schema.lua:16-19,
     * status_code between 100 and 599; message kong/db/schema/init.lua:81); the error's tags
     * lead back to the KongPlugin */
    struct {
        const char *yaml, *want;
    } bad[] = {
        {"plugin: no-such-plugin\n",
         "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property"},
        {"plugin: request-termination\nconfig: {status_code: 42}\n",
         "value should be between 100 and 599"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char yaml[512];
        snprintf(yaml, sizeof(yaml),
                 "apiVersion: configuration.konghq.com/v1\nkind: KongPlugin\n"
                 "metadata: {name: shared, namespace: " INFRA "}\n%s",
                 bad[i].yaml);
        add_yaml(&t->env, yaml);
        translate(t, &out);
        char *why = kong_rejects(out.config, NULL);
        assert_non_null(why);
        if (!strstr(why, bad[i].want))
            fail_msg("want \"%s\" in %s", bad[i].want, why);
        json_object *body = json_tokener_parse(why);
        json_object *fe = get(body, "flattened_errors");
        assert_int_equal(json_object_array_length(fe), 1);
        json_object *e = json_object_array_get_idx(fe, 0);
        assert_string_equal(json_object_get_string(get(e, "entity_type")), "plugin");
        json_object *tags = get(e, "entity_tags");
        const char *tv[16];
        size_t nt = json_object_array_length(tags);
        for (size_t k = 0; k < nt && k < 16; k++)
            tv[k] = json_object_get_string(json_object_array_get_idx(tags, k));
        struct kgc_translate_owner owner;
        assert_int_equal(kgc_translate_entity_owner("plugin", NULL, tv, nt, &owner), 0);
        assert_int_equal(owner.kind, KGC_API_KONGPLUGIN);
        assert_string_equal(owner.namespace, INFRA);
        assert_string_equal(owner.name, "shared");
        json_object_put(body);
        free(why);
        kgc_translate_output_free(&out);
    }
}

/* A KongClusterPlugin labelled global=true is a Kong plugin with no route, service or consumer
 * (Kong's controller: kongstate.go:609-657 at v3.5.9), in the document's top-level "plugins"; two
 * of one plugin name are both left out and each says why; a KongPlugin so labelled, an unusable
 * one and an unlabelled one are not global. The test Kong (Kong 3.9.1's schema) accepts it. */
static void test_global_plugins(void **state)
{
    struct tenv *t = *state;
    add_yaml(&t->env,
             "apiVersion: configuration.konghq.com/v1\nkind: KongClusterPlugin\n"
             "metadata: {name: deny-all, labels: {global: \"true\"}}\n"
             "plugin: request-termination\ninstance_name: everywhere\n"
             "config: {status_code: 403}\n"
             "---\napiVersion: configuration.konghq.com/v1\nkind: KongClusterPlugin\n"
             "metadata: {name: not-global}\nplugin: correlation-id\n"
             "---\napiVersion: configuration.konghq.com/v1\nkind: KongClusterPlugin\n"
             "metadata: {name: unusable, labels: {global: \"true\"}}\nplugin: key-auth\n"
             "configFrom: {secretKeyRef: {name: s, key: k, namespace: " INFRA "}}\n"
             "---\napiVersion: configuration.konghq.com/v1\nkind: KongPlugin\n"
             "metadata: {name: ns-global, namespace: " INFRA ", labels: {global: \"true\"}}\n"
             "plugin: correlation-id\n");
    add_endpoint_slices(&t->env);
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    json_object *doc = parse_config(&out);
    json_object *plugins = get(doc, "plugins");
    assert_non_null(plugins);
    assert_int_equal(json_object_array_length(plugins), 1);
    json_object *p = json_object_array_get_idx(plugins, 0);
    assert_string_equal(json_object_get_string(get(p, "name")), "request-termination");
    assert_string_equal(json_object_get_string(get(p, "instance_name")), "everywhere");
    assert_int_equal(json_object_get_int(get(get(p, "config"), "status_code")), 403);
    assert_null(get(p, "route"));
    assert_null(get(p, "service"));
    struct kgc_translate_owner owner;
    json_object *tags = get(p, "tags");
    const char *tv[16];
    size_t nt = json_object_array_length(tags);
    for (size_t k = 0; k < nt && k < 16; k++)
        tv[k] = json_object_get_string(json_object_array_get_idx(tags, k));
    assert_int_equal(kgc_translate_entity_owner("plugin", NULL, tv, nt, &owner), 0);
    assert_int_equal(owner.kind, KGC_API_KONGCLUSTERPLUGIN);
    assert_string_equal(owner.name, "deny-all");
    char buf[KGC_TRANSLATE_PLUGIN_WHY_MAX];
    const struct kgc_api_kongplugin *kp = kgc_api_as_kongplugin(
        fixture_set_find(t->env.set, KGC_API_KONGCLUSTERPLUGIN, NULL, "deny-all"));
    assert_null(kgc_translate_global_plugin_problem(&t->env.lk, kp, buf, sizeof(buf)));
    kp = kgc_api_as_kongplugin(
        fixture_set_find(t->env.set, KGC_API_KONGCLUSTERPLUGIN, NULL, "unusable"));
    assert_non_null(kgc_translate_global_plugin_problem(&t->env.lk, kp, buf, sizeof(buf)));
    kp =
        kgc_api_as_kongplugin(fixture_set_find(t->env.set, KGC_API_KONGPLUGIN, INFRA, "ns-global"));
    assert_string_equal(kgc_translate_global_plugin_problem(&t->env.lk, kp, buf, sizeof(buf)),
                        "only a KongClusterPlugin is applied globally");
    json_object_put(doc);
    kgc_translate_output_free(&out);

    /* a second global one of the same plugin: neither */
    add_yaml(&t->env, "apiVersion: configuration.konghq.com/v1\nkind: KongClusterPlugin\n"
                      "metadata: {name: deny-too, labels: {global: \"true\"}}\n"
                      "plugin: request-termination\nconfig: {status_code: 404}\n");
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    doc = parse_config(&out);
    assert_null(get(doc, "plugins"));
    kp = kgc_api_as_kongplugin(
        fixture_set_find(t->env.set, KGC_API_KONGCLUSTERPLUGIN, NULL, "deny-all"));
    const char *why = kgc_translate_global_plugin_problem(&t->env.lk, kp, buf, sizeof(buf));
    assert_non_null(why);
    assert_non_null(strstr(why, "KongClusterPlugin deny-too is also global"));
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

/* configFrom's Secret values as a test hook gives them (ns "infra" Secret "s"). */
static const char *secret_values[2]; /* key "k", key "big" */
static int secret_calls;

static int test_secret_value(void *ctx, const char *ns, const char *name, const char *key,
                             char **out)
{
    (void)ctx;
    secret_calls++;
    *out = NULL;
    if (strcmp(ns, INFRA) != 0 || strcmp(name, "s") != 0 || !secret_values[0])
        return KGC_ENOENT;
    if (strcmp(key, "big") == 0)
        return KGC_ENOSPC;
    if (strcmp(key, "k") != 0)
        return KGC_ERANGE;
    *out = strdup(secret_values[0]);
    return *out ? 0 : KGC_ENOMEM;
}

/* The reason the translation gives for rule ri of HTTPRoute INFRA/kp (its ResolvedRefs text). */
static void expect_secret_problem(struct tenv *t, const char *want, const char *never)
{
    struct kgc_translate_output out;
    translate(t, &out);
    const struct kgc_api_httproute *route =
        kgc_api_as_httproute(fixture_set_find(t->env.set, KGC_API_HTTPROUTE, INFRA, "kp"));
    struct kgc_status_route_verdict v;
    kgc_translate_route_verdict(&out, route, &v);
    if (!strstr(v.resolved_refs_message, want))
        fail_msg("want \"%s\" in %s", want, v.resolved_refs_message);
    assert_null(strstr(v.resolved_refs_message, never));
    assert_null(strstr(out.config, never));
    for (size_t i = 0; i < out.n_problems; i++)
        assert_null(strstr(out.problems[i].message, never));
    json_object *doc = parse_config(&out);
    assert_null(get(must_route(doc, "httproute." INFRA ".kp.3.0"), "plugins"));
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

/* configFrom: the Secret's value (through the lookup's secret_value) is the plugin's config;
 * JSON or YAML; no Secret, no key, too big, not an object, or config beside configFrom: unusable,
 * with a message naming the Secret and key but never the value */
static void test_kong_plugin_config_from(void **state)
{
    struct tenv *t = *state;
    add_yaml(&t->env,
             "apiVersion: configuration.konghq.com/v1\nkind: KongPlugin\n"
             "metadata: {name: from-secret, namespace: " INFRA "}\nplugin: request-termination\n"
             "configFrom: {secretKeyRef: {name: s, key: k}}\n"
             "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: kp, namespace: " INFRA "}\n"
             "spec:\n"
             "  parentRefs: [{name: same-namespace}]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: /a}}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
             "  - matches: [{path: {type: PathPrefix, value: /b}}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
             "  - matches: [{path: {type: PathPrefix, value: /c}}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
             "  - matches: [{path: {type: PathPrefix, value: /secret}}]\n"
             "    filters: [{type: ExtensionRef, extensionRef: {group: configuration.konghq.com,"
             " kind: KongPlugin, name: from-secret}}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n");
    add_endpoint_slices(&t->env);
    /* no hook: this kgc reads no Secret values */
    expect_secret_problem(t, "Secret " INFRA "/s key k (configFrom), which this kgc does not read",
                          "s3cr3t");
    t->env.lk.secret_value = test_secret_value;
    secret_values[0] = NULL;
    expect_secret_problem(t, "Secret " INFRA "/s key k (configFrom): no such Secret", "s3cr3t");
    secret_values[0] = "{\"status_code\": 403, \"message\": \"s3cr3t-1\"} trailing";
    expect_secret_problem(t, "whose value is neither a JSON nor a YAML object", "s3cr3t");
    secret_values[0] = "[\"s3cr3t-2\"]";
    expect_secret_problem(t, "whose value is neither a JSON nor a YAML object", "s3cr3t");
    secret_values[0] = "- s3cr3t-4\n- x\n"; /* YAML, but a sequence */
    expect_secret_problem(t, "whose value is neither a JSON nor a YAML object", "s3cr3t");
    secret_values[0] = "a: *s3cr3t-5\n"; /* an alias: refused, never quoted */
    expect_secret_problem(t, "whose value is neither a JSON nor a YAML object", "s3cr3t");

    /* YAML, as Kong's controller also reads it (kongstate/plugin.go:301-308): go-yaml v2's
     * scalars: 0x1F7 is the integer 503, a quoted scalar a string */
    secret_values[0] = "status_code: 0x1F7\nmessage: 's3cr3t-y'\n";
    struct kgc_translate_output yout;
    translate(t, &yout);
    assert_kong_accepts(&yout, NULL);
    json_object *ydoc = parse_config(&yout);
    json_object *yp =
        find_plugin(must_route(ydoc, "httproute." INFRA ".kp.3.0"), "request-termination");
    assert_non_null(yp);
    assert_int_equal(json_object_get_int(get(get(yp, "config"), "status_code")), 503);
    assert_string_equal(json_object_get_string(get(get(yp, "config"), "message")), "s3cr3t-y");
    json_object_put(ydoc);
    kgc_translate_output_free(&yout);

    secret_values[0] = "{\"status_code\": 403, \"message\": \"s3cr3t-3\"}";
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    json_object *doc = parse_config(&out);
    json_object *p =
        find_plugin(must_route(doc, "httproute." INFRA ".kp.3.0"), "request-termination");
    assert_non_null(p);
    assert_int_equal(json_object_get_int(get(get(p, "config"), "status_code")), 403);
    assert_string_equal(json_object_get_string(get(get(p, "config"), "message")), "s3cr3t-3");
    json_object_put(doc);
    for (size_t i = 0; i < out.n_problems; i++)
        assert_null(strstr(out.problems[i].message, "s3cr3t"));
    kgc_translate_output_free(&out);
    /* the plugin's status text agrees */
    char buf[512];
    const struct kgc_api_kongplugin *kp = kgc_api_as_kongplugin(
        fixture_set_find(t->env.set, KGC_API_KONGPLUGIN, INFRA, "from-secret"));
    assert_null(kgc_translate_plugin_problem(&t->env.lk, kp, buf, sizeof(buf)));
    assert_non_null(strstr(kgc_translate_plugin_problem(NULL, kp, buf, sizeof(buf)), "configFrom"));

    /* a missing key, a value too big, config and configFrom together */
    add_yaml(&t->env, "apiVersion: configuration.konghq.com/v1\nkind: KongPlugin\n"
                      "metadata: {name: from-secret, namespace: " INFRA "}\n"
                      "plugin: request-termination\n"
                      "configFrom: {secretKeyRef: {name: s, key: other}}\n");
    expect_secret_problem(
        t, "Secret " INFRA "/s key other (configFrom): the Secret has no such key", "s3cr3t");
    add_yaml(&t->env, "apiVersion: configuration.konghq.com/v1\nkind: KongPlugin\n"
                      "metadata: {name: from-secret, namespace: " INFRA "}\n"
                      "plugin: request-termination\n"
                      "configFrom: {secretKeyRef: {name: s, key: big}}\n");
    expect_secret_problem(t, "the value is bigger than 64 KiB", "s3cr3t");
    add_yaml(&t->env, "apiVersion: configuration.konghq.com/v1\nkind: KongPlugin\n"
                      "metadata: {name: from-secret, namespace: " INFRA "}\n"
                      "plugin: request-termination\nconfig: {status_code: 401}\n"
                      "configFrom: {secretKeyRef: {name: s, key: k}}\n");
    expect_secret_problem(t, "sets both config and configFrom (Secret s key k)", "s3cr3t");
    assert_true(secret_calls > 0);
    secret_values[0] = NULL;
}

static void test_unsupported_filters_reported(void **state)
{
    struct tenv *t = *state;
    add_yaml(
        &t->env,
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
        "metadata: {name: filters, namespace: " INFRA "}\n"
        "spec:\n"
        "  parentRefs: [{name: same-namespace}]\n"
        "  rules:\n"
        "  - matches: [{path: {type: PathPrefix, value: /mirror}}]\n"
        "    filters:\n"
        "    - type: RequestMirror\n"
        "      requestMirror: {backendRef: {name: infra-backend-v2, port: 8080}}\n"
        "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
        "  - matches: [{path: {type: PathPrefix, value: /ext}}]\n"
        "    filters:\n"
        "    - type: ExtensionRef\n"
        "      extensionRef: {group: example.com, kind: Auth, name: strict}\n"
        "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
        "  - matches: [{path: {type: PathPrefix, value: /per-backend}}]\n"
        "    backendRefs:\n"
        "    - name: infra-backend-v1\n"
        "      port: 8080\n"
        "      filters: [{type: RequestHeaderModifier,\n"
        "                 requestHeaderModifier: {set: [{name: x, value: y}]}}]\n"
        "  - matches: [{path: {type: PathPrefix, value: /resp}}]\n"
        "    filters:\n"
        "    - type: ResponseHeaderModifier\n"
        "      responseHeaderModifier: {add: [{name: X-Resp, value: 'a:b'}], remove: [Server]}\n"
        "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n");
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    json_object *doc = parse_config(&out);
    assert_non_null(find_service(doc, "httproute." INFRA ".filters.0"));
    assert_null(find_service(doc, "httproute." INFRA ".filters.1"));
    assert_null(find_service(doc, "httproute." INFRA ".filters.2"));
    json_object *resp =
        find_plugin(must_route(doc, "httproute." INFRA ".filters.3.0"), "response-transformer");
    assert_non_null(resp);
    assert_string_equal(jstr_at(resp, "config.append.headers.0"), "X-Resp:a:b");
    assert_string_equal(jstr_at(resp, "config.remove.headers.0"), "Server");
    assert_non_null(find_problem(&out, "filters", 0, -1, KGC_TRANSLATE_DEGRADED));
    assert_non_null(find_problem(&out, "filters", 1, -1, KGC_TRANSLATE_DROPPED));
    assert_non_null(find_problem(&out, "filters", 2, -1, KGC_TRANSLATE_DROPPED));

    const struct kgc_api_httproute *r =
        kgc_api_as_httproute(fixture_set_find(t->env.set, KGC_API_HTTPROUTE, INFRA, "filters"));
    struct kgc_status_route_verdict v;
    kgc_translate_route_verdict(&out, r, &v);
    assert_null(v.accepted_reason);
    assert_true(strncmp(v.partially_invalid, "Dropped Rule 1: filters[0] ExtensionRef", 39) == 0);
    assert_non_null(strstr(v.partially_invalid, "Dropped Rule 2: backendRefs[0] has filters"));
    assert_non_null(
        strstr(v.partially_invalid, "Rule 0: filters[0] RequestMirror is not supported"));

    /* the hook as the status module calls it */
    struct kgc_status_options o = t->env.o;
    o.route_verdict = kgc_translate_route_verdict;
    o.route_verdict_ctx = &out;
    struct kgc_status_httproute st;
    assert_int_equal(kgc_status_httproute_compute(&o, &t->env.lk, r, &st, NULL), 0);
    assert_int_equal(st.n_parents, 1);
    const struct kgc_status_condition *acc =
        fixture_cond(st.parents[0].conditions, st.parents[0].n_conditions, KGC_STATUS_ACCEPTED);
    const struct kgc_status_condition *pi = fixture_cond(
        st.parents[0].conditions, st.parents[0].n_conditions, KGC_STATUS_PARTIALLY_INVALID);
    assert_non_null(acc);
    assert_string_equal(acc->status, "True");
    assert_non_null(pi);
    assert_string_equal(pi->reason, KGC_STATUS_R_UNSUPPORTED_VALUE);
    assert_true(strncmp(pi->message, "Dropped Rule 1", 14) == 0);
    kgc_status_httproute_release(&st);
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

static void test_redirects_per_kong_version(void **state)
{
    struct tenv *t = *state;
    load(&t->env, "httproute-redirect-host-and-status.yaml");
    add_yaml(&t->env, "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                      "metadata: {name: to-https, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  parentRefs: [{name: same-namespace}]\n"
                      "  rules:\n"
                      "  - matches: [{path: {type: PathPrefix, value: /secure}}]\n"
                      "    filters: [{type: RequestRedirect,\n"
                      "               requestRedirect: {scheme: https, statusCode: 301}}]\n"
                      "  - matches: [{path: {type: PathPrefix, value: /port}}]\n"
                      "    filters: [{type: RequestRedirect,\n"
                      "               requestRedirect: {scheme: https, port: 8443}}]\n");
    const char *name = "httproute." INFRA ".redirect-host-and-status.1.0";

    /* 3.9: the redirect plugin keeps the incoming path */
    t->version = "3.9.0";
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    json_object *doc = parse_config(&out);
    json_object *rd = find_plugin(must_route(doc, name), "redirect");
    assert_non_null(rd);
    assert_string_equal(jstr_at(rd, "config.location"), "http://example.org");
    assert_string_equal(jstr_at(rd, "config.status_code"), "301");
    assert_string_equal(jstr_at(rd, "config.keep_incoming_path"), "true");
    assert_null(find_plugin(must_route(doc, name), "request-termination"));
    /* scheme-only redirect: Kong's own http → https redirect */
    json_object *sec = must_route(doc, "httproute." INFRA ".to-https.0.0");
    assert_string_equal(jstr_at(sec, "protocols.0"), "https");
    assert_null(get(get(sec, "protocols"), "1"));
    assert_string_equal(jstr_at(sec, "https_redirect_status_code"), "301");
    /* a port without a host cannot be expressed */
    assert_null(find_service(doc, "httproute." INFRA ".to-https.1"));
    assert_non_null(find_problem(&out, "to-https", 1, 0, KGC_TRANSLATE_DROPPED));
    json_object_put(doc);
    kgc_translate_output_free(&out);

    /* 3.8: request-termination + a Location header; the prefix narrowed to its own path */
    t->version = "3.8.1";
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    doc = parse_config(&out);
    json_object *route = must_route(doc, name);
    assert_null(find_plugin(route, "redirect"));
    assert_string_equal(jstr_at(find_plugin(route, "request-termination"), "config.status_code"),
                        "301");
    assert_string_equal(jstr_at(find_plugin(route, "response-transformer"), "config.add.headers.0"),
                        "Location:http://example.org/host-and-status");
    assert_string_equal(jstr_at(route, "paths.0"), "~/host-and-status$");
    assert_null(jstr_at(route, "paths.1"));
    const struct kgc_translate_problem *p =
        find_problem(&out, "redirect-host-and-status", 1, -1, KGC_TRANSLATE_DEGRADED);
    assert_non_null(p);
    assert_non_null(strstr(p->message, "only /host-and-status itself is redirected"));
    assert_null(strstr(out.config, "\"redirect\""));
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

/* ---- redirects through the test Kong's proxy ----------------------------------------------------
 */

/* httproute-redirect-port (conformance v1.6.1 conformance/tests/httproute-redirect-port.yaml),
 * and the same port-only redirect on a route with one hostname. */
static const char REDIRECT_PORT_YAML[] =
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
    "metadata: {name: redirect-port, namespace: " INFRA "}\n"
    "spec:\n"
    "  parentRefs: [{name: same-namespace}]\n"
    "  rules:\n"
    "  - matches: [{path: {type: PathPrefix, value: /port}}]\n"
    "    filters: [{type: RequestRedirect, requestRedirect: {port: 8083}}]\n"
    "  - matches: [{path: {type: PathPrefix, value: /port-and-host}}]\n"
    "    filters: [{type: RequestRedirect,\n"
    "               requestRedirect: {hostname: example.org, port: 8083}}]\n"
    "  - matches: [{path: {type: PathPrefix, value: /port-and-status}}]\n"
    "    filters: [{type: RequestRedirect, requestRedirect: {port: 8083, statusCode: 301}}]\n"
    "  - matches: [{path: {type: PathPrefix, value: /port-and-host-and-status}}]\n"
    "    filters: [{type: RequestRedirect,\n"
    "               requestRedirect: {port: 8083, hostname: example.org, statusCode: 302}}]\n"
    "---\n"
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
    "metadata: {name: redirect-port-host, namespace: " INFRA "}\n"
    "spec:\n"
    "  parentRefs: [{name: same-namespace}]\n"
    "  hostnames: [port.example.com]\n"
    "  rules:\n"
    "  - matches: [{path: {type: PathPrefix, value: /port}}]\n"
    "    filters: [{type: RequestRedirect, requestRedirect: {port: 8083}}]\n"
    "  - matches: [{path: {type: PathPrefix, value: /port-80}}]\n"
    "    filters: [{type: RequestRedirect, requestRedirect: {port: 80}}]\n"
    "---\n"
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
    "metadata: {name: prefix-edges, namespace: " INFRA "}\n"
    "spec:\n"
    "  parentRefs: [{name: same-namespace}]\n"
    "  rules:\n"
    "  - matches: [{path: {type: PathPrefix, value: /empty}}]\n"
    "    filters: [{type: RequestRedirect,\n"
    "               requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: ''}}}]\n"
    "  - matches: [{path: {type: PathPrefix, value: /slash/}}]\n"
    "    filters: [{type: RequestRedirect,\n"
    "               requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: "
    "/xyz/}}}]\n"
    "  - matches: [{path: {type: PathPrefix, value: /rw-empty}}]\n"
    "    filters: [{type: URLRewrite,\n"
    "               urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: ''}}}]\n"
    "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n";

static size_t redirect_header(char *data, size_t size, size_t nmemb, void *arg)
{
    size_t n = size * nmemb;
    if (n > 9 && strncasecmp(data, "Location:", 9) == 0) {
        const char *v = data + 9;
        while (*v == ' ')
            v++;
        snprintf(arg, 512, "%.*s", (int)strcspn(v, "\r\n"), v);
    }
    return n;
}

static size_t redirect_body(char *data, size_t size, size_t nmemb, void *arg)
{
    char *body = arg; /* 4096 bytes, the start of the body */
    size_t n = size * nmemb, have = strlen(body);
    if (have + 1 < 4096)
        snprintf(body + have, 4096 - have, "%.*s", (int)n, data);
    return n;
}

/* GET http://host:port/path through the proxy (redirects not followed): the status and, in
 * location (512 bytes), the Location header ("" when none). */
static long proxy_get_body(unsigned port, const char *host, const char *path, char *location,
                           char *body /* 4096 bytes */)
{
    char url[512], resolve[300];
    body[0] = '\0';
    snprintf(url, sizeof(url), "http://%s:%u%s", host, port, path);
    snprintf(resolve, sizeof(resolve), "%s:%u:127.0.0.1", host, port);
    location[0] = '\0';
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *res = curl_slist_append(NULL, resolve);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_RESOLVE, res);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, redirect_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, location);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, redirect_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(res);
    curl_easy_cleanup(c);
    return status;
}

/* proxy_get_body() without the body. */
static long proxy_get(unsigned port, const char *host, const char *path, char *location)
{
    char body[4096];
    return proxy_get_body(port, host, path, location, body);
}

/* One request and what the conformance test (or, where Kong cannot, kgc's status) expects. */
struct redirect_case {
    const char *host, *path;
    long status;          /* 404: not routed (the rule or match is dropped or narrowed) */
    const char *location; /* the exact Location header; NULL: none */
    const char *echoed;   /* 200: the path the echo server got; NULL: not checked */
};

static void check_redirects(unsigned port, const struct redirect_case *cases, size_t n,
                            const char *version)
{
    for (size_t i = 0; i < n; i++) {
        char location[512], body[4096];
        long st = proxy_get_body(port, cases[i].host, cases[i].path, location, body);
        if (st != cases[i].status || strcmp(location, cases[i].location ? cases[i].location : ""))
            fail_msg("Kong %s, GET %s%s: %ld Location \"%s\", want %ld \"%s\"", version,
                     cases[i].host, cases[i].path, st, location, cases[i].status,
                     cases[i].location ? cases[i].location : "");
        if (cases[i].echoed) {
            json_object *echo = json_tokener_parse(body), *path = NULL;
            if (!json_object_object_get_ex(echo, "path", &path) ||
                strcmp(json_object_get_string(path), cases[i].echoed) != 0)
                fail_msg("Kong %s, GET %s%s: echoed %s, want path %s", version, cases[i].host,
                         cases[i].path, body, cases[i].echoed);
            json_object_put(echo);
        }
    }
}

static const char *route_message(struct tenv *t, const struct kgc_translate_output *out,
                                 const char *name, struct kgc_status_route_verdict *v)
{
    const struct kgc_api_httproute *r =
        kgc_api_as_httproute(fixture_set_find(t->env.set, KGC_API_HTTPROUTE, INFRA, name));
    assert_non_null(r);
    kgc_translate_route_verdict((void *)out, r, v);
    return v->partially_invalid;
}

/* The conformance redirect manifests translated, pushed into the test Kong's proxy (Kong 3.9.1's
 * runloop and redirect / request-termination / response-transformer plugins) and requested as
 * httproute-redirect-path.go and httproute-redirect-port.go do: every Location kgc serves is
 * exactly what the conformance test expects; what Kong cannot express is not served and the
 * route's status says so. */
static void test_redirects_through_proxy(void **state)
{
    struct tenv *t = *state;
    load(&t->env, "httproute-redirect-path.yaml");
    add_yaml(&t->env, REDIRECT_PORT_YAML);
    static const char *const versions[] = {"3.9.1", "3.8.1"};
    for (size_t vi = 0; vi < 2; vi++) {
        bool plugin = vi == 0;
        t->version = versions[vi];
        struct kgc_translate_output out;
        translate(t, &out);
        json_object *doc = parse_config(&out), *ents = NULL, *err = NULL;
        struct kf_validate_opts vo = {.router_flavor = NULL};
        assert_int_equal(kf_validate(doc, &vo, &ents, &err), 0);
        struct kf_proxy_options po = {.proxy_listen = "127.0.0.1:0",
                                      .flavor = KF_FLAVOR_TRADITIONAL_COMPATIBLE};
        struct kf_proxy *px = NULL;
        char perr[256];
        assert_int_equal(kf_proxy_start(&po, &px, perr, sizeof(perr)), 0);
        assert_int_equal(kf_proxy_set_config(px, ents), 0);
        unsigned port = kf_proxy_port(px, 0);

        const char *gw = "gateway.test";
        const struct redirect_case cases[] = {
            /* httproute-redirect-path.go */
            {gw, "/original-prefix", 302, "/replacement-prefix"},
            /* ReplacePrefixMatch of a sub-path: Kong's Location is static (README), so the
             * rule is narrowed to the prefix itself and the status says so (below) */
            {gw, "/original-prefix/lemon", 404, NULL},
            {gw, "/full/path/original", 302, "/full-path-replacement"},
            {gw, "/path-and-host", 302, "http://example.org/replacement-prefix"},
            {gw, "/path-and-status", 301, "/replacement-prefix"},
            {gw, "/full-path-and-host", 302, "http://example.org/replacement-full"},
            {gw, "/full-path-and-status", 301, "/replacement-full"},
            /* httproute-redirect-port.go: a port-only redirect needs the request's host */
            {gw, "/port", 404, NULL},
            {gw, "/port-and-status", 404, NULL},
            {gw, "/port-and-host", 302, "http://example.org:8083/port-and-host"},
            {gw, "/port-and-host-and-status", 302,
             "http://example.org:8083/port-and-host-and-status"},
            /* keeping a sub-path needs the redirect plugin (Kong >= 3.9) */
            {gw, "/port-and-host/x?q=1", plugin ? 302 : 404,
             plugin ? "http://example.org:8083/port-and-host/x?q=1" : NULL},
            /* port-only with the route's one hostname: scheme, host and path kept */
            {"port.example.com", "/port", 302, "http://port.example.com:8083/port"},
            {"port.example.com", "/port/a/b", plugin ? 302 : 404,
             plugin ? "http://port.example.com:8083/port/a/b" : NULL},
            /* http on port 80: no port in the Location */
            {"port.example.com", "/port-80", 302, "http://port.example.com/port-80"},
            /* the spec's table: "/foo" with "" (or "/") gives "/", "/xyz/" joins as "/xyz" */
            {gw, "/empty", 302, "/"},
            {gw, "/slash", 302, "/xyz"},
            {gw, "/rw-empty", 200, NULL, "/"},
            {gw, "/rw-empty/", 200, NULL, "/"},
            {gw, "/rw-empty/bar", 200, NULL, "/bar"},
        };
        check_redirects(port, cases, sizeof(cases) / sizeof(cases[0]), versions[vi]);
        kf_proxy_stop(px);
        json_object_put(ents);
        json_object_put(err);
        json_object_put(doc);

        /* what is not served is in the status: PartiallyInvalid/UnsupportedValue */
        struct kgc_status_route_verdict v;
        const char *m = route_message(t, &out, "redirect-path", &v);
        assert_null(v.accepted_reason);
        assert_non_null(strstr(m, "only /original-prefix itself is redirected"));
        m = route_message(t, &out, "redirect-port", &v);
        assert_null(v.accepted_reason);
        assert_true(strncmp(m, "Dropped Rule 0: ", 16) == 0);
        assert_non_null(strstr(m, "Dropped Rule 2: "));
        assert_non_null(strstr(m, "request's host"));
        m = route_message(t, &out, "redirect-port-host", &v);
        if (plugin)
            assert_string_equal(m, "");
        else
            assert_non_null(strstr(m, "only /port itself is redirected"));
        kgc_translate_output_free(&out);
    }

    /* no scheme or port: the Gateway listener's port, when the route's listeners share one */
    add_yaml(&t->env,
             "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
             "metadata: {name: ports, namespace: " INFRA "}\n"
             "spec:\n"
             "  gatewayClassName: " FIXTURE_CLASS_NAME "\n"
             "  listeners:\n"
             "  - {name: a, port: 8080, protocol: HTTP}\n"
             "  - {name: b, port: 8081, protocol: HTTP}\n"
             "---\n"
             "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: on-8080, namespace: " INFRA "}\n"
             "spec:\n"
             "  parentRefs: [{name: ports, sectionName: a}]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: /h8080}}]\n"
             "    filters: [{type: RequestRedirect, requestRedirect: {hostname: a.example}}]\n"
             "---\n"
             "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: on-both, namespace: " INFRA "}\n"
             "spec:\n"
             "  parentRefs: [{name: ports}]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: /hboth}}]\n"
             "    filters: [{type: RequestRedirect, requestRedirect: {hostname: b.example}}]\n");
    t->version = "3.9.1";
    struct kgc_translate_output out;
    translate(t, &out);
    json_object *doc = parse_config(&out);
    json_object *rd = find_plugin(must_route(doc, "httproute." INFRA ".on-8080.0.0"), "redirect");
    assert_string_equal(jstr_at(rd, "config.location"), "http://a.example:8080");
    assert_null(find_problem(&out, "on-8080", 0, -1, KGC_TRANSLATE_DEGRADED));
    rd = find_plugin(must_route(doc, "httproute." INFRA ".on-both.0.0"), "redirect");
    assert_string_equal(jstr_at(rd, "config.location"), "http://b.example");
    const struct kgc_translate_problem *p =
        find_problem(&out, "on-both", 0, -1, KGC_TRANSLATE_DEGRADED);
    assert_non_null(p);
    assert_non_null(strstr(p->message, "listeners have different ports"));
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

static void test_rewrites(void **state)
{
    struct tenv *t = *state;
    add_yaml(&t->env,
             "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: rw, namespace: " INFRA "}\n"
             "spec:\n"
             "  parentRefs: [{name: same-namespace}]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: /}}]\n"
             "    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch,\n"
             "               replacePrefixMatch: /api/}}}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
             "  - matches: [{path: {type: RegularExpression, value: '/v[0-9]+'}}]\n"
             "    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch,\n"
             "               replacePrefixMatch: /x}}}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n");
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    json_object *doc = parse_config(&out);
    json_object *r = must_route(doc, "httproute." INFRA ".rw.0.0");
    assert_string_equal(jstr_at(r, "paths.0"), "~/(.*)");
    assert_string_equal(
        jstr_at(find_plugin(r, "request-transformer"), "config.replace.uri"),
        "/api$((uri_captures[1] or \"\") == \"\" and \"\" or \"/\" .. uri_captures[1])");
    assert_null(find_service(doc, "httproute." INFRA ".rw.1"));
    assert_non_null(find_problem(&out, "rw", 1, 0, KGC_TRANSLATE_DROPPED));
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

static void test_certificates(void **state)
{
    struct tenv *t = *state;
    add_yaml(&t->env, "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
                      "metadata: {name: tls, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  gatewayClassName: " FIXTURE_CLASS_NAME "\n"
                      "  listeners:\n"
                      "  - name: granted\n"
                      "    port: 443\n"
                      "    protocol: HTTPS\n"
                      "    hostname: granted.example.net\n"
                      "    tls: {certificateRefs: [{name: certificate,\n"
                      "                             namespace: gateway-conformance-web-backend}]}\n"
                      "  - name: same-sni\n"
                      "    port: 443\n"
                      "    protocol: HTTPS\n"
                      "    hostname: second-example.org\n"
                      "    tls: {certificateRefs: [{name: tls-validity-checks-certificate}]}\n"
                      "  - name: missing\n"
                      "    port: 443\n"
                      "    protocol: HTTPS\n"
                      "    hostname: missing.example.net\n"
                      "    tls: {certificateRefs: [{name: nope}]}\n");
    /* no grant yet: the cross-namespace Secret is not used */
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    assert_null(strstr(out.config, "granted.example.net"));
    assert_null(strstr(out.config, "missing.example.net"));
    size_t n = 0;
    const struct kgc_translate_problem *p =
        kgc_translate_problems_of(&out, KGC_API_GATEWAY, INFRA, "tls", &n);
    assert_int_equal(n, 2);
    assert_non_null(strstr(p[0].message, "missing") ? p[0].message : p[1].message);
    assert_int_equal(out.counts.certificates, 1);
    /* second-example.org once, from the first Gateway; "*" for the base manifests' HTTPS listener
     * without hostname */
    assert_int_equal(out.counts.snis, 4);
    kgc_translate_output_free(&out);

    add_yaml(&t->env, "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
                      "metadata: {name: g, namespace: gateway-conformance-web-backend}\n"
                      "spec:\n"
                      "  from: [{group: gateway.networking.k8s.io, kind: Gateway,\n"
                      "          namespace: " INFRA "}]\n"
                      "  to: [{group: '', kind: Secret}]\n");
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    assert_int_equal(out.counts.certificates, 2);
    json_object *doc = parse_config(&out);
    json_object *certs = get(doc, "certificates");
    /* sorted by Secret namespace/name */
    assert_string_equal(jstr_at(certs, "0.tags.0"), "k8s-name:tls-validity-checks-certificate");
    assert_string_equal(jstr_at(certs, "1.tags.0"), "k8s-name:certificate");
    assert_string_equal(jstr_at(certs, "1.snis.0.name"), "granted.example.net");
    assert_string_equal(jstr_at(certs, "1.snis.0.tags.0"), "k8s-name:tls");
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

/* An object whose name Kong refuses as a tag (no Kubernetes name has a ',' or a control
 * character, but the cache takes what the API gives it): its k8s-name tag is left out and Kong
 * still takes the configuration (kong/db/schema/typedefs.lua:118-134, 3.9.1). */
static void test_tag_kong_refuses_left_out(void **state)
{
    struct tenv *t = *state;
    add_yaml(&t->env, "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
                      "metadata: {name: 'odd,gw', namespace: " INFRA "}\n"
                      "spec:\n"
                      "  gatewayClassName: " FIXTURE_CLASS_NAME "\n"
                      "  listeners:\n"
                      "  - name: odd\n"
                      "    port: 443\n"
                      "    protocol: HTTPS\n"
                      "    hostname: odd.example.net\n"
                      "    tls: {certificateRefs: [{name: tls-validity-checks-certificate}]}\n");
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    json_object *doc = parse_config(&out);
    json_object *certs = get(doc, "certificates");
    bool seen = false;
    for (size_t i = 0; i < json_object_array_length(certs); i++) {
        json_object *snis = get(json_object_array_get_idx(certs, i), "snis");
        for (size_t j = 0; snis && j < json_object_array_length(snis); j++) {
            json_object *sni = json_object_array_get_idx(snis, j);
            if (strcmp(jstr_at(sni, "name"), "odd.example.net") != 0)
                continue;
            seen = true;
            assert_string_equal(jstr_at(sni, "tags.0"), "k8s-namespace:" INFRA);
            assert_null(strstr(json_object_to_json_string(get(sni, "tags")), "odd,gw"));
        }
    }
    assert_true(seen);
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

static size_t discard_body(char *data, size_t size, size_t nmemb, void *arg)
{
    (void)data;
    (void)arg;
    return size * nmemb;
}

/* GET https://host:port/ through the proxy with SNI host (none for an IP): the status, and the
 * subject of the certificate the proxy presented in subject. */
static long proxy_tls_get(unsigned port, const char *host, char *subject, size_t size)
{
    char url[512], resolve[300];
    snprintf(url, sizeof(url), "https://%s:%u/", host, port);
    snprintf(resolve, sizeof(resolve), "%s:%u:127.0.0.1", host, port);
    subject[0] = '\0';
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *res = curl_slist_append(NULL, resolve);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_RESOLVE, res);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    struct curl_certinfo *ci = NULL;
    if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) == CURLE_OK && ci && ci->num_of_certs > 0) {
        for (struct curl_slist *l = ci->certinfo[0]; l; l = l->next) {
            if (strncmp(l->data, "Subject:", 8) == 0)
                snprintf(subject, size, "%s", l->data + 8);
        }
    }
    curl_slist_free_all(res);
    curl_easy_cleanup(c);
    return status;
}

/* An HTTPS listener without hostname gets its certificate under Kong's SNI "*": the proxy presents
 * it for any SNI no other certificate names (before: Kong's generated default certificate). */
static void test_hostless_https_listener_certificate(void **state)
{
    struct tenv *t = *state;
    add_yaml(&t->env, "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
                      "metadata: {name: star, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  gatewayClassName: " FIXTURE_CLASS_NAME "\n"
                      "  listeners:\n"
                      "  - name: https\n"
                      "    port: 443\n"
                      "    protocol: HTTPS\n"
                      "    tls: {certificateRefs: [{name: tls-validity-checks-certificate}]}\n"
                      "---\n"
                      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                      "metadata: {name: on-star, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  parentRefs: [{name: star}]\n"
                      "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n");
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    json_object *doc = parse_config(&out);
    json_object *certs = get(doc, "certificates");
    bool star = false;
    for (size_t i = 0; i < json_object_array_length(certs); i++) {
        json_object *snis = get(json_object_array_get_idx(certs, i), "snis");
        for (size_t k = 0; k < json_object_array_length(snis); k++) {
            const char *n = jstr_at(json_object_array_get_idx(snis, k), "name");
            if (strcmp(n, "*") == 0) { /* the base manifests' hostname-less listener has it
                                          first (Gateways in key order), with the same Secret */
                star = true;
                assert_string_equal(jstr_at(json_object_array_get_idx(certs, i), "tags.0"),
                                    "k8s-name:tls-validity-checks-certificate");
            }
        }
    }
    assert_true(star);
    size_t n = 0;
    const struct kgc_translate_problem *p =
        kgc_translate_problems_of(&out, KGC_API_GATEWAY, INFRA, "star", &n);
    for (size_t i = 0; i < n; i++)
        assert_null(strstr(p[i].message, "default certificate"));

    json_object *ents = NULL, *verr = NULL;
    struct kf_validate_opts vo = {.router_flavor = NULL};
    assert_int_equal(kf_validate(doc, &vo, &ents, &verr), 0);
    struct kf_proxy_options po = {.proxy_listen = "127.0.0.1:0 ssl",
                                  .flavor = KF_FLAVOR_TRADITIONAL_COMPATIBLE};
    struct kf_proxy *px = NULL;
    char perr[256], subject[512];
    assert_int_equal(kf_proxy_start(&po, &px, perr, sizeof(perr)), 0);
    assert_int_equal(kf_proxy_set_config(px, ents), 0);
    unsigned port = kf_proxy_port(px, 0);
    long st = proxy_tls_get(port, "anything.example.net", subject, sizeof(subject));
    print_message("SNI anything.example.net: %ld, certificate %s\n", st, subject);
    assert_int_not_equal(st, 404);
    assert_non_null(strstr(subject, "kgc-golden-test"));
    /* no SNI at all: Kong serves its default certificate (certificate.lua find_certificate) */
    st = proxy_tls_get(port, "127.0.0.1", subject, sizeof(subject));
    print_message("no SNI: %ld, certificate %s\n", st, subject);
    assert_null(strstr(subject, "kgc-golden-test"));
    kf_proxy_stop(px);
    json_object_put(ents);
    json_object_put(verr);
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

struct body_buf {
    char s[8192];
    size_t n;
};

static size_t keep_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct body_buf *b = arg;
    size_t n = size * nmemb;
    size_t room = sizeof(b->s) - 1 - b->n;
    size_t k = n < room ? n : room;
    memcpy(b->s + b->n, data, k);
    b->n += k;
    b->s[b->n] = '\0';
    return n;
}

/* GET scheme://host:port/ through the proxy: the status, and the body in *b. */
/* GET scheme://host:port<path> from the test proxy on 127.0.0.1; host_port: a port the Host
 * header carries instead of the proxy's (NULL: curl's). The body in b; the status. */
static long proxy_fetch_path(const char *scheme, const char *host, unsigned port, const char *path,
                             const char *host_port, struct body_buf *b)
{
    char url[512], resolve[300];
    snprintf(url, sizeof(url), "%s://%s:%u%s", scheme, host, port, path);
    snprintf(resolve, sizeof(resolve), "%s:%u:127.0.0.1", host, port);
    b->n = 0;
    b->s[0] = '\0';
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *res = curl_slist_append(NULL, resolve), *hdr = NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_RESOLVE, res);
    if (host_port) {
        char hh[300];
        snprintf(hh, sizeof(hh), "Host: %s:%s", host, host_port);
        hdr = curl_slist_append(NULL, hh);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_slist_free_all(res);
    curl_easy_cleanup(c);
    return status;
}

static long proxy_fetch(const char *scheme, const char *host, unsigned port, struct body_buf *b)
{
    return proxy_fetch_path(scheme, host, port, "/", NULL, b);
}

/* listener port → the test proxy's bound port: 80 → http_port, 443 → https_port */
static unsigned scope_ports[2];

static uint16_t kong_port_of(void *ctx, const struct kgc_api_gateway *gw, uint32_t li)
{
    (void)ctx;
    int32_t p = gw->listeners[li].port;
    return (uint16_t)(p == 443 ? scope_ports[1] : p == 80 ? scope_ports[0] : 0);
}

/* kgc's configuration for the environment's snapshot, applied to a started test Kong proxy of
 * that router flavour with three listens (http, https, http); scope_ports are its first two. */
struct scoped_proxy {
    struct kf_proxy *px;
    struct kgc_translate_output out;
    json_object *doc, *ents, *verr;
};

static void scoped_proxy_start(struct tenv *t, const char *flavor, struct scoped_proxy *sp)
{
    struct kf_proxy_options po = {.proxy_listen = "127.0.0.1:0, 127.0.0.1:0 ssl, 127.0.0.1:0",
                                  .flavor = (enum kf_flavor)kf_flavor_parse(flavor)};
    char perr[256];
    sp->px = NULL;
    assert_int_equal(kf_proxy_start(&po, &sp->px, perr, sizeof(perr)), 0);
    scope_ports[0] = kf_proxy_port(sp->px, 0);
    scope_ports[1] = kf_proxy_port(sp->px, 1);
    struct kgc_translate_input in = {
        .lookup = &t->env.lk, .router_flavor = flavor, .listener_kong_port = kong_port_of};
    struct kgc_err err = {0};
    assert_int_equal(kgc_translate(&in, &sp->out, &err), 0);
    assert_kong_accepts(&sp->out, flavor);
    sp->doc = parse_config(&sp->out);
    sp->ents = sp->verr = NULL;
    struct kf_validate_opts vo = {.router_flavor = flavor};
    assert_int_equal(kf_validate(sp->doc, &vo, &sp->ents, &sp->verr), 0);
    assert_int_equal(kf_proxy_set_config(sp->px, sp->ents), 0);
}

static void scoped_proxy_stop(struct scoped_proxy *sp)
{
    kf_proxy_stop(sp->px);
    json_object_put(sp->ents);
    json_object_put(sp->verr);
    json_object_put(sp->doc);
    kgc_translate_output_free(&sp->out);
}

/* Expressions and traditional_compatible: every Kong route answers only on its listeners' Kong
 * port (and protocol).
 * An HTTPS-only route does not capture plain-HTTP requests (no 426), and a third Kong listen no
 * listener reaches serves nothing. */
static void test_listener_scope(void **state)
{
    struct tenv *t = *state;
    add_yaml(&t->env, "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
                      "metadata: {name: scoped, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  gatewayClassName: " FIXTURE_CLASS_NAME "\n"
                      "  listeners:\n"
                      "  - {name: http, port: 80, protocol: HTTP, hostname: scope.example.com}\n"
                      "  - name: https\n"
                      "    port: 443\n"
                      "    protocol: HTTPS\n"
                      "    hostname: scope.example.com\n"
                      "    tls: {certificateRefs: [{name: tls-validity-checks-certificate}]}\n"
                      "---\n"
                      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                      "metadata: {name: plain, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  parentRefs: [{name: scoped, sectionName: http}]\n"
                      "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n"
                      "---\n"
                      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                      "metadata: {name: secure, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  parentRefs: [{name: scoped, sectionName: https}]\n"
                      "  rules:\n"
                      "  - matches: [{path: {type: PathPrefix, value: /}}]\n"
                      "    backendRefs: [{name: infra-backend-v2, port: 8080}]\n");
    static const char *const flavors[] = {"expressions", "traditional_compatible"};
    for (size_t fi = 0; fi < 2; fi++) {
        const char *flavor = flavors[fi];
        struct scoped_proxy sp;
        scoped_proxy_start(t, flavor, &sp);
        unsigned other = kf_proxy_port(sp.px, 2);

        struct body_buf b;
        long st = proxy_fetch("http", "scope.example.com", scope_ports[0], &b);
        print_message("%s: http on the port-80 listen: %ld %s\n", flavor, st,
                      strstr(b.s, ".plain.")    ? "plain"
                      : strstr(b.s, ".secure.") ? "secure"
                                                : "-");
        assert_int_equal(st, 200);
        assert_non_null(strstr(b.s, "httproute." INFRA ".plain.0.0"));
        st = proxy_fetch("https", "scope.example.com", scope_ports[1], &b);
        print_message("%s: https on the port-443 listen: %ld %s\n", flavor, st,
                      strstr(b.s, ".plain.")    ? "plain"
                      : strstr(b.s, ".secure.") ? "secure"
                                                : "-");
        assert_int_equal(st, 200);
        assert_non_null(strstr(b.s, "httproute." INFRA ".secure.0.0"));
        st = proxy_fetch("http", "scope.example.com", other, &b);
        print_message("%s: http on a listen no listener reaches: %ld\n", flavor, st);
        assert_int_equal(st, 404);
        scoped_proxy_stop(&sp);
    }
}

static void test_https_listener_hosts(void **state)
{
    struct tenv *t = *state;
    add_yaml(&t->env, "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                      "metadata: {name: wild, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  parentRefs: [{name: same-namespace-with-https-listener,\n"
                      "                sectionName: https-with-wildcard-hostname},\n"
                      "               {name: same-namespace}]\n"
                      "  hostnames: ['*.org', 'a.wildcard.org', 'other.net']\n"
                      "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n");
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    json_object *doc = parse_config(&out);
    json_object *r = must_route(doc, "httproute." INFRA ".wild.0.0");
    /* on *.wildcard.org: *.org narrows to *.wildcard.org, a.wildcard.org stays, other.net goes;
     * on the hostname-less HTTP listener every route hostname applies */
    assert_string_equal(jstr_at(r, "hosts.0"), "*.org");
    assert_string_equal(jstr_at(r, "hosts.1"), "*.wildcard.org");
    assert_string_equal(jstr_at(r, "hosts.2"), "a.wildcard.org");
    assert_string_equal(jstr_at(r, "hosts.3"), "other.net");
    assert_string_equal(jstr_at(r, "protocols.0"), "http");
    assert_string_equal(jstr_at(r, "protocols.1"), "https");
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

/* The syncer's listener_usable: the Gateway reconciler's verdict (no Kong view: no listen checks).
 */
static bool usable_by_status(void *ctx, const struct kgc_api_gateway *gw, uint32_t li)
{
    struct tenv *t = ctx;
    struct kgc_status_options so;
    kgc_status_options_default(&so);
    uint64_t bits = 0;
    assert_int_equal(kgc_status_gateway_usable_listeners(&so, &t->env.lk, gw, &bits, NULL, NULL),
                     0);
    return li < 64 && ((bits >> li) & 1);
}

#define UNUSABLE_YAML                                                                              \
    "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"                                    \
    "metadata: {name: clash, namespace: " INFRA "}\n"                                              \
    "spec:\n"                                                                                      \
    "  gatewayClassName: " FIXTURE_CLASS_NAME "\n"                                                 \
    "  listeners:\n"                                                                               \
    "  - {name: a, port: 80, protocol: HTTP, hostname: clash.example.com}\n"                       \
    "  - {name: b, port: 80, protocol: HTTP, hostname: clash.example.com}\n"                       \
    "  - {name: ok, port: 80, protocol: HTTP, hostname: ok.example.com}\n"                         \
    "---\n"                                                                                        \
    "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"                                    \
    "metadata: {name: params, namespace: " INFRA "}\n"                                             \
    "spec:\n"                                                                                      \
    "  gatewayClassName: " FIXTURE_CLASS_NAME "\n"                                                 \
    "  infrastructure: {parametersRef: {group: example.com, kind: Nope, name: x}}\n"               \
    "  listeners:\n"                                                                               \
    "  - {name: http, port: 80, protocol: HTTP, hostname: params.example.com}\n"                   \
    "---\n"                                                                                        \
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"                                  \
    "metadata: {name: on-conflicted, namespace: " INFRA "}\n"                                      \
    "spec:\n"                                                                                      \
    "  parentRefs: [{name: clash, sectionName: a}]\n"                                              \
    "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n"                           \
    "---\n"                                                                                        \
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"                                  \
    "metadata: {name: on-ok, namespace: " INFRA "}\n"                                              \
    "spec:\n"                                                                                      \
    "  parentRefs: [{name: clash, sectionName: ok}]\n"                                             \
    "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n"                           \
    "---\n"                                                                                        \
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"                                  \
    "metadata: {name: on-params, namespace: " INFRA "}\n"                                          \
    "spec:\n"                                                                                      \
    "  parentRefs: [{name: params}]\n"                                                             \
    "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n"

/* Only usable listeners carry routes: a Conflicted listener's route and the routes of a Gateway
 * that is not Accepted are not in Kong (the proxy answers 404), the valid listener's route is. */
static void test_unusable_listeners_carry_no_routes(void **state)
{
    struct tenv *t = *state;
    add_yaml(&t->env, UNUSABLE_YAML);
    /* without the verdict (listener_usable NULL) every attachment is translated */
    struct kgc_translate_output out;
    translate(t, &out);
    assert_non_null(strstr(out.config, "httproute." INFRA ".on-conflicted.0.0"));
    kgc_translate_output_free(&out);

    struct kgc_translate_input in = {
        .lookup = &t->env.lk, .listener_usable = usable_by_status, .listener_usable_ctx = t};
    struct kgc_err err = {0};
    assert_int_equal(kgc_translate(&in, &out, &err), 0);
    assert_kong_accepts(&out, NULL);
    assert_null(strstr(out.config, "httproute." INFRA ".on-conflicted."));
    assert_null(strstr(out.config, "httproute." INFRA ".on-params."));
    assert_non_null(strstr(out.config, "httproute." INFRA ".on-ok.0.0"));

    json_object *doc = parse_config(&out), *ents = NULL, *verr = NULL;
    struct kf_validate_opts vo = {.router_flavor = NULL};
    assert_int_equal(kf_validate(doc, &vo, &ents, &verr), 0);
    struct kf_proxy_options po = {.proxy_listen = "127.0.0.1:0",
                                  .flavor = KF_FLAVOR_TRADITIONAL_COMPATIBLE};
    struct kf_proxy *px = NULL;
    char perr[256];
    assert_int_equal(kf_proxy_start(&po, &px, perr, sizeof(perr)), 0);
    assert_int_equal(kf_proxy_set_config(px, ents), 0);
    unsigned port = kf_proxy_port(px, 0);
    char loc[512];
    long conflicted = proxy_get(port, "clash.example.com", "/", loc);
    long params = proxy_get(port, "params.example.com", "/", loc);
    long ok = proxy_get(port, "ok.example.com", "/", loc);
    print_message("proxy: conflicted listener %ld, not-accepted Gateway %ld, valid listener %ld\n",
                  conflicted, params, ok);
    assert_int_equal(conflicted, 404);
    assert_int_equal(params, 404);
    assert_int_not_equal(ok, 404);
    kf_proxy_stop(px);
    json_object_put(ents);
    json_object_put(verr);
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

static void test_hostile_values_never_reach_kong(void **state)
{
    struct tenv *t = *state;
    add_yaml(&t->env,
             "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: hostile, namespace: " INFRA "}\n"
             "spec:\n"
             "  parentRefs: [{name: same-namespace}]\n"
             "  hostnames: ['*.*.bad', 'UPPER.example.com', '1.2.3.4', 'ok.example.com']\n"
             "  rules:\n"
             "  - matches:\n"
             "    - {path: {type: RegularExpression, value: '/(['}}\n"
             "    - {path: {type: Exact, value: '/a//b'}}\n"
             "    - {path: {type: PathPrefix, value: 'no-slash'}}\n"
             "    - {headers: [{name: 'bad header', value: x}]}\n"
             "    - {headers: [{name: Host, value: x}]}\n"
             "    - {headers: [{name: x, type: RegularExpression, value: '(('}]}\n"
             "    - {headers: [{name: x, value: '~*looks-like-a-regex'}]}\n"
             "    - {method: get}\n"
             "    - {path: {type: PathPrefix, value: '/%7e/./x'}}\n"
             "    - {path: {type: Exact, value: \"/quote\\\"and\\\\back\"}}\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
             "  - filters: [{type: RequestHeaderModifier,\n"
             "               requestHeaderModifier: {set: [{name: x, value: '$(os.exit())'}]}}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
             "  - filters: [{type: URLRewrite, urlRewrite: {hostname: 'bad host'}}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
             "  - filters: [{type: Bogus}]\n"
             "---\n"
             "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: Bad_Name, namespace: " INFRA "}\n"
             "spec:\n"
             "  parentRefs: [{name: same-namespace}]\n"
             "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n");
    const char *const flavors[] = {NULL, "traditional", "expressions"};
    for (size_t f = 0; f < 3; f++) {
        t->flavor = flavors[f];
        struct kgc_translate_output out;
        translate(t, &out);
        assert_kong_accepts(&out, t->flavor);
        json_object *doc = parse_config(&out);
        assert_null(strstr(out.config, "os.exit"));
        assert_null(strstr(out.config, "Bad_Name"));
        assert_non_null(find_problem(&out, "Bad_Name", -1, -1, KGC_TRANSLATE_DROPPED));
        for (int m = 0; m < 8; m++) {
            if (m == 6) /* "~*..." exact value: escaped into an anchored regex, kept */
                continue;
            if (!find_problem(&out, "hostile", 0, m, KGC_TRANSLATE_DROPPED))
                fail_msg("flavor %s: match %d not dropped", flavors[f] ? flavors[f] : "tc", m);
        }
        assert_non_null(find_problem(&out, "hostile", 1, -1, KGC_TRANSLATE_DROPPED));
        assert_non_null(find_problem(&out, "hostile", 2, -1, KGC_TRANSLATE_DROPPED));
        assert_non_null(find_problem(&out, "hostile", 3, -1, KGC_TRANSLATE_DROPPED));
        assert_non_null(find_problem(&out, "hostile", -1, -1, KGC_TRANSLATE_DEGRADED));
        if (!flavors[f]) {
            json_object *r = must_route(doc, "httproute." INFRA ".hostile.0.6");
            assert_string_equal(jstr_at(r, "headers.x.0"), "~*^~\\*looks-like-a-regex$");
            assert_string_equal(jstr_at(r, "hosts.0"), "ok.example.com");
            assert_null(jstr_at(r, "hosts.1"));
            /* a prefix Kong would not take as a plain path becomes a regex */
            r = must_route(doc, "httproute." INFRA ".hostile.0.8");
            assert_string_equal(jstr_at(r, "paths.1"), "~/%7e/\\./x/");
        }
        json_object_put(doc);
        kgc_translate_output_free(&out);
    }
}

/* PCRE-only regex constructs pass the test Kong (which checks with PCRE) but real Kong's ATC router
 * (Rust regex) rejects them in the traditional_compatible and expressions flavours. */
static void test_regex_portability(void **state)
{
    struct tenv *t = *state;
    add_yaml(&t->env, "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                      "metadata: {name: re, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  parentRefs: [{name: same-namespace}]\n"
                      "  rules:\n"
                      "  - matches:\n"
                      "    - {path: {type: RegularExpression, value: '/(?=api)[a-z]+'}}\n"
                      "    - {path: {type: RegularExpression, value: '/(a)\\1'}}\n"
                      "    - {path: {type: RegularExpression, value: '/a++'}}\n"
                      "    - {headers: [{name: x, type: RegularExpression, value: '(?<!a)b'}]}\n"
                      "    - {path: {type: RegularExpression, value: '/(?:v[0-9]+)/[(?=]x\\.y'}}\n"
                      "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n");
    const char *const flavors[] = {NULL, "expressions", "traditional"};
    for (size_t f = 0; f < 3; f++) {
        t->flavor = flavors[f];
        struct kgc_translate_output out;
        translate(t, &out);
        assert_kong_accepts(&out, t->flavor);
        for (int m = 0; m < 4; m++) {
            bool dropped = find_problem(&out, "re", 0, m, KGC_TRANSLATE_DROPPED) != NULL;
            if (dropped != (f < 2))
                fail_msg("flavor %s match %d: dropped=%d", flavors[f] ? flavors[f] : "tc", m,
                         dropped);
        }
        /* a class holding "(?=" and an escaped dot are fine everywhere */
        assert_null(find_problem(&out, "re", 0, 4, KGC_TRANSLATE_DROPPED));
        kgc_translate_output_free(&out);
    }
}

static void test_entity_owner(void **state)
{
    (void)state;
    struct kgc_translate_owner o;
    const char *tags[] = {"k8s-name:my.route",
                          "k8s-namespace:ns1",
                          "k8s-kind:HTTPRoute",
                          "k8s-uid:u",
                          "k8s-group:gateway.networking.k8s.io",
                          "k8s-version:v1",
                          "k8s-rule:3",
                          "k8s-match:1"};
    assert_int_equal(kgc_translate_entity_owner("plugin", NULL, tags, 8, &o), 0);
    assert_int_equal(o.kind, KGC_API_HTTPROUTE);
    assert_string_equal(o.namespace, "ns1");
    assert_string_equal(o.name, "my.route");
    assert_int_equal(o.rule, 3);
    assert_int_equal(o.match, 1);

    const char *secret[] = {"k8s-name:cert", "k8s-namespace:ns2", "k8s-kind:Secret",
                            "k8s-version:v1"};
    assert_int_equal(kgc_translate_entity_owner("certificate", NULL, secret, 4, &o), 0);
    assert_int_equal(o.kind, KGC_API_SECRET);
    assert_string_equal(o.name, "cert");
    assert_int_equal(o.rule, -1);

    /* names alone, dots in the route name included */
    assert_int_equal(
        kgc_translate_entity_owner("service", "httproute.ns1.my.route.12", NULL, 0, &o), 0);
    assert_string_equal(o.namespace, "ns1");
    assert_string_equal(o.name, "my.route");
    assert_int_equal(o.rule, 12);
    assert_int_equal(o.match, -1);
    assert_int_equal(kgc_translate_entity_owner("route", "httproute.ns1.a.1.2.3", NULL, 0, &o), 0);
    assert_string_equal(o.name, "a.1");
    assert_int_equal(o.rule, 2);
    assert_int_equal(o.match, 3);
    assert_int_equal(kgc_translate_entity_owner("route", "httproute.ns1.a.h1.0.4.h2", NULL, 0, &o),
                     0);
    assert_string_equal(o.name, "a.h1");
    assert_int_equal(o.rule, 0);
    assert_int_equal(o.match, 4);
    /* a hostname-less route's second Kong route for an isolating listener (traditional) */
    assert_int_equal(
        kgc_translate_entity_owner("route", "httproute.ns1.a.iso.1.5.iso", NULL, 0, &o), 0);
    assert_string_equal(o.namespace, "ns1");
    assert_string_equal(o.name, "a.iso");
    assert_int_equal(o.rule, 1);
    assert_int_equal(o.match, 5);
    assert_int_equal(kgc_translate_entity_owner("upstream", "httproute.ns1.r.0", NULL, 0, &o), 0);
    assert_string_equal(o.name, "r");

    assert_int_equal(kgc_translate_entity_owner("route", "httproute.ns1.r.0", NULL, 0, &o),
                     KGC_ENOENT);
    assert_int_equal(kgc_translate_entity_owner("service", "my-service", NULL, 0, &o), KGC_ENOENT);
    assert_int_equal(kgc_translate_entity_owner("target", NULL, NULL, 0, &o), KGC_ENOENT);
    const char *foreign[] = {"managed-by:someone"};
    assert_int_equal(kgc_translate_entity_owner("plugin", NULL, foreign, 1, &o), KGC_ENOENT);
}

/* Every entity kgc writes but targets leads back to its route and rule: services, upstreams and
 * Kong routes by their name alone (they carry no tags), plugins by their tags. */
static void check_owner(json_object *e, const char *type, const char *want_name, bool by_name)
{
    json_object *tags = get(e, "tags");
    size_t n = tags ? json_object_array_length(tags) : 0;
    /* the entities named after their object carry no tags: the name leads back */
    if (by_name)
        assert_null(tags);
    const char *tv[16];
    for (size_t i = 0; i < n && i < 16; i++)
        tv[i] = json_object_get_string(json_object_array_get_idx(tags, i));
    struct kgc_translate_owner a, b;
    const char *name = get(e, "name") ? json_object_get_string(get(e, "name")) : NULL;
    assert_int_equal(kgc_translate_entity_owner(type, name, tv, n, &a), 0);
    assert_int_equal(a.kind, KGC_API_HTTPROUTE);
    assert_string_equal(a.name, want_name);
    assert_true(a.rule >= 0);
    if (by_name) {
        assert_int_equal(kgc_translate_entity_owner(type, name, NULL, 0, &b), 0);
        assert_string_equal(b.namespace, a.namespace);
        assert_string_equal(b.name, a.name);
        assert_int_equal(b.rule, a.rule);
        assert_int_equal(b.match, a.match);
    }
}

static void test_every_entity_maps_back(void **state)
{
    struct tenv *t = *state;
    load(&t->env, "httproute-rewrite-path.yaml");
    const char *const flavors[] = {NULL, "expressions"};
    for (size_t f = 0; f < 2; f++) {
        t->flavor = flavors[f];
        struct kgc_translate_output out;
        translate(t, &out);
        json_object *doc = parse_config(&out);
        json_object *svcs = get(doc, "services");
        assert_int_equal(json_object_array_length(svcs), 5);
        for (size_t i = 0; i < json_object_array_length(svcs); i++) {
            json_object *s = json_object_array_get_idx(svcs, i);
            check_owner(s, "service", "rewrite-path", true);
            json_object *routes = get(s, "routes");
            for (size_t k = 0; k < json_object_array_length(routes); k++) {
                json_object *r = json_object_array_get_idx(routes, k);
                check_owner(r, "route", "rewrite-path", true);
                json_object *pl = get(r, "plugins");
                for (size_t m = 0; pl && m < json_object_array_length(pl); m++)
                    check_owner(json_object_array_get_idx(pl, m), "plugin", "rewrite-path", false);
            }
        }
        json_object *ups = get(doc, "upstreams");
        for (size_t i = 0; i < json_object_array_length(ups); i++) {
            json_object *u = json_object_array_get_idx(ups, i);
            check_owner(u, "upstream", "rewrite-path", true);
            /* targets: no tags (kgc checks their addresses itself; see write_upstream()) */
            assert_null(get(json_object_array_get_idx(get(u, "targets"), 0), "tags"));
        }
        json_object_put(doc);
        kgc_translate_output_free(&out);
    }
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct kgc_translate_output out;
    struct kgc_err err = {0};
    assert_int_equal(kgc_translate(NULL, &out, &err), KGC_EINVAL);
    assert_null(out.config);
    struct kgc_translate_input in = {0};
    assert_int_equal(kgc_translate(&in, &out, NULL), KGC_EINVAL);
    assert_int_equal(kgc_translate(&in, NULL, NULL), KGC_EINVAL);
    kgc_translate_output_free(NULL);
    kgc_translate_route_verdict(NULL, NULL, NULL);
    struct kgc_status_route_verdict v;
    kgc_translate_route_verdict(NULL, NULL, &v);
    assert_null(v.accepted_reason);
}

/* Listener isolation (expressions): on one port, a request whose host a more specific listener
 * matches is never served by a less specific listener's route. Listeners empty (any host),
 * wildcard (*.example.com) and abc (abc.example.com), one route on each. */
static void test_listener_isolation(void **state)
{
    struct tenv *t = *state;
    add_yaml(&t->env,
             "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
             "metadata: {name: iso, namespace: " INFRA "}\n"
             "spec:\n"
             "  gatewayClassName: " FIXTURE_CLASS_NAME "\n"
             "  listeners:\n"
             "  - {name: empty, port: 80, protocol: HTTP}\n"
             "  - {name: wildcard, port: 80, protocol: HTTP, hostname: '*.example.com'}\n"
             "  - {name: abc, port: 80, protocol: HTTP, hostname: abc.example.com}\n"
             "  - {name: wfoo, port: 80, protocol: HTTP, hostname: '*.foo.example.com'}\n"
             "---\n"
             "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: r-wfoo, namespace: " INFRA "}\n"
             "spec:\n"
             "  parentRefs: [{name: iso, sectionName: wfoo}]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: /wfoo}}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
             "---\n"
             "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: r-empty, namespace: " INFRA "}\n"
             "spec:\n"
             "  parentRefs: [{name: iso, sectionName: empty}]\n"
             "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n"
             "---\n"
             "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: r-wildcard, namespace: " INFRA "}\n"
             "spec:\n"
             "  parentRefs: [{name: iso, sectionName: wildcard}]\n"
             "  rules: [{backendRefs: [{name: infra-backend-v1, port: 8080}]}]\n"
             "---\n"
             "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: r-abc, namespace: " INFRA "}\n"
             "spec:\n"
             "  parentRefs: [{name: iso, sectionName: abc}]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: /abc}}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
             "---\n"
             "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: r-both, namespace: " INFRA "}\n"
             "spec:\n"
             "  parentRefs: [{name: iso, sectionName: empty}, {name: iso, sectionName: abc}]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: /both}}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
             "---\n"
             "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
             "metadata: {name: r-deep, namespace: " INFRA "}\n"
             "spec:\n"
             "  parentRefs: [{name: iso, sectionName: empty}]\n"
             "  hostnames: ['*.example.com', other.net]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: /deep}}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n");
    const char *flavors[] = {"expressions", "traditional_compatible"};
    for (size_t f = 0; f < 2; f++) {
        const char *flavor = flavors[f];
        struct scoped_proxy sp;
        scoped_proxy_start(t, flavor, &sp);
        json_object *doc = sp.doc;
        json_object *services = get(doc, "services");
        for (size_t i = 0; i < json_object_array_length(services); i++) {
            json_object *routes = get(json_object_array_get_idx(services, i), "routes");
            for (size_t k = 0; routes && k < json_object_array_length(routes); k++)
                print_message("%s: %s\n", jstr_at(json_object_array_get_idx(routes, k), "name"),
                              jstr_at(json_object_array_get_idx(routes, k), "expression"));
        }

        static const struct {
            const char *host, *path, *route; /* the route serving it; NULL: 404 */
            const char *host_port; /* a port in the Host header (else the proxy's, as curl) */
        } cases[] = {
            {"abc.example.com", "/abc", "r-abc"},
            {"abc.example.com", "/", NULL}, /* abc's requests: no route on abc matches */
            {"abc.example.com", "/deep", NULL},
            {"x.example.com", "/", "r-wildcard"},
            {"a.b.example.com", "/", "r-wildcard"},
            {"example.com", "/", "r-empty"},
            {"other.net", "/", "r-empty"},
            /* r-deep is on the empty listener only: its *.example.com belongs to the others */
            {"x.example.com", "/deep", "r-wildcard"},
            {"other.net", "/deep", "r-deep"},
            /* r-both is on empty and abc: abc's requests are its own again, the wildcard's are not
             */
            {"abc.example.com", "/both", "r-both"},
            {"x.example.com", "/both", "r-wildcard"},
            {"other.net", "/both", "r-both"},
            /* a wildcard within a wildcard: *.foo.example.com is wfoo's alone */
            {"x.foo.example.com", "/wfoo", "r-wfoo"},
            {"x.foo.example.com", "/", NULL},
            {"x.foo.example.com", "/deep", NULL},
            {"x.example.com", "/wfoo", "r-wildcard"},
            /* "Host: h:80", the listener's own port (a browser's Host for a listener on a
               non-default port): Kong reads net.dst.port from it (fields.lua:129-139) */
            {"abc.example.com", "/abc", "r-abc", "80"},
            {"abc.example.com", "/", NULL, "80"},
            {"x.example.com", "/deep", "r-wildcard", "80"},
            {"abc.example.com", "/both", "r-both", "80"},
            {"other.net", "/deep", "r-deep", "80"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            struct body_buf b;
            long st = proxy_fetch_path("http", cases[i].host, scope_ports[0], cases[i].path,
                                       cases[i].host_port, &b);
            char want[200];
            snprintf(want, sizeof(want), "httproute." INFRA ".%s.0.0",
                     cases[i].route ? cases[i].route : "-");
            print_message("%s: Host %s path %s: %ld %s\n", flavor, cases[i].host, cases[i].path, st,
                          strstr(b.s, want) ? want : "-");
            if (!cases[i].route) {
                assert_int_equal(st, 404);
                continue;
            }
            assert_int_equal(st, 200);
            assert_non_null(strstr(b.s, want));
        }
        scoped_proxy_stop(&sp);
    }
}

/* A redirect without hostname on a route without a single hostname gets a relative Location:
 * translated, and said as a LIMITATION that becomes the route's konghq.com/KongLimitation
 * message ("Rule N: ... relative Location"), not PartiallyInvalid. */
static void test_kong_limitation_relative_location(void **state)
{
    struct tenv *t = *state;
    load(&t->env, "httproute-redirect-path.yaml");
    const struct kgc_api_httproute *r = kgc_api_as_httproute(
        fixture_set_find(t->env.set, KGC_API_HTTPROUTE, INFRA, "redirect-path"));
    assert_non_null(r);
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    const struct kgc_translate_problem *p =
        find_problem(&out, "redirect-path", 1, -1, KGC_TRANSLATE_LIMITATION);
    assert_non_null(p);
    assert_non_null(strstr(p->message, "relative Location"));
    assert_null(find_problem(&out, "redirect-path", 2, -1, KGC_TRANSLATE_LIMITATION));
    assert_string_equal(kgc_translate_severity_name(KGC_TRANSLATE_LIMITATION), "limitation");
    struct kgc_status_route_verdict v;
    kgc_translate_route_verdict(&out, r, &v);
    assert_null(v.accepted_reason);
    for (int rule = 0; rule <= 5; rule += 1) {
        char want[32];
        snprintf(want, sizeof(want), "Rule %d: ", rule);
        const char *at = strstr(v.kong_limitation, want);
        if (rule == 0 || rule == 1 || rule == 3 || rule == 5) {
            assert_non_null(at);
            assert_non_null(strstr(at, "relative Location"));
        } else {
            assert_null(at);
        }
    }
    assert_null(strstr(v.partially_invalid, "relative Location"));
    kgc_translate_output_free(&out);
}

/* Under traditional_compatible a header-only match outranks a method-only match on the same
 * path in Kong whatever kgc's ids: said as a LIMITATION of the header rule naming the method
 * rules and the fix; the expressions flavour honours the order and says nothing. */
static void test_kong_limitation_precedence(void **state)
{
    struct tenv *t = *state;
    load(&t->env, "httproute-method-matching.yaml");
    const struct kgc_api_httproute *r = kgc_api_as_httproute(
        fixture_set_find(t->env.set, KGC_API_HTTPROUTE, INFRA, "method-matching"));
    assert_non_null(r);
    struct kgc_translate_output out;
    translate(t, &out);
    const struct kgc_translate_problem *p =
        find_problem(&out, "method-matching", 8, -1, KGC_TRANSLATE_LIMITATION);
    assert_non_null(p);
    assert_non_null(strstr(p->message, "precedence over Rule 0, Rule 1, Rule 7 ("));
    assert_non_null(strstr(p->message, "router_flavor = expressions"));
    assert_null(find_problem(&out, "method-matching", 3, -1, KGC_TRANSLATE_LIMITATION));
    struct kgc_status_route_verdict v;
    kgc_translate_route_verdict(&out, r, &v);
    assert_true(strncmp(v.kong_limitation, "Rule 8: matches[0]: ", 20) == 0);
    assert_string_equal(v.partially_invalid, "");
    kgc_translate_output_free(&out);

    t->flavor = "expressions";
    translate(t, &out);
    assert_null(find_problem(&out, "method-matching", 8, -1, KGC_TRANSLATE_LIMITATION));
    kgc_translate_route_verdict(&out, r, &v);
    assert_string_equal(v.kong_limitation, "");
    kgc_translate_output_free(&out);
}

/* Kong serves every Gateway on one listen per port: two routes of different Gateways with the
 * same bare path and a hostname in common collide, and each says so; a route attached to both
 * Gateways collides with neither of its own attachments. */
static void test_kong_limitation_shared_listen(void **state)
{
    struct tenv *t = *state;
    load(&t->env, "httproute-multiple-gateways.yaml");
    const char *flavors[] = {"traditional_compatible", "expressions"};
    for (size_t f = 0; f < 2; f++) {
        t->flavor = flavors[f];
        struct kgc_translate_output out;
        translate(t, &out);
        const char *names[] = {"same-namespace-dedicated-route", "all-namespaces-dedicated-route"};
        for (size_t i = 0; i < 2; i++) {
            const struct kgc_translate_problem *p =
                find_problem(&out, names[i], 0, -1, KGC_TRANSLATE_LIMITATION);
            assert_non_null(p);
            assert_non_null(strstr(p->message, "every Gateway"));
            assert_non_null(strstr(p->message, names[1 - i]));
        }
        assert_null(
            find_problem(&out, "multiple-gateways-shared-route", 0, -1, KGC_TRANSLATE_LIMITATION));
        kgc_translate_output_free(&out);
    }
}

/* Routes Kong ranks equal (same kinds of conditions and header count) run in kgc's order:
 * traditional_compatible through the route ids (the ATC router runs equal priorities by
 * descending id), traditional through created_at. Three routes equal in all but their names go
 * to the alphabetically first (every flavour); under the ATC flavours, two rules with one header
 * each on "/" (header-matching: version: two is rule 1, color: blue rule 3) and on a longer
 * prefix: a request carrying both headers goes to the earlier rule, as the Gateway API asks. */
static void test_kong_ties_follow_rank(void **state)
{
    struct tenv *t = *state;
    load(&t->env, "httproute-header-matching.yaml");
    add_yaml(&t->env, "apiVersion: gateway.networking.k8s.io/v1\n"
                      "kind: HTTPRoute\n"
                      "metadata: {name: prefix-headers, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  parentRefs: [{name: same-namespace}]\n"
                      "  rules:\n"
                      "  - matches: [{path: {type: PathPrefix, value: /foo},\n"
                      "               headers: [{name: color, value: blue}]}]\n"
                      "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
                      "  - matches: [{path: {type: PathPrefix, value: /foo},\n"
                      "               headers: [{name: version, value: two}]}]\n"
                      "    backendRefs: [{name: infra-backend-v2, port: 8080}]\n");
    for (char c = 'c'; c >= 'a'; c--) { /* equal in all but name: alphabetical order decides */
        char yaml[600];
        snprintf(yaml, sizeof(yaml),
                 "apiVersion: gateway.networking.k8s.io/v1\n"
                 "kind: HTTPRoute\n"
                 "metadata: {name: tie-%c, namespace: " INFRA "}\n"
                 "spec:\n"
                 "  parentRefs: [{name: same-namespace}]\n"
                 "  rules:\n"
                 "  - matches: [{path: {type: PathPrefix, value: /tie}, "
                 "headers: [{name: x-tie, value: 'yes'}]}]\n"
                 "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n",
                 c);
        add_yaml(&t->env, yaml);
    }
    const char *flavors[] = {"traditional", "traditional_compatible", "expressions"};
    for (size_t f = 0; f < 3; f++) {
        t->flavor = flavors[f];
        struct kgc_translate_output out;
        translate(t, &out);
        json_object *doc = parse_config(&out);
        const char *sfx = f == 2 ? ".h0" : "";
        char got[200], want[200];
        for (int order = 0; order < 2; order++) {
            /* the order the headers come in must not matter */
            struct kf_kv both[2] = {{"version", "two"}, {"color", "blue"}};
            if (order) {
                struct kf_kv tmp = both[0];
                both[0] = both[1];
                both[1] = tmp;
            }
            struct kf_kv tie = {"x-tie", "yes"};
            kong_pick(doc, flavors[f], "GET", "/tie/x", &tie, 1, got, sizeof(got));
            snprintf(want, sizeof(want), "httproute." INFRA ".tie-a.0.0%s", sfx);
            assert_string_equal(got, want);
            if (f == 0)
                continue; /* traditional.lua narrows candidates by one request header name
                             (find_match's reduce): two header rules are not ranked together */
            kong_pick(doc, flavors[f], "GET", "/", both, 2, got, sizeof(got));
            snprintf(want, sizeof(want), "httproute." INFRA ".header-matching.1.0%s", sfx);
            assert_string_equal(got, want);
            kong_pick(doc, flavors[f], "GET", "/foo/x", both, 2, got, sizeof(got));
            snprintf(want, sizeof(want), "httproute." INFRA ".prefix-headers.0.0%s", sfx);
            assert_string_equal(got, want);
        }
        kgc_translate_output_free(&out);
        json_object_put(doc);
    }
}

/* Routes of equal precedence facts and equal Kong priority run by descending id; the id's place
 * counts only the routes of the same facts that the route can meet (a hostname in common, a
 * wildcard covering a hostname of the other, joined transitively: tr_rank_assign), so each request
 * still goes to the route the Gateway API ranks first (the older), and a route leaving the group
 * moves the ids of its own group only. tie-1..4 have 13-character exact hostnames: tie-1 (b),
 * tie-2 (a and b) and tie-3 (a) meet, tie-4 (c) meets none of them; tie-5 and tie-6 meet through
 * tie-5's *.other.org. */
static void test_kong_ties_grouped_by_hostname(void **state)
{
    struct tenv *t = *state;
    static const char *const hosts[] = {
        "[b.example.com]", "[a.example.com, b.example.com]", "[a.example.com]",
        "[c.example.com]", "[x.other.org, '*.other.org']",   "[y.other.org, '*.zz.org']"};
    for (int i = 0; i < 6; i++) {
        char yaml[700];
        snprintf(yaml, sizeof(yaml),
                 "apiVersion: gateway.networking.k8s.io/v1\n"
                 "kind: HTTPRoute\n"
                 "metadata: {name: tie-%d, namespace: " INFRA
                 ", creationTimestamp: '2026-01-0%dT00:00:00Z'}\n"
                 "spec:\n"
                 "  parentRefs: [{name: same-namespace}]\n"
                 "  hostnames: %s\n"
                 "  rules:\n"
                 "  - matches: [{path: {type: PathPrefix, value: /tie}}]\n"
                 "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n",
                 i + 1, i + 1, hosts[i]);
        add_yaml(&t->env, yaml);
    }
    struct kgc_translate_input in = {.lookup = &t->env.lk};
    struct kgc_translate_state *st = kgc_translate_state_new();
    assert_non_null(st);
    struct kgc_translate_output out, inc;
    struct kgc_translate_incr_stats stats;
    struct kgc_err err = {0};
    assert_int_equal(kgc_translate_incremental(st, &in, NULL, 0, false, &inc, &stats, &err), 0);
    kgc_translate_output_free(&inc);
    char ids[2][7][40];
    for (int round = 0; round < 2; round++) {
        translate(t, &out);
        json_object *doc = parse_config(&out);
        char got[200], name[80];
        static const struct {
            const char *host;
            int want; /* the oldest route the request can match */
        } picks[] = {{"a.example.com", 2}, {"b.example.com", 1}, {"c.example.com", 4},
                     {"x.other.org", 5},   {"y.other.org", 5},   {"q.zz.org", 6}};
        for (size_t i = 0; i < sizeof(picks) / sizeof(picks[0]); i++) {
            int want = round && picks[i].want == 1 ? 2 : picks[i].want; /* tie-1 left /tie */
            kong_pick_host(doc, "traditional_compatible", picks[i].host, "GET", "/tie/x", NULL, 0,
                           got, sizeof(got));
            snprintf(name, sizeof(name), "httproute." INFRA ".tie-%d.0.0", want);
            if (strcmp(got, name) != 0)
                fail_msg("round %d: Host %s: Kong picks %s, the Gateway API %s", round,
                         picks[i].host, got, name);
        }
        for (int i = 1; i <= 6; i++) {
            snprintf(name, sizeof(name), "httproute." INFRA ".tie-%d.0.0", i);
            snprintf(ids[round][i], sizeof(ids[round][i]), "%s",
                     json_object_get_string(get(must_route(doc, name), "id")));
        }
        assert_true(kong_runs_before(doc, "httproute." INFRA ".tie-2.0.0",
                                     "httproute." INFRA ".tie-3.0.0"));
        assert_true(kong_runs_before(doc, "httproute." INFRA ".tie-5.0.0",
                                     "httproute." INFRA ".tie-6.0.0"));
        if (!round)
            assert_true(kong_runs_before(doc, "httproute." INFRA ".tie-1.0.0",
                                         "httproute." INFRA ".tie-2.0.0"));
        json_object_put(doc);
        kgc_translate_output_free(&out);
        if (round)
            break;
        /* tie-1 leaves the run of equal facts: a longer path */
        add_yaml(&t->env, "apiVersion: gateway.networking.k8s.io/v1\n"
                          "kind: HTTPRoute\n"
                          "metadata: {name: tie-1, namespace: " INFRA
                          ", creationTimestamp: '2026-01-01T00:00:00Z'}\n"
                          "spec:\n"
                          "  parentRefs: [{name: same-namespace}]\n"
                          "  hostnames: [b.example.com]\n"
                          "  rules:\n"
                          "  - matches: [{path: {type: PathPrefix, value: /tie-longer}}]\n"
                          "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n");
        struct kgc_translate_change ch = {KGC_API_HTTPROUTE, INFRA, "tie-1"};
        assert_int_equal(kgc_translate_incremental(st, &in, &ch, 1, false, &inc, &stats, &err), 0);
        assert_false(stats.full);
        /* tie-1's service and upstream, and the services of tie-2 and tie-3, which moved up a
         * place in their group; not tie-4's, tie-5's or tie-6's */
        assert_int_equal(stats.fragments_written, 4);
        kgc_translate_output_free(&inc);
    }
    kgc_translate_state_free(st);
    assert_string_not_equal(ids[0][1], ids[1][1]); /* other facts */
    assert_string_not_equal(ids[0][2], ids[1][2]); /* a place up in its group */
    assert_string_not_equal(ids[0][3], ids[1][3]);
    for (int i = 4; i <= 6; i++)
        assert_string_equal(ids[0][i], ids[1][i]);
}

/* Under traditional_compatible Kong ranks a route with more kinds of conditions first whatever
 * its path: PathPrefix /api with a method outranks an Exact /api/v1 of another route (the
 * Gateway API: Exact first). Kong's pick is said as a LIMITATION of the route it prefers, naming
 * the one it overtakes; a route no request shares with it (/other) is not named. The
 * expressions flavour picks as the Gateway API does and says nothing. */
static void test_kong_limitation_cross_route(void **state)
{
    struct tenv *t = *state;
    add_yaml(&t->env, "apiVersion: gateway.networking.k8s.io/v1\n"
                      "kind: HTTPRoute\n"
                      "metadata: {name: exact-api, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  parentRefs: [{name: same-namespace}]\n"
                      "  rules:\n"
                      "  - matches: [{path: {type: Exact, value: /api/v1}}]\n"
                      "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
                      "  - matches: [{path: {type: Exact, value: /other/x}}]\n"
                      "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
                      "---\n"
                      "apiVersion: gateway.networking.k8s.io/v1\n"
                      "kind: HTTPRoute\n"
                      "metadata: {name: prefix-get, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  parentRefs: [{name: same-namespace}]\n"
                      "  rules:\n"
                      "  - matches: [{path: {type: PathPrefix, value: /api}, method: GET}]\n"
                      "    backendRefs: [{name: infra-backend-v2, port: 8080}]\n");
    const char *flavors[] = {"traditional_compatible", "expressions"};
    for (size_t f = 0; f < 2; f++) {
        t->flavor = flavors[f];
        struct kgc_translate_output out;
        translate(t, &out);
        json_object *doc = parse_config(&out);
        char got[200];
        kong_pick(doc, flavors[f], "GET", "/api/v1", NULL, 0, got, sizeof(got));
        const struct kgc_translate_problem *p =
            find_problem(&out, "prefix-get", 0, -1, KGC_TRANSLATE_LIMITATION);
        if (f == 0) {
            assert_string_equal(got, "httproute." INFRA ".prefix-get.0.0");
            assert_non_null(p);
            assert_non_null(
                strstr(p->message, "precedence over HTTPRoute " INFRA "/exact-api Rule 0 ("));
            assert_null(strstr(p->message, "Rule 1"));
            assert_non_null(strstr(p->message, "router_flavor = expressions"));
        } else {
            assert_string_equal(got, "httproute." INFRA ".exact-api.0.0.h0");
            assert_null(p);
        }
        assert_null(find_problem(&out, "exact-api", 0, -1, KGC_TRANSLATE_LIMITATION));
        kgc_translate_output_free(&out);
        json_object_put(doc);
    }
}

/* ---- incremental translation ------------------------------------------------------------------
 * kgc_translate_incremental() against kgc_translate() on random change sequences: after every
 * step both must give the same bytes, hash, counts and problems. The seed is fixed (printed;
 * KGC_INCR_SEED overrides it) so a failure replays. */

struct incr_rng {
    uint64_t s;
};

static uint32_t incr_next(struct incr_rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (uint32_t)(r->s >> 16);
}

static uint32_t incr_pick(struct incr_rng *r, uint32_t n)
{
    return incr_next(r) % n;
}

#define INCR_WEB    "gateway-conformance-web-backend"
#define INCR_ROUTES 14 /* rt-0..9 in INFRA, rt-10..13 in INCR_WEB (backends in INFRA) */

/* A random HTTPRoute rt-<idx>: parents, hostnames, rules, matches and backends from small sets,
 * so that routes meet (shared hostnames, equal paths, listener isolation, KongLimitations), and
 * so that routes of equal precedence facts fall into groups that meet and groups that do not
 * (a/b/c.example.com: equal lengths, distinct names; *.other.org covers x.other.org), whose Kong
 * route ids count their places apart (tr_rank_assign). */
static void incr_route_json(struct incr_rng *r, int idx, bool exact_hosts, char *out, size_t size)
{
    static const char *const hosts[] = {"a.example.com",      "b.example.com", "*.example.com",
                                        "second-example.org", "x.other.org",   "c.example.com",
                                        "*.other.org"};
    static const uint32_t exact[] = {0, 1, 3, 4, 5};
    static const char *const paths[] = {"/", "/api", "/api/v1", "/x"};
    static const char *const svcs[] = {"infra-backend-v1", "infra-backend-v2", "infra-backend-v3"};
    bool web = idx >= 10;
    char parents[512] = "", hn[256] = "", rules[4096] = "";
    uint32_t np = 1 + incr_pick(r, 2);
    for (uint32_t i = 0; i < np; i++) {
        static const char *const own[] = {"same-namespace", "all-namespaces",
                                          "same-namespace-with-https-listener", "iso-gw"};
        const char *gw =
            web ? (incr_pick(r, 2) ? "all-namespaces" : "iso-gw") : own[incr_pick(r, 4)];
        char one[160];
        snprintf(one, sizeof(one), "%s{\"name\":\"%s\",\"namespace\":\"" INFRA "\"}", i ? "," : "",
                 gw);
        strncat(parents, one, sizeof(parents) - strlen(parents) - 1);
    }
    /* exact_hosts: every route has exact hostnames only, so that the limits are judged again for
     * the routes the change can meet only (no route open to any hostname) */
    uint32_t nh = exact_hosts ? 1 + incr_pick(r, 2) : incr_pick(r, 3);
    for (uint32_t i = 0; i < nh; i++) {
        char one[80];
        uint32_t h = exact_hosts ? exact[incr_pick(r, 5)] : incr_pick(r, 7);
        snprintf(one, sizeof(one), "%s\"%s\"", i ? "," : "", hosts[h]);
        strncat(hn, one, sizeof(hn) - strlen(hn) - 1);
    }
    uint32_t nr = 1 + incr_pick(r, 3);
    for (uint32_t ri = 0; ri < nr; ri++) {
        char matches[1024] = "", backends[512] = "";
        uint32_t nm = 1 + incr_pick(r, 2);
        for (uint32_t mi = 0; mi < nm; mi++) {
            char one[300];
            snprintf(one, sizeof(one), "%s{\"path\":{\"type\":\"%s\",\"value\":\"%s\"}%s%s}",
                     mi ? "," : "", incr_pick(r, 3) ? "PathPrefix" : "Exact",
                     paths[incr_pick(r, 4)], incr_pick(r, 3) ? "" : ",\"method\":\"GET\"",
                     incr_pick(r, 3) ? "" : ",\"headers\":[{\"name\":\"x-h\",\"value\":\"v\"}]");
            strncat(matches, one, sizeof(matches) - strlen(matches) - 1);
        }
        uint32_t nb = 1 + incr_pick(r, 2);
        for (uint32_t bi = 0; bi < nb; bi++) {
            char one[200];
            snprintf(one, sizeof(one), "%s{\"name\":\"%s\",%s\"port\":8080,\"weight\":%u}",
                     bi ? "," : "", svcs[incr_pick(r, 3)],
                     web ? "\"namespace\":\"" INFRA "\"," : "", incr_pick(r, 4));
            strncat(backends, one, sizeof(backends) - strlen(backends) - 1);
        }
        char rule[1800];
        snprintf(rule, sizeof(rule), "%s{\"matches\":[%s],\"backendRefs\":[%s]}", ri ? "," : "",
                 matches, backends);
        strncat(rules, rule, sizeof(rules) - strlen(rules) - 1);
    }
    snprintf(out, size,
             "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
             "\"metadata\":{\"name\":\"rt-%d\",\"namespace\":\"%s\",\"uid\":\"u-%d\","
             "\"creationTimestamp\":\"2026-01-0%uT00:00:00Z\"},"
             "\"spec\":{\"parentRefs\":[%s],\"hostnames\":[%s],\"rules\":[%s]}}",
             idx, web ? INCR_WEB : INFRA, idx, 1 + incr_pick(r, 2), parents, hn, rules);
}

static void incr_same(const struct kgc_translate_output *full,
                      const struct kgc_translate_output *inc, unsigned step, const char *op)
{
    if (full->config_len != inc->config_len || strcmp(full->config, inc->config) != 0) {
        size_t at = 0;
        while (full->config[at] && full->config[at] == inc->config[at])
            at++;
        size_t from = at > 80 ? at - 80 : 0;
        fail_msg("step %u (%s): the incremental document differs at byte %zu:\n full: %.200s\n "
                 "incr: %.200s",
                 step, op, at, full->config + from, inc->config + from);
    }
    if (strcmp(full->hash, inc->hash) != 0)
        fail_msg("step %u (%s): hash %s != %s", step, op, inc->hash, full->hash);
    if (memcmp(&full->counts, &inc->counts, sizeof(full->counts)) != 0)
        fail_msg("step %u (%s): counts differ (routes %zu/%zu, plugins %zu/%zu, snis %zu/%zu)",
                 step, op, inc->counts.routes, full->counts.routes, inc->counts.plugins,
                 full->counts.plugins, inc->counts.snis, full->counts.snis);
    size_t n = full->n_problems > inc->n_problems ? full->n_problems : inc->n_problems;
    for (size_t i = 0; i < n; i++) {
        const struct kgc_translate_problem *a = i < full->n_problems ? &full->problems[i] : NULL;
        const struct kgc_translate_problem *b = i < inc->n_problems ? &inc->problems[i] : NULL;
        if (!a || !b || a->kind != b->kind || a->rule != b->rule || a->match != b->match ||
            a->severity != b->severity || strcmp(a->namespace, b->namespace) != 0 ||
            strcmp(a->name, b->name) != 0 || strcmp(a->message, b->message) != 0)
            fail_msg("step %u (%s): problem %zu differs:\n full: %s %s %d: %s\n incr: %s %s %d: %s",
                     step, op, i, a ? a->name : "-", a ? "" : "", a ? a->rule : -9,
                     a ? a->message : "-", b ? b->name : "-", "", b ? b->rule : -9,
                     b ? b->message : "-");
    }
}

/* Edits the stored JSON of an object through fn and stores it again. */
static void incr_set_str(struct tenv *t, enum kgc_api_kind kind, const char *ns, const char *name,
                         const char *path0, size_t idx, const char *key, json_object *val)
{
    json_object *doc = fixture_set_json(t->env.set, kind, ns, name);
    assert_non_null(doc);
    json_object *o = doc;
    char path[200];
    snprintf(path, sizeof(path), "%s", path0);
    for (char *tok = strtok(path, "."); tok; tok = strtok(NULL, ".")) {
        json_object *next = get(o, tok);
        assert_non_null(next);
        o = json_object_is_type(next, json_type_array) ? json_object_array_get_idx(next, idx)
                                                       : next;
        assert_non_null(o);
    }
    json_object_object_add(o, key, val);
    assert_non_null(fixture_set_update(t->env.set, kind, ns, name, true));
}

static uint16_t incr_kong_port(void *ctx, const struct kgc_api_gateway *gw, uint32_t li)
{
    (void)ctx;
    return gw->listeners[li].port == 443 ? 8443 : 8000;
}

static void test_incremental_matches_full(void **state)
{
    struct tenv *t = *state;
    /* a Gateway with listener isolation (hostnames within others on one port), and a
     * ReferenceGrant target namespace */
    add_yaml(&t->env, "apiVersion: gateway.networking.k8s.io/v1\n"
                      "kind: Gateway\n"
                      "metadata: {name: iso-gw, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  gatewayClassName: {GATEWAY_CLASS_NAME}\n"
                      "  listeners:\n"
                      "  - {name: any, port: 80, protocol: HTTP, allowedRoutes: {namespaces: "
                      "{from: All}}}\n"
                      "  - {name: wild, port: 80, protocol: HTTP, hostname: '*.example.com', "
                      "allowedRoutes: {namespaces: {from: All}}}\n"
                      "  - {name: exact, port: 80, protocol: HTTP, hostname: a.example.com, "
                      "allowedRoutes: {namespaces: {from: All}}}\n");
    const char *seed_env = getenv("KGC_INCR_SEED");
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : UINT64_C(0x19C0FFEE);
    print_message("incremental vs full: seed 0x%llx (KGC_INCR_SEED)\n", (unsigned long long)seed);
    struct incr_rng rng = {seed ? seed : 1};
    struct kgc_translate_state *st = kgc_translate_state_new();
    assert_non_null(st);
    bool grant = false, wide = false;
    unsigned incremental = 0, full_calls = 0, resumed = 0, in_place = 0;
    /* the previous step's incremental output, kept while the next call runs: its text is shared
     * with the state and must stay as it was */
    struct kgc_translate_output prev = {0};
    size_t planned = 0, limitations = 0, snis = 0, isolation = 0;
    for (unsigned step = 0; step < 800; step++) {
        bool exact_hosts = step >= 400; /* a second phase: exact hostnames only */
        if (step == 400)
            print_message("incremental vs full: from step 400, exact hostnames only\n");
        struct kgc_translate_change ch[4];
        size_t n = 0;
        char json[8192], name[32], op[96];
        uint32_t what = incr_pick(&rng, 100);
        unsigned phase_step = step % 400;
        if (phase_step < INCR_ROUTES || what < 40) {
            int idx =
                phase_step < INCR_ROUTES ? (int)phase_step : (int)incr_pick(&rng, INCR_ROUTES);
            incr_route_json(&rng, idx, exact_hosts, json, sizeof(json));
            add_json_text(&t->env, json);
            snprintf(name, sizeof(name), "rt-%d", idx);
            ch[n++] = (struct kgc_translate_change){KGC_API_HTTPROUTE, idx >= 10 ? INCR_WEB : INFRA,
                                                    strdup(name)};
            snprintf(op, sizeof(op), "route %s", name);
        } else if (what < 52) {
            int idx = (int)incr_pick(&rng, INCR_ROUTES);
            snprintf(name, sizeof(name), "rt-%d", idx);
            fixture_set_remove(t->env.set, KGC_API_HTTPROUTE, idx >= 10 ? INCR_WEB : INFRA, name);
            ch[n++] = (struct kgc_translate_change){KGC_API_HTTPROUTE, idx >= 10 ? INCR_WEB : INFRA,
                                                    strdup(name)};
            snprintf(op, sizeof(op), "delete %s", name);
        } else if (what < 62) {
            snprintf(name, sizeof(name), "infra-backend-v%u", 1 + incr_pick(&rng, 3));
            int port = incr_pick(&rng, 2) ? 8080 : 8090;
            incr_set_str(t, KGC_API_SERVICE, INFRA, name, "spec.ports", 0, "port",
                         json_object_new_int(port));
            ch[n++] = (struct kgc_translate_change){KGC_API_SERVICE, INFRA, strdup(name)};
            snprintf(op, sizeof(op), "service %s port %d", name, port);
        } else if (what < 74) {
            snprintf(name, sizeof(name), "infra-backend-v%u-x1", 1 + incr_pick(&rng, 3));
            char addr[32];
            snprintf(addr, sizeof(addr), "10.9.%u.%u", incr_pick(&rng, 3), 1 + incr_pick(&rng, 3));
            json_object *addrs = json_object_new_array();
            json_object_array_add(addrs, json_object_new_string(addr));
            incr_set_str(t, KGC_API_ENDPOINTSLICE, INFRA, name, "endpoints", 0, "addresses", addrs);
            ch[n++] = (struct kgc_translate_change){KGC_API_ENDPOINTSLICE, INFRA, strdup(name)};
            snprintf(op, sizeof(op), "endpointslice %s %s", name, addr);
        } else if (what < 80) {
            char err[FIXTURE_ERR_MAX], cn[32];
            snprintf(cn, sizeof(cn), "cn-%u.example.com", incr_pick(&rng, 1000));
            if (fixture_set_add_tls_secret(t->env.set, INFRA, "tls-validity-checks-certificate", cn,
                                           err, sizeof(err)) != 0)
                fail_msg("%s", err);
            ch[n++] = (struct kgc_translate_change){KGC_API_SECRET, INFRA,
                                                    strdup("tls-validity-checks-certificate")};
            snprintf(op, sizeof(op), "secret %s", cn);
        } else if (what < 90) {
            grant = !grant;
            if (grant)
                add_yaml(&t->env, "apiVersion: gateway.networking.k8s.io/v1beta1\n"
                                  "kind: ReferenceGrant\n"
                                  "metadata: {name: incr-grant, namespace: " INFRA "}\n"
                                  "spec:\n"
                                  "  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, "
                                  "namespace: " INCR_WEB "}]\n"
                                  "  to: [{group: '', kind: Service}]\n");
            else
                fixture_set_remove(t->env.set, KGC_API_REFERENCEGRANT, INFRA, "incr-grant");
            ch[n++] =
                (struct kgc_translate_change){KGC_API_REFERENCEGRANT, INFRA, strdup("incr-grant")};
            snprintf(op, sizeof(op), "referencegrant %s", grant ? "added" : "removed");
        } else if (what < 95) {
            wide = !wide;
            incr_set_str(t, KGC_API_GATEWAY, INFRA, "iso-gw", "spec.listeners", 1, "hostname",
                         json_object_new_string(wide ? "*.org" : "*.example.com"));
            ch[n++] = (struct kgc_translate_change){KGC_API_GATEWAY, INFRA, strdup("iso-gw")};
            snprintf(op, sizeof(op), "gateway listener hostname %s",
                     wide ? "*.org" : "*.example.com");
        } else {
            snprintf(op, sizeof(op), "nothing");
        }
        struct kgc_translate_input in = {.lookup = &t->env.lk,
                                         .listener_kong_port = incr_kong_port};
        struct kgc_translate_output full = {0}, inc = {0};
        struct kgc_translate_incr_stats stats;
        struct kgc_err err = {0};
        assert_int_equal(kgc_translate(&in, &full, &err), 0);
        assert_int_equal(kgc_translate_incremental(st, &in, ch, n, false, &inc, &stats, &err), 0);
        incr_same(&full, &inc, step, op);
        if (stats.full)
            full_calls++;
        else
            incremental++;
        planned += stats.routes_planned;
        /* the MD5 went on from a kept state (only the bytes after the first change hashed) */
        resumed += !stats.full && stats.hashed_bytes < inc.config_len;
        assert_true(stats.hashed_bytes <= inc.config_len);
        /* assembled into the buffer of the document before the last (released here by prev), its
         * first bytes already there: the comparison above checks they are the right ones */
        in_place += stats.bytes_in_place > 0;
        assert_true(stats.bytes_in_place <= inc.config_len);
        if (prev.config) {
            char h[KGC_DIGEST_MD5_HEX_LEN + 1];
            kgc_digest_md5_hex(prev.config, prev.config_len, h);
            if (strcmp(h, prev.hash) != 0)
                fail_msg("step %u (%s): the previous output's text changed under its holder", step,
                         op);
        }
        for (size_t i = 0; i < full.n_problems; i++)
            limitations += full.problems[i].severity == KGC_TRANSLATE_LIMITATION;
        snis += full.counts.snis;
        for (const char *p = full.config; (p = strstr(p, "kgc.isolation.")); p++)
            isolation++;
        for (size_t i = 0; i < n; i++)
            free((char *)ch[i].name);
        kgc_translate_output_free(&full);
        kgc_translate_output_free(&prev);
        prev = inc;
    }
    print_message("incremental vs full: %u incremental calls, %u full (first, Gateway changes), "
                  "%zu routes planned, %u hashed from a kept MD5 state, %u assembled over bytes "
                  "already in place; met %zu KongLimitations, %zu snis, %zu isolation routes\n",
                  incremental, full_calls, planned, resumed, in_place, limitations, snis,
                  isolation);
    assert_true(incremental > 700); /* the incremental path is what was compared */
    assert_true(resumed > 400);     /* and the resumed hash */
    assert_true(in_place > 300);    /* and the assembly over the spare buffer */
    kgc_translate_state_free(st);   /* prev's text outlives the state that shared it */
    char h[KGC_DIGEST_MD5_HEX_LEN + 1];
    kgc_digest_md5_hex(prev.config, prev.config_len, h);
    assert_string_equal(h, prev.hash);
    kgc_translate_output_free(&prev);
}

/* ---- GRPCRoute (pkg/translate/grpc.c) ----------------------------------------------------------
 */

#define GRPC_MATCHES                                                                               \
    "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\n"                                  \
    "metadata: {name: gm, namespace: " INFRA "}\n"                                                 \
    "spec:\n"                                                                                      \
    "  parentRefs: [{name: same-namespace}]\n"                                                     \
    "  hostnames: [grpc.example.com]\n"                                                            \
    "  rules:\n"                                                                                   \
    "  - matches:\n"                                                                               \
    "    - method: {service: pkg.Echo, method: Echo}\n"                                            \
    "    - method: {service: pkg.Svc}\n"                                                           \
    "    - method: {method: Ping}\n"                                                               \
    "    - method: {type: RegularExpression, service: 'pkg\\.E.*', method: 'Get.+'}\n"             \
    "    - method: {service: 'bad/svc', method: Echo}\n"                                           \
    "      headers: [{name: version, value: two}]\n"                                               \
    "    filters:\n"                                                                               \
    "    - type: RequestHeaderModifier\n"                                                          \
    "      requestHeaderModifier: {set: [{name: x-grpc, value: 'yes'}]}\n"                         \
    "    - type: ResponseHeaderModifier\n"                                                         \
    "      responseHeaderModifier: {add: [{name: x-out, value: '1'}]}\n"                           \
    "    backendRefs:\n"                                                                           \
    "    - {name: grpc-infra-backend-v1, port: 8080, weight: 3}\n"                                 \
    "    - {name: grpc-infra-backend-v2, port: 8080, weight: 1}\n"                                 \
    "  - matches:\n"                                                                               \
    "    - headers: [{name: version, value: two}, {type: RegularExpression, name: color, "         \
    "value: 'or.*'}]\n"                                                                            \
    "    backendRefs: [{name: grpc-infra-backend-v2, port: 8080}]\n"

/* Method matches as paths, headers, the header-modifier filters, weights; grpc protocols; an
 * Exact name that is not a gRPC name is dropped with a reason; the test Kong accepts the result
 * and its router sends each gRPC path to its route. */
static void test_grpcroute_translation(void **state)
{
    struct tenv *t = *state;
    add_endpoint_slices(&t->env);
    add_yaml(&t->env, GRPC_MATCHES);
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    assert_int_equal(out.counts.grpc_routes, 1);
    json_object *doc = parse_config(&out);
    json_object *svc = find_service(doc, "grpcroute." INFRA ".gm.0");
    assert_non_null(svc);
    assert_string_equal(jstr_at(svc, "protocol"), "grpc");
    json_object *r = must_route(doc, "grpcroute." INFRA ".gm.0.0");
    assert_string_equal(jstr_at(r, "protocols.0"), "grpc");
    assert_null(get(r, "methods"));
    assert_string_equal(jstr_at(r, "paths.0"), "~/pkg\\.Echo/Echo$");
    assert_string_equal(jstr_at(r, "hosts.0"), "grpc.example.com");
    assert_string_equal(jstr_at(must_route(doc, "grpcroute." INFRA ".gm.0.1"), "paths.0"),
                        "~/pkg\\.Svc$");
    assert_string_equal(jstr_at(must_route(doc, "grpcroute." INFRA ".gm.0.1"), "paths.1"),
                        "~/pkg\\.Svc/");
    assert_string_equal(jstr_at(must_route(doc, "grpcroute." INFRA ".gm.0.2"), "paths.0"),
                        "~/[^/]+/Ping$");
    assert_string_equal(jstr_at(must_route(doc, "grpcroute." INFRA ".gm.0.3"), "paths.0"),
                        "~/(?:pkg\\.E.*)/(?:Get.+)$");
    assert_null(find_route(doc, "grpcroute." INFRA ".gm.0.4"));
    const struct kgc_translate_problem *p = find_problem(&out, "gm", 0, 4, KGC_TRANSLATE_DROPPED);
    assert_non_null(p);
    assert_int_equal(p->kind, KGC_API_GRPCROUTE);
    assert_non_null(strstr(p->message, "not a gRPC name"));
    assert_non_null(find_plugin(r, "request-transformer"));
    assert_non_null(find_plugin(r, "response-transformer"));
    json_object *r1 = must_route(doc, "grpcroute." INFRA ".gm.1.0");
    assert_string_equal(jstr_at(r1, "headers.version.0"), "two");
    assert_string_equal(jstr_at(r1, "headers.color.0"), "~*or.*");
    assert_string_equal(jstr_at(r1, "paths.0"), "/");
    json_object *up = find_named(get(doc, "upstreams"), "grpcroute." INFRA ".gm.0");
    assert_non_null(up);
    assert_int_equal(json_object_array_length(get(up, "targets")), 4); /* two endpoints each */
    assert_string_equal(jstr_at(up, "targets.0.weight"), "3750");      /* 3:1 per ten thousand */
    /* the status hook: the rule is partially invalid (one match dropped), not the route */
    struct kgc_status_route_verdict v;
    kgc_translate_route_verdict(
        &out, kgc_api_as_grpcroute(fixture_set_find(t->env.set, KGC_API_GRPCROUTE, INFRA, "gm")),
        &v);
    assert_null(v.accepted_reason);
    /* names lead back to the GRPCRoute */
    struct kgc_translate_owner o;
    assert_int_equal(kgc_translate_entity_owner("route", "grpcroute." INFRA ".gm.0.3", NULL, 0, &o),
                     0);
    assert_int_equal(o.kind, KGC_API_GRPCROUTE);
    assert_string_equal(o.name, "gm");
    assert_int_equal(o.rule, 0);
    assert_int_equal(o.match, 3);
    json_object_put(doc);
    kgc_translate_output_free(&out);

    /* the expressions flavour: the same matches as expressions, accepted */
    t->flavor = "expressions";
    translate(t, &out);
    assert_kong_accepts(&out, "expressions");
    doc = parse_config(&out);
    const char *e = jstr_at(must_route(doc, "grpcroute." INFRA ".gm.0.0.h0"), "expression");
    assert_non_null(strstr(e, "http.path == \"/pkg.Echo/Echo\""));
    assert_string_equal(jstr_at(must_route(doc, "grpcroute." INFRA ".gm.0.0.h0"), "protocols.0"),
                        "grpc");
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

/* A GRPCRoute rule's ExtensionRef filter attaches a KongPlugin to its Kong routes, as an
 * HTTPRoute's does (the issue: "attached through an HTTPRoute/GRPCRoute rule's ExtensionRef
 * filter"); a missing one makes the rule answer with kgc's request-termination, and the test Kong
 * accepts the gRPC service carrying it. */
static void test_grpcroute_plugins(void **state)
{
    struct tenv *t = *state;
    add_endpoint_slices(&t->env);
    add_yaml(&t->env,
             "apiVersion: configuration.konghq.com/v1\nkind: KongPlugin\n"
             "metadata: {name: grpc-hdr, namespace: " INFRA "}\nplugin: response-transformer\n"
             "config: {add: {headers: ['x-plugin:grpc']}}\n"
             "---\napiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\n"
             "metadata: {name: gx, namespace: " INFRA "}\n"
             "spec:\n"
             "  parentRefs: [{name: same-namespace}]\n"
             "  rules:\n"
             "  - matches: [{method: {service: pkg.Echo}}]\n"
             "    filters: [{type: ExtensionRef, extensionRef: {group: configuration.konghq.com,"
             " kind: KongPlugin, name: grpc-hdr}}]\n"
             "    backendRefs: [{name: grpc-infra-backend-v1, port: 8080}]\n"
             "  - matches: [{method: {service: pkg.Other}}]\n"
             "    filters: [{type: ExtensionRef, extensionRef: {group: configuration.konghq.com,"
             " kind: KongPlugin, name: missing}}]\n"
             "    backendRefs: [{name: grpc-infra-backend-v1, port: 8080}]\n");
    struct kgc_translate_output out;
    translate(t, &out);
    assert_kong_accepts(&out, NULL);
    json_object *doc = parse_config(&out);
    json_object *p =
        find_plugin(must_route(doc, "grpcroute." INFRA ".gx.0.0"), "response-transformer");
    assert_non_null(p);
    assert_string_equal(jstr_at(p, "config.add.headers.0"), "x-plugin:grpc");
    json_object *svc = find_service(doc, "grpcroute." INFRA ".gx.1");
    assert_non_null(svc);
    json_object *term = find_plugin(svc, "request-termination");
    assert_non_null(term);
    assert_int_equal(json_object_get_int(get(get(term, "config"), "status_code")), 500);
    struct kgc_status_route_verdict v;
    kgc_translate_route_verdict(
        &out, kgc_api_as_grpcroute(fixture_set_find(t->env.set, KGC_API_GRPCROUTE, INFRA, "gx")),
        &v);
    assert_string_equal(v.resolved_refs_reason, KGC_STATUS_R_BACKEND_NOT_FOUND);
    assert_non_null(strstr(v.resolved_refs_message, "KongPlugin " INFRA "/missing not found"));
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

/* GRPCRoute precedence (apis/v1/grpcroute_types.go, GRPCRouteRule, v1.6.1): "Characters in a
 * matching service", then "Characters in a matching method". A rule matching service a.Svc (any
 * method) and one matching method LongMethodName (any service) both match
 * /a.Svc/LongMethodName: the service's 5 characters win over none, however long the method —
 * under every flavour, through the test Kong's router (the proxy routes a gRPC request as http,
 * then checks the route's grpc protocol). Before, service and method characters were summed and
 * the method-only rule won. */
static void test_grpcroute_precedence(void **state)
{
    struct tenv *t = *state;
    add_endpoint_slices(&t->env);
    add_yaml(&t->env, "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\n"
                      "metadata: {name: gp, namespace: " INFRA "}\n"
                      "spec:\n"
                      "  parentRefs: [{name: same-namespace}]\n"
                      "  rules:\n"
                      "  - matches: [{method: {method: LongMethodName}}]\n"
                      "    backendRefs: [{name: grpc-infra-backend-v1, port: 8080}]\n"
                      "  - matches: [{method: {service: a.Svc}}]\n"
                      "    backendRefs: [{name: grpc-infra-backend-v2, port: 8080}]\n");
    static const char *const flavors[] = {"traditional_compatible", "expressions", "traditional"};
    for (size_t f = 0; f < sizeof(flavors) / sizeof(flavors[0]); f++) {
        t->flavor = flavors[f];
        struct kgc_translate_output out;
        translate(t, &out);
        assert_kong_accepts(&out, flavors[f]);
        json_object *doc = parse_config(&out);
        const struct kf_kv ct[] = {{"Content-Type", "application/grpc"}};
        char got[128];
        kong_pick(doc, flavors[f], "POST", "/a.Svc/LongMethodName", ct, 1, got, sizeof(got));
        if (strncmp(got, "grpcroute." INFRA ".gp.1.", strlen("grpcroute." INFRA ".gp.1.")) != 0)
            fail_msg("%s: picked \"%s\", want rule 1 (the service match) in %s", flavors[f], got,
                     json_object_to_json_string(get(doc, "services")));
        kong_pick(doc, flavors[f], "POST", "/b.Svc/LongMethodName", ct, 1, got, sizeof(got));
        if (strncmp(got, "grpcroute." INFRA ".gp.0.", strlen("grpcroute." INFRA ".gp.0.")) != 0)
            fail_msg("%s: picked \"%s\", want rule 0 (another service)", flavors[f], got);
        json_object_put(doc);
        kgc_translate_output_free(&out);
    }
}

/* A GRPCRoute change, and any change while GRPCRoutes exist, is translated in full by the
 * incremental translator (stats.why_full says so), with the document of kgc_translate(); once the
 * last GRPCRoute is gone, changes are incremental again. */
static void test_grpcroute_incremental_falls_back(void **state)
{
    struct tenv *t = *state;
    add_endpoint_slices(&t->env);
    load(&t->env, "httproute-simple-same-namespace.yaml");
    struct kgc_translate_state *st = kgc_translate_state_new();
    assert_non_null(st);
    struct kgc_translate_input in = {.lookup = &t->env.lk};
    struct kgc_translate_incr_stats stats;
    struct kgc_err err = {0};
    struct {
        const char *op;
        enum kgc_api_kind kind;
        const char *name;
        bool full;
        const char *why;
    } steps[] = {
        {"start", KGC_API_KIND_COUNT, NULL, true, NULL},
        {"add grpcroute", KGC_API_GRPCROUTE, "exact-matching", true, "a GRPCRoute changed"},
        {"service", KGC_API_SERVICE, "infra-backend-v1", true, "GRPCRoutes are present"},
        {"delete grpcroute", KGC_API_GRPCROUTE, "exact-matching", true, "GRPCRoute"},
        {"service again", KGC_API_SERVICE, "infra-backend-v1", false, NULL},
    };
    for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (i == 1)
            load(&t->env, "grpcroute-exact-method-matching.yaml");
        if (i == 3)
            fixture_set_remove(t->env.set, KGC_API_GRPCROUTE, INFRA, "exact-matching");
        struct kgc_translate_change ch = {steps[i].kind, INFRA, steps[i].name};
        struct kgc_translate_output full = {0}, inc = {0};
        assert_int_equal(kgc_translate(&in, &full, &err), 0);
        assert_int_equal(kgc_translate_incremental(st, &in, steps[i].name ? &ch : NULL,
                                                   steps[i].name ? 1 : 0, !steps[i].name, &inc,
                                                   &stats, &err),
                         0);
        incr_same(&full, &inc, i, steps[i].op);
        assert_int_equal(stats.full, steps[i].full);
        if (steps[i].why && !strstr(stats.why_full ? stats.why_full : "", steps[i].why))
            fail_msg("step %u: why_full \"%s\", want \"%s\"", i,
                     stats.why_full ? stats.why_full : "(none)", steps[i].why);
        assert_int_equal(full.counts.grpc_routes, i == 1 || i == 2 ? 1 : 0);
        kgc_translate_output_free(&full);
        kgc_translate_output_free(&inc);
    }
    kgc_translate_state_free(st);
}

/* A text of its own with n bytes of s (the seeds below). */
static struct kgc_translate_text *seed_text(const char *s, size_t n)
{
    struct kgc_translate_text *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->s = malloc(n + 1);
    assert_non_null(t->s);
    memcpy(t->s, s, n);
    t->s[n] = '\0';
    t->len = n;
    atomic_init(&t->refs, 1);
    return t;
}

/* Kong's priorities one for all, then not: the state skips the pass that finds out while the
 * routes planned since keep that priority, and must see the one that does not. uni-2 (the
 * longer path, first by the Gateway API) and uni-1 share a hostname; uni-1 gains a header match,
 * which Kong 3.9.1 weighs above any path (kong/router/transform.lua get_priority, tr_tc_priority):
 * a LIMITATION, the same as the full pass finds. */
static void uni_route(struct tenv *t, int i, const char *path, const char *headers)
{
    char yaml[700];
    snprintf(yaml, sizeof(yaml),
             "apiVersion: gateway.networking.k8s.io/v1\n"
             "kind: HTTPRoute\n"
             "metadata: {name: uni-%d, namespace: " INFRA
             ", creationTimestamp: '2026-01-0%dT00:00:00Z'}\n"
             "spec:\n"
             "  parentRefs: [{name: same-namespace}]\n"
             "  hostnames: [uni.example.com]\n"
             "  rules:\n"
             "  - matches: [{path: {type: PathPrefix, value: %s}%s}]\n"
             "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n",
             i, i, path, headers);
    add_yaml(&t->env, yaml);
}

/* One incremental call on st after route uni-<name>'s change, not a full one, compared with a
 * full translation (full and inc filled; the caller frees them). */
static void uni_step(struct kgc_translate_state *st, const struct kgc_translate_input *in,
                     const char *name, struct kgc_translate_output *full,
                     struct kgc_translate_output *inc, unsigned step, const char *op)
{
    struct kgc_translate_change ch = {KGC_API_HTTPROUTE, INFRA, name};
    struct kgc_translate_incr_stats stats;
    struct kgc_err err = {0};
    assert_int_equal(kgc_translate_incremental(st, in, &ch, 1, false, inc, &stats, &err), 0);
    assert_false(stats.full);
    assert_int_equal(kgc_translate(in, full, &err), 0);
    incr_same(full, inc, step, op);
}

static void test_incremental_priority_leaves_uniform(void **state)
{
    struct tenv *t = *state;
    uni_route(t, 1, "/uni", "");
    uni_route(t, 2, "/uni/longer", "");
    uni_route(t, 3, "/other", "");
    struct kgc_translate_input in = {.lookup = &t->env.lk};
    struct kgc_translate_state *st = kgc_translate_state_new();
    assert_non_null(st);
    struct kgc_translate_output full = {0}, inc = {0};
    struct kgc_translate_incr_stats stats;
    struct kgc_err err = {0};
    assert_int_equal(kgc_translate_incremental(st, &in, NULL, 0, false, &inc, &stats, &err), 0);
    kgc_translate_output_free(&inc);
    /* a change that keeps the one priority: nothing to say */
    uni_route(t, 3, "/other-path", "");
    uni_step(st, &in, "uni-3", &full, &inc, 1, "uni-3 path");
    size_t n = 0;
    kgc_translate_problems_of(&inc, KGC_API_HTTPROUTE, INFRA, "uni-1", &n);
    assert_int_equal(n, 0);
    kgc_translate_output_free(&inc);
    kgc_translate_output_free(&full);
    uni_route(t, 1, "/uni", ", headers: [{name: x-uni, value: one}]");
    uni_step(st, &in, "uni-1", &full, &inc, 2, "uni-1 header");
    const struct kgc_translate_problem *p =
        kgc_translate_problems_of(&inc, KGC_API_HTTPROUTE, INFRA, "uni-1", &n);
    bool said = false;
    for (size_t i = 0; i < n; i++)
        said = said || (p[i].severity == KGC_TRANSLATE_LIMITATION && strstr(p[i].message, "uni-2"));
    if (!said)
        fail_msg("uni-1 overtakes uni-2 in Kong: no LIMITATION naming it (%zu problems)", n);
    kgc_translate_output_free(&inc);
    kgc_translate_output_free(&full);
    kgc_translate_state_free(st);
}

/* kgc_translate_state_seed(): a call from nothing that makes the seed's bytes outputs the seed
 * itself (the syncer's text, not a second copy); a seed that differs anywhere (a byte, shorter,
 * longer) changes nothing in the output; the seed serves the next call only. */
static void test_incremental_seed(void **state)
{
    struct tenv *t = *state;
    add_endpoint_slices(&t->env);
    load(&t->env, "httproute-simple-same-namespace.yaml");
    struct kgc_translate_input in = {.lookup = &t->env.lk};
    struct kgc_err err = {0};
    struct kgc_translate_output full = {0};
    assert_int_equal(kgc_translate(&in, &full, &err), 0);
    size_t n = full.config_len;
    assert_true(n > 100);
    struct kgc_translate_text *same = seed_text(full.config, n);
    struct kgc_translate_text *flipped = seed_text(full.config, n);
    flipped->s[n / 2] = flipped->s[n / 2] == 'x' ? 'y' : 'x';
    struct kgc_translate_text *shorter = seed_text(full.config, n / 2);
    struct kgc_translate_text *longer = seed_text(full.config, n);
    longer->s = realloc(longer->s, n + 3);
    assert_non_null(longer->s);
    memcpy(longer->s + n, "xx", 3);
    longer->len = n + 2;
    struct {
        const char *op;
        struct kgc_translate_text *seed;
        bool everything, shared;
    } steps[] = {
        {"equal seed", same, true, true},
        {"no seed: the last one was for one call", NULL, true, false},
        {"a byte differs", flipped, true, false},
        {"shorter", shorter, true, false},
        {"longer", longer, true, false},
        {"equal seed again", same, true, true},
        {"not from nothing: the seed is not read", flipped, false, false},
    };
    struct kgc_translate_state *st = kgc_translate_state_new();
    assert_non_null(st);
    for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct kgc_translate_output inc = {0};
        struct kgc_translate_incr_stats stats;
        if (steps[i].seed)
            kgc_translate_state_seed(st, steps[i].seed);
        assert_int_equal(
            kgc_translate_incremental(st, &in, NULL, 0, steps[i].everything, &inc, &stats, &err),
            0);
        assert_int_equal(stats.full, steps[i].everything);
        incr_same(&full, &inc, i, steps[i].op);
        if (steps[i].shared != (inc.config == same->s))
            fail_msg("step %u (%s): output %s the seed", i, steps[i].op,
                     steps[i].shared ? "is not" : "is");
        kgc_translate_output_free(&inc);
    }
    kgc_translate_state_free(st);
    /* the state holds none of them any more: each is still its caller's, unchanged */
    assert_int_equal(atomic_load(&same->refs), 1);
    assert_int_equal(atomic_load(&flipped->refs), 1);
    assert_memory_equal(same->s, full.config, n);
    kgc_translate_text_unref(same);
    kgc_translate_text_unref(flipped);
    kgc_translate_text_unref(shorter);
    kgc_translate_text_unref(longer);
    kgc_translate_output_free(&full);
}

/* The Kong stream listen a listener is served on: 9000 + its port's last three digits (the
 * publish Service's mapping, as the syncer reads it from the Gateway status). */
static uint16_t stream_kong_port(void *ctx, const struct kgc_api_gateway *gw, uint32_t li)
{
    (void)ctx;
    return (uint16_t)(9000 + gw->listeners[li].port % 1000);
}

/* TCPRoute, UDPRoute, TLSRoute: destinations are the Kong stream listens (listener isolation by
 * port), a listener of another port gets no route, SNIs are the intersected hostnames; the
 * entity names lead back to the route; the incremental translation runs in full while stream
 * routes exist, with the full pass's bytes; a UDPRoute takes a Service's UDP port of a number
 * also served over TCP. */
static void test_stream_routes(void **state)
{
    struct tenv *t = *state;
    char err[FIXTURE_ERR_MAX];
    assert_int_equal(fixture_set_load(t->env.set, "tcproute-parentref-port-and-section-name.yaml",
                                      err, sizeof(err)),
                     0);
    add_yaml(&t->env,
             "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
             "metadata: {name: l4, namespace: " INFRA "}\n"
             "spec:\n  gatewayClassName: " FIXTURE_CLASS_NAME "\n  listeners:\n"
             "  - {name: udp, port: 5300, protocol: UDP}\n"
             "  - {name: pass, port: 443, protocol: TLS, hostname: '*.example.com', tls: {mode: "
             "Passthrough}}\n"
             "  - {name: pass2, port: 1444, protocol: TLS, hostname: other.net, tls: {mode: "
             "Passthrough}}\n"
             "---\napiVersion: v1\nkind: Service\nmetadata: {name: dns, namespace: " INFRA "}\n"
             "spec: {ports: [{name: dns-tcp, port: 53, protocol: TCP}, {name: dns, port: 53, "
             "protocol: UDP}]}\n"
             "---\napiVersion: gateway.networking.k8s.io/v1\nkind: UDPRoute\n"
             "metadata: {name: u, namespace: " INFRA "}\n"
             "spec: {parentRefs: [{name: l4}], rules: [{backendRefs: [{name: dns, port: 53}]}]}\n"
             "---\napiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\n"
             "metadata: {name: p, namespace: " INFRA "}\n"
             "spec: {parentRefs: [{name: l4}], hostnames: [a.example.com, '*.com', other.net], "
             "rules: [{backendRefs: [{name: dns, port: 53}]}]}\n");
    add_endpoint_slices(&t->env);
    struct kgc_translate_input in = {.lookup = &t->env.lk, .listener_kong_port = stream_kong_port};
    struct kgc_translate_output out = {0}, inc = {0};
    struct kgc_err e = {0};
    assert_int_equal(kgc_translate(&in, &out, &e), 0);
    assert_kong_accepts(&out, NULL);
    json_object *doc = parse_config(&out);
    /* tcp-route-by-section-and-port: sectionName three, port 9302 → Kong listen 9302 only */
    json_object *r = must_route(doc, "tcproute." INFRA ".tcp-route-by-section-and-port.0.0");
    assert_string_equal(jstr_at(r, "protocols.0"), "tcp");
    assert_int_equal(json_object_array_length(get(r, "destinations")), 1);
    assert_int_equal(
        json_object_get_int(get(json_object_array_get_idx(get(r, "destinations"), 0), "port")),
        9302);
    assert_string_equal(
        jstr_at(find_service(doc, "tcproute." INFRA ".tcp-route-by-port.0"), "protocol"), "tcp");
    json_object *u = find_service(doc, "udproute." INFRA ".u.0");
    assert_non_null(u);
    assert_string_equal(jstr_at(u, "protocol"), "udp");
    assert_null(find_problem(&out, "u", 0, -1, KGC_TRANSLATE_NOTE)); /* the UDP port was found */
    /* one Kong route per Kong port (k = 2 * port), each with its own listener's SNIs */
    json_object *p = must_route(doc, "tlsroute." INFRA ".p.0.18886");
    assert_string_equal(jstr_at(p, "protocols.0"), "tls_passthrough");
    assert_int_equal(json_object_array_length(get(p, "snis")), 2); /* not other.net */
    assert_string_equal(jstr_at(p, "snis.0"), "*.example.com");
    assert_string_equal(jstr_at(p, "snis.1"), "a.example.com");
    assert_int_equal(
        json_object_get_int(get(json_object_array_get_idx(get(p, "destinations"), 0), "port")),
        9443);
    json_object *p2 = must_route(doc, "tlsroute." INFRA ".p.0.18888");
    assert_int_equal(json_object_array_length(get(p2, "snis")), 1);
    assert_string_equal(jstr_at(p2, "snis.0"), "other.net");
    assert_int_equal(
        json_object_get_int(get(json_object_array_get_idx(get(p2, "destinations"), 0), "port")),
        9444);
    assert_null(find_route(doc, "tlsroute." INFRA ".p.0.18887")); /* no terminating listener */
    struct kgc_translate_owner o;
    assert_int_equal(kgc_translate_entity_owner("service", "udproute." INFRA ".u.0", NULL, 0, &o),
                     0);
    assert_int_equal(o.kind, KGC_API_UDPROUTE);
    assert_string_equal(o.name, "u");
    assert_int_equal(
        kgc_translate_entity_owner("route", "tlsroute." INFRA ".p.0.18886", NULL, 0, &o), 0);
    assert_int_equal(o.kind, KGC_API_TLSROUTE);
    assert_int_equal(o.rule, 0);
    struct kgc_translate_state *st = kgc_translate_state_new();
    struct kgc_translate_incr_stats stats;
    assert_int_equal(kgc_translate_incremental(st, &in, NULL, 0, false, &inc, &stats, &e), 0);
    assert_true(stats.full);
    assert_non_null(strstr(stats.why_full, "TCPRoutes"));
    assert_string_equal(inc.config, out.config);
    kgc_translate_output_free(&inc);
    kgc_translate_state_free(st);
    json_object_put(doc);
    kgc_translate_output_free(&out);
}

int main(void)

{
#define G(i)                                                                                       \
    cmocka_unit_test_prestate_setup_teardown(golden_##i, golden_setup, tenv_teardown,              \
                                             (void *)&GOLDEN[i])
    const struct CMUnitTest tests[] = {
        G(0),  G(1),  G(2),  G(3),  G(4),  G(5),  G(6),  G(7),  G(8),  G(9),  G(10),
        G(11), G(12), G(13), G(14), G(15), G(16), G(17), G(18), G(19), G(20), G(21),
        G(22), G(23), G(24), G(25), G(26), G(27), G(28), G(29), G(30), G(31), G(32),
        G(33), G(34), G(35), G(36), G(37), G(38), G(39), G(40), G(41), G(42), G(43),
    };
    _Static_assert(sizeof(GOLDEN) / sizeof(GOLDEN[0]) == 44, "one test per golden case");
    const struct CMUnitTest units[] = {
        cmocka_unit_test_setup_teardown(test_deterministic, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_incremental_matches_full, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_kong_ties_grouped_by_hostname, unit_setup,
                                        tenv_teardown),
        cmocka_unit_test_setup_teardown(test_grpcroute_translation, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_grpcroute_precedence, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_grpcroute_plugins, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_stream_routes, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_grpcroute_incremental_falls_back, unit_setup,
                                        tenv_teardown),
        cmocka_unit_test_setup_teardown(test_incremental_seed, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_incremental_priority_leaves_uniform, unit_setup,
                                        tenv_teardown),
        cmocka_unit_test_setup_teardown(test_kong_plugins, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_global_plugins, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_kong_plugin_config_from, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_precedence_paths, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_precedence_hosts_and_ties, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_weights, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_unresolvable_backends_answer_500, unit_setup,
                                        tenv_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_backend_fallback, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_query_params_per_flavor, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_filters_reported, unit_setup,
                                        tenv_teardown),
        cmocka_unit_test_setup_teardown(test_redirects_per_kong_version, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_redirects_through_proxy, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_rewrites, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_certificates, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_tag_kong_refuses_left_out, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_hostless_https_listener_certificate, unit_setup,
                                        tenv_teardown),
        cmocka_unit_test_setup_teardown(test_listener_scope, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_https_listener_hosts, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_unusable_listeners_carry_no_routes, unit_setup,
                                        tenv_teardown),
        cmocka_unit_test_setup_teardown(test_hostile_values_never_reach_kong, unit_setup,
                                        tenv_teardown),
        cmocka_unit_test_setup_teardown(test_regex_portability, unit_setup, tenv_teardown),
        cmocka_unit_test(test_entity_owner),
        cmocka_unit_test_setup_teardown(test_every_entity_maps_back, unit_setup, tenv_teardown),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test_setup_teardown(test_listener_isolation, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_kong_limitation_relative_location, unit_setup,
                                        tenv_teardown),
        cmocka_unit_test_setup_teardown(test_kong_limitation_precedence, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_kong_ties_follow_rank, unit_setup, tenv_teardown),
        cmocka_unit_test_setup_teardown(test_kong_limitation_cross_route, unit_setup,
                                        tenv_teardown),
        cmocka_unit_test_setup_teardown(test_kong_limitation_shared_listen, unit_setup,
                                        tenv_teardown),
    };
    int failed = cmocka_run_group_tests_name("golden", tests, NULL, NULL);
    return failed + cmocka_run_group_tests_name("translate", units, NULL, NULL);
}

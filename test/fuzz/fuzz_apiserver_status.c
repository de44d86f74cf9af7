/* libFuzzer target: a merge patch of a custom resource's /status in the test API server
 * (test/fakes/apiserver/objstore.c), whose body comes from the network. The store writes such a
 * patch on a lean path (status_write_lean(): the stored text scanned for its members, only the
 * status parsed, checked by the schema and spliced back) and takes the whole-tree path for a dry
 * run; both must answer alike. Per input: a fresh store with a CRD whose status has a schema, one
 * object (with or without a status, by the first byte), then the rest of the input as the patch,
 * first as a dry run (whole tree), then for real (lean). Checked: the same HTTP code; on success
 * the same object text but for metadata.resourceVersion and managedFields; the object GET returns
 * afterwards is the real patch's answer. ASan/UBSan catch the rest.
 *
 *   make BUILD=build-fuzz CC=clang SAN=fuzz OPT="-O1 -g" build-fuzz/fuzz/fuzz_apiserver_status
 *   build-fuzz/fuzz/fuzz_apiserver_status test/fuzz/corpus/fuzz_apiserver_status */
#include "../fakes/apiserver/objstore.h"
#include "kgc/log.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CRD                                                                                        \
    "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","           \
    "\"metadata\":{\"name\":\"widgets.example.com\"},\"spec\":{\"group\":\"example.com\","         \
    "\"scope\":\"Namespaced\",\"names\":{\"kind\":\"Widget\",\"plural\":\"widgets\"},"             \
    "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,\"subresources\":"            \
    "{\"status\":{}},\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"properties\":{"        \
    "\"spec\":{\"type\":\"object\",\"properties\":{\"size\":{\"type\":\"integer\"}}},"             \
    "\"status\":{\"type\":\"object\",\"properties\":{"                                             \
    "\"phase\":{\"type\":\"string\",\"enum\":[\"Ready\",\"Pending\"],\"default\":\"Pending\"},"    \
    "\"note\":{\"type\":\"string\",\"maxLength\":16,\"pattern\":\"^[a-z]*$\"},"                    \
    "\"conditions\":{\"type\":\"array\",\"maxItems\":4,\"items\":{\"type\":\"object\","            \
    "\"required\":[\"type\",\"status\"],\"properties\":{\"type\":{\"type\":\"string\"},"           \
    "\"status\":{\"type\":\"string\",\"enum\":[\"True\",\"False\",\"Unknown\"]},"                  \
    "\"observedGeneration\":{\"type\":\"integer\",\"minimum\":0}}}},"                              \
    "\"extra\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}}}}}}}]}}"

static const struct fas_target widgets = {
    .group = "example.com", .version = "v1", .plural = "widgets", .ns = "default"};

/* The object's text without metadata.resourceVersion and managedFields, or NULL (not JSON). */
static char *normalised(const char *body)
{
    json_object *j = json_tokener_parse(body);
    if (!j)
        return NULL;
    json_object *meta = NULL;
    if (json_object_object_get_ex(j, "metadata", &meta)) {
        json_object_object_del(meta, "resourceVersion");
        json_object_object_del(meta, "managedFields");
    }
    char *s = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
    json_object_put(j);
    return s;
}

static void reply(struct fas_reply *r)
{
    fas_reply_free(r);
    fas_reply_init(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384)
        return 0;
    kgc_log_setup(KGC_LOG_OFF, KGC_LOG_TEXT, STDERR_FILENO);
    struct fas_store_opts so = {.history = 100, .namespace_cleanup_ms = 0};
    struct fas_store *s = NULL;
    if (fas_store_new(&so, &s))
        return 0;
    struct fas_write_opts wo = {0}, dry = {.dry_run = true};
    struct fas_reply r;
    fas_reply_init(&r);
    struct fas_target crd = {
        .group = "apiextensions.k8s.io", .version = "v1", .plural = "customresourcedefinitions"};
    fas_store_create(s, &crd, CRD, strlen(CRD), &wo, &r);
    if (r.code != 201) {
        fprintf(stderr, "CRD: %d %s\n", r.code, r.body ? r.body : "");
        abort();
    }
    static const char obj[] = "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\","
                              "\"metadata\":{\"name\":\"w\",\"labels\":{\"a\":\"b\"}},"
                              "\"spec\":{\"size\":3}}";
    reply(&r);
    fas_store_create(s, &widgets, obj, strlen(obj), &wo, &r);
    if (r.code != 201) {
        fprintf(stderr, "object: %d %s\n", r.code, r.body ? r.body : "");
        abort();
    }
    struct fas_target st = widgets;
    st.name = "w";
    st.subresource = "status";
    if (data[0] & 1) { /* a status already there */
        static const char first[] =
            "{\"status\":{\"phase\":\"Ready\",\"conditions\":[{\"type\":\"Accepted\","
            "\"status\":\"True\",\"observedGeneration\":1}],\"extra\":{\"k\":[1,{\"x\":null}]}}}";
        reply(&r);
        fas_store_patch(s, &st, "application/merge-patch+json", first, strlen(first), &wo, &r);
        if (r.code != 200) {
            fprintf(stderr, "first status: %d %s\n", r.code, r.body ? r.body : "");
            abort();
        }
    }
    const char *body = (const char *)data + 1;
    size_t len = size - 1;

    struct fas_reply whole, lean;
    fas_reply_init(&whole);
    fas_reply_init(&lean);
    fas_store_patch(s, &st, "application/merge-patch+json", body, len, &dry, &whole);
    fas_store_patch(s, &st, "application/merge-patch+json", body, len, &wo, &lean);
    if (whole.code != lean.code) {
        fprintf(stderr, "dry run %d, write %d\n%s\n%s\n", whole.code, lean.code,
                whole.body ? whole.body : "", lean.body ? lean.body : "");
        abort();
    }
    if (lean.code == 200) {
        char *a = normalised(whole.body), *b = normalised(lean.body);
        if (!a || !b || strcmp(a, b) != 0) {
            fprintf(stderr, "dry run and write differ:\n%s\n%s\n", a ? a : whole.body,
                    b ? b : lean.body);
            abort();
        }
        free(a);
        free(b);
        struct fas_target one = widgets;
        one.name = "w";
        reply(&r);
        fas_store_get(s, &one, false, &r);
        if (r.code != 200 || !r.body || !lean.body || strcmp(r.body, lean.body) != 0) {
            fprintf(stderr, "stored object differs from the answer:\n%s\n%s\n",
                    r.body ? r.body : "", lean.body ? lean.body : "");
            abort();
        }
    }
    fas_reply_free(&whole);
    fas_reply_free(&lean);
    fas_reply_free(&r);
    fas_store_free(s);
    return 0;
}

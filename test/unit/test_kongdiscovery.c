/* kongdiscovery: Kong instances follow the admin Service's EndpointSlices in the cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kgc/kongdiscovery.h"

#include <stdio.h>
#include <string.h>

/* Loopback addresses with a closed port: probers may run but reach nothing outside. */
static const char slice_a[] =
    "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":"
    "\"kong-admin-a\",\"namespace\":\"kong\",\"resourceVersion\":\"%d\",\"labels\":{"
    "\"kubernetes.io/service-name\":\"kong-admin\",\"endpointslice.kubernetes.io/managed-by\":"
    "\"endpointslice-controller.k8s.io\"},\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":"
    "\"Service\",\"name\":\"kong-admin\",\"uid\":\"u-1\",\"controller\":true,"
    "\"blockOwnerDeletion\":true}]},\"addressType\":\"IPv4\",\"ports\":[{"
    "\"name\":\"admin\",\"port\":9},{\"name\":\"proxy\",\"port\":8000}],\"endpoints\":["
    "{\"addresses\":[\"127.0.0.11\"],\"conditions\":{\"ready\":true}},"
    "{\"addresses\":[\"127.0.0.12\"],\"conditions\":{\"ready\":false,\"serving\":false}},"
    "{\"addresses\":[\"127.0.0.13\"],\"conditions\":{\"ready\":false,\"serving\":true,"
    "\"terminating\":true}},"
    "{\"addresses\":[\"127.0.0.14\"],\"conditions\":{\"ready\":false,\"serving\":true}}%s]}";

static const char other_service[] =
    "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":"
    "\"web\",\"namespace\":\"kong\",\"resourceVersion\":\"50\",\"labels\":{"
    "\"kubernetes.io/service-name\":\"web\"}},\"addressType\":\"IPv4\",\"ports\":[{\"name\":"
    "\"admin\",\"port\":9}],\"endpoints\":[{\"addresses\":[\"127.0.0.99\"]}]}";

static void upsert(struct kgc_cache *cache, const char *json)
{
    struct kgc_api_obj *obj = NULL;
    struct kgc_err err = {0};
    assert_int_equal(kgc_api_parse_text(KGC_API_ENDPOINTSLICE, json, strlen(json), &obj, &err), 0);
    assert_int_equal(kgc_cache_upsert(cache, obj, NULL), 0);
}

/* The registry's URLs joined with spaces. */
static void urls(struct kgc_kong *k, char *buf, size_t size)
{
    struct kgc_kong_instance_state *st = NULL;
    size_t n = 0;
    assert_int_equal(kgc_kong_states(k, &st, &n), 0);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? " " : "", st[i].url);
    kgc_kong_states_free(st, n);
}

static void test_instances_follow_ready_or_serving_endpoints(void **state)
{
    (void)state;
    struct kgc_err err = {0};
    struct kgc_cache *cache = kgc_cache_new();
    struct kgc_kong_options ko;
    kgc_kong_options_default(&ko);
    struct kgc_kong *k = NULL;
    assert_int_equal(kgc_kong_new(&ko, &k, &err), 0);
    struct kgc_kongdiscovery *d = NULL;
    assert_int_equal(kgc_kongdiscovery_new(k, cache, "kong/kong-admin", "admin", &d, &err), 0);

    char json[2048], got[512];
    snprintf(json, sizeof(json), slice_a, 1, "");
    upsert(cache, json);
    urls(k, got, sizeof(got));
    /* ready → in; not ready and not serving → out; terminating → out; serving → in */
    assert_string_equal(got, "http://127.0.0.11:9 http://127.0.0.14:9");

    upsert(cache, other_service); /* another Service's slice changes nothing */
    urls(k, got, sizeof(got));
    assert_string_equal(got, "http://127.0.0.11:9 http://127.0.0.14:9");

    snprintf(json, sizeof(json), slice_a, 2,
             ",{\"addresses\":[\"127.0.0.15\"],\"conditions\":{\"ready\":true}}");
    upsert(cache, json);
    urls(k, got, sizeof(got));
    assert_string_equal(got, "http://127.0.0.11:9 http://127.0.0.14:9 http://127.0.0.15:9");

    assert_int_equal(kgc_cache_delete(cache, KGC_API_ENDPOINTSLICE, "kong/kong-admin-a"), 0);
    urls(k, got, sizeof(got));
    assert_string_equal(got, "");

    kgc_kong_stop(k);
    kgc_kong_free(k);
    kgc_cache_free(cache);
    kgc_kongdiscovery_free(d);
}

/* A slice of the Service with LABELS (JSON members) and OWNERS (a JSON array), address ADDR. */
static void rogue(struct kgc_cache *cache, const char *name, const char *labels, const char *owners,
                  const char *addr)
{
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{"
             "\"name\":\"%s\",\"namespace\":\"kong\",\"resourceVersion\":\"7\",\"labels\":{%s},"
             "\"ownerReferences\":%s},\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"admin\","
             "\"port\":9}],\"endpoints\":[{\"addresses\":[\"%s\"]}]}",
             name, labels, owners, addr);
    upsert(cache, json);
}

#define SVC_LABEL "\"kubernetes.io/service-name\":\"kong-admin\""
#define MANAGED   "\"endpointslice.kubernetes.io/managed-by\":\"endpointslice-controller.k8s.io\""
#define OWNER(uid)                                                                                 \
    "[{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"name\":\"kong-admin\",\"uid\":\"" uid          \
    "\",\"controller\":true}]"

/* Issue #17: a slice anyone can create with the service-name label must not receive pushes. Only
 * the EndpointSlice controller's slices for the Service count. */
static void test_only_controller_slices_are_trusted(void **state)
{
    (void)state;
    struct kgc_err err = {0};
    struct kgc_cache *cache = kgc_cache_new();
    struct kgc_kong_options ko;
    kgc_kong_options_default(&ko);
    struct kgc_kong *k = NULL;
    assert_int_equal(kgc_kong_new(&ko, &k, &err), 0);
    struct kgc_kongdiscovery *d = NULL;
    assert_int_equal(kgc_kongdiscovery_new(k, cache, "kong/kong-admin", "admin", &d, &err), 0);
    char got[512];

    rogue(cache, "good", SVC_LABEL "," MANAGED, OWNER("u-1"), "127.0.0.21");
    rogue(cache, "label-only", SVC_LABEL, "[]", "127.0.0.22");
    rogue(cache, "other-manager", SVC_LABEL ",\"endpointslice.kubernetes.io/managed-by\":\"me\"",
          OWNER("u-1"), "127.0.0.23");
    rogue(cache, "no-owner", SVC_LABEL "," MANAGED, "[]", "127.0.0.24");
    rogue(cache, "not-controller", SVC_LABEL "," MANAGED,
          "[{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"name\":\"kong-admin\",\"uid\":\"u-1\"}]",
          "127.0.0.25");
    rogue(cache, "owner-other-kind", SVC_LABEL "," MANAGED,
          "[{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"name\":\"kong-admin\",\"controller\":true}]",
          "127.0.0.26");
    rogue(cache, "stale-uid", SVC_LABEL "," MANAGED, OWNER("u-old"), "127.0.0.27");
    urls(k, got, sizeof(got));
    /* the Service's uid is unknown (not cached): the name is all that can be checked */
    assert_string_equal(got, "http://127.0.0.21:9 http://127.0.0.27:9");

    /* The Service arrives: the slice owned by another (deleted) Service of that name goes. */
    const char svc[] = "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
                       "\"kong-admin\",\"namespace\":\"kong\",\"uid\":\"u-1\",\"resourceVersion\":"
                       "\"3\"},\"spec\":{\"ports\":[{\"name\":\"admin\",\"port\":8001}]}}";
    struct kgc_api_obj *obj = NULL;
    assert_int_equal(kgc_api_parse_text(KGC_API_SERVICE, svc, strlen(svc), &obj, &err), 0);
    assert_int_equal(kgc_cache_upsert(cache, obj, NULL), 0);
    urls(k, got, sizeof(got));
    assert_string_equal(got, "http://127.0.0.21:9");

    kgc_kong_stop(k);
    kgc_kong_free(k);
    kgc_cache_free(cache);
    kgc_kongdiscovery_free(d);
}

static void test_untrusted_reasons(void **state)
{
    (void)state;
    struct kgc_api_endpointslice s;
    memset(&s, 0, sizeof(s));
    s.service_name = "kong-admin";
    assert_non_null(strstr(kgc_kongdiscovery_untrusted(&s, "kong-admin", NULL), "managed-by"));
    s.managed_by = "endpointslice-controller.k8s.io";
    assert_non_null(strstr(kgc_kongdiscovery_untrusted(&s, "kong-admin", NULL), "ownerReference"));
    s.owner_service_name = "kong-admin";
    assert_null(kgc_kongdiscovery_untrusted(&s, "kong-admin", NULL));
    assert_non_null(strstr(kgc_kongdiscovery_untrusted(&s, "kong-admin", "u-1"), "uid"));
    s.owner_service_uid = "u-1";
    assert_null(kgc_kongdiscovery_untrusted(&s, "kong-admin", "u-1"));
    assert_non_null(kgc_kongdiscovery_untrusted(&s, "other", "u-1"));
}

static void test_bad_service_reference_is_a_clear_error(void **state)
{
    (void)state;
    struct kgc_err err = {0};
    struct kgc_kongdiscovery *d = NULL;
    assert_int_equal(kgc_kongdiscovery_new(NULL, NULL, "kong-admin", "admin", &d, &err),
                     KGC_EINVAL);
    assert_non_null(strstr(err.msg, "--kong-admin-service: \"kong-admin\" is not NAMESPACE/NAME"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instances_follow_ready_or_serving_endpoints),
        cmocka_unit_test(test_only_controller_slices_are_trusted),
        cmocka_unit_test(test_untrusted_reasons),
        cmocka_unit_test(test_bad_service_reference_is_a_clear_error),
    };
    return cmocka_run_group_tests_name("kongdiscovery", tests, NULL, NULL);
}

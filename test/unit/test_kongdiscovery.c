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
    "\"kubernetes.io/service-name\":\"kong-admin\"}},\"addressType\":\"IPv4\",\"ports\":[{"
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
    struct kgc_kong_discovery *d = NULL;
    assert_int_equal(kgc_kong_discovery_new(k, cache, "kong/kong-admin", "admin", &d, &err), 0);

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
    kgc_kong_discovery_free(d);
}

static void test_bad_service_reference_is_a_clear_error(void **state)
{
    (void)state;
    struct kgc_err err = {0};
    struct kgc_kong_discovery *d = NULL;
    assert_int_equal(kgc_kong_discovery_new(NULL, NULL, "kong-admin", "admin", &d, &err),
                     KGC_EINVAL);
    assert_non_null(strstr(err.msg, "--kong-admin-service: \"kong-admin\" is not NAMESPACE/NAME"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instances_follow_ready_or_serving_endpoints),
        cmocka_unit_test(test_bad_service_reference_is_a_clear_error),
    };
    return cmocka_run_group_tests_name("kongdiscovery", tests, NULL, NULL);
}

/* cache: store semantics, handlers (old/new), replace with synthetic deletes, indexes kept right
 * through updates, the dump, and readers racing a writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kgc/api.h"
#include "kgc/cache.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct kgc_api_obj *objf(enum kgc_api_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static struct kgc_api_obj *objf(enum kgc_api_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *json = NULL;
    assert_true(vasprintf(&json, fmt, ap) > 0);
    va_end(ap);
    struct kgc_api_obj *o = NULL;
    struct kgc_err err = {0};
    if (kgc_api_parse_text(kind, json, strlen(json), &o, &err) != 0)
        fail_msg("%s: %s", json, err.msg);
    free(json);
    return o;
}

static struct kgc_api_obj *route(const char *ns, const char *name, const char *rv,
                                 const char *parent, const char *backend)
{
    return objf(KGC_API_HTTPROUTE,
                "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"resourceVersion\":\"%s\"},"
                "\"spec\":{\"parentRefs\":[{\"name\":\"%s\"},{\"name\":\"%s\",\"sectionName\":"
                "\"x\"},{\"kind\":\"Service\",\"name\":\"mesh\"}],\"rules\":[{\"backendRefs\":[{"
                "\"name\":\"%s\",\"port\":80},{\"name\":\"remote\",\"namespace\":\"far\","
                "\"port\":80},{\"group\":\"example.com\",\"kind\":\"Bucket\",\"name\":\"b\"}]}]}}",
                name, ns, rv, parent, parent, backend);
}

static struct kgc_api_obj *svc(const char *ns, const char *name, const char *rv)
{
    return objf(KGC_API_SERVICE,
                "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"resourceVersion\":\"%s\"},"
                "\"spec\":{\"ports\":[{\"port\":80}]}}",
                name, ns, rv);
}

/* --- handler recorder ------------------------------------------------------------------------- */

struct rec {
    char log[64][96];
    int n;
};

static void record(enum kgc_api_kind kind, const struct kgc_api_obj *old_obj,
                   const struct kgc_api_obj *new_obj, void *ctx)
{
    struct rec *r = ctx;
    assert_true(r->n < 64);
    const char *op = !old_obj             ? "add"
                     : !new_obj           ? "delete"
                     : old_obj == new_obj ? "resync"
                                          : "update";
    const struct kgc_api_obj *o = new_obj ? new_obj : old_obj;
    if (!o)
        return; /* never: the cache always passes one */
    assert_int_equal(o->kind, kind);
    snprintf(r->log[r->n++], sizeof(r->log[0]), "%s %s %s%s%s", op, o->meta.key,
             old_obj ? old_obj->meta.resource_version : "", new_obj && old_obj ? "->" : "",
             new_obj ? new_obj->meta.resource_version : "");
}

static bool logged(const struct rec *r, const char *line)
{
    for (int i = 0; i < r->n; i++) {
        if (strcmp(r->log[i], line) == 0)
            return true;
    }
    return false;
}

static void test_upsert_get_delete_and_handlers(void **state)
{
    (void)state;
    struct kgc_cache *c = kgc_cache_new();
    struct rec r = {0};
    assert_int_equal(kgc_cache_add_handler(c, KGC_API_SERVICE, record, &r), 0);
    bool changed;
    assert_int_equal(kgc_cache_upsert(c, svc("n", "a", "1"), &changed), 0);
    assert_true(changed);
    assert_int_equal(kgc_cache_upsert(c, svc("n", "a", "1"), &changed), 0); /* same version */
    assert_false(changed);
    assert_int_equal(kgc_cache_upsert(c, svc("n", "a", "2"), &changed), 0);
    assert_true(changed);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.log[0], "add n/a 1");
    assert_string_equal(r.log[1], "update n/a 1->2");

    const struct kgc_api_obj *o = kgc_cache_get(c, KGC_API_SERVICE, "n", "a");
    assert_non_null(o);
    assert_string_equal(o->meta.resource_version, "2");
    assert_null(kgc_cache_get(c, KGC_API_SERVICE, "n", "b"));
    assert_null(kgc_cache_get(c, KGC_API_HTTPROUTE, "n", "a"));
    assert_int_equal(kgc_cache_count(c, KGC_API_SERVICE), 1);
    assert_int_equal(kgc_cache_bytes(c, KGC_API_SERVICE), o->size);

    assert_int_equal(kgc_cache_delete(c, KGC_API_SERVICE, "n/a"), 0);
    assert_int_equal(kgc_cache_delete(c, KGC_API_SERVICE, "n/a"), KGC_ENOENT);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.log[2], "delete n/a 2");
    /* the reader's reference outlives the delete */
    assert_string_equal(o->meta.name, "a");
    kgc_api_obj_unref(o);
    assert_int_equal(kgc_cache_count(c, KGC_API_SERVICE), 0);
    assert_int_equal(kgc_cache_bytes(c, KGC_API_SERVICE), 0);

    assert_int_equal(kgc_cache_upsert(c, svc("n", "a", "3"), NULL), 0);
    assert_int_equal(kgc_cache_resync(c, KGC_API_SERVICE), 1);
    assert_string_equal(r.log[r.n - 1], "resync n/a 3->3");
    kgc_cache_free(c);
}

static void test_replace_emits_synthetic_deletes(void **state)
{
    (void)state;
    struct kgc_cache *c = kgc_cache_new();
    struct rec r = {0};
    kgc_cache_add_handler(c, KGC_API_SERVICE, record, &r);
    struct kgc_api_obj *first[] = {svc("n", "a", "1"), svc("n", "b", "1"), svc("m", "c", "1")};
    struct kgc_cache_replace_result res;
    assert_int_equal(kgc_cache_replace(c, KGC_API_SERVICE, first, 3, &res), 0);
    assert_int_equal(res.added, 3);
    assert_int_equal(r.n, 3);

    r.n = 0;
    /* a: unchanged, b: vanished, c: updated, d: new; the duplicate key keeps the last */
    struct kgc_api_obj *second[] = {svc("n", "a", "1"), svc("m", "c", "2"), svc("n", "d", "0"),
                                    svc("n", "d", "2")};
    assert_int_equal(kgc_cache_replace(c, KGC_API_SERVICE, second, 4, &res), 0);
    assert_int_equal(res.unchanged, 1);
    assert_int_equal(res.updated, 1);
    assert_int_equal(res.added, 1);
    assert_int_equal(res.deleted, 1);
    assert_int_equal(r.n, 3);
    assert_true(logged(&r, "delete n/b 1"));
    assert_true(logged(&r, "update m/c 1->2"));
    assert_true(logged(&r, "add n/d 2"));
    assert_int_equal(kgc_cache_count(c, KGC_API_SERVICE), 3);

    r.n = 0;
    assert_int_equal(kgc_cache_replace(c, KGC_API_SERVICE, NULL, 0, &res), 0);
    assert_int_equal(res.deleted, 3);
    assert_int_equal(kgc_cache_count(c, KGC_API_SERVICE), 0);
    assert_int_equal(kgc_cache_bytes(c, KGC_API_SERVICE), 0);
    kgc_cache_free(c);
}

static size_t index_count(struct kgc_cache *c, enum kgc_cache_index idx, const char *value)
{
    struct kgc_cache_list l;
    assert_int_equal(kgc_cache_by_index(c, idx, value, &l), 0);
    size_t n = l.n;
    kgc_cache_list_release(&l);
    return n;
}

static void test_indexes_follow_updates(void **state)
{
    (void)state;
    struct kgc_cache *c = kgc_cache_new();
    kgc_cache_upsert(c, route("apps", "r1", "1", "gw", "svc1"), NULL);
    kgc_cache_upsert(c, route("apps", "r2", "1", "gw", "svc2"), NULL);
    kgc_cache_upsert(c, route("web", "r3", "1", "gw", "svc1"), NULL);
    /* default parent namespace is the route's; two refs to one Gateway index once */
    assert_int_equal(index_count(c, KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY, "apps/gw"), 2);
    assert_int_equal(index_count(c, KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY, "web/gw"), 1);
    /* a parentRef of another kind is not a Gateway */
    assert_int_equal(index_count(c, KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY, "apps/mesh"), 0);
    assert_int_equal(index_count(c, KGC_CACHE_IDX_HTTPROUTE_BY_SERVICE, "apps/svc1"), 1);
    assert_int_equal(index_count(c, KGC_CACHE_IDX_HTTPROUTE_BY_SERVICE, "far/remote"), 3);
    assert_int_equal(index_count(c, KGC_CACHE_IDX_HTTPROUTE_BY_SERVICE, "apps/b"), 0);

    /* r1 moves to another Gateway: the index follows */
    kgc_cache_upsert(c, route("apps", "r1", "2", "other", "svc1"), NULL);
    assert_int_equal(index_count(c, KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY, "apps/gw"), 1);
    assert_int_equal(index_count(c, KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY, "apps/other"), 1);
    struct kgc_cache_list l;
    kgc_cache_by_index(c, KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY, "apps/other", &l);
    assert_string_equal(l.items[0]->meta.resource_version, "2");
    kgc_cache_list_release(&l);
    kgc_cache_delete(c, KGC_API_HTTPROUTE, "apps/r2");
    assert_int_equal(index_count(c, KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY, "apps/gw"), 0);
    assert_false(kgc_cache_index_has(c, KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY, "apps/gw"));

    /* a replace rebuilds the indexes */
    struct kgc_api_obj *all[] = {route("x", "r9", "5", "gw", "s")};
    kgc_cache_replace(c, KGC_API_HTTPROUTE, all, 1, NULL);
    assert_int_equal(index_count(c, KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY, "apps/other"), 0);
    assert_int_equal(index_count(c, KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY, "x/gw"), 1);
    assert_int_equal(index_count(c, KGC_CACHE_IDX_HTTPROUTE_BY_SERVICE, "far/remote"), 1);

    /* Gateways by class and by certificate Secret */
    const char *gw = "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"infra\",\"resourceVersion\":"
                     "\"%s\"},\"spec\":{\"gatewayClassName\":\"%s\",\"listeners\":[{\"name\":\"h\","
                     "\"port\":443,\"protocol\":\"HTTPS\",\"tls\":{\"certificateRefs\":[{\"name\":"
                     "\"%s\"},{\"name\":\"shared\",\"namespace\":\"certs\"},{\"group\":\"x.io\","
                     "\"kind\":\"Vault\",\"name\":\"v\"}]}}]}}";
    kgc_cache_upsert(c, objf(KGC_API_GATEWAY, gw, "g1", "1", "kong", "c1"), NULL);
    kgc_cache_upsert(c, objf(KGC_API_GATEWAY, gw, "g2", "1", "kong", "c2"), NULL);
    assert_int_equal(index_count(c, KGC_CACHE_IDX_GATEWAY_BY_CLASS, "kong"), 2);
    assert_true(kgc_cache_index_has(c, KGC_CACHE_IDX_GATEWAY_BY_SECRET, "infra/c1"));
    assert_int_equal(index_count(c, KGC_CACHE_IDX_GATEWAY_BY_SECRET, "certs/shared"), 2);
    assert_false(kgc_cache_index_has(c, KGC_CACHE_IDX_GATEWAY_BY_SECRET, "infra/v"));
    kgc_cache_upsert(c, objf(KGC_API_GATEWAY, gw, "g2", "2", "other", "c3"), NULL);
    assert_int_equal(index_count(c, KGC_CACHE_IDX_GATEWAY_BY_CLASS, "kong"), 1);
    assert_int_equal(index_count(c, KGC_CACHE_IDX_GATEWAY_BY_CLASS, "other"), 1);
    assert_false(kgc_cache_index_has(c, KGC_CACHE_IDX_GATEWAY_BY_SECRET, "infra/c2"));
    assert_true(kgc_cache_index_has(c, KGC_CACHE_IDX_GATEWAY_BY_SECRET, "infra/c3"));

    /* EndpointSlices by Service, grants by namespace */
    const char *eps = "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"apps\",\"labels\":{"
                      "\"kubernetes.io/service-name\":\"%s\"}},\"addressType\":\"IPv4\"}";
    kgc_cache_upsert(c, objf(KGC_API_ENDPOINTSLICE, eps, "s1-a", "s1"), NULL);
    kgc_cache_upsert(c, objf(KGC_API_ENDPOINTSLICE, eps, "s1-b", "s1"), NULL);
    kgc_cache_upsert(c, objf(KGC_API_ENDPOINTSLICE, eps, "s2-a", "s2"), NULL);
    assert_int_equal(index_count(c, KGC_CACHE_IDX_ENDPOINTSLICE_BY_SERVICE, "apps/s1"), 2);
    kgc_cache_upsert(
        c,
        objf(KGC_API_REFERENCEGRANT, "{\"metadata\":{\"name\":\"g\",\"namespace\":\"backends\"}}"),
        NULL);
    assert_int_equal(index_count(c, KGC_CACHE_IDX_REFERENCEGRANT_BY_NAMESPACE, "backends"), 1);
    assert_int_equal(kgc_cache_by_index(c, KGC_CACHE_IDX_COUNT, "x", &l), KGC_EINVAL);
    kgc_cache_free(c);
}

static void test_list_is_sorted_and_filtered(void **state)
{
    (void)state;
    struct kgc_cache *c = kgc_cache_new();
    const char *names[] = {"d", "b", "a", "c"};
    for (int i = 0; i < 4; i++)
        kgc_cache_upsert(c, svc(i % 2 ? "x" : "y", names[i], "1"), NULL);
    struct kgc_cache_list l;
    assert_int_equal(kgc_cache_list(c, KGC_API_SERVICE, NULL, &l), 0);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.items[0]->meta.key, "x/b");
    assert_string_equal(l.items[3]->meta.key, "y/d");
    kgc_cache_list_release(&l);
    assert_int_equal(l.n, 0);
    assert_int_equal(kgc_cache_list(c, KGC_API_SERVICE, "y", &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0]->meta.key, "y/a");
    kgc_cache_list_release(&l);
    /* Unsorted: the same objects, filtered the same way. */
    assert_int_equal(kgc_cache_list_unsorted(c, KGC_API_SERVICE, "x", &l), 0);
    assert_int_equal(l.n, 2);
    bool seen_b = false, seen_c = false;
    for (size_t i = 0; i < l.n; i++) {
        seen_b |= strcmp(l.items[i]->meta.key, "x/b") == 0;
        seen_c |= strcmp(l.items[i]->meta.key, "x/c") == 0;
    }
    assert_true(seen_b && seen_c);
    kgc_cache_list_release(&l);
    kgc_cache_free(c);
}

static void test_dump(void **state)
{
    (void)state;
    struct kgc_cache *c = kgc_cache_new();
    kgc_cache_upsert(c, svc("x", "s1", "11"), NULL);
    kgc_cache_upsert(c, svc("y", "s2", "12"), NULL);
    kgc_cache_upsert(c, route("x", "r1", "13", "gw", "s1"), NULL);
    kgc_cache_upsert(c,
                     objf(KGC_API_NAMESPACE, "{\"metadata\":{\"name\":\"x\","
                                             "\"resourceVersion\":\"3\"}}"),
                     NULL);
    kgc_cache_upsert(c,
                     objf(KGC_API_SECRET,
                          "{\"metadata\":{\"name\":\"t\",\"namespace\":\"x\","
                          "\"resourceVersion\":\"14\"},\"type\":\"kubernetes.io/tls\","
                          "\"data\":{\"tls.crt\":\"c2VjcmV0\",\"tls.key\":\"c2VjcmV0\"}}"),
                     NULL);
    char *out = NULL;
    size_t len = 0;
    struct kgc_err err = {0};
    assert_int_equal(kgc_cache_dump(c, NULL, NULL, NULL, false, &out, &len, &err), 0);
    assert_int_equal(len, strlen(out));
    json_object *j = json_tokener_parse(out);
    assert_non_null(j);
    assert_int_equal(json_object_object_length(j), KGC_API_KIND_COUNT);
    json_object *services = NULL;
    assert_true(json_object_object_get_ex(j, "services", &services));
    assert_int_equal(json_object_array_length(services), 2);
    json_object *meta = NULL, *rv = NULL;
    json_object_object_get_ex(json_object_array_get_idx(services, 1), "metadata", &meta);
    json_object_object_get_ex(meta, "resourceVersion", &rv);
    assert_string_equal(json_object_get_string(rv), "12");
    assert_null(strstr(out, "c2VjcmV0"));
    assert_non_null(strstr(out, "<redacted>"));
    json_object_put(j);

    /* pretty output is the same JSON */
    char *pretty = NULL;
    assert_int_equal(kgc_cache_dump(c, NULL, NULL, NULL, true, &pretty, NULL, &err), 0);
    json_object *a = json_tokener_parse(out), *b = json_tokener_parse(pretty);
    assert_non_null(b);
    assert_true(json_object_equal(a, b));
    json_object_put(a);
    json_object_put(b);
    free(pretty);
    free(out);

    /* one kind, one namespace, one object */
    assert_int_equal(kgc_cache_dump(c, "services", "y", NULL, false, &out, NULL, &err), 0);
    j = json_tokener_parse(out);
    assert_int_equal(json_object_object_length(j), 1);
    json_object_object_get_ex(j, "services", &services);
    assert_int_equal(json_object_array_length(services), 1);
    json_object_put(j);
    free(out);
    assert_int_equal(kgc_cache_dump(c, NULL, "x", "r1", false, &out, NULL, &err), 0);
    j = json_tokener_parse(out);
    assert_false(json_object_object_get_ex(j, "namespaces", NULL)); /* cluster-scoped: left out */
    json_object *routes = NULL;
    json_object_object_get_ex(j, "httproutes", &routes);
    assert_int_equal(json_object_array_length(routes), 1);
    json_object_object_get_ex(j, "services", &services);
    assert_int_equal(json_object_array_length(services), 0);
    json_object_put(j);
    free(out);
    assert_int_equal(kgc_cache_dump(c, "Namespace", "x", NULL, false, &out, NULL, &err), 0);
    assert_non_null(strstr(out, "\"namespaces\":[{"));
    free(out);
    assert_int_equal(kgc_cache_dump(c, "widgets", NULL, NULL, false, &out, NULL, &err), KGC_EINVAL);
    assert_null(out);
    assert_non_null(strstr(err.msg, "widgets"));
    kgc_cache_free(c);
}

/* --- concurrency ------------------------------------------------------------------------------ */

struct race {
    struct kgc_cache *c;
    volatile int stop;
    long reads;
};

static void *reader(void *arg)
{
    struct race *r = arg;
    long n = 0;
    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
        struct kgc_cache_list l;
        if (kgc_cache_by_index(r->c, KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY, "n/gw", &l) == 0) {
            for (size_t i = 0; i < l.n; i++)
                assert_non_null(l.items[i]->meta.key); /* touch every object */
            kgc_cache_list_release(&l);
        }
        const struct kgc_api_obj *o = kgc_cache_get(r->c, KGC_API_HTTPROUTE, "n", "r7");
        if (o)
            assert_string_equal(o->meta.name, "r7");
        kgc_api_obj_unref(o);
        if (kgc_cache_list(r->c, KGC_API_HTTPROUTE, "n", &l) == 0)
            kgc_cache_list_release(&l);
        n++;
    }
    __atomic_add_fetch(&r->reads, n, __ATOMIC_RELAXED);
    return NULL;
}

static void test_readers_race_a_writer(void **state)
{
    (void)state;
    struct race r = {.c = kgc_cache_new()};
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, reader, &r);
    char name[16], rv[16];
    for (int round = 0; round < 3000; round++) {
        snprintf(name, sizeof(name), "r%d", round % 20);
        snprintf(rv, sizeof(rv), "%d", round);
        if (round % 7 == 3)
            kgc_cache_delete(r.c, KGC_API_HTTPROUTE, "n/r3");
        kgc_cache_upsert(r.c, route("n", name, rv, round % 2 ? "gw" : "gw2", "s"), NULL);
        if (round % 500 == 499) {
            struct kgc_api_obj *all[5];
            for (int i = 0; i < 5; i++) {
                snprintf(name, sizeof(name), "r%d", i);
                all[i] = route("n", name, rv, "gw", "s");
            }
            kgc_cache_replace(r.c, KGC_API_HTTPROUTE, all, 5, NULL);
        }
    }
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    assert_true(r.reads > 0);
    /* the index is exactly the routes whose parent is gw */
    struct kgc_cache_list l;
    kgc_cache_list(r.c, KGC_API_HTTPROUTE, NULL, &l);
    size_t want = 0;
    for (size_t i = 0; i < l.n; i++)
        want += strcmp(kgc_api_as_httproute(l.items[i])->parent_refs[0].name, "gw") == 0;
    kgc_cache_list_release(&l);
    assert_int_equal(index_count(r.c, KGC_CACHE_IDX_HTTPROUTE_BY_GATEWAY, "n/gw"), want);
    kgc_cache_free(r.c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upsert_get_delete_and_handlers),
        cmocka_unit_test(test_replace_emits_synthetic_deletes),
        cmocka_unit_test(test_indexes_follow_updates),
        cmocka_unit_test(test_list_is_sorted_and_filtered),
        cmocka_unit_test(test_dump),
        cmocka_unit_test(test_readers_race_a_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

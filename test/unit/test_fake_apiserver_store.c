/* Unit tests of the test API server's store: resourceVersion order, create/update/patch/delete
 * semantics (generation, /status, finalizers, namespaces), list selectors and paging, watches
 * (initial events, resume, Expired, selector transitions, bookmarks) and CRD-defined types with
 * structural defaulting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fakes/apiserver/jsonutil.h"
#include "../fakes/apiserver/objstore.h"
#include "kgc/err.h"
#include "kgc/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WIDGETS_CRD                                                                                \
    "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","           \
    "\"metadata\":{\"name\":\"widgets.example.com\"},\"spec\":{\"group\":\"example.com\","         \
    "\"scope\":\"Namespaced\",\"names\":{\"kind\":\"Widget\",\"plural\":\"widgets\","              \
    "\"singular\":\"widget\",\"listKind\":\"WidgetList\"},\"versions\":["                          \
    "{\"name\":\"v1\",\"served\":true,\"storage\":true,\"subresources\":{\"status\":{}},"          \
    "\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"properties\":{"                        \
    "\"spec\":{\"type\":\"object\",\"required\":[\"size\"],\"properties\":{"                       \
    "\"size\":{\"type\":\"integer\",\"minimum\":1},"                                               \
    "\"color\":{\"type\":\"string\",\"default\":\"red\",\"enum\":[\"red\",\"blue\"]}}},"           \
    "\"status\":{\"type\":\"object\",\"default\":{\"phase\":\"Waiting\"},"                         \
    "\"properties\":{\"phase\":{\"type\":\"string\"}}}}}}},"                                       \
    "{\"name\":\"v1beta1\",\"served\":true,\"storage\":false,\"subresources\":{\"status\":{}},"    \
    "\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-"        \
    "fields\""                                                                                     \
    ":true}}}]}}"

struct env {
    struct fas_store *s;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    struct fas_store_opts o = {.history = 50, .bookmark_ms = 100};
    if (!e || fas_store_new(&o, &e->s))
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    fas_store_free(e->s);
    free(e);
    return 0;
}

static json_object *body_of(struct fas_reply *r)
{
    char err[256];
    json_object *o = fas_json_parse(r->body, r->len, err, sizeof(err));
    if (!o)
        fail_msg("reply is not JSON: %s", r->body);
    return o;
}

static const struct fas_target *tgt(struct fas_target *t, const char *group, const char *version,
                                    const char *plural, const char *ns, const char *name,
                                    const char *sub)
{
    t->group = group;
    t->version = version;
    t->plural = plural;
    t->ns = ns;
    t->name = name;
    t->subresource = sub;
    return t;
}

/* Runs a write and checks its HTTP code; returns the parsed body. */
static json_object *do_write(struct fas_store *s, char op, const struct fas_target *t,
                             const char *ctype, const char *body, int want)
{
    struct fas_reply r;
    struct fas_write_opts o = {.field_validation = FAS_FV_STRICT};
    fas_reply_init(&r);
    size_t n = body ? strlen(body) : 0;
    switch (op) {
    case 'C':
        fas_store_create(s, t, body, n, &o, &r);
        break;
    case 'U':
        fas_store_update(s, t, body, n, &o, &r);
        break;
    case 'P':
        fas_store_patch(s, t, ctype, body, n, &o, &r);
        break;
    default:
        fas_store_delete(s, t, body, n, &o, &r);
    }
    if (r.code != want)
        fail_msg("want %d, got %d: %s", want, r.code, r.body);
    json_object *b = body_of(&r);
    fas_reply_free(&r);
    return b;
}

static json_object *do_get(struct fas_store *s, const struct fas_target *t, int want)
{
    struct fas_reply r;
    fas_reply_init(&r);
    fas_store_get(s, t, false, &r);
    assert_int_equal(r.code, want);
    json_object *b = body_of(&r);
    fas_reply_free(&r);
    return b;
}

static json_object *do_list(struct fas_store *s, const struct fas_target *t,
                            const struct fas_list_opts *o, int want)
{
    struct fas_reply r;
    fas_reply_init(&r);
    fas_store_list(s, t, o, &r);
    if (r.code != want)
        fail_msg("list: want %d got %d: %s", want, r.code, r.body);
    json_object *b = body_of(&r);
    fas_reply_free(&r);
    return b;
}

static long long rv_of(json_object *o)
{
    const char *rv = fas_json_str(fas_json_get(o, "metadata"), "resourceVersion");
    assert_non_null(rv);
    return atoll(rv);
}

static long long gen_of(json_object *o)
{
    json_object *g = fas_json_get(fas_json_get(o, "metadata"), "generation");
    return g ? json_object_get_int64(g) : 0;
}

static const char *str_at(json_object *o, const char *a, const char *b)
{
    return fas_json_str(fas_json_get(o, a), b);
}

static void put_json(json_object *o)
{
    json_object_put(o);
}

static void create_cm(struct fas_store *s, const char *ns, const char *name, const char *labels)
{
    char body[512];
    struct fas_target t;
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\","
             "\"labels\":{%s}},\"data\":{\"k\":\"v\"}}",
             name, labels ? labels : "");
    put_json(do_write(s, 'C', tgt(&t, "", "v1", "configmaps", ns, NULL, NULL), NULL, body, 201));
}

static void create_ns(struct fas_store *s, const char *name)
{
    char body[256];
    struct fas_target t;
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", name);
    put_json(do_write(s, 'C', tgt(&t, "", "v1", "namespaces", NULL, NULL, NULL), NULL, body, 201));
}

static void install_widgets(struct fas_store *s)
{
    struct fas_target t;
    put_json(do_write(
        s, 'C',
        tgt(&t, "apiextensions.k8s.io", "v1", "customresourcedefinitions", NULL, NULL, NULL), NULL,
        WIDGETS_CRD, 201));
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_resource_versions_increase(void **state)
{
    struct env *e = *state;
    struct fas_target t;
    long long last = fas_store_rv(e->s);
    assert_int_equal(last, 4); /* the four initial namespaces */
    for (int i = 0; i < 10; i++) {
        char name[16];
        snprintf(name, sizeof(name), "c%d", i);
        create_cm(e->s, i % 2 ? "default" : "kube-system", name, NULL);
        json_object *o = do_get(
            e->s, tgt(&t, "", "v1", "configmaps", i % 2 ? "default" : "kube-system", name, NULL),
            200);
        assert_true(rv_of(o) > last);
        last = rv_of(o);
        put_json(o);
    }
    struct fas_list_opts lo = {0};
    json_object *l = do_list(e->s, tgt(&t, "", "v1", "configmaps", NULL, NULL, NULL), &lo, 200);
    assert_int_equal(rv_of(l), last);
    assert_int_equal(fas_store_rv(e->s), last);
    /* sorted by namespace, then name */
    json_object *items = fas_json_get(l, "items");
    assert_int_equal(json_object_array_length(items), 10);
    assert_string_equal(str_at(json_object_array_get_idx(items, 0), "metadata", "namespace"),
                        "default");
    assert_string_equal(str_at(json_object_array_get_idx(items, 0), "metadata", "name"), "c1");
    assert_string_equal(str_at(json_object_array_get_idx(items, 9), "metadata", "name"), "c8");
    put_json(l);
}

static void test_create_sets_system_fields(void **state)
{
    struct env *e = *state;
    struct fas_target t;
    install_widgets(e->s);
    json_object *w =
        do_write(e->s, 'C', tgt(&t, "example.com", "v1", "widgets", "default", NULL, NULL), NULL,
                 "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":"
                 "{\"name\":\"w\",\"uid\":\"fake\",\"resourceVersion\":\"99\",\"generation\":7},"
                 "\"spec\":{\"size\":2},\"status\":{\"phase\":\"Set\"}}",
                 201);
    assert_int_equal(gen_of(w), 1);
    assert_string_not_equal(str_at(w, "metadata", "uid"), "fake");
    assert_int_equal(rv_of(w), fas_store_rv(e->s));
    assert_non_null(str_at(w, "metadata", "creationTimestamp"));
    /* the status was dropped and the schema default applied; spec defaulted too */
    assert_string_equal(str_at(w, "status", "phase"), "Waiting");
    assert_string_equal(str_at(w, "spec", "color"), "red");
    /* canonical form: apiVersion first */
    static const char head[] = "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",";
    size_t n;
    assert_memory_equal(fas_json_text(w, &n), head, sizeof(head) - 1);
    put_json(w);
    /* served through the other version: same object, that apiVersion */
    w = do_get(e->s, tgt(&t, "example.com", "v1beta1", "widgets", "default", "w", NULL), 200);
    assert_string_equal(fas_json_str(w, "apiVersion"), "example.com/v1beta1");
    put_json(w);
    /* validation from the CRD schema */
    put_json(
        do_write(e->s, 'C', tgt(&t, "example.com", "v1", "widgets", "default", NULL, NULL), NULL,
                 "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":"
                 "\"bad\"},\"spec\":{\"size\":0,\"color\":\"green\"}}",
                 422));
    put_json(
        do_write(e->s, 'C', tgt(&t, "example.com", "v1", "widgets", "default", NULL, NULL), NULL,
                 "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":"
                 "\"bad\"},\"spec\":{\"size\":1,\"extra\":true}}",
                 400)); /* Strict: unknown field */
    put_json(
        do_write(e->s, 'C', tgt(&t, "example.com", "v1", "widgets", "default", NULL, NULL), NULL,
                 "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":"
                 "\"w\"},\"spec\":{\"size\":1}}",
                 409));
    put_json(do_write(e->s, 'C', tgt(&t, "example.com", "v1", "widgets", "default", NULL, NULL),
                      NULL, "not json", 400));
    put_json(do_write(e->s, 'C', tgt(&t, "example.com", "v1", "widgets", "default", NULL, NULL),
                      NULL, "{\"kind\":\"Widget\",\"metadata\":{\"name\":\"x\"}}", 400));
    json_object *st =
        do_write(e->s, 'C', tgt(&t, "example.com", "v1", "widgets", "nope", NULL, NULL), NULL,
                 "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":"
                 "{\"name\":\"x\"},\"spec\":{\"size\":1}}",
                 404);
    assert_string_equal(fas_json_str(st, "message"), "namespaces \"nope\" not found");
    put_json(st);
    st = do_get(e->s, tgt(&t, "example.com", "v1", "widgets", "default", "x", NULL), 404);
    assert_string_equal(fas_json_str(st, "message"), "widgets.example.com \"x\" not found");
    put_json(st);
}

static void test_update_generation_and_status(void **state)
{
    struct env *e = *state;
    struct fas_target t, st;
    install_widgets(e->s);
    tgt(&t, "example.com", "v1", "widgets", "default", "w", NULL);
    tgt(&st, "example.com", "v1", "widgets", "default", "w", "status");
    struct fas_target coll = t;
    coll.name = NULL;
    put_json(
        do_write(e->s, 'C', &coll, NULL,
                 "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":"
                 "\"w\"},\"spec\":{\"size\":1}}",
                 201));
    json_object *w = do_get(e->s, &t, 200);
    long long rv1 = rv_of(w);
    char body[1024];
    /* PUT without resourceVersion: 422; stale: 409 */
    put_json(
        do_write(e->s, 'U', &t, NULL,
                 "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":"
                 "\"w\"},\"spec\":{\"size\":2}}",
                 422));
    put_json(
        do_write(e->s, 'U', &t, NULL,
                 "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":"
                 "\"w\",\"resourceVersion\":\"1\"},\"spec\":{\"size\":2}}",
                 409));
    /* metadata only: generation stays */
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\","
             "\"resourceVersion\":\"%lld\",\"labels\":{\"a\":\"b\"}},\"spec\":{\"size\":1}}",
             rv1);
    json_object *u = do_write(e->s, 'U', &t, NULL, body, 200);
    assert_int_equal(gen_of(u), 1);
    assert_true(rv_of(u) > rv1);
    /* the main resource cannot set status */
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\","
             "\"resourceVersion\":\"%lld\"},\"spec\":{\"size\":3},\"status\":{\"phase\":\"X\"}}",
             rv_of(u));
    put_json(u);
    u = do_write(e->s, 'U', &t, NULL, body, 200);
    assert_int_equal(gen_of(u), 2);
    assert_string_equal(str_at(u, "status", "phase"), "Waiting");
    /* /status takes only the status; generation unchanged */
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\","
             "\"resourceVersion\":\"%lld\",\"labels\":{\"c\":\"d\"}},\"spec\":{\"size\":9},"
             "\"status\":{\"phase\":\"Ready\"}}",
             rv_of(u));
    put_json(u);
    u = do_write(e->s, 'U', &st, NULL, body, 200);
    assert_int_equal(gen_of(u), 2);
    assert_string_equal(str_at(u, "status", "phase"), "Ready");
    assert_int_equal(json_object_get_int64(fas_json_get(fas_json_get(u, "spec"), "size")), 3);
    assert_null(fas_json_get(fas_json_get(fas_json_get(u, "metadata"), "labels"), "c"));
    long long rv_ready = rv_of(u);
    put_json(u);
    /* a merge patch of the status that changes nothing writes nothing */
    u = do_write(e->s, 'P', &st, "application/merge-patch+json",
                 "{\"status\":{\"phase\":\"Ready\"}}", 200);
    assert_int_equal(rv_of(u), rv_ready);
    put_json(u);
    /* merge patch of the spec bumps generation; a patch carrying a stale rv conflicts */
    u = do_write(e->s, 'P', &t, "application/merge-patch+json", "{\"spec\":{\"color\":\"blue\"}}",
                 200);
    assert_int_equal(gen_of(u), 3);
    put_json(u);
    put_json(do_write(e->s, 'P', &t, "application/merge-patch+json",
                      "{\"metadata\":{\"resourceVersion\":\"2\"},\"spec\":{\"size\":4}}", 409));
    /* JSON patch, and the 415 for strategic merge patch on a custom resource */
    u = do_write(e->s, 'P', &t, "application/json-patch+json",
                 "[{\"op\":\"replace\",\"path\":\"/spec/size\",\"value\":5}]", 200);
    assert_int_equal(gen_of(u), 4);
    put_json(u);
    put_json(do_write(e->s, 'P', &t, "application/strategic-merge-patch+json", "{}", 415));
    put_json(do_write(e->s, 'P', &t, "text/plain", "{}", 415));
    put_json(w);
}

/* A status write to a custom resource whose content passed the same schema walks only the new
 * status (issue #19: the whole walk was a quarter of the server's CPU per status PATCH); the
 * answers are those of the whole walk: unknown status fields refused (Strict), status types
 * validated, the root default of status applied; and once the CRD's schema changed, the whole
 * object is checked again (no ratcheting here: a spec the new schema refuses fails the write). */
static void test_status_write_answers_as_the_whole_walk(void **state)
{
    struct env *e = *state;
    struct fas_target t, st, crd;
    install_widgets(e->s);
    tgt(&t, "example.com", "v1", "widgets", "default", NULL, NULL);
    put_json(
        do_write(e->s, 'C', &t, NULL,
                 "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":"
                 "\"w\"},\"spec\":{\"size\":1}}",
                 201));
    tgt(&st, "example.com", "v1", "widgets", "default", "w", "status");
    const char *mp = "application/merge-patch+json";
    json_object *u = do_write(e->s, 'P', &st, mp, "{\"status\":{\"phase\":\"Ready\"}}", 200);
    assert_string_equal(str_at(u, "status", "phase"), "Ready");
    assert_string_equal(str_at(u, "spec", "color"), "red");
    put_json(u);
    u = do_write(e->s, 'P', &st, mp, "{\"status\":{\"phase\":\"Ready\",\"bogus\":1}}", 400);
    assert_non_null(strstr(json_object_get_string(u), "status.bogus"));
    put_json(u);
    put_json(do_write(e->s, 'P', &st, mp, "{\"status\":{\"phase\":5}}", 422));
    u = do_write(e->s, 'P', &st, mp, "{\"status\":null}", 200);
    assert_string_equal(str_at(u, "status", "phase"), "Waiting"); /* the root default */
    put_json(u);
    /* the schema changes: size must be at least 10; w's stored size 1 fails every write now,
     * status writes included */
    char *crd_text = malloc(sizeof(WIDGETS_CRD) + 1); /* one more digit */
    assert_non_null(crd_text);
    memcpy(crd_text, WIDGETS_CRD, sizeof(WIDGETS_CRD));
    char *m = strstr(crd_text, "\"minimum\":1}");
    assert_non_null(m);
    memmove(m + 12, m + 11, strlen(m + 11) + 1);
    m[11] = '0';
    put_json(do_write(e->s, 'P',
                      tgt(&crd, "apiextensions.k8s.io", "v1", "customresourcedefinitions", NULL,
                          "widgets.example.com", NULL),
                      mp, crd_text, 200));
    free(crd_text);
    u = do_write(e->s, 'P', &st, mp, "{\"status\":{\"phase\":\"Again\"}}", 422);
    assert_non_null(strstr(json_object_get_string(u), "spec.size"));
    put_json(u);
}

/* A merge patch of a status: its answer, status code and audited status (the object's new
 * status, the stored one for a write that changes nothing, the patch's for a refused one). */
static json_object *status_patch_audited(struct fas_store *s, const struct fas_target *t,
                                         const char *ctype, const char *body, int want,
                                         const char *want_audit)
{
    struct fas_reply r;
    struct fas_write_opts o = {.field_validation = FAS_FV_STRICT};
    fas_reply_init(&r);
    fas_store_patch(s, t, ctype, body, strlen(body), &o, &r);
    if (r.code != want)
        fail_msg("want %d, got %d: %s", want, r.code, r.body);
    if (!r.audit_status || strcmp(r.audit_status, want_audit) != 0)
        fail_msg("audited %s, want %s", r.audit_status ? r.audit_status : "(none)", want_audit);
    json_object *b = body_of(&r);
    fas_reply_free(&r);
    return b;
}

/* o's text without the members that differ between two objects created alike. */
static char *text_without_identity(json_object *o)
{
    json_object *md = fas_json_get(o, "metadata");
    json_object_object_del(md, "name");
    json_object_object_del(md, "uid");
    json_object_object_del(md, "resourceVersion");
    json_object_object_del(md, "creationTimestamp");
    char *t = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    assert_non_null(t);
    return t;
}

/* A merge patch of a custom resource's status is written from old's text without its whole tree
 * (issue #19): the stored object, answer, audit, labels and events are those of the whole-tree
 * path (a JSON patch of the same status), byte for byte, member order included. */
static void test_status_merge_patch_stores_as_the_whole_tree(void **state)
{
    struct env *e = *state;
    struct fas_target t, st1, st2, g1, g2;
    install_widgets(e->s);
    tgt(&t, "example.com", "v1", "widgets", "default", NULL, NULL);
    const char *fmt =
        "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":"
        "\"%s\",\"labels\":{\"app\":\"x\"},\"annotations\":{\"a\":\"1.50\"}},"
        "\"spec\":{\"size\":2}}";
    char body[512];
    snprintf(body, sizeof(body), fmt, "w1");
    put_json(do_write(e->s, 'C', &t, NULL, body, 201));
    snprintf(body, sizeof(body), fmt, "w2");
    put_json(do_write(e->s, 'C', &t, NULL, body, 201));
    tgt(&st1, "example.com", "v1", "widgets", "default", "w1", "status");
    tgt(&st2, "example.com", "v1", "widgets", "default", "w2", "status");
    tgt(&g1, "example.com", "v1", "widgets", "default", "w1", NULL);
    tgt(&g2, "example.com", "v1", "widgets", "default", "w2", NULL);
    json_object *before = do_get(e->s, &g1, 200);
    const char *mp = "application/merge-patch+json";
    json_object *a = status_patch_audited(e->s, &st1, mp, "{\"status\":{\"phase\":\"Ready\"}}", 200,
                                          "{\"phase\":\"Ready\"}");
    json_object *b = status_patch_audited(
        e->s, &st2, "application/json-patch+json",
        "[{\"op\":\"replace\",\"path\":\"/status\",\"value\":{\"phase\":\"Ready\"}}]", 200,
        "{\"phase\":\"Ready\"}");
    assert_int_equal(rv_of(a), rv_of(before) + 2);
    assert_int_equal(rv_of(b), rv_of(before) + 3);
    put_json(a);
    put_json(b);
    json_object *got1 = do_get(e->s, &g1, 200), *got2 = do_get(e->s, &g2, 200);
    assert_string_equal(str_at(got1, "status", "phase"), "Ready");
    assert_int_equal(gen_of(got1), 1);
    char *t1 = text_without_identity(got1), *t2 = text_without_identity(got2);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    put_json(got1);
    put_json(got2);
    put_json(before);
    /* labels still select it */
    struct fas_list_opts lo = {.label_selector = "app=x"};
    json_object *l = do_list(e->s, &t, &lo, 200);
    assert_int_equal(json_object_array_length(fas_json_get(l, "items")), 2);
    put_json(l);
    /* no change: no write, the stored status audited; refused: the patch's status audited */
    got1 = do_get(e->s, &g1, 200);
    a = status_patch_audited(e->s, &st1, mp, "{\"status\":{\"phase\":\"Ready\"}}", 200,
                             "{\"phase\":\"Ready\"}");
    assert_int_equal(rv_of(a), rv_of(got1));
    put_json(a);
    put_json(
        status_patch_audited(e->s, &st1, mp, "{\"status\":{\"phase\":5}}", 422, "{\"phase\":5}"));
    put_json(status_patch_audited(e->s, &st1, mp,
                                  "{\"metadata\":{\"resourceVersion\":\"1\"},\"status\":{\"phase\":"
                                  "\"Gone\"}}",
                                  409, "{\"phase\":\"Gone\"}"));
    /* the precondition met; then status removed: the root default comes back */
    snprintf(body, sizeof(body),
             "{\"metadata\":{\"resourceVersion\":\"%lld\"},\"status\":{\"phase\":\"Next\"}}",
             rv_of(got1));
    put_json(status_patch_audited(e->s, &st1, mp, body, 200, "{\"phase\":\"Next\"}"));
    put_json(
        status_patch_audited(e->s, &st1, mp, "{\"status\":null}", 200, "{\"phase\":\"Waiting\"}"));
    put_json(got1);
    /* through v1beta1 (no status default): an object without a status gets one, last */
    tgt(&t, "example.com", "v1beta1", "widgets", "default", NULL, NULL);
    fmt = "{\"apiVersion\":\"example.com/v1beta1\",\"kind\":\"Widget\",\"metadata\":{"
          "\"name\":\"%s\"},\"spec\":{\"size\":2,\"x\":[1.0,2]}}";
    snprintf(body, sizeof(body), fmt, "w3");
    put_json(do_write(e->s, 'C', &t, NULL, body, 201));
    snprintf(body, sizeof(body), fmt, "w4");
    put_json(do_write(e->s, 'C', &t, NULL, body, 201));
    tgt(&st1, "example.com", "v1beta1", "widgets", "default", "w3", "status");
    tgt(&st2, "example.com", "v1beta1", "widgets", "default", "w4", "status");
    tgt(&g1, "example.com", "v1beta1", "widgets", "default", "w3", NULL);
    tgt(&g2, "example.com", "v1beta1", "widgets", "default", "w4", NULL);
    got1 = do_get(e->s, &g1, 200);
    assert_null(fas_json_get(got1, "status"));
    put_json(got1);
    put_json(status_patch_audited(e->s, &st1, mp, "{\"status\":{\"n\":1.50,\"s\":\"\\u00e9/\"}}",
                                  200, "{\"n\":1.50,\"s\":\"\u00e9/\"}"));
    put_json(status_patch_audited(
        e->s, &st2, "application/json-patch+json",
        "[{\"op\":\"add\",\"path\":\"/status\",\"value\":{\"n\":1.50,\"s\":\"\\u00e9/\"}}]", 200,
        "{\"n\":1.50,\"s\":\"\u00e9/\"}"));
    got1 = do_get(e->s, &g1, 200);
    got2 = do_get(e->s, &g2, 200);
    t1 = text_without_identity(got1);
    t2 = text_without_identity(got2);
    assert_string_equal(t1, t2);
    assert_non_null(strstr(t1, "\"x\":[1.0,2]},\"status\":{"));
    free(t1);
    free(t2);
    put_json(got1);
    put_json(got2);
}

static void test_apply_creates_and_merges(void **state)
{
    struct env *e = *state;
    struct fas_target t;
    tgt(&t, "", "v1", "configmaps", "default", "applied", NULL);
    const char *apply1 = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                         "\"applied\"},\"data\":{\"a\":\"1\"}}";
    json_object *o = do_write(e->s, 'P', &t, "application/apply-patch+yaml", apply1, 201);
    long long rv = rv_of(o);
    put_json(o);
    o = do_write(e->s, 'P', &t, "application/apply-patch+yaml", apply1, 200);
    assert_int_equal(rv_of(o), rv); /* re-apply: no write */
    put_json(o);
    o = do_write(
        e->s, 'P', &t, "application/apply-patch+yaml",
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"applied\"},"
        "\"data\":{\"b\":\"2\"}}",
        200);
    assert_string_equal(str_at(o, "data", "a"), "1");
    assert_string_equal(str_at(o, "data", "b"), "2");
    put_json(o);
    /* other patch types do not create */
    tgt(&t, "", "v1", "configmaps", "default", "absent", NULL);
    put_json(do_write(e->s, 'P', &t, "application/merge-patch+json", "{}", 404));
}

static void test_list_selectors_and_paging(void **state)
{
    struct env *e = *state;
    struct fas_target t;
    create_cm(e->s, "default", "a", "\"app\":\"web\"");
    create_cm(e->s, "default", "b", "\"app\":\"db\"");
    create_cm(e->s, "default", "c", "\"app\":\"web\",\"tier\":\"x\"");
    create_cm(e->s, "kube-system", "a", NULL);
    create_cm(e->s, "kube-system", "d", "\"app\":\"web\"");
    tgt(&t, "", "v1", "configmaps", NULL, NULL, NULL);
    struct fas_list_opts lo = {.label_selector = "app=web"};
    json_object *l = do_list(e->s, &t, &lo, 200);
    assert_int_equal(json_object_array_length(fas_json_get(l, "items")), 3);
    put_json(l);
    lo = (struct fas_list_opts){.label_selector = "app=web,!tier",
                                .field_selector = "metadata.namespace=default"};
    l = do_list(e->s, &t, &lo, 200);
    assert_int_equal(json_object_array_length(fas_json_get(l, "items")), 1);
    put_json(l);
    lo = (struct fas_list_opts){.field_selector = "metadata.name=a"};
    l = do_list(e->s, &t, &lo, 200);
    assert_int_equal(json_object_array_length(fas_json_get(l, "items")), 2);
    put_json(l);
    lo = (struct fas_list_opts){.field_selector = "spec.x=a"};
    put_json(do_list(e->s, &t, &lo, 400));
    lo = (struct fas_list_opts){.label_selector = "app in ("};
    put_json(do_list(e->s, &t, &lo, 400));
    /* paging: 5 objects by 2 */
    char names[256] = "";
    const char *cont = NULL;
    char *saved = NULL;
    int pages = 0;
    long long list_rv = -1;
    do {
        lo = (struct fas_list_opts){.limit = 2, .cont = cont};
        l = do_list(e->s, &t, &lo, 200);
        json_object *items = fas_json_get(l, "items");
        for (size_t i = 0; i < json_object_array_length(items); i++) {
            json_object *md = fas_json_get(json_object_array_get_idx(items, i), "metadata");
            strcat(names, fas_json_str(md, "namespace"));
            strcat(names, "/");
            strcat(names, fas_json_str(md, "name"));
            strcat(names, " ");
        }
        if (list_rv < 0)
            list_rv = rv_of(l);
        assert_int_equal(rv_of(l), list_rv); /* every page reports the first page's rv */
        if (pages == 0)
            assert_int_equal(json_object_get_int64(
                                 fas_json_get(fas_json_get(l, "metadata"), "remainingItemCount")),
                             3);
        free(saved);
        saved = fas_json_str(fas_json_get(l, "metadata"), "continue")
                    ? strdup(fas_json_str(fas_json_get(l, "metadata"), "continue"))
                    : NULL;
        cont = saved;
        put_json(l);
        pages++;
    } while (cont && pages < 10);
    assert_int_equal(pages, 3);
    assert_string_equal(names, "default/a default/b default/c kube-system/a kube-system/d ");
    /* a continue token from before the history was dropped has expired */
    lo = (struct fas_list_opts){.limit = 2};
    l = do_list(e->s, &t, &lo, 200);
    saved = strdup(fas_json_str(fas_json_get(l, "metadata"), "continue"));
    put_json(l);
    fas_store_drop_history(e->s);
    lo = (struct fas_list_opts){.limit = 2, .cont = saved};
    l = do_list(e->s, &t, &lo, 410);
    assert_string_equal(fas_json_str(l, "reason"), "Expired");
    put_json(l);
    free(saved);
}

static void test_finalizers_and_namespaces(void **state)
{
    struct env *e = *state;
    struct fas_target t;
    create_ns(e->s, "doomed");
    create_cm(e->s, "doomed", "plain", NULL);
    put_json(
        do_write(e->s, 'C', tgt(&t, "", "v1", "configmaps", "doomed", NULL, NULL), NULL,
                 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"held\","
                 "\"finalizers\":[\"x/y\"]}}",
                 201));
    json_object *ns =
        do_write(e->s, 'D', tgt(&t, "", "v1", "namespaces", NULL, "doomed", NULL), NULL, NULL, 200);
    assert_string_equal(str_at(ns, "status", "phase"), "Terminating");
    put_json(ns);
    put_json(do_get(e->s, tgt(&t, "", "v1", "configmaps", "doomed", "plain", NULL), 404));
    json_object *held = do_get(e->s, tgt(&t, "", "v1", "configmaps", "doomed", "held", NULL), 200);
    assert_non_null(str_at(held, "metadata", "deletionTimestamp"));
    put_json(held);
    json_object *st =
        do_write(e->s, 'C', tgt(&t, "", "v1", "configmaps", "doomed", NULL, NULL), NULL,
                 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                 "\"late\"}}",
                 403);
    assert_string_equal(fas_json_str(st, "message"),
                        "configmaps \"late\" is forbidden: unable to create new content in "
                        "namespace doomed because it is being terminated");
    put_json(st);
    put_json(do_get(e->s, tgt(&t, "", "v1", "namespaces", NULL, "doomed", NULL), 200));
    /* removing the last finalizer deletes the object, and then the namespace */
    put_json(do_write(e->s, 'P', tgt(&t, "", "v1", "configmaps", "doomed", "held", NULL),
                      "application/merge-patch+json", "{\"metadata\":{\"finalizers\":null}}", 200));
    put_json(do_get(e->s, tgt(&t, "", "v1", "configmaps", "doomed", "held", NULL), 404));
    put_json(do_get(e->s, tgt(&t, "", "v1", "namespaces", NULL, "doomed", NULL), 404));
    /* delete answers: Success Status; preconditions; protected namespaces */
    create_cm(e->s, "default", "gone", NULL);
    put_json(do_write(e->s, 'D', tgt(&t, "", "v1", "configmaps", "default", "gone", NULL), NULL,
                      "{\"preconditions\":{\"uid\":\"nope\"}}", 409));
    json_object *ok = do_write(e->s, 'D', &t, NULL, "{\"propagationPolicy\":\"Background\"}", 200);
    assert_string_equal(fas_json_str(ok, "status"), "Success");
    put_json(ok);
    put_json(do_write(e->s, 'D', &t, NULL, NULL, 404));
    put_json(do_write(e->s, 'D', tgt(&t, "", "v1", "namespaces", NULL, "default", NULL), NULL, NULL,
                      403));
}

/* Reads n event lines from w. */
static json_object *read_events(struct fas_watch *w, size_t n)
{
    struct fas_buf b;
    fas_buf_init(&b);
    char chunk[4096];
    size_t lines = 0;
    while (lines < n) {
        ssize_t got = fas_watch_read(w, chunk, sizeof(chunk));
        if (got < 0)
            break;
        fas_buf_append(&b, chunk, (size_t)got);
        lines = 0;
        for (size_t i = 0; i < b.len; i++)
            lines += b.data[i] == '\n';
    }
    json_object *arr = json_object_new_array();
    char *save = NULL;
    for (char *line = b.data ? strtok_r(b.data, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char err[128];
        json_object_array_add(arr, fas_json_parse(line, strlen(line), err, sizeof(err)));
    }
    fas_buf_free(&b);
    return arr;
}

static const char *ev_type(json_object *evs, size_t i)
{
    return fas_json_str(json_object_array_get_idx(evs, i), "type");
}

static const char *ev_name(json_object *evs, size_t i)
{
    return str_at(fas_json_get(json_object_array_get_idx(evs, i), "object"), "metadata", "name");
}

static void test_watch(void **state)
{
    struct env *e = *state;
    struct fas_target t;
    tgt(&t, "", "v1", "configmaps", "default", NULL, NULL);
    create_cm(e->s, "default", "one", "\"app\":\"web\"");
    long long rv_one = fas_store_rv(e->s);
    /* rv unset: synthetic ADDED for the current state, then live events */
    struct fas_list_opts lo = {.timeout_seconds = 5};
    struct fas_reply r;
    fas_reply_init(&r);
    struct fas_watch *w = NULL;
    fas_store_watch(e->s, &t, &lo, &w, &r);
    assert_non_null(w);
    /* a label-selected watch that will see the object leave its selection */
    struct fas_list_opts lsel = {.label_selector = "app=web", .timeout_seconds = 5};
    struct fas_watch *ws = NULL;
    fas_store_watch(e->s, &t, &lsel, &ws, &r);
    assert_non_null(ws);
    create_cm(e->s, "default", "two", NULL);
    put_json(do_write(e->s, 'P', tgt(&t, "", "v1", "configmaps", "default", "one", NULL),
                      "application/merge-patch+json",
                      "{\"metadata\":{\"labels\":{\"app\":\"db\"}}}", 200));
    put_json(do_write(e->s, 'D', tgt(&t, "", "v1", "configmaps", "default", "two", NULL), NULL,
                      NULL, 200));
    json_object *evs = read_events(w, 4);
    assert_int_equal(json_object_array_length(evs), 4);
    assert_string_equal(ev_type(evs, 0), "ADDED");
    assert_string_equal(ev_name(evs, 0), "one");
    assert_string_equal(ev_type(evs, 1), "ADDED");
    assert_string_equal(ev_name(evs, 1), "two");
    assert_string_equal(ev_type(evs, 2), "MODIFIED");
    assert_string_equal(ev_type(evs, 3), "DELETED");
    long long rv_deleted = rv_of(fas_json_get(json_object_array_get_idx(evs, 3), "object"));
    assert_int_equal(rv_deleted, fas_store_rv(e->s)); /* DELETED carries the deletion's rv */
    put_json(evs);
    evs = read_events(ws, 2);
    assert_int_equal(json_object_array_length(evs), 2);
    assert_string_equal(ev_type(evs, 0), "ADDED");
    assert_string_equal(ev_type(evs, 1), "DELETED"); /* left the selection */
    assert_string_equal(
        str_at(fas_json_get(fas_json_get(json_object_array_get_idx(evs, 1), "object"), "metadata"),
               "labels", "app"),
        "web");
    put_json(evs);
    fas_watch_release(w);
    fas_watch_release(ws);
    /* resume from rv_one: only what came after */
    char rvs[32];
    snprintf(rvs, sizeof(rvs), "%lld", rv_one);
    tgt(&t, "", "v1", "configmaps", "default", NULL, NULL);
    lo = (struct fas_list_opts){.resource_version = rvs, .timeout_seconds = 5};
    fas_store_watch(e->s, &t, &lo, &w, &r);
    assert_non_null(w);
    evs = read_events(w, 3);
    assert_int_equal(json_object_array_length(evs), 3);
    assert_string_equal(ev_name(evs, 0), "two");
    assert_string_equal(ev_type(evs, 2), "DELETED");
    put_json(evs);
    fas_watch_release(w);
    /* bookmarks when idle */
    lo = (struct fas_list_opts){
        .resource_version = rvs, .allow_bookmarks = true, .timeout_seconds = 5};
    fas_store_watch(e->s, &t, &lo, &w, &r);
    evs = read_events(w, 4);
    assert_string_equal(ev_type(evs, 3), "BOOKMARK");
    assert_int_equal(rv_of(fas_json_get(json_object_array_get_idx(evs, 3), "object")),
                     fas_store_rv(e->s));
    put_json(evs);
    fas_watch_release(w);
    /* sendInitialEvents: ADDED then the initial-events-end bookmark */
    lo = (struct fas_list_opts){.send_initial_events = true,
                                .allow_bookmarks = true,
                                .rv_match = "NotOlderThan",
                                .timeout_seconds = 5};
    fas_store_watch(e->s, &t, &lo, &w, &r);
    evs = read_events(w, 2);
    assert_string_equal(ev_type(evs, 0), "ADDED");
    assert_string_equal(ev_type(evs, 1), "BOOKMARK");
    assert_string_equal(
        str_at(fas_json_get(fas_json_get(json_object_array_get_idx(evs, 1), "object"), "metadata"),
               "annotations", "k8s.io/initial-events-end"),
        "true");
    put_json(evs);
    fas_watch_release(w);
    /* expired: one ERROR event, then the end */
    fas_store_drop_history(e->s);
    lo = (struct fas_list_opts){.resource_version = rvs, .timeout_seconds = 5};
    fas_store_watch(e->s, &t, &lo, &w, &r);
    evs = read_events(w, 2);
    assert_int_equal(json_object_array_length(evs), 1);
    assert_string_equal(ev_type(evs, 0), "ERROR");
    json_object *status = fas_json_get(json_object_array_get_idx(evs, 0), "object");
    assert_string_equal(fas_json_str(status, "reason"), "Expired");
    assert_int_equal(json_object_get_int(fas_json_get(status, "code")), 410);
    put_json(evs);
    fas_watch_release(w);
    /* a cut ends the stream */
    lo = (struct fas_list_opts){.resource_version = "0", .timeout_seconds = 5};
    fas_store_watch(e->s, &t, &lo, &w, &r);
    fas_store_close_watches(e->s);
    char buf[64];
    ssize_t got;
    int reads = 0;
    while ((got = fas_watch_read(w, buf, sizeof(buf))) >= 0 && reads < 1000)
        reads++;
    assert_int_equal(got, -1);
    fas_watch_release(w);
    fas_reply_free(&r);
}

static void create_secret(struct fas_store *s, const char *name, const char *type)
{
    char body[512];
    struct fas_target t;
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"%s\"}%s%s%s,"
             "\"data\":{\"k\":\"dg==\"}}",
             name, type ? ",\"type\":\"" : "", type ? type : "", type ? "\"" : "");
    put_json(
        do_write(s, 'C', tgt(&t, "", "v1", "secrets", "default", NULL, NULL), NULL, body, 201));
}

/* Secrets select on their type (kube-apiserver's secret strategy SelectableFields), in lists with
 * paging and in watches; other kinds refuse the field. An absent type is defaulted to Opaque. */
static void test_secret_type_field_selector(void **state)
{
    struct env *e = *state;
    struct fas_target t;
    create_secret(e->s, "a-tls", "kubernetes.io/tls");
    create_secret(e->s, "b-opaque", NULL);
    create_secret(e->s, "c-tls", "kubernetes.io/tls");
    create_secret(e->s, "d-sa", "kubernetes.io/service-account-token");
    create_secret(e->s, "e-tls", "kubernetes.io/tls");
    tgt(&t, "", "v1", "secrets", NULL, NULL, NULL);
    struct fas_list_opts lo = {.field_selector = "type=kubernetes.io/tls"};
    json_object *l = do_list(e->s, &t, &lo, 200);
    assert_int_equal(json_object_array_length(fas_json_get(l, "items")), 3);
    put_json(l);
    lo = (struct fas_list_opts){.field_selector = "type=Opaque"};
    l = do_list(e->s, &t, &lo, 200);
    assert_int_equal(json_object_array_length(fas_json_get(l, "items")), 1);
    assert_string_equal(
        str_at(json_object_array_get_idx(fas_json_get(l, "items"), 0), "metadata", "name"),
        "b-opaque");
    put_json(l);
    lo = (struct fas_list_opts){.field_selector = "type!=kubernetes.io/tls,metadata.name!=d-sa"};
    l = do_list(e->s, &t, &lo, 200);
    assert_int_equal(json_object_array_length(fas_json_get(l, "items")), 1);
    put_json(l);
    /* pages of 2 over the 3 selected ones: the continue token skips the unselected ones */
    lo = (struct fas_list_opts){.field_selector = "type=kubernetes.io/tls", .limit = 2};
    l = do_list(e->s, &t, &lo, 200);
    assert_int_equal(json_object_array_length(fas_json_get(l, "items")), 2);
    char *cont = strdup(fas_json_str(fas_json_get(l, "metadata"), "continue"));
    put_json(l);
    lo = (struct fas_list_opts){
        .field_selector = "type=kubernetes.io/tls", .limit = 2, .cont = cont};
    l = do_list(e->s, &t, &lo, 200);
    assert_int_equal(json_object_array_length(fas_json_get(l, "items")), 1);
    assert_string_equal(
        str_at(json_object_array_get_idx(fas_json_get(l, "items"), 0), "metadata", "name"),
        "e-tls");
    assert_null(fas_json_str(fas_json_get(l, "metadata"), "continue"));
    put_json(l);
    free(cont);
    /* not a field of ConfigMaps */
    tgt(&t, "", "v1", "configmaps", NULL, NULL, NULL);
    lo = (struct fas_list_opts){.field_selector = "type=Opaque"};
    put_json(do_list(e->s, &t, &lo, 400));
    /* a watch sees only the selected type */
    tgt(&t, "", "v1", "secrets", "default", NULL, NULL);
    lo = (struct fas_list_opts){.field_selector = "type=kubernetes.io/tls", .timeout_seconds = 5};
    struct fas_reply r;
    fas_reply_init(&r);
    struct fas_watch *w = NULL;
    fas_store_watch(e->s, &t, &lo, &w, &r);
    assert_non_null(w);
    create_secret(e->s, "f-opaque", "Opaque");
    create_secret(e->s, "g-tls", "kubernetes.io/tls");
    json_object *evs = read_events(w, 4);
    assert_int_equal(json_object_array_length(evs), 4); /* a, c, e (initial), then g */
    assert_string_equal(ev_name(evs, 3), "g-tls");
    put_json(evs);
    fas_watch_release(w);
    fas_reply_free(&r);
}

static void test_namespace_cleanup_is_deferred(void **state)
{
    (void)state;
    struct fas_store *s = NULL;
    struct fas_store_opts o = {.history = 50, .namespace_cleanup_ms = 50};
    assert_int_equal(fas_store_new(&o, &s), 0);
    struct fas_target t;
    create_ns(s, "later");
    create_cm(s, "later", "c", NULL);
    json_object *ns =
        do_write(s, 'D', tgt(&t, "", "v1", "namespaces", NULL, "later", NULL), NULL, NULL, 200);
    assert_string_equal(str_at(ns, "status", "phase"), "Terminating");
    put_json(ns);
    /* like a real cluster, the contents are still there right after the DELETE */
    put_json(do_get(s, tgt(&t, "", "v1", "configmaps", "later", "c", NULL), 200));
    put_json(do_write(s, 'D', &t, NULL, NULL, 200));
    int polls = 0;
    for (; polls < 200; polls++) {
        struct fas_reply r;
        fas_reply_init(&r);
        fas_store_get(s, tgt(&t, "", "v1", "namespaces", NULL, "later", NULL), false, &r);
        int code = r.code;
        fas_reply_free(&r);
        if (code == 404)
            break;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_true(polls < 200);
    fas_store_free(s);
}

static void test_crd_lifecycle(void **state)
{
    struct env *e = *state;
    struct fas_target t, crd;
    tgt(&t, "example.com", "v1", "widgets", "default", NULL, NULL);
    put_json(do_write(e->s, 'C', &t, NULL, "{}", 404)); /* not served yet */
    install_widgets(e->s);
    json_object *c = do_get(e->s,
                            tgt(&crd, "apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                NULL, "widgets.example.com", NULL),
                            200);
    json_object *conds = fas_json_get(fas_json_get(c, "status"), "conditions");
    assert_int_equal(json_object_array_length(conds), 2);
    assert_string_equal(fas_json_str(json_object_array_get_idx(conds, 1), "type"), "Established");
    assert_string_equal(fas_json_str(json_object_array_get_idx(conds, 1), "status"), "True");
    put_json(c);
    put_json(
        do_write(e->s, 'C', &t, NULL,
                 "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":"
                 "\"w\"},\"spec\":{\"size\":1}}",
                 201));
    struct fas_reply r;
    fas_reply_init(&r);
    fas_store_discovery(e->s, "/apis/example.com/v1", false, &r);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body, "\"name\":\"widgets/status\""));
    fas_reply_free(&r);
    fas_store_openapi(e->s, "/openapi/v3/apis/example.com/v1", &r);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body, "\"name\":\"fieldValidation\",\"in\":\"query\""));
    fas_reply_free(&r);
    /* a bad CRD is refused */
    put_json(do_write(
        e->s, 'C',
        tgt(&crd, "apiextensions.k8s.io", "v1", "customresourcedefinitions", NULL, NULL, NULL),
        NULL,
        "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
        "\"metadata\":{\"name\":\"wrong.example.com\"},\"spec\":{\"group\":\"example.com\","
        "\"scope\":\"Namespaced\",\"names\":{\"kind\":\"G\",\"plural\":\"gs\"},"
        "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true}]}}",
        422));
    /* deleting the CRD stops serving the resource */
    put_json(do_write(e->s, 'D',
                      tgt(&crd, "apiextensions.k8s.io", "v1", "customresourcedefinitions", NULL,
                          "widgets.example.com", NULL),
                      NULL, NULL, 200));
    put_json(do_get(e->s, tgt(&t, "example.com", "v1", "widgets", "default", "w", NULL), 404));
    fas_store_discovery(e->s, "/apis/example.com/v1", false, &r);
    assert_int_equal(r.code, 404);
    fas_reply_free(&r);
}

int main(void)
{
    kgc_log_setup(KGC_LOG_WARN, KGC_LOG_TEXT, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resource_versions_increase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_sets_system_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_generation_and_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_write_answers_as_the_whole_walk, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_status_merge_patch_stores_as_the_whole_tree, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_apply_creates_and_merges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_selectors_and_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_type_field_selector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finalizers_and_namespaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crd_lifecycle, setup, teardown),
        cmocka_unit_test(test_namespace_cleanup_is_deferred),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

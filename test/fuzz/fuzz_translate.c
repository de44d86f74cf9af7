/* libFuzzer target for the translator: bytes → a few typed objects → kgc_translate().
 *
 * Input: one option byte (bits 0-1 router flavour, bit 2 Kong 3.8 instead of 3.9, bit 3 an
 * invalid-backend target 127.0.0.1:9500 or, with bit 4, "[2001:db8::5]:9500"), then JSON
 * documents separated by "\n---\n", each a Kubernetes object whose "kind" says what it is
 * (at most 64). They are added to a fixed base: an owned GatewayClass "fuzz-class", Gateway
 * ns/gw (HTTP :80, HTTPS :443 for *.example.com with a valid TLS Secret), Service ns/svc with an
 * EndpointSlice. A document with the key of a base object replaces it.
 *
 * Properties checked (abort on violation): no crash or leak (ASan/LSan), the configuration is
 * accepted by the test Kong's validator for the chosen flavour (but for plugin entities made
 * from KongPlugin/KongClusterPlugin objects, whose configs only Kong judges), the same objects
 * enumerated in reverse give the same bytes, and every service and route name leads back to its
 * route. */
#include "../fakes/kong/kong_fake.h"
#include "kgc/api.h"
#include "kgc/status.h"
#include "kgc/translate.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_DOCS 64
#define MAX_OBJS (MAX_DOCS + 16)

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

static const struct {
    enum kgc_api_kind kind;
    const char *json;
} BASE[] = {
    {KGC_API_GATEWAYCLASS, "{\"metadata\":{\"name\":\"fuzz-class\"},\"spec\":{\"controllerName\":"
                           "\"" KGC_STATUS_DEFAULT_CONTROLLER "\"}}"},
    {KGC_API_NAMESPACE, "{\"metadata\":{\"name\":\"ns\",\"labels\":{\"team\":\"a\"}}}"},
    {KGC_API_GATEWAY,
     "{\"metadata\":{\"name\":\"gw\",\"namespace\":\"ns\"},\"spec\":{\"gatewayClassName\":"
     "\"fuzz-class\",\"listeners\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"HTTP\","
     "\"allowedRoutes\":{\"namespaces\":{\"from\":\"All\"}}},{\"name\":\"https\",\"port\":443,"
     "\"protocol\":\"HTTPS\",\"hostname\":\"*.example.com\",\"tls\":{\"certificateRefs\":[{"
     "\"name\":\"tls\"}]},\"allowedRoutes\":{\"namespaces\":{\"from\":\"All\"}}}]}}"},
    {KGC_API_SERVICE, "{\"metadata\":{\"name\":\"svc\",\"namespace\":\"ns\"},\"spec\":{\"ports\":"
                      "[{\"name\":\"http\",\"port\":80,\"targetPort\":8080}]}}"},
    {KGC_API_ENDPOINTSLICE,
     "{\"metadata\":{\"name\":\"svc-a\",\"namespace\":\"ns\",\"labels\":{"
     "\"kubernetes.io/service-name\":\"svc\"}},\"addressType\":\"IPv4\",\"ports\":[{\"name\":"
     "\"http\",\"port\":8080}],\"endpoints\":[{\"addresses\":[\"10.0.0.1\"]},{\"addresses\":"
     "[\"10.0.0.2\"],\"conditions\":{\"ready\":false}}]}"},
};

static const struct kgc_api_obj *base_objs[8];
static size_t n_base;

struct set {
    const struct kgc_api_obj *v[MAX_OBJS];
    size_t n;
    bool reversed;
};

static const struct kgc_api_obj *set_get(void *ctx, enum kgc_api_kind kind, const char *ns,
                                         const char *name)
{
    const struct set *s = ctx;
    for (size_t i = s->n; i > 0; i--) { /* the last one added wins */
        const struct kgc_api_obj *o = s->v[i - 1];
        if (o->kind == kind && strcmp(o->meta.name, name) == 0 &&
            ((!ns && !o->meta.namespace) ||
             (ns && o->meta.namespace && strcmp(o->meta.namespace, ns) == 0)))
            return kgc_api_obj_ref(o);
    }
    return NULL;
}

static void set_foreach(void *ctx, enum kgc_api_kind kind, const char *ns, kgc_status_visit_fn fn,
                        void *fnctx)
{
    const struct set *s = ctx;
    for (size_t k = 0; k < s->n; k++) {
        size_t i = s->reversed ? s->n - 1 - k : k;
        const struct kgc_api_obj *o = s->v[i];
        if (o->kind != kind)
            continue;
        if (ns && (!o->meta.namespace || strcmp(o->meta.namespace, ns) != 0))
            continue;
        /* a replaced object is invisible, as in a cache */
        const struct kgc_api_obj *cur = set_get(ctx, kind, o->meta.namespace, o->meta.name);
        bool visible = cur == o;
        kgc_api_obj_unref(cur);
        if (visible && !fn(o, fnctx))
            return;
    }
}

static const struct kgc_api_obj *parse(enum kgc_api_kind kind, const char *json, size_t len)
{
    struct kgc_api_obj *o = NULL;
    if (kgc_api_parse_text(kind, json, len, &o, NULL) != 0)
        return NULL;
    return o;
}

static char *b64(const char *s)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(s), o = 0;
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!out)
        abort();
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;
        if (i + 1 < len)
            v |= (unsigned char)s[i + 1] << 8;
        if (i + 2 < len)
            v |= (unsigned char)s[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tbl[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < sizeof(BASE) / sizeof(BASE[0]); i++) {
        base_objs[n_base] = parse(BASE[i].kind, BASE[i].json, strlen(BASE[i].json));
        if (!base_objs[n_base])
            abort();
        n_base++;
    }
    char *crt = b64(TEST_CERT), *key = b64(TEST_KEY);
    char *json = NULL;
    if (asprintf(&json,
                 "{\"metadata\":{\"name\":\"tls\",\"namespace\":\"ns\"},\"type\":"
                 "\"kubernetes.io/tls\",\"data\":{\"tls.crt\":\"%s\",\"tls.key\":\"%s\"}}",
                 crt, key) < 0)
        abort();
    base_objs[n_base] = parse(KGC_API_SECRET, json, strlen(json));
    if (!base_objs[n_base])
        abort();
    n_base++;
    free(json);
    free(crt);
    free(key);
    return 0;
}

/* Every service and route kgc names leads back to a route by its name alone (Kong reports an
 * entity's name in its flattened errors), and to the same route its tags name where it has any. */
static void check_owners(json_object *doc)
{
    json_object *svcs = NULL;
    if (!json_object_object_get_ex(doc, "services", &svcs))
        abort();
    for (size_t i = 0; i < json_object_array_length(svcs); i++) {
        json_object *s = json_object_array_get_idx(svcs, i), *name = NULL, *routes = NULL;
        json_object_object_get_ex(s, "name", &name);
        struct kgc_translate_owner o;
        if (kgc_translate_entity_owner("service", json_object_get_string(name), NULL, 0, &o) != 0)
            abort();
        json_object_object_get_ex(s, "routes", &routes);
        for (size_t k = 0; routes && k < json_object_array_length(routes); k++) {
            json_object *r = json_object_array_get_idx(routes, k), *rn = NULL, *tags = NULL;
            json_object_object_get_ex(r, "name", &rn);
            json_object_object_get_ex(r, "tags", &tags);
            struct kgc_translate_owner by_name, by_tags;
            const char *tv[16];
            size_t nt = tags ? json_object_array_length(tags) : 0;
            for (size_t t = 0; t < nt && t < 16; t++)
                tv[t] = json_object_get_string(json_object_array_get_idx(tags, t));
            /* Kong routes carry no tags since their names say it all; tags, where a route
             * has them, must name the same owner */
            if (kgc_translate_entity_owner("route", json_object_get_string(rn), NULL, 0,
                                           &by_name) != 0 ||
                strcmp(by_name.name, o.name) != 0 || by_name.rule != o.rule)
                abort();
            if (nt &&
                (kgc_translate_entity_owner("route", NULL, tv, nt < 16 ? nt : 16, &by_tags) != 0 ||
                 strcmp(by_name.name, by_tags.name) != 0 ||
                 strcmp(by_name.namespace, by_tags.namespace) != 0 ||
                 by_name.rule != by_tags.rule || by_name.match != by_tags.match))
                abort();
        }
    }
}

/* The test Kong's validation memo (kf_vmemo) changes no answer: validated with a memo that keeps
 * the previous inputs' entities, then again (every entity a hit), the 201 body is the one
 * validated without (when that one is the same twice: random ids differ from run to run). The
 * server parses the text with the memo (kf_vmemo_parse, which shares the values of entities whose
 * bytes it remembers): each round also parses text so, and that document must be doc, byte for
 * byte, and validate to the same body. */
static void check_memo(const char *text, json_object *doc, const struct kf_validate_opts *vo,
                       json_object *want)
{
    static struct kf_vmemo *memo;
    if (!memo && !(memo = kf_vmemo_new()))
        abort();
    const int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
    char *want_text = strdup(json_object_to_json_string_ext(want, flags));
    json_object *again = NULL, *body = NULL;
    if (!want_text || kf_validate(doc, vo, &again, &body) != 0)
        abort();
    bool same = strcmp(want_text, json_object_to_json_string_ext(again, flags)) == 0;
    json_object_put(again);
    json_object_put(body);
    struct kf_validate_opts mo = *vo;
    mo.memo = memo;
    for (int round = 0; round < 2; round++) {
        json_object *got = NULL;
        body = NULL;
        if (kf_validate(doc, &mo, &got, &body) != 0 ||
            (same && strcmp(want_text, json_object_to_json_string_ext(got, flags)) != 0)) {
            fprintf(stderr, "the validation memo changed the answer (round %d)\n", round);
            abort();
        }
        json_object_put(got);
        json_object_put(body);
        json_object *parsed = NULL;
        got = body = NULL;
        if (kf_vmemo_parse(memo, text, strlen(text), &parsed) != 0) {
            fprintf(stderr, "kf_vmemo_parse left kgc's configuration to kf_text_parse\n");
            abort();
        }
        mo.share_memo_values = true; /* as the server validates what it parsed so */
        char *doc_text = strdup(json_object_to_json_string_ext(doc, flags));
        if (!doc_text || strcmp(doc_text, json_object_to_json_string_ext(parsed, flags)) != 0 ||
            kf_validate(parsed, &mo, &got, &body) != 0 ||
            (same && strcmp(want_text, json_object_to_json_string_ext(got, flags)) != 0)) {
            fprintf(stderr, "the memo's parse changed the document or the answer (round %d)\n",
                    round);
            abort();
        }
        free(doc_text);
        json_object_put(got);
        json_object_put(body);
        json_object_put(parsed);
    }
    free(want_text);
}

/* Whether every entity Kong rejected is a plugin whose tags name a KongPlugin or
 * KongClusterPlugin: their configs are the user's and Kong alone judges them (the syncer then
 * leaves the object out and its routes answer 500); anything kgc made itself must pass. */
static bool only_plugin_objects(json_object *body)
{
    json_object *fe = NULL;
    if (!body || !json_object_object_get_ex(body, "flattened_errors", &fe) ||
        json_object_array_length(fe) == 0)
        return false;
    for (size_t i = 0; i < json_object_array_length(fe); i++) {
        json_object *e = json_object_array_get_idx(fe, i), *type = NULL, *tags = NULL;
        json_object_object_get_ex(e, "entity_type", &type);
        json_object_object_get_ex(e, "entity_tags", &tags);
        const char *tv[16];
        size_t nt = tags ? json_object_array_length(tags) : 0;
        for (size_t t = 0; t < nt && t < 16; t++)
            tv[t] = json_object_get_string(json_object_array_get_idx(tags, t));
        struct kgc_translate_owner o;
        if (!type || strcmp(json_object_get_string(type), "plugin") != 0 ||
            kgc_translate_entity_owner("plugin", NULL, tv, nt < 16 ? nt : 16, &o) != 0 ||
            (o.kind != KGC_API_KONGPLUGIN && o.kind != KGC_API_KONGCLUSTERPLUGIN))
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const flavors[] = {NULL, "traditional", "expressions", "traditional"};
    const char *flavor = flavors[data[0] & 3];
    const char *version = (data[0] & 4) ? "3.8.0" : "3.9.1";
    const char *fallback =
        (data[0] & 8) ? ((data[0] & 16) ? "[2001:db8::5]:9500" : "127.0.0.1:9500") : NULL;

    struct set s = {.n = 0};
    for (size_t i = 0; i < n_base; i++)
        s.v[s.n++] = kgc_api_obj_ref(base_objs[i]);

    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    for (size_t docs = 0; p < end && docs < MAX_DOCS; docs++) {
        const char *sep = memmem(p, (size_t)(end - p), "\n---\n", 5);
        size_t len = sep ? (size_t)(sep - p) : (size_t)(end - p);
        json_tokener *tok = json_tokener_new();
        json_object *j = tok ? json_tokener_parse_ex(tok, p, (int)len) : NULL;
        json_tokener_free(tok);
        json_object *kind_j = NULL;
        if (j && json_object_object_get_ex(j, "kind", &kind_j)) {
            int kind = kgc_api_kind_from_name(json_object_get_string(kind_j));
            struct kgc_api_obj *o = NULL;
            if (kind >= 0 && kgc_api_parse((enum kgc_api_kind)kind, j, &o, NULL) == 0)
                s.v[s.n++] = o;
        }
        json_object_put(j);
        p = sep ? sep + 5 : end;
    }

    struct kgc_status_lookup lk = {.get = set_get, .foreach = set_foreach, .ctx = &s};
    struct kgc_translate_input in = {.lookup = &lk,
                                     .router_flavor = flavor,
                                     .kong_version = version,
                                     .invalid_backend_target = fallback};
    struct kgc_translate_output a, b;
    if (kgc_translate(&in, &a, NULL) != 0)
        abort(); /* no allocation fails here: nothing else may fail */
    s.reversed = true;
    if (kgc_translate(&in, &b, NULL) != 0 || strcmp(a.config, b.config) != 0 ||
        a.n_problems != b.n_problems)
        abort();
    /* the incremental translation: from nothing, then with every HTTPRoute said changed (each
     * planned again, the document assembled from the last one, the MD5 resumed), then from
     * nothing again seeded with the same bytes (b's text: shared, not copied): the same text */
    struct kgc_translate_state *st = kgc_translate_state_new();
    struct kgc_translate_change ch[64];
    size_t n_ch = 0;
    for (size_t i = 0; i < s.n && n_ch < 64; i++)
        if (kgc_api_as_httproute(s.v[i]))
            ch[n_ch++] = (struct kgc_translate_change){KGC_API_HTTPROUTE, s.v[i]->meta.namespace,
                                                       s.v[i]->meta.name};
    struct kgc_translate_text *seed = kgc_translate_output_take_text(&b);
    for (int round = 0; round < 3; round++) {
        struct kgc_translate_output c;
        if (round == 2)
            kgc_translate_state_seed(st, seed);
        if (!st || !seed ||
            kgc_translate_incremental(st, &in, round == 1 ? ch : NULL, round == 1 ? n_ch : 0,
                                      round == 2, &c, NULL, NULL) != 0 ||
            strcmp(a.config, c.config) != 0 || strcmp(a.hash, c.hash) != 0 ||
            a.n_problems != c.n_problems || (round == 2 && c.config != seed->s))
            abort();
        kgc_translate_output_free(&c);
    }
    kgc_translate_text_unref(seed);
    kgc_translate_state_free(st);

    json_object *doc = json_tokener_parse(a.config);
    if (!doc)
        abort();
    struct kf_validate_opts vo = {.router_flavor = flavor, .flatten_errors = true};
    json_object *entities = NULL, *body = NULL;
    if (kf_validate(doc, &vo, &entities, &body) != 0 && !only_plugin_objects(body)) {
        fprintf(stderr, "the test Kong rejects the configuration:\n%s\n%s\n", a.config,
                body ? json_object_to_json_string(body) : "(no body)");
        abort();
    }
    check_owners(doc);
    if (entities) /* accepted (a configuration whose only rejected entities are the users' plugin
                     objects has no entities to compare) */
        check_memo(a.config, doc, &vo, entities);
    json_object_put(entities);
    json_object_put(body);
    json_object_put(doc);

    for (size_t i = 0; i < s.n; i++) {
        const struct kgc_api_httproute *r = kgc_api_as_route(s.v[i]);
        struct kgc_status_route_verdict v;
        if (r)
            kgc_translate_route_verdict(&a, r, &v);
    }
    kgc_translate_output_free(&a);
    kgc_translate_output_free(&b);
    for (size_t i = 0; i < s.n; i++)
        kgc_api_obj_unref(s.v[i]);
    return 0;
}

/* Kinds, the two-pass parse entry point, references, base64 and TLS validation. */
#include "api_internal.h"
#include "kgc/jsonscan.h"
#include "kgc/k8s.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GW_GROUP   "gateway.networking.k8s.io"
#define KONG_GROUP "configuration.konghq.com"

static const struct kgc_api_kind_info kinds[KGC_API_KIND_COUNT] = {
    {KGC_API_GATEWAYCLASS, "GatewayClass", "gatewayclasses", GW_GROUP, "v1", GW_GROUP "/v1", false},
    {KGC_API_GATEWAY, "Gateway", "gateways", GW_GROUP, "v1", GW_GROUP "/v1", true},
    {KGC_API_HTTPROUTE, "HTTPRoute", "httproutes", GW_GROUP, "v1", GW_GROUP "/v1", true},
    {KGC_API_GRPCROUTE, "GRPCRoute", "grpcroutes", GW_GROUP, "v1", GW_GROUP "/v1", true, true},
    {KGC_API_REFERENCEGRANT, "ReferenceGrant", "referencegrants", GW_GROUP, "v1", GW_GROUP "/v1",
     true},
    {KGC_API_SERVICE, "Service", "services", "", "v1", "v1", true},
    {KGC_API_ENDPOINTSLICE, "EndpointSlice", "endpointslices", "discovery.k8s.io", "v1",
     "discovery.k8s.io/v1", true},
    {KGC_API_SECRET, "Secret", "secrets", "", "v1", "v1", true},
    {KGC_API_NAMESPACE, "Namespace", "namespaces", "", "v1", "v1", false},
    {KGC_API_KONGPLUGIN, "KongPlugin", "kongplugins", KONG_GROUP, "v1", KONG_GROUP "/v1", true,
     true},
    {KGC_API_KONGCLUSTERPLUGIN, "KongClusterPlugin", "kongclusterplugins", KONG_GROUP, "v1",
     KONG_GROUP "/v1", false, true},
    {KGC_API_CONFIGMAP, "ConfigMap", "configmaps", "", "v1", "v1", true},
    {KGC_API_BACKENDTLSPOLICY, "BackendTLSPolicy", "backendtlspolicies", GW_GROUP, "v1",
     GW_GROUP "/v1", true, true},
    {KGC_API_LISTENERSET, "ListenerSet", "listenersets", GW_GROUP, "v1", GW_GROUP "/v1", true,
     true},
    /* v1 in the standard channel since gateway-api v1.6 (crds-more: v1 served and stored,
     * v1alpha2 served: false) */
    {KGC_API_TLSROUTE, "TLSRoute", "tlsroutes", GW_GROUP, "v1", GW_GROUP "/v1", true, true},
    {KGC_API_TCPROUTE, "TCPRoute", "tcproutes", GW_GROUP, "v1", GW_GROUP "/v1", true, true},
    {KGC_API_UDPROUTE, "UDPRoute", "udproutes", GW_GROUP, "v1", GW_GROUP "/v1", true, true},
};

const struct kgc_api_kind_info *kgc_api_kind_info(enum kgc_api_kind kind)
{
    if ((int)kind < 0 || kind >= KGC_API_KIND_COUNT)
        return NULL;
    return &kinds[kind];
}

int kgc_api_kind_from_name(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < KGC_API_KIND_COUNT; i++) {
        if (strcmp(s, kinds[i].plural) == 0 || strcasecmp(s, kinds[i].name) == 0)
            return i;
    }
    return -1;
}

/* --- parse ------------------------------------------------------------------------------------ */

static bool usable_name(const struct api_pctx *c, api_jv v)
{
    size_t n = 0;
    const char *s = api_str(c, v, &n);
    return s && n > 0 && n <= 253 && !memchr(s, '/', n) && !memchr(s, '\0', n);
}

/* One pass (measure or fill). The jump target lives here, so nothing in this frame is modified
 * between setjmp and longjmp. */
static struct kgc_api_obj *run_pass(struct api_pctx *c, enum kgc_api_kind kind, api_jv j,
                                    const struct api_secret_prep *prep)
{
    jmp_buf jb;
    c->a->oom_jmp = &jb;
    if (setjmp(jb)) {
        c->a->oom_jmp = NULL;
        return NULL;
    }
    struct kgc_api_obj *o = api_parse_kind(c, kind, j, prep);
    c->a->oom_jmp = NULL; /* jb dies with this frame */
    return o;
}

int kgc_api_parse_tape(enum kgc_api_kind kind, const struct kgc_jsonscan_tape *t, uint32_t node,
                       struct kgc_api_obj **out, struct kgc_err *err)
{
    *out = NULL;
    const struct kgc_api_kind_info *info = kgc_api_kind_info(kind);
    if (!info)
        return kgc_err_set(err, KGC_EINVAL, "unknown kind %d", (int)kind);
    struct api_pctx c = {.t = t};
    api_jv j = node + 1;
    if (node >= t->n || t->nodes[node].type != KGC_JSONSCAN_OBJECT)
        return kgc_err_set(err, KGC_EPARSE, "%s: not a JSON object", info->name);
    api_jv m = api_field(&c, j, "metadata");
    if (api_type(&c, m) != KGC_JSONSCAN_OBJECT)
        return kgc_err_set(err, KGC_EPARSE, "%s: no metadata", info->name);
    api_jv name = api_field(&c, m, "name"), ns = 0;
    if (!usable_name(&c, name))
        return kgc_err_set(err, KGC_EPARSE, "%s: metadata.name missing or invalid", info->name);
    if (info->namespaced) {
        ns = api_field(&c, m, "namespace");
        if (!usable_name(&c, ns)) {
            size_t nl;
            const char *nm = api_str(&c, name, &nl);
            return kgc_err_set(err, KGC_EPARSE, "%s %.*s: metadata.namespace missing or invalid",
                               info->name, (int)nl, nm);
        }
    }

    struct api_secret_prep prep = {0};
    if (kind == KGC_API_SECRET)
        api_secret_prep(&c, j, &prep);

    /* the namespace from the process's table, the same for both passes */
    const char *ns_shared = NULL;
    if (ns) {
        size_t nl;
        const char *s = api_str(&c, ns, &nl);
        ns_shared = api_intern_shared(s, nl);
    }
    struct api_arena a;
    api_arena_init_measure(&a);
    c.a = &a;
    c.ns_shared = ns_shared;
    struct kgc_api_obj *o = run_pass(&c, kind, j, &prep);
    size_t size = a.used;
    api_arena_release(&a);
    if (!o || size > UINT32_MAX) {
        api_secret_prep_free(&prep);
        return kgc_err_set(err, KGC_ENOMEM, "%s: out of memory", info->name);
    }

    char *block = malloc(size);
    if (!block) {
        api_secret_prep_free(&prep);
        return kgc_err_set(err, KGC_ENOMEM, "%s: out of memory", info->name);
    }
    api_arena_init_fill(&a, block, size);
    memset(&c, 0, sizeof(c));
    c.t = t;
    c.a = &a;
    c.ns_shared = ns_shared;
    o = run_pass(&c, kind, j, &prep);
    api_secret_prep_free(&prep);
    if (!o || (char *)o != block || a.used != size) {
        free(block);
        return kgc_err_set(err, KGC_ENOMEM, "%s: out of memory", info->name);
    }
    o->refs = 1;
    o->size = (uint32_t)size;
    *out = o;
    return 0;
}

int kgc_api_parse_text(enum kgc_api_kind kind, const char *text, size_t len,
                       struct kgc_api_obj **out, struct kgc_err *err)
{
    *out = NULL;
    static const struct kgc_jsonscan_limits lim = {.max_values = KGC_K8S_OBJECT_MAX_VALUES,
                                                   .max_containers = KGC_K8S_OBJECT_MAX_CONTAINERS};
    struct kgc_jsonscan_tape t;
    kgc_jsonscan_tape_init(&t);
    int rc = kgc_jsonscan_tape_build(&t, text, len, &lim, "object", err);
    if (rc == KGC_EPARSE)
        kgc_err_wrap(err, "bad JSON");
    if (rc == 0)
        rc = kgc_api_parse_tape(kind, &t, 0, out, err);
    kgc_jsonscan_tape_free(&t);
    return rc;
}

int kgc_api_parse(enum kgc_api_kind kind, json_object *json, struct kgc_api_obj **out,
                  struct kgc_err *err)
{
    *out = NULL;
    const struct kgc_api_kind_info *info = kgc_api_kind_info(kind);
    if (!info)
        return kgc_err_set(err, KGC_EINVAL, "unknown kind %d", (int)kind);
    if (!json || !json_object_is_type(json, json_type_object))
        return kgc_err_set(err, KGC_EPARSE, "%s: not a JSON object", info->name);
    size_t len = 0;
    const char *text = json_object_to_json_string_length(json, JSON_C_TO_STRING_PLAIN, &len);
    if (!text)
        return kgc_err_set(err, KGC_ENOMEM, "%s: out of memory", info->name);
    return kgc_api_parse_text(kind, text, len, out, err);
}

/* --- references ------------------------------------------------------------------------------- */

const struct kgc_api_obj *kgc_api_obj_ref(const struct kgc_api_obj *obj)
{
    if (obj)
        __atomic_add_fetch(&((struct kgc_api_obj *)obj)->refs, 1, __ATOMIC_RELAXED);
    return obj;
}

void kgc_api_obj_unref(const struct kgc_api_obj *obj)
{
    if (!obj)
        return;
    struct kgc_api_obj *o = (struct kgc_api_obj *)obj;
    if (__atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        if (o->kind == KGC_API_GATEWAY) {
            /* a merged Gateway holds its parts (kgc_api_gateway_merge) */
            const struct kgc_api_gateway *g = (const struct kgc_api_gateway *)o;
            for (uint32_t i = 0; i < g->n_held; i++)
                kgc_api_obj_unref(g->held[i]);
        }
        if (o->kind == KGC_API_SECRET) {
            /* Wipe the key material before the memory goes back to the allocator. */
            OPENSSL_cleanse(o, o->size);
        }
        free(o);
    }
}

#define DOWNCAST(fn, type, k)                                                                      \
    const struct type *fn(const struct kgc_api_obj *obj)                                           \
    {                                                                                              \
        return obj && obj->kind == (k) ? (const struct type *)(const void *)obj : NULL;            \
    }
DOWNCAST(kgc_api_as_gatewayclass, kgc_api_gatewayclass, KGC_API_GATEWAYCLASS)
DOWNCAST(kgc_api_as_gateway, kgc_api_gateway, KGC_API_GATEWAY)
DOWNCAST(kgc_api_as_httproute, kgc_api_httproute, KGC_API_HTTPROUTE)
DOWNCAST(kgc_api_as_grpcroute, kgc_api_httproute, KGC_API_GRPCROUTE)
DOWNCAST(kgc_api_as_referencegrant, kgc_api_referencegrant, KGC_API_REFERENCEGRANT)
DOWNCAST(kgc_api_as_service, kgc_api_service, KGC_API_SERVICE)
DOWNCAST(kgc_api_as_endpointslice, kgc_api_endpointslice, KGC_API_ENDPOINTSLICE)
DOWNCAST(kgc_api_as_secret, kgc_api_secret, KGC_API_SECRET)
DOWNCAST(kgc_api_as_namespace, kgc_api_namespace, KGC_API_NAMESPACE)
DOWNCAST(kgc_api_as_configmap, kgc_api_configmap, KGC_API_CONFIGMAP)
DOWNCAST(kgc_api_as_backendtlspolicy, kgc_api_backendtlspolicy, KGC_API_BACKENDTLSPOLICY)
DOWNCAST(kgc_api_as_listenerset, kgc_api_listenerset, KGC_API_LISTENERSET)

int kgc_api_gateway_merge(const struct kgc_api_gateway *gw,
                          const struct kgc_api_listenerset *const *sets, uint32_t n_sets,
                          uint32_t max_listeners, const struct kgc_api_gateway **out)
{
    *out = NULL;
    uint32_t own = gw->n_listeners < max_listeners ? gw->n_listeners : max_listeners;
    uint32_t n = own;
    for (uint32_t i = 0; i < n_sets; i++) {
        uint32_t room = max_listeners - n;
        n += sets[i]->n_listeners < room ? sets[i]->n_listeners : room;
    }
    size_t size = sizeof(struct kgc_api_gateway) + n * sizeof(struct kgc_api_listener) +
                  n * sizeof(void *) + (n_sets + 1) * sizeof(void *);
    char *block = calloc(1, size);
    if (!block)
        return KGC_ENOMEM;
    struct kgc_api_gateway *m = (struct kgc_api_gateway *)block;
    struct kgc_api_listener *ls = (struct kgc_api_listener *)(block + sizeof(*m));
    const struct kgc_api_listenerset **origin = (const struct kgc_api_listenerset **)(ls + n);
    const struct kgc_api_obj **held = (const struct kgc_api_obj **)(origin + n);
    *m = *gw;
    m->obj.refs = 1;
    m->obj.size = (uint32_t)size;
    uint32_t k = 0;
    for (; k < own; k++)
        ls[k] = gw->listeners[k];
    held[0] = kgc_api_obj_ref(&gw->obj);
    for (uint32_t i = 0; i < n_sets; i++) {
        held[i + 1] = kgc_api_obj_ref(&sets[i]->obj);
        for (uint32_t j = 0; j < sets[i]->n_listeners && k < n; j++) {
            ls[k] = sets[i]->listeners[j];
            origin[k++] = sets[i];
        }
    }
    m->listeners = ls;
    m->n_listeners = n;
    m->listener_origin = origin;
    m->n_own_listeners = own;
    m->held = held;
    m->n_held = n_sets + 1;
    *out = m;
    return 0;
}

bool kgc_api_is_l4_route_kind(enum kgc_api_kind kind)
{
    return kind == KGC_API_TLSROUTE || kind == KGC_API_TCPROUTE || kind == KGC_API_UDPROUTE;
}

bool kgc_api_is_route_kind(enum kgc_api_kind kind)
{
    return kind == KGC_API_HTTPROUTE || kind == KGC_API_GRPCROUTE || kgc_api_is_l4_route_kind(kind);
}

const struct kgc_api_httproute *kgc_api_as_route(const struct kgc_api_obj *obj)
{
    return obj && kgc_api_is_route_kind(obj->kind)
               ? (const struct kgc_api_httproute *)(const void *)obj
               : NULL;
}

const struct kgc_api_kongplugin *kgc_api_as_kongplugin(const struct kgc_api_obj *obj)
{
    return obj && (obj->kind == KGC_API_KONGPLUGIN || obj->kind == KGC_API_KONGCLUSTERPLUGIN)
               ? (const struct kgc_api_kongplugin *)(const void *)obj
               : NULL;
}

const char *kgc_api_label(const struct kgc_api_obj *obj, const char *key)
{
    if (!obj || !key)
        return NULL;
    for (uint32_t i = 0; i < obj->meta.n_labels; i++) {
        if (strcmp(obj->meta.labels[i].key, key) == 0)
            return obj->meta.labels[i].value;
    }
    return NULL;
}

const struct kgc_api_condition *kgc_api_condition_find(const struct kgc_api_condition *conds,
                                                       uint32_t n, const char *type)
{
    for (uint32_t i = 0; i < n && type; i++) {
        if (conds[i].type && strcmp(conds[i].type, type) == 0)
            return &conds[i];
    }
    return NULL;
}

/* --- base64 and TLS --------------------------------------------------------------------------- */

int kgc_api_base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (len > INT32_MAX)
        return KGC_EPARSE;
    unsigned char *buf = malloc(len / 4 * 3 + 4);
    if (!buf)
        return KGC_ENOMEM;
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    if (!ctx) {
        free(buf);
        return KGC_ENOMEM;
    }
    int n1 = 0, n2 = 0;
    EVP_DecodeInit(ctx);
    int rc = EVP_DecodeUpdate(ctx, buf, &n1, (const unsigned char *)in, (int)len);
    if (rc >= 0)
        rc = EVP_DecodeFinal(ctx, buf + n1, &n2);
    EVP_ENCODE_CTX_free(ctx);
    if (rc < 0) {
        free(buf);
        ERR_clear_error();
        return KGC_EPARSE;
    }
    size_t n = (size_t)n1 + (size_t)n2;
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return 0;
}

/* Never prompt for a passphrase: an encrypted key is simply not usable. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

bool kgc_api_tls_pair_valid(const char *cert_pem, size_t cert_len, const char *key_pem,
                            size_t key_len, char *problem, size_t problem_size)
{
    bool ok = false;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    BIO *cb = NULL, *kb = NULL;
    if (cert_len > INT32_MAX || key_len > INT32_MAX) {
        snprintf(problem, problem_size, "certificate or key too large");
        return false;
    }
    cb = BIO_new_mem_buf(cert_pem, (int)cert_len);
    kb = BIO_new_mem_buf(key_pem, (int)key_len);
    if (!cb || !kb) {
        snprintf(problem, problem_size, "out of memory");
        goto out;
    }
    x = PEM_read_bio_X509(cb, NULL, no_passphrase, NULL);
    if (!x) {
        snprintf(problem, problem_size, "tls.crt holds no PEM certificate");
        goto out;
    }
    k = PEM_read_bio_PrivateKey(kb, NULL, no_passphrase, NULL);
    if (!k) {
        snprintf(problem, problem_size, "tls.key holds no usable PEM private key");
        goto out;
    }
    if (X509_check_private_key(x, k) != 1) {
        snprintf(problem, problem_size, "tls.key does not match the certificate in tls.crt");
        goto out;
    }
    ok = true;
out:
    EVP_PKEY_free(k);
    X509_free(x);
    BIO_free(kb);
    BIO_free(cb);
    ERR_clear_error(); /* the error queue is per thread: leave nothing behind */
    return ok;
}

unsigned kgc_api_ca_bundle_check(const char *pem, size_t len, char *problem, size_t problem_size)
{
    if (len > INT32_MAX) {
        snprintf(problem, problem_size, "CA bundle too large");
        return 0;
    }
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (!b) {
        snprintf(problem, problem_size, "out of memory");
        return 0;
    }
    unsigned n = 0;
    bool not_ca = false;
    for (;;) {
        X509 *x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL);
        if (!x)
            break;
        /* Kong takes only CA certificates as trust anchors (kong/db/schema/entities/
         * ca_certificates.lua:58-61 in 3.9.1: the "CA" basic constraint) */
        if (!not_ca && !(X509_get_extension_flags(x) & EXFLAG_CA)) {
            not_ca = true;
            snprintf(problem, problem_size,
                     "ca.crt: certificate %u is not a CA certificate (no basicConstraints CA:TRUE)",
                     n + 1);
        }
        X509_free(x);
        n++;
    }
    /* PEM_read_bio_X509 stops at the end (PEM_R_NO_START_LINE) or at a block it cannot read */
    unsigned long e = ERR_peek_last_error();
    bool clean_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    if (n == 0) {
        snprintf(problem, problem_size, "ca.crt holds no PEM certificate");
    } else if (not_ca) {
        n = 0;
    } else if (!clean_end) {
        snprintf(problem, problem_size, "ca.crt: certificate %u is not a valid PEM certificate",
                 n + 1);
        n = 0;
    }
    BIO_free(b);
    ERR_clear_error();
    return n;
}

static bool decode_data(const struct api_pctx *c, api_jv data, const char *key, unsigned char **out,
                        size_t *len, char *problem, size_t psize)
{
    api_jv v = api_field(c, data, key);
    if (api_type(c, v) == KGC_JSONSCAN_NULL)
        return false;
    size_t n = 0;
    const char *s = api_str(c, v, &n);
    if (!s) {
        snprintf(problem, psize, "data[%s] is not a string", key);
        return false;
    }
    int rc = kgc_api_base64_decode(s, n, out, len);
    if (rc == KGC_ENOMEM) {
        snprintf(problem, psize, "out of memory");
        return false;
    }
    if (rc != 0) {
        snprintf(problem, psize, "data[%s] is not valid base64", key);
        return false;
    }
    return true;
}

void api_secret_prep(const struct api_pctx *c, api_jv j, struct api_secret_prep *prep)
{
    memset(prep, 0, sizeof(*prep));
    api_jv data = api_field(c, j, "data");
    if (api_type(c, data) != KGC_JSONSCAN_OBJECT) {
        snprintf(prep->problem, sizeof(prep->problem), "no data");
        return;
    }
    api_jv jc = api_field(c, data, "tls.crt"), jk = api_field(c, data, "tls.key");
    prep->has_crt = api_type(c, jc) != KGC_JSONSCAN_NULL;
    prep->has_key = api_type(c, jk) != KGC_JSONSCAN_NULL;
    if (!prep->has_crt) {
        snprintf(prep->problem, sizeof(prep->problem), "no tls.crt");
        return;
    }
    if (!prep->has_key) {
        snprintf(prep->problem, sizeof(prep->problem), "no tls.key");
        return;
    }
    /* Before decoding: base64 text is 4/3 of the bytes (a non-string is refused below). */
    size_t lc = 0, lk = 0;
    (void)api_str(c, jc, &lc);
    (void)api_str(c, jk, &lk);
    size_t b64 = lc + lk;
    if (b64 / 4 * 3 > KGC_API_SECRET_TLS_MAX_BYTES) {
        snprintf(prep->problem, sizeof(prep->problem),
                 "tls.crt and tls.key hold about %zu KiB, more than the %u KiB kgc accepts",
                 b64 / 4 * 3 / 1024, KGC_API_SECRET_TLS_MAX_BYTES / 1024);
        return;
    }
    if (!decode_data(c, data, "tls.crt", &prep->crt, &prep->crt_len, prep->problem,
                     sizeof(prep->problem)) ||
        !decode_data(c, data, "tls.key", &prep->key, &prep->key_len, prep->problem,
                     sizeof(prep->problem)))
        return;
    /* What kgc keeps, and pushes to Kong, is each PEM as a C string: up to its first NUL byte.
     * Check exactly that, or a key with a NUL inside its PEM header (OpenSSL's reader accepts
     * it) is valid here and truncated in Kong's configuration (found by fuzz_tls_secret). */
    prep->valid = kgc_api_tls_pair_valid((const char *)prep->crt, strlen((const char *)prep->crt),
                                         (const char *)prep->key, strlen((const char *)prep->key),
                                         prep->problem, sizeof(prep->problem));
}

void api_secret_prep_free(struct api_secret_prep *prep)
{
    if (prep->crt) {
        OPENSSL_cleanse(prep->crt, prep->crt_len);
        free(prep->crt);
    }
    if (prep->key) {
        OPENSSL_cleanse(prep->key, prep->key_len);
        free(prep->key);
    }
    memset(prep, 0, sizeof(*prep));
}

bool kgc_api_str_equal(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

bool kgc_api_kvs_equal(const struct kgc_api_kv *a, uint32_t na, const struct kgc_api_kv *b,
                       uint32_t nb)
{
    if (na != nb)
        return false;
    for (uint32_t i = 0; i < na; i++)
        if (!kgc_api_str_equal(a[i].key, b[i].key) || !kgc_api_str_equal(a[i].value, b[i].value))
            return false;
    return true;
}

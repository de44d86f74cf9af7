/* fixture_yaml — see fixture_yaml.h. */
#include "fixture_yaml.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define MAX_DEPTH 64

/* ---- YAML → json-c ------------------------------------------------------------------------- */

struct yconv {
    yaml_document_t *doc;
    const char *class_name;
    const char *controller;
    char *err;
    size_t err_size;
};

static bool all_digits(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
    }
    return true;
}

static bool looks_float(const char *s)
{
    char *end = NULL;
    if (!strchr(s, '.') || strchr(s, '.') != strrchr(s, '.'))
        return false;
    errno = 0;
    (void)strtod(s, &end);
    return errno == 0 && end && *end == '\0';
}

/* s with every placeholder replaced (a new string the caller frees). */
static char *substitute(const char *s, const char *class_name, const char *controller)
{
    static const char *const keys[] = {"{GATEWAY_CLASS_NAME}", "{GATEWAY_CONTROLLER_NAME}"};
    const char *vals[] = {class_name, controller};
    size_t cap = strlen(s) + 1;
    for (size_t k = 0; k < 2; k++)
        cap += strlen(vals[k]) * 4;
    char *out = malloc(cap + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    while (*s) {
        bool done = false;
        for (size_t k = 0; k < 2 && !done; k++) {
            size_t kl = strlen(keys[k]), vl = strlen(vals[k]);
            if (strncmp(s, keys[k], kl) == 0 && o + vl < cap) {
                memcpy(out + o, vals[k], vl);
                o += vl;
                s += kl;
                done = true;
            }
        }
        if (!done && o < cap)
            out[o++] = *s++;
        else if (!done)
            s++;
    }
    out[o] = '\0';
    return out;
}

static json_object *scalar_json(struct yconv *c, yaml_node_t *node)
{
    const char *v = (const char *)node->data.scalar.value;
    if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        if (!v[0] || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0)
            return NULL; /* JSON null is a NULL json_object */
        if (strcasecmp(v, "true") == 0)
            return json_object_new_boolean(1);
        if (strcasecmp(v, "false") == 0)
            return json_object_new_boolean(0);
        if (all_digits(v))
            return json_object_new_int64(strtoll(v, NULL, 10));
        if (looks_float(v))
            return json_object_new_double(strtod(v, NULL));
    }
    char *s = substitute(v, c->class_name, c->controller);
    json_object *j = s ? json_object_new_string(s) : NULL;
    free(s);
    return j;
}

static int node_json(struct yconv *c, yaml_node_t *node, int depth, json_object **out)
{
    *out = NULL;
    if (!node || depth > MAX_DEPTH) {
        snprintf(c->err, c->err_size, "YAML too deep or broken");
        return -1;
    }
    switch (node->type) {
    case YAML_SCALAR_NODE:
        *out = scalar_json(c, node);
        return 0;
    case YAML_SEQUENCE_NODE: {
        json_object *arr = json_object_new_array();
        for (yaml_node_item_t *it = node->data.sequence.items.start;
             arr && it < node->data.sequence.items.top; it++) {
            json_object *v = NULL;
            if (node_json(c, yaml_document_get_node(c->doc, *it), depth + 1, &v) != 0) {
                json_object_put(arr);
                return -1;
            }
            json_object_array_add(arr, v);
        }
        *out = arr;
        return arr ? 0 : -1;
    }
    case YAML_MAPPING_NODE: {
        json_object *obj = json_object_new_object();
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
             obj && p < node->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
            if (!k || k->type != YAML_SCALAR_NODE) {
                snprintf(c->err, c->err_size, "YAML mapping key is not a scalar");
                json_object_put(obj);
                return -1;
            }
            json_object *v = NULL;
            if (node_json(c, yaml_document_get_node(c->doc, p->value), depth + 1, &v) != 0) {
                json_object_put(obj);
                return -1;
            }
            json_object_object_add(obj, (const char *)k->data.scalar.value, v);
        }
        *out = obj;
        return obj ? 0 : -1;
    }
    default:
        snprintf(c->err, c->err_size, "YAML node of unknown type");
        return -1;
    }
}

void fixture_docs_free(json_object **docs, size_t n)
{
    for (size_t i = 0; docs && i < n; i++)
        json_object_put(docs[i]);
    free(docs);
}

int fixture_yaml_parse(const char *text, size_t len, const char *class_name, const char *controller,
                       json_object ***docs, size_t *n, char *err, size_t err_size)
{
    *docs = NULL;
    *n = 0;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, err_size, "yaml_parser_initialize failed");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    struct yconv c = {.class_name = class_name ? class_name : FIXTURE_CLASS_NAME,
                      .controller = controller ? controller : KGC_STATUS_DEFAULT_CONTROLLER,
                      .err = err,
                      .err_size = err_size};
    int rc = 0;
    size_t cap = 0;
    for (;;) {
        yaml_document_t doc;
        if (!yaml_parser_load(&parser, &doc)) {
            snprintf(err, err_size, "YAML error at line %zu: %s", parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "?");
            rc = -1;
            break;
        }
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (!root) { /* end of the stream */
            yaml_document_delete(&doc);
            break;
        }
        json_object *j = NULL;
        c.doc = &doc;
        if (root->type == YAML_MAPPING_NODE && node_json(&c, root, 0, &j) != 0)
            rc = -1;
        yaml_document_delete(&doc);
        if (rc != 0)
            break;
        if (!j)
            continue; /* an empty document (a trailing "---") */
        if (*n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            json_object **grown = realloc(*docs, ncap * sizeof(json_object *));
            if (!grown) {
                json_object_put(j);
                snprintf(err, err_size, "out of memory");
                rc = -1;
                break;
            }
            *docs = grown;
            cap = ncap;
        }
        (*docs)[(*n)++] = j;
    }
    yaml_parser_delete(&parser);
    if (rc != 0) {
        fixture_docs_free(*docs, *n);
        *docs = NULL;
        *n = 0;
    }
    return rc;
}

int fixture_yaml_load(const char *path, const char *class_name, const char *controller,
                      json_object ***docs, size_t *n, char *err, size_t err_size)
{
    *docs = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "cannot open %s: %s (" FIXTURE_GATEWAY_API_HINT ")", path,
                 strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            size_t ncap = cap ? 2 * cap : 65536;
            char *grown = realloc(buf, ncap);
            if (!grown) {
                free(buf);
                fclose(f);
                snprintf(err, err_size, "out of memory reading %s", path);
                return -1;
            }
            buf = grown;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    int rc =
        fixture_yaml_parse(buf ? buf : "", len, class_name, controller, docs, n, err, err_size);
    if (rc != 0) {
        char inner[FIXTURE_ERR_MAX];
        snprintf(inner, sizeof(inner), "%s", err);
        snprintf(err, err_size, "%s: %s", path, inner);
    }
    free(buf);
    return rc;
}

const char *fixture_gateway_api_dir(void)
{
    const char *dir = getenv("KGC_GATEWAY_API_DIR");
    return dir && dir[0] ? dir : ".deps/gateway-api";
}

const char *fixture_conformance_dir(char *buf, size_t size)
{
    snprintf(buf, size, "%s/conformance", fixture_gateway_api_dir());
    return buf;
}

/* ---- the object set ----------------------------------------------------------------------- */

struct fixture_entry {
    enum kgc_api_kind kind;
    json_object *json;
    const struct kgc_api_obj *obj;
};

struct fixture_set {
    struct fixture_entry *e;
    size_t n, cap;
    long rv; /* the last resourceVersion handed out */
};

struct fixture_set *fixture_set_new(void)
{
    struct fixture_set *s = calloc(1, sizeof(*s));
    if (s)
        s->rv = 100;
    return s;
}

void fixture_set_free(struct fixture_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        json_object_put(s->e[i].json);
        kgc_api_obj_unref(s->e[i].obj);
    }
    free(s->e);
    free(s);
}

static bool entry_is(const struct fixture_entry *e, enum kgc_api_kind kind, const char *ns,
                     const char *name)
{
    if (e->kind != kind || strcmp(e->obj->meta.name, name) != 0)
        return false;
    if (!ns || !e->obj->meta.namespace)
        return !ns && !e->obj->meta.namespace;
    return strcmp(e->obj->meta.namespace, ns) == 0;
}

static struct fixture_entry *find_entry(const struct fixture_set *s, enum kgc_api_kind kind,
                                        const char *ns, const char *name)
{
    for (size_t i = 0; name && i < s->n; i++) {
        if (entry_is(&s->e[i], kind, ns, name))
            return &s->e[i];
    }
    return NULL;
}

static json_object *sub_object(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object)) {
        v = json_object_new_object();
        json_object_object_add(o, key, v);
    }
    return v;
}

static void set_rv(struct fixture_set *s, json_object *doc)
{
    char rv[32];
    snprintf(rv, sizeof(rv), "%ld", ++s->rv);
    json_object_object_add(sub_object(doc, "metadata"), "resourceVersion",
                           json_object_new_string(rv));
}

/* Parses doc (owned by the caller until it succeeds, then by the entry). */
static int store(struct fixture_set *s, enum kgc_api_kind kind, json_object *doc, char *err,
                 size_t err_size)
{
    struct kgc_api_obj *obj = NULL;
    struct kgc_err e = {0};
    if (kgc_api_parse(kind, doc, &obj, &e) != 0) {
        snprintf(err, err_size, "kgc_api_parse: %s", e.msg);
        return -1;
    }
    struct fixture_entry *old = find_entry(s, kind, obj->meta.namespace, obj->meta.name);
    if (old) {
        json_object_put(old->json);
        kgc_api_obj_unref(old->obj);
        old->json = doc;
        old->obj = obj;
        return 0;
    }
    if (s->n == s->cap) {
        size_t ncap = s->cap ? 2 * s->cap : 32;
        struct fixture_entry *grown = realloc(s->e, ncap * sizeof(*grown));
        if (!grown) {
            kgc_api_obj_unref(obj);
            snprintf(err, err_size, "out of memory");
            return -1;
        }
        s->e = grown;
        s->cap = ncap;
    }
    s->e[s->n++] = (struct fixture_entry){.kind = kind, .json = doc, .obj = obj};
    return 0;
}

int fixture_set_add_json(struct fixture_set *s, json_object *doc, char *err, size_t err_size)
{
    json_object *kind_j = NULL;
    if (!json_object_object_get_ex(doc, "kind", &kind_j) || !kind_j) {
        snprintf(err, err_size, "document without kind");
        return -1;
    }
    int kind = kgc_api_kind_from_name(json_object_get_string(kind_j));
    if (kind < 0)
        return 1;
    json_object *copy = NULL;
    if (json_object_deep_copy(doc, &copy, NULL) != 0 || !copy) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    json_object *meta = sub_object(copy, "metadata"), *v = NULL;
    if (!json_object_object_get_ex(meta, "generation", &v))
        json_object_object_add(meta, "generation", json_object_new_int64(1));
    if (!json_object_object_get_ex(meta, "resourceVersion", &v))
        set_rv(s, copy);
    if (store(s, (enum kgc_api_kind)kind, copy, err, err_size) != 0) {
        json_object_put(copy);
        return -1;
    }
    return 0;
}

static int add_docs(struct fixture_set *s, json_object **docs, size_t n, char *err, size_t err_size)
{
    for (size_t i = 0; i < n; i++) {
        if (fixture_set_add_json(s, docs[i], err, err_size) < 0)
            return -1;
    }
    return 0;
}

int fixture_set_add_yaml(struct fixture_set *s, const char *yaml, char *err, size_t err_size)
{
    json_object **docs = NULL;
    size_t n = 0;
    if (fixture_yaml_parse(yaml, strlen(yaml), NULL, NULL, &docs, &n, err, err_size) != 0)
        return -1;
    int rc = add_docs(s, docs, n, err, err_size);
    fixture_docs_free(docs, n);
    return rc;
}

int fixture_set_load(struct fixture_set *s, const char *manifest, char *err, size_t err_size)
{
    char dir[FIXTURE_ERR_MAX], path[2 * FIXTURE_ERR_MAX];
    snprintf(path, sizeof(path), "%s/%s", fixture_conformance_dir(dir, sizeof(dir)), manifest);
    json_object **docs = NULL;
    size_t n = 0;
    if (fixture_yaml_load(path, NULL, NULL, &docs, &n, err, err_size) != 0)
        return -1;
    int rc = add_docs(s, docs, n, err, err_size);
    fixture_docs_free(docs, n);
    return rc;
}

const struct kgc_api_obj *fixture_set_find(const struct fixture_set *s, enum kgc_api_kind kind,
                                           const char *ns, const char *name)
{
    const struct fixture_entry *e = find_entry(s, kind, ns, name);
    return e ? e->obj : NULL;
}

json_object *fixture_set_json(struct fixture_set *s, enum kgc_api_kind kind, const char *ns,
                              const char *name)
{
    struct fixture_entry *e = find_entry(s, kind, ns, name);
    return e ? e->json : NULL;
}

static const struct kgc_api_obj *reparse(struct fixture_set *s, struct fixture_entry *e,
                                         json_object *doc)
{
    char err[FIXTURE_ERR_MAX];
    if (store(s, e->kind, doc, err, sizeof(err)) != 0) {
        json_object_put(doc);
        return NULL;
    }
    json_object *name = NULL, *meta = sub_object(doc, "metadata"), *ns = NULL;
    json_object_object_get_ex(meta, "name", &name);
    json_object_object_get_ex(meta, "namespace", &ns);
    return fixture_set_find(s, e->kind, ns ? json_object_get_string(ns) : NULL,
                            json_object_get_string(name));
}

const struct kgc_api_obj *fixture_set_update(struct fixture_set *s, enum kgc_api_kind kind,
                                             const char *ns, const char *name, bool bump_generation)
{
    struct fixture_entry *e = find_entry(s, kind, ns, name);
    if (!e)
        return NULL;
    json_object *doc = json_object_get(e->json); /* store() drops the entry's reference */
    json_object *meta = sub_object(doc, "metadata"), *g = NULL;
    if (bump_generation) {
        int64_t gen =
            json_object_object_get_ex(meta, "generation", &g) ? json_object_get_int64(g) : 0;
        json_object_object_add(meta, "generation", json_object_new_int64(gen + 1));
    }
    set_rv(s, doc);
    return reparse(s, e, doc);
}

/* RFC 7386 merge of patch into target (both objects). */
static void merge_patch(json_object *target, json_object *patch)
{
    json_object_object_foreach(patch, key, val)
    {
        json_object *cur = NULL;
        if (!val) {
            json_object_object_del(target, key);
        } else if (json_object_is_type(val, json_type_object) &&
                   json_object_object_get_ex(target, key, &cur) &&
                   json_object_is_type(cur, json_type_object)) {
            merge_patch(cur, val);
        } else {
            json_object *copy = NULL;
            if (json_object_is_type(val, json_type_object)) {
                copy = json_object_new_object();
                merge_patch(copy, val); /* drops nulls inside, as RFC 7386 says */
            } else {
                json_object_deep_copy(val, &copy, NULL);
            }
            json_object_object_add(target, key, copy);
        }
    }
}

const struct kgc_api_obj *fixture_set_patch_status(struct fixture_set *s, enum kgc_api_kind kind,
                                                   const char *ns, const char *name,
                                                   json_object *patch)
{
    struct fixture_entry *e = find_entry(s, kind, ns, name);
    if (!e || !patch)
        return NULL;
    json_object *meta = NULL, *rv = NULL, *status = NULL;
    if (json_object_object_get_ex(patch, "metadata", &meta) &&
        json_object_object_get_ex(meta, "resourceVersion", &rv) &&
        strcmp(json_object_get_string(rv),
               e->obj->meta.resource_version ? e->obj->meta.resource_version : "") != 0)
        return NULL; /* 409 Conflict */
    json_object *doc = NULL;
    if (json_object_deep_copy(e->json, &doc, NULL) != 0 || !doc)
        return NULL;
    if (json_object_object_get_ex(patch, "status", &status)) {
        json_object *wrapper = json_object_new_object();
        json_object_object_add(wrapper, "status", json_object_get(status));
        merge_patch(doc, wrapper);
        json_object_put(wrapper);
    }
    set_rv(s, doc);
    return reparse(s, e, doc);
}

bool fixture_set_remove(struct fixture_set *s, enum kgc_api_kind kind, const char *ns,
                        const char *name)
{
    struct fixture_entry *e = find_entry(s, kind, ns, name);
    if (!e)
        return false;
    json_object_put(e->json);
    kgc_api_obj_unref(e->obj);
    size_t i = (size_t)(e - s->e);
    memmove(&s->e[i], &s->e[i + 1], (s->n - i - 1) * sizeof(*s->e));
    s->n--;
    return true;
}

static const struct kgc_api_obj *lookup_get(void *ctx, enum kgc_api_kind kind, const char *ns,
                                            const char *name)
{
    return kgc_api_obj_ref(fixture_set_find(ctx, kind, ns, name));
}

static void lookup_foreach(void *ctx, enum kgc_api_kind kind, const char *ns,
                           kgc_status_visit_fn fn, void *fnctx)
{
    const struct fixture_set *s = ctx;
    for (size_t i = 0; i < s->n; i++) {
        const struct fixture_entry *e = &s->e[i];
        if (e->kind != kind)
            continue;
        if (ns && (!e->obj->meta.namespace || strcmp(e->obj->meta.namespace, ns) != 0))
            continue;
        if (!fn(e->obj, fnctx))
            return;
    }
}

struct kgc_status_lookup fixture_set_lookup(struct fixture_set *s)
{
    return (struct kgc_status_lookup){.get = lookup_get, .foreach = lookup_foreach, .ctx = s};
}

/* ---- TLS Secrets made at test time ---------------------------------------------------------- */

static char *bio_text(BIO *b)
{
    char *data = NULL;
    long len = BIO_get_mem_data(b, &data);
    char *out = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (out) {
        memcpy(out, data, (size_t)len);
        out[len] = '\0';
    }
    return out;
}

static char *base64(const char *s)
{
    size_t len = strlen(s);
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
    return out;
}

/* A self-signed P-256 certificate for cn and its key, as PEM (caller frees both). */
static int make_cert(const char *cn, char **crt, char **key)
{
    int rc = -1;
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
    X509_NAME *nm = NULL;
    *crt = *key = NULL;
    if (!pk || !x || !cb || !kb)
        goto out;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
    X509_set_pubkey(x, pk);
    nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, nm);
    if (X509_sign(x, pk, EVP_sha256()) <= 0 || PEM_write_bio_X509(cb, x) != 1 ||
        PEM_write_bio_PrivateKey(kb, pk, NULL, NULL, 0, NULL, NULL) != 1)
        goto out;
    *crt = bio_text(cb);
    *key = bio_text(kb);
    rc = *crt && *key ? 0 : -1;
out:
    if (rc != 0) {
        free(*crt);
        free(*key);
        *crt = *key = NULL;
    }
    BIO_free(cb);
    BIO_free(kb);
    X509_free(x);
    EVP_PKEY_free(pk);
    return rc;
}

int fixture_set_add_tls_secret(struct fixture_set *s, const char *ns, const char *name,
                               const char *cn, char *err, size_t err_size)
{
    char *crt = NULL, *key = NULL;
    if (make_cert(cn, &crt, &key) != 0) {
        snprintf(err, err_size, "cannot make a self-signed certificate with OpenSSL");
        return -1;
    }
    char *crt64 = base64(crt), *key64 = base64(key);
    int rc = -1;
    if (crt64 && key64) {
        json_object *doc = json_object_new_object(), *meta = json_object_new_object(),
                    *data = json_object_new_object();
        json_object_object_add(doc, "apiVersion", json_object_new_string("v1"));
        json_object_object_add(doc, "kind", json_object_new_string("Secret"));
        json_object_object_add(meta, "name", json_object_new_string(name));
        json_object_object_add(meta, "namespace", json_object_new_string(ns));
        json_object_object_add(doc, "metadata", meta);
        json_object_object_add(doc, "type", json_object_new_string("kubernetes.io/tls"));
        json_object_object_add(data, "tls.crt", json_object_new_string(crt64));
        json_object_object_add(data, "tls.key", json_object_new_string(key64));
        json_object_object_add(doc, "data", data);
        rc = fixture_set_add_json(s, doc, err, err_size);
        json_object_put(doc);
    } else {
        snprintf(err, err_size, "out of memory");
    }
    free(crt64);
    free(key64);
    free(crt);
    free(key);
    return rc;
}

/* ---- Kong listeners ------------------------------------------------------------------------- */

void fixture_kong_empty(struct fixture_kong *k)
{
    memset(k, 0, sizeof(*k));
    k->set.proxy = k->proxy;
    k->set.stream = k->stream;
}

void fixture_kong_add(struct fixture_kong *k, enum kgc_kong_listener_kind kind, uint16_t port,
                      bool ssl, bool udp)
{
    bool proxy = kind == KGC_KONG_LISTENER_PROXY;
    size_t *n = proxy ? &k->set.n_proxy : &k->set.n_stream;
    if (*n >= FIXTURE_KONG_MAX)
        return;
    struct kgc_kong_listener *l = proxy ? &k->proxy[*n] : &k->stream[*n];
    memset(l, 0, sizeof(*l));
    snprintf(l->ip, sizeof(l->ip), "0.0.0.0");
    l->port = port;
    l->ssl = ssl;
    l->http2 = proxy && ssl;
    l->udp = udp;
    l->kind = kind;
    (*n)++;
}

void fixture_kong_default(struct fixture_kong *k)
{
    fixture_kong_empty(k);
    fixture_kong_add(k, KGC_KONG_LISTENER_PROXY, 8000, false, false);
    fixture_kong_add(k, KGC_KONG_LISTENER_PROXY, 8443, true, false);
    fixture_kong_add(k, KGC_KONG_LISTENER_STREAM, 9443, true, false);
}

void fixture_view(struct kgc_listenercache_view *v, enum kgc_listenercache_source source,
                  const struct fixture_kong *k, const char *reason)
{
    static const struct kgc_kong_listeners none = {0};
    memset(v, 0, sizeof(*v));
    v->source = source;
    v->stale = source == KGC_LISTENERCACHE_CACHED;
    v->age_ms = source == KGC_LISTENERCACHE_CACHED ? 60000 : 0;
    v->listeners = k && source != KGC_LISTENERCACHE_NONE ? &k->set : &none;
    v->version = "3.9.1";
    v->node_id = "";
    v->router_flavor = "traditional_compatible";
    v->database = "off";
    v->url = source == KGC_LISTENERCACHE_NONE ? "" : "http://kong:8001";
    v->n_live = source == KGC_LISTENERCACHE_LIVE ? 1 : 0;
    v->reason = source == KGC_LISTENERCACHE_LIVE ? "" : (reason ? reason : "");
}

/* ---- a conformance environment -------------------------------------------------------------- */

static const char env_yaml[] = "apiVersion: gateway.networking.k8s.io/v1\n"
                               "kind: GatewayClass\n"
                               "metadata: {name: \"{GATEWAY_CLASS_NAME}\"}\n"
                               "spec: {controllerName: \"{GATEWAY_CONTROLLER_NAME}\"}\n"
                               "---\n"
                               "apiVersion: v1\n"
                               "kind: Namespace\n"
                               "metadata: {name: kong}\n"
                               "---\n"
                               "apiVersion: v1\n"
                               "kind: Service\n"
                               "metadata: {name: kong-proxy, namespace: kong}\n"
                               "spec:\n"
                               "  type: LoadBalancer\n"
                               "  clusterIP: 10.96.0.10\n"
                               "  clusterIPs: [10.96.0.10]\n"
                               "  ports:\n"
                               "  - {name: proxy, port: 80, protocol: TCP, targetPort: 8000}\n"
                               "  - {name: proxy-ssl, port: 443, protocol: TCP, targetPort: 8443}\n"
                               "status:\n"
                               "  loadBalancer:\n"
                               "    ingress:\n"
                               "    - ip: 203.0.113.10\n"
                               "    - hostname: lb.example.net\n";

int fixture_env_setup(struct fixture_env *env, char *err, size_t err_size)
{
    memset(env, 0, sizeof(*env));
    env->set = fixture_set_new();
    if (!env->set) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    if (fixture_set_load(env->set, "base-manifests.yaml", err, err_size) != 0 ||
        fixture_set_add_yaml(env->set, env_yaml, err, err_size) != 0 ||
        fixture_set_add_tls_secret(env->set, "gateway-conformance-infra",
                                   "tls-validity-checks-certificate", "*.example.org", err,
                                   err_size) != 0 ||
        fixture_set_add_tls_secret(env->set, "gateway-conformance-web-backend", "certificate",
                                   "*.example.org", err, err_size) != 0) {
        fixture_set_free(env->set);
        env->set = NULL;
        return -1;
    }
    env->lk = fixture_set_lookup(env->set);
    fixture_kong_default(&env->kong);
    kgc_status_options_default(&env->o);
    env->o.publish_service_namespace = "kong";
    env->o.publish_service_name = "kong-proxy";
    env->o.now = FIXTURE_NOW;
    fixture_env_view(env, KGC_LISTENERCACHE_LIVE, NULL);
    return 0;
}

void fixture_env_free(struct fixture_env *env)
{
    fixture_set_free(env->set);
    memset(env, 0, sizeof(*env));
}

void fixture_env_view(struct fixture_env *env, enum kgc_listenercache_source source,
                      const char *reason)
{
    fixture_view(&env->view, source, &env->kong, reason);
    env->o.view = &env->view;
}

const struct kgc_status_condition *fixture_cond(const struct kgc_status_condition *c, uint32_t n,
                                                const char *type)
{
    for (uint32_t i = 0; c && i < n; i++) {
        if (c[i].type && strcmp(c[i].type, type) == 0)
            return &c[i];
    }
    return NULL;
}

const struct kgc_status_listener *fixture_listener(const struct kgc_status_gateway *g,
                                                   const char *name)
{
    for (uint32_t i = 0; g && i < g->n_listeners; i++) {
        if (g->listeners[i].name && strcmp(g->listeners[i].name, name) == 0)
            return &g->listeners[i];
    }
    return NULL;
}

json_object *fixture_json_cond(json_object *conditions, const char *type)
{
    size_t n = conditions ? json_object_array_length(conditions) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(conditions, i), *t = NULL;
        if (json_object_object_get_ex(c, "type", &t) &&
            strcmp(json_object_get_string(t), type) == 0)
            return c;
    }
    return NULL;
}

json_object *fixture_json_path(json_object *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    json_object *cur = root;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); cur && tok; tok = strtok_r(NULL, ".", &save)) {
        json_object *next = NULL;
        if (json_object_is_type(cur, json_type_array)) {
            char *end = NULL;
            long idx = strtol(tok, &end, 10);
            cur = (*end == '\0' && idx >= 0) ? json_object_array_get_idx(cur, (size_t)idx) : NULL;
            continue;
        }
        cur = json_object_object_get_ex(cur, tok, &next) ? next : NULL;
    }
    return cur;
}

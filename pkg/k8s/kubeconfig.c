/* Connection settings: kubeconfig (YAML via libyaml's document API) and in-cluster. */
#include "kgc/k8s.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define SA_DIR         "/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBECONFIG_MAX (16 * 1024 * 1024)

void kgc_k8s_config_free(struct kgc_k8s_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->server);
    free(cfg->ca_file);
    free(cfg->ca_data);
    if (cfg->token)
        OPENSSL_cleanse(cfg->token, strlen(cfg->token));
    free(cfg->token);
    free(cfg->token_file);
    free(cfg->client_cert_file);
    free(cfg->client_cert_data);
    free(cfg->client_key_file);
    if (cfg->client_key_data)
        OPENSSL_cleanse(cfg->client_key_data, cfg->client_key_data_len);
    free(cfg->client_key_data);
    free(cfg->namespace);
    free(cfg->source);
    free(cfg);
}

/* --- YAML document helpers -------------------------------------------------------------------- */

static const char *scalar(yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE)
        return NULL;
    return (const char *)n->data.scalar.value;
}

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *k = scalar(yaml_document_get_node(doc, p->key));
        if (k && strcmp(k, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

static const char *map_str(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    const char *s = scalar(map_get(doc, map, key));
    return s && s[0] ? s : NULL;
}

/* The `field` mapping of the item named `name` in the list `list_key` (clusters, contexts,
 * users). */
static yaml_node_t *named_entry(yaml_document_t *doc, yaml_node_t *root, const char *list_key,
                                const char *name, const char *field)
{
    yaml_node_t *list = map_get(doc, root, list_key);
    if (!list || list->type != YAML_SEQUENCE_NODE)
        return NULL;
    for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top;
         it++) {
        yaml_node_t *e = yaml_document_get_node(doc, *it);
        const char *n = map_str(doc, e, "name");
        if (n && strcmp(n, name) == 0) {
            yaml_node_t *f = map_get(doc, e, field);
            return f && f->type == YAML_MAPPING_NODE ? f : NULL;
        }
    }
    return NULL;
}

static bool yaml_true(const char *s)
{
    return s && (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0 ||
                 strcmp(s, "yes") == 0 || strcmp(s, "on") == 0);
}

static int b64_decode(const char *in, unsigned char **out, size_t *out_len)
{
    size_t len = strlen(in);
    *out = NULL;
    *out_len = 0;
    if (len > INT32_MAX)
        return KGC_EPARSE;
    unsigned char *buf = malloc(len / 4 * 3 + 4);
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    if (!buf || !ctx) {
        free(buf);
        EVP_ENCODE_CTX_free(ctx);
        return KGC_ENOMEM;
    }
    int n1 = 0, n2 = 0;
    EVP_DecodeInit(ctx);
    int rc = EVP_DecodeUpdate(ctx, buf, &n1, (const unsigned char *)in, (int)len);
    if (rc >= 0)
        rc = EVP_DecodeFinal(ctx, buf + n1, &n2);
    EVP_ENCODE_CTX_free(ctx);
    if (rc < 0 || n1 + n2 == 0) {
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

/* A malloc'd path: p itself when absolute or base_dir is NULL, else base_dir/p. */
static char *resolve(const char *base_dir, const char *p)
{
    if (p[0] == '/' || !base_dir || !base_dir[0])
        return strdup(p);
    char *out = NULL;
    if (asprintf(&out, "%s/%s", base_dir, p) < 0)
        return NULL;
    return out;
}

static int dup_into(char **dst, const char *src)
{
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : KGC_ENOMEM;
}

/* --- kubeconfig ------------------------------------------------------------------------------- */

static int from_document(yaml_document_t *doc, const char *base_dir, const char *context,
                         struct kgc_k8s_config *cfg, struct kgc_err *err)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root || root->type != YAML_MAPPING_NODE)
        return kgc_err_set(err, KGC_EPARSE, "kubeconfig is not a YAML mapping");
    const char *ctx_name = context ? context : map_str(doc, root, "current-context");
    if (!ctx_name)
        return kgc_err_set(err, KGC_EUSAGE, "kubeconfig has no current-context (give a context)");
    yaml_node_t *ctx = named_entry(doc, root, "contexts", ctx_name, "context");
    if (!ctx)
        return kgc_err_set(err, KGC_EUSAGE, "kubeconfig has no context '%.100s'", ctx_name);
    const char *cluster_name = map_str(doc, ctx, "cluster");
    const char *user_name = map_str(doc, ctx, "user");
    if (!cluster_name)
        return kgc_err_set(err, KGC_EUSAGE, "context '%.100s' names no cluster", ctx_name);
    yaml_node_t *cluster = named_entry(doc, root, "clusters", cluster_name, "cluster");
    if (!cluster)
        return kgc_err_set(err, KGC_EUSAGE, "kubeconfig has no cluster '%.100s'", cluster_name);
    yaml_node_t *user = user_name ? named_entry(doc, root, "users", user_name, "user") : NULL;
    if (user_name && !user)
        return kgc_err_set(err, KGC_EUSAGE, "kubeconfig has no user '%.100s'", user_name);

    const char *server = map_str(doc, cluster, "server");
    if (!server)
        return kgc_err_set(err, KGC_EUSAGE, "cluster '%.100s' has no server", cluster_name);
    if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
        return kgc_err_set(err, KGC_EUSAGE, "cluster '%.100s': server '%.100s' is not http(s)://",
                           cluster_name, server);
    cfg->server = strdup(server);
    if (!cfg->server)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    size_t sl = strlen(cfg->server);
    while (sl > 0 && cfg->server[sl - 1] == '/')
        cfg->server[--sl] = '\0';

    cfg->insecure = yaml_true(map_str(doc, cluster, "insecure-skip-tls-verify"));
    const char *ca_data = map_str(doc, cluster, "certificate-authority-data");
    const char *ca_file = map_str(doc, cluster, "certificate-authority");
    if (ca_data) {
        if (b64_decode(ca_data, &cfg->ca_data, &cfg->ca_data_len) != 0)
            return kgc_err_set(err, KGC_EPARSE,
                               "cluster '%.100s': certificate-authority-data is not base64",
                               cluster_name);
    } else if (ca_file && !(cfg->ca_file = resolve(base_dir, ca_file))) {
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    }

    if (user) {
        if (map_get(doc, user, "exec") || map_get(doc, user, "auth-provider"))
            return kgc_err_set(err, KGC_EUSAGE,
                               "user '%.100s' uses an exec or auth-provider plugin, which kgc does "
                               "not run: use a token, tokenFile or client certificate",
                               user_name);
        if (map_get(doc, user, "username") || map_get(doc, user, "password"))
            return kgc_err_set(err, KGC_EUSAGE,
                               "user '%.100s' uses basic auth, which Kubernetes no longer supports",
                               user_name);
        const char *token = map_str(doc, user, "token");
        const char *token_file = map_str(doc, user, "tokenFile");
        if (dup_into(&cfg->token, token) != 0)
            return kgc_err_set(err, KGC_ENOMEM, "out of memory");
        if (!token && token_file && !(cfg->token_file = resolve(base_dir, token_file)))
            return kgc_err_set(err, KGC_ENOMEM, "out of memory");
        const char *cd = map_str(doc, user, "client-certificate-data");
        const char *cf = map_str(doc, user, "client-certificate");
        const char *kd = map_str(doc, user, "client-key-data");
        const char *kf = map_str(doc, user, "client-key");
        if (cd && b64_decode(cd, &cfg->client_cert_data, &cfg->client_cert_data_len) != 0)
            return kgc_err_set(err, KGC_EPARSE,
                               "user '%.100s': client-certificate-data is not base64", user_name);
        if (!cd && cf && !(cfg->client_cert_file = resolve(base_dir, cf)))
            return kgc_err_set(err, KGC_ENOMEM, "out of memory");
        if (kd && b64_decode(kd, &cfg->client_key_data, &cfg->client_key_data_len) != 0)
            return kgc_err_set(err, KGC_EPARSE, "user '%.100s': client-key-data is not base64",
                               user_name);
        if (!kd && kf && !(cfg->client_key_file = resolve(base_dir, kf)))
            return kgc_err_set(err, KGC_ENOMEM, "out of memory");
        bool has_cert = cfg->client_cert_data || cfg->client_cert_file;
        bool has_key = cfg->client_key_data || cfg->client_key_file;
        if (has_cert != has_key)
            return kgc_err_set(err, KGC_EUSAGE,
                               "user '%.100s': a client certificate needs both the certificate "
                               "and the key",
                               user_name);
    }
    const char *ns = map_str(doc, ctx, "namespace");
    if (dup_into(&cfg->namespace, ns ? ns : "default") != 0)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    return 0;
}

int kgc_k8s_config_from_kubeconfig_mem(const char *yaml, size_t len, const char *base_dir,
                                       const char *context, struct kgc_k8s_config **out,
                                       struct kgc_err *err)
{
    *out = NULL;
    struct kgc_k8s_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        free(cfg);
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    int rc;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = kgc_err_set(err, KGC_EPARSE, "kubeconfig: YAML error at line %zu: %.200s",
                         parser.problem_mark.line + 1, parser.problem ? parser.problem : "unknown");
        yaml_parser_delete(&parser);
        kgc_k8s_config_free(cfg);
        return rc;
    }
    rc = from_document(&doc, base_dir, context, cfg, err);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc != 0) {
        kgc_k8s_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

static int read_file(const char *path, size_t max, char **out, size_t *len, struct kgc_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return kgc_err_set(err, KGC_ENOENT, "cannot open %.200s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return kgc_err_set(err, KGC_ENOMEM, "out of memory");
            }
            buf = p;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (n > max) {
            free(buf);
            fclose(f);
            return kgc_err_set(err, KGC_E2BIG, "%.200s is larger than %zu bytes", path, max);
        }
        if (r == 0)
            break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return kgc_err_set(err, KGC_EIO, "cannot read %.200s", path);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int kgc_k8s_config_from_kubeconfig(const char *path, const char *context,
                                   struct kgc_k8s_config **out, struct kgc_err *err)
{
    *out = NULL;
    char *yaml = NULL;
    size_t len = 0;
    int rc = read_file(path, KUBECONFIG_MAX, &yaml, &len, err);
    if (rc != 0)
        return kgc_err_wrap(err, "kubeconfig");
    char *dir = strdup(path);
    if (!dir) {
        free(yaml);
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        dir[0] = '\0';
    rc = kgc_k8s_config_from_kubeconfig_mem(yaml, len, slash ? (dir[0] ? dir : "/") : NULL, context,
                                            out, err);
    free(yaml);
    free(dir);
    if (rc != 0)
        return kgc_err_wrap(err, "%.200s", path);
    if (*out && asprintf(&(*out)->source, "kubeconfig %s (context %s)", path,
                         context ? context : "current") < 0)
        (*out)->source = NULL;
    return 0;
}

/* --- in-cluster ------------------------------------------------------------------------------- */

int kgc_k8s_config_in_cluster(const char *sa_dir, struct kgc_k8s_config **out, struct kgc_err *err)
{
    *out = NULL;
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !host[0] || !port || !port[0])
        return kgc_err_set(
            err, KGC_EUSAGE,
            "not in a cluster: KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset");
    if (!sa_dir)
        sa_dir = SA_DIR;
    struct kgc_k8s_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    int rc = 0;
    bool v6 = strchr(host, ':') != NULL;
    if (asprintf(&cfg->server, v6 ? "https://[%s]:%s" : "https://%s:%s", host, port) < 0 ||
        asprintf(&cfg->token_file, "%s/token", sa_dir) < 0 ||
        asprintf(&cfg->ca_file, "%s/ca.crt", sa_dir) < 0 || !(cfg->source = strdup("in-cluster"))) {
        rc = kgc_err_set(err, KGC_ENOMEM, "out of memory");
        goto out_free;
    }
    if (access(cfg->token_file, R_OK) != 0) {
        rc =
            kgc_err_set(err, KGC_ENOENT, "in-cluster: cannot read the service-account token %s: %s",
                        cfg->token_file, strerror(errno));
        goto out_free;
    }
    if (access(cfg->ca_file, R_OK) != 0) {
        rc = kgc_err_set(err, KGC_ENOENT, "in-cluster: cannot read the CA %s: %s", cfg->ca_file,
                         strerror(errno));
        goto out_free;
    }
    const char *ns = getenv("POD_NAMESPACE");
    if (ns && ns[0]) {
        cfg->namespace = strdup(ns);
    } else {
        char *path = NULL, *text = NULL;
        size_t len = 0;
        if (asprintf(&path, "%s/namespace", sa_dir) >= 0 &&
            read_file(path, 4096, &text, &len, NULL) == 0 && text) {
            text[strcspn(text, " \t\r\n")] = '\0';
            if (text[0])
                cfg->namespace = strdup(text);
        }
        free(path);
        free(text);
        if (!cfg->namespace)
            cfg->namespace = strdup("default");
    }
    if (!cfg->namespace) {
        rc = kgc_err_set(err, KGC_ENOMEM, "out of memory");
        goto out_free;
    }
    *out = cfg;
    return 0;
out_free:
    kgc_k8s_config_free(cfg);
    return rc;
}

int kgc_k8s_config_load(const struct kgc_k8s_options *opts, struct kgc_k8s_config **out,
                        struct kgc_err *err)
{
    *out = NULL;
    if (opts && opts->kubeconfig && opts->kubeconfig[0])
        return kgc_k8s_config_from_kubeconfig(opts->kubeconfig, opts->context, out, err);
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    if (host && host[0])
        return kgc_k8s_config_in_cluster(NULL, out, err);
    const char *env = getenv("KUBECONFIG");
    if (env && env[0]) {
        char *first = strndup(env, strcspn(env, ":"));
        if (!first)
            return kgc_err_set(err, KGC_ENOMEM, "out of memory");
        int rc = kgc_k8s_config_from_kubeconfig(first, opts ? opts->context : NULL, out, err);
        free(first);
        return rc;
    }
    return kgc_err_set(err, KGC_EUSAGE,
                       "no Kubernetes connection: --kubeconfig not given, not in a cluster "
                       "(KUBERNETES_SERVICE_HOST unset) and $KUBECONFIG unset");
}

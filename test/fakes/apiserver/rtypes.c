#include "rtypes.h"

#include "jsonutil.h"
#include "kgc/err.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRESERVE   "\"x-kubernetes-preserve-unknown-fields\":true"
#define ANY_OBJECT "{\"type\":\"object\"," PRESERVE "}"

/* Built-in defaults the real server applies that matter to readers of these objects. */
#define SERVICE_SCHEMA                                                                             \
    "{\"type\":\"object\"," PRESERVE ",\"properties\":{\"spec\":{\"type\":\"object\"," PRESERVE    \
    ",\"properties\":{\"type\":{\"type\":\"string\",\"default\":\"ClusterIP\"},"                   \
    "\"sessionAffinity\":{\"type\":\"string\",\"default\":\"None\"},"                              \
    "\"ports\":{\"type\":\"array\",\"items\":{\"type\":\"object\"," PRESERVE                       \
    ",\"properties\":{\"protocol\":{\"type\":\"string\",\"default\":\"TCP\"},"                     \
    "\"port\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535}}}}}}}}"
#define DEPLOYMENT_SCHEMA                                                                          \
    "{\"type\":\"object\"," PRESERVE ",\"properties\":{\"spec\":{\"type\":\"object\"," PRESERVE    \
    ",\"properties\":{\"replicas\":{\"type\":\"integer\",\"default\":1},"                          \
    "\"revisionHistoryLimit\":{\"type\":\"integer\",\"default\":10},"                              \
    "\"progressDeadlineSeconds\":{\"type\":\"integer\",\"default\":600}}}}}"
#define PVC_SCHEMA                                                                                 \
    "{\"type\":\"object\"," PRESERVE ",\"properties\":{\"spec\":{\"type\":\"object\"," PRESERVE    \
    ",\"required\":[\"accessModes\",\"resources\"],\"properties\":{\"volumeMode\":{"               \
    "\"type\":\"string\",\"default\":\"Filesystem\"},\"accessModes\":{\"type\":\"array\","         \
    "\"minItems\":1,\"items\":{\"type\":\"string\",\"enum\":[\"ReadWriteOnce\",\"ReadOnlyMany\","  \
    "\"ReadWriteMany\",\"ReadWriteOncePod\"]}}}}}}"
/* The chart's workload when its listener cache is persistent, its PodDisruptionBudget and its
 * NetworkPolicy: the defaults the real server applies (pkg/apis/apps/v1/defaults.go
 * SetDefaults_StatefulSet; the PolicyTypes defaulting of NetworkPolicy is not modelled) and the
 * enums its validation checks (pkg/apis/apps/validation ValidateStatefulSetSpec: pod management
 * policy, update strategy; pkg/apis/networking/validation: port protocol, policy types). */
#define INT_OR_STRING "{\"x-kubernetes-int-or-string\":true}"
#define STATEFULSET_SCHEMA                                                                         \
    "{\"type\":\"object\"," PRESERVE ",\"properties\":{\"spec\":{\"type\":\"object\"," PRESERVE    \
    ",\"required\":[\"selector\",\"template\"],\"properties\":{"                                   \
    "\"replicas\":{\"type\":\"integer\",\"minimum\":0,\"default\":1},"                             \
    "\"revisionHistoryLimit\":{\"type\":\"integer\",\"default\":10},"                              \
    "\"podManagementPolicy\":{\"type\":\"string\",\"default\":\"OrderedReady\","                   \
    "\"enum\":[\"OrderedReady\",\"Parallel\"]},"                                                   \
    "\"updateStrategy\":{\"type\":\"object\"," PRESERVE ",\"default\":{},\"properties\":{"         \
    "\"type\":{\"type\":\"string\",\"default\":\"RollingUpdate\","                                 \
    "\"enum\":[\"RollingUpdate\",\"OnDelete\"]}}},"                                                \
    "\"volumeClaimTemplates\":{\"type\":\"array\",\"items\":{\"type\":\"object\"," PRESERVE        \
    ",\"properties\":{\"spec\":{\"type\":\"object\"," PRESERVE ",\"properties\":{"                 \
    "\"accessModes\":{\"type\":\"array\",\"minItems\":1,\"items\":{\"type\":\"string\","           \
    "\"enum\":[\"ReadWriteOnce\",\"ReadOnlyMany\",\"ReadWriteMany\",\"ReadWriteOncePod\"]}}}}}}}}" \
    "}}}"
#define PDB_SCHEMA                                                                                 \
    "{\"type\":\"object\"," PRESERVE ",\"properties\":{\"spec\":{\"type\":\"object\"," PRESERVE    \
    ",\"properties\":{\"minAvailable\":" INT_OR_STRING ",\"maxUnavailable\":" INT_OR_STRING "}}}}"
#define NETWORKPOLICY_SCHEMA                                                                       \
    "{\"type\":\"object\"," PRESERVE ",\"properties\":{\"spec\":{\"type\":\"object\"," PRESERVE    \
    ",\"required\":[\"podSelector\"],\"properties\":{\"policyTypes\":{\"type\":\"array\","         \
    "\"items\":{\"type\":\"string\",\"enum\":[\"Ingress\",\"Egress\"]}},"                          \
    "\"ingress\":{\"type\":\"array\",\"items\":{\"type\":\"object\"," PRESERVE ",\"properties\":{" \
    "\"ports\":" NETPOL_PORTS "}}},"                                                               \
    "\"egress\":{\"type\":\"array\",\"items\":{\"type\":\"object\"," PRESERVE ",\"properties\":{"  \
    "\"ports\":" NETPOL_PORTS "}}}}}}}"
#define NETPOL_PORTS                                                                               \
    "{\"type\":\"array\",\"items\":{\"type\":\"object\"," PRESERVE ",\"properties\":{"             \
    "\"protocol\":{\"type\":\"string\",\"default\":\"TCP\",\"enum\":[\"TCP\",\"UDP\",\"SCTP\"]},"  \
    "\"port\":" INT_OR_STRING "}}}"
#define SECRET_SCHEMA                                                                              \
    "{\"type\":\"object\"," PRESERVE ",\"properties\":{\"type\":{\"type\":\"string\","             \
    "\"default\":\"Opaque\"}}}"

#define AGE_COLUMN                                                                                 \
    "{\"name\":\"Age\",\"type\":\"date\",\"jsonPath\":\".metadata.creationTimestamp\"}"
#define COLUMN(name, path) "{\"name\":\"" name "\",\"type\":\"string\",\"jsonPath\":\"" path "\"}"
#define NAMESPACE_COLUMNS  "[" COLUMN("Status", ".status.phase") "," AGE_COLUMN "]"
#define SECRET_COLUMNS     "[" COLUMN("Type", ".type") "," AGE_COLUMN "]"
#define SERVICE_COLUMNS                                                                            \
    "[" COLUMN("Type", ".spec.type") "," COLUMN("Cluster-IP", ".spec.clusterIP") "," AGE_COLUMN "]"
#define LEASE_COLUMNS   "[" COLUMN("Holder", ".spec.holderIdentity") "," AGE_COLUMN "]"
#define PVC_COLUMNS     "[" COLUMN("Status", ".status.phase") "," AGE_COLUMN "]"
#define BINDING_COLUMNS "[" COLUMN("Role", ".roleRef.name") "," AGE_COLUMN "]"

/* One line per built-in kind: group, version, kind, plural, singular, namespaced, /status,
 * generation, short names, categories, schema, printer columns. */
static const struct fas_builtin builtins[] = {
    {"", "v1", "Namespace", "namespaces", "namespace", false, true, false, "ns", "", ANY_OBJECT,
     NAMESPACE_COLUMNS},
    {"", "v1", "Service", "services", "service", true, true, false, "svc", "all", SERVICE_SCHEMA,
     SERVICE_COLUMNS},
    {"", "v1", "Secret", "secrets", "secret", true, false, false, "", "", SECRET_SCHEMA,
     SECRET_COLUMNS},
    {"", "v1", "ConfigMap", "configmaps", "configmap", true, false, false, "cm", "", ANY_OBJECT,
     NULL},
    {"apps", "v1", "Deployment", "deployments", "deployment", true, true, true, "deploy", "all",
     DEPLOYMENT_SCHEMA, NULL},
    {"apps", "v1", "StatefulSet", "statefulsets", "statefulset", true, true, true, "sts", "all",
     STATEFULSET_SCHEMA, NULL},
    {"policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", true,
     true, true, "pdb", "", PDB_SCHEMA, NULL},
    {"networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "networkpolicy", true, false,
     true, "netpol", "", NETWORKPOLICY_SCHEMA, NULL},
    {"discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", true, false,
     true, "", "", ANY_OBJECT, NULL},
    {"coordination.k8s.io", "v1", "Lease", "leases", "lease", true, false, false, "", "",
     ANY_OBJECT, LEASE_COLUMNS},
    {"apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
     "customresourcedefinition", false, true, true, "crd,crds", "api-extensions", ANY_OBJECT, NULL},
    {"", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", true, false, false, "sa", "",
     ANY_OBJECT, NULL},
    {"", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", true,
     true, false, "pvc", "", PVC_SCHEMA, PVC_COLUMNS},
    {"rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", false, false,
     false, "", "", ANY_OBJECT, NULL},
    {"rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
     "clusterrolebinding", false, false, false, "", "", ANY_OBJECT, BINDING_COLUMNS},
    {"rbac.authorization.k8s.io", "v1", "Role", "roles", "role", true, false, false, "", "",
     ANY_OBJECT, NULL},
    {"rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", true, false,
     false, "", "", ANY_OBJECT, BINDING_COLUMNS},
};

const struct fas_builtin *fas_builtins(size_t *n)
{
    *n = sizeof(builtins) / sizeof(builtins[0]);
    return builtins;
}

void fas_rtype_free(struct fas_rtype *rt)
{
    if (!rt)
        return;
    free(rt->group);
    free(rt->kind);
    free(rt->list_kind);
    free(rt->plural);
    free(rt->singular);
    json_object_put(rt->short_names);
    json_object_put(rt->categories);
    for (size_t i = 0; i < rt->n_versions; i++) {
        free(rt->versions[i].name);
        free(rt->versions[i].api_version);
        json_object_put(rt->versions[i].schema);
        json_object_put(rt->versions[i].columns);
    }
    free(rt->versions);
    free(rt->objs);
    free(rt);
}

static json_object *csv_array(const char *csv)
{
    json_object *a = json_object_new_array();
    if (!a)
        return NULL;
    const char *p = csv;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n)
            json_object_array_add(a, json_object_new_string_len(p, (int)n));
        p = e ? e + 1 : NULL;
    }
    return a;
}

/* A new schema identity: a schema object's address may be reused once freed, this is not. */
static uint64_t next_schema_gen(void)
{
    static _Atomic uint64_t gen;
    return atomic_fetch_add(&gen, 1) + 1;
}

static char *api_version_of(const char *group, const char *version)
{
    size_t n = strlen(group) + strlen(version) + 2;
    char *s = malloc(n);
    if (!s)
        return NULL;
    if (group[0])
        snprintf(s, n, "%s/%s", group, version);
    else
        snprintf(s, n, "%s", version);
    return s;
}

struct fas_rtype *fas_rtype_from_builtin(const struct fas_builtin *b)
{
    struct fas_rtype *rt = calloc(1, sizeof(*rt));
    if (!rt)
        return NULL;
    char lk[256];
    snprintf(lk, sizeof(lk), "%sList", b->kind);
    rt->group = strdup(b->group);
    rt->kind = strdup(b->kind);
    rt->list_kind = strdup(lk);
    rt->plural = strdup(b->plural);
    rt->singular = strdup(b->singular);
    rt->namespaced = b->namespaced;
    rt->has_generation = b->generation;
    rt->unconditional_update = strcmp(b->plural, "customresourcedefinitions") != 0;
    rt->builtin = true;
    rt->short_names = csv_array(b->short_names);
    rt->categories = csv_array(b->categories);
    rt->versions = calloc(1, sizeof(*rt->versions));
    if (!rt->group || !rt->kind || !rt->list_kind || !rt->plural || !rt->singular ||
        !rt->short_names || !rt->categories || !rt->versions) {
        fas_rtype_free(rt);
        return NULL;
    }
    rt->n_versions = 1;
    struct fas_rversion *v = &rt->versions[0];
    v->name = strdup(b->version);
    v->api_version = api_version_of(b->group, b->version);
    v->served = v->storage = true;
    v->has_status = b->status;
    char err[128];
    v->schema = fas_json_parse(b->schema, strlen(b->schema), err, sizeof(err));
    v->schema_gen = next_schema_gen();
    if (b->columns)
        v->columns = fas_json_parse(b->columns, strlen(b->columns), err, sizeof(err));
    if (!v->name || !v->api_version || !v->schema || (b->columns && !v->columns)) {
        fas_rtype_free(rt);
        return NULL;
    }
    return rt;
}

/* ---- version priority ----------------------------------------------------------------------- */

/* Parses vN, vNalphaM, vNbetaM. Returns 0 when not Kubernetes-like. level: 3 GA, 2 beta, 1 alpha.
 */
static int kube_version(const char *s, long *major, int *level, long *minor)
{
    if (s[0] != 'v' || !isdigit((unsigned char)s[1]))
        return 0;
    char *end = NULL;
    *major = strtol(s + 1, &end, 10);
    if (*end == '\0') {
        *level = 3;
        *minor = 0;
        return 1;
    }
    if (strncmp(end, "beta", 4) == 0)
        *level = 2, end += 4;
    else if (strncmp(end, "alpha", 5) == 0)
        *level = 1, end += 5;
    else
        return 0;
    if (!isdigit((unsigned char)*end))
        return 0;
    *minor = strtol(end, &end, 10);
    return *end == '\0';
}

int fas_version_compare(const char *a, const char *b)
{
    long ma, mb, na, nb;
    int la, lb;
    int ka = kube_version(a, &ma, &la, &na);
    int kb = kube_version(b, &mb, &lb, &nb);
    if (ka && kb) {
        if (la != lb)
            return lb - la;
        if (ma != mb)
            return ma > mb ? -1 : 1;
        if (na != nb)
            return na > nb ? -1 : 1;
        return 0;
    }
    if (ka != kb)
        return ka ? -1 : 1;
    return strcmp(a, b);
}

static int version_cmp(const void *x, const void *y)
{
    const struct fas_rversion *a = x, *b = y;
    return fas_version_compare(a->name, b->name);
}

struct fas_rversion *fas_rtype_version(const struct fas_rtype *rt, const char *v)
{
    for (size_t i = 0; i < rt->n_versions; i++)
        if (rt->versions[i].served && strcmp(rt->versions[i].name, v) == 0)
            return &rt->versions[i];
    return NULL;
}

struct fas_rversion *fas_rtype_storage(const struct fas_rtype *rt)
{
    for (size_t i = 0; i < rt->n_versions; i++)
        if (rt->versions[i].storage)
            return &rt->versions[i];
    return rt->n_versions ? &rt->versions[0] : NULL;
}

/* ---- CRDs ----------------------------------------------------------------------------------- */

static bool dns_label_chars(const char *s)
{
    if (!s || !s[0])
        return false;
    for (const char *c = s; *c; c++)
        if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-' || *c == '.'))
            return false;
    return true;
}

#define CRD_FAIL(f, ...)                                                                           \
    do {                                                                                           \
        snprintf(field, fieldsz, "%s", f);                                                         \
        snprintf(msg, msgsz, __VA_ARGS__);                                                         \
        fas_rtype_free(rt);                                                                        \
        return NULL;                                                                               \
    } while (0)

struct fas_rtype *fas_rtype_from_crd(json_object *crd, char *field, size_t fieldsz, char *msg,
                                     size_t msgsz)
{
    json_object *spec = fas_json_get(crd, "spec");
    json_object *names = fas_json_get(spec, "names");
    const char *name = fas_json_str(fas_json_get(crd, "metadata"), "name");
    const char *group = fas_json_str(spec, "group");
    const char *kind = fas_json_str(names, "kind");
    const char *plural = fas_json_str(names, "plural");
    const char *singular = fas_json_str(names, "singular");
    const char *list_kind = fas_json_str(names, "listKind");
    const char *scope = fas_json_str(spec, "scope");
    json_object *versions = fas_json_get(spec, "versions");
    struct fas_rtype *rt = calloc(1, sizeof(*rt));
    char lk[256];
    field[0] = msg[0] = '\0';
    if (!rt) {
        snprintf(msg, msgsz, "out of memory");
        return NULL;
    }
    if (!group || !group[0])
        CRD_FAIL("spec.group", "Required value");
    if (!dns_label_chars(group) || !strchr(group, '.'))
        CRD_FAIL("spec.group", "Invalid value: \"%s\": should be a domain with at least one dot",
                 group);
    if (!plural || !plural[0])
        CRD_FAIL("spec.names.plural", "Required value");
    if (!dns_label_chars(plural))
        CRD_FAIL("spec.names.plural",
                 "Invalid value: \"%s\": a lowercase RFC 1123 label must "
                 "consist of lower case alphanumeric characters or '-'",
                 plural);
    if (!kind || !kind[0])
        CRD_FAIL("spec.names.kind", "Required value");
    if (!scope || (strcmp(scope, "Namespaced") != 0 && strcmp(scope, "Cluster") != 0))
        CRD_FAIL("spec.scope",
                 "Unsupported value: \"%s\": supported values: \"Cluster\", "
                 "\"Namespaced\"",
                 scope ? scope : "");
    if (!name || strlen(name) != strlen(plural) + 1 + strlen(group) ||
        strncmp(name, plural, strlen(plural)) != 0 || name[strlen(plural)] != '.' ||
        strcmp(name + strlen(plural) + 1, group) != 0)
        CRD_FAIL("metadata.name",
                 "Invalid value: \"%s\": must be spec.names.plural+\".\"+spec.group",
                 name ? name : "");
    size_t nv =
        json_object_is_type(versions, json_type_array) ? json_object_array_length(versions) : 0;
    if (nv == 0)
        CRD_FAIL("spec.versions", "Invalid value: null: must have exactly one version marked as "
                                  "storage version");
    snprintf(lk, sizeof(lk), "%sList", kind);
    rt->group = strdup(group);
    rt->kind = strdup(kind);
    rt->list_kind = strdup(list_kind ? list_kind : lk);
    rt->plural = strdup(plural);
    rt->singular = strdup(singular && singular[0] ? singular : "");
    if (rt->singular && !rt->singular[0]) {
        free(rt->singular);
        rt->singular = strdup(kind);
        for (char *c = rt->singular; c && *c; c++)
            *c = (char)tolower((unsigned char)*c);
    }
    rt->namespaced = strcmp(scope, "Namespaced") == 0;
    rt->has_generation = true;
    rt->unconditional_update = false;
    json_object *sn = fas_json_get(names, "shortNames");
    json_object *cat = fas_json_get(names, "categories");
    rt->short_names =
        json_object_is_type(sn, json_type_array) ? fas_json_copy(sn) : json_object_new_array();
    rt->categories =
        json_object_is_type(cat, json_type_array) ? fas_json_copy(cat) : json_object_new_array();
    rt->versions = calloc(nv, sizeof(*rt->versions));
    if (!rt->group || !rt->kind || !rt->list_kind || !rt->plural || !rt->singular ||
        !rt->short_names || !rt->categories || !rt->versions) {
        fas_rtype_free(rt);
        snprintf(msg, msgsz, "out of memory");
        return NULL;
    }
    size_t storage = 0;
    for (size_t i = 0; i < nv; i++) {
        json_object *v = json_object_array_get_idx(versions, i);
        const char *vn = fas_json_str(v, "name");
        json_object *served = fas_json_get(v, "served");
        json_object *stor = fas_json_get(v, "storage");
        char f[64];
        snprintf(f, sizeof(f), "spec.versions[%zu].name", i);
        if (!vn || !vn[0] || !dns_label_chars(vn))
            CRD_FAIL(f, "Required value");
        for (size_t j = 0; j < rt->n_versions; j++)
            if (strcmp(rt->versions[j].name, vn) == 0)
                CRD_FAIL("spec.versions", "Invalid value: \"%s\": must appear only once", vn);
        struct fas_rversion *rv = &rt->versions[rt->n_versions++];
        rv->name = strdup(vn);
        rv->api_version = api_version_of(group, vn);
        rv->served = served && json_object_get_boolean(served);
        rv->storage = stor && json_object_get_boolean(stor);
        rv->has_status = fas_json_get(fas_json_get(v, "subresources"), "status") != NULL;
        json_object *schema = fas_json_get(fas_json_get(v, "schema"), "openAPIV3Schema");
        rv->schema = schema ? fas_json_copy(schema) : NULL;
        rv->schema_gen = next_schema_gen();
        json_object *cols = fas_json_get(v, "additionalPrinterColumns");
        rv->columns = cols ? fas_json_copy(cols) : NULL;
        if (!rv->name || !rv->api_version || (schema && !rv->schema) || (cols && !rv->columns)) {
            fas_rtype_free(rt);
            snprintf(msg, msgsz, "out of memory");
            return NULL;
        }
        if (rv->storage)
            storage++;
    }
    if (storage != 1)
        CRD_FAIL("spec.versions", "Invalid value: ...: must have exactly one version marked as "
                                  "storage version");
    qsort(rt->versions, rt->n_versions, sizeof(*rt->versions), version_cmp);
    return rt;
}

void fas_rtype_redefine(struct fas_rtype *dst, struct fas_rtype *src)
{
    struct fas_rtype tmp = *dst;
    /* Swap the definition fields, keep objects/watches/list links of dst. */
    dst->group = src->group;
    dst->kind = src->kind;
    dst->list_kind = src->list_kind;
    dst->plural = src->plural;
    dst->singular = src->singular;
    dst->namespaced = src->namespaced;
    dst->has_generation = src->has_generation;
    dst->unconditional_update = src->unconditional_update;
    dst->short_names = src->short_names;
    dst->categories = src->categories;
    dst->versions = src->versions;
    dst->n_versions = src->n_versions;
    src->group = tmp.group;
    src->kind = tmp.kind;
    src->list_kind = tmp.list_kind;
    src->plural = tmp.plural;
    src->singular = tmp.singular;
    src->short_names = tmp.short_names;
    src->categories = tmp.categories;
    src->versions = tmp.versions;
    src->n_versions = tmp.n_versions;
    src->objs = NULL;
    fas_rtype_free(src);
}

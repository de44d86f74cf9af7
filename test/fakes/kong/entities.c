/* entities — Kong 3.9's core entity schemas as the declarative config sees them (services,
 * routes, upstreams, targets, plugins, certificates, snis, ca_certificates, consumers): fields,
 * defaults, subschemas and entity checks, with Kong's messages. */
#include "entities.h"
#include "router.h"

#include <kgc/err.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared field definitions ------------------------------------------------------------------
 */

static const char *const PROTOCOLS[] = {"grpc", "grpcs",           "http", "https", "tcp",
                                        "tls",  "tls_passthrough", "udp",  NULL};
static const char *const HTTP_PROTOCOLS[] = {"grpc", "grpcs", "http", "https", NULL};

static const struct kf_field F_TAG = {"tag", KF_STRING, KF_REQUIRED, .check = kf_check_tag};
static const struct kf_field F_PROTOCOL = {"protocol", KF_STRING, 0, .one_of = PROTOCOLS};
static const struct kf_field F_HTTP_PROTOCOL = {"protocol", KF_STRING, 0, .one_of = HTTP_PROTOCOLS};
static const struct kf_field F_STRING = {"string", KF_STRING, 0};
static const struct kf_field F_UUIDSTR = {"uuid", KF_STRING, KF_UUID};

#define FIELD_ID                                                                                   \
    {                                                                                              \
        "id", KF_STRING, KF_UUID                                                                   \
    }
#define FIELD_TIMESTAMP(n)                                                                         \
    {                                                                                              \
        n, KF_INTEGER, 0                                                                           \
    }
#define FIELD_TAGS                                                                                 \
    {                                                                                              \
        "tags", KF_SET, 0, .elements = &F_TAG                                                      \
    }
#define FIELD_BOOL(n, fl)                                                                          \
    {                                                                                              \
        n, KF_BOOLEAN, (fl)                                                                        \
    }
#define FIELD_INT(n, fl, a, b)                                                                     \
    {                                                                                              \
        n, KF_INTEGER, (fl) | KF_BETWEEN, .lo = (a), .hi = (b)                                     \
    }
#define FIELD_END                                                                                  \
    {                                                                                              \
        NULL, KF_ANY, 0                                                                            \
    }

/* ---- services ----------------------------------------------------------------------------------
 */

static void service_check(struct kf_vctx *c, json_object *obj, struct kf_errt *errs);

static const struct kf_field SERVICE_FIELDS[] = {
    FIELD_ID,
    FIELD_TIMESTAMP("created_at"),
    FIELD_TIMESTAMP("updated_at"),
    {"name", KF_STRING, 0, .check = kf_check_utf8_name},
    FIELD_INT("retries", KF_DEFAULT, 0, 32767),
    {"protocol", KF_STRING, KF_REQUIRED | KF_DEFAULT, .one_of = PROTOCOLS},
    {"host", KF_STRING, KF_REQUIRED, .check = kf_check_host},
    FIELD_INT("port", KF_REQUIRED | KF_DEFAULT, 0, 65535),
    {"path", KF_STRING, 0, .check = kf_check_path},
    FIELD_INT("connect_timeout", KF_DEFAULT, 1, 2147483646),
    FIELD_INT("write_timeout", KF_DEFAULT, 1, 2147483646),
    FIELD_INT("read_timeout", KF_DEFAULT, 1, 2147483646),
    FIELD_TAGS,
    {"client_certificate", KF_FOREIGN, 0, .reference = "certificates"},
    FIELD_BOOL("tls_verify", 0),
    FIELD_INT("tls_verify_depth", 0, 0, 64),
    {"ca_certificates", KF_ARRAY, 0, .elements = &F_UUIDSTR},
    FIELD_BOOL("enabled", KF_REQUIRED | KF_DEFAULT),
    FIELD_END,
};

static const struct kf_record SERVICE_RECORD = {SERVICE_FIELDS, service_check};

/* conditional = { if_field, if_match, then_field, then_match = { eq = null } } */
static void conditional_null(struct kf_vctx *c, json_object *obj, struct kf_errt *errs,
                             const char *if_field, const char *then_field)
{
    json_object *v = NULL;
    if (!kf_has(obj, then_field, &v) || !v) {
        return;
    }
    if (kf_errt_set(errs, then_field, 0, "value must be null") != 0) {
        c->oom = true;
    }
    char msg[128];
    snprintf(msg, sizeof(msg), "failed conditional validation given value of field '%s'", if_field);
    if (kf_errt_entity(errs, msg) != 0) {
        c->oom = true;
    }
}

static void service_check(struct kf_vctx *c, json_object *obj, struct kf_errt *errs)
{
    json_object *pv = NULL;
    const char *proto = "http";
    if (kf_has(obj, "protocol", &pv)) {
        if (!kf_is_string(pv)) {
            return; /* if_match cannot succeed on a non-string */
        }
        proto = json_object_get_string(pv);
    }
    static const char *const no_path[] = {"tcp", "tls", "udp", "grpc", "grpcs", NULL};
    for (size_t i = 0; no_path[i]; i++) {
        if (strcmp(proto, no_path[i]) == 0) {
            conditional_null(c, obj, errs, "protocol", "path");
        }
    }
    if (strcmp(proto, "https") != 0 && strcmp(proto, "tls") != 0) {
        conditional_null(c, obj, errs, "protocol", "client_certificate");
        conditional_null(c, obj, errs, "protocol", "tls_verify");
        conditional_null(c, obj, errs, "protocol", "tls_verify_depth");
        conditional_null(c, obj, errs, "protocol", "ca_certificates");
    }
}

/* ---- routes ------------------------------------------------------------------------------------
 */

static const struct kf_field F_METHOD = {"method", KF_STRING, 0, .check = kf_check_http_method};
static const struct kf_field F_HOST = {"host", KF_STRING, 0, .check = kf_check_host_wildcards};
static const struct kf_field F_PATH = {"path", KF_STRING, 0, .check = kf_check_router_path};
static const struct kf_field F_HEADER_KEY = {"key", KF_STRING, 0,
                                             .check = kf_check_route_header_name};
static const struct kf_field F_HEADER_VALUES = {"values", KF_ARRAY, 0, .elements = &F_STRING};
/* routes.snis elements: typedefs.sni under the traditional flavour, typedefs.wildcard_host under
 * the others (kong/db/schema/entities/routes.lua:37-41, 3.9.1) */
static bool route_sni_check(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    return c->flavor == 0 ? kf_check_sni(c, s, msg, msz) : kf_check_wildcard_host(c, s, msg, msz);
}
static const struct kf_field F_SNI = {"sni", KF_STRING, 0, .check = route_sni_check};

static void ipport_check(struct kf_vctx *c, json_object *obj, struct kf_errt *errs)
{
    json_object *ip = NULL, *port = NULL;
    kf_has(obj, "ip", &ip);
    kf_has(obj, "port", &port);
    if (!kf_nonempty(ip) && !kf_nonempty(port) &&
        kf_errt_entity(errs, "at least one of these fields must be non-empty: 'ip', 'port'") != 0) {
        c->oom = true;
    }
}

static const struct kf_field IPPORT_FIELDS[] = {
    {"ip", KF_STRING, 0, .check = kf_check_ip_or_cidr},
    FIELD_INT("port", 0, 0, 65535),
    FIELD_END,
};
static const struct kf_record IPPORT_RECORD = {IPPORT_FIELDS, ipport_check};
static const struct kf_field F_IPPORT = {"ipport", KF_RECORD, 0, .record = &IPPORT_RECORD};

static const long long REDIRECT_CODES[] = {426, 301, 302, 307, 308};
static const char *const PATH_HANDLING[] = {"v0", "v1", NULL};

#define ROUTE_COMMON_FIELDS                                                                        \
    FIELD_ID, FIELD_TIMESTAMP("created_at"), FIELD_TIMESTAMP("updated_at"),                        \
        {"name", KF_STRING, 0, .check = kf_check_utf8_name},                                       \
        {"protocols", KF_SET, KF_REQUIRED | KF_DEFAULT | KF_LEN_MIN1, .elements = &F_PROTOCOL,     \
         .protocols_subsets = true},                                                               \
        {"https_redirect_status_code", KF_INTEGER, KF_REQUIRED | KF_DEFAULT,                       \
         .one_of_int = REDIRECT_CODES, .n_one_of_int = 5},                                         \
        FIELD_BOOL("preserve_host", KF_REQUIRED | KF_DEFAULT),                                     \
        FIELD_BOOL("request_buffering", KF_REQUIRED | KF_DEFAULT),                                 \
        FIELD_BOOL("response_buffering", KF_REQUIRED | KF_DEFAULT), FIELD_TAGS,                    \
    {                                                                                              \
        "service", KF_FOREIGN, 0, .reference = "services"                                          \
    }

#define ROUTE_TRADITIONAL_FIELDS                                                                   \
    ROUTE_COMMON_FIELDS, {"regex_priority", KF_INTEGER, KF_DEFAULT},                               \
        {"path_handling", KF_STRING, KF_DEFAULT, .one_of = PATH_HANDLING},                         \
    {                                                                                              \
        "snis", KF_SET, 0, .elements = &F_SNI                                                      \
    }

static void route_check(struct kf_vctx *c, json_object *obj, struct kf_errt *errs);

/* http/https subschema */
static const struct kf_field ROUTE_HTTP_FIELDS[] = {
    ROUTE_TRADITIONAL_FIELDS,
    {"methods", KF_SET, 0, .elements = &F_METHOD},
    {"hosts", KF_ARRAY, 0, .elements = &F_HOST},
    {"paths", KF_ARRAY, 0, .elements = &F_PATH},
    {"headers", KF_MAP, 0, .keys = &F_HEADER_KEY, .values = &F_HEADER_VALUES},
    FIELD_BOOL("strip_path", KF_REQUIRED | KF_DEFAULT),
    {"sources", KF_SET, KF_EQ_NULL, .elements = &F_IPPORT,
     .eq_err = "cannot set 'sources' when 'protocols' is 'http' or 'https'"},
    {"destinations", KF_SET, KF_EQ_NULL, .elements = &F_IPPORT,
     .eq_err = "cannot set 'destinations' when 'protocols' is 'http' or 'https'"},
    FIELD_END,
};

#define STREAM_ERR(f)                                                                              \
    "cannot set '" f "' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'"
static const struct kf_field ROUTE_STREAM_FIELDS[] = {
    ROUTE_TRADITIONAL_FIELDS,
    {"methods", KF_SET, KF_EQ_NULL, .elements = &F_METHOD, .eq_err = STREAM_ERR("methods")},
    {"hosts", KF_ARRAY, KF_EQ_NULL, .elements = &F_HOST, .eq_err = STREAM_ERR("hosts")},
    {"paths", KF_ARRAY, KF_EQ_NULL, .elements = &F_PATH, .eq_err = STREAM_ERR("paths")},
    {"headers", KF_MAP, KF_EQ_NULL, .keys = &F_HEADER_KEY, .values = &F_HEADER_VALUES,
     .eq_err = STREAM_ERR("headers")},
    FIELD_BOOL("strip_path", KF_REQUIRED | KF_DEFAULT),
    {"sources", KF_SET, 0, .elements = &F_IPPORT},
    {"destinations", KF_SET, 0, .elements = &F_IPPORT},
    FIELD_END,
};

#define GRPC_ERR(f) "cannot set '" f "' when 'protocols' is 'grpc' or 'grpcs'"
static const struct kf_field ROUTE_GRPC_FIELDS[] = {
    ROUTE_TRADITIONAL_FIELDS,
    {"methods", KF_SET, KF_EQ_NULL, .elements = &F_METHOD, .eq_err = GRPC_ERR("methods")},
    {"hosts", KF_ARRAY, 0, .elements = &F_HOST},
    {"paths", KF_ARRAY, 0, .elements = &F_PATH},
    {"headers", KF_MAP, 0, .keys = &F_HEADER_KEY, .values = &F_HEADER_VALUES},
    {"strip_path", KF_BOOLEAN, KF_REQUIRED | KF_DEFAULT | KF_NE_TRUE,
     .eq_err = GRPC_ERR("strip_path")},
    {"sources", KF_SET, KF_EQ_NULL, .elements = &F_IPPORT, .eq_err = GRPC_ERR("sources")},
    {"destinations", KF_SET, KF_EQ_NULL, .elements = &F_IPPORT, .eq_err = GRPC_ERR("destinations")},
    FIELD_END,
};

/* expressions flavour: every traditional field plus expression and priority
 * (kong/db/schema/entities/routes.lua:209-219, 3.9.1); the http and grpc subschemas no longer
 * forbid sources/destinations (routes_subschemas.lua:70-91). */
#define ROUTE_EXPRESSION_EXTRA                                                                     \
    {"expression", KF_STRING, 0},                                                                  \
    {                                                                                              \
        "priority", KF_INTEGER, KF_REQUIRED | KF_DEFAULT | KF_BETWEEN,                             \
            .lo = 0, .hi = 70368744177663LL /* 2^46 - 1 */                                         \
    }
static const struct kf_field ROUTE_X_HTTP_FIELDS[] = {
    ROUTE_TRADITIONAL_FIELDS,
    {"methods", KF_SET, 0, .elements = &F_METHOD},
    {"hosts", KF_ARRAY, 0, .elements = &F_HOST},
    {"paths", KF_ARRAY, 0, .elements = &F_PATH},
    {"headers", KF_MAP, 0, .keys = &F_HEADER_KEY, .values = &F_HEADER_VALUES},
    FIELD_BOOL("strip_path", KF_REQUIRED | KF_DEFAULT),
    {"sources", KF_SET, 0, .elements = &F_IPPORT},
    {"destinations", KF_SET, 0, .elements = &F_IPPORT},
    ROUTE_EXPRESSION_EXTRA,
    FIELD_END,
};
static const struct kf_field ROUTE_X_STREAM_FIELDS[] = {
    ROUTE_TRADITIONAL_FIELDS,
    {"methods", KF_SET, KF_EQ_NULL, .elements = &F_METHOD, .eq_err = STREAM_ERR("methods")},
    {"hosts", KF_ARRAY, KF_EQ_NULL, .elements = &F_HOST, .eq_err = STREAM_ERR("hosts")},
    {"paths", KF_ARRAY, KF_EQ_NULL, .elements = &F_PATH, .eq_err = STREAM_ERR("paths")},
    {"headers", KF_MAP, KF_EQ_NULL, .keys = &F_HEADER_KEY, .values = &F_HEADER_VALUES,
     .eq_err = STREAM_ERR("headers")},
    FIELD_BOOL("strip_path", KF_REQUIRED | KF_DEFAULT),
    {"sources", KF_SET, 0, .elements = &F_IPPORT},
    {"destinations", KF_SET, 0, .elements = &F_IPPORT},
    ROUTE_EXPRESSION_EXTRA,
    FIELD_END,
};
static const struct kf_field ROUTE_X_GRPC_FIELDS[] = {
    ROUTE_TRADITIONAL_FIELDS,
    {"methods", KF_SET, KF_EQ_NULL, .elements = &F_METHOD, .eq_err = GRPC_ERR("methods")},
    {"hosts", KF_ARRAY, 0, .elements = &F_HOST},
    {"paths", KF_ARRAY, 0, .elements = &F_PATH},
    {"headers", KF_MAP, 0, .keys = &F_HEADER_KEY, .values = &F_HEADER_VALUES},
    {"strip_path", KF_BOOLEAN, KF_REQUIRED | KF_DEFAULT | KF_NE_TRUE,
     .eq_err = GRPC_ERR("strip_path")},
    {"sources", KF_SET, 0, .elements = &F_IPPORT},
    {"destinations", KF_SET, 0, .elements = &F_IPPORT},
    ROUTE_EXPRESSION_EXTRA,
    FIELD_END,
};

static const struct kf_record ROUTE_HTTP_RECORD = {ROUTE_HTTP_FIELDS, route_check};
static const struct kf_record ROUTE_STREAM_RECORD = {ROUTE_STREAM_FIELDS, route_check};
static const struct kf_record ROUTE_GRPC_RECORD = {ROUTE_GRPC_FIELDS, route_check};
static const struct kf_record ROUTE_X_HTTP_RECORD = {ROUTE_X_HTTP_FIELDS, route_check};
static const struct kf_record ROUTE_X_STREAM_RECORD = {ROUTE_X_STREAM_FIELDS, route_check};
static const struct kf_record ROUTE_X_GRPC_RECORD = {ROUTE_X_GRPC_FIELDS, route_check};

/* The route's protocols as Kong sees them (the default when absent); NULL when not an array. */
static json_object *route_protocols(json_object *obj, json_object *dflt)
{
    json_object *p = NULL;
    if (!kf_has(obj, "protocols", &p)) {
        return dflt;
    }
    return (p && json_object_is_type(p, json_type_array)) ? p : NULL;
}

static bool contains(json_object *arr, const char *s)
{
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (kf_is_string(v) && strcmp(json_object_get_string(v), s) == 0) {
            return true;
        }
    }
    return false;
}

/* every element is a string in list */
static bool all_in(json_object *arr, const char *const *list)
{
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (!kf_is_string(v)) {
            return false;
        }
        bool found = false;
        for (size_t k = 0; list[k] && !found; k++) {
            found = strcmp(json_object_get_string(v), list[k]) == 0;
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

static void at_least_one(struct kf_vctx *c, json_object *obj, struct kf_errt *errs,
                         const char *const *fields, const char *fmt)
{
    char list[256] = "";
    size_t n = 0;
    for (size_t i = 0; fields[i]; i++) {
        json_object *v = NULL;
        if (kf_has(obj, fields[i], &v) && kf_nonempty(v)) {
            return;
        }
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s'%s'", i ? ", " : "", fields[i]);
    }
    char msg[512];
    snprintf(msg, sizeof(msg), fmt, list);
    if (kf_errt_entity(errs, msg) != 0) {
        c->oom = true;
    }
}

/* True when any of the fields has an error already (run_entity_check skips a check whose fields
 * have errors: kong/db/schema/init.lua:1317-1329, 3.9.1). */
static bool any_error(struct kf_errt *errs, const char *const *fields)
{
    for (size_t i = 0; fields[i]; i++) {
        if (kf_errt_get(errs, fields[i], 0)) {
            return true;
        }
    }
    return false;
}

/* transform.lua:32-38 (3.9.1): is_null / is_empty_field */
static bool lua_null(json_object *obj, const char *field)
{
    json_object *v = NULL;
    return !kf_has(obj, field, &v) || !v;
}

static bool empty_field(json_object *obj, const char *field)
{
    json_object *v = NULL;
    if (!kf_has(obj, field, &v) || !v) {
        return true;
    }
    return (json_object_is_type(v, json_type_array) && json_object_array_length(v) == 0) ||
           (json_object_is_type(v, json_type_object) && json_object_object_length(v) == 0);
}

static bool zero_or_null(json_object *obj, const char *field)
{
    json_object *v = NULL;
    if (!kf_has(obj, field, &v) || !v) {
        return true;
    }
    return (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) &&
           json_object_get_double(v) == 0.0;
}

static void entity_err(struct kf_vctx *c, struct kf_errt *errs, const char *msg)
{
    if (kf_errt_entity(errs, msg) != 0) {
        c->oom = true;
    }
}

/* validate_route (kong/db/schema/entities/routes.lua:61-124, 3.9.1), the custom entity check of
 * the traditional_compatible and expressions flavours: the exclusivity rules here, then the ATC
 * dry-run (kf_route_validate, router_atc.c). Its field_sources (routes.lua:128-133) must be free
 * of errors for it to run. */
static void validate_route(struct kf_vctx *c, json_object *obj, struct kf_errt *errs)
{
    static const char *const sources[] = {
        "id",    "protocols", "snis",       "sources",        "destinations", "methods", "hosts",
        "paths", "headers",   "expression", "regex_priority", "priority",     NULL};
    if (c->flavor == 0 || any_error(errs, sources)) {
        return;
    }
    static const char *const others[] = {"snis",  "sources", "destinations", "methods",
                                         "hosts", "paths",   "headers",      NULL};
    bool expression_empty = lua_null(obj, "expression");
    bool others_empty = true;
    for (size_t i = 0; others[i]; i++) {
        others_empty &= empty_field(obj, others[i]);
    }
    if (expression_empty && others_empty) {
        return; /* routes.lua:74-76 */
    }
    if (!expression_empty && !others_empty) { /* routes.lua:78-83 */
        entity_err(c, errs,
                   "Router Expression failed validation: cannot set 'expression' with 'methods', "
                   "'hosts', 'paths', 'headers', 'snis', 'sources' or 'destinations' "
                   "simultaneously");
        return;
    }
    if (!expression_empty && !zero_or_null(obj, "regex_priority")) { /* routes.lua:85-91 */
        entity_err(c, errs,
                   "Router Expression failed validation: cannot set 'regex_priority' with "
                   "'expression' simultaneously");
        return;
    }
    if (!others_empty && !zero_or_null(obj, "priority")) { /* routes.lua:93-100 */
        entity_err(c, errs,
                   "Router Expression failed validation: cannot set 'priority' with 'methods', "
                   "'hosts', 'paths', 'headers', 'snis', 'sources' or 'destinations' "
                   "simultaneously");
        return;
    }
    /* routes.lua:102-121: the expression (given, or generated from the traditional fields) must
     * parse and type-check against the ATC schema of the route's protocols. The route is seen
     * with its schema default for protocols, as Kong's check input is. */
    json_object *route = json_object_new_object();
    if (!route) {
        c->oom = true;
        return;
    }
    json_object_object_foreach(obj, k, v)
    {
        json_object_object_add(route, k, json_object_get(v));
    }
    if (!kf_has(route, "protocols", NULL)) {
        json_object *d = json_object_new_array();
        json_object_array_add(d, json_object_new_string("http"));
        json_object_array_add(d, json_object_new_string("https"));
        json_object_object_add(route, "protocols", d);
    }
    const char *field = NULL;
    char msg[2048] = "";
    int rc = kf_route_validate((enum kf_flavor)c->flavor, route, &field, msg, sizeof(msg));
    json_object_put(route);
    if (rc == KGC_ENOMEM) {
        c->oom = true;
    } else if (rc != 0 && field) {
        if (kf_errt_set(errs, field, 0, "%s", msg) != 0) {
            c->oom = true;
        }
    } else if (rc != 0) {
        entity_err(c, errs, msg);
    }
}

static void route_check(struct kf_vctx *c, json_object *obj, struct kf_errt *errs)
{
    json_object *dflt = json_object_new_array();
    if (!dflt) {
        c->oom = true;
        return;
    }
    json_object_array_add(dflt, json_object_new_string("http"));
    json_object_array_add(dflt, json_object_new_string("https"));
    json_object *protocols = route_protocols(obj, dflt);

    /* routes.lua:17-23 (all flavours): snis only with TLS-terminating protocols */
    static const char *const tls_protos[] = {"grpcs", "https", "tls", "tls_passthrough", NULL};
    static const char *const snis_sources[] = {"protocols", "snis", NULL};
    json_object *snis = NULL;
    if (protocols && !any_error(errs, snis_sources) && kf_has(obj, "snis", &snis) &&
        kf_nonempty(snis)) {
        bool none_tls = true;
        size_t n = json_object_array_length(protocols);
        for (size_t i = 0; i < n; i++) {
            json_object *v = json_object_array_get_idx(protocols, i);
            for (size_t k = 0; tls_protos[k]; k++) {
                if (kf_is_string(v) && strcmp(json_object_get_string(v), tls_protos[k]) == 0) {
                    none_tls = false;
                }
            }
        }
        if (none_tls) {
            if (kf_errt_set(errs, "snis", 0, "length must be 0") != 0 ||
                kf_errt_entity(errs, "'snis' can only be set when 'protocols' is 'grpcs', "
                                     "'https', 'tls' or 'tls_passthrough'") != 0) {
                c->oom = true;
            }
        }
    }

    /* routes.lua:126-137: the router's check, after the schema's own entity checks */
    validate_route(c, obj, errs);

    /* routes_subschemas.lua: the subschema's conditional_at_least_one_of checks run last
     * (run_entity_checks, kong/db/schema/init.lua:1435-1454); the expressions flavour adds
     * 'expression' to each list (routes_subschemas.lua:70-99) */
    if (protocols) {
        bool x = c->flavor == 2;
        static const char *const http5[] = {"methods", "hosts", "headers", "paths", "snis", NULL};
        static const char *const http4[] = {"methods", "hosts", "headers", "paths", NULL};
        static const char *const grpc4[] = {"hosts", "headers", "paths", "snis", NULL};
        static const char *const grpc3[] = {"hosts", "headers", "paths", NULL};
        static const char *const stream3[] = {"sources", "destinations", "snis", NULL};
        static const char *const snis1[] = {"snis", NULL};
        static const char *const xhttp5[] = {"methods", "hosts",      "headers", "paths",
                                             "snis",    "expression", NULL};
        static const char *const xhttp4[] = {"methods", "hosts",      "headers",
                                             "paths",   "expression", NULL};
        static const char *const xgrpc4[] = {"hosts", "headers",    "paths",
                                             "snis",  "expression", NULL};
        static const char *const xgrpc3[] = {"hosts", "headers", "paths", "expression", NULL};
        static const char *const xstream3[] = {"sources", "destinations", "snis", "expression",
                                               NULL};
        static const char *const xsnis1[] = {"snis", "expression", NULL};
        static const char *const stream_protos[] = {"tcp", "tls", "udp", NULL};
        static const char *const passthrough[] = {"tls_passthrough", NULL};
        const char *sub = kf_route_subschema(obj);
        sub = sub ? sub : "";
        if (strcmp(sub, "http") == 0) {
            if (contains(protocols, "https")) {
                at_least_one(c, obj, errs, x ? xhttp5 : http5,
                             "must set one of %s when 'protocols' is 'https'");
            } else if (contains(protocols, "http")) {
                at_least_one(c, obj, errs, x ? xhttp4 : http4,
                             "must set one of %s when 'protocols' is 'http'");
            }
        } else if (strcmp(sub, "grpc") == 0) {
            if (contains(protocols, "grpcs")) {
                at_least_one(c, obj, errs, x ? xgrpc4 : grpc4,
                             "must set one of %s when 'protocols' is 'grpcs'");
            } else if (contains(protocols, "grpc")) {
                at_least_one(c, obj, errs, x ? xgrpc3 : grpc3,
                             "must set one of %s when 'protocols' is 'grpc'");
            }
        } else if (strcmp(sub, "tcp") == 0) {
            if (all_in(protocols, stream_protos)) {
                at_least_one(c, obj, errs, x ? xstream3 : stream3,
                             "must set one of %s when 'protocols' is 'tcp', 'tls' or 'udp'");
            }
            if (all_in(protocols, passthrough)) {
                /* then_err has no %s: the list is not shown (routes_subschemas.lua:38-42) */
                at_least_one(c, obj, errs, x ? xsnis1 : snis1,
                             "must set snis when 'protocols' is 'tls_passthrough'%.0s");
            }
        }
    }
    json_object_put(dflt);
}

/* ---- upstreams and targets ---------------------------------------------------------------------
 */

static const char *const HASH_ON[] = {"none", "consumer",  "ip",          "header", "cookie",
                                      "path", "query_arg", "uri_capture", NULL};
static const char *const ALGORITHMS[] = {"consistent-hashing", "least-connections", "round-robin",
                                         "latency", NULL};
static const char *const CHECK_TYPES[] = {"tcp", "http", "https", "grpc", "grpcs", NULL};

static const struct kf_field F_HTTP_STATUS = FIELD_INT("status", 0, 100, 999);

static const struct kf_field ACTIVE_HEALTHY_FIELDS[] = {
    {"interval", KF_NUMBER, KF_BETWEEN, .lo = 0, .hi = 65535},
    {"http_statuses", KF_ARRAY, 0, .elements = &F_HTTP_STATUS},
    FIELD_INT("successes", 0, 0, 255),
    FIELD_END,
};
static const struct kf_field ACTIVE_UNHEALTHY_FIELDS[] = {
    {"interval", KF_NUMBER, KF_BETWEEN, .lo = 0, .hi = 65535},
    {"http_statuses", KF_ARRAY, 0, .elements = &F_HTTP_STATUS},
    FIELD_INT("tcp_failures", 0, 0, 255),
    FIELD_INT("timeouts", 0, 0, 255),
    FIELD_INT("http_failures", 0, 0, 255),
    FIELD_END,
};
static const struct kf_field PASSIVE_HEALTHY_FIELDS[] = {
    {"http_statuses", KF_ARRAY, 0, .elements = &F_HTTP_STATUS},
    FIELD_INT("successes", 0, 0, 255),
    FIELD_END,
};
static const struct kf_field PASSIVE_UNHEALTHY_FIELDS[] = {
    {"http_statuses", KF_ARRAY, 0, .elements = &F_HTTP_STATUS},
    FIELD_INT("tcp_failures", 0, 0, 255),
    FIELD_INT("timeouts", 0, 0, 255),
    FIELD_INT("http_failures", 0, 0, 255),
    FIELD_END,
};
static const struct kf_record ACTIVE_HEALTHY = {ACTIVE_HEALTHY_FIELDS, NULL};
static const struct kf_record ACTIVE_UNHEALTHY = {ACTIVE_UNHEALTHY_FIELDS, NULL};
static const struct kf_record PASSIVE_HEALTHY = {PASSIVE_HEALTHY_FIELDS, NULL};
static const struct kf_record PASSIVE_UNHEALTHY = {PASSIVE_UNHEALTHY_FIELDS, NULL};
static const struct kf_field F_HEADER_NAME = {"key", KF_STRING, 0, .check = kf_check_header_name};

static const struct kf_field ACTIVE_FIELDS[] = {
    {"type", KF_STRING, 0, .one_of = CHECK_TYPES},
    {"timeout", KF_NUMBER, KF_BETWEEN, .lo = 0, .hi = 65535},
    FIELD_INT("concurrency", 0, 1, 2147483648LL),
    {"http_path", KF_STRING, 0, .check = kf_check_path},
    {"https_sni", KF_STRING, 0, .check = kf_check_sni},
    FIELD_BOOL("https_verify_certificate", 0),
    {"headers", KF_MAP, 0, .keys = &F_HEADER_NAME, .values = &F_HEADER_VALUES},
    {"healthy", KF_RECORD, 0, .record = &ACTIVE_HEALTHY},
    {"unhealthy", KF_RECORD, 0, .record = &ACTIVE_UNHEALTHY},
    FIELD_END,
};
static const struct kf_field PASSIVE_FIELDS[] = {
    {"type", KF_STRING, 0, .one_of = CHECK_TYPES},
    {"healthy", KF_RECORD, 0, .record = &PASSIVE_HEALTHY},
    {"unhealthy", KF_RECORD, 0, .record = &PASSIVE_UNHEALTHY},
    FIELD_END,
};
static const struct kf_record ACTIVE = {ACTIVE_FIELDS, NULL};
static const struct kf_record PASSIVE = {PASSIVE_FIELDS, NULL};
static const struct kf_field HEALTHCHECK_FIELDS[] = {
    {"active", KF_RECORD, 0, .record = &ACTIVE},
    {"passive", KF_RECORD, 0, .record = &PASSIVE},
    {"threshold", KF_NUMBER, KF_BETWEEN, .lo = 0, .hi = 100},
    FIELD_END,
};
static const struct kf_record HEALTHCHECKS = {HEALTHCHECK_FIELDS, NULL};

static void upstream_check(struct kf_vctx *c, json_object *obj, struct kf_errt *errs);

static const struct kf_field UPSTREAM_FIELDS[] = {
    FIELD_ID,
    FIELD_TIMESTAMP("created_at"),
    FIELD_TIMESTAMP("updated_at"),
    {"name", KF_STRING, KF_REQUIRED, .check = kf_check_upstream_name},
    {"algorithm", KF_STRING, KF_DEFAULT, .one_of = ALGORITHMS},
    {"hash_on", KF_STRING, KF_DEFAULT, .one_of = HASH_ON},
    {"hash_fallback", KF_STRING, KF_DEFAULT, .one_of = HASH_ON},
    {"hash_on_header", KF_STRING, 0, .check = kf_check_header_name},
    {"hash_fallback_header", KF_STRING, 0, .check = kf_check_header_name},
    {"hash_on_cookie", KF_STRING, 0, .check = kf_check_cookie_name},
    {"hash_on_cookie_path", KF_STRING, KF_DEFAULT, .check = kf_check_path},
    {"hash_on_query_arg", KF_STRING, 0}, /* simple_param: len_min 1 (upstreams.lua:83-86) */
    {"hash_fallback_query_arg", KF_STRING, 0},
    {"hash_on_uri_capture", KF_STRING, 0},
    {"hash_fallback_uri_capture", KF_STRING, 0},
    FIELD_INT("slots", KF_DEFAULT, 10, 65536),
    {"healthchecks", KF_RECORD, KF_DEFAULT, .record = &HEALTHCHECKS},
    FIELD_TAGS,
    {"host_header", KF_STRING, 0, .check = kf_check_host_with_optional_port},
    {"client_certificate", KF_FOREIGN, 0, .reference = "certificates"},
    FIELD_BOOL("use_srv_name", KF_DEFAULT),
    FIELD_END,
};
static const struct kf_record UPSTREAM_RECORD = {UPSTREAM_FIELDS, upstream_check};

/* An upstream's hash_on / hash_fallback as the entity checks see them: the default "none" when
 * absent, NULL when not a string (the if_match cannot succeed). */
static const char *hash_value(json_object *obj, const char *field)
{
    json_object *v = NULL;
    if (!kf_has(obj, field, &v)) {
        return "none";
    }
    return kf_is_string(v) ? json_object_get_string(v) : NULL;
}

static bool in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; s && list[i]; i++) {
        if (strcmp(s, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* conditional { then_match = { required = true } } (kong/db/schema/init.lua:725-769) */
static void cond_required(struct kf_vctx *c, json_object *obj, struct kf_errt *errs,
                          const char *if_field, const char *if_value, const char *want,
                          const char *then_field)
{
    json_object *v = NULL;
    if (!if_value || strcmp(if_value, want) != 0 || (kf_has(obj, then_field, &v) && v)) {
        return;
    }
    char msg[128];
    snprintf(msg, sizeof(msg), "failed conditional validation given value of field '%s'", if_field);
    if (kf_errt_set(errs, then_field, 0, "required field missing") != 0 ||
        kf_errt_entity(errs, msg) != 0) {
        c->oom = true;
    }
}

/* conditional { if hash_on matches, then_match = { one_of = list } } on hash_fallback */
static void cond_fallback(struct kf_vctx *c, struct kf_errt *errs, const char *hash_on,
                          const char *want, const char *fallback, const char *const *list)
{
    if (!hash_on || strcmp(hash_on, want) != 0 || !fallback || in_list(fallback, list)) {
        return;
    }
    char msg[512] = "expected one of: ";
    size_t n = strlen(msg);
    for (size_t i = 0; list[i] && n < sizeof(msg); i++) {
        n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s%s", i ? ", " : "", list[i]);
    }
    if (kf_errt_set(errs, "hash_fallback", 0, "%s", msg) != 0 ||
        kf_errt_entity(errs, "failed conditional validation given value of field 'hash_on'") != 0) {
        c->oom = true;
    }
}

/* distinct (kong/db/schema/init.lua:698-714) */
static void distinct(struct kf_vctx *c, json_object *obj, struct kf_errt *errs, const char *a,
                     const char *b)
{
    const char *va = kf_get_string(obj, a), *vb = kf_get_string(obj, b);
    if (va && vb && *va && strcmp(va, vb) == 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "values of these fields must be distinct: '%s', '%s'", a, b);
        entity_err(c, errs, msg);
    }
}

/* kong/db/schema/entities/upstreams.lua:205-295 (3.9.1), in their order */
static void upstream_check(struct kf_vctx *c, json_object *obj, struct kf_errt *errs)
{
    const char *hash_on = hash_value(obj, "hash_on");
    const char *fallback = hash_value(obj, "hash_fallback");
    static const char *const none[] = {"none", NULL};
    static const char *const after_consumer[] = {"none", "ip",        "header",      "cookie",
                                                 "path", "query_arg", "uri_capture", NULL};
    static const char *const after_ip[] = {"none", "consumer",  "header",      "cookie",
                                           "path", "query_arg", "uri_capture", NULL};
    static const char *const after_path[] = {"none",      "consumer", "header",      "cookie",
                                             "query_arg", "ip",       "uri_capture", NULL};
    cond_required(c, obj, errs, "hash_on", hash_on, "header", "hash_on_header");
    cond_required(c, obj, errs, "hash_fallback", fallback, "header", "hash_fallback_header");
    cond_required(c, obj, errs, "hash_on", hash_on, "cookie", "hash_on_cookie");
    cond_required(c, obj, errs, "hash_fallback", fallback, "cookie", "hash_on_cookie");
    cond_fallback(c, errs, hash_on, "none", fallback, none);
    cond_fallback(c, errs, hash_on, "cookie", fallback, none);
    cond_fallback(c, errs, hash_on, "consumer", fallback, after_consumer);
    cond_fallback(c, errs, hash_on, "ip", fallback, after_ip);
    cond_fallback(c, errs, hash_on, "path", fallback, after_path);
    distinct(c, obj, errs, "hash_on_header", "hash_fallback_header");
    cond_required(c, obj, errs, "hash_on", hash_on, "query_arg", "hash_on_query_arg");
    cond_required(c, obj, errs, "hash_fallback", fallback, "query_arg", "hash_fallback_query_arg");
    distinct(c, obj, errs, "hash_on_query_arg", "hash_fallback_query_arg");
    cond_required(c, obj, errs, "hash_on", hash_on, "uri_capture", "hash_on_uri_capture");
    cond_required(c, obj, errs, "hash_fallback", fallback, "uri_capture",
                  "hash_fallback_uri_capture");
    distinct(c, obj, errs, "hash_on_uri_capture", "hash_fallback_uri_capture");
}

static const struct kf_field TARGET_FIELDS[] = {
    FIELD_ID,
    {"created_at", KF_NUMBER, 0},
    {"updated_at", KF_NUMBER, 0},
    {"upstream", KF_FOREIGN, KF_REQUIRED, .reference = "upstreams"},
    {"target", KF_STRING, KF_REQUIRED, .check = kf_check_target},
    FIELD_INT("weight", KF_DEFAULT, 0, 65535),
    FIELD_TAGS,
    FIELD_END,
};
static const struct kf_record TARGET_RECORD = {TARGET_FIELDS, NULL};

/* ---- certificates, snis, ca_certificates, consumers --------------------------------------------
 */

static void certificate_check(struct kf_vctx *c, json_object *obj, struct kf_errt *errs)
{
    const char *cert = kf_get_string(obj, "cert");
    const char *key = kf_get_string(obj, "key");
    if (!cert || !key || kf_errt_get(errs, "cert", 0) || kf_errt_get(errs, "key", 0)) {
        return;
    }
    if (kf_cert_matches_key(cert, key) == 1 &&
        kf_errt_entity(errs, "certificate does not match key") != 0) {
        c->oom = true;
    }
}

static const struct kf_field CERTIFICATE_FIELDS[] = {
    FIELD_ID,
    FIELD_TIMESTAMP("created_at"),
    FIELD_TIMESTAMP("updated_at"),
    {"cert", KF_STRING, KF_REQUIRED, .check = kf_check_certificate},
    {"key", KF_STRING, KF_REQUIRED, .check = kf_check_key},
    {"cert_alt", KF_STRING, 0, .check = kf_check_certificate},
    {"key_alt", KF_STRING, 0, .check = kf_check_key},
    FIELD_TAGS,
    FIELD_END,
};
static const struct kf_record CERTIFICATE_RECORD = {CERTIFICATE_FIELDS, certificate_check};

static const struct kf_field SNI_FIELDS[] = {
    FIELD_ID,
    {"name", KF_STRING, KF_REQUIRED, .check = kf_check_wildcard_host},
    FIELD_TIMESTAMP("created_at"),
    FIELD_TIMESTAMP("updated_at"),
    FIELD_TAGS,
    {"certificate", KF_FOREIGN, KF_REQUIRED, .reference = "certificates"},
    FIELD_END,
};
static const struct kf_record SNI_RECORD = {SNI_FIELDS, NULL};

static void ca_certificate_check(struct kf_vctx *c, json_object *obj, struct kf_errt *errs)
{
    const char *cert = kf_get_string(obj, "cert");
    if (!cert || kf_errt_get(errs, "cert", 0)) {
        return;
    }
    const char *problem = kf_ca_cert_problem(cert);
    if (problem && kf_errt_entity(errs, problem) != 0) {
        c->oom = true;
    }
}

static const struct kf_field CA_CERTIFICATE_FIELDS[] = {
    FIELD_ID,
    FIELD_TIMESTAMP("created_at"),
    FIELD_TIMESTAMP("updated_at"),
    {"cert", KF_STRING, KF_REQUIRED, .check = kf_check_certificate},
    {"cert_digest", KF_STRING, 0},
    FIELD_TAGS,
    FIELD_END,
};
static const struct kf_record CA_CERTIFICATE_RECORD = {CA_CERTIFICATE_FIELDS, ca_certificate_check};

static void consumer_check(struct kf_vctx *c, json_object *obj, struct kf_errt *errs)
{
    static const char *const fields[] = {"custom_id", "username", NULL};
    at_least_one(c, obj, errs, fields, "at least one of these fields must be non-empty: %s");
}

static const struct kf_field CONSUMER_FIELDS[] = {
    FIELD_ID,
    FIELD_TIMESTAMP("created_at"),
    FIELD_TIMESTAMP("updated_at"),
    {"username", KF_STRING, 0},
    {"custom_id", KF_STRING, 0},
    FIELD_TAGS,
    FIELD_END,
};
static const struct kf_record CONSUMER_RECORD = {CONSUMER_FIELDS, consumer_check};

/* ---- plugins -----------------------------------------------------------------------------------
 */

/* the bundled plugins (kong/constants.lua:1-47, 3.9.1) */
static const char *const DEFAULT_PLUGINS[] = {"acl",
                                              "acme",
                                              "ai-prompt-decorator",
                                              "ai-prompt-guard",
                                              "ai-prompt-template",
                                              "ai-proxy",
                                              "ai-request-transformer",
                                              "ai-response-transformer",
                                              "aws-lambda",
                                              "azure-functions",
                                              "basic-auth",
                                              "bot-detection",
                                              "correlation-id",
                                              "cors",
                                              "datadog",
                                              "file-log",
                                              "grpc-gateway",
                                              "grpc-web",
                                              "hmac-auth",
                                              "http-log",
                                              "ip-restriction",
                                              "jwt",
                                              "key-auth",
                                              "ldap-auth",
                                              "loggly",
                                              "oauth2",
                                              "opentelemetry",
                                              "post-function",
                                              "pre-function",
                                              "prometheus",
                                              "proxy-cache",
                                              "rate-limiting",
                                              "redirect",
                                              "request-size-limiting",
                                              "request-termination",
                                              "request-transformer",
                                              "response-ratelimiting",
                                              "response-transformer",
                                              "session",
                                              "standard-webhooks",
                                              "statsd",
                                              "syslog",
                                              "tcp-log",
                                              "udp-log",
                                              "zipkin",
                                              NULL};

const char *const *kf_default_plugins(void)
{
    return DEFAULT_PLUGINS;
}

/* ---- plugin configs, field by field (kong/plugins/<name>/schema.lua, 3.9.1) ------------------
 * Lua's pattern "^([^:]+):*(.-)$" splits "name:value": name is everything before the first ':'
 * (none when the entry starts with ':'), value what follows the run of colons. */
static bool split_pair(const char *s, char *name, size_t nsz, const char **value)
{
    size_t n = strcspn(s, ":");
    if (n == 0) {
        return false;
    }
    snprintf(name, nsz, "%.*s", (int)n, s);
    const char *v = s + n;
    while (*v == ':') {
        v++;
    }
    *value = v;
    return true;
}

/* kong/tools/http.lua:271-282 (validate_header_name) */
static bool header_name_ok(const char *s)
{
    if (!s || !*s) {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              *p == '-' || *p == '_')) {
            return false;
        }
    }
    return true;
}

/* request-transformer/schema.lua:29-41, response-transformer/schema.lua:5-17: validate_headers */
static bool validate_headers(const char *s, bool value_too, char *msg, size_t msz)
{
    char name[1024];
    const char *value = NULL;
    if (!split_pair(s, name, sizeof(name), &value)) {
        snprintf(msg, msz, "'nil' is not a valid header"); /* tostring(nil) */
        return false;
    }
    if (!header_name_ok(name)) {
        snprintf(msg, msz, "'%s' is not a valid header", name);
        return false;
    }
    if (value_too && !header_name_ok(value)) {
        snprintf(msg, msz, "'%s' is not a valid header", value);
        return false;
    }
    return true;
}

/* match = "^[^:]+:.*$" (MATCH: "invalid value: %s", kong/db/schema/init.lua:85) */
static bool colon_match(const char *s, char *msg, size_t msz)
{
    if (s[0] == ':' || !strchr(s, ':')) {
        snprintf(msg, msz, "invalid value: %s", s);
        return false;
    }
    return true;
}

/* request-transformer headers_array (schema.lua:57-62) */
static bool rt_header(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    return validate_headers(s, false, msg, msz);
}

/* request-transformer colon_header_value_array (schema.lua:83-88): match, then the name */
static bool rt_colon_header_value(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    return colon_match(s, msg, msz) && validate_headers(s, false, msg, msz);
}

/* colon_headers_array (request-transformer schema.lua:101-106, response-transformer 65-70):
 * match, then name and value both header names */
static bool colon_rename_header(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    return colon_match(s, msg, msz) && validate_headers(s, true, msg, msz);
}

/* response-transformer colon_string_array (schema.lua:32-37) */
static bool colon_string(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    return colon_match(s, msg, msz);
}

/* request-transformer check_for_value (schema.lua:13-26). Not modelled: pl.template compile
 * errors of the value; an entry starting with ':' (Kong hits a Lua error concatenating nil). */
static bool rt_check_for_value(struct kf_vctx *c, const char *s, char *msg, size_t msz)
{
    (void)c;
    char name[1024];
    const char *value = NULL;
    if (!split_pair(s, name, sizeof(name), &value)) {
        snprintf(msg, msz, "key '' has no value");
        return false;
    }
    if (!*value) {
        snprintf(msg, msz, "key '%s' has no value", name);
        return false;
    }
    return true;
}

static const struct kf_field F_RT_STRING = {"string", KF_STRING, 0};
static const struct kf_field F_RT_HEADER = {"string", KF_STRING, 0, .check = rt_header};
static const struct kf_field F_RT_COLON_VALUE = {"string", KF_STRING, 0,
                                                 .check = rt_check_for_value};
static const struct kf_field F_RT_COLON_HEADER = {"string", KF_STRING, 0,
                                                  .check = rt_colon_header_value};
static const struct kf_field F_COLON_RENAME_HEADER = {"string", KF_STRING, 0,
                                                      .check = colon_rename_header};
static const struct kf_field F_COLON_STRING = {"string", KF_STRING, 0, .check = colon_string};
static const char *const JSON_TYPES[] = {"boolean", "number", "string", NULL};
static const struct kf_field F_JSON_TYPE = {"string", KF_STRING, 0, .one_of = JSON_TYPES};

#define ARRAY_OF(n, el)                                                                            \
    {                                                                                              \
        n, KF_ARRAY, KF_REQUIRED | KF_DEFAULT, .elements = &(el)                                   \
    }

/* request-transformer (kong/plugins/request-transformer/schema.lua:49-139) */
static const struct kf_field RT_REMOVE_FIELDS[] = {
    ARRAY_OF("body", F_RT_STRING),
    ARRAY_OF("headers", F_RT_HEADER),
    ARRAY_OF("querystring", F_RT_STRING),
    FIELD_END,
};
static const struct kf_field RT_RENAME_FIELDS[] = {
    ARRAY_OF("body", F_RT_COLON_VALUE),
    ARRAY_OF("headers", F_COLON_RENAME_HEADER),
    ARRAY_OF("querystring", F_RT_COLON_VALUE),
    FIELD_END,
};
static const struct kf_field RT_REPLACE_FIELDS[] = {
    ARRAY_OF("body", F_RT_COLON_VALUE),
    ARRAY_OF("headers", F_RT_COLON_HEADER),
    ARRAY_OF("querystring", F_RT_COLON_VALUE),
    {"uri", KF_STRING, 0},
    FIELD_END,
};
static const struct kf_field RT_ADD_FIELDS[] = {
    ARRAY_OF("body", F_RT_COLON_VALUE),
    ARRAY_OF("headers", F_RT_COLON_HEADER),
    ARRAY_OF("querystring", F_RT_COLON_VALUE),
    FIELD_END,
};
static const struct kf_record RT_REMOVE = {RT_REMOVE_FIELDS, NULL};
static const struct kf_record RT_RENAME = {RT_RENAME_FIELDS, NULL};
static const struct kf_record RT_REPLACE = {RT_REPLACE_FIELDS, NULL};
static const struct kf_record RT_ADD = {RT_ADD_FIELDS, NULL};
static const struct kf_field RT_CONFIG_FIELDS[] = {
    {"http_method", KF_STRING, 0, .check = kf_check_http_method},
    {"remove", KF_RECORD, 0, .record = &RT_REMOVE},
    {"rename", KF_RECORD, 0, .record = &RT_RENAME},
    {"replace", KF_RECORD, 0, .record = &RT_REPLACE},
    {"add", KF_RECORD, 0, .record = &RT_ADD},
    {"append", KF_RECORD, 0, .record = &RT_ADD},
    FIELD_END,
};
static const struct kf_record RT_CONFIG = {RT_CONFIG_FIELDS, NULL};

/* response-transformer (kong/plugins/response-transformer/schema.lua:24-97) */
static const struct kf_field RESP_REMOVE_FIELDS[] = {
    ARRAY_OF("json", F_RT_STRING),
    ARRAY_OF("headers", F_RT_STRING),
    FIELD_END,
};
static const struct kf_field RESP_RENAME_FIELDS[] = {
    ARRAY_OF("json", F_COLON_STRING),
    ARRAY_OF("headers", F_COLON_RENAME_HEADER),
    FIELD_END,
};
static const struct kf_field RESP_ADD_FIELDS[] = {
    ARRAY_OF("json", F_COLON_STRING),
    ARRAY_OF("json_types", F_JSON_TYPE),
    ARRAY_OF("headers", F_COLON_STRING),
    FIELD_END,
};
static const struct kf_record RESP_REMOVE = {RESP_REMOVE_FIELDS, NULL};
static const struct kf_record RESP_RENAME = {RESP_RENAME_FIELDS, NULL};
static const struct kf_record RESP_ADD = {RESP_ADD_FIELDS, NULL};
static const struct kf_field RESP_CONFIG_FIELDS[] = {
    {"remove", KF_RECORD, 0, .record = &RESP_REMOVE},
    {"rename", KF_RECORD, 0, .record = &RESP_RENAME},
    {"replace", KF_RECORD, 0, .record = &RESP_ADD},
    {"add", KF_RECORD, 0, .record = &RESP_ADD},
    {"append", KF_RECORD, 0, .record = &RESP_ADD},
    FIELD_END,
};
static const struct kf_record RESP_CONFIG = {RESP_CONFIG_FIELDS, NULL};

/* request-termination (kong/plugins/request-termination/schema.lua:13-44) */
static const struct kf_field TERM_CONFIG_FIELDS[] = {
    FIELD_INT("status_code", KF_REQUIRED | KF_DEFAULT, 100, 599),
    {"message", KF_STRING, 0},
    {"content_type", KF_STRING, 0},
    {"body", KF_STRING, 0},
    FIELD_BOOL("echo", KF_REQUIRED | KF_DEFAULT),
    {"trigger", KF_STRING, 0, .check = kf_check_header_name},
    FIELD_END,
};
static const struct kf_record TERM_CONFIG = {TERM_CONFIG_FIELDS, NULL};

static bool present(json_object *config, const char *key)
{
    const char *v = kf_get_string(config, key);
    return v && *v;
}

/* request-termination/schema.lua:27-43: the config record's custom_validator */
static const char *term_validator(json_object *config)
{
    if (present(config, "message") &&
        (present(config, "content_type") || present(config, "body"))) {
        return "message cannot be used with content_type or body";
    }
    if (present(config, "content_type") && !present(config, "body")) {
        return "content_type requires a body";
    }
    json_object *echo = NULL;
    if (kf_has(config, "echo", &echo) && echo && json_object_get_boolean(echo) &&
        (present(config, "content_type") || present(config, "body"))) {
        return "echo cannot be used with content_type and body";
    }
    return NULL;
}

/* redirect (kong/plugins/redirect/schema.lua:10-36) */
static const struct kf_field REDIRECT_CONFIG_FIELDS[] = {
    FIELD_INT("status_code", KF_REQUIRED | KF_DEFAULT, 100, 599),
    {"location", KF_STRING, KF_REQUIRED, .check = kf_check_url},
    FIELD_BOOL("keep_incoming_path", KF_DEFAULT),
    FIELD_END,
};
static const struct kf_record REDIRECT_CONFIG = {REDIRECT_CONFIG_FIELDS, NULL};

struct plugin_def {
    const char *name;
    bool http_only;                          /* protocols = typedefs.protocols_http */
    bool no_consumer;                        /* consumer = typedefs.no_consumer */
    const struct kf_record *config;          /* the config record, field by field; or NULL */
    const char *(*validator)(json_object *); /* the config record's custom_validator, or NULL */
    const char *const *config_keys;          /* loose check: known config keys; NULL = none */
    const char *const *required;             /* loose check: required config keys */
    const char *const *one_of_keys;          /* loose check: one of these must be set */
};

static const char *const CORS_KEYS[] = {"origins",
                                        "headers",
                                        "exposed_headers",
                                        "methods",
                                        "max_age",
                                        "credentials",
                                        "private_network",
                                        "preflight_continue",
                                        "allow_origin_absent",
                                        NULL};
static const char *const KEYAUTH_KEYS[] = {"key_names",
                                           "hide_credentials",
                                           "anonymous",
                                           "key_in_header",
                                           "key_in_query",
                                           "key_in_body",
                                           "run_on_preflight",
                                           "realm",
                                           NULL};
static const char *const RL_KEYS[] = {"second",
                                      "minute",
                                      "hour",
                                      "day",
                                      "month",
                                      "year",
                                      "limit_by",
                                      "header_name",
                                      "path",
                                      "policy",
                                      "fault_tolerant",
                                      "redis",
                                      "hide_client_headers",
                                      "error_code",
                                      "error_message",
                                      "sync_rate",
                                      "redis_host",
                                      "redis_port",
                                      "redis_password",
                                      "redis_username",
                                      "redis_ssl",
                                      "redis_ssl_verify",
                                      "redis_server_name",
                                      "redis_timeout",
                                      "redis_database",
                                      NULL};
static const char *const RL_ONE_OF[] = {"second", "minute", "hour", "day", "month", "year", NULL};
static const char *const PC_KEYS[] = {"response_code",
                                      "request_method",
                                      "content_type",
                                      "cache_ttl",
                                      "strategy",
                                      "cache_control",
                                      "ignore_uri_case",
                                      "storage_ttl",
                                      "memory",
                                      "vary_query_params",
                                      "vary_headers",
                                      "response_headers",
                                      NULL};

/* kong/plugins/http-log/schema.lua:8-58 (3.9.1): its config keys; http_endpoint is required */
static const char *const HTTP_LOG_KEYS[] = {
    "http_endpoint", "method",      "content_type",         "timeout",
    "keepalive",     "retry_count", "queue_size",           "flush_timeout",
    "headers",       "queue",       "custom_fields_by_lua", NULL};
static const char *const HTTP_LOG_REQUIRED[] = {"http_endpoint", NULL};

/* protocols/consumer typedefs from each kong/plugins/<name>/schema.lua (3.9.1) */
static const struct plugin_def PLUGIN_DEFS[] = {
    {"request-transformer", false, false, &RT_CONFIG, NULL, NULL, NULL, NULL},
    {"response-transformer", true, false, &RESP_CONFIG, NULL, NULL, NULL, NULL},
    {"request-termination", true, false, &TERM_CONFIG, term_validator, NULL, NULL, NULL},
    {"redirect", true, false, &REDIRECT_CONFIG, NULL, NULL, NULL, NULL},
    {"cors", true, true, NULL, NULL, CORS_KEYS, NULL, NULL},
    {"key-auth", true, true, NULL, NULL, KEYAUTH_KEYS, NULL, NULL},
    {"rate-limiting", true, false, NULL, NULL, RL_KEYS, NULL, RL_ONE_OF},
    {"proxy-cache", false, false, NULL, NULL, PC_KEYS, NULL, NULL},
    {"basic-auth", true, true, NULL, NULL, NULL, NULL, NULL},
    {"jwt", true, true, NULL, NULL, NULL, NULL, NULL},
    {"http-log", false, false, NULL, NULL, HTTP_LOG_KEYS, HTTP_LOG_REQUIRED, NULL},
};

static const struct plugin_def *plugin_def(const char *name)
{
    for (size_t i = 0; i < sizeof(PLUGIN_DEFS) / sizeof(PLUGIN_DEFS[0]); i++) {
        if (strcmp(PLUGIN_DEFS[i].name, name) == 0) {
            return &PLUGIN_DEFS[i];
        }
    }
    return NULL;
}

static bool plugin_enabled(const struct kf_vctx *c, const char *name)
{
    for (size_t i = 0; c->plugins && c->plugins[i]; i++) {
        if (strcmp(c->plugins[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* kong/db/schema/entities/plugins.lua:16-29 (3.9.1): no consumer_group, no ordering in OSS */
#define PLUGIN_COMMON_FIELDS                                                                       \
    FIELD_ID, {"name", KF_STRING, KF_REQUIRED},                                                    \
        {"instance_name", KF_STRING, 0, .check = kf_check_utf8_name},                              \
        FIELD_TIMESTAMP("created_at"), FIELD_TIMESTAMP("updated_at"),                              \
        {"route", KF_FOREIGN, 0, .reference = "routes"},                                           \
        {"service", KF_FOREIGN, 0, .reference = "services"},                                       \
        FIELD_BOOL("enabled", KF_REQUIRED | KF_DEFAULT), FIELD_TAGS

static const struct kf_field PLUGIN_FIELDS[] = {
    PLUGIN_COMMON_FIELDS,
    {"consumer", KF_FOREIGN, 0, .reference = "consumers"},
    {"protocols", KF_SET, KF_REQUIRED | KF_DEFAULT, .elements = &F_PROTOCOL},
    FIELD_END,
};
static const struct kf_field PLUGIN_HTTP_FIELDS[] = {
    PLUGIN_COMMON_FIELDS,
    {"consumer", KF_FOREIGN, 0, .reference = "consumers"},
    {"protocols", KF_SET, KF_REQUIRED | KF_DEFAULT, .elements = &F_HTTP_PROTOCOL},
    FIELD_END,
};
static const struct kf_field PLUGIN_HTTP_NO_CONSUMER_FIELDS[] = {
    PLUGIN_COMMON_FIELDS,
    {"consumer", KF_FOREIGN, KF_EQ_NULL, .reference = "consumers"},
    {"protocols", KF_SET, KF_REQUIRED | KF_DEFAULT, .elements = &F_HTTP_PROTOCOL},
    FIELD_END,
};
static void plugin_check(struct kf_vctx *c, json_object *obj, struct kf_errt *errs);
static const struct kf_record PLUGIN_RECORD = {PLUGIN_FIELDS, plugin_check};
static const struct kf_record PLUGIN_HTTP_RECORD = {PLUGIN_HTTP_FIELDS, plugin_check};
static const struct kf_record PLUGIN_HTTP_NC_RECORD = {PLUGIN_HTTP_NO_CONSUMER_FIELDS,
                                                       plugin_check};

/* The loose check of the plugins not described field by field: unknown top-level keys. */
static void loose_config(struct kf_vctx *c, const struct plugin_def *def, json_object *config,
                         struct kf_errt *errs)
{
    struct kf_errt *ce = kf_errt_new();
    if (!ce) {
        c->oom = true;
        return;
    }
    if (config && def->config_keys && json_object_is_type(config, json_type_object)) {
        json_object_object_foreach(config, key, val)
        {
            (void)val;
            bool known = false;
            for (size_t i = 0; def->config_keys[i] && !known; i++) {
                known = strcmp(def->config_keys[i], key) == 0;
            }
            if (!known) {
                kf_put_err(c, ce, key, kf_msg(c, "unknown field"));
            }
        }
    }
    for (size_t i = 0; def->required && def->required[i]; i++) {
        json_object *v = NULL;
        if (!kf_has(config, def->required[i], &v) || !v) {
            kf_put_err(c, ce, def->required[i], kf_msg(c, "required field missing"));
        }
    }
    if (kf_errt_count(ce) > 0) {
        kf_put_err(c, errs, "config", (struct kf_errv){.tab = ce});
    } else {
        kf_errt_free(ce);
    }
    if (def->one_of_keys) {
        char list[256] = "";
        size_t n = 0;
        bool any = false;
        for (size_t i = 0; def->one_of_keys[i]; i++) {
            json_object *v = NULL;
            any |= kf_has(config, def->one_of_keys[i], &v) && kf_nonempty(v);
            n += (size_t)snprintf(list + n, sizeof(list) - n, "%s'config.%s'", i ? ", " : "",
                                  def->one_of_keys[i]);
        }
        char msg[512];
        snprintf(msg, sizeof(msg), "at least one of these fields must be non-empty: %s", list);
        if (!any && kf_errt_entity(errs, msg) != 0) {
            c->oom = true;
        }
    }
}

/* config is the plugin subschema's record: validated by plugin_config() through the entity's
 * extra-key hook, and here when absent (Kong fills in {} with the defaults). */
static void plugin_config(struct kf_vctx *c, json_object *plugin, json_object *config,
                          struct kf_errt *errs)
{
    const char *name = kf_get_string(plugin, "name");
    if (!name || !plugin_enabled(c, name)) {
        return; /* no subschema: the name error says it all */
    }
    if (config && !json_object_is_type(config, json_type_object) &&
        !(json_object_is_type(config, json_type_array) && json_object_array_length(config) == 0)) {
        kf_put_err(c, errs, "config", kf_msg(c, "expected a record"));
        return;
    }
    const struct plugin_def *def = plugin_def(name);
    if (!def) {
        return;
    }
    if (!def->config) {
        loose_config(c, def, config, errs);
        return;
    }
    json_object *empty = NULL;
    if (!config || !json_object_is_type(config, json_type_object)) {
        config = empty = json_object_new_object();
        if (!empty) {
            c->oom = true;
            return;
        }
    }
    struct kf_errt *ce = kf_errt_new();
    if (!ce) {
        c->oom = true;
        json_object_put(empty);
        return;
    }
    kf_validate_record(c, def->config, config, NULL, NULL, ce);
    if (kf_errt_count(ce) > 0) {
        kf_put_err(c, errs, "config", (struct kf_errv){.tab = ce});
    } else {
        kf_errt_free(ce);
        /* a record's custom_validator runs once its fields are valid
         * (kong/db/schema/init.lua:1014-1027) and its error is the field's */
        const char *msg = def->validator ? def->validator(config) : NULL;
        if (msg) {
            kf_put_err(c, errs, "config", kf_msg(c, msg));
        }
    }
    json_object_put(empty);
}

static void plugin_check(struct kf_vctx *c, json_object *obj, struct kf_errt *errs)
{
    json_object *config = NULL;
    if (!kf_has(obj, "config", &config)) {
        plugin_config(c, obj, NULL, errs);
    }
}

/* ---- the entity table --------------------------------------------------------------------------
 */

static const char *const SERVICE_CHILDREN[] = {"routes", "plugins", NULL};
static const char *const ROUTE_CHILDREN[] = {"plugins", NULL};
static const char *const CONSUMER_CHILDREN[] = {"plugins", NULL};
static const char *const UPSTREAM_CHILDREN[] = {"targets", NULL};
static const char *const CERTIFICATE_CHILDREN[] = {"snis", NULL};
/* kong/db/schema/entities/plugins.lua:8 (3.9.1) */
static const char *const PLUGIN_CACHE_KEY[] = {"name", "route", "service", "consumer", NULL};
static const char *const TARGET_CACHE_KEY[] = {"upstream", "target", NULL};

/* In Kong's topological order: parents before children. */
static const struct kf_entity ENTITIES[] = {
    {"consumers", "consumer", "username", NULL, CONSUMER_CHILDREN, &CONSUMER_RECORD},
    {"certificates", "certificate", NULL, NULL, CERTIFICATE_CHILDREN, &CERTIFICATE_RECORD},
    {"ca_certificates", "ca_certificate", NULL, NULL, NULL, &CA_CERTIFICATE_RECORD},
    {"services", "service", "name", NULL, SERVICE_CHILDREN, &SERVICE_RECORD},
    {"routes", "route", "name", NULL, ROUTE_CHILDREN, NULL},
    {"snis", "sni", "name", NULL, NULL, &SNI_RECORD},
    {"upstreams", "upstream", "name", NULL, UPSTREAM_CHILDREN, &UPSTREAM_RECORD},
    {"targets", "target", NULL, TARGET_CACHE_KEY, NULL, &TARGET_RECORD},
    {"plugins", "plugin", "instance_name", PLUGIN_CACHE_KEY, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

const struct kf_entity *kf_entities(void)
{
    return ENTITIES;
}

const struct kf_entity *kf_entity(const char *plural)
{
    for (const struct kf_entity *e = ENTITIES; e->plural; e++) {
        if (strcmp(e->plural, plural) == 0) {
            return e;
        }
    }
    return NULL;
}

const struct kf_rel *kf_relations(void)
{
    static const struct kf_rel RELS[] = {
        {"routes", "service", "services"},
        {"plugins", "route", "routes"},
        {"plugins", "service", "services"},
        {"plugins", "consumer", "consumers"},
        {"targets", "upstream", "upstreams"},
        {"snis", "certificate", "certificates"},
        {"services", "client_certificate", "certificates"},
        {"upstreams", "client_certificate", "certificates"},
        {NULL, NULL, NULL},
    };
    return RELS;
}

bool kf_is_child(const char *parent, const char *child)
{
    const struct kf_entity *p = kf_entity(parent);
    for (size_t i = 0; p && p->children && p->children[i]; i++) {
        if (strcmp(p->children[i], child) == 0) {
            return true;
        }
    }
    return false;
}

const char *kf_child_key(const char *parent, const char *child)
{
    for (const struct kf_rel *r = kf_relations(); r->entity; r++) {
        if (strcmp(r->entity, child) == 0 && strcmp(r->reference, parent) == 0) {
            return r->field;
        }
    }
    return NULL;
}

const struct kf_record *kf_entity_record(struct kf_vctx *c, const struct kf_entity *e,
                                         json_object *obj)
{
    if (e->record) {
        return e->record;
    }
    if (strcmp(e->plural, "plugins") == 0) {
        const char *name = kf_get_string(obj, "name");
        const struct plugin_def *def = name ? plugin_def(name) : NULL;
        if (def && def->http_only) {
            return def->no_consumer ? &PLUGIN_HTTP_NC_RECORD : &PLUGIN_HTTP_RECORD;
        }
        return &PLUGIN_RECORD;
    }
    /* routes: the first protocol naming a subschema selects it, then the flavour */
    const char *sub = kf_route_subschema(obj);
    sub = sub ? sub : "http";
    if (strcmp(sub, "tcp") == 0) {
        return c->flavor == 2 ? &ROUTE_X_STREAM_RECORD : &ROUTE_STREAM_RECORD;
    }
    if (strcmp(sub, "grpc") == 0) {
        return c->flavor == 2 ? &ROUTE_X_GRPC_RECORD : &ROUTE_GRPC_RECORD;
    }
    return c->flavor == 2 ? &ROUTE_X_HTTP_RECORD : &ROUTE_HTTP_RECORD;
}

/* routes_subschemas.lua:103-112 (3.9.1): the subschema each protocol names */
static const char *protocol_subschema(const char *p)
{
    static const char *const map[][2] = {
        {"http", "http"}, {"https", "http"},          {"tcp", "tcp"},   {"tls", "tcp"},
        {"udp", "tcp"},   {"tls_passthrough", "tcp"}, {"grpc", "grpc"}, {"grpcs", "grpc"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(map[i][0], p) == 0) {
            return map[i][1];
        }
    }
    return NULL;
}

const char *kf_route_subschema(json_object *route)
{
    json_object *p = NULL;
    if (!kf_has(route, "protocols", &p)) {
        return "http"; /* the default { "http", "https" } */
    }
    if (kf_is_string(p)) {
        return protocol_subschema(json_object_get_string(p));
    }
    size_t n = p && json_object_is_type(p, json_type_array) ? json_object_array_length(p) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(p, i);
        const char *sub = kf_is_string(v) ? protocol_subschema(json_object_get_string(v)) : NULL;
        if (sub) {
            return sub;
        }
    }
    return NULL;
}

void kf_plugin_config(struct kf_vctx *c, json_object *plugin, json_object *config,
                      struct kf_errt *errs)
{
    plugin_config(c, plugin, config, errs);
}

bool kf_subschema_error(struct kf_vctx *c, const char *plural, json_object *obj, const char **field,
                        char *msg, size_t msz)
{
    json_object *v = NULL;
    if (strcmp(plural, "plugins") == 0) {
        /* plugins.lua:13-14: subschema_key "name" and its subschema_error */
        *field = "name";
        if (!kf_has(obj, "name", &v) || !v) {
            snprintf(msg, msz, "required field missing");
            return true;
        }
        if (kf_is_string(v) && !plugin_enabled(c, json_object_get_string(v))) {
            snprintf(msg, msz,
                     "plugin '%s' not enabled; add it to the 'plugins' configuration property",
                     json_object_get_string(v));
            return true;
        }
        return false;
    }
    if (strcmp(plural, "routes") == 0) {
        *field = "protocols";
        if (kf_has(obj, "protocols", &v) && !v) {
            snprintf(msg, msz, "required field missing");
            return true;
        }
        if (!v || kf_route_subschema(obj)) {
            return false;
        }
        /* SUBSCHEMA_UNKNOWN with the key (a string) or its first element. Not modelled: an
         * empty or non-string protocols value (Kong formats nil / indexes a non-table). */
        json_object *first =
            kf_is_string(v) ? v
            : json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0
                ? json_object_array_get_idx(v, 0)
                : NULL;
        if (kf_is_string(first)) {
            snprintf(msg, msz, "unknown type: %s", json_object_get_string(first));
            return true;
        }
        return false;
    }
    return false;
}

/* entities — Kong 3.9's core entity schemas as the declarative config sees them (services,
 * routes, upstreams, targets, plugins, certificates, snis, ca_certificates, consumers): fields,
 * defaults, subschemas and entity checks, with Kong's messages. */
#include "entities.h"

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
static const struct kf_field F_SNI = {"sni", KF_STRING, 0, .check = kf_check_sni};

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

/* expressions flavour */
static const struct kf_field ROUTE_EXPRESSION_FIELDS[] = {
    ROUTE_COMMON_FIELDS,
    FIELD_BOOL("strip_path", KF_REQUIRED | KF_DEFAULT),
    {"expression", KF_STRING, KF_REQUIRED},
    {"priority", KF_INTEGER, KF_REQUIRED | KF_DEFAULT},
    FIELD_END,
};

static const struct kf_record ROUTE_HTTP_RECORD = {ROUTE_HTTP_FIELDS, route_check};
static const struct kf_record ROUTE_STREAM_RECORD = {ROUTE_STREAM_FIELDS, route_check};
static const struct kf_record ROUTE_GRPC_RECORD = {ROUTE_GRPC_FIELDS, route_check};
static const struct kf_record ROUTE_EXPRESSION_RECORD = {ROUTE_EXPRESSION_FIELDS, route_check};

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

/* ATC (traditional_compatible/expressions) dry-run of header regexes, as far as we emulate it */
static void route_header_regexes(struct kf_vctx *c, json_object *obj, struct kf_errt *errs)
{
    json_object *h = NULL;
    if (c->flavor == 0 || !kf_has(obj, "headers", &h) || !h ||
        !json_object_is_type(h, json_type_object)) {
        return;
    }
    json_object_object_foreach(h, name, values)
    {
        (void)name;
        size_t n =
            json_object_is_type(values, json_type_array) ? json_object_array_length(values) : 0;
        for (size_t i = 0; i < n; i++) {
            const char *v = json_object_get_string(json_object_array_get_idx(values, i));
            char pcre[1024];
            if (v && strncmp(v, "~*", 2) == 0 && !kf_regex_compiles(v + 2, pcre, sizeof(pcre))) {
                char msg[1200];
                snprintf(msg, sizeof(msg),
                         "Router Expression failed validation: regex parse "
                         "error: %s",
                         pcre);
                if (kf_errt_entity(errs, msg) != 0) {
                    c->oom = true;
                }
                return;
            }
        }
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

    /* snis only with TLS-terminating protocols */
    static const char *const tls_protos[] = {"grpcs", "https", "tls", "tls_passthrough", NULL};
    json_object *snis = NULL;
    if (protocols && c->flavor != 2 && kf_has(obj, "snis", &snis) && kf_nonempty(snis)) {
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

    if (protocols && c->flavor != 2) {
        static const char *const http5[] = {"methods", "hosts", "headers", "paths", "snis", NULL};
        static const char *const http4[] = {"methods", "hosts", "headers", "paths", NULL};
        static const char *const grpc4[] = {"hosts", "headers", "paths", "snis", NULL};
        static const char *const grpc3[] = {"hosts", "headers", "paths", NULL};
        static const char *const stream3[] = {"sources", "destinations", "snis", NULL};
        static const char *const stream_protos[] = {"tcp", "tls", "udp", NULL};
        static const char *const passthrough[] = {"tls_passthrough", NULL};
        static const char *const snis_only[] = {"snis", NULL};
        json_object *first = json_object_array_get_idx(protocols, 0);
        const char *sub = kf_is_string(first) ? json_object_get_string(first) : "";
        if (strcmp(sub, "http") == 0 || strcmp(sub, "https") == 0) {
            if (contains(protocols, "https")) {
                at_least_one(c, obj, errs, http5, "must set one of %s when 'protocols' is 'https'");
            } else if (contains(protocols, "http")) {
                at_least_one(c, obj, errs, http4, "must set one of %s when 'protocols' is 'http'");
            }
        } else if (strcmp(sub, "grpc") == 0 || strcmp(sub, "grpcs") == 0) {
            if (contains(protocols, "grpcs")) {
                at_least_one(c, obj, errs, grpc4, "must set one of %s when 'protocols' is 'grpcs'");
            } else if (contains(protocols, "grpc")) {
                at_least_one(c, obj, errs, grpc3, "must set one of %s when 'protocols' is 'grpc'");
            }
        } else if (strcmp(sub, "tcp") == 0 || strcmp(sub, "tls") == 0 || strcmp(sub, "udp") == 0 ||
                   strcmp(sub, "tls_passthrough") == 0) {
            if (all_in(protocols, stream_protos)) {
                at_least_one(c, obj, errs, stream3,
                             "must set one of %s when 'protocols' is 'tcp', 'tls' or 'udp'");
            }
            if (all_in(protocols, passthrough)) {
                json_object *s = NULL;
                if (!(kf_has(obj, "snis", &s) && kf_nonempty(s))) {
                    (void)snis_only;
                    if (kf_errt_entity(
                            errs, "must set snis when 'protocols' is 'tls_passthrough'") != 0) {
                        c->oom = true;
                    }
                }
            }
        }
    }

    /* subschema: the first protocol selects it; an unknown one is an error on protocols */
    json_object *pv = NULL;
    if (kf_has(obj, "protocols", &pv) && pv) {
        const char *key = "";
        if (json_object_is_type(pv, json_type_array)) {
            json_object *first = json_object_array_get_idx(pv, 0);
            key = kf_is_string(first) ? json_object_get_string(first) : "";
        } else if (kf_is_string(pv)) {
            key = json_object_get_string(pv);
        }
        bool known = false;
        for (size_t i = 0; PROTOCOLS[i] && !known; i++) {
            known = strcmp(key, PROTOCOLS[i]) == 0;
        }
        if (!known && kf_errt_set(errs, "protocols", 0, "unknown type: %s", key) != 0) {
            c->oom = true;
        }
    }

    /* the ATC dry-run only runs on an otherwise valid route */
    if (kf_errt_count(errs) == 0) {
        route_header_regexes(c, obj, errs);
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
    {"hash_on_cookie", KF_STRING, 0, .check = kf_check_header_name},
    {"hash_on_cookie_path", KF_STRING, KF_DEFAULT, .check = kf_check_path},
    {"hash_on_query_arg", KF_STRING, 0},
    {"hash_fallback_query_arg", KF_STRING, 0},
    {"hash_on_uri_capture", KF_STRING, 0},
    {"hash_fallback_uri_capture", KF_STRING, 0},
    FIELD_INT("slots", KF_DEFAULT, 10, 65536),
    {"healthchecks", KF_RECORD, KF_DEFAULT, .record = &HEALTHCHECKS},
    FIELD_TAGS,
    {"host_header", KF_STRING, 0, .check = kf_check_host},
    {"client_certificate", KF_FOREIGN, 0, .reference = "certificates"},
    FIELD_BOOL("use_srv_name", KF_DEFAULT),
    FIELD_END,
};
static const struct kf_record UPSTREAM_RECORD = {UPSTREAM_FIELDS, upstream_check};

static void upstream_check(struct kf_vctx *c, json_object *obj, struct kf_errt *errs)
{
    const char *hash_on = kf_get_string(obj, "hash_on");
    const char *fallback = kf_get_string(obj, "hash_fallback");
    hash_on = hash_on ? hash_on : (kf_has(obj, "hash_on", NULL) ? NULL : "none");
    fallback = fallback ? fallback : (kf_has(obj, "hash_fallback", NULL) ? NULL : "none");
    struct {
        const char *if_field, *if_value, *value, *then_field;
    } const required[] = {
        {"hash_on", "header", hash_on, "hash_on_header"},
        {"hash_fallback", "header", fallback, "hash_fallback_header"},
        {"hash_on", "cookie", hash_on, "hash_on_cookie"},
        {"hash_fallback", "cookie", fallback, "hash_on_cookie"},
        {"hash_on", "query_arg", hash_on, "hash_on_query_arg"},
        {"hash_fallback", "query_arg", fallback, "hash_fallback_query_arg"},
        {"hash_on", "uri_capture", hash_on, "hash_on_uri_capture"},
        {"hash_fallback", "uri_capture", fallback, "hash_fallback_uri_capture"},
    };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        json_object *v = NULL;
        if (required[i].value && strcmp(required[i].value, required[i].if_value) == 0 &&
            !(kf_has(obj, required[i].then_field, &v) && v)) {
            char msg[128];
            snprintf(msg, sizeof(msg), "failed conditional validation given value of field '%s'",
                     required[i].if_field);
            if (kf_errt_set(errs, required[i].then_field, 0, "required field missing") != 0 ||
                kf_errt_entity(errs, msg) != 0) {
                c->oom = true;
            }
        }
    }
    if (hash_on && fallback && strcmp(hash_on, "none") == 0 && strcmp(fallback, "none") != 0) {
        if (kf_errt_set(errs, "hash_fallback", 0, "expected one of: none") != 0 ||
            kf_errt_entity(errs, "failed conditional validation given value of field 'hash_on'") !=
                0) {
            c->oom = true;
        }
    }
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

static const char *const DEFAULT_PLUGINS[] = {"acl",
                                              "acme",
                                              "ai-proxy",
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

struct plugin_def {
    const char *name;
    bool http_only;                 /* protocols limited to grpc, grpcs, http, https */
    bool no_consumer;               /* consumer must be null */
    const char *const *config_keys; /* known config keys; NULL = not checked */
    const char *const *required;    /* required config keys */
    const char *const *one_of_keys; /* at least one of these config keys must be set */
};

static const char *const RT_KEYS[] = {"http_method", "remove", "rename", "replace",
                                      "add",         "append", NULL};
static const char *const RESP_T_KEYS[] = {"remove", "rename", "replace", "add", "append", NULL};
static const char *const TERM_KEYS[] = {"status_code", "message", "content_type", "body", "echo",
                                        "trigger",     NULL};
static const char *const REDIRECT_KEYS[] = {"status_code", "location", "keep_incoming_path", NULL};
static const char *const REDIRECT_REQUIRED[] = {"location", NULL};
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

static const struct plugin_def PLUGIN_DEFS[] = {
    {"request-transformer", true, false, RT_KEYS, NULL, NULL},
    {"response-transformer", true, false, RESP_T_KEYS, NULL, NULL},
    {"request-termination", true, false, TERM_KEYS, NULL, NULL},
    {"redirect", true, false, REDIRECT_KEYS, REDIRECT_REQUIRED, NULL},
    {"cors", true, true, CORS_KEYS, NULL, NULL},
    {"key-auth", true, true, KEYAUTH_KEYS, NULL, NULL},
    {"rate-limiting", true, false, RL_KEYS, NULL, RL_ONE_OF},
    {"proxy-cache", true, false, PC_KEYS, NULL, NULL},
    {"basic-auth", true, true, NULL, NULL, NULL},
    {"jwt", true, true, NULL, NULL, NULL},
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

#define PLUGIN_COMMON_FIELDS                                                                       \
    FIELD_ID, {"name", KF_STRING, KF_REQUIRED},                                                    \
        {"instance_name", KF_STRING, 0, .check = kf_check_utf8_name},                              \
        FIELD_TIMESTAMP("created_at"), FIELD_TIMESTAMP("updated_at"),                              \
        {"route", KF_FOREIGN, 0, .reference = "routes"},                                           \
        {"service", KF_FOREIGN, 0, .reference = "services"},                                       \
        {"consumer_group", KF_FOREIGN, 0, .reference = "consumer_groups"},                         \
        FIELD_BOOL("enabled", KF_DEFAULT), FIELD_TAGS,                                             \
    {                                                                                              \
        "ordering", KF_ANY, 0                                                                      \
    }

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
        } else if (strcmp(def->required[i], "location") == 0) {
            const struct kf_field url = {"location", KF_STRING, 0, .check = kf_check_url};
            kf_put_err(c, ce, "location", kf_validate_value(c, &url, v));
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

static void plugin_check(struct kf_vctx *c, json_object *obj, struct kf_errt *errs)
{
    json_object *config = NULL;
    if (!kf_has(obj, "config", &config)) {
        plugin_config(c, obj, NULL, errs);
    }
    json_object *name = NULL;
    if (kf_has(obj, "name", &name) && name) {
        const char *n = kf_is_string(name) ? json_object_get_string(name) : "";
        if (!plugin_enabled(c, n) &&
            kf_errt_set(errs, "name", 0,
                        "plugin '%s' not enabled; add it to the 'plugins' configuration property",
                        n) != 0) {
            c->oom = true;
        }
    }
}

/* ---- the entity table --------------------------------------------------------------------------
 */

static const char *const SERVICE_CHILDREN[] = {"routes", "plugins", NULL};
static const char *const ROUTE_CHILDREN[] = {"plugins", NULL};
static const char *const CONSUMER_CHILDREN[] = {"plugins", NULL};
static const char *const UPSTREAM_CHILDREN[] = {"targets", NULL};
static const char *const CERTIFICATE_CHILDREN[] = {"snis", NULL};
static const char *const PLUGIN_CACHE_KEY[] = {"name",     "route",          "service",
                                               "consumer", "consumer_group", NULL};
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
    {"plugins", "plugin", NULL, PLUGIN_CACHE_KEY, NULL, NULL},
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
    /* routes: the flavour, then the first protocol selects the subschema */
    if (c->flavor == 2) {
        return &ROUTE_EXPRESSION_RECORD;
    }
    json_object *p = NULL;
    const char *first = "http";
    if (kf_has(obj, "protocols", &p) && p && json_object_is_type(p, json_type_array) &&
        json_object_array_length(p) > 0) {
        json_object *f = json_object_array_get_idx(p, 0);
        first = kf_is_string(f) ? json_object_get_string(f) : "";
    }
    if (strcmp(first, "tcp") == 0 || strcmp(first, "tls") == 0 || strcmp(first, "udp") == 0 ||
        strcmp(first, "tls_passthrough") == 0) {
        return &ROUTE_STREAM_RECORD;
    }
    if (strcmp(first, "grpc") == 0 || strcmp(first, "grpcs") == 0) {
        return &ROUTE_GRPC_RECORD;
    }
    return &ROUTE_HTTP_RECORD;
}

void kf_plugin_config(struct kf_vctx *c, json_object *plugin, json_object *config,
                      struct kf_errt *errs)
{
    plugin_config(c, plugin, config, errs);
}

/* The one-block arena, interned strings and the typed json-c getters used by the parsers. */
#include "api_internal.h"

#include "kgc/strmap.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN         8
#define CHUNK_MIN     (16 * 1024)
#define INTERN_MAXLEN 48

/* --- arena ------------------------------------------------------------------------------------ */

void api_arena_init_measure(struct api_arena *a)
{
    memset(a, 0, sizeof(*a));
    a->measuring = true;
}

void api_arena_init_fill(struct api_arena *a, char *block, size_t size)
{
    memset(a, 0, sizeof(*a));
    a->base = block;
    a->cap = size;
}

void api_arena_release(struct api_arena *a)
{
    while (a->chunks) {
        struct api_chunk *next = a->chunks->next;
        free(a->chunks);
        a->chunks = next;
    }
}

_Noreturn static void fail(struct api_arena *a)
{
    a->oom = true;
    longjmp(*a->oom_jmp, 1);
}

/* n zeroed bytes at the next multiple of align (a power of two) in the block. */
static void *alloc_at(struct api_arena *a, size_t n, size_t align)
{
    size_t off = (a->used + align - 1) & ~(size_t)(align - 1);
    if (n > SIZE_MAX / 2 || off > SIZE_MAX - n)
        fail(a);
    if (!a->measuring) {
        if (off + n > a->cap) {
            /* Cannot happen while the passes agree; a failure, never an overrun. */
            fail(a);
        }
        a->used = off + n;
        void *p = a->base + off;
        memset(p, 0, n);
        return p;
    }
    a->used = off + n;
    struct api_chunk *ch = a->chunks;
    size_t coff = ch ? (ch->used + align - 1) & ~(size_t)(align - 1) : 0;
    if (!ch || coff + n > ch->cap) {
        size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
        ch = malloc(sizeof(*ch) + cap);
        if (!ch)
            fail(a);
        ch->cap = cap;
        ch->used = 0;
        ch->next = a->chunks;
        a->chunks = ch;
        coff = 0;
    }
    ch->used = coff + n;
    void *p = ch->data + coff;
    memset(p, 0, n);
    return p;
}

void *api_alloc(struct api_arena *a, size_t n)
{
    return alloc_at(a, n, ALIGN);
}

char *api_alloc_chars(struct api_arena *a, size_t n)
{
    return alloc_at(a, n, 1);
}

/* --- interned strings ------------------------------------------------------------------------- */

/* Values that recur in almost every object: stored once, pointed at by every object. */
static const char *const interned[] = {
    "",
    "gateway.networking.k8s.io",
    "Gateway",
    "GatewayClass",
    "HTTPRoute",
    "GRPCRoute",
    "TLSRoute",
    "TCPRoute",
    "UDPRoute",
    "ReferenceGrant",
    "Service",
    "Secret",
    "Namespace",
    "PathPrefix",
    "Exact",
    "RegularExpression",
    "True",
    "False",
    "Unknown",
    "Accepted",
    "ResolvedRefs",
    "Programmed",
    "Conflicted",
    "Ready",
    "Pending",
    "Invalid",
    "NotAllowedByListeners",
    "NoMatchingListenerHostname",
    "NoMatchingParent",
    "BackendNotFound",
    "InvalidKind",
    "RefNotPermitted",
    "ListenersNotValid",
    "InvalidParameters",
    "UnsupportedProtocol",
    "PortUnavailable",
    "InvalidCertificateRef",
    "InvalidRouteKinds",
    "HostnameConflict",
    "ProtocolConflict",
    "UnsupportedValue",
    "Waiting for controller",
    "all backend references are resolved", /* kgc's ResolvedRefs message (status/httproute.c) */
    "konghq.com/kgc-gateway-controller",
    "HTTP",
    "HTTPS",
    "TLS",
    "TCP",
    "UDP",
    "SCTP",
    "Terminate",
    "Passthrough",
    "All",
    "Same",
    "Selector",
    "None",
    "In",
    "NotIn",
    "Exists",
    "DoesNotExist",
    "RequestHeaderModifier",
    "ResponseHeaderModifier",
    "RequestRedirect",
    "URLRewrite",
    "ExtensionRef",
    "RequestMirror",
    "CORS",
    "ReplaceFullPath",
    "ReplacePrefixMatch",
    "http",
    "https",
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "PATCH",
    "/",
    "ClusterIP",
    "NodePort",
    "LoadBalancer",
    "ExternalName",
    "IPv4",
    "IPv6",
    "FQDN",
    "IPAddress",
    "Hostname",
    "kubernetes.io/tls",
    "Opaque",
    "Active",
    "Terminating",
    "kubernetes.io/service-name",
    "kubernetes.io/metadata.name",
    "endpointslice.kubernetes.io/managed-by",
    "endpointslice-controller.k8s.io",
};

static struct kgc_strmap intern_map;
static pthread_once_t intern_once = PTHREAD_ONCE_INIT;
static bool intern_ready;

static void intern_init(void)
{
    kgc_strmap_init(&intern_map);
    for (size_t i = 0; i < sizeof(interned) / sizeof(interned[0]); i++) {
        if (kgc_strmap_put(&intern_map, interned[i], (void *)interned[i], NULL) != 0)
            return; /* out of memory at start: interning is an optimisation, run without */
    }
    intern_ready = true;
}

const char *api_intern_lookup(const char *s, size_t len)
{
    if (len > INTERN_MAXLEN)
        return NULL;
    pthread_once(&intern_once, intern_init);
    if (!intern_ready)
        return NULL;
    if (memchr(s, '\0', len))
        return NULL;
    return kgc_strmap_get_hashed(&intern_map, s, len, kgc_strmap_hash(s, len));
}

static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static struct kgc_strmap shared_map; /* guarded by shared_mu; keys are the copies */

const char *api_intern_shared(const char *s, size_t len)
{
    if (!s || len > 63 || memchr(s, '\0', len))
        return NULL;
    const char *in = api_intern_lookup(s, len);
    if (in)
        return in;
    uint64_t h = kgc_strmap_hash(s, len);
    pthread_mutex_lock(&shared_mu);
    const char *p = kgc_strmap_get_hashed(&shared_map, s, len, h);
    if (!p && kgc_strmap_len(&shared_map) < API_SHARED_MAX) {
        char *copy = malloc(len + 1);
        if (copy) {
            memcpy(copy, s, len);
            copy[len] = '\0';
            if (kgc_strmap_put_hashed(&shared_map, copy, h, copy, NULL) == 0)
                p = copy;
            else
                free(copy);
        }
    }
    pthread_mutex_unlock(&shared_mu);
    return p;
}

void api_remember(struct api_arena *a, const char *p, size_t len)
{
    if (a->n_strs < sizeof(a->strs) / sizeof(a->strs[0]) && len <= UINT32_MAX &&
        !memchr(p, 0, len)) {
        a->strs[a->n_strs] = p;
        a->str_lens[a->n_strs++] = (uint32_t)len;
    }
}

const char *api_strndup(struct api_arena *a, const char *s, size_t len)
{
    if (!s)
        return NULL;
    const char *in = api_intern_lookup(s, len);
    if (in)
        return in;
    for (unsigned i = 0; i < a->n_strs; i++) {
        if (a->str_lens[i] == len && memcmp(a->strs[i], s, len) == 0)
            return a->strs[i];
    }
    char *p = api_alloc_chars(a, len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    api_remember(a, p, len);
    return p;
}

const char *api_strdup(struct api_arena *a, const char *s)
{
    return s ? api_strndup(a, s, strlen(s)) : NULL;
}

/* --- problems and paths ----------------------------------------------------------------------- */

size_t api_path_push(struct api_pctx *c, const char *fmt, ...)
{
    size_t saved = c->plen;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->path + c->plen, sizeof(c->path) - c->plen, fmt, ap);
    va_end(ap);
    if (n > 0)
        c->plen +=
            (size_t)n < sizeof(c->path) - c->plen ? (size_t)n : sizeof(c->path) - c->plen - 1;
    return saved;
}

void api_path_pop(struct api_pctx *c, size_t saved)
{
    c->plen = saved;
    c->path[saved] = '\0';
}

void api_problem(struct api_pctx *c, const char *field, const char *fmt, ...)
{
    if (c->n_problems >= KGC_API_MAX_PROBLEMS)
        return;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char line[512];
    int n = snprintf(line, sizeof(line), "%.*s%s%s: %s", (int)c->plen, c->path,
                     c->plen && field && field[0] ? "." : "", field ? field : "", msg);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    c->problems[c->n_problems++] = api_strndup(c->a, line, len);
}

/* --- typed getters ---------------------------------------------------------------------------- */

static json_object *field_of(json_object *parent, const char *field)
{
    json_object *v = NULL;
    if (!parent || !json_object_is_type(parent, json_type_object))
        return NULL;
    if (!json_object_object_get_ex(parent, field, &v))
        return NULL;
    return v; /* NULL for a JSON null */
}

json_object *api_get_obj(struct api_pctx *c, json_object *parent, const char *field)
{
    json_object *v = field_of(parent, field);
    if (!v)
        return NULL;
    if (!json_object_is_type(v, json_type_object)) {
        api_problem(c, field, "must be an object");
        return NULL;
    }
    return v;
}

json_object *api_get_arr(struct api_pctx *c, json_object *parent, const char *field)
{
    json_object *v = field_of(parent, field);
    if (!v)
        return NULL;
    if (!json_object_is_type(v, json_type_array)) {
        api_problem(c, field, "must be a list");
        return NULL;
    }
    return v;
}

const char *api_get_str(struct api_pctx *c, json_object *parent, const char *field)
{
    json_object *v = field_of(parent, field);
    if (!v)
        return NULL;
    if (!json_object_is_type(v, json_type_string)) {
        api_problem(c, field, "must be a string");
        return NULL;
    }
    return api_strndup(c->a, json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

int64_t api_get_int(struct api_pctx *c, json_object *parent, const char *field, int64_t min,
                    int64_t max, int64_t dflt)
{
    json_object *v = field_of(parent, field);
    if (!v)
        return dflt;
    int64_t x;
    if (json_object_is_type(v, json_type_int)) {
        x = json_object_get_int64(v);
    } else if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (!(d >= -9e15 && d <= 9e15) || d != (double)(int64_t)d) {
            api_problem(c, field, "must be an integer");
            return dflt;
        }
        x = (int64_t)d;
    } else {
        api_problem(c, field, "must be an integer");
        return dflt;
    }
    if (x < min || x > max) {
        api_problem(c, field, "must be between %lld and %lld, not %lld", (long long)min,
                    (long long)max, (long long)x);
        return dflt;
    }
    return x;
}

int8_t api_get_bool(struct api_pctx *c, json_object *parent, const char *field)
{
    json_object *v = field_of(parent, field);
    if (!v)
        return KGC_API_UNSET;
    if (!json_object_is_type(v, json_type_boolean)) {
        api_problem(c, field, "must be a boolean");
        return KGC_API_UNSET;
    }
    return json_object_get_boolean(v) ? 1 : 0;
}

const char *const *api_get_str_array(struct api_pctx *c, json_object *parent, const char *field,
                                     uint32_t *n)
{
    *n = 0;
    json_object *arr = api_get_arr(c, parent, field);
    if (!arr)
        return NULL;
    size_t len = json_object_array_length(arr);
    if (len == 0 || len > UINT32_MAX)
        return NULL;
    const char **out = api_alloc(c->a, len * sizeof(*out));
    for (size_t i = 0; i < len; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (!v || !json_object_is_type(v, json_type_string)) {
            api_problem(c, field, "item %zu must be a string", i);
            continue;
        }
        out[(*n)++] =
            api_strndup(c->a, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    }
    return out;
}

const struct kgc_api_kv *api_get_kv_map(struct api_pctx *c, json_object *parent, const char *field,
                                        uint32_t *n, const char *skip_key)
{
    *n = 0;
    json_object *m = api_get_obj(c, parent, field);
    if (!m)
        return NULL;
    size_t len = (size_t)json_object_object_length(m);
    if (len == 0)
        return NULL;
    struct kgc_api_kv *out = api_alloc(c->a, len * sizeof(*out));
    json_object_object_foreach(m, k, v)
    {
        if (skip_key && strcmp(k, skip_key) == 0)
            continue;
        if (!v || !json_object_is_type(v, json_type_string)) {
            api_problem(c, field, "value of %.64s must be a string", k);
            continue;
        }
        out[*n].key = api_strdup(c->a, k);
        out[*n].value =
            api_strndup(c->a, json_object_get_string(v), (size_t)json_object_get_string_len(v));
        (*n)++;
    }
    return out;
}

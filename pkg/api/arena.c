/* The one-block arena, interned strings and the typed getters over a tape used by the parsers. */
#include "api_internal.h"

#include "kgc/strmap.h"

#include <errno.h>
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

/* --- tape reads ------------------------------------------------------------------------------ */

/* An api_jv is a node index plus one, so that 0 means absent even for the document's node. */
static const struct kgc_jsonscan_node *node_of(const struct api_pctx *c, api_jv v)
{
    return v && v <= c->t->n ? &c->t->nodes[v - 1] : NULL;
}

api_jv api_field(const struct api_pctx *c, api_jv parent, const char *field)
{
    uint32_t k = parent ? kgc_jsonscan_tape_get(c->t, parent - 1, field) : 0;
    return k ? k + 1 : 0;
}

unsigned api_type(const struct api_pctx *c, api_jv v)
{
    const struct kgc_jsonscan_node *nd = node_of(c, v);
    return nd ? nd->type : KGC_JSONSCAN_NULL;
}

const char *api_str(const struct api_pctx *c, api_jv v, size_t *len)
{
    if (!v) {
        *len = 0;
        return NULL;
    }
    return kgc_jsonscan_tape_str(c->t, v - 1, len);
}

uint32_t api_count(const struct api_pctx *c, api_jv v)
{
    unsigned ty = api_type(c, v);
    return ty == KGC_JSONSCAN_ARRAY || ty == KGC_JSONSCAN_OBJECT ? node_of(c, v)->len : 0;
}

api_jv api_first(const struct api_pctx *c, api_jv v)
{
    return api_count(c, v) ? v + 1 : 0;
}

api_jv api_next(const struct api_pctx *c, api_jv v)
{
    return v ? node_of(c, v)->next + 1 : 0;
}

const char *api_text(const struct api_pctx *c, api_jv v, size_t *len)
{
    const struct kgc_jsonscan_node *nd = node_of(c, v);
    *len = nd ? nd->end - nd->off : 0;
    return nd ? c->t->text + nd->off : NULL;
}

/* --- typed getters ---------------------------------------------------------------------------- */

/* parent[field], 0 for absent or null. */
static api_jv field_of(struct api_pctx *c, api_jv parent, const char *field)
{
    api_jv v = api_field(c, parent, field);
    return api_type(c, v) == KGC_JSONSCAN_NULL ? 0 : v;
}

api_jv api_get_obj(struct api_pctx *c, api_jv parent, const char *field)
{
    api_jv v = field_of(c, parent, field);
    if (!v)
        return 0;
    if (api_type(c, v) != KGC_JSONSCAN_OBJECT) {
        api_problem(c, field, "must be an object");
        return 0;
    }
    return v;
}

api_jv api_get_arr(struct api_pctx *c, api_jv parent, const char *field)
{
    api_jv v = field_of(c, parent, field);
    if (!v)
        return 0;
    if (api_type(c, v) != KGC_JSONSCAN_ARRAY) {
        api_problem(c, field, "must be a list");
        return 0;
    }
    return v;
}

const char *api_get_str(struct api_pctx *c, api_jv parent, const char *field)
{
    api_jv v = field_of(c, parent, field);
    if (!v)
        return NULL;
    size_t n;
    const char *s = api_str(c, v, &n);
    if (!s) {
        api_problem(c, field, "must be a string");
        return NULL;
    }
    return api_strndup(c->a, s, n);
}

/* The integer a number's text says: int64 (clamped, as json-c clamps a larger integer), or a
 * double that holds an exact integer within +-9e15. False for anything else. */
static bool number_int(const struct kgc_jsonscan_node *nd, const char *text, int64_t *x)
{
    char buf[64];
    if (nd->len >= sizeof(buf))
        return false; /* no JSON integer within int64 or an exact double range is this long */
    memcpy(buf, text + nd->off, nd->len);
    buf[nd->len] = '\0';
    if (nd->flags & KGC_JSONSCAN_INT) {
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        *x = (int64_t)v; /* ERANGE: LLONG_MAX or LLONG_MIN, json_object_get_int64's clamp */
        return true;
    }
    double d = strtod(buf, NULL);
    if (!(d >= -9e15 && d <= 9e15) || d != (double)(int64_t)d)
        return false;
    *x = (int64_t)d;
    return true;
}

int64_t api_get_int(struct api_pctx *c, api_jv parent, const char *field, int64_t min, int64_t max,
                    int64_t dflt)
{
    api_jv v = field_of(c, parent, field);
    if (!v)
        return dflt;
    int64_t x;
    if (api_type(c, v) != KGC_JSONSCAN_NUMBER || !number_int(node_of(c, v), c->t->text, &x)) {
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

int8_t api_get_bool(struct api_pctx *c, api_jv parent, const char *field)
{
    api_jv v = field_of(c, parent, field);
    if (!v)
        return KGC_API_UNSET;
    unsigned ty = api_type(c, v);
    if (ty != KGC_JSONSCAN_TRUE && ty != KGC_JSONSCAN_FALSE) {
        api_problem(c, field, "must be a boolean");
        return KGC_API_UNSET;
    }
    return ty == KGC_JSONSCAN_TRUE ? 1 : 0;
}

const char *const *api_get_str_array(struct api_pctx *c, api_jv parent, const char *field,
                                     uint32_t *n)
{
    *n = 0;
    api_jv arr = api_get_arr(c, parent, field);
    uint32_t len = api_count(c, arr);
    if (len == 0)
        return NULL;
    const char **out = api_alloc(c->a, len * sizeof(*out));
    api_jv v = api_first(c, arr);
    for (uint32_t i = 0; i < len; i++, v = api_next(c, v)) {
        size_t sl;
        const char *s = api_str(c, v, &sl);
        if (!s) {
            api_problem(c, field, "item %u must be a string", i);
            continue;
        }
        out[(*n)++] = api_strndup(c->a, s, sl);
    }
    return out;
}

const struct kgc_api_kv *api_get_kv_map(struct api_pctx *c, api_jv parent, const char *field,
                                        uint32_t *n, const char *skip_key)
{
    *n = 0;
    api_jv m = api_get_obj(c, parent, field);
    uint32_t len = api_count(c, m);
    if (len == 0)
        return NULL;
    struct kgc_api_kv *out = api_alloc(c->a, len * sizeof(*out));
    api_jv k = api_first(c, m);
    for (uint32_t i = 0; i < len; i++, k = api_next(c, k + 1)) {
        size_t kl, vl;
        const char *key = api_str(c, k, &kl);
        if (skip_key && kl == strlen(skip_key) && memcmp(key, skip_key, kl) == 0)
            continue;
        const char *val = api_str(c, k + 1, &vl);
        if (!val) {
            api_problem(c, field, "value of %.*s must be a string", (int)(kl < 64 ? kl : 64), key);
            continue;
        }
        out[*n].key = api_strndup(c->a, key, kl);
        out[*n].value = api_strndup(c->a, val, vl);
        (*n)++;
    }
    return out;
}

/* incremental — kgc_translate_incremental(): the same document as kgc_translate(), with the work
 * proportional to what changed (include/kgc/translate.h, "Incremental translation").
 *
 * The state keeps, per HTTPRoute, what the planning pass made of it (struct route_ctx, its
 * struct tr_svc records, its problems and counts, the Services it names) and, per rule, the
 * serialized service and upstream (struct frag). A call re-plans the routes the changes touch
 * (the route itself; routes naming a changed Service or one whose EndpointSlice changed; routes
 * with cross-namespace backends when a ReferenceGrant changed), writes their fragments again, and
 * then redoes what depends on every route, cheaply:
 *   - the ranking: the surviving Kong routes keep their order; the new ones are sorted and merged
 *     in (O(n)); the places among equal facts are counted again only in the runs of facts that a
 *     Kong route left or joined, and within a run only among the routes that can meet
 *     (tr_rank_assign), so each route whose (facts, facts_place), i.e. whose Kong route id, moved
 *     — the changed routes and their hostname groups — is written again (its service fragment
 *     only);
 *   - the LIMITATION problems (limits.c): judged again for the touched routes and the routes that
 *     can meet them (a hostname in common, or open to any hostname); everything when a route open
 *     to any hostname changed, when the pair budget ran out or when Kong's priorities became or
 *     stopped being uniform;
 *   - the isolation routes and the certificates: made again every call (they read Gateways and
 *     Secrets only, a few per Gateway);
 * and assembles the document from the fragments in the writer's order. Everything that reads
 * Gateways, GatewayClasses or Namespaces (attachments, listener scope) and every flavour but
 * traditional_compatible (whose priorities are n - rank: one route moves every other) start
 * again from nothing: a full translation through the same code. */
#include "translate_internal.h"

#include "kgc/digest.h"
#include "kgc/jsonscan.h"

#include <openssl/evp.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* struct kgc_translate_counts in 32 bits a field (a route's or a rule's counts are small; nine
 * size_t per record were 72 of the 176 bytes of a route's entry and 128 of a rule's frag). */
struct counts32 {
    uint32_t http_routes, grpc_routes, services, routes, upstreams, targets, plugins, certificates,
        snis;
};

/* One rule's text, as the document holds it: where it is in the state's last document (or, when
 * written this call, in the call's buffer of new texts), never a block of its own (a block per
 * text cost 4 KiB each: 160 MiB at 20k rules, and a second copy of the document). */
struct frag {
    struct tr_svc *v; /* owned by its route */
    uint64_t sig;     /* the Kong route ids' inputs when svc was written */
    uint32_t svc_off; /* the service (offsets in 32 bits: a document stays below 4 GiB, */
    uint32_t svc_len; /* FRAG_MAX, or the call fails with KGC_E2BIG) */
    uint32_t ups_off; /* the upstream; ups_len 0 when the rule has no target */
    uint32_t ups_len;
    struct counts32 counts; /* what writing it counted (plugins) */
    bool has_svc;           /* svc written (false: new) */
    bool svc_new, ups_new;  /* written this call: in st->fresh, not in st->doc */
    /* (72 B, no padding but the tail's; size_t offsets made it 88) */
};

/* One HTTPRoute (or, in a full pass only, GRPCRoute) of the snapshot, found by its object's
 * (meta.key, kind) in st->order (entry_find): no key of its own and no map (a map slot and a key
 * pointer cost ~48 B a route). */
struct entry {
    const struct kgc_api_obj *obj;        /* the route planned (reference held) */
    struct route_ctx *rc;                 /* NULL: not in the configuration */
    struct frag *frags;                   /* one per rule kept, in plan order */
    struct kgc_translate_problem *plan_p; /* the planning pass's problems */
    struct kgc_translate_problem *lim_p;  /* LIMITATION problems (limits.c) */
    uint64_t host_bits;     /* host_bits(rc): one bit per lower-case hostname (hostset_meets) */
    struct counts32 counts; /* the planning pass's */
    uint32_t n_frags, n_plan_p, n_lim_p, cap_lim_p; /* (a route's: small) */
    bool refs;     /* the Services its backendRefs name are obj's (entry_names_any); a copy of
                      their names cost 32-48 B a route */
    bool cross_ns; /* a backendRef into another namespace (ReferenceGrants decide) */
    bool dirty;    /* planned this call (sweep() clears it) */
    bool open;     /* open_hosts(rc), kept when rc is set (its hostnames never change after) */
    /* (104 B; 136 with a key and size_t counts) */
};

/* The texts written this call, back to back (frag.svc_new/ups_new); emptied by the assembly. */
struct arena {
    char *s;
    size_t len, cap;
};

/* Kong's configuration hash is the MD5 of the whole text. The state keeps MD5 states at every
 * multiple of ck_step bytes of its last document (ck[k]: bytes [0, k * ck_step) hashed): a new
 * document that begins with the same bytes as the last one is hashed from the last checkpoint
 * before the first byte that differs. */
struct md5_state {
    EVP_MD_CTX *ctx;
};

struct md5_ck {
    struct md5_state *ck;
    size_t n, cap;
    size_t step;
};

static bool open_hosts(const struct route_ctx *rc);
static uint64_t host_bits(const struct route_ctx *rc);

/* The document's head (certificates, CA certificates, global plugins) and isolation routes, with
 * the counts and problems they gave, as the last call wrote them. They read only GatewayClasses,
 * Gateways, ListenerSets, Secrets, ReferenceGrants, BackendTLSPolicies, ConfigMaps,
 * KongClusterPlugins and the settings (certs.c, backendtls.c, plugins.c tr_head_global_plugins,
 * isolation.c); an incremental call lets only HTTPRoute, Service, EndpointSlice, ReferenceGrant
 * and Secret changes through (why_full), so it writes them again only when a Secret or a
 * ReferenceGrant changed (head_stale). At 1k Gateways this saves two sorted walks of every
 * Gateway per call. */
struct head_cache {
    bool valid;
    char *head, *iso; /* owned */
    size_t head_len, iso_len;
    struct kgc_translate_counts counts;
    struct kgc_translate_problem *problems; /* owned copies */
    size_t n_problems;
};

/* Kong routes per hostname, keyed by the hostname's 64-bit hash (kgc_strmap_hash; 0 stands
 * for an empty slot, a hash of 0 is taken as 1): open addressing, 16 B a hostname with no copy
 * of it (a map to a counted copy cost ~75 B). Two hostnames with one hash (about 1 in 10^11 at
 * 10k hostnames) would share a count: the bound would only be larger, never the document
 * different (the bound chooses how much the limits judge again, not what they find). */
struct host_count {
    uint64_t hash;
    uint64_t n;
};

struct host_counts {
    struct host_count *v; /* cap slots, cap a power of two (0: none yet) */
    size_t cap, len;
};

/* The buffer of a document the state made and every holder has released, kept for the state's
 * next assembly: a new buffer of 3.8 MB (10k routes) cost ~950 page faults, each clearing and
 * charging a page, and its unmapping — ~1 ms a change, a tenth of the whole. One buffer at
 * most (a second one is freed): the steady memory of one more document, never more. Shared by
 * reference with every text the state made (struct kgc_translate_text.spare): the last one
 * released frees it. */
struct kgc_translate_spare {
    pthread_mutex_t mu;
    atomic_uint refs;
    bool closed;     /* the state is gone: returned buffers are freed */
    char *s;         /* NULL: none kept */
    size_t cap;      /* bytes at s */
    uint64_t serial; /* the document s holds (struct kgc_translate_text.serial) */
};

struct kgc_translate_state {
    bool valid; /* the records below match the last successful call */
    /* the last document (a reference; shared with the output that carried it): every frag not
     * written since is read from it */
    struct kgc_translate_text *doc;
    /* the serial of the document before doc (0: none or not the state's) and how many of doc's
     * first bytes are that one's (0: unknown): an assembly into that document's buffer (the
     * spare) skips copying what is already there */
    uint64_t prev_serial;
    size_t doc_same;
    uint64_t serial; /* of the last document made */
    struct kgc_translate_spare *spare;
    /* every entry's and every fragment's counts, summed as they change (a call adds the head's):
     * no pass over every route to count */
    struct kgc_translate_counts sum;
    struct arena fresh;
    struct md5_ck md5;
    char *settings;
    struct tr_ctx c;
    struct kgc_base_vec order;  /* struct entry * by key (cmp_entry; entry_find) */
    struct kgc_base_vec frags;  /* struct frag * by service name */
    struct kgc_base_vec ranked; /* struct tr_kroute * in precedence order */
    /* this call: the facts of the Kong routes that left or joined the ranking (tr_rank_assign
     * places again only the runs of these facts) */
    uint64_t *touched;
    size_t n_touched, cap_touched;
    /* ... and those of the Kong routes that joined (a new Kong route with no old one to keep
     * the place of): a run only left keeps its places when they are all 0 (tr_rank_assign) */
    uint64_t *joined;
    size_t n_joined, cap_joined;
    /* every EndpointSlice of the index (reference held), sorted by meta.key: the Service one
     * belonged to when a change or deletion comes (a map of them cost ~39 B a slice, a record
     * with copies of both names ~150 B) */
    struct kgc_base_vec slice_by_key;
    bool uniform; /* the last limits run's */
    /* ... and, when it saw one priority for every Kong route, that one (struct tr_limits_info) */
    bool has_uniform_prio;
    uint64_t uniform_prio;
    /* the limits' pair bound (struct tr_limits_focus): Kong routes per hostname, the sum of
     * their squares, Kong routes of routes open to any hostname, all Kong routes */
    struct host_counts host_n;
    uint64_t sumsq, n_open_kr, n_kr;
    /* Kong routes with no method, header or query per (path type, path), keyed by path_key():
     * the shared-listen limits compare only Kong routes with the same one, so a change whose
     * routes' paths are each one Kong route's skips their pass over every route */
    struct host_counts path_n;
    struct kgc_base_vec focused;      /* struct route_ctx * in focus, sorted by address */
    struct kgc_base_vec focused_svcs; /* their struct tr_svc *, in c->svcs's order */
    struct kgc_base_vec planned; /* this call: struct entry * planned again (replan), for rerank */
    size_t n_grpc; /* GRPCRoutes in the last full plan: while there are any, every call is full */
    struct kgc_translate_text *seed; /* kgc_translate_state_seed(), for the next call only */
    struct head_cache head;
};

/* ---- small helpers ----------------------------------------------------------------------------
 */

static struct counts32 counts_pack(const struct kgc_translate_counts *b)
{
    return (struct counts32){
        (uint32_t)b->http_routes, (uint32_t)b->grpc_routes,  (uint32_t)b->services,
        (uint32_t)b->routes,      (uint32_t)b->upstreams,    (uint32_t)b->targets,
        (uint32_t)b->plugins,     (uint32_t)b->certificates, (uint32_t)b->snis};
}

static void counts_sub(struct kgc_translate_counts *a, const struct counts32 *b)
{
    a->http_routes -= b->http_routes;
    a->grpc_routes -= b->grpc_routes;
    a->services -= b->services;
    a->routes -= b->routes;
    a->upstreams -= b->upstreams;
    a->targets -= b->targets;
    a->plugins -= b->plugins;
    a->certificates -= b->certificates;
    a->snis -= b->snis;
}

static void counts_add(struct kgc_translate_counts *a, const struct counts32 *b)
{
    a->http_routes += b->http_routes;
    a->grpc_routes += b->grpc_routes;
    a->services += b->services;
    a->routes += b->routes;
    a->upstreams += b->upstreams;
    a->targets += b->targets;
    a->plugins += b->plugins;
    a->certificates += b->certificates;
    a->snis += b->snis;
}

/* st->order's order: the objects' meta.key (tr_collect's), then kind (a GRPCRoute beside an
 * HTTPRoute of the same name: only in a full pass, where tr_collect leaves such ties in any order;
 * entry_find() walks them). */
static int cmp_entry(const void *a, const void *b)
{
    const struct kgc_api_obj *x = (*(const struct entry *const *)a)->obj;
    const struct kgc_api_obj *y = (*(const struct entry *const *)b)->obj;
    int r = strcmp(x->meta.key, y->meta.key);
    return r ? r : (x->kind > y->kind) - (x->kind < y->kind);
}

/* The entry of the route of kind (HTTPRoute unless GRPCRoute) whose meta.key is key, by bisection
 * of st->order; NULL when none. */
static struct entry *entry_find(const struct kgc_translate_state *st, enum kgc_api_kind kind,
                                const char *key)
{
    if (kind != KGC_API_GRPCROUTE)
        kind = KGC_API_HTTPROUTE;
    size_t lo = 0, hi = st->order.n;
    while (lo < hi) { /* the first entry whose key is not below key */
        size_t mid = lo + (hi - lo) / 2;
        const struct entry *e = st->order.v[mid];
        if (strcmp(e->obj->meta.key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < st->order.n; lo++) {
        struct entry *e = st->order.v[lo];
        if (strcmp(e->obj->meta.key, key) != 0)
            break;
        if (e->obj->kind == kind)
            return e;
    }
    return NULL;
}

static int cmp_frag(const void *a, const void *b)
{
    return strcmp((*(const struct frag *const *)a)->v->name,
                  (*(const struct frag *const *)b)->v->name);
}

/* Where p is (or goes) in the sorted vector. */
static size_t vec_find(const struct kgc_base_vec *vec, const void *p,
                       int (*cmp)(const void *, const void *), bool *found)
{
    size_t lo = 0, hi = vec->n;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = cmp(&vec->v[mid], &p);
        if (r == 0) {
            *found = true;
            return mid;
        }
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int vec_insert(struct kgc_base_vec *vec, void *p, int (*cmp)(const void *, const void *))
{
    bool found;
    size_t at = vec_find(vec, p, cmp, &found);
    if (kgc_base_vec_push(vec, p) != 0)
        return KGC_ENOMEM;
    memmove(&vec->v[at + 1], &vec->v[at], (vec->n - 1 - at) * sizeof(*vec->v));
    vec->v[at] = p;
    return 0;
}

/* Gives back what doubling left unused in a vector built from nothing (kept for its life: at 10k
 * routes 16384 slots for 10,000 pointers), with room for a few more. */
static void vec_fit(struct kgc_base_vec *vec)
{
    size_t cap = vec->n + 64;
    if (cap >= vec->cap)
        return;
    void **g = realloc(vec->v, cap * sizeof(*g));
    if (g) {
        vec->v = g;
        vec->cap = cap;
    }
}

static void vec_remove(struct kgc_base_vec *vec, const void *p,
                       int (*cmp)(const void *, const void *))
{
    bool found;
    size_t at = vec_find(vec, p, cmp, &found);
    if (!found || vec->v[at] != p)
        return;
    memmove(&vec->v[at], &vec->v[at + 1], (vec->n - at - 1) * sizeof(*vec->v));
    vec->n--;
}

/* What the Kong route ids of v are made from (traditional_compatible writes no other rank). */
static uint64_t frag_sig(const struct tr_svc *v)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < v->n_kr; i++) {
        h = (h ^ v->kr[i].facts) * UINT64_C(1099511628211);
        h = (h ^ v->kr[i].facts_place) * UINT64_C(1099511628211);
    }
    return h;
}

/* ---- one route's records ------------------------------------------------------------------------
 */

/* Frees what the planning and writing passes made of e (not its key nor its object). */
static void entry_clear(struct entry *e)
{
    for (size_t i = 0; i < e->n_frags; i++)
        tr_svc_free(e->frags[i].v);
    free(e->frags);
    e->frags = NULL;
    e->n_frags = 0;
    tr_route_ctx_free(e->rc);
    e->rc = NULL;
    tr_free_problems(e->plan_p, e->n_plan_p);
    e->plan_p = NULL;
    e->n_plan_p = 0;
    tr_free_problems(e->lim_p, e->n_lim_p);
    e->lim_p = NULL;
    e->n_lim_p = e->cap_lim_p = 0;
    e->refs = false;
    e->cross_ns = false;
    memset(&e->counts, 0, sizeof(e->counts));
}

static void entry_free(struct entry *e)
{
    if (!e)
        return;
    entry_clear(e);
    kgc_api_obj_unref(e->obj);
    free(e);
}

/* Whether a backendRef of r leaves its namespace (ReferenceGrants decide). */
static bool refs_cross_ns(const struct kgc_api_httproute *r)
{
    const char *ns = r->obj.meta.namespace ? r->obj.meta.namespace : "";
    for (uint32_t ri = 0; ri < r->n_rules; ri++)
        for (uint32_t bi = 0; bi < r->rules[ri].n_backend_refs; bi++) {
            const char *bns = r->rules[ri].backend_refs[bi].namespace;
            if (bns && strcmp(bns, ns) != 0)
                return true;
        }
    return false;
}

/* Whether one of the Services e's backendRefs name, whatever their group and kind (a superset is
 * harmless), is one of names ("ns/name"). Read from the route planned (e->obj). */
static bool entry_names_any(const struct entry *e, const struct kgc_base_vec *names)
{
    const struct kgc_api_httproute *r = e->refs ? kgc_api_as_route(e->obj) : NULL;
    if (!r)
        return false;
    const char *ns = r->obj.meta.namespace ? r->obj.meta.namespace : "";
    for (uint32_t ri = 0; ri < r->n_rules; ri++) {
        const struct kgc_api_http_route_rule *rule = &r->rules[ri];
        for (uint32_t bi = 0; bi < rule->n_backend_refs; bi++) {
            const struct kgc_api_backend_ref *b = &rule->backend_refs[bi];
            const char *bns = b->namespace ? b->namespace : ns;
            const char *name = b->name ? b->name : "";
            size_t nl = strlen(bns);
            for (size_t t = 0; t < names->n; t++) {
                const char *k = names->v[t];
                if (strncmp(k, bns, nl) == 0 && k[nl] == '/' && strcmp(k + nl + 1, name) == 0)
                    return true;
            }
        }
    }
    return false;
}

/* Plans e's route (e->obj) into e: the planning pass of kgc_translate() for one route. */
static void entry_plan(struct kgc_translate_state *st, struct entry *e)
{
    struct tr_ctx *c = &st->c;
    const struct kgc_api_httproute *r = kgc_api_as_route(e->obj);
    e->dirty = true;
    if (!r)
        return;
    c->quiet = false;
    memset(&c->counts, 0, sizeof(c->counts));
    tr_plan_route(c, r);
    e->refs = true;
    e->cross_ns = refs_cross_ns(r);
    e->plan_p = c->problems;
    e->n_plan_p = (uint32_t)c->n_problems;
    c->problems = NULL;
    c->n_problems = c->cap_problems = 0;
    e->counts = counts_pack(&c->counts);
    counts_add(&st->sum, &e->counts);
    memset(&c->counts, 0, sizeof(c->counts));
    if (c->routes.n == 1)
        e->rc = c->routes.v[0];
    e->open = e->rc && open_hosts(e->rc);
    e->host_bits = e->rc ? host_bits(e->rc) : 0;
    if (c->svcs.n && (e->frags = calloc(c->svcs.n, sizeof(*e->frags)))) {
        for (size_t i = 0; i < c->svcs.n; i++)
            e->frags[i].v = c->svcs.v[i];
        e->n_frags = (uint32_t)c->svcs.n;
    } else if (c->svcs.n) {
        for (size_t i = 0; i < c->svcs.n; i++)
            tr_svc_free(c->svcs.v[i]);
        c->oom = true;
    }
    c->routes.n = c->svcs.n = 0;    /* moved into e */
    kgc_base_vec_free(&c->kroutes); /* pointers into e's records: rerank() collects them */
}

/* The largest document the state's 32-bit offsets (struct frag) can address: a call that would
 * make a longer one fails with KGC_E2BIG and resets the state (kgc_translate() has no such bound;
 * Kong's hash alone would take ~8 s for such a text). */
#define FRAG_MAX ((size_t)UINT32_MAX)

/* Whether a piece of n bytes at off still fits FRAG_MAX (else c->too_big, c->oom). */
static bool frag_fits(struct tr_ctx *c, size_t off, size_t n)
{
    if (off <= FRAG_MAX && n <= FRAG_MAX - off)
        return true;
    c->too_big = c->oom = true;
    return false;
}

/* Room for n more bytes in the arena (false and c->oom when out of memory or beyond FRAG_MAX). */
static bool arena_room(struct tr_ctx *c, struct arena *a, size_t n)
{
    if (c->oom || !frag_fits(c, a->len, n))
        return false;
    if (a->len + n > a->cap) {
        size_t cap = a->cap ? a->cap : 65536;
        while (cap < a->len + n)
            cap *= 2;
        char *g = realloc(a->s, cap);
        if (!g) {
            c->oom = true;
            return false;
        }
        a->s = g;
        a->cap = cap;
    }
    return true;
}

/* Appends n bytes from s to the arena. */
static void arena_add(struct tr_ctx *c, struct arena *a, const char *s, size_t n)
{
    if (!arena_room(c, a, n))
        return;
    if (n)
        memcpy(a->s + a->len, s, n);
    a->len += n;
}

/* Appends b's text to the arena at *off (c->oom when out of memory). */
static void arena_put(struct tr_ctx *c, struct arena *a, const struct kgc_base_buf *b,
                      uint32_t *off, uint32_t *len)
{
    *off = 0;
    *len = 0;
    if (b->err)
        c->oom = true;
    if (!arena_room(c, a, b->len))
        return;
    *off = (uint32_t)a->len; /* (arena_room: both within FRAG_MAX) */
    if (b->len)
        memcpy(a->s + a->len, b->s, b->len);
    a->len += b->len;
    *len = (uint32_t)b->len;
}

/* Writes the service (and, when new, the upstream) of f into the call's new texts. */
static void frag_write(struct tr_ctx *c, struct arena *a, struct frag *f, bool upstream,
                       struct kgc_base_buf *scratch, struct kgc_translate_incr_stats *stats)
{
    c->quiet = true;
    memset(&c->counts, 0, sizeof(c->counts));
    scratch->len = 0;
    if (scratch->s)
        scratch->s[0] = '\0';
    tr_write_service_text(c, f->v, scratch);
    f->counts = counts_pack(&c->counts);
    memset(&c->counts, 0, sizeof(c->counts));
    arena_put(c, a, scratch, &f->svc_off, &f->svc_len);
    f->has_svc = f->svc_new = true;
    f->sig = frag_sig(f->v);
    stats->fragments_written++;
    stats->bytes_written += f->svc_len;
    if (!upstream)
        return;
    f->ups_len = 0;
    f->ups_new = false;
    if (!f->v->n_targets)
        return;
    scratch->len = 0;
    if (scratch->s)
        scratch->s[0] = '\0';
    tr_write_upstream_text(c, f->v, scratch);
    arena_put(c, a, scratch, &f->ups_off, &f->ups_len);
    f->ups_new = true;
    stats->fragments_written++;
    stats->bytes_written += f->ups_len;
}

/* ---- the hash ---------------------------------------------------------------------------------
 */

static void md5_ck_drop(struct md5_ck *m, size_t keep)
{
    for (size_t i = keep; i < m->n; i++)
        EVP_MD_CTX_free(m->ck[i].ctx);
    if (m->n > keep)
        m->n = keep;
}

static void md5_ck_free(struct md5_ck *m)
{
    md5_ck_drop(m, 0);
    free(m->ck);
    *m = (struct md5_ck){0};
}

/* The checkpoint spacing for a document of len bytes: about 256 of them, 1 to 64 KiB apart (the
 * smallest documents, the unit tests', still cross several). */
static size_t md5_step_for(size_t len)
{
    size_t step = 1024;
    while (step < 65536 && step * 256 < len)
        step *= 2;
    return step;
}

/* MD5 of text (len bytes) as hex into out, knowing its first `same` bytes are those of the
 * document the checkpoints were taken on; the checkpoints then follow text. "" when OpenSSL
 * fails (never a wrong digest; the checkpoints are dropped). Returns the bytes hashed. */
static size_t md5_hex_from(struct md5_ck *m, const char *text, size_t len, size_t same,
                           char out[KGC_DIGEST_MD5_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    out[0] = '\0';
    size_t step = md5_step_for(len);
    if (step != m->step) {
        md5_ck_drop(m, 0);
        m->step = step;
    }
    /* ck[k] covers [0, k * step): valid while k * step <= same */
    size_t keep = same / step + 1;
    md5_ck_drop(m, keep < m->n ? keep : m->n);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL;
    if (ok && m->n)
        ok = EVP_MD_CTX_copy_ex(ctx, m->ck[m->n - 1].ctx) == 1;
    else if (ok)
        ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1;
    size_t at = m->n ? (m->n - 1) * step : 0;
    size_t from = at;
    if (ok && !m->n) { /* ck[0]: nothing hashed yet */
        EVP_MD_CTX *c0 = EVP_MD_CTX_new();
        struct md5_state *g = m->cap ? m->ck : malloc(64 * sizeof(*g));
        if (g && !m->cap)
            m->cap = 64;
        m->ck = g ? g : m->ck;
        if (c0 && g && EVP_MD_CTX_copy_ex(c0, ctx) == 1)
            m->ck[m->n++].ctx = c0;
        else
            EVP_MD_CTX_free(c0);
    }
    while (ok && at < len) {
        size_t n = len - at < step ? len - at : step;
        ok = EVP_DigestUpdate(ctx, text + at, n) == 1;
        at += n;
        if (ok && n == step && m->n == at / step) { /* a checkpoint at at */
            if (m->n == m->cap) {
                size_t cap = m->cap ? 2 * m->cap : 64;
                struct md5_state *g = realloc(m->ck, cap * sizeof(*g));
                if (!g)
                    continue; /* no further checkpoints: still hashed right */
                m->ck = g;
                m->cap = cap;
            }
            EVP_MD_CTX *c = EVP_MD_CTX_new();
            if (c && EVP_MD_CTX_copy_ex(c, ctx) == 1)
                m->ck[m->n++].ctx = c;
            else
                EVP_MD_CTX_free(c);
        }
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdn = 0;
    if (ok && EVP_DigestFinal_ex(ctx, md, &mdn) == 1 && mdn == 16) {
        for (unsigned i = 0; i < 16; i++) {
            out[2 * i] = hex[md[i] >> 4];
            out[2 * i + 1] = hex[md[i] & 15];
        }
        out[KGC_DIGEST_MD5_HEX_LEN] = '\0';
    } else {
        md5_ck_drop(m, 0);
    }
    EVP_MD_CTX_free(ctx);
    return len - from;
}

/* ---- the spare buffer -------------------------------------------------------------------------
 */

static void spare_unref(struct kgc_translate_spare *sp)
{
    if (!sp || atomic_fetch_sub(&sp->refs, 1) != 1)
        return;
    free(sp->s);
    pthread_mutex_destroy(&sp->mu);
    free(sp);
}

void tr_spare_return(struct kgc_translate_spare *sp, char *s, size_t cap, uint64_t serial)
{
    pthread_mutex_lock(&sp->mu);
    if (!sp->closed && !sp->s && cap) {
        sp->s = s;
        sp->cap = cap;
        sp->serial = serial;
        s = NULL;
    }
    pthread_mutex_unlock(&sp->mu);
    free(s);
    spare_unref(sp);
}

/* Frees the kept buffer; closed: and every one returned from now on (the state is gone). */
static void spare_drop(struct kgc_translate_spare *sp, bool closed)
{
    if (!sp)
        return;
    pthread_mutex_lock(&sp->mu);
    char *s = sp->s;
    sp->s = NULL;
    sp->closed = sp->closed || closed;
    pthread_mutex_unlock(&sp->mu);
    free(s);
}

/* A buffer of at least need bytes for the next document: the kept one (grown if it must be,
 * which keeps its bytes) with *serial the document it holds, else a new one (*serial 0; also
 * when the kept one is over twice as large as needed and over 1 MiB). *cap: its size. NULL when
 * out of memory. */
static char *spare_take(struct kgc_translate_spare *sp, size_t need, size_t *cap, uint64_t *serial)
{
    char *s = NULL;
    *serial = 0;
    if (sp) {
        pthread_mutex_lock(&sp->mu);
        s = sp->s;
        *cap = sp->cap;
        *serial = sp->serial;
        sp->s = NULL;
        pthread_mutex_unlock(&sp->mu);
    }
    /* room for a few changes' growth, so that the next one fits (pages never written are
     * never resident) */
    size_t want = need + need / 128 + 64;
    if (s && *cap > 2 * want && *cap > ((size_t)1 << 20)) {
        free(s); /* the documents shrank: the memory of the larger ones goes back */
        s = NULL;
    }
    if (s && *cap < need) {
        char *g = realloc(s, want);
        if (!g)
            free(s);
        s = g;
        *cap = want;
    }
    if (!s) {
        *serial = 0;
        s = malloc(want);
        *cap = want;
    }
    return s;
}

/* ---- the state --------------------------------------------------------------------------------
 */

static void head_cache_free(struct head_cache *h)
{
    free(h->head);
    free(h->iso);
    tr_free_problems(h->problems, h->n_problems);
    *h = (struct head_cache){0};
}

static void state_reset(struct kgc_translate_state *st)
{
    head_cache_free(&st->head);
    for (size_t i = 0; i < st->order.n; i++)
        entry_free(st->order.v[i]);
    kgc_base_vec_free(&st->order);
    kgc_base_vec_free(&st->frags);
    kgc_base_vec_free(&st->ranked);
    free(st->touched);
    st->touched = NULL;
    st->n_touched = st->cap_touched = 0;
    free(st->joined);
    st->joined = NULL;
    st->n_joined = st->cap_joined = 0;
    tr_release_all(&st->slice_by_key);
    free(st->host_n.v);
    st->host_n = (struct host_counts){0};
    free(st->path_n.v);
    st->path_n = (struct host_counts){0};
    st->sumsq = st->n_open_kr = st->n_kr = 0;
    kgc_base_vec_free(&st->focused);
    kgc_base_vec_free(&st->focused_svcs);
    kgc_base_vec_free(&st->planned);
    kgc_translate_text_unref(st->doc);
    st->doc = NULL;
    st->prev_serial = 0;
    st->doc_same = 0;
    memset(&st->sum, 0, sizeof(st->sum));
    /* a call from nothing holds the whole working set: no spare document beside it */
    spare_drop(st->spare, false);
    free(st->fresh.s);
    st->fresh = (struct arena){0};
    md5_ck_free(&st->md5);
    struct tr_ctx *c = &st->c;
    tr_free_slices(c);
    kgc_base_vec_free(&c->routes);
    kgc_base_vec_free(&c->svcs);
    kgc_base_vec_free(&c->kroutes);
    tr_isolation_free(c);
    tr_free_problems(c->problems, c->n_problems);
    memset(c, 0, sizeof(*c));
    free(st->settings);
    st->settings = NULL;
    st->valid = false;
}

struct kgc_translate_state *kgc_translate_state_new(void)
{
    struct kgc_translate_state *st = calloc(1, sizeof(*st));
    struct kgc_translate_spare *sp = st ? calloc(1, sizeof(*sp)) : NULL;
    if (!sp || pthread_mutex_init(&sp->mu, NULL) != 0) {
        free(sp);
        free(st);
        return NULL;
    }
    atomic_init(&sp->refs, 1);
    st->spare = sp;
    return st;
}

void kgc_translate_state_seed(struct kgc_translate_state *st, struct kgc_translate_text *t)
{
    if (!st)
        return;
    kgc_translate_text_unref(st->seed);
    st->seed = kgc_translate_text_ref(t);
}

void kgc_translate_state_free(struct kgc_translate_state *st)
{
    if (!st)
        return;
    kgc_translate_text_unref(st->seed);
    state_reset(st);
    spare_drop(st->spare, true);
    spare_unref(st->spare);
    free(st);
}

/* The input's settings as one text: a call with other settings starts again. */
static char *settings_of(const struct kgc_translate_input *in)
{
    struct kgc_base_buf b = {0};
    kgc_base_buf_printf(&b, "%s\n%s\n%s\n%s\n%d%d", in->controller_name ? in->controller_name : "",
                        in->router_flavor ? in->router_flavor : "",
                        in->kong_version ? in->kong_version : "",
                        in->invalid_backend_target ? in->invalid_backend_target : "",
                        in->listener_usable != NULL, in->listener_kong_port != NULL);
    size_t len;
    return kgc_base_buf_take(&b, &len);
}

/* Which Service an EndpointSlice of the index belongs to (deleted slices are gone from the
 * snapshot but still in the index): the slice itself, in st->slice_by_key. */
static int cmp_slice_key(const void *a, const void *b)
{
    return strcmp((*(const struct kgc_api_obj *const *)a)->meta.key,
                  (*(const struct kgc_api_obj *const *)b)->meta.key);
}

/* A slice of st->slice_by_key against a key (vec_find()'s probe: the key itself). */
static int cmp_slice_to_key(const void *a, const void *b)
{
    return strcmp((*(const struct kgc_api_obj *const *)a)->meta.key, *(const char *const *)b);
}

/* Where the slice keyed key is (or goes) in st->slice_by_key. */
static size_t slice_at(const struct kgc_translate_state *st, const char *key, bool *found)
{
    return vec_find(&st->slice_by_key, key, cmp_slice_to_key, found);
}

static bool slice_map_visit(const struct kgc_api_obj *obj, void *ctx)
{
    struct kgc_translate_state *st = ctx;
    const struct kgc_api_endpointslice *es = kgc_api_as_endpointslice(obj);
    if (!es || !es->service_name || !obj->meta.namespace || !obj->meta.key)
        return true;
    if (kgc_base_vec_push(&st->slice_by_key, (void *)kgc_api_obj_ref(obj)) != 0) {
        kgc_api_obj_unref(obj);
        st->c.oom = true;
        return false;
    }
    return true;
}

/* Keeps c->slices (tr_index_slices' index) in step with one changed EndpointSlice; the Services
 * it belonged to and belongs to go to names (copies). */
static void slice_changed(struct kgc_translate_state *st, const char *ns, const char *name,
                          struct kgc_base_vec *names)
{
    struct tr_ctx *c = &st->c;
    char *key = tr_printf(c, "%s/%s", ns, name);
    if (!key)
        return;
    bool found;
    size_t at = slice_at(st, key, &found);
    const struct kgc_api_obj *old = found ? st->slice_by_key.v[at] : NULL;
    if (old) {
        struct kgc_base_vec *v = &st->slice_by_key;
        memmove(&v->v[at], &v->v[at + 1], (v->n - at - 1) * sizeof(*v->v));
        v->n--;
        const struct kgc_api_endpointslice *oes = kgc_api_as_endpointslice(old);
        char *osvc = tr_printf(c, "%s/%s", old->meta.namespace, oes->service_name);
        tr_slices_remove(c, old->meta.namespace, oes->service_name, key);
        kgc_api_obj_unref(old);
        if (osvc && kgc_base_vec_push(names, osvc) != 0) {
            free(osvc);
            c->oom = true;
        }
    }
    const struct kgc_api_obj *o = c->lk->get(c->lk->ctx, KGC_API_ENDPOINTSLICE, ns, name);
    const struct kgc_api_endpointslice *es = kgc_api_as_endpointslice(o);
    if (es && es->service_name && o->meta.namespace && o->meta.key) {
        char *svc = tr_printf(c, "%s/%s", o->meta.namespace, es->service_name);
        if (!svc || tr_slices_add(c, o) != 0)
            c->oom = true;
        else if (vec_insert(&st->slice_by_key, (void *)kgc_api_obj_ref(o), cmp_slice_key) != 0) {
            kgc_api_obj_unref(o);
            c->oom = true;
        }
        if (svc && kgc_base_vec_push(names, svc) != 0) {
            free(svc);
            c->oom = true;
        }
    }
    kgc_api_obj_unref(o);
    free(key);
}

/* Adds (sign > 0) or takes away e's Kong routes from the pair bound. */
static void bound_update(struct kgc_translate_state *st, const struct entry *e, int sign);

/* ---- the limits' focus ------------------------------------------------------------------------
 */

/* Whether rc can carry any hostname (no hostname, or a wildcard): limits.c compares such routes
 * with every other. */
static bool open_hosts(const struct route_ctx *rc)
{
    if (rc->any_host || !rc->n_hosts || rc->n_iso_hosts)
        return true;
    for (size_t i = 0; i < rc->n_hosts; i++)
        if (tr_is_wildcard(rc->hosts[i]))
            return true;
    return false;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

static bool in_focus(const struct route_ctx *rc, void *ctx)
{
    struct kgc_translate_state *st = ctx;
    return st->focused.n &&
           bsearch(&rc, st->focused.v, st->focused.n, sizeof(*st->focused.v), cmp_ptr) != NULL;
}

/* Where key hash h (not 0) is in m (cap > 0), or the empty slot it would take. */
static size_t count_slot(const struct host_counts *m, uint64_t h)
{
    size_t i = h & (m->cap - 1);
    while (m->v[i].hash && m->v[i].hash != h)
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* The count of key hash h (a new one is 0), or NULL when out of memory. */
static struct host_count *count_of(struct host_counts *m, uint64_t h)
{
    h = h ? h : 1;
    if ((m->len + 1) * 4 > m->cap * 3) { /* below 0.75 full */
        size_t ncap = m->cap ? 2 * m->cap : 64;
        struct host_count *nv = calloc(ncap, sizeof(*nv));
        if (!nv)
            return NULL;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->v[i].hash)
                continue;
            size_t j = m->v[i].hash & (ncap - 1);
            while (nv[j].hash)
                j = (j + 1) & (ncap - 1);
            nv[j] = m->v[i];
        }
        free(m->v);
        m->v = nv;
        m->cap = ncap;
    }
    size_t i = count_slot(m, h);
    if (!m->v[i].hash) {
        m->v[i].hash = h;
        m->len++;
    }
    return &m->v[i];
}

/* host's count (a new one is 0), or NULL when out of memory. */
static struct host_count *host_count_of(struct host_counts *m, const char *host)
{
    return count_of(m, kgc_strmap_hash(host, strlen(host)));
}

/* A Kong route's key in path_n (0: it has a method, header or query; the shared-listen limits
 * leave it out): its path type and path (limits.c, cmp_bare()). Two paths with one hash only
 * make the pass run. */
static uint64_t path_key(const struct tr_kroute *k)
{
    if (k->method || k->headers || k->queries)
        return 0;
    const char *p = k->raw_path ? k->raw_path : "/";
    uint64_t h = kgc_strmap_hash(p, strlen(p)) ^ ((uint64_t)k->path_kind * 0x9e3779b97f4a7c15ULL);
    return h ? h : 1;
}

/* Adds (sign 1) or takes (-1) e's Kong routes to or from path_n. */
static void paths_update(struct kgc_translate_state *st, const struct entry *e, int sign)
{
    for (size_t f = 0; f < e->n_frags; f++) {
        const struct tr_svc *v = e->frags[f].v;
        for (size_t j = 0; j < v->n_kr; j++) {
            uint64_t key = path_key(&v->kr[j]);
            struct host_count *c = key ? count_of(&st->path_n, key) : NULL;
            if (key && !c) {
                st->c.oom = true;
                return;
            }
            if (c)
                c->n = sign > 0 ? c->n + 1 : c->n - 1;
        }
    }
}

/* Whether a focused route has a Kong route whose path another Kong route shares (else the
 * shared-listen limits have nothing to compare). */
static bool paths_shared(const struct kgc_translate_state *st)
{
    for (size_t i = 0; i < st->focused_svcs.n; i++) {
        const struct tr_svc *v = st->focused_svcs.v[i];
        for (size_t j = 0; j < v->n_kr; j++) {
            uint64_t key = path_key(&v->kr[j]);
            if (!key)
                continue;
            if (!st->path_n.cap)
                return true; /* not counted: it cannot be ruled out */
            const struct host_count *n = &st->path_n.v[count_slot(&st->path_n, key)];
            if (n->hash != key || n->n != 1)
                return true; /* shared (or not counted) */
        }
    }
    return false;
}

static void bound_update(struct kgc_translate_state *st, const struct entry *e, int sign)
{
    const struct route_ctx *rc = e->rc;
    uint64_t k = 0;
    for (size_t i = 0; i < e->n_frags; i++)
        k += e->frags[i].v->n_kr;
    if (!rc || !k)
        return;
    paths_update(st, e, sign);
    st->n_kr = sign > 0 ? st->n_kr + k : st->n_kr - k;
    if (open_hosts(rc)) {
        st->n_open_kr = sign > 0 ? st->n_open_kr + k : st->n_open_kr - k;
        return;
    }
    for (size_t i = 0; i < rc->n_hosts; i++) {
        struct host_count *h = host_count_of(&st->host_n, rc->hosts[i]);
        if (!h) {
            st->c.oom = true;
            return;
        }
        uint64_t old = h->n, now = sign > 0 ? old + k : old - k;
        st->sumsq = st->sumsq - old * old + now * now;
        h->n = now;
    }
}

/* Hostnames of the routes planned again (before and after), to find the routes they can meet. */
struct hostset {
    struct kgc_strmap names; /* lower-case hostname (in owned) → (void *)1 */
    struct kgc_base_vec owned;
    bool open;     /* one of them is open to any hostname: everything is in focus */
    uint64_t bits; /* the names' bits (host_bit): a route none of whose bits is here meets none */
};

/* h lower-cased into low (300 bytes) with its length in *n; false when it does not fit (no
 * valid hostname is that long). */
static bool lower_host(const char *h, char low[300], size_t *n)
{
    size_t len = strlen(h);
    if (len >= 300)
        return false;
    for (size_t j = 0; j <= len; j++)
        low[j] = (char)(h[j] >= 'A' && h[j] <= 'Z' ? h[j] - 'A' + 'a' : h[j]);
    *n = len;
    return true;
}

/* A lower-case hostname's bit among 64 (of its kgc_strmap_hash). */
static uint64_t host_bit(const char *low, size_t n)
{
    return UINT64_C(1) << (kgc_strmap_hash(low, n) & 63);
}

/* The bits of rc's hostnames, lower-cased as hostset_meets compares them; every bit when one is
 * too long for it (it then answers true). Computed once per route plan: at 10k routes the focus
 * pass tested every route's hostnames against the set each change (~10 % of the syncer). */
static uint64_t host_bits(const struct route_ctx *rc)
{
    uint64_t bits = 0;
    char low[300];
    for (size_t i = 0; i < rc->n_hosts; i++) {
        size_t n;
        if (!lower_host(rc->hosts[i], low, &n))
            return ~UINT64_C(0);
        bits |= host_bit(low, n);
    }
    return bits;
}

static void hostset_add_rc(struct tr_ctx *c, struct hostset *h, const struct route_ctx *rc)
{
    if (!rc)
        return;
    if (open_hosts(rc)) {
        h->open = true;
        return;
    }
    for (size_t i = 0; i < rc->n_hosts; i++) {
        char *low = tr_strdup(c, rc->hosts[i]);
        if (!low)
            return;
        for (char *p = low; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        if (kgc_base_vec_push(&h->owned, low) != 0) {
            free(low);
            c->oom = true;
            return;
        }
        if (kgc_strmap_put(&h->names, low, (void *)1, NULL) != 0)
            c->oom = true;
        h->bits |= host_bit(low, strlen(low));
    }
}

static bool hostset_meets(const struct hostset *h, const struct route_ctx *rc)
{
    char low[300];
    for (size_t i = 0; i < rc->n_hosts; i++) {
        size_t n;
        if (!lower_host(rc->hosts[i], low, &n) || kgc_strmap_get(&h->names, low))
            return true;
    }
    return false;
}

/* Hands the problems limits.c recorded (c->problems) to their routes. */
static void limits_distribute(struct kgc_translate_state *st)
{
    struct tr_ctx *c = &st->c;
    for (size_t i = 0; i < c->n_problems && !c->oom; i++) {
        struct kgc_translate_problem *p = &c->problems[i];
        char *key = tr_printf(c, "%s/%s", p->namespace ? p->namespace : "", p->name ? p->name : "");
        struct entry *e = key ? entry_find(st, p->kind, key) : NULL;
        free(key);
        if (!e) {
            c->oom = true; /* every problem of limits.c is a planned route's */
            break;
        }
        if (e->n_lim_p == e->cap_lim_p) {
            uint32_t cap = e->cap_lim_p ? 2 * e->cap_lim_p : 2;
            struct kgc_translate_problem *g = realloc(e->lim_p, cap * sizeof(*g));
            if (!g) {
                c->oom = true;
                break;
            }
            e->lim_p = g;
            e->cap_lim_p = cap;
        }
        e->lim_p[e->n_lim_p++] = *p;
        *p = (struct kgc_translate_problem){0};
    }
    tr_free_problems(c->problems, c->n_problems);
    c->problems = NULL;
    c->n_problems = c->cap_problems = 0;
}

static void lim_clear(struct entry *e)
{
    tr_free_problems(e->lim_p, e->n_lim_p);
    e->lim_p = NULL;
    e->n_lim_p = e->cap_lim_p = 0;
}

/* Lists every service for the limits (c->svcs, in st->order's order and each route's plan
 * order), once a call: only a pass of the limits that reads every route needs it. */
static void svcs_list(struct kgc_translate_state *st)
{
    struct tr_ctx *c = &st->c;
    if (c->svcs.n)
        return;
    for (size_t i = 0; i < st->order.n && !c->oom; i++) {
        const struct entry *e = st->order.v[i];
        for (size_t f = 0; f < e->n_frags && !c->oom; f++)
            if (kgc_base_vec_push(&c->svcs, e->frags[f].v) != 0)
                c->oom = true;
    }
}

/* Judges the limits again for the routes in focus (all: every route). Unless all, the caller
 * (sweep()) cleared the LIMITATION problems of the entries in focus and listed their routes in
 * st->focused. */
static void run_limits(struct kgc_translate_state *st, bool all)
{
    struct tr_ctx *c = &st->c;
    for (size_t i = 0; i < st->order.n && all; i++)
        lim_clear(st->order.v[i]);
    if (all)
        st->focused.n = 0;
    if (st->focused.n > 1)
        qsort(st->focused.v, st->focused.n, sizeof(*st->focused.v), cmp_ptr);
    struct tr_limits_focus lf = {in_focus,
                                 st,
                                 st->sumsq + 2 * st->n_kr * st->n_open_kr,
                                 !all && st->uniform && st->has_uniform_prio,
                                 st->uniform_prio,
                                 &st->focused_svcs,
                                 !all && !paths_shared(st)};
    /* still one priority for all when the routes planned this call have it (the others kept
     * theirs: a Kong route's priority reads its own route only, tr_tc_priority) */
    for (size_t i = 0; i < st->planned.n && lf.uniform_known; i++) {
        const struct entry *e = st->planned.v[i];
        for (size_t f = 0; f < e->n_frags && lf.uniform_known; f++)
            for (size_t j = 0; j < e->frags[f].v->n_kr; j++)
                lf.uniform_known =
                    lf.uniform_known && e->frags[f].v->kr[j].tc_prio == lf.uniform_prio;
    }
    if (all || !lf.uniform_known || !lf.paths_unshared)
        svcs_list(st); /* a pass reads every route */
    struct tr_limits_info info;
    if (!c->oom)
        tr_kong_limits_focused(c, all ? NULL : &lf, &info);
    else
        info = (struct tr_limits_info){.uniform = st->uniform};
    if (!all && (info.budget_hit || info.uniform != st->uniform)) {
        /* depends on every route: judge them all */
        tr_free_problems(c->problems, c->n_problems);
        c->problems = NULL;
        c->n_problems = c->cap_problems = 0;
        run_limits(st, true);
        return;
    }
    st->uniform = info.uniform;
    st->has_uniform_prio = info.uniform && info.has_prio;
    st->uniform_prio = info.prio;
    limits_distribute(st);
}

/* ---- the document -----------------------------------------------------------------------------
 */

/* {"_format_version":"3.0","certificates":[...] without its closing brace, as writer.c's
 * write_document() begins (certs.c records the certificates' problems and counts). */
static char *head_text(struct tr_ctx *c, size_t *len)
{
    json_object *head = tr_jobj(c);
    tr_jset(c, head, "_format_version", tr_jstr(c, "3.0"));
    if (!c->oom)
        tr_jset(c, head, "certificates", tr_certificates(c));
    tr_head_ca_certificates(c, head);
    tr_head_global_plugins(c, head);
    size_t n = 0;
    const char *text = head && !c->oom
                           ? json_object_to_json_string_length(
                                 head, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n)
                           : NULL;
    char *out = NULL;
    if (text && n >= 2 && text[n - 1] == '}' && (out = malloc(n))) {
        memcpy(out, text, n - 1);
        out[n - 1] = '\0';
        *len = n - 1;
    } else {
        c->oom = true;
    }
    json_object_put(head);
    return out;
}

/* The isolation routes (isolation.c), joined by commas. */
static char *iso_text(struct tr_ctx *c, size_t *len)
{
    struct kgc_base_buf b = {0};
    for (size_t i = 0; i < c->n_iso && !c->oom; i++) {
        json_object *o = tr_isolation_route(c, i);
        size_t n = 0;
        const char *t = o ? json_object_to_json_string_length(
                                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n)
                          : NULL;
        if (!t || (i && kgc_base_buf_add(&b, ",", 1) != 0) || kgc_base_buf_add(&b, t, n) != 0)
            c->oom = true;
        json_object_put(o);
    }
    if (c->oom) {
        kgc_base_buf_free(&b);
        return NULL;
    }
    if (!b.s && kgc_base_buf_add(&b, "", 0) != 0) {
        c->oom = true;
        return NULL;
    }
    return kgc_base_buf_take(&b, len);
}

/* A new text of the state's: s (len bytes and the NUL, cap allocated), its next serial, its
 * buffer back to the state's spare slot when released. NULL when out of memory (s not taken). */
static struct kgc_translate_text *text_new(struct kgc_translate_state *st, char *s, size_t len,
                                           size_t cap)
{
    struct kgc_translate_text *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    atomic_init(&t->refs, 1);
    t->s = s;
    t->len = len;
    t->cap = cap;
    t->serial = ++st->serial;
    t->spare = st->spare;
    atomic_fetch_add(&st->spare->refs, 1);
    return t;
}

/* Where the assembly is, and how many of its first bytes are those of the last document. */
struct asm_pos {
    char *out, *p;
    const char *old; /* the last document (NULL: none) */
    size_t old_len;
    size_t same;     /* SIZE_MAX while every byte written so far is the last document's */
    size_t there;    /* out's first bytes already hold those of the last document (the buffer
                        held the one before it, which the last begins with) */
    size_t in_place; /* bytes not copied for that */
};

/* Appends n bytes from s; from_old: s is the last document's text at old_off. */
static void asm_put(struct asm_pos *a, const char *s, size_t n, bool from_old, size_t old_off)
{
    size_t at = (size_t)(a->p - a->out);
    bool kept = false;
    if (a->same == SIZE_MAX && n) {
        /* the same bytes at the same place: a piece of the last document that did not move, or
         * a small text (head, separators, isolation routes) equal to what is there */
        kept = from_old ? old_off == at
                        : a->old && at + n <= a->old_len &&
                              (n == 1 ? a->old[at] == *s /* a separator: 20k a call */
                                      : memcmp(a->old + at, s, n) == 0);
        if (!kept)
            a->same = at;
    }
    if (kept && at + n <= a->there)
        a->in_place += n;
    else if (n)
        memcpy(a->p, s, n);
    a->p += n;
}

/* The document from the fragments: writer.c's write_document() order and punctuation. Each
 * fragment is read from the last document or the call's new texts and from now on is read from
 * the new document; the call's new texts are emptied. *same: how many of its first bytes are the
 * last document's. NULL when out of memory (nothing moved). */
static struct kgc_translate_text *assemble(struct kgc_translate_state *st, const char *head,
                                           size_t head_len, const char *iso, size_t iso_len,
                                           size_t *same, size_t *in_place)
{
    static const char services[] = ",\"services\":[", routes[] = "],\"routes\":[",
                      upstreams[] = "],\"upstreams\":[";
    size_t total = head_len + sizeof(services) + sizeof(routes) + iso_len + sizeof(upstreams) + 3;
    for (size_t i = 0; i < st->frags.n; i++) {
        const struct frag *f = st->frags.v[i];
        total += (size_t)f->svc_len + 1 + (f->ups_len ? (size_t)f->ups_len + 1 : 0);
    }
    if (!frag_fits(&st->c, 0, total))
        return NULL;
    size_t cap = 0;
    uint64_t held = 0;
    char *out = spare_take(st->spare, total, &cap, &held);
    struct kgc_translate_text *t = out ? text_new(st, out, 0, cap) : NULL;
    if (!t) {
        free(out);
        return NULL;
    }
    const char *old = st->doc ? st->doc->s : NULL, *fresh = st->fresh.s;
    /* the spare holds the document before the last: the first doc_same bytes are in place */
    size_t there = held && held == st->prev_serial ? st->doc_same : 0;
    struct asm_pos a = {out, out, old, st->doc ? st->doc->len : 0, SIZE_MAX, there, 0};
    asm_put(&a, head, head_len, false, 0);
    asm_put(&a, services, sizeof(services) - 1, false, 0);
    for (size_t i = 0; i < st->frags.n; i++) {
        struct frag *f = st->frags.v[i];
        if (i)
            asm_put(&a, ",", 1, false, 0);
        size_t off = f->svc_off;
        bool was_old = !f->svc_new;
        f->svc_off = (uint32_t)(a.p - out); /* (total: within FRAG_MAX) */
        f->svc_new = false;
        asm_put(&a, (was_old ? old : fresh) + off, f->svc_len, was_old, off);
    }
    if (iso_len) { /* isolation routes (none: "") */
        asm_put(&a, routes, sizeof(routes) - 1, false, 0);
        asm_put(&a, iso, iso_len, false, 0);
    }
    asm_put(&a, upstreams, sizeof(upstreams) - 1, false, 0);
    bool first = true;
    for (size_t i = 0; i < st->frags.n; i++) {
        struct frag *f = st->frags.v[i];
        if (!f->ups_len)
            continue;
        if (!first)
            asm_put(&a, ",", 1, false, 0);
        first = false;
        size_t off = f->ups_off;
        bool was_old = !f->ups_new;
        f->ups_off = (uint32_t)(a.p - out);
        f->ups_new = false;
        asm_put(&a, (was_old ? old : fresh) + off, f->ups_len, was_old, off);
    }
    asm_put(&a, "]}", 2, false, 0);
    *a.p = '\0';
    t->s = out;
    t->len = (size_t)(a.p - out);
    /* every piece in place: the same text, unless the last document was longer */
    *same = a.same != SIZE_MAX ? a.same : t->len;
    *in_place = a.in_place;
    /* the call's new texts are in the document now; a large buffer is not kept for the next */
    st->fresh.len = 0;
    if (st->fresh.cap > 262144) {
        free(st->fresh.s);
        st->fresh = (struct arena){0};
    }
    return t;
}

/* The document of a call that starts from nothing, written in its order (writer.c's
 * write_document(), after the limits and the isolation routes as there). Each piece is compared
 * with the seed (kgc_translate_state_seed(): the text the caller holds, NULL: none) where it
 * would go; while every byte so far is the seed's nothing is copied, and a document equal to the
 * seed is the seed (one more reference): building the state at start-up makes the text the
 * syncer already holds, and so held it twice (3.7 MiB at 10k routes). From the first byte that
 * differs the document is a buffer of its own (the seed's bytes so far copied into it). */
struct stream {
    struct tr_ctx *c;
    struct arena *a; /* the document's own buffer, once it differs from the seed */
    const struct kgc_translate_text *seed;
    size_t pos;    /* bytes written so far */
    bool diverged; /* they are in a (not all the seed's) */
};

/* From here the document is its own buffer, beginning with the seed's first pos bytes. */
static void stream_diverge(struct stream *w)
{
    if (w->diverged)
        return;
    w->diverged = true;
    w->a->len = 0;
    if (w->pos && w->seed) /* (pos moves without diverging only along a seed) */
        arena_add(w->c, w->a, w->seed->s, w->pos);
}

static void stream_put(struct stream *w, const char *s, size_t n)
{
    if (!w->diverged && w->seed && w->pos + n <= w->seed->len &&
        memcmp(w->seed->s + w->pos, s, n) == 0) {
        w->pos += n;
        return;
    }
    stream_diverge(w);
    arena_add(w->c, w->a, s, n);
    w->pos += n;
}

/* Serialises f's service (upstream: its upstream) through scratch into w at *off. */
static void stream_frag(struct stream *w, struct frag *f, bool upstream,
                        struct kgc_base_buf *scratch, struct kgc_translate_incr_stats *stats)
{
    struct tr_ctx *c = w->c;
    memset(&c->counts, 0, sizeof(c->counts));
    scratch->len = 0;
    if (scratch->s)
        scratch->s[0] = '\0';
    if (upstream) {
        tr_write_upstream_text(c, f->v, scratch);
    } else {
        tr_write_service_text(c, f->v, scratch);
        f->counts = counts_pack(&c->counts);
        f->has_svc = true;
        f->svc_new = false;
        f->sig = frag_sig(f->v);
    }
    if (scratch->err)
        c->oom = true;
    if (!frag_fits(c, w->pos, scratch->len))
        return;
    *(upstream ? &f->ups_off : &f->svc_off) = (uint32_t)w->pos;
    *(upstream ? &f->ups_len : &f->svc_len) = (uint32_t)scratch->len;
    if (!c->oom)
        stream_put(w, scratch->s ? scratch->s : "", scratch->len);
    stats->fragments_written++;
    stats->bytes_written += scratch->len;
}

static struct kgc_translate_text *write_all(struct kgc_translate_state *st, const char *head,
                                            size_t head_len, const char *iso, size_t iso_len,
                                            struct kgc_base_buf *scratch,
                                            struct kgc_translate_incr_stats *stats)
{
    static const char services[] = ",\"services\":[", routes[] = "],\"routes\":[",
                      upstreams[] = "],\"upstreams\":[";
    struct tr_ctx *c = &st->c;
    struct stream w = {.c = c, .a = &st->fresh, .seed = st->seed};
    c->quiet = true;
    stream_put(&w, head, head_len);
    stream_put(&w, services, sizeof(services) - 1);
    for (size_t i = 0; i < st->frags.n && !c->oom; i++) {
        if (i)
            stream_put(&w, ",", 1);
        stream_frag(&w, st->frags.v[i], false, scratch, stats);
    }
    if (iso_len) { /* isolation routes (none: "") */
        stream_put(&w, routes, sizeof(routes) - 1);
        stream_put(&w, iso, iso_len);
    }
    stream_put(&w, upstreams, sizeof(upstreams) - 1);
    bool first = true;
    for (size_t i = 0; i < st->frags.n && !c->oom; i++) {
        struct frag *f = st->frags.v[i];
        f->ups_len = 0;
        f->ups_new = false;
        if (!f->v->n_targets)
            continue;
        if (!first)
            stream_put(&w, ",", 1);
        first = false;
        stream_frag(&w, f, true, scratch, stats);
    }
    stream_put(&w, "]}", 2);
    if (!w.seed || w.pos != w.seed->len)
        stream_diverge(&w); /* no seed, or a longer one: the document is its first pos bytes */
    if (!w.diverged && !c->oom)
        return kgc_translate_text_ref(st->seed);
    arena_add(c, w.a, "", 1); /* the NUL */
    if (c->oom)
        return NULL;
    char *fit = realloc(w.a->s, w.a->len); /* give the unused tail back */
    size_t cap = fit ? w.a->len : w.a->cap;
    struct kgc_translate_text *t = text_new(st, fit ? fit : w.a->s, w.a->len - 1, cap);
    if (!t) {
        if (fit)
            w.a->s = fit;
        w.a->cap = cap;
        c->oom = true;
        return NULL;
    }
    *w.a = (struct arena){0};
    return t;
}

static int copy_problem(struct kgc_translate_problem *to, const struct kgc_translate_problem *p)
{
    *to = *p;
    to->namespace = p->namespace ? strdup(p->namespace) : NULL;
    to->name = p->name ? strdup(p->name) : NULL;
    to->message = p->message ? strdup(p->message) : NULL;
    return (p->namespace && !to->namespace) || (p->name && !to->name) ||
                   (p->message && !to->message)
               ? KGC_ENOMEM
               : 0;
}

/* Every problem (copies), sorted as kgc_translate()'s; global: isolation's and certificates'. */
static int gather_problems(struct kgc_translate_state *st, struct kgc_translate_output *out)
{
    size_t n = st->c.n_problems + st->head.n_problems;
    for (size_t i = 0; i < st->order.n; i++) {
        const struct entry *e = st->order.v[i];
        n += e->n_plan_p + e->n_lim_p;
    }
    if (!n)
        return 0;
    struct kgc_translate_problem *p = calloc(n, sizeof(*p));
    if (!p)
        return KGC_ENOMEM;
    size_t w = 0;
    int rc = 0;
    for (size_t i = 0; i < st->order.n; i++) {
        const struct entry *e = st->order.v[i];
        for (size_t j = 0; j < e->n_plan_p; j++)
            rc |= copy_problem(&p[w++], &e->plan_p[j]);
        for (size_t j = 0; j < e->n_lim_p; j++)
            rc |= copy_problem(&p[w++], &e->lim_p[j]);
    }
    for (size_t j = 0; j < st->c.n_problems; j++)
        rc |= copy_problem(&p[w++], &st->c.problems[j]);
    for (size_t j = 0; j < st->head.n_problems; j++)
        rc |= copy_problem(&p[w++], &st->head.problems[j]);
    if (rc) {
        tr_free_problems(p, w);
        return KGC_ENOMEM;
    }
    tr_sort_problems(p, w);
    out->problems = p;
    out->n_problems = w;
    return 0;
}

/* The one pass over every entry after the ranking. Incremental (!all): writes again the
 * fragments of the routes planned this call and those whose Kong routes' facts or places moved
 * (frag_sig), keeping st->sum; a route neither planned nor moved is one look at its entry (its
 * fragments are not read). Unless every route's limits are judged again (all_limits), decides
 * which are in focus (planned this call, open to any hostname, or sharing a hostname with a
 * route that changed), clears their LIMITATION problems and lists them in st->focused and their
 * services in st->focused_svcs. Leaves every entry's dirty flag false, as the next call
 * expects. */
static void sweep(struct kgc_translate_state *st, bool all, bool all_limits,
                  const struct hostset *hs, struct kgc_base_buf *wbuf,
                  struct kgc_translate_incr_stats *stats)
{
    struct tr_ctx *c = &st->c;
    st->focused.n = st->focused_svcs.n = 0;
    /* a kept fragment's Kong route ids move only with a place the ranking changed (the facts of
     * a route not planned again stay): none changed, none to compare */
    bool moved = c->places_moved != 0;
    for (size_t i = 0; i < st->order.n && !c->oom; i++) {
        struct entry *e = st->order.v[i];
        for (size_t f = 0; !all && (e->dirty || moved) && f < e->n_frags && !c->oom; f++) {
            struct frag *fr = &e->frags[f];
            bool whole = e->dirty || !fr->has_svc; /* else only the service, when it moved */
            if (!whole && !(moved && frag_sig(fr->v) != fr->sig))
                continue;
            counts_sub(&st->sum, &fr->counts);
            frag_write(c, &st->fresh, fr, whole, wbuf, stats);
            counts_add(&st->sum, &fr->counts);
        }
        if (!all_limits && e->rc &&
            (e->dirty || e->open || ((e->host_bits & hs->bits) && hostset_meets(hs, e->rc)))) {
            lim_clear(e);
            if (kgc_base_vec_push(&st->focused, e->rc) != 0)
                c->oom = true;
            for (size_t f = 0; f < e->n_frags && !c->oom; f++)
                if (kgc_base_vec_push(&st->focused_svcs, e->frags[f].v) != 0)
                    c->oom = true;
        } else if (!all_limits && e->dirty) {
            lim_clear(e); /* not in the configuration: no limits */
        }
        e->dirty = false;
    }
}

/* Adds every entry's counts to *counts. */
static void entries_counts(const struct kgc_translate_state *st,
                           struct kgc_translate_counts *counts)
{
    for (size_t i = 0; i < st->order.n; i++) {
        const struct entry *e = st->order.v[i];
        counts_add(counts, &e->counts);
        for (size_t f = 0; f < e->n_frags; f++)
            counts_add(counts, &e->frags[f].counts);
    }
}

/* Whether changes may change the head or the isolation routes (struct head_cache). */
static bool head_stale(const struct kgc_translate_change *changes, size_t n_changes)
{
    for (size_t i = 0; i < n_changes; i++)
        if (changes[i].kind != KGC_API_HTTPROUTE && changes[i].kind != KGC_API_SERVICE &&
            changes[i].kind != KGC_API_ENDPOINTSLICE)
            return true;
    return false;
}

/* Writes the head and the isolation routes into st->head: the counts they give, and the problems
 * they record (moved from c->problems). On failure c->oom is set and the cache left invalid. */
static void head_write(struct kgc_translate_state *st)
{
    struct tr_ctx *c = &st->c;
    head_cache_free(&st->head);
    struct head_cache *h = &st->head;
    memset(&c->counts, 0, sizeof(c->counts));
    size_t n0 = c->n_problems;
    tr_isolation_free(c);
    if (!c->oom)
        tr_plan_isolation(c);
    c->quiet = false;
    h->head = !c->oom ? head_text(c, &h->head_len) : NULL;
    c->quiet = true;
    h->iso = !c->oom ? iso_text(c, &h->iso_len) : NULL;
    tr_isolation_free(c);
    h->counts = c->counts;
    size_t n = c->n_problems - n0;
    if (!c->oom && n && !(h->problems = calloc(n, sizeof(*h->problems))))
        c->oom = true;
    if (!c->oom) { /* moved: the structs, with the strings they own */
        if (n)
            memcpy(h->problems, c->problems + n0, n * sizeof(*h->problems));
        h->n_problems = n;
        c->n_problems = n0;
    }
    h->valid = !c->oom;
}

/* ---- the call ---------------------------------------------------------------------------------
 */

/* Why the call must start from nothing, or NULL. */
static const char *why_full(const struct kgc_translate_state *st,
                            const struct kgc_translate_input *in, const char *settings,
                            const struct kgc_translate_change *changes, size_t n_changes,
                            bool everything)
{
    if (!st->valid)
        return "first translation (or the previous one failed)";
    if (everything)
        return "the caller does not know what changed";
    if (!settings || strcmp(settings, st->settings) != 0)
        return "the translation settings changed";
    if (in->router_flavor && in->router_flavor[0] &&
        strcmp(in->router_flavor, "traditional_compatible") != 0)
        return "router flavour other than traditional_compatible (priorities are ranks)";
    /* GRPCRoutes are planned by the full pass only (their entries are keyed apart from the
     * HTTPRoutes', see replan): while the snapshot holds any, every call starts from nothing */
    if (st->n_grpc)
        return "GRPCRoutes are present (translated in full)";
    for (size_t i = 0; i < n_changes; i++) {
        switch (changes[i].kind) {
        case KGC_API_HTTPROUTE:
        case KGC_API_SERVICE:
        case KGC_API_ENDPOINTSLICE:
        case KGC_API_REFERENCEGRANT:
        case KGC_API_SECRET:
            break;
        case KGC_API_GRPCROUTE:
            return "a GRPCRoute changed (translated in full)";
        case KGC_API_KONGPLUGIN:
        case KGC_API_KONGCLUSTERPLUGIN:
            /* plugins.c: any route may name it (annotations, ExtensionRefs, Services') */
            return "a KongPlugin or KongClusterPlugin changed";
        case KGC_API_BACKENDTLSPOLICY:
        case KGC_API_CONFIGMAP:
            /* a policy or its CA bundle changes the services of every route using its
             * Services; kept simple: everything again (policies change rarely) */
            return "a BackendTLSPolicy or a CA ConfigMap changed";
        default:
            return "a Gateway, GatewayClass or Namespace changed (attachments, listeners)";
        }
    }
    return NULL;
}

/* Marks the routes touched by changes dirty (collected into dirty, each once). */
static void collect_dirty(struct kgc_translate_state *st,
                          const struct kgc_translate_change *changes, size_t n_changes,
                          struct kgc_base_vec *dirty_keys)
{
    struct tr_ctx *c = &st->c;
    struct kgc_base_vec touched = {0}; /* "ns/service" (borrowed or in names) */
    struct kgc_base_vec names = {0};   /* owned strings */
    bool grants = false;
    for (size_t i = 0; i < n_changes && !c->oom; i++) {
        const struct kgc_translate_change *ch = &changes[i];
        const char *ns = ch->namespace ? ch->namespace : "";
        const char *name = ch->name ? ch->name : "";
        if (ch->kind == KGC_API_HTTPROUTE) {
            char *k = tr_printf(c, "%s/%s", ns, name);
            if (k && kgc_base_vec_push(dirty_keys, k) != 0) {
                free(k);
                c->oom = true;
            }
        } else if (ch->kind == KGC_API_SERVICE) {
            char *k = tr_printf(c, "%s/%s", ns, name);
            if (k && kgc_base_vec_push(&names, k) != 0) {
                free(k);
                k = NULL;
            }
            if (!k || kgc_base_vec_push(&touched, k) != 0)
                c->oom = true;
        } else if (ch->kind == KGC_API_ENDPOINTSLICE) {
            size_t from = names.n;
            slice_changed(st, ns, name, &names);
            for (size_t j = from; j < names.n && !c->oom; j++)
                if (kgc_base_vec_push(&touched, names.v[j]) != 0)
                    c->oom = true;
        } else if (ch->kind == KGC_API_REFERENCEGRANT) {
            grants = true;
        }
    }
    if ((touched.n || grants) && !c->oom) {
        for (size_t i = 0; i < st->order.n; i++) {
            struct entry *e = st->order.v[i];
            bool hit = (grants && e->cross_ns) || entry_names_any(e, &touched);
            char *k = hit ? tr_strdup(c, e->obj->meta.key) : NULL;
            if (hit && (!k || kgc_base_vec_push(dirty_keys, k) != 0)) {
                free(k);
                c->oom = true;
            }
        }
    }
    for (size_t i = 0; i < names.n; i++)
        free(names.v[i]);
    kgc_base_vec_free(&names);
    kgc_base_vec_free(&touched);
}

static void hostset_free(struct hostset *h)
{
    for (size_t i = 0; i < h->owned.n; i++)
        free(h->owned.v[i]);
    kgc_base_vec_free(&h->owned);
    kgc_strmap_destroy(&h->names);
}

/* Forgets e's Kong routes in the ranking (marked, then dropped by drop_marked). */
static void mark_kroutes(struct entry *e)
{
    for (size_t i = 0; i < e->n_frags; i++)
        for (size_t j = 0; j < e->frags[i].v->n_kr; j++)
            e->frags[i].v->kr[j].prio = INT64_MIN;
}

/* Appends facts to *v (c->oom when out of memory). */
static void facts_push(struct kgc_translate_state *st, uint64_t **v, size_t *n, size_t *cap,
                       uint64_t facts)
{
    if (*n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 64;
        uint64_t *g = realloc(*v, ncap * sizeof(*g));
        if (!g) {
            st->c.oom = true;
            return;
        }
        *v = g;
        *cap = ncap;
    }
    (*v)[(*n)++] = facts;
}

/* Remembers facts as touched, and as joined when a Kong route joined their run. */
static void touch_facts(struct kgc_translate_state *st, uint64_t facts, bool joined)
{
    facts_push(st, &st->touched, &st->n_touched, &st->cap_touched, facts);
    if (joined)
        facts_push(st, &st->joined, &st->n_joined, &st->cap_joined, facts);
}

static void drop_marked(struct kgc_base_vec *ranked)
{
    size_t w = 0;
    for (size_t i = 0; i < ranked->n; i++) {
        struct tr_kroute *k = ranked->v[i];
        if (k->prio != INT64_MIN)
            ranked->v[w++] = k;
    }
    ranked->n = w;
}

/* A Kong route of a route planned again, as it was: a new Kong route of the same route with the
 * same rule, match, host index, facts, creationTimestamp and hostnames takes its place in the
 * ranking and in its group (tr_rank_assign keeps the places of a run no Kong route left or
 * joined). */
struct old_kr {
    uint64_t facts;
    uint32_t place, rule, match, host;
    bool iso, taken;
    char *created; /* owned; NULL: none */
    char *hosts;   /* owned: the hostnames joined by '\n' */
};

static char *kr_hosts(const struct tr_kroute *k)
{
    size_t len = 1;
    for (uint32_t h = 0; h < k->n_hosts; h++)
        len += strlen(k->hosts[h]) + 1;
    char *s = malloc(len), *p = s;
    for (uint32_t h = 0; s && h < k->n_hosts; h++) {
        size_t n = strlen(k->hosts[h]);
        memcpy(p, k->hosts[h], n);
        p[n] = '\n';
        p += n + 1;
    }
    if (s)
        *p = '\0';
    return s;
}

/* e's Kong routes as they are (before e is planned again); NULL with *n 0 when it has none. */
static struct old_kr *old_krs(struct tr_ctx *c, const struct entry *e, size_t *n)
{
    size_t total = 0;
    for (size_t f = 0; f < e->n_frags; f++)
        total += e->frags[f].v->n_kr;
    *n = 0;
    if (!total)
        return NULL;
    struct old_kr *v = calloc(total, sizeof(*v));
    if (!v) {
        c->oom = true;
        return NULL;
    }
    for (size_t f = 0; f < e->n_frags; f++) {
        for (size_t j = 0; j < e->frags[f].v->n_kr; j++) {
            const struct tr_kroute *k = &e->frags[f].v->kr[j];
            struct old_kr *o = &v[(*n)++];
            *o = (struct old_kr){.facts = k->facts,
                                 .place = k->facts_place,
                                 .rule = k->rule,
                                 .match = k->match,
                                 .host = k->host,
                                 .iso = k->iso,
                                 .hosts = kr_hosts(k)};
            if (k->created && k->created[0] && !(o->created = strdup(k->created)))
                c->oom = true;
            if (!o->hosts)
                c->oom = true;
        }
    }
    return v;
}

/* Matches e's new Kong routes (e NULL: gone) with its old ones: a match keeps the old place,
 * everything else touches its facts (the runs tr_rank_assign places again). Frees old. */
static void match_krs(struct kgc_translate_state *st, struct old_kr *old, size_t n_old,
                      struct entry *e)
{
    for (size_t f = 0; e && f < e->n_frags; f++) {
        for (size_t j = 0; j < e->frags[f].v->n_kr; j++) {
            struct tr_kroute *k = &e->frags[f].v->kr[j];
            tr_kroute_pack(k);
            const char *created = k->created && k->created[0] ? k->created : NULL;
            struct old_kr *same = NULL;
            for (size_t i = 0; i < n_old && !same; i++) {
                struct old_kr *o = &old[i];
                if (o->taken || o->facts != k->facts || o->rule != k->rule ||
                    o->match != k->match || o->host != k->host || o->iso != k->iso ||
                    !o->created != !created || (created && strcmp(o->created, created) != 0))
                    continue;
                char *hosts = kr_hosts(k);
                if (!hosts)
                    st->c.oom = true;
                else if (o->hosts && strcmp(o->hosts, hosts) == 0)
                    same = o;
                free(hosts);
            }
            if (same) {
                same->taken = true;
                k->facts_place = same->place;
            } else {
                touch_facts(st, k->facts, true);
            }
        }
    }
    for (size_t i = 0; i < n_old; i++) {
        if (!old[i].taken)
            touch_facts(st, old[i].facts, false);
        free(old[i].created);
        free(old[i].hosts);
    }
    free(old);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The ranking: the survivors keep their order, the Kong routes of the routes planned again are
 * sorted and merged in (all: everything sorted). Into c->kroutes, then prio/facts/places. */
static void rerank(struct kgc_translate_state *st, bool all)
{
    struct tr_ctx *c = &st->c;
    struct kgc_base_vec fresh = {0};
    /* the Kong routes of the entries planned: all of them, or those replan() planned again */
    const struct kgc_base_vec *from = all ? &st->order : &st->planned;
    for (size_t i = 0; i < from->n && !c->oom; i++) {
        const struct entry *e = from->v[i];
        for (size_t f = 0; f < e->n_frags; f++)
            for (size_t j = 0; j < e->frags[f].v->n_kr; j++)
                if (kgc_base_vec_push(&fresh, &e->frags[f].v->kr[j]) != 0)
                    c->oom = true;
    }
    if (st->n_touched > 1)
        qsort(st->touched, st->n_touched, sizeof(*st->touched), cmp_u64);
    if (st->n_joined > 1)
        qsort(st->joined, st->n_joined, sizeof(*st->joined), cmp_u64);
    if (fresh.n > 1)
        qsort(fresh.v, fresh.n, sizeof(*fresh.v), tr_cmp_precedence);
    struct kgc_base_vec none = {0};
    struct kgc_base_vec *old = all ? &none : &st->ranked;
    size_t n = old->n + fresh.n;
    void **merged = n ? malloc(n * sizeof(*merged)) : NULL;
    if (n && !merged)
        c->oom = true;
    if (!c->oom) {
        /* a merge: each fresh route goes before the first old one not ahead of it, found by
         * bisection (old is in precedence order), the old ones between copied as a block */
        size_t i = 0, w = 0;
        for (size_t j = 0; j < fresh.n; j++) {
            size_t lo = i, hi = old->n;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (tr_cmp_precedence(&old->v[mid], &fresh.v[j]) < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo > i)
                memcpy(merged + w, old->v + i, (lo - i) * sizeof(*merged));
            w += lo - i;
            i = lo;
            merged[w++] = fresh.v[j];
        }
        if (old->n > i)
            memcpy(merged + w, old->v + i, (old->n - i) * sizeof(*merged));
        kgc_base_vec_free(&st->ranked);
        st->ranked = (struct kgc_base_vec){.v = merged, .n = n, .cap = n};
        merged = NULL;
    }
    free(merged);
    kgc_base_vec_free(&fresh);
    c->kroutes = st->ranked; /* borrowed for tr_rank_assign and the writer */
    if (!c->oom)
        tr_rank_assign(c, all ? NULL : st->touched, st->n_touched, st->joined, st->n_joined);
    c->kroutes = (struct kgc_base_vec){0};
    st->n_touched = st->n_joined = 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Plans the routes the changes touch into their entries (all: every route of the snapshot). */
static void replan(struct kgc_translate_state *st, struct kgc_base_vec *keys, bool all,
                   struct hostset *hs, struct kgc_translate_incr_stats *stats)
{
    struct tr_ctx *c = &st->c;
    struct kgc_base_vec routes = {0};
    st->planned.n = 0;
    if (all) {
        tr_collect(c, KGC_API_HTTPROUTE, &routes);
        size_t n_http = routes.n;
        if (!c->oom)
            tr_collect(c, KGC_API_GRPCROUTE, &routes);
        st->n_grpc = routes.n - n_http;
        for (size_t i = 0; i < routes.n && !c->oom; i++) {
            const struct kgc_api_obj *o = routes.v[i];
            /* in tr_collect's order, by meta.key: st->order's (a GRPCRoute and an HTTPRoute of
             * the same name are told apart by kind; only the full pass makes GRPCRoutes'
             * entries) */
            struct entry *e = o->meta.key ? calloc(1, sizeof(*e)) : NULL;
            if (!e || kgc_base_vec_push(&st->order, e) != 0) {
                free(e);
                c->oom = true;
                break;
            }
            e->obj = kgc_api_obj_ref(o);
            entry_plan(st, e);
            bound_update(st, e, 1);
            stats->routes_planned++;
        }
        tr_release_all(&routes);
        return;
    }
    if (keys->n > 1) { /* each route once */
        qsort(keys->v, keys->n, sizeof(*keys->v), cmp_str);
        size_t w = 1;
        for (size_t i = 1; i < keys->n; i++) {
            if (strcmp(keys->v[i], keys->v[w - 1]) == 0)
                free(keys->v[i]);
            else
                keys->v[w++] = keys->v[i];
        }
        keys->n = w;
    }
    /* forget the old Kong routes first, while their records live */
    for (size_t i = 0; i < keys->n; i++) {
        struct entry *e = entry_find(st, KGC_API_HTTPROUTE, keys->v[i]);
        if (e && !e->dirty) {
            mark_kroutes(e);
            hostset_add_rc(c, hs, e->rc);
            e->dirty = true; /* once */
        }
    }
    drop_marked(&st->ranked);
    for (size_t i = 0; i < keys->n && !c->oom; i++) {
        const char *key = keys->v[i];
        struct entry *e = entry_find(st, KGC_API_HTTPROUTE, key);
        struct old_kr *old = NULL;
        size_t n_old = 0;
        const struct kgc_api_obj *old_obj = NULL; /* e's */
        if (e) {
            old = old_krs(c, e, &n_old);
            for (size_t f = 0; f < e->n_frags; f++) {
                struct frag *fr = &e->frags[f];
                vec_remove(&st->frags, fr, cmp_frag);
            }
            bound_update(st, e, -1);
            counts_sub(&st->sum, &e->counts);
            for (size_t f = 0; f < e->n_frags; f++)
                counts_sub(&st->sum, &e->frags[f].counts);
            entry_clear(e);
            old_obj = e->obj;
        }
        const char *slash = strchr(key, '/');
        char ns[KGC_STATUS_NAME_MAX + 1];
        size_t nl = slash ? (size_t)(slash - key) : 0;
        if (!slash || nl >= sizeof(ns)) {
            match_krs(st, old, n_old, NULL); /* e, if any, stays unplanned with its object */
            continue;
        }
        memcpy(ns, key, nl);
        ns[nl] = '\0';
        const struct kgc_api_obj *o = c->lk->get(c->lk->ctx, KGC_API_HTTPROUTE, ns, slash + 1);
        if (!o) {
            match_krs(st, old, n_old, NULL);
            if (e) { /* deleted */
                vec_remove(&st->order, e, cmp_entry);
                entry_free(e); /* and old_obj, its e->obj */
            }
            continue;
        }
        if (e) {
            e->obj = o; /* the same meta.key and kind: e keeps its place in st->order */
            kgc_api_obj_unref(old_obj);
        } else {
            e = calloc(1, sizeof(*e));
            if (e)
                e->obj = o; /* (cmp_entry reads it) */
            if (!e || vec_insert(&st->order, e, cmp_entry) != 0) {
                free(e);
                kgc_api_obj_unref(o);
                match_krs(st, old, n_old, NULL);
                c->oom = true;
                break;
            }
        }
        entry_plan(st, e);
        if (!all && kgc_base_vec_push(&st->planned, e) != 0)
            c->oom = true;
        match_krs(st, old, n_old, e);
        bound_update(st, e, 1);
        hostset_add_rc(c, hs, e->rc);
        stats->routes_planned++;
        for (size_t f = 0; f < e->n_frags && !c->oom; f++)
            if (vec_insert(&st->frags, &e->frags[f], cmp_frag) != 0)
                c->oom = true;
    }
}

static int incremental(struct kgc_translate_state *st, const struct kgc_translate_input *in,
                       const struct kgc_translate_change *changes, size_t n_changes,
                       bool everything, struct kgc_translate_output *out,
                       struct kgc_translate_incr_stats *stats, struct kgc_err *err)
{
    struct kgc_translate_incr_stats scratch;
    if (!stats)
        stats = &scratch;
    memset(stats, 0, sizeof(*stats));
    if (!out)
        return kgc_err_set(err, KGC_EINVAL, "translate: no output to fill");
    memset(out, 0, sizeof(*out));
    if (!st || !in || !in->lookup || !in->lookup->get || (n_changes && !changes))
        return kgc_err_set(err, KGC_EINVAL, "translate: no state, input, lookup or changes");

    if (tr_streams_present(in->lookup)) {
        /* TLSRoutes, TCPRoutes and UDPRoutes are translated by the full pass only (stream.c):
         * while the snapshot holds any, every call is kgc_translate(), and the state starts
         * again from nothing once they are gone */
        state_reset(st);
        stats->full = true;
        stats->why_full = "TLSRoutes, TCPRoutes or UDPRoutes are present (translated in full)";
        int rc = kgc_translate(in, out, err);
        if (rc == 0 && st->seed && out->config_len == st->seed->len &&
            memcmp(out->config, st->seed->s, out->config_len) == 0) {
            free(out->config); /* the seed's bytes: the seed (kgc_translate_state_seed) */
            out->text = kgc_translate_text_ref(st->seed);
            out->config = st->seed->s;
        }
        return rc;
    }
    char *settings = settings_of(in);
    const char *why = why_full(st, in, settings, changes, n_changes, everything);
    struct tr_ctx *c = &st->c;
    bool all = why != NULL;
    if (all) {
        state_reset(st);
        st->settings = settings;
        settings = NULL;
    }
    free(settings);
    stats->full = all;
    stats->why_full = why;
    tr_ctx_setup(c, in);
    c->oom = !st->settings;
    c->too_big = false;

    struct kgc_base_vec keys = {0};
    struct hostset hs = {0};
    kgc_strmap_init(&hs.names);
    /* (every entry's dirty flag is false: sweep() leaves it so) */
    if (all && !c->oom) {
        if (tr_index_slices(c) != 0)
            c->oom = true;
        if (!c->oom && c->lk->foreach)
            c->lk->foreach (c->lk->ctx, KGC_API_ENDPOINTSLICE, NULL, slice_map_visit, st);
        if (st->slice_by_key.n > 1)
            qsort(st->slice_by_key.v, st->slice_by_key.n, sizeof(*st->slice_by_key.v),
                  cmp_slice_key);
    } else if (!c->oom) {
        collect_dirty(st, changes, n_changes, &keys);
    }
    if (!c->oom)
        replan(st, &keys, all, &hs, stats);
    for (size_t i = 0; i < keys.n; i++)
        free(keys.v[i]);
    kgc_base_vec_free(&keys);
    if (all && !c->oom) {
        for (size_t i = 0; i < st->order.n && !c->oom; i++) {
            struct entry *e = st->order.v[i];
            for (size_t f = 0; f < e->n_frags; f++)
                if (kgc_base_vec_push(&st->frags, &e->frags[f]) != 0)
                    c->oom = true;
        }
        if (st->frags.n > 1)
            qsort(st->frags.v, st->frags.n, sizeof(*st->frags.v), cmp_frag);
    }

    /* the ranking, and the fragments whose Kong route ids it moved */
    if (!c->oom)
        rerank(st, all);
    struct kgc_base_buf wbuf = {0};
    /* the writer reads the ranking's size (traditional: created_at = n - priority + 1,
     * writer.c): borrowed for the writing as for the limits below */
    c->kroutes = st->ranked;
    bool all_limits = all || hs.open;
    sweep(st, all, all_limits, &hs, &wbuf, stats);

    /* what reads every route: the limits; then isolation and certificates (Gateways, Secrets) */
    c->quiet = false;
    c->kroutes = st->ranked;
    if (!c->oom)
        run_limits(st, all_limits);
    hostset_free(&hs);
    if (!c->oom && (all || !st->head.valid || head_stale(changes, n_changes)))
        head_write(st);
    else
        stats->head_kept = true;
    c->quiet = true;
    const struct head_cache *h = &st->head;
    struct kgc_translate_counts counts = h->counts;
    size_t same = 0;
    struct kgc_translate_text *text =
        c->oom ? NULL
        : all
            ? write_all(st, h->head, h->head_len, h->iso, h->iso_len, &wbuf, stats)
            : assemble(st, h->head, h->head_len, h->iso, h->iso_len, &same, &stats->bytes_in_place);
    kgc_base_buf_free(&wbuf);
    c->kroutes = (struct kgc_base_vec){0};
    c->routes.n = c->svcs.n = 0; /* borrowed: the entries own them */
    int rc = text && !c->oom ? gather_problems(st, out) : KGC_ENOMEM;
    tr_free_problems(c->problems, c->n_problems);
    c->problems = NULL;
    c->n_problems = c->cap_problems = 0;
    if (rc != 0) {
        kgc_translate_text_unref(text);
        bool too_big = c->too_big;
        state_reset(st); /* start again next time */
        memset(out, 0, sizeof(*out));
        if (too_big)
            return kgc_err_set(err, KGC_E2BIG,
                               "translate: the configuration would exceed 4 GiB, the incremental "
                               "translator's bound (--sync-incremental=false has none)");
        return kgc_err_set(err, KGC_ENOMEM, "translate: out of memory");
    }
    if (all) { /* (write_all() counted the fragments as it wrote them) */
        memset(&st->sum, 0, sizeof(st->sum));
        entries_counts(st, &st->sum);
    }
    struct counts32 sum32 = counts_pack(&st->sum); /* (a cluster's entity counts fit 32 bits) */
    counts_add(&counts, &sum32);
    st->valid = true;
    /* the bytes both documents begin with: their MD5 states are the kept checkpoints' */
    stats->hashed_bytes = md5_hex_from(&st->md5, text->s, text->len, same, out->hash);
    st->prev_serial = st->doc ? st->doc->serial : 0;
    st->doc_same = all ? 0 : same;
    kgc_translate_text_unref(st->doc);
    st->doc = kgc_translate_text_ref(text);
    out->text = text; /* the reference assemble() gave */
    out->config = text->s;
    out->config_len = text->len;
    out->counts = counts;
    /* from nothing: what the call freed (the slice index's first pass, its working vectors) goes
     * back to the system, as after kgc_translate() */
    if (all) {
        vec_fit(&st->order);
        vec_fit(&st->frags);
        vec_fit(&st->ranked);
        vec_fit(&st->slice_by_key);
        vec_fit(&c->slices);
        kgc_jsonscan_release(text->len);
    }
    return 0;
}

int kgc_translate_incremental(struct kgc_translate_state *st, const struct kgc_translate_input *in,
                              const struct kgc_translate_change *changes, size_t n_changes,
                              bool everything, struct kgc_translate_output *out,
                              struct kgc_translate_incr_stats *stats, struct kgc_err *err)
{
    int rc = incremental(st, in, changes, n_changes, everything, out, stats, err);
    if (st) { /* the seed served this call only: never a text the caller dropped since */
        kgc_translate_text_unref(st->seed);
        st->seed = NULL;
    }
    return rc;
}

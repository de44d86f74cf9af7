/* listenercache: the in-memory state, its persistence in the store (kgc/store.h) and the view
 * snapshots.
 *
 * Locks, in order: mu (the entries; held for in-memory work only) → snap_mu (the current snapshot
 * pointer; held for a pointer load/store and a reference increment). write_mu serialises this
 * module's store writes (an entry and the entries it prunes) and is never taken with mu held, so
 * a slow fsync delays only other writers. */
#include "kgc/listenercache.h"

#include "kgc/log.h"
#include "kgc/store.h"
#include "kgc/strmap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#define COMPONENT  "listenercache"
#define KEY_PREFIX "inst:" /* one store record per instance: "inst:<url>" */
#define KEY_RECORD                                                                                 \
    "rec:" /* other modules' records in the same store (the syncer's), not read here */
#define DIR_HINT "give a writable --listener-cache-dir, or an empty one to disable the cache"

/* One instance, in memory. */
struct entry {
    char url[KGC_KONG_URL_MAX]; /* the strmap key */
    bool known;                 /* info holds listeners (from a probe or from LMDB) */
    bool live;                  /* the instance is ready now */
    bool persisted;             /* LMDB holds this generation */
    struct kgc_kong_info info;
    uint64_t seen_ms;             /* wall ms last seen live (0: never) */
    uint64_t persisted_seen_ms;   /* seen_ms as stored */
    uint64_t gen;                 /* bumped on every change that needs a write */
    char reason[KGC_ERR_MSG_MAX]; /* why it is down ("" when live or unknown) */
};

/* An immutable view, shared by readers. */
struct snapshot {
    int refs;
    enum kgc_listenercache_source source;
    uint64_t seen_ms;
    size_t n_live;
    struct kgc_kong_listeners listeners;
    char version[64], node_id[64], router_flavor[32], database[32];
    char url[KGC_KONG_URL_MAX];
    char reason[KGC_ERR_MSG_MAX];
};

struct kgc_listenercache {
    char *dir; /* NULL: persistence disabled */
    unsigned max_mb, max_entries;
    const struct kgc_clock *wall; /* NULL: CLOCK_REALTIME */
    struct kgc_store *store;      /* NULL when disabled */

    pthread_mutex_t mu;        /* guards entries and the warned flags */
    struct kgc_strmap entries; /* url → struct entry * */
    bool warned_full, warned_io;

    pthread_mutex_t write_mu; /* serialises this module's store writes */

    pthread_mutex_t snap_mu; /* guards snap (the pointer only) */
    struct snapshot *snap;

    struct {
        kgc_listenercache_changed_fn fn;
        void *ctx;
    } subs[KGC_LISTENERCACHE_MAX_SUBSCRIBERS]; /* set before feeding starts; read unlocked */
    size_t n_subs;
};

/* "The view changed", after the new snapshot is in place (no lock held). */
static void announce(struct kgc_listenercache *c)
{
    for (size_t i = 0; i < c->n_subs; i++)
        c->subs[i].fn(c->subs[i].ctx);
}

int kgc_listenercache_subscribe(struct kgc_listenercache *c, kgc_listenercache_changed_fn fn,
                                void *ctx)
{
    if (!c || !fn)
        return KGC_EINVAL;
    if (c->n_subs == KGC_LISTENERCACHE_MAX_SUBSCRIBERS)
        return KGC_ENOSPC;
    c->subs[c->n_subs].fn = fn;
    c->subs[c->n_subs].ctx = ctx;
    c->n_subs++;
    return 0;
}

void kgc_listenercache_options_default(struct kgc_listenercache_options *o)
{
    memset(o, 0, sizeof(*o));
    o->dir = KGC_LISTENERCACHE_DEFAULT_DIR;
    o->max_mb = 16;
    o->max_entries = 64;
}

const char *kgc_listenercache_source_name(enum kgc_listenercache_source s)
{
    switch (s) {
    case KGC_LISTENERCACHE_LIVE:
        return "live";
    case KGC_LISTENERCACHE_CACHED:
        return "cached";
    case KGC_LISTENERCACHE_NONE:
        break;
    }
    return "none";
}

static uint64_t now_ms(const struct kgc_listenercache *c)
{
    if (c->wall)
        return kgc_clock_now(c->wall) / KGC_NS_PER_MS;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- snapshots --------------------------------------------------------------------------------
 */

static void snapshot_unref(struct snapshot *s)
{
    if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        kgc_kong_listeners_free(&s->listeners);
        free(s);
    }
}

static void set_identity(struct snapshot *s, const struct entry *e)
{
    snprintf(s->url, sizeof(s->url), "%s", e->url);
    snprintf(s->version, sizeof(s->version), "%s", e->info.version);
    snprintf(s->node_id, sizeof(s->node_id), "%s", e->info.node_id);
    snprintf(s->router_flavor, sizeof(s->router_flavor), "%s", e->info.router_flavor);
    snprintf(s->database, sizeof(s->database), "%s", e->info.database);
}

/* Builds the view from the entries (mu held) and swaps it in. On allocation failure the old view
 * stays (and the next change retries). */
static void rebuild(struct kgc_listenercache *c)
{
    struct snapshot *s = calloc(1, sizeof(*s));
    if (!s) {
        kgc_error(COMPONENT, "out of memory: listener view not updated");
        return;
    }
    s->refs = 1;
    const struct entry *first_live = NULL, *best = NULL, *down = NULL;
    size_t pos = 0, n_entries = 0;
    const char *key;
    void *val;
    bool oom = false;
    while (kgc_strmap_next(&c->entries, &pos, &key, &val)) {
        const struct entry *e = val;
        n_entries++;
        if (e->live && e->known) {
            s->n_live++;
            oom |= kgc_kong_listeners_merge(&s->listeners, &e->info.listeners) != 0;
            if (!first_live || strcmp(e->url, first_live->url) < 0)
                first_live = e;
        } else if (e->known && (!best || e->seen_ms > best->seen_ms ||
                                (e->seen_ms == best->seen_ms && strcmp(e->url, best->url) < 0))) {
            best = e;
        }
        if (!e->live && e->reason[0] && (!down || strcmp(e->url, down->url) < 0))
            down = e;
    }
    if (oom) {
        kgc_kong_listeners_free(&s->listeners);
        free(s);
        kgc_error(COMPONENT, "out of memory: listener view not updated");
        return;
    }
    if (first_live) {
        s->source = KGC_LISTENERCACHE_LIVE;
        set_identity(s, first_live);
    } else {
        if (down)
            snprintf(s->reason, sizeof(s->reason), "kong admin API unreachable: %s", down->reason);
        else if (n_entries == 0 || !best)
            snprintf(s->reason, sizeof(s->reason), "no Kong instance has answered yet");
        else
            snprintf(s->reason, sizeof(s->reason), "no Kong instance probed since kgc started");
        if (best && c->dir) { /* no directory: no listener cache, only live listeners count */
            s->source = KGC_LISTENERCACHE_CACHED;
            s->seen_ms = best->seen_ms;
            set_identity(s, best);
            if (kgc_kong_listeners_copy(&s->listeners, &best->info.listeners)) {
                free(s);
                kgc_error(COMPONENT, "out of memory: listener view not updated");
                return;
            }
        }
    }
    pthread_mutex_lock(&c->snap_mu);
    struct snapshot *old = c->snap;
    c->snap = s;
    pthread_mutex_unlock(&c->snap_mu);
    snapshot_unref(old);
}

void kgc_listenercache_view(struct kgc_listenercache *c, struct kgc_listenercache_view *out)
{
    static const struct kgc_kong_listeners none;
    pthread_mutex_lock(&c->snap_mu);
    struct snapshot *s = c->snap;
    __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&c->snap_mu);
    out->source = s->source;
    out->stale = s->source == KGC_LISTENERCACHE_CACHED;
    out->age_ms = 0;
    if (out->stale) {
        uint64_t now = now_ms(c);
        out->age_ms = now > s->seen_ms ? now - s->seen_ms : 0;
    }
    out->listeners = s->source == KGC_LISTENERCACHE_NONE ? &none : &s->listeners;
    out->version = s->version;
    out->node_id = s->node_id;
    out->router_flavor = s->router_flavor;
    out->database = s->database;
    out->url = s->url;
    out->n_live = s->n_live;
    out->reason = s->reason;
    out->snapshot_ = s;
}

void kgc_listenercache_view_release(struct kgc_listenercache_view *v)
{
    if (!v || !v->snapshot_)
        return;
    snapshot_unref(v->snapshot_);
    v->snapshot_ = NULL;
}

static struct entry *entry_get(struct kgc_listenercache *c, const char *url, bool create)
{
    struct entry *e = kgc_strmap_get(&c->entries, url);
    if (e || !create)
        return e;
    e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    snprintf(e->url, sizeof(e->url), "%s", url);
    if (kgc_strmap_put(&c->entries, e->url, e, NULL)) {
        free(e);
        return NULL;
    }
    return e;
}

static void entry_free(struct entry *e)
{
    kgc_kong_info_free(&e->info);
    free(e);
}

static void free_entries(struct kgc_listenercache *c)
{
    size_t pos = 0;
    const char *key;
    void *val;
    while (kgc_strmap_next(&c->entries, &pos, &key, &val))
        entry_free(val);
    kgc_strmap_destroy(&c->entries);
}

/* ---- persistence ----------------------------------------------------------------------------- */

/* The store's check at open (kgc_store_options.check): "inst:<url>" must decode and name its own
 * URL; "rec:" records belong to other modules; any other name is unknown. 1 (damaged) with why,
 * KGC_ENOMEM, or 0. */
static int check_record(void *ctx, const char *name, size_t name_len, const void *data, size_t len,
                        char *why, size_t why_size)
{
    (void)ctx;
    size_t plen = strlen(KEY_PREFIX);
    if (name_len > strlen(KEY_RECORD) && memcmp(name, KEY_RECORD, strlen(KEY_RECORD)) == 0)
        return 0; /* read by its owner (the syncer's "rec:sync-accepted", kgc/sync.h) */
    if (name_len <= plen || memcmp(name, KEY_PREFIX, plen) != 0) {
        snprintf(why, why_size, "unknown key \"%.*s\"", (int)(name_len > 64 ? 64 : name_len), name);
        return 1;
    }
    struct kgc_listenercache_entry d;
    struct kgc_err err = {0};
    int drc = kgc_listenercache_decode(data, len, &d, &err);
    if (drc == KGC_ENOMEM)
        return KGC_ENOMEM;
    int result = 0;
    if (drc || name_len - plen != strlen(d.url) ||
        memcmp(name + plen, d.url, name_len - plen) != 0) {
        snprintf(why, why_size, "entry \"%.*s\": %s", (int)(name_len > 200 ? 200 : name_len), name,
                 drc ? err.msg : "key and url differ");
        result = 1;
    }
    kgc_listenercache_entry_free(&d);
    return result;
}

/* kgc_store_iterate() callback: one checked "inst:" record into the entries (open's thread). */
static int load_one(void *ctx, const char *name, size_t name_len, const void *data, size_t len)
{
    struct kgc_listenercache *c = ctx;
    (void)name;
    (void)name_len;
    struct kgc_listenercache_entry d;
    int rc = kgc_listenercache_decode(data, len, &d, NULL);
    if (rc != 0)
        return rc; /* checked at open: only ENOMEM gets here */
    struct entry *e = entry_get(c, d.url, true);
    if (!e) {
        kgc_listenercache_entry_free(&d);
        return KGC_ENOMEM;
    }
    kgc_kong_info_free(&e->info);
    e->known = true;
    e->persisted = true;
    e->info = d.info;
    e->seen_ms = e->persisted_seen_ms = d.last_seen_live_ms;
    return 0;
}

/* Opens the store in c->dir and loads the stored entries as CACHED. */
static int open_store(struct kgc_listenercache *c, struct kgc_err *err)
{
    struct kgc_store_options so;
    kgc_store_options_default(&so);
    so.dir = c->dir;
    so.max_mb = c->max_mb;
    so.schema = KGC_LISTENERCACHE_SCHEMA;
    so.label = "listener cache";
    so.hint = DIR_HINT;
    so.component = COMPONENT;
    so.check = check_record;
    so.check_ctx = c;
    int rc = kgc_store_open(&so, &c->store, err);
    if (rc != 0)
        return rc;
    rc = kgc_store_iterate(c->store, KEY_PREFIX, load_one, c, err);
    if (rc == KGC_ENOMEM)
        kgc_err_set(err, rc, "listener cache %s: out of memory loading entries", c->dir);
    return rc;
}

int kgc_listenercache_open(const struct kgc_listenercache_options *o,
                           struct kgc_listenercache **out, struct kgc_err *err)
{
    struct kgc_listenercache_options def;
    if (!o) {
        kgc_listenercache_options_default(&def);
        o = &def;
    }
    *out = NULL;
    struct kgc_listenercache *c = calloc(1, sizeof(*c));
    if (!c)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    c->max_mb = o->max_mb ? o->max_mb : 16;
    c->max_entries = o->max_entries ? o->max_entries : 64;
    c->wall = o->wall_clock;
    kgc_strmap_init(&c->entries);
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->write_mu, NULL);
    pthread_mutex_init(&c->snap_mu, NULL);
    int rc = 0;
    if (o->dir && o->dir[0]) {
        if (!(c->dir = strdup(o->dir))) {
            rc = kgc_err_set(err, KGC_ENOMEM, "out of memory");
            goto out_close;
        }
        if ((rc = open_store(c, err)))
            goto out_close;
        kgc_info(COMPONENT, "listener cache open", KGC_F_STR("dir", c->dir),
                 KGC_F_INT("entries", kgc_strmap_len(&c->entries)), KGC_F_INT("max_mb", c->max_mb));
    } else {
        kgc_info(COMPONENT,
                 "listener cache disabled (--listener-cache-dir is empty): last-known Kong "
                 "listeners will not survive kgc restarts");
    }
    pthread_mutex_lock(&c->mu);
    rebuild(c);
    pthread_mutex_unlock(&c->mu);
    if (!c->snap) {
        rc = kgc_err_set(err, KGC_ENOMEM, "out of memory");
        goto out_close;
    }
    *out = c;
    return 0;
out_close:
    kgc_listenercache_close(c);
    return rc;
}

bool kgc_listenercache_persistent(const struct kgc_listenercache *c)
{
    return c->store != NULL;
}

const char *kgc_listenercache_moved_aside(const struct kgc_listenercache *c)
{
    return c->store ? kgc_store_moved_aside(c->store) : "";
}

struct kgc_store *kgc_listenercache_store(struct kgc_listenercache *c)
{
    return c ? c->store : NULL;
}

/* ---- writes ---------------------------------------------------------------------------------- */

/* What a feeder hands to write_entry(): an encoded entry and the generation it encodes. */
struct pending_write {
    char url[KGC_KONG_URL_MAX];
    unsigned char *buf;
    size_t len;
    uint64_t gen, seen_ms;
    char *prune[16]; /* keys of entries pruned to respect max_entries (malloc'd) */
    size_t n_prune;
};

/* Encodes e into w (mu held). Returns 0 or KGC_ENOMEM. */
static int prepare_write(struct kgc_listenercache *c, struct entry *e, struct pending_write *w)
{
    struct kgc_listenercache_entry d = {
        .info = e->info, .last_seen_live_ms = e->seen_ms, .written_ms = now_ms(c)};
    snprintf(d.url, sizeof(d.url), "%s", e->url);
    snprintf(w->url, sizeof(w->url), "%s", e->url);
    w->gen = ++e->gen;
    w->seen_ms = e->seen_ms;
    e->persisted = false;
    return c->store ? kgc_listenercache_encode(&d, &w->buf, &w->len) : 0;
}

/* Drops the least recently seen, not live, entries beyond max_entries (mu held). */
static void prune(struct kgc_listenercache *c, struct pending_write *w)
{
    for (;;) {
        size_t pos = 0, known = 0;
        const char *key;
        void *val;
        struct entry *oldest = NULL;
        while (kgc_strmap_next(&c->entries, &pos, &key, &val)) {
            struct entry *e = val;
            if (!e->known)
                continue;
            known++;
            if (!e->live && strcmp(e->url, w->url) != 0 &&
                (!oldest || e->seen_ms < oldest->seen_ms))
                oldest = e;
        }
        if (known <= c->max_entries || !oldest || w->n_prune == 16)
            return;
        size_t n = strlen(KEY_PREFIX) + strlen(oldest->url) + 1;
        char *k = malloc(n);
        if (!k)
            return;
        snprintf(k, n, "%s%s", KEY_PREFIX, oldest->url);
        w->prune[w->n_prune++] = k;
        kgc_info(COMPONENT, "listener cache entry pruned (max entries reached)",
                 KGC_F_STR("url", oldest->url), KGC_F_INT("max_entries", c->max_entries));
        kgc_strmap_remove(&c->entries, oldest->url);
        entry_free(oldest);
    }
}

/* Writes a prepared entry (no lock held on entry), then marks it persisted if nothing changed
 * meanwhile. Frees what w holds. Returns 0 or a KGC code with a reason. */
static int write_entry(struct kgc_listenercache *c, struct pending_write *w, struct kgc_err *err)
{
    int rc = 0;
    struct kgc_err serr = {0};
    if (!c->store)
        goto out_free;
    char key[KGC_KONG_URL_MAX + 8];
    snprintf(key, sizeof(key), "%s%s", KEY_PREFIX, w->url);
    pthread_mutex_lock(&c->write_mu);
    rc = kgc_store_put(c->store, key, w->buf, w->len, &serr);
    if (rc == 0 && w->n_prune)
        rc = kgc_store_delete(c->store, (const char *const *)w->prune, w->n_prune, &serr);
    pthread_mutex_unlock(&c->write_mu);
    pthread_mutex_lock(&c->mu);
    struct entry *e = entry_get(c, w->url, false);
    if (rc == 0) {
        if (e && e->gen == w->gen) {
            e->persisted = true;
            e->persisted_seen_ms = w->seen_ms;
        }
        c->warned_full = c->warned_io = false;
    } else {
        bool *warned = rc == KGC_ENOSPC ? &c->warned_full : &c->warned_io;
        if (rc == KGC_ENOSPC)
            kgc_err_set(err, rc,
                        "listener cache %s is full (--listener-cache-max-mb=%u): %s; serving "
                        "from memory",
                        c->dir, c->max_mb, serr.msg);
        else
            kgc_err_set(err, rc, "listener cache %s: write failed: %s; serving from memory", c->dir,
                        serr.msg);
        if (!*warned)
            kgc_warn(COMPONENT, "listener cache write failed", KGC_F_STR("url", w->url),
                     KGC_F_STR("error", serr.msg), KGC_F_INT("max_mb", c->max_mb));
        *warned = true;
    }
    pthread_mutex_unlock(&c->mu);
out_free:
    free(w->buf);
    for (size_t i = 0; i < w->n_prune; i++)
        free(w->prune[i]);
    return rc;
}

static bool identity_equal(const struct kgc_kong_info *a, const struct kgc_kong_info *b)
{
    return strcmp(a->version, b->version) == 0 && strcmp(a->edition, b->edition) == 0 &&
           strcmp(a->node_id, b->node_id) == 0 && strcmp(a->router_flavor, b->router_flavor) == 0 &&
           strcmp(a->database, b->database) == 0;
}

int kgc_listenercache_set_live(struct kgc_listenercache *c, const char *url,
                               const struct kgc_kong_info *info, uint64_t seen_wall_ms,
                               struct kgc_err *err)
{
    struct pending_write w = {0};
    bool write = false;
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    struct entry *e = entry_get(c, url, true);
    if (!e) {
        pthread_mutex_unlock(&c->mu);
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    }
    bool changed = !e->known || !identity_equal(&e->info, info) ||
                   !kgc_kong_listeners_equal(&e->info.listeners, &info->listeners);
    bool was_new = !e->known;
    if (changed) {
        struct kgc_kong_info copy;
        if (kgc_kong_info_copy(&copy, info)) {
            pthread_mutex_unlock(&c->mu);
            return kgc_err_set(err, KGC_ENOMEM, "out of memory");
        }
        kgc_kong_info_free(&e->info);
        e->info = copy;
    }
    bool rebuild_view = changed || !e->live || e->reason[0];
    e->known = true;
    e->live = true;
    e->reason[0] = '\0';
    e->seen_ms = seen_wall_ms ? seen_wall_ms : now_ms(c);
    if (changed || (!e->persisted && c->store)) {
        if ((rc = prepare_write(c, e, &w))) {
            pthread_mutex_unlock(&c->mu);
            return kgc_err_set(err, rc, "out of memory");
        }
        write = true;
        if (was_new)
            prune(c, &w);
    }
    if (rebuild_view)
        rebuild(c);
    pthread_mutex_unlock(&c->mu);
    if (rebuild_view)
        announce(c);
    if (changed)
        kgc_info(COMPONENT, "listeners updated", KGC_F_STR("url", url),
                 KGC_F_INT("proxy", info->listeners.n_proxy),
                 KGC_F_INT("stream", info->listeners.n_stream),
                 KGC_F_STR("version", info->version));
    return write ? write_entry(c, &w, err) : 0;
}

int kgc_listenercache_set_down(struct kgc_listenercache *c, const char *url, const char *reason,
                               uint64_t last_ok_wall_ms, struct kgc_err *err)
{
    struct pending_write w = {0};
    bool write = false;
    pthread_mutex_lock(&c->mu);
    struct entry *e = entry_get(c, url, true);
    if (!e) {
        pthread_mutex_unlock(&c->mu);
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    }
    e->live = false;
    snprintf(e->reason, sizeof(e->reason), "%s",
             reason && reason[0] ? reason : "instance not ready");
    if (last_ok_wall_ms > e->seen_ms)
        e->seen_ms = last_ok_wall_ms;
    if (e->known && c->store && (!e->persisted || e->seen_ms != e->persisted_seen_ms)) {
        if (prepare_write(c, e, &w) == 0)
            write = true;
    }
    rebuild(c);
    pthread_mutex_unlock(&c->mu);
    announce(c);
    return write ? write_entry(c, &w, err) : 0;
}

int kgc_listenercache_touch(struct kgc_listenercache *c, const char *url, uint64_t seen_wall_ms,
                            struct kgc_err *err)
{
    struct pending_write w = {0};
    bool write = false;
    pthread_mutex_lock(&c->mu);
    struct entry *e = entry_get(c, url, false);
    if (e && e->known && e->live && c->store) {
        e->seen_ms = seen_wall_ms ? seen_wall_ms : now_ms(c);
        if (prepare_write(c, e, &w) == 0)
            write = true;
    }
    pthread_mutex_unlock(&c->mu);
    return write ? write_entry(c, &w, err) : 0;
}

void kgc_listenercache_forget(struct kgc_listenercache *c, const char *url)
{
    pthread_mutex_lock(&c->mu);
    struct entry *e = entry_get(c, url, false);
    bool found = e != NULL;
    if (e) {
        if (!e->known) {
            kgc_strmap_remove(&c->entries, e->url);
            entry_free(e);
        } else {
            e->live = false;
            e->reason[0] = '\0';
        }
        rebuild(c);
    }
    pthread_mutex_unlock(&c->mu);
    if (found)
        announce(c);
}

/* ---- attach to the probers ------------------------------------------------------------------- */

static void on_kong_event(const struct kgc_kong_event *ev, void *ctx)
{
    struct kgc_listenercache *c = ctx;
    struct kgc_err err = {0};
    switch (ev->type) {
    case KGC_KONG_EV_READY:
    case KGC_KONG_EV_RESTARTED: /* a new node_id: the view's identity changes */
    case KGC_KONG_EV_LISTENERS_CHANGED:
        if (ev->state->have_info)
            kgc_listenercache_set_live(c, ev->url, &ev->state->info, ev->state->last_ok_wall_ms,
                                       &err);
        break;
    case KGC_KONG_EV_UNREACHABLE:
        kgc_listenercache_set_down(c, ev->url, ev->reason, ev->state->last_ok_wall_ms, &err);
        break;
    case KGC_KONG_EV_HEARTBEAT:
        kgc_listenercache_touch(c, ev->url, ev->state->last_ok_wall_ms, &err);
        break;
    case KGC_KONG_EV_REMOVED:
        kgc_listenercache_forget(c, ev->url);
        break;
    default:
        break;
    }
    /* write failures were logged (once per kind) by write_entry() */
}

int kgc_listenercache_attach(struct kgc_listenercache *c, struct kgc_kong *k)
{
    return kgc_kong_subscribe(k, on_kong_event, c);
}

/* ---- direct reads ---------------------------------------------------------------------------- */

int kgc_listenercache_get(struct kgc_listenercache *c, const char *url,
                          struct kgc_listenercache_entry *out, struct kgc_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!c->store)
        return kgc_err_set(err, KGC_ENOENT, "listener cache: persistence disabled");
    char key[KGC_KONG_URL_MAX + 8];
    int n = snprintf(key, sizeof(key), "%s%s", KEY_PREFIX, url);
    if (n < 0 || (size_t)n >= sizeof(key))
        return kgc_err_set(err, KGC_ENOENT, "listener cache: URL too long");
    char *data = NULL;
    size_t len = 0;
    struct kgc_err serr = {0};
    int rc = kgc_store_get(c->store, key, &data, &len, &serr);
    if (rc == 0)
        rc = kgc_listenercache_decode(data, len, out, err);
    else if (rc == KGC_ENOENT)
        rc = kgc_err_set(err, KGC_ENOENT, "listener cache: no entry for %s", url);
    else
        rc = kgc_err_set(err, rc, "listener cache: %s", serr.msg);
    free(data);
    return rc;
}

/* ---- dump ------------------------------------------------------------------------------------ */

static json_object *listeners_json(const struct kgc_kong_listener *v, size_t n, bool proxy)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; a && i < n; i++) {
        json_object *o = json_object_new_object();
        if (!o)
            continue;
        json_object_object_add(o, "ip", json_object_new_string(v[i].ip));
        json_object_object_add(o, "port", json_object_new_int(v[i].port));
        json_object_object_add(o, "ssl", json_object_new_boolean(v[i].ssl));
        if (proxy)
            json_object_object_add(o, "http2", json_object_new_boolean(v[i].http2));
        else
            json_object_object_add(o, "udp", json_object_new_boolean(v[i].udp));
        json_object_object_add(o, "proxy_protocol", json_object_new_boolean(v[i].proxy_protocol));
        json_object_array_add(a, o);
    }
    return a;
}

static int entry_ptr_cmp(const void *a, const void *b)
{
    return strcmp((*(struct entry *const *)a)->url, (*(struct entry *const *)b)->url);
}

static json_object *entry_json(const struct entry *e, uint64_t now)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    const char *src = e->live && e->known ? "live" : e->known ? "cached" : "none";
    json_object_object_add(o, "url", json_object_new_string(e->url));
    json_object_object_add(o, "source", json_object_new_string(src));
    uint64_t age = e->live || !e->seen_ms || now < e->seen_ms ? 0 : now - e->seen_ms;
    json_object_object_add(o, "age_ms", json_object_new_int64((int64_t)age));
    if (e->seen_ms) {
        char buf[32];
        time_t t = (time_t)(e->seen_ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, sizeof(buf) - n, ".%03uZ", (unsigned)(e->seen_ms % 1000));
        json_object_object_add(o, "last_seen_live", json_object_new_string(buf));
    } else {
        json_object_object_add(o, "last_seen_live", NULL);
    }
    json_object_object_add(o, "version", json_object_new_string(e->info.version));
    json_object_object_add(o, "node_id", json_object_new_string(e->info.node_id));
    json_object_object_add(o, "router_flavor", json_object_new_string(e->info.router_flavor));
    json_object_object_add(o, "database", json_object_new_string(e->info.database));
    json_object_object_add(o, "persisted", json_object_new_boolean(e->persisted));
    json_object_object_add(o, "error", json_object_new_string(e->reason));
    json_object_object_add(
        o, "proxy_listeners",
        listeners_json(e->info.listeners.proxy, e->info.listeners.n_proxy, true));
    json_object_object_add(
        o, "stream_listeners",
        listeners_json(e->info.listeners.stream, e->info.listeners.n_stream, false));
    return o;
}

char *kgc_listenercache_dump(struct kgc_listenercache *c)
{
    json_object *root = json_object_new_object();
    json_object *inst = json_object_new_array();
    json_object *view = json_object_new_object();
    if (!root || !inst || !view) {
        json_object_put(root);
        json_object_put(inst);
        json_object_put(view);
        return NULL;
    }
    json_object_object_add(root, "persistent", json_object_new_boolean(c->store != NULL));
    json_object_object_add(root, "dir", c->dir ? json_object_new_string(c->dir) : NULL);

    struct kgc_listenercache_view v;
    kgc_listenercache_view(c, &v);
    json_object_object_add(view, "source",
                           json_object_new_string(kgc_listenercache_source_name(v.source)));
    json_object_object_add(view, "stale", json_object_new_boolean(v.stale));
    json_object_object_add(view, "age_ms", json_object_new_int64((int64_t)v.age_ms));
    json_object_object_add(view, "n_live", json_object_new_int64((int64_t)v.n_live));
    json_object_object_add(view, "reason", json_object_new_string(v.reason));
    kgc_listenercache_view_release(&v);
    json_object_object_add(root, "view", view);

    uint64_t now = now_ms(c);
    pthread_mutex_lock(&c->mu);
    size_t n = kgc_strmap_len(&c->entries), pos = 0, i = 0;
    struct entry **sorted = n ? calloc(n, sizeof(struct entry *)) : NULL;
    const char *key;
    void *val;
    while (sorted && kgc_strmap_next(&c->entries, &pos, &key, &val))
        sorted[i++] = val;
    if (sorted)
        qsort(sorted, n, sizeof(struct entry *), entry_ptr_cmp);
    for (i = 0; sorted && i < n; i++) {
        json_object *o = entry_json(sorted[i], now);
        if (o)
            json_object_array_add(inst, o);
    }
    pthread_mutex_unlock(&c->mu);
    free(sorted);
    json_object_object_add(root, "instances", inst);

    const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE);
    char *outs = s ? strdup(s) : NULL;
    json_object_put(root);
    return outs;
}

/* ---- close ----------------------------------------------------------------------------------- */

void kgc_listenercache_close(struct kgc_listenercache *c)
{
    if (!c)
        return;
    if (c->store) {
        /* Record when live instances were last seen (now) and anything not yet stored. */
        uint64_t now = now_ms(c);
        pthread_mutex_lock(&c->mu);
        size_t n = kgc_strmap_len(&c->entries), pos = 0, k = 0;
        struct pending_write *w = n ? calloc(n, sizeof(*w)) : NULL;
        const char *key;
        void *val;
        while (w && kgc_strmap_next(&c->entries, &pos, &key, &val)) {
            struct entry *e = val;
            if (!e->known || (!e->live && e->persisted))
                continue;
            if (e->live)
                e->seen_ms = now;
            if (prepare_write(c, e, &w[k]) == 0)
                k++;
        }
        pthread_mutex_unlock(&c->mu);
        for (size_t i = 0; i < k; i++)
            write_entry(c, &w[i], NULL);
        free(w);
    }
    kgc_store_close(c->store);
    c->store = NULL;
    free_entries(c);
    snapshot_unref(c->snap);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->write_mu);
    pthread_mutex_destroy(&c->snap_mu);
    free(c->dir);
    free(c);
}

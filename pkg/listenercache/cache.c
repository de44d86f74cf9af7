/* listenercache: the in-memory state, the LMDB store and the view snapshots.
 *
 * Locks, in order: mu (the entries; held for in-memory work only) → snap_mu (the current snapshot
 * pointer; held for a pointer load/store and a reference increment). write_mu serialises LMDB
 * writes and is never taken with mu held, so a slow fsync delays only other writers. */
#include "kgc/listenercache.h"

#include "kgc/log.h"
#include "kgc/strmap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#define COMPONENT  "listenercache"
#define KEY_SCHEMA "meta:schema"
#define KEY_PREFIX "inst:"
#define KEY_RECORD "rec:" /* kgc_listener_cache_put_record(): other modules' data, not decoded */

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
    enum kgc_listener_source source;
    uint64_t seen_ms;
    size_t n_live;
    struct kgc_kong_listeners listeners;
    char version[64], node_id[64], router_flavor[32], database[32];
    char url[KGC_KONG_URL_MAX];
    char reason[KGC_ERR_MSG_MAX];
};

struct kgc_listener_cache {
    char *dir;      /* NULL: persistence disabled */
    char *real_dir; /* the registry key of open directories */
    unsigned max_mb, max_entries;
    const struct kgc_clock *wall; /* NULL: CLOCK_REALTIME */
    MDB_env *env;                 /* NULL when disabled */
    MDB_dbi dbi;
    char moved_aside[PATH_MAX];

    pthread_mutex_t mu;        /* guards entries and the warned flags */
    struct kgc_strmap entries; /* url → struct entry * */
    bool warned_full, warned_io;

    pthread_mutex_t write_mu; /* serialises LMDB writes */

    pthread_mutex_t snap_mu; /* guards snap (the pointer only) */
    struct snapshot *snap;
};

void kgc_listener_cache_options_default(struct kgc_listener_cache_options *o)
{
    memset(o, 0, sizeof(*o));
    o->dir = KGC_LISTENER_CACHE_DEFAULT_DIR;
    o->max_mb = 16;
    o->max_entries = 64;
}

const char *kgc_listener_source_name(enum kgc_listener_source s)
{
    switch (s) {
    case KGC_LISTENERS_LIVE:
        return "live";
    case KGC_LISTENERS_CACHED:
        return "cached";
    case KGC_LISTENERS_NONE:
        break;
    }
    return "none";
}

static uint64_t now_ms(const struct kgc_listener_cache *c)
{
    if (c->wall)
        return kgc_clock_now(c->wall) / KGC_NS_PER_MS;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- directories open in this process (LMDB must not open one environment twice) ----------- */

static pthread_mutex_t open_dirs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct kgc_strmap open_dirs;

static int register_dir(const char *real)
{
    int rc = 0;
    pthread_mutex_lock(&open_dirs_mu);
    if (kgc_strmap_get(&open_dirs, real))
        rc = KGC_EEXIST;
    else
        rc = kgc_strmap_put(&open_dirs, real, (void *)real, NULL);
    pthread_mutex_unlock(&open_dirs_mu);
    return rc;
}

static void unregister_dir(const char *real)
{
    pthread_mutex_lock(&open_dirs_mu);
    kgc_strmap_remove(&open_dirs, real);
    if (kgc_strmap_len(&open_dirs) == 0)
        kgc_strmap_destroy(&open_dirs);
    pthread_mutex_unlock(&open_dirs_mu);
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
static void rebuild(struct kgc_listener_cache *c)
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
        s->source = KGC_LISTENERS_LIVE;
        set_identity(s, first_live);
    } else {
        if (down)
            snprintf(s->reason, sizeof(s->reason), "kong admin API unreachable: %s", down->reason);
        else if (n_entries == 0 || !best)
            snprintf(s->reason, sizeof(s->reason), "no Kong instance has answered yet");
        else
            snprintf(s->reason, sizeof(s->reason), "no Kong instance probed since kgc started");
        if (best && c->dir) { /* no directory: no listener cache, only live listeners count */
            s->source = KGC_LISTENERS_CACHED;
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

void kgc_listener_view(struct kgc_listener_cache *c, struct kgc_listener_view *out)
{
    static const struct kgc_kong_listeners none;
    pthread_mutex_lock(&c->snap_mu);
    struct snapshot *s = c->snap;
    __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&c->snap_mu);
    out->source = s->source;
    out->stale = s->source == KGC_LISTENERS_CACHED;
    out->age_ms = 0;
    if (out->stale) {
        uint64_t now = now_ms(c);
        out->age_ms = now > s->seen_ms ? now - s->seen_ms : 0;
    }
    out->listeners = s->source == KGC_LISTENERS_NONE ? &none : &s->listeners;
    out->version = s->version;
    out->node_id = s->node_id;
    out->router_flavor = s->router_flavor;
    out->database = s->database;
    out->url = s->url;
    out->n_live = s->n_live;
    out->reason = s->reason;
    out->snapshot_ = s;
}

void kgc_listener_view_release(struct kgc_listener_view *v)
{
    if (!v || !v->snapshot_)
        return;
    snapshot_unref(v->snapshot_);
    v->snapshot_ = NULL;
}

/* ---- LMDB ------------------------------------------------------------------------------------ */

static int mdb_code(int rc)
{
    switch (rc) {
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case ENOSPC:
        return KGC_ENOSPC;
    case EACCES:
    case EPERM:
    case EROFS:
        return KGC_EACCES;
    case ENOMEM:
        return KGC_ENOMEM;
    case MDB_NOTFOUND:
        return KGC_ENOENT;
    default:
        return KGC_EIO;
    }
}

static bool mdb_is_corruption(int rc)
{
    return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED ||
           rc == MDB_PAGE_NOTFOUND || rc == MDB_INCOMPATIBLE || rc == MDB_BAD_DBI;
}

static int put_raw(struct kgc_listener_cache *c, const char *key, const void *val, size_t len)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(c->env, NULL, 0, &txn);
    if (rc)
        return rc;
    MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key};
    MDB_val v = {.mv_size = len, .mv_data = (void *)val};
    rc = mdb_put(txn, c->dbi, &k, &v, 0);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

static int del_raw(struct kgc_listener_cache *c, const char *const *keys, size_t n)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(c->env, NULL, 0, &txn);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        MDB_val k = {.mv_size = strlen(keys[i]), .mv_data = (void *)keys[i]};
        rc = mdb_del(txn, c->dbi, &k, NULL);
        if (rc && rc != MDB_NOTFOUND) {
            mdb_txn_abort(txn);
            return rc;
        }
    }
    return mdb_txn_commit(txn);
}

static void close_env(struct kgc_listener_cache *c)
{
    if (c->env) {
        mdb_env_close(c->env);
        c->env = NULL;
    }
}

/* LMDB sizes lock.mdb (its reader table) with ftruncate(), which leaves a sparse file, then maps
 * it MAP_SHARED and writes through the map (liblmdb mdb.c mdb_env_setup_locks: "if (size < rsize
 * && *excl > 0) ftruncate(env->me_lfd, rsize)", mmap, then memset of mti_rmutex). On a full
 * filesystem the first store finds no block to back the page: SIGBUS, with no error and no log
 * line. Allocating the file's blocks first turns that into ENOSPC here. LMDB keeps a lock file at
 * least as large as it needs (the else branch: rsize = size), and its default size is 8 KiB (126
 * readers of 64 bytes plus the header), so an existing file of 8 KiB or more is allocated as it
 * is and a new or shorter one gets 16 KiB. data.mdb needs nothing: without MDB_WRITEMAP LMDB
 * writes it with pwrite(), which reports ENOSPC, and only reads through its map. Returns 0 or an
 * errno code. */
static int preallocate_lock_file(const char *dir)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/lock.mdb", dir) >= (int)sizeof(path))
        return ENAMETOOLONG;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    struct stat st;
    int rc = fstat(fd, &st) != 0 ? errno : 0;
    off_t want = !rc && st.st_size >= 8192 ? st.st_size : 16384;
    if (!rc)
        rc = posix_fallocate(fd, 0, want);
    if (rc == EOPNOTSUPP || rc == EINVAL)
        rc = 0; /* a filesystem without fallocate: nothing more can be done up front */
    close(fd);
    return rc;
}

/* Opens the environment and the main database. Returns an LMDB/errno code. */
static int open_env(struct kgc_listener_cache *c)
{
    int rc = preallocate_lock_file(c->dir);
    if (rc) {
        c->env = NULL;
        return rc;
    }
    rc = mdb_env_create(&c->env);
    if (rc) {
        c->env = NULL;
        return rc;
    }
    size_t map = (size_t)(c->max_mb ? c->max_mb : 16) << 20;
    if ((rc = mdb_env_set_mapsize(c->env, map)) || (rc = mdb_env_set_maxdbs(c->env, 1)) ||
        (rc = mdb_env_open(c->env, c->dir, MDB_NOTLS, 0600)))
        goto out_close;
    MDB_txn *txn = NULL;
    if ((rc = mdb_txn_begin(c->env, NULL, 0, &txn)))
        goto out_close;
    if ((rc = mdb_dbi_open(txn, NULL, 0, &c->dbi))) {
        mdb_txn_abort(txn);
        goto out_close;
    }
    if ((rc = mdb_txn_commit(txn)))
        goto out_close;
    int dead = 0;
    mdb_reader_check(c->env, &dead); /* reader slots left by a process that died */
    return 0;
out_close:
    close_env(c);
    return rc;
}

static struct entry *entry_get(struct kgc_listener_cache *c, const char *url, bool create)
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

static void free_entries(struct kgc_listener_cache *c)
{
    size_t pos = 0;
    const char *key;
    void *val;
    while (kgc_strmap_next(&c->entries, &pos, &key, &val))
        entry_free(val);
    kgc_strmap_destroy(&c->entries);
}

/* Loads every stored entry. Returns 0; a positive "corrupt" marker (1) with a reason in why; or a
 * negative KGC code for a real I/O problem. */
static int load(struct kgc_listener_cache *c, char *why, size_t why_size)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    int rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        snprintf(why, why_size, "%s", mdb_strerror(rc));
        return mdb_is_corruption(rc) ? 1 : mdb_code(rc);
    }
    MDB_val k = {.mv_size = strlen(KEY_SCHEMA), .mv_data = KEY_SCHEMA}, v;
    size_t n_keys = 0;
    int result = 0;
    rc = mdb_get(txn, c->dbi, &k, &v);
    bool have_schema = rc == 0;
    if (rc && rc != MDB_NOTFOUND) {
        snprintf(why, why_size, "reading the schema: %s", mdb_strerror(rc));
        result = mdb_is_corruption(rc) ? 1 : mdb_code(rc);
        goto out_abort;
    }
    if (have_schema && (v.mv_size != strlen(KGC_LISTENER_CACHE_SCHEMA) ||
                        memcmp(v.mv_data, KGC_LISTENER_CACHE_SCHEMA, v.mv_size) != 0)) {
        snprintf(why, why_size, "schema \"%.*s\", expected \"%s\"",
                 (int)(v.mv_size > 64 ? 64 : v.mv_size), (const char *)v.mv_data,
                 KGC_LISTENER_CACHE_SCHEMA);
        result = 1;
        goto out_abort;
    }
    if ((rc = mdb_cursor_open(txn, c->dbi, &cur))) {
        snprintf(why, why_size, "%s", mdb_strerror(rc));
        result = mdb_is_corruption(rc) ? 1 : mdb_code(rc);
        goto out_abort;
    }
    size_t plen = strlen(KEY_PREFIX);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        n_keys++;
        if (k.mv_size == strlen(KEY_SCHEMA) && memcmp(k.mv_data, KEY_SCHEMA, k.mv_size) == 0)
            continue;
        if (k.mv_size > strlen(KEY_RECORD) &&
            memcmp(k.mv_data, KEY_RECORD, strlen(KEY_RECORD)) == 0)
            continue; /* read by its owner with kgc_listener_cache_get_record() */
        if (k.mv_size <= plen || memcmp(k.mv_data, KEY_PREFIX, plen) != 0) {
            snprintf(why, why_size, "unknown key \"%.*s\"", (int)(k.mv_size > 64 ? 64 : k.mv_size),
                     (const char *)k.mv_data);
            result = 1;
            goto out_cursor;
        }
        struct kgc_listener_cache_entry d;
        struct kgc_err err = {0};
        int drc = kgc_listener_cache_decode(v.mv_data, v.mv_size, &d, &err);
        if (drc == KGC_ENOMEM) {
            result = KGC_ENOMEM;
            goto out_cursor;
        }
        if (drc || k.mv_size - plen != strlen(d.url) ||
            memcmp((char *)k.mv_data + plen, d.url, k.mv_size - plen) != 0) {
            snprintf(why, why_size, "entry \"%.*s\": %s", (int)(k.mv_size > 200 ? 200 : k.mv_size),
                     (const char *)k.mv_data, drc ? err.msg : "key and url differ");
            kgc_listener_cache_entry_free(&d);
            result = 1;
            goto out_cursor;
        }
        struct entry *e = entry_get(c, d.url, true);
        if (!e) {
            kgc_listener_cache_entry_free(&d);
            result = KGC_ENOMEM;
            goto out_cursor;
        }
        e->known = true;
        e->persisted = true;
        e->info = d.info;
        e->seen_ms = e->persisted_seen_ms = d.last_seen_live_ms;
    }
    if (rc != MDB_NOTFOUND) {
        snprintf(why, why_size, "reading entries: %s", mdb_strerror(rc));
        result = mdb_is_corruption(rc) ? 1 : mdb_code(rc);
        goto out_cursor;
    }
    if (!have_schema && n_keys > 0) {
        snprintf(why, why_size, "no schema key beside %zu other keys", n_keys);
        result = 1;
    }
out_cursor:
    mdb_cursor_close(cur);
out_abort:
    mdb_txn_abort(txn);
    if (result == 0 && !have_schema) {
        rc = put_raw(c, KEY_SCHEMA, KGC_LISTENER_CACHE_SCHEMA, strlen(KGC_LISTENER_CACHE_SCHEMA));
        if (rc) {
            snprintf(why, why_size, "writing the schema: %s", mdb_strerror(rc));
            result = mdb_code(rc);
        }
    }
    return result;
}

/* Renames data.mdb and lock.mdb to *.corrupt-<UTC time>. Returns 0 or a KGC code. */
static int move_aside(struct kgc_listener_cache *c, struct kgc_err *err)
{
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    static const char *const files[] = {"data.mdb", "lock.mdb"};
    for (size_t i = 0; i < 2; i++) {
        char from[PATH_MAX], to[PATH_MAX];
        snprintf(from, sizeof(from), "%s/%s", c->dir, files[i]);
        if (access(from, F_OK) != 0)
            continue;
        for (int n = 0; n < 100; n++) {
            if (n == 0)
                snprintf(to, sizeof(to), "%s.corrupt-%s", from, stamp);
            else
                snprintf(to, sizeof(to), "%s.corrupt-%s-%d", from, stamp, n);
            if (access(to, F_OK) != 0)
                break;
        }
        if (rename(from, to) != 0)
            return kgc_err_set(err, errno == EACCES ? KGC_EACCES : KGC_EIO,
                               "listener cache: cannot move %s aside: %s", from, strerror(errno));
        if (i == 0)
            snprintf(c->moved_aside, sizeof(c->moved_aside), "%s", to);
    }
    return 0;
}

/* LMDB has no checksums: garbage in its pages can send it reading through its map past the end
 * of the file (SIGBUS) or anywhere in it. So a forked child reads every key and value first, with
 * its own read-only, lock-free environment and stderr closed; a child killed by a signal means a
 * damaged file (why says so). Anything else — a clean walk, an LMDB error (the real open reports
 * it), no answer within 5 s, fork failing — leaves why empty. */
static void probe_in_child(struct kgc_listener_cache *c, const char *path, char *why,
                           size_t why_size)
{
    size_t map = (size_t)(c->max_mb ? c->max_mb : 16) << 20;
    pid_t pid = fork();
    if (pid < 0)
        return;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDERR_FILENO);
        signal(SIGBUS, SIG_DFL);
        signal(SIGSEGV, SIG_DFL);
        MDB_env *env = NULL;
        MDB_txn *txn = NULL;
        MDB_cursor *cur = NULL;
        MDB_dbi dbi;
        MDB_val k, v;
        if (mdb_env_create(&env) || mdb_env_set_mapsize(env, map) || mdb_env_set_maxdbs(env, 1) ||
            mdb_env_open(env, c->dir, MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0600) ||
            mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) || mdb_dbi_open(txn, NULL, 0, &dbi) ||
            mdb_cursor_open(txn, dbi, &cur))
            _exit(0);
        volatile unsigned char sum = 0;
        MDB_val sk = {.mv_size = strlen(KEY_SCHEMA), .mv_data = KEY_SCHEMA}, sv;
        (void)mdb_get(txn, dbi, &sk, &sv); /* load()'s first look-up: its own path down */
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            for (size_t i = 0; i < k.mv_size; i++)
                sum ^= ((const unsigned char *)k.mv_data)[i];
            for (size_t i = 0; i < v.mv_size; i++)
                sum ^= ((const unsigned char *)v.mv_data)[i];
            MDB_val kk = k, vv;
            (void)mdb_get(txn, dbi, &kk, &vv); /* and every key found by search, as writes do */
        }
        (void)sum; /* read only to touch every byte */
        _exit(0);
    }
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 5000 && (done = waitpid(pid, &status, WNOHANG)) == 0; i++) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
        nanosleep(&ts, NULL);
    }
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        kgc_warn(COMPONENT, "listener cache check did not finish in 5 s; opening it anyway",
                 KGC_F_STR("file", path));
        return;
    }
    if (done == pid && WIFSIGNALED(status))
        snprintf(why, why_size, "reading %s crashes LMDB (signal %d: %s)", path, WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
}

/* A data.mdb LMDB must not be given (a reason in why, else ""): an empty one, which LMDB would
 * silently re-initialise (before opening: env_open false); or, once open, one shorter than the
 * pages its meta page names: LMDB maps the file and reading a page past its end faults (SIGBUS),
 * e.g. after a truncation. */
static bool file_damaged(struct kgc_listener_cache *c, bool env_open, char *why, size_t why_size)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof(path), "%s/data.mdb", c->dir);
    why[0] = '\0';
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    if (!env_open) {
        if (st.st_size == 0)
            snprintf(why, why_size, "%s is empty (0 bytes)", path);
        else
            probe_in_child(c, path, why, why_size);
        return why[0] != '\0';
    }
    MDB_envinfo info;
    MDB_stat ms;
    if (mdb_env_info(c->env, &info) || mdb_env_stat(c->env, &ms))
        return false;
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    if ((uint64_t)st.st_size < need)
        snprintf(why, why_size,
                 "%s is %lld bytes, shorter than its %llu pages of %u bytes (truncated)", path,
                 (long long)st.st_size, (unsigned long long)info.me_last_pgno + 1, ms.ms_psize);
    return why[0] != '\0';
}

/* Opens the store, recovering once from a corrupt or incompatible file. */
static int open_store(struct kgc_listener_cache *c, struct kgc_err *err)
{
    char why[KGC_ERR_MSG_MAX] = "";
    for (int attempt = 0; attempt < 2; attempt++) {
        bool damaged = file_damaged(c, false, why, sizeof(why));
        int rc = damaged ? 0 : open_env(c);
        if (rc == 0 && !damaged && (damaged = file_damaged(c, true, why, sizeof(why))))
            close_env(c);
        if (damaged) {
            /* why says it */
        } else if (rc == 0) {
            rc = load(c, why, sizeof(why));
            if (rc == 0)
                return 0;
            close_env(c);
            free_entries(c);
            if (rc < 0)
                return kgc_err_set(err, rc, "listener cache %s: %s", c->dir, why);
        } else if (mdb_is_corruption(rc)) {
            snprintf(why, sizeof(why), "%s", mdb_strerror(rc));
        } else {
            return kgc_err_set(err, mdb_code(rc),
                               "listener cache %s: cannot open LMDB: %s (give a writable "
                               "--listener-cache-dir, or an empty one to disable the cache)",
                               c->dir, mdb_strerror(rc));
        }
        if (attempt == 1)
            break;
        if ((rc = move_aside(c, err)))
            return rc;
        kgc_warn(COMPONENT,
                 "listener cache file corrupt or incompatible: moved aside, starting empty",
                 KGC_F_STR("dir", c->dir), KGC_F_STR("reason", why),
                 KGC_F_STR("moved_to", c->moved_aside));
    }
    return kgc_err_set(err, KGC_EIO, "listener cache %s: still unusable after rebuilding: %s",
                       c->dir, why);
}

/* mkdir -p with mode 0700. */
static int make_dirs(const char *dir, struct kgc_err *err)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
        return kgc_err_set(err, KGC_EINVAL, "--listener-cache-dir: path too long");
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            return kgc_err_set(err, e == EACCES || e == EPERM || e == EROFS ? KGC_EACCES : -e,
                               "listener cache dir %s: cannot create %s: %s (give a writable "
                               "--listener-cache-dir, or an empty one to disable the cache)",
                               dir, path, strerror(e));
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return kgc_err_set(err, KGC_EINVAL, "listener cache dir %s: not a directory", dir);
    if (access(dir, W_OK | X_OK) != 0) {
        int e = errno;
        return kgc_err_set(err, KGC_EACCES,
                           "listener cache dir %s is not writable: %s (give a writable "
                           "--listener-cache-dir, or an empty one to disable the cache)",
                           dir, strerror(e));
    }
    return 0;
}

int kgc_listener_cache_open(const struct kgc_listener_cache_options *o,
                            struct kgc_listener_cache **out, struct kgc_err *err)
{
    struct kgc_listener_cache_options def;
    if (!o) {
        kgc_listener_cache_options_default(&def);
        o = &def;
    }
    *out = NULL;
    struct kgc_listener_cache *c = calloc(1, sizeof(*c));
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
        if ((rc = make_dirs(c->dir, err)))
            goto out_close;
        char real[PATH_MAX];
        if (!realpath(c->dir, real) || !(c->real_dir = strdup(real))) {
            rc = kgc_err_set(err, KGC_EIO, "listener cache dir %s: %s", c->dir, strerror(errno));
            goto out_close;
        }
        if ((rc = register_dir(c->real_dir))) {
            free(c->real_dir);
            c->real_dir = NULL;
            if (rc == KGC_EEXIST)
                kgc_err_set(err, rc, "listener cache dir %s is already open in this process",
                            c->dir);
            else
                kgc_err_set(err, rc, "out of memory");
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
    kgc_listener_cache_close(c);
    return rc;
}

bool kgc_listener_cache_persistent(const struct kgc_listener_cache *c)
{
    return c->env != NULL;
}

const char *kgc_listener_cache_moved_aside(const struct kgc_listener_cache *c)
{
    return c->moved_aside;
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
static int prepare_write(struct kgc_listener_cache *c, struct entry *e, struct pending_write *w)
{
    struct kgc_listener_cache_entry d = {
        .info = e->info, .last_seen_live_ms = e->seen_ms, .written_ms = now_ms(c)};
    snprintf(d.url, sizeof(d.url), "%s", e->url);
    snprintf(w->url, sizeof(w->url), "%s", e->url);
    w->gen = ++e->gen;
    w->seen_ms = e->seen_ms;
    e->persisted = false;
    return c->env ? kgc_listener_cache_encode(&d, &w->buf, &w->len) : 0;
}

/* Drops the least recently seen, not live, entries beyond max_entries (mu held). */
static void prune(struct kgc_listener_cache *c, struct pending_write *w)
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
static int write_entry(struct kgc_listener_cache *c, struct pending_write *w, struct kgc_err *err)
{
    int rc = 0, mrc = 0;
    if (!c->env)
        goto out_free;
    char key[KGC_KONG_URL_MAX + 8];
    snprintf(key, sizeof(key), "%s%s", KEY_PREFIX, w->url);
    pthread_mutex_lock(&c->write_mu);
    mrc = put_raw(c, key, w->buf, w->len);
    if (mrc == 0 && w->n_prune)
        mrc = del_raw(c, (const char *const *)w->prune, w->n_prune);
    pthread_mutex_unlock(&c->write_mu);
    pthread_mutex_lock(&c->mu);
    struct entry *e = entry_get(c, w->url, false);
    if (mrc == 0) {
        if (e && e->gen == w->gen) {
            e->persisted = true;
            e->persisted_seen_ms = w->seen_ms;
        }
        c->warned_full = c->warned_io = false;
    } else {
        rc = mdb_code(mrc);
        bool *warned = rc == KGC_ENOSPC ? &c->warned_full : &c->warned_io;
        if (rc == KGC_ENOSPC)
            kgc_err_set(err, rc,
                        "listener cache %s is full (--listener-cache-max-mb=%u): %s; serving "
                        "from memory",
                        c->dir, c->max_mb, mdb_strerror(mrc));
        else
            kgc_err_set(err, rc, "listener cache %s: write failed: %s; serving from memory", c->dir,
                        mdb_strerror(mrc));
        if (!*warned)
            kgc_warn(COMPONENT, "listener cache write failed", KGC_F_STR("url", w->url),
                     KGC_F_STR("error", mdb_strerror(mrc)), KGC_F_INT("max_mb", c->max_mb));
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

int kgc_listener_cache_set_live(struct kgc_listener_cache *c, const char *url,
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
    if (changed || (!e->persisted && c->env)) {
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
    if (changed)
        kgc_info(COMPONENT, "listeners updated", KGC_F_STR("url", url),
                 KGC_F_INT("proxy", info->listeners.n_proxy),
                 KGC_F_INT("stream", info->listeners.n_stream),
                 KGC_F_STR("version", info->version));
    return write ? write_entry(c, &w, err) : 0;
}

int kgc_listener_cache_set_down(struct kgc_listener_cache *c, const char *url, const char *reason,
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
    if (e->known && c->env && (!e->persisted || e->seen_ms != e->persisted_seen_ms)) {
        if (prepare_write(c, e, &w) == 0)
            write = true;
    }
    rebuild(c);
    pthread_mutex_unlock(&c->mu);
    return write ? write_entry(c, &w, err) : 0;
}

int kgc_listener_cache_touch(struct kgc_listener_cache *c, const char *url, uint64_t seen_wall_ms,
                             struct kgc_err *err)
{
    struct pending_write w = {0};
    bool write = false;
    pthread_mutex_lock(&c->mu);
    struct entry *e = entry_get(c, url, false);
    if (e && e->known && e->live && c->env) {
        e->seen_ms = seen_wall_ms ? seen_wall_ms : now_ms(c);
        if (prepare_write(c, e, &w) == 0)
            write = true;
    }
    pthread_mutex_unlock(&c->mu);
    return write ? write_entry(c, &w, err) : 0;
}

void kgc_listener_cache_forget(struct kgc_listener_cache *c, const char *url)
{
    pthread_mutex_lock(&c->mu);
    struct entry *e = entry_get(c, url, false);
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
}

/* ---- attach to the probers ------------------------------------------------------------------- */

static void on_kong_event(const struct kgc_kong_event *ev, void *ctx)
{
    struct kgc_listener_cache *c = ctx;
    struct kgc_err err = {0};
    switch (ev->type) {
    case KGC_KONG_EV_READY:
    case KGC_KONG_EV_LISTENERS_CHANGED:
        if (ev->state->have_info)
            kgc_listener_cache_set_live(c, ev->url, &ev->state->info, ev->state->last_ok_wall_ms,
                                        &err);
        break;
    case KGC_KONG_EV_UNREACHABLE:
        kgc_listener_cache_set_down(c, ev->url, ev->reason, ev->state->last_ok_wall_ms, &err);
        break;
    case KGC_KONG_EV_HEARTBEAT:
        kgc_listener_cache_touch(c, ev->url, ev->state->last_ok_wall_ms, &err);
        break;
    case KGC_KONG_EV_REMOVED:
        kgc_listener_cache_forget(c, ev->url);
        break;
    default:
        break;
    }
    /* write failures were logged (once per kind) by write_entry() */
}

int kgc_listener_cache_attach(struct kgc_listener_cache *c, struct kgc_kong *k)
{
    return kgc_kong_subscribe(k, on_kong_event, c);
}

/* ---- direct reads ---------------------------------------------------------------------------- */

int kgc_listener_cache_get(struct kgc_listener_cache *c, const char *url,
                           struct kgc_listener_cache_entry *out, struct kgc_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!c->env)
        return kgc_err_set(err, KGC_ENOENT, "listener cache: persistence disabled");
    char key[KGC_KONG_URL_MAX + 8];
    int n = snprintf(key, sizeof(key), "%s%s", KEY_PREFIX, url);
    if (n < 0 || (size_t)n >= sizeof(key))
        return kgc_err_set(err, KGC_ENOENT, "listener cache: URL too long");
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return kgc_err_set(err, mdb_code(rc), "listener cache: %s", mdb_strerror(rc));
    MDB_val k = {.mv_size = (size_t)n, .mv_data = key}, v;
    rc = mdb_get(txn, c->dbi, &k, &v);
    if (rc == 0)
        rc = kgc_listener_cache_decode(v.mv_data, v.mv_size, out, err);
    else if (rc == MDB_NOTFOUND)
        rc = kgc_err_set(err, KGC_ENOENT, "listener cache: no entry for %s", url);
    else
        rc = kgc_err_set(err, mdb_code(rc), "listener cache: %s", mdb_strerror(rc));
    mdb_txn_abort(txn);
    return rc;
}

/* ---- records ----------------------------------------------------------------------------------
 */

static int record_key(const char *name, char *key, size_t size, struct kgc_err *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
        return kgc_err_set(err, KGC_EINVAL, "listener cache: bad record name");
    snprintf(key, size, "%s%s", KEY_RECORD, name);
    return 0;
}

int kgc_listener_cache_put_record(struct kgc_listener_cache *c, const char *name, const void *data,
                                  size_t len, struct kgc_err *err)
{
    char key[80];
    int rc = record_key(name, key, sizeof(key), err);
    if (rc != 0)
        return rc;
    if (len > KGC_LISTENER_CACHE_RECORD_MAX)
        return kgc_err_set(err, KGC_EINVAL, "listener cache: record %s of %zu bytes", name, len);
    if (!c->env)
        return kgc_err_set(err, KGC_ENOENT, "listener cache: persistence disabled");
    pthread_mutex_lock(&c->write_mu);
    rc = put_raw(c, key, data, len);
    pthread_mutex_unlock(&c->write_mu);
    if (rc)
        return kgc_err_set(err, mdb_code(rc), "listener cache: writing record %s: %s", name,
                           mdb_strerror(rc));
    return 0;
}

int kgc_listener_cache_get_record(struct kgc_listener_cache *c, const char *name, char **data,
                                  size_t *len, struct kgc_err *err)
{
    *data = NULL;
    *len = 0;
    char key[80];
    int rc = record_key(name, key, sizeof(key), err);
    if (rc != 0)
        return rc;
    if (!c->env)
        return kgc_err_set(err, KGC_ENOENT, "listener cache: persistence disabled");
    MDB_txn *txn = NULL;
    rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return kgc_err_set(err, mdb_code(rc), "listener cache: %s", mdb_strerror(rc));
    MDB_val k = {.mv_size = strlen(key), .mv_data = key}, v;
    rc = mdb_get(txn, c->dbi, &k, &v);
    if (rc == 0) {
        *data = malloc(v.mv_size + 1);
        if (*data) {
            memcpy(*data, v.mv_data, v.mv_size);
            (*data)[v.mv_size] = '\0';
            *len = v.mv_size;
        } else {
            rc = kgc_err_set(err, KGC_ENOMEM, "listener cache: out of memory");
        }
    } else if (rc == MDB_NOTFOUND) {
        rc = kgc_err_set(err, KGC_ENOENT, "listener cache: no record %s", name);
    } else {
        rc = kgc_err_set(err, mdb_code(rc), "listener cache: %s", mdb_strerror(rc));
    }
    mdb_txn_abort(txn);
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

char *kgc_listener_cache_dump(struct kgc_listener_cache *c)
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
    json_object_object_add(root, "persistent", json_object_new_boolean(c->env != NULL));
    json_object_object_add(root, "dir", c->dir ? json_object_new_string(c->dir) : NULL);

    struct kgc_listener_view v;
    kgc_listener_view(c, &v);
    json_object_object_add(view, "source",
                           json_object_new_string(kgc_listener_source_name(v.source)));
    json_object_object_add(view, "stale", json_object_new_boolean(v.stale));
    json_object_object_add(view, "age_ms", json_object_new_int64((int64_t)v.age_ms));
    json_object_object_add(view, "n_live", json_object_new_int64((int64_t)v.n_live));
    json_object_object_add(view, "reason", json_object_new_string(v.reason));
    kgc_listener_view_release(&v);
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

void kgc_listener_cache_close(struct kgc_listener_cache *c)
{
    if (!c)
        return;
    if (c->env) {
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
    close_env(c);
    if (c->real_dir) {
        unregister_dir(c->real_dir);
        free(c->real_dir);
    }
    free_entries(c);
    snapshot_unref(c->snap);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->write_mu);
    pthread_mutex_destroy(&c->snap_mu);
    free(c->dir);
    free(c);
}

/* store: named records in one LMDB environment, with damaged-file and full-disk handling
 * (kgc/store.h).
 *
 * Locks: write_mu serialises writers (put, delete); reads take no lock of ours (LMDB read
 * transactions, MDB_NOTLS so any thread may read). open_dirs_mu guards the process-wide set of
 * open directories. */
#include "kgc/store.h"

#include "kgc/log.h"
#include "kgc/strmap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEY_SCHEMA "meta:schema"
#define KEY_META   "meta:"

struct kgc_store {
    char *dir;
    char *real_dir; /* the registry key of open directories */
    char *schema, *label, *hint, *component;
    unsigned max_mb;
    kgc_store_check_fn check;
    void *check_ctx;
    MDB_env *env;
    MDB_dbi dbi;
    char moved_aside[PATH_MAX];
    pthread_mutex_t write_mu; /* serialises writes */
};

void kgc_store_options_default(struct kgc_store_options *o)
{
    memset(o, 0, sizeof(*o));
    o->max_mb = 16;
    o->label = "store";
    o->component = "store";
}

/* " (hint)" or "". */
static const char *hint_open(const struct kgc_store *st)
{
    return st->hint ? " (" : "";
}

static const char *hint_text(const struct kgc_store *st)
{
    return st->hint ? st->hint : "";
}

static const char *hint_close(const struct kgc_store *st)
{
    return st->hint ? ")" : "";
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

static int put_raw(struct kgc_store *st, const char *key, const void *val, size_t len)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc)
        return rc;
    MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key};
    MDB_val v = {.mv_size = len, .mv_data = (void *)val};
    rc = mdb_put(txn, st->dbi, &k, &v, 0);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

static int del_raw(struct kgc_store *st, const char *const *keys, size_t n)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        MDB_val k = {.mv_size = strlen(keys[i]), .mv_data = (void *)keys[i]};
        rc = mdb_del(txn, st->dbi, &k, NULL);
        if (rc && rc != MDB_NOTFOUND) {
            mdb_txn_abort(txn);
            return rc;
        }
    }
    return mdb_txn_commit(txn);
}

static void close_env(struct kgc_store *st)
{
    if (st->env) {
        mdb_env_close(st->env);
        st->env = NULL;
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
    struct stat sb;
    int rc = fstat(fd, &sb) != 0 ? errno : 0;
    off_t want = !rc && sb.st_size >= 8192 ? sb.st_size : 16384;
    if (!rc)
        rc = posix_fallocate(fd, 0, want);
    if (rc == EOPNOTSUPP || rc == EINVAL)
        rc = 0; /* a filesystem without fallocate: nothing more can be done up front */
    close(fd);
    return rc;
}

/* Opens the environment and the main database. Returns an LMDB/errno code. */
static int open_env(struct kgc_store *st)
{
    int rc = preallocate_lock_file(st->dir);
    if (rc) {
        st->env = NULL;
        return rc;
    }
    rc = mdb_env_create(&st->env);
    if (rc) {
        st->env = NULL;
        return rc;
    }
    size_t map = (size_t)st->max_mb << 20;
    if ((rc = mdb_env_set_mapsize(st->env, map)) || (rc = mdb_env_set_maxdbs(st->env, 1)) ||
        (rc = mdb_env_open(st->env, st->dir, MDB_NOTLS, 0600)))
        goto out_close;
    MDB_txn *txn = NULL;
    if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)))
        goto out_close;
    if ((rc = mdb_dbi_open(txn, NULL, 0, &st->dbi))) {
        mdb_txn_abort(txn);
        goto out_close;
    }
    if ((rc = mdb_txn_commit(txn)))
        goto out_close;
    int dead = 0;
    mdb_reader_check(st->env, &dead); /* reader slots left by a process that died */
    return 0;
out_close:
    close_env(st);
    return rc;
}

/* Checks the schema and every record (the opener's check). Returns 0; a positive "damaged"
 * marker (1) with a reason in why; or a negative KGC code for a real problem. Writes the schema
 * into a file that has none and no records. */
static int check_records(struct kgc_store *st, char *why, size_t why_size)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        snprintf(why, why_size, "%s", mdb_strerror(rc));
        return mdb_is_corruption(rc) ? 1 : mdb_code(rc);
    }
    MDB_val k = {.mv_size = strlen(KEY_SCHEMA), .mv_data = KEY_SCHEMA}, v;
    size_t n_keys = 0;
    int result = 0;
    rc = mdb_get(txn, st->dbi, &k, &v);
    bool have_schema = rc == 0;
    if (rc && rc != MDB_NOTFOUND) {
        snprintf(why, why_size, "reading the schema: %s", mdb_strerror(rc));
        result = mdb_is_corruption(rc) ? 1 : mdb_code(rc);
        goto out_abort;
    }
    if (have_schema &&
        (v.mv_size != strlen(st->schema) || memcmp(v.mv_data, st->schema, v.mv_size) != 0)) {
        snprintf(why, why_size, "schema \"%.*s\", expected \"%s\"",
                 (int)(v.mv_size > 64 ? 64 : v.mv_size), (const char *)v.mv_data, st->schema);
        result = 1;
        goto out_abort;
    }
    if ((rc = mdb_cursor_open(txn, st->dbi, &cur))) {
        snprintf(why, why_size, "%s", mdb_strerror(rc));
        result = mdb_is_corruption(rc) ? 1 : mdb_code(rc);
        goto out_abort;
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        n_keys++;
        if (k.mv_size == strlen(KEY_SCHEMA) && memcmp(k.mv_data, KEY_SCHEMA, k.mv_size) == 0)
            continue;
        if (!st->check)
            continue;
        why[0] = '\0';
        int crc =
            st->check(st->check_ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size, why, why_size);
        if (crc != 0) {
            if (crc > 0 && !why[0])
                snprintf(why, why_size, "record \"%.*s\" rejected",
                         (int)(k.mv_size > 200 ? 200 : k.mv_size), (const char *)k.mv_data);
            result = crc > 0 ? 1 : crc;
            goto out_cursor;
        }
    }
    if (rc != MDB_NOTFOUND) {
        snprintf(why, why_size, "reading records: %s", mdb_strerror(rc));
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
        rc = put_raw(st, KEY_SCHEMA, st->schema, strlen(st->schema));
        if (rc) {
            snprintf(why, why_size, "writing the schema: %s", mdb_strerror(rc));
            result = mdb_code(rc);
        }
    }
    return result;
}

/* Renames data.mdb and lock.mdb to *.corrupt-<UTC time>. Returns 0 or a KGC code. */
static int move_aside(struct kgc_store *st, struct kgc_err *err)
{
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    static const char *const files[] = {"data.mdb", "lock.mdb"};
    for (size_t i = 0; i < 2; i++) {
        char from[PATH_MAX], to[PATH_MAX];
        snprintf(from, sizeof(from), "%s/%s", st->dir, files[i]);
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
                               "%s: cannot move %s aside: %s", st->label, from, strerror(errno));
        if (i == 0)
            snprintf(st->moved_aside, sizeof(st->moved_aside), "%s", to);
    }
    return 0;
}

/* LMDB has no checksums: garbage in its pages can send it reading through its map past the end
 * of the file (SIGBUS) or anywhere in it. So a forked child reads every key and value first, with
 * its own read-only, lock-free environment and stderr closed; a child killed by a signal means a
 * damaged file (why says so). Anything else — a clean walk, an LMDB error (the real open reports
 * it), no answer within 5 s, fork failing — leaves why empty. */
static void probe_in_child(struct kgc_store *st, const char *path, char *why, size_t why_size)
{
    size_t map = (size_t)st->max_mb << 20;
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
            mdb_env_open(env, st->dir, MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0600) ||
            mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) || mdb_dbi_open(txn, NULL, 0, &dbi) ||
            mdb_cursor_open(txn, dbi, &cur))
            _exit(0);
        volatile unsigned char sum = 0;
        MDB_val sk = {.mv_size = strlen(KEY_SCHEMA), .mv_data = KEY_SCHEMA}, sv;
        (void)mdb_get(txn, dbi, &sk, &sv); /* check_records()'s first look-up: its own path */
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
        char msg[160];
        snprintf(msg, sizeof(msg), "%s check did not finish in 5 s; opening it anyway", st->label);
        kgc_warn(st->component, msg, KGC_F_STR("file", path));
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
static bool file_damaged(struct kgc_store *st, bool env_open, char *why, size_t why_size)
{
    char path[PATH_MAX];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/data.mdb", st->dir);
    why[0] = '\0';
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return false;
    if (!env_open) {
        if (sb.st_size == 0)
            snprintf(why, why_size, "%s is empty (0 bytes)", path);
        else
            probe_in_child(st, path, why, why_size);
        return why[0] != '\0';
    }
    MDB_envinfo info;
    MDB_stat ms;
    if (mdb_env_info(st->env, &info) || mdb_env_stat(st->env, &ms))
        return false;
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    if ((uint64_t)sb.st_size < need)
        snprintf(why, why_size,
                 "%s is %lld bytes, shorter than its %llu pages of %u bytes (truncated)", path,
                 (long long)sb.st_size, (unsigned long long)info.me_last_pgno + 1, ms.ms_psize);
    return why[0] != '\0';
}

/* Opens the environment, recovering once from a damaged or incompatible file. */
static int open_recovering(struct kgc_store *st, struct kgc_err *err)
{
    char why[KGC_ERR_MSG_MAX] = "";
    for (int attempt = 0; attempt < 2; attempt++) {
        bool damaged = file_damaged(st, false, why, sizeof(why));
        int rc = damaged ? 0 : open_env(st);
        if (rc == 0 && !damaged && (damaged = file_damaged(st, true, why, sizeof(why))))
            close_env(st);
        if (damaged) {
            /* why says it */
        } else if (rc == 0) {
            rc = check_records(st, why, sizeof(why));
            if (rc == 0)
                return 0;
            close_env(st);
            if (rc < 0)
                return kgc_err_set(err, rc, "%s %s: %s", st->label, st->dir, why);
        } else if (mdb_is_corruption(rc)) {
            snprintf(why, sizeof(why), "%s", mdb_strerror(rc));
        } else {
            return kgc_err_set(err, mdb_code(rc), "%s %s: cannot open LMDB: %s%s%s%s", st->label,
                               st->dir, mdb_strerror(rc), hint_open(st), hint_text(st),
                               hint_close(st));
        }
        if (attempt == 1)
            break;
        if ((rc = move_aside(st, err)))
            return rc;
        char msg[160];
        snprintf(msg, sizeof(msg), "%s file corrupt or incompatible: moved aside, starting empty",
                 st->label);
        kgc_warn(st->component, msg, KGC_F_STR("dir", st->dir), KGC_F_STR("reason", why),
                 KGC_F_STR("moved_to", st->moved_aside));
    }
    return kgc_err_set(err, KGC_EIO, "%s %s: still unusable after rebuilding: %s", st->label,
                       st->dir, why);
}

/* mkdir -p with mode 0700, then checks the directory is one and is writable. */
static int make_dirs(struct kgc_store *st, struct kgc_err *err)
{
    const char *dir = st->dir;
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
        return kgc_err_set(err, KGC_EINVAL, "%s dir: path too long (%zu bytes)", st->label,
                           strlen(dir));
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            return kgc_err_set(err, e == EACCES || e == EPERM || e == EROFS ? KGC_EACCES : -e,
                               "%s dir %s: cannot create %s: %s%s%s%s", st->label, dir, path,
                               strerror(e), hint_open(st), hint_text(st), hint_close(st));
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return kgc_err_set(err, KGC_EINVAL, "%s dir %s: not a directory", st->label, dir);
    if (access(dir, W_OK | X_OK) != 0) {
        int e = errno;
        return kgc_err_set(err, KGC_EACCES, "%s dir %s is not writable: %s%s%s%s", st->label, dir,
                           strerror(e), hint_open(st), hint_text(st), hint_close(st));
    }
    return 0;
}

static char *dup_or(const char *s, const char *def)
{
    return strdup(s && s[0] ? s : def);
}

int kgc_store_open(const struct kgc_store_options *o, struct kgc_store **out, struct kgc_err *err)
{
    *out = NULL;
    if (!o || !o->dir || !o->dir[0] || !o->schema || !o->schema[0])
        return kgc_err_set(err, KGC_EINVAL, "store: a directory and a schema are required");
    struct kgc_store *st = calloc(1, sizeof(*st));
    if (!st)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    pthread_mutex_init(&st->write_mu, NULL);
    st->max_mb = o->max_mb ? o->max_mb : 16;
    st->check = o->check;
    st->check_ctx = o->check_ctx;
    int rc = 0;
    st->dir = strdup(o->dir);
    st->schema = strdup(o->schema);
    st->label = dup_or(o->label, "store");
    st->component = dup_or(o->component, "store");
    if (o->hint && o->hint[0])
        st->hint = strdup(o->hint);
    if (!st->dir || !st->schema || !st->label || !st->component ||
        (o->hint && o->hint[0] && !st->hint)) {
        rc = kgc_err_set(err, KGC_ENOMEM, "out of memory");
        goto out_close;
    }
    if ((rc = make_dirs(st, err)))
        goto out_close;
    char real[PATH_MAX];
    if (!realpath(st->dir, real) || !(st->real_dir = strdup(real))) {
        rc = kgc_err_set(err, KGC_EIO, "%s dir %s: %s", st->label, st->dir, strerror(errno));
        goto out_close;
    }
    if ((rc = register_dir(st->real_dir))) {
        free(st->real_dir);
        st->real_dir = NULL;
        if (rc == KGC_EEXIST)
            kgc_err_set(err, rc, "%s dir %s is already open in this process", st->label, st->dir);
        else
            kgc_err_set(err, rc, "out of memory");
        goto out_close;
    }
    if ((rc = open_recovering(st, err)))
        goto out_close;
    *out = st;
    return 0;
out_close:
    kgc_store_close(st);
    return rc;
}

void kgc_store_close(struct kgc_store *st)
{
    if (!st)
        return;
    close_env(st);
    if (st->real_dir) {
        unregister_dir(st->real_dir);
        free(st->real_dir);
    }
    pthread_mutex_destroy(&st->write_mu);
    free(st->dir);
    free(st->schema);
    free(st->label);
    free(st->hint);
    free(st->component);
    free(st);
}

const char *kgc_store_dir(const struct kgc_store *st)
{
    return st->dir;
}

const char *kgc_store_moved_aside(const struct kgc_store *st)
{
    return st->moved_aside;
}

/* ---- records --------------------------------------------------------------------------------- */

static int check_name(const char *name, struct kgc_err *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > KGC_STORE_NAME_MAX || strncmp(name, KEY_META, strlen(KEY_META)) == 0)
        return kgc_err_set(err, KGC_EINVAL, "store: bad record name \"%.64s\"", name ? name : "");
    return 0;
}

int kgc_store_put(struct kgc_store *st, const char *name, const void *data, size_t len,
                  struct kgc_err *err)
{
    int rc = check_name(name, err);
    if (rc != 0)
        return rc;
    if (len > KGC_STORE_RECORD_MAX)
        return kgc_err_set(err, KGC_EINVAL, "store: record %s of %zu bytes (at most %u)", name, len,
                           KGC_STORE_RECORD_MAX);
    pthread_mutex_lock(&st->write_mu);
    int mrc = put_raw(st, name, len ? data : "", len);
    pthread_mutex_unlock(&st->write_mu);
    if (mrc)
        return kgc_err_set(err, mdb_code(mrc), "writing %s: %s", name, mdb_strerror(mrc));
    return 0;
}

int kgc_store_get(struct kgc_store *st, const char *name, char **data, size_t *len,
                  struct kgc_err *err)
{
    *data = NULL;
    *len = 0;
    int rc = check_name(name, err);
    if (rc != 0)
        return rc;
    MDB_txn *txn = NULL;
    int mrc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (mrc)
        return kgc_err_set(err, mdb_code(mrc), "reading %s: %s", name, mdb_strerror(mrc));
    MDB_val k = {.mv_size = strlen(name), .mv_data = (void *)name}, v;
    mrc = mdb_get(txn, st->dbi, &k, &v);
    if (mrc == 0) {
        *data = malloc(v.mv_size + 1);
        if (*data) {
            memcpy(*data, v.mv_data, v.mv_size);
            (*data)[v.mv_size] = '\0';
            *len = v.mv_size;
        } else {
            rc = kgc_err_set(err, KGC_ENOMEM, "reading %s: out of memory", name);
        }
    } else if (mrc == MDB_NOTFOUND) {
        rc = kgc_err_set(err, KGC_ENOENT, "no record %s", name);
    } else {
        rc = kgc_err_set(err, mdb_code(mrc), "reading %s: %s", name, mdb_strerror(mrc));
    }
    mdb_txn_abort(txn);
    return rc;
}

int kgc_store_delete(struct kgc_store *st, const char *const *names, size_t n, struct kgc_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = check_name(names[i], err);
        if (rc != 0)
            return rc;
    }
    if (n == 0)
        return 0;
    pthread_mutex_lock(&st->write_mu);
    int mrc = del_raw(st, names, n);
    pthread_mutex_unlock(&st->write_mu);
    if (mrc)
        return kgc_err_set(err, mdb_code(mrc), "deleting %s: %s", names[0], mdb_strerror(mrc));
    return 0;
}

int kgc_store_iterate(struct kgc_store *st, const char *prefix, kgc_store_each_fn fn, void *ctx,
                      struct kgc_err *err)
{
    if (!prefix)
        prefix = "";
    size_t plen = strlen(prefix);
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    int mrc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (mrc)
        return kgc_err_set(err, mdb_code(mrc), "%s %s: %s", st->label, st->dir, mdb_strerror(mrc));
    if ((mrc = mdb_cursor_open(txn, st->dbi, &cur))) {
        mdb_txn_abort(txn);
        return kgc_err_set(err, mdb_code(mrc), "%s %s: %s", st->label, st->dir, mdb_strerror(mrc));
    }
    MDB_val k = {.mv_size = plen, .mv_data = (void *)prefix}, v;
    int rc = 0;
    for (mrc = mdb_cursor_get(cur, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break; /* names are sorted: past the prefix */
        if (k.mv_size == strlen(KEY_SCHEMA) && memcmp(k.mv_data, KEY_SCHEMA, k.mv_size) == 0)
            continue;
        if ((rc = fn(ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size)) != 0)
            break;
    }
    if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = kgc_err_set(err, mdb_code(mrc), "%s %s: reading records: %s", st->label, st->dir,
                         mdb_strerror(mrc));
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

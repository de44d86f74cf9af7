/* store — named records in one LMDB environment that survive kgc restarts.
 *
 * The listener view (kgc/listenercache.h) keeps each Kong instance's last-known listeners here,
 * and the syncer (kgc/sync.h) the Gateway set of the last configuration a Kong accepted. The
 * store knows nothing of what a record means: a record is a name (a C string) and opaque bytes.
 *
 * On disk: one LMDB environment (data.mdb, lock.mdb) in a directory created with mode 0700,
 * holding the key "meta:schema" (the opener's schema string: names the whole layout) and one
 * key per record, the record's name. Names starting "meta:" are the store's own; modules sharing
 * a store keep their names apart with a prefix of their own (the listener cache "inst:<url>",
 * other modules "rec:<name>": kgc/listenercache.h).
 *
 * Damage. A file the store cannot trust is renamed to data.mdb.corrupt-<UTC time> (lock.mdb
 * beside it likewise), the store starts empty in a new file, and one warning says why and where
 * the file went (kgc_store_moved_aside()); it is not an error. That covers: a file LMDB rejects;
 * an empty data.mdb (LMDB would silently start over in it); one shorter than the pages its meta
 * page names (truncated); one whose pages crash a read (LMDB has no checksums, so open first walks
 * every key and value in a forked child, and a child killed by SIGBUS/SIGSEGV means damage); a
 * schema other than the opener's, or records without a schema key; and a record the opener's
 * check rejects (the options' check, called on every record at open).
 *
 * Full disk. lock.mdb's blocks are allocated (posix_fallocate) before LMDB maps it, since a store
 * into a sparse mapped page on a full filesystem is SIGBUS: open then fails with KGC_ENOSPC.
 * data.mdb is written with pwrite(), which reports ENOSPC; a write beyond the map size cap
 * (max_mb) is KGC_ENOSPC too. A failed write leaves the stored records as they were.
 *
 * Threads: every call but open and close may be made from any thread once open returned. Writes
 * (put, delete) are serialised by the store; reads (get, iterate) run in LMDB read transactions
 * and never wait for a writer. One directory may be open once per process (LMDB forbids two
 * environments on the same files in one process): open reports KGC_EEXIST. */
#ifndef KGC_STORE_H
#define KGC_STORE_H

#include "kgc/err.h"

#include <stddef.h>

#define KGC_STORE_NAME_MAX   480        /* bytes of a record name (LMDB keys stop at 511) */
#define KGC_STORE_RECORD_MAX (4u << 20) /* bytes of one record's data */

/* Checks one stored record at open (open's thread, inside a read transaction; data is valid
 * only during the call). Returns 0 to accept it; 1 with a reason in why (NUL-terminated, at most
 * why_size bytes) to have the file treated as damaged; or a negative KGC code (KGC_ENOMEM) to
 * make open fail with it. */
typedef int (*kgc_store_check_fn)(void *ctx, const char *name, size_t name_len, const void *data,
                                  size_t len, char *why, size_t why_size);

/* Open options. Strings are copied by open. */
struct kgc_store_options {
    const char *dir;          /* required: created (mkdir -p, mode 0700) when missing */
    unsigned max_mb;          /* LMDB map size cap in MiB (16) */
    const char *schema;       /* required: the layout's name, kept under "meta:schema" */
    const char *label;        /* names the store in messages ("store"): "<label> <dir>: ..." */
    const char *hint;         /* appended in parentheses to the errors the operator fixes by giving
                                 another directory (NULL: none) */
    const char *component;    /* the log component of its warnings ("store") */
    kgc_store_check_fn check; /* NULL: every record is accepted */
    void *check_ctx;
};

/* Fills the documented defaults (in parentheses above). */
void kgc_store_options_default(struct kgc_store_options *o);

struct kgc_store;

/* Opens (see "Damage" above for what is moved aside instead of failing). Returns 0 and *out;
 * KGC_EINVAL (no dir or schema, a path too long, not a directory); KGC_EACCES (cannot create or
 * write the directory, a read-only filesystem); KGC_ENOSPC (full filesystem); KGC_EEXIST (open
 * in this process already); KGC_EIO (LMDB failed, or the file is still unusable after moving it
 * aside); KGC_ENOMEM; each with a reason naming the directory and ending with the hint. */
int kgc_store_open(const struct kgc_store_options *o, struct kgc_store **out, struct kgc_err *err);

/* Closes LMDB and frees. No other call may be running. NULL is a no-op. */
void kgc_store_close(struct kgc_store *st);

/* The directory as given to open. Owned by st. */
const char *kgc_store_dir(const struct kgc_store *st);

/* Where a damaged file was moved at open ("" when none was). Owned by st. */
const char *kgc_store_moved_aside(const struct kgc_store *st);

/* Stores data (len bytes; NULL when len is 0) under name, replacing what was there, in one
 * committed LMDB transaction. Returns 0; KGC_EINVAL (name empty, longer than
 * KGC_STORE_NAME_MAX, or starting "meta:"; data larger than KGC_STORE_RECORD_MAX); KGC_ENOSPC
 * (map size cap or filesystem full); KGC_EIO; with "writing <name>: <LMDB's reason>". */
int kgc_store_put(struct kgc_store *st, const char *name, const void *data, size_t len,
                  struct kgc_err *err);

/* Reads the record: 0 with *data (malloc'd, a NUL added after the *len bytes; the caller frees
 * it); KGC_ENOENT (no such record); KGC_EINVAL (bad name); KGC_EIO; KGC_ENOMEM. */
int kgc_store_get(struct kgc_store *st, const char *name, char **data, size_t *len,
                  struct kgc_err *err);

/* Removes the records named in names[0..n) in one transaction; absent ones are no error.
 * Returns 0, KGC_EINVAL (a bad name: nothing removed), KGC_ENOSPC, KGC_EIO. */
int kgc_store_delete(struct kgc_store *st, const char *const *names, size_t n, struct kgc_err *err);

/* Called by kgc_store_iterate() per record (name and data valid only during the call; name is
 * not NUL-terminated). Return 0 to go on, anything else to stop: iterate returns that value. */
typedef int (*kgc_store_each_fn)(void *ctx, const char *name, size_t name_len, const void *data,
                                 size_t len);

/* Calls fn for every record whose name starts with prefix ("" or NULL: all), in byte order of
 * the names, inside one read transaction (a consistent snapshot; writers are not blocked, but fn
 * must not write to st). Returns 0, fn's non-zero value, or KGC_EIO with a reason. */
int kgc_store_iterate(struct kgc_store *st, const char *prefix, kgc_store_each_fn fn, void *ctx,
                      struct kgc_err *err);

#endif

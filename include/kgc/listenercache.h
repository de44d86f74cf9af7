/* listenercache — the last-known Kong listeners, per instance, kept in a store (LMDB), and the
 * one answer the reconcilers ask for: kgc_listenercache_view().
 *
 * State per instance (keyed by its display URL: the admin URL without userinfo, kgc/kong.h): its
 * listeners, Kong version, node id, router flavour, database mode and the wall time it was last
 * seen live. The in-memory state is fed by the Kong probers (kgc_listenercache_attach()) or by the
 * set_live/set_down calls; an entry is written to LMDB when its listeners or identity change, when
 * the instance goes down (to record when it was last seen live), on a heartbeat (every kong
 * heartbeat_interval_ms) and at close — never on every probe. A new process reads what the last one
 * stored.
 *
 * The view: LIVE (the union of the listeners of every ready instance) if any instance is ready;
 * otherwise CACHED (the most recently seen-live entry, stale, with its age); otherwise NONE, with a
 * reason. Views are immutable, reference-counted snapshots rebuilt on change: reading one takes a
 * short lock and one atomic increment, never LMDB or a lock a writer holds across I/O.
 *
 * On disk: a store (kgc/store.h: one LMDB environment, data.mdb and lock.mdb, in the cache
 * directory) that this module opens with schema KGC_LISTENERCACHE_SCHEMA and owns; each instance
 * is the record "inst:<url>" (a compact binary entry, kgc_listenercache_encode()). Other modules
 * keep their records in the same store under "rec:<name>" (the syncer: kgc/sync.h), reached with
 * kgc_listenercache_store(). The store's damaged-file handling applies (a file LMDB rejects, an
 * empty or truncated data.mdb, one whose pages crash a read, another schema: renamed to
 * data.mdb.corrupt-<UTC time>, the cache starts empty, with one warning); at open this module also
 * rejects, the same way, a file holding an "inst:" record that does not decode or names another
 * URL, or a record of a name it does not know. Thread-safe. */
#ifndef KGC_LISTENERCACHE_H
#define KGC_LISTENERCACHE_H

#include "kgc/clock.h"
#include "kgc/err.h"
#include "kgc/kong.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kgc_store;

#define KGC_LISTENERCACHE_SCHEMA      "kgc-listenercache/1"
#define KGC_LISTENERCACHE_DEFAULT_DIR "/var/lib/kgc/listeners"

/* Module options, filled by cmd/kgc from flags. Strings are copied by open. */
struct kgc_listenercache_options {
    const char *dir;      /* --listener-cache-dir (KGC_LISTENERCACHE_DEFAULT_DIR); NULL or ""
                             disables the cache: the view is LIVE or NONE, never CACHED (Kong's
                             own controller's policy, kept for comparison) */
    unsigned max_mb;      /* --listener-cache-max-mb: LMDB map size cap in MiB (16) */
    unsigned max_entries; /* instances kept; the least recently seen-live go first (64) */
    const struct kgc_clock *wall_clock; /* tests: a fake clock read as Unix-epoch ns; NULL: the
                                           real wall clock (CLOCK_REALTIME) */
};

/* Fills the documented defaults (in parentheses above). */
void kgc_listenercache_options_default(struct kgc_listenercache_options *o);

/* One instance's last-known data, as stored. Owned by the holder: kgc_listenercache_entry_free. */
struct kgc_listenercache_entry {
    char url[KGC_KONG_URL_MAX];
    struct kgc_kong_info info;  /* version, node_id, router_flavor, database, listeners */
    uint64_t last_seen_live_ms; /* Unix ms */
    uint64_t written_ms;        /* Unix ms of the write */
};

void kgc_listenercache_entry_free(struct kgc_listenercache_entry *e);

/* The binary encoding of an entry (little-endian, length-prefixed strings, format byte 1).
 * Returns 0 and a malloc'd *buf of *len bytes, KGC_EINVAL (a field too long), KGC_ENOMEM. */
int kgc_listenercache_encode(const struct kgc_listenercache_entry *e, unsigned char **buf,
                             size_t *len);

/* Decodes what encode produced. Returns 0 and fills *e (free with ..._entry_free), or KGC_EPARSE
 * with a reason for anything truncated, oversized or unknown. Never reads outside buf. */
int kgc_listenercache_decode(const void *buf, size_t len, struct kgc_listenercache_entry *e,
                             struct kgc_err *err);

struct kgc_listenercache;

/* Opens (creating the directory, mode 0700, and the LMDB files as needed) and loads the stored
 * entries as CACHED. Returns 0 and *out; KGC_EACCES/KGC_ENOSPC/KGC_EIO/... with a reason naming
 * the directory when it cannot be created or written ("... give a writable --listener-cache-dir,
 * or an empty one to disable the cache"); KGC_EEXIST when this process already has the directory
 * open (LMDB forbids it); KGC_ENOMEM. A corrupt or incompatible file is not an error (see above).
 * A full filesystem is KGC_ENOSPC, never a crash (the store allocates lock.mdb's blocks before
 * LMDB maps it: kgc/store.h). cmd/kgc then logs an error and runs without persistence.
 * With persistence disabled it logs once that kgc restarts will not be covered. */
int kgc_listenercache_open(const struct kgc_listenercache_options *o,
                           struct kgc_listenercache **out, struct kgc_err *err);

/* Records live instances' last-seen time on disk, closes LMDB and frees. No view may be held and
 * no feeder may run (detach by stopping the kgc_kong first). NULL is a no-op. */
void kgc_listenercache_close(struct kgc_listenercache *c);

/* True when entries are stored on disk (a directory was given). */
bool kgc_listenercache_persistent(const struct kgc_listenercache *c);

/* Where a file was moved aside at open ("" when it was not). Owned by c. */
const char *kgc_listenercache_moved_aside(const struct kgc_listenercache *c);

/* ---- feeding (the probers, through attach; or directly) ------------------------------------- */

/* The instance at url is ready and reports info; seen_wall_ms is when (0: now). Writes to LMDB
 * when the listeners or identity changed (or were never stored). Returns 0, or the LMDB write's
 * error (KGC_ENOSPC when the size cap is reached, KGC_EIO): the in-memory view is updated anyway.
 */
int kgc_listenercache_set_live(struct kgc_listenercache *c, const char *url,
                               const struct kgc_kong_info *info, uint64_t seen_wall_ms,
                               struct kgc_err *err);

/* The instance is not ready: reason says why; last_ok_wall_ms is when it was last ready (0:
 * unknown, keep what is recorded). Its listeners become CACHED. Returns as set_live. */
int kgc_listenercache_set_down(struct kgc_listenercache *c, const char *url, const char *reason,
                               uint64_t last_ok_wall_ms, struct kgc_err *err);

/* The instance is still ready at seen_wall_ms: refreshes the stored last-seen time. */
int kgc_listenercache_touch(struct kgc_listenercache *c, const char *url, uint64_t seen_wall_ms,
                            struct kgc_err *err);

/* The instance left the set: it is no longer live; its stored entry stays as CACHED data. */
void kgc_listenercache_forget(struct kgc_listenercache *c, const char *url);

/* "The view changed": kgc_listenercache_view() already answers the new snapshot when this runs.
 * Called on the feeding thread (a prober's) after every rebuild of the view (an instance became
 * live or not, its listeners or identity changed, it left), with no lock of c held; it must be
 * quick (queue work) and may read the view. */
typedef void (*kgc_listenercache_changed_fn)(void *ctx);

#define KGC_LISTENERCACHE_MAX_SUBSCRIBERS 4

/* Adds a subscriber to "view changed". Call before anything feeds c (before the Kong registry
 * starts): the list is not locked. Returns 0, KGC_EINVAL, or KGC_ENOSPC (more than
 * KGC_LISTENERCACHE_MAX_SUBSCRIBERS). */
int kgc_listenercache_subscribe(struct kgc_listenercache *c, kgc_listenercache_changed_fn fn,
                                void *ctx);

/* Subscribes c to k's events: READY, RESTARTED and LISTENERS_CHANGED → set_live, UNREACHABLE →
 * set_down, HEARTBEAT → touch, REMOVED → forget. Write errors are logged (once per kind of
 * failure). c must outlive k's probers (stop k before closing c). Returns 0 or KGC_ENOSPC (no
 * subscriber slot). */
int kgc_listenercache_attach(struct kgc_listenercache *c, struct kgc_kong *k);

/* ---- reading ------------------------------------------------------------------------------- */

enum kgc_listenercache_source {
    KGC_LISTENERCACHE_NONE = 0, /* no live and no cached listeners */
    KGC_LISTENERCACHE_LIVE,     /* at least one instance is ready */
    KGC_LISTENERCACHE_CACHED,   /* none ready: the last-known listeners */
};

/* "none" | "live" | "cached". */
const char *kgc_listenercache_source_name(enum kgc_listenercache_source s);

/* The reconcilers' answer. Everything it points at belongs to a snapshot held by the view until
 * kgc_listenercache_view_release(); never NULL pointers. */
struct kgc_listenercache_view {
    enum kgc_listenercache_source source;
    bool stale;                                 /* CACHED: true; else false */
    uint64_t age_ms;                            /* CACHED: now - last seen live; else 0 */
    const struct kgc_kong_listeners *listeners; /* LIVE: union over ready instances (sorted);
                                                   CACHED: the entry's; NONE: empty */
    const char *version, *node_id, *router_flavor, *database; /* "" when unknown; LIVE: the first
                                                                  ready instance's (by URL) */
    const char *url; /* LIVE: the first ready instance; CACHED: the entry's; NONE: "" */
    size_t n_live;   /* ready instances */
    const char
        *reason;     /* CACHED/NONE: why not live ("kong admin API unreachable: ..."); LIVE: "" */
    void *snapshot_; /* private */
};

/* Fills *out with the current view (never fails). Costs a short lock and an atomic increment.
 * The caller releases it with kgc_listenercache_view_release(). */
void kgc_listenercache_view(struct kgc_listenercache *c, struct kgc_listenercache_view *out);

/* Releases a view (idempotent on a zeroed view). */
void kgc_listenercache_view_release(struct kgc_listenercache_view *v);

/* Reads one instance's stored entry from LMDB (a read transaction: never blocks writers) and
 * decodes it. Returns 0 and *out (free with ..._entry_free), KGC_ENOENT (no entry, or persistence
 * disabled), KGC_EPARSE (undecodable), KGC_EIO. */
int kgc_listenercache_get(struct kgc_listenercache *c, const char *url,
                          struct kgc_listenercache_entry *out, struct kgc_err *err);

/* ---- the store ------------------------------------------------------------------------------ */

/* The store this cache persists to (kgc/store.h), for other modules' records under "rec:<name>"
 * names (the syncer's "rec:sync-accepted"); NULL when persistence is disabled (or c is NULL).
 * Owned by c: valid until kgc_listenercache_close(). Any thread (the store's own rules). */
struct kgc_store *kgc_listenercache_store(struct kgc_listenercache *c);

/* The debug endpoint's JSON: {"persistent", "dir", "view": {source, stale, age_ms, reason,
 * n_live}, "instances": [{url, source: live|cached|none, age_ms, last_seen_live, version, node_id,
 * router_flavor, database, persisted, error, proxy_listeners[], stream_listeners[]}]}, instances
 * sorted by URL. Returns a malloc'd string (caller frees) or NULL when out of memory. */
char *kgc_listenercache_dump(struct kgc_listenercache *c);

#endif

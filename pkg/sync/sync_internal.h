/* sync — declarations shared by the syncer's files (pkg/sync/README.md maps them). Not part of
 * the public contract (include/kgc/sync.h). */
#ifndef KGC_SYNC_INTERNAL_H
#define KGC_SYNC_INTERNAL_H

#include "kgc/clock.h"
#include "kgc/strmap.h"
#include "kgc/sync.h"
#include "kgc/translate.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KGC_SYNC_COMPONENT "sync"
#define KGC_SYNC_MSG_MAX   512

/* Failed re-pushes after which a restarted instance no longer counts as carrying its old
 * configuration (the Gateways it held then wait, Programmed=False/Pending). */
#define KGC_SYNC_CARRIED_ATTEMPTS 3

/* ---- blobs (machine.c) ------------------------------------------------------------------------
 * A configuration text and the Gateways it was translated from. Immutable once shared; shared by
 * reference (cur, last_good, restored, each instance's accepted and carried, a push in flight).
 * The state machine only reads hash, empty and the Gateway set: a test makes blobs without text. */
struct kgc_sync_gwref {
    char *key; /* "ns/name" */
    int64_t generation;
};

struct kgc_sync_blob {
    atomic_uint refs;
    char *text; /* never logged: holds TLS private keys; NULL for a restored set or in tests */
    size_t len;
    struct kgc_translate_text *shared; /* what text is in (a reference; shared with the
                                          incremental translator's state); NULL: text is
                                          malloc'd */
    char hash[KGC_KONG_HASH_LEN + 1];
    /* no entity at all: Kong stores it under the empty hash (32 zeros), not under hash
     * (kong/db/declarative/import.lua:270-273, 433-435), and never answers 304 for it */
    bool empty;
    /* the machine's (translated()): the clock time of the first mark of the change the
     * translation that made this text answered (0: none, a translation no change asked for) */
    uint64_t mark_ns;
    struct kgc_sync_gwref *gws;
    size_t n_gws, cap_gws;
    /* kgc_sync_blob_add_gateways(): the keys it added, back to back in one block (owned; a key
     * inside it is not freed on its own) */
    char *keys_block;
    size_t keys_block_len;
    /* kgc_sync_blob_seal(): gws[0..n_sorted-1] are sorted by key (searched by bisection), and
     * set_digest is the set's digest while n_sorted == n_gws (kgc_sync_blob_set_digest()) */
    size_t n_sorted;
    uint64_t set_digest;
};

/* A blob with one reference, hash copied (at most KGC_KONG_HASH_LEN bytes), no text, no
 * Gateway; NULL when out of memory. */
struct kgc_sync_blob *kgc_sync_blob_new(const char *hash, bool empty);
/* Adds Gateway key at generation gen to b's set (before b is shared). 0 or KGC_ENOMEM. */
int kgc_sync_blob_add_gateway(struct kgc_sync_blob *b, const char *key, int64_t gen);
/* Adds the n Gateways of v (keys copied into one block: a copy of a set of 1k Gateways per
 * translation cost 1k allocations) to b's set (before b is shared). 0 or KGC_ENOMEM. */
int kgc_sync_blob_add_gateways(struct kgc_sync_blob *b, const struct kgc_sync_gwref *v, size_t n);
struct kgc_sync_blob *kgc_sync_blob_ref(struct kgc_sync_blob *b);             /* NULL-safe */
void kgc_sync_blob_unref(struct kgc_sync_blob *b);                            /* NULL-safe */
void kgc_sync_blob_set(struct kgc_sync_blob **slot, struct kgc_sync_blob *b); /* new reference */
/* Sorts b's set and keeps its digest (before b is shared): lookups search the sorted part by
 * bisection and what was added after the last seal linearly. */
void kgc_sync_blob_seal(struct kgc_sync_blob *b);
/* Whether b's Gateway set holds key at generation gen or newer (b may be NULL). */
bool kgc_sync_blob_has_gateway(const struct kgc_sync_blob *b, const char *key, int64_t gen);
/* A digest of b's set (keys and generations, in any order; 0 for NULL): two blobs with equal
 * digests answer every kgc_sync_blob_has_gateway() alike (but for a 2^-64 collision). */
uint64_t kgc_sync_blob_set_digest(const struct kgc_sync_blob *b);
/* The configuration_hash Kong reports once it holds b. */
const char *kgc_sync_blob_kong_hash(const struct kgc_sync_blob *b);

/* ---- the state machine (machine.c) ------------------------------------------------------------
 * Pure: no I/O, no thread, no lock, no clock read, no log. Every time is an argument. The
 * syncer guards it with its mutex; tests drive it directly. */

/* One Kong instance. The fields below "thread" are written by the syncer's thread (sync.c) for
 * /debug and never read by the machine. */
struct kgc_sync_inst {
    char url[KGC_KONG_URL_MAX];
    bool is_static;                 /* added with kgc_sync_add_instance(): always ready */
    bool ready;                     /* the last event said ready */
    bool removed;                   /* REMOVED seen (kept until free: the client may be in use) */
    bool force;                     /* push even when it seems to hold the target */
    bool pushing;                   /* a PUSH was handed out and not answered yet */
    struct kgc_sync_blob *accepted; /* what it last accepted */
    struct kgc_sync_blob *carried;  /* what it had accepted before it restarted empty, while the
                                       re-push that restores it is pending (cleared by its
                                       answer, a rejection or KGC_SYNC_CARRIED_ATTEMPTS failures) */
    char rejected_hash[KGC_KONG_HASH_LEN + 1]; /* never re-sent until a change */
    char inflight_hash[KGC_KONG_HASH_LEN + 1]; /* the hash Kong will report for the push in
                                                  flight (kgc_sync_blob_kong_hash()) */
    char kong_hash[KGC_KONG_HASH_LEN + 1];     /* the last hash its prober saw */
    char node_id[64];                          /* the Kong process the prober last saw ready */
    char inflight_node[64];                    /* node_id when the push in flight was picked */
    char accepted_node[64];                    /* the Kong process that answered `accepted` */
    uint64_t accepted_sent_ns;                 /* when the last byte of `accepted` was sent to it */
    uint64_t retry_at_ns;                      /* not before (backoff) */
    unsigned attempts; /* failures in a row (of process node_id: a new one starts at 0) */
    /* thread: /debug only */
    const char *last_result; /* push kind name, "error", "" */
    long last_status;
    uint64_t last_push_wall_ms;
    char last_error[KGC_SYNC_MSG_MAX];
    struct kgc_kong_client *client; /* the syncer thread only; the machine never touches it */
    struct kgc_sync_inst *next;
};

struct kgc_sync_machine {
    uint64_t debounce_ns, max_delay_ns;
    bool leader;
    bool dirty; /* marked since the last fresh translation */
    uint64_t first_mark_ns, last_mark_ns;
    /* Leading edge: a change after a quiet period (no fresh translation for a debounce) is
     * translated at once; marks after that within a debounce of it wait for the trailing
     * debounce (a burst is translated once more when it ends, at the latest max_delay after its
     * first mark). */
    bool lead;              /* the pending change came after a quiet period */
    bool translated;        /* a fresh translation was decided */
    uint64_t last_fresh_ns; /* when the last fresh translation was decided */
    /* Upkeep of the incremental translator's state (kgc_sync_machine_want_upkeep()): a
     * translation no change asks for, once the HTTPRoutes were quiet for upkeep_quiet_ns
     * (KGC_SYNC_UPKEEP_QUIET_NS) and nothing is marked. */
    bool upkeep;
    uint64_t upkeep_since_ns, upkeep_after_ns;
    bool translate_now; /* re-translate at once (objects were rejected) */
    unsigned exclude_rounds;
    unsigned max_pushes;          /* PUSH decisions in flight at once (0: 1) */
    unsigned n_pushing;           /* handed out and not answered (push_done/push_aborted) */
    uint64_t translating_mark_ns; /* first_mark_ns of the fresh translation asked for */
    /* a change-to-push latency to take (kgc_sync_machine_take_latency()), and the first mark
     * of the last change measured (each change once) */
    bool latency_ready;
    uint64_t latency_ns;
    uint64_t measured_mark_ns;
    struct kgc_sync_blob *cur;       /* the last translation */
    struct kgc_sync_blob *last_good; /* the last configuration any instance accepted */
    /* The Gateway set (no text) of the last configuration a Kong accepted before kgc started
     * (record.c): answers programmed() while no instance is ready, until this process learns
     * better (an acceptance, a restart, a foreign config). */
    struct kgc_sync_blob *restored;
    struct kgc_sync_inst *insts;
};

enum kgc_sync_do {
    KGC_SYNC_DO_IDLE = 0,  /* nothing until the next input */
    KGC_SYNC_DO_WAIT,      /* nothing until until_ns (or the next input) */
    KGC_SYNC_DO_TRANSLATE, /* translate (fresh: a change; else a re-translation after a 400),
                              then kgc_sync_machine_translated() or _translate_failed() */
    KGC_SYNC_DO_PUSH,      /* push blob to inst, then kgc_sync_machine_push_done(); several
                              may be in flight (up to max_pushes, one per instance): ask again */
};

struct kgc_sync_decision {
    enum kgc_sync_do what;
    bool fresh;                 /* TRANSLATE */
    bool upkeep;                /* TRANSLATE: for the translator's state only (see upkeep) */
    struct kgc_sync_inst *inst; /* PUSH */
    struct kgc_sync_blob *blob; /* PUSH: a reference the caller drops */
    uint64_t until_ns;          /* WAIT */
};

/* The answer to a push, as the machine needs it. */
struct kgc_sync_push_outcome {
    bool failed;                  /* no answer (connect, timeout, ...) */
    enum kgc_kong_push_kind kind; /* when answered */
    unsigned retry_after_s;       /* BUSY/OTHER: Kong's Retry-After (0: none) */
    size_t n_new_broken;          /* REJECTED: objects newly hidden (exclude.c) */
    uint64_t sent_ns;             /* when its last byte was sent (0: unknown, take now) */
};

/* max_delay_ns is raised to debounce_ns when below it (0: 1 s). One push at a time until
 * kgc_sync_machine_set_max_pushes(). */
void kgc_sync_machine_init(struct kgc_sync_machine *m, uint64_t debounce_ns, uint64_t max_delay_ns);
/* At most n PUSH decisions unanswered at once (0 counts as 1), never two for one instance. */
void kgc_sync_machine_set_max_pushes(struct kgc_sync_machine *m, unsigned n);
/* The time from the first mark of a change to the last byte of the push that left every ready
 * instance holding the configuration translated for it (the latest of their sent times; Kong's
 * load time after that is not kgc's), taken at the answer that completed it (at most once per
 * configuration; changes that needed no push are not measured). Returns true once per
 * measurement, with *ns. */
bool kgc_sync_machine_take_latency(struct kgc_sync_machine *m, uint64_t *ns);
/* Drops every blob and instance (free the instances' clients first). */
void kgc_sync_machine_free(struct kgc_sync_machine *m);
/* Something the configuration depends on changed at now: translated at once when nothing was
 * translated for a debounce (leading edge), else a debounce after the last mark (at most
 * max_delay after the first). */
void kgc_sync_machine_mark(struct kgc_sync_machine *m, uint64_t now);
/* How long the HTTPRoutes must be quiet (no change, no status write) before the incremental
 * translator's state is built or its stale route objects are let go (pkg/sync/README.md). */
#define KGC_SYNC_UPKEEP_QUIET_NS (2 * KGC_NS_PER_S)
/* ... but no longer than this after it was first wanted (routes that never stay quiet). */
#define KGC_SYNC_UPKEEP_MAX_NS (10 * KGC_NS_PER_S)
/* Once the state is built, status writes ask for an upkeep only when this many routes (or an
 * overflow) wait to be planned again; fewer ride along with the next change's translation (a few
 * replaced route objects stay referenced until then). */
#define KGC_SYNC_UPKEEP_MIN_ROUTES 64
/* The translator's state wants an upkeep translation once nothing happened to an HTTPRoute since
 * now for KGC_SYNC_UPKEEP_QUIET_NS (each call moves that time, up to KGC_SYNC_UPKEEP_MAX_NS after
 * the first call since the last upkeep). */
void kgc_sync_machine_want_upkeep(struct kgc_sync_machine *m, uint64_t now);
/* Becoming the leader forces a push to every instance. */
void kgc_sync_machine_set_leader(struct kgc_sync_machine *m, bool leader);
/* The instance url (create: made when absent); NULL when absent or out of memory. */
struct kgc_sync_inst *kgc_sync_machine_instance(struct kgc_sync_machine *m, const char *url,
                                                bool create);
/* An always-ready instance (kgc_sync_add_instance()); NULL when out of memory. */
struct kgc_sync_inst *kgc_sync_machine_add_static(struct kgc_sync_machine *m, const char *url);
/* A Kong event on url (node_id: the probe's, NULL when the event has no state; hash: "" when
 * none). Returns whether programmed() may answer differently; *why is set when the instance now
 * needs a push (the thread must be woken), else NULL. */
bool kgc_sync_machine_event(struct kgc_sync_machine *m, enum kgc_kong_event_type type,
                            const char *url, const char *node_id, const char *hash,
                            const char **why);
/* What now. TRANSLATE clears the debounce (fresh); PUSH records the push in flight (the
 * instance gets no other PUSH until push_done/push_aborted; while max_pushes are in flight no
 * PUSH is handed out and the answer is the next translation's WAIT, or IDLE). */
struct kgc_sync_decision kgc_sync_machine_next(struct kgc_sync_machine *m, uint64_t now);
/* The translation asked for produced b (fresh as decided). Returns whether an instance was found
 * to hold b already (its Gateway set is now b's: programmed() may answer differently). */
bool kgc_sync_machine_translated(struct kgc_sync_machine *m, struct kgc_sync_blob *b, bool fresh);
/* The translation failed: try again a debounce after now. */
void kgc_sync_machine_translate_failed(struct kgc_sync_machine *m, uint64_t now);
/* The push of b to i was aborted (shutdown): nothing is in flight any more. */
void kgc_sync_machine_push_aborted(struct kgc_sync_machine *m, struct kgc_sync_inst *i);
/* The push of b to i ended at now with o. Returns whether programmed() may answer differently. */
bool kgc_sync_machine_push_done(struct kgc_sync_machine *m, struct kgc_sync_inst *i,
                                struct kgc_sync_blob *b, const struct kgc_sync_push_outcome *o,
                                uint64_t now);
/* Whether i needs a push now or after retry_at_ns. */
bool kgc_sync_machine_wants_push(const struct kgc_sync_machine *m, const struct kgc_sync_inst *i);
/* The status hook's answer for Gateway key at generation gen (kgc_sync_gateway_programmed()). */
bool kgc_sync_machine_programmed(const struct kgc_sync_machine *m, const char *key, int64_t gen,
                                 char *why, size_t why_size);
/* A digest of everything programmed(), kgc_sync_push_expected() and kgc_sync_plugin_status()
 * read from m: the leader flag; per instance its url, removed, ready, whether it failed or
 * rejected its last push, and its accepted and carried sets; the restored set; cur's set. */
uint64_t kgc_sync_machine_programmed_fp(const struct kgc_sync_machine *m);
/* The delay before the next push after `attempts` failures in a row: 100 ms doubling, 30 s cap. */
uint64_t kgc_sync_backoff_ns(unsigned attempts);

/* ---- rejected objects (exclude.c) -------------------------------------------------------------
 */

/* An object Kong rejected, hidden from the translator while `version` is current. */
struct kgc_sync_broken {
    enum kgc_api_kind kind;
    char *ns; /* "" for cluster-scoped kinds */
    char *name;
    char version[96]; /* "g<generation>" or "rv<resourceVersion>" */
    char *message;
};

/* ---- what changed (build.c) --------------------------------------------------------------------
 * The objects changed since the last translation, so that it translates only what they touch
 * (kgc_translate_incremental). Bounded: past KGC_SYNC_MAX_CHANGES, or after a change the
 * translator cannot scope (the listener view), everything is translated again. */
#define KGC_SYNC_MAX_CHANGES 1024

struct kgc_sync_objchange {
    enum kgc_api_kind kind;
    char *ns; /* owned; "" for cluster-scoped kinds */
    char *name;
};

struct kgc_sync_changes {
    struct kgc_sync_objchange *v; /* KGC_SYNC_MAX_CHANGES slots once allocated */
    size_t n;
    bool everything; /* overflowed, out of memory, or a change without object */
};

/* Records a changed object (any thread; takes mu). obj NULL: everything changed
 * (kgc_sync_mark_dirty(): the caller does not say what). */
void kgc_sync_record_change(struct kgc_sync *s, enum kgc_api_kind kind,
                            const struct kgc_api_obj *obj);
/* Frees what the change set and the translator's state hold (kgc_sync_free). */
void kgc_sync_changes_free(struct kgc_sync *s);

/* One PUSH decision handed to a push worker, and its answer (sync.c). */
struct kgc_sync_job {
    struct kgc_sync_inst *inst;
    struct kgc_sync_blob *blob; /* a reference */
    int rc;                     /* the worker's: kgc_kong_push_config()'s result */
    struct kgc_err err;
    struct kgc_kong_push_result r;
    uint64_t took, done_ns; /* on the syncer's clock */
    uint64_t sent_ns;       /* the text's last byte sent, on the syncer's clock */
    struct kgc_sync_job *next;
};

/* ---- the syncer -------------------------------------------------------------------------------
 * Locking: mu guards everything below "guarded by mu". The syncer thread is the only one that
 * changes the broken list and the verdict map, so it reads them without the lock; every other
 * thread (event subscribers, status hooks, /debug, /metrics, push workers) takes the lock. A
 * push worker only runs the network call of a job (with the instance's client, which no other
 * thread uses while the machine counts that instance as pushing); the answer goes back to the
 * syncer thread (done list), which feeds it to the machine. Network I/O and the translation run
 * with the lock released. */
struct kgc_sync {
    const struct kgc_clock *clock;
    char *controller_name;
    char *invalid_backend_target;         /* NULL: off */
    char *publish_ns, *publish_name;      /* --publish-service; NULL: none */
    struct kgc_kong_client_options copts; /* deep copy (no registry) */
    char **copts_strings;                 /* what copts points at */
    size_t n_copts_strings;
    const struct kgc_kong_client_options *client_opts; /* &copts or the registry's */
    struct {
        kgc_sync_change_fn fn;
        void *ctx;
    } subs[KGC_SYNC_MAX_SUBSCRIBERS]; /* set before start; read without a lock */
    size_t n_subs;
    struct kgc_status_lookup lookup;
    struct kgc_kong *kong;
    struct kgc_listenercache *lc;

    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_t thread;
    pthread_cond_t work_cond; /* the push workers wait on it for todo */
    pthread_t *workers;       /* push_concurrency push workers ("kgc-push") */
    size_t n_workers;
    unsigned push_concurrency;
    bool incremental;  /* options.incremental */
    bool tstate_ready; /* guarded by mu: the translator's state was built (tstate valid) */
    bool started;
    volatile int abort_flag; /* aborts a push in flight at stop */

    /* guarded by mu */
    bool stop;
    /* PUSH decisions waiting for a worker, and answers waiting for the syncer thread */
    struct kgc_sync_job *todo_head, *todo_tail, *done_head, *done_tail;
    struct kgc_sync_machine m;
    struct kgc_translate_output last_out; /* problems of the last translation (config NULL) */
    bool have_out;
    /* "ns/name" → struct kgc_sync_rverdict (verdicts.c): every HTTPRoute the last translation
     * judged, at the generation it had then (replaced whole by the syncer thread) */
    struct kgc_strmap verdicts;
    bool verdicts_complete; /* syncer thread: verdicts holds a whole walk's record (kept up by
                               partial walks since) */
    /* syncer thread: the entries of verdicts with an objection (verdict != 0) and with a Kong
     * limitation (limited), kept with the map so that a partial walk looks for them only when
     * there are some */
    size_t n_objected, n_limited;
    uint64_t translated_wall_ms;
    char last_rejection[KGC_SYNC_MSG_MAX];
    struct kgc_sync_broken *broken;
    size_t n_broken;
    struct kgc_sync_stats stats;
    /* the stored record's hash (under record_mu: the syncer thread writes the record when a
     * push is taken, a prober thread when a probe finds Kong holding the current text first) */
    pthread_mutex_t record_mu;
    char persisted_hash[KGC_KONG_HASH_LEN + 1];
    /* ... its Gateway lines (what follows the hash) and when it was written (s->clock); a
     * record with the same lines waits in pending_rec (the newest one) until
     * KGC_SYNC_RECORD_HASH_EVERY_NS passed or the syncer stops (record.c) */
    char *persisted_lines;
    size_t persisted_lines_len;
    uint64_t persisted_at_ns;
    char *pending_rec;
    size_t pending_len;
    char pending_hash[KGC_KONG_HASH_LEN + 1];
    /* build.c: what changed since the last translation (guarded by mu; the cache handler and
     * the listener view add, kgc_sync_build() takes it whole), and the incremental translator's
     * state (syncer thread only) */
    struct kgc_sync_changes changes;
    struct kgc_translate_state *tstate;
    /* syncer thread: the Gateways of this controller's classes at their generations, as the last
     * build walked them (gwset_valid); a build whose changes name no GatewayClass or Gateway
     * copies them instead of walking every Gateway (build.c gateway_set) */
    struct kgc_sync_gwref *gwset;
    size_t n_gwset;
    bool gwset_valid;
    size_t built_broken; /* syncer thread: n_broken when the last translation ran */
    /* syncer thread: the routes walked before the last translation, judged (route verdicts)
     * once its pushes are handed out or before the next translation */
    struct kgc_sync_rwalk *pending_rw;
    /* guarded by mu: the machine's kgc_sync_machine_programmed_fp() at the last
     * KGC_SYNC_CHANGE_PROGRAMMED announcement (announced_fp_set: there was one) */
    uint64_t announced_fp;
    bool announced_fp_set;
};

/* sync.c */
/* The cache handler kgc_sync_watch_cache() installs for every kind (ctx = the syncer): records
 * what changed and marks the syncer dirty (a status-only change only lists the route). */
void kgc_sync_on_object_change(enum kgc_api_kind kind, const struct kgc_api_obj *old_obj,
                               const struct kgc_api_obj *new_obj, void *ctx);
void kgc_sync_announce_object(struct kgc_sync *s, enum kgc_sync_change_what what,
                              enum kgc_api_kind kind, const char *ns, const char *name,
                              const char *message);
/* Announces KGC_SYNC_CHANGE_PROGRAMMED unless nothing kgc_sync_gateway_programmed(),
 * kgc_sync_push_expected() and kgc_sync_plugin_status() read from the machine changed since the
 * last announcement (kgc_sync_machine_programmed_fp()): a single route change is pushed without
 * waking every Gateway's reconcile. Takes mu. */
void kgc_sync_announce_programmed(struct kgc_sync *s);

/* build.c: translates the cache into a new current configuration (syncer thread, mu not held;
 * takes it to hand the blob to the machine). Returns 0 or a KGC_E* code (logged). */
int kgc_sync_build(struct kgc_sync *s, bool fresh, bool upkeep);
/* Judges the routes of the last translation (kgc_sync_verdicts_record) when not done yet
 * (syncer thread, mu not held): the pushes go out first, the verdicts a moment later. */
void kgc_sync_verdicts_flush(struct kgc_sync *s);

/* exclude.c (syncer thread unless said otherwise) */
const char *kgc_sync_kind_name(enum kgc_api_kind kind);
/* The key of a plugin object in a blob's set (build.c): "<Kind>:<cache key>". */
void kgc_sync_plugin_key(const struct kgc_api_obj *obj, char *out, size_t size);
/* A lookup over s->lookup that hides the broken objects (with its routes-of-a-Gateway index when
 * s->lookup has one). */
struct kgc_status_lookup kgc_sync_hiding_lookup(struct kgc_sync *s);
/* Drops the broken entries whose object changed or is gone and announces them (mu not held). */
void kgc_sync_exclude_prune(struct kgc_sync *s);
/* The objects a rejection names that are not broken yet, as new entries in *out (mu NOT held:
 * the lookup is called). Returns how many. */
size_t kgc_sync_exclude_collect(struct kgc_sync *s, const struct kgc_kong_push_result *r,
                                struct kgc_sync_broken **out);
/* Appends the n entries of fresh to the broken list (mu held); frees fresh. Returns how many
 * were kept (0 when out of memory) and the index of the first in *first. */
size_t kgc_sync_exclude_add(struct kgc_sync *s, struct kgc_sync_broken *fresh, size_t n,
                            size_t *first);
/* Logs and announces the broken entries [first, first + n) (mu not held). */
void kgc_sync_exclude_announce(struct kgc_sync *s, size_t first, size_t n);
void kgc_sync_broken_free(struct kgc_sync_broken *b);

/* verdicts.c */
struct kgc_sync_rwalk; /* the routes walked before a translation */
struct kgc_sync_rwalk *kgc_sync_verdicts_walk(struct kgc_sync *s);
/* The routes changes c names (deleted ones as gone), when the map holds a whole walk's record and
 * c is not "everything"; else kgc_sync_verdicts_walk(). Syncer thread, mu not held. */
struct kgc_sync_rwalk *kgc_sync_verdicts_walk_changes(struct kgc_sync *s,
                                                      const struct kgc_sync_changes *c);
/* Judges the walked routes after the translation, makes them the map, announces the new or
 * changed ones (mu not held). Takes w. */
void kgc_sync_verdicts_record(struct kgc_sync *s, struct kgc_sync_rwalk *w);
void kgc_sync_verdicts_walk_free(struct kgc_sync_rwalk *w);
void kgc_sync_verdicts_clear(struct kgc_strmap *m);

/* record.c: the accepted Gateway set across kgc restarts */
/* Stores b's Gateway set when it is not the one stored (the syncer thread or a prober thread; mu
 * not held: record_mu guards the store write and the fields it keeps); only b's hash new: at most
 * every KGC_SYNC_RECORD_HASH_EVERY_NS (include/kgc/sync.h). */
void kgc_sync_record_persist(struct kgc_sync *s, const struct kgc_sync_blob *b);
/* Writes the record kgc_sync_record_persist() left waiting, if any (kgc_sync_stop(), after the
 * syncer thread ended). */
void kgc_sync_record_flush(struct kgc_sync *s);
/* Frees what the record functions keep (kgc_sync_free()). */
void kgc_sync_record_free(struct kgc_sync *s);
/* The stored Gateway set as a blob without text, or NULL (none, unreadable, malformed). */
struct kgc_sync_blob *kgc_sync_record_restore(struct kgc_sync *s);

/* changes.c: true when an update of a Gateway API object is a status write only (same generation,
 * labels, annotations and deletion timestamp): the configuration cannot change (the syncer's
 * cache handler then marks nothing). Additions, deletions and core kinds are never status-only. */
bool kgc_sync_change_is_status_only(enum kgc_api_kind kind, const struct kgc_api_obj *old_obj,
                                    const struct kgc_api_obj *new_obj);

#endif

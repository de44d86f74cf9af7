/* secretref: the bounded reader of the Secret values Kong plugins take their config from
 * (KongPlugin/KongClusterPlugin configFrom.secretKeyRef).
 *
 * The Secrets informer lists only kubernetes.io/tls Secrets (kgc/informer.h): any tenant can
 * create many big Secrets of other types, so kgc never caches every Secret. This module reads
 * only the Secrets that plugin objects name: at most KGC_SECRETREF_MAX (namespace, name, key)
 * references, one GET each (no list, no watch: RBAC `get` on secrets is enough), whenever a
 * plugin object changes and every period_ns otherwise, keeping only the named key's decoded
 * value when it is at most KGC_API_KONGPLUGIN_CONFIG_MAX bytes. When a value changes it calls
 * on_change (main.c: the syncer's mark-dirty), and the translator sees the new value through
 * the lookup kgc_secretref_lookup() gives.
 *
 * Values never leave this module except through secret_value() (into the pushed Kong config):
 * they are not logged, not counted by content, and wiped before they are freed.
 *
 * Threads: one worker thread between start and stop; the lookup hook may be called from any
 * thread (a mutex guards the table). */
#ifndef KGC_SECRETREF_H
#define KGC_SECRETREF_H

#include "kgc/cache.h"
#include "kgc/clock.h"
#include "kgc/err.h"
#include "kgc/k8s.h"
#include "kgc/status.h"

#include <stdint.h>

#define KGC_SECRETREF_MAX 256u /* references read at most; the others report "not read yet" */

struct kgc_secretref;

struct kgc_secretref_options {
    struct kgc_k8s_client *client; /* required, borrowed */
    struct kgc_status_lookup base; /* the cache's lookup (get/foreach), copied */
    const struct kgc_clock *clock; /* NULL: the real one */
    uint64_t period_ns;            /* re-read every referenced Secret this often */
    void (*on_change)(void *ctx);  /* a value appeared, changed or went away */
    void *on_change_ctx;
};

/* 0, KGC_EINVAL or KGC_ENOMEM. */
int kgc_secretref_new(const struct kgc_secretref_options *o, struct kgc_secretref **out,
                      struct kgc_err *err);
/* Re-reads on every KongPlugin/KongClusterPlugin change of cache. 0 or KGC_ENOMEM. */
int kgc_secretref_watch_cache(struct kgc_secretref *s, struct kgc_cache *cache);
/* The base lookup with secret_value answered from this module's table. */
void kgc_secretref_lookup(struct kgc_secretref *s, struct kgc_status_lookup *out);
/* Reads every referenced Secret once now (the worker's step; tests call it directly). */
void kgc_secretref_refresh(struct kgc_secretref *s);
int kgc_secretref_start(struct kgc_secretref *s, struct kgc_err *err);
void kgc_secretref_stop(struct kgc_secretref *s);
void kgc_secretref_free(struct kgc_secretref *s);

#endif

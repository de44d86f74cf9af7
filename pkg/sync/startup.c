/* sync — the start-up answer for the reconciler (kgc_sync_push_expected()).
 *
 * At start-up (and on becoming the leader) every Gateway is computed before the first push has
 * landed: its only missing piece is "Kong accepted it". Rather than write Programmed=False/Pending
 * and then Programmed=True a second later, the reconciler holds such a write for a few seconds
 * while this says a push that may program it is on its way; KGC_SYNC_CHANGE_PROGRAMMED brings the
 * Gateway back when the push lands. A failed or rejected push, or Kong known to be down, ends the
 * wait at once: the status must say so. */
#include "sync_internal.h"

bool kgc_sync_push_expected(void *ctx)
{
    struct kgc_sync *s = ctx;
    if (!s)
        return false;
    pthread_mutex_lock(&s->mu);
    bool expected = s->m.leader;
    size_t n_known = 0, n_ready = 0;
    for (const struct kgc_sync_inst *i = s->m.insts; i && expected; i = i->next) {
        if (i->removed)
            continue;
        n_known++;
        if (!i->ready)
            continue; /* down: programmed() does not wait for it either */
        n_ready++;
        if (i->attempts > 0 || i->rejected_hash[0])
            expected = false; /* its last push failed or was rejected */
    }
    /* every instance that answered is down: Kong is down, and the status must say so. No
     * instance at all: none has answered yet (the first probe's event may also trail the listener
     * view's), so a push is still to come. */
    if (n_known > 0 && n_ready == 0)
        expected = false;
    pthread_mutex_unlock(&s->mu);
    return expected;
}

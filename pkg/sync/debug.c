/* sync — what the syncer shows: /metrics counters (kgc_sync_stats()) and /debug/config
 * (kgc_sync_status_json()). Never the configuration text. */
#include "sync_internal.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

const double *kgc_sync_push_bounds(void)
{
    static const double bounds[KGC_SYNC_PUSH_BUCKETS] = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    return bounds;
}

void kgc_sync_stats(struct kgc_sync *s, struct kgc_sync_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}

static void jadd_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

char *kgc_sync_status_json(struct kgc_sync *s)
{
    json_object *root = json_object_new_object();
    json_object *insts = json_object_new_array();
    json_object *broken = json_object_new_array();
    if (!root || !insts || !broken) {
        json_object_put(root);
        json_object_put(insts);
        json_object_put(broken);
        return NULL;
    }
    uint64_t now = kgc_clock_now(s->clock);
    pthread_mutex_lock(&s->mu);
    json_object_object_add(root, "leader", json_object_new_boolean(s->m.leader));
    jadd_str(root, "hash", s->m.cur ? s->m.cur->hash : NULL);
    json_object_object_add(root, "size",
                           json_object_new_int64(s->m.cur ? (int64_t)s->m.cur->len : 0));
    jadd_str(root, "last_good_hash", s->m.last_good ? s->m.last_good->hash : NULL);
    json_object_object_add(root, "translated_at_ms",
                           json_object_new_int64((int64_t)s->translated_wall_ms));
    json_object_object_add(root, "problems", json_object_new_int64((int64_t)s->stats.problems));
    jadd_str(root, "last_rejection", s->last_rejection[0] ? s->last_rejection : NULL);
    json_object_object_add(root, "dirty", json_object_new_boolean(s->m.dirty));
    for (const struct kgc_sync_inst *i = s->m.insts; i; i = i->next) {
        json_object *j = json_object_new_object();
        if (!j)
            continue;
        jadd_str(j, "url", i->url);
        json_object_object_add(j, "ready", json_object_new_boolean(i->ready && !i->removed));
        jadd_str(j, "accepted_hash", i->accepted ? i->accepted->hash : NULL);
        jadd_str(j, "kong_hash", i->kong_hash[0] ? i->kong_hash : NULL);
        jadd_str(j, "last_result", i->last_result[0] ? i->last_result : NULL);
        json_object_object_add(j, "last_status", json_object_new_int64(i->last_status));
        json_object_object_add(j, "last_push_at_ms",
                               json_object_new_int64((int64_t)i->last_push_wall_ms));
        jadd_str(j, "last_error", i->last_error[0] ? i->last_error : NULL);
        jadd_str(j, "rejected_hash", i->rejected_hash[0] ? i->rejected_hash : NULL);
        json_object_object_add(
            j, "retry_in_ms",
            json_object_new_int64(
                i->retry_at_ns > now ? (int64_t)((i->retry_at_ns - now) / KGC_NS_PER_MS) : 0));
        json_object_array_add(insts, j);
    }
    for (size_t k = 0; k < s->n_broken; k++) {
        json_object *j = json_object_new_object();
        if (!j)
            continue;
        jadd_str(j, "kind", kgc_sync_kind_name(s->broken[k].kind));
        jadd_str(j, "namespace", s->broken[k].ns);
        jadd_str(j, "name", s->broken[k].name);
        jadd_str(j, "message", s->broken[k].message);
        json_object_array_add(broken, j);
    }
    pthread_mutex_unlock(&s->mu);
    json_object_object_add(root, "instances", insts);
    json_object_object_add(root, "broken", broken);
    const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
    char *res = text ? strdup(text) : NULL;
    json_object_put(root);
    return res;
}

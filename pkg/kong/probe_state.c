/* kong: the prober's decisions, apart from its thread (the contract is in kgc/kong.h, "The
 * prober's decisions"). Pure: every time is an argument, nothing here reads a clock, takes a lock
 * or makes a request, so test_kong_prober drives it with made-up probes and times. */
#include "kgc/kong.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_INTERVAL_MS      1000 /* kgc_kong_options_default() */
#define DEFAULT_DOWN_INTERVAL_MS 200

static uint64_t ms_to_ns(uint64_t ms)
{
    return ms > UINT64_MAX / KGC_NS_PER_MS ? UINT64_MAX : ms * KGC_NS_PER_MS;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void kgc_kong_probe_state_init(struct kgc_kong_probe_state *m, const char *url,
                               const struct kgc_kong_options *o)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->state.url, sizeof(m->state.url), "%s", url);
    m->interval_ns = ms_to_ns(o->probe_interval_ms ? o->probe_interval_ms : DEFAULT_INTERVAL_MS);
    m->down_interval_ns =
        ms_to_ns(o->down_probe_interval_ms ? o->down_probe_interval_ms : DEFAULT_DOWN_INTERVAL_MS);
    m->heartbeat_ns = ms_to_ns(o->heartbeat_interval_ms);
    m->due_ns = 0; /* the first probe: at once */
}

void kgc_kong_probe_state_free(struct kgc_kong_probe_state *m)
{
    if (!m)
        return;
    kgc_kong_instance_state_free(&m->state);
}

void kgc_kong_probe_state_begin(struct kgc_kong_probe_state *m, uint64_t now_ns)
{
    m->started_ns = now_ns;
    m->probe_now = false;
}

static void add_event(struct kgc_kong_probe_events *out, enum kgc_kong_event_type type)
{
    if (out->n < KGC_KONG_PROBE_MAX_EVENTS)
        out->type[out->n++] = type;
}

/* Not ready: UNREACHABLE when it was ready or not probed yet; the last good answer is kept. */
static void apply_failure(struct kgc_kong_probe_state *m, const struct kgc_kong_probe_result *r,
                          uint64_t now_ns, struct kgc_kong_probe_events *out)
{
    struct kgc_kong_instance_state *s = &m->state;
    const char *why = r->error ? r->error : "";
    s->failed_probes++;
    s->configured = false;
    snprintf(s->last_error, sizeof(s->last_error), "%s", why);
    if (s->health != KGC_KONG_HEALTH_DOWN) {
        s->health = KGC_KONG_HEALTH_DOWN;
        s->health_since_ns = now_ns;
        add_event(out, KGC_KONG_EV_UNREACHABLE);
        snprintf(out->reason, sizeof(out->reason), "%s", why);
    }
}

static void apply_ready(struct kgc_kong_probe_state *m, struct kgc_kong_probe_result *r,
                        uint64_t now_ns, struct kgc_kong_probe_events *out)
{
    struct kgc_kong_instance_state *s = &m->state;
    if (s->health != KGC_KONG_HEALTH_READY) {
        s->health = KGC_KONG_HEALTH_READY;
        s->health_since_ns = now_ns;
        m->last_heartbeat_ns = now_ns;
        add_event(out, KGC_KONG_EV_READY);
    }
    /* Kong 3.9.1 also stores an entity-free configuration under the empty hash
     * (kong/db/declarative/import.lua:270-273, 433-435): after kgc pushed one, zeros are that
     * configuration, and only a node_id change tells a restart. Both are compared with what was
     * seen last, across unreachable periods. */
    bool hash_reset = s->hash[0] && !kgc_kong_hash_is_empty(s->hash) &&
                      kgc_kong_hash_is_empty(r->hash) && !m->expect_empty;
    bool node_changed = s->have_info && s->info.node_id[0] && r->info.node_id[0] &&
                        strcmp(s->info.node_id, r->info.node_id) != 0;
    if (hash_reset || node_changed) {
        s->restarts++;
        add_event(out, KGC_KONG_EV_RESTARTED);
        if (node_changed)
            snprintf(out->reason, sizeof(out->reason), "node_id changed from %s to %s",
                     s->info.node_id, r->info.node_id);
        else
            snprintf(out->reason, sizeof(out->reason),
                     "configuration hash turned to zeros (was %s)", s->hash);
    }
    if (!s->have_info || !kgc_kong_listeners_equal(&s->info.listeners, &r->info.listeners))
        add_event(out, KGC_KONG_EV_LISTENERS_CHANGED);
    if (strcmp(s->hash, r->hash) != 0)
        add_event(out, KGC_KONG_EV_HASH_CHANGED);
    if (out->n == 0 && m->heartbeat_ns && now_ns - m->last_heartbeat_ns >= m->heartbeat_ns) {
        m->last_heartbeat_ns = now_ns;
        add_event(out, KGC_KONG_EV_HEARTBEAT);
    }
    kgc_kong_info_free(&s->info);
    s->info = r->info;
    memset(&r->info, 0, sizeof(r->info));
    s->have_info = true;
    snprintf(s->hash, sizeof(s->hash), "%s", r->hash);
    s->configured = s->hash[0] && !kgc_kong_hash_is_empty(s->hash);
    s->last_ok_wall_ms = r->wall_ms;
    s->last_error[0] = '\0';
}

void kgc_kong_probe_state_apply(struct kgc_kong_probe_state *m, struct kgc_kong_probe_result *r,
                                uint64_t now_ns, struct kgc_kong_probe_events *out)
{
    struct kgc_kong_instance_state *s = &m->state;
    memset(out, 0, sizeof(*out));
    snprintf(out->prev_hash, sizeof(out->prev_hash), "%s", s->hash);
    snprintf(out->prev_node_id, sizeof(out->prev_node_id), "%s", s->info.node_id);
    s->probes++;
    s->reachable = r->reachable;
    if (r->ready) {
        apply_ready(m, r, now_ns, out);
    } else {
        apply_failure(m, r, now_ns, out);
        kgc_kong_info_free(&r->info);
    }
    bool ready = s->health == KGC_KONG_HEALTH_READY;
    m->due_ns = add_sat(m->started_ns, ready ? m->interval_ns : m->down_interval_ns);
}

uint64_t kgc_kong_probe_state_next_ns(const struct kgc_kong_probe_state *m)
{
    return m->probe_now ? 0 : m->due_ns;
}

uint64_t kgc_kong_probe_state_heartbeat_ns(const struct kgc_kong_probe_state *m)
{
    if (!m->heartbeat_ns || m->state.health != KGC_KONG_HEALTH_READY)
        return UINT64_MAX;
    return add_sat(m->last_heartbeat_ns, m->heartbeat_ns);
}

void kgc_kong_probe_state_wake(struct kgc_kong_probe_state *m)
{
    m->probe_now = true;
}

void kgc_kong_probe_state_expect_empty(struct kgc_kong_probe_state *m, bool empty)
{
    m->expect_empty = empty;
}

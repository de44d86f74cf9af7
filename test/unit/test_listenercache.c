/* listenercache: the entry encoding (round trip, every truncation, bad bytes), the view logic
 * (live > cached-stale > none; union of ready instances; ages on a fake wall clock; snapshots
 * immutable while held), writes only on change, persistence across close/reopen, recovery from
 * a corrupt or incompatible file, an unwritable directory, the size cap, pruning, the JSON dump,
 * and readers (views and LMDB reads) running while a writer changes the listeners. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kgc/clock.h"
#include "kgc/listenercache.h"
#include "kgc/log.h"

#include "fixture_tmpdir.h"

#include <dirent.h>
#include <json-c/json.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0_MS 1700000000000ULL /* the fake wall clock's start, Unix ms */

static struct kgc_kong_info make_info(const char *node, const uint16_t *ports, size_t n,
                                      uint16_t stream_port)
{
    struct kgc_kong_info in;
    memset(&in, 0, sizeof(in));
    snprintf(in.version, sizeof(in.version), "3.9.1");
    snprintf(in.edition, sizeof(in.edition), "community");
    snprintf(in.node_id, sizeof(in.node_id), "%s", node);
    snprintf(in.router_flavor, sizeof(in.router_flavor), "traditional_compatible");
    snprintf(in.database, sizeof(in.database), "off");
    in.listeners.proxy = n ? calloc(n, sizeof(struct kgc_kong_listener)) : NULL;
    in.listeners.n_proxy = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(in.listeners.proxy[i].ip, sizeof(in.listeners.proxy[i].ip), "0.0.0.0");
        in.listeners.proxy[i].port = ports[i];
        in.listeners.proxy[i].ssl = ports[i] % 1000 == 443;
        in.listeners.proxy[i].http2 = in.listeners.proxy[i].ssl;
    }
    if (stream_port) {
        in.listeners.stream = calloc(1, sizeof(struct kgc_kong_listener));
        in.listeners.n_stream = 1;
        snprintf(in.listeners.stream[0].ip, sizeof(in.listeners.stream[0].ip), "[::]");
        in.listeners.stream[0].port = stream_port;
        in.listeners.stream[0].udp = true;
        in.listeners.stream[0].proxy_protocol = true;
        in.listeners.stream[0].kind = KGC_KONG_LISTENER_STREAM;
    }
    return in;
}

static const uint16_t PORTS_A[] = {8000, 8443};
static const uint16_t PORTS_B[] = {8000, 8001, 9443};

struct fx {
    struct kgc_clock clock;
    char dir[FIXTURE_TMPDIR_MAX];
    struct kgc_listenercache *c;
};

static struct kgc_listenercache *open_at(struct fx *f, const char *dir, unsigned max_mb,
                                         unsigned max_entries)
{
    struct kgc_listenercache_options o;
    kgc_listenercache_options_default(&o);
    o.dir = dir;
    o.wall_clock = &f->clock;
    if (max_mb)
        o.max_mb = max_mb;
    if (max_entries)
        o.max_entries = max_entries;
    struct kgc_listenercache *c = NULL;
    struct kgc_err err = {0};
    if (kgc_listenercache_open(&o, &c, &err) != 0)
        fail_msg("open %s: %s", dir, err.msg);
    return c;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    kgc_clock_fake_init(&f->clock, T0_MS * KGC_NS_PER_MS);
    if (!fixture_tmpdir_make(f->dir, sizeof(f->dir), "lc"))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    kgc_listenercache_close(f->c);
    fixture_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static void advance_ms(struct fx *f, uint64_t ms)
{
    kgc_clock_fake_advance(&f->clock, ms * KGC_NS_PER_MS);
}

/* ---- encoding ------------------------------------------------------------------------------- */

static void test_codec(void **state)
{
    (void)state;
    struct kgc_listenercache_entry e = {.last_seen_live_ms = T0_MS, .written_ms = T0_MS + 5};
    snprintf(e.url, sizeof(e.url), "http://[fd00::1]:8001");
    e.info = make_info("node-1", PORTS_B, 3, 5353);
    unsigned char *buf;
    size_t len;
    assert_int_equal(kgc_listenercache_encode(&e, &buf, &len), 0);
    struct kgc_listenercache_entry d;
    struct kgc_err err = {0};
    assert_int_equal(kgc_listenercache_decode(buf, len, &d, &err), 0);
    assert_string_equal(d.url, e.url);
    assert_int_equal(d.last_seen_live_ms, T0_MS);
    assert_int_equal(d.written_ms, T0_MS + 5);
    assert_string_equal(d.info.node_id, "node-1");
    assert_string_equal(d.info.database, "off");
    assert_true(kgc_kong_listeners_equal(&d.info.listeners, &e.info.listeners));
    assert_true(d.info.listeners.stream[0].udp && d.info.listeners.stream[0].proxy_protocol);
    kgc_listenercache_entry_free(&d);

    /* Every truncation, and a trailing byte, is refused without reading out of bounds. */
    for (size_t n = 0; n < len; n++) {
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, buf, n);
        assert_int_equal(kgc_listenercache_decode(cut, n, &d, &err), KGC_EPARSE);
        free(cut);
    }
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0;
    assert_int_equal(kgc_listenercache_decode(longer, len + 1, &d, &err), KGC_EPARSE);
    assert_non_null(strstr(err.msg, "trailing"));
    free(longer);
    buf[2] = 9;
    assert_int_equal(kgc_listenercache_decode(buf, len, &d, &err), KGC_EPARSE);
    assert_non_null(strstr(err.msg, "unknown format 9"));
    buf[2] = 1;
    buf[0] = 'X';
    assert_int_equal(kgc_listenercache_decode(buf, len, &d, &err), KGC_EPARSE);
    assert_int_equal(kgc_listenercache_decode(NULL, 0, &d, &err), KGC_EPARSE);
    free(buf);
    kgc_listenercache_entry_free(&e);
}

/* ---- the view ------------------------------------------------------------------------------- */

/* No directory (--listener-cache-dir=''): no listener cache at all, Kong's own controller's
 * policy. Live listeners count; once every instance is down the view is NONE, not CACHED. */
static void test_no_dir_serves_only_live(void **state)
{
    struct fx *f = *state;
    f->c = open_at(f, "", 0, 0);
    struct kgc_listenercache *c = f->c;
    assert_false(kgc_listenercache_persistent(c));
    const char *u1 = "http://10.0.0.1:8001";
    struct kgc_kong_info a = make_info("n1", PORTS_A, 2, 0);
    assert_int_equal(kgc_listenercache_set_live(c, u1, &a, 0, NULL), 0);
    struct kgc_listenercache_view v;
    kgc_listenercache_view(c, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_LIVE);
    assert_int_equal(v.listeners->n_proxy, 2);
    kgc_listenercache_view_release(&v);
    advance_ms(f, 1000);
    assert_int_equal(kgc_listenercache_set_down(c, u1, "connection refused", 0, NULL), 0);
    kgc_listenercache_view(c, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_NONE);
    assert_false(v.stale);
    assert_int_equal(v.listeners->n_proxy, 0);
    assert_string_equal(v.reason, "kong admin API unreachable: connection refused");
    kgc_listenercache_view_release(&v);
    struct kgc_listenercache_entry e;
    assert_int_equal(kgc_listenercache_get(c, u1, &e, NULL), KGC_ENOENT); /* nothing stored */
    kgc_kong_info_free(&a);
}

/* "View changed": each subscriber is called after the new snapshot is in place (it reads the
 * new view from inside the call), on every change of the view and not on a heartbeat. */
struct announce_rec {
    struct kgc_listenercache *c;
    int calls;
    enum kgc_listenercache_source seen;
    size_t seen_live;
};

static void on_view_changed_rec(void *ctx)
{
    struct announce_rec *r = ctx;
    struct kgc_listenercache_view v;
    kgc_listenercache_view(r->c, &v);
    r->calls++;
    r->seen = v.source;
    r->seen_live = v.n_live;
    kgc_listenercache_view_release(&v);
}

static void test_view_changed_announced_after_the_swap(void **state)
{
    struct fx *f = *state;
    f->c = open_at(f, f->dir, 0, 0);
    struct announce_rec r1 = {.c = f->c}, r2 = {.c = f->c};
    assert_int_equal(kgc_listenercache_subscribe(f->c, on_view_changed_rec, &r1), 0);
    assert_int_equal(kgc_listenercache_subscribe(f->c, on_view_changed_rec, &r2), 0);
    const char *u1 = "http://10.0.0.1:8001";
    struct kgc_kong_info a = make_info("n1", PORTS_A, 2, 0);
    assert_int_equal(kgc_listenercache_set_live(f->c, u1, &a, 0, NULL), 0);
    assert_int_equal(r1.calls, 1);
    assert_int_equal(r2.calls, 1);
    assert_int_equal(r1.seen, KGC_LISTENERCACHE_LIVE); /* the new view, not the old NONE */
    assert_int_equal(r1.seen_live, 1);
    /* the same listeners again, and a heartbeat: the view is unchanged, nobody is called */
    assert_int_equal(kgc_listenercache_set_live(f->c, u1, &a, 0, NULL), 0);
    assert_int_equal(kgc_listenercache_touch(f->c, u1, 0, NULL), 0);
    assert_int_equal(r1.calls, 1);
    /* a restart (new node id) changes the view's identity */
    struct kgc_kong_info a2 = make_info("n2", PORTS_A, 2, 0);
    assert_int_equal(kgc_listenercache_set_live(f->c, u1, &a2, 0, NULL), 0);
    assert_int_equal(r1.calls, 2);
    assert_int_equal(kgc_listenercache_set_down(f->c, u1, "connection refused", 0, NULL), 0);
    assert_int_equal(r1.calls, 3);
    assert_int_equal(r1.seen, KGC_LISTENERCACHE_CACHED);
    kgc_listenercache_forget(f->c, u1);
    assert_int_equal(r1.calls, 4);
    kgc_listenercache_forget(f->c, "http://unknown:8001"); /* nothing to forget: no call */
    assert_int_equal(r1.calls, 4);
    assert_int_equal(r2.calls, 4);
    for (int k = 2; k < KGC_LISTENERCACHE_MAX_SUBSCRIBERS; k++)
        assert_int_equal(kgc_listenercache_subscribe(f->c, on_view_changed_rec, &r2), 0);
    assert_int_equal(kgc_listenercache_subscribe(f->c, on_view_changed_rec, &r2), KGC_ENOSPC);
    kgc_kong_info_free(&a);
    kgc_kong_info_free(&a2);
}

static void test_view_logic(void **state)
{
    struct fx *f = *state;
    f->c = open_at(f, f->dir, 0, 0);
    struct kgc_listenercache *c = f->c;
    assert_true(kgc_listenercache_persistent(c));
    struct kgc_listenercache_view v;
    kgc_listenercache_view(c, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_NONE);
    assert_false(v.stale);
    assert_int_equal(v.listeners->n_proxy, 0);
    assert_non_null(strstr(v.reason, "no Kong instance has answered yet"));
    kgc_listenercache_view_release(&v);
    kgc_listenercache_view_release(&v); /* idempotent */

    const char *u1 = "http://10.0.0.1:8001", *u2 = "http://10.0.0.2:8001";
    assert_int_equal(kgc_listenercache_set_down(c, u1, "connection refused", 0, NULL), 0);
    kgc_listenercache_view(c, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_NONE);
    assert_string_equal(v.reason, "kong admin API unreachable: connection refused");
    kgc_listenercache_view_release(&v);

    struct kgc_kong_info a = make_info("n1", PORTS_A, 2, 0), b = make_info("n2", PORTS_B, 3, 0);
    assert_int_equal(kgc_listenercache_set_live(c, u1, &a, 0, NULL), 0);
    struct kgc_listenercache_view held;
    kgc_listenercache_view(c, &held);
    assert_int_equal(held.source, KGC_LISTENERCACHE_LIVE);
    assert_int_equal(held.n_live, 1);
    assert_int_equal(held.listeners->n_proxy, 2);
    assert_string_equal(held.node_id, "n1");
    assert_string_equal(held.reason, "");

    advance_ms(f, 1000);
    assert_int_equal(kgc_listenercache_set_live(c, u2, &b, 0, NULL), 0);
    kgc_listenercache_view(c, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_LIVE);
    assert_int_equal(v.n_live, 2);
    assert_int_equal(v.listeners->n_proxy, 4); /* 8000 8001 8443 9443: the union, sorted */
    assert_int_equal(v.listeners->proxy[0].port, 8000);
    assert_int_equal(v.listeners->proxy[1].port, 8001);
    assert_int_equal(v.listeners->proxy[2].port, 8443);
    assert_int_equal(v.listeners->proxy[3].port, 9443);
    assert_string_equal(v.url, u1);
    kgc_listenercache_view_release(&v);

    assert_int_equal(kgc_listenercache_set_down(c, u1, "timeout", 0, NULL), 0);
    kgc_listenercache_view(c, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_LIVE);
    assert_int_equal(v.n_live, 1);
    assert_int_equal(v.listeners->n_proxy, 3);
    kgc_listenercache_view_release(&v);

    /* u2 was last seen live 500 ms ago: both down → the most recent cached entry, stale. */
    advance_ms(f, 2000); /* now T0 + 3000 */
    assert_int_equal(kgc_listenercache_set_down(c, u2, "connection refused", T0_MS + 2500, NULL),
                     0);
    kgc_listenercache_view(c, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_CACHED);
    assert_true(v.stale);
    assert_int_equal(v.age_ms, 500);
    assert_string_equal(v.node_id, "n2");
    assert_int_equal(v.listeners->n_proxy, 3);
    assert_string_equal(v.reason, "kong admin API unreachable: timeout");
    kgc_listenercache_view_release(&v);
    advance_ms(f, 5000);
    kgc_listenercache_view(c, &v);
    assert_int_equal(v.age_ms, 5500); /* the age moves with the clock, without a write */
    kgc_listenercache_view_release(&v);

    /* The view held across all this still shows what it showed. */
    assert_int_equal(held.source, KGC_LISTENERCACHE_LIVE);
    assert_int_equal(held.listeners->n_proxy, 2);
    assert_string_equal(held.node_id, "n1");
    kgc_listenercache_view_release(&held);

    /* A removed instance's data stays as cached data; back live → LIVE again. */
    kgc_listenercache_forget(c, u2);
    kgc_listenercache_view(c, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_CACHED);
    kgc_listenercache_view_release(&v);
    assert_int_equal(kgc_listenercache_set_live(c, u1, &a, 0, NULL), 0);
    kgc_listenercache_view(c, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_LIVE);
    assert_int_equal(v.age_ms, 0);
    assert_false(v.stale);
    kgc_listenercache_view_release(&v);

    kgc_kong_info_free(&a);
    kgc_kong_info_free(&b);
}

/* A Kong that reports no listeners while ready is LIVE with none: the truth, not a fallback. */
static void test_live_empty_is_live(void **state)
{
    struct fx *f = *state;
    f->c = open_at(f, "", 0, 0);
    struct kgc_kong_info a = make_info("n1", PORTS_A, 2, 0), empty = make_info("n1", NULL, 0, 0);
    assert_int_equal(kgc_listenercache_set_live(f->c, "http://k:8001", &a, 0, NULL), 0);
    assert_int_equal(kgc_listenercache_set_live(f->c, "http://k:8001", &empty, 0, NULL), 0);
    struct kgc_listenercache_view v;
    kgc_listenercache_view(f->c, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_LIVE);
    assert_int_equal(v.listeners->n_proxy, 0);
    kgc_listenercache_view_release(&v);
    kgc_kong_info_free(&a);
    kgc_kong_info_free(&empty);
}

/* ---- persistence ---------------------------------------------------------------------------- */

static void test_writes_only_on_change(void **state)
{
    struct fx *f = *state;
    f->c = open_at(f, f->dir, 0, 0);
    assert_true(kgc_listenercache_persistent(f->c));
    const char *u = "http://127.0.0.1:8001";
    struct kgc_kong_info a = make_info("n1", PORTS_A, 2, 0), b = make_info("n1", PORTS_B, 3, 0);
    struct kgc_listenercache_entry e;
    struct kgc_err err = {0};

    assert_int_equal(kgc_listenercache_set_live(f->c, u, &a, 0, &err), 0);
    assert_int_equal(kgc_listenercache_get(f->c, u, &e, &err), 0);
    assert_int_equal(e.written_ms, T0_MS);
    kgc_listenercache_entry_free(&e);

    for (int i = 0; i < 5; i++) { /* probes with the same answer */
        advance_ms(f, 1000);
        assert_int_equal(kgc_listenercache_set_live(f->c, u, &a, 0, &err), 0);
    }
    assert_int_equal(kgc_listenercache_get(f->c, u, &e, &err), 0);
    assert_int_equal(e.written_ms, T0_MS); /* not rewritten */
    kgc_listenercache_entry_free(&e);

    advance_ms(f, 1000);
    assert_int_equal(kgc_listenercache_set_live(f->c, u, &b, 0, &err), 0);
    assert_int_equal(kgc_listenercache_get(f->c, u, &e, &err), 0);
    assert_int_equal(e.written_ms, T0_MS + 6000);
    assert_int_equal(e.info.listeners.n_proxy, 3);
    kgc_listenercache_entry_free(&e);

    advance_ms(f, 1000);
    assert_int_equal(kgc_listenercache_touch(f->c, u, 0, &err), 0); /* heartbeat */
    assert_int_equal(kgc_listenercache_get(f->c, u, &e, &err), 0);
    assert_int_equal(e.last_seen_live_ms, T0_MS + 7000);
    kgc_listenercache_entry_free(&e);

    /* Going down records when it was last seen live. */
    advance_ms(f, 1000);
    assert_int_equal(kgc_listenercache_set_down(f->c, u, "refused", T0_MS + 7500, &err), 0);
    assert_int_equal(kgc_listenercache_get(f->c, u, &e, &err), 0);
    assert_int_equal(e.last_seen_live_ms, T0_MS + 7500);
    kgc_listenercache_entry_free(&e);
    kgc_kong_info_free(&a);
    kgc_kong_info_free(&b);
}

static void test_persists_across_reopen(void **state)
{
    struct fx *f = *state;
    f->c = open_at(f, f->dir, 0, 0);
    const char *u1 = "http://10.0.0.1:8001", *u2 = "https://10.0.0.2:8444";
    struct kgc_kong_info a = make_info("n1", PORTS_A, 2, 9000), b = make_info("n2", PORTS_B, 3, 0);
    assert_int_equal(kgc_listenercache_set_live(f->c, u1, &a, 0, NULL), 0);
    advance_ms(f, 100);
    assert_int_equal(kgc_listenercache_set_live(f->c, u2, &b, 0, NULL), 0);
    assert_int_equal(kgc_listenercache_set_down(f->c, u2, "refused", 0, NULL), 0);
    advance_ms(f, 400);
    kgc_listenercache_close(f->c); /* u1 is live: recorded as seen at close (T0+500) */
    f->c = NULL;

    /* Another kgc process, later, with Kong down. */
    advance_ms(f, 60000);
    f->c = open_at(f, f->dir, 0, 0);
    assert_string_equal(kgc_listenercache_moved_aside(f->c), "");
    struct kgc_listenercache_view v;
    kgc_listenercache_view(f->c, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_CACHED);
    assert_true(v.stale);
    assert_string_equal(v.url, u1);
    assert_int_equal(v.age_ms, 60000);
    assert_int_equal(v.listeners->n_proxy, 2);
    assert_int_equal(v.listeners->n_stream, 1);
    assert_int_equal(v.listeners->stream[0].port, 9000);
    assert_string_equal(v.version, "3.9.1");
    assert_string_equal(v.router_flavor, "traditional_compatible");
    assert_non_null(strstr(v.reason, "no Kong instance probed since kgc started"));
    kgc_listenercache_view_release(&v);

    struct kgc_listenercache_entry e;
    assert_int_equal(kgc_listenercache_get(f->c, u2, &e, NULL), 0);
    assert_string_equal(e.info.node_id, "n2");
    assert_int_equal(e.last_seen_live_ms, T0_MS + 100);
    kgc_listenercache_entry_free(&e);

    char *dump = kgc_listenercache_dump(f->c);
    assert_non_null(dump);
    json_object *j = json_tokener_parse(dump);
    assert_non_null(j);
    json_object *inst = json_object_object_get(j, "instances");
    assert_int_equal(json_object_array_length(inst), 2);
    json_object *i0 = json_object_array_get_idx(inst, 0);
    assert_string_equal(json_object_get_string(json_object_object_get(i0, "url")), u1);
    assert_string_equal(json_object_get_string(json_object_object_get(i0, "source")), "cached");
    assert_int_equal(json_object_get_int64(json_object_object_get(i0, "age_ms")), 60000);
    assert_true(json_object_get_boolean(json_object_object_get(i0, "persisted")));
    json_object *pl = json_object_object_get(i0, "proxy_listeners");
    assert_int_equal(json_object_array_length(pl), 2);
    assert_int_equal(
        json_object_get_int(json_object_object_get(json_object_array_get_idx(pl, 1), "port")),
        8443);
    json_object *view = json_object_object_get(j, "view");
    assert_string_equal(json_object_get_string(json_object_object_get(view, "source")), "cached");
    assert_true(json_object_get_boolean(json_object_object_get(j, "persistent")));
    json_object_put(j);
    free(dump);

    /* Live again: the dump says so. */
    assert_int_equal(kgc_listenercache_set_live(f->c, u1, &a, 0, NULL), 0);
    dump = kgc_listenercache_dump(f->c);
    assert_non_null(strstr(dump, "\"source\":\"live\""));
    free(dump);
    kgc_kong_info_free(&a);
    kgc_kong_info_free(&b);
}

/* ---- corrupt and incompatible files --------------------------------------------------------- */

static bool has_moved_file(const char *dir)
{
    DIR *d = opendir(dir);
    bool found = false;
    struct dirent *e;
    while (d && (e = readdir(d)))
        found |= strncmp(e->d_name, "data.mdb.corrupt-", 17) == 0;
    if (d)
        closedir(d);
    return found;
}

/* Writes raw key/value pairs into a fresh LMDB environment in dir (no kgc code involved). */
static void write_raw(const char *dir, const char *const *kv, size_t n)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    for (size_t i = 0; i < n; i++) {
        MDB_val k = {.mv_size = strlen(kv[2 * i]), .mv_data = (void *)kv[2 * i]};
        MDB_val v = {.mv_size = strlen(kv[2 * i + 1]), .mv_data = (void *)kv[2 * i + 1]};
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void expect_recovered(struct fx *f)
{
    f->c = open_at(f, f->dir, 0, 0);
    assert_non_null(strstr(kgc_listenercache_moved_aside(f->c), "data.mdb.corrupt-"));
    assert_true(has_moved_file(f->dir));
    struct kgc_listenercache_view v;
    kgc_listenercache_view(f->c, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_NONE);
    kgc_listenercache_view_release(&v);
    /* and it works afterwards, across a reopen */
    struct kgc_kong_info a = make_info("n1", PORTS_A, 2, 0);
    assert_int_equal(kgc_listenercache_set_live(f->c, "http://k:8001", &a, 0, NULL), 0);
    kgc_kong_info_free(&a);
    kgc_listenercache_close(f->c);
    f->c = open_at(f, f->dir, 0, 0);
    assert_string_equal(kgc_listenercache_moved_aside(f->c), "");
    kgc_listenercache_view(f->c, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_CACHED);
    kgc_listenercache_view_release(&v);
}

static void test_garbage_file_recovered(void **state)
{
    struct fx *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 8192; i++)
        fputs("not an lmdb file ", fp);
    fclose(fp);
    expect_recovered(f);
}

static void test_other_schema_recovered(void **state)
{
    struct fx *f = *state;
    const char *kv[] = {"meta:schema", "kgc-listenercache/0", "inst:http://k:8001", "x"};
    write_raw(f->dir, kv, 2);
    expect_recovered(f);
}

static void test_bad_entry_recovered(void **state)
{
    struct fx *f = *state;
    const char *kv[] = {"meta:schema", KGC_LISTENERCACHE_SCHEMA, "inst:http://k:8001", "KL\1"};
    write_raw(f->dir, kv, 2);
    expect_recovered(f);
}

static void test_no_schema_recovered(void **state)
{
    struct fx *f = *state;
    const char *kv[] = {"something", "else"};
    write_raw(f->dir, kv, 1);
    expect_recovered(f);
}

/* A good file cut to its two meta pages: its meta page names a leaf page past the end of the file,
 * which LMDB would read through its map (SIGBUS) if it were opened. */
static void test_truncated_file_recovered(void **state)
{
    struct fx *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
    f->c = open_at(f, f->dir, 0, 0);
    struct kgc_kong_info a = make_info("n1", PORTS_A, 2, 9000);
    assert_int_equal(kgc_listenercache_set_live(f->c, "http://k:8001", &a, 0, NULL), 0);
    kgc_kong_info_free(&a);
    kgc_listenercache_close(f->c);
    f->c = NULL;
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    long psize = sysconf(_SC_PAGESIZE);
    assert_true(st.st_size > 2 * psize);
    assert_int_equal(truncate(path, 2 * psize), 0);
    expect_recovered(f);
}

/* A good file whose pages after the two meta pages are overwritten with noise: LMDB has no
 * checksums and, walking such pages, often reads past the end of the file (SIGBUS). Twenty
 * different noises (a fixed generator): every open recovers, none crashes. */
static void test_garbage_pages_recovered(void **state)
{
    struct fx *f = *state;
    long psize = sysconf(_SC_PAGESIZE);
    uint32_t x = 12345;
    for (int seed = 0; seed < 20; seed++) {
        char dir[160], path[192];
        snprintf(dir, sizeof(dir), "%s/s%d", f->dir, seed);
        snprintf(path, sizeof(path), "%s/data.mdb", dir);
        struct kgc_listenercache *c = open_at(f, dir, 0, 0);
        struct kgc_kong_info a = make_info("n1", PORTS_A, 2, 9000);
        assert_int_equal(kgc_listenercache_set_live(c, "http://k:8001", &a, 0, NULL), 0);
        kgc_kong_info_free(&a);
        kgc_listenercache_close(c);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        FILE *fp = fopen(path, "r+b");
        assert_non_null(fp);
        assert_int_equal(fseek(fp, 2 * psize, SEEK_SET), 0);
        for (long i = 2 * psize; i < st.st_size; i++) {
            x = x * 1103515245u + 12345u;
            fputc((int)(x >> 16) & 0xff, fp);
        }
        fclose(fp);
        c = open_at(f, dir, 0, 0);
        assert_non_null(strstr(kgc_listenercache_moved_aside(c), "data.mdb.corrupt-"));
        struct kgc_listenercache_view v;
        kgc_listenercache_view(c, &v);
        assert_int_equal(v.source, KGC_LISTENERCACHE_NONE);
        kgc_listenercache_view_release(&v);
        kgc_listenercache_close(c);
    }
}

/* An empty data.mdb (LMDB would silently start over in it) is moved aside like a corrupt one. */
static void test_empty_file_recovered(void **state)
{
    struct fx *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    expect_recovered(f);
}

/* ---- start-up errors ------------------------------------------------------------------------ */

static void test_unwritable_dir(void **state)
{
    struct fx *f = *state;
    char file[128], dir[160];
    snprintf(file, sizeof(file), "%s/a-file", f->dir);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(dir, sizeof(dir), "%s/sub", file); /* a directory under a regular file */
    struct kgc_listenercache_options o;
    kgc_listenercache_options_default(&o);
    o.dir = dir;
    struct kgc_listenercache *c = NULL;
    struct kgc_err err = {0};
    int rc = kgc_listenercache_open(&o, &c, &err);
    assert_true(rc < 0);
    assert_null(c);
    assert_non_null(strstr(err.msg, "listener cache dir"));
    assert_non_null(strstr(err.msg, "--listener-cache-dir"));

    o.dir = file; /* a regular file as the directory */
    assert_int_equal(kgc_listenercache_open(&o, &c, &err), KGC_EINVAL);
    assert_non_null(strstr(err.msg, "not a directory"));

    if (getuid() != 0) { /* root ignores permissions */
        char ro[160];
        snprintf(ro, sizeof(ro), "%s/ro", f->dir);
        assert_int_equal(mkdir(ro, 0500), 0);
        o.dir = ro;
        assert_int_equal(kgc_listenercache_open(&o, &c, &err), KGC_EACCES);
        assert_non_null(strstr(err.msg, "not writable"));
        chmod(ro, 0700);
    }

    /* The same directory twice in one process. */
    f->c = open_at(f, f->dir, 0, 0);
    o.dir = f->dir;
    assert_int_equal(kgc_listenercache_open(&o, &c, &err), KGC_EEXIST);
    assert_non_null(strstr(err.msg, "already open"));
}

static void test_defaults(void **state)
{
    (void)state;
    struct kgc_listenercache_options o;
    kgc_listenercache_options_default(&o);
    assert_string_equal(o.dir, "/var/lib/kgc/listeners");
    assert_int_equal(o.max_mb, 16);
    assert_int_equal(o.max_entries, 64);
    assert_null(o.wall_clock);
    assert_string_equal(kgc_listenercache_source_name(KGC_LISTENERCACHE_CACHED), "cached");
}

/* ---- size cap and pruning ------------------------------------------------------------------- */

static void test_size_cap(void **state)
{
    struct fx *f = *state;
    f->c = open_at(f, f->dir, 1, 10000);
    uint16_t ports[1000];
    for (int i = 0; i < 1000; i++)
        ports[i] = (uint16_t)(10000 + i);
    struct kgc_kong_info big = make_info("n", ports, 1000, 0);
    struct kgc_err err = {0};
    int rc = 0, i;
    for (i = 0; i < 400 && rc == 0; i++) {
        char url[64];
        snprintf(url, sizeof(url), "http://10.0.%d.%d:8001", i / 250, i % 250);
        rc = kgc_listenercache_set_live(f->c, url, &big, 0, &err);
    }
    assert_int_equal(rc, KGC_ENOSPC);
    assert_non_null(strstr(err.msg, "is full (--listener-cache-max-mb=1)"));
    struct kgc_listenercache_view v;
    kgc_listenercache_view(f->c, &v);
    assert_int_equal(v.source, KGC_LISTENERCACHE_LIVE); /* memory still serves */
    assert_int_equal(v.n_live, (size_t)i);
    kgc_listenercache_view_release(&v);
    kgc_kong_info_free(&big);
}

static void test_prune(void **state)
{
    struct fx *f = *state;
    f->c = open_at(f, f->dir, 0, 3);
    struct kgc_kong_info a = make_info("n", PORTS_A, 2, 0);
    for (int i = 0; i < 5; i++) {
        char url[64];
        snprintf(url, sizeof(url), "http://10.0.0.%d:8001", i);
        advance_ms(f, 10);
        assert_int_equal(kgc_listenercache_set_live(f->c, url, &a, 0, NULL), 0);
        assert_int_equal(kgc_listenercache_set_down(f->c, url, "gone", 0, NULL), 0);
    }
    struct kgc_listenercache_entry e;
    assert_int_equal(kgc_listenercache_get(f->c, "http://10.0.0.0:8001", &e, NULL), KGC_ENOENT);
    assert_int_equal(kgc_listenercache_get(f->c, "http://10.0.0.1:8001", &e, NULL), KGC_ENOENT);
    assert_int_equal(kgc_listenercache_get(f->c, "http://10.0.0.4:8001", &e, NULL), 0);
    kgc_listenercache_entry_free(&e);
    char *dump = kgc_listenercache_dump(f->c);
    json_object *j = json_tokener_parse(dump);
    assert_int_equal(json_object_array_length(json_object_object_get(j, "instances")), 3);
    json_object_put(j);
    free(dump);
    kgc_kong_info_free(&a);
}

/* ---- concurrency ---------------------------------------------------------------------------- */

struct reader {
    struct kgc_listenercache *c;
    const char *url;
    volatile int *stop;
    long views, gets, bad;
};

/* A view or entry must be set A (8000 8443) or set B (8000 8001 9443), never a mix. */
static bool consistent(const struct kgc_kong_listeners *l)
{
    if (l->n_proxy == 2)
        return l->proxy[0].port == 8000 && l->proxy[1].port == 8443;
    if (l->n_proxy == 3)
        return l->proxy[0].port == 8000 && l->proxy[1].port == 8001 && l->proxy[2].port == 9443;
    return false;
}

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    while (!__atomic_load_n(r->stop, __ATOMIC_RELAXED)) {
        struct kgc_listenercache_view v;
        kgc_listenercache_view(r->c, &v);
        r->bad += v.source != KGC_LISTENERCACHE_LIVE || !consistent(v.listeners);
        kgc_listenercache_view_release(&v);
        r->views++;
        if (r->views % 16 == 0) {
            struct kgc_listenercache_entry e;
            if (kgc_listenercache_get(r->c, r->url, &e, NULL) == 0) {
                r->bad += !consistent(&e.info.listeners);
                kgc_listenercache_entry_free(&e);
                r->gets++;
            } else {
                r->bad++;
            }
        }
    }
    return NULL;
}

static void test_concurrent_readers_during_writes(void **state)
{
    struct fx *f = *state;
    f->c = open_at(f, f->dir, 0, 0);
    const char *u = "http://127.0.0.1:8001";
    struct kgc_kong_info a = make_info("n", PORTS_A, 2, 0), b = make_info("n", PORTS_B, 3, 0);
    assert_int_equal(kgc_listenercache_set_live(f->c, u, &a, 0, NULL), 0);
    volatile int stop = 0;
    struct reader r[2] = {{.c = f->c, .url = u, .stop = &stop},
                          {.c = f->c, .url = u, .stop = &stop}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, reader_main, &r[i]);
    int writes = 0;
    uint64_t end = kgc_clock_now(NULL) + 300 * KGC_NS_PER_MS;
    while (kgc_clock_now(NULL) < end || writes < 20) {
        advance_ms(f, 1);
        assert_int_equal(kgc_listenercache_set_live(f->c, u, writes % 2 ? &a : &b, 0, NULL), 0);
        writes++;
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(r[i].bad, 0);
        assert_true(r[i].views > 0);
    }
    print_message("%d writes, %ld + %ld views, %ld + %ld LMDB reads during them\n", writes,
                  r[0].views, r[1].views, r[0].gets, r[1].gets);
    kgc_kong_info_free(&a);
    kgc_kong_info_free(&b);
}

int main(void)
{
    kgc_log_setup(KGC_LOG_ERROR, KGC_LOG_TEXT, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test_setup_teardown(test_no_dir_serves_only_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_view_logic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_view_changed_announced_after_the_swap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_live_empty_is_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writes_only_on_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persists_across_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_file_recovered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_schema_recovered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_entry_recovered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_schema_recovered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_file_recovered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_file_recovered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_pages_recovered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers_during_writes, setup, teardown),
    };
    return cmocka_run_group_tests_name("listenercache", tests, NULL, NULL);
}

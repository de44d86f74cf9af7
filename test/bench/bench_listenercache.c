/* Listener cache reads: kgc_listenercache_view() (the reconcilers' read: a snapshot reference) and
 * kgc_listenercache_get() (an LMDB read transaction plus decoding one entry), with 1 and 2
 * reader threads, alone and while a writer keeps changing the listeners (each change is an LMDB
 * write transaction). Prints a table; asserts nothing. */
#include "bench_common.h"

#include "kgc/listenercache.h"
#include "kgc/log.h"

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define URL      "http://127.0.0.1:8001"
#define RUN_SECS 1.0

struct shared {
    struct kgc_listenercache *c;
    volatile int stop;
    bool use_get; /* LMDB get instead of the view */
};

struct reader {
    struct shared *s;
    pthread_t t;
    long reads;
    double secs;
    long checksum;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    struct shared *s = r->s;
    double t0 = bench_now_s();
    long n = 0, sum = 0;
    while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
        for (int i = 0; i < 256; i++) {
            if (s->use_get) {
                struct kgc_listenercache_entry e;
                if (kgc_listenercache_get(s->c, URL, &e, NULL) == 0) {
                    sum += (long)e.info.listeners.n_proxy;
                    kgc_listenercache_entry_free(&e);
                }
            } else {
                struct kgc_listenercache_view v;
                kgc_listenercache_view(s->c, &v);
                sum += (long)v.listeners->n_proxy + (long)v.age_ms;
                kgc_listenercache_view_release(&v);
            }
        }
        n += 256;
    }
    r->secs = bench_now_s() - t0;
    r->reads = n;
    r->checksum = sum;
    return NULL;
}

static struct kgc_kong_info make_info(size_t n)
{
    struct kgc_kong_info in;
    memset(&in, 0, sizeof(in));
    snprintf(in.version, sizeof(in.version), "3.9.1");
    snprintf(in.node_id, sizeof(in.node_id), "69d063c5-761b-4bab-a426-c89da49a9409");
    snprintf(in.router_flavor, sizeof(in.router_flavor), "traditional_compatible");
    snprintf(in.database, sizeof(in.database), "off");
    in.listeners.proxy = calloc(n, sizeof(struct kgc_kong_listener));
    in.listeners.n_proxy = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(in.listeners.proxy[i].ip, sizeof(in.listeners.proxy[i].ip), "0.0.0.0");
        in.listeners.proxy[i].port = (uint16_t)(8000 + 443 * i);
        in.listeners.proxy[i].ssl = i % 2;
    }
    in.listeners.stream = calloc(1, sizeof(struct kgc_kong_listener));
    in.listeners.n_stream = 1;
    snprintf(in.listeners.stream[0].ip, sizeof(in.listeners.stream[0].ip), "0.0.0.0");
    in.listeners.stream[0].port = 9443;
    in.listeners.stream[0].ssl = true;
    return in;
}

/* One run: n_readers readers for RUN_SECS, with or without a writer alternating two listener
 * sets. Prints one table row. */
static void run(struct kgc_listenercache *c, const char *what, bool use_get, int n_readers,
                bool writer, const struct kgc_kong_info *a, const struct kgc_kong_info *b)
{
    struct shared s = {.c = c, .use_get = use_get};
    struct reader r[2];
    memset(r, 0, sizeof(r));
    for (int i = 0; i < n_readers; i++) {
        r[i].s = &s;
        pthread_create(&r[i].t, NULL, reader_main, &r[i]);
    }
    long writes = 0;
    double t0 = bench_now_s();
    while (bench_now_s() - t0 < RUN_SECS) {
        if (writer) {
            kgc_listenercache_set_live(c, URL, writes % 2 ? a : b, 0, NULL);
            writes++;
        } else {
            usleep(10000);
        }
    }
    double wsecs = bench_now_s() - t0;
    __atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
    long total = 0;
    double ns_sum = 0;
    for (int i = 0; i < n_readers; i++) {
        pthread_join(r[i].t, NULL);
        total += r[i].reads;
        ns_sum += r[i].secs * 1e9 / (double)(r[i].reads ? r[i].reads : 1);
    }
    printf("| %-26s | %7d | %-6s | %12.0f | %11.1f | %9.0f |\n", what, n_readers,
           writer ? "yes" : "no", (double)total / wsecs, ns_sum / n_readers,
           writer ? (double)writes / wsecs : 0.0);
    fflush(stdout);
}

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char p[512];
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int main(void)
{
    kgc_log_setup(KGC_LOG_ERROR, KGC_LOG_TEXT, 2);
    char dir[] = "/tmp/kgc-bench-lc-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    struct kgc_listenercache_options o;
    kgc_listenercache_options_default(&o);
    o.dir = dir;
    struct kgc_listenercache *c = NULL;
    struct kgc_err err = {0};
    if (kgc_listenercache_open(&o, &c, &err)) {
        fprintf(stderr, "open: %s\n", err.msg);
        return 1;
    }
    struct kgc_kong_info a = make_info(2), b = make_info(3);
    kgc_listenercache_set_live(c, URL, &a, 0, NULL);

    bench_print_machine();
    printf("listener cache reads (%.0f s per row; LMDB in %s; writer = set_live alternating\n"
           "2 and 3 proxy listeners, one durable LMDB write each)\n\n",
           RUN_SECS, dir);
    printf("| %-26s | %7s | %-6s | %12s | %11s | %9s |\n", "read", "readers", "writer", "reads/s",
           "ns/read", "writes/s");
    printf("|----------------------------|---------|--------|--------------|-------------|"
           "-----------|\n");
    run(c, "view (live snapshot)", false, 1, false, &a, &b);
    run(c, "view (live snapshot)", false, 2, false, &a, &b);
    run(c, "view (live snapshot)", false, 1, true, &a, &b);
    run(c, "view (live snapshot)", false, 2, true, &a, &b);
    kgc_listenercache_set_down(c, URL, "bench", 0, NULL);
    run(c, "view (cached, stale)", false, 1, false, &a, &b);
    run(c, "view (cached, stale)", false, 2, false, &a, &b);
    run(c, "LMDB get + decode", true, 1, false, &a, &b);
    run(c, "LMDB get + decode", true, 2, false, &a, &b);
    run(c, "LMDB get + decode", true, 1, true, &a, &b);
    run(c, "LMDB get + decode", true, 2, true, &a, &b);
    printf("\nns/read is per reader thread (wall time / reads), so it includes waiting for\n"
           "the CPU when readers + writer outnumber the cores. Peak RSS %ld KiB.\n",
           bench_peak_rss_kib());

    kgc_kong_info_free(&a);
    kgc_kong_info_free(&b);
    kgc_listenercache_close(c);
    rm_rf(dir);
    return 0;
}

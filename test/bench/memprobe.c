/* memprobe: an LD_PRELOAD library for the scenario benches that says where a process's resident
 * memory goes, measured from inside it (glibc's own counters), without changing the process.
 *
 *   KGC_MEMPROBE=PREFIX LD_PRELOAD=build/bench/libmemprobe.so build/kgc ...
 *
 * A thread samples every KGC_MEMPROBE_MS (default 5) milliseconds: VmRSS, RssAnon and RssFile
 * (/proc/self/status) and mallinfo2(): bytes in use and free bytes kept in the arenas, the arenas'
 * size, and the bytes of chunks malloc mmap'd on their own (>= 128 KiB; of those only the pages
 * written are resident: anon_kib - arena_kib is about their resident part plus thread stacks).
 * PREFIX.<pid> (a wrapper such as /usr/bin/time loads it too) gets one line per 100 ms ("t t_ms
 * rss_kib anon_kib file_kib arena_use_kib arena_free_kib mmap_kib arena_kib"), and at exit the
 * sample with the highest VmRSS ("peak ...") and glibc's malloc_info() taken at that peak
 * (per-arena sizes; how many arenas exist). Nothing else in the process changes, but the sampler's
 * own lock traffic: mallinfo2() walks every arena, so it is called only for a sample 256 KiB above
 * the last peak it was called for and for the 100 ms lines, not every 5 ms (the peak's arena
 * figures are those of that call: within 256 KiB of its VmRSS). */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

struct sample {
    long t_ms, rss, anon, file;          /* KiB */
    size_t inuse, free_b, mmap_b, arena; /* bytes: in use and free in the arenas, mmap'd chunks,
                                            the arenas' size */
};

static FILE *out;
static struct sample peak;
static char *peak_info;
static size_t peak_info_len;
static long interval_ms = 5;
static long peak_taken, peak_info_rss; /* KiB: VmRSS at the last mallinfo2() / malloc_info() */
static struct timespec t0;

static long ms_since_start(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ts.tv_sec - t0.tv_sec) * 1000 + (ts.tv_nsec - t0.tv_nsec) / 1000000;
}

/* /proc/self/status through a stack buffer, no malloc: the sampler starts before the process's
 * main() can limit glibc's arenas, and a thread that finds the main arena busy gets a new one,
 * which the process's threads then share (a second heap in a process that asked for one). */
static void read_status(struct sample *s)
{
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[8192];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    const char *p;
    if ((p = strstr(buf, "\nVmRSS:")))
        s->rss = strtol(p + 7, NULL, 10);
    if ((p = strstr(buf, "\nRssAnon:")))
        s->anon = strtol(p + 9, NULL, 10);
    if ((p = strstr(buf, "\nRssFile:")))
        s->file = strtol(p + 9, NULL, 10);
}

static void take_malloc(struct sample *s)
{
    struct mallinfo2 mi = mallinfo2();
    s->inuse = mi.uordblks;
    s->free_b = mi.fordblks;
    s->mmap_b = mi.hblkhd;
    s->arena = mi.arena;
}

static void print_sample(const char *what, const struct sample *s)
{
    fprintf(out, "%s %ld %ld %ld %ld %zu %zu %zu %zu\n", what, s->t_ms, s->rss, s->anon, s->file,
            s->inuse / 1024, s->free_b / 1024, s->mmap_b / 1024, s->arena / 1024);
}

static void *sampler(void *arg)
{
    (void)arg;
    long last_line = -1000;
    for (;;) {
        /* (first an interval: the process's main() begins meanwhile) */
        struct timespec d = {interval_ms / 1000, (interval_ms % 1000) * 1000000};
        nanosleep(&d, NULL);
        /* mallinfo2() walks every arena under its lock (at 10k routes ~1/10 of kgc's CPU when
         * called every 5 ms; still ~5 % of kgc's samples during the initial sync when called
         * for every new peak, as RSS grows at nearly every sample then): only for a peak 256 KiB
         * above the last one taken, and for the 100 ms lines. A peak less than that above keeps
         * its VmRSS, RssAnon and RssFile, and the arena figures of the last one taken. */
        struct sample s;
        memset(&s, 0, sizeof(s));
        s.t_ms = ms_since_start();
        read_status(&s);
        bool line = s.t_ms - last_line >= 100;
        bool big_peak = s.rss > peak.rss && s.rss >= peak_taken + 256;
        if (line || big_peak)
            take_malloc(&s);
        if (s.rss > peak.rss) {
            /* a new peak by at least 2 MiB: keep glibc's per-arena view of it too
             * (malloc_info() prints every bin of every arena) */
            if (s.rss >= peak_info_rss + 2048 || !peak_info) {
                char *buf = NULL;
                size_t len = 0;
                FILE *m = open_memstream(&buf, &len);
                if (m) {
                    malloc_info(0, m);
                    fclose(m);
                    free(peak_info);
                    peak_info = buf;
                    peak_info_len = len;
                    peak_info_rss = s.rss;
                }
            }
            if (line || big_peak) {
                peak = s;
                peak_taken = s.rss;
            } else { /* the arena figures stay those of the last peak taken */
                peak.t_ms = s.t_ms;
                peak.rss = s.rss;
                peak.anon = s.anon;
                peak.file = s.file;
            }
        }
        if (s.t_ms - last_line >= 100) {
            print_sample("t", &s);
            fflush(out);
            last_line = s.t_ms;
        }
    }
    return NULL;
}

__attribute__((constructor)) static void memprobe_start(void)
{
    const char *path = getenv("KGC_MEMPROBE");
    if (!path || !*path)
        return;
    const char *ms = getenv("KGC_MEMPROBE_MS");
    if (ms && atol(ms) > 0)
        interval_ms = atol(ms);
    char name[4096];
    snprintf(name, sizeof(name), "%s.%ld", path, (long)getpid());
    out = fopen(name, "w");
    if (!out)
        return;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fprintf(out, "# what t_ms rss_kib anon_kib file_kib arena_use_kib arena_free_kib mmap_kib "
                 "arena_kib\n");
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_create(&th, &at, sampler, NULL);
    pthread_attr_destroy(&at);
}

__attribute__((destructor)) static void memprobe_stop(void)
{
    if (!out)
        return;
    print_sample("peak", &peak);
    fprintf(out, "# malloc_info at the peak:\n");
    if (peak_info)
        fwrite(peak_info, 1, peak_info_len, out);
    fflush(out);
}

/* What one POST /config costs kgc: pushes a generated ~31 MB declarative configuration (JSON
 * text, 10,000 services with a route each, tags and a plugin: the shape and size of a 10k-route
 * cluster) with kgc_kong_push_config() to a kgc-test-kong started as a child process (so its
 * memory is not counted), and prints the push time and the extra peak RSS of this process during
 * the push. Asserts nothing.
 *
 * "extra peak KiB" = VmHWM after the push - VmRSS just before it, the peak having been reset to
 * the current RSS (/proc/self/clear_refs "5") before the push; the text itself is resident before
 * the push and so not counted. The first push gets 201 (whose body lists every entity: tens of
 * MB here, which the client drops unread); the second, identical push gets 304: the whole text is
 * still sent, Kong answers from the hash.
 *
 * Usage: bench_kong_push [MB] (default 31). The test Kong is $KGC_TEST_KONG, else kgc-test-kong
 * next to the bench directory (BUILD/bench/.. ). */
#include "bench_common.h"

#include "kgc/kong.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* A "Vm...:" line of /proc/self/status, in KiB (-1 if absent). */
static long vm_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Resets VmHWM to the current RSS (Linux >= 4.0). */
static bool reset_peak(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = write(fd, "5", 1) == 1;
    close(fd);
    return ok;
}

struct text {
    char *p;
    size_t n, cap;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
        va_end(ap);
        if (n < 0)
            exit(1);
        if ((size_t)n < t->cap - t->n) {
            t->n += (size_t)n;
            return;
        }
        t->cap = t->cap * 2 + (size_t)n;
        t->p = realloc(t->p, t->cap);
        if (!t->p)
            exit(1);
    }
}

/* A declarative configuration of about mb MB, as kgc's translator would shape it. */
static struct text generate(size_t mb, unsigned seed)
{
    struct text t = {.cap = (mb << 20) + (1u << 20)};
    t.p = malloc(t.cap);
    if (!t.p)
        exit(1);
    put(&t, "{\"_format_version\":\"3.0\",\"_comment\":\"bench %u\",\"services\":[", seed);
    for (unsigned i = 0; t.n < (mb << 20) - 4096; i++) {
        char name[96];
        snprintf(name, sizeof(name), "httproute.ns-%u.route-%u.0", i % 100, i);
        put(&t,
            "%s{\"name\":\"%s\",\"host\":\"svc-%u.ns-%u.svc\",\"port\":8080,\"protocol\":\"http\","
            "\"retries\":5,\"connect_timeout\":60000,\"read_timeout\":60000,"
            "\"write_timeout\":60000,\"tags\":[\"k8s-name:route-%u\",\"k8s-namespace:ns-%u\","
            "\"k8s-kind:HTTPRoute\",\"k8s-group:gateway.networking.k8s.io\","
            "\"k8s-version:v1\",\"k8s-uid:%08x-0000-4000-8000-%012u\"],"
            "\"routes\":[{\"name\":\"%s.0\",\"paths\":[\"~/api/v%u/items$\",\"/api/v%u/items/\"],"
            "\"methods\":[\"GET\",\"POST\"],\"hosts\":[\"app-%u.example.com\"],"
            "\"headers\":{\"x-tenant\":[\"tenant-%u\"]},\"strip_path\":false,"
            "\"preserve_host\":true,\"protocols\":[\"http\",\"https\"],"
            "\"https_redirect_status_code\":426,\"path_handling\":\"v0\",\"regex_priority\":0,"
            "\"tags\":[\"k8s-name:route-%u\",\"k8s-namespace:ns-%u\",\"k8s-kind:HTTPRoute\"],"
            "\"plugins\":[{\"name\":\"request-transformer\",\"config\":{\"add\":{\"headers\":"
            "[\"x-kgc-route:route-%u\",\"x-kgc-ns:ns-%u\"]},\"remove\":{\"headers\":"
            "[\"x-internal\"]}},\"tags\":[\"k8s-name:route-%u\",\"k8s-namespace:ns-%u\"]}]}]}",
            i ? "," : "", name, i, i % 100, i, i % 100, seed, i, name, i % 7, i % 7, i, i % 50, i,
            i % 100, i, i % 100, i, i % 100);
    }
    put(&t, "]}\n");
    memset(t.p + t.n, 0, t.cap - t.n); /* the whole buffer resident, as kgc's own would be */
    return t;
}

/* Starts the test Kong on 127.0.0.1:<free port>; fills url. */
static pid_t start_kong(const char *bin, char *url, size_t size)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(bin, bin, "--admin-listen", "127.0.0.1:0", "--max-body-mb", "256", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[512] = "";
    bool ok = false;
    while (f && fgets(line, sizeof(line), f)) { /* ends when the child exits or prints it */
        if (strncmp(line, "listening on ", 13) == 0) {
            snprintf(url, size, "%s", line + 13);
            url[strcspn(url, "\r\n")] = '\0';
            ok = true;
            break;
        }
    }
    if (f)
        fclose(f);
    if (!ok) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

static void push(struct kgc_kong_client *c, const struct text *t, const char *label)
{
    bool reset = reset_peak();
    long before = reset ? vm_kib("VmRSS") : vm_kib("VmHWM");
    struct kgc_kong_push_result r;
    struct kgc_err err = {0};
    double t0 = bench_now_s();
    int rc = kgc_kong_push_config(c, t->p, t->n, &r, &err);
    double took = bench_now_s() - t0;
    long peak = vm_kib("VmHWM");
    if (rc != 0) {
        printf("%-22s failed: %s\n", label, err.msg);
        return;
    }
    printf("%-22s %8.1f MB %6ld %-9s %9.0f %12ld %12ld%s\n", label, (double)t->n / 1e6,
           r.http_status, kgc_kong_push_kind_name(r.kind), took * 1000, before, peak - before,
           reset ? "" : " (peak not reset)");
    if (r.kind == KGC_KONG_PUSH_REJECTED && r.message)
        printf("  rejected: %s\n", r.message);
    kgc_kong_push_result_free(&r);
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 31;
    if (mb < 1 || mb > 200) {
        fprintf(stderr, "usage: %s [MB 1..200]\n", argv[0]);
        return 2;
    }
    char bin[PATH_MAX];
    const char *env = getenv("KGC_TEST_KONG");
    if (env) {
        snprintf(bin, sizeof(bin), "%s", env);
    } else {
        char self[PATH_MAX];
        snprintf(self, sizeof(self), "%s", argv[0]);
        snprintf(bin, sizeof(bin), "%s/../kgc-test-kong", dirname(self));
    }
    bench_print_machine();
    char url[KGC_KONG_URL_MAX];
    pid_t pid = start_kong(bin, url, sizeof(url));
    if (pid < 0) {
        fprintf(stderr, "bench: cannot start %s\n", bin);
        return 1;
    }
    struct kgc_kong_client_options co;
    kgc_kong_client_options_default(&co);
    co.push_timeout_ms = 120000; /* the test Kong validates 31 MB before answering */
    struct kgc_kong_client *c = NULL;
    struct kgc_err err = {0};
    if (kgc_kong_client_new(url, &co, &c, &err) != 0) {
        fprintf(stderr, "bench: %s\n", err.msg);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        return 1;
    }
    /* warm up libcurl and the connection with a small push */
    struct text small = generate(1, 1);
    struct text big = generate(mb, 2);
    printf("%-22s %11s %6s %-9s %9s %12s %12s\n", "push", "size", "status", "outcome", "ms",
           "rss KiB", "extra peak KiB");
    push(c, &small, "warm-up (1 MB)");
    push(c, &big, "config");
    push(c, &big, "same config again");
    kgc_kong_client_free(c);
    free(small.p);
    free(big.p);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return 0;
}

/* Work queue throughput: add + get + done round trips per second with 1, 2 and 4 threads, each
 * thread cycling over its own 1,024 keys (so every add queues a key and nothing is deduplicated).
 * A benchmark: it prints a table and asserts nothing. */
#include "bench_common.h"

#include "kgc/workqueue.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define KEYS_PER_THREAD 1024

struct worker {
    struct kgc_workqueue *q;
    char (*keys)[48];
    long ops;
};

static void *run(void *arg)
{
    struct worker *w = arg;
    for (long i = 0; i < w->ops; i++) {
        const char *key;
        kgc_workqueue_add(w->q, w->keys[i % KEYS_PER_THREAD]);
        /* Another thread may have taken this thread's key (and this thread's later add of a
         * key still waiting is deduplicated), so never block for ever on an empty queue. */
        if (kgc_workqueue_get_timeout(w->q, &key, 50 * KGC_NS_PER_MS) == 0)
            kgc_workqueue_done(w->q, key);
    }
    return NULL;
}

static double measure(int threads, long ops_per_thread)
{
    struct kgc_workqueue *q = kgc_workqueue_new("bench", NULL, NULL);
    struct worker w[8];
    pthread_t th[8];
    for (int t = 0; t < threads; t++) {
        w[t].q = q;
        w[t].ops = ops_per_thread;
        w[t].keys = malloc(sizeof(*w[t].keys) * KEYS_PER_THREAD);
        for (int k = 0; k < KEYS_PER_THREAD; k++)
            snprintf(w[t].keys[k], sizeof(w[t].keys[k]), "namespace-%d/httproute-%05d", t, k);
    }
    double t0 = bench_now_s();
    for (int t = 0; t < threads; t++)
        pthread_create(&th[t], NULL, run, &w[t]);
    for (int t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    double secs = bench_now_s() - t0;
    for (int t = 0; t < threads; t++)
        free(w[t].keys);
    kgc_workqueue_destroy(q);
    return (double)ops_per_thread * threads / secs;
}

int main(int argc, char **argv)
{
    long ops = argc > 1 ? atol(argv[1]) : 3000000;
    bench_print_machine();
    printf("work queue: add+get+done round trips, %d distinct keys per thread\n\n",
           KEYS_PER_THREAD);
    printf("| threads | round trips | ops/s (best of 3) |\n");
    printf("|--------:|------------:|------------------:|\n");
    const int counts[] = {1, 2, 4};
    for (size_t i = 0; i < 3; i++) {
        double best = 0;
        for (int r = 0; r < 3; r++) {
            double v = measure(counts[i], ops / counts[i]);
            if (v > best)
                best = v;
        }
        printf("| %7d | %11ld | %17.0f |\n", counts[i], ops, best);
        fflush(stdout);
    }
    return 0;
}

/* faults — fault injection for tests, driven through the /_test/ endpoints: fail matching
 * requests with a given HTTP code (the next N, or every Kth), and add latency to matching
 * requests. A request matches when its path starts with the rule's prefix and, when the rule
 * names a verb, its verb (get, list, watch, create, update, patch, delete, deletecollection) is
 * that verb. Thread-safe. */
#ifndef FAS_FAULTS_H
#define FAS_FAULTS_H

#include <pthread.h>
#include <stddef.h>

#define FAS_FAULTS_MAX 64

struct fas_fail_rule {
    char *prefix;
    char *verb;     /* NULL: any verb */
    int code;       /* HTTP status to answer */
    long remaining; /* failures left; -1: unlimited */
    long every;     /* fail every Nth matching request (1: each one) */
    long seen;      /* matching requests seen */
};

struct fas_latency_rule {
    char *prefix;
    char *verb;
    long ms;
};

struct fas_faults {
    pthread_mutex_t mu;
    struct fas_fail_rule fail[FAS_FAULTS_MAX];
    size_t n_fail;
    struct fas_latency_rule latency[FAS_FAULTS_MAX];
    size_t n_latency;
};

void fas_faults_init(struct fas_faults *f);
void fas_faults_destroy(struct fas_faults *f);

/* Adds a failure rule: count failures (<= 0 with every > 1: unlimited; <= 0 otherwise: 1), every
 * Nth matching request (<= 1: each). code must be 400..599. Returns 0, KGC_EINVAL or KGC_ENOSPC. */
int fas_faults_add_fail(struct fas_faults *f, const char *prefix, const char *verb, int code,
                        long count, long every);

/* Adds (ms > 0) or removes (ms == 0) latency for a prefix/verb. Returns 0 or an error. */
int fas_faults_set_latency(struct fas_faults *f, const char *prefix, const char *verb, long ms);

/* Forgets every rule. */
void fas_faults_reset(struct fas_faults *f);

/* For one request: the HTTP code to fail it with (0: none); *latency_ms receives the delay to
 * add (the largest matching rule). */
int fas_faults_check(struct fas_faults *f, const char *path, const char *verb, long *latency_ms);

#endif

#include "faults.h"

#include "kgc/err.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void fas_faults_init(struct fas_faults *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
}

static void clear_rules(struct fas_faults *f)
{
    for (size_t i = 0; i < f->n_fail; i++) {
        free(f->fail[i].prefix);
        free(f->fail[i].verb);
    }
    for (size_t i = 0; i < f->n_latency; i++) {
        free(f->latency[i].prefix);
        free(f->latency[i].verb);
    }
    f->n_fail = f->n_latency = 0;
}

void fas_faults_destroy(struct fas_faults *f)
{
    clear_rules(f);
    pthread_mutex_destroy(&f->mu);
}

void fas_faults_reset(struct fas_faults *f)
{
    pthread_mutex_lock(&f->mu);
    clear_rules(f);
    pthread_mutex_unlock(&f->mu);
}

static bool verb_ok(const char *verb)
{
    static const char *const verbs[] = {
        "get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", NULL};
    if (!verb || !verb[0])
        return true;
    for (size_t i = 0; verbs[i]; i++)
        if (strcmp(verbs[i], verb) == 0)
            return true;
    return false;
}

int fas_faults_add_fail(struct fas_faults *f, const char *prefix, const char *verb, int code,
                        long count, long every)
{
    if (!prefix || code < 400 || code > 599 || !verb_ok(verb))
        return KGC_EINVAL;
    char *p = strdup(prefix);
    char *v = verb && verb[0] ? strdup(verb) : NULL;
    if (!p || (verb && verb[0] && !v)) {
        free(p);
        free(v);
        return KGC_ENOMEM;
    }
    pthread_mutex_lock(&f->mu);
    if (f->n_fail == FAS_FAULTS_MAX) {
        pthread_mutex_unlock(&f->mu);
        free(p);
        free(v);
        return KGC_ENOSPC;
    }
    struct fas_fail_rule *r = &f->fail[f->n_fail++];
    r->prefix = p;
    r->verb = v;
    r->code = code;
    r->every = every > 1 ? every : 1;
    r->remaining = count > 0 ? count : (r->every > 1 ? -1 : 1);
    r->seen = 0;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

int fas_faults_set_latency(struct fas_faults *f, const char *prefix, const char *verb, long ms)
{
    if (!prefix || ms < 0 || ms > 600000 || !verb_ok(verb))
        return KGC_EINVAL;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n_latency; i++) {
        struct fas_latency_rule *r = &f->latency[i];
        bool same_verb =
            (!r->verb && (!verb || !verb[0])) || (r->verb && verb && strcmp(r->verb, verb) == 0);
        if (strcmp(r->prefix, prefix) == 0 && same_verb) {
            if (ms > 0) {
                r->ms = ms;
            } else {
                free(r->prefix);
                free(r->verb);
                f->latency[i] = f->latency[--f->n_latency];
            }
            pthread_mutex_unlock(&f->mu);
            return 0;
        }
    }
    if (ms == 0) {
        pthread_mutex_unlock(&f->mu);
        return 0;
    }
    if (f->n_latency == FAS_FAULTS_MAX) {
        pthread_mutex_unlock(&f->mu);
        return KGC_ENOSPC;
    }
    struct fas_latency_rule *r = &f->latency[f->n_latency];
    r->prefix = strdup(prefix);
    r->verb = verb && verb[0] ? strdup(verb) : NULL;
    r->ms = ms;
    if (!r->prefix || (verb && verb[0] && !r->verb)) {
        free(r->prefix);
        free(r->verb);
        pthread_mutex_unlock(&f->mu);
        return KGC_ENOMEM;
    }
    f->n_latency++;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static bool matches(const char *prefix, const char *rverb, const char *path, const char *verb)
{
    if (strncmp(path, prefix, strlen(prefix)) != 0)
        return false;
    return !rverb || (verb && strcmp(rverb, verb) == 0);
}

int fas_faults_check(struct fas_faults *f, const char *path, const char *verb, long *latency_ms)
{
    int code = 0;
    *latency_ms = 0;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n_latency; i++)
        if (matches(f->latency[i].prefix, f->latency[i].verb, path, verb) &&
            f->latency[i].ms > *latency_ms)
            *latency_ms = f->latency[i].ms;
    for (size_t i = 0; i < f->n_fail && !code; i++) {
        struct fas_fail_rule *r = &f->fail[i];
        if (!matches(r->prefix, r->verb, path, verb))
            continue;
        r->seen++;
        if (r->seen % r->every != 0)
            continue;
        code = r->code;
        if (r->remaining > 0 && --r->remaining == 0) {
            free(r->prefix);
            free(r->verb);
            memmove(&f->fail[i], &f->fail[i + 1], (f->n_fail - i - 1) * sizeof(f->fail[0]));
            f->n_fail--;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return code;
}

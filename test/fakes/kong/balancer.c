/* balancer — STUB until the balancer lands (proxy.h): the first target with a weight. */
#include "proxy.h"

#include <kgc/err.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kf_balancer {
    char *first;
};

struct kf_balancer *kf_balancer_new(json_object *upstream, json_object *const *targets, size_t n)
{
    (void)upstream;
    struct kf_balancer *b = calloc(1, sizeof(*b));
    for (size_t i = 0; b && i < n && !b->first; i++) {
        json_object *t = NULL, *w = NULL;
        if (json_object_object_get_ex(targets[i], "weight", &w) && json_object_get_int(w) == 0) {
            continue;
        }
        if (json_object_object_get_ex(targets[i], "target", &t)) {
            b->first = strdup(json_object_get_string(t));
        }
    }
    return b;
}

void kf_balancer_free(struct kf_balancer *b)
{
    if (b) {
        free(b->first);
        free(b);
    }
}

int kf_balancer_pick(struct kf_balancer *b, const struct kf_client_req *client, char *out,
                     size_t outsz)
{
    (void)client;
    if (!b->first) {
        return KGC_ENOENT;
    }
    snprintf(out, outsz, "%s", b->first);
    return 0;
}

/* kgc_base_vec: a growable vector of pointers (see include/kgc/base.h). */
#include "kgc/base.h"

#include "kgc/err.h"

#include <stdlib.h>
#include <string.h>

int kgc_base_vec_push(struct kgc_base_vec *v, void *p)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 16;
        if (cap > SIZE_MAX / sizeof(void *))
            return KGC_ENOMEM;
        void **grown = realloc(v->v, cap * sizeof(*grown));
        if (!grown)
            return KGC_ENOMEM;
        v->v = grown;
        v->cap = cap;
    }
    v->v[v->n++] = p;
    return 0;
}

void kgc_base_vec_free(struct kgc_base_vec *v)
{
    free(v->v);
    memset(v, 0, sizeof(*v));
}

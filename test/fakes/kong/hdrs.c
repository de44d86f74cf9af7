/* hdrs — the header multimap of proxy.h. */
#include "proxy.h"

#include <kgc/err.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int kf_hdrs_add(struct kf_hdrs *h, const char *name, const char *value)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 8;
        struct kf_hdr *v = realloc(h->v, cap * sizeof(*v));
        if (!v) {
            return KGC_ENOMEM;
        }
        h->v = v;
        h->cap = cap;
    }
    char *n = strdup(name);
    char *val = strdup(value ? value : "");
    if (!n || !val) {
        free(n);
        free(val);
        return KGC_ENOMEM;
    }
    h->v[h->n].name = n;
    h->v[h->n].value = val;
    h->n++;
    return 0;
}

size_t kf_hdrs_del(struct kf_hdrs *h, const char *name)
{
    size_t out = 0, removed = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (strcasecmp(h->v[i].name, name) == 0) {
            free(h->v[i].name);
            free(h->v[i].value);
            removed++;
            continue;
        }
        h->v[out++] = h->v[i];
    }
    h->n = out;
    return removed;
}

int kf_hdrs_set(struct kf_hdrs *h, const char *name, const char *value)
{
    kf_hdrs_del(h, name);
    return kf_hdrs_add(h, name, value);
}

const char *kf_hdrs_get(const struct kf_hdrs *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++) {
        if (strcasecmp(h->v[i].name, name) == 0) {
            return h->v[i].value;
        }
    }
    return NULL;
}

size_t kf_hdrs_count(const struct kf_hdrs *h, const char *name)
{
    size_t c = 0;
    for (size_t i = 0; i < h->n; i++) {
        c += strcasecmp(h->v[i].name, name) == 0;
    }
    return c;
}

void kf_hdrs_free(struct kf_hdrs *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->v[i].name);
        free(h->v[i].value);
    }
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

void kf_preq_free(struct kf_preq *r)
{
    free(r->method);
    free(r->host);
    free(r->uri);
    free(r->query);
    free(r->body);
    kf_hdrs_free(&r->headers);
    memset(r, 0, sizeof(*r));
}

void kf_presp_free(struct kf_presp *r)
{
    kf_hdrs_free(&r->headers);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* kgc_cache_dump: the cache as JSON for /debug/cache and for tests that compare states. Objects
 * are serialised one at a time (never one json-c tree for the whole cache). */
#include "kgc/cache.h"

#include "kgc/base.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* Appends s with every line after the first indented by `indent` spaces. */
static void buf_indented(struct kgc_base_buf *b, const char *s, int indent)
{
    static const char spaces[] = "                ";
    const char *line = s;
    for (;;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);
        kgc_base_buf_add(b, line, n);
        if (!nl)
            break;
        kgc_base_buf_add(b, spaces, (size_t)indent);
        line = nl + 1;
    }
}

static bool matches(const struct kgc_api_obj *o, const char *namespace, const char *name)
{
    if (namespace && (!o->meta.namespace || strcmp(o->meta.namespace, namespace) != 0))
        return false;
    return !name || strcmp(o->meta.name, name) == 0;
}

int kgc_cache_dump(struct kgc_cache *cache, const char *kind, const char *namespace,
                   const char *name, bool pretty, char **out, size_t *len, struct kgc_err *err)
{
    *out = NULL;
    if (len)
        *len = 0;
    int only = -1;
    if (kind && kind[0]) {
        only = kgc_api_kind_from_name(kind);
        if (only < 0)
            return kgc_err_set(err, KGC_EINVAL, "unknown kind '%.64s'", kind);
    }
    if (namespace && !namespace[0])
    namespace = NULL;
    if (name && !name[0])
        name = NULL;
    int flags =
        JSON_C_TO_STRING_NOSLASHESCAPE |
        (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
    struct kgc_base_buf b = {0};
    kgc_base_buf_puts(&b, "{");
    bool first_kind = true;
    for (int k = 0; k < KGC_API_KIND_COUNT; k++) {
        if (only >= 0 && k != only)
            continue;
        const struct kgc_api_kind_info *info = kgc_api_kind_info((enum kgc_api_kind)k);
        /* A namespace narrows the dump to namespaced kinds, unless a cluster-scoped kind was
         * asked for by name (then the namespace does not apply to it). */
        if (namespace && !info->namespaced && only < 0)
            continue;
        struct kgc_cache_list l;
        int rc = kgc_cache_list(cache, (enum kgc_api_kind)k, NULL, &l);
        if (rc != 0) {
            kgc_base_buf_free(&b);
            return kgc_err_set(err, rc, "listing %s: %s", info->plural, kgc_err_str(rc));
        }
        kgc_base_buf_puts(&b,
                          first_kind ? (pretty ? "\n  \"" : "\"") : (pretty ? ",\n  \"" : ",\""));
        first_kind = false;
        kgc_base_buf_puts(&b, info->plural);
        kgc_base_buf_puts(&b, pretty ? "\": [" : "\":[");
        bool first = true;
        for (size_t i = 0; i < l.n && !b.err; i++) {
            if (!matches(l.items[i], info->namespaced ? namespace : NULL, name))
                continue;
            json_object *j = kgc_api_to_json(l.items[i]);
            if (!j) {
                b.err = KGC_ENOMEM;
                break;
            }
            kgc_base_buf_puts(&b, first ? (pretty ? "\n    " : "") : (pretty ? ",\n    " : ","));
            first = false;
            const char *s = json_object_to_json_string_ext(j, flags);
            if (!s)
                b.err = KGC_ENOMEM;
            else if (pretty)
                buf_indented(&b, s, 4);
            else
                kgc_base_buf_puts(&b, s);
            json_object_put(j);
        }
        kgc_cache_list_release(&l);
        kgc_base_buf_puts(&b, first ? "]" : (pretty ? "\n  ]" : "]"));
    }
    kgc_base_buf_puts(&b, pretty ? "\n}\n" : "}");
    *out = kgc_base_buf_take(&b, len);
    if (!*out)
        return kgc_err_set(err, KGC_ENOMEM, "out of memory");
    return 0;
}

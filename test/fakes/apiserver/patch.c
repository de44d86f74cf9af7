#include "patch.h"

#include "jsonutil.h"
#include "kgc/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATCH_MAX_OPS 10000

/* ---- RFC 7386 ------------------------------------------------------------------------------- */

int fas_merge_patch(json_object **doc, json_object *patch)
{
    if (!json_object_is_type(patch, json_type_object)) {
        json_object *copy = patch ? fas_json_copy(patch) : NULL;
        if (patch && !copy)
            return KGC_ENOMEM;
        json_object_put(*doc);
        *doc = copy;
        return 0;
    }
    if (!json_object_is_type(*doc, json_type_object)) {
        json_object_put(*doc);
        *doc = json_object_new_object();
        if (!*doc)
            return KGC_ENOMEM;
    }
    json_object_object_foreach(patch, key, value)
    {
        if (!value) { /* null: delete */
            json_object_object_del(*doc, key);
            continue;
        }
        json_object *cur = fas_json_get(*doc, key);
        json_object *target = cur ? json_object_get(cur) : NULL;
        int rc = fas_merge_patch(&target, value);
        if (rc) {
            json_object_put(target);
            return rc;
        }
        if (json_object_object_add(*doc, key, target)) {
            json_object_put(target);
            return KGC_ENOMEM;
        }
    }
    return 0;
}

/* ---- RFC 6902 ------------------------------------------------------------------------------- */

/* A JSON pointer split into unescaped tokens. */
struct pointer {
    char **tok;
    size_t n;
};

static void pointer_free(struct pointer *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->tok[i]);
    free(p->tok);
    p->tok = NULL;
    p->n = 0;
}

static int pointer_parse(const char *s, struct pointer *p, char *err, size_t errsz)
{
    memset(p, 0, sizeof(*p));
    if (!s) {
        snprintf(err, errsz, "missing path");
        return KGC_EINVAL;
    }
    if (s[0] == '\0')
        return 0;
    if (s[0] != '/') {
        snprintf(err, errsz, "JSON pointer must be empty or start with a \"/\": %s", s);
        return KGC_EINVAL;
    }
    const char *c = s + 1;
    for (;;) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        char *t = malloc(n + 1);
        char **np = realloc(p->tok, (p->n + 1) * sizeof(char *));
        if (!t || !np) {
            free(t);
            if (np)
                p->tok = np;
            pointer_free(p);
            return KGC_ENOMEM;
        }
        p->tok = np;
        size_t j = 0;
        for (size_t i = 0; i < n; i++) {
            if (c[i] == '~' && i + 1 < n && (c[i + 1] == '0' || c[i + 1] == '1')) {
                t[j++] = c[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                t[j++] = c[i];
            }
        }
        t[j] = '\0';
        p->tok[p->n++] = t;
        if (!e)
            break;
        c = e + 1;
    }
    return 0;
}

/* Array index of token t in an array of length len; allow_end accepts "-" (== len) and len. */
static int array_index(const char *t, size_t len, int allow_end, size_t *out)
{
    if (allow_end && strcmp(t, "-") == 0) {
        *out = len;
        return 0;
    }
    if (!t[0] || (t[0] == '0' && t[1]))
        return KGC_EINVAL;
    for (const char *c = t; *c; c++)
        if (*c < '0' || *c > '9')
            return KGC_EINVAL;
    errno = 0;
    unsigned long long v = strtoull(t, NULL, 10);
    if (errno || v > len || (!allow_end && v == len))
        return KGC_EINVAL;
    *out = (size_t)v;
    return 0;
}

/* The value at the pointer's first n tokens (borrowed), or NULL. */
static json_object *pointer_get(json_object *doc, const struct pointer *p, size_t n)
{
    json_object *cur = doc;
    for (size_t i = 0; i < n; i++) {
        if (json_object_is_type(cur, json_type_object)) {
            json_object *next = NULL;
            if (!json_object_object_get_ex(cur, p->tok[i], &next) || !next)
                return NULL;
            cur = next;
        } else if (json_object_is_type(cur, json_type_array)) {
            size_t idx;
            if (array_index(p->tok[i], json_object_array_length(cur), 0, &idx))
                return NULL;
            cur = json_object_array_get_idx(cur, idx);
        } else {
            return NULL;
        }
    }
    return cur;
}

/* Inserts value (reference taken over) into arr at idx, shifting later elements. */
static int array_insert(json_object *arr, size_t idx, json_object *value)
{
    size_t len = json_object_array_length(arr);
    if (idx == len)
        return json_object_array_add(arr, value) ? KGC_ENOMEM : 0;
    /* Rebuild the tail: json-c 0.16 has no insert. */
    json_object *tail = json_object_new_array();
    if (!tail)
        return KGC_ENOMEM;
    for (size_t i = idx; i < len; i++)
        json_object_array_add(tail, json_object_get(json_object_array_get_idx(arr, i)));
    json_object_array_del_idx(arr, idx, len - idx);
    int rc = json_object_array_add(arr, value) ? KGC_ENOMEM : 0;
    for (size_t i = 0; i < json_object_array_length(tail); i++)
        json_object_array_add(arr, json_object_get(json_object_array_get_idx(tail, i)));
    json_object_put(tail);
    return rc;
}

/* add/replace: sets value (reference taken over) at p. */
static int pointer_set(json_object **doc, const struct pointer *p, json_object *value, int insert,
                       char *err, size_t errsz, const char *path)
{
    if (p->n == 0) {
        json_object_put(*doc);
        *doc = value;
        return 0;
    }
    json_object *parent = pointer_get(*doc, p, p->n - 1);
    const char *last = p->tok[p->n - 1];
    if (json_object_is_type(parent, json_type_object)) {
        if (!insert && !fas_json_get(parent, last) &&
            !json_object_object_get_ex(parent, last, NULL)) {
            snprintf(err, errsz, "replace operation does not apply: doc is missing key: %s", path);
            json_object_put(value);
            return KGC_EINVAL;
        }
        if (json_object_object_add(parent, last, value)) {
            json_object_put(value);
            return KGC_ENOMEM;
        }
        return 0;
    }
    if (json_object_is_type(parent, json_type_array)) {
        size_t idx;
        size_t len = json_object_array_length(parent);
        if (array_index(last, len, insert, &idx)) {
            snprintf(err, errsz, "%s operation does not apply: doc is missing path: %s",
                     insert ? "add" : "replace", path);
            json_object_put(value);
            return KGC_EINVAL;
        }
        if (insert)
            return array_insert(parent, idx, value);
        if (json_object_array_put_idx(parent, idx, value)) {
            json_object_put(value);
            return KGC_ENOMEM;
        }
        return 0;
    }
    snprintf(err, errsz, "%s operation does not apply: doc is missing path: %s",
             insert ? "add" : "replace", path);
    json_object_put(value);
    return KGC_EINVAL;
}

/* Removes the value at p; when taken is not NULL it receives a reference to the removed value. */
static int pointer_remove(json_object *doc, const struct pointer *p, json_object **taken, char *err,
                          size_t errsz, const char *path)
{
    if (p->n == 0) {
        snprintf(err, errsz, "unable to remove the whole document");
        return KGC_EINVAL;
    }
    json_object *parent = pointer_get(doc, p, p->n - 1);
    const char *last = p->tok[p->n - 1];
    if (json_object_is_type(parent, json_type_object)) {
        json_object *v = NULL;
        if (!json_object_object_get_ex(parent, last, &v)) {
            snprintf(err, errsz, "remove operation does not apply: doc is missing path: \"%s\"",
                     path);
            return KGC_EINVAL;
        }
        if (taken)
            *taken = json_object_get(v);
        json_object_object_del(parent, last);
        return 0;
    }
    if (json_object_is_type(parent, json_type_array)) {
        size_t idx;
        if (array_index(last, json_object_array_length(parent), 0, &idx)) {
            snprintf(err, errsz, "remove operation does not apply: doc is missing path: \"%s\"",
                     path);
            return KGC_EINVAL;
        }
        if (taken)
            *taken = json_object_get(json_object_array_get_idx(parent, idx));
        json_object_array_del_idx(parent, idx, 1);
        return 0;
    }
    snprintf(err, errsz, "remove operation does not apply: doc is missing path: \"%s\"", path);
    return KGC_EINVAL;
}

static int json_patch_op(json_object **doc, json_object *op, char *err, size_t errsz)
{
    const char *name = fas_json_str(op, "op");
    const char *path = fas_json_str(op, "path");
    const char *from = fas_json_str(op, "from");
    json_object *value = NULL;
    bool has_value = json_object_object_get_ex(op, "value", &value);
    struct pointer p = {0}, f = {0};
    int rc;
    if (!name) {
        snprintf(err, errsz, "Unexpected kind: missing op");
        return KGC_EINVAL;
    }
    rc = pointer_parse(path, &p, err, errsz);
    if (rc)
        return rc;
    if (strcmp(name, "add") == 0 || strcmp(name, "replace") == 0) {
        if (!has_value) {
            snprintf(err, errsz, "missing value for %s operation", name);
            rc = KGC_EINVAL;
        } else {
            json_object *copy = value ? fas_json_copy(value) : NULL;
            if (value && !copy)
                rc = KGC_ENOMEM;
            else
                rc = pointer_set(doc, &p, copy, name[0] == 'a', err, errsz, path);
        }
    } else if (strcmp(name, "remove") == 0) {
        rc = pointer_remove(*doc, &p, NULL, err, errsz, path);
    } else if (strcmp(name, "test") == 0) {
        json_object *cur = pointer_get(*doc, &p, p.n);
        if (!fas_json_equal(cur, value)) {
            snprintf(err, errsz, "testing value %s failed: test failed", path);
            rc = KGC_EINVAL;
        }
    } else if (strcmp(name, "move") == 0 || strcmp(name, "copy") == 0) {
        rc = pointer_parse(from, &f, err, errsz);
        if (!rc) {
            json_object *v = NULL;
            if (name[0] == 'm') {
                rc = pointer_remove(*doc, &f, &v, err, errsz, from);
            } else {
                json_object *src = pointer_get(*doc, &f, f.n);
                if (!src && f.n) {
                    snprintf(err, errsz,
                             "copy operation does not apply: doc is missing from "
                             "path: %s",
                             from);
                    rc = KGC_EINVAL;
                } else {
                    v = fas_json_copy(src);
                    if (src && !v)
                        rc = KGC_ENOMEM;
                }
            }
            if (!rc)
                rc = pointer_set(doc, &p, v, 1, err, errsz, path);
        }
    } else {
        snprintf(err, errsz, "Unexpected kind: %s", name);
        rc = KGC_EINVAL;
    }
    pointer_free(&p);
    pointer_free(&f);
    return rc;
}

int fas_json_patch(json_object **doc, json_object *ops, char *err, size_t errsz)
{
    if (!json_object_is_type(ops, json_type_array)) {
        snprintf(err, errsz, "json: cannot unmarshal object into Go value of type jsonpatch.Patch");
        return KGC_EINVAL;
    }
    size_t n = json_object_array_length(ops);
    if (n > PATCH_MAX_OPS) {
        snprintf(err, errsz, "the allowed maximum operations in a JSON patch is %d", PATCH_MAX_OPS);
        return KGC_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *op = json_object_array_get_idx(ops, i);
        if (!json_object_is_type(op, json_type_object)) {
            snprintf(err, errsz, "invalid JSON patch operation %zu", i);
            return KGC_EINVAL;
        }
        int rc = json_patch_op(doc, op, err, errsz);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- strategic merge patch (approximation) -------------------------------------------------- */

/* Merge keys of the built-in types' lists, by field name. "ports" depends on the element. */
static const struct {
    const char *field;
    const char *key;
} smp_keys[] = {
    {"containers", "name"},
    {"initContainers", "name"},
    {"ephemeralContainers", "name"},
    {"env", "name"},
    {"volumes", "name"},
    {"volumeMounts", "mountPath"},
    {"volumeDevices", "devicePath"},
    {"imagePullSecrets", "name"},
    {"conditions", "type"},
    {"ownerReferences", "uid"},
    {"hostAliases", "ip"},
    {"topologySpreadConstraints", "topologyKey"},
    {"resourceClaims", "name"},
    {"schedulingGates", "name"},
};

/* Lists of scalars merged as sets (patchStrategy: merge). */
static const char *const smp_set_lists[] = {"finalizers", NULL};

const char *fas_smp_merge_key(const char *field, json_object *sample)
{
    if (strcmp(field, "ports") == 0) {
        if (fas_json_get(sample, "containerPort"))
            return "containerPort";
        if (fas_json_get(sample, "port"))
            return "port";
        return NULL;
    }
    for (size_t i = 0; i < sizeof(smp_keys) / sizeof(smp_keys[0]); i++)
        if (strcmp(smp_keys[i].field, field) == 0)
            return json_object_is_type(sample, json_type_object) ? smp_keys[i].key : NULL;
    return NULL;
}

static bool is_set_list(const char *field)
{
    for (size_t i = 0; smp_set_lists[i]; i++)
        if (strcmp(smp_set_lists[i], field) == 0)
            return true;
    return false;
}

static int smp_merge(json_object **doc, json_object *patch, char *err, size_t errsz);

static json_object *find_by_key(json_object *arr, const char *key, json_object *want, size_t *idx)
{
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        if (fas_json_equal(fas_json_get(e, key), want)) {
            if (idx)
                *idx = i;
            return e;
        }
    }
    return NULL;
}

/* Merges the patch list into the doc list by merge key. */
static int smp_merge_list(json_object *cur, json_object *plist, const char *key, char *err,
                          size_t errsz)
{
    size_t n = json_object_array_length(plist);
    for (size_t i = 0; i < n; i++) {
        json_object *pe = json_object_array_get_idx(plist, i);
        json_object *kv = fas_json_get(pe, key);
        const char *directive = fas_json_str(pe, "$patch");
        size_t idx = 0;
        json_object *existing = kv ? find_by_key(cur, key, kv, &idx) : NULL;
        if (directive && strcmp(directive, "delete") == 0) {
            if (existing)
                json_object_array_del_idx(cur, idx, 1);
            continue;
        }
        if (existing) {
            json_object *target = json_object_get(existing);
            int rc = smp_merge(&target, pe, err, errsz);
            if (rc) {
                json_object_put(target);
                return rc;
            }
            json_object_array_put_idx(cur, idx, target);
        } else {
            json_object *fresh = json_object_new_object();
            if (!fresh)
                return KGC_ENOMEM;
            int rc = smp_merge(&fresh, pe, err, errsz);
            if (rc) {
                json_object_put(fresh);
                return rc;
            }
            json_object_array_add(cur, fresh);
        }
    }
    return 0;
}

/* Orders list per the $setElementOrder values (by merge key or by value); others keep their
 * relative order at the end. */
static int smp_order(json_object *list, json_object *order, const char *key)
{
    size_t n = json_object_array_length(list);
    json_object *sorted = json_object_new_array();
    char *used = calloc(n ? n : 1, 1);
    if (!sorted || !used) {
        json_object_put(sorted);
        free(used);
        return KGC_ENOMEM;
    }
    for (size_t i = 0; i < json_object_array_length(order); i++) {
        json_object *o = json_object_array_get_idx(order, i);
        json_object *want = key ? fas_json_get(o, key) : o;
        for (size_t j = 0; j < n; j++) {
            json_object *e = json_object_array_get_idx(list, j);
            if (!used[j] && fas_json_equal(key ? fas_json_get(e, key) : e, want)) {
                used[j] = 1;
                json_object_array_add(sorted, json_object_get(e));
                break;
            }
        }
    }
    for (size_t j = 0; j < n; j++)
        if (!used[j])
            json_object_array_add(sorted, json_object_get(json_object_array_get_idx(list, j)));
    json_object_array_del_idx(list, 0, n);
    for (size_t j = 0; j < json_object_array_length(sorted); j++)
        json_object_array_add(list, json_object_get(json_object_array_get_idx(sorted, j)));
    json_object_put(sorted);
    free(used);
    return 0;
}

static int smp_merge(json_object **doc, json_object *patch, char *err, size_t errsz)
{
    if (!json_object_is_type(patch, json_type_object))
        return fas_merge_patch(doc, patch);
    const char *directive = fas_json_str(patch, "$patch");
    if (directive && strcmp(directive, "replace") == 0) {
        json_object *copy = fas_json_copy(patch);
        if (!copy)
            return KGC_ENOMEM;
        json_object_object_del(copy, "$patch");
        json_object_put(*doc);
        *doc = copy;
        return 0;
    }
    if (directive && strcmp(directive, "delete") == 0) {
        json_object_put(*doc);
        *doc = json_object_new_object();
        return *doc ? 0 : KGC_ENOMEM;
    }
    if (!json_object_is_type(*doc, json_type_object)) {
        json_object_put(*doc);
        *doc = json_object_new_object();
        if (!*doc)
            return KGC_ENOMEM;
    }
    json_object_object_foreach(patch, k, v)
    {
        if (k[0] == '$')
            continue;
        if (!v) {
            json_object_object_del(*doc, k);
            continue;
        }
        json_object *cur = fas_json_get(*doc, k);
        if (json_object_is_type(v, json_type_array)) {
            json_object *sample =
                json_object_array_length(v) ? json_object_array_get_idx(v, 0) : NULL;
            if (!sample && json_object_is_type(cur, json_type_array) &&
                json_object_array_length(cur))
                sample = json_object_array_get_idx(cur, 0);
            const char *key = sample ? fas_smp_merge_key(k, sample) : NULL;
            if (key && json_object_is_type(cur, json_type_array)) {
                int rc = smp_merge_list(cur, v, key, err, errsz);
                if (rc)
                    return rc;
                continue;
            }
            if (is_set_list(k) && json_object_is_type(cur, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                    json_object *e = json_object_array_get_idx(v, i);
                    bool have = false;
                    for (size_t j = 0; j < json_object_array_length(cur); j++)
                        if (fas_json_equal(json_object_array_get_idx(cur, j), e))
                            have = true;
                    if (!have)
                        json_object_array_add(cur, fas_json_copy(e));
                }
                continue;
            }
            json_object *copy = fas_json_copy(v);
            if (!copy)
                return KGC_ENOMEM;
            json_object_object_add(*doc, k, copy);
            continue;
        }
        json_object *target = cur ? json_object_get(cur) : NULL;
        int rc = smp_merge(&target, v, err, errsz);
        if (rc) {
            json_object_put(target);
            return rc;
        }
        json_object_object_add(*doc, k, target);
    }
    /* Directives that need the merged result. */
    json_object_object_foreach(patch, dk, dv)
    {
        if (strncmp(dk, "$setElementOrder/", 17) == 0) {
            json_object *list = fas_json_get(*doc, dk + 17);
            if (json_object_is_type(list, json_type_array) &&
                json_object_is_type(dv, json_type_array)) {
                json_object *sample =
                    json_object_array_length(dv) ? json_object_array_get_idx(dv, 0) : NULL;
                const char *key = sample ? fas_smp_merge_key(dk + 17, sample) : NULL;
                int rc = smp_order(list, dv, key);
                if (rc)
                    return rc;
            }
        } else if (strncmp(dk, "$deleteFromPrimitiveList/", 25) == 0) {
            json_object *list = fas_json_get(*doc, dk + 25);
            if (json_object_is_type(list, json_type_array) &&
                json_object_is_type(dv, json_type_array)) {
                for (size_t i = json_object_array_length(list); i-- > 0;)
                    for (size_t j = 0; j < json_object_array_length(dv); j++)
                        if (fas_json_equal(json_object_array_get_idx(list, i),
                                           json_object_array_get_idx(dv, j))) {
                            json_object_array_del_idx(list, i, 1);
                            break;
                        }
            }
        } else if (strcmp(dk, "$retainKeys") == 0 && json_object_is_type(dv, json_type_array)) {
            json_object *drop = json_object_new_array();
            if (!drop)
                return KGC_ENOMEM;
            json_object_object_foreach(*doc, ek, ev)
            {
                (void)ev;
                bool keep = false;
                for (size_t j = 0; j < json_object_array_length(dv); j++) {
                    const char *s = json_object_get_string(json_object_array_get_idx(dv, j));
                    if (s && strcmp(s, ek) == 0)
                        keep = true;
                }
                if (!keep)
                    json_object_array_add(drop, json_object_new_string(ek));
            }
            for (size_t j = 0; j < json_object_array_length(drop); j++)
                json_object_object_del(*doc,
                                       json_object_get_string(json_object_array_get_idx(drop, j)));
            json_object_put(drop);
        }
    }
    return 0;
}

int fas_strategic_merge_patch(json_object **doc, json_object *patch, char *err, size_t errsz)
{
    if (!json_object_is_type(patch, json_type_object)) {
        snprintf(err, errsz, "strategic merge patch must be a JSON object");
        return KGC_EINVAL;
    }
    return smp_merge(doc, patch, err, errsz);
}

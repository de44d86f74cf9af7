/* declarative — Kong 3.x's DB-less configuration check (kong/db/schema/others/
 * declarative_config.lua): the schema pass, then ids, uniqueness and references; the 400 body
 * with Kong's error table, message and flattened errors (kong/db/errors.lua); the 201 body. */
#include "entities.h"

#include <kgc/err.h>
#include <kgc/strmap.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the schema pass ---------------------------------------------------------------------------
 */

static struct kf_errv validate_entity_array(struct kf_vctx *c, const struct kf_entity *e,
                                            json_object *arr, bool nested);

static bool entity_extra(struct kf_vctx *c, void *arg, json_object *obj, const char *key,
                         json_object *val, struct kf_errt *errs)
{
    const struct kf_entity *e = arg;
    if (strcmp(key, "_comment") == 0) {
        static const struct kf_field comment = {"_comment", KF_STRING, 0};
        kf_put_err(c, errs, key, kf_validate_value(c, &comment, val));
        return true;
    }
    if (strcmp(key, "_ignore") == 0) {
        static const struct kf_field any = {"any", KF_ANY, 0};
        static const struct kf_field ignore = {"_ignore", KF_ARRAY, 0, .elements = &any};
        kf_put_err(c, errs, key, kf_validate_value(c, &ignore, val));
        return true;
    }
    for (size_t i = 0; e->children && e->children[i]; i++) {
        if (strcmp(e->children[i], key) == 0) {
            kf_put_err(c, errs, key, validate_entity_array(c, kf_entity(key), val, true));
            return true;
        }
    }
    if (strcmp(e->plural, "plugins") == 0 && strcmp(key, "config") == 0) {
        kf_plugin_config(c, obj, val, errs);
        return true;
    }
    if (strcmp(e->plural, "services") == 0 && strcmp(key, "url") == 0) {
        return true; /* the shorthand was expanded (or reported) by validate_entity() */
    }
    return false;
}

/* socket.url-like parse of a service's url shorthand into protocol/host/port/path. */
static json_object *expand_url(json_object *obj, const char *url)
{
    json_object *w = NULL;
    if (json_object_deep_copy(obj, &w, NULL) != 0) {
        return NULL;
    }
    json_object_object_del(w, "url");
    const char *p = url;
    char scheme[64] = "";
    const char *colon = strchr(p, ':');
    if (colon && colon != p && (size_t)(colon - p) < sizeof(scheme)) {
        bool ok = true;
        for (const char *q = p; q < colon; q++) {
            ok &= (q == p) ? (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')
                           : (*q != '/' && *q != '?' && *q != '#');
        }
        if (ok) {
            memcpy(scheme, p, (size_t)(colon - p));
            scheme[colon - p] = '\0';
            p = colon + 1;
        }
    }
    char host[512] = "", port[32] = "";
    if (strncmp(p, "//", 2) == 0) {
        p += 2;
        size_t n = strcspn(p, "/?#");
        char auth[512];
        snprintf(auth, sizeof(auth), "%.*s", (int)n, p);
        p += n;
        char *at = strrchr(auth, '@');
        char *hp = at ? at + 1 : auth;
        char *pc = NULL;
        if (hp[0] == '[') {
            char *close = strchr(hp, ']');
            pc = close && close[1] == ':' ? close + 1 : NULL;
        } else {
            pc = strrchr(hp, ':');
        }
        if (pc) {
            snprintf(port, sizeof(port), "%s", pc + 1);
            *pc = '\0';
        }
        snprintf(host, sizeof(host), "%s", hp);
    }
    size_t plen = strcspn(p, "?#");
    long portnum = -1;
    if (port[0]) {
        char *end = NULL;
        portnum = strtol(port, &end, 10);
        if (!end || *end) {
            portnum = -2;
        }
    }
    const char *proto = scheme[0]        ? scheme
                        : portnum == 80  ? "http"
                        : portnum == 443 ? "https"
                                         : "http";
    json_object_object_add(w, "protocol", json_object_new_string(proto));
    json_object_object_add(w, "host", host[0] ? json_object_new_string(host) : NULL);
    if (portnum >= 0) {
        json_object_object_add(w, "port", json_object_new_int64(portnum));
    } else if (portnum == -2) {
        json_object_object_add(w, "port", json_object_new_string(port));
    } else {
        json_object_object_add(w, "port",
                               json_object_new_int(strcmp(proto, "https") == 0 ? 443 : 80));
    }
    json_object_object_add(w, "path", plen ? json_object_new_string_len(p, (int)plen) : NULL);
    return w;
}

static struct kf_errv validate_entity(struct kf_vctx *c, const struct kf_entity *e,
                                      json_object *obj, bool nested)
{
    if (!obj) {
        return kf_msg(c, "required field missing");
    }
    if (!json_object_is_type(obj, json_type_object) &&
        !(json_object_is_type(obj, json_type_array) && json_object_array_length(obj) == 0)) {
        return kf_msg(c, "expected a record");
    }
    struct kf_errt *errs = kf_errt_new();
    if (!errs) {
        c->oom = true;
        return (struct kf_errv){0};
    }
    json_object *empty = NULL;
    json_object *work = obj;
    if (!json_object_is_type(obj, json_type_object)) {
        work = empty = json_object_new_object();
    }
    json_object *expanded = NULL, *url = NULL;
    if (work && strcmp(e->plural, "services") == 0 && kf_has(work, "url", &url) && url) {
        if (!kf_is_string(url)) {
            kf_put_err(c, errs, "url", kf_msg(c, "expected a string"));
        } else if ((expanded = expand_url(work, json_object_get_string(url)))) {
            work = expanded;
        } else {
            c->oom = true;
        }
    }
    const char *sub_field = NULL;
    char sub_msg[512];
    if (work && kf_subschema_error(c, e->plural, work, &sub_field, sub_msg, sizeof(sub_msg))) {
        /* no subschema: Kong validates nothing else (kong/db/schema/init.lua:2111-2126) */
        kf_put_err(c, errs, sub_field, kf_msg(c, sub_msg));
    } else if (work) {
        bool saved = c->foreign_null;
        c->foreign_null = nested;
        kf_validate_record(c, kf_entity_record(c, e, work), work, entity_extra, (void *)e, errs);
        c->foreign_null = saved;
    } else {
        c->oom = true;
    }
    json_object_put(expanded);
    json_object_put(empty);
    if (kf_errt_count(errs) == 0) {
        kf_errt_free(errs);
        return (struct kf_errv){0};
    }
    return (struct kf_errv){.tab = errs};
}

static struct kf_errv validate_entity_array(struct kf_vctx *c, const struct kf_entity *e,
                                            json_object *arr, bool nested)
{
    if (!arr) {
        return (struct kf_errv){0};
    }
    if (json_object_is_type(arr, json_type_object) && json_object_object_length(arr) == 0) {
        return (struct kf_errv){0};
    }
    if (!json_object_is_type(arr, json_type_array)) {
        return kf_msg(c, "expected an array");
    }
    struct kf_errt *errs = NULL;
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(arr, i);
        /* a top-level entity found valid before is valid again (vmemo.c says why) */
        struct kf_vmemo *memo = nested || c->oom ? NULL : c->memo;
        if (memo && kf_vmemo_seen(memo, e->plural, item)) {
            continue;
        }
        struct kf_errv ev = validate_entity(c, e, item, nested);
        if (!ev.str && !ev.tab) {
            if (memo && !c->oom) {
                kf_vmemo_add_last(memo, e->plural, item);
            }
            continue;
        }
        if (!errs && !(errs = kf_errt_new())) {
            kf_errv_free(&ev);
            c->oom = true;
            break;
        }
        if (kf_errt_put(errs, NULL, (long)i + 1, ev) != 0) {
            c->oom = true;
        }
    }
    return (struct kf_errv){.tab = errs};
}

static struct kf_errt *validate_doc(struct kf_vctx *c, json_object *doc)
{
    static const char *const versions[] = {"1.1", "2.1", "3.0", NULL};
    static const struct kf_field format = {"_format_version", KF_STRING, KF_REQUIRED,
                                           .one_of = versions};
    static const struct kf_field transform = {"_transform", KF_BOOLEAN, 0};
    static const struct kf_field comment = {"_comment", KF_STRING, 0};
    static const struct kf_field any = {"any", KF_ANY, 0};
    static const struct kf_field ignore = {"_ignore", KF_ARRAY, 0, .elements = &any};
    struct kf_errt *errs = kf_errt_new();
    if (!errs) {
        c->oom = true;
        return NULL;
    }
    json_object_object_foreach(doc, key, val)
    {
        const struct kf_entity *e = kf_entity(key);
        if (e) {
            kf_put_err(c, errs, key, validate_entity_array(c, e, val, false));
        } else if (strcmp(key, "_format_version") == 0) {
            kf_put_err(c, errs, key, kf_validate_value(c, &format, val));
        } else if (strcmp(key, "_transform") == 0) {
            kf_put_err(c, errs, key, kf_validate_value(c, &transform, val));
        } else if (strcmp(key, "_comment") == 0) {
            kf_put_err(c, errs, key, kf_validate_value(c, &comment, val));
        } else if (strcmp(key, "_ignore") == 0) {
            kf_put_err(c, errs, key, kf_validate_value(c, &ignore, val));
        } else {
            kf_put_err(c, errs, key, kf_msg(c, "unknown field"));
        }
    }
    if (!kf_has(doc, "_format_version", NULL)) {
        kf_put_err(c, errs, "_format_version", kf_msg(c, "required field missing"));
    }
    return errs;
}

/* ---- ids
 * ----------------------------------------------------------------------------------------- */

/* kf_is_child() with the parent's entity at hand. The traversals below ask it before looking
 * the key up in a nested item: one lookup per child kind instead of one per entity kind. */
static bool nests(const struct kf_entity *parent, const char *plural)
{
    for (size_t i = 0; parent && parent->children && parent->children[i]; i++) {
        if (strcmp(parent->children[i], plural) == 0) {
            return true;
        }
    }
    return false;
}

static bool cache_field_required(const char *entity, const char *field)
{
    return (strcmp(entity, "targets") == 0 &&
            (strcmp(field, "upstream") == 0 || strcmp(field, "target") == 0)) ||
           (strcmp(entity, "plugins") == 0 && strcmp(field, "name") == 0);
}

/* The key Kong derives an entity's id from (build_cache_key / the endpoint key), or false. */
static bool uuid_key(const struct kf_entity *e, json_object *item, const char *parent_id,
                     const char *child_key, char *out, size_t outsz)
{
    if (e->cache_key) {
        size_t n = (size_t)snprintf(out, outsz, "%s:*", e->plural);
        for (size_t i = 0; e->cache_key[i] && n < outsz; i++) {
            const char *k = e->cache_key[i];
            json_object *v = NULL;
            if (kf_has(item, k, &v)) {
                if (kf_is_string(v)) {
                    n += (size_t)snprintf(out + n, outsz - n, ":%s", json_object_get_string(v));
                }
                continue; /* present but not a string: nothing is added */
            }
            if (child_key && strcmp(k, child_key) == 0) {
                if (!parent_id) {
                    return false;
                }
                n += (size_t)snprintf(out + n, outsz - n, ":%s", parent_id);
            } else if (cache_field_required(e->plural, k)) {
                return false;
            } else {
                n += (size_t)snprintf(out + n, outsz - n, ":");
            }
        }
        return n < outsz;
    }
    const char *key = e->endpoint_key ? kf_get_string(item, e->endpoint_key) : NULL;
    if (key) {
        snprintf(out, outsz, "%s", key);
        return true;
    }
    return false;
}

static void item_ids(const struct kf_entity *e, json_object *item, const char *parent_id,
                     const char *child_key, bool random_rest);

/* Kong's generate_ids: deterministic ids where Kong derives them; random ones too when asked
 * (process_auto_fields). Works in place on a copy of the document. */
static void generate_ids(json_object *input, const char *parent, const char *parent_id,
                         bool random_rest)
{
    const struct kf_entity *pe = parent ? kf_entity(parent) : NULL;
    for (const struct kf_entity *e = kf_entities(); e->plural; e++) {
        json_object *arr = NULL;
        if ((parent && !nests(pe, e->plural)) || !kf_has(input, e->plural, &arr) || !arr ||
            !json_object_is_type(arr, json_type_array)) {
            continue;
        }
        const char *child_key = parent ? kf_child_key(parent, e->plural) : NULL;
        size_t n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
            json_object *item = json_object_array_get_idx(arr, i);
            if (!item || !json_object_is_type(item, json_type_object)) {
                continue;
            }
            item_ids(e, item, parent_id, child_key, random_rest);
        }
    }
}

/* generate_ids() for one item (an object) of kind e and what is nested in it. */
static void item_ids(const struct kf_entity *e, json_object *item, const char *parent_id,
                     const char *child_key, bool random_rest)
{
    json_object *idv = NULL;
    bool has_id = kf_has(item, "id", &idv) && (idv || !random_rest);
    if (!has_id) {
        char key[2048], id[37];
        if (uuid_key(e, item, parent_id, child_key, key, sizeof(key))) {
            kf_entity_uuid(e->plural, key, id);
            json_object_object_add(item, "id", json_object_new_string(id));
        } else if (random_rest) {
            kf_uuid4(id);
            json_object_object_add(item, "id", json_object_new_string(id));
        }
    }
    generate_ids(item, e->plural, kf_get_string(item, "id"), random_rest);
}

static bool ids_missing(json_object *input, const char *parent);

/* Whether ids_missing() finds an item without an id in this top-level item of kind e (an
 * object) or in what it nests. */
static bool item_ids_missing(const struct kf_entity *e, json_object *item)
{
    json_object *idv = NULL;
    return !kf_has(item, "id", &idv) || !idv || ids_missing(item, e->plural);
}

/* A copy of doc with Kong's derived ids, as a deep copy and generate_ids(copy, NULL, NULL,
 * false) make it: each top-level entity's copy depends on nothing but the entity, so the memo's
 * copy of an entity it knows is shared (and never changed), and a fresh copy is kept there for
 * the next time. *missing: ids_missing(copy, NULL), from what the memo knows of the copies it
 * keeps (they never change). NULL when out of memory. */
static json_object *view_with_memo(struct kf_vmemo *m, json_object *doc, bool *missing)
{
    *missing = false;
    json_object *view = json_object_new_object();
    if (!view) {
        return NULL;
    }
    json_object_object_foreach(doc, key, val)
    {
        const struct kf_entity *e = kf_entity(key);
        json_object *copy = NULL;
        if (e && val && json_object_is_type(val, json_type_array)) {
            size_t n = json_object_array_length(val);
            copy = json_object_new_array_ext((int)n);
            for (size_t i = 0; copy && i < n; i++) {
                json_object *item = json_object_array_get_idx(val, i);
                bool obj = item && json_object_is_type(item, json_type_object);
                bool complete = false;
                json_object *v = item ? kf_vmemo_view(m, item, &complete) : NULL;
                bool fresh = !v;
                if (fresh && item && json_object_deep_copy(item, &v, NULL) != 0) {
                    json_object_put(copy);
                    copy = NULL;
                    break;
                }
                if (fresh && obj) {
                    item_ids(e, v, NULL, NULL, false);
                    complete = !item_ids_missing(e, v);
                    kf_vmemo_keep_view(m, v, complete);
                }
                *missing = *missing || (obj && !complete);
                if (json_object_array_add(copy, v) != 0) {
                    json_object_put(v);
                    json_object_put(copy);
                    copy = NULL;
                }
            }
            if (!copy) {
                json_object_put(view);
                return NULL;
            }
        } else if (val && json_object_deep_copy(val, &copy, NULL) != 0) {
            json_object_put(view);
            return NULL;
        }
        json_object_object_add(view, key, copy);
    }
    return view;
}

/* Whether generate_ids(input, ..., true) would change a document generate_ids(input, ..., false)
 * has already been through: only an item still without an id, or with a null one, gets one. */
static bool ids_missing(json_object *input, const char *parent)
{
    const struct kf_entity *pe = parent ? kf_entity(parent) : NULL;
    for (const struct kf_entity *e = kf_entities(); e->plural; e++) {
        json_object *arr = NULL;
        if ((parent && !nests(pe, e->plural)) || !kf_has(input, e->plural, &arr) || !arr ||
            !json_object_is_type(arr, json_type_array)) {
            continue;
        }
        size_t n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
            json_object *item = json_object_array_get_idx(arr, i);
            if (!item || !json_object_is_type(item, json_type_object)) {
                continue;
            }
            json_object *idv = NULL;
            if (!kf_has(item, "id", &idv) || !idv || ids_missing(item, e->plural)) {
                return true;
            }
        }
    }
    return false;
}

/* ---- uniqueness and references ------------------------------------------------------------------
 */

struct expected {
    const char *entity;    /* a */
    const char *reference; /* b */
    int ref_kind;          /* b's index in kf_entities() */
    const char *field;     /* k.key */
    json_object *value;    /* k.value (borrowed from the work copy) */
    const char *at;        /* k.at (borrowed from the work copy, or a literal) */
};

/* The maps are per entity kind (index in kf_entities()) and keyed by the value itself, borrowed
 * from the work copy, which outlives them: no key is formatted or copied. One map per kind keyed
 * by the value is the same relation as one map keyed by "entity\x1fvalue" (a plural holds no
 * \x1f). */
struct refs {
    struct kf_vctx *c;
    size_t nkinds;
    struct kgc_strmap *by_id;  /* [kind]: id -> item */
    struct kgc_strmap *by_key; /* [kind]: endpoint key -> item */
    int *rel_kind, *rel_ref;   /* per kf_relations() entry: its entity's and reference's kind */
    bool *nest;                /* [parent kind * nkinds + kind]: nests(parent, kind) */
    struct expected *exp;
    size_t nexp, capexp;
    struct kf_errt *errs;
    bool share; /* the 201 body may share the memo's values (kf_validate_opts) */
};

static int kind_of(const char *plural)
{
    const struct kf_entity *e = plural ? kf_entity(plural) : NULL;
    return e ? (int)(e - kf_entities()) : -1;
}

static json_object *lookup(struct kgc_strmap *maps, int kind, const char *value)
{
    return kind >= 0 && value ? kgc_strmap_get(&maps[kind], value) : NULL;
}

static void remember(struct refs *r, struct kgc_strmap *maps, int kind, const char *value,
                     json_object *item)
{
    if (kgc_strmap_put(&maps[kind], value, item, NULL) != 0) {
        r->c->oom = true;
    }
}

static void uniqueness_error(struct refs *r, struct kf_errt *t, long idx, const char *entity,
                             const char *key, const char *value)
{
    if (!t || kf_errt_set(t, NULL, idx,
                          "uniqueness violation: '%s' entity with %s set to '%s' already declared",
                          entity, key, value) != 0) {
        r->c->oom = true;
    }
}

static void add_expected(struct refs *r, const char *entity, size_t rel_idx, json_object *value,
                         const char *at)
{
    if (r->nexp == r->capexp) {
        size_t cap = r->capexp ? r->capexp * 2 : 32;
        struct expected *ne = realloc(r->exp, cap * sizeof(*ne));
        if (!ne) {
            r->c->oom = true;
            return;
        }
        r->exp = ne;
        r->capexp = cap;
    }
    const struct kf_rel *rel = &kf_relations()[rel_idx];
    r->exp[r->nexp++] =
        (struct expected){entity, rel->reference, r->rel_ref[rel_idx], rel->field, value, at};
}

/* The per-kind tables of r; false when out of memory. */
static bool refs_init(struct refs *r)
{
    size_t nk = 0, nrel = 0;
    while (kf_entities()[nk].plural) {
        nk++;
    }
    while (kf_relations()[nrel].entity) {
        nrel++;
    }
    r->by_id = calloc(nk, sizeof(*r->by_id));
    r->by_key = calloc(nk, sizeof(*r->by_key));
    r->rel_kind = calloc(nrel + 1, sizeof(*r->rel_kind));
    r->rel_ref = calloc(nrel + 1, sizeof(*r->rel_ref));
    r->nest = calloc(nk * nk, sizeof(*r->nest));
    if (!r->by_id || !r->by_key || !r->rel_kind || !r->rel_ref || !r->nest) {
        return false;
    }
    r->nkinds = nk; /* refs_free() destroys this many maps */
    for (size_t k = 0; k < nk; k++) {
        kgc_strmap_init(&r->by_id[k]);
        kgc_strmap_init(&r->by_key[k]);
        for (size_t j = 0; j < nk; j++) {
            r->nest[k * nk + j] = nests(&kf_entities()[k], kf_entities()[j].plural);
        }
    }
    for (size_t i = 0; i < nrel; i++) {
        r->rel_kind[i] = kind_of(kf_relations()[i].entity);
        r->rel_ref[i] = kind_of(kf_relations()[i].reference);
    }
    return true;
}

/* Kong's populate_references: children first, then the item's endpoint key and primary key.
 * parent_kind: the index of parent in kf_entities(), -1 at the top. */
static void populate(struct refs *r, json_object *input, const char *parent, int parent_kind,
                     long parent_idx)
{
    for (const struct kf_entity *e = kf_entities(); e->plural; e++) {
        int kind = (int)(e - kf_entities());
        json_object *arr = NULL;
        if ((parent && !r->nest[(size_t)parent_kind * r->nkinds + (size_t)kind]) ||
            !kf_has(input, e->plural, &arr) || !arr || !json_object_is_type(arr, json_type_array)) {
            continue;
        }
        size_t n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
            json_object *item = json_object_array_get_idx(arr, i);
            if (!item || !json_object_is_type(item, json_type_object)) {
                continue;
            }
            long idx = (long)i + 1;
            populate(r, item, e->plural, kind, idx);
            const char *id = kf_get_string(item, "id");
            const char *key = e->endpoint_key ? kf_get_string(item, e->endpoint_key) : NULL;
            bool failed = false;
            if (key) {
                if (lookup(r->by_key, kind, key)) {
                    /* note: errs[entity][i] even for nested items, as Kong does */
                    uniqueness_error(r, kf_errt_sub(r->errs, e->plural, 0), idx, e->plural,
                                     e->endpoint_key, key);
                    failed = true;
                } else {
                    remember(r, r->by_key, kind, key, item);
                }
            }
            if (id) {
                if (!failed && lookup(r->by_id, kind, id)) {
                    struct kf_errt *t = NULL;
                    if (parent) {
                        struct kf_errt *p = kf_errt_sub(r->errs, parent, 0);
                        struct kf_errt *pi = p ? kf_errt_sub(p, NULL, parent_idx) : NULL;
                        t = pi ? kf_errt_sub(pi, e->plural, 0) : NULL;
                    } else {
                        t = kf_errt_sub(r->errs, e->plural, 0);
                    }
                    uniqueness_error(r, t, idx, e->plural, "primary key", id);
                } else {
                    remember(r, r->by_id, kind, id, item);
                }
            }
            const struct kf_rel *rels = kf_relations();
            for (size_t ri = 0; rels[ri].entity; ri++) {
                json_object *v = NULL;
                if (r->rel_kind[ri] == kind && kf_has(item, rels[ri].field, &v) && v) {
                    add_expected(r, e->plural, ri, v, key ? key : (id ? id : "nil"));
                }
            }
        }
    }
}

static const char *ref_key(json_object *v)
{
    if (kf_is_string(v)) {
        return json_object_get_string(v);
    }
    return kf_get_string(v, "id");
}

static json_object *resolve(struct refs *r, int kind, const char *key)
{
    json_object *found = lookup(r->by_key, kind, key);
    return found ? found : lookup(r->by_id, kind, key);
}

static void check_references(struct refs *r)
{
    for (size_t i = 0; i < r->nexp; i++) {
        const struct expected *x = &r->exp[i];
        if (resolve(r, x->ref_kind, ref_key(x->value))) {
            continue;
        }
        struct kf_errt *a = kf_errt_sub(r->errs, x->entity, 0);
        struct kf_errt *at = a ? kf_errt_sub(a, x->at, 0) : NULL;
        const char *shown = kf_is_string(x->value)
                                ? json_object_get_string(x->value)
                                : json_object_to_json_string_ext(x->value, JSON_C_TO_STRING_PLAIN);
        char *msg = NULL;
        if (!at || asprintf(&msg, "invalid reference '%s: %s' (no such entry in '%s')", x->field,
                            shown, x->reference) < 0) {
            r->c->oom = true;
            continue;
        }
        if (kf_errt_append(at, msg) != 0) {
            r->c->oom = true;
        }
        free(msg);
    }
}

/* Fields with unique = true that are not the endpoint key (whose duplicates populate() reports):
 * consumers.custom_id (kong/db/schema/entities/consumers.lua:26, 3.9.1). Not modelled:
 * ca_certificates.cert_digest (Kong computes it). Kong checks them after the references
 * (declarative_config.lua:859-873) and keys the error by the entry's endpoint key, else its id. */
static void unique_fields(struct refs *r, json_object *work)
{
    static const struct {
        const char *entity, *field;
    } UNIQUE[] = {{"consumers", "custom_id"}};
    for (size_t u = 0; u < sizeof(UNIQUE) / sizeof(UNIQUE[0]); u++) {
        const struct kf_entity *e = kf_entity(UNIQUE[u].entity);
        json_object *arr = NULL;
        if (!e || !kf_has(work, e->plural, &arr) || !arr ||
            !json_object_is_type(arr, json_type_array)) {
            continue;
        }
        struct kgc_strmap seen;
        kgc_strmap_init(&seen);
        size_t n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
            json_object *item = json_object_array_get_idx(arr, i);
            const char *v = kf_get_string(item, UNIQUE[u].field);
            if (!v) {
                continue;
            }
            /* workspaceable: the key is "<ws_id>:<value>" (get_unique_key, :770-779); one
             * workspace here */
            if (kgc_strmap_get(&seen, v)) {
                const char *key = e->endpoint_key ? kf_get_string(item, e->endpoint_key) : NULL;
                key = key ? key : kf_get_string(item, "id");
                struct kf_errt *t = kf_errt_sub(r->errs, e->plural, 0);
                if (!t || !key ||
                    kf_errt_set(t, key, 0,
                                "uniqueness violation: '%s' entity with %s set to '%s' already "
                                "declared",
                                e->plural, UNIQUE[u].field, v) != 0) {
                    r->c->oom = true;
                }
                continue;
            }
            if (kgc_strmap_put(&seen, v, item, NULL) != 0) {
                r->c->oom = true;
                break;
            }
        }
        kgc_strmap_destroy(&seen);
    }
}

static void refs_free(struct refs *r)
{
    for (size_t k = 0; k < r->nkinds; k++) {
        kgc_strmap_destroy(&r->by_id[k]);
        kgc_strmap_destroy(&r->by_key[k]);
    }
    free(r->by_id);
    free(r->by_key);
    free(r->rel_kind);
    free(r->rel_ref);
    free(r->nest);
    free(r->exp);
    kf_errt_free(r->errs);
}

/* ---- the 201 body: {"<entity>": {"<id>": {...}}}
 * --------------------------------------------------- */

static void emit_entities(struct refs *r, json_object *input, const char *parent,
                          const char *parent_id, json_object *out)
{
    const struct kf_entity *pe = parent ? kf_entity(parent) : NULL;
    for (const struct kf_entity *e = kf_entities(); e->plural; e++) {
        json_object *arr = NULL;
        if ((parent && !nests(pe, e->plural)) || !kf_has(input, e->plural, &arr) || !arr ||
            !json_object_is_type(arr, json_type_array)) {
            continue;
        }
        /* a section exists only once it has an entry (flatten's by_id, declarative_config.lua:
         * 837-845): an empty array leaves no key, so "services: []" is an empty config */
        json_object *section = NULL;
        json_object_object_get_ex(out, e->plural, &section);
        size_t n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
            json_object *item = json_object_array_get_idx(arr, i);
            const char *id = kf_get_string(item, "id");
            json_object *flat = NULL;
            if (!id) {
                continue;
            }
            if (!section) {
                section = json_object_new_object();
                if (!section) {
                    continue;
                }
                json_object_object_add(out, e->plural, section);
            }
            /* the item without its nested entities and comments, in the item's key order; the
             * values are shared with the work copy, which kf_validate() drops before it returns,
             * so the 201 body ends up their only holder -- unless they are the memo's, which
             * lives on (and json-c's reference counts are not atomic): then copied, unless the
             * caller releases the body under the memo's exclusion (share_memo_values) */
            flat = json_object_new_object();
            if (!flat) {
                continue;
            }
            json_object_object_foreach(item, fkey, fval)
            {
                if (nests(e, fkey) || strcmp(fkey, "_comment") == 0 ||
                    strcmp(fkey, "_ignore") == 0) {
                    continue;
                }
                json_object *v = NULL;
                if (!r->c->memo || r->share) {
                    v = json_object_get(fval);
                } else if (fval && json_object_deep_copy(fval, &v, NULL) != 0) {
                    r->c->oom = true;
                    continue;
                }
                json_object_object_add(flat, fkey, v);
            }
            int kind = (int)(e - kf_entities());
            const struct kf_rel *rels = kf_relations();
            for (size_t ri = 0; rels[ri].entity; ri++) {
                const struct kf_rel *rel = &rels[ri];
                json_object *v = NULL;
                if (r->rel_kind[ri] != kind) {
                    continue;
                }
                if (parent && strcmp(rel->reference, parent) == 0) {
                    json_object *fk = json_object_new_object();
                    json_object_object_add(fk, "id", json_object_new_string(parent_id));
                    json_object_object_add(flat, rel->field, fk);
                } else if (kf_has(flat, rel->field, &v) && v) {
                    json_object *found = resolve(r, r->rel_ref[ri], ref_key(v));
                    const char *fid = found ? kf_get_string(found, "id") : NULL;
                    if (fid) {
                        json_object *fk = json_object_new_object();
                        json_object_object_add(fk, "id", json_object_new_string(fid));
                        json_object_object_add(flat, rel->field, fk);
                    }
                }
            }
            json_object_object_add(section, id, flat);
            emit_entities(r, item, e->plural, id, out);
        }
    }
}

/* Whether emit_entities(input) adds anything: an item is emitted when it has a string id (and
 * only then are its children visited). */
static bool has_entities(json_object *input)
{
    for (const struct kf_entity *e = kf_entities(); e->plural; e++) {
        json_object *arr = NULL;
        if (!kf_has(input, e->plural, &arr) || !arr || !json_object_is_type(arr, json_type_array)) {
            continue;
        }
        size_t n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
            if (kf_get_string(json_object_array_get_idx(arr, i), "id")) {
                return true;
            }
        }
    }
    return false;
}

/* ---- flattened errors (kong.db.errors declarative_config_flattened)
 * ------------------------------- */

static void add_entity_errors(struct kf_vctx *c, const char *entity_type, json_object *entity,
                              struct kf_errv err, json_object *flattened);

static char *join(const char *ns, const struct kf_errkey *k)
{
    char *s = NULL;
    int rc = k->skey ? asprintf(&s, "%s%s%s", ns ? ns : "", ns ? "." : "", k->skey)
                     : asprintf(&s, "%s%s%ld", ns ? ns : "", ns ? "." : "", k->ikey);
    return rc < 0 ? NULL : s;
}

static void add_error_entry(struct kf_vctx *c, json_object *out, const char *type,
                            const char *field, const char *message)
{
    json_object *e = json_object_new_object();
    if (!e) {
        c->oom = true;
        return;
    }
    json_object_object_add(e, "type", json_object_new_string(type));
    if (field) {
        json_object_object_add(e, "field", json_object_new_string(field));
    }
    json_object_object_add(e, "message", json_object_new_string(message));
    json_object_array_add(out, e);
}

static void add_entity_error_list(struct kf_vctx *c, const struct kf_errv *v, json_object *out)
{
    if (v->str) {
        add_error_entry(c, out, "entity", NULL, v->str);
        return;
    }
    for (long i = 1; v->tab; i++) {
        const struct kf_errv *m = kf_errt_get(v->tab, NULL, i);
        if (!m) {
            break;
        }
        add_entity_error_list(c, m, out);
    }
}

/* categorize_errors: drains errs in reverse key order. */
static void categorize(struct kf_vctx *c, struct kf_errt *errs, const char *ns, json_object *out)
{
    struct kf_errkey *keys = NULL;
    size_t n = 0;
    if (kf_errt_keys(errs, &keys, &n) != 0) {
        c->oom = true;
        return;
    }
    for (size_t i = n; i > 0; i--) {
        const struct kf_errkey *k = &keys[i - 1];
        struct kf_errv v = kf_errt_take(errs, k->skey, k->ikey);
        if (k->skey && strcmp(k->skey, "@entity") == 0) {
            add_entity_error_list(c, &v, out);
        } else {
            char *field = join(ns, k);
            if (!field) {
                c->oom = true;
            } else if (v.str) {
                add_error_entry(c, out, "field", field, v.str);
            } else if (v.tab) {
                categorize(c, v.tab, field, out);
            }
            free(field);
        }
        kf_errv_free(&v);
    }
    kf_errkeys_free(keys, n);
}

static json_object *make_pk(json_object *entity)
{
    const char *id = kf_get_string(entity, "id");
    if (!id || !kf_is_uuid(id)) {
        return NULL;
    }
    json_object *pk = json_object_new_object();
    if (pk) {
        json_object_object_add(pk, "id", json_object_new_string(id));
    }
    return pk;
}

static const char *singular(const char *plural, char *buf, size_t n)
{
    snprintf(buf, n, "%s", plural);
    size_t len = strlen(buf);
    if (len > 0 && buf[len - 1] == 's') {
        buf[len - 1] = '\0';
    }
    return buf;
}

static json_object *copy_of(json_object *v)
{
    json_object *c = NULL;
    if (v && json_object_deep_copy(v, &c, NULL) != 0) {
        return NULL;
    }
    return c;
}

/* Takes ownership of entity and err. */
static void add_entity_errors(struct kf_vctx *c, const char *entity_type, json_object *entity,
                              struct kf_errv err, json_object *flattened)
{
    struct kf_errt *errs = err.tab;
    if (err.str) {
        errs = kf_errt_new();
        if (!errs || kf_errt_put(errs, "@entity", 0, (struct kf_errv){.str = err.str}) != 0) {
            c->oom = true;
            kf_errt_free(errs);
            json_object_put(entity);
            return;
        }
    }
    if (!errs || kf_errt_count(errs) == 0 || !entity ||
        !json_object_is_type(entity, json_type_object)) {
        kf_errt_free(errs);
        json_object_put(entity);
        return;
    }
    json_object *pk = make_pk(entity);
    for (const struct kf_rel *rel = kf_relations(); rel->entity; rel++) {
        if (strcmp(rel->entity, entity_type) == 0) {
            /* an owned one-to-one relation given inline: flatten it as its own entity */
            json_object *fv = NULL;
            if (kf_has(entity, rel->field, &fv) && fv &&
                json_object_is_type(fv, json_type_object)) {
                json_object *inner = copy_of(fv);
                json_object *fpk = make_pk(fv);
                if (fpk) {
                    json_object_object_add(entity, rel->field, fpk);
                } else {
                    json_object_object_del(entity, rel->field);
                }
                add_entity_errors(c, rel->reference, inner, kf_errt_take(errs, rel->field, 0),
                                  flattened);
            }
        }
        if (strcmp(rel->reference, entity_type) == 0) {
            /* nested children: each gets its own entry, with our primary key */
            json_object *fv = NULL;
            if (!kf_has(entity, rel->entity, &fv) || !fv ||
                !(json_object_is_type(fv, json_type_array) ||
                  json_object_is_type(fv, json_type_object))) {
                continue;
            }
            json_object *children = json_object_get(fv);
            json_object_object_del(entity, rel->entity);
            struct kf_errv ferr = kf_errt_take(errs, rel->entity, 0);
            size_t n = json_object_is_type(children, json_type_array)
                           ? json_object_array_length(children)
                           : 0;
            for (size_t i = 0; ferr.tab && i < n; i++) {
                json_object *item = copy_of(json_object_array_get_idx(children, i));
                if (!item || !json_object_is_type(item, json_type_object)) {
                    json_object_put(item);
                    continue;
                }
                if (!kf_has(item, rel->field, NULL) && pk) {
                    json_object_object_add(item, rel->field, copy_of(pk));
                }
                add_entity_errors(c, rel->entity, item, kf_errt_take(ferr.tab, NULL, (long)i + 1),
                                  flattened);
            }
            kf_errv_free(&ferr);
            json_object_put(children);
        }
    }
    json_object_put(pk);
    if (kf_errt_count(errs) == 0) {
        kf_errt_free(errs);
        json_object_put(entity);
        return;
    }
    json_object *list = json_object_new_array();
    if (!list) {
        c->oom = true;
        kf_errt_free(errs);
        json_object_put(entity);
        return;
    }
    categorize(c, errs, NULL, list);
    kf_errt_free(errs);
    if (json_object_array_length(list) == 0) {
        json_object_put(list);
        json_object_put(entity);
        return;
    }
    json_object *e = json_object_new_object();
    if (!e) {
        c->oom = true;
        json_object_put(list);
        json_object_put(entity);
        return;
    }
    char type[64];
    json_object_object_add(e, "entity_type",
                           json_object_new_string(singular(entity_type, type, sizeof(type))));
    const char *name = kf_get_string(entity, "name");
    if (name && *name) {
        json_object_object_add(e, "entity_name", json_object_new_string(name));
    }
    const char *id = kf_get_string(entity, "id");
    if (id && kf_is_uuid(id)) {
        json_object_object_add(e, "entity_id", json_object_new_string(id));
    }
    json_object *tags = NULL;
    if (kf_has(entity, "tags", &tags) && tags && json_object_is_type(tags, json_type_array)) {
        bool all_strings = true;
        for (size_t i = 0; i < json_object_array_length(tags); i++) {
            all_strings &= kf_is_string(json_object_array_get_idx(tags, i));
        }
        if (all_strings) {
            json_object_object_add(e, "entity_tags", copy_of(tags));
        }
    }
    json_object_object_add(e, "entity", entity);
    json_object_object_add(e, "errors", list);
    json_object_array_add(flattened, e);
}

/* flatten_errors: moves what it can attribute to an entity of input into the returned array;
 * what it cannot stays in err_t (or is dropped, as Kong drops it). */
static json_object *flatten(struct kf_vctx *c, json_object *input, struct kf_errt *err_t)
{
    json_object *flattened = json_object_new_array();
    struct kf_errkey *keys = NULL;
    size_t n = 0;
    if (!flattened || kf_errt_keys(err_t, &keys, &n) != 0) {
        c->oom = true;
        json_object_put(flattened);
        return NULL;
    }
    for (size_t i = n; i > 0; i--) {
        const struct kf_errkey *k = &keys[i - 1];
        struct kf_errv section = kf_errt_take(err_t, k->skey, k->ikey);
        json_object *entities = NULL;
        bool attributable = section.tab && k->skey && kf_has(input, k->skey, &entities) &&
                            entities &&
                            (json_object_is_type(entities, json_type_array) ||
                             json_object_is_type(entities, json_type_object));
        if (!attributable) {
            if (kf_errt_put(err_t, k->skey, k->ikey, section) != 0) { /* put it back */
                c->oom = true;
            }
            continue;
        }
        struct kf_errkey *ik = NULL;
        size_t ni = 0;
        if (kf_errt_keys(section.tab, &ik, &ni) != 0) {
            c->oom = true;
            kf_errv_free(&section);
            continue;
        }
        for (size_t j = ni; j > 0; j--) {
            struct kf_errv ev = kf_errt_take(section.tab, ik[j - 1].skey, ik[j - 1].ikey);
            json_object *entity = NULL;
            if (!ik[j - 1].skey && json_object_is_type(entities, json_type_array) &&
                ik[j - 1].ikey >= 1 &&
                (size_t)ik[j - 1].ikey <= json_object_array_length(entities)) {
                entity = json_object_array_get_idx(entities, (size_t)ik[j - 1].ikey - 1);
            }
            if (entity && json_object_is_type(entity, json_type_object)) {
                add_entity_errors(c, k->skey, copy_of(entity), ev, flattened);
            } else {
                kf_errv_free(&ev); /* Kong puts it back into a table it no longer holds */
            }
        }
        kf_errkeys_free(ik, ni);
        kf_errv_free(&section);
    }
    kf_errkeys_free(keys, n);
    return flattened;
}

/* ---- bodies
 * ---------------------------------------------------------------------------------------- */

static json_object *error_body(struct kf_vctx *c, struct kf_errt *err_t, json_object *flattened)
{
    char *pretty = kf_errt_pretty(err_t);
    json_object *fields = kf_errt_to_json(err_t);
    json_object *body = json_object_new_object();
    char *message = NULL;
    if (!pretty || !fields || !body ||
        asprintf(&message, "declarative config is invalid: %s", pretty) < 0) {
        c->oom = true;
        free(pretty);
        json_object_put(fields);
        json_object_put(body);
        json_object_put(flattened);
        return NULL;
    }
    json_object_object_add(body, "code", json_object_new_int(14));
    json_object_object_add(body, "name",
                           json_object_new_string("invalid declarative configuration"));
    json_object_object_add(body, "message", json_object_new_string(message));
    json_object_object_add(body, "fields", fields);
    if (flattened) {
        json_object_object_add(body, "flattened_errors", flattened);
    }
    free(message);
    free(pretty);
    return body;
}

json_object *kf_declarative_error_body(const char *msg, bool flattened)
{
    struct kf_errt *t = kf_errt_new();
    struct kf_vctx c = {0};
    if (!t || kf_errt_set(t, "error", 0, "%s", msg) != 0) {
        kf_errt_free(t);
        return NULL;
    }
    json_object *body = error_body(&c, t, flattened ? json_object_new_array() : NULL);
    kf_errt_free(t);
    return body;
}

static int reject(struct kf_vctx *c, const struct kf_validate_opts *opts, json_object *input,
                  struct kf_errt *errs, json_object **error_body_out)
{
    json_object *flattened = opts && opts->flatten_errors ? flatten(c, input, errs) : NULL;
    json_object *body = c->oom ? NULL : error_body(c, errs, flattened);
    if (!body) {
        if (!c->oom) {
            json_object_put(flattened);
        }
        return KGC_ENOMEM;
    }
    if (error_body_out) {
        *error_body_out = body;
    } else {
        json_object_put(body);
    }
    return KGC_EINVAL;
}

int kf_validate(json_object *doc, const struct kf_validate_opts *opts, json_object **entities,
                json_object **error_body_out)
{
    if (entities) {
        *entities = NULL;
    }
    if (error_body_out) {
        *error_body_out = NULL;
    }
    if (!doc || !json_object_is_type(doc, json_type_object)) {
        json_object *body = kf_declarative_error_body(
            "failed parsing declarative configuration: expected an object",
            opts && opts->flatten_errors);
        if (!body) {
            return KGC_ENOMEM;
        }
        if (error_body_out) {
            *error_body_out = body;
        } else {
            json_object_put(body);
        }
        return KGC_EINVAL;
    }
    struct kf_vctx c = {.plugins = (opts && opts->plugins) ? opts->plugins : kf_default_plugins()};
    const char *flavor =
        opts && opts->router_flavor ? opts->router_flavor : "traditional_compatible";
    c.flavor = strcmp(flavor, "traditional") == 0 ? 0 : strcmp(flavor, "expressions") == 0 ? 2 : 1;

    /* 1. the schema */
    if (opts && opts->memo) {
        c.memo = opts->memo;
        kf_vmemo_begin(c.memo, c.plugins, c.flavor);
    }
    struct kf_errt *errs = validate_doc(&c, doc);
    if (c.memo) {
        kf_vmemo_end(c.memo);
    }
    if (!errs || c.oom) {
        kf_errt_free(errs);
        return KGC_ENOMEM;
    }
    if (kf_errt_count(errs) > 0) {
        int rc = reject(&c, opts, doc, errs, error_body_out);
        kf_errt_free(errs);
        return rc;
    }
    kf_errt_free(errs);

    /* 2. ids (the flattened errors see Kong's derived ids), uniqueness, references */
    json_object *view = NULL, *work = NULL;
    bool missing = false;
    if (c.memo) {
        if (!(view = view_with_memo(c.memo, doc, &missing))) {
            return KGC_ENOMEM;
        }
    } else if (json_object_deep_copy(doc, &view, NULL) != 0) {
        return KGC_ENOMEM;
    } else {
        generate_ids(view, NULL, NULL, false);
        missing = ids_missing(view, NULL);
    }
    if (!missing) {
        work = json_object_get(view); /* the random pass would add nothing: share the copy */
    } else if (json_object_deep_copy(view, &work, NULL) != 0) {
        json_object_put(view);
        return KGC_ENOMEM;
    } else {
        generate_ids(work, NULL, NULL, true);
    }
    struct refs r = {.c = &c, .errs = kf_errt_new(), .share = opts && opts->share_memo_values};
    int rc = 0;
    if (!r.errs || !refs_init(&r)) {
        rc = KGC_ENOMEM;
        goto out;
    }
    populate(&r, work, NULL, -1, 0);
    check_references(&r);
    if (c.oom) {
        rc = KGC_ENOMEM;
        goto out;
    }
    if (kf_errt_count(r.errs) > 0) {
        rc = reject(&c, opts, view, r.errs, error_body_out);
        goto out;
    }
    unique_fields(&r, work);
    if (c.oom) {
        rc = KGC_ENOMEM;
        goto out;
    }
    if (kf_errt_count(r.errs) > 0) {
        rc = reject(&c, opts, view, r.errs, error_body_out);
        goto out;
    }
    if (opts && opts->accepted) {
        opts->accepted(opts->accepted_arg, !has_entities(work));
    }
    if (entities) {
        json_object *out = json_object_new_object();
        if (!out) {
            rc = KGC_ENOMEM;
            goto out;
        }
        emit_entities(&r, work, NULL, NULL, out);
        *entities = out;
    }
out:
    refs_free(&r);
    json_object_put(work);
    json_object_put(view);
    return rc;
}

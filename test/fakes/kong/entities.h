/* entities — the core entities as the declarative configuration knows them: their schemas
 * (entities.c) and relations. Internal to test/fakes/kong/. */
#ifndef KGC_TEST_KONG_ENTITIES_H
#define KGC_TEST_KONG_ENTITIES_H

#include "schema.h"

struct kf_entity {
    const char *plural;             /* "services": the top-level key and error-table key */
    const char *singular;           /* "service": flattened errors' entity_type */
    const char *endpoint_key;       /* unique endpoint key (uniqueness, ids), or NULL */
    const char *const *cache_key;   /* fields of the cache key (ids), or NULL */
    const char *const *children;    /* entity arrays that may be nested in this one */
    const struct kf_record *record; /* the schema, or NULL when chosen per object */
};

/* A foreign key: entity.field references reference. */
struct kf_rel {
    const char *entity;
    const char *field;
    const char *reference;
};

/* All entities in Kong's topological order (parents first), terminated by plural == NULL. */
const struct kf_entity *kf_entities(void);

/* The entity with this plural name, or NULL. */
const struct kf_entity *kf_entity(const char *plural);

/* All foreign keys, terminated by entity == NULL. */
const struct kf_rel *kf_relations(void);

/* True when child entities may be nested in a parent entity (services -> routes, ...). */
bool kf_is_child(const char *parent, const char *child);

/* The field of child that references parent ("service" for services -> routes), or NULL. */
const char *kf_child_key(const char *parent, const char *child);

/* The schema for obj (routes and plugins depend on the object: subschemas). */
const struct kf_record *kf_entity_record(struct kf_vctx *c, const struct kf_entity *e,
                                         json_object *obj);

/* The routes subschema a route's protocols select ("http", "tcp" or "grpc": the first protocol
 * that names one, get_subschema in kong/db/schema/init.lua:1099-1117), "http" when protocols is
 * absent (its default), NULL when none does. */
const char *kf_route_subschema(json_object *route);

/* Kong's answer when an entity's subschema cannot be chosen (Schema:validate,
 * kong/db/schema/init.lua:2111-2126): the whole entity's errors are then just this one field.
 * Returns false when the subschema is known; else true with *field and msg filled. */
bool kf_subschema_error(struct kf_vctx *c, const char *plural, json_object *obj, const char **field,
                        char *msg, size_t msz);

/* Validates a plugin's config (plugin subschema) into errs["config"]. */
void kf_plugin_config(struct kf_vctx *c, json_object *plugin, json_object *config,
                      struct kf_errt *errs);

/* The memo's steps (vmemo.c; struct kf_vmemo in kong_fake.h). Schema pass: begin() starts a
 * validation under these settings (entries from other settings are dropped); seen() tells
 * whether this top-level entity of kind plural is one found valid before (and keeps it for the
 * next validation); add_last() remembers the entity seen() was last asked about (item) as
 * valid (of kind plural); end() drops the entries this validation did not use. Ids pass, over the
 * top-level entities in the same order: view() returns a new reference to the copy with derived ids
 * kept for item, or NULL, and in *complete what keep_view() was told with it (whether every item in
 * the copy has an id); after a NULL, keep_view() keeps the copy the caller made (when the memo
 * has the entity). Kept copies are shared and must never be changed. */
struct kf_vmemo;
void kf_vmemo_begin(struct kf_vmemo *m, const char *const *plugins, int flavor);
bool kf_vmemo_seen(struct kf_vmemo *m, const char *plural, json_object *item);
void kf_vmemo_add_last(struct kf_vmemo *m, const char *plural, json_object *item);
void kf_vmemo_end(struct kf_vmemo *m);
json_object *kf_vmemo_view(struct kf_vmemo *m, json_object *item, bool *complete);
void kf_vmemo_keep_view(struct kf_vmemo *m, json_object *view, bool complete);

#endif

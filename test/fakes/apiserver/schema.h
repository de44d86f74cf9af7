/* schema — structural OpenAPI v3 schema processing the way the API server applies a CRD's
 * openAPIV3Schema to custom resources: pruning of unknown fields, defaulting (walking the schema,
 * `default` values deep-copied where a field is missing or a non-nullable null), and validation of
 * type, enum, required, minimum/maximum, minLength/maxLength, minItems/maxItems, pattern and
 * x-kubernetes-int-or-string. Not done: anyOf/oneOf/allOf/not, format, CEL rules. */
#ifndef FAS_SCHEMA_H
#define FAS_SCHEMA_H

#include "kgc/strmap.h"

#include <json-c/json.h>
#include <stddef.h>

/* Compiled `pattern` regular expressions, cached by source text, each with the outcome of its
 * last few matches (a few short values; bounded). Not thread-safe (the store uses it under its
 * lock). */
struct fas_schema_ctx {
    struct kgc_strmap patterns; /* pattern text -> struct fas_pattern * (owned) */
    void *match_data;           /* one pcre2_match_data reused for every match */
};

void fas_schema_ctx_init(struct fas_schema_ctx *ctx);
void fas_schema_ctx_destroy(struct fas_schema_ctx *ctx);

/* Removes the fields of obj that schema does not define (root apiVersion, kind and metadata are
 * kept). When unknown is an array, each removed field's path ("spec.foo") is appended. Returns 0
 * or KGC_ENOMEM. schema NULL: nothing is pruned. */
int fas_schema_prune(json_object *obj, json_object *schema, json_object *unknown);

/* Applies the schema's defaults to obj in place (and drops non-nullable nulls without default). */
int fas_schema_default(json_object *obj, json_object *schema);

/* Validates obj against schema; appends {reason, message, field} causes to causes. Returns the
 * number of problems found (0: valid). Root metadata is not validated here. */
int fas_schema_validate(struct fas_schema_ctx *ctx, json_object *obj, json_object *schema,
                        json_object *causes);

/* The same three on a root object of which only member `only` ("status") may differ from a
 * version already pruned, defaulted and validated without a problem under the same schema: the
 * root's own rules (required, maxProperties, root defaults of `only`) are applied and only `only`
 * is walked. The result equals the whole walk's, since the three are per-member below the root
 * and the others are their own fixed points (prune and default) or known valid. only NULL: the
 * whole walk. */
int fas_schema_prune_only(json_object *obj, json_object *schema, json_object *unknown,
                          const char *only);
int fas_schema_default_only(json_object *obj, json_object *schema, const char *only);
int fas_schema_validate_only(struct fas_schema_ctx *ctx, json_object *obj, json_object *schema,
                             json_object *causes, const char *only);

#endif

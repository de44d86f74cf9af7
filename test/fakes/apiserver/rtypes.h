/* rtypes — the resource types the server serves. Built-in kinds come from one table (a line per
 * kind); custom resources come from CustomResourceDefinitions at run time. Both are served by the
 * same code through struct fas_rtype. */
#ifndef FAS_RTYPES_H
#define FAS_RTYPES_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct fas_obj;
struct fas_watch;

/* One served version of a resource type. */
struct fas_rversion {
    char *name;           /* "v1" */
    char *api_version;    /* "group/v1" or "v1" for the core group */
    bool served;          /* requests to this version are answered */
    bool storage;         /* the version objects are stored in */
    bool has_status;      /* the /status subresource exists in this version */
    json_object *schema;  /* openAPIV3Schema (owned), NULL: anything goes */
    json_object *columns; /* additionalPrinterColumns (owned), NULL: NAME and AGE only */
    uint64_t schema_gen;  /* this version's schema's identity, never reused (struct fas_obj) */
};

/* A resource type: (group, plural) with its versions. Owned by the store; fields are read and
 * changed only under the store lock. */
struct fas_rtype {
    char *group;     /* "" for the core group */
    char *kind;      /* "Gateway" */
    char *list_kind; /* "GatewayList" */
    char *plural;    /* "gateways" */
    char *singular;  /* "gateway" */
    bool namespaced;
    bool has_generation;       /* metadata.generation is kept (1 on create, +1 per spec change) */
    bool unconditional_update; /* PUT without metadata.resourceVersion is allowed */
    bool builtin;              /* from the built-in table (never removed) */
    json_object *short_names;  /* array of strings (owned) */
    json_object *categories;   /* array of strings (owned) */
    struct fas_rversion *versions; /* sorted by Kubernetes version priority, highest first */
    size_t n_versions;
    bool removed; /* its CRD was deleted: no longer served, kept until shutdown */

    /* Objects, sorted by key ("ns/name" or "name"); owned references. */
    struct fas_obj **objs;
    size_t n_objs;
    size_t cap_objs;
    /* Open watches on this type (doubly linked through the watch). */
    struct fas_watch *watches;
    struct fas_rtype *next; /* registry list */
};

/* The built-in kinds, one line each. */
struct fas_builtin {
    const char *group, *version, *kind, *plural, *singular;
    bool namespaced, status, generation;
    const char *short_names; /* comma-separated */
    const char *categories;  /* comma-separated */
    const char *schema;      /* JSON text of an openAPIV3Schema (defaults applied to built-ins) */
    const char *columns;     /* JSON additionalPrinterColumns for `kubectl get`, or NULL */
};

/* The table and its length. */
const struct fas_builtin *fas_builtins(size_t *n);

/* A new resource type from a built-in line; NULL on allocation failure. */
struct fas_rtype *fas_rtype_from_builtin(const struct fas_builtin *b);

/* A new resource type from a CRD object. On a bad CRD returns NULL and fills field/msg with the
 * first problem (for a 422); on allocation failure returns NULL with msg "out of memory". */
struct fas_rtype *fas_rtype_from_crd(json_object *crd, char *field, size_t fieldsz, char *msg,
                                     size_t msgsz);

/* Replaces dst's definition (names, versions, schemas) with src's, keeping dst's objects and
 * watches; src is freed. */
void fas_rtype_redefine(struct fas_rtype *dst, struct fas_rtype *src);

/* Frees the type's definition (not its objects or watches, which must be gone). */
void fas_rtype_free(struct fas_rtype *rt);

/* The served version named v, or NULL. */
struct fas_rversion *fas_rtype_version(const struct fas_rtype *rt, const char *v);

/* The storage version (never NULL for a valid type). */
struct fas_rversion *fas_rtype_storage(const struct fas_rtype *rt);

/* Kubernetes version priority: < 0 when a sorts before b (GA > beta > alpha, higher first, then
 * non-Kubernetes-like names alphabetically). */
int fas_version_compare(const char *a, const char *b);

#endif

/* table — meta.k8s.io/v1 Table answers (what `kubectl get` asks for): a Name column, the CRD's
 * additionalPrinterColumns (simple JSONPath: .a.b, [N], [*], [?(@.k=="v")]) or an Age column, and
 * each row's object as PartialObjectMetadata. */
#ifndef FAS_TABLE_H
#define FAS_TABLE_H

#include "objstore.h"

#include <stdbool.h>
#include <stddef.h>

/* The Table JSON for objs (malloc'd; NULL on allocation failure). rv and cont go to the list
 * metadata (cont may be NULL). */
char *fas_table_render(const struct fas_rtype *rt, const struct fas_rversion *ver,
                       struct fas_obj *const *objs, size_t n, const char *rv, const char *cont,
                       size_t *len);

/* The human-readable age the real server prints ("5s", "3m20s", "2d4h", ...) for a duration. */
void fas_human_duration(long long seconds, char *buf, size_t size);

/* Evaluates a printer-column JSONPath on obj; the first result (borrowed) or NULL. */
json_object *fas_jsonpath_first(json_object *obj, const char *path);

#endif

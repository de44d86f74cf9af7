/* patch — the patch formats the API server accepts, applied to json-c trees:
 *   RFC 7386 JSON merge patch, RFC 6902 JSON patch, and an approximation of Kubernetes strategic
 *   merge patch (lists of maps merged by a per-field merge key, $patch / $retainKeys /
 *   $setElementOrder / $deleteFromPrimitiveList directives).
 * Each takes ownership of *doc and leaves the result (possibly another object) in *doc. */
#ifndef FAS_PATCH_H
#define FAS_PATCH_H

#include <json-c/json.h>
#include <stddef.h>

/* RFC 7386: objects merge member by member, null deletes, anything else replaces. patch is
 * borrowed. Returns 0 or KGC_ENOMEM. */
int fas_merge_patch(json_object **doc, json_object *patch);

/* RFC 6902: ops is an array of {op, path, value, from}. On failure *doc may be partly patched
 * (pass a copy) and err says why; returns KGC_EINVAL (bad patch or failed test) or KGC_ENOMEM. */
int fas_json_patch(json_object **doc, json_object *ops, char *err, size_t errsz);

/* Strategic merge patch, approximated: see the file comment. */
int fas_strategic_merge_patch(json_object **doc, json_object *patch, char *err, size_t errsz);

/* The merge key the strategic merge patch uses for list field `field` whose first element is
 * `sample` (NULL: a list of scalars or no merge key, i.e. replace). Exposed for tests. */
const char *fas_smp_merge_key(const char *field, json_object *sample);

#endif

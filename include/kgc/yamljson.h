/* yamljson — one YAML document to a json-c value, the way Kong's controller reads a Kong plugin's
 * configuration from a Secret (KongPlugin configFrom).
 *
 * Kong's controller (kubernetes-ingress-controller v3.5.9,
 * internal/dataplane/kongstate/plugin.go:301-308) tries JSON first, then sigs.k8s.io/yaml
 * v1.5.0, which decodes with go.yaml.in/yaml/v2 v2.4.2 (go.mod:66,90) and converts the result to
 * JSON. Plain scalars resolve as that decoder's resolve.go does (YAML 1.1; yaml/go-yaml tag
 * v2.4.2, resolve.go:32-48 (the table) and 86-196 (resolve)):
 *   - null: "", "~", null, Null, NULL;
 *   - booleans: y Y yes Yes YES true True TRUE on On ON / n N no No NO false False FALSE off Off
 * OFF;
 *   - integers: Go's strconv.ParseInt(text without '_', base 0): decimal, 0x.., 0o.., 0b.., a
 *     leading 0 for octal, an optional sign; beyond int64, ParseUint; "0b"/"-0b" binary;
 *   - floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? and a leading '.';
 *     .inf/.nan forms are refused (JSON has no such number, and Go's JSON encoder refuses them);
 *   - anything else, and every quoted or block scalar, is a string; a scalar with a tag other
 *     than the core ones (!!null, !!bool, !!int, !!float) is a string too.
 * Mapping keys become strings (booleans "true"/"false", null "null", numbers as written).
 *
 * Differences, each refused with a clear error rather than guessed: aliases and merge keys
 * ("<<"), more than one document, timestamps are kept as the text written (the Go decoder turns
 * a plain 2001-12-14 into "2001-12-14T00:00:00Z"), non-scalar mapping keys.
 *
 * Bounded: at most max_values values and max_depth levels of nesting (the text's size is the
 * caller's bound); no alias can multiply the input. Pure; any thread. */
#ifndef KGC_YAMLJSON_H
#define KGC_YAMLJSON_H

#include "kgc/err.h"

#include <stddef.h>

#include <json-c/json.h>

#define KGC_YAMLJSON_MAX_VALUES 10000u
#define KGC_YAMLJSON_MAX_DEPTH  64u

/* Parses len bytes of YAML (one document) into *out (a new json-c value the caller puts).
 * Returns 0, KGC_EPARSE (syntax, an unsupported construct, a limit: err says which, with the
 * line; never quoting the text, which may be a secret) or KGC_ENOMEM. An empty document gives
 * JSON null. */
int kgc_yamljson_parse(const char *text, size_t len, json_object **out, struct kgc_err *err);

#endif

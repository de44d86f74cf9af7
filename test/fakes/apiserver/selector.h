/* selector — Kubernetes label selectors (`k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`,
 * `k`, `!k`, `k>n`, `k<n`) and field selectors (`f=v`, `f==v`, `f!=v`, with `\` escapes), parsed
 * once and matched against any key -> value lookup. */
#ifndef FAS_SELECTOR_H
#define FAS_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

enum fas_sel_op {
    FAS_SEL_EQ,     /* k=v, k==v */
    FAS_SEL_NE,     /* k!=v: also true when k is absent */
    FAS_SEL_IN,     /* k in (...) */
    FAS_SEL_NOTIN,  /* k notin (...): also true when k is absent */
    FAS_SEL_EXISTS, /* k */
    FAS_SEL_ABSENT, /* !k */
    FAS_SEL_GT,     /* k>n (integer compare) */
    FAS_SEL_LT,     /* k<n */
};

struct fas_sel_req {
    char *key;
    enum fas_sel_op op;
    char **values; /* n_values malloc'd strings */
    size_t n_values;
};

/* A parsed selector: every requirement must hold (AND). An empty selector matches everything. */
struct fas_selector {
    struct fas_sel_req *reqs;
    size_t n_reqs;
};

/* The value of key in the thing being matched, or NULL when absent. */
typedef const char *(*fas_sel_lookup_fn)(void *ctx, const char *key);

/* Parse a label selector. Returns 0 and *out (free with fas_selector_free; NULL for an empty
 * string), or KGC_EINVAL with a message in err. */
int fas_label_selector_parse(const char *s, struct fas_selector **out, char *err, size_t errsz);

/* Parse a field selector. When allowed (NULL-terminated) is not NULL, a key outside it is an
 * error worded as the real server words it. */
int fas_field_selector_parse(const char *s, const char *const *allowed, struct fas_selector **out,
                             char *err, size_t errsz);

/* True when every requirement holds. sel NULL matches everything. */
bool fas_selector_matches(const struct fas_selector *sel, fas_sel_lookup_fn lookup, void *ctx);

/* When sel requires key == one value (k=v or k in (v)), that value, else NULL. Borrowed. */
const char *fas_selector_exact(const struct fas_selector *sel, const char *key);

void fas_selector_free(struct fas_selector *sel);

#endif

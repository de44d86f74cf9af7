/* From Kong back to Kubernetes: the problems of one object, the status hook that turns a route's
 * problems into its Accepted/PartiallyInvalid verdict, and the owner of a Kong entity named in one
 * of Kong's flattened errors. */
#include "translate_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *kgc_translate_severity_name(enum kgc_translate_severity s)
{
    switch (s) {
    case KGC_TRANSLATE_NOTE:
        return "note";
    case KGC_TRANSLATE_LIMITATION:
        return "limitation";
    case KGC_TRANSLATE_DEGRADED:
        return "degraded";
    case KGC_TRANSLATE_DROPPED:
        return "dropped";
    }
    return "unknown";
}

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

/* Orders by object (kind, namespace, name) only. */
static int cmp_object(const struct kgc_translate_problem *p, enum kgc_api_kind kind, const char *ns,
                      const char *name)
{
    if (p->kind != kind)
        return p->kind < kind ? -1 : 1;
    int r = cmp_str(p->namespace, ns);
    return r ? r : cmp_str(p->name, name);
}

static int cmp_problem(const void *a, const void *b)
{
    const struct kgc_translate_problem *x = a, *y = b;
    int r = cmp_object(x, y->kind, y->namespace, y->name);
    if (r)
        return r;
    if (x->rule != y->rule)
        return x->rule < y->rule ? -1 : 1;
    if (x->match != y->match)
        return x->match < y->match ? -1 : 1;
    if (x->severity != y->severity)
        return x->severity > y->severity ? -1 : 1;
    return cmp_str(x->message, y->message);
}

void tr_sort_problems(struct kgc_translate_problem *p, size_t n)
{
    if (n > 1)
        qsort(p, n, sizeof(*p), cmp_problem);
}

const struct kgc_translate_problem *
kgc_translate_problems_of(const struct kgc_translate_output *out, enum kgc_api_kind kind,
                          const char *ns, const char *name, size_t *n)
{
    *n = 0;
    if (!out || !out->problems)
        return NULL;
    size_t lo = 0, hi = out->n_problems;
    while (lo < hi) { /* the first problem not before the object */
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_object(&out->problems[mid], kind, ns, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < out->n_problems && cmp_object(&out->problems[end], kind, ns, name) == 0)
        end++;
    *n = end - lo;
    return *n ? &out->problems[lo] : NULL;
}

/* Appends "; " (unless first) and the formatted text, keeping the result NUL-terminated and
 * marking a cut with "...". */
static void append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 4 >= size)
        return;
    if (len) {
        snprintf(buf + len, size - len, "; ");
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + len, size - len, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= size - len)
        memcpy(buf + size - 4, "...", 4);
}

void kgc_translate_route_verdict(void *ctx, const struct kgc_api_httproute *route,
                                 struct kgc_status_route_verdict *v)
{
    if (!v)
        return;
    memset(v, 0, sizeof(*v));
    if (ctx && route)
        kgc_translate_route_verdict_of(ctx, route->obj.kind, route->obj.meta.namespace,
                                       route->obj.meta.name, v);
}

void kgc_translate_route_verdict_of(const struct kgc_translate_output *out, enum kgc_api_kind kind,
                                    const char *ns, const char *name,
                                    struct kgc_status_route_verdict *v)
{
    if (!v)
        return;
    memset(v, 0, sizeof(*v));
    if (!out)
        return;
    size_t n = 0;
    const struct kgc_translate_problem *p = kgc_translate_problems_of(out, kind, ns, name, &n);
    for (size_t i = 0; i < n; i++) { /* unresolved references: the first decides the reason */
        if (!p[i].ref_reason)
            continue;
        if (!v->resolved_refs_reason)
            v->resolved_refs_reason = p[i].ref_reason;
        if (p[i].rule >= 0)
            append(v->resolved_refs_message, sizeof(v->resolved_refs_message), "rules[%d]: %s",
                   p[i].rule, p[i].message);
        else
            append(v->resolved_refs_message, sizeof(v->resolved_refs_message), "%s", p[i].message);
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i].rule < 0 && p[i].severity == KGC_TRANSLATE_DROPPED) {
            v->accepted_reason = KGC_STATUS_R_UNSUPPORTED_VALUE;
            append(v->accepted_message, sizeof(v->accepted_message), "%s", p[i].message);
        }
    }
    if (v->accepted_reason) {
        for (size_t i = 0; i < n; i++) { /* say why each rule went */
            if (p[i].rule >= 0 && p[i].match < 0 && p[i].severity == KGC_TRANSLATE_DROPPED)
                append(v->accepted_message, sizeof(v->accepted_message), "rule %d: %s", p[i].rule,
                       p[i].message);
        }
        return;
    }
    /* dropped rules first (the API wants the message to start with "Dropped Rule"), then
     * dropped matches of kept rules, then degraded rules */
    for (size_t i = 0; i < n; i++) {
        if (p[i].rule >= 0 && p[i].match < 0 && p[i].severity == KGC_TRANSLATE_DROPPED)
            append(v->partially_invalid, sizeof(v->partially_invalid), "Dropped Rule %d: %s",
                   p[i].rule, p[i].message);
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i].rule < 0 || p[i].match < 0 || p[i].severity != KGC_TRANSLATE_DROPPED)
            continue;
        bool rule_dropped = false; /* already said at rule level */
        for (size_t k = 0; k < n && !rule_dropped; k++)
            rule_dropped =
                p[k].rule == p[i].rule && p[k].match < 0 && p[k].severity == KGC_TRANSLATE_DROPPED;
        if (!rule_dropped)
            append(v->partially_invalid, sizeof(v->partially_invalid),
                   "Dropped Match %d of Rule %d: %s", p[i].match, p[i].rule, p[i].message);
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i].severity != KGC_TRANSLATE_DEGRADED)
            continue;
        if (p[i].rule >= 0)
            append(v->partially_invalid, sizeof(v->partially_invalid), "Rule %d: %s", p[i].rule,
                   p[i].message);
        else
            append(v->partially_invalid, sizeof(v->partially_invalid), "%s", p[i].message);
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i].severity != KGC_TRANSLATE_LIMITATION)
            continue;
        if (p[i].rule >= 0)
            append(v->kong_limitation, sizeof(v->kong_limitation), "Rule %d: %s", p[i].rule,
                   p[i].message);
        else
            append(v->kong_limitation, sizeof(v->kong_limitation), "%s", p[i].message);
    }
}

/* ---- entity owners --------------------------------------------------------------------------- */

static bool parse_index(const char *s, size_t n, int32_t *out)
{
    if (n == 0 || n > 9)
        return false;
    int32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool copy_part(char *dst, size_t size, const char *s, size_t n)
{
    if (n == 0 || n >= size)
        return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

static int owner_from_tags(const char *const *tags, size_t n_tags, struct kgc_translate_owner *o)
{
    const char *kind = NULL;
    bool have_name = false;
    for (size_t i = 0; i < n_tags; i++) {
        const char *t = tags[i];
        if (!t)
            continue;
        if (strncmp(t, "k8s-kind:", 9) == 0)
            kind = t + 9;
        else if (strncmp(t, "k8s-name:", 9) == 0)
            have_name = copy_part(o->name, sizeof(o->name), t + 9, strlen(t + 9));
        else if (strncmp(t, "k8s-namespace:", 14) == 0)
            copy_part(o->namespace, sizeof(o->namespace), t + 14, strlen(t + 14));
        else if (strncmp(t, "k8s-rule:", 9) == 0)
            parse_index(t + 9, strlen(t + 9), &o->rule);
        else if (strncmp(t, "k8s-match:", 10) == 0)
            parse_index(t + 10, strlen(t + 10), &o->match);
    }
    int k = kind ? kgc_api_kind_from_name(kind) : -1;
    if (k < 0 || !have_name)
        return KGC_ENOENT;
    o->kind = (enum kgc_api_kind)k;
    return 0;
}

/* "httproute.<ns>.<name>.<rule>" (services, upstreams) or "...<rule>.<match>[.h<host>|.iso]"
 * (routes), "grpcroute." the same for a GRPCRoute, "tlsroute.", "tcproute.", "udproute." for the
 * stream route kinds (stream.c: routes "...<rule>.<k>"): namespaces have no dots, so the namespace
 * is the first part and the name whatever lies between it and the trailing indexes. These entities
 * carry no tags (stream routes do): their name is the way back. */
static int owner_from_name(const char *type, const char *name, struct kgc_translate_owner *o)
{
    static const struct {
        const char *prefix;
        enum kgc_api_kind kind;
    } prefixes[] = {{"httproute.", KGC_API_HTTPROUTE},
                    {"grpcroute.", KGC_API_GRPCROUTE},
                    {"tlsroute.", KGC_API_TLSROUTE},
                    {"tcproute.", KGC_API_TCPROUTE},
                    {"udproute.", KGC_API_UDPROUTE}};
    if (!type || !name)
        return KGC_ENOENT;
    size_t plen = 0;
    enum kgc_api_kind kind = KGC_API_HTTPROUTE;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]) && !plen; i++) {
        size_t l = strlen(prefixes[i].prefix);
        if (strncmp(name, prefixes[i].prefix, l) == 0) {
            plen = l;
            kind = prefixes[i].kind;
        }
    }
    if (!plen)
        return KGC_ENOENT;
    int indexes;
    if (strcmp(type, "service") == 0 || strcmp(type, "upstream") == 0)
        indexes = 1;
    else if (strcmp(type, "route") == 0)
        indexes = 2;
    else
        return KGC_ENOENT;
    const char *ns = name + plen;
    const char *dot = strchr(ns, '.');
    if (!dot || !copy_part(o->namespace, sizeof(o->namespace), ns, (size_t)(dot - ns)))
        return KGC_ENOENT;
    const char *rest = dot + 1, *end = rest + strlen(rest);
    int32_t idx[3] = {-1, -1, -1};
    int want = indexes;
    if (indexes == 2) { /* an expressions route ends with ".h<k>", an isolation one with ".iso" */
        const char *last = strrchr(rest, '.');
        int32_t h;
        if (last && ((last[1] == 'h' && parse_index(last + 2, strlen(last + 2), &h)) ||
                     strcmp(last, ".iso") == 0))
            end = last;
    }
    while (want > 0) {
        const char *p = end;
        while (p > rest && p[-1] != '.')
            p--;
        if (p == rest || !parse_index(p, (size_t)(end - p), &idx[want - 1]))
            return KGC_ENOENT;
        end = p - 1;
        want--;
    }
    if (!copy_part(o->name, sizeof(o->name), rest, (size_t)(end - rest)))
        return KGC_ENOENT;
    o->kind = kind;
    o->rule = idx[0];
    o->match = indexes == 2 ? idx[1] : -1;
    return 0;
}

int kgc_translate_entity_owner(const char *entity_type, const char *entity_name,
                               const char *const *tags, size_t n_tags,
                               struct kgc_translate_owner *owner)
{
    if (!owner)
        return KGC_EINVAL;
    memset(owner, 0, sizeof(*owner));
    owner->rule = owner->match = -1;
    if (tags && owner_from_tags(tags, n_tags, owner) == 0)
        return 0;
    memset(owner, 0, sizeof(*owner));
    owner->rule = owner->match = -1;
    if (owner_from_name(entity_type, entity_name, owner) == 0)
        return 0;
    memset(owner, 0, sizeof(*owner));
    owner->rule = owner->match = -1;
    return KGC_ENOENT;
}

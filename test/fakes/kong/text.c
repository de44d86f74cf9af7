/* text — configurations sent as text (JSON or YAML), the MD5 configuration hash, the canonical
 * re-encoding of a document, and UUIDs (v5 as Kong derives entity ids, v4 for node ids). */
#include "entities.h"
#include "kong_fake.h"

#include <kgc/err.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <yaml.h>

#define TEXT_MAX_DEPTH 64         /* nesting bound for JSON and YAML */
#define YAML_MAX_NODES (1u << 21) /* bound on nodes built, aliases included ("billion laughs") */

/* ---- hashing and UUIDs ----------------------------------------------------------------------- */

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void kf_md5_hex(const void *data, size_t len, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL) != 1 || mdlen != 16) {
        memset(out, '0', 32); /* cannot happen with a working libcrypto */
        out[32] = '\0';
        return;
    }
    hex(md, 16, out);
}

/* 8-4-4-4-12 hex digits; by hand: a format per id was a third of an id's cost (three ids per
 * route at 10k routes). */
static void format_uuid(const unsigned char b[16], char out[37])
{
    static const unsigned char groups[] = {4, 2, 2, 2, 6}; /* bytes per group */
    char *w = out;
    for (size_t g = 0, i = 0; g < sizeof(groups); g++) {
        if (g) {
            *w++ = '-';
        }
        hex(b + i, groups[g], w);
        w += 2 * groups[g];
        i += groups[g];
    }
    *w = '\0';
}

static int parse_uuid(const char *s, unsigned char out[16])
{
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '-') {
            continue;
        }
        if (!isxdigit((unsigned char)*p) || n >= 32) {
            return KGC_EINVAL;
        }
        int v = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
        if (n % 2 == 0) {
            out[n / 2] = (unsigned char)(v << 4);
        } else {
            out[n / 2] |= (unsigned char)v;
        }
        n++;
    }
    return n == 32 ? 0 : KGC_EINVAL;
}

static pthread_once_t sha1_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha1_md; /* fetched once, kept for the process's life */

static void sha1_fetch(void)
{
    sha1_md = EVP_MD_fetch(NULL, "SHA1", NULL);
}

/* SHA-1, fetched from the provider once: EVP_sha1() makes every EVP_DigestInit_ex() fetch it
 * again (a lock and a lookup per id; two ids per entity). */
static const EVP_MD *sha1(void)
{
    pthread_once(&sha1_once, sha1_fetch);
    return sha1_md ? sha1_md : EVP_sha1();
}

int kf_uuid5(const char *ns, const char *name, size_t name_len, char out[37])
{
    unsigned char nsb[16];
    if (parse_uuid(ns, nsb) != 0) {
        return KGC_EINVAL;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, sha1(), NULL) == 1 &&
             EVP_DigestUpdate(c, nsb, sizeof(nsb)) == 1 &&
             EVP_DigestUpdate(c, name, name_len) == 1 && EVP_DigestFinal_ex(c, md, &mdlen) == 1;
    EVP_MD_CTX_free(c);
    if (!ok || mdlen < 16) {
        return KGC_ENOMEM;
    }
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
    format_uuid(md, out);
    return 0;
}

#define ENTITY_NS_ROOT "fd02801f-0957-4a15-a55a-c8d9606f30b5"
#define ENTITY_NS_MAX  16

static pthread_once_t entity_ns_once = PTHREAD_ONCE_INIT;
static struct {
    const char *plural;
    char ns[37]; /* uuid5(ENTITY_NS_ROOT, plural), or "" when it could not be computed */
} entity_ns[ENTITY_NS_MAX];

static void entity_ns_init(void)
{
    size_t i = 0;
    for (const struct kf_entity *e = kf_entities(); e->plural && i < ENTITY_NS_MAX; e++, i++) {
        entity_ns[i].plural = e->plural;
        if (kf_uuid5(ENTITY_NS_ROOT, e->plural, strlen(e->plural), entity_ns[i].ns) != 0) {
            entity_ns[i].ns[0] = '\0';
        }
    }
}

void kf_entity_uuid(const char *plural, const char *key, char out[37])
{
    /* the per-entity namespace is the same for every id of an entity: computed once */
    pthread_once(&entity_ns_once, entity_ns_init);
    const char *ns = NULL;
    for (size_t i = 0; i < ENTITY_NS_MAX && entity_ns[i].plural; i++) {
        if (strcmp(entity_ns[i].plural, plural) == 0) {
            ns = entity_ns[i].ns[0] ? entity_ns[i].ns : NULL;
            break;
        }
    }
    char own[37];
    if (!ns && kf_uuid5(ENTITY_NS_ROOT, plural, strlen(plural), own) == 0) {
        ns = own;
    }
    if (!ns || kf_uuid5(ns, key, strlen(key), out) != 0) {
        kf_uuid4(out);
    }
}

void kf_uuid4(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1) {
        FILE *f = fopen("/dev/urandom", "rb");
        size_t got = f ? fread(b, 1, sizeof(b), f) : 0;
        if (f) {
            fclose(f);
        }
        for (size_t i = got; i < sizeof(b); i++) {
            b[i] = (unsigned char)rand();
        }
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    format_uuid(b, out);
}

/* ---- canonical JSON -------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_object *sorted_copy(json_object *o, int depth)
{
    if (depth > TEXT_MAX_DEPTH * 2) {
        return NULL;
    }
    if (json_object_is_type(o, json_type_object)) {
        size_t n = (size_t)json_object_object_length(o);
        const char **keys = calloc(n ? n : 1, sizeof(*keys));
        json_object *out = json_object_new_object();
        if (!keys || !out) {
            free(keys);
            json_object_put(out);
            return NULL;
        }
        size_t i = 0;
        json_object_object_foreach(o, k, unused)
        {
            (void)unused;
            keys[i++] = k;
        }
        qsort(keys, n, sizeof(*keys), cmp_str);
        for (i = 0; i < n; i++) {
            json_object *v = json_object_object_get(o, keys[i]);
            json_object *c = v ? sorted_copy(v, depth + 1) : NULL;
            if (v && !c) {
                free(keys);
                json_object_put(out);
                return NULL;
            }
            json_object_object_add(out, keys[i], c);
        }
        free(keys);
        return out;
    }
    if (json_object_is_type(o, json_type_array)) {
        size_t n = json_object_array_length(o);
        json_object *out = json_object_new_array_ext((int)(n ? n : 1));
        for (size_t i = 0; out && i < n; i++) {
            json_object *v = json_object_array_get_idx(o, i);
            json_object *c = v ? sorted_copy(v, depth + 1) : NULL;
            if (v && !c) {
                json_object_put(out);
                return NULL;
            }
            json_object_array_add(out, c);
        }
        return out;
    }
    return json_object_get(o);
}

char *kf_canonical_json(json_object *doc)
{
    if (!doc) {
        return strdup("null");
    }
    json_object *c = sorted_copy(doc, 0);
    if (!c) {
        return NULL;
    }
    char *s = strdup(
        json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(c);
    return s;
}

/* ---- YAML --------------------------------------------------------------------------------------
 */

struct yanchor {
    char *name;
    json_object *node; /* one reference held */
};

struct yframe {
    json_object *node; /* the collection being built (the frame holds the reference) */
    char *anchor;      /* its anchor, registered when it closes */
    char *key;         /* mappings: the key waiting for its value, NULL when a key is expected */
    bool is_map;
};

struct yparse {
    struct yframe stack[TEXT_MAX_DEPTH];
    int depth;
    struct yanchor *anchors;
    size_t nanchors, capanchors;
    size_t nodes;
    json_object *root;
    bool have_root;
    char *err;
    size_t errsz;
};

static bool ieq_any(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++) {
        if (strcmp(s, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Plain-scalar resolution the way lyaml's implicit resolvers do it (YAML 1.1 core). */
static json_object *resolve_plain(const char *s, const char *tag)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes",
                                        "YES",  "on",   "On",   "ON",  NULL};
    static const char *const falses[] = {"false", "False", "FALSE", "no",  "No",
                                         "NO",    "off",   "Off",   "OFF", NULL};
    if (tag && strcmp(tag, YAML_STR_TAG) == 0) {
        return json_object_new_string(s);
    }
    if (ieq_any(s, nulls) || (tag && strcmp(tag, YAML_NULL_TAG) == 0)) {
        return NULL;
    }
    if (ieq_any(s, trues)) {
        return json_object_new_boolean(1);
    }
    if (ieq_any(s, falses)) {
        return json_object_new_boolean(0);
    }
    /* integers: decimal, 0x hex, 0o octal; '_' separators allowed */
    char clean[64];
    size_t n = 0;
    for (const char *p = s; *p && n + 1 < sizeof(clean); p++) {
        if (*p != '_') {
            clean[n++] = *p;
        }
    }
    clean[n] = '\0';
    if (n > 0 && strlen(s) < sizeof(clean)) {
        const char *d = clean + ((clean[0] == '-' || clean[0] == '+') ? 1 : 0);
        int base = 10;
        if (d[0] == '0' && (d[1] == 'x' || d[1] == 'X') && d[2]) {
            base = 16;
        } else if (d[0] == '0' && d[1] == 'o' && d[2]) {
            base = 8;
        }
        const char *digits = base == 10 ? d : d + 2;
        bool ok = *digits != '\0';
        for (const char *p = digits; *p && ok; p++) {
            ok = base == 16 ? isxdigit((unsigned char)*p) : (*p >= '0' && *p < '0' + base);
        }
        if (ok && (base != 10 || d[0] != '0' || d[1] == '\0')) {
            errno = 0;
            long long v = strtoll(digits, NULL, base);
            if (errno == 0) {
                return json_object_new_int64(clean[0] == '-' ? -v : v);
            }
        }
        /* floats */
        char *end = NULL;
        bool looks = (isdigit((unsigned char)*d) || (*d == '.' && isdigit((unsigned char)d[1])));
        if (looks) {
            errno = 0;
            double dv = strtod(clean, &end);
            if (end && *end == '\0' && errno == 0 && strpbrk(clean, ".eE")) {
                return json_object_new_double(dv);
            }
        }
        if (strcmp(d, ".inf") == 0 || strcmp(d, ".Inf") == 0 || strcmp(d, ".INF") == 0) {
            return json_object_new_double(clean[0] == '-' ? -INFINITY : INFINITY);
        }
    }
    return json_object_new_string(s);
}

static int yerr(struct yparse *y, const char *fmt, const char *a)
{
    snprintf(y->err, y->errsz, fmt, a ? a : "");
    return KGC_EPARSE;
}

/* Places a finished node: into the enclosing collection, or as the document root. Takes the
 * reference. */
static int yplace(struct yparse *y, json_object *node, const char *anchor)
{
    if (++y->nodes > YAML_MAX_NODES) {
        json_object_put(node);
        return yerr(y, "%stoo many YAML nodes", NULL);
    }
    if (anchor) {
        if (y->nanchors == y->capanchors) {
            size_t cap = y->capanchors ? y->capanchors * 2 : 8;
            struct yanchor *na = realloc(y->anchors, cap * sizeof(*na));
            if (!na) {
                json_object_put(node);
                return KGC_ENOMEM;
            }
            y->anchors = na;
            y->capanchors = cap;
        }
        char *name = strdup(anchor);
        if (!name) {
            json_object_put(node);
            return KGC_ENOMEM;
        }
        y->anchors[y->nanchors++] = (struct yanchor){.name = name, .node = json_object_get(node)};
    }
    if (y->depth == 0) {
        if (!y->have_root) {
            y->root = node;
            y->have_root = true;
        } else {
            json_object_put(node);
        }
        return 0;
    }
    struct yframe *f = &y->stack[y->depth - 1];
    if (!f->is_map) {
        json_object_array_add(f->node, node);
        return 0;
    }
    if (!f->key) {
        /* a mapping key: only scalars are supported */
        if (node && !json_object_is_type(node, json_type_string) &&
            !json_object_is_type(node, json_type_int) &&
            !json_object_is_type(node, json_type_boolean) &&
            !json_object_is_type(node, json_type_double)) {
            json_object_put(node);
            return yerr(y, "%sunsupported YAML mapping key (not a scalar)", NULL);
        }
        f->key = strdup(node ? json_object_get_string(node) : "null");
        json_object_put(node);
        return f->key ? 0 : KGC_ENOMEM;
    }
    json_object_object_add(f->node, f->key, node);
    free(f->key);
    f->key = NULL;
    return 0;
}

static int yevent(struct yparse *y, yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        const char *val = (const char *)ev->data.scalar.value;
        const char *tag = (const char *)ev->data.scalar.tag;
        json_object *node = NULL;
        if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
            (tag && strcmp(tag, "!") != 0 && strcmp(tag, YAML_STR_TAG) != 0)) {
            node = resolve_plain(val, tag);
        } else {
            node = json_object_new_string_len(val, (int)ev->data.scalar.length);
        }
        return yplace(y, node, (const char *)ev->data.scalar.anchor);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        if (y->depth >= TEXT_MAX_DEPTH) {
            return yerr(y, "%sYAML nesting too deep", NULL);
        }
        bool is_map = ev->type == YAML_MAPPING_START_EVENT;
        json_object *node = is_map ? json_object_new_object() : json_object_new_array();
        const char *anchor = is_map ? (const char *)ev->data.mapping_start.anchor
                                    : (const char *)ev->data.sequence_start.anchor;
        char *a = anchor ? strdup(anchor) : NULL;
        if (!node || (anchor && !a)) {
            json_object_put(node);
            free(a);
            return KGC_ENOMEM;
        }
        y->stack[y->depth++] = (struct yframe){.node = node, .anchor = a, .is_map = is_map};
        return 0;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        struct yframe f = y->stack[--y->depth];
        free(f.key);
        int rc = yplace(y, f.node, f.anchor);
        free(f.anchor);
        return rc;
    }
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        for (size_t i = y->nanchors; i > 0; i--) {
            if (strcmp(y->anchors[i - 1].name, name) == 0) {
                json_object *copy = NULL;
                if (y->anchors[i - 1].node &&
                    json_object_deep_copy(y->anchors[i - 1].node, &copy, NULL) != 0) {
                    return KGC_ENOMEM;
                }
                return yplace(y, copy, NULL);
            }
        }
        return yerr(y, "unknown YAML alias '%s'", name);
    }
    default:
        return 0;
    }
}

static int parse_yaml(const char *text, size_t len, json_object **out, char *err, size_t errsz)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        return KGC_ENOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    struct yparse y = {.err = err, .errsz = errsz};
    int rc = 0;
    bool done = false;
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            char where[64];
            snprintf(where, sizeof(where), "%zu:%zu: ", parser.problem_mark.line + 1,
                     parser.problem_mark.column + 1);
            snprintf(err, errsz, "%s%s%s%s", where, parser.problem ? parser.problem : "bad YAML",
                     parser.context ? " " : "", parser.context ? parser.context : "");
            rc = KGC_EPARSE;
            break;
        }
        rc = yevent(&y, &ev);
        done = ev.type == YAML_STREAM_END_EVENT || (ev.type == YAML_DOCUMENT_END_EVENT);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    while (y.depth > 0) {
        struct yframe *f = &y.stack[--y.depth];
        json_object_put(f->node);
        free(f->key);
        free(f->anchor);
    }
    for (size_t i = 0; i < y.nanchors; i++) {
        free(y.anchors[i].name);
        json_object_put(y.anchors[i].node);
    }
    free(y.anchors);
    if (rc != 0) {
        json_object_put(y.root);
        return rc;
    }
    *out = y.root;
    return 0;
}

int kf_text_parse(const char *text, size_t len, json_object **out, char *err, size_t errsz)
{
    *out = NULL;
    json_tokener *tok = json_tokener_new_ex(TEXT_MAX_DEPTH);
    if (!tok) {
        return KGC_ENOMEM;
    }
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr == json_tokener_success) {
        /* only trailing whitespace may follow */
        bool rest_blank = true;
        for (size_t i = used; i < len; i++) {
            if (!isspace((unsigned char)text[i])) {
                rest_blank = false;
                break;
            }
        }
        if (rest_blank) {
            *out = o;
            return 0;
        }
    }
    json_object_put(o);
    return parse_yaml(text, len, out, err, errsz);
}

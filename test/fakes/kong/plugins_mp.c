/* plugins_mp — the multipart/form-data codec request-transformer uses: lua-multipart 0.5.9
 * (kong-3.9.1-0.rockspec:22), src/multipart.lua, modelled with its data layout (a list of parts
 * and, per name, the list of their positions) so its quirks come out the same: the line-based
 * decode, set_simple() replacing the first part of a name with a single Content-Disposition
 * header, delete() removing every part of a name, encode() stopping at the first hole.
 * Reentrant; a struct kp_mp belongs to its caller. */
#include "plugins_internal.h"

#include <kgc/err.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct mp_part {
    char *name;
    char **headers;
    size_t nh;
    char *value; /* NULL = nil (set_simple with no value) */
};

struct mp_index {
    char *name;
    long *pos; /* 1-based positions in data */
    size_t n;
};

struct kp_mp {
    char *boundary;        /* NULL: none */
    struct mp_part **data; /* data[1..cap-1], NULL = hole */
    size_t cap;
    struct mp_index *idx;
    size_t nidx;
    bool oom;
};

static void part_free(struct mp_part *p)
{
    if (!p) {
        return;
    }
    free(p->name);
    for (size_t i = 0; i < p->nh; i++) {
        free(p->headers[i]);
    }
    free(p->headers);
    free(p->value);
    free(p);
}

void kp_mp_free(struct kp_mp *m)
{
    if (!m) {
        return;
    }
    for (size_t i = 0; i < m->cap; i++) {
        part_free(m->data[i]);
    }
    free(m->data);
    for (size_t i = 0; i < m->nidx; i++) {
        free(m->idx[i].name);
        free(m->idx[i].pos);
    }
    free(m->idx);
    free(m->boundary);
    free(m);
}

/* #data as ipairs sees it: the parts before the first hole. */
static size_t border(const struct kp_mp *m)
{
    size_t n = 0;
    while (n + 1 < m->cap && m->data[n + 1]) {
        n++;
    }
    return n;
}

static bool ensure(struct kp_mp *m, size_t pos)
{
    if (pos < m->cap) {
        return true;
    }
    size_t cap = m->cap ? m->cap : 8;
    while (cap <= pos) {
        cap *= 2;
    }
    struct mp_part **d = realloc(m->data, cap * sizeof(*d));
    if (!d) {
        m->oom = true;
        return false;
    }
    for (size_t i = m->cap; i < cap; i++) {
        d[i] = NULL;
    }
    m->data = d;
    m->cap = cap;
    return true;
}

static struct mp_index *index_of(const struct kp_mp *m, const char *name)
{
    for (size_t i = 0; i < m->nidx; i++) {
        if (strcmp(m->idx[i].name, name) == 0) {
            return &m->idx[i];
        }
    }
    return NULL;
}

static struct mp_index *index_new(struct kp_mp *m, const char *name)
{
    struct mp_index *n = realloc(m->idx, (m->nidx + 1) * sizeof(*n));
    if (!n) {
        m->oom = true;
        return NULL;
    }
    m->idx = n;
    struct mp_index *x = &m->idx[m->nidx];
    memset(x, 0, sizeof(*x));
    x->name = strdup(name);
    if (!x->name) {
        m->oom = true;
        return NULL;
    }
    m->nidx++;
    return x;
}

static void index_push(struct kp_mp *m, struct mp_index *x, long pos)
{
    long *p = realloc(x->pos, (x->n + 1) * sizeof(*p));
    if (!p) {
        m->oom = true;
        return;
    }
    x->pos = p;
    x->pos[x->n++] = pos;
}

static void put_part(struct kp_mp *m, size_t pos, struct mp_part *p)
{
    if (!ensure(m, pos)) {
        part_free(p);
        return;
    }
    part_free(m->data[pos]);
    m->data[pos] = p;
}

/* match(value, "%S:%s*%S") (multipart.lua:29-31) */
static bool is_header(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (!isspace((unsigned char)s[i]) && s[i + 1] == ':') {
            size_t j = i + 2;
            while (j < n && isspace((unsigned char)s[j])) {
                j++;
            }
            if (j < n) {
                return true;
            }
        }
    }
    return false;
}

/* multipart.lua:124-132: the part name from a Content-Disposition line. */
static char *part_name_of(const char *line)
{
    char *name = NULL;
    const char *p = line;
    while (*p) {
        size_t n = strcspn(p, ";");
        if (n && !is_header(p, n)) {
            size_t i = 0;
            while (i < n && isspace((unsigned char)p[i])) {
                i++;
            }
            if (n - i >= 5 && strncasecmp(p + i, "name=", 5) == 0) {
                size_t s = i + 5, e = s;
                while (e < n && p[e] != '=') {
                    e++;
                }
                while (e > s && isspace((unsigned char)p[e - 1])) {
                    e--;
                }
                /* sub(current_value, 2, #current_value - 1): the first and last bytes go */
                size_t len = e - s;
                free(name);
                name = len >= 2 ? strndup(p + s + 1, len - 2) : strdup("");
            }
        }
        p += n;
        if (*p == ';') {
            p++;
        }
    }
    return name;
}

struct strv {
    char **v;
    size_t n;
};

static void sv_push(struct kp_mp *m, struct strv *s, const char *t, size_t n)
{
    char **v = realloc(s->v, (s->n + 1) * sizeof(*v));
    char *d = strndup(t, n);
    if (!v || !d) {
        free(d);
        if (v) {
            s->v = v;
        }
        m->oom = true;
        return;
    }
    s->v = v;
    s->v[s->n++] = d;
}

static void sv_free(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i]);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static void store_part(struct kp_mp *m, char **name, struct strv *hdrs, struct strv *val,
                       size_t pos, bool replace_index)
{
    struct mp_part *p = calloc(1, sizeof(*p));
    size_t total = 0;
    for (size_t i = 0; i < val->n; i++) {
        total += val->v[i] ? strlen(val->v[i]) : 0;
    }
    char *v = malloc(total + 1);
    if (!p || !v) {
        free(p);
        free(v);
        m->oom = true;
        return;
    }
    size_t o = 0;
    for (size_t i = 0; i < val->n && val->v[i]; i++) { /* concat stops at a nil */
        size_t l = strlen(val->v[i]);
        memcpy(v + o, val->v[i], l);
        o += l;
    }
    v[o] = '\0';
    p->name = *name;
    *name = NULL;
    p->headers = hdrs->v;
    p->nh = hdrs->n;
    hdrs->v = NULL;
    hdrs->n = 0;
    p->value = v;
    struct mp_index *x = index_of(m, p->name);
    if (!x) {
        x = index_new(m, p->name);
    }
    if (x && replace_index) {
        x->n = 0; /* multipart.lua:172: indexes[name] = { part_index } */
    }
    if (x) {
        index_push(m, x, (long)pos);
    }
    put_part(m, pos, p);
    sv_free(val);
}

/* decode() (multipart.lua:39-176) */
static void decode(struct kp_mp *m, const char *body, size_t len)
{
    if (!m->boundary) {
        return;
    }
    size_t bl = strlen(m->boundary);
    char *name = NULL;
    size_t part_index = 1;
    struct strv hdrs = {0}, val = {0};
    bool processing = false, done = false;
    size_t pos = 0;
    while (!done && !m->oom) {
        size_t s = pos;
        while (s < len && body[s] != '\r' && body[s] != '\n') {
            s++;
        }
        bool found = s < len;
        const char *line = body + pos;
        size_t ll = found ? s - pos : len - pos;
        if (found) {
            pos = s + 1;
        } else {
            done = true;
        }
        if (ll == 0) {
            if (found && processing) {
                sv_push(m, &val, body + s, 1);
            }
            continue;
        }
        /* sub(line, 3, #boundary + 2) == boundary */
        if (ll >= 2 + bl && line[0] == '-' && line[1] == '-' &&
            memcmp(line + 2, m->boundary, bl) == 0) {
            processing = false;
            if (name) {
                if (val.n && strcmp(val.v[val.n - 1], "\n") == 0) {
                    free(val.v[val.n - 1]);
                    val.v[val.n - 1] = NULL;
                    if (val.n >= 2 && val.v[val.n - 2] && strcmp(val.v[val.n - 2], "\r") == 0) {
                        free(val.v[val.n - 2]);
                        val.v[val.n - 2] = NULL;
                    }
                }
                store_part(m, &name, &hdrs, &val, part_index, false);
                sv_free(&hdrs);
                part_index++;
            }
            continue;
        }
        if (!processing && ll >= 19 && strncasecmp(line, "content-disposition", 19) == 0) {
            char *l = strndup(line, ll);
            if (!l) {
                m->oom = true;
                break;
            }
            char *nm = part_name_of(l);
            free(l);
            if (nm) {
                free(name);
                name = nm;
            }
            sv_push(m, &hdrs, line, ll);
            if (found && s + 4 <= len && memcmp(body + s, "\r\n\r\n", 4) == 0) {
                processing = true;
                pos = s + 4;
            }
        } else if (!processing && is_header(line, ll)) {
            sv_push(m, &hdrs, line, ll);
            if (found && s + 4 <= len && memcmp(body + s, "\r\n\r\n", 4) == 0) {
                processing = true;
                pos = s + 4;
            }
        } else {
            processing = true;
            sv_push(m, &val, line, ll);
            if (found) {
                sv_push(m, &val, body + s, 1);
            }
        }
    }
    if (name && !m->oom) {
        store_part(m, &name, &hdrs, &val, part_index, true);
    }
    free(name);
    sv_free(&hdrs);
    sv_free(&val);
}

struct kp_mp *kp_mp_new(const char *body, size_t len, const char *content_type)
{
    struct kp_mp *m = calloc(1, sizeof(*m));
    if (!m) {
        return NULL;
    }
    /* match(content_type, ";%s*boundary=(%S+)"), quotes stripped (multipart.lua:226-241) */
    for (const char *p = content_type ? strchr(content_type, ';') : NULL; p;
         p = strchr(p + 1, ';')) {
        const char *q = p + 1;
        while (isspace((unsigned char)*q)) {
            q++;
        }
        if (strncmp(q, "boundary=", 9) != 0) {
            continue;
        }
        q += 9;
        size_t n = 0;
        while (q[n] && !isspace((unsigned char)q[n])) {
            n++;
        }
        if (n == 0) {
            continue;
        }
        if (n >= 2 && ((q[0] == '"' && q[n - 1] == '"') || (q[0] == '\'' && q[n - 1] == '\''))) {
            q++;
            n -= 2;
        }
        if (n) {
            m->boundary = strndup(q, n);
            if (!m->boundary) {
                kp_mp_free(m);
                return NULL;
            }
        }
        break;
    }
    decode(m, body ? body : "", body ? len : 0);
    if (m->oom) {
        kp_mp_free(m);
        return NULL;
    }
    return m;
}

bool kp_mp_has(const struct kp_mp *m, const char *name)
{
    const struct mp_index *x = index_of(m, name);
    return x && x->n && x->pos[0] >= 1 && (size_t)x->pos[0] < m->cap && m->data[x->pos[0]];
}

const char *kp_mp_value(const struct kp_mp *m, const char *name)
{
    if (!kp_mp_has(m, name)) {
        return NULL;
    }
    return m->data[index_of(m, name)->pos[0]]->value;
}

int kp_mp_set_simple(struct kp_mp *m, const char *name, const char *value)
{
    /* multipart.lua:315-353 */
    struct mp_part *p = calloc(1, sizeof(*p));
    if (!p) {
        return KGC_ENOMEM;
    }
    p->name = strdup(name);
    p->headers = calloc(1, sizeof(*p->headers));
    size_t hl = strlen(name) + 64;
    if (p->headers) {
        p->headers[0] = malloc(hl);
    }
    if (value) {
        p->value = strdup(value);
    }
    if (!p->name || !p->headers || !p->headers[0] || (value && !p->value)) {
        part_free(p);
        return KGC_ENOMEM;
    }
    p->nh = 1;
    snprintf(p->headers[0], hl, "Content-Disposition: form-data; name=\"%s\"", name);
    struct mp_index *x = index_of(m, name);
    if (x && x->n) {
        if (x->pos[0] >= 1) {
            put_part(m, (size_t)x->pos[0], p);
        } else {
            part_free(p);
        }
        return m->oom ? KGC_ENOMEM : 0;
    }
    long max = 0;
    for (size_t i = 0; i < m->nidx; i++) {
        for (size_t k = 0; k < m->idx[i].n; k++) {
            if (m->idx[i].pos[k] > max) {
                max = m->idx[i].pos[k];
            }
        }
    }
    if (!x) {
        x = index_new(m, name);
    }
    if (!x) {
        part_free(p);
        return KGC_ENOMEM;
    }
    x->n = 0;
    index_push(m, x, max + 1);
    put_part(m, (size_t)max + 1, p);
    return m->oom ? KGC_ENOMEM : 0;
}

/* table.remove(data, pos) on the border-length list; out of range: nothing (not verified). */
static void table_remove(struct kp_mp *m, long pos)
{
    size_t n = border(m);
    if (pos < 1 || (size_t)pos > n) {
        return;
    }
    part_free(m->data[pos]);
    for (size_t i = (size_t)pos; i < n; i++) {
        m->data[i] = m->data[i + 1];
    }
    m->data[n] = NULL;
}

void kp_mp_delete(struct kp_mp *m, const char *name)
{
    /* multipart.lua:356-382, including the shifting of later positions by each removal */
    struct mp_index *x = index_of(m, name);
    if (!x) {
        return;
    }
    long *del = x->pos;
    size_t nd = x->n;
    x->pos = NULL;
    x->n = 0;
    for (size_t i = 0; i < nd; i++) {
        table_remove(m, del[i]);
    }
    free(x->name);
    size_t at = (size_t)(x - m->idx);
    memmove(&m->idx[at], &m->idx[at + 1], (m->nidx - at - 1) * sizeof(*m->idx));
    m->nidx--;
    for (size_t i = 0; i < m->nidx; i++) {
        for (size_t k = 0; k < m->idx[i].n; k++) {
            long v = m->idx[i].pos[k], below = 0;
            for (size_t d = 0; d < nd; d++) {
                below += v > del[d];
            }
            m->idx[i].pos[k] = v - below;
        }
    }
    free(del);
}

char *kp_mp_tostring(const struct kp_mp *m)
{
    /* encode() (multipart.lua:183-223); without a boundary lua-multipart uses a random one
     * derived from a table address: the fake uses a fixed string */
    const char *b = m->boundary ? m->boundary : "kgc-fake-boundary";
    struct kf_buf o = {0};
    bool any = false;
    for (size_t i = 1; i < m->cap && m->data[i]; i++) {
        const struct mp_part *p = m->data[i];
        if (!p->value) {
            continue;
        }
        any = true;
        kf_buf_puts(&o, "--");
        kf_buf_puts(&o, b);
        kf_buf_puts(&o, "\r\n");
        for (size_t h = 0; h < p->nh; h++) {
            kf_buf_puts(&o, p->headers[h]);
            kf_buf_puts(&o, "\r\n");
        }
        kf_buf_puts(&o, "\r\n");
        kf_buf_puts(&o, p->value);
        kf_buf_puts(&o, "\r\n");
    }
    if (any) {
        kf_buf_puts(&o, "--");
        kf_buf_puts(&o, b);
        kf_buf_puts(&o, "--\r\n");
    }
    return kf_buf_take(&o);
}

#include "table.h"

#include "jsonutil.h"
#include "objstore_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JP_MAX_DEPTH 32

void fas_human_duration(long long s, char *buf, size_t size)
{
    if (s < -1) {
        snprintf(buf, size, "<invalid>");
        return;
    }
    if (s < 0)
        s = 0;
    long long m = s / 60, h = s / 3600, d = h / 24;
    if (s < 120)
        snprintf(buf, size, "%llds", s);
    else if (m < 10)
        s % 60 ? snprintf(buf, size, "%lldm%llds", m, s % 60) : snprintf(buf, size, "%lldm", m);
    else if (m < 180)
        snprintf(buf, size, "%lldm", m);
    else if (h < 8)
        m % 60 ? snprintf(buf, size, "%lldh%lldm", h, m % 60) : snprintf(buf, size, "%lldh", h);
    else if (h < 48)
        snprintf(buf, size, "%lldh", h);
    else if (h < 24 * 8)
        h % 24 ? snprintf(buf, size, "%lldd%lldh", d, h % 24) : snprintf(buf, size, "%lldd", d);
    else if (h < 24 * 365 * 2)
        snprintf(buf, size, "%lldd", d);
    else if (h < 24 * 365 * 8)
        d % 365 ? snprintf(buf, size, "%lldy%lldd", d / 365, d % 365)
                : snprintf(buf, size, "%lldy", d / 365);
    else
        snprintf(buf, size, "%lldy", d / 365);
}

static bool parse_rfc3339(const char *s, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    return true;
}

/* ---- JSONPath subset ------------------------------------------------------------------------ */

static json_object *jp_eval(json_object *cur, const char *p, int depth);

/* Reads a dotted name at p into buf (up to a char in stops); returns the position after it. */
static const char *jp_name(const char *p, char *buf, size_t size, const char *stops)
{
    size_t n = 0;
    while (*p && !strchr(stops, *p) && n + 1 < size)
        buf[n++] = *p++;
    buf[n] = '\0';
    return p;
}

/* [?(@.a.b=="v")] or with single quotes: does elem match? end receives the position after ']'. */
static bool jp_filter(json_object *elem, const char *p, const char **end)
{
    if (strncmp(p, "[?(@", 4) != 0)
        return false;
    const char *q = p + 4;
    json_object *v = elem;
    char name[128];
    while (*q == '.') {
        q = jp_name(q + 1, name, sizeof(name), ".[=!)");
        v = fas_json_get(v, name);
    }
    if (strncmp(q, "==", 2) != 0)
        return false;
    q += 2;
    char quote = *q;
    if (quote != '"' && quote != '\'')
        return false;
    const char *vs = ++q;
    while (*q && *q != quote)
        q++;
    size_t vl = (size_t)(q - vs);
    if (*q)
        q++;
    if (strncmp(q, ")]", 2) == 0)
        *end = q + 2;
    const char *have =
        v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    return have && strlen(have) == vl && strncmp(have, vs, vl) == 0;
}

static json_object *jp_eval(json_object *cur, const char *p, int depth)
{
    if (!cur || depth > JP_MAX_DEPTH)
        return NULL;
    if (*p == '\0')
        return cur;
    if (*p == '.') {
        char name[256];
        const char *next = jp_name(p + 1, name, sizeof(name), ".[");
        if (!name[0])
            return jp_eval(cur, next, depth + 1);
        return jp_eval(fas_json_get(cur, name), next, depth + 1);
    }
    if (*p != '[')
        return NULL;
    if (strncmp(p, "[*]", 3) == 0) {
        if (json_object_is_type(cur, json_type_array)) {
            for (size_t i = 0; i < json_object_array_length(cur); i++) {
                json_object *r = jp_eval(json_object_array_get_idx(cur, i), p + 3, depth + 1);
                if (r)
                    return r;
            }
        } else if (json_object_is_type(cur, json_type_object)) {
            json_object_object_foreach(cur, k, v)
            {
                (void)k;
                json_object *r = jp_eval(v, p + 3, depth + 1);
                if (r)
                    return r;
            }
        }
        return NULL;
    }
    if (strncmp(p, "[?(", 3) == 0) {
        const char *close = strstr(p, ")]");
        if (!close || !json_object_is_type(cur, json_type_array))
            return NULL;
        const char *rest = close + 2;
        for (size_t i = 0; i < json_object_array_length(cur); i++) {
            json_object *e = json_object_array_get_idx(cur, i);
            const char *end = rest;
            if (jp_filter(e, p, &end)) {
                json_object *r = jp_eval(e, rest, depth + 1);
                if (r)
                    return r;
            }
        }
        return NULL;
    }
    char *endp = NULL;
    long idx = strtol(p + 1, &endp, 10);
    if (!endp || *endp != ']' || !json_object_is_type(cur, json_type_array))
        return NULL;
    size_t len = json_object_array_length(cur);
    if (idx < 0)
        idx += (long)len;
    if (idx < 0 || (size_t)idx >= len)
        return NULL;
    return jp_eval(json_object_array_get_idx(cur, (size_t)idx), endp + 1, depth + 1);
}

json_object *fas_jsonpath_first(json_object *obj, const char *path)
{
    if (!path)
        return NULL;
    if (path[0] == '{') { /* {.a.b} */
        char tmp[512];
        size_t n = strlen(path);
        if (n < 2 || path[n - 1] != '}' || n - 2 >= sizeof(tmp))
            return NULL;
        memcpy(tmp, path + 1, n - 2);
        tmp[n - 2] = '\0';
        return jp_eval(obj, tmp, 0);
    }
    return jp_eval(obj, path, 0);
}

/* ---- rendering ------------------------------------------------------------------------------ */

static void column_def(struct fas_buf *b, const char *name, const char *type, const char *format,
                       const char *description, long long priority, bool first)
{
    fas_buf_puts(b, first ? "{\"name\":" : ",{\"name\":");
    fas_buf_json_string(b, name);
    fas_buf_puts(b, ",\"type\":");
    fas_buf_json_string(b, type);
    fas_buf_puts(b, ",\"format\":");
    fas_buf_json_string(b, format ? format : "");
    fas_buf_puts(b, ",\"description\":");
    fas_buf_json_string(b, description ? description : "");
    fas_buf_printf(b, ",\"priority\":%lld}", priority);
}

static void age_cell(struct fas_buf *b, const char *ts, time_t now)
{
    time_t t;
    if (!parse_rfc3339(ts, &t)) {
        fas_buf_puts(b, "\"<unknown>\"");
        return;
    }
    char age[32];
    fas_human_duration((long long)(now - t), age, sizeof(age));
    fas_buf_json_string(b, age);
}

static void value_cell(struct fas_buf *b, json_object *v, const char *type, time_t now)
{
    if (!v) {
        fas_buf_puts(b, "null");
        return;
    }
    if (type && strcmp(type, "date") == 0 && json_object_is_type(v, json_type_string)) {
        age_cell(b, json_object_get_string(v), now);
        return;
    }
    if (type && strcmp(type, "string") == 0 && !json_object_is_type(v, json_type_string)) {
        size_t n = 0;
        const char *t = fas_json_text(v, &n);
        fas_buf_json_string(b, t ? t : "");
        return;
    }
    size_t n = 0;
    const char *t = fas_json_text(v, &n);
    fas_buf_append(b, t, n);
}

char *fas_table_render(const struct fas_rtype *rt, const struct fas_rversion *ver,
                       struct fas_obj *const *objs, size_t n, const char *rv, const char *cont,
                       size_t *len)
{
    struct fas_buf b;
    fas_buf_init(&b);
    time_t now = time(NULL);
    json_object *cols = ver->columns;
    size_t ncols =
        cols && json_object_is_type(cols, json_type_array) ? json_object_array_length(cols) : 0;
    fas_buf_puts(&b, "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{");
    fas_buf_puts(&b, "\"resourceVersion\":");
    fas_buf_json_string(&b, rv ? rv : "");
    if (cont) {
        fas_buf_puts(&b, ",\"continue\":");
        fas_buf_json_string(&b, cont);
    }
    fas_buf_puts(&b, "},\"columnDefinitions\":[");
    column_def(&b, "Name", "string", "name",
               "Name must be unique within a namespace. Is required when creating resources, "
               "although some resources may allow a client to request the generation of an "
               "appropriate name automatically. Name is primarily intended for creation "
               "idempotence and configuration definition. Cannot be updated. More info: "
               "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
               0, true);
    for (size_t i = 0; i < ncols; i++) {
        json_object *c = json_object_array_get_idx(cols, i);
        json_object *prio = fas_json_get(c, "priority");
        column_def(&b, fas_json_str(c, "name") ? fas_json_str(c, "name") : "",
                   fas_json_str(c, "type") ? fas_json_str(c, "type") : "string",
                   fas_json_str(c, "format"), fas_json_str(c, "description"),
                   prio ? (long long)json_object_get_int64(prio) : 0, false);
    }
    if (!ncols)
        column_def(&b, "Age", "date", "",
                   "CreationTimestamp is a timestamp representing the server time when this "
                   "object was created.",
                   0, false);
    fas_buf_puts(&b, "],\"rows\":[");
    for (size_t i = 0; i < n; i++) {
        const struct fas_obj *o = objs[i];
        char err[128];
        json_object *t = fas_json_parse(o->json, o->len, err, sizeof(err));
        fas_buf_puts(&b, i ? ",{\"cells\":[" : "{\"cells\":[");
        fas_buf_json_string(&b, o->name);
        for (size_t k = 0; k < ncols; k++) {
            json_object *c = json_object_array_get_idx(cols, k);
            fas_buf_puts(&b, ",");
            value_cell(&b, fas_jsonpath_first(t, fas_json_str(c, "jsonPath")),
                       fas_json_str(c, "type"), now);
        }
        if (!ncols) {
            fas_buf_puts(&b, ",");
            age_cell(&b, o->created, now);
        }
        fas_buf_puts(&b, "],\"object\":{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":"
                         "\"meta.k8s.io/v1\",\"metadata\":");
        json_object *md = fas_json_get(t, "metadata");
        size_t ml = 0;
        const char *mt = md ? fas_json_text(md, &ml) : "{}";
        fas_buf_append(&b, mt, md ? ml : 2);
        fas_buf_puts(&b, "}}");
        json_object_put(t);
    }
    fas_buf_puts(&b, "]}");
    (void)rt;
    return fas_buf_take(&b, len);
}

/* The Prometheus text format writer: HELP/TYPE lines, escaping, sample values, histograms. */
#include "kgc/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kgc_metrics_writer_init(struct kgc_metrics_writer *w, size_t max_bytes)
{
    memset(w, 0, sizeof(*w));
    w->max_bytes = max_bytes ? max_bytes : KGC_METRICS_DEFAULT_MAX_BYTES;
    kgc_base_buf_init(&w->text, w->max_bytes);
}

void kgc_metrics_writer_release(struct kgc_metrics_writer *w)
{
    kgc_base_buf_free(&w->text);
    kgc_metrics_writer_init(w, w->max_bytes);
}

static void fail(struct kgc_metrics_writer *w, int code)
{
    if (!w->error)
        w->error = code;
}

/* Appends n bytes; over max_bytes (KGC_E2BIG) or out of memory, the writer fails. */
static void put(struct kgc_metrics_writer *w, const char *s, size_t n)
{
    if (w->error)
        return;
    int rc = kgc_base_buf_add(&w->text, s, n);
    if (rc)
        fail(w, rc);
}

static void puts_(struct kgc_metrics_writer *w, const char *s)
{
    put(w, s, strlen(s));
}

/* Escapes for label values (quote too) or HELP text (no quote): \\, \n, and \" for values. */
static void put_escaped(struct kgc_metrics_writer *w, const char *s, bool quote)
{
    const char *run = s;
    for (const char *p = s; *p; p++) {
        const char *esc = NULL;
        if (*p == '\\')
            esc = "\\\\";
        else if (*p == '\n')
            esc = "\\n";
        else if (quote && *p == '"')
            esc = "\\\"";
        if (!esc)
            continue;
        put(w, run, (size_t)(p - run));
        puts_(w, esc);
        run = p + 1;
    }
    puts_(w, run);
}

static bool valid_name(const char *s, bool colon)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool letter =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
        bool digit = c >= '0' && c <= '9';
        if (!letter && !(digit && p != s))
            return false;
    }
    return true;
}

/* Shortest text that reads back as v (Prometheus parses values with Go's ParseFloat). */
static void format_value(double v, char *buf, size_t size)
{
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) <= 9007199254740992.0) {
        snprintf(buf, size, "%.0f", v);
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static const char *type_name(enum kgc_metrics_type t)
{
    switch (t) {
    case KGC_METRICS_COUNTER:
        return "counter";
    case KGC_METRICS_GAUGE:
        return "gauge";
    case KGC_METRICS_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

void kgc_metrics_family(struct kgc_metrics_writer *w, const char *name, enum kgc_metrics_type type,
                        const char *help)
{
    if (w->error)
        return;
    if (!valid_name(name, true) || strlen(name) >= sizeof(w->family)) {
        fail(w, KGC_EINVAL);
        return;
    }
    snprintf(w->family, sizeof(w->family), "%s", name);
    w->type = type;
    puts_(w, "# HELP ");
    puts_(w, name);
    puts_(w, " ");
    put_escaped(w, help ? help : "", false);
    puts_(w, "\n# TYPE ");
    puts_(w, name);
    puts_(w, " ");
    puts_(w, type_name(type));
    puts_(w, "\n");
}

/* `{a="x",b="y"` plus the extra le label when given, then `}`; nothing when there are none. */
static void put_labels(struct kgc_metrics_writer *w, const struct kgc_metrics_label *labels,
                       size_t n, const char *le)
{
    if (n == 0 && !le)
        return;
    puts_(w, "{");
    for (size_t i = 0; i < n; i++) {
        if (!valid_name(labels[i].name, false) || strcmp(labels[i].name, "le") == 0) {
            fail(w, KGC_EINVAL);
            return;
        }
        if (i)
            puts_(w, ",");
        puts_(w, labels[i].name);
        puts_(w, "=\"");
        put_escaped(w, labels[i].value ? labels[i].value : "", true);
        puts_(w, "\"");
    }
    if (le) {
        puts_(w, n ? ",le=\"" : "le=\"");
        puts_(w, le);
        puts_(w, "\"");
    }
    puts_(w, "}");
}

static void put_line(struct kgc_metrics_writer *w, const char *suffix,
                     const struct kgc_metrics_label *labels, size_t n, const char *le, double v)
{
    char num[64];
    format_value(v, num, sizeof(num));
    puts_(w, w->family);
    puts_(w, suffix);
    put_labels(w, labels, n, le);
    puts_(w, " ");
    puts_(w, num);
    puts_(w, "\n");
}

void kgc_metrics_sample(struct kgc_metrics_writer *w, const struct kgc_metrics_label *labels,
                        size_t n_labels, double value)
{
    if (w->error)
        return;
    if (!w->family[0] || w->type == KGC_METRICS_HISTOGRAM) {
        fail(w, KGC_EINVAL);
        return;
    }
    put_line(w, "", labels, n_labels, NULL, value);
}

void kgc_metrics_histogram(struct kgc_metrics_writer *w, const struct kgc_metrics_label *labels,
                           size_t n_labels, const double *bounds, const uint64_t *counts,
                           size_t n_buckets, uint64_t count, double sum)
{
    if (w->error)
        return;
    if (!w->family[0] || w->type != KGC_METRICS_HISTOGRAM) {
        fail(w, KGC_EINVAL);
        return;
    }
    uint64_t cumulative = 0;
    char le[64];
    for (size_t i = 0; i < n_buckets; i++) {
        if (i && !(bounds[i] > bounds[i - 1])) {
            fail(w, KGC_EINVAL);
            return;
        }
        cumulative += counts[i];
        format_value(bounds[i], le, sizeof(le));
        put_line(w, "_bucket", labels, n_labels, le, (double)cumulative);
    }
    /* The stats are read without one lock over both; never let +Inf fall below a bucket. */
    if (count < cumulative)
        count = cumulative;
    put_line(w, "_bucket", labels, n_labels, "+Inf", (double)count);
    put_line(w, "_sum", labels, n_labels, NULL, sum);
    put_line(w, "_count", labels, n_labels, NULL, (double)count);
}

int kgc_metrics_writer_finish(struct kgc_metrics_writer *w, char **out, size_t *len)
{
    *out = NULL;
    if (len)
        *len = 0;
    int rc = w->error;
    if (!rc && !(*out = kgc_base_buf_take(&w->text, len)))
        rc = KGC_ENOMEM; /* "" of an empty exposition could not be allocated */
    kgc_metrics_writer_release(w);
    return rc;
}

const double *kgc_metrics_workqueue_bounds(void)
{
    static const double bounds[KGC_WORKQUEUE_BUCKETS] = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2,
                                                         1e-1, 1,    10,   100};
    return bounds;
}

/* metrics: the Prometheus text writer (HELP/TYPE, label and help escaping, values, histograms,
 * errors, the size cap), kgc's families from synthetic stats, and a snapshot taken from live
 * modules. Every exposition goes through a text-format checker written here: each sample line
 * parses as `name{labels} value`, each family has HELP and TYPE before its samples, samples are
 * grouped by family, no series repeats, histogram buckets are cumulative and end with
 * le="+Inf" equal to _count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kgc/listenercache.h"
#include "kgc/log.h"
#include "kgc/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the text-format checker -------------------------------------------------------------------
 */

#define MAX_FAMILIES 128
#define MAX_SERIES   2048
#define MAX_LABELS   8

struct family {
    char name[128];
    char type[16];
    bool help, typed;
};

struct hist_series {
    char family[128];
    char key[512]; /* labels without le */
    double last_le, last_count;
    int buckets;
    bool inf_seen;
    double inf_count;
    bool has_sum, has_count;
    double count;
};

struct checker {
    struct family fam[MAX_FAMILIES];
    int n_fam;
    int current; /* index of the family whose samples come now, -1 none */
    char (*series)[640];
    int n_series;
    struct hist_series hist[256];
    int n_hist;
    int samples;
    char why[512];
};

static bool name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

static int find_family(struct checker *c, const char *name)
{
    for (int i = 0; i < c->n_fam; i++)
        if (strcmp(c->fam[i].name, name) == 0)
            return i;
    return -1;
}

static bool fail_line(struct checker *c, int lineno, const char *line, const char *what)
{
    char msg[sizeof(c->why)];
    snprintf(msg, sizeof(msg), "line %d: %s: %.200s", lineno, what, line);
    memcpy(c->why, msg, sizeof(msg));
    return false;
}

static bool parse_value(const char *s, double *v)
{
    if (strcmp(s, "+Inf") == 0) {
        *v = INFINITY;
        return true;
    }
    if (strcmp(s, "-Inf") == 0) {
        *v = -INFINITY;
        return true;
    }
    if (strcmp(s, "NaN") == 0) {
        *v = NAN;
        return true;
    }
    char *end;
    *v = strtod(s, &end);
    return end != s && *end == '\0';
}

static bool check_meta(struct checker *c, int lineno, const char *line)
{
    bool help = strncmp(line, "# HELP ", 7) == 0;
    bool type = strncmp(line, "# TYPE ", 7) == 0;
    if (!help && !type)
        return true; /* a comment */
    const char *p = line + 7;
    char name[128];
    size_t n = 0;
    while (p[n] && p[n] != ' ' && n < sizeof(name) - 1) {
        if (!name_char(p[n], n == 0))
            return fail_line(c, lineno, line, "bad metric name");
        name[n] = p[n];
        n++;
    }
    name[n] = '\0';
    if (!n || p[n] != ' ')
        return fail_line(c, lineno, line, "HELP/TYPE without a name and text");
    int f = find_family(c, name);
    if (f < 0) {
        if (c->n_fam == MAX_FAMILIES)
            return fail_line(c, lineno, line, "too many families");
        f = c->n_fam++;
        snprintf(c->fam[f].name, sizeof(c->fam[f].name), "%s", name);
    } else if (f != c->current) {
        return fail_line(c, lineno, line, "family declared twice");
    }
    c->current = f;
    const char *rest = p + n + 1;
    if (help) {
        if (c->fam[f].help)
            return fail_line(c, lineno, line, "two HELP lines");
        for (const char *q = rest; *q; q++)
            if (*q == '\\' && q[1] != '\\' && q[1] != 'n')
                return fail_line(c, lineno, line, "bad escape in HELP");
            else if (*q == '\\')
                q++;
        c->fam[f].help = true;
    } else {
        if (c->fam[f].typed)
            return fail_line(c, lineno, line, "two TYPE lines");
        if (strcmp(rest, "counter") != 0 && strcmp(rest, "gauge") != 0 &&
            strcmp(rest, "histogram") != 0 && strcmp(rest, "summary") != 0 &&
            strcmp(rest, "untyped") != 0)
            return fail_line(c, lineno, line, "unknown type");
        snprintf(c->fam[f].type, sizeof(c->fam[f].type), "%s", rest);
        c->fam[f].typed = true;
    }
    return true;
}

static struct hist_series *hist_for(struct checker *c, const char *family, const char *key)
{
    for (int i = 0; i < c->n_hist; i++)
        if (strcmp(c->hist[i].family, family) == 0 && strcmp(c->hist[i].key, key) == 0)
            return &c->hist[i];
    if (c->n_hist == 256)
        return NULL;
    struct hist_series *h = &c->hist[c->n_hist++];
    memset(h, 0, sizeof(*h));
    memcpy(h->family, family, strnlen(family, sizeof(h->family) - 1));
    memcpy(h->key, key, strnlen(key, sizeof(h->key) - 1));
    h->last_le = -INFINITY;
    return h;
}

static bool check_sample(struct checker *c, int lineno, const char *line)
{
    char name[128];
    size_t n = 0;
    const char *p = line;
    while (name_char(*p, n == 0) && n < sizeof(name) - 1)
        name[n++] = *p++;
    name[n] = '\0';
    if (!n)
        return fail_line(c, lineno, line, "no metric name");
    char lnames[MAX_LABELS][64], lvals[MAX_LABELS][256];
    int nl = 0;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            if (nl == MAX_LABELS)
                return fail_line(c, lineno, line, "too many labels");
            size_t k = 0;
            while (name_char(*p, k == 0) && *p != ':' && k < 63)
                lnames[nl][k++] = *p++;
            lnames[nl][k] = '\0';
            if (!k || *p++ != '=' || *p++ != '"')
                return fail_line(c, lineno, line, "bad label");
            for (int j = 0; j < nl; j++)
                if (strcmp(lnames[j], lnames[nl]) == 0)
                    return fail_line(c, lineno, line, "label repeated");
            size_t v = 0;
            while (*p && *p != '"') {
                if (*p == '\\') {
                    p++;
                    if (*p != '\\' && *p != '"' && *p != 'n')
                        return fail_line(c, lineno, line, "bad escape in a label value");
                }
                if (*p == '\n' || !*p)
                    return fail_line(c, lineno, line, "unterminated label value");
                if (v < 255)
                    lvals[nl][v++] = *p;
                p++;
            }
            lvals[nl][v] = '\0';
            if (*p++ != '"')
                return fail_line(c, lineno, line, "unterminated label value");
            nl++;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return fail_line(c, lineno, line, "bad label list");
        }
        p++;
    }
    if (*p++ != ' ')
        return fail_line(c, lineno, line, "no space before the value");
    double value;
    if (!parse_value(p, &value))
        return fail_line(c, lineno, line, "bad value (or a timestamp)");

    /* The family: the name itself, or for histograms the name without its suffix. */
    if (c->current < 0)
        return fail_line(c, lineno, line, "sample before any HELP/TYPE");
    struct family *f = &c->fam[c->current];
    if (!f->help || !f->typed)
        return fail_line(c, lineno, line, "family without HELP and TYPE");
    const char *suffix = "";
    if (strcmp(f->type, "histogram") == 0) {
        size_t fl = strlen(f->name);
        if (strncmp(name, f->name, fl) != 0)
            return fail_line(c, lineno, line, "sample outside its family's group");
        suffix = name + fl;
        if (strcmp(suffix, "_bucket") != 0 && strcmp(suffix, "_sum") != 0 &&
            strcmp(suffix, "_count") != 0)
            return fail_line(c, lineno, line, "histogram sample without _bucket/_sum/_count");
    } else if (strcmp(name, f->name) != 0) {
        return fail_line(c, lineno, line, "sample outside its family's group");
    }
    if (strcmp(f->type, "counter") == 0 && (value < 0 || isnan(value)))
        return fail_line(c, lineno, line, "negative counter");

    /* Unique series: name + sorted-as-written labels. */
    char key[640];
    int kl = snprintf(key, sizeof(key), "%s", name);
    char nokey[512] = "";
    int nk = 0;
    const char *le = NULL;
    for (int i = 0; i < nl; i++) {
        kl += snprintf(key + kl, sizeof(key) - (size_t)kl, "|%s=%s", lnames[i], lvals[i]);
        if (strcmp(lnames[i], "le") == 0)
            le = lvals[i];
        else
            nk += snprintf(nokey + nk, sizeof(nokey) - (size_t)nk, "|%s=%s", lnames[i], lvals[i]);
    }
    for (int i = 0; i < c->n_series; i++)
        if (strcmp(c->series[i], key) == 0)
            return fail_line(c, lineno, line, "series repeated");
    if (c->n_series == MAX_SERIES)
        return fail_line(c, lineno, line, "too many series");
    snprintf(c->series[c->n_series++], sizeof(c->series[0]), "%s", key);

    if (*suffix) {
        struct hist_series *h = hist_for(c, f->name, nokey);
        if (!h)
            return fail_line(c, lineno, line, "too many histogram series");
        if (strcmp(suffix, "_bucket") == 0) {
            double bound;
            if (!le || !parse_value(le, &bound))
                return fail_line(c, lineno, line, "bucket without a numeric le");
            if (h->inf_seen)
                return fail_line(c, lineno, line, "bucket after le=\"+Inf\"");
            if (!(bound > h->last_le))
                return fail_line(c, lineno, line, "le not increasing");
            if (value < h->last_count)
                return fail_line(c, lineno, line, "buckets not cumulative");
            h->last_le = bound;
            h->last_count = value;
            h->buckets++;
            if (isinf(bound)) {
                h->inf_seen = true;
                h->inf_count = value;
            }
        } else if (le) {
            return fail_line(c, lineno, line, "le on _sum/_count");
        } else if (strcmp(suffix, "_sum") == 0) {
            h->has_sum = true;
        } else {
            h->has_count = true;
            h->count = value;
        }
    } else if (le) {
        return fail_line(c, lineno, line, "le label outside a histogram");
    }
    c->samples++;
    return true;
}

/* Returns NULL when text is a valid exposition, else a static-ish reason (in c). The caller
 * frees nothing: the checker lives in *c. */
static const char *check_exposition(struct checker *c, const char *text)
{
    memset(c, 0, sizeof(*c));
    c->current = -1;
    c->series = calloc(MAX_SERIES, sizeof(*c->series));
    assert_non_null(c->series);
    const char *why = NULL;
    size_t len = strlen(text);
    if (len && text[len - 1] != '\n') {
        snprintf(c->why, sizeof(c->why), "the text does not end with a newline");
        why = c->why;
    }
    int lineno = 0;
    for (const char *line = text; !why && *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        char *l = strndup(line, n);
        assert_non_null(l);
        lineno++;
        bool ok = true;
        if (n == 0)
            ok = true;
        else if (l[0] == '#')
            ok = check_meta(c, lineno, l);
        else
            ok = check_sample(c, lineno, l);
        free(l);
        if (!ok)
            why = c->why;
        line += n + (nl ? 1 : 0);
    }
    for (int i = 0; !why && i < c->n_fam; i++) {
        if (!c->fam[i].help || !c->fam[i].typed) {
            snprintf(c->why, sizeof(c->why), "family %s lacks HELP or TYPE", c->fam[i].name);
            why = c->why;
        }
    }
    for (int i = 0; !why && i < c->n_hist; i++) {
        struct hist_series *h = &c->hist[i];
        if (!h->inf_seen || !h->has_sum || !h->has_count || h->inf_count != h->count) {
            snprintf(c->why, sizeof(c->why),
                     "histogram %s{%s}: +Inf bucket %s, _sum %s, _count %s, +Inf %g vs count %g",
                     h->family, h->key, h->inf_seen ? "ok" : "missing",
                     h->has_sum ? "ok" : "missing", h->has_count ? "ok" : "missing", h->inf_count,
                     h->count);
            why = c->why;
        }
    }
    free(c->series);
    c->series = NULL;
    return why;
}

static void assert_valid(const char *text)
{
    struct checker *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    const char *why = check_exposition(c, text);
    if (why) {
        print_message("%s\n", text);
        fail_msg("invalid exposition: %s", why);
    }
    free(c);
}

static bool is_valid(const char *text)
{
    struct checker *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    bool ok = check_exposition(c, text) == NULL;
    free(c);
    return ok;
}

/* The value of the sample line that starts with `series ` (exact name and labels), or NAN. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, series, n) == 0 && l[n] == ' ')
            return strtod(l + n + 1, NULL);
    }
    return NAN;
}

static bool has_family(const char *text, const char *name, const char *type)
{
    char want[256];
    snprintf(want, sizeof(want), "# TYPE %s %s\n", name, type);
    return strstr(text, want) != NULL;
}

/* --- the checker itself must reject what Prometheus rejects --------------------------------- */

static void test_checker_rejects_bad_expositions(void **state)
{
    (void)state;
    assert_true(is_valid("# HELP a x\n# TYPE a counter\na 1\n"));
    assert_false(is_valid("a 1\n"));                                          /* no HELP/TYPE */
    assert_false(is_valid("# HELP a x\n# TYPE a counter\na{b=\"1} 1\n"));     /* unterminated */
    assert_false(is_valid("# HELP a x\n# TYPE a counter\na{b=\"\\x\"} 1\n")); /* bad escape */
    assert_false(is_valid("# HELP a x\n# TYPE a counter\na one\n"));          /* bad value */
    assert_false(is_valid("# HELP a x\n# TYPE a counter\na 1\na 2\n"));       /* repeated */
    assert_false(is_valid("# HELP a x\n# TYPE a counter\nb 1\n"));            /* wrong family */
    assert_false(is_valid("# HELP a x\n# TYPE a counter\na 1"));              /* no final newline */
    assert_false(is_valid("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
                          "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n")); /* not cumulative */
    assert_false(is_valid("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\n"
                          "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n")); /* +Inf != count */
    assert_false(is_valid("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\n"
                          "h_sum 1\nh_count 1\n")); /* no +Inf */
    assert_true(is_valid("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\n"
                         "h_bucket{le=\"+Inf\"} 2\nh_sum 1.5\nh_count 2\n"));
}

/* --- the writer ------------------------------------------------------------------------------- */

static char *finish(struct kgc_metrics_writer *w)
{
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(kgc_metrics_writer_finish(w, &out, &len), 0);
    assert_int_equal(len, strlen(out));
    return out;
}

static void test_writer_exact_text(void **state)
{
    (void)state;
    struct kgc_metrics_writer w;
    kgc_metrics_writer_init(&w, 0);
    kgc_metrics_family(&w, "kgc_things_total", KGC_METRICS_COUNTER,
                       "Things, with a \\ and\na line.");
    struct kgc_metrics_label l[2] = {{"name", "a\"b\\c\nd"}, {"kind", "x"}};
    kgc_metrics_sample(&w, l, 2, 42);
    kgc_metrics_family(&w, "kgc_level", KGC_METRICS_GAUGE, "A level.");
    kgc_metrics_sample(&w, NULL, 0, 0.25);
    kgc_metrics_family(&w, "kgc_odd", KGC_METRICS_GAUGE, "Odd values.");
    struct kgc_metrics_label o = {"v", "inf"};
    kgc_metrics_sample(&w, &o, 1, INFINITY);
    o.value = "nan";
    kgc_metrics_sample(&w, &o, 1, NAN);
    o.value = "tenth";
    kgc_metrics_sample(&w, &o, 1, 0.1);
    o.value = "big";
    kgc_metrics_sample(&w, &o, 1, 18446744073709551615.0);
    char *text = finish(&w);
    const char *want = "# HELP kgc_things_total Things, with a \\\\ and\\na line.\n"
                       "# TYPE kgc_things_total counter\n"
                       "kgc_things_total{name=\"a\\\"b\\\\c\\nd\",kind=\"x\"} 42\n"
                       "# HELP kgc_level A level.\n"
                       "# TYPE kgc_level gauge\n"
                       "kgc_level 0.25\n"
                       "# HELP kgc_odd Odd values.\n"
                       "# TYPE kgc_odd gauge\n"
                       "kgc_odd{v=\"inf\"} +Inf\n"
                       "kgc_odd{v=\"nan\"} NaN\n"
                       "kgc_odd{v=\"tenth\"} 0.1\n"
                       "kgc_odd{v=\"big\"} 1.8446744073709552e+19\n";
    assert_string_equal(text, want);
    assert_valid(text);
    free(text);
}

static void test_writer_histogram(void **state)
{
    (void)state;
    struct kgc_metrics_writer w;
    kgc_metrics_writer_init(&w, 0);
    kgc_metrics_family(&w, "kgc_wait_seconds", KGC_METRICS_HISTOGRAM, "Waits.");
    const double bounds[3] = {0.001, 0.1, 10};
    const uint64_t counts[3] = {2, 0, 5}; /* non-cumulative */
    struct kgc_metrics_label l = {"name", "gateway"};
    kgc_metrics_histogram(&w, &l, 1, bounds, counts, 3, 9, 12.5); /* 2 above the last bound */
    kgc_metrics_histogram(&w, NULL, 0, bounds, counts, 3, 7, 1);
    char *text = finish(&w);
    assert_valid(text);
    assert_true(value_of(text, "kgc_wait_seconds_bucket{name=\"gateway\",le=\"0.001\"}") == 2);
    assert_true(value_of(text, "kgc_wait_seconds_bucket{name=\"gateway\",le=\"0.1\"}") == 2);
    assert_true(value_of(text, "kgc_wait_seconds_bucket{name=\"gateway\",le=\"10\"}") == 7);
    assert_true(value_of(text, "kgc_wait_seconds_bucket{name=\"gateway\",le=\"+Inf\"}") == 9);
    assert_true(value_of(text, "kgc_wait_seconds_sum{name=\"gateway\"}") == 12.5);
    assert_true(value_of(text, "kgc_wait_seconds_count{name=\"gateway\"}") == 9);
    assert_true(value_of(text, "kgc_wait_seconds_bucket{le=\"+Inf\"}") == 7);
    assert_true(value_of(text, "kgc_wait_seconds_count") == 7);
    free(text);

    /* A racy read with count below the buckets' sum still ends cumulative. */
    kgc_metrics_writer_init(&w, 0);
    kgc_metrics_family(&w, "kgc_h", KGC_METRICS_HISTOGRAM, "H.");
    kgc_metrics_histogram(&w, NULL, 0, bounds, counts, 3, 3, 0);
    text = finish(&w);
    assert_valid(text);
    assert_true(value_of(text, "kgc_h_count") == 7);
    free(text);
}

static void test_writer_errors(void **state)
{
    (void)state;
    struct kgc_metrics_writer w;
    char *out = (char *)1;
    size_t len = 7;

    kgc_metrics_writer_init(&w, 0);
    kgc_metrics_family(&w, "9bad", KGC_METRICS_GAUGE, "x");
    assert_int_equal(kgc_metrics_writer_finish(&w, &out, &len), KGC_EINVAL);
    assert_null(out);
    assert_int_equal(len, 0);

    kgc_metrics_writer_init(&w, 0);
    kgc_metrics_sample(&w, NULL, 0, 1); /* outside a family */
    assert_int_equal(kgc_metrics_writer_finish(&w, &out, NULL), KGC_EINVAL);

    kgc_metrics_writer_init(&w, 0);
    kgc_metrics_family(&w, "kgc_g", KGC_METRICS_GAUGE, "x");
    struct kgc_metrics_label le = {"le", "1"};
    kgc_metrics_sample(&w, &le, 1, 1); /* le is reserved */
    assert_int_equal(kgc_metrics_writer_finish(&w, &out, NULL), KGC_EINVAL);

    kgc_metrics_writer_init(&w, 0);
    kgc_metrics_family(&w, "kgc_g", KGC_METRICS_GAUGE, "x");
    struct kgc_metrics_label bad = {"a-b", "1"};
    kgc_metrics_sample(&w, &bad, 1, 1);
    assert_int_equal(kgc_metrics_writer_finish(&w, &out, NULL), KGC_EINVAL);

    kgc_metrics_writer_init(&w, 0);
    kgc_metrics_family(&w, "kgc_g", KGC_METRICS_GAUGE, "x");
    const double b[1] = {1};
    const uint64_t c[1] = {1};
    kgc_metrics_histogram(&w, NULL, 0, b, c, 1, 1, 1); /* a histogram in a gauge family */
    assert_int_equal(kgc_metrics_writer_finish(&w, &out, NULL), KGC_EINVAL);

    kgc_metrics_writer_init(&w, 0);
    kgc_metrics_family(&w, "kgc_h", KGC_METRICS_HISTOGRAM, "x");
    const double dec[2] = {2, 1};
    const uint64_t cc[2] = {1, 1};
    kgc_metrics_histogram(&w, NULL, 0, dec, cc, 2, 2, 1); /* bounds not increasing */
    assert_int_equal(kgc_metrics_writer_finish(&w, &out, NULL), KGC_EINVAL);

    /* The cap: a writer stops at max_bytes and says so. */
    kgc_metrics_writer_init(&w, 256);
    kgc_metrics_family(&w, "kgc_g", KGC_METRICS_GAUGE, "x");
    for (int i = 0; i < 100; i++) {
        char v[16];
        snprintf(v, sizeof(v), "%d", i);
        struct kgc_metrics_label l = {"i", v};
        kgc_metrics_sample(&w, &l, 1, i);
    }
    assert_int_equal(kgc_metrics_writer_finish(&w, &out, NULL), KGC_E2BIG);

    /* An abandoned writer is released without a leak; an empty one finishes as "". */
    kgc_metrics_writer_init(&w, 0);
    kgc_metrics_family(&w, "kgc_g", KGC_METRICS_GAUGE, "x");
    kgc_metrics_writer_release(&w);
    kgc_metrics_writer_init(&w, 0);
    assert_int_equal(kgc_metrics_writer_finish(&w, &out, &len), 0);
    assert_string_equal(out, "");
    free(out);
}

/* --- kgc's families from synthetic stats ------------------------------------------------------ */

static void fill_synthetic(struct kgc_metrics_snapshot *s)
{
    memset(s, 0, sizeof(*s));
    s->version = "1.2.3";
    s->leader = true;
    static const char *const names[] = {"gatewayclass", "gateway", "httproute"};
    for (int i = 0; i < 3; i++) {
        struct kgc_metrics_controller *c = &s->controllers[i];
        c->name = names[i];
        c->queue.depth = (size_t)i + 1;
        c->queue.delayed = 1;
        c->queue.in_progress = 2;
        c->queue.adds_total = 100 + (uint64_t)i;
        c->queue.retries_total = 7;
        c->queue.queue_latency.buckets[0] = 3;
        c->queue.queue_latency.buckets[4] = 2;
        c->queue.queue_latency.count = 6; /* one above 100 s */
        c->queue.queue_latency.sum_seconds = 150.02;
        c->queue.work_duration.buckets[3] = 4;
        c->queue.work_duration.count = 4;
        c->queue.work_duration.sum_seconds = 0.004;
        c->queue.longest_running_seconds = 1.5;
        c->queue.unfinished_work_seconds = 2.5;
        c->reconcile.reconciles = 10;
        c->reconcile.errors = 2;
        c->reconcile.writes = 5;
        c->reconcile.write_conflicts = 1;
        c->reconcile.unchanged = 3;
        c->reconcile.pending_kong = i == 1 ? 2 : 0;
    }
    s->n_controllers = 3;
    s->informers[0].kind = "gateways";
    s->informers[0].stats.synced = true;
    s->informers[0].stats.added = 4;
    s->informers[0].stats.modified = 9;
    s->informers[0].stats.deleted = 1;
    s->informers[0].stats.watches = 3;
    s->informers[0].stats.relists = 1;
    s->informers[0].objects = 3;
    s->informers[1].kind = "secrets";
    s->n_informers = 2;
    s->have_kong = true;
    s->kong = calloc(2, sizeof(*s->kong));
    assert_non_null(s->kong);
    snprintf(s->kong[0].url, sizeof(s->kong[0].url), "http://10.0.0.1:8001");
    s->kong[0].up = s->kong[0].ready = true;
    snprintf(s->kong[1].url, sizeof(s->kong[1].url), "https://kong\"odd\":8444");
    s->kong[1].up = true;
    s->n_kong = 2;
    s->have_view = true;
    s->view_source = KGC_LISTENERCACHE_CACHED;
    s->view_age_seconds = 12.5;
    s->have_k8s = true;
    s->k8s.requests = 50;
    s->k8s.throttle_wait_ns = 1500000000;
}

static char *render(const struct kgc_metrics_snapshot *s)
{
    struct kgc_metrics_writer w;
    kgc_metrics_writer_init(&w, 0);
    kgc_metrics_render(s, &w);
    return finish(&w);
}

static void test_families_from_synthetic_stats(void **state)
{
    (void)state;
    struct kgc_metrics_snapshot s;
    fill_synthetic(&s);
    char *t = render(&s);
    assert_valid(t);

    static const char *const families[][2] = {
        {"kgc_build_info", "gauge"},
        {"kgc_leader", "gauge"},
        {"kgc_workqueue_depth", "gauge"},
        {"kgc_workqueue_adds_total", "counter"},
        {"kgc_workqueue_retries_total", "counter"},
        {"kgc_workqueue_queue_duration_seconds", "histogram"},
        {"kgc_workqueue_work_duration_seconds", "histogram"},
        {"kgc_workqueue_longest_running_processor_seconds", "gauge"},
        {"kgc_workqueue_unfinished_work_seconds", "gauge"},
        {"kgc_reconcile_total", "counter"},
        {"kgc_informer_events_total", "counter"},
        {"kgc_informer_relists_total", "counter"},
        {"kgc_informer_watch_restarts_total", "counter"},
        {"kgc_kong_instance_up", "gauge"},
        {"kgc_kong_instance_ready", "gauge"},
        {"kgc_listener_view_source", "gauge"},
        {"kgc_k8s_requests_total", "counter"},
    };
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        if (!has_family(t, families[i][0], families[i][1]))
            fail_msg("family %s (%s) missing", families[i][0], families[i][1]);

    assert_true(value_of(t, "kgc_build_info{version=\"1.2.3\"}") == 1);
    assert_true(value_of(t, "kgc_leader") == 1);
    assert_true(value_of(t, "kgc_workqueue_depth{name=\"gateway\"}") == 2);
    assert_true(value_of(t, "kgc_workqueue_adds_total{name=\"httproute\"}") == 102);
    assert_true(value_of(t, "kgc_workqueue_retries_total{name=\"gateway\"}") == 7);
    assert_true(value_of(t, "kgc_workqueue_queue_duration_seconds_bucket{name=\"gateway\","
                            "le=\"1e-06\"}") == 3);
    assert_true(value_of(t, "kgc_workqueue_queue_duration_seconds_bucket{name=\"gateway\","
                            "le=\"0.01\"}") == 5);
    assert_true(value_of(t, "kgc_workqueue_queue_duration_seconds_bucket{name=\"gateway\","
                            "le=\"+Inf\"}") == 6);
    assert_true(value_of(t, "kgc_workqueue_work_duration_seconds_count{name=\"gateway\"}") == 4);
    assert_true(value_of(t, "kgc_workqueue_longest_running_processor_seconds{name=\"gateway\"}") ==
                1.5);
    assert_true(value_of(t, "kgc_reconcile_total{controller=\"gateway\",result=\"success\"}") == 8);
    assert_true(value_of(t, "kgc_reconcile_total{controller=\"gateway\",result=\"error\"}") == 2);
    assert_true(value_of(t, "kgc_reconcile_kong_pending_total{controller=\"gateway\"}") == 2);
    assert_true(value_of(t, "kgc_informer_events_total{kind=\"gateways\",type=\"modified\"}") == 9);
    assert_true(value_of(t, "kgc_informer_events_total{kind=\"secrets\",type=\"added\"}") == 0);
    assert_true(value_of(t, "kgc_informer_relists_total{kind=\"gateways\"}") == 1);
    assert_true(value_of(t, "kgc_informer_watch_restarts_total{kind=\"gateways\"}") == 2);
    assert_true(value_of(t, "kgc_informer_watch_restarts_total{kind=\"secrets\"}") == 0);
    assert_true(value_of(t, "kgc_informer_synced{kind=\"gateways\"}") == 1);
    assert_true(value_of(t, "kgc_cache_objects{kind=\"gateways\"}") == 3);
    assert_true(value_of(t, "kgc_kong_instance_up{url=\"http://10.0.0.1:8001\"}") == 1);
    assert_true(value_of(t, "kgc_kong_instance_ready{url=\"http://10.0.0.1:8001\"}") == 1);
    assert_true(value_of(t, "kgc_kong_instance_ready{url=\"https://kong\\\"odd\\\":8444\"}") == 0);
    assert_true(value_of(t, "kgc_listener_view_source{source=\"cached\"}") == 1);
    assert_true(value_of(t, "kgc_listener_view_source{source=\"live\"}") == 0);
    assert_true(value_of(t, "kgc_listener_view_source{source=\"none\"}") == 0);
    assert_true(value_of(t, "kgc_listener_view_age_seconds") == 12.5);
    assert_true(value_of(t, "kgc_k8s_throttle_wait_seconds_total") == 1.5);
    /* No config syncer: its families are left out rather than shown as zeros. */
    assert_null(strstr(t, "kgc_config_push"));
    free(t);

    /* With a syncer's counters, the push families appear. */
    s.have_pushes = true;
    s.pushes.by_result[KGC_KONG_PUSH_APPLIED] = 3;
    s.pushes.by_result[KGC_METRICS_PUSH_RESULTS - 1] = 1;
    s.pushes.duration.buckets[5] = 4;
    s.pushes.duration.count = 4;
    s.pushes.duration.sum_seconds = 0.2;
    s.pushes.duration_bucketed = true;
    s.pushes.change_count = 2;
    s.pushes.change_sum_seconds = 0.25;
    s.leader = false;
    t = render(&s);
    assert_valid(t);
    assert_true(value_of(t, "kgc_change_to_push_seconds_count") == 2);
    assert_true(value_of(t, "kgc_change_to_push_seconds_sum") == 0.25);
    assert_true(value_of(t, "kgc_change_to_push_seconds_bucket{le=\"+Inf\"}") == 2);
    assert_true(value_of(t, "kgc_config_push_total{result=\"applied\"}") == 3);
    assert_true(value_of(t, "kgc_config_push_total{result=\"error\"}") == 1);
    assert_true(value_of(t, "kgc_config_push_total{result=\"rejected\"}") == 0);
    assert_true(value_of(t, "kgc_config_push_duration_seconds_count") == 4);
    assert_true(value_of(t, "kgc_leader") == 0);
    assert_true(value_of(t, "kgc_config_push_duration_seconds_bucket{le=\"0.1\"}") == 4);
    free(t);
    /* A syncer that only keeps a sum and a count: the +Inf bucket alone. */
    s.pushes.duration_bucketed = false;
    t = render(&s);
    assert_valid(t);
    assert_true(value_of(t, "kgc_config_push_duration_seconds_bucket{le=\"+Inf\"}") == 4);
    assert_true(isnan(value_of(t, "kgc_config_push_duration_seconds_bucket{le=\"0.1\"}")));
    assert_true(value_of(t, "kgc_config_push_duration_seconds_sum") == 0.2);
    free(t);
    kgc_metrics_snapshot_release(&s);
    assert_null(s.kong);
}

/* An empty snapshot (nothing wired) is still a valid exposition with the always-present
 * families, and a Kong registry without instances keeps its families' HELP and TYPE. */
static void test_families_empty(void **state)
{
    (void)state;
    struct kgc_metrics_snapshot s;
    memset(&s, 0, sizeof(s));
    char *t = render(&s);
    assert_valid(t);
    assert_true(has_family(t, "kgc_leader", "gauge"));
    assert_null(strstr(t, "kgc_workqueue"));
    assert_null(strstr(t, "kgc_build_info"));
    free(t);
    s.have_kong = true;
    t = render(&s);
    assert_valid(t);
    assert_true(has_family(t, "kgc_kong_instance_up", "gauge"));
    free(t);
}

/* --- a snapshot of live modules ----------------------------------------------------------------
 */

static void test_snapshot_of_live_modules(void **state)
{
    (void)state;
    struct kgc_err err = {0};
    struct kgc_cache *cache = kgc_cache_new();
    assert_non_null(cache);
    struct kgc_listenercache_options lo;
    kgc_listenercache_options_default(&lo);
    lo.dir = NULL; /* memory only */
    struct kgc_listenercache *lc = NULL;
    assert_int_equal(kgc_listenercache_open(&lo, &lc, &err), 0);
    struct kgc_kong_info info;
    memset(&info, 0, sizeof(info));
    snprintf(info.version, sizeof(info.version), "3.9.1");
    info.listeners.proxy = calloc(1, sizeof(struct kgc_kong_listener));
    assert_non_null(info.listeners.proxy);
    info.listeners.n_proxy = 1;
    snprintf(info.listeners.proxy[0].ip, sizeof(info.listeners.proxy[0].ip), "0.0.0.0");
    info.listeners.proxy[0].port = 8000;
    assert_int_equal(kgc_listenercache_set_live(lc, "http://kong:8001", &info, 0, &err), 0);
    kgc_kong_info_free(&info);

    struct kgc_kong_options ko;
    kgc_kong_options_default(&ko);
    struct kgc_kong *kong = NULL;
    assert_int_equal(kgc_kong_new(&ko, &kong, &err), 0);

    struct kgc_reconcile_options ro;
    kgc_reconcile_options_default(&ro);
    struct kgc_reconcile *r = NULL;
    assert_int_equal(kgc_reconcile_new(&ro, cache, NULL, lc, &r, &err), 0);
    struct kgc_workqueue *q = kgc_reconcile_queue(r, KGC_RECONCILE_GATEWAY);
    assert_int_equal(kgc_workqueue_add(q, "demo/a"), 0);
    assert_int_equal(kgc_workqueue_add(q, "demo/b"), 0);
    assert_int_equal(kgc_workqueue_add(q, "demo/a"), 0); /* deduplicated */

    struct kgc_metrics_sources src;
    memset(&src, 0, sizeof(src));
    src.reconciler = r;
    src.cache = cache;
    src.kong = kong;
    src.lc = lc;
    src.version = "9.9.9";
    char *t = NULL;
    size_t len = 0;
    assert_int_equal(kgc_metrics_collect(&src, 0, &t, &len), 0);
    assert_int_equal(len, strlen(t));
    assert_valid(t);
    assert_true(value_of(t, "kgc_workqueue_depth{name=\"gateway\"}") == 2);
    assert_true(value_of(t, "kgc_workqueue_adds_total{name=\"gateway\"}") == 2);
    assert_true(value_of(t, "kgc_workqueue_depth{name=\"httproute\"}") == 0);
    assert_true(value_of(t, "kgc_listener_view_source{source=\"live\"}") == 1);
    assert_true(value_of(t, "kgc_listener_view_live_instances") == 1);
    assert_true(value_of(t, "kgc_leader") == 1); /* no leader election: always the leader */
    assert_true(value_of(t, "kgc_build_info{version=\"9.9.9\"}") == 1);
    assert_true(has_family(t, "kgc_kong_instance_up", "gauge"));
    assert_null(strstr(t, "kgc_informer_")); /* no informers given */
    free(t);

    /* The cap holds for the whole rendering. */
    assert_int_equal(kgc_metrics_collect(&src, 512, &t, &len), KGC_E2BIG);
    assert_null(t);

    kgc_reconcile_free(r);
    kgc_kong_free(kong);
    kgc_listenercache_close(lc);
    kgc_cache_free(cache);
}

int main(void)
{
    kgc_log_setup(KGC_LOG_ERROR, KGC_LOG_TEXT, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checker_rejects_bad_expositions),
        cmocka_unit_test(test_writer_exact_text),
        cmocka_unit_test(test_writer_histogram),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_families_from_synthetic_stats),
        cmocka_unit_test(test_families_empty),
        cmocka_unit_test(test_snapshot_of_live_modules),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}

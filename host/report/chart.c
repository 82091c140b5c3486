/* `imgpipe chart`: bench.csv -> .dat files -> gnuplot scripts -> PNG + SVG -> index.html.
 *
 * C does the selection and arithmetic (which rows belong on which chart, speedups,
 * spreads) so the results are testable on a known CSV; the scripts in results/gnuplot
 * only draw. The .dat files are whitespace-separated with quoted labels; each chart's
 * layout is described in a comment at the top of its file and in its script. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chart.h"
#include "cpus.h"
#include "registry.h"

#ifndef IMGPIPE_GNUPLOT_INSTALL_DIR
#define IMGPIPE_GNUPLOT_INSTALL_DIR "share/imgpipe/gnuplot"
#endif
#ifndef IMGPIPE_SOURCE_DIR
#define IMGPIPE_SOURCE_DIR "."
#endif

#define MAX_SIZES 32
#define MAX_STAGES 16
#define LABEL_LEN 96

static const struct {
    const char *name, *title;
} charts[IMG_CHART_COUNT] = {
    [IMG_CHART_THROUGHPUT] = {"throughput", "Throughput per backend and setting"},
    [IMG_CHART_SPEEDUP] = {"speedup", "Speedup over serial"},
    [IMG_CHART_THREADS_SCALING] = {"threads_scaling",
                                   "Threads: scaling on one core and on all cores"},
    [IMG_CHART_SIMD_LEVELS] = {"simd_levels", "SIMD: throughput per instruction-set level"},
    [IMG_CHART_BREAKDOWN] = {"breakdown", "Where the time goes"},
    [IMG_CHART_TIMELINE] = {"timeline", "Threads: task timeline per worker"},
    [IMG_CHART_ROOFLINE] = {"roofline", "Memory bandwidth against the machine's copy bandwidth"},
    [IMG_CHART_JOB] = {"job", "Where the whole job's time goes"},
};

const char *img_chart_name(img_chart_id id)
{
    return id < IMG_CHART_COUNT ? charts[id].name : "?";
}

const char *img_chart_title(img_chart_id id)
{
    return id < IMG_CHART_COUNT ? charts[id].title : "?";
}

/* ---- small helpers ---- */

static int join(char *buf, size_t len, const char *dir, const char *name, img_error *err)
{
    if (snprintf(buf, len, "%s/%s", dir, name) >= (int)len)
        return img_fail(err, "%s/%s: path too long", dir, name);
    return 0;
}


static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool on_all_cpus(const img_chart_row *r)
{
    return r->cpus[0] == '\0' || strcmp(r->cpus, "all") == 0;
}

static bool is_default_setting(const char *setting)
{
    return setting[0] == '\0' || strcmp(setting, "default") == 0;
}

/* "backend", "backend setting", plus the CPUs when not all of them. (The scripts may
 * break it after the backend.) */
static void row_label(const img_chart_row *r, char *buf, size_t len)
{
    int n = is_default_setting(r->setting) ? snprintf(buf, len, "%s", r->backend)
                                           : snprintf(buf, len, "%s %s", r->backend, r->setting);
    if (!on_all_cpus(r) && n >= 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, " cpus=%s", r->cpus);
}

/* A label in a gnuplot data file. gnuplot reads backslash escapes inside double quotes:
 * a line break is written as \n (gnuplot draws two lines); a raw one would end the
 * record. Quotes and backslashes are replaced: they cannot be escaped reliably. */
static void put_label(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s == '"' ? '\'' : *s == '\\' ? '/' : (*s == '\r' || *s == '\t') ? ' ' : *s, f);
    }
    fputc('"', f);
}

/* gnuplot reads "NaN" as a missing value: no bar, no point. */
static void put_num(FILE *f, double v, int decimals)
{
    if (isfinite(v))
        fprintf(f, " %.*f", decimals, v);
    else
        fputs(" NaN", f);
}

static bool positive(double v)
{
    return isfinite(v) && v > 0;
}

typedef struct size_list {
    int w[MAX_SIZES], h[MAX_SIZES];
    int n;
} size_list;

static void size_add(size_list *s, int w, int h)
{
    for (int i = 0; i < s->n; i++)
        if (s->w[i] == w && s->h[i] == h)
            return;
    if (s->n == MAX_SIZES)
        return;
    /* Insertion keeps the list sorted by pixel count, smallest first. */
    int i = s->n++;
    while (i > 0 && (double)s->w[i - 1] * s->h[i - 1] > (double)w * h) {
        s->w[i] = s->w[i - 1];
        s->h[i] = s->h[i - 1];
        i--;
    }
    s->w[i] = w;
    s->h[i] = h;
}

static bool row_at(const img_chart_row *r, const size_list *s, int i)
{
    return r->width == s->w[i] && r->height == s->h[i];
}

/* Everything a chart writer needs. */
typedef struct prep {
    const img_chart_table *table;
    const img_chart_env *env;     /* may be NULL */
    const char *dir, *data_dir;
    img_chart_summary *out;
    img_error *err;
    /* The rows of the main charts: timed, and on all CPUs unless no row is (pinned
     * rows are a scaling experiment with their own chart). */
    bool pinned_only;
} prep;

/* A bit-exact timed row of the pipeline alone: what every chart but `job` draws. */
static bool timed_pipeline(const img_chart_row *r)
{
    return r->timed && !r->whole;
}

static bool main_row(const prep *p, const img_chart_row *r)
{
    return timed_pipeline(r) && (p->pinned_only || on_all_cpus(r));
}

static int skip(prep *p, img_chart_id id, const char *why)
{
    snprintf(p->out->skipped[id], sizeof p->out->skipped[id], "%s", why);
    return 0;
}

/* The backends some charts are about, found by what they do (the registry's flags),
 * never by name: the reference, the one bench sweeps thread counts on, and the
 * single-threaded one bench sweeps SIMD levels on. "" when no backend has the role. */
static const char *reference_backend(void)
{
    return img_backend_reference()->name;
}

static const char *scaling_backend(void)
{
    const img_backend *b = img_backend_with_flags(IMG_BACKEND_SCALING_SERIES, 0);
    return b ? b->name : "";
}

static const char *simd_levels_backend(void)
{
    const img_backend *b = img_backend_with_flags(IMG_BACKEND_SIMD_LEVELS, IMG_BACKEND_THREADED);
    return b ? b->name : "";
}

/* skip() with a message naming a backend ("the %s backend was not run"). */
static int skip_naming(prep *p, img_chart_id id, const char *format, const char *backend)
{
    char why[sizeof p->out->skipped[id]];
    snprintf(why, sizeof why, format, backend, backend);
    return skip(p, id, why);
}

/* Whether any row, or any bit-exact timed row, is of this backend. */
static bool backend_ran(const prep *p, const char *backend)
{
    for (int i = 0; i < p->table->row_count; i++)
        if (strcmp(p->table->rows[i].backend, backend) == 0)
            return true;
    return false;
}

static bool backend_timed(const prep *p, const char *backend)
{
    for (int i = 0; i < p->table->row_count; i++)
        if (timed_pipeline(&p->table->rows[i]) && strcmp(p->table->rows[i].backend, backend) == 0)
            return true;
    return false;
}

/* Why a chart of the main rows has none. */
static const char *no_timed_rows(const prep *p)
{
    return p->table->row_count ? "no row was bit-exact and timed" : "bench.csv has no rows";
}

/* Number of CPUs in a list such as "0", "0,2-3"; 0 when it is not a list. */
static int cpu_list_count(const char *list)
{
    int n = 0;
    const char *s = list;
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s || a < 0)
            return 0;
        s = end;
        if (*s == '-') {
            b = strtol(s + 1, &end, 10);
            if (end == s + 1 || b < a)
                return 0;
            s = end;
        }
        n += (int)(b - a + 1);
        if (*s == ',')
            s++;
        else if (*s)
            return 0;
    }
    return n;
}

static int dat_open(prep *p, img_atomic_file *f, const char *name)
{
    char path[4096];
    if (join(path, sizeof path, p->data_dir, name, p->err) != 0)
        return -1;
    return img_atomic_open(f, path, p->err);
}

/* What a script needs besides the data: a subtitle and one number, read by gnuplot's
 * stats into variables. */
static int write_info(prep *p, const char *name, const char *text, double value)
{
    img_atomic_file f;
    if (dat_open(p, &f, name) != 0)
        return -1;
    fputs("# subtitle, value\n", f.f);
    put_label(f.f, text);
    put_num(f.f, value, 3);
    fputc('\n', f.f);
    return img_atomic_commit(&f, p->err);
}

static int cores_of(const prep *p)
{
    int cores = atoi(img_chart_env_get(p->env, "cores_allowed"));
    if (cores <= 0)
        cores = atoi(img_chart_env_get(p->env, "cores_online"));
    return cores;
}

/* The largest size with a main-chart row, or -1. */
static int largest_size(const prep *p, int *w, int *h)
{
    size_list s = {0};
    for (int i = 0; i < p->table->row_count; i++)
        if (main_row(p, &p->table->rows[i]))
            size_add(&s, p->table->rows[i].width, p->table->rows[i].height);
    if (s.n == 0)
        return -1;
    *w = s.w[s.n - 1];
    *h = s.h[s.n - 1];
    return 0;
}

/* The distinct labels of the main rows in CSV order (bench order: serial first). */
static int collect_groups(const prep *p, bool (*want)(const img_chart_row *),
                          char (*labels)[LABEL_LEN])
{
    int n = 0;
    for (int i = 0; i < p->table->row_count; i++) {
        const img_chart_row *r = &p->table->rows[i];
        if (!main_row(p, r) || (want && !want(r)))
            continue;
        char label[LABEL_LEN];
        row_label(r, label, sizeof label);
        int k = 0;
        while (k < n && strcmp(labels[k], label) != 0)
            k++;
        if (k == n)
            snprintf(labels[n++], LABEL_LEN, "%s", label);
    }
    return n;
}

static const img_chart_row *find_main(const prep *p, const char *label, int w, int h)
{
    for (int i = 0; i < p->table->row_count; i++) {
        const img_chart_row *r = &p->table->rows[i];
        char l[LABEL_LEN];
        if (!main_row(p, r) || r->width != w || r->height != h)
            continue;
        row_label(r, l, sizeof l);
        if (strcmp(l, label) == 0)
            return r;
    }
    return NULL;
}

static const img_chart_row *serial_at(const prep *p, int w, int h)
{
    for (int i = 0; i < p->table->row_count; i++) {
        const img_chart_row *r = &p->table->rows[i];
        if (timed_pipeline(r) && strcmp(r->backend, reference_backend()) == 0 && r->width == w &&
            r->height == h)
            return r;
    }
    return NULL;
}

static bool not_serial(const img_chart_row *r)
{
    return strcmp(r->backend, reference_backend()) != 0;
}

/* Writes one block per size: a header line (the size, for gnuplot's columnheader)
 * then one line per group: label, value, low end, high end of the spread. */
typedef void (*bar_fn)(const prep *p, const img_chart_row *r, double out[3]);

static int write_grouped(prep *p, img_chart_id id, bool (*want)(const img_chart_row *),
                         bar_fn values, const char *comment)
{
    const img_chart_table *t = p->table;
    char (*labels)[LABEL_LEN] = calloc((size_t)t->row_count + 1, LABEL_LEN);
    if (!labels)
        return img_fail(p->err, "out of memory");
    int groups = collect_groups(p, want, labels);
    size_list sizes = {0};
    for (int i = 0; i < t->row_count; i++)
        if (main_row(p, &t->rows[i]) && (!want || want(&t->rows[i])))
            size_add(&sizes, t->rows[i].width, t->rows[i].height);
    if (groups == 0) {
        free(labels);
        return skip(p, id, no_timed_rows(p));
    }
    char name[64];
    snprintf(name, sizeof name, "%s.dat", img_chart_name(id));
    img_atomic_file f;
    if (dat_open(p, &f, name) != 0) {
        free(labels);
        return -1;
    }
    fprintf(f.f, "# %s\n# one block per input size (gnuplot index): a header line with the size,\n"
                 "# then: label, value, low end, high end of the spread (quartiles)\n",
            comment);
    for (int s = 0; s < sizes.n; s++) {
        fprintf(f.f, "%s\"%dx%d\"\n", s ? "\n\n" : "", sizes.w[s], sizes.h[s]);
        for (int g = 0; g < groups; g++) {
            const img_chart_row *r = find_main(p, labels[g], sizes.w[s], sizes.h[s]);
            double v[3] = {NAN, NAN, NAN};
            if (r)
                values(p, r, v);
            put_label(f.f, labels[g]);
            for (int k = 0; k < 3; k++)
                put_num(f.f, v[k], 3);
            fputc('\n', f.f);
        }
    }
    free(labels);
    if (img_atomic_commit(&f, p->err) != 0)
        return -1;
    p->out->ready[id] = true;
    return 0;
}

/* MP/s at the median, and at the slow (q3) and fast (q1) quartile times. */
static void throughput_values(const prep *p, const img_chart_row *r, double v[3])
{
    (void)p;
    double mpix = (double)r->width * r->height / 1e6;
    v[0] = positive(r->mpix_per_s) ? r->mpix_per_s : mpix / r->median_s;
    v[1] = positive(r->q3_s) ? mpix / r->q3_s : v[0];
    v[2] = positive(r->q1_s) ? mpix / r->q1_s : v[0];
}

static int chart_throughput(prep *p)
{
    return write_grouped(p, IMG_CHART_THROUGHPUT, NULL, throughput_values,
                         "throughput in megapixels (input) per second");
}

/* Speedup over serial at the same size; the spread scales with this row's quartiles. */
static void speedup_values(const prep *p, const img_chart_row *r, double v[3])
{
    const img_chart_row *serial = serial_at(p, r->width, r->height);
    if (!serial)
        return;
    v[0] = positive(r->speedup) ? r->speedup : serial->median_s / r->median_s;
    v[1] = positive(r->q3_s) ? v[0] * r->median_s / r->q3_s : v[0];
    v[2] = positive(r->q1_s) ? v[0] * r->median_s / r->q1_s : v[0];
}

static int chart_speedup(prep *p)
{
    const char *reference = reference_backend();
    if (!backend_ran(p, reference))
        return skip_naming(p, IMG_CHART_SPEEDUP,
                           "the %s backend was not run: there is no baseline to compare with",
                           reference);
    if (!backend_timed(p, reference))
        return skip_naming(p, IMG_CHART_SPEEDUP,
                           "%s was not bit-exact and timed: there is no baseline to compare with",
                           reference);
    bool any_other = false, other_ran = false;
    for (int i = 0; i < p->table->row_count; i++) {
        any_other |= main_row(p, &p->table->rows[i]) && not_serial(&p->table->rows[i]);
        other_ran |= not_serial(&p->table->rows[i]);
    }
    if (!any_other)
        return skip_naming(p, IMG_CHART_SPEEDUP,
                           other_ran ? "no backend other than %s was bit-exact and timed"
                                     : "only %s was run: nothing to compare with it",
                           reference);
    char title[160];
    snprintf(title, sizeof title, "speedup over %s at the same size (%s median / median)",
             reference, reference);
    return write_grouped(p, IMG_CHART_SPEEDUP, not_serial, speedup_values, title);
}

/* "threads=N" exactly (not a combination): N, else 0. */
static int threads_setting(const char *setting)
{
    if (strncmp(setting, "threads=", 8) != 0)
        return 0;
    char *end;
    long n = strtol(setting + 8, &end, 10);
    return *end == '\0' && n > 0 && n < 100000 ? (int)n : 0;
}

static bool scaling_row(const img_chart_row *r)
{
    return timed_pipeline(r) && strcmp(r->backend, scaling_backend()) == 0 &&
           threads_setting(r->setting) > 0;
}

/* One series of the scaling chart: the rows at one size with one cpus value, by N. */
static int scaling_series(const prep *p, int w, int h, bool pinned, const char *cpus,
                          const img_chart_row **out, int max)
{
    int n = 0;
    for (int i = 0; i < p->table->row_count && n < max; i++) {
        const img_chart_row *r = &p->table->rows[i];
        if (!scaling_row(r) || r->width != w || r->height != h || on_all_cpus(r) == pinned)
            continue;
        if (pinned && strcmp(r->cpus, cpus) != 0)
            continue;
        int t = threads_setting(r->setting), k = 0;
        bool dup = false;
        for (int j = 0; j < n; j++)
            dup |= threads_setting(out[j]->setting) == t;
        if (dup)
            continue;
        /* Sorted by thread count. */
        for (k = n++; k > 0 && threads_setting(out[k - 1]->setting) > t; k--)
            out[k] = out[k - 1];
        out[k] = r;
    }
    /* Speedups need the one-thread baseline. */
    return n >= 2 && threads_setting(out[0]->setting) == 1 ? n : 0;
}

/* For the all-cores series: when rows of it ran on fewer CPUs than they could (bench's
 * "disturbed" column), what to say in the series title ("all tasks ran on CPU 0") and
 * in the report. Both stay "" when none was disturbed. */
static void describe_disturbed(const img_chart_row *const *rows, int n, char *title,
                               size_t title_len, char *warning, size_t warning_len)
{
    int count = 0;
    const char *same = NULL;
    bool one_cpu = true;
    double fewest = INFINITY;
    for (int i = 0; i < n; i++) {
        const img_chart_row *r = rows[i];
        if (r->disturbed != 1)
            continue;
        count++;
        if (!same)
            same = r->cpus_ran_on;
        one_cpu &= strcmp(same, r->cpus_ran_on) == 0 && cpu_list_count(r->cpus_ran_on) == 1;
        if (isfinite(r->cpus_used) && r->cpus_used < fewest)
            fewest = r->cpus_used;
    }
    if (count == 0)
        return;
    if (one_cpu)
        snprintf(title, title_len, "all tasks ran on CPU %s", same);
    else if (isfinite(fewest))
        snprintf(title, title_len, "tasks ran on %g CPU%s per run", fewest,
                 fewest == 1 ? "" : "s");
    else
        snprintf(title, title_len, "tasks ran on fewer CPUs than they could");
    /* "threads=2, threads=4 and threads=8" */
    char which[160] = "";
    size_t used = 0;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (rows[i]->disturbed != 1)
            continue;
        k++;
        int w = snprintf(which + used, sizeof which - used, "%s%s",
                         k == 1 ? "" : k == count ? " and " : ", ", rows[i]->setting);
        used += w > 0 && (size_t)w < sizeof which - used ? (size_t)w : 0;
    }
    snprintf(warning, warning_len,
             "Disturbed: in the all-cores series, %s: %s. %s tasks taking turns, not parallel "
             "speedup (a busy or shared machine, or tasks too short to spread out).",
             which, title, count == 1 ? "That point shows" : "Those points show");
}

static int chart_threads_scaling(prep *p)
{
    const img_chart_table *t = p->table;
    /* The size with the most scaling rows (the largest on a tie). */
    size_list sizes = {0};
    for (int i = 0; i < t->row_count; i++)
        if (scaling_row(&t->rows[i]))
            size_add(&sizes, t->rows[i].width, t->rows[i].height);
    int best = -1, best_count = 0;
    for (int s = 0; s < sizes.n; s++) {
        int count = 0;
        for (int i = 0; i < t->row_count; i++)
            count += scaling_row(&t->rows[i]) && row_at(&t->rows[i], &sizes, s);
        if (count >= best_count) {
            best = s;
            best_count = count;
        }
    }
    const char *pinned_cpus = NULL;
    for (int i = 0; best >= 0 && i < t->row_count && !pinned_cpus; i++)
        if (scaling_row(&t->rows[i]) && row_at(&t->rows[i], &sizes, best) &&
            !on_all_cpus(&t->rows[i]))
            pinned_cpus = t->rows[i].cpus;
    const img_chart_row *one[64], *all[64];
    int n_one = best >= 0 && pinned_cpus
                    ? scaling_series(p, sizes.w[best], sizes.h[best], true, pinned_cpus, one, 64)
                    : 0;
    int n_all = best >= 0 ? scaling_series(p, sizes.w[best], sizes.h[best], false, NULL, all, 64)
                          : 0;
    if (n_one == 0 && n_all == 0) {
        const char *scaling = scaling_backend();
        if (!backend_ran(p, scaling))
            return skip_naming(p, IMG_CHART_THREADS_SCALING, "the %s backend was not run",
                               scaling);
        if (!backend_timed(p, scaling))
            return skip_naming(p, IMG_CHART_THREADS_SCALING,
                               "no %s row was bit-exact and timed", scaling);
        return skip_naming(p, IMG_CHART_THREADS_SCALING,
                           "the %s backend ran without a scaling series (threads=1 and more "
                           "thread counts at one size): bench measures one when given neither "
                           "--threads nor --cpus",
                           scaling);
    }
    int cores = cores_of(p);
    /* The pinned series may be a CPU list given with --cpus: several cores. */
    int pinned_count = pinned_cpus ? cpu_list_count(pinned_cpus) : 0;
    img_atomic_file f;
    if (dat_open(p, &f, "threads_scaling.dat") != 0)
        return -1;
    fprintf(f.f, "# threads backend at %dx%d: speedup over threads=1 with the same cpus\n"
                 "# one block per series (gnuplot index): a header line with its name, then:\n"
                 "# threads, speedup, ideal speedup, involuntary context switches per run\n",
            sizes.w[best], sizes.h[best]);
    int blocks = 0;
    for (int series = 0; series < 2; series++) {
        const img_chart_row **rows = series == 0 ? one : all;
        int n = series == 0 ? n_one : n_all;
        if (n == 0)
            continue;
        char title[2 * LABEL_LEN];
        char all_cores[32] = "all cores";
        if (cores > 0)
            snprintf(all_cores, sizeof all_cores, "all %d core%s", cores, cores == 1 ? "" : "s");
        char disturbed[LABEL_LEN] = "";
        if (series == 1)
            describe_disturbed(rows, n, disturbed, sizeof disturbed,
                               p->out->warning[IMG_CHART_THREADS_SCALING],
                               sizeof p->out->warning[IMG_CHART_THREADS_SCALING]);
        if (series == 0 && pinned_count > 1)
            snprintf(title, sizeof title, "on CPUs %s (%d cores)", pinned_cpus, pinned_count);
        else if (series == 0)
            snprintf(title, sizeof title, "pinned to CPU %s: threads interleave", pinned_cpus);
        else if (disturbed[0])
            snprintf(title, sizeof title, "%s, disturbed: %s", all_cores, disturbed);
        else
            snprintf(title, sizeof title, "%s: threads run in parallel", all_cores);
        fprintf(f.f, "%s", blocks++ ? "\n\n" : "");
        put_label(f.f, title);
        fputc('\n', f.f);
        /* Ideal: min(threads, the cores the series may use); 1 when pinned to one. */
        int limit = series == 0 ? (pinned_count > 1 ? pinned_count : 1) : cores;
        for (int i = 0; i < n; i++) {
            int threads = threads_setting(rows[i]->setting);
            double ideal = limit > 0 && threads > limit ? limit : threads;
            fprintf(f.f, "%d", threads);
            put_num(f.f, rows[0]->median_s / rows[i]->median_s, 3);
            put_num(f.f, ideal, 0);
            put_num(f.f, rows[i]->ivcsw_per_run, 2);
            fputc('\n', f.f);
        }
    }
    if (img_atomic_commit(&f, p->err) != 0)
        return -1;
    char info[LABEL_LEN];
    snprintf(info, sizeof info, "at %dx%d", sizes.w[best], sizes.h[best]);
    if (write_info(p, "threads_scaling_info.dat", info, blocks) != 0)
        return -1;
    p->out->ready[IMG_CHART_THREADS_SCALING] = true;
    return 0;
}

static bool simd_row(const img_chart_row *r)
{
    return !r->whole && strcmp(r->backend, simd_levels_backend()) == 0 &&
           strncmp(r->setting, "simd=", 5) == 0;
}

static int chart_simd_levels(prep *p)
{
    const img_chart_table *t = p->table;
    /* Levels in the order of the instruction sets, then any other the bench named. */
    char levels[16][32];
    char verdict[16][24];
    bool timed[16] = {0};
    int n = 0;
    static const char *const known[] = {"portable", "sse4.1", "avx2", "avx512", "avx512icl"};
    size_list sizes = {0};
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < t->row_count; i++) {
            const img_chart_row *r = &t->rows[i];
            if (!simd_row(r))
                continue;
            const char *level = r->setting + 5;
            bool is_known = false;
            for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
                is_known |= strcmp(level, known[k]) == 0;
            if (pass == 0 && !is_known)
                continue;
            int k = 0;
            while (k < n && strcmp(levels[k], level) != 0)
                k++;
            if (k == n) {
                if (n == 16)
                    continue;
                snprintf(levels[n], sizeof levels[n], "%s", level);
                snprintf(verdict[n], sizeof verdict[n], "%s", r->verdict);
                n++;
            }
            if (r->timed) {
                timed[k] = true;
                size_add(&sizes, r->width, r->height);
            }
        }
    /* Known levels first, in instruction-set order. */
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++) {
            int ra = 4, rb = 4;
            for (int k = 0; k < 4; k++) {
                ra = strcmp(levels[a], known[k]) == 0 ? k : ra;
                rb = strcmp(levels[b], known[k]) == 0 ? k : rb;
            }
            if (rb < ra) {
                char tl[32], tv[24];
                bool tt = timed[a];
                memcpy(tl, levels[a], sizeof tl);
                memcpy(tv, verdict[a], sizeof tv);
                memcpy(levels[a], levels[b], sizeof tl);
                memcpy(verdict[a], verdict[b], sizeof tv);
                timed[a] = timed[b];
                memcpy(levels[b], tl, sizeof tl);
                memcpy(verdict[b], tv, sizeof tv);
                timed[b] = tt;
            }
        }
    if (sizes.n == 0)
        return skip_naming(p, IMG_CHART_SIMD_LEVELS,
                           backend_ran(p, simd_levels_backend())
                               ? "no bit-exact rows of the %s backend"
                               : "the %s backend was not run",
                           simd_levels_backend());
    img_atomic_file f;
    if (dat_open(p, &f, "simd_levels.dat") != 0)
        return -1;
    fprintf(f.f, "# %s backend: MP/s per instruction-set level\n"
                 "# one block per input size (gnuplot index): a header line with the size,\n"
                 "# then: level, MP/s at the median, at q3, at q1 (NaN: not timed at this size)\n",
            simd_levels_backend());
    for (int s = 0; s < sizes.n; s++) {
        fprintf(f.f, "%s\"%dx%d\"\n", s ? "\n\n" : "", sizes.w[s], sizes.h[s]);
        for (int k = 0; k < n; k++) {
            const img_chart_row *r = NULL;
            for (int i = 0; i < t->row_count && !r; i++)
                if (simd_row(&t->rows[i]) && t->rows[i].timed && row_at(&t->rows[i], &sizes, s) &&
                    strcmp(t->rows[i].setting + 5, levels[k]) == 0)
                    r = &t->rows[i];
            char label[LABEL_LEN];
            if (timed[k])
                snprintf(label, sizeof label, "%.31s", levels[k]);
            else
                snprintf(label, sizeof label, "%.31s (%.23s)", levels[k], verdict[k]);
            double v[3] = {NAN, NAN, NAN};
            if (r)
                throughput_values(p, r, v);
            put_label(f.f, label);
            for (int i = 0; i < 3; i++)
                put_num(f.f, v[i], 3);
            fputc('\n', f.f);
        }
    }
    if (img_atomic_commit(&f, p->err) != 0)
        return -1;
    p->out->ready[IMG_CHART_SIMD_LEVELS] = true;
    return 0;
}

/* Whether the row has stage times or a backend breakdown to stack. */
static bool has_parts(const img_chart_row *r)
{
    for (int k = 0; k < IMG_CHART_STAGES; k++)
        if (positive(r->stage_s[k]))
            return true;
    for (int k = 1; k < IMG_BENCH_FIRST_WHOLE_PART; k++)
        if (positive(r->part_s[k]))
            return true;
    return false;
}

/* For each backend, its fastest main row at (w, h): the bar that represents it. With
 * want_parts, a row with stage times or a breakdown beats any row without (the threads
 * scaling series is not timed stage by stage: its threads=4 may be the fastest, but its
 * bar would be empty). */
static int best_per_backend(const prep *p, int w, int h, bool want_parts,
                            const img_chart_row **out, int max)
{
    int n = 0;
    for (int i = 0; i < p->table->row_count; i++) {
        const img_chart_row *r = &p->table->rows[i];
        if (!main_row(p, r) || r->width != w || r->height != h)
            continue;
        int k = 0;
        while (k < n && strcmp(out[k]->backend, r->backend) != 0)
            k++;
        if (k == n) {
            if (n == max)
                continue;
            out[n++] = r;
            continue;
        }
        bool better_parts = want_parts && has_parts(r) && !has_parts(out[k]);
        bool worse_parts = want_parts && !has_parts(r) && has_parts(out[k]);
        if (better_parts || (!worse_parts && r->median_s < out[k]->median_s))
            out[k] = r;
    }
    return n;
}

static int chart_breakdown(prep *p)
{
    int w, h;
    const img_chart_row *rows[64];
    int n = largest_size(p, &w, &h) == 0 ? best_per_backend(p, w, h, true, rows, 64) : 0;
    if (n == 0)
        return skip(p, IMG_CHART_BREAKDOWN, no_timed_rows(p));
    int with_parts = 0;
    for (int i = 0; i < n; i++)
        with_parts += has_parts(rows[i]);
    if (with_parts == 0)
        return skip(p, IMG_CHART_BREAKDOWN, "no row has stage times or a backend breakdown");
    /* Only the parts some backend reported get a column (and a legend entry). */
    bool used_stage[IMG_CHART_STAGES] = {0}, used_part[IMG_CHART_PARTS] = {0};
    bool parts[64] = {0};
    for (int i = 0; i < n; i++) {
        const img_chart_row *r = rows[i];
        /* A backend that reports its own parts is shown by them, not by stages: the
         * stages alone would hide the transfers. */
        for (int k = 1; k < IMG_BENCH_FIRST_WHOLE_PART; k++)
            parts[i] |= positive(r->part_s[k]);
        for (int k = 0; k < IMG_CHART_STAGES; k++)
            used_stage[k] |= !parts[i] && positive(r->stage_s[k]);
        for (int k = 1; k < IMG_BENCH_FIRST_WHOLE_PART; k++)
            used_part[k] |= parts[i] && positive(r->part_s[k]);
    }
    img_atomic_file f;
    if (dat_open(p, &f, "breakdown.dat") != 0)
        return -1;
    fprintf(f.f, "# where the time goes at %dx%d, milliseconds, fastest setting of each backend\n"
                 "# among those with stage times or a breakdown (else its fastest)\n"
                 "# label, the whole pipeline's median, the ideal of a streamed device run (its\n"
                 "# busiest engine alone; NaN for the others), then one column per part that\n"
                 "# some row has: CPU backends each stage timed alone, OpenCL upload, kernel,\n"
                 "# download (the serialized sum, stacked)\n",
            w, h);
    fputs("\"backend\" \"whole run (median)\" \"ideal (busiest engine)\"", f.f);
    for (int k = 0; k < IMG_CHART_STAGES; k++)
        if (used_stage[k])
            fprintf(f.f, " \"%s\"", img_stage_name((img_stage)k));
    for (int k = 1; k < IMG_BENCH_FIRST_WHOLE_PART; k++)
        if (used_part[k])
            fprintf(f.f, " \"%s\"", img_bench_breakdown_columns[k]);
    fputc('\n', f.f);
    for (int i = 0; i < n; i++) {
        const img_chart_row *r = rows[i];
        char label[LABEL_LEN];
        row_label(r, label, sizeof label);
        put_label(f.f, label);
        put_num(f.f, r->median_s * 1e3, 4);
        const double ideal = r->overlap_s[2];
        put_num(f.f, parts[i] && positive(ideal) ? ideal * 1e3 : NAN, 4);
        for (int k = 0; k < IMG_CHART_STAGES; k++)
            if (used_stage[k])
                put_num(f.f, !parts[i] && positive(r->stage_s[k]) ? r->stage_s[k] * 1e3 : NAN, 4);
        for (int k = 1; k < IMG_BENCH_FIRST_WHOLE_PART; k++)
            if (used_part[k])
                put_num(f.f, parts[i] && positive(r->part_s[k]) ? r->part_s[k] * 1e3 : NAN, 4);
        fputc('\n', f.f);
    }
    if (img_atomic_commit(&f, p->err) != 0)
        return -1;
    /* Each part keeps its colour whichever columns are present. */
    if (dat_open(p, &f, "breakdown_parts.dat") != 0)
        return -1;
    fputs("# one line per part column of breakdown.dat, in order: name, gnuplot linetype\n", f.f);
    for (int k = 0; k < IMG_CHART_STAGES; k++)
        if (used_stage[k])
            fprintf(f.f, "\"%s\" %d\n", img_stage_name((img_stage)k), 1 + k);
    for (int k = 1; k < IMG_BENCH_FIRST_WHOLE_PART; k++)
        if (used_part[k])
            fprintf(f.f, "\"%s\" %d\n", img_bench_breakdown_columns[k], IMG_CHART_STAGES + k);
    if (img_atomic_commit(&f, p->err) != 0)
        return -1;
    /* The one-off build gets its own panel and scale: next to per-run milliseconds it
     * would flatten every other bar. */
    int builds = 0;
    for (int i = 0; i < n; i++)
        builds += positive(rows[i]->part_s[0]);
    if (builds) {
        if (dat_open(p, &f, "breakdown_build.dat") != 0)
            return -1;
        fputs("# backend, cold program build in milliseconds (once, before the first run)\n", f.f);
        for (int i = 0; i < n; i++) {
            if (!positive(rows[i]->part_s[0]))
                continue;
            char label[LABEL_LEN];
            row_label(rows[i], label, sizeof label);
            put_label(f.f, label);
            put_num(f.f, rows[i]->part_s[0] * 1e3, 4);
            fputc('\n', f.f);
        }
        if (img_atomic_commit(&f, p->err) != 0)
            return -1;
    }
    char info[LABEL_LEN];
    snprintf(info, sizeof info, "at %dx%d, each backend's fastest setting with a breakdown",
             w, h);
    if (write_info(p, "breakdown_info.dat", info, builds) != 0)
        return -1;
    p->out->ready[IMG_CHART_BREAKDOWN] = true;
    return 0;
}

/* The roofline's second panel: the blur's multiply-adds per second of each SIMD row
 * (MP/s x the spec's multiply-adds per pixel) against its level's measured roof on as
 * many threads. The info file's value is the number of such rows: with none (no SIMD
 * row, or a bench.json without compute_roofs) the script draws one panel. */
static int write_compute_roof(prep *p, const img_chart_row *const *rows, int n)
{
    int usable = 0;
    double achieved[64], roof[64];
    for (int i = 0; i < n; i++) {
        const img_chart_row *r = rows[i];
        achieved[i] = roof[i] = NAN;
        if (!*r->simd || !positive(r->madds_per_pixel) || !positive(r->mpix_per_s))
            continue;
        double top = img_chart_env_roof(p->env, r->simd, r->threads > 0 ? r->threads : 1);
        if (!positive(top))
            continue;
        achieved[i] = r->mpix_per_s * 1e6 * r->madds_per_pixel / 1e9;
        roof[i] = top / 1e9;
        usable++;
    }
    img_atomic_file f;
    if (dat_open(p, &f, "roofline_compute.dat") != 0)
        return -1;
    fputs("# the blur's 16-bit multiply-adds per second (MP/s x the spec's multiply-adds per\n"
          "# pixel), fastest setting of each SIMD backend, against its level's multiply-add\n"
          "# peak measured by bench on as many threads (bench.json compute_roofs)\n"
          "# label, G multiply-adds/s, roof G/s, percent of the roof\n", f.f);
    for (int i = 0; i < n; i++) {
        if (isnan(achieved[i]))
            continue;
        char label[LABEL_LEN];
        row_label(rows[i], label, sizeof label);
        put_label(f.f, label);
        put_num(f.f, achieved[i], 2);
        put_num(f.f, roof[i], 2);
        put_num(f.f, 100.0 * achieved[i] / roof[i], 1);
        fputc('\n', f.f);
    }
    if (img_atomic_commit(&f, p->err) != 0)
        return -1;
    return write_info(p, "roofline_compute_info.dat",
                      "the blur's multiply-adds against the measured compute roof", usable);
}

static int chart_roofline(prep *p)
{
    int w, h;
    const img_chart_row *rows[64];
    int n = largest_size(p, &w, &h) == 0 ? best_per_backend(p, w, h, false, rows, 64) : 0;
    if (n == 0)
        return skip(p, IMG_CHART_ROOFLINE, no_timed_rows(p));
    int usable = 0;
    for (int i = 0; i < n; i++)
        usable += positive(rows[i]->gb_per_s);
    if (usable == 0)
        return skip(p, IMG_CHART_ROOFLINE, "no row has a GB/s figure");
    double bw = p->env ? p->env->copy_bandwidth_gbs : 0.0;
    img_atomic_file f;
    if (dat_open(p, &f, "roofline.dat") != 0)
        return -1;
    fprintf(f.f, "# GB/s (bytes read + written) at %dx%d, fastest setting of each backend\n"
                 "# label, GB/s, percent of the machine's copy bandwidth (NaN: not measured)\n",
            w, h);
    for (int i = 0; i < n; i++) {
        char label[LABEL_LEN];
        row_label(rows[i], label, sizeof label);
        put_label(f.f, label);
        put_num(f.f, positive(rows[i]->gb_per_s) ? rows[i]->gb_per_s : NAN, 3);
        put_num(f.f, positive(bw) && positive(rows[i]->gb_per_s) ? 100.0 * rows[i]->gb_per_s / bw
                                                                  : NAN,
                1);
        fputc('\n', f.f);
    }
    if (img_atomic_commit(&f, p->err) != 0)
        return -1;
    if (write_compute_roof(p, rows, n) != 0)
        return -1;
    char info[LABEL_LEN];
    snprintf(info, sizeof info, "at %dx%d, fastest setting of each backend", w, h);
    if (write_info(p, "roofline_info.dat", info, positive(bw) ? bw : 0.0) != 0)
        return -1;
    p->out->ready[IMG_CHART_ROOFLINE] = true;
    return 0;
}

/* ---- the whole job (bench --input) ---- */

/* Whether a whole-job row has its three parts, so its bar can be stacked. */
static bool whole_with_parts(const img_chart_row *r)
{
    if (!r->timed || !r->whole)
        return false;
    for (int k = 0; k < IMG_BENCH_WHOLE_PARTS; k++)
        if (!isfinite(r->part_s[IMG_BENCH_FIRST_WHOLE_PART + k]) ||
            r->part_s[IMG_BENCH_FIRST_WHOLE_PART + k] < 0)
            return false;
    return true;
}

/* Where the whole job's time goes: decode, pipeline and encode of each backend's
 * whole-job row (its fastest, when a hand-made CSV has several), at the largest size
 * that has such rows, with Amdahl's ceiling: the speedup of the whole job if the
 * pipeline took no time, (decode + pipeline + encode) / (decode + encode). */
static int chart_job(prep *p)
{
    const img_chart_table *t = p->table;
    bool any_whole = false;
    size_list sizes = {0};
    for (int i = 0; i < t->row_count; i++) {
        any_whole |= t->rows[i].whole;
        if (whole_with_parts(&t->rows[i]))
            size_add(&sizes, t->rows[i].width, t->rows[i].height);
    }
    if (!any_whole)
        return skip(p, IMG_CHART_JOB, "bench was run without --input: no whole-job rows");
    if (sizes.n == 0)
        return skip(p, IMG_CHART_JOB,
                    "no whole-job row was bit-exact and timed with its decode, pipeline and "
                    "encode parts");
    int w = sizes.w[sizes.n - 1], h = sizes.h[sizes.n - 1];
    const img_chart_row *rows[64];
    int n = 0;
    for (int i = 0; i < t->row_count; i++) {
        const img_chart_row *r = &t->rows[i];
        if (!whole_with_parts(r) || r->width != w || r->height != h)
            continue;
        int k = 0;
        while (k < n && strcmp(rows[k]->backend, r->backend) != 0)
            k++;
        if (k == n && n < 64)
            rows[n++] = r;
        else if (k < n && r->median_s < rows[k]->median_s)
            rows[k] = r;
    }
    img_atomic_file f;
    if (dat_open(p, &f, "job.dat") != 0)
        return -1;
    fprintf(f.f, "# where the whole job's time goes at %dx%d (bench --input: the file's bytes\n"
                 "# decoded, the pipeline, encoded to the input's format, all in memory),\n"
                 "# milliseconds, the median of each part over the timed runs\n"
                 "# label, decode, pipeline, encode, whole job (median), pipeline share of the\n"
                 "# parts in percent, Amdahl's ceiling: (decode + pipeline + encode) / (decode +\n"
                 "# encode), the whole job's speedup if the pipeline took no time\n",
            w, h);
    fputs("\"backend\" \"decode\" \"pipeline\" \"encode\" \"whole job (median)\" "
          "\"pipeline %\" \"ceiling\"\n",
          f.f);
    for (int i = 0; i < n; i++) {
        const img_chart_row *r = rows[i];
        const double *part = &r->part_s[IMG_BENCH_FIRST_WHOLE_PART];
        double decode = part[0], pipeline = part[1], encode = part[2];
        double sum = decode + pipeline + encode, rest = decode + encode;
        char label[LABEL_LEN];
        row_label(r, label, sizeof label);
        put_label(f.f, label);
        put_num(f.f, decode * 1e3, 4);
        put_num(f.f, pipeline * 1e3, 4);
        put_num(f.f, encode * 1e3, 4);
        put_num(f.f, r->median_s * 1e3, 4);
        put_num(f.f, sum > 0 ? 100.0 * pipeline / sum : NAN, 1);
        /* No decode or encode time at all: nothing bounds the speedup. */
        put_num(f.f, rest > 0 ? sum / rest : NAN, 3);
        fputc('\n', f.f);
    }
    if (img_atomic_commit(&f, p->err) != 0)
        return -1;
    char info[LABEL_LEN];
    snprintf(info, sizeof info, "at %dx%d: decode + pipeline + encode, in memory", w, h);
    if (write_info(p, "job_info.dat", info, n) != 0)
        return -1;
    p->out->ready[IMG_CHART_JOB] = true;
    return 0;
}

/* ---- timeline ---- */

typedef struct stage_set {
    char name[MAX_STAGES][48];
    double first[MAX_STAGES];   /* earliest start, ms from its trace's first event */
    int n;
} stage_set;

static int stage_index(stage_set *s, const char *name, double start_ms)
{
    int k = 0;
    while (k < s->n && strcmp(s->name[k], name) != 0)
        k++;
    if (k == s->n) {
        if (s->n == MAX_STAGES)
            return MAX_STAGES - 1;   /* beyond the palette: drawn with the last one */
        snprintf(s->name[k], sizeof s->name[k], "%s", name);
        s->first[k] = start_ms;
        s->n++;
    } else if (start_ms < s->first[k]) {
        s->first[k] = start_ms;
    }
    return k;
}

static double trace_origin(const img_chart_trace *t)
{
    double origin = INFINITY;
    for (size_t i = 0; i < t->count; i++)
        if (t->tasks[i].ts_us < origin)
            origin = t->tasks[i].ts_us;
    return t->count ? origin : 0.0;
}

/* "4 workers on CPU 0", "4 workers on CPUs 0-3": what actually ran where (the CPUs
 * each task started and ended on). For the all-cores run (cores > 0: the CPUs the run
 * could use), tasks that could have run on several CPUs at once but ran on fewer make
 * the run disturbed: the title says so ("all 2 cores, disturbed: all tasks ran on
 * CPU 0") and *warning gets a sentence for the report. */
static void describe_trace(const img_chart_trace *t, char *buf, size_t len, const char *what,
                           int cores, char *warning, size_t warning_len)
{
    int workers = 0;
    img_cpu_mask seen = {{0}};
    stage_set stages = {0};
    int per_stage[MAX_STAGES] = {0};
    for (size_t i = 0; i < t->count; i++) {
        if (t->tasks[i].tid + 1 > workers)
            workers = t->tasks[i].tid + 1;
        img_cpu_mask_add(&seen, t->tasks[i].cpu);
        img_cpu_mask_add(&seen, t->tasks[i].cpu_end);
        per_stage[stage_index(&stages, t->tasks[i].stage, 0)]++;
    }
    int widest = 0;
    for (int k = 0; k < stages.n; k++)
        widest = per_stage[k] > widest ? per_stage[k] : widest;
    int cpus = img_cpu_mask_count(&seen);
    char list[256];
    img_cpu_mask_format(&seen, list, sizeof list);
    int expected = img_expected_cpus(workers, cores, widest);
    if (cores > 0 && img_cpus_disturbed(cpus, expected)) {
        char ran[300];
        if (cpus == 1)
            snprintf(ran, sizeof ran, "all tasks ran on CPU %s", list);
        else
            snprintf(ran, sizeof ran, "its tasks ran on CPUs %s only", list);
        snprintf(buf, len, "all %d core%s, disturbed: %s (%d worker%s)", cores,
                 cores == 1 ? "" : "s", ran, workers, workers == 1 ? "" : "s");
        /* A long CPU list is cut in the warning; the title above keeps more of it. */
        snprintf(warning, warning_len,
                 "Disturbed: in the all-cores run %.100s although %d cores were allowed: its "
                 "panel shows tasks taking turns, not running in parallel.",
                 ran, cores);
        return;
    }
    int n = snprintf(buf, len, "%s: %d worker%s", what, workers, workers == 1 ? "" : "s");
    if (cpus == 0 || n < 0 || (size_t)n >= len)
        return;
    snprintf(buf + n, len - (size_t)n, " on CPU%s %s", cpus == 1 ? "" : "s", list);
}

static int write_timeline(prep *p, const char *name, const img_chart_trace *t,
                          const stage_set *stages)
{
    img_atomic_file f;
    if (dat_open(p, &f, name) != 0)
        return -1;
    fprintf(f.f, "# one block per stage (gnuplot index, same order in both files): a header\n"
                 "# line with the stage, then: start ms, end ms, worker, cpu\n");
    double origin = trace_origin(t);
    stage_set lookup = *stages;
    for (int s = 0; s < stages->n; s++) {
        fprintf(f.f, "%s", s ? "\n\n" : "");
        put_label(f.f, stages->name[s]);
        fputc('\n', f.f);
        int rows = 0;
        for (size_t i = 0; i < t->count; i++) {
            const img_chart_task *k = &t->tasks[i];
            if (stage_index(&lookup, k->stage, 0) != s)
                continue;
            double start = (k->ts_us - origin) / 1e3;
            fprintf(f.f, "%.4f %.4f %d %d\n", start, start + k->dur_us / 1e3, k->tid, k->cpu);
            rows++;
        }
        /* A stage absent from this trace still needs its block, so colours match
         * between the panels; an undefined point draws nothing. */
        if (rows == 0)
            fputs("NaN NaN NaN NaN\n", f.f);
    }
    return img_atomic_commit(&f, p->err);
}

static int chart_timeline(prep *p)
{
    static const char *const files[2] = {"trace_one_core.json", "trace_all_cores.json"};
    img_chart_trace traces[2] = {{0}};
    char path[4096];
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        if ((rc = join(path, sizeof path, p->dir, files[i], p->err)) != 0)
            break;
        /* bench.json names the traces its run wrote: any other in the folder is an
         * earlier run's and must not be drawn as this one's. */
        bool listed = p->env && p->env->trace_files_listed;
        char why[300];
        if (!img_chart_env_has_trace(p->env, files[i])) {
            if (!backend_ran(p, scaling_backend()))
                snprintf(why, sizeof why, "the %s backend was not run", scaling_backend());
            else if (p->env->trace_file_count == 0)
                snprintf(why, sizeof why,
                         "this run wrote no traces (bench traces the %s backend with its "
                         "scaling series, when given neither --threads nor --cpus)",
                         scaling_backend());
            else
                snprintf(why, sizeof why, "%s is not among this run's traces (bench.json)",
                         files[i]);
            skip(p, IMG_CHART_TIMELINE, why);
            goto out;
        }
        if (!file_exists(path)) {
            if (listed)
                snprintf(why, sizeof why, "%s, written by this run (bench.json), is missing",
                         files[i]);
            else if (!backend_ran(p, scaling_backend()))
                snprintf(why, sizeof why, "the %s backend was not run (no %s in the folder)",
                         scaling_backend(), files[i]);
            else
                snprintf(why, sizeof why, "no %s in the folder (a trace of the %s backend)",
                         files[i], scaling_backend());
            skip(p, IMG_CHART_TIMELINE, why);
            goto out;
        }
        /* A broken trace costs this chart only, not the report. */
        img_error terr;
        if (img_chart_trace_load(path, &traces[i], &terr) != 0) {
            skip(p, IMG_CHART_TIMELINE, terr.message);
            goto out;
        }
        if (traces[i].count == 0) {
            char why[200];
            snprintf(why, sizeof why, "%s has no complete (\"ph\": \"X\") events", files[i]);
            skip(p, IMG_CHART_TIMELINE, why);
            goto out;
        }
    }
    if (rc != 0)
        goto out;
    /* Stages in the order they first run, so the legend reads like the pipeline. */
    stage_set stages = {0};
    for (int i = 0; i < 2; i++) {
        double origin = trace_origin(&traces[i]);
        for (size_t k = 0; k < traces[i].count; k++) {
            const img_chart_task *task = &traces[i].tasks[k];
            stage_index(&stages, task->stage, (task->ts_us - origin) / 1e3);
        }
    }
    for (int a = 0; a < stages.n; a++)
        for (int b = a + 1; b < stages.n; b++)
            if (stages.first[b] < stages.first[a]) {
                char tn[48];
                double tf = stages.first[a];
                memcpy(tn, stages.name[a], sizeof tn);
                memcpy(stages.name[a], stages.name[b], sizeof tn);
                stages.first[a] = stages.first[b];
                memcpy(stages.name[b], tn, sizeof tn);
                stages.first[b] = tf;
            }
    if ((rc = write_timeline(p, "timeline_one.dat", &traces[0], &stages)) != 0 ||
        (rc = write_timeline(p, "timeline_all.dat", &traces[1], &stages)) != 0)
        goto out;
    img_atomic_file f;
    if ((rc = dat_open(p, &f, "timeline_info.dat")) != 0)
        goto out;
    fputs("# panel title, workers\n", f.f);
    for (int i = 0; i < 2; i++) {
        char title[400];
        /* Only the all-cores run can be disturbed: pinned, one CPU is the point. */
        describe_trace(&traces[i], title, sizeof title,
                       i == 0 ? "pinned to one core" : "all cores", i == 0 ? 0 : cores_of(p),
                       p->out->warning[IMG_CHART_TIMELINE],
                       sizeof p->out->warning[IMG_CHART_TIMELINE]);
        int workers = 0;
        for (size_t k = 0; k < traces[i].count; k++)
            if (traces[i].tasks[k].tid + 1 > workers)
                workers = traces[i].tasks[k].tid + 1;
        put_label(f.f, title);
        fprintf(f.f, " %d\n", workers);
    }
    if ((rc = img_atomic_commit(&f, p->err)) != 0)
        goto out;
    p->out->ready[IMG_CHART_TIMELINE] = true;
out:
    img_chart_trace_free(&traces[0]);
    img_chart_trace_free(&traces[1]);
    return rc;
}

static void make_caption(const img_chart_env *env, char *buf, size_t len)
{
    if (!env) {
        snprintf(buf, len, "no bench.json: machine unknown");
        return;
    }
    const char *model = img_chart_env_get(env, "cpu_model");
    const char *cores = img_chart_env_get(env, "cores_allowed");
    if (!*cores)
        cores = img_chart_env_get(env, "cores_online");
    const char *date = img_chart_env_get(env, "date");
    snprintf(buf, len, "%s, %s core%s, %s", *model ? model : "unknown CPU", *cores ? cores : "?",
             strcmp(cores, "1") == 0 ? "" : "s", *date ? date : "date unknown");
}

static int prepare_loaded(const img_chart_table *table, const img_chart_env *env,
                          const char *dir, const char *data_dir, img_chart_summary *out,
                          img_error *err)
{
    memset(out, 0, sizeof *out);
    if (img_make_dirs(data_dir, err) != 0)
        return -1;
    prep p = {table, env, dir, data_dir, out, err, true};
    out->rows = table->row_count;
    for (int i = 0; i < table->row_count; i++) {
        out->timed_rows += table->rows[i].timed;
        if (timed_pipeline(&table->rows[i]) && on_all_cpus(&table->rows[i]))
            p.pinned_only = false;
    }
    make_caption(env, out->caption, sizeof out->caption);
    if (chart_throughput(&p) != 0 || chart_speedup(&p) != 0 || chart_threads_scaling(&p) != 0 ||
        chart_simd_levels(&p) != 0 || chart_breakdown(&p) != 0 || chart_timeline(&p) != 0 ||
        chart_roofline(&p) != 0 || chart_job(&p) != 0)
        return -1;
    return 0;
}

/* bench.json is optional (the charts then lack the caption and bandwidth line), but a
 * broken one is reported rather than silently ignored. */
static int load_inputs(const char *dir, img_chart_table *table, img_chart_env *env,
                       bool *have_env, img_error *err)
{
    char path[4096];
    *have_env = false;
    if (join(path, sizeof path, dir, "bench.csv", err) != 0 ||
        img_chart_table_load(path, table, err) != 0)
        return -1;
    if (join(path, sizeof path, dir, "bench.json", err) != 0) {
        img_chart_table_free(table);
        return -1;
    }
    if (file_exists(path)) {
        if (img_chart_env_load(path, env, err) != 0) {
            img_chart_table_free(table);
            return -1;
        }
        *have_env = true;
    }
    return 0;
}

int img_chart_prepare(const char *dir, const char *data_dir, img_chart_summary *out,
                      img_error *err)
{
    img_chart_table table;
    img_chart_env *env = malloc(sizeof *env);
    bool have_env;
    if (!env)
        return img_fail(err, "out of memory");
    int rc = load_inputs(dir, &table, env, &have_env, err);
    if (rc == 0) {
        rc = prepare_loaded(&table, have_env ? env : NULL, dir, data_dir, out, err);
        img_chart_table_free(&table);
    }
    free(env);
    return rc;
}

/* ---- gnuplot ---- */

/* Where the scripts are: IMGPIPE_GNUPLOT_DIR when set; else beside the program as
 * `cmake --install` (and a relocated bundle) lays it out, bin/imgpipe with
 * share/imgpipe/gnuplot; else the source tree the program was built from. */
const char *img_chart_script_dir(void)
{
    static char installed[PATH_MAX];
    const char *dir = getenv("IMGPIPE_GNUPLOT_DIR");
    if (dir && *dir)
        return dir;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            char guess[4096 + 64];
            snprintf(guess, sizeof guess, "%s/../" IMGPIPE_GNUPLOT_INSTALL_DIR, exe);
            if (realpath(guess, installed)) {
                snprintf(guess, sizeof guess, "%s/common.gp", installed);
                if (file_exists(guess))
                    return installed;
            }
        }
    }
    return IMGPIPE_SOURCE_DIR "/results/gnuplot";
}

extern char **environ;

/* Runs argv[0] from PATH with stdin from /dev/null and stdout + stderr into out_fd
 * (-1: /dev/null). Returns the exit status, or -1 when it could not start. */
static int spawn_wait(char *const argv[], int out_fd)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    int rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (out_fd >= 0) {
        rc |= posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
        rc |= posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    } else {
        rc |= posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        rc |= posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    }
    pid_t pid;
    if (rc == 0)
        rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int img_gnuplot_available(void)
{
    char *argv[] = {"gnuplot", "--version", NULL};
    return spawn_wait(argv, -1) == 0;
}

/* A gnuplot single-quoted string: no escapes except '' for a quote. */
static void gp_quoted(char *buf, size_t len, size_t *w, const char *s)
{
    for (; *s && *w + 3 < len; s++) {
        if (*s == '\'')
            buf[(*w)++] = '\'';
        buf[(*w)++] = *s == '\n' ? ' ' : *s;
    }
}

static void gp_assign(char *buf, size_t len, size_t *w, const char *name, const char *value)
{
    int n = snprintf(buf + *w, len - *w, "%s%s='", *w ? "; " : "", name);
    if (n < 0 || (size_t)n >= len - *w)
        return;
    *w += (size_t)n;
    gp_quoted(buf, len, w, value);
    if (*w + 2 < len)
        buf[(*w)++] = '\'';
    buf[*w] = '\0';
}

static int move_output(const char *render, const char *dir, const char *file, img_error *err)
{
    char from[4096], to[4096];
    struct stat st;
    if (join(from, sizeof from, render, file, err) != 0 || join(to, sizeof to, dir, file, err) != 0)
        return -1;
    if (stat(from, &st) != 0 || st.st_size == 0)
        return img_fail(err, "gnuplot wrote no %s", file);
    if (rename(from, to) != 0)
        return img_fail(err, "%s: cannot move into place: %s", to, strerror(errno));
    return 0;
}

/* Runs one script; its PNG and SVG land in render/ and move to dir only when both
 * are there, so a failure never leaves half a chart behind. */
static int run_script(img_chart_id id, const char *dir, const char *data_dir, const char *render,
                      const char *scripts, const char *caption, img_atomic_file *log,
                      img_error *err)
{
    const char *name = img_chart_name(id);
    char script[4096], file[128], vars[8192];
    size_t w = 0;
    vars[0] = '\0';
    snprintf(file, sizeof file, "%s.gp", name);
    if (join(script, sizeof script, scripts, file, err) != 0)
        return -1;
    gp_assign(vars, sizeof vars, &w, "datadir", data_dir);
    gp_assign(vars, sizeof vars, &w, "outdir", render);
    gp_assign(vars, sizeof vars, &w, "caption", caption);
    for (int k = 0; k < 2; k++) {
        char out[4096];
        snprintf(file, sizeof file, "%s.%s", name, k ? "svg" : "png");
        if (join(out, sizeof out, render, file, err) != 0)
            return -1;
        unlink(out);
    }
    fprintf(log->f, "==> gnuplot -e \"%s\" %s\n", vars, script);
    fflush(log->f);
    char *argv[] = {"gnuplot", "-e", vars, script, NULL};
    int status = spawn_wait(argv, fileno(log->f));
    fprintf(log->f, "<== exit status %d\n\n", status);
    if (status < 0)
        return img_fail(err, "cannot run gnuplot for %s", script);
    if (status != 0)
        return img_fail(err, "gnuplot failed on %s (status %d); see %s/gnuplot.log", script,
                        status, data_dir);
    for (int k = 0; k < 2; k++) {
        snprintf(file, sizeof file, "%s.%s", name, k ? "svg" : "png");
        if (move_output(render, dir, file, err) != 0) {
            img_error inner = *err;
            return img_fail(err, "%s: %s", script, inner.message);
        }
    }
    return 0;
}

int img_chart_draw_summary(const char *dir, img_chart_summary *summary, img_error *err)
{
    img_chart_summary local;
    img_chart_summary *s = summary ? summary : &local;
    memset(s, 0, sizeof *s);
    img_chart_table table;
    img_chart_env *env = malloc(sizeof *env);
    bool have_env = false, loaded = false, log_open = false;
    char data_dir[4096], render[4096], path[4096];
    int rc = -1;
    img_atomic_file log;
    img_error first = {{0}};
    if (!env)
        return img_fail(err, "out of memory");
    if (load_inputs(dir, &table, env, &have_env, err) != 0)
        goto out;
    loaded = true;
    if (join(data_dir, sizeof data_dir, dir, "chart-data", err) != 0 ||
        join(render, sizeof render, data_dir, "render", err) != 0)
        goto out;
    if (prepare_loaded(&table, have_env ? env : NULL, dir, data_dir, s, err) != 0)
        goto out;
    const char *scripts = img_chart_script_dir();
    if (join(path, sizeof path, scripts, "common.gp", err) != 0)
        goto out;
    if (!file_exists(path)) {
        img_fail(err,
                 "gnuplot scripts not found in %s (set IMGPIPE_GNUPLOT_DIR to results/gnuplot)",
                 scripts);
        goto out;
    }
    if (img_make_dirs(render, err) != 0 || join(path, sizeof path, data_dir, "gnuplot.log", err) != 0 ||
        img_atomic_open(&log, path, err) != 0)
        goto out;
    log_open = true;
    for (int id = 0; id < IMG_CHART_COUNT; id++) {
        img_error e;
        if (s->ready[id]) {
            if (run_script((img_chart_id)id, dir, data_dir, render, scripts, s->caption, &log,
                           &e) == 0)
                s->drawn[id] = true;
            else if (first.message[0] == '\0')
                first = e;
            if (!s->drawn[id])
                snprintf(s->skipped[id], sizeof s->skipped[id], "%s", e.message);
        }
        if (!s->drawn[id]) {
            /* An old chart of this name no longer matches the data. */
            for (int k = 0; k < 2; k++) {
                char file[128];
                snprintf(file, sizeof file, "%s.%s", img_chart_name((img_chart_id)id),
                         k ? "svg" : "png");
                if (join(path, sizeof path, dir, file, &e) == 0)
                    unlink(path);
            }
        }
    }
    rmdir(render);   /* empty after the moves; harmless when not */
    log_open = false;
    if (img_atomic_commit(&log, err) != 0)
        goto out;
    if (img_chart_write_html(dir, &table, have_env ? env : NULL, s, err) != 0)
        goto out;
    if (first.message[0]) {
        *err = first;
        goto out;
    }
    rc = 0;
out:
    if (log_open)
        img_atomic_abort(&log);
    if (loaded)
        img_chart_table_free(&table);
    free(env);
    return rc;
}

int img_chart_draw(const char *dir, img_error *err)
{
    return img_chart_draw_summary(dir, NULL, err);
}

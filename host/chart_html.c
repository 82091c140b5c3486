/* index.html: one self-contained static page (inline CSS, no script, nothing fetched
 * from the network) with the charts that were drawn, the verdicts, every bench row
 * and the environment record. Every link points at a file that exists. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chart.h"

static const char *const descriptions[IMG_CHART_COUNT] = {
    [IMG_CHART_THROUGHPUT] =
        "Input megapixels per second at the median run time, one bar per input size "
        "(log scale). Whiskers: the same at the slow and fast quartile run times. Rows "
        "pinned to a CPU subset appear in the scaling chart instead.",
    [IMG_CHART_SPEEDUP] =
        "Serial median time divided by the backend's median at the same size; the "
        "dashed line is serial itself. Whiskers: quartile run times.",
    [IMG_CHART_THREADS_SCALING] =
        "Threads backend: speedup over one thread with the same CPUs. Pinned to one core "
        "the threads can only interleave (ideal: 1); on all cores they can run in parallel "
        "(ideal: min(threads, cores)). Lower panel: involuntary context switches per run.",
    [IMG_CHART_SIMD_LEVELS] =
        "SIMD backend: throughput at each instruction-set level; levels this CPU cannot "
        "run are named with their verdict.",
    [IMG_CHART_BREAKDOWN] =
        "Per-run time split into parts at the largest size: each stage timed alone for CPU "
        "backends, upload/kernel/download for OpenCL; the dot is the whole pipeline's median "
        "(below the stack when fusing stages pays). The one-off OpenCL program build is on "
        "its own scale on the right.",
    [IMG_CHART_TIMELINE] =
        "From the threads backend's trace files: one row per worker, one bar per task, "
        "coloured by stage; pinned to one core the tasks take turns, on all cores they "
        "overlap.",
    [IMG_CHART_ROOFLINE] =
        "Bytes read and written per second at the largest size against the copy bandwidth "
        "measured on this machine (the line): how close each backend gets to memory speed.",
};

static void html(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static bool exists_in(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return false;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A table cell with a number, empty when not applicable. */
static void cell_num(FILE *f, bool show, double v, double scale, int decimals, const char *suffix)
{
    fputs("<td class=\"n\">", f);
    if (show && isfinite(v))
        fprintf(f, "%.*f%s", decimals, v * scale, suffix);
    fputs("</td>", f);
}

static void cell_text(FILE *f, const char *s, const char *cls)
{
    if (cls)
        fprintf(f, "<td class=\"%s\">", cls);
    else
        fputs("<td>", f);
    html(f, s);
    fputs("</td>", f);
}

static const char *verdict_class(const char *verdict)
{
    if (strcmp(verdict, "bit-exact") == 0)
        return "ok";
    if (strcmp(verdict, "unavailable") == 0)
        return "na";
    return "bad";
}

static void label_of(const img_chart_row *r, char *buf, size_t len)
{
    bool def = r->setting[0] == '\0' || strcmp(r->setting, "default") == 0;
    bool all = r->cpus[0] == '\0' || strcmp(r->cpus, "all") == 0;
    snprintf(buf, len, "%s%s%s%s%s", r->backend, def ? "" : " ", def ? "" : r->setting,
             all ? "" : " cpus=", all ? "" : r->cpus);
}

static const char style[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "margin:0 auto;max-width:1060px;padding:0 18px 40px;color:#1d232a;background:#fff}"
    "h1{font-size:1.6em;margin:.9em 0 .2em}h2{margin-top:1.8em;border-bottom:1px solid #d8dee4;"
    "padding-bottom:.2em}.caption{color:#57606a;margin:.2em 0}"
    "nav a{margin-right:1em}figure{margin:1.4em 0}figure img{max-width:100%;height:auto;"
    "border:1px solid #e1e4e8}figcaption{color:#424a53;font-size:.93em;margin-top:.3em}"
    "table{border-collapse:collapse;font-size:.86em}th,td{padding:3px 7px;border-bottom:1px "
    "solid #e1e4e8;text-align:left;vertical-align:top}th{background:#f6f8fa;position:sticky;top:0}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".scroll{overflow-x:auto;max-width:100%}.ok{color:#1a7f37;font-weight:600}"
    ".bad{color:#cf222e;font-weight:700}.na{color:#6e7781}td.note{min-width:16em;color:#424a53}"
    "ul.skipped li{color:#57606a}code{background:#f6f8fa;padding:0 .25em}"
    "table.env td:first-child{font-family:ui-monospace,monospace;white-space:nowrap}";

static void write_charts(FILE *f, const img_chart_summary *s)
{
    fputs("<section id=\"charts\">\n<h2>Charts</h2>\n", f);
    bool any_skipped = false;
    for (int id = 0; id < IMG_CHART_COUNT; id++) {
        if (!s->drawn[id]) {
            any_skipped = true;
            continue;
        }
        const char *name = img_chart_name((img_chart_id)id);
        fprintf(f, "<figure id=\"chart-%s\">\n<a href=\"%s.svg\"><img src=\"%s.png\" alt=\"", name,
                name, name);
        html(f, img_chart_title((img_chart_id)id));
        fputs("\" width=\"1000\" height=\"600\"></a>\n<figcaption><strong>", f);
        html(f, img_chart_title((img_chart_id)id));
        fputs(".</strong> ", f);
        html(f, descriptions[id]);
        fprintf(f, " <a href=\"%s.svg\">SVG</a></figcaption>\n</figure>\n", name);
    }
    if (any_skipped) {
        fputs("<p>Not drawn:</p>\n<ul class=\"skipped\">\n", f);
        for (int id = 0; id < IMG_CHART_COUNT; id++) {
            if (s->drawn[id])
                continue;
            fputs("<li><strong>", f);
            html(f, img_chart_title((img_chart_id)id));
            fputs("</strong>: ", f);
            html(f, s->skipped[id][0] ? s->skipped[id] : "not drawn");
            fputs("</li>\n", f);
        }
        fputs("</ul>\n", f);
    }
    fputs("</section>\n", f);
}

/* Rows: backend setting; columns: sizes; cells: the verdict. */
static int write_verdicts(FILE *f, const img_chart_table *t)
{
    int n = t->row_count;
    char (*labels)[128] = calloc((size_t)n + 1, sizeof *labels);
    int *sw = calloc((size_t)n + 1, sizeof *sw), *sh = calloc((size_t)n + 1, sizeof *sh);
    if (!labels || !sw || !sh) {
        free(labels);
        free(sw);
        free(sh);
        return -1;
    }
    int nl = 0, ns = 0;
    for (int i = 0; i < n; i++) {
        const img_chart_row *r = &t->rows[i];
        char l[128];
        label_of(r, l, sizeof l);
        int k = 0;
        while (k < nl && strcmp(labels[k], l) != 0)
            k++;
        if (k == nl)
            snprintf(labels[nl++], sizeof labels[0], "%s", l);
        for (k = 0; k < ns && !(sw[k] == r->width && sh[k] == r->height); k++)
            ;
        if (k == ns) {
            /* Sorted by pixel count. */
            int j = ns++;
            while (j > 0 && (double)sw[j - 1] * sh[j - 1] > (double)r->width * r->height) {
                sw[j] = sw[j - 1];
                sh[j] = sh[j - 1];
                j--;
            }
            sw[j] = r->width;
            sh[j] = r->height;
        }
    }
    fputs("<section id=\"verdicts\">\n<h2>Verification</h2>\n<p>Every setting is checked "
          "stage by stage against serial before it is timed; only bit-exact ones are timed "
          "and charted.</p>\n<div class=\"scroll\"><table>\n<tr><th>backend setting</th>",
          f);
    for (int s = 0; s < ns; s++)
        fprintf(f, "<th>%dx%d</th>", sw[s], sh[s]);
    fputs("</tr>\n", f);
    for (int k = 0; k < nl; k++) {
        fputs("<tr>", f);
        cell_text(f, labels[k], NULL);
        for (int s = 0; s < ns; s++) {
            const img_chart_row *hit = NULL;
            for (int i = 0; i < n && !hit; i++) {
                char l[128];
                label_of(&t->rows[i], l, sizeof l);
                if (t->rows[i].width == sw[s] && t->rows[i].height == sh[s] &&
                    strcmp(l, labels[k]) == 0)
                    hit = &t->rows[i];
            }
            if (hit)
                cell_text(f, hit->verdict, verdict_class(hit->verdict));
            else
                cell_text(f, "-", "na");
        }
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n</section>\n", f);
    free(labels);
    free(sw);
    free(sh);
    return 0;
}

static void write_results(FILE *f, const img_chart_table *t)
{
    fputs("<section id=\"results\">\n<h2>Results</h2>\n<p>All rows of <a href=\"bench.csv\">"
          "bench.csv</a>. Times are medians over the repetitions; IQR is the spread between "
          "the quartiles; cores busy is process CPU time over wall time.</p>\n"
          "<div class=\"scroll\"><table>\n<tr><th>backend</th><th>setting</th><th>simd</th>"
          "<th>threads</th><th>cpus</th><th>size</th><th>output</th><th>verdict</th>"
          "<th>reps</th><th>median ms</th><th>IQR ms</th><th>MP/s</th><th>GB/s</th>"
          "<th>of copy bw</th><th>vs serial</th><th>cores busy</th><th>ivcsw/run</th>"
          "<th>init ms</th><th>cold ms</th><th>note</th></tr>\n",
          f);
    for (int i = 0; i < t->row_count; i++) {
        const img_chart_row *r = &t->rows[i];
        char buf[64];
        bool on = r->timed;
        fputs("<tr>", f);
        cell_text(f, r->backend, NULL);
        cell_text(f, r->setting, NULL);
        cell_text(f, r->simd, NULL);
        snprintf(buf, sizeof buf, "%d", r->threads);
        cell_text(f, buf, "n");
        cell_text(f, r->cpus, NULL);
        snprintf(buf, sizeof buf, "%dx%d", r->width, r->height);
        cell_text(f, buf, "n");
        snprintf(buf, sizeof buf, "%dx%d", r->out_width, r->out_height);
        cell_text(f, buf, "n");
        cell_text(f, r->verdict, verdict_class(r->verdict));
        snprintf(buf, sizeof buf, "%d", r->reps);
        cell_text(f, on ? buf : "", "n");
        cell_num(f, on, r->median_s, 1e3, 3, "");
        cell_num(f, on, r->iqr_s, 1e3, 3, "");
        cell_num(f, on, r->mpix_per_s, 1, 1, "");
        cell_num(f, on, r->gb_per_s, 1, 2, "");
        cell_num(f, on && r->bandwidth_fraction > 0, r->bandwidth_fraction, 100, 0, "%");
        cell_num(f, on, r->speedup, 1, 2, "\u00d7");
        cell_num(f, on, r->cpu_per_wall, 1, 2, "");
        cell_num(f, on, r->ivcsw_per_run, 1, 1, "");
        cell_num(f, on, r->init_s, 1e3, 3, "");
        cell_num(f, on, r->cold_s, 1e3, 3, "");
        cell_text(f, r->note, "note");
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n</section>\n", f);
}

static void write_kv_rows(FILE *f, const img_chart_kv *kv, int n)
{
    for (int i = 0; i < n; i++) {
        fputs("<tr>", f);
        cell_text(f, kv[i].key, NULL);
        cell_text(f, kv[i].value, NULL);
        fputs("</tr>\n", f);
    }
}

int img_chart_write_html(const char *dir, const img_chart_table *table,
                         const img_chart_env *env, const img_chart_summary *summary,
                         img_error *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/index.html", dir) >= (int)sizeof path)
        return img_fail(err, "%s: path too long", dir);
    img_atomic_file out;
    if (img_atomic_open(&out, path, err) != 0)
        return -1;
    FILE *f = out.f;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
          "imgpipe bench: ",
          f);
    html(f, summary->caption);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<header>\n"
               "<h1>imgpipe bench report</h1>\n<p class=\"caption\">",
            style);
    html(f, summary->caption);
    int unexpected = 0;
    for (int i = 0; i < table->row_count; i++)
        unexpected += strcmp(table->rows[i].verdict, "MISMATCH") == 0 ||
                      strcmp(table->rows[i].verdict, "ERROR") == 0;
    fprintf(f, "</p>\n<p>%d rows, %d bit-exact and timed", summary->rows, summary->timed_rows);
    if (unexpected)
        fprintf(f, ", <span class=\"bad\">%d MISMATCH or ERROR</span>", unexpected);
    fputs(". Data: <a href=\"bench.csv\">bench.csv</a>", f);
    static const char *const extra[] = {"bench.json", "trace_one_core.json",
                                        "trace_all_cores.json", "chart-data/gnuplot.log"};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        if (exists_in(dir, extra[i])) {
            fprintf(f, ", <a href=\"%s\">", extra[i]);
            html(f, extra[i]);
            fputs("</a>", f);
        }
    fputs(".</p>\n<nav><a href=\"#charts\">Charts</a><a href=\"#verdicts\">Verification</a>"
          "<a href=\"#results\">Results</a><a href=\"#environment\">Environment</a></nav>\n"
          "</header>\n<main>\n",
          f);
    write_charts(f, summary);
    if (write_verdicts(f, table) != 0) {
        img_atomic_abort(&out);
        return img_fail(err, "%s: out of memory", path);
    }
    write_results(f, table);
    fputs("<section id=\"environment\">\n<h2>Environment</h2>\n", f);
    if (env) {
        fputs("<table class=\"env\">\n<tr><th>key</th><th>value</th></tr>\n", f);
        write_kv_rows(f, env->env, env->env_count);
        fputs("<tr><th colspan=\"2\">the bench run</th></tr>\n", f);
        write_kv_rows(f, env->run, env->run_count);
        fputs("</table>\n", f);
    } else {
        fputs("<p>No bench.json in this folder: the environment is unknown.</p>\n", f);
    }
    fputs("</section>\n</main>\n<footer><p class=\"caption\">Written by <code>imgpipe chart"
          "</code>; redraw with <code>imgpipe chart DIR</code>.</p></footer>\n</body>\n</html>\n",
          f);
    return img_atomic_commit(&out, err);
}

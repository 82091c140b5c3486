/* index.html: one self-contained static page (inline CSS, the charts' SVG inline, no
 * script, nothing fetched from the network or loaded from beside it) with the charts
 * that were drawn, the verdicts, every bench row and the environment record. It can be
 * sent alone; in its folder, its links to the data files point at files that exist. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chart.h"
#include "fsutil.h"
#include "verdict.h"

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
        "Per-run time split into parts at the largest size, for each backend's fastest "
        "setting that has its parts timed: each stage timed alone for CPU backends, "
        "upload/kernel/download for OpenCL; the triangle is the whole pipeline's median "
        "(below the stack when fusing stages pays). The one-off OpenCL program build is on "
        "its own scale on the right.",
    [IMG_CHART_TIMELINE] =
        "From the threads backend's trace files: one row per worker, one bar per task, "
        "coloured by stage; pinned to one core the tasks take turns, on all cores they "
        "overlap.",
    [IMG_CHART_ROOFLINE] =
        "Bytes read and written per second at the largest size against the copy bandwidth "
        "measured on this machine (the line): how close each backend gets to memory speed.",
    [IMG_CHART_JOB] =
        "From bench --input: the whole job of each backend (its default setting), decoding "
        "the input file's bytes, the pipeline and encoding to the input's format, all in "
        "memory, stacked from the medians of each part. The label over each bar is "
        "Amdahl's ceiling: the whole job's speedup if the pipeline took no time, "
        "(decode + pipeline + encode) / (decode + encode).",
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
    switch (img_verdict_from_name(verdict)) {
    case IMG_VERDICT_BIT_EXACT:
        return "ok";
    case IMG_VERDICT_UNAVAILABLE:
        return "na";
    default:
        return "bad";
    }
}

static void label_of(const img_chart_row *r, char *buf, size_t len)
{
    bool def = r->setting[0] == '\0' || strcmp(r->setting, "default") == 0;
    bool all = r->cpus[0] == '\0' || strcmp(r->cpus, "all") == 0;
    snprintf(buf, len, "%s%s%s%s%s%s", r->backend, def ? "" : " ", def ? "" : r->setting,
             all ? "" : " cpus=", all ? "" : r->cpus, r->whole ? " (whole job)" : "");
}

static const char style[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "margin:0 auto;max-width:1060px;padding:0 18px 40px;color:#1d232a;background:#fff}"
    "h1{font-size:1.6em;margin:.9em 0 .2em}h2{margin-top:1.8em;border-bottom:1px solid #d8dee4;"
    "padding-bottom:.2em}.caption{color:#57606a;margin:.2em 0}"
    "nav a{margin-right:1em}figure{margin:1.4em 0}figure svg{display:block;width:100%;"
    "max-width:1000px;height:auto;aspect-ratio:5/3;border:1px solid #e1e4e8}"
    ".warn,td.note.warn{color:#9a6700;font-weight:600}"
    "figcaption{color:#424a53;font-size:.93em;margin-top:.3em}"
    "table{border-collapse:collapse;font-size:.86em}th,td{padding:3px 7px;border-bottom:1px "
    "solid #e1e4e8;text-align:left;vertical-align:top}th{background:#f6f8fa;position:sticky;top:0}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".scroll{overflow-x:auto;max-width:100%}.ok{color:#1a7f37;font-weight:600}"
    ".bad{color:#cf222e;font-weight:700}.na{color:#6e7781}td.note{min-width:16em;color:#424a53}"
    "ul.skipped li{color:#57606a}code{background:#f6f8fa;padding:0 .25em}"
    "table.env td:first-child{font-family:ui-monospace,monospace;white-space:nowrap}";

/* ---- a chart's SVG, inline ---- */

/* The whole file, NUL-terminated (the caller frees), or NULL with err set. An SVG
 * chart is far below the limit; it only stops a wrong path from eating memory. */
static char *read_text(const char *path, img_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (img_read_whole_file(path, (size_t)64 << 20, &data, &len, err) != 0)
        return NULL;
    return (char *)data;
}

static bool starts(const char *s, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - s) >= n && memcmp(s, word, n) == 0;
}

/* One tag, '<' to '>', with every id prefixed ("gpPt0" -> "throughput-gpPt0") and every
 * reference to one likewise (href="#gpPt0", xlink:href, url(#textbox)), so that the
 * ids of several gnuplot SVGs ("gnuplot_canvas", "gpPt0"...) do not collide in one
 * page. */
static void put_tag(FILE *f, const char *s, const char *end, const char *prefix)
{
    for (const char *p = s; p < end;) {
        bool attr_start = p > s && (isspace((unsigned char)p[-1]) || p[-1] == ':');
        if (attr_start && starts(p, end, "id=") && p + 3 < end && (p[3] == '"' || p[3] == '\'')) {
            fwrite(p, 1, 4, f);
            fprintf(f, "%s-", prefix);
            p += 4;
        } else if (attr_start && starts(p, end, "href=") && p + 6 < end &&
                   (p[5] == '"' || p[5] == '\'') && p[6] == '#') {
            fwrite(p, 1, 7, f);
            fprintf(f, "%s-", prefix);
            p += 7;
        } else if (starts(p, end, "url(#")) {
            fwrite(p, 1, 5, f);
            fprintf(f, "%s-", prefix);
            p += 5;
        } else {
            fputc(*p++, f);
        }
    }
}

/* Writes the SVG file's <svg> element into the page: what comes before it (the XML
 * declaration, a doctype, comments) is dropped, ids are made unique per chart, the
 * root is labelled for screen readers and gnuplot's <title> ("Gnuplot", shown as a
 * tooltip) becomes the chart's. Text between tags passes through unchanged. */
static int inline_svg(FILE *f, const char *path, const char *prefix, const char *title,
                      img_error *err)
{
    char *text = read_text(path, err);
    if (!text)
        return -1;
    const char *end = text + strlen(text), *p = text;
    while ((p = strstr(p, "<svg")) != NULL && !(isspace((unsigned char)p[4]) || p[4] == '>'))
        p++;
    if (!p) {
        free(text);
        return img_fail(err, "%s: no <svg> element", path);
    }
    bool root = true, titled = false;
    while (p < end) {
        if (*p != '<') {
            const char *lt = memchr(p, '<', (size_t)(end - p));
            const char *stop = lt ? lt : end;
            fwrite(p, 1, (size_t)(stop - p), f);
            p = stop;
            continue;
        }
        /* Comments and CDATA are copied as they are; they may hold '>'. */
        const char *close = NULL;
        if (starts(p, end, "<!--"))
            close = strstr(p + 4, "-->");
        else if (starts(p, end, "<![CDATA["))
            close = strstr(p + 9, "]]>");
        if (starts(p, end, "<!--") || starts(p, end, "<![CDATA[")) {
            const char *stop = close ? close + 3 : end;
            fwrite(p, 1, (size_t)(stop - p), f);
            p = stop;
            continue;
        }
        /* A tag ends at the first '>' outside quotes. */
        const char *q = p + 1;
        char quote = 0;
        for (; q < end && (quote || *q != '>'); q++)
            if (quote ? *q == quote : (*q == '"' || *q == '\''))
                quote = quote ? 0 : *q;
        const char *stop = q < end ? q + 1 : end;
        if (root) {
            fputs("<svg role=\"img\" aria-label=\"", f);
            html(f, title);
            fputc('"', f);
            put_tag(f, p + 4, stop, prefix);
            root = false;
        } else {
            put_tag(f, p, stop, prefix);
        }
        p = stop;
        if (!titled && stop - 7 >= text && strncmp(stop - 7, "<title>", 7) == 0) {
            const char *done = strstr(p, "</title>");
            if (done) {
                html(f, title);
                p = done;
            }
            titled = true;
        }
    }
    free(text);
    return 0;
}

static void write_charts(FILE *f, const char *dir, const img_chart_summary *s)
{
    fputs("<section id=\"charts\">\n<h2>Charts</h2>\n", f);
    bool any_skipped = false;
    for (int id = 0; id < IMG_CHART_COUNT; id++) {
        if (!s->drawn[id]) {
            any_skipped = true;
            continue;
        }
        const char *name = img_chart_name((img_chart_id)id);
        const char *title = img_chart_title((img_chart_id)id);
        char path[4096], file[128];
        img_error err = {{0}};
        snprintf(file, sizeof file, "%s.svg", name);
        fprintf(f, "<figure id=\"chart-%s\">\n", name);
        /* The drawing itself, not a reference to the file beside the page. */
        if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path ||
            inline_svg(f, path, name, title, &err) != 0) {
            fputs("<p class=\"bad\">", f);
            html(f, err.message[0] ? err.message : "path too long");
            fputs("</p>", f);
        }
        fputs("\n<figcaption><strong>", f);
        html(f, title);
        fputs(".</strong> ", f);
        html(f, descriptions[id]);
        if (s->warning[id][0]) {
            fputs(" <span class=\"warn\">", f);
            html(f, s->warning[id]);
            fputs("</span>", f);
        }
        /* Named, not linked: the page must not depend on them. */
        fprintf(f, " Also drawn as <code>%s.png</code> and <code>%s.svg</code> beside this "
                   "page.</figcaption>\n</figure>\n",
                name, name);
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
            if (s->warning[id][0]) {
                fputs(" <span class=\"warn\">", f);
                html(f, s->warning[id]);
                fputs("</span>", f);
            }
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
          "the quartiles; cores busy is process CPU time over wall time. A <em>whole</em> "
          "job row (bench --input) times decoding, the pipeline and encoding together; the "
          "others the pipeline alone.</p>\n"
          "<div class=\"scroll\"><table>\n<tr><th>backend</th><th>setting</th><th>simd</th>"
          "<th>threads</th><th>cpus</th><th>job</th><th>size</th><th>output</th><th>verdict</th>"
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
        cell_text(f, r->whole ? "whole" : "pipeline", NULL);
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
        if (r->disturbed == 1 && !strstr(r->note, "disturbed")) {
            /* A crafted or older CSV: the flag without bench's words for it. */
            fputs("<td class=\"note\"><span class=\"warn\">disturbed", f);
            if (r->cpus_ran_on[0]) {
                fputs(": its tasks ran on CPU", f);
                fputs(strpbrk(r->cpus_ran_on, ",-") ? "s " : " ", f);
                html(f, r->cpus_ran_on);
                fputs(" only", f);
            }
            fputs("</span> ", f);
            html(f, r->note);
            fputs("</td>", f);
        } else {
            cell_text(f, r->note, r->disturbed == 1 ? "note warn" : "note");
        }
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
        unexpected += img_verdict_is_failure(img_verdict_from_name(table->rows[i].verdict));
    fprintf(f, "</p>\n<p>%d rows, %d bit-exact and timed", summary->rows, summary->timed_rows);
    if (unexpected)
        fprintf(f, ", <span class=\"bad\">%d MISMATCH or ERROR</span>", unexpected);
    fputs(". Data: <a href=\"bench.csv\">bench.csv</a>", f);
    static const char *const extra[] = {"bench.json", "trace_one_core.json",
                                        "trace_all_cores.json", "chart-data/gnuplot.log"};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        /* A trace of an earlier run left in the folder is not this run's data. */
        if (exists_in(dir, extra[i]) &&
            (strncmp(extra[i], "trace_", 6) != 0 || img_chart_env_has_trace(env, extra[i]))) {
            fprintf(f, ", <a href=\"%s\">", extra[i]);
            html(f, extra[i]);
            fputs("</a>", f);
        }
    fputs(".</p>\n", f);
    for (int id = 0; id < IMG_CHART_COUNT; id++)
        if (summary->warning[id][0]) {
            fputs("<p class=\"warn\">", f);
            html(f, summary->warning[id]);
            fputs("</p>\n", f);
        }
    fputs("<nav><a href=\"#charts\">Charts</a><a href=\"#verdicts\">Verification</a>"
          "<a href=\"#results\">Results</a><a href=\"#environment\">Environment</a></nav>\n"
          "</header>\n<main>\n",
          f);
    write_charts(f, dir, summary);
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
        if (env->trace_files_listed) {
            char list[300] = "";
            size_t used = 0;
            for (int i = 0; i < env->trace_file_count; i++) {
                int k = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                 env->trace_files[i]);
                used += k > 0 && (size_t)k < sizeof list - used ? (size_t)k : 0;
            }
            fputs("<tr>", f);
            cell_text(f, "trace_files", NULL);
            cell_text(f, env->trace_file_count ? list : "none (no traces in this run)", NULL);
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    } else {
        fputs("<p>No bench.json in this folder: the environment is unknown.</p>\n", f);
    }
    fputs("</section>\n</main>\n<footer><p class=\"caption\">Written by <code>imgpipe chart"
          "</code>; redraw with <code>imgpipe chart DIR</code>.</p></footer>\n</body>\n</html>\n",
          f);
    return img_atomic_commit(&out, err);
}

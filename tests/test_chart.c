/* Charts and the report: the CSV, JSON and trace readers, the exact .dat files made
 * from a known bench folder (tests/fixtures/chart), and `imgpipe chart` end to end
 * through the real binary and gnuplot, with and without gnuplot on the PATH. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chart.h"
#include "test_helpers.h"

#define FIXTURE IMGPIPE_SOURCE_DIR "/tests/fixtures/chart"

static const char *const chart_names[] = {"throughput", "speedup",  "threads_scaling",
                                          "simd_levels", "breakdown", "timeline",
                                          "roofline"};
#define CHART_NAMES (sizeof chart_names / sizeof chart_names[0])

/* ---- helpers ---- */

/* The whole file as a string (the caller frees), or NULL. */
static char *slurp(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            char *nb = realloc(buf, (cap *= 2) + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
}

static char *slurp_in(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = slurp(path, NULL);
    cr_assert_not_null(text, "cannot read %s", path);
    return text;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void make_temp_dir(char *buf, size_t len, const char *stem)
{
    snprintf(buf, len, "/tmp/imgpipe-%s.XXXXXX", stem);
    cr_assert_not_null(mkdtemp(buf));
}

static void remove_tree(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* A fresh copy of the fixture folder, so drawing never writes into the source tree. */
static void copy_fixture(char *dir, size_t len)
{
    make_temp_dir(dir, len, "chart");
    static const char *const files[] = {"bench.csv", "bench.json", "trace_one_core.json",
                                        "trace_all_cores.json"};
    for (size_t i = 0; i < 4; i++) {
        char from[1024], to[1024];
        snprintf(from, sizeof from, "%s/%s", FIXTURE, files[i]);
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        size_t n;
        char *text = slurp(from, &n);
        cr_assert_not_null(text, "fixture %s missing", from);
        FILE *f = fopen(to, "wb");
        cr_assert_not_null(f);
        cr_assert_eq(fwrite(text, 1, n, f), n);
        fclose(f);
        free(text);
    }
}

static bool contains_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

#define ASSERT_LINE(text, line) \
    cr_assert(contains_line(text, line), "missing line\n  %s\nin:\n%s", line, text)

/* ---- CSV ---- */

Test(csv, quoted_fields_commas_quotes_newlines)
{
    const char *data = "a,b,c\r\n"
                       "1,\"x, y\",\"say \"\"hi\"\"\"\n"
                       "\n"
                       "2,,\"two\nlines\"\n"
                       "3,last,\n";
    img_csv csv;
    img_error err;
    cr_assert_eq(img_csv_parse(data, strlen(data), &csv, &err), 0, "%s", err.message);
    cr_assert_eq(csv.records, 4);
    cr_assert_str_eq(img_csv_field(&csv, 0, 2), "c");
    cr_assert_str_eq(img_csv_field(&csv, 1, 1), "x, y");
    cr_assert_str_eq(img_csv_field(&csv, 1, 2), "say \"hi\"");
    cr_assert_str_eq(img_csv_field(&csv, 2, 1), "");
    cr_assert_str_eq(img_csv_field(&csv, 2, 2), "two\nlines");
    cr_assert_eq(img_csv_field_count(&csv, 3), 3, "a trailing comma is an empty last field");
    cr_assert_str_eq(img_csv_field(&csv, 3, 2), "");
    cr_assert_str_eq(img_csv_field(&csv, 3, 9), "", "past the end reads as empty");
    img_csv_free(&csv);
}

Test(csv, malformed_is_an_error_naming_the_line)
{
    img_csv csv;
    img_error err;
    const char *open = "a,b\n1,\"never closed\n";
    cr_assert_eq(img_csv_parse(open, strlen(open), &csv, &err), -1);
    cr_assert(strstr(err.message, "line 2") != NULL, "%s", err.message);
    const char *junk = "a,b\n1,\"x\"y\n";
    cr_assert_eq(img_csv_parse(junk, strlen(junk), &csv, &err), -1);
    cr_assert(strstr(err.message, "after a closing quote") != NULL, "%s", err.message);
}

/* ---- readers on the fixture ---- */

Test(chart_input, bench_csv_rows_typed)
{
    img_chart_table t;
    img_error err;
    cr_assert_eq(img_chart_table_load(FIXTURE "/bench.csv", &t, &err), 0, "%s", err.message);
    cr_assert_eq(t.row_count, 27);
    int timed = 0, mismatch = 0;
    const img_chart_row *unavailable = NULL, *opencl = NULL;
    for (int i = 0; i < t.row_count; i++) {
        timed += t.rows[i].timed;
        mismatch += strcmp(t.rows[i].verdict, "MISMATCH") == 0;
        if (!unavailable && strcmp(t.rows[i].verdict, "unavailable") == 0)
            unavailable = &t.rows[i];
        if (!opencl && strcmp(t.rows[i].backend, "opencl") == 0)
            opencl = &t.rows[i];
    }
    cr_assert_eq(timed, 24);
    cr_assert_eq(mismatch, 1);
    cr_assert_not_null(unavailable);
    cr_assert_str_eq(unavailable->note,
                     "this CPU lacks avx512f, avx512bw: level \"avx512\" cannot run");
    cr_assert_not(unavailable->timed);
    cr_assert_not_null(opencl);
    cr_assert_float_eq(opencl->part_s[0], 0.310, 1e-12);    /* build */
    cr_assert_float_eq(opencl->part_s[2], 0.0021, 1e-12);   /* kernel */
    cr_assert_float_eq(opencl->stage_s[2], 0.0032, 1e-12);  /* blur alone */
    cr_assert_eq(t.rows[0].width, 1920);
    cr_assert(isnan(t.rows[0].part_s[0]), "an empty field is not applicable: NAN");
    img_chart_table_free(&t);
}

Test(chart_input, bench_json_environment)
{
    img_chart_env env;
    img_error err;
    cr_assert_eq(img_chart_env_load(FIXTURE "/bench.json", &env, &err), 0, "%s", err.message);
    cr_assert_str_eq(img_chart_env_get(&env, "cpu_model"), "Example CPU @ 3.00GHz <fixture>");
    cr_assert_str_eq(img_chart_env_get(&env, "cores_allowed"), "4");
    cr_assert_str_eq(img_chart_env_get(&env, "date"), "2025-01-15T10:20:30Z");
    cr_assert_str_eq(img_chart_env_get(&env, "nope"), "");
    cr_assert_float_eq(env.copy_bandwidth_gbs, 20.0, 1e-9);
    cr_assert_eq(env.env_count, 13);
    bool has_command = false;
    for (int i = 0; i < env.run_count; i++)
        has_command |= strcmp(env.run[i].key, "command_line") == 0 &&
                       strstr(env.run[i].value, "imgpipe bench") != NULL;
    cr_assert(has_command);
}

Test(chart_input, traces_any_layout)
{
    img_chart_trace one, all;
    img_error err;
    /* One event per line, and everything on one line: the same 16 tasks. */
    cr_assert_eq(img_chart_trace_load(FIXTURE "/trace_one_core.json", &one, &err), 0, "%s",
                 err.message);
    cr_assert_eq(img_chart_trace_load(FIXTURE "/trace_all_cores.json", &all, &err), 0, "%s",
                 err.message);
    cr_assert_eq(one.count, 16, "metadata (\"ph\": \"M\") events are not tasks");
    cr_assert_eq(all.count, 16);
    cr_assert_str_eq(one.tasks[0].stage, "point+blur");
    cr_assert_float_eq(one.tasks[1].ts_us, 615.0, 1e-9);
    cr_assert_float_eq(one.tasks[1].dur_us, 600.0, 1e-9);
    cr_assert_eq(one.tasks[1].tid, 1);
    cr_assert_eq(one.tasks[1].cpu, 0);
    cr_assert_eq(all.tasks[3].cpu, 3);
    cr_assert_str_eq(all.tasks[15].stage, "resize");
    img_chart_trace_free(&one);
    img_chart_trace_free(&all);

    /* A bare array, keys in another order, nested args first, no "cat", a string
     * holding braces and an escaped quote. */
    char dir[256], path[300];
    make_temp_dir(dir, sizeof dir, "trace");
    snprintf(path, sizeof path, "%s/t.json", dir);
    write_text(path, "[{\"args\": {\"band\": 1, \"cpu\": 5, \"nested\": {\"x\": [1, 2]}},\n"
                     "  \"dur\": 2.5e1, \"tid\": 2, \"name\": \"odd {\\\"name\\\"}\", "
                     "\"ph\": \"X\", "
                     "\"ts\": 100.25, \"pid\": 1},\n"
                     " {\"ph\": \"B\", \"ts\": 1, \"name\": \"begin events are not tasks\"},\n"
                     " {\"name\": \"thread_name\", \"ph\": \"M\", \"args\": {\"name\": \"w\"}}]");
    img_chart_trace t;
    cr_assert_eq(img_chart_trace_load(path, &t, &err), 0, "%s", err.message);
    cr_assert_eq(t.count, 1);
    cr_assert_str_eq(t.tasks[0].stage, "odd {\"name\"}", "name stands in for a missing cat");
    cr_assert_eq(t.tasks[0].cpu, 5);
    cr_assert_eq(t.tasks[0].tid, 2);
    cr_assert_float_eq(t.tasks[0].ts_us, 100.25, 1e-12);
    cr_assert_float_eq(t.tasks[0].dur_us, 25.0, 1e-12);
    img_chart_trace_free(&t);

    write_text(path, "{\"traceEvents\": [{\"ph\": \"X\", \"ts\": 1, ");
    cr_assert_eq(img_chart_trace_load(path, &t, &err), -1, "truncated JSON is an error");
    cr_assert(strstr(err.message, path) != NULL, "%s", err.message);
    remove_tree(dir);
}

/* ---- the .dat files ---- */

Test(chart_prepare, fixture_exact_data)
{
    char dir[256];
    img_chart_summary s;
    img_error err;
    make_temp_dir(dir, sizeof dir, "chart-data");
    cr_assert_eq(img_chart_prepare(FIXTURE, dir, &s, &err), 0, "%s", err.message);
    cr_assert_eq(s.rows, 27);
    cr_assert_eq(s.timed_rows, 24);
    for (int id = 0; id < IMG_CHART_COUNT; id++)
        cr_assert(s.ready[id], "%s not ready: %s", img_chart_name((img_chart_id)id), s.skipped[id]);
    cr_assert_str_eq(s.caption, "Example CPU @ 3.00GHz <fixture>, 4 cores, 2025-01-15T10:20:30Z");

    /* Throughput: MP/s at the median, at q3 and q1 (2073600 px / 0.0206 s, / 0.0196 s). */
    char *text = slurp_in(dir, "throughput.dat");
    ASSERT_LINE(text, "\"1920x1080\"");
    ASSERT_LINE(text, "\"serial\" 103.680 100.660 105.796");
    ASSERT_LINE(text, "\"simd-threads threads=2 simd=avx2\" 1091.368 1059.581 1113.641");
    ASSERT_LINE(text, "\"opencl\" 505.756 491.025 516.078");
    cr_assert(strstr(text, "\"1920x1080\"") < strstr(text, "\"3840x2160\""), "smaller size first");
    cr_assert_null(strstr(text, "threads=4 simd=avx2"), "the MISMATCH row is not charted");
    cr_assert_null(strstr(text, "avx512"), "the unavailable row is not charted");
    cr_assert_null(strstr(text, "cpus=0"), "pinned rows belong to the scaling chart");
    free(text);

    text = slurp_in(dir, "speedup.dat");
    ASSERT_LINE(text, "\"threads threads=4\" 3.333 3.236 3.401");
    cr_assert_null(strstr(text, "\"serial\""), "serial is the reference line, not a bar");
    free(text);

    /* Scaling: median(threads=1) / median(N) with the same cpus; ideal 1 on one core,
     * min(N, 4 cores) on all. */
    text = slurp_in(dir, "threads_scaling.dat");
    ASSERT_LINE(text, "\"pinned to CPU 0: threads interleave\"");
    ASSERT_LINE(text, "2 0.981 1 3.20");
    ASSERT_LINE(text, "8 0.920 1 17.00");
    ASSERT_LINE(text, "\"all 4 cores: threads run in parallel\"");
    ASSERT_LINE(text, "4 3.417 4 0.90");
    ASSERT_LINE(text, "8 3.306 4 6.00");
    free(text);
    text = slurp_in(dir, "threads_scaling_info.dat");
    ASSERT_LINE(text, "\"at 1920x1080\" 2.000");
    free(text);

    text = slurp_in(dir, "simd_levels.dat");
    ASSERT_LINE(text, "\"portable\" 172.800 167.767 176.327");
    ASSERT_LINE(text, "\"avx512 (unavailable)\" NaN NaN NaN");
    cr_assert(strstr(text, "\"sse4.1\"") < strstr(text, "\"avx2\""), "instruction-set order");
    free(text);

    /* Breakdown at the largest size: stages for CPU backends, transfers for OpenCL. */
    text = slurp_in(dir, "breakdown.dat");
    ASSERT_LINE(text, "\"backend\" \"whole run (median)\" \"brightness\" \"contrast\" "
                      "\"blur\" \"resize\" \"upload\" \"kernel\" \"download\"");
    ASSERT_LINE(text, "\"serial\" 82.0000 4.1000 4.1000 65.6000 12.3000 NaN NaN NaN");
    ASSERT_LINE(text, "\"threads threads=4\" 24.6000 1.2300 1.2300 19.6800 3.6900 NaN NaN NaN");
    ASSERT_LINE(text, "\"opencl\" 16.4000 NaN NaN NaN NaN 3.6900 8.6100 2.4600");
    free(text);
    text = slurp_in(dir, "breakdown_parts.dat");
    ASSERT_LINE(text, "\"kernel\" 6");
    free(text);
    text = slurp_in(dir, "breakdown_build.dat");
    ASSERT_LINE(text, "\"opencl\" 310.0000");
    free(text);

    text = slurp_in(dir, "roofline.dat");
    ASSERT_LINE(text, "\"simd-threads threads=2 simd=avx2\" 3.993 20.0");
    ASSERT_LINE(text, "\"serial\" 0.379 1.9");
    free(text);
    text = slurp_in(dir, "roofline_info.dat");
    ASSERT_LINE(text, "\"at 3840x2160, fastest setting of each backend\" 20.000");
    free(text);

    /* Timeline: ms from the first event, stages in the order they first ran. */
    text = slurp_in(dir, "timeline_one.dat");
    ASSERT_LINE(text, "0.6150 1.2150 1 0");
    cr_assert(strstr(text, "\"point+blur\"") < strstr(text, "\"resize\""));
    free(text);
    text = slurp_in(dir, "timeline_all.dat");
    ASSERT_LINE(text, "0.0210 0.6210 3 3");
    free(text);
    text = slurp_in(dir, "timeline_info.dat");
    ASSERT_LINE(text, "\"pinned to one core: 4 workers on CPU 0\" 4");
    ASSERT_LINE(text, "\"all cores: 4 workers on CPUs 0-3\" 4");
    free(text);
    remove_tree(dir);
}

Test(chart_prepare, missing_data_skips_charts_not_the_report)
{
    char dir[256], data[300], path[400];
    make_temp_dir(dir, sizeof dir, "chart-serial");
    snprintf(path, sizeof path, "%s/bench.csv", dir);
    /* A real serial-only bench.csv, without bench.json or traces. */
    write_text(path,
               "backend,setting,simd,threads,cpus,width,height,channels,out_width,out_height,"
               "verdict,reps,median_s,min_s,max_s,q1_s,q3_s,iqr_s,mpix_per_s,gb_per_s,"
               "bandwidth_fraction,speedup_vs_serial,cpu_s_per_run,cpu_per_wall,vcsw_per_run,"
               "ivcsw_per_run,init_s,cold_s,build_s,upload_s,kernel_s,download_s,"
               "stage_brightness_s,stage_contrast_s,stage_blur_s,stage_resize_s,breakdown,note\n"
               "serial,default,,1,all,64,48,3,32,24,bit-exact,3,0.000918369,0.000911810,"
               "0.000959160,0.000915090,0.000938765,0.000023675,3.345,0.0125,0.0007,1.000,"
               "0.000916,0.985,0.00,0.33,0.000000,0.001282,,,,,0.000026780,0.000037936,"
               "0.000830870,0.000016655,,\n");
    snprintf(data, sizeof data, "%s/chart-data", dir);
    img_chart_summary s;
    img_error err;
    cr_assert_eq(img_chart_prepare(dir, data, &s, &err), 0, "%s", err.message);
    cr_assert(s.ready[IMG_CHART_THROUGHPUT]);
    cr_assert(s.ready[IMG_CHART_BREAKDOWN]);
    cr_assert(s.ready[IMG_CHART_ROOFLINE]);
    cr_assert_not(s.ready[IMG_CHART_SPEEDUP], "nothing to compare serial with");
    cr_assert(strstr(s.skipped[IMG_CHART_SPEEDUP], "only serial") != NULL, "%s",
              s.skipped[IMG_CHART_SPEEDUP]);
    cr_assert_not(s.ready[IMG_CHART_THREADS_SCALING]);
    cr_assert_not(s.ready[IMG_CHART_SIMD_LEVELS]);
    cr_assert_not(s.ready[IMG_CHART_TIMELINE]);
    cr_assert(strstr(s.skipped[IMG_CHART_TIMELINE], "trace_one_core.json") != NULL, "%s",
              s.skipped[IMG_CHART_TIMELINE]);
    cr_assert(strstr(s.skipped[IMG_CHART_THREADS_SCALING], "threads") != NULL);
    cr_assert_str_eq(s.caption, "no bench.json: machine unknown");
    char *text = slurp_in(data, "throughput.dat");
    ASSERT_LINE(text, "\"serial\" 3.345 3.272 3.357");
    free(text);
    text = slurp_in(data, "roofline_info.dat");
    ASSERT_LINE(text, "\"at 64x48, fastest setting of each backend\" 0.000");
    free(text);
    /* Only the parts serial reports, and no build panel. */
    text = slurp_in(data, "breakdown.dat");
    ASSERT_LINE(text, "\"backend\" \"whole run (median)\" \"brightness\" \"contrast\" "
                      "\"blur\" \"resize\"");
    ASSERT_LINE(text, "\"serial\" 0.9184 0.0268 0.0379 0.8309 0.0167");
    free(text);
    snprintf(path, sizeof path, "%s/breakdown_build.dat", data);
    cr_assert_eq(access(path, F_OK), -1);
    remove_tree(dir);
}

Test(chart_prepare, missing_csv_names_the_file)
{
    img_chart_summary s;
    img_error err;
    cr_assert_eq(img_chart_prepare("/nonexistent/bench", "/tmp/never", &s, &err), -1);
    cr_assert(strstr(err.message, "/nonexistent/bench/bench.csv") != NULL, "%s", err.message);
}

/* ---- the real binary ---- */

typedef test_result result;

/* Runs imgpipe with args; env_path replaces PATH and gnuplot_dir sets
 * IMGPIPE_GNUPLOT_DIR (else it is unset) in the child. */
static void run_binary(result *r, const char *env_path, const char *gnuplot_dir,
                       const char **args)
{
    char path_var[4200], gnuplot_var[4200];
    const char *env[3] = {NULL, "IMGPIPE_GNUPLOT_DIR", NULL};
    int n = 0;
    if (env_path) {
        snprintf(path_var, sizeof path_var, "PATH=%s", env_path);
        env[n++] = path_var;
    }
    if (gnuplot_dir) {
        snprintf(gnuplot_var, sizeof gnuplot_var, "IMGPIPE_GNUPLOT_DIR=%s", gnuplot_dir);
        env[n++] = gnuplot_var;
    } else {
        env[n++] = "IMGPIPE_GNUPLOT_DIR";
    }
    env[n] = NULL;
    test_run_binary(r, env, args);
}

#define RUN(r, path, gpdir, ...) run_binary(r, path, gpdir, (const char *[]){__VA_ARGS__, NULL})

static void assert_png(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.png", dir, name);
    size_t n;
    char *data = slurp(path, &n);
    cr_assert_not_null(data, "%s was not drawn", path);
    cr_assert_gt(n, 1000, "%s: only %zu bytes", path, n);
    cr_assert_eq(memcmp(data, "\x89PNG\r\n\x1a\n", 8), 0, "%s is not a PNG", path);
    free(data);
    snprintf(path, sizeof path, "%s/%s.svg", dir, name);
    data = slurp(path, &n);
    cr_assert_not_null(data, "%s was not drawn", path);
    cr_assert_gt(n, 1000);
    cr_assert(strstr(data, "<svg") != NULL && strstr(data, "</svg>") != NULL, "%s", path);
    free(data);
}

/* Every src= and href= of the page points at a file in dir (or at an anchor). */
static int assert_links_exist(const char *dir, const char *html)
{
    int links = 0;
    for (const char *p = html; (p = strpbrk(p, "sh")) != NULL; p++) {
        size_t skip;
        if (strncmp(p, "src=\"", 5) == 0)
            skip = 5;
        else if (strncmp(p, "href=\"", 6) == 0)
            skip = 6;
        else
            continue;
        if (p > html && p[-1] != ' ')
            continue;   /* part of a longer word */
        const char *v = p + skip, *end = strchr(v, '"');
        cr_assert_not_null(end);
        char target[512];
        snprintf(target, sizeof target, "%.*s", (int)(end - v), v);
        p = end;
        if (target[0] == '#')
            continue;
        cr_assert(strstr(target, "://") == NULL && target[0] != '/',
                  "the page must be self-contained: %s", target);
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, target);
        cr_assert(stat(path, &st) == 0 && S_ISREG(st.st_mode), "index.html links to missing %s",
                  target);
        links++;
    }
    return links;
}

Test(binary_chart, draws_every_chart_and_a_self_contained_page, .timeout = 120)
{
    cr_assert(img_gnuplot_available(), "gnuplot-nox is needed for this test (.ci/setup)");
    char dir[256];
    copy_fixture(dir, sizeof dir);
    result r;
    RUN(&r, NULL, NULL, "chart", dir);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "7 charts drawn") != NULL, "%s", r.out);
    for (size_t i = 0; i < CHART_NAMES; i++)
        assert_png(dir, chart_names[i]);
    char *html = slurp_in(dir, "index.html");
    int links = assert_links_exist(dir, html);
    /* 7 charts x (img + 2 SVG links) + bench.csv twice + json, 2 traces, log */
    cr_assert_geq(links, 7 * 3 + 5, "only %d links", links);
    for (size_t i = 0; i < CHART_NAMES; i++) {
        char img[128];
        snprintf(img, sizeof img, "src=\"%s.png\"", chart_names[i]);
        cr_assert(strstr(html, img) != NULL, "index.html lacks %s", img);
    }
    /* Every row, the refused ones with their notes (escaped), and the environment. */
    cr_assert(strstr(html, "<td class=\"bad\">MISMATCH</td>") != NULL);
    cr_assert(strstr(html, "this CPU lacks avx512f, avx512bw: level &quot;avx512&quot; cannot run")
              != NULL);
    cr_assert(strstr(html, "Example CPU @ 3.00GHz &lt;fixture&gt;") != NULL);
    cr_assert_null(strstr(html, "<fixture>"), "text is HTML-escaped");
    cr_assert(strstr(html, "<td>cpu_simd_flags</td><td>sse4.1 avx2</td>") != NULL);
    cr_assert_null(strstr(html, "<script"));
    int rows = 0;
    for (const char *p = html; (p = strstr(p, "<tr><td>")) != NULL; p++)
        rows++;
    cr_assert_geq(rows, 27, "the results table has every row");
    free(html);
    /* gnuplot's output is kept for when a chart looks wrong. */
    char *log = slurp_in(dir, "chart-data/gnuplot.log");
    cr_assert(strstr(log, "timeline.gp") != NULL);
    free(log);
    remove_tree(dir);
}

Test(binary_chart, skipped_charts_are_not_linked, .timeout = 120)
{
    cr_assert(img_gnuplot_available(), "gnuplot-nox is needed for this test (.ci/setup)");
    char dir[256], path[300];
    copy_fixture(dir, sizeof dir);
    /* A stale chart from an earlier run must go: it no longer matches the data. */
    snprintf(path, sizeof path, "%s/timeline.png", dir);
    write_text(path, "stale");
    snprintf(path, sizeof path, "%s/trace_all_cores.json", dir);
    unlink(path);
    result r;
    RUN(&r, NULL, NULL, "chart", dir);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "chart timeline skipped: no trace_all_cores.json") != NULL, "%s",
              r.out);
    cr_assert(strstr(r.out, "6 charts drawn") != NULL, "%s", r.out);
    snprintf(path, sizeof path, "%s/timeline.png", dir);
    cr_assert_eq(access(path, F_OK), -1, "stale timeline.png removed");
    char *html = slurp_in(dir, "index.html");
    assert_links_exist(dir, html);
    cr_assert_null(strstr(html, "timeline.png"));
    cr_assert(strstr(html, "no trace_all_cores.json") != NULL, "the page says why");
    free(html);
    remove_tree(dir);
}

Test(binary_chart, failing_script_is_named, .timeout = 120)
{
    cr_assert(img_gnuplot_available(), "gnuplot-nox is needed for this test (.ci/setup)");
    char dir[256], scripts[256], path[300];
    copy_fixture(dir, sizeof dir);
    make_temp_dir(scripts, sizeof scripts, "scripts");
    snprintf(path, sizeof path, "%s/common.gp", scripts);
    write_text(path, "# empty\n");
    snprintf(path, sizeof path, "%s/throughput.gp", scripts);
    write_text(path, "this is not gnuplot\n");
    result r;
    RUN(&r, NULL, scripts, "chart", dir);
    cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_assert(strstr(r.err, "throughput.gp") != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "gnuplot.log") != NULL, "%s", r.err);
    /* The page is still written, linking only what exists. */
    char *html = slurp_in(dir, "index.html");
    assert_links_exist(dir, html);
    cr_assert_null(strstr(html, "throughput.png"));
    free(html);
    char *log = slurp_in(dir, "chart-data/gnuplot.log");
    cr_assert(strstr(log, "this is not gnuplot") != NULL || strstr(log, "invalid") != NULL, "%s",
              log);
    free(log);
    remove_tree(scripts);
    remove_tree(dir);
}

Test(binary_chart, missing_csv_exits_1_naming_it)
{
    char dir[256];
    make_temp_dir(dir, sizeof dir, "chart-empty");
    result r;
    RUN(&r, NULL, NULL, "chart", dir);
    cr_assert_eq(r.status, 1);
    cr_assert(strstr(r.err, "bench.csv") != NULL && strstr(r.err, dir) != NULL, "%s", r.err);
    remove_tree(dir);
}

Test(binary_chart, without_gnuplot, .timeout = 120)
{
    char dir[256], empty[256], out[300];
    copy_fixture(dir, sizeof dir);
    make_temp_dir(empty, sizeof empty, "empty-path");
    result r;
    RUN(&r, empty, NULL, "chart", dir);
    cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_assert(strstr(r.err, "gnuplot not found: install gnuplot-nox to draw charts") != NULL,
              "%s", r.err);
    /* bench still succeeds, with a note. */
    snprintf(out, sizeof out, "%s/bench", dir);
    RUN(&r, empty, NULL, "bench", "--backends", "serial", "--sizes", "16x16", "--reps", "1",
        "--min-time", "0", "--out", out);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "gnuplot not found: charts skipped (install gnuplot-nox)") != NULL,
              "%s", r.out);
    char csv[400];
    snprintf(csv, sizeof csv, "%s/bench.csv", out);
    cr_assert_eq(access(csv, F_OK), 0);
    remove_tree(empty);
    remove_tree(dir);
}

Test(binary_chart, bench_draws_its_charts, .timeout = 120)
{
    cr_assert(img_gnuplot_available(), "gnuplot-nox is needed for this test (.ci/setup)");
    char dir[256];
    make_temp_dir(dir, sizeof dir, "bench-chart");
    result r;
    RUN(&r, NULL, NULL, "bench", "--backends", "serial", "--sizes", "16x16", "--reps", "1",
        "--min-time", "0", "--out", dir);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    char expect[400];
    snprintf(expect, sizeof expect, "charts: %s/index.html", dir);
    cr_assert(strstr(r.out, expect) != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "chart threads_scaling skipped") != NULL, "%s", r.out);
    assert_png(dir, "throughput");
    char *html = slurp_in(dir, "index.html");
    assert_links_exist(dir, html);
    free(html);
    remove_tree(dir);
}

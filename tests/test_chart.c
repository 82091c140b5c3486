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
#include "cpus.h"

#define FIXTURE IMGPIPE_SOURCE_DIR "/tests/fixtures/chart"

static const char *const chart_names[] = {"throughput", "speedup",  "threads_scaling",
                                          "simd_levels", "breakdown", "timeline",
                                          "roofline"};   /* job needs bench --input */
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

/* ---- crafted bench folders ---- */

/* The columns bench.csv has, those the charts read; rows are given in this order. */
#define CRAFTED_HEADER                                                                       \
    "backend,setting,simd,threads,cpus,width,height,verdict,reps,median_s,q1_s,q3_s,"      \
    "mpix_per_s,gb_per_s,speedup_vs_serial,ivcsw_per_run,stage_brightness_s,"              \
    "stage_contrast_s,stage_blur_s,stage_resize_s,cpus_used_per_run,cpus_ran_on,disturbed," \
    "note\n"

/* A 4k run as bench writes it on a 2-core machine with serial and threads: the main
 * threads row (2 threads) timed stage by stage, then the scaling series pinned to CPU 0
 * and on all cores, without stage times; threads=4 on all cores is the fastest. The
 * all-cores rows with more than one thread ran on CPU 0 only when `disturbed`. */
static void write_threads_run(const char *dir, bool disturbed)
{
    char path[512], csv[8192];
    int n = snprintf(csv, sizeof csv, "%s",
                     CRAFTED_HEADER
                     "serial,default,,1,all,3840,2160,bit-exact,10,0.631,0.62,0.64,13.1,0.05,1,"
                     "1,0.012,0.0175,0.56,0.0193,,,,\n"
                     "threads,default,,2,all,3840,2160,bit-exact,10,0.0918,0.09,0.093,90.4,0.4,"
                     "6.9,1,0.0038,0.0037,0.0752,0.0125,2.00,0-1,0,\"2 threads, band 64 rows "
                     "(auto)\"\n");
    static const int counts[] = {1, 2, 4, 8};
    static const double pinned[] = {0.1796, 0.1793, 0.1797, 0.1808};
    static const double all[] = {0.1800, 0.0906, 0.0905, 0.0917};
    for (int series = 0; series < 2; series++)
        for (int i = 0; i < 4; i++) {
            double m = series ? all[i] : pinned[i];
            bool bad = series == 1 && disturbed && counts[i] > 1;
            n += snprintf(csv + n, sizeof csv - (size_t)n,
                          "threads,threads=%d,,%d,%s,3840,2160,bit-exact,10,%.4f,%.4f,%.4f,%.1f,"
                          "0.3,%.2f,%d,,,,,%s,%s,%d,\n",
                          counts[i], counts[i], series ? "all" : "0", m, m * 0.99, m * 1.01,
                          8.2944 / m, 0.631 / m, 1 + 10 * i,
                          series && !bad ? (counts[i] > 1 ? "2.00" : "1.00") : "1.00",
                          series && !bad && counts[i] > 1 ? "0-1" : "0", bad ? 1 : 0);
        }
    snprintf(path, sizeof path, "%s/bench.csv", dir);
    write_text(path, csv);
}

/* bench.json of a 2-core machine; trace_files is the JSON array's inside, or NULL for
 * none at all (an older bench.json). */
static void write_bench_json(const char *dir, const char *trace_files)
{
    char path[512], json[2048];
    snprintf(json, sizeof json,
             "{\n  \"environment\": {\n    \"cpu_model\": \"Test CPU\",\n"
             "    \"cores_online\": 2,\n    \"cores_allowed\": 2,\n"
             "    \"date\": \"2026-01-02T03:04:05Z\"\n  },\n"
             "  \"command_line\": \"imgpipe bench\",%s%s%s\n"
             "  \"copy_bandwidth_gb_per_s\": 20.000,\n  \"rows\": []\n}\n",
             trace_files ? "\n  \"trace_files\": [" : "", trace_files ? trace_files : "",
             trace_files ? "]," : "");
    snprintf(path, sizeof path, "%s/bench.json", dir);
    write_text(path, json);
}

/* A trace of `workers` workers, two stages of 8 tasks each; task i starts on
 * cpu_start(i) and ends on cpu_end(i) (-1: the key is left out, as in older traces). */
static void write_trace(const char *path, int workers, int (*cpu_start)(int), int (*cpu_end)(int))
{
    char text[16384];
    int n = snprintf(text, sizeof text, "{\"traceEvents\": [\n"
                                        "{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, "
                                        "\"tid\": 0, \"args\": {\"name\": \"worker 0\"}}");
    for (int i = 0; i < 16; i++) {
        char end[32] = "";
        if (cpu_end(i) >= 0)
            snprintf(end, sizeof end, ", \"cpu_end\": %d", cpu_end(i));
        n += snprintf(text + n, sizeof text - (size_t)n,
                      ",\n{\"name\": \"%s band %d\", \"cat\": \"%s\", \"ph\": \"X\", "
                      "\"ts\": %d.000, \"dur\": 900.000, \"pid\": 1, \"tid\": %d, "
                      "\"args\": {\"cpu\": %d%s, \"band\": %d, \"plane\": 0}}",
                      i < 8 ? "point+blur" : "resize", i % 8, i < 8 ? "point+blur" : "resize",
                      (i / workers) * 1000, i % workers, cpu_start(i), end, i % 8);
    }
    snprintf(text + n, sizeof text - (size_t)n, "\n]}\n");
    write_text(path, text);
}

static int cpu_zero(int task)
{
    (void)task;
    return 0;
}

static int cpu_unknown(int task)
{
    (void)task;
    return -1;
}

/* Even tasks end on CPU 1: the worker migrated, so the run did use both CPUs. */
static int cpu_migrated(int task)
{
    return task % 2;
}

static void write_traces(const char *dir, int (*all_start)(int), int (*all_end)(int))
{
    char path[512];
    snprintf(path, sizeof path, "%s/trace_one_core.json", dir);
    write_trace(path, 4, cpu_zero, cpu_zero);
    snprintf(path, sizeof path, "%s/trace_all_cores.json", dir);
    write_trace(path, 4, all_start, all_end);
}

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
    /* The fixture is a bench.csv from before the job column: every row is a pipeline
     * row, every chart of them is drawn, and only the whole-job chart is skipped. */
    for (int id = 0; id < IMG_CHART_COUNT; id++)
        if (id != IMG_CHART_JOB)
            cr_assert(s.ready[id], "%s not ready: %s", img_chart_name((img_chart_id)id),
                      s.skipped[id]);
    cr_assert_not(s.ready[IMG_CHART_JOB]);
    cr_assert_str_eq(s.skipped[IMG_CHART_JOB], "bench was run without --input: no whole-job rows");
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
    ASSERT_LINE(text, "\"backend\" \"whole run (median)\" \"ideal (busiest engine)\" "
                      "\"brightness\" \"contrast\" \"blur\" \"resize\" \"upload\" \"kernel\" "
                      "\"download\"");
    ASSERT_LINE(text, "\"serial\" 82.0000 NaN 4.1000 4.1000 65.6000 12.3000 NaN NaN NaN");
    ASSERT_LINE(text,
                "\"threads threads=4\" 24.6000 NaN 1.2300 1.2300 19.6800 3.6900 NaN NaN NaN");
    /* A bench.csv from before streaming has no ideal_s: NaN, no cross drawn. */
    ASSERT_LINE(text, "\"opencl\" 16.4000 NaN NaN NaN NaN NaN 3.6900 8.6100 2.4600");
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
    ASSERT_LINE(text, "\"backend\" \"whole run (median)\" \"ideal (busiest engine)\" "
                      "\"brightness\" \"contrast\" \"blur\" \"resize\"");
    ASSERT_LINE(text, "\"serial\" 0.9184 NaN 0.0268 0.0379 0.8309 0.0167");
    free(text);
    snprintf(path, sizeof path, "%s/breakdown_build.dat", data);
    cr_assert_eq(access(path, F_OK), -1);
    remove_tree(dir);
}

/* Issue 16, item 14: the breakdown's threads bar had no stages in every run, because
 * the fastest threads row at the largest size is one of the scaling series (not timed
 * stage by stage). The bar is now the fastest row that has stage times. */
Test(chart_prepare, breakdown_threads_bar_has_stage_times)
{
    char dir[256], data[300];
    make_temp_dir(dir, sizeof dir, "chart-breakdown");
    write_threads_run(dir, false);
    snprintf(data, sizeof data, "%s/chart-data", dir);
    img_chart_summary s;
    img_error err;
    cr_assert_eq(img_chart_prepare(dir, data, &s, &err), 0, "%s", err.message);
    cr_assert(s.ready[IMG_CHART_BREAKDOWN], "%s", s.skipped[IMG_CHART_BREAKDOWN]);
    char *text = slurp_in(data, "breakdown.dat");
    ASSERT_LINE(text, "\"threads\" 91.8000 NaN 3.8000 3.7000 75.2000 12.5000");
    cr_assert_null(strstr(text, "threads=4"), "the scaling row has no stages to show:\n%s", text);
    free(text);
    /* The roofline still shows each backend's fastest setting. */
    text = slurp_in(data, "roofline.dat");
    cr_assert(strstr(text, "\"threads threads=4\"") != NULL, "%s", text);
    free(text);
    remove_tree(dir);
}

/* Issue 14: a streamed OpenCL row shows its serialized parts stacked, its median as
 * the whole run and the ideal (the busiest engine alone) beside them. */
Test(chart_prepare, breakdown_shows_the_streamed_ideal)
{
    char dir[256], data[300], path[400];
    make_temp_dir(dir, sizeof dir, "chart-overlap");
    snprintf(path, sizeof path, "%s/bench.csv", dir);
    write_text(path,
               "backend,setting,simd,threads,cpus,width,height,channels,out_width,out_height,"
               "verdict,reps,median_s,q1_s,q3_s,iqr_s,build_s,upload_s,kernel_s,download_s,"
               "streamed_s,serialized_s,ideal_s,breakdown,note\n"
               "opencl,default,,1,all,3840,2160,3,1920,1080,bit-exact,5,0.012000,0.011900,"
               "0.012100,0.000200,0.300000,0.006000,0.003000,0.002000,0.012500,0.011000,"
               "0.006000,,\n");
    snprintf(data, sizeof data, "%s/chart-data", dir);
    img_chart_summary s;
    img_error err;
    cr_assert_eq(img_chart_prepare(dir, data, &s, &err), 0, "%s", err.message);
    cr_assert(s.ready[IMG_CHART_BREAKDOWN], "%s", s.skipped[IMG_CHART_BREAKDOWN]);
    char *text = slurp_in(data, "breakdown.dat");
    ASSERT_LINE(text, "\"backend\" \"whole run (median)\" \"ideal (busiest engine)\" "
                      "\"upload\" \"kernel\" \"download\"");
    ASSERT_LINE(text, "\"opencl\" 12.0000 6.0000 6.0000 3.0000 2.0000");
    free(text);
    remove_tree(dir);
}

/* Issue 16, item 12: a chart that is skipped says why, and the true reason: a backend
 * that was not run is not "no bit-exact rows". */
Test(chart_prepare, skip_reasons_tell_what_was_not_run)
{
    char dir[256], data[300], path[400];
    make_temp_dir(dir, sizeof dir, "chart-reasons");
    snprintf(data, sizeof data, "%s/chart-data", dir);
    snprintf(path, sizeof path, "%s/bench.csv", dir);
    img_chart_summary s;
    img_error err;

    /* serial alone. */
    write_text(path, CRAFTED_HEADER "serial,default,,1,all,64,48,bit-exact,3,0.001,0.001,0.001,"
                                    "3.1,0.01,1,0,,,,,,,,\n");
    cr_assert_eq(img_chart_prepare(dir, data, &s, &err), 0, "%s", err.message);
    cr_assert_str_eq(s.skipped[IMG_CHART_SIMD_LEVELS], "the simd backend was not run");
    cr_assert_str_eq(s.skipped[IMG_CHART_THREADS_SCALING], "the threads backend was not run");
    cr_assert_str_eq(s.skipped[IMG_CHART_TIMELINE],
                     "the threads backend was not run (no trace_one_core.json in the folder)");
    cr_assert_str_eq(s.skipped[IMG_CHART_SPEEDUP],
                     "only serial was run: nothing to compare with it");

    /* simd ran, but no level was bit-exact; threads ran without its scaling series;
     * serial failed. */
    write_text(path, CRAFTED_HEADER
               "serial,default,,1,all,64,48,ERROR,0,,,,,,,,,,,,,,,out of memory\n"
               "simd,simd=avx512,avx512,1,all,64,48,unavailable,0,,,,,,,,,,,,,,,no avx512f\n"
               "simd,simd=avx2,avx2,1,all,64,48,MISMATCH,0,,,,,,,,,,,,,,,not timed\n"
               "threads,threads=2,,2,all,64,48,bit-exact,3,0.001,0.001,0.001,3.1,0.01,,0,,,,,"
               "2.00,0-1,0,\n");
    cr_assert_eq(img_chart_prepare(dir, data, &s, &err), 0, "%s", err.message);
    cr_assert_str_eq(s.skipped[IMG_CHART_SIMD_LEVELS], "no bit-exact rows of the simd backend");
    cr_assert(strstr(s.skipped[IMG_CHART_THREADS_SCALING], "without a scaling series") != NULL,
              "%s", s.skipped[IMG_CHART_THREADS_SCALING]);
    cr_assert_str_eq(s.skipped[IMG_CHART_SPEEDUP],
                     "serial was not bit-exact and timed: there is no baseline to compare with");
    cr_assert_str_eq(s.skipped[IMG_CHART_TIMELINE],
                     "no trace_one_core.json in the folder (a trace of the threads backend)");

    /* Nothing timed at all. */
    write_text(path, CRAFTED_HEADER
               "simd,simd=avx2,avx2,1,all,64,48,MISMATCH,0,,,,,,,,,,,,,,,not timed\n");
    cr_assert_eq(img_chart_prepare(dir, data, &s, &err), 0, "%s", err.message);
    cr_assert_str_eq(s.skipped[IMG_CHART_THROUGHPUT], "no row was bit-exact and timed");
    cr_assert_str_eq(s.skipped[IMG_CHART_BREAKDOWN], "no row was bit-exact and timed");
    cr_assert_str_eq(s.skipped[IMG_CHART_ROOFLINE], "no row was bit-exact and timed");
    cr_assert_str_eq(s.skipped[IMG_CHART_SPEEDUP],
                     "the serial backend was not run: there is no baseline to compare with");
    remove_tree(dir);
}

/* Issue 13, item 4: the whole job's chart. bench --input adds per backend a row with
 * job "whole" whose decode_s, pipeline_s and encode_s are the medians of the parts;
 * job.dat stacks them and gives Amdahl's ceiling, (decode + pipeline + encode) /
 * (decode + encode). The pipeline charts ignore those rows. */
#define JOB_HEADER                                                                         \
    "backend,setting,simd,threads,cpus,width,height,verdict,reps,median_s,q1_s,q3_s,"      \
    "mpix_per_s,job,decode_s,pipeline_s,encode_s,note\n"

Test(chart_prepare, job_stacks_the_whole_rows_with_amdahls_ceiling)
{
    char dir[256], data[300], path[400];
    make_temp_dir(dir, sizeof dir, "chart-job");
    snprintf(data, sizeof data, "%s/chart-data", dir);
    snprintf(path, sizeof path, "%s/bench.csv", dir);
    write_text(path, JOB_HEADER
               "serial,default,,1,all,640,480,bit-exact,10,0.020,0.019,0.021,15.36,pipeline,,,,\n"
               "simd,default,,1,all,640,480,bit-exact,10,0.002,0.0019,0.0021,153.6,pipeline,,,,\n"
               "opencl,default,,1,all,640,480,MISMATCH,0,,,,,pipeline,,,,not timed\n"
               "serial,default,,1,all,640,480,bit-exact,10,0.030,0.029,0.031,10.24,whole,"
               "0.004,0.020,0.006,\n"
               "simd,default,,1,all,640,480,bit-exact,10,0.0125,0.012,0.013,24.58,whole,"
               "0.004,0.002,0.006,\n");
    img_chart_summary s;
    img_error err;
    cr_assert_eq(img_chart_prepare(dir, data, &s, &err), 0, "%s", err.message);
    cr_assert(s.ready[IMG_CHART_JOB], "%s", s.skipped[IMG_CHART_JOB]);
    cr_assert_eq(s.timed_rows, 4);
    char *text = slurp_in(data, "job.dat");
    ASSERT_LINE(text, "\"backend\" \"decode\" \"pipeline\" \"encode\" \"whole job (median)\" "
                      "\"pipeline %\" \"ceiling\"");
    /* 20 of 30 ms in the pipeline: at most 30 / 10 = 3 times faster without it. */
    ASSERT_LINE(text, "\"serial\" 4.0000 20.0000 6.0000 30.0000 66.7 3.000");
    ASSERT_LINE(text, "\"simd\" 4.0000 2.0000 6.0000 12.5000 16.7 1.200");
    cr_assert_null(strstr(text, "opencl"), "a backend without a whole-job row has no bar");
    free(text);
    text = slurp_in(data, "job_info.dat");
    ASSERT_LINE(text, "\"at 640x480: decode + pipeline + encode, in memory\" 2.000");
    free(text);
    /* The pipeline charts see only the pipeline rows: serial at 15.36 MP/s, not 10.24. */
    text = slurp_in(data, "throughput.dat");
    cr_assert(strstr(text, "\"serial\" 15.360") != NULL, "%s", text);
    cr_assert_null(strstr(text, "10.240"), "a whole-job row on the throughput chart: %s", text);
    free(text);
    text = slurp_in(data, "speedup.dat");
    ASSERT_LINE(text, "\"simd\" 10.000 9.524 10.526");
    free(text);

    /* Whole rows that are not timed: the reason says so, not "without --input". */
    write_text(path, JOB_HEADER
               "serial,default,,1,all,640,480,bit-exact,10,0.020,0.019,0.021,15.36,pipeline,,,,\n"
               "serial,default,,1,all,640,480,ERROR,0,,,,,whole,,,,x.png: unknown output format\n");
    cr_assert_eq(img_chart_prepare(dir, data, &s, &err), 0, "%s", err.message);
    cr_assert_not(s.ready[IMG_CHART_JOB]);
    cr_assert_str_eq(s.skipped[IMG_CHART_JOB],
                     "no whole-job row was bit-exact and timed with its decode, pipeline and "
                     "encode parts");
    cr_assert(s.ready[IMG_CHART_THROUGHPUT], "%s", s.skipped[IMG_CHART_THROUGHPUT]);

    /* No whole rows (bench without --input), with the job column. */
    write_text(path, JOB_HEADER
               "serial,default,,1,all,640,480,bit-exact,10,0.020,0.019,0.021,15.36,pipeline,,,,\n");
    cr_assert_eq(img_chart_prepare(dir, data, &s, &err), 0, "%s", err.message);
    cr_assert_str_eq(s.skipped[IMG_CHART_JOB], "bench was run without --input: no whole-job rows");
    remove_tree(dir);
}

/* Issue 16, item 15: the detection itself. A run on all cores was disturbed when its
 * tasks, which could have used min(threads, cores, tasks of a batch) CPUs at once, ran
 * on fewer. */
Test(threads_cpus, disturbed_detection)
{
    cr_assert_eq(img_expected_cpus(2, 2, 0), 2);
    cr_assert_eq(img_expected_cpus(4, 2, 100), 2, "more threads than cores");
    cr_assert_eq(img_expected_cpus(8, 16, 3), 3, "only three tasks to spread");
    cr_assert_eq(img_expected_cpus(4, 0, 0), 4, "unknown cores: the threads");
    cr_assert_eq(img_expected_cpus(0, 0, 0), 1);

    cr_assert(img_cpus_disturbed(1, 2), "every task on one of two CPUs");
    cr_assert(img_cpus_disturbed(1.5, 2), "half the runs on one CPU (median)");
    cr_assert(img_cpus_disturbed(3, 4));
    cr_assert_not(img_cpus_disturbed(2, 2));
    cr_assert_not(img_cpus_disturbed(1, 1), "pinned: one CPU is the point");
    cr_assert_not(img_cpus_disturbed(0, 4), "not recorded");

    img_cpu_mask m = {{0}};
    char list[64];
    img_cpu_mask_format(&m, list, sizeof list);
    cr_assert_str_eq(list, "");
    img_cpu_mask_add(&m, 0);
    img_cpu_mask_format(&m, list, sizeof list);
    cr_assert_str_eq(list, "0");
    img_cpu_mask_add(&m, 1);
    img_cpu_mask_add(&m, 2);
    img_cpu_mask_add(&m, 3);
    img_cpu_mask_add(&m, 6);
    img_cpu_mask_add(&m, 100);
    img_cpu_mask_add(&m, -1);
    img_cpu_mask_add(&m, IMG_CPU_MASK_CPUS);
    img_cpu_mask_format(&m, list, sizeof list);
    cr_assert_str_eq(list, "0-3,6,100");
    cr_assert_eq(img_cpu_mask_count(&m), 6);
}

/* A trace whose all-cores tasks started on CPU 0 but half of them ended on CPU 1 did use
 * both CPUs: not disturbed. Without bench.json the cores are unknown and nothing is
 * claimed either. */
Test(chart_prepare, trace_cpus_at_start_and_end)
{
    char dir[256], data[300];
    make_temp_dir(dir, sizeof dir, "chart-migrated");
    snprintf(data, sizeof data, "%s/chart-data", dir);
    write_threads_run(dir, false);
    write_bench_json(dir, "\"trace_one_core.json\", \"trace_all_cores.json\"");
    write_traces(dir, cpu_zero, cpu_migrated);
    img_chart_summary s;
    img_error err;
    cr_assert_eq(img_chart_prepare(dir, data, &s, &err), 0, "%s", err.message);
    char *text = slurp_in(data, "timeline_info.dat");
    ASSERT_LINE(text, "\"all cores: 4 workers on CPUs 0-1\" 4");
    free(text);
    cr_assert_str_eq(s.warning[IMG_CHART_TIMELINE], "");

    /* An older trace without cpu_end, all on CPU 0, no bench.json: no claim. */
    char path[400];
    snprintf(path, sizeof path, "%s/bench.json", dir);
    unlink(path);
    write_traces(dir, cpu_zero, cpu_unknown);
    cr_assert_eq(img_chart_prepare(dir, data, &s, &err), 0, "%s", err.message);
    text = slurp_in(data, "timeline_info.dat");
    ASSERT_LINE(text, "\"all cores: 4 workers on CPU 0\" 4");
    free(text);
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

/* The chart's drawing is in the page: a sample of the SVG file's lines (those the
 * inlining leaves as they are: no ids or references to them) appears verbatim. */
static void assert_svg_inlined(const char *dir, const char *name, const char *html)
{
    char file[128];
    snprintf(file, sizeof file, "%s.svg", name);
    char *svg = slurp_in(dir, file);
    int checked = 0, line_no = 0;
    for (char *line = strstr(svg, "<svg"); line && *line; line_no++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (line_no % 7 == 0 && strlen(line) > 24 && !strstr(line, "id=") &&
            !strstr(line, "href=") && !strstr(line, "url(#") && !strstr(line, "<title>") &&
            !strstr(line, "<svg")) {
            cr_assert(strstr(html, line) != NULL, "%s is not in the page: line %d\n%s", file,
                      line_no, line);
            checked++;
        }
        line = nl ? nl + 1 : NULL;
    }
    cr_assert_geq(checked, 10, "%s: only %d lines checked", file, checked);
    free(svg);
}

/* Every id="..." or id='...' of the page appears once. */
static void assert_ids_unique(const char *html)
{
    int ids = 0;
    for (const char *p = html; (p = strstr(p, "id=")) != NULL; p += 3) {
        if (p == html || !(p[-1] == ' ' || p[-1] == '\n' || p[-1] == '\t') ||
            (p[3] != '"' && p[3] != '\''))
            continue;
        const char *v = p + 4, *end = strchr(v, p[3]);
        cr_assert_not_null(end);
        char pattern[300];
        snprintf(pattern, sizeof pattern, "id=%c%.*s%c", p[3], (int)(end - v), v, p[3]);
        const char *first = strstr(html, pattern);
        cr_assert_eq(first, p, "id %s appears twice", pattern);
        /* The other quote style may not repeat it either. */
        pattern[3] = pattern[strlen(pattern) - 1] = p[3] == '"' ? '\'' : '"';
        cr_assert_null(strstr(html, pattern), "id %s appears twice", pattern);
        ids++;
    }
    cr_assert_gt(ids, 7);
}

/* Issue 16, item 4: index.html loaded every chart from a file beside it, so the page
 * sent alone showed none. The SVGs are now in the page, prolog stripped and ids made
 * unique; the PNG and SVG files stay beside it. */
Test(binary_chart, page_holds_the_charts_themselves, .timeout = 120)
{
    cr_assert(img_gnuplot_available(), "gnuplot-nox is needed for this test (.ci/setup)");
    char dir[256];
    copy_fixture(dir, sizeof dir);
    result r;
    RUN(&r, NULL, NULL, "chart", dir);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    char *html = slurp_in(dir, "index.html");
    cr_assert_null(strstr(html, "src="), "the page loads nothing: charts are inline");
    cr_assert_null(strstr(html, "<img"));
    for (size_t i = 0; i < CHART_NAMES; i++) {
        char link[128];
        snprintf(link, sizeof link, "href=\"%s.", chart_names[i]);
        cr_assert_null(strstr(html, link), "the page depends on %s.*", chart_names[i]);
        assert_svg_inlined(dir, chart_names[i], html);
        assert_png(dir, chart_names[i]);   /* kept beside the page */
    }
    int svgs = 0;
    for (const char *p = html; (p = strstr(p, "<svg ")) != NULL; p++)
        svgs++;
    cr_assert_eq(svgs, (int)CHART_NAMES);
    cr_assert_null(strstr(html, "<?xml"), "the SVGs' XML declarations are stripped");
    cr_assert_null(strstr(html, "<!DOCTYPE svg"));
    cr_assert_null(strstr(html, "<title>Gnuplot</title>"));
    cr_assert(strstr(html, "aria-label=\"Threads: task timeline per worker\"") != NULL);
    assert_ids_unique(html);
    /* References follow their ids. */
    cr_assert(strstr(html, "id='timeline-gpPt5'") != NULL);
    cr_assert_null(strstr(html, "href='#gpPt"), "a reference left pointing at another chart");
    free(html);
    remove_tree(dir);
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
    /* bench.csv twice + json, 2 traces, log; the charts are inline */
    cr_assert_geq(links, 6, "only %d links", links);
    for (size_t i = 0; i < CHART_NAMES; i++) {
        char figure[128];
        snprintf(figure, sizeof figure, "<figure id=\"chart-%s\">\n<svg ", chart_names[i]);
        cr_assert(strstr(html, figure) != NULL, "index.html lacks %s", figure);
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
    cr_assert(strstr(r.out, "chart threads_scaling skipped: the threads backend was not run\n") !=
                  NULL,
              "%s", r.out);
    /* Issue 16, item 12: not run is not "no bit-exact rows". */
    cr_assert(strstr(r.out, "chart simd_levels skipped: the simd backend was not run\n") != NULL,
              "%s", r.out);
    cr_assert(strstr(r.out, "chart timeline skipped: the threads backend was not run\n") != NULL,
              "%s", r.out);
    cr_assert(strstr(r.out, "chart speedup skipped: only serial was run: nothing to compare "
                            "with it\n") != NULL,
              "%s", r.out);
    cr_assert(strstr(r.out, "chart job skipped: bench was run without --input: no whole-job "
                            "rows\n") != NULL,
              "%s", r.out);
    assert_png(dir, "throughput");
    char *html = slurp_in(dir, "index.html");
    assert_links_exist(dir, html);
    free(html);
    remove_tree(dir);
}

/* Issue 13, item 4: bench --input draws where the whole job's time goes, and the page
 * shows it with the whole-job rows marked in the results table. */
Test(binary_chart, bench_input_draws_the_job_chart, .timeout = 120)
{
    cr_assert(img_gnuplot_available(), "gnuplot-nox is needed for this test (.ci/setup)");
    char dir[256], in[320];
    make_temp_dir(dir, sizeof dir, "bench-job");
    snprintf(in, sizeof in, "%s/in.png", dir);
    result r;
    RUN(&r, NULL, NULL, "run", "--size", "64x48", "--output", in);
    cr_assert_eq(r.status, 0, "%s", r.err);
    RUN(&r, NULL, NULL, "bench", "--backends", "serial", "--input", in, "--reps", "1",
        "--min-time", "0", "--out", dir);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert_null(strstr(r.out, "chart job skipped"), "%s", r.out);
    assert_png(dir, "job");
    char *text = slurp_in(dir, "chart-data/job.dat");
    cr_assert(strstr(text, "\n\"serial\" ") != NULL, "%s", text);
    free(text);
    char *html = slurp_in(dir, "index.html");
    cr_assert(strstr(html, "<figure id=\"chart-job\">\n<svg ") != NULL, "no job chart in the page");
    cr_assert(strstr(html, "<td>serial (whole job)</td>") != NULL, "the verdicts list the whole job");
    cr_assert(strstr(html, "<td>whole</td>") != NULL, "the results mark the whole-job row");
    assert_links_exist(dir, html);
    free(html);
    remove_tree(dir);
}

/* Issue 16, item 13: reusing --out redrew timeline.png from an earlier run's traces
 * although no threads backend ran. bench now removes what an earlier run left and
 * says so, and lists its own traces in bench.json. */
Test(binary_chart, bench_removes_an_earlier_runs_outputs, .timeout = 180)
{
    cr_assert(img_gnuplot_available(), "gnuplot-nox is needed for this test (.ci/setup)");
    char dir[256], path[400];
    make_temp_dir(dir, sizeof dir, "bench-rerun");
    result r;
    /* A run with the threads backend: its traces are recorded as its own. */
    RUN(&r, NULL, NULL, "bench", "--backends", "threads", "--sizes", "48x32", "--reps", "1",
        "--warmup", "0", "--min-time", "0", "--out", dir);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    char *json = slurp_in(dir, "bench.json");
    cr_assert(strstr(json, "\"trace_files\": [\"trace_one_core.json\", "
                           "\"trace_all_cores.json\"]") != NULL,
              "%s", json);
    free(json);
    snprintf(path, sizeof path, "%s/timeline.png", dir);
    cr_assert_eq(access(path, F_OK), 0, "%s", r.out);
    /* Where the tasks ran is recorded for every threads row. */
    char *csv = slurp_in(dir, "bench.csv");
    cr_assert(strstr(csv, ",cpus_used_per_run,cpus_ran_on,disturbed,") != NULL, "%s", csv);
    free(csv);
    img_chart_table t;
    img_error err;
    snprintf(path, sizeof path, "%s/bench.csv", dir);
    cr_assert_eq(img_chart_table_load(path, &t, &err), 0, "%s", err.message);
    int threads_rows = 0;
    for (int i = 0; i < t.row_count; i++) {
        if (strcmp(t.rows[i].backend, "threads") != 0) {
            cr_assert_eq(t.rows[i].disturbed, -1, "only the threads backend records CPUs");
            continue;
        }
        threads_rows++;
        cr_assert(t.rows[i].disturbed == 0 || t.rows[i].disturbed == 1, "row %d", i);
        cr_assert_geq(t.rows[i].cpus_used, 1.0);
        cr_assert_neq(t.rows[i].cpus_ran_on[0], '\0');
    }
    cr_assert_eq(threads_rows, 9, "the main row and the scaling series");
    img_chart_table_free(&t);

    /* Something of the user's stays. */
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    write_text(path, "mine");
    /* The next run, serial only, into the same folder. */
    RUN(&r, NULL, NULL, "bench", "--backends", "serial", "--sizes", "16x16", "--reps", "1",
        "--min-time", "0", "--out", dir);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    char expect[400];
    snprintf(expect, sizeof expect, " files of an earlier run in %s\n", dir);
    const char *said = strstr(r.out, expect);
    cr_assert_not_null(said, "%s", r.out);
    const char *line = said;
    while (line > r.out && line[-1] != '\n')
        line--;
    cr_assert(strncmp(line, "removed ", 8) == 0 && atoi(line + 8) >= 10, "%s", r.out);
    static const char *const gone[] = {"trace_one_core.json", "trace_all_cores.json",
                                       "timeline.png", "timeline.svg", "threads_scaling.png",
                                       "chart-data/timeline_one.dat"};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, gone[i]);
        cr_assert_eq(access(path, F_OK), -1, "%s of the earlier run is still there", gone[i]);
    }
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    cr_assert_eq(access(path, F_OK), 0, "a file bench does not write was removed");
    json = slurp_in(dir, "bench.json");
    cr_assert(strstr(json, "\"trace_files\": []") != NULL, "%s", json);
    free(json);
    cr_assert(strstr(r.out, "chart timeline skipped: the threads backend was not run\n") != NULL,
              "%s", r.out);
    char *html = slurp_in(dir, "index.html");
    assert_links_exist(dir, html);
    cr_assert_null(strstr(html, "href=\"trace_"), "no trace is this run's");
    cr_assert(strstr(html, "<td>trace_files</td><td>none (no traces in this run)</td>") != NULL);
    free(html);
    /* A third run into a clean folder has nothing to remove and says nothing. */
    remove_tree(dir);
    make_temp_dir(dir, sizeof dir, "bench-fresh");
    RUN(&r, NULL, NULL, "bench", "--backends", "serial", "--sizes", "16x16", "--reps", "1",
        "--min-time", "0", "--out", dir);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert_null(strstr(r.out, "of an earlier run"), "%s", r.out);
    remove_tree(dir);
}

/* Issue 16, item 13: `imgpipe chart DIR` uses only the traces bench.json lists when it
 * lists them; an older bench.json (no list) keeps drawing whatever is in the folder. */
Test(binary_chart, chart_uses_only_the_runs_traces, .timeout = 120)
{
    cr_assert(img_gnuplot_available(), "gnuplot-nox is needed for this test (.ci/setup)");
    char dir[256], path[400];
    make_temp_dir(dir, sizeof dir, "chart-traces");
    write_threads_run(dir, false);
    write_traces(dir, cpu_migrated, cpu_migrated);
    write_bench_json(dir, "");
    result r;
    RUN(&r, NULL, NULL, "chart", dir);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "chart timeline skipped: this run wrote no traces") != NULL, "%s",
              r.out);
    snprintf(path, sizeof path, "%s/timeline.png", dir);
    cr_assert_eq(access(path, F_OK), -1);
    char *html = slurp_in(dir, "index.html");
    cr_assert_null(strstr(html, "href=\"trace_"), "another run's traces are not linked");
    cr_assert(strstr(html, "none (no traces in this run)") != NULL);
    free(html);

    /* Listed: drawn. */
    write_bench_json(dir, "\"trace_one_core.json\", \"trace_all_cores.json\"");
    RUN(&r, NULL, NULL, "chart", dir);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert_null(strstr(r.out, "chart timeline skipped"), "%s", r.out);
    assert_png(dir, "timeline");

    /* Listed but gone. */
    snprintf(path, sizeof path, "%s/trace_all_cores.json", dir);
    unlink(path);
    RUN(&r, NULL, NULL, "chart", dir);
    cr_assert(strstr(r.out, "chart timeline skipped: trace_all_cores.json, written by this run "
                            "(bench.json), is missing") != NULL,
              "%s", r.out);

    /* No list at all: whatever is in the folder. */
    write_traces(dir, cpu_migrated, cpu_migrated);
    write_bench_json(dir, NULL);
    RUN(&r, NULL, NULL, "chart", dir);
    cr_assert_null(strstr(r.out, "chart timeline skipped"), "%s", r.out);
    assert_png(dir, "timeline");
    remove_tree(dir);
}

/* Issue 16, item 15: a 2-core run whose "all cores" series had every task on CPU 0 was
 * drawn as the parallel case. bench.csv's disturbed flag and the trace's CPUs now mark
 * it in both charts and in the report. */
Test(binary_chart, disturbed_all_cores_series_is_marked, .timeout = 120)
{
    cr_assert(img_gnuplot_available(), "gnuplot-nox is needed for this test (.ci/setup)");
    char dir[256];
    make_temp_dir(dir, sizeof dir, "chart-disturbed");
    write_threads_run(dir, true);
    write_bench_json(dir, "\"trace_one_core.json\", \"trace_all_cores.json\"");
    write_traces(dir, cpu_zero, cpu_zero);
    result r;
    RUN(&r, NULL, NULL, "chart", dir);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "chart threads_scaling: Disturbed: ") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "chart timeline: Disturbed: ") != NULL, "%s", r.out);
    char *text = slurp_in(dir, "chart-data/threads_scaling.dat");
    ASSERT_LINE(text, "\"pinned to CPU 0: threads interleave\"");
    ASSERT_LINE(text, "\"all 2 cores, disturbed: all tasks ran on CPU 0\"");
    cr_assert_null(strstr(text, "threads run in parallel"), "%s", text);
    free(text);
    text = slurp_in(dir, "chart-data/timeline_info.dat");
    ASSERT_LINE(text, "\"pinned to one core: 4 workers on CPU 0\" 4");
    ASSERT_LINE(text, "\"all 2 cores, disturbed: all tasks ran on CPU 0 (4 workers)\" 4");
    free(text);
    assert_png(dir, "threads_scaling");
    assert_png(dir, "timeline");
    char *html = slurp_in(dir, "index.html");
    cr_assert(strstr(html, "Disturbed: in the all-cores series, threads=2, threads=4 and "
                           "threads=8: all tasks ran on CPU 0.") != NULL);
    cr_assert(strstr(html, "Disturbed: in the all-cores run all tasks ran on CPU 0 although 2 "
                           "cores were allowed") != NULL);
    cr_assert(strstr(html, "disturbed: its tasks ran on CPU 0 only") != NULL,
              "the rows say it in the results table");
    free(html);

    /* The same folder undisturbed: the parallel case, no warning. */
    write_threads_run(dir, false);
    write_traces(dir, cpu_zero, cpu_migrated);
    RUN(&r, NULL, NULL, "chart", dir);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    text = slurp_in(dir, "chart-data/threads_scaling.dat");
    ASSERT_LINE(text, "\"all 2 cores: threads run in parallel\"");
    free(text);
    html = slurp_in(dir, "index.html");
    cr_assert_null(strstr(html, "isturbed"));
    free(html);
    remove_tree(dir);
}

/* Issue 16, item 15: the threads backend's trace says where each task started and
 * ended. */
Test(binary_chart, threads_trace_records_start_and_end_cpu, .timeout = 60)
{
    char dir[256], out[400], trace[400];
    make_temp_dir(dir, sizeof dir, "trace-cpus");
    snprintf(out, sizeof out, "%s/o.ppm", dir);
    snprintf(trace, sizeof trace, "%s/t.json", dir);
    result r;
    RUN(&r, NULL, NULL, "run", "--backend", "threads", "--size", "96x64", "--output", out,
        "--trace", trace);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    img_chart_trace t;
    img_error err;
    cr_assert_eq(img_chart_trace_load(trace, &t, &err), 0, "%s", err.message);
    cr_assert_gt(t.count, 0);
    for (size_t i = 0; i < t.count; i++) {
        cr_assert_geq(t.tasks[i].cpu, 0, "task %zu", i);
        cr_assert_geq(t.tasks[i].cpu_end, 0, "task %zu has no end CPU", i);
    }
    /* In the file itself, each event's args. */
    char *text = slurp_in(dir, "t.json");
    size_t ends = 0;
    for (const char *p = text; (p = strstr(p, "\"cpu_end\": ")) != NULL; p++)
        ends++;
    cr_assert_eq(ends, t.count, "%s", text);
    free(text);
    img_chart_trace_free(&t);
    remove_tree(dir);
}

/* The roofline's compute panel: a SIMD row's multiply-adds per second (MP/s x the
 * multiply-adds per pixel bench.csv records) against its level's roof from bench.json,
 * on the most measured threads up to the row's; a row without a SIMD level, or a level
 * without a measured roof, has no bar; without compute_roofs there is no panel. */
Test(chart_prepare, roofline_compute_panel)
{
    char dir[256], data[300], path[400];
    make_temp_dir(dir, sizeof dir, "chart-roof");
    snprintf(path, sizeof path, "%s/bench.csv", dir);
    write_text(path,
               "backend,setting,simd,threads,width,height,channels,verdict,median_s,"
               "mpix_per_s,gb_per_s,madds_per_pixel\n"
               "serial,default,,1,100,100,3,bit-exact,0.01,1.0,0.004,78.0\n"
               "simd,simd=avx2,avx2,1,100,100,3,bit-exact,0.001,1000.0,4.0,78.0\n"
               "simd-threads,default,avx2,4,100,100,3,bit-exact,0.0005,2000.0,8.0,78.0\n"
               "simd,simd=sse4.1,sse4.1,1,100,100,3,bit-exact,0.002,500.0,2.0,78.0\n");
    snprintf(path, sizeof path, "%s/bench.json", dir);
    write_text(path,
               "{\"environment\": {\"cpu_model\": \"test\"},\n"
               " \"compute_roofs\": [\n"
               "  {\"level\": \"avx2\", \"instruction\": \"vpmaddwd + vpaddd\", \"threads\": 1,"
               " \"madds_per_second\": 1.56e11},\n"
               "  {\"level\": \"avx2\", \"instruction\": \"vpmaddwd + vpaddd\", \"threads\": 2,"
               " \"madds_per_second\": 3.12e11}],\n"
               " \"rows\": []}\n");
    snprintf(data, sizeof data, "%s/chart-data", dir);
    img_chart_summary s;
    img_error err;
    cr_assert_eq(img_chart_prepare(dir, data, &s, &err), 0, "%s", err.message);
    cr_assert(s.ready[IMG_CHART_ROOFLINE], "%s", s.skipped[IMG_CHART_ROOFLINE]);
    char *text = slurp_in(data, "roofline_compute.dat");
    /* 1000 MP/s x 78 = 78 G/s of 156 measured on one thread. */
    ASSERT_LINE(text, "\"simd simd=avx2\" 78.00 156.00 50.0");
    /* 4 threads on a machine measured up to 2: the 2-thread roof. */
    ASSERT_LINE(text, "\"simd-threads\" 156.00 312.00 50.0");
    cr_assert_null(strstr(text, "serial"), "%s", text);
    free(text);
    text = slurp_in(data, "roofline_compute_info.dat");
    ASSERT_LINE(text, "\"the blur's multiply-adds against the measured compute roof\" 2.000");
    free(text);

    /* The same rows without roofs: no panel. */
    write_text(path, "{\"environment\": {\"cpu_model\": \"test\"}, \"rows\": []}\n");
    cr_assert_eq(img_chart_prepare(dir, data, &s, &err), 0, "%s", err.message);
    text = slurp_in(data, "roofline_compute_info.dat");
    ASSERT_LINE(text, "\"the blur's multiply-adds against the measured compute roof\" 0.000");
    free(text);
    remove_tree(dir);
}

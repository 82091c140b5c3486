/* The command line: strict parsing, clear errors with the right exit status, and the
 * commands end to end through the real binary. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "stats.h"
#include "test_helpers.h"

/* Parses a NULL-terminated argument list (without argv[0]). */
static int parse(img_cli *cli, img_error *err, const char **args)
{
    char *argv[64] = {"imgpipe"};
    int argc = 1;
    for (; args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    return img_cli_parse(cli, argc, argv, err);
}

#define PARSE(...) parse(&cli, &err, (const char *[]){__VA_ARGS__, NULL})

static void expect_usage_error(const char **args, const char *needle)
{
    img_cli cli;
    img_error err = {{0}};
    cr_assert_eq(parse(&cli, &err, args), -1, "accepted: %s %s", args[0], args[1]);
    cr_assert(strstr(err.message, needle) != NULL, "message '%s' lacks '%s'", err.message, needle);
    cr_assert(strchr(err.message, '\n') == NULL, "one line: %s", err.message);
}

#define EXPECT_USAGE(needle, ...) expect_usage_error((const char *[]){__VA_ARGS__, NULL}, needle)

Test(cli, defaults)
{
    img_cli cli;
    img_error err;
    cr_assert_eq(PARSE("run", "--output", "x.png"), 0, "%s", err.message);
    cr_assert_eq(cli.command, IMG_CMD_RUN);
    cr_assert_eq(cli.params.brightness, 20);
    cr_assert_float_eq(cli.params.contrast, 1.2, 1e-12);
    cr_assert_float_eq(cli.params.sigma, 2.0, 1e-12);
    cr_assert_float_eq(cli.params.scale, 0.5, 1e-12);
    cr_assert_null(cli.input);
}

Test(cli, values_and_forms)
{
    img_cli cli;
    img_error err;
    cr_assert_eq(PARSE("run", "--output=o.png", "--brightness", "-255", "--contrast=4",
                       "--sigma", "0", "--resize", "7x3"), 0, "%s", err.message);
    cr_assert_eq(cli.params.brightness, -255);
    cr_assert_float_eq(cli.params.contrast, 4.0, 1e-12);
    cr_assert_eq(cli.params.sigma, 0.0);
    cr_assert_eq(cli.params.out_width, 7);
    cr_assert_eq(cli.params.out_height, 3);
    cr_assert_eq(PARSE("bench", "--sizes", "640x480,1080p,4k,8k", "--threads", "1,2,4,8"), 0,
                 "%s", err.message);
    cr_assert_eq(cli.size_count, 4);
    cr_assert_eq(cli.sizes[1].width, 1920);
    cr_assert_eq(cli.sizes[3].height, 4320);
    cr_assert_eq(cli.thread_count, 4);
    cr_assert_eq(cli.threads[3], 8);
}

Test(cli, rejects_bad_numbers)
{
    EXPECT_USAGE("trailing", "run", "--output", "o.png", "--sigma", "2x");
    EXPECT_USAGE("finite", "run", "--output", "o.png", "--sigma", "nan");
    EXPECT_USAGE("finite", "run", "--output", "o.png", "--contrast", "inf");
    EXPECT_USAGE("out of range", "run", "--output", "o.png", "--contrast", "-1");
    EXPECT_USAGE("out of range", "run", "--output", "o.png", "--contrast", "4.01");
    EXPECT_USAGE("--brightness", "run", "--output", "o.png", "--brightness", "256");
    EXPECT_USAGE("trailing", "run", "--output", "o.png", "--brightness", "1.5");
    EXPECT_USAGE("whole number", "run", "--output", "o.png", "--brightness", "");
    EXPECT_USAGE("--sigma", "run", "--output", "o.png", "--sigma", "0.4");
    EXPECT_USAGE("--sigma", "run", "--output", "o.png", "--sigma", "33");
    EXPECT_USAGE("--scale", "run", "--output", "o.png", "--scale", "0");
    EXPECT_USAGE("--scale", "run", "--output", "o.png", "--scale", "16.5");
    EXPECT_USAGE("--resize", "run", "--output", "o.png", "--resize", "0x5");
    EXPECT_USAGE("not a size", "run", "--output", "o.png", "--resize", "big");
    EXPECT_USAGE("--threads", "run", "--output", "o.png", "--threads", "0");
    EXPECT_USAGE("--threads", "run", "--output", "o.png", "--threads", "5000");
    EXPECT_USAGE("only for bench", "run", "--output", "o.png", "--threads", "1,2");
    EXPECT_USAGE("--max-pixels", "run", "--output", "o.png", "--max-pixels", "-1");
    EXPECT_USAGE("--reps", "bench", "--reps", "0");
    EXPECT_USAGE("empty item", "bench", "--sizes", "4k,,8k");
    EXPECT_USAGE("unknown level", "run", "--output", "o.png", "--simd", "mmx");
}

Test(cli, rejects_bad_shapes)
{
    EXPECT_USAGE("unknown command", "--brightness");
    EXPECT_USAGE("unknown command", "frobnicate");
    EXPECT_USAGE("unknown option '--bogus'", "run", "--output", "o.png", "--bogus");
    EXPECT_USAGE("run takes one size", "run", "--output", "o.png", "--sizes", "4k,8k");
    EXPECT_USAGE("missing value", "run", "--output", "o.png", "--sigma");
    EXPECT_USAGE("--output FILE is required", "run");
    EXPECT_USAGE("exclusive", "run", "--output", "o.png", "--scale", "2", "--resize", "4x4");
    EXPECT_USAGE("exclusive", "run", "--output", "o.png", "--input", "a.png", "--size", "4x4");
    EXPECT_USAGE("unexpected argument", "run", "--output", "o.png", "stray");
    EXPECT_USAGE("takes no value", "verify", "--no-cache=1");
    /* Found by fuzz_cli: echoed control characters used to break the one-line rule. */
    EXPECT_USAGE("unknown command 'bns?", "bns\003\n/\003ec");
    EXPECT_USAGE("'2?x'", "run", "--output", "o.png", "--sigma", "2\nx");
}

Test(stats, median_and_quartiles_known_data)
{
    double odd[] = {5, 1, 4, 2, 3};
    img_stats s;
    img_stats_compute(odd, 5, &s);
    cr_assert_eq(s.count, 5);
    cr_assert_float_eq(s.median, 3.0, 1e-12);
    cr_assert_float_eq(s.min, 1.0, 1e-12);
    cr_assert_float_eq(s.max, 5.0, 1e-12);
    cr_assert_float_eq(s.q1, 2.0, 1e-12);
    cr_assert_float_eq(s.q3, 4.0, 1e-12);
    cr_assert_float_eq(s.iqr, 2.0, 1e-12);
    double even[] = {10, 40, 20, 30};
    img_stats_compute(even, 4, &s);
    cr_assert_float_eq(s.median, 25.0, 1e-12);
    cr_assert_float_eq(s.q1, 17.5, 1e-12);   /* position 0.75 between 10 and 20 */
    cr_assert_float_eq(s.q3, 32.5, 1e-12);
    double one[] = {7};
    img_stats_compute(one, 1, &s);
    cr_assert_float_eq(s.median, 7.0, 1e-12);
    cr_assert_float_eq(s.iqr, 0.0, 1e-12);
    img_stats_compute(NULL, 0, &s);
    cr_assert_eq(s.count, 0);
}

/* ---- the real binary ---- */

typedef test_result result;

#define RUN(r, ...) test_run_binary(r, NULL, (const char *[]){__VA_ARGS__, NULL})

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

Test(binary, help_and_version)
{
    result r;
    RUN(&r, "--help");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "usage: imgpipe") != NULL);
    RUN(&r, "run", "--help");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "imgpipe run") != NULL);
    RUN(&r, "--version");
    cr_assert_eq(r.status, 0);
    cr_assert(strncmp(r.out, "imgpipe ", 8) == 0);
}

Test(binary, usage_errors_exit_2_with_one_line)
{
    result r;
    RUN(&r, "run", "--output", "/tmp/x.png", "--sigma", "2x");
    cr_assert_eq(r.status, 2);
    cr_assert_eq(count_lines(r.err), 1, "stderr: %s", r.err);
    cr_assert(strstr(r.err, "--sigma") != NULL);
    RUN(&r, "run", "--output", "/tmp/x.png", "--backend", "nope");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "unknown backend 'nope'") != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "serial") != NULL, "lists the valid names: %s", r.err);
    RUN(&r, "verify", "--backends", "serial,nope", "--size", "8x8");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "nope") != NULL);
    RUN(&r, "run", "--output", "/tmp/imgpipe-test.xyz", "--size", "8x8");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "unknown output format") != NULL, "%s", r.err);
    cr_assert_eq(access("/tmp/imgpipe-test.xyz", F_OK), -1);
}

Test(binary, missing_input_exits_1_naming_the_file)
{
    result r;
    RUN(&r, "run", "--input", "/nonexistent/in.png", "--output", "/tmp/imgpipe-never.png");
    cr_assert_eq(r.status, 1);
    cr_assert(strstr(r.err, "/nonexistent/in.png") != NULL, "%s", r.err);
    cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
    cr_assert_eq(access("/tmp/imgpipe-never.png", F_OK), -1);
}

Test(binary, output_size_over_the_limit_is_refused)
{
    result r;
    RUN(&r, "run", "--size", "64x64", "--scale", "16", "--max-pixels", "100000", "--output",
        "/tmp/imgpipe-never.png");
    cr_assert_neq(r.status, 0);
    cr_assert(strstr(r.err, "limit") != NULL, "%s", r.err);
}

Test(binary, info_lists_backends)
{
    result r;
    RUN(&r, "info");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "serial") != NULL);
    cr_assert(strstr(r.out, "SIMD extensions") != NULL);
}

Test(binary, verify_small_image_passes)
{
    result r;
    RUN(&r, "verify", "--size", "37x23");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert_null(strstr(r.out, "MISMATCH"));
}

/* A small strict JSON checker: enough to prove bench.json parses. */
static const char *json_value(const char *p);
static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}
static const char *json_string_end(const char *p)
{
    if (*p != '"')
        return NULL;
    for (p++; *p && *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\' && !*++p)
            return NULL;
    }
    return *p == '"' ? p + 1 : NULL;
}
static const char *json_value(const char *p)
{
    p = json_ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = json_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                p = json_string_end(json_ws(p));
                if (!p || *(p = json_ws(p)) != ':')
                    return NULL;
                p++;
            }
            if (!(p = json_value(p)))
                return NULL;
            p = json_ws(p);
            if (*p == ',') {
                p++;
                continue;
            }
            return *p == close ? p + 1 : NULL;
        }
    }
    if (*p == '"')
        return json_string_end(p);
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    char *end;
    strtod(p, &end);
    return end == p ? NULL : end;
}

Test(binary, bench_writes_parseable_csv_and_json, .timeout = 120)
{
    char dir[] = "/tmp/imgpipe-bench.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    result r;
    RUN(&r, "bench", "--backends", "serial", "--sizes", "33x17,8x8", "--reps", "2", "--warmup",
        "1", "--min-time", "0", "--out", dir);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    char path[256], *text = malloc(1 << 20);
    snprintf(path, sizeof path, "%s/bench.csv", dir);
    test_read_file(path, text, 1 << 20);
    /* Header + one row per size, every line with the header's number of fields. */
    cr_assert_eq(count_lines(text), 3, "%s", text);
    int fields[3] = {0};
    int line = 0;
    for (const char *p = text; *p && line < 3; p++) {
        if (*p == ',')
            fields[line]++;
        if (*p == '\n')
            line++;
    }
    cr_assert_eq(fields[1], fields[0]);
    cr_assert_eq(fields[2], fields[0]);
    cr_assert(strstr(text, "serial,default,,1,all,33,17,3,17,9,bit-exact") != NULL, "%s", text);
    snprintf(path, sizeof path, "%s/bench-partial.csv", dir);
    cr_assert_eq(access(path, F_OK), -1, "the rows-so-far file outlived the run");
    snprintf(path, sizeof path, "%s/bench.json", dir);
    test_read_file(path, text, 1 << 20);
    const char *end = json_value(text);
    cr_assert_not_null(end, "bench.json does not parse");
    cr_assert_eq(*json_ws(end), '\0', "trailing data after the JSON value");
    for (const char *key = "cpu_model\0compiler\0c_flags\0commit\0date\0copy_bandwidth_gb_per_s\0"
                           "command_line\0median_s\0";
         *key; key += strlen(key) + 1)
        cr_assert(strstr(text, key) != NULL, "bench.json lacks %s", key);
    free(text);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    cr_assert_eq(system(path), 0);
}

/* A bench stopped by a time limit (timeout(1) on a borrowed GPU server) keeps the rows
 * of every size it finished, in bench-partial.csv, and leaves no bench.csv of its own:
 * the sizes run smallest first here, and the 4K serial size takes seconds. */
Test(binary, bench_stopped_midway_keeps_the_finished_sizes, .timeout = 120)
{
    char dir[] = "/tmp/imgpipe-bench-cut.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char partial[256], full[256];
    snprintf(partial, sizeof partial, "%s/bench-partial.csv", dir);
    snprintf(full, sizeof full, "%s/bench.csv", dir);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(IMGPIPE_BINARY, IMGPIPE_BINARY, "bench", "--backends", "serial", "--sizes",
              "16x8,4k", "--reps", "3", "--out", dir, (char *)NULL);
        _exit(127);
    }
    /* Wait (at most a minute) for the first size's rows, then stop it as timeout does. */
    for (int i = 0; i < 600 && access(partial, F_OK) != 0; i++)
        usleep(100000);
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFSIGNALED(status), "bench ended on its own before it was stopped");
    char text[4096];
    test_read_file(partial, text, sizeof text);
    cr_assert(strncmp(text, "backend,setting,", 16) == 0, "%s", text);
    cr_assert(strstr(text, "serial,default,,1,all,16,8,3,8,4,bit-exact") != NULL, "%s", text);
    cr_assert_null(strstr(text, ",3840,2160,"), "an unfinished size: %s", text);
    cr_assert_eq(access(full, F_OK), -1, "a stopped bench wrote bench.csv");
    snprintf(text, sizeof text, "rm -rf '%s'", dir);
    cr_assert_eq(system(text), 0);
}

Test(binary, batch_skips_a_bad_file_and_reports_it, .timeout = 120)
{
    char in[] = "/tmp/imgpipe-batch-in.XXXXXX", out[] = "/tmp/imgpipe-batch-out.XXXXXX";
    cr_assert_not_null(mkdtemp(in));
    cr_assert_not_null(mkdtemp(out));
    char path[512], cmd[1200];
    result r;
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/good%d.png", in, i);
        RUN(&r, "run", "--size", "40x30", "--output", path);
        cr_assert_eq(r.status, 0, "%s", r.err);
    }
    snprintf(path, sizeof path, "%s/bad.png", in);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputs("\x89PNG\r\n\x1a\nthis is not a png", f);
    fclose(f);
    RUN(&r, "batch", "--backend", "serial", "--input-dir", in, "--output-dir", out, "--jobs", "2");
    cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_assert(strstr(r.err, "bad.png") != NULL, "the bad file is named: %s", r.err);
    cr_assert_eq(count_lines(r.err), 1, "reported once: %s", r.err);
    cr_assert(strstr(r.out, "3 processed, 1 failed") != NULL, "%s", r.out);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/good%d.png", out, i);
        cr_assert_eq(access(path, F_OK), 0, "%s missing", path);
    }
    snprintf(path, sizeof path, "%s/bad.png", out);
    cr_assert_eq(access(path, F_OK), -1, "no output for the bad file");
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", in, out);
    cr_assert_eq(system(cmd), 0);
}

/* ---- issue 13: where the whole job's time goes ---- */

/* Reads "NAME V UNIT (P%)" parts after `label` up to ';', then "total T UNIT": each
 * part's value and share into the arrays (up to max), the total into *total. Returns
 * the number of parts. */
static int parse_parts(const char *text, const char *label, const char *unit, char names[][16],
                       double *values, double *percents, int max, double *total)
{
    const char *p = strstr(text, label);
    cr_assert_not_null(p, "no '%s' in:\n%s", label, text);
    p += strlen(label);
    int n = 0;
    char fmt[64];
    snprintf(fmt, sizeof fmt, " %%15[a-z] %%lf %s (%%lf%%%%)%%n", unit);
    for (;;) {
        int used = 0;
        double percent = 0;
        cr_assert_lt(n, max);
        if (sscanf(p, fmt, names[n], &values[n], &percent, &used) < 3 || used == 0)
            break;
        if (percents)
            percents[n] = percent;
        n++;
        p += used;
        if (*p == ',')
            p++;
        else
            break;
    }
    snprintf(fmt, sizeof fmt, "; total %%lf %s", unit);
    cr_assert_eq(sscanf(p, fmt, total), 1, "no total after the parts: %s", p);
    return n;
}

Test(binary, run_says_where_the_whole_jobs_time_went, .timeout = 60)
{
    char dir[] = "/tmp/imgpipe-run-job.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char in[300], out[300];
    snprintf(in, sizeof in, "%s/in.png", dir);
    snprintf(out, sizeof out, "%s/out.png", dir);
    result r;
    RUN(&r, "run", "--size", "96x64", "--output", in);   /* a 48x32 PNG (scale 0.5) */
    cr_assert_eq(r.status, 0, "%s", r.err);
    /* Without --input the picture is rendered, not decoded: the part says so. */
    cr_assert(strstr(r.err, "  whole job: render ") != NULL, "%s", r.err);
    RUN(&r, "run", "--input", in, "--output", out);
    cr_assert_eq(r.status, 0, "%s", r.err);
    /* The existing two lines come first, unchanged; the new ones follow. */
    cr_assert(strncmp(r.err, "serial: 48x32 x3 -> 24x16 in ", 29) == 0, "%s", r.err);
    const char *wall = strstr(r.err, "\n  wall ");
    const char *job = strstr(r.err, "\n  whole job: ");
    cr_assert(wall && job && wall < job, "%s", r.err);
    char names[8][16];
    double ms[8], pct[8], total;
    int n = parse_parts(job, "whole job:", "ms", names, ms, pct, 8, &total);
    cr_assert_eq(n, 6, "%s", job);
    static const char *const expected[] = {"decode", "init", "pipeline", "encode", "write",
                                           "other"};
    double sum = 0, pct_sum = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_str_eq(names[i], expected[i]);
        cr_assert_geq(ms[i], 0.0, "%s", names[i]);
        cr_assert_geq(pct[i], 0.0, "%s", names[i]);
        sum += ms[i];
        pct_sum += pct[i];
    }
    cr_assert_gt(total, 0.0);
    /* Each part is printed to 0.01 ms and 0.1 %: six roundings at most. */
    cr_assert_leq(fabs(sum - total), 6 * 0.005 + 1e-9, "parts %.3f vs total %.3f", sum, total);
    cr_assert_leq(fabs(pct_sum - 100.0), 6 * 0.05 + 1e-9, "shares add up to %.2f%%", pct_sum);
    /* Amdahl's ceiling is total / (total - pipeline), to the printed precision. */
    double share, ceiling;
    const char *amdahl = strstr(r.err, "  Amdahl: the pipeline is ");
    cr_assert_not_null(amdahl, "%s", r.err);
    cr_assert_eq(sscanf(amdahl, "  Amdahl: the pipeline is %lf%% of the job; if it took no time "
                                "the job would be %lfx faster at most.",
                        &share, &ceiling),
                 2, "%s", amdahl);
    cr_assert_float_eq(ceiling, total / (total - ms[2]), 0.02, "ceiling %.2f", ceiling);
    cr_assert(strstr(amdahl, "page faults") != NULL, "%s", amdahl);
    cr_assert_eq(access(out, F_OK), 0);
    snprintf(out, sizeof out, "rm -rf '%s'", dir);
    cr_assert_eq(system(out), 0);
}

Test(binary, batch_reports_the_stage_sums, .timeout = 120)
{
    char in[] = "/tmp/imgpipe-batch-sums-in.XXXXXX", out[] = "/tmp/imgpipe-batch-sums-out.XXXXXX";
    cr_assert_not_null(mkdtemp(in));
    cr_assert_not_null(mkdtemp(out));
    char path[512], cmd[1200];
    result r;
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/img%d.%s", in, i, i == 2 ? "ppm" : "png");
        RUN(&r, "run", "--size", "48x32", "--output", path);
        cr_assert_eq(r.status, 0, "%s", r.err);
    }
    RUN(&r, "batch", "--input-dir", in, "--output-dir", out, "--jobs", "2", "--compare");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    /* The existing lines stay; the sums and the busiest stage follow them. */
    cr_assert(strstr(r.out, "  sequential loop (--compare):") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "  overlapped (2 readers, 2 writers):") != NULL, "%s", r.out);
    const char *sums = strstr(r.out, "  stage time summed over files: ");
    cr_assert_not_null(sums, "%s", r.out);
    double decode, pipeline, encode, write, wall;
    cr_assert_eq(sscanf(sums,
                        "  stage time summed over files: decode %lf s, pipeline %lf s, encode "
                        "%lf s, write %lf s; wall %lf s",
                        &decode, &pipeline, &encode, &write, &wall),
                 5, "%s", sums);
    /* Tiny images: the pipeline may print as 0.000 s; the codecs and the file system
     * take longer. */
    cr_assert(decode >= 0 && pipeline >= 0 && encode >= 0 && write >= 0, "%s", sums);
    cr_assert(wall > 0 && decode + encode + write > 0, "%s", sums);
    char busiest[32];
    double per_thread;
    cr_assert_eq(sscanf(strstr(sums, "\n  busiest: "), "\n  busiest: %31[a-z +], %lf s per thread",
                        busiest, &per_thread),
                 2, "%s", sums);
    /* Its time per thread is the largest of the three, read back from the sums. */
    double by_stage[3] = {decode / 2, pipeline, (encode + write) / 2};
    double largest = by_stage[0] > by_stage[1] ? by_stage[0] : by_stage[1];
    largest = by_stage[2] > largest ? by_stage[2] : largest;
    cr_assert_float_eq(per_thread, largest, 0.0011, "%s", sums);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", in, out);
    cr_assert_eq(system(cmd), 0);
}

/* The column of a CSV header line, or -1. Plain names only (no quotes). */
static int csv_column(const char *header, const char *name)
{
    int col = 0;
    size_t len = strlen(name);
    for (const char *p = header; *p && *p != '\n'; col++) {
        if (strncmp(p, name, len) == 0 && (p[len] == ',' || p[len] == '\n'))
            return col;
        while (*p && *p != ',' && *p != '\n')
            p++;
        if (*p == ',')
            p++;
    }
    return -1;
}

/* Field `col` of the line at p (unquoted fields), into buf. */
static void csv_get(const char *p, int col, char *buf, size_t len)
{
    for (int c = 0; c < col; c++) {
        while (*p && *p != ',' && *p != '\n')
            p++;
        cr_assert_eq(*p, ',', "row too short");
        p++;
    }
    size_t n = strcspn(p, ",\n");
    snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), p);
}

Test(binary, bench_input_adds_whole_job_rows, .timeout = 120)
{
    char dir[] = "/tmp/imgpipe-bench-whole.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char in[300], path[300], cmd[400];
    snprintf(in, sizeof in, "%s/tiny.png", dir);
    result r;
    RUN(&r, "run", "--size", "40x30", "--output", in);   /* a 20x15 PNG */
    cr_assert_eq(r.status, 0, "%s", r.err);
    snprintf(path, sizeof path, "%s/out", dir);
    RUN(&r, "bench", "--backends", "serial", "--input", in, "--reps", "3", "--warmup", "1",
        "--min-time", "0", "--out", path);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    /* Printed in a table of its own, after the pipeline rows. */
    const char *table = strstr(r.out, "\nwhole job: ");
    cr_assert_not_null(table, "%s", r.out);
    cr_assert(strstr(table, "serial        default            20x15       ok") != NULL, "%s",
              r.out);
    char *text = malloc(1 << 20);
    snprintf(path, sizeof path, "%s/out/bench.csv", dir);
    test_read_file(path, text, 1 << 20);
    int job = csv_column(text, "job"), decode = csv_column(text, "decode_s");
    int pipeline = csv_column(text, "pipeline_s"), encode = csv_column(text, "encode_s");
    int median = csv_column(text, "median_s"), verdict = csv_column(text, "verdict");
    cr_assert(job >= 0 && decode >= 0 && pipeline >= 0 && encode >= 0, "%s", text);
    cr_assert_eq(count_lines(text), 3, "header, the pipeline row, the whole-job row:\n%s", text);
    const char *rows[2];
    rows[0] = strchr(text, '\n') + 1;
    rows[1] = strchr(rows[0], '\n') + 1;
    char field[64];
    csv_get(rows[0], job, field, sizeof field);
    cr_assert_str_eq(field, "pipeline");
    csv_get(rows[0], decode, field, sizeof field);
    cr_assert_str_eq(field, "", "a pipeline row has no decode part");
    csv_get(rows[1], job, field, sizeof field);
    cr_assert_str_eq(field, "whole");
    csv_get(rows[1], verdict, field, sizeof field);
    cr_assert_str_eq(field, "bit-exact");
    double parts[3], whole;
    const int cols[3] = {decode, pipeline, encode};
    for (int k = 0; k < 3; k++) {
        csv_get(rows[1], cols[k], field, sizeof field);
        parts[k] = strtod(field, NULL);
        cr_assert_gt(parts[k], 0.0, "part %d: '%s'", k, field);
    }
    csv_get(rows[1], median, field, sizeof field);
    whole = strtod(field, NULL);
    cr_assert_gt(whole, parts[0], "the whole job includes its decode");
    cr_assert_gt(whole, parts[2], "and its encode");
    cr_assert(strstr(rows[1], "decode=") != NULL, "the breakdown names the parts: %s", rows[1]);
    snprintf(path, sizeof path, "%s/out/bench.json", dir);
    test_read_file(path, text, 1 << 20);
    cr_assert_not_null(json_value(text), "bench.json does not parse");
    cr_assert(strstr(text, "\"job\": \"whole\"") != NULL, "%s", text);
    cr_assert(strstr(text, "\"encode\": ") != NULL, "%s", text);
    free(text);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* ---- no work, no allocation and no file before the input is known good ---- */

static void write_bytes(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(data, 1, size, f), size);
    cr_assert_eq(fclose(f), 0);
}

/* Entries in a folder other than . and .. (0 for a missing folder). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void remove_tree(const char *path)
{
    char command[4200];
    snprintf(command, sizeof command, "rm -rf '%s'", path);
    cr_assert_eq(system(command), 0);
}

/* A valid IHDR, then a tEXt chunk that claims 2^31 - 1 bytes in a file that ends 11
 * bytes later: libpng allocated the claimed length before reading it (2.1 GB, 7.7 s). */
Test(binary, png_chunk_longer_than_the_file_is_refused_fast_and_small)
{
    static const uint8_t file[] = {
        0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
        0x00, 0x00, 0x00, 0x0d, 'I', 'H', 'D', 'R', 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,
        0x00, 0x10, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x91, 0x68, 0x36,
        0x7f, 0xff, 0xff, 0xff, 't', 'E', 'X', 't',
        'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'};
    char path[] = "/tmp/imgpipe-longchunk-XXXXXX.png";
    int fd = mkstemps(path, 4);
    cr_assert_geq(fd, 0);
    close(fd);
    write_bytes(path, file, sizeof file);
    const char *backends[] = {"serial", "threads", "simd", "simd-threads", "opencl"};
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        result r;
        RUN(&r, "run", "--backend", backends[i], "--input", path, "--output",
            "/tmp/imgpipe-never.png");
        cr_assert_eq(r.status, 1, "%s: %s", backends[i], r.err);
        cr_assert(strstr(r.err, "chunk 'tEXt' claims 2147483647 bytes, 11 remain") != NULL,
                  "%s: %s", backends[i], r.err);
        cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
        cr_assert_lt(r.seconds, 2.0, "%s took %.2f s", backends[i], r.seconds);
        cr_assert_lt(r.max_rss_kb, 64 * 1024, "%s peaked at %ld KiB", backends[i], r.max_rss_kb);
    }
    cr_assert_eq(access("/tmp/imgpipe-never.png", F_OK), -1);
    unlink(path);
}

/* The OpenCL probe alone makes PoCL write into its cache; with a bad input or output
 * nothing may be written anywhere, so no backend may be touched before the checks. */
Test(binary, bad_input_or_output_initialises_no_backend_and_writes_no_cache, .timeout = 120)
{
    char home[] = "/tmp/imgpipe-home-XXXXXX";
    cr_assert_not_null(mkdtemp(home));
    char cache[4200], xdg[4300], home_env[4300], folder[4200], rgb_pgm[4200], dir_png[4200];
    snprintf(cache, sizeof cache, "%s/cache", home);
    snprintf(xdg, sizeof xdg, "XDG_CACHE_HOME=%s", cache);
    snprintf(home_env, sizeof home_env, "HOME=%s", home);
    snprintf(folder, sizeof folder, "%s/missing/out.png", home);
    snprintf(rgb_pgm, sizeof rgb_pgm, "%s/out.pgm", home);
    snprintf(dir_png, sizeof dir_png, "%s/folder.png", home);
    cr_assert_eq(mkdir(dir_png, 0755), 0);
    const char *env[] = {xdg, home_env, "POCL_CACHE_DIR", NULL};
    const struct {
        const char *input, *output;
        int status;
        const char *message;
    } cases[] = {
        {"/nonexistent/in.png", "/tmp/imgpipe-never.png", 1, "/nonexistent/in.png"},
        {NULL, folder, 2, "missing: No such file or directory"},
        {NULL, rgb_pgm, 2, ".pgm holds gray images only"},
        {NULL, dir_png, 2, "is a directory"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        result r;
        if (cases[i].input)
            test_run_binary(&r, env, (const char *[]){"run", "--backend", "opencl", "--input",
                                                      cases[i].input, "--output",
                                                      cases[i].output, NULL});
        else
            test_run_binary(&r, env, (const char *[]){"run", "--backend", "opencl", "--size",
                                                      "16x8", "--output", cases[i].output, NULL});
        cr_assert_eq(r.status, cases[i].status, "case %zu: %s", i, r.err);
        cr_assert(strstr(r.err, cases[i].message) != NULL, "case %zu: %s", i, r.err);
        cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
        cr_assert_eq(count_entries(cache), 0, "case %zu left files under %s", i, cache);
    }
    cr_assert_eq(access(rgb_pgm, F_OK), -1);
    /* The control: a good run does fill the cache, so the checks above can fail. */
    char good[4200];
    snprintf(good, sizeof good, "%s/good.png", home);
    result r;
    test_run_binary(&r, env, (const char *[]){"run", "--backend", "opencl", "--size", "16x8",
                                              "--output", good, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_gt(count_entries(cache), 0, "a good opencl run wrote no cache under %s", cache);
    remove_tree(home);
}

Test(binary, empty_paths_are_named)
{
    result r;
    RUN(&r, "run", "--size", "8x8", "--output", "");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "the output path is empty") != NULL, "%s", r.err);
    RUN(&r, "run", "--input", "", "--output", "/tmp/imgpipe-never.png");
    cr_assert_eq(r.status, 1);
    cr_assert(strstr(r.err, "the input path is empty") != NULL, "%s", r.err);
}

/* bench and verify check where they will write before they measure anything. */
Test(binary, bench_and_verify_refuse_unwritable_targets_at_once)
{
    char dir[] = "/tmp/imgpipe-targets-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char file[4200], out[4200], diff[4200];
    snprintf(file, sizeof file, "%s/c.png", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(diff, sizeof diff, "%s/missing/diff.png", dir);
    write_bytes(file, "x", 1);
    result r;
    RUN(&r, "bench", "--backends", "simd", "--sizes", "64x48", "--out", file);
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(strstr(r.err, "exists and is not a folder") != NULL, "%s", r.err);
    cr_assert_lt(r.seconds, 2.0);
    RUN(&r, "bench", "--backends", "simd", "--sizes", "64x48", "--out", "/dev/null/x");
    cr_assert_eq(r.status, 2, "%s", r.err);
    RUN(&r, "bench", "--backends", "simd", "--input", "/nonexistent/in.png", "--out", out);
    cr_assert_eq(r.status, 1, "%s", r.err);
    cr_assert_eq(access(out, F_OK), -1, "bench created its folder for a missing input");
    RUN(&r, "verify", "--size", "8x8", "--diff-image", diff);
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(strstr(r.err, "--diff-image") != NULL, "%s", r.err);
    remove_tree(dir);
}

/* With an input file the output size is known only after decoding; an output over
 * the pixel limit is still a usage error, before any backend starts. */
Test(binary, output_over_the_limit_for_an_input_file_is_a_usage_error)
{
    char path[] = "/tmp/imgpipe-limit-XXXXXX.png";
    int fd = mkstemps(path, 4);
    cr_assert_geq(fd, 0);
    close(fd);
    result r;
    RUN(&r, "run", "--size", "9x7", "--output", path);
    cr_assert_eq(r.status, 0, "%s", r.err);
    RUN(&r, "run", "--input", path, "--resize", "100000x100000", "--output",
        "/tmp/imgpipe-never.png");
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(strstr(r.err, "over the limit") != NULL, "%s", r.err);
    RUN(&r, "run", "--input", path, "--scale", "16", "--max-pixels", "1000", "--output",
        "/tmp/imgpipe-never.png");
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert_eq(access("/tmp/imgpipe-never.png", F_OK), -1);
    unlink(path);
}

/* One rule in every command: a backend asked for by name that cannot run here is a
 * failure (1); in bench's default list it is a noted row and the bench succeeds. */
Test(binary, a_named_backend_that_cannot_run_is_exit_1_everywhere, .timeout = 180)
{
    char in[] = "/tmp/imgpipe-rule-in-XXXXXX", out[] = "/tmp/imgpipe-rule-out-XXXXXX";
    char bench_dir[] = "/tmp/imgpipe-rule-bench-XXXXXX";
    cr_assert_not_null(mkdtemp(in));
    cr_assert_not_null(mkdtemp(out));
    cr_assert_not_null(mkdtemp(bench_dir));
    char image[4200];
    snprintf(image, sizeof image, "%s/a.png", in);
    result r;
    RUN(&r, "run", "--size", "16x9", "--output", image);
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *env[] = {"OCL_ICD_VENDORS=/nonexistent", "OCL_ICD_FILENAMES", NULL};
    const char *const commands[][16] = {
        {"run", "--backend", "opencl", "--size", "16x9", "--output", "/tmp/imgpipe-never.png"},
        {"batch", "--backend", "opencl", "--input-dir", in, "--output-dir", out},
        {"verify", "--backends", "opencl", "--size", "16x9"},
        {"bench", "--backends", "opencl", "--sizes", "16x9", "--reps", "1", "--warmup", "0",
         "--min-time", "0", "--out", bench_dir},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        test_run_binary(&r, env, (const char **)commands[i]);
        cr_assert_eq(r.status, 1, "%s: %s%s", commands[i][0], r.out, r.err);
        cr_assert(strstr(r.out, "unavailable") != NULL || strstr(r.err, "unavailable") != NULL ||
                      strstr(r.err, "could not run") != NULL,
                  "%s: %s%s", commands[i][0], r.out, r.err);
    }
    cr_assert_eq(count_entries(out), 0, "batch wrote without a backend");
    test_run_binary(&r, env, (const char *[]){"bench", "--sizes", "16x9", "--reps", "1",
                                              "--warmup", "0", "--min-time", "0", "--out",
                                              bench_dir, NULL});
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "unavailable") != NULL, "%s", r.out);
    remove_tree(in);
    remove_tree(out);
    remove_tree(bench_dir);
}

/* An output over the pixel limit for an --input file is a usage error in every
 * command that takes one. */
Test(binary, output_over_the_limit_for_an_input_is_exit_2_in_verify_and_bench)
{
    char path[] = "/tmp/imgpipe-limit2-XXXXXX.png";
    int fd = mkstemps(path, 4);
    cr_assert_geq(fd, 0);
    close(fd);
    result r;
    RUN(&r, "run", "--size", "9x7", "--output", path);
    cr_assert_eq(r.status, 0, "%s", r.err);
    RUN(&r, "verify", "--input", path, "--resize", "100000x100000");
    cr_assert_eq(r.status, 2, "%s", r.err);
    RUN(&r, "bench", "--backends", "simd", "--input", path, "--resize", "100000x100000",
        "--out", "/tmp/imgpipe-never-bench");
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert_eq(access("/tmp/imgpipe-never-bench", F_OK), -1);
    unlink(path);
}

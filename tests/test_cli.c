/* The command line: strict parsing, clear errors with the right exit status, and the
 * commands end to end through the real binary. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
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

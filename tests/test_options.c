/* The options as one vocabulary (issue 16): every default stated where the options
 * are listed, singular and plural forms of one option accepted, a suggestion for a
 * near-miss, one range text per option, backend options refused where no selected
 * backend uses them, and what the options alone say about the output size. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
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
#define RUN(r, ...) test_run_binary(r, NULL, (const char *[]){__VA_ARGS__, NULL})

static void expect_usage(const char **args, const char *needle)
{
    img_cli cli;
    img_error err = {{0}};
    char line[512] = "";
    for (int i = 0; args[i]; i++)
        snprintf(line + strlen(line), sizeof line - strlen(line), " %s", args[i]);
    cr_assert_eq(parse(&cli, &err, args), -1, "accepted:%s", line);
    cr_assert(strstr(err.message, needle) != NULL, "%s: message '%s' lacks '%s'", line,
              err.message, needle);
    cr_assert(strchr(err.message, '\n') == NULL, "one line: %s", err.message);
}

static void expect_no(const char **args, const char *needle)
{
    img_cli cli;
    img_error err = {{0}};
    cr_assert_eq(parse(&cli, &err, args), -1);
    cr_assert(strstr(err.message, needle) == NULL, "message '%s' has '%s'", err.message, needle);
}

#define EXPECT_USAGE(needle, ...) expect_usage((const char *[]){__VA_ARGS__, NULL}, needle)
#define EXPECT_NO(needle, ...) expect_no((const char *[]){__VA_ARGS__, NULL}, needle)

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Collapses every run of white space (line breaks and indentation of wrapped lines
 * included) into one space, in place. */
static char *squeeze(char *text)
{
    char *w = text;
    for (const char *r = text; *r; r++) {
        bool space = *r == ' ' || *r == '\n' || *r == '\t';
        if (space && w > text && w[-1] == ' ')
            continue;
        *w++ = space ? ' ' : *r;
    }
    *w = '\0';
    return text;
}

/* True when `option` appears in text followed, at most 200 characters on, by
 * "(default VALUE)" (white space squeezed: a wrapped line reads as one). */
static bool states_default(char *text, const char *option, const char *value)
{
    squeeze(text);
    char want[128];
    snprintf(want, sizeof want, "(default %s)", value);
    for (const char *p = strstr(text, option); p; p = strstr(p + 1, option)) {
        char c = p[strlen(option)];
        if (c == '-' || (c >= 'a' && c <= 'z'))
            continue;   /* --backend inside --backends, --size inside --sizes */
        const char *hit = strstr(p, want);
        if (hit && hit - p < 200)
            return true;
    }
    return false;
}

/* The "## Commands" section of README.md up to its first subsection. */
static char *readme_commands(void)
{
    static char text[1 << 17];
    test_read_file(IMGPIPE_SOURCE_DIR "/README.md", text, sizeof text);
    char *start = strstr(text, "\n## Commands\n");
    cr_assert_not_null(start, "README.md has no '## Commands' section");
    char *end = strstr(start + 1, "\n### ");
    cr_assert_not_null(end);
    *end = '\0';
    return squeeze(start);
}

/* ---- item 5: every default stated, in --help and in the README alike ---- */

static const struct {
    img_command command;
    const char *name;        /* the command, for `imgpipe NAME --help` */
    const char *option;
    const char *value;
} defaults[] = {
    {IMG_CMD_RUN, "run", "--backend", "serial"},
    {IMG_CMD_BATCH, "batch", "--backend", "serial"},
    {IMG_CMD_BATCH, "batch", "--jobs", "the online cores"},
    {IMG_CMD_VERIFY, "verify", "--backends", "all but serial"},
    {IMG_CMD_BENCH, "bench", "--backends", "all"},
    {IMG_CMD_BENCH, "bench", "--sizes", "1080p,4k"},
    {IMG_CMD_BENCH, "bench", "--reps", "10"},
    {IMG_CMD_BENCH, "bench", "--warmup", "2"},
    {IMG_CMD_BENCH, "bench", "--min-time", "0.5"},
    {IMG_CMD_BENCH, "bench", "--out", "results/latest"},
    {IMG_CMD_NONE, NULL, "--brightness", "20"},
    {IMG_CMD_NONE, NULL, "--contrast", "1.2"},
    {IMG_CMD_NONE, NULL, "--sigma", "2"},
    {IMG_CMD_NONE, NULL, "--scale", "0.5"},
    {IMG_CMD_NONE, NULL, "--max-pixels", "268435456"},
    {IMG_CMD_NONE, NULL, "--threads", "the online cores"},
    {IMG_CMD_NONE, NULL, "--simd", "auto"},
    {IMG_CMD_NONE, NULL, "--device", "the first GPU, else the first device"},
    {IMG_CMD_NONE, NULL, "--cpus", "all allowed cores"},
};

Test(options, help_states_every_default)
{
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        test_result r;
        if (defaults[i].name)
            RUN(&r, defaults[i].name, "--help");
        else
            RUN(&r, "--help");
        cr_assert_eq(r.status, 0);
        cr_assert(states_default(r.out, defaults[i].option, defaults[i].value),
                  "%s --help does not give %s (default %s):\n%s",
                  defaults[i].name ? defaults[i].name : "imgpipe", defaults[i].option,
                  defaults[i].value, r.out);
    }
    /* The synopsis lists the size names, not four sizes that read as the default. */
    test_result r;
    RUN(&r, "bench", "--help");
    cr_assert_null(strstr(r.out, "640x480,1080p,4k,8k"), "%s", r.out);
}

Test(options, readme_commands_section_states_the_same_defaults)
{
    char *readme = readme_commands();
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        cr_assert(states_default(readme, defaults[i].option, defaults[i].value),
                  "README's Commands section does not give %s (default %s)",
                  defaults[i].option, defaults[i].value);
    cr_assert_null(strstr(readme, "640x480,1080p,4k,8k"));
}

Test(options, defaults_in_the_code_are_the_documented_ones)
{
    img_cli cli;
    img_error err;
    cr_assert_eq(PARSE("bench"), 0, "%s", err.message);
    cr_assert_eq(cli.reps, 10);
    cr_assert_eq(cli.warmup, 2);
    cr_assert(cli.min_time == 0.5, "%g", cli.min_time);
    cr_assert_eq(cli.max_pixels, UINT64_C(268435456));
}

Test(options, readme_commands_section_states_the_exit_status_rule)
{
    const char *readme = readme_commands();
    for (const char *phrase = "0 success\0unwritable output target\0asked for by name\0"
                              "in every command\0verify mismatch\0noted row\0";
         *phrase; phrase += strlen(phrase) + 1)
        cr_assert(strstr(readme, phrase) != NULL, "README's Commands section lacks '%s'",
                  phrase);
}

/* ---- item 9: one vocabulary ---- */

Test(options, singular_and_plural_name_one_option)
{
    img_cli cli;
    img_error err;
    cr_assert_eq(PARSE("verify", "--backend", "simd"), 0, "%s", err.message);
    cr_assert_eq(cli.backend_count, 1);
    cr_assert_str_eq(cli.backends[0], "simd");
    cr_assert_eq(PARSE("bench", "--backend", "serial,simd"), 0, "%s", err.message);
    cr_assert_eq(cli.backend_count, 2);
    cr_assert_eq(PARSE("bench", "--size", "4k"), 0, "%s", err.message);
    cr_assert_eq(cli.size_count, 1);
    cr_assert_eq(cli.sizes[0].width, 3840);
    cr_assert_eq(cli.sizes[0].height, 2160);
    cr_assert_eq(PARSE("run", "--output", "o.png", "--backends", "simd"), 0, "%s", err.message);
    cr_assert_str_eq(cli.backend, "simd");
    cr_assert_eq(PARSE("batch", "--input-dir", "a", "--output-dir", "b", "--backends=threads"), 0,
                 "%s", err.message);
    cr_assert_str_eq(cli.backend, "threads");
    cr_assert_eq(PARSE("run", "--output", "o.png", "--sizes", "640x480"), 0, "%s", err.message);
    cr_assert_eq(cli.size.width, 640);
    cr_assert_eq(cli.size.height, 480);
    cr_assert_eq(PARSE("verify", "--sizes", "8x8"), 0, "%s", err.message);
    cr_assert_eq(cli.size.width, 8);
}

Test(options, the_plural_naming_several_where_one_is_taken_is_a_usage_error)
{
    EXPECT_USAGE("--backends: run takes one backend", "run", "--output", "o.png", "--backends",
                 "simd,threads");
    EXPECT_USAGE("--backends: run takes one backend", "run", "--output", "o.png", "--backends",
                 "all");
    EXPECT_USAGE("--backends: batch takes one backend", "batch", "--input-dir", "a",
                 "--output-dir", "b", "--backends", "serial,simd");
    EXPECT_USAGE("--sizes: run takes one size", "run", "--output", "o.png", "--sizes", "4k,8k");
    EXPECT_USAGE("--sizes: verify takes one size", "verify", "--sizes", "4k,8k");
    /* Still unknown where the command has neither form. */
    EXPECT_USAGE("unknown option '--sizes'", "batch", "--input-dir", "a", "--output-dir", "b",
                 "--sizes", "4k");
}

Test(options, singular_for_plural_through_the_binary)
{
    test_result r;
    RUN(&r, "verify", "--backend", "simd", "--simd", "portable", "--size", "16x8");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "simd") != NULL, "%s", r.out);
    cr_assert_null(strstr(r.out, "threads"), "only simd was asked for: %s", r.out);
    char path[] = "/tmp/imgpipe-opt-XXXXXX.png";
    int fd = mkstemps(path, 4);
    cr_assert_geq(fd, 0);
    close(fd);
    RUN(&r, "run", "--backends", "simd", "--sizes", "16x8", "--output", path);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strncmp(r.err, "simd", 4) == 0, "%s", r.err);
    cr_assert(strstr(r.err, "16x8") != NULL, "%s", r.err);
    RUN(&r, "run", "--backends", "simd,threads", "--size", "16x8", "--output", path);
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
    unlink(path);
}

Test(options, an_unknown_option_close_to_a_known_one_is_suggested)
{
    EXPECT_USAGE("unknown option '--outptu' (did you mean --output?", "run", "--outptu", "o.png");
    EXPECT_USAGE("did you mean --warmup?", "bench", "--warmpu", "3");
    EXPECT_USAGE("did you mean --reps?", "bench", "--rep", "3");
    EXPECT_USAGE("did you mean --brightness?", "run", "--output", "o.png", "--bright", "5");
    EXPECT_USAGE("did you mean --diff-image?", "verify", "--diff", "d.png");
    EXPECT_USAGE("did you mean --input-dir?", "batch", "--inputdir", "a", "--output-dir", "b");
    EXPECT_USAGE("did you mean --backends?", "verify", "--backendz", "simd");
    EXPECT_USAGE("did you mean --size?", "run", "--output", "o.png", "--sise", "8x8");
    EXPECT_USAGE("did you mean --threads?", "run", "--output", "o.png", "--thread", "2");
    /* Only what the command takes is suggested; nothing when nothing is close. */
    EXPECT_NO("did you mean", "run", "--output", "o.png", "--frobnicate");
    EXPECT_NO("did you mean --reps", "run", "--output", "o.png", "--reps", "3");
    EXPECT_USAGE("unknown option '--frobnicate'", "run", "--output", "o.png", "--frobnicate");
}

Test(options, size_names_are_case_insensitive)
{
    img_cli cli;
    img_error err;
    cr_assert_eq(PARSE("run", "--output", "o.png", "--size", "8K"), 0, "%s", err.message);
    cr_assert_eq(cli.size.width, 7680);
    cr_assert_eq(cli.size.height, 4320);
    cr_assert_eq(PARSE("run", "--output", "o.png", "--size", "640X480"), 0, "%s", err.message);
    cr_assert_eq(cli.size.width, 640);
    cr_assert_eq(cli.size.height, 480);
    cr_assert_eq(PARSE("run", "--output", "o.png", "--size", "1080P", "--resize", "720P"), 0,
                 "%s", err.message);
    cr_assert_eq(cli.size.width, 1920);
    cr_assert_eq(cli.params.out_width, 1280);
    cr_assert_eq(PARSE("bench", "--sizes", "4K,720p,33X17"), 0, "%s", err.message);
    cr_assert_eq(cli.size_count, 3);
    cr_assert_eq(cli.sizes[0].width, 3840);
    cr_assert_eq(cli.sizes[2].height, 17);
    EXPECT_USAGE("not a size", "run", "--output", "o.png", "--size", "4q");
}

/* ---- item 11: one range text per option ---- */

Test(options, one_range_text_per_option)
{
    const char *sigma[] = {"2x", "0.4", "33", "nan", "abc", "-1", ""};
    for (size_t i = 0; i < sizeof sigma / sizeof sigma[0]; i++)
        EXPECT_USAGE("(accepted: 0 (off) or 0.5 to 32)", "run", "--output", "o.png", "--sigma",
                     sigma[i]);
    const char *scale[] = {"-1", "0", "16.5", "2x", "nan", "x", "0.0"};
    for (size_t i = 0; i < sizeof scale / sizeof scale[0]; i++)
        EXPECT_USAGE("(accepted: above 0, up to 16)", "run", "--output", "o.png", "--scale",
                     scale[i]);
    /* The help gives the same ranges. */
    test_result r;
    RUN(&r, "--help");
    cr_assert(strstr(r.out, "0 (off) or 0.5 to 32") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "above 0, up to 16") != NULL, "%s", r.out);
}

/* ---- item 1: an output size known from the options alone ---- */

Test(options, an_output_over_the_limit_known_from_the_options_is_a_usage_error)
{
    EXPECT_USAGE("limit", "run", "--size", "64x48", "--resize", "100000x100000", "--output",
                 "x.png");
    EXPECT_USAGE("limit", "run", "--scale", "16", "--size", "1920x1080", "--output", "x.png");
    EXPECT_USAGE("limit", "run", "--scale", "16", "--output", "x.png");   /* built-in 1080p */
    EXPECT_USAGE("limit", "verify", "--size", "64x48", "--resize", "100000x100000");
    EXPECT_USAGE("limit", "bench", "--sizes", "8x8,4k", "--scale", "16");
    EXPECT_USAGE("limit", "bench", "--scale", "16");                     /* 1080p,4k */
    EXPECT_USAGE("limit", "run", "--size", "8x8", "--scale", "4", "--max-pixels", "1000",
                 "--output", "x.png");
    EXPECT_USAGE("limit", "run", "--size", "20000x20000", "--output", "x.png");
    img_cli cli;
    img_error err;
    /* An input's size is not known before it is read. */
    cr_assert_eq(PARSE("run", "--input", "a.png", "--resize", "100000x100000", "--output",
                       "x.png"), 0, "%s", err.message);
    cr_assert_eq(PARSE("run", "--size", "64x48", "--resize", "16384x16384", "--output",
                       "x.png"), 0, "%s", err.message);
}

Test(options, an_output_over_the_limit_exits_2_before_any_work)
{
    char dir[] = "/tmp/imgpipe-opt-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char out[4200], bench_dir[4200];
    snprintf(out, sizeof out, "%s/x.png", dir);
    snprintf(bench_dir, sizeof bench_dir, "%s/bench", dir);
    test_result r;
    RUN(&r, "run", "--size", "64x48", "--resize", "100000x100000", "--output", out);
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(strstr(r.err, "over the limit") != NULL, "%s", r.err);
    cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
    RUN(&r, "run", "--scale", "16", "--size", "1920x1080", "--output", out);
    cr_assert_eq(r.status, 2, "%s", r.err);
    RUN(&r, "verify", "--scale", "16", "--size", "1920x1080");
    cr_assert_eq(r.status, 2, "%s", r.err);
    RUN(&r, "bench", "--scale", "16", "--out", bench_dir);
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
    cr_assert_lt(r.seconds, 2.0, "bench measured before refusing: %.2f s", r.seconds);
    cr_assert_eq(access(bench_dir, F_OK), -1);
    cr_assert_eq(access(out, F_OK), -1);
    rmdir(dir);
}

/* ---- item 10: backend options where no selected backend uses them ---- */

static void expect_backend_option_refused(const char **args, const char *message)
{
    test_result r;
    test_run_binary(&r, NULL, args);
    cr_assert_eq(r.status, 2, "%s %s ...: %s", args[0], args[1], r.err);
    cr_assert(strstr(r.err, message) != NULL, "'%s' lacks '%s'", r.err, message);
    cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
    cr_assert_lt(r.seconds, 2.0);
}

#define REFUSED(message, ...) expect_backend_option_refused((const char *[]){__VA_ARGS__, NULL}, message)

Test(options, a_backend_option_no_selected_backend_uses_is_a_usage_error, .timeout = 60)
{
    char dir[] = "/tmp/imgpipe-opt-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char out[4200], bench_dir[4200];
    snprintf(out, sizeof out, "%s/x.png", dir);
    snprintf(bench_dir, sizeof bench_dir, "%s/bench", dir);
    REFUSED("--device applies to the opencl backend only (got --backend serial)", "run",
            "--backend", "serial", "--device", "gpu", "--size", "16x8", "--output", out);
    REFUSED("--simd applies to the simd and simd-threads backends only (got --backend threads)",
            "run", "--backend", "threads", "--simd", "avx512", "--size", "16x8", "--output", out);
    REFUSED("--autotune applies to the opencl backend only (got --backend simd)", "run",
            "--backend", "simd", "--autotune", "--size", "16x8", "--output", out);
    REFUSED("--threads applies to the threads and simd-threads backends only (got --backend serial",
            "run", "--threads", "2", "--size", "16x8", "--output", out);
    REFUSED("--threads applies to the threads and simd-threads backends only (got --backend simd)",
            "run", "--backend", "simd", "--threads", "2", "--size", "16x8", "--output", out);
    REFUSED("--band-rows applies to the threads and simd-threads backends only", "run",
            "--backend", "simd", "--band-rows", "8", "--size", "16x8", "--output", out);
    REFUSED("--no-cache applies to the opencl backend only (got --backend threads)", "run",
            "--backend", "threads", "--no-cache", "--size", "16x8", "--output", out);
    REFUSED("--trace applies to the threads and opencl backends only (got --backend simd-threads)",
            "run", "--backend", "simd-threads", "--trace", "t.json", "--size", "16x8", "--output",
            out);
    REFUSED("--bands applies to the opencl backend only (got --backend simd)", "run",
            "--backend", "simd", "--bands", "3", "--size", "16x8", "--output", out);
    REFUSED("--pinned applies to the opencl backend only (got --backend threads)", "run",
            "--backend", "threads", "--pinned", "on", "--size", "16x8", "--output", out);
    /* Before any input is read: a missing input would otherwise be exit 1. */
    REFUSED("--device applies to the opencl backend only", "run", "--backend", "serial",
            "--device", "gpu", "--input", "/nonexistent/in.png", "--output", out);
    REFUSED("--threads applies to the threads and simd-threads backends only (got --backend serial",
            "batch", "--threads", "2", "--input-dir", "/nonexistent", "--output-dir", dir);
    REFUSED("--simd applies to the simd and simd-threads backends only (got --backends threads)",
            "verify", "--backends", "threads", "--simd", "avx2", "--input", "/nonexistent/in.png");
    REFUSED("--threads applies to the threads and simd-threads backends only (got --backends simd)",
            "bench", "--backends", "simd", "--threads", "2", "--sizes", "8x8", "--out", bench_dir);
    cr_assert_eq(access(bench_dir, F_OK), -1, "bench made its folder before refusing");
    cr_assert_eq(access(out, F_OK), -1);
    rmdir(dir);
}

Test(options, a_backend_option_one_selected_backend_uses_is_fine, .timeout = 60)
{
    char dir[] = "/tmp/imgpipe-opt-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char out[4200], trace[4200];
    snprintf(out, sizeof out, "%s/x.png", dir);
    snprintf(trace, sizeof trace, "%s/t.json", dir);
    test_result r;
    RUN(&r, "verify", "--backends", "serial,simd", "--simd", "portable", "--size", "16x8");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    RUN(&r, "verify", "--backends", "threads,simd", "--threads", "2", "--size", "16x8");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    RUN(&r, "run", "--backend", "simd-threads", "--threads", "2", "--band-rows", "4", "--simd",
        "portable", "--size", "16x8", "--output", out);
    cr_assert_eq(r.status, 0, "%s", r.err);
    RUN(&r, "run", "--backend", "threads", "--trace", trace, "--size", "16x8", "--output", out);
    cr_assert_eq(r.status, 0, "%s", r.err);
    /* --cpus is the process's, whatever the backend. */
    RUN(&r, "run", "--cpus", "0", "--size", "16x8", "--output", out);
    cr_assert_eq(r.status, 0, "%s", r.err);
    unlink(out);
    unlink(trace);
    rmdir(dir);
}

/* ---- item 12: the verify table names every column ---- */

Test(options, verify_table_names_the_notes_column)
{
    test_result r;
    RUN(&r, "verify", "--backends", "threads", "--threads", "2", "--size", "16x8");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    const char *header = strstr(r.out, "\nbackend ");
    const char *row = strstr(r.out, "\nthreads ");
    cr_assert(header && row, "%s", r.out);
    header++;
    row++;
    const char *title_end = strstr(header, "border/interior");
    cr_assert_not_null(title_end);
    title_end += strlen("border/interior");
    const char *title = title_end + strspn(title_end, " ");
    cr_assert(*title != '\n' && *title != '\0', "the notes column has no title:\n%s", r.out);
    const char *note = strstr(row, "2 threads");
    cr_assert_not_null(note, "%s", r.out);
    cr_assert_eq(note - row, title - header, "the notes do not start under their title:\n%s",
                 r.out);
}

/* Grammar in what verify prints about a backend: "band 1 row", "1 thread". */
Test(options, one_band_row_and_one_thread_are_singular)
{
    test_result r;
    test_run_binary(&r, NULL, (const char *[]){"verify", "--backends", "threads", "--threads",
                                               "1", "--band-rows", "1", "--size", "16x9",
                                               NULL});
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "1 thread, band 1 row") != NULL, "%s", r.out);
    cr_assert_null(strstr(r.out, "1 rows"), "%s", r.out);
}

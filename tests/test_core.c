/* The core helpers every layer shares: the JSON writer, the whole-file reader, the
 * atomic writer's one policy, the clocks, CPU features; and the bench field table and
 * verdict names the reports are written from. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "clock.h"
#include "cpu_features.h"
#include "fsutil.h"
#include "json.h"
#include "memory.h"

static char *tmpdir_make(void)
{
    char *dir = strdup("/tmp/imgpipe_core_XXXXXX");
    cr_assert(dir && mkdtemp(dir));
    return dir;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = NULL;
    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

static int entries(const char *dir)
{
    char *cmd = NULL;
    cr_assert_geq(asprintf(&cmd, "ls -A '%s' | wc -l", dir), 0);
    FILE *p = popen(cmd, "r");
    int n = -1;
    cr_assert(p && fscanf(p, "%d", &n) == 1);
    pclose(p);
    free(cmd);
    return n;
}

static void remove_tree(char *dir)
{
    char *cmd = NULL;
    cr_assert_geq(asprintf(&cmd, "rm -rf '%s'", dir), 0);
    cr_assert_eq(system(cmd), 0);
    free(cmd);
    free(dir);
}

/* ---- json ---- */

Test(json, escapes_quotes_backslashes_and_control_characters)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    img_json_string(f, "a\"b\\c\n\x01\x1f é");
    fputc(' ', f);
    img_json_key(f, "k");
    img_json_double(f, "%.3f", 1.5);
    fputc(' ', f);
    img_json_bool(f, true);
    img_json_null(f);
    int n = 0;
    img_json_next(f, &n, ", ");
    fputc('x', f);
    img_json_next(f, &n, ", ");
    fputc('y', f);
    fclose(f);
    cr_assert_str_eq(text, "\"a\\\"b\\\\c\\u000a\\u0001\\u001f é\" \"k\": 1.500 truenullx, y");
    free(text);
}

/* ---- reading ---- */

Test(read_whole_file, reads_nul_terminated_and_enforces_the_limit)
{
    char *dir = tmpdir_make();
    char *path = path_in(dir, "f.txt");
    write_text(path, "hello");
    uint8_t *data = NULL;
    size_t size = 0;
    img_error err;
    cr_assert_eq(img_read_whole_file(path, 5, &data, &size, &err), 0, "%s", err.message);
    cr_assert_eq(size, 5);
    cr_assert_str_eq((char *)data, "hello");
    free(data);
    cr_assert_eq(img_read_whole_file(path, 4, &data, &size, &err), -1);
    cr_assert_null(data);
    cr_assert_eq(errno, EFBIG);
    cr_assert(strstr(err.message, "file is too large (5 bytes; the limit is 4)"), "%s",
              err.message);
    cr_assert_eq(img_read_whole_file(dir, 100, &data, &size, &err), -1);
    cr_assert(strstr(err.message, "is a directory"), "%s", err.message);
    char *missing = path_in(dir, "missing");
    cr_assert_eq(img_read_whole_file(missing, 100, &data, &size, &err), -1);
    cr_assert(strstr(err.message, "No such file or directory"), "%s", err.message);
    cr_assert_eq(img_read_whole_file("/dev/null", 100, &data, &size, &err), -1);
    cr_assert(strstr(err.message, "not a regular file"), "%s", err.message);
    char *empty = path_in(dir, "empty");
    write_text(empty, "");
    cr_assert_eq(img_read_whole_file(empty, 100, &data, &size, &err), 0);
    cr_assert_eq(size, 0);
    cr_assert_eq(data[0], 0);
    free(data);
    free(empty);
    free(missing);
    free(path);
    remove_tree(dir);
}

/* ---- the atomic writer's policy ---- */

static int mode_of(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    return (int)(st.st_mode & 0777);
}

Test(atomic_write, new_file_follows_umask_and_existing_file_keeps_its_mode)
{
    char *dir = tmpdir_make();
    char *path = path_in(dir, "out.txt");
    img_error err;
    mode_t old = umask(027);
    cr_assert_eq(img_write_file_atomic(path, "one", 3, &err), 0, "%s", err.message);
    cr_assert_eq(mode_of(path), 0640, "mode %o", mode_of(path));
    umask(022);
    cr_assert_eq(chmod(path, 0600), 0);
    cr_assert_eq(img_write_file_atomic(path, "two", 3, &err), 0, "%s", err.message);
    cr_assert_eq(mode_of(path), 0600, "mode %o", mode_of(path));
    umask(old);
    uint8_t *data = NULL;
    size_t size = 0;
    cr_assert_eq(img_read_whole_file(path, 100, &data, &size, &err), 0);
    cr_assert_str_eq((char *)data, "two");
    free(data);
    cr_assert_eq(entries(dir), 1, "a temporary file was left behind");
    free(path);
    remove_tree(dir);
}

static int fail_midway(FILE *f, void *ctx, img_error *err)
{
    (void)ctx;
    fputs("partial", f);
    return img_fail(err, "stopped on purpose");
}

Test(atomic_write, failure_leaves_the_target_and_no_temporary)
{
    char *dir = tmpdir_make();
    char *path = path_in(dir, "keep.txt");
    write_text(path, "old");
    img_error err;
    cr_assert_eq(img_write_atomic(path, fail_midway, NULL, &err), -1);
    cr_assert_str_eq(err.message, "stopped on purpose");
    uint8_t *data = NULL;
    size_t size = 0;
    cr_assert_eq(img_read_whole_file(path, 100, &data, &size, &err), 0);
    cr_assert_str_eq((char *)data, "old");
    free(data);
    cr_assert_eq(entries(dir), 1);
    char *nodir = path_in(dir, "no/such.txt");
    cr_assert_eq(img_write_file_atomic(nodir, "x", 1, &err), -1);
    cr_assert(strstr(err.message, "cannot create output: No such file or directory"), "%s",
              err.message);
    free(nodir);
    free(path);
    remove_tree(dir);
}

Test(atomic_write, through_a_symlink_replaces_the_file_it_points_to)
{
    char *dir = tmpdir_make();
    char *real = path_in(dir, "real.txt");
    char *link = path_in(dir, "link.txt");
    write_text(real, "old");
    cr_assert_eq(symlink("real.txt", link), 0);
    img_error err;
    cr_assert_eq(img_write_file_atomic(link, "new", 3, &err), 0, "%s", err.message);
    struct stat st;
    cr_assert_eq(lstat(link, &st), 0);
    cr_assert(S_ISLNK(st.st_mode), "the link was replaced");
    uint8_t *data = NULL;
    size_t size = 0;
    cr_assert_eq(img_read_whole_file(real, 100, &data, &size, &err), 0);
    cr_assert_str_eq((char *)data, "new");
    free(data);
    free(real);
    free(link);
    remove_tree(dir);
}

/* ---- clocks and CPU features ---- */

Test(clock, seconds_and_nanoseconds_are_the_same_monotonic_clock)
{
    double s0 = img_now();
    int64_t ns = img_now_ns();
    double s1 = img_now();
    cr_assert_geq((double)ns * 1e-9, s0 - 1e-6);
    cr_assert_leq((double)ns * 1e-9, s1 + 1e-6);
    cr_assert_geq(img_cpu_seconds(), 0.0);
}

Test(cpu_features, format_names_what_was_found)
{
    char buf[256];
#if defined(__x86_64__)
    unsigned f = img_cpu_features();
    cr_assert(f & IMG_CPU_SSE2, "x86-64 always has SSE2");
    img_cpu_features_format(IMG_CPU_SSE2 | IMG_CPU_SSE41 | IMG_CPU_AVX512VBMI, buf, sizeof buf);
    cr_assert_str_eq(buf, "sse2 sse4.1 avx512vbmi");
#else
    img_cpu_features_format(img_cpu_features(), buf, sizeof buf);
    cr_assert_str_eq(buf, "none known (not x86)");
#endif
}

/* ---- the bench field table and verdicts ---- */

Test(bench_fields, csv_header_is_unchanged)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    img_bench_report r = {0};
    cr_assert_eq(img_bench_write_csv(f, &r), 0);
    fclose(f);
    cr_assert_str_eq(
        text,
        "backend,setting,simd,threads,cpus,width,height,channels,out_width,out_height,"
        "verdict,reps,median_s,min_s,max_s,q1_s,q3_s,iqr_s,mpix_per_s,gb_per_s,"
        "bandwidth_fraction,speedup_vs_serial,speedup_vs_1_thread,parallel_efficiency,"
        "cpu_s_per_run,cpu_per_wall,vcsw_per_run,ivcsw_per_run,init_s,cold_s,madds_per_pixel,job,"
        "build_s,upload_s,"
        "kernel_s,download_s,decode_s,pipeline_s,encode_s,streamed_s,serialized_s,ideal_s,"
        "stage_brightness_s,stage_contrast_s,stage_blur_s,stage_resize_s,"
        "cpus_used_per_run,cpus_ran_on,disturbed,breakdown,note\n");
    free(text);
    for (int i = 0; i < IMG_BENCH_FIELDS; i++)
        cr_assert(img_bench_fields[i].name, "field %d has no name", i);
}

Test(verdict, names_round_trip)
{
    const char *names[] = {"bit-exact", "MISMATCH", "ERROR", "unavailable"};
    const img_verdict verdicts[] = {IMG_VERDICT_BIT_EXACT, IMG_VERDICT_MISMATCH,
                                    IMG_VERDICT_ERROR, IMG_VERDICT_UNAVAILABLE};
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq(img_verdict_name(verdicts[i]), names[i]);
        cr_assert_eq(img_verdict_from_name(names[i]), verdicts[i]);
    }
    cr_assert_str_eq(img_verdict_name(IMG_VERDICT_NONE), "");
    cr_assert_eq(img_verdict_from_name("bit exact"), IMG_VERDICT_NONE);
    cr_assert(img_verdict_is_failure(IMG_VERDICT_ERROR));
    cr_assert(!img_verdict_is_failure(IMG_VERDICT_UNAVAILABLE));
}

/* Small and large buffers alike: aligned as asked (large ones to 2 MiB, the huge-page
 * size), the whole size writable and readable back, released by free(). */
Test(memory, large_buffers_are_aligned_and_whole)
{
    static const size_t sizes[] = {1, 63, 64, 4096, (2u << 20) - 1, 2u << 20, (5u << 20) + 3};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t *p = img_alloc_large(sizes[i], 64);
        cr_assert_not_null(p, "size %zu", sizes[i]);
        cr_assert_eq((uintptr_t)p % 64, 0);
        if (sizes[i] >= (2u << 20))
            cr_assert_eq((uintptr_t)p % (2u << 20), 0, "size %zu not on a huge page", sizes[i]);
        memset(p, 0xA5, sizes[i]);
        cr_assert_eq(p[0], 0xA5);
        cr_assert_eq(p[sizes[i] - 1], 0xA5);
        free(p);
    }
    cr_assert_null(img_alloc_large(SIZE_MAX - 5, 64), "an impossible size is refused");
}

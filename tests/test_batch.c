/* `imgpipe batch` through the real binary: it never writes into its input, reads each
 * input once and writes each output once, ignores what is not an image, names a bad
 * image once, and produces exactly the bytes `imgpipe run --backend serial` does.
 *
 * Reads and writes are counted with inotify on the folders, because the final files
 * cannot tell a file written once from one written twice with the same bytes. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_io.h"
#include "test_helpers.h"

typedef test_result result;

#define RUN(r, ...) test_run_binary(r, NULL, (const char *[]){__VA_ARGS__, NULL})
#define RUN_ENV(r, env, ...) test_run_binary(r, env, (const char *[]){__VA_ARGS__, NULL})

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Every line of stderr is one imgpipe message. */
static void expect_messages(const char *err)
{
    for (const char *line = err; *line; line = strchr(line, '\n') + 1) {
        cr_assert(strncmp(line, "imgpipe: ", 9) == 0, "message without 'imgpipe: ': %s", err);
        cr_assert_not_null(strchr(line, '\n'), "unterminated message: %s", err);
    }
}

static void make_temp_dir(char *dir)
{
    cr_assert_not_null(mkdtemp(dir), "mkdtemp %s: %s", dir, strerror(errno));
}

static void remove_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void join(char *out, size_t len, const char *dir, const char *name)
{
    cr_assert_lt(snprintf(out, len, "%s/%s", dir, name), (int)len);
}

/* The built-in synthetic image at `size`, run through the default pipeline by the
 * binary itself, in whatever format the name says. */
static void make_image(const char *dir, const char *name, const char *size)
{
    char path[512];
    join(path, sizeof path, dir, name);
    result r;
    RUN(&r, "run", "--size", size, "--output", path);
    cr_assert_eq(r.status, 0, "making %s: %s", path, r.err);
}

/* A gray image (the synthetic one is RGB, which .pgm cannot hold). */
static void make_gray_image(const char *dir, const char *name, int w, int h, uint32_t seed)
{
    char path[512];
    join(path, sizeof path, dir, name);
    img_image img;
    img_error err;
    test_random_image(&img, w, h, 1, seed);
    cr_assert_eq(img_write_file(path, &img, NULL, &err), 0, "%s", err.message);
    img_image_free(&img);
}

static void make_text_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    join(path, sizeof path, dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

static uint8_t *read_bytes(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *data = malloc(cap);
    cr_assert_not_null(data);
    for (;;) {
        n += fread(data + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        data = realloc(data, cap);
        cr_assert_not_null(data);
    }
    fclose(f);
    *size = n;
    return data;
}

static bool same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    uint8_t *da = read_bytes(a, &na), *db = read_bytes(b, &nb);
    bool same = na == nb && memcmp(da, db, na) == 0;
    free(da);
    free(db);
    return same;
}

static void copy_file(const char *from, const char *to)
{
    size_t n;
    uint8_t *data = read_bytes(from, &n);
    FILE *f = fopen(to, "wb");
    cr_assert_not_null(f, "%s: %s", to, strerror(errno));
    cr_assert_eq(fwrite(data, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
    free(data);
}

/* Entries of dir other than . and .., hidden ones included. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static bool exists(const char *dir, const char *name)
{
    char path[512];
    join(path, sizeof path, dir, name);
    return access(path, F_OK) == 0;
}

/* A folder of images to feed batch, with a byte copy of each in `pristine` so the
 * tests can prove the inputs untouched. */
typedef struct fixture {
    char in[64], out[64], pristine[64];
    const char *names[8];
    int count;
} fixture;

static void fixture_init(fixture *fx)
{
    snprintf(fx->in, sizeof fx->in, "/tmp/imgpipe-tbatch-in.XXXXXX");
    snprintf(fx->out, sizeof fx->out, "/tmp/imgpipe-tbatch-out.XXXXXX");
    snprintf(fx->pristine, sizeof fx->pristine, "/tmp/imgpipe-tbatch-orig.XXXXXX");
    make_temp_dir(fx->in);
    make_temp_dir(fx->out);
    make_temp_dir(fx->pristine);
    fx->count = 0;
}

/* Keeps a copy of in/name to compare against afterwards. */
static void fixture_track(fixture *fx, const char *name)
{
    char from[512], to[512];
    join(from, sizeof from, fx->in, name);
    join(to, sizeof to, fx->pristine, name);
    copy_file(from, to);
    fx->names[fx->count++] = name;
}

static void fixture_add(fixture *fx, const char *name, const char *size)
{
    make_image(fx->in, name, size);
    fixture_track(fx, name);
}

static void expect_inputs_intact(const fixture *fx, int extra_entries)
{
    for (int i = 0; i < fx->count; i++) {
        char a[512], b[512];
        join(a, sizeof a, fx->in, fx->names[i]);
        join(b, sizeof b, fx->pristine, fx->names[i]);
        cr_assert(same_bytes(a, b), "%s changed", a);
    }
    cr_assert_eq(count_entries(fx->in), fx->count + extra_entries, "new files in %s", fx->in);
}

static void fixture_free(fixture *fx)
{
    remove_tree(fx->in);
    remove_tree(fx->out);
    remove_tree(fx->pristine);
}

/* inotify on one folder: what happened to its entries while the binary ran. */
typedef struct fs_log {
    int fd;
    int n;
    struct {
        uint32_t mask;
        char name[64];
    } e[1024];
} fs_log;

static void watch_start(fs_log *log, const char *dir)
{
    log->n = 0;
    log->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    cr_assert_geq(log->fd, 0, "inotify_init1: %s", strerror(errno));
    cr_assert_geq(inotify_add_watch(log->fd, dir,
                                    IN_OPEN | IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_CLOSE_WRITE),
                  0, "inotify_add_watch %s: %s", dir, strerror(errno));
}

/* The events are queued when they happen, so after the child exited they are all
 * there to read. */
static void watch_stop(fs_log *log)
{
    _Alignas(struct inotify_event) char buf[65536];
    ssize_t len;
    while ((len = read(log->fd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            cr_assert_eq(ev->mask & IN_Q_OVERFLOW, 0u, "inotify queue overflow");
            if (log->n < (int)(sizeof log->e / sizeof log->e[0])) {
                log->e[log->n].mask = ev->mask;
                snprintf(log->e[log->n].name, sizeof log->e[log->n].name, "%s",
                         ev->len ? ev->name : "");
                log->n++;
            }
            p += sizeof *ev + ev->len;
        }
    }
    close(log->fd);
}

/* Events with every bit of mask on entry `name` (NULL: any entry). */
static int events(const fs_log *log, uint32_t mask, const char *name)
{
    int n = 0;
    for (int i = 0; i < log->n; i++)
        n += (log->e[i].mask & mask) == mask && (!name || strcmp(log->e[i].name, name) == 0);
    return n;
}

/* ---- refusals: nothing is read for processing and nothing is written ---- */

static void expect_same_folder_refused(fixture *fx, const char *output_dir)
{
    result r;
    RUN(&r, "batch", "--backend", "simd", "--input-dir", fx->in, "--output-dir", output_dir);
    cr_assert_eq(r.status, 2, "--output-dir %s: %s%s", output_dir, r.out, r.err);
    cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
    expect_messages(r.err);
    cr_assert(strstr(r.err, "input folder") != NULL, "%s", r.err);
    cr_assert_str_eq(r.out, "");
    expect_inputs_intact(fx, 0);
}

Test(batch, refuses_the_input_folder_as_output, .timeout = 120)
{
    fixture fx;
    fixture_init(&fx);
    fixture_add(&fx, "a.png", "451x300");
    fixture_add(&fx, "b.jpg", "64x48");
    expect_same_folder_refused(&fx, fx.in);
    char path[512];
    join(path, sizeof path, fx.in, ".");
    expect_same_folder_refused(&fx, path);
    snprintf(path, sizeof path, "%s/./", fx.in);
    expect_same_folder_refused(&fx, path);
    /* A symlink to the input folder, living elsewhere. */
    join(path, sizeof path, fx.out, "link");
    cr_assert_eq(symlink(fx.in, path), 0, "%s", strerror(errno));
    expect_same_folder_refused(&fx, path);
    fixture_free(&fx);
}

Test(batch, refusal_comes_before_the_backend_is_probed, .timeout = 120)
{
    fixture fx;
    fixture_init(&fx);
    fixture_add(&fx, "a.png", "40x30");
    /* No OpenCL platform at all: the folder mistake is still what is reported, since
     * probing (loading drivers) is not needed to see it. */
    const char *env[] = {"OCL_ICD_VENDORS=/nonexistent", "OCL_ICD_FILENAMES=", NULL};
    result r;
    RUN_ENV(&r, env, "batch", "--backend", "opencl", "--input-dir", fx.in, "--output-dir", fx.in);
    cr_assert_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_assert(strstr(r.err, "input folder") != NULL, "%s", r.err);
    cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
    /* An unknown name is still refused, and first. */
    RUN(&r, "batch", "--backend", "nope", "--input-dir", fx.in, "--output-dir", fx.in);
    cr_assert_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_assert(strstr(r.err, "unknown backend 'nope'") != NULL, "%s", r.err);
    expect_inputs_intact(&fx, 0);
    fixture_free(&fx);
}

Test(batch, refuses_an_output_that_is_an_input_under_another_name, .timeout = 120)
{
    fixture fx;
    fixture_init(&fx);
    fixture_add(&fx, "a.png", "451x300");
    fixture_add(&fx, "b.png", "64x48");
    char in_path[512], out_path[512];
    /* A hard link: same inode, different folder. */
    join(in_path, sizeof in_path, fx.in, "a.png");
    join(out_path, sizeof out_path, fx.out, "a.png");
    cr_assert_eq(link(in_path, out_path), 0, "%s", strerror(errno));
    result r;
    RUN(&r, "batch", "--backend", "serial", "--input-dir", fx.in, "--output-dir", fx.out);
    cr_assert_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
    expect_messages(r.err);
    cr_assert(strstr(r.err, out_path) != NULL && strstr(r.err, in_path) != NULL, "%s", r.err);
    expect_inputs_intact(&fx, 0);
    cr_assert_eq(count_entries(fx.out), 1, "nothing written");
    cr_assert(same_bytes(out_path, in_path));

    /* A symlink to another input: image_io writes through links, so this one would
     * have replaced b.png itself. */
    cr_assert_eq(unlink(out_path), 0);
    join(in_path, sizeof in_path, fx.in, "b.png");
    cr_assert_eq(symlink(in_path, out_path), 0, "%s", strerror(errno));
    RUN(&r, "batch", "--backend", "serial", "--input-dir", fx.in, "--output-dir", fx.out);
    cr_assert_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_assert(strstr(r.err, in_path) != NULL, "%s", r.err);
    expect_inputs_intact(&fx, 0);
    cr_assert_eq(count_entries(fx.out), 1, "nothing written");
    fixture_free(&fx);
}

/* ---- each input read once, each output written once ---- */

Test(batch, reads_each_input_once_and_writes_each_output_once, .timeout = 120)
{
    fixture fx;
    fixture_init(&fx);
    fixture_add(&fx, "a.png", "97x31");
    fixture_add(&fx, "b.jpg", "64x48");
    fixture_add(&fx, "c.ppm", "33x17");
    fs_log reads, writes;
    watch_start(&reads, fx.in);
    watch_start(&writes, fx.out);
    result r;
    RUN(&r, "batch", "--backend", "serial", "--input-dir", fx.in, "--output-dir", fx.out,
        "--jobs", "2");
    watch_stop(&reads);
    watch_stop(&writes);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert_str_eq(r.err, "");
    for (int i = 0; i < fx.count; i++) {
        cr_assert_eq(events(&reads, IN_OPEN, fx.names[i]), 1, "%s opened %d times", fx.names[i],
                     events(&reads, IN_OPEN, fx.names[i]));
        cr_assert_eq(events(&writes, IN_MOVED_TO, fx.names[i]), 1, "%s written %d times",
                     fx.names[i], events(&writes, IN_MOVED_TO, fx.names[i]));
    }
    cr_assert_eq(events(&writes, IN_CREATE | IN_ISDIR, NULL), 0, "no scratch folder");
    cr_assert_eq(count_entries(fx.out), fx.count, "exactly one output per image");
    cr_assert(strstr(r.out, "3 image files: 3 processed, 0 failed") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "sequential") == NULL, "no comparison unless asked: %s", r.out);
    expect_inputs_intact(&fx, 0);
    fixture_free(&fx);
}

Test(batch, compare_times_both_and_removes_its_scratch_folder, .timeout = 120)
{
    fixture fx;
    fixture_init(&fx);
    fixture_add(&fx, "a.png", "97x31");
    fixture_add(&fx, "b.jpg", "64x48");
    fs_log writes;
    watch_start(&writes, fx.out);
    result r;
    RUN(&r, "batch", "--backend", "serial", "--input-dir", fx.in, "--output-dir", fx.out,
        "--compare", "--jobs", "2");
    watch_stop(&writes);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert_str_eq(r.err, "");
    /* The sequential pass wrote into a folder of its own inside OUT, then removed it. */
    cr_assert_eq(events(&writes, IN_CREATE | IN_ISDIR, NULL), 1, "one scratch folder");
    cr_assert_eq(events(&writes, IN_DELETE | IN_ISDIR, NULL), 1, "scratch folder removed");
    for (int i = 0; i < fx.count; i++)
        cr_assert_eq(events(&writes, IN_MOVED_TO, fx.names[i]), 1, "%s written %d times",
                     fx.names[i], events(&writes, IN_MOVED_TO, fx.names[i]));
    cr_assert_eq(count_entries(fx.out), fx.count, "only the outputs remain");
    cr_assert(strstr(r.out, "sequential") != NULL && strstr(r.out, "overlapped") != NULL,
              "both runs reported: %s", r.out);
    cr_assert(strstr(r.out, "x\n") != NULL, "the speedup: %s", r.out);
    expect_inputs_intact(&fx, 0);
    fixture_free(&fx);
}

/* ---- what is chosen, what is ignored ---- */

Test(batch, ignores_what_is_not_an_image_and_counts_it, .timeout = 120)
{
    fixture fx;
    fixture_init(&fx);
    fixture_add(&fx, "a.png", "40x30");
    fixture_add(&fx, "B.JPG", "40x30");   /* extensions in any case */
    make_text_file(fx.in, "README.md", "# holiday photos\n");
    make_text_file(fx.in, ".DS_Store", "\x01Bud1 Finder metadata");
    make_text_file(fx.in, "._a.png", "AppleDouble resource fork, not an image");
    char sub[512];
    join(sub, sizeof sub, fx.in, "sub.png");
    cr_assert_eq(mkdir(sub, 0755), 0);
    make_image(sub, "c.png", "8x8");
    result r;
    RUN(&r, "batch", "--input-dir", fx.in, "--output-dir", fx.out);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert_str_eq(r.err, "");
    cr_assert(strstr(r.out, "2 image files: 2 processed, 0 failed; 4 other entries ignored") !=
                  NULL,
              "%s", r.out);
    cr_assert(exists(fx.out, "a.png") && exists(fx.out, "B.JPG"));
    cr_assert_eq(count_entries(fx.out), 2, "no output for what was ignored");
    expect_inputs_intact(&fx, 4);

    /* The singular, and a folder holding no image at all. */
    char only[] = "/tmp/imgpipe-tbatch-text.XXXXXX";
    make_temp_dir(only);
    make_text_file(only, "README.md", "nothing to see\n");
    RUN(&r, "batch", "--input-dir", only, "--output-dir", fx.out);
    cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
    expect_messages(r.err);
    cr_assert(strstr(r.err, "no image files (.png, .jpg, .jpeg, .ppm, .pgm)") != NULL, "%s",
              r.err);
    cr_assert(strstr(r.err, "1 other entry ignored") != NULL, "%s", r.err);
    make_image(only, "x.ppm", "8x8");
    RUN(&r, "batch", "--input-dir", only, "--output-dir", fx.out);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "1 image file: 1 processed, 0 failed; 1 other entry ignored") != NULL,
              "%s", r.out);
    remove_tree(only);
    fixture_free(&fx);
}

Test(batch, a_corrupt_image_is_named_once_and_skipped, .timeout = 120)
{
    fixture fx;
    fixture_init(&fx);
    fixture_add(&fx, "good1.png", "40x30");
    fixture_add(&fx, "good2.ppm", "40x30");
    make_text_file(fx.in, "bad.jpg", "\xff\xd8\xff this is not a jpeg");
    make_text_file(fx.in, "notes.txt", "not an image, not a failure\n");
    const char *modes[] = {"--jobs", "--compare"};
    for (int m = 0; m < 2; m++) {
        result r;
        RUN(&r, "batch", "--backend", "serial", "--input-dir", fx.in, "--output-dir", fx.out,
            modes[m], m == 0 ? "3" : "--jobs=1");
        cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
        cr_assert_eq(count_lines(r.err), 1, "reported once (%s): %s", modes[m], r.err);
        expect_messages(r.err);
        cr_assert(strstr(r.err, "bad.jpg") != NULL, "the bad file is named: %s", r.err);
        cr_assert(strstr(r.out, "3 image files: 2 processed, 1 failed; 1 other entry ignored") !=
                      NULL,
                  "%s", r.out);
        cr_assert(exists(fx.out, "good1.png") && exists(fx.out, "good2.ppm"));
        cr_assert(!exists(fx.out, "bad.jpg"), "no output for the bad file");
        cr_assert_eq(count_entries(fx.out), 2, "and no scratch folder left (%s)", modes[m]);
    }
    expect_inputs_intact(&fx, 2);
    fixture_free(&fx);
}

Test(batch, summary_counts_readers_and_writers, .timeout = 120)
{
    fixture fx;
    fixture_init(&fx);
    fixture_add(&fx, "a.png", "40x30");
    result r;
    RUN(&r, "batch", "--input-dir", fx.in, "--output-dir", fx.out, "--jobs", "4");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    /* One file needs no more than one reader and one writer. */
    cr_assert(strstr(r.out, "(1 reader, 1 writer)") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "1 image file: 1 processed, 0 failed; 0 other entries ignored") !=
                  NULL,
              "%s", r.out);
    fixture_add(&fx, "b.png", "40x30");
    fixture_add(&fx, "c.png", "40x30");
    RUN(&r, "batch", "--input-dir", fx.in, "--output-dir", fx.out, "--jobs", "2");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "(2 readers, 2 writers)") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "images/s") != NULL && strstr(r.out, "MP/s") != NULL, "%s", r.out);
    fixture_free(&fx);
}

/* ---- batch produces what run does ---- */

/* Runs batch with simd-threads (and `batch_extra`), then `run --backend serial` on each
 * input with the same pipeline `options`: the files must be identical. */
static void expect_matches_serial_run(fixture *fx, const char *batch_extra,
                                      const char *const *options)
{
    const char *args[40] = {"batch", "--backend", "simd-threads", "--threads", "2", "--jobs", "2",
                            "--input-dir", fx->in, "--output-dir", fx->out};
    int n = 11;
    if (batch_extra)
        args[n++] = batch_extra;
    for (int i = 0; options[i]; i++)
        args[n++] = options[i];
    args[n] = NULL;
    result r;
    test_run_binary(&r, NULL, args);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert_eq(count_entries(fx->out), fx->count, "one output per input");
    char ref_dir[] = "/tmp/imgpipe-tbatch-ref.XXXXXX";
    make_temp_dir(ref_dir);
    for (int i = 0; i < fx->count; i++) {
        char in[512], ref[512], out[512];
        join(in, sizeof in, fx->in, fx->names[i]);
        join(ref, sizeof ref, ref_dir, fx->names[i]);
        join(out, sizeof out, fx->out, fx->names[i]);
        const char *run_args[40] = {"run", "--backend", "serial", "--input", in, "--output", ref};
        int k = 7;
        for (int j = 0; options[j]; j++)
            run_args[k++] = options[j];
        run_args[k] = NULL;
        test_run_binary(&r, NULL, run_args);
        cr_assert_eq(r.status, 0, "%s", r.err);
        cr_assert(same_bytes(out, ref), "batch's %s differs from run --backend serial's", out);
        cr_assert_eq(unlink(out), 0);   /* so the next round cannot pass on stale files */
    }
    remove_tree(ref_dir);
}

Test(batch, outputs_match_run_with_the_serial_backend, .timeout = 120)
{
    fixture fx;
    fixture_init(&fx);
    fixture_add(&fx, "a.png", "97x31");
    fixture_add(&fx, "b.jpg", "130x77");
    fixture_add(&fx, "c.PPM", "61x45");
    make_gray_image(fx.in, "d.pgm", 53, 29, 7);
    fixture_track(&fx, "d.pgm");
    expect_matches_serial_run(&fx, NULL, (const char *const[]){NULL});
    /* --compare's real outputs are the overlapped run's, never the scratch pass's. */
    expect_matches_serial_run(&fx, "--compare",
                              (const char *const[]){"--brightness", "-30", "--contrast", "1.5",
                                                    "--sigma", "1.3", "--scale", "0.75", NULL});
    expect_matches_serial_run(&fx, NULL,
                              (const char *const[]){"--sigma", "0", "--resize", "19x7", NULL});
    expect_inputs_intact(&fx, 0);
    fixture_free(&fx);
}

/* One rule with run: a target that cannot be written is a usage error, found before
 * anything is read; a missing input folder is a failure. */
Test(batch, missing_folders_have_the_statuses_of_run)
{
    fixture fx;
    fixture_init(&fx);
    fixture_add(&fx, "a.png", "40x30");
    char missing[512];
    join(missing, sizeof missing, fx.out, "missing");
    result r;
    RUN(&r, "batch", "--backend", "serial", "--input-dir", fx.in, "--output-dir", missing);
    cr_assert_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_assert(strstr(r.err, "output folder does not exist") != NULL, "%s", r.err);
    RUN(&r, "batch", "--backend", "serial", "--input-dir", missing, "--output-dir", fx.out);
    cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_assert(strstr(r.err, "cannot open the input folder") != NULL, "%s", r.err);
    cr_assert_eq(count_entries(fx.out), 0);
    fixture_free(&fx);
}

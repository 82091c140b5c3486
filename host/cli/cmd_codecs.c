/* `imgpipe codecs`: how fast and how small each PNG encoding is, to choose the default
 * level by measurement (README, "PNG encoding").
 *
 * Per image every candidate is first encoded once and decoded back (libpng, through
 * img_read_memory): one whose pixels differ is refused and never reported. Then the
 * candidates are timed in interleaved rounds (round r times each candidate once), so
 * a disturbance on the shared machine spreads over all of them instead of sinking one;
 * each row gives the median with q1 and q3. With the `vips` program on PATH, the size
 * libvips writes for the same image (its defaults: no filter, compression 6) is a
 * reference row; libvips is never linked. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"
#include "chart.h"
#include "envinfo.h"
#include "fsutil.h"
#include "png_encode.h"
#include "stats.h"
#include "synth.h"

extern char **environ;

#define MAX_CANDIDATES 96

typedef struct candidate {
    char label[160];
    bool libpng;               /* the baseline: libpng's own encoder */
    img_png_encoding enc;
    int png_level;             /* the --png-level this is, or -1 */
    bool refused;
    char refusal[600];
    size_t bytes;
    double *samples;
    img_stats stats;
} candidate;

typedef struct image_entry {
    char name[300];            /* the input path, or "builtin-WxH" */
    img_image img;
    candidate cands[MAX_CANDIDATES];
    int count;
    long vips_bytes;           /* -1: not measured */
    double vips_s;
} image_entry;

static void add(image_entry *e, const char *label, bool libpng, img_png_encoding enc, int level)
{
    if (e->count == MAX_CANDIDATES)
        return;
    candidate *c = &e->cands[e->count++];
    memset(c, 0, sizeof *c);
    snprintf(c->label, sizeof c->label, "%s", label);
    c->libpng = libpng;
    c->enc = enc;
    c->png_level = level;
}

/* The candidates: the baseline, every level, a grid of zlib levels x filters, the
 * strategies and libdeflate on the promising filters, and threads 1/2/N. */
static void build_candidates(image_entry *e, int threads)
{
    char label[160], what[96];
    img_png_encoding enc = {0};
    add(e, "libpng defaults (baseline)", true, enc, -1);
    for (int level = IMG_PNG_LEVEL_MIN; level <= IMG_PNG_LEVEL_MAX; level++) {
        img_png_encoding_for_level(level, threads, &enc);
        img_png_encoding_describe(&enc, what, sizeof what);
        snprintf(label, sizeof label, "--png-level %d%s: %s", level,
                 level == IMG_PNG_DEFAULT_LEVEL ? " (default)" : "", what);
        add(e, label, false, enc, level);
    }
    static const int zlib_levels[] = {1, 2, 3, 6, 9};
    static const img_png_filter filters[] = {IMG_PNG_FILTER_NONE, IMG_PNG_FILTER_SUB,
                                              IMG_PNG_FILTER_UP, IMG_PNG_FILTER_PAETH,
                                              IMG_PNG_FILTER_ADAPTIVE};
    for (size_t l = 0; l < sizeof zlib_levels / sizeof zlib_levels[0]; l++)
        for (size_t f = 0; f < sizeof filters / sizeof filters[0]; f++) {
            enc = (img_png_encoding){.deflater = IMG_PNG_DEFLATE_ZLIB, .level = zlib_levels[l],
                                     .filter = filters[f], .threads = threads};
            img_png_encoding_describe(&enc, label, sizeof label);
            add(e, label, false, enc, -1);
        }
    static const img_png_strategy strategies[] = {IMG_PNG_STRATEGY_FILTERED,
                                                  IMG_PNG_STRATEGY_RLE};
    static const int strategy_levels[] = {1, 6};
    static const img_png_filter good_filters[] = {IMG_PNG_FILTER_PAETH, IMG_PNG_FILTER_ADAPTIVE};
    for (size_t s = 0; s < 2; s++)
        for (size_t l = 0; l < 2; l++)
            for (size_t f = 0; f < 2; f++) {
                enc = (img_png_encoding){.deflater = IMG_PNG_DEFLATE_ZLIB,
                                         .level = strategy_levels[l], .strategy = strategies[s],
                                         .filter = good_filters[f], .threads = threads};
                img_png_encoding_describe(&enc, label, sizeof label);
                add(e, label, false, enc, -1);
            }
    static const int libdeflate_levels[] = {1, 3, 6, 9};
    for (size_t l = 0; l < sizeof libdeflate_levels / sizeof libdeflate_levels[0]; l++)
        for (size_t f = 0; f < 2; f++) {
            enc = (img_png_encoding){.deflater = IMG_PNG_DEFLATE_LIBDEFLATE,
                                     .level = libdeflate_levels[l], .filter = good_filters[f],
                                     .threads = threads};
            img_png_encoding_describe(&enc, label, sizeof label);
            add(e, label, false, enc, -1);
        }
    const int series[] = {1, 2, threads};
    for (size_t t = 0; t < 3; t++) {
        if (t == 2 && (threads == 1 || threads == 2))
            break;
        img_png_encoding_for_level(IMG_PNG_DEFAULT_LEVEL, series[t], &enc);
        snprintf(label, sizeof label, "default level on %d thread%s", series[t],
                 series[t] == 1 ? "" : "s");
        add(e, label, false, enc, -1);
    }
}

static int encode(const image_entry *e, const candidate *c, uint8_t **data, size_t *size,
                  img_error *err)
{
    if (!c->libpng)
        return img_png_encode_memory(e->name, &e->img, &c->enc, data, size, err);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp)
        return img_fail(err, "%s: out of memory", e->name);
    int rc = img_png_encode_libpng(e->name, fp, &e->img, err);
    if (fclose(fp) != 0 && rc == 0)
        rc = img_fail(err, "%s: out of memory", e->name);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    *data = (uint8_t *)buf;
    *size = len;
    return 0;
}

/* Encodes once and decodes back; refuses the candidate unless the pixels are the same. */
static void check_candidate(const image_entry *e, candidate *c)
{
    uint8_t *data = NULL;
    size_t size = 0;
    img_error err = {{0}};
    img_image back = {0};
    if (encode(e, c, &data, &size, &err) != 0) {
        c->refused = true;
        snprintf(c->refusal, sizeof c->refusal, "encode failed: %s", err.message);
    } else if (img_read_memory(e->name, data, size, &back, NULL, &err) != 0) {
        c->refused = true;
        snprintf(c->refusal, sizeof c->refusal, "does not decode: %s", err.message);
    } else if (!img_image_equal(&e->img, &back)) {
        c->refused = true;
        snprintf(c->refusal, sizeof c->refusal, "decodes to different pixels");
    }
    c->bytes = size;
    img_image_free(&back);
    free(data);
}

/* libvips's size for the image through the vips program, or -1 when there is none:
 * the image goes to it as an uncompressed PNG, and `vips copy` writes a PNG with
 * libvips's defaults. The time is the whole process (start, read, encode, write). */
static void measure_vips(image_entry *e)
{
    e->vips_bytes = -1;
    char dir[] = "/tmp/imgpipe-codecs.XXXXXX";
    if (!mkdtemp(dir))
        return;
    char in[64], out[64];
    snprintf(in, sizeof in, "%s/in.png", dir);
    snprintf(out, sizeof out, "%s/out.png", dir);
    const img_write_options stored = {.png_level = 0, .png_level_set = true};
    img_error err;
    if (img_write_file(in, &e->img, &stored, &err) == 0) {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
        char *argv[] = {"vips", "copy", in, out, NULL};
        pid_t pid;
        const double t0 = img_now();
        int status = -1;
        if (posix_spawnp(&pid, "vips", &actions, NULL, argv, environ) == 0 &&
            waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            e->vips_s = img_now() - t0;
            struct stat st;
            if (stat(out, &st) == 0)
                e->vips_bytes = (long)st.st_size;
        }
        posix_spawn_file_actions_destroy(&actions);
    }
    unlink(out);
    unlink(in);
    rmdir(dir);
}

typedef struct results {
    image_entry *images;
    int count;
    int reps;
    img_env env;
} results;

static int write_csv(FILE *f, void *ctx, img_error *err)
{
    (void)err;
    const results *r = ctx;
    fputs("image,width,height,channels,encoding,png_level,threads,rounds,median_s,q1_s,q3_s,"
          "bytes,mb_per_s,bytes_vs_libvips\n", f);
    for (int i = 0; i < r->count; i++) {
        const image_entry *e = &r->images[i];
        const double raw_mb = (double)e->img.width * e->img.height * e->img.channels / 1e6;
        for (int k = 0; k < e->count; k++) {
            const candidate *c = &e->cands[k];
            if (c->refused)
                continue;
            img_csv_write_field(f, e->name);
            fprintf(f, ",%d,%d,%d,", e->img.width, e->img.height, e->img.channels);
            img_csv_write_field(f, c->label);
            fprintf(f, ",%d,%d,%zu,%.9f,%.9f,%.9f,%zu,%.2f,", c->png_level,
                    c->libpng ? 1 : (c->enc.threads > 1 ? c->enc.threads : 1), c->stats.count,
                    c->stats.median, c->stats.q1, c->stats.q3, c->bytes,
                    raw_mb / c->stats.median);
            if (e->vips_bytes > 0)
                fprintf(f, "%.4f", (double)c->bytes / (double)e->vips_bytes);
            fputc('\n', f);
        }
        if (e->vips_bytes > 0) {
            img_csv_write_field(f, e->name);
            fprintf(f, ",%d,%d,%d,\"libvips (vips copy, defaults; time is the whole process)\","
                       "-1,1,1,%.9f,%.9f,%.9f,%ld,%.2f,1.0000\n",
                    e->img.width, e->img.height, e->img.channels, e->vips_s, e->vips_s,
                    e->vips_s, e->vips_bytes, raw_mb / e->vips_s);
        }
    }
    return ferror(f) ? -1 : 0;
}

static int write_env(FILE *f, void *ctx, img_error *err)
{
    (void)err;
    const results *r = ctx;
    const img_env *e = &r->env;
    fprintf(f, "command: imgpipe codecs (%d interleaved rounds)\n", r->reps);
    fprintf(f, "cpu: %s\ncpu_flags: %s\ncores_online: %d\ncores_allowed: %d\naffinity: %s\n",
            e->cpu_model, e->cpu_flags, e->cores_online, e->cores_allowed, e->affinity);
    fprintf(f, "kernel: %s\ncompiler: %s\nc_flags: %s\nbuild_type: %s\ncommit: %s\n", e->kernel,
            e->compiler, e->c_flags, e->build_type, e->commit);
    fprintf(f, "date: %s\nhostname: %s\nload_average: %.2f\nbusy_cores: %.2f\n", e->date,
            e->hostname, e->load_average, e->busy_cores);
    return ferror(f) ? -1 : 0;
}

static int write_into(const char *dir, const char *name, img_write_fn *fn, void *ctx,
                      img_error *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return img_fail(err, "%s/%s: path too long", dir, name);
    return img_write_atomic(path, fn, ctx, err);
}

static void print_image(const image_entry *e, int reps)
{
    const double raw_mb = (double)e->img.width * e->img.height * e->img.channels / 1e6;
    printf("\n%s: %dx%d x%d (%.1f MB raw), %d rounds\n", e->name, e->img.width, e->img.height,
           e->img.channels, raw_mb, reps);
    printf("  %-62s %9s %9s %9s %10s %8s %7s\n", "encoding", "median ms", "q1 ms", "q3 ms",
           "bytes", "MB/s", "/vips");
    for (int k = 0; k < e->count; k++) {
        const candidate *c = &e->cands[k];
        if (c->refused) {
            printf("  %-62s refused: %s\n", c->label, c->refusal);
            continue;
        }
        char vs[16] = "";
        if (e->vips_bytes > 0)
            snprintf(vs, sizeof vs, "%.3f", (double)c->bytes / (double)e->vips_bytes);
        printf("  %-62s %9.2f %9.2f %9.2f %10zu %8.1f %7s\n", c->label, c->stats.median * 1e3,
               c->stats.q1 * 1e3, c->stats.q3 * 1e3, c->bytes, raw_mb / c->stats.median, vs);
    }
    if (e->vips_bytes > 0)
        printf("  %-62s %9.2f %9s %9s %10ld   (vips copy: whole process, once)\n",
               "libvips 'vips copy' (reference)", e->vips_s * 1e3, "", "", e->vips_bytes);
    else
        printf("  libvips reference: the vips program is not on PATH or failed\n");
}

/* The fastest candidate no larger than libvips's file on every image where libvips was
 * measured (what the default should be); printed, not applied. */
static void print_choice(const results *r)
{
    if (r->count == 0)
        return;
    const image_entry *first = &r->images[0];
    int best = -1;
    double best_time = 0;
    for (int k = 0; k < first->count; k++) {
        bool fits = true;
        double time = 0;
        for (int i = 0; i < r->count && fits; i++) {
            const image_entry *e = &r->images[i];
            const candidate *c = &e->cands[k];
            fits = !c->refused && (e->vips_bytes <= 0 || (long)c->bytes <= e->vips_bytes);
            time += c->stats.median / (e->img.width * (double)e->img.height);
        }
        if (fits && (best < 0 || time < best_time)) {
            best = k;
            best_time = time;
        }
    }
    if (best >= 0)
        printf("\nfastest (summed per-pixel median time) with files no larger than libvips's: "
               "%s\n", first->cands[best].label);
}

int img_cmd_codecs(const img_cli *cli)
{
    results r = {.reps = cli->reps};
    img_error err = {{0}};
    int status = IMG_EXIT_FAILURE;
    const char *dir = cli->out_dir ? cli->out_dir : "results/codecs";
    const int threads = cli->thread_count ? cli->threads[0] : img_online_cpus();
    static const img_size default_sizes[] = {{1920, 1080}, {3840, 2160}};
    const img_size *sizes = cli->size_count ? cli->sizes : default_sizes;
    const int size_count = cli->size_count ? cli->size_count : cli->input_count ? 0 : 2;
    r.images = calloc((size_t)(cli->input_count + size_count), sizeof *r.images);
    if (!r.images) {
        fprintf(stderr, "imgpipe: codecs: out of memory\n");
        return IMG_EXIT_FAILURE;
    }
    if (img_make_dirs(dir, &err) != 0) {
        status = IMG_EXIT_USAGE;
        goto done;
    }
    for (int i = 0; i < cli->input_count + size_count; i++) {
        image_entry *e = &r.images[r.count];
        int rc;
        if (i < cli->input_count) {
            snprintf(e->name, sizeof e->name, "%s", cli->inputs[i]);
            const img_read_options ro = {.max_pixels = cli->max_pixels};
            rc = img_read_file(cli->inputs[i], &e->img, &ro, &err);
        } else {
            const img_size s = sizes[i - cli->input_count];
            snprintf(e->name, sizeof e->name, "builtin-%dx%d", s.width, s.height);
            rc = img_synth_image(&e->img, s.width, s.height, 3, cli->max_pixels, &err);
        }
        if (rc != 0)
            goto done;
        r.count++;
    }
    img_env_collect(&r.env);
    r.env.busy_cores = img_busy_cores(0.5);

    for (int i = 0; i < r.count; i++) {
        image_entry *e = &r.images[i];
        build_candidates(e, threads);
        fprintf(stderr, "codecs: %s: checking %d encodings decode back ...\n", e->name, e->count);
        for (int k = 0; k < e->count; k++) {
            check_candidate(e, &e->cands[k]);
            e->cands[k].samples = calloc((size_t)r.reps, sizeof(double));
            if (!e->cands[k].samples) {
                img_fail(&err, "codecs: out of memory");
                goto done;
            }
        }
        measure_vips(e);
        for (int round = 0; round < r.reps; round++) {
            fprintf(stderr, "codecs: %s: round %d of %d\n", e->name, round + 1, r.reps);
            for (int k = 0; k < e->count; k++) {
                candidate *c = &e->cands[k];
                if (c->refused)
                    continue;
                uint8_t *data = NULL;
                size_t size = 0;
                const double t0 = img_now();
                const int rc = encode(e, c, &data, &size, &err);
                c->samples[round] = img_now() - t0;
                free(data);
                if (rc != 0)
                    goto done;
            }
        }
        for (int k = 0; k < e->count; k++)
            img_stats_compute(e->cands[k].samples, (size_t)r.reps, &e->cands[k].stats);
        print_image(e, r.reps);
    }
    print_choice(&r);
    if (write_into(dir, "codecs.csv", write_csv, &r, &err) != 0 ||
        write_into(dir, "codecs_env.txt", write_env, &r, &err) != 0)
        goto done;
    printf("\nwrote %s/codecs.csv and %s/codecs_env.txt (commit %s)\n", dir, dir, r.env.commit);
    status = IMG_EXIT_OK;
done:
    if (status != IMG_EXIT_OK)
        fprintf(stderr, "imgpipe: %s\n", err.message);
    for (int i = 0; i < cli->input_count + size_count; i++) {
        for (int k = 0; k < r.images[i].count; k++)
            free(r.images[i].cands[k].samples);
        img_image_free(&r.images[i].img);
    }
    free(r.images);
    return status;
}

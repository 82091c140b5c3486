/* The threads backend against the serial reference, bit for bit, over thread counts,
 * band heights, awkward sizes and every stage combination; plus the pool, the
 * statistics, the trace file and the CPU-list parser. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "image.h"
#include "pool.h"
#include "spec.h"
#include "test_helpers.h"
#include "threads_backend.h"

extern const img_backend img_backend_serial;
extern const img_backend img_backend_threads;

/* ---- helpers ---- */

/* splitmix64: deterministic images without depending on the C library's rand(). */
static uint64_t next_random(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void random_image(img_image *img, int w, int h, int channels, uint64_t seed)
{
    img_error err = {{0}};
    cr_assert_eq(img_image_alloc(img, w, h, channels, 0, &err), 0, "%s", err.message);
    uint64_t s = (seed ^ test_mix_seed(0)) * 1000003u + (uint64_t)(w * 31 + h * 7 + channels);
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < h; y++) {
            uint8_t *row = img_row(img, c, y);
            for (int x = 0; x < w; x++) {
                uint64_t r = next_random(&s);
                /* Some saturated runs so the clamps are exercised, not just mid-tones. */
                row[x] = (r >> 60) == 0 ? 0 : (r >> 60) == 1 ? 255 : (uint8_t)(r >> 8);
            }
        }
}

static img_params params_with(int brightness, double contrast, double sigma, double scale)
{
    img_params p = img_params_default();
    p.brightness = brightness;
    p.contrast = contrast;
    p.sigma = sigma;
    p.scale = scale;
    return p;
}

static void make_plan(img_plan *plan, const img_params *p, int w, int h)
{
    img_error err = {{0}};
    cr_assert_eq(img_plan_init(plan, p, w, h, 0, &err), 0, "%s", err.message);
}

static void alloc_output(img_image *out, const img_plan *plan, int channels)
{
    img_error err = {{0}};
    cr_assert_eq(img_image_alloc(out, plan->out_width, plan->out_height, channels, 0, &err), 0,
                 "%s", err.message);
}

static void serial_pipeline(img_image *out, const img_image *src, const img_plan *plan)
{
    img_error err = {{0}};
    alloc_output(out, plan, src->channels);
    cr_assert_eq(img_backend_serial.run_pipeline(NULL, out, src, plan, &err), 0, "%s",
                 err.message);
}

static void *threads_init(int threads, int band_rows, const char *trace_path)
{
    img_backend_options opt = {.threads = threads, .band_rows = band_rows,
                               .trace_path = trace_path};
    img_error err = {{0}};
    void *state = NULL;
    cr_assert_eq(img_backend_threads.init(&state, &opt, &err), 0, "%s", err.message);
    cr_assert_not_null(state);
    return state;
}

/* Runs the threads pipeline on an initialised state and compares with expected. */
static void expect_pipeline(void *state, const img_image *src, const img_plan *plan,
                            const img_image *expected, const char *what)
{
    img_image out;
    img_error err = {{0}};
    alloc_output(&out, plan, src->channels);
    cr_assert_eq(img_backend_threads.run_pipeline(state, &out, src, plan, &err), 0, "%s: %s",
                 what, err.message);
    cr_assert(img_image_equal(&out, expected), "%s: differs from serial", what);
    img_image_free(&out);
}

/* One image, one parameter set, a set of (threads, band) pairs: all equal serial. */
static void check_params(int w, int h, int channels, const img_params *p, const int *threads,
                         int nthreads, const int *bands, int nbands)
{
    img_image src, expected;
    img_plan plan;
    random_image(&src, w, h, channels, 42);
    make_plan(&plan, p, w, h);
    serial_pipeline(&expected, &src, &plan);
    for (int t = 0; t < nthreads; t++)
        for (int b = 0; b < nbands; b++) {
            char what[160];
            snprintf(what, sizeof what,
                     "%dx%dx%d b=%d c=%g s=%g scale=%g resize=%dx%d threads=%d band=%d", w, h,
                     channels, p->brightness, p->contrast, p->sigma, p->scale, p->out_width,
                     p->out_height, threads[t], bands[b]);
            void *state = threads_init(threads[t], bands[b], NULL);
            expect_pipeline(state, &src, &plan, &expected, what);
            img_backend_threads.destroy(state);
        }
    img_image_free(&expected);
    img_plan_free(&plan);
    img_image_free(&src);
}

static int max_threads_to_test(void)
{
    return 2 * img_online_cpus() + 1;
}

/* ---- pipeline equality ---- */

Test(threads_pipeline, sizes_threads_and_bands_match_serial, .timeout = 600)
{
    static const int sizes[][2] = {{1, 1}, {1, 17}, {17, 1}, {7, 3}, {13, 1}, {64, 48}, {101, 37}};
    static const int bands[] = {0, 1, 2, 3, 7, 1000};
    int threads[64];
    int nthreads = max_threads_to_test();
    if (nthreads > 64)
        nthreads = 64;
    for (int t = 0; t < nthreads; t++)
        threads[t] = t + 1;
    img_params p = params_with(20, 1.2, 2.0, 0.5);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int ch = 1; ch <= 4; ch++)
            check_params(sizes[s][0], sizes[s][1], ch, &p, threads, nthreads, bands,
                         (int)(sizeof bands / sizeof bands[0]));
}

Test(threads_pipeline, every_band_height_matches_serial, .timeout = 600)
{
    static const int sizes[][2] = {{11, 9}, {5, 13}, {16, 16}};
    static const int threads[] = {1, 2, 3};
    img_params p = params_with(20, 1.2, 2.0, 0.5);
    img_params up = params_with(-30, 0.7, 0.5, 2.0);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int h = sizes[s][1];
        int bands[32];
        for (int b = 0; b < h; b++)
            bands[b] = b + 1;
        check_params(sizes[s][0], h, 4, &p, threads, 3, bands, h);
        check_params(sizes[s][0], h, 2, &up, threads, 3, bands, h);
    }
}

Test(threads_pipeline, parameter_variants_match_serial, .timeout = 600)
{
    img_params variants[] = {
        params_with(20, 1.2, 0.5, 0.5),   /* smallest radius */
        params_with(20, 1.2, 5.0, 0.5),   /* radius 15: halo taller than small images */
        params_with(20, 1.2, 32.0, 0.5),  /* largest radius, far taller than the image */
        params_with(20, 1.2, 2.0, 2.0),   /* upscale */
        params_with(20, 1.2, 2.0, 0.37),  /* odd downscale */
        params_with(255, 4.0, 2.0, 0.5),  /* saturating point ops */
        params_with(-255, 0.0, 2.0, 0.5),
        params_with(-40, 0.3, 1.3, 16.0), /* largest scale */
    };
    img_params one = params_with(20, 1.2, 2.0, 0.5);
    one.out_width = 1;
    one.out_height = 1;
    img_params odd = params_with(20, 1.2, 2.0, 0.5);
    odd.out_width = 3;
    odd.out_height = 40;
    static const int threads[] = {1, 2, 3, 5};
    static const int bands[] = {0, 1, 4};
    static const int sizes[][2] = {{1, 1}, {7, 3}, {40, 23}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int ch = 1; ch <= 4; ch += 3) {
            int w = sizes[s][0], h = sizes[s][1];
            for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++)
                check_params(w, h, ch, &variants[v], threads, 4, bands, 3);
            check_params(w, h, ch, &one, threads, 4, bands, 3);
            check_params(w, h, ch, &odd, threads, 4, bands, 3);
        }
}

Test(threads_pipeline, every_stage_combination_matches_serial, .timeout = 600)
{
    static const int threads[] = {1, 2, 4};
    static const int bands[] = {0, 1, 5};
    for (int mask = 0; mask < 16; mask++) {
        img_params p = params_with(mask & 1 ? 20 : 0, mask & 2 ? 1.2 : 1.0, mask & 4 ? 2.0 : 0.0,
                                   mask & 8 ? 0.5 : 1.0);
        img_plan plan;
        make_plan(&plan, &p, 23, 17);
        cr_assert_eq(plan.enabled[IMG_STAGE_BRIGHTNESS], (mask & 1) != 0);
        cr_assert_eq(plan.enabled[IMG_STAGE_CONTRAST], (mask & 2) != 0);
        cr_assert_eq(plan.enabled[IMG_STAGE_BLUR], (mask & 4) != 0);
        cr_assert_eq(plan.enabled[IMG_STAGE_RESIZE], (mask & 8) != 0);
        img_plan_free(&plan);
        for (int ch = 1; ch <= 4; ch++) {
            check_params(23, 17, ch, &p, threads, 3, bands, 3);
            check_params(1, 9, ch, &p, threads, 3, bands, 3);
        }
    }
}

Test(threads_pipeline, more_threads_than_rows)
{
    static const int threads[] = {9, 16};
    static const int bands[] = {0, 1};
    img_params p = params_with(20, 1.2, 2.0, 0.5);
    img_params up = params_with(20, 1.2, 2.0, 2.0);
    check_params(13, 1, 3, &p, threads, 2, bands, 2);
    check_params(7, 3, 4, &p, threads, 2, bands, 2);
    check_params(7, 3, 1, &up, threads, 2, bands, 2);
    check_params(1, 1, 2, &up, threads, 2, bands, 2);
}

/* The scratch is reused: a second run on the same geometry allocates nothing, a
 * larger image grows it, a smaller one after that fits again; all stay exact. */
Test(threads_pipeline, warm_runs_reuse_scratch)
{
    img_params p = params_with(20, 1.2, 2.0, 0.5);
    static const int sizes[][2] = {{40, 30}, {40, 30}, {90, 70}, {33, 12}, {90, 70}};
    static const int expect_grow[] = {1, 0, 1, 0, 0};
    void *state = threads_init(3, 0, NULL);
    for (int i = 0; i < 5; i++) {
        img_image src, expected;
        img_plan plan;
        random_image(&src, sizes[i][0], sizes[i][1], 3, (uint64_t)i);
        make_plan(&plan, &p, sizes[i][0], sizes[i][1]);
        serial_pipeline(&expected, &src, &plan);
        expect_pipeline(state, &src, &plan, &expected, "warm run");
        img_threads_stats stats;
        cr_assert_eq(img_threads_last_stats(state, &stats), 0);
        if (expect_grow[i])
            cr_assert_gt(stats.scratch_grows, 0, "run %d should have grown the scratch", i);
        else
            cr_assert_eq(stats.scratch_grows, 0, "run %d allocated %d buffers", i,
                         stats.scratch_grows);
        img_image_free(&expected);
        img_plan_free(&plan);
        img_image_free(&src);
    }
    img_backend_threads.destroy(state);
}

Test(threads_pipeline, rejects_wrong_geometry)
{
    img_params p = params_with(20, 1.2, 2.0, 0.5);
    img_image src, out;
    img_plan plan;
    img_error err = {{0}};
    random_image(&src, 20, 10, 3, 1);
    make_plan(&plan, &p, 20, 10);
    cr_assert_eq(img_image_alloc(&out, 20, 10, 3, 0, &err), 0);   /* not the 10x5 output */
    void *state = threads_init(2, 0, NULL);
    cr_assert_eq(img_backend_threads.run_pipeline(state, &out, &src, &plan, &err), -1);
    cr_assert(strstr(err.message, "expected 10x5") != NULL, "message: %s", err.message);
    img_image_free(&out);
    cr_assert_eq(img_image_alloc(&out, 10, 5, 2, 0, &err), 0);    /* wrong channel count */
    cr_assert_eq(img_backend_threads.run_pipeline(state, &out, &src, &plan, &err), -1);
    img_backend_threads.destroy(state);
    img_image_free(&out);
    img_plan_free(&plan);
    img_image_free(&src);
}

/* ---- single stages ---- */

/* Returns 0 when the stage is neutral for this size (a 1x1 image at scale 0.5 stays
 * 1x1): run_stage is only called for enabled stages. */
static int check_stage(img_stage stage, int w, int h, int channels, const img_params *p,
                       int threads, int band)
{
    img_image src, expected, out;
    img_plan plan;
    img_error err = {{0}};
    make_plan(&plan, p, w, h);
    if (!plan.enabled[stage]) {
        img_plan_free(&plan);
        return 0;
    }
    random_image(&src, w, h, channels, 7);
    int ow = stage == IMG_STAGE_RESIZE ? plan.out_width : w;
    int oh = stage == IMG_STAGE_RESIZE ? plan.out_height : h;
    cr_assert_eq(img_image_alloc(&expected, ow, oh, channels, 0, &err), 0);
    cr_assert_eq(img_image_alloc(&out, ow, oh, channels, 0, &err), 0);
    cr_assert_eq(img_backend_serial.run_stage(NULL, stage, &expected, &src, &plan, &err), 0, "%s",
                 err.message);
    void *state = threads_init(threads, band, NULL);
    cr_assert_eq(img_backend_threads.run_stage(state, stage, &out, &src, &plan, &err), 0, "%s",
                 err.message);
    cr_assert(img_image_equal(&out, &expected), "stage %s %dx%dx%d threads=%d band=%d differs",
              img_stage_name(stage), w, h, channels, threads, band);
    img_backend_threads.destroy(state);
    img_image_free(&out);
    img_image_free(&expected);
    img_plan_free(&plan);
    img_image_free(&src);
    return 1;
}

Test(threads_stage, every_stage_matches_serial, .timeout = 600)
{
    static const int sizes[][2] = {{1, 1}, {1, 17}, {17, 1}, {7, 3}, {13, 1}, {50, 41}};
    static const int bands[] = {0, 1, 3};
    img_params variants[] = {
        params_with(20, 1.2, 2.0, 0.5),
        params_with(-70, 2.5, 5.0, 2.0),
        params_with(200, 0.1, 0.5, 0.37),
    };
    int nthreads = max_threads_to_test();
    int checked[IMG_STAGE_COUNT] = {0};
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++)
        for (int stage = 0; stage < IMG_STAGE_COUNT; stage++)
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
                for (int ch = 1; ch <= 4; ch++)
                    for (int t = 1; t <= nthreads; t++)
                        for (size_t b = 0; b < sizeof bands / sizeof bands[0]; b++)
                            checked[stage] += check_stage((img_stage)stage, sizes[s][0],
                                                          sizes[s][1], ch, &variants[v], t,
                                                          bands[b]);
    /* Only 1x1 at scale 0.5 is neutral: every other case of every stage ran. */
    int cases = 3 * 6 * 4 * nthreads * 3;
    for (int stage = 0; stage < IMG_STAGE_RESIZE; stage++)
        cr_assert_eq(checked[stage], cases, "%s", img_stage_name((img_stage)stage));
    cr_assert_eq(checked[IMG_STAGE_RESIZE], cases - 2 * 4 * nthreads * 3);
}

/* ---- visibility: statistics, breakdown, describe ---- */

Test(threads_stats, breakdown_and_stats_after_a_run)
{
    void *state = threads_init(2, 8, NULL);
    img_threads_stats stats;
    img_breakdown bd = {.count = -1};
    cr_assert_eq(img_threads_last_stats(state, &stats), -1, "no run yet");
    img_backend_threads.breakdown(state, &bd);
    cr_assert_eq(bd.count, 0);

    img_params p = params_with(20, 1.2, 2.0, 0.5);
    img_image src, expected;
    img_plan plan;
    random_image(&src, 64, 40, 3, 3);
    make_plan(&plan, &p, 64, 40);
    serial_pipeline(&expected, &src, &plan);
    /* The run's figures must lie between zero and what the test itself measures around
     * the run. The sleep is a voluntary switch just before that window, so counters
     * reported as totals since the start instead of deltas would exceed the window's. */
    usleep(1000);
    struct rusage ru0, ru1;
    struct timespec c0, c1, w0, w1;
    getrusage(RUSAGE_SELF, &ru0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    clock_gettime(CLOCK_MONOTONIC, &w0);
    expect_pipeline(state, &src, &plan, &expected, "stats run");
    clock_gettime(CLOCK_MONOTONIC, &w1);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    getrusage(RUSAGE_SELF, &ru1);
    const double outer_wall =
        (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) * 1e-9;
    const double outer_cpu =
        (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;

    cr_assert_eq(img_threads_last_stats(state, &stats), 0);
    cr_assert_gt(stats.wall_seconds, 0.0);
    cr_assert_leq(stats.wall_seconds, outer_wall + 1e-6);
    /* The run did work on this process's threads: the process CPU clock (ns) moved. */
    cr_assert_gt(stats.cpu_seconds, 0.0);
    cr_assert_leq(stats.cpu_seconds, outer_cpu + 1e-6);
    /* Whether a thread blocked or was preempted during so short a run is up to the
     * scheduler, so only the bounds are certain. */
    cr_assert_leq(stats.voluntary_switches, ru1.ru_nvcsw - ru0.ru_nvcsw);
    cr_assert_leq(stats.involuntary_switches, ru1.ru_nivcsw - ru0.ru_nivcsw);
    cr_assert_geq(stats.voluntary_switches, 0);
    cr_assert_geq(stats.involuntary_switches, 0);
    cr_assert_eq(stats.threads, 2);
    cr_assert_eq(stats.batches, 2, "blur, barrier, resize");
    cr_assert_eq(stats.band_rows, 8);
    /* 3 planes x 40/8 blur bands + 3 planes x ceil(20/8) resize bands. */
    cr_assert_eq(stats.tasks, 3 * 5 + 3 * 3);

    img_backend_threads.breakdown(state, &bd);
    cr_assert_eq(bd.count, 4);
    cr_assert_str_eq(bd.part[0].name, "wall");
    cr_assert_str_eq(bd.part[1].name, "cpu");
    cr_assert_str_eq(bd.part[2].name, "vcsw");
    cr_assert_str_eq(bd.part[3].name, "ivcsw");
    cr_assert_eq(bd.part[0].seconds, stats.wall_seconds);
    cr_assert_eq(bd.part[1].seconds, stats.cpu_seconds);
    cr_assert_eq(bd.part[2].seconds, (double)stats.voluntary_switches);
    cr_assert_eq(bd.part[3].seconds, (double)stats.involuntary_switches);

    img_backend_threads.destroy(state);
    img_image_free(&expected);
    img_plan_free(&plan);
    img_image_free(&src);
}

Test(threads_stats, single_batch_without_blur)
{
    void *state = threads_init(3, 4, NULL);
    img_params p = params_with(20, 1.2, 0.0, 0.5);
    img_image src, expected;
    img_plan plan;
    random_image(&src, 30, 16, 4, 3);
    make_plan(&plan, &p, 30, 16);
    serial_pipeline(&expected, &src, &plan);
    expect_pipeline(state, &src, &plan, &expected, "no blur");
    img_threads_stats stats;
    cr_assert_eq(img_threads_last_stats(state, &stats), 0);
    cr_assert_eq(stats.batches, 1, "point ops fuse into the resize: no barrier");
    cr_assert_eq(stats.tasks, 4 * 2);
    img_backend_threads.destroy(state);
    img_image_free(&expected);
    img_plan_free(&plan);
    img_image_free(&src);
}

Test(threads_stats, describe_names_threads_and_band)
{
    char buf[128];
    void *state = threads_init(4, 32, NULL);
    img_backend_threads.describe(state, buf, sizeof buf);
    cr_assert_str_eq(buf, "4 threads, band 32 rows");
    img_backend_threads.destroy(state);

    state = threads_init(1, 0, NULL);
    img_backend_threads.describe(state, buf, sizeof buf);
    cr_assert_str_eq(buf, "1 thread, band auto");
    img_params p = params_with(20, 1.2, 2.0, 0.5);
    img_image src, expected;
    img_plan plan;
    random_image(&src, 64, 64, 1, 3);
    make_plan(&plan, &p, 64, 64);
    serial_pipeline(&expected, &src, &plan);
    expect_pipeline(state, &src, &plan, &expected, "describe run");
    img_threads_stats stats;
    cr_assert_eq(img_threads_last_stats(state, &stats), 0);
    char want[64];
    snprintf(want, sizeof want, "1 thread, band %d rows (auto)", stats.band_rows);
    img_backend_threads.describe(state, buf, sizeof buf);
    cr_assert_str_eq(buf, want);
    /* One thread still gets several tasks per plane: the auto rule wants 4 per thread. */
    cr_assert_leq(stats.band_rows, 16);
    img_backend_threads.destroy(state);
    img_image_free(&expected);
    img_plan_free(&plan);
    img_image_free(&src);
}

Test(threads_stats, default_thread_count_is_online_cpus)
{
    img_threads_stats stats;
    void *state = threads_init(0, 0, NULL);
    img_params p = params_with(20, 1.2, 2.0, 0.5);
    img_image src, expected;
    img_plan plan;
    random_image(&src, 16, 16, 1, 3);
    make_plan(&plan, &p, 16, 16);
    serial_pipeline(&expected, &src, &plan);
    expect_pipeline(state, &src, &plan, &expected, "default threads");
    cr_assert_eq(img_threads_last_stats(state, &stats), 0);
    cr_assert_eq(stats.threads, (int)sysconf(_SC_NPROCESSORS_ONLN));
    cr_assert_eq(img_online_cpus(), (int)sysconf(_SC_NPROCESSORS_ONLN));
    img_backend_threads.destroy(state);
    img_image_free(&expected);
    img_plan_free(&plan);
    img_image_free(&src);
}

/* ---- lifetime ---- */

Test(threads_lifetime, init_rejects_bad_options)
{
    void *state = (void *)1;
    img_error err = {{0}};
    img_backend_options opt = {.threads = -1};
    cr_assert_eq(img_backend_threads.init(&state, &opt, &err), -1);
    cr_assert_null(state);
    cr_assert(strstr(err.message, "-1") != NULL, "message: %s", err.message);
    opt = (img_backend_options){.threads = IMG_POOL_MAX_THREADS + 1};
    cr_assert_eq(img_backend_threads.init(&state, &opt, &err), -1);
    cr_assert_null(state);
    opt = (img_backend_options){.threads = 2, .band_rows = -3};
    cr_assert_eq(img_backend_threads.init(&state, &opt, &err), -1);
    cr_assert(strstr(err.message, "-3") != NULL, "message: %s", err.message);
    cr_assert_null(state);
    img_backend_threads.destroy(NULL);   /* a failed init leaves NULL: must be fine */
}

Test(threads_lifetime, init_destroy_repeated)
{
    img_params p = params_with(20, 1.2, 2.0, 0.5);
    img_image src, expected;
    img_plan plan;
    random_image(&src, 19, 11, 2, 5);
    make_plan(&plan, &p, 19, 11);
    serial_pipeline(&expected, &src, &plan);
    for (int i = 0; i < 50; i++) {
        void *state = threads_init(1 + i % 4, i % 3, NULL);
        if (i % 2)   /* half of them never run: destroy must cope with cold state */
            expect_pipeline(state, &src, &plan, &expected, "repeated init");
        img_backend_threads.destroy(state);
    }
    img_image_free(&expected);
    img_plan_free(&plan);
    img_image_free(&src);
}

/* ---- the pool ---- */

typedef struct pool_check {
    atomic_int ran[256];
    atomic_int bad_worker;
    int threads;
} pool_check;

static void pool_check_task(void *arg, int index, int worker)
{
    pool_check *pc = arg;
    atomic_fetch_add(&pc->ran[index], 1);
    if (worker < 0 || worker >= pc->threads)
        atomic_fetch_add(&pc->bad_worker, 1);
}

static void run_checked_batch(img_pool *pool, int threads, int count)
{
    pool_check *pc = calloc(1, sizeof *pc);
    cr_assert_not_null(pc);
    pc->threads = threads;
    img_pool_run(pool, pool_check_task, pc, count);
    for (int i = 0; i < 256; i++)
        cr_assert_eq(atomic_load(&pc->ran[i]), i < count ? 1 : 0, "task %d of %d ran %d times", i,
                     count, atomic_load(&pc->ran[i]));
    cr_assert_eq(atomic_load(&pc->bad_worker), 0);
    free(pc);
}

Test(pool, start_stop_200_times, .timeout = 300)
{
    img_error err = {{0}};
    for (int i = 0; i < 200; i++) {
        int threads = 1 + i % 5;
        img_pool *pool = NULL;
        cr_assert_eq(img_pool_create(&pool, threads, &err), 0, "%s", err.message);
        cr_assert_eq(img_pool_threads(pool), threads);
        if (i % 2)   /* also stop a pool whose workers may not have started waiting yet */
            run_checked_batch(pool, threads, 1 + i % 64);
        img_pool_destroy(pool);
    }
    img_pool_destroy(NULL);
}

Test(pool, many_batches_each_task_once)
{
    img_error err = {{0}};
    img_pool *pool = NULL;
    cr_assert_eq(img_pool_create(&pool, 3, &err), 0, "%s", err.message);
    for (int i = 0; i < 500; i++)
        run_checked_batch(pool, 3, i % 257 == 256 ? 0 : i % 257);
    img_pool_destroy(pool);
}

Test(pool, rejects_bad_thread_counts)
{
    img_error err = {{0}};
    img_pool *pool = (img_pool *)1;
    cr_assert_eq(img_pool_create(&pool, 0, &err), -1);
    cr_assert_null(pool);
    cr_assert_eq(img_pool_create(&pool, IMG_POOL_MAX_THREADS + 1, &err), -1);
    cr_assert_null(pool);
}

/* ---- trace ---- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    cr_assert_not_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            cr_assert_not_null(buf);
        }
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int count_occurrences(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* A strict JSON syntax check (RFC 8259 grammar, no semantics), enough to know that
 * Perfetto's and chrome://tracing's parsers will accept the file. Returns the end of
 * the value, or NULL on a syntax error. */
static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!p[i] || !strchr("0123456789abcdefABCDEF", p[i]))
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
        p++;
    }
    return p + 1;
}

static const char *json_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return NULL;
    if (*p == '.') {
        if (!(*++p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

static const char *json_members(const char *p, int depth, char close, bool object)
{
    p = json_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (object) {
            if (!(p = json_string(p)))
                return NULL;
            p = json_ws(p);
            if (*p++ != ':')
                return NULL;
        }
        if (!(p = json_value(p, depth + 1)))
            return NULL;
        p = json_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
        p = json_ws(p);
    }
}

static const char *json_value(const char *p, int depth)
{
    if (depth > 64)
        return NULL;
    p = json_ws(p);
    switch (*p) {
    case '{':
        return json_members(p, depth, '}', true);
    case '[':
        return json_members(p, depth, ']', false);
    case '"':
        return json_string(p);
    case 't':
        return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f':
        return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n':
        return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default:
        return json_number(p);
    }
}

static bool json_valid(const char *text)
{
    const char *end = json_value(text, 0);
    return end && *json_ws(end) == '\0';
}

static int count_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* Runs a traced 64x40 RGB pipeline with 8-row bands and checks the file: one complete
 * event per task (3 x 5 blur bands + 3 x 3 resize bands), a name per worker. Returns
 * the file's text. */
static char *traced_run(const char *dir, int threads, int *tasks)
{
    char path[512];
    snprintf(path, sizeof path, "%s/run.json", dir);
    img_params p = params_with(20, 1.2, 2.0, 0.5);
    img_image src, expected;
    img_plan plan;
    random_image(&src, 64, 40, 3, 9);
    make_plan(&plan, &p, 64, 40);
    serial_pipeline(&expected, &src, &plan);
    void *state = threads_init(threads, 8, path);
    for (int run = 0; run < 2; run++) {   /* the second run replaces the first's file */
        expect_pipeline(state, &src, &plan, &expected, "traced run");
        /* The backend records; the caller writes (as run and bench do). */
        int tracks = 0;
        img_error err = {{0}};
        const char *const *names = NULL;
        const img_trace *trace = img_backend_threads.trace(state, &tracks, &names);
        cr_assert_null(names, "pool workers are named \"worker N\"");
        cr_assert_not_null(trace, "run %d was not traced", run);
        cr_assert_eq(tracks, threads);
        cr_assert_eq(img_trace_write(trace, path, tracks, &err), 0, "%s", err.message);
    }
    img_threads_stats stats;
    cr_assert_eq(img_threads_last_stats(state, &stats), 0);
    *tasks = stats.tasks;
    img_backend_threads.destroy(state);

    size_t len = 0;
    char *text = read_file(path, &len);
    cr_assert_not_null(text, "no trace at %s", path);
    cr_assert_gt(len, 0);
    cr_assert_eq(text[0], '{');
    cr_assert(json_valid(text), "the trace is not valid JSON");
    cr_assert(strstr(text, "\"traceEvents\"") != NULL);
    cr_assert_eq(count_occurrences(text, "\"ph\": \"X\""), 24);
    cr_assert_eq(count_occurrences(text, "\"cat\": \"point+blur\""), 15);
    cr_assert_eq(count_occurrences(text, "\"cat\": \"resize\""), 9);
    cr_assert_eq(count_occurrences(text, "\"name\": \"thread_name\""), threads);
    for (int t = 0; t < threads; t++) {
        char name[64];
        snprintf(name, sizeof name, "\"name\": \"worker %d\"", t);
        cr_assert(strstr(text, name) != NULL, "missing %s", name);
    }
    cr_assert(strstr(text, "\"name\": \"point+blur band 4\"") != NULL);
    cr_assert(strstr(text, "\"name\": \"resize band 2\"") != NULL);
    cr_assert(strstr(text, "\"dropped_events\": 0") != NULL);
    /* The temporary file was renamed, not left behind. */
    cr_assert_eq(count_dir_entries(dir), 1);

    img_image_free(&expected);
    img_plan_free(&plan);
    img_image_free(&src);
    return text;
}

static void remove_trace_dir(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/run.json", dir);
    unlink(path);
    rmdir(dir);
}

Test(trace, one_complete_event_per_task)
{
    char dir[] = "/tmp/imgpipe-trace-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    int tasks = 0;
    char *text = traced_run(dir, 3, &tasks);
    cr_assert_eq(tasks, 24);
    cr_assert_eq(count_occurrences(text, "\"ph\": \"X\""), tasks);
    /* Each event names its worker as the thread and a real CPU. */
    cr_assert_eq(count_occurrences(text, "\"pid\": 1, \"tid\": "),
                 tasks + 2 * 3 + 1, "events + 2 metadata per worker + process name");
    cr_assert_eq(count_occurrences(text, "\"cpu\": -1"), 0);
    free(text);
    remove_trace_dir(dir);
}

Test(trace, json_checker_rejects_broken_json)
{
    /* The validity check above must be able to fail. */
    cr_assert(json_valid("{\"a\": [1, 2.5, -3e2, \"x\\n\", true, null, {}]}"));
    static const char *bad[] = {"", "{", "{\"a\": 1,}", "[1 2]", "{\"a\" 1}", "[01]", "[1.]",
                                "\"\\q\"", "{} {}", "{'a': 1}", "[\"\t\"]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert(!json_valid(bad[i]), "accepted %s", bad[i]);
}

Test(trace, write_error_is_reported)
{
    const char *path = "/nonexistent-imgpipe-dir/trace.json";
    img_params p = params_with(20, 1.2, 2.0, 0.5);
    img_image src, out;
    img_plan plan;
    img_error err = {{0}};
    random_image(&src, 16, 8, 1, 9);
    make_plan(&plan, &p, 16, 8);
    alloc_output(&out, &plan, 1);
    void *state = threads_init(2, 0, path);
    cr_assert_eq(img_backend_threads.run_pipeline(state, &out, &src, &plan, &err), 0, "%s",
                 err.message);
    int tracks = 0;
    const char *const *names = NULL;
    const img_trace *trace = img_backend_threads.trace(state, &tracks, &names);
    cr_assert_not_null(trace);
    cr_assert_eq(img_trace_write(trace, path, tracks, &err), -1);
    cr_assert(strstr(err.message, path) != NULL, "message: %s", err.message);
    img_backend_threads.destroy(state);
    img_image_free(&out);
    img_plan_free(&plan);
    img_image_free(&src);
}

/* ---- affinity ---- */

Test(affinity, rejects_malformed_lists)
{
    static const char *bad[] = {"", "x", "0,", "1-0", "99999", ",0", "0-", "-1", "0 ", " 0",
                                "0,,1", "0-1-2", "1x", "+1", "0;1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        img_error err = {{0}};
        cr_assert_eq(img_set_cpus(bad[i], &err), -1, "\"%s\" was accepted", bad[i]);
        cr_assert_gt(strlen(err.message), 0);
        if (bad[i][0])   /* every non-empty list is quoted back */
            cr_assert(strstr(err.message, bad[i]) != NULL, "\"%s\": message %s", bad[i],
                      err.message);
    }
    img_error err = {{0}};
    cr_assert_eq(img_set_cpus(NULL, &err), -1);
    char offline[32];
    snprintf(offline, sizeof offline, "0-%d", CPU_SETSIZE - 1);
    cr_assert_eq(img_set_cpus(offline, &err), -1);
    cr_assert(strstr(err.message, "not online") != NULL, "message: %s", err.message);
}

Test(affinity, one_cpu_is_inherited_by_the_workers)
{
    cpu_set_t before, after;
    cr_assert_eq(sched_getaffinity(0, sizeof before, &before), 0);
    img_error err = {{0}};
    cr_assert_eq(img_set_cpus("0", &err), 0, "%s", err.message);
    cr_assert_eq(sched_getaffinity(0, sizeof after, &after), 0);
    cr_assert_eq(CPU_COUNT(&after), 1);
    cr_assert(CPU_ISSET(0, &after));

    /* Workers created now run only on CPU 0: every traced task says so. */
    char dir[] = "/tmp/imgpipe-trace-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    int tasks = 0;
    char *text = traced_run(dir, 2, &tasks);
    cr_assert_eq(count_occurrences(text, "\"cpu\": 0,"), tasks);
    free(text);
    remove_trace_dir(dir);

    char all[32];
    snprintf(all, sizeof all, "0-%d", img_online_cpus() - 1);
    cr_assert_eq(img_set_cpus(all, &err), 0, "%s", err.message);
    cr_assert_eq(sched_getaffinity(0, sizeof after, &after), 0);
    cr_assert_eq(CPU_COUNT(&after), img_online_cpus());
    cr_assert_eq(sched_setaffinity(0, sizeof before, &before), 0);
}

Test(affinity, accepts_lists_and_ranges)
{
    img_error err = {{0}};
    int n = img_online_cpus();
    cr_assert_geq(n, 1);
    char list[64];
    snprintf(list, sizeof list, "0,0-%d,%d", n - 1, n - 1);   /* overlaps are fine */
    cr_assert_eq(img_set_cpus(list, &err), 0, "%s", err.message);
    cpu_set_t set;
    cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
    cr_assert_eq(CPU_COUNT(&set), n);
}

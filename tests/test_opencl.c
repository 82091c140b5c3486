/* The opencl backend against serial, bit for bit, plus its failure paths: device
 * selection, kernel build errors, the program cache, a machine with no platform.
 *
 * These tests need an OpenCL platform (CI installs PoCL); without one they fail, they
 * never skip. Each Criterion test is its own process and every backend init costs a
 * program build or cache load, so each test makes one state and loops over its
 * cases. The whole run shares one temporary XDG_CACHE_HOME (set by the runner before
 * any test starts), so after the first build the others load from the cache, and
 * PoCL's own kernel cache lands there too instead of in the user's home. */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <ctype.h>
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cl_util.h"
#include "clock.h"
#include "image.h"
#include "opencl.h"
#include "registry.h"
#include "spec.h"
#include "test_helpers.h"

extern const img_backend img_backend_serial;

#define GUARD 0xa5

static char run_cache_dir[64];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    snprintf(run_cache_dir, sizeof run_cache_dir, "/tmp/imgpipe-test-opencl-XXXXXX");
    if (mkdtemp(run_cache_dir))
        setenv("XDG_CACHE_HOME", run_cache_dir, 1);
    else
        run_cache_dir[0] = '\0';
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    if (run_cache_dir[0])
        remove_tree(run_cache_dir);
}

static uint32_t next_random(uint32_t *s)
{
    /* xorshift32: deterministic data, so a failure reproduces. */
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void random_image(img_image *img, int w, int h, int channels, uint32_t seed)
{
    img_error err;
    cr_assert_eq(img_image_alloc(img, w, h, channels, 0, &err), 0, "%s", err.message);
    uint32_t s = seed * 2654435761u + 1;
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                img_row(img, c, y)[x] = (uint8_t)(next_random(&s) >> 24);
}

/* An output image whose padding (and slack row) holds GUARD, to catch writes past
 * the end of a row. */
static void guarded_image(img_image *img, int w, int h, int channels)
{
    img_error err;
    cr_assert_eq(img_image_alloc(img, w, h, channels, 0, &err), 0, "%s", err.message);
    size_t bytes = (size_t)img->stride[0] * (size_t)h * (size_t)channels + IMG_ROW_ALIGN;
    memset(img->storage, GUARD, bytes);
}

static void expect_guards(const img_image *img, const char *what)
{
    for (int c = 0; c < img->channels; c++)
        for (int y = 0; y < img->height; y++)
            for (ptrdiff_t x = img->width; x < img->stride[c]; x++)
                cr_assert_eq(img_row(img, c, y)[x], GUARD,
                             "%s: wrote padding at plane %d row %d byte %td", what, c, y, x);
}

static void expect_same(const img_image *got, const img_image *want, const char *what)
{
    cr_assert_eq(got->width, want->width, "%s: width", what);
    cr_assert_eq(got->height, want->height, "%s: height", what);
    if (img_image_equal(got, want))
        return;
    for (int c = 0; c < want->channels; c++)
        for (int y = 0; y < want->height; y++)
            for (int x = 0; x < want->width; x++) {
                int g = img_row(got, c, y)[x], w = img_row(want, c, y)[x];
                cr_assert_eq(g, w, "%s: plane %d (%d, %d) is %d, serial says %d", what, c, x, y,
                             g, w);
            }
}

static void *make_state(const img_backend_options *options)
{
    void *state = NULL;
    img_error err = {{0}};
    cr_assert_eq(img_backend_opencl.init(&state, options, &err), 0, "opencl init: %s",
                 err.message);
    return state;
}

typedef struct case_params {
    int brightness;
    double contrast;
    double sigma;
    double scale;
    int out_w, out_h;
} case_params;

static img_params to_params(const case_params *c)
{
    img_params p = img_params_default();
    p.brightness = c->brightness;
    p.contrast = c->contrast;
    p.sigma = c->sigma;
    p.scale = c->scale;
    p.out_width = c->out_w;
    p.out_height = c->out_h;
    return p;
}

/* Sizes with every edge case the kernels have: single pixels, single rows and
 * columns, widths around and off work-group multiples, a blur radius (96 at sigma
 * 32) larger than the image. */
static const int sizes[][2] = {{1, 1},  {1, 23}, {23, 1}, {7, 3},    {17, 5},
                               {63, 4}, {65, 9}, {257, 3}, {130, 70}};
static const case_params params[] = {
    {20, 1.2, 0.5, 0.5, 0, 0},  {-60, 0.5, 2.0, 2.0, 0, 0}, {255, 3.0, 7.0, 0.37, 0, 0},
    {-255, 4.0, 32.0, 1.0, 1, 1}, {1, 0.0, 2.0, 1.0, 0, 0},
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Runs one stage on both backends and compares; `in` is the stage's input. */
static void check_stage(void *state, img_stage stage, const img_image *in, const img_plan *plan,
                        const char *label)
{
    int ow = stage == IMG_STAGE_RESIZE ? plan->out_width : in->width;
    int oh = stage == IMG_STAGE_RESIZE ? plan->out_height : in->height;
    img_image want, got;
    img_error err = {{0}};
    guarded_image(&want, ow, oh, in->channels);
    guarded_image(&got, ow, oh, in->channels);
    cr_assert_eq(img_backend_serial.run_stage(NULL, stage, &want, in, plan, &err), 0, "%s",
                 err.message);
    cr_assert_eq(img_backend_opencl.run_stage(state, stage, &got, in, plan, &err), 0,
                 "%s: %s", label, err.message);
    char what[160];
    snprintf(what, sizeof what, "%s, %s", label, img_stage_name(stage));
    expect_same(&got, &want, what);
    expect_guards(&got, what);
    img_image_free(&want);
    img_image_free(&got);
}

Test(opencl, error_names)
{
    cr_assert_str_eq(img_cl_error_name(-54), "CL_INVALID_WORK_GROUP_SIZE");
    cr_assert_str_eq(img_cl_error_name(CL_SUCCESS), "CL_SUCCESS");
    cr_assert_str_eq(img_cl_error_name(-11), "CL_BUILD_PROGRAM_FAILURE");
    cr_assert_str_eq(img_cl_error_name(-68), "CL_INVALID_DEVICE_PARTITION_COUNT");
    cr_assert_str_eq(img_cl_error_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
    cr_assert_str_eq(img_cl_error_name(-12345), "CL_UNKNOWN_ERROR");
    /* Every code from 0 to -68 that OpenCL 1.2 defines has its own name. */
    for (int code = 0; code >= -68; code--)
        if (code > -20 || code <= -30)
            cr_assert_str_neq(img_cl_error_name(code), "CL_UNKNOWN_ERROR", "code %d", code);

    img_error err;
    cr_assert_eq(img_cl_check(CL_SUCCESS, "clFinish", &err), 0);
    cr_assert_eq(img_cl_check(-54, "clEnqueueNDRangeKernel(blur_h)", &err), -1);
    cr_assert_str_eq(err.message, "clEnqueueNDRangeKernel(blur_h): CL_INVALID_WORK_GROUP_SIZE");
    img_cl_check(-4242, "clFoo", &err);
    cr_assert_str_eq(err.message, "clFoo: unknown OpenCL error -4242");
}

Test(opencl, registered_and_probed)
{
    cr_assert_eq(img_backend_find("opencl"), &img_backend_opencl);
    char reason[256] = "";
    cr_assert(img_backend_opencl.probe(reason, sizeof reason),
              "an OpenCL platform is required for these tests: %s", reason);
}

Test(opencl, stages_match_serial, .timeout = 600)
{
    void *state = make_state(NULL);
    for (size_t s = 0; s < COUNT(sizes); s++)
        for (int channels = 1; channels <= 4; channels++)
            for (size_t p = 0; p < COUNT(params); p++) {
                int w = sizes[s][0], h = sizes[s][1];
                img_params ip = to_params(&params[p]);
                img_plan plan;
                img_error err;
                cr_assert_eq(img_plan_init(&plan, &ip, w, h, 0, &err), 0, "%s", err.message);
                img_image src;
                random_image(&src, w, h, channels, (uint32_t)(s * 100 + p * 10 + channels));
                char label[96];
                snprintf(label, sizeof label, "%dx%dx%d, params %zu", w, h, channels, p);
                for (int st = 0; st < IMG_STAGE_COUNT; st++)
                    if (plan.enabled[st])
                        check_stage(state, (img_stage)st, &src, &plan, label);
                img_image_free(&src);
                img_plan_free(&plan);
            }
    img_backend_opencl.destroy(state);
}

/* The whole pipeline, including plans with stages disabled: point only, blur only,
 * resize only, nothing at all. */
Test(opencl, pipeline_matches_serial, .timeout = 600)
{
    static const case_params more[] = {
        {0, 1.0, 2.0, 1.0, 0, 0},  {30, 1.0, 0.0, 1.0, 0, 0}, {0, 1.0, 0.0, 0.37, 0, 0},
        {-9, 2.0, 0.0, 2.0, 0, 0}, {0, 1.0, 0.0, 1.0, 0, 0},  {20, 1.2, 2.0, 0.5, 0, 0},
    };
    static const int psizes[][2] = {{1, 1}, {7, 3}, {65, 9}, {257, 31}, {640, 360}};
    void *state = make_state(NULL);
    for (size_t s = 0; s < COUNT(psizes); s++)
        for (size_t p = 0; p < COUNT(params) + COUNT(more); p++) {
            int w = psizes[s][0], h = psizes[s][1], channels = 1 + (int)((s + p) % 4);
            const case_params *cp = p < COUNT(params) ? &params[p] : &more[p - COUNT(params)];
            img_params ip = to_params(cp);
            img_plan plan;
            img_error err;
            cr_assert_eq(img_plan_init(&plan, &ip, w, h, 0, &err), 0, "%s", err.message);
            img_image src, want, got;
            random_image(&src, w, h, channels, (uint32_t)(s * 31 + p));
            guarded_image(&want, plan.out_width, plan.out_height, channels);
            guarded_image(&got, plan.out_width, plan.out_height, channels);
            cr_assert_eq(img_backend_serial.run_pipeline(NULL, &want, &src, &plan, &err), 0);
            cr_assert_eq(img_backend_opencl.run_pipeline(state, &got, &src, &plan, &err), 0,
                         "%s", err.message);
            char what[96];
            snprintf(what, sizeof what, "pipeline %dx%dx%d, case %zu", w, h, channels, p);
            expect_same(&got, &want, what);
            expect_guards(&got, what);
            img_image_free(&src);
            img_image_free(&want);
            img_image_free(&got);
            img_plan_free(&plan);
        }

    /* The last run had every stage: the breakdown names all its parts. */
    img_breakdown b;
    img_backend_opencl.breakdown(state, &b);
    const char *expected[] = {"upload",   "kernel", "download", "build",    "streamed",
                              "serialized", "ideal", "k_point_hblur", "k_vblur", "k_resize"};
    cr_assert_eq(b.count, (int)COUNT(expected));
    for (size_t i = 0; i < COUNT(expected); i++) {
        cr_assert_str_eq(b.part[i].name, expected[i]);
        cr_assert_geq(b.part[i].seconds, 0.0);
    }
    cr_assert_gt(b.part[1].seconds, 0.0, "kernel time comes from profiling events");
    /* serialized is the parts one after another, ideal the busiest of them. */
    cr_assert_float_eq(b.part[5].seconds, b.part[0].seconds + b.part[1].seconds + b.part[2].seconds,
                       1e-12);
    double busiest = b.part[0].seconds > b.part[1].seconds ? b.part[0].seconds : b.part[1].seconds;
    busiest = b.part[2].seconds > busiest ? b.part[2].seconds : busiest;
    cr_assert_float_eq(b.part[6].seconds, busiest, 1e-12);
    cr_assert_gt(b.part[4].seconds, 0.0, "streamed: the run's own wall time");
    char desc[256];
    img_backend_opencl.describe(state, desc, sizeof desc);
    cr_assert(strstr(desc, ", wg ") && strstr(desc, "cache "), "describe: %s", desc);
    img_backend_opencl.destroy(state);
}

/* Buffers grow for a bigger image and are reused for a smaller one; neither may
 * leak data from the previous run into the next. */
Test(opencl, buffers_reused_across_sizes, .timeout = 300)
{
    static const int runs[][3] = {{1000, 700, 3}, {13, 7, 4}, {1000, 700, 3},
                                  {31, 1100, 1}, {1, 1, 2},  {1000, 700, 4}};
    void *state = make_state(NULL);
    img_params ip = img_params_default();
    for (size_t r = 0; r < COUNT(runs); r++) {
        int w = runs[r][0], h = runs[r][1], channels = runs[r][2];
        img_plan plan;
        img_error err;
        cr_assert_eq(img_plan_init(&plan, &ip, w, h, 0, &err), 0, "%s", err.message);
        img_image src, want, got;
        random_image(&src, w, h, channels, (uint32_t)r + 7);
        guarded_image(&want, plan.out_width, plan.out_height, channels);
        guarded_image(&got, plan.out_width, plan.out_height, channels);
        cr_assert_eq(img_backend_serial.run_pipeline(NULL, &want, &src, &plan, &err), 0);
        cr_assert_eq(img_backend_opencl.run_pipeline(state, &got, &src, &plan, &err), 0, "%s",
                     err.message);
        char what[64];
        snprintf(what, sizeof what, "run %zu: %dx%dx%d", r, w, h, channels);
        expect_same(&got, &want, what);
        expect_guards(&got, what);
        /* Stage by stage on the same state too. */
        check_stage(state, IMG_STAGE_BLUR, &src, &plan, what);
        img_image_free(&src);
        img_image_free(&want);
        img_image_free(&got);
        img_plan_free(&plan);
    }
    img_backend_opencl.destroy(state);
}

Test(opencl, geometry_mismatch_is_an_error)
{
    void *state = make_state(NULL);
    img_params ip = img_params_default();
    img_plan plan;
    img_error err;
    cr_assert_eq(img_plan_init(&plan, &ip, 40, 30, 0, &err), 0);
    img_image src, dst;
    random_image(&src, 40, 30, 3, 1);
    guarded_image(&dst, 21, 15, 3);   /* the plan says 20x15 */
    cr_assert_eq(img_backend_opencl.run_pipeline(state, &dst, &src, &plan, &err), -1);
    cr_assert(strstr(err.message, "expected 20x15x3"), "%s", err.message);
    img_image_free(&src);
    img_image_free(&dst);
    img_plan_free(&plan);
    img_backend_opencl.destroy(state);
}

Test(opencl, autotune_stays_exact, .timeout = 600)
{
    img_backend_options options = {.autotune = true};
    void *state = make_state(&options);
    img_params ip = img_params_default();
    for (int r = 0; r < 2; r++) {
        int w = r ? 97 : 320, h = r ? 41 : 200;
        img_plan plan;
        img_error err;
        cr_assert_eq(img_plan_init(&plan, &ip, w, h, 0, &err), 0);
        img_image src, want, got;
        random_image(&src, w, h, 3, 99 + (uint32_t)r);
        guarded_image(&want, plan.out_width, plan.out_height, 3);
        guarded_image(&got, plan.out_width, plan.out_height, 3);
        cr_assert_eq(img_backend_serial.run_pipeline(NULL, &want, &src, &plan, &err), 0);
        cr_assert_eq(img_backend_opencl.run_pipeline(state, &got, &src, &plan, &err), 0, "%s",
                     err.message);
        expect_same(&got, &want, r ? "after tuning" : "while tuning");
        img_image_free(&src);
        img_image_free(&want);
        img_image_free(&got);
        img_plan_free(&plan);
    }
    char desc[512];
    img_backend_opencl.describe(state, desc, sizeof desc);
    cr_assert(strstr(desc, "(tuned)"), "describe: %s", desc);
    img_backend_opencl.destroy(state);

    /* The choice was saved beside the cached program; the next state starts tuned. */
    state = make_state(&options);
    img_backend_opencl.describe(state, desc, sizeof desc);
    cr_assert(strstr(desc, "vblur") && strstr(desc, "(tuned)"), "describe: %s", desc);
    img_backend_opencl.destroy(state);
}

Test(opencl, device_selection)
{
    img_cl_device *devs = NULL;
    int count = 0;
    img_error err = {{0}};
    cr_assert_eq(img_cl_list_devices(&devs, &count, &err), 0, "%s", err.message);
    cr_assert_gt(count, 0);

    img_cl_device d;
    cr_assert_eq(img_cl_select_device("0", &d, &err), 0, "%s", err.message);
    cr_assert_eq(d.device, devs[0].device);
    cr_assert_eq(img_cl_select_device(NULL, &d, &err), 0, "%s", err.message);

    /* A name substring matches whatever the case. */
    char name[256], upper[256];
    img_cl_device_string(devs[0].device, CL_DEVICE_NAME, name, sizeof name);
    size_t len = strlen(name);
    cr_assert_gt(len, 0);
    for (size_t i = 0; i <= len; i++)
        upper[i] = (char)toupper((unsigned char)name[i]);
    upper[len > 6 ? 6 : len] = '\0';
    cr_assert_eq(img_cl_select_device(upper, &d, &err), 0, "%s", err.message);
    cr_assert_eq(d.device, devs[0].device);

    bool has_cpu = false;
    for (int i = 0; i < count; i++) {
        cl_device_type type = 0;
        clGetDeviceInfo(devs[i].device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
        has_cpu |= (type & CL_DEVICE_TYPE_CPU) != 0;
    }
    cr_assert_eq(img_cl_select_device("cpu", &d, &err) == 0, has_cpu, "%s", err.message);

    cr_assert_eq(img_cl_select_device("99999", &d, &err), -1);
    cr_assert(strstr(err.message, "no OpenCL device matches '99999'"), "%s", err.message);
    free(devs);

    /* Through the backend: a name that matches nothing fails init and lists devices. */
    img_backend_options options = {.device = "no-such-device"};
    void *state = (void *)&options;
    cr_assert_eq(img_backend_opencl.init(&state, &options, &err), -1);
    cr_assert_null(state);
    cr_assert(strstr(err.message, "no OpenCL device matches 'no-such-device'"), "%s",
              err.message);
    cr_assert(strstr(err.message, "devices: 0: "), "%s", err.message);

    char *text = NULL;
    size_t text_len = 0;
    FILE *out = open_memstream(&text, &text_len);
    cr_assert_eq(img_cl_print_devices(out, &err), 0, "%s", err.message);
    fclose(out);
    cr_assert(strstr(text, "device 0: ") && strstr(text, "max work-group size"), "%s", text);
    free(text);
}

Test(opencl, build_failure_shows_the_log)
{
    char dir[] = "/tmp/imgpipe-test-kernels-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/pipeline.cl", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("__kernel void point_lut(__global uchar *p)\n{\n    p[0] = undeclared_thing;\n}\n", f);
    fclose(f);
    setenv("IMGPIPE_KERNEL_DIR", dir, 1);

    img_backend_options options = {.no_cache = true};
    void *state = NULL;
    img_error err = {{0}};
    int rc = img_backend_opencl.init(&state, &options, &err);

    char *text = NULL;
    size_t text_len = 0;
    FILE *log = open_memstream(&text, &text_len);
    img_error log_err = {{0}};
    int log_rc = img_opencl_build_log(&options, log, &log_err);
    fclose(log);

    unsetenv("IMGPIPE_KERNEL_DIR");
    remove(path);
    rmdir(dir);

    cr_assert_eq(rc, -1);
    cr_assert_null(state);
    cr_assert(strstr(err.message, "CL_BUILD_PROGRAM_FAILURE"), "%s", err.message);
    cr_assert(strstr(err.message, "error"), "%s", err.message);
    /* The #line directive makes the log point into the file that was loaded. */
    cr_assert(strstr(err.message, "pipeline.cl:3"), "%s", err.message);
    cr_assert_eq(log_rc, -1);
    cr_assert(strstr(text, "undeclared_thing"), "full log: %s", text);
    free(text);
}

static int count_bins(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        n += len > 4 && strcmp(e->d_name + len - 4, ".bin") == 0;
    }
    closedir(d);
    return n;
}

Test(opencl, program_cache_miss_then_hit, .timeout = 300)
{
    char dir[] = "/tmp/imgpipe-test-cache-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    setenv("XDG_CACHE_HOME", dir, 1);
    char bins[128];
    snprintf(bins, sizeof bins, "%s/imgpipe", dir);

    char desc[256];
    void *state = make_state(NULL);
    cr_assert_not(img_opencl_cache_hit(state));
    img_backend_opencl.describe(state, desc, sizeof desc);
    cr_assert(strstr(desc, "cache miss"), "%s", desc);
    img_backend_opencl.destroy(state);
    cr_assert_eq(count_bins(bins), 1, "the first init writes one binary");

    state = make_state(NULL);
    bool hit = img_opencl_cache_hit(state);
    img_backend_opencl.describe(state, desc, sizeof desc);
    /* The cached program must run, and right. */
    img_params ip = img_params_default();
    img_plan plan;
    img_error err;
    cr_assert_eq(img_plan_init(&plan, &ip, 50, 20, 0, &err), 0);
    img_image src, want, got;
    random_image(&src, 50, 20, 2, 5);
    guarded_image(&want, plan.out_width, plan.out_height, 2);
    guarded_image(&got, plan.out_width, plan.out_height, 2);
    cr_assert_eq(img_backend_serial.run_pipeline(NULL, &want, &src, &plan, &err), 0);
    int rc = img_backend_opencl.run_pipeline(state, &got, &src, &plan, &err);
    img_backend_opencl.destroy(state);

    /* no_cache neither reads nor writes. */
    img_backend_options options = {.no_cache = true};
    state = make_state(&options);
    cr_assert_not(img_opencl_cache_hit(state));
    char off[256];
    img_backend_opencl.describe(state, off, sizeof off);
    img_backend_opencl.destroy(state);
    int after = count_bins(bins);
    remove_tree(dir);

    cr_assert(hit, "the second init loads the cached binary");
    cr_assert(strstr(desc, "cache hit"), "%s", desc);
    cr_assert_eq(rc, 0, "%s", err.message);
    expect_same(&got, &want, "from the cached program");
    cr_assert(strstr(off, "cache off"), "%s", off);
    cr_assert_eq(after, 1);
    img_image_free(&src);
    img_image_free(&want);
    img_image_free(&got);
    img_plan_free(&plan);
}

/* With the loader pointed at an empty vendor list there is no platform: probe says
 * so and init fails naming the OpenCL error, with no fallback. */
Test(opencl, no_platform_is_an_error)
{
    /* Read by the ICD loader on its first call, which in this process is below. */
    setenv("OCL_ICD_VENDORS", "/nonexistent", 1);
    char reason[256] = "";
    cr_assert_not(img_backend_opencl.probe(reason, sizeof reason));
    cr_assert(strstr(reason, "no OpenCL platform found"), "%s", reason);
    void *state = NULL;
    img_error err = {{0}};
    cr_assert_eq(img_backend_opencl.init(&state, NULL, &err), -1);
    cr_assert_null(state);
    cr_assert(strstr(err.message, "no OpenCL platform found"), "%s", err.message);
    cr_assert(strstr(err.message, "CL_PLATFORM_NOT_FOUND_KHR"), "%s", err.message);
}

/* PoCL's compiler prints "1 error generated." on the process's stderr by itself; the
 * user must still see exactly one line, with the compiler's words inside it. */
Test(opencl, build_failure_is_one_line_on_stderr)
{
    char dir[] = "/tmp/imgpipe-test-kernels-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[128], env_dir[200];
    snprintf(path, sizeof path, "%s/pipeline.cl", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("__kernel void point_lut(__global uchar *p)\n{\n    p[0] = undeclared_thing;\n}\n", f);
    fclose(f);
    snprintf(env_dir, sizeof env_dir, "IMGPIPE_KERNEL_DIR=%s", dir);
    const char *env[] = {env_dir, NULL};
    test_result r;
    test_run_binary(&r, env, (const char *[]){"run", "--backend", "opencl", "--no-cache",
                                              "--size", "16x8", "--output",
                                              "/tmp/imgpipe-never.png", NULL});
    remove(path);
    rmdir(dir);
    cr_assert_eq(r.status, 1, "%s", r.err);
    int lines = 0;
    for (const char *p = r.err; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, 1, "stderr: %s", r.err);
    static const char start[] = "imgpipe: clBuildProgram: CL_BUILD_PROGRAM_FAILURE";
    cr_assert(strncmp(r.err, start, sizeof start - 1) == 0, "%s", r.err);
    cr_assert(strstr(r.err, "undeclared_thing") != NULL, "%s", r.err);
}

/* The first --autotune tries several shapes (seconds on PoCL): it is announced, timed
 * on its own line, and not reported as the pipeline's time. */
Test(opencl, autotune_is_announced_and_timed_apart, .timeout = 180)
{
    char cache[] = "/tmp/imgpipe-test-tune-XXXXXX";
    cr_assert_not_null(mkdtemp(cache));
    char env_cache[200];
    snprintf(env_cache, sizeof env_cache, "XDG_CACHE_HOME=%s", cache);
    const char *env[] = {env_cache, NULL};
    test_result r;
    test_run_binary(&r, env, (const char *[]){"run", "--backend", "opencl", "--autotune",
                                              "--size", "64x48", "--output",
                                              "/tmp/imgpipe-test-tune.png", NULL});
    char command[300];
    snprintf(command, sizeof command, "rm -rf '%s' /tmp/imgpipe-test-tune.png", cache);
    cr_assert_eq(system(command), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strncmp(r.err, "autotune: trying", 16) == 0, "%s", r.err);
    const char *timed = strstr(r.err, "\nautotune: ");
    cr_assert_not_null(timed, "%s", r.err);
    double tune_s = atof(timed + 11);
    const char *in = strstr(r.err, " in ");
    cr_assert(in && in > timed, "%s", r.err);
    double run_ms = atof(in + 4);
    cr_assert_gt(tune_s, 0.0, "%s", r.err);
    cr_assert_lt(run_ms, tune_s * 1e3, "the tuning time was reported as the run's: %s", r.err);
}

/* ---- streaming: bands of rows through three queues (issue 14) ---- */

static void *make_streaming_state(int bands, int pinned, size_t alloc_limit, const char *trace)
{
    img_backend_options o = {.bands = bands, .pinned = pinned, .alloc_limit = alloc_limit,
                             .trace_path = trace};
    return make_state(&o);
}

/* One pipeline run on both backends, compared bit for bit (padding included). */
static void expect_pipeline_exact(void *state, int w, int h, int channels, const img_params *ip,
                                  uint32_t seed, const char *label)
{
    img_plan plan;
    img_error err = {{0}};
    cr_assert_eq(img_plan_init(&plan, ip, w, h, 0, &err), 0, "%s", err.message);
    img_image src, want, got;
    random_image(&src, w, h, channels, seed);
    guarded_image(&want, plan.out_width, plan.out_height, channels);
    guarded_image(&got, plan.out_width, plan.out_height, channels);
    cr_assert_eq(img_backend_serial.run_pipeline(NULL, &want, &src, &plan, &err), 0);
    cr_assert_eq(img_backend_opencl.run_pipeline(state, &got, &src, &plan, &err), 0, "%s: %s",
                 label, err.message);
    expect_same(&got, &want, label);
    expect_guards(&got, label);
    img_image_free(&src);
    img_image_free(&want);
    img_image_free(&got);
    img_plan_free(&plan);
}

/* 1, 2, 3 and 7 bands, through pinned staging and straight from the image: odd sizes
 * (fewer output rows than bands too), every channel count, sigma up to 32 (a halo
 * taller than the band and than the image), down- and upscaling, every stage alone
 * and all together. Every band count must give serial's bytes. */
Test(opencl_stream, bands_match_serial, .timeout = 900)
{
    static const int band_counts[] = {1, 2, 3, 7};
    static const int sizes_[][2] = {{1, 1}, {5, 3}, {97, 31}, {333, 211}, {130, 70}};
    static const case_params cases[] = {
        {20, 1.2, 2.0, 0.5, 0, 0},   {-60, 0.5, 32.0, 1.0, 0, 0}, {0, 1.0, 7.0, 2.0, 0, 0},
        {30, 1.0, 0.0, 1.0, 0, 0},   {0, 1.0, 0.0, 0.37, 0, 0},   {0, 1.0, 0.5, 1.0, 0, 0},
        {9, 1.5, 32.0, 1.0, 41, 201}, {0, 1.0, 3.0, 1.0, 300, 5},
    };
    for (size_t b = 0; b < COUNT(band_counts); b++)
        for (int pinned = IMG_PINNED_ON; pinned <= IMG_PINNED_OFF; pinned++) {
            void *state = make_streaming_state(band_counts[b], pinned, 0, NULL);
            for (size_t z = 0; z < COUNT(sizes_); z++)
                for (size_t c = 0; c < COUNT(cases); c++) {
                    int w = sizes_[z][0], h = sizes_[z][1];
                    int channels = 1 + (int)((z + c + b) % 4);
                    img_params ip = to_params(&cases[c]);
                    char label[128];
                    snprintf(label, sizeof label, "%d bands, pinned %s, %dx%dx%d, case %zu",
                             band_counts[b], pinned == IMG_PINNED_ON ? "on" : "off", w, h,
                             channels, c);
                    expect_pipeline_exact(state, w, h, channels, &ip,
                                          (uint32_t)(z * 131 + c * 7 + b), label);
                }
            /* Each stage alone goes through the same bands. */
            img_params ip = to_params(&params[2]);
            img_plan plan;
            img_error err;
            cr_assert_eq(img_plan_init(&plan, &ip, 130, 70, 0, &err), 0, "%s", err.message);
            for (int channels = 1; channels <= 4; channels++) {
                img_image src;
                random_image(&src, 130, 70, channels, (uint32_t)(channels + 40 * b));
                char label[64];
                snprintf(label, sizeof label, "%d bands, %d channels", band_counts[b], channels);
                for (int st = 0; st < IMG_STAGE_COUNT; st++)
                    if (plan.enabled[st])
                        check_stage(state, (img_stage)st, &src, &plan, label);
                img_image_free(&src);
            }
            img_plan_free(&plan);
            char desc[256];
            img_backend_opencl.describe(state, desc, sizeof desc);
            cr_assert(strstr(desc, pinned == IMG_PINNED_ON ? "pinned staging" : "direct transfers"),
                      "describe: %s", desc);
            img_backend_opencl.destroy(state);
        }
}

/* An image whose buffers exceed the device's largest allocation goes through in
 * bands instead of failing (the limit is lowered here to force it); a forced band
 * count that does not fit, or an image too wide for even one row a band, is a clear
 * error. */
Test(opencl_stream, larger_than_one_allocation_goes_band_by_band, .timeout = 300)
{
    const size_t limit = 64 * 1024;   /* the blur intermediate alone is 2 x 4 x 300 x 250 */
    void *state = make_streaming_state(0, IMG_PINNED_AUTO, limit, NULL);
    img_params ip = img_params_default();
    expect_pipeline_exact(state, 300, 250, 4, &ip, 5, "alloc limit 64 KiB");
    char desc[256];
    img_backend_opencl.describe(state, desc, sizeof desc);
    int bands = 0;
    const char *at = strstr(desc, " band");
    cr_assert_not_null(at, "describe: %s", desc);
    while (at > desc && at[-1] >= '0' && at[-1] <= '9')
        at--;
    bands = atoi(at);
    /* 300 x 4 planes x 2 bytes = 2400 bytes per intermediate row: at most 27 rows. */
    cr_assert_geq(bands, 4, "describe: %s", desc);
    img_backend_opencl.destroy(state);

    state = make_streaming_state(1, IMG_PINNED_AUTO, limit, NULL);
    img_plan plan;
    img_error err = {{0}};
    cr_assert_eq(img_plan_init(&plan, &ip, 300, 250, 0, &err), 0, "%s", err.message);
    img_image src, got;
    random_image(&src, 300, 250, 4, 6);
    guarded_image(&got, plan.out_width, plan.out_height, 4);
    cr_assert_eq(img_backend_opencl.run_pipeline(state, &got, &src, &plan, &err), -1);
    cr_assert(strstr(err.message, "with 1 band a band needs") && strstr(err.message, "largest allocation"),
              "message: %s", err.message);
    img_image_free(&src);
    img_image_free(&got);
    img_plan_free(&plan);
    img_backend_opencl.destroy(state);

    /* One row of a 9000-pixel-wide RGBA intermediate with a sigma-2 halo (13 rows) is
     * 936 KB: over a 64 KiB limit whatever the banding. */
    state = make_streaming_state(0, IMG_PINNED_AUTO, limit, NULL);
    cr_assert_eq(img_plan_init(&plan, &ip, 9000, 20, 0, &err), 0, "%s", err.message);
    random_image(&src, 9000, 20, 4, 7);
    guarded_image(&got, plan.out_width, plan.out_height, 4);
    cr_assert_eq(img_backend_opencl.run_pipeline(state, &got, &src, &plan, &err), -1);
    cr_assert(strstr(err.message, "even one output row per band"), "message: %s", err.message);
    img_image_free(&src);
    img_image_free(&got);
    img_plan_free(&plan);
    img_backend_opencl.destroy(state);
}

/* --trace for opencl: a row per queue (and one for the staging copies), every band's
 * upload, kernels and download on their rows, each band's steps in order on the host
 * clock. */
Test(opencl_stream, trace_has_a_row_per_queue_and_every_band, .timeout = 300)
{
    for (int pinned = IMG_PINNED_ON; pinned <= IMG_PINNED_OFF; pinned++) {
        void *state = make_streaming_state(5, pinned, 0, "unused.json");
        int tracks = 0;
        const char *const *names = NULL;
        cr_assert_null(img_backend_opencl.trace(state, &tracks, &names), "no run yet");
        img_params ip = img_params_default();
        const int64_t before = img_now_ns();
        expect_pipeline_exact(state, 257, 131, 3, &ip, 11, "traced");
        const int64_t after = img_now_ns();
        const img_trace *trace = img_backend_opencl.trace(state, &tracks, &names);
        cr_assert_not_null(trace);
        cr_assert_eq(tracks, pinned == IMG_PINNED_ON ? 4 : 3);
        cr_assert_str_eq(names[0], "upload queue");
        cr_assert_str_eq(names[1], "kernel queue");
        cr_assert_str_eq(names[2], "download queue");
        if (pinned == IMG_PINNED_ON)
            cr_assert_str_eq(names[3], "host: staging copies");
        cr_assert_eq(img_trace_dropped(trace), 0);
        int64_t up_end[5] = {0}, k_start[5], k_end[5] = {0}, down_start[5];
        int uploads[5] = {0}, kernels[5] = {0}, downloads[5] = {0}, packs = 0, unpacks = 0;
        for (int k = 0; k < 5; k++)
            k_start[k] = down_start[k] = INT64_MAX;
        size_t n = img_trace_count(trace);
        for (size_t i = 0; i < n; i++) {
            const img_trace_event *e = &trace->events[i];
            cr_assert_leq(e->start_ns, e->end_ns);
            /* Device times land on the host clock: within the run (with a little slack
             * for the first command's enqueue). */
            cr_assert_geq(e->start_ns, before - 1000000, "%s band %d", e->stage, e->band);
            cr_assert_leq(e->end_ns, after + 1000000, "%s band %d", e->stage, e->band);
            if (strcmp(e->stage, "tables") == 0) {
                cr_assert_eq(e->worker, 0);
                continue;
            }
            cr_assert(e->band >= 0 && e->band < 5, "%s band %d", e->stage, e->band);
            int b = e->band;
            if (strcmp(e->stage, "upload") == 0) {
                cr_assert_eq(e->worker, 0);
                uploads[b]++;
                up_end[b] = e->end_ns > up_end[b] ? e->end_ns : up_end[b];
            } else if (strcmp(e->stage, "download") == 0) {
                cr_assert_eq(e->worker, 2);
                downloads[b]++;
                down_start[b] = e->start_ns < down_start[b] ? e->start_ns : down_start[b];
            } else if (strcmp(e->stage, "pack") == 0 || strcmp(e->stage, "unpack") == 0) {
                cr_assert_eq(e->worker, 3);
                packs += e->stage[0] == 'p';
                unpacks += e->stage[0] == 'u';
            } else {
                cr_assert_eq(e->worker, 1, "%s", e->stage);
                kernels[b]++;
                k_start[b] = e->start_ns < k_start[b] ? e->start_ns : k_start[b];
                k_end[b] = e->end_ns > k_end[b] ? e->end_ns : k_end[b];
            }
        }
        for (int b = 0; b < 5; b++) {
            /* Pinned: one copy of the packed band each way; else a rectangle per plane. */
            cr_assert_eq(uploads[b], pinned == IMG_PINNED_ON ? 1 : 3, "band %d", b);
            cr_assert_eq(downloads[b], pinned == IMG_PINNED_ON ? 1 : 3, "band %d", b);
            cr_assert_eq(kernels[b], 3, "band %d: point_hblur, vblur, resize", b);
            cr_assert_leq(up_end[b], k_start[b], "band %d computed before its upload ended", b);
            cr_assert_leq(k_end[b], down_start[b], "band %d downloaded before it was computed", b);
        }
        cr_assert_eq(packs, pinned == IMG_PINNED_ON ? 5 : 0);
        cr_assert_eq(unpacks, pinned == IMG_PINNED_ON ? 5 : 0);
        img_backend_opencl.destroy(state);
    }
}

/* The command line: --bands and --pinned reach the backend (run writes serial's bytes
 * whatever they say; --trace writes the queues' timeline), bad values are one-line
 * usage errors before any work. */
Test(opencl_stream, cli_bands_pinned_and_trace, .timeout = 300)
{
    char dir[] = "/tmp/imgpipe-test-stream-cl-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char want[128], got[128], trace[128];
    snprintf(want, sizeof want, "%s/serial.ppm", dir);
    snprintf(got, sizeof got, "%s/opencl.ppm", dir);
    snprintf(trace, sizeof trace, "%s/t.json", dir);
    test_result r;
    test_run_binary(&r, NULL, (const char *[]){"run", "--size", "321x123", "--sigma", "5",
                                              "--scale", "0.7", "--output", want, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    static char a[400000], b[400000];
    test_read_file(want, a, sizeof a);
    test_run_binary(&r, NULL,
                    (const char *[]){"run", "--backend", "opencl", "--bands", "4", "--pinned",
                                     "on", "--trace", trace, "--size", "321x123", "--sigma", "5",
                                     "--scale", "0.7", "--output", got, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.err, "4 bands (forced), pinned staging"), "%s", r.err);
    test_read_file(got, b, sizeof b);
    cr_assert(strlen(a) > 0 && memcmp(a, b, sizeof a) == 0, "opencl's file differs from serial's");
    static char json[1 << 20];
    test_read_file(trace, json, sizeof json);
    cr_assert(strstr(json, "\"upload queue\"") && strstr(json, "\"kernel queue\"") &&
                  strstr(json, "\"download queue\"") && strstr(json, "\"vblur band 3\""),
              "trace: %.300s", json);
    remove(want);
    remove(got);
    remove(trace);

    test_run_binary(&r, NULL, (const char *[]){"run", "--backend", "opencl", "--pinned", "maybe",
                                              "--size", "16x8", "--output", got, NULL});
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(strstr(r.err, "--pinned: 'maybe' is not on, off or auto"), "%s", r.err);
    test_run_binary(&r, NULL, (const char *[]){"run", "--backend", "opencl", "--bands", "0",
                                              "--size", "16x8", "--output", got, NULL});
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(strstr(r.err, "--bands"), "%s", r.err);
    cr_assert_eq(access(got, F_OK), -1, "a refused run wrote its output");
    rmdir(dir);
}

/* The device's bandwidths, for bench's transfer floor: measured, positive, and over a
 * transfer that fits the device's largest allocation. */
Test(opencl_stream, device_bandwidth_is_measured, .timeout = 120)
{
    void *state = make_streaming_state(0, IMG_PINNED_AUTO, (size_t)16 << 20, NULL);
    img_device_bandwidth bw;
    img_error err = {{0}};
    cr_assert_not_null(img_backend_opencl.device_bandwidth);
    cr_assert_eq(img_backend_opencl.device_bandwidth(state, &bw, &err), 0, "%s", err.message);
    cr_assert_eq(bw.bytes, (size_t)16 << 20, "capped at the (lowered) largest allocation");
    cr_assert_gt(bw.device_copy_gbs, 0.0);
    cr_assert_gt(bw.upload_gbs, 0.0);
    cr_assert_gt(bw.download_gbs, 0.0);
    /* The state still runs exactly afterwards. */
    img_params ip = img_params_default();
    expect_pipeline_exact(state, 97, 31, 3, &ip, 3, "after the bandwidth test");
    img_backend_opencl.destroy(state);
}

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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cl_util.h"
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
    const char *expected[] = {"upload", "kernel", "download", "build",
                              "k_point_hblur", "k_vblur", "k_resize"};
    cr_assert_eq(b.count, (int)COUNT(expected));
    for (size_t i = 0; i < COUNT(expected); i++) {
        cr_assert_str_eq(b.part[i].name, expected[i]);
        cr_assert_geq(b.part[i].seconds, 0.0);
    }
    cr_assert_gt(b.part[1].seconds, 0.0, "kernel time comes from profiling events");
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

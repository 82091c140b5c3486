/* checkasm-style tests of the SIMD stage functions and the simd / simd-threads
 * backends, against the serial reference.
 *
 * Every level this CPU runs (portable always) is tested through its img_simd_funcs
 * table on deterministic pseudo-random data: widths 1 .. 3 vectors + 1, heights 1..9,
 * source rows with random padding, destination rows fenced by guard bytes that must
 * survive. The backends are then run end to end on whole images for many parameter
 * sets, thread counts and band sizes. Blur goes up to sigma 32 (radius 96, the
 * largest), on images both wider and smaller than the radius. Random inputs mix in the
 * run's seed (IMGPIPE_TEST_SEED, printed on stderr; see test_helpers.h).
 *
 * A level this CPU cannot run is reported on stderr ("skipped: avx512icl needs
 * avx512vnni"), never dropped silently. The same file is also built as
 * test_simd_portable with SIMDE_NO_NATIVE, no -m flags and IMGPIPE_SIMD_EMULATED:
 * every level runs through SIMDe's portable C, so all five run on any x86 CPU. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cpu_features.h"
#include "funcs.h"
#include "image.h"
#include "serial.h"
#include "spec.h"
#include "test_helpers.h"

extern const img_backend img_backend_serial;
extern const img_backend img_backend_simd;
extern const img_backend img_backend_simd_threads;

#define GUARD 64
#define GUARD_BYTE 0xA5
#define MAX_H 9

/* ------------------------------------------------------------------------------ */

static uint32_t rng_state;

static void rng_seed(uint32_t seed)
{
    rng_state = test_mix_seed(seed) * 2654435761u + 1;
}

static uint32_t rng(void)
{
    /* xorshift32: deterministic, no libc dependence. */
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static int align_up(int v, int a)
{
    return (v + a - 1) / a * a;
}

/* A destination of h rows of w elements of elem bytes, each row fenced by GUARD bytes
 * of GUARD_BYTE before and after (its padding included), plus GUARD after the last. */
typedef struct guarded {
    uint8_t *mem;
    size_t size;
    uint8_t *base;
    ptrdiff_t stride;    /* bytes */
    int w, h, elem;
} guarded;

static void guarded_alloc(guarded *g, int w, int h, int elem)
{
    g->w = w;
    g->h = h;
    g->elem = elem;
    g->stride = GUARD + align_up(w * elem, 64) + GUARD;
    g->size = (size_t)g->stride * (size_t)h + GUARD;
    g->mem = malloc(g->size);
    cr_assert_not_null(g->mem);
    memset(g->mem, GUARD_BYTE, g->size);
    g->base = g->mem + GUARD;
}

static uint8_t *grow(const guarded *g, int y)
{
    return g->base + (ptrdiff_t)y * g->stride;
}

/* True when every byte outside the rows' [0, w) is still the guard. */
static bool guards_intact(const guarded *g)
{
    for (size_t i = 0; i < g->size; i++) {
        ptrdiff_t off = (ptrdiff_t)i - GUARD;
        bool inside = off >= 0 && off / g->stride < g->h && off % g->stride < g->w * g->elem;
        if (!inside && g->mem[i] != GUARD_BYTE)
            return false;
    }
    return true;
}

static void guarded_free(guarded *g)
{
    free(g->mem);
    g->mem = NULL;
}

/* A source plane with random contents, padding included, and a stride of the
 * aligned width plus 0..2 extra lines. */
typedef struct source {
    uint8_t *mem;
    ptrdiff_t stride;
} source;

static void source_alloc(source *s, int w, int h)
{
    s->stride = align_up(w, 64) + 64 * (ptrdiff_t)(rng() % 3);
    size_t size = (size_t)s->stride * (size_t)h;
    s->mem = malloc(size);
    cr_assert_not_null(s->mem);
    for (size_t i = 0; i < size; i++)
        s->mem[i] = (uint8_t)(rng() >> 24);
}

/* Whether this CPU runs level l; says on stderr what it lacks when not, so a missing
 * level shows in the log instead of passing unnoticed. */
static bool level_runs(int l, unsigned cpu)
{
    if (img_simd_level_supported((img_simd_level)l, cpu))
        return true;
    fprintf(stderr, "skipped: %s needs %s\n", img_simd_level_name((img_simd_level)l),
            img_simd_level_needs((img_simd_level)l, cpu));
    return false;
}

/* Levels to test: every one this build has and this CPU runs. */
static int supported_levels(img_simd_funcs *funcs, img_simd_level *levels)
{
    unsigned cpu = img_cpu_features();
    int n = 0;
    for (int l = 0; l < IMG_SIMD_LEVEL_COUNT; l++) {
        if (!level_runs(l, cpu))
            continue;
        cr_assert(img_simd_get_funcs((img_simd_level)l, &funcs[n]), "level %d not built", l);
        levels[n++] = (img_simd_level)l;
    }
    cr_assert(n >= 1);
    return n;
}

static void plan_or_die(img_plan *plan, const img_params *p, int w, int h)
{
    img_error err;
    cr_assert_eq(img_plan_init(plan, p, w, h, 0, &err), 0, "plan %dx%d: %s", w, h, err.message);
}

static void kernel_or_die(img_simd_kernel *k, const img_plan *plan, bool b, bool c, bool blur,
                          bool resize)
{
    img_error err;
    bool stages[IMG_STAGE_COUNT] = {b, c, blur, resize};
    cr_assert_eq(img_simd_kernel_prepare(k, plan, stages, &err), 0, "%s", err.message);
}

static img_params neutral_params(void)
{
    img_params p = img_params_default();
    p.brightness = 0;
    p.contrast = 1.0;
    p.sigma = 0.0;
    p.scale = 1.0;
    return p;
}

/* ------------------------------------------------------------------------------
 * Stage functions.
 * ------------------------------------------------------------------------------ */

/* The serial point stages over one plane (brightness then contrast when on). */
static void serial_point(uint8_t *dst, ptrdiff_t dst_stride, const uint8_t *src,
                         ptrdiff_t src_stride, int w, int h, const img_plan *plan, bool b,
                         bool c)
{
    img_serial_brightness_plane(dst, dst_stride, src, src_stride, w, h, b ? plan->brightness : 0);
    if (c)
        img_serial_contrast_plane(dst, dst_stride, dst, dst_stride, w, h, plan->contrast_q8);
}

static const struct {
    int brightness;
    double contrast;
    bool b, c;
} point_cases[] = {
    {20, 1.2, true, true},   {20, 1.0, true, false},  {0, 1.2, false, true},
    {-255, 1.0, true, false}, {255, 1.0, true, false}, {-37, 0.31, true, true},
    {90, 4.0, true, true},   {0, 0.0, false, true},   {-128, 2.5, true, true},
};

Test(simd_stages, point_rows)
{
    img_simd_funcs funcs[IMG_SIMD_LEVEL_COUNT];
    img_simd_level levels[IMG_SIMD_LEVEL_COUNT];
    int nl = supported_levels(funcs, levels);
    img_simd_kernel k = {0};
    rng_seed(1);
    for (int l = 0; l < nl; l++) {
        const int maxw = 3 * funcs[l].vector_bytes + 1;
        for (size_t pc = 0; pc < sizeof point_cases / sizeof point_cases[0]; pc++) {
            img_params p = neutral_params();
            p.brightness = point_cases[pc].brightness;
            p.contrast = point_cases[pc].contrast;
            for (int w = 1; w <= maxw; w++) {
                for (int h = 1; h <= MAX_H; h += (pc == 0 ? 1 : 4)) {
                    img_plan plan;
                    plan_or_die(&plan, &p, w, h);
                    kernel_or_die(&k, &plan, point_cases[pc].b, point_cases[pc].c, false, false);
                    source s;
                    source_alloc(&s, w, h);
                    guarded got, want;
                    guarded_alloc(&got, w, h, 1);
                    guarded_alloc(&want, w, h, 1);
                    funcs[l].point_rows(got.base, got.stride, s.mem, s.stride, w, h, &k);
                    serial_point(want.base, want.stride, s.mem, s.stride, w, h, &plan,
                                 point_cases[pc].b, point_cases[pc].c);
                    for (int y = 0; y < h; y++)
                        cr_assert(memcmp(grow(&got, y), grow(&want, y), (size_t)w) == 0,
                                  "%s point case %zu %dx%d row %d differs", funcs[l].name, pc, w,
                                  h, y);
                    cr_assert(guards_intact(&got), "%s point %dx%d wrote outside its rows",
                              funcs[l].name, w, h);
                    guarded_free(&got);
                    guarded_free(&want);
                    free(s.mem);
                    img_plan_free(&plan);
                }
            }
        }
    }
    img_simd_kernel_free(&k);
}

/* Every input value under many brightness/contrast settings, against the plan's own
 * tables (which define the point stages exactly like the serial formulas). */
Test(simd_stages, point_all_values)
{
    img_simd_funcs funcs[IMG_SIMD_LEVEL_COUNT];
    img_simd_level levels[IMG_SIMD_LEVEL_COUNT];
    int nl = supported_levels(funcs, levels);
    img_simd_kernel k = {0};
    uint8_t src[256 + 64], dst[256];
    for (int i = 0; i < 256 + 64; i++)
        src[i] = (uint8_t)i;
    static const double contrasts[] = {0.0, 0.003, 0.3, 0.99, 1.0, 1.004, 1.2, 2.0, 3.7, 4.0};
    for (int l = 0; l < nl; l++)
        for (int b = -255; b <= 255; b += 15)
            for (size_t ci = 0; ci < sizeof contrasts / sizeof contrasts[0]; ci++) {
                img_params p = neutral_params();
                p.brightness = b;
                p.contrast = contrasts[ci];
                img_plan plan;
                plan_or_die(&plan, &p, 256, 1);
                kernel_or_die(&k, &plan, b != 0, plan.enabled[IMG_STAGE_CONTRAST], false, false);
                funcs[l].point_rows(dst, 256, src, 256, 256, 1, &k);
                for (int i = 0; i < 256; i++)
                    cr_assert_eq(dst[i], plan.point_lut[i], "%s b %d c %g: %d -> %d, want %d",
                                 funcs[l].name, b, contrasts[ci], i, dst[i], plan.point_lut[i]);
                img_plan_free(&plan);
            }
    img_simd_kernel_free(&k);
}

/* Up to sigma 32: radius 96, the largest, wider than every image of the stage tests. */
static const double sigmas[] = {0.5, 2.0, 7.0, 32.0};

/* Makes the plan's weights asymmetric but still valid (non-negative, sum 16384) so
 * the vertical pass's non-symmetric path runs too. */
static void skew_weights(img_plan *plan)
{
    int r = plan->blur_radius;
    int32_t move = plan->blur_weights[r] / 5;
    plan->blur_weights[r] -= move;
    plan->blur_weights[r + 1] += move;
}


Test(simd_stages, blur_h_rows, .timeout = 120)
{
    img_simd_funcs funcs[IMG_SIMD_LEVEL_COUNT];
    img_simd_level levels[IMG_SIMD_LEVEL_COUNT];
    int nl = supported_levels(funcs, levels);
    img_simd_kernel k = {0};
    img_simd_scratch scr = {0};
    img_error err;
    rng_seed(2);
    for (int l = 0; l < nl; l++) {
        const int maxw = 3 * funcs[l].vector_bytes + 1;
        for (size_t si = 0; si < sizeof sigmas / sizeof sigmas[0]; si++)
            for (int mode = 0; mode < 3; mode++)
                for (int w = 1; w <= maxw; w++) {
                    /* mode 1: point stages folded in; mode 2: asymmetric weights */
                    const bool point = mode == 1, skew = mode == 2;
                    const int h = 1 + (w % 3);
                    img_params p = neutral_params();
                    p.sigma = sigmas[si];
                    p.brightness = point ? -30 : 0;
                    p.contrast = point ? 1.7 : 1.0;
                    img_plan plan;
                    plan_or_die(&plan, &p, w, h);
                    if (skew)
                        skew_weights(&plan);
                    kernel_or_die(&k, &plan, point, point, true, false);
                    cr_assert_eq(k.symmetric, !skew);
                    cr_assert_eq(img_simd_scratch_reserve(&scr, w, k.radius, &err), 0);
                    source s;
                    source_alloc(&s, w, h);
                    guarded got;
                    guarded_alloc(&got, w, h, 2);
                    funcs[l].blur_h_rows((int16_t *)got.base, got.stride / 2, s.mem, s.stride, w,
                                         h, point, &k, &scr);
                    /* The reference: serial point stages, then the serial h pass. */
                    uint8_t *pt = malloc((size_t)w * (size_t)h);
                    int16_t *want = malloc(sizeof(int16_t) * (size_t)w * (size_t)h);
                    serial_point(pt, w, s.mem, s.stride, w, h, &plan, point, point);
                    img_serial_blur_h_rows(want, w, pt, w, w, 0, h, plan.blur_weights,
                                           plan.blur_radius);
                    for (int y = 0; y < h; y++)
                        for (int x = 0; x < w; x++) {
                            int16_t g;
                            memcpy(&g, grow(&got, y) + 2 * x, sizeof g);
                            cr_assert_eq(g + IMG_SIMD_H_BIAS, want[y * w + x],
                                         "%s blur_h sigma %g mode %d w %d (%d,%d): %d want %d",
                                         funcs[l].name, sigmas[si], mode, w, x, y,
                                         g + IMG_SIMD_H_BIAS, want[y * w + x]);
                        }
                    cr_assert(guards_intact(&got), "%s blur_h w %d wrote outside its rows",
                              funcs[l].name, w);
                    free(pt);
                    free(want);
                    guarded_free(&got);
                    free(s.mem);
                    img_plan_free(&plan);
                }
    }
    img_simd_scratch_free(&scr);
    img_simd_kernel_free(&k);
}

Test(simd_stages, blur_v_rows, .timeout = 120)
{
    img_simd_funcs funcs[IMG_SIMD_LEVEL_COUNT];
    img_simd_level levels[IMG_SIMD_LEVEL_COUNT];
    int nl = supported_levels(funcs, levels);
    img_simd_kernel k = {0};
    rng_seed(3);
    for (int l = 0; l < nl; l++) {
        const int maxw = 3 * funcs[l].vector_bytes + 1;
        for (size_t si = 0; si < sizeof sigmas / sizeof sigmas[0]; si++)
            for (int skew = 0; skew <= 1; skew++)
                for (int w = 1; w <= maxw; w++)
                    for (int h = 1; h <= MAX_H; h += (w % 4 == 0 ? 1 : 4)) {
                        img_params p = neutral_params();
                        p.sigma = sigmas[si];
                        img_plan plan;
                        plan_or_die(&plan, &p, w, h);
                        if (skew)
                            skew_weights(&plan);
                        kernel_or_die(&k, &plan, false, false, true, false);
                        cr_assert_eq(k.symmetric, !skew);
                        const int r = k.radius;
                        /* Horizontal rows in the serial range, rows padded so the
                         * kernel may read up to the aligned width. */
                        const int hs = align_up(w, 64);
                        int16_t *hrow = malloc(sizeof(int16_t) * (size_t)hs * (size_t)h);
                        int16_t *href = malloc(sizeof(int16_t) * (size_t)w * (size_t)h);
                        for (int i = 0; i < hs * h; i++)
                            hrow[i] = (int16_t)(rng() % 32641) - IMG_SIMD_H_BIAS;
                        for (int y = 0; y < h; y++)
                            for (int x = 0; x < w; x++)
                                href[y * w + x] = (int16_t)(hrow[y * hs + x] + IMG_SIMD_H_BIAS);
                        /* The biggest extreme: all rows at the maximum somewhere. */
                        if (w > 2)
                            for (int y = 0; y < h; y++) {
                                hrow[y * hs + 1] = 32640 - IMG_SIMD_H_BIAS;
                                href[y * w + 1] = 32640;
                            }
                        const int16_t **rows = malloc(sizeof *rows * (size_t)(h + 2 * r));
                        uint8_t **dst = malloc(sizeof *dst * (size_t)h);
                        for (int i = 0; i < h + 2 * r; i++) {
                            int y = i - r < 0 ? 0 : i - r >= h ? h - 1 : i - r;
                            rows[i] = hrow + y * hs;
                        }
                        guarded got, want;
                        guarded_alloc(&got, w, h, 1);
                        guarded_alloc(&want, w, h, 1);
                        for (int y = 0; y < h; y++)
                            dst[y] = grow(&got, y);
                        /* Rows in calls of 1..h at a time, as the strip batches them. */
                        for (int y = 0, n = 1; y < h; y += n, n = n % 4 + 1) {
                            int m = y + n > h ? h - y : n;
                            funcs[l].blur_v_rows(dst + y, m, rows + y, w, &k);
                        }
                        img_serial_blur_v_rows(want.base, want.stride, href, w, w, h, 0, h,
                                               plan.blur_weights, r);
                        for (int y = 0; y < h; y++)
                            cr_assert(memcmp(grow(&got, y), grow(&want, y), (size_t)w) == 0,
                                      "%s blur_v sigma %g skew %d %dx%d row %d differs",
                                      funcs[l].name, sigmas[si], skew, w, h, y);
                        cr_assert(guards_intact(&got), "%s blur_v %dx%d wrote outside its rows",
                                  funcs[l].name, w, h);
                        guarded_free(&got);
                        guarded_free(&want);
                        free(rows);
                        free(dst);
                        free(hrow);
                        free(href);
                        img_plan_free(&plan);
                    }
    }
    img_simd_kernel_free(&k);
}

/* Output sizes for a w x h input: scale 0.5, 2, 0.37, 1x1 and 13x7. */
static void resize_case(int c, int w, int h, img_params *p)
{
    *p = neutral_params();
    switch (c) {
    case 0: p->scale = 0.5; break;
    case 1: p->scale = 2.0; break;
    case 2: p->scale = 0.37; break;
    case 3: p->out_width = 1; p->out_height = 1; break;
    default: p->out_width = 13; p->out_height = 7; break;
    }
    (void)w;
    (void)h;
}

Test(simd_stages, resize_rows, .timeout = 120)
{
    img_simd_funcs funcs[IMG_SIMD_LEVEL_COUNT];
    img_simd_level levels[IMG_SIMD_LEVEL_COUNT];
    int nl = supported_levels(funcs, levels);
    img_simd_kernel k = {0};
    img_simd_scratch scr = {0};
    img_error err;
    rng_seed(4);
    int half_seen = 0, general_seen = 0, window_seen = 0, gather_seen = 0;
    for (int l = 0; l < nl; l++) {
        const int maxw = 3 * funcs[l].vector_bytes + 1;
        for (int c = 0; c < 5; c++)
            for (int w = 1; w <= maxw; w++)
                for (int h = 1; h <= MAX_H; h += (w % 5 == 0 ? 1 : 3)) {
                    img_params p;
                    resize_case(c, w, h, &p);
                    img_plan plan;
                    plan_or_die(&plan, &p, w, h);
                    if (!plan.enabled[IMG_STAGE_RESIZE]) {
                        img_plan_free(&plan);
                        continue;
                    }
                    kernel_or_die(&k, &plan, false, false, false, true);
                    half_seen += k.x_half;
                    general_seen += !k.x_half;
                    for (int b = 0; b < (plan.out_width + 15) / 16; b++) {
                        window_seen += k.x_win16[b] >= 0;
                        gather_seen += k.x_win16[b] < 0;
                    }
                    cr_assert_eq(img_simd_scratch_reserve(&scr, w, 0, &err), 0);
                    const int ow = plan.out_width, oh = plan.out_height;
                    source s;
                    source_alloc(&s, w, h);
                    guarded got, want;
                    guarded_alloc(&got, ow, oh, 1);
                    guarded_alloc(&want, ow, oh, 1);
                    /* Two calls: rows [0, oh/2) and [oh/2, oh). */
                    funcs[l].resize_rows(got.base, got.stride, s.mem, s.stride, 0, oh / 2, &k,
                                         &scr);
                    funcs[l].resize_rows(got.base, got.stride, s.mem, s.stride, oh / 2, oh, &k,
                                         &scr);
                    img_serial_resize_rows(want.base, want.stride, s.mem, s.stride, &plan, 0, oh);
                    for (int y = 0; y < oh; y++)
                        cr_assert(memcmp(grow(&got, y), grow(&want, y), (size_t)ow) == 0,
                                  "%s resize case %d %dx%d -> %dx%d row %d differs",
                                  funcs[l].name, c, w, h, ow, oh, y);
                    cr_assert(guards_intact(&got), "%s resize %dx%d wrote outside its rows",
                              funcs[l].name, w, h);
                    guarded_free(&got);
                    guarded_free(&want);
                    free(s.mem);
                    img_plan_free(&plan);
                }
    }
    cr_assert(half_seen > 0 && general_seen > 0 && window_seen > 0 && gather_seen > 0,
              "every resize path must be covered");
    img_simd_scratch_free(&scr);
    img_simd_kernel_free(&k);
}

/* ------------------------------------------------------------------------------
 * Backends end to end.
 * ------------------------------------------------------------------------------ */

static void fill_image(img_image *img, uint32_t seed)
{
    rng_seed(seed);
    /* Smooth ramps plus noise and a few saturated blocks: exercises clamps. */
    for (int c = 0; c < img->channels; c++)
        for (int y = 0; y < img->height; y++) {
            uint8_t *row = img_row(img, c, y);
            for (int x = 0; x < img->width; x++) {
                uint32_t v = (uint32_t)(x * 7 + y * 3 + c * 50) + (rng() >> 27);
                if (((x / 16) + (y / 16)) % 7 == 0)
                    v = (x / 16) % 2 ? 255 : 0;
                row[x] = (uint8_t)v;
            }
        }
}

/* Runs be on src -> a fresh dst (all bytes preset to the guard, padding included)
 * and checks the padding survived. stage < 0 means the whole pipeline. */
static void run_backend(const img_backend *be, void *state, int stage, const img_image *src,
                        const img_plan *plan, img_image *dst, const char *what)
{
    img_error err;
    bool resize = stage < 0 ? plan->enabled[IMG_STAGE_RESIZE] : stage == IMG_STAGE_RESIZE;
    int ow = resize ? plan->out_width : src->width, oh = resize ? plan->out_height : src->height;
    cr_assert_eq(img_image_alloc(dst, ow, oh, src->channels, 0, &err), 0);
    memset(dst->storage, GUARD_BYTE, (size_t)dst->stride[0] * (size_t)oh * (size_t)src->channels);
    int rc = stage < 0 ? be->run_pipeline(state, dst, src, plan, &err)
                       : be->run_stage(state, (img_stage)stage, dst, src, plan, &err);
    cr_assert_eq(rc, 0, "%s: %s", what, err.message);
    for (int c = 0; c < dst->channels; c++)
        for (int y = 0; y < oh; y++) {
            const uint8_t *row = img_row(dst, c, y);
            for (ptrdiff_t x = ow; x < dst->stride[c]; x++)
                cr_assert_eq(row[x], GUARD_BYTE, "%s wrote row padding (plane %d row %d x %td)",
                             what, c, y, x);
        }
}

typedef struct variant {
    const char *name;
    img_params p;
} variant;

static int make_variants(variant *v)
{
    int n = 0;
    img_params d = img_params_default(), z = neutral_params();
    v[n++] = (variant){"defaults", d};
    v[n] = (variant){"brightness only", z};
    v[n++].p.brightness = 20;
    v[n] = (variant){"contrast only", z};
    v[n++].p.contrast = 1.2;
    v[n] = (variant){"blur only", z};
    v[n++].p.sigma = 2.0;
    v[n] = (variant){"resize only", z};
    v[n++].p.scale = 0.5;
    v[n] = (variant){"nothing", z};
    n++;
    v[n] = (variant){"scale 2", d};
    v[n++].p.scale = 2.0;
    v[n] = (variant){"scale 0.37", d};
    v[n++].p.scale = 0.37;
    v[n] = (variant){"to 1x1", d};
    v[n].p.out_width = 1;
    v[n++].p.out_height = 1;
    v[n] = (variant){"to 13x7 sigma 7", d};
    v[n].p.out_width = 13;
    v[n].p.out_height = 7;
    v[n++].p.sigma = 7.0;
    v[n] = (variant){"sigma 0.5 dark", d};
    v[n].p.sigma = 0.5;
    v[n].p.brightness = -200;
    v[n++].p.contrast = 3.0;
    v[n] = (variant){"blur + resize no point", z};
    v[n].p.sigma = 1.3;
    v[n++].p.scale = 0.61;
    /* Radius 96: more than every dimension of the small sizes below, so every row
     * reads only replicated borders; the blur-only one writes dst directly. */
    v[n] = (variant){"sigma 32", d};
    v[n++].p.sigma = 32.0;
    v[n] = (variant){"blur only sigma 32", z};
    v[n++].p.sigma = 32.0;
    v[n] = (variant){"sigma 32 scale 1.7", d};
    v[n].p.sigma = 32.0;
    v[n++].p.scale = 1.7;
    return n;
}

/* 211x97: wider than a sigma 32 kernel (193 taps), about one radius high. */
static const int sizes[][2] = {{1, 1}, {1, 37}, {37, 1}, {7, 3}, {33, 17}, {211, 97}, {640, 480}};

/* Compares backend `be` (with options) to serial on every size, channel count and
 * variant: the pipeline and each enabled stage alone. */
static void compare_backend(const img_backend *be, const img_backend_options *opt,
                            bool all_sizes)
{
    img_error err;
    void *state = NULL, *sstate = NULL;
    cr_assert_eq(be->init(&state, opt, &err), 0, "%s init: %s", be->name, err.message);
    cr_assert_eq(img_backend_serial.init(&sstate, NULL, &err), 0);
    char desc[64];
    be->describe(state, desc, sizeof desc);
    variant vars[20];
    int nv = make_variants(vars);
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        if (!all_sizes && sizes[si][0] >= 211)
            continue;
        for (int ch = 1; ch <= 4; ch++) {
            if (sizes[si][0] == 640 && ch == 2)
                continue;   /* keeps the big size's run time down; ch 2 is covered above */
            img_image src;
            cr_assert_eq(img_image_alloc(&src, sizes[si][0], sizes[si][1], ch, 0, &err), 0);
            fill_image(&src, (uint32_t)(si * 10 + (size_t)ch));
            for (int vi = 0; vi < nv; vi++) {
                /* The big size: a few variants, and no sigma 32 (the serial reference
                 * alone would take seconds per plane in a Debug build). */
                if (sizes[si][0] == 640 && ((vi % 3 != 0 && vi != 7) || vars[vi].p.sigma > 9))
                    continue;
                img_plan plan;
                plan_or_die(&plan, &vars[vi].p, src.width, src.height);
                char what[200];
                for (int stage = -1; stage < IMG_STAGE_COUNT; stage++) {
                    if (stage >= 0 && !plan.enabled[stage])
                        continue;
                    snprintf(what, sizeof what, "%s (%s) %dx%dx%d %s stage %s", be->name, desc,
                             src.width, src.height, ch, vars[vi].name,
                             stage < 0 ? "pipeline" : img_stage_name((img_stage)stage));
                    img_image got, want;
                    run_backend(be, state, stage, &src, &plan, &got, what);
                    run_backend(&img_backend_serial, sstate, stage, &src, &plan, &want, what);
                    cr_assert(img_image_equal(&got, &want), "%s differs from serial", what);
                    img_image_free(&got);
                    img_image_free(&want);
                }
                img_plan_free(&plan);
            }
            img_image_free(&src);
        }
    }
    be->destroy(state);
    img_backend_serial.destroy(sstate);
}

Test(simd_backend, every_level_matches_serial, .timeout = 600)
{
    unsigned cpu = img_cpu_features();
    for (int l = 0; l < IMG_SIMD_LEVEL_COUNT; l++) {
        if (!level_runs(l, cpu))
            continue;
        img_backend_options opt = {0};
        opt.simd_level = img_simd_level_name((img_simd_level)l);
        compare_backend(&img_backend_simd, &opt, true);
    }
}

Test(simd_backend, threads_and_bands_match_serial, .timeout = 600)
{
    static const int threads[] = {1, 2, 3, 5};
    static const int bands[] = {1, 3, 0};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++)
        for (size_t b = 0; b < sizeof bands / sizeof bands[0]; b++) {
            img_backend_options opt = {0};
            opt.threads = threads[t];
            opt.band_rows = bands[b];
            /* The big sizes once per thread count; every band size on the small ones. */
            compare_backend(&img_backend_simd_threads, &opt, bands[b] == 0);
        }
}

/* A y map that is not monotonic (legal input, never produced by img_plan_init) must
 * take the two-pass path and still match serial; so must asymmetric weights. */
Test(simd_backend, unusual_plans_match_serial)
{
    img_error err;
    img_image src, got, want;
    cr_assert_eq(img_image_alloc(&src, 71, 29, 3, 0, &err), 0);
    fill_image(&src, 99);
    img_params p = img_params_default();
    for (int mode = 0; mode < 2; mode++) {
        img_plan plan;
        plan_or_die(&plan, &p, src.width, src.height);
        if (mode == 0) {
            /* Reverse the y map. */
            img_resize_axis *ay = &plan.resize_y;
            for (int i = 0; i < ay->out_len / 2; i++) {
                int j = ay->out_len - 1 - i;
                int32_t t0 = ay->i0[i], t1 = ay->i1[i], tf = ay->frac[i];
                ay->i0[i] = ay->i0[j];
                ay->i1[i] = ay->i1[j];
                ay->frac[i] = ay->frac[j];
                ay->i0[j] = t0;
                ay->i1[j] = t1;
                ay->frac[j] = tf;
            }
        } else {
            skew_weights(&plan);
        }
        const img_backend *bes[2] = {&img_backend_simd, &img_backend_simd_threads};
        for (int b = 0; b < 2; b++) {
            void *state;
            img_backend_options opt = {0};
            opt.threads = 2;
            opt.band_rows = 4;
            cr_assert_eq(bes[b]->init(&state, &opt, &err), 0);
            run_backend(bes[b], state, -1, &src, &plan, &got, "unusual plan");
            run_backend(&img_backend_serial, NULL, -1, &src, &plan, &want, "unusual plan");
            cr_assert(img_image_equal(&got, &want), "%s mode %d differs from serial",
                      bes[b]->name, mode);
            img_image_free(&got);
            img_image_free(&want);
            bes[b]->destroy(state);
        }
        img_plan_free(&plan);
    }
    img_image_free(&src);
}

/* ------------------------------------------------------------------------------
 * Level selection and state.
 * ------------------------------------------------------------------------------ */

Test(simd_levels, choose_and_refuse)
{
    img_error err;
    img_simd_level level;
    cr_assert_eq(img_simd_choose_level("portable", 0, &level, &err), 0);
    cr_assert_eq(level, IMG_SIMD_PORTABLE);
    cr_assert_eq(img_simd_choose_level(NULL, 0, &level, &err), 0);
#if !defined(IMGPIPE_SIMD_EMULATED) || !defined(IMGPIPE_SIMD_X86)
    cr_assert_eq(img_simd_choose_level("auto", 0, &level, &err), 0);
    cr_assert_eq(level, IMG_SIMD_PORTABLE);
#endif

    /* Unknown names list the valid ones. */
    cr_assert_eq(img_simd_choose_level("avx1024", 0, &level, &err), -1);
    cr_assert(strstr(err.message, "--simd avx1024") && strstr(err.message, "auto") &&
                  strstr(err.message, "sse4.1") && strstr(err.message, "avx512icl") &&
                  strstr(err.message, "portable"),
              "%s", err.message);

#if defined(IMGPIPE_SIMD_X86) && defined(IMGPIPE_SIMD_EMULATED)
    /* Emulated: no level needs anything from the CPU, and every one is there. */
    cr_assert_eq(img_simd_choose_level("auto", 0, &level, &err), 0);
    cr_assert_eq(level, IMG_SIMD_AVX512ICL);
    for (int l = 0; l < IMG_SIMD_LEVEL_COUNT; l++) {
        cr_assert(img_simd_level_supported((img_simd_level)l, 0), "%d", l);
        cr_assert_null(img_simd_level_needs((img_simd_level)l, 0));
    }
    img_simd_funcs funcs[IMG_SIMD_LEVEL_COUNT];
    img_simd_level levels[IMG_SIMD_LEVEL_COUNT];
    cr_assert_eq(supported_levels(funcs, levels), IMG_SIMD_LEVEL_COUNT);
#elif defined(IMGPIPE_SIMD_X86)
    /* What the skip lines name: the first feature missing. */
    cr_assert_null(img_simd_level_needs(IMG_SIMD_PORTABLE, 0));
    cr_assert_str_eq(img_simd_level_needs(IMG_SIMD_SSE41, 0), "sse4.1");
    cr_assert_str_eq(img_simd_level_needs(IMG_SIMD_AVX512, IMG_CPU_AVX512F), "avx512bw");
    cr_assert_null(img_simd_level_needs(IMG_SIMD_AVX2, IMG_CPU_AVX2));

    const unsigned all = IMG_CPU_SSE41 | IMG_CPU_AVX2 | IMG_CPU_AVX512F |
                         IMG_CPU_AVX512BW | IMG_CPU_AVX512VL;
    cr_assert_eq(img_simd_choose_level("auto", all, &level, &err), 0);
    cr_assert_eq(level, IMG_SIMD_AVX512);
    cr_assert_eq(img_simd_choose_level("auto", IMG_CPU_SSE41 | IMG_CPU_AVX2, &level,
                                       &err), 0);
    cr_assert_eq(level, IMG_SIMD_AVX2);
    const unsigned icl = all | IMG_CPU_AVX512VNNI | IMG_CPU_AVX512VBMI;
    cr_assert_eq(img_simd_choose_level("auto", icl, &level, &err), 0);
    cr_assert_eq(level, IMG_SIMD_AVX512ICL);
    cr_assert_eq(img_simd_choose_level("avx512", icl, &level, &err), 0);
    cr_assert_eq(level, IMG_SIMD_AVX512);
    cr_assert_str_eq(img_simd_level_needs(IMG_SIMD_AVX512ICL, all), "avx512vnni");
    cr_assert_eq(img_simd_choose_level("avx512icl", all | IMG_CPU_AVX512VNNI, &level, &err),
                 -1);
    cr_assert_str_eq(err.message, "--simd avx512icl: this CPU lacks AVX-512 VBMI");
    cr_assert_eq(img_simd_choose_level("avx512icl", icl & ~IMG_CPU_AVX512BW, &level, &err),
                 -1);
    cr_assert_str_eq(err.message, "--simd avx512icl: this CPU lacks AVX-512BW");
    cr_assert_eq(img_simd_choose_level("avx512", all & ~IMG_CPU_AVX512BW, &level, &err), -1);
    cr_assert_str_eq(err.message, "--simd avx512: this CPU lacks AVX-512BW");
    cr_assert_eq(img_simd_choose_level("avx2", IMG_CPU_SSE41, &level, &err), -1);
    cr_assert_str_eq(err.message, "--simd avx2: this CPU lacks AVX2");
    cr_assert_eq(img_simd_choose_level("sse4.1", 0, &level, &err), -1);
    cr_assert_str_eq(err.message, "--simd sse4.1: this CPU lacks SSE4.1");
#endif
}

Test(simd_levels, backend_init_reports_level)
{
    img_error err;
    unsigned cpu = img_cpu_features();
    for (int l = 0; l < IMG_SIMD_LEVEL_COUNT; l++) {
        img_backend_options opt = {0};
        opt.simd_level = img_simd_level_name((img_simd_level)l);
        void *state = NULL;
        int rc = img_backend_simd.init(&state, &opt, &err);
        if (!img_simd_level_supported((img_simd_level)l, cpu)) {
            /* A forced level this CPU lacks is a clear error, not a crash or fallback. */
            cr_assert_eq(rc, -1);
            cr_assert(strstr(err.message, "--simd ") && strstr(err.message, "lacks"), "%s",
                      err.message);
            cr_assert_null(state);
            continue;
        }
        cr_assert_eq(rc, 0, "%s", err.message);
        char desc[64];
        img_backend_simd.describe(state, desc, sizeof desc);
        cr_assert_str_eq(desc, img_simd_level_name((img_simd_level)l));
        img_backend_simd.destroy(state);

        opt.threads = 3;
        cr_assert_eq(img_backend_simd_threads.init(&state, &opt, &err), 0, "%s", err.message);
        img_backend_simd_threads.describe(state, desc, sizeof desc);
        char want[64];
        snprintf(want, sizeof want, "%s, 3 threads", img_simd_level_name((img_simd_level)l));
        cr_assert_str_eq(desc, want);
        img_backend_simd_threads.destroy(state);
    }

    img_backend_options bad = {0};
    bad.simd_level = "neon";
    void *state = (void *)1;
    cr_assert_eq(img_backend_simd.init(&state, &bad, &err), -1);
    cr_assert_null(state);
    cr_assert(strstr(err.message, "unknown level"), "%s", err.message);
    bad.simd_level = NULL;
    bad.threads = -1;
    cr_assert_eq(img_backend_simd_threads.init(&state, &bad, &err), -1);

    /* auto picks the best level this CPU runs. */
    cr_assert_eq(img_backend_simd.init(&state, NULL, &err), 0);
    char desc[64];
    img_backend_simd.describe(state, desc, sizeof desc);
    img_simd_level best;
    cr_assert_eq(img_simd_choose_level("auto", cpu, &best, &err), 0);
    cr_assert_str_eq(desc, img_simd_level_name(best));
    img_backend_simd.destroy(state);
    img_backend_simd.destroy(NULL);
}

/* The same state serves images of growing and shrinking size (scratch grows, never
 * per run), and a stage the geometry does not fit is refused. */
Test(simd_levels, state_reuse_and_geometry)
{
    img_error err;
    void *state;
    cr_assert_eq(img_backend_simd_threads.init(&state, NULL, &err), 0);
    static const int dims[][2] = {{17, 5}, {300, 40}, {9, 9}, {301, 41}};
    for (int i = 0; i < 4; i++) {
        img_image src, got, want;
        cr_assert_eq(img_image_alloc(&src, dims[i][0], dims[i][1], 3, 0, &err), 0);
        fill_image(&src, (uint32_t)i);
        img_params p = img_params_default();
        p.sigma = i == 2 ? 9.0 : 2.0;
        img_plan plan;
        plan_or_die(&plan, &p, src.width, src.height);
        run_backend(&img_backend_simd_threads, state, -1, &src, &plan, &got, "reuse");
        run_backend(&img_backend_serial, NULL, -1, &src, &plan, &want, "reuse");
        cr_assert(img_image_equal(&got, &want), "size %d differs", i);

        /* Wrong destination geometry. */
        img_image bad;
        cr_assert_eq(img_image_alloc(&bad, got.width + 1, got.height, 3, 0, &err), 0);
        cr_assert_eq(img_backend_simd_threads.run_pipeline(state, &bad, &src, &plan, &err), -1);
        img_image_free(&bad);

        img_image_free(&src);
        img_image_free(&got);
        img_image_free(&want);
        img_plan_free(&plan);
    }
    img_backend_simd_threads.destroy(state);
}

/* The compute roof's kernel does the work it counts: rounds x 12 chains x the level's
 * int16 lanes, and with zero weights every chain keeps its start value c + 1, so the
 * sink (chain c's lane c mod lanes) is 1 + 2 + ... + 12 = 78 whatever the level. A
 * kernel the compiler folded away, or one that touched the values, fails here. */
Test(simd_roof, madd_peak_counts_and_keeps_values)
{
    img_simd_funcs funcs[IMG_SIMD_LEVEL_COUNT];
    img_simd_level levels[IMG_SIMD_LEVEL_COUNT];
    int n = supported_levels(funcs, levels);
    const int16_t zero[IMG_SIMD_MAX_VECTOR / 2] = {0};
    for (int i = 0; i < n; i++) {
        for (uint64_t rounds = 0; rounds <= 1000; rounds += 333) {
            int32_t sink = -1;
            uint64_t madds = funcs[i].madd_peak(rounds, zero, &sink);
            cr_assert_eq(madds, rounds * 12 * (uint64_t)(funcs[i].vector_bytes / 2), "%s",
                         funcs[i].name);
            cr_assert_eq(sink, 78, "%s: sink %d", funcs[i].name, sink);
        }
        cr_assert(funcs[i].madd_instruction && *funcs[i].madd_instruction, "%s", funcs[i].name);
    }
}

/* The backend hook measures the state's level on the threads asked for. */
Test(simd_roof, backend_measures_its_level)
{
    img_error err;
    void *state = NULL;
    img_backend_options opt = {0};
    opt.simd_level = "portable";
    cr_assert_eq(img_backend_simd.init(&state, &opt, &err), 0, "%s", err.message);
    img_compute_roof roof;
    for (int threads = 1; threads <= 2; threads++) {
        cr_assert_eq(img_backend_simd.compute_roof(state, threads, 0.01, &roof, &err), 0, "%s",
                     err.message);
        cr_assert_str_eq(roof.level, "portable");
        cr_assert_eq(roof.threads, threads);
        cr_assert(roof.madds_per_second > 0 && isfinite(roof.madds_per_second));
        cr_assert(strlen(roof.instruction) > 0);
    }
    cr_assert_eq(img_backend_simd.compute_roof(state, 0, 0.01, &roof, &err), -1);
    cr_assert(strstr(err.message, "threads"), "%s", err.message);
    img_backend_simd.destroy(state);
}

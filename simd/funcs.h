/* The SIMD stage functions: one table per instruction-set level.
 *
 * Every level (portable, sse4.1, avx2, avx512, avx512icl) is the same template source
 * (stages_template.h) compiled with different vector widths and -m flags, and exposes
 * the same img_simd_funcs table through img_simd_init_<level>(). The dispatcher picks
 * one table at init; the strip scheduler (schedule.c, compiled once), the backends and
 * the checkasm-style tests only ever call through the table, so every level is
 * exercised by the same code.
 *
 * Contracts shared by every function in the table:
 *   - bit-exact with the serial reference (host/serial.c);
 *   - never write outside [0, w) of a destination row (the tail of a row is stored
 *     through a partial store, with the same arithmetic as the body);
 *   - may READ source rows up to the row's width rounded up to IMG_SIMD_ROW_ALIGN
 *     bytes (img_image rows are padded to that), never further. */
#ifndef IMG_SIMD_FUNCS_H
#define IMG_SIMD_FUNCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "spec.h"

/* Widest vector of any level, in bytes; also how far past `width` a source row may
 * be read (img_image pads rows to IMG_ROW_ALIGN, which is the same 64). */
#define IMG_SIMD_MAX_VECTOR 64
#define IMG_SIMD_ROW_ALIGN 64

/* Rows of the vertical blur computed per call, so that one column chunk of the
 * 2r+K horizontally blurred rows is read K times from L1 instead of once per output
 * row from L2. */
#define IMG_SIMD_BATCH_ROWS 8

/* The horizontal pass stores h - IMG_SIMD_H_BIAS (h in [0, 32640]) so that the sum of
 * two mirrored rows, h[y-k] + h[y+k] - 2 * bias, still fits int16 and the vertical
 * pass can use the weights' symmetry (see stages_template.h). */
#define IMG_SIMD_H_BIAS 16384

typedef enum img_simd_level {
    IMG_SIMD_PORTABLE,
    IMG_SIMD_SSE41,
    IMG_SIMD_AVX2,
    IMG_SIMD_AVX512,           /* F + BW + VL (Skylake-X) */
    IMG_SIMD_AVX512ICL,        /* + VNNI + VBMI (Ice Lake, Zen 4), as dav1d names it */
    IMG_SIMD_LEVEL_COUNT
} img_simd_level;

/* Everything the kernels need about one run, prepared once per run from the plan
 * (img_simd_kernel_prepare) and shared read-only by all workers. */
typedef struct img_simd_kernel {
    int in_w, in_h;            /* source geometry */
    int out_w, out_h;          /* resize output (== in when resize is off) */

    /* Point stages, computed arithmetically: clamp(i + b) is a saturating add and
     * the contrast formula is one mulhrs (see point16 in the template). */
    bool bright_on, contrast_on;
    int brightness, contrast_q8;
    uint8_t point_lut[256];    /* the same, composed (the plan's tables): for levels
                                  with a 256-entry byte permute (avx512icl) */

    /* Blur: radius 0 means off. Weight pairs are packed (lo = first tap, hi = second)
     * as int16 pairs for madd. */
    int radius;
    bool symmetric;          /* W[-k] == W[k]: vertical pass adds mirrored rows */
    int h_pairs;               /* r + 1 tap pairs (2r+1 taps padded with a zero) */
    int32_t h_w[IMG_BLUR_MAX_RADIUS + 1];    /* even outputs: (W[2j], W[2j+1]) */
    int32_t h_wo[IMG_BLUR_MAX_RADIUS + 1];   /* odd outputs: (W[2j-1], W[2j]) */
    int32_t h_ws[IMG_BLUR_MAX_RADIUS / 2 + 1];   /* symmetric: (W[2j], W[2j+1]) for the
                                                    left pairs, then the centre pair */
    int v_terms;               /* r + 1 (symmetric) or 2r + 1 */
    int32_t v_w[IMG_BLUR_MAX_RADIUS + 1];   /* (v_terms + 1) / 2 pairs */

    /* Resize. */
    bool x_half;               /* x map is exactly 2:1 (i0 = 2x, i1 = 2x + 1, frac 1/2) */
    bool y_fusable;            /* y map monotonic with i1 - i0 in {0, 1}: fused blur */
    const int32_t *y_i0, *y_i1, *y_frac;    /* borrowed from the plan */
    int32_t *x_i0, *x_i1, *x_frac;          /* owned copies padded with zeros to a whole
                                              number of vectors */
    /* Per block of 8 / 16 output columns: the first source column of a window of 16 /
     * 32 that holds every column the block reads, or -1 when the block spans more
     * (then the kernel gathers). Lets 256/512-bit levels use register permutes. */
    int32_t *x_win8, *x_win16;
    size_t x_cap;              /* entries allocated in each of the x arrays */
} img_simd_kernel;

/* Per-worker scratch, allocated once and grown when a wider image or larger radius
 * comes; never allocated per run. */
typedef struct img_simd_scratch {
    void *block;               /* the single allocation behind every field below */
    size_t bytes;
    int cap_w, cap_r;          /* geometry the buffers are sized for */
    int16_t *pad;              /* one edge-replicated, point-op'd source row */
    int16_t *ring;             /* 2r + K horizontally blurred rows */
    ptrdiff_t ring_stride;     /* int16 elements */
    int ring_slots;
    uint8_t *rows;             /* K + 1 blurred (or point-op'd) rows feeding resize */
    ptrdiff_t rows_stride;
    int row_slots;
    int32_t *vtmp;             /* resize: one vertically interpolated row */
    const int16_t **hptr;      /* row pointer tables for the vertical pass */
    uint8_t **dptr;
} img_simd_scratch;

/* One band of output rows of one plane, with the stages it applies. */
typedef struct img_simd_strip {
    const img_simd_kernel *k;
    const uint8_t *src;
    ptrdiff_t src_stride;
    uint8_t *dst;
    ptrdiff_t dst_stride;
    int y0, y1;                /* output rows [y0, y1) */
    bool point, blur, resize;
} img_simd_strip;

typedef struct img_simd_funcs {
    const char *name;          /* img_simd_level_name() of its level */
    int vector_bytes;

    /* dst = point(src) over w x h (the kernel's enabled point stages). */
    void (*point_rows)(uint8_t *dst, ptrdiff_t dst_stride, const uint8_t *src,
                       ptrdiff_t src_stride, int w, int h, const img_simd_kernel *k);

    /* Horizontal blur of one row: dst = img_serial_blur_h_rows(point ? point(src) : src)
     * - IMG_SIMD_H_BIAS, w int16 elements. next, when not NULL, is the source row the
     * caller will pass next (prefetched alongside: a row is about one 4 KiB page, where
     * the hardware prefetcher stops). Uses s->pad, which must be reserved for w and
     * k->radius. */
    void (*blur_h_row)(int16_t *dst, const uint8_t *src, const uint8_t *next, int w,
                       bool point, const img_simd_kernel *k, img_simd_scratch *s);

    /* Horizontal blur of h rows: dst = img_serial_blur_h_rows(point ? point(src) : src)
     * - IMG_SIMD_H_BIAS. dst_stride counts int16 elements. Uses s->pad, which must be
     * reserved for w and k->radius. */
    void (*blur_h_rows)(int16_t *dst, ptrdiff_t dst_stride, const uint8_t *src,
                        ptrdiff_t src_stride, int w, int h, bool point,
                        const img_simd_kernel *k, img_simd_scratch *s);

    /* Vertical blur of n output rows: dst[i][x] = clamp((sum_j W[j] * (rows[i + j][x] +
     * H_BIAS) + 2^20) >> 21), j in [0, 2r]. rows[i + j] is the biased horizontal row
     * y_i - r + j of output row y_i, its index already clamped to the image by the
     * caller (so n + 2r pointers). Row values must be in [-H_BIAS, 32640 - H_BIAS]. */
    void (*blur_v_rows)(uint8_t *const *dst, int n, const int16_t *const *rows, int w,
                        const img_simd_kernel *k);

    /* One bilinear output row of k->out_w pixels from source rows r0 (weight
     * IMG_RESIZE_ONE - fy) and r1 (weight fy) of k->in_w pixels. Uses s->vtmp for maps
     * other than 2:1 in x. */
    void (*resize_row)(uint8_t *dst, const uint8_t *r0, const uint8_t *r1, int fy,
                       const img_simd_kernel *k, img_simd_scratch *s);

    /* Bilinear resize of output rows [y0, y1) (of k->out_w pixels) from a k->in_w x
     * k->in_h plane, maps from the kernel. Uses s->vtmp for maps other than 2:1 in x. */
    void (*resize_rows)(uint8_t *dst, ptrdiff_t dst_stride, const uint8_t *src,
                        ptrdiff_t src_stride, int y0, int y1, const img_simd_kernel *k,
                        img_simd_scratch *s);

    /* The compute roof: `rounds` rounds of the multiply-add the blur is built on (madd
     * then add, or one vpdpwssd at avx512icl) over independent register chains, as
     * fast as the core issues them; returns the 16-bit multiply-adds performed. The
     * weights come from `zero` (all zero at run time, unknown to the compiler), so the
     * values never change and nothing can be folded away; their sum goes to *sink. */
    uint64_t (*madd_peak)(uint64_t rounds, const int16_t *zero, int32_t *sink);
    const char *madd_instruction;   /* what madd_peak times: "vpdpwssd", "vpmaddwd + vpaddd" */
} img_simd_funcs;

/* The fused schedule (simd/schedule.c, described in simd_backend.c): one band of one
 * plane, every enabled stage, intermediates in s only, the kernels taken from f. The
 * scheduler is the same for every level; only the table differs. */
void img_simd_run_strip(const img_simd_funcs *f, const img_simd_strip *job,
                        img_simd_scratch *s);

void img_simd_init_portable(img_simd_funcs *f);
#ifdef IMGPIPE_SIMD_X86
void img_simd_init_sse41(img_simd_funcs *f);
void img_simd_init_avx2(img_simd_funcs *f);
void img_simd_init_avx512(img_simd_funcs *f);
void img_simd_init_avx512icl(img_simd_funcs *f);
#endif

/* "portable", "sse4.1", "avx2", "avx512", "avx512icl". */
const char *img_simd_level_name(img_simd_level level);

/* True when this build contains the level and a CPU with cpu_flags runs it. */
bool img_simd_level_supported(img_simd_level level, unsigned cpu_flags);

/* What keeps a CPU with cpu_flags from running level: the first missing feature as
 * /proc/cpuinfo names it ("avx512vnni"), or NULL when it runs it. For reports such as
 * the tests' "skipped: avx512icl needs avx512vnni". */
const char *img_simd_level_needs(img_simd_level level, unsigned cpu_flags);

/* Resolves a --simd name ("auto" or NULL = best supported) against cpu_flags. Fails
 * for unknown names (listing the valid ones) and for levels this CPU lacks. */
int img_simd_choose_level(const char *name, unsigned cpu_flags, img_simd_level *level,
                          img_error *err);

/* Fills f with the level's table; false when the level is not built in. */
bool img_simd_get_funcs(img_simd_level level, img_simd_funcs *f);

/* Prepares k for running `stages` (a subset of plan->enabled) of plan. Reuses k's
 * owned buffers; k must be zeroed before its first use. */
int img_simd_kernel_prepare(img_simd_kernel *k, const img_plan *plan,
                            const bool stages[IMG_STAGE_COUNT], img_error *err);
void img_simd_kernel_free(img_simd_kernel *k);

/* Makes s big enough for rows of `width` and blur radius `radius`. s must be zeroed
 * before its first use; the free function copes with a zeroed or failed scratch. */
int img_simd_scratch_reserve(img_simd_scratch *s, int width, int radius, img_error *err);
void img_simd_scratch_free(img_simd_scratch *s);

#endif

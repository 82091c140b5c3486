/* Level selection, kernel preparation and scratch management for the SIMD backends:
 * everything around the kernels that does not depend on the vector width. */
#include <stdlib.h>
#include <string.h>

#include "cpu_features.h"
#include "funcs.h"

static const char *const level_names[IMG_SIMD_LEVEL_COUNT] = {"portable", "sse4.1", "avx2",
                                                              "avx512", "avx512icl"};

#define AVX512_ALL (IMG_CPU_AVX512F | IMG_CPU_AVX512BW | IMG_CPU_AVX512VL)

const char *img_simd_level_name(img_simd_level level)
{
    return (unsigned)level < IMG_SIMD_LEVEL_COUNT ? level_names[level] : "?";
}

#ifdef IMGPIPE_SIMD_X86
/* CPU features the levels need, in the order a missing one is reported. */
static const struct {
    unsigned flag;
    const char *name;      /* as in /proc/cpuinfo, for img_simd_level_needs */
    const char *message;   /* for --simd errors */
} features[] = {
    {IMG_CPU_SSE41, "sse4.1", "this CPU lacks SSE4.1"},
    {IMG_CPU_AVX2, "avx2", "this CPU lacks AVX2"},
    {IMG_CPU_AVX512F, "avx512f", "this CPU lacks AVX-512F"},
    {IMG_CPU_AVX512BW, "avx512bw", "this CPU lacks AVX-512BW"},
    {IMG_CPU_AVX512VL, "avx512vl", "this CPU lacks AVX-512VL"},
    {IMG_CPU_AVX512VNNI, "avx512vnni", "this CPU lacks AVX-512 VNNI"},
    {IMG_CPU_AVX512VBMI, "avx512vbmi", "this CPU lacks AVX-512 VBMI"},
};

static unsigned level_needs(img_simd_level level)
{
#ifdef IMGPIPE_SIMD_EMULATED
    /* Every level built as SIMDe's plain C with no -m flags (test_simd_portable): the
     * instructions are emulated, so any CPU runs any level. */
    (void)level;
    return 0;
#else
    switch (level) {
    case IMG_SIMD_SSE41: return IMG_CPU_SSE41;
    case IMG_SIMD_AVX2: return IMG_CPU_AVX2;
    case IMG_SIMD_AVX512: return AVX512_ALL;
    case IMG_SIMD_AVX512ICL: return AVX512_ALL | IMG_CPU_AVX512VNNI | IMG_CPU_AVX512VBMI;
    default: return 0;
    }
#endif
}

/* The first feature of level that cpu_flags lacks, or -1. */
static int first_missing(img_simd_level level, unsigned cpu_flags)
{
    const unsigned lacking = level_needs(level) & ~cpu_flags;
    for (int i = 0; i < (int)(sizeof features / sizeof features[0]); i++)
        if (lacking & features[i].flag)
            return i;
    return -1;
}

#endif

/* Why cpu_flags cannot run level, or NULL when it can. */
static const char *missing_feature(img_simd_level level, unsigned cpu_flags)
{
    switch (level) {
    case IMG_SIMD_PORTABLE:
        return NULL;
#ifdef IMGPIPE_SIMD_X86
    case IMG_SIMD_SSE41:
    case IMG_SIMD_AVX2:
    case IMG_SIMD_AVX512:
    case IMG_SIMD_AVX512ICL: {
        const int i = first_missing(level, cpu_flags);
        return i < 0 ? NULL : features[i].message;
    }
#else
    case IMG_SIMD_SSE41:
    case IMG_SIMD_AVX2:
    case IMG_SIMD_AVX512:
    case IMG_SIMD_AVX512ICL:
        (void)cpu_flags;
        return "this build has no x86 code (not an x86 target)";
#endif
    default:
        return "unknown level";
    }
}

const char *img_simd_level_needs(img_simd_level level, unsigned cpu_flags)
{
#ifdef IMGPIPE_SIMD_X86
    if (level != IMG_SIMD_PORTABLE && (unsigned)level < IMG_SIMD_LEVEL_COUNT) {
        const int i = first_missing(level, cpu_flags);
        return i < 0 ? NULL : features[i].name;
    }
#endif
    return missing_feature(level, cpu_flags) ? "an x86 build" : NULL;
}

bool img_simd_level_supported(img_simd_level level, unsigned cpu_flags)
{
    return (unsigned)level < IMG_SIMD_LEVEL_COUNT && missing_feature(level, cpu_flags) == NULL;
}

int img_simd_choose_level(const char *name, unsigned cpu_flags, img_simd_level *level,
                          img_error *err)
{
    if (!name || strcmp(name, "auto") == 0) {
        for (int l = IMG_SIMD_LEVEL_COUNT - 1; l >= 0; l--)
            if (img_simd_level_supported((img_simd_level)l, cpu_flags)) {
                *level = (img_simd_level)l;
                return 0;
            }
        return img_fail(err, "--simd auto: no usable level");   /* portable always is */
    }
    for (int l = 0; l < IMG_SIMD_LEVEL_COUNT; l++) {
        if (strcmp(name, level_names[l]) != 0)
            continue;
        const char *why = missing_feature((img_simd_level)l, cpu_flags);
        if (why)
            return img_fail(err, "--simd %s: %s", name, why);
        *level = (img_simd_level)l;
        return 0;
    }
    return img_fail(err,
                    "--simd %s: unknown level (valid: auto, portable, sse4.1, avx2, avx512, "
                    "avx512icl)",
                    name);
}

bool img_simd_get_funcs(img_simd_level level, img_simd_funcs *f)
{
    memset(f, 0, sizeof *f);
    switch (level) {
    case IMG_SIMD_PORTABLE:
        img_simd_init_portable(f);
        return true;
#ifdef IMGPIPE_SIMD_X86
    case IMG_SIMD_SSE41:
        img_simd_init_sse41(f);
        return true;
    case IMG_SIMD_AVX2:
        img_simd_init_avx2(f);
        return true;
    case IMG_SIMD_AVX512:
        img_simd_init_avx512(f);
        return true;
    case IMG_SIMD_AVX512ICL:
        img_simd_init_avx512icl(f);
        return true;
#endif
    default:
        return false;
    }
}

static size_t align_up(size_t v, size_t a)
{
    return (v + a - 1) / a * a;
}

/* Two int16 values as one int32 lane for madd: lo in the low half. */
static int32_t pack_pair(int32_t lo, int32_t hi)
{
    return (int32_t)((uint32_t)(uint16_t)lo | (uint32_t)(uint16_t)hi << 16);
}

static int prepare_blur(img_simd_kernel *k, const img_plan *plan, img_error *err)
{
    const int r = plan->blur_radius;
    const int32_t *w = plan->blur_weights;
    if (r < 1 || r > IMG_BLUR_MAX_RADIUS)
        return img_fail(err, "simd: blur radius %d is out of range [1, %d]", r,
                        IMG_BLUR_MAX_RADIUS);
    /* The kernels rely on what img_blur_weights guarantees: W_k in [0, 16384] summing
     * to 16384 keeps every int16 and int32 intermediate in range and every sum
     * non-negative (logical shifts, packs as the clamp). */
    int32_t sum = 0;
    for (int i = 0; i <= 2 * r; i++) {
        if (w[i] < 0 || w[i] > IMG_BLUR_ONE)
            return img_fail(err, "simd: blur weight %d is outside [0, %d]", (int)w[i],
                            IMG_BLUR_ONE);
        sum += w[i];
    }
    if (sum != IMG_BLUR_ONE)
        return img_fail(err, "simd: blur weights sum to %d, not %d", (int)sum, IMG_BLUR_ONE);

    k->radius = r;
    k->h_pairs = r + 1;
    for (int j = 0; j <= r; j++) {
        k->h_w[j] = pack_pair(w[2 * j], 2 * j + 1 <= 2 * r ? w[2 * j + 1] : 0);
        k->h_wo[j] = pack_pair(j > 0 ? w[2 * j - 1] : 0, w[2 * j]);
    }

    bool sym = true;
    for (int i = 1; i <= r; i++)
        sym = sym && w[r - i] == w[r + i];
    k->symmetric = sym;
    /* Symmetric horizontal pairs: (W[2j], W[2j+1]) while both taps are left of the
     * centre, then (W[r], 0) for even r or (W[r-1], W[r]) for odd r. */
    int j = 0;
    for (; 2 * j + 1 < r; j++)
        k->h_ws[j] = pack_pair(w[2 * j], w[2 * j + 1]);
    k->h_ws[j] = r % 2 == 0 ? pack_pair(w[r], 0) : pack_pair(w[r - 1], w[r]);
    /* Term weights: symmetric: W_0, W_1..W_r (term m = row y-m + row y+m); otherwise
     * W_-r..W_r. An odd count pairs its last term with the bias constant. */
    int32_t t[2 * IMG_BLUR_MAX_RADIUS + 1];
    int nt = sym ? r + 1 : 2 * r + 1;
    for (int m = 0; m < nt; m++)
        t[m] = sym ? w[r + m] : w[m];
    k->v_terms = nt;
    for (int p = 0; p < nt / 2; p++)
        k->v_w[p] = pack_pair(t[2 * p], t[2 * p + 1]);
    if (nt & 1)
        k->v_w[nt / 2] = pack_pair(t[nt - 1], 16384 + 64);
    return 0;
}

static bool axis_valid(const img_resize_axis *a, int in_len, int out_len)
{
    if (a->out_len != out_len || !a->i0 || !a->i1 || !a->frac)
        return false;
    for (int i = 0; i < out_len; i++)
        if (a->i0[i] < 0 || a->i0[i] >= in_len || a->i1[i] < 0 || a->i1[i] >= in_len ||
            a->frac[i] < 0 || a->frac[i] >= IMG_RESIZE_ONE)
            return false;
    return true;
}

/* For blocks of `block` output columns: the lowest source column the block reads if
 * all it reads fits in 2 * block columns from there, else -1. Blocks past the output
 * (padding) read column 0 and get window 0. */
static void window_table(int32_t *win, int block, const img_resize_axis *ax, int ow, size_t cap)
{
    for (size_t b = 0; b < cap / (size_t)block; b++) {
        int32_t lo = INT32_MAX, hi = -1;
        for (size_t x = b * (size_t)block; x < (b + 1) * (size_t)block && x < (size_t)ow; x++) {
            lo = ax->i0[x] < lo ? ax->i0[x] : lo;
            lo = ax->i1[x] < lo ? ax->i1[x] : lo;
            hi = ax->i0[x] > hi ? ax->i0[x] : hi;
            hi = ax->i1[x] > hi ? ax->i1[x] : hi;
        }
        win[b] = hi < 0 ? 0 : hi - lo < 2 * block ? lo : -1;
    }
}

static int prepare_resize(img_simd_kernel *k, const img_plan *plan, img_error *err)
{
    const img_resize_axis *ax = &plan->resize_x, *ay = &plan->resize_y;
    const int ow = plan->out_width, oh = plan->out_height;
    /* The kernels gather with these indices: check them once rather than trust. */
    if (!axis_valid(ax, plan->in_width, ow) || !axis_valid(ay, plan->in_height, oh))
        return img_fail(err, "simd: the plan's resize maps are inconsistent with %dx%d -> %dx%d",
                        plan->in_width, plan->in_height, ow, oh);
    k->out_w = ow;
    k->out_h = oh;

    /* Copies of the x map padded with zeros to whole vectors of the widest level, so
     * the tail vector gathers valid (ignored) entries instead of reading past the end. */
    size_t need = align_up((size_t)ow, IMG_SIMD_MAX_VECTOR);
    if (need > k->x_cap) {
        /* i0, i1, frac, then the window tables (cap/8 + cap/16 entries). */
        int32_t *block = malloc(4 * need * sizeof *block);
        if (!block)
            return img_fail(err, "simd: out of memory for a resize map of %d entries", ow);
        free(k->x_i0);
        k->x_i0 = block;
        k->x_cap = need;
    }
    k->x_i1 = k->x_i0 + k->x_cap;
    k->x_frac = k->x_i1 + k->x_cap;
    k->x_win8 = k->x_frac + k->x_cap;
    k->x_win16 = k->x_win8 + k->x_cap / 8;
    memset(k->x_i0, 0, 4 * k->x_cap * sizeof *k->x_i0);
    memcpy(k->x_i0, ax->i0, (size_t)ow * sizeof *ax->i0);
    memcpy(k->x_i1, ax->i1, (size_t)ow * sizeof *ax->i1);
    memcpy(k->x_frac, ax->frac, (size_t)ow * sizeof *ax->frac);
    window_table(k->x_win8, 8, ax, ow, k->x_cap);
    window_table(k->x_win16, 16, ax, ow, k->x_cap);

    /* The 2:1 fast path is chosen by what the map says, not by the scale. */
    bool half = 2 * (int64_t)ow <= plan->in_width;
    for (int x = 0; x < ow && half; x++)
        half = ax->i0[x] == 2 * x && ax->i1[x] == 2 * x + 1 &&
               ax->frac[x] == IMG_RESIZE_ONE / 2;
    k->x_half = half;

    bool fusable = true;
    for (int y = 0; y < oh && fusable; y++) {
        fusable = ay->i1[y] >= ay->i0[y] && ay->i1[y] - ay->i0[y] <= 1;
        if (y > 0)
            fusable = fusable && ay->i0[y] >= ay->i0[y - 1] && ay->i1[y] >= ay->i1[y - 1];
    }
    k->y_fusable = fusable;
    k->y_i0 = ay->i0;
    k->y_i1 = ay->i1;
    k->y_frac = ay->frac;
    return 0;
}

int img_simd_kernel_prepare(img_simd_kernel *k, const img_plan *plan,
                            const bool stages[IMG_STAGE_COUNT], img_error *err)
{
    /* Keep the owned x-map buffer across runs; reset everything else. */
    int32_t *x_block = k->x_i0;
    size_t x_cap = k->x_cap;
    memset(k, 0, sizeof *k);
    k->x_i0 = x_block;
    k->x_cap = x_cap;

    k->in_w = k->out_w = plan->in_width;
    k->in_h = k->out_h = plan->in_height;
    if (k->in_w < 1 || k->in_h < 1)
        return img_fail(err, "simd: empty plan geometry %dx%d", k->in_w, k->in_h);

    k->bright_on = stages[IMG_STAGE_BRIGHTNESS];
    k->brightness = plan->brightness;
    k->contrast_on = stages[IMG_STAGE_CONTRAST];
    k->contrast_q8 = plan->contrast_q8;
    /* Ranges the saturating add and the mulhrs formulation are exact for. */
    if (k->bright_on && (k->brightness < IMG_BRIGHTNESS_MIN || k->brightness > IMG_BRIGHTNESS_MAX))
        return img_fail(err, "simd: brightness %d is out of range", k->brightness);
    if (k->contrast_on && (k->contrast_q8 < 0 || k->contrast_q8 > 1024))
        return img_fail(err, "simd: contrast %d/256 is out of range", k->contrast_q8);
    for (int i = 0; i < 256; i++) {
        uint8_t v = (uint8_t)i;
        if (k->bright_on)
            v = plan->brightness_lut[v];
        if (k->contrast_on)
            v = plan->contrast_lut[v];
        k->point_lut[i] = v;
    }

    if (stages[IMG_STAGE_BLUR] && prepare_blur(k, plan, err) != 0)
        return -1;
    if (stages[IMG_STAGE_RESIZE] && prepare_resize(k, plan, err) != 0)
        return -1;
    return 0;
}

void img_simd_kernel_free(img_simd_kernel *k)
{
    if (!k)
        return;
    free(k->x_i0);
    memset(k, 0, sizeof *k);
}

int img_simd_scratch_reserve(img_simd_scratch *s, int width, int radius, img_error *err)
{
    if (s->block && width <= s->cap_w && radius <= s->cap_r)
        return 0;
    const int w = width > s->cap_w ? width : s->cap_w;
    const int r = radius > s->cap_r ? radius : s->cap_r;
    const int K = IMG_SIMD_BATCH_ROWS;
    const size_t aw = align_up((size_t)w, IMG_SIMD_ROW_ALIGN);
    const size_t line = IMG_SIMD_ROW_ALIGN;

    /* pad: a vector of margin before (the left edge is stored backwards), the row, both
     * edges and a vector of overshoot. */
    const size_t pad_elems = IMG_SIMD_MAX_VECTOR + aw + 2 * (size_t)r + 2 * IMG_SIMD_MAX_VECTOR;
    /* Ring and row strides are skewed by one cache line so that columns of a
     * power-of-two-wide image do not all map to the same L1 set. */
    const size_t ring_stride = aw + line / sizeof(int16_t);
    const size_t ring_slots = 2 * (size_t)r + (size_t)K;
    const size_t rows_stride = aw + line;
    const size_t row_slots = (size_t)K + 1;
    const size_t vtmp_elems = aw + IMG_SIMD_MAX_VECTOR;
    const size_t hptr_count = (size_t)K + 2 * (size_t)r;

    size_t off_pad = 0;
    size_t off_ring = align_up(off_pad + pad_elems * sizeof(int16_t), line);
    size_t off_rows = align_up(off_ring + ring_slots * ring_stride * sizeof(int16_t), line);
    size_t off_vtmp = align_up(off_rows + row_slots * rows_stride, line);
    size_t off_hptr = align_up(off_vtmp + vtmp_elems * sizeof(int32_t), line);
    size_t off_dptr = align_up(off_hptr + hptr_count * sizeof(int16_t *), line);
    size_t total = align_up(off_dptr + (size_t)K * sizeof(uint8_t *), line);

    uint8_t *block = aligned_alloc(line, total);
    if (!block)
        return img_fail(err, "simd: out of memory for %zu bytes of scratch", total);
    /* Zeroed: vector loads past a row's width read defined (if unused) values. */
    memset(block, 0, total);
    free(s->block);
    s->block = block;
    s->bytes = total;
    s->cap_w = w;
    s->cap_r = r;
    s->pad = (int16_t *)(block + off_pad) + IMG_SIMD_MAX_VECTOR;
    s->ring = (int16_t *)(block + off_ring);
    s->ring_stride = (ptrdiff_t)ring_stride;
    s->ring_slots = (int)ring_slots;
    s->rows = block + off_rows;
    s->rows_stride = (ptrdiff_t)rows_stride;
    s->row_slots = (int)row_slots;
    s->vtmp = (int32_t *)(block + off_vtmp);
    s->hptr = (const int16_t **)(block + off_hptr);
    s->dptr = (uint8_t **)(block + off_dptr);
    return 0;
}

void img_simd_scratch_free(img_simd_scratch *s)
{
    if (!s)
        return;
    free(s->block);
    memset(s, 0, sizeof *s);
}

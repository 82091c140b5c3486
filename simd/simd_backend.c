/* The `simd` and `simd-threads` backends.
 *
 * SIMD schedule (also in simd/README.md)
 * --------------------------------------
 * The image is planar, so the unit of work is a band of output rows of one plane
 * (img_simd_strip), run by the strip scheduler (schedule.c, one for every level) with
 * the level's row kernels:
 *
 *   1. Point stages. Brightness and contrast are not a pass of their own: they are
 *      applied while a source row is widened to int16 into an edge-replicated row
 *      buffer (`pad`, r copies of the first/last pixel on each side, so the taps need
 *      no clamp): a clamped add and one mulhrs, or at avx512icl the plan's composed
 *      256-entry table through two vpermi2b. Alpha planes skip them.
 *   2. Horizontal blur. pad -> one int16 row of h - 16384 (madd on tap pairs; even
 *      and odd outputs in separate accumulators sharing the loads; mirrored pairs
 *      added first at 128/256 bits) into a ring of 2r + K rows (K = 8). Every source
 *      row the band needs is point-op'd and blurred exactly once.
 *   3. Vertical blur. Needed blurred rows are produced in runs of up to K consecutive
 *      rows: the ring is filled up to row a+n-1+r, a row pointer table with clamped
 *      indices gives the 2r+1 rows of each output row, and the kernel walks 512-pixel
 *      column chunks outside and the n rows inside, so each chunk of the 2r+n ring
 *      rows is read from L1 n times. Mirrored rows are added before the multiply
 *      (symmetric weights), halving the madds.
 *   4. Resize. Output row y needs blurred rows i0[y] and i1[y], which are monotonic in
 *      y: blurred rows go to a K+1 slot row cache and every output row whose two rows
 *      exist is emitted at once. The full-size blurred image never exists; the
 *      working set per plane is ~(2r+K) int16 rows + (K+1) byte rows. A 2:1 x map
 *      (detected from the map itself) uses a maddubs pair-sum path; any other map
 *      interpolates vertically into int32 and picks the neighbours by register
 *      permutes (narrow spans) or gathers.
 *
 * Disabled stages drop out of the same schedule (point only: one vector pass; resize
 * only: rows from src or a two-row point cache; blur only: v-blur writes dst). A y map
 * that is not monotonic with i1 - i0 <= 1 (never produced by img_plan_init, but legal
 * input) takes two passes through a full-size intermediate instead.
 *
 * `simd` runs every plane as one band on the calling thread. `simd-threads` splits
 * each plane's output rows into bands (options->band_rows, 0 = two bands per thread)
 * and runs the (plane, band) tasks on a persistent img_pool; each worker has its own
 * scratch, and a band recomputes the r halo rows above and below it. Bands write
 * disjoint output rows, so no synchronisation is needed beyond the batch.
 *
 * State is built in init (level, pool, scratch tables); scratch buffers grow when a
 * larger image or radius arrives and are otherwise reused by every run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "clock.h"
#include "cpu_features.h"
#include "cpus.h"
#include "funcs.h"
#include "pool.h"

typedef struct simd_state {
    img_simd_funcs f;
    img_simd_level level;
    bool threaded;
    int threads;                /* workers (1 for `simd`) */
    int band_rows;              /* option; 0 = auto */
    img_pool *pool;             /* simd-threads only */
    img_simd_kernel k;
    img_simd_scratch *scratch;  /* one per worker */
    void *tmp_block;            /* two-pass fallback intermediate, on demand, grown */
    size_t tmp_bytes;
} simd_state;

typedef struct simd_batch {
    simd_state *st;
    const img_image *src;
    img_image *dst;
    bool point, blur, resize;
    int out_h, band_rows, bands;
    int y_begin, y_end;         /* the output rows this batch computes */
} simd_batch;

static void simd_task(void *arg, int index, int worker)
{
    const simd_batch *b = arg;
    const int c = index / b->bands, band = index % b->bands;
    img_simd_strip job = {
        .k = &b->st->k,
        .src = b->src->plane[c],
        .src_stride = b->src->stride[c],
        .dst = b->dst->plane[c],
        .dst_stride = b->dst->stride[c],
        .y0 = b->y_begin + band * b->band_rows,
        .y1 = b->y_begin + band * b->band_rows + b->band_rows,
        .point = b->point && !img_is_alpha_plane(b->src->channels, c),
        .blur = b->blur,
        .resize = b->resize,
    };
    if (job.y1 > b->y_end)
        job.y1 = b->y_end;
    img_simd_run_strip(&b->st->f, &job, &b->st->scratch[worker]);
}

static int auto_band_rows(const simd_state *st, int out_h)
{
    if (st->band_rows > 0)
        return st->band_rows;
    if (!st->threaded)
        return out_h;
    /* Two bands per thread and plane. Every band pays the 2r halo rows once, so fewer,
     * larger bands waste least (about 2 % of the blur at 4k here); but with exactly one
     * band per thread a run waits for whichever core was disturbed, while with two the
     * pool hands the spare bands to the free worker. Measured on the shared 2-core VM,
     * 3840x2160, four alternating runs each: one band per thread 4.5-5.9 ms, two per
     * thread 4.5-5.3 ms, four per thread 4.5-5.0 ms. */
    int bands = 2 * st->threads;
    return (out_h + bands - 1) / bands;
}

/* Runs the stages given by the flags over output rows [y_begin, y_end) of every plane,
 * src -> dst (y_end < 0: to the last row). */
static void dispatch(simd_state *st, img_image *dst, const img_image *src, bool point,
                     bool blur, bool resize, int y_begin, int y_end)
{
    simd_batch b = {st, src, dst, point, blur, resize, 0, 0, 0, y_begin, y_end};
    b.out_h = resize ? st->k.out_h : st->k.in_h;
    if (b.y_end < 0)
        b.y_end = b.out_h;
    const int rows = b.y_end - b.y_begin;
    b.band_rows = auto_band_rows(st, rows);
    if (b.band_rows > rows)
        b.band_rows = rows;
    b.bands = (rows + b.band_rows - 1) / b.band_rows;
    const int count = src->channels * b.bands;
    if (st->pool && count > 1) {
        img_pool_run(st->pool, simd_task, &b, count);
    } else {
        for (int i = 0; i < count; i++)
            simd_task(&b, i, 0);
    }
}

static int check_geometry(const img_image *dst, const img_image *src, const img_plan *plan,
                          bool resize, img_error *err)
{
    if (src->width != plan->in_width || src->height != plan->in_height)
        return img_fail(err, "simd: source is %dx%d but the plan is for %dx%d", src->width,
                        src->height, plan->in_width, plan->in_height);
    int ow = resize ? plan->out_width : plan->in_width;
    int oh = resize ? plan->out_height : plan->in_height;
    if (dst->width != ow || dst->height != oh || dst->channels != src->channels)
        return img_fail(err, "simd: destination is %dx%d with %d channels, expected %dx%d with %d",
                        dst->width, dst->height, dst->channels, ow, oh, src->channels);
    return 0;
}

/* A view of src's geometry over the state's intermediate block, which only ever
 * grows, so a run never allocates unless a bigger image arrives. */
static int tmp_image(simd_state *st, img_image *tmp, const img_image *src, img_error *err)
{
    const size_t stride = ((size_t)src->width + IMG_ROW_ALIGN - 1) / IMG_ROW_ALIGN * IMG_ROW_ALIGN;
    const size_t plane = stride * (size_t)src->height;
    const size_t need = plane * (size_t)src->channels + IMG_ROW_ALIGN;
    if (need > st->tmp_bytes) {
        void *block = aligned_alloc(IMG_ROW_ALIGN, need);
        if (!block)
            return img_fail(err, "simd: out of memory for a %dx%d intermediate", src->width,
                            src->height);
        free(st->tmp_block);
        st->tmp_block = block;
        st->tmp_bytes = need;
    }
    memset(tmp, 0, sizeof *tmp);
    tmp->width = src->width;
    tmp->height = src->height;
    tmp->channels = src->channels;
    for (int c = 0; c < src->channels; c++) {
        tmp->plane[c] = (uint8_t *)st->tmp_block + plane * (size_t)c;
        tmp->stride[c] = (ptrdiff_t)stride;
    }
    return 0;
}

/* The stages over output rows [y_begin, y_end) (y_end < 0: every row); a band of rows
 * only where the schedule is one pass (rows_only). */
static int run_stages(simd_state *st, img_image *dst, const img_image *src,
                      const img_plan *plan, const bool stages[IMG_STAGE_COUNT], int y_begin,
                      int y_end, img_error *err)
{
    const bool point = stages[IMG_STAGE_BRIGHTNESS] || stages[IMG_STAGE_CONTRAST];
    const bool blur = stages[IMG_STAGE_BLUR], resize = stages[IMG_STAGE_RESIZE];
    if (check_geometry(dst, src, plan, resize, err) != 0)
        return -1;
    if (img_simd_kernel_prepare(&st->k, plan, stages, err) != 0)
        return -1;
    for (int t = 0; t < st->threads; t++)
        if (img_simd_scratch_reserve(&st->scratch[t], src->width, st->k.radius, err) != 0)
            return -1;

    if (blur && resize && !st->k.y_fusable) {
        /* Two passes over the whole image: never for plans img_plan_init makes. */
        if (y_end >= 0)
            return img_fail(err, "simd: this plan's y map cannot run in bands of rows");
        img_image tmp;
        if (tmp_image(st, &tmp, src, err) != 0)
            return -1;
        dispatch(st, &tmp, src, point, true, false, 0, -1);
        dispatch(st, dst, &tmp, false, false, true, 0, -1);
        return 0;
    }
    dispatch(st, dst, src, point, blur, resize, y_begin, y_end);
    return 0;
}

static int simd_run_stage(void *state, img_stage stage, img_image *dst, const img_image *src,
                          const img_plan *plan, img_error *err)
{
    if ((unsigned)stage >= IMG_STAGE_COUNT)
        return img_fail(err, "simd: unknown stage %d", (int)stage);
    bool stages[IMG_STAGE_COUNT] = {false};
    stages[stage] = true;
    return run_stages(state, dst, src, plan, stages, 0, -1, err);
}

static int simd_run_pipeline(void *state, img_image *dst, const img_image *src,
                             const img_plan *plan, img_error *err)
{
    return run_stages(state, dst, src, plan, plan->enabled, 0, -1, err);
}

/* Bands of output rows are what the schedule computes anyway (each recomputes its
 * halo), so any split gives the whole run's bytes. */
static int simd_run_rows(void *state, img_image *dst, const img_image *src,
                         const img_plan *plan, int y0, int y1, img_error *err)
{
    if (y0 < 0 || y1 > plan->out_height || y0 >= y1)
        return img_fail(err, "simd: rows [%d, %d) are outside the %d output rows", y0, y1,
                        plan->out_height);
    return run_stages(state, dst, src, plan, plan->enabled, y0, y1, err);
}

static bool simd_probe(char *reason, size_t reason_len)
{
    (void)reason;
    (void)reason_len;
    return true;   /* the portable level runs anywhere */
}

static void simd_destroy(void *state)
{
    simd_state *st = state;
    if (!st)
        return;
    img_pool_destroy(st->pool);
    if (st->scratch)
        for (int t = 0; t < st->threads; t++)
            img_simd_scratch_free(&st->scratch[t]);
    free(st->scratch);
    img_simd_kernel_free(&st->k);
    free(st->tmp_block);
    free(st);
}

static int init_common(void **state, const img_backend_options *options, bool threaded,
                       img_error *err)
{
    *state = NULL;
    simd_state *st = calloc(1, sizeof *st);
    if (!st)
        return img_fail(err, "simd: out of memory");
    st->threaded = threaded;
    st->threads = 1;

    if (img_simd_choose_level(options ? options->simd_level : NULL, img_cpu_features(),
                              &st->level, err) != 0)
        goto fail;
    if (!img_simd_get_funcs(st->level, &st->f)) {
        img_fail(err, "simd: level %s is not built in", img_simd_level_name(st->level));
        goto fail;
    }
    if (options && (options->threads < 0 || options->band_rows < 0)) {
        img_fail(err, "simd: --threads and --band-rows must not be negative");
        goto fail;
    }
    if (threaded) {
        int n = options ? options->threads : 0;
        if (n == 0) {
            const int online = img_online_cpus();
            n = online > IMG_POOL_MAX_THREADS ? IMG_POOL_MAX_THREADS : online;
        }
        st->threads = n;
        st->band_rows = options ? options->band_rows : 0;
    }
    st->scratch = calloc((size_t)st->threads, sizeof *st->scratch);
    if (!st->scratch) {
        img_fail(err, "simd: out of memory");
        goto fail;
    }
    if (threaded && img_pool_create(&st->pool, st->threads, err) != 0)
        goto fail;
    *state = st;
    return 0;

fail:
    simd_destroy(st);
    return -1;
}

static int simd_init(void **state, const img_backend_options *options, img_error *err)
{
    return init_common(state, options, false, err);
}

static int simd_threads_init(void **state, const img_backend_options *options, img_error *err)
{
    return init_common(state, options, true, err);
}

static void simd_describe(void *state, char *buf, size_t len)
{
    const simd_state *st = state;
    if (!st) {
        snprintf(buf, len, "not initialised");
    } else if (st->threaded) {
        snprintf(buf, len, "%s, %d thread%s", st->f.name, st->threads, st->threads == 1 ? "" : "s");
    } else {
        snprintf(buf, len, "%s", st->f.name);
    }
}

/* ---- the compute roof ---- */

typedef struct roof_run {
    const img_simd_funcs *f;
    uint64_t rounds;
    uint64_t madds[IMG_POOL_MAX_THREADS];
    int32_t sink[IMG_POOL_MAX_THREADS];
} roof_run;

/* Zero weights the compiler cannot see through (see madd_peak in the template). */
static volatile int16_t roof_zero_source[IMG_SIMD_MAX_VECTOR / 2];

static void roof_task(void *arg, int index, int worker)
{
    (void)worker;
    roof_run *r = arg;
    int16_t zero[IMG_SIMD_MAX_VECTOR / 2];
    for (int i = 0; i < IMG_SIMD_MAX_VECTOR / 2; i++)
        zero[i] = roof_zero_source[i];
    r->madds[index] = r->f->madd_peak(r->rounds, zero, &r->sink[index]);
}

/* One task per thread, all at once, so `threads` cores issue multiply-adds together
 * (the pool's workers block between batches; one task each runs them side by side).
 * The round count is calibrated on one thread first so the timed batch lasts about
 * `seconds`; the best of three batches is kept, as a peak is. */
static int simd_compute_roof(void *state, int threads, double seconds, img_compute_roof *out,
                             img_error *err)
{
    simd_state *st = state;
    memset(out, 0, sizeof *out);
    if (threads < 1 || threads > IMG_POOL_MAX_THREADS)
        return img_fail(err, "simd: compute roof: %d threads is out of range", threads);
    roof_run *r = calloc(1, sizeof *r);
    if (!r)
        return img_fail(err, "simd: out of memory");
    img_pool *pool = NULL;
    if (img_pool_create(&pool, threads, err) != 0) {
        free(r);
        return -1;
    }
    r->f = &st->f;
    r->rounds = 1u << 12;
    for (;;) {   /* calibrate: double until one run takes a tenth of the target */
        double t0 = img_now();
        roof_task(r, 0, 0);
        double dt = img_now() - t0;
        if (dt >= seconds / 10 || r->rounds >= (UINT64_C(1) << 40))
            break;
        r->rounds *= 2;
    }
    r->rounds *= 10;
    double best = 0.0;
    for (int attempt = 0; attempt < 3; attempt++) {
        double t0 = img_now();
        img_pool_run(pool, roof_task, r, threads);
        double dt = img_now() - t0;
        uint64_t madds = 0;
        for (int t = 0; t < threads; t++)
            madds += r->madds[t];
        if (dt > 0 && (double)madds / dt > best)
            best = (double)madds / dt;
    }
    img_pool_destroy(pool);
    snprintf(out->level, sizeof out->level, "%s", st->f.name);
    snprintf(out->instruction, sizeof out->instruction, "%s", st->f.madd_instruction);
    out->threads = threads;
    out->madds_per_second = best;
    free(r);
    return 0;
}

/* The table's view of the level enum: names only, so no caller needs funcs.h. */
static const char *simd_level(int i)
{
    return i >= 0 && i < IMG_SIMD_LEVEL_COUNT ? img_simd_level_name((img_simd_level)i) : NULL;
}

const img_backend img_backend_simd = {
    .name = "simd",
    .description = "SIMDe vectors (portable/SSE4.1/AVX2/AVX-512), fused stages, one thread",
    .flags = IMG_BACKEND_SIMD_LEVELS,
    .options = IMG_OPTION_SIMD,
    .probe = simd_probe,
    .init = simd_init,
    .destroy = simd_destroy,
    .run_stage = simd_run_stage,
    .run_pipeline = simd_run_pipeline,
    .run_rows = simd_run_rows,
    .describe = simd_describe,
    .simd_level = simd_level,
    .compute_roof = simd_compute_roof,
};

const img_backend img_backend_simd_threads = {
    .name = "simd-threads",
    .description = "the simd backend's fused bands on a worker pool",
    .flags = IMG_BACKEND_THREADED | IMG_BACKEND_SIMD_LEVELS,
    .options = IMG_OPTION_THREADS | IMG_OPTION_BAND_ROWS | IMG_OPTION_SIMD,
    .probe = simd_probe,
    .init = simd_threads_init,
    .destroy = simd_destroy,
    .run_stage = simd_run_stage,
    .run_pipeline = simd_run_pipeline,
    .run_rows = simd_run_rows,
    .describe = simd_describe,
    .simd_level = simd_level,
    .compute_roof = simd_compute_roof,
};

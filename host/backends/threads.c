/* The `threads` backend: the pipeline cut into horizontal bands of rows, one task per
 * (plane, band), run on a persistent pthreads pool.
 *
 * Schedule. The blur needs `r` rows above and below each output row, and the resize
 * reads source rows from anywhere, so a run is at most two batches with the pool's
 * batch boundary as the only barrier:
 *
 *   1. point ops + blur, fused per band: for output rows [y0, y1) the task applies the
 *      point table to rows [y0 - r, y1 + r) (clamped to the image), runs the
 *      horizontal pass on them into a per-worker int16 scratch, then the vertical pass
 *      into a full-size blurred image. Neighbouring bands both compute the halo rows
 *      between them: bounded repeated work (see MIN_BAND_PER_RADIUS) buys tasks that
 *      share nothing but read-only input.
 *   2. resize over bands of output rows, reading the blurred image.
 *
 * Without blur the point table is applied while the resize reads its source rows (one
 * batch); without resize the blur writes straight into dst; with neither, one batch of
 * point ops (or plain copies). On one core the tasks interleave; on several they run in
 * parallel: the schedule is the same and the trace shows which happened.
 *
 * Arithmetic. Every formula is the serial reference's (serial.c), in the same integer
 * types; only the loop order differs (the sums of non-negative integer products are
 * exact in any order), which lets the compiler vectorise the inner loops. The tests
 * compare every path with the serial backend bit for bit. */
#include "threads_backend.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend.h"
#include "clock.h"
#include "pool.h"
#include "trace.h"

/* A band's working set aims at this: half the L2 of a current core (1-2 MiB), so
 * the int16 rows of the horizontal pass are still cached when the vertical pass reads
 * them back. Smaller bands would fit smaller caches, but every band recomputes 2r
 * halo rows of the horizontal pass: measured on 3840x2160 RGB (r = 6), 256 KiB bands
 * (8 rows) took 1.7x the time of 64-row bands on one thread, which is exactly the
 * extra horizontal work; the cache misses of the bigger band did not show. */
#define TARGET_BAND_BYTES (1024 * 1024)
/* Bands are at least this many times the blur radius, so the recomputed halo is at
 * most half of a band's horizontal pass whatever the width. */
#define MIN_BAND_PER_RADIUS 4
/* Enough tasks per worker that an uneven finish (a preempted worker, a slower core)
 * costs a small band, not a quarter of the run. */
#define TASKS_PER_THREAD 4
#define SCRATCH_ALIGN 64

/* Per-worker buffers, indexed by the pool's worker number: a worker runs one task at
 * a time, so its scratch is never shared. Only the caller (between batches) resizes
 * them; workers only use them. */
typedef struct worker_scratch {
    void *tmp;       /* int16: horizontal-pass rows of one band, halo included */
    size_t tmp_cap;  /* bytes */
    void *acc;       /* int32: one row of accumulators */
    size_t acc_cap;
    void *rows;      /* uint8: point-op'd source rows (one for blur, two for resize) */
    size_t rows_cap;
} worker_scratch;

typedef struct threads_state {
    img_pool *pool;
    int threads;
    int band_rows_option;     /* 0 = auto */
    bool trace_runs;          /* options.trace_path was set: record every pipeline run */
    worker_scratch *scratch;  /* `threads` entries */
    void *mid;                /* the blurred image between the two batches */
    size_t mid_cap;
    img_trace trace;

    /* Per run; set by the caller before a batch, read by workers during it (the pool's
     * mutex orders the two). */
    bool tracing;
    bool traced;              /* the last pipeline run's tasks are in `trace` */
    int grows;
    /* The CPUs this run's tasks were seen on, one bit per CPU: reset by the caller
     * before the first batch, set by the workers, read after the last barrier. */
    _Atomic uint64_t cpu_bits[IMG_CPU_MASK_CPUS / 64];

    bool have_stats;
    img_threads_stats last;
} threads_state;

typedef enum job_kind { JOB_POINT, JOB_BLUR, JOB_RESIZE } job_kind;

/* One batch: what every task of it does, and how the rows are cut. */
typedef struct job {
    threads_state *st;
    job_kind kind;
    const char *name;        /* trace category: "blur", "point+resize"... */
    const uint8_t *lut;      /* applied to colour planes before the stage; NULL = none */
    const img_image *src;
    const img_image *dst;    /* each task writes only its own band of rows */
    const img_plan *plan;
    int planes;
    int rows;                /* output rows per plane */
    int band_rows;
    int bands;               /* per plane */
} job;

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

static int max_int(int a, int b)
{
    return a > b ? a : b;
}

static int clamp_index(int i, int n)
{
    return i < 0 ? 0 : i >= n ? n - 1 : i;
}

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

/* ---- row kernels: the serial formulas, one row at a time ---- */

static void point_row(uint8_t *out, const uint8_t *in, int w, const uint8_t *lut)
{
    if (!lut) {
        memcpy(out, in, (size_t)w);
        return;
    }
    for (int x = 0; x < w; x++)
        out[x] = lut[in[x]];
}

/* The reference loop for columns [x0, x1), clamping every tap. */
static void blur_h_clamped(int16_t *out, const uint8_t *in, int w, int x0, int x1,
                           const int32_t *wt, int r)
{
    for (int x = x0; x < x1; x++) {
        int32_t sum = 0;
        for (int k = -r; k <= r; k++)
            sum += wt[k + r] * in[clamp_index(x + k, w)];
        out[x] = (int16_t)img_asr(sum + 64, 7);
    }
}

/* tmp[x] = (sum_k W_k * in[clamp(x + k)] + 64) >> 7. Interior columns, whose taps all
 * fall inside the row, skip the clamp and are summed tap by tap into acc, which
 * vectorises; the few edge columns use the reference loop. */
static void blur_h_row(int16_t *out, const uint8_t *in, int w, const int32_t *wt, int r,
                       int32_t *acc)
{
    int lo = min_int(r, w);            /* interior: x - r >= 0 and x + r <= w - 1 */
    int hi = max_int(w - r, lo);
    blur_h_clamped(out, in, w, 0, lo, wt, r);
    blur_h_clamped(out, in, w, hi, w, wt, r);
    for (int x = lo; x < hi; x++)
        acc[x] = 0;
    for (int k = -r; k <= r; k++) {
        int32_t wk = wt[k + r];
        for (int x = lo; x < hi; x++)
            acc[x] += wk * in[x + k];
    }
    for (int x = lo; x < hi; x++)
        out[x] = (int16_t)img_asr(acc[x] + 64, 7);
}

/* Output row y of an image h rows tall: o = clamp((sum_k W_k * tmp[clamp(y + k)] +
 * 2^20) >> 21), where tmp holds the horizontal pass of rows [h0, ...) with stride w.
 * The band's rows include every clamped y + k (see blur_band), so clamping to the
 * image and then offsetting by h0 stays inside tmp. */
static void blur_v_row(uint8_t *out, const int16_t *tmp, int w, int h, int y, int h0,
                       const int32_t *wt, int r, int32_t *acc)
{
    for (int x = 0; x < w; x++)
        acc[x] = 0;
    for (int k = -r; k <= r; k++) {
        const int16_t *t = tmp + (size_t)(clamp_index(y + k, h) - h0) * (size_t)w;
        int32_t wk = wt[k + r];
        for (int x = 0; x < w; x++)
            acc[x] += wk * t[x];
    }
    for (int x = 0; x < w; x++)
        out[x] = img_clamp_u8(img_asr(acc[x] + (1 << 20), 21));
}

static void resize_row(uint8_t *out, const uint8_t *row0, const uint8_t *row1, int32_t fy,
                       const img_resize_axis *mx)
{
    const int32_t one = IMG_RESIZE_ONE;
    for (int x = 0; x < mx->out_len; x++) {
        int32_t fx = mx->frac[x];
        uint32_t a = row0[mx->i0[x]], b = row0[mx->i1[x]];
        uint32_t c = row1[mx->i0[x]], d = row1[mx->i1[x]];
        /* Below 2^31 in total, as in img_serial_resize_rows. */
        uint32_t sum = (uint32_t)((one - fx) * (one - fy)) * a + (uint32_t)(fx * (one - fy)) * b +
                       (uint32_t)((one - fx) * fy) * c + (uint32_t)(fx * fy) * d + (1u << 21);
        out[x] = (uint8_t)(sum >> 22);
    }
}

/* ---- tasks ---- */

static void point_band(const job *j, const uint8_t *lut, int c, int y0, int y1)
{
    for (int y = y0; y < y1; y++)
        point_row(img_row(j->dst, c, y), img_row(j->src, c, y), j->src->width, lut);
}

static void blur_band(const job *j, worker_scratch *ws, const uint8_t *lut, int c, int y0,
                      int y1)
{
    const img_plan *plan = j->plan;
    int w = j->src->width, h = j->src->height, r = plan->blur_radius;
    /* Rows [h0, h1) are every row y + k, k in [-r, r], clamped, for y in [y0, y1). */
    int h0 = max_int(0, y0 - r), h1 = min_int(h, y1 + r);
    int16_t *tmp = ws->tmp;
    int32_t *acc = ws->acc;
    for (int y = h0; y < h1; y++) {
        const uint8_t *in = img_row(j->src, c, y);
        if (lut) {
            point_row(ws->rows, in, w, lut);
            in = ws->rows;
        }
        blur_h_row(tmp + (size_t)(y - h0) * (size_t)w, in, w, plan->blur_weights, r, acc);
    }
    for (int y = y0; y < y1; y++)
        blur_v_row(img_row(j->dst, c, y), tmp, w, h, y, h0, plan->blur_weights, r, acc);
}

static void resize_band(const job *j, worker_scratch *ws, const uint8_t *lut, int c, int y0,
                        int y1)
{
    const img_resize_axis *my = &j->plan->resize_y;
    int w = j->src->width;
    /* With a point table, source rows are converted once into two row buffers keyed
     * by row parity: an output row reads rows i0 and i0 + 1 (or i0 twice), which never
     * share a parity, and consecutive output rows mostly reuse them. */
    uint8_t *buf[2] = {ws->rows, (uint8_t *)ws->rows + round_up((size_t)w, SCRATCH_ALIGN)};
    int cached[2] = {-1, -1};
    for (int y = y0; y < y1; y++) {
        int sy[2] = {my->i0[y], my->i1[y]};
        const uint8_t *row[2];
        for (int i = 0; i < 2; i++) {
            row[i] = img_row(j->src, c, sy[i]);
            if (lut) {
                int slot = sy[i] & 1;
                if (cached[slot] != sy[i]) {
                    point_row(buf[slot], row[i], w, lut);
                    cached[slot] = sy[i];
                }
                row[i] = buf[slot];
            }
        }
        resize_row(img_row(j->dst, c, y), row[0], row[1], my->frac[y], &j->plan->resize_x);
    }
}

/* Records that a task ran on cpu. Most tasks find their bit already set: a load first
 * keeps the shared line from bouncing between workers on every task. */
static void mark_cpu(threads_state *st, int cpu)
{
    if (cpu < 0 || cpu >= IMG_CPU_MASK_CPUS)
        return;
    _Atomic uint64_t *word = &st->cpu_bits[cpu / 64];
    uint64_t bit = (uint64_t)1 << (cpu % 64);
    if (!(atomic_load_explicit(word, memory_order_relaxed) & bit))
        atomic_fetch_or_explicit(word, bit, memory_order_relaxed);
}

static void run_task(void *arg, int index, int worker)
{
    const job *j = arg;
    threads_state *st = j->st;
    int plane = index / j->bands, band = index % j->bands;
    int y0 = band * j->band_rows, y1 = min_int(y0 + j->band_rows, j->rows);
    /* Point stages leave alpha alone; the geometric ones treat every plane alike. */
    const uint8_t *lut = img_is_alpha_plane(j->src->channels, plane) ? NULL : j->lut;
    worker_scratch *ws = &st->scratch[worker];

    /* Where the task starts and ends (a worker may migrate in between): whether the
     * run was parallel is read from these, traced or not. */
    int64_t start = 0;
    int cpu = sched_getcpu();
    if (st->tracing)
        start = img_now_ns();
    switch (j->kind) {
    case JOB_POINT:
        point_band(j, lut, plane, y0, y1);
        break;
    case JOB_BLUR:
        blur_band(j, ws, lut, plane, y0, y1);
        break;
    case JOB_RESIZE:
        resize_band(j, ws, lut, plane, y0, y1);
        break;
    }
    int cpu_end = sched_getcpu();
    if (st->tracing) {
        int64_t end = img_now_ns();
        img_trace_event *e = img_trace_slot(&st->trace);
        if (e)
            *e = (img_trace_event){.stage = j->name, .band = band, .plane = plane,
                                   .worker = worker, .cpu = cpu < 0 ? -1 : cpu,
                                   .cpu_end = cpu_end < 0 ? -1 : cpu_end,
                                   .start_ns = start, .end_ns = end};
    }
    mark_cpu(st, cpu);
    mark_cpu(st, cpu_end);
}

/* ---- batches ---- */

static int auto_band_rows(const threads_state *st, job_kind kind, const img_image *src,
                          const img_image *dst, const img_plan *plan)
{
    double w = src->width, out_w = dst->width;
    double per_row, fixed = 0;
    switch (kind) {
    case JOB_BLUR:
        /* Per output row: its input row, its int16 row, its output row; plus the 2r
         * halo rows of input and int16 that every band carries. */
        per_row = 4.0 * w;
        fixed = 2.0 * plan->blur_radius * 3.0 * w;
        break;
    case JOB_RESIZE:
        /* Per output row: the output row and the source rows it moves past. */
        per_row = out_w + w * (double)src->height / (double)dst->height;
        fixed = 2.0 * w;
        break;
    default:
        per_row = 2.0 * w;
        break;
    }
    double b = (TARGET_BAND_BYTES - fixed) / per_row;
    if (kind == JOB_BLUR && b < MIN_BAND_PER_RADIUS * plan->blur_radius)
        b = MIN_BAND_PER_RADIUS * plan->blur_radius;
    int rows = dst->height;
    int band = b < 1.0 ? 1 : b > rows ? rows : (int)b;
    /* Smaller bands when the cache-sized ones would leave workers idle: at least
     * TASKS_PER_THREAD tasks per worker over all planes, when there are rows for it. */
    int want = TASKS_PER_THREAD * st->threads;
    int per_plane = (want + src->channels - 1) / src->channels;
    return max_int(1, min_int(band, rows / per_plane));
}

static int grow(void **buf, size_t *cap, size_t need, int *grows, img_error *err)
{
    if (need <= *cap)
        return 0;
    size_t bytes = round_up(need, SCRATCH_ALIGN);
    void *p = aligned_alloc(SCRATCH_ALIGN, bytes);
    if (!p)
        return img_fail(err, "threads: out of memory for %zu bytes of scratch", bytes);
    free(*buf);
    *buf = p;
    *cap = bytes;
    (*grows)++;
    return 0;
}

/* Fills in the cut of a job and makes sure every worker's scratch can hold a band. */
static int plan_job(threads_state *st, job *j, img_error *err)
{
    const img_image *src = j->src;
    j->planes = src->channels;
    j->rows = j->dst->height;
    j->band_rows = st->band_rows_option > 0 ? min_int(st->band_rows_option, j->rows)
                                            : auto_band_rows(st, j->kind, src, j->dst, j->plan);
    j->bands = (j->rows + j->band_rows - 1) / j->band_rows;

    size_t w = (size_t)src->width, tmp = 0, acc = 0, rows = 0;
    if (j->kind == JOB_BLUR) {
        size_t band_h = (size_t)min_int(j->band_rows + 2 * j->plan->blur_radius, src->height);
        tmp = band_h * w * sizeof(int16_t);
        acc = w * sizeof(int32_t);
        rows = j->lut ? w : 0;
    } else if (j->kind == JOB_RESIZE && j->lut) {
        rows = 2 * round_up(w, SCRATCH_ALIGN);
    }
    for (int t = 0; t < st->threads; t++) {
        worker_scratch *ws = &st->scratch[t];
        if (grow(&ws->tmp, &ws->tmp_cap, tmp, &st->grows, err) != 0 ||
            grow(&ws->acc, &ws->acc_cap, acc, &st->grows, err) != 0 ||
            grow(&ws->rows, &ws->rows_cap, rows, &st->grows, err) != 0)
            return -1;
    }
    return 0;
}

static int job_tasks(const job *j)
{
    return j->planes * j->bands;
}

static void run_job(threads_state *st, job *j)
{
    img_pool_run(st->pool, run_task, j, job_tasks(j));
}

/* A view of the state's intermediate image with src's geometry. The state owns the
 * memory, so the view's storage stays NULL and the view is never freed. */
static int mid_image(threads_state *st, img_image *view, const img_image *src, img_error *err)
{
    size_t stride = round_up((size_t)src->width, IMG_ROW_ALIGN);
    size_t plane_bytes = stride * (size_t)src->height;
    if (grow(&st->mid, &st->mid_cap, plane_bytes * (size_t)src->channels + IMG_ROW_ALIGN,
             &st->grows, err) != 0)
        return -1;
    memset(view, 0, sizeof *view);
    view->width = src->width;
    view->height = src->height;
    view->channels = src->channels;
    for (int c = 0; c < src->channels; c++) {
        view->plane[c] = (uint8_t *)st->mid + plane_bytes * (size_t)c;
        view->stride[c] = (ptrdiff_t)stride;
    }
    return 0;
}

static int check_geometry(const img_image *dst, const img_image *src, const img_plan *plan,
                          bool resized, img_error *err)
{
    int want_w = resized ? plan->out_width : plan->in_width;
    int want_h = resized ? plan->out_height : plan->in_height;
    if (src->width != plan->in_width || src->height != plan->in_height)
        return img_fail(err, "threads: input is %dx%d but the plan is for %dx%d", src->width,
                        src->height, plan->in_width, plan->in_height);
    if (dst->width != want_w || dst->height != want_h || dst->channels != src->channels)
        return img_fail(err, "threads: output is %dx%d with %d channels, expected %dx%d with %d",
                        dst->width, dst->height, dst->channels, want_w, want_h, src->channels);
    return 0;
}

/* ---- the backend table ---- */

static void threads_destroy(void *state)
{
    threads_state *st = state;
    if (!st)
        return;
    /* Workers first: nothing may touch the scratch once it is freed. */
    img_pool_destroy(st->pool);
    if (st->scratch)
        for (int t = 0; t < st->threads; t++) {
            free(st->scratch[t].tmp);
            free(st->scratch[t].acc);
            free(st->scratch[t].rows);
        }
    free(st->scratch);
    free(st->mid);
    img_trace_free(&st->trace);
    free(st);
}

static int threads_init(void **state, const img_backend_options *options, img_error *err)
{
    *state = NULL;
    int threads = options && options->threads ? options->threads : img_online_cpus();
    int band_rows = options ? options->band_rows : 0;
    if (threads < 1 || threads > IMG_POOL_MAX_THREADS)
        return img_fail(err, "threads: thread count %d is out of range [1, %d]", threads,
                        IMG_POOL_MAX_THREADS);
    if (band_rows < 0)
        return img_fail(err, "threads: band height %d rows is negative", band_rows);

    threads_state *st = calloc(1, sizeof *st);
    if (!st)
        return img_fail(err, "threads: out of memory");
    st->threads = threads;
    st->band_rows_option = band_rows;
    atomic_init(&st->trace.count, 0);
    for (int w = 0; w < IMG_CPU_MASK_CPUS / 64; w++)
        atomic_init(&st->cpu_bits[w], 0);
    st->scratch = calloc((size_t)threads, sizeof *st->scratch);
    if (!st->scratch) {
        threads_destroy(st);
        return img_fail(err, "threads: out of memory");
    }
    st->trace_runs = options && options->trace_path;
    if (img_pool_create(&st->pool, threads, err) != 0) {
        threads_destroy(st);
        return -1;
    }
    *state = st;
    return 0;
}

static int threads_run_stage(void *state, img_stage stage, img_image *dst, const img_image *src,
                             const img_plan *plan, img_error *err)
{
    threads_state *st = state;
    if ((unsigned)stage >= IMG_STAGE_COUNT)
        return img_fail(err, "threads: unknown stage %d", (int)stage);
    bool resized = stage == IMG_STAGE_RESIZE && plan->enabled[IMG_STAGE_RESIZE];
    if (check_geometry(dst, src, plan, resized, err) != 0)
        return -1;
    job j = {.st = st, .src = src, .dst = dst, .plan = plan, .name = img_stage_name(stage)};
    switch (stage) {
    case IMG_STAGE_BRIGHTNESS:
        j.kind = JOB_POINT;
        j.lut = plan->brightness_lut;
        break;
    case IMG_STAGE_CONTRAST:
        j.kind = JOB_POINT;
        j.lut = plan->contrast_lut;
        break;
    /* A disabled blur or resize is the identity (the plan leaves no weights or maps
     * for it), so it runs as a copy. */
    case IMG_STAGE_BLUR:
        j.kind = plan->enabled[IMG_STAGE_BLUR] ? JOB_BLUR : JOB_POINT;
        break;
    default:
        j.kind = resized ? JOB_RESIZE : JOB_POINT;
        break;
    }
    st->tracing = false;
    st->grows = 0;
    if (plan_job(st, &j, err) != 0)
        return -1;
    run_job(st, &j);
    return 0;
}

static int threads_run_pipeline(void *state, img_image *dst, const img_image *src,
                                 const img_plan *plan, img_error *err)
{
    threads_state *st = state;
    st->traced = false;
    if (check_geometry(dst, src, plan, true, err) != 0)
        return -1;

    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    const double cpu0 = img_cpu_seconds();
    const double wall0 = img_now();

    st->grows = 0;
    const bool point = plan->enabled[IMG_STAGE_BRIGHTNESS] || plan->enabled[IMG_STAGE_CONTRAST];
    const bool blur = plan->enabled[IMG_STAGE_BLUR];
    const bool resize = plan->enabled[IMG_STAGE_RESIZE];
    const uint8_t *lut = point ? plan->point_lut : NULL;

    job jobs[2];
    int njobs = 0;
    img_image mid;
    if (blur) {
        const img_image *out = dst;
        if (resize) {
            if (mid_image(st, &mid, src, err) != 0)
                return -1;
            out = &mid;
        }
        jobs[njobs++] = (job){.kind = JOB_BLUR, .name = point ? "point+blur" : "blur",
                              .lut = lut, .src = src, .dst = out};
        if (resize)
            jobs[njobs++] = (job){.kind = JOB_RESIZE, .name = "resize", .src = out, .dst = dst};
    } else if (resize) {
        jobs[njobs++] = (job){.kind = JOB_RESIZE, .name = point ? "point+resize" : "resize",
                              .lut = lut, .src = src, .dst = dst};
    } else {
        jobs[njobs++] = (job){.kind = JOB_POINT, .name = point ? "point" : "copy", .lut = lut,
                              .src = src, .dst = dst};
    }
    int tasks = 0, widest = 0;
    for (int i = 0; i < njobs; i++) {
        jobs[i].st = st;
        jobs[i].plan = plan;
        if (plan_job(st, &jobs[i], err) != 0)
            return -1;
        tasks += job_tasks(&jobs[i]);
        widest = max_int(widest, job_tasks(&jobs[i]));
    }
    for (int w = 0; w < IMG_CPU_MASK_CPUS / 64; w++)
        atomic_store_explicit(&st->cpu_bits[w], 0, memory_order_relaxed);
    st->tracing = st->trace_runs;
    if (st->tracing && img_trace_reserve(&st->trace, (size_t)tasks, err) != 0)
        return -1;

    for (int i = 0; i < njobs; i++)
        run_job(st, &jobs[i]);

    const double wall1 = img_now();
    const double cpu1 = img_cpu_seconds();
    getrusage(RUSAGE_SELF, &ru1);
    st->last = (img_threads_stats){
        .wall_seconds = wall1 - wall0,
        .cpu_seconds = cpu1 - cpu0,
        .voluntary_switches = ru1.ru_nvcsw - ru0.ru_nvcsw,
        .involuntary_switches = ru1.ru_nivcsw - ru0.ru_nivcsw,
        .threads = st->threads,
        .tasks = tasks,
        .batches = njobs,
        .band_rows = jobs[0].band_rows,
        .scratch_grows = st->grows,
        .widest_batch = widest,
    };
    for (int w = 0; w < IMG_CPU_MASK_CPUS / 64; w++)
        st->last.cpus_seen.bits[w] = atomic_load_explicit(&st->cpu_bits[w], memory_order_relaxed);
    st->last.cpus_used = img_cpu_mask_count(&st->last.cpus_seen);
    st->have_stats = true;
    /* The caller writes the events (trace()): a file is about the run, not part of it. */
    st->traced = st->tracing;
    st->tracing = false;
    return 0;
}

static bool threads_probe(char *reason, size_t reason_len)
{
    (void)reason;
    (void)reason_len;
    return true;
}

static void threads_describe(void *state, char *buf, size_t len)
{
    const threads_state *st = state;
    if (!st) {
        snprintf(buf, len, "not initialised");
    } else if (st->band_rows_option > 0) {
        snprintf(buf, len, "%d thread%s, band %d row%s", st->threads,
                 st->threads == 1 ? "" : "s", st->band_rows_option,
                 st->band_rows_option == 1 ? "" : "s");
    } else if (st->have_stats) {
        snprintf(buf, len, "%d thread%s, band %d row%s (auto)", st->threads,
                 st->threads == 1 ? "" : "s", st->last.band_rows,
                 st->last.band_rows == 1 ? "" : "s");
    } else {
        snprintf(buf, len, "%d thread%s, band auto", st->threads, st->threads == 1 ? "" : "s");
    }
}

/* "wall" and "cpu" are seconds. "vcsw" and "ivcsw" are context switch counts carried
 * in the `seconds` field (a double holds them exactly), because img_breakdown has no
 * other slot for a number; counters() gives them typed. */
static void threads_breakdown(void *state, img_breakdown *out)
{
    const threads_state *st = state;
    out->count = 0;
    if (!st || !st->have_stats)
        return;
    out->count = 4;
    out->part[0].name = "wall";
    out->part[0].seconds = st->last.wall_seconds;
    out->part[1].name = "cpu";
    out->part[1].seconds = st->last.cpu_seconds;
    out->part[2].name = "vcsw";
    out->part[2].seconds = (double)st->last.voluntary_switches;
    out->part[3].name = "ivcsw";
    out->part[3].seconds = (double)st->last.involuntary_switches;
}

int img_threads_last_stats(void *state, img_threads_stats *out)
{
    const threads_state *st = state;
    if (!st || !st->have_stats)
        return -1;
    *out = st->last;
    return 0;
}

static const img_trace *threads_trace(void *state, int *tracks, const char *const **names)
{
    const threads_state *st = state;
    if (!st || !st->traced)
        return NULL;
    *tracks = st->threads;
    *names = NULL;
    return &st->trace;
}

const img_backend img_backend_threads = {
    .name = "threads",
    .description = "pthreads pool: row bands as tasks; interleaved on one core, parallel on many",
    .flags = IMG_BACKEND_THREADED | IMG_BACKEND_SCALING_SERIES,
    .options = IMG_OPTION_THREADS | IMG_OPTION_BAND_ROWS | IMG_OPTION_TRACE,
    .probe = threads_probe,
    .init = threads_init,
    .destroy = threads_destroy,
    .run_stage = threads_run_stage,
    .run_pipeline = threads_run_pipeline,
    .describe = threads_describe,
    .breakdown = threads_breakdown,
    .counters = img_threads_last_stats,
    .trace = threads_trace,
};

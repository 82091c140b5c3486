/* `imgpipe bench`, the main job: verify, then time every backend honestly.
 *
 * For each size and each backend setting: init (timed: thread start, OpenCL build),
 * the first run (timed: "cold"), a stage-by-stage verification against serial (a
 * backend that differs is reported and never timed), warm-up runs, then repetitions
 * until both --reps and --min-time are reached. Reported: median, min, max and
 * quartiles of the per-run wall time on the monotonic clock, throughput, process
 * CPU time and context switches per run, and the backend's own breakdown.
 *
 * With --input, each backend also gets a whole-job row (job "whole"), timed in the same
 * rounds as the pipeline rows: the input file's bytes, held in memory, decoded; the
 * pipeline; the output encoded to the input's format, in memory. Its breakdown holds
 * the medians of the three parts, so the reader sees how much of the whole job a
 * faster pipeline can win (Amdahl). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "bench.h"
#include "chart.h"
#include "fsutil.h"
#include "registry.h"
#include "synth.h"
#include "verify.h"

#define MAX_ROWS 512
#define MAX_SAMPLES 100000
#define MAX_TRIALS 64

/* The input of the whole-job rows: the file's bytes, and how they are decoded and the
 * output encoded (the name's extension picks the output format: the input's own). */
typedef struct whole_input {
    const char *name;
    const uint8_t *data;
    size_t size;
    img_read_options read_options;
    img_write_options write_options;
} whole_input;

/* The parts of a whole job, in the order of img_bench_breakdown_columns from
 * IMG_BENCH_FIRST_WHOLE_PART on: decode, pipeline, encode. */
enum { WHOLE_DECODE, WHOLE_PIPELINE, WHOLE_ENCODE };

typedef struct bench_ctx {
    const img_cli *cli;
    img_bench_report *report;
    bool progress;           /* stderr is a terminal */
    int step, steps;
    double *samples;         /* MAX_SAMPLES scratch for the stage timings */
    int named_unavailable;   /* backends named in --backends that cannot run here */
    bool whole_header_printed;
} bench_ctx;

static void size_name(char *buf, size_t len, int w, int h)
{
    snprintf(buf, len, "%dx%d", w, h);
}

static void print_header(void)
{
    printf("%-13s %-18s %-11s %-9s %9s %9s %9s %8s %7s %6s %5s %7s\n", "backend", "setting",
           "size", "verdict", "median ms", "IQR ms", "MP/s", "GB/s", "of bw", "x ser", "cores",
           "ivcsw");
}

static void print_row(const img_bench_row *r)
{
    char size[32], setting[96];
    size_name(size, sizeof size, r->width, r->height);
    /* A pinned row says so: "threads=4 cpus=0" is the interleaved case. */
    snprintf(setting, sizeof setting, "%s%s%s", r->setting, strcmp(r->cpus, "all") ? " cpus=" : "",
             strcmp(r->cpus, "all") ? r->cpus : "");
    if (r->verdict != IMG_VERDICT_BIT_EXACT) {
        printf("%-13s %-18s %-11s %-9s %s\n", r->backend, setting, size,
               img_verdict_name(r->verdict), r->note);
        return;
    }
    printf("%-13s %-18s %-11s %-9s %9.2f %9.2f %9.1f %8.2f %6.0f%% %6.2f %5.2f %7.1f",
           r->backend, setting, size, "ok", r->time.median * 1e3, r->time.iqr * 1e3,
           r->mpix_per_s, r->gb_per_s, r->bandwidth_fraction * 100.0, r->speedup,
           r->cpu_per_wall, r->ivcsw_per_run);
    if (r->disturbed == 1) {
        char why[128];
        img_bench_describe_disturbed(r, why, sizeof why);
        printf("  disturbed: %s", why);
    }
    putchar('\n');
    fflush(stdout);
}

static double whole_part(const img_bench_row *r, int part)
{
    return img_breakdown_get(&r->breakdown,
                             img_bench_breakdown_columns[IMG_BENCH_FIRST_WHOLE_PART + part]);
}

/* Amdahl's ceiling of a whole-job row: its speedup if the pipeline took no time, from
 * the parts' medians; 0 when decode and encode took none (no bound). */
static double whole_ceiling(const img_bench_row *r)
{
    double decode = whole_part(r, WHOLE_DECODE), pipeline = whole_part(r, WHOLE_PIPELINE);
    double encode = whole_part(r, WHOLE_ENCODE);
    return decode + encode > 0 ? (decode + pipeline + encode) / (decode + encode) : 0.0;
}

/* The whole-job rows get a table of their own, after the pipeline rows of their size. */
static void print_whole_row(bench_ctx *ctx, const img_bench_row *r)
{
    if (!ctx->whole_header_printed) {
        printf("\nwhole job: %s decoded from memory, the pipeline, encoded to its format in "
               "memory (medians; ceiling: the job's speedup if the pipeline took no time)\n",
               ctx->cli->input);
        printf("%-13s %-18s %-11s %-9s %9s %9s %11s %9s %6s %8s %6s\n", "backend", "setting",
               "size", "verdict", "total ms", "decode ms", "pipeline ms", "encode ms", "pipe%",
               "ceiling", "x ser");
        ctx->whole_header_printed = true;
    }
    char size[32];
    size_name(size, sizeof size, r->width, r->height);
    if (r->verdict != IMG_VERDICT_BIT_EXACT) {
        printf("%-13s %-18s %-11s %-9s %s\n", r->backend, r->setting, size,
               img_verdict_name(r->verdict), r->note);
        return;
    }
    double decode = whole_part(r, WHOLE_DECODE), pipeline = whole_part(r, WHOLE_PIPELINE);
    double encode = whole_part(r, WHOLE_ENCODE), sum = decode + pipeline + encode;
    printf("%-13s %-18s %-11s %-9s %9.2f %9.2f %11.2f %9.2f %5.1f%% %7.2fx %6.2f\n", r->backend,
           r->setting, size, "ok", r->time.median * 1e3, decode * 1e3, pipeline * 1e3,
           encode * 1e3, sum > 0 ? 100.0 * pipeline / sum : 0.0, whole_ceiling(r), r->speedup);
    fflush(stdout);
}

/* Times each enabled stage alone (fed serial's output of the stage before, as verify
 * does), for the "where the time goes" chart. A fused pipeline may take less than
 * the sum: that difference is what the fusion buys. */
static int time_stages(bench_ctx *ctx, const img_backend *b, void *state, const img_image *src,
                       const img_plan *plan, img_bench_row *row, img_error *err)
{
    const img_backend *serial = img_backend_reference();
    img_image in = {0}, out = {0};
    const img_image *cur = src;
    int rc = 0;
    int reps = ctx->cli->reps < 5 ? ctx->cli->reps : 5;
    for (int s = 0; s < IMG_STAGE_COUNT; s++)
        row->stage_s[s] = -1.0;
    for (int s = 0; s < IMG_STAGE_COUNT && rc == 0; s++) {
        if (!plan->enabled[s])
            continue;
        int w = s == IMG_STAGE_RESIZE ? plan->out_width : cur->width;
        int h = s == IMG_STAGE_RESIZE ? plan->out_height : cur->height;
        if ((rc = img_image_alloc(&out, w, h, cur->channels, UINT64_MAX, err)) != 0)
            break;
        for (int i = 0; i < reps && rc == 0; i++) {
            double t0 = img_now();
            rc = b->run_stage(state, (img_stage)s, &out, cur, plan, err);
            ctx->samples[i] = img_now() - t0;
        }
        if (rc != 0)
            break;
        img_stats st;
        img_stats_compute(ctx->samples, (size_t)reps, &st);
        row->stage_s[s] = st.median;
        /* Serial's output feeds the next stage, so every backend times the same input. */
        rc = serial->run_stage(NULL, (img_stage)s, &out, cur, plan, err);
        img_image_free(&in);
        in = out;
        memset(&out, 0, sizeof out);
        cur = &in;
    }
    img_image_free(&in);
    img_image_free(&out);
    return rc;
}

/* One backend with one set of options at one size, from init to its row. Split in
 * three steps so that several trials can be alive at once and timed in alternating
 * rounds (the scaling series): slow drifts of a shared machine then spread over all
 * settings instead of favouring whichever ran in a quiet minute. */
typedef struct trial {
    const img_backend *b;
    void *state;
    bool live;               /* state needs destroy() */
    bool ready;              /* verified bit-exact: to be timed */
    img_image dst;
    img_bench_row *row;
    double *samples;         /* MAX_SAMPLES */
    size_t n;
    double wall, cpu;        /* summed over the timed loops */
    long nvcsw, nivcsw;
    /* Backends with counters: where each timed run's tasks ran. */
    bool track_cpus;
    int cpus_allowed;        /* CPUs the process could use when the trial started */
    int widest_batch;
    int runs_by_cpus[65];    /* timed runs by distinct CPUs used (64: 64 or more) */
    img_cpu_mask cpus_seen;
    /* A whole-job trial: each run decodes, runs the pipeline and encodes; the parts of
     * each timed run go to part_samples (MAX_SAMPLES each). NULL: the pipeline alone. */
    const whole_input *whole;
    double *part_samples[IMG_BENCH_WHOLE_PARTS];
} trial;

/* CPUs this thread may run on now (its pool's workers inherit the mask). */
static int allowed_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 0;
    return CPU_COUNT(&set);
}

static void trial_fail(trial *t, img_verdict verdict, const char *why)
{
    t->row->verdict = verdict;
    snprintf(t->row->note, sizeof t->row->note, "%s", why);
    t->ready = false;
}

/* Fills the row's identity, then init (timed), the cold first run (timed), the
 * stage-by-stage verification and the warm-up runs. Only a verified trial is ready. */
/* One run of what the trial times: the pipeline on src, or the whole job from the
 * input's bytes (src unused). parts (may be NULL) gets a whole job's decode, pipeline
 * and encode seconds. Returns the run's seconds, or -1 with err set. */
static double trial_run(trial *t, const img_image *src, const img_plan *plan,
                        double parts[IMG_BENCH_WHOLE_PARTS], img_error *err)
{
    if (!t->whole) {
        double t0 = img_now();
        if (t->b->run_pipeline(t->state, &t->dst, src, plan, err) != 0)
            return -1;
        return img_now() - t0;
    }
    const whole_input *w = t->whole;
    img_image decoded = {0};
    uint8_t *encoded = NULL;
    size_t encoded_size = 0;
    double t0 = img_now();
    int rc = img_read_memory(w->name, w->data, w->size, &decoded, &w->read_options, err);
    double t1 = img_now();
    if (rc == 0)
        rc = t->b->run_pipeline(t->state, &t->dst, &decoded, plan, err);
    double t2 = img_now();
    if (rc == 0)
        rc = img_write_memory(w->name, &t->dst, &w->write_options, &encoded, &encoded_size, err);
    double t3 = img_now();
    free(encoded);
    img_image_free(&decoded);
    if (rc != 0)
        return -1;
    if (parts) {
        parts[WHOLE_DECODE] = t1 - t0;
        parts[WHOLE_PIPELINE] = t2 - t1;
        parts[WHOLE_ENCODE] = t3 - t2;
    }
    return t3 - t0;
}

static void trial_start(bench_ctx *ctx, trial *t, const img_backend *b,
                        const img_backend_options *options, const char *setting, const char *cpus,
                        const img_image *src, const img_plan *plan, const whole_input *whole,
                        img_bench_row *row)
{
    img_error err = {{0}};
    memset(t, 0, sizeof *t);
    t->b = b;
    t->row = row;
    t->whole = whole;
    memset(row, 0, sizeof *row);
    snprintf(row->job, sizeof row->job, "%s", whole ? IMG_BENCH_JOB_WHOLE : IMG_BENCH_JOB_PIPELINE);
    for (int s = 0; s < IMG_STAGE_COUNT; s++)
        row->stage_s[s] = -1.0;
    snprintf(row->backend, sizeof row->backend, "%s", b->name);
    snprintf(row->setting, sizeof row->setting, "%s", setting);
    snprintf(row->cpus, sizeof row->cpus, "%s", cpus);
    row->disturbed = -1;
    t->track_cpus = b->counters != NULL;
    t->cpus_allowed = allowed_cpus();
    row->threads = (b->flags & IMG_BACKEND_THREADED)
                       ? (options->threads ? options->threads : ctx->report->env.cores_allowed)
                       : 1;
    row->width = src->width;
    row->height = src->height;
    row->channels = src->channels;
    row->out_width = plan->out_width;
    row->out_height = plan->out_height;
    row->madds_per_pixel = plan->enabled[IMG_STAGE_BLUR]
                               ? 2.0 * (2 * plan->blur_radius + 1) * src->channels
                               : 0.0;

    ctx->step++;
    if (ctx->progress) {
        fprintf(stderr, "\r\033[K[%d/%d] %s %s%s %dx%d ...", ctx->step, ctx->steps, b->name,
                setting, whole ? " whole job" : "", src->width, src->height);
        fflush(stderr);
    }
    char reason[256] = "";
    if (!b->probe(reason, sizeof reason)) {
        trial_fail(t, IMG_VERDICT_UNAVAILABLE, reason);
        /* Asked for by name it had to run: a failure, as in run, batch and verify. By
         * default (all backends) it stays a noted row. */
        if (ctx->cli->backend_count)
            ctx->named_unavailable++;
        return;
    }
    double t0 = img_now();
    if (b->init(&t->state, options, &err) != 0) {
        trial_fail(t, IMG_VERDICT_UNAVAILABLE, err.message);
        return;
    }
    t->live = true;
    row->init_s = img_now() - t0;
    t->samples = malloc(sizeof(double) * MAX_SAMPLES);
    bool samples_ok = t->samples != NULL;
    for (int k = 0; whole && k < IMG_BENCH_WHOLE_PARTS; k++)
        samples_ok &= (t->part_samples[k] = malloc(sizeof(double) * MAX_SAMPLES)) != NULL;
    if (!samples_ok) {
        trial_fail(t, IMG_VERDICT_ERROR, "out of memory for the samples");
        return;
    }
    if (img_image_alloc(&t->dst, plan->out_width, plan->out_height, src->channels, UINT64_MAX,
                        &err) != 0) {
        trial_fail(t, IMG_VERDICT_ERROR, err.message);
        return;
    }
    if ((row->cold_s = trial_run(t, src, plan, NULL, &err)) < 0) {
        trial_fail(t, IMG_VERDICT_ERROR, err.message);
        return;
    }

    img_verify_result v;
    if (img_verify_backend(b, t->state, src, plan, &v, NULL, &err) != 0) {
        trial_fail(t, IMG_VERDICT_ERROR, err.message);
        return;
    }
    if (!v.exact) {
        char why[300];
        snprintf(why, sizeof why,
                 "not timed: stage %s differs at %d,%d ch%d (want %d, got %d), %" PRIu64
                 " samples, max diff %d",
                 v.stage, v.mismatch.x, v.mismatch.y, v.mismatch.channel, v.mismatch.expected,
                 v.mismatch.got, v.mismatch.differing, v.mismatch.max_abs_diff);
        trial_fail(t, IMG_VERDICT_MISMATCH, why);
        return;
    }
    for (int i = 0; i < ctx->cli->warmup; i++)
        if (trial_run(t, src, plan, NULL, &err) < 0) {
            trial_fail(t, IMG_VERDICT_ERROR, err.message);
            return;
        }
    t->ready = true;
}

/* Adds repetitions until this call made at least `reps` and spent `min_time`. */
static void trial_time(trial *t, const img_image *src, const img_plan *plan, int reps,
                       double min_time)
{
    if (!t->ready)
        return;
    img_error err = {{0}};
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double cpu0 = img_cpu_seconds();
    double start = img_now(), total = 0.0;
    for (int i = 0; t->n < MAX_SAMPLES && (i < reps || total < min_time); i++) {
        double parts[IMG_BENCH_WHOLE_PARTS];
        double seconds = trial_run(t, src, plan, parts, &err);
        if (seconds < 0) {
            trial_fail(t, IMG_VERDICT_ERROR, err.message);
            return;
        }
        for (int k = 0; t->whole && k < IMG_BENCH_WHOLE_PARTS; k++)
            t->part_samples[k][t->n] = parts[k];
        t->samples[t->n++] = seconds;
        total = img_now() - start;
        img_counters st;
        if (t->track_cpus && t->b->counters(t->state, &st) == 0 && st.cpus_used > 0) {
            t->runs_by_cpus[st.cpus_used < 64 ? st.cpus_used : 64]++;
            img_cpu_mask_or(&t->cpus_seen, &st.cpus_seen);
            if (st.widest_batch > t->widest_batch)
                t->widest_batch = st.widest_batch;
        }
    }
    t->cpu += img_cpu_seconds() - cpu0;
    t->wall += total;
    getrusage(RUSAGE_SELF, &ru1);
    t->nvcsw += ru1.ru_nvcsw - ru0.ru_nvcsw;
    t->nivcsw += ru1.ru_nivcsw - ru0.ru_nivcsw;
}

/* The median of the timed runs' distinct-CPU counts (0 when none was recorded). */
static double median_cpus(const trial *t)
{
    int runs = 0;
    for (int c = 0; c <= 64; c++)
        runs += t->runs_by_cpus[c];
    if (runs == 0)
        return 0.0;
    /* The values at the two middle positions (the same one when runs is odd). */
    int lo = (runs - 1) / 2, hi = runs / 2, seen = 0, v_lo = -1, v_hi = -1;
    for (int c = 0; c <= 64 && v_hi < 0; c++) {
        seen += t->runs_by_cpus[c];
        if (v_lo < 0 && seen > lo)
            v_lo = c;
        if (seen > hi)
            v_hi = c;
    }
    return (v_lo + v_hi) / 2.0;
}

/* Whether the threads backend's runs were as parallel as the CPUs allowed: on a shared
 * machine every task may end up on one CPU although the process may use several. */
static void record_cpus(trial *t, img_bench_row *row)
{
    if (!t->track_cpus || (row->cpus_used = median_cpus(t)) <= 0)
        return;
    img_cpu_mask_format(&t->cpus_seen, row->cpus_ran_on, sizeof row->cpus_ran_on);
    row->cpus_possible = img_expected_cpus(row->threads, t->cpus_allowed, t->widest_batch);
    row->disturbed = img_cpus_disturbed(row->cpus_used, row->cpus_possible);
    if (row->disturbed) {
        char why[128];
        size_t used = strlen(row->note);
        img_bench_describe_disturbed(row, why, sizeof why);
        snprintf(row->note + used, sizeof row->note - used, "%sdisturbed: %s",
                 used ? "; " : "", why);
    }
}

/* The backend state, the output image and the samples, whatever state the trial is in. */
static void trial_release(trial *t)
{
    if (t->live)
        t->b->destroy(t->state);
    img_image_free(&t->dst);
    free(t->samples);
    for (int k = 0; k < IMG_BENCH_WHOLE_PARTS; k++) {
        free(t->part_samples[k]);
        t->part_samples[k] = NULL;
    }
    t->live = t->ready = false;
    t->samples = NULL;
}

/* Statistics, stage times (when asked) and derived figures into the row; releases
 * the trial and prints the row. */
static void trial_finish(bench_ctx *ctx, trial *t, const img_image *src, const img_plan *plan,
                         double serial_median, bool with_stages)
{
    img_bench_row *row = t->row;
    img_error err = {{0}};
    if (t->ready) {
        double n = (double)t->n;
        img_stats_compute(t->samples, t->n, &row->time);
        row->cpu_per_run = t->cpu / n;
        row->cpu_per_wall = t->wall > 0 ? t->cpu / t->wall : 0.0;
        row->vcsw_per_run = (double)t->nvcsw / n;
        row->ivcsw_per_run = (double)t->nivcsw / n;
        if (t->whole) {
            /* The medians of the parts, each over the same timed runs as the total. */
            for (int k = 0; k < IMG_BENCH_WHOLE_PARTS; k++) {
                img_stats st;
                img_stats_compute(t->part_samples[k], t->n, &st);
                row->breakdown.part[k].name =
                    img_bench_breakdown_columns[IMG_BENCH_FIRST_WHOLE_PART + k];
                row->breakdown.part[k].seconds = st.median;
            }
            row->breakdown.count = IMG_BENCH_WHOLE_PARTS;
        } else if (t->b->breakdown) {
            t->b->breakdown(t->state, &row->breakdown);
        }
        if (with_stages && time_stages(ctx, t->b, t->state, src, plan, row, &err) != 0) {
            trial_fail(t, IMG_VERDICT_ERROR, err.message);
        } else {
            row->verdict = IMG_VERDICT_BIT_EXACT;
            if (t->b->describe)
                t->b->describe(t->state, row->note, sizeof row->note);
            record_cpus(t, row);
            if (t->b->flags & IMG_BACKEND_SIMD_LEVELS) {
                /* The level that ran is the first word of describe(). */
                snprintf(row->simd, sizeof row->simd, "%.*s", (int)strcspn(row->note, " ,("),
                         row->note);
            }
            double bytes = (double)src->channels * ((double)src->width * src->height +
                                                    (double)t->dst.width * t->dst.height);
            row->mpix_per_s = (double)src->width * src->height / row->time.median / 1e6;
            /* Memory traffic is the pipeline's measure; a whole job's time is mostly
             * codec work, so its row leaves GB/s at 0 (not applicable). */
            if (!t->whole)
                row->gb_per_s = bytes / row->time.median / 1e9;
            if (ctx->report->copy_bandwidth_gbs > 0)
                row->bandwidth_fraction = row->gb_per_s / ctx->report->copy_bandwidth_gbs;
            /* serial_median is 0 while serial itself is measured (it is its own
             * baseline) and when serial failed (then there is no speedup to give). */
            if (serial_median > 0)
                row->speedup = serial_median / row->time.median;
            else
                row->speedup = t->b == img_backend_reference() ? 1.0 : 0.0;
        }
    }
    trial_release(t);
    if (ctx->progress) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    if (t->whole)
        print_whole_row(ctx, row);
    else
        print_row(row);
}

/* bench.csv's rows so far while bench runs (see the size loop in cmd_bench). */
#define PARTIAL_CSV "bench-partial.csv"

/* Times the started trials in alternating rounds, each round a fifth of --reps and of
 * --min-time per trial: slow drifts of a shared machine then spread over every
 * setting instead of favouring whichever happened to run in a quiet minute. */
enum { ROUNDS = 5 };
static void time_in_rounds(bench_ctx *ctx, trial *trials, int count, const img_image *src,
                           const img_plan *plan)
{
    int reps = (ctx->cli->reps + ROUNDS - 1) / ROUNDS;
    for (int round = 0; round < ROUNDS; round++)
        for (int i = 0; i < count; i++)
            trial_time(&trials[i], src, plan, reps, ctx->cli->min_time / ROUNDS);
}

typedef struct setting {
    char label[48];
    img_backend_options options;
} setting;

/* Appends one "name=value" to a setting's label, after a space when it has some. */
static void label_add(char *label, size_t len, const char *format, ...)
{
    size_t used = strlen(label);
    if (used && used + 1 < len)
        label[used++] = ' ';
    va_list ap;
    va_start(ap, format);
    vsnprintf(label + used, len - used, format, ap);
    va_end(ap);
}

/* The settings a backend is measured with: every --threads value for threaded
 * backends, every SIMD level for SIMD ones (unless --simd pins one), every --bands
 * value for streaming ones. */
static int expand_settings(const img_cli *cli, const img_backend *b, setting *out, int max)
{
    img_backend_options base = img_backend_options_from_cli(cli);
    base.trace_path = NULL;   /* traces are for `run`; bench would rewrite them per rep */
    int n = 0;
    int thread_count = (b->flags & IMG_BACKEND_THREADED) && cli->thread_count ? cli->thread_count : 1;
    /* The level sweep is for single-threaded SIMD backends (the chart of throughput
     * per vector width); threaded ones run the best level at each thread count. */
    int level_count = 1;
    if ((b->flags & IMG_BACKEND_SIMD_LEVELS) && !(b->flags & IMG_BACKEND_THREADED) &&
        b->simd_level && !cli->simd)
        for (level_count = 0; b->simd_level(level_count); level_count++)
            ;
    const bool band_sweep = (b->options & IMG_OPTION_BANDS) && cli->band_count;
    int band_count = band_sweep ? cli->band_count : 1;
    for (int t = 0; t < thread_count; t++) {
        for (int bc = 0; bc < band_count; bc++) {
            for (int l = 0; l < level_count && n < max; l++) {
                setting *s = &out[n++];
                s->options = base;
                s->label[0] = '\0';
                if ((b->flags & IMG_BACKEND_THREADED) && cli->thread_count) {
                    s->options.threads = cli->threads[t];
                    label_add(s->label, sizeof s->label, "threads=%d", cli->threads[t]);
                }
                if (band_sweep) {
                    s->options.bands = cli->bands[bc];
                    label_add(s->label, sizeof s->label, "bands=%d", cli->bands[bc]);
                }
                if (level_count > 1) {
                    s->options.simd_level = b->simd_level(l);
                    label_add(s->label, sizeof s->label, "simd=%s", b->simd_level(l));
                } else if ((b->flags & IMG_BACKEND_SIMD_LEVELS) && cli->simd) {
                    label_add(s->label, sizeof s->label, "simd=%s", cli->simd);
                }
                if (s->label[0] == '\0')
                    snprintf(s->label, sizeof s->label, "default");
            }
        }
    }
    return n;
}

/* The setting of a backend's whole-job row: what `imgpipe run` with the same options
 * would run. That is the backend's only setting, or the first --threads value; for a
 * sweep over SIMD levels it is the default (the best level this CPU has). */
static setting whole_job_setting(const img_cli *cli, const img_backend *b)
{
    setting all[64];
    int n = expand_settings(cli, b, all, 64);
    if (n >= 1 && (n == 1 || strncmp(all[0].label, "simd=", 5) != 0))
        return all[0];
    setting s = {.options = img_backend_options_from_cli(cli)};
    s.options.trace_path = NULL;
    snprintf(s.label, sizeof s.label, "default");
    return s;
}

/* Starts the whole-job trial of backend b after its pipeline trials (trials[0 ..
 * pipeline_trials)) when one of them is ready, i.e. verified bit-exact: a backend that
 * is wrong or cannot run here gets no whole-job row (its pipeline row says why), and
 * neither does one whose own verification fails. One whose job fails (a decode or
 * encode error) keeps its row, with the error. */
static void start_whole_trial(bench_ctx *ctx, trial *trials, int *started, int pipeline_trials,
                              const img_backend *b, const img_image *src, const img_plan *plan,
                              const whole_input *whole)
{
    bool verified = false;
    for (int i = 0; i < pipeline_trials; i++)
        verified |= trials[i].b == b && trials[i].ready;
    img_bench_report *r = ctx->report;
    if (!verified || *started >= MAX_TRIALS || r->row_count >= MAX_ROWS) {
        ctx->step++;   /* its progress step, never taken */
        return;
    }
    setting s = whole_job_setting(ctx->cli, b);
    trial *t = &trials[*started];
    trial_start(ctx, t, b, &s.options, s.label, ctx->cli->cpus ? ctx->cli->cpus : "all", src,
                plan, whole, &r->rows[r->row_count]);
    /* A failure of the job itself (decoding or encoding) stays a row that says so. */
    if (!t->ready && t->row->verdict != IMG_VERDICT_ERROR) {
        trial_release(t);
        return;
    }
    (*started)++;
    r->row_count++;
}

/* The concurrency-versus-parallelism series: the threads backend at 1, 2, 4 and 8
 * threads, first confined to one core (the tasks can only interleave), then on every
 * allowed core (they can run in parallel). The process affinity is restored after. */
static const int scaling_threads[] = {1, 2, 4, 8};
#define SCALING_ROWS (2 * (int)(sizeof scaling_threads / sizeof scaling_threads[0]))

/* The first CPU this process may run on, as a --cpus list. */
static void first_allowed_cpu(char *buf, size_t len)
{
    cpu_set_t set;
    snprintf(buf, len, "0");
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &set)) {
            snprintf(buf, len, "%d", cpu);
            return;
        }
}

/* Confines this thread, and every thread it creates from now on, to its first allowed
 * CPU; the previous mask goes to *saved and the CPU, as a --cpus list, to label. */
static int pin_to_first_cpu(cpu_set_t *saved, char *label, size_t len, img_error *err)
{
    if (sched_getaffinity(0, sizeof *saved, saved) != 0)
        return img_fail(err, "sched_getaffinity: %s", strerror(errno));
    first_allowed_cpu(label, len);
    return img_set_cpus(label, err);
}

static int restore_cpus(const cpu_set_t *saved, img_error *err)
{
    if (sched_setaffinity(0, sizeof *saved, saved) != 0)
        return img_fail(err, "sched_setaffinity: %s", strerror(errno));
    return 0;
}

static int measure_scaling(bench_ctx *ctx, const img_backend *threads, const img_image *src,
                           const img_plan *plan, double serial_median, img_error *err)
{
    enum { COUNT = sizeof scaling_threads / sizeof scaling_threads[0] };
    trial trials[2 * COUNT];
    int started = 0, rc = 0;
    cpu_set_t saved;
    char one[16];
    /* Every pool is created first: the pinned ones while this thread is pinned, so
     * their workers inherit the one-core mask and keep it after it is restored. */
    for (int pinned = 1; pinned >= 0 && rc == 0; pinned--) {
        if (pinned && pin_to_first_cpu(&saved, one, sizeof one, err) != 0)
            return -1;
        for (int i = 0; i < COUNT && ctx->report->row_count < MAX_ROWS; i++) {
            img_backend_options options = img_backend_options_from_cli(ctx->cli);
            options.trace_path = NULL;
            options.threads = scaling_threads[i];
            char label[48];
            snprintf(label, sizeof label, "threads=%d", scaling_threads[i]);
            trial_start(ctx, &trials[started++], threads, &options, label, pinned ? one : "all",
                        src, plan, NULL, &ctx->report->rows[ctx->report->row_count++]);
        }
        if (pinned)
            rc = restore_cpus(&saved, err);
    }
    /* Then the settings take turns. */
    if (rc == 0)
        time_in_rounds(ctx, trials, started, src, plan);
    /* No stage timings here: the where-the-time-goes chart uses the main rows. */
    for (int i = 0; i < started; i++)
        trial_finish(ctx, &trials[i], src, plan, serial_median, false);
    return rc;
}

/* One traced threads run pinned to one core and one on all cores, for the timeline
 * chart: DIR/trace_one_core.json and DIR/trace_all_cores.json, recorded in the report
 * as this run's traces. */
static int write_traces(const img_cli *cli, const img_backend *threads, const char *dir,
                        const img_image *src, const img_plan *plan, img_bench_report *report,
                        img_error *err)
{
    static const char *const files[2] = {"trace_all_cores.json", "trace_one_core.json"};
    cpu_set_t saved;
    char one[16];
    int rc = 0;
    for (int pinned = 1; pinned >= 0 && rc == 0; pinned--) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, files[pinned]);
        img_backend_options options = img_backend_options_from_cli(cli);
        options.threads = 4;
        options.trace_path = path;
        void *state = NULL;
        img_image dst = {0};
        if (pinned && pin_to_first_cpu(&saved, one, sizeof one, err) != 0)
            return -1;
        rc = threads->init(&state, &options, err);
        if (rc == 0) {
            rc = img_image_alloc(&dst, plan->out_width, plan->out_height, src->channels,
                                 UINT64_MAX, err);
            /* The first run warms the scratch; the second is the one kept. */
            for (int i = 0; i < 2 && rc == 0; i++)
                rc = threads->run_pipeline(state, &dst, src, plan, err);
            int tracks = 0;
            const char *const *names = NULL;
            const img_trace *trace = rc == 0 ? threads->trace(state, &tracks, &names) : NULL;
            if (trace)
                rc = img_trace_write_named(trace, path, names, tracks, err);
            img_counters st;
            if (rc == 0 && !pinned && threads->counters &&
                threads->counters(state, &st) == 0) {
                /* The timeline shows this run as the parallel case: say when it was not. */
                img_bench_row r = {.threads = options.threads, .cpus_used = st.cpus_used};
                img_cpu_mask_format(&st.cpus_seen, r.cpus_ran_on, sizeof r.cpus_ran_on);
                r.cpus_possible = img_expected_cpus(options.threads, allowed_cpus(),
                                                            st.widest_batch);
                if (img_cpus_disturbed(r.cpus_used, r.cpus_possible)) {
                    char why[128];
                    img_bench_describe_disturbed(&r, why, sizeof why);
                    printf("note: the traced all-cores run (%s) was disturbed: %s\n", files[0],
                           why);
                }
            }
            threads->destroy(state);
        }
        img_image_free(&dst);
        if (pinned && restore_cpus(&saved, rc == 0 ? err : NULL) != 0)
            rc = -1;
        if (rc == 0)
            report->trace_files[report->trace_file_count++] = files[pinned];
    }
    return rc;
}

/* A name this program writes into a bench folder's chart-data/: the data files, the
 * log, and the render/ folder gnuplot draws into. */
static bool chart_data_file(const char *name)
{
    size_t n = strlen(name);
    return strcmp(name, "gnuplot.log") == 0 || (n > 4 && strcmp(name + n - 4, ".dat") == 0);
}

static int remove_file(const char *dir, const char *name, int *removed)
{
    char path[4096];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return 0;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    if (unlink(path) != 0) {
        fprintf(stderr, "imgpipe: warning: cannot remove %s of an earlier run: %s\n", path,
                strerror(errno));
        return -1;
    }
    (*removed)++;
    return 0;
}

/* Removes what an earlier run left in the folder and this one would not overwrite:
 * its traces (a run without the threads backend writes none, and the timeline must
 * not be drawn from another run's), its charts, its chart data and its report. Files
 * of other names are left alone; bench.csv and bench.json are replaced anyway. */
static void remove_earlier_run(const char *dir)
{
    int removed = 0;
    static const char *const names[] = {"trace_one_core.json", "trace_all_cores.json",
                                        "index.html"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        remove_file(dir, names[i], &removed);
    char data[4096], render[4200];
    snprintf(data, sizeof data, "%s/chart-data", dir);
    snprintf(render, sizeof render, "%s/render", data);
    for (int id = 0; id < IMG_CHART_COUNT; id++)
        for (int k = 0; k < 2; k++) {
            char file[128];
            snprintf(file, sizeof file, "%s.%s", img_chart_name((img_chart_id)id),
                     k ? "svg" : "png");
            remove_file(dir, file, &removed);
            remove_file(render, file, &removed);
        }
    DIR *d = opendir(data);
    if (d) {
        struct dirent *e;
        /* Names first, removal after: unlinking while reading may skip entries. */
        char (*names_found)[256] = NULL;
        size_t count = 0, cap = 0;
        while ((e = readdir(d)) != NULL) {
            if (!chart_data_file(e->d_name))
                continue;
            if (count == cap) {
                size_t ncap = cap ? cap * 2 : 32;
                char (*more)[256] = realloc(names_found, ncap * sizeof *more);
                if (!more)
                    break;
                names_found = more;
                cap = ncap;
            }
            snprintf(names_found[count++], sizeof names_found[0], "%s", e->d_name);
        }
        closedir(d);
        for (size_t i = 0; i < count; i++)
            remove_file(data, names_found[i], &removed);
        free(names_found);
    }
    rmdir(render);   /* only when empty, as chart-data itself */
    rmdir(data);
    if (removed)
        printf("removed %d file%s of an earlier run in %s\n", removed, removed == 1 ? "" : "s",
               dir);
}

/* Scaling figures for threaded rows: speedup over the same backend with one thread
 * (same size, same cpus) and the parallel efficiency, speedup / threads. Then the
 * scaling table, when there is more than one thread count to compare. */
static bool is_whole_job(const img_bench_row *row)
{
    return strcmp(row->job, IMG_BENCH_JOB_WHOLE) == 0;
}

/* The fastest bit-exact all-cores pipeline row of a backend at one size, or NULL. */
static const img_bench_row *fastest(const img_bench_report *r, const char *backend, int w, int h)
{
    const img_bench_row *best = NULL;
    for (int i = 0; i < r->row_count; i++) {
        const img_bench_row *row = &r->rows[i];
        if (!is_whole_job(row) && strcmp(row->backend, backend) == 0 && row->width == w &&
            row->height == h &&
            row->verdict == IMG_VERDICT_BIT_EXACT && strcmp(row->cpus, "all") == 0 &&
            (!best || row->time.median < best->time.median))
            best = row;
    }
    return best;
}

/* The name of the first registered backend with all of `flags`, or NULL. */
static const char *backend_with(unsigned flags)
{
    const img_backend *b = img_backend_with_flags(flags, 0);
    return b ? b->name : NULL;
}

/* The compute roof of every SIMD level this CPU runs (img_backend.compute_roof), on
 * one thread and on every allowed CPU, about 0.1 s each: the ceiling the roofline
 * chart holds the blur's multiply-adds against. A level that fails to start is left
 * out, never guessed. */
static void measure_compute_roofs(img_bench_report *r)
{
    const img_backend *b = img_backend_with_flags(IMG_BACKEND_SIMD_LEVELS, IMG_BACKEND_THREADED);
    char reason[256];
    if (!b || !b->compute_roof || !b->probe(reason, sizeof reason))
        return;
    const int all = r->env.cores_allowed > 0 ? r->env.cores_allowed : 1;
    const int max = (int)(sizeof r->roofs / sizeof r->roofs[0]);
    for (int i = 0; img_backend_simd_level(i) && r->roof_count + 2 <= max; i++) {
        img_backend_options options = {.simd_level = img_backend_simd_level(i)};
        void *state = NULL;
        img_error err;
        if (b->init(&state, &options, &err) != 0)
            continue;   /* this CPU lacks the level */
        for (int pass = 0; pass < (all > 1 ? 2 : 1); pass++)
            if (b->compute_roof(state, pass ? all : 1, 0.1, &r->roofs[r->roof_count], &err) == 0)
                r->roof_count++;
        b->destroy(state);
    }
}

/* The GPU-versus-CPU crossover: the smallest measured size at which the device backend
 * (opencl), end to end (upload + kernels + download), beats the threaded SIMD one
 * (simd-threads). Printed and recorded when both ran; on PoCL the "GPU" is this CPU,
 * and the line says so. */
static void summarize_crossover(img_bench_report *r, const img_size *sizes, int size_count)
{
    const char *gpu = backend_with(IMG_BACKEND_HAS_DEVICE);
    const char *cpu_name = backend_with(IMG_BACKEND_THREADED | IMG_BACKEND_SIMD_LEVELS);
    const img_bench_row *first_win = NULL;
    bool both = false;
    for (int s = 0; gpu && cpu_name && s < size_count; s++) {
        const img_bench_row *cl = fastest(r, gpu, sizes[s].width, sizes[s].height);
        const img_bench_row *cpu = fastest(r, cpu_name, sizes[s].width, sizes[s].height);
        if (!cl || !cpu)
            continue;
        both = true;
        if (cl->time.median < cpu->time.median &&
            (!first_win || (int64_t)cl->width * cl->height <
                               (int64_t)first_win->width * first_win->height))
            first_win = cl;
    }
    if (!both)
        return;
    if (first_win)
        snprintf(r->crossover, sizeof r->crossover,
                 "%s (end to end) beats %s from %dx%d on (device: %s)", gpu, cpu_name,
                 first_win->width, first_win->height, r->env.opencl);
    else
        snprintf(r->crossover, sizeof r->crossover,
                 "%s (end to end) beats %s at none of the sizes measured (device: %s)", gpu,
                 cpu_name, r->env.opencl);
    printf("\ncrossover: %s\n", r->crossover);
}

/* The device backend measured against its device: each size's fastest streamed row,
 * its kernels' traffic (input + output bytes, as gb_per_s counts it) per kernel second
 * against the device's own copy bandwidth, and its end-to-end time against the
 * transfer floor, the input over the upload bandwidth plus the output over the
 * download bandwidth. */
static void summarize_device(const img_bench_report *r, const img_size *sizes, int size_count)
{
    const char *gpu = backend_with(IMG_BACKEND_HAS_DEVICE);
    const img_device_bandwidth *d = &r->device;
    if (!gpu || !d->bytes || d->upload_gbs <= 0 || d->download_gbs <= 0)
        return;
    printf("\n%s device: copy %.1f GB/s, upload %.1f GB/s, download %.1f GB/s (pinned, %zu MiB "
           "transfers)\n",
           gpu, d->device_copy_gbs, d->upload_gbs, d->download_gbs, d->bytes >> 20);
    for (int s = 0; s < size_count; s++) {
        const img_bench_row *row = fastest(r, gpu, sizes[s].width, sizes[s].height);
        double kernel = row ? img_breakdown_get(&row->breakdown, "kernel") : -1.0;
        if (!row || kernel <= 0)
            continue;
        double in = (double)row->channels * row->width * row->height;
        double out = (double)row->channels * row->out_width * row->out_height;
        double kernel_gbs = (in + out) / kernel / 1e9;
        double floor = in / (d->upload_gbs * 1e9) + out / (d->download_gbs * 1e9);
        printf("  %dx%d %s: kernels %.1f GB/s (%.0f %% of the device's copy), end to end "
               "%.3f ms = %.2fx the transfer floor of %.3f ms\n",
               row->width, row->height, row->setting, kernel_gbs,
               d->device_copy_gbs > 0 ? 100.0 * kernel_gbs / d->device_copy_gbs : 0.0,
               row->time.median * 1e3, row->time.median / floor, floor * 1e3);
    }
}

/* The device's bandwidths, measured once on a state of its own (outside every timed
 * run); left unmeasured, and said so, when the backend cannot start. */
static void measure_device(img_bench_report *r, const img_cli *cli, const img_backend *b)
{
    img_backend_options options = img_backend_options_from_cli(cli);
    options.trace_path = NULL;
    char reason[256];
    void *state = NULL;
    img_error err;
    if (!b->device_bandwidth || !b->probe(reason, sizeof reason))
        return;
    if (b->init(&state, &options, &err) != 0 || b->device_bandwidth(state, &r->device, &err) != 0) {
        r->device = (img_device_bandwidth){0};
        fprintf(stderr, "imgpipe: %s: device bandwidth not measured: %s\n", b->name, err.message);
    }
    b->destroy(state);
}

static void summarize_scaling(img_bench_report *r)
{
    bool any = false;
    for (int i = 0; i < r->row_count; i++) {
        img_bench_row *row = &r->rows[i];
        if (row->verdict != IMG_VERDICT_BIT_EXACT || strstr(row->setting, "threads=") == NULL ||
            is_whole_job(row))
            continue;
        for (int j = 0; j < r->row_count; j++) {
            const img_bench_row *base = &r->rows[j];
            if (base->threads == 1 && base->verdict == IMG_VERDICT_BIT_EXACT && !is_whole_job(base) &&
                strcmp(base->backend, row->backend) == 0 && strcmp(base->cpus, row->cpus) == 0 &&
                base->width == row->width && base->height == row->height &&
                strcmp(base->simd, row->simd) == 0) {
                row->speedup_vs_1_thread = base->time.median / row->time.median;
                row->parallel_efficiency = row->speedup_vs_1_thread / row->threads;
                any |= row->threads > 1;
                break;
            }
        }
    }
    if (!any)
        return;
    printf("\nscaling (speedup over 1 thread with the same cores; efficiency = speedup / threads)\n");
    printf("%-13s %-6s %-11s %7s %9s %8s %10s %7s %7s\n", "backend", "cpus", "size", "threads",
           "median ms", "speedup", "efficiency", "cores", "ivcsw");
    for (int i = 0; i < r->row_count; i++) {
        const img_bench_row *row = &r->rows[i];
        if (row->speedup_vs_1_thread <= 0)
            continue;
        char size[32];
        size_name(size, sizeof size, row->width, row->height);
        printf("%-13s %-6s %-11s %7d %9.2f %8.2f %9.0f%% %7.2f %7.1f", row->backend, row->cpus,
               size, row->threads, row->time.median * 1e3, row->speedup_vs_1_thread,
               row->parallel_efficiency * 100.0, row->cpu_per_wall, row->ivcsw_per_run);
        if (row->disturbed == 1) {
            /* Not parallelism: the scheduler kept the workers together. */
            char why[128];
            img_bench_describe_disturbed(row, why, sizeof why);
            printf("  disturbed: %s", why);
        }
        putchar('\n');
    }
}


static void record_command_line(img_bench_report *r, int argc, char **argv)
{
    size_t used = 0;
    for (int i = 0; i < argc && used < sizeof r->command_line; i++) {
        int n = snprintf(r->command_line + used, sizeof r->command_line - used, "%s%s",
                         i ? " " : "", argv[i]);
        used += n > 0 ? (size_t)n : 0;
    }
}

int img_cmd_bench(const img_cli *cli)
{
    img_error err = {{0}};
    img_bench_report report = {0};
    bench_ctx ctx = {.cli = cli, .report = &report, .progress = isatty(STDERR_FILENO)};
    const img_backend *backends[64];
    int backend_count = 0, status = IMG_EXIT_FAILURE;
    setting settings[64];
    img_image src = {0};
    img_plan plan = {0};
    double serial_median = 0.0;
    uint8_t *input_bytes = NULL;
    whole_input whole = {0};

    if (img_select_backends(cli, true, backends, 64, &backend_count, &err) != 0 ||
        img_check_backend_options(cli, &err) != 0) {
        fprintf(stderr, "imgpipe: %s\n", err.message);
        return IMG_EXIT_USAGE;
    }
    img_size sizes[IMG_CLI_MAX_LIST];
    int size_count = cli->size_count;
    memcpy(sizes, cli->sizes, sizeof sizes);
    if (cli->input && size_count) {
        fprintf(stderr, "imgpipe: --input and --sizes are exclusive: an input is timed at its own size\n");
        return IMG_EXIT_USAGE;
    }
    if (!cli->input && size_count == 0) {
        sizes[0] = (img_size){1920, 1080};
        sizes[1] = (img_size){3840, 2160};
        size_count = 2;
    }
    if (cli->input)
        size_count = 1;
    /* The input decoded and the output folder writable before anything is measured or
     * initialised: a bad path must not cost a whole bench, nor load a driver. */
    if (cli->input && img_load_input(cli, &src, &err) != 0) {
        fprintf(stderr, "imgpipe: %s\n", err.message);
        goto out;
    }
    if (cli->input && img_plan_init(&plan, &cli->params, src.width, src.height,
                                    cli->max_pixels, &err) != 0) {
        fprintf(stderr, "imgpipe: %s\n", err.message);
        status = IMG_EXIT_USAGE;   /* an output over the pixel limit, as in run */
        goto out;
    }
    /* The whole-job rows decode the input from its bytes, held in memory so that no
     * file system time is in them (the file decoded above, so its size is in bounds). */
    if (cli->input && img_format_from_path(cli->input) == IMG_FORMAT_UNKNOWN) {
        printf("note: no whole-job rows: %s has no image extension (.png, .jpg, .jpeg, .ppm, "
               ".pgm) to name the format the output is encoded to\n",
               cli->input);
    } else if (cli->input) {
        if (img_read_whole_file(cli->input, SIZE_MAX, &input_bytes, &whole.size, &err) != 0) {
            fprintf(stderr, "imgpipe: %s\n", err.message);
            goto out;
        }
        whole.name = cli->input;
        whole.data = input_bytes;
        whole.read_options =
            (img_read_options){.max_pixels = cli->max_pixels, .png_decoder = cli->png_decoder};
        whole.write_options = img_write_options_from_cli(cli);
    }
    const char *dir = cli->out_dir ? cli->out_dir : "results/latest";
    if (img_make_dirs(dir, &err) != 0) {
        fprintf(stderr, "imgpipe: --out: %s\n", err.message);
        status = IMG_EXIT_USAGE;
        goto out;
    }

    report.rows = calloc(MAX_ROWS, sizeof *report.rows);
    ctx.samples = malloc(sizeof(double) * MAX_SAMPLES);
    if (!report.rows || !ctx.samples) {
        fprintf(stderr, "imgpipe: out of memory for the bench report\n");
        goto out;
    }
    img_env_collect(&report.env);
    report.reps = cli->reps;
    report.warmup = cli->warmup;
    report.min_time = cli->min_time;
    record_command_line(&report, cli->argc, cli->argv);
    report.env.busy_cores = img_busy_cores(0.5);
    if (report.env.busy_cores > 0.25)
        fprintf(stderr, "imgpipe: warning: the machine looks busy (other processes keep %.2f of "
                        "%d core%s busy); numbers may be noisy\n",
                report.env.busy_cores, report.env.cores_online,
                report.env.cores_online == 1 ? "" : "s");
    for (int t = 0; t < cli->thread_count; t++)
        if (cli->threads[t] > report.env.cores_allowed)
            fprintf(stderr, "imgpipe: warning: %d threads on %d core%s: they will interleave, "
                            "not run in parallel\n",
                    cli->threads[t], report.env.cores_allowed,
                    report.env.cores_allowed == 1 ? "" : "s");
    if (ctx.progress)
        fprintf(stderr, "measuring copy bandwidth and compute roofs ...");
    report.copy_bandwidth_gbs = img_measure_copy_bandwidth();
    measure_compute_roofs(&report);
    if (ctx.progress)
        fprintf(stderr, "\r\033[K");

    for (int b = 0; b < backend_count; b++) {
        ctx.steps += expand_settings(cli, backends[b], settings, 64) + (whole.data ? 1 : 0);
        if ((backends[b]->flags & IMG_BACKEND_HAS_DEVICE) && backends[b]->describe_platform) {
            img_backend_options options = img_backend_options_from_cli(cli);
            backends[b]->describe_platform(&options, report.env.opencl,
                                           sizeof report.env.opencl);
            measure_device(&report, cli, backends[b]);
        }
    }
    ctx.steps *= size_count;
    /* With the backend of the scaling series (threads) and no explicit --threads or
     * --cpus, the series runs too, at the largest size. */
    const img_backend *threads = NULL;
    for (int b = 0; b < backend_count; b++)
        if ((backends[b]->flags & IMG_BACKEND_SCALING_SERIES) && !cli->thread_count &&
            !cli->cpus)
            threads = backends[b];
    if (threads)
        ctx.steps += SCALING_ROWS;
    int largest = 0;
    for (int s = 1; s < size_count; s++)
        if ((int64_t)sizes[s].width * sizes[s].height >
            (int64_t)sizes[largest].width * sizes[largest].height)
            largest = s;

    printf("imgpipe bench: %s, %d core%s (%s), copy bandwidth %.1f GB/s, commit %s\n",
           report.env.cpu_model, report.env.cores_allowed,
           report.env.cores_allowed == 1 ? "" : "s", report.env.affinity,
           report.copy_bandwidth_gbs, report.env.commit);
    for (int i = 0; i < report.roof_count; i++)
        printf("%s %s (%s): %.1f G multiply-adds/s on %d thread%s\n",
               i ? "             " : "compute roof", report.roofs[i].level,
               report.roofs[i].instruction, report.roofs[i].madds_per_second / 1e9,
               report.roofs[i].threads, report.roofs[i].threads == 1 ? "" : "s");
    print_header();
    /* The largest size goes last so its image stays loaded for the scaling series. */
    if (largest != size_count - 1) {
        img_size tmp = sizes[largest];
        memmove(&sizes[largest], &sizes[largest + 1], sizeof *sizes * (size_t)(size_count - 1 - largest));
        sizes[size_count - 1] = tmp;
    }
    for (int s = 0; s < size_count; s++) {
        if (!cli->input) {
            img_image_free(&src);
            img_plan_free(&plan);
            if (img_synth_image(&src, sizes[s].width, sizes[s].height, 3, cli->max_pixels,
                                &err) != 0 ||
                img_plan_init(&plan, &cli->params, src.width, src.height, cli->max_pixels,
                              &err) != 0) {
                fprintf(stderr, "imgpipe: %s\n", err.message);
                goto out;
            }
        }
        /* Every setting at this size is started (initialised, verified, warmed up)
         * first, then all are timed in alternating rounds, then finished in order:
         * serial, the baseline, comes first. */
        trial trials[MAX_TRIALS];
        int started = 0;
        for (int b = 0; b < backend_count; b++) {
            int n = expand_settings(cli, backends[b], settings, 64);
            for (int i = 0; i < n && started < MAX_TRIALS && report.row_count < MAX_ROWS; i++)
                trial_start(&ctx, &trials[started++], backends[b], &settings[i].options,
                            settings[i].label, cli->cpus ? cli->cpus : "all", &src, &plan, NULL,
                            &report.rows[report.row_count++]);
        }
        /* The whole-job trials come after every pipeline trial, so their rows follow the
         * pipeline rows; they are timed in the same rounds. */
        const int pipeline_trials = started;
        for (int b = 0; whole.data && b < backend_count; b++)
            start_whole_trial(&ctx, trials, &started, pipeline_trials, backends[b], &src, &plan,
                              &whole);
        time_in_rounds(&ctx, trials, started, &src, &plan);
        serial_median = 0.0;
        double serial_whole_median = 0.0;
        for (int i = 0; i < started; i++) {
            bool is_whole = i >= pipeline_trials;
            trial_finish(&ctx, &trials[i], &src, &plan,
                         is_whole ? serial_whole_median : serial_median, !is_whole);
            /* Serial leads both lists: each list's first bit-exact row is the baseline. */
            if ((i == 0 || i == pipeline_trials) && trials[i].b == img_backend_reference() &&
                trials[i].row->verdict == IMG_VERDICT_BIT_EXACT)
                *(is_whole ? &serial_whole_median : &serial_median) = trials[i].row->time.median;
        }
        /* The rows so far, in a file of their own (an earlier run's bench.csv stays whole
         * until this one ends): a bench stopped by a time limit, as on a borrowed GPU
         * server, still leaves every finished size. Removed once bench.csv is written. */
        if (s + 1 < size_count &&
            img_write_text_file(dir, PARTIAL_CSV, img_bench_write_csv, &report, &err) != 0)
            fprintf(stderr, "imgpipe: warning: %s\n", err.message);
    }
    if (threads && measure_scaling(&ctx, threads, &src, &plan, serial_median, &err) != 0) {
        fprintf(stderr, "imgpipe: %s\n", err.message);
        goto out;
    }
    /* Everything is measured: an earlier run's outputs go now (not before, so a bench
     * that fails leaves the earlier run whole), and none of them is charted as this
     * run's. */
    remove_earlier_run(dir);
    if (threads && threads->trace && write_traces(cli, threads, dir, &src, &plan, &report, &err) != 0) {
        fprintf(stderr, "imgpipe: %s\n", err.message);
        goto out;
    }
    summarize_scaling(&report);
    summarize_crossover(&report, sizes, size_count);
    summarize_device(&report, sizes, size_count);
    if (img_write_text_file(dir, "bench.csv", img_bench_write_csv, &report, &err) != 0 ||
        img_write_text_file(dir, "bench.json", img_bench_write_json, &report, &err) != 0) {
        fprintf(stderr, "imgpipe: %s\n", err.message);
        goto out;
    }
    char partial[4096];
    if (snprintf(partial, sizeof partial, "%s/%s", dir, PARTIAL_CSV) < (int)sizeof partial)
        remove(partial);
    printf("\nwrote %s/bench.csv and %s/bench.json\n", dir, dir);
    img_chart_after_bench(dir);
    status = ctx.named_unavailable ? IMG_EXIT_FAILURE : IMG_EXIT_OK;
    if (ctx.named_unavailable)
        fprintf(stderr, "imgpipe: %d backend%s named in --backends could not run here (see the "
                        "unavailable rows)\n", ctx.named_unavailable,
                ctx.named_unavailable == 1 ? "" : "s");
    for (int i = 0; i < report.row_count; i++)
        if (img_verdict_is_failure(report.rows[i].verdict))
            status = IMG_EXIT_FAILURE;
out:
    free(input_bytes);
    img_image_free(&src);
    img_plan_free(&plan);
    free(report.rows);
    free(ctx.samples);
    return status;
}

/* Benchmark rows and their output as CSV and JSON. */
#ifndef IMG_MEASURE_BENCH_H
#define IMG_MEASURE_BENCH_H

#include <stdbool.h>
#include <stdio.h>

#include "backend.h"
#include "envinfo.h"
#include "stats.h"
#include "verdict.h"

/* The values of the `job` column. A whole-job row (bench --input) times decoding the
 * input's bytes, the pipeline and encoding to the input's format, all in memory; its
 * breakdown holds the medians of the three parts. A bench.csv without the column
 * (older runs) has pipeline rows only. */
#define IMG_BENCH_JOB_PIPELINE "pipeline"
#define IMG_BENCH_JOB_WHOLE "whole"

/* One measured (or refused) combination of backend, setting and size. */
typedef struct img_bench_row {
    char backend[32];
    char setting[48];        /* "default", "threads=4", "simd=avx2", "threads=4 cpus=0" */
    char job[16];            /* what `time` measures: IMG_BENCH_JOB_PIPELINE (the pipeline
                              * alone) or IMG_BENCH_JOB_WHOLE (decode + pipeline + encode) */
    char simd[16];           /* SIMD level that ran, or "" */
    int threads;             /* worker threads, 1 for single-threaded backends */
    char cpus[32];           /* affinity during the run: "all" or a list */
    int width, height, channels;
    int out_width, out_height;
    img_verdict verdict;
    char note[600];          /* why, when not bit-exact; what ran otherwise */
    img_stats time;          /* seconds per pipeline run */
    double mpix_per_s;       /* input megapixels per second at the median */
    double gb_per_s;         /* bytes read + written per second at the median */
    double bandwidth_fraction;   /* gb_per_s / machine copy bandwidth */
    double speedup;          /* serial median / this median, same size, same run */
    double speedup_vs_1_thread;  /* threaded backends: 1-thread median (same cpus, size) / this */
    double parallel_efficiency;  /* speedup_vs_1_thread / threads */
    double cpu_per_run;      /* process CPU seconds per run */
    double cpu_per_wall;     /* average number of busy cores */
    double vcsw_per_run;     /* voluntary context switches per run */
    double ivcsw_per_run;    /* involuntary context switches per run */
    double init_s;           /* backend init (thread start, OpenCL build or cache load) */
    double cold_s;           /* the first run after init */
    double madds_per_pixel;  /* the blur's multiply-adds per input pixel by the spec:
                              * 2 passes x (2r + 1) taps x channels; 0 without blur */
    img_breakdown breakdown; /* backend-reported parts of the last run */
    double stage_s[IMG_STAGE_COUNT];   /* median of each stage run alone; -1 when disabled */
    /* Threads backend: where its tasks ran during the timed runs (sched_getcpu() at
     * each task's start and end). cpus_used is the median over the runs of the
     * distinct CPUs a run's tasks ran on (0: not recorded); cpus_ran_on the union. */
    double cpus_used;
    char cpus_ran_on[64];    /* "0-1"; "" when not recorded */
    int cpus_possible;       /* min(threads, CPUs allowed, tasks of the widest batch) */
    int disturbed;           /* 1: cpus_used < cpus_possible, the runs were not as parallel
                              * as they could be (a busy machine); 0: no; -1: not recorded */
} img_bench_row;

/* ---- the columns of bench.csv and bench.json, declared once ----
 *
 * Both writers and the charts' reader take the names from this table; the plain
 * columns (up to IMG_BENCH_PLAIN_FIELDS) are also written from it, the CSV and the
 * JSON in the same order with the same number formats. The others are structured
 * (optional, grouped, or in a different place in the JSON) and written by hand, but
 * their names still come from here. */
typedef enum img_bench_field_id {
    IMG_BF_BACKEND, IMG_BF_SETTING, IMG_BF_SIMD, IMG_BF_THREADS, IMG_BF_CPUS,
    IMG_BF_WIDTH, IMG_BF_HEIGHT, IMG_BF_CHANNELS, IMG_BF_OUT_WIDTH, IMG_BF_OUT_HEIGHT,
    IMG_BF_VERDICT, IMG_BF_REPS, IMG_BF_MEDIAN_S, IMG_BF_MIN_S, IMG_BF_MAX_S, IMG_BF_Q1_S,
    IMG_BF_Q3_S, IMG_BF_IQR_S, IMG_BF_MPIX_PER_S, IMG_BF_GB_PER_S, IMG_BF_BANDWIDTH_FRACTION,
    IMG_BF_SPEEDUP_VS_SERIAL, IMG_BF_SPEEDUP_VS_1_THREAD, IMG_BF_PARALLEL_EFFICIENCY,
    IMG_BF_CPU_S_PER_RUN, IMG_BF_CPU_PER_WALL, IMG_BF_VCSW_PER_RUN, IMG_BF_IVCSW_PER_RUN,
    IMG_BF_INIT_S, IMG_BF_COLD_S, IMG_BF_MADDS_PER_PIXEL, IMG_BF_JOB,
    IMG_BENCH_PLAIN_FIELDS,
    /* written by hand */
    IMG_BF_CPUS_USED_PER_RUN = IMG_BENCH_PLAIN_FIELDS, IMG_BF_CPUS_POSSIBLE, IMG_BF_CPUS_RAN_ON,
    IMG_BF_DISTURBED, IMG_BF_BREAKDOWN, IMG_BF_NOTE,
    IMG_BENCH_FIELDS
} img_bench_field_id;

typedef enum img_bench_field_type {
    IMG_BENCH_TEXT,      /* char[] */
    IMG_BENCH_INT,       /* int */
    IMG_BENCH_SIZE,      /* size_t */
    IMG_BENCH_DOUBLE,    /* double, printed with `format` */
    IMG_BENCH_VERDICT,   /* img_verdict, printed as its name */
    IMG_BENCH_CUSTOM,    /* written by hand: only the name is used */
} img_bench_field_type;

typedef struct img_bench_field {
    const char *name;    /* CSV column and JSON member */
    img_bench_field_type type;
    size_t offset;       /* into img_bench_row */
    const char *format;  /* IMG_BENCH_DOUBLE: printf format for one double */
} img_bench_field;

extern const img_bench_field img_bench_fields[IMG_BENCH_FIELDS];

/* The breakdown parts bench.csv gives a column each ("<name>_s"), in column order:
 * first those backends report (OpenCL's build, upload, kernel, download), then those
 * of whole-job rows (decode, pipeline, encode: IMG_BENCH_WHOLE_PARTS from
 * IMG_BENCH_FIRST_WHOLE_PART on). The stage columns ("stage_<name>_s") follow, named
 * by img_stage_name(). */
enum {
    IMG_BENCH_BREAKDOWN_COLUMNS = 7,
    IMG_BENCH_FIRST_WHOLE_PART = 4,
    IMG_BENCH_WHOLE_PARTS = IMG_BENCH_BREAKDOWN_COLUMNS - IMG_BENCH_FIRST_WHOLE_PART,
};
extern const char *const img_bench_breakdown_columns[IMG_BENCH_BREAKDOWN_COLUMNS];

/* A streamed device run against its parts, from the same run as the breakdown, one
 * column each after the breakdown columns ("<name>_s"): the run end to end with its
 * transfers and kernels overlapped, the same parts one after another (upload + kernel
 * + download), and the ideal, the busiest engine alone. Not parts of a stack. */
enum { IMG_BENCH_OVERLAP_COLUMNS = 3 };
extern const char *const img_bench_overlap_columns[IMG_BENCH_OVERLAP_COLUMNS];

typedef struct img_bench_report {
    img_env env;
    double copy_bandwidth_gbs;
    /* The device backend's measured bandwidths (device_bytes 0: not measured). */
    img_device_bandwidth device;
    /* The compute roof of each SIMD level this CPU runs, on one thread and on every
     * allowed CPU: the ceiling the blur's multiply-adds are held against. */
    img_compute_roof roofs[2 * 8];
    int roof_count;
    char command_line[512];
    char crossover[800];     /* where opencl overtakes simd-threads, when both ran */
    int reps, warmup;
    double min_time;
    img_bench_row *rows;
    int row_count;
    /* The trace files this run wrote into its folder (the charts use only these). */
    const char *trace_files[2];
    int trace_file_count;
} img_bench_report;

/* What a disturbed row's tasks did, for notes and the printed table: "all tasks ran on
 * CPU 0", "tasks ran on 1.5 of 4 possible CPUs per run (median)". */
void img_bench_describe_disturbed(const img_bench_row *row, char *buf, size_t len);

/* Seconds of the named breakdown part, or -1 when the backend did not report it. */
double img_breakdown_get(const img_breakdown *b, const char *name);

int img_bench_write_csv(FILE *f, const img_bench_report *report);
int img_bench_write_json(FILE *f, const img_bench_report *report);

/* Writes through fn into dir/name atomically (temp file + rename). */
int img_write_text_file(const char *dir, const char *name,
                        int (*fn)(FILE *, const img_bench_report *),
                        const img_bench_report *report, img_error *err);

/* Copy bandwidth of this machine in GB/s (bytes read + written), best of a few
 * large memcpy runs. */
double img_measure_copy_bandwidth(void);

#endif

#include <stddef.h>

#include "bench.h"

#define TEXT(id, name, member) [id] = {name, IMG_BENCH_TEXT, offsetof(img_bench_row, member), NULL}
#define INT(id, name, member) [id] = {name, IMG_BENCH_INT, offsetof(img_bench_row, member), NULL}
#define DBL(id, name, member, fmt) \
    [id] = {name, IMG_BENCH_DOUBLE, offsetof(img_bench_row, member), fmt}
#define CUSTOM(id, name) [id] = {name, IMG_BENCH_CUSTOM, 0, NULL}

/* Order is column order; formats are the published precision of each number. */
const img_bench_field img_bench_fields[IMG_BENCH_FIELDS] = {
    TEXT(IMG_BF_BACKEND, "backend", backend),
    TEXT(IMG_BF_SETTING, "setting", setting),
    TEXT(IMG_BF_SIMD, "simd", simd),
    INT(IMG_BF_THREADS, "threads", threads),
    TEXT(IMG_BF_CPUS, "cpus", cpus),
    INT(IMG_BF_WIDTH, "width", width),
    INT(IMG_BF_HEIGHT, "height", height),
    INT(IMG_BF_CHANNELS, "channels", channels),
    INT(IMG_BF_OUT_WIDTH, "out_width", out_width),
    INT(IMG_BF_OUT_HEIGHT, "out_height", out_height),
    [IMG_BF_VERDICT] = {"verdict", IMG_BENCH_VERDICT, offsetof(img_bench_row, verdict), NULL},
    [IMG_BF_REPS] = {"reps", IMG_BENCH_SIZE, offsetof(img_bench_row, time.count), NULL},
    DBL(IMG_BF_MEDIAN_S, "median_s", time.median, "%.9f"),
    DBL(IMG_BF_MIN_S, "min_s", time.min, "%.9f"),
    DBL(IMG_BF_MAX_S, "max_s", time.max, "%.9f"),
    DBL(IMG_BF_Q1_S, "q1_s", time.q1, "%.9f"),
    DBL(IMG_BF_Q3_S, "q3_s", time.q3, "%.9f"),
    DBL(IMG_BF_IQR_S, "iqr_s", time.iqr, "%.9f"),
    DBL(IMG_BF_MPIX_PER_S, "mpix_per_s", mpix_per_s, "%.3f"),
    DBL(IMG_BF_GB_PER_S, "gb_per_s", gb_per_s, "%.4f"),
    DBL(IMG_BF_BANDWIDTH_FRACTION, "bandwidth_fraction", bandwidth_fraction, "%.4f"),
    DBL(IMG_BF_SPEEDUP_VS_SERIAL, "speedup_vs_serial", speedup, "%.3f"),
    DBL(IMG_BF_SPEEDUP_VS_1_THREAD, "speedup_vs_1_thread", speedup_vs_1_thread, "%.3f"),
    DBL(IMG_BF_PARALLEL_EFFICIENCY, "parallel_efficiency", parallel_efficiency, "%.3f"),
    DBL(IMG_BF_CPU_S_PER_RUN, "cpu_s_per_run", cpu_per_run, "%.6f"),
    DBL(IMG_BF_CPU_PER_WALL, "cpu_per_wall", cpu_per_wall, "%.3f"),
    DBL(IMG_BF_VCSW_PER_RUN, "vcsw_per_run", vcsw_per_run, "%.2f"),
    DBL(IMG_BF_IVCSW_PER_RUN, "ivcsw_per_run", ivcsw_per_run, "%.2f"),
    DBL(IMG_BF_INIT_S, "init_s", init_s, "%.6f"),
    DBL(IMG_BF_COLD_S, "cold_s", cold_s, "%.6f"),
    DBL(IMG_BF_MADDS_PER_PIXEL, "madds_per_pixel", madds_per_pixel, "%.1f"),
    TEXT(IMG_BF_JOB, "job", job),
    CUSTOM(IMG_BF_CPUS_USED_PER_RUN, "cpus_used_per_run"),
    CUSTOM(IMG_BF_CPUS_POSSIBLE, "cpus_possible"),
    CUSTOM(IMG_BF_CPUS_RAN_ON, "cpus_ran_on"),
    CUSTOM(IMG_BF_DISTURBED, "disturbed"),
    CUSTOM(IMG_BF_BREAKDOWN, "breakdown"),
    CUSTOM(IMG_BF_NOTE, "note"),
};

/* Build first: the one-off OpenCL program build, drawn on its own scale. Then the
 * parts of a whole job, in the order the job runs them. */
const char *const img_bench_breakdown_columns[IMG_BENCH_BREAKDOWN_COLUMNS] = {
    "build", "upload", "kernel", "download", "decode", "pipeline", "encode"};

const char *const img_bench_overlap_columns[IMG_BENCH_OVERLAP_COLUMNS] = {"streamed", "serialized",
                                                                         "ideal"};

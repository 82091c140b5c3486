/* A compute backend: a table of functions filled by the backend's own file.
 *
 * Adding a backend is one new file defining a `const img_backend img_backend_NAME`
 * and one line in registry.c. The dispatcher (verify, bench, run, batch) only ever
 * talks to this table.
 *
 * Lifetime: probe() may be called any time; init() creates all persistent state
 * (thread pool, OpenCL context, compiled programs, scratch buffers) once, outside any
 * timed region; run_stage()/run_pipeline() may be called many times on that state
 * from one thread at a time; destroy() releases everything, also after a failed or
 * partial init. */
#ifndef IMG_BACKENDS_BACKEND_H
#define IMG_BACKENDS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cpus.h"
#include "error.h"
#include "image.h"
#include "spec.h"
#include "trace.h"

/* Settings a backend may honour; zero/NULL fields mean "the backend's default". */
typedef struct img_backend_options {
    int threads;             /* worker count; 0 = online cores */
    int band_rows;           /* rows per task; 0 = chosen for the cache */
    const char *simd_level;  /* "auto", "portable", "sse4.1", "avx2", "avx512", "avx512icl";
                                NULL = auto */
    const char *device;      /* OpenCL device: index, "cpu", "gpu" or a name substring */
    bool no_cache;           /* OpenCL: bypass the on-disk program cache */
    bool autotune;           /* OpenCL: tune the work-group size */
    const char *trace_path;  /* non-NULL: record the tasks of each pipeline run for the
                                caller to write to this path (the table's trace()); a
                                backend never writes the file itself */
    int bands;               /* OpenCL: stream the image through the device in this many
                                bands of output rows; 0 = chosen from image and device */
    int pinned;              /* OpenCL: IMG_PINNED_*; how host data reaches the device */
    size_t alloc_limit;      /* OpenCL: treat allocations above this many bytes as
                                impossible, as if the device's CL_DEVICE_MAX_MEM_ALLOC_SIZE
                                were this small (tests force banding); 0 = the device's */
} img_backend_options;

/* img_backend_options.pinned: transfers through staging buffers in pinned host memory
 * (CL_MEM_ALLOC_HOST_PTR, mapped once; what lets a discrete GPU's copy engines run
 * asynchronously), or straight from and into the image's rows. */
enum { IMG_PINNED_AUTO = 0, IMG_PINNED_ON, IMG_PINNED_OFF };

/* Where the time of the last run_pipeline() went, for backends that can say more
 * than the wall clock (OpenCL transfers and kernels, per-stage CPU time...). */
#define IMG_BREAKDOWN_MAX 16
typedef struct img_breakdown {
    int count;
    struct {
        const char *name;    /* static string: "upload", "kernel", "download", "blur"... */
        double seconds;
    } part[IMG_BREAKDOWN_MAX];
} img_breakdown;

/* A measured peak of one instruction sequence (img_backend.compute_roof). */
typedef struct img_compute_roof {
    char level[24];             /* "avx512icl" */
    char instruction[48];       /* "vpdpwssd", "vpmaddwd + vpaddd" */
    int threads;                /* run on this many threads at once */
    double madds_per_second;    /* 16-bit multiply-adds per second, all threads together */
} img_compute_roof;

/* What the last run_pipeline() cost, measured by the backend around its own work, for
 * backends that run tasks on a pool. The context switches are those of the whole
 * process (getrusage RUSAGE_SELF: the caller and every worker). */
typedef struct img_counters {
    double wall_seconds;        /* CLOCK_MONOTONIC */
    double cpu_seconds;         /* CLOCK_PROCESS_CPUTIME_ID: all threads together */
    long voluntary_switches;    /* ru_nvcsw delta: a thread blocked (waited for work) */
    long involuntary_switches;  /* ru_nivcsw delta: a thread was preempted */
    int threads;                /* pool workers */
    int tasks;                  /* tasks run, over all batches */
    int batches;                /* batches, i.e. barriers the run waited at */
    int band_rows;              /* band height of the run's first batch */
    int scratch_grows;          /* scratch (re)allocations the run needed: 0 once warm */
    int widest_batch;           /* tasks in the run's largest batch */
    int cpus_used;              /* distinct CPUs the tasks ran on (sched_getcpu() at each
                                 * task's start and end); 0 when unknown */
    img_cpu_mask cpus_seen;     /* which ones */
} img_counters;

/* What a backend honours and offers, so bench knows which settings to sweep and which
 * extra measurements to make, without naming any backend. */
enum {
    IMG_BACKEND_THREADED = 1u << 0,     /* options.threads, band_rows, trace_path */
    IMG_BACKEND_SIMD_LEVELS = 1u << 1,  /* options.simd_level: the names simd_level() lists */
    IMG_BACKEND_SCALING_SERIES = 1u << 2,  /* bench's thread-scaling series and its traces
                                              run on this backend (one backend has it) */
    IMG_BACKEND_HAS_DEVICE = 1u << 3,   /* runs on a device that describe_platform() names */
};

/* Which of the backend options a backend honours (its table's `options` field). The
 * CLI refuses an option that none of the selected backends uses, and names the
 * backends that do, from these bits. */
enum {
    IMG_OPTION_THREADS = 1u << 0,    /* options.threads (--threads) */
    IMG_OPTION_BAND_ROWS = 1u << 1,  /* options.band_rows (--band-rows) */
    IMG_OPTION_SIMD = 1u << 2,       /* options.simd_level (--simd) */
    IMG_OPTION_DEVICE = 1u << 3,     /* options.device (--device) */
    IMG_OPTION_NO_CACHE = 1u << 4,   /* options.no_cache (--no-cache) */
    IMG_OPTION_AUTOTUNE = 1u << 5,   /* options.autotune (--autotune) */
    IMG_OPTION_TRACE = 1u << 6,      /* options.trace_path (--trace) */
    IMG_OPTION_BANDS = 1u << 7,      /* options.bands (--bands) */
    IMG_OPTION_PINNED = 1u << 8,     /* options.pinned (--pinned) */
};

/* A device's measured bandwidths (img_backend.device_bandwidth), in GB/s: a copy
 * inside device memory (bytes read + written, as the host's copy bandwidth counts),
 * and host-to-device and device-to-host transfers through pinned host memory. */
typedef struct img_device_bandwidth {
    size_t bytes;               /* per transfer */
    double device_copy_gbs;
    double upload_gbs;
    double download_gbs;
} img_device_bandwidth;

typedef struct img_backend {
    const char *name;
    const char *description;
    unsigned flags;                      /* IMG_BACKEND_* */
    unsigned options;                    /* IMG_OPTION_*: the options it honours */

    /* True when the backend can run here; otherwise writes the reason. */
    bool (*probe)(char *reason, size_t reason_len);

    /* Creates the backend's state in *state (NULL is a valid state). */
    int (*init)(void **state, const img_backend_options *options, img_error *err);
    void (*destroy)(void *state);

    /* Runs one stage over the whole image, for stage-by-stage verification. dst is
     * allocated by the caller with the stage's output geometry (the input geometry for
     * every stage but resize). Only called for stages enabled in the plan. */
    int (*run_stage)(void *state, img_stage stage, img_image *dst, const img_image *src,
                     const img_plan *plan, img_error *err);

    /* Runs the whole pipeline (fused as the backend likes). dst is allocated by the
     * caller with the plan's output size and src's channel count. */
    int (*run_pipeline)(void *state, img_image *dst, const img_image *src, const img_plan *plan,
                        img_error *err);

    /* Optional: output rows [y0, y1) of run_pipeline's result, every plane, exactly as
     * the whole run computes them, reading src rows up to img_plan_last_source_row(plan,
     * y0, y1) only (the streamed `imgpipe run` calls it band by band while src is still
     * being decoded). Not traced. Backends without it run streamed jobs whole. */
    int (*run_rows)(void *state, img_image *dst, const img_image *src, const img_plan *plan,
                    int y0, int y1, img_error *err);

    /* Optional: what actually ran ("avx2", "PoCL: cpu-skylake", "4 threads"). */
    void (*describe)(void *state, char *buf, size_t len);

    /* Optional: time breakdown of the last run_pipeline(). */
    void (*breakdown)(void *state, img_breakdown *out);

    /* Optional: the counters of the last run_pipeline(); fails (-1) before the first
     * successful run. */
    int (*counters)(void *state, img_counters *out);

    /* Optional: the tasks of the last run_pipeline() when options.trace_path asked for
     * them, with the number of tracks and their names (for img_trace_write_named;
     * *names NULL: "worker N" for pool workers); NULL when the last run was not traced.
     * Valid until the next run or destroy(). */
    const img_trace *(*trace)(void *state, int *tracks, const char *const **names);

    /* Optional (with IMG_BACKEND_SIMD_LEVELS): the i-th name options.simd_level
     * accepts besides "auto", weakest first; NULL past the last. */
    const char *(*simd_level)(int i);

    /* Optional (with IMG_BACKEND_HAS_DEVICE): the platform, device, version and driver
     * that `options` select, one line for the record; without initialising the
     * backend. A device that cannot be selected is described as "unavailable: why". */
    void (*describe_platform)(const img_backend_options *options, char *buf, size_t len);

    /* Optional: writes a heading and the devices this backend can choose from (how
     * options.device numbers and names them) to out, for `imgpipe info`. On failure
     * only the heading has been written. */
    int (*list_devices)(FILE *out, img_error *err);

    /* Optional: the compute roof of the state's arithmetic, measured: the multiply-add
     * its blur is built on, run back to back on `threads` threads at once for about
     * `seconds`. Fills *out; fails only when threads cannot be started. */
    int (*compute_roof)(void *state, int threads, double seconds, img_compute_roof *out,
                        img_error *err);

    /* Optional (with IMG_BACKEND_HAS_DEVICE): the state's device's bandwidths, best of
     * a few large transfers each way and a copy inside the device (about 0.1 s): the
     * floor a streamed run's transfers are held against. */
    int (*device_bandwidth)(void *state, img_device_bandwidth *out, img_error *err);
} img_backend;

#endif

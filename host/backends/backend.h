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

#include "error.h"
#include "image.h"
#include "spec.h"

/* Settings a backend may honour; zero/NULL fields mean "the backend's default". */
typedef struct img_backend_options {
    int threads;             /* worker count; 0 = online cores */
    int band_rows;           /* rows per task; 0 = chosen for the cache */
    const char *simd_level;  /* "auto", "portable", "sse4.1", "avx2", "avx512", "avx512icl";
                                NULL = auto */
    const char *device;      /* OpenCL device: index, "cpu", "gpu" or a name substring */
    bool no_cache;           /* OpenCL: bypass the on-disk program cache */
    bool autotune;           /* OpenCL: tune the work-group size */
    const char *trace_path;  /* threads: write a Chrome trace of the next pipeline run */
} img_backend_options;

/* Where the time of the last run_pipeline() went, for backends that can say more
 * than the wall clock (OpenCL transfers and kernels, per-stage CPU time...). */
#define IMG_BREAKDOWN_MAX 8
typedef struct img_breakdown {
    int count;
    struct {
        const char *name;    /* static string: "upload", "kernel", "download", "blur"... */
        double seconds;
    } part[IMG_BREAKDOWN_MAX];
} img_breakdown;

/* What a backend honours, so bench knows which settings to sweep. */
enum {
    IMG_BACKEND_THREADED = 1u << 0,     /* options.threads, band_rows, trace_path */
    IMG_BACKEND_SIMD_LEVELS = 1u << 1,  /* options.simd_level */
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
};

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

    /* Optional: what actually ran ("avx2", "PoCL: cpu-skylake", "4 threads"). */
    void (*describe)(void *state, char *buf, size_t len);

    /* Optional: time breakdown of the last run_pipeline(). */
    void (*breakdown)(void *state, img_breakdown *out);
} img_backend;

#endif

/* The `opencl` backend (img_backend_opencl, in registry.c) and the few things about
 * its state that the backend table has no slot for.
 *
 * Kernels come from kernels/pipeline.cl, embedded at build time; setting
 * IMGPIPE_KERNEL_DIR loads <dir>/pipeline.cl from disk instead (kernel development). */
#ifndef IMG_BACKENDS_OPENCL_H
#define IMG_BACKENDS_OPENCL_H

#include <stdbool.h>
#include <stdio.h>

#include "backend.h"

extern const img_backend img_backend_opencl;

/* True when init loaded the program from the on-disk cache. `state` is what
 * img_backend_opencl.init produced. */
bool img_opencl_cache_hit(const void *state);

/* Seconds init spent loading or building the program. */
double img_opencl_build_seconds(const void *state);

/* Builds the kernels from source (never the cache) for the device `options` selects
 * and writes the compiler's whole log to `out`: the full text behind a build error
 * that init's one-line message can only begin. */
int img_opencl_build_log(const img_backend_options *options, FILE *out, img_error *err);

#endif

/* libimgpipe: the whole public face of the library.
 *
 * Read an image, run brightness -> contrast -> Gaussian blur -> bilinear resize on it
 * with any backend (serial, threads, simd, simd-threads, opencl), write it, and check a
 * backend bit for bit against serial. Every backend gives the same bytes as serial.
 *
 *     imgpipe_image *in = NULL, *out = NULL;
 *     imgpipe_backend *be = NULL;
 *     imgpipe_params p = imgpipe_params_default();
 *     p.sigma = 1.5;
 *     if (imgpipe_image_read("in.png", &in, &err) || imgpipe_backend_open("simd", NULL, &be, &err)
 *         || imgpipe_run(be, in, &p, &out, &err) || imgpipe_image_write(out, "out.png", &err))
 *         fprintf(stderr, "%s: %s\n", imgpipe_error_name(err.code), err.message);
 *
 * Conventions: every fallible function returns IMGPIPE_OK (0) or an imgpipe_code, and
 * when its last argument `err` is not NULL fills it with that code and a one-line
 * message. Handles are opaque; a function that creates one sets *out only on success
 * and the matching _free/_close accepts NULL. The library never prints, never exits,
 * never reads argv or the environment for its own settings. One backend handle is used
 * from one thread at a time; distinct handles are independent. */
#ifndef IMGPIPE_H
#define IMGPIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility; only what carries this is exported. */
#if defined(__GNUC__) || defined(__clang__)
#define IMGPIPE_API __attribute__((visibility("default")))
#else
#define IMGPIPE_API
#endif

/* The version this header describes (semantic versioning; 0.x: the API may change). */
#define IMGPIPE_VERSION_MAJOR 0
#define IMGPIPE_VERSION_MINOR 1
#define IMGPIPE_VERSION_PATCH 0
#define IMGPIPE_VERSION_NUMBER \
    (IMGPIPE_VERSION_MAJOR * 10000 + IMGPIPE_VERSION_MINOR * 100 + IMGPIPE_VERSION_PATCH)

/* The version of the library actually linked, "MAJOR.MINOR.PATCH": compare it with the
 * macros above to catch a header and a library from different releases. */
IMGPIPE_API const char *imgpipe_version(void);

/* What went wrong. The message in imgpipe_error says which file, option or backend. */
typedef enum imgpipe_code {
    IMGPIPE_OK = 0,
    IMGPIPE_ERROR_ARGUMENT,       /* a NULL handle or an out-of-range parameter */
    IMGPIPE_ERROR_IO,             /* a file could not be read, decoded, encoded or written */
    IMGPIPE_ERROR_UNKNOWN_BACKEND,/* no backend has that name */
    IMGPIPE_ERROR_UNAVAILABLE,    /* the backend exists but cannot run here (no device...) */
    IMGPIPE_ERROR_BACKEND,        /* the backend failed to start or to run */
    IMGPIPE_ERROR_MEMORY,         /* an allocation failed or the image is over the size limit */
} imgpipe_code;

/* The enumerator's name without the prefix ("ok", "io", "unavailable"...); "unknown"
 * for a value that is not an imgpipe_code. Never NULL. */
IMGPIPE_API const char *imgpipe_error_name(int code);

/* Filled by a failing call: the code it returned and a one-line message. */
typedef struct imgpipe_error {
    int code;
    char message[512];
} imgpipe_error;

/* ---- Images ---------------------------------------------------------------------- */

/* An 8-bit image of 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels. */
typedef struct imgpipe_image imgpipe_image;

/* Decodes a PNG, JPEG or PNM (P5/P6) file, chosen by its signature, not its name. */
IMGPIPE_API int imgpipe_image_read(const char *path, imgpipe_image **out, imgpipe_error *err);

/* Encodes img to path in the format its extension names (.png, .jpg/.jpeg, .ppm/.pgm).
 * Atomic: on failure no file is left behind and an existing one is untouched. */
IMGPIPE_API int imgpipe_image_write(const imgpipe_image *img, const char *path,
                                    imgpipe_error *err);

/* Releases an image; NULL is fine. */
IMGPIPE_API void imgpipe_image_free(imgpipe_image *img);

/* Geometry of an image (0 for NULL). */
IMGPIPE_API int imgpipe_image_width(const imgpipe_image *img);
IMGPIPE_API int imgpipe_image_height(const imgpipe_image *img);
IMGPIPE_API int imgpipe_image_channels(const imgpipe_image *img);

/* ---- The pipeline ---------------------------------------------------------------- */

/* What the pipeline computes. Zero is a meaningful value for most fields (brightness 0
 * and contrast 1 skip their stage, sigma 0 skips the blur), so start from the defaults,
 * which are the CLI's, and change what you need:
 *     imgpipe_params p = IMGPIPE_PARAMS_DEFAULT;  p.resize_width = 640; p.resize_height = 480; */
typedef struct imgpipe_params {
    int brightness;       /* added to every sample, -255..255; 0 skips the stage */
    double contrast;      /* factor about 128, 0..4; 1 skips the stage */
    double sigma;         /* Gaussian blur, 0 (off) or 0.5..32 */
    double scale;         /* output size factor, above 0 up to 16; used when resize_width is 0 */
    int resize_width;     /* explicit output size (both or neither), or 0 */
    int resize_height;
    uint64_t max_pixels;  /* limit on the output's width * height; 0 = 2^28 (the CLI's) */
} imgpipe_params;

#define IMGPIPE_PARAMS_DEFAULT \
    ((imgpipe_params){.brightness = 20, .contrast = 1.2, .sigma = 2.0, .scale = 0.5})

/* The same defaults as a function, for languages without C's compound literals. */
IMGPIPE_API imgpipe_params imgpipe_params_default(void);

/* ---- Backends -------------------------------------------------------------------- */

/* Settings a backend may honour; a zero or NULL field means the backend's default, so
 * `(imgpipe_backend_options){.threads = 4}` or a NULL pointer both work. A setting the
 * backend does not use is ignored (the CLI refuses it; the library need not). */
typedef struct imgpipe_backend_options {
    int threads;          /* worker threads (threads, simd-threads); 0 = online cores */
    int band_rows;        /* rows per task (threads, simd-threads); 0 = chosen for the cache */
    const char *simd;     /* "portable", "sse4.1", "avx2", "avx512", "avx512icl"; NULL = best */
    const char *device;   /* OpenCL device: index, "cpu", "gpu" or a name substring */
    bool no_cache;        /* OpenCL: bypass the on-disk program cache */
} imgpipe_backend_options;

/* A started backend: its threads, compiled kernels and device context, kept for many
 * runs. */
typedef struct imgpipe_backend imgpipe_backend;

/* The name of the i-th backend, in the CLI's order, or NULL past the last. */
IMGPIPE_API const char *imgpipe_backend_name_at(size_t i);

/* Starts the backend called name. Fails with IMGPIPE_ERROR_UNKNOWN_BACKEND for a name
 * that is not one (the message lists those that are) and IMGPIPE_ERROR_UNAVAILABLE for
 * one that cannot run on this machine (the message says why). options may be NULL. */
IMGPIPE_API int imgpipe_backend_open(const char *name, const imgpipe_backend_options *options,
                                     imgpipe_backend **out, imgpipe_error *err);

/* Stops the backend and releases everything it holds; NULL is fine. */
IMGPIPE_API void imgpipe_backend_close(imgpipe_backend *backend);

/* What actually runs, e.g. "simd (avx2)" or "threads (8 threads)"; valid until close. */
IMGPIPE_API const char *imgpipe_backend_describe(imgpipe_backend *backend);

/* Runs the pipeline on src into a new image *out (params NULL = the defaults). The
 * result is byte for byte what the serial backend and `imgpipe run` produce. */
IMGPIPE_API int imgpipe_run(imgpipe_backend *backend, const imgpipe_image *src,
                            const imgpipe_params *params, imgpipe_image **out,
                            imgpipe_error *err);

/* Runs serial and the backend on src, stage by stage and then the whole pipeline, and
 * sets *exact to whether every output is identical. A difference is a result, not an
 * error: the call fails only when a backend does; when it differs, err (if not NULL)
 * gets code IMGPIPE_OK and a message naming the first differing stage and sample. */
IMGPIPE_API int imgpipe_verify(imgpipe_backend *backend, const imgpipe_image *src,
                               const imgpipe_params *params, bool *exact, imgpipe_error *err);

#ifdef __cplusplus
}
#endif

#endif

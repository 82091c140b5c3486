/* The public API over the library's layers: image + plan, io, the backend table and
 * verify. Nothing here computes pixels; it only sequences what `imgpipe run` and
 * `imgpipe verify` sequence, so the bytes are the CLI's. */
#include "imgpipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "image.h"
#include "image_io.h"
#include "registry.h"
#include "spec.h"
#include "verify.h"

/* The header's numbers are written by hand so it stands alone once installed; the
 * build passes the project's version to catch the two drifting apart. */
_Static_assert(IMGPIPE_VERSION_MAJOR == IMGPIPE_PROJECT_VERSION_MAJOR &&
                   IMGPIPE_VERSION_MINOR == IMGPIPE_PROJECT_VERSION_MINOR &&
                   IMGPIPE_VERSION_PATCH == IMGPIPE_PROJECT_VERSION_PATCH,
               "host/api/imgpipe.h's version differs from project() in CMakeLists.txt");

#define STR_(x) #x
#define STR(x) STR_(x)

struct imgpipe_image {
    img_image img;
};

struct imgpipe_backend {
    const img_backend *backend;
    void *state;
    char description[192];
};

/* The internal layers report a message only; the code is what this call knows failed. */
static int fail_with(imgpipe_error *err, imgpipe_code code, const img_error *inner)
{
    if (err) {
        err->code = code;
        snprintf(err->message, sizeof err->message, "%s", inner->message);
    }
    return code;
}

static int fail(imgpipe_error *err, imgpipe_code code, const char *message)
{
    img_error inner;
    snprintf(inner.message, sizeof inner.message, "%s", message);
    return fail_with(err, code, &inner);
}

static int ok(imgpipe_error *err)
{
    if (err) {
        err->code = IMGPIPE_OK;
        err->message[0] = '\0';
    }
    return IMGPIPE_OK;
}

const char *imgpipe_version(void)
{
    return STR(IMGPIPE_VERSION_MAJOR) "." STR(IMGPIPE_VERSION_MINOR) "." STR(
        IMGPIPE_VERSION_PATCH);
}

const char *imgpipe_error_name(int code)
{
    switch (code) {
    case IMGPIPE_OK: return "ok";
    case IMGPIPE_ERROR_ARGUMENT: return "argument";
    case IMGPIPE_ERROR_IO: return "io";
    case IMGPIPE_ERROR_UNKNOWN_BACKEND: return "unknown_backend";
    case IMGPIPE_ERROR_UNAVAILABLE: return "unavailable";
    case IMGPIPE_ERROR_BACKEND: return "backend";
    case IMGPIPE_ERROR_MEMORY: return "memory";
    }
    return "unknown";
}

int imgpipe_image_read(const char *path, imgpipe_image **out, imgpipe_error *err)
{
    if (!path || !out)
        return fail(err, IMGPIPE_ERROR_ARGUMENT, "imgpipe_image_read: path and out must not be NULL");
    imgpipe_image *h = calloc(1, sizeof *h);
    if (!h)
        return fail(err, IMGPIPE_ERROR_MEMORY, "out of memory");
    img_error e = {{0}};
    const img_read_options ro = {0};
    if (img_read_file(path, &h->img, &ro, &e) != 0) {
        free(h);
        return fail_with(err, IMGPIPE_ERROR_IO, &e);
    }
    *out = h;
    return ok(err);
}

int imgpipe_image_write(const imgpipe_image *img, const char *path, imgpipe_error *err)
{
    if (!img || !path)
        return fail(err, IMGPIPE_ERROR_ARGUMENT, "imgpipe_image_write: img and path must not be NULL");
    img_error e = {{0}};
    const img_write_options wo = {0};
    if (img_write_file(path, &img->img, &wo, &e) != 0)
        return fail_with(err, IMGPIPE_ERROR_IO, &e);
    return ok(err);
}

void imgpipe_image_free(imgpipe_image *img)
{
    if (!img)
        return;
    img_image_free(&img->img);
    free(img);
}

int imgpipe_image_width(const imgpipe_image *img)
{
    return img ? img->img.width : 0;
}

int imgpipe_image_height(const imgpipe_image *img)
{
    return img ? img->img.height : 0;
}

int imgpipe_image_channels(const imgpipe_image *img)
{
    return img ? img->img.channels : 0;
}

imgpipe_params imgpipe_params_default(void)
{
    return IMGPIPE_PARAMS_DEFAULT;
}

const char *imgpipe_backend_name_at(size_t i)
{
    return i < img_backend_count() ? img_backend_at(i)->name : NULL;
}

int imgpipe_backend_open(const char *name, const imgpipe_backend_options *options,
                         imgpipe_backend **out, imgpipe_error *err)
{
    if (!name || !out)
        return fail(err, IMGPIPE_ERROR_ARGUMENT, "imgpipe_backend_open: name and out must not be NULL");
    img_error e = {{0}};
    const img_backend *b = img_backend_find(name);
    if (!b) {
        char names[256];
        img_backend_names(names, sizeof names);
        img_fail(&e, "unknown backend '%s' (available: %s)", name, names);
        return fail_with(err, IMGPIPE_ERROR_UNKNOWN_BACKEND, &e);
    }
    char reason[256] = "";
    if (!b->probe(reason, sizeof reason)) {
        img_fail(&e, "backend '%s' is unavailable here: %s", b->name, reason);
        return fail_with(err, IMGPIPE_ERROR_UNAVAILABLE, &e);
    }
    imgpipe_backend *h = calloc(1, sizeof *h);
    if (!h)
        return fail(err, IMGPIPE_ERROR_MEMORY, "out of memory");
    const imgpipe_backend_options none = {0};
    if (!options)
        options = &none;
    const img_backend_options bo = {
        .threads = options->threads,
        .band_rows = options->band_rows,
        .simd_level = options->simd,
        .device = options->device,
        .no_cache = options->no_cache,
    };
    h->backend = b;
    if (b->init(&h->state, &bo, &e) != 0) {
        /* A failed init has already released what it built (as `imgpipe run` relies on). */
        free(h);
        return fail_with(err, IMGPIPE_ERROR_BACKEND, &e);
    }
    *out = h;
    return ok(err);
}

void imgpipe_backend_close(imgpipe_backend *backend)
{
    if (!backend)
        return;
    backend->backend->destroy(backend->state);
    free(backend);
}

const char *imgpipe_backend_describe(imgpipe_backend *backend)
{
    if (!backend)
        return "";
    char what[160] = "";
    if (backend->backend->describe)
        backend->backend->describe(backend->state, what, sizeof what);
    snprintf(backend->description, sizeof backend->description, "%s%s%.160s%s",
             backend->backend->name, what[0] ? " (" : "", what, what[0] ? ")" : "");
    return backend->description;
}

/* The plan for src under params, with the failure classified: a parameter out of range
 * is the caller's argument, anything else is the size limit. */
static int make_plan(img_plan *plan, const imgpipe_image *src, const imgpipe_params *params,
                     imgpipe_error *err)
{
    const imgpipe_params defaults = IMGPIPE_PARAMS_DEFAULT;
    if (!params)
        params = &defaults;
    const img_params p = {
        .brightness = params->brightness,
        .contrast = params->contrast,
        .sigma = params->sigma,
        .scale = params->scale,
        .out_width = params->resize_width,
        .out_height = params->resize_height,
    };
    img_error e = {{0}};
    if (img_params_validate(&p, &e) != 0)
        return fail_with(err, IMGPIPE_ERROR_ARGUMENT, &e);
    if (img_plan_init(plan, &p, src->img.width, src->img.height, params->max_pixels, &e) != 0)
        return fail_with(err, IMGPIPE_ERROR_MEMORY, &e);
    return IMGPIPE_OK;
}

int imgpipe_run(imgpipe_backend *backend, const imgpipe_image *src, const imgpipe_params *params,
                imgpipe_image **out, imgpipe_error *err)
{
    if (!backend || !src || !out)
        return fail(err, IMGPIPE_ERROR_ARGUMENT, "imgpipe_run: backend, src and out must not be NULL");
    img_plan plan = {0};
    int rc = make_plan(&plan, src, params, err);
    if (rc != IMGPIPE_OK)
        return rc;
    img_error e = {{0}};
    imgpipe_image *dst = calloc(1, sizeof *dst);
    if (!dst) {
        rc = fail(err, IMGPIPE_ERROR_MEMORY, "out of memory");
    } else if (img_image_alloc(&dst->img, plan.out_width, plan.out_height, src->img.channels,
                               params ? params->max_pixels : 0, &e) != 0) {
        rc = fail_with(err, IMGPIPE_ERROR_MEMORY, &e);
    } else if (backend->backend->run_pipeline(backend->state, &dst->img, &src->img, &plan, &e) !=
               0) {
        rc = fail_with(err, IMGPIPE_ERROR_BACKEND, &e);
    }
    img_plan_free(&plan);
    if (rc != IMGPIPE_OK) {
        imgpipe_image_free(dst);
        return rc;
    }
    *out = dst;
    return ok(err);
}

int imgpipe_verify(imgpipe_backend *backend, const imgpipe_image *src,
                   const imgpipe_params *params, bool *exact, imgpipe_error *err)
{
    if (!backend || !src || !exact)
        return fail(err, IMGPIPE_ERROR_ARGUMENT, "imgpipe_verify: backend, src and exact must not be NULL");
    img_plan plan = {0};
    int rc = make_plan(&plan, src, params, err);
    if (rc != IMGPIPE_OK)
        return rc;
    img_error e = {{0}};
    img_verify_result r;
    if (img_verify_backend(backend->backend, backend->state, &src->img, &plan, &r, NULL, &e) != 0) {
        img_plan_free(&plan);
        return fail_with(err, IMGPIPE_ERROR_BACKEND, &e);
    }
    img_plan_free(&plan);
    *exact = r.exact;
    ok(err);
    if (!r.exact && err)
        snprintf(err->message, sizeof err->message,
                 "%s differs from serial at %s: %llu samples, first at (%d, %d) channel %d: "
                 "expected %d, got %d",
                 backend->backend->name, r.stage, (unsigned long long)r.mismatch.differing,
                 r.mismatch.x, r.mismatch.y, r.mismatch.channel, r.mismatch.expected,
                 r.mismatch.got);
    return IMGPIPE_OK;
}

/* The public API (host/api/imgpipe.h) as a user sees it: codes and messages on every
 * failure path, and every backend bit-exact with serial through it. Includes nothing
 * but the public header, so it would catch the header leaning on an internal one. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "imgpipe.h"

#define INPUT IMGPIPE_SOURCE_DIR "/tests/fuzz/corpus/png/rgb9x7.png"

Test(api, version_and_error_names)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", IMGPIPE_VERSION_MAJOR, IMGPIPE_VERSION_MINOR,
             IMGPIPE_VERSION_PATCH);
    cr_assert_str_eq(imgpipe_version(), want);
    cr_assert_str_eq(imgpipe_error_name(IMGPIPE_OK), "ok");
    cr_assert_str_eq(imgpipe_error_name(IMGPIPE_ERROR_UNAVAILABLE), "unavailable");
    cr_assert_str_eq(imgpipe_error_name(-1), "unknown");
    cr_assert_str_eq(imgpipe_error_name(IMGPIPE_ERROR_MEMORY + 1), "unknown");
}

Test(api, defaults_are_the_clis)
{
    const imgpipe_params p = imgpipe_params_default();
    cr_assert_eq(p.brightness, 20);
    cr_assert_eq(p.contrast, 1.2);
    cr_assert_eq(p.sigma, 2.0);
    cr_assert_eq(p.scale, 0.5);
    cr_assert_eq(p.resize_width, 0);
    cr_assert_eq(p.max_pixels, 0);
}

Test(api, failures_have_a_code_and_a_message)
{
    imgpipe_error err = {0};
    imgpipe_image *img = NULL;
    cr_assert_eq(imgpipe_image_read("/nonexistent/x.png", &img, &err), IMGPIPE_ERROR_IO);
    cr_assert_eq(err.code, IMGPIPE_ERROR_IO);
    cr_assert_null(img);
    cr_assert(strstr(err.message, "/nonexistent/x.png"), "%s", err.message);

    imgpipe_backend *be = NULL;
    cr_assert_eq(imgpipe_backend_open("nope", NULL, &be, &err), IMGPIPE_ERROR_UNKNOWN_BACKEND);
    cr_assert_null(be);
    cr_assert(strstr(err.message, "serial"), "%s", err.message);
    cr_assert_eq(imgpipe_backend_open(NULL, NULL, &be, NULL), IMGPIPE_ERROR_ARGUMENT);

    cr_assert_eq(imgpipe_image_read(INPUT, &img, &err), IMGPIPE_OK);
    cr_assert_eq(imgpipe_backend_open("serial", NULL, &be, &err), IMGPIPE_OK);
    imgpipe_image *out = NULL;
    imgpipe_params p = IMGPIPE_PARAMS_DEFAULT;
    p.brightness = 300;
    cr_assert_eq(imgpipe_run(be, img, &p, &out, &err), IMGPIPE_ERROR_ARGUMENT);
    cr_assert(strstr(err.message, "300"), "%s", err.message);
    p = IMGPIPE_PARAMS_DEFAULT;
    p.resize_width = p.resize_height = 1000;
    p.max_pixels = 1000;
    cr_assert_eq(imgpipe_run(be, img, &p, &out, &err), IMGPIPE_ERROR_MEMORY);
    cr_assert_null(out);
    cr_assert_eq(imgpipe_image_write(img, "/nonexistent/out.png", &err), IMGPIPE_ERROR_IO);
    cr_assert_eq(imgpipe_image_write(img, "out.unknown-extension", &err), IMGPIPE_ERROR_IO);
    imgpipe_backend_close(be);
    imgpipe_image_free(img);
    imgpipe_backend_close(NULL);
    imgpipe_image_free(NULL);
}

Test(api, every_backend_is_exact_through_the_api)
{
    imgpipe_error err = {0};
    imgpipe_image *img = NULL;
    cr_assert_eq(imgpipe_image_read(INPUT, &img, &err), IMGPIPE_OK, "%s", err.message);
    cr_assert_eq(imgpipe_image_width(img), 9);
    cr_assert_eq(imgpipe_image_height(img), 7);
    cr_assert_eq(imgpipe_image_channels(img), 3);
    imgpipe_params p = IMGPIPE_PARAMS_DEFAULT;
    p.brightness = -7;
    p.sigma = 0.8;
    p.resize_width = 13;
    p.resize_height = 5;
    int ran = 0;
    for (size_t i = 0; imgpipe_backend_name_at(i); i++) {
        const char *name = imgpipe_backend_name_at(i);
        imgpipe_backend *be = NULL;
        const int rc = imgpipe_backend_open(name, &(imgpipe_backend_options){.threads = 2}, &be,
                                            &err);
        if (rc == IMGPIPE_ERROR_UNAVAILABLE)
            continue;
        cr_assert_eq(rc, IMGPIPE_OK, "%s: %s", name, err.message);
        cr_assert(strncmp(imgpipe_backend_describe(be), name, strlen(name)) == 0);
        imgpipe_image *out = NULL;
        cr_assert_eq(imgpipe_run(be, img, &p, &out, &err), IMGPIPE_OK, "%s: %s", name,
                     err.message);
        cr_assert_eq(imgpipe_image_width(out), 13);
        cr_assert_eq(imgpipe_image_height(out), 5);
        bool exact = false;
        cr_assert_eq(imgpipe_verify(be, img, &p, &exact, &err), IMGPIPE_OK, "%s", err.message);
        cr_assert(exact, "%s: %s", name, err.message);
        imgpipe_image_free(out);
        imgpipe_backend_close(be);
        ran++;
    }
    cr_assert_geq(ran, 2);
    imgpipe_image_free(img);
}

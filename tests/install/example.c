/* A user of the installed library: built outside the project by tests/install/check.sh,
 * through pkg-config and through find_package(imgpipe).
 *
 * usage: example IN OUT BACKEND [SIMD]
 * Runs IN through BACKEND with --brightness -10 --contrast 1.5 --sigma 1.3 --resize
 * 50x20, writes OUT, and checks the backend against serial. */
#include <stdio.h>
#include <string.h>

#include <imgpipe.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s IN OUT BACKEND [SIMD]\n", argv[0]);
        return 2;
    }
    if (strcmp(imgpipe_version(), "0.1.0") != 0 || IMGPIPE_VERSION_NUMBER != 100) {
        fprintf(stderr, "version mismatch: library %s, header %d\n", imgpipe_version(),
                IMGPIPE_VERSION_NUMBER);
        return 1;
    }
    imgpipe_error err = {0};
    imgpipe_image *in = NULL, *out = NULL;
    imgpipe_backend *be = NULL;
    imgpipe_params p = IMGPIPE_PARAMS_DEFAULT;
    p.brightness = -10;
    p.contrast = 1.5;
    p.sigma = 1.3;
    p.resize_width = 50;
    p.resize_height = 20;
    const imgpipe_backend_options opt = {.threads = 2, .simd = argc > 4 ? argv[4] : NULL};
    bool exact = false;
    int status = 1;

    if (imgpipe_image_read(argv[1], &in, &err) || imgpipe_backend_open(argv[3], &opt, &be, &err) ||
        imgpipe_run(be, in, &p, &out, &err) || imgpipe_image_write(out, argv[2], &err) ||
        imgpipe_verify(be, in, &p, &exact, &err))
        goto done;
    printf("%s: %dx%d x%d -> %dx%d, %s\n", imgpipe_backend_describe(be), imgpipe_image_width(in),
           imgpipe_image_height(in), imgpipe_image_channels(in), imgpipe_image_width(out),
           imgpipe_image_height(out), exact ? "bit-exact with serial" : err.message);
    status = exact ? 0 : 1;

    /* The error path a user sees: a code with a name and a one-line message. */
    imgpipe_backend *none = NULL;
    if (imgpipe_backend_open("no-such-backend", NULL, &none, &err) !=
            IMGPIPE_ERROR_UNKNOWN_BACKEND ||
        none || strcmp(imgpipe_error_name(err.code), "unknown_backend") != 0) {
        fprintf(stderr, "expected unknown_backend, got %s: %s\n", imgpipe_error_name(err.code),
                err.message);
        status = 1;
    }
    err.code = IMGPIPE_OK;
done:
    if (err.code != IMGPIPE_OK)
        fprintf(stderr, "example: %s: %s\n", imgpipe_error_name(err.code), err.message);
    imgpipe_image_free(out);
    imgpipe_image_free(in);
    imgpipe_backend_close(be);
    return status;
}

/* `imgpipe run`: one image through one backend into one file. */
#include <stdio.h>

#include "app.h"
#include "image_io.h"

int img_cmd_run(const img_cli *cli)
{
    img_error err = {{0}};
    img_image src = {0}, dst = {0};
    img_plan plan = {0};
    const img_backend *backend = NULL;
    void *state = NULL;
    bool state_live = false;
    int status = IMG_EXIT_FAILURE;

    /* Check the output's format first: a bad extension should not cost a decode. */
    if (img_format_from_path(cli->output) == IMG_FORMAT_UNKNOWN) {
        img_fail(&err, "%s: unknown output format (use .png, .jpg, .jpeg, .ppm or .pgm)",
                 cli->output);
        status = IMG_EXIT_USAGE;
        goto done;
    }
    if (img_backend_lookup(cli->backend ? cli->backend : "serial", &backend, &err) != 0) {
        status = IMG_EXIT_USAGE;
        goto done;
    }
    if (img_load_input(cli, &src, &err) != 0)
        goto done;
    if (img_plan_init(&plan, &cli->params, src.width, src.height, cli->max_pixels, &err) != 0)
        goto done;
    img_backend_options options = img_backend_options_from_cli(cli);
    if (backend->init(&state, &options, &err) != 0)
        goto done;
    state_live = true;
    if (img_image_alloc(&dst, plan.out_width, plan.out_height, src.channels, cli->max_pixels,
                        &err) != 0)
        goto done;
    double t0 = img_now();
    if (backend->run_pipeline(state, &dst, &src, &plan, &err) != 0)
        goto done;
    double seconds = img_now() - t0;
    img_write_options wo = {0};
    if (img_write_file(cli->output, &dst, &wo, &err) != 0)
        goto done;
    char what[160] = "";
    if (backend->describe)
        backend->describe(state, what, sizeof what);
    fprintf(stderr, "%s%s%s%s: %dx%d x%d -> %dx%d in %.2f ms (%.1f MP/s); wrote %s\n",
            backend->name, what[0] ? " (" : "", what, what[0] ? ")" : "", src.width, src.height,
            src.channels, dst.width, dst.height, seconds * 1e3,
            (double)src.width * src.height / seconds / 1e6, cli->output);
    status = IMG_EXIT_OK;
done:
    if (status != IMG_EXIT_OK)
        fprintf(stderr, "imgpipe: %s\n", err.message);
    if (state_live)
        backend->destroy(state);
    img_image_free(&dst);
    img_image_free(&src);
    img_plan_free(&plan);
    return status;
}

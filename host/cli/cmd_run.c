/* `imgpipe run`: one image through one backend into one file. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "app.h"
#include "image_io.h"
#include "registry.h"

int img_cmd_run(const img_cli *cli)
{
    img_error err = {{0}};
    img_image src = {0}, dst = {0};
    img_plan plan = {0};
    const img_backend *backend = NULL;
    void *state = NULL;
    bool state_live = false;
    int status = IMG_EXIT_FAILURE;

    /* Nothing is loaded, probed or initialised until the input is decoded and the
     * output is known to be writable: a bad argument costs milliseconds and leaves no
     * file anywhere (the OpenCL probe alone makes PoCL write into its cache). */
    img_write_options wo = img_write_options_from_cli(cli);
    if (img_check_output(cli->output, 0, 0, 0, &wo, &err) != 0 ||
        img_backend_by_name(cli->backend ? cli->backend : img_backend_reference()->name,
                            &backend, &err) != 0 ||
        img_check_backend_options(cli, &err) != 0) {
        status = IMG_EXIT_USAGE;
        goto done;
    }
    if (img_load_input(cli, &src, &err) != 0)
        goto done;
    /* What the options make of this input (an output over the pixel limit) is a usage
     * error, as it is when the size is known from the options alone. */
    if (img_plan_init(&plan, &cli->params, src.width, src.height, cli->max_pixels, &err) != 0) {
        status = IMG_EXIT_USAGE;
        goto done;
    }
    if (img_check_output(cli->output, plan.out_width, plan.out_height, src.channels, &wo,
                         &err) != 0) {
        status = IMG_EXIT_USAGE;
        goto done;
    }
    /* Asked for by name, a backend that cannot run here is a failure, not a usage error. */
    if (img_backend_check_available(backend, &err) != 0)
        goto done;
    img_backend_options options = img_backend_options_from_cli(cli);
    if (backend->init(&state, &options, &err) != 0)
        goto done;
    state_live = true;
    if (img_image_alloc(&dst, plan.out_width, plan.out_height, src.channels, cli->max_pixels,
                        &err) != 0)
        goto done;
    /* Tuning tries several work-group shapes on the first run and takes seconds: it is
     * its own untimed run, announced first, so the pipeline's time is the pipeline's. */
    if (cli->autotune) {
        fprintf(stderr, "autotune: trying work-group shapes on this image (once; the choice "
                        "is cached) ...\n");
        double tune0 = img_now();
        if (backend->run_pipeline(state, &dst, &src, &plan, &err) != 0)
            goto done;
        fprintf(stderr, "autotune: %.2f s; the run below uses the chosen shapes\n",
                img_now() - tune0);
    }
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    const double cpu0 = img_cpu_seconds();
    double t0 = img_now();
    if (backend->run_pipeline(state, &dst, &src, &plan, &err) != 0)
        goto done;
    double seconds = img_now() - t0;
    const double cpu = img_cpu_seconds() - cpu0;
    getrusage(RUSAGE_SELF, &ru1);
    /* The backend only recorded the tasks: the file is the caller's, outside the timing. */
    if (cli->trace && backend->trace) {
        int tracks = 0;
        const img_trace *trace = backend->trace(state, &tracks);
        if (trace && img_trace_write(trace, cli->trace, tracks, &err) != 0)
            goto done;
    }
    if (img_write_file(cli->output, &dst, &wo, &err) != 0)
        goto done;
    char what[160] = "";
    if (backend->describe)
        backend->describe(state, what, sizeof what);
    fprintf(stderr, "%s%s%s%s: %dx%d x%d -> %dx%d in %.2f ms (%.1f MP/s); wrote %s\n",
            backend->name, what[0] ? " (" : "", what, what[0] ? ")" : "", src.width, src.height,
            src.channels, dst.width, dst.height, seconds * 1e3,
            (double)src.width * src.height / seconds / 1e6, cli->output);
    /* CPU/wall is how many cores were busy on average: about 1 when threads only
     * interleave on one core, up to the core count when they run in parallel. */
    fprintf(stderr,
            "  wall %.2f ms, CPU %.2f ms, CPU/wall %.2f, context switches: %ld voluntary, %ld "
            "involuntary%s%s\n",
            seconds * 1e3, cpu * 1e3, cpu / seconds, ru1.ru_nvcsw - ru0.ru_nvcsw,
            ru1.ru_nivcsw - ru0.ru_nivcsw, cli->trace ? "; trace: " : "",
            cli->trace ? cli->trace : "");
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

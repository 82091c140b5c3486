/* `imgpipe run`: one image through one backend into one file.
 *
 * Besides the pipeline's own figures it says where the whole command's time went
 * (decode, backend init, pipeline, encode, write, the rest) and what that means for
 * speeding the pipeline up: Amdahl's ceiling, total / (total - pipeline), the whole
 * job's speedup if the pipeline took no time at all. And why this single run is
 * slower than bench's warm median: it is the first run in a fresh process, and the
 * page faults it took (memory touched for the first time) are counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "image_io.h"
#include "registry.h"

/* The parts of the whole command, in the order they ran. */
typedef struct job_times {
    double decode_s;     /* reading and decoding --input, or rendering the built-in picture */
    double init_s;       /* backend init: thread start, OpenCL build or cache load */
    double pipeline_s;   /* the one timed pipeline run */
    double encode_s;     /* into memory (img_write_memory) */
    double write_s;      /* the encoded bytes to the file (img_write_encoded) */
    double total_s;      /* from the command's start to the file written */
} job_times;

static double percent_of(double part, double total)
{
    return total > 0 ? 100.0 * part / total : 0.0;
}

/* Two lines after run's report: each part in ms and as a share of the total (the
 * remainder, "other", is checking the output, probing, planning, allocating the
 * output, --autotune's untimed run and the trace file), then
 * Amdahl's ceiling and what made this first run of the pipeline slower than a warm
 * one. minor/major_faults are those of the pipeline run; scratch_grows is the
 * backend's count of scratch allocations during it (-1: it keeps none). */
static void print_where_the_time_went(const job_times *t, bool decoded, long minor_faults,
                                      long major_faults, int scratch_grows)
{
    double other_s = t->total_s - t->decode_s - t->init_s - t->pipeline_s - t->encode_s -
                     t->write_s;
    if (other_s < 0)
        other_s = 0;   /* clock granularity; the parts were read from the same clock */
    const struct {
        const char *name;
        double seconds;
    } parts[] = {{decoded ? "decode" : "render", t->decode_s}, {"init", t->init_s},
                 {"pipeline", t->pipeline_s},                   {"encode", t->encode_s},
                 {"write", t->write_s},                         {"other", other_s}};
    fprintf(stderr, "  whole job:");
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        fprintf(stderr, "%s %s %.2f ms (%.1f%%)", i ? "," : "", parts[i].name,
                parts[i].seconds * 1e3, percent_of(parts[i].seconds, t->total_s));
    fprintf(stderr, "; total %.2f ms\n", t->total_s * 1e3);
    /* Amdahl: only the pipeline is what the backends speed up. */
    double rest = t->total_s - t->pipeline_s;
    char ceiling[64];
    if (rest > 0)
        snprintf(ceiling, sizeof ceiling, "%.2fx", t->total_s / rest);
    else
        snprintf(ceiling, sizeof ceiling, "unbounded");
    long page = sysconf(_SC_PAGESIZE);
    double touched_mib = (double)minor_faults * (double)(page > 0 ? page : 4096) / (1 << 20);
    fprintf(stderr,
            "  Amdahl: the pipeline is %.1f%% of the job; if it took no time the job would be "
            "%s faster at most. The pipeline's %.2f ms is a first run: %ld page faults "
            "(%.1f MiB touched for the first time)%s",
            percent_of(t->pipeline_s, t->total_s), ceiling, t->pipeline_s * 1e3, minor_faults,
            touched_mib, major_faults ? "" : ", ");
    if (major_faults)
        fprintf(stderr, " and %ld read from disk, ", major_faults);
    if (scratch_grows > 0)
        fprintf(stderr, "%d scratch allocation%s, ", scratch_grows, scratch_grows == 1 ? "" : "s");
    fprintf(stderr, "cold caches; bench times warm runs (imgpipe bench --input ...)\n");
}

int img_cmd_run(const img_cli *cli)
{
    img_error err = {{0}};
    img_image src = {0}, dst = {0};
    img_plan plan = {0};
    const img_backend *backend = NULL;
    void *state = NULL;
    bool state_live = false;
    int status = IMG_EXIT_FAILURE;
    uint8_t *encoded = NULL;
    size_t encoded_size = 0;
    const double start = img_now();

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
    double t_decode = img_now();
    if (img_load_input(cli, &src, &err) != 0)
        goto done;
    const double decode_s = img_now() - t_decode;
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
    double t_init = img_now();
    if (backend->init(&state, &options, &err) != 0)
        goto done;
    state_live = true;
    const double init_s = img_now() - t_init;
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
    /* img_write_file in its two halves, so that encoding and writing are timed apart. */
    double t_encode = img_now();
    if (img_write_memory(cli->output, &dst, &wo, &encoded, &encoded_size, &err) != 0)
        goto done;
    double t_write = img_now();
    if (img_write_encoded(cli->output, encoded, encoded_size, &err) != 0)
        goto done;
    const double write_s = img_now() - t_write, encode_s = t_write - t_encode;
    const double total_s = img_now() - start;
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
    img_counters counters;
    bool have_counters = backend->counters && backend->counters(state, &counters) == 0;
    print_where_the_time_went(
        &(job_times){.decode_s = decode_s, .init_s = init_s, .pipeline_s = seconds,
                     .encode_s = encode_s, .write_s = write_s, .total_s = total_s},
        cli->input != NULL, ru1.ru_minflt - ru0.ru_minflt, ru1.ru_majflt - ru0.ru_majflt,
        have_counters ? counters.scratch_grows : -1);
    status = IMG_EXIT_OK;
done:
    if (status != IMG_EXIT_OK)
        fprintf(stderr, "imgpipe: %s\n", err.message);
    if (state_live)
        backend->destroy(state);
    free(encoded);
    img_image_free(&dst);
    img_image_free(&src);
    img_plan_free(&plan);
    return status;
}

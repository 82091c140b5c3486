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

/* ---- the streamed run ---- */

/* Streamed bands: about this many per image (at most IMG_STREAM_MAX_BANDS), so the
 * first is ready early and the last, which waits for the decode's end, is short. */
#define IMG_STREAM_BANDS IMG_STREAM_MAX_BANDS

/* Output rows per streamed band. Each band recomputes the blur's 2r halo rows, so a band
 * spans at least 8r input rows (the halo a quarter of its work at most). */
static int stream_band_rows(const img_plan *plan)
{
    int rows = (plan->out_height + IMG_STREAM_BANDS - 1) / IMG_STREAM_BANDS;
    const int64_t min_rows =
        ((int64_t)8 * plan->blur_radius * plan->out_height + plan->in_height - 1) /
        plan->in_height;
    if (rows < min_rows)
        rows = min_rows < plan->out_height ? (int)min_rows : plan->out_height;
    return rows > 0 ? rows : 1;
}

static void trace_span(img_trace *trace, const char *stage, int band, int track,
                       int64_t start_ns, int64_t end_ns)
{
    img_trace_event *e = trace ? img_trace_slot(trace) : NULL;
    if (e)
        *e = (img_trace_event){.stage = stage, .band = band, .plane = -1, .worker = track,
                               .cpu = -1, .cpu_end = -1, .start_ns = start_ns,
                               .end_ns = end_ns};
}

typedef struct stream_times {
    double pipeline_s;   /* the bands' run_rows, added up */
    double encode_s;     /* encoding as rows arrived, then the rest and the file's bytes */
    double waited_s;     /* the main thread waiting for decoded rows */
    int bands, band_rows;
} stream_times;

/* Bands of output rows, each as soon as the source rows it reads are decoded, each
 * handed to the encoder at once; then the decode's verdict (a bad trailer fails after
 * the last row), then the rest of the encoding into *encoded. All on this thread while
 * the decode runs on its own. */
static int run_streamed(const img_backend *backend, void *state, img_stream_source *source,
                        img_image *dst, const img_image *src, const img_plan *plan,
                        const img_write_options *wo, const char *output, img_trace *trace,
                        uint8_t **encoded, size_t *encoded_size, stream_times *t,
                        img_error *err)
{
    img_row_writer *writer = NULL;
    if (img_row_writer_begin(output, dst, wo, &writer, err) != 0)
        return -1;
    t->band_rows = stream_band_rows(plan);
    int rc = 0;
    for (int y0 = 0; y0 < plan->out_height && rc == 0; y0 += t->band_rows) {
        int y1 = plan->out_height - y0 < t->band_rows ? plan->out_height : y0 + t->band_rows;
        rc = img_stream_source_wait_rows(source, img_plan_last_source_row(plan, y0, y1) + 1,
                                         &t->waited_s, err);
        if (rc != 0)
            break;
        /* Once every row is decoded there is nothing left to overlap: the rest of the
         * pipeline in one call and the rest of the encoding in finish, both on all the
         * cores rather than band by band on this thread. */
        const bool rest = img_stream_source_rows(source) == src->height;
        if (rest)
            y1 = plan->out_height;
        const int64_t p0 = img_now_ns();
        rc = backend->run_rows(state, dst, src, plan, y0, y1, err);
        if (rc != 0)
            break;
        const int64_t p1 = img_now_ns();
        if (!rest)
            img_row_writer_rows(writer, y1);
        const int64_t e1 = img_now_ns();
        trace_span(trace, "pipeline", t->bands, IMG_STREAM_TRACK_PIPELINE, p0, p1);
        if (e1 - p1 > 1000)   /* rows that completed no encoder band cost nothing */
            trace_span(trace, "encode", t->bands, IMG_STREAM_TRACK_ENCODE, p1, e1);
        t->pipeline_s += (double)(p1 - p0) * 1e-9;
        t->encode_s += (double)(e1 - p1) * 1e-9;
        t->bands++;
        if (rest)
            break;
    }
    if (rc == 0)
        rc = img_stream_source_finish(source, err);
    if (rc == 0) {
        const int64_t f0 = img_now_ns();
        rc = img_row_writer_finish(writer, encoded, encoded_size, err);
        const int64_t f1 = img_now_ns();
        trace_span(trace, "encode", t->bands, IMG_STREAM_TRACK_ENCODE, f0, f1);
        t->encode_s += (double)(f1 - f0) * 1e-9;
    }
    img_row_writer_free(writer);
    return rc;
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
    img_stream_source source;
    bool streamed = false;
    img_trace stream_trace = {0};
    stream_times st = {0};

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
    if (cli->stream == IMG_STREAM_ON && !img_run_streams(cli, backend)) {
        img_fail(&err, "--stream on needs --input and a backend that computes bands of rows "
                       "(simd or simd-threads; got --backend %s%s)",
                 backend->name, cli->input ? "" : " and no --input");
        status = IMG_EXIT_USAGE;
        goto done;
    }
    double t_decode = img_now();
    if (img_run_streams(cli, backend)) {
        /* From here on every exit joins the decoding thread (done:). */
        streamed = true;
        if (img_stream_source_start(&source, cli, cli->trace ? &stream_trace : NULL, &err) != 0 ||
            img_stream_source_wait_started(&source, &src, &err) != 0)
            goto done;
    } else if (img_load_input(cli, &src, &err) != 0) {
        goto done;
    }
    double decode_s = img_now() - t_decode;   /* streamed: set once the decode is over */
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
    /* No streaming backend tunes; one that did would have to wait for every row. */
    if (cli->autotune && !streamed) {
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
    double seconds = 0, encode_s = 0;
    if (streamed) {
        if (run_streamed(backend, state, &source, &dst, &src, &plan, &wo, cli->output,
                         cli->trace ? &stream_trace : NULL, &encoded, &encoded_size, &st,
                         &err) != 0)
            goto done;
        seconds = st.pipeline_s;
        encode_s = st.encode_s;
        decode_s = source.finished_at - source.started_at;
    } else {
        if (backend->run_pipeline(state, &dst, &src, &plan, &err) != 0)
            goto done;
        seconds = img_now() - t0;
    }
    const double cpu = img_cpu_seconds() - cpu0;
    getrusage(RUSAGE_SELF, &ru1);
    /* The backend only recorded the tasks: the file is the caller's, outside the timing.
     * A streamed run's timeline is the decode, pipeline and encode bands. */
    if (cli->trace && streamed) {
        static const char *const tracks[IMG_STREAM_TRACKS] = {
            [IMG_STREAM_TRACK_DECODE] = "decode (its own thread)",
            [IMG_STREAM_TRACK_PIPELINE] = "pipeline bands (main thread)",
            [IMG_STREAM_TRACK_ENCODE] = "encode bands (main thread)"};
        if (img_trace_write_named(&stream_trace, cli->trace, tracks, IMG_STREAM_TRACKS, &err) !=
            0)
            goto done;
    } else if (cli->trace && backend->trace) {
        int tracks = 0;
        const char *const *names = NULL;
        const img_trace *trace = backend->trace(state, &tracks, &names);
        if (trace && img_trace_write_named(trace, cli->trace, names, tracks, &err) != 0)
            goto done;
    }
    /* img_write_file in its two halves, so that encoding and writing are timed apart. */
    double t_encode = img_now();
    if (!streamed &&
        img_write_memory(cli->output, &dst, &wo, &encoded, &encoded_size, &err) != 0)
        goto done;
    double t_write = img_now();
    if (img_write_encoded(cli->output, encoded, encoded_size, &err) != 0)
        goto done;
    const double write_s = img_now() - t_write;
    if (!streamed)
        encode_s = t_write - t_encode;
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
    if (streamed)
        fprintf(stderr,
                "  streamed: the decode on its own thread overlapped the pipeline and the "
                "encoding, %d bands of up to %d rows; waited %.2f ms for decoded rows (so "
                "the parts below overlap)%s%s\n",
                st.bands, st.band_rows, st.waited_s * 1e3, cli->trace ? "; trace: " : "",
                cli->trace ? cli->trace : "");
    else
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
    /* A failed decode is reported as decode-then-run would have: before anything the
     * options make of the image. */
    if (streamed && status != IMG_EXIT_OK && img_stream_source_finish(&source, &err) != 0)
        status = IMG_EXIT_FAILURE;
    if (status != IMG_EXIT_OK)
        fprintf(stderr, "imgpipe: %s\n", err.message);
    if (state_live)
        backend->destroy(state);
    if (streamed)
        img_stream_source_free(&source);   /* after the pipeline: src is its image */
    img_trace_free(&stream_trace);
    free(encoded);
    img_image_free(&dst);
    img_image_free(&src);
    img_plan_free(&plan);
    return status;
}

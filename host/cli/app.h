/* What the subcommands share: loading the input, turning CLI options into backend
 * options, creating a backend, the clock. Each subcommand lives in its own file. */
#ifndef IMG_CLI_APP_H
#define IMG_CLI_APP_H

#include <pthread.h>

#include "backend.h"
#include "cli.h"
#include "clock.h"
#include "error.h"
#include "image.h"
#include "image_io.h"

/* Exit statuses: 0 success, 1 failure (bad file, mismatch, backend fault), 2 usage. */
enum { IMG_EXIT_OK = 0, IMG_EXIT_FAILURE = 1, IMG_EXIT_USAGE = 2 };

/* Reads --input, or renders the built-in image at --size (default 1920x1080 RGB). */
int img_load_input(const img_cli *cli, img_image *img, img_error *err);

/* Backend options from the CLI; threads from the first --threads value. */
img_backend_options img_backend_options_from_cli(const img_cli *cli);

/* Encoder options from the CLI (PNG compression, encoding threads, JPEG quality). */
img_write_options img_write_options_from_cli(const img_cli *cli);

/* Looks the name up without touching the backend (no driver is loaded): an unknown
 * name is an error listing the valid ones. */
int img_backend_by_name(const char *name, const img_backend **out, img_error *err);

/* Probes a backend (this may load drivers, e.g. the OpenCL ICD): an unavailable one is
 * an error giving the probe's reason. Call it only once the input is known good. */
int img_backend_check_available(const img_backend *backend, img_error *err);

/* img_backend_by_name, then img_backend_check_available. */
int img_backend_lookup(const char *name, const img_backend **out, img_error *err);

/* The backends of --backends (all registered ones by default), each once. With
 * serial_first, serial leads the list whatever was asked (bench's baseline);
 * otherwise serial appears only when named (verify compares against it anyway).
 * An unknown name is an error listing the valid ones. */
int img_select_backends(const img_cli *cli, bool serial_first, const img_backend **list, int max,
                        int *count, img_error *err);

/* The backend options given (--threads, --band-rows, --simd, --device, --no-cache,
 * --autotune, --trace) against the backends the command will run: --backend (default
 * serial) for run and batch, --backends for verify and bench (where an option is fine
 * when at least one selected backend uses it). An option none of them uses is an error
 * naming the option and the backends it applies to, read from each backend's `options`
 * bits; so is an unknown backend name. Touches no backend (no probe, no driver): call it
 * before any input is read and exit with IMG_EXIT_USAGE when it fails. */
int img_check_backend_options(const img_cli *cli, img_error *err);

/* Whether `run` streams (--stream, default in app.c): not off, an --input file, a
 * backend that computes bands of rows (its run_rows), and for auto a .png output. */
bool img_run_streams(const img_cli *cli, const img_backend *backend);

/* The streamed run's timeline tracks (img_trace_write_named). */
enum { IMG_STREAM_TRACK_DECODE, IMG_STREAM_TRACK_PIPELINE, IMG_STREAM_TRACK_ENCODE,
       IMG_STREAM_TRACKS };
/* Trace events the main thread may add to the decode's: two per pipeline band, a few
 * more. */
#define IMG_STREAM_MAX_BANDS 16
#define IMG_STREAM_TRACE_SPARE (2 * IMG_STREAM_MAX_BANDS + 8)

/* --input decoded on its own thread, rows published as they are done (run_stream.c).
 * The fields are the source's own; callers use the functions. */
typedef struct img_stream_source {
    const img_cli *cli;
    img_trace *trace;          /* NULL, or where the decode spans go */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool sync_live, thread_live;
    /* Under lock: */
    img_image img;             /* owned from `started` on; freed by img_stream_source_free */
    bool started, finished;
    int rows;                  /* rows [0, rows) decoded */
    int waiting_for;           /* > 0: the main thread waits for this many rows */
    int rc;                    /* the decode's verdict, once finished */
    img_error err;
    double started_at, finished_at;   /* img_now() */
    /* The decode thread's own: */
    int traced_rows, spans;
    int64_t span_start_ns;
} img_stream_source;

/* Starts decoding cli->input. On failure nothing runs; call img_stream_source_free
 * anyway. */
int img_stream_source_start(img_stream_source *s, const img_cli *cli, img_trace *trace,
                            img_error *err);
/* Waits until the image is allocated and gives a view of it (owning nothing); fails
 * with the decoder's error when it stopped before. */
int img_stream_source_wait_started(img_stream_source *s, img_image *view, img_error *err);
/* Waits until rows [0, rows) are decoded (adding the time waited to *waited_s); fails
 * with the decoder's error when the decode ended without them. */
int img_stream_source_wait_rows(img_stream_source *s, int rows, double *waited_s,
                                img_error *err);
/* Rows decoded so far, without waiting. */
int img_stream_source_rows(img_stream_source *s);
/* Joins the thread; the decode's verdict (its error into *err, when err is non-NULL). */
int img_stream_source_finish(img_stream_source *s, img_error *err);
/* Joins, then releases everything, the image included. */
void img_stream_source_free(img_stream_source *s);

int img_cmd_run(const img_cli *cli);
int img_cmd_info(const img_cli *cli);
int img_cmd_verify(const img_cli *cli);
int img_cmd_bench(const img_cli *cli);
int img_cmd_batch(const img_cli *cli);
int img_cmd_chart(const img_cli *cli);
int img_cmd_codecs(const img_cli *cli);
int img_cmd_decode_bench(const img_cli *cli);

/* After bench wrote DIR/bench.csv and bench.json: draws the charts and the report, or
 * notes that gnuplot is missing. Never fails the bench. */
void img_chart_after_bench(const char *dir);

#endif

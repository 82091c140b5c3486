/* The decode side of the streamed `imgpipe run` (app.h, img_stream_source): --input
 * decoded on a thread of its own into an image the source owns, with the number of
 * finished rows published under a mutex, so the pipeline can start on the first bands
 * while the rest is still being decoded.
 *
 * The source takes the image's memory from the decoder when it is allocated
 * (img_row_sink.started), so a decode that fails halfway frees nothing the pipeline
 * may still be reading; the image is released only in img_stream_source_free, after
 * the thread has been joined. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "clock.h"

/* Decode spans in the trace: about this many per image, so the timeline shows the
 * decode's progress without an event per row. */
#define IMG_STREAM_DECODE_SPANS 32

static void on_started(void *ctx, img_image *img)
{
    img_stream_source *s = ctx;
    if (s->trace) {   /* before any event: the main thread records only after `started` */
        (void)img_trace_reserve(s->trace, IMG_STREAM_DECODE_SPANS + 3 + IMG_STREAM_TRACE_SPARE,
                                &(img_error){{0}});
        /* Reading the file and its header, up to the first row. */
        const int64_t now = img_now_ns();
        img_trace_event *e = img_trace_slot(s->trace);
        if (e)
            *e = (img_trace_event){.stage = "read", .band = 0, .plane = -1,
                                   .worker = IMG_STREAM_TRACK_DECODE, .cpu = -1, .cpu_end = -1,
                                   .start_ns = s->span_start_ns, .end_ns = now};
        s->span_start_ns = now;
    }
    pthread_mutex_lock(&s->lock);
    s->img = *img;
    img->storage = NULL;   /* ours now: the decoder never frees it */
    s->started = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* One "decode" span from the last one's end to now, when enough rows have passed. */
static void trace_decode(img_stream_source *s, int rows, bool last)
{
    const int height = s->img.height;
    const int span = height / IMG_STREAM_DECODE_SPANS > 16 ? height / IMG_STREAM_DECODE_SPANS : 16;
    if (!s->trace || (!last && rows - s->traced_rows < span) || rows == s->traced_rows)
        return;
    const int64_t now = img_now_ns();
    img_trace_event *e = img_trace_slot(s->trace);
    if (e)
        *e = (img_trace_event){.stage = "decode", .band = s->spans, .plane = -1,
                               .worker = IMG_STREAM_TRACK_DECODE, .cpu = -1, .cpu_end = -1,
                               .start_ns = s->span_start_ns, .end_ns = now};
    s->spans++;
    s->traced_rows = rows;
    s->span_start_ns = now;
}

static void on_rows(void *ctx, int rows)
{
    img_stream_source *s = ctx;
    trace_decode(s, rows, rows == s->img.height);
    pthread_mutex_lock(&s->lock);
    s->rows = rows;
    /* Only a waiter whose rows are now there is woken: no system call per row. */
    if (s->waiting_for > 0 && rows >= s->waiting_for)
        pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static void *decode_thread(void *arg)
{
    img_stream_source *s = arg;
    const img_row_sink sink = {.ctx = s, .started = on_started, .rows = on_rows};
    const img_read_options ro = {.max_pixels = s->cli->max_pixels,
                                 .png_decoder = s->cli->png_decoder,
                                 .sink = &sink};
    img_image view;   /* its memory went to s->img when it was allocated */
    img_error err = {{0}};
    s->span_start_ns = img_now_ns();
    const int rc = img_read_file(s->cli->input, &view, &ro, &err);
    img_image_free(&view);   /* owns nothing; keeps the release on every path anyway */
    pthread_mutex_lock(&s->lock);
    s->finished = true;
    s->rc = rc;
    s->err = err;
    s->finished_at = img_now();
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int img_stream_source_start(img_stream_source *s, const img_cli *cli, img_trace *trace,
                            img_error *err)
{
    memset(s, 0, sizeof *s);
    s->cli = cli;
    s->trace = trace;
    if (pthread_mutex_init(&s->lock, NULL) != 0)
        return img_fail(err, "cannot create a mutex for the decoding thread");
    if (pthread_cond_init(&s->cond, NULL) != 0) {
        pthread_mutex_destroy(&s->lock);
        return img_fail(err, "cannot create a condition variable for the decoding thread");
    }
    s->sync_live = true;
    s->started_at = img_now();
    if (pthread_create(&s->thread, NULL, decode_thread, s) != 0)
        return img_fail(err, "cannot start the decoding thread");
    s->thread_live = true;
    return 0;
}

int img_stream_source_wait_started(img_stream_source *s, img_image *view, img_error *err)
{
    pthread_mutex_lock(&s->lock);
    while (!s->started && !s->finished)
        pthread_cond_wait(&s->cond, &s->lock);
    const bool ok = s->started;
    pthread_mutex_unlock(&s->lock);
    if (!ok)   /* failed before the first row */
        return img_stream_source_finish(s, err) != 0 ? -1
                                                     : img_fail(err, "%s: no image decoded",
                                                                s->cli->input);
    *view = s->img;
    view->storage = NULL;   /* a view: the source frees the image */
    return 0;
}

int img_stream_source_wait_rows(img_stream_source *s, int rows, double *waited_s, img_error *err)
{
    const double t0 = img_now();
    pthread_mutex_lock(&s->lock);
    s->waiting_for = rows;
    while (s->rows < rows && !s->finished)
        pthread_cond_wait(&s->cond, &s->lock);
    s->waiting_for = 0;
    const bool there = s->rows >= rows;
    pthread_mutex_unlock(&s->lock);
    *waited_s += img_now() - t0;
    return there ? 0 : img_stream_source_finish(s, err);
}

int img_stream_source_rows(img_stream_source *s)
{
    pthread_mutex_lock(&s->lock);
    const int rows = s->rows;
    pthread_mutex_unlock(&s->lock);
    return rows;
}

int img_stream_source_finish(img_stream_source *s, img_error *err)
{
    if (s->thread_live) {
        pthread_join(s->thread, NULL);
        s->thread_live = false;
    }
    if (s->rc != 0 && err)
        *err = s->err;
    return s->rc;
}

void img_stream_source_free(img_stream_source *s)
{
    (void)img_stream_source_finish(s, NULL);
    if (s->sync_live) {
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        s->sync_live = false;
    }
    img_image_free(&s->img);
}

#include "trace.h"

#include "fsutil.h"
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

int img_trace_reserve(img_trace *trace, size_t n, img_error *err)
{
    if (n > trace->capacity) {
        img_trace_event *events = malloc(n * sizeof *events);
        if (!events)
            return img_fail(err, "out of memory for %zu trace events", n);
        free(trace->events);
        trace->events = events;
        trace->capacity = n;
    }
    atomic_store_explicit(&trace->count, 0, memory_order_relaxed);
    return 0;
}

img_trace_event *img_trace_slot(img_trace *trace)
{
    /* Relaxed is enough: the slot is private to this task once claimed, and the
     * writer reads the events only after the pool's batch barrier (a mutex), which
     * orders everything the tasks wrote before it. */
    size_t i = atomic_fetch_add_explicit(&trace->count, 1, memory_order_relaxed);
    return i < trace->capacity ? &trace->events[i] : NULL;
}

size_t img_trace_count(const img_trace *trace)
{
    size_t n = atomic_load_explicit(&trace->count, memory_order_relaxed);
    return n < trace->capacity ? n : trace->capacity;
}

size_t img_trace_dropped(const img_trace *trace)
{
    size_t n = atomic_load_explicit(&trace->count, memory_order_relaxed);
    return n > trace->capacity ? n - trace->capacity : 0;
}

/* Timestamps are microseconds (the format's unit) with nanosecond decimals, so short
 * tasks on a fast machine do not collapse to zero duration. */
void img_trace_print_us(FILE *f, int64_t ns)
{
    if (ns < 0) {
        fputc('-', f);
        ns = -ns;
    }
    fprintf(f, "%lld.%03lld", (long long)(ns / 1000), (long long)(ns % 1000));
}

/* names: the tracks' names, or NULL for "worker N". */
static void print_events(FILE *f, const img_trace *trace, int threads, const char *const *names)
{
    size_t n = img_trace_count(trace);
    /* The earliest start becomes time zero: viewers then open at the run itself. */
    int64_t origin = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || trace->events[i].start_ns < origin)
            origin = trace->events[i].start_ns;

    fputs("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n", f);
    fputs("{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 0, "
          "\"args\": {\"name\": \"imgpipe threads\"}}",
          f);
    for (int t = 0; t < threads; t++) {
        char track[64];
        if (names)
            snprintf(track, sizeof track, "%s", names[t]);
        else
            snprintf(track, sizeof track, "worker %d", t);
        fprintf(f,
                ",\n{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": %d, "
                "\"args\": {\"name\": ",
                t);
        img_json_string(f, track);
        fputs("}}", f);
        /* Keeps the tracks in worker order rather than first-seen order. */
        fprintf(f,
                ",\n{\"name\": \"thread_sort_index\", \"ph\": \"M\", \"pid\": 1, \"tid\": %d, "
                "\"args\": {\"sort_index\": %d}}",
                t, t);
    }
    for (size_t i = 0; i < n; i++) {
        /* Stage names are static identifiers chosen by the backend, never user input,
         * but escaping keeps the file valid JSON whatever they become. */
        const img_trace_event *e = &trace->events[i];
        char name[96];
        snprintf(name, sizeof name, "%s band %d", e->stage, e->band);
        fputs(",\n{\"name\": ", f);
        img_json_string(f, name);
        fputs(", \"cat\": ", f);
        img_json_string(f, e->stage);
        fputs(", \"ph\": \"X\", \"ts\": ", f);
        img_trace_print_us(f, e->start_ns - origin);
        fputs(", \"dur\": ", f);
        img_trace_print_us(f, e->end_ns - e->start_ns);
        fprintf(f,
                ", \"pid\": 1, \"tid\": %d, "
                "\"args\": {\"cpu\": %d, \"cpu_end\": %d, \"band\": %d, \"plane\": %d}}",
                e->worker, e->cpu, e->cpu_end, e->band, e->plane);
    }
    /* ts 0 is `origin` on CLOCK_MONOTONIC, kept so traces can be lined up with others. */
    fputs("\n], \"otherData\": {\"clock\": \"CLOCK_MONOTONIC\", \"origin_us\": \"", f);
    img_trace_print_us(f, origin);
    fprintf(f, "\", \"dropped_events\": %zu}}\n", img_trace_dropped(trace));
}

static int write_trace(const img_trace *trace, const char *path, int threads,
                       const char *const *names, img_error *err)
{
    /* Atomic, so a viewer reloading the file sees the old trace or the new one. */
    img_atomic_file file;
    if (img_atomic_open(&file, path, err) != 0)
        return -1;
    print_events(file.f, trace, threads, names);
    return img_atomic_commit(&file, err);
}

int img_trace_write(const img_trace *trace, const char *path, int threads, img_error *err)
{
    return write_trace(trace, path, threads, NULL, err);
}

int img_trace_write_named(const img_trace *trace, const char *path, const char *const *names,
                          int tracks, img_error *err)
{
    return write_trace(trace, path, tracks, names, err);
}

void img_trace_free(img_trace *trace)
{
    if (!trace)
        return;
    free(trace->events);
    trace->events = NULL;
    trace->capacity = 0;
    atomic_store_explicit(&trace->count, 0, memory_order_relaxed);
}

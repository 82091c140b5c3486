/* A Chrome Trace Event Format writer, for showing where the tasks of a run went.
 *
 * A run reserves room for all of its events up front (the task count is known before
 * the batch starts); tasks then record into that array with one atomic increment and
 * no lock, so tracing perturbs the schedule it is showing as little as possible.
 * After the run, img_trace_write() turns the events into a JSON file that loads in
 * Perfetto (ui.perfetto.dev) or chrome://tracing: one "X" (complete) event per task,
 * on a track per worker thread. */
#ifndef IMG_CORE_TRACE_H
#define IMG_CORE_TRACE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

typedef struct img_trace_event {
    const char *stage;   /* static string: "blur", "resize"...; also the event category */
    int band;            /* band index within the plane */
    int plane;
    int worker;          /* pool worker index: the trace's thread id */
    int cpu;             /* sched_getcpu() when the task started, -1 if unknown */
    int cpu_end;         /* sched_getcpu() when it ended (it may have migrated), -1 if unknown */
    int64_t start_ns;    /* img_now_ns() */
    int64_t end_ns;
} img_trace_event;

typedef struct img_trace {
    img_trace_event *events;
    size_t capacity;
    atomic_size_t count;   /* next free slot; may exceed capacity (extra events dropped) */
} img_trace;

/* Empties the trace and makes room for at least n events. Grows only: a warm trace
 * with enough room allocates nothing. Not thread-safe; call between batches. */
int img_trace_reserve(img_trace *trace, size_t n, img_error *err);

/* Records one event from any thread. Returns the slot, or NULL when the reservation
 * was too small (the event is dropped and counted by img_trace_dropped). */
img_trace_event *img_trace_slot(img_trace *trace);

/* Number of events recorded (at most the capacity) and number dropped. */
size_t img_trace_count(const img_trace *trace);
size_t img_trace_dropped(const img_trace *trace);

/* Writes the recorded events to path as JSON, atomically (a temporary file in the
 * same directory renamed over path), with "worker N" thread names for workers
 * 0..threads-1. Call after the batch: it reads the events without synchronisation
 * of its own, relying on the pool's batch barrier. */
int img_trace_write(const img_trace *trace, const char *path, int threads, img_error *err);

/* The same with the tracks 0..tracks-1 named names[0..tracks-1] ("decode", "encode")
 * instead of "worker N": for timelines whose rows are jobs rather than pool workers. */
int img_trace_write_named(const img_trace *trace, const char *path, const char *const *names,
                          int tracks, img_error *err);

/* A Chrome trace timestamp or duration: ns as microseconds with three decimals. For
 * writers of timelines this one cannot hold (batch's, a process row per MPI rank). */
void img_trace_print_us(FILE *f, int64_t ns);

/* Releases the event array; safe on a zeroed trace. */
void img_trace_free(img_trace *trace);

#endif

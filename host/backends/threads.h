/* The `threads` backend's extras beyond the img_backend table: what the last run cost
 * (wall and CPU time, context switches, the CPUs its tasks ran on). The backend itself is `img_backend_threads`, found
 * through the registry like any other. */
#ifndef IMG_BACKENDS_THREADS_H
#define IMG_BACKENDS_THREADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpus.h"
#include "error.h"

/* Measured around one run_pipeline() call. The context switches are those of the
 * whole process (getrusage RUSAGE_SELF: the caller and every worker). */
typedef struct img_threads_stats {
    double wall_seconds;        /* CLOCK_MONOTONIC */
    double cpu_seconds;         /* CLOCK_PROCESS_CPUTIME_ID: all threads together */
    long voluntary_switches;    /* ru_nvcsw delta: a thread blocked (waited for work) */
    long involuntary_switches;  /* ru_nivcsw delta: a thread was preempted */
    int threads;                /* pool workers */
    int tasks;                  /* tasks run, over all batches */
    int batches;                /* batches, i.e. barriers the run waited at */
    int band_rows;              /* band height of the run's first batch */
    int scratch_grows;          /* scratch (re)allocations the run needed: 0 once warm */
    int widest_batch;           /* tasks in the run's largest batch */
    int cpus_used;              /* distinct CPUs the tasks ran on (sched_getcpu() at each
                                 * task's start and end); 0 when unknown */
    img_cpu_mask cpus_seen;     /* which ones */
} img_threads_stats;

/* Copies the statistics of the last run_pipeline() on a threads-backend state.
 * Fails when there has been no successful run yet. */
int img_threads_last_stats(void *state, img_threads_stats *out);

#endif

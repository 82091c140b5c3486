/* The `threads` backend's extras beyond the img_backend table: what the last run cost
 * (wall and CPU time, context switches) and control over which CPUs the process may
 * use, so that one core (tasks interleave) and several (tasks run in parallel) can be
 * compared on the same machine. The backend itself is `img_backend_threads`, found
 * through the registry like any other. */
#ifndef IMG_HOST_THREADS_H
#define IMG_HOST_THREADS_H

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
} img_threads_stats;

/* Copies the statistics of the last run_pipeline() on a threads-backend state.
 * Fails when there has been no successful run yet. */
int img_threads_last_stats(void *state, img_threads_stats *out);

/* Number of online CPUs (at least 1). */
int img_online_cpus(void);

/* Restricts the calling thread, and every thread it creates afterwards, to the CPUs
 * in list: comma-separated CPU numbers and inclusive ranges, e.g. "0", "0,1", "0-3",
 * "0,2-3". Call it before creating any backend state so the pool's workers inherit
 * the mask (Linux applies sched_setaffinity to one thread; threads already running
 * keep theirs). Rejects an empty list, empty items, junk, descending ranges and CPUs
 * that are not online, naming the offending value. */
int img_set_cpus(const char *list, img_error *err);

#endif

/* The clocks: CLOCK_MONOTONIC for every duration imgpipe measures or reports (never
 * the wall-clock time of day, which can jump), and the process CPU clock for how much
 * work all threads did together. */
#ifndef IMG_CORE_CLOCK_H
#define IMG_CORE_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in seconds. */
double img_now(void);

/* CLOCK_MONOTONIC in nanoseconds, for timestamps that must not lose resolution
 * (trace events). Same clock as img_now(). */
int64_t img_now_ns(void);

/* CPU seconds used by the whole process so far (CLOCK_PROCESS_CPUTIME_ID: every
 * thread together); a difference of two readings over a wall-clock interval is the
 * average number of busy cores times that interval. */
double img_cpu_seconds(void);

#endif

/* The `threads` backend's extras for the tests that reach inside it. Everything the
 * program needs (its counters, its trace) comes through the img_backend table; the
 * backend itself is `img_backend_threads`, found through the registry like any other. */
#ifndef IMG_BACKENDS_THREADS_BACKEND_H
#define IMG_BACKENDS_THREADS_BACKEND_H

#include "backend.h"

/* The table's img_counters, under the name the tests have always used. */
typedef img_counters img_threads_stats;

/* Copies the statistics of the last run_pipeline() on a threads-backend state (the
 * table's counters()). Fails when there has been no successful run yet. */
int img_threads_last_stats(void *state, img_threads_stats *out);

#endif

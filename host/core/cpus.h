/* CPUs: how many are online, restricting the process to a list of them, and sets of
 * CPUs seen at work, so that one core (tasks interleave) and several (tasks run in
 * parallel) can be compared, and a run that could have been parallel but was not is
 * recognised. */
#ifndef IMG_CORE_CPUS_H
#define IMG_CORE_CPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* CPUs a run's tasks were seen on, as a bit set (CPU n is bit n % 64 of word n / 64);
 * CPUs beyond IMG_CPU_MASK_CPUS are not recorded. */
enum { IMG_CPU_MASK_CPUS = 1024 };
typedef struct img_cpu_mask {
    uint64_t bits[IMG_CPU_MASK_CPUS / 64];
} img_cpu_mask;

/* ---- were the tasks really in parallel? ----
 *
 * On a shared machine the scheduler may keep every worker on one CPU although the
 * process may use several: the run is then concurrent, not parallel, whatever the
 * affinity says. These helpers let bench and the charts say so instead of presenting
 * such a run as the parallel case. */

/* How many CPUs a run could keep busy at once: the smallest of threads, cores (the CPUs
 * it was allowed) and widest_batch (tasks in its largest batch); an argument <= 0 is
 * unknown and left out. At least 1. */
int img_expected_cpus(int threads, int cores, int widest_batch);

/* True when tasks that could have run on `expected` CPUs at once (>= 2) ran on fewer:
 * cpus_used is the number of distinct CPUs they ran on (a median over runs may be
 * fractional); cpus_used <= 0 means not recorded and is never disturbed. */
bool img_cpus_disturbed(double cpus_used, int expected);

void img_cpu_mask_add(img_cpu_mask *m, int cpu);
void img_cpu_mask_or(img_cpu_mask *m, const img_cpu_mask *other);
int img_cpu_mask_count(const img_cpu_mask *m);
/* The set as a CPU list, "0", "0-3,6"; "" when empty. */
void img_cpu_mask_format(const img_cpu_mask *m, char *buf, size_t len);

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

/* The environment record: everything needed to trust a number later. */
#ifndef IMG_MEASURE_ENVINFO_H
#define IMG_MEASURE_ENVINFO_H

#include <stdio.h>

typedef struct img_env {
    char cpu_model[128];
    char cpu_flags[160];      /* the SIMD extensions found: "sse4.1 avx2 avx512bw" */
    int cores_online;
    int cores_allowed;        /* in this process's affinity mask */
    char affinity[128];       /* "0-1" */
    char kernel[200];         /* uname -srm */
    char compiler[96];
    char c_flags[256];
    char build_type[32];
    char commit[64];          /* git describe of the source tree, "-dirty" when modified */
    char date[40];            /* UTC, ISO 8601 */
    char hostname[64];
    double load_average;      /* 1-minute load when collected */
    double busy_cores;        /* cores kept busy by other processes just before the run */
    char opencl[640];         /* platform, device and driver the opencl backend used */
} img_env;

void img_env_collect(img_env *env);

/* How many cores the rest of the machine keeps busy, sampled from /proc/stat over
 * `seconds` while this process sleeps; -1 when unknown. Unlike the load average it
 * does not remember the compile that finished a moment ago. */
double img_busy_cores(double seconds);

/* The SIMD extensions this CPU has, space-separated (used by info and the env record). */
void img_cpu_simd_flags(char *buf, size_t len);

#endif

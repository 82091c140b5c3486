/* The one CPU-feature probe: what the SIMD dispatcher chooses from and what the
 * environment record lists. Call it once, before threads start, and keep the result
 * (in a backend's state, in the environment record): there is no lazily written
 * global for worker threads to race on. */
#ifndef IMG_CORE_CPU_FEATURES_H
#define IMG_CORE_CPU_FEATURES_H

#include <stddef.h>

enum {
    IMG_CPU_SSE2 = 1u << 0,
    IMG_CPU_SSSE3 = 1u << 1,
    IMG_CPU_SSE41 = 1u << 2,
    IMG_CPU_SSE42 = 1u << 3,
    IMG_CPU_AVX = 1u << 4,
    IMG_CPU_AVX2 = 1u << 5,
    IMG_CPU_AVX512F = 1u << 6,
    IMG_CPU_AVX512BW = 1u << 7,
    IMG_CPU_AVX512VL = 1u << 8,
    IMG_CPU_AVX512VNNI = 1u << 9,
    IMG_CPU_AVX512VBMI = 1u << 10,
};

/* The features above that this CPU and OS support (0 on non-x86 builds). */
unsigned img_cpu_features(void);

/* features as their usual names separated by spaces, "sse2 ssse3 sse4.1 ..."; on
 * non-x86 builds "none known (not x86)". */
void img_cpu_features_format(unsigned features, char *buf, size_t len);

#endif

/* CPU features as the SIMD dispatcher names them (core's probe, cpu_features.h,
 * mapped to the dispatcher's own bits).
 *
 * Detection runs when a backend is initialised and the result is stored in that
 * backend's state: there is no lazily written global for worker threads to race on. */
#ifndef IMG_SIMD_CPU_H
#define IMG_SIMD_CPU_H

enum {
    IMG_SIMD_CPU_SSE41 = 1u << 0,
    IMG_SIMD_CPU_AVX2 = 1u << 1,
    IMG_SIMD_CPU_AVX512F = 1u << 2,
    IMG_SIMD_CPU_AVX512BW = 1u << 3,
    IMG_SIMD_CPU_AVX512VL = 1u << 4,
    IMG_SIMD_CPU_AVX512VNNI = 1u << 5,
    IMG_SIMD_CPU_AVX512VBMI = 1u << 6,
};

/* The features above that this CPU and OS support (0 on non-x86 builds). */
unsigned img_simd_cpu_flags(void);

#endif

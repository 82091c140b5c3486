#include "cpu.h"

unsigned img_simd_cpu_flags(void)
{
    unsigned flags = 0;
#if defined(__x86_64__) || defined(__i386__)
    /* __builtin_cpu_supports also checks that the OS saves the wider register
     * state (XGETBV), so "avx512bw" here means the instructions really run. */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.1"))
        flags |= IMG_SIMD_CPU_SSE41;
    if (__builtin_cpu_supports("avx2"))
        flags |= IMG_SIMD_CPU_AVX2;
    if (__builtin_cpu_supports("avx512f"))
        flags |= IMG_SIMD_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512bw"))
        flags |= IMG_SIMD_CPU_AVX512BW;
    if (__builtin_cpu_supports("avx512vl"))
        flags |= IMG_SIMD_CPU_AVX512VL;
    if (__builtin_cpu_supports("avx512vnni"))
        flags |= IMG_SIMD_CPU_AVX512VNNI;
    if (__builtin_cpu_supports("avx512vbmi"))
        flags |= IMG_SIMD_CPU_AVX512VBMI;
#endif
    return flags;
}

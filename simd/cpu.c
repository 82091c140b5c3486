#include "cpu.h"

#include "cpu_features.h"

/* The dispatcher's flags are its own bits (its level table is written in them); the
 * probe itself is core's, shared with the environment record. */
unsigned img_simd_cpu_flags(void)
{
    static const struct {
        unsigned core, simd;
    } map[] = {
        {IMG_CPU_SSE41, IMG_SIMD_CPU_SSE41},
        {IMG_CPU_AVX2, IMG_SIMD_CPU_AVX2},
        {IMG_CPU_AVX512F, IMG_SIMD_CPU_AVX512F},
        {IMG_CPU_AVX512BW, IMG_SIMD_CPU_AVX512BW},
        {IMG_CPU_AVX512VL, IMG_SIMD_CPU_AVX512VL},
        {IMG_CPU_AVX512VNNI, IMG_SIMD_CPU_AVX512VNNI},
        {IMG_CPU_AVX512VBMI, IMG_SIMD_CPU_AVX512VBMI},
    };
    const unsigned features = img_cpu_features();
    unsigned flags = 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (features & map[i].core)
            flags |= map[i].simd;
    return flags;
}

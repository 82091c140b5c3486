#include "cpu_features.h"

#include <stdio.h>

#if defined(__x86_64__) || defined(__i386__)
/* __builtin_cpu_supports needs a literal name, so the table is expanded by a macro. */
#define IMG_CPU_FEATURE_LIST(X)                                                            \
    X(IMG_CPU_SSE2, "sse2") X(IMG_CPU_SSSE3, "ssse3") X(IMG_CPU_SSE41, "sse4.1")             \
    X(IMG_CPU_SSE42, "sse4.2") X(IMG_CPU_AVX, "avx") X(IMG_CPU_AVX2, "avx2")                 \
    X(IMG_CPU_AVX512F, "avx512f") X(IMG_CPU_AVX512BW, "avx512bw")                           \
    X(IMG_CPU_AVX512VL, "avx512vl") X(IMG_CPU_AVX512VNNI, "avx512vnni")                     \
    X(IMG_CPU_AVX512VBMI, "avx512vbmi")
#endif

unsigned img_cpu_features(void)
{
    unsigned features = 0;
#if defined(__x86_64__) || defined(__i386__)
    /* __builtin_cpu_supports also checks that the OS saves the wider register
     * state (XGETBV), so "avx512bw" here means the instructions really run. */
    __builtin_cpu_init();
#define X(bit, name)                    \
    if (__builtin_cpu_supports(name)) \
        features |= bit;
    IMG_CPU_FEATURE_LIST(X)
#undef X
#endif
    return features;
}

void img_cpu_features_format(unsigned features, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = '\0';
#if defined(__x86_64__) || defined(__i386__)
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
#define X(bit, name) {bit, name},
        IMG_CPU_FEATURE_LIST(X)
#undef X
    };
    size_t used = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if ((features & names[i].bit) && used < len) {
            int n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", names[i].name);
            used += n > 0 ? (size_t)n : 0;
        }
#else
    (void)features;
    snprintf(buf, len, "none known (not x86)");
#endif
}

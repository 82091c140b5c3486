/* The one project header that includes SIMDe.
 *
 * Every vector kernel is written against SIMDe's prefixed API (simde_mm512_...,
 * simde__m256i...) so that one source compiles to native SSE4.1, AVX2 or AVX-512
 * instructions when the file's -m flags allow it, and to SIMDe's portable C when
 * SIMDE_NO_NATIVE is defined (the `portable` level and the test_simd_portable
 * build). Keeping the include in one place keeps the SIMDe version and its
 * configuration macros consistent across the per-ISA translation units. */
#ifndef IMG_SIMD_SIMD_H
#define IMG_SIMD_SIMD_H

/* avx512.h pulls in avx2.h, sse4.1.h, ssse3.h and everything below them. */
#include <simde/x86/avx512.h>

#endif

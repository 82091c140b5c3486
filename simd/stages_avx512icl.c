/* The `avx512icl` level: the avx512 kernels plus AVX512-VNNI (vpdpwssd fuses each
 * madd with its accumulate) and AVX512-VBMI (the point stages as one 256-entry byte
 * table lookup). Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni
 * -mavx512vbmi (see CMakeLists.txt). */
#define IMG_SIMD_BITS 512
#define IMG_SIMD_ICL 1
#define IMG_SIMD_SUFFIX avx512icl
#define IMG_SIMD_NAME "avx512icl"
#include "stages_template.h"

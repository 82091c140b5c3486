/* The `avx512` level: the kernels of stages_template.h on 512-bit vectors.
 * Compiled with -mavx512f -mavx512bw -mavx512vl (see CMakeLists.txt). */
#define IMG_SIMD_BITS 512
#define IMG_SIMD_SUFFIX avx512
#define IMG_SIMD_NAME "avx512"
#include "stages_template.h"

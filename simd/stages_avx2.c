/* The `avx2` level: the kernels of stages_template.h on 256-bit vectors.
 * Compiled with -mavx2 (see CMakeLists.txt). */
#define IMG_SIMD_BITS 256
#define IMG_SIMD_SUFFIX avx2
#define IMG_SIMD_NAME "avx2"
#include "stages_template.h"

/* The `portable` level: the kernels of stages_template.h on 128-bit vectors.
 * Compiled with SIMDE_NO_NATIVE and no -m flags: SIMDe's plain C (see CMakeLists.txt). */
#define IMG_SIMD_BITS 128
#define IMG_SIMD_SUFFIX portable
#define IMG_SIMD_NAME "portable"
#include "stages_template.h"

/* The `sse4.1` level: the kernels of stages_template.h on 128-bit vectors.
 * Compiled with -msse4.1 (see CMakeLists.txt). */
#define IMG_SIMD_BITS 128
#define IMG_SIMD_SUFFIX sse41
#define IMG_SIMD_NAME "sse4.1"
#include "stages_template.h"

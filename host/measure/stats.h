/* Order statistics for benchmark samples. */
#ifndef IMG_MEASURE_STATS_H
#define IMG_MEASURE_STATS_H

#include <stddef.h>

typedef struct img_stats {
    size_t count;
    double min, q1, median, q3, max;
    double iqr;              /* q3 - q1 */
} img_stats;

/* Sorts samples in place and fills *out. Quartiles interpolate linearly between
 * order statistics (the common "type 7" definition, as numpy and R default to).
 * count 0 gives all zeros. */
void img_stats_compute(double *samples, size_t count, img_stats *out);

#endif

#include "stats.h"

#include <stdlib.h>
#include <string.h>

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of sorted samples: position q*(n-1), interpolated. */
static double quantile(const double *sorted, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    double frac = pos - (double)lo;
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac;
}

void img_stats_compute(double *samples, size_t count, img_stats *out)
{
    memset(out, 0, sizeof *out);
    if (count == 0)
        return;
    qsort(samples, count, sizeof *samples, compare_doubles);
    out->count = count;
    out->min = samples[0];
    out->max = samples[count - 1];
    out->q1 = quantile(samples, count, 0.25);
    out->median = quantile(samples, count, 0.5);
    out->q3 = quantile(samples, count, 0.75);
    out->iqr = out->q3 - out->q1;
}

/* The one clock: seconds on CLOCK_MONOTONIC, for every duration imgpipe measures or
 * reports (never the wall-clock time of day, which can jump). */
#ifndef IMG_CORE_CLOCK_H
#define IMG_CORE_CLOCK_H

double img_now(void);

#endif

/* Proving a backend bit-identical to serial, stage by stage. */
#ifndef IMG_VERIFY_VERIFY_H
#define IMG_VERIFY_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"

/* How two images differ. "First" is in reading order: row, then column, then channel. */
typedef struct img_mismatch {
    uint64_t differing;      /* samples that differ */
    int max_abs_diff;
    int x, y, channel;       /* the first differing sample */
    int expected, got;
    uint64_t border;         /* differing samples within border_width of an edge */
    uint64_t interior;
} img_mismatch;

/* Compares got against expected (same geometry); border_width >= 1. Returns the
 * number of differing samples (0 when bit-exact). */
uint64_t img_compare(const img_image *expected, const img_image *got, int border_width,
                     img_mismatch *out);

typedef struct img_verify_result {
    bool exact;
    const char *stage;       /* first stage that differs: a stage name or "pipeline" */
    img_mismatch mismatch;
    int stages_checked;      /* enabled stages plus the fused pipeline */
} img_verify_result;

/* Runs serial and `backend` (already initialised as `state`) on src. Every enabled
 * stage is fed the serial output of the stage before, so a difference is pinned to
 * the stage that makes it; then the fused pipeline is compared end to end.
 * When diff is not NULL and a stage differs, *diff receives an amplified gray
 * difference picture of that stage (0 where equal). Returns -1 only when a backend
 * call fails (err says why); a mismatch is a result, not an error. */
int img_verify_backend(const img_backend *backend, void *state, const img_image *src,
                       const img_plan *plan, img_verify_result *result, img_image *diff,
                       img_error *err);

#endif

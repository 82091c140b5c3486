/* The pipeline's arithmetic, defined once.
 *
 * img_params is what the user asks for; img_plan is everything a backend needs to
 * compute it bit-exactly: the point-operation tables, the integer Gaussian weights
 * and the bilinear coordinate maps. The plan is built once on the host and handed to
 * every backend and kernel; no backend recomputes any of it. README.md ("The
 * specification") is the normative text this file implements. */
#ifndef IMG_IMAGE_SPEC_H
#define IMG_IMAGE_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define IMG_BRIGHTNESS_MIN (-255)
#define IMG_BRIGHTNESS_MAX 255
#define IMG_CONTRAST_MAX 4.0
#define IMG_SIGMA_MIN 0.5
#define IMG_SIGMA_MAX 32.0
#define IMG_SCALE_MAX 16.0
/* The accepted values of the two options whose range is not one interval, as every
 * message about them and the help state them (they restate the limits above). */
#define IMG_SIGMA_RANGE_TEXT "0 (off) or 0.5 to 32"
#define IMG_SCALE_RANGE_TEXT "above 0, up to 16"
/* r = ceil(3 * 32) at the largest sigma. */
#define IMG_BLUR_MAX_RADIUS 96
#define IMG_BLUR_ONE 16384          /* the integer weights sum to exactly this */
#define IMG_RESIZE_ONE 2048         /* 11-bit bilinear fractions */
#define IMG_RESIZE_FRAC_BITS 11

typedef struct img_params {
    int brightness;    /* b in [-255, 255]; 0 skips the stage */
    double contrast;   /* c in [0, 4]; round(c*256) == 256 skips the stage */
    double sigma;      /* 0 (skip) or [0.5, 32] */
    double scale;      /* (0, 16]; used when out_width == 0 */
    int out_width;     /* explicit output size (--resize WxH), or 0 */
    int out_height;
} img_params;

/* The defaults of the CLI: brightness 20, contrast 1.2, sigma 2, scale 0.5. */
img_params img_params_default(void);

/* Checks every field against its range; the message begins with the field's name
 * ("sigma 40 is out of range (accepted: ...)"). */
int img_params_validate(const img_params *p, img_error *err);

typedef enum img_stage {
    IMG_STAGE_BRIGHTNESS,
    IMG_STAGE_CONTRAST,
    IMG_STAGE_BLUR,
    IMG_STAGE_RESIZE,
    IMG_STAGE_COUNT
} img_stage;

/* "brightness", "contrast", "blur", "resize". */
const char *img_stage_name(img_stage stage);

/* One axis of the bilinear map: output coordinate i reads source i0[i] and i1[i]
 * with weight (2048 - frac[i]) and frac[i]. */
typedef struct img_resize_axis {
    int out_len;
    int32_t *i0;
    int32_t *i1;
    int32_t *frac;     /* 0..2047 */
} img_resize_axis;

typedef struct img_plan {
    int in_width, in_height;
    int out_width, out_height;
    bool enabled[IMG_STAGE_COUNT];   /* a neutral stage is disabled and skipped */

    int brightness;                  /* b */
    int contrast_q8;                 /* C = round(c * 256) */
    uint8_t brightness_lut[256];     /* i -> clamp(i + b) */
    uint8_t contrast_lut[256];       /* i -> clamp(128 + (((i - 128) * C + 128) >> 8)) */
    uint8_t point_lut[256];          /* both enabled point stages composed, in order */

    int blur_radius;                 /* r = ceil(3 sigma); 0 when blur is disabled */
    int32_t blur_weights[2 * IMG_BLUR_MAX_RADIUS + 1];   /* W_k at index k + r, k in [-r, r] */

    img_resize_axis resize_x;        /* out_width entries */
    img_resize_axis resize_y;        /* out_height entries */
} img_plan;

/* Output size of the resize stage for an input of in_w x in_h (the input size when
 * resize is neutral). Fails when the result exceeds max_pixels (0 = default). */
int img_output_size(const img_params *p, int in_w, int in_h, uint64_t max_pixels, int *out_w,
                    int *out_h, img_error *err);

/* Builds the plan for an in_w x in_h input. The plan owns the resize maps; release
 * with img_plan_free. */
int img_plan_init(img_plan *plan, const img_params *p, int in_w, int in_h, uint64_t max_pixels,
                  img_error *err);
void img_plan_free(img_plan *plan);

/* The last input row (0-based) that output rows [y0, y1) of the plan's pipeline read:
 * the resize's y map over those rows (the input rows themselves when resize is
 * disabled), widened by the blur radius, clamped to the image. A caller that has input
 * rows [0, result] can compute those output rows exactly as the whole-image run would
 * (the streamed `imgpipe run`). Requires 0 <= y0 < y1 <= out_height. */
int img_plan_last_source_row(const img_plan *plan, int y0, int y1);

/* The integer Gaussian weights for sigma (> 0): writes 2r+1 values to weights (room
 * for 2*IMG_BLUR_MAX_RADIUS+1) and returns r. */
int img_blur_weights(double sigma, int32_t *weights);

/* Fills one resize axis map for in_len -> out_len (64-bit integer arithmetic only). */
void img_resize_map(int in_len, int out_len, int32_t *i0, int32_t *i1, int32_t *frac);

/* Arithmetic (floor) right shift. C leaves >> of a negative value to the
 * implementation; GCC and Clang shift arithmetically, which the spec requires. */
static inline int32_t img_asr(int32_t v, int s)
{
    return v >> s;
}
_Static_assert((-1 >> 1) == -1, "the spec needs an arithmetic right shift");

static inline uint8_t img_clamp_u8(int32_t v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

#endif

#include "spec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

img_params img_params_default(void)
{
    return (img_params){
        .brightness = 20,
        .contrast = 1.2,
        .sigma = 2.0,
        .scale = 0.5,
        .out_width = 0,
        .out_height = 0,
    };
}

int img_params_validate(const img_params *p, img_error *err)
{
    /* Each message begins with the parameter's name, which is also the name of the app's
     * option for it: the CLI prefixes "--" and says nothing new. */
    if (p->brightness < IMG_BRIGHTNESS_MIN || p->brightness > IMG_BRIGHTNESS_MAX)
        return img_fail(err, "brightness %d is out of range (accepted: -255 to 255)", p->brightness);
    /* The negated comparisons also reject NaN. */
    if (!(p->contrast >= 0.0 && p->contrast <= IMG_CONTRAST_MAX))
        return img_fail(err, "contrast %g is out of range (accepted: 0 to 4)", p->contrast);
    if (!(p->sigma == 0.0 || (p->sigma >= IMG_SIGMA_MIN && p->sigma <= IMG_SIGMA_MAX)))
        return img_fail(err, "sigma %g is out of range (accepted: " IMG_SIGMA_RANGE_TEXT ")", p->sigma);
    if (p->out_width == 0 && p->out_height == 0) {
        if (!(p->scale > 0.0 && p->scale <= IMG_SCALE_MAX))
            return img_fail(err, "scale %g is out of range (accepted: " IMG_SCALE_RANGE_TEXT ")", p->scale);
    } else if (p->out_width < 1 || p->out_height < 1 || p->out_width > IMG_MAX_DIMENSION ||
               p->out_height > IMG_MAX_DIMENSION) {
        return img_fail(err, "resize %dx%d is out of range (1 to %d per side)", p->out_width,
                        p->out_height, IMG_MAX_DIMENSION);
    }
    return 0;
}

const char *img_stage_name(img_stage stage)
{
    static const char *const names[IMG_STAGE_COUNT] = {"brightness", "contrast", "blur",
                                                       "resize"};
    return (unsigned)stage < IMG_STAGE_COUNT ? names[stage] : "?";
}

int img_output_size(const img_params *p, int in_w, int in_h, uint64_t max_pixels, int *out_w,
                    int *out_h, img_error *err)
{
    int64_t w, h;
    if (p->out_width > 0) {
        w = p->out_width;
        h = p->out_height;
    } else {
        /* round() is half away from zero; the scale is validated to (0, 16], so the
         * products stay far inside int64. */
        w = (int64_t)round((double)in_w * p->scale);
        h = (int64_t)round((double)in_h * p->scale);
        if (w < 1)
            w = 1;
        if (h < 1)
            h = 1;
    }
    img_error why;
    if (img_check_size(w, h, 1, max_pixels, &why) != 0)
        return img_fail(err, "output %s", why.message);
    *out_w = (int)w;
    *out_h = (int)h;
    return 0;
}

int img_blur_weights(double sigma, int32_t *weights)
{
    int r = (int)ceil(3.0 * sigma);
    double g[2 * IMG_BLUR_MAX_RADIUS + 1];
    double sum = 0.0;
    /* Summed from k = -r upwards: the order is part of the specification. */
    for (int k = -r; k <= r; k++) {
        g[k + r] = exp(-(double)(k * k) / (2.0 * sigma * sigma));
        sum += g[k + r];
    }
    int32_t total = 0;
    for (int k = -r; k <= r; k++) {
        weights[k + r] = (int32_t)round(g[k + r] / sum * IMG_BLUR_ONE);
        total += weights[k + r];
    }
    weights[r] += IMG_BLUR_ONE - total;
    return r;
}

void img_resize_map(int in_len, int out_len, int32_t *i0, int32_t *i1, int32_t *frac)
{
    const int64_t W = in_len, Wp = out_len;
    for (int64_t x = 0; x < Wp; x++) {
        int64_t num = (2 * x + 1) * W - Wp;
        /* num >= 0 here, so integer division is the floor. */
        int64_t p = num < 0 ? 0 : num * IMG_RESIZE_ONE / (2 * Wp);
        int64_t x0 = p >> IMG_RESIZE_FRAC_BITS;
        int64_t fx = p & (IMG_RESIZE_ONE - 1);
        if (x0 >= W - 1) {
            x0 = W - 1;
            fx = 0;
        }
        int64_t x1 = x0 + 1 < W - 1 ? x0 + 1 : W - 1;
        i0[x] = (int32_t)x0;
        i1[x] = (int32_t)x1;
        frac[x] = (int32_t)fx;
    }
}

static int resize_axis_init(img_resize_axis *axis, int in_len, int out_len, img_error *err)
{
    memset(axis, 0, sizeof *axis);
    axis->out_len = out_len;
    /* One block for the three arrays keeps the map in one place in memory. */
    int32_t *block = malloc(sizeof(int32_t) * 3 * (size_t)out_len);
    if (!block)
        return img_fail(err, "out of memory building a resize map of %d entries", out_len);
    axis->i0 = block;
    axis->i1 = block + out_len;
    axis->frac = block + 2 * (size_t)out_len;
    img_resize_map(in_len, out_len, axis->i0, axis->i1, axis->frac);
    return 0;
}

int img_plan_init(img_plan *plan, const img_params *p, int in_w, int in_h, uint64_t max_pixels,
                  img_error *err)
{
    memset(plan, 0, sizeof *plan);
    if (img_params_validate(p, err) != 0)
        return -1;
    if (img_check_size(in_w, in_h, 1, max_pixels, err) != 0)
        return -1;
    plan->in_width = in_w;
    plan->in_height = in_h;

    plan->brightness = p->brightness;
    plan->contrast_q8 = (int)round(p->contrast * 256.0);
    plan->enabled[IMG_STAGE_BRIGHTNESS] = p->brightness != 0;
    /* C = 256 maps every value to itself, so c in [255.5/256, 256.5/256) is neutral. */
    plan->enabled[IMG_STAGE_CONTRAST] = plan->contrast_q8 != 256;
    for (int i = 0; i < 256; i++) {
        plan->brightness_lut[i] = img_clamp_u8(i + plan->brightness);
        plan->contrast_lut[i] =
            img_clamp_u8(128 + img_asr((i - 128) * plan->contrast_q8 + 128, 8));
    }
    for (int i = 0; i < 256; i++) {
        uint8_t v = (uint8_t)i;
        if (plan->enabled[IMG_STAGE_BRIGHTNESS])
            v = plan->brightness_lut[v];
        if (plan->enabled[IMG_STAGE_CONTRAST])
            v = plan->contrast_lut[v];
        plan->point_lut[i] = v;
    }

    plan->enabled[IMG_STAGE_BLUR] = p->sigma > 0.0;
    if (plan->enabled[IMG_STAGE_BLUR])
        plan->blur_radius = img_blur_weights(p->sigma, plan->blur_weights);

    if (img_output_size(p, in_w, in_h, max_pixels, &plan->out_width, &plan->out_height, err) != 0)
        return -1;
    /* A resize to the input size maps every pixel to itself (x0 = x, frac = 0), so
     * skipping it is exact; s = 1 is the common case. */
    plan->enabled[IMG_STAGE_RESIZE] = plan->out_width != in_w || plan->out_height != in_h;
    if (plan->enabled[IMG_STAGE_RESIZE]) {
        if (resize_axis_init(&plan->resize_x, in_w, plan->out_width, err) != 0 ||
            resize_axis_init(&plan->resize_y, in_h, plan->out_height, err) != 0) {
            img_plan_free(plan);
            return -1;
        }
    }
    return 0;
}

void img_plan_free(img_plan *plan)
{
    if (!plan)
        return;
    free(plan->resize_x.i0);
    free(plan->resize_y.i0);
    memset(&plan->resize_x, 0, sizeof plan->resize_x);
    memset(&plan->resize_y, 0, sizeof plan->resize_y);
}

int img_plan_last_source_row(const img_plan *plan, int y0, int y1)
{
    int last = y1 - 1;
    if (plan->enabled[IMG_STAGE_RESIZE]) {
        /* Any map, monotonic or not: the largest row either tap reads. */
        last = 0;
        for (int y = y0; y < y1; y++) {
            const int i = plan->resize_y.i0[y] > plan->resize_y.i1[y] ? plan->resize_y.i0[y]
                                                                       : plan->resize_y.i1[y];
            if (i > last)
                last = i;
        }
    }
    last += plan->blur_radius;   /* 0 when blur is disabled */
    return last < plan->in_height - 1 ? last : plan->in_height - 1;
}

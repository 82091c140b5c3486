/* The `serial` backend: the plainest correct loop nest, one stage after another. No
 * tables, no tricks: each function is the README's formula. */
#include "serial.h"

#include <stdlib.h>

#include "backend.h"

static int clamp_index(int i, int n)
{
    return i < 0 ? 0 : i >= n ? n - 1 : i;
}

void img_serial_brightness_plane(uint8_t *dst, ptrdiff_t dst_stride, const uint8_t *src,
                                 ptrdiff_t src_stride, int w, int h, int brightness)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            dst[y * dst_stride + x] = img_clamp_u8(src[y * src_stride + x] + brightness);
}

void img_serial_contrast_plane(uint8_t *dst, ptrdiff_t dst_stride, const uint8_t *src,
                               ptrdiff_t src_stride, int w, int h, int contrast_q8)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int32_t i = src[y * src_stride + x];
            dst[y * dst_stride + x] = img_clamp_u8(128 + img_asr((i - 128) * contrast_q8 + 128, 8));
        }
}

void img_serial_blur_h_rows(int16_t *tmp, ptrdiff_t tmp_stride, const uint8_t *src,
                            ptrdiff_t src_stride, int w, int y0, int y1, const int32_t *weights,
                            int radius)
{
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < w; x++) {
            int32_t sum = 0;
            for (int k = -radius; k <= radius; k++)
                sum += weights[k + radius] * src[y * src_stride + clamp_index(x + k, w)];
            tmp[y * tmp_stride + x] = (int16_t)img_asr(sum + 64, 7);
        }
}

void img_serial_blur_v_rows(uint8_t *dst, ptrdiff_t dst_stride, const int16_t *tmp,
                            ptrdiff_t tmp_stride, int w, int h, int y0, int y1,
                            const int32_t *weights, int radius)
{
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < w; x++) {
            int32_t sum = 0;
            for (int k = -radius; k <= radius; k++)
                sum += weights[k + radius] * tmp[clamp_index(y + k, h) * tmp_stride + x];
            dst[y * dst_stride + x] = img_clamp_u8(img_asr(sum + (1 << 20), 21));
        }
}

void img_serial_resize_rows(uint8_t *dst, ptrdiff_t dst_stride, const uint8_t *src,
                            ptrdiff_t src_stride, const img_plan *plan, int y0, int y1)
{
    const img_resize_axis *mx = &plan->resize_x, *my = &plan->resize_y;
    const int32_t one = IMG_RESIZE_ONE;
    for (int y = y0; y < y1; y++) {
        const uint8_t *row0 = src + my->i0[y] * src_stride;
        const uint8_t *row1 = src + my->i1[y] * src_stride;
        int32_t fy = my->frac[y];
        for (int x = 0; x < mx->out_len; x++) {
            int32_t fx = mx->frac[x];
            uint32_t a = row0[mx->i0[x]], b = row0[mx->i1[x]];
            uint32_t c = row1[mx->i0[x]], d = row1[mx->i1[x]];
            /* Each product is at most 2048 * 2048 * 255 < 2^30 and the four weights sum
             * to 2^22, so the total stays below 2^31: 32 bits suffice. */
            uint32_t sum = (uint32_t)((one - fx) * (one - fy)) * a + (uint32_t)(fx * (one - fy)) * b +
                           (uint32_t)((one - fx) * fy) * c + (uint32_t)(fx * fy) * d + (1u << 21);
            dst[y * dst_stride + x] = (uint8_t)(sum >> 22);
        }
    }
}

static void blur_plane(uint8_t *dst, ptrdiff_t dst_stride, const uint8_t *src,
                       ptrdiff_t src_stride, int w, int h, int16_t *tmp, const img_plan *plan)
{
    img_serial_blur_h_rows(tmp, w, src, src_stride, w, 0, h, plan->blur_weights,
                           plan->blur_radius);
    img_serial_blur_v_rows(dst, dst_stride, tmp, w, w, h, 0, h, plan->blur_weights,
                           plan->blur_radius);
}

static int serial_run_stage(void *state, img_stage stage, img_image *dst, const img_image *src,
                            const img_plan *plan, img_error *err)
{
    (void)state;
    int16_t *tmp = NULL;
    if (stage == IMG_STAGE_BLUR) {
        tmp = malloc(sizeof(int16_t) * (size_t)src->width * (size_t)src->height);
        if (!tmp)
            return img_fail(err, "out of memory for the blur intermediate");
    }
    for (int c = 0; c < src->channels; c++) {
        bool alpha = img_is_alpha_plane(src->channels, c);
        switch (stage) {
        case IMG_STAGE_BRIGHTNESS:
        case IMG_STAGE_CONTRAST:
            if (alpha)
                img_serial_brightness_plane(dst->plane[c], dst->stride[c], src->plane[c],
                                            src->stride[c], src->width, src->height, 0);
            else if (stage == IMG_STAGE_BRIGHTNESS)
                img_serial_brightness_plane(dst->plane[c], dst->stride[c], src->plane[c],
                                            src->stride[c], src->width, src->height,
                                            plan->brightness);
            else
                img_serial_contrast_plane(dst->plane[c], dst->stride[c], src->plane[c],
                                          src->stride[c], src->width, src->height,
                                          plan->contrast_q8);
            break;
        case IMG_STAGE_BLUR:
            blur_plane(dst->plane[c], dst->stride[c], src->plane[c], src->stride[c], src->width,
                       src->height, tmp, plan);
            break;
        case IMG_STAGE_RESIZE:
            img_serial_resize_rows(dst->plane[c], dst->stride[c], src->plane[c], src->stride[c],
                                   plan, 0, dst->height);
            break;
        default:
            free(tmp);
            return img_fail(err, "serial: unknown stage %d", (int)stage);
        }
    }
    free(tmp);
    return 0;
}

/* Runs the enabled stages in order through two ping-pong images. */
static int serial_run_pipeline(void *state, img_image *dst, const img_image *src,
                               const img_plan *plan, img_error *err)
{
    img_image buf[2] = {{0}};
    const img_image *cur = src;
    int next = 0, rc = 0;
    for (int s = 0; s < IMG_STAGE_COUNT && rc == 0; s++) {
        if (!plan->enabled[s])
            continue;
        img_image *out;
        if (s == IMG_STAGE_RESIZE) {
            out = dst;   /* resize is always last and has the output geometry */
        } else {
            if (!buf[next].storage &&
                img_image_alloc(&buf[next], src->width, src->height, src->channels,
                                UINT64_MAX, err) != 0) {
                rc = -1;
                break;
            }
            out = &buf[next];
        }
        rc = serial_run_stage(state, (img_stage)s, out, cur, plan, err);
        cur = out;
        next ^= 1;
    }
    if (rc == 0 && cur != dst)
        img_image_copy(dst, cur);
    img_image_free(&buf[0]);
    img_image_free(&buf[1]);
    return rc;
}

static bool serial_probe(char *reason, size_t reason_len)
{
    (void)reason;
    (void)reason_len;
    return true;
}

static int serial_init(void **state, const img_backend_options *options, img_error *err)
{
    (void)options;
    (void)err;
    *state = NULL;
    return 0;
}

static void serial_destroy(void *state)
{
    (void)state;
}

const img_backend img_backend_serial = {
    .name = "serial",
    .description = "reference: plain loops, one stage after another",
    .options = 0,   /* none of the backend options */
    .probe = serial_probe,
    .init = serial_init,
    .destroy = serial_destroy,
    .run_stage = serial_run_stage,
    .run_pipeline = serial_run_pipeline,
};

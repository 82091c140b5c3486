/* The serial reference: the specification written as plain loops.
 *
 * These plane functions are the definition of the right answer. Other backends reuse
 * them only where they want the reference behaviour (tests compare against them). */
#ifndef IMG_BACKENDS_SERIAL_H
#define IMG_BACKENDS_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "spec.h"

/* o = clamp(i + b) */
void img_serial_brightness_plane(uint8_t *dst, ptrdiff_t dst_stride, const uint8_t *src,
                                 ptrdiff_t src_stride, int w, int h, int brightness);

/* o = clamp(128 + (((i - 128) * C + 128) >> 8)) */
void img_serial_contrast_plane(uint8_t *dst, ptrdiff_t dst_stride, const uint8_t *src,
                               ptrdiff_t src_stride, int w, int h, int contrast_q8);

/* Horizontal pass: tmp = (sum_k W_k * src[y][clamp(x + k)] + 64) >> 7, rows [y0, y1).
 * tmp_stride counts int16 elements. */
void img_serial_blur_h_rows(int16_t *tmp, ptrdiff_t tmp_stride, const uint8_t *src,
                            ptrdiff_t src_stride, int w, int y0, int y1, const int32_t *weights,
                            int radius);

/* Vertical pass: o = clamp((sum_k W_k * tmp[clamp(y + k)][x] + 2^20) >> 21) for output
 * rows [y0, y1) of an image h rows tall. */
void img_serial_blur_v_rows(uint8_t *dst, ptrdiff_t dst_stride, const int16_t *tmp,
                            ptrdiff_t tmp_stride, int w, int h, int y0, int y1,
                            const int32_t *weights, int radius);

/* Bilinear resize of one plane, output rows [y0, y1), maps from the plan. */
void img_serial_resize_rows(uint8_t *dst, ptrdiff_t dst_stride, const uint8_t *src,
                            ptrdiff_t src_stride, const img_plan *plan, int y0, int y1);

#endif

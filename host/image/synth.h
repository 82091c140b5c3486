/* The built-in test image: a deterministic, photo-like synthetic picture so every
 * command works with no files at hand. */
#ifndef IMG_IMAGE_SYNTH_H
#define IMG_IMAGE_SYNTH_H

#include <stdint.h>

#include "error.h"
#include "image.h"

#define IMG_SYNTH_DEFAULT_WIDTH 1920
#define IMG_SYNTH_DEFAULT_HEIGHT 1080

/* Renders a width x height image with `channels` planes (3 = RGB by default): smooth
 * gradients, hard-edged shapes, fine stripes and noise, so that brightness, contrast,
 * blur and resize all visibly change it. The same size always gives the same pixels. */
int img_synth_image(img_image *img, int width, int height, int channels, uint64_t max_pixels,
                    img_error *err);

#endif

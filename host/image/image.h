/* The planar 8-bit image every stage and backend works on.
 *
 * One plane per channel (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA). Each plane's rows are
 * padded to a multiple of IMG_ROW_ALIGN bytes and every plane starts on such a
 * boundary, so a vector load of a row never splits a cache line for no reason and
 * a SIMD stage may read (never write) up to the padded end of a row. */
#ifndef IMG_IMAGE_IMAGE_H
#define IMG_IMAGE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define IMG_MAX_CHANNELS 4
#define IMG_ROW_ALIGN 64
/* Default limit on width * height, checked before any allocation (CLI: --max-pixels). */
#define IMG_DEFAULT_MAX_PIXELS (UINT64_C(1) << 28)
/* Hard upper bound on either dimension whatever the pixel limit: keeps every
 * coordinate and stride computation inside int. */
#define IMG_MAX_DIMENSION 1000000

typedef struct img_image {
    int width;
    int height;
    int channels;                         /* 1..4 */
    uint8_t *plane[IMG_MAX_CHANNELS];     /* plane[c] row y starts at plane[c] + y * stride */
    ptrdiff_t stride[IMG_MAX_CHANNELS];   /* bytes between rows, multiple of IMG_ROW_ALIGN */
    void *storage;                        /* the single allocation behind all planes */
} img_image;

/* True for the alpha plane of a 2- or 4-channel image; point stages leave it untouched. */
static inline bool img_is_alpha_plane(int channels, int plane)
{
    return (channels == 2 && plane == 1) || (channels == 4 && plane == 3);
}

/* Checks width, height and channels against the limits in 64-bit arithmetic without
 * allocating. max_pixels 0 means IMG_DEFAULT_MAX_PIXELS. */
int img_check_size(int64_t width, int64_t height, int channels, uint64_t max_pixels,
                   img_error *err);

/* Allocates a zeroed image after img_check_size. On failure *img is left empty. */
int img_image_alloc(img_image *img, int width, int height, int channels, uint64_t max_pixels,
                    img_error *err);

/* Releases the image and leaves it empty; safe on an empty or zeroed image. */
void img_image_free(img_image *img);

/* Row y of plane c. */
static inline uint8_t *img_row(const img_image *img, int c, int y)
{
    return img->plane[c] + (ptrdiff_t)y * img->stride[c];
}

/* Copies pixel contents (not padding) of src into dst of the same geometry. */
void img_image_copy(img_image *dst, const img_image *src);

/* True when both images have the same geometry and the same pixels (padding ignored). */
bool img_image_equal(const img_image *a, const img_image *b);

#endif

#include "image.h"

#include "memory.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static size_t padded_stride(int width)
{
    return ((size_t)width + IMG_ROW_ALIGN - 1) / IMG_ROW_ALIGN * IMG_ROW_ALIGN;
}

int img_check_size(int64_t width, int64_t height, int channels, uint64_t max_pixels,
                   img_error *err)
{
    if (max_pixels == 0)
        max_pixels = IMG_DEFAULT_MAX_PIXELS;
    if (channels < 1 || channels > IMG_MAX_CHANNELS)
        return img_fail(err, "unsupported channel count %d (1 to 4)", channels);
    if (width <= 0 || height <= 0)
        return img_fail(err, "image size %" PRId64 "x%" PRId64 " is empty", width, height);
    if (width > IMG_MAX_DIMENSION || height > IMG_MAX_DIMENSION)
        return img_fail(err, "image size %" PRId64 "x%" PRId64 " exceeds the limit of %d per side",
                        width, height, IMG_MAX_DIMENSION);
    /* Both factors are below 2^20 here, so the product cannot overflow 64 bits. */
    uint64_t pixels = (uint64_t)width * (uint64_t)height;
    if (pixels > max_pixels)
        return img_fail(err,
                        "image size %" PRId64 "x%" PRId64 " is %" PRIu64
                        " pixels, over the limit of %" PRIu64 " (see --max-pixels)",
                        width, height, pixels, max_pixels);
    return 0;
}

int img_image_alloc(img_image *img, int width, int height, int channels, uint64_t max_pixels,
                    img_error *err)
{
    memset(img, 0, sizeof *img);
    if (img_check_size(width, height, channels, max_pixels, err) != 0)
        return -1;
    size_t stride = padded_stride(width);
    /* Planes are whole multiples of IMG_ROW_ALIGN, so each one starts aligned; one
     * extra row of slack lets vector code read a little past the last row's end. */
    size_t plane_bytes = stride * (size_t)height;
    size_t total = plane_bytes * (size_t)channels + IMG_ROW_ALIGN;
    void *storage = img_alloc_large(total, IMG_ROW_ALIGN);
    if (!storage)
        return img_fail(err, "out of memory allocating a %dx%d image (%zu bytes)", width, height,
                        total);
    memset(storage, 0, total);
    img->width = width;
    img->height = height;
    img->channels = channels;
    img->storage = storage;
    for (int c = 0; c < channels; c++) {
        img->plane[c] = (uint8_t *)storage + plane_bytes * (size_t)c;
        img->stride[c] = (ptrdiff_t)stride;
    }
    return 0;
}

void img_image_free(img_image *img)
{
    if (!img)
        return;
    free(img->storage);
    memset(img, 0, sizeof *img);
}

void img_image_copy(img_image *dst, const img_image *src)
{
    for (int c = 0; c < src->channels; c++)
        for (int y = 0; y < src->height; y++)
            memcpy(img_row(dst, c, y), img_row(src, c, y), (size_t)src->width);
}

bool img_image_equal(const img_image *a, const img_image *b)
{
    if (a->width != b->width || a->height != b->height || a->channels != b->channels)
        return false;
    for (int c = 0; c < a->channels; c++)
        for (int y = 0; y < a->height; y++)
            if (memcmp(img_row(a, c, y), img_row(b, c, y), (size_t)a->width) != 0)
                return false;
    return true;
}

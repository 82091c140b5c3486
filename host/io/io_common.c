/* What every codec shares (declared in io_formats.h): size checks and allocation with
 * the file name in the message, write-failure messages, and the planar <-> interleaved
 * row conversion. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io_formats.h"

int img_io_check_size(const char *name, int64_t width, int64_t height, int channels,
                      const img_read_options *options, img_error *err)
{
    img_error inner;
    if (img_check_size(width, height, channels, options->max_pixels, &inner) != 0)
        return img_fail(err, "%s: %s", name, inner.message);
    return 0;
}

int img_io_alloc(const char *name, img_image *img, int width, int height, int channels,
                 const img_read_options *options, img_error *err)
{
    img_error inner;
    if (img_image_alloc(img, width, height, channels, options->max_pixels, &inner) != 0)
        return img_fail(err, "%s: %s", name, inner.message);
    if (options->sink && options->sink->started)
        options->sink->started(options->sink->ctx, img);
    return 0;
}

void img_io_rows_done(const img_read_options *options, int rows)
{
    if (options->sink && options->sink->rows)
        options->sink->rows(options->sink->ctx, rows);
}

int img_io_write_failed(const char *name, int errnum, img_error *err)
{
    /* A short fwrite without errno should not print "Success". */
    return img_fail(err, "%s: write failed: %s", name, strerror(errnum != 0 ? errnum : EIO));
}

/* One loop per channel count, so that the count is a constant the compiler can turn
 * into shuffles (the generic loop over channels stays scalar). */
#define IMG_DEINTERLEAVE(n)                                                               \
    for (size_t x = 0; x < width; x++)                                                   \
        for (int c = 0; c < (n); c++)                                                    \
            dst[c][x] = src[x * (n) + (size_t)c]
#define IMG_INTERLEAVE(n)                                                                 \
    for (size_t x = 0; x < width; x++)                                                   \
        for (int c = 0; c < (n); c++)                                                    \
            dst[x * (n) + (size_t)c] = src[c][x]

void img_deinterleave_row(img_image *img, int y, const uint8_t *src)
{
    const int channels = img->channels;
    const size_t width = (size_t)img->width;
    if (channels == 1) {
        memcpy(img_row(img, 0, y), src, width);
        return;
    }
    uint8_t *restrict dst[IMG_MAX_CHANNELS] = {0};
    for (int c = 0; c < channels; c++)
        dst[c] = img_row(img, c, y);
    if (channels == 2)
        IMG_DEINTERLEAVE(2);
    else if (channels == 3)
        IMG_DEINTERLEAVE(3);
    else
        IMG_DEINTERLEAVE(4);
}

void img_interleave_row(const img_image *img, int y, uint8_t *dst)
{
    const int channels = img->channels;
    const size_t width = (size_t)img->width;
    if (channels == 1) {
        memcpy(dst, img_row(img, 0, y), width);
        return;
    }
    const uint8_t *restrict src[IMG_MAX_CHANNELS] = {0};
    for (int c = 0; c < channels; c++)
        src[c] = img_row(img, c, y);
    if (channels == 2)
        IMG_INTERLEAVE(2);
    else if (channels == 3)
        IMG_INTERLEAVE(3);
    else
        IMG_INTERLEAVE(4);
}

int img_io_encode_to_memory(const char *name, img_io_encode_fn *encode, void *ctx,
                            uint8_t **data, size_t *size, img_error *err)
{
    *data = NULL;
    *size = 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp)
        return img_fail(err, "%s: out of memory", name);
    int rc = encode(fp, ctx, err);
    if (fclose(fp) != 0 && rc == 0)
        rc = img_fail(err, "%s: out of memory", name);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    *data = (uint8_t *)buf;
    *size = len;
    return 0;
}

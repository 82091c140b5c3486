/* Binary PNM: P5 (gray) and P6 (RGB), reading any maxval from 1 to 65535 and writing
 * maxval 255.
 *
 * The header is "P5" or "P6", then width, height and maxval in ASCII decimal, each
 * preceded by whitespace and/or '#' comments (to the end of the line), then exactly
 * one whitespace character, then the samples: one byte each when maxval < 256, else
 * two bytes big-endian. Samples are scaled to 8 bits as round(v * 255 / maxval).
 * Bytes after the last sample are ignored (a file may hold several images). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "io_formats.h"

#define IMG_PNM_MAX_MAXVAL 65535u

typedef struct img_pnm_cursor {
    const uint8_t *data;
    size_t size;
    size_t pos;
} img_pnm_cursor;

static bool img_pnm_is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Skips whitespace and comments; true when there was at least one of them, since a
 * separator is required between the header fields. */
static bool img_pnm_skip_separators(img_pnm_cursor *c)
{
    bool skipped = false;
    while (c->pos < c->size) {
        const uint8_t ch = c->data[c->pos];
        if (img_pnm_is_space(ch)) {
            c->pos++;
        } else if (ch == '#') {
            while (c->pos < c->size && c->data[c->pos] != '\n' && c->data[c->pos] != '\r')
                c->pos++;
        } else {
            break;
        }
        skipped = true;
    }
    return skipped;
}

/* Reads one header number, refusing instead of wrapping when it does not fit. */
static int img_pnm_read_number(const char *name, img_pnm_cursor *c, const char *field,
                               uint32_t *value, img_error *err)
{
    const bool separated = img_pnm_skip_separators(c);
    if (c->pos >= c->size)
        return img_fail(err, "%s: PNM: truncated header: expected %s", name, field);
    const uint8_t first = c->data[c->pos];
    if (!separated || first < '0' || first > '9')
        return img_fail(err, "%s: PNM: bad header: expected %s", name, field);
    uint32_t v = 0;
    bool too_large = false;
    while (c->pos < c->size && c->data[c->pos] >= '0' && c->data[c->pos] <= '9') {
        const uint32_t digit = (uint32_t)(c->data[c->pos] - '0');
        if (v > (UINT32_MAX - digit) / 10)
            too_large = true;   /* keep consuming so the message is about this field */
        else
            v = v * 10 + digit;
        c->pos++;
    }
    if (too_large)
        return img_fail(err, "%s: PNM: %s is too large", name, field);
    *value = v;
    return 0;
}

static int img_pnm_decode(const char *name, img_pnm_cursor *c, img_image *img,
                          uint8_t **row, uint8_t **table, const img_read_options *options,
                          img_error *err)
{
    if (c->size < 2 || c->data[0] != 'P' || (c->data[1] != '5' && c->data[1] != '6'))
        return img_fail(err, "%s: PNM: not a binary PGM or PPM file", name);
    const int channels = c->data[1] == '5' ? 1 : 3;
    c->pos = 2;

    uint32_t width, height, maxval;
    if (img_pnm_read_number(name, c, "width", &width, err) != 0 ||
        img_pnm_read_number(name, c, "height", &height, err) != 0)
        return -1;
    if (img_io_check_size(name, width, height, channels, options, err) != 0)
        return -1;
    if (img_pnm_read_number(name, c, "maxval", &maxval, err) != 0)
        return -1;
    if (maxval == 0 || maxval > IMG_PNM_MAX_MAXVAL)
        return img_fail(err, "%s: PNM: maxval %u is out of range (1 to %u)", name, maxval,
                        IMG_PNM_MAX_MAXVAL);
    if (c->pos >= c->size || !img_pnm_is_space(c->data[c->pos]))
        return img_fail(err, "%s: PNM: bad header: expected one whitespace character after maxval",
                        name);
    c->pos++;

    /* Within the limits just checked, none of these products can overflow size_t. */
    const size_t sample_bytes = maxval < 256 ? 1 : 2;
    const size_t row_samples = (size_t)width * (size_t)channels;
    const size_t needed = row_samples * sample_bytes * height;
    const size_t available = c->size - c->pos;
    if (available < needed)
        return img_fail(err, "%s: PNM: truncated: expected %zu bytes of samples, found %zu",
                        name, needed, available);

    if (img_io_alloc(name, img, (int)width, (int)height, channels, options, err) != 0)
        return -1;
    const uint8_t *samples = c->data + c->pos;
    if (maxval == 255) {   /* the common case: the bytes are the samples */
        for (uint32_t y = 0; y < height; y++)
            img_deinterleave_row(img, (int)y, samples + row_samples * y);
        return 0;
    }

    /* A table turns the per-sample division into a lookup; rounding half up is
     * round-half-away-from-zero for these non-negative values. */
    *table = malloc((size_t)maxval + 1);
    *row = malloc(row_samples);
    if (!*table || !*row)
        return img_fail(err, "%s: PNM: out of memory", name);
    for (uint32_t v = 0; v <= maxval; v++)
        (*table)[v] = (uint8_t)((v * 255u * 2u + maxval) / (2u * maxval));
    for (uint32_t y = 0; y < height; y++) {
        const uint8_t *src = samples + row_samples * sample_bytes * y;
        for (size_t i = 0; i < row_samples; i++) {
            const uint32_t v = sample_bytes == 1 ? src[i]
                                                 : (uint32_t)src[2 * i] << 8 | src[2 * i + 1];
            if (v > maxval)
                return img_fail(err, "%s: PNM: sample value %u exceeds maxval %u", name, v,
                                maxval);
            (*row)[i] = (*table)[v];
        }
        img_deinterleave_row(img, (int)y, *row);
    }
    return 0;
}

int img_pnm_read_memory(const char *name, const uint8_t *data, size_t size, img_image *img,
                        const img_read_options *options, img_error *err)
{
    img_pnm_cursor cursor = {.data = data, .size = size};
    uint8_t *row = NULL;
    uint8_t *table = NULL;
    int rc = img_pnm_decode(name, &cursor, img, &row, &table, options, err);
    free(row);
    free(table);
    if (rc != 0)
        img_image_free(img);
    return rc;
}

int img_pnm_write_stream(const char *name, FILE *fp, const img_image *img,
                         const img_write_options *options, img_error *err)
{
    (void)options;
    if (img->channels != 1 && img->channels != 3)   /* image_io.c checked; stay safe */
        return img_fail(err, "%s: PNM holds gray or RGB images only; this image has %d channels",
                        name, img->channels);
    const size_t row_bytes = (size_t)img->width * (size_t)img->channels;
    uint8_t *row = NULL;
    int rc = -1;
    errno = 0;
    if (fprintf(fp, "P%c\n%d %d\n255\n", img->channels == 1 ? '5' : '6', img->width,
                img->height) < 0) {
        img_io_write_failed(name, errno, err);
        goto fail;
    }
    row = malloc(row_bytes);
    if (!row) {
        img_fail(err, "%s: PNM: out of memory", name);
        goto fail;
    }
    for (int y = 0; y < img->height; y++) {
        img_interleave_row(img, y, row);
        errno = 0;
        if (fwrite(row, 1, row_bytes, fp) != row_bytes) {
            img_io_write_failed(name, errno, err);
            goto fail;
        }
    }
    rc = 0;
fail:
    free(row);
    return rc;
}

/* PNG reading through libspng (--png-decoder libspng): the same checks first and the
 * same pixels as the libpng reader (io_png.c). Measured no faster than libpng here (both
 * inflate with zlib, which dominates; README: decode times), so libpng is the default.
 *
 * libspng is asked for the file's own sample layout (SPNG_FMT_PNG: packed low bit
 * depths, palette indices, 16-bit samples in host order) and every conversion is done
 * here, the way io_png.c has libpng do it: palette to RGB, tRNS to alpha, 1/2/4-bit
 * gray scaled to full range, 16 bits rounded to 8. libspng's own conversions differ
 * in places (16-bit samples are truncated, not rounded; a tRNS key is ignored for
 * 1/2/4-bit gray), and converting straight into the planes saves a pass. */
#include <inttypes.h>
#include <spng.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "io_formats.h"

/* Ancillary chunks are never needed for pixels; these caps keep a hostile file from
 * making libspng store or inflate more than this of them (io_png.c sets libpng's). */
#define IMG_SPNG_CHUNK_MAX (8u << 20)
#define IMG_SPNG_CHUNK_CACHE_MAX (32u << 20)

#define IMG_SPNG_PALETTE 3

/* How one decoded row in the file's layout becomes one row of the planar image. */
typedef struct img_spng_convert {
    unsigned depth;          /* bits per sample: 1, 2, 4, 8, 16 */
    int samples;             /* samples per pixel in the file: 1 to 4 */
    int channels;            /* planes of the image */
    bool palette;
    bool has_key;            /* a gray or RGB tRNS colour becomes an alpha plane */
    bool plain;              /* 8 bits, no palette, no key: only deinterleaved */
    unsigned key[3];
    uint8_t rgba[256][4];    /* palette entries; unused ones black and opaque, as libpng */
} img_spng_convert;

/* Sample i of a row: packed MSB first below 8 bits, host order at 16. */
static inline unsigned img_spng_sample(const uint8_t *row, size_t i, unsigned depth)
{
    if (depth == 8)
        return row[i];
    if (depth == 16) {
        uint16_t v;
        memcpy(&v, row + 2 * i, sizeof v);
        return v;
    }
    const size_t bit = i * depth;
    return (row[bit >> 3] >> (8 - depth - (bit & 7))) & ((1u << depth) - 1);
}

/* libpng's png_set_expand_gray_1_2_4_to_8 (v * 255 / max, exact) and png_set_scale_16
 * (round(v * 255 / 65535), which has no ties). */
static inline uint8_t img_spng_to_8_bits(unsigned v, unsigned depth)
{
    if (depth == 8)
        return (uint8_t)v;
    if (depth == 16)
        return (uint8_t)((v * 255u + 32767u) / 65535u);
    return (uint8_t)(v * 255u / ((1u << depth) - 1));
}

/* Adam7: where each pass's pixels lie (pass 0 of a plain image is the whole image). */
static const uint8_t img_adam7_x0[7] = {0, 4, 0, 2, 0, 1, 0};
static const uint8_t img_adam7_dx[7] = {8, 8, 4, 4, 2, 2, 1};

/* One decoded scanline in the file's layout into row y of the planes: its pixels go to
 * x0, x0 + dx, ... (every pixel for a plain image, one pass's for an interlaced one). */
static void img_spng_convert_row(const img_spng_convert *cv, const uint8_t *src,
                                 img_image *img, int y, size_t x0, size_t dx)
{
    if (cv->plain && dx == 1) {
        img_deinterleave_row(img, y, src);
        return;
    }
    uint8_t *dst[IMG_MAX_CHANNELS] = {0};
    for (int c = 0; c < cv->channels; c++)
        dst[c] = img_row(img, c, y);
    const size_t width = (size_t)img->width;
    if (cv->palette) {
        for (size_t i = 0, x = x0; x < width; i++, x += dx) {
            const uint8_t *entry = cv->rgba[img_spng_sample(src, i, cv->depth)];
            for (int c = 0; c < cv->channels; c++)
                dst[c][x] = entry[c];
        }
        return;
    }
    const size_t samples = (size_t)cv->samples;
    for (size_t i = 0, x = x0; x < width; i++, x += dx) {
        bool keyed = cv->has_key;
        for (size_t k = 0; k < samples; k++) {
            const unsigned raw = img_spng_sample(src, i * samples + k, cv->depth);
            keyed = keyed && raw == cv->key[k];
            dst[k][x] = img_spng_to_8_bits(raw, cv->depth);
        }
        if (cv->has_key)
            dst[samples][x] = keyed ? 0 : 255;
    }
}

/* The conversion the header, palette and tRNS chunk call for. Returns libspng's error
 * (reading them reads every chunk before the image data); *has_trns is false for a
 * tRNS chunk that libpng would ignore (an empty one for a palette). */
static int img_spng_setup(spng_ctx *ctx, const struct spng_ihdr *ihdr, img_spng_convert *cv,
                          bool *has_trns)
{
    static const int samples[7] = {1, 0, 3, 1, 2, 0, 4};
    memset(cv, 0, sizeof *cv);
    cv->depth = ihdr->bit_depth;
    cv->samples = ihdr->color_type < 7 ? samples[ihdr->color_type] : 0;
    cv->palette = ihdr->color_type == IMG_SPNG_PALETTE;
    struct spng_trns trns;
    int rc = spng_get_trns(ctx, &trns);
    if (rc != 0 && rc != SPNG_ECHUNKAVAIL)
        return rc;
    *has_trns = rc == 0;
    if (cv->palette) {
        *has_trns = *has_trns && trns.n_type3_entries > 0;
        struct spng_plte plte;
        rc = spng_get_plte(ctx, &plte);
        if (rc != 0)
            return rc;
        for (unsigned i = 0; i < 256; i++) {
            const bool listed = i < plte.n_entries;
            cv->rgba[i][0] = listed ? plte.entries[i].red : 0;
            cv->rgba[i][1] = listed ? plte.entries[i].green : 0;
            cv->rgba[i][2] = listed ? plte.entries[i].blue : 0;
            cv->rgba[i][3] = *has_trns && i < trns.n_type3_entries ? trns.type3_alpha[i] : 255;
        }
    } else if (*has_trns && (ihdr->color_type == 0 || ihdr->color_type == 2)) {
        /* libpng compares the key's low bit_depth bits only (its png_do_expand). */
        const unsigned mask = cv->depth == 16 ? 0xFFFFu : (1u << cv->depth) - 1;
        cv->has_key = true;
        cv->key[0] = (ihdr->color_type == 0 ? trns.gray : trns.red) & mask;
        cv->key[1] = trns.green & mask;
        cv->key[2] = trns.blue & mask;
    }
    return 0;
}

static uint32_t img_spng_crc32(const uint8_t *data, size_t size)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; i++) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* libspng says only that some chunk's CRC is wrong; libpng names the chunk ("IDAT: CRC
 * error"), and so does this, by checking them all again. Only on that error path, and
 * after img_png_walk_chunks, so every chunk lies inside the file. */
static int img_spng_crc_error(const char *name, const uint8_t *data, size_t size,
                              img_error *err)
{
    size_t pos = IMG_PNG_SIGNATURE_SIZE;
    while (size - pos >= 12) {
        const uint32_t length = (uint32_t)data[pos] << 24 | (uint32_t)data[pos + 1] << 16 |
                                (uint32_t)data[pos + 2] << 8 | data[pos + 3];
        if ((uint64_t)length + 12 > size - pos)
            break;
        const uint8_t *stored = data + pos + 8 + length;
        const uint32_t expected = (uint32_t)stored[0] << 24 | (uint32_t)stored[1] << 16 |
                                  (uint32_t)stored[2] << 8 | stored[3];
        if (img_spng_crc32(data + pos + 4, (size_t)length + 4) != expected)
            return img_fail(err, "%s: PNG: %.4s: CRC error", name, (const char *)data + pos + 4);
        pos += (size_t)length + 12;
    }
    return img_fail(err, "%s: PNG: CRC error", name);
}

static int img_spng_fail(const char *name, const uint8_t *data, size_t size, int code,
                         img_error *err)
{
    if (code == SPNG_ECHUNK_CRC)
        return img_spng_crc_error(name, data, size, err);
    if (code == SPNG_EOI)
        return img_fail(err, "%s: PNG: image data ends before the last row", name);
    return img_fail(err, "%s: PNG: %s", name, spng_strerror(code));
}

/* Everything the decode allocates, released by the caller on every path. */
typedef struct img_spng_reader {
    spng_ctx *ctx;
    uint8_t *rows;           /* one scanline */
    img_spng_convert convert;
} img_spng_reader;

static int img_spng_decode(img_spng_reader *r, const char *name, const uint8_t *data,
                           size_t size, img_image *img, const img_read_options *options,
                           img_error *err)
{
    img_png_layout layout;
    if (img_png_walk_chunks(name, data, size, &layout, err) != 0)
        return -1;
    r->ctx = spng_ctx_new(0);
    if (!r->ctx)
        return img_fail(err, "%s: PNG: cannot initialise libspng", name);
    int rc = spng_set_png_buffer(r->ctx, data, size);
    if (rc == 0)
        rc = spng_set_image_limits(r->ctx, IMG_MAX_DIMENSION, IMG_MAX_DIMENSION);
    if (rc == 0)
        rc = spng_set_chunk_limits(r->ctx, IMG_SPNG_CHUNK_MAX, IMG_SPNG_CHUNK_CACHE_MAX);
    /* libpng's policy: a damaged critical chunk is an error, a damaged ancillary one is
     * dropped. */
    if (rc == 0)
        rc = spng_set_crc_action(r->ctx, SPNG_CRC_ERROR, SPNG_CRC_DISCARD);
    struct spng_ihdr ihdr;
    if (rc == 0)
        rc = spng_get_ihdr(r->ctx, &ihdr);
    if (rc != 0)
        return img_spng_fail(name, data, size, rc, err);

    bool has_trns = false;
    rc = img_spng_setup(r->ctx, &ihdr, &r->convert, &has_trns);
    if (rc != 0)
        return img_spng_fail(name, data, size, rc, err);
    int channels;
    if (img_png_check_header(name, ihdr.width, ihdr.height, ihdr.color_type, has_trns, &layout,
                             options, &channels, err) != 0)
        return -1;
    r->convert.channels = channels;
    r->convert.plain = ihdr.bit_depth == 8 && !r->convert.palette && !r->convert.has_key;

    size_t image_bytes;
    rc = spng_decoded_image_size(r->ctx, SPNG_FMT_PNG, &image_bytes);
    if (rc != 0)
        return img_spng_fail(name, data, size, rc, err);
    const size_t row_bytes = image_bytes / ihdr.height;
    if (img_io_alloc(name, img, (int)ihdr.width, (int)ihdr.height, channels, options, err) != 0)
        return -1;

    /* Scanline by scanline, each straight into the planes: an interlaced image's
     * passes land where they belong, so no image-sized buffer is needed either way
     * (libspng's own deinterlacing of 1, 2 and 4-bit samples differs from libpng's). */
    r->rows = malloc(row_bytes);
    if (!r->rows)
        return img_fail(err, "%s: PNG: out of memory", name);
    rc = spng_decode_image(r->ctx, NULL, 0, SPNG_FMT_PNG, SPNG_DECODE_PROGRESSIVE);
    if (rc != 0)
        return img_spng_fail(name, data, size, rc, err);
    const bool interlaced = ihdr.interlace_method != SPNG_INTERLACE_NONE;
    do {
        struct spng_row_info row;
        rc = spng_get_row_info(r->ctx, &row);
        if (rc != 0)
            return img_spng_fail(name, data, size, rc, err);
        rc = spng_decode_scanline(r->ctx, r->rows, row_bytes);
        /* The last scanline answers SPNG_EOI: the image is complete. */
        if (rc != 0 && rc != SPNG_EOI)
            return img_spng_fail(name, data, size, rc, err);
        if (row.row_num >= ihdr.height || row.pass < 0 || row.pass > 6)
            return img_fail(err, "%s: PNG: libspng reports row %" PRIu32 " of pass %d",
                            name, row.row_num, row.pass);
        const int pass = interlaced ? row.pass : 6;
        img_spng_convert_row(&r->convert, r->rows, img, (int)row.row_num,
                             img_adam7_x0[pass], img_adam7_dx[pass]);
    } while (rc == 0);
    /* Reads up to IEND, so a bad CRC after the last row is still an error rather than
     * a silently accepted image (as png_read_end in io_png.c). */
    rc = spng_decode_chunks(r->ctx);
    if (rc != 0)
        return img_spng_fail(name, data, size, rc, err);
    return 0;
}

int img_spng_read_memory(const char *name, const uint8_t *data, size_t size, img_image *img,
                         const img_read_options *options, img_error *err)
{
    img_spng_reader r = {0};
    const int rc = img_spng_decode(&r, name, data, size, img, options, err);
    spng_ctx_free(r.ctx);
    free(r.rows);
    if (rc != 0)
        img_image_free(img);
    return rc;
}

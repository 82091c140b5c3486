/* PNG reading through libpng (writing is png_encode.c's), and the checks every PNG
 * decoder runs first (io_spng.c is the other decoder).
 *
 * libpng reports errors by longjmp. Each function that calls setjmp keeps all of its
 * state behind a pointer owned by its caller, so nothing it changes is a local that
 * the longjmp could leave indeterminate, and the caller releases everything on one
 * path whichever way the decode ended. */
#include <inttypes.h>
#include <png.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "io_formats.h"

/* Ancillary chunks (ICC profiles, text) are never needed to decode pixels; a cap keeps
 * a hostile file from making libpng buffer or inflate gigabytes of them. */
#define IMG_PNG_CHUNK_MALLOC_MAX (8u << 20)
#define IMG_PNG_CHUNK_CACHE_MAX 1000u

/* What libpng's callbacks reach through png_get_error_ptr / png_get_io_ptr. */
typedef struct img_png_io {
    const uint8_t *data;   /* the whole file */
    size_t size;
    size_t pos;
    char message[256];     /* libpng's error text, e.g. "IDAT: CRC error" */
} img_png_io;

typedef struct img_png_reader {
    img_png_io io;
    png_structp png;
    png_infop info;
    uint8_t *rows;         /* interleaved rows: one, or all of them when interlaced */
    png_bytep *row_pointers;
} img_png_reader;

static void img_png_on_error(png_structp png, png_const_charp message)
{
    img_png_io *io = png_get_error_ptr(png);
    snprintf(io->message, sizeof io->message, "%s", message);
    png_longjmp(png, 1);
}

/* Warnings (bad ancillary chunks, odd profiles) do not stop decoding, and nothing
 * below the CLI may print. */
static void img_png_on_warning(png_structp png, png_const_charp message)
{
    (void)png;
    (void)message;
}

static void img_png_read_data(png_structp png, png_bytep out, size_t length)
{
    img_png_io *io = png_get_io_ptr(png);
    if (length > io->size - io->pos)
        png_error(png, "file is truncated");
    memcpy(out, io->data + io->pos, length);
    io->pos += length;
}


/* deflate cannot expand data by more than about 1032:1 (a 258-byte match in under two
 * bits), so image data beyond that ratio to the IDAT bytes cannot be in the file. The
 * slack covers the zlib header and a final block of a tiny image. */
#define IMG_PNG_DEFLATE_MAX_RATIO 1032u
#define IMG_PNG_DEFLATE_SLACK 1024u

static uint32_t img_png_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Walks the chunk headers, so that no length a chunk claims is ever believed beyond
 * what the file holds: libpng would allocate a chunk's claimed length before reading
 * it (a 60-byte file claiming a 2 GiB tEXt cost 2 GB and seconds). CRCs, chunk order
 * and contents stay the decoder's business. */
int img_png_walk_chunks(const char *name, const uint8_t *data, size_t size,
                               img_png_layout *layout, img_error *err)
{
    memset(layout, 0, sizeof *layout);
    size_t pos = IMG_PNG_SIGNATURE_SIZE;
    for (;;) {
        const size_t left = size - pos;
        if (left < 8)
            return img_fail(err, "%s: PNG: file is truncated (%zu bytes after the last "
                                 "complete chunk, no IEND)", name, left);
        const uint32_t length = img_png_be32(data + pos);
        char type[5];
        for (int i = 0; i < 4; i++) {
            const uint8_t c = data[pos + 4 + (size_t)i];
            type[i] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ? (char)c : '?';
        }
        type[4] = '\0';
        if (length > PNG_UINT_31_MAX)
            return img_fail(err, "%s: PNG: chunk '%s' has an invalid length %" PRIu32, name,
                            type, length);
        if ((uint64_t)length + 12 > left)
            return img_fail(err, "%s: PNG: file is truncated: chunk '%s' claims %" PRIu32
                                 " bytes, %zu remain", name, type, length, left - 8);
        const uint8_t *body = data + pos + 8;
        const uint64_t width = length >= 13 ? img_png_be32(body) : 0;
        const uint64_t height = length >= 13 ? img_png_be32(body + 4) : 0;
        /* Sizes past the per-side limit are refused from the header later on; below it
         * the products here stay far from overflowing. */
        if (pos == IMG_PNG_SIGNATURE_SIZE && memcmp(type, "IHDR", 4) == 0 && length >= 13 &&
            width <= IMG_MAX_DIMENSION && height <= IMG_MAX_DIMENSION) {
            /* Bits per pixel from the colour type's sample count; an invalid pair is
             * libpng's to report, so any guess that keeps the bound finite will do. */
            static const uint8_t samples[7] = {1, 0, 3, 1, 2, 0, 4};
            const unsigned depth = body[8], color_type = body[9];
            const unsigned count = color_type < 7 && samples[color_type] ? samples[color_type] : 1;
            const uint64_t row_bytes = (width * count * depth + 7) / 8;
            layout->raw_bytes = height * (1 + row_bytes);
        }
        if (memcmp(type, "IDAT", 4) == 0)
            layout->idat_bytes += length;
        if (memcmp(type, "IEND", 4) == 0)
            return 0;
        pos += (size_t)length + 12;
    }
}

/* Channels after the expansions img_png_decode asks for (and io_spng.c makes the same
 * way), known from the header alone so the size can be checked before any decoder
 * allocates row buffers. */
static int img_png_output_channels(int color_type, bool has_trns)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
        return has_trns ? 2 : 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        return 2;
    case PNG_COLOR_TYPE_PALETTE:
    case PNG_COLOR_TYPE_RGB:
        return has_trns ? 4 : 3;
    case PNG_COLOR_TYPE_RGB_ALPHA:
        return 4;
    default:
        return 0;
    }
}

int img_png_check_header(const char *name, uint32_t width, uint32_t height, int color_type,
                         bool has_trns, const img_png_layout *layout,
                         const img_read_options *options, int *channels, img_error *err)
{
    *channels = img_png_output_channels(color_type, has_trns);
    if (*channels == 0)
        return img_fail(err, "%s: PNG: unsupported colour type %d", name, color_type);
    if (img_io_check_size(name, width, height, *channels, options, err) != 0)
        return -1;
    /* The pixel limit alone would let a 100-byte file claim 2^28 pixels. */
    if (layout->raw_bytes >
        layout->idat_bytes * IMG_PNG_DEFLATE_MAX_RATIO + IMG_PNG_DEFLATE_SLACK)
        return img_fail(err, "%s: PNG: header claims %" PRIu32 "x%" PRIu32 " pixels, more "
                             "than its %" PRIu64 " bytes of image data can hold", name,
                        width, height, layout->idat_bytes);
    return 0;
}

static int img_png_decode(img_png_reader *r, const char *name, const img_png_layout *layout,
                          img_image *img, const img_read_options *options, img_error *err)
{
    if (setjmp(png_jmpbuf(r->png)))
        return img_fail(err, "%s: PNG: %s", name, r->io.message);

    png_read_info(r->png, r->info);
    png_uint_32 width, height;
    int bit_depth, color_type, interlace;
    png_get_IHDR(r->png, r->info, &width, &height, &bit_depth, &color_type, &interlace, NULL,
                 NULL);
    const bool has_trns = png_get_valid(r->png, r->info, PNG_INFO_tRNS) != 0;
    int channels;
    if (img_png_check_header(name, width, height, color_type, has_trns, layout, options,
                             &channels, err) != 0)
        return -1;

    /* Every conversion is exact integer arithmetic: no gamma or colour management, so
     * the same file decodes to the same bytes everywhere. */
    if (color_type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(r->png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8)
        png_set_expand_gray_1_2_4_to_8(r->png);
    if (has_trns)
        png_set_tRNS_to_alpha(r->png);
    if (bit_depth == 16)
        png_set_scale_16(r->png);   /* round(v * 255 / 65535), unlike png_set_strip_16 */
    const int passes = png_set_interlace_handling(r->png);
    png_read_update_info(r->png, r->info);

    const size_t row_bytes = (size_t)width * (size_t)channels;
    if (png_get_channels(r->png, r->info) != channels || png_get_bit_depth(r->png, r->info) != 8 ||
        png_get_rowbytes(r->png, r->info) != row_bytes)
        return img_fail(err, "%s: PNG: unexpected sample layout after conversion", name);
    if (img_io_alloc(name, img, (int)width, (int)height, channels, options, err) != 0)
        return -1;

    /* Adam7 passes revisit every row, so an interlaced image needs all rows at once;
     * otherwise one row at a time keeps the extra memory to a single row. */
    const size_t buffered_rows = passes > 1 ? height : 1;
    r->rows = malloc(row_bytes * buffered_rows);
    if (!r->rows)
        return img_fail(err, "%s: PNG: out of memory", name);
    if (passes > 1) {
        r->row_pointers = malloc(sizeof *r->row_pointers * height);
        if (!r->row_pointers)
            return img_fail(err, "%s: PNG: out of memory", name);
        for (png_uint_32 y = 0; y < height; y++)
            r->row_pointers[y] = r->rows + row_bytes * y;
        png_read_image(r->png, r->row_pointers);
        for (png_uint_32 y = 0; y < height; y++)
            img_deinterleave_row(img, (int)y, r->row_pointers[y]);
    } else {
        for (png_uint_32 y = 0; y < height; y++) {
            png_read_row(r->png, r->rows, NULL);
            img_deinterleave_row(img, (int)y, r->rows);
            img_io_rows_done(options, (int)y + 1);
        }
    }
    /* Reads up to IEND, so a file cut after the last row, or a bad CRC there, is still
     * an error rather than a silently accepted image. */
    png_read_end(r->png, NULL);
    return 0;
}

int img_png_read_memory(const char *name, const uint8_t *data, size_t size, img_image *img,
                        const img_read_options *options, img_error *err)
{
    img_png_reader r = {.io = {.data = data, .size = size}};
    img_png_layout layout;
    int rc = -1;
    if (img_png_walk_chunks(name, data, size, &layout, err) != 0)
        return -1;
    r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r.io, img_png_on_error,
                                   img_png_on_warning);
    if (!r.png)
        return img_fail(err, "%s: PNG: cannot initialise libpng", name);
    r.info = png_create_info_struct(r.png);
    if (!r.info) {
        img_fail(err, "%s: PNG: out of memory", name);
        goto fail;
    }
    png_set_read_fn(r.png, &r.io, img_png_read_data);
    png_set_user_limits(r.png, IMG_MAX_DIMENSION, IMG_MAX_DIMENSION);
    png_set_chunk_malloc_max(r.png, IMG_PNG_CHUNK_MALLOC_MAX);
    png_set_chunk_cache_max(r.png, IMG_PNG_CHUNK_CACHE_MAX);
    rc = img_png_decode(&r, name, &layout, img, options, err);

fail:
    png_destroy_read_struct(&r.png, r.info ? &r.info : NULL, NULL);
    free(r.row_pointers);
    free(r.rows);
    if (rc != 0)
        img_image_free(img);
    return rc;
}

/* Private interface between the I/O dispatcher (image_io.c) and the per-format codecs
 * (io_png.c, io_spng.c, io_jpeg.c, io_pnm.c), whose shared helpers live in io_common.c. Nothing
 * outside host/io/ includes it.
 *
 * Readers decode from memory: image_io.c has already read the whole file, checked the
 * signature and made options non-NULL. On failure a reader leaves *img empty.
 * Writers encode to an open stream: image_io.c has already checked that the format can
 * hold the image, and flushes, syncs and closes the stream itself afterwards. Every
 * message starts with the file name. */
#ifndef IMG_IO_IO_FORMATS_H
#define IMG_IO_IO_FORMATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "image.h"
#include "image_io.h"

#define IMG_PNG_SIGNATURE_SIZE 8

/* The two PNG decoders (options->png_decoder picks one): libpng (io_png.c, the default)
 * and libspng (io_spng.c). Both run the same checks first and give the same pixels. */
int img_png_read_memory(const char *name, const uint8_t *data, size_t size, img_image *img,
                        const img_read_options *options, img_error *err);
int img_spng_read_memory(const char *name, const uint8_t *data, size_t size, img_image *img,
                         const img_read_options *options, img_error *err);
int img_jpeg_read_memory(const char *name, const uint8_t *data, size_t size, img_image *img,
                         const img_read_options *options, img_error *err);
int img_pnm_read_memory(const char *name, const uint8_t *data, size_t size, img_image *img,
                        const img_read_options *options, img_error *err);

/* ---- What both PNG decoders check before their library sees the file (io_png.c) ---- */

/* What the chunk walk learns. */
typedef struct img_png_layout {
    uint64_t raw_bytes;    /* filtered, uncompressed image data the IHDR implies */
    uint64_t idat_bytes;   /* compressed image data the file holds */
} img_png_layout;

/* Every chunk up to IEND must lie inside the file (lengths are never believed beyond
 * it); fills *layout. */
int img_png_walk_chunks(const char *name, const uint8_t *data, size_t size,
                        img_png_layout *layout, img_error *err);

/* Once the header is read: a supported colour type, the size within the limits, and no
 * more pixels than deflate could have packed into the file's IDAT bytes. *channels is
 * the decoded image's: gray 1, gray+alpha 2, RGB or palette 3, RGBA 4, where a tRNS
 * chunk adds alpha to gray, RGB and palette images. */
int img_png_check_header(const char *name, uint32_t width, uint32_t height, int color_type,
                         bool has_trns, const img_png_layout *layout,
                         const img_read_options *options, int *channels, img_error *err);

/* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA, 8 bits per sample. */
int img_png_write_stream(const char *name, FILE *fp, const img_image *img,
                         const img_write_options *options, img_error *err);
/* 1 or 3 channels; options->jpeg_quality already validated (0 means the default). */
int img_jpeg_write_stream(const char *name, FILE *fp, const img_image *img,
                          const img_write_options *options, img_error *err);
/* P5 for 1 channel, P6 for 3 channels, maxval 255. */
int img_pnm_write_stream(const char *name, FILE *fp, const img_image *img,
                         const img_write_options *options, img_error *err);

/* img_check_size with the file name in front of its message. */
int img_io_check_size(const char *name, int64_t width, int64_t height, int channels,
                      const img_read_options *options, img_error *err);
/* img_image_alloc with the file name in front of its message; then options->sink, if
 * any, takes the image's memory. */
int img_io_alloc(const char *name, img_image *img, int width, int height, int channels,
                 const img_read_options *options, img_error *err);

/* Tells options->sink, if any, that rows [0, rows) are decoded. img_io_alloc hands the
 * image to the sink (image_io.h, img_row_sink). */
void img_io_rows_done(const img_read_options *options, int rows);

/* Runs encode(fp, ctx) into a growing memory buffer and hands it to the caller on
 * success (*data, *size; free() it); on failure nothing is returned. */
typedef int img_io_encode_fn(FILE *fp, void *ctx, img_error *err);
int img_io_encode_to_memory(const char *name, img_io_encode_fn *encode, void *ctx,
                            uint8_t **data, size_t *size, img_error *err);

/* Formats a write failure from an errno value: "<file>: write failed: <strerror>". */
int img_io_write_failed(const char *name, int errnum, img_error *err);

/* Row y of the image to and from one interleaved row of width * channels bytes
 * (R G B A R G B A ...): the only place that knows the planar layout. */
void img_deinterleave_row(img_image *img, int y, const uint8_t *src);
void img_interleave_row(const img_image *img, int y, uint8_t *dst);

#endif

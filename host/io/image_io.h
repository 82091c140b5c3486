/* Reading and writing image files.
 *
 * Reading picks the format by the file's signature (PNG, JPEG, PNM P5/P6), never by
 * its name. Writing picks it by the output's extension (.png, .jpg/.jpeg, .ppm/.pgm)
 * and is atomic: the data goes to a temporary file in the target directory which is
 * renamed over the target only after every write, flush and close succeeded, so a
 * failure leaves no file behind and any existing file untouched.
 *
 * Every error message names the file and the problem on one line. */
#ifndef IMG_IO_IMAGE_IO_H
#define IMG_IO_IMAGE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "image.h"

typedef enum img_format {
    IMG_FORMAT_UNKNOWN,
    IMG_FORMAT_PNG,
    IMG_FORMAT_JPEG,
    IMG_FORMAT_PNM,
} img_format;

/* Which library decodes PNG files. Both run the same checks first and give the same
 * pixels wherever both accept a file (tests/test_png_decoders.c); they differ in speed,
 * in error wording, and in one leniency: libspng does not read a zlib stream past the
 * last row, so a bad Adler-32 there (under a correct chunk CRC) passes. */
typedef enum img_png_decoder {
    IMG_PNG_DECODER_DEFAULT,   /* the faster one as measured: libpng (README: decode times) */
    IMG_PNG_DECODER_LIBPNG,
    IMG_PNG_DECODER_LIBSPNG,
} img_png_decoder;

/* Rows as they are decoded, for a caller that overlaps its own work with the decode
 * (the streamed `imgpipe run`), the decode running on a thread of the caller's. */
typedef struct img_row_sink {
    void *ctx;
    /* The image is allocated (size and channels known, every header check passed, no
     * row decoded yet). The sink takes its memory: it must copy *img and set
     * img->storage to NULL; the decoder keeps writing rows into it but never frees it,
     * also when the decode fails later, so the caller may still be reading rows. */
    void (*started)(void *ctx, img_image *img);
    /* Rows [0, rows) are decoded and final; rows only grows. Non-interlaced PNG through
     * libpng and JPEG report row by row; the other decoders (libspng, interlaced PNG,
     * PNM) report every row at once when they are done. The decode's verdict is the
     * reader's return value, not rows reaching the height (a bad trailer fails after
     * the last row). */
    void (*rows)(void *ctx, int rows);
} img_row_sink;

typedef struct img_read_options {
    uint64_t max_pixels;   /* width * height limit checked before allocating; 0 = default */
    img_png_decoder png_decoder;
    const img_row_sink *sink;   /* NULL: the image is returned whole, owning its memory */
} img_read_options;

/* "libpng" or "libspng" (DEFAULT names the decoder it stands for). */
const char *img_png_decoder_name(img_png_decoder decoder);

/* The decoder called name ("libspng", "libpng"); -1 for any other name. */
int img_png_decoder_from_name(const char *name, img_png_decoder *decoder);

/* Zero-initialised, every field means its default. */
typedef struct img_write_options {
    int jpeg_quality;      /* 1..100; 0 = 90 */
    /* PNG compression, 0 (stored, fastest) to 9 (smallest, slowest), used when
     * png_level_set; otherwise the default level, the fastest measured that writes files
     * no larger than libvips's (png_encode.h, README "PNG encoding"). */
    int png_level;
    bool png_level_set;
    /* Threads encoding one PNG; 0 or 1 = the calling thread only. The bytes written
     * never depend on it. */
    int threads;
} img_write_options;

/* Format by extension (case-insensitive); IMG_FORMAT_UNKNOWN when none matches. */
img_format img_format_from_path(const char *path);

/* Decodes the file into a freshly allocated planar image (*img must not own memory).
 * With options->sink the memory is the sink's and *img a view of it (img_row_sink). */
int img_read_file(const char *path, img_image *img, const img_read_options *options,
                  img_error *err);

/* Decodes from memory (the fuzzers and tests use this); name appears in messages. */
int img_read_memory(const char *name, const uint8_t *data, size_t size, img_image *img,
                    const img_read_options *options, img_error *err);

/* Checks, without creating anything, that an image of width x height x channels could
 * be written to path: a known extension that can hold it, not a folder, and a folder
 * that exists and can take a new file. channels == 0 checks only what the path alone
 * decides, for use before the image is known. */
int img_check_output(const char *path, int width, int height, int channels,
                     const img_write_options *options, img_error *err);

/* Encodes img atomically to path in the format its extension names: img_write_memory
 * then img_write_encoded. */
int img_write_file(const char *path, const img_image *img, const img_write_options *options,
                   img_error *err);

/* Encodes img into a malloc'ed buffer (*data, *size; free() it) in the format name's
 * extension names; nothing touches the file system. For callers that time encoding
 * and writing apart, or keep the file in memory (bench's whole-job rows). */
int img_write_memory(const char *name, const img_image *img, const img_write_options *options,
                     uint8_t **data, size_t *size, img_error *err);

/* Encoding that keeps pace with rows as they are produced (the streamed `imgpipe run`):
 * img_row_writer_rows says rows [0, rows) of img are final, and a PNG encodes every
 * band of rows they complete, on the calling thread; img_row_writer_finish encodes the
 * rest and returns exactly the bytes img_write_memory would (same bands, same
 * filters, same deflate). JPEG and PNM encode everything in finish. img must stay
 * allocated until finish; its rows may be written until they are announced. */
typedef struct img_row_writer img_row_writer;
int img_row_writer_begin(const char *name, const img_image *img,
                         const img_write_options *options, img_row_writer **out,
                         img_error *err);
void img_row_writer_rows(img_row_writer *writer, int rows);
int img_row_writer_finish(img_row_writer *writer, uint8_t **data, size_t *size, img_error *err);
void img_row_writer_free(img_row_writer *writer);

/* Writes already-encoded bytes to path with img_write_file's policy: atomically (a
 * temporary beside it, fsync, rename, the old file's mode kept), or straight into it
 * when path is a device or FIFO. */
int img_write_encoded(const char *path, const uint8_t *data, size_t size, img_error *err);

#endif

/* imgpipe's own PNG encoder: the write side of .png files.
 *
 * The image is cut into bands of rows. Each band is filtered on a worker thread (its
 * first row's filter reads the previous band's last row, which is input, so bands are
 * independent), then deflated on a worker thread as raw deflate primed with the last
 * 32 KiB of the filtered data before it, ending on a byte boundary (Z_SYNC_FLUSH; the
 * last band Z_FINISH). One zlib header, the bands in order and the Adler-32 of the
 * whole filtered data (combined from the bands' with adler32_combine) make one
 * ordinary zlib stream that any decoder reads: pigz's method, inside IDAT chunks.
 *
 * The bands, not the threads, define the bytes: the same image and encoding give the
 * same file whatever the thread count. libdeflate compresses whole buffers only, so with
 * it the filtering is still banded but the deflate is one call.
 *
 * image_io.c reaches this through img_png_write_stream (io_formats.h); the tests and
 * `imgpipe codecs` call it directly to try encodings one by one. */
#ifndef IMG_IO_PNG_ENCODE_H
#define IMG_IO_PNG_ENCODE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "image.h"

/* The row filters of the PNG specification, and ADAPTIVE: per row the filter whose
 * output has the smallest sum of absolute values as signed bytes (libpng's heuristic). */
typedef enum img_png_filter {
    IMG_PNG_FILTER_NONE = 0,
    IMG_PNG_FILTER_SUB = 1,
    IMG_PNG_FILTER_UP = 2,
    IMG_PNG_FILTER_AVERAGE = 3,
    IMG_PNG_FILTER_PAETH = 4,
    IMG_PNG_FILTER_ADAPTIVE = 5,
} img_png_filter;

typedef enum img_png_deflater {
    IMG_PNG_DEFLATE_ZLIB,         /* banded, parallel, levels 0..9, strategies */
    IMG_PNG_DEFLATE_LIBDEFLATE,   /* one call on the whole data, levels 0..12 */
} img_png_deflater;

typedef enum img_png_strategy {
    IMG_PNG_STRATEGY_DEFAULT,     /* zlib's Z_DEFAULT_STRATEGY */
    IMG_PNG_STRATEGY_FILTERED,    /* Z_FILTERED */
    IMG_PNG_STRATEGY_RLE,         /* Z_RLE */
} img_png_strategy;

typedef struct img_png_encoding {
    img_png_deflater deflater;
    int level;                    /* zlib 0..9, libdeflate 0..12 */
    img_png_strategy strategy;    /* zlib only */
    img_png_filter filter;
    int bands;                    /* 0 = from the image size alone (about 512 KiB of
                                     filtered data each); more bands than rows is fine */
    int threads;                  /* workers, 0 or 1 = none; never changes the bytes */
} img_png_encoding;

/* --png-level's range (img_write_options.png_level, image_io.h). */
#define IMG_PNG_LEVEL_MIN 0
#define IMG_PNG_LEVEL_MAX 9
/* The level used when none is asked for: the fastest measured that writes files no
 * larger than libvips's (README, "PNG encoding"). */
#define IMG_PNG_DEFAULT_LEVEL 1

/* The encoding level `level` (IMG_PNG_LEVEL_MIN..MAX) names, with `threads` workers.
 * Returns -1 for a level out of range. */
int img_png_encoding_for_level(int level, int threads, img_png_encoding *out);

/* The encoding img_write_options ask for: --png-level or the default, their threads;
 * fails (name in the message) for a level out of range. */
struct img_write_options;
int img_png_encoding_for_options(const char *name, const struct img_write_options *options,
                                 img_png_encoding *enc, img_error *err);

/* IMG_PNG_DEFAULT_LEVEL, for code that links rather than compiles against it. */
int img_png_default_level(void);

/* "zlib-6 filter=adaptive strategy=default bands=auto": for tables and messages. */
void img_png_encoding_describe(const img_png_encoding *enc, char *buf, size_t len);

/* Encodes img (1 to 4 channels, 8 bits) as a PNG into fp. name prefixes messages. */
int img_png_encode_stream(const char *name, FILE *fp, const img_image *img,
                          const img_png_encoding *enc, img_error *err);

/* The same into a malloc'ed buffer (free() it). */
int img_png_encode_memory(const char *name, const img_image *img, const img_png_encoding *enc,
                          uint8_t **data, size_t *size, img_error *err);

/* The same bytes as img_png_encode_stream, encoded as the rows become final: begin
 * with an image whose rows may still be being written; img_png_stream_rows(s, rows)
 * says rows [0, rows) are final and filters and deflates, on the calling thread, every
 * band they complete (in order); finish does the remaining bands, on enc->threads
 * workers, and writes the file. */
typedef struct img_png_stream img_png_stream;
int img_png_stream_begin(const char *name, const img_image *img, const img_png_encoding *enc,
                         img_png_stream **out, img_error *err);
void img_png_stream_rows(img_png_stream *s, int rows);
int img_png_stream_finish(img_png_stream *s, const char *name, FILE *fp, img_error *err);
void img_png_stream_free(img_png_stream *s);

/* libpng's own encoder with its defaults (adaptive filters, zlib level 6, one thread):
 * the baseline `imgpipe codecs` measures against (png_write_libpng.c). */
int img_png_encode_libpng(const char *name, FILE *fp, const img_image *img, img_error *err);

#endif

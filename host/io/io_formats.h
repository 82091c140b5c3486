/* Private interface between the I/O dispatcher (image_io.c) and the per-format codecs
 * (io_png.c, io_jpeg.c, io_pnm.c), whose shared helpers live in io_common.c. Nothing
 * outside host/io/ includes it.
 *
 * Readers decode from memory: image_io.c has already read the whole file, checked the
 * signature and made options non-NULL. On failure a reader leaves *img empty.
 * Writers encode to an open stream: image_io.c has already checked that the format can
 * hold the image, and flushes, syncs and closes the stream itself afterwards. Every
 * message starts with the file name. */
#ifndef IMG_IO_IO_FORMATS_H
#define IMG_IO_IO_FORMATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "image.h"
#include "image_io.h"

#define IMG_PNG_SIGNATURE_SIZE 8

int img_png_read_memory(const char *name, const uint8_t *data, size_t size, img_image *img,
                        const img_read_options *options, img_error *err);
int img_jpeg_read_memory(const char *name, const uint8_t *data, size_t size, img_image *img,
                         const img_read_options *options, img_error *err);
int img_pnm_read_memory(const char *name, const uint8_t *data, size_t size, img_image *img,
                        const img_read_options *options, img_error *err);

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
/* img_image_alloc with the file name in front of its message. */
int img_io_alloc(const char *name, img_image *img, int width, int height, int channels,
                 const img_read_options *options, img_error *err);

/* Formats a write failure from an errno value: "<file>: write failed: <strerror>". */
int img_io_write_failed(const char *name, int errnum, img_error *err);

/* Row y of the image to and from one interleaved row of width * channels bytes
 * (R G B A R G B A ...): the only place that knows the planar layout. */
void img_deinterleave_row(img_image *img, int y, const uint8_t *src);
void img_interleave_row(const img_image *img, int y, uint8_t *dst);

#endif

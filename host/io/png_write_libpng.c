/* libpng's own PNG encoder with its defaults (adaptive filters, zlib level 6, one
 * thread): no longer how imgpipe writes PNG files (png_encode.c is), kept as the
 * baseline `imgpipe codecs` measures the encoder against.
 *
 * libpng reports errors by longjmp: all state lives behind a pointer the caller owns,
 * so nothing the longjmp could leave indeterminate is a local, and the caller releases
 * everything on one path whichever way the encode ended. */
#include <errno.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "io_formats.h"
#include "png_encode.h"

typedef struct libpng_writer {
    png_structp png;
    png_infop info;
    FILE *fp;
    int write_errno;       /* non-zero when the last error was a failed fwrite */
    char message[256];     /* libpng's error text */
    uint8_t *row;
} libpng_writer;

static void on_error(png_structp png, png_const_charp message)
{
    libpng_writer *w = png_get_error_ptr(png);
    snprintf(w->message, sizeof w->message, "%s", message);
    png_longjmp(png, 1);
}

/* Nothing below the CLI may print. */
static void on_warning(png_structp png, png_const_charp message)
{
    (void)png;
    (void)message;
}

static void write_data(png_structp png, png_bytep data, size_t length)
{
    libpng_writer *w = png_get_io_ptr(png);
    errno = 0;
    if (fwrite(data, 1, length, w->fp) != length) {
        w->write_errno = errno != 0 ? errno : EIO;
        png_error(png, "write failed");
    }
}

/* The caller flushes and syncs once at the end. */
static void flush_data(png_structp png)
{
    (void)png;
}

static int encode(libpng_writer *w, const char *name, const img_image *img, img_error *err)
{
    if (setjmp(png_jmpbuf(w->png))) {
        if (w->write_errno != 0)
            return img_io_write_failed(name, w->write_errno, err);
        return img_fail(err, "%s: PNG: %s", name, w->message);
    }
    static const int color_types[IMG_MAX_CHANNELS + 1] = {
        0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
        PNG_COLOR_TYPE_RGB_ALPHA,
    };
    png_set_write_fn(w->png, w, write_data, flush_data);
    png_set_IHDR(w->png, w->info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 color_types[img->channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(w->png, w->info);
    w->row = malloc((size_t)img->width * (size_t)img->channels);
    if (!w->row)
        return img_fail(err, "%s: PNG: out of memory", name);
    for (int y = 0; y < img->height; y++) {
        img_interleave_row(img, y, w->row);
        png_write_row(w->png, w->row);
    }
    png_write_end(w->png, NULL);
    return 0;
}

int img_png_encode_libpng(const char *name, FILE *fp, const img_image *img, img_error *err)
{
    libpng_writer w = {.fp = fp};
    int rc = -1;
    w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, on_error, on_warning);
    if (!w.png)
        return img_fail(err, "%s: PNG: cannot initialise libpng", name);
    w.info = png_create_info_struct(w.png);
    if (!w.info) {
        img_fail(err, "%s: PNG: out of memory", name);
        goto fail;
    }
    rc = encode(&w, name, img, err);

fail:
    png_destroy_write_struct(&w.png, w.info ? &w.info : NULL);
    free(w.row);
    return rc;
}

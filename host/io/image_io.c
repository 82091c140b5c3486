/* Image file I/O: format dispatch, and the image side of reading and writing files (the
 * codecs' shared helpers are in io_common.c, so the codecs never call back into this
 * file).
 *
 * The codecs (io_png.c, io_jpeg.c, io_pnm.c) never touch the file system: readers get
 * the whole file in memory, writers get an open stream. The file handling itself is
 * core's whole-file reader and atomic writer (fsutil.h), shared with every other file
 * imgpipe writes; only writing into a device or FIFO is particular to images. */
#include "image_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "fsutil.h"
#include "io_formats.h"
#include "png_encode.h"
#include "pool.h"

/* Larger inputs are refused before reading: no image we accept (2^28 pixels by
 * default) needs a bigger file, and it bounds the memory a hostile path can cost. */
#define IMG_MAX_FILE_SIZE (INT64_C(1) << 30)

/* JPEG's frame header stores each dimension in 16 bits and libjpeg caps it lower. */
#define IMG_JPEG_MAX_DIMENSION 65500

#define IMG_FORMAT_HINT "use .png, .jpg, .jpeg, .ppm or .pgm"

typedef int img_writer_fn(const char *name, FILE *fp, const img_image *img,
                          const img_write_options *options, img_error *err);

/* ---- format selection ---- */

/* The ".ext" part of the last path component, or NULL when it has none. */
static const char *img_path_extension(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return strrchr(base, '.');
}

img_format img_format_from_path(const char *path)
{
    const char *ext = img_path_extension(path);
    if (!ext)
        return IMG_FORMAT_UNKNOWN;
    if (strcasecmp(ext, ".png") == 0)
        return IMG_FORMAT_PNG;
    if (strcasecmp(ext, ".jpg") == 0 || strcasecmp(ext, ".jpeg") == 0)
        return IMG_FORMAT_JPEG;
    if (strcasecmp(ext, ".ppm") == 0 || strcasecmp(ext, ".pgm") == 0)
        return IMG_FORMAT_PNM;
    return IMG_FORMAT_UNKNOWN;
}

static const char *img_alpha_hint(int channels)
{
    return (channels == 2 || channels == 4) ? " (use .png to keep the alpha channel)" : "";
}

/* Everything that can be known to fail before touching the file system is checked
 * here, so a doomed write never creates (or truncates) anything. channels == 0 means
 * the image is not known yet: only the name is checked. */
static int img_pick_writer(const char *path, int width, int height, int channels,
                           const img_write_options *options, img_writer_fn **writer,
                           img_error *err)
{
    img_error inner;
    if (path[0] == '\0')
        return img_fail(err, "the output path is empty (" IMG_FORMAT_HINT ")");
    if (channels != 0 && img_check_size(width, height, channels, UINT64_MAX, &inner) != 0)
        return img_fail(err, "%s: cannot write: %s", path, inner.message);
    const char *ext = img_path_extension(path);
    switch (img_format_from_path(path)) {
    case IMG_FORMAT_PNG:
        if (options->png_level_set &&
            (options->png_level < IMG_PNG_LEVEL_MIN || options->png_level > IMG_PNG_LEVEL_MAX))
            return img_fail(err, "%s: PNG level %d is out of range (%d to %d)", path,
                            options->png_level, IMG_PNG_LEVEL_MIN, IMG_PNG_LEVEL_MAX);
        if (options->threads < 0 || options->threads > IMG_POOL_MAX_THREADS)
            return img_fail(err, "%s: %d encoding threads is out of range (0 to %d)", path,
                            options->threads, IMG_POOL_MAX_THREADS);
        *writer = img_png_write_stream;
        return 0;
    case IMG_FORMAT_JPEG:
        if (channels == 2 || channels == 4)
            return img_fail(err, "%s: JPEG cannot store an alpha channel; use .png", path);
        if (width > IMG_JPEG_MAX_DIMENSION || height > IMG_JPEG_MAX_DIMENSION)
            return img_fail(err, "%s: JPEG cannot store images over %d pixels per side; use .png",
                            path, IMG_JPEG_MAX_DIMENSION);
        if (options->jpeg_quality < 0 || options->jpeg_quality > 100)
            return img_fail(err, "%s: JPEG quality %d is out of range (1 to 100)", path,
                            options->jpeg_quality);
        *writer = img_jpeg_write_stream;
        return 0;
    case IMG_FORMAT_PNM:
        if (channels != 0 && strcasecmp(ext, ".pgm") == 0 && channels != 1)
            return img_fail(err, "%s: .pgm holds gray images only; this image has %d channels%s",
                            path, channels, channels == 3 ? " (use .ppm for RGB)"
                                                          : img_alpha_hint(channels));
        if (channels != 0 && strcasecmp(ext, ".ppm") == 0 && channels != 3)
            return img_fail(err, "%s: .ppm holds RGB images only; this image has %d channel%s%s",
                            path, channels, channels == 1 ? "" : "s",
                            channels == 1 ? " (use .pgm for gray)" : img_alpha_hint(channels));
        *writer = img_pnm_write_stream;
        return 0;
    case IMG_FORMAT_UNKNOWN:
        break;
    }
    if (!ext)
        return img_fail(err, "%s: unknown output format: no extension (" IMG_FORMAT_HINT ")",
                        path);
    return img_fail(err, "%s: unknown output format '%s' (" IMG_FORMAT_HINT ")", path, ext);
}

/* ---- reading ---- */

const char *img_png_decoder_name(img_png_decoder decoder)
{
    return decoder == IMG_PNG_DECODER_LIBSPNG ? "libspng" : "libpng";
}

int img_png_decoder_from_name(const char *name, img_png_decoder *decoder)
{
    if (strcmp(name, "libspng") == 0)
        *decoder = IMG_PNG_DECODER_LIBSPNG;
    else if (strcmp(name, "libpng") == 0)
        *decoder = IMG_PNG_DECODER_LIBPNG;
    else
        return -1;
    return 0;
}

int img_read_memory(const char *name, const uint8_t *data, size_t size, img_image *img,
                    const img_read_options *options, img_error *err)
{
    static const uint8_t png_signature[IMG_PNG_SIGNATURE_SIZE] = {137, 80, 78, 71, 13, 10, 26, 10};
    const img_read_options defaults = {0};
    if (!options)
        options = &defaults;
    memset(img, 0, sizeof *img);
    if (size == 0)
        return img_fail(err, "%s: file is empty", name);

    int rc;
    if (size >= sizeof png_signature && memcmp(data, png_signature, sizeof png_signature) == 0)
        rc = options->png_decoder == IMG_PNG_DECODER_LIBSPNG
                 ? img_spng_read_memory(name, data, size, img, options, err)
                 : img_png_read_memory(name, data, size, img, options, err);
    else if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        rc = img_jpeg_read_memory(name, data, size, img, options, err);
    else if (size >= 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '6'))
        rc = img_pnm_read_memory(name, data, size, img, options, err);
    else
        rc = img_fail(err, "%s: unrecognised image format", name);
    if (rc != 0)
        img_image_free(img);   /* the codecs already do; this keeps the promise local */
    else
        img_io_rows_done(options, img->height);   /* decoders that report only at the end */
    return rc;
}

int img_read_file(const char *path, img_image *img, const img_read_options *options,
                  img_error *err)
{
    memset(img, 0, sizeof *img);
    if (path[0] == '\0')
        return img_fail(err, "the input path is empty");
    uint8_t *data = NULL;
    size_t size = 0;
    if (img_read_whole_file(path, (size_t)IMG_MAX_FILE_SIZE, &data, &size, err) != 0)
        return -1;
    int rc = img_read_memory(path, data, size, img, options, err);
    free(data);
    return rc;
}

/* ---- writing ---- */

/* The target exists and is a device, FIFO or socket (/dev/stdout, /dev/full, a pipe):
 * it cannot be replaced by renaming a temporary file over it (the temporary would have
 * to live in /dev, and replacing the node is not what anyone means), so the data goes
 * straight into it. Without O_CREAT nothing new appears if it vanished meanwhile, and
 * without O_TRUNC nothing is destroyed for a device. Every write and the close are
 * still checked, so /dev/full reports "No space left on device". */
static int img_write_direct(const char *path, const uint8_t *data, size_t size, img_error *err)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return img_fail(err, "%s: cannot open output: %s", path, strerror(errno));
    int rc = 0;
    while (size > 0 && rc == 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = img_io_write_failed(path, n < 0 ? errno : ENOSPC, err);
        else {
            data += n;
            size -= (size_t)n;
        }
    }
    if (close(fd) != 0 && rc == 0)
        rc = img_io_write_failed(path, errno, err);
    return rc;
}

/* What an encoder writes into memory: one call of a writer, or a row writer's rest. */
typedef struct img_memory_encode {
    img_writer_fn *writer;            /* a whole image at once, or */
    img_png_stream *png;              /* the remaining bands of a streamed PNG */
    const img_image *img;
    const img_write_options *options;
} img_memory_encode;

typedef struct img_memory_encode_call {
    const char *name;
    const img_memory_encode *e;
} img_memory_encode_call;

static int img_memory_encode_run(FILE *fp, void *ctx, img_error *err)
{
    const img_memory_encode_call *c = ctx;
    const img_memory_encode *e = c->e;
    return e->png ? img_png_stream_finish(e->png, c->name, fp, err)
                  : e->writer(c->name, fp, e->img, e->options, err);
}

/* Runs the encoder into a memory buffer, handed to the caller on success. */
static int img_encode_to_memory(const char *name, const img_memory_encode *e, uint8_t **data,
                                size_t *size, img_error *err)
{
    img_memory_encode_call call = {name, e};
    return img_io_encode_to_memory(name, img_memory_encode_run, &call, data, size, err);
}

/* The checks img_write_memory makes before encoding; picks the writer. */
static int img_prepare_write(const char *name, const img_image *img,
                             const img_write_options *options, img_writer_fn **writer,
                             img_error *err)
{
    img_error inner;
    if (!img || img_check_size(img->width, img->height, img->channels, UINT64_MAX, &inner) != 0)
        return img_fail(err, "%s: cannot write: %s", name, img ? inner.message : "no image");
    return img_pick_writer(name, img->width, img->height, img->channels, options, writer, err);
}

int img_write_memory(const char *name, const img_image *img, const img_write_options *options,
                     uint8_t **data, size_t *size, img_error *err)
{
    const img_write_options defaults = {0};
    if (!options)
        options = &defaults;
    *data = NULL;
    *size = 0;
    img_writer_fn *writer = NULL;
    if (img_prepare_write(name, img, options, &writer, err) != 0)
        return -1;
    return img_encode_to_memory(
        name, &(img_memory_encode){.writer = writer, .img = img, .options = options}, data,
        size, err);
}

/* ---- writing as rows arrive ---- */

struct img_row_writer {
    const char *name;
    const img_image *img;
    img_write_options options;
    img_writer_fn *writer;
    img_png_stream *png;   /* PNG: the bands encoded so far; NULL for other formats */
};

int img_row_writer_begin(const char *name, const img_image *img,
                         const img_write_options *options, img_row_writer **out,
                         img_error *err)
{
    const img_write_options defaults = {0};
    if (!options)
        options = &defaults;
    *out = NULL;
    img_row_writer *w = calloc(1, sizeof *w);
    if (!w)
        return img_fail(err, "%s: out of memory", name);
    *w = (img_row_writer){.name = name, .img = img, .options = *options};
    if (img_prepare_write(name, img, options, &w->writer, err) != 0)
        goto fail;
    if (w->writer == img_png_write_stream) {
        img_png_encoding enc;
        if (img_png_encoding_for_options(name, options, &enc, err) != 0 ||
            img_png_stream_begin(name, img, &enc, &w->png, err) != 0)
            goto fail;
    }
    *out = w;
    return 0;
fail:
    img_row_writer_free(w);
    return -1;
}

void img_row_writer_rows(img_row_writer *writer, int rows)
{
    if (writer->png)
        img_png_stream_rows(writer->png, rows);
}

int img_row_writer_finish(img_row_writer *w, uint8_t **data, size_t *size, img_error *err)
{
    return img_encode_to_memory(w->name,
                                &(img_memory_encode){.writer = w->writer, .png = w->png,
                                                     .img = w->img, .options = &w->options},
                                data, size, err);
}

void img_row_writer_free(img_row_writer *writer)
{
    if (!writer)
        return;
    img_png_stream_free(writer->png);
    free(writer);
}

int img_write_encoded(const char *path, const uint8_t *data, size_t size, img_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return img_fail(err, "%s: is a directory", path);
        if (!S_ISREG(st.st_mode))
            return img_write_direct(path, data, size, err);
    }
    /* The one atomic writer (fsutil.h) also follows a symlink to the file it names. */
    return img_write_file_atomic(path, data, size, err);
}

int img_write_file(const char *path, const img_image *img, const img_write_options *options,
                   img_error *err)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (img_write_memory(path, img, options, &data, &size, err) != 0)
        return -1;
    int rc = img_write_encoded(path, data, size, err);
    free(data);
    return rc;
}

int img_check_output(const char *path, int width, int height, int channels,
                     const img_write_options *options, img_error *err)
{
    const img_write_options defaults = {0};
    img_writer_fn *writer = NULL;
    if (img_pick_writer(path, width, height, channels, options ? options : &defaults, &writer,
                        err) != 0)
        return -1;
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return img_fail(err, "%s: is a directory", path);
        if (!S_ISREG(st.st_mode))
            return 0;   /* a device or FIFO is written in place (img_write_direct) */
    }
    /* The temporary file is created beside the target, so the folder must take one. */
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return img_fail(err, "%s: out of memory", path);
    int rc = 0;
    if (stat(dir, &st) != 0)
        rc = img_fail(err, "%s: output folder %s: %s", path, dir, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        rc = img_fail(err, "%s: output folder %s is not a folder", path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        rc = img_fail(err, "%s: cannot write into %s: %s", path, dir, strerror(errno));
    free(dir);
    return rc;
}

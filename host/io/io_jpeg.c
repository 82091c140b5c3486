/* JPEG reading and writing through libjpeg(-turbo).
 *
 * libjpeg reports fatal errors through error_exit, which must not return; ours
 * longjmps back to the function that called setjmp. As in io_png.c, that function keeps
 * its state behind a pointer owned by its caller, which destroys the libjpeg object on
 * every path.
 *
 * libjpeg treats damaged data as a warning and fills what it could not decode with
 * grey; an image that is partly invented is an error here, so warnings are counted
 * and turn the decode into a failure.
 *
 * A few bytes of header can claim an image of gigabytes, and libjpeg reports a lying
 * segment length only as a vague "bogus marker length" or a premature end. So before
 * libjpeg sees the data a pre-scan checks the header segments, and after the header
 * the claimed size is held against what the file could possibly encode. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "io_formats.h"

/* A progressive file may hold any number of scans, each a full pass over the
 * coefficients: thousands of tiny scans make a small file cost minutes. Real encoders
 * use about ten. */
#define IMG_JPEG_MAX_SCANS 1000
#define IMG_JPEG_DEFAULT_QUALITY 90
#define IMG_JPEG_OUTPUT_BUFFER 16384
/* Rows asked of libjpeg per call: one iMCU row of 4:2:0 data, which it decodes in one go
 * anyway; fewer calls, and the rows stay in cache until they are deinterleaved. */
#define IMG_JPEG_BATCH_ROWS 16

/* libjpeg's own allocations beyond the coefficient buffer (row and upsampling buffers,
 * tables) stay well below this even at 65500 pixels per side. */
#define IMG_JPEG_MEMORY_BASE (UINT64_C(32) << 20)
/* A progressive or multi-scan file keeps every coefficient: 64 * 2 bytes per block,
 * at most 8 blocks per file byte once the block bound has passed. */
#define IMG_JPEG_MEMORY_PER_FILE_BYTE UINT64_C(1024)

#define IMG_JPEG_SOS 0xDA

typedef struct img_jpeg_error {
    struct jpeg_error_mgr pub;   /* first: libjpeg hands back cinfo->err */
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    char warning[JMSG_LENGTH_MAX];   /* the first warning, which explains the damage */
    int code;                        /* libjpeg's message code for the fatal error */
} img_jpeg_error;

typedef struct img_jpeg_reader {
    struct jpeg_decompress_struct cinfo;
    img_jpeg_error jerr;
    struct jpeg_progress_mgr progress;
    uint8_t *row;
} img_jpeg_reader;

typedef struct img_jpeg_destination {
    struct jpeg_destination_mgr pub;   /* first: libjpeg hands back cinfo->dest */
    FILE *fp;
    int write_errno;
    JOCTET buffer[IMG_JPEG_OUTPUT_BUFFER];
} img_jpeg_destination;

typedef struct img_jpeg_writer {
    struct jpeg_compress_struct cinfo;
    img_jpeg_error jerr;
    img_jpeg_destination dest;
    uint8_t *row;
} img_jpeg_writer;

static void img_jpeg_error_exit(j_common_ptr cinfo)
{
    img_jpeg_error *e = (img_jpeg_error *)cinfo->err;
    e->pub.format_message(cinfo, e->message);
    e->code = e->pub.msg_code;
    longjmp(e->jump, 1);
}

/* Nothing below the CLI prints: trace messages are dropped and warnings only counted
 * (the decoder fails on them once it is done). */
static void img_jpeg_emit_message(j_common_ptr cinfo, int level)
{
    img_jpeg_error *e = (img_jpeg_error *)cinfo->err;
    if (level >= 0)
        return;
    if (e->pub.num_warnings == 0)
        e->pub.format_message(cinfo, e->warning);
    e->pub.num_warnings++;
}

static void img_jpeg_progress(j_common_ptr cinfo)
{
    if (!cinfo->is_decompressor)
        return;
    if (((j_decompress_ptr)cinfo)->input_scan_number > IMG_JPEG_MAX_SCANS) {
        img_jpeg_error *e = (img_jpeg_error *)cinfo->err;
        snprintf(e->message, sizeof e->message, "too many scans (more than %d)",
                 IMG_JPEG_MAX_SCANS);
        e->code = JMSG_NOMESSAGE;
        longjmp(e->jump, 1);
    }
}

static void img_jpeg_init_error(img_jpeg_error *e)
{
    jpeg_std_error(&e->pub);
    e->pub.error_exit = img_jpeg_error_exit;
    e->pub.emit_message = img_jpeg_emit_message;
}

static bool img_jpeg_is_sof(unsigned marker)
{
    /* C4 (DHT), C8 (JPG) and CC (DAC) share the range but are no frame headers. */
    return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
           marker != 0xCC;
}

/* The header segments from SOI to the first SOS, walked the way libjpeg's next_marker()
 * walks them (skipping stray bytes, fill bytes and stuffed zeros) so that both see the
 * same markers. Only what libjpeg reports badly is checked here; anything else it
 * reports itself. image_io.c has checked that the data starts with FF D8 FF. */
static int img_jpeg_prescan(const char *name, const uint8_t *data, size_t size,
                            img_error *err)
{
    size_t pos = 2;
    for (;;) {
        while (pos < size && data[pos] != 0xFF)
            pos++;
        while (pos < size && data[pos] == 0xFF)
            pos++;
        if (pos >= size)
            return img_fail(err, "%s: JPEG: file is truncated before the image data", name);
        const unsigned marker = data[pos++];
        if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
            continue;   /* stuffed zero, TEM and RSTn carry no length */
        if (marker == 0xD8 || marker == 0xD9)
            return 0;   /* a second SOI or an early EOI: libjpeg names both */
        const size_t remain = size - pos;
        if (remain < 2)
            return img_fail(err, "%s: JPEG: file is truncated: marker 0xFF%02X ends inside its "
                            "length", name, marker);
        const size_t length = (size_t)data[pos] << 8 | data[pos + 1];
        if (length < 2)
            return img_fail(err, "%s: JPEG: marker 0xFF%02X has a segment length of %zu (at "
                            "least 2)", name, marker, length);
        if (length > remain)
            return img_fail(err, "%s: JPEG: file is truncated: marker 0xFF%02X segment claims "
                            "%zu bytes, %zu remain", name, marker, length, remain);
        /* Length(2), precision(1), height(2), width(2), then the component count. */
        if (img_jpeg_is_sof(marker) && length >= 8) {
            const unsigned components = data[pos + 7];
            if (components != 1 && components != 3 && components != 4)
                return img_fail(err, "%s: JPEG: %u colour components are not supported (1 "
                                "gray, 3 colour or 4 CMYK)", name, components);
        }
        if (marker == IMG_JPEG_SOS)
            return 0;
        pos += length;
    }
}

static int img_jpeg_too_large(const char *name, const struct jpeg_decompress_struct *cinfo,
                              size_t size, img_error *err)
{
    return img_fail(err, "%s: JPEG: header claims %ux%u pixels, more than a %zu-byte file can "
                    "hold", name, (unsigned)cinfo->image_width, (unsigned)cinfo->image_height,
                    size);
}

/* Pillow's CMYK to RGB (cmyk2rgb in its Convert.c), because that is what users compare
 * our output against: R = K' - C*K'/255 with K' = 255 - K, rounded with Pillow's exact
 * integer division by 255. invert is 0xFF for Adobe files, which store every sample
 * inverted. */
static void img_jpeg_cmyk_row(img_image *img, int y, const uint8_t *src, unsigned invert)
{
    uint8_t *dst[3] = {img_row(img, 0, y), img_row(img, 1, y), img_row(img, 2, y)};
    const size_t width = (size_t)img->width;
    for (size_t x = 0; x < width; x++, src += 4) {
        const unsigned white = 255u - (src[3] ^ invert);
        for (int c = 0; c < 3; c++) {
            const unsigned t = (src[c] ^ invert) * white + 128u;
            dst[c][x] = (uint8_t)(white - ((t + (t >> 8)) >> 8));
        }
    }
}

static int img_jpeg_decode(img_jpeg_reader *r, const char *name, const uint8_t *data,
                           size_t size, img_image *img, const img_read_options *options,
                           img_error *err)
{
    if (setjmp(r->jerr.jump)) {
        /* Only the memory cap below makes libjpeg want a backing store. */
        if (r->jerr.code == JERR_NO_BACKING_STORE)
            return img_jpeg_too_large(name, &r->cinfo, size, err);
        return img_fail(err, "%s: JPEG: %s", name, r->jerr.message);
    }

    jpeg_create_decompress(&r->cinfo);
    r->progress.progress_monitor = img_jpeg_progress;
    r->cinfo.progress = &r->progress;
    /* Bounds the coefficient buffer of progressive and multi-scan files, the one large
     * allocation libjpeg makes itself, in proportion to the file. */
    const uint64_t cap_sizes = ((uint64_t)LONG_MAX - IMG_JPEG_MEMORY_BASE) /
                               IMG_JPEG_MEMORY_PER_FILE_BYTE;
    r->cinfo.mem->max_memory_to_use =
        size < cap_sizes ? (long)(IMG_JPEG_MEMORY_BASE + IMG_JPEG_MEMORY_PER_FILE_BYTE * size)
                         : LONG_MAX;
    jpeg_mem_src(&r->cinfo, data, (unsigned long)size);
    if (jpeg_read_header(&r->cinfo, TRUE) != JPEG_HEADER_OK)
        return img_fail(err, "%s: JPEG: no image in the file", name);

    int channels;
    bool cmyk = false;
    switch (r->cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
        r->cinfo.out_color_space = JCS_GRAYSCALE;
        channels = 1;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        r->cinfo.out_color_space = JCS_RGB;
        channels = 3;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        /* libjpeg turns YCCK into CMYK itself; the step to RGB is ours. */
        r->cinfo.out_color_space = JCS_CMYK;
        channels = 3;
        cmyk = true;
        break;
    default:
        return img_fail(err, "%s: JPEG: unsupported colour space with %d components", name,
                        r->cinfo.num_components);
    }
    if (img_io_check_size(name, r->cinfo.image_width, r->cinfo.image_height, channels,
                          options, err) != 0)
        return -1;
    /* Each 8x8 block of each component costs at least one Huffman code (its DC
     * difference), so a file cannot hold more than 8 blocks per byte. Arithmetic coding
     * can spend far less on an empty block; there only the memory cap applies. */
    if (!r->cinfo.arith_code) {
        uint64_t blocks = 0;
        for (int c = 0; c < r->cinfo.num_components; c++)
            blocks += (uint64_t)r->cinfo.comp_info[c].width_in_blocks *
                      r->cinfo.comp_info[c].height_in_blocks;
        if ((blocks + 7) / 8 > size)
            return img_jpeg_too_large(name, &r->cinfo, size, err);
    }

    const int components = cmyk ? 4 : channels;
    jpeg_start_decompress(&r->cinfo);
    if (r->cinfo.output_components != components ||
        r->cinfo.output_width != r->cinfo.image_width ||
        r->cinfo.output_height != r->cinfo.image_height)
        return img_fail(err, "%s: JPEG: unexpected output layout", name);
    if (img_io_alloc(name, img, (int)r->cinfo.output_width, (int)r->cinfo.output_height,
                     channels, options, err) != 0)
        return -1;
    const size_t row_bytes = (size_t)img->width * (size_t)components;
    if (components > 1) {
        r->row = malloc(row_bytes * IMG_JPEG_BATCH_ROWS);
        if (!r->row)
            return img_fail(err, "%s: JPEG: out of memory", name);
    }
    const unsigned invert = r->cinfo.saw_Adobe_marker ? 0xFFu : 0u;
    while (r->cinfo.output_scanline < r->cinfo.output_height) {
        const int y = (int)r->cinfo.output_scanline;
        const int batch = (int)r->cinfo.output_height - y < IMG_JPEG_BATCH_ROWS
                              ? (int)r->cinfo.output_height - y
                              : IMG_JPEG_BATCH_ROWS;
        /* Gray rows land in the plane directly: the layouts already agree. */
        JSAMPROW rows[IMG_JPEG_BATCH_ROWS];
        for (int i = 0; i < batch; i++)
            rows[i] = components == 1 ? img_row(img, 0, y + i) : r->row + row_bytes * (size_t)i;
        const int got = (int)jpeg_read_scanlines(&r->cinfo, rows, (JDIMENSION)batch);
        if (got < 1)
            return img_fail(err, "%s: JPEG: decoder stopped early", name);
        for (int i = 0; i < got && components > 1; i++) {
            if (cmyk)
                img_jpeg_cmyk_row(img, y + i, rows[i], invert);
            else
                img_deinterleave_row(img, y + i, rows[i]);
        }
        img_io_rows_done(options, y + got);
    }
    jpeg_finish_decompress(&r->cinfo);
    if (r->jerr.pub.num_warnings > 0)
        return img_fail(err, "%s: JPEG: corrupt data: %s", name, r->jerr.warning);
    return 0;
}

int img_jpeg_read_memory(const char *name, const uint8_t *data, size_t size, img_image *img,
                         const img_read_options *options, img_error *err)
{
    if (img_jpeg_prescan(name, data, size, err) != 0)
        return -1;
    img_jpeg_reader *r = calloc(1, sizeof *r);
    if (!r)
        return img_fail(err, "%s: JPEG: out of memory", name);
    img_jpeg_init_error(&r->jerr);
    r->cinfo.err = &r->jerr.pub;
    int rc = img_jpeg_decode(r, name, data, size, img, options, err);
    jpeg_destroy_decompress(&r->cinfo);   /* safe on a never or half created object */
    free(r->row);
    free(r);
    if (rc != 0)
        img_image_free(img);
    return rc;
}

/* ---- writing: a destination manager with checked fwrite ---- */

static bool img_jpeg_flush(img_jpeg_destination *d, size_t length)
{
    errno = 0;
    if (fwrite(d->buffer, 1, length, d->fp) != length) {
        d->write_errno = errno != 0 ? errno : EIO;
        return false;
    }
    return true;
}

static void img_jpeg_init_destination(j_compress_ptr cinfo)
{
    img_jpeg_destination *d = (img_jpeg_destination *)cinfo->dest;
    d->pub.next_output_byte = d->buffer;
    d->pub.free_in_buffer = sizeof d->buffer;
}

/* libjpeg calls this when the buffer is full, whatever free_in_buffer says. */
static boolean img_jpeg_empty_output_buffer(j_compress_ptr cinfo)
{
    img_jpeg_destination *d = (img_jpeg_destination *)cinfo->dest;
    if (!img_jpeg_flush(d, sizeof d->buffer))
        ERREXIT(cinfo, JERR_FILE_WRITE);
    d->pub.next_output_byte = d->buffer;
    d->pub.free_in_buffer = sizeof d->buffer;
    return TRUE;
}

static void img_jpeg_term_destination(j_compress_ptr cinfo)
{
    img_jpeg_destination *d = (img_jpeg_destination *)cinfo->dest;
    if (!img_jpeg_flush(d, sizeof d->buffer - d->pub.free_in_buffer))
        ERREXIT(cinfo, JERR_FILE_WRITE);
}

static int img_jpeg_encode(img_jpeg_writer *w, const char *name, const img_image *img,
                           int quality, img_error *err)
{
    if (setjmp(w->jerr.jump)) {
        if (w->dest.write_errno != 0)
            return img_io_write_failed(name, w->dest.write_errno, err);
        return img_fail(err, "%s: JPEG: %s", name, w->jerr.message);
    }

    jpeg_create_compress(&w->cinfo);
    w->dest.pub.init_destination = img_jpeg_init_destination;
    w->dest.pub.empty_output_buffer = img_jpeg_empty_output_buffer;
    w->dest.pub.term_destination = img_jpeg_term_destination;
    w->cinfo.dest = &w->dest.pub;
    w->cinfo.image_width = (JDIMENSION)img->width;
    w->cinfo.image_height = (JDIMENSION)img->height;
    w->cinfo.input_components = img->channels;
    w->cinfo.in_color_space = img->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&w->cinfo);
    jpeg_set_quality(&w->cinfo, quality, TRUE);
    jpeg_start_compress(&w->cinfo, TRUE);

    const size_t row_bytes = (size_t)img->width * (size_t)img->channels;
    w->row = malloc(row_bytes * IMG_JPEG_BATCH_ROWS);
    if (!w->row)
        return img_fail(err, "%s: JPEG: out of memory", name);
    while (w->cinfo.next_scanline < w->cinfo.image_height) {
        const int y = (int)w->cinfo.next_scanline;
        const int batch = img->height - y < IMG_JPEG_BATCH_ROWS ? img->height - y
                                                                : IMG_JPEG_BATCH_ROWS;
        /* Gray rows go from the plane directly: the layouts already agree. */
        JSAMPROW rows[IMG_JPEG_BATCH_ROWS];
        for (int i = 0; i < batch; i++) {
            if (img->channels == 1) {
                rows[i] = img_row(img, 0, y + i);
            } else {
                rows[i] = w->row + row_bytes * (size_t)i;
                img_interleave_row(img, y + i, rows[i]);
            }
        }
        jpeg_write_scanlines(&w->cinfo, rows, (JDIMENSION)batch);
    }
    jpeg_finish_compress(&w->cinfo);
    return 0;
}

int img_jpeg_write_stream(const char *name, FILE *fp, const img_image *img,
                          const img_write_options *options, img_error *err)
{
    if (img->channels != 1 && img->channels != 3)   /* image_io.c checked; stay safe */
        return img_fail(err, "%s: JPEG cannot store an alpha channel; use .png", name);
    const int quality = options->jpeg_quality != 0 ? options->jpeg_quality
                                                   : IMG_JPEG_DEFAULT_QUALITY;
    img_jpeg_writer *w = calloc(1, sizeof *w);
    if (!w)
        return img_fail(err, "%s: JPEG: out of memory", name);
    img_jpeg_init_error(&w->jerr);
    w->cinfo.err = &w->jerr.pub;
    w->dest.fp = fp;
    int rc = img_jpeg_encode(w, name, img, quality, err);
    jpeg_destroy_compress(&w->cinfo);
    free(w->row);
    free(w);
    return rc;
}

/* Tests of the image file I/O layer (image_io.h).
 *
 * Every input file is made here: with img_write_file, with libpng / libjpeg directly
 * (for what our writer never produces: 16-bit, palettes, tRNS, interlacing, low bit
 * depths, progressive or CMYK JPEG) or as hand-crafted bytes. Each test works in its
 * own mkdtemp directory. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include "image.h"
#include "image_io.h"
#include "test_helpers.h"

/* ---- small utilities ---- */

typedef struct buf {
    uint8_t *data;
    size_t size;
    size_t cap;
} buf;

static void buf_append(buf *b, const void *data, size_t n)
{
    if (b->size + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->size + n)
            cap *= 2;
        b->data = realloc(b->data, cap);
        cr_assert_not_null(b->data);
        b->cap = cap;
    }
    memcpy(b->data + b->size, data, n);
    b->size += n;
}

static void buf_append_str(buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

static void buf_free(buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static char *tmpdir_make(void)
{
    char *dir = strdup("/tmp/imgpipe-test-io-XXXXXX");
    cr_assert_not_null(dir);
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    return dir;
}

static char *path_in(const char *dir, const char *name)
{
    char *path = NULL;
    cr_assert_geq(asprintf(&path, "%s/%s", dir, name), 0);
    return path;
}

/* Names in dir (without . and ..), so tests can assert that nothing was left behind. */
static int dir_entries(const char *dir, char names[][256], int max)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "opendir %s: %s", dir, strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n < max)
            snprintf(names[n], 256, "%s", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static void tmpdir_remove(char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *p = path_in(dir, e->d_name);
            if (unlink(p) != 0)
                rmdir(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

static void write_bytes(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, size, f), size);
    cr_assert_eq(fclose(f), 0);
}

static buf read_bytes(const char *path)
{
    buf b = {0};
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
    uint8_t chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    return b;
}

/* Smooth content, on which a good JPEG encoder is nearly exact. */
static void make_gradient(img_image *img, int w, int h, int channels)
{
    img_error err;
    cr_assert_eq(img_image_alloc(img, w, h, channels, 0, &err), 0, "%s", err.message);
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                img_row(img, c, y)[x] =
                    (uint8_t)(32 + (x * 160) / w + (y * 48) / h + c * 8);
}

static double mean_abs_error(const img_image *a, const img_image *b)
{
    cr_assert_eq(a->width, b->width);
    cr_assert_eq(a->height, b->height);
    cr_assert_eq(a->channels, b->channels);
    double sum = 0;
    for (int c = 0; c < a->channels; c++)
        for (int y = 0; y < a->height; y++)
            for (int x = 0; x < a->width; x++)
                sum += abs((int)img_row(a, c, y)[x] - (int)img_row(b, c, y)[x]);
    return sum / ((double)a->width * a->height * a->channels);
}

static void assert_error(int rc, const img_error *err, const char *name, const char *keyword)
{
    cr_assert_eq(rc, -1, "expected failure containing '%s'", keyword);
    cr_assert_not_null(strstr(err->message, name), "message '%s' lacks the name '%s'",
                       err->message, name);
    cr_assert_not_null(strstr(err->message, keyword), "message '%s' lacks '%s'", err->message,
                       keyword);
    cr_assert_null(strchr(err->message, '\n'), "message '%s' is not one line", err->message);
}

static void assert_empty_image(const img_image *img)
{
    cr_assert_null(img->storage);
    cr_assert_eq(img->width, 0);
    cr_assert_eq(img->channels, 0);
}

static uint8_t round_scale(uint32_t v, uint32_t maxval)
{
    return (uint8_t)floor((double)v * 255.0 / (double)maxval + 0.5);
}

/* ---- PNG and JPEG made with the libraries directly ---- */

typedef struct png_spec {
    int width, height, bit_depth, color_type, interlace;
    const uint8_t *rows;          /* packed PNG rows, big-endian for 16-bit */
    const png_color *palette;
    int num_palette;
    const uint8_t *trans;         /* palette alpha */
    int num_trans;
    const png_color_16 *trans_color;
} png_spec;

static void test_png_error(png_structp png, png_const_charp msg)
{
    (void)png;
    cr_assert_fail("libpng (test encoder): %s", msg);
    abort();
}

static void test_png_write(png_structp png, png_bytep data, size_t n)
{
    buf_append(png_get_io_ptr(png), data, n);
}

static void test_png_flush(png_structp png)
{
    (void)png;
}

static size_t png_spec_rowbytes(const png_spec *s)
{
    int samples = s->color_type == PNG_COLOR_TYPE_GRAY         ? 1
                  : s->color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                  : s->color_type == PNG_COLOR_TYPE_PALETTE    ? 1
                  : s->color_type == PNG_COLOR_TYPE_RGB        ? 3
                                                               : 4;
    return ((size_t)s->width * (size_t)samples * (size_t)s->bit_depth + 7) / 8;
}

static buf png_encode(const png_spec *s)
{
    buf out = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, test_png_error, NULL);
    cr_assert_not_null(png);
    png_infop info = png_create_info_struct(png);
    cr_assert_not_null(info);
    png_set_write_fn(png, &out, test_png_write, test_png_flush);
    png_set_IHDR(png, info, (png_uint_32)s->width, (png_uint_32)s->height, s->bit_depth,
                 s->color_type, s->interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (s->palette)
        png_set_PLTE(png, info, s->palette, s->num_palette);
    if (s->trans || s->trans_color)
        png_set_tRNS(png, info, s->trans, s->num_trans, s->trans_color);
    png_write_info(png, info);
    size_t rowbytes = png_spec_rowbytes(s);
    png_bytep *rows = malloc(sizeof *rows * (size_t)s->height);
    cr_assert_not_null(rows);
    for (int y = 0; y < s->height; y++)
        rows[y] = (png_bytep)s->rows + rowbytes * (size_t)y;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    return out;
}

static void test_jpeg_error(j_common_ptr cinfo)
{
    char message[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, message);
    cr_assert_fail("libjpeg (test encoder): %s", message);
    abort();
}

static buf jpeg_encode(const uint8_t *pixels, int w, int h, int components,
                       J_COLOR_SPACE space, bool progressive, const jpeg_scan_info *scans,
                       int num_scans)
{
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jerr.error_exit = test_jpeg_error;
    jpeg_create_compress(&cinfo);
    unsigned char *mem = NULL;
    unsigned long mem_size = 0;
    jpeg_mem_dest(&cinfo, &mem, &mem_size);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = components;
    cinfo.in_color_space = space;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 90, TRUE);
    if (progressive)
        jpeg_simple_progression(&cinfo);
    if (scans) {
        cinfo.scan_info = scans;
        cinfo.num_scans = num_scans;
    }
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        size_t offset = (size_t)cinfo.next_scanline * (size_t)w * (size_t)components;
        JSAMPROW row = (JSAMPROW)pixels + offset;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    buf out = {0};
    buf_append(&out, mem, mem_size);
    free(mem);
    return out;
}

/* Interleaved copy of an image, as the encoders above want it. */
static uint8_t *interleaved(const img_image *img)
{
    size_t row = (size_t)img->width * (size_t)img->channels;
    uint8_t *out = malloc(row * (size_t)img->height);
    cr_assert_not_null(out);
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++)
            for (int c = 0; c < img->channels; c++)
                out[row * (size_t)y + (size_t)x * (size_t)img->channels + (size_t)c] =
                    img_row(img, c, y)[x];
    return out;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Appends a PNG chunk with a correct CRC. */
static void png_chunk(buf *b, const char *type, const uint8_t *data, uint32_t length)
{
    uint8_t head[8];
    put_be32(head, length);
    memcpy(head + 4, type, 4);
    buf_append(b, head, 8);
    if (length)
        buf_append(b, data, length);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, (const Bytef *)type, 4);
    if (length)
        crc = crc32(crc, data, length);
    uint8_t tail[4];
    put_be32(tail, (uint32_t)crc);
    buf_append(b, tail, 4);
}

static void png_signature_and_ihdr(buf *b, uint32_t w, uint32_t h, uint8_t depth,
                                   uint8_t color_type)
{
    static const uint8_t signature[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    buf_append(b, signature, 8);
    uint8_t ihdr[13] = {0};
    put_be32(ihdr, w);
    put_be32(ihdr + 4, h);
    ihdr[8] = depth;
    ihdr[9] = color_type;
    png_chunk(b, "IHDR", ihdr, 13);
}

/* Offset of the first chunk of the given type in a PNG. */
static size_t png_find_chunk(const buf *b, const char *type)
{
    size_t pos = 8;
    while (pos + 8 <= b->size) {
        uint32_t length = (uint32_t)b->data[pos] << 24 | (uint32_t)b->data[pos + 1] << 16 |
                          (uint32_t)b->data[pos + 2] << 8 | b->data[pos + 3];
        if (memcmp(b->data + pos + 4, type, 4) == 0)
            return pos;
        pos += 12 + length;
    }
    cr_assert_fail("no %s chunk", type);
    return 0;
}

/* The PNG decoder the reads below use. PNG_TEST runs a test once per decoder (each
 * Criterion test is a process of its own, so the variable is per test), so that the
 * conversions and the hardening are checked for both. */
static img_png_decoder png_decoder_under_test = IMG_PNG_DECODER_DEFAULT;

#define PNG_TEST(suite, name)                                                               \
    static void suite##_##name(void);                                                       \
    Test(suite, name##_libpng)                                                              \
    {                                                                                       \
        png_decoder_under_test = IMG_PNG_DECODER_LIBPNG;                                    \
        suite##_##name();                                                                   \
    }                                                                                       \
    Test(suite, name##_libspng)                                                             \
    {                                                                                       \
        png_decoder_under_test = IMG_PNG_DECODER_LIBSPNG;                                   \
        suite##_##name();                                                                   \
    }                                                                                       \
    static void suite##_##name(void)

static img_read_options read_options(uint64_t max_pixels)
{
    return (img_read_options){.max_pixels = max_pixels, .png_decoder = png_decoder_under_test};
}

static int read_mem(const char *name, const buf *b, img_image *img, img_error *err)
{
    const img_read_options options = read_options(0);
    return img_read_memory(name, b->data, b->size, img, &options, err);
}

/* ---- format selection ---- */

Test(io_format, from_path_is_case_insensitive_and_uses_the_last_component)
{
    cr_assert_eq(img_format_from_path("a.png"), IMG_FORMAT_PNG);
    cr_assert_eq(img_format_from_path("dir/A.PNG"), IMG_FORMAT_PNG);
    cr_assert_eq(img_format_from_path("x.jpg"), IMG_FORMAT_JPEG);
    cr_assert_eq(img_format_from_path("x.JpEg"), IMG_FORMAT_JPEG);
    cr_assert_eq(img_format_from_path("x.ppm"), IMG_FORMAT_PNM);
    cr_assert_eq(img_format_from_path("x.PGM"), IMG_FORMAT_PNM);
    cr_assert_eq(img_format_from_path("x.png.bak"), IMG_FORMAT_UNKNOWN);
    cr_assert_eq(img_format_from_path("x.pnm"), IMG_FORMAT_UNKNOWN);
    cr_assert_eq(img_format_from_path("dir.png/file"), IMG_FORMAT_UNKNOWN);
    cr_assert_eq(img_format_from_path("noext"), IMG_FORMAT_UNKNOWN);
    cr_assert_eq(img_format_from_path(""), IMG_FORMAT_UNKNOWN);
}

/* ---- round trips ---- */

static const int odd_sizes[][2] = {{1, 1}, {7, 3}, {1, 17}, {17, 1}, {64, 2}, {65, 5}, {130, 9}};

PNG_TEST(io_png, round_trip_is_bit_exact_for_every_channel_count_and_odd_sizes)
{
    char *dir = tmpdir_make();
    char *path = path_in(dir, "rt.png");
    for (int channels = 1; channels <= 4; channels++) {
        for (size_t i = 0; i < sizeof odd_sizes / sizeof odd_sizes[0]; i++) {
            img_image src, back;
            img_error err;
            test_random_image(&src, odd_sizes[i][0], odd_sizes[i][1], channels,
                        (uint32_t)(channels * 100 + i + 1));
            cr_assert_eq(img_write_file(path, &src, NULL, &err), 0, "%s", err.message);
            const img_read_options options = read_options(0);
            cr_assert_eq(img_read_file(path, &back, &options, &err), 0, "%s", err.message);
            cr_assert(img_image_equal(&src, &back), "%d channels %dx%d differ", channels,
                      src.width, src.height);
            img_image_free(&src);
            img_image_free(&back);
        }
    }
    free(path);
    tmpdir_remove(dir);
}

Test(io_pnm, ppm_and_pgm_round_trips_are_bit_exact)
{
    char *dir = tmpdir_make();
    char *ppm = path_in(dir, "rt.ppm");
    char *pgm = path_in(dir, "rt.PGM");
    for (size_t i = 0; i < sizeof odd_sizes / sizeof odd_sizes[0]; i++) {
        img_image src, back;
        img_error err;
        test_random_image(&src, odd_sizes[i][0], odd_sizes[i][1], 3, (uint32_t)i + 7);
        cr_assert_eq(img_write_file(ppm, &src, NULL, &err), 0, "%s", err.message);
        cr_assert_eq(img_read_file(ppm, &back, NULL, &err), 0, "%s", err.message);
        cr_assert(img_image_equal(&src, &back));
        img_image_free(&src);
        img_image_free(&back);

        test_random_image(&src, odd_sizes[i][0], odd_sizes[i][1], 1, (uint32_t)i + 70);
        cr_assert_eq(img_write_file(pgm, &src, NULL, &err), 0, "%s", err.message);
        cr_assert_eq(img_read_file(pgm, &back, NULL, &err), 0, "%s", err.message);
        cr_assert(img_image_equal(&src, &back));
        img_image_free(&src);
        img_image_free(&back);
    }
    /* The header is the plain one any PNM reader accepts. */
    buf b = read_bytes(pgm);
    const char *expect = "P5\n130 9\n255\n";
    cr_assert_eq(b.size, strlen(expect) + 130 * 9);
    cr_assert_eq(memcmp(b.data, expect, strlen(expect)), 0);
    buf_free(&b);
    free(ppm);
    free(pgm);
    tmpdir_remove(dir);
}

static void jpeg_round_trip(int channels, const char *name)
{
    char *dir = tmpdir_make();
    char *path = path_in(dir, name);
    img_image src, back;
    img_error err;
    make_gradient(&src, 64, 48, channels);
    cr_assert_eq(img_write_file(path, &src, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(img_read_file(path, &back, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(back.width, 64);
    cr_assert_eq(back.height, 48);
    cr_assert_eq(back.channels, channels);
    double mae = mean_abs_error(&src, &back);
    cr_assert_lt(mae, 3.0, "mean abs error %f", mae);
    img_image_free(&src);
    img_image_free(&back);
    free(path);
    tmpdir_remove(dir);
}

Test(io_jpeg, gray_round_trip_is_close)
{
    jpeg_round_trip(1, "gray.jpg");
}

Test(io_jpeg, rgb_round_trip_is_close)
{
    jpeg_round_trip(3, "rgb.JPEG");
}

Test(io_jpeg, quality_option_is_used)
{
    char *dir = tmpdir_make();
    char *path = path_in(dir, "q.jpg");
    img_image src, back;
    img_error err;
    test_random_image(&src, 64, 64, 3, 5);
    double mae[2];
    size_t size[2];
    const int qualities[2] = {10, 100};
    for (int i = 0; i < 2; i++) {
        img_write_options options = {.jpeg_quality = qualities[i]};
        cr_assert_eq(img_write_file(path, &src, &options, &err), 0, "%s", err.message);
        struct stat st;
        cr_assert_eq(stat(path, &st), 0);
        size[i] = (size_t)st.st_size;
        cr_assert_eq(img_read_file(path, &back, NULL, &err), 0, "%s", err.message);
        mae[i] = mean_abs_error(&src, &back);
        img_image_free(&back);
    }
    cr_assert_lt(size[0], size[1]);
    cr_assert_lt(mae[1], mae[0]);
    img_write_options bad = {.jpeg_quality = 101};
    assert_error(img_write_file(path, &src, &bad, &err), &err, path, "quality 101");
    img_image_free(&src);
    free(path);
    tmpdir_remove(dir);
}

Test(io_jpeg, progressive_decodes)
{
    for (int channels = 1; channels <= 3; channels += 2) {
        img_image src, back;
        img_error err;
        make_gradient(&src, 40, 24, channels);
        uint8_t *pixels = interleaved(&src);
        buf jpg = jpeg_encode(pixels, 40, 24, channels, channels == 1 ? JCS_GRAYSCALE : JCS_RGB,
                              true, NULL, 0);
        bool sof2 = false;
        for (size_t i = 0; i + 1 < jpg.size; i++)
            sof2 |= jpg.data[i] == 0xFF && jpg.data[i + 1] == 0xC2;
        cr_assert(sof2, "the test encoder did not make a progressive file");
        cr_assert_eq(read_mem("prog.jpg", &jpg, &back, &err), 0, "%s", err.message);
        cr_assert_eq(back.channels, channels);
        cr_assert_eq(back.width, 40);
        cr_assert_eq(back.height, 24);
        double mae = mean_abs_error(&src, &back);
        cr_assert_lt(mae, 3.0, "mean abs error %f", mae);
        img_image_free(&src);
        img_image_free(&back);
        buf_free(&jpg);
        free(pixels);
    }
}

/* ---- PNG conversions ---- */

static const uint16_t sixteen_bit_values[] = {0,     257,   32767, 32768, 65535, 128,
                                              127,   129,   1,     65534, 384,   385,
                                              12345, 54321, 65407, 65408};
#define N16 (sizeof sixteen_bit_values / sizeof sixteen_bit_values[0])

PNG_TEST(io_png, sixteen_bit_is_rounded_to_nearest)
{
    /* Gray: one row holding every value. */
    uint8_t row[N16 * 2];
    for (size_t i = 0; i < N16; i++) {
        row[2 * i] = (uint8_t)(sixteen_bit_values[i] >> 8);
        row[2 * i + 1] = (uint8_t)sixteen_bit_values[i];
    }
    png_spec gray = {.width = N16, .height = 1, .bit_depth = 16,
                     .color_type = PNG_COLOR_TYPE_GRAY, .rows = row};
    buf png = png_encode(&gray);
    img_image img;
    img_error err;
    cr_assert_eq(read_mem("g16.png", &png, &img, &err), 0, "%s", err.message);
    cr_assert_eq(img.channels, 1);
    for (size_t i = 0; i < N16; i++)
        cr_assert_eq(img_row(&img, 0, 0)[i], round_scale(sixteen_bit_values[i], 65535),
                     "value %u gave %u", sixteen_bit_values[i], img_row(&img, 0, 0)[i]);
    img_image_free(&img);
    buf_free(&png);

    /* RGBA: the same values rotated through the four channels. */
    uint8_t rgba[N16 * 8];
    for (size_t x = 0; x < N16; x++)
        for (size_t c = 0; c < 4; c++) {
            uint16_t v = sixteen_bit_values[(x + c * 3) % N16];
            rgba[(x * 4 + c) * 2] = (uint8_t)(v >> 8);
            rgba[(x * 4 + c) * 2 + 1] = (uint8_t)v;
        }
    png_spec color = {.width = N16, .height = 1, .bit_depth = 16,
                      .color_type = PNG_COLOR_TYPE_RGB_ALPHA, .rows = rgba};
    png = png_encode(&color);
    cr_assert_eq(read_mem("rgba16.png", &png, &img, &err), 0, "%s", err.message);
    cr_assert_eq(img.channels, 4);
    for (size_t x = 0; x < N16; x++)
        for (int c = 0; c < 4; c++)
            cr_assert_eq(img_row(&img, c, 0)[x],
                         round_scale(sixteen_bit_values[(x + (size_t)c * 3) % N16], 65535));
    img_image_free(&img);
    buf_free(&png);
}

PNG_TEST(io_png, palette_is_expanded_to_rgb)
{
    static const png_color palette[5] = {
        {0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {10, 20, 30}, {200, 100, 50}};
    /* 4-bit indices, 5 pixels per row (the last nibble is padding). */
    static const uint8_t rows[2 * 3] = {0x01, 0x23, 0x40, 0x43, 0x21, 0x00};
    static const int index[2][5] = {{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}};
    png_spec s = {.width = 5, .height = 2, .bit_depth = 4,
                  .color_type = PNG_COLOR_TYPE_PALETTE, .rows = rows, .palette = palette,
                  .num_palette = 5};
    buf png = png_encode(&s);
    img_image img;
    img_error err;
    cr_assert_eq(read_mem("pal.png", &png, &img, &err), 0, "%s", err.message);
    cr_assert_eq(img.channels, 3);
    cr_assert_eq(img.width, 5);
    cr_assert_eq(img.height, 2);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 5; x++) {
            const png_color *p = &palette[index[y][x]];
            cr_assert_eq(img_row(&img, 0, y)[x], p->red);
            cr_assert_eq(img_row(&img, 1, y)[x], p->green);
            cr_assert_eq(img_row(&img, 2, y)[x], p->blue);
        }
    img_image_free(&img);
    buf_free(&png);
}

PNG_TEST(io_png, palette_with_trns_becomes_rgba)
{
    static const png_color palette[4] = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10, 11, 12}};
    static const uint8_t alpha[2] = {0, 128};   /* entries 2 and 3 stay opaque */
    static const uint8_t rows[4] = {0, 1, 2, 3};
    png_spec s = {.width = 4, .height = 1, .bit_depth = 8,
                  .color_type = PNG_COLOR_TYPE_PALETTE, .rows = rows, .palette = palette,
                  .num_palette = 4, .trans = alpha, .num_trans = 2};
    buf png = png_encode(&s);
    img_image img;
    img_error err;
    cr_assert_eq(read_mem("palt.png", &png, &img, &err), 0, "%s", err.message);
    cr_assert_eq(img.channels, 4);
    static const uint8_t expect_alpha[4] = {0, 128, 255, 255};
    for (int x = 0; x < 4; x++) {
        cr_assert_eq(img_row(&img, 0, 0)[x], palette[x].red);
        cr_assert_eq(img_row(&img, 1, 0)[x], palette[x].green);
        cr_assert_eq(img_row(&img, 2, 0)[x], palette[x].blue);
        cr_assert_eq(img_row(&img, 3, 0)[x], expect_alpha[x]);
    }
    img_image_free(&img);
    buf_free(&png);
}

PNG_TEST(io_png, gray_and_rgb_trns_keys_become_alpha)
{
    static const uint8_t gray_rows[4] = {7, 8, 7, 255};
    png_color_16 gray_key = {.gray = 7};
    png_spec g = {.width = 4, .height = 1, .bit_depth = 8, .color_type = PNG_COLOR_TYPE_GRAY,
                  .rows = gray_rows, .trans_color = &gray_key};
    buf png = png_encode(&g);
    img_image img;
    img_error err;
    cr_assert_eq(read_mem("gt.png", &png, &img, &err), 0, "%s", err.message);
    cr_assert_eq(img.channels, 2);
    static const uint8_t gray_alpha[4] = {0, 255, 0, 255};
    for (int x = 0; x < 4; x++) {
        cr_assert_eq(img_row(&img, 0, 0)[x], gray_rows[x]);
        cr_assert_eq(img_row(&img, 1, 0)[x], gray_alpha[x]);
    }
    img_image_free(&img);
    buf_free(&png);

    static const uint8_t rgb_rows[6] = {1, 2, 3, 1, 2, 4};
    png_color_16 rgb_key = {.red = 1, .green = 2, .blue = 3};
    png_spec c = {.width = 2, .height = 1, .bit_depth = 8, .color_type = PNG_COLOR_TYPE_RGB,
                  .rows = rgb_rows, .trans_color = &rgb_key};
    png = png_encode(&c);
    cr_assert_eq(read_mem("ct.png", &png, &img, &err), 0, "%s", err.message);
    cr_assert_eq(img.channels, 4);
    cr_assert_eq(img_row(&img, 3, 0)[0], 0);
    cr_assert_eq(img_row(&img, 3, 0)[1], 255);
    cr_assert_eq(img_row(&img, 2, 0)[1], 4);
    img_image_free(&img);
    buf_free(&png);
}

PNG_TEST(io_png, interlaced_decodes_like_non_interlaced)
{
    static const int sizes[][2] = {{37, 29}, {1, 1}, {3, 3}, {9, 1}, {1, 9}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        img_image src, plain, adam7;
        img_error err;
        test_random_image(&src, sizes[i][0], sizes[i][1], 4, (uint32_t)i + 11);
        uint8_t *pixels = interleaved(&src);
        png_spec s = {.width = src.width, .height = src.height, .bit_depth = 8,
                      .color_type = PNG_COLOR_TYPE_RGB_ALPHA, .rows = pixels};
        buf a = png_encode(&s);
        s.interlace = PNG_INTERLACE_ADAM7;
        buf b = png_encode(&s);
        cr_assert_eq(b.data[28], 1, "IHDR interlace byte");
        cr_assert_eq(read_mem("plain.png", &a, &plain, &err), 0, "%s", err.message);
        cr_assert_eq(read_mem("adam7.png", &b, &adam7, &err), 0, "%s", err.message);
        cr_assert(img_image_equal(&plain, &adam7));
        cr_assert(img_image_equal(&src, &adam7));
        img_image_free(&src);
        img_image_free(&plain);
        img_image_free(&adam7);
        buf_free(&a);
        buf_free(&b);
        free(pixels);
    }
}

PNG_TEST(io_png, low_bit_depth_gray_is_scaled_to_full_range)
{
    /* 1-bit, 9 pixels: 1 0 1 1 0 0 1 0 | 1 */
    static const uint8_t one[2] = {0xB2, 0x80};
    static const uint8_t one_expect[9] = {255, 0, 255, 255, 0, 0, 255, 0, 255};
    /* 2-bit, 4 pixels: 0 1 2 3 */
    static const uint8_t two[1] = {0x1B};
    static const uint8_t two_expect[4] = {0, 85, 170, 255};
    /* 4-bit, 16 pixels: 0..15 */
    static const uint8_t four[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
    struct {
        int depth, width;
        const uint8_t *rows, *expect;
    } cases[] = {{1, 9, one, one_expect}, {2, 4, two, two_expect}, {4, 16, four, NULL}};
    for (size_t i = 0; i < 3; i++) {
        png_spec s = {.width = cases[i].width, .height = 1, .bit_depth = cases[i].depth,
                      .color_type = PNG_COLOR_TYPE_GRAY, .rows = cases[i].rows};
        buf png = png_encode(&s);
        img_image img;
        img_error err;
        cr_assert_eq(read_mem("low.png", &png, &img, &err), 0, "%s", err.message);
        cr_assert_eq(img.channels, 1);
        cr_assert_eq(img.width, cases[i].width);
        for (int x = 0; x < cases[i].width; x++) {
            uint8_t expect = cases[i].expect ? cases[i].expect[x] : (uint8_t)(x * 17);
            cr_assert_eq(img_row(&img, 0, 0)[x], expect, "depth %d pixel %d", cases[i].depth,
                         x);
        }
        img_image_free(&img);
        buf_free(&png);
    }
}

/* ---- PNM parsing and scaling ---- */

static buf pnm_header(const char *header)
{
    buf b = {0};
    buf_append_str(&b, header);
    return b;
}

Test(io_pnm, sixteen_bit_maxval_65535_is_rounded_for_every_value)
{
    buf b = pnm_header("P5\n256 256\n65535\n");
    for (uint32_t v = 0; v < 65536; v++) {
        uint8_t be[2] = {(uint8_t)(v >> 8), (uint8_t)v};
        buf_append(&b, be, 2);
    }
    img_image img;
    img_error err;
    cr_assert_eq(read_mem("m65535.pgm", &b, &img, &err), 0, "%s", err.message);
    for (uint32_t v = 0; v < 65536; v++)
        cr_assert_eq(img_row(&img, 0, (int)(v / 256))[v % 256], round_scale(v, 65535),
                     "value %u", v);
    img_image_free(&img);
    buf_free(&b);
}

Test(io_pnm, other_maxvals_are_rounded_for_every_value)
{
    static const uint32_t maxvals[] = {1000, 1, 100, 256, 254, 65534};
    for (size_t m = 0; m < sizeof maxvals / sizeof maxvals[0]; m++) {
        const uint32_t maxval = maxvals[m];
        /* P6 with value v in pixel v / 3, channel v % 3 (padded with zeros). */
        const uint32_t width = (maxval + 1 + 2) / 3;
        char header[64];
        snprintf(header, sizeof header, "P6 %u 1 %u\n", width, maxval);
        buf b = pnm_header(header);
        for (uint32_t i = 0; i < width * 3; i++) {
            uint32_t v = i <= maxval ? i : 0;
            if (maxval < 256) {
                uint8_t byte = (uint8_t)v;
                buf_append(&b, &byte, 1);
            } else {
                uint8_t be[2] = {(uint8_t)(v >> 8), (uint8_t)v};
                buf_append(&b, be, 2);
            }
        }
        img_image img;
        img_error err;
        cr_assert_eq(read_mem("m.ppm", &b, &img, &err), 0, "maxval %u: %s", maxval,
                     err.message);
        cr_assert_eq(img.channels, 3);
        for (uint32_t v = 0; v <= maxval; v++)
            cr_assert_eq(img_row(&img, (int)(v % 3), 0)[v / 3], round_scale(v, maxval),
                         "maxval %u value %u", maxval, v);
        img_image_free(&img);
        buf_free(&b);
    }
}

Test(io_pnm, header_comments_single_whitespace_and_trailing_bytes)
{
    /* Comments anywhere between fields; the byte right after maxval's single
     * whitespace is already a sample, even when it looks like whitespace. */
    buf b = pnm_header("P5\n# made by hand\n3 # width\n1\n#maxval next\n255\n\n\x05\x06trailing");
    img_image img;
    img_error err;
    cr_assert_eq(read_mem("c.pgm", &b, &img, &err), 0, "%s", err.message);
    cr_assert_eq(img.width, 3);
    cr_assert_eq(img.height, 1);
    cr_assert_eq(img_row(&img, 0, 0)[0], '\n');
    cr_assert_eq(img_row(&img, 0, 0)[1], 5);
    cr_assert_eq(img_row(&img, 0, 0)[2], 6);
    img_image_free(&img);
    buf_free(&b);
}

Test(io_pnm, bad_headers_are_refused)
{
    static const struct {
        const char *text;
        const char *keyword;
    } cases[] = {
        {"P5 1 1 0\n\x00", "maxval 0"},
        {"P5 1 1 70000\n\x00\x00", "maxval 70000"},
        {"P5 99999999999999999999 1 255\n", "width is too large"},
        {"P5 1 4294967296 255\n", "height is too large"},
        {"P5 2000000 1 255\n", "exceeds the limit"},
        {"P5 0 1 255\n", "empty"},
        {"P5 -1 1 255\n", "expected width"},
        {"P5 1 1 255", "whitespace"},
        {"P5 1 1 255x\x01", "whitespace"},
        {"P51 1 255\n\x01", "expected width"},
        {"P6 1 1", "truncated header"},
        {"P5 1 1 # only a comment", "truncated header"},
        {"P5", "truncated header"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf b = pnm_header(cases[i].text);
        img_image img;
        img_error err;
        assert_error(read_mem("bad.pgm", &b, &img, &err), &err, "bad.pgm", cases[i].keyword);
        assert_empty_image(&img);
        buf_free(&b);
    }
}

Test(io_pnm, too_few_samples_and_samples_over_maxval_are_errors)
{
    img_image img;
    img_error err;
    buf b = pnm_header("P5 4 4 255\n0123456789");
    cr_assert_eq(read_mem("few.pgm", &b, &img, &err), -1);
    cr_assert_str_eq(err.message,
                     "few.pgm: PNM: truncated: expected 16 bytes of samples, found 10");
    assert_empty_image(&img);
    buf_free(&b);

    b = pnm_header("P6 2 1 1000\n");
    static const uint8_t wide[10] = {0, 1, 0, 2, 0, 3, 0, 4, 0, 5};   /* 10 of 12 bytes */
    buf_append(&b, wide, sizeof wide);
    assert_error(read_mem("few16.ppm", &b, &img, &err), &err, "few16.ppm",
                 "expected 12 bytes of samples, found 10");
    buf_free(&b);

    b = pnm_header("P5 2 1 100\n");
    static const uint8_t over[2] = {50, 101};
    buf_append(&b, over, 2);
    assert_error(read_mem("over.pgm", &b, &img, &err), &err, "over.pgm",
                 "sample value 101 exceeds maxval 100");
    assert_empty_image(&img);
    buf_free(&b);

    b = pnm_header("P5 2 1 1000\n");
    static const uint8_t over16[4] = {0x03, 0xE8, 0x03, 0xE9};   /* 1000, 1001 */
    buf_append(&b, over16, 4);
    assert_error(read_mem("over16.pgm", &b, &img, &err), &err, "over16.pgm",
                 "sample value 1001 exceeds maxval 1000");
    buf_free(&b);
}

/* ---- damaged and hostile input ---- */

Test(io_errors, empty_input)
{
    char *dir = tmpdir_make();
    char *path = path_in(dir, "empty.png");
    write_bytes(path, "", 0);
    img_image img;
    img_error err;
    assert_error(img_read_file(path, &img, NULL, &err), &err, path, "file is empty");
    assert_empty_image(&img);
    assert_error(img_read_memory("mem.png", NULL, 0, &img, NULL, &err), &err, "mem.png",
                 "file is empty");
    free(path);
    tmpdir_remove(dir);
}

Test(io_errors, random_bytes_are_unrecognised)
{
    uint8_t bytes[1000];
    uint32_t state = 99;
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)test_random(&state);
    bytes[0] = 'X';
    img_image img;
    img_error err;
    assert_error(img_read_memory("noise.bin", bytes, sizeof bytes, &img, NULL, &err), &err,
                 "noise.bin", "unrecognised image format");
    cr_assert_str_eq(err.message, "noise.bin: unrecognised image format");
    assert_empty_image(&img);
    static const char *others[] = {"P3\n1 1\n255\n0 0 0\n", "P4", "BM", "GIF89a", "\x89PNG"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        assert_error(img_read_memory("other", (const uint8_t *)others[i], strlen(others[i]),
                                     &img, NULL, &err),
                     &err, "other", "unrecognised image format");
}

/* Every proper prefix of a valid file must fail cleanly: no partial or padded image. */
static void every_prefix_fails(const buf *whole, const char *name)
{
    img_image img;
    img_error err;
    const img_read_options options = read_options(0);
    cr_assert_eq(img_read_memory(name, whole->data, whole->size, &img, &options, &err), 0, "%s",
                 err.message);
    img_image_free(&img);
    for (size_t length = 0; length < whole->size; length++) {
        int rc = img_read_memory(name, whole->data, length, &img, &options, &err);
        cr_assert_eq(rc, -1, "%s: prefix of %zu of %zu bytes was accepted", name, length,
                     whole->size);
        cr_assert_not_null(strstr(err.message, name), "%s", err.message);
        assert_empty_image(&img);
    }
}

PNG_TEST(io_errors, every_truncation_of_png_jpeg_and_pnm_fails)
{
    char *dir = tmpdir_make();
    const char *names[] = {"t.png", "t.jpg", "t.ppm"};
    img_image src;
    img_error err;
    test_random_image(&src, 7, 3, 3, 3);
    for (int i = 0; i < 3; i++) {
        char *path = path_in(dir, names[i]);
        cr_assert_eq(img_write_file(path, &src, NULL, &err), 0, "%s", err.message);
        buf b = read_bytes(path);
        every_prefix_fails(&b, names[i]);
        buf_free(&b);
        free(path);
    }
    /* An interlaced and a 16-bit PNG take other paths through libpng. */
    uint8_t *pixels = interleaved(&src);
    png_spec s = {.width = 7, .height = 3, .bit_depth = 8, .color_type = PNG_COLOR_TYPE_RGB,
                  .interlace = PNG_INTERLACE_ADAM7, .rows = pixels};
    buf b = png_encode(&s);
    every_prefix_fails(&b, "adam7.png");
    buf_free(&b);
    png_spec s16 = {.width = 7, .height = 1, .bit_depth = 16, .color_type = PNG_COLOR_TYPE_RGB,
                    .rows = pixels};
    b = png_encode(&s16);
    every_prefix_fails(&b, "sixteen.png");
    buf_free(&b);
    /* A progressive JPEG. */
    b = jpeg_encode(pixels, 7, 3, 3, JCS_RGB, true, NULL, 0);
    every_prefix_fails(&b, "prog.jpg");
    buf_free(&b);
    free(pixels);
    img_image_free(&src);
    tmpdir_remove(dir);
}

PNG_TEST(io_errors, png_crc_errors_are_reported)
{
    img_image src, img;
    img_error err;
    test_random_image(&src, 16, 16, 3, 8);
    uint8_t *pixels = interleaved(&src);
    png_spec s = {.width = 16, .height = 16, .bit_depth = 8, .color_type = PNG_COLOR_TYPE_RGB,
                  .rows = pixels};
    buf png = png_encode(&s);

    size_t idat = png_find_chunk(&png, "IDAT");
    const uint8_t *len = png.data + idat;
    const uint32_t idat_length = (uint32_t)len[0] << 24 | (uint32_t)len[1] << 16 |
                                 (uint32_t)len[2] << 8 | len[3];
    png.data[idat + 8 + idat_length + 2] ^= 0x40;   /* the stored CRC; the data is intact */
    assert_error(read_mem("crc.png", &png, &img, &err), &err, "crc.png", "IDAT: CRC error");
    cr_assert_str_eq(err.message, "crc.png: PNG: IDAT: CRC error");
    assert_empty_image(&img);
    png.data[idat + 8 + idat_length + 2] ^= 0x40;

    /* A damaged data byte: zlib or the CRC check notices, whichever comes first. */
    for (uint32_t i = 0; i < idat_length; i += 7) {
        png.data[idat + 8 + i] ^= 0x40;
        assert_error(read_mem("data.png", &png, &img, &err), &err, "data.png", "PNG: ");
        assert_empty_image(&img);
        png.data[idat + 8 + i] ^= 0x40;
    }

    size_t ihdr = png_find_chunk(&png, "IHDR");
    png.data[ihdr + 8 + 13] ^= 0x01;   /* the CRC itself */
    assert_error(read_mem("crc2.png", &png, &img, &err), &err, "crc2.png", "CRC error");
    png.data[ihdr + 8 + 13] ^= 0x01;

    size_t iend = png_find_chunk(&png, "IEND");
    png.data[iend + 8] ^= 0x01;   /* after the pixels: png_read_end must still look */
    assert_error(read_mem("crc3.png", &png, &img, &err), &err, "crc3.png", "CRC error");
    png.data[iend + 8] ^= 0x01;

    cr_assert_eq(read_mem("ok.png", &png, &img, &err), 0, "%s", err.message);
    cr_assert(img_image_equal(&src, &img));
    img_image_free(&img);
    img_image_free(&src);
    buf_free(&png);
    free(pixels);
}

/* Well-formed chunks (correct CRCs) around pixel data that runs out early: libpng
 * would pad the missing rows if we let it. */
PNG_TEST(io_errors, png_with_too_little_image_data_fails)
{
    enum { W = 8, H = 8 };
    uint8_t raw[H * (W + 1)];
    memset(raw, 0x55, sizeof raw);
    for (int y = 0; y < H; y++)
        raw[y * (W + 1)] = 0;   /* filter type None */
    for (int variant = 0; variant < 2; variant++) {
        uint8_t z[256];
        uLongf zlen = sizeof z;
        if (variant == 0) {
            /* A complete zlib stream holding only half the rows. */
            cr_assert_eq(compress(z, &zlen, raw, sizeof raw / 2), Z_OK);
        } else {
            /* The full stream cut in the middle. */
            cr_assert_eq(compress(z, &zlen, raw, sizeof raw), Z_OK);
            zlen = zlen / 2;
        }
        buf png = {0};
        png_signature_and_ihdr(&png, W, H, 8, 0);
        png_chunk(&png, "IDAT", z, (uint32_t)zlen);
        png_chunk(&png, "IEND", NULL, 0);
        img_image img;
        img_error err;
        assert_error(read_mem("short.png", &png, &img, &err), &err, "short.png", "PNG");
        assert_empty_image(&img);
        buf_free(&png);
    }
}

Test(io_errors, truncated_jpeg_is_an_error_not_grey_padding)
{
    img_image src, img;
    img_error err;
    test_random_image(&src, 64, 64, 3, 4);
    uint8_t *pixels = interleaved(&src);
    buf jpg = jpeg_encode(pixels, 64, 64, 3, JCS_RGB, false, NULL, 0);
    buf cut = {0};
    buf_append(&cut, jpg.data, jpg.size * 6 / 10);
    assert_error(read_mem("cut.jpg", &cut, &img, &err), &err, "cut.jpg", "corrupt data");
    assert_empty_image(&img);

    /* Garbage in the entropy-coded data is likewise refused. Arbitrary garbage can
     * happen to decode as valid codes (a decoder cannot tell it from data), so the
     * garbage is a run of stuffed 0xFF bytes (FF 00): 160 one bits, and no Huffman
     * table has an all-ones code, so the decoder meets a bad code whatever the
     * picture and wherever in a code it enters the run. */
    size_t sos = 0;
    for (size_t i = 0; i + 1 < jpg.size; i++)
        if (jpg.data[i] == 0xFF && jpg.data[i + 1] == 0xDA) {
            sos = i;
            break;
        }
    cr_assert_gt(sos, 0);
    cr_assert_gt(jpg.size, sos + 100);
    for (size_t i = sos + 20; i < sos + 60; i += 2) {
        jpg.data[i] = 0xFF;
        jpg.data[i + 1] = 0x00;
    }
    cr_assert_eq(read_mem("garbled.jpg", &jpg, &img, &err), -1);
    cr_assert_not_null(strstr(err.message, "garbled.jpg: JPEG: "), "%s", err.message);
    assert_empty_image(&img);
    buf_free(&cut);
    buf_free(&jpg);
    free(pixels);
    img_image_free(&src);
}

Test(io_errors, jpeg_with_too_many_scans_is_refused)
{
    /* A legal but absurd progression: every AC coefficient of every component sent one
     * bit at a time, over 2000 scans. */
    enum { MAX_AL = 10 };
    jpeg_scan_info *scans = calloc(4000, sizeof *scans);
    cr_assert_not_null(scans);
    int n = 0;
    scans[n++] = (jpeg_scan_info){.comps_in_scan = 3, .component_index = {0, 1, 2},
                                  .Ss = 0, .Se = 0, .Ah = 0, .Al = 0};
    for (int c = 0; c < 3; c++)
        for (int k = 1; k < 64; k++) {
            scans[n++] = (jpeg_scan_info){.comps_in_scan = 1, .component_index = {c},
                                          .Ss = k, .Se = k, .Ah = 0, .Al = MAX_AL};
            for (int al = MAX_AL - 1; al >= 0; al--)
                scans[n++] = (jpeg_scan_info){.comps_in_scan = 1, .component_index = {c},
                                              .Ss = k, .Se = k, .Ah = al + 1, .Al = al};
        }
    cr_assert_gt(n, 1000);
    uint8_t pixels[8 * 8 * 3];
    for (size_t i = 0; i < sizeof pixels; i++)
        pixels[i] = (uint8_t)(i * 7);
    buf jpg = jpeg_encode(pixels, 8, 8, 3, JCS_RGB, false, scans, n);
    img_image img;
    img_error err;
    assert_error(read_mem("scans.jpg", &jpg, &img, &err), &err, "scans.jpg", "too many scans");
    assert_empty_image(&img);
    buf_free(&jpg);
    free(scans);
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

PNG_TEST(io_errors, huge_png_header_is_refused_before_allocating)
{
    buf png = {0};
    png_signature_and_ihdr(&png, 100000, 100000, 8, 6);   /* RGBA: 40 GB decoded */
    uint8_t z[64];
    uLongf zlen = sizeof z;
    static const uint8_t row[8] = {0};
    cr_assert_eq(compress(z, &zlen, row, sizeof row), Z_OK);
    png_chunk(&png, "IDAT", z, (uint32_t)zlen);
    png_chunk(&png, "IEND", NULL, 0);
    img_image img;
    img_error err;
    double start = seconds_now();
    assert_error(read_mem("huge.png", &png, &img, &err), &err, "huge.png", "100000x100000");
    cr_assert_lt(seconds_now() - start, 1.0);
    assert_empty_image(&img);
    buf_free(&png);

    /* Beyond the per-side limit libpng itself stops at the header. */
    png_signature_and_ihdr(&png, 2000000, 1, 8, 0);
    png_chunk(&png, "IEND", NULL, 0);
    assert_error(read_mem("wide.png", &png, &img, &err), &err, "wide.png", "PNG");
    buf_free(&png);
}

/* A chunk may not claim more bytes than the file holds: libpng would allocate the
 * claimed length first. Every chunk type, before and after the image data. */
PNG_TEST(io_errors, png_chunk_lengths_beyond_the_file_are_refused_before_allocating)
{
    static const char *types[] = {"tEXt", "zTXt", "iCCP", "IDAT", "abCd", "IEND"};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        buf png = {0};
        png_signature_and_ihdr(&png, 16, 16, 8, 2);
        uint8_t head[8];
        put_be32(head, 0x7fffffffu);
        memcpy(head + 4, types[t], 4);
        buf_append(&png, head, 8);
        buf_append_str(&png, "abcdefghijk");
        img_image img;
        img_error err;
        double start = seconds_now();
        assert_error(read_mem("long.png", &png, &img, &err), &err, "long.png",
                     "claims 2147483647 bytes, 11 remain");
        cr_assert_lt(seconds_now() - start, 0.5, "%s", types[t]);
        cr_assert(strstr(err.message, types[t]) != NULL, "%s", err.message);
        assert_empty_image(&img);
        buf_free(&png);
    }
    /* Past 2^31 - 1 a length is invalid whatever the file size. */
    buf png = {0};
    png_signature_and_ihdr(&png, 16, 16, 8, 2);
    static const uint8_t bad[8] = {0x80, 0, 0, 0, 't', 'E', 'X', 't'};
    buf_append(&png, bad, 8);
    img_image img;
    img_error err;
    assert_error(read_mem("bad.png", &png, &img, &err), &err, "bad.png", "invalid length");
    buf_free(&png);
}

/* deflate expands at most 1032:1, so image data the IDAT bytes cannot hold is refused
 * before the image is allocated; the most compressible real image still decodes. */
PNG_TEST(io_errors, png_claiming_more_pixels_than_its_data_can_hold_is_refused)
{
    enum { W = 2000, H = 2000 };
    const size_t raw_size = (size_t)H * (W + 1);
    uint8_t *raw = calloc(raw_size, 1);   /* filter None, every pixel 0 */
    cr_assert_not_null(raw);
    uLongf zlen = compressBound(raw_size);
    uint8_t *z = malloc(zlen);
    cr_assert_not_null(z);
    cr_assert_eq(compress2(z, &zlen, raw, raw_size, 9), Z_OK);
    buf png = {0};
    png_signature_and_ihdr(&png, W, H, 8, 0);
    png_chunk(&png, "IDAT", z, (uint32_t)zlen);
    png_chunk(&png, "IEND", NULL, 0);
    img_image img;
    img_error err;
    cr_assert_eq(read_mem("flat.png", &png, &img, &err), 0, "%s", err.message);
    cr_assert_eq(img.width, W);
    cr_assert_eq(img_row(&img, 0, H - 1)[W - 1], 0);
    img_image_free(&img);
    buf_free(&png);

    /* The same data under a header that claims 16000 x 16000. */
    png_signature_and_ihdr(&png, 16000, 16000, 8, 0);
    png_chunk(&png, "IDAT", z, (uint32_t)zlen);
    png_chunk(&png, "IEND", NULL, 0);
    double start = seconds_now();
    assert_error(read_mem("claim.png", &png, &img, &err), &err, "claim.png",
                 "header claims 16000x16000 pixels, more than its");
    cr_assert_lt(seconds_now() - start, 0.5);
    assert_empty_image(&img);
    buf_free(&png);
    free(z);
    free(raw);
}

PNG_TEST(io_errors, max_pixels_option_applies_to_every_format)
{
    char *dir = tmpdir_make();
    const char *names[] = {"m.png", "m.jpg", "m.ppm"};
    img_image src, img;
    img_error err;
    make_gradient(&src, 64, 32, 3);
    for (int i = 0; i < 3; i++) {
        char *path = path_in(dir, names[i]);
        cr_assert_eq(img_write_file(path, &src, NULL, &err), 0, "%s", err.message);
        img_read_options tight = read_options(64 * 32 - 1);
        assert_error(img_read_file(path, &img, &tight, &err), &err, path, "over the limit");
        assert_empty_image(&img);
        img_read_options exact = read_options(64 * 32);
        cr_assert_eq(img_read_file(path, &img, &exact, &err), 0, "%s", err.message);
        img_image_free(&img);
        free(path);
    }
    img_image_free(&src);
    tmpdir_remove(dir);
}

Test(io_errors, unreadable_paths)
{
    char *dir = tmpdir_make();
    img_image img;
    img_error err;
    assert_error(img_read_file(dir, &img, NULL, &err), &err, dir, "is a directory");
    char *missing = path_in(dir, "missing.png");
    assert_error(img_read_file(missing, &img, NULL, &err), &err, missing,
                 "No such file or directory");
    char *message = NULL;
    cr_assert_geq(asprintf(&message, "%s: No such file or directory", missing), 0);
    cr_assert_str_eq(err.message, message);
    free(message);
    assert_empty_image(&img);

    /* Sparse, so it costs no disk space; refused from its size alone. */
    char *big = path_in(dir, "big.png");
    int fd = open(big, O_WRONLY | O_CREAT | O_EXCL, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, (off_t)(INT64_C(1) << 30) + 1), 0);
    close(fd);
    assert_error(img_read_file(big, &img, NULL, &err), &err, big, "too large");

    /* Opening a FIFO must neither hang nor be read as an image. */
    char *fifo = path_in(dir, "fifo.png");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    assert_error(img_read_file(fifo, &img, NULL, &err), &err, fifo, "not a regular file");
    free(fifo);
    free(big);
    free(missing);
    tmpdir_remove(dir);
}

/* ---- writing: refusals, atomicity, failures ---- */

Test(io_write, unknown_extensions_are_refused_and_create_nothing)
{
    char *dir = tmpdir_make();
    img_image src;
    img_error err;
    test_random_image(&src, 4, 4, 3, 1);
    char *xyz = path_in(dir, "out.xyz");
    cr_assert_eq(img_write_file(xyz, &src, NULL, &err), -1);
    char *expect = NULL;
    cr_assert_geq(asprintf(&expect,
                           "%s: unknown output format '.xyz' (use .png, .jpg, .jpeg, .ppm or .pgm)",
                           xyz),
                  0);
    cr_assert_str_eq(err.message, expect);
    free(expect);
    char *bare = path_in(dir, "out");
    assert_error(img_write_file(bare, &src, NULL, &err), &err, bare, "unknown output format");
    char names[4][256];
    cr_assert_eq(dir_entries(dir, names, 4), 0);
    free(xyz);
    free(bare);
    img_image_free(&src);
    tmpdir_remove(dir);
}

Test(io_write, channel_counts_the_format_cannot_hold_are_refused)
{
    char *dir = tmpdir_make();
    char *jpg = path_in(dir, "a.jpg");
    char *pgm = path_in(dir, "a.pgm");
    char *ppm = path_in(dir, "a.ppm");
    img_error err;
    for (int channels = 1; channels <= 4; channels++) {
        img_image src;
        test_random_image(&src, 3, 3, channels, 2);
        int rc = img_write_file(jpg, &src, NULL, &err);
        if (channels == 2 || channels == 4) {
            cr_assert_eq(rc, -1);
            char *expect = NULL;
            cr_assert_geq(asprintf(&expect, "%s: JPEG cannot store an alpha channel; use .png",
                                   jpg),
                          0);
            cr_assert_str_eq(err.message, expect);
            free(expect);
        } else {
            cr_assert_eq(rc, 0, "%s", err.message);
        }
        rc = img_write_file(pgm, &src, NULL, &err);
        if (channels != 1)
            assert_error(rc, &err, pgm, ".pgm holds gray images only");
        else
            cr_assert_eq(rc, 0, "%s", err.message);
        rc = img_write_file(ppm, &src, NULL, &err);
        if (channels != 3)
            assert_error(rc, &err, ppm, ".ppm holds RGB images only");
        else
            cr_assert_eq(rc, 0, "%s", err.message);
        if (channels == 4)
            cr_assert_not_null(strstr(err.message, ".png"), "%s", err.message);
        img_image_free(&src);
    }
    img_image none = {0};
    assert_error(img_write_file(ppm, &none, NULL, &err), &err, ppm, "cannot write");
    free(jpg);
    free(pgm);
    free(ppm);
    tmpdir_remove(dir);
}

Test(io_write, missing_directory_fails_and_creates_nothing)
{
    char *dir = tmpdir_make();
    char *sub = path_in(dir, "nope");
    char *target = path_in(sub, "out.png");
    img_image src;
    img_error err;
    test_random_image(&src, 4, 4, 1, 1);
    assert_error(img_write_file(target, &src, NULL, &err), &err, target,
                 "cannot create output: No such file or directory");
    struct stat st;
    cr_assert_neq(stat(sub, &st), 0);
    char names[4][256];
    cr_assert_eq(dir_entries(dir, names, 4), 0);
    assert_error(img_write_file(dir, &src, NULL, &err), &err, dir, "unknown output format");
    char *as_dir = path_in(dir, "d.png");
    cr_assert_eq(mkdir(as_dir, 0755), 0);
    assert_error(img_write_file(as_dir, &src, NULL, &err), &err, as_dir, "is a directory");
    free(as_dir);
    img_image_free(&src);
    free(target);
    free(sub);
    tmpdir_remove(dir);
}

Test(io_write, dev_full_reports_no_space)
{
    struct stat st;
    if (stat("/dev/full", &st) != 0 || !S_ISCHR(st.st_mode))
        cr_skip_test("no /dev/full here");
    /* The output format comes from the name, so point a named link at the device. */
    char *dir = tmpdir_make();
    const char *names[] = {"full.png", "full.jpg", "full.ppm", "full.pgm"};
    const int channels[] = {4, 3, 3, 1};
    const int sizes[] = {1, 300};   /* one fails at the flush, one inside the encoder */
    for (int i = 0; i < 4; i++) {
        for (int s = 0; s < 2; s++) {
            char *link = path_in(dir, names[i]);
            cr_assert_eq(symlink("/dev/full", link), 0);
            img_image src;
            img_error err;
            test_random_image(&src, sizes[s], sizes[s], channels[i], 3);
            assert_error(img_write_file(link, &src, NULL, &err), &err, link,
                         "write failed: No space left on device");
            cr_assert_eq(lstat(link, &st), 0);
            cr_assert(S_ISLNK(st.st_mode), "the link was replaced");
            img_image_free(&src);
            unlink(link);
            free(link);
        }
    }
    char names_left[4][256];
    cr_assert_eq(dir_entries(dir, names_left, 4), 0);
    tmpdir_remove(dir);
}

Test(io_write, refused_write_leaves_the_existing_target_untouched)
{
    char *dir = tmpdir_make();
    char *target = path_in(dir, "keep.jpg");
    static const char original[] = "not really a jpeg, but precious";
    write_bytes(target, original, sizeof original);
    img_image src;
    img_error err;
    test_random_image(&src, 8, 8, 4, 1);
    assert_error(img_write_file(target, &src, NULL, &err), &err, target, "alpha");
    buf b = read_bytes(target);
    cr_assert_eq(b.size, sizeof original);
    cr_assert_eq(memcmp(b.data, original, sizeof original), 0);
    buf_free(&b);
    char names[4][256];
    cr_assert_eq(dir_entries(dir, names, 4), 1);
    cr_assert_str_eq(names[0], "keep.jpg");
    img_image_free(&src);
    free(target);
    tmpdir_remove(dir);
}

Test(io_write, failure_in_mid_write_removes_the_temporary_and_keeps_the_target)
{
    char *dir = tmpdir_make();
    const char *names[] = {"keep.png", "keep.jpg", "keep.ppm"};
    static const char original[] = "old contents";
    for (int i = 0; i < 3; i++) {
        char *target = path_in(dir, names[i]);
        write_bytes(target, original, sizeof original);
        free(target);
    }
    /* Writes past 8 KiB now fail with EFBIG; each test runs in its own process. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    struct rlimit small = {.rlim_cur = 8192, .rlim_max = old.rlim_max};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    img_image src;
    img_error err;
    test_random_image(&src, 256, 256, 3, 77);   /* noise: far over 8 KiB in every format */
    for (int i = 0; i < 3; i++) {
        char *target = path_in(dir, names[i]);
        assert_error(img_write_file(target, &src, NULL, &err), &err, target,
                     "write failed: File too large");
        free(target);
    }
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    for (int i = 0; i < 3; i++) {
        char *target = path_in(dir, names[i]);
        buf b = read_bytes(target);
        cr_assert_eq(b.size, sizeof original);
        cr_assert_eq(memcmp(b.data, original, sizeof original), 0);
        buf_free(&b);
        free(target);
    }
    char entries[8][256];
    cr_assert_eq(dir_entries(dir, entries, 8), 3, "a temporary file was left behind");
    img_image_free(&src);
    tmpdir_remove(dir);
}

Test(io_write, replaces_atomically_with_sane_permissions)
{
    char *dir = tmpdir_make();
    char *fresh = path_in(dir, "fresh.png");
    char *existing = path_in(dir, "existing.png");
    img_image a, b, back;
    img_error err;
    test_random_image(&a, 5, 5, 3, 1);
    test_random_image(&b, 6, 4, 2, 2);
    mode_t old_mask = umask(022);
    cr_assert_eq(img_write_file(fresh, &a, NULL, &err), 0, "%s", err.message);
    struct stat st;
    cr_assert_eq(stat(fresh, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0644, "mode %o", (unsigned)(st.st_mode & 0777));
    umask(077);
    cr_assert_eq(img_write_file(existing, &a, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(stat(existing, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", (unsigned)(st.st_mode & 0777));
    umask(old_mask);

    /* Overwriting keeps the target's permissions and replaces its contents. */
    cr_assert_eq(chmod(existing, 0640), 0);
    cr_assert_eq(img_write_file(existing, &b, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(stat(existing, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0640);
    cr_assert_eq(img_read_file(existing, &back, NULL, &err), 0, "%s", err.message);
    cr_assert(img_image_equal(&b, &back));
    char names[4][256];
    cr_assert_eq(dir_entries(dir, names, 4), 2);
    img_image_free(&a);
    img_image_free(&b);
    img_image_free(&back);
    free(fresh);
    free(existing);
    tmpdir_remove(dir);
}

Test(io_write, writing_through_a_symlink_updates_the_file_it_points_to)
{
    char *dir = tmpdir_make();
    char *real = path_in(dir, "real.png");
    char *link = path_in(dir, "link.png");
    img_image a, b, back;
    img_error err;
    test_random_image(&a, 3, 3, 1, 1);
    test_random_image(&b, 4, 2, 3, 2);
    cr_assert_eq(img_write_file(real, &a, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(symlink("real.png", link), 0);
    cr_assert_eq(img_write_file(link, &b, NULL, &err), 0, "%s", err.message);
    struct stat st;
    cr_assert_eq(lstat(link, &st), 0);
    cr_assert(S_ISLNK(st.st_mode), "the link was replaced by a file");
    cr_assert_eq(img_read_file(real, &back, NULL, &err), 0, "%s", err.message);
    cr_assert(img_image_equal(&b, &back));
    char names[4][256];
    cr_assert_eq(dir_entries(dir, names, 4), 2);
    img_image_free(&a);
    img_image_free(&b);
    img_image_free(&back);
    free(real);
    free(link);
    tmpdir_remove(dir);
}

/* Tests of the JPEG reader beyond plain gray and RGB: CMYK and YCCK files read as RGB,
 * the marker pre-scan's refusals (component counts, segment lengths) and the bound that
 * keeps a tiny file from claiming a huge image.
 *
 * Every input is made here with libjpeg and, where it has to be malformed, patched by
 * hand. Expected CMYK colours are either literal numbers worked out by hand from
 * Pillow's formula or, for random content, an independent libjpeg decode run through
 * the formula in this file. */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jpeglib.h>

#include "image.h"
#include "image_io.h"
#include "test_helpers.h"

/* ---- making JPEGs ---- */

typedef struct jpeg_file {
    uint8_t *data;
    size_t size;
} jpeg_file;

typedef struct jpeg_spec {
    int width, height, components;
    J_COLOR_SPACE in_space;
    J_COLOR_SPACE jpeg_space;   /* JCS_UNKNOWN here means libjpeg's default for in_space */
    int quality;                /* 0 means 90 */
    bool progressive;
    bool arith;
    bool no_adobe_marker;       /* libjpeg writes one for CMYK and YCCK unless told not to */
    const jpeg_scan_info *scans;
    int num_scans;
} jpeg_spec;

static void test_jpeg_error(j_common_ptr cinfo)
{
    char message[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, message);
    cr_assert_fail("libjpeg (test codec): %s", message);
    abort();
}

/* pixels: interleaved, spec->components bytes per pixel. */
static jpeg_file jpeg_make(const jpeg_spec *spec, const uint8_t *pixels)
{
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jerr.error_exit = test_jpeg_error;
    jpeg_create_compress(&cinfo);
    unsigned char *mem = NULL;
    unsigned long mem_size = 0;
    jpeg_mem_dest(&cinfo, &mem, &mem_size);
    cinfo.image_width = (JDIMENSION)spec->width;
    cinfo.image_height = (JDIMENSION)spec->height;
    cinfo.input_components = spec->components;
    cinfo.in_color_space = spec->in_space;
    jpeg_set_defaults(&cinfo);
    if (spec->jpeg_space != JCS_UNKNOWN)
        jpeg_set_colorspace(&cinfo, spec->jpeg_space);
    if (spec->no_adobe_marker)
        cinfo.write_Adobe_marker = FALSE;
    jpeg_set_quality(&cinfo, spec->quality ? spec->quality : 90, TRUE);
    cinfo.arith_code = spec->arith;
    if (spec->progressive)
        jpeg_simple_progression(&cinfo);
    if (spec->scans) {
        cinfo.scan_info = spec->scans;
        cinfo.num_scans = spec->num_scans;
    }
    jpeg_start_compress(&cinfo, TRUE);
    const size_t row_bytes = (size_t)spec->width * (size_t)spec->components;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)pixels + (size_t)cinfo.next_scanline * row_bytes;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    jpeg_file f = {malloc(mem_size), mem_size};
    cr_assert_not_null(f.data);
    memcpy(f.data, mem, mem_size);
    free(mem);
    return f;
}

static void jpeg_file_free(jpeg_file *f)
{
    free(f->data);
    f->data = NULL;
    f->size = 0;
}

/* Offset of the 0xFF of the first segment before the first scan whose marker
 * satisfies want (libjpeg writes no fill bytes, so segments follow each other). */
static size_t jpeg_find_segment(const jpeg_file *f, bool (*want)(uint8_t marker))
{
    size_t pos = 2;
    while (pos + 4 <= f->size && f->data[pos] == 0xFF) {
        const uint8_t marker = f->data[pos + 1];
        if (want(marker))
            return pos;
        cr_assert_neq(marker, 0xDA, "no such segment before the first scan");
        pos += 2 + ((size_t)f->data[pos + 2] << 8 | f->data[pos + 3]);
    }
    cr_assert_fail("malformed test JPEG");
    return 0;
}

static bool is_sof(uint8_t m)
{
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

static bool is_dqt(uint8_t m)
{
    return m == 0xDB;
}

static bool is_sos(uint8_t m)
{
    return m == 0xDA;
}

/* A Huffman- or arithmetic-coded 8x8 gray JPEG, a starting point for patching. */
static jpeg_file small_gray_jpeg(bool progressive, bool arith)
{
    uint8_t pixels[8 * 8];
    for (size_t i = 0; i < sizeof pixels; i++)
        pixels[i] = (uint8_t)(i * 4);
    jpeg_spec spec = {.width = 8, .height = 8, .components = 1, .in_space = JCS_GRAYSCALE,
                      .progressive = progressive, .arith = arith};
    return jpeg_make(&spec, pixels);
}

static void patch_sof_size(jpeg_file *f, unsigned width, unsigned height)
{
    const size_t sof = jpeg_find_segment(f, is_sof);
    uint8_t *p = f->data + sof + 5;   /* FF Cn, length(2), precision(1), then Y, X */
    p[0] = (uint8_t)(height >> 8);
    p[1] = (uint8_t)height;
    p[2] = (uint8_t)(width >> 8);
    p[3] = (uint8_t)width;
}

/* ---- the CMYK -> RGB reference ---- */

/* Pillow's cmyk2rgb: K' = 255 - K, t = C*K' + 128, R = K' - ((t + (t >> 8)) >> 8). */
static uint8_t pillow_ink(unsigned ink, unsigned k)
{
    const unsigned white = 255u - k;
    const unsigned t = ink * white + 128u;
    return (uint8_t)(white - ((t + (t >> 8)) >> 8));
}

/* Decodes f as raw CMYK with libjpeg and converts it with the formula, undoing the
 * Adobe inversion when the file carries the Adobe marker. Interleaved RGB. */
static uint8_t *reference_rgb(const jpeg_file *f, int *width, int *height)
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jerr.error_exit = test_jpeg_error;
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, f->data, (unsigned long)f->size);
    cr_assert_eq(jpeg_read_header(&cinfo, TRUE), JPEG_HEADER_OK);
    cr_assert(cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK);
    cinfo.out_color_space = JCS_CMYK;
    jpeg_start_decompress(&cinfo);
    const unsigned invert = cinfo.saw_Adobe_marker ? 255u : 0u;
    const size_t w = cinfo.output_width, h = cinfo.output_height;
    uint8_t *cmyk = malloc(w * 4);
    uint8_t *rgb = malloc(w * h * 3);
    cr_assert(cmyk && rgb);
    while (cinfo.output_scanline < cinfo.output_height) {
        const size_t y = cinfo.output_scanline;
        JSAMPROW row = cmyk;
        cr_assert_eq(jpeg_read_scanlines(&cinfo, &row, 1), 1);
        for (size_t x = 0; x < w; x++) {
            const unsigned k = cmyk[x * 4 + 3] ^ invert;
            for (size_t c = 0; c < 3; c++)
                rgb[(y * w + x) * 3 + c] = pillow_ink(cmyk[x * 4 + c] ^ invert, k);
        }
    }
    cr_assert_eq(jerr.num_warnings, 0);
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(cmyk);
    *width = (int)w;
    *height = (int)h;
    return rgb;
}

static void assert_matches_reference(const jpeg_file *f, const char *name)
{
    int w, h;
    uint8_t *want = reference_rgb(f, &w, &h);
    img_image img;
    img_error err;
    cr_assert_eq(img_read_memory(name, f->data, f->size, &img, NULL, &err), 0, "%s",
                 err.message);
    cr_assert_eq(img.channels, 3);
    cr_assert_eq(img.width, w);
    cr_assert_eq(img.height, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                const uint8_t got = img_row(&img, c, y)[x];
                const uint8_t exp = want[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c];
                cr_assert_eq(got, exp, "%s: pixel (%d,%d) channel %d is %d, want %d", name, x, y,
                             c, got, exp);
            }
    img_image_free(&img);
    free(want);
}

static void assert_pixel(const img_image *img, int x, int y, int r, int g, int b)
{
    const int got[3] = {img_row(img, 0, y)[x], img_row(img, 1, y)[x], img_row(img, 2, y)[x]};
    cr_assert(got[0] == r && got[1] == g && got[2] == b,
              "pixel (%d,%d) is (%d,%d,%d), want (%d,%d,%d)", x, y, got[0], got[1], got[2], r,
              g, b);
}

/* ---- CMYK and YCCK ---- */

typedef struct cmyk {
    uint8_t c, m, y, k;
} cmyk;

/* A 13x11 image of four flat patches meeting at (8, 8), so that every 8x8 block (and
 * the replicated padding libjpeg adds at the odd edges) is flat: at quality 100 a flat
 * block survives the DCT exactly. Samples are stored inverted when adobe is set, as
 * Adobe software writes them. */
static jpeg_file four_patches(const cmyk patch[4], J_COLOR_SPACE space, bool adobe)
{
    enum { W = 13, H = 11 };
    uint8_t pixels[W * H * 4];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const cmyk *p = &patch[(y >= 8) * 2 + (x >= 8)];
            uint8_t *px = pixels + ((size_t)y * W + (size_t)x) * 4;
            const uint8_t flip = adobe ? 0xFF : 0x00;
            px[0] = p->c ^ flip;
            px[1] = p->m ^ flip;
            px[2] = p->y ^ flip;
            px[3] = p->k ^ flip;
        }
    jpeg_spec spec = {.width = W, .height = H, .components = 4, .in_space = JCS_CMYK,
                      .jpeg_space = space, .quality = 100, .no_adobe_marker = !adobe};
    return jpeg_make(&spec, pixels);
}

static void assert_patches(const img_image *img, const int rgb[4][3])
{
    cr_assert_eq(img->channels, 3);
    cr_assert_eq(img->width, 13);
    cr_assert_eq(img->height, 11);
    for (int y = 0; y < 11; y++)
        for (int x = 0; x < 13; x++) {
            const int *want = rgb[(y >= 8) * 2 + (x >= 8)];
            assert_pixel(img, x, y, want[0], want[1], want[2]);
        }
}

Test(jpeg_cmyk, flat_cmyk_patches_give_pillow_rgb_exactly)
{
    const cmyk patch[4] = {{0, 255, 255, 0}, {100, 50, 200, 30}, {0, 0, 0, 0},
                           {10, 240, 128, 200}};
    /* By hand: K' = 255 - K, t = C*K' + 128, R = K' - ((t + (t >> 8)) >> 8).
     *   (0,255,255,0):     K' 255; t 128, 65153, 65153       -> 255, 0, 0
     *   (100,50,200,30):   K' 225; t 22628, 11378, 45128     -> 225-88, 225-44, 225-176
     *   (0,0,0,0):                                             -> 255, 255, 255
     *   (10,240,128,200):  K' 55;  t 678, 13328, 7168        -> 55-2, 55-52, 55-28 */
    const int rgb[4][3] = {{255, 0, 0}, {137, 181, 49}, {255, 255, 255}, {53, 3, 27}};
    jpeg_file f = four_patches(patch, JCS_CMYK, true);
    img_image img;
    img_error err;
    cr_assert_eq(img_read_memory("cmyk.jpg", f.data, f.size, &img, NULL, &err), 0, "%s",
                 err.message);
    assert_patches(&img, rgb);
    img_image_free(&img);
    jpeg_file_free(&f);
}

Test(jpeg_cmyk, flat_ycck_patches_give_pillow_rgb_exactly)
{
    /* YCCK subsamples the two chroma planes 2x2, so C, M and Y stay the same across the
     * image and only K (stored at full resolution) changes per block. (200,100,50) is
     * one of the colours libjpeg's YCbCr round trip returns exactly. */
    const cmyk patch[4] = {{200, 100, 50, 0}, {200, 100, 50, 30}, {200, 100, 50, 128},
                           {200, 100, 50, 255}};
    /* By hand:
     *   K 0:   K' 255; t 51128, 25628, 12878  -> 255-200, 255-100, 255-50
     *   K 30:  K' 225; t 45128, 22628, 11378  -> 225-176, 225-88, 225-44
     *   K 128: K' 127; t 25528, 12828, 6478   -> 127-100, 127-50, 127-25
     *   K 255: K' 0                            -> 0, 0, 0 */
    const int rgb[4][3] = {{55, 155, 205}, {49, 137, 181}, {27, 77, 102}, {0, 0, 0}};
    jpeg_file f = four_patches(patch, JCS_YCCK, true);
    img_image img;
    img_error err;
    cr_assert_eq(img_read_memory("ycck.jpg", f.data, f.size, &img, NULL, &err), 0, "%s",
                 err.message);
    assert_patches(&img, rgb);
    img_image_free(&img);
    jpeg_file_free(&f);
}

Test(jpeg_cmyk, cmyk_without_adobe_marker_is_not_inverted)
{
    const cmyk patch[4] = {{100, 50, 200, 30}, {0, 255, 255, 0}, {0, 0, 0, 255},
                           {10, 240, 128, 200}};
    const int rgb[4][3] = {{137, 181, 49}, {255, 0, 0}, {0, 0, 0}, {53, 3, 27}};
    jpeg_file f = four_patches(patch, JCS_CMYK, false);
    img_image img;
    img_error err;
    cr_assert_eq(img_read_memory("plain.jpg", f.data, f.size, &img, NULL, &err), 0, "%s",
                 err.message);
    assert_patches(&img, rgb);
    img_image_free(&img);
    jpeg_file_free(&f);
}

static uint8_t *random_bytes(size_t n, uint32_t seed)
{
    uint8_t *p = malloc(n);
    cr_assert_not_null(p);
    uint32_t s = seed;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(test_random(&s) >> 24);
    return p;
}

Test(jpeg_cmyk, random_cmyk_and_ycck_match_libjpeg_plus_formula)
{
    enum { W = 37, H = 29 };
    uint8_t *pixels = random_bytes((size_t)W * H * 4, 77);
    const struct {
        J_COLOR_SPACE space;
        bool progressive, adobe;
        const char *name;
    } cases[] = {
        {JCS_CMYK, false, true, "cmyk.jpg"},
        {JCS_CMYK, true, true, "cmyk-progressive.jpg"},
        {JCS_CMYK, false, false, "cmyk-no-adobe.jpg"},
        {JCS_YCCK, false, true, "ycck.jpg"},
        {JCS_YCCK, true, true, "ycck-progressive.jpg"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        jpeg_spec spec = {.width = W, .height = H, .components = 4, .in_space = JCS_CMYK,
                          .jpeg_space = cases[i].space, .quality = 85,
                          .progressive = cases[i].progressive,
                          .no_adobe_marker = !cases[i].adobe};
        jpeg_file f = jpeg_make(&spec, pixels);
        assert_matches_reference(&f, cases[i].name);
        jpeg_file_free(&f);
    }
    free(pixels);
}

Test(jpeg_cmyk, pixel_limit_counts_the_rgb_image)
{
    const cmyk patch[4] = {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}};
    jpeg_file f = four_patches(patch, JCS_CMYK, true);
    img_image img;
    img_error err;
    img_read_options tight = {.max_pixels = 13 * 11 - 1};
    cr_assert_eq(img_read_memory("limit.jpg", f.data, f.size, &img, &tight, &err), -1);
    cr_assert_str_eq(err.message, "limit.jpg: image size 13x11 is 143 pixels, over the limit "
                                  "of 142 (see --max-pixels)");
    img_read_options exact = {.max_pixels = 13 * 11};
    cr_assert_eq(img_read_memory("limit.jpg", f.data, f.size, &img, &exact, &err), 0, "%s",
                 err.message);
    cr_assert_eq(img.channels, 3);
    img_image_free(&img);
    jpeg_file_free(&f);
}

Test(jpeg_cmyk, every_prefix_of_a_cmyk_jpeg_fails_with_its_name)
{
    const cmyk patch[4] = {{1, 2, 3, 4}, {50, 60, 70, 80}, {200, 0, 100, 0}, {9, 9, 9, 9}};
    jpeg_file f = four_patches(patch, JCS_YCCK, true);
    img_image img;
    img_error err;
    for (size_t length = 3; length < f.size; length++) {   /* shorter is no JPEG */
        cr_assert_eq(img_read_memory("cut.jpg", f.data, length, &img, NULL, &err), -1,
                     "a prefix of %zu of %zu bytes was accepted", length, f.size);
        cr_assert_eq(strncmp(err.message, "cut.jpg: JPEG: ", 15), 0, "%s", err.message);
        cr_assert_null(strchr(err.message, '\n'), "%s", err.message);
        cr_assert_null(img.storage);
    }
    jpeg_file_free(&f);
}

/* ---- refusals from the marker pre-scan ---- */

static void assert_refused(const jpeg_file *f, const char *name, const char *message)
{
    img_image img;
    img_error err;
    cr_assert_eq(img_read_memory(name, f->data, f->size, &img, NULL, &err), -1,
                 "%s was accepted", name);
    cr_assert_str_eq(err.message, message);
    cr_assert_null(img.storage);
}

static void assert_components_refused(const jpeg_file *f, const char *name, int n)
{
    char message[200];
    snprintf(message, sizeof message,
             "%s: JPEG: %d colour components are not supported (1 gray, 3 colour or 4 CMYK)",
             name, n);
    assert_refused(f, name, message);
}

Test(jpeg_errors, component_counts_other_than_1_3_4_are_refused)
{
    /* A genuine 2-component file: libjpeg writes JCS_UNKNOWN with any count it allows. */
    uint8_t *pixels = random_bytes(16 * 8 * 3, 5);
    jpeg_spec two = {.width = 16, .height = 8, .components = 2, .in_space = JCS_UNKNOWN};
    jpeg_file f = jpeg_make(&two, pixels);
    assert_components_refused(&f, "two.jpg", 2);
    jpeg_file_free(&f);

    /* libjpeg-turbo writes at most 4, so a consistent 5-component frame header (length
     * 8 + 3 * 5, one table and 1x1 sampling each) replaces an RGB file's. */
    jpeg_spec rgb = {.width = 16, .height = 8, .components = 3, .in_space = JCS_RGB};
    jpeg_file base = jpeg_make(&rgb, pixels);
    const size_t sof = jpeg_find_segment(&base, is_sof);
    const size_t sof_end = sof + 2 + ((size_t)base.data[sof + 2] << 8 | base.data[sof + 3]);
    uint8_t five[2 + 8 + 15] = {0xFF, base.data[sof + 1], 0, 23};
    memcpy(five + 4, base.data + sof + 4, 5);   /* precision, height, width */
    five[9] = 5;
    for (int c = 0; c < 5; c++) {
        five[10 + c * 3] = (uint8_t)(c + 1);
        five[11 + c * 3] = 0x11;
        five[12 + c * 3] = 0;
    }
    f.data = malloc(base.size + sizeof five);
    cr_assert_not_null(f.data);
    memcpy(f.data, base.data, sof);
    memcpy(f.data + sof, five, sizeof five);
    memcpy(f.data + sof + sizeof five, base.data + sof_end, base.size - sof_end);
    f.size = base.size - (sof_end - sof) + sizeof five;
    assert_components_refused(&f, "five.jpg", 5);
    jpeg_file_free(&f);

    /* Only the count byte patched, so the length no longer agrees (libjpeg would say
     * "Bogus marker length"): the count is what the message must name. */
    cr_assert_eq(base.data[sof + 9], 3);
    base.data[sof + 9] = 5;
    assert_components_refused(&base, "patched.jpg", 5);
    base.data[sof + 9] = 0;
    assert_components_refused(&base, "zero.jpg", 0);
    jpeg_file_free(&base);
    free(pixels);
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

Test(jpeg_errors, huge_dimensions_in_a_tiny_file_are_refused_at_once)
{
    for (int progressive = 0; progressive <= 1; progressive++) {
        jpeg_file f = small_gray_jpeg(progressive, false);
        cr_assert_lt(f.size, 400);
        patch_sof_size(&f, 16000, 16000);   /* 256e6 pixels: inside the default limit */
        char message[200];
        snprintf(message, sizeof message,
                 "huge.jpg: JPEG: header claims 16000x16000 pixels, more than a %zu-byte file "
                 "can hold",
                 f.size);
        const double start = seconds_now();
        assert_refused(&f, "huge.jpg", message);
        cr_assert_lt(seconds_now() - start, 1.0);

        /* The pixel limit is checked first and keeps its own message. */
        img_image img;
        img_error err;
        img_read_options small = {.max_pixels = 1000000};
        cr_assert_eq(img_read_memory("huge.jpg", f.data, f.size, &img, &small, &err), -1);
        cr_assert_str_eq(err.message, "huge.jpg: image size 16000x16000 is 256000000 pixels, "
                                      "over the limit of 1000000 (see --max-pixels)");
        jpeg_file_free(&f);
    }
}

/* Arithmetic coding can spend far less than a bit on an empty block, so the block
 * bound does not apply to it; libjpeg's memory cap still stops the coefficient buffer
 * a progressive file needs. */
Test(jpeg_errors, arithmetic_progressive_huge_dimensions_hit_the_memory_cap)
{
    jpeg_file f = small_gray_jpeg(true, true);
    patch_sof_size(&f, 16000, 16000);
    char message[200];
    snprintf(message, sizeof message,
             "huge.jpg: JPEG: header claims 16000x16000 pixels, more than a %zu-byte file can "
             "hold",
             f.size);
    const double start = seconds_now();
    assert_refused(&f, "huge.jpg", message);
    cr_assert_lt(seconds_now() - start, 1.0);
    jpeg_file_free(&f);
}

/* SOI, then a gray JPEG's tables up to (not including) its first scan. */
static jpeg_file header_prefix(void)
{
    jpeg_file whole = small_gray_jpeg(false, false);
    const size_t sos = jpeg_find_segment(&whole, is_sos);
    jpeg_file f = {malloc(sos + 256), sos};
    cr_assert_not_null(f.data);
    memcpy(f.data, whole.data, sos);
    jpeg_file_free(&whole);
    return f;
}

static void append(jpeg_file *f, const void *bytes, size_t n)
{
    memcpy(f->data + f->size, bytes, n);
    f->size += n;
}

Test(jpeg_errors, truncated_segment_is_reported)
{
    jpeg_file f = header_prefix();
    static const uint8_t app1[] = {0xFF, 0xE1, 0xEA, 0x60, 'E', 'x', 'i', 'f', 0, 0};
    append(&f, app1, sizeof app1);
    static const uint8_t tail[20] = {0x4D, 0x4D, 0x00, 0x2A};
    append(&f, tail, sizeof tail);
    assert_refused(&f, "app1.jpg",
                   "app1.jpg: JPEG: file is truncated: marker 0xFFE1 segment claims 60000 "
                   "bytes, 28 remain");

    /* Cut inside the length field itself. */
    f.size -= sizeof tail + sizeof app1 - 3;
    assert_refused(&f, "short.jpg",
                   "short.jpg: JPEG: file is truncated: marker 0xFFE1 ends inside its length");
    jpeg_file_free(&f);
}

Test(jpeg_errors, segment_length_below_two_is_reported)
{
    jpeg_file whole = small_gray_jpeg(false, false);
    jpeg_file f = {malloc(whole.size + 4), 2};
    cr_assert_not_null(f.data);
    memcpy(f.data, whole.data, 2);
    static const uint8_t app1[] = {0xFF, 0xE1, 0x00, 0x01};
    append(&f, app1, sizeof app1);
    append(&f, whole.data + 2, whole.size - 2);
    assert_refused(&f, "len.jpg",
                   "len.jpg: JPEG: marker 0xFFE1 has a segment length of 1 (at least 2)");
    jpeg_file_free(&f);
    jpeg_file_free(&whole);
}

Test(jpeg_errors, fill_bytes_and_standalone_markers_are_skipped)
{
    /* Fill bytes before a marker, and TEM and RST0 (which carry no length) between
     * segments: libjpeg accepts all of them, so the pre-scan must too. */
    jpeg_file whole = small_gray_jpeg(false, false);
    const size_t dqt = jpeg_find_segment(&whole, is_dqt);
    jpeg_file f = {malloc(whole.size + 16), 0};
    cr_assert_not_null(f.data);
    append(&f, whole.data, dqt);
    static const uint8_t extra[] = {0xFF, 0x01, 0xFF, 0xD0, 0xFF, 0xFF, 0xFF};
    append(&f, extra, sizeof extra);
    append(&f, whole.data + dqt, whole.size - dqt);
    img_image a, b;
    img_error err;
    cr_assert_eq(img_read_memory("plain.jpg", whole.data, whole.size, &a, NULL, &err), 0, "%s",
                 err.message);
    cr_assert_eq(img_read_memory("filled.jpg", f.data, f.size, &b, NULL, &err), 0, "%s",
                 err.message);
    cr_assert(img_image_equal(&a, &b));
    img_image_free(&a);
    img_image_free(&b);
    jpeg_file_free(&f);
    jpeg_file_free(&whole);
}

/* ---- legitimate files the bounds must not refuse ---- */

Test(jpeg_bounds, flat_progressive_image_with_large_coefficient_buffer_decodes)
{
    /* The tightest legitimate case for both bounds: a flat colour, so every block costs
     * one bit in the DC scan and the AC scans are a few end-of-band runs, while the
     * progressive coefficient buffer (48 MiB here) is larger than the fixed part of the
     * memory cap. */
    enum { W = 4096, H = 4096 };
    uint8_t *pixels = malloc((size_t)W * H * 3);
    cr_assert_not_null(pixels);
    for (size_t i = 0; i < (size_t)W * H; i++) {
        pixels[i * 3] = 40;
        pixels[i * 3 + 1] = 150;
        pixels[i * 3 + 2] = 220;
    }
    jpeg_scan_info scans[4] = {
        {.comps_in_scan = 3, .component_index = {0, 1, 2}, .Ss = 0, .Se = 0},
        {.comps_in_scan = 1, .component_index = {0}, .Ss = 1, .Se = 63},
        {.comps_in_scan = 1, .component_index = {1}, .Ss = 1, .Se = 63},
        {.comps_in_scan = 1, .component_index = {2}, .Ss = 1, .Se = 63},
    };
    for (int variant = 0; variant < 2; variant++) {
        jpeg_spec spec = {.width = W, .height = H, .components = 3, .in_space = JCS_RGB,
                          .progressive = true};
        if (variant == 0) {
            spec.scans = scans;
            spec.num_scans = 4;
        }
        jpeg_file f = jpeg_make(&spec, pixels);
        /* Close to the bound: about one bit per 8x8 block (4:2:0, 393216 blocks). */
        if (variant == 0)
            cr_assert_lt(f.size, 393216 / 8 + 2000, "%zu bytes", f.size);
        img_image img;
        img_error err;
        cr_assert_eq(img_read_memory("flat.jpg", f.data, f.size, &img, NULL, &err), 0, "%s",
                     err.message);
        cr_assert_eq(img.width, W);
        cr_assert_eq(img.height, H);
        for (int y = 0; y < H; y += 511)
            for (int x = 0; x < W; x += 509)
                for (int c = 0; c < 3; c++) {
                    const int got = img_row(&img, c, y)[x], want = pixels[c];
                    cr_assert(abs(got - want) <= 2, "(%d,%d) channel %d: %d, want about %d", x,
                              y, c, got, want);
                }
        img_image_free(&img);
        jpeg_file_free(&f);
    }
    free(pixels);
}

Test(jpeg_bounds, arithmetic_coded_files_decode)
{
    for (int progressive = 0; progressive <= 1; progressive++) {
        uint8_t *pixels = malloc(40 * 24 * 3);
        cr_assert_not_null(pixels);
        for (int y = 0; y < 24; y++)
            for (int x = 0; x < 40; x++)
                for (int c = 0; c < 3; c++)
                    pixels[(y * 40 + x) * 3 + c] = (uint8_t)(x * 6 + y * 3 + c * 40);
        jpeg_spec spec = {.width = 40, .height = 24, .components = 3, .in_space = JCS_RGB,
                          .arith = true, .progressive = progressive};
        jpeg_file f = jpeg_make(&spec, pixels);
        img_image img;
        img_error err;
        cr_assert_eq(img_read_memory("arith.jpg", f.data, f.size, &img, NULL, &err), 0, "%s",
                     err.message);
        cr_assert_eq(img.channels, 3);
        img_image_free(&img);
        jpeg_file_free(&f);
        free(pixels);
    }
}

/* ---- the batched row loops against libjpeg one row at a time ---- */

/* Decodes f with libjpeg alone, one scanline per call, into interleaved rows. */
static uint8_t *reference_decode(const jpeg_file *f, int *width, int *height, int *components)
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jerr.error_exit = test_jpeg_error;
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, f->data, (unsigned long)f->size);
    cr_assert_eq(jpeg_read_header(&cinfo, TRUE), JPEG_HEADER_OK);
    cinfo.out_color_space = cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    const size_t row_bytes = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    uint8_t *out = malloc(row_bytes * cinfo.output_height);
    cr_assert_not_null(out);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out + row_bytes * cinfo.output_scanline;
        cr_assert_eq(jpeg_read_scanlines(&cinfo, &row, 1), 1);
    }
    jpeg_finish_decompress(&cinfo);
    *width = (int)cinfo.output_width;
    *height = (int)cinfo.output_height;
    *components = cinfo.output_components;
    jpeg_destroy_decompress(&cinfo);
    return out;
}

/* Sizes around the 16-row batch and the 8/16-pixel MCUs; gray, 4:2:0 colour and
 * progressive colour. */
Test(jpeg_rows, batched_decode_and_encode_match_libjpeg_row_by_row)
{
    static const int sizes[][2] = {{1, 1}, {7, 3}, {16, 16}, {17, 15}, {37, 29}, {64, 33},
                                   {200, 131}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int kind = 0; kind < 3; kind++) {
            const int w = sizes[s][0], h = sizes[s][1], components = kind == 0 ? 1 : 3;
            uint8_t *pixels = random_bytes((size_t)w * (size_t)h * (size_t)components,
                                           (uint32_t)(s * 3 + (size_t)kind + 1));
            /* Smooth the noise a little so that quantisation leaves varied values. */
            for (size_t i = (size_t)components; i < (size_t)w * (size_t)h * (size_t)components; i++)
                pixels[i] = (uint8_t)((pixels[i] + pixels[i - (size_t)components]) / 2);
            jpeg_spec spec = {.width = w, .height = h, .components = components,
                              .in_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB,
                              .progressive = kind == 2};
            jpeg_file f = jpeg_make(&spec, pixels);
            int rw, rh, rc;
            uint8_t *want = reference_decode(&f, &rw, &rh, &rc);
            img_image img;
            img_error err;
            cr_assert_eq(img_read_memory("rows.jpg", f.data, f.size, &img, NULL, &err), 0, "%s",
                         err.message);
            cr_assert(img.width == rw && img.height == rh && img.channels == rc);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < rc; c++)
                        cr_assert_eq(img_row(&img, c, y)[x],
                                     want[((size_t)y * (size_t)w + (size_t)x) * (size_t)rc +
                                          (size_t)c],
                                     "%dx%d kind %d: pixel (%d,%d) channel %d", w, h, kind, x, y,
                                     c);
            /* The encoder: the same bytes as libjpeg fed one row at a time with the same
             * settings (baseline, quality 90). */
            if (kind != 2) {
                uint8_t *ours = NULL;
                size_t ours_size = 0;
                cr_assert_eq(img_write_memory("rows.jpg", &img, NULL, &ours, &ours_size, &err), 0,
                             "%s", err.message);
                uint8_t *decoded = malloc((size_t)w * (size_t)h * (size_t)rc);
                cr_assert_not_null(decoded);
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        for (int c = 0; c < rc; c++)
                            decoded[((size_t)y * (size_t)w + (size_t)x) * (size_t)rc + (size_t)c] =
                                img_row(&img, c, y)[x];
                jpeg_spec again = {.width = w, .height = h, .components = rc,
                                   .in_space = rc == 1 ? JCS_GRAYSCALE : JCS_RGB};
                jpeg_file theirs = jpeg_make(&again, decoded);
                cr_assert_eq(ours_size, theirs.size, "%dx%d kind %d", w, h, kind);
                cr_assert_eq(memcmp(ours, theirs.data, ours_size), 0, "%dx%d kind %d", w, h, kind);
                jpeg_file_free(&theirs);
                free(decoded);
                free(ours);
            }
            img_image_free(&img);
            free(want);
            jpeg_file_free(&f);
            free(pixels);
        }
}

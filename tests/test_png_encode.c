/* Tests of imgpipe's PNG encoder (png_encode.h).
 *
 * Every encoding is decoded back by two independent decoders, libpng (through
 * img_read_memory) and libspng (called directly), and must give exactly the input
 * pixels: for 1 to 4 channels, degenerate and odd sizes up to 8192 wide, every filter,
 * zlib levels 0/1/6/9 and libdeflate, band counts 1, 2, 3, 7 and more bands than rows,
 * on worker threads. The zlib stream is inflated by zlib itself (which checks the
 * Adler-32), a flipped checksum byte must be refused, and the bytes must not depend on
 * the thread count. */
#include <criterion/criterion.h>

#include <spng.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "image_io.h"
#include "png_encode.h"
#include "synth.h"
#include "test_helpers.h"

/* A picture with both smooth areas (long matches, filters pay off) and noise. */
static void test_mixed_image(img_image *img, int w, int h, int channels, uint32_t seed)
{
    test_random_image(img, w, h, channels, seed);
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w / 2; x++)
                img_row(img, c, y)[x] = (uint8_t)(x * 3 + y * 5 + c * 40);
}

static void assert_same_pixels(const img_image *a, const img_image *b, const char *what)
{
    cr_assert_eq(a->width, b->width, "%s: width", what);
    cr_assert_eq(a->height, b->height, "%s: height", what);
    cr_assert_eq(a->channels, b->channels, "%s: channels", what);
    for (int c = 0; c < a->channels; c++)
        for (int y = 0; y < a->height; y++)
            cr_assert(memcmp(img_row(a, c, y), img_row(b, c, y), (size_t)a->width) == 0,
                      "%s: plane %d row %d differs", what, c, y);
}

/* Decodes with libspng; returns its error code (0 when decoded into *out). */
static int spng_decode(const uint8_t *data, size_t size, img_image *out)
{
    spng_ctx *ctx = spng_ctx_new(0);
    cr_assert(ctx);
    struct spng_ihdr ihdr;
    size_t len = 0;
    int rc = spng_set_png_buffer(ctx, data, size);
    if (rc == 0)
        rc = spng_get_ihdr(ctx, &ihdr);
    if (rc == 0)
        rc = spng_decoded_image_size(ctx, SPNG_FMT_PNG, &len);
    uint8_t *pixels = rc == 0 ? malloc(len) : NULL;
    if (rc == 0)
        rc = spng_decode_image(ctx, pixels, len, SPNG_FMT_PNG, 0);
    if (rc == 0) {
        static const int channels_of[7] = {1, 0, 3, 0, 2, 0, 4};
        const int channels = channels_of[ihdr.color_type];
        img_error err;
        cr_assert_eq(ihdr.bit_depth, 8);
        cr_assert_eq(img_image_alloc(out, (int)ihdr.width, (int)ihdr.height, channels, 0, &err),
                     0);
        for (int y = 0; y < out->height; y++)
            for (int x = 0; x < out->width; x++)
                for (int c = 0; c < channels; c++)
                    img_row(out, c, y)[x] =
                        pixels[((size_t)y * out->width + (size_t)x) * (size_t)channels +
                               (size_t)c];
    }
    free(pixels);
    spng_ctx_free(ctx);
    return rc;
}

/* The concatenated IDAT data of a PNG (the zlib stream). */
static uint8_t *idat_stream(const uint8_t *png, size_t size, size_t *len)
{
    uint8_t *out = malloc(size);
    cr_assert(out);
    *len = 0;
    for (size_t pos = 8; pos + 12 <= size;) {
        const size_t n = (size_t)png[pos] << 24 | (size_t)png[pos + 1] << 16 |
                         (size_t)png[pos + 2] << 8 | png[pos + 3];
        if (memcmp(png + pos + 4, "IDAT", 4) == 0) {
            memcpy(out + *len, png + pos + 8, n);
            *len += n;
        }
        pos += n + 12;
    }
    return out;
}

/* Encodes, then checks the bytes with libpng, libspng and zlib (Adler-32 included). */
static void check_round_trip(const img_image *img, const img_png_encoding *enc)
{
    char what[160], how[96];
    img_png_encoding_describe(enc, how, sizeof how);
    snprintf(what, sizeof what, "%dx%d x%d %s threads=%d", img->width, img->height,
             img->channels, how, enc->threads);
    uint8_t *data = NULL;
    size_t size = 0;
    img_error err = {{0}};
    cr_assert_eq(img_png_encode_memory("t.png", img, enc, &data, &size, &err), 0, "%s: %s", what,
                 err.message);

    img_image back = {0};
    cr_assert_eq(img_read_memory("t.png", data, size, &back, NULL, &err), 0, "%s: libpng: %s",
                 what, err.message);
    assert_same_pixels(img, &back, what);
    img_image_free(&back);

    const int spng_rc = spng_decode(data, size, &back);
    cr_assert_eq(spng_rc, 0, "%s: libspng: %s", what, spng_strerror(spng_rc));
    assert_same_pixels(img, &back, what);
    img_image_free(&back);

    /* zlib's inflate checks the Adler-32 and the stream's end. */
    size_t zlen = 0;
    uint8_t *z = idat_stream(data, size, &zlen);
    const size_t raw = (size_t)img->height * (1 + (size_t)img->width * (size_t)img->channels);
    uint8_t *filtered = malloc(raw + 1);
    uLongf got = (uLongf)raw + 1;
    cr_assert_eq(uncompress(filtered, &got, z, (uLong)zlen), Z_OK, "%s: zlib", what);
    cr_assert_eq(got, raw, "%s: filtered size", what);
    for (int y = 0; y < img->height; y++) {
        const uint8_t type = filtered[(size_t)y * (raw / (size_t)img->height)];
        if (enc->filter == IMG_PNG_FILTER_ADAPTIVE)
            cr_assert_leq(type, 4, "%s: row %d filter %d", what, y, type);
        else
            cr_assert_eq(type, (uint8_t)enc->filter, "%s: row %d filter %d", what, y, type);
    }
    free(filtered);
    free(z);
    free(data);
}

static const img_png_filter all_filters[] = {
    IMG_PNG_FILTER_NONE,  IMG_PNG_FILTER_SUB,   IMG_PNG_FILTER_UP,
    IMG_PNG_FILTER_AVERAGE, IMG_PNG_FILTER_PAETH, IMG_PNG_FILTER_ADAPTIVE,
};
#define FILTER_COUNT (int)(sizeof all_filters / sizeof all_filters[0])

static const struct { int width, height; } small_sizes[] = {{1, 1}, {1, 37}, {37, 1}, {13, 7}, {255, 3}, {3, 64}};
#define SMALL_SIZE_COUNT (int)(sizeof small_sizes / sizeof small_sizes[0])

Test(png_encode, zlib_round_trip_every_channel_size_filter_level_and_band_count)
{
    static const int levels[] = {0, 1, 6, 9};
    for (int ch = 1; ch <= 4; ch++)
        for (int s = 0; s < SMALL_SIZE_COUNT; s++) {
            img_image img = {0};
            test_mixed_image(&img, small_sizes[s].width, small_sizes[s].height, ch,
                             (uint32_t)(ch * 100 + s + 1));
            const int band_counts[] = {1, 2, 3, 7, img.height + 5, 0};
            for (int f = 0; f < FILTER_COUNT; f++)
                for (int l = 0; l < 4; l++)
                    for (int b = 0; b < 6; b++) {
                        const img_png_encoding enc = {.deflater = IMG_PNG_DEFLATE_ZLIB,
                                                      .level = levels[l],
                                                      .filter = all_filters[f],
                                                      .bands = band_counts[b],
                                                      .threads = 3};
                        check_round_trip(&img, &enc);
                    }
            img_image_free(&img);
        }
}

Test(png_encode, wide_images_8192_by_8)
{
    for (int ch = 1; ch <= 4; ch++) {
        img_image img = {0};
        test_mixed_image(&img, 8192, 8, ch, (uint32_t)(ch + 7));
        static const int band_counts[] = {1, 3, 13};
        for (int f = 0; f < FILTER_COUNT; f++)
            for (int b = 0; b < 3; b++) {
                const img_png_encoding enc = {.level = f % 2 ? 6 : 1, .filter = all_filters[f],
                                              .bands = band_counts[b], .threads = 2};
                check_round_trip(&img, &enc);
            }
        img_image_free(&img);
    }
}

Test(png_encode, strategies_round_trip)
{
    img_image img = {0};
    test_mixed_image(&img, 61, 29, 3, 5);
    for (int s = IMG_PNG_STRATEGY_DEFAULT; s <= IMG_PNG_STRATEGY_RLE; s++)
        for (int l = 1; l <= 9; l += 4) {
            const img_png_encoding enc = {.level = l, .strategy = (img_png_strategy)s,
                                          .filter = IMG_PNG_FILTER_ADAPTIVE, .bands = 4};
            check_round_trip(&img, &enc);
        }
    img_image_free(&img);
}

Test(png_encode, libdeflate_round_trip)
{
    static const int levels[] = {0, 1, 6, 12};
    for (int ch = 1; ch <= 4; ch++)
        for (int s = 0; s < SMALL_SIZE_COUNT; s++) {
            img_image img = {0};
            test_mixed_image(&img, small_sizes[s].width, small_sizes[s].height, ch,
                             (uint32_t)(ch * 31 + s));
            for (int f = 0; f < FILTER_COUNT; f++)
                for (int l = 0; l < 4; l++) {
                    const img_png_encoding enc = {.deflater = IMG_PNG_DEFLATE_LIBDEFLATE,
                                                  .level = levels[l], .filter = all_filters[f],
                                                  .bands = 3, .threads = 2};
                    check_round_trip(&img, &enc);
                }
            img_image_free(&img);
        }
}

Test(png_encode, every_level_round_trips_through_img_write_memory)
{
    img_image img = {0};
    img_error err = {{0}};
    cr_assert_eq(img_synth_image(&img, 301, 157, 3, 0, &err), 0, "%s", err.message);
    for (int level = IMG_PNG_LEVEL_MIN; level <= IMG_PNG_LEVEL_MAX; level++) {
        const img_write_options wo = {.png_level = level, .png_level_set = true, .threads = 2};
        uint8_t *data = NULL;
        size_t size = 0;
        cr_assert_eq(img_write_memory("x.png", &img, &wo, &data, &size, &err), 0, "level %d: %s",
                     level, err.message);
        img_image back = {0};
        cr_assert_eq(img_read_memory("x.png", data, size, &back, NULL, &err), 0, "%s",
                     err.message);
        assert_same_pixels(&img, &back, "img_write_memory");
        img_image_free(&back);
        free(data);
    }
    img_image_free(&img);
}

/* Bands define the bytes: 1, 2, 3 or 8 threads give the same file for a given band
 * split, and the automatic split depends on the image alone, so the default file is
 * the same on every machine. */
Test(png_encode, bytes_do_not_depend_on_threads)
{
    img_image img = {0};
    test_mixed_image(&img, 700, 500, 3, 11);   /* ~1 MB filtered: several automatic bands */
    static const int band_counts[] = {0, 1, 7};
    static const int thread_counts[] = {0, 1, 2, 3, 8};
    for (int b = 0; b < 3; b++) {
        uint8_t *first = NULL;
        size_t first_size = 0;
        for (int t = 0; t < 5; t++) {
            img_png_encoding enc;
            cr_assert_eq(img_png_encoding_for_level(IMG_PNG_DEFAULT_LEVEL, thread_counts[t], &enc),
                         0);
            enc.bands = band_counts[b];
            uint8_t *data = NULL;
            size_t size = 0;
            img_error err = {{0}};
            cr_assert_eq(img_png_encode_memory("t.png", &img, &enc, &data, &size, &err), 0, "%s",
                         err.message);
            if (!first) {
                first = data;
                first_size = size;
                continue;
            }
            cr_assert_eq(size, first_size, "bands %d threads %d: size", band_counts[b],
                         thread_counts[t]);
            cr_assert(memcmp(data, first, size) == 0, "bands %d threads %d: bytes differ",
                      band_counts[b], thread_counts[t]);
            free(data);
        }
        free(first);
    }
    img_image_free(&img);
}

/* A wrong Adler-32 (the chunk CRC made right again, so only the checksum is wrong) must
 * be refused: the combined checksum is really checked, and really right above. */
Test(png_encode, flipped_adler32_is_refused)
{
    img_image img = {0};
    test_mixed_image(&img, 40, 30, 3, 3);
    const img_png_encoding enc = {.level = 6, .filter = IMG_PNG_FILTER_PAETH, .bands = 3,
                                  .threads = 2};
    uint8_t *data = NULL;
    size_t size = 0;
    img_error err = {{0}};
    cr_assert_eq(img_png_encode_memory("t.png", &img, &enc, &data, &size, &err), 0);
    /* The file ends: last IDAT (..., adler[4], crc[4]), IEND (0, "IEND", crc). */
    const size_t iend = size - 12, idat_crc = iend - 4, adler = idat_crc - 4;
    cr_assert(memcmp(data + iend + 4, "IEND", 4) == 0);
    size_t idat = 8;
    for (size_t pos = 8; pos < iend;) {
        const size_t n = (size_t)data[pos] << 24 | (size_t)data[pos + 1] << 16 |
                         (size_t)data[pos + 2] << 8 | data[pos + 3];
        idat = pos;
        pos += n + 12;
    }
    data[adler + 1] ^= 0x40;
    const size_t n = idat_crc - (idat + 8);
    const uLong crc = crc32(0L, data + idat + 4, (uInt)(n + 4));
    data[idat_crc] = (uint8_t)(crc >> 24);
    data[idat_crc + 1] = (uint8_t)(crc >> 16);
    data[idat_crc + 2] = (uint8_t)(crc >> 8);
    data[idat_crc + 3] = (uint8_t)crc;

    img_image back = {0};
    cr_assert_neq(spng_decode(data, size, &back), 0, "libspng accepted a wrong Adler-32");
    cr_assert_neq(img_read_memory("t.png", data, size, &back, NULL, &err), 0,
                  "libpng accepted a wrong Adler-32");
    size_t zlen = 0;
    uint8_t *z = idat_stream(data, size, &zlen);
    uint8_t buf[4096];
    uLongf got = sizeof buf;
    cr_assert_eq(uncompress(buf, &got, z, (uLong)zlen), Z_DATA_ERROR,
                 "zlib accepted a wrong Adler-32");
    free(z);
    free(data);
    img_image_free(&img);
}

Test(png_encode, write_options_are_checked)
{
    img_image img = {0};
    test_random_image(&img, 4, 4, 3, 1);
    img_error err = {{0}};
    uint8_t *data = NULL;
    size_t size = 0;
    const img_write_options high = {.png_level = 10, .png_level_set = true};
    cr_assert_neq(img_write_memory("o.png", &img, &high, &data, &size, &err), 0);
    cr_assert_str_eq(err.message, "o.png: PNG level 10 is out of range (0 to 9)");
    const img_write_options threads = {.threads = -1};
    cr_assert_neq(img_check_output("o.png", 4, 4, 3, &threads, &err), 0);
    cr_assert_str_eq(err.message, "o.png: -1 encoding threads is out of range (0 to 1024)");
    /* A zero-initialised options struct is the default level on one thread. */
    const img_write_options zero = {0};
    cr_assert_eq(img_write_memory("o.png", &img, &zero, &data, &size, &err), 0, "%s",
                 err.message);
    free(data);
    img_image_free(&img);
}

Test(png_encode, cli_png_level_range)
{
    test_result r;
    const char *args[] = {"run", "--size", "8x8", "--png-level", "10", "--output",
                          "/tmp/never-written.png", NULL};
    test_run_binary(&r, NULL, args);
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "imgpipe: --png-level: 10 is out of range (accepted: 0 to 9)\n");
    const char *bench[] = {"bench", "--png-level", "3", NULL};
    test_run_binary(&r, NULL, bench);
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "--png-level") != NULL, "%s", r.err);
}

/* The two PNG decoders (libpng: io_png.c, libspng: io_spng.c) give the same image for
 * every file, or both refuse it.
 *
 * The files: a matrix written here with libpng's encoder (every colour type and bit
 * depth, interlaced or not, tRNS keys and palette alpha, palette sizes, odd sizes from
 * 1x1 to 257x131), every PNG under tests/fixtures and tests/fuzz/corpus, and damaged
 * copies of matrix files (a changed byte with the CRC fixed up, so the damage reaches
 * the decoders' inner checks). test_io runs its PNG conversion and hardening tests
 * with each decoder. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <png.h>

#include "image.h"
#include "image_io.h"
#include "test_helpers.h"

typedef struct buf {
    uint8_t *data;
    size_t size;
} buf;

static void test_png_error(png_structp png, png_const_charp msg)
{
    (void)png;
    cr_assert_fail("libpng (test encoder): %s", msg);
}

static void test_png_write(png_structp png, png_bytep data, size_t n)
{
    buf *b = png_get_io_ptr(png);
    b->data = realloc(b->data, b->size + n);
    cr_assert_not_null(b->data);
    memcpy(b->data + b->size, data, n);
    b->size += n;
}

static void test_png_flush(png_structp png)
{
    (void)png;
}

/* One file of the matrix. */
typedef struct png_case {
    int width, height;
    int color_type, bit_depth;
    bool interlaced;
    int palette_size;        /* palette: entries in PLTE */
    int trns;                /* gray/RGB: 1 = a key colour that occurs in the image;
                                palette: number of alpha entries (0 = no tRNS) */
} png_case;

static int samples_of(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;   /* palette index */
    }
}

/* Writes sample v at index i of a packed row (big-endian at 16 bits, as PNG stores it). */
static void put_sample(uint8_t *row, size_t i, int depth, unsigned v)
{
    if (depth == 16) {
        row[2 * i] = (uint8_t)(v >> 8);
        row[2 * i + 1] = (uint8_t)v;
    } else if (depth == 8) {
        row[i] = (uint8_t)v;
    } else {
        const size_t bit = i * (size_t)depth;
        row[bit >> 3] |= (uint8_t)(v << (8 - depth - (int)(bit & 7)));
    }
}

static buf encode_case(const png_case *c, uint32_t seed)
{
    const int samples = samples_of(c->color_type);
    const size_t rowbytes = ((size_t)c->width * (size_t)samples * (size_t)c->bit_depth + 7) / 8;
    uint8_t *pixels = calloc(rowbytes * (size_t)c->height, 1);
    cr_assert_not_null(pixels);
    const unsigned max = c->color_type == PNG_COLOR_TYPE_PALETTE ? (unsigned)c->palette_size - 1
                                                                  : (1u << c->bit_depth) - 1;
    uint32_t state = test_mix_seed(seed);
    size_t n = 0;
    for (int y = 0; y < c->height; y++)
        for (size_t i = 0; i < (size_t)c->width * (size_t)samples; i++, n++) {
            /* Every 16-bit value once in order where the image is large enough, so the
             * rounding to 8 bits is compared for all of them; random values elsewhere. */
            unsigned v = c->bit_depth == 16 && n < 65536 ? (unsigned)n : test_random(&state);
            put_sample(pixels + rowbytes * (size_t)y, i, c->bit_depth, v % (max + 1));
        }

    buf out = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, test_png_error, NULL);
    cr_assert_not_null(png);
    png_infop info = png_create_info_struct(png);
    cr_assert_not_null(info);
    png_set_write_fn(png, &out, test_png_write, test_png_flush);
    png_set_IHDR(png, info, (png_uint_32)c->width, (png_uint_32)c->height, c->bit_depth,
                 c->color_type, c->interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_color palette[256];
    png_byte alpha[256];
    if (c->color_type == PNG_COLOR_TYPE_PALETTE) {
        for (int i = 0; i < c->palette_size; i++) {
            palette[i] = (png_color){(png_byte)test_random(&state), (png_byte)test_random(&state),
                                     (png_byte)test_random(&state)};
            alpha[i] = (png_byte)test_random(&state);
        }
        png_set_PLTE(png, info, palette, c->palette_size);
        if (c->trns > 0)
            png_set_tRNS(png, info, alpha, c->trns, NULL);
    } else if (c->trns) {
        /* The first pixel's colour, so the key matches somewhere. */
        png_color_16 key = {0};
        unsigned first[3] = {0};
        for (int k = 0; k < samples && k < 3; k++) {
            const size_t i = (size_t)k;
            if (c->bit_depth == 16)
                first[k] = (unsigned)pixels[2 * i] << 8 | pixels[2 * i + 1];
            else if (c->bit_depth == 8)
                first[k] = pixels[i];
            else
                first[k] = pixels[0] >> (8 - c->bit_depth);
        }
        key.gray = (png_uint_16)first[0];
        key.red = (png_uint_16)first[0];
        key.green = (png_uint_16)first[1];
        key.blue = (png_uint_16)first[2];
        png_set_tRNS(png, info, NULL, 0, &key);
    }
    png_write_info(png, info);
    png_bytep *rows = malloc(sizeof *rows * (size_t)c->height);
    cr_assert_not_null(rows);
    for (int y = 0; y < c->height; y++)
        rows[y] = pixels + rowbytes * (size_t)y;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(pixels);
    return out;
}

/* Both decoders on one file: the same image, or both refuse. Returns whether they
 * accepted it. */
static bool decoders_agree(const char *name, const uint8_t *data, size_t size)
{
    const img_read_options with_libpng = {.png_decoder = IMG_PNG_DECODER_LIBPNG};
    const img_read_options with_libspng = {.png_decoder = IMG_PNG_DECODER_LIBSPNG};
    img_image a, b;
    img_error ea, eb;
    const int ra = img_read_memory(name, data, size, &a, &with_libpng, &ea);
    const int rb = img_read_memory(name, data, size, &b, &with_libspng, &eb);
    cr_assert_eq(ra, rb, "%s: libpng %s, libspng %s", name, ra == 0 ? "accepts" : ea.message,
                 rb == 0 ? "accepts" : eb.message);
    if (ra != 0) {
        cr_assert_not_null(strstr(eb.message, name), "%s", eb.message);
        cr_assert_null(strchr(eb.message, '\n'), "%s", eb.message);
        return false;
    }
    cr_assert_eq(a.channels, b.channels, "%s: %d channels against %d", name, a.channels,
                 b.channels);
    cr_assert(img_image_equal(&a, &b), "%s: the decoders' pixels differ", name);
    img_image_free(&a);
    img_image_free(&b);
    return true;
}

static const int sizes[][2] = {{1, 1}, {2, 3}, {7, 5}, {33, 17}, {257, 131}};

/* Every colour type and bit depth, each with and without tRNS and interlacing, at
 * every size. */
static const png_case kinds[] = {
    {.color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 1},
    {.color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 2},
    {.color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 4},
    {.color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8},
    {.color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 16},
    {.color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 1, .trns = 1},
    {.color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 2, .trns = 1},
    {.color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 4, .trns = 1},
    {.color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8, .trns = 1},
    {.color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 16, .trns = 1},
    {.color_type = PNG_COLOR_TYPE_GRAY_ALPHA, .bit_depth = 8},
    {.color_type = PNG_COLOR_TYPE_GRAY_ALPHA, .bit_depth = 16},
    {.color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8},
    {.color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 16},
    {.color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8, .trns = 1},
    {.color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 16, .trns = 1},
    {.color_type = PNG_COLOR_TYPE_RGB_ALPHA, .bit_depth = 8},
    {.color_type = PNG_COLOR_TYPE_RGB_ALPHA, .bit_depth = 16},
    {.color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 1, .palette_size = 2},
    {.color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 1, .palette_size = 2, .trns = 1},
    {.color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 2, .palette_size = 3, .trns = 3},
    {.color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 4, .palette_size = 16},
    {.color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 4, .palette_size = 11, .trns = 5},
    {.color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 8, .palette_size = 256},
    {.color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 8, .palette_size = 256, .trns = 256},
    {.color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 8, .palette_size = 200, .trns = 17},
    {.color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 8, .palette_size = 1},
};

static const int expected_channels[] = {1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 4, 4, 4, 4,
                                        3, 4, 4, 3, 4, 3, 4, 4, 3};

Test(png_decoders, every_colour_type_depth_trns_interlace_and_size_decodes_the_same)
{
    cr_assert_eq(sizeof kinds / sizeof kinds[0], sizeof expected_channels / sizeof(int));
    int files = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (int interlaced = 0; interlaced < 2; interlaced++)
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                png_case c = kinds[k];
                c.width = sizes[s][0];
                c.height = sizes[s][1];
                c.interlaced = interlaced;
                buf png = encode_case(&c, (uint32_t)(k * 100 + s * 2 + (size_t)interlaced));
                char name[96];
                snprintf(name, sizeof name, "type%d-depth%d-trns%d-%s-%dx%d.png", c.color_type,
                         c.bit_depth, c.trns, interlaced ? "adam7" : "plain", c.width, c.height);
                cr_assert(decoders_agree(name, png.data, png.size), "%s was refused", name);
                img_image img;
                img_error err;
                const img_read_options options = {.png_decoder = IMG_PNG_DECODER_LIBSPNG};
                cr_assert_eq(img_read_memory(name, png.data, png.size, &img, &options, &err), 0);
                cr_assert_eq(img.channels, expected_channels[k], "%s: %d channels", name,
                             img.channels);
                img_image_free(&img);
                free(png.data);
                files++;
            }
    cr_assert_eq(files, 27 * 2 * 5);
}

/* All 65536 16-bit values, gray and RGB: the rounding to 8 bits agrees for each. */
Test(png_decoders, every_sixteen_bit_value_rounds_the_same)
{
    png_case gray = {.width = 256, .height = 256, .color_type = PNG_COLOR_TYPE_GRAY,
                     .bit_depth = 16};
    buf png = encode_case(&gray, 1);
    cr_assert(decoders_agree("all16.png", png.data, png.size));
    free(png.data);
    png_case rgb = {.width = 256, .height = 86, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 16};
    png = encode_case(&rgb, 2);
    cr_assert(decoders_agree("all16rgb.png", png.data, png.size));
    free(png.data);
}

static uint32_t crc_of(const uint8_t *data, size_t size)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; i++) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Recomputes the CRC of the chunk that holds byte offset at, so a change there is seen
 * by the chunk's consumer and not only by the CRC check. */
static void fix_crc_around(uint8_t *data, size_t size, size_t at)
{
    size_t pos = 8;
    while (pos + 12 <= size) {
        const uint32_t length = be32(data + pos);
        if ((uint64_t)pos + 12 + length > size)
            return;
        if (at < pos + 12 + length) {
            const uint32_t crc = crc_of(data + pos + 4, (size_t)length + 4);
            uint8_t *p = data + pos + 8 + length;
            p[0] = (uint8_t)(crc >> 24);
            p[1] = (uint8_t)(crc >> 16);
            p[2] = (uint8_t)(crc >> 8);
            p[3] = (uint8_t)crc;
            return;
        }
        pos += (size_t)length + 12;
    }
}

/* Damage in the header, the palette, tRNS and the compressed data, CRCs fixed up:
 * where both decoders accept a damaged file they agree on its pixels, and a decoder
 * that refuses names the file on one line. Where only one refuses is counted and must
 * stay rare: each library has checks of its own. The known split: libspng stops
 * inflating after the last row, so a zlib stream whose last bytes or Adler-32 are bad
 * under a correct chunk CRC (a broken encoder, or a crafted file; random damage breaks
 * the CRC, which both check) is accepted by libspng and refused by libpng. */
Test(png_decoders, damaged_files_decode_the_same_where_both_accept)
{
    static const size_t pick[] = {3, 8, 13, 20, 23, 26};
    int accepted = 0, refused = 0, split = 0;
    uint32_t state = test_mix_seed(77);
    for (size_t p = 0; p < sizeof pick / sizeof pick[0]; p++) {
        png_case c = kinds[pick[p]];
        c.width = 33;
        c.height = 17;
        c.interlaced = p % 2;
        buf png = encode_case(&c, (uint32_t)p);
        uint8_t *copy = malloc(png.size);
        cr_assert_not_null(copy);
        for (int trial = 0; trial < 200; trial++) {
            memcpy(copy, png.data, png.size);
            const size_t at = 8 + test_random(&state) % (png.size - 8);
            copy[at] ^= (uint8_t)(1u << (test_random(&state) % 8));
            fix_crc_around(copy, png.size, at);
            const img_read_options with_libpng = {.png_decoder = IMG_PNG_DECODER_LIBPNG};
            const img_read_options with_libspng = {.png_decoder = IMG_PNG_DECODER_LIBSPNG};
            img_image a, b;
            img_error ea, eb;
            const int ra = img_read_memory("damaged.png", copy, png.size, &a, &with_libpng, &ea);
            const int rb = img_read_memory("damaged.png", copy, png.size, &b, &with_libspng, &eb);
            if (ra == 0 && rb == 0) {
                cr_assert(img_image_equal(&a, &b), "byte %zu: the decoders' pixels differ", at);
                accepted++;
            } else if (ra != 0 && rb != 0) {
                refused++;
            } else {
                split++;
                cr_log_info("split at byte %zu: libpng: %s; libspng: %s", at,
                            ra ? ea.message : "accepted", rb ? eb.message : "accepted");
            }
            if (rb != 0) {
                cr_assert_not_null(strstr(eb.message, "damaged.png: "), "%s", eb.message);
                cr_assert_null(strchr(eb.message, '\n'), "%s", eb.message);
            }
            img_image_free(&a);
            img_image_free(&b);
        }
        free(copy);
        free(png.data);
    }
    cr_log_info("damaged files: %d accepted by both, %d refused by both, %d by one", accepted,
                refused, split);
    cr_assert_gt(accepted, 0);
    cr_assert_gt(refused, 0);
    cr_assert_lt(split * 20, accepted + refused + split, "%d of %d split the decoders", split,
                 accepted + refused + split);
}

/* Every file under dir whose name ends in .png (recursively); returns the count. */
static int compare_png_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
        if (S_ISDIR(st.st_mode)) {
            count += compare_png_files(path);
            continue;
        }
        const size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 4, ".png") != 0)
            continue;
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s: %s", path, strerror(errno));
        uint8_t *data = malloc((size_t)st.st_size + 1);
        cr_assert_not_null(data);
        cr_assert_eq(fread(data, 1, (size_t)st.st_size, f), (size_t)st.st_size);
        fclose(f);
        decoders_agree(path, data, (size_t)st.st_size);
        free(data);
        count++;
    }
    closedir(d);
    return count;
}

Test(png_decoders, fixtures_and_fuzz_corpus_decode_the_same)
{
    int count = compare_png_files(IMGPIPE_SOURCE_DIR "/tests/fixtures");
    count += compare_png_files(IMGPIPE_SOURCE_DIR "/tests/fuzz/corpus");
    cr_assert_geq(count, 5, "only %d PNG files found", count);
}

Test(png_decoders, names_and_the_default)
{
    cr_assert_str_eq(img_png_decoder_name(IMG_PNG_DECODER_DEFAULT), "libpng");
    cr_assert_str_eq(img_png_decoder_name(IMG_PNG_DECODER_LIBSPNG), "libspng");
    cr_assert_str_eq(img_png_decoder_name(IMG_PNG_DECODER_LIBPNG), "libpng");
    img_png_decoder d = IMG_PNG_DECODER_DEFAULT;
    cr_assert_eq(img_png_decoder_from_name("libpng", &d), 0);
    cr_assert_eq(d, IMG_PNG_DECODER_LIBPNG);
    cr_assert_eq(img_png_decoder_from_name("libspng", &d), 0);
    cr_assert_eq(d, IMG_PNG_DECODER_LIBSPNG);
    cr_assert_eq(img_png_decoder_from_name("spng", &d), -1);
    cr_assert_eq(img_png_decoder_from_name("", &d), -1);
}

/* ---- the command line: --png-decoder and decode-bench ---- */

#define RUN(r, ...) test_run_binary(r, NULL, (const char *[]){__VA_ARGS__, NULL})

Test(png_decoders_cli, png_decoder_option_reads_the_same_image_and_refuses_unknown_names)
{
    char dir[] = "/tmp/imgpipe-test-decoders-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char in[128], a[128], b[128];
    snprintf(in, sizeof in, "%s/in.png", dir);
    snprintf(a, sizeof a, "%s/a.png", dir);
    snprintf(b, sizeof b, "%s/b.png", dir);
    test_result r;
    RUN(&r, "run", "--size", "67x41", "--output", in);
    cr_assert_eq(r.status, 0, "%s", r.err);
    RUN(&r, "run", "--input", in, "--png-decoder", "libpng", "--output", a);
    cr_assert_eq(r.status, 0, "%s", r.err);
    RUN(&r, "run", "--input", in, "--png-decoder=libspng", "--output", b);
    cr_assert_eq(r.status, 0, "%s", r.err);
    img_image ia, ib;
    img_error err;
    cr_assert_eq(img_read_file(a, &ia, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(img_read_file(b, &ib, NULL, &err), 0, "%s", err.message);
    cr_assert(img_image_equal(&ia, &ib));
    img_image_free(&ia);
    img_image_free(&ib);

    RUN(&r, "run", "--input", in, "--png-decoder", "stb", "--output", a);
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "imgpipe: --png-decoder: unknown PNG decoder 'stb' (libpng or "
                            "libspng)\n");
    unlink(in);
    unlink(a);
    unlink(b);
    rmdir(dir);
}

Test(png_decoders_cli, decode_bench_times_both_png_decoders_and_one_jpeg_decoder)
{
    char dir[] = "/tmp/imgpipe-test-decoders-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char jpg[128];
    snprintf(jpg, sizeof jpg, "%s/in.jpg", dir);
    test_result r;
    RUN(&r, "run", "--size", "40x30", "--output", jpg);
    cr_assert_eq(r.status, 0, "%s", r.err);
    RUN(&r, "decode-bench", "--sizes", "33x17", "--reps", "3", "--warmup", "0", jpg);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_not_null(strstr(r.out, "built-in 33x17.png"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, " libpng "), "%s", r.out);
    cr_assert_not_null(strstr(r.out, " libspng "), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "33x17x3"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "libjpeg-turbo"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "20x15x3"), "%s", r.out);   /* run halves 40x30 */

    RUN(&r, "decode-bench", "--reps", "1", "/nonexistent/x.png");
    cr_assert_eq(r.status, 1);
    cr_assert_not_null(strstr(r.err, "/nonexistent/x.png"), "%s", r.err);
    RUN(&r, "decode-bench", "a.png", "--reps", "1", "b.png");
    cr_assert_eq(r.status, 2, "%s", r.err);
    unlink(jpg);
    rmdir(dir);
}

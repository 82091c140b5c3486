/* The streamed `imgpipe run` (--stream): the rows a band of output needs, bands of rows
 * against the whole run, and through the real binary: the same bytes as decode-then-run
 * for PNG and JPEG inputs and outputs, odd sizes, 1/3/4 channels, sigma 0 and 32,
 * scaling down and up and --resize; the fallbacks (decoders that report every row at
 * the end, backends without bands); and inputs that fail halfway, cleanly. */
#include <criterion/criterion.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "image_io.h"
#include "registry.h"
#include "spec.h"
#include "test_helpers.h"

#define RUN(r, ...) test_run_binary(r, NULL, (const char *[]){__VA_ARGS__, NULL})

/* ---- the last source row a band of output rows reads ---- */

/* From the definition: output row y reads blurred rows y_i0[y] and y_i1[y] (row y
 * itself without resize), and blurred row j reads source rows j - r .. j + r, clamped. */
static int brute_last_row(const img_plan *p, int y0, int y1)
{
    int last = -1;
    const int r = p->enabled[IMG_STAGE_BLUR] ? p->blur_radius : 0;
    for (int y = y0; y < y1; y++) {
        const bool resize = p->enabled[IMG_STAGE_RESIZE];
        const int taps[2] = {resize ? p->resize_y.i0[y] : y, resize ? p->resize_y.i1[y] : y};
        for (int t = 0; t < 2; t++)
            for (int d = -r; d <= r; d++) {
                int j = taps[t] + d;
                j = j < 0 ? 0 : j > p->in_height - 1 ? p->in_height - 1 : j;
                if (j > last)
                    last = j;
            }
    }
    return last;
}

typedef struct plan_case {
    int w, h;
    double sigma, scale;
    int out_w, out_h;
} plan_case;

static const plan_case plan_cases[] = {
    {97, 61, 2.0, 0.5, 0, 0},   {97, 61, 0.0, 0.5, 0, 0},   {97, 61, 32.0, 0.5, 0, 0},
    {31, 200, 2.0, 2.0, 0, 0},  {64, 64, 0.0, 1.0, 0, 0},   {50, 333, 1.3, 0.37, 0, 0},
    {120, 90, 5.0, 0, 41, 203}, {120, 90, 0.0, 0, 120, 7}, {9, 5, 32.0, 3.0, 0, 0},
};

static void make_plan(img_plan *plan, const plan_case *c)
{
    img_params p = img_params_default();
    p.sigma = c->sigma;
    p.scale = c->scale > 0 ? c->scale : 1.0;
    p.out_width = c->out_w;
    p.out_height = c->out_h;
    img_error err;
    cr_assert_eq(img_plan_init(plan, &p, c->w, c->h, 0, &err), 0, "%s", err.message);
}

Test(stream, last_source_row_matches_brute_force)
{
    for (size_t i = 0; i < sizeof plan_cases / sizeof plan_cases[0]; i++) {
        img_plan plan = {0};
        make_plan(&plan, &plan_cases[i]);
        for (int y0 = 0; y0 < plan.out_height; y0++)
            for (int y1 = y0 + 1; y1 <= plan.out_height; y1++)
                cr_assert_eq(img_plan_last_source_row(&plan, y0, y1),
                             brute_last_row(&plan, y0, y1), "case %zu rows [%d, %d)", i, y0,
                             y1);
        img_plan_free(&plan);
    }
}

/* The behaviour behind it: scrambling every source row after the last one leaves the
 * serial result of the band unchanged. */
Test(stream, rows_after_the_last_do_not_change_the_band)
{
    const img_backend *serial = img_backend_find("serial");
    cr_assert_not_null(serial);
    for (size_t i = 0; i < sizeof plan_cases / sizeof plan_cases[0]; i++) {
        img_plan plan = {0};
        make_plan(&plan, &plan_cases[i]);
        img_image src, scrambled, a, b;
        img_error err;
        test_random_image(&src, plan.in_width, plan.in_height, 3, (uint32_t)i + 1);
        test_random_image(&scrambled, plan.in_width, plan.in_height, 3, (uint32_t)i + 100);
        cr_assert_eq(img_image_alloc(&a, plan.out_width, plan.out_height, 3, 0, &err), 0);
        cr_assert_eq(img_image_alloc(&b, plan.out_width, plan.out_height, 3, 0, &err), 0);
        void *state = NULL;
        cr_assert_eq(serial->init(&state, NULL, &err), 0);
        cr_assert_eq(serial->run_pipeline(state, &a, &src, &plan, &err), 0);
        const int y0 = plan.out_height / 3, y1 = plan.out_height / 3 + 1 + plan.out_height / 4;
        const int last = img_plan_last_source_row(&plan, y0, y1);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y <= last; y++)
                memcpy(img_row(&scrambled, c, y), img_row(&src, c, y), (size_t)src.width);
        cr_assert_eq(serial->run_pipeline(state, &b, &scrambled, &plan, &err), 0);
        for (int c = 0; c < 3; c++)
            for (int y = y0; y < y1; y++)
                cr_assert_eq(memcmp(img_row(&a, c, y), img_row(&b, c, y), (size_t)a.width), 0,
                             "case %zu plane %d row %d", i, c, y);
        serial->destroy(state);
        img_image_free(&a);
        img_image_free(&b);
        img_image_free(&src);
        img_image_free(&scrambled);
        img_plan_free(&plan);
    }
}

/* ---- bands of rows against the whole run ---- */

Test(stream, run_rows_bands_equal_the_whole_run)
{
    const char *names[] = {"simd", "simd-threads"};
    for (size_t n = 0; n < 2; n++) {
        const img_backend *be = img_backend_find(names[n]);
        cr_assert_not_null(be);
        cr_assert_not_null(be->run_rows, "%s has run_rows", names[n]);
        for (size_t i = 0; i < sizeof plan_cases / sizeof plan_cases[0]; i++) {
            for (int channels = 1; channels <= 4; channels += channels == 1 ? 2 : 1) {
                img_plan plan = {0};
                make_plan(&plan, &plan_cases[i]);
                img_image src, whole, banded;
                img_error err;
                test_random_image(&src, plan.in_width, plan.in_height, channels, (uint32_t)i);
                cr_assert_eq(img_image_alloc(&whole, plan.out_width, plan.out_height, channels,
                                             0, &err), 0);
                cr_assert_eq(img_image_alloc(&banded, plan.out_width, plan.out_height,
                                             channels, 0, &err), 0);
                void *state = NULL;
                cr_assert_eq(be->init(&state, NULL, &err), 0, "%s", err.message);
                cr_assert_eq(be->run_pipeline(state, &whole, &src, &plan, &err), 0);
                uint32_t seed = (uint32_t)(i * 7 + n);
                for (int y0 = 0; y0 < plan.out_height;) {
                    int y1 = y0 + 1 + (int)(test_random(&seed) % 17);
                    if (y1 > plan.out_height)
                        y1 = plan.out_height;
                    cr_assert_eq(be->run_rows(state, &banded, &src, &plan, y0, y1, &err), 0,
                                 "%s", err.message);
                    y0 = y1;
                }
                for (int c = 0; c < channels; c++)
                    for (int y = 0; y < plan.out_height; y++)
                        cr_assert_eq(memcmp(img_row(&whole, c, y), img_row(&banded, c, y),
                                            (size_t)whole.width), 0,
                                     "%s case %zu, %d channels: plane %d row %d differs",
                                     names[n], i, channels, c, y);
                be->destroy(state);
                img_image_free(&whole);
                img_image_free(&banded);
                img_image_free(&src);
                img_plan_free(&plan);
            }
        }
    }
}

/* ---- through the binary ---- */

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/imgpipe-stream.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static void path_in(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

/* A smooth picture with a little noise, so PNG bands compress like photographs and JPEG
 * survives. */
static void write_input(const char *name, int w, int h, int channels)
{
    img_image img;
    img_error err;
    test_random_image(&img, w, h, channels, (uint32_t)(w * 31 + h));
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint8_t *p = img_row(&img, c, y) + x;
                *p = (uint8_t)((x * 255 / w + y * 255 / h) / 2 + c * 20 + (*p & 15));
            }
    char path[128];
    path_in(path, sizeof path, name);
    cr_assert_eq(img_write_file(path, &img, NULL, &err), 0, "%s", err.message);
    img_image_free(&img);
}

static void read_bytes(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s exists", path);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = malloc(*size ? *size : 1);
    cr_assert_eq(fread(*data, 1, *size, f), *size);
    fclose(f);
}

static void write_all(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, size, f), size);
    cr_assert_eq(fclose(f), 0);
}

static bool same_files(const char *a, const char *b)
{
    uint8_t *da, *db;
    size_t sa, sb;
    read_bytes(a, &da, &sa);
    read_bytes(b, &db, &sb);
    const bool same = sa == sb && memcmp(da, db, sa) == 0;
    free(da);
    free(db);
    return same;
}

/* `run` with extra options, once --stream off and once --stream on (streamed, as its
 * report says), into outputs that must be byte-identical. */
static void expect_same_output(const char *input, const char *ext, const char **extra)
{
    char in[128], off[128], on[128];
    path_in(in, sizeof in, input);
    path_in(off, sizeof off, "off");
    path_in(on, sizeof on, "on");
    strcat(off, ext);
    strcat(on, ext);
    const char *modes[2] = {"off", "on"};
    char *outs[2] = {off, on};
    for (int m = 0; m < 2; m++) {
        const char *args[32] = {"run", "--backend", "simd-threads", "--input", in,
                                "--output", outs[m], "--stream", modes[m]};
        int n = 9;
        for (int i = 0; extra[i]; i++)
            args[n++] = extra[i];
        args[n] = NULL;
        test_result r;
        test_run_binary(&r, NULL, args);
        cr_assert_eq(r.status, 0, "%s --stream %s: %s", input, modes[m], r.err);
        cr_assert_eq(strstr(r.err, "streamed:") != NULL, m == 1, "%s", r.err);
    }
    cr_assert(same_files(off, on), "%s -> %s: streamed output differs", input, ext);
    unlink(off);
    unlink(on);
}

Test(stream, streamed_output_is_byte_identical)
{
    make_dir();
    write_input("rgb.png", 1101, 703, 3);   /* several PNG encoder bands */
    write_input("gray.png", 203, 157, 1);
    write_input("rgba.png", 157, 211, 4);
    write_input("rgb.jpg", 333, 251, 3);
    write_input("gray.jpg", 97, 131, 1);
    const char *sigma0[] = {"--sigma", "0", NULL};
    const char *sigma32[] = {"--sigma", "32", NULL};
    const char *up[] = {"--scale", "2.3", "--sigma", "1.5", NULL};
    const char *resize[] = {"--resize", "101x77", NULL};
    const char *same_size[] = {"--scale", "1", "--png-level", "6", NULL};
    const char *defaults[] = {NULL};
    const char **options[] = {defaults, sigma0, sigma32, up, resize, same_size};
    const char *inputs[] = {"rgb.png", "gray.png", "rgba.png", "rgb.jpg", "gray.jpg"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        for (size_t o = 0; o < sizeof options / sizeof options[0]; o++) {
            expect_same_output(inputs[i], ".png", options[o]);
            if (strcmp(inputs[i], "rgba.png") != 0)
                expect_same_output(inputs[i], ".jpg", options[o]);
        }
    remove_dir();
}

/* Interlaced PNG, libspng and PNM report every row at the end: streamed, still equal. */
static void write_interlaced_png(const char *path, int w, int h)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    cr_assert(png && info);
    cr_assert_eq(setjmp(png_jmpbuf(png)), 0, "libpng failed writing the test file");
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_ADAM7, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    uint8_t *pixels = malloc((size_t)w * 3 * (size_t)h);
    png_bytep *rows = malloc(sizeof *rows * (size_t)h);
    cr_assert(pixels && rows);
    for (int y = 0; y < h; y++) {
        rows[y] = pixels + (size_t)y * (size_t)w * 3;
        for (int x = 0; x < w * 3; x++)
            rows[y][x] = (uint8_t)(x * 7 + y * 3 + (x * y) % 13);
    }
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(pixels);
    cr_assert_eq(fclose(f), 0);
}

Test(stream, fallback_decoders_give_the_same_bytes)
{
    make_dir();
    char path[128];
    path_in(path, sizeof path, "interlaced.png");
    write_interlaced_png(path, 301, 207);
    write_input("rgb.ppm", 299, 201, 3);
    write_input("plain.png", 299, 201, 3);
    const char *spng[] = {"--png-decoder", "libspng", NULL};
    const char *defaults[] = {NULL};
    expect_same_output("interlaced.png", ".png", defaults);
    expect_same_output("rgb.ppm", ".png", defaults);
    expect_same_output("plain.png", ".png", spng);
    remove_dir();
}

/* The default (auto) streams from a file into a PNG with a backend that has bands of
 * rows, and nothing else; --stream on refuses backends without bands and the built-in
 * picture, and streams into JPEG too. */
Test(stream, when_it_streams)
{
    make_dir();
    write_input("in.png", 120, 80, 3);
    char in[128], out[128], jpg[128];
    path_in(in, sizeof in, "in.png");
    path_in(out, sizeof out, "out.png");
    path_in(jpg, sizeof jpg, "out.jpg");
    test_result r;
    RUN(&r, "run", "--backend", "simd", "--input", in, "--output", out);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_not_null(strstr(r.err, "streamed:"), "%s", r.err);
    RUN(&r, "run", "--backend", "simd", "--input", in, "--output", jpg, "--stream", "auto");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_null(strstr(r.err, "streamed:"), "%s", r.err);
    RUN(&r, "run", "--backend", "simd", "--input", in, "--output", jpg, "--stream", "on");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_not_null(strstr(r.err, "streamed:"), "%s", r.err);
    RUN(&r, "run", "--backend", "simd-threads", "--size", "64x48", "--output", out);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_null(strstr(r.err, "streamed:"), "%s", r.err);
    RUN(&r, "run", "--backend", "serial", "--input", in, "--output", out);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_null(strstr(r.err, "streamed:"), "%s", r.err);
    RUN(&r, "run", "--backend", "serial", "--input", in, "--output", out, "--stream", "on");
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert_not_null(strstr(r.err, "--stream on needs --input and a backend"), "%s", r.err);
    RUN(&r, "run", "--backend", "simd", "--output", out, "--stream", "on");
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert_not_null(strstr(r.err, "no --input"), "%s", r.err);
    RUN(&r, "run", "--backend", "simd", "--input", in, "--output", out, "--stream", "maybe");
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert_not_null(strstr(r.err, "--stream: 'maybe' is not on, off or auto"), "%s", r.err);
    remove_dir();
}

/* ---- inputs that fail ---- */

/* Both modes: the same exit status and message, and no output file. */
static void expect_same_failure(const char *input, const char *needle)
{
    char in[128], out[128];
    path_in(in, sizeof in, input);
    path_in(out, sizeof out, "out.png");
    char first[8192] = "";
    const char *modes[2] = {"off", "on"};
    for (int m = 0; m < 2; m++) {
        test_result r;
        RUN(&r, "run", "--backend", "simd-threads", "--input", in, "--output", out, "--stream",
            modes[m]);
        cr_assert_eq(r.status, 1, "%s --stream %s: %s", input, modes[m], r.err);
        cr_assert_not_null(strstr(r.err, needle), "%s --stream %s: %s", input, modes[m], r.err);
        cr_assert_eq(access(out, F_OK), -1, "%s --stream %s left an output", input, modes[m]);
        if (m == 0)
            snprintf(first, sizeof first, "%s", r.err);
        else
            cr_assert_str_eq(r.err, first);
    }
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

Test(stream, inputs_failing_halfway_fail_cleanly)
{
    make_dir();
    write_input("big.png", 1101, 703, 3);
    write_input("big.jpg", 1101, 703, 3);
    char path[128], cut[128];
    uint8_t *data;
    size_t size;

    /* A PNG cut short: refused by the chunk walk before any row. */
    path_in(path, sizeof path, "big.png");
    read_bytes(path, &data, &size);
    path_in(cut, sizeof cut, "cut.png");
    write_all(cut, data, size * 2 / 3);
    expect_same_failure("cut.png", "file is truncated");

    /* A PNG whose third IDAT (of several: one per encoder band) holds garbage under a
     * correct CRC: the decode fails after its first rows went through the pipeline. */
    size_t pos = 8;
    int idat = 0;
    while (pos + 12 <= size) {
        const uint32_t len = be32(data + pos);
        if (memcmp(data + pos + 4, "IDAT", 4) == 0 && ++idat == 3) {
            for (uint32_t i = 0; i < len; i++)
                data[pos + 8 + i] = (uint8_t)(i * 151 + 7);
            const uLong crc = crc32(crc32(0L, Z_NULL, 0), data + pos + 4, len + 4);
            data[pos + 8 + len] = (uint8_t)(crc >> 24);
            data[pos + 9 + len] = (uint8_t)(crc >> 16);
            data[pos + 10 + len] = (uint8_t)(crc >> 8);
            data[pos + 11 + len] = (uint8_t)crc;
            break;
        }
        pos += 12 + len;
    }
    cr_assert_eq(idat, 3, "the test PNG has at least three IDAT chunks");
    path_in(cut, sizeof cut, "bad.png");
    write_all(cut, data, size);
    expect_same_failure("bad.png", "bad.png: PNG: ");
    free(data);

    /* A JPEG cut short: libjpeg fills the rest with grey and warns; every row reaches the
     * pipeline, and the run still fails with nothing written. */
    path_in(path, sizeof path, "big.jpg");
    read_bytes(path, &data, &size);
    path_in(cut, sizeof cut, "cut.jpg");
    write_all(cut, data, size / 2);
    expect_same_failure("cut.jpg", "cut.jpg: JPEG: corrupt data");
    free(data);
    remove_dir();
}

/* --trace: the streamed timeline has the decode, pipeline and encode tracks. */
Test(stream, trace_shows_the_three_tracks)
{
    make_dir();
    write_input("in.png", 640, 480, 3);
    char in[128], out[128], trace[128];
    path_in(in, sizeof in, "in.png");
    path_in(out, sizeof out, "out.png");
    path_in(trace, sizeof trace, "trace.json");
    test_result r;
    RUN(&r, "run", "--backend", "simd-threads", "--input", in, "--output", out, "--stream", "on",
        "--trace", trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    static char text[1 << 16];
    test_read_file(trace, text, sizeof text);
    cr_assert_not_null(strstr(text, "\"decode (its own thread)\""));
    cr_assert_not_null(strstr(text, "\"pipeline bands (main thread)\""));
    cr_assert_not_null(strstr(text, "\"encode bands (main thread)\""));
    cr_assert_not_null(strstr(text, "\"name\": \"read band 0\""));   /* file and header */
    cr_assert_not_null(strstr(text, "\"name\": \"decode band 0\""));
    cr_assert_not_null(strstr(text, "\"name\": \"pipeline band 0\""));
    cr_assert_not_null(strstr(text, "\"cat\": \"encode\""));
    /* Without streaming, simd-threads records no tasks: --trace is refused as before. */
    RUN(&r, "run", "--backend", "simd-threads", "--input", in, "--output", out, "--stream",
        "off", "--trace", trace);
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert_not_null(strstr(r.err, "--trace applies to"), "%s", r.err);
    remove_dir();
}

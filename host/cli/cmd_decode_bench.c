/* imgpipe decode-bench: how long decoding takes, per file and decoder.
 *
 * Each input is held in memory (a file read once, or the built-in picture encoded as
 * PNG), so only decoding is timed. A PNG is decoded by both PNG decoders, alternately
 * within each round and in the other order in the next round, so that a slow phase of
 * a shared machine falls on both; other formats have one decoder. Each decoder's
 * samples give the median and the spread (min, quartiles, max).
 *
 * The timing loop is one function, img_decode_time, so a later `imgpipe codecs` that
 * times encoders as well can call it for its decoder rows. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "envinfo.h"
#include "fsutil.h"
#include "image_io.h"
#include "stats.h"
#include "synth.h"

#define IMG_DECODE_BENCH_MAX_FILE (INT64_C(1) << 30)

/* One input: its bytes and what to call it. */
typedef struct img_decode_input {
    char name[256];
    uint8_t *data;
    size_t size;
    int width, height, channels;
    bool png;
} img_decode_input;

static const img_png_decoder png_decoders[] = {IMG_PNG_DECODER_LIBPNG, IMG_PNG_DECODER_LIBSPNG};
#define PNG_DECODER_COUNT (sizeof png_decoders / sizeof png_decoders[0])

/* Decodes input->data warmup + rounds times with each decoder (one when it is not a
 * PNG), interleaved, and fills stats[d] with the seconds of decoder d's timed rounds. */
static int img_decode_time(img_decode_input *input, const img_cli *cli, int rounds, int warmup,
                           img_stats stats[PNG_DECODER_COUNT], img_error *err)
{
    const size_t decoders = input->png ? PNG_DECODER_COUNT : 1;
    double *samples = calloc((size_t)rounds * decoders, sizeof *samples);
    if (!samples)
        return img_fail(err, "%s: out of memory", input->name);
    int rc = 0;
    for (int round = 0; round < warmup + rounds && rc == 0; round++)
        for (size_t k = 0; k < decoders && rc == 0; k++) {
            /* Odd rounds run the decoders in the other order. */
            const size_t d = round % 2 ? decoders - 1 - k : k;
            const img_read_options options = {.max_pixels = cli->max_pixels,
                                              .png_decoder = png_decoders[d]};
            img_image img;
            const double start = img_now();
            rc = img_read_memory(input->name, input->data, input->size, &img, &options, err);
            const double seconds = img_now() - start;
            if (rc != 0)
                break;
            input->width = img.width;
            input->height = img.height;
            input->channels = img.channels;
            img_image_free(&img);
            if (round >= warmup)
                samples[d * (size_t)rounds + (size_t)(round - warmup)] = seconds;
        }
    for (size_t d = 0; d < decoders && rc == 0; d++)
        img_stats_compute(samples + d * (size_t)rounds, (size_t)rounds, &stats[d]);
    free(samples);
    return rc;
}

static const char *img_decoder_label(const img_decode_input *input, size_t d)
{
    if (input->png)
        return img_png_decoder_name(png_decoders[d]);
    return input->size >= 2 && input->data[0] == 'P' ? "pnm" : "libjpeg-turbo";
}

static int img_decode_input_builtin(img_decode_input *input, img_size size, const img_cli *cli,
                                    img_error *err)
{
    img_image src;
    if (img_synth_image(&src, size.width, size.height, 3, cli->max_pixels, err) != 0)
        return -1;
    snprintf(input->name, sizeof input->name, "built-in %dx%d.png", size.width, size.height);
    const int rc = img_write_memory(input->name, &src, NULL, &input->data, &input->size, err);
    img_image_free(&src);
    input->png = true;
    return rc;
}

static int img_decode_input_file(img_decode_input *input, const char *path, img_error *err)
{
    snprintf(input->name, sizeof input->name, "%s", path);
    if (img_read_whole_file(path, (size_t)IMG_DECODE_BENCH_MAX_FILE, &input->data, &input->size,
                            err) != 0)
        return -1;
    static const uint8_t png_signature[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    input->png = input->size >= 8 && memcmp(input->data, png_signature, 8) == 0;
    return 0;
}

int img_cmd_decode_bench(const img_cli *cli)
{
    static const img_size default_sizes[] = {{1920, 1080}, {3840, 2160}};
    const int size_count = cli->size_count ? cli->size_count : cli->file_count ? 0 : 2;
    const img_size *sizes = cli->size_count ? cli->sizes : default_sizes;
    const int count = size_count + cli->file_count;
    img_decode_input *inputs = calloc((size_t)count, sizeof *inputs);
    if (!inputs) {
        fprintf(stderr, "imgpipe: out of memory\n");
        return IMG_EXIT_FAILURE;
    }
    img_error err = {{0}};
    int status = IMG_EXIT_OK;
    for (int i = 0; i < count && status == IMG_EXIT_OK; i++) {
        const int rc = i < size_count
                           ? img_decode_input_builtin(&inputs[i], sizes[i], cli, &err)
                           : img_decode_input_file(&inputs[i], cli->files[i - size_count], &err);
        if (rc != 0)
            status = IMG_EXIT_FAILURE;
    }

    img_env env;
    if (status == IMG_EXIT_OK) {
        img_env_collect(&env);
        printf("decode-bench: %d rounds after %d warm-up, decoders interleaved; ms per decode\n",
               cli->reps, cli->warmup);
        printf("machine: %s, %d cores online (%s allowed), load %.2f; imgpipe %s (%s, %s)\n",
               env.cpu_model, env.cores_online, env.affinity, env.load_average, env.commit,
               env.build_type, env.compiler);
        printf("%-28s %10s %11s %-14s %9s %9s %9s %9s %9s\n", "input", "bytes", "pixels",
               "decoder", "median", "min", "q1", "q3", "max");
    }
    for (int i = 0; i < count && status == IMG_EXIT_OK; i++) {
        img_stats stats[PNG_DECODER_COUNT];
        if (img_decode_time(&inputs[i], cli, cli->reps, cli->warmup, stats, &err) != 0) {
            status = IMG_EXIT_FAILURE;
            break;
        }
        char pixels[32];
        snprintf(pixels, sizeof pixels, "%dx%dx%d", inputs[i].width, inputs[i].height,
                 inputs[i].channels);
        const size_t decoders = inputs[i].png ? PNG_DECODER_COUNT : 1;
        for (size_t d = 0; d < decoders; d++)
            printf("%-28s %10zu %11s %-14s %9.2f %9.2f %9.2f %9.2f %9.2f\n", inputs[i].name,
                   inputs[i].size, pixels, img_decoder_label(&inputs[i], d),
                   stats[d].median * 1e3, stats[d].min * 1e3, stats[d].q1 * 1e3,
                   stats[d].q3 * 1e3, stats[d].max * 1e3);
        if (decoders == 2)
            printf("%-28s %10s %11s %-14s %8.2fx\n", "", "", "", "libspng/libpng",
                   stats[1].median / stats[0].median);
    }
    if (status != IMG_EXIT_OK)
        fprintf(stderr, "imgpipe: %s\n", err.message);
    for (int i = 0; i < count; i++)
        free(inputs[i].data);
    free(inputs);
    return status;
}

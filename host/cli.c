#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "funcs.h"
#include "image.h"

#define CMD(c) (1u << (c))
#define PIPELINE_CMDS (CMD(IMG_CMD_RUN) | CMD(IMG_CMD_VERIFY) | CMD(IMG_CMD_BENCH) | CMD(IMG_CMD_BATCH))
#define BACKEND_CMDS (CMD(IMG_CMD_RUN) | CMD(IMG_CMD_VERIFY) | CMD(IMG_CMD_BENCH) | CMD(IMG_CMD_BATCH))

typedef enum option_id {
    OPT_HELP, OPT_INPUT, OPT_OUTPUT, OPT_SIZE, OPT_BRIGHTNESS, OPT_CONTRAST, OPT_SIGMA,
    OPT_SCALE, OPT_RESIZE, OPT_MAX_PIXELS, OPT_BACKEND, OPT_BACKENDS, OPT_SIZES, OPT_THREADS,
    OPT_REPS, OPT_WARMUP, OPT_MIN_TIME, OPT_OUT, OPT_DIFF_IMAGE, OPT_CPUS, OPT_BAND_ROWS,
    OPT_SIMD, OPT_DEVICE, OPT_NO_CACHE, OPT_AUTOTUNE, OPT_TRACE, OPT_INPUT_DIR, OPT_OUTPUT_DIR,
    OPT_JOBS, OPT_COMPARE,
} option_id;

typedef struct option_spec {
    const char *name;
    option_id id;
    bool takes_value;
    unsigned commands;    /* CMD() mask of the commands that accept it */
} option_spec;

static const option_spec options[] = {
    {"help", OPT_HELP, false, ~0u},
    {"input", OPT_INPUT, true, CMD(IMG_CMD_RUN) | CMD(IMG_CMD_VERIFY) | CMD(IMG_CMD_BENCH)},
    {"output", OPT_OUTPUT, true, CMD(IMG_CMD_RUN)},
    {"size", OPT_SIZE, true, CMD(IMG_CMD_RUN) | CMD(IMG_CMD_VERIFY)},
    {"brightness", OPT_BRIGHTNESS, true, PIPELINE_CMDS},
    {"contrast", OPT_CONTRAST, true, PIPELINE_CMDS},
    {"sigma", OPT_SIGMA, true, PIPELINE_CMDS},
    {"scale", OPT_SCALE, true, PIPELINE_CMDS},
    {"resize", OPT_RESIZE, true, PIPELINE_CMDS},
    {"max-pixels", OPT_MAX_PIXELS, true, PIPELINE_CMDS},
    {"backend", OPT_BACKEND, true, CMD(IMG_CMD_RUN) | CMD(IMG_CMD_BATCH)},
    {"backends", OPT_BACKENDS, true, CMD(IMG_CMD_VERIFY) | CMD(IMG_CMD_BENCH)},
    {"sizes", OPT_SIZES, true, CMD(IMG_CMD_BENCH)},
    {"threads", OPT_THREADS, true, BACKEND_CMDS},
    {"reps", OPT_REPS, true, CMD(IMG_CMD_BENCH)},
    {"warmup", OPT_WARMUP, true, CMD(IMG_CMD_BENCH)},
    {"min-time", OPT_MIN_TIME, true, CMD(IMG_CMD_BENCH)},
    {"out", OPT_OUT, true, CMD(IMG_CMD_BENCH)},
    {"diff-image", OPT_DIFF_IMAGE, true, CMD(IMG_CMD_VERIFY)},
    {"cpus", OPT_CPUS, true, BACKEND_CMDS},
    {"band-rows", OPT_BAND_ROWS, true, BACKEND_CMDS},
    {"simd", OPT_SIMD, true, BACKEND_CMDS | CMD(IMG_CMD_INFO)},
    {"device", OPT_DEVICE, true, BACKEND_CMDS},
    {"no-cache", OPT_NO_CACHE, false, BACKEND_CMDS},
    {"autotune", OPT_AUTOTUNE, false, BACKEND_CMDS},
    {"trace", OPT_TRACE, true, CMD(IMG_CMD_RUN) | CMD(IMG_CMD_BENCH)},
    {"input-dir", OPT_INPUT_DIR, true, CMD(IMG_CMD_BATCH)},
    {"output-dir", OPT_OUTPUT_DIR, true, CMD(IMG_CMD_BATCH)},
    {"jobs", OPT_JOBS, true, CMD(IMG_CMD_BATCH)},
    {"compare", OPT_COMPARE, false, CMD(IMG_CMD_BATCH)},
};

static const struct {
    const char *name;
    img_command command;
} commands[] = {
    {"run", IMG_CMD_RUN},     {"verify", IMG_CMD_VERIFY}, {"bench", IMG_CMD_BENCH},
    {"info", IMG_CMD_INFO},   {"chart", IMG_CMD_CHART},   {"batch", IMG_CMD_BATCH},
};

static const char *command_name(img_command c)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].command == c)
            return commands[i].name;
    return "imgpipe";
}

int img_parse_long(const char *option, const char *text, long min, long max, long *out,
                   img_error *err)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *text == '\0')
        return img_fail(err, "%s: '%s' is not a whole number (accepted: %ld to %ld)", option,
                        text, min, max);
    if (*end != '\0')
        return img_fail(err, "%s: '%s' has trailing characters '%s' (accepted: %ld to %ld)",
                        option, text, end, min, max);
    if (errno == ERANGE || v < min || v > max)
        return img_fail(err, "%s: %s is out of range (accepted: %ld to %ld)", option, text, min,
                        max);
    *out = v;
    return 0;
}

int img_parse_double(const char *option, const char *text, double min, double max, double *out,
                     img_error *err)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *text == '\0')
        return img_fail(err, "%s: '%s' is not a number (accepted: %g to %g)", option, text, min,
                        max);
    if (*end != '\0')
        return img_fail(err, "%s: '%s' has trailing characters '%s' (accepted: %g to %g)", option,
                        text, end, min, max);
    if (!isfinite(v))
        return img_fail(err, "%s: '%s' is not a finite number (accepted: %g to %g)", option, text,
                        min, max);
    if (errno == ERANGE || v < min || v > max)
        return img_fail(err, "%s: %s is out of range (accepted: %g to %g)", option, text, min,
                        max);
    *out = v;
    return 0;
}

int img_parse_size(const char *option, const char *text, img_size *out, img_error *err)
{
    static const struct {
        const char *name;
        int w, h;
    } named[] = {{"720p", 1280, 720}, {"1080p", 1920, 1080}, {"4k", 3840, 2160},
                 {"8k", 7680, 4320}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strcmp(text, named[i].name) == 0) {
            *out = (img_size){named[i].w, named[i].h};
            return 0;
        }
    const char *x = strchr(text, 'x');
    if (!x)
        return img_fail(err, "%s: '%s' is not a size (WxH, 720p, 1080p, 4k or 8k)", option, text);
    char width_text[32];
    size_t n = (size_t)(x - text);
    if (n >= sizeof width_text)
        return img_fail(err, "%s: '%s' is not a size (WxH, 720p, 1080p, 4k or 8k)", option, text);
    memcpy(width_text, text, n);
    width_text[n] = '\0';
    long w, h;
    if (img_parse_long(option, width_text, 1, IMG_MAX_DIMENSION, &w, err) != 0 ||
        img_parse_long(option, x + 1, 1, IMG_MAX_DIMENSION, &h, err) != 0)
        return -1;
    *out = (img_size){(int)w, (int)h};
    return 0;
}

/* Copies a comma-separated list into storage and splits it there (argv stays
 * untouched); empty items are errors. */
static int split_list(const char *option, const char *text, char *storage, size_t storage_len,
                      const char **items, int *count, img_error *err)
{
    *count = 0;
    if (snprintf(storage, storage_len, "%s", text) >= (int)storage_len)
        return img_fail(err, "%s: list too long", option);
    char *p = storage;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (*p == '\0')
            return img_fail(err, "%s: empty item in list", option);
        if (*count == IMG_CLI_MAX_LIST)
            return img_fail(err, "%s: more than %d items", option, IMG_CLI_MAX_LIST);
        items[(*count)++] = p;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static int apply_option(img_cli *cli, const option_spec *spec, char *value, img_error *err)
{
    char name[48];
    snprintf(name, sizeof name, "--%s", spec->name);
    long l;
    double d;
    const char *items[IMG_CLI_MAX_LIST];
    int n;
    char scratch[512];
    switch (spec->id) {
    case OPT_HELP: cli->help = true; return 0;
    case OPT_INPUT: cli->input = value; return 0;
    case OPT_OUTPUT: cli->output = value; return 0;
    case OPT_SIZE: return img_parse_size(name, value, &cli->size, err);
    case OPT_BRIGHTNESS:
        if (img_parse_long(name, value, IMG_BRIGHTNESS_MIN, IMG_BRIGHTNESS_MAX, &l, err) != 0)
            return -1;
        cli->params.brightness = (int)l;
        return 0;
    case OPT_CONTRAST:
        return img_parse_double(name, value, 0.0, IMG_CONTRAST_MAX, &cli->params.contrast, err);
    case OPT_SIGMA:
        if (img_parse_double(name, value, 0.0, IMG_SIGMA_MAX, &d, err) != 0)
            return -1;
        if (d != 0.0 && d < IMG_SIGMA_MIN)
            return img_fail(err, "%s: %s is out of range (accepted: 0, or 0.5 to 32)", name, value);
        cli->params.sigma = d;
        return 0;
    case OPT_SCALE:
        if (img_parse_double(name, value, 0.0, IMG_SCALE_MAX, &d, err) != 0)
            return -1;
        if (d <= 0.0)
            return img_fail(err, "%s: %s is out of range (accepted: above 0, up to 16)", name,
                            value);
        cli->params.scale = d;
        return 0;
    case OPT_RESIZE: {
        img_size s;
        if (img_parse_size(name, value, &s, err) != 0)
            return -1;
        cli->params.out_width = s.width;
        cli->params.out_height = s.height;
        return 0;
    }
    case OPT_MAX_PIXELS: {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (value[0] == '-' || end == value || *end != '\0' || errno == ERANGE || v < 1 ||
            v > ((uint64_t)IMG_MAX_DIMENSION * IMG_MAX_DIMENSION))
            return img_fail(err, "%s: '%s' is not a pixel count from 1 to %llu", name, value,
                            (unsigned long long)IMG_MAX_DIMENSION * IMG_MAX_DIMENSION);
        cli->max_pixels = v;
        return 0;
    }
    case OPT_BACKEND: cli->backend = value; return 0;
    case OPT_BACKENDS:
        if (strcmp(value, "all") == 0) {
            cli->backend_count = 0;
            return 0;
        }
        return split_list(name, value, cli->backends_text, sizeof cli->backends_text,
                          cli->backends, &cli->backend_count, err);
    case OPT_SIZES:
        if (split_list(name, value, scratch, sizeof scratch, items, &n, err) != 0)
            return -1;
        for (int i = 0; i < n; i++)
            if (img_parse_size(name, items[i], &cli->sizes[i], err) != 0)
                return -1;
        cli->size_count = n;
        return 0;
    case OPT_THREADS:
        if (split_list(name, value, scratch, sizeof scratch, items, &n, err) != 0)
            return -1;
        if (n > 1 && cli->command != IMG_CMD_BENCH)
            return img_fail(err, "%s: a list of thread counts is only for bench", name);
        for (int i = 0; i < n; i++) {
            if (img_parse_long(name, items[i], 1, 1024, &l, err) != 0)
                return -1;
            cli->threads[i] = (int)l;
        }
        cli->thread_count = n;
        return 0;
    case OPT_REPS:
        if (img_parse_long(name, value, 1, 100000, &l, err) != 0)
            return -1;
        cli->reps = (int)l;
        return 0;
    case OPT_WARMUP:
        if (img_parse_long(name, value, 0, 10000, &l, err) != 0)
            return -1;
        cli->warmup = (int)l;
        return 0;
    case OPT_MIN_TIME:
        return img_parse_double(name, value, 0.0, 600.0, &cli->min_time, err);
    case OPT_OUT: cli->out_dir = value; return 0;
    case OPT_DIFF_IMAGE: cli->diff_image = value; return 0;
    case OPT_CPUS: cli->cpus = value; return 0;
    case OPT_BAND_ROWS:
        if (img_parse_long(name, value, 1, IMG_MAX_DIMENSION, &l, err) != 0)
            return -1;
        cli->band_rows = (int)l;
        return 0;
    case OPT_SIMD: {
        if (strcmp(value, "auto") == 0) {
            cli->simd = value;
            return 0;
        }
        char levels[128] = "auto";
        for (int l = 0; l < IMG_SIMD_LEVEL_COUNT; l++) {
            const char *level = img_simd_level_name((img_simd_level)l);
            if (strcmp(value, level) == 0) {
                cli->simd = value;
                return 0;
            }
            strncat(levels, ", ", sizeof levels - strlen(levels) - 1);
            strncat(levels, level, sizeof levels - strlen(levels) - 1);
        }
        return img_fail(err, "%s: unknown level '%s' (%s)", name, value, levels);
    }
    case OPT_DEVICE: cli->device = value; return 0;
    case OPT_NO_CACHE: cli->no_cache = true; return 0;
    case OPT_AUTOTUNE: cli->autotune = true; return 0;
    case OPT_TRACE: cli->trace = value; return 0;
    case OPT_INPUT_DIR: cli->input_dir = value; return 0;
    case OPT_OUTPUT_DIR: cli->output_dir = value; return 0;
    case OPT_JOBS:
        if (img_parse_long(name, value, 1, 256, &l, err) != 0)
            return -1;
        cli->jobs = (int)l;
        return 0;
    case OPT_COMPARE: cli->compare = true; return 0;
    }
    return img_fail(err, "%s: internal error: unhandled option", name);
}

static void set_defaults(img_cli *cli)
{
    memset(cli, 0, sizeof *cli);
    cli->params = img_params_default();
    cli->max_pixels = IMG_DEFAULT_MAX_PIXELS;
    cli->reps = 10;
    cli->warmup = 2;
    cli->min_time = 0.5;
}

int img_cli_parse(img_cli *cli, int argc, char **argv, img_error *err)
{
    set_defaults(cli);
    cli->argc = argc;
    cli->argv = argv;
    int i = 1;
    if (i < argc && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) {
        cli->help = true;
        return 0;
    }
    if (i < argc && strcmp(argv[i], "--version") == 0) {
        cli->version = true;
        return 0;
    }
    if (i >= argc)
        return img_fail(err, "no command given (run, verify, bench, info, chart, batch; see --help)");
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
        if (strcmp(argv[i], commands[c].name) == 0)
            cli->command = commands[c].command;
    if (cli->command == IMG_CMD_NONE)
        return img_fail(err, "unknown command '%s' (run, verify, bench, info, chart, batch)",
                        argv[i]);
    bool scale_given = false, resize_given = false;
    for (i++; i < argc; i++) {
        char *arg = argv[i];
        if (strcmp(arg, "-h") == 0)
            arg = "--help";
        if (strncmp(arg, "--", 2) != 0) {
            if (cli->command == IMG_CMD_CHART && !cli->chart_dir) {
                cli->chart_dir = arg;
                continue;
            }
            return img_fail(err, "%s: unexpected argument '%s'", command_name(cli->command), arg);
        }
        char *name = arg + 2;
        char *value = NULL;
        char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        const option_spec *spec = NULL;
        for (size_t o = 0; o < sizeof options / sizeof options[0]; o++)
            if (strlen(options[o].name) == name_len && strncmp(options[o].name, name, name_len) == 0)
                spec = &options[o];
        if (!spec || !(spec->commands & CMD(cli->command)))
            return img_fail(err, "%s: unknown option '--%.*s' (see imgpipe %s --help)",
                            command_name(cli->command), (int)name_len, name,
                            command_name(cli->command));
        if (spec->takes_value) {
            if (eq) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                return img_fail(err, "--%s: missing value", spec->name);
            }
        } else if (eq) {
            return img_fail(err, "--%s takes no value", spec->name);
        }
        if (spec->id == OPT_SCALE)
            scale_given = true;
        if (spec->id == OPT_RESIZE)
            resize_given = true;
        if (apply_option(cli, spec, value, err) != 0)
            return -1;
    }
    if (cli->help)
        return 0;
    if (scale_given && resize_given)
        return img_fail(err, "--scale and --resize are exclusive: give one");
    if (cli->input && (cli->size.width || cli->size.height))
        return img_fail(err, "--input and --size are exclusive: --size picks the built-in image's size");
    if (cli->command == IMG_CMD_RUN && !cli->output)
        return img_fail(err, "run: --output FILE is required");
    if (cli->command == IMG_CMD_BATCH && (!cli->input_dir || !cli->output_dir))
        return img_fail(err, "batch: --input-dir DIR and --output-dir DIR are required");
    if (cli->command == IMG_CMD_CHART && !cli->chart_dir)
        return img_fail(err, "chart: a results directory is required (imgpipe chart DIR)");
    return img_params_validate(&cli->params, err);
}

const char *img_cli_usage(img_command command)
{
    switch (command) {
    case IMG_CMD_RUN:
        return "usage: imgpipe run [--backend NAME] [--input IN | --size WxH] --output OUT\n"
               "                   [pipeline options] [backend options]\n"
               "Runs the pipeline once and writes OUT (.png, .jpg, .jpeg, .ppm, .pgm).\n"
               "Without --input the built-in 1920x1080 RGB test image is used.\n";
    case IMG_CMD_VERIFY:
        return "usage: imgpipe verify [--input IN | --size WxH] [--backends LIST]\n"
               "                      [--diff-image FILE.png] [pipeline options] [backend options]\n"
               "Runs every available backend (or LIST) and compares each stage with serial.\n"
               "Exit status 1 when any backend differs.\n";
    case IMG_CMD_BENCH:
        return "usage: imgpipe bench [--backends LIST|all] [--sizes 640x480,1080p,4k,8k|WxH,...]\n"
               "                     [--input IN] [--reps N] [--warmup N] [--min-time SEC]\n"
               "                     [--threads N[,N...]] [--out DIR] [pipeline options]\n"
               "Verifies, then times every backend; writes DIR/bench.csv and DIR/bench.json\n"
               "(default DIR: results/latest).\n";
    case IMG_CMD_INFO:
        return "usage: imgpipe info\n"
               "Lists the backends with their availability, the CPU and its SIMD extensions,\n"
               "and the OpenCL platforms and devices.\n";
    case IMG_CMD_CHART:
        return "usage: imgpipe chart DIR\nRedraws the charts of DIR/bench.csv with gnuplot.\n";
    case IMG_CMD_BATCH:
        return "usage: imgpipe batch [--backend NAME] --input-dir IN --output-dir OUT [--jobs N]\n"
               "                     [--compare] [pipeline options] [backend options]\n"
               "Processes every image of IN (.png, .jpg, .jpeg, .ppm, .pgm in any case, not\n"
               "hidden) into OUT under the same name: each input read once, each output written\n"
               "once, N readers and N writers [online cores] overlapping I/O with processing.\n"
               "Other entries of IN are ignored and counted. OUT must exist and differ from IN;\n"
               "an output that is an input (a link to one) is refused.\n"
               "--compare first times a sequential loop over the same files, writing into a\n"
               "scratch folder in OUT that is removed afterwards, and reports both runs.\n";
    case IMG_CMD_NONE:
        break;
    }
    return "usage: imgpipe COMMAND [options]\n"
           "\n"
           "Commands:\n"
           "  run      run the pipeline on one image\n"
           "  verify   prove every backend bit-identical to serial, stage by stage\n"
           "  bench    measure every backend (the main job)\n"
           "  info     backends, CPU features, OpenCL devices\n"
           "  chart    redraw the charts of a bench folder\n"
           "  batch    process a folder of images\n"
           "\n"
           "Pipeline options (defaults in brackets):\n"
           "  --brightness B   integer in [-255, 255] [20]\n"
           "  --contrast C     real in [0, 4] [1.2]\n"
           "  --sigma S        Gaussian sigma: 0 (off) or [0.5, 32] [2]\n"
           "  --scale F        resize factor in (0, 16] [0.5]\n"
           "  --resize WxH     resize to an explicit size instead of --scale\n"
           "  --max-pixels N   refuse images above N pixels [268435456]\n"
           "\n"
           "Backend options:\n"
           "  --threads N      worker threads [online cores]\n"
           "  --cpus LIST      restrict the process to these cores (e.g. 0 or 0,1)\n"
           "  --band-rows N    rows per task [chosen for the cache]\n"
           "  --simd LEVEL     auto, portable, sse4.1, avx2, avx512, avx512icl [auto]\n"
           "  --device D       OpenCL device: index, cpu, gpu or a name substring\n"
           "  --no-cache       do not use the OpenCL program cache\n"
           "  --autotune       tune the OpenCL work-group size\n"
           "  --trace F.json   write a Chrome trace of the threads backend's tasks\n"
           "\n"
           "imgpipe COMMAND --help shows each command's usage; imgpipe --version the version.\n";
}

#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image.h"
#include "png_encode.h"
#include "registry.h"
#include "synth.h"

#define CMD(c) (1u << (c))
#define PIPELINE_CMDS (CMD(IMG_CMD_RUN) | CMD(IMG_CMD_VERIFY) | CMD(IMG_CMD_BENCH) | CMD(IMG_CMD_BATCH))
#define BACKEND_CMDS (CMD(IMG_CMD_RUN) | CMD(IMG_CMD_VERIFY) | CMD(IMG_CMD_BENCH) | CMD(IMG_CMD_BATCH))

typedef enum option_id {
    OPT_HELP, OPT_INPUT, OPT_OUTPUT, OPT_SIZE, OPT_BRIGHTNESS, OPT_CONTRAST, OPT_SIGMA,
    OPT_SCALE, OPT_RESIZE, OPT_MAX_PIXELS, OPT_BACKEND, OPT_BACKENDS, OPT_SIZES, OPT_THREADS,
    OPT_REPS, OPT_WARMUP, OPT_MIN_TIME, OPT_OUT, OPT_DIFF_IMAGE, OPT_CPUS, OPT_BAND_ROWS,
    OPT_SIMD, OPT_DEVICE, OPT_NO_CACHE, OPT_AUTOTUNE, OPT_TRACE, OPT_INPUT_DIR, OPT_OUTPUT_DIR,
    OPT_JOBS, OPT_COMPARE, OPT_PNG_LEVEL, OPT_PNG_DECODER, OPT_STREAM, OPT_BANDS, OPT_PINNED,
} option_id;

typedef struct option_spec {
    const char *name;
    option_id id;
    bool takes_value;
    unsigned commands;    /* CMD() mask of the commands that accept it */
} option_spec;

static const option_spec options[] = {
    {"help", OPT_HELP, false, ~0u},
    {"input", OPT_INPUT, true,
     CMD(IMG_CMD_RUN) | CMD(IMG_CMD_VERIFY) | CMD(IMG_CMD_BENCH) | CMD(IMG_CMD_CODECS)},
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
    {"sizes", OPT_SIZES, true,
     CMD(IMG_CMD_BENCH) | CMD(IMG_CMD_CODECS) | CMD(IMG_CMD_DECODE_BENCH)},
    {"threads", OPT_THREADS, true, BACKEND_CMDS | CMD(IMG_CMD_CODECS)},
    {"reps", OPT_REPS, true,
     CMD(IMG_CMD_BENCH) | CMD(IMG_CMD_CODECS) | CMD(IMG_CMD_DECODE_BENCH)},
    {"warmup", OPT_WARMUP, true, CMD(IMG_CMD_BENCH) | CMD(IMG_CMD_DECODE_BENCH)},
    {"min-time", OPT_MIN_TIME, true, CMD(IMG_CMD_BENCH)},
    {"out", OPT_OUT, true, CMD(IMG_CMD_BENCH) | CMD(IMG_CMD_CODECS)},
    {"diff-image", OPT_DIFF_IMAGE, true, CMD(IMG_CMD_VERIFY)},
    {"cpus", OPT_CPUS, true, BACKEND_CMDS},
    {"band-rows", OPT_BAND_ROWS, true, BACKEND_CMDS},
    {"simd", OPT_SIMD, true, BACKEND_CMDS},
    {"device", OPT_DEVICE, true, BACKEND_CMDS},
    {"no-cache", OPT_NO_CACHE, false, BACKEND_CMDS},
    {"autotune", OPT_AUTOTUNE, false, BACKEND_CMDS},
    {"bands", OPT_BANDS, true, BACKEND_CMDS},
    {"pinned", OPT_PINNED, true, BACKEND_CMDS},
    /* bench writes its own traces (trace_one_core.json, trace_all_cores.json). */
    {"trace", OPT_TRACE, true, CMD(IMG_CMD_RUN) | CMD(IMG_CMD_BATCH)},
    {"input-dir", OPT_INPUT_DIR, true, CMD(IMG_CMD_BATCH)},
    {"output-dir", OPT_OUTPUT_DIR, true, CMD(IMG_CMD_BATCH)},
    {"jobs", OPT_JOBS, true, CMD(IMG_CMD_BATCH)},
    {"compare", OPT_COMPARE, false, CMD(IMG_CMD_BATCH)},
    /* Where an image is written: run's output, verify's --diff-image, batch's outputs. */
    {"png-level", OPT_PNG_LEVEL, true, CMD(IMG_CMD_RUN) | CMD(IMG_CMD_VERIFY) | CMD(IMG_CMD_BATCH)},
    /* Every command that reads images; decode-bench times both whatever it says. */
    {"png-decoder", OPT_PNG_DECODER, true,
     CMD(IMG_CMD_RUN) | CMD(IMG_CMD_VERIFY) | CMD(IMG_CMD_BENCH) | CMD(IMG_CMD_BATCH)},
    {"stream", OPT_STREAM, true, CMD(IMG_CMD_RUN)},
};

/* One form where the command takes the other: `verify --backend simd` is `--backends
 * simd`, `bench --size 4k` is `--sizes 4k`; the plural where one value is taken
 * (`run --backends simd`) must name exactly one. */
static const struct {
    option_id singular, plural;
} alias_pairs[] = {{OPT_BACKEND, OPT_BACKENDS}, {OPT_SIZE, OPT_SIZES}};

/* One text per option for every message about it and the help (spec.h). */
#define SIGMA_RANGE IMG_SIGMA_RANGE_TEXT
#define SCALE_RANGE IMG_SCALE_RANGE_TEXT
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define PNG_LEVEL_HELP                                                                      \
    "  --png-level N    PNG compression: 0 (none, fastest) to 9 (smallest, slowest)\n"       \
    "                   (default " STRINGIFY(IMG_PNG_DEFAULT_LEVEL) "); the file's bytes never depend on the threads\n"
#define PNG_THREADS_HELP "                   encoding a PNG uses --threads, else all online cores\n"

static const struct {
    const char *name;
    img_command command;
} commands[] = {
    {"run", IMG_CMD_RUN},     {"verify", IMG_CMD_VERIFY}, {"bench", IMG_CMD_BENCH},
    {"info", IMG_CMD_INFO},   {"chart", IMG_CMD_CHART},   {"batch", IMG_CMD_BATCH},
    {"codecs", IMG_CMD_CODECS},
    {"decode-bench", IMG_CMD_DECODE_BENCH},
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

/* img_parse_double with the accepted values described by `accepted`. */
static int parse_double_text(const char *option, const char *text, double min, double max,
                             const char *accepted, double *out, img_error *err)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *text == '\0')
        return img_fail(err, "%s: '%s' is not a number (accepted: %s)", option, text, accepted);
    if (*end != '\0')
        return img_fail(err, "%s: '%s' has trailing characters '%s' (accepted: %s)", option, text,
                        end, accepted);
    if (!isfinite(v))
        return img_fail(err, "%s: '%s' is not a finite number (accepted: %s)", option, text,
                        accepted);
    if (errno == ERANGE || v < min || v > max)
        return img_fail(err, "%s: %s is out of range (accepted: %s)", option, text, accepted);
    *out = v;
    return 0;
}

int img_parse_double(const char *option, const char *text, double min, double max, double *out,
                     img_error *err)
{
    char accepted[64];
    snprintf(accepted, sizeof accepted, "%g to %g", min, max);
    return parse_double_text(option, text, min, max, accepted, out, err);
}

int img_parse_size(const char *option, const char *text, img_size *out, img_error *err)
{
    static const struct {
        const char *name;
        int w, h;
    } named[] = {{"720p", 1280, 720}, {"1080p", 1920, 1080}, {"4k", 3840, 2160},
                 {"8k", 7680, 4320}};
    /* Names and the separator in any case: 4K, 1080P, 640X480. */
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strcasecmp(text, named[i].name) == 0) {
            *out = (img_size){named[i].w, named[i].h};
            return 0;
        }
    const char *x = strpbrk(text, "xX");
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

/* Applies one option; `name` is the option as typed ("--backends" standing for
 * --backend names it), and one_value says the plural stands for the singular here, so
 * its value must name exactly one. */
/* "on", "off" or "auto" as modes[0], [1] or [2]. */
static int parse_on_off_auto(const char *name, const char *value, const int modes[3], int *out,
                             img_error *err)
{
    static const char *const words[3] = {"on", "off", "auto"};
    for (int i = 0; i < 3; i++)
        if (strcmp(value, words[i]) == 0) {
            *out = modes[i];
            return 0;
        }
    return img_fail(err, "%s: '%s' is not on, off or auto", name, value);
}

static int apply_option(img_cli *cli, const option_spec *spec, const char *name, bool one_value,
                        char *value, img_error *err)
{
    long l;
    double d;
    const char *items[IMG_CLI_MAX_LIST];
    int n;
    char scratch[512];
    switch (spec->id) {
    case OPT_HELP: cli->help = true; return 0;
    case OPT_INPUT:
        if (cli->command == IMG_CMD_CODECS) {
            if (cli->input_count == IMG_CLI_MAX_LIST)
                return img_fail(err, "%s: more than %d inputs", name, IMG_CLI_MAX_LIST);
            cli->inputs[cli->input_count++] = value;
            return 0;
        }
        cli->input = value;
        return 0;
    case OPT_OUTPUT: cli->output = value; return 0;
    case OPT_SIZE:
        if (one_value && strchr(value, ','))
            return img_fail(err, "%s: %s takes one size (--size WxH), got '%s'", name,
                            command_name(cli->command), value);
        return img_parse_size(name, value, &cli->size, err);
    case OPT_BRIGHTNESS:
        if (img_parse_long(name, value, IMG_BRIGHTNESS_MIN, IMG_BRIGHTNESS_MAX, &l, err) != 0)
            return -1;
        cli->params.brightness = (int)l;
        return 0;
    case OPT_CONTRAST:
        return img_parse_double(name, value, 0.0, IMG_CONTRAST_MAX, &cli->params.contrast, err);
    case OPT_SIGMA:
        if (parse_double_text(name, value, 0.0, IMG_SIGMA_MAX, SIGMA_RANGE, &d, err) != 0)
            return -1;
        if (d != 0.0 && d < IMG_SIGMA_MIN)
            return img_fail(err, "%s: %s is out of range (accepted: " SIGMA_RANGE ")", name,
                            value);
        cli->params.sigma = d;
        return 0;
    case OPT_SCALE:
        if (parse_double_text(name, value, 0.0, IMG_SCALE_MAX, SCALE_RANGE, &d, err) != 0)
            return -1;
        if (d <= 0.0)
            return img_fail(err, "%s: %s is out of range (accepted: " SCALE_RANGE ")", name,
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
    case OPT_BACKEND:
        if (one_value && (strchr(value, ',') || strcmp(value, "all") == 0))
            return img_fail(err, "%s: %s takes one backend (--backend NAME), got '%s'", name,
                            command_name(cli->command), value);
        cli->backend = value;
        return 0;
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
        const char *level;
        for (int l = 0; (level = img_backend_simd_level(l)) != NULL; l++) {
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
    case OPT_PNG_LEVEL:
        if (img_parse_long(name, value, IMG_PNG_LEVEL_MIN, IMG_PNG_LEVEL_MAX, &l, err) != 0)
            return -1;
        cli->png_level = (int)l;
        cli->png_level_set = true;
        return 0;
    case OPT_PNG_DECODER:
        if (img_png_decoder_from_name(value, &cli->png_decoder) != 0)
            return img_fail(err, "%s: unknown PNG decoder '%s' (libpng or libspng)", name, value);
        return 0;
    case OPT_BANDS:
        if (split_list(name, value, scratch, sizeof scratch, items, &n, err) != 0)
            return -1;
        if (n > 1 && cli->command != IMG_CMD_BENCH)
            return img_fail(err, "%s: a list of band counts is only for bench", name);
        for (int i = 0; i < n; i++) {
            if (img_parse_long(name, items[i], 1, IMG_MAX_DIMENSION, &l, err) != 0)
                return -1;
            cli->bands[i] = (int)l;
        }
        cli->band_count = n;
        return 0;
    case OPT_PINNED: {
        static const int modes[3] = {IMG_PINNED_ON, IMG_PINNED_OFF, IMG_PINNED_AUTO};
        if (parse_on_off_auto(name, value, modes, &cli->pinned, err) != 0)
            return -1;
        cli->pinned_set = true;
        return 0;
    }
    case OPT_STREAM: {
        static const int modes[3] = {IMG_STREAM_ON, IMG_STREAM_OFF, IMG_STREAM_AUTO};
        int mode = 0;
        if (parse_on_off_auto(name, value, modes, &mode, err) != 0)
            return -1;
        cli->stream = (img_stream_mode)mode;
        return 0;
    }
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

static const option_spec *find_option(const char *name, size_t len)
{
    for (size_t o = 0; o < sizeof options / sizeof options[0]; o++)
        if (strlen(options[o].name) == len && strncmp(options[o].name, name, len) == 0)
            return &options[o];
    return NULL;
}

static const option_spec *option_by_id(option_id id)
{
    for (size_t o = 0; o < sizeof options / sizeof options[0]; o++)
        if (options[o].id == id)
            return &options[o];
    return NULL;
}

/* The option spec stands for in this command when the command takes its other form
 * (singular for plural or the reverse), else NULL. *one_value is set when the plural
 * stands for the singular. */
static const option_spec *alias_for(const option_spec *spec, img_command command,
                                    bool *one_value)
{
    for (size_t a = 0; a < sizeof alias_pairs / sizeof alias_pairs[0]; a++) {
        option_id other;
        if (spec->id == alias_pairs[a].singular)
            other = alias_pairs[a].plural;
        else if (spec->id == alias_pairs[a].plural)
            other = alias_pairs[a].singular;
        else
            continue;
        const option_spec *o = option_by_id(other);
        if (o && (o->commands & CMD(command))) {
            *one_value = other == alias_pairs[a].singular;
            return o;
        }
    }
    return NULL;
}

/* Levenshtein distance, for suggestions: both strings are short option names. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[64];
    if (la >= 64 || lb >= 64)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* An option the command does not take: the message suggests the closest option it does
 * take (edit distance up to 2, or one name a prefix of the other), else says which
 * commands take the option when it is one of theirs. */
static int unknown_option(img_command command, const char *name, size_t len, img_error *err)
{
    const char *cmd = command_name(command);
    const option_spec *best = NULL;
    size_t best_score = (size_t)-1;
    for (size_t o = 0; o < sizeof options / sizeof options[0] && len > 0; o++) {
        const option_spec *spec = &options[o];
        if (!(spec->commands & CMD(command)) || spec->id == OPT_HELP)
            continue;
        size_t olen = strlen(spec->name);
        size_t score = edit_distance(name, len, spec->name, olen);
        if (score > 2) {
            bool prefix = (len >= 2 && len < olen && strncmp(spec->name, name, len) == 0) ||
                          (olen >= 3 && olen < len && strncmp(spec->name, name, olen) == 0);
            score = prefix ? 3 : (size_t)-1;
        }
        if (score < best_score) {
            best_score = score;
            best = spec;
        }
    }
    if (best)
        return img_fail(err, "%s: unknown option '--%.*s' (did you mean --%s? see imgpipe %s --help)",
                        cmd, (int)len, name, best->name, cmd);
    const option_spec *known = find_option(name, len);
    if (known && known->id != OPT_HELP) {
        char takers[96] = "";
        int total = 0, seen = 0;
        for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
            total += (known->commands & CMD(commands[c].command)) != 0;
        for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
            if (known->commands & CMD(commands[c].command)) {
                seen++;
                snprintf(takers + strlen(takers), sizeof takers - strlen(takers), "%s%s",
                         seen == 1 ? "" : seen == total ? " and " : ", ", commands[c].name);
            }
        return img_fail(err, "%s: unknown option '--%s' (only %s take%s it; see imgpipe %s --help)",
                        cmd, known->name, takers, total > 1 ? "" : "s", cmd);
    }
    return img_fail(err, "%s: unknown option '--%.*s' (see imgpipe %s --help)", cmd, (int)len,
                    name, cmd);
}

/* One image size the options make from the built-in picture at in_w x in_h: the input
 * and the output within --max-pixels, or a usage error naming the options. */
static int check_builtin_size(const img_cli *cli, int in_w, int in_h, img_error *err)
{
    img_error why;
    if (img_check_size(in_w, in_h, 1, cli->max_pixels, &why) != 0)
        return img_fail(err, "%s: %s",
                        cli->size.width || cli->size_count ? "--size" : "the built-in picture",
                        why.message);
    int out_w, out_h;
    if (img_output_size(&cli->params, in_w, in_h, cli->max_pixels, &out_w, &out_h, &why) != 0) {
        if (cli->params.out_width)
            return img_fail(err, "--resize %dx%d: %s", cli->params.out_width,
                            cli->params.out_height, why.message);
        return img_fail(err, "--scale %g of %dx%d: %s", cli->params.scale, in_w, in_h,
                        why.message);
    }
    return 0;
}

/* Where the sizes are known from the options alone (the built-in picture), an output
 * or input over the pixel limit is a usage error before any work. */
static int check_known_sizes(const img_cli *cli, img_error *err)
{
    if (cli->input)
        return 0;   /* an input's size is known once it is read */
    if (cli->command == IMG_CMD_RUN || cli->command == IMG_CMD_VERIFY)
        return check_builtin_size(cli, cli->size.width ? cli->size.width : IMG_SYNTH_DEFAULT_WIDTH,
                                  cli->size.height ? cli->size.height : IMG_SYNTH_DEFAULT_HEIGHT,
                                  err);
    if (cli->command == IMG_CMD_BENCH) {
        static const img_size bench_default[] = {{1920, 1080}, {3840, 2160}};   /* bench.c */
        const img_size *sizes = cli->size_count ? cli->sizes : bench_default;
        int count = cli->size_count ? cli->size_count : 2;
        for (int i = 0; i < count; i++)
            if (check_builtin_size(cli, sizes[i].width, sizes[i].height, err) != 0)
                return -1;
    }
    return 0;
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
        return img_fail(err, "no command given (run, verify, bench, info, chart, batch, codecs, "
                             "decode-bench; see --help)");
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
        if (strcmp(argv[i], commands[c].name) == 0)
            cli->command = commands[c].command;
    /* Each codecs round times some fifty encodings: fewer rounds than bench's. */
    if (cli->command == IMG_CMD_CODECS)
        cli->reps = 5;
    if (cli->command == IMG_CMD_NONE)
        return img_fail(err, "unknown command '%s' (run, verify, bench, info, chart, batch, "
                             "codecs, decode-bench)", argv[i]);
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
            if (cli->command == IMG_CMD_DECODE_BENCH) {
                if (cli->file_count == 0)
                    cli->files = &argv[i];
                if (cli->files + cli->file_count != &argv[i])
                    return img_fail(err, "decode-bench: the files come together, after the options");
                cli->file_count++;
                continue;
            }
            return img_fail(err, "%s: unexpected argument '%s'", command_name(cli->command), arg);
        }
        char *name = arg + 2;
        char *value = NULL;
        char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        const option_spec *spec = find_option(name, name_len);
        bool one_value = false;
        if (spec && !(spec->commands & CMD(cli->command)))
            spec = alias_for(spec, cli->command, &one_value);
        if (!spec)
            return unknown_option(cli->command, name, name_len, err);
        char typed[48];   /* the option as given: a known name, so short */
        snprintf(typed, sizeof typed, "--%.*s", (int)name_len, name);
        if (spec->takes_value) {
            if (eq) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                return img_fail(err, "%s: missing value", typed);
            }
        } else if (eq) {
            return img_fail(err, "%s takes no value", typed);
        }
        if (spec->id == OPT_SCALE)
            scale_given = true;
        if (spec->id == OPT_RESIZE)
            resize_given = true;
        if (apply_option(cli, spec, typed, one_value, value, err) != 0)
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
    img_error range;
    if (img_params_validate(&cli->params, &range) != 0)
        return img_fail(err, "--%s", range.message);   /* each parameter is its option */
    return check_known_sizes(cli, err);
}

const char *img_cli_usage(img_command command)
{
    switch (command) {
    case IMG_CMD_RUN:
        return "usage: imgpipe run [--backend NAME] [--input IN | --size WxH] --output OUT\n"
               "                   [pipeline options] [backend options]\n"
               "Runs the pipeline once and writes OUT (.png, .jpg, .jpeg, .ppm, .pgm).\n"
               "  --backend NAME   the backend to run; imgpipe info lists them (default serial)\n"
               "  --input IN       the image to process (default the built-in RGB test picture)\n"
               "  --size WxH       the built-in picture's size: WxH, 720p, 1080p, 4k or 8k\n"
               "                   (default 1920x1080)\n"
               "  --output OUT     where the result goes (required)\n"
               "  --stream MODE    on, off or auto: decode --input on its own thread while the\n"
               "                   pipeline and the encoder work on the bands of rows already\n"
               "                   decoded; the same bytes either way. auto streams from\n"
               "                   --input into a .png with the simd or simd-threads backend\n"
               "                   (measured faster there); on also into .jpg and .ppm, and\n"
               "                   refuses other backends (default auto)\n"
               PNG_LEVEL_HELP PNG_THREADS_HELP;
    case IMG_CMD_VERIFY:
        return "usage: imgpipe verify [--input IN | --size WxH] [--backends LIST]\n"
               "                      [--diff-image F.png] [pipeline options] [backend options]\n"
               "Runs each backend and compares every stage with serial. Exit status 1 when any\n"
               "backend differs, or one named in LIST cannot run here.\n"
               "  --backends LIST  comma-separated backends to compare (default all but serial)\n"
               "  --input IN       the image to verify on (default the built-in test picture)\n"
               "  --size WxH       the built-in picture's size (default 1920x1080)\n"
               "  --diff-image F.png  the first mismatching stage as a picture (default none)\n"
               PNG_LEVEL_HELP PNG_THREADS_HELP;
    case IMG_CMD_BENCH:
        return "usage: imgpipe bench [--backends LIST|all] [--sizes SIZE,...] [--input IN]\n"
               "                     [--reps N] [--warmup N] [--min-time SEC] [--threads N,...]\n"
               "                     [--out DIR] [pipeline options] [backend options]\n"
               "Verifies, then times every backend; writes DIR/bench.csv and DIR/bench.json.\n"
               "  --backends LIST  comma-separated backends, or all (default all)\n"
               "  --sizes SIZE,... the built-in picture at each size: WxH, 720p, 1080p, 4k, 8k\n"
               "                   (default 1080p,4k)\n"
               "  --input IN       time this image at its own size instead of --sizes, and per\n"
               "                   backend the whole job: decode + pipeline + encode, in memory\n"
               "  --reps N         at least N timed runs per setting (default 10)\n"
               "  --warmup N       untimed runs per setting after the first (default 2)\n"
               "  --min-time SEC   at least SEC seconds of timed runs per setting (default 0.5)\n"
               "  --threads N,...  thread counts for the threaded backends (default the online\n"
               "                   cores); without --threads or --cpus the threads backend also\n"
               "                   runs the 1, 2, 4, 8 thread series\n"
               "  --out DIR        where the results go (default results/latest)\n";
    case IMG_CMD_INFO:
        return "usage: imgpipe info\n"
               "Lists the backends with their availability, the CPU and its SIMD extensions,\n"
               "and the OpenCL platforms and devices.\n";
    case IMG_CMD_CHART:
        return "usage: imgpipe chart DIR\nRedraws the charts of DIR/bench.csv with gnuplot.\n";
    case IMG_CMD_BATCH:
        return "usage: imgpipe batch [--backend NAME] --input-dir IN --output-dir OUT [--jobs N]\n"
               "                     [--compare] [--trace F.json] [pipeline options]\n"
               "                     [backend options]\n"
               "Processes every image of IN (.png, .jpg, .jpeg, .ppm, .pgm in any case, not\n"
               "hidden) into OUT under the same name: each input read once, each output written\n"
               "once, reader and writer threads overlapping I/O with processing.\n"
               "Other entries of IN are ignored and counted. OUT must exist and differ from IN;\n"
               "an output that is an input (a link to one) is refused.\n"
               "  --backend NAME   the backend that processes the images (default serial)\n"
               "  --jobs N         N reader and N writer threads (default the online cores),\n"
               "                   never more than there are files\n"
               "  --compare        first time a sequential loop over the same files, writing\n"
               "                   into a scratch folder in OUT that is removed afterwards, and\n"
               "                   report both runs (default off); under mpirun the loop runs\n"
               "                   on rank 0 alone before the ranks' run\n"
               "  --trace F.json   under mpirun only: one Chrome trace of the run, a process\n"
               "                   row per rank (default none)\n"
               PNG_LEVEL_HELP
               "                   each writer encodes with its share: --threads (else the\n"
               "                   online cores) divided by the writer threads, at least 1\n"
               "Under mpirun (mpirun -n N imgpipe batch ...), rank 0 checks and lists IN and\n"
               "hands the files out, largest first; every rank processes and writes its share\n"
               "(IN and OUT on a file system all ranks share) and rank 0 prints one report.\n";
    case IMG_CMD_CODECS:
        return "usage: imgpipe codecs [--input IN]... [--sizes SIZE,...] [--reps N] [--threads N]\n"
               "                      [--out DIR]\n"
               "Times PNG encodings of each image in interleaved rounds: libpng's defaults\n"
               "(the baseline), every --png-level, zlib levels x filters x strategies,\n"
               "libdeflate levels, and the default level on 1, 2 and N threads. Each encoding\n"
               "is decoded back first; one that does not give the same pixels is refused.\n"
               "Prints and writes DIR/codecs.csv (median, q1, q3, bytes, MB/s) and\n"
               "DIR/codecs_env.txt; with the vips program on PATH, libvips's size for the same\n"
               "image is a reference row.\n"
               "  --input IN       an image to encode; repeat for more (default none)\n"
               "  --sizes SIZE,... the built-in picture at each size (default 1080p,4k without\n"
               "                   --input)\n"
               "  --reps N         timed rounds (default 5)\n"
               "  --threads N      N of the parallel encodings (default the online cores)\n"
               "  --out DIR        where the results go (default results/codecs)\n";
    case IMG_CMD_DECODE_BENCH:
        return "usage: imgpipe decode-bench [--sizes SIZE,...] [--reps N] [--warmup N] [FILE...]\n"
               "Times decoding with each decoder, both PNG decoders (libpng, libspng) in\n"
               "interleaved rounds, and prints the median and spread per file and decoder. The\n"
               "files are read into memory first: only decoding is timed.\n"
               "  FILE...          PNG, JPEG or PNM files (default none)\n"
               "  --sizes SIZE,... the built-in picture at each size, encoded as PNG in memory\n"
               "                   (default 1080p,4k when no FILE is given)\n"
               "  --reps N         timed rounds (default 10)\n"
               "  --warmup N       untimed rounds first (default 2)\n";
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
           "  codecs   measure PNG encodings (levels, filters, threads) against libpng\n"
           "  decode-bench  time the image decoders (libpng against libspng)\n"
           "\n"
           "Pipeline options (run, verify, bench, batch):\n"
           "  --brightness B   integer, -255 to 255 (default 20)\n"
           "  --contrast C     0 to 4 (default 1.2)\n"
           "  --sigma S        Gaussian sigma: " SIGMA_RANGE " (default 2)\n"
           "  --scale F        resize factor: " SCALE_RANGE " (default 0.5)\n"
           "  --resize WxH     resize to this size instead of --scale (default none)\n"
           "  --max-pixels N   refuse an input or output above N pixels (default 268435456)\n"
           "  --png-decoder D  libpng or libspng: the library that reads PNG inputs; both give\n"
           "                   the same pixels (default libpng, measured the faster)\n"
           "Sizes are WxH or 720p, 1080p, 4k, 8k, in any case.\n"
           "\n"
           "Backend options (run, verify, bench, batch); each is a usage error where none of\n"
           "the selected backends uses it:\n"
           "  --threads N      worker threads of threads and simd-threads (default the online\n"
           "                   cores); bench takes a list\n"
           "  --band-rows N    rows per task of threads and simd-threads (default chosen per\n"
           "                   backend: sized for the cache, or two bands per thread)\n"
           "  --simd LEVEL     simd and simd-threads: auto, portable, sse4.1, avx2, avx512,\n"
           "                   avx512icl (default auto)\n"
           "  --device D       opencl: index, cpu, gpu or a name substring (default the first\n"
           "                   GPU, else the first device)\n"
           "  --no-cache       opencl: bypass the program cache (default off)\n"
           "  --autotune       opencl: tune the work-group size (default off)\n"
           "  --bands N        opencl: stream the image through the device in N bands of\n"
           "                   output rows, each band's upload, kernels and download\n"
           "                   overlapping its neighbours' (default chosen: 1 on a CPU\n"
           "                   device, about 4 MiB of input per band on a GPU, more where\n"
           "                   the image exceeds the device's largest allocation); bench\n"
           "                   takes a list\n"
           "  --pinned MODE    opencl: on, off or auto: copy through pinned host staging\n"
           "                   buffers, or transfer straight from the image (default auto:\n"
           "                   pinned on a GPU, straight on a CPU device)\n"
           "  --trace F.json   run with threads: a Chrome trace of its tasks; with opencl:\n"
           "                   its upload, kernel and download queues, band by band\n"
           "                   (default none); a streamed run (run --stream): its decode,\n"
           "                   pipeline and encode bands\n"
           "  --cpus LIST      restrict the process to these cores, e.g. 0 or 0-1, any backend\n"
           "                   (default all allowed cores)\n"
           "\n"
           "Exit status: 0 success; 1 failure (unreadable or bad input, a backend asked for\n"
           "by name that cannot run here, backend error, verify mismatch); 2 usage error (bad\n"
           "option or value, unwritable output target).\n"
           "imgpipe COMMAND --help: the command's own options; imgpipe --version: the version.\n";
}

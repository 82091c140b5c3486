/* Command-line parsing and validation for every subcommand.
 *
 * The parser is strict: numbers must be whole (no trailing junk), finite and in range;
 * an option a command does not take is an error (suggesting a close one the command
 * takes); each message names the option, the value and the accepted range, one text per
 * option. Singular and plural are one option (--backend/--backends, --size/--sizes):
 * the other form is accepted, the plural for the singular only naming one value. Where
 * the built-in picture's sizes are known from the options, an input or output over
 * --max-pixels is an error here. Parsing never exits: it returns -1 and the CLI exits
 * with status 2. */
#ifndef IMG_CLI_CLI_H
#define IMG_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "image_io.h"
#include "spec.h"

typedef enum img_command {
    IMG_CMD_NONE,
    IMG_CMD_RUN,
    IMG_CMD_VERIFY,
    IMG_CMD_BENCH,
    IMG_CMD_INFO,
    IMG_CMD_CHART,
    IMG_CMD_BATCH,
    IMG_CMD_CODECS,
    IMG_CMD_DECODE_BENCH,
} img_command;

#define IMG_CLI_MAX_LIST 16

/* run --stream: decode, pipeline and encode overlapped in bands of rows, or one after
 * the other. AUTO streams where the backend computes bands of rows (run_rows) and the
 * input is a file; the zero value is the default (cmd_run.c says what it stands for). */
typedef enum img_stream_mode {
    IMG_STREAM_DEFAULT,
    IMG_STREAM_OFF,
    IMG_STREAM_ON,
    IMG_STREAM_AUTO,
} img_stream_mode;

typedef struct img_size {
    int width, height;
} img_size;

typedef struct img_cli {
    img_command command;
    bool help;
    bool version;

    const char *input;           /* --input; NULL = built-in image */
    const char *inputs[IMG_CLI_MAX_LIST];     /* codecs: every --input, in order */
    int input_count;
    const char *output;          /* --output */
    img_size size;               /* --size for the built-in image; 0x0 = default */
    img_params params;           /* pipeline options */
    uint64_t max_pixels;         /* --max-pixels */
    img_png_decoder png_decoder; /* --png-decoder */

    const char *backend;         /* --backend (run, batch) */
    const char *backends[IMG_CLI_MAX_LIST];   /* --backends (verify, bench); empty = all */
    int backend_count;
    char backends_text[512];     /* storage the backends[] names point into */

    img_size sizes[IMG_CLI_MAX_LIST];         /* --sizes (bench, codecs) */
    int size_count;
    int threads[IMG_CLI_MAX_LIST];            /* --threads: one value, a list for bench */
    int thread_count;
    int reps;                    /* --reps: minimum repetitions */
    int warmup;                  /* --warmup */
    double min_time;             /* --min-time seconds per measurement */
    const char *out_dir;         /* --out (bench, codecs) */
    const char *diff_image;      /* --diff-image (verify) */
    int png_level;               /* --png-level (run, verify, batch) */
    bool png_level_set;

    const char *cpus;            /* --cpus LIST */
    int band_rows;               /* --band-rows */
    const char *simd;            /* --simd LEVEL */
    const char *device;          /* --device */
    bool no_cache;               /* --no-cache */
    bool autotune;               /* --autotune */
    int bands[IMG_CLI_MAX_LIST]; /* --bands: one value, a list for bench */
    int band_count;              /* 0: the backend chooses */
    int pinned;                  /* --pinned: IMG_PINNED_* */
    bool pinned_set;
    const char *trace;           /* --trace FILE.json */
    img_stream_mode stream;      /* --stream (run) */

    const char *input_dir;       /* --input-dir (batch) */
    const char *output_dir;      /* --output-dir (batch) */
    int jobs;                    /* --jobs (batch) */
    bool compare;                /* --compare (batch): also time a sequential loop */

    const char *chart_dir;       /* positional DIR (chart) */
    char **files;                /* positional FILEs (decode-bench), inside argv */
    int file_count;

    int argc;                    /* the command line, for the record */
    char **argv;
} img_cli;

/* Parses argv (argv[0] is the program). Fills defaults first. */
int img_cli_parse(img_cli *cli, int argc, char **argv, img_error *err);

/* The usage text of one command (IMG_CMD_NONE: the overview). */
const char *img_cli_usage(img_command command);

/* Strict scalar parsers; `option` names the option in messages. */
int img_parse_long(const char *option, const char *text, long min, long max, long *out,
                   img_error *err);
int img_parse_double(const char *option, const char *text, double min, double max, double *out,
                     img_error *err);
/* "WxH", or a name: 720p, 1080p, 4k, 8k; names and the x in any case (8K, 640X480). */
int img_parse_size(const char *option, const char *text, img_size *out, img_error *err);

#endif

#include "app.h"

#include <stdio.h>
#include <time.h>

#include "cpus.h"
#include "image_io.h"
#include "registry.h"
#include "synth.h"

int img_load_input(const img_cli *cli, img_image *img, img_error *err)
{
    if (cli->input) {
        img_read_options ro = {.max_pixels = cli->max_pixels, .png_decoder = cli->png_decoder};
        return img_read_file(cli->input, img, &ro, err);
    }
    int w = cli->size.width ? cli->size.width : IMG_SYNTH_DEFAULT_WIDTH;
    int h = cli->size.height ? cli->size.height : IMG_SYNTH_DEFAULT_HEIGHT;
    return img_synth_image(img, w, h, 3, cli->max_pixels, err);
}

/* What `run` does without --stream: the faster as measured (README, "Streaming"). */
#define IMG_STREAM_DEFAULT_MODE IMG_STREAM_AUTO

bool img_run_streams(const img_cli *cli, const img_backend *backend)
{
    const img_stream_mode mode = cli->stream == IMG_STREAM_DEFAULT ? IMG_STREAM_DEFAULT_MODE
                                                                    : cli->stream;
    if (mode == IMG_STREAM_OFF || !cli->input || !backend->run_rows)
        return false;
    /* auto: only into PNG, whose encoder works band by band while the decode runs. A
     * JPEG or PNM is encoded after the last row either way, which leaves only the
     * pipeline (a few per cent of the job) to overlap, and measured on 2 cores the
     * decoder lost about that much to the pipeline's threads (README, "Streaming"). */
    return mode == IMG_STREAM_ON || img_format_from_path(cli->output) == IMG_FORMAT_PNG;
}

img_backend_options img_backend_options_from_cli(const img_cli *cli)
{
    return (img_backend_options){
        .threads = cli->thread_count ? cli->threads[0] : 0,
        .band_rows = cli->band_rows,
        .simd_level = cli->simd,
        .device = cli->device,
        .no_cache = cli->no_cache,
        .autotune = cli->autotune,
        .bands = cli->band_count ? cli->bands[0] : 0,
        .pinned = cli->pinned,
        .trace_path = cli->trace,
    };
}

img_write_options img_write_options_from_cli(const img_cli *cli)
{
    /* Encoding uses the cores the pipeline may: --threads where given, else all online
     * ones. The file's bytes do not depend on it (png_encode.h). */
    return (img_write_options){
        .png_level = cli->png_level,
        .png_level_set = cli->png_level_set,
        .threads = cli->thread_count ? cli->threads[0] : img_online_cpus(),
    };
}

int img_backend_by_name(const char *name, const img_backend **out, img_error *err)
{
    const img_backend *b = img_backend_find(name);
    if (!b) {
        char names[256];
        img_backend_names(names, sizeof names);
        return img_fail(err, "unknown backend '%s' (available: %s)", name, names);
    }
    *out = b;
    return 0;
}

int img_backend_check_available(const img_backend *backend, img_error *err)
{
    char reason[256] = "";
    if (!backend->probe(reason, sizeof reason))
        return img_fail(err, "backend '%s' is unavailable here: %s", backend->name, reason);
    return 0;
}

int img_backend_lookup(const char *name, const img_backend **out, img_error *err)
{
    const img_backend *b = NULL;
    if (img_backend_by_name(name, &b, err) != 0 || img_backend_check_available(b, err) != 0)
        return -1;
    *out = b;
    return 0;
}

int img_select_backends(const img_cli *cli, bool serial_first, const img_backend **list, int max,
                        int *count, img_error *err)
{
    const img_backend *serial = img_backend_reference();
    *count = 0;
    if (serial_first)
        list[(*count)++] = serial;
    for (int i = 0; i < (cli->backend_count ? cli->backend_count : (int)img_backend_count()); i++) {
        const img_backend *b =
            cli->backend_count ? img_backend_find(cli->backends[i]) : img_backend_at((size_t)i);
        if (!b) {
            char names[256];
            img_backend_names(names, sizeof names);
            return img_fail(err, "--backends: unknown backend '%s' (available: %s)",
                            cli->backends[i], names);
        }
        /* serial is the reference: listed by default only where it is measured. */
        if (b == serial && (serial_first || !cli->backend_count))
            continue;
        if (*count == max)
            return img_fail(err, "--backends: more than %d backends", max);
        list[(*count)++] = b;
    }
    return 0;
}

/* The backend options a command line can give, and whether this one gives each. */
static const struct {
    unsigned bit;
    const char *option;
} backend_options[] = {
    {IMG_OPTION_THREADS, "--threads"},   {IMG_OPTION_BAND_ROWS, "--band-rows"},
    {IMG_OPTION_SIMD, "--simd"},         {IMG_OPTION_DEVICE, "--device"},
    {IMG_OPTION_NO_CACHE, "--no-cache"}, {IMG_OPTION_AUTOTUNE, "--autotune"},
    {IMG_OPTION_TRACE, "--trace"},       {IMG_OPTION_BANDS, "--bands"},
    {IMG_OPTION_PINNED, "--pinned"},
};

static unsigned backend_options_given(const img_cli *cli)
{
    return (cli->thread_count ? IMG_OPTION_THREADS : 0u) |
           (cli->band_rows ? IMG_OPTION_BAND_ROWS : 0u) | (cli->simd ? IMG_OPTION_SIMD : 0u) |
           (cli->device ? IMG_OPTION_DEVICE : 0u) | (cli->no_cache ? IMG_OPTION_NO_CACHE : 0u) |
           (cli->autotune ? IMG_OPTION_AUTOTUNE : 0u) | (cli->trace ? IMG_OPTION_TRACE : 0u) |
           (cli->band_count ? IMG_OPTION_BANDS : 0u) | (cli->pinned_set ? IMG_OPTION_PINNED : 0u);
}

/* "the opencl backend", "the simd and simd-threads backends", "the a, b and c backends":
 * every registered backend whose table has the bit. */
static void backends_using(unsigned bit, char *buf, size_t len)
{
    int total = 0, seen = 0;
    for (size_t i = 0; i < img_backend_count(); i++)
        total += (img_backend_at(i)->options & bit) != 0;
    if (total == 0) {
        snprintf(buf, len, "no backend");
        return;
    }
    size_t used = (size_t)snprintf(buf, len, "the");
    for (size_t i = 0; i < img_backend_count() && used < len; i++) {
        const img_backend *b = img_backend_at(i);
        if (!(b->options & bit))
            continue;
        seen++;
        const char *sep = seen == 1 ? " " : seen == total ? " and " : ", ";
        int n = snprintf(buf + used, len - used, "%s%s", sep, b->name);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used < len)
        snprintf(buf + used, len - used, total == 1 ? " backend" : " backends");
}

int img_check_backend_options(const img_cli *cli, img_error *err)
{
    const img_backend *list[IMG_CLI_MAX_LIST + 16];
    int count = 0;
    char got[600];
    if (cli->command == IMG_CMD_RUN || cli->command == IMG_CMD_BATCH) {
        const char *name = cli->backend ? cli->backend : img_backend_reference()->name;
        if (img_backend_by_name(name, &list[0], err) != 0)
            return -1;
        count = 1;
        snprintf(got, sizeof got, "--backend %s%s", name, cli->backend ? "" : ", the default");
    } else if (cli->command == IMG_CMD_VERIFY || cli->command == IMG_CMD_BENCH) {
        if (img_select_backends(cli, cli->command == IMG_CMD_BENCH, list,
                                (int)(sizeof list / sizeof list[0]), &count, err) != 0)
            return -1;
        size_t used = (size_t)snprintf(got, sizeof got, "--backends ");
        for (int i = 0; i < cli->backend_count && used < sizeof got; i++) {
            int n = snprintf(got + used, sizeof got - used, "%s%s", i ? "," : "", cli->backends[i]);
            used += n > 0 ? (size_t)n : 0;
        }
        if (!cli->backend_count)
            snprintf(got + used, sizeof got - used, "all");
    } else {
        return 0;
    }
    unsigned used_by_any = 0;
    for (int i = 0; i < count; i++)
        used_by_any |= list[i]->options;
    /* A streamed run writes its own timeline (decode, pipeline and encode bands). */
    if (cli->command == IMG_CMD_RUN && img_run_streams(cli, list[0]))
        used_by_any |= IMG_OPTION_TRACE;
    unsigned unused = backend_options_given(cli) & ~used_by_any;
    for (size_t o = 0; o < sizeof backend_options / sizeof backend_options[0]; o++) {
        if (!(unused & backend_options[o].bit))
            continue;
        char users[256];
        backends_using(backend_options[o].bit, users, sizeof users);
        return img_fail(err, "%s applies to %s only (got %s)", backend_options[o].option, users,
                        got);
    }
    return 0;
}

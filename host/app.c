#include "app.h"

#include <stdio.h>
#include <time.h>

#include "image_io.h"
#include "registry.h"
#include "synth.h"

int img_load_input(const img_cli *cli, img_image *img, img_error *err)
{
    if (cli->input) {
        img_read_options ro = {.max_pixels = cli->max_pixels};
        return img_read_file(cli->input, img, &ro, err);
    }
    int w = cli->size.width ? cli->size.width : IMG_SYNTH_DEFAULT_WIDTH;
    int h = cli->size.height ? cli->size.height : IMG_SYNTH_DEFAULT_HEIGHT;
    return img_synth_image(img, w, h, 3, cli->max_pixels, err);
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
        .trace_path = cli->trace,
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

double img_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int img_select_backends(const img_cli *cli, bool serial_first, const img_backend **list, int max,
                        int *count, img_error *err)
{
    const img_backend *serial = img_backend_find("serial");
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

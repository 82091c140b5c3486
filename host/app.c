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

int img_backend_lookup(const char *name, const img_backend **out, img_error *err)
{
    const img_backend *b = img_backend_find(name);
    if (!b) {
        char names[256];
        img_backend_names(names, sizeof names);
        return img_fail(err, "unknown backend '%s' (available: %s)", name, names);
    }
    char reason[256] = "";
    if (!b->probe(reason, sizeof reason))
        return img_fail(err, "backend '%s' is unavailable here: %s", name, reason);
    *out = b;
    return 0;
}

double img_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

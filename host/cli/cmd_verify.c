/* `imgpipe verify`: every backend against serial, stage by stage, as a table. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "image_io.h"
#include "registry.h"
#include "verify.h"

/* The last two columns of a row: border/interior, then what ran (under "ran as"). */
static void print_notes(const char *sides, const char *what)
{
    if (what[0])
        printf("%-15s  %s\n", sides, what);
    else
        printf("%s\n", sides);
}

/* Verifies one backend setting and prints its row; counts into *mismatches and
 * *failures. The first mismatch's difference picture goes to --diff-image. An
 * optional setting (a SIMD level of the sweep) that cannot start on this machine is
 * reported as unavailable rather than failed. */
static void verify_one(const img_cli *cli, const img_backend *b, const img_backend_options *options,
                       const char *label, bool optional, const img_image *src,
                       const img_plan *plan, bool *diff_written, int *mismatches, int *failures)
{
    img_error err = {{0}};
    img_image diff = {0};
    void *state = NULL;
    img_verify_result r;
    if (b->init(&state, options, &err) != 0) {
        printf("%-14s %s      %s\n", label, optional ? "unavailable:" : "ERROR", err.message);
        if (!optional)
            (*failures)++;
        return;
    }
    bool want_diff = cli->diff_image && !*diff_written;
    int rc = img_verify_backend(b, state, src, plan, &r, want_diff ? &diff : NULL, &err);
    char what[160] = "";
    if (b->describe)
        b->describe(state, what, sizeof what);
    b->destroy(state);
    if (rc != 0) {
        printf("%-14s ERROR      %s\n", label, err.message);
        (*failures)++;
        img_image_free(&diff);
        return;
    }
    if (r.exact) {
        printf("%-14s %-10s %10d %5d  %-41s ", label, "bit-exact", 0, 0, "-");
        print_notes("-", what);
        return;
    }
    (*mismatches)++;
    char first[96];
    snprintf(first, sizeof first, "%s %d,%d ch%d: %d/%d", r.stage, r.mismatch.x, r.mismatch.y,
             r.mismatch.channel, r.mismatch.expected, r.mismatch.got);
    char sides[48];
    snprintf(sides, sizeof sides, "%" PRIu64 "/%" PRIu64, r.mismatch.border, r.mismatch.interior);
    printf("%-14s %-10s %10" PRIu64 " %5d  %-41s ", label, "MISMATCH", r.mismatch.differing,
           r.mismatch.max_abs_diff, first);
    print_notes(sides, what);
    if (want_diff && diff.storage) {
        img_write_options wo = img_write_options_from_cli(cli);
        if (img_write_file(cli->diff_image, &diff, &wo, &err) != 0) {
            fprintf(stderr, "imgpipe: %s\n", err.message);
            (*failures)++;
        } else {
            printf("%-14s difference picture of stage %s written to %s\n", "", r.stage,
                   cli->diff_image);
            *diff_written = true;
        }
    }
    img_image_free(&diff);
}

int img_cmd_verify(const img_cli *cli)
{
    img_error err = {{0}};
    img_image src = {0};
    img_plan plan = {0};
    const img_backend *list[IMG_CLI_MAX_LIST + 16];
    int count = 0, mismatches = 0, failures = 0;
    bool diff_written = false;

    if (img_select_backends(cli, false, list, (int)(sizeof list / sizeof list[0]), &count,
                            &err) != 0 ||
        img_check_backend_options(cli, &err) != 0) {
        fprintf(stderr, "imgpipe: %s\n", err.message);
        return IMG_EXIT_USAGE;
    }
    /* A difference picture that could not be written is known before any work. */
    if (cli->diff_image && img_check_output(cli->diff_image, 0, 0, 0, NULL, &err) != 0) {
        fprintf(stderr, "imgpipe: --diff-image: %s\n", err.message);
        return IMG_EXIT_USAGE;
    }
    if (img_load_input(cli, &src, &err) != 0) {
        fprintf(stderr, "imgpipe: %s\n", err.message);
        return IMG_EXIT_FAILURE;
    }
    /* What the options make of this input (an output over the pixel limit): usage. */
    if (img_plan_init(&plan, &cli->params, src.width, src.height, cli->max_pixels, &err) != 0) {
        fprintf(stderr, "imgpipe: %s\n", err.message);
        img_image_free(&src);
        return IMG_EXIT_USAGE;
    }
    printf("verify: %s %dx%d x%d -> %dx%d; stages:", cli->input ? cli->input : "built-in image",
           src.width, src.height, src.channels, plan.out_width, plan.out_height);
    for (int s = 0; s < IMG_STAGE_COUNT; s++)
        if (plan.enabled[s])
            printf(" %s", img_stage_name((img_stage)s));
    printf(" (border = %d px from an edge)\n\n", plan.blur_radius > 1 ? plan.blur_radius : 1);
    printf("%-14s %-10s %10s %5s  %-41s %-15s  %s\n", "backend", "verdict", "differing", "max",
           "first difference (stage x,y ch: want/got)", "border/interior", "ran as");

    img_backend_options options = img_backend_options_from_cli(cli);
    for (int i = 0; i < count; i++) {
        const img_backend *b = list[i];
        char reason[256] = "";
        if (!b->probe(reason, sizeof reason)) {
            printf("%-14s unavailable: %s\n", b->name, reason);
            /* Asked for by name, it must be verified: unavailable is then a failure. */
            if (cli->backend_count)
                failures++;
            continue;
        }
        /* A single-threaded SIMD backend is verified at every level this CPU runs
         * (unless --simd picks one); an unsupported level is reported, not failed. */
        bool sweep = (b->flags & IMG_BACKEND_SIMD_LEVELS) && !(b->flags & IMG_BACKEND_THREADED) &&
                     b->simd_level && !cli->simd;
        int levels = 1;
        if (sweep)
            for (levels = 0; b->simd_level(levels); levels++)
                ;
        for (int l = 0; l < levels; l++) {
            char label[32];
            snprintf(label, sizeof label, "%s", b->name);
            if (sweep) {
                options.simd_level = b->simd_level(l);
                snprintf(label, sizeof label, "%s:%s", b->name, options.simd_level);
            }
            verify_one(cli, b, &options, label, sweep, &src, &plan, &diff_written, &mismatches,
                       &failures);
        }
        options.simd_level = cli->simd;
    }
    if (cli->diff_image && !diff_written && mismatches == 0)
        printf("\nno difference: %s not written\n", cli->diff_image);
    img_image_free(&src);
    img_plan_free(&plan);
    return (mismatches || failures) ? IMG_EXIT_FAILURE : IMG_EXIT_OK;
}

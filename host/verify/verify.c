#include "verify.h"

#include <stdlib.h>
#include <string.h>

#include "registry.h"

uint64_t img_compare(const img_image *expected, const img_image *got, int border_width,
                     img_mismatch *out)
{
    memset(out, 0, sizeof *out);
    out->x = out->y = out->channel = -1;
    const int w = expected->width, h = expected->height;
    for (int y = 0; y < h; y++) {
        bool edge_row = y < border_width || y >= h - border_width;
        for (int x = 0; x < w; x++) {
            for (int c = 0; c < expected->channels; c++) {
                int e = img_row(expected, c, y)[x], g = img_row(got, c, y)[x];
                if (e == g)
                    continue;
                int d = abs(e - g);
                if (out->differing++ == 0) {
                    out->x = x;
                    out->y = y;
                    out->channel = c;
                    out->expected = e;
                    out->got = g;
                }
                if (d > out->max_abs_diff)
                    out->max_abs_diff = d;
                if (edge_row || x < border_width || x >= w - border_width)
                    out->border++;
                else
                    out->interior++;
            }
        }
    }
    return out->differing;
}

/* Gray picture of |expected - got|, the largest over channels, amplified so that a
 * difference of one is plainly visible. */
static int make_diff_image(img_image *diff, const img_image *expected, const img_image *got,
                           img_error *err)
{
    if (img_image_alloc(diff, expected->width, expected->height, 1, UINT64_MAX, err) != 0)
        return -1;
    for (int y = 0; y < expected->height; y++)
        for (int x = 0; x < expected->width; x++) {
            int worst = 0;
            for (int c = 0; c < expected->channels; c++) {
                int d = abs(img_row(expected, c, y)[x] - img_row(got, c, y)[x]);
                worst = d > worst ? d : worst;
            }
            img_row(diff, 0, y)[x] = (uint8_t)(worst ? (worst * 32 + 32 > 255 ? 255 : worst * 32 + 32) : 0);
        }
    return 0;
}

static int stage_output(img_image *out, img_stage stage, const img_image *in, const img_plan *plan,
                        img_error *err)
{
    int w = stage == IMG_STAGE_RESIZE ? plan->out_width : in->width;
    int h = stage == IMG_STAGE_RESIZE ? plan->out_height : in->height;
    return img_image_alloc(out, w, h, in->channels, UINT64_MAX, err);
}

int img_verify_backend(const img_backend *backend, void *state, const img_image *src,
                       const img_plan *plan, img_verify_result *result, img_image *diff,
                       img_error *err)
{
    memset(result, 0, sizeof *result);
    result->exact = true;
    const int border = plan->blur_radius > 1 ? plan->blur_radius : 1;
    img_image ref_in = {0}, ref_out = {0}, got = {0};
    int rc = -1;
    const img_image *cur = src;   /* serial's output of the stages so far */

    for (int s = 0; s < IMG_STAGE_COUNT; s++) {
        if (!plan->enabled[s])
            continue;
        result->stages_checked++;
        if (stage_output(&ref_out, (img_stage)s, cur, plan, err) != 0 ||
            stage_output(&got, (img_stage)s, cur, plan, err) != 0)
            goto done;
        if (img_backend_reference()->run_stage(NULL, (img_stage)s, &ref_out, cur, plan, err) != 0)
            goto done;
        if (backend->run_stage(state, (img_stage)s, &got, cur, plan, err) != 0)
            goto done;
        if (img_compare(&ref_out, &got, border, &result->mismatch) != 0) {
            result->exact = false;
            result->stage = img_stage_name((img_stage)s);
            if (diff && make_diff_image(diff, &ref_out, &got, err) != 0)
                goto done;
            rc = 0;
            goto done;
        }
        img_image_free(&got);
        img_image_free(&ref_in);
        ref_in = ref_out;            /* serial's output feeds the next stage */
        memset(&ref_out, 0, sizeof ref_out);
        cur = &ref_in;
    }

    /* The fused pipeline, end to end, against the chained serial stages. */
    result->stages_checked++;
    if (img_image_alloc(&got, plan->out_width, plan->out_height, src->channels, UINT64_MAX,
                        err) != 0)
        goto done;
    if (backend->run_pipeline(state, &got, src, plan, err) != 0)
        goto done;
    if (img_compare(cur, &got, border, &result->mismatch) != 0) {
        result->exact = false;
        result->stage = "pipeline";
        if (diff && make_diff_image(diff, cur, &got, err) != 0)
            goto done;
    }
    rc = 0;
done:
    img_image_free(&got);
    img_image_free(&ref_out);
    img_image_free(&ref_in);
    return rc;
}

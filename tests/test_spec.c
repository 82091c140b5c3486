/* The arithmetic of the specification: weight tables, point tables, resize maps,
 * parameter validation and output sizes, checked against values worked out by hand
 * (README, "The specification"). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "image.h"
#include "spec.h"

static int32_t weight_sum(const int32_t *w, int r)
{
    int32_t s = 0;
    for (int k = -r; k <= r; k++)
        s += w[k + r];
    return s;
}

Test(weights, sigma_half_known_answer)
{
    int32_t w[2 * IMG_BLUR_MAX_RADIUS + 1];
    int r = img_blur_weights(0.5, w);
    cr_assert_eq(r, 2);
    const int32_t want[] = {4, 1744, 12888, 1744, 4};   /* centre got +1 from the fix-up */
    cr_assert_arr_eq(w, want, sizeof want);
}

Test(weights, sigma_two_known_answer)
{
    int32_t w[2 * IMG_BLUR_MAX_RADIUS + 1];
    int r = img_blur_weights(2.0, w);
    cr_assert_eq(r, 6);
    const int32_t want[] = {36, 144, 443, 1062, 1984, 2887, 3272,
                            2887, 1984, 1062, 443, 144, 36};
    cr_assert_arr_eq(w, want, sizeof want);
}

Test(weights, sum_exact_and_symmetric_for_all_sigmas)
{
    int32_t w[2 * IMG_BLUR_MAX_RADIUS + 1];
    for (double sigma = 0.5; sigma <= 32.0; sigma += 0.25) {
        int r = img_blur_weights(sigma, w);
        cr_assert_eq(r, (int)ceil(3.0 * sigma), "sigma %g", sigma);
        cr_assert_leq(r, IMG_BLUR_MAX_RADIUS);
        cr_assert_eq(weight_sum(w, r), IMG_BLUR_ONE, "sigma %g", sigma);
        for (int k = 1; k <= r; k++) {
            cr_assert_eq(w[r + k], w[r - k], "sigma %g k %d", sigma, k);
            /* Outside the centre the weights fall off; the centre itself absorbs the
             * rounding fix-up and may end slightly below its neighbours (sigma 9.75). */
            if (k >= 2)
                cr_assert_leq(w[r + k], w[r + k - 1], "sigma %g k %d", sigma, k);
        }
        cr_assert_leq(w[r], IMG_BLUR_ONE, "fits the int16 multiply-add the SIMD code uses");
        cr_assert_geq(w[0], 0);
    }
}

Test(point, contrast_table_known_answers)
{
    img_params p = img_params_default();   /* b = 20, c = 1.2 -> C = 307 */
    img_plan plan;
    img_error err;
    cr_assert_eq(img_plan_init(&plan, &p, 8, 8, 0, &err), 0, "%s", err.message);
    cr_assert_eq(plan.contrast_q8, 307);
    cr_assert_eq(plan.contrast_lut[0], 0);      /* 128 + ((-39296 + 128) >> 8) = -25 -> 0 */
    cr_assert_eq(plan.contrast_lut[100], 94);   /* (-8468) >> 8 = -34: a floor, not a truncation */
    cr_assert_eq(plan.contrast_lut[128], 128);
    cr_assert_eq(plan.contrast_lut[200], 214);  /* 22232 >> 8 = 86 */
    cr_assert_eq(plan.contrast_lut[255], 255);
    cr_assert_eq(plan.brightness_lut[0], 20);
    cr_assert_eq(plan.brightness_lut[250], 255);
    /* point_lut is brightness then contrast. */
    cr_assert_eq(plan.point_lut[80], plan.contrast_lut[100]);
    img_plan_free(&plan);
}

Test(point, contrast_half_and_zero)
{
    img_params p = img_params_default();
    img_plan plan;
    img_error err;
    p.contrast = 0.5;   /* C = 128 */
    cr_assert_eq(img_plan_init(&plan, &p, 4, 4, 0, &err), 0);
    cr_assert_eq(plan.contrast_lut[255], 192);  /* (127 * 128 + 128) >> 8 = 64 */
    cr_assert_eq(plan.contrast_lut[0], 64);     /* (-16384 + 128) >> 8 = -64 */
    img_plan_free(&plan);
    p.contrast = 0.0;   /* everything collapses to mid-grey */
    cr_assert_eq(img_plan_init(&plan, &p, 4, 4, 0, &err), 0);
    for (int i = 0; i < 256; i++)
        cr_assert_eq(plan.contrast_lut[i], 128);
    img_plan_free(&plan);
}

Test(point, negative_brightness_clamps)
{
    img_params p = img_params_default();
    p.brightness = -255;
    img_plan plan;
    img_error err;
    cr_assert_eq(img_plan_init(&plan, &p, 4, 4, 0, &err), 0);
    cr_assert_eq(plan.brightness_lut[255], 0);
    cr_assert_eq(plan.brightness_lut[10], 0);
    img_plan_free(&plan);
}

Test(resize_map, scale_half)
{
    int32_t i0[2], i1[2], f[2];
    img_resize_map(4, 2, i0, i1, f);
    /* num = (2x+1)*4 - 2 = 2, 10; p = num*2048/4 = 1024, 5120 */
    cr_assert_eq(i0[0], 0); cr_assert_eq(i1[0], 1); cr_assert_eq(f[0], 1024);
    cr_assert_eq(i0[1], 2); cr_assert_eq(i1[1], 3); cr_assert_eq(f[1], 1024);
}

Test(resize_map, scale_two)
{
    int32_t i0[4], i1[4], f[4];
    img_resize_map(2, 4, i0, i1, f);
    /* num = -2 (clamped to 0), 2, 6, 10; p = 0, 512, 1536, 2560 -> x0 = 1 = W-1: fx = 0 */
    const int32_t want0[] = {0, 0, 0, 1}, want1[] = {1, 1, 1, 1}, wantf[] = {0, 512, 1536, 0};
    cr_assert_arr_eq(i0, want0, sizeof want0);
    cr_assert_arr_eq(i1, want1, sizeof want1);
    cr_assert_arr_eq(f, wantf, sizeof wantf);
}

Test(resize_map, scale_0_37)
{
    img_params p = img_params_default();
    p.scale = 0.37;
    int w, h;
    img_error err;
    cr_assert_eq(img_output_size(&p, 10, 3, 0, &w, &h, &err), 0);
    cr_assert_eq(w, 4);   /* round(3.7) */
    cr_assert_eq(h, 1);   /* max(1, round(1.11)) */
    int32_t i0[4], i1[4], f[4];
    img_resize_map(10, 4, i0, i1, f);
    /* num = 6, 26, 46, 66; p = num * 2048 / 8 = 1536, 6656, 11776, 16896 */
    const int32_t want0[] = {0, 3, 5, 8}, want1[] = {1, 4, 6, 9}, wantf[] = {1536, 512, 1536, 512};
    cr_assert_arr_eq(i0, want0, sizeof want0);
    cr_assert_arr_eq(i1, want1, sizeof want1);
    cr_assert_arr_eq(f, wantf, sizeof wantf);
}

Test(resize_map, to_one_pixel_reads_the_centre)
{
    int32_t i0, i1, f;
    img_resize_map(5, 1, &i0, &i1, &f);
    cr_assert_eq(i0, 2);
    cr_assert_eq(f, 0);
    img_resize_map(4, 1, &i0, &i1, &f);   /* between pixels 1 and 2, half each */
    cr_assert_eq(i0, 1);
    cr_assert_eq(i1, 2);
    cr_assert_eq(f, 1024);
}

Test(resize_map, identity_when_sizes_match)
{
    int32_t i0[7], i1[7], f[7];
    img_resize_map(7, 7, i0, i1, f);
    for (int x = 0; x < 7; x++) {
        cr_assert_eq(i0[x], x);
        cr_assert_eq(f[x], 0);
    }
}

Test(plan, neutral_stages_are_skipped)
{
    img_params p = {.brightness = 0, .contrast = 1.0, .sigma = 0.0, .scale = 1.0};
    img_plan plan;
    img_error err;
    cr_assert_eq(img_plan_init(&plan, &p, 10, 10, 0, &err), 0);
    for (int s = 0; s < IMG_STAGE_COUNT; s++)
        cr_assert_not(plan.enabled[s], "stage %s", img_stage_name((img_stage)s));
    for (int i = 0; i < 256; i++)
        cr_assert_eq(plan.point_lut[i], i);
    img_plan_free(&plan);
    p = img_params_default();
    cr_assert_eq(img_plan_init(&plan, &p, 10, 10, 0, &err), 0);
    for (int s = 0; s < IMG_STAGE_COUNT; s++)
        cr_assert(plan.enabled[s], "stage %s", img_stage_name((img_stage)s));
    cr_assert_eq(plan.out_width, 5);
    cr_assert_eq(plan.out_height, 5);
    img_plan_free(&plan);
}

Test(plan, explicit_size_and_limits)
{
    img_params p = img_params_default();
    p.out_width = 3;
    p.out_height = 7;
    int w, h;
    img_error err;
    cr_assert_eq(img_output_size(&p, 100, 100, 0, &w, &h, &err), 0);
    cr_assert_eq(w, 3);
    cr_assert_eq(h, 7);
    p = img_params_default();
    p.scale = 16.0;
    cr_assert_eq(img_output_size(&p, 10000, 10000, 0, &w, &h, &err), -1);
    cr_assert(strstr(err.message, "limit") != NULL, "%s", err.message);
    p.scale = 0.0001;
    cr_assert_eq(img_output_size(&p, 7, 3, 0, &w, &h, &err), 0);
    cr_assert_eq(w, 1);
    cr_assert_eq(h, 1);
}

/* The message's first word: the library names the parameter, not a CLI option. */
static const char *first_word(const char *message, char word[64])
{
    snprintf(word, 64, "%.*s", (int)strcspn(message, " "), message);
    return word;
}

Test(params, validation_rejects_out_of_range)
{
    img_error err;
    char word[64];
    img_params p = img_params_default();
    cr_assert_eq(img_params_validate(&p, &err), 0);
    p.brightness = 256;
    cr_assert_eq(img_params_validate(&p, &err), -1);
    cr_assert_str_eq(first_word(err.message, word), "brightness", "%s", err.message);
    p = img_params_default();
    p.contrast = NAN;
    cr_assert_eq(img_params_validate(&p, &err), -1);
    cr_assert_str_eq(first_word(err.message, word), "contrast", "%s", err.message);
    p = img_params_default();
    p.sigma = 0.3;
    cr_assert_eq(img_params_validate(&p, &err), -1);
    cr_assert_str_eq(first_word(err.message, word), "sigma", "%s", err.message);
    p = img_params_default();
    p.scale = 0.0;
    cr_assert_eq(img_params_validate(&p, &err), -1);
    cr_assert_str_eq(first_word(err.message, word), "scale", "%s", err.message);
    p = img_params_default();
    p.scale = INFINITY;
    cr_assert_eq(img_params_validate(&p, &err), -1);
    p = img_params_default();
    p.out_width = 0;
    p.out_height = 0;
    p.scale = 1.0;
    p.out_width = 5;
    cr_assert_eq(img_params_validate(&p, &err), -1);
    cr_assert_str_eq(first_word(err.message, word), "resize", "%s", err.message);
}

Test(plan, image_size_checked_in_64_bits)
{
    img_error err;
    /* 70000 * 70000 * 4 overflows 32 bits; it must be refused, not wrapped. */
    cr_assert_eq(img_check_size(70000, 70000, 4, 0, &err), -1);
    cr_assert(strstr(err.message, "limit") != NULL, "%s", err.message);
    cr_assert_eq(img_check_size(0, 5, 1, 0, &err), -1);
    cr_assert_eq(img_check_size(5, 5, 5, 0, &err), -1);
    cr_assert_eq(img_check_size(16384, 16384, 4, 0, &err), 0);   /* exactly 2^28 */
    cr_assert_eq(img_check_size(16385, 16384, 4, 0, &err), -1);
}

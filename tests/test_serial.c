/* The serial reference against answers worked out by hand: each stage alone, all
 * together, borders, tiny and odd sizes. */
#include <criterion/criterion.h>
#include <string.h>

#include "backend.h"
#include "test_helpers.h"

extern const img_backend img_backend_serial;

static img_params neutral(void)
{
    return (img_params){.brightness = 0, .contrast = 1.0, .sigma = 0.0, .scale = 1.0};
}

/* Runs the whole serial pipeline on a gray w x h image and checks every output value. */
static void expect_pipeline(const img_params *p, int w, int h, const uint8_t *in, int ow, int oh,
                            const uint8_t *want)
{
    img_image src, dst;
    img_plan plan;
    img_error err;
    test_gray_image(&src, w, h, in);
    cr_assert_eq(img_plan_init(&plan, p, w, h, 0, &err), 0, "%s", err.message);
    cr_assert_eq(plan.out_width, ow);
    cr_assert_eq(plan.out_height, oh);
    cr_assert_eq(img_image_alloc(&dst, ow, oh, 1, 0, &err), 0);
    cr_assert_eq(img_backend_serial.run_pipeline(NULL, &dst, &src, &plan, &err), 0, "%s",
                 err.message);
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
            cr_assert_eq(img_row(&dst, 0, y)[x], want[y * ow + x], "at %d,%d: want %d got %d", x,
                         y, want[y * ow + x], img_row(&dst, 0, y)[x]);
    img_image_free(&src);
    img_image_free(&dst);
    img_plan_free(&plan);
}

Test(serial, brightness_alone_clamps)
{
    img_params p = neutral();
    p.brightness = 20;
    const uint8_t in[] = {0, 100, 250, 235, 236, 255};
    const uint8_t want[] = {20, 120, 255, 255, 255, 255};
    expect_pipeline(&p, 6, 1, in, 6, 1, want);
    p.brightness = -20;
    const uint8_t want_dark[] = {0, 80, 230, 215, 216, 235};
    expect_pipeline(&p, 6, 1, in, 6, 1, want_dark);
}

Test(serial, contrast_alone_floors_negative_values)
{
    img_params p = neutral();
    p.contrast = 1.2;
    const uint8_t in[] = {0, 100, 128, 200, 255};
    const uint8_t want[] = {0, 94, 128, 214, 255};
    expect_pipeline(&p, 1, 5, in, 1, 5, want);
}

Test(serial, blur_alone_impulse_row)
{
    img_params p = neutral();
    p.sigma = 0.5;   /* weights 4 1744 12888 1744 4 */
    const uint8_t in[] = {0, 0, 255, 0, 0};
    const uint8_t want[] = {0, 27, 201, 27, 0};
    expect_pipeline(&p, 5, 1, in, 5, 1, want);
    expect_pipeline(&p, 1, 5, in, 1, 5, want);   /* the same down a column */
}

Test(serial, blur_replicates_the_border)
{
    img_params p = neutral();
    p.sigma = 0.5;
    const uint8_t in[] = {0, 0, 255};
    const uint8_t want[] = {0, 27, 228};   /* the edge pixel counts three times */
    expect_pipeline(&p, 3, 1, in, 3, 1, want);
    const uint8_t impulse[] = {0, 0, 0, 0, 255, 0, 0, 0, 0};
    const uint8_t want2d[] = {3, 21, 3, 21, 158, 21, 3, 21, 3};
    expect_pipeline(&p, 3, 3, impulse, 3, 3, want2d);
}

/* A ramp is kept exactly inside by any symmetric kernel, so only the border rule and the
 * weights decide the ends. Sigma 0.5 (weights 4 1744 12888 1744 4, sum 16384) on
 * 50 60 70 80 90 100 110, edge pixels replicated:
 *   x=0: 4*50 + 1744*50 + 12888*50 + 1744*60 + 4*70 = 836720; h = (836720 + 64) >> 7 = 6537;
 *        (16384 * 6537 + 2^20) >> 21 = 51   (mirroring would give 52, zeros 46)
 *   x=1: 4*50 + 1744*50 + 12888*60 + 1744*70 + 4*80 = 983080; h = 7680 -> 60
 *   x=5: 4*80 + 1744*90 + 12888*100 + 1744*110 + 4*110 = 1638360; h = 12800 -> 100
 *   x=6: 4*90 + 1744*100 + 12888*110 + 1744*110 + 4*110 = 1784720; h = 13943 -> 109
 * Down a column the rows are h = 128 * v exactly and the vertical pass gives the same
 * values. On 50 60 110 the radius (2) reaches past both ends of the image:
 *   x=0: 4*50 + 1744*50 + 12888*50 + 1744*60 + 4*110 = 836880 -> 51
 *   x=1: 4*50 + 1744*50 + 12888*60 + 1744*110 + 4*110 = 1052960 -> 64
 *   x=2: 4*50 + 1744*60 + 12888*110 + 1744*110 + 4*110 = 1714800 -> 105 */
Test(serial, blur_ramp_borders_known_answer)
{
    img_params p = neutral();
    p.sigma = 0.5;
    const uint8_t ramp[] = {50, 60, 70, 80, 90, 100, 110};
    const uint8_t want[] = {51, 60, 70, 80, 90, 100, 109};
    expect_pipeline(&p, 7, 1, ramp, 7, 1, want);
    expect_pipeline(&p, 1, 7, ramp, 1, 7, want);
    const uint8_t shortr[] = {50, 60, 110};
    const uint8_t want_short[] = {51, 64, 105};
    expect_pipeline(&p, 3, 1, shortr, 3, 1, want_short);
    expect_pipeline(&p, 1, 3, shortr, 1, 3, want_short);
}

/* One pixel is its own border at any radius, up to 96 (sigma 32). */
Test(serial, blur_keeps_one_pixel)
{
    img_params p = neutral();
    for (double sigma = 0.5; sigma <= 32.0; sigma *= 2.0) {
        p.sigma = sigma;
        const uint8_t one[] = {201};
        expect_pipeline(&p, 1, 1, one, 1, 1, one);
    }
}

Test(serial, resize_alone_averages_two_by_two)
{
    img_params p = neutral();
    p.scale = 0.5;
    const uint8_t in[] = {10, 20, 30, 41};
    const uint8_t want[] = {25};   /* (101 * 2^20 + 2^21) >> 22 = 25 */
    expect_pipeline(&p, 2, 2, in, 1, 1, want);
}

Test(serial, resize_upscale_known_answer)
{
    img_params p = neutral();
    p.out_width = 4;
    p.out_height = 1;
    const uint8_t in[] = {0, 200};
    /* x maps: (0,fx 0) (0,512) (0,1536) (1,0) */
    const uint8_t want[] = {0, 50, 150, 200};
    expect_pipeline(&p, 2, 1, in, 4, 1, want);
}

Test(serial, all_stages_on_one_pixel)
{
    img_params p = img_params_default();   /* 1x1 stays 1x1: resize is neutral */
    const uint8_t in[] = {100};
    const uint8_t want[] = {118};   /* 120 -> 128 + ((-8 * 307 + 128) >> 8) = 118 */
    expect_pipeline(&p, 1, 1, in, 1, 1, want);
}

Test(serial, all_stages_on_a_row)
{
    img_params p = {.brightness = 20, .contrast = 1.2, .sigma = 0.5, .scale = 1.0};
    p.out_width = 2;
    p.out_height = 1;
    /* brightness+contrast: 0->0, 100->118 ... then blur, then 4->2 resize */
    const uint8_t in[] = {0, 0, 100, 100};
    /* point: {0, 0, 118, 118}; blur (r = 2, W = 4 1744 12888 1744 4): horizontal
     * h = {4, 1611, 13493, 15100}, vertical on one row = (16384 h + 2^20) >> 21 */
    img_image src, mid, dst;
    img_plan plan;
    img_error err;
    test_gray_image(&src, 4, 1, in);
    cr_assert_eq(img_plan_init(&plan, &p, 4, 1, 0, &err), 0);
    cr_assert_eq(img_image_alloc(&dst, 2, 1, 1, 0, &err), 0);
    cr_assert_eq(img_backend_serial.run_pipeline(NULL, &dst, &src, &plan, &err), 0);
    /* Recompute by the stages to cross-check the chaining (each stage known-good above). */
    cr_assert_eq(img_image_alloc(&mid, 4, 1, 1, 0, &err), 0);
    const uint8_t point[] = {0, 0, 118, 118};
    for (int x = 0; x < 4; x++)
        img_row(&mid, 0, 0)[x] = point[x];
    img_image blurred;
    cr_assert_eq(img_image_alloc(&blurred, 4, 1, 1, 0, &err), 0);
    cr_assert_eq(img_backend_serial.run_stage(NULL, IMG_STAGE_BLUR, &blurred, &mid, &plan, &err), 0);
    const uint8_t want_blur[] = {0, 13, 105, 118};
    for (int x = 0; x < 4; x++)
        cr_assert_eq(img_row(&blurred, 0, 0)[x], want_blur[x], "blur x=%d got %d", x,
                     img_row(&blurred, 0, 0)[x]);
    /* resize 4 -> 2: each output averages a pair */
    cr_assert_eq(img_row(&dst, 0, 0)[0], 7);    /* (0 + 13 + 1) / 2 */
    cr_assert_eq(img_row(&dst, 0, 0)[1], 112);  /* (105 + 118 + 1) / 2 */
    img_image_free(&src);
    img_image_free(&mid);
    img_image_free(&blurred);
    img_image_free(&dst);
    img_plan_free(&plan);
}

Test(serial, point_stages_leave_alpha_alone)
{
    img_image src, dst;
    img_plan plan;
    img_error err;
    img_params p = neutral();
    p.brightness = 50;
    test_random_image(&src, 9, 4, 4, 7);
    cr_assert_eq(img_plan_init(&plan, &p, 9, 4, 0, &err), 0);
    cr_assert_eq(img_image_alloc(&dst, 9, 4, 4, 0, &err), 0);
    cr_assert_eq(img_backend_serial.run_pipeline(NULL, &dst, &src, &plan, &err), 0);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 9; x++) {
            for (int c = 0; c < 3; c++)
                cr_assert_eq(img_row(&dst, c, y)[x], img_clamp_u8(img_row(&src, c, y)[x] + 50));
            cr_assert_eq(img_row(&dst, 3, y)[x], img_row(&src, 3, y)[x], "alpha changed");
        }
    img_image_free(&src);
    img_image_free(&dst);
    img_plan_free(&plan);
    /* Gray + alpha: plane 1 is alpha. */
    test_random_image(&src, 5, 5, 2, 9);
    cr_assert_eq(img_plan_init(&plan, &p, 5, 5, 0, &err), 0);
    cr_assert_eq(img_image_alloc(&dst, 5, 5, 2, 0, &err), 0);
    cr_assert_eq(img_backend_serial.run_pipeline(NULL, &dst, &src, &plan, &err), 0);
    for (int x = 0; x < 5; x++) {
        cr_assert_eq(img_row(&dst, 0, 2)[x], img_clamp_u8(img_row(&src, 0, 2)[x] + 50));
        cr_assert_eq(img_row(&dst, 1, 2)[x], img_row(&src, 1, 2)[x]);
    }
    img_image_free(&src);
    img_image_free(&dst);
    img_plan_free(&plan);
}

Test(serial, no_enabled_stage_copies)
{
    img_image src, dst;
    img_plan plan;
    img_error err;
    img_params p = neutral();
    test_random_image(&src, 13, 1, 3, 3);
    cr_assert_eq(img_plan_init(&plan, &p, 13, 1, 0, &err), 0);
    cr_assert_eq(img_image_alloc(&dst, 13, 1, 3, 0, &err), 0);
    cr_assert_eq(img_backend_serial.run_pipeline(NULL, &dst, &src, &plan, &err), 0);
    cr_assert(img_image_equal(&src, &dst));
    img_image_free(&src);
    img_image_free(&dst);
    img_plan_free(&plan);
}

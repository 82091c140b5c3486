/* verify must be able to fail: a backend with one deliberately wrong stage is caught
 * at that stage and that pixel. */
#include <criterion/criterion.h>
#include <string.h>

#include "registry.h"
#include "test_helpers.h"
#include "verify.h"

extern const img_backend img_backend_serial;

/* Which stage the faulty backend breaks, and where. Tests set these before use. */
typedef struct fault {
    img_stage stage;
    int x, y, channel;
    bool break_pipeline_only;
} fault;

static int faulty_run_stage(void *state, img_stage stage, img_image *dst, const img_image *src,
                            const img_plan *plan, img_error *err)
{
    const fault *f = state;
    if (img_backend_serial.run_stage(NULL, stage, dst, src, plan, err) != 0)
        return -1;
    if (!f->break_pipeline_only && stage == f->stage)
        img_row(dst, f->channel, f->y)[f->x] ^= 1;   /* off by one: still a bug */
    return 0;
}

static int faulty_run_pipeline(void *state, img_image *dst, const img_image *src,
                               const img_plan *plan, img_error *err)
{
    const fault *f = state;
    if (img_backend_serial.run_pipeline(NULL, dst, src, plan, err) != 0)
        return -1;
    img_row(dst, f->channel, f->y)[f->x] ^= 4;
    return 0;
}

static const img_backend faulty = {
    .name = "faulty",
    .run_stage = faulty_run_stage,
    .run_pipeline = faulty_run_pipeline,
};

static void setup_input(img_image *src, img_plan *plan, int w, int h)
{
    img_error err;
    img_params p = img_params_default();
    test_random_image(src, w, h, 3, 11);
    cr_assert_eq(img_plan_init(plan, &p, w, h, 0, &err), 0, "%s", err.message);
}

Test(verify, serial_against_itself_is_exact)
{
    img_image src;
    img_plan plan;
    img_verify_result r;
    img_error err;
    setup_input(&src, &plan, 31, 17);
    cr_assert_eq(img_verify_backend(&img_backend_serial, NULL, &src, &plan, &r, NULL, &err), 0);
    cr_assert(r.exact);
    cr_assert_eq(r.stages_checked, 5);   /* four stages and the pipeline */
    img_image_free(&src);
    img_plan_free(&plan);
}

Test(verify, names_the_first_wrong_stage_and_pixel)
{
    img_image src, diff = {0};
    img_plan plan;
    img_verify_result r;
    img_error err;
    setup_input(&src, &plan, 31, 17);
    fault f = {.stage = IMG_STAGE_BLUR, .x = 12, .y = 9, .channel = 2};
    cr_assert_eq(img_verify_backend(&faulty, &f, &src, &plan, &r, &diff, &err), 0);
    cr_assert_not(r.exact);
    cr_assert_str_eq(r.stage, "blur");
    cr_assert_eq(r.mismatch.x, 12);
    cr_assert_eq(r.mismatch.y, 9);
    cr_assert_eq(r.mismatch.channel, 2);
    cr_assert_eq(r.mismatch.differing, 1);
    cr_assert_eq(r.mismatch.max_abs_diff, 1);
    cr_assert_eq(r.mismatch.interior, 1);   /* 12,9 is more than 6 px from every edge */
    cr_assert_eq(r.mismatch.border, 0);
    cr_assert_eq(r.mismatch.got ^ r.mismatch.expected, 1);
    /* The difference picture lights exactly that pixel. */
    cr_assert_eq(diff.width, 31);
    cr_assert_eq(img_row(&diff, 0, 9)[12], 64);
    cr_assert_eq(img_row(&diff, 0, 0)[0], 0);
    img_image_free(&diff);
    img_image_free(&src);
    img_plan_free(&plan);
}

Test(verify, border_faults_are_counted_as_border)
{
    img_image src;
    img_plan plan;
    img_verify_result r;
    img_error err;
    setup_input(&src, &plan, 31, 17);
    fault f = {.stage = IMG_STAGE_BRIGHTNESS, .x = 30, .y = 0, .channel = 0};
    cr_assert_eq(img_verify_backend(&faulty, &f, &src, &plan, &r, NULL, &err), 0);
    cr_assert_str_eq(r.stage, "brightness");
    cr_assert_eq(r.mismatch.border, 1);
    cr_assert_eq(r.mismatch.interior, 0);
    f = (fault){.stage = IMG_STAGE_RESIZE, .x = 3, .y = 4, .channel = 1};
    cr_assert_eq(img_verify_backend(&faulty, &f, &src, &plan, &r, NULL, &err), 0);
    cr_assert_str_eq(r.stage, "resize");
    cr_assert_eq(r.mismatch.x, 3);
    cr_assert_eq(r.mismatch.y, 4);
    img_image_free(&src);
    img_plan_free(&plan);
}

Test(verify, a_wrong_fused_pipeline_is_caught)
{
    img_image src;
    img_plan plan;
    img_verify_result r;
    img_error err;
    setup_input(&src, &plan, 20, 20);
    fault f = {.x = 5, .y = 6, .channel = 0, .break_pipeline_only = true};
    cr_assert_eq(img_verify_backend(&faulty, &f, &src, &plan, &r, NULL, &err), 0);
    cr_assert_not(r.exact);
    cr_assert_str_eq(r.stage, "pipeline");
    cr_assert_eq(r.mismatch.max_abs_diff, 4);
    img_image_free(&src);
    img_plan_free(&plan);
}

Test(registry, lookup_and_names)
{
    cr_assert_not_null(img_backend_find("serial"));
    cr_assert_null(img_backend_find("no-such"));
    cr_assert_null(img_backend_find(""));
    char names[256];
    img_backend_names(names, sizeof names);
    cr_assert(strstr(names, "serial") != NULL);
    for (size_t i = 0; i < img_backend_count(); i++) {
        const img_backend *b = img_backend_at(i);
        cr_assert_not_null(b->name);
        cr_assert_not_null(b->description);
        cr_assert_not_null(b->probe);
        cr_assert_not_null(b->init);
        cr_assert_not_null(b->destroy);
        cr_assert_not_null(b->run_stage);
        cr_assert_not_null(b->run_pipeline);
    }
    cr_assert_null(img_backend_at(img_backend_count()));
}

/* Small helpers shared by the test files: deterministic random images and
 * images from literal values. */
#ifndef IMG_TESTS_TEST_HELPERS_H
#define IMG_TESTS_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <stdint.h>

#include "image.h"

static inline uint32_t test_random(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* A w x h image with `channels` planes of random bytes (seeded). */
static inline void test_random_image(img_image *img, int w, int h, int channels, uint32_t seed)
{
    img_error err;
    cr_assert_eq(img_image_alloc(img, w, h, channels, 0, &err), 0, "%s", err.message);
    uint32_t s = seed ? seed : 1;
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                img_row(img, c, y)[x] = (uint8_t)(test_random(&s) >> 24);
}

/* A one-channel image from row-major values. */
static inline void test_gray_image(img_image *img, int w, int h, const uint8_t *values)
{
    img_error err;
    cr_assert_eq(img_image_alloc(img, w, h, 1, 0, &err), 0, "%s", err.message);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            img_row(img, 0, y)[x] = values[y * w + x];
}

#endif

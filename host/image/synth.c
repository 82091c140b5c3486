#include "synth.h"

/* A 32-bit xorshift: deterministic on every platform, unlike rand(). */
static uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

static uint8_t clamp_u8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

int img_synth_image(img_image *img, int width, int height, int channels, uint64_t max_pixels,
                    img_error *err)
{
    if (img_image_alloc(img, width, height, channels, max_pixels, err) != 0)
        return -1;
    uint32_t rng = 0x9e3779b9u;
    /* Everything is laid out in fractions of the image so any size looks alike. */
    const int64_t w = width, h = height;
    for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
            /* Diagonal colour gradients as the "sky". */
            int r = (int)(x * 255 / (w > 1 ? w - 1 : 1));
            int g = (int)(y * 255 / (h > 1 ? h - 1 : 1));
            int b = (int)((x + y) * 255 / (w + h > 2 ? w + h - 2 : 1));
            /* A dark disc with a hard edge in the left third. */
            int64_t dx = x - w / 4, dy = y - h / 2, rad = (w < h ? w : h) / 4;
            if (dx * dx + dy * dy < rad * rad) {
                r = 40;
                g = 30 + (int)(dy * 20 / (rad ? rad : 1));
                b = 60;
            }
            /* A bright rectangle in the right part, also hard-edged. */
            if (x > w * 6 / 10 && x < w * 9 / 10 && y > h / 6 && y < h / 3) {
                r = 235;
                g = 225;
                b = 200;
            }
            /* Fine one-pixel stripes at the bottom: what a blur smears and a resize aliases. */
            if (y > h * 3 / 4 && x > w / 2) {
                int on = ((x + y / 8) & 1) != 0;
                r = g = b = on ? 220 : 35;
            }
            /* Sensor-like noise everywhere, +-12. */
            int noise = (int)(next_random(&rng) % 25) - 12;
            uint8_t rgb[3] = {clamp_u8(r + noise), clamp_u8(g + noise), clamp_u8(b + noise)};
            if (channels >= 3) {
                for (int c = 0; c < 3; c++)
                    img_row(img, c, y)[x] = rgb[c];
            } else {
                /* Rec. 601 luma in integers. */
                img_row(img, 0, y)[x] = (uint8_t)((299 * rgb[0] + 587 * rgb[1] + 114 * rgb[2]) / 1000);
            }
            if (channels == 2 || channels == 4) {
                /* Alpha: opaque in the centre, fading towards the corners. */
                int64_t ex = 2 * x - w, ey = 2 * y - h;
                int64_t fade = (ex * ex + ey * ey) * 160 / (w * w + h * h);
                img_row(img, channels - 1, y)[x] = clamp_u8(255 - (int)fade);
            }
        }
    }
    return 0;
}

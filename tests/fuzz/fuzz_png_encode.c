/* libFuzzer target for the PNG encoder: the input picks a small image (size, channels,
 * pixels) and an encoding (deflater, level, strategy, filter, bands, threads); the
 * encoded file must decode back (libpng, through img_read_memory) to exactly the same
 * pixels. Any difference aborts, so the fuzzer reports it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image_io.h"
#include "png_encode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    const int width = 1 + data[0] % 64, height = 1 + data[1] % 64;
    const int channels = 1 + data[2] % 4;
    img_png_encoding enc = {
        .deflater = data[3] & 1 ? IMG_PNG_DEFLATE_LIBDEFLATE : IMG_PNG_DEFLATE_ZLIB,
        .strategy = (img_png_strategy)((data[3] >> 1) % 3),
        .filter = (img_png_filter)(data[4] % 6),
        .bands = data[5] % 80,          /* 0 = automatic; up to more bands than rows */
        .threads = 1 + data[6] % 4,
    };
    enc.level = data[7] % (enc.deflater == IMG_PNG_DEFLATE_LIBDEFLATE ? 13 : 10);
    data += 8;
    size -= 8;

    img_image img = {0};
    img_error err;
    if (img_image_alloc(&img, width, height, channels, 0, &err) != 0)
        return 0;
    /* The pixels are the rest of the input, repeated (zeros when there is none). */
    size_t k = 0;
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                img_row(&img, c, y)[x] = size ? data[k++ % size] : 0;

    uint8_t *png = NULL;
    size_t png_size = 0;
    if (img_png_encode_memory("fuzz.png", &img, &enc, &png, &png_size, &err) != 0)
        abort();   /* every setting drawn above is valid: encoding must succeed */
    img_image back = {0};
    if (img_read_memory("fuzz.png", png, png_size, &back, NULL, &err) != 0)
        abort();
    if (back.width != width || back.height != height || back.channels != channels)
        abort();
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < height; y++)
            if (memcmp(img_row(&img, c, y), img_row(&back, c, y), (size_t)width) != 0)
                abort();
    img_image_free(&back);
    img_image_free(&img);
    free(png);
    return 0;
}

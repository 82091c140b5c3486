/* libFuzzer target comparing the two PNG decoders (libpng and libspng) on one input:
 * each may refuse it, but where both accept it they must give the same image (the
 * same size, channel count and pixels). Any difference aborts, so the fuzzer keeps the
 * input. As in fuzz_image.c, the PNG signature is prepended when missing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_io.h"

static const uint8_t png_sig[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t sig_len = size >= sizeof png_sig && memcmp(data, png_sig, sizeof png_sig) == 0
                         ? 0
                         : sizeof png_sig;
    uint8_t *buf = malloc(size + sig_len + 1);
    if (!buf)
        return 0;
    memcpy(buf, png_sig, sig_len);
    if (size)
        memcpy(buf + sig_len, data, size);
    /* A small pixel limit keeps each run fast. */
    const img_read_options with_libpng = {.max_pixels = (uint64_t)1 << 20,
                                          .png_decoder = IMG_PNG_DECODER_LIBPNG};
    const img_read_options with_libspng = {.max_pixels = (uint64_t)1 << 20,
                                           .png_decoder = IMG_PNG_DECODER_LIBSPNG};
    img_image a = {0}, b = {0};
    img_error ea, eb;
    const int ra = img_read_memory("fuzz", buf, size + sig_len, &a, &with_libpng, &ea);
    const int rb = img_read_memory("fuzz", buf, size + sig_len, &b, &with_libspng, &eb);
    if (ra == 0 && rb == 0 && !img_image_equal(&a, &b)) {
        fprintf(stderr, "libpng and libspng decode this input differently: %dx%dx%d against "
                        "%dx%dx%d\n", a.width, a.height, a.channels, b.width, b.height,
                b.channels);
        abort();
    }
    img_image_free(&a);
    img_image_free(&b);
    free(buf);
    return 0;
}

/* libFuzzer target for one image loader. Built once per format with
 * IMGPIPE_FUZZ_FORMAT naming it; every input must give a decoded image or a clean
 * error, never a crash, a sanitizer report or a hang. The signature bytes the
 * dispatcher looks for are prepended when missing, so the fuzzer spends its time
 * inside the chosen decoder instead of in "unrecognised format". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image_io.h"

#define STR2(x) #x
#define STR(x) STR2(x)

static const uint8_t png_sig[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const uint8_t jpeg_sig[] = {0xff, 0xd8, 0xff};
static const uint8_t pnm_sig[] = {'P', '6'};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *format = STR(IMGPIPE_FUZZ_FORMAT);
    const uint8_t *sig = pnm_sig;
    size_t sig_len = sizeof pnm_sig;
    if (strcmp(format, "png") == 0) {
        sig = png_sig;
        sig_len = sizeof png_sig;
    } else if (strcmp(format, "jpeg") == 0) {
        sig = jpeg_sig;
        sig_len = sizeof jpeg_sig;
    } else if (size >= 2 && data[0] == 'P' && data[1] == '5') {
        sig_len = 0;   /* keep gray PNM inputs as they are */
    }
    if (size >= sig_len && memcmp(data, sig, sig_len) == 0)
        sig_len = 0;
    uint8_t *buf = malloc(size + sig_len + 1);
    if (!buf)
        return 0;
    memcpy(buf, sig, sig_len);
    if (size)
        memcpy(buf + sig_len, data, size);
    /* A small pixel limit keeps each run fast; the limit logic itself is exercised. */
    img_read_options options = {.max_pixels = (uint64_t)1 << 20};
    img_image img = {0};
    img_error err;
    if (img_read_memory("fuzz", buf, size + sig_len, &img, &options, &err) == 0)
        img_image_free(&img);
    free(buf);
    return 0;
}

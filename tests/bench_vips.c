/* The whole imgpipe job done with libvips, for a file-in, file-out speed comparison
 * (not bit-exact with imgpipe: libvips rounds its own way).
 *
 *   point:  vips_linear with 8-bit output, brightness then contrast folded into one
 *           a * x + b (imgpipe's defaults: +20, then 1.2 around 128)
 *   blur:   vips_gaussblur, sigma 2
 *   resize: vips_resize to half size (bilinear kernel: imgpipe's resize)
 *   save:   to the output's format by its extension, libvips's default options
 *
 * one image per process, as a user would run it, so that `hyperfine` can time it beside
 * `imgpipe run` on the same files. libvips's threads follow VIPS_CONCURRENCY.
 *
 * Build: cmake -B build -DIMGPIPE_VIPS_COMPARE=ON && cmake --build build --target
 * bench_vips; run: ./build/bench_vips IN OUT. */
#include <stdio.h>
#include <stdlib.h>

#include <vips/vips.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_vips IN OUT  (IN: any image libvips reads; OUT: .png, .jpg ...)\n");
        return 2;
    }
    if (VIPS_INIT(argv[0]))
        vips_error_exit(NULL);
    const double brightness = 20.0, contrast = 1.2, sigma = 2.0, scale = 0.5;
    VipsImage *in = NULL, *u8 = NULL, *blur = NULL, *small = NULL;
    int rc = 1;
    /* Sequential access: libvips streams the file through the pipeline in strips. */
    in = vips_image_new_from_file(argv[1], "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (!in)
        goto out;
    /* contrast * ((x + brightness) - 128) + 128 = contrast * x + b */
    if (vips_linear1(in, &u8, contrast, contrast * (brightness - 128.0) + 128.0, "uchar", TRUE,
                     NULL) ||
        vips_gaussblur(u8, &blur, sigma, NULL) ||
        vips_resize(blur, &small, scale, "kernel", VIPS_KERNEL_LINEAR, NULL) ||
        vips_image_write_to_file(small, argv[2], NULL))
        goto out;
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_vips: %s", vips_error_buffer());
    VIPS_UNREF(small);
    VIPS_UNREF(blur);
    VIPS_UNREF(u8);
    VIPS_UNREF(in);
    vips_shutdown();
    return rc;
}

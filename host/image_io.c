/* Placeholder: the real dispatcher by signature/extension lands with the codecs. */
#include "image_io.h"

img_format img_format_from_path(const char *path)
{
    (void)path;
    return IMG_FORMAT_UNKNOWN;
}

int img_read_file(const char *path, img_image *img, const img_read_options *options,
                  img_error *err)
{
    (void)img;
    (void)options;
    return img_fail(err, "%s: image reading is not implemented yet", path);
}

int img_read_memory(const char *name, const uint8_t *data, size_t size, img_image *img,
                    const img_read_options *options, img_error *err)
{
    (void)data;
    (void)size;
    (void)img;
    (void)options;
    return img_fail(err, "%s: image reading is not implemented yet", name);
}

int img_write_file(const char *path, const img_image *img, const img_write_options *options,
                   img_error *err)
{
    (void)img;
    (void)options;
    return img_fail(err, "%s: image writing is not implemented yet", path);
}

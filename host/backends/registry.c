#include "registry.h"

#include <stdio.h>
#include <string.h>

/* Each backend's file defines one of these. Adding a backend: one file, one line here. */
extern const img_backend img_backend_serial;
extern const img_backend img_backend_threads;
extern const img_backend img_backend_simd;
extern const img_backend img_backend_simd_threads;
extern const img_backend img_backend_opencl;

static const img_backend *const backends[] = {
    &img_backend_serial,
    &img_backend_threads,
    &img_backend_simd,
    &img_backend_simd_threads,
    &img_backend_opencl,
};

size_t img_backend_count(void)
{
    return sizeof backends / sizeof backends[0];
}

const img_backend *img_backend_at(size_t i)
{
    return i < img_backend_count() ? backends[i] : NULL;
}

const img_backend *img_backend_find(const char *name)
{
    for (size_t i = 0; i < img_backend_count(); i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

const img_backend *img_backend_reference(void)
{
    return &img_backend_serial;
}

const img_backend *img_backend_with_flags(unsigned all_of, unsigned none_of)
{
    for (size_t i = 0; i < img_backend_count(); i++)
        if ((backends[i]->flags & all_of) == all_of && !(backends[i]->flags & none_of))
            return backends[i];
    return NULL;
}

const char *img_backend_simd_level(int i)
{
    /* Every SIMD backend compiles the same levels: the first one's list is the list. */
    for (size_t b = 0; b < img_backend_count(); b++)
        if ((backends[b]->flags & IMG_BACKEND_SIMD_LEVELS) && backends[b]->simd_level)
            return backends[b]->simd_level(i);
    return NULL;
}

void img_backend_names(char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < img_backend_count() && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", backends[i]->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

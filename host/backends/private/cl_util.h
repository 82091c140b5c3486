/* OpenCL plumbing of the opencl backend (and of its list_devices hook, for `imgpipe
 * info`): readable error names, checked calls, device listing and selection, and
 * program builds through an on-disk binary cache with the build log on failure.
 *
 * Everything here targets the OpenCL 1.2 API through the ICD loader. Nothing prints
 * except the functions that take a FILE *. */
#ifndef IMG_BACKENDS_CL_UTIL_H
#define IMG_BACKENDS_CL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <CL/cl.h>

#include "error.h"

/* What the ICD loader returns from clGetPlatformIDs when no vendor is installed
 * (cl_khr_icd; defined here so cl_ext.h is not needed for one constant). */
#define IMG_CL_PLATFORM_NOT_FOUND_KHR (-1001)

/* "CL_INVALID_WORK_GROUP_SIZE" for -54; every OpenCL 1.2 code (and the few later and
 * extension codes a driver may still return); "CL_UNKNOWN_ERROR" otherwise. */
const char *img_cl_error_name(cl_int code);

/* 0 when status is CL_SUCCESS; otherwise fails with "<what>: <NAME>", e.g.
 * "clEnqueueNDRangeKernel(vblur): CL_INVALID_WORK_GROUP_SIZE", and returns -1.
 * `what` names the call and, where it helps, its object. */
int img_cl_check(cl_int status, const char *what, img_error *err);

/* One device as numbered by img_cl_print_devices: all devices of platform 0, then
 * of platform 1, and so on. */
typedef struct img_cl_device {
    cl_platform_id platform;
    cl_device_id device;
} img_cl_device;

/* Lists every device of every platform into a malloc'd array (free() it). No platform
 * at all fails with "no OpenCL platform found (clGetPlatformIDs: ...)". */
int img_cl_list_devices(img_cl_device **devices, int *count, img_error *err);

/* Prints each platform and device with its key limits (name, vendor, version, driver,
 * type, compute units, work-group size, memory sizes), numbered as img_cl_select_device
 * counts them. For `imgpipe info`. */
int img_cl_print_devices(FILE *out, img_error *err);

/* Chooses a device from a user's spec: NULL or "" -> the first GPU, else the first
 * device; "N" -> device N as listed by img_cl_print_devices; "cpu" / "gpu" -> the
 * first of that type; anything else -> the first whose name contains it, ignoring
 * case. No match fails with a message listing the devices that exist. */
int img_cl_select_device(const char *spec, img_cl_device *out, img_error *err);

/* Device and platform strings (CL_DEVICE_NAME etc.) into buf; "?" on failure. */
void img_cl_device_string(cl_device_id device, cl_device_info param, char *buf, size_t len);
void img_cl_platform_string(cl_platform_id platform, cl_platform_info param, char *buf,
                            size_t len);

/* A whole (non-empty, under 1 GiB) file in a malloc'd buffer (free() it) with a NUL
 * after its *len bytes; NULL with errno set when it cannot be read. For program
 * sources, binaries and the tuning file. */
unsigned char *img_cl_read_file(const char *path, size_t *len);


/* The program cache directory: $XDG_CACHE_HOME/imgpipe, else $HOME/.cache/imgpipe.
 * Fails (with no side effect) when neither variable is set or the path is too long. */
int img_cl_cache_dir(char *buf, size_t len, img_error *err);

typedef struct img_cl_build_info {
    bool cache_used;          /* the cache was consulted (not bypassed, directory known) */
    bool cache_hit;           /* the program came from a cached binary */
    bool cache_saved;         /* a fresh build was written to the cache */
    double seconds;           /* wall time of the load or build */
    char cache_path[512];     /* the .bin file consulted, "" when the cache was not used */
} img_cl_build_info;

/* Builds `source` for `device` with `options`. Unless use_cache is false, first tries
 * <cache dir>/<key>.bin, where the key hashes the device, its driver, the platform,
 * the options and the source; a missing or unloadable binary is a cache miss, after
 * which the source is built and its binary saved atomically (temp file + rename).
 * On a build failure the message carries the first lines of the build log. When `log`
 * is not NULL the whole log of a source build (errors, or warnings on success) is
 * written to it. */
int img_cl_build_program(cl_context context, cl_device_id device, const char *source,
                         size_t source_len, const char *options, bool use_cache, FILE *log,
                         cl_program *program, img_cl_build_info *info, img_error *err);

/* The build log of `program` for `device`, malloc'd and NUL-terminated (free() it),
 * or NULL when it cannot be read. */
char *img_cl_build_log(cl_program program, cl_device_id device);

#endif

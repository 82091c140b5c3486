#include "cl_util.h"

#include "clock.h"
#include "fsutil.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *img_cl_error_name(cl_int code)
{
#define IMG_CL_NAME(c) \
    case c:            \
        return #c;
    switch (code) {
        IMG_CL_NAME(CL_SUCCESS)
        IMG_CL_NAME(CL_DEVICE_NOT_FOUND)
        IMG_CL_NAME(CL_DEVICE_NOT_AVAILABLE)
        IMG_CL_NAME(CL_COMPILER_NOT_AVAILABLE)
        IMG_CL_NAME(CL_MEM_OBJECT_ALLOCATION_FAILURE)
        IMG_CL_NAME(CL_OUT_OF_RESOURCES)
        IMG_CL_NAME(CL_OUT_OF_HOST_MEMORY)
        IMG_CL_NAME(CL_PROFILING_INFO_NOT_AVAILABLE)
        IMG_CL_NAME(CL_MEM_COPY_OVERLAP)
        IMG_CL_NAME(CL_IMAGE_FORMAT_MISMATCH)
        IMG_CL_NAME(CL_IMAGE_FORMAT_NOT_SUPPORTED)
        IMG_CL_NAME(CL_BUILD_PROGRAM_FAILURE)
        IMG_CL_NAME(CL_MAP_FAILURE)
        IMG_CL_NAME(CL_MISALIGNED_SUB_BUFFER_OFFSET)
        IMG_CL_NAME(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        IMG_CL_NAME(CL_COMPILE_PROGRAM_FAILURE)
        IMG_CL_NAME(CL_LINKER_NOT_AVAILABLE)
        IMG_CL_NAME(CL_LINK_PROGRAM_FAILURE)
        IMG_CL_NAME(CL_DEVICE_PARTITION_FAILED)
        IMG_CL_NAME(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
        IMG_CL_NAME(CL_INVALID_VALUE)
        IMG_CL_NAME(CL_INVALID_DEVICE_TYPE)
        IMG_CL_NAME(CL_INVALID_PLATFORM)
        IMG_CL_NAME(CL_INVALID_DEVICE)
        IMG_CL_NAME(CL_INVALID_CONTEXT)
        IMG_CL_NAME(CL_INVALID_QUEUE_PROPERTIES)
        IMG_CL_NAME(CL_INVALID_COMMAND_QUEUE)
        IMG_CL_NAME(CL_INVALID_HOST_PTR)
        IMG_CL_NAME(CL_INVALID_MEM_OBJECT)
        IMG_CL_NAME(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
        IMG_CL_NAME(CL_INVALID_IMAGE_SIZE)
        IMG_CL_NAME(CL_INVALID_SAMPLER)
        IMG_CL_NAME(CL_INVALID_BINARY)
        IMG_CL_NAME(CL_INVALID_BUILD_OPTIONS)
        IMG_CL_NAME(CL_INVALID_PROGRAM)
        IMG_CL_NAME(CL_INVALID_PROGRAM_EXECUTABLE)
        IMG_CL_NAME(CL_INVALID_KERNEL_NAME)
        IMG_CL_NAME(CL_INVALID_KERNEL_DEFINITION)
        IMG_CL_NAME(CL_INVALID_KERNEL)
        IMG_CL_NAME(CL_INVALID_ARG_INDEX)
        IMG_CL_NAME(CL_INVALID_ARG_VALUE)
        IMG_CL_NAME(CL_INVALID_ARG_SIZE)
        IMG_CL_NAME(CL_INVALID_KERNEL_ARGS)
        IMG_CL_NAME(CL_INVALID_WORK_DIMENSION)
        IMG_CL_NAME(CL_INVALID_WORK_GROUP_SIZE)
        IMG_CL_NAME(CL_INVALID_WORK_ITEM_SIZE)
        IMG_CL_NAME(CL_INVALID_GLOBAL_OFFSET)
        IMG_CL_NAME(CL_INVALID_EVENT_WAIT_LIST)
        IMG_CL_NAME(CL_INVALID_EVENT)
        IMG_CL_NAME(CL_INVALID_OPERATION)
        IMG_CL_NAME(CL_INVALID_GL_OBJECT)
        IMG_CL_NAME(CL_INVALID_BUFFER_SIZE)
        IMG_CL_NAME(CL_INVALID_MIP_LEVEL)
        IMG_CL_NAME(CL_INVALID_GLOBAL_WORK_SIZE)
        IMG_CL_NAME(CL_INVALID_PROPERTY)
        IMG_CL_NAME(CL_INVALID_IMAGE_DESCRIPTOR)
        IMG_CL_NAME(CL_INVALID_COMPILER_OPTIONS)
        IMG_CL_NAME(CL_INVALID_LINKER_OPTIONS)
        IMG_CL_NAME(CL_INVALID_DEVICE_PARTITION_COUNT)
    /* Codes of later versions and of cl_khr_icd / cl_khr_gl_sharing: the 1.2 headers
     * do not define them, yet a newer driver or the loader may return them. */
    case -69:
        return "CL_INVALID_PIPE_SIZE";
    case -70:
        return "CL_INVALID_DEVICE_QUEUE";
    case -71:
        return "CL_INVALID_SPEC_ID";
    case -72:
        return "CL_MAX_SIZE_RESTRICTION_EXCEEDED";
    case -1000:
        return "CL_INVALID_GL_SHAREGROUP_REFERENCE_KHR";
    case IMG_CL_PLATFORM_NOT_FOUND_KHR:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
        return "CL_UNKNOWN_ERROR";
    }
#undef IMG_CL_NAME
}

int img_cl_check(cl_int status, const char *what, img_error *err)
{
    if (status == CL_SUCCESS)
        return 0;
    const char *name = img_cl_error_name(status);
    if (strcmp(name, "CL_UNKNOWN_ERROR") == 0)
        return img_fail(err, "%s: unknown OpenCL error %d", what, (int)status);
    return img_fail(err, "%s: %s", what, name);
}

/* Strips the leading and trailing blanks some drivers put around names. */
static void trim(char *s)
{
    size_t start = 0, len = strlen(s);
    while (start < len && isspace((unsigned char)s[start]))
        start++;
    while (len > start && isspace((unsigned char)s[len - 1]))
        len--;
    memmove(s, s + start, len - start);
    s[len - start] = '\0';
}

/* Reads a string property into buf, truncating a long one rather than failing the
 * way a too-small buffer makes the query itself fail. */
static void info_string(cl_int (*get)(void *, cl_uint, size_t, void *, size_t *), void *obj,
                        cl_uint param, char *buf, size_t len)
{
    if (len == 0)
        return;
    size_t need = 0;
    char *full = NULL;
    if (get(obj, param, 0, NULL, &need) != CL_SUCCESS || need == 0 ||
        !(full = malloc(need + 1)) || get(obj, param, need, full, NULL) != CL_SUCCESS) {
        snprintf(buf, len, "?");
    } else {
        full[need] = '\0';
        trim(full);
        snprintf(buf, len, "%s", full);
    }
    free(full);
}

static cl_int get_device_info(void *obj, cl_uint param, size_t size, void *value, size_t *ret)
{
    return clGetDeviceInfo((cl_device_id)obj, param, size, value, ret);
}

static cl_int get_platform_info(void *obj, cl_uint param, size_t size, void *value, size_t *ret)
{
    return clGetPlatformInfo((cl_platform_id)obj, param, size, value, ret);
}

void img_cl_device_string(cl_device_id device, cl_device_info param, char *buf, size_t len)
{
    info_string(get_device_info, device, param, buf, len);
}

void img_cl_platform_string(cl_platform_id platform, cl_platform_info param, char *buf,
                            size_t len)
{
    info_string(get_platform_info, platform, param, buf, len);
}

int img_cl_list_devices(img_cl_device **devices, int *count, img_error *err)
{
    *devices = NULL;
    *count = 0;
    cl_platform_id *platforms = NULL;
    img_cl_device *list = NULL;
    cl_device_id *ids = NULL;
    cl_uint nplat = 0;
    cl_int rc = clGetPlatformIDs(0, NULL, &nplat);
    if (rc == IMG_CL_PLATFORM_NOT_FOUND_KHR || (rc == CL_SUCCESS && nplat == 0))
        return img_fail(err, "no OpenCL platform found (clGetPlatformIDs: %s)",
                        rc == CL_SUCCESS ? "0 platforms" : img_cl_error_name(rc));
    if (img_cl_check(rc, "clGetPlatformIDs", err) != 0)
        return -1;
    platforms = calloc(nplat, sizeof *platforms);
    if (!platforms)
        goto oom;
    if (img_cl_check(clGetPlatformIDs(nplat, platforms, NULL), "clGetPlatformIDs", err) != 0)
        goto fail;

    int n = 0;
    for (cl_uint p = 0; p < nplat; p++) {
        cl_uint ndev = 0;
        rc = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &ndev);
        /* A platform without devices (a driver installed, its hardware absent) is not
         * an error: it just contributes nothing to the numbering. */
        if (rc == CL_DEVICE_NOT_FOUND || ndev == 0)
            continue;
        if (img_cl_check(rc, "clGetDeviceIDs", err) != 0)
            goto fail;
        img_cl_device *grown = realloc(list, sizeof *list * (size_t)(n + (int)ndev));
        free(ids);
        ids = calloc(ndev, sizeof *ids);
        if (!grown || !ids) {
            if (grown)
                list = grown;
            goto oom;
        }
        list = grown;
        if (img_cl_check(clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, ndev, ids, NULL),
                         "clGetDeviceIDs", err) != 0)
            goto fail;
        for (cl_uint d = 0; d < ndev; d++)
            list[n++] = (img_cl_device){.platform = platforms[p], .device = ids[d]};
    }
    free(ids);
    free(platforms);
    *devices = list;
    *count = n;
    return 0;

oom:
    img_fail(err, "out of memory listing OpenCL devices");
fail:
    free(ids);
    free(list);
    free(platforms);
    return -1;
}

static const char *device_type_name(cl_device_type type)
{
    if (type & CL_DEVICE_TYPE_GPU)
        return "GPU";
    if (type & CL_DEVICE_TYPE_CPU)
        return "CPU";
    if (type & CL_DEVICE_TYPE_ACCELERATOR)
        return "accelerator";
    if (type & CL_DEVICE_TYPE_CUSTOM)
        return "custom";
    return "other";
}

static cl_device_type device_type(cl_device_id device)
{
    cl_device_type type = 0;
    if (clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL) != CL_SUCCESS)
        return 0;
    return type;
}

static cl_ulong device_ulong(cl_device_id device, cl_device_info param)
{
    cl_ulong v = 0;
    return clGetDeviceInfo(device, param, sizeof v, &v, NULL) == CL_SUCCESS ? v : 0;
}

int img_cl_print_devices(FILE *out, img_error *err)
{
    img_cl_device *devs = NULL;
    int count = 0;
    if (img_cl_list_devices(&devs, &count, err) != 0)
        return -1;
    cl_platform_id current = NULL;
    for (int i = 0; i < count; i++) {
        char s[4][256];
        if (devs[i].platform != current) {
            current = devs[i].platform;
            img_cl_platform_string(current, CL_PLATFORM_NAME, s[0], sizeof s[0]);
            img_cl_platform_string(current, CL_PLATFORM_VENDOR, s[1], sizeof s[1]);
            img_cl_platform_string(current, CL_PLATFORM_VERSION, s[2], sizeof s[2]);
            fprintf(out, "platform: %s (%s), %s\n", s[0], s[1], s[2]);
        }
        cl_device_id d = devs[i].device;
        img_cl_device_string(d, CL_DEVICE_NAME, s[0], sizeof s[0]);
        img_cl_device_string(d, CL_DEVICE_VENDOR, s[1], sizeof s[1]);
        img_cl_device_string(d, CL_DEVICE_VERSION, s[2], sizeof s[2]);
        img_cl_device_string(d, CL_DRIVER_VERSION, s[3], sizeof s[3]);
        cl_uint units = 0;
        size_t wg = 0;
        clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
        clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
        fprintf(out, "  device %d: %s\n", i, s[0]);
        fprintf(out, "    type %s, vendor %s\n", device_type_name(device_type(d)), s[1]);
        fprintf(out, "    version %s, driver %s\n", s[2], s[3]);
        fprintf(out,
                "    compute units %u, max work-group size %zu, global mem %" PRIu64
                " MiB, local mem %" PRIu64 " KiB, max alloc %" PRIu64 " MiB\n",
                (unsigned)units, wg, (uint64_t)device_ulong(d, CL_DEVICE_GLOBAL_MEM_SIZE) >> 20,
                (uint64_t)device_ulong(d, CL_DEVICE_LOCAL_MEM_SIZE) >> 10,
                (uint64_t)device_ulong(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE) >> 20);
    }
    free(devs);
    return 0;
}

int img_cl_select_device(const char *spec, img_cl_device *out, img_error *err)
{
    img_cl_device *devs = NULL;
    int count = 0;
    if (img_cl_list_devices(&devs, &count, err) != 0)
        return -1;
    if (count == 0) {
        free(devs);
        return img_fail(err, "no OpenCL device found on any platform");
    }

    int found = -1;
    if (!spec || !*spec) {
        for (int i = 0; i < count && found < 0; i++)
            if (device_type(devs[i].device) & CL_DEVICE_TYPE_GPU)
                found = i;
        if (found < 0)
            found = 0;
    } else if (strspn(spec, "0123456789") == strlen(spec)) {
        errno = 0;
        long index = strtol(spec, NULL, 10);
        if (errno == 0 && index < count)
            found = (int)index;
    } else if (strcasecmp(spec, "cpu") == 0 || strcasecmp(spec, "gpu") == 0) {
        cl_device_type want = strcasecmp(spec, "cpu") == 0 ? CL_DEVICE_TYPE_CPU
                                                           : CL_DEVICE_TYPE_GPU;
        for (int i = 0; i < count && found < 0; i++)
            if (device_type(devs[i].device) & want)
                found = i;
    } else {
        for (int i = 0; i < count && found < 0; i++) {
            char name[256];
            img_cl_device_string(devs[i].device, CL_DEVICE_NAME, name, sizeof name);
            if (strcasestr(name, spec))
                found = i;
        }
    }

    if (found < 0) {
        /* The message lists what does exist, so the user can pick by index or name. */
        char list[400] = "";
        size_t used = 0;
        for (int i = 0; i < count && used < sizeof list; i++) {
            char name[128], platform[128];
            img_cl_device_string(devs[i].device, CL_DEVICE_NAME, name, sizeof name);
            img_cl_platform_string(devs[i].platform, CL_PLATFORM_NAME, platform,
                                   sizeof platform);
            int n = snprintf(list + used, sizeof list - used, "%s%d: %s (%s, %s)",
                             i ? "; " : "", i, name,
                             device_type_name(device_type(devs[i].device)), platform);
            if (n < 0)
                break;
            used += (size_t)n;
        }
        free(devs);
        return img_fail(err, "no OpenCL device matches '%s'; devices: %s", spec, list);
    }
    *out = devs[found];
    free(devs);
    return 0;
}

int img_cl_cache_dir(char *buf, size_t len, img_error *err)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    /* XDG says a relative XDG_CACHE_HOME is invalid and must be ignored. */
    if (xdg && xdg[0] == '/')
        n = snprintf(buf, len, "%s/imgpipe", xdg);
    else if (home && *home)
        n = snprintf(buf, len, "%s/.cache/imgpipe", home);
    else
        return img_fail(err, "no cache directory: neither XDG_CACHE_HOME nor HOME is set");
    if (n < 0 || (size_t)n >= len)
        return img_fail(err, "cache directory path is too long");
    return 0;
}


/* FNV-1a 64 over length-prefixed fields, so ("ab", "c") and ("a", "bc") differ. */
static uint64_t hash_field(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t n = len;
    for (int i = 0; i < 8; i++) {
        h ^= (n >> (8 * i)) & 0xff;
        h *= UINT64_C(0x100000001b3);
    }
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* The cache key: anything that changes the binary must be part of it. */
static uint64_t program_key(cl_device_id device, const char *source, size_t source_len,
                            const char *options)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    char s[256];
    cl_platform_id platform = NULL;
    clGetDeviceInfo(device, CL_DEVICE_PLATFORM, sizeof platform, &platform, NULL);
    const cl_device_info device_params[] = {CL_DEVICE_NAME, CL_DEVICE_VERSION,
                                            CL_DRIVER_VERSION};
    for (size_t i = 0; i < sizeof device_params / sizeof device_params[0]; i++) {
        img_cl_device_string(device, device_params[i], s, sizeof s);
        h = hash_field(h, s, strlen(s));
    }
    img_cl_platform_string(platform, CL_PLATFORM_NAME, s, sizeof s);
    h = hash_field(h, s, strlen(s));
    h = hash_field(h, options, strlen(options));
    return hash_field(h, source, source_len);
}

unsigned char *img_cl_read_file(const char *path, size_t *len)
{
    uint8_t *data = NULL;
    /* No real program binary is anywhere near 1 GiB; a bigger file is not ours. */
    if (img_read_whole_file(path, (size_t)1 << 30, &data, len, NULL) != 0)
        return NULL;
    if (*len == 0) {
        free(data);
        errno = EFBIG;
        return NULL;
    }
    return data;
}

/* Some drivers' compilers write to the process's stderr themselves (PoCL's clang
 * prints "1 error generated."), which would break the one-line error rule and is
 * printing from below the app. While a program builds, fd 2 points at an unlinked
 * temporary file; what lands there joins the build log. Builds run on the thread that
 * initialises the backend, before any worker of ours prints. */
typedef struct stderr_capture {
    FILE *file;
    int saved_fd;
} stderr_capture;

static void stderr_capture_begin(stderr_capture *c)
{
    fflush(stderr);
    c->saved_fd = -1;
    c->file = tmpfile();
    if (!c->file)
        return;   /* nothing captured: the driver's text stays on stderr */
    c->saved_fd = dup(STDERR_FILENO);
    if (c->saved_fd < 0 || dup2(fileno(c->file), STDERR_FILENO) < 0) {
        if (c->saved_fd >= 0)
            close(c->saved_fd);
        c->saved_fd = -1;
        fclose(c->file);
        c->file = NULL;
    }
}

/* Restores stderr; returns what was written meanwhile (NULL when nothing was). */
static char *stderr_capture_end(stderr_capture *c)
{
    if (!c->file)
        return NULL;
    fflush(stderr);
    dup2(c->saved_fd, STDERR_FILENO);
    close(c->saved_fd);
    /* The driver wrote through the descriptor, so only its offset knows the size. */
    char *text = NULL;
    long size = fseek(c->file, 0, SEEK_END) == 0 ? ftell(c->file) : -1;
    if (size > 0 && fseek(c->file, 0, SEEK_SET) == 0 && (text = malloc((size_t)size + 1))) {
        size_t got = fread(text, 1, (size_t)size, c->file);
        text[got] = '\0';
    }
    fclose(c->file);
    c->file = NULL;
    return text;
}

static cl_int build_quietly(cl_program program, cl_device_id device, const char *options,
                            char **driver_output)
{
    stderr_capture capture;
    stderr_capture_begin(&capture);
    cl_int rc = clBuildProgram(program, 1, &device, options, NULL, NULL);
    char *text = stderr_capture_end(&capture);
    if (driver_output)
        *driver_output = text;
    else
        free(text);
    return rc;
}

/* Loads a cached binary; any failure is just a miss (the caller builds from source). */
static cl_program load_cached(cl_context context, cl_device_id device, const char *path,
                              const char *options)
{
    size_t len = 0;
    unsigned char *bin = img_cl_read_file(path, &len);
    if (!bin)
        return NULL;
    cl_int rc = CL_SUCCESS, status = CL_SUCCESS;
    const unsigned char *bins[1] = {bin};
    cl_program program = clCreateProgramWithBinary(context, 1, &device, &len, bins, &status, &rc);
    free(bin);
    if (rc != CL_SUCCESS || status != CL_SUCCESS) {
        if (program)
            clReleaseProgram(program);
        return NULL;
    }
    if (build_quietly(program, device, options, NULL) != CL_SUCCESS) {
        clReleaseProgram(program);
        return NULL;
    }
    return program;
}


static bool save_cached(cl_program program, const char *dir, const char *path)
{
    size_t size = 0;
    cl_uint ndev = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_NUM_DEVICES, sizeof ndev, &ndev, NULL) !=
            CL_SUCCESS ||
        ndev != 1 ||
        clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) !=
            CL_SUCCESS ||
        size == 0)
        return false;
    unsigned char *bin = malloc(size);
    if (!bin)
        return false;
    unsigned char *bins[1] = {bin};
    bool ok = clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) ==
                  CL_SUCCESS &&
              img_make_dirs(dir, NULL) == 0 && img_write_file_atomic(path, bin, size, NULL) == 0;
    free(bin);
    return ok;
}

char *img_cl_build_log(cl_program program, cl_device_id device)
{
    size_t len = 0;
    if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) !=
        CL_SUCCESS)
        return NULL;
    char *log = malloc(len + 1);
    if (!log)
        return NULL;
    if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, len, log, NULL) !=
        CL_SUCCESS) {
        free(log);
        return NULL;
    }
    log[len] = '\0';
    return log;
}

/* The first few non-empty lines of a build log joined by " | ", for a one-line
 * error message. */
static void log_head(const char *log, char *buf, size_t len)
{
    size_t used = 0;
    int lines = 0;
    buf[0] = '\0';
    for (const char *p = log; *p && lines < 6 && used + 1 < len;) {
        size_t n = strcspn(p, "\n");
        if (n > 0) {
            int w = snprintf(buf + used, len - used, "%s%.*s", lines ? " | " : "", (int)n, p);
            if (w < 0)
                break;
            used += (size_t)w < len - used ? (size_t)w : len - used - 1;
            lines++;
        }
        p += n + (p[n] == '\n');
    }
}

int img_cl_build_program(cl_context context, cl_device_id device, const char *source,
                         size_t source_len, const char *options, bool use_cache, FILE *log,
                         cl_program *program, img_cl_build_info *info, img_error *err)
{
    *program = NULL;
    memset(info, 0, sizeof *info);
    double t0 = img_now();
    char dir[400];

    if (use_cache && img_cl_cache_dir(dir, sizeof dir, NULL) == 0) {
        info->cache_used = true;
        snprintf(info->cache_path, sizeof info->cache_path, "%s/%016" PRIx64 ".bin", dir,
                 program_key(device, source, source_len, options));
        *program = load_cached(context, device, info->cache_path, options);
        if (*program) {
            info->cache_hit = true;
            info->seconds = img_now() - t0;
            return 0;
        }
    }

    cl_int rc = CL_SUCCESS;
    cl_program p = clCreateProgramWithSource(context, 1, &source, &source_len, &rc);
    if (img_cl_check(rc, "clCreateProgramWithSource", err) != 0)
        return -1;
    char *driver_output = NULL;
    rc = build_quietly(p, device, options, &driver_output);
    if (log) {
        char *text = img_cl_build_log(p, device);
        if (text)
            fputs(text, log);
        if (driver_output)
            fputs(driver_output, log);
        free(text);
    }
    if (rc != CL_SUCCESS) {
        char *text = img_cl_build_log(p, device);
        char head[384], driver_head[160] = "";
        log_head(text ? text : "(no build log)", head, sizeof head);
        if (driver_output)
            log_head(driver_output, driver_head, sizeof driver_head);
        img_fail(err, "clBuildProgram: %s; build log: %s%s%s", img_cl_error_name(rc), head,
                 driver_head[0] ? " | compiler: " : "", driver_head);
        free(text);
        free(driver_output);
        clReleaseProgram(p);
        return -1;
    }
    free(driver_output);
    /* A cache that cannot be written only costs the next start its speed. */
    if (info->cache_used)
        info->cache_saved = save_cached(p, dir, info->cache_path);
    info->seconds = img_now() - t0;
    *program = p;
    return 0;
}

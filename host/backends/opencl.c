/* The `opencl` backend: the pipeline as OpenCL 1.2 kernels (kernels/pipeline.cl) on
 * one device, through the ICD loader.
 *
 * An image travels as all its planes packed in one device buffer. A pipeline run is
 * at most three launches over (x, y, plane): point LUT fused into the horizontal blur
 * (or a plain point kernel when blur is off), the vertical blur, the resize. The
 * host hands every table over from the plan (per-plane LUTs with the identity for
 * alpha, weights, resize maps), so the kernels only ever index and add.
 *
 * Everything persistent (context, in-order profiling queue, program, kernels, the
 * buffers, grown on demand and kept across runs) lives in one opencl_state. */
#include "opencl.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CL/cl.h>

#include "cl_util.h"
#include "fsutil.h"

/* Generated from kernels/pipeline.cl by kernels/embed.cmake. */
extern const unsigned char img_cl_pipeline_source[];
extern const size_t img_cl_pipeline_source_len;

/* Strict IEEE semantics are the default; no relaxed-math flags: the kernels are
 * integer-only, and nothing may ever make them less than exact. */
#define BUILD_OPTIONS "-cl-std=CL1.2"

/* Outputs per work-item of the blur kernels: VEC in kernels/pipeline.cl. */
#define BLUR_VEC 8

/* A default work-group of this many items suits both PoCL (few, fat groups) and
 * GPUs (several warps per group); autotune may pick another shape. */
#define DEFAULT_GROUP 256

enum { K_POINT, K_HBLUR, K_VBLUR, K_RESIZE, K_COUNT };
static const char *const kernel_names[K_COUNT] = {"point_lut", "point_hblur", "vblur", "resize"};
static const char *const kernel_parts[K_COUNT] = {"k_point", "k_point_hblur", "k_vblur",
                                                  "k_resize"};

/* What a profiled command counts towards in the breakdown. */
enum { EV_UPLOAD = K_COUNT, EV_DOWNLOAD };
/* Per run: 4 planes + LUT + weights + 6 map writes, 3 kernels, 4 plane reads. */
#define MAX_EVENTS 32

typedef struct dev_buffer {
    cl_mem mem;
    size_t size;
} dev_buffer;

typedef struct opencl_state {
    cl_context context;
    cl_command_queue queue;
    cl_program program;
    cl_kernel kernel[K_COUNT];
    cl_device_id device;
    char device_name[128];
    char platform_name[128];

    size_t max_items[3];
    cl_ulong local_mem;            /* CL_DEVICE_LOCAL_MEM_SIZE */
    cl_ulong max_alloc;            /* CL_DEVICE_MAX_MEM_ALLOC_SIZE */
    size_t group;                  /* default work-group size, <= every kernel's limit */
    size_t kernel_wg[K_COUNT];     /* CL_KERNEL_WORK_GROUP_SIZE */
    cl_ulong kernel_local[K_COUNT];   /* local memory a kernel declares itself */
    size_t shape[K_COUNT][2];      /* work-group shape (x, y) per kernel */
    bool autotune;
    bool tuned[K_COUNT];

    img_cl_build_info build;
    bool cache_enabled;

    /* Packed planes: input, blur intermediate (short), point/blur output, resize
     * output; then the small tables. */
    dev_buffer src, tmp, mid, out, luts, weights, xmap, ymap;

    cl_event events[MAX_EVENTS];
    int event_kind[MAX_EVENTS];
    int event_count;
    img_breakdown last;
} opencl_state;

/* One pass of a run: the image, the plan, and which kernels to use. */
typedef struct job {
    img_image *dst;
    const img_image *src;
    const img_plan *plan;
    const uint8_t *table;   /* point LUT for colour planes; NULL: no point stage */
    bool blur;
    bool resize;
} job;

typedef struct kernel_arg {
    size_t size;
    const void *value;     /* NULL with a size: dynamic local memory */
} kernel_arg;

static void opencl_destroy(void *state);

static int load_source(char **out, size_t *out_len, img_error *err)
{
    *out = NULL;
    const char *dir = getenv("IMGPIPE_KERNEL_DIR");
    char header[600];
    const char *body = (const char *)img_cl_pipeline_source;
    size_t body_len = img_cl_pipeline_source_len;
    char *loaded = NULL;

    if (dir && *dir) {
        char path[512];
        if (snprintf(path, sizeof path, "%s/pipeline.cl", dir) >= (int)sizeof path)
            return img_fail(err, "IMGPIPE_KERNEL_DIR is too long");
        size_t len = 0;
        loaded = (char *)img_cl_read_file(path, &len);
        if (!loaded)
            return img_fail(err, "cannot read %s (IMGPIPE_KERNEL_DIR): %s", path,
                            strerror(errno));
        body = loaded;
        body_len = len;
        snprintf(header, sizeof header, "#line 1 \"%s\"\n", path);
    } else {
        /* Build-log line numbers then point into the file in the source tree. */
        snprintf(header, sizeof header, "#line 1 \"kernels/pipeline.cl\"\n");
    }

    size_t header_len = strlen(header);
    char *source = malloc(header_len + body_len + 1);
    if (!source) {
        free(loaded);
        return img_fail(err, "out of memory for the kernel source");
    }
    memcpy(source, header, header_len);
    memcpy(source + header_len, body, body_len);
    source[header_len + body_len] = '\0';
    free(loaded);
    *out = source;
    *out_len = header_len + body_len;
    return 0;
}

static size_t floor_pow2(size_t v)
{
    size_t p = 1;
    while (p * 2 <= v)
        p *= 2;
    return p;
}

/* Dynamic local memory of kernel k for a work-group of lx x ly at blur radius r:
 * only the horizontal pass stages a tile, LY rows of LX * VEC outputs plus halo. */
static size_t tile_bytes(int k, size_t lx, size_t ly, int radius)
{
    return k == K_HBLUR ? ly * (lx * BLUR_VEC + 2 * (size_t)radius) : 0;
}

static bool shape_fits(const opencl_state *st, int k, size_t lx, size_t ly, int radius)
{
    return lx * ly <= st->kernel_wg[k] && lx <= st->max_items[0] && ly <= st->max_items[1] &&
           st->kernel_local[k] + tile_bytes(k, lx, ly, radius) <= st->local_mem;
}

/* The default shapes: 64 x 4 everywhere but the vertical pass, so the horizontal
 * tile rows are 512 outputs wide (the halo is a small part of them); 32 x 8 for the
 * vertical pass, whose 32 work-items of 8 columns read 512 contiguous bytes of a
 * row, a whole number of cache lines. Autotune may find better. */
static void default_shapes(opencl_state *st)
{
    size_t g = st->group;
    size_t x[K_COUNT] = {64, 64, 32, 64};
    for (int k = 0; k < K_COUNT; k++) {
        size_t lx = x[k] < g ? x[k] : g;
        if (lx > st->max_items[0])
            lx = floor_pow2(st->max_items[0]);
        size_t ly = g / lx;
        if (ly > st->max_items[1])
            ly = floor_pow2(st->max_items[1]);
        st->shape[k][0] = lx;
        st->shape[k][1] = ly;
    }
}

/* The shape to launch kernel k with at this radius: the configured one, with rows and
 * then columns halved while its tile would not fit in local memory. A 1 x 1 group
 * needs VEC + 2 * 96 bytes, far below the 32 KiB every device has. */
static void launch_shape(const opencl_state *st, int k, int radius, size_t shape[2])
{
    shape[0] = st->shape[k][0];
    shape[1] = st->shape[k][1];
    while (!shape_fits(st, k, shape[0], shape[1], radius) && shape[1] > 1)
        shape[1] /= 2;
    while (!shape_fits(st, k, shape[0], shape[1], radius) && shape[0] > 1)
        shape[0] /= 2;
}

static int init_kernels(opencl_state *st, img_error *err)
{
    char what[96];
    size_t group = DEFAULT_GROUP;
    for (int k = 0; k < K_COUNT; k++) {
        cl_int rc = CL_SUCCESS;
        st->kernel[k] = clCreateKernel(st->program, kernel_names[k], &rc);
        snprintf(what, sizeof what, "clCreateKernel(%s)", kernel_names[k]);
        if (img_cl_check(rc, what, err) != 0)
            return -1;
        snprintf(what, sizeof what, "clGetKernelWorkGroupInfo(%s)", kernel_names[k]);
        if (img_cl_check(clGetKernelWorkGroupInfo(st->kernel[k], st->device,
                                                  CL_KERNEL_WORK_GROUP_SIZE,
                                                  sizeof st->kernel_wg[k], &st->kernel_wg[k],
                                                  NULL),
                         what, err) != 0 ||
            img_cl_check(clGetKernelWorkGroupInfo(st->kernel[k], st->device,
                                                  CL_KERNEL_LOCAL_MEM_SIZE,
                                                  sizeof st->kernel_local[k],
                                                  &st->kernel_local[k], NULL),
                         what, err) != 0)
            return -1;
        if (st->kernel_wg[k] < group)
            group = st->kernel_wg[k];
    }
    st->group = floor_pow2(group);
    default_shapes(st);
    return 0;
}

static int query_device(opencl_state *st, cl_platform_id platform, img_error *err)
{
    img_cl_device_string(st->device, CL_DEVICE_NAME, st->device_name, sizeof st->device_name);
    img_cl_platform_string(platform, CL_PLATFORM_NAME, st->platform_name,
                           sizeof st->platform_name);
    if (img_cl_check(clGetDeviceInfo(st->device, CL_DEVICE_MAX_WORK_ITEM_SIZES,
                                     sizeof st->max_items, st->max_items, NULL),
                     "clGetDeviceInfo(CL_DEVICE_MAX_WORK_ITEM_SIZES)", err) != 0 ||
        img_cl_check(clGetDeviceInfo(st->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof st->local_mem,
                                     &st->local_mem, NULL),
                     "clGetDeviceInfo(CL_DEVICE_LOCAL_MEM_SIZE)", err) != 0 ||
        img_cl_check(clGetDeviceInfo(st->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE,
                                     sizeof st->max_alloc, &st->max_alloc, NULL),
                     "clGetDeviceInfo(CL_DEVICE_MAX_MEM_ALLOC_SIZE)", err) != 0)
        return -1;
    return 0;
}

/* Selects the device and creates its context: the start shared by init and
 * img_opencl_build_log. */
static int open_device(opencl_state *st, const img_backend_options *options, img_error *err)
{
    img_cl_device dev;
    if (img_cl_select_device(options ? options->device : NULL, &dev, err) != 0)
        return -1;
    st->device = dev.device;
    if (query_device(st, dev.platform, err) != 0)
        return -1;
    cl_int rc = CL_SUCCESS;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)dev.platform,
                                     0};
    st->context = clCreateContext(props, 1, &st->device, NULL, NULL, &rc);
    return img_cl_check(rc, "clCreateContext", err);
}

static int ensure_buffer(opencl_state *st, dev_buffer *buf, size_t bytes, const char *name,
                         img_error *err)
{
    if (buf->size >= bytes)
        return 0;
    if (bytes > st->max_alloc)
        return img_fail(err,
                        "opencl: the %s buffer needs %zu bytes, over the device's "
                        "CL_DEVICE_MAX_MEM_ALLOC_SIZE of %llu (clCreateBuffer would fail with "
                        "CL_INVALID_BUFFER_SIZE)",
                        name, bytes, (unsigned long long)st->max_alloc);
    if (buf->mem)
        clReleaseMemObject(buf->mem);
    buf->mem = NULL;
    buf->size = 0;
    cl_int rc = CL_SUCCESS;
    buf->mem = clCreateBuffer(st->context, CL_MEM_READ_WRITE, bytes, NULL, &rc);
    char what[64];
    snprintf(what, sizeof what, "clCreateBuffer(%s, %zu bytes)", name, bytes);
    if (img_cl_check(rc, what, err) != 0) {
        buf->mem = NULL;
        return -1;
    }
    buf->size = bytes;
    return 0;
}

static void release_events(opencl_state *st)
{
    for (int i = 0; i < st->event_count; i++)
        clReleaseEvent(st->events[i]);
    st->event_count = 0;
}

/* Keeps a command's event for the breakdown; the array is sized for the most
 * commands a run enqueues, so it never overflows. */
static void keep_event(opencl_state *st, cl_event ev, int kind)
{
    st->events[st->event_count] = ev;
    st->event_kind[st->event_count++] = kind;
}

static double event_seconds(cl_event ev)
{
    cl_ulong start = 0, end = 0;
    if (clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL) !=
            CL_SUCCESS ||
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL) !=
            CL_SUCCESS ||
        end < start)
        return 0.0;
    return (double)(end - start) * 1e-9;
}

static int write_buffer(opencl_state *st, const dev_buffer *buf, size_t offset, size_t bytes,
                        const void *data, const char *name, img_error *err)
{
    cl_event ev = NULL;
    char what[64];
    snprintf(what, sizeof what, "clEnqueueWriteBuffer(%s)", name);
    if (img_cl_check(clEnqueueWriteBuffer(st->queue, buf->mem, CL_FALSE, offset, bytes, data, 0,
                                          NULL, &ev),
                     what, err) != 0)
        return -1;
    keep_event(st, ev, EV_UPLOAD);
    return 0;
}

/* Sets kernel k's arguments and launches it over (gx, gy, planes) rounded up to whole
 * work-groups of `shape`; the event is returned for the caller to keep or time. */
static int launch(opencl_state *st, int k, const kernel_arg *args, int nargs,
                  const size_t shape[2], size_t gx, size_t gy, size_t planes, cl_event *ev,
                  img_error *err)
{
    char what[96];
    for (int i = 0; i < nargs; i++) {
        snprintf(what, sizeof what, "clSetKernelArg(%s, %d)", kernel_names[k], i);
        if (img_cl_check(clSetKernelArg(st->kernel[k], (cl_uint)i, args[i].size, args[i].value),
                         what, err) != 0)
            return -1;
    }
    size_t local[3] = {shape[0], shape[1], 1};
    size_t global[3] = {(gx + shape[0] - 1) / shape[0] * shape[0],
                        (gy + shape[1] - 1) / shape[1] * shape[1], planes};
    snprintf(what, sizeof what, "clEnqueueNDRangeKernel(%s)", kernel_names[k]);
    return img_cl_check(
        clEnqueueNDRangeKernel(st->queue, st->kernel[k], 3, NULL, global, local, 0, NULL, ev),
        what, err);
}

/* Autotuned shapes persist beside the program binary as <key>.tune, one
 * "<kernel> <lx> <ly>" line per tuned kernel: the key already names the device, the
 * driver and the kernel source they were measured with. Without the cache (no_cache,
 * or no cache directory) tuning lives in the state only. */
static bool tune_path(const opencl_state *st, char *buf, size_t len)
{
    size_t n = strlen(st->build.cache_path);
    if (!st->build.cache_used || n < 4)
        return false;
    int w = snprintf(buf, len, "%.*s.tune", (int)(n - 4), st->build.cache_path);
    return w > 0 && (size_t)w < len;
}

static void load_tuning(opencl_state *st)
{
    char path[520];
    size_t len = 0;
    char *text = NULL;
    if (!tune_path(st, path, sizeof path) || !(text = (char *)img_cl_read_file(path, &len)))
        return;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[32];
        size_t lx = 0, ly = 0;
        if (sscanf(line, "%31s %zu %zu", name, &lx, &ly) != 3 || lx == 0 || ly == 0)
            continue;
        for (int k = 0; k < K_COUNT; k++)
            if (strcmp(name, kernel_names[k]) == 0 && shape_fits(st, k, lx, ly, 0)) {
                st->shape[k][0] = lx;
                st->shape[k][1] = ly;
                st->tuned[k] = true;
            }
    }
    free(text);
}

static void save_tuning(const opencl_state *st)
{
    char path[520], text[256];
    size_t used = 0;
    if (!tune_path(st, path, sizeof path))
        return;
    for (int k = 0; k < K_COUNT; k++)
        if (st->tuned[k])
            used += (size_t)snprintf(text + used, sizeof text - used, "%s %zu %zu\n",
                                     kernel_names[k], st->shape[k][0], st->shape[k][1]);
    /* A file that cannot be written only costs the next process a retune. */
    img_write_file_atomic(path, text, used, NULL);
}

/* Tries a few work-group shapes for kernel k on the current data and keeps the
 * fastest by profiled kernel time. Each kernel only reads buffers earlier commands
 * filled and rewrites its own output with the same values, so the trials cannot
 * change the result. Runs once per kernel per state, or never when an earlier
 * process left its choice in the cache. */
static int autotune(opencl_state *st, int k, kernel_arg *args, int nargs, int local_arg,
                    int radius, size_t gx, size_t gy, size_t planes, img_error *err)
{
    static const size_t candidates[][2] = {{256, 1}, {128, 2}, {64, 4},  {32, 8},
                                           {16, 16}, {64, 1},  {512, 1}, {32, 4}};
    double best = -1.0;
    size_t best_shape[2] = {st->shape[k][0], st->shape[k][1]};
    for (size_t c = 0; c < sizeof candidates / sizeof candidates[0]; c++) {
        const size_t *shape = candidates[c];
        if (!shape_fits(st, k, shape[0], shape[1], radius))
            continue;
        if (local_arg >= 0)
            args[local_arg].size = tile_bytes(k, shape[0], shape[1], radius);
        /* The first launch pays for any per-shape compilation (PoCL), the second is
         * the one timed. */
        double t = 0.0;
        for (int rep = 0; rep < 2; rep++) {
            cl_event ev = NULL;
            if (launch(st, k, args, nargs, shape, gx, gy, planes, &ev, err) != 0)
                return -1;
            cl_int rc = clWaitForEvents(1, &ev);
            t = event_seconds(ev);
            clReleaseEvent(ev);
            if (img_cl_check(rc, "clWaitForEvents(autotune)", err) != 0)
                return -1;
        }
        if (best < 0.0 || t < best) {
            best = t;
            best_shape[0] = shape[0];
            best_shape[1] = shape[1];
        }
    }
    st->shape[k][0] = best_shape[0];
    st->shape[k][1] = best_shape[1];
    st->tuned[k] = true;
    save_tuning(st);
    return 0;
}

/* Launches kernel k for a run (tuning it first when asked) and keeps its event.
 * local_arg is the index of the dynamic local-memory argument, or -1. */
static int run_kernel(opencl_state *st, int k, kernel_arg *args, int nargs, int local_arg,
                      int radius, size_t gx, size_t gy, size_t planes, img_error *err)
{
    if (st->autotune && !st->tuned[k] &&
        autotune(st, k, args, nargs, local_arg, radius, gx, gy, planes, err) != 0)
        return -1;
    size_t shape[2];
    launch_shape(st, k, radius, shape);
    if (local_arg >= 0)
        args[local_arg].size = tile_bytes(k, shape[0], shape[1], radius);
    cl_event ev = NULL;
    if (launch(st, k, args, nargs, shape, gx, gy, planes, &ev, err) != 0)
        return -1;
    keep_event(st, ev, k);
    return 0;
}

/* Checks the geometry a job implies against what the caller allocated. */
static int check_geometry(const job *j, img_error *err)
{
    const img_image *src = j->src, *dst = j->dst;
    const img_plan *plan = j->plan;
    int ow = j->resize ? plan->out_width : src->width;
    int oh = j->resize ? plan->out_height : src->height;
    if (src->width != plan->in_width || src->height != plan->in_height)
        return img_fail(err, "opencl: source is %dx%d but the plan is for %dx%d", src->width,
                        src->height, plan->in_width, plan->in_height);
    if (dst->width != ow || dst->height != oh || dst->channels != src->channels)
        return img_fail(err, "opencl: destination is %dx%dx%d, expected %dx%dx%d", dst->width,
                        dst->height, dst->channels, ow, oh, src->channels);
    if (j->resize && (plan->resize_x.out_len != ow || plan->resize_y.out_len != oh))
        return img_fail(err, "opencl: the plan has no resize maps for %dx%d", ow, oh);
    return 0;
}

/* Uploads the per-plane LUTs, weights and maps the job's kernels read. */
static int upload_tables(opencl_state *st, const job *j, uint8_t (*luts)[256], img_error *err)
{
    const img_plan *plan = j->plan;
    int planes = j->src->channels;
    if (j->table || j->blur) {
        /* Alpha planes (and every plane of a blur-only pass) get the identity. */
        for (int c = 0; c < planes; c++)
            for (int i = 0; i < 256; i++)
                luts[c][i] = j->table && !img_is_alpha_plane(planes, c) ? j->table[i]
                                                                        : (uint8_t)i;
        if (write_buffer(st, &st->luts, 0, (size_t)planes * 256, luts, "luts", err) != 0)
            return -1;
    }
    if (j->blur && write_buffer(st, &st->weights, 0,
                                sizeof(int32_t) * (size_t)(2 * plan->blur_radius + 1),
                                plan->blur_weights, "weights", err) != 0)
        return -1;
    if (j->resize) {
        const img_resize_axis *axes[2] = {&plan->resize_x, &plan->resize_y};
        const dev_buffer *bufs[2] = {&st->xmap, &st->ymap};
        for (int a = 0; a < 2; a++) {
            size_t n = sizeof(int32_t) * (size_t)axes[a]->out_len;
            if (write_buffer(st, bufs[a], 0, n, axes[a]->i0, "resize map", err) != 0 ||
                write_buffer(st, bufs[a], n, n, axes[a]->i1, "resize map", err) != 0 ||
                write_buffer(st, bufs[a], 2 * n, n, axes[a]->frac, "resize map", err) != 0)
                return -1;
        }
    }
    return 0;
}

/* Copies planes between a strided host image and a packed device buffer. */
static int transfer_planes(opencl_state *st, const dev_buffer *buf, const img_image *img,
                           bool upload, img_error *err)
{
    size_t w = (size_t)img->width, h = (size_t)img->height;
    for (int c = 0; c < img->channels; c++) {
        size_t dev_origin[3] = {0, 0, (size_t)c};
        size_t host_origin[3] = {0, 0, 0};
        size_t region[3] = {w, h, 1};
        cl_event ev = NULL;
        cl_int rc;
        if (upload)
            rc = clEnqueueWriteBufferRect(st->queue, buf->mem, CL_FALSE, dev_origin, host_origin,
                                          region, w, w * h, (size_t)img->stride[c], 0,
                                          img->plane[c], 0, NULL, &ev);
        else
            rc = clEnqueueReadBufferRect(st->queue, buf->mem, CL_FALSE, dev_origin, host_origin,
                                         region, w, w * h, (size_t)img->stride[c], 0,
                                         img->plane[c], 0, NULL, &ev);
        if (img_cl_check(rc, upload ? "clEnqueueWriteBufferRect(image)"
                                    : "clEnqueueReadBufferRect(image)",
                         err) != 0)
            return -1;
        keep_event(st, ev, upload ? EV_UPLOAD : EV_DOWNLOAD);
    }
    return 0;
}

static int enqueue_job(opencl_state *st, const job *j, uint8_t (*luts)[256], img_error *err)
{
    const img_plan *plan = j->plan;
    const img_image *src = j->src;
    size_t planes = (size_t)src->channels;
    size_t in_px = (size_t)src->width * (size_t)src->height;
    size_t out_px = (size_t)j->dst->width * (size_t)j->dst->height;
    cl_int w = src->width, h = src->height, ow = j->dst->width, oh = j->dst->height;
    cl_int radius = plan->blur_radius;

    if (ensure_buffer(st, &st->src, planes * in_px, "source", err) != 0 ||
        (j->blur && ensure_buffer(st, &st->tmp, planes * in_px * sizeof(cl_short),
                                  "blur intermediate", err) != 0) ||
        ((j->blur || j->table) &&
         ensure_buffer(st, &st->mid, planes * in_px, "stage output", err) != 0) ||
        (j->resize &&
         (ensure_buffer(st, &st->out, planes * out_px, "resize output", err) != 0 ||
          ensure_buffer(st, &st->xmap, 3 * sizeof(int32_t) * (size_t)ow, "x map", err) != 0 ||
          ensure_buffer(st, &st->ymap, 3 * sizeof(int32_t) * (size_t)oh, "y map", err) != 0)))
        return -1;

    if (upload_tables(st, j, luts, err) != 0 || transfer_planes(st, &st->src, src, true, err) != 0)
        return -1;

    const dev_buffer *cur = &st->src;
    if (j->blur) {
        kernel_arg h_args[] = {{sizeof(cl_mem), &st->src.mem}, {sizeof(cl_mem), &st->tmp.mem},
                               {sizeof(cl_mem), &st->luts.mem}, {sizeof(cl_mem), &st->weights.mem},
                               {sizeof radius, &radius},       {sizeof w, &w},
                               {sizeof h, &h},                 {0, NULL}};
        kernel_arg v_args[] = {{sizeof(cl_mem), &st->tmp.mem}, {sizeof(cl_mem), &st->mid.mem},
                               {sizeof(cl_mem), &st->weights.mem}, {sizeof radius, &radius},
                               {sizeof w, &w},                 {sizeof h, &h}};
        size_t items = ((size_t)w + BLUR_VEC - 1) / BLUR_VEC;
        if (run_kernel(st, K_HBLUR, h_args, 8, 7, radius, items, (size_t)h, planes, err) ||
            run_kernel(st, K_VBLUR, v_args, 6, -1, radius, items, (size_t)h, planes, err))
            return -1;
        cur = &st->mid;
    } else if (j->table) {
        kernel_arg args[] = {{sizeof(cl_mem), &st->src.mem}, {sizeof(cl_mem), &st->mid.mem},
                             {sizeof(cl_mem), &st->luts.mem}, {sizeof w, &w}, {sizeof h, &h}};
        if (run_kernel(st, K_POINT, args, 5, -1, 0, (size_t)w, (size_t)h, planes, err) != 0)
            return -1;
        cur = &st->mid;
    }
    if (j->resize) {
        kernel_arg args[] = {{sizeof(cl_mem), &cur->mem},     {sizeof(cl_mem), &st->out.mem},
                             {sizeof(cl_mem), &st->xmap.mem}, {sizeof(cl_mem), &st->ymap.mem},
                             {sizeof w, &w},                  {sizeof h, &h},
                             {sizeof ow, &ow},                {sizeof oh, &oh}};
        if (run_kernel(st, K_RESIZE, args, 8, -1, 0, (size_t)ow, (size_t)oh, planes, err) != 0)
            return -1;
        cur = &st->out;
    }
    return transfer_planes(st, cur, j->dst, false, err);
}

/* Runs a job to completion and, when `record` is set, keeps its breakdown. */
static int run_job(opencl_state *st, const job *j, bool record, img_error *err)
{
    if (check_geometry(j, err) != 0)
        return -1;
    if (!j->table && !j->blur && !j->resize) {
        /* Nothing to compute: a device round trip would only add noise. */
        img_image_copy(j->dst, j->src);
        if (record)
            st->last = (img_breakdown){0};
        return 0;
    }
    /* The writes are non-blocking and read from `luts` and the caller's images, so
     * all of them stay alive until clFinish below, on the failure path too. */
    uint8_t luts[IMG_MAX_CHANNELS][256];
    st->event_count = 0;
    int rc = enqueue_job(st, j, luts, err);
    cl_int fin = clFinish(st->queue);
    if (rc == 0)
        rc = img_cl_check(fin, "clFinish", err);
    if (rc == 0 && record) {
        double part[EV_DOWNLOAD + 1] = {0};
        bool ran[K_COUNT] = {false};
        for (int i = 0; i < st->event_count; i++) {
            part[st->event_kind[i]] += event_seconds(st->events[i]);
            if (st->event_kind[i] < K_COUNT)
                ran[st->event_kind[i]] = true;
        }
        img_breakdown *b = &st->last;
        double kernel = 0.0;
        for (int k = 0; k < K_COUNT; k++)
            kernel += part[k];
        b->count = 0;
        b->part[b->count].name = "upload";
        b->part[b->count++].seconds = part[EV_UPLOAD];
        b->part[b->count].name = "kernel";
        b->part[b->count++].seconds = kernel;
        b->part[b->count].name = "download";
        b->part[b->count++].seconds = part[EV_DOWNLOAD];
        b->part[b->count].name = "build";
        b->part[b->count++].seconds = st->build.seconds;
        for (int k = 0; k < K_COUNT && b->count < IMG_BREAKDOWN_MAX; k++)
            if (ran[k]) {
                b->part[b->count].name = kernel_parts[k];
                b->part[b->count++].seconds = part[k];
            }
    }
    release_events(st);
    return rc;
}

static int opencl_run_stage(void *state, img_stage stage, img_image *dst, const img_image *src,
                            const img_plan *plan, img_error *err)
{
    job j = {.dst = dst, .src = src, .plan = plan};
    switch (stage) {
    case IMG_STAGE_BRIGHTNESS:
        j.table = plan->brightness_lut;
        break;
    case IMG_STAGE_CONTRAST:
        j.table = plan->contrast_lut;
        break;
    case IMG_STAGE_BLUR:
        j.blur = true;
        break;
    case IMG_STAGE_RESIZE:
        j.resize = true;
        break;
    default:
        return img_fail(err, "opencl: unknown stage %d", (int)stage);
    }
    return run_job(state, &j, false, err);
}

static int opencl_run_pipeline(void *state, img_image *dst, const img_image *src,
                               const img_plan *plan, img_error *err)
{
    bool point = plan->enabled[IMG_STAGE_BRIGHTNESS] || plan->enabled[IMG_STAGE_CONTRAST];
    job j = {
        .dst = dst,
        .src = src,
        .plan = plan,
        .table = point ? plan->point_lut : NULL,
        .blur = plan->enabled[IMG_STAGE_BLUR],
        .resize = plan->enabled[IMG_STAGE_RESIZE],
    };
    return run_job(state, &j, true, err);
}

static bool opencl_probe(char *reason, size_t reason_len)
{
    img_cl_device *devs = NULL;
    int count = 0;
    img_error err;
    if (img_cl_list_devices(&devs, &count, &err) != 0) {
        /* "no OpenCL platform found (...)" when the loader has no vendor. */
        snprintf(reason, reason_len, "%s", err.message);
        return false;
    }
    free(devs);
    if (count == 0) {
        snprintf(reason, reason_len, "no OpenCL device found");
        return false;
    }
    return true;
}

static int opencl_init(void **state, const img_backend_options *options, img_error *err)
{
    *state = NULL;
    char *source = NULL;
    size_t source_len = 0;
    opencl_state *st = calloc(1, sizeof *st);
    if (!st)
        return img_fail(err, "out of memory for the OpenCL state");
    st->autotune = options && options->autotune;
    st->cache_enabled = !(options && options->no_cache);

    if (open_device(st, options, err) != 0)
        goto fail;
    cl_int rc = CL_SUCCESS;
    st->queue = clCreateCommandQueue(st->context, st->device, CL_QUEUE_PROFILING_ENABLE, &rc);
    if (img_cl_check(rc, "clCreateCommandQueue", err) != 0)
        goto fail;
    if (load_source(&source, &source_len, err) != 0 ||
        img_cl_build_program(st->context, st->device, source, source_len, BUILD_OPTIONS,
                             st->cache_enabled, NULL, &st->program, &st->build, err) != 0 ||
        init_kernels(st, err) != 0)
        goto fail;
    if (st->autotune)
        load_tuning(st);
    /* The fixed-size tables are allocated once, here, outside any timed run. */
    if (ensure_buffer(st, &st->luts, IMG_MAX_CHANNELS * 256, "luts", err) != 0 ||
        ensure_buffer(st, &st->weights, sizeof(int32_t) * (2 * IMG_BLUR_MAX_RADIUS + 1),
                      "weights", err) != 0)
        goto fail;
    free(source);
    *state = st;
    return 0;

fail:
    free(source);
    opencl_destroy(st);
    return -1;
}

static void opencl_destroy(void *state)
{
    opencl_state *st = state;
    if (!st)
        return;
    release_events(st);
    dev_buffer *bufs[] = {&st->src, &st->tmp,     &st->mid,  &st->out,
                          &st->luts, &st->weights, &st->xmap, &st->ymap};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]->mem)
            clReleaseMemObject(bufs[i]->mem);
    for (int k = 0; k < K_COUNT; k++)
        if (st->kernel[k])
            clReleaseKernel(st->kernel[k]);
    if (st->program)
        clReleaseProgram(st->program);
    if (st->queue)
        clReleaseCommandQueue(st->queue);
    if (st->context)
        clReleaseContext(st->context);
    free(st);
}

static void opencl_describe(void *state, char *buf, size_t len)
{
    const opencl_state *st = state;
    if (!st) {
        snprintf(buf, len, "not initialised");
        return;
    }
    int n = snprintf(buf, len, "%s (%s), wg %zu, cache %s", st->device_name, st->platform_name,
                     st->group,
                     !st->cache_enabled ? "off" : st->build.cache_hit ? "hit" : "miss");
    for (int k = 0; k < K_COUNT && n >= 0 && (size_t)n < len; k++)
        if (st->tuned[k]) {
            int m = snprintf(buf + n, len - (size_t)n, ", %s %zux%zu (tuned)", kernel_names[k],
                             st->shape[k][0], st->shape[k][1]);
            n = m < 0 ? -1 : n + m;
        }
}

/* For bench's record of the environment: what a run with `options` would use,
 * without creating a context. */
static void opencl_describe_platform(const img_backend_options *options, char *buf, size_t len)
{
    img_cl_device d;
    img_error err;
    if (img_cl_select_device(options ? options->device : NULL, &d, &err) != 0) {
        snprintf(buf, len, "unavailable: %s", err.message);
        return;
    }
    char platform[128], name[128], version[96], driver[64];
    img_cl_platform_string(d.platform, CL_PLATFORM_NAME, platform, sizeof platform);
    img_cl_device_string(d.device, CL_DEVICE_NAME, name, sizeof name);
    img_cl_device_string(d.device, CL_DEVICE_VERSION, version, sizeof version);
    img_cl_device_string(d.device, CL_DRIVER_VERSION, driver, sizeof driver);
    snprintf(buf, len, "%s; %s; %s; driver %s", platform, name, version, driver);
}

static int opencl_list_devices(FILE *out, img_error *err)
{
    fprintf(out, "OpenCL platforms and devices (--device N | cpu | gpu | name):\n");
    return img_cl_print_devices(out, err);
}

static void opencl_breakdown(void *state, img_breakdown *out)
{
    const opencl_state *st = state;
    *out = st ? st->last : (img_breakdown){0};
}

bool img_opencl_cache_hit(const void *state)
{
    const opencl_state *st = state;
    return st && st->build.cache_hit;
}

double img_opencl_build_seconds(const void *state)
{
    const opencl_state *st = state;
    return st ? st->build.seconds : 0.0;
}

int img_opencl_build_log(const img_backend_options *options, FILE *out, img_error *err)
{
    opencl_state *st = calloc(1, sizeof *st);
    char *source = NULL;
    size_t source_len = 0;
    int rc = -1;
    if (!st)
        return img_fail(err, "out of memory for the OpenCL state");
    if (open_device(st, options, err) == 0 && load_source(&source, &source_len, err) == 0 &&
        img_cl_build_program(st->context, st->device, source, source_len, BUILD_OPTIONS, false,
                             out, &st->program, &st->build, err) == 0)
        rc = 0;
    free(source);
    opencl_destroy(st);
    return rc;
}

const img_backend img_backend_opencl = {
    .name = "opencl",
    .description = "OpenCL kernels through the ICD loader (GPU, or PoCL on the CPU)",
    .flags = IMG_BACKEND_HAS_DEVICE,
    .options = IMG_OPTION_DEVICE | IMG_OPTION_NO_CACHE | IMG_OPTION_AUTOTUNE,
    .probe = opencl_probe,
    .init = opencl_init,
    .destroy = opencl_destroy,
    .run_stage = opencl_run_stage,
    .run_pipeline = opencl_run_pipeline,
    .describe = opencl_describe,
    .breakdown = opencl_breakdown,
    .describe_platform = opencl_describe_platform,
    .list_devices = opencl_list_devices,
};

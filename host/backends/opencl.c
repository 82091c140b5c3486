/* The `opencl` backend: the pipeline as OpenCL 1.2 kernels (kernels/pipeline.cl) on
 * one device, through the ICD loader.
 *
 * An image travels as all its planes packed in one device buffer. A pipeline run is
 * at most three launches over (x, y, plane): point LUT fused into the horizontal blur
 * (or a plain point kernel when blur is off), the vertical blur, the resize. The
 * host hands every table over from the plan (per-plane LUTs with the identity for
 * alpha, weights, resize maps), so the kernels only ever index and add.
 *
 * Streaming. On a discrete GPU the job is the bus: a 4K image is 25 MB up and 6 MB
 * down, milliseconds over PCIe, while the kernels take tens of microseconds. So a run
 * cuts the output into bands of rows and sends each band through three in-order
 * queues, one per engine: the upload queue copies band k+1's source rows (with the
 * blur's halo) while the kernel queue computes band k and the download queue brings
 * band k-1 back. Events order each band's steps across the queues and keep a band's
 * buffers from being reused before the band SLOTS earlier has finished with them.
 * On a device that shares the host's memory (PoCL) there is nothing to overlap, so
 * the default there is one band; an image larger than the device's largest
 * allocation is cut into as many bands as it takes there too. Every band count gives
 * the same bytes: the kernels clamp against the whole image, not the band.
 *
 * Everything persistent (context, queues, program, kernels, the buffers, grown on
 * demand and kept across runs) lives in one opencl_state. */
#include "opencl.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CL/cl.h>

#include "cl_util.h"
#include "clock.h"
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
enum { EV_UPLOAD = K_COUNT, EV_DOWNLOAD, EV_TABLES, EV_KINDS };

/* The three in-order queues a run streams through, one per engine of a discrete GPU
 * (host-to-device copy, compute, device-to-host copy); also the trace's rows, with a
 * fourth for the host's copies into and out of the pinned staging buffers. */
enum { Q_UPLOAD, Q_KERNEL, Q_DOWNLOAD, Q_COUNT };
#define TRACK_STAGING Q_COUNT
static const char *const track_names[Q_COUNT + 1] = {
    "upload queue", "kernel queue", "download queue", "host: staging copies"};

/* Bands in flight at once: while band k uploads, k-1 computes and k-2 downloads. A
 * band's source and output buffers are reused by band k + SLOTS. */
#define SLOTS 3
/* The automatic band count on a discrete device: about this much source per band
 * (enough to amortise a command's overhead, small enough that the first upload and the
 * last download, which nothing overlaps, are a small part of the run), at most
 * MAX_AUTO_BANDS. */
#define BAND_TARGET_BYTES ((size_t)4 << 20)
#define MAX_AUTO_BANDS 32

typedef struct dev_buffer {
    cl_mem mem;
    size_t size;
    void *mapped;   /* staging buffers only: the pinned host memory, mapped for good */
} dev_buffer;

/* A profiled command of the last run, for the breakdown and the trace. */
typedef struct run_event {
    cl_event event;
    int kind;       /* K_* or EV_* */
    int band;
    int plane;      /* transfers of one plane; -1 for kernels and whole-band copies */
} run_event;

/* A staging copy the host made (pinned mode), for the trace. */
typedef struct host_span {
    const char *what;
    int band;
    int64_t start_ns, end_ns;
} host_span;

/* Rows of one band, in the coordinates of the whole image at each step. */
typedef struct band_rows {
    int out_y0, out_rows;   /* rows of the job's output */
    int mid_y0, mid_rows;   /* rows the resize reads (the output's rows without resize) */
    int src_y0, src_rows;   /* source rows uploaded: the blur's halo included */
} band_rows;

/* The last command of each step of a band (owned by the run's event list). */
typedef struct band_done {
    cl_event uploaded, computed, downloaded;
} band_done;

typedef struct opencl_state {
    cl_context context;
    cl_command_queue queue[Q_COUNT];
    cl_program program;
    cl_kernel kernel[K_COUNT];
    cl_device_id device;
    char device_name[128];
    char platform_name[128];

    size_t max_items[3];
    cl_ulong local_mem;            /* CL_DEVICE_LOCAL_MEM_SIZE */
    cl_ulong max_alloc;            /* CL_DEVICE_MAX_MEM_ALLOC_SIZE, or options.alloc_limit */
    bool host_memory;              /* a CPU device or host-unified memory: nothing to overlap */
    size_t group;                  /* default work-group size, <= every kernel's limit */
    size_t kernel_wg[K_COUNT];     /* CL_KERNEL_WORK_GROUP_SIZE */
    cl_ulong kernel_local[K_COUNT];   /* local memory a kernel declares itself */
    size_t shape[K_COUNT][2];      /* work-group shape (x, y) per kernel */
    bool autotune;
    bool tuned[K_COUNT];
    int forced_bands;              /* options.bands */
    int pinned_option;             /* options.pinned */

    img_cl_build_info build;
    bool cache_enabled;

    /* Per slot: a band's packed source planes and its finished output planes, and in
     * pinned mode their staging twins in host memory. Shared by all bands (only the
     * in-order kernel queue touches them): the blur intermediate (short) and the
     * stage output the resize reads. Then the small tables. */
    dev_buffer src[SLOTS], out[SLOTS], stage_in[SLOTS], stage_out[SLOTS];
    dev_buffer tmp, mid, luts, weights, xmap, ymap;

    run_event *events;
    int event_count, event_capacity;
    band_done *done;
    int done_capacity;
    host_span *spans;
    int span_count, span_capacity;

    img_breakdown last;
    int last_bands;                /* of the last pipeline run */
    bool last_pinned;
    bool trace_runs;               /* options.trace_path was set */
    bool traced;                   /* the last pipeline run was recorded in `trace` */
    int trace_tracks;
    img_trace trace;
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
    /* A CPU device, or one that shares the host's memory, has no bus to overlap. */
    cl_device_type type = 0;
    cl_bool unified = CL_FALSE;
    if (clGetDeviceInfo(st->device, CL_DEVICE_TYPE, sizeof type, &type, NULL) != CL_SUCCESS)
        type = 0;
    if (clGetDeviceInfo(st->device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified,
                        NULL) != CL_SUCCESS)
        unified = CL_FALSE;
    st->host_memory = (type & CL_DEVICE_TYPE_CPU) || unified;
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

/* Unmaps a staging buffer and releases any buffer; leaves it empty. */
static void release_buffer(opencl_state *st, dev_buffer *buf)
{
    if (buf->mapped && st->queue[Q_UPLOAD]) {
        clEnqueueUnmapMemObject(st->queue[Q_UPLOAD], buf->mem, buf->mapped, 0, NULL, NULL);
        clFinish(st->queue[Q_UPLOAD]);
    }
    if (buf->mem)
        clReleaseMemObject(buf->mem);
    *buf = (dev_buffer){0};
}

/* Grows buf to at least `bytes` (a staging buffer in pinned host memory, mapped for
 * good, when `staging`). The old contents are not kept. */
static int ensure_buffer_kind(opencl_state *st, dev_buffer *buf, size_t bytes, bool staging,
                              const char *name, img_error *err)
{
    if (buf->size >= bytes)
        return 0;
    if (bytes > st->max_alloc)
        return img_fail(err,
                        "opencl: the %s buffer needs %zu bytes, over the device's largest "
                        "allocation (CL_DEVICE_MAX_MEM_ALLOC_SIZE) of %llu",
                        name, bytes, (unsigned long long)st->max_alloc);
    release_buffer(st, buf);
    cl_int rc = CL_SUCCESS;
    cl_mem_flags flags = CL_MEM_READ_WRITE | (staging ? CL_MEM_ALLOC_HOST_PTR : 0);
    cl_mem mem = clCreateBuffer(st->context, flags, bytes, NULL, &rc);
    char what[96];
    snprintf(what, sizeof what, "clCreateBuffer(%s, %zu bytes)", name, bytes);
    if (img_cl_check(rc, what, err) != 0)
        return -1;
    void *mapped = NULL;
    if (staging) {
        mapped = clEnqueueMapBuffer(st->queue[Q_UPLOAD], mem, CL_TRUE,
                                    CL_MAP_READ | CL_MAP_WRITE, 0, bytes, 0, NULL, NULL, &rc);
        snprintf(what, sizeof what, "clEnqueueMapBuffer(%s, %zu bytes)", name, bytes);
        if (img_cl_check(rc, what, err) != 0) {
            clReleaseMemObject(mem);
            return -1;
        }
    }
    *buf = (dev_buffer){.mem = mem, .size = bytes, .mapped = mapped};
    return 0;
}

static int ensure_buffer(opencl_state *st, dev_buffer *buf, size_t bytes, const char *name,
                         img_error *err)
{
    return ensure_buffer_kind(st, buf, bytes, false, name, err);
}

static void release_events(opencl_state *st)
{
    for (int i = 0; i < st->event_count; i++)
        clReleaseEvent(st->events[i].event);
    st->event_count = 0;
}

/* Grows an array of `size`-byte items to at least n items (contents kept). */
static int grow_array(void **items, int *capacity, int n, size_t size, img_error *err)
{
    if (*capacity >= n)
        return 0;
    void *grown = realloc(*items, (size_t)n * size);
    if (!grown)
        return img_fail(err, "out of memory for the OpenCL run's bookkeeping");
    *items = grown;
    *capacity = n;
    return 0;
}

/* Keeps a command's event for the breakdown and the trace; the run reserved room for
 * every command it enqueues, so this never overflows. */
static cl_event keep_event(opencl_state *st, cl_event ev, int kind, int band, int plane)
{
    st->events[st->event_count++] = (run_event){ev, kind, band, plane};
    return ev;
}

static bool event_times(cl_event ev, cl_ulong *start, cl_ulong *end)
{
    return clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof *start, start,
                                   NULL) == CL_SUCCESS &&
           clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof *end, end, NULL) ==
               CL_SUCCESS &&
           *end >= *start;
}

static double event_seconds(cl_event ev)
{
    cl_ulong start = 0, end = 0;
    return event_times(ev, &start, &end) ? (double)(end - start) * 1e-9 : 0.0;
}

static int write_buffer(opencl_state *st, const dev_buffer *buf, size_t offset, size_t bytes,
                        const void *data, const char *name, img_error *err)
{
    cl_event ev = NULL;
    char what[64];
    snprintf(what, sizeof what, "clEnqueueWriteBuffer(%s)", name);
    if (img_cl_check(clEnqueueWriteBuffer(st->queue[Q_UPLOAD], buf->mem, CL_FALSE, offset, bytes,
                                          data, 0, NULL, &ev),
                     what, err) != 0)
        return -1;
    keep_event(st, ev, EV_TABLES, -1, -1);
    return 0;
}

/* The events a command waits for (at most two), without the NULL ones. */
typedef struct wait_list {
    cl_uint count;
    cl_event event[2];
} wait_list;

static wait_list waits(cl_event a, cl_event b)
{
    wait_list w = {0};
    if (a)
        w.event[w.count++] = a;
    if (b)
        w.event[w.count++] = b;
    return w;
}

/* Sets kernel k's arguments and launches it on the kernel queue over (gx, gy, planes)
 * rounded up to whole work-groups of `shape`, after the events of `wait`; the event
 * is returned for the caller to keep or time. */
static int launch(opencl_state *st, int k, const kernel_arg *args, int nargs,
                  const size_t shape[2], size_t gx, size_t gy, size_t planes,
                  const wait_list *wait, cl_event *ev, img_error *err)
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
    return img_cl_check(clEnqueueNDRangeKernel(st->queue[Q_KERNEL], st->kernel[k], 3, NULL,
                                               global, local, wait ? wait->count : 0,
                                               wait && wait->count ? wait->event : NULL, ev),
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
                    int radius, size_t gx, size_t gy, size_t planes, const wait_list *wait,
                    img_error *err)
{
    static const size_t candidates[][2] = {{256, 1}, {128, 2}, {64, 4},  {32, 8},
                                           {16, 16}, {64, 1},  {512, 1}, {32, 4}};
    double best = -1.0;
    size_t best_shape[2] = {st->shape[k][0], st->shape[k][1]};
    /* The trials wait for this band's upload, which must be submitted first. */
    for (int q = 0; q < Q_COUNT; q++)
        clFlush(st->queue[q]);
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
            if (launch(st, k, args, nargs, shape, gx, gy, planes, wait, &ev, err) != 0)
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

/* Launches kernel k for band `band` (tuning it first when asked) after the events of
 * `wait`, and keeps its event, which is also returned. local_arg is the index of the
 * dynamic local-memory argument, or -1. */
static int run_kernel(opencl_state *st, int k, kernel_arg *args, int nargs, int local_arg,
                      int radius, size_t gx, size_t gy, size_t planes, const wait_list *wait,
                      int band, cl_event *done, img_error *err)
{
    if (st->autotune && !st->tuned[k] &&
        autotune(st, k, args, nargs, local_arg, radius, gx, gy, planes, wait, err) != 0)
        return -1;
    size_t shape[2];
    launch_shape(st, k, radius, shape);
    if (local_arg >= 0)
        args[local_arg].size = tile_bytes(k, shape[0], shape[1], radius);
    cl_event ev = NULL;
    if (launch(st, k, args, nargs, shape, gx, gy, planes, wait, &ev, err) != 0)
        return -1;
    *done = keep_event(st, ev, k, band, -1);
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

/* Band k of `bands`: the output's rows split as evenly as whole rows allow, and the
 * rows each earlier step needs for them. */
static band_rows band_geometry(const job *j, int k, int bands)
{
    const img_plan *plan = j->plan;
    const int out_h = j->dst->height, h = j->src->height;
    band_rows b;
    b.out_y0 = (int)((int64_t)k * out_h / bands);
    const int out_y1 = (int)((int64_t)(k + 1) * out_h / bands);
    b.out_rows = out_y1 - b.out_y0;
    int mid_y0 = b.out_y0, mid_y1 = out_y1;
    if (j->resize) {
        /* Every row the maps name for these outputs: both taps of each. */
        const img_resize_axis *ry = &plan->resize_y;
        mid_y0 = h;
        mid_y1 = 0;
        for (int y = b.out_y0; y < out_y1; y++) {
            int lo = ry->i0[y] < ry->i1[y] ? ry->i0[y] : ry->i1[y];
            int hi = ry->i0[y] > ry->i1[y] ? ry->i0[y] : ry->i1[y];
            if (lo < mid_y0)
                mid_y0 = lo;
            if (hi + 1 > mid_y1)
                mid_y1 = hi + 1;
        }
    }
    b.mid_y0 = mid_y0;
    b.mid_rows = mid_y1 - mid_y0;
    int src_y0 = mid_y0, src_y1 = mid_y1;
    if (j->blur) {
        /* The vertical pass's clamped taps: the halo, cut at the image's edges. */
        src_y0 = mid_y0 - plan->blur_radius > 0 ? mid_y0 - plan->blur_radius : 0;
        src_y1 = mid_y1 + plan->blur_radius < h ? mid_y1 + plan->blur_radius : h;
    }
    b.src_y0 = src_y0;
    b.src_rows = src_y1 - src_y0;
    return b;
}

/* The largest buffer any band of `bands` needs, of each kind. */
typedef struct band_sizes {
    size_t src, tmp, mid, out;
} band_sizes;

static band_sizes largest_band(const job *j, int bands)
{
    const size_t planes = (size_t)j->src->channels, w = (size_t)j->src->width;
    const size_t ow = (size_t)j->dst->width;
    band_sizes z = {0};
    for (int k = 0; k < bands; k++) {
        band_rows b = band_geometry(j, k, bands);
        size_t src = planes * (size_t)b.src_rows * w;
        size_t tmp = j->blur ? src * sizeof(cl_short) : 0;
        size_t mid = j->resize && (j->blur || j->table) ? planes * (size_t)b.mid_rows * w : 0;
        size_t out = planes * (size_t)b.out_rows * ow;
        z.src = src > z.src ? src : z.src;
        z.tmp = tmp > z.tmp ? tmp : z.tmp;
        z.mid = mid > z.mid ? mid : z.mid;
        z.out = out > z.out ? out : z.out;
    }
    return z;
}

static size_t largest_of(band_sizes z)
{
    size_t m = z.src > z.tmp ? z.src : z.tmp;
    m = z.mid > m ? z.mid : m;
    return z.out > m ? z.out : m;
}

/* The run's band count: forced by options.bands (capped at one output row per band),
 * else one on a device that shares the host's memory and a few MiB of source per
 * band on a discrete one; in both cases doubled until every buffer fits in the
 * device's largest allocation. A forced count that does not fit is an error, not
 * silently changed. *sizes: the largest buffers of each kind that count needs. */
static int choose_bands(const opencl_state *st, const job *j, int *out, band_sizes *sizes,
                        img_error *err)
{
    const int out_h = j->dst->height;
    const size_t source = (size_t)j->src->channels * (size_t)j->src->width * (size_t)j->src->height;
    int bands = 1;
    if (st->forced_bands > 0)
        bands = st->forced_bands;
    else if (!st->host_memory)
        bands = source / BAND_TARGET_BYTES > MAX_AUTO_BANDS ? MAX_AUTO_BANDS
                                                            : (int)(source / BAND_TARGET_BYTES);
    bands = bands < 1 ? 1 : bands > out_h ? out_h : bands;
    band_sizes z = largest_band(j, bands);
    size_t largest = largest_of(z);
    if (st->forced_bands > 0 && largest > st->max_alloc)
        return img_fail(err,
                        "opencl: with %d band%s a band needs a %zu-byte buffer, over the "
                        "device's largest allocation (%llu bytes); force more bands, or leave "
                        "the count to the backend",
                        bands, bands == 1 ? "" : "s", largest, (unsigned long long)st->max_alloc);
    while (largest > st->max_alloc) {
        if (bands == out_h)
            return img_fail(err,
                            "opencl: even one output row per band needs a %zu-byte buffer, over "
                            "the device's largest allocation (%llu bytes)",
                            largest, (unsigned long long)st->max_alloc);
        bands = bands > out_h / 2 ? out_h : bands * 2;
        z = largest_band(j, bands);
        largest = largest_of(z);
    }
    *out = bands;
    *sizes = z;
    return 0;
}

static void record_span(opencl_state *st, const char *what, int band, int64_t start_ns)
{
    st->spans[st->span_count++] =
        (host_span){.what = what, .band = band, .start_ns = start_ns, .end_ns = img_now_ns()};
}

/* Uploads band b's source rows into slot s after `after` (the last kernel of the band
 * that used the slot before): from the pinned staging buffer, which the host fills
 * first, or straight from the image's rows, a rectangle per plane. */
static int upload_band(opencl_state *st, const job *j, const band_rows *b, int k, int s,
                       bool pinned, cl_event after, cl_event *done, img_error *err)
{
    const img_image *img = j->src;
    const size_t w = (size_t)img->width, rows = (size_t)b->src_rows;
    wait_list wait = waits(after, NULL);
    cl_event ev = NULL;
    if (pinned) {
        int64_t t0 = img_now_ns();
        uint8_t *stage = st->stage_in[s].mapped;
        for (int c = 0; c < img->channels; c++)
            for (size_t r = 0; r < rows; r++)
                memcpy(stage + ((size_t)c * rows + r) * w, img_row(img, c, b->src_y0 + (int)r), w);
        record_span(st, "pack", k, t0);
        if (img_cl_check(clEnqueueWriteBuffer(st->queue[Q_UPLOAD], st->src[s].mem, CL_FALSE, 0,
                                              (size_t)img->channels * rows * w, stage,
                                              wait.count, wait.count ? wait.event : NULL, &ev),
                         "clEnqueueWriteBuffer(band)", err) != 0)
            return -1;
        *done = keep_event(st, ev, EV_UPLOAD, k, -1);
        return 0;
    }
    for (int c = 0; c < img->channels; c++) {
        size_t dev_origin[3] = {0, 0, (size_t)c};
        size_t host_origin[3] = {0, (size_t)b->src_y0, 0};
        size_t region[3] = {w, rows, 1};
        /* The queue is in order: waiting before the first plane covers the others. */
        if (img_cl_check(clEnqueueWriteBufferRect(st->queue[Q_UPLOAD], st->src[s].mem, CL_FALSE,
                                                  dev_origin, host_origin, region, w, w * rows,
                                                  (size_t)img->stride[c], 0, img->plane[c],
                                                  c == 0 ? wait.count : 0,
                                                  c == 0 && wait.count ? wait.event : NULL, &ev),
                         "clEnqueueWriteBufferRect(band)", err) != 0)
            return -1;
        *done = keep_event(st, ev, EV_UPLOAD, k, c);
    }
    return 0;
}

/* Brings band b's output from slot s back after `after` (its last kernel): into the
 * pinned staging buffer, which unpack_band later copies into the image, or straight
 * into the image's rows. */
static int download_band(opencl_state *st, const job *j, const band_rows *b, int k, int s,
                         bool pinned, cl_event after, cl_event *done, img_error *err)
{
    const img_image *img = j->dst;
    const size_t w = (size_t)img->width, rows = (size_t)b->out_rows;
    wait_list wait = waits(after, NULL);
    cl_event ev = NULL;
    if (pinned) {
        if (img_cl_check(clEnqueueReadBuffer(st->queue[Q_DOWNLOAD], st->out[s].mem, CL_FALSE, 0,
                                             (size_t)img->channels * rows * w,
                                             st->stage_out[s].mapped, wait.count,
                                             wait.count ? wait.event : NULL, &ev),
                         "clEnqueueReadBuffer(band)", err) != 0)
            return -1;
        *done = keep_event(st, ev, EV_DOWNLOAD, k, -1);
        return 0;
    }
    for (int c = 0; c < img->channels; c++) {
        size_t dev_origin[3] = {0, 0, (size_t)c};
        size_t host_origin[3] = {0, (size_t)b->out_y0, 0};
        size_t region[3] = {w, rows, 1};
        if (img_cl_check(clEnqueueReadBufferRect(st->queue[Q_DOWNLOAD], st->out[s].mem, CL_FALSE,
                                                 dev_origin, host_origin, region, w, w * rows,
                                                 (size_t)img->stride[c], 0, img->plane[c],
                                                 c == 0 ? wait.count : 0,
                                                 c == 0 && wait.count ? wait.event : NULL, &ev),
                         "clEnqueueReadBufferRect(band)", err) != 0)
            return -1;
        *done = keep_event(st, ev, EV_DOWNLOAD, k, c);
    }
    return 0;
}

/* Pinned mode: waits for band k's download and copies its rows into the image. */
static int unpack_band(opencl_state *st, const job *j, int k, int bands, int slots,
                       img_error *err)
{
    if (img_cl_check(clWaitForEvents(1, &st->done[k].downloaded), "clWaitForEvents(download)",
                     err) != 0)
        return -1;
    int64_t t0 = img_now_ns();
    const img_image *img = j->dst;
    const band_rows b = band_geometry(j, k, bands);
    const size_t w = (size_t)img->width, rows = (size_t)b.out_rows;
    const uint8_t *stage = st->stage_out[k % slots].mapped;
    for (int c = 0; c < img->channels; c++)
        for (size_t r = 0; r < rows; r++)
            memcpy(img_row(img, c, b.out_y0 + (int)r), stage + ((size_t)c * rows + r) * w, w);
    record_span(st, "unpack", k, t0);
    return 0;
}

/* Enqueues band b's kernels on the kernel queue, the first after the events of
 * `wait` (its upload; the download of the band that last used its output slot), the
 * others in queue order. The last one's event is *done. */
static int compute_band(opencl_state *st, const job *j, const band_rows *b, int k, int s,
                        const wait_list *wait, cl_event *done, img_error *err)
{
    const size_t planes = (size_t)j->src->channels;
    cl_int w = j->src->width, h = j->src->height, ow = j->dst->width, oh = j->dst->height;
    cl_int radius = j->plan->blur_radius;
    cl_int src_y0 = b->src_y0, src_rows = b->src_rows, mid_y0 = b->mid_y0,
           mid_rows = b->mid_rows, out_y0 = b->out_y0, out_rows = b->out_rows;
    cl_mem source = st->src[s].mem, output = st->out[s].mem, cur = source;
    const wait_list *first = wait;

    if (j->blur) {
        cl_mem vdst = j->resize ? st->mid.mem : output;
        kernel_arg h_args[] = {{sizeof(cl_mem), &source},         {sizeof(cl_mem), &st->tmp.mem},
                               {sizeof(cl_mem), &st->luts.mem},   {sizeof(cl_mem), &st->weights.mem},
                               {sizeof radius, &radius},          {sizeof w, &w},
                               {sizeof src_rows, &src_rows},      {0, NULL}};
        kernel_arg v_args[] = {{sizeof(cl_mem), &st->tmp.mem},   {sizeof(cl_mem), &vdst},
                               {sizeof(cl_mem), &st->weights.mem}, {sizeof radius, &radius},
                               {sizeof w, &w},                    {sizeof h, &h},
                               {sizeof src_y0, &src_y0},          {sizeof src_rows, &src_rows},
                               {sizeof mid_y0, &mid_y0},          {sizeof mid_rows, &mid_rows}};
        size_t items = ((size_t)w + BLUR_VEC - 1) / BLUR_VEC;
        if (run_kernel(st, K_HBLUR, h_args, 8, 7, radius, items, (size_t)src_rows, planes, first,
                       k, done, err) != 0 ||
            run_kernel(st, K_VBLUR, v_args, 10, -1, radius, items, (size_t)mid_rows, planes,
                       NULL, k, done, err) != 0)
            return -1;
        first = NULL;
        cur = vdst;
    } else if (j->table) {
        cl_mem pdst = j->resize ? st->mid.mem : output;
        kernel_arg args[] = {{sizeof(cl_mem), &source}, {sizeof(cl_mem), &pdst},
                             {sizeof(cl_mem), &st->luts.mem}, {sizeof w, &w},
                             {sizeof src_rows, &src_rows}};
        if (run_kernel(st, K_POINT, args, 5, -1, 0, (size_t)w, (size_t)src_rows, planes, first, k,
                       done, err) != 0)
            return -1;
        first = NULL;
        cur = pdst;
    }
    if (j->resize) {
        /* Without blur the band's source rows are exactly the rows the maps name. */
        kernel_arg args[] = {{sizeof(cl_mem), &cur},         {sizeof(cl_mem), &output},
                             {sizeof(cl_mem), &st->xmap.mem}, {sizeof(cl_mem), &st->ymap.mem},
                             {sizeof w, &w},                  {sizeof mid_y0, &mid_y0},
                             {sizeof mid_rows, &mid_rows},    {sizeof ow, &ow},
                             {sizeof oh, &oh},                {sizeof out_y0, &out_y0},
                             {sizeof out_rows, &out_rows}};
        if (run_kernel(st, K_RESIZE, args, 11, -1, 0, (size_t)ow, (size_t)out_rows, planes, first,
                       k, done, err) != 0)
            return -1;
    }
    return 0;
}

/* Allocates what a run of `bands` bands needs, z from choose_bands (grow-only: a
 * warm state allocates nothing), and room to record every command it enqueues. */
static int prepare_run(opencl_state *st, const job *j, int bands, int slots, bool pinned,
                       band_sizes z, img_error *err)
{
    for (int s = 0; s < slots; s++)
        if (ensure_buffer(st, &st->src[s], z.src, "band source", err) != 0 ||
            ensure_buffer(st, &st->out[s], z.out, "band output", err) != 0 ||
            (pinned &&
             (ensure_buffer_kind(st, &st->stage_in[s], z.src, true, "pinned source", err) != 0 ||
              ensure_buffer_kind(st, &st->stage_out[s], z.out, true, "pinned output", err) != 0)))
            return -1;
    if ((j->blur && ensure_buffer(st, &st->tmp, z.tmp, "blur intermediate", err) != 0) ||
        (z.mid && ensure_buffer(st, &st->mid, z.mid, "stage output", err) != 0) ||
        (j->resize &&
         (ensure_buffer(st, &st->xmap, 3 * sizeof(int32_t) * (size_t)j->dst->width, "x map",
                        err) != 0 ||
          ensure_buffer(st, &st->ymap, 3 * sizeof(int32_t) * (size_t)j->dst->height, "y map",
                        err) != 0)))
        return -1;
    /* Tables: 4 LUT planes, weights, 6 map writes; per band a transfer per plane each
     * way and at most three kernels. */
    const int planes = j->src->channels;
    if (grow_array((void **)&st->events, &st->event_capacity, 12 + bands * (2 * planes + 3),
                   sizeof *st->events, err) != 0 ||
        grow_array((void **)&st->done, &st->done_capacity, bands, sizeof *st->done, err) != 0 ||
        grow_array((void **)&st->spans, &st->span_capacity, 2 * bands, sizeof *st->spans,
                   err) != 0)
        return -1;
    return 0;
}

/* Enqueues every band through the three queues: upload of band k after the kernels
 * of band k - slots are done with its source slot, kernels after the upload and after
 * band k - slots's download has emptied its output slot, download after the kernels.
 * In pinned mode the host also waits for band k - slots's download before reusing its
 * staging buffers (and copies that band out). */
static int enqueue_bands(opencl_state *st, const job *j, int bands, int slots, bool pinned,
                         int *unpacked, img_error *err)
{
    for (int k = 0; k < bands; k++) {
        const int s = k % slots;
        const band_rows b = band_geometry(j, k, bands);
        const band_done *prev = k >= slots ? &st->done[k - slots] : NULL;
        band_done *d = &st->done[k];
        *d = (band_done){0};
        if (pinned && prev) {
            if (unpack_band(st, j, k - slots, bands, slots, err) != 0)
                return -1;
            *unpacked = k - slots + 1;
        }
        if (upload_band(st, j, &b, k, s, pinned, prev ? prev->computed : NULL, &d->uploaded,
                        err) != 0)
            return -1;
        wait_list ready = waits(d->uploaded, prev ? prev->downloaded : NULL);
        if (compute_band(st, j, &b, k, s, &ready, &d->computed, err) != 0 ||
            download_band(st, j, &b, k, s, pinned, d->computed, &d->downloaded, err) != 0)
            return -1;
        /* Submit now, so the device starts on this band while the host prepares the
         * next; waiting on an event of one queue must never stall on an unsubmitted
         * command of another. */
        for (int q = 0; q < Q_COUNT; q++)
            clFlush(st->queue[q]);
    }
    return 0;
}

/* The breakdown of a finished pipeline run from its profiled commands: the time
 * each engine was busy, and the streamed run against what it would cost serialized
 * (upload + kernels + download) and ideally (the busiest engine alone). */
static void record_breakdown(opencl_state *st, double streamed, bool pinned)
{
    double part[EV_KINDS] = {0};
    bool ran[K_COUNT] = {false};
    for (int i = 0; i < st->event_count; i++) {
        part[st->events[i].kind] += event_seconds(st->events[i].event);
        if (st->events[i].kind < K_COUNT)
            ran[st->events[i].kind] = true;
    }
    double staging = 0.0;
    for (int i = 0; i < st->span_count; i++)
        staging += (double)(st->spans[i].end_ns - st->spans[i].start_ns) * 1e-9;
    double kernel = 0.0;
    for (int k = 0; k < K_COUNT; k++)
        kernel += part[k];
    const double upload = part[EV_UPLOAD] + part[EV_TABLES], download = part[EV_DOWNLOAD];
    double ideal = upload > kernel ? upload : kernel;
    ideal = download > ideal ? download : ideal;
    img_breakdown *b = &st->last;
    b->count = 0;
#define PART(n, v) (b->part[b->count].name = (n), b->part[b->count++].seconds = (v))
    PART("upload", upload);
    PART("kernel", kernel);
    PART("download", download);
    PART("build", st->build.seconds);
    PART("streamed", streamed);
    PART("serialized", upload + kernel + download);
    PART("ideal", ideal);
    if (pinned)
        PART("staging", staging);
    for (int k = 0; k < K_COUNT; k++)
        if (ran[k])
            PART(kernel_parts[k], part[k]);
#undef PART
}

/* The run's commands as a Chrome trace: a row per queue (and one for the host's
 * staging copies), device times moved onto the host clock. The device counts from
 * its own zero; its QUEUED stamp of the first command is the moment the host, which
 * read its clock just before, enqueued it. */
static int record_trace(opencl_state *st, int64_t host_start_ns, bool pinned, img_error *err)
{
    cl_ulong queued = 0;
    if (st->event_count == 0 ||
        clGetEventProfilingInfo(st->events[0].event, CL_PROFILING_COMMAND_QUEUED, sizeof queued,
                                &queued, NULL) != CL_SUCCESS)
        return img_fail(err, "opencl: the trace needs profiling times, and the device gave none");
    const int64_t offset = host_start_ns - (int64_t)queued;
    if (img_trace_reserve(&st->trace, (size_t)(st->event_count + st->span_count), err) != 0)
        return -1;
    for (int i = 0; i < st->event_count; i++) {
        const run_event *e = &st->events[i];
        cl_ulong start = 0, end = 0;
        img_trace_event *slot = event_times(e->event, &start, &end) ? img_trace_slot(&st->trace)
                                                                    : NULL;
        if (!slot)
            continue;
        const bool up = e->kind == EV_UPLOAD || e->kind == EV_TABLES;
        *slot = (img_trace_event){
            .stage = e->kind == EV_TABLES     ? "tables"
                     : e->kind == EV_UPLOAD   ? "upload"
                     : e->kind == EV_DOWNLOAD ? "download"
                                              : kernel_names[e->kind],
            .band = e->band,
            .plane = e->plane,
            .worker = up ? Q_UPLOAD : e->kind == EV_DOWNLOAD ? Q_DOWNLOAD : Q_KERNEL,
            .cpu = -1,
            .cpu_end = -1,
            .start_ns = (int64_t)start + offset,
            .end_ns = (int64_t)end + offset};
    }
    for (int i = 0; i < st->span_count; i++) {
        img_trace_event *slot = img_trace_slot(&st->trace);
        if (slot)
            *slot = (img_trace_event){.stage = st->spans[i].what,
                                      .band = st->spans[i].band,
                                      .plane = -1,
                                      .worker = TRACK_STAGING,
                                      .cpu = -1,
                                      .cpu_end = -1,
                                      .start_ns = st->spans[i].start_ns,
                                      .end_ns = st->spans[i].end_ns};
    }
    st->trace_tracks = pinned ? Q_COUNT + 1 : Q_COUNT;
    st->traced = true;
    return 0;
}

/* Runs a job to completion, band by band; a pipeline run (`record`) keeps its
 * breakdown and, when asked, its trace. */
static int run_job(opencl_state *st, const job *j, bool record, img_error *err)
{
    if (check_geometry(j, err) != 0)
        return -1;
    if (record)
        st->traced = false;
    if (!j->table && !j->blur && !j->resize) {
        /* Nothing to compute: a device round trip would only add noise. */
        img_image_copy(j->dst, j->src);
        if (record)
            st->last = (img_breakdown){0};
        return 0;
    }
    int bands = 0;
    band_sizes sizes = {0};
    const bool pinned = st->pinned_option == IMG_PINNED_ON ||
                        (st->pinned_option == IMG_PINNED_AUTO && !st->host_memory);
    if (choose_bands(st, j, &bands, &sizes, err) != 0)
        return -1;
    const int slots = bands < SLOTS ? bands : SLOTS;
    if (prepare_run(st, j, bands, slots, pinned, sizes, err) != 0)
        return -1;

    /* The writes are non-blocking and read from `luts` and the caller's images, so
     * all of them stay alive until every queue has finished, on the failure path too. */
    uint8_t luts[IMG_MAX_CHANNELS][256];
    st->event_count = 0;
    st->span_count = 0;
    int unpacked = 0;
    const int64_t t0 = img_now_ns();
    int rc = upload_tables(st, j, luts, err);
    if (rc == 0)
        rc = enqueue_bands(st, j, bands, slots, pinned, &unpacked, err);
    for (int q = 0; q < Q_COUNT; q++) {
        cl_int fin = clFinish(st->queue[q]);
        if (rc == 0)
            rc = img_cl_check(fin, "clFinish", err);
    }
    for (int k = unpacked; rc == 0 && pinned && k < bands; k++)
        rc = unpack_band(st, j, k, bands, slots, err);
    const int64_t t1 = img_now_ns();
    if (rc == 0 && record) {
        st->last_bands = bands;
        st->last_pinned = pinned;
        record_breakdown(st, (double)(t1 - t0) * 1e-9, pinned);
        if (st->trace_runs)
            rc = record_trace(st, t0, pinned, err);
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
    st->forced_bands = options && options->bands > 0 ? options->bands : 0;
    st->pinned_option = options ? options->pinned : IMG_PINNED_AUTO;
    st->trace_runs = options && options->trace_path;

    if (open_device(st, options, err) != 0)
        goto fail;
    if (options && options->alloc_limit && options->alloc_limit < st->max_alloc)
        st->max_alloc = options->alloc_limit;
    for (int q = 0; q < Q_COUNT; q++) {
        cl_int rc = CL_SUCCESS;
        st->queue[q] =
            clCreateCommandQueue(st->context, st->device, CL_QUEUE_PROFILING_ENABLE, &rc);
        if (img_cl_check(rc, "clCreateCommandQueue", err) != 0)
            goto fail;
    }
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
    for (int s = 0; s < SLOTS; s++) {
        release_buffer(st, &st->src[s]);
        release_buffer(st, &st->out[s]);
        release_buffer(st, &st->stage_in[s]);
        release_buffer(st, &st->stage_out[s]);
    }
    dev_buffer *bufs[] = {&st->tmp, &st->mid, &st->luts, &st->weights, &st->xmap, &st->ymap};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        release_buffer(st, bufs[i]);
    for (int k = 0; k < K_COUNT; k++)
        if (st->kernel[k])
            clReleaseKernel(st->kernel[k]);
    if (st->program)
        clReleaseProgram(st->program);
    for (int q = 0; q < Q_COUNT; q++)
        if (st->queue[q])
            clReleaseCommandQueue(st->queue[q]);
    if (st->context)
        clReleaseContext(st->context);
    free(st->events);
    free(st->done);
    free(st->spans);
    img_trace_free(&st->trace);
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
    if (st->last_bands > 0 && n >= 0 && (size_t)n < len) {
        int m = snprintf(buf + n, len - (size_t)n, ", %d band%s%s, %s", st->last_bands,
                         st->last_bands == 1 ? "" : "s", st->forced_bands ? " (forced)" : "",
                         st->last_pinned ? "pinned staging" : "direct transfers");
        n = m < 0 ? -1 : n + m;
    }
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

/* Times one command, waited for: its profiled seconds, or -1 on failure. */
static double timed_command(cl_int rc, cl_event ev)
{
    double t = -1.0;
    if (rc == CL_SUCCESS && clWaitForEvents(1, &ev) == CL_SUCCESS)
        t = event_seconds(ev);
    if (ev)
        clReleaseEvent(ev);
    return t;
}

static int opencl_device_bandwidth(void *state, img_device_bandwidth *out, img_error *err)
{
    opencl_state *st = state;
    /* Far beyond any cache, and within one allocation. */
    size_t bytes = (size_t)256 << 20;
    if (bytes > st->max_alloc)
        bytes = (size_t)st->max_alloc;
    dev_buffer host = {0}, a = {0}, b = {0};
    int rc = -1;
    *out = (img_device_bandwidth){.bytes = bytes};
    if (ensure_buffer_kind(st, &host, bytes, true, "bandwidth staging", err) == 0 &&
        ensure_buffer(st, &a, bytes, "bandwidth source", err) == 0 &&
        ensure_buffer(st, &b, bytes, "bandwidth target", err) == 0) {
        memset(host.mapped, 1, bytes);
        cl_command_queue up = st->queue[Q_UPLOAD], down = st->queue[Q_DOWNLOAD],
                         q = st->queue[Q_KERNEL];
        rc = 0;
        /* The first round only warms up (first touch, lazy allocation); best of the rest. */
        for (int rep = 0; rep < 4 && rc == 0; rep++) {
            cl_event e_up = NULL, e_copy = NULL, e_down = NULL;
            /* Enqueued one at a time and waited for: each timed alone. */
            cl_int r_up =
                clEnqueueWriteBuffer(up, a.mem, CL_FALSE, 0, bytes, host.mapped, 0, NULL, &e_up);
            double tu = timed_command(r_up, e_up);
            cl_int r_copy = clEnqueueCopyBuffer(q, a.mem, b.mem, 0, 0, bytes, 0, NULL, &e_copy);
            double tc = timed_command(r_copy, e_copy);
            cl_int r_down =
                clEnqueueReadBuffer(down, b.mem, CL_FALSE, 0, bytes, host.mapped, 0, NULL, &e_down);
            double td = timed_command(r_down, e_down);
            if (tu <= 0.0 || tc <= 0.0 || td <= 0.0) {
                rc = img_fail(err, "opencl: the bandwidth transfers failed or were not profiled");
                break;
            }
            if (rep == 0)
                continue;
            double up_gbs = (double)bytes / tu / 1e9, down_gbs = (double)bytes / td / 1e9;
            double copy_gbs = 2.0 * (double)bytes / tc / 1e9;
            out->upload_gbs = up_gbs > out->upload_gbs ? up_gbs : out->upload_gbs;
            out->download_gbs = down_gbs > out->download_gbs ? down_gbs : out->download_gbs;
            out->device_copy_gbs = copy_gbs > out->device_copy_gbs ? copy_gbs : out->device_copy_gbs;
        }
    }
    release_buffer(st, &host);
    release_buffer(st, &a);
    release_buffer(st, &b);
    return rc;
}

static const img_trace *opencl_trace(void *state, int *tracks, const char *const **names)
{
    const opencl_state *st = state;
    if (!st || !st->traced)
        return NULL;
    *tracks = st->trace_tracks;
    *names = track_names;
    return &st->trace;
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
    .options = IMG_OPTION_DEVICE | IMG_OPTION_NO_CACHE | IMG_OPTION_AUTOTUNE | IMG_OPTION_TRACE |
               IMG_OPTION_BANDS | IMG_OPTION_PINNED,
    .probe = opencl_probe,
    .init = opencl_init,
    .destroy = opencl_destroy,
    .run_stage = opencl_run_stage,
    .run_pipeline = opencl_run_pipeline,
    .describe = opencl_describe,
    .breakdown = opencl_breakdown,
    .trace = opencl_trace,
    .device_bandwidth = opencl_device_bandwidth,
    .describe_platform = opencl_describe_platform,
    .list_devices = opencl_list_devices,
};

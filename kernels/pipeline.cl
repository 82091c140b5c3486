/* imgpipe's OpenCL kernels (OpenCL C 1.2, no extensions).
 *
 * Integer-only transcriptions of host/serial.c: every sum, rounding constant and
 * shift is the reference's, so the results are bit-identical. All tables (point
 * LUTs, blur weights, resize maps) come from the host plan; nothing here recomputes
 * them.
 *
 * Layout: an image, or a band of its rows, lives in one buffer as `planes` tightly
 * packed planes of width x rows elements (row pitch = width). The host streams an
 * image through the kernels band by band; the kernels that reach across rows (the
 * vertical blur, the resize) are told where their input band starts in the whole
 * image and clamp against the whole image's edges, exactly as the reference does, so
 * a band's rows come out the same whatever the banding. Every kernel runs over a 3-D range
 * (x, y, plane), x counting pixels or, in the blur kernels, groups of VEC pixels;
 * the host rounds the x and y ranges up to whole work-groups, so every kernel
 * bounds-checks, and work-items past the edge still help fill local tiles before
 * the barrier. Sums are non-negative by construction (u8 inputs,
 * non-negative weights), so no shift here ever sees a negative value. */

/* Copies a plane's 256-entry LUT into local memory: the LUT is indexed by pixel
 * value, a data-dependent gather that local memory serves without bank or cache
 * surprises on GPUs. Ends with a barrier; every work-item must call it. */
void load_lut(__local uchar *lut, __global const uchar *luts, int plane)
{
    const int n = (int)(get_local_size(0) * get_local_size(1));
    const int id = (int)(get_local_id(1) * get_local_size(0) + get_local_id(0));
    for (int i = id; i < 256; i += n)
        lut[i] = luts[plane * 256 + i];
    barrier(CLK_LOCAL_MEM_FENCE);
}

/* o = lut[plane][i]: brightness, contrast or both composed; the host gives alpha
 * planes the identity table. Row by row, so a band is just a shorter image. */
__kernel void point_lut(__global const uchar *src, __global uchar *dst, __global const uchar *luts,
                    int width, int rows)
{
    __local uchar lut[256];
    const int x = (int)get_global_id(0), y = (int)get_global_id(1), p = (int)get_global_id(2);
    load_lut(lut, luts, p);
    if (x >= width || y >= rows)
        return;
    const size_t i = ((size_t)p * rows + y) * width + x;
    dst[i] = lut[src[i]];
}

/* The blur kernels compute VEC consecutive outputs per work-item with OpenCL vector
 * types: explicit SIMD on CPUs (PoCL's own vectoriser does not see through the tap
 * loop) and wide loads on GPUs. The host sizes the x range in units of VEC. */
#define VEC 8

/* Stores the first n (1..VEC) lanes of v at p: the last work-item of a row may
 * straddle the image edge. */
void store_short8(__global short *p, short8 v, int n)
{
    if (n >= VEC) {
        vstore8(v, 0, p);
        return;
    }
    short lanes[VEC];
    vstore8(v, 0, lanes);
    for (int i = 0; i < n; i++)
        p[i] = lanes[i];
}

void store_uchar8(__global uchar *p, uchar8 v, int n)
{
    if (n >= VEC) {
        vstore8(v, 0, p);
        return;
    }
    uchar lanes[VEC];
    vstore8(v, 0, lanes);
    for (int i = 0; i < n; i++)
        p[i] = lanes[i];
}

/* Point LUT fused with the horizontal blur pass:
 *   h = (sum_k W_k * lut[src[y][clamp(x + k)]] + 64) >> 7, stored as short.
 * A work-group of LX x LY covers LY rows of LX * VEC outputs; each row's
 * LX * VEC + 2r inputs (edge-clamped, already through the LUT) are staged once in
 * `tile`, so every input is read from global memory and looked up once instead of
 * 2r + 1 times, and the taps become unaligned vector loads from local memory. Row by
 * row, like point_lut: a band (with its halo rows) is just a shorter image. */
__kernel void point_hblur(__global const uchar *src, __global short *dst,
                          __global const uchar *luts, __constant int *weights, int radius,
                          int width, int rows, __local uchar *tile)
{
    __local uchar lut[256];
    const int lx = (int)get_local_id(0), ly = (int)get_local_id(1);
    const int LX = (int)get_local_size(0);
    const int x0 = (int)(get_group_id(0) * get_local_size(0)) * VEC;
    const int x = x0 + lx * VEC, y = (int)get_global_id(1), p = (int)get_global_id(2);
    const int tw = LX * VEC + 2 * radius;
    __local uchar *trow = tile + ly * tw;

    load_lut(lut, luts, p);
    if (y < rows) {
        __global const uchar *row = src + ((size_t)p * rows + y) * width;
        for (int i = lx; i < tw; i += LX)
            trow[i] = lut[row[clamp(x0 - radius + i, 0, width - 1)]];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (x >= width || y >= rows)
        return;
    int8 sum = (int8)(0);
    for (int k = 0; k <= 2 * radius; k++)
        sum += weights[k] * convert_int8(vload8(0, trow + lx * VEC + k));
    store_short8(dst + ((size_t)p * rows + y) * width + x, convert_short8((sum + 64) >> 7),
                 width - x);
}

/* Eight columns of one row of the intermediate, the columns past the right edge
 * clamped to it (their results are never stored). */
short8 load_row8(__global const short *row, int x, int width)
{
    if (x + VEC <= width)
        return vload8(0, row + x);
    short lanes[VEC];
    for (int i = 0; i < VEC; i++)
        lanes[i] = row[min(x + i, width - 1)];
    return vload8(0, lanes);
}

/* Vertical blur pass: o = clamp((sum_k W_k * h[clamp(y + k)][x] + 2^20) >> 21).
 * Output rows out_y0 .. out_y0 + out_rows - 1 of the image, from an input band that
 * holds the image's rows in_y0 .. in_y0 + in_rows - 1 (all the clamped taps of those
 * outputs: the host uploads the halo). Reads global memory directly: neighbouring
 * work-items share rows through the caches, and a local tile (tried) only added a
 * barrier and copies on PoCL. */
__kernel void vblur(__global const short *src, __global uchar *dst, __constant int *weights,
                    int radius, int width, int height, int in_y0, int in_rows, int out_y0,
                    int out_rows)
{
    const int x = (int)get_global_id(0) * VEC, y = (int)get_global_id(1);
    const int p = (int)get_global_id(2);
    if (x >= width || y >= out_rows)
        return;
    __global const short *plane = src + (size_t)p * in_rows * width;
    int8 sum = (int8)(0);
    for (int k = 0; k <= 2 * radius; k++) {
        int sy = clamp(out_y0 + y - radius + k, 0, height - 1) - in_y0;
        sum += weights[k] * convert_int8(load_row8(plane + (size_t)sy * width, x, width));
    }
    store_uchar8(dst + ((size_t)p * out_rows + y) * width + x,
                 convert_uchar8(clamp((sum + (1 << 20)) >> 21, 0, 255)), width - x);
}

/* Bilinear resize with the plan's maps. xmap holds i0[out_w], i1[out_w], frac[out_w]
 * back to back, ymap the same for out_h (the whole output's height). Output rows
 * out_y0 .. out_y0 + out_rows - 1 from an input band holding the image's rows in_y0 ..
 * in_y0 + in_rows - 1 (every row the maps name for them). 32-bit unsigned arithmetic
 * as in the reference: the four weights sum to 2^22, so the total stays below 2^31. */
__kernel void resize(__global const uchar *src, __global uchar *dst, __global const int *xmap,
                     __global const int *ymap, int in_width, int in_y0, int in_rows,
                     int out_width, int out_height, int out_y0, int out_rows)
{
    const int x = (int)get_global_id(0), y = (int)get_global_id(1), p = (int)get_global_id(2);
    if (x >= out_width || y >= out_rows)
        return;
    const int one = 2048, oy = out_y0 + y;
    __global const uchar *plane = src + (size_t)p * in_rows * in_width;
    __global const uchar *row0 = plane + (size_t)(ymap[oy] - in_y0) * in_width;
    __global const uchar *row1 = plane + (size_t)(ymap[out_height + oy] - in_y0) * in_width;
    const int fy = ymap[2 * out_height + oy];
    const int x0 = xmap[x], x1 = xmap[out_width + x], fx = xmap[2 * out_width + x];
    const uint a = row0[x0], b = row0[x1], c = row1[x0], d = row1[x1];
    const uint sum = (uint)((one - fx) * (one - fy)) * a + (uint)(fx * (one - fy)) * b +
                     (uint)((one - fx) * fy) * c + (uint)(fx * fy) * d + (1u << 21);
    dst[((size_t)p * out_rows + y) * out_width + x] = (uchar)(sum >> 22);
}

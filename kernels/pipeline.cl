/* imgpipe's OpenCL kernels (OpenCL C 1.2, no extensions).
 *
 * Integer-only transcriptions of host/serial.c: every sum, rounding constant and
 * shift is the reference's, so the results are bit-identical. All tables (point
 * LUTs, blur weights, resize maps) come from the host plan; nothing here recomputes
 * them.
 *
 * Layout: an image lives in one buffer as `planes` tightly packed planes of
 * width x height elements (row pitch = width). Every kernel runs over a 3-D range
 * (x, y, plane); the host rounds the x and y ranges up to whole work-groups, so
 * every kernel bounds-checks, and work-items past the edge still help fill local
 * tiles before the barrier. Sums are non-negative by construction (u8 inputs,
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
 * planes the identity table. */
__kernel void point_lut(__global const uchar *src, __global uchar *dst, __global const uchar *luts,
                    int width, int height)
{
    __local uchar lut[256];
    const int x = (int)get_global_id(0), y = (int)get_global_id(1), p = (int)get_global_id(2);
    load_lut(lut, luts, p);
    if (x >= width || y >= height)
        return;
    const size_t i = ((size_t)p * height + y) * width + x;
    dst[i] = lut[src[i]];
}

/* Point LUT fused with the horizontal blur pass:
 *   h = (sum_k W_k * lut[src[y][clamp(x + k)]] + 64) >> 7, stored as short.
 * A work-group of LX x LY covers LY rows of LX outputs; each row's LX + 2r inputs
 * (edge-clamped, already through the LUT) are staged once in `tile`, so every input
 * is read from global memory once instead of 2r + 1 times. */
__kernel void point_hblur(__global const uchar *src, __global short *dst,
                          __global const uchar *luts, __constant int *weights, int radius,
                          int width, int height, __local uchar *tile)
{
    __local uchar lut[256];
    const int lx = (int)get_local_id(0), ly = (int)get_local_id(1);
    const int LX = (int)get_local_size(0);
    const int x0 = (int)(get_group_id(0) * get_local_size(0));
    const int x = x0 + lx, y = (int)get_global_id(1), p = (int)get_global_id(2);
    const int tw = LX + 2 * radius;
    __local uchar *trow = tile + ly * tw;

    load_lut(lut, luts, p);
    if (y < height) {
        __global const uchar *row = src + ((size_t)p * height + y) * width;
        for (int i = lx; i < tw; i += LX)
            trow[i] = lut[row[clamp(x0 - radius + i, 0, width - 1)]];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (x >= width || y >= height)
        return;
    int sum = 0;
    for (int k = 0; k <= 2 * radius; k++)
        sum += weights[k] * trow[lx + k];
    dst[((size_t)p * height + y) * width + x] = (short)((sum + 64) >> 7);
}

/* Vertical blur pass: o = clamp((sum_k W_k * h[clamp(y + k)][x] + 2^20) >> 21).
 * A work-group of LX x LY stages the LY + 2r input rows of its LX columns in
 * `tile`, so each intermediate value is read from global memory (LY + 2r) / LY
 * times instead of 2r + 1. */
__kernel void vblur(__global const short *src, __global uchar *dst, __constant int *weights,
                    int radius, int width, int height, __local short *tile)
{
    const int lx = (int)get_local_id(0), ly = (int)get_local_id(1);
    const int LX = (int)get_local_size(0), LY = (int)get_local_size(1);
    const int y0 = (int)(get_group_id(1) * get_local_size(1));
    const int x = (int)get_global_id(0), y = y0 + ly, p = (int)get_global_id(2);
    const int th = LY + 2 * radius;
    __global const short *plane = src + (size_t)p * height * width;
    const int sx = min(x, width - 1);

    for (int r = ly; r < th; r += LY)
        tile[r * LX + lx] = plane[(size_t)clamp(y0 - radius + r, 0, height - 1) * width + sx];
    barrier(CLK_LOCAL_MEM_FENCE);
    if (x >= width || y >= height)
        return;
    int sum = 0;
    for (int k = 0; k <= 2 * radius; k++)
        sum += weights[k] * tile[(ly + k) * LX + lx];
    dst[((size_t)p * height + y) * width + x] = (uchar)clamp((sum + (1 << 20)) >> 21, 0, 255);
}

/* Bilinear resize with the plan's maps. xmap holds i0[out_w], i1[out_w], frac[out_w]
 * back to back, ymap the same for out_h. 32-bit unsigned arithmetic as in the
 * reference: the four weights sum to 2^22, so the total stays below 2^31. */
__kernel void resize(__global const uchar *src, __global uchar *dst, __global const int *xmap,
                     __global const int *ymap, int in_width, int in_height, int out_width,
                     int out_height)
{
    const int x = (int)get_global_id(0), y = (int)get_global_id(1), p = (int)get_global_id(2);
    if (x >= out_width || y >= out_height)
        return;
    const int one = 2048;
    __global const uchar *plane = src + (size_t)p * in_height * in_width;
    __global const uchar *row0 = plane + (size_t)ymap[y] * in_width;
    __global const uchar *row1 = plane + (size_t)ymap[out_height + y] * in_width;
    const int fy = ymap[2 * out_height + y];
    const int x0 = xmap[x], x1 = xmap[out_width + x], fx = xmap[2 * out_width + x];
    const uint a = row0[x0], b = row0[x1], c = row1[x0], d = row1[x1];
    const uint sum = (uint)((one - fx) * (one - fy)) * a + (uint)(fx * (one - fy)) * b +
                     (uint)((one - fx) * fy) * c + (uint)(fx * fy) * d + (1u << 21);
    dst[((size_t)p * out_height + y) * out_width + x] = (uchar)(sum >> 22);
}

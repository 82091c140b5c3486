/* The fused strip schedule of the SIMD backends (see simd_backend.c and README.md).
 *
 * Nothing here depends on the instruction set: it decides which rows are computed,
 * in which order and into which scratch slot, and calls the level's kernels through
 * its img_simd_funcs table. So it is compiled once, with no -m flags, as dav1d keeps
 * its scheduling apart from its DSP tables. Every call covers a whole row or a batch
 * of rows (thousands of pixels at the sizes that matter), which amortises the
 * indirect call; the kernels themselves stay inlined within their level file. */
#include <string.h>

#include "funcs.h"

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Point stages (or a copy) only. */
static void strip_point(const img_simd_funcs *f, const img_simd_strip *job)
{
    const img_simd_kernel *k = job->k;
    const uint8_t *src = job->src + job->y0 * job->src_stride;
    uint8_t *dst = job->dst + job->y0 * job->dst_stride;
    if (job->point) {
        f->point_rows(dst, job->dst_stride, src, job->src_stride, k->in_w, job->y1 - job->y0,
                      k);
    } else {
        for (int y = 0; y < job->y1 - job->y0; y++)
            memcpy(dst + y * job->dst_stride, src + y * job->src_stride, (size_t)k->in_w);
    }
}

/* Resize (after the point stages when enabled): the two source rows of an output
 * row come straight from src, or from a two-slot cache of point-op'd rows tagged by
 * row index (works for any map; monotonic maps compute each row once). */
static void strip_resize(const img_simd_funcs *f, const img_simd_strip *job,
                         img_simd_scratch *s)
{
    const img_simd_kernel *k = job->k;
    int tag[2] = {-1, -1};
    for (int y = job->y0; y < job->y1; y++) {
        const int j[2] = {k->y_i0[y], k->y_i1[y]};
        const uint8_t *p[2];
        int used = -1;
        for (int t = 0; t < 2; t++) {
            if (!job->point) {
                p[t] = job->src + j[t] * job->src_stride;
                continue;
            }
            int slot = tag[0] == j[t] ? 0 : tag[1] == j[t] ? 1 : -1;
            if (slot < 0) {
                /* Evict the slot the other row of this output does not use; else the
                 * older (smaller) row. */
                slot = used >= 0 ? 1 - used : tag[0] <= tag[1] ? 0 : 1;
                f->point_rows(s->rows + slot * s->rows_stride, 0,
                              job->src + j[t] * job->src_stride, 0, k->in_w, 1, k);
                tag[slot] = j[t];
            }
            used = slot;
            p[t] = s->rows + slot * s->rows_stride;
        }
        f->resize_row(job->dst + y * job->dst_stride, p[0], p[1], k->y_frac[y], k, s);
    }
}

/* The rows of the blurred image the band needs, in increasing order, each once. */
typedef struct needed_rows {
    const img_simd_strip *job;
    int y, half, last;
} needed_rows;

static int next_needed(needed_rows *it)
{
    const img_simd_strip *job = it->job;
    while (it->y < job->y1) {
        int j;
        if (job->resize) {
            j = it->half ? job->k->y_i1[it->y] : job->k->y_i0[it->y];
            if (it->half)
                it->y++;
            it->half ^= 1;
        } else {
            j = it->y++;
        }
        if (j > it->last) {
            it->last = j;
            return j;
        }
    }
    return -1;
}

/* Blur (point stages folded into the horizontal pass), then resize if enabled.
 *
 * Needed blurred rows are produced in runs of up to K consecutive rows. Before a run
 * [a, a+n), the horizontal rows [a-r, a+n-1+r] (clamped) are brought into the ring
 * of 2r+K slots, each source row point-op'd and blurred exactly once; the vertical
 * pass then writes the n rows either straight to dst (no resize) or into a K+1 slot
 * row cache from which every output row whose two source rows are ready is resized.
 * The y map is monotonic with i1 - i0 <= 1 (k->y_fusable), so a pending output row
 * never needs a row older than a - 1: K+1 cache slots suffice. */
static void strip_blur(const img_simd_funcs *f, const img_simd_strip *job, img_simd_scratch *s)
{
    const img_simd_kernel *k = job->k;
    const int w = k->in_w, h = k->in_h, r = k->radius, K = IMG_SIMD_BATCH_ROWS;
    const int slots = s->ring_slots;
    needed_rows it = {job, job->y0, 0, -1};
    int hnext = 0;            /* next horizontal row to compute */
    int yout = job->y0;       /* next output row to resize */
    bool started = false;

    int next = next_needed(&it);
    while (next >= 0) {
        const int a = next;
        int n = 1;
        next = next_needed(&it);
        while (next == a + n && n < K) {
            n++;
            next = next_needed(&it);
        }

        const int lo = clampi(a - r, 0, h - 1), hi = clampi(a + n - 1 + r, 0, h - 1);
        if (!started || hnext < lo) {
            hnext = lo;   /* rows before lo are never needed again */
            started = true;
        }
        for (; hnext <= hi; hnext++) {
            const uint8_t *row = job->src + hnext * job->src_stride;
            f->blur_h_row(s->ring + (hnext % slots) * s->ring_stride, row,
                          hnext + 1 < h ? row + job->src_stride : NULL, w, job->point, k, s);
        }
        for (int i = 0; i < n + 2 * r; i++)
            s->hptr[i] = s->ring + (clampi(a - r + i, 0, h - 1) % slots) * s->ring_stride;
        for (int i = 0; i < n; i++)
            s->dptr[i] = job->resize ? s->rows + ((a + i) % s->row_slots) * s->rows_stride
                                     : job->dst + (a + i) * job->dst_stride;
        f->blur_v_rows(s->dptr, n, s->hptr, w, k);

        if (job->resize) {
            while (yout < job->y1 && k->y_i1[yout] <= a + n - 1) {
                const uint8_t *p0 = s->rows + (k->y_i0[yout] % s->row_slots) * s->rows_stride;
                const uint8_t *p1 = s->rows + (k->y_i1[yout] % s->row_slots) * s->rows_stride;
                f->resize_row(job->dst + yout * job->dst_stride, p0, p1, k->y_frac[yout], k, s);
                yout++;
            }
        }
    }
}

void img_simd_run_strip(const img_simd_funcs *f, const img_simd_strip *job,
                        img_simd_scratch *s)
{
    if (job->y0 >= job->y1)
        return;
    if (job->blur)
        strip_blur(f, job, s);
    else if (job->resize)
        strip_resize(f, job, s);
    else
        strip_point(f, job);
}

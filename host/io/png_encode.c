/* imgpipe's PNG encoder (png_encode.h): banded filtering and parallel deflate.
 *
 * The work is two batches on the pool: every band is filtered, then every band is
 * deflated. The second batch needs the first finished because a band's dictionary is
 * the filtered data of the band before it. The file is then written in order: the
 * signature, IHDR, one IDAT per band (the zlib header in the first, the Adler-32 in
 * the last; a band beyond IMG_PNG_IDAT_MAX bytes is split), IEND. */
#include "png_encode.h"

#include <errno.h>
#include <libdeflate.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io_formats.h"
#include "memory.h"
#include "pool.h"

/* deflate's window: a band sees this much of the data before it. */
#define IMG_PNG_WINDOW 32768u
/* Automatic bands hold about this much filtered data: big enough that priming with the
 * 32 KiB dictionary and the per-band zlib state cost little (a few per cent), small
 * enough that a 1080p RGB image still makes a dozen bands for the threads to share. */
#define IMG_PNG_BAND_TARGET (512u * 1024u)
/* IDAT lengths are 31-bit; a longer band is written as several chunks. */
#define IMG_PNG_IDAT_MAX (1u << 30)

/* ---- levels ---- */

/* What each --png-level means: 1..3 zlib 1..3 with the up filter (the cheapest filter,
 * and in `imgpipe codecs` the smallest of the fixed ones at these levels), 4..9 zlib 4..9
 * with libpng's adaptive choice, 9 being smallest. The default, 1, was the fastest and
 * still wrote files about 0.63-0.71 of libvips's size (README, "PNG encoding"). */
static const img_png_encoding level_table[IMG_PNG_LEVEL_MAX + 1] = {
    {IMG_PNG_DEFLATE_ZLIB, 0, IMG_PNG_STRATEGY_DEFAULT, IMG_PNG_FILTER_NONE, 0, 0},
    {IMG_PNG_DEFLATE_ZLIB, 1, IMG_PNG_STRATEGY_DEFAULT, IMG_PNG_FILTER_UP, 0, 0},
    {IMG_PNG_DEFLATE_ZLIB, 2, IMG_PNG_STRATEGY_DEFAULT, IMG_PNG_FILTER_UP, 0, 0},
    {IMG_PNG_DEFLATE_ZLIB, 3, IMG_PNG_STRATEGY_DEFAULT, IMG_PNG_FILTER_UP, 0, 0},
    {IMG_PNG_DEFLATE_ZLIB, 4, IMG_PNG_STRATEGY_DEFAULT, IMG_PNG_FILTER_ADAPTIVE, 0, 0},
    {IMG_PNG_DEFLATE_ZLIB, 5, IMG_PNG_STRATEGY_DEFAULT, IMG_PNG_FILTER_ADAPTIVE, 0, 0},
    {IMG_PNG_DEFLATE_ZLIB, 6, IMG_PNG_STRATEGY_DEFAULT, IMG_PNG_FILTER_ADAPTIVE, 0, 0},
    {IMG_PNG_DEFLATE_ZLIB, 7, IMG_PNG_STRATEGY_DEFAULT, IMG_PNG_FILTER_ADAPTIVE, 0, 0},
    {IMG_PNG_DEFLATE_ZLIB, 8, IMG_PNG_STRATEGY_DEFAULT, IMG_PNG_FILTER_ADAPTIVE, 0, 0},
    {IMG_PNG_DEFLATE_ZLIB, 9, IMG_PNG_STRATEGY_DEFAULT, IMG_PNG_FILTER_ADAPTIVE, 0, 0},
};

int img_png_default_level(void)
{
    return IMG_PNG_DEFAULT_LEVEL;
}

int img_png_encoding_for_level(int level, int threads, img_png_encoding *out)
{
    if (level < IMG_PNG_LEVEL_MIN || level > IMG_PNG_LEVEL_MAX)
        return -1;
    *out = level_table[level];
    out->threads = threads;
    return 0;
}

void img_png_encoding_describe(const img_png_encoding *enc, char *buf, size_t len)
{
    static const char *const filters[] = {"none", "sub", "up", "average", "paeth", "adaptive"};
    static const char *const strategies[] = {"default", "filtered", "rle"};
    char bands[16] = "auto";
    if (enc->bands > 0)
        snprintf(bands, sizeof bands, "%d", enc->bands);
    if (enc->deflater == IMG_PNG_DEFLATE_LIBDEFLATE)
        snprintf(buf, len, "libdeflate-%d filter=%s", enc->level, filters[enc->filter]);
    else
        snprintf(buf, len, "zlib-%d filter=%s strategy=%s bands=%s", enc->level,
                 filters[enc->filter], strategies[enc->strategy], bands);
}

/* ---- filtering ---- */

/* Paeth's predictor as the specification writes it (ties: a, then b, then c). */
static inline uint8_t paeth_predict(int a, int b, int c)
{
    const int p = a + b - c;
    const int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    if (pa <= pb && pa <= pc)
        return (uint8_t)a;
    return (uint8_t)(pb <= pc ? b : c);
}

/* Filters one row of n bytes (bpp bytes per pixel) into out; prev is the row above
 * (zeros above the first row). Encoding reads only input bytes, so every loop here is
 * free of carried dependencies and the compiler may vectorise it. */
static void filter_row(img_png_filter filter, uint8_t *restrict out, const uint8_t *restrict cur,
                       const uint8_t *restrict prev, size_t n, size_t bpp)
{
    switch (filter) {
    case IMG_PNG_FILTER_NONE:
    case IMG_PNG_FILTER_ADAPTIVE:   /* not a row filter; chosen per row by the caller */
        memcpy(out, cur, n);
        return;
    case IMG_PNG_FILTER_SUB:
        memcpy(out, cur, bpp < n ? bpp : n);
        for (size_t i = bpp; i < n; i++)
            out[i] = (uint8_t)(cur[i] - cur[i - bpp]);
        return;
    case IMG_PNG_FILTER_UP:
        for (size_t i = 0; i < n; i++)
            out[i] = (uint8_t)(cur[i] - prev[i]);
        return;
    case IMG_PNG_FILTER_AVERAGE:
        for (size_t i = 0; i < bpp && i < n; i++)
            out[i] = (uint8_t)(cur[i] - (prev[i] >> 1));
        for (size_t i = bpp; i < n; i++)
            out[i] = (uint8_t)(cur[i] - ((cur[i - bpp] + prev[i]) >> 1));
        return;
    case IMG_PNG_FILTER_PAETH:
        for (size_t i = 0; i < bpp && i < n; i++)
            out[i] = (uint8_t)(cur[i] - prev[i]);   /* a = c = 0: the predictor is b */
        for (size_t i = bpp; i < n; i++)
            out[i] = (uint8_t)(cur[i] - paeth_predict(cur[i - bpp], prev[i], prev[i - bpp]));
        return;
    }
}

/* libpng's measure of how well a filtered row will compress: the sum of its bytes
 * read as signed values' magnitudes. */
static uint64_t filtered_cost(const uint8_t *row, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (uint64_t)abs((int)(int8_t)row[i]);
    return sum;
}

/* Writes the filter byte and the filtered row at out (n + 1 bytes). scratch holds
 * IMG_PNG_FILTER_PAETH rows of n bytes for the adaptive choice. */
static void filter_line(img_png_filter filter, uint8_t *out, const uint8_t *cur,
                        const uint8_t *prev, size_t n, size_t bpp, uint8_t *scratch)
{
    if (filter != IMG_PNG_FILTER_ADAPTIVE) {
        out[0] = (uint8_t)filter;
        filter_row(filter, out + 1, cur, prev, n, bpp);
        return;
    }
    /* none is tried in place (out + 1), the others in scratch; ties keep the lower type,
     * as libpng does. */
    memcpy(out + 1, cur, n);
    uint64_t best_cost = filtered_cost(cur, n);
    int best = IMG_PNG_FILTER_NONE;
    for (int f = IMG_PNG_FILTER_SUB; f <= IMG_PNG_FILTER_PAETH; f++) {
        uint8_t *row = scratch + (size_t)(f - 1) * n;
        filter_row((img_png_filter)f, row, cur, prev, n, bpp);
        const uint64_t cost = filtered_cost(row, n);
        if (cost < best_cost) {
            best_cost = cost;
            best = f;
        }
    }
    out[0] = (uint8_t)best;
    if (best != IMG_PNG_FILTER_NONE)
        memcpy(out + 1, scratch + (size_t)(best - 1) * n, n);
}

/* ---- the encoder's state ---- */

typedef struct band {
    int y0, y1;                   /* rows [y0, y1) */
    size_t start, length;         /* its filtered bytes in job.filtered */
    uint8_t *out;                 /* deflated bytes (zlib) */
    size_t out_len, out_cap;
    uint32_t adler;               /* of its filtered bytes */
    uint32_t crc;                 /* crc32 of out, for the IDAT chunk */
    int failed;                   /* 0, or a Z_* error / ENOMEM */
} band;

typedef struct job {
    const img_image *img;
    const img_png_encoding *enc;
    size_t row_bytes;             /* interleaved bytes per row */
    size_t stride;                /* 1 + row_bytes: one filtered line */
    uint8_t *filtered;            /* height * stride */
    band *bands;
    int band_count;
} job;

static void filter_band(void *arg, int index, int worker)
{
    (void)worker;
    job *j = arg;
    band *b = &j->bands[index];
    if (b->y0 == b->y1)
        return;
    const size_t n = j->row_bytes, bpp = (size_t)j->img->channels;
    const bool adaptive = j->enc->filter == IMG_PNG_FILTER_ADAPTIVE;
    /* prev, cur, and the four candidate rows of the adaptive choice. */
    uint8_t *rows = calloc(adaptive ? 6 : 2, n);
    if (!rows) {
        b->failed = ENOMEM;
        return;
    }
    uint8_t *prev = rows, *cur = rows + n, *scratch = rows + 2 * n;
    if (b->y0 > 0)
        img_interleave_row(j->img, b->y0 - 1, prev);
    for (int y = b->y0; y < b->y1; y++) {
        img_interleave_row(j->img, y, cur);
        filter_line(j->enc->filter, j->filtered + (size_t)y * j->stride, cur, prev, n, bpp,
                    scratch);
        uint8_t *t = prev;
        prev = cur;
        cur = t;
    }
    free(rows);
}

/* Grows b->out so that at least `more` bytes are free. */
static int band_reserve(band *b, size_t more)
{
    if (b->out_cap - b->out_len >= more)
        return 0;
    size_t cap = b->out_cap ? b->out_cap * 2 : 4096;
    while (cap - b->out_len < more)
        cap *= 2;
    uint8_t *grown = realloc(b->out, cap);
    if (!grown)
        return -1;
    b->out = grown;
    b->out_cap = cap;
    return 0;
}

static const int zlib_strategies[] = {Z_DEFAULT_STRATEGY, Z_FILTERED, Z_RLE};

/* Raw deflate of one band, primed with the data before it, ended on a byte boundary
 * (or finished, for the last band). */
static void deflate_band(void *arg, int index, int worker)
{
    (void)worker;
    job *j = arg;
    band *b = &j->bands[index];
    const bool last = index == j->band_count - 1;
    const uint8_t *data = j->filtered + b->start;
    z_stream z;
    memset(&z, 0, sizeof z);
    int rc = deflateInit2(&z, j->enc->level, Z_DEFLATED, -15, 8,
                          zlib_strategies[j->enc->strategy]);
    if (rc != Z_OK) {
        b->failed = rc;
        return;
    }
    if (b->start > 0) {
        const size_t dict = b->start < IMG_PNG_WINDOW ? b->start : IMG_PNG_WINDOW;
        rc = deflateSetDictionary(&z, data - dict, (uInt)dict);
    }
    /* deflateBound covers a finished stream; the sync marker and block ends add a few
     * bytes more, and the loop below grows the buffer if that ever falls short. */
    if (rc == Z_OK && band_reserve(b, deflateBound(&z, (uLong)b->length) + 64) != 0)
        rc = Z_MEM_ERROR;
    size_t left = b->length;
    uLong adler = adler32(0L, Z_NULL, 0);
    while (rc == Z_OK) {
        /* zlib counts in uInt: feed at most 1 GiB at a time. */
        const size_t chunk = left < (1u << 30) ? left : (1u << 30);
        adler = adler32(adler, data, (uInt)chunk);
        z.next_in = (Bytef *)data;
        z.avail_in = (uInt)chunk;
        data += chunk;
        left -= chunk;
        const int flush = left > 0 ? Z_NO_FLUSH : last ? Z_FINISH : Z_SYNC_FLUSH;
        for (;;) {
            if (band_reserve(b, 4096) != 0) {
                rc = Z_MEM_ERROR;
                break;
            }
            const size_t room = b->out_cap - b->out_len;
            z.next_out = b->out + b->out_len;
            z.avail_out = room < (1u << 30) ? (uInt)room : (1u << 30);
            const uInt before = z.avail_out;
            rc = deflate(&z, flush);
            b->out_len += before - z.avail_out;
            if (rc == Z_STREAM_END) {
                rc = Z_OK;
                break;
            }
            if (rc != Z_OK && rc != Z_BUF_ERROR)
                break;
            rc = Z_OK;
            /* Done with this input once zlib has room left over: everything it had to
             * write for the flush is out. */
            if (z.avail_in == 0 && z.avail_out > 0 && flush != Z_FINISH)
                break;
        }
        if (left == 0)
            break;
    }
    deflateEnd(&z);
    if (rc != Z_OK) {
        b->failed = rc;
        return;
    }
    b->adler = (uint32_t)adler;
    /* crc32 counts in uInt too. */
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t done = 0; done < b->out_len;) {
        const size_t chunk = b->out_len - done < (1u << 30) ? b->out_len - done : (1u << 30);
        crc = crc32(crc, b->out + done, (uInt)chunk);
        done += chunk;
    }
    b->crc = (uint32_t)crc;
}

/* ---- writing ---- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int write_bytes(FILE *fp, const void *data, size_t len)
{
    errno = 0;
    return len == 0 || fwrite(data, 1, len, fp) == len ? 0 : -1;
}

/* A whole chunk whose data is in memory. */
static int write_chunk(FILE *fp, const char type[4], const uint8_t *data, size_t len)
{
    uint8_t head[8], tail[4];
    put_be32(head, (uint32_t)len);
    memcpy(head + 4, type, 4);
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    if (len > 0)
        crc = crc32(crc, data, (uInt)len);
    put_be32(tail, (uint32_t)crc);
    return write_bytes(fp, head, 8) || write_bytes(fp, data, len) || write_bytes(fp, tail, 4);
}

/* An IDAT made of prefix (the zlib header), body and suffix (the Adler-32), either
 * possibly empty; body_crc is crc32 of the body, so the chunk's CRC is combined rather
 * than recomputed. */
static int write_idat(FILE *fp, const uint8_t *prefix, size_t prefix_len, const uint8_t *body,
                      size_t body_len, uint32_t body_crc, const uint8_t *suffix,
                      size_t suffix_len)
{
    uint8_t head[8], tail[4];
    put_be32(head, (uint32_t)(prefix_len + body_len + suffix_len));
    memcpy(head + 4, "IDAT", 4);
    uLong crc = crc32(0L, head + 4, 4);
    if (prefix_len)
        crc = crc32(crc, prefix, (uInt)prefix_len);
    crc = crc32_combine(crc, body_crc, (z_off_t)body_len);
    if (suffix_len)
        crc = crc32(crc, suffix, (uInt)suffix_len);
    put_be32(tail, (uint32_t)crc);
    return write_bytes(fp, head, 8) || write_bytes(fp, prefix, prefix_len) ||
           write_bytes(fp, body, body_len) || write_bytes(fp, suffix, suffix_len) ||
           write_bytes(fp, tail, 4);
}

/* Writes the zlib stream `zstream` (already with header and trailer) as IDAT chunks. */
static int write_idat_plain(FILE *fp, const uint8_t *zstream, size_t len)
{
    for (size_t done = 0; done < len;) {
        const size_t piece = len - done < IMG_PNG_IDAT_MAX ? len - done : IMG_PNG_IDAT_MAX;
        if (write_chunk(fp, "IDAT", zstream + done, piece) != 0)
            return -1;
        done += piece;
    }
    return 0;
}

static int write_head(FILE *fp, const img_image *img)
{
    static const uint8_t signature[IMG_PNG_SIGNATURE_SIZE] = {137, 80, 78, 71, 13, 10, 26, 10};
    static const uint8_t color_types[IMG_MAX_CHANNELS + 1] = {0, 0, 4, 2, 6};
    uint8_t ihdr[13];
    put_be32(ihdr, (uint32_t)img->width);
    put_be32(ihdr + 4, (uint32_t)img->height);
    ihdr[8] = 8;                            /* bits per sample */
    ihdr[9] = color_types[img->channels];
    ihdr[10] = 0;                           /* deflate */
    ihdr[11] = 0;                           /* adaptive filtering (per-row filter bytes) */
    ihdr[12] = 0;                           /* not interlaced */
    return write_bytes(fp, signature, sizeof signature) || write_chunk(fp, "IHDR", ihdr, 13);
}

/* The two-byte zlib header: deflate, 32 KiB window, FLEVEL from the level, FCHECK. */
static void zlib_header(int level, uint8_t out[2])
{
    const unsigned flevel = level <= 1 ? 0 : level <= 5 ? 1 : level == 6 ? 2 : 3;
    const unsigned cmf = 0x78, flg = flevel << 6;
    out[0] = (uint8_t)cmf;
    out[1] = (uint8_t)(flg + (31 - (cmf * 256 + flg) % 31));
}

/* The zlib bands as IDAT chunks. */
static int write_zlib_bands(FILE *fp, const job *j)
{
    uint8_t header[2], trailer[4];
    zlib_header(j->enc->level, header);
    uLong adler = adler32(0L, Z_NULL, 0);
    for (int i = 0; i < j->band_count; i++)
        adler = adler32_combine(adler, j->bands[i].adler, (z_off_t)j->bands[i].length);
    put_be32(trailer, (uint32_t)adler);
    for (int i = 0; i < j->band_count; i++) {
        const band *b = &j->bands[i];
        const bool first = i == 0, last = i == j->band_count - 1;
        if (b->out_len <= IMG_PNG_IDAT_MAX) {
            if (write_idat(fp, header, first ? 2 : 0, b->out, b->out_len, b->crc, trailer,
                           last ? 4 : 0) != 0)
                return -1;
            continue;
        }
        /* Rare: a band over 1 GiB (level 0 on a huge image) becomes several chunks. */
        if ((first && write_chunk(fp, "IDAT", header, 2) != 0) ||
            write_idat_plain(fp, b->out, b->out_len) != 0 ||
            (last && write_chunk(fp, "IDAT", trailer, 4) != 0))
            return -1;
    }
    return 0;
}

/* The whole filtered data through libdeflate in one call. */
static int write_libdeflate(FILE *fp, const job *j, const char *name, img_error *err)
{
    const size_t total = (size_t)j->img->height * j->stride;
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(j->enc->level);
    if (!c)
        return img_fail(err, "%s: PNG: out of memory", name);
    const size_t bound = libdeflate_zlib_compress_bound(c, total);
    uint8_t *out = malloc(bound);
    int rc = 0;
    if (!out)
        rc = img_fail(err, "%s: PNG: out of memory", name);
    size_t len = out ? libdeflate_zlib_compress(c, j->filtered, total, out, bound) : 0;
    if (rc == 0 && len == 0)
        rc = img_fail(err, "%s: PNG: libdeflate failed", name);
    if (rc == 0 && write_idat_plain(fp, out, len) != 0)
        rc = img_io_write_failed(name, errno, err);
    free(out);
    libdeflate_free_compressor(c);
    return rc;
}

static int check_encoding(const char *name, const img_image *img, const img_png_encoding *enc,
                          img_error *err)
{
    if (!img || img->channels < 1 || img->channels > IMG_MAX_CHANNELS || img->width < 1 ||
        img->height < 1)
        return img_fail(err, "%s: PNG: no image to encode", name);
    const int max_level = enc->deflater == IMG_PNG_DEFLATE_LIBDEFLATE ? 12 : 9;
    if (enc->level < 0 || enc->level > max_level)
        return img_fail(err, "%s: PNG: compression level %d is out of range (0 to %d)", name,
                        enc->level, max_level);
    if ((unsigned)enc->filter > IMG_PNG_FILTER_ADAPTIVE ||
        (unsigned)enc->strategy > IMG_PNG_STRATEGY_RLE || enc->bands < 0 || enc->threads < 0 ||
        enc->threads > IMG_POOL_MAX_THREADS)
        return img_fail(err, "%s: PNG: invalid encoding settings", name);
    return 0;
}

/* The bands and buffers of one encoding. The band split depends on the image and the
 * encoding only, never on the threads or on streaming, so every path writes the same
 * bytes. On failure the caller still calls job_free. */
static int job_init(job *j, const char *name, const img_image *img, const img_png_encoding *enc,
                    img_error *err)
{
    memset(j, 0, sizeof *j);
    j->img = img;
    j->enc = enc;
    if (check_encoding(name, img, enc, err) != 0)
        return -1;
    j->row_bytes = (size_t)img->width * (size_t)img->channels;
    j->stride = 1 + j->row_bytes;
    const size_t total = (size_t)img->height * j->stride;
    int count = enc->bands;
    if (count == 0) {
        const size_t automatic = (total + IMG_PNG_BAND_TARGET - 1) / IMG_PNG_BAND_TARGET;
        count = automatic < (size_t)img->height ? (int)automatic : img->height;
    }
    j->filtered = img_alloc_large(total, 64);   /* written once, by the filter pass */
    j->bands = calloc((size_t)count, sizeof *j->bands);
    if (!j->filtered || !j->bands)
        return img_fail(err, "%s: PNG: out of memory", name);
    j->band_count = count;
    /* Band i holds rows [i*h/count, (i+1)*h/count): as even as rows allow, and empty
     * bands (more bands than rows) are valid empty deflate blocks. */
    for (int i = 0; i < count; i++) {
        band *b = &j->bands[i];
        b->y0 = (int)((int64_t)img->height * i / count);
        b->y1 = (int)((int64_t)img->height * (i + 1) / count);
        b->start = (size_t)b->y0 * j->stride;
        b->length = (size_t)(b->y1 - b->y0) * j->stride;
    }
    return 0;
}

static void job_free(job *j)
{
    for (int i = 0; j->bands && i < j->band_count; i++)
        free(j->bands[i].out);
    free(j->bands);
    free(j->filtered);
    memset(j, 0, sizeof *j);
}

/* Once every band is filtered (and, for zlib, deflated): the failures, then the file. */
static int job_write(job *j, const char *name, FILE *fp, img_error *err)
{
    for (int i = 0; i < j->band_count; i++)
        if (j->bands[i].failed)
            return img_fail(err, "%s: PNG: %s", name,
                            j->bands[i].failed == ENOMEM || j->bands[i].failed == Z_MEM_ERROR
                                ? "out of memory"
                                : "deflate failed");
    if (write_head(fp, j->img) != 0)
        return img_io_write_failed(name, errno, err);
    if (j->enc->deflater == IMG_PNG_DEFLATE_ZLIB) {
        if (write_zlib_bands(fp, j) != 0)
            return img_io_write_failed(name, errno, err);
    } else if (write_libdeflate(fp, j, name, err) != 0) {
        return -1;
    }
    if (write_chunk(fp, "IEND", NULL, 0) != 0)
        return img_io_write_failed(name, errno, err);
    return 0;
}

int img_png_encode_stream(const char *name, FILE *fp, const img_image *img,
                          const img_png_encoding *enc, img_error *err)
{
    job j;
    img_pool *pool = NULL;
    int rc = -1;
    if (job_init(&j, name, img, enc, err) != 0)
        goto done;
    const int count = j.band_count;
    const int threads = enc->threads < count ? enc->threads : count;
    img_error inner;
    if (threads > 1 && img_pool_create(&pool, threads, &inner) != 0) {
        img_fail(err, "%s: PNG: %s", name, inner.message);
        goto done;
    }
    const bool banded_deflate = enc->deflater == IMG_PNG_DEFLATE_ZLIB;
    if (pool) {
        img_pool_run(pool, filter_band, &j, count);
        if (banded_deflate)
            img_pool_run(pool, deflate_band, &j, count);
    } else {
        for (int i = 0; i < count; i++)
            filter_band(&j, i, 0);
        for (int i = 0; banded_deflate && i < count; i++)
            deflate_band(&j, i, 0);
    }
    rc = job_write(&j, name, fp, err);
done:
    img_pool_destroy(pool);
    job_free(&j);
    return rc;
}

/* ---- encoding as rows arrive ---- */

struct img_png_stream {
    job j;
    img_png_encoding enc;   /* j.enc points here */
    int next_band;          /* bands before it are filtered (and deflated) */
};

int img_png_stream_begin(const char *name, const img_image *img, const img_png_encoding *enc,
                         img_png_stream **out, img_error *err)
{
    *out = NULL;
    img_png_stream *s = calloc(1, sizeof *s);
    if (!s)
        return img_fail(err, "%s: PNG: out of memory", name);
    s->enc = *enc;
    if (job_init(&s->j, name, img, &s->enc, err) != 0) {
        img_png_stream_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void img_png_stream_rows(img_png_stream *s, int rows)
{
    /* In band order: a band's filter reads the row above it, its deflate the filtered
     * bytes of the bands before it, both there once the earlier bands are done. */
    while (s->next_band < s->j.band_count && s->j.bands[s->next_band].y1 <= rows) {
        filter_band(&s->j, s->next_band, 0);
        if (s->enc.deflater == IMG_PNG_DEFLATE_ZLIB)
            deflate_band(&s->j, s->next_band, 0);
        s->next_band++;
    }
}

/* The bands from `first` on, as pool tasks 0, 1, ... */
typedef struct band_range {
    job *j;
    int first;
} band_range;

static void filter_band_in_range(void *arg, int index, int worker)
{
    band_range *r = arg;
    filter_band(r->j, r->first + index, worker);
}

static void deflate_band_in_range(void *arg, int index, int worker)
{
    band_range *r = arg;
    deflate_band(r->j, r->first + index, worker);
}

int img_png_stream_finish(img_png_stream *s, const char *name, FILE *fp, img_error *err)
{
    /* Every row is final now, so the bands left are independent work again: two batches
     * on enc->threads workers, as img_png_encode_stream runs them (same bytes). */
    band_range rest = {&s->j, s->next_band};
    const int left = s->j.band_count - s->next_band;
    const int threads = s->enc.threads < left ? s->enc.threads : left;
    img_pool *pool = NULL;
    img_error inner;
    if (threads > 1 && img_pool_create(&pool, threads, &inner) != 0)
        return img_fail(err, "%s: PNG: %s", name, inner.message);
    if (pool) {
        img_pool_run(pool, filter_band_in_range, &rest, left);
        if (s->enc.deflater == IMG_PNG_DEFLATE_ZLIB)
            img_pool_run(pool, deflate_band_in_range, &rest, left);
        img_pool_destroy(pool);
        s->next_band = s->j.band_count;
    } else {
        img_png_stream_rows(s, s->j.img->height);
    }
    return job_write(&s->j, name, fp, err);
}

void img_png_stream_free(img_png_stream *s)
{
    if (!s)
        return;
    job_free(&s->j);
    free(s);
}

typedef struct png_memory_call {
    const char *name;
    const img_image *img;
    const img_png_encoding *enc;
} png_memory_call;

static int png_memory_run(FILE *fp, void *ctx, img_error *err)
{
    const png_memory_call *c = ctx;
    return img_png_encode_stream(c->name, fp, c->img, c->enc, err);
}

int img_png_encode_memory(const char *name, const img_image *img, const img_png_encoding *enc,
                          uint8_t **data, size_t *size, img_error *err)
{
    png_memory_call call = {name, img, enc};
    return img_io_encode_to_memory(name, png_memory_run, &call, data, size, err);
}

/* ---- the codec entry (io_formats.h) ---- */

int img_png_encoding_for_options(const char *name, const img_write_options *options,
                                 img_png_encoding *enc, img_error *err)
{
    const int level = options->png_level_set ? options->png_level : img_png_default_level();
    if (img_png_encoding_for_level(level, options->threads, enc) != 0)
        return img_fail(err, "%s: PNG level %d is out of range (%d to %d)", name, level,
                        IMG_PNG_LEVEL_MIN, IMG_PNG_LEVEL_MAX);
    return 0;
}

int img_png_write_stream(const char *name, FILE *fp, const img_image *img,
                         const img_write_options *options, img_error *err)
{
    img_png_encoding enc;
    if (img_png_encoding_for_options(name, options, &enc, err) != 0)
        return -1;
    return img_png_encode_stream(name, fp, img, &enc, err);
}

/* The SIMD kernels, written once for every instruction-set level.
 *
 * Each stages_<level>.c defines
 *   IMG_SIMD_BITS    128, 256 or 512: the vector width the kernels use
 *   IMG_SIMD_SUFFIX  the token naming its init function (img_simd_init_<suffix>)
 *   IMG_SIMD_NAME    the level's name string
 *   IMG_SIMD_ICL     (optional, 512 bits) use AVX512-VNNI and AVX512-VBMI
 * and includes this file once; CMake compiles that file with the level's -m flags
 * (or SIMDE_NO_NATIVE for `portable`). The first section maps a small set of v_*
 * operations onto SIMDe at the chosen width; everything below it is width-agnostic.
 * Only kernels live here: the strip scheduler that strings them together has nothing
 * ISA-specific in it, so it is compiled once (schedule.c) and calls them through the
 * table, a row or a batch of rows per call.
 *
 * Arithmetic (all exact integer, see funcs.h and host/serial.c for the definitions):
 *   point      brightness: saturating add/sub; contrast: 128 + mulhrs((i-128)*64,
 *              2C) which is floor(((i-128)*C + 128) / 256); both clamp by saturation.
 *   blur h     u8 widened to int16 in an edge-replicated row; madd of adjacent tap
 *              pairs; even and odd outputs are separate accumulators so every load is
 *              a plain unaligned load. Accumulators start at 64 + 49152*128 so that
 *              the logical >>7 leaves h - 16384 in the low 16 bits (no arithmetic
 *              32-bit shift needed, which SIMDe 0.7.4 lacks at 512 bits).
 *   blur v     on rows h' = h - 16384: mirrored rows are added first (weights are
 *              symmetric), then pairs of terms are interleaved and madd'ed. The bias
 *              comes back as 16384 * (2^14 + 64) = 2^28 + 2^20 (the +2^20 rounding
 *              included), either as the accumulator start or as the partner of the
 *              last odd term. packs/packus clamp to 0..255.
 *   resize     2:1 in x: maddubs adds horizontal pairs, then (2048-fy, fy) madd; any
 *              other map: vertical interpolation of the source row to int32, then both
 *              neighbours of each output picked from a two-register window by a
 *              permute where a block of outputs reads a narrow span (256/512 bits),
 *              else by an int32 gather; weights by mullo.
 */
#ifndef IMG_SIMD_STAGES_TEMPLATE_H
#define IMG_SIMD_STAGES_TEMPLATE_H   /* once per translation unit: it defines functions */

#include <string.h>

#include "funcs.h"
#include "simd.h"

#if !defined(IMG_SIMD_BITS) || !defined(IMG_SIMD_SUFFIX) || !defined(IMG_SIMD_NAME)
#error "define IMG_SIMD_BITS, IMG_SIMD_SUFFIX and IMG_SIMD_NAME before including this file"
#endif

#define IMG_INLINE static inline __attribute__((always_inline))

/* ---------------------------------------------------------------------------------
 * The width layer.
 * ------------------------------------------------------------------------------- */
#if IMG_SIMD_BITS == 512
typedef simde__m512i vec;
#define VB 64
#define V_LD(p) simde_mm512_loadu_si512((const void *)(p))
#define V_ST(p, v) simde_mm512_storeu_si512((void *)(p), (v))
#define V_SET8(x) simde_mm512_set1_epi8((int8_t)(x))
#define V_SET16(x) simde_mm512_set1_epi16((int16_t)(x))
#define V_SET32(x) simde_mm512_set1_epi32((int32_t)(x))
#define V_ZERO() simde_mm512_setzero_si512()
#define V_ADD16(a, b) simde_mm512_add_epi16(a, b)
#define V_SUB16(a, b) simde_mm512_sub_epi16(a, b)
#define V_ADD32(a, b) simde_mm512_add_epi32(a, b)
#define V_SUB32(a, b) simde_mm512_sub_epi32(a, b)
#define V_SLLI16(a, n) simde_mm512_slli_epi16(a, n)
#define V_SRLI16(a, n) simde_mm512_srli_epi16(a, n)
#define V_SLLI32(a, n) simde_mm512_slli_epi32(a, n)
#define V_SRLI32(a, n) simde_mm512_srli_epi32(a, n)
#define V_ADDS_U8(a, b) simde_mm512_adds_epu8(a, b)
#define V_SUBS_U8(a, b) simde_mm512_subs_epu8(a, b)
#define V_MULHRS16(a, b) simde_mm512_mulhrs_epi16(a, b)
#define V_MAX16(a, b) simde_mm512_max_epi16(a, b)
#define V_MIN16(a, b) simde_mm512_min_epi16(a, b)
#define V_MADD16(a, b) simde_mm512_madd_epi16(a, b)
#define V_MADDUBS(a, b) simde_mm512_maddubs_epi16(a, b)
#define V_MULLO32(a, b) simde_mm512_mullo_epi32(a, b)
#define V_UNPACKLO8(a, b) simde_mm512_unpacklo_epi8(a, b)
#define V_UNPACKHI8(a, b) simde_mm512_unpackhi_epi8(a, b)
#define V_UNPACKLO16(a, b) simde_mm512_unpacklo_epi16(a, b)
#define V_UNPACKHI16(a, b) simde_mm512_unpackhi_epi16(a, b)
#define V_PACKS32(a, b) simde_mm512_packs_epi32(a, b)
#define V_PACKUS16(a, b) simde_mm512_packus_epi16(a, b)
/* Lanes of 16 bits: even from a, odd from b. */
#define V_BLEND_ODD16(a, b) simde_mm512_mask_blend_epi16(UINT32_C(0xAAAAAAAA), a, b)
/* Exchanges the two 16-bit halves of every 32-bit lane (see v_swap16 below). */
#define V_SWAP16_NATIVE(a) simde_mm512_rol_epi32(a, 16)
#define V_OR(a, b) simde_mm512_or_si512(a, b)
#if defined(SIMDE_X86_AVX512F_NATIVE)
#define IMG_SIMD_SWAP_NATIVE 1
#endif
#define V_AND(a, b) simde_mm512_and_si512(a, b)

/* packus(A, B) interleaves A and B per 128-bit lane; put the 64-bit halves back in
 * order A0 A1 A2 A3 B0 B1 B2 B3. */
IMG_INLINE vec v_fix64(vec v)
{
    return simde_mm512_permutexvar_epi64(simde_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), v);
}

/* packus(packs(s0, s1), packs(s2, s3)): restore s0 s1 s2 s3 order of 32-bit groups. */
IMG_INLINE vec v_fix32(vec v)
{
    return simde_mm512_permutexvar_epi32(
        simde_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), v);
}

/* VB/2 bytes zero-extended to int16 (SIMDe 0.7.4 has no 512-bit cvtepu8_epi16:
 * sign-extend and mask instead). */
IMG_INLINE vec v_ld_u8_i16(const uint8_t *p)
{
    return simde_mm512_and_si512(
        simde_mm512_cvtepi8_epi16(simde_mm256_loadu_si256((const void *)p)), V_SET16(0xFF));
}

/* VB/4 bytes zero-extended to int32. */
IMG_INLINE vec v_ld_u8_i32(const uint8_t *p)
{
    simde__m256i lo = simde_mm256_cvtepu8_epi32(simde_mm_loadl_epi64((const void *)p));
    simde__m256i hi = simde_mm256_cvtepu8_epi32(simde_mm_loadl_epi64((const void *)(p + 8)));
    return simde_mm512_inserti64x4(simde_mm512_castsi256_si512(lo), hi, 1);
}

/* 32-bit gather (two 256-bit gathers: SIMDe 0.7.4 has no 512-bit one). */
/* Lanes of the 32-entry window (w0, w1) selected by idx (0..31). */
#define IMG_SIMD_WINDOWS 1
IMG_INLINE vec v_window32(vec w0, vec w1, vec idx)
{
    return simde_mm512_permutex2var_epi32(w0, idx, w1);
}

IMG_INLINE vec v_gather32(const int32_t *base, vec idx)
{
    simde__m256i lo = simde_mm256_i32gather_epi32(base, simde_mm512_castsi512_si256(idx), 4);
    simde__m256i hi = simde_mm256_i32gather_epi32(base, simde_mm512_extracti64x4_epi64(idx, 1), 4);
    return simde_mm512_inserti64x4(simde_mm512_castsi256_si512(lo), hi, 1);
}

#elif IMG_SIMD_BITS == 256
typedef simde__m256i vec;
#define VB 32
#define V_LD(p) simde_mm256_loadu_si256((const void *)(p))
#define V_ST(p, v) simde_mm256_storeu_si256((void *)(p), (v))
#define V_SET8(x) simde_mm256_set1_epi8((int8_t)(x))
#define V_SET16(x) simde_mm256_set1_epi16((int16_t)(x))
#define V_SET32(x) simde_mm256_set1_epi32((int32_t)(x))
#define V_ZERO() simde_mm256_setzero_si256()
#define V_ADD16(a, b) simde_mm256_add_epi16(a, b)
#define V_SUB16(a, b) simde_mm256_sub_epi16(a, b)
#define V_ADD32(a, b) simde_mm256_add_epi32(a, b)
#define V_SUB32(a, b) simde_mm256_sub_epi32(a, b)
#define V_SLLI16(a, n) simde_mm256_slli_epi16(a, n)
#define V_SRLI16(a, n) simde_mm256_srli_epi16(a, n)
#define V_SLLI32(a, n) simde_mm256_slli_epi32(a, n)
#define V_SRLI32(a, n) simde_mm256_srli_epi32(a, n)
#define V_ADDS_U8(a, b) simde_mm256_adds_epu8(a, b)
#define V_SUBS_U8(a, b) simde_mm256_subs_epu8(a, b)
#define V_MULHRS16(a, b) simde_mm256_mulhrs_epi16(a, b)
#define V_MAX16(a, b) simde_mm256_max_epi16(a, b)
#define V_MIN16(a, b) simde_mm256_min_epi16(a, b)
#define V_MADD16(a, b) simde_mm256_madd_epi16(a, b)
#define V_MADDUBS(a, b) simde_mm256_maddubs_epi16(a, b)
#define V_MULLO32(a, b) simde_mm256_mullo_epi32(a, b)
#define V_UNPACKLO8(a, b) simde_mm256_unpacklo_epi8(a, b)
#define V_UNPACKHI8(a, b) simde_mm256_unpackhi_epi8(a, b)
#define V_UNPACKLO16(a, b) simde_mm256_unpacklo_epi16(a, b)
#define V_UNPACKHI16(a, b) simde_mm256_unpackhi_epi16(a, b)
#define V_PACKS32(a, b) simde_mm256_packs_epi32(a, b)
#define V_PACKUS16(a, b) simde_mm256_packus_epi16(a, b)
#define V_BLEND_ODD16(a, b) simde_mm256_blend_epi16(a, b, 0xAA)
#define V_SWAP16_NATIVE(a) simde_mm256_shuffle_epi8(a, simde_mm256_setr_epi8(2, 3, 0, 1, 6, 7, \
    4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13))
#define V_OR(a, b) simde_mm256_or_si256(a, b)
#if defined(SIMDE_X86_AVX2_NATIVE)
#define IMG_SIMD_SWAP_NATIVE 1
#endif
#define V_AND(a, b) simde_mm256_and_si256(a, b)

IMG_INLINE vec v_fix64(vec v)
{
    return simde_mm256_permute4x64_epi64(v, 0xD8);
}

IMG_INLINE vec v_fix32(vec v)
{
    return simde_mm256_permutevar8x32_epi32(v, simde_mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

IMG_INLINE vec v_ld_u8_i16(const uint8_t *p)
{
    return simde_mm256_cvtepu8_epi16(simde_mm_loadu_si128((const void *)p));
}

IMG_INLINE vec v_ld_u8_i32(const uint8_t *p)
{
    return simde_mm256_cvtepu8_epi32(simde_mm_loadl_epi64((const void *)p));
}

#define IMG_SIMD_WINDOWS 1
IMG_INLINE vec v_window32(vec w0, vec w1, vec idx)
{
    const vec lo = simde_mm256_permutevar8x32_epi32(w0, idx);
    const vec hi = simde_mm256_permutevar8x32_epi32(w1, idx);
    return simde_mm256_blendv_epi8(lo, hi, simde_mm256_cmpgt_epi32(idx, V_SET32(7)));
}

IMG_INLINE vec v_gather32(const int32_t *base, vec idx)
{
    return simde_mm256_i32gather_epi32(base, idx, 4);
}

#elif IMG_SIMD_BITS == 128
typedef simde__m128i vec;
#define VB 16
#define V_LD(p) simde_mm_loadu_si128((const void *)(p))
#define V_ST(p, v) simde_mm_storeu_si128((void *)(p), (v))
#define V_SET8(x) simde_mm_set1_epi8((int8_t)(x))
#define V_SET16(x) simde_mm_set1_epi16((int16_t)(x))
#define V_SET32(x) simde_mm_set1_epi32((int32_t)(x))
#define V_ZERO() simde_mm_setzero_si128()
#define V_ADD16(a, b) simde_mm_add_epi16(a, b)
#define V_SUB16(a, b) simde_mm_sub_epi16(a, b)
#define V_ADD32(a, b) simde_mm_add_epi32(a, b)
#define V_SUB32(a, b) simde_mm_sub_epi32(a, b)
#define V_SLLI16(a, n) simde_mm_slli_epi16(a, n)
#define V_SRLI16(a, n) simde_mm_srli_epi16(a, n)
#define V_SLLI32(a, n) simde_mm_slli_epi32(a, n)
#define V_SRLI32(a, n) simde_mm_srli_epi32(a, n)
#define V_ADDS_U8(a, b) simde_mm_adds_epu8(a, b)
#define V_SUBS_U8(a, b) simde_mm_subs_epu8(a, b)
#define V_MULHRS16(a, b) simde_mm_mulhrs_epi16(a, b)
#define V_MAX16(a, b) simde_mm_max_epi16(a, b)
#define V_MIN16(a, b) simde_mm_min_epi16(a, b)
#define V_MADD16(a, b) simde_mm_madd_epi16(a, b)
#define V_MADDUBS(a, b) simde_mm_maddubs_epi16(a, b)
#define V_MULLO32(a, b) simde_mm_mullo_epi32(a, b)
#define V_UNPACKLO8(a, b) simde_mm_unpacklo_epi8(a, b)
#define V_UNPACKHI8(a, b) simde_mm_unpackhi_epi8(a, b)
#define V_UNPACKLO16(a, b) simde_mm_unpacklo_epi16(a, b)
#define V_UNPACKHI16(a, b) simde_mm_unpackhi_epi16(a, b)
#define V_PACKS32(a, b) simde_mm_packs_epi32(a, b)
#define V_PACKUS16(a, b) simde_mm_packus_epi16(a, b)
#define V_BLEND_ODD16(a, b) simde_mm_blend_epi16(a, b, 0xAA)
#define V_SWAP16_NATIVE(a) simde_mm_shuffle_epi8(a, simde_mm_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, \
    10, 11, 8, 9, 14, 15, 12, 13))
#define V_OR(a, b) simde_mm_or_si128(a, b)
#if defined(SIMDE_X86_SSSE3_NATIVE)
#define IMG_SIMD_SWAP_NATIVE 1
#endif
#define V_AND(a, b) simde_mm_and_si128(a, b)

/* One 128-bit lane: packs and unpacks keep the order, nothing to fix. */
IMG_INLINE vec v_fix64(vec v)
{
    return v;
}

IMG_INLINE vec v_fix32(vec v)
{
    return v;
}

IMG_INLINE vec v_ld_u8_i16(const uint8_t *p)
{
    return simde_mm_cvtepu8_epi16(simde_mm_loadl_epi64((const void *)p));
}

IMG_INLINE vec v_ld_u8_i32(const uint8_t *p)
{
    return simde_mm_cvtepu8_epi32(simde_mm_loadu_si32((const void *)p));
}

IMG_INLINE vec v_gather32(const int32_t *base, vec idx)
{
    return simde_mm_i32gather_epi32(base, idx, 4);
}

#else
#error "IMG_SIMD_BITS must be 128, 256 or 512"
#endif

/* Swaps the 16-bit halves of each 32-bit lane: one shuffle/rotate natively; SIMDe's
 * portable byte shuffle is a slow scalar loop, so two shifts and an or otherwise. */
#ifdef IMG_SIMD_SWAP_NATIVE
#define V_SWAP16(a) V_SWAP16_NATIVE(a)
#else
#define V_SWAP16(a) V_OR(V_SLLI32(a, 16), V_SRLI32(a, 16))
#endif

/* acc + madd(a, b). With AVX512-VNNI one vpdpwssd; the sums never come near the
 * int32 limits (see prepare_blur in dispatch.c), so both forms are the same exact arithmetic. */
#if defined(IMG_SIMD_ICL)
#if IMG_SIMD_BITS != 512
#error "IMG_SIMD_ICL is a 512-bit level"
#endif
#define V_DPWSSD(acc, a, b) simde_mm512_dpwssd_epi32(acc, a, b)
#else
#define V_DPWSSD(acc, a, b) V_ADD32(acc, V_MADD16(a, b))
#endif

#define L16 (VB / 2)   /* int16 lanes */
#define L32 (VB / 4)   /* int32 lanes */

/* Stores the first n bytes of v (n >= 1); a whole vector when n >= VB. The partial
 * case goes through a stack copy so that no byte past n is ever written, whatever
 * the level (SIMDe 0.7.4 has no masked byte store), with the same vector arithmetic
 * as the full case. It runs once per row. */
IMG_INLINE void v_store_bytes(void *p, vec v, int n)
{
    if (n >= VB) {
        V_ST(p, v);
    } else {
        uint8_t buf[VB];
        V_ST(buf, v);
        memcpy(p, buf, (size_t)n);
    }
}

/* Accumulator start of the horizontal pass: the +64 rounding plus 49152 << 7, so
 * that (acc >> 7) mod 2^16 == h - 16384 with a logical shift (acc stays positive). */
#define IMG_SIMD_HACC_START (64 + 49152 * 128)
/* The vertical bias: sum_k W_k * 16384 = 2^28, plus the 2^20 rounding. */
#define IMG_SIMD_VACC_START ((1 << 28) + (1 << 20))
#define IMG_SIMD_VBIAS_VALUE 16384
#define IMG_SIMD_VBIAS_WEIGHT (16384 + 64)
_Static_assert(IMG_SIMD_VBIAS_VALUE * IMG_SIMD_VBIAS_WEIGHT == IMG_SIMD_VACC_START,
               "the bias pair must reproduce 2^28 + 2^20");

/* Width in pixels of the column chunks the vertical pass walks (see vblur_rows_impl). */
#define IMG_SIMD_VCHUNK 512
_Static_assert(IMG_SIMD_VCHUNK % IMG_SIMD_MAX_VECTOR == 0, "chunk of whole vectors");

/* ---------------------------------------------------------------------------------
 * Point stages.
 * ------------------------------------------------------------------------------- */

/* 128 + floor(((i - 128) * C + 128) / 256) for int16 lanes holding 0..255, without
 * the final clamp: mulhrs(a, b) = floor((a*b + 2^14) / 2^15) and a*b = 128 (i-128) C.
 * |a| <= 8192 and b = 2C <= 2048, so nothing saturates. */
IMG_INLINE vec contrast16(vec v, vec c2)
{
    return V_ADD16(V_MULHRS16(V_SUB16(V_SLLI16(v, 6), V_SET16(8192)), c2), V_SET16(128));
}

/* The point stages' parameters as vectors, built once per row in a local so that the
 * flags and constants stay in registers (stores through SIMDe may alias anything as
 * far as the compiler knows, which would otherwise reload them per vector). */
typedef struct point_vecs {
    bool bright_on, bright_neg, contrast_on;
    vec bright16, bright8, c2;
} point_vecs;

IMG_INLINE point_vecs point_setup(const img_simd_kernel *k)
{
    point_vecs pv;
    pv.bright_on = k->bright_on;
    pv.bright_neg = k->brightness < 0;
    pv.contrast_on = k->contrast_on;
    pv.bright16 = V_SET16(k->brightness);
    pv.bright8 = V_SET8(k->brightness < 0 ? -k->brightness : k->brightness);
    pv.c2 = V_SET16(2 * k->contrast_q8);
    return pv;
}

/* The enabled point stages on int16 lanes holding 0..255. */
IMG_INLINE vec point16(vec v, const point_vecs *pv)
{
    const vec zero = V_ZERO(), top = V_SET16(255);
    if (pv->bright_on)
        v = V_MIN16(V_MAX16(V_ADD16(v, pv->bright16), zero), top);
    if (pv->contrast_on)
        v = V_MIN16(V_MAX16(contrast16(v, pv->c2), zero), top);
    return v;
}

/* The enabled point stages on a vector of bytes. */
IMG_INLINE vec point8(vec v, const point_vecs *pv)
{
    if (pv->bright_on)
        v = pv->bright_neg ? V_SUBS_U8(v, pv->bright8) : V_ADDS_U8(v, pv->bright8);
    if (pv->contrast_on) {
        const vec zero = V_ZERO();
        /* unpack and packus work per 128-bit lane in the same order: no fix-up. */
        vec lo = contrast16(V_UNPACKLO8(v, zero), pv->c2);
        vec hi = contrast16(V_UNPACKHI8(v, zero), pv->c2);
        v = V_PACKUS16(lo, hi);
    }
    return v;
}

#ifdef IMG_SIMD_ICL
/* With VBMI the composed point table is four 64-byte registers: two two-table byte
 * permutes look up the low and high halves by the index's low 7 bits, and bit 7
 * picks one. Exactly the plan's tables, whatever the parameters. */
typedef struct lut_vecs {
    vec t0, t1, t2, t3;
} lut_vecs;

IMG_INLINE lut_vecs lut_setup(const img_simd_kernel *k)
{
    lut_vecs t;
    t.t0 = V_LD(k->point_lut);
    t.t1 = V_LD(k->point_lut + 64);
    t.t2 = V_LD(k->point_lut + 128);
    t.t3 = V_LD(k->point_lut + 192);
    return t;
}

IMG_INLINE vec lut8(vec v, const lut_vecs *t)
{
    const vec lo = simde_mm512_permutex2var_epi8(t->t0, v, t->t1);
    const vec hi = simde_mm512_permutex2var_epi8(t->t2, v, t->t3);
    return simde_mm512_mask_blend_epi8(simde_mm512_movepi8_mask(v), lo, hi);
}

/* 64 bytes to two int16 vectors in order: put qwords (k, k+4) in lane k, then the
 * in-lane unpacks yield bytes 0..31 and 32..63. */
IMG_INLINE void widen8(vec v, vec *lo, vec *hi)
{
    const vec p = simde_mm512_permutexvar_epi64(simde_mm512_setr_epi64(0, 4, 1, 5, 2, 6, 3, 7), v);
    *lo = V_UNPACKLO8(p, V_ZERO());
    *hi = V_UNPACKHI8(p, V_ZERO());
}
#endif

static void point_rows(uint8_t *dst, ptrdiff_t dst_stride, const uint8_t *src,
                       ptrdiff_t src_stride, int w, int h, const img_simd_kernel *k)
{
#ifdef IMG_SIMD_ICL
    const lut_vecs t = lut_setup(k);
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + y * src_stride;
        uint8_t *d = dst + y * dst_stride;
        for (int x = 0; x < w; x += VB)
            v_store_bytes(d + x, lut8(V_LD(s + x), &t), w - x);
    }
#else
    const point_vecs pv = point_setup(k);
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + y * src_stride;
        uint8_t *d = dst + y * dst_stride;
        for (int x = 0; x < w; x += VB)
            v_store_bytes(d + x, point8(V_LD(s + x), &pv), w - x);
    }
#endif
}

/* ---------------------------------------------------------------------------------
 * Horizontal blur.
 * ------------------------------------------------------------------------------- */

static int align_up(int v, int a)
{
    return (v + a - 1) / a * a;
}

/* Widens (and point-ops) one source row into pp so that pp[j] = row[clamp(j - r)]
 * for j in [0, align_up(w, L16) + 2r + L16): the inner loop then needs no clamp. pp
 * must have L16 writable elements before it (the left edge is stored backwards from
 * pp + r in whole vectors). next, when not NULL, is the row that will come next: the
 * source streams from memory and a row is about one 4 KiB page, where the hardware
 * prefetcher stops, so it is prefetched alongside. */
IMG_INLINE void pad_body(int16_t *body, const uint8_t *src, const uint8_t *next, int w,
                         bool point, const img_simd_kernel *k)
{
#ifdef IMG_SIMD_ICL
    if (point) {
        /* Whole 64-byte vectors: reads stay within align_up(w, 64) and the writes within
         * the pad buffer, which has a vector of overshoot. */
        const lut_vecs t = lut_setup(k);
        for (int x = 0; x < w; x += VB) {
            if (next)
                simde_mm_prefetch((const char *)(next + x), SIMDE_MM_HINT_T0);
            vec lo, hi;
            widen8(lut8(V_LD(src + x), &t), &lo, &hi);
            V_ST(body + x, lo);
            V_ST(body + x + L16, hi);
        }
        return;
    }
#endif
    const point_vecs pv = point_setup(k);
    for (int x = 0; x < w; x += L16) {
        if (next)
            simde_mm_prefetch((const char *)(next + x), SIMDE_MM_HINT_T0);
        const vec v = v_ld_u8_i16(src + x);
        V_ST(body + x, point ? point16(v, &pv) : v);
    }
}

static void build_pad(int16_t *pp, const uint8_t *src, const uint8_t *next, int w, int r,
                      bool point, const img_simd_kernel *k)
{
    int16_t *body = pp + r;
    if (point)
        pad_body(body, src, next, w, true, k);
    else
        pad_body(body, src, next, w, false, k);
    /* The edges replicate what the body holds, so they carry the point op too. The
     * body's last vector may have written past w: the right edge overwrites it. */
    const vec left = V_SET16(body[0]);
    for (int j = r - L16; j > -L16; j -= L16)
        V_ST(pp + j, left);
    const vec right = V_SET16(body[w - 1]);
    const int end = align_up(w, L16) + 2 * r;   /* last index the taps read */
    for (int j = r + w; j <= end; j += L16)
        V_ST(pp + j, right);
}

/* One row: out[x] = sum_j W[j] * pp[x + j], j in [0, 2r], as madd on tap pairs. A
 * load at pp + x + 2j holds, in 32-bit lane i, the pixels x+2i+2j and x+2i+2j+1:
 * taps (2j, 2j+1) of the even output x + 2i and taps (2j-1, 2j) of the odd output
 * x + 2i + 1. So r + 1 loads serve both accumulators, each with its own weight
 * pairs (h_w: even, h_wo: odd, W[-1] = W[2r+1] = 0). */
IMG_INLINE void hblur_row_impl(int16_t *dst, const int16_t *pp, int w,
                               const img_simd_kernel *k, const int np)
{
    /* Weights in registers: the stores below may alias anything as far as the compiler
     * knows, so it would otherwise reload them for every vector. */
    vec we[IMG_BLUR_MAX_RADIUS + 1], wo[IMG_BLUR_MAX_RADIUS + 1];
    for (int j = 0; j < np; j++) {
        we[j] = V_SET32(k->h_w[j]);
        wo[j] = V_SET32(k->h_wo[j]);
    }
    const vec start = V_SET32(IMG_SIMD_HACC_START);
    for (int x = 0; x < w; x += L16) {
        const int16_t *p = pp + x;
        vec e = start, o = start;
        for (int j = 0; j < np; j++) {
            const vec v = V_LD(p + 2 * j);
            e = V_DPWSSD(e, v, we[j]);
            o = V_DPWSSD(o, v, wo[j]);
        }
        /* even: low 16 bits of e >> 7; odd: (o >> 7) << 16 == o << 9 in the high half */
        const vec h = V_BLEND_ODD16(V_SRLI32(e, 7), V_SLLI32(o, 9));
        v_store_bytes(dst + x, h, 2 * (w - x));
    }
}

/* The same with symmetric weights (W[t] == W[2r-t]): a tap pair and its mirror image
 * are added before the multiply, so 13 taps take 4 madds per accumulator instead of 7.
 * The mirror load at pp + b + 2r - 2j - 1 holds (pixel 2r-2j-1, pixel 2r-2j) per lane;
 * swapping the halves lines it up with (2j, 2j+1). The centre tap r stands alone
 * (weights (W[r], 0)) when r is even, or shares a lane with tap r-1 (whose mirror r+1
 * is added in the low half only) when r is odd. Every int16 sum is at most 510. */
IMG_INLINE vec hsym_acc(const int16_t *p, const vec *ws, const vec lo_mask, const int r)
{
    vec acc = V_SET32(IMG_SIMD_HACC_START);
    int j = 0;
    for (; 2 * j + 1 < r; j++) {
        const vec pair = V_ADD16(V_LD(p + 2 * j), V_SWAP16(V_LD(p + 2 * r - 2 * j - 1)));
        acc = V_DPWSSD(acc, pair, ws[j]);
    }
    if (r % 2 == 0) {
        acc = V_DPWSSD(acc, V_LD(p + r), ws[j]);
    } else {
        const vec pair = V_ADD16(V_LD(p + r - 1), V_AND(V_SWAP16(V_LD(p + r)), lo_mask));
        acc = V_DPWSSD(acc, pair, ws[j]);
    }
    return acc;
}

IMG_INLINE void hblur_row_sym_impl(int16_t *dst, const int16_t *pp, int w,
                                   const img_simd_kernel *k, const int r)
{
    vec ws[IMG_BLUR_MAX_RADIUS / 2 + 1];
    for (int j = 0; j <= r / 2; j++)
        ws[j] = V_SET32(k->h_ws[j]);
    const vec lo_mask = V_SET32(0xFFFF);
    for (int x = 0; x < w; x += L16) {
        const vec e = hsym_acc(pp + x, ws, lo_mask, r);
        const vec o = hsym_acc(pp + x + 1, ws, lo_mask, r);
        const vec h = V_BLEND_ODD16(V_SRLI32(e, 7), V_SLLI32(o, 9));
        v_store_bytes(dst + x, h, 2 * (w - x));
    }
}

/* Whether symmetric weights use the mirrored-pair kernel: it trades 3 madds for 3
 * loads + 3 swaps per accumulator, a clear win at 128 and 256 bits, a loss at 512 bits
 * where one 64-byte load per cycle becomes the limit (measured on Zen 4, with and
 * without VNNI). -DIMG_SIMD_HSYM=0/1 overrides it for such measurements. */
#ifndef IMG_SIMD_HSYM
#if IMG_SIMD_BITS == 512
#define IMG_SIMD_HSYM 0
#else
#define IMG_SIMD_HSYM 1
#endif
#endif
#define IMG_SIMD_HCASE(R)                                                                  \
    static void hblur_row_##R(int16_t *dst, const int16_t *pp, int w,                     \
                              const img_simd_kernel *k)                                    \
    {                                                                                      \
        if (IMG_SIMD_HSYM && k->symmetric)                                                 \
            hblur_row_sym_impl(dst, pp, w, k, R);                                          \
        else                                                                               \
            hblur_row_impl(dst, pp, w, k, R + 1);                                          \
    }
/* Unrolled for the common radii 1..12 (sigma up to 4); others take the loop. */
IMG_SIMD_HCASE(1)
IMG_SIMD_HCASE(2)
IMG_SIMD_HCASE(3)
IMG_SIMD_HCASE(4)
IMG_SIMD_HCASE(5)
IMG_SIMD_HCASE(6)
IMG_SIMD_HCASE(7)
IMG_SIMD_HCASE(8)
IMG_SIMD_HCASE(9)
IMG_SIMD_HCASE(10)
IMG_SIMD_HCASE(11)
IMG_SIMD_HCASE(12)

static void hblur_row_any(int16_t *dst, const int16_t *pp, int w, const img_simd_kernel *k)
{
    if (IMG_SIMD_HSYM && k->symmetric)
        hblur_row_sym_impl(dst, pp, w, k, k->radius);
    else
        hblur_row_impl(dst, pp, w, k, k->h_pairs);
}

typedef void (*hblur_row_fn)(int16_t *, const int16_t *, int, const img_simd_kernel *);

static hblur_row_fn hblur_row_for(const img_simd_kernel *k)
{
    switch (k->radius) {
    case 1: return hblur_row_1;
    case 2: return hblur_row_2;
    case 3: return hblur_row_3;
    case 4: return hblur_row_4;
    case 5: return hblur_row_5;
    case 6: return hblur_row_6;
    case 7: return hblur_row_7;
    case 8: return hblur_row_8;
    case 9: return hblur_row_9;
    case 10: return hblur_row_10;
    case 11: return hblur_row_11;
    case 12: return hblur_row_12;
    default: return hblur_row_any;
    }
}

static void blur_h_row(int16_t *dst, const uint8_t *src, const uint8_t *next, int w,
                       bool point, const img_simd_kernel *k, img_simd_scratch *s)
{
    build_pad(s->pad, src, next, w, k->radius, point, k);
    hblur_row_for(k)(dst, s->pad, w, k);
}

static void blur_h_rows(int16_t *dst, ptrdiff_t dst_stride, const uint8_t *src,
                        ptrdiff_t src_stride, int w, int h, bool point,
                        const img_simd_kernel *k, img_simd_scratch *s)
{
    for (int y = 0; y < h; y++)
        blur_h_row(dst + y * dst_stride, src + y * src_stride, NULL, w, point, k, s);
}

/* ---------------------------------------------------------------------------------
 * Vertical blur.
 * ------------------------------------------------------------------------------- */

/* Term m of output row rr: symmetric: m == 0 is the centre row, m > 0 the sum of the
 * rows m above and below (each in [-16384, 16256], so the sum fits int16); otherwise
 * term m is row m itself. */
IMG_INLINE vec vterm(const int16_t *const *rr, int m, int r, bool sym, ptrdiff_t x)
{
    if (!sym)
        return V_LD(rr[m] + x);
    if (m == 0)
        return V_LD(rr[r] + x);
    return V_ADD16(V_LD(rr[r - m] + x), V_LD(rr[r + m] + x));
}

/* VB output bytes at column x of the output row whose 2r+1 source rows are rr. */
IMG_INLINE vec vblur_vec(const int16_t *const *rr, ptrdiff_t x, const vec *ww, const int r,
                         const bool sym)
{
    const int nt = sym ? r + 1 : 2 * r + 1;
    const int np = nt / 2;
    const vec start = V_SET32((nt & 1) ? 0 : IMG_SIMD_VACC_START);
    vec alo = start, ahi = start, blo = start, bhi = start;
    for (int p = 0; p < np; p++) {
        const vec wv = ww[p];
        const vec a0 = vterm(rr, 2 * p, r, sym, x), a1 = vterm(rr, 2 * p + 1, r, sym, x);
        const vec b0 = vterm(rr, 2 * p, r, sym, x + L16);
        const vec b1 = vterm(rr, 2 * p + 1, r, sym, x + L16);
        alo = V_DPWSSD(alo, V_UNPACKLO16(a0, a1), wv);
        ahi = V_DPWSSD(ahi, V_UNPACKHI16(a0, a1), wv);
        blo = V_DPWSSD(blo, V_UNPACKLO16(b0, b1), wv);
        bhi = V_DPWSSD(bhi, V_UNPACKHI16(b0, b1), wv);
    }
    if (nt & 1) {
        /* The last term's partner is the constant 16384 with weight 16448: the bias. */
        const vec wv = ww[np], one = V_SET16(IMG_SIMD_VBIAS_VALUE);
        const vec a0 = vterm(rr, nt - 1, r, sym, x), b0 = vterm(rr, nt - 1, r, sym, x + L16);
        alo = V_DPWSSD(alo, V_UNPACKLO16(a0, one), wv);
        ahi = V_DPWSSD(ahi, V_UNPACKHI16(a0, one), wv);
        blo = V_DPWSSD(blo, V_UNPACKLO16(b0, one), wv);
        bhi = V_DPWSSD(bhi, V_UNPACKHI16(b0, one), wv);
    }
    /* The sums are positive for h in [0, 32640] and non-negative weights, so the
     * logical shift is the spec's arithmetic one; packs/packus clamp to 0..255. */
    const vec a = V_PACKS32(V_SRLI32(alo, 21), V_SRLI32(ahi, 21));
    const vec b = V_PACKS32(V_SRLI32(blo, 21), V_SRLI32(bhi, 21));
    return v_fix64(V_PACKUS16(a, b));
}

/* Column chunks outside, rows inside: the chunk of the n + 2r source rows stays in
 * L1 while the n output rows read it. */
IMG_INLINE void vblur_rows_impl(uint8_t *const *dst, int n, const int16_t *const *rows, int w,
                                const img_simd_kernel *k, const int r, const bool sym)
{
    /* Weight pairs in registers (see hblur_row_impl). */
    vec ww[IMG_BLUR_MAX_RADIUS + 1];
    for (int p = 0; p < (sym ? r + 2 : 2 * r + 2) / 2; p++)
        ww[p] = V_SET32(k->v_w[p]);
    for (int x0 = 0; x0 < w; x0 += IMG_SIMD_VCHUNK) {
        const int x1 = w - x0 < IMG_SIMD_VCHUNK ? w : x0 + IMG_SIMD_VCHUNK;
        for (int i = 0; i < n; i++) {
            /* A local copy of the row pointers: the compiler cannot keep rows[] in
             * registers across the stores otherwise. */
            const int16_t *rr[2 * IMG_BLUR_MAX_RADIUS + 1];
            for (int j = 0; j <= 2 * r; j++)
                rr[j] = rows[i + j];
            uint8_t *d = dst[i];
            for (int x = x0; x < x1; x += VB)
                v_store_bytes(d + x, vblur_vec(rr, x, ww, r, sym), w - x);
        }
    }
}

#define IMG_SIMD_VCASE(R)                                                                  \
    static void vblur_rows_##R(uint8_t *const *dst, int n, const int16_t *const *rows,     \
                               int w, const img_simd_kernel *k)                            \
    {                                                                                      \
        if (k->symmetric)                                                                  \
            vblur_rows_impl(dst, n, rows, w, k, R, true);                                  \
        else                                                                               \
            vblur_rows_impl(dst, n, rows, w, k, R, false);                                 \
    }
IMG_SIMD_VCASE(1)
IMG_SIMD_VCASE(2)
IMG_SIMD_VCASE(3)
IMG_SIMD_VCASE(4)
IMG_SIMD_VCASE(5)
IMG_SIMD_VCASE(6)
IMG_SIMD_VCASE(7)
IMG_SIMD_VCASE(8)
IMG_SIMD_VCASE(9)
IMG_SIMD_VCASE(10)
IMG_SIMD_VCASE(11)
IMG_SIMD_VCASE(12)

static void blur_v_rows(uint8_t *const *dst, int n, const int16_t *const *rows, int w,
                        const img_simd_kernel *k)
{
    switch (k->radius) {
    case 1: vblur_rows_1(dst, n, rows, w, k); break;
    case 2: vblur_rows_2(dst, n, rows, w, k); break;
    case 3: vblur_rows_3(dst, n, rows, w, k); break;
    case 4: vblur_rows_4(dst, n, rows, w, k); break;
    case 5: vblur_rows_5(dst, n, rows, w, k); break;
    case 6: vblur_rows_6(dst, n, rows, w, k); break;
    case 7: vblur_rows_7(dst, n, rows, w, k); break;
    case 8: vblur_rows_8(dst, n, rows, w, k); break;
    case 9: vblur_rows_9(dst, n, rows, w, k); break;
    case 10: vblur_rows_10(dst, n, rows, w, k); break;
    case 11: vblur_rows_11(dst, n, rows, w, k); break;
    case 12: vblur_rows_12(dst, n, rows, w, k); break;
    default:
        if (k->symmetric)
            vblur_rows_impl(dst, n, rows, w, k, k->radius, true);
        else
            vblur_rows_impl(dst, n, rows, w, k, k->radius, false);
        break;
    }
}

/* ---------------------------------------------------------------------------------
 * Resize.
 * ------------------------------------------------------------------------------- */

/* Sums of horizontally adjacent bytes of VB bytes at p: L16 int16 in [0, 510]. */
IMG_INLINE vec pair_sums(const uint8_t *p)
{
    return V_MADDUBS(V_LD(p), V_SET8(1));
}

/* 2:1 in x (frac 1024): out = ((2048-fy)(a+b) + fy(c+d) + 2^11) >> 12, which is the
 * spec's formula with the common factor 1024 taken out exactly. L16 outputs at x. */
IMG_INLINE vec half_unit(const uint8_t *r0, const uint8_t *r1, int x, vec wv)
{
    const vec s0 = pair_sums(r0 + 2 * x), s1 = pair_sums(r1 + 2 * x);
    const vec rnd = V_SET32(1 << 11);
    const vec lo = V_SRLI32(V_ADD32(V_MADD16(V_UNPACKLO16(s0, s1), wv), rnd), 12);
    const vec hi = V_SRLI32(V_ADD32(V_MADD16(V_UNPACKHI16(s0, s1), wv), rnd), 12);
    return V_PACKS32(lo, hi);
}

/* fy == 1024 too: (a + b + c + d + 2) >> 2. */
IMG_INLINE vec quarter_unit(const uint8_t *r0, const uint8_t *r1, int x)
{
    return V_SRLI16(V_ADD16(V_ADD16(pair_sums(r0 + 2 * x), pair_sums(r1 + 2 * x)), V_SET16(2)),
                    2);
}

/* One output row from source rows r0 (weight 2048 - fy) and r1 (fy). */
static void resize_row(uint8_t *dst, const uint8_t *r0, const uint8_t *r1, int fy,
                       const img_simd_kernel *k, img_simd_scratch *s)
{
    int32_t *tmp = s->vtmp;
    const int ow = k->out_w;
    if (k->x_half) {
        /* A unit reads 2 * L16 source bytes; units start below ow, so the reads end
         * by align_up(2 * ow, VB) <= align_up(in_w, 64). */
        if (fy == IMG_RESIZE_ONE / 2) {
            for (int x = 0; x < ow; x += VB) {
                const vec a = quarter_unit(r0, r1, x);
                const vec b = x + L16 < ow ? quarter_unit(r0, r1, x + L16) : a;
                v_store_bytes(dst + x, v_fix64(V_PACKUS16(a, b)), ow - x);
            }
        } else {
            const vec wv = V_SET32((uint32_t)(IMG_RESIZE_ONE - fy) | (uint32_t)fy << 16);
            for (int x = 0; x < ow; x += VB) {
                const vec a = half_unit(r0, r1, x, wv);
                const vec b = x + L16 < ow ? half_unit(r0, r1, x + L16, wv) : a;
                v_store_bytes(dst + x, v_fix64(V_PACKUS16(a, b)), ow - x);
            }
        }
        return;
    }

    /* Any map: (2048-fx)(2048-fy)a + ... == (2048-fx) v[i0] + fx v[i1] with
     * v = (2048-fy) r0 + fy r1 = 2048 r0 + fy (r1 - r0) <= 2048 * 255, exact. */
    const int w = k->in_w;
    const vec f = V_SET32(fy);
    for (int x = 0; x < w; x += L32) {
        const vec a = v_ld_u8_i32(r0 + x), c = v_ld_u8_i32(r1 + x);
        V_ST(tmp + x, V_ADD32(V_SLLI32(a, 11), V_MULLO32(V_SUB32(c, a), f)));
    }
    const vec one = V_SET32(IMG_RESIZE_ONE), rnd = V_SET32(1 << 21);
#ifdef IMG_SIMD_WINDOWS
    const int32_t *win = L32 == 16 ? k->x_win16 : k->x_win8;
#endif
    for (int x = 0; x < ow; x += VB) {
        vec s[4];
        for (int u = 0; u < 4; u++) {
            const int xx = x + u * L32;
            /* The x arrays are padded with index 0 / frac 0 to whole vectors. */
            const vec fx = V_LD(k->x_frac + xx), i0 = V_LD(k->x_i0 + xx);
            const vec i1 = V_LD(k->x_i1 + xx);
            vec a, b;
#ifdef IMG_SIMD_WINDOWS
            /* Upscales and mild downscales read a narrow span per block: two loads and
             * register permutes instead of gathers. tmp has slack past the row for
             * the window (read, never used). */
            const int32_t base = win[xx / L32];
            if (base >= 0) {
                const vec w0 = V_LD(tmp + base), w1 = V_LD(tmp + base + L32), bv = V_SET32(base);
                a = v_window32(w0, w1, V_SUB32(i0, bv));
                b = v_window32(w0, w1, V_SUB32(i1, bv));
            } else
#endif
            {
                a = v_gather32(tmp, i0);
                b = v_gather32(tmp, i1);
            }
            /* <= 2048 * 2048 * 255 + 2^21 < 2^31 */
            const vec sum = V_ADD32(V_ADD32(V_MULLO32(a, V_SUB32(one, fx)), V_MULLO32(b, fx)), rnd);
            s[u] = V_SRLI32(sum, 22);
        }
        const vec out = V_PACKUS16(V_PACKS32(s[0], s[1]), V_PACKS32(s[2], s[3]));
        v_store_bytes(dst + x, v_fix32(out), ow - x);
    }
}

static void resize_rows(uint8_t *dst, ptrdiff_t dst_stride, const uint8_t *src,
                        ptrdiff_t src_stride, int y0, int y1, const img_simd_kernel *k,
                        img_simd_scratch *s)
{
    for (int y = y0; y < y1; y++)
        resize_row(dst + y * dst_stride, src + k->y_i0[y] * src_stride,
                   src + k->y_i1[y] * src_stride, k->y_frac[y], k, s);
}

/* Twelve chains: enough to cover the multiply-add's latency (5 cycles) at two issues
 * per cycle, so the loop measures throughput, not latency. */
#define MADD_CHAINS 12

static uint64_t madd_peak(uint64_t rounds, const int16_t *zero, int32_t *sink)
{
    const vec w = V_LD(zero);
    vec acc[MADD_CHAINS];
    for (int c = 0; c < MADD_CHAINS; c++)
        acc[c] = V_SET32(c + 1);
    for (uint64_t i = 0; i < rounds; i++)
        for (int c = 0; c < MADD_CHAINS; c++)
            acc[c] = V_DPWSSD(acc[c], acc[c], w);
    int32_t lanes[L32];
    int32_t sum = 0;
    for (int c = 0; c < MADD_CHAINS; c++) {
        V_ST(lanes, acc[c]);
        sum += lanes[c % L32];
    }
    *sink = sum;
    return rounds * MADD_CHAINS * (uint64_t)L16;
}

#define IMG_SIMD_PASTE2(a, b) a##b
#define IMG_SIMD_PASTE(a, b) IMG_SIMD_PASTE2(a, b)

void IMG_SIMD_PASTE(img_simd_init_, IMG_SIMD_SUFFIX)(img_simd_funcs *f)
{
    f->name = IMG_SIMD_NAME;
    f->vector_bytes = VB;
    f->point_rows = point_rows;
    f->blur_h_row = blur_h_row;
    f->blur_h_rows = blur_h_rows;
    f->blur_v_rows = blur_v_rows;
    f->resize_row = resize_row;
    f->resize_rows = resize_rows;
    f->madd_peak = madd_peak;
#if !defined(SIMDE_X86_SSE2_NATIVE)
    f->madd_instruction = "madd + add in SIMDe's plain C";
#elif defined(IMG_SIMD_ICL)
    f->madd_instruction = "vpdpwssd";
#elif IMG_SIMD_BITS == 128
    f->madd_instruction = "pmaddwd + paddd";
#else
    f->madd_instruction = "vpmaddwd + vpaddd";
#endif
}

#endif

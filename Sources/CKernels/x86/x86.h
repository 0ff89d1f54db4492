/* What the x86-64 kernel files share: the AVX2 helpers (decoding a 32-weight block, the 8-lane
 * sum) that each level's bodies inline. AVX2-targeted, so a file built for a wider level inlines
 * them too (a callee's target features are a subset of its caller's). */
#ifndef CK_X86_H
#define CK_X86_H
#include "../internal.h"
#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))

/* The 8-lane horizontal sum whose order, ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), is also
 * llama.cpp's (sgemm tiles, softmax groups, and the quantized dot products). */
AVX2 static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* The sum of eight int32 lanes (exact). */
AVX2 static inline int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

/* The sums of four vectors' int32 lanes, one per lane of the result (exact). */
AVX2 static inline __m128i hsum4_i32(__m256i v0, __m256i v1, __m256i v2, __m256i v3) {
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1), _mm256_hadd_epi32(v2, v3));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

/* How far ahead of the block being read a one-token (decode) pass prefetches its weights. With
 * one token the weights stream from memory once and the arithmetic per byte is small, so the
 * hardware prefetcher alone leaves the core waiting: measured on this Zen 3 streaming 57 MB,
 * prefetching 3 KB ahead moved Q8_0 from 6.6–8.1 to 9.1–11.0 GB/s, packed Q4_0 from 7.4–7.6 to
 * 9.4–9.7 and F16 from 5.7–9.0 to 7.7–10.1 (1.5 KB and 6 KB ahead did less). Prefill reads
 * weights that sit in cache and does not prefetch. */
#define CK_AHEAD 3072

AVX2 static inline float h16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/* 32 nibbles: low nibbles in the low 128-bit lane (elements 0-15), high nibbles above. */
AVX2 static inline __m256i nibbles(const uint8_t *qs) {
    const __m128i t = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0f));
}

/* Byte j = 0x10 when bit j of the 32-bit field is set. */
AVX2 static inline __m256i fifth_bits(const uint8_t *qh) {
    uint32_t x;
    memcpy(&x, qh, 4);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x),
        _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL, 0x0101010101010101LL, 0));
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

/* Sum over 32 lanes of u * s (u unsigned ≤ 127, s signed), as 8 float partial sums. */
AVX2 static inline __m256 dot_u8_i8(__m256i u, __m256i s) {
    const __m256i p16 = _mm256_maddubs_epi16(u, s);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

typedef struct { __m256i q; float d, m; } wblock;

/* Decodes weight block b of a row: q as the unsigned operand (absolute values for the signed
 * types, whose signs are moved onto the activation), d and m the scales. */
AVX2 static inline __attribute__((always_inline)) wblock decode(const int type, const uint8_t *w, int b) {
    wblock r;
    r.m = 0;
    const uint8_t *p = w + ck_block_bytes(type) * b;
    r.d = h16(p);
    switch (type) {
    case CK_Q4_0: r.q = _mm256_sub_epi8(nibbles(p + offsetof(block_q4_0, qs)), _mm256_set1_epi8(8)); break;
    case CK_Q5_0:
        r.q = _mm256_sub_epi8(_mm256_or_si256(nibbles(p + offsetof(block_q5_0, qs)), fifth_bits(p + offsetof(block_q5_0, qh))),
                              _mm256_set1_epi8(16));
        break;
    case CK_Q8_0: r.q = _mm256_loadu_si256((const __m256i *)(p + offsetof(block_q8_0, qs))); break;
    case CK_IQ4_NL: {
        /* The codebook looked up 32 nibbles at a time: pshufb indexes each 128-bit lane's copy. */
        const __m128i book = _mm_loadu_si128((const __m128i *)ck_iq4nl_values);
        r.q = _mm256_shuffle_epi8(_mm256_set_m128i(book, book), nibbles(p + offsetof(block_iq4_nl, qs)));
        break;
    }
    case CK_Q4_1: r.m = h16(p + offsetof(block_q4_1, m)); r.q = nibbles(p + offsetof(block_q4_1, qs)); break;
    default: /* CK_Q5_1 */
        r.m = h16(p + offsetof(block_q5_1, m));
        r.q = _mm256_or_si256(nibbles(p + offsetof(block_q5_1, qs)), fifth_bits(p + offsetof(block_q5_1, qh)));
        break;
    }
    return r;
}

/* ---------------------------------------------------------------- K-quant super-blocks
 * Unpacking shared by the K-quant bodies of every x86 level (avx2.c's row_dot_k, q8_tiles.h's
 * Q6_K tiles): the scales in int16 lanes and 32 quants at a time as unsigned bytes. */

/* The 6-bit scales and minimums of q4_K/q5_K as 8 bytes each (ck_k4_scale, four at a time). */
static inline void k4_scales(const uint8_t *q, uint64_t *sc, uint64_t *m) {
    uint32_t u[3];
    memcpy(u, q, 12);
    const uint32_t lo = 0x3f3f3f3fu, nib = 0x0f0f0f0fu, top = 0x30303030u;
    *sc = (uint64_t)(u[0] & lo) | (uint64_t)((u[2] & nib) | ((u[0] >> 2) & top)) << 32;
    *m = (uint64_t)(u[1] & lo) | (uint64_t)(((u[2] >> 4) & nib) | ((u[1] >> 2) & top)) << 32;
}

/* Eight byte values, each widened to two equal int16 lanes: the per-16 form of per-32 values. */
AVX2 static inline __m256i spread8(uint64_t v) {
    const __m128i w = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)v));
    return _mm256_set_m128i(_mm_unpackhi_epi16(w, w), _mm_unpacklo_epi16(w, w));
}

typedef struct { __m256i sc16, cm16; float d, dm; } kscales;

AVX2 static inline __attribute__((always_inline)) kscales kscales_of(const int type, const uint8_t *p) {
    kscales r;
    switch (type) {
    case CK_Q2_K: {
        const __m128i b = _mm_loadu_si128((const __m128i *)(p + offsetof(block_q2_K, scales)));
        r.sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(b, _mm_set1_epi8(15)));
        r.cm16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(15)));
        r.d = h16(p + offsetof(block_q2_K, d));
        r.dm = h16(p + offsetof(block_q2_K, dmin));
        return r;
    }
    case CK_Q3_K: {
        /* blocks.h's 6-bit scales, four at a time: low nibbles of bytes 0-7 (s 0-7), their high
         * nibbles (s 8-15); the top two bits from bytes 8-11, bit pair s / 4. */
        uint32_t u[3];
        memcpy(u, p + offsetof(block_q3_K, scales), 12);
        const uint32_t nib = 0x0f0f0f0fu, top = 0x30303030u;
        const uint32_t s0 = (u[0] & nib) | ((u[2] << 4) & top), s1 = (u[1] & nib) | ((u[2] << 2) & top);
        const uint32_t s2 = ((u[0] >> 4) & nib) | (u[2] & top), s3 = ((u[1] >> 4) & nib) | ((u[2] >> 2) & top);
        const __m128i b = _mm_sub_epi8(_mm_setr_epi32((int)s0, (int)s1, (int)s2, (int)s3), _mm_set1_epi8(32));
        r.sc16 = _mm256_cvtepi8_epi16(b);
        r.cm16 = _mm256_slli_epi16(r.sc16, 2);
        r.d = r.dm = h16(p + offsetof(block_q3_K, d));
        return r;
    }
    case CK_Q4_K: case CK_Q5_K: {
        uint64_t sc, m;
        k4_scales(p + offsetof(block_q4_K, scales), &sc, &m); /* the same offsets in q5_K */
        r.sc16 = spread8(sc);
        r.cm16 = spread8(m);
        r.d = h16(p + offsetof(block_q4_K, d));
        r.dm = h16(p + offsetof(block_q4_K, dmin));
        return r;
    }
    default: { /* CK_Q6_K */
        r.sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(p + offsetof(block_q6_K, scales))));
        r.cm16 = _mm256_slli_epi16(r.sc16, 5);
        r.d = r.dm = h16(p + offsetof(block_q6_K, d));
        return r;
    }
    }
}

/* Quants 32k…32k+31 of a super-block, unsigned (k a constant after unrolling). */
AVX2 static inline __attribute__((always_inline)) __m256i kquants(const int type, const uint8_t *p, const int k) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(3), m1 = _mm256_set1_epi8(1);
#define LD(off) _mm256_loadu_si256((const __m256i *)(p + (off)))
    switch (type) {
    case CK_Q2_K: return _mm256_and_si256(_mm256_srli_epi16(LD(offsetof(block_q2_K, qs) + 32 * (k / 4)), 2 * (k % 4)), m3);
    case CK_Q3_K: {
        const __m256i low = _mm256_and_si256(_mm256_srli_epi16(LD(offsetof(block_q3_K, qs) + 32 * (k / 4)), 2 * (k % 4)), m3);
        return _mm256_or_si256(low, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(LD(offsetof(block_q3_K, hmask)), k), m1), 2));
    }
    case CK_Q4_K: {
        const __m256i q = LD(offsetof(block_q4_K, qs) + 32 * (k / 2));
        return _mm256_and_si256(k % 2 ? _mm256_srli_epi16(q, 4) : q, m4);
    }
    case CK_Q5_K: {
        const __m256i q = LD(offsetof(block_q5_K, qs) + 32 * (k / 2));
        const __m256i h = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(LD(offsetof(block_q5_K, qh)), k), m1), 4);
        return _mm256_or_si256(_mm256_and_si256(k % 2 ? _mm256_srli_epi16(q, 4) : q, m4), h);
    }
    default: { /* CK_Q6_K: bits 2g, 2g+1 of qh to bits 4, 5 (the 16-bit shifts carry bits across
                * bytes only into places the mask clears) */
        const int g = k % 4;
        const __m256i l = LD(offsetof(block_q6_K, ql) + 64 * (k / 4) + 32 * (g % 2));
        const __m256i hb = LD(offsetof(block_q6_K, qh) + 32 * (k / 4));
        const __m256i lo = g < 2 ? _mm256_and_si256(l, m4) : _mm256_and_si256(_mm256_srli_epi16(l, 4), m4);
        const __m256i hi = g == 0 ? _mm256_slli_epi16(hb, 4) : g == 1 ? _mm256_slli_epi16(hb, 2) : g == 2 ? hb : _mm256_srli_epi16(hb, 2);
        return _mm256_or_si256(lo, _mm256_and_si256(hi, _mm256_set1_epi8(0x30)));
    }
    }
#undef LD
}

/* pshufb masks over a super-block's sixteen int16 scales (kscales.sc16, one 128-bit half of it
 * broadcast to both lanes): the scale of sub-block 2k in the low lane, 2k+1 in the high one
 * (k % 4; the scales of k < 4 come from the low half, of k >= 4 from the high half). */
static const int8_t ck_kpick[4][32] __attribute__((aligned(32))) = {
    {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3},
    {4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7},
    {8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11},
    {12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15}};

#endif

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

#endif

/* The x86-64 AVX-512 level: AVX2 with FMA and F16C plus AVX-512 F, BW, VL and VNNI (Zen 4; Intel
 * from Ice Lake and Sapphire Rapids on). VNNI's vpdpbusd multiplies 32 unsigned by 32 signed
 * bytes and adds each four into an int32 lane, which AVX2 does in two instructions (maddubs,
 * then madd against ones). The 8-bit tiles are q8_tiles.h's, built here with vpdpbusd: the
 * multi-token Q8_0, Q5_0 and IQ4_NL tiles (prefill) and packed Q4_0 and IQ4_NL (prefill and decode);
 * and its Q6_K rows with vpdpwssd, eight tokens a pass. Below, the one-token body for symmetric
 * 6-bit lab rows in ck_lab_split's layout. Their integer sums are exact on both levels and their
 * float steps the same, so the results equal the AVX2 level's bit for bit. Every other kernel is
 * the AVX2 level's (avx2.c).
 *
 * The vectors stay 256 bits wide: on Zen 4 a 512-bit operation takes the two 256-bit halves of
 * the datapath, so the width buys no throughput there, and 256-bit lanes keep the AVX2 level's
 * float order. Compiled to nothing on other ISAs. */
#include "../internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "x86.h"

#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

int ck_avx512_supported(void) {
    __builtin_cpu_init();
    return ck_avx2_supported() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

/* The rows a group of four leaves over: the AVX2 level's row-by-row body. */
static void avx512_tail_rows(int type, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok,
                             float *out, size_t os, int n) {
    ck_avx2_matmul(type, 0, w, ws, r0, r1, x, xs, ntok, out, os, n);
}

#define CK_TILE_TARGET VNNI
#define CK_TILE_VNNI 1
#define CK_TILE_TAIL avx512_tail_rows
#include "q8_tiles.h"

void ck_avx512_matmul(int type, int block_order, const uint8_t *W, size_t w_stride, int r0, int r1, const uint8_t *X,
                      size_t x_stride, int ntok, float *out, size_t out_stride, int n) {
    if (type == CK_Q6_K) { rows_q6_K(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return; }
#ifndef CK_NO_ONE_TOKEN
    if (ntok == 1 && (type == CK_Q5_0 || type == CK_Q4_1 || type == CK_Q5_1)) { one_token(type, W, w_stride, r0, r1, X, out, n); return; }
#endif
    if (ntok >= 2 && !block_order) {
        switch (type) {
        case CK_Q8_0: rows4_q8_0(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
        case CK_Q5_0: rows4_q5_0(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
        case CK_IQ4_NL: rows4_iq4_nl(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
        }
    }
    ck_avx2_matmul(type, block_order, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
}

/* ---------------------------------------------------------------- lab6 decode
 * Symmetric 6-bit lab rows in ck_lab_split's layout against one token: avx2.c's
 * row_dot_lab_decode with the same exact int32 lanes and the same float steps (two accumulators,
 * alternate chunks), so the same bits; what changes is the work per chunk, which bounds decode
 * on one core (the rows are 26 bytes a chunk against Q8_0's 34, yet the AVX2 body ran at 0.77 of
 * Q8_0's speed):
 *   - the codes: the 16 nibble bytes broadcast to both 128-bit lanes, the high lane shifted right
 *     by four (one vpsrlvq); the eight bytes of top bits broadcast to the four 64-bit lanes, lane
 *     k rotated (vprolvq by 4, 2, 0, 62) so that its bit pair 2k, 2k+1 lands on bits 4-5 of each
 *     byte; one vpternlogd makes (nibbles & 0x0f) | (top & 0x30): four operations where AVX2 takes
 *     nine;
 *   - Σ(c − 31)·y per int32 lane as one vpdpbusd starting from −31·(the lane's four y), where
 *     AVX2 takes maddubs, madd against ones and an add. */
VNNI static inline __m256i split6_codes_vnni(const uint8_t *p) {
    const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p));
    const __m256i nib = _mm256_srlv_epi64(v, _mm256_setr_epi64x(0, 0, 4, 4));
    long long h;
    memcpy(&h, p + 16, 8);
    const __m256i top = _mm256_and_si256(_mm256_rolv_epi64(_mm256_set1_epi64x(h), _mm256_setr_epi64x(4, 2, 0, 62)), _mm256_set1_epi8(0x30));
    /* f(a, b, c) = (a & c) | b, b's bits outside c's complement being clear. */
    return _mm256_ternarylogic_epi32(nib, top, _mm256_set1_epi8(0x0f), 0xEC);
}

/* Chunk k's share: the fma into its accumulator, Σ(c − 31)·y with the chunk's scale d·d_x. */
VNNI static inline __attribute__((always_inline)) __m256
lab6_chunk(__m256 acc, float d, const uint8_t *codes, const uint8_t *x, const float *sc, const __m256i *zc, int k) {
    _mm_prefetch((const char *)codes + CK_AHEAD, _MM_HINT_T0);
    const __m256i y = _mm256_loadu_si256((const __m256i *)(x + (size_t)Q8_0_BYTES * (size_t)k + offsetof(block_q8_0, qs)));
    const __m256i isum = _mm256_dpbusd_epi32(zc[k], split6_codes_vnni(codes), y);
    return _mm256_fmadd_ps(_mm256_set1_ps(d * sc[k]), _mm256_cvtepi32_ps(isum), acc);
}

/* Even chunks into a0, odd into a1 (row_dot_lab_decode's two chains), taken two at a time so that
 * both stay in registers. */
VNNI static inline __attribute__((always_inline)) float
row_dot_lab6_decode(const int g32, const ck_lab *l, const uint8_t *w, const uint8_t *x, const float *sc, const __m256i *zc, int chunks) {
    const size_t block = l->block;
    const int per = g32 ? 1 : l->g / 32, header = l->header;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int k = 0;
    if (g32) {
        for (; k + 2 <= chunks; k += 2) {
            const uint8_t *h0 = w + block * (size_t)k, *h1 = h0 + block;
            a0 = lab6_chunk(a0, h16(h0), h0 + header, x, sc, zc, k);
            a1 = lab6_chunk(a1, h16(h1), h1 + header, x, sc, zc, k + 1);
        }
        if (k < chunks) a0 = lab6_chunk(a0, h16(w + block * (size_t)k), w + block * (size_t)k + header, x, sc, zc, k);
    } else {
        /* Groups of 64 or more: walk the chunks with their group's head and scale. */
        const uint8_t *head = w;
        float d = h16(head);
        int c = 0;
#define CK_NEXT_CHUNK(next)                   \
    if (++c == per) {                         \
        c = 0;                                \
        head += block;                        \
        if ((next) < chunks) d = h16(head);   \
    }
        for (; k + 2 <= chunks; k += 2) {
            a0 = lab6_chunk(a0, d, head + header + 24 * (size_t)c, x, sc, zc, k);
            CK_NEXT_CHUNK(k + 1)
            a1 = lab6_chunk(a1, d, head + header + 24 * (size_t)c, x, sc, zc, k + 1);
            CK_NEXT_CHUNK(k + 2)
        }
#undef CK_NEXT_CHUNK
        if (k < chunks) a0 = lab6_chunk(a0, d, head + header + 24 * (size_t)c, x, sc, zc, k);
    }
    return hsum8(_mm256_add_ps(a0, a1));
}

VNNI static void rows_lab6_split_decode(const ck_lab *l, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, float *out, int n) {
    const int nb = n / 32;
    float sc[nb];
    __m256i zc[nb];
    for (int b = 0; b < nb; b++) {
        sc[b] = h16(x + (size_t)Q8_0_BYTES * (size_t)b);
        const __m256i y = _mm256_loadu_si256((const __m256i *)(x + (size_t)Q8_0_BYTES * (size_t)b + offsetof(block_q8_0, qs)));
        zc[b] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(31), y));
    }
    for (int r = r0; r < r1; r++)
        out[r - r0] = l->g == 32 ? row_dot_lab6_decode(1, l, w + ws * (size_t)r, x, sc, zc, nb)
                                 : row_dot_lab6_decode(0, l, w + ws * (size_t)r, x, sc, zc, nb);
}

void ck_avx512_matmul_lab_split(int bits, int group, int asymmetric, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x,
                                size_t xs, int ntok, float *out, size_t os, int n) {
    if (bits == 6 && !asymmetric && ntok == 1) {
        const ck_lab l = ck_lab_layout(bits, group, asymmetric, n);
        rows_lab6_split_decode(&l, w, ws, r0, r1, x, out, n);
        return;
    }
    ck_avx2_matmul_lab_split(bits, group, asymmetric, w, ws, r0, r1, x, xs, ntok, out, os, n);
}

void ck_avx512_packed(int type, const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                      size_t os, int n) {
    if (type == CK_IQ4_NL) packed_iq4_nl(packed, r0, r1, x, xs, ntok, out, os, n);
    else packed_q4_0(packed, r0, r1, x, xs, ntok, out, os, n);
}

#endif

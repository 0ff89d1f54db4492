/* The x86-64 bodies: AVX2 with FMA and F16C (per-function target attributes, so the file builds
 * with the baseline flags and the dispatch picks these only where the CPU has them). Compiled to
 * nothing on other ISAs. The matrix kernels come first with the compiler's default contraction;
 * the attention part below turns contraction off, as the reference does, because it must
 * follow llama.cpp's float steps exactly. */
#include "../internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "x86.h"

int ck_avx2_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}


/* One weight row against NT activation rows (NT a constant after inlining). `sc[t]` holds that
 * row's block scales as floats, two per block (d, then s for q8_1), converted once per chunk. */
AVX2 static inline __attribute__((always_inline)) void
row_dot(const int type, const int NT, const uint8_t *w, const uint8_t *const *x, const float *const *sc, int nb,
        float *out, size_t out_stride) {
    const int affine = type == CK_Q4_1 || type == CK_Q5_1;
    const int xbs = affine ? Q8_1_BYTES : Q8_0_BYTES, xq = affine ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    float mins[4] = {0, 0, 0, 0};
    for (int b = 0; b < nb; b++) {
        if (NT == 1) _mm_prefetch((const char *)w + ck_block_bytes(type) * b + CK_AHEAD, _MM_HINT_T0);
        const wblock wb = decode(type, w, b);
        const __m256i u = affine ? wb.q : _mm256_sign_epi8(wb.q, wb.q);
        for (int t = 0; t < NT; t++) {
            __m256i y = _mm256_loadu_si256((const __m256i *)(x[t] + (size_t)xbs * b + xq));
            if (!affine) y = _mm256_sign_epi8(y, wb.q);
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(wb.d * sc[t][2 * b]), dot_u8_i8(u, y), acc[t]);
            if (affine) mins[t] += wb.m * sc[t][2 * b + 1];
        }
    }
    for (int t = 0; t < NT; t++) out[t * out_stride] = hsum8(acc[t]) + mins[t];
}

/* Rows r0..r1 against tokens in chunks of 64 (a chunk's activations stay in L2 while every
 * row passes over them); each chunk's activation scales are converted from f16 once. */
#define CK_ROWS(TYPE)                                                                         \
    AVX2 static void rows_##TYPE(const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, \
                                 size_t xs, int ntok, float *out, size_t os, int n) {          \
        const int nb = n / 32;                                                                \
        const int affine = TYPE == CK_Q4_1 || TYPE == CK_Q5_1, xbs = affine ? Q8_1_BYTES : Q8_0_BYTES; \
        float scales[64 * 2 * nb];                                                            \
        for (int t0 = 0; t0 < ntok; t0 += 64) {                                                \
            const int t1 = t0 + 64 < ntok ? t0 + 64 : ntok;                                    \
            for (int t = t0; t < t1; t++)                                                      \
                for (int b = 0; b < nb; b++) {                                                 \
                    const uint8_t *xb = x + xs * t + (size_t)xbs * b;                          \
                    scales[(t - t0) * 2 * nb + 2 * b] = h16(xb);                               \
                    scales[(t - t0) * 2 * nb + 2 * b + 1] = affine ? h16(xb + offsetof(block_q8_1, s)) : 0.0f;       \
                }                                                                             \
            for (int r = r0; r < r1; r++) {                                                    \
                const uint8_t *wr = w + ws * (size_t)r;                                        \
                int t = t0;                                                                    \
                for (; t + 4 <= t1; t += 4) {                                                  \
                    const uint8_t *xs4[4] = {x + xs * t, x + xs * (t + 1), x + xs * (t + 2), x + xs * (t + 3)}; \
                    const float *sc4[4] = {scales + (t - t0) * 2 * nb, scales + (t + 1 - t0) * 2 * nb, \
                                           scales + (t + 2 - t0) * 2 * nb, scales + (t + 3 - t0) * 2 * nb}; \
                    row_dot(TYPE, 4, wr, xs4, sc4, nb, out + os * t + (r - r0), os);           \
                }                                                                             \
                for (; t < t1; t++) {                                                          \
                    const uint8_t *xs1[1] = {x + xs * t};                                      \
                    const float *sc1[1] = {scales + (t - t0) * 2 * nb};                        \
                    row_dot(TYPE, 1, wr, xs1, sc1, nb, out + os * t + (r - r0), os);           \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
    }
CK_ROWS(CK_Q4_0)
CK_ROWS(CK_Q4_1)
CK_ROWS(CK_Q5_0)
CK_ROWS(CK_Q5_1)
CK_ROWS(CK_Q8_0)
CK_ROWS(CK_IQ4_NL)

/* ---------------------------------------------------------------- K-quants
 * A super-block of 256 weights against q8_K activations in ck_kscales' form (internal.h). Per
 * super-block the scales are unpacked in vector registers: the sixteen per-16 scales as int16
 * lanes (sc16) and the minimum or offset coefficients (cm16); then for each 32 quants k (the
 * unsigned q of blocks.h, elements 32k…32k+31) maddubs gives 16 int16 pair sums (at most
 * 2·63·127, no saturation) and madd by the scales (low 128-bit lane: sub-block 2k, high: 2k+1)
 * int32 sums, exact; the minimum/offset term is bsums·cm16 in one more madd. Per super-block
 * one fma of each int32 vector into float lanes (d·y.d and dm·y.d), summed at the end:
 * ck_ref_dot's value up to float summation order. Each 32 quants are unpacked once for the
 * tokens that pass over them together (four in prefill). Q6_K has its own body in q8_tiles.h
 * (the offset term taken off in integers), shared with the AVX-512 level; the unpacking helpers
 * are x86.h's. */

/* One K-quant row against NT q8_K rows (NT a constant after inlining).
 *
 * The integer sums are the same for every type; the float steps after them are those of
 * llama.cpp's x86 build for that type, so that the engine's logits on llama-quantize's files
 * equal its AVX2 build's to the rounding (each engine rounds activations to 8 bits before the
 * next product, so one ulp apart anywhere compounds). With y.d the activation block's scale:
 *   Q2_K  eight float lanes: acc += (−y.d·dmin)·cvt(minimum lanes), then acc += (y.d·d)·cvt(lanes)
 *   Q3_K  eight lanes with the offset −4 taken inside each lane: acc += (y.d·d)·cvt(lanes)
 *   Q5_K  eight lanes acc += (y.d·d)·cvt(lanes); the minimums one float, m = fma(−y.d·dmin, M, m)
 *   and the sum of the eight lanes in hsum8's order (+ m for Q5_K);
 *   Q4_K  (llama.cpp repacks it eight rows at a time) one float per row and token: per super-block
 *         a = fma(I, d·y.d, a), b = fma(M, dmin·y.d, b) with I, M the block's integer sums, or, for
 *         tokens that come in fours (its gemm), per 64 weights; the result a − b.
 * Four tokens of a prefill take the fours order; a token alone (decode, the tail of a prefill
 * not a multiple of four) the one-token order, as llama.cpp deals them.
 * With eight tokens or more (TILED), Q2_K, Q3_K and Q5_K take the order of llama.cpp's
 * tiled K-quant product instead: per super-block r = d·I (the whole block's integer sum, the
 * offsets inside it), r = fma(−dmin, M, r) where there are minimums, a = fma(r, y.d, a).
 * Four tokens reduce their integer sums together and take those float steps in the four lanes of
 * one vector (each lane's operations are the scalar ones). Q6_K has its own body, with these
 * steps, in q8_tiles.h. */
AVX2 static inline __attribute__((always_inline)) void
row_dot_k(const int type, const int NT, const int TILED, const uint8_t *w, const uint8_t *const *x, int nb, float *out, size_t os) {
    __m256 acc[4];
    float a[4], m[4];
    __m128 a4 = _mm_setzero_ps(), m4 = _mm_setzero_ps(); /* four tokens' a and m (NT == 4) */
    for (int t = 0; t < NT; t++) {
        acc[t] = _mm256_setzero_ps();
        a[t] = m[t] = 0;
    }
    const int bs = ck_block_bytes(type);
    const int fours = type == CK_Q4_K && NT == 4, tiled = TILED && type != CK_Q4_K;
    for (int b = 0; b < nb; b++) {
        const uint8_t *p = w + (size_t)bs * (size_t)b;
        if (NT == 1)
            for (int line = 0; line < bs; line += 64) _mm_prefetch((const char *)p + CK_AHEAD + line, _MM_HINT_T0);
        const kscales ks = kscales_of(type, p);
        const __m256i lowhalf = _mm256_permute2x128_si256(ks.sc16, ks.sc16, 0x00), highhalf = _mm256_permute2x128_si256(ks.sc16, ks.sc16, 0x11);
        const uint8_t *yb[4];
        float yd[4];
        __m256i si[4], sm[4];
        for (int t = 0; t < NT; t++) {
            yb[t] = x[t] + (size_t)Q8_K_BYTES * (size_t)b;
            memcpy(&yd[t], yb[t], 4);
            si[t] = _mm256_setzero_si256();
            if (type != CK_Q3_K)
                sm[t] = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(yb[t] + offsetof(block_q8_K, bsums))), ks.cm16);
        }
        const __m128 yd4 = NT == 4 ? _mm_loadu_ps(yd) : _mm_setzero_ps();
        if (fours) {
            /* The minimum terms of the four 64-weight steps for four tokens: lanes 2j and 2j+1 of
             * each token's sm summed (hadd), gathered per step; fma'd in step order. */
            const __m256 h01 = _mm256_castsi256_ps(_mm256_hadd_epi32(sm[0], sm[1])), h23 = _mm256_castsi256_ps(_mm256_hadd_epi32(sm[2], sm[3]));
            const __m256 even = _mm256_cvtepi32_ps(_mm256_castps_si256(_mm256_shuffle_ps(h01, h23, _MM_SHUFFLE(2, 0, 2, 0)))); /* steps 0 | 2 */
            const __m256 odd = _mm256_cvtepi32_ps(_mm256_castps_si256(_mm256_shuffle_ps(h01, h23, _MM_SHUFFLE(3, 1, 3, 1))));  /* steps 1 | 3 */
            const __m128 dmy = _mm_mul_ps(_mm_set1_ps(ks.dm), yd4);
            m4 = _mm_fmadd_ps(_mm256_castps256_ps128(even), dmy, m4);
            m4 = _mm_fmadd_ps(_mm256_castps256_ps128(odd), dmy, m4);
            m4 = _mm_fmadd_ps(_mm256_extractf128_ps(even, 1), dmy, m4);
            m4 = _mm_fmadd_ps(_mm256_extractf128_ps(odd, 1), dmy, m4);
        }
        for (int k = 0; k < 8; k++) {
            const __m256i u = kquants(type, p, k);
            const __m256i sc = _mm256_shuffle_epi8(k < 4 ? lowhalf : highhalf, _mm256_load_si256((const __m256i *)ck_kpick[k % 4]));
            for (int t = 0; t < NT; t++) {
                const __m256i y = _mm256_loadu_si256((const __m256i *)(yb[t] + offsetof(block_q8_K, qs) + 32 * k));
                __m256i pairs = _mm256_maddubs_epi16(u, y);
                if (type == CK_Q3_K) pairs = _mm256_sub_epi16(pairs, _mm256_maddubs_epi16(_mm256_set1_epi8(4), y));
                si[t] = _mm256_add_epi32(si[t], _mm256_madd_epi16(pairs, sc));
            }
            if (fours && k % 2 == 1) {
                /* the 64 weights 32(k−1)…32k+31 (llama.cpp's gemm order), four tokens at once */
                a4 = _mm_fmadd_ps(_mm_cvtepi32_ps(hsum4_i32(si[0], si[1], si[2], si[3])), _mm_mul_ps(_mm_set1_ps(ks.d), yd4), a4);
                for (int t = 0; t < NT; t++) si[t] = _mm256_setzero_si256();
            }
        }
        if (tiled && NT == 4) {
            __m128 r = _mm_mul_ps(_mm_set1_ps(ks.d), _mm_cvtepi32_ps(hsum4_i32(si[0], si[1], si[2], si[3])));
            if (type == CK_Q2_K || type == CK_Q5_K)
                r = _mm_fnmadd_ps(_mm_set1_ps(ks.dm), _mm_cvtepi32_ps(hsum4_i32(sm[0], sm[1], sm[2], sm[3])), r);
            a4 = _mm_fmadd_ps(r, yd4, a4);
            continue;
        }
        for (int t = 0; t < NT; t++) {
            if (tiled) {
                float r = ks.d * (float)hsum_i32(si[t]);
                if (type == CK_Q2_K || type == CK_Q5_K) r = fmaf(-ks.dm, (float)hsum_i32(sm[t]), r);
                a[t] = fmaf(r, yd[t], a[t]);
                continue;
            }
            switch (type) {
            case CK_Q2_K:
                acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(-(yd[t] * ks.dm)), _mm256_cvtepi32_ps(sm[t]), acc[t]);
                acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(yd[t] * ks.d), _mm256_cvtepi32_ps(si[t]), acc[t]);
                break;
            case CK_Q3_K: acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(yd[t] * ks.d), _mm256_cvtepi32_ps(si[t]), acc[t]); break;
            case CK_Q4_K:
                if (!fours) {
                    a[t] = fmaf((float)hsum_i32(si[t]), ks.d * yd[t], a[t]);
                    m[t] = fmaf((float)hsum_i32(sm[t]), ks.dm * yd[t], m[t]);
                }
                break;
            default: /* CK_Q5_K */
                acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(yd[t] * ks.d), _mm256_cvtepi32_ps(si[t]), acc[t]);
                m[t] = fmaf(-(yd[t] * ks.dm), (float)hsum_i32(sm[t]), m[t]);
                break;
            }
        }
    }
    if (NT == 4 && (tiled || fours)) {
        float r[4];
        _mm_storeu_ps(r, _mm_sub_ps(a4, m4)); /* m4 is zero when tiled */
        for (int t = 0; t < NT; t++) out[os * (size_t)t] = r[t];
        return;
    }
    for (int t = 0; t < NT; t++)
        out[os * (size_t)t] = tiled ? a[t] : type == CK_Q4_K ? a[t] - m[t] : type == CK_Q5_K ? hsum8(acc[t]) + m[t] : hsum8(acc[t]);
}

/* Rows r0..r1 against tokens in chunks of 64, four tokens at a time per row. */
#define CK_ROWS_K(TYPE)                                                                                      \
    AVX2 static void rows_k_##TYPE(const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, \
                                   int ntok, float *out, size_t os, int n) {                                 \
        const int nb = n / CK_QK_K;                                                                          \
        for (int t0 = 0; t0 < ntok; t0 += 64) {                                                              \
            const int t1 = t0 + 64 < ntok ? t0 + 64 : ntok;                                                  \
            for (int r = r0; r < r1; r++) {                                                                  \
                const uint8_t *wr = w + ws * (size_t)r;                                                      \
                float *o = out + (size_t)(r - r0);                                                           \
                int t = t0;                                                                                  \
                for (; t + 4 <= t1; t += 4) {                                                                \
                    const uint8_t *x4[4] = {x + xs * (size_t)t, x + xs * (size_t)(t + 1), x + xs * (size_t)(t + 2), \
                                            x + xs * (size_t)(t + 3)};                                       \
                    if (ntok >= 8) row_dot_k(TYPE, 4, 1, wr, x4, nb, o + os * (size_t)t, os);                \
                    else row_dot_k(TYPE, 4, 0, wr, x4, nb, o + os * (size_t)t, os);                          \
                }                                                                                            \
                for (; t < t1; t++) {                                                                        \
                    const uint8_t *x1[1] = {x + xs * (size_t)t};                                             \
                    if (ntok >= 8) row_dot_k(TYPE, 1, 1, wr, x1, nb, o + os * (size_t)t, os);                \
                    else row_dot_k(TYPE, 1, 0, wr, x1, nb, o + os * (size_t)t, os);                          \
                }                                                                                            \
            }                                                                                                \
        }                                                                                                    \
    }
CK_ROWS_K(CK_Q2_K)
CK_ROWS_K(CK_Q3_K)
CK_ROWS_K(CK_Q4_K)
CK_ROWS_K(CK_Q5_K)

/* The rows a group of four leaves over, in row_dot's order. */
AVX2 static void avx2_tail_rows(int type, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok,
                                float *out, size_t os, int n) {
    switch (type) {
    case CK_Q5_0: rows_CK_Q5_0(w, ws, r0, r1, x, xs, ntok, out, os, n); break;
    case CK_IQ4_NL: rows_CK_IQ4_NL(w, ws, r0, r1, x, xs, ntok, out, os, n); break;
    default: rows_CK_Q8_0(w, ws, r0, r1, x, xs, ntok, out, os, n); break;
    }
}

/* The multi-token Q8_0/Q5_0/IQ4_NL tiles, packed Q4_0 and IQ4_NL, and Q6_K, with maddubs + madd. */
#define CK_TILE_TARGET AVX2
#define CK_TILE_VNNI 0
#define CK_TILE_TAIL avx2_tail_rows
#include "q8_tiles.h"


/* Q4_0 summed block by block, one float accumulator per row: acc = fma((float)(Σ w·x), d_w·d_x, acc).
 * This is how llama.cpp's x86 AVX2 builds compute Q4_0 matrices they repack at load (8 rows
 * interleaved; every Q4_0 matrix with a multiple of 8 rows except the token embedding). The
 * integer sums are exact, so only the float steps matter, and they are these. Eight rows go
 * together so that their eight integer sums reduce in one vector. */
AVX2 static inline __m256i isum_q4_0(__m256i q, __m256i y) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(y, q)), _mm256_set1_epi16(1));
}

/* Lane k = the sum of p[k]'s eight lanes. */
AVX2 static inline __m256i reduce_rows8(const __m256i *p) {
    const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
    const __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(p[4], p[5]), _mm256_hadd_epi32(p[6], p[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

/* NT activation rows (a constant after inlining) against rows r..r+7, over all blocks. */
AVX2 static inline __attribute__((always_inline)) void
rows8_q4_0_blocks(const int type, const int NT, const uint8_t *w, size_t ws, const uint8_t *const *x, int nb, float *out, size_t os,
                  int prefetch) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    /* The eight rows are read across, block by block, which the hardware prefetcher follows
     * poorly: fetch the next eight rows' lines ahead, three 64-byte lines per block (8 × 18
     * bytes a block). */
    const char *next = (const char *)(w + 8 * ws);
    for (int b = 0; b < nb; b++) {
        if (prefetch) for (int i = 0; i < 3; i++) _mm_prefetch(next + 64 * (size_t)(3 * b + i), _MM_HINT_T0);
        __m256i q[8];
        uint16_t h[8];
        for (int k = 0; k < 8; k++) {
            const uint8_t *blk = w + ws * (size_t)k + Q4_0_BYTES * (size_t)b;
            memcpy(&h[k], blk, 2);
            q[k] = decode(type, w + ws * (size_t)k, b).q;
        }
        /* Built lane by lane (not stored and reloaded as a vector: that stalls store forwarding). */
        const __m256 dw = _mm256_cvtph_ps(_mm_setr_epi16((short)h[0], (short)h[1], (short)h[2], (short)h[3],
                                                         (short)h[4], (short)h[5], (short)h[6], (short)h[7]));
        for (int t = 0; t < NT; t++) {
            const uint8_t *xb = x[t] + Q8_0_BYTES * (size_t)b;
            const __m256i y = _mm256_loadu_si256((const __m256i *)(xb + offsetof(block_q8_0, qs)));
            __m256i p[8];
            for (int k = 0; k < 8; k++) p[k] = isum_q4_0(q[k], y);
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(reduce_rows8(p)), _mm256_mul_ps(dw, _mm256_set1_ps(h16(xb))), acc[t]);
        }
    }
    for (int t = 0; t < NT; t++) {
        float lanes[8];
        _mm256_storeu_ps(lanes, acc[t]);
        for (int k = 0; k < 8; k++) out[os * (size_t)t + (size_t)k] = lanes[k];
    }
}

/* Q4_0 or IQ4_NL (both 18-byte blocks of 32 signed values against q8_0: llama.cpp's x86 build
 * repacks both into eight-row groups and sums them with one kernel). */
AVX2 static inline __attribute__((always_inline)) void
rows_blocks_t(const int type, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
              size_t os, int n) {
    const int nb = n / 32;
    /* Tokens in chunks of 64, so a chunk's activations stay in cache while the rows pass. */
    for (int t0 = 0; t0 < ntok; t0 += 64) {
        const int t1 = t0 + 64 < ntok ? t0 + 64 : ntok;
        int r = r0;
        for (; r + 8 <= r1; r += 8) {
            const uint8_t *wr = w + ws * (size_t)r;
            float *o = out + (size_t)(r - r0);
            int t = t0;
            for (; t + 4 <= t1; t += 4) {
                const uint8_t *x4[4] = {x + xs * (size_t)t, x + xs * (size_t)(t + 1), x + xs * (size_t)(t + 2), x + xs * (size_t)(t + 3)};
                rows8_q4_0_blocks(type, 4, wr, ws, x4, nb, o + os * (size_t)t, os, r + 16 <= r1);
            }
            for (; t < t1; t++) {
                const uint8_t *x1[1] = {x + xs * (size_t)t};
                rows8_q4_0_blocks(type, 1, wr, ws, x1, nb, o + os * (size_t)t, os, r + 16 <= r1);
            }
        }
        for (; r < r1; r++) {
            const uint8_t *wr = w + ws * (size_t)r;
            for (int t = t0; t < t1; t++) {
                const uint8_t *xt = x + xs * (size_t)t;
                float acc = 0;
                for (int b = 0; b < nb; b++) {
                    const wblock wb = decode(type, wr, b);
                    const __m256i p = isum_q4_0(wb.q, _mm256_loadu_si256((const __m256i *)(xt + Q8_0_BYTES * (size_t)b + offsetof(block_q8_0, qs))));
                    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
                    s4 = _mm_hadd_epi32(s4, s4);
                    s4 = _mm_hadd_epi32(s4, s4);
                    acc = fmaf((float)_mm_cvtsi128_si32(s4), wb.d * h16(xt + Q8_0_BYTES * (size_t)b), acc);
                }
                out[os * (size_t)t + (size_t)(r - r0)] = acc;
            }
        }
    }
}

AVX2 static void rows_q4_0_blocks(const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                                  size_t os, int n) {
    rows_blocks_t(CK_Q4_0, w, ws, r0, r1, x, xs, ntok, out, os, n);
}
AVX2 static void rows_iq4_nl_blocks(const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                                    size_t os, int n) {
    rows_blocks_t(CK_IQ4_NL, w, ws, r0, r1, x, xs, ntok, out, os, n);
}


/* ---------------------------------------------------------------- lab types
 * Lab rows (internal.h's ck_lab layout) against q8_0 (symmetric) or q8_1 (asymmetric) blocks,
 * as row_dot does the 32-element types: 32 codes a chunk unpacked in registers, then the
 * signed (code − zero, symmetric: |q| and the sign moved onto y) or unsigned (asymmetric)
 * products summed exactly by maddubs/madd, one fma a chunk with d_w·d_x, and m_w·s_x added per
 * chunk for the asymmetric ones. */
/* pshufb masks and multipliers of lab_codes, per bit width 2-7 (generated; see lab_codes). */
static const int8_t lab_shuf[6][2][32] __attribute__((aligned(32))) = {
    {{0, -128, 0, -128, 0, -128, 0, -128, 1, -128, 1, -128, 1, -128, 1, -128, 4, -128, 4, -128, 4, -128, 4, -128, 5, -128, 5, -128, 5, -128, 5, -128}, {2, -128, 2, -128, 2, -128, 2, -128, 3, -128, 3, -128, 3, -128, 3, -128, 6, -128, 6, -128, 6, -128, 6, -128, 7, -128, 7, -128, 7, -128, 7, -128}},
    {{0, -128, 0, -128, 0, 1, 1, -128, 1, -128, 1, 2, 2, -128, 2, -128, 2, -128, 2, -128, 2, 3, 3, -128, 3, -128, 3, 4, 4, -128, 4, -128}, {3, -128, 3, -128, 3, 4, 4, -128, 4, -128, 4, 5, 5, -128, 5, -128, 5, -128, 5, -128, 5, 6, 6, -128, 6, -128, 6, 7, 7, -128, 7, -128}},
    {{0, -128, 0, -128, 1, -128, 1, -128, 2, -128, 2, -128, 3, -128, 3, -128, 8, -128, 8, -128, 9, -128, 9, -128, 10, -128, 10, -128, 11, -128, 11, -128}, {4, -128, 4, -128, 5, -128, 5, -128, 6, -128, 6, -128, 7, -128, 7, -128, 12, -128, 12, -128, 13, -128, 13, -128, 14, -128, 14, -128, 15, -128, 15, -128}},
    {{0, -128, 0, 1, 1, -128, 1, 2, 2, 3, 3, -128, 3, 4, 4, -128, 6, -128, 6, 7, 7, -128, 7, 8, 8, 9, 9, -128, 9, 10, 10, -128}, {5, -128, 5, 6, 6, -128, 6, 7, 7, 8, 8, -128, 8, 9, 9, -128, 11, -128, 11, 12, 12, -128, 12, 13, 13, 14, 14, -128, 14, 15, 15, -128}},
    {{0, -128, 0, 1, 1, 2, 2, -128, 3, -128, 3, 4, 4, 5, 5, -128, 4, -128, 4, 5, 5, 6, 6, -128, 7, -128, 7, 8, 8, 9, 9, -128}, {6, -128, 6, 7, 7, 8, 8, -128, 9, -128, 9, 10, 10, 11, 11, -128, 10, -128, 10, 11, 11, 12, 12, -128, 13, -128, 13, 14, 14, 15, 15, -128}},
    {{0, -128, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, -128, 2, -128, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, -128}, {7, -128, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, -128, 9, -128, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15, -128}},
};
static const int16_t lab_mul[6][2][8] = {
    {{16384, 4096, 1024, 256, 16384, 4096, 1024, 256}, {16384, 4096, 1024, 256, 16384, 4096, 1024, 256}},
    {{8192, 1024, 128, 4096, 512, 64, 2048, 256}, {8192, 1024, 128, 4096, 512, 64, 2048, 256}},
    {{4096, 256, 4096, 256, 4096, 256, 4096, 256}, {4096, 256, 4096, 256, 4096, 256, 4096, 256}},
    {{2048, 64, 512, 16, 128, 1024, 32, 256}, {2048, 64, 512, 16, 128, 1024, 32, 256}},
    {{1024, 16, 64, 256, 1024, 16, 64, 256}, {1024, 16, 64, 256, 1024, 16, 64, 256}},
    {{512, 4, 8, 16, 32, 64, 128, 256}, {512, 4, 8, 16, 32, 64, 128, 256}},
};

/* The 32 codes of a chunk (bits 2-7, 4·bits bytes), as bytes in order. Elements 0-15 come from
 * the low 128-bit half, 16-31 from the high one, which reads the chunk's last 8 or 16 bytes
 * (so no load passes the chunk's end; the tables' indices allow for it). In each 16-bit lane
 * pshufb gathers the one or two bytes holding a code, the multiply by 2^(16 − shift − bits)
 * moves the code to the top, and the shift by 16 − bits brings it down alone. */
AVX2 static inline __attribute__((always_inline)) __m256i lab_codes(const int bits, const uint8_t *p) {
    __m256i v;
    if (bits < 4) {
        const __m128i lo = _mm_loadl_epi64((const __m128i *)p), hi = _mm_loadl_epi64((const __m128i *)(p + 4 * bits - 8));
        v = _mm256_set_m128i(hi, lo);
    } else {
        v = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)(p + 4 * bits - 16)), _mm_loadu_si128((const __m128i *)p));
    }
    __m256i c[2];
    for (int h = 0; h < 2; h++) {
        const __m256i g = _mm256_shuffle_epi8(v, _mm256_load_si256((const __m256i *)lab_shuf[bits - 2][h]));
        const __m256i m = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)lab_mul[bits - 2][h]));
        c[h] = _mm256_srli_epi16(_mm256_mullo_epi16(g, m), 16 - bits);
    }
    return _mm256_packus_epi16(c[0], c[1]);
}

/* A 6-bit chunk in ck_lab_split's layout: Q4_0's nibbles, or-ed with the top two bits, which
 * for element j sit at bit 2·(j / 8) of byte 16 + j % 8: the 8 bytes broadcast to the four 64-bit
 * lanes (lane k holds elements 8k…8k+7), lane k shifted right by 2k, masked and moved to bit 4. */
AVX2 static inline __m256i split6_codes(const uint8_t *p) {
    uint64_t h;
    memcpy(&h, p + 16, 8);
    const __m256i top = _mm256_and_si256(_mm256_srlv_epi64(_mm256_set1_epi64x((long long)h), _mm256_setr_epi64x(0, 2, 4, 6)),
                                         _mm256_set1_epi8(3));
    return _mm256_or_si256(nibbles(p), _mm256_slli_epi16(top, 4));
}

/* One lab row against NT activation rows (bits, asym, split and NT constants after inlining). */
AVX2 static inline __attribute__((always_inline)) void
row_dot_lab(const int bits, const int asym, const int split, const int NT, const ck_lab *l, const uint8_t *w, const uint8_t *const *x,
            const float *const *sc, int chunks, float *out, size_t os) {
    const int xbs = asym ? Q8_1_BYTES : Q8_0_BYTES, xq = asym ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    const __m256i zero = _mm256_set1_epi8((char)((1 << (bits - 1)) - 1));
    __m256 acc[4];
    float mins[4];
    for (int t = 0; t < NT; t++) { acc[t] = _mm256_setzero_ps(); mins[t] = 0; }
    /* Group by group (ck_lab_chunk's addresses without its divisions, which cost more than the
     * chunk's arithmetic), the scales read once a group. */
    const int per = l->g / 32;
    for (int k = 0, gi = 0; k < chunks; gi++) {
        const uint8_t *head = w + l->block * (size_t)gi;
        const float d = h16(head), m = asym ? h16(head + 2) : 0.0f;
        for (int c = 0; c < per; c++, k++) {
            const uint8_t *codes = head + l->header + 4 * (size_t)bits * (size_t)c;
            if (NT == 1) _mm_prefetch((const char *)codes + CK_AHEAD, _MM_HINT_T0);
            const __m256i raw = split ? split6_codes(codes) : lab_codes(bits, codes);
            const __m256i q = asym ? raw : _mm256_sub_epi8(raw, zero);
            const __m256i u = asym ? q : _mm256_sign_epi8(q, q);
            for (int t = 0; t < NT; t++) {
                const uint8_t *xb = x[t] + (size_t)xbs * (size_t)k;
                __m256i y = _mm256_loadu_si256((const __m256i *)(xb + xq));
                if (!asym) y = _mm256_sign_epi8(y, q);
                acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * sc[t][2 * k]), dot_u8_i8(u, y), acc[t]);
                if (asym) mins[t] += m * sc[t][2 * k + 1];
            }
        }
    }
    for (int t = 0; t < NT; t++) out[os * (size_t)t] = hsum8(acc[t]) + mins[t];
}

/* One symmetric lab row against one token (decode): per chunk Σ c·y per int32 lane from the raw
 * codes (c ≤ 127, so maddubs is exact), plus zc's −zero·(the lane's four y), which is Σ(c − zero)·y
 * lane for lane without the subtraction and two sign steps; the chunks alternate between two
 * accumulators (two FMA chains), added before hsum8. G32: one chunk per group, known at compile time. */
/* Chunk k's share of row_dot_lab_decode: its int32 lanes and the fma into `acc`. */
AVX2 static inline __attribute__((always_inline)) __m256
lab_decode_chunk(const int bits, const int split, __m256 acc, float d, const uint8_t *codes, const uint8_t *x, const float *sc,
                 const __m256i *zc, int k) {
    _mm_prefetch((const char *)codes + CK_AHEAD, _MM_HINT_T0);
    const __m256i raw = split ? split6_codes(codes) : lab_codes(bits, codes);
    const __m256i y = _mm256_loadu_si256((const __m256i *)(x + (size_t)Q8_0_BYTES * (size_t)k + offsetof(block_q8_0, qs)));
    const __m256i isum = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(raw, y), _mm256_set1_epi16(1)), zc[k]);
    return _mm256_fmadd_ps(_mm256_set1_ps(d * sc[2 * k]), _mm256_cvtepi32_ps(isum), acc);
}

AVX2 static inline __attribute__((always_inline)) float
row_dot_lab_decode(const int bits, const int split, const int g32, const ck_lab *l, const uint8_t *w, const uint8_t *x, const float *sc,
                   const __m256i *zc, int chunks) {
    const size_t block = l->block, step = 4 * (size_t)bits;
    const int per = g32 ? 1 : l->g / 32, header = l->header;
    /* Chunks two at a time, even ones into a0 and odd ones into a1: indexed as acc[k & 1], the
     * two chains lived on the stack and each fma waited on a store and a reload. */
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int k = 0;
    if (g32) {
        for (; k + 2 <= chunks; k += 2) {
            const uint8_t *h0 = w + block * (size_t)k, *h1 = h0 + block;
            a0 = lab_decode_chunk(bits, split, a0, h16(h0), h0 + header, x, sc, zc, k);
            a1 = lab_decode_chunk(bits, split, a1, h16(h1), h1 + header, x, sc, zc, k + 1);
        }
        if (k < chunks) a0 = lab_decode_chunk(bits, split, a0, h16(w + block * (size_t)k), w + block * (size_t)k + header, x, sc, zc, k);
    } else {
        /* Larger groups: walk the chunks with their group's head and scale (read only for a
         * group that has a chunk left, so never past the row). */
        const uint8_t *head = w;
        float d = h16(head);
        int c = 0;
#define CK_NEXT_CHUNK(next)                 \
    if (++c == per) {                       \
        c = 0;                              \
        head += block;                      \
        if ((next) < chunks) d = h16(head); \
    }
        for (; k + 2 <= chunks; k += 2) {
            a0 = lab_decode_chunk(bits, split, a0, d, head + header + step * (size_t)c, x, sc, zc, k);
            CK_NEXT_CHUNK(k + 1)
            a1 = lab_decode_chunk(bits, split, a1, d, head + header + step * (size_t)c, x, sc, zc, k + 1);
            CK_NEXT_CHUNK(k + 2)
        }
#undef CK_NEXT_CHUNK
        if (k < chunks) a0 = lab_decode_chunk(bits, split, a0, d, head + header + step * (size_t)c, x, sc, zc, k);
    }
    return hsum8(_mm256_add_ps(a0, a1));
}

AVX2 static inline __attribute__((always_inline)) void
rows_lab_t(const int bits, const int asym, const int split, const ck_lab *l, const uint8_t *w, size_t ws, int r0, int r1,
           const uint8_t *x, size_t xs, int ntok, float *out, size_t os, int n) {
    /* Each chunk's activation scales (d, and s for q8_1) as floats once, as rows_##TYPE does:
     * the f16 conversion per chunk and token cost a one-token pass more than its unpacking. */
    const int nb = n / 32, xbs = asym ? Q8_1_BYTES : Q8_0_BYTES;
    float scales[64 * 2 * nb];
    /* Decode (one token, symmetric): each chunk's −zero·Σy per int32 lane, for row_dot_lab_decode. */
    __m256i zc_store[ntok == 1 && !asym ? nb : 1], *zc = NULL;
    if (ntok == 1 && !asym) {
        const __m256i zero = _mm256_set1_epi8((char)((1 << (bits - 1)) - 1));
        for (int b = 0; b < nb; b++) {
            const __m256i y = _mm256_loadu_si256((const __m256i *)(x + (size_t)xbs * (size_t)b + offsetof(block_q8_0, qs)));
            zc_store[b] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_madd_epi16(_mm256_maddubs_epi16(zero, y), _mm256_set1_epi16(1)));
        }
        zc = zc_store;
    }
    for (int t0 = 0; t0 < ntok; t0 += 64) {
        const int t1 = t0 + 64 < ntok ? t0 + 64 : ntok;
        for (int t = t0; t < t1; t++)
            for (int b = 0; b < nb; b++) {
                const uint8_t *xb = x + xs * (size_t)t + (size_t)xbs * (size_t)b;
                scales[(t - t0) * 2 * nb + 2 * b] = h16(xb);
                scales[(t - t0) * 2 * nb + 2 * b + 1] = asym ? h16(xb + offsetof(block_q8_1, s)) : 0.0f;
            }
        for (int r = r0; r < r1; r++) {
            const uint8_t *wr = w + ws * (size_t)r;
            float *o = out + (size_t)(r - r0);
            int t = t0;
            for (; t + 4 <= t1; t += 4) {
                const uint8_t *x4[4] = {x + xs * (size_t)t, x + xs * (size_t)(t + 1), x + xs * (size_t)(t + 2), x + xs * (size_t)(t + 3)};
                const float *sc4[4] = {scales + (t - t0) * 2 * nb, scales + (t + 1 - t0) * 2 * nb, scales + (t + 2 - t0) * 2 * nb,
                                       scales + (t + 3 - t0) * 2 * nb};
                row_dot_lab(bits, asym, split, 4, l, wr, x4, sc4, nb, o + os * (size_t)t, os);
            }
            for (; t < t1; t++) {
                const uint8_t *x1[1] = {x + xs * (size_t)t};
                const float *sc1[1] = {scales + (t - t0) * 2 * nb};
                if (zc && l->g == 32) o[os * (size_t)t] = row_dot_lab_decode(bits, split, 1, l, wr, x1[0], sc1[0], zc, nb);
                else if (zc) o[os * (size_t)t] = row_dot_lab_decode(bits, split, 0, l, wr, x1[0], sc1[0], zc, nb);
                else row_dot_lab(bits, asym, split, 1, l, wr, x1, sc1, nb, o + os * (size_t)t, os);
            }
        }
    }
}

#define CK_LAB(B)                                                                                                    \
    AVX2 static void rows_lab_##B(int asym, const ck_lab *l, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, \
                                  size_t xs, int ntok, float *out, size_t os, int n) {                                \
        if (asym) rows_lab_t(B, 1, 0, l, w, ws, r0, r1, x, xs, ntok, out, os, n);                                      \
        else rows_lab_t(B, 0, 0, l, w, ws, r0, r1, x, xs, ntok, out, os, n);                                           \
    }
CK_LAB(2)
CK_LAB(3)
CK_LAB(4)
CK_LAB(5)
CK_LAB(6)
CK_LAB(7)

AVX2 static void rows_lab_6_split(int asym, const ck_lab *l, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs,
                                  int ntok, float *out, size_t os, int n) {
    if (asym) rows_lab_t(6, 1, 1, l, w, ws, r0, r1, x, xs, ntok, out, os, n);
    else rows_lab_t(6, 0, 1, l, w, ws, r0, r1, x, xs, ntok, out, os, n);
}

void ck_avx2_matmul_lab_split(int bits, int group, int asymmetric, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x,
                              size_t xs, int ntok, float *out, size_t os, int n) {
    const ck_lab l = ck_lab_layout(bits, group, asymmetric, n);
    if (bits == 6) rows_lab_6_split(asymmetric, &l, w, ws, r0, r1, x, xs, ntok, out, os, n);
    else ck_ref_matmul_lab_split(bits, group, asymmetric, w, ws, r0, r1, x, xs, ntok, out, os, n);
}

void ck_avx2_matmul_lab(int bits, int group, int asymmetric, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x,
                        size_t xs, int ntok, float *out, size_t os, int n) {
    const ck_lab l = ck_lab_layout(bits, group, asymmetric, n);
    switch (bits) {
    case 2: rows_lab_2(asymmetric, &l, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    case 3: rows_lab_3(asymmetric, &l, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    case 4: rows_lab_4(asymmetric, &l, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    case 5: rows_lab_5(asymmetric, &l, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    case 6: rows_lab_6(asymmetric, &l, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    default: rows_lab_7(asymmetric, &l, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    }
}

AVX2 static inline float dot_f32_avx2(const float *a, const float *b, int n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum8(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/* One f32 or f16 row against NT activation rows at once, each dot in the same order as
 * dot_f32_avx2 (two accumulators over 16-element steps, then an 8-element step,
 * hsum8 of their sum, then the scalar tail), so the results are theirs; the row is loaded and
 * converted once for NT tokens instead of once per token. */
AVX2 static inline __attribute__((always_inline)) void
row_float(const int f16, const int NT, const uint8_t *w, const float *const *x, int n, float *out, size_t os) {
#define LOADW(i) (f16 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + (i)))) : _mm256_loadu_ps((const float *)w + (i)))
    __m256 s0[4], s1[4];
    for (int t = 0; t < NT; t++) s0[t] = s1[t] = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        if (NT == 1) _mm_prefetch((const char *)w + (f16 ? 2 : 4) * i + CK_AHEAD, _MM_HINT_T0);
        const __m256 a = LOADW(i), b = LOADW(i + 8);
        for (int t = 0; t < NT; t++) {
            s0[t] = _mm256_fmadd_ps(a, _mm256_loadu_ps(x[t] + i), s0[t]);
            s1[t] = _mm256_fmadd_ps(b, _mm256_loadu_ps(x[t] + i + 8), s1[t]);
        }
    }
    if (i + 8 <= n) {
        const __m256 a = LOADW(i);
        for (int t = 0; t < NT; t++) s0[t] = _mm256_fmadd_ps(a, _mm256_loadu_ps(x[t] + i), s0[t]);
        i += 8;
    }
#undef LOADW
    for (int t = 0; t < NT; t++) {
        float sum = hsum8(_mm256_add_ps(s0[t], s1[t]));
        for (int k = i; k < n; k++) sum += (f16 ? _cvtsh_ss(((const uint16_t *)w)[k]) : ((const float *)w)[k]) * x[t][k];
        out[os * (size_t)t] = sum;
    }
}

/* Prefill (two or more tokens): a register tile of RM weight rows × RN tokens, as llama.cpp's
 * x86 sgemm (its llamafile tinyBLAS) tiles its float GEMMs. Per 8 columns the RM weight vectors
 * are loaded (and widened from f16) once and each of the RN activation vectors once, for RM·RN
 * FMAs into RM·RN accumulators: 3 × 4 takes 12 accumulators, 3 weight vectors and 1 activation
 * vector, the 16 registers AVX2 has, and 7 loads per 12 FMAs where the one-row body makes 5 per 4.
 * Each output is one 8-lane chain over the columns, hsum8, then the scalar tail: a different
 * order from the one-token body (row_float), within the harness's reassociation bound. */
#define FT_RM 3
#define FT_RN 4
AVX2 static inline __attribute__((always_inline)) void
tile_float(const int f16, const int RM, const int RN, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, int n, float *out,
           size_t os) {
    __m256 acc[FT_RM][FT_RN];
    for (int m = 0; m < RM; m++)
        for (int t = 0; t < RN; t++) acc[m][t] = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a[FT_RM];
        for (int m = 0; m < RM; m++)
            a[m] = f16 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + ws * (size_t)m + 2 * (size_t)i)))
                       : _mm256_loadu_ps((const float *)(w + ws * (size_t)m) + i);
        for (int t = 0; t < RN; t++) {
            const __m256 b = _mm256_loadu_ps((const float *)(x + xs * (size_t)t) + i);
            for (int m = 0; m < RM; m++) acc[m][t] = _mm256_fmadd_ps(a[m], b, acc[m][t]);
        }
    }
    for (int m = 0; m < RM; m++)
        for (int t = 0; t < RN; t++) {
            const uint8_t *wr = w + ws * (size_t)m;
            const float *xt = (const float *)(x + xs * (size_t)t);
            float sum = hsum8(acc[m][t]);
            for (int k = i; k < n; k++) sum += (f16 ? _cvtsh_ss(((const uint16_t *)wr)[k]) : ((const float *)wr)[k]) * xt[k];
            out[os * (size_t)t + (size_t)m] = sum;
        }
}

/* One function per tile shape (the full tile and the row and token remainders). */
#define CK_FT(F, RM, RN)                                                                                                   \
    AVX2 static void tile_float_##F##_##RM##_##RN(const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, int n, float *out, \
                                                 size_t os) {                                                          \
        tile_float(F, RM, RN, w, ws, x, xs, n, out, os);                                                               \
    }
#define CK_FT_ROWS(F, RM) CK_FT(F, RM, 1) CK_FT(F, RM, 2) CK_FT(F, RM, 3) CK_FT(F, RM, 4)
CK_FT_ROWS(0, 1) CK_FT_ROWS(0, 2) CK_FT_ROWS(0, 3)
CK_FT_ROWS(1, 1) CK_FT_ROWS(1, 2) CK_FT_ROWS(1, 3)
typedef void (*tile_float_fn)(const uint8_t *, size_t, const uint8_t *, size_t, int, float *, size_t);
#define CK_FT_ROW(F, RM) {tile_float_##F##_##RM##_1, tile_float_##F##_##RM##_2, tile_float_##F##_##RM##_3, tile_float_##F##_##RM##_4}
static const tile_float_fn tile_float_fns[2][FT_RM][FT_RN] = {{CK_FT_ROW(0, 1), CK_FT_ROW(0, 2), CK_FT_ROW(0, 3)},
                                                              {CK_FT_ROW(1, 1), CK_FT_ROW(1, 2), CK_FT_ROW(1, 3)}};

/* Tokens in chunks of 64 (64 rows of 1536 floats, 384 KB, stay in L2 while the weight rows pass),
 * rows by FT_RM (their 3 rows stay in L1 while the chunk's tokens pass), tokens by FT_RN. */
AVX2 static void tiles_float(int f16, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                             size_t os, int n) {
    for (int t0 = 0; t0 < ntok; t0 += 64) {
        const int t1 = t0 + 64 < ntok ? t0 + 64 : ntok;
        for (int r = r0; r < r1; r += FT_RM) {
            const int rm = r1 - r < FT_RM ? r1 - r : FT_RM;
            for (int t = t0; t < t1; t += FT_RN) {
                const int rn = t1 - t < FT_RN ? t1 - t : FT_RN;
                tile_float_fns[f16][rm - 1][rn - 1](w + ws * (size_t)r, ws, x + xs * (size_t)t, xs, n, out + os * (size_t)t + (size_t)(r - r0),
                                                    os);
            }
        }
    }
}

AVX2 static void rows_float(int f16, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok,
                            float *out, size_t os, int n) {
    for (int t0 = 0; t0 < ntok; t0 += 64) {
        const int t1 = t0 + 64 < ntok ? t0 + 64 : ntok;
        for (int r = r0; r < r1; r++) {
            const uint8_t *wr = w + ws * (size_t)r;
            float *o = out + (size_t)(r - r0);
            int t = t0;
            for (; t + 4 <= t1; t += 4) {
                const float *x4[4] = {(const float *)(x + xs * (size_t)t), (const float *)(x + xs * (size_t)(t + 1)),
                                      (const float *)(x + xs * (size_t)(t + 2)), (const float *)(x + xs * (size_t)(t + 3))};
                if (f16) row_float(1, 4, wr, x4, n, o + os * (size_t)t, os);
                else row_float(0, 4, wr, x4, n, o + os * (size_t)t, os);
            }
            for (; t < t1; t++) {
                const float *x1[1] = {(const float *)(x + xs * (size_t)t)};
                if (f16) row_float(1, 1, wr, x1, n, o + os * (size_t)t, os);
                else row_float(0, 1, wr, x1, n, o + os * (size_t)t, os);
            }
        }
    }
}

AVX2 static void f32_to_f16_avx2(const float *x, uint16_t *y, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = ck_f32_to_f16_one(x[i]);
}

AVX2 static void quantize_act_avx2(int act, const float *x, uint8_t *out, int n) {
    const size_t bs = act == CK_ACT_Q8_1 ? Q8_1_BYTES : Q8_0_BYTES,
                 qo = act == CK_ACT_Q8_1 ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int b = 0; b < n / 32; b++) {
        const float *xb = x + 32 * b;
        uint8_t *ob = out + bs * b;
        __m256 v0 = _mm256_loadu_ps(xb), v1 = _mm256_loadu_ps(xb + 8);
        __m256 v2 = _mm256_loadu_ps(xb + 16), v3 = _mm256_loadu_ps(xb + 24);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v0, absmask), _mm256_and_ps(v1, absmask)),
                                 _mm256_max_ps(_mm256_and_ps(v2, absmask), _mm256_and_ps(v3, absmask)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        const float d = amax / 127.0f, id = amax != 0 ? 127.0f / amax : 0.0f;
        const __m256 vid = _mm256_set1_ps(id);
#define rnd (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
        __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, vid), rnd));
        __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, vid), rnd));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, vid), rnd));
        __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, vid), rnd));
        const uint16_t hd = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        memcpy(ob, &hd, 2);
        if (act == CK_ACT_Q8_1) {
            __m256i s = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
            __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            s4 = _mm_hadd_epi32(s4, s4);
            s4 = _mm_hadd_epi32(s4, s4);
            const uint16_t hs = _cvtss_sh((float)_mm_cvtsi128_si32(s4) * d, _MM_FROUND_TO_NEAREST_INT);
            memcpy(ob + offsetof(block_q8_1, s), &hs, 2);
        }
        i0 = _mm256_packs_epi32(i0, i1);
        i2 = _mm256_packs_epi32(i2, i3);
        i0 = _mm256_packs_epi16(i0, i2);
        i0 = _mm256_permutevar8x32_epi32(i0, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(ob + qo), i0);
#undef rnd
    }
}


void ck_avx2_quantize_act(int act, const float *x, uint8_t *out, int n) { quantize_act_avx2(act, x, out, n); }

void ck_avx2_matmul(int type, int block_order, const uint8_t *W, size_t w_stride, int r0, int r1, const uint8_t *X,
                    size_t x_stride, int ntok, float *out, size_t out_stride, int n) {
    if (block_order && type == CK_Q4_0) { rows_q4_0_blocks(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return; }
    if (block_order && type == CK_IQ4_NL) { rows_iq4_nl_blocks(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return; }
#ifndef CK_NO_ONE_TOKEN
    if (ntok == 1 && (type == CK_Q5_0 || type == CK_Q4_1 || type == CK_Q5_1)) { one_token(type, W, w_stride, r0, r1, X, out, n); return; }
#endif
    switch (type) {
    case CK_Q4_0: rows_CK_Q4_0(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
    case CK_Q4_1: rows_CK_Q4_1(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
    case CK_Q5_0:
        if (ntok >= 2) rows4_q5_0(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
        else rows_CK_Q5_0(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
        return;
    case CK_Q5_1: rows_CK_Q5_1(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
    case CK_IQ4_NL:
        if (ntok >= 2) rows4_iq4_nl(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
        else rows_CK_IQ4_NL(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
        return;
    case CK_Q2_K: rows_k_CK_Q2_K(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
    case CK_Q3_K: rows_k_CK_Q3_K(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
    case CK_Q4_K: rows_k_CK_Q4_K(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
    case CK_Q5_K: rows_k_CK_Q5_K(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
    case CK_Q6_K: rows_q6_K(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
    case CK_Q8_0:
        /* One token (decode) reads each weight once: nothing to prepare |w| for. */
        if (ntok >= 2) rows4_q8_0(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
        else rows_CK_Q8_0(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
        return;
    case CK_F32: case CK_F16:
        if (ntok >= 2) tiles_float(type == CK_F16, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
        else rows_float(type == CK_F16, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
        return;
    }
    ck_ref_matmul(type, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
}

void ck_avx2_float_rows(int f16, const uint8_t *W, size_t w_stride, int r0, int r1, const uint8_t *X, size_t x_stride, int ntok,
                        float *out, size_t out_stride, int n) {
    rows_float(f16, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
}

void ck_avx2_packed(int type, const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out, size_t os,
                    int n) {
    if (type == CK_IQ4_NL) packed_iq4_nl(packed, r0, r1, x, xs, ntok, out, os, n);
    else packed_q4_0(packed, r0, r1, x, xs, ntok, out, os, n);
}

float ck_avx2_dot_f32(const float *a, const float *b, int n) { return dot_f32_avx2(a, b, n); }

void ck_avx2_f32_to_f16(const float *x, uint16_t *y, int n) { f32_to_f16_avx2(x, y, n); }

/* ---------------------------------------------------------------- attention, exp, SwiGLU */

#pragma STDC FP_CONTRACT OFF

AVX2 static inline __m256 exp8(__m256 x) {
    const __m256 shift = _mm256_set1_ps(CK_EXP_SHIFT);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(CK_LOG2E), shift);
    const __m256 n = _mm256_sub_ps(z, shift);
    const __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(CK_LN2_LO), _mm256_fnmadd_ps(n, _mm256_set1_ps(CK_LN2_HI), x));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 scale = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1))));
    const __m256 r2 = _mm256_mul_ps(r, r);
    const __m256 poly = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(CK_EXP_P5), r, _mm256_set1_ps(CK_EXP_P4)), r2,
                        _mm256_fmadd_ps(_mm256_set1_ps(CK_EXP_P3), r, _mm256_set1_ps(CK_EXP_P2))),
        r2, _mm256_mul_ps(_mm256_set1_ps(CK_EXP_P1), r));
    const __m256 absn = _mm256_andnot_ps(_mm256_set1_ps(-0.f), n);
    const __m256 big = _mm256_cmp_ps(absn, _mm256_set1_ps(126), _CMP_GT_OQ);
    const __m256 usual = _mm256_fmadd_ps(poly, scale, scale);
    if (!_mm256_movemask_ps(big)) return usual;
    const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
                                       _mm256_set1_epi32((int)0x82000000u));
    const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    const __m256 huge = _mm256_cmp_ps(absn, _mm256_set1_ps(192), _CMP_GT_OQ);
    const __m256 scaled = _mm256_blendv_ps(_mm256_mul_ps(_mm256_fmadd_ps(s2, poly, s2), s1), _mm256_mul_ps(s1, s1), huge);
    return _mm256_blendv_ps(usual, scaled, big);
}

AVX2 static void exp8_avx2(const float *x, float *y) { _mm256_storeu_ps(y, exp8(_mm256_loadu_ps(x))); }

AVX2 static void swiglu_avx2(const float *gate, const float *up, float *out, int n8) {
    const __m256 one = _mm256_set1_ps(1), zero = _mm256_setzero_ps();
    for (int i = 0; i < n8; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, exp8(_mm256_sub_ps(zero, g))));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
}

void ck_avx2_exp8(const float *x, float *y) { exp8_avx2(x, y); }

void ck_avx2_swiglu(const float *gate, const float *up, float *out, int n8) { swiglu_avx2(gate, up, out, n8); }

AVX2 static inline __m256 load8(const void *base, int kv_f16, size_t offset) {
    return kv_f16 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)base + offset)))
                  : _mm256_loadu_ps((const float *)base + offset);
}

AVX2 static inline float hsum_vec(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    const __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a2), _mm256_add_ps(a1, a3));
    const __m128 t = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    const __m128 h = _mm_hadd_ps(t, t);
    return _mm_cvtss_f32(_mm_hadd_ps(h, h));
}

/* q·k_j for a row of keys (f32, or f16 with the query already in f16 values). */
AVX2 static inline float dot_keys(const void *keys, size_t offset, int kv_f16, const float *query, int hd, int tile) {
    if (tile) {
        __m256 acc = _mm256_setzero_ps();
        for (int i = 0; i < hd; i += 8) acc = _mm256_fmadd_ps(load8(keys, kv_f16, offset + (size_t)i), _mm256_loadu_ps(query + i), acc);
        return hsum8(acc);
    }
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const int np = hd & ~31;
    for (int i = 0; i < np; i += 32) {
        a0 = _mm256_fmadd_ps(load8(keys, kv_f16, offset + (size_t)i), _mm256_loadu_ps(query + i), a0);
        a1 = _mm256_fmadd_ps(load8(keys, kv_f16, offset + (size_t)i + 8), _mm256_loadu_ps(query + i + 8), a1);
        a2 = _mm256_fmadd_ps(load8(keys, kv_f16, offset + (size_t)i + 16), _mm256_loadu_ps(query + i + 16), a2);
        a3 = _mm256_fmadd_ps(load8(keys, kv_f16, offset + (size_t)i + 24), _mm256_loadu_ps(query + i + 24), a3);
    }
    float s = hsum_vec(a0, a1, a2, a3);
    for (int i = np; i < hd; i++) {
        const float k = kv_f16 ? ck_f16_to_f32(((const uint16_t *)keys)[offset + (size_t)i]) : ((const float *)keys)[offset + (size_t)i];
        s += k * query[i];
    }
    return s;
}

/* dot_keys (untiled, hd a multiple of 32) for keys j and j + 1 at once: each key's four chains
 * and the same reduction as hsum_vec, lane for lane (the two keys' halves added in one vector,
 * then the two horizontal adds), so each result equals dot_keys'; eight chains in flight instead
 * of four, and one reduction for two keys. */
AVX2 static inline void dot2_keys(const void *keys, size_t off0, size_t off1, int kv_f16, const float *query, int hd, float *out) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    for (int i = 0; i < hd; i += 32) {
        const __m256 q0 = _mm256_loadu_ps(query + i), q1 = _mm256_loadu_ps(query + i + 8);
        const __m256 q2 = _mm256_loadu_ps(query + i + 16), q3 = _mm256_loadu_ps(query + i + 24);
        a0 = _mm256_fmadd_ps(load8(keys, kv_f16, off0 + (size_t)i), q0, a0);
        b0 = _mm256_fmadd_ps(load8(keys, kv_f16, off1 + (size_t)i), q0, b0);
        a1 = _mm256_fmadd_ps(load8(keys, kv_f16, off0 + (size_t)i + 8), q1, a1);
        b1 = _mm256_fmadd_ps(load8(keys, kv_f16, off1 + (size_t)i + 8), q1, b1);
        a2 = _mm256_fmadd_ps(load8(keys, kv_f16, off0 + (size_t)i + 16), q2, a2);
        b2 = _mm256_fmadd_ps(load8(keys, kv_f16, off1 + (size_t)i + 16), q2, b2);
        a3 = _mm256_fmadd_ps(load8(keys, kv_f16, off0 + (size_t)i + 24), q3, a3);
        b3 = _mm256_fmadd_ps(load8(keys, kv_f16, off1 + (size_t)i + 24), q3, b3);
    }
    const __m256 sa = _mm256_add_ps(_mm256_add_ps(a0, a2), _mm256_add_ps(a1, a3));
    const __m256 sb = _mm256_add_ps(_mm256_add_ps(b0, b2), _mm256_add_ps(b1, b3));
    /* [key j's low half + high half | key j+1's], then hsum_vec's two hadds in each 128-bit lane. */
    const __m256 t = _mm256_add_ps(_mm256_permute2f128_ps(sa, sb, 0x20), _mm256_permute2f128_ps(sa, sb, 0x31));
    const __m256 h = _mm256_hadd_ps(t, t);
    const __m256 r = _mm256_hadd_ps(h, h);
    out[0] = _mm256_cvtss_f32(r);
    out[1] = _mm_cvtss_f32(_mm256_extractf128_ps(r, 1));
}

/* q·k for the eight keys from position j in tile order (f16 cache, hd a multiple of 8): eight
 * independent chains, then each chain's hsum8 done for all eight at once, lane for lane the
 * same additions ((l_i + l_{i+4}), then (s0 + s2) + (s1 + s3)). Out: keys j..j+7 in order. */
AVX2 static inline __m256 hsum8x8(const __m256 *v) {
    __m256 s[4];
    for (int k = 0; k < 4; k++)
        s[k] = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * k], v[2 * k + 1], 0x20), _mm256_permute2f128_ps(v[2 * k], v[2 * k + 1], 0x31));
    /* s[k]: chain 2k's four sums in the low half, chain 2k+1's in the high half. */
    const __m256 t0 = _mm256_add_ps(_mm256_shuffle_ps(s[0], s[1], 0x44), _mm256_shuffle_ps(s[0], s[1], 0xEE));
    const __m256 t1 = _mm256_add_ps(_mm256_shuffle_ps(s[2], s[3], 0x44), _mm256_shuffle_ps(s[2], s[3], 0xEE));
    /* t0 low: chain 0 (s0+s2, s1+s3), chain 2 (…); high: chains 1, 3. t1: chains 4, 6 | 5, 7. */
    const __m256 r = _mm256_add_ps(_mm256_shuffle_ps(t0, t1, 0x88), _mm256_shuffle_ps(t0, t1, 0xDD));
    /* r: chains 0 2 4 6 | 1 3 5 7. */
    return _mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* Keys as f16 rows `stride` elements apart, or (wide) as f32 rows `stride` floats apart: the
 * same values, since every f16 is exact in f32. */
AVX2 static inline __attribute__((always_inline)) __m256 dot8_keys_tile(const int wide, const void *keys, size_t stride, size_t j,
                                                                         const float *query, int hd) {
    __m256 v[8];
    for (int k = 0; k < 8; k++) v[k] = _mm256_setzero_ps();
    for (int i = 0; i < hd; i += 8) {
        const __m256 q = _mm256_loadu_ps(query + i);
        for (int k = 0; k < 8; k++)
            v[k] = _mm256_fmadd_ps(load8(keys, !wide, stride * (j + (size_t)k) + (size_t)i), q, v[k]);
    }
    return hsum8x8(v);
}

/* P·V in tile order (eight slots, position j into slot j % 8, the first product of a slot
 * stored), eight output columns at a time with the slots in registers, over positions in blocks
 * of 64 so a block's values stay in L1 while the columns pass; then the slots reduced as hsum8
 * does. Values f16 (kv_f16) or f32. */
AVX2 static inline __attribute__((always_inline)) void
pv_tile(const int kv_f16, const float *e, const void *values, size_t stride, int length, int vd, float *acc, float *out) {
    for (int j0 = 0; j0 < length; j0 += 64) {
        const int j1 = j0 + 64 < length ? j0 + 64 : length;
        for (int d = 0; d < vd; d += 8) {
            __m256 a[8];
            float *slots = acc + 8 * (size_t)d;
            for (int k = 0; k < 8; k++) a[k] = j0 == 0 ? _mm256_setzero_ps() : _mm256_loadu_ps(slots + 8 * k);
            int j = j0;
            if (j0 == 0)
                for (int k = 0; k < 8; k++)
                    if (k < j1) a[k] = _mm256_mul_ps(_mm256_set1_ps(e[k]), load8(values, kv_f16, stride * (size_t)k + (size_t)d));
            if (j0 == 0) j = j1 < 8 ? j1 : 8;
            for (; j + 8 <= j1; j += 8)
                for (int k = 0; k < 8; k++)
                    a[k] = _mm256_fmadd_ps(_mm256_set1_ps(e[j + k]), load8(values, kv_f16, stride * (size_t)(j + k) + (size_t)d), a[k]);
            for (int k = 0; k < 8; k++)
                if (j + k < j1) a[k] = _mm256_fmadd_ps(_mm256_set1_ps(e[j + k]), load8(values, kv_f16, stride * (size_t)(j + k) + (size_t)d), a[k]);
            if (j1 < length) {
                for (int k = 0; k < 8; k++) _mm256_storeu_ps(slots + 8 * k, a[k]);
            } else {
                _mm256_storeu_ps(out + d, _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a[0], a[4]), _mm256_add_ps(a[2], a[6])),
                                                        _mm256_add_ps(_mm256_add_ps(a[1], a[5]), _mm256_add_ps(a[3], a[7]))));
            }
        }
    }
}

/* Rounds n floats (n a multiple of 8) to the nearest f16 value, in place or not. */
AVX2 static inline void round_f16_avx2(const float *x, float *y, int n) {
    for (int i = 0; i < n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
}

#define PREFETCH_ROWS 8
static inline void prefetch_row(const char *p, size_t bytes) {
    for (size_t b = 0; b < bytes; b += 64) _mm_prefetch(p + b, _MM_HINT_T0);
}

/* One query's attention. wide: the cache widened by widen_kv (keys f32 rows `stride` floats
 * apart, values transposed in `vt`, `ldv` floats a row), with an f16 cache's steps (kv_f16 and
 * batched set): the same operations on the same values, so the same bits. */
AVX2 static inline __attribute__((always_inline)) void
attention_body(const int wide, const float *q, const void *keys, const void *values, size_t stride, int length, int hd,
               const int kv_f16, int batched, float scale, float *scratch, float *out, const float *vt, size_t ldv) {
    const int padded = (length + 7) & ~7;
    float *e = scratch, *query = e + padded, *acc = query + 2 * hd;
    const int hd8 = hd & ~7;
    if (kv_f16) round_f16_avx2(q, query, hd8);
    else memcpy(query, q, sizeof(float) * (size_t)hd8);
    for (int d = hd8; d < hd; d++) query[d] = kv_f16 ? ck_f16_round(q[d]) : q[d];
    const int tile_qk = kv_f16 && batched && hd % 8 == 0;
    float maximum = -INFINITY;
    int j = 0;
    if (tile_qk) {
        __m256 vmax = _mm256_set1_ps(-INFINITY);
        const __m256 vscale = _mm256_set1_ps(scale);
        for (; j + 8 <= length; j += 8) {
            const __m256 x = _mm256_mul_ps(dot8_keys_tile(wide, keys, stride, (size_t)j, query, hd), vscale);
            _mm256_storeu_ps(e + j, x);
            vmax = _mm256_max_ps(vmax, x);
        }
        float lanes[8];
        _mm256_storeu_ps(lanes, vmax);
        for (int k = 0; k < 8; k++) if (lanes[k] > maximum) maximum = lanes[k];
    }
    /* Rows of one head are `stride` elements apart, two or more to a 4 KiB page in a GQA cache,
     * where the hardware's stream prefetch stops; ask for the row PREFETCH_ROWS ahead. */
    const size_t row_bytes = (kv_f16 && !wide ? 2 : 4) * (size_t)hd, unit = kv_f16 && !wide ? 2 : 4;
    if (!tile_qk && !wide && hd % 32 == 0)
        for (; j + 2 <= length; j += 2) {
            if (j + PREFETCH_ROWS + 1 < length) {
                prefetch_row((const char *)keys + unit * stride * (size_t)(j + PREFETCH_ROWS), row_bytes);
                prefetch_row((const char *)keys + unit * stride * (size_t)(j + PREFETCH_ROWS + 1), row_bytes);
            }
            float d[2];
            dot2_keys(keys, stride * (size_t)j, stride * (size_t)(j + 1), kv_f16, query, hd, d);
            for (int k = 0; k < 2; k++) {
                e[j + k] = d[k] * scale;
                if (e[j + k] > maximum) maximum = e[j + k];
            }
        }
    for (; j < length; j++) {
        if (j + PREFETCH_ROWS < length) prefetch_row((const char *)keys + unit * stride * (size_t)(j + PREFETCH_ROWS), row_bytes);
        e[j] = dot_keys(keys, stride * (size_t)j, kv_f16 && !wide, query, hd, tile_qk) * scale;
        if (e[j] > maximum) maximum = e[j];
    }
    for (int j = length; j < padded; j++) e[j] = -INFINITY;
    double sum = 0;
    const __m256 vmax = _mm256_set1_ps(maximum);
    for (int g = 0; g < padded; g += 8) {
        const __m256 v = exp8(_mm256_sub_ps(_mm256_loadu_ps(e + g), vmax));
        _mm256_storeu_ps(e + g, v);
        sum += (double)hsum8(v);
    }
    const float norm = (float)(1.0 / sum);
    /* The probabilities, rounded to f16 with an f16 cache (padding lanes are zeros). */
    const __m256 vnorm = _mm256_set1_ps(norm);
    for (int g = 0; g < padded; g += 8) _mm256_storeu_ps(e + g, _mm256_mul_ps(_mm256_loadu_ps(e + g), vnorm));
    if (kv_f16) round_f16_avx2(e, e, padded);
    const int lanes = batched ? 8 : 32;
    const int vd = hd & ~7;
    if (wide) {
        /* pv_tile's slots are the lanes here: slot k of output d is lane k of a[d], fed by
         * positions k, k + 8, … in turn (first product a multiply), then reduced as hsum8. */
        for (int d0 = 0; d0 < hd; d0 += 8) {
            __m256 a[8];
            const float *v = vt + ldv * (size_t)d0;
            const __m256 p0 = _mm256_loadu_ps(e);
            for (int k = 0; k < 8; k++) a[k] = _mm256_mul_ps(p0, _mm256_loadu_ps(v + ldv * (size_t)k));
            for (int j = 8; j < padded; j += 8) {
                const __m256 p = _mm256_loadu_ps(e + j);
                for (int k = 0; k < 8; k++) a[k] = _mm256_fmadd_ps(p, _mm256_loadu_ps(v + ldv * (size_t)k + (size_t)j), a[k]);
            }
            _mm256_storeu_ps(out + d0, hsum8x8(a));
        }
        return;
    }
    if (batched && vd == hd) {
        if (kv_f16) pv_tile(1, e, values, stride, length, vd, acc, out);
        else pv_tile(0, e, values, stride, length, vd, acc, out);
        return;
    }
    /* A slot's first product is stored (0 + p·v rounds like p·v); slots never reached stay 0. */
    for (int j = length; j < lanes; j++) memset(acc + (size_t)j * (size_t)hd, 0, sizeof(float) * (size_t)hd);
    for (int j = 0; j < PREFETCH_ROWS && j < length; j++) prefetch_row((const char *)values + unit * stride * (size_t)j, row_bytes);
    for (int j = 0; j < length; j++) {
        if (j + PREFETCH_ROWS < length) prefetch_row((const char *)values + unit * stride * (size_t)(j + PREFETCH_ROWS), row_bytes);
        const float p = e[j];
        const __m256 vp = _mm256_set1_ps(p);
        float *a = acc + (size_t)(j % lanes) * (size_t)hd;
        const size_t offset = stride * (size_t)j;
        if (j < lanes) {
            for (int d = 0; d < vd; d += 8) _mm256_storeu_ps(a + d, _mm256_mul_ps(vp, load8(values, kv_f16, offset + (size_t)d)));
        } else {
            for (int d = 0; d < vd; d += 8)
                _mm256_storeu_ps(a + d, _mm256_fmadd_ps(vp, load8(values, kv_f16, offset + (size_t)d), _mm256_loadu_ps(a + d)));
        }
        for (int d = vd; d < hd; d++) {
            const float v = kv_f16 ? ck_f16_to_f32(((const uint16_t *)values)[offset + (size_t)d]) : ((const float *)values)[offset + (size_t)d];
            a[d] = j < lanes ? p * v : fmaf(p, v, a[d]);
        }
    }
#define A(k, d) _mm256_loadu_ps(acc + (size_t)(k) * (size_t)hd + (d))
    for (int d = 0; d < vd; d += 8) {
        __m256 r;
        if (batched) {
            r = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(A(0, d), A(4, d)), _mm256_add_ps(A(2, d), A(6, d))),
                              _mm256_add_ps(_mm256_add_ps(A(1, d), A(5, d)), _mm256_add_ps(A(3, d), A(7, d))));
        } else {
            __m256 s[8];
            for (int l = 0; l < 8; l++) s[l] = _mm256_add_ps(_mm256_add_ps(A(l, d), A(16 + l, d)), _mm256_add_ps(A(8 + l, d), A(24 + l, d)));
            r = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s[0], s[4]), _mm256_add_ps(s[1], s[5])),
                              _mm256_add_ps(_mm256_add_ps(s[2], s[6]), _mm256_add_ps(s[3], s[7])));
        }
        _mm256_storeu_ps(out + d, r);
    }
#undef A
    for (int d = vd; d < hd; d++) {
        float l[32];
        for (int k = 0; k < lanes; k++) l[k] = acc[k * hd + d];
        out[d] = batched ? ck_reduce8(l) : ck_reduce32(l);
    }
}

AVX2 static void attention_avx2(const float *q, const void *keys, const void *values, size_t stride, int length, int hd,
                                int kv_f16, int batched, float scale, float *scratch, float *out) {
    /* The cache's element type as a constant in each body, so its loops carry no test of it. */
    if (kv_f16) attention_body(0, q, keys, values, stride, length, hd, 1, batched, scale, scratch, out, NULL, 0);
    else attention_body(0, q, keys, values, stride, length, hd, 0, batched, scale, scratch, out, NULL, 0);
}

/* An 8 × 8 block of floats transposed in registers. */
AVX2 static inline void transpose8(__m256 *r) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* An f16 cache head's positions 0 … span − 1 widened once for a group of queries: keys to f32
 * rows of hd (kw), values to f32 transposed (vt: hd rows of span rounded up to 8, the padding
 * zero), so each query's products read f32 without converting and its P·V runs along rows. */
AVX2 static void widen_kv(const uint16_t *keys, const uint16_t *values, size_t stride, int span, int hd, float *kw, float *vt) {
    const int spanp = (span + 7) & ~7;
    for (int j = 0; j < span; j++)
        for (int i = 0; i < hd; i += 8)
            _mm256_storeu_ps(kw + (size_t)j * (size_t)hd + (size_t)i,
                             _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(keys + stride * (size_t)j + (size_t)i))));
    for (int j0 = 0; j0 < spanp; j0 += 8)
        for (int d0 = 0; d0 < hd; d0 += 8) {
            __m256 r[8];
            for (int k = 0; k < 8; k++)
                r[k] = j0 + k < span ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(values + stride * (size_t)(j0 + k) + (size_t)d0)))
                                     : _mm256_setzero_ps();
            transpose8(r);
            for (int k = 0; k < 8; k++) _mm256_storeu_ps(vt + (size_t)(d0 + k) * (size_t)spanp + (size_t)j0, r[k]);
        }
}

AVX2 static void attention_group_avx2(int nq, const float *const *q, float *const *out, const int *first, const int *lengths,
                                      const uint16_t *keys, const uint16_t *values, size_t stride, int hd, float scale,
                                      float *wide, float *scratch) {
    int span = 0;
    for (int i = 0; i < nq; i++) if (first[i] + lengths[i] > span) span = first[i] + lengths[i];
    const size_t spanp = (size_t)((span + 7) & ~7);
    float *kw = wide, *vt = wide + spanp * (size_t)hd;
    widen_kv(keys, values, stride, span, hd, kw, vt);
    for (int i = 0; i < nq; i++)
        attention_body(1, q[i], kw + (size_t)first[i] * (size_t)hd, NULL, (size_t)hd, lengths[i], hd, 1, 1, scale, scratch, out[i],
                       vt + first[i], spanp);
}

void ck_avx2_attention_group(int nq, const float *const *q, float *const *out, const int *first, const int *lengths,
                             const uint16_t *keys, const uint16_t *values, size_t stride, int hd, float scale, float *wide,
                             float *scratch) {
    attention_group_avx2(nq, q, out, first, lengths, keys, values, stride, hd, scale, wide, scratch);
}

void ck_avx2_attention(const float *q, const void *keys, const void *values, size_t stride, int length, int hd, int kv_f16,
                       int batched, float scale, float *scratch, float *out) {
    attention_avx2(q, keys, values, stride, length, hd, kv_f16, batched, scale, scratch, out);
}

/* ---------------------------------------------------------------- quantized KV cache
 * ck_ref_attention_q's steps (scalar.c), bit for bit: each block's integer sum is exact in any
 * order, and the float steps are the reference's, one scalar chain per score and one lane per
 * output element. */

/* A cache block's 32 elements as signed bytes in element order. */
AVX2 static inline __m256i kv_bytes(int type, const uint8_t *block) {
    if (type == CK_Q8_0) return _mm256_loadu_si256((const __m256i *)((const block_q8_0 *)block)->qs);
    const __m128i qs = _mm_loadu_si128((const __m128i *)((const block_q4_0 *)block)->qs), low = _mm_set1_epi8(15);
    const __m256i nibbles = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(qs, 4), low), _mm_and_si128(qs, low));
    return _mm256_sub_epi8(nibbles, _mm256_set1_epi8(8));
}

/* Σ a_i·b_i over 32 signed bytes (|a|, |b| ≤ 127, so the 16-bit pair sums cannot saturate). */
AVX2 static inline int isum32(__m256i a, __m256i b) {
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
    const __m256i quads = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(quads), _mm256_extracti128_si256(quads, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

AVX2 static inline __attribute__((always_inline)) void attention_q_avx2(int type, const uint8_t *qq, const uint8_t *keys, const uint8_t *values, size_t row_bytes,
                                  int length, int hd, float scale, float *scratch, float *out) {
    const int padded = (length + 7) & ~7, nb = hd / CK_QK;
    const size_t bb = type == CK_Q8_0 ? sizeof(block_q8_0) : sizeof(block_q4_0);
    float *e = scratch;
    __m256i query[8];
    float qd[8];
    const int held = nb <= 8 ? nb : 0; /* query blocks kept in registers (hd ≤ 256) */
    for (int b = 0; b < held; b++) {
        query[b] = _mm256_loadu_si256((const __m256i *)(qq + (size_t)b * sizeof(block_q8_0) + offsetof(block_q8_0, qs)));
        qd[b] = ck_ld16(qq + (size_t)b * sizeof(block_q8_0));
    }
    float maximum = -INFINITY;
    for (int j = 0; j < length; j++) {
        const uint8_t *k = keys + row_bytes * (size_t)j;
        float s = 0;
        for (int b = 0; b < nb; b++) {
            const uint8_t *xb = qq + (size_t)b * sizeof(block_q8_0);
            const __m256i x = b < held ? query[b] : _mm256_loadu_si256((const __m256i *)(xb + offsetof(block_q8_0, qs)));
            const float dq = b < held ? qd[b] : ck_ld16(xb);
            s = fmaf((float)isum32(kv_bytes(type, k + bb * (size_t)b), x), ck_ld16(k + bb * (size_t)b) * dq, s);
        }
        e[j] = s * scale;
        if (e[j] > maximum) maximum = e[j];
    }
    for (int j = length; j < padded; j++) e[j] = -INFINITY;
    double sum = 0;
    const __m256 vmax = _mm256_set1_ps(maximum);
    for (int g = 0; g < padded; g += 8) {
        const __m256 v = exp8(_mm256_sub_ps(_mm256_loadu_ps(e + g), vmax));
        _mm256_storeu_ps(e + g, v);
        sum += (double)hsum8(v);
    }
    const float norm = (float)(1.0 / sum);
    /* Two block columns at a time (hd = 64 in one pass): their eight accumulators stay in
     * registers over every position. */
    for (int b = 0; b < nb; b += 2) {
        const int two = b + 1 < nb;
        __m256 a[8];
        for (int k = 0; k < 8; k++) a[k] = _mm256_setzero_ps();
        for (int j = 0; j < length; j++) {
            const float p = e[j] * norm;
            for (int c = 0; c <= two; c++) {
                const uint8_t *block = values + row_bytes * (size_t)j + bb * (size_t)(b + c);
                const __m256 w = _mm256_set1_ps(p * ck_ld16(block));
                const __m256i q = kv_bytes(type, block);
                const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
                a[4 * c] = _mm256_fmadd_ps(w, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), a[4 * c]);
                a[4 * c + 1] = _mm256_fmadd_ps(w, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), a[4 * c + 1]);
                a[4 * c + 2] = _mm256_fmadd_ps(w, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), a[4 * c + 2]);
                a[4 * c + 3] = _mm256_fmadd_ps(w, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), a[4 * c + 3]);
            }
        }
        for (int k = 0; k < 4 * (1 + two); k++) _mm256_storeu_ps(out + CK_QK * b + 8 * k, a[k]);
    }
}

/* One copy per type, so the block decoding is not chosen per block. */
AVX2 static void attention_q8_0_avx2(const uint8_t *qq, const uint8_t *keys, const uint8_t *values, size_t row_bytes,
                                     int length, int hd, float scale, float *scratch, float *out) {
    attention_q_avx2(CK_Q8_0, qq, keys, values, row_bytes, length, hd, scale, scratch, out);
}

AVX2 static void attention_q4_0_avx2(const uint8_t *qq, const uint8_t *keys, const uint8_t *values, size_t row_bytes,
                                     int length, int hd, float scale, float *scratch, float *out) {
    attention_q_avx2(CK_Q4_0, qq, keys, values, row_bytes, length, hd, scale, scratch, out);
}

void ck_avx2_attention_q(int type, const uint8_t *qq, const uint8_t *keys, const uint8_t *values, size_t row_bytes,
                         int length, int hd, float scale, float *scratch, float *out) {
    if (type == CK_Q8_0) attention_q8_0_avx2(qq, keys, values, row_bytes, length, hd, scale, scratch, out);
    else attention_q4_0_avx2(qq, keys, values, row_bytes, length, hd, scale, scratch, out);
}

#endif /* __x86_64__ */

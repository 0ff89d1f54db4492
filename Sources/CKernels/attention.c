/* Attention and SwiGLU with the float steps of llama.cpp's CPU backend (its x86 AVX2 build).
 *
 * Why: with 8-bit activations, a one-ulp difference anywhere before a quantizer flips some of
 * its roundings, and the flips compound layer by layer. Two engines that sum attention in
 * different orders then disagree about as much as each disagrees with F32 weights (mean KL
 * about 4e-3 on SmolLM2-135M at Q8_0). Summing in the same order makes the native engine's
 * logits match llama.cpp's on the same file, which is what lets slmbench use one to check
 * the other. Nothing here is slower than a plain loop: the orders only decide which
 * accumulator a product goes into.
 *
 * The orders (facts about ggml's CPU kernels, read from the pinned llama.cpp source):
 *  - "vec" order, ggml's plain dot product: products i < n & ~31 go into 32 accumulators
 *    (slot i % 32) with fused multiply-adds; the slots reduce as
 *    s_l = (a_l + a_{16+l}) + (a_{8+l} + a_{24+l}), t_i = s_i + s_{i+4}, (t0 + t1) + (t2 + t3);
 *    the remaining products are then added one by one.
 *  - "tile" order, llamafile's sgemm (used when a sequence has two or more tokens in the pass
 *    and the inner size is a multiple of 8): 8 accumulators (slot i % 8), reduced as
 *    a_i = l_i + l_{i+4}, (a0 + a2) + (a1 + a3).
 *  - Q·K: vec order for an f32 cache (the permuted queries never reach sgemm); for an f16
 *    cache the query is rounded to f16 first and the order is tile when batched, else vec.
 *  - softmax: x·scale, the maximum, exp(x - max) by the polynomial below in groups of 8 from
 *    position 0, each group summed in tile order into a double; probabilities are
 *    e · (float)(1 / sum), rounded to f16 when the cache is f16.
 *  - P·V: tile order when batched, else vec order, over positions.
 *  - SwiGLU per row: g / (1 + exp(0 - g)) · u with the polynomial exp in groups of 8 from the
 *    row start, the C library's expf for the last n % 8.
 * Assumed of llama.cpp's side: its attended length (n_kv) is a multiple of 32 (it pads to 256);
 * positions past the sequence contribute exact zeros. */
#include "CKernels.h"
#include "simd.h"
#include <math.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF

static inline float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint32_t to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* ---------------------------------------------------------------- exp
 * The algorithm of Arm's optimized-routines expf as ggml vectorizes it: n = round(x·log2 e)
 * by the 1.5·2^23 shift, r = x - n·ln2 in two parts, exp(r) - 1 by a degree-5 polynomial,
 * 2^n by building the exponent bits; |n| > 126 takes a scaled path that flushes past ±192. */
static const float EXP_SHIFT = 0x1.8p23f, LOG2E = 0x1.715476p+0f, LN2_HI = 0x1.62e4p-1f, LN2_LO = 0x1.7f7d1cp-20f;
static const float P5 = 0x1.0e4020p-7f, P4 = 0x1.573e2ep-5f, P3 = 0x1.555e66p-3f, P2 = 0x1.fffdb6p-2f, P1 = 0x1.ffffecp-1f;

float ck_expf(float x) {
    const float z = fmaf(x, LOG2E, EXP_SHIFT);
    const float n = z - EXP_SHIFT;
    const float r = fmaf(-n, LN2_LO, fmaf(-n, LN2_HI, x));
    const uint32_t e = to_bits(z) << 23;
    const float scale = from_bits(e + to_bits(1.0f));
    const float r2 = r * r;
    const float poly = fmaf(fmaf(fmaf(P5, r, P4), r2, fmaf(P3, r, P2)), r2, P1 * r);
    if (!(fabsf(n) > 126)) return fmaf(poly, scale, scale);
    const uint32_t g = n <= 0 ? 0x82000000u : 0;
    const float s1 = from_bits(g + 0x7f000000u), s2 = from_bits(e - g);
    if (fabsf(n) > 192) return s1 * s1;
    return fmaf(s2, poly, s2) * s1;
}

#ifdef CK_X86
AVX2 static inline __m256 exp8(__m256 x) {
    const __m256 shift = _mm256_set1_ps(EXP_SHIFT);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(LOG2E), shift);
    const __m256 n = _mm256_sub_ps(z, shift);
    const __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), x));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 scale = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1))));
    const __m256 r2 = _mm256_mul_ps(r, r);
    const __m256 poly = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(P5), r, _mm256_set1_ps(P4)), r2,
                        _mm256_fmadd_ps(_mm256_set1_ps(P3), r, _mm256_set1_ps(P2))),
        r2, _mm256_mul_ps(_mm256_set1_ps(P1), r));
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
#endif

void ck_exp8(int level, const float *x, float *y) {
#ifdef CK_X86
    if (level >= CK_LEVEL_AVX2) { exp8_avx2(x, y); return; }
#endif
    (void)level;
    for (int i = 0; i < 8; i++) y[i] = ck_expf(x[i]);
}

/* ---------------------------------------------------------------- reductions */

/* Tile order of 8 slots. */
static inline float reduce8(const float *l) {
    const float a0 = l[0] + l[4], a1 = l[1] + l[5], a2 = l[2] + l[6], a3 = l[3] + l[7];
    return (a0 + a2) + (a1 + a3);
}

/* Vec order of 32 slots, a[m·8 + l] = accumulator m, lane l. */
static inline float reduce32(const float *a) {
    float s[8];
    for (int l = 0; l < 8; l++) s[l] = (a[l] + a[16 + l]) + (a[8 + l] + a[24 + l]);
    const float t0 = s[0] + s[4], t1 = s[1] + s[5], t2 = s[2] + s[6], t3 = s[3] + s[7];
    return (t0 + t1) + (t2 + t3);
}

static inline float f16_round(float x) { return ck_f16_to_f32(ck_f32_to_f16_one(x)); }

/* ---------------------------------------------------------------- scalar reference */

static float dot_vec(const float *a, const float *b, int n) {
    float acc[32] = {0};
    const int np = n & ~31;
    for (int i = 0; i < np; i++) acc[i & 31] = fmaf(a[i], b[i], acc[i & 31]);
    float s = reduce32(acc);
    for (int i = np; i < n; i++) s += a[i] * b[i];
    return s;
}

static float dot_tile(const float *a, const float *b, int n) {
    float acc[8] = {0};
    for (int i = 0; i < n; i++) acc[i & 7] = fmaf(a[i], b[i], acc[i & 7]);
    return reduce8(acc);
}

static void load_row(const void *base, size_t stride, int j, int kv_f16, int hd, float *row) {
    if (kv_f16) {
        const uint16_t *r = (const uint16_t *)base + stride * (size_t)j;
        for (int d = 0; d < hd; d++) row[d] = ck_f16_to_f32(r[d]);
    } else {
        memcpy(row, (const float *)base + stride * (size_t)j, sizeof(float) * (size_t)hd);
    }
}

static void attention_scalar(const float *q, const void *keys, const void *values, size_t stride, int length, int hd,
                             int kv_f16, int batched, float scale, float *scratch, float *out) {
    const int padded = (length + 7) & ~7;
    float *e = scratch, *query = e + padded, *row = query + hd, *acc = row + hd;
    for (int d = 0; d < hd; d++) query[d] = kv_f16 ? f16_round(q[d]) : q[d];
    const int tile_qk = kv_f16 && batched && hd % 8 == 0;
    float maximum = -INFINITY;
    for (int j = 0; j < length; j++) {
        load_row(keys, stride, j, kv_f16, hd, row);
        e[j] = (tile_qk ? dot_tile(row, query, hd) : dot_vec(row, query, hd)) * scale;
        if (e[j] > maximum) maximum = e[j];
    }
    double sum = 0;
    for (int g = 0; g < padded; g += 8) {
        for (int j = g; j < g + 8; j++) e[j] = j < length ? ck_expf(e[j] - maximum) : 0;
        sum += (double)reduce8(e + g);
    }
    const float norm = (float)(1.0 / sum);
    const int lanes = batched ? 8 : 32;
    for (int j = 0; j < lanes * hd; j++) acc[j] = 0;
    for (int j = 0; j < length; j++) {
        float p = e[j] * norm;
        if (kv_f16) p = f16_round(p);
        load_row(values, stride, j, kv_f16, hd, row);
        float *a = acc + (size_t)(j % lanes) * (size_t)hd;
        for (int d = 0; d < hd; d++) a[d] = fmaf(p, row[d], a[d]);
    }
    for (int d = 0; d < hd; d++) {
        float l[32];
        for (int k = 0; k < lanes; k++) l[k] = acc[k * hd + d];
        out[d] = batched ? reduce8(l) : reduce32(l);
    }
}

/* ---------------------------------------------------------------- AVX2 */
#ifdef CK_X86
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

/* q·k for the eight keys from position j in tile order (f16 cache, hd a multiple of 8): eight
 * independent chains, then each chain's hsum8 done for all eight at once, lane for lane the
 * same additions ((l_i + l_{i+4}), then (s0 + s2) + (s1 + s3)). Out: keys j..j+7 in order. */
AVX2 static inline __m256 dot8_keys_tile(const uint16_t *keys, size_t stride, size_t j, const float *query, int hd) {
    __m256 v[8];
    for (int k = 0; k < 8; k++) v[k] = _mm256_setzero_ps();
    for (int i = 0; i < hd; i += 8) {
        const __m256 q = _mm256_loadu_ps(query + i);
        for (int k = 0; k < 8; k++)
            v[k] = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(keys + stride * (j + (size_t)k) + (size_t)i))), q, v[k]);
    }
    __m256 s[4];
    for (int k = 0; k < 4; k++)
        s[k] = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * k], v[2 * k + 1], 0x20), _mm256_permute2f128_ps(v[2 * k], v[2 * k + 1], 0x31));
    /* s[k]: key 2k's four sums in the low half, key 2k+1's in the high half. */
    const __m256 t0 = _mm256_add_ps(_mm256_shuffle_ps(s[0], s[1], 0x44), _mm256_shuffle_ps(s[0], s[1], 0xEE));
    const __m256 t1 = _mm256_add_ps(_mm256_shuffle_ps(s[2], s[3], 0x44), _mm256_shuffle_ps(s[2], s[3], 0xEE));
    /* t0 low: key 0 (s0+s2, s1+s3), key 2 (…); high: keys 1, 3. t1: keys 4, 6 | 5, 7. */
    const __m256 r = _mm256_add_ps(_mm256_shuffle_ps(t0, t1, 0x88), _mm256_shuffle_ps(t0, t1, 0xDD));
    /* r: keys 0 2 4 6 | 1 3 5 7. */
    return _mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
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

AVX2 static void attention_avx2(const float *q, const void *keys, const void *values, size_t stride, int length, int hd,
                                int kv_f16, int batched, float scale, float *scratch, float *out) {
    const int padded = (length + 7) & ~7;
    float *e = scratch, *query = e + padded, *acc = query + 2 * hd;
    const int hd8 = hd & ~7;
    if (kv_f16) round_f16_avx2(q, query, hd8);
    else memcpy(query, q, sizeof(float) * (size_t)hd8);
    for (int d = hd8; d < hd; d++) query[d] = kv_f16 ? f16_round(q[d]) : q[d];
    const int tile_qk = kv_f16 && batched && hd % 8 == 0;
    float maximum = -INFINITY;
    int j = 0;
    if (tile_qk) {
        __m256 vmax = _mm256_set1_ps(-INFINITY);
        const __m256 vscale = _mm256_set1_ps(scale);
        for (; j + 8 <= length; j += 8) {
            const __m256 x = _mm256_mul_ps(dot8_keys_tile((const uint16_t *)keys, stride, (size_t)j, query, hd), vscale);
            _mm256_storeu_ps(e + j, x);
            vmax = _mm256_max_ps(vmax, x);
        }
        float lanes[8];
        _mm256_storeu_ps(lanes, vmax);
        for (int k = 0; k < 8; k++) if (lanes[k] > maximum) maximum = lanes[k];
    }
    for (; j < length; j++) {
        e[j] = dot_keys(keys, stride * (size_t)j, kv_f16, query, hd, tile_qk) * scale;
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
    if (batched && vd == hd) {
        if (kv_f16) pv_tile(1, e, values, stride, length, vd, acc, out);
        else pv_tile(0, e, values, stride, length, vd, acc, out);
        return;
    }
    /* A slot's first product is stored (0 + p·v rounds like p·v); slots never reached stay 0. */
    for (int j = length; j < lanes; j++) memset(acc + (size_t)j * (size_t)hd, 0, sizeof(float) * (size_t)hd);
    for (int j = 0; j < length; j++) {
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
        out[d] = batched ? reduce8(l) : reduce32(l);
    }
}
#endif

size_t ck_attention_scratch(int context, int hd) {
    return (size_t)((context + 7) & ~7) + 2 * (size_t)hd + 32 * (size_t)hd;
}

void ck_attention_head(int level, const float *q, const void *keys, const void *values, size_t stride, int length, int hd,
                       int kv_f16, int batched, float scale, float *scratch, float *out) {
#ifdef CK_X86
    if (level >= CK_LEVEL_AVX2) { attention_avx2(q, keys, values, stride, length, hd, kv_f16, batched, scale, scratch, out); return; }
#endif
    attention_scalar(q, keys, values, stride, length, hd, kv_f16, batched, scale, scratch, out);
}

/* ---------------------------------------------------------------- SwiGLU */

void ck_swiglu(int level, const float *gate, const float *up, float *out, int n) {
    const int n8 = n & ~7;
    int i = 0;
#ifdef CK_X86
    if (level >= CK_LEVEL_AVX2) {
        swiglu_avx2(gate, up, out, n8);
        i = n8;
    }
#else
    (void)level;
#endif
    for (; i < n8; i++) out[i] = gate[i] / (1.0f + ck_expf(0.0f - gate[i])) * up[i];
    for (; i < n; i++) out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

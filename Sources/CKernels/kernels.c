/* Native engine kernels: scalar reference bodies plus AVX2 bodies picked at run time.
 * Block layouts (llama.cpp's, bytes):
 *   q4_0 {f16 d; u8 qs[16]}          value = (nibble - 8) d      low nibbles: elements 0-15
 *   q4_1 {f16 d; f16 m; u8 qs[16]}   value = nibble d + m        high nibbles: elements 16-31
 *   q5_0 {f16 d; u8 qh[4]; u8 qs[16]} value = (nibble | bit << 4) - 16) d, bit j of qh → element j
 *   q5_1 {f16 d; f16 m; u8 qh[4]; u8 qs[16]}
 *   q8_0 {f16 d; i8 qs[32]}
 *   q8_1 {f16 d; f16 s; i8 qs[32]}   s = d * sum(qs)   (activations only) */
#include "CKernels.h"
#include "simd.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int ck_level_supported(int level) {
    if (level == CK_LEVEL_SCALAR) return 1;
#ifdef CK_X86
    if (level == CK_LEVEL_AVX2) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    }
#endif
    return 0;
}


/* ---------------------------------------------------------------- half floats (portable) */

float ck_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0) {
        float v = ldexpf((float)man, -24); /* zero or subnormal */
        return sign ? -v : v;
    }
    if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 112u) << 23) | (man << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint16_t f32_to_f16_soft(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds past 65504 */
    if (ax < 0x38800000u) {                                   /* below 2^-14: subnormal */
        float v;
        memcpy(&v, &ax, 4);
        return (uint16_t)(sign | (uint32_t)nearbyintf(v * 16777216.0f));
    }
    uint32_t h = ((ax >> 23) - 112u) << 10 | ((ax & 0x7fffffu) >> 13);
    uint32_t rest = ax & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
    return (uint16_t)(sign | h);
}

uint16_t ck_f32_to_f16_one(float f) { return f32_to_f16_soft(f); }

static inline float ld16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return ck_f16_to_f32(h);
}

/* ---------------------------------------------------------------- lab types */

/* Groups of a lab type with the bit width fixed at compile time: eight codes fill exactly BITS
 * bytes, so each run of eight is one fixed-size load and constant shifts. */
#define LAB_GROUPS(BITS)                                                                            \
    static void lab_groups_##BITS(const uint8_t *src, float *dst, int groups, int g, size_t block,  \
                                  int header, int asymmetric) {                                     \
        const uint64_t mask = (1u << BITS) - 1u;                                                    \
        const int zero = (1 << (BITS - 1)) - 1;                                                     \
        for (int b = 0; b < groups; b++) {                                                          \
            const uint8_t *p = src + (size_t)b * block;                                             \
            const float d = ld16(p), m = asymmetric ? ld16(p + 2) : 0.0f;                          \
            const uint8_t *q = p + header;                                                          \
            float *o = dst + (size_t)b * g;                                                         \
            for (int j = 0; j + 8 <= g; j += 8, q += BITS) {                                        \
                uint64_t v = 0;                                                                     \
                memcpy(&v, q, BITS);                                                                \
                for (int k = 0; k < 8; k++) {                                                       \
                    const int code = (int)((v >> (k * BITS)) & mask);                               \
                    o[j + k] = asymmetric ? (float)code * d + m : (float)(code - zero) * d;         \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    }
LAB_GROUPS(2)
LAB_GROUPS(3)
LAB_GROUPS(4)
LAB_GROUPS(5)
LAB_GROUPS(6)
LAB_GROUPS(7)
LAB_GROUPS(8)

/* One row of a lab type (uniform `bits`-bit codes in groups of `group` elements, or one group
 * per row when group == 0): per group an f16 scale, an f16 minimum when asymmetric, then the
 * codes packed little-endian, code j at bits [j*bits, (j+1)*bits). */
void ck_dequant_lab(const uint8_t *src, float *dst, int n, int bits, int group, int asymmetric) {
    const int g = group > 0 ? group : n;
    const int header = asymmetric ? 4 : 2;
    const size_t block = (size_t)header + ((size_t)g * (size_t)bits + 7) / 8;
    const int groups = n / g;
    if (g % 8 == 0) {
        switch (bits) {
        case 2: lab_groups_2(src, dst, groups, g, block, header, asymmetric); return;
        case 3: lab_groups_3(src, dst, groups, g, block, header, asymmetric); return;
        case 4: lab_groups_4(src, dst, groups, g, block, header, asymmetric); return;
        case 5: lab_groups_5(src, dst, groups, g, block, header, asymmetric); return;
        case 6: lab_groups_6(src, dst, groups, g, block, header, asymmetric); return;
        case 7: lab_groups_7(src, dst, groups, g, block, header, asymmetric); return;
        case 8: lab_groups_8(src, dst, groups, g, block, header, asymmetric); return;
        default: break;
        }
    }
    /* Any other shape (a row-wise group whose length is not a multiple of 8): code by code,
     * streaming the packed bytes through a 64-bit window. */
    const int zero = (1 << (bits - 1)) - 1;
    const uint64_t mask = (1u << bits) - 1u;
    for (int b = 0; b < groups; b++) {
        const uint8_t *p = src + (size_t)b * block;
        const float d = ld16(p), m = asymmetric ? ld16(p + 2) : 0.0f;
        const uint8_t *q = p + header;
        float *o = dst + (size_t)b * g;
        uint64_t window = 0;
        int have = 0;
        for (int j = 0; j < g; j++) {
            while (have < bits) { window |= (uint64_t)(*q++) << have; have += 8; }
            const int code = (int)(window & mask);
            window >>= bits;
            have -= bits;
            o[j] = asymmetric ? (float)code * d + m : (float)(code - zero) * d;
        }
    }
}

/* ---------------------------------------------------------------- formats */

int ck_weight_supported(int type, int *act) {
    int a;
    switch (type) {
    case CK_F32: case CK_F16: a = CK_ACT_F32; break;
    case CK_Q4_0: case CK_Q5_0: case CK_Q8_0: a = CK_ACT_Q8_0; break;
    case CK_Q4_1: case CK_Q5_1: a = CK_ACT_Q8_1; break;
    default: return 0;
    }
    if (act) *act = a;
    return 1;
}

size_t ck_act_row_bytes(int act, int n) {
    switch (act) {
    case CK_ACT_Q8_0: return (size_t)(n / 32) * 34;
    case CK_ACT_Q8_1: return (size_t)(n / 32) * 36;
    default: return (size_t)n * 4;
    }
}

static void quantize_act_scalar(int act, const float *x, uint8_t *out, int n) {
    const size_t bs = act == CK_ACT_Q8_1 ? 36 : 34, qo = act == CK_ACT_Q8_1 ? 4 : 2;
    for (int b = 0; b < n / 32; b++) {
        const float *xb = x + 32 * b;
        uint8_t *ob = out + bs * b;
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(xb[j]));
        const float d = amax / 127.0f, id = amax != 0 ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int q = (int)nearbyintf(xb[j] * id);
            ((int8_t *)(ob + qo))[j] = (int8_t)q;
            sum += q;
        }
        uint16_t hd = f32_to_f16_soft(d);
        memcpy(ob, &hd, 2);
        if (act == CK_ACT_Q8_1) {
            uint16_t hs = f32_to_f16_soft((float)sum * d);
            memcpy(ob + 2, &hs, 2);
        }
    }
}

/* Bytes of one 32-weight block of a quantized type with a direct kernel (layouts at the top). */
static inline int block_bytes(const int type) {
    switch (type) {
    case CK_Q4_0: return 18;
    case CK_Q5_0: return 22;
    case CK_Q8_0: return 34;
    case CK_Q4_1: return 20;
    default: return 24; /* CK_Q5_1 */
    }
}

/* Scalar dot of one weight row with one activation row: the reference the AVX2 bodies match
 * up to float summation order. */
static float dot_scalar(int type, const uint8_t *w, const uint8_t *x, int n) {
    const int nb = n / 32;
    float sum = 0;
    switch (type) {
    case CK_F32: {
        const float *a = (const float *)w, *b = (const float *)x;
        for (int i = 0; i < n; i++) sum += a[i] * b[i];
        return sum;
    }
    case CK_F16: {
        const float *b = (const float *)x;
        for (int i = 0; i < n; i++) sum += ld16(w + 2 * i) * b[i];
        return sum;
    }
    case CK_Q8_0:
        for (int b = 0; b < nb; b++) {
            const uint8_t *wb = w + block_bytes(CK_Q8_0) * b, *xb = x + 34 * b;
            int s = 0;
            for (int j = 0; j < 32; j++) s += (int8_t)wb[2 + j] * (int8_t)xb[2 + j];
            sum += (float)s * ld16(wb) * ld16(xb);
        }
        return sum;
    case CK_Q4_0: case CK_Q5_0: {
        const int five = type == CK_Q5_0, bs = block_bytes(type), qs = five ? 6 : 2;
        for (int b = 0; b < nb; b++) {
            const uint8_t *wb = w + bs * b, *xb = x + 34 * b;
            uint32_t qh = 0;
            if (five) memcpy(&qh, wb + 2, 4);
            int s = 0;
            for (int j = 0; j < 16; j++) {
                int lo = wb[qs + j] & 15, hi = wb[qs + j] >> 4;
                if (five) { lo |= ((qh >> j) & 1) << 4; hi |= ((qh >> (j + 16)) & 1) << 4; }
                const int off = five ? 16 : 8;
                s += (lo - off) * (int8_t)xb[2 + j] + (hi - off) * (int8_t)xb[2 + j + 16];
            }
            sum += (float)s * ld16(wb) * ld16(xb);
        }
        return sum;
    }
    case CK_Q4_1: case CK_Q5_1: {
        const int five = type == CK_Q5_1, bs = block_bytes(type), qs = five ? 8 : 4;
        for (int b = 0; b < nb; b++) {
            const uint8_t *wb = w + bs * b, *xb = x + 36 * b;
            uint32_t qh = 0;
            if (five) memcpy(&qh, wb + 4, 4);
            int s = 0;
            for (int j = 0; j < 16; j++) {
                int lo = wb[qs + j] & 15, hi = wb[qs + j] >> 4;
                if (five) { lo |= ((qh >> j) & 1) << 4; hi |= ((qh >> (j + 16)) & 1) << 4; }
                s += lo * (int8_t)xb[4 + j] + hi * (int8_t)xb[4 + j + 16];
            }
            sum += (float)s * ld16(wb) * ld16(xb) + ld16(wb + 2) * ld16(xb + 2);
        }
        return sum;
    }
    }
    return 0;
}

/* ---------------------------------------------------------------- AVX2 */
#ifdef CK_X86

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
    const uint8_t *p = w + block_bytes(type) * b;
    r.d = h16(p);
    switch (type) {
    case CK_Q4_0: r.q = _mm256_sub_epi8(nibbles(p + 2), _mm256_set1_epi8(8)); break;
    case CK_Q5_0: r.q = _mm256_sub_epi8(_mm256_or_si256(nibbles(p + 6), fifth_bits(p + 2)), _mm256_set1_epi8(16)); break;
    case CK_Q8_0: r.q = _mm256_loadu_si256((const __m256i *)(p + 2)); break;
    case CK_Q4_1: r.m = h16(p + 2); r.q = nibbles(p + 4); break;
    default: /* CK_Q5_1 */ r.m = h16(p + 2); r.q = _mm256_or_si256(nibbles(p + 8), fifth_bits(p + 4)); break;
    }
    return r;
}

/* One weight row against NT activation rows (NT a constant after inlining). `sc[t]` holds that
 * row's block scales as floats, two per block (d, then s for q8_1), converted once per chunk. */
AVX2 static inline __attribute__((always_inline)) void
row_dot(const int type, const int NT, const uint8_t *w, const uint8_t *const *x, const float *const *sc, int nb,
        float *out, size_t out_stride) {
    const int affine = type == CK_Q4_1 || type == CK_Q5_1;
    const int xbs = affine ? 36 : 34, xq = affine ? 4 : 2;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    float mins[4] = {0, 0, 0, 0};
    for (int b = 0; b < nb; b++) {
        if (NT == 1) _mm_prefetch((const char *)w + block_bytes(type) * b + CK_AHEAD, _MM_HINT_T0);
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
        const int affine = TYPE == CK_Q4_1 || TYPE == CK_Q5_1, xbs = affine ? 36 : 34;        \
        float scales[64 * 2 * nb];                                                            \
        for (int t0 = 0; t0 < ntok; t0 += 64) {                                                \
            const int t1 = t0 + 64 < ntok ? t0 + 64 : ntok;                                    \
            for (int t = t0; t < t1; t++)                                                      \
                for (int b = 0; b < nb; b++) {                                                 \
                    const uint8_t *xb = x + xs * t + (size_t)xbs * b;                          \
                    scales[(t - t0) * 2 * nb + 2 * b] = h16(xb);                               \
                    scales[(t - t0) * 2 * nb + 2 * b + 1] = affine ? h16(xb + 2) : 0.0f;       \
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

/* Q8_0 against two or more tokens: four rows by two tokens at a time, each (row, token) dot
 * in row_dot's order (the same eight lanes, one fma per block, the same final sum), so the
 * results are row_dot's bit for bit. What changes is the work per product, which bounds this
 * kernel; the integer multiplies, the conversion and the fma are fixed, so the rest shrinks:
 *   - the four rows' |w| (maddubs' unsigned operand) and scales are prepared once per group of
 *     rows, in `aw` and `dw`, and reused by every token of the chunk;
 *   - a token's four scale products d_w·d_x come from one multiply, each spread to its product
 *     by one in-lane shuffle, where row_dot spends a scalar multiply and a broadcast on each.
 * Measured on Zen 3 (clang -O2, as SwiftPM builds it): 0.70–0.80 of row_dot's time from 6 tokens
 * on, 0.95 at 4 (row_dot's own 4-token tile), 0.79 at 2. Four by two
 * keeps the eight accumulators, both tokens and their scales in registers; four by four spills. */
AVX2 static inline __attribute__((always_inline)) void
tile4_q8_0(const int NT, const uint8_t *w, size_t ws, const uint8_t *aw, const float *dw, const uint8_t *x, size_t xs,
           const float *sc, int nb, float *out, size_t os) {
    __m256 acc[2][4];
    for (int t = 0; t < NT; t++)
        for (int i = 0; i < 4; i++) acc[t][i] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const __m256 d4 = _mm256_broadcast_ps((const __m128 *)(dw + 4 * b));
        __m256i y[2];
        __m256 s[2];
        for (int t = 0; t < NT; t++) {
            y[t] = _mm256_loadu_si256((const __m256i *)(x + xs * t + 34 * (size_t)b + 2));
            s[t] = _mm256_mul_ps(d4, _mm256_broadcast_ss(sc + nb * t + b));
            /* Opaque to the optimizer: knowing both halves equal, clang turns each shuffle
             * below into a shuffle and a broadcast, two operations instead of one. */
            __asm__("" : "+x"(s[t]));
        }
#define CK_ROW(i, lane)                                                                              \
        {                                                                                            \
            const __m256i a = _mm256_load_si256((const __m256i *)(aw + 128 * (size_t)b + 32 * i));  \
            const __m256i q = _mm256_loadu_si256((const __m256i *)(w + ws * i + 34 * (size_t)b + 2)); \
            for (int t = 0; t < NT; t++)                                                             \
                acc[t][i] = _mm256_fmadd_ps(_mm256_shuffle_ps(s[t], s[t], lane),                     \
                                            dot_u8_i8(a, _mm256_sign_epi8(y[t], q)), acc[t][i]);     \
        }
        CK_ROW(0, 0x00) CK_ROW(1, 0x55) CK_ROW(2, 0xaa) CK_ROW(3, 0xff)
#undef CK_ROW
    }
    for (int t = 0; t < NT; t++)
        for (int i = 0; i < 4; i++) out[os * t + i] = hsum8(acc[t][i]);
}

AVX2 static void rows4_q8_0(const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok,
                            float *out, size_t os, int n) {
    const int nb = n / 32;
    float scales[64 * nb], dw[4 * nb];
    uint8_t aw[128 * nb] __attribute__((aligned(32)));
    const int r4 = r0 + (r1 - r0) / 4 * 4;
    for (int t0 = 0; t0 < ntok; t0 += 64) {
        const int t1 = t0 + 64 < ntok ? t0 + 64 : ntok;
        for (int t = t0; t < t1; t++)
            for (int b = 0; b < nb; b++) scales[(t - t0) * nb + b] = h16(x + xs * t + (size_t)34 * b);
        for (int r = r0; r < r4; r += 4) {
            const uint8_t *wr = w + ws * (size_t)r;
            for (int b = 0; b < nb; b++)
                for (int i = 0; i < 4; i++) {
                    const uint8_t *p = wr + ws * i + 34 * (size_t)b;
                    const __m256i q = _mm256_loadu_si256((const __m256i *)(p + 2));
                    _mm256_store_si256((__m256i *)(aw + 128 * b + 32 * i), _mm256_sign_epi8(q, q));
                    dw[4 * b + i] = h16(p);
                }
            int t = t0;
            for (; t + 2 <= t1; t += 2)
                tile4_q8_0(2, wr, ws, aw, dw, x + xs * t, xs, scales + (t - t0) * nb, nb, out + os * t + (r - r0), os);
            if (t < t1) tile4_q8_0(1, wr, ws, aw, dw, x + xs * t, xs, scales + (t - t0) * nb, nb, out + os * t + (r - r0), os);
        }
    }
    if (r4 < r1) rows_CK_Q8_0(w, ws, r4, r1, x, xs, ntok, out + (r4 - r0), os, n);
}

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
rows8_q4_0_blocks(const int NT, const uint8_t *w, size_t ws, const uint8_t *const *x, int nb, float *out, size_t os, int prefetch) {
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
            const uint8_t *blk = w + ws * (size_t)k + 18 * (size_t)b;
            memcpy(&h[k], blk, 2);
            q[k] = decode(CK_Q4_0, w + ws * (size_t)k, b).q;
        }
        /* Built lane by lane (not stored and reloaded as a vector: that stalls store forwarding). */
        const __m256 dw = _mm256_cvtph_ps(_mm_setr_epi16((short)h[0], (short)h[1], (short)h[2], (short)h[3],
                                                         (short)h[4], (short)h[5], (short)h[6], (short)h[7]));
        for (int t = 0; t < NT; t++) {
            const uint8_t *xb = x[t] + 34 * (size_t)b;
            const __m256i y = _mm256_loadu_si256((const __m256i *)(xb + 2));
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

AVX2 static void rows_q4_0_blocks(const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok,
                                  float *out, size_t os, int n) {
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
                rows8_q4_0_blocks(4, wr, ws, x4, nb, o + os * (size_t)t, os, r + 16 <= r1);
            }
            for (; t < t1; t++) {
                const uint8_t *x1[1] = {x + xs * (size_t)t};
                rows8_q4_0_blocks(1, wr, ws, x1, nb, o + os * (size_t)t, os, r + 16 <= r1);
            }
        }
        for (; r < r1; r++) {
            const uint8_t *wr = w + ws * (size_t)r;
            for (int t = t0; t < t1; t++) {
                const uint8_t *xt = x + xs * (size_t)t;
                float acc = 0;
                for (int b = 0; b < nb; b++) {
                    const wblock wb = decode(CK_Q4_0, wr, b);
                    const __m256i p = isum_q4_0(wb.q, _mm256_loadu_si256((const __m256i *)(xt + 34 * (size_t)b + 2)));
                    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
                    s4 = _mm_hadd_epi32(s4, s4);
                    s4 = _mm_hadd_epi32(s4, s4);
                    acc = fmaf((float)_mm_cvtsi128_si32(s4), wb.d * h16(xt + 34 * (size_t)b), acc);
                }
                out[os * (size_t)t + (size_t)(r - r0)] = acc;
            }
        }
    }
}

/* Q4_0 packed in groups of eight rows (ck_q4_0_pack): per block, the eight rows' scales, then
 * four 32-byte slices, slice c holding bytes 4c..4c+3 of each row's quants (row k at 4k). One
 * slice load covers eight rows × eight weights (low nibbles: elements 4c..4c+3, high: 16+4c..),
 * and each row's products land in its own 32-bit lane, so no horizontal sums are needed. The
 * nibbles are multiplied unsigned (0..15) and 8·Σy is taken off after: Σ(q−8)y = Σqy − 8Σy,
 * exact in integers (16 products of at most 15·127 per 16-bit lane), so every row's block sum
 * and the float steps after it are those of the block-order kernel above. */
AVX2 static inline __attribute__((always_inline)) void
packed8_q4_0(const int NT, const uint8_t *pg, const uint8_t *const *x, const int16_t *const *sums, int nb, float *out, size_t os) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    const __m256i nibble = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    for (int b = 0; b < nb; b++) {
        const uint8_t *blk = pg + 144 * (size_t)b;
        if (NT == 1)
            for (int line = 0; line < 3; line++) _mm_prefetch((const char *)blk + CK_AHEAD + 64 * line, _MM_HINT_T0);
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk));
        __m256i s[4];
        for (int c = 0; c < 4; c++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(blk + 16 + 32 * c));
            const __m256i lo = _mm256_and_si256(v, nibble), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
            for (int t = 0; t < NT; t++) {
                const uint8_t *xb = x[t] + 34 * (size_t)b + 2 + 4 * c;
                int32_t ylo, yhi;
                memcpy(&ylo, xb, 4);
                memcpy(&yhi, xb + 16, 4);
                const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_set1_epi32(ylo)),
                                                   _mm256_maddubs_epi16(hi, _mm256_set1_epi32(yhi)));
                s[t] = c == 0 ? p : _mm256_add_epi16(s[t], p);
            }
        }
        for (int t = 0; t < NT; t++) {
            const __m256i isum = _mm256_sub_epi32(_mm256_madd_epi16(s[t], ones), _mm256_set1_epi32(8 * (int32_t)sums[t][b]));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, _mm256_set1_ps(h16(x[t] + 34 * (size_t)b))), acc[t]);
        }
    }
    for (int t = 0; t < NT; t++) {
        float lanes[8];
        _mm256_storeu_ps(lanes, acc[t]);
        for (int k = 0; k < 8; k++) out[os * (size_t)t + (size_t)k] = lanes[k];
    }
}

/* Σy of each q8_0 block of one activation row. */
AVX2 static void block_sums_avx2(const uint8_t *x, int nb, int16_t *sums) {
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (int b = 0; b < nb; b++) {
        const __m256i y = _mm256_loadu_si256((const __m256i *)(x + 34 * (size_t)b + 2));
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, y), ones16);
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
        s4 = _mm_hadd_epi32(s4, s4);
        s4 = _mm_hadd_epi32(s4, s4);
        sums[b] = (int16_t)_mm_cvtsi128_si32(s4);
    }
}

AVX2 static void packed_q4_0_avx2(const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok,
                                  float *out, size_t os, int n) {
    const int nb = n / 32;
    /* Tokens in chunks of 64 (their activations stay in cache while the rows pass), with the
     * chunk's block sums computed once for all rows. */
    if (ntok <= 0 || nb <= 0) return;
    const int chunk = ntok < 64 ? ntok : 64;
    int16_t *sums = malloc(sizeof(int16_t) * (size_t)chunk * (size_t)nb);
    if (!sums) abort();
    for (int t0 = 0; t0 < ntok; t0 += 64) {
        const int t1 = t0 + 64 < ntok ? t0 + 64 : ntok;
        for (int t = t0; t < t1; t++) block_sums_avx2(x + xs * (size_t)t, nb, sums + (size_t)(t - t0) * (size_t)nb);
        for (int r = r0; r < r1; r += 8) {
            const uint8_t *pg = packed + (size_t)(r / 8) * 144 * (size_t)nb;
            float *o = out + (size_t)(r - r0);
            int t = t0;
            for (; t + 4 <= t1; t += 4) {
                const uint8_t *x4[4] = {x + xs * (size_t)t, x + xs * (size_t)(t + 1), x + xs * (size_t)(t + 2), x + xs * (size_t)(t + 3)};
                const int16_t *s4[4];
                for (int i = 0; i < 4; i++) s4[i] = sums + (size_t)(t + i - t0) * (size_t)nb;
                packed8_q4_0(4, pg, x4, s4, nb, o + os * (size_t)t, os);
            }
            for (; t < t1; t++) {
                const uint8_t *x1[1] = {x + xs * (size_t)t};
                const int16_t *s1[1] = {sums + (size_t)(t - t0) * (size_t)nb};
                packed8_q4_0(1, pg, x1, s1, nb, o + os * (size_t)t, os);
            }
        }
    }
    free(sums);
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
    for (; i < n; i++) y[i] = f32_to_f16_soft(x[i]);
}

AVX2 static void quantize_act_avx2(int act, const float *x, uint8_t *out, int n) {
    const size_t bs = act == CK_ACT_Q8_1 ? 36 : 34, qo = act == CK_ACT_Q8_1 ? 4 : 2;
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
            memcpy(ob + 2, &hs, 2);
        }
        i0 = _mm256_packs_epi32(i0, i1);
        i2 = _mm256_packs_epi32(i2, i3);
        i0 = _mm256_packs_epi16(i0, i2);
        i0 = _mm256_permutevar8x32_epi32(i0, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(ob + qo), i0);
#undef rnd
    }
}

#endif /* CK_X86 */

/* ---------------------------------------------------------------- dispatch */

void ck_quantize_act(int level, int act, const float *x, void *out, int n) {
    if (act == CK_ACT_F32) { memcpy(out, x, (size_t)n * 4); return; }
#ifdef CK_X86
    if (level >= CK_LEVEL_AVX2) { quantize_act_avx2(act, x, (uint8_t *)out, n); return; }
#endif
    quantize_act_scalar(act, x, (uint8_t *)out, n);
}

void ck_matmul(int level, int type, int block_order, const void *w, size_t w_stride, int r0, int r1,
               const void *x, size_t x_stride, int ntok, float *out, size_t out_stride, int n) {
    const uint8_t *W = (const uint8_t *)w, *X = (const uint8_t *)x;
#ifdef CK_X86
    if (level >= CK_LEVEL_AVX2) {
        if (block_order && type == CK_Q4_0) { rows_q4_0_blocks(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return; }
        switch (type) {
        case CK_Q4_0: rows_CK_Q4_0(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
        case CK_Q4_1: rows_CK_Q4_1(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
        case CK_Q5_0: rows_CK_Q5_0(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
        case CK_Q5_1: rows_CK_Q5_1(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
        case CK_Q8_0:
            /* One token (decode) reads each weight once: nothing to prepare |w| for. */
            if (ntok >= 2) rows4_q8_0(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
            else rows_CK_Q8_0(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
            return;
        case CK_F32: rows_float(0, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
        case CK_F16: rows_float(1, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
        }
    }
#endif
    for (int t = 0; t < ntok; t++)
        for (int r = r0; r < r1; r++)
            out[out_stride * t + (r - r0)] = dot_scalar(type, W + w_stride * r, X + x_stride * t, n);
}

size_t ck_q4_0_packed_bytes(int rows, int n) { return (size_t)rows * (size_t)(n / 32) * 18; }

void ck_q4_0_pack(const void *w, size_t w_stride, int rows, int n, void *out) {
    const uint8_t *W = (const uint8_t *)w;
    uint8_t *o = (uint8_t *)out;
    const int nb = n / 32;
    for (int g = 0; g < rows; g += 8)
        for (int b = 0; b < nb; b++) {
            for (int k = 0; k < 8; k++) memcpy(o + 2 * k, W + w_stride * (size_t)(g + k) + 18 * (size_t)b, 2);
            o += 16;
            for (int c = 0; c < 4; c++)
                for (int k = 0; k < 8; k++, o += 4) memcpy(o, W + w_stride * (size_t)(g + k) + 18 * (size_t)b + 2 + 4 * c, 4);
        }
}

/* The packed kernel's arithmetic, one product at a time. */
static void packed_q4_0_scalar(const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok,
                               float *out, size_t os, int n) {
    const int nb = n / 32;
    for (int r = r0; r < r1; r += 8) {
        const uint8_t *pg = packed + (size_t)(r / 8) * 144 * (size_t)nb;
        for (int t = 0; t < ntok; t++) {
            const uint8_t *xt = x + xs * (size_t)t;
            for (int k = 0; k < 8; k++) {
                float acc = 0;
                for (int b = 0; b < nb; b++) {
                    const uint8_t *blk = pg + 144 * (size_t)b, *xb = xt + 34 * (size_t)b + 2;
                    int sum = 0;
                    for (int c = 0; c < 4; c++)
                        for (int e = 0; e < 4; e++) {
                            const uint8_t v = blk[16 + 32 * c + 4 * k + e];
                            sum += ((v & 15) - 8) * (int8_t)xb[4 * c + e] + ((v >> 4) - 8) * (int8_t)xb[16 + 4 * c + e];
                        }
                    acc = fmaf((float)sum, ld16(blk + 2 * k) * ld16(xb - 2), acc);
                }
                out[os * (size_t)t + (size_t)(r - r0 + k)] = acc;
            }
        }
    }
}

void ck_matmul_q4_0_packed(int level, const void *packed, int r0, int r1, const void *x, size_t x_stride, int ntok,
                           float *out, size_t out_stride, int n) {
#ifdef CK_X86
    if (level >= CK_LEVEL_AVX2) {
        packed_q4_0_avx2((const uint8_t *)packed, r0, r1, (const uint8_t *)x, x_stride, ntok, out, out_stride, n);
        return;
    }
#endif
    packed_q4_0_scalar((const uint8_t *)packed, r0, r1, (const uint8_t *)x, x_stride, ntok, out, out_stride, n);
}

float ck_dot_f32(int level, const float *a, const float *b, int n) {
#ifdef CK_X86
    if (level >= CK_LEVEL_AVX2) return dot_f32_avx2(a, b, n);
#endif
    float s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

void ck_f32_to_f16(int level, const float *x, uint16_t *y, int n) {
#ifdef CK_X86
    if (level >= CK_LEVEL_AVX2) { f32_to_f16_avx2(x, y, n); return; }
#endif
    for (int i = 0; i < n; i++) y[i] = f32_to_f16_soft(x[i]);
}

void ck_rmsnorm(const float *x, const float *w, float *y, int n, float eps) {
    /* The rounding steps are llama.cpp's (float squares summed in double, a float mean and
     * scale, then x·scale·w in float), so both engines hand the same values to the 8-bit
     * activation quantizer: a one-ulp difference here flips some of its roundings. */
    double sum = 0;
    for (int i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int i = 0; i < n; i++) y[i] = (x[i] * scale) * w[i];
}

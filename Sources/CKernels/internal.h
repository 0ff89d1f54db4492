/* What the kernel files share and the public header does not show: the bodies each ISA file
 * provides to the dispatch (dispatch.c), and the small helpers every file uses.
 *
 * Layout (ggml's): scalar.c holds the portable reference bodies, which define every result;
 * x86/avx2.c and arm/neon.c hold one ISA family's bodies each, compiled to nothing on the other
 * ISA; dispatch.c is the only place that picks among them. Block layouts: blocks.h. */
#ifndef CK_INTERNAL_H
#define CK_INTERNAL_H
#include "CKernels.h"
#include "blocks.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#define CK_X86 1
#elif defined(__aarch64__)
#define CK_ARM 1
#endif

/* ---------------------------------------------------------------- shared helpers */

static inline float ck_ld16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return ck_f16_to_f32(h);
}

/* Bytes of one block of a quantized type with a direct kernel (32 weights; 256 for the K-quants). */
static inline int ck_block_bytes(const int type) {
    switch (type) {
    case CK_Q4_0: return Q4_0_BYTES;
    case CK_Q5_0: return Q5_0_BYTES;
    case CK_Q8_0: return Q8_0_BYTES;
    case CK_Q4_1: return Q4_1_BYTES;
    case CK_IQ4_NL: return IQ4_NL_BYTES;
    case CK_Q2_K: return Q2_K_BYTES;
    case CK_Q3_K: return Q3_K_BYTES;
    case CK_Q4_K: return Q4_K_BYTES;
    case CK_Q5_K: return Q5_K_BYTES;
    case CK_Q6_K: return Q6_K_BYTES;
    default: return Q5_1_BYTES; /* CK_Q5_1 */
    }
}

static inline int ck_is_k(const int type) { return type >= CK_Q2_K && type <= CK_Q6_K; }

/* ggml's IQ4_NL codebook (kvalues_iq4nl): the 16 levels a nibble indexes. */
static const int8_t ck_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/* Sub-block j's 6-bit scale and minimum of a q4_K/q5_K super-block (12 packed bytes: j < 4 in
 * the low six bits of bytes j and j + 4; j ≥ 4 split between a nibble of byte j + 4 and the top
 * two bits of bytes j − 4 and j). */
static inline void ck_k4_scale(const uint8_t *q, int j, int *sc, int *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* One K-quant super-block's scales, the same shape for every K type: with the quants q taken
 * unsigned (blocks.h's q), the block's dot with a q8_K block y is
 *   y.d · (d · Σ_s sc[s]·Σ_{16 of s} q·y − dm · Σ_s cm[s]·y.bsums[s]),
 * cm being the minimums (q2_K, q4_K, q5_K; dm = dmin) or the offset times the scale that makes
 * q signed (q3_K: 4·sc, q6_K: 32·sc; dm = d). All of it exact in integers but the last line. */
typedef struct { int16_t sc[16], cm[16]; float d, dm; } ck_kscales;

static inline void ck_k_scales(const int type, const uint8_t *blk, ck_kscales *k) {
    switch (type) {
    case CK_Q2_K: {
        const block_q2_K *b = (const block_q2_K *)(const void *)blk;
        for (int s = 0; s < 16; s++) { k->sc[s] = b->scales[s] & 15; k->cm[s] = b->scales[s] >> 4; }
        k->d = ck_ld16(blk + offsetof(block_q2_K, d));
        k->dm = ck_ld16(blk + offsetof(block_q2_K, dmin));
        return;
    }
    case CK_Q3_K: {
        const uint8_t *sc = blk + offsetof(block_q3_K, scales);
        for (int s = 0; s < 16; s++) {
            const int low = s < 8 ? sc[s] & 15 : sc[s - 8] >> 4, high = (sc[8 + s % 4] >> (2 * (s / 4))) & 3;
            k->sc[s] = (int16_t)((low | high << 4) - 32);
            k->cm[s] = (int16_t)(4 * k->sc[s]);
        }
        k->d = k->dm = ck_ld16(blk + offsetof(block_q3_K, d));
        return;
    }
    case CK_Q4_K: case CK_Q5_K: {
        for (int j = 0; j < 8; j++) {
            int sc, m;
            ck_k4_scale(blk + offsetof(block_q4_K, scales), j, &sc, &m); /* the same offsets in q5_K */
            k->sc[2 * j] = k->sc[2 * j + 1] = (int16_t)sc;
            k->cm[2 * j] = k->cm[2 * j + 1] = (int16_t)m;
        }
        k->d = ck_ld16(blk + offsetof(block_q4_K, d));
        k->dm = ck_ld16(blk + offsetof(block_q4_K, dmin));
        return;
    }
    default: { /* CK_Q6_K */
        const int8_t *sc = (const int8_t *)(blk + offsetof(block_q6_K, scales));
        for (int s = 0; s < 16; s++) { k->sc[s] = sc[s]; k->cm[s] = (int16_t)(32 * sc[s]); }
        k->d = k->dm = ck_ld16(blk + offsetof(block_q6_K, d));
        return;
    }
    }
}

/* Quant e (0..255, unsigned as blocks.h defines it) of a K-quant super-block. */
static inline int ck_k_quant(const int type, const uint8_t *blk, int e) {
    const int k = e / 32, i = e % 32;
    switch (type) {
    case CK_Q2_K: return (blk[offsetof(block_q2_K, qs) + 32 * (k / 4) + i] >> (2 * (k % 4))) & 3;
    case CK_Q3_K:
        return ((blk[offsetof(block_q3_K, qs) + 32 * (k / 4) + i] >> (2 * (k % 4))) & 3) |
               ((blk[offsetof(block_q3_K, hmask) + i] >> k) & 1) << 2;
    case CK_Q4_K: { const uint8_t v = blk[offsetof(block_q4_K, qs) + 32 * (k / 2) + i]; return k % 2 ? v >> 4 : v & 15; }
    case CK_Q5_K: {
        const uint8_t v = blk[offsetof(block_q5_K, qs) + 32 * (k / 2) + i];
        return (k % 2 ? v >> 4 : v & 15) | ((blk[offsetof(block_q5_K, qh) + i] >> k) & 1) << 4;
    }
    default: { /* CK_Q6_K */
        const uint8_t v = blk[offsetof(block_q6_K, ql) + 64 * (k / 4) + 32 * (k % 2) + i];
        return (k % 4 < 2 ? v & 15 : v >> 4) | ((blk[offsetof(block_q6_K, qh) + 32 * (k / 4) + i] >> (2 * (k % 4))) & 3) << 4;
    }
    }
}

/* The exp polynomial's constants (scalar.c, ck_expf, says what they are). */
#define CK_EXP_SHIFT 0x1.8p23f
#define CK_LOG2E 0x1.715476p+0f
#define CK_LN2_HI 0x1.62e4p-1f
#define CK_LN2_LO 0x1.7f7d1cp-20f
#define CK_EXP_P5 0x1.0e4020p-7f
#define CK_EXP_P4 0x1.573e2ep-5f
#define CK_EXP_P3 0x1.555e66p-3f
#define CK_EXP_P2 0x1.fffdb6p-2f
#define CK_EXP_P1 0x1.ffffecp-1f

/* The two summation orders of llama.cpp's CPU backend that attention follows (scalar.c). */
/* Tile order of 8 slots. */
static inline float ck_reduce8(const float *l) {
    const float a0 = l[0] + l[4], a1 = l[1] + l[5], a2 = l[2] + l[6], a3 = l[3] + l[7];
    return (a0 + a2) + (a1 + a3);
}

/* Vec order of 32 slots, slot i = a[i] (in AVX2 terms accumulator i / 8, lane i % 8). */
static inline float ck_reduce32(const float *a) {
    float s[8];
    for (int l = 0; l < 8; l++) s[l] = (a[l] + a[16 + l]) + (a[8 + l] + a[24 + l]);
    const float t0 = s[0] + s[4], t1 = s[1] + s[5], t2 = s[2] + s[6], t3 = s[3] + s[7];
    return (t0 + t1) + (t2 + t3);
}

static inline float ck_f16_round(float x) { return ck_f16_to_f32(ck_f32_to_f16_one(x)); }

/* A lab type's row layout (scalar.c, ck_dequant_lab): groups of g codes, each an f16 scale (and
 * an f16 minimum when asymmetric) then the codes packed little-endian, code j at bits
 * [j·bits, (j+1)·bits). 32 codes take 4·bits bytes, so a 32-element chunk of a group starts on
 * a byte. */
typedef struct { int bits, g, header, asym; size_t block; } ck_lab;

static inline ck_lab ck_lab_layout(int bits, int group, int asymmetric, int n) {
    ck_lab l;
    l.bits = bits;
    l.g = group > 0 ? group : n;
    l.header = asymmetric ? 4 : 2;
    l.asym = asymmetric != 0;
    l.block = (size_t)l.header + ((size_t)l.g * (size_t)bits + 7) / 8;
    return l;
}

/* Chunk k (elements 32k…32k+31) of a lab row: its group's header and its first code byte. */
static inline void ck_lab_chunk(const ck_lab *l, const uint8_t *row, int k, const uint8_t **head, const uint8_t **codes) {
    const int per = l->g / 32, gi = k / per, c = k % per;
    *head = row + l->block * (size_t)gi;
    *codes = *head + l->header + 4 * (size_t)l->bits * (size_t)c;
}

/* ---------------------------------------------------------------- scalar reference (scalar.c) */

void ck_ref_quantize_act(int act, const float *x, uint8_t *out, int n);
float ck_ref_dot(int type, const uint8_t *w, const uint8_t *x, int n);
void ck_ref_matmul(int type, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok,
                   float *out, size_t os, int n);
void ck_ref_matmul_lab(int bits, int group, int asymmetric, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x,
                       size_t xs, int ntok, float *out, size_t os, int n);
void ck_ref_packed(int type, const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out, size_t os, int n);
/* The same over rows in ck_lab_split's layout (6 bits). */
void ck_ref_matmul_lab_split(int bits, int group, int asymmetric, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x,
                             size_t xs, int ntok, float *out, size_t os, int n);
float ck_ref_dot_f32(const float *a, const float *b, int n);
void ck_ref_f32_to_f16(const float *x, uint16_t *y, int n);
void ck_ref_exp8(const float *x, float *y);
/* out[i] for i in [from, n): the polynomial exp for whole groups of 8, libm's expf after. */
void ck_ref_swiglu(const float *gate, const float *up, float *out, int from, int n);
void ck_ref_attention(const float *q, const void *keys, const void *values, size_t stride, int length, int hd, int kv_f16,
                      int batched, float scale, float *scratch, float *out);
/* Quantized KV cache (the end of scalar.c): q4_0 cache rows, and attention over q8_0/q4_0 rows
 * with the query already in q8_0 blocks (qq). */
void ck_ref_kv_quantize_q4_0(const float *x, uint8_t *out, int n);
void ck_ref_attention_q(int type, const uint8_t *qq, const uint8_t *keys, const uint8_t *values, size_t row_bytes,
                        int length, int hd, float scale, float *scratch, float *out);

/* ---------------------------------------------------------------- x86-64 (x86/avx2.c, x86/avx512.c) */
#ifdef CK_X86
int ck_avx2_supported(void);
void ck_avx2_quantize_act(int act, const float *x, uint8_t *out, int n);
void ck_avx2_matmul(int type, int block_order, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs,
                    int ntok, float *out, size_t os, int n);
void ck_avx2_packed(int type, const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out, size_t os, int n);
/* The one-row f32/f16 body (row_float, up to 4 tokens a pass) at any token count: what ck_avx2_matmul
 * runs for one token, and for two or more before the register tiles; kept reachable for
 * scripts/bench/kernel-levels.c, which times the tiles against it. */
void ck_avx2_float_rows(int f16, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                        size_t os, int n);
void ck_avx2_matmul_lab(int bits, int group, int asymmetric, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x,
                        size_t xs, int ntok, float *out, size_t os, int n);
void ck_avx2_matmul_lab_split(int bits, int group, int asymmetric, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x,
                              size_t xs, int ntok, float *out, size_t os, int n);
float ck_avx2_dot_f32(const float *a, const float *b, int n);
void ck_avx2_f32_to_f16(const float *x, uint16_t *y, int n);
void ck_avx2_exp8(const float *x, float *y);
void ck_avx2_swiglu(const float *gate, const float *up, float *out, int n8);
void ck_avx2_attention(const float *q, const void *keys, const void *values, size_t stride, int length, int hd, int kv_f16,
                       int batched, float scale, float *scratch, float *out);
void ck_avx2_attention_group(int nq, const float *const *q, float *const *out, const int *first, const int *lengths,
                             const uint16_t *keys, const uint16_t *values, size_t stride, int hd, float scale, float *wide,
                             float *scratch);
void ck_avx2_attention_q(int type, const uint8_t *qq, const uint8_t *keys, const uint8_t *values, size_t row_bytes,
                         int length, int hd, float scale, float *scratch, float *out);
/* x86/avx512.c: the 8-bit tiles with VNNI; every other kernel is the AVX2 level's. */
int ck_avx512_supported(void);
void ck_avx512_matmul(int type, int block_order, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs,
                      int ntok, float *out, size_t os, int n);
void ck_avx512_packed(int type, const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out, size_t os,
                           int n);
/* Lab rows in ck_lab_split's layout: the symmetric 6-bit decode (one token) with VNNI, the rest the AVX2 level's. */
void ck_avx512_matmul_lab_split(int bits, int group, int asymmetric, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x,
                                size_t xs, int ntok, float *out, size_t os, int n);
#endif

/* ---------------------------------------------------------------- AArch64 (arm/neon.c)
 * `level` is CK_LEVEL_NEON, CK_LEVEL_DOTPROD or CK_LEVEL_I8MM; each body uses the highest
 * instructions the level allows. */
#ifdef CK_ARM
void ck_neon_quantize_act(int act, const float *x, uint8_t *out, int n);
void ck_neon_matmul(int level, int type, int block_order, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x,
                    size_t xs, int ntok, float *out, size_t os, int n);
void ck_neon_matmul_lab(int level, int bits, int group, int asymmetric, const uint8_t *w, size_t ws, int r0, int r1,
                        const uint8_t *x, size_t xs, int ntok, float *out, size_t os, int n);
void ck_neon_packed_q4_0(int level, const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                         size_t os, int n);
float ck_neon_dot_f32(const float *a, const float *b, int n);
void ck_neon_f32_to_f16(const float *x, uint16_t *y, int n);
void ck_neon_exp8(const float *x, float *y);
void ck_neon_swiglu(const float *gate, const float *up, float *out, int n8);
void ck_neon_attention(const float *q, const void *keys, const void *values, size_t stride, int length, int hd, int kv_f16,
                       int batched, float scale, float *scratch, float *out);
/* One body for every Arm level (the integer sums need no dotprod to be exact). */
void ck_neon_attention_q(int type, const uint8_t *qq, const uint8_t *keys, const uint8_t *values, size_t row_bytes,
                         int length, int hd, float scale, float *scratch, float *out);
#endif

#endif

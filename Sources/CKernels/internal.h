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

/* Bytes of one 32-weight block of a quantized type with a direct kernel. */
static inline int ck_block_bytes(const int type) {
    switch (type) {
    case CK_Q4_0: return Q4_0_BYTES;
    case CK_Q5_0: return Q5_0_BYTES;
    case CK_Q8_0: return Q8_0_BYTES;
    case CK_Q4_1: return Q4_1_BYTES;
    default: return Q5_1_BYTES; /* CK_Q5_1 */
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

/* ---------------------------------------------------------------- scalar reference (scalar.c) */

void ck_ref_quantize_act(int act, const float *x, uint8_t *out, int n);
float ck_ref_dot(int type, const uint8_t *w, const uint8_t *x, int n);
void ck_ref_matmul(int type, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok,
                   float *out, size_t os, int n);
void ck_ref_packed_q4_0(const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out, size_t os, int n);
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

/* ---------------------------------------------------------------- x86-64 (x86/avx2.c) */
#ifdef CK_X86
int ck_avx2_supported(void);
void ck_avx2_quantize_act(int act, const float *x, uint8_t *out, int n);
void ck_avx2_matmul(int type, int block_order, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs,
                    int ntok, float *out, size_t os, int n);
void ck_avx2_packed_q4_0(const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out, size_t os, int n);
float ck_avx2_dot_f32(const float *a, const float *b, int n);
void ck_avx2_f32_to_f16(const float *x, uint16_t *y, int n);
void ck_avx2_exp8(const float *x, float *y);
void ck_avx2_swiglu(const float *gate, const float *up, float *out, int n8);
void ck_avx2_attention(const float *q, const void *keys, const void *values, size_t stride, int length, int hd, int kv_f16,
                       int batched, float scale, float *scratch, float *out);
void ck_avx2_attention_q(int type, const uint8_t *qq, const uint8_t *keys, const uint8_t *values, size_t row_bytes,
                         int length, int hd, float scale, float *scratch, float *out);
#endif

/* ---------------------------------------------------------------- AArch64 (arm/neon.c)
 * `level` is CK_LEVEL_NEON, CK_LEVEL_DOTPROD or CK_LEVEL_I8MM; each body uses the highest
 * instructions the level allows. */
#ifdef CK_ARM
void ck_neon_quantize_act(int act, const float *x, uint8_t *out, int n);
void ck_neon_matmul(int level, int type, int block_order, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x,
                    size_t xs, int ntok, float *out, size_t os, int n);
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

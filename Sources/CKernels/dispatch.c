/* The one place that picks a body for a level: which levels this CPU runs, and every public
 * kernel entry point routed to the scalar reference (scalar.c) or an ISA file's body. A level
 * the CPU lacks is never passed in (the caller asks ck_level_supported once); a level of the
 * other ISA family falls to the scalar body rather than trap. */
#include "internal.h"

#if defined(CK_ARM) && defined(__linux__)
#include <sys/auxv.h>
/* The kernel's bit numbers (asm/hwcap.h), spelled out for C libraries that predate them. */
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1UL << 13)
#endif
#elif defined(CK_ARM) && defined(__APPLE__)
#include <sys/sysctl.h>
#include <sys/types.h>
#endif

#ifdef CK_X86
/* The x86 family: the AVX-512 level runs the AVX2 bodies except where avx512.c has its own. */
static inline int is_avx2(int level) { return level == CK_LEVEL_AVX2 || level == CK_LEVEL_AVX512; }
#endif
#ifdef CK_ARM
static inline int is_arm(int level) { return level >= CK_LEVEL_NEON && level <= CK_LEVEL_I8MM; }

#if defined(__APPLE__)
static int apple_feature(const char *name) {
    int value = 0;
    size_t size = sizeof value;
    return sysctlbyname(name, &value, &size, NULL, 0) == 0 && value != 0;
}
#endif

/* FEAT_DotProd and FEAT_I8MM as the OS reports them; i8mm counts only with dotprod, which the
 * i8mm level's other kernels use (every CPU with I8MM so far has both). */
static int arm_has_dotprod(void) {
#if defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#elif defined(__APPLE__)
    return apple_feature("hw.optional.arm.FEAT_DotProd");
#else
    return 0;
#endif
}

static int arm_has_i8mm(void) {
#if defined(__linux__)
    return (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0;
#elif defined(__APPLE__)
    return apple_feature("hw.optional.arm.FEAT_I8MM");
#else
    return 0;
#endif
}
#endif

int ck_level_supported(int level) {
    if (level == CK_LEVEL_SCALAR) return 1;
#ifdef CK_X86
    if (level == CK_LEVEL_AVX2) return ck_avx2_supported();
    if (level == CK_LEVEL_AVX512) return ck_avx512_supported();
#endif
#ifdef CK_ARM
    if (level == CK_LEVEL_NEON) return 1; /* Advanced SIMD is part of every AArch64 CPU the OSes run on */
    if (level == CK_LEVEL_DOTPROD) return arm_has_dotprod();
    if (level == CK_LEVEL_I8MM) return arm_has_dotprod() && arm_has_i8mm();
#endif
    return 0;
}

int ck_level_best(void) {
    static const int order[] = {CK_LEVEL_I8MM, CK_LEVEL_DOTPROD, CK_LEVEL_NEON, CK_LEVEL_AVX512, CK_LEVEL_AVX2};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (ck_level_supported(order[i])) return order[i];
    return CK_LEVEL_SCALAR;
}

/* ---------------------------------------------------------------- formats */

int ck_weight_supported(int type, int *act) {
    int a;
    switch (type) {
    case CK_F32: case CK_F16: a = CK_ACT_F32; break;
    case CK_Q4_0: case CK_Q5_0: case CK_Q8_0: case CK_IQ4_NL: a = CK_ACT_Q8_0; break;
    case CK_Q4_1: case CK_Q5_1: a = CK_ACT_Q8_1; break;
    case CK_Q2_K: case CK_Q3_K: case CK_Q4_K: case CK_Q5_K: case CK_Q6_K: a = CK_ACT_Q8_K; break;
    default: return 0;
    }
    if (act) *act = a;
    return 1;
}

size_t ck_act_row_bytes(int act, int n) {
    switch (act) {
    case CK_ACT_Q8_0: return (size_t)(n / CK_QK) * sizeof(block_q8_0);
    case CK_ACT_Q8_1: return (size_t)(n / CK_QK) * sizeof(block_q8_1);
    case CK_ACT_Q8_K: return (size_t)(n / CK_QK_K) * sizeof(block_q8_K);
    default: return (size_t)n * 4;
    }
}

size_t ck_attention_scratch(int context, int hd) {
    return (size_t)((context + 7) & ~7) + 2 * (size_t)hd + 32 * (size_t)hd;
}

/* ---------------------------------------------------------------- entry points */

void ck_quantize_act(int level, int act, const float *x, void *out, int n) {
    if (act == CK_ACT_F32) { memcpy(out, x, (size_t)n * 4); return; }
    /* q8_K: llama.cpp's x86 build quantizes with its reference loop too, and this is O(n) per
     * token against the matrices' O(n · rows). */
    if (act == CK_ACT_Q8_K) { ck_ref_quantize_act(act, x, (uint8_t *)out, n); return; }
#ifdef CK_X86
    if (is_avx2(level)) { ck_avx2_quantize_act(act, x, (uint8_t *)out, n); return; }
#endif
#ifdef CK_ARM
    if (is_arm(level)) { ck_neon_quantize_act(act, x, (uint8_t *)out, n); return; }
#endif
    (void)level;
    ck_ref_quantize_act(act, x, (uint8_t *)out, n);
}

void ck_matmul(int level, int type, int block_order, const void *w, size_t w_stride, int r0, int r1,
               const void *x, size_t x_stride, int ntok, float *out, size_t out_stride, int n) {
    const uint8_t *W = (const uint8_t *)w, *X = (const uint8_t *)x;
#ifdef CK_X86
    if (level == CK_LEVEL_AVX512) { ck_avx512_matmul(type, block_order, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return; }
    if (is_avx2(level)) { ck_avx2_matmul(type, block_order, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return; }
#endif
#ifdef CK_ARM
    if (is_arm(level)) { ck_neon_matmul(level, type, block_order, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return; }
#endif
    (void)level;
    (void)block_order;
    ck_ref_matmul(type, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
}

int ck_lab_supported(int bits, int group, int asymmetric, int n, int *act) {
    if (bits < 2 || bits > 7 || n <= 0 || n % CK_QK != 0 || (group != 0 && (group <= 0 || group % CK_QK != 0 || n % group != 0)))
        return 0;
    if (act) *act = asymmetric ? CK_ACT_Q8_1 : CK_ACT_Q8_0;
    return 1;
}

void ck_matmul_lab(int level, int bits, int group, int asymmetric, const void *w, size_t w_stride, int r0, int r1,
                   const void *x, size_t x_stride, int ntok, float *out, size_t out_stride, int n) {
    const uint8_t *W = (const uint8_t *)w, *X = (const uint8_t *)x;
#ifdef CK_X86
    if (is_avx2(level)) { ck_avx2_matmul_lab(bits, group, asymmetric, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return; }
#endif
#ifdef CK_ARM
    if (is_arm(level)) { ck_neon_matmul_lab(level, bits, group, asymmetric, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return; }
#endif
    (void)level;
    ck_ref_matmul_lab(bits, group, asymmetric, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
}

void ck_matmul_lab_split(int level, int bits, int group, int asymmetric, const void *w, size_t w_stride, int r0, int r1,
                         const void *x, size_t x_stride, int ntok, float *out, size_t out_stride, int n) {
    const uint8_t *W = (const uint8_t *)w, *X = (const uint8_t *)x;
#ifdef CK_X86
    if (level == CK_LEVEL_AVX512) { ck_avx512_matmul_lab_split(bits, group, asymmetric, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return; }
    if (is_avx2(level)) { ck_avx2_matmul_lab_split(bits, group, asymmetric, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return; }
#endif
    (void)level;
    ck_ref_matmul_lab_split(bits, group, asymmetric, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
}

void ck_matmul_packed(int level, int type, const void *packed, int r0, int r1, const void *x, size_t x_stride, int ntok,
                      float *out, size_t out_stride, int n) {
    const uint8_t *P = (const uint8_t *)packed, *X = (const uint8_t *)x;
#ifdef CK_X86
    if (level == CK_LEVEL_AVX512) { ck_avx512_packed(type, P, r0, r1, X, x_stride, ntok, out, out_stride, n); return; }
    if (is_avx2(level)) { ck_avx2_packed(type, P, r0, r1, X, x_stride, ntok, out, out_stride, n); return; }
#endif
#ifdef CK_ARM
    /* IQ4_NL has no packed Arm body (ck_packed_fast says so, and the engine does not pack it there). */
    if (is_arm(level) && type == CK_Q4_0) { ck_neon_packed_q4_0(level, P, r0, r1, X, x_stride, ntok, out, out_stride, n); return; }
#endif
    (void)level;
    ck_ref_packed(type, P, r0, r1, X, x_stride, ntok, out, out_stride, n);
}

int ck_packed_fast(int level, int type) {
    if (type == CK_Q4_0) return level != CK_LEVEL_SCALAR;
#ifdef CK_X86
    if (type == CK_IQ4_NL) return is_avx2(level);
#endif
    return 0;
}

float ck_dot_f32(int level, const float *a, const float *b, int n) {
#ifdef CK_X86
    if (is_avx2(level)) return ck_avx2_dot_f32(a, b, n);
#endif
#ifdef CK_ARM
    if (is_arm(level)) return ck_neon_dot_f32(a, b, n);
#endif
    (void)level;
    return ck_ref_dot_f32(a, b, n);
}

void ck_f32_to_f16(int level, const float *x, uint16_t *y, int n) {
#ifdef CK_X86
    if (is_avx2(level)) { ck_avx2_f32_to_f16(x, y, n); return; }
#endif
#ifdef CK_ARM
    if (is_arm(level)) { ck_neon_f32_to_f16(x, y, n); return; }
#endif
    (void)level;
    ck_ref_f32_to_f16(x, y, n);
}

void ck_exp8(int level, const float *x, float *y) {
#ifdef CK_X86
    if (is_avx2(level)) { ck_avx2_exp8(x, y); return; }
#endif
#ifdef CK_ARM
    if (is_arm(level)) { ck_neon_exp8(x, y); return; }
#endif
    (void)level;
    ck_ref_exp8(x, y);
}

void ck_attention_head(int level, const float *q, const void *keys, const void *values, size_t stride, int length, int hd,
                       int kv_f16, int batched, float scale, float *scratch, float *out) {
#ifdef CK_X86
    if (is_avx2(level)) { ck_avx2_attention(q, keys, values, stride, length, hd, kv_f16, batched, scale, scratch, out); return; }
#endif
#ifdef CK_ARM
    if (is_arm(level)) { ck_neon_attention(q, keys, values, stride, length, hd, kv_f16, batched, scale, scratch, out); return; }
#endif
    (void)level;
    ck_ref_attention(q, keys, values, stride, length, hd, kv_f16, batched, scale, scratch, out);
}

void ck_swiglu(int level, const float *gate, const float *up, float *out, int n) {
    const int n8 = n & ~7;
    int done = 0;
#ifdef CK_X86
    if (is_avx2(level)) { ck_avx2_swiglu(gate, up, out, n8); done = n8; }
#endif
#ifdef CK_ARM
    if (is_arm(level)) { ck_neon_swiglu(gate, up, out, n8); done = n8; }
#endif
    (void)level;
    (void)n8;
    ck_ref_swiglu(gate, up, out, done, n);
}

size_t ck_attention_wide_scratch(int span, int hd) { return 2 * (size_t)((span + 7) & ~7) * (size_t)hd; }

void ck_attention_group(int level, int nq, const float *const *q, float *const *out, const int *first, const int *lengths,
                        const uint16_t *keys, const uint16_t *values, size_t stride, int hd, float scale, float *wide,
                        float *scratch) {
#ifdef CK_X86
    if (is_avx2(level) && hd % 8 == 0) {
        ck_avx2_attention_group(nq, q, out, first, lengths, keys, values, stride, hd, scale, wide, scratch);
        return;
    }
#endif
    (void)wide;
    for (int i = 0; i < nq; i++)
        ck_attention_head(level, q[i], keys + stride * (size_t)first[i], values + stride * (size_t)first[i], stride, lengths[i], hd, 1, 1,
                          scale, scratch, out[i]);
}

/* ---------------------------------------------------------------- quantized KV cache */

void ck_kv_quantize(int level, int type, const float *x, void *out, int n) {
    if (type == CK_Q8_0) { ck_quantize_act(level, CK_ACT_Q8_0, x, out, n); return; }
    /* q4_0: llama.cpp writes it with its reference rounding on every CPU, and so does this. */
    ck_ref_kv_quantize_q4_0(x, (uint8_t *)out, n);
}

void ck_attention_head_q(int level, int type, const float *q, const void *keys, const void *values, size_t row_bytes,
                         int length, int hd, float scale, float *scratch, float *out) {
    /* The quantized query sits after the scores, in the room ck_attention_scratch leaves for
     * the f32 path's query copy (hd/32 blocks of 34 bytes fit in 2·hd floats). */
    float *e = scratch;
    uint8_t *qq = (uint8_t *)(e + ((length + 7) & ~7));
    ck_quantize_act(level, CK_ACT_Q8_0, q, qq, hd);
    const uint8_t *K = (const uint8_t *)keys, *V = (const uint8_t *)values;
#ifdef CK_X86
    if (is_avx2(level)) { ck_avx2_attention_q(type, qq, K, V, row_bytes, length, hd, scale, e, out); return; }
#endif
#ifdef CK_ARM
    if (is_arm(level)) { ck_neon_attention_q(type, qq, K, V, row_bytes, length, hd, scale, e, out); return; }
#endif
    ck_ref_attention_q(type, qq, K, V, row_bytes, length, hd, scale, e, out);
}

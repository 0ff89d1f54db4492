#ifndef SLMBENCH_CKERNELS_H
#define SLMBENCH_CKERNELS_H
/* Inference kernels for the native engine.
 *
 * Weights stay in their GGUF block layout (llama.cpp's ggml-common.h layouts) and are read
 * where the file is mapped. Activations are quantized per row to the 8-bit block format each
 * weight type pairs with (q8_0, or q8_1 for the types with a minimum), as llama.cpp does, so
 * dot products run on integers. Every function has a portable scalar body (scalar.c); x86-64
 * builds add AVX2+FMA+F16C bodies (x86/avx2.c), AArch64 builds NEON, dotprod and i8mm bodies
 * (arm/neon.c), all with per-function target attributes and chosen at run time (dispatch.c). */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Kernel sets. Every dispatching function takes the level to run as its first argument (the
 * caller checks ck_level_supported once); nothing is process-global, so engines with different
 * levels can run side by side. */
enum {
    CK_LEVEL_SCALAR = 0,
    CK_LEVEL_AVX2 = 1,    /* x86-64 with AVX2, FMA and F16C */
    CK_LEVEL_NEON = 2,    /* AArch64's base Advanced SIMD (every AArch64 CPU) */
    CK_LEVEL_DOTPROD = 3, /* + the 8-bit dot product (sdot, FEAT_DotProd) */
    CK_LEVEL_I8MM = 4,    /* + the 8-bit matrix multiply (smmla, FEAT_I8MM), with dotprod */
    CK_LEVEL_AVX512 = 5   /* x86-64 AVX2 level + AVX-512 F, BW, VL and VNNI (vpdpbusd); same results as AVX2 */
};
/* 1 when this CPU runs `level` (asked of the OS on AArch64: getauxval on Linux, sysctl on Apple). */
int ck_level_supported(int level);
/* The best level this CPU runs. */
int ck_level_best(void);

/* Weight types with direct kernels (ggml type ids). */
enum {
    CK_F32 = 0, CK_F16 = 1, CK_Q4_0 = 2, CK_Q4_1 = 3, CK_Q5_0 = 6, CK_Q5_1 = 7, CK_Q8_0 = 8,
    CK_Q2_K = 10, CK_Q3_K = 11, CK_Q4_K = 12, CK_Q5_K = 13, CK_Q6_K = 14, CK_IQ4_NL = 20
};
/* Activation formats: 0 = f32 rows, 1 = q8_0 blocks, 2 = q8_1 blocks, 3 = q8_K super-blocks
 * (256 elements: an f32 scale, int8 quants and the sum of each 16, as ggml's block_q8_K), which
 * the K-quants read. */
enum { CK_ACT_F32 = 0, CK_ACT_Q8_0 = 1, CK_ACT_Q8_1 = 2, CK_ACT_Q8_K = 3 };

/* 1 when the weight type has a direct kernel; then *act is the activation format it reads. */
int ck_weight_supported(int type, int *act);
/* Bytes of one activation row of n elements (n a multiple of 32 for the 8-bit formats, of 256
 * for q8_K). */
size_t ck_act_row_bytes(int act, int n);
/* Converts one f32 row to the activation format (q8_0 / q8_1 blocks; f32 copies). */
void ck_quantize_act(int level, int act, const float *x, void *out, int n);

/* out[t * out_stride + (r - r0)] = dot(W row r, activation row t) for r in [r0, r1),
 * t in [0, ntok). W rows are w_stride bytes apart, activation rows x_stride bytes apart.
 * block_order (Q4_0, AVX2 and Arm levels; IQ4_NL, AVX2): sum block by block into one float per
 * row, as llama.cpp does for the Q4_0 and IQ4_NL matrices it repacks, instead of in lanes summed
 * at the end. */
void ck_matmul(int level, int type, int block_order, const void *w, size_t w_stride, int r0, int r1,
               const void *x, size_t x_stride, int ntok, float *out, size_t out_stride, int n);

/* Memory for weights copied at load: 64-byte aligned, and on Linux from 2 MiB up, 2 MiB-aligned and
 * advised as transparent huge pages (memory.c). NULL when there is no memory. */
void *ck_weights_alloc(size_t bytes);
void ck_weights_free(void *p);
/* Q4_0 or IQ4_NL rows (the same 18-byte blocks; rows a multiple of 8, n a multiple of 32) copied
 * into groups of eight rows, so one load reads eight rows at once (block_q4_0x8 in blocks.h);
 * ck_q4_0_packed_bytes(rows, n) bytes, the same as the rows themselves. */
size_t ck_q4_0_packed_bytes(int rows, int n);
void ck_q4_0_pack(const void *w, size_t w_stride, int rows, int n, void *out);
/* ck_matmul for packed Q4_0 or IQ4_NL (q8_0 activations; type CK_Q4_0 or CK_IQ4_NL) with r0 and
 * r1 multiples of 8 (or r1 = rows): block order, the same results as ck_matmul with block_order
 * on the unpacked rows. */
void ck_matmul_packed(int level, int type, const void *packed, int r0, int r1, const void *x, size_t x_stride, int ntok,
                      float *out, size_t out_stride, int n);
/* 1 when `level` has a vector body for packed rows of `type` (Q4_0: every level but scalar;
 * IQ4_NL: the x86 levels); otherwise ck_matmul_packed runs the scalar reference. */
int ck_packed_fast(int level, int type);

/* A symmetric 4-bit lab matrix (groups a multiple of 32 or one per row, rows a multiple of 8,
 * n a multiple of 32) written as packed Q4_0 (ck_q4_0_pack's layout, ck_q4_0_packed_bytes(rows,
 * n) bytes) holding exactly its values: codes 15 − c under the negated scale. Then
 * ck_matmul_packed with CK_Q4_0 multiplies it. Returns 0, writing nothing, for any other lab type or shape. */
int ck_lab_pack_q4_0(int bits, int group, int asymmetric, const void *w, size_t w_stride, int rows, int n, void *out);
/* Dequantizes one row of n elements of a lab type (group 0: one group per row). */
void ck_dequant_lab(const uint8_t *src, float *dst, int n, int bits, int group, int asymmetric);
/* 1 when rows of n elements of a lab type have a direct kernel (2-7 bits, n a multiple of 32,
 * groups of a multiple of 32 or one per row); then *act is the activation format it reads (q8_0
 * when symmetric, q8_1 when asymmetric, whose block sums carry the minimum's term). */
int ck_lab_supported(int bits, int group, int asymmetric, int n, int *act);
/* ck_matmul for a lab type ck_lab_supported accepts: per 32 codes an exact integer sum with the
 * activation block's quants, then d_w·d_x·Σ (+ m_w·s_x), summed in float. */
void ck_matmul_lab(int level, int bits, int group, int asymmetric, const void *w, size_t w_stride, int r0, int r1,
                   const void *x, size_t x_stride, int ntok, float *out, size_t out_stride, int n);

/* 6-bit lab rows rearranged for x86 (same size, same headers, each chunk's 24 code bytes
 * reordered: 16 bytes of low nibbles in Q4_0's order, then 8 bytes of the top two bits, element j
 * in byte j % 8 at bit 2·(j / 8)), so a chunk unpacks with shifts and masks instead of byte
 * gathers and multiplies. `out` holds rows·w_stride bytes. Returns 0, writing nothing, for other
 * bit widths or shapes ck_lab_supported refuses. */
int ck_lab_split(int bits, int group, int asymmetric, const void *w, size_t w_stride, int rows, int n, void *out);
/* ck_matmul_lab over rows ck_lab_split wrote: the same sums (AVX2 and AVX-512 levels; every other
 * level runs the portable reference over this layout). */
void ck_matmul_lab_split(int level, int bits, int group, int asymmetric, const void *w, size_t w_stride, int r0, int r1,
                         const void *x, size_t x_stride, int ntok, float *out, size_t out_stride, int n);

/* Plain f32 helpers. */
float ck_dot_f32(int level, const float *a, const float *b, int n);
void ck_f32_to_f16(int level, const float *x, uint16_t *y, int n);
float ck_f16_to_f32(uint16_t h);
uint16_t ck_f32_to_f16_one(float f);   /* round to nearest even */

/* One query head's causal attention over `length` cached positions:
 * out = softmax(scale * q·k_j) · v_j, keys and values `stride` elements apart (f32, or f16
 * when kv_f16), `hd` elements each. The sums follow llama.cpp's CPU backend (scalar.c):
 * `batched` says the head's sequence has two or more tokens in this pass. `scratch` holds
 * ck_attention_scratch(n, hd) floats for some n ≥ length (the context). */
void ck_attention_head(int level, const float *q, const void *keys, const void *values, size_t stride, int length, int hd,
                       int kv_f16, int batched, float scale, float *scratch, float *out);
size_t ck_attention_scratch(int context, int hd);

/* Several queries' attention over one f16 cache head, for a pass with two or more tokens of the
 * sequence: query i sees positions first[i] … first[i] + lengths[i] − 1 of keys/values (f16 rows
 * `stride` elements apart). The result is nq calls of ck_attention_head(level, q[i],
 * keys + stride·first[i], values + stride·first[i], stride, lengths[i], hd, 1, 1, scale,
 * scratch, out[i]), bit for bit; where the level has a grouped body (x86) and hd is a multiple
 * of 8, the head's positions are widened to f32 once for all the queries, in `wide`
 * (ck_attention_wide_scratch(span, hd) floats, span = the largest first[i] + lengths[i]). */
void ck_attention_group(int level, int nq, const float *const *q, float *const *out, const int *first, const int *lengths,
                        const uint16_t *keys, const uint16_t *values, size_t stride, int hd, float scale, float *wide,
                        float *scratch);
size_t ck_attention_wide_scratch(int span, int hd);

/* The quantized KV cache: rows of CK_Q8_0 or CK_Q4_0 blocks along the head dimension (hd a
 * multiple of 32; a row of n elements is n/32 blocks).
 * ck_kv_quantize writes one row of n elements (n a multiple of 32) as llama.cpp's CPU backend
 * writes its cache of that type. ck_attention_head_q is ck_attention_head over such rows,
 * `row_bytes` apart, each head's hd/32 blocks at `keys`/`values`: the query quantized to
 * q8_0, integer dot products per block, V dequantized block by block (scalar.c says the
 * order). `scratch` holds ck_attention_scratch(n, hd) floats for some n ≥ length. */
void ck_kv_quantize(int level, int type, const float *x, void *out, int n);
void ck_attention_head_q(int level, int type, const float *q, const void *keys, const void *values, size_t row_bytes,
                         int length, int hd, float scale, float *scratch, float *out);

/* out = silu(gate) * up over one row of n (out may be gate), with ck_expf in groups of 8. */
void ck_swiglu(int level, const float *gate, const float *up, float *out, int n);

/* out = GELU(gate) * up over one row of n (out may be gate): Gemma's GeGLU with GELU's tanh form
 * rounded through f16 as llama.cpp's CPU build computes it (geglu.c). */
void ck_geglu(int level, const float *gate, const float *up, float *out, int n);

/* exp(x) by the polynomial the attention and SwiGLU use (within 2 ulp of the true value);
 * ck_exp8 is its vector form (8 values), equal to it bit for bit at every level. */
float ck_expf(float x);
void ck_exp8(int level, const float *x, float *y);

/* RMSNorm: y = x / sqrt(mean(x^2) + eps) * w */
void ck_rmsnorm(const float *x, const float *w, float *y, int n, float eps);

/* A persistent pool of threads woken per operation. The calling thread is member 0; the
 * pool creates nthreads - 1 more. Workers spin briefly after each task, then sleep. */
typedef struct ck_pool ck_pool;
typedef void (*ck_task_fn)(void *ctx, int ith, int nth);
ck_pool *ck_pool_create(int nthreads);
int ck_pool_size(const ck_pool *pool);
/* Runs fn(ctx, i, n) on every member (i = 0 on the caller) and returns when all are done. */
void ck_pool_run(ck_pool *pool, ck_task_fn fn, void *ctx);
void ck_pool_destroy(ck_pool *pool);

#ifdef __cplusplus
}
#endif
#endif

/* The AArch64 bodies, at three levels chosen at run time (dispatch.c):
 *   NEON     the base Advanced SIMD every AArch64 CPU has (Cortex-A53/A72: Raspberry Pi 3/4);
 *   dotprod  + sdot, the 8-bit dot product (FEAT_DotProd: Cortex-A55/A76 on, Apple M1 on);
 *   i8mm     + smmla, the 8-bit 2×8·8×2 matrix multiply (FEAT_I8MM: Cortex-A510/A710/X2 on,
 *            Neoverse V1/N2, Apple M2 on), used for tiles of two rows by two tokens.
 * The dotprod and i8mm bodies carry per-function target attributes, so the file builds for the
 * AArch64 baseline and runs on every such CPU. Compiled to nothing on other ISAs.
 *
 * Checked against the scalar reference at every level by Tests/kernels/harness.c, run under
 * qemu-aarch64 with -cpu cortex-a72 (NEON), neoverse-n1 (dotprod) and max (i8mm): there is no
 * Arm hardware here, so nothing in this file has been timed (README, "Arm"). */
#include "../internal.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#define CK_DOTPROD __attribute__((target("dotprod")))
#define CK_I8MM __attribute__((target("dotprod,i8mm")))
#else /* GCC names the architecture its arm_neon.h declares these intrinsics under */
#define CK_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define CK_I8MM __attribute__((target("arch=armv8.2-a+dotprod+i8mm")))
#endif

static inline float h16(const uint8_t *p) {
    __fp16 h;
    memcpy(&h, p, 2);
    return (float)h;
}

static inline uint16_t f16_bits(float f) {
    return vget_lane_u16(vreinterpret_u16_f16(vcvt_f16_f32(vdupq_n_f32(f))), 0);
}

/* ---------------------------------------------------------------- weight blocks */

/* A decoded weight block: elements 0-15 in q0, 16-31 in q1, as signed bytes (the unsigned
 * codes of q4_1/q5_1 are 0..31, which fit), the scale d and the minimum m (0 for the rest). */
typedef struct { int8x16_t q0, q1; float d, m; } wq;

/* Byte j of h0/h1 = 0x10 when bit j (j + 16 for h1) of the 32-bit field is set. */
static inline void fifth_bits(const uint8_t *qh, uint8x16_t *h0, uint8x16_t *h1) {
    static const uint8_t idx[32] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
    static const uint8_t bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    uint32_t bits;
    memcpy(&bits, qh, 4);
    const uint8x16_t spread = vreinterpretq_u8_u32(vdupq_n_u32(bits)), mask = vld1q_u8(bit), five = vdupq_n_u8(0x10);
    *h0 = vandq_u8(vtstq_u8(vqtbl1q_u8(spread, vld1q_u8(idx)), mask), five);
    *h1 = vandq_u8(vtstq_u8(vqtbl1q_u8(spread, vld1q_u8(idx + 16)), mask), five);
}

static inline __attribute__((always_inline)) wq decode(const int type, const uint8_t *w, int b) {
    wq r;
    r.m = 0;
    const uint8_t *p = w + (size_t)ck_block_bytes(type) * (size_t)b;
    r.d = h16(p);
    const uint8x16_t nibble = vdupq_n_u8(0x0F);
    uint8x16_t v, h0, h1;
    switch (type) {
    case CK_Q8_0:
        r.q0 = vld1q_s8((const int8_t *)(p + offsetof(block_q8_0, qs)));
        r.q1 = vld1q_s8((const int8_t *)(p + offsetof(block_q8_0, qs) + 16));
        break;
    case CK_Q4_0:
        v = vld1q_u8(p + offsetof(block_q4_0, qs));
        r.q0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, nibble)), vdupq_n_s8(8));
        r.q1 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), vdupq_n_s8(8));
        break;
    case CK_Q4_1:
        r.m = h16(p + offsetof(block_q4_1, m));
        v = vld1q_u8(p + offsetof(block_q4_1, qs));
        r.q0 = vreinterpretq_s8_u8(vandq_u8(v, nibble));
        r.q1 = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
        break;
    case CK_Q5_0:
        v = vld1q_u8(p + offsetof(block_q5_0, qs));
        fifth_bits(p + offsetof(block_q5_0, qh), &h0, &h1);
        r.q0 = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(v, nibble), h0)), vdupq_n_s8(16));
        r.q1 = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(v, 4), h1)), vdupq_n_s8(16));
        break;
    case CK_IQ4_NL: {
        const int8x16_t book = vld1q_s8(ck_iq4nl_values);
        v = vld1q_u8(p + offsetof(block_iq4_nl, qs));
        r.q0 = vqtbl1q_s8(book, vandq_u8(v, nibble));
        r.q1 = vqtbl1q_s8(book, vshrq_n_u8(v, 4));
        break;
    }
    default: /* CK_Q5_1 */
        r.m = h16(p + offsetof(block_q5_1, m));
        v = vld1q_u8(p + offsetof(block_q5_1, qs));
        fifth_bits(p + offsetof(block_q5_1, qh), &h0, &h1);
        r.q0 = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(v, nibble), h0));
        r.q1 = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(v, 4), h1));
        break;
    }
    return r;
}

/* A K-quant super-block's 256 quants as sixteen vectors of 16 (vector v = elements 16v…16v+15,
 * the unsigned q of blocks.h, at most 63, so signed bytes hold them), from the layouts there. */
static inline __attribute__((always_inline)) void kdecode(const int type, const uint8_t *p, int8x16_t *u) {
    const uint8x16_t m4 = vdupq_n_u8(0x0f), m3 = vdupq_n_u8(3);
#define CK_U(v, x) u[v] = vreinterpretq_s8_u8(x)
    switch (type) {
    case CK_Q2_K: case CK_Q3_K: {
        const int three = type == CK_Q3_K;
        const uint8_t *qs = p + (three ? offsetof(block_q3_K, qs) : offsetof(block_q2_K, qs));
        const uint8x16_t hm[2] = {vld1q_u8(p + offsetof(block_q3_K, hmask)), vld1q_u8(p + offsetof(block_q3_K, hmask) + 16)};
        for (int h = 0; h < 2; h++)
            for (int half = 0; half < 2; half++) {
                const uint8x16_t q = vld1q_u8(qs + 32 * h + 16 * half);
                for (int j = 0; j < 4; j++) {
                    const int k = 4 * h + j;
                    uint8x16_t v = vandq_u8(vshlq_u8(q, vdupq_n_s8((int8_t)(-2 * j))), m3);
                    if (three) v = vorrq_u8(v, vandq_u8(vtstq_u8(hm[half], vdupq_n_u8((uint8_t)(1u << k))), vdupq_n_u8(4)));
                    CK_U(2 * k + half, v);
                }
            }
        break;
    }
    case CK_Q4_K: case CK_Q5_K: {
        const int five = type == CK_Q5_K;
        const uint8_t *qs = p + (five ? offsetof(block_q5_K, qs) : offsetof(block_q4_K, qs));
        for (int i = 0; i < 4; i++)
            for (int half = 0; half < 2; half++) {
                const uint8x16_t q = vld1q_u8(qs + 32 * i + 16 * half);
                CK_U(4 * i + half, vandq_u8(q, m4));
                CK_U(4 * i + 2 + half, vshrq_n_u8(q, 4));
            }
        if (five)
            for (int half = 0; half < 2; half++) {
                const uint8x16_t qh = vld1q_u8(p + offsetof(block_q5_K, qh) + 16 * half);
                for (int k = 0; k < 8; k++)
                    u[2 * k + half] = vorrq_s8(u[2 * k + half],
                                               vreinterpretq_s8_u8(vandq_u8(vtstq_u8(qh, vdupq_n_u8((uint8_t)(1u << k))), vdupq_n_u8(16))));
            }
        break;
    }
    default: { /* CK_Q6_K */
        const uint8x16_t m30 = vdupq_n_u8(0x30);
        for (int h = 0; h < 2; h++)
            for (int half = 0; half < 2; half++) {
                const uint8_t *ql = p + offsetof(block_q6_K, ql) + 64 * h + 16 * half;
                const uint8x16_t l0 = vld1q_u8(ql), l1 = vld1q_u8(ql + 32);
                const uint8x16_t hb = vld1q_u8(p + offsetof(block_q6_K, qh) + 32 * h + 16 * half);
                CK_U(8 * h + half, vorrq_u8(vandq_u8(l0, m4), vandq_u8(vshlq_n_u8(hb, 4), m30)));
                CK_U(8 * h + 2 + half, vorrq_u8(vandq_u8(l1, m4), vandq_u8(vshlq_n_u8(hb, 2), m30)));
                CK_U(8 * h + 4 + half, vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(hb, m30)));
                CK_U(8 * h + 6 + half, vorrq_u8(vshrq_n_u8(l1, 4), vandq_u8(vshrq_n_u8(hb, 2), m30)));
            }
        break;
    }
    }
#undef CK_U
}

/* ---------------------------------------------------------------- lab codes */

/* Where the 32 codes of a lab chunk (bits 2-7, 4·bits bytes, code j at bit j·bits, least
 * significant first) sit in the source registers lab_codes loads: per group of eight codes, the
 * table indices of each code's byte and the next (so one 16-bit lane holds the code whole; an
 * index past the chunk is 0xFF, which tbl reads as zero) and the right shift that brings the
 * code to bit 0. Built once per matrix call. */
typedef struct { uint8x16_t idx[4]; int16x8_t shift[4]; uint16x8_t mask; } lab_tab;

/* Byte B of the chunk, for codes 8q…8q+7, in its source register. Bits ≥ 4: codes 0-15 (bytes
 * 0…2·bits) from the chunk's first 16 bytes, codes 16-31 from its last 16. Bits < 4 (8 or 12
 * bytes): one register of its first 8 bytes and its last 8. No load passes the chunk's end. */
static inline int lab_slot(int bits, int q, int B) {
    const int len = 4 * bits;
    if (B >= len) return 0xFF;
    if (bits >= 4) return q < 2 ? B : B - (len - 16);
    return B < 8 ? B : 8 + B - (len - 8);
}

static inline lab_tab lab_table(int bits) {
    lab_tab t;
    for (int q = 0; q < 4; q++) {
        uint8_t idx[16];
        int16_t shift[8];
        for (int k = 0; k < 8; k++) {
            const int bit = (8 * q + k) * bits;
            idx[2 * k] = (uint8_t)lab_slot(bits, q, bit / 8);
            idx[2 * k + 1] = (uint8_t)lab_slot(bits, q, bit / 8 + 1);
            shift[k] = (int16_t)-(bit % 8);
        }
        t.idx[q] = vld1q_u8(idx);
        t.shift[q] = vld1q_s16(shift);
    }
    t.mask = vdupq_n_u16((uint16_t)((1u << bits) - 1u));
    return t;
}

/* The chunk's 32 codes as bytes: 0-15 in *c0, 16-31 in *c1. Written out (not a loop over an
 * array), so GCC keeps the four parts in registers. */
static inline __attribute__((always_inline)) void lab_codes(const int bits, const lab_tab *t, const uint8_t *p, int8x16_t *c0,
                                                            int8x16_t *c1) {
    uint8x16_t lo, hi;
    if (bits >= 4) {
        lo = vld1q_u8(p);
        hi = vld1q_u8(p + 4 * bits - 16);
    } else {
        lo = hi = vcombine_u8(vld1_u8(p), vld1_u8(p + 4 * bits - 8));
    }
#define CK_LAB_PART(src, q) vmovn_u16(vandq_u16(vshlq_u16(vreinterpretq_u16_u8(vqtbl1q_u8(src, t->idx[q])), t->shift[q]), t->mask))
    *c0 = vreinterpretq_s8_u8(vcombine_u8(CK_LAB_PART(lo, 0), CK_LAB_PART(lo, 1)));
    *c1 = vreinterpretq_s8_u8(vcombine_u8(CK_LAB_PART(hi, 2), CK_LAB_PART(hi, 3)));
#undef CK_LAB_PART
}

/* ---------------------------------------------------------------- the two dot-product steps */

/* Base NEON: widening multiplies into int16 lanes, two products per lane before widening
 * again. Weights are in [-128, 127] and activations in [-127, 127] (the quantizer's range), so
 * a lane holds at most 2·128·127 = 32512 < 2^15: exact. */
static inline int32x4_t dot32_neon(int8x16_t a0, int8x16_t a1, int8x16_t b0, int8x16_t b1) {
    const int16x8_t p0 = vmlal_high_s8(vmull_s8(vget_low_s8(a0), vget_low_s8(b0)), a0, b0);
    const int16x8_t p1 = vmlal_high_s8(vmull_s8(vget_low_s8(a1), vget_low_s8(b1)), a1, b1);
    return vaddq_s32(vpaddlq_s16(p0), vpaddlq_s16(p1));
}

/* sdot's result by base instructions: products of bytes 4i..4i+3 summed into lane i. The
 * operands are 4-bit codes (|a| ≤ 16) against activations, so int16 pairs cannot overflow. */
static inline int32x4_t dot4_neon(int32x4_t acc, int8x16_t a, int8x16_t b) {
    const int16x8_t lo = vmull_s8(vget_low_s8(a), vget_low_s8(b)), hi = vmull_high_s8(a, b);
    return vpadalq_s16(acc, vpaddq_s16(lo, hi));
}

CK_DOTPROD static inline int32x4_t dot32_dotprod(int8x16_t a0, int8x16_t a1, int8x16_t b0, int8x16_t b1) {
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), a0, b0), a1, b1);
}

CK_DOTPROD static inline int32x4_t dot4_dotprod(int32x4_t acc, int8x16_t a, int8x16_t b) { return vdotq_s32(acc, a, b); }

#define CK_SFX neon
#define CK_TGT
#include "neon_dot.h"
#undef CK_SFX
#undef CK_TGT

#define CK_SFX dotprod
#define CK_TGT CK_DOTPROD
#include "neon_dot.h"
#undef CK_SFX
#undef CK_TGT

/* ---------------------------------------------------------------- i8mm: 2 rows × 2 tokens */

/* Two rows' blocks against two tokens' blocks by smmla: operand a holds 8 bytes of row 0 then
 * the same 8 of row 1, operand b the same of tokens 0 and 1, and the result is the 2×2 block of
 * dot products [r0·t0, r0·t1, r1·t0, r1·t1], accumulated over the four 8-byte slices of a
 * block. Per block: acc = fma((float)Σ, d_w·d_x, acc), the block order of the reference's
 * packed Q4_0 (so a block-order Q4_0 matrix gets the same bits here as there). */
#define CK_ZIP1(a, b) vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)))
#define CK_ZIP2(a, b) vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)))
CK_I8MM static inline __attribute__((always_inline)) void
tile2x2_i8mm(const int type, const uint8_t *w0, const uint8_t *w1, const uint8_t *x0, const uint8_t *x1, int nb, float *out,
             size_t os) {
    const int affine = type == CK_Q4_1 || type == CK_Q5_1;
    const size_t xbs = affine ? Q8_1_BYTES : Q8_0_BYTES, xq = affine ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    float32x4_t acc = vdupq_n_f32(0), macc = vdupq_n_f32(0);
    for (int b = 0; b < nb; b++) {
        const wq a = decode(type, w0, b), c = decode(type, w1, b);
        const uint8_t *xa = x0 + xbs * (size_t)b, *xc = x1 + xbs * (size_t)b;
        const int8x16_t ya0 = vld1q_s8((const int8_t *)(xa + xq)), ya1 = vld1q_s8((const int8_t *)(xa + xq + 16));
        const int8x16_t yc0 = vld1q_s8((const int8_t *)(xc + xq)), yc1 = vld1q_s8((const int8_t *)(xc + xq + 16));
        int32x4_t s = vmmlaq_s32(vdupq_n_s32(0), CK_ZIP1(a.q0, c.q0), CK_ZIP1(ya0, yc0));
        s = vmmlaq_s32(s, CK_ZIP2(a.q0, c.q0), CK_ZIP2(ya0, yc0));
        s = vmmlaq_s32(s, CK_ZIP1(a.q1, c.q1), CK_ZIP1(ya1, yc1));
        s = vmmlaq_s32(s, CK_ZIP2(a.q1, c.q1), CK_ZIP2(ya1, yc1));
        const float dxa = h16(xa), dxc = h16(xc);
        const float dw[4] = {a.d, a.d, c.d, c.d}, dx[4] = {dxa, dxc, dxa, dxc};
        acc = vfmaq_f32(acc, vcvtq_f32_s32(s), vmulq_f32(vld1q_f32(dw), vld1q_f32(dx)));
        if (affine) {
            const float sa = h16(xa + offsetof(block_q8_1, s)), sc = h16(xc + offsetof(block_q8_1, s));
            const float m[4] = {a.m, a.m, c.m, c.m}, sx[4] = {sa, sc, sa, sc};
            macc = vfmaq_f32(macc, vld1q_f32(m), vld1q_f32(sx));
        }
    }
    float r[4];
    vst1q_f32(r, affine ? vaddq_f32(acc, macc) : acc);
    out[0] = r[0];
    out[os] = r[1];
    out[1] = r[2];
    out[os + 1] = r[3];
}
#undef CK_ZIP1
#undef CK_ZIP2

CK_I8MM static inline __attribute__((always_inline)) void
rows_i8mm_t(const int type, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
            size_t os, int n) {
    const int nb = n / CK_QK, r2 = r0 + (r1 - r0) / 2 * 2, t2 = ntok / 2 * 2;
    for (int t0 = 0; t0 < t2; t0 += 64) {
        const int t1 = t0 + 64 < t2 ? t0 + 64 : t2;
        for (int r = r0; r < r2; r += 2)
            for (int t = t0; t < t1; t += 2)
                tile2x2_i8mm(type, w + ws * (size_t)r, w + ws * (size_t)(r + 1), x + xs * (size_t)t, x + xs * (size_t)(t + 1), nb,
                             out + os * (size_t)t + (size_t)(r - r0), os);
    }
    /* The odd row and the odd token: the dotprod kernels (block order for Q4_0 there too). */
    if (r2 < r1) {
        if (type == CK_Q4_0) rows_q4_0_blocks_dotprod(w, ws, r2, r1, x, xs, t2, out + (r2 - r0), os, n);
        else rows_q_dotprod(type, w, ws, r2, r1, x, xs, t2, out + (r2 - r0), os, n);
    }
    if (t2 < ntok) {
        if (type == CK_Q4_0) rows_q4_0_blocks_dotprod(w, ws, r0, r1, x + xs * (size_t)t2, xs, ntok - t2, out + os * (size_t)t2, os, n);
        else rows_q_dotprod(type, w, ws, r0, r1, x + xs * (size_t)t2, xs, ntok - t2, out + os * (size_t)t2, os, n);
    }
}

CK_I8MM static void rows_i8mm(int type, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok,
                              float *out, size_t os, int n) {
    switch (type) {
    case CK_Q4_0: rows_i8mm_t(CK_Q4_0, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    case CK_Q4_1: rows_i8mm_t(CK_Q4_1, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    case CK_Q5_0: rows_i8mm_t(CK_Q5_0, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    case CK_Q5_1: rows_i8mm_t(CK_Q5_1, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    default: rows_i8mm_t(CK_Q8_0, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    }
}

/* Packed Q4_0 (block_q4_0x8) against two tokens by smmla. Slices 2j and 2j+1 hold elements
 * 8j..8j+7 (low nibbles; 16+8j.. high) of each row, four bytes a row; zipping their 32-bit lanes
 * gives two rows' eight bytes side by side, smmla's left operand. Row pair p's result lanes are
 * [r2p·t0, r2p·t1, r2p+1·t0, r2p+1·t1], each a whole block's exact sum, then block order as the
 * reference: acc = fma((float)Σ, d_w·d_x, acc), so the bits are the reference's. */
CK_I8MM static void packed8_2tok_i8mm(const uint8_t *pg, const uint8_t *x0, const uint8_t *x1, int nb, float *out, size_t os) {
    float32x4_t acc[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};
    const uint8x16_t nibble = vdupq_n_u8(0x0F);
    const int8x16_t eight = vdupq_n_s8(8);
    for (int b = 0; b < nb; b++) {
        const uint8_t *blk = pg + Q4_0X8_BYTES * (size_t)b;
        const uint8_t *xa = x0 + Q8_0_BYTES * (size_t)b, *xc = x1 + Q8_0_BYTES * (size_t)b;
        const int8x16_t ya0 = vld1q_s8((const int8_t *)(xa + offsetof(block_q8_0, qs))), ya1 = vld1q_s8((const int8_t *)(xa + offsetof(block_q8_0, qs) + 16));
        const int8x16_t yc0 = vld1q_s8((const int8_t *)(xc + offsetof(block_q8_0, qs))), yc1 = vld1q_s8((const int8_t *)(xc + offsetof(block_q8_0, qs) + 16));
        const int8x16_t B[4] = {
            vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(ya0), vreinterpretq_s64_s8(yc0))),  /* elements 0-7 */
            vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(ya0), vreinterpretq_s64_s8(yc0))),  /* 8-15 */
            vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(ya1), vreinterpretq_s64_s8(yc1))),  /* 16-23 */
            vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(ya1), vreinterpretq_s64_s8(yc1)))}; /* 24-31 */
        int32x4_t s[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
        for (int j = 0; j < 2; j++)
            for (int h = 0; h < 2; h++) {
                const uint8_t *q = blk + offsetof(block_q4_0x8, qs) + 16 * h;
                const uint32x4_t va = vld1q_u32((const uint32_t *)(const void *)(q + 32 * (2 * j))),
                                 vb = vld1q_u32((const uint32_t *)(const void *)(q + 32 * (2 * j + 1)));
                const uint8x16_t z[2] = {vreinterpretq_u8_u32(vzip1q_u32(va, vb)), vreinterpretq_u8_u32(vzip2q_u32(va, vb))};
                for (int k = 0; k < 2; k++) {
                    const int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(z[k], nibble)), eight);
                    const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(z[k], 4)), eight);
                    s[2 * h + k] = vmmlaq_s32(vmmlaq_s32(s[2 * h + k], lo, B[j]), hi, B[2 + j]);
                }
            }
        const uint16x8_t hd = vld1q_u16((const uint16_t *)(const void *)blk);
        const float32x4_t d03 = vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(hd)));
        const float32x4_t d47 = vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(hd)));
        const float dxa = h16(xa), dxc = h16(xc);
        const float dx4[4] = {dxa, dxc, dxa, dxc};
        const float32x4_t dx = vld1q_f32(dx4);
        const float32x4_t dw[4] = {vzip1q_f32(d03, d03), vzip2q_f32(d03, d03), vzip1q_f32(d47, d47), vzip2q_f32(d47, d47)};
        for (int p = 0; p < 4; p++) acc[p] = vfmaq_f32(acc[p], vcvtq_f32_s32(s[p]), vmulq_f32(dw[p], dx));
    }
    for (int p = 0; p < 4; p++) {
        float r[4];
        vst1q_f32(r, acc[p]);
        out[2 * p] = r[0];
        out[os + 2 * (size_t)p] = r[1];
        out[2 * p + 1] = r[2];
        out[os + 2 * (size_t)p + 1] = r[3];
    }
}

CK_I8MM static void packed_q4_0_i8mm(const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                                     size_t os, int n) {
    const int nb = n / CK_QK, t2 = ntok / 2 * 2;
    for (int t0 = 0; t0 < t2; t0 += 64) {
        const int t1 = t0 + 64 < t2 ? t0 + 64 : t2;
        for (int r = r0; r < r1; r += 8) {
            const uint8_t *pg = packed + (size_t)(r / 8) * Q4_0X8_BYTES * (size_t)nb;
            for (int t = t0; t < t1; t += 2)
                packed8_2tok_i8mm(pg, x + xs * (size_t)t, x + xs * (size_t)(t + 1), nb, out + os * (size_t)t + (size_t)(r - r0), os);
        }
    }
    if (t2 < ntok) packed_q4_0_dotprod(packed, r0, r1, x + xs * (size_t)t2, xs, ntok - t2, out + os * (size_t)t2, os, n);
}

/* ---------------------------------------------------------------- f32 and f16 rows */

static inline float32x4_t load4(const int f16, const uint8_t *w, int i) {
    return f16 ? vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)(const void *)w + i)))
               : vld1q_f32((const float *)(const void *)w + i);
}

/* One f32 or f16 row against NT activation rows: four accumulators of four lanes over
 * 16-element steps, a 4-element step, then the scalar tail. */
static inline __attribute__((always_inline)) void
row_float(const int f16, const int NT, const uint8_t *w, const float *const *x, int n, float *out, size_t os) {
    float32x4_t s[4][4];
    for (int t = 0; t < NT; t++)
        for (int k = 0; k < 4; k++) s[t][k] = vdupq_n_f32(0);
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        const float32x4_t a0 = load4(f16, w, i), a1 = load4(f16, w, i + 4), a2 = load4(f16, w, i + 8), a3 = load4(f16, w, i + 12);
        for (int t = 0; t < NT; t++) {
            s[t][0] = vfmaq_f32(s[t][0], a0, vld1q_f32(x[t] + i));
            s[t][1] = vfmaq_f32(s[t][1], a1, vld1q_f32(x[t] + i + 4));
            s[t][2] = vfmaq_f32(s[t][2], a2, vld1q_f32(x[t] + i + 8));
            s[t][3] = vfmaq_f32(s[t][3], a3, vld1q_f32(x[t] + i + 12));
        }
    }
    for (; i + 4 <= n; i += 4) {
        const float32x4_t a = load4(f16, w, i);
        for (int t = 0; t < NT; t++) s[t][0] = vfmaq_f32(s[t][0], a, vld1q_f32(x[t] + i));
    }
    for (int t = 0; t < NT; t++) {
        float sum = vaddvq_f32(vaddq_f32(vaddq_f32(s[t][0], s[t][1]), vaddq_f32(s[t][2], s[t][3])));
        for (int k = i; k < n; k++) sum += (f16 ? h16(w + 2 * (size_t)k) : ((const float *)(const void *)w)[k]) * x[t][k];
        out[os * (size_t)t] = sum;
    }
}

static void rows_float(int f16, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                       size_t os, int n) {
    for (int t0 = 0; t0 < ntok; t0 += 64) {
        const int t1 = t0 + 64 < ntok ? t0 + 64 : ntok;
        for (int r = r0; r < r1; r++) {
            const uint8_t *wr = w + ws * (size_t)r;
            float *o = out + (size_t)(r - r0);
            int t = t0;
            for (; t + 4 <= t1; t += 4) {
                const float *x4[4] = {(const float *)(const void *)(x + xs * (size_t)t), (const float *)(const void *)(x + xs * (size_t)(t + 1)),
                                      (const float *)(const void *)(x + xs * (size_t)(t + 2)), (const float *)(const void *)(x + xs * (size_t)(t + 3))};
                if (f16) row_float(1, 4, wr, x4, n, o + os * (size_t)t, os);
                else row_float(0, 4, wr, x4, n, o + os * (size_t)t, os);
            }
            for (; t < t1; t++) {
                const float *x1[1] = {(const float *)(const void *)(x + xs * (size_t)t)};
                if (f16) row_float(1, 1, wr, x1, n, o + os * (size_t)t, os);
                else row_float(0, 1, wr, x1, n, o + os * (size_t)t, os);
            }
        }
    }
}

float ck_neon_dot_f32(const float *a, const float *b, int n) {
    float out;
    const float *x1[1] = {b};
    row_float(0, 1, (const uint8_t *)(const void *)a, x1, n, &out, 1);
    return out;
}

void ck_neon_f32_to_f16(const float *x, uint16_t *y, int n) {
    int i = 0;
    for (; i + 4 <= n; i += 4) vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
    for (; i < n; i++) y[i] = ck_f32_to_f16_one(x[i]);
}

/* ---------------------------------------------------------------- activations */

/* The reference's steps exactly (amax, d = amax/127, round-to-nearest-even of x·(127/amax),
 * the f16 scale and, for q8_1, the f16 of Σq·d), so the bytes are the reference's. */
void ck_neon_quantize_act(int act, const float *x, uint8_t *out, int n) {
    const size_t bs = act == CK_ACT_Q8_1 ? Q8_1_BYTES : Q8_0_BYTES;
    const size_t qo = act == CK_ACT_Q8_1 ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    for (int b = 0; b < n / CK_QK; b++) {
        const float *xb = x + CK_QK * b;
        uint8_t *ob = out + bs * (size_t)b;
        float32x4_t v[8];
        for (int i = 0; i < 8; i++) v[i] = vld1q_f32(xb + 4 * i);
        float32x4_t m = vabsq_f32(v[0]);
        for (int i = 1; i < 8; i++) m = vmaxq_f32(m, vabsq_f32(v[i]));
        const float amax = vmaxvq_f32(m);
        const float d = amax / 127.0f, id = amax != 0 ? 127.0f / amax : 0.0f;
        int32x4_t q[8];
        for (int i = 0; i < 8; i++) q[i] = vcvtnq_s32_f32(vmulq_n_f32(v[i], id));
        int8x16_t packed[2];
        for (int h = 0; h < 2; h++) {
            const int16x8_t a = vcombine_s16(vqmovn_s32(q[4 * h]), vqmovn_s32(q[4 * h + 1]));
            const int16x8_t c = vcombine_s16(vqmovn_s32(q[4 * h + 2]), vqmovn_s32(q[4 * h + 3]));
            packed[h] = vcombine_s8(vqmovn_s16(a), vqmovn_s16(c));
            vst1q_s8((int8_t *)(ob + qo) + 16 * h, packed[h]);
        }
        const uint16_t hd = f16_bits(d);
        memcpy(ob, &hd, 2);
        if (act == CK_ACT_Q8_1) {
            int32x4_t s = q[0];
            for (int i = 1; i < 8; i++) s = vaddq_s32(s, q[i]);
            const uint16_t hs = f16_bits((float)vaddvq_s32(s) * d);
            memcpy(ob + offsetof(block_q8_1, s), &hs, 2);
        }
    }
}

/* ---------------------------------------------------------------- matrix entry points */

void ck_neon_matmul(int level, int type, int block_order, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x,
                    size_t xs, int ntok, float *out, size_t os, int n) {
    switch (type) {
    case CK_F32: rows_float(0, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    case CK_F16: rows_float(1, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    case CK_Q2_K: case CK_Q3_K: case CK_Q4_K: case CK_Q5_K: case CK_Q6_K:
        if (level >= CK_LEVEL_DOTPROD) rows_k_dotprod(type, w, ws, r0, r1, x, xs, ntok, out, os, n);
        else rows_k_neon(type, w, ws, r0, r1, x, xs, ntok, out, os, n);
        return;
    case CK_IQ4_NL: /* 8-bit levels: the row bodies (i8mm's tiles are for the other types) */
        if (level >= CK_LEVEL_DOTPROD) rows_q_dotprod(type, w, ws, r0, r1, x, xs, ntok, out, os, n);
        else rows_q_neon(type, w, ws, r0, r1, x, xs, ntok, out, os, n);
        return;
    case CK_Q4_0: case CK_Q4_1: case CK_Q5_0: case CK_Q5_1: case CK_Q8_0: break;
    default: ck_ref_matmul(type, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    }
    const int blocks = block_order && type == CK_Q4_0;
    if (level >= CK_LEVEL_I8MM && ntok >= 2) rows_i8mm(type, w, ws, r0, r1, x, xs, ntok, out, os, n);
    else if (level >= CK_LEVEL_DOTPROD) {
        if (blocks) rows_q4_0_blocks_dotprod(w, ws, r0, r1, x, xs, ntok, out, os, n);
        else rows_q_dotprod(type, w, ws, r0, r1, x, xs, ntok, out, os, n);
    } else {
        if (blocks) rows_q4_0_blocks_neon(w, ws, r0, r1, x, xs, ntok, out, os, n);
        else rows_q_neon(type, w, ws, r0, r1, x, xs, ntok, out, os, n);
    }
}

void ck_neon_matmul_lab(int level, int bits, int group, int asymmetric, const uint8_t *w, size_t ws, int r0, int r1,
                        const uint8_t *x, size_t xs, int ntok, float *out, size_t os, int n) {
    const ck_lab l = ck_lab_layout(bits, group, asymmetric, n);
    const lab_tab t = lab_table(bits);
    if (level >= CK_LEVEL_DOTPROD) rows_lab_dotprod(bits, asymmetric, &l, &t, w, ws, r0, r1, x, xs, ntok, out, os, n);
    else rows_lab_neon(bits, asymmetric, &l, &t, w, ws, r0, r1, x, xs, ntok, out, os, n);
}

void ck_neon_packed_q4_0(int level, const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                         size_t os, int n) {
    if (level >= CK_LEVEL_I8MM && ntok >= 2) packed_q4_0_i8mm(packed, r0, r1, x, xs, ntok, out, os, n);
    else if (level >= CK_LEVEL_DOTPROD) packed_q4_0_dotprod(packed, r0, r1, x, xs, ntok, out, os, n);
    else packed_q4_0_neon(packed, r0, r1, x, xs, ntok, out, os, n);
}

/* ---------------------------------------------------------------- exp, SwiGLU, attention
 * These follow the reference (scalar.c) operation for operation, so they equal it bit for bit:
 * each fmaf there is a vfmaq here, each separate multiply or add a separate one (contraction
 * off from here on), and each slot of the reference's summation orders one vector lane. */

#pragma STDC FP_CONTRACT OFF

/* ck_expf on four lanes. */
static inline float32x4_t exp4(float32x4_t x) {
    const float32x4_t shift = vdupq_n_f32(CK_EXP_SHIFT);
    const float32x4_t z = vfmaq_f32(shift, x, vdupq_n_f32(CK_LOG2E));
    const float32x4_t n = vsubq_f32(z, shift);
    const float32x4_t r = vfmsq_f32(vfmsq_f32(x, n, vdupq_n_f32(CK_LN2_HI)), n, vdupq_n_f32(CK_LN2_LO));
    const uint32x4_t e = vshlq_n_u32(vreinterpretq_u32_f32(z), 23);
    const float32x4_t scale = vreinterpretq_f32_u32(vaddq_u32(e, vreinterpretq_u32_f32(vdupq_n_f32(1.0f))));
    const float32x4_t r2 = vmulq_f32(r, r);
    const float32x4_t hi = vfmaq_f32(vdupq_n_f32(CK_EXP_P4), vdupq_n_f32(CK_EXP_P5), r);
    const float32x4_t lo = vfmaq_f32(vdupq_n_f32(CK_EXP_P2), vdupq_n_f32(CK_EXP_P3), r);
    const float32x4_t poly = vfmaq_f32(vmulq_f32(vdupq_n_f32(CK_EXP_P1), r), vfmaq_f32(lo, hi, r2), r2);
    const float32x4_t usual = vfmaq_f32(scale, poly, scale);
    const uint32x4_t big = vcagtq_f32(n, vdupq_n_f32(126));
    if (vmaxvq_u32(big) == 0) return usual;
    const uint32x4_t g = vandq_u32(vclezq_f32(n), vdupq_n_u32(0x82000000u));
    const float32x4_t s1 = vreinterpretq_f32_u32(vaddq_u32(g, vdupq_n_u32(0x7f000000u)));
    const float32x4_t s2 = vreinterpretq_f32_u32(vsubq_u32(e, g));
    const uint32x4_t huge = vcagtq_f32(n, vdupq_n_f32(192));
    const float32x4_t scaled = vbslq_f32(huge, vmulq_f32(s1, s1), vmulq_f32(vfmaq_f32(s2, s2, poly), s1));
    return vbslq_f32(big, scaled, usual);
}

void ck_neon_exp8(const float *x, float *y) {
    vst1q_f32(y, exp4(vld1q_f32(x)));
    vst1q_f32(y + 4, exp4(vld1q_f32(x + 4)));
}

void ck_neon_swiglu(const float *gate, const float *up, float *out, int n8) {
    const float32x4_t one = vdupq_n_f32(1), zero = vdupq_n_f32(0);
    for (int i = 0; i < n8; i += 4) {
        const float32x4_t g = vld1q_f32(gate + i);
        const float32x4_t silu = vdivq_f32(g, vaddq_f32(one, exp4(vsubq_f32(zero, g))));
        vst1q_f32(out + i, vmulq_f32(silu, vld1q_f32(up + i)));
    }
}

static inline float32x4_t kv4(const void *base, int kv_f16, size_t offset) {
    return kv_f16 ? vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)base + offset)))
                  : vld1q_f32((const float *)base + offset);
}

static inline float kv1(const void *base, int kv_f16, size_t offset) {
    return kv_f16 ? ck_f16_to_f32(((const uint16_t *)base)[offset]) : ((const float *)base)[offset];
}

/* Vec order: slot i % 32 is lane i % 4 of accumulator (i % 32) / 4. */
static float dot_vec(const void *keys, size_t offset, int kv_f16, const float *query, int hd) {
    float32x4_t acc[8];
    for (int m = 0; m < 8; m++) acc[m] = vdupq_n_f32(0);
    const int np = hd & ~31;
    for (int i = 0; i < np; i += 32)
        for (int m = 0; m < 8; m++) acc[m] = vfmaq_f32(acc[m], kv4(keys, kv_f16, offset + (size_t)(i + 4 * m)), vld1q_f32(query + i + 4 * m));
    float slots[32];
    for (int m = 0; m < 8; m++) vst1q_f32(slots + 4 * m, acc[m]);
    float s = ck_reduce32(slots);
    for (int i = np; i < hd; i++) s += kv1(keys, kv_f16, offset + (size_t)i) * query[i];
    return s;
}

/* Tile order (hd a multiple of 8): slot i % 8. */
static float dot_tile(const void *keys, size_t offset, int kv_f16, const float *query, int hd) {
    float32x4_t a0 = vdupq_n_f32(0), a1 = vdupq_n_f32(0);
    for (int i = 0; i < hd; i += 8) {
        a0 = vfmaq_f32(a0, kv4(keys, kv_f16, offset + (size_t)i), vld1q_f32(query + i));
        a1 = vfmaq_f32(a1, kv4(keys, kv_f16, offset + (size_t)i + 4), vld1q_f32(query + i + 4));
    }
    float slots[8];
    vst1q_f32(slots, a0);
    vst1q_f32(slots + 4, a1);
    return ck_reduce8(slots);
}

/* Softmax's exponentials over the scores e[0..length) padded to a multiple of 8, in place: e[j] =
 * exp(e[j] − maximum), the padding exact zeros as in the reference, summed eight at a time in
 * double. Returns 1 ÷ the sum, the factor that normalises them. */
static float softmax_exps(float *e, int length, int padded, float maximum) {
    for (int j = length; j < padded; j++) e[j] = 0;
    double sum = 0;
    const float32x4_t vmax = vdupq_n_f32(maximum);
    for (int g = 0; g < padded; g += 8) {
        vst1q_f32(e + g, exp4(vsubq_f32(vld1q_f32(e + g), vmax)));
        vst1q_f32(e + g + 4, exp4(vsubq_f32(vld1q_f32(e + g + 4), vmax)));
        for (int j = length; j < g + 8; j++) e[j] = 0;
        sum += (double)ck_reduce8(e + g);
    }
    return (float)(1.0 / sum);
}

static void round_f16(float *x, int n) {
    int i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(x + i, vcvt_f32_f16(vcvt_f16_f32(vld1q_f32(x + i))));
    for (; i < n; i++) x[i] = ck_f16_round(x[i]);
}

void ck_neon_attention(const float *q, const void *keys, const void *values, size_t stride, int length, int hd, int kv_f16,
                       int batched, float scale, float *scratch, float *out) {
    const int padded = (length + 7) & ~7;
    float *e = scratch, *query = e + padded, *acc = query + 2 * hd;
    memcpy(query, q, sizeof(float) * (size_t)hd);
    if (kv_f16) round_f16(query, hd);
    const int tile_qk = kv_f16 && batched && hd % 8 == 0;
    float maximum = -INFINITY;
    for (int j = 0; j < length; j++) {
        const size_t offset = stride * (size_t)j;
        e[j] = (tile_qk ? dot_tile(keys, offset, kv_f16, query, hd) : dot_vec(keys, offset, kv_f16, query, hd)) * scale;
        if (e[j] > maximum) maximum = e[j];
    }
    const float norm = softmax_exps(e, length, padded, maximum);
    for (int g = 0; g < padded; g += 4) vst1q_f32(e + g, vmulq_n_f32(vld1q_f32(e + g), norm));
    if (kv_f16) round_f16(e, padded);
    const int lanes = batched ? 8 : 32, hd4 = hd & ~3;
    memset(acc, 0, sizeof(float) * (size_t)lanes * (size_t)hd);
    for (int j = 0; j < length; j++) {
        const float p = e[j];
        const float32x4_t vp = vdupq_n_f32(p);
        float *a = acc + (size_t)(j % lanes) * (size_t)hd;
        const size_t offset = stride * (size_t)j;
        for (int d = 0; d < hd4; d += 4) vst1q_f32(a + d, vfmaq_f32(vld1q_f32(a + d), vp, kv4(values, kv_f16, offset + (size_t)d)));
        for (int d = hd4; d < hd; d++) a[d] = fmaf(p, kv1(values, kv_f16, offset + (size_t)d), a[d]);
    }
    for (int d = 0; d < hd; d++) {
        float l[32];
        for (int k = 0; k < lanes; k++) l[k] = acc[(size_t)k * (size_t)hd + (size_t)d];
        out[d] = batched ? ck_reduce8(l) : ck_reduce32(l);
    }
}

/* ---------------------------------------------------------------- quantized KV cache
 * ck_ref_attention_q's steps (scalar.c), bit for bit, in base NEON at every Arm level: each
 * block's integer sum is exact however it is formed, and the float steps are the reference's. */

/* A cache block's 32 elements as signed bytes in element order: 0-15 in lo, 16-31 in hi. */
static inline void kv_bytes(int type, const uint8_t *block, int8x16_t *lo, int8x16_t *hi) {
    if (type == CK_Q8_0) {
        const int8_t *qs = ((const block_q8_0 *)block)->qs;
        *lo = vld1q_s8(qs);
        *hi = vld1q_s8(qs + 16);
        return;
    }
    const uint8x16_t qs = vld1q_u8(((const block_q4_0 *)block)->qs);
    const int8x16_t eight = vdupq_n_s8(8);
    *lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(qs, vdupq_n_u8(15))), eight);
    *hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(qs, 4)), eight);
}

static inline int isum32_neon(int8x16_t a0, int8x16_t a1, int8x16_t b0, int8x16_t b1) {
    int32x4_t s = vpaddlq_s16(vmull_s8(vget_low_s8(a0), vget_low_s8(b0)));
    s = vpadalq_s16(s, vmull_s8(vget_high_s8(a0), vget_high_s8(b0)));
    s = vpadalq_s16(s, vmull_s8(vget_low_s8(a1), vget_low_s8(b1)));
    s = vpadalq_s16(s, vmull_s8(vget_high_s8(a1), vget_high_s8(b1)));
    return vaddvq_s32(s);
}

/* w·q for eight signed bytes, added to a0 (elements 0-3) and a1 (4-7). */
static inline void mad8(int8x8_t q, float w, float32x4_t *a0, float32x4_t *a1) {
    const int16x8_t h = vmovl_s8(q);
    *a0 = vfmaq_n_f32(*a0, vcvtq_f32_s32(vmovl_s16(vget_low_s16(h))), w);
    *a1 = vfmaq_n_f32(*a1, vcvtq_f32_s32(vmovl_s16(vget_high_s16(h))), w);
}

void ck_neon_attention_q(int type, const uint8_t *qq, const uint8_t *keys, const uint8_t *values, size_t row_bytes,
                         int length, int hd, float scale, float *scratch, float *out) {
    const int padded = (length + 7) & ~7, nb = hd / CK_QK;
    const size_t bb = type == CK_Q8_0 ? sizeof(block_q8_0) : sizeof(block_q4_0);
    float *e = scratch;
    float maximum = -INFINITY;
    for (int j = 0; j < length; j++) {
        const uint8_t *k = keys + row_bytes * (size_t)j;
        float s = 0;
        for (int b = 0; b < nb; b++) {
            const block_q8_0 *x = (const block_q8_0 *)(qq + (size_t)b * sizeof(block_q8_0));
            int8x16_t k0, k1;
            kv_bytes(type, k + bb * (size_t)b, &k0, &k1);
            const int isum = isum32_neon(k0, k1, vld1q_s8(x->qs), vld1q_s8(x->qs + 16));
            s = fmaf((float)isum, ck_ld16(k + bb * (size_t)b) * ck_f16_to_f32(x->d), s);
        }
        e[j] = s * scale;
        if (e[j] > maximum) maximum = e[j];
    }
    const float norm = softmax_exps(e, length, padded, maximum);
    for (int b = 0; b < nb; b++) {
        float32x4_t a[8];
        for (int k = 0; k < 8; k++) a[k] = vdupq_n_f32(0);
        for (int j = 0; j < length; j++) {
            const uint8_t *block = values + row_bytes * (size_t)j + bb * (size_t)b;
            const float w = (e[j] * norm) * ck_ld16(block);
            int8x16_t lo, hi;
            kv_bytes(type, block, &lo, &hi);
            mad8(vget_low_s8(lo), w, &a[0], &a[1]);
            mad8(vget_high_s8(lo), w, &a[2], &a[3]);
            mad8(vget_low_s8(hi), w, &a[4], &a[5]);
            mad8(vget_high_s8(hi), w, &a[6], &a[7]);
        }
        for (int k = 0; k < 8; k++) vst1q_f32(out + CK_QK * b + 4 * k, a[k]);
    }
}

#endif /* __aarch64__ */

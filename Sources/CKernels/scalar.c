/* The portable reference bodies: what every kernel computes, one product at a time. The ISA
 * bodies (x86/avx2.c, arm/neon.c) are checked against these (Tests/kernels/harness.c and the
 * Swift tests), bit for bit where they keep the same order, within a derived bound otherwise.
 *
 * Floating-point contraction is off in this file, so the reference rounds the same way on
 * every ISA (AArch64 has fused multiply-add in its base set and would otherwise fuse a·b + c
 * where x86-64 without FMA cannot); the fused steps it takes are written as fmaf. */
#include "internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF

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
            const float d = ck_ld16(p), m = asymmetric ? ck_ld16(p + 2) : 0.0f;                          \
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
        const float d = ck_ld16(p), m = asymmetric ? ck_ld16(p + 2) : 0.0f;
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

/* Code j of a lab chunk (bits ≤ 7: at most two bytes, the second read only when reached). */
static inline int lab_code(const uint8_t *codes, int j, int bits) {
    const int bit = j * bits, byte = bit / 8, shift = bit % 8;
    unsigned v = codes[byte];
    if (shift + bits > 8) v |= (unsigned)codes[byte + 1] << 8;
    return (int)((v >> shift) & ((1u << bits) - 1u));
}

/* Code j of a chunk in the split 6-bit layout (ck_lab_split): the low four bits as Q4_0 holds its
 * nibbles (byte j % 16, the high nibble for j ≥ 16), the top two in byte 16 + j % 8 at bit 2·(j / 8). */
static inline int split6_code(const uint8_t *codes, int j) {
    return ((codes[j % 16] >> (4 * (j / 16))) & 15) | ((codes[16 + j % 8] >> (2 * (j / 8))) & 3) << 4;
}

int ck_lab_split(int bits, int group, int asymmetric, const void *w, size_t w_stride, int rows, int n, void *out) {
    int act;
    if (bits != 6 || rows < 0 || !ck_lab_supported(bits, group, asymmetric, n, &act)) return 0;
    const ck_lab l = ck_lab_layout(bits, group, asymmetric, n);
    const uint8_t *W = (const uint8_t *)w;
    uint8_t *O = (uint8_t *)out;
    for (int r = 0; r < rows; r++) {
        memcpy(O + w_stride * (size_t)r, W + w_stride * (size_t)r, w_stride); /* the headers, and any padding */
        for (int k = 0; k < n / 32; k++) {
            const uint8_t *head, *codes;
            ck_lab_chunk(&l, W + w_stride * (size_t)r, k, &head, &codes);
            uint8_t *o = O + w_stride * (size_t)r + (size_t)(codes - (W + w_stride * (size_t)r));
            memset(o, 0, 24);
            for (int j = 0; j < 32; j++) {
                const int c = lab_code(codes, j, 6);
                o[j % 16] |= (uint8_t)((c & 15) << (4 * (j / 16)));
                o[16 + j % 8] |= (uint8_t)((c >> 4) << (2 * (j / 8)));
            }
        }
    }
    return 1;
}

/* The lab reference over either layout (split: ck_lab_split's 6-bit chunks). */
static void ref_matmul_lab(int bits, int group, int asymmetric, int split, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x,
                           size_t xs, int ntok, float *out, size_t os, int n) {
    const ck_lab l = ck_lab_layout(bits, group, asymmetric, n);
    const int zero = (1 << (bits - 1)) - 1, xbs = asymmetric ? Q8_1_BYTES : Q8_0_BYTES;
    const int xq = asymmetric ? (int)offsetof(block_q8_1, qs) : (int)offsetof(block_q8_0, qs);
    for (int t = 0; t < ntok; t++)
        for (int r = r0; r < r1; r++) {
            const uint8_t *row = w + ws * (size_t)r, *xt = x + xs * (size_t)t;
            float sum = 0;
            for (int k = 0; k < n / 32; k++) {
                const uint8_t *head, *codes, *xb = xt + (size_t)xbs * (size_t)k;
                ck_lab_chunk(&l, row, k, &head, &codes);
                int s = 0;
                for (int j = 0; j < 32; j++)
                    s += ((split ? split6_code(codes, j) : lab_code(codes, j, bits)) - (asymmetric ? 0 : zero)) * (int8_t)xb[xq + j];
                sum += (float)s * ck_ld16(head) * ck_ld16(xb);
                if (asymmetric) sum += ck_ld16(head + 2) * ck_ld16(xb + offsetof(block_q8_1, s));
            }
            out[os * (size_t)t + (size_t)(r - r0)] = sum;
        }
}

void ck_ref_matmul_lab(int bits, int group, int asymmetric, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x,
                       size_t xs, int ntok, float *out, size_t os, int n) {
    ref_matmul_lab(bits, group, asymmetric, 0, w, ws, r0, r1, x, xs, ntok, out, os, n);
}

void ck_ref_matmul_lab_split(int bits, int group, int asymmetric, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x,
                             size_t xs, int ntok, float *out, size_t os, int n) {
    ref_matmul_lab(bits, group, asymmetric, 1, w, ws, r0, r1, x, xs, ntok, out, os, n);
}

/* ---------------------------------------------------------------- activations and dot products */

/* q8_K as ggml's quantize_row_q8_K_ref: the scale from the element of largest magnitude with
 * its sign (that element becomes −127), quants rounded to nearest even and capped at 127, the
 * sums of each 16, d = 1 / iscale; an all-zero block is d = 0 with zero quants and sums. */
static void quantize_q8_K(const float *x, uint8_t *out, int n) {
    for (int b = 0; b < n / CK_QK_K; b++) {
        const float *xb = x + CK_QK_K * b;
        block_q8_K y;
        float max = 0, amax = 0;
        for (int j = 0; j < CK_QK_K; j++) {
            const float ax = fabsf(xb[j]);
            if (ax > amax) { amax = ax; max = xb[j]; }
        }
        memset(&y, 0, sizeof y);
        if (amax != 0) {
            const float iscale = -127.0f / max;
            for (int j = 0; j < CK_QK_K; j++) {
                const int v = (int)nearbyintf(iscale * xb[j]);
                y.qs[j] = (int8_t)(v < 127 ? v : 127);
            }
            for (int s = 0; s < CK_QK_K / 16; s++) {
                int sum = 0;
                for (int j = 0; j < 16; j++) sum += y.qs[16 * s + j];
                y.bsums[s] = (int16_t)sum;
            }
            y.d = 1 / iscale;
        }
        memcpy(out + (size_t)Q8_K_BYTES * (size_t)b, &y, sizeof y);
    }
}

void ck_ref_quantize_act(int act, const float *x, uint8_t *out, int n) {
    if (act == CK_ACT_Q8_K) { quantize_q8_K(x, out, n); return; }
    const size_t bs = act == CK_ACT_Q8_1 ? Q8_1_BYTES : Q8_0_BYTES,
                 qo = act == CK_ACT_Q8_1 ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
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
            memcpy(ob + offsetof(block_q8_1, s), &hs, 2);
        }
    }
}

/* A K-quant row against a q8_K row, super-block by super-block in ck_kscales' form: the
 * integer sums exact, then y.d·(d·Σ − dm·Σ) in float. */
static float dot_k(int type, const uint8_t *w, const uint8_t *x, int n) {
    const int bs = ck_block_bytes(type);
    float sum = 0;
    for (int b = 0; b < n / CK_QK_K; b++) {
        const uint8_t *wb = w + (size_t)bs * (size_t)b;
        block_q8_K y;
        memcpy(&y, x + (size_t)Q8_K_BYTES * (size_t)b, sizeof y);
        ck_kscales k;
        ck_k_scales(type, wb, &k);
        int sumi = 0, summ = 0;
        for (int s = 0; s < 16; s++) {
            int t = 0;
            for (int j = 16 * s; j < 16 * s + 16; j++) t += ck_k_quant(type, wb, j) * y.qs[j];
            sumi += k.sc[s] * t;
            summ += k.cm[s] * y.bsums[s];
        }
        sum += y.d * (k.d * (float)sumi - k.dm * (float)summ);
    }
    return sum;
}

/* Scalar dot of one weight row with one activation row: the reference the AVX2 bodies match
 * up to float summation order. */
float ck_ref_dot(int type, const uint8_t *w, const uint8_t *x, int n) {
    const int nb = n / 32;
    float sum = 0;
    if (ck_is_k(type)) return dot_k(type, w, x, n);
    switch (type) {
    case CK_IQ4_NL:
        for (int b = 0; b < nb; b++) {
            const uint8_t *wb = w + IQ4_NL_BYTES * b, *xb = x + Q8_0_BYTES * b;
            const int8_t *y = (const int8_t *)(xb + offsetof(block_q8_0, qs));
            int s = 0;
            for (int j = 0; j < 16; j++) {
                const uint8_t v = wb[offsetof(block_iq4_nl, qs) + j];
                s += ck_iq4nl_values[v & 15] * y[j] + ck_iq4nl_values[v >> 4] * y[j + 16];
            }
            sum += (float)s * ck_ld16(wb) * ck_ld16(xb);
        }
        return sum;
    case CK_F32: {
        const float *a = (const float *)w, *b = (const float *)x;
        for (int i = 0; i < n; i++) sum += a[i] * b[i];
        return sum;
    }
    case CK_F16: {
        const float *b = (const float *)x;
        for (int i = 0; i < n; i++) sum += ck_ld16(w + 2 * i) * b[i];
        return sum;
    }
    case CK_Q8_0:
        for (int b = 0; b < nb; b++) {
            const uint8_t *wb = w + ck_block_bytes(CK_Q8_0) * b, *xb = x + Q8_0_BYTES * b;
            int s = 0;
            for (int j = 0; j < 32; j++) s += (int8_t)wb[offsetof(block_q8_0, qs) + j] * (int8_t)xb[offsetof(block_q8_0, qs) + j];
            sum += (float)s * ck_ld16(wb) * ck_ld16(xb);
        }
        return sum;
    case CK_Q4_0: case CK_Q5_0: {
        const int five = type == CK_Q5_0, bs = ck_block_bytes(type), qs = five ? offsetof(block_q5_0, qs) : offsetof(block_q4_0, qs);
        for (int b = 0; b < nb; b++) {
            const uint8_t *wb = w + bs * b, *xb = x + Q8_0_BYTES * b;
            uint32_t qh = 0;
            if (five) memcpy(&qh, wb + offsetof(block_q5_0, qh), 4);
            int s = 0;
            for (int j = 0; j < 16; j++) {
                int lo = wb[qs + j] & 15, hi = wb[qs + j] >> 4;
                if (five) { lo |= ((qh >> j) & 1) << 4; hi |= ((qh >> (j + 16)) & 1) << 4; }
                const int off = five ? 16 : 8;
                s += (lo - off) * (int8_t)xb[offsetof(block_q8_0, qs) + j] + (hi - off) * (int8_t)xb[offsetof(block_q8_0, qs) + j + 16];
            }
            sum += (float)s * ck_ld16(wb) * ck_ld16(xb);
        }
        return sum;
    }
    case CK_Q4_1: case CK_Q5_1: {
        const int five = type == CK_Q5_1, bs = ck_block_bytes(type), qs = five ? offsetof(block_q5_1, qs) : offsetof(block_q4_1, qs);
        for (int b = 0; b < nb; b++) {
            const uint8_t *wb = w + bs * b, *xb = x + Q8_1_BYTES * b;
            uint32_t qh = 0;
            if (five) memcpy(&qh, wb + offsetof(block_q5_1, qh), 4);
            int s = 0;
            for (int j = 0; j < 16; j++) {
                int lo = wb[qs + j] & 15, hi = wb[qs + j] >> 4;
                if (five) { lo |= ((qh >> j) & 1) << 4; hi |= ((qh >> (j + 16)) & 1) << 4; }
                s += lo * (int8_t)xb[offsetof(block_q8_1, qs) + j] + hi * (int8_t)xb[offsetof(block_q8_1, qs) + j + 16];
            }
            sum += (float)s * ck_ld16(wb) * ck_ld16(xb) + ck_ld16(wb + offsetof(block_q4_1, m)) * ck_ld16(xb + offsetof(block_q8_1, s));
        }
        return sum;
    }
    }
    return 0;
}

void ck_ref_matmul(int type, const uint8_t *W, size_t w_stride, int r0, int r1, const uint8_t *X, size_t x_stride, int ntok,
                   float *out, size_t out_stride, int n) {
    for (int t = 0; t < ntok; t++)
        for (int r = r0; r < r1; r++)
            out[out_stride * t + (r - r0)] = ck_ref_dot(type, W + w_stride * r, X + x_stride * t, n);
}

size_t ck_q4_0_packed_bytes(int rows, int n) { return (size_t)rows * (size_t)(n / CK_QK) * Q4_0_BYTES; }

void ck_q4_0_pack(const void *w, size_t w_stride, int rows, int n, void *out) {
    const uint8_t *W = (const uint8_t *)w;
    uint8_t *o = (uint8_t *)out;
    const int nb = n / 32;
    for (int g = 0; g < rows; g += 8)
        for (int b = 0; b < nb; b++) {
            for (int k = 0; k < 8; k++) memcpy(o + 2 * k, W + w_stride * (size_t)(g + k) + Q4_0_BYTES * (size_t)b, 2);
            o += offsetof(block_q4_0x8, qs);
            for (int c = 0; c < 4; c++)
                for (int k = 0; k < 8; k++, o += 4) memcpy(o, W + w_stride * (size_t)(g + k) + Q4_0_BYTES * (size_t)b + offsetof(block_q4_0, qs) + 4 * c, 4);
        }
}

/* A symmetric 4-bit lab row is Q4_0 in other clothes: value = d·(c − 7) with c in 0…15, and
 * Q4_0's value = d'·(c' − 8) gives the same number, exactly, with c' = 15 − c and d' = −d (the f16
 * sign bit flipped). So such a matrix (groups a multiple of 32, or one per row) is written
 * straight into packed Q4_0 groups of eight rows, each 32-element chunk a block under its
 * group's scale, and runs on the packed Q4_0 kernel. */
int ck_lab_pack_q4_0(int bits, int group, int asymmetric, const void *w, size_t w_stride, int rows, int n, void *out) {
    int act;
    if (bits != 4 || asymmetric || rows <= 0 || rows % 8 != 0 || !ck_lab_supported(bits, group, asymmetric, n, &act)) return 0;
    const ck_lab l = ck_lab_layout(bits, group, asymmetric, n);
    const uint8_t *W = (const uint8_t *)w;
    uint8_t *o = (uint8_t *)out;
    const int nb = n / 32;
    for (int g = 0; g < rows; g += 8)
        for (int b = 0; b < nb; b++) {
            uint8_t qs[8][16];
            for (int k = 0; k < 8; k++) {
                const uint8_t *head, *codes;
                ck_lab_chunk(&l, W + w_stride * (size_t)(g + k), b, &head, &codes);
                uint16_t d;
                memcpy(&d, head, 2);
                d ^= 0x8000u;
                memcpy(o + 2 * k, &d, 2);
                for (int i = 0; i < 16; i++) {
                    /* code i and code i + 16: lab packs code j in byte j/2, low nibble first */
                    const int lo = (codes[i / 2] >> (4 * (i % 2))) & 15, hi = (codes[(i + 16) / 2] >> (4 * (i % 2))) & 15;
                    qs[k][i] = (uint8_t)((15 - lo) | (15 - hi) << 4);
                }
            }
            o += offsetof(block_q4_0x8, qs);
            for (int c = 0; c < 4; c++)
                for (int k = 0; k < 8; k++, o += 4) memcpy(o, qs[k] + 4 * c, 4);
        }
    return 1;
}

/* The packed kernel's arithmetic, one product at a time (Q4_0 or IQ4_NL). */
void ck_ref_packed(int type, const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out, size_t os,
                   int n) {
    const int nb = n / 32;
    for (int r = r0; r < r1; r += 8) {
        const uint8_t *pg = packed + (size_t)(r / 8) * Q4_0X8_BYTES * (size_t)nb;
        for (int t = 0; t < ntok; t++) {
            const uint8_t *xt = x + xs * (size_t)t;
            for (int k = 0; k < 8; k++) {
                float acc = 0;
                for (int b = 0; b < nb; b++) {
                    const uint8_t *blk = pg + Q4_0X8_BYTES * (size_t)b, *xb = xt + Q8_0_BYTES * (size_t)b + offsetof(block_q8_0, qs);
                    int sum = 0;
                    for (int c = 0; c < 4; c++)
                        for (int e = 0; e < 4; e++) {
                            const uint8_t v = blk[offsetof(block_q4_0x8, qs) + 32 * c + 4 * k + e];
                            const int lo = type == CK_IQ4_NL ? ck_iq4nl_values[v & 15] : (v & 15) - 8;
                            const int hi = type == CK_IQ4_NL ? ck_iq4nl_values[v >> 4] : (v >> 4) - 8;
                            sum += lo * (int8_t)xb[4 * c + e] + hi * (int8_t)xb[16 + 4 * c + e];
                        }
                    acc = fmaf((float)sum, ck_ld16(blk + 2 * k) * ck_ld16(xb - offsetof(block_q8_0, qs)), acc);
                }
                out[os * (size_t)t + (size_t)(r - r0 + k)] = acc;
            }
        }
    }
}

float ck_ref_dot_f32(const float *a, const float *b, int n) {
    float s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

void ck_ref_f32_to_f16(const float *x, uint16_t *y, int n) {
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

/* ---------------------------------------------------------------- attention and SwiGLU
 * Attention and SwiGLU with the float steps of llama.cpp's CPU backend (its x86 AVX2 build).
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

float ck_expf(float x) {
    const float z = fmaf(x, CK_LOG2E, CK_EXP_SHIFT);
    const float n = z - CK_EXP_SHIFT;
    const float r = fmaf(-n, CK_LN2_LO, fmaf(-n, CK_LN2_HI, x));
    const uint32_t e = to_bits(z) << 23;
    const float scale = from_bits(e + to_bits(1.0f));
    const float r2 = r * r;
    const float poly = fmaf(fmaf(fmaf(CK_EXP_P5, r, CK_EXP_P4), r2, fmaf(CK_EXP_P3, r, CK_EXP_P2)), r2, CK_EXP_P1 * r);
    if (!(fabsf(n) > 126)) return fmaf(poly, scale, scale);
    const uint32_t g = n <= 0 ? 0x82000000u : 0;
    const float s1 = from_bits(g + 0x7f000000u), s2 = from_bits(e - g);
    if (fabsf(n) > 192) return s1 * s1;
    return fmaf(s2, poly, s2) * s1;
}

void ck_ref_exp8(const float *x, float *y) {
    for (int i = 0; i < 8; i++) y[i] = ck_expf(x[i]);
}

/* ---------------------------------------------------------------- scalar reference */

static float dot_vec(const float *a, const float *b, int n) {
    float acc[32] = {0};
    const int np = n & ~31;
    for (int i = 0; i < np; i++) acc[i & 31] = fmaf(a[i], b[i], acc[i & 31]);
    float s = ck_reduce32(acc);
    for (int i = np; i < n; i++) s += a[i] * b[i];
    return s;
}

static float dot_tile(const float *a, const float *b, int n) {
    float acc[8] = {0};
    for (int i = 0; i < n; i++) acc[i & 7] = fmaf(a[i], b[i], acc[i & 7]);
    return ck_reduce8(acc);
}

static void load_row(const void *base, size_t stride, int j, int kv_f16, int hd, float *row) {
    if (kv_f16) {
        const uint16_t *r = (const uint16_t *)base + stride * (size_t)j;
        for (int d = 0; d < hd; d++) row[d] = ck_f16_to_f32(r[d]);
    } else {
        memcpy(row, (const float *)base + stride * (size_t)j, sizeof(float) * (size_t)hd);
    }
}

void ck_ref_attention(const float *q, const void *keys, const void *values, size_t stride, int length, int hd,
                             int kv_f16, int batched, float scale, float *scratch, float *out) {
    const int padded = (length + 7) & ~7;
    float *e = scratch, *query = e + padded, *row = query + hd, *acc = row + hd;
    for (int d = 0; d < hd; d++) query[d] = kv_f16 ? ck_f16_round(q[d]) : q[d];
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
        sum += (double)ck_reduce8(e + g);
    }
    const float norm = (float)(1.0 / sum);
    const int lanes = batched ? 8 : 32;
    for (int j = 0; j < lanes * hd; j++) acc[j] = 0;
    for (int j = 0; j < length; j++) {
        float p = e[j] * norm;
        if (kv_f16) p = ck_f16_round(p);
        load_row(values, stride, j, kv_f16, hd, row);
        float *a = acc + (size_t)(j % lanes) * (size_t)hd;
        for (int d = 0; d < hd; d++) a[d] = fmaf(p, row[d], a[d]);
    }
    for (int d = 0; d < hd; d++) {
        float l[32];
        for (int k = 0; k < lanes; k++) l[k] = acc[k * hd + d];
        out[d] = batched ? ck_reduce8(l) : ck_reduce32(l);
    }
}

void ck_ref_swiglu(const float *gate, const float *up, float *out, int from, int n) {
    const int n8 = n & ~7;
    int i = from;
    for (; i < n8; i++) out[i] = gate[i] / (1.0f + ck_expf(0.0f - gate[i])) * up[i];
    for (; i < n; i++) out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

/* ---------------------------------------------------------------- quantized KV cache
 * K and V rows stored as q8_0 or q4_0 blocks along the head dimension (a multiple of 32), as
 * llama.cpp's -ctk/-ctv q8_0|q4_0 store them, and attention that reads the blocks where they
 * lie (no dequantized copy of the cache). The steps are those of llama.cpp's CPU
 * flash-attention path, which is the one it runs with a quantized V cache:
 *  - a cache row is written by the type's CPU quantizer: q8_0 by the activation quantizer
 *    (ck_quantize_act), q4_0 by the reference rounding below (d = the signed extreme / −8,
 *    nibble = min(15, trunc(x/d + 8.5)));
 *  - the query is quantized to q8_0 blocks, and each score is an integer dot product per block
 *    scaled by the two block scales;
 *  - V rows are dequantized block by block into the weighted sum.
 * Where this differs from llama.cpp: the softmax is two passes (the maximum first, then exp by
 * ck_expf in groups of 8, as ck_attention_head), not llama.cpp's online rescaling with libm's
 * expf; and P·V weighs each block as (p·d)·q rather than p·(d·q). Both change only float
 * roundings (EngineTests measure the effect against llama.cpp's logits).
 *
 * The order, which every ISA body follows bit for bit:
 *  - s_j = Σ_b fmaf((float)isum_b, dk_b·dq_b, s), blocks in order from s = 0 (isum_b, at most
 *    32·127·127 in magnitude, is exact in a float), then e_j = s_j·scale;
 *  - softmax as ck_ref_attention (f32 cache, probabilities not rounded);
 *  - out[i] = Σ_j fmaf(p_j·dv_jb, (float)v_ji, ·), positions in order from 0, one chain per i. */

void ck_ref_kv_quantize_q4_0(const float *x, uint8_t *out, int n) {
    for (int b = 0; b < n / CK_QK; b++) {
        const float *xb = x + CK_QK * b;
        block_q4_0 *y = (block_q4_0 *)(out + (size_t)b * sizeof(block_q4_0));
        float amax = 0, extreme = 0;
        for (int j = 0; j < CK_QK; j++)
            if (fabsf(xb[j]) > amax) { amax = fabsf(xb[j]); extreme = xb[j]; }
        const float d = extreme / -8, id = d != 0 ? 1.0f / d : 0.0f;
        const uint16_t hd = ck_f32_to_f16_one(d);
        memcpy(&y->d, &hd, 2);
        for (int j = 0; j < CK_QK / 2; j++) {
            const int lo = (int8_t)(xb[j] * id + 8.5f), hi = (int8_t)(xb[j + CK_QK / 2] * id + 8.5f);
            y->qs[j] = (uint8_t)((lo < 15 ? lo : 15) | (hi < 15 ? hi : 15) << 4);
        }
    }
}

/* Element j of a cache block (q8_0 or q4_0) as a signed integer. */
static inline int kv_q(int type, const uint8_t *block, int j) {
    if (type == CK_Q8_0) return ((const block_q8_0 *)block)->qs[j];
    const uint8_t byte = ((const block_q4_0 *)block)->qs[j & 15];
    return (j < 16 ? byte & 15 : byte >> 4) - 8;
}

void ck_ref_attention_q(int type, const uint8_t *qq, const uint8_t *keys, const uint8_t *values, size_t row_bytes,
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
            int isum = 0;
            for (int i = 0; i < CK_QK; i++) isum += kv_q(type, k + bb * (size_t)b, i) * x->qs[i];
            s = fmaf((float)isum, ck_ld16(k + bb * (size_t)b) * ck_f16_to_f32(x->d), s);
        }
        e[j] = s * scale;
        if (e[j] > maximum) maximum = e[j];
    }
    double sum = 0;
    for (int g = 0; g < padded; g += 8) {
        for (int j = g; j < g + 8; j++) e[j] = j < length ? ck_expf(e[j] - maximum) : 0;
        sum += (double)ck_reduce8(e + g);
    }
    const float norm = (float)(1.0 / sum);
    for (int i = 0; i < hd; i++) out[i] = 0;
    for (int j = 0; j < length; j++) {
        const float p = e[j] * norm;
        const uint8_t *v = values + row_bytes * (size_t)j;
        for (int b = 0; b < nb; b++) {
            const uint8_t *block = v + bb * (size_t)b;
            const float w = p * ck_ld16(block);
            for (int i = 0; i < CK_QK; i++) out[CK_QK * b + i] = fmaf(w, (float)kv_q(type, block, i), out[CK_QK * b + i]);
        }
    }
}

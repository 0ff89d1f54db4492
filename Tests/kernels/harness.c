/* The kernel harness: every kernel of Sources/CKernels at every level this CPU offers, checked
 * against the scalar reference (scalar.c), and the dispatch checked against the level the
 * caller says this CPU offers. One test list for both ISAs: built natively on x86-64 (scalar
 * vs AVX2) and cross-built for AArch64, run under qemu-aarch64 with a CPU per Arm level
 * (scripts/check/kernels-harness.sh).
 *
 * usage: harness --expect LEVEL        LEVEL: scalar, avx2, avx512, neon, dotprod or i8mm
 *        harness --count KERNEL LEVEL NTOK   run one kernel once, for instruction counting
 * Exit 0 when every check passes, 1 otherwise (each failure printed), 64 on bad usage.
 *
 * Bounds, per check (u = 2^-24, γ(k) = k·u / (1 − k·u), the standard bound on the rounding
 * error of a k-step float sum or product chain relative to the sum of |terms|):
 *  - exact (bit for bit; +0 and −0 count as equal): the activation quantizers (q8_K's also
 *    against its definition: |x − d·q| ≤ |d|/2, bsums the sums of 16), f32→f16, exp8,
 *    SwiGLU, attention, packed Q4_0 and IQ4_NL, block-order Q4_0. These bodies do the reference's float
 *    operations in the reference's order, so any difference is a bug.
 *  - quantized rows (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1): the integer sum of each block is exact at
 *    every level (|products| ≤ 128·127, partial sums far below 2^31 and, in int16 lanes, below
 *    2^15), so the levels differ only in how the per-block floats s·d_w·d_x (+ m_w·s_x) are
 *    rounded and added: each side is within γ(nb + 5)·A of the exact value, where nb is the block
 *    count and A = Σ_b |d_w·d_x|·Σ_j |q_w·q_x| + Σ_b |m_w·s_x| (the sum of the terms' magnitudes,
 *    lane partial sums included), so |kernel − reference| ≤ 2·γ(nb + 5)·A. IQ4_NL the same, its
 *    codes being the codebook's levels.
 *  - K-quants (Q2_K … Q6_K against q8_K): the integer sums of each super-block are exact (blocks.h,
 *    internal.h's ck_kscales form), and per super-block the floats take at most the int→float
 *    conversion, d·y.d, the fma, one accumulation, the three-level horizontal sum and the final
 *    subtraction of the minimum term: |kernel − reference| ≤ 2·γ(nb + 7)·A with nb super-blocks and
 *    A = Σ_b |d·y.d|·Σ_s |sc_s|·Σ |q·y| + |dm·y.d|·Σ_s |cm_s·bsums_s| (unsigned q, as the kernels sum).
 *  - f32 and f16 rows and dot_f32: reassociation of n products: |kernel − reference| ≤
 *    2·γ(n + 2)·Σ|a_i·b_i|. */
#include "../../Sources/CKernels/internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks, failures;
static const char *level_name(int level) {
    switch (level) {
    case CK_LEVEL_SCALAR: return "scalar";
    case CK_LEVEL_AVX2: return "avx2";
    case CK_LEVEL_NEON: return "neon";
    case CK_LEVEL_DOTPROD: return "dotprod";
    case CK_LEVEL_I8MM: return "i8mm";
    case CK_LEVEL_AVX512: return "avx512";
    default: return "?";
    }
}

#define CK_LEVEL_LAST CK_LEVEL_AVX512

static int level_named(const char *s) {
    for (int l = CK_LEVEL_SCALAR; l <= CK_LEVEL_LAST; l++)
        if (strcmp(s, level_name(l)) == 0) return l;
    return -1;
}

/* A level's family and its rank in it (each level includes the ones below it in its family):
 * x86 avx2 < avx512; Arm neon < dotprod < i8mm. */
static int family(int level) { return level == CK_LEVEL_SCALAR ? 0 : level == CK_LEVEL_AVX2 || level == CK_LEVEL_AVX512 ? 1 : 2; }
static int rank(int level) { return level == CK_LEVEL_AVX512 ? 2 : level == CK_LEVEL_AVX2 ? 1 : level; }

#define FAIL(...)                                                     \
    do {                                                              \
        failures++;                                                   \
        if (failures <= 40) { printf("FAIL: " __VA_ARGS__); printf("\n"); } \
    } while (0)

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t next32(void) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng >> 32);
}
/* Uniform in [-1, 1), every 37th value four times larger (outliers, as activations have). */
static float uniform(void) { return (float)(next32() >> 8) / 8388608.0f - 1.0f; }
static void fill(float *x, int n, float scale) {
    for (int i = 0; i < n; i++) x[i] = uniform() * scale * (i % 37 == 0 ? 4.0f : 1.0f);
}

static double gamma_k(int k) {
    const double u = ldexp(1.0, -24);
    return k * u / (1 - k * u);
}

static int same(float a, float b) { return a == b || (isnan(a) && isnan(b)); }

/* ---------------------------------------------------------------- weights */

static const int types[] = {CK_F32, CK_F16, CK_Q8_0, CK_Q4_0, CK_Q4_1, CK_Q5_0, CK_Q5_1, CK_IQ4_NL,
                            CK_Q2_K, CK_Q3_K, CK_Q4_K, CK_Q5_K, CK_Q6_K};
static const char *type_name(int t) {
    switch (t) {
    case CK_F32: return "f32";
    case CK_F16: return "f16";
    case CK_Q8_0: return "q8_0";
    case CK_Q4_0: return "q4_0";
    case CK_Q4_1: return "q4_1";
    case CK_Q5_0: return "q5_0";
    case CK_IQ4_NL: return "iq4_nl";
    case CK_Q2_K: return "q2_K";
    case CK_Q3_K: return "q3_K";
    case CK_Q4_K: return "q4_K";
    case CK_Q5_K: return "q5_K";
    case CK_Q6_K: return "q6_K";
    default: return "q5_1";
    }
}

static size_t row_bytes(int type, int n) {
    switch (type) {
    case CK_F32: return (size_t)n * 4;
    case CK_F16: return (size_t)n * 2;
    default: return (size_t)(n / (ck_is_k(type) ? CK_QK_K : CK_QK)) * (size_t)ck_block_bytes(type);
    }
}

/* The f16 super-scales' offsets of a K type: d, then dmin (−1 for none). */
static void k_scale_offsets(int type, int *d, int *dmin) {
    switch (type) {
    case CK_Q2_K: *d = offsetof(block_q2_K, d); *dmin = offsetof(block_q2_K, dmin); return;
    case CK_Q3_K: *d = offsetof(block_q3_K, d); *dmin = -1; return;
    case CK_Q4_K: *d = offsetof(block_q4_K, d); *dmin = offsetof(block_q4_K, dmin); return;
    case CK_Q5_K: *d = offsetof(block_q5_K, d); *dmin = offsetof(block_q5_K, dmin); return;
    default: *d = offsetof(block_q6_K, d); *dmin = -1; return;
    }
}

/* Random rows in a type's layout: every bit pattern of the quants (q8_0 including −128), scales
 * in a realistic range, minimums of either sign. */
static void random_rows(int type, uint8_t *w, int rows, int n) {
    const size_t bytes = row_bytes(type, n) * (size_t)rows;
    if (type == CK_F32) { fill((float *)(void *)w, rows * n, 1); return; }
    if (type == CK_F16) {
        for (int i = 0; i < rows * n; i++) ((uint16_t *)(void *)w)[i] = ck_f32_to_f16_one(uniform());
        return;
    }
    for (size_t i = 0; i < bytes; i++) w[i] = (uint8_t)next32();
    if (ck_is_k(type)) { /* every quant and sub-block scale bit pattern; realistic super-scales */
        int od, om;
        k_scale_offsets(type, &od, &om);
        const int bb = ck_block_bytes(type);
        for (size_t b = 0; b < bytes / (size_t)bb; b++) {
            uint8_t *p = w + b * (size_t)bb;
            const uint16_t d = ck_f32_to_f16_one(0.0001f + 0.002f * fabsf(uniform())), m = ck_f32_to_f16_one(0.001f * fabsf(uniform()));
            memcpy(p + od, &d, 2);
            if (om >= 0) memcpy(p + om, &m, 2);
        }
        return;
    }
    const int bb = ck_block_bytes(type), affine = type == CK_Q4_1 || type == CK_Q5_1;
    for (size_t b = 0; b < bytes / (size_t)bb; b++) {
        uint8_t *p = w + b * (size_t)bb;
        const uint16_t d = ck_f32_to_f16_one(0.002f + 0.03f * fabsf(uniform()));
        memcpy(p, &d, 2);
        if (affine) {
            const uint16_t m = ck_f32_to_f16_one(0.2f * uniform());
            memcpy(p + offsetof(block_q4_1, m), &m, 2); /* the same offset in q5_1 */
        }
    }
}

/* Σ|terms| of one row·token dot, as the bound above defines it. */
static double magnitude(int type, const uint8_t *w, const uint8_t *x, int n) {
    double a = 0;
    if (type == CK_F32 || type == CK_F16) {
        const float *xf = (const float *)(const void *)x;
        for (int i = 0; i < n; i++) {
            const float wi = type == CK_F32 ? ((const float *)(const void *)w)[i] : ck_ld16(w + 2 * i);
            a += fabs((double)wi * xf[i]);
        }
        return a;
    }
    if (ck_is_k(type)) {
        /* Σ_b |d·y.d|·Σ_s |sc_s|·Σ |q·y| + |dm·y.d|·Σ_s |cm_s·bsums_s|, with the unsigned quants the
         * kernels sum (blocks.h), decoded here one by one. */
        const int bb = ck_block_bytes(type);
        for (int b = 0; b < n / CK_QK_K; b++) {
            const uint8_t *wb = w + (size_t)bb * (size_t)b;
            block_q8_K y;
            memcpy(&y, x + (size_t)Q8_K_BYTES * (size_t)b, sizeof y);
            ck_kscales k;
            ck_k_scales(type, wb, &k);
            double si = 0, sm = 0;
            for (int sub = 0; sub < 16; sub++) {
                double t = 0;
                for (int j = 16 * sub; j < 16 * sub + 16; j++) t += fabs((double)ck_k_quant(type, wb, j) * y.qs[j]);
                si += fabs((double)k.sc[sub]) * t;
                sm += fabs((double)k.cm[sub] * y.bsums[sub]);
            }
            a += fabs((double)k.d * y.d) * si + fabs((double)k.dm * y.d) * sm;
        }
        return a;
    }
    /* Each block's integer codes, decoded here from the layouts in blocks.h. */
    const int nb = n / CK_QK, bb = ck_block_bytes(type), affine = type == CK_Q4_1 || type == CK_Q5_1;
    const int xbs = affine ? Q8_1_BYTES : Q8_0_BYTES, xq = affine ? (int)offsetof(block_q8_1, qs) : (int)offsetof(block_q8_0, qs);
    for (int b = 0; b < nb; b++) {
        const uint8_t *wb = w + (size_t)bb * (size_t)b, *xb = x + (size_t)xbs * (size_t)b;
        int q[32];
        uint32_t qh = 0;
        switch (type) {
        case CK_Q8_0: for (int j = 0; j < 32; j++) q[j] = (int8_t)wb[offsetof(block_q8_0, qs) + j]; break;
        case CK_IQ4_NL:
            for (int j = 0; j < 16; j++) {
                q[j] = ck_iq4nl_values[wb[offsetof(block_iq4_nl, qs) + j] & 15];
                q[j + 16] = ck_iq4nl_values[wb[offsetof(block_iq4_nl, qs) + j] >> 4];
            }
            break;
        case CK_Q4_0: case CK_Q4_1: {
            const int qs = type == CK_Q4_0 ? (int)offsetof(block_q4_0, qs) : (int)offsetof(block_q4_1, qs), off = type == CK_Q4_0 ? 8 : 0;
            for (int j = 0; j < 16; j++) { q[j] = (wb[qs + j] & 15) - off; q[j + 16] = (wb[qs + j] >> 4) - off; }
            break;
        }
        default: {
            const int five0 = type == CK_Q5_0;
            const int qs = five0 ? (int)offsetof(block_q5_0, qs) : (int)offsetof(block_q5_1, qs), off = five0 ? 16 : 0;
            memcpy(&qh, wb + (five0 ? offsetof(block_q5_0, qh) : offsetof(block_q5_1, qh)), 4);
            for (int j = 0; j < 16; j++) {
                q[j] = ((wb[qs + j] & 15) | (int)((qh >> j) & 1) << 4) - off;
                q[j + 16] = ((wb[qs + j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) - off;
            }
        }
        }
        double s = 0;
        for (int j = 0; j < 32; j++) s += fabs((double)q[j] * (int8_t)xb[xq + j]);
        a += s * fabs((double)ck_ld16(wb) * ck_ld16(xb));
        if (affine) a += fabs((double)ck_ld16(wb + offsetof(block_q4_1, m)) * ck_ld16(xb + offsetof(block_q8_1, s)));
    }
    return a;
}

/* Block order (the packed kernel's float steps) on unpacked Q4_0 or IQ4_NL rows: one product at a time. */
static float block_order_dot(int type, const uint8_t *w, const uint8_t *x, int n) {
    float acc = 0;
    for (int b = 0; b < n / CK_QK; b++) {
        const uint8_t *wb = w + Q4_0_BYTES * (size_t)b, *xb = x + Q8_0_BYTES * (size_t)b;
        int s = 0;
        for (int j = 0; j < 16; j++) {
            const int8_t *y = (const int8_t *)(xb + offsetof(block_q8_0, qs));
            const uint8_t v = wb[offsetof(block_q4_0, qs) + j]; /* the same offset in iq4_nl */
            if (type == CK_IQ4_NL) s += ck_iq4nl_values[v & 15] * y[j] + ck_iq4nl_values[v >> 4] * y[j + 16];
            else s += ((v & 15) - 8) * y[j] + ((v >> 4) - 8) * y[j + 16];
        }
        acc = fmaf((float)s, ck_ld16(wb) * ck_ld16(xb), acc);
    }
    return acc;
}

/* ---------------------------------------------------------------- the checks */

static void check_quantize(int level) {
    const int n = 32 * 12;
    float x[32 * 12];
    fill(x, n, 3);
    for (int j = 64; j < 96; j++) x[j] = 0;       /* an all-zero block */
    for (int j = 96; j < 128; j++) x[j] = 1e-30f; /* a tiny one */
    x[130] = 12345.0f;                            /* and one with a huge value */
    for (int act = CK_ACT_Q8_0; act <= CK_ACT_Q8_1; act++) {
        uint8_t got[36 * 12], want[36 * 12];
        ck_quantize_act(level, act, x, got, n);
        ck_ref_quantize_act(act, x, want, n);
        checks++;
        if (memcmp(got, want, ck_act_row_bytes(act, n)) != 0) FAIL("%s quantize_act %s: bytes differ from the reference", level_name(level), act == CK_ACT_Q8_0 ? "q8_0" : "q8_1");
    }
    /* q8_K over three super-blocks: ordinary, all zero, and one whose largest element is positive. */
    float xk[768];
    fill(xk, 768, 3);
    for (int j = 256; j < 512; j++) xk[j] = 0;
    xk[600] = 50.0f;
    uint8_t got[3 * Q8_K_BYTES], want[3 * Q8_K_BYTES];
    ck_quantize_act(level, CK_ACT_Q8_K, xk, got, 768);
    ck_ref_quantize_act(CK_ACT_Q8_K, xk, want, 768);
    checks++;
    if (memcmp(got, want, sizeof got) != 0) FAIL("%s quantize_act q8_K: bytes differ from the reference", level_name(level));
    /* And the reference against its definition: |x − d·q| ≤ |d|/2 (+ rounding), bsums the sums. */
    for (int b = 0; b < 3; b++) {
        block_q8_K y;
        memcpy(&y, want + (size_t)Q8_K_BYTES * (size_t)b, sizeof y);
        for (int j = 0; j < 256; j++) {
            checks++;
            const double e = fabs((double)xk[256 * b + j] - (double)y.d * y.qs[j]);
            if (!(e <= fabs((double)y.d) * (0.5 + 1e-5))) FAIL("q8_K reference: element %d off by %g with d %g", 256 * b + j, e, (double)y.d);
        }
        for (int sub = 0; sub < 16; sub++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += y.qs[16 * sub + j];
            checks++;
            if (sum != y.bsums[sub]) FAIL("q8_K reference: bsums[%d] = %d, quants sum to %d", sub, y.bsums[sub], sum);
        }
    }
}

typedef struct { int rows, n, ntok; } shape;
static const shape shapes[] = {{1, 32, 1}, {13, 64, 1}, {8, 256, 5}, {17, 96, 2}, {32, 128, 9}, {6, 64, 67}, {24, 2048, 3}, {5, 160, 4}};

/* The K-quants' inner sizes are multiples of 256. */
static const shape k_shapes[] = {{1, 256, 1}, {13, 512, 1}, {8, 256, 5}, {17, 768, 2}, {6, 256, 67}, {24, 2048, 3}, {5, 1280, 4}, {3, 512, 13}};

/* f32 and f16 rows take any n; prefill (two or more tokens) runs them in register tiles of 3 rows
 * × 4 tokens on x86: full tiles, row and token remainders of every size, n with an 8-column tail
 * and below 8, row ranges that start inside a tile, and more than one 64-token chunk. */
static const shape float_shapes[] = {{3, 8, 4}, {7, 37, 6}, {2, 5, 3}, {12, 256, 8}, {10, 100, 11}, {4, 13, 2}, {9, 576, 130}, {5, 31, 1}};

static void check_matmul(int level, int type) {
    const int k = ck_is_k(type), fl = type == CK_F32 || type == CK_F16;
    const size_t base = k ? sizeof k_shapes / sizeof k_shapes[0] : sizeof shapes / sizeof shapes[0];
    const size_t count = base + (fl ? sizeof float_shapes / sizeof float_shapes[0] : 0);
    for (size_t si = 0; si < count; si++) {
        const shape s = si >= base ? float_shapes[si - base] : k ? k_shapes[si] : shapes[si];
        int act = 0;
        ck_weight_supported(type, &act);
        const size_t ws = row_bytes(type, s.n), xs = ck_act_row_bytes(act, s.n);
        uint8_t *w = malloc(ws * (size_t)s.rows), *x = malloc(xs * (size_t)s.ntok);
        float *xf = malloc(sizeof(float) * (size_t)s.n * (size_t)s.ntok);
        float *got = malloc(sizeof(float) * (size_t)s.rows * (size_t)s.ntok), *want = malloc(sizeof(float) * (size_t)s.rows * (size_t)s.ntok);
        random_rows(type, w, s.rows, s.n);
        fill(xf, s.n * s.ntok, 1);
        for (int t = 0; t < s.ntok; t++) ck_ref_quantize_act(act, xf + (size_t)t * (size_t)s.n, x + xs * (size_t)t, s.n);
        if (act == CK_ACT_F32) memcpy(x, xf, xs * (size_t)s.ntok);
        /* Rows split in two calls, as the engine's pool members split them. */
        const int mid = s.rows / 2;
        ck_matmul(level, type, 0, w, ws, 0, mid, x, xs, s.ntok, got, (size_t)s.rows, s.n);
        ck_matmul(level, type, 0, w, ws, mid, s.rows, x, xs, s.ntok, got + mid, (size_t)s.rows, s.n);
        ck_ref_matmul(type, w, ws, 0, s.rows, x, xs, s.ntok, want, (size_t)s.rows, s.n);
        /* K-quants: per super-block the int→float conversion, d·y.d, the fma, the accumulation
         * (one step a block), the 3-level horizontal sum and the final subtraction of the two
         * accumulators: nb + 7 rounding steps at most on each side. */
        const int nb = s.n / (k ? CK_QK_K : CK_QK);
        for (int t = 0; t < s.ntok; t++)
            for (int r = 0; r < s.rows; r++) {
                const size_t i = (size_t)t * (size_t)s.rows + (size_t)r;
                const double a = magnitude(type, w + ws * (size_t)r, x + xs * (size_t)t, s.n);
                const double bound = 2 * (act == CK_ACT_F32 ? gamma_k(s.n + 2) : gamma_k(nb + (k ? 7 : 5))) * a;
                checks++;
                if (!(fabs((double)got[i] - (double)want[i]) <= bound))
                    FAIL("%s matmul %s %dx%dx%d row %d token %d: %.9g vs reference %.9g, bound %.3g", level_name(level), type_name(type),
                         s.rows, s.n, s.ntok, r, t, got[i], want[i], bound);
            }
        /* The AVX-512 level's bodies are the AVX2 level's or their VNNI twins (q8_tiles.h), with
         * the same exact integer sums and the same float steps: equal bit for bit. */
        if (level == CK_LEVEL_AVX512) {
            float *avx2 = malloc(sizeof(float) * (size_t)s.rows * (size_t)s.ntok);
            ck_matmul(CK_LEVEL_AVX2, type, 0, w, ws, 0, s.rows, x, xs, s.ntok, avx2, (size_t)s.rows, s.n);
            for (size_t i = 0; i < (size_t)s.rows * (size_t)s.ntok; i++) {
                checks++;
                if (!same(got[i], avx2[i]))
                    FAIL("avx512 matmul %s %dx%dx%d output %zu: %.9g vs avx2 %.9g", type_name(type), s.rows, s.n, s.ntok, i, got[i], avx2[i]);
            }
            free(avx2);
        }
        /* Q4_0 in block order: the packed kernel's steps exactly, packed or not; IQ4_NL the same on x86. */
        if ((type == CK_Q4_0 && level != CK_LEVEL_SCALAR) || (type == CK_IQ4_NL && family(level) == 1)) {
            ck_matmul(level, type, 1, w, ws, 0, mid, x, xs, s.ntok, got, (size_t)s.rows, s.n);
            ck_matmul(level, type, 1, w, ws, mid, s.rows, x, xs, s.ntok, got + mid, (size_t)s.rows, s.n);
            for (int t = 0; t < s.ntok; t++)
                for (int r = 0; r < s.rows; r++) {
                    const float e = block_order_dot(type, w + ws * (size_t)r, x + xs * (size_t)t, s.n);
                    checks++;
                    if (!same(got[(size_t)t * (size_t)s.rows + (size_t)r], e))
                        FAIL("%s matmul %s block order %dx%dx%d row %d token %d: %.9g vs %.9g", level_name(level), type_name(type), s.rows, s.n, s.ntok, r, t,
                             got[(size_t)t * (size_t)s.rows + (size_t)r], e);
                }
        }
        /* Packed rows (Q4_0 at every level, IQ4_NL where ck_packed_fast says a level has a body,
         * and in the reference): the reference's steps, which are block order's. */
        if ((type == CK_Q4_0 || type == CK_IQ4_NL) && s.rows % 8 == 0) {
            uint8_t *packed = malloc(ck_q4_0_packed_bytes(s.rows, s.n));
            ck_q4_0_pack(w, ws, s.rows, s.n, packed);
            ck_matmul_packed(level, type, packed, 0, 8, x, xs, s.ntok, got, (size_t)s.rows, s.n);
            ck_matmul_packed(level, type, packed, 8, s.rows, x, xs, s.ntok, got + 8, (size_t)s.rows, s.n);
            ck_ref_packed(type, packed, 0, s.rows, x, xs, s.ntok, want, (size_t)s.rows, s.n);
            for (size_t i = 0; i < (size_t)s.rows * (size_t)s.ntok; i++) {
                checks++;
                if (!same(got[i], want[i]) || !same(want[i], block_order_dot(type, w + ws * (i % (size_t)s.rows), x + xs * (i / (size_t)s.rows), s.n)))
                    FAIL("%s packed %s %dx%dx%d output %zu: %.9g vs reference %.9g", level_name(level), type_name(type), s.rows, s.n, s.ntok, i,
                         got[i], want[i]);
            }
            free(packed);
        }
        free(w); free(x); free(xf); free(got); free(want);
    }
}

/* Lab types: every level against the reference within 2·γ(nb + 5)·A (as the 32-element types:
 * A = Σ_chunks |d_w·d_x|·Σ|q·y| + |m_w·s_x|), and the reference against ck_dequant_lab's floats
 * times the activations' own values, in double, within the same bound: the layout read by the
 * dot products is the one the dequantizer (and the Swift reference) define. */
static void check_lab(int level) {
    static const int groups[] = {0, 32, 64, 128};
    static const shape lab_shapes[] = {{3, 128, 1}, {9, 384, 5}, {5, 256, 2}, {8, 256, 3}, {16, 128, 1}, {4, 768, 1}};
    for (int bits = 2; bits <= 7; bits++)
        for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++)
            for (int asym = 0; asym <= 1; asym++)
                for (size_t si = 0; si < sizeof lab_shapes / sizeof lab_shapes[0]; si++) {
                    const shape s = lab_shapes[si];
                    const int group = groups[gi];
                    int act = -1;
                    checks++;
                    if (!ck_lab_supported(bits, group, asym, s.n, &act) || act != (asym ? CK_ACT_Q8_1 : CK_ACT_Q8_0)) {
                        FAIL("lab %d bits group %d%s n %d: not supported", bits, group, asym ? " asym" : "", s.n);
                        continue;
                    }
                    const ck_lab l = ck_lab_layout(bits, group, asym, s.n);
                    const size_t ws = l.block * (size_t)(s.n / l.g), xs = ck_act_row_bytes(act, s.n);
                    uint8_t *w = malloc(ws * (size_t)s.rows), *x = malloc(xs * (size_t)s.ntok);
                    float *xf = malloc(sizeof(float) * (size_t)s.n * (size_t)s.ntok), *deq = malloc(sizeof(float) * (size_t)s.n);
                    float *got = malloc(sizeof(float) * (size_t)s.rows * (size_t)s.ntok), *want = malloc(sizeof(float) * (size_t)s.rows * (size_t)s.ntok);
                    for (size_t i = 0; i < ws * (size_t)s.rows; i++) w[i] = (uint8_t)next32();
                    for (int r = 0; r < s.rows; r++)
                        for (int g = 0; g < s.n / l.g; g++) {
                            uint8_t *h = w + ws * (size_t)r + l.block * (size_t)g;
                            const uint16_t d = ck_f32_to_f16_one(0.002f + 0.03f * fabsf(uniform())), m = ck_f32_to_f16_one(0.2f * uniform());
                            memcpy(h, &d, 2);
                            if (asym) memcpy(h + 2, &m, 2);
                        }
                    fill(xf, s.n * s.ntok, 1);
                    for (int t = 0; t < s.ntok; t++) ck_ref_quantize_act(act, xf + (size_t)t * (size_t)s.n, x + xs * (size_t)t, s.n);
                    const int mid = s.rows / 2;
                    ck_matmul_lab(level, bits, group, asym, w, ws, 0, mid, x, xs, s.ntok, got, (size_t)s.rows, s.n);
                    ck_matmul_lab(level, bits, group, asym, w, ws, mid, s.rows, x, xs, s.ntok, got + mid, (size_t)s.rows, s.n);
                    ck_ref_matmul_lab(bits, group, asym, w, ws, 0, s.rows, x, xs, s.ntok, want, (size_t)s.rows, s.n);
                    /* 6 bits rearranged by ck_lab_split: the reference over that layout equals the reference bit for
                     * bit (the same codes, the same steps), and this level's split kernel is held to the bound below. */
                    uint8_t *split = malloc(ws * (size_t)s.rows);
                    float *got_split = malloc(sizeof(float) * (size_t)s.rows * (size_t)s.ntok), *ref_split = malloc(sizeof(float) * (size_t)s.rows * (size_t)s.ntok);
                    const int splits = ck_lab_split(bits, group, asym, w, ws, s.rows, s.n, split);
                    checks++;
                    if (splits != (bits == 6)) FAIL("lab%d g%d%s: ck_lab_split returned %d", bits, group, asym ? "a" : "s", splits);
                    if (splits) {
                        ck_matmul_lab_split(level, bits, group, asym, split, ws, 0, mid, x, xs, s.ntok, got_split, (size_t)s.rows, s.n);
                        ck_matmul_lab_split(level, bits, group, asym, split, ws, mid, s.rows, x, xs, s.ntok, got_split + mid, (size_t)s.rows, s.n);
                        ck_ref_matmul_lab_split(bits, group, asym, split, ws, 0, s.rows, x, xs, s.ntok, ref_split, (size_t)s.rows, s.n);
                        for (size_t i = 0; i < (size_t)s.rows * (size_t)s.ntok; i++) {
                            checks++;
                            if (!same(ref_split[i], want[i]))
                                FAIL("lab6 g%d%s split reference output %zu: %.9g, the rows' reference %.9g", group, asym ? "a" : "s", i, ref_split[i], want[i]);
                        }
                        /* The AVX-512 level's split body (the VNNI decode) has the AVX2 level's integers and float steps. */
                        if (level == CK_LEVEL_AVX512) {
                            float *avx2 = malloc(sizeof(float) * (size_t)s.rows * (size_t)s.ntok);
                            ck_matmul_lab_split(CK_LEVEL_AVX2, bits, group, asym, split, ws, 0, s.rows, x, xs, s.ntok, avx2, (size_t)s.rows, s.n);
                            for (size_t i = 0; i < (size_t)s.rows * (size_t)s.ntok; i++) {
                                checks++;
                                if (!same(got_split[i], avx2[i]))
                                    FAIL("avx512 lab6 g%d%s split %dx%dx%d output %zu: %.9g vs avx2 %.9g", group, asym ? "a" : "s", s.rows, s.n, s.ntok, i,
                                         got_split[i], avx2[i]);
                            }
                            free(avx2);
                        }
                    }
                    const int xbs = asym ? Q8_1_BYTES : Q8_0_BYTES, xq = asym ? (int)offsetof(block_q8_1, qs) : (int)offsetof(block_q8_0, qs);
                    for (int r = 0; r < s.rows; r++) {
                        ck_dequant_lab(w + ws * (size_t)r, deq, s.n, bits, group, asym);
                        for (int t = 0; t < s.ntok; t++) {
                            const uint8_t *xt = x + xs * (size_t)t;
                            double exact = 0, a = 0;
                            for (int k = 0; k < s.n / 32; k++) {
                                const uint8_t *xb = xt + (size_t)xbs * (size_t)k, *head, *codes;
                                ck_lab_chunk(&l, w + ws * (size_t)r, k, &head, &codes);
                                const double dx = ck_ld16(xb), dw = ck_ld16(head), mw = asym ? ck_ld16(head + 2) : 0;
                                double sq = 0;
                                for (int j = 0; j < 32; j++) {
                                    const int8_t y = (int8_t)xb[xq + j];
                                    exact += (double)deq[32 * k + j] * dx * y;
                                    sq += fabs((dw != 0 ? (deq[32 * k + j] - mw) / dw : 0) * y);
                                }
                                a += fabs(dw * dx) * sq + (asym ? fabs(mw * ck_ld16(xb + offsetof(block_q8_1, s))) : 0);
                            }
                            const size_t i = (size_t)t * (size_t)s.rows + (size_t)r;
                            const double bound = 2 * gamma_k(s.n / 32 + 5) * a;
                            checks += 2;
                            if (splits) {
                                checks++;
                                if (!(fabs((double)got_split[i] - want[i]) <= bound))
                                    FAIL("%s lab6 g%d%s split %dx%dx%d row %d token %d: %.9g vs reference %.9g, bound %.3g", level_name(level), group,
                                         asym ? "a" : "s", s.rows, s.n, s.ntok, r, t, got_split[i], want[i], bound);
                            }
                            if (!(fabs((double)got[i] - want[i]) <= bound))
                                FAIL("%s lab%d g%d%s %dx%dx%d row %d token %d: %.9g vs reference %.9g, bound %.3g", level_name(level), bits, group,
                                     asym ? "a" : "s", s.rows, s.n, s.ntok, r, t, got[i], want[i], bound);
                            /* The reference takes the minimum's term from q8_1's s = d_x·Σq, rounded to f16 (2^-11
                             * of it, within 1e-3·A), where the dequantized product has the exact Σ. */
                            if (!(fabs((double)want[i] - exact) <= bound + (asym ? a * 1e-3 : 0)))
                                FAIL("lab%d g%d%s reference row %d token %d: %.9g vs the dequantized rows' %.9g", bits, group, asym ? "a" : "s", r, t,
                                     want[i], exact);
                        }
                    }
                    /* Symmetric 4-bit rows repacked as Q4_0 (ck_lab_pack_q4_0): the same values exactly, and the
                     * packed kernel's products within the bound of the reference; every other lab type refused. */
                    uint8_t *packed = malloc(ck_q4_0_packed_bytes(s.rows, s.n));
                    const int packs = ck_lab_pack_q4_0(bits, group, asym, w, ws, s.rows, s.n, packed);
                    checks++;
                    if (packs != (bits == 4 && !asym && s.rows % 8 == 0))
                        FAIL("lab%d g%d%s %d rows: ck_lab_pack_q4_0 returned %d", bits, group, asym ? "a" : "s", s.rows, packs);
                    if (packs) {
                        const int nb = s.n / 32;
                        for (int r = 0; r < s.rows; r++) {
                            ck_dequant_lab(w + ws * (size_t)r, deq, s.n, bits, group, asym);
                            for (int b = 0; b < nb; b++) {
                                const uint8_t *blk = packed + (size_t)Q4_0X8_BYTES * ((size_t)(r / 8) * (size_t)nb + (size_t)b);
                                const float d = ck_ld16(blk + 2 * (r % 8));
                                for (int j = 0; j < 32; j++) {
                                    const uint8_t v = blk[offsetof(block_q4_0x8, qs) + 32 * ((j % 16) / 4) + 4 * (r % 8) + j % 4];
                                    const float value = (float)(((j < 16 ? v & 15 : v >> 4)) - 8) * d;
                                    checks++;
                                    if (!same(value, deq[32 * b + j]))
                                        FAIL("lab4 g%d packed as q4_0 row %d element %d: %g, the lab row holds %g", group, r, 32 * b + j, (double)value,
                                             (double)deq[32 * b + j]);
                                }
                            }
                        }
                        ck_matmul_packed(level, CK_Q4_0, packed, 0, 8, x, xs, s.ntok, got, (size_t)s.rows, s.n);
                        ck_matmul_packed(level, CK_Q4_0, packed, 8, s.rows, x, xs, s.ntok, got + 8, (size_t)s.rows, s.n);
                        for (int t = 0; t < s.ntok; t++)
                            for (int r = 0; r < s.rows; r++) {
                                const size_t i = (size_t)t * (size_t)s.rows + (size_t)r;
                                /* The same magnitude A as above: |q'·y| = |(c − 7)·y| under |d'| = |d|. */
                                double a = 0;
                                for (int k = 0; k < nb; k++) {
                                    const uint8_t *xb = x + xs * (size_t)t + (size_t)Q8_0_BYTES * (size_t)k, *head, *codes;
                                    ck_lab_chunk(&l, w + ws * (size_t)r, k, &head, &codes);
                                    double sq = 0;
                                    for (int j = 0; j < 32; j++) sq += fabs((double)(((codes[j / 2] >> (4 * (j % 2))) & 15) - 7) * (int8_t)xb[2 + j]);
                                    a += fabs((double)ck_ld16(head) * ck_ld16(xb)) * sq;
                                }
                                const double bound = 2 * gamma_k(nb + 5) * a;
                                checks++;
                                if (!(fabs((double)got[i] - want[i]) <= bound))
                                    FAIL("%s lab4 g%d packed as q4_0 %dx%dx%d row %d token %d: %.9g vs reference %.9g, bound %.3g", level_name(level), group,
                                         s.rows, s.n, s.ntok, r, t, got[i], want[i], bound);
                            }
                    }
                    free(packed); free(split); free(got_split); free(ref_split);
                    free(w); free(x); free(xf); free(deq); free(got); free(want);
                }
}

static void check_float_helpers(int level) {
    for (int n = 1; n <= 300; n += 37) {
        float a[300], b[300];
        fill(a, n, 1);
        fill(b, n, 1);
        double mag = 0;
        for (int i = 0; i < n; i++) mag += fabs((double)a[i] * b[i]);
        const float got = ck_dot_f32(level, a, b, n), want = ck_ref_dot_f32(a, b, n);
        checks++;
        if (!(fabs((double)got - want) <= 2 * gamma_k(n + 2) * mag)) FAIL("%s dot_f32 n=%d: %.9g vs %.9g", level_name(level), n, got, want);
    }
    /* f32 → f16: ordinary values, halfway cases between f16 neighbours, subnormals, overflow. */
    float x[4096];
    uint16_t got[4096], want[4096];
    int n = 0;
    for (int i = 0; i < 1024; i++) x[n++] = uniform() * 70000.0f;
    for (int i = 0; i < 1024; i++) x[n++] = ldexpf(uniform(), -14 - (int)(next32() % 12));
    for (uint32_t h = 0; h < 0x7c00u && n < 4090; h += 61) {
        const float lo = ck_f16_to_f32((uint16_t)h), hi = ck_f16_to_f32((uint16_t)(h + 1));
        x[n++] = lo + (hi - lo) / 2; /* exactly halfway: ties to even */
    }
    x[n++] = 65504.0f; x[n++] = 65520.0f; x[n++] = -65519.0f; x[n++] = INFINITY; x[n++] = -0.0f; x[n++] = NAN;
    ck_f32_to_f16(level, x, got, n);
    ck_ref_f32_to_f16(x, want, n);
    for (int i = 0; i < n; i++) {
        checks++;
        const int nan = isnan(x[i]);
        if (nan ? (got[i] & 0x7c00u) != 0x7c00u || (got[i] & 0x3ffu) == 0 : got[i] != want[i])
            FAIL("%s f32_to_f16(%a) = %04x, reference %04x", level_name(level), (double)x[i], got[i], want[i]);
    }
    /* exp8 equals ck_expf lane for lane, over the normal, the scaled and the flushed ranges. */
    for (int g = 0; g < 4000; g++) {
        float in[8], out[8];
        for (int k = 0; k < 8; k++) in[k] = g < 3990 ? uniform() * 110.0f - 10.0f * (float)(g % 3) : (k % 2 ? 200.0f : -200.0f) * (float)(g - 3989) / 10;
        ck_exp8(level, in, out);
        for (int k = 0; k < 8; k++) {
            checks++;
            if (!same(out[k], ck_expf(in[k]))) FAIL("%s exp8(%a) = %a, ck_expf %a", level_name(level), (double)in[k], (double)out[k], (double)ck_expf(in[k]));
        }
    }
    /* SwiGLU over lengths with and without a tail of fewer than 8. */
    for (int len = 1; len <= 70; len += 23) {
        float gate[80], up[80], got2[80], want2[80];
        fill(gate, len, 6);
        fill(up, len, 1);
        ck_swiglu(level, gate, up, got2, len);
        ck_ref_swiglu(gate, up, want2, 0, len);
        for (int i = 0; i < len; i++) {
            checks++;
            if (!same(got2[i], want2[i])) FAIL("%s swiglu n=%d [%d]: %a vs %a", level_name(level), len, i, (double)got2[i], (double)want2[i]);
        }
    }
}

static void check_attention(int level) {
    static const int lengths[] = {1, 7, 8, 31, 32, 33, 64, 65, 100, 300}, dims[] = {64, 48, 36};
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++)
        for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
            for (int kv_f16 = 0; kv_f16 <= 1; kv_f16++)
                for (int batched = 0; batched <= 1; batched++) {
                    const int length = lengths[li], hd = dims[di];
                    const size_t stride = (size_t)hd + 8; /* rows of a wider cache */
                    float q[64], got[64], want[64];
                    fill(q, hd, 2);
                    const size_t cells = stride * (size_t)length;
                    void *keys = malloc(cells * 4), *values = malloc(cells * 4);
                    if (kv_f16) {
                        for (size_t i = 0; i < cells; i++) {
                            ((uint16_t *)keys)[i] = ck_f32_to_f16_one(uniform());
                            ((uint16_t *)values)[i] = ck_f32_to_f16_one(uniform());
                        }
                    } else {
                        fill((float *)keys, (int)cells, 1);
                        fill((float *)values, (int)cells, 1);
                    }
                    float *scratch = malloc(sizeof(float) * ck_attention_scratch(length, hd));
                    ck_attention_head(level, q, keys, values, stride, length, hd, kv_f16, batched, 0.125f, scratch, got);
                    ck_ref_attention(q, keys, values, stride, length, hd, kv_f16, batched, 0.125f, scratch, want);
                    for (int d = 0; d < hd; d++) {
                        checks++;
                        if (!same(got[d], want[d]))
                            FAIL("%s attention length %d hd %d %s%s [%d]: %a vs %a", level_name(level), length, hd, kv_f16 ? "f16" : "f32",
                                 batched ? " batched" : "", d, (double)got[d], (double)want[d]);
                    }
                    free(keys); free(values); free(scratch);
                }
}

/* Memory for copied weights: aligned (2 MiB from 2 MiB up on Linux, for huge pages), writable
 * to the last byte. */
static void check_weights_alloc(void) {
    static const size_t sizes[] = {1, 100, (size_t)3 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t *p = ck_weights_alloc(sizes[i]);
        checks++;
        if (!p) { FAIL("ck_weights_alloc(%zu) returned NULL", sizes[i]); continue; }
#if defined(__linux__)
        const size_t align = sizes[i] >= ((size_t)2 << 20) ? (size_t)2 << 20 : 64;
#else
        const size_t align = 64;
#endif
        checks++;
        if ((uintptr_t)p % align != 0) FAIL("ck_weights_alloc(%zu) = %p, not %zu-aligned", sizes[i], (void *)p, align);
        memset(p, 0xA5, sizes[i]);
        checks++;
        if (p[sizes[i] - 1] != 0xA5) FAIL("ck_weights_alloc(%zu): last byte not writable", sizes[i]);
        ck_weights_free(p);
    }
}

/* Grouped attention (several queries over one f16 cache head, widened once on x86): each
 * query's output equal bit for bit to ck_attention_head's with kv_f16 and batched set, for
 * spans across a block of 8 and queries starting past position 0 (sliding windows); hd 36
 * takes the per-query fallback. */
static void check_attention_group(int level) {
    static const int spans[] = {1, 9, 70, 300}, dims[] = {64, 128, 36};
    for (size_t si = 0; si < sizeof spans / sizeof spans[0]; si++)
        for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
            const int span = spans[si], hd = dims[di], nq = 5;
            const size_t stride = (size_t)hd * 2 + 8; /* K and V of two heads in one row, as the cache lays them */
            const size_t cells = stride * (size_t)span;
            uint16_t *keys = malloc(cells * 2), *values = malloc(cells * 2);
            for (size_t i = 0; i < cells; i++) {
                keys[i] = ck_f32_to_f16_one(uniform());
                values[i] = ck_f32_to_f16_one(uniform());
            }
            float qs[5][128], outs[5][128], want[128];
            const float *q[5];
            float *out[5];
            int first[5], lengths[5];
            for (int i = 0; i < nq; i++) {
                fill(qs[i], hd, 3 + i);
                q[i] = qs[i];
                out[i] = outs[i];
                /* Causal rows ending at the last positions, two of them windowed. */
                const int end = span - (nq - 1 - i) / 2 > 0 ? span - (nq - 1 - i) / 2 : 1;
                first[i] = i % 2 && end > 3 ? end / 3 : 0;
                lengths[i] = end - first[i];
            }
            float *wide = malloc(sizeof(float) * ck_attention_wide_scratch(span, hd));
            float *scratch = malloc(sizeof(float) * ck_attention_scratch(span, hd));
            ck_attention_group(level, nq, q, out, first, lengths, keys, values, stride, hd, 0.125f, wide, scratch);
            for (int i = 0; i < nq; i++) {
                ck_attention_head(level, q[i], keys + stride * (size_t)first[i], values + stride * (size_t)first[i], stride, lengths[i], hd, 1, 1,
                                  0.125f, scratch, want);
                for (int d = 0; d < hd; d++) {
                    checks++;
                    if (!same(outs[i][d], want[d]))
                        FAIL("%s attention group span %d hd %d query %d (positions %d+%d) [%d]: %a vs %a", level_name(level), span, hd, i,
                             first[i], lengths[i], d, (double)outs[i][d], (double)want[d]);
                }
            }
            free(keys); free(values); free(wide); free(scratch);
        }
}

/* The quantized KV cache (q8_0, q4_0 rows): every level equal to the reference bit for bit, and
 * the result within a derived bound of exact attention over the unquantized (f32) cache.
 * The bound, from the data: with δ the largest error of a dequantized element of a block
 * (|x − q·d16| ≤ |d|/2 + 127·|d − d16| for q8_0; ≤ |d| + 8·|d − d16| for q4_0, whose clamp at
 * nibble 15 costs a whole step; d16 is d in f16), each score moves by at most
 * Δ_j = scale·Σ_i (|q_i|·δk_i + |k̂_i|·δq_i); each probability by at most p_j·(e^{2Δ} − 1),
 * Δ = max_j Δ_j (each Δ_j also holding γ(nb + 3)·scale·Σ_i |q̂_i·k̂_i| for the score's own float
 * steps); so |out_i − exact_i| ≤ (e^{2Δ} − 1)·Σ_j p_j|v̂_ji| + Σ_j p_j·δv_ji, plus the rounding of
 * the softmax and the sum, bounded by 2·γ(length + 40)·e^{2Δ}·Σ_j p_j|v̂_ji| (the exp polynomial's
 * 2 ulp, the normalisation and the chain of `length` fused multiply-adds). */
static void block_errors(int type, const float *x, const uint8_t *blocks, int n, float *err) {
    for (int b = 0; b < n / CK_QK; b++) {
        const uint8_t *block = blocks + (size_t)b * (type == CK_Q8_0 ? Q8_0_BYTES : Q4_0_BYTES);
        float amax = 0, extreme = 0;
        for (int j = 0; j < CK_QK; j++)
            if (fabsf(x[CK_QK * b + j]) > amax) { amax = fabsf(x[CK_QK * b + j]); extreme = x[CK_QK * b + j]; }
        const double d = type == CK_Q8_0 ? amax / 127.0 : extreme / -8.0, d16 = ck_ld16(block);
        const double e = type == CK_Q8_0 ? fabs(d) / 2 + 127 * fabs(d - d16) : fabs(d) + 8 * fabs(d - d16);
        for (int j = 0; j < CK_QK; j++) err[CK_QK * b + j] = (float)e;
    }
}

static float dequant_kv(int type, const uint8_t *block, int j) {
    const float d = ck_ld16(block);
    if (type == CK_Q8_0) return d * ((const block_q8_0 *)block)->qs[j];
    const uint8_t byte = ((const block_q4_0 *)block)->qs[j & 15];
    return d * (float)((j < 16 ? byte & 15 : byte >> 4) - 8);
}

static void check_attention_q(int level) {
    static const int lengths[] = {1, 7, 8, 33, 300}, dims[] = {32, 64, 128};
    static const int kinds[] = {CK_Q8_0, CK_Q4_0};
    for (size_t ti = 0; ti < 2; ti++)
        for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++)
            for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
                const int type = kinds[ti], length = lengths[li], hd = dims[di], nb = hd / CK_QK;
                const size_t bb = (size_t)(type == CK_Q8_0 ? Q8_0_BYTES : Q4_0_BYTES), row = bb * (size_t)(nb + 1); /* rows of a wider cache */
                float q[128], got[128], want[128], qerr[128], kerr[128], verr[128];
                fill(q, hd, 2);
                float *kf = malloc(sizeof(float) * (size_t)length * (size_t)hd), *vf = malloc(sizeof(float) * (size_t)length * (size_t)hd);
                fill(kf, length * hd, 2);
                fill(vf, length * hd, 1);
                uint8_t *keys = calloc((size_t)length, row), *values = calloc((size_t)length, row);
                for (int j = 0; j < length; j++) {
                    ck_kv_quantize(level, type, kf + (size_t)j * (size_t)hd, keys + row * (size_t)j, hd);
                    ck_kv_quantize(level, type, vf + (size_t)j * (size_t)hd, values + row * (size_t)j, hd);
                }
                float *scratch = malloc(sizeof(float) * ck_attention_scratch(length, hd));
                ck_attention_head_q(level, type, q, keys, values, row, length, hd, 0.125f, scratch, got);
                ck_attention_head_q(CK_LEVEL_SCALAR, type, q, keys, values, row, length, hd, 0.125f, scratch, want);
                for (int d = 0; d < hd; d++) {
                    checks++;
                    if (!same(got[d], want[d]))
                        FAIL("%s attention %s length %d hd %d [%d]: %a vs %a", level_name(level), type_name(type), length, hd, d,
                             (double)got[d], (double)want[d]);
                }
                if (level != CK_LEVEL_SCALAR) goto next; /* the bound is the reference's; the levels equal it */
                {
                    uint8_t qq[4 * Q8_0_BYTES];
                    ck_quantize_act(CK_LEVEL_SCALAR, CK_ACT_Q8_0, q, qq, hd);
                    block_errors(CK_Q8_0, q, qq, hd, qerr);
                    double *s = malloc(sizeof(double) * (size_t)length), *p = malloc(sizeof(double) * (size_t)length);
                    double delta = 0, smax = -INFINITY, total = 0;
                    for (int j = 0; j < length; j++) {
                        block_errors(type, kf + (size_t)j * (size_t)hd, keys + row * (size_t)j, hd, kerr);
                        double dot = 0, dj = 0, terms = 0;
                        for (int i = 0; i < hd; i++) {
                            const float k = kf[(size_t)j * (size_t)hd + (size_t)i];
                            const float kh = dequant_kv(type, keys + row * (size_t)j + bb * (size_t)(i / CK_QK), i % CK_QK);
                            dot += (double)q[i] * k;
                            dj += fabs((double)q[i]) * kerr[i] + fabs((double)kh) * qerr[i];
                            terms += (fabs((double)q[i]) + qerr[i]) * fabs((double)kh);
                        }
                        s[j] = 0.125 * dot;
                        /* plus the rounding of the score's float steps (nb block terms, two products, the scale) */
                        dj += gamma_k(nb + 3) * terms;
                        if (0.125 * dj > delta) delta = 0.125 * dj;
                        if (s[j] > smax) smax = s[j];
                    }
                    for (int j = 0; j < length; j++) total += p[j] = exp(s[j] - smax);
                    const double gamma = gamma_k(length + 40);
                    for (int i = 0; i < hd; i++) {
                        double exact = 0, mag = 0, verror = 0;
                        for (int j = 0; j < length; j++) {
                            block_errors(type, vf + (size_t)j * (size_t)hd, values + row * (size_t)j, hd, verr);
                            const double pj = p[j] / total;
                            exact += pj * vf[(size_t)j * (size_t)hd + (size_t)i];
                            mag += pj * fabs((double)dequant_kv(type, values + row * (size_t)j + bb * (size_t)(i / CK_QK), i % CK_QK));
                            verror += pj * verr[i];
                        }
                        const double bound = expm1(2 * delta) * mag + verror + 2 * gamma * exp(2 * delta) * mag;
                        checks++;
                        if (!(fabs(want[i] - exact) <= bound))
                            FAIL("%s attention %s vs f32 cache, length %d hd %d [%d]: %g vs %g, beyond the bound %g", level_name(level),
                                 type_name(type), length, hd, i, (double)want[i], exact, bound);
                    }
                    free(s); free(p);
                }
            next:
                free(kf); free(vf); free(keys); free(values); free(scratch);
            }
}

/* The pool: every member runs every task, many times over (threads on this ISA and libc). */
static int pool_counts[4];
static void count_member(void *ctx, int ith, int nth) {
    (void)ctx;
    if (nth == 4) __atomic_fetch_add(&pool_counts[ith], 1, __ATOMIC_RELAXED);
}

static void check_pool(void) {
    ck_pool *pool = ck_pool_create(4);
    checks++;
    if (!pool || ck_pool_size(pool) != 4) { FAIL("pool: could not start 4 members"); return; }
    for (int i = 0; i < 300; i++) ck_pool_run(pool, count_member, NULL);
    ck_pool_destroy(pool);
    for (int k = 0; k < 4; k++) {
        checks++;
        if (pool_counts[k] != 300) FAIL("pool member %d ran %d of 300 tasks", k, pool_counts[k]);
    }
}

/* ---------------------------------------------------------------- instruction counting */

/* One kernel at one level, run once, for counting the instructions qemu executes in the kernel
 * files (scripts/check/kernel-instructions.sh): a 16-row × 2048-column matrix (1024 blocks of 32
 * weights) against `ntok` tokens. KERNEL: a weight type, or q4_0x8 / iq4_nlx8 for packed Q4_0 / IQ4_NL. */
static int count_lab(int bits, int group, int asym, int level, int ntok) {
    const int rows = 16, n = 2048;
    int act = 0;
    if (!ck_lab_supported(bits, group, asym, n, &act) || level < 0 || !ck_level_supported(level) || ntok < 1 || ntok > 8) {
        fprintf(stderr, "harness: --count lab<2-7>g<32|64|128|row><s|a> needs a level this CPU runs and 1-8 tokens\n");
        return 64;
    }
    const ck_lab l = ck_lab_layout(bits, group, asym, n);
    const size_t ws = l.block * (size_t)(n / l.g), xs = ck_act_row_bytes(act, n);
    uint8_t *w = malloc(ws * (size_t)rows), *x = malloc(xs * (size_t)ntok);
    float *xf = malloc(sizeof(float) * n), out[16 * 8];
    for (size_t i = 0; i < ws * (size_t)rows; i++) w[i] = (uint8_t)(i * 2654435761u >> 24);
    for (int r = 0; r < rows; r++) /* every group's scale (and minimum) 1.0 in f16 */
        for (int gi = 0; gi < n / l.g; gi++)
            for (int h = 0; h < l.header; h += 2) { w[ws * (size_t)r + l.block * (size_t)gi + (size_t)h] = 0x00; w[ws * (size_t)r + l.block * (size_t)gi + (size_t)h + 1] = 0x3C; }
    fill(xf, n, 1);
    for (int t = 0; t < ntok; t++) ck_quantize_act(CK_LEVEL_SCALAR, act, xf, x + xs * (size_t)t, n);
    ck_matmul_lab(level, bits, group, asym, w, ws, 0, rows, x, xs, ntok, out, rows, n);
    printf("lab%dg%d%s %s: %d blocks × %d tokens, out[0] = %g\n", bits, group, asym ? "a" : "s", level_name(level), rows * n / CK_QK, ntok,
           (double)out[0]);
    free(w); free(x); free(xf);
    return 0;
}

static int count_kernel(const char *kernel, int level, int ntok) {
    int bits = 0, group = 0;
    char sym = 0, tail[8] = {0};
    if (sscanf(kernel, "lab%dg%d%c", &bits, &group, &sym) == 3 && (sym == 's' || sym == 'a'))
        return count_lab(bits, group, sym == 'a', level, ntok);
    if (sscanf(kernel, "lab%dgrow%c%7s", &bits, &sym, tail) == 2 && (sym == 's' || sym == 'a'))
        return count_lab(bits, 0, sym == 'a', level, ntok);
    int type = -1;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(kernel, type_name(types[i])) == 0) type = types[i];
    const int packed = strcmp(kernel, "q4_0x8") == 0 || strcmp(kernel, "iq4_nlx8") == 0;
    if (packed) type = kernel[0] == 'i' ? CK_IQ4_NL : CK_Q4_0;
    if (type < 0 || level < 0 || !ck_level_supported(level) || ntok < 1 || ntok > 8) {
        fprintf(stderr, "harness: --count needs a kernel (f32, f16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_0x8, iq4_nlx8, lab<bits>g<group><s|a>), a level this CPU runs and 1-8 tokens\n");
        return 64;
    }
    const int rows = 16, n = 2048;
    int act = 0;
    ck_weight_supported(type, &act);
    const size_t ws = row_bytes(type, n), xs = ck_act_row_bytes(act, n);
    uint8_t *w = malloc(ws * rows), *x = malloc(xs * (size_t)ntok), *pk = malloc(ws * rows);
    float *xf = malloc(sizeof(float) * n), out[16 * 8];
    random_rows(type, w, rows, n);
    fill(xf, n, 1);
    for (int t = 0; t < ntok; t++) ck_quantize_act(CK_LEVEL_SCALAR, act, xf, x + xs * (size_t)t, n);
    if (packed) ck_q4_0_pack(w, ws, rows, n, pk);
    if (packed) ck_matmul_packed(level, type, pk, 0, rows, x, xs, ntok, out, rows, n);
    else ck_matmul(level, type, 0, w, ws, 0, rows, x, xs, ntok, out, rows, n);
    printf("%s %s: %d blocks × %d tokens, out[0] = %g\n", kernel, level_name(level), rows * n / CK_QK, ntok, (double)out[0]);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "--count") == 0) return count_kernel(argv[2], level_named(argv[3]), atoi(argv[4]));
    if (argc != 3 || strcmp(argv[1], "--expect") != 0 || level_named(argv[2]) < 0) {
        fprintf(stderr, "usage: harness --expect scalar|avx2|avx512|neon|dotprod|i8mm (the best level this CPU offers)\n");
        return 64;
    }
    const int expect = level_named(argv[2]);
    /* Dispatch: the best level is the one this CPU is said to offer, and the levels below it in
     * its family are offered too; none above it. */
    const int best = ck_level_best();
    checks++;
    if (best != expect) FAIL("dispatch picks %s, this CPU offers %s", level_name(best), level_name(expect));
    for (int l = CK_LEVEL_SCALAR; l <= CK_LEVEL_LAST; l++) {
        const int offered = l == CK_LEVEL_SCALAR || (family(l) == family(expect) && rank(l) <= rank(expect));
        checks++;
        if (ck_level_supported(l) != offered) FAIL("ck_level_supported(%s) = %d, want %d", level_name(l), ck_level_supported(l), offered);
    }
    char ran[64] = "";
    for (int level = CK_LEVEL_SCALAR; level <= CK_LEVEL_LAST; level++) {
        if (!ck_level_supported(level)) continue;
        strcat(ran, ran[0] ? "," : "");
        strcat(ran, level_name(level));
        check_quantize(level);
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) check_matmul(level, types[i]);
        check_lab(level);
        check_float_helpers(level);
        check_attention(level);
        check_attention_group(level);
        check_attention_q(level);
    }
    check_pool();
    check_weights_alloc();
#if defined(__aarch64__)
    const char *isa = "aarch64";
#elif defined(__x86_64__)
    const char *isa = "x86_64";
#else
    const char *isa = "other";
#endif
    printf("kernel harness (%s, expects %s): %d checks at levels %s: %s\n", isa, level_name(expect), checks, ran,
           failures ? "FAILED" : "all passed");
    if (failures) printf("%d of %d checks failed\n", failures, checks);
    return failures ? 1 : 0;
}

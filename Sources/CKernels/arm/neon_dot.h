/* The 8-bit matrix kernels whose inner step is a 4-way integer dot product, written once and
 * instantiated by arm/neon.c for each level that has a different such step: base NEON
 * (widening multiplies and pairwise adds) and dotprod (sdot). The instantiating file defines
 * CK_SFX (the name suffix), CK_TGT (the target attribute) and the primitives it names:
 *   dot32_<sfx>(a0, a1, b0, b1): Σ a·b over 32 int8 pairs, as four int32 partial sums;
 *   dot4_<sfx>(acc, a, b): acc lane i += Σ_k a[4i+k]·b[4i+k] (sdot's definition).
 * Every integer sum is exact (|a| ≤ 128, |b| ≤ 127: see dot32_neon), so the levels differ from
 * each other only in float summation order, and not at all where the order is pinned (block
 * order, packed Q4_0). Not a header to include anywhere else. */

#define CK_CAT_(a, b) a##_##b
#define CK_CAT(a, b) CK_CAT_(a, b)
#define CK_FN(name) CK_CAT(name, CK_SFX)

/* One weight row against NT activation rows (NT a constant after inlining), eight-bit blocks
 * summed as four int32 lanes each, converted and scaled per block into four float lanes. */
CK_TGT static inline __attribute__((always_inline)) void
CK_FN(row_dot)(const int type, const int NT, const uint8_t *w, const uint8_t *const *x, int nb, float *out, size_t os) {
    const int affine = type == CK_Q4_1 || type == CK_Q5_1;
    const size_t xbs = affine ? Q8_1_BYTES : Q8_0_BYTES, xq = affine ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    float32x4_t acc[4];
    float mins[4];
    for (int t = 0; t < NT; t++) { acc[t] = vdupq_n_f32(0); mins[t] = 0; }
    for (int b = 0; b < nb; b++) {
        const wq q = decode(type, w, b);
        for (int t = 0; t < NT; t++) {
            const uint8_t *xb = x[t] + xbs * (size_t)b;
            const int8x16_t y0 = vld1q_s8((const int8_t *)(xb + xq)), y1 = vld1q_s8((const int8_t *)(xb + xq + 16));
            const int32x4_t s = CK_FN(dot32)(q.q0, q.q1, y0, y1);
            acc[t] = vfmaq_n_f32(acc[t], vcvtq_f32_s32(s), q.d * h16(xb));
            if (affine) mins[t] += q.m * h16(xb + offsetof(block_q8_1, s));
        }
    }
    for (int t = 0; t < NT; t++) out[os * (size_t)t] = vaddvq_f32(acc[t]) + mins[t];
}

/* Rows r0..r1 against tokens in chunks of 64 (a chunk's activations stay in cache while the
 * rows pass), four tokens per pass over a row, then one at a time. DOT(NT, wr, xp, dst) is one
 * row body for the NT token rows xp points at, writing dst; the caller's w, ws, r0, r1, x, xs,
 * ntok, out and os are in scope. One loop for every row body, NT a constant in each call. */
#define CK_TOKEN_TILES(DOT)                                                                                  \
    for (int t0 = 0; t0 < ntok; t0 += 64) {                                                                  \
        const int t1 = t0 + 64 < ntok ? t0 + 64 : ntok;                                                      \
        for (int r = r0; r < r1; r++) {                                                                      \
            const uint8_t *wr_ = w + ws * (size_t)r;                                                         \
            float *o_ = out + (size_t)(r - r0);                                                              \
            int t = t0;                                                                                      \
            for (; t + 4 <= t1; t += 4) {                                                                    \
                const uint8_t *x4[4] = {x + xs * (size_t)t, x + xs * (size_t)(t + 1), x + xs * (size_t)(t + 2), \
                                        x + xs * (size_t)(t + 3)};                                           \
                DOT(4, wr_, x4, o_ + os * (size_t)t);                                                        \
            }                                                                                                \
            for (; t < t1; t++) {                                                                            \
                const uint8_t *x1[1] = {x + xs * (size_t)t};                                                 \
                DOT(1, wr_, x1, o_ + os * (size_t)t);                                                        \
            }                                                                                                \
        }                                                                                                    \
    }

CK_TGT static inline __attribute__((always_inline)) void
CK_FN(rows_t)(const int type, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
              size_t os, int n) {
    const int nb = n / CK_QK;
#define CK_ROW_DOT(NT, wr, xp, dst) CK_FN(row_dot)(type, NT, wr, xp, nb, dst, os)
    CK_TOKEN_TILES(CK_ROW_DOT)
#undef CK_ROW_DOT
}

CK_TGT static void CK_FN(rows_q)(int type, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok,
                                 float *out, size_t os, int n) {
    switch (type) {
    case CK_Q4_0: CK_FN(rows_t)(CK_Q4_0, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    case CK_Q4_1: CK_FN(rows_t)(CK_Q4_1, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    case CK_Q5_0: CK_FN(rows_t)(CK_Q5_0, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    case CK_Q5_1: CK_FN(rows_t)(CK_Q5_1, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    case CK_IQ4_NL: CK_FN(rows_t)(CK_IQ4_NL, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    default: CK_FN(rows_t)(CK_Q8_0, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    }
}

/* A K-quant row against NT q8_K rows: per super-block the sixteen 16-element sums by the dot4
 * step (exact: quants ≤ 63), each times its sub-block scale into four int32 lanes, the
 * minimum/offset term bsums·cm in integers; then one fma per super-block into float lanes and
 * the dm term into a float per token (ck_kscales' form, ck_ref_dot's value up to float order). */
CK_TGT static inline __attribute__((always_inline)) void
CK_FN(row_dot_k)(const int type, const int NT, const uint8_t *w, const uint8_t *const *x, int nb, float *out, size_t os) {
    float32x4_t acc[4];
    float mins[4];
    for (int t = 0; t < NT; t++) { acc[t] = vdupq_n_f32(0); mins[t] = 0; }
    const int bs = ck_block_bytes(type);
    for (int b = 0; b < nb; b++) {
        const uint8_t *p = w + (size_t)bs * (size_t)b;
        int8x16_t u[16];
        kdecode(type, p, u);
        ck_kscales k;
        ck_k_scales(type, p, &k);
        const int16x8_t cm0 = vld1q_s16(k.cm), cm1 = vld1q_s16(k.cm + 8);
        for (int t = 0; t < NT; t++) {
            const uint8_t *yb = x[t] + (size_t)Q8_K_BYTES * (size_t)b;
            float yd;
            memcpy(&yd, yb, 4);
            const int8_t *yq = (const int8_t *)(yb + offsetof(block_q8_K, qs));
            int32x4_t si = vdupq_n_s32(0);
            for (int v = 0; v < 16; v++) si = vmlaq_n_s32(si, CK_FN(dot4)(vdupq_n_s32(0), u[v], vld1q_s8(yq + 16 * v)), k.sc[v]);
            const int16_t *bsums = (const int16_t *)(const void *)(yb + offsetof(block_q8_K, bsums));
            const int16x8_t b0 = vld1q_s16(bsums), b1 = vld1q_s16(bsums + 8);
            const int32x4_t sm = vmlal_high_s16(vmlal_s16(vmlal_high_s16(vmull_s16(vget_low_s16(b0), vget_low_s16(cm0)), b0, cm0),
                                                          vget_low_s16(b1), vget_low_s16(cm1)), b1, cm1);
            acc[t] = vfmaq_n_f32(acc[t], vcvtq_f32_s32(si), k.d * yd);
            mins[t] += k.dm * yd * (float)vaddvq_s32(sm);
        }
    }
    for (int t = 0; t < NT; t++) out[os * (size_t)t] = vaddvq_f32(acc[t]) - mins[t];
}

CK_TGT static inline __attribute__((always_inline)) void
CK_FN(rows_k_t)(const int type, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                size_t os, int n) {
    const int nb = n / CK_QK_K;
#define CK_ROW_DOT_K(NT, wr, xp, dst) CK_FN(row_dot_k)(type, NT, wr, xp, nb, dst, os)
    CK_TOKEN_TILES(CK_ROW_DOT_K)
#undef CK_ROW_DOT_K
}

CK_TGT static void CK_FN(rows_k)(int type, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok,
                                 float *out, size_t os, int n) {
    switch (type) {
    case CK_Q2_K: CK_FN(rows_k_t)(CK_Q2_K, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    case CK_Q3_K: CK_FN(rows_k_t)(CK_Q3_K, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    case CK_Q4_K: CK_FN(rows_k_t)(CK_Q4_K, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    case CK_Q5_K: CK_FN(rows_k_t)(CK_Q5_K, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    default: CK_FN(rows_k_t)(CK_Q6_K, w, ws, r0, r1, x, xs, ntok, out, os, n); return;
    }
}

/* Q4_0 in block order (acc = fma((float)Σw·x, d_w·d_x, acc) per block, one float per row and
 * token: the reference's ck_ref_packed steps, so equal to it bit for bit), four rows at a
 * time so their exact block sums reduce into one vector. */
CK_TGT static void CK_FN(rows_q4_0_blocks)(const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok,
                                           float *out, size_t os, int n) {
    const int nb = n / CK_QK;
    int r = r0;
    for (; r + 4 <= r1; r += 4) {
        const uint8_t *wr = w + ws * (size_t)r;
        for (int t = 0; t < ntok; t++) {
            const uint8_t *xt = x + xs * (size_t)t;
            float32x4_t acc = vdupq_n_f32(0);
            for (int b = 0; b < nb; b++) {
                const uint8_t *xb = xt + Q8_0_BYTES * (size_t)b;
                const int8x16_t y0 = vld1q_s8((const int8_t *)(xb + offsetof(block_q8_0, qs)));
                const int8x16_t y1 = vld1q_s8((const int8_t *)(xb + offsetof(block_q8_0, qs) + 16));
                int32x4_t s[4];
                float dw[4];
                for (int k = 0; k < 4; k++) {
                    const wq q = decode(CK_Q4_0, wr + ws * (size_t)k, b);
                    s[k] = CK_FN(dot32)(q.q0, q.q1, y0, y1);
                    dw[k] = q.d;
                }
                const int32x4_t sums = vpaddq_s32(vpaddq_s32(s[0], s[1]), vpaddq_s32(s[2], s[3]));
                acc = vfmaq_f32(acc, vcvtq_f32_s32(sums), vmulq_n_f32(vld1q_f32(dw), h16(xb)));
            }
            vst1q_f32(out + os * (size_t)t + (size_t)(r - r0), acc);
        }
    }
    for (; r < r1; r++) {
        const uint8_t *wr = w + ws * (size_t)r;
        for (int t = 0; t < ntok; t++) {
            const uint8_t *xt = x + xs * (size_t)t;
            float acc = 0;
            for (int b = 0; b < nb; b++) {
                const uint8_t *xb = xt + Q8_0_BYTES * (size_t)b;
                const wq q = decode(CK_Q4_0, wr, b);
                const int32x4_t s = CK_FN(dot32)(q.q0, q.q1, vld1q_s8((const int8_t *)(xb + offsetof(block_q8_0, qs))),
                                                 vld1q_s8((const int8_t *)(xb + offsetof(block_q8_0, qs) + 16)));
                acc = fmaf((float)vaddvq_s32(s), q.d * h16(xb), acc);
            }
            out[os * (size_t)t + (size_t)(r - r0)] = acc;
        }
    }
}

/* Packed Q4_0 (block_q4_0x8), NT tokens against eight rows: slice c's sixteen bytes for rows 0-3
 * (and the next sixteen for rows 4-7) meet activation bytes 4c..4c+3 (low nibbles) and
 * 16+4c..16+4c+3 (high nibbles) broadcast to every lane, so each row's products land in its own
 * int32 lane: no horizontal sums. Then block order, as the reference. */
#define CK_LANE(v, c) vreinterpretq_s8_s32(vdupq_laneq_s32(vreinterpretq_s32_s8(v), c))
CK_TGT static inline __attribute__((always_inline)) void
CK_FN(packed8)(const int NT, const uint8_t *pg, const uint8_t *const *x, int nb, float *out, size_t os) {
    float32x4_t acc[4][2];
    for (int t = 0; t < NT; t++) acc[t][0] = acc[t][1] = vdupq_n_f32(0);
    const uint8x16_t nibble = vdupq_n_u8(0x0F);
    const int8x16_t eight = vdupq_n_s8(8);
    for (int b = 0; b < nb; b++) {
        const uint8_t *blk = pg + Q4_0X8_BYTES * (size_t)b;
        const uint16x8_t hd = vld1q_u16((const uint16_t *)(const void *)blk);
        const float32x4_t d0 = vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(hd)));
        const float32x4_t d1 = vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(hd)));
        int8x16_t lo[4][2], hi[4][2];
        for (int c = 0; c < 4; c++)
            for (int h = 0; h < 2; h++) {
                const uint8x16_t v = vld1q_u8(blk + offsetof(block_q4_0x8, qs) + 32 * c + 16 * h);
                lo[c][h] = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, nibble)), eight);
                hi[c][h] = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), eight);
            }
        for (int t = 0; t < NT; t++) {
            const uint8_t *xb = x[t] + Q8_0_BYTES * (size_t)b;
            const int8x16_t y0 = vld1q_s8((const int8_t *)(xb + offsetof(block_q8_0, qs)));
            const int8x16_t y1 = vld1q_s8((const int8_t *)(xb + offsetof(block_q8_0, qs) + 16));
            int32x4_t s[2] = {vdupq_n_s32(0), vdupq_n_s32(0)};
#define CK_SLICE(c)                                                           \
            for (int h = 0; h < 2; h++) {                                     \
                s[h] = CK_FN(dot4)(s[h], lo[c][h], CK_LANE(y0, c));            \
                s[h] = CK_FN(dot4)(s[h], hi[c][h], CK_LANE(y1, c));            \
            }
            CK_SLICE(0) CK_SLICE(1) CK_SLICE(2) CK_SLICE(3)
#undef CK_SLICE
            const float dx = h16(xb);
            acc[t][0] = vfmaq_f32(acc[t][0], vcvtq_f32_s32(s[0]), vmulq_n_f32(d0, dx));
            acc[t][1] = vfmaq_f32(acc[t][1], vcvtq_f32_s32(s[1]), vmulq_n_f32(d1, dx));
        }
    }
    for (int t = 0; t < NT; t++) {
        vst1q_f32(out + os * (size_t)t, acc[t][0]);
        vst1q_f32(out + os * (size_t)t + 4, acc[t][1]);
    }
}
#undef CK_LANE

CK_TGT static void CK_FN(packed_q4_0)(const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                                      size_t os, int n) {
    const int nb = n / CK_QK;
    for (int t0 = 0; t0 < ntok; t0 += 64) {
        const int t1 = t0 + 64 < ntok ? t0 + 64 : ntok;
        for (int r = r0; r < r1; r += 8) {
            const uint8_t *pg = packed + (size_t)(r / 8) * Q4_0X8_BYTES * (size_t)nb;
            float *o = out + (size_t)(r - r0);
            int t = t0;
            for (; t + 4 <= t1; t += 4) {
                const uint8_t *x4[4] = {x + xs * (size_t)t, x + xs * (size_t)(t + 1), x + xs * (size_t)(t + 2), x + xs * (size_t)(t + 3)};
                CK_FN(packed8)(4, pg, x4, nb, o + os * (size_t)t, os);
            }
            for (; t < t1; t++) {
                const uint8_t *x1[1] = {x + xs * (size_t)t};
                CK_FN(packed8)(1, pg, x1, nb, o + os * (size_t)t, os);
            }
        }
    }
}


/* ---------------------------------------------------------------- lab types
 * A lab row (internal.h's ck_lab layout) against q8_0 (symmetric) or q8_1 (asymmetric) blocks:
 * each 32-code chunk unpacked by lab_codes, the symmetric codes less their zero, the integer
 * dot exact (|code| ≤ 127), one multiply-add a chunk with d_w·d_x, and m_w·s_x added per chunk
 * for the asymmetric ones, as the reference (scalar.c) does. */
CK_TGT static inline __attribute__((always_inline)) void
CK_FN(row_dot_lab)(const int bits, const int asym, const int NT, const ck_lab *l, const lab_tab *tab, const uint8_t *w,
                   const uint8_t *const *x, int chunks, float *out, size_t os) {
    const size_t xbs = asym ? Q8_1_BYTES : Q8_0_BYTES, xq = asym ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    const int8x16_t zero = vdupq_n_s8((int8_t)(asym ? 0 : (1 << (bits - 1)) - 1));
    float32x4_t acc[4];
    float mins[4];
    for (int t = 0; t < NT; t++) { acc[t] = vdupq_n_f32(0); mins[t] = 0; }
    const int per = l->g / 32;
    for (int k = 0, gi = 0; k < chunks; gi++) {
        const uint8_t *head = w + l->block * (size_t)gi;
        const float d = h16(head), m = asym ? h16(head + 2) : 0.0f;
        for (int c = 0; c < per; c++, k++) {
            int8x16_t q0, q1;
            lab_codes(bits, tab, head + l->header + 4 * (size_t)bits * (size_t)c, &q0, &q1);
            q0 = vsubq_s8(q0, zero);
            q1 = vsubq_s8(q1, zero);
            for (int t = 0; t < NT; t++) {
                const uint8_t *xb = x[t] + xbs * (size_t)k;
                const int8x16_t y0 = vld1q_s8((const int8_t *)(xb + xq)), y1 = vld1q_s8((const int8_t *)(xb + xq + 16));
                acc[t] = vfmaq_n_f32(acc[t], vcvtq_f32_s32(CK_FN(dot32)(q0, q1, y0, y1)), d * h16(xb));
                if (asym) mins[t] += m * h16(xb + offsetof(block_q8_1, s));
            }
        }
    }
    for (int t = 0; t < NT; t++) out[os * (size_t)t] = vaddvq_f32(acc[t]) + mins[t];
}

CK_TGT static inline __attribute__((always_inline)) void
CK_FN(rows_lab_t)(const int bits, const int asym, const ck_lab *l, const lab_tab *tab, const uint8_t *w, size_t ws, int r0,
                  int r1, const uint8_t *x, size_t xs, int ntok, float *out, size_t os, int n) {
#define CK_ROW_DOT_LAB(NT, wr, xp, dst) CK_FN(row_dot_lab)(bits, asym, NT, l, tab, wr, xp, n / 32, dst, os)
    CK_TOKEN_TILES(CK_ROW_DOT_LAB)
#undef CK_ROW_DOT_LAB
}

/* The bit width and symmetry constant in each body, so the unpacking and zero fold away. */
CK_TGT static void CK_FN(rows_lab)(int bits, int asym, const ck_lab *l, const lab_tab *tab, const uint8_t *w, size_t ws, int r0,
                                   int r1, const uint8_t *x, size_t xs, int ntok, float *out, size_t os, int n) {
#define CK_LAB_CASE(B)                                                                                                \
    case B:                                                                                                           \
        if (asym) CK_FN(rows_lab_t)(B, 1, l, tab, w, ws, r0, r1, x, xs, ntok, out, os, n);                            \
        else CK_FN(rows_lab_t)(B, 0, l, tab, w, ws, r0, r1, x, xs, ntok, out, os, n);                                 \
        return;
    switch (bits) {
    CK_LAB_CASE(2)
    CK_LAB_CASE(3)
    CK_LAB_CASE(4)
    CK_LAB_CASE(5)
    CK_LAB_CASE(6)
    default:
        if (asym) CK_FN(rows_lab_t)(7, 1, l, tab, w, ws, r0, r1, x, xs, ntok, out, os, n);
        else CK_FN(rows_lab_t)(7, 0, l, tab, w, ws, r0, r1, x, xs, ntok, out, os, n);
        return;
    }
#undef CK_LAB_CASE
}

#undef CK_TOKEN_TILES
#undef CK_FN
#undef CK_CAT
#undef CK_CAT_

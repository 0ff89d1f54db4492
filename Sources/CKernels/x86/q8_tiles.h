/* The 8-bit tile bodies, written once and built once per x86 level: avx2.c includes this file with
 * maddubs + madd for the 8-bit products, avx512.c with AVX-512 VNNI's vpdpbusd, which gives the
 * same int32 lanes in one instruction. Every integer sum is exact either way (no pair reaches
 * int16 saturation: |w| ≤ 128 and |y| ≤ 127), and the float steps around them are the same, so
 * the two levels' results are equal bit for bit (the kernel harness checks it).
 *
 * The including file defines, before including:
 *   CK_TILE_TARGET  the function attribute of its level (AVX2, or AVX2 + AVX-512 VNNI);
 *   CK_TILE_VNNI    1 to use vpdpbusd, 0 for maddubs + madd;
 *   CK_TILE_TAIL    a function (type, w, ws, r0, r1, x, xs, ntok, out, os, n) for the rows left
 *                   over after the groups of four. */
#ifndef CK_TILE_TARGET
#error "define CK_TILE_TARGET, CK_TILE_VNNI and CK_TILE_TAIL before including q8_tiles.h"
#endif

/* 32 products u·s (u unsigned, s signed) summed in fours: 8 int32 lanes. */
CK_TILE_TARGET static inline __attribute__((always_inline)) __m256i ck_dot4(__m256i u, __m256i s) {
#if CK_TILE_VNNI
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

/* Q8_0 against two or more tokens: four rows by two tokens at a time, each (row, token) dot
 * in row_dot's order (the same eight lanes, one fma per block, the same final sum), so the
 * results are row_dot's bit for bit. What changes is the work per product, which bounds this
 * kernel; the integer multiplies, the conversion and the fma are fixed, so the rest shrinks:
 *   - the four rows' |w| (maddubs' unsigned operand) and scales are prepared once per group of
 *     rows, in `aw` and `dw`, and reused by every token of the chunk;
 *   - a token's four scale products d_w·d_x come from one multiply, each spread to its product
 *     by one in-lane shuffle, where row_dot spends a scalar multiply and a broadcast on each.
 * With VNNI the weights need no sign trick: `aw` holds w + 128 (1…255, unsigned), each token's
 * block carries −128·Σy per lane (`nc`, made once per chunk for all rows), and one vpdpbusd
 * from that start gives Σ(w + 128)·y − 128·Σy = Σw·y, the same exact int32 lanes as maddubs +
 * madd on |w| and sign(y, w): four operations a product instead of five. (AVX2 cannot: maddubs
 * would saturate the pair sums of w + 128.)
 * Measured on Zen 3 (clang -O2, as SwiftPM builds it): 0.70–0.80 of row_dot's time from 6 tokens
 * on, 0.95 at 4 (row_dot's own 4-token tile), 0.79 at 2. Four by two
 * keeps the eight accumulators, both tokens and their scales in registers; four by four spills. */
CK_TILE_TARGET static inline __attribute__((always_inline)) void
tile4_q8_0(const int NT, const uint8_t *qw, size_t qrow, size_t qblock, const uint8_t *aw, const float *dw, const uint8_t *x,
           size_t xs, const float *sc, const uint8_t *nc, int nb, float *out, size_t os) {
    __m256 acc[2][4];
    for (int t = 0; t < NT; t++)
        for (int i = 0; i < 4; i++) acc[t][i] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const __m256 d4 = _mm256_broadcast_ps((const __m128 *)(dw + 4 * b));
        __m256i y[2];
        __m256 s[2];
#if CK_TILE_VNNI
        __m256i c[2];
        for (int t = 0; t < NT; t++) c[t] = _mm256_load_si256((const __m256i *)(nc + 32 * ((size_t)nb * t + b)));
#else
        (void)nc;
#endif
        for (int t = 0; t < NT; t++) {
            y[t] = _mm256_loadu_si256((const __m256i *)(x + xs * t + Q8_0_BYTES * (size_t)b + offsetof(block_q8_0, qs)));
            s[t] = _mm256_mul_ps(d4, _mm256_broadcast_ss(sc + nb * t + b));
            /* Opaque to the optimizer: knowing both halves equal, clang turns each shuffle
             * below into a shuffle and a broadcast, two operations instead of one. */
            __asm__("" : "+x"(s[t]));
        }
#if CK_TILE_VNNI
        (void)qw; (void)qrow; (void)qblock;
#define CK_ROW(i, lane)                                                                              \
        {                                                                                            \
            const __m256i a = _mm256_load_si256((const __m256i *)(aw + 128 * (size_t)b + 32 * i));  \
            for (int t = 0; t < NT; t++)                                                             \
                acc[t][i] = _mm256_fmadd_ps(_mm256_shuffle_ps(s[t], s[t], lane),                     \
                                            _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(c[t], a, y[t])), acc[t][i]); \
        }
#else
#define CK_ROW(i, lane)                                                                              \
        {                                                                                            \
            const __m256i a = _mm256_load_si256((const __m256i *)(aw + 128 * (size_t)b + 32 * i));  \
            const __m256i q = _mm256_loadu_si256((const __m256i *)(qw + qrow * i + qblock * (size_t)b)); \
            for (int t = 0; t < NT; t++)                                                             \
                acc[t][i] = _mm256_fmadd_ps(_mm256_shuffle_ps(s[t], s[t], lane),                     \
                                            _mm256_cvtepi32_ps(ck_dot4(a, _mm256_sign_epi8(y[t], q))), acc[t][i]);     \
        }
#endif
        CK_ROW(0, 0x00) CK_ROW(1, 0x55) CK_ROW(2, 0xaa) CK_ROW(3, 0xff)
#undef CK_ROW
    }
    for (int t = 0; t < NT; t++)
        for (int i = 0; i < 4; i++) out[os * t + i] = hsum8(acc[t][i]);
}

/* The same tiles for the other types whose weights are signed against q8_0 (Q5_0, IQ4_NL): a
 * group of four rows is decoded once into signed bytes (`qw`, as decode() gives them) beside
 * their |w|, and the tiles read those where Q8_0's read the file's bytes; the products and their
 * order are row_dot's, so the results are again its bits. */
CK_TILE_TARGET static inline __attribute__((always_inline)) void
rows4_t(const int type, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
        size_t os, int n) {
    const int nb = n / 32, own = type != CK_Q8_0;
    float scales[64 * nb], dw[4 * nb];
    uint8_t aw[128 * nb] __attribute__((aligned(32)));
    uint8_t qw[own && !CK_TILE_VNNI ? 128 * nb : 1] __attribute__((aligned(32)));
    const int r4 = r0 + (r1 - r0) / 4 * 4;
#if CK_TILE_VNNI
    (void)own;
    uint8_t *nc = r4 > r0 ? aligned_alloc(32, (size_t)64 * (size_t)nb * 32) : NULL;
    if (r4 > r0 && !nc) abort();
#else
    uint8_t *nc = NULL;
#endif
    for (int t0 = 0; t0 < ntok && r4 > r0; t0 += 64) {
        const int t1 = t0 + 64 < ntok ? t0 + 64 : ntok;
        for (int t = t0; t < t1; t++)
            for (int b = 0; b < nb; b++) {
                scales[(t - t0) * nb + b] = h16(x + xs * t + (size_t)Q8_0_BYTES * b);
#if CK_TILE_VNNI
                const __m256i y = _mm256_loadu_si256((const __m256i *)(x + xs * t + Q8_0_BYTES * (size_t)b + offsetof(block_q8_0, qs)));
                _mm256_store_si256((__m256i *)(nc + 32 * ((size_t)(t - t0) * (size_t)nb + (size_t)b)),
                                   _mm256_sub_epi32(_mm256_setzero_si256(),
                                                    _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8((char)0x80), y)));
#endif
            }
        for (int r = r0; r < r4; r += 4) {
            const uint8_t *wr = w + ws * (size_t)r;
            for (int b = 0; b < nb; b++)
                for (int i = 0; i < 4; i++) {
                    const wblock wb = decode(type, wr + ws * i, b);
#if CK_TILE_VNNI
                    _mm256_store_si256((__m256i *)(aw + 128 * b + 32 * i), _mm256_xor_si256(wb.q, _mm256_set1_epi8((char)0x80)));
#else
                    _mm256_store_si256((__m256i *)(aw + 128 * b + 32 * i), _mm256_sign_epi8(wb.q, wb.q));
                    if (own) _mm256_store_si256((__m256i *)(qw + 128 * b + 32 * i), wb.q);
#endif
                    dw[4 * b + i] = wb.d;
                }
            const uint8_t *q = own ? qw : wr + offsetof(block_q8_0, qs);
            const size_t qrow = own ? 32 : ws, qblock = own ? 128 : Q8_0_BYTES;
            int t = t0;
            for (; t + 2 <= t1; t += 2)
                tile4_q8_0(2, q, qrow, qblock, aw, dw, x + xs * t, xs, scales + (t - t0) * nb, nc ? nc + 32 * (size_t)(t - t0) * (size_t)nb : NULL,
                           nb, out + os * t + (r - r0), os);
            if (t < t1)
                tile4_q8_0(1, q, qrow, qblock, aw, dw, x + xs * t, xs, scales + (t - t0) * nb, nc ? nc + 32 * (size_t)(t - t0) * (size_t)nb : NULL,
                           nb, out + os * t + (r - r0), os);
        }
    }
    free(nc);
    if (r4 < r1) {
        CK_TILE_TAIL(type, w, ws, r4, r1, x, xs, ntok, out + (r4 - r0), os, n);
    }
}

CK_TILE_TARGET static void rows4_q8_0(const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                            size_t os, int n) {
    rows4_t(CK_Q8_0, w, ws, r0, r1, x, xs, ntok, out, os, n);
}
CK_TILE_TARGET static void rows4_q5_0(const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                            size_t os, int n) {
    rows4_t(CK_Q5_0, w, ws, r0, r1, x, xs, ntok, out, os, n);
}
CK_TILE_TARGET static void rows4_iq4_nl(const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                              size_t os, int n) {
    rows4_t(CK_IQ4_NL, w, ws, r0, r1, x, xs, ntok, out, os, n);
}

/* Q4_0 or IQ4_NL packed in groups of eight rows (ck_q4_0_pack; both are 18-byte blocks of an f16
 * scale and 32 nibbles): per block, the eight rows' scales, then four 32-byte slices, slice c
 * holding bytes 4c..4c+3 of each row's quants (row k at 4k). One slice load covers eight rows ×
 * eight weights (low nibbles: elements 4c..4c+3, high: 16+4c..), and each row's products land in
 * its own 32-bit lane, so no horizontal sums are needed.
 *   Q4_0: the nibbles are multiplied unsigned (0..15) and 8·Σy is taken off after:
 *     Σ(q−8)y = Σqy − 8Σy, exact in integers (16 products of at most 15·127 per 16-bit lane).
 *   IQ4_NL: a nibble indexes the 16 values (−127…113) with one shuffle. With VNNI the table holds
 *     value + 128 (1…241, unsigned) and 128·Σy is taken off, as for Q4_0; without it, maddubs
 *     would saturate on those, so the values stay signed and go through the sign trick
 *     (|w|·sign(y, w), no value is 0) with each slice's pairs widened to int32 at once.
 * Either way every row's block sum is exact, and the float steps after it are those of the
 * block-order kernel (avx2.c), so the results are that kernel's bit for bit. */
CK_TILE_TARGET static inline __attribute__((always_inline)) void
packed8(const int type, const int NT, const uint8_t *pg, const uint8_t *const *x, const int16_t *const *sums, int nb, float *out,
        size_t os) {
    const int nl = type == CK_IQ4_NL;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    __m256i book = _mm256_setzero_si256();
    if (nl) {
        const __m128i v = _mm_loadu_si128((const __m128i *)ck_iq4nl_values);
#if CK_TILE_VNNI
        book = _mm256_set_m128i(_mm_xor_si128(v, _mm_set1_epi8((char)0x80)), _mm_xor_si128(v, _mm_set1_epi8((char)0x80)));
#else
        book = _mm256_set_m128i(v, v);
#endif
    }
#if !CK_TILE_VNNI
    const __m256i ones = _mm256_set1_epi16(1);
#endif
    /* What the unsigned products overcount per Σy: 8 for Q4_0's nibbles, 128 for the biased table. */
    const int32_t bias = nl ? 128 : 8;
    for (int b = 0; b < nb; b++) {
        const uint8_t *blk = pg + Q4_0X8_BYTES * (size_t)b;
        if (NT == 1)
            for (int line = 0; line < 3; line++) _mm_prefetch((const char *)blk + CK_AHEAD + 64 * line, _MM_HINT_T0);
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk));
        __m256i s[4];
        for (int c = 0; c < 4; c++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(blk + offsetof(block_q4_0x8, qs) + 32 * c));
            __m256i lo = _mm256_and_si256(v, nibble), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
            if (nl) {
                lo = _mm256_shuffle_epi8(book, lo);
                hi = _mm256_shuffle_epi8(book, hi);
            }
            for (int t = 0; t < NT; t++) {
                const uint8_t *xb = x[t] + Q8_0_BYTES * (size_t)b + offsetof(block_q8_0, qs) + 4 * c;
                int32_t ylo, yhi;
                memcpy(&ylo, xb, 4);
                memcpy(&yhi, xb + 16, 4);
#if CK_TILE_VNNI
                /* int32 lanes straight away: two vpdpbusd a slice. */
                s[t] = _mm256_dpbusd_epi32(c == 0 ? _mm256_setzero_si256() : s[t], lo, _mm256_set1_epi32(ylo));
                s[t] = _mm256_dpbusd_epi32(s[t], hi, _mm256_set1_epi32(yhi));
#else
                if (nl) {
                    const __m256i p = _mm256_add_epi32(
                        _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(lo, lo), _mm256_sign_epi8(_mm256_set1_epi32(ylo), lo)), ones),
                        _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(hi, hi), _mm256_sign_epi8(_mm256_set1_epi32(yhi), hi)), ones));
                    s[t] = c == 0 ? p : _mm256_add_epi32(s[t], p);
                } else {
                    const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_set1_epi32(ylo)),
                                                       _mm256_maddubs_epi16(hi, _mm256_set1_epi32(yhi)));
                    s[t] = c == 0 ? p : _mm256_add_epi16(s[t], p);
                }
#endif
            }
        }
        for (int t = 0; t < NT; t++) {
#if CK_TILE_VNNI
            const __m256i isum = _mm256_sub_epi32(s[t], _mm256_set1_epi32(bias * (int32_t)sums[t][b]));
#else
            const __m256i isum = nl ? s[t] : _mm256_sub_epi32(_mm256_madd_epi16(s[t], ones), _mm256_set1_epi32(bias * (int32_t)sums[t][b]));
#endif
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, _mm256_set1_ps(h16(x[t] + Q8_0_BYTES * (size_t)b))), acc[t]);
        }
    }
    for (int t = 0; t < NT; t++) {
        float lanes[8];
        _mm256_storeu_ps(lanes, acc[t]);
        for (int k = 0; k < 8; k++) out[os * (size_t)t + (size_t)k] = lanes[k];
    }
}

/* Σy of each q8_0 block of one activation row. */
CK_TILE_TARGET static void block_sums(const uint8_t *x, int nb, int16_t *sums) {
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (int b = 0; b < nb; b++) {
        const __m256i y = _mm256_loadu_si256((const __m256i *)(x + Q8_0_BYTES * (size_t)b + offsetof(block_q8_0, qs)));
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, y), ones16);
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
        s4 = _mm_hadd_epi32(s4, s4);
        s4 = _mm_hadd_epi32(s4, s4);
        sums[b] = (int16_t)_mm_cvtsi128_si32(s4);
    }
}

CK_TILE_TARGET static inline __attribute__((always_inline)) void
packed_t(const int type, const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out, size_t os, int n) {
    const int nb = n / 32;
    /* Block sums: Q4_0's and (VNNI) IQ4_NL's correction; the AVX2 IQ4_NL body needs none. */
    const int need_sums = type == CK_Q4_0 || CK_TILE_VNNI;
    /* Tokens in chunks of 64 (their activations stay in cache while the rows pass), with the
     * chunk's block sums computed once for all rows. */
    if (ntok <= 0 || nb <= 0) return;
    const int chunk = ntok < 64 ? ntok : 64;
    int16_t *sums = malloc(sizeof(int16_t) * (size_t)chunk * (size_t)nb);
    if (!sums) abort();
    for (int t0 = 0; t0 < ntok; t0 += 64) {
        const int t1 = t0 + 64 < ntok ? t0 + 64 : ntok;
        for (int t = t0; t < t1 && need_sums; t++) block_sums(x + xs * (size_t)t, nb, sums + (size_t)(t - t0) * (size_t)nb);
        for (int r = r0; r < r1; r += 8) {
            const uint8_t *pg = packed + (size_t)(r / 8) * Q4_0X8_BYTES * (size_t)nb;
            float *o = out + (size_t)(r - r0);
            int t = t0;
            for (; t + 4 <= t1; t += 4) {
                const uint8_t *x4[4] = {x + xs * (size_t)t, x + xs * (size_t)(t + 1), x + xs * (size_t)(t + 2), x + xs * (size_t)(t + 3)};
                const int16_t *s4[4];
                for (int i = 0; i < 4; i++) s4[i] = sums + (size_t)(t + i - t0) * (size_t)nb;
                packed8(type, 4, pg, x4, s4, nb, o + os * (size_t)t, os);
            }
            for (; t < t1; t++) {
                const uint8_t *x1[1] = {x + xs * (size_t)t};
                const int16_t *s1[1] = {sums + (size_t)(t - t0) * (size_t)nb};
                packed8(type, 1, pg, x1, s1, nb, o + os * (size_t)t, os);
            }
        }
    }
    free(sums);
}

CK_TILE_TARGET static void packed_q4_0(const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                                       size_t os, int n) {
    packed_t(CK_Q4_0, packed, r0, r1, x, xs, ntok, out, os, n);
}
CK_TILE_TARGET static void packed_iq4_nl(const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                                         size_t os, int n) {
    packed_t(CK_IQ4_NL, packed, r0, r1, x, xs, ntok, out, os, n);
}

/* ---------------------------------------------------------------- Q6_K against q8_K
 * One Q6_K row against up to CK_K6_NT tokens at once (8 with VNNI, where AVX-512VL's 32 vector
 * registers hold eight tokens' two accumulators each; 4 with AVX2's 16). Where avx2.c's
 * row_dot_k keeps the offset term apart (a second fma and accumulator per super-block), here it
 * comes off in integers: Q6_K's two super-scales are one (d = dm), so each super-block's dot is
 *   y.d · d · (Σ_s sc[s]·Σ_{16 of s} q·y − Σ_s 32·sc[s]·y.bsums[s])
 * and the int32 lanes start from −(32·sc)·bsums (one madd) before the quants' products are added.
 * Per 32 quants: maddubs gives the int16 pair sums (at most 2·63·128 = 16128 in magnitude: q ≤ 63,
 * q8_K's y in −128…127), then VNNI's vpdpwssd multiplies them by the sub-block scales and adds
 * into the int32 lanes in one instruction where AVX2 takes madd and add. Every lane stays below
 * 2^31 (8 · 2 · 16128 · 128 + 2 · 2048 · 4096), so both levels get the same exact integers; then
 * the float steps of llama.cpp's x86 build, the same at both levels and whatever the number of
 * tokens per pass, so the results are equal bit for bit (and equal to llama.cpp's AVX2 build):
 *   below eight tokens in the call (TILED 0), its dot product: one fma per super-block of the
 *     eight int32 lanes by d·y.d into float lanes, the lanes summed in hsum8's order at the end;
 *   from eight on (TILED 1), its tiled K product: per super-block the lanes' integer sum I,
 *     r = d·I, a = fma(r, y.d, a); eight or four tokens reduce their sums together and take
 *     these steps in the lanes of one vector. */
#if CK_TILE_VNNI
#define CK_K6_NT 8
#else
#define CK_K6_NT 4
#endif

CK_TILE_TARGET static inline __attribute__((always_inline)) void
row_dot_q6_K(const int NT, const int TILED, const uint8_t *w, const uint8_t *const *x, int nb, float *out, size_t os) {
    __m256 acc[CK_K6_NT], a8 = _mm256_setzero_ps();
    __m128 a4 = _mm_setzero_ps();
    float a1 = 0;
    for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *p = w + (size_t)Q6_K_BYTES * (size_t)b;
        if (NT == 1)
            for (int line = 0; line < Q6_K_BYTES; line += 64) _mm_prefetch((const char *)p + CK_AHEAD + line, _MM_HINT_T0);
        const kscales ks = kscales_of(CK_Q6_K, p);
        const __m256i lowhalf = _mm256_permute2x128_si256(ks.sc16, ks.sc16, 0x00), highhalf = _mm256_permute2x128_si256(ks.sc16, ks.sc16, 0x11);
        const __m256i ncm = _mm256_sub_epi16(_mm256_setzero_si256(), ks.cm16);
        const uint8_t *yb[CK_K6_NT];
        __m256i si[CK_K6_NT];
        for (int t = 0; t < NT; t++) {
            yb[t] = x[t] + (size_t)Q8_K_BYTES * (size_t)b;
            si[t] = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(yb[t] + offsetof(block_q8_K, bsums))), ncm);
        }
        /* Unrolled, so that kquants' shifts and offsets are constants: left as a loop (clang
         * does with one token), it branched on k and ran decode at 0.4 of Q4_K's rate. */
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) {
            const __m256i u = kquants(CK_Q6_K, p, k);
            const __m256i sc = _mm256_shuffle_epi8(k < 4 ? lowhalf : highhalf, _mm256_load_si256((const __m256i *)ck_kpick[k % 4]));
            for (int t = 0; t < NT; t++) {
                const __m256i p16 = _mm256_maddubs_epi16(u, _mm256_loadu_si256((const __m256i *)(yb[t] + offsetof(block_q8_K, qs) + 32 * k)));
#if CK_TILE_VNNI
                si[t] = _mm256_dpwssd_epi32(si[t], p16, sc);
#else
                si[t] = _mm256_add_epi32(si[t], _mm256_madd_epi16(p16, sc));
#endif
            }
        }
        float yd[CK_K6_NT];
        for (int t = 0; t < NT; t++) memcpy(&yd[t], yb[t], 4);
        if (!TILED) {
            for (int t = 0; t < NT; t++) acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(ks.d * yd[t]), _mm256_cvtepi32_ps(si[t]), acc[t]);
        }
#if CK_TILE_VNNI
        else if (NT == 8) {
            const __m256i whole = _mm256_set_m128i(hsum4_i32(si[4], si[5], si[6], si[7]), hsum4_i32(si[0], si[1], si[2], si[3]));
            a8 = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(ks.d), _mm256_cvtepi32_ps(whole)), _mm256_loadu_ps(yd), a8);
        }
#endif
        else if (NT == 4) {
            a4 = _mm_fmadd_ps(_mm_mul_ps(_mm_set1_ps(ks.d), _mm_cvtepi32_ps(hsum4_i32(si[0], si[1], si[2], si[3]))), _mm_loadu_ps(yd), a4);
        } else {
            a1 = fmaf(ks.d * (float)hsum_i32(si[0]), yd[0], a1);
        }
    }
    if (!TILED) {
        for (int t = 0; t < NT; t++) out[os * (size_t)t] = hsum8(acc[t]);
        return;
    }
    float r[8];
    if (NT == 8) _mm256_storeu_ps(r, a8); /* zero below VNNI, and then NT is never 8 */
    else if (NT == 4) _mm_storeu_ps(r, a4);
    else r[0] = a1;
    for (int t = 0; t < NT; t++) out[os * (size_t)t] = r[t];
}

/* Rows r0..r1 against tokens in chunks of 64 (their activations stay in cache while the rows
 * pass), CK_K6_NT tokens a pass, then four (VNNI), then one at a time. */
CK_TILE_TARGET static void rows_q6_K(const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                                     size_t os, int n) {
    const int nb = n / CK_QK_K, tiled = ntok >= 8; /* llama.cpp's tiled K product from eight tokens */
    for (int t0 = 0; t0 < ntok; t0 += 64) {
        const int t1 = t0 + 64 < ntok ? t0 + 64 : ntok;
        for (int r = r0; r < r1; r++) {
            const uint8_t *wr = w + ws * (size_t)r;
            float *o = out + (size_t)(r - r0);
            const uint8_t *xt[CK_K6_NT];
            int t = t0;
            for (; t + CK_K6_NT <= t1; t += CK_K6_NT) {
                for (int i = 0; i < CK_K6_NT; i++) xt[i] = x + xs * (size_t)(t + i);
                if (tiled) row_dot_q6_K(CK_K6_NT, 1, wr, xt, nb, o + os * (size_t)t, os);
                else row_dot_q6_K(CK_K6_NT, 0, wr, xt, nb, o + os * (size_t)t, os);
            }
#if CK_TILE_VNNI
            if (t + 4 <= t1) {
                for (int i = 0; i < 4; i++) xt[i] = x + xs * (size_t)(t + i);
                if (tiled) row_dot_q6_K(4, 1, wr, xt, nb, o + os * (size_t)t, os);
                else row_dot_q6_K(4, 0, wr, xt, nb, o + os * (size_t)t, os);
                t += 4;
            }
#endif
            for (; t < t1; t++) {
                xt[0] = x + xs * (size_t)t;
                if (tiled) row_dot_q6_K(1, 1, wr, xt, nb, o + os * (size_t)t, os);
                else row_dot_q6_K(1, 0, wr, xt, nb, o + os * (size_t)t, os);
            }
        }
    }
}

/* ---------------------------------------------------------------- one token (decode)
 * Q5_0, Q4_1 and Q5_1 rows against one token. The float steps are row_dot's with one token
 * (avx2.c), which are llama.cpp's AVX2 dot products: per block acc = fma(d_w·d_y, cvt(eight
 * int32 lanes), acc), each lane the sum of four consecutive products; for Q4_1 and Q5_1 the
 * m_w·s_y terms summed apart in one float; the lanes summed in hsum8's order, then that float
 * added. So the results are row_dot's bit for bit, and llama.cpp's (scripts/check/
 * check-kquant-orders.sh compares them with its AVX2 build's). Decode reads each weight once and
 * does little with it, and these types ran at 0.58–0.72 of Q8_0's bytes per second in row_dot
 * (one core, Zen 4): the work per block bounds them (Qwen2.5-0.5B's Q4_K_M file is 44% Q5_0 on
 * 896-wide rows). Here:
 *   - Q5_0's offset is taken in integers instead of by the sign trick: q (0…31) is multiplied
 *     unsigned and the lanes start from −16·Σ4y (Σ4y: the four activations of a lane), so
 *     Σq·y − 16·Σy = Σ(q − 16)·y, exact (pairs at most 2·31·127);
 *   - with AVX-512 BW the fifth bits are a mask: one masked add of 16;
 *   - the token's scales (and Q5_0's −16·Σ4y) are made once per call for every row, where
 *     row_dot's callers convert them per chunk of rows.
 * Measured with scripts/bench/one-token.sh (Zen 4, rows 896 wide streamed from memory, against
 * row_dot): with VNNI Q5_0 1.40×, Q5_1 1.20×, Q4_1 1.08×; at the AVX2 level 1.15×, 1.02×, 1.03×.
 * Q8_0 keeps row_dot: it streams at the read bandwidth already. Rows go one at a time: two or
 * four rows side by side (independent fma chains, the token's block loaded once for them)
 * streamed at 0.5–0.7 of the rate, whatever the prefetch distance. */
CK_TILE_TARGET static inline __attribute__((always_inline)) void
one_token_t(const int type, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, float *out, int n) {
    const int nb = n / 32, affine = type != CK_Q5_0, bs = ck_block_bytes(type);
    const size_t xbs = affine ? Q8_1_BYTES : Q8_0_BYTES, xq = affine ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    const size_t mo = type == CK_Q4_1 ? offsetof(block_q4_1, m) : offsetof(block_q5_1, m);
    const size_t qs = type == CK_Q5_0 ? offsetof(block_q5_0, qs) : type == CK_Q5_1 ? offsetof(block_q5_1, qs) : offsetof(block_q4_1, qs);
    const size_t qh = type == CK_Q5_0 ? offsetof(block_q5_0, qh) : offsetof(block_q5_1, qh);
    if (nb <= 0) return;
    /* On the stack (a row of n weights: 8·n/32 + 32·n/32 bytes at most), not the heap: this runs
     * once per matrix per token. */
    float ysc[2 * nb];  /* per block the token's d, then s (q8_1) */
    __m256i c[affine ? 1 : nb];
    for (int b = 0; b < nb; b++) {
        const uint8_t *xb = x + xbs * (size_t)b;
        ysc[2 * b] = h16(xb);
        ysc[2 * b + 1] = affine ? h16(xb + offsetof(block_q8_1, s)) : 0.0f;
        if (!affine)
            c[b] = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), _mm256_loadu_si256((const __m256i *)(xb + xq))),
                                     _mm256_set1_epi16(-16));
    }
    for (int r = r0; r < r1; r++) {
        const uint8_t *wr = w + ws * (size_t)r;
        __m256 acc = _mm256_setzero_ps();
        float mins = 0;
        for (int b = 0; b < nb; b++) {
            const uint8_t *p = wr + (size_t)bs * (size_t)b;
            _mm_prefetch((const char *)p + CK_AHEAD, _MM_HINT_T0);
            const __m256i y = _mm256_loadu_si256((const __m256i *)(x + xbs * (size_t)b + xq));
            __m256i q = nibbles(p + qs);
            if (type != CK_Q4_1) {
#if CK_TILE_VNNI
                uint32_t h;
                memcpy(&h, p + qh, 4);
                q = _mm256_mask_add_epi8(q, _cvtu32_mask32(h), q, _mm256_set1_epi8(16));
#else
                q = _mm256_or_si256(q, fifth_bits(p + qh));
#endif
            }
            __m256i lanes;
#if CK_TILE_VNNI
            lanes = _mm256_dpbusd_epi32(affine ? _mm256_setzero_si256() : c[b], q, y);
#else
            lanes = ck_dot4(q, y);
            if (!affine) lanes = _mm256_add_epi32(lanes, c[b]);
#endif
            acc = _mm256_fmadd_ps(_mm256_set1_ps(h16(p) * ysc[2 * b]), _mm256_cvtepi32_ps(lanes), acc);
            if (affine) mins += h16(p + mo) * ysc[2 * b + 1];
        }
        out[r - r0] = hsum8(acc) + mins;
    }
}

/* Rows r0..r1 of a Q5_0, Q4_1 or Q5_1 matrix against one token (out[r − r0]). */
CK_TILE_TARGET static void one_token(const int type, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, float *out, int n) {
    switch (type) {
    case CK_Q5_0: one_token_t(CK_Q5_0, w, ws, r0, r1, x, out, n); return;
    case CK_Q4_1: one_token_t(CK_Q4_1, w, ws, r0, r1, x, out, n); return;
    default: one_token_t(CK_Q5_1, w, ws, r0, r1, x, out, n); return;
    }
}

/* The native engine's one-token K-quant products against llama.cpp's own, linked from an
 * AVX2-only build of libggml-cpu (scripts/check/check-kquant-orders.sh builds and runs this).
 * The engine takes llama.cpp's float steps for each K type (x86/avx2.c, row_dot_k), so on the
 * same weights and the same q8_K activations the results must be equal, bit for bit: this is
 * the decode path (a token alone), which the logit agreement tests (prefill) do not reach.
 * Q4_K, which llama.cpp repacks eight rows at a time at load, against its repacked one-token
 * product (ggml_gemv_q4_K_8x8_q8_K), on eight rows laid out as its block_q4_Kx8 (written here
 * from the layout: the eight d, the eight dmin, per sub-block twelve bytes of the eight rows'
 * 6-bit scales and minimums, the quants interleaved eight bytes at a time). Also checked: the
 * q8_K activation rounding (quantize_row_q8_K) byte for byte.
 * Exits 1 on the first type with a difference, printing it. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "CKernels.h"
#include "blocks.h"

/* llama.cpp's symbols (libggml-cpu; ggml_cpu_init fills its tables). */
void ggml_cpu_init(void);
void quantize_row_q8_K(const float *x, void *y, int64_t k);
void quantize_row_q8_0(const float *x, void *y, int64_t k);
void quantize_row_q8_1(const float *x, void *y, int64_t k);
typedef void (*vec_dot_fn)(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
void ggml_vec_dot_q8_0_q8_0(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q5_0_q8_0(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q4_1_q8_1(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q5_1_q8_1(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q2_K_q8_K(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q3_K_q8_K(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q5_K_q8_K(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q6_K_q8_K(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_gemv_q4_K_8x8_q8_K(int n, float *s, size_t bs, const void *vx, const void *vy, int nr, int nc);

/* The 6-bit scale and minimum of sub-block g (0…7) of a q4_K block's 12 scale bytes. */
static void k4(const uint8_t *q, int g, uint8_t *sc, uint8_t *m) {
    if (g < 4) { *sc = q[g] & 63; *m = q[g + 4] & 63; }
    else { *sc = (q[g + 4] & 15) | ((q[g - 4] >> 6) << 4); *m = (q[g + 4] >> 4) | ((q[g] >> 6) << 4); }
}

/* Eight q4_K rows of nb super-blocks as llama.cpp's block_q4_Kx8 (2·8·2 + 96 + 1024 bytes a
 * super-block column). */
static void interleave_q4_K(const uint8_t *rows, size_t row_bytes, int nb, uint8_t *out) {
    const size_t col = 32 + 96 + 1024;
    for (int b = 0; b < nb; b++) {
        uint8_t *o = out + col * (size_t)b;
        for (int r = 0; r < 8; r++) {
            const uint8_t *blk = rows + row_bytes * (size_t)r + sizeof(block_q4_K) * (size_t)b;
            memcpy(o + 2 * r, blk + offsetof(block_q4_K, d), 2);
            memcpy(o + 16 + 2 * r, blk + offsetof(block_q4_K, dmin), 2);
            for (int c = 0; c < 16; c++) memcpy(o + 128 + 64 * c + 8 * r, blk + offsetof(block_q4_K, qs) + 8 * c, 8);
        }
        for (int g = 0; g < 8; g++) {
            uint8_t s[8], m[8], *d = o + 32 + 12 * g;
            for (int r = 0; r < 8; r++)
                k4(rows + row_bytes * (size_t)r + sizeof(block_q4_K) * (size_t)b + offsetof(block_q4_K, scales), g, &s[r], &m[r]);
            for (int j = 0; j < 4; j++) {
                d[j] = (uint8_t)(s[j] | (s[j + 4] & 48) << 2);
                d[j + 4] = (uint8_t)(m[j] | (m[j + 4] & 48) << 2);
                d[j + 8] = (uint8_t)((s[j + 4] & 15) | (m[j + 4] & 15) << 4);
            }
        }
    }
}

static uint64_t state = 0x9e3779b97f4a7c15u;
static uint32_t next(void) {
    state ^= state << 13; state ^= state >> 7; state ^= state << 17;
    return (uint32_t)(state >> 16);
}

/* A super-block of random bits with finite f16 scales (d at d_off, dmin at m_off if ≥ 0). */
static void fill(uint8_t *b, size_t bytes, size_t d_off, long m_off) {
    for (size_t i = 0; i < bytes; i++) b[i] = (uint8_t)next();
    uint16_t h = ck_f32_to_f16_one((float)(next() % 2000 + 1) * 1e-5f * (next() % 2 ? 1 : -1));
    memcpy(b + d_off, &h, 2);
    if (m_off >= 0) {
        h = ck_f32_to_f16_one((float)(next() % 2000 + 1) * 1e-5f);
        memcpy(b + m_off, &h, 2);
    }
}

int main(void) {
    ggml_cpu_init();
    const struct { const char *name; int type; size_t bytes, d_off; long m_off; vec_dot_fn dot; } types[] = {
        {"q2_K", CK_Q2_K, sizeof(block_q2_K), offsetof(block_q2_K, d), (long)offsetof(block_q2_K, dmin), ggml_vec_dot_q2_K_q8_K},
        {"q3_K", CK_Q3_K, sizeof(block_q3_K), offsetof(block_q3_K, d), -1, ggml_vec_dot_q3_K_q8_K},
        {"q5_K", CK_Q5_K, sizeof(block_q5_K), offsetof(block_q5_K, d), (long)offsetof(block_q5_K, dmin), ggml_vec_dot_q5_K_q8_K},
        {"q6_K", CK_Q6_K, sizeof(block_q6_K), offsetof(block_q6_K, d), -1, ggml_vec_dot_q6_K_q8_K},
    };
    const int levels[] = {CK_LEVEL_AVX2, CK_LEVEL_AVX512};
    enum { N = 1536, NB = N / CK_QK_K, TRIALS = 3000 };
    static float x[N];
    static uint8_t w[NB * 256], ours[NB * 292], theirs[NB * 292], rows8[8 * NB * 144], packed8[NB * 1152];
    const size_t act_bytes = ck_act_row_bytes(CK_ACT_Q8_K, N);
    long checks = 0;
    for (int trial = 0; trial < TRIALS; trial++) {
        /* activations of mixed scale, some blocks with a large outlier */
        for (int i = 0; i < N; i++) x[i] = ((float)(next() % 20001) - 10000.0f) * 1e-4f * (next() % 64 == 0 ? 30.0f : 1.0f);
        quantize_row_q8_K(x, theirs, N);
        ck_quantize_act(CK_LEVEL_SCALAR, CK_ACT_Q8_K, x, ours, N);
        if (memcmp(ours, theirs, act_bytes) != 0) { printf("ggml-orders: q8_K activation rounding differs (trial %d)\n", trial); return 1; }
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
            for (int b = 0; b < NB; b++) fill(w + types[t].bytes * (size_t)b, types[t].bytes, types[t].d_off, types[t].m_off);
            float expected = 0;
            types[t].dot(N, &expected, 0, w, 0, theirs, 0, 1);
            for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
                if (!ck_level_supported(levels[l])) continue;
                float got = 0;
                ck_matmul(levels[l], types[t].type, 0, w, types[t].bytes * NB, 0, 1, theirs, act_bytes, 1, &got, 1, N);
                checks++;
                if (memcmp(&got, &expected, sizeof got) != 0) {
                    printf("ggml-orders: %s at level %d differs from llama.cpp: %.9g against %.9g (trial %d)\n", types[t].name, levels[l], got, expected, trial);
                    return 1;
                }
            }
        }
        const size_t rb = sizeof(block_q4_K) * NB;
        for (int r = 0; r < 8; r++)
            for (int b = 0; b < NB; b++) fill(rows8 + rb * (size_t)r + sizeof(block_q4_K) * (size_t)b, sizeof(block_q4_K), offsetof(block_q4_K, d), (long)offsetof(block_q4_K, dmin));
        interleave_q4_K(rows8, rb, NB, packed8);
        float expected[8], got[8];
        ggml_gemv_q4_K_8x8_q8_K(N, expected, 8, packed8, theirs, 1, 8);
        for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
            if (!ck_level_supported(levels[l])) continue;
            ck_matmul(levels[l], CK_Q4_K, 0, rows8, rb, 0, 8, theirs, act_bytes, 1, got, 8, N);
            checks += 8;
            for (int r = 0; r < 8; r++)
                if (memcmp(&got[r], &expected[r], sizeof got[r]) != 0) {
                    printf("ggml-orders: q4_K (repacked) row %d at level %d differs from llama.cpp: %.9g against %.9g (trial %d)\n", r, levels[l], got[r], expected[r], trial);
                    return 1;
                }
        }
    }
    /* The 32-element types the engine runs row by row at decode (Q8_0, Q5_0, Q4_1, Q5_1; Q4_0 and
     * IQ4_NL decode packed) against llama.cpp's dot products, on 896-wide rows (Qwen2.5-0.5B's),
     * five rows a call so that a group of four and a row alone both run; their activations
     * quantized by llama.cpp (and checked against the engine's rounding). */
    const struct { const char *name; int type, act; size_t bytes; long m_off; vec_dot_fn dot; } legacy[] = {
        {"q8_0", CK_Q8_0, CK_ACT_Q8_0, sizeof(block_q8_0), -1, ggml_vec_dot_q8_0_q8_0},
        {"q5_0", CK_Q5_0, CK_ACT_Q8_0, sizeof(block_q5_0), -1, ggml_vec_dot_q5_0_q8_0},
        {"q4_1", CK_Q4_1, CK_ACT_Q8_1, sizeof(block_q4_1), (long)offsetof(block_q4_1, m), ggml_vec_dot_q4_1_q8_1},
        {"q5_1", CK_Q5_1, CK_ACT_Q8_1, sizeof(block_q5_1), (long)offsetof(block_q5_1, m), ggml_vec_dot_q5_1_q8_1},
    };
    enum { L = 896, LB = L / CK_QK, ROWS = 5, LTRIALS = 2000 };
    static float lx[L];
    static uint8_t lw[ROWS * LB * 34], lours[LB * 36], ltheirs[LB * 36];
    long lchecks = 0;
    for (int trial = 0; trial < LTRIALS; trial++) {
        for (int i = 0; i < L; i++) lx[i] = ((float)(next() % 20001) - 10000.0f) * 1e-4f * (next() % 64 == 0 ? 30.0f : 1.0f);
        for (size_t t = 0; t < sizeof legacy / sizeof legacy[0]; t++) {
            const size_t ab = ck_act_row_bytes(legacy[t].act, L), rb = legacy[t].bytes * LB;
            if (legacy[t].act == CK_ACT_Q8_0) quantize_row_q8_0(lx, ltheirs, L);
            else quantize_row_q8_1(lx, ltheirs, L);
            ck_quantize_act(CK_LEVEL_SCALAR, legacy[t].act, lx, lours, L);
            if (memcmp(lours, ltheirs, ab) != 0) { printf("ggml-orders: %s activation rounding differs (trial %d)\n", legacy[t].name, trial); return 1; }
            for (int b = 0; b < ROWS * LB; b++) fill(lw + legacy[t].bytes * (size_t)b, legacy[t].bytes, 0, legacy[t].m_off);
            float expected[ROWS], got[ROWS];
            for (int r = 0; r < ROWS; r++) legacy[t].dot(L, &expected[r], 0, lw + rb * (size_t)r, 0, ltheirs, 0, 1);
            for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
                if (!ck_level_supported(levels[l])) continue;
                ck_matmul(levels[l], legacy[t].type, 0, lw, rb, 0, ROWS, ltheirs, ab, 1, got, ROWS, L);
                for (int r = 0; r < ROWS; r++) {
                    lchecks++;
                    if (memcmp(&got[r], &expected[r], sizeof got[r]) != 0) {
                        printf("ggml-orders: %s row %d at level %d differs from llama.cpp: %.9g against %.9g (trial %d)\n", legacy[t].name, r, levels[l], got[r], expected[r], trial);
                        return 1;
                    }
                }
            }
        }
    }
    printf("ggml-orders: %ld one-token products of q8_0, q5_0, q4_1 and q5_1 rows equal llama.cpp's bit for bit; q8_0 and q8_1 rounding equal\n", lchecks);
    printf("ggml-orders: %ld one-token K-quant products (q2_K, q3_K, q4_K repacked, q5_K, q6_K; AVX2%s) equal llama.cpp's bit for bit; q8_K rounding equal\n",
           checks, ck_level_supported(CK_LEVEL_AVX512) ? " and AVX-512" : "");
    return 0;
}

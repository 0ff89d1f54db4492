/* Gemma's GeGLU, out = GELU(gate) · up, as llama.cpp's CPU build computes it (ggml_vec_geglu_f32
 * under GGML_GELU_FP16): the gate rounded to f16, GELU (tanh form, in float) looked up for that
 * f16 value in a table rounded to f16, and exact limits outside ±10 (0 below, the identity
 * above). The table is filled once per process; each row is converted to f16 in chunks by
 * ck_f32_to_f16 (F16C or NEON at those levels; round to nearest even at every level), so the
 * per-element work is one compare, one load and one multiply.
 *
 * The Swift engine keeps the element-by-element reference (Transformer.geglu); EngineTests
 * compares the two bit for bit at every level. Its own file, not scalar.c: it has no ISA bodies,
 * only the table. */
#include "CKernels.h"
#include <math.h>
#include <pthread.h>

/* The formula in float with one fused multiply-add, 1 + (0.044715·x)·x, where GCC fuses
 * llama.cpp's expression when it builds for a CPU with FMA (checked on every finite f16 input
 * against GCC 12 at -O3 -march=native); no other contraction (as the Swift reference). */
#pragma STDC FP_CONTRACT OFF

static float gelu_table[1 << 16];
static pthread_once_t gelu_once = PTHREAD_ONCE_INIT;

static void gelu_fill(void) {
    for (int i = 0; i < (1 << 16); i++) {
        const float x = ck_f16_to_f32((uint16_t)i);
        const float inner = fmaf(0.044715f * x, x, 1.0f);
        const float g = 0.5f * x * (1.0f + tanhf(0.79788456080286535587989211986876f * x * inner));
        gelu_table[i] = ck_f16_to_f32(ck_f32_to_f16_one(g));
    }
}

void ck_geglu(int level, const float *gate, const float *up, float *out, int n) {
    pthread_once(&gelu_once, gelu_fill);
    enum { CHUNK = 256 };
    uint16_t h[CHUNK];
    for (int i0 = 0; i0 < n; i0 += CHUNK) {
        const int m = n - i0 < CHUNK ? n - i0 : CHUNK;
        ck_f32_to_f16(level, gate + i0, h, m);
        for (int i = 0; i < m; i++) {
            const float x = gate[i0 + i], u = up[i0 + i];
            out[i0 + i] = x <= -10.0f ? 0.0f : x >= 10.0f ? x * u : gelu_table[h[i]] * u;
        }
    }
}

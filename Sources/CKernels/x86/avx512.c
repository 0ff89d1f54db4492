/* The x86-64 AVX-512 level: AVX2 with FMA and F16C plus AVX-512 F, BW, VL and VNNI (Zen 4; Intel
 * from Ice Lake and Sapphire Rapids on). VNNI's vpdpbusd multiplies 32 unsigned by 32 signed
 * bytes and adds each four into an int32 lane, which AVX2 does in two instructions (maddubs,
 * then madd against ones). The 8-bit tiles are q8_tiles.h's, built here with vpdpbusd: the
 * multi-token Q8_0, Q5_0 and IQ4_NL tiles (prefill) and packed Q4_0 and IQ4_NL (prefill and decode). Their
 * integer sums are exact on both levels and their float steps the same, so the results equal
 * the AVX2 level's bit for bit. Every other kernel is the AVX2 level's (avx2.c).
 *
 * The vectors stay 256 bits wide: on Zen 4 a 512-bit operation takes the two 256-bit halves of
 * the datapath, so the width buys no throughput there, and 256-bit lanes keep the AVX2 level's
 * float order. Compiled to nothing on other ISAs. */
#include "../internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "x86.h"

#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

int ck_avx512_supported(void) {
    __builtin_cpu_init();
    return ck_avx2_supported() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

/* The rows a group of four leaves over: the AVX2 level's row-by-row body. */
static void avx512_tail_rows(int type, const uint8_t *w, size_t ws, int r0, int r1, const uint8_t *x, size_t xs, int ntok,
                             float *out, size_t os, int n) {
    ck_avx2_matmul(type, 0, w, ws, r0, r1, x, xs, ntok, out, os, n);
}

#define CK_TILE_TARGET VNNI
#define CK_TILE_VNNI 1
#define CK_TILE_TAIL avx512_tail_rows
#include "q8_tiles.h"

void ck_avx512_matmul(int type, int block_order, const uint8_t *W, size_t w_stride, int r0, int r1, const uint8_t *X,
                      size_t x_stride, int ntok, float *out, size_t out_stride, int n) {
    if (type == CK_Q6_K) { rows_q6_K(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return; }
    if (ntok >= 2 && !block_order) {
        switch (type) {
        case CK_Q8_0: rows4_q8_0(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
        case CK_Q5_0: rows4_q5_0(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
        case CK_IQ4_NL: rows4_iq4_nl(W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n); return;
        }
    }
    ck_avx2_matmul(type, block_order, W, w_stride, r0, r1, X, x_stride, ntok, out, out_stride, n);
}

void ck_avx512_packed(int type, const uint8_t *packed, int r0, int r1, const uint8_t *x, size_t xs, int ntok, float *out,
                      size_t os, int n) {
    if (type == CK_IQ4_NL) packed_iq4_nl(packed, r0, r1, x, xs, ntok, out, os, n);
    else packed_q4_0(packed, r0, r1, x, xs, ntok, out, os, n);
}

#endif

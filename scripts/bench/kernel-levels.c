/* The x86 kernel levels side by side: each matrix kernel that the AVX-512 level builds its own
 * way (q8_tiles.h with VNNI), timed against the AVX2 level on the same data in one run, the two
 * interleaved and their order alternating. Prints per kernel both best times, the ratio of the
 * bests (avx512 ÷ avx2) and the ratio of the means, and checks that the two outputs are equal.
 * A benchmark, not a test (scripts/bench/kernel-levels.sh builds and runs it).
 *
 * usage: kernel-levels [REPS=20] */
#include "../../Sources/CKernels/internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static unsigned state = 12345;
static uint8_t byte(void) { state = state * 1103515245u + 12345u; return (uint8_t)(state >> 16); }

typedef struct { const char *name; int type, rows, n, ntok, packed; } bench;

int main(int argc, char **argv) {
    const int reps = argc > 1 ? atoi(argv[1]) : 20;
    if (!ck_level_supported(CK_LEVEL_AVX512)) {
        printf("kernel-levels: this CPU has no AVX-512 VNNI level (AVX-512 F, BW, VL and VNNI); nothing to compare\n");
        return 0;
    }
    static const bench benches[] = {
        {"q8_0 prefill 1024x1024, 64 tokens", CK_Q8_0, 1024, 1024, 64, 0},
        {"q8_0 prefill 3072x1024, 256 tokens", CK_Q8_0, 3072, 1024, 256, 0},
        {"q5_0 prefill 1024x1024, 64 tokens", CK_Q5_0, 1024, 1024, 64, 0},
        {"iq4_nl prefill 1024x1024, 64 tokens", CK_IQ4_NL, 1024, 1024, 64, 0},
        {"q4_0 packed prefill 3072x1024, 64 tokens", CK_Q4_0, 3072, 1024, 64, 1},
        {"q4_0 packed decode 16384x2048, 1 token", CK_Q4_0, 16384, 2048, 1, 1},
        {"iq4_nl packed prefill 3072x1024, 64 tokens", CK_IQ4_NL, 3072, 1024, 64, 1},
        {"iq4_nl packed decode 16384x2048, 1 token", CK_IQ4_NL, 16384, 2048, 1, 1},
    };
    printf("%-42s %12s %12s %10s %10s\n", "kernel", "avx2 best", "avx512 best", "best ÷", "mean ÷");
    for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++) {
        const bench b = benches[i];
        const int nb = b.n / CK_QK, bs = ck_block_bytes(b.type);
        const size_t ws = (size_t)nb * (size_t)bs, xs = (size_t)nb * Q8_0_BYTES;
        uint8_t *w = malloc(ws * (size_t)b.rows), *x = malloc(xs * (size_t)b.ntok);
        for (size_t k = 0; k < ws * (size_t)b.rows; k++) w[k] = byte();
        for (size_t r = 0; r < (size_t)b.rows * (size_t)nb; r++) { /* finite f16 scales */
            const uint16_t h = (uint16_t)(0x2c00 + (r % 64));
            memcpy(w + r * (size_t)bs, &h, 2);
        }
        float *xf = malloc(sizeof(float) * (size_t)b.n);
        for (int t = 0; t < b.ntok; t++) {
            for (int k = 0; k < b.n; k++) xf[k] = (float)((k * 7919 + t * 31) % 200 - 100) / 50.0f;
            ck_quantize_act(CK_LEVEL_SCALAR, CK_ACT_Q8_0, xf, x + xs * (size_t)t, b.n);
        }
        uint8_t *packed = NULL;
        if (b.packed) {
            packed = malloc(ck_q4_0_packed_bytes(b.rows, b.n));
            ck_q4_0_pack(w, ws, b.rows, b.n, packed);
        }
        float *out[2] = {malloc(sizeof(float) * (size_t)b.rows * (size_t)b.ntok), malloc(sizeof(float) * (size_t)b.rows * (size_t)b.ntok)};
        const int levels[2] = {CK_LEVEL_AVX2, CK_LEVEL_AVX512};
        double best[2] = {INFINITY, INFINITY}, total[2] = {0, 0};
        for (int r = 0; r < reps; r++)
            for (int k = 0; k < 2; k++) {
                const int v = r % 2 ? 1 - k : k;
                const double t0 = now();
                if (packed) ck_matmul_packed(levels[v], b.type, packed, 0, b.rows, x, xs, b.ntok, out[v], (size_t)b.rows, b.n);
                else ck_matmul(levels[v], b.type, 0, w, ws, 0, b.rows, x, xs, b.ntok, out[v], (size_t)b.rows, b.n);
                const double dt = now() - t0;
                if (dt < best[v]) best[v] = dt;
                total[v] += dt;
            }
        const int equal = memcmp(out[0], out[1], sizeof(float) * (size_t)b.rows * (size_t)b.ntok) == 0;
        printf("%-42s %9.3f ms %9.3f ms %10.3f %10.3f%s\n", b.name, best[0] * 1e3, best[1] * 1e3, best[1] / best[0], total[1] / total[0],
               equal ? "" : "  OUTPUTS DIFFER");
        free(w); free(x); free(xf); free(packed); free(out[0]); free(out[1]);
    }
    return 0;
}

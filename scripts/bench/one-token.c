/* One kernel call timed: rows × n weights of one type against one token (decode), at one
 * kernel level, best of REPS calls; prints milliseconds, the weight bytes streamed per second and
 * a checksum of the outputs (equal across builds that give the same bits). Built twice by
 * scripts/bench/one-token.sh, with and without CK_NO_ONE_TOKEN, to time q8_tiles.h's one-token
 * bodies against row_dot on the same data. A benchmark, not a test.
 *
 * usage: one-token TYPE ROWS N REPS LEVEL   (TYPE and LEVEL as CKernels.h numbers them) */
#include "internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static unsigned state = 1;
static uint8_t byte(void) { state = state * 1103515245u + 12345u; return (uint8_t)(state >> 16); }

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: one-token TYPE ROWS N REPS LEVEL\n"); return 2; }
    const int type = atoi(argv[1]), rows = atoi(argv[2]), n = atoi(argv[3]), reps = atoi(argv[4]), level = atoi(argv[5]);
    if (!ck_level_supported(level)) { printf("level %d not supported here\n", level); return 3; }
    const int nb = n / 32, bs = ck_block_bytes(type), act = type == CK_Q4_1 || type == CK_Q5_1 ? CK_ACT_Q8_1 : CK_ACT_Q8_0;
    const size_t ws = (size_t)nb * (size_t)bs, xs = ck_act_row_bytes(act, n);
    uint8_t *w = malloc(ws * (size_t)rows), *x = malloc(xs);
    float *xf = malloc(sizeof(float) * (size_t)n), *out = malloc(sizeof(float) * (size_t)rows);
    for (size_t k = 0; k < ws * (size_t)rows; k++) w[k] = byte();
    for (size_t r = 0; r < (size_t)rows * (size_t)nb; r++) { /* finite f16 scales (and minimums) */
        const uint16_t h = (uint16_t)(0x2c00 + r % 64);
        memcpy(w + r * (size_t)bs, &h, 2);
        if (act == CK_ACT_Q8_1) memcpy(w + r * (size_t)bs + 2, &h, 2);
    }
    for (int k = 0; k < n; k++) xf[k] = cosf((float)k * 0.7f);
    ck_quantize_act(CK_LEVEL_SCALAR, act, xf, x, n);
    double best = INFINITY;
    for (int r = 0; r < reps; r++) {
        const double t0 = now();
        ck_matmul(level, type, 0, w, ws, 0, rows, x, xs, 1, out, (size_t)rows, n);
        const double dt = now() - t0;
        if (dt < best) best = dt;
    }
    double sum = 0;
    for (int r = 0; r < rows; r++) sum += out[r];
    printf("%.3f ms %.2f GB/s checksum %.9g\n", best * 1e3, (double)ws * rows / best / 1e9, sum);
    free(w); free(x); free(xf); free(out);
    return 0;
}

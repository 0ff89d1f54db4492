/* The x86 kernel levels side by side: each matrix kernel that the AVX-512 level builds its own
 * way (q8_tiles.h with VNNI), timed against the AVX2 level on the same data in one run, the two
 * interleaved and their order alternating; first, the f32/f16 prefill tiles against the one-row
 * body they replaced (their outputs differ by reassociation: the largest relative difference is
 * printed). Prints per kernel both best times, the ratio of the
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

/* Prints one line: two bodies on the same data, interleaved with their order alternating. */
typedef void (*body_fn)(int which, const void *ctx, float *out);
static void compare(const char *name, int reps, body_fn run, const void *ctx, size_t outputs, int want_equal) {
    float *out[2] = {malloc(sizeof(float) * outputs), malloc(sizeof(float) * outputs)};
    double best[2] = {INFINITY, INFINITY}, total[2] = {0, 0};
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < 2; k++) {
            const int v = r % 2 ? 1 - k : k;
            const double t0 = now();
            run(v, ctx, out[v]);
            const double dt = now() - t0;
            if (dt < best[v]) best[v] = dt;
            total[v] += dt;
        }
    double worst = 0;
    for (size_t i = 0; i < outputs; i++) {
        const double d = fabs((double)out[0][i] - (double)out[1][i]) / (fabs((double)out[0][i]) + 1e-30);
        if (d > worst) worst = d;
    }
    printf("%-42s %9.3f ms %9.3f ms %10.3f %10.3f", name, best[0] * 1e3, best[1] * 1e3, best[1] / best[0], total[1] / total[0]);
    if (want_equal) printf("%s\n", worst == 0 ? "" : "  OUTPUTS DIFFER");
    else printf("  (largest relative difference %.1e)\n", worst);
    free(out[0]); free(out[1]);
}

/* The f32/f16 register tiles (ck_matmul, two or more tokens) against the one-row body. */
typedef struct { int f16, rows, n, ntok; const uint8_t *w; const float *x; } float_case;
static void run_float(int which, const void *ctx, float *out) {
    const float_case *c = ctx;
    const size_t ws = (size_t)c->n * (c->f16 ? 2 : 4), xs = (size_t)c->n * 4;
    if (which == 0) ck_avx2_float_rows(c->f16, c->w, ws, 0, c->rows, (const uint8_t *)c->x, xs, c->ntok, out, (size_t)c->rows, c->n);
    else ck_matmul(CK_LEVEL_AVX2, c->f16 ? CK_F16 : CK_F32, 0, c->w, ws, 0, c->rows, c->x, xs, c->ntok, out, (size_t)c->rows, c->n);
}

static void float_tiles(int reps) {
    static const float_case cases[] = {
        {1, 1536, 576, 64, NULL, NULL}, {1, 576, 1536, 64, NULL, NULL}, {1, 576, 576, 512, NULL, NULL}, {0, 1536, 576, 64, NULL, NULL},
    };
    printf("%-42s %12s %12s %10s %10s\n", "f32/f16 prefill (avx2)", "one-row", "tiles", "best ÷", "mean ÷");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float_case c = cases[i];
        const size_t ws = (size_t)c.n * (c.f16 ? 2 : 4);
        uint8_t *w = malloc(ws * (size_t)c.rows);
        float *x = malloc(sizeof(float) * (size_t)c.n * (size_t)c.ntok);
        for (size_t k = 0; k < (size_t)c.rows * (size_t)c.n; k++) {
            const float v = sinf((float)byte() + 0.37f * (float)k); /* not dyadic: sums that round, so orders differ */
            if (c.f16) { const uint16_t h = ck_f32_to_f16_one(v); memcpy(w + 2 * k, &h, 2); }
            else memcpy(w + 4 * k, &v, 4);
        }
        for (size_t k = 0; k < (size_t)c.n * (size_t)c.ntok; k++) x[k] = cosf((float)byte() * 1.7f + (float)k);
        c.w = w;
        c.x = x;
        char name[64];
        snprintf(name, sizeof name, "%s %dx%d, %d tokens", c.f16 ? "f16" : "f32", c.rows, c.n, c.ntok);
        compare(name, reps, run_float, &c, (size_t)c.rows * (size_t)c.ntok, 0);
        free(w); free(x);
    }
}

/* Lab decode (one token, AVX2 level): the lab kernel on the file's rows against the layouts the
 * engine runs at load (6 bits split, 4 bits symmetric packed as Q4_0), and those against the
 * legacy type of the same or next bits (Q8_0 rows, the engine's one-token Q8_0 kernel). */
enum { LAB_ROWS, LAB_SPLIT, LAB_PACKED, Q8_0_ROWS, LAB_SPLIT_AVX512 };
typedef struct { int bits, rows, n, side[2]; const uint8_t *lab, *split, *packed, *q8, *x8; } lab_case;
static void run_lab(int which, const void *ctx, float *out) {
    const lab_case *c = ctx;
    const ck_lab l = ck_lab_layout(c->bits, 32, 0, c->n);
    const size_t ws = l.block * (size_t)(c->n / 32), xs = (size_t)(c->n / 32) * Q8_0_BYTES;
    switch (c->side[which]) {
    case LAB_ROWS: ck_matmul_lab(CK_LEVEL_AVX2, c->bits, 32, 0, c->lab, ws, 0, c->rows, c->x8, xs, 1, out, (size_t)c->rows, c->n); break;
    case LAB_SPLIT: ck_matmul_lab_split(CK_LEVEL_AVX2, c->bits, 32, 0, c->split, ws, 0, c->rows, c->x8, xs, 1, out, (size_t)c->rows, c->n); break;
    case LAB_SPLIT_AVX512:
        ck_matmul_lab_split(CK_LEVEL_AVX512, c->bits, 32, 0, c->split, ws, 0, c->rows, c->x8, xs, 1, out, (size_t)c->rows, c->n);
        break;
    case LAB_PACKED: ck_matmul_packed(CK_LEVEL_AVX2, CK_Q4_0, c->packed, 0, c->rows, c->x8, xs, 1, out, (size_t)c->rows, c->n); break;
    default: ck_matmul(CK_LEVEL_AVX2, CK_Q8_0, 0, c->q8, xs, 0, c->rows, c->x8, xs, 1, out, (size_t)c->rows, c->n); break;
    }
}

static void lab_decode(int reps) {
    const int rows = 16384, n = 2048, nb = n / 32;
    static const struct { const char *name; int bits, a, b; } cases[] = {
        {"lab6g32s rows -> split", 6, LAB_ROWS, LAB_SPLIT},
        {"q8_0 rows -> lab6g32s split", 6, Q8_0_ROWS, LAB_SPLIT},
        {"lab4g32s rows -> packed as q4_0", 4, LAB_ROWS, LAB_PACKED},
        /* The AVX-512 level's own split body (VNNI), against AVX2's and against Q8_0 rows. */
        {"lab6g32s split avx2 -> avx512", 6, LAB_SPLIT, LAB_SPLIT_AVX512},
        {"q8_0 rows -> lab6g32s split avx512", 6, Q8_0_ROWS, LAB_SPLIT_AVX512},
    };
    printf("%-42s %12s %12s %10s %10s\n", "lab decode 16384x2048, 1 token (avx2)", "first", "second", "best ÷", "mean ÷");
    uint8_t *x8 = malloc((size_t)nb * Q8_0_BYTES), *q8 = malloc((size_t)rows * (size_t)nb * Q8_0_BYTES);
    float *xf = malloc(sizeof(float) * (size_t)n);
    for (int k = 0; k < n; k++) xf[k] = cosf((float)k * 0.731f);
    ck_quantize_act(CK_LEVEL_SCALAR, CK_ACT_Q8_0, xf, x8, n);
    for (size_t k = 0; k < (size_t)rows * (size_t)nb * Q8_0_BYTES; k++) q8[k] = byte();
    for (size_t r = 0; r < (size_t)rows * (size_t)nb; r++) { const uint16_t h = (uint16_t)(0x2c00 + (r % 64)); memcpy(q8 + r * Q8_0_BYTES, &h, 2); }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].b == LAB_SPLIT_AVX512 && !ck_level_supported(CK_LEVEL_AVX512)) continue;
        const ck_lab l = ck_lab_layout(cases[i].bits, 32, 0, n);
        const size_t ws = l.block * (size_t)nb;
        uint8_t *lab = malloc(ws * (size_t)rows), *split = malloc(ws * (size_t)rows), *packed = malloc(ck_q4_0_packed_bytes(rows, n));
        for (size_t k = 0; k < ws * (size_t)rows; k++) lab[k] = byte();
        for (size_t r = 0; r < (size_t)rows * (size_t)nb; r++) { const uint16_t h = (uint16_t)(0x2c00 + (r % 64)); memcpy(lab + r * l.block, &h, 2); }
        ck_lab_split(cases[i].bits, 32, 0, lab, ws, rows, n, split);
        ck_lab_pack_q4_0(cases[i].bits, 32, 0, lab, ws, rows, n, packed);
        const lab_case c = {cases[i].bits, rows, n, {cases[i].a, cases[i].b}, lab, split, packed, q8, x8};
        compare(cases[i].name, reps, run_lab, &c, (size_t)rows,
                (cases[i].b == LAB_SPLIT && cases[i].a == LAB_ROWS) || (cases[i].b == LAB_SPLIT_AVX512 && cases[i].a == LAB_SPLIT));
        free(lab); free(split); free(packed);
    }
    free(x8); free(q8); free(xf);
}

int main(int argc, char **argv) {
    const int reps = argc > 1 ? atoi(argv[1]) : 20;
    if (ck_level_supported(CK_LEVEL_AVX2)) {
        float_tiles(reps);
        lab_decode(reps);
    }
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
        {"q6_K prefill 576x1536, 64 tokens", CK_Q6_K, 576, 1536, 64, 0},
        {"q6_K prefill 3072x1024, 256 tokens", CK_Q6_K, 3072, 1024, 256, 0},
        {"q6_K decode 16384x2048, 1 token", CK_Q6_K, 16384, 2048, 1, 0},
    };
    printf("%-42s %12s %12s %10s %10s\n", "kernel", "avx2 best", "avx512 best", "best ÷", "mean ÷");
    for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++) {
        const bench b = benches[i];
        const int kq = ck_is_k(b.type), nb = b.n / (kq ? CK_QK_K : CK_QK), bs = ck_block_bytes(b.type);
        const int act = kq ? CK_ACT_Q8_K : CK_ACT_Q8_0;
        const size_t ws = (size_t)nb * (size_t)bs, xs = ck_act_row_bytes(act, b.n);
        /* Where a block keeps its f16 scale: first, but last in q6_K. */
        const size_t scale_at = b.type == CK_Q6_K ? offsetof(block_q6_K, d) : 0;
        uint8_t *w = malloc(ws * (size_t)b.rows), *x = malloc(xs * (size_t)b.ntok);
        for (size_t k = 0; k < ws * (size_t)b.rows; k++) w[k] = byte();
        for (size_t r = 0; r < (size_t)b.rows * (size_t)nb; r++) { /* finite f16 scales */
            const uint16_t h = (uint16_t)(0x2c00 + (r % 64));
            memcpy(w + r * (size_t)bs + scale_at, &h, 2);
        }
        float *xf = malloc(sizeof(float) * (size_t)b.n);
        for (int t = 0; t < b.ntok; t++) {
            for (int k = 0; k < b.n; k++) xf[k] = (float)((k * 7919 + t * 31) % 200 - 100) / 50.0f;
            ck_quantize_act(CK_LEVEL_SCALAR, act, xf, x + xs * (size_t)t, b.n);
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

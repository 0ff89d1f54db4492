/* A STREAM-style reference for slmbench's bandwidth probe, written for this project.
 * Same kernels as the probe (read = sum of one f32 array, triad = a = b + s*c), plain C
 * loops vectorised by the compiler, OpenMP threads with static scheduling. Each trial
 * reports GB/s = bytes / wall time; after one warm-up, prints best and median.
 *
 * Build: gcc -O3 -march=native -fopenmp stream-ref.c -o stream-ref
 * Run:   OMP_NUM_THREADS=2 OMP_PROC_BIND=spread OMP_PLACES=cores ./stream-ref MiB trials passes
 * (passes: sweeps over the arrays per trial, as slmbench does: 1 GiB of traffic per trial)
 * Output (one line): threads=T read_best=X read_median=X triad_best=X triad_median=X  */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
    int trials = argc > 2 ? atoi(argv[2]) : 7;
    int passes = argc > 3 ? atoi(argv[3]) : 1;
    size_t n = mib * 1024 * 1024 / sizeof(float);
    float *a = aligned_alloc(4096, n * sizeof(float));
    float *b = aligned_alloc(4096, n * sizeof(float));
    float *c = aligned_alloc(4096, n * sizeof(float));
    if (!a || !b || !c || trials < 1 || passes < 1) { fprintf(stderr, "usage: stream-ref MiB trials passes\n"); return 64; }

#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) { a[i] = 1; b[i] = 2; c[i] = 0; }

    double *read = calloc((size_t)trials, sizeof(double)), *triad = calloc((size_t)trials, sizeof(double));
    double sink = 0;
    for (int t = -1; t < trials; t++) {
        float sum = 0;
        double t0 = omp_get_wtime();
        for (int p = 0; p < passes; p++) {
#pragma omp parallel for simd schedule(static) reduction(+ : sum)
            for (size_t i = 0; i < n; i++) sum += a[i];
        }
        double t1 = omp_get_wtime();
        for (int p = 0; p < passes; p++) {
#pragma omp parallel for simd schedule(static)
            for (size_t i = 0; i < n; i++) c[i] = a[i] + 3.0f * b[i];
        }
        double t2 = omp_get_wtime();
        sink += sum + c[n / 2];
        if (t >= 0) {
            read[t] = (double)n * 4 * passes / (t1 - t0) / 1e9;
            triad[t] = (double)n * 12 * passes / (t2 - t1) / 1e9;
        }
    }
    double rb = 0, tb = 0;
    for (int t = 0; t < trials; t++) { if (read[t] > rb) rb = read[t]; if (triad[t] > tb) tb = triad[t]; }
    printf("threads=%d read_best=%.2f read_median=%.2f triad_best=%.2f triad_median=%.2f sink=%g\n",
           omp_get_max_threads(), rb, median(read, trials), tb, median(triad, trials), sink);
    return 0;
}

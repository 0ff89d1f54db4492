/* Probe kernels. Scalar versions are the reference and the fallback; ISA versions use
 * explicit intrinsics so the result does not depend on the optimisation level SwiftPM
 * picks for C code. */
#include "CProbeKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <cpuid.h>
#include <string.h>
#define SLM_X86 1
#elif defined(__aarch64__)
#include <arm_neon.h>
#include <sys/auxv.h>
#define SLM_ARM64 1
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

int slm_isa_supported(int isa) {
    switch (isa) {
    case SLM_ISA_SCALAR: return 1;
#ifdef SLM_X86
    case SLM_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SLM_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#endif
#ifdef SLM_ARM64
    case SLM_ISA_NEON: return 1;
    case SLM_ISA_NEON_DOTPROD: return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
    default: return 0;
    }
}

const char *slm_isa_name(int isa) {
    switch (isa) {
    case SLM_ISA_SCALAR: return "scalar";
    case SLM_ISA_AVX2: return "avx2";
    case SLM_ISA_AVX512: return "avx512";
    case SLM_ISA_NEON: return "neon";
    case SLM_ISA_NEON_DOTPROD: return "neon-dotprod";
    default: return "unknown";
    }
}

int slm_hypervisor_vendor(char *out) {
    out[0] = 0;
#ifdef SLM_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 31))) return 0; /* hypervisor bit */
    __cpuid(0x40000000, a, b, c, d);
    memcpy(out, &b, 4); memcpy(out + 4, &c, 4); memcpy(out + 8, &d, 4);
    out[12] = 0;
    return out[0] != 0;
#else
    return 0;
#endif
}

/* ---------------------------------------------------------------- scalar reference */

static double read_scalar(const float *a, size_t n) {
    float s[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) s[k] += a[i + k];
    for (; i < n; i++) s[0] += a[i];
    double t = 0;
    for (int k = 0; k < 8; k++) t += s[k];
    return t;
}

static void triad_scalar(float *a, const float *b, const float *c, float s, size_t n) {
    for (size_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
}

static uint64_t fma_scalar(uint64_t iters, float *sink) {
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const float m = 0.999999f, c = 1e-6f;
    for (uint64_t i = 0; i < iters; i++)
        for (int k = 0; k < 8; k++) x[k] = x[k] * m + c;
    float t = 0;
    for (int k = 0; k < 8; k++) t += x[k];
    *sink = t;
    return iters * 8 * 2;
}

static uint64_t dot_i8_scalar(uint64_t iters, int32_t *sink) {
    int8_t a[16], b[16];
    for (int k = 0; k < 16; k++) { a[k] = (int8_t)(k - 8); b[k] = (int8_t)(3 * k - 20); }
    int32_t acc = 0;
    for (uint64_t i = 0; i < iters; i++) {
        for (int k = 0; k < 16; k++) acc += (int32_t)a[k] * (int32_t)b[k];
        b[i & 15] += 1;
    }
    *sink = acc;
    return iters * 16 * 2;
}

/* ---------------------------------------------------------------- x86-64 */
#ifdef SLM_X86
__attribute__((target("avx2")))
static double hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_hadd_ps(lo, lo);
    lo = _mm_hadd_ps(lo, lo);
    return (double)_mm_cvtss_f32(lo);
}

__attribute__((target("avx2")))
static double read_avx2(const float *a, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(a + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(a + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(a + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(a + i + 24));
        s4 = _mm256_add_ps(s4, _mm256_loadu_ps(a + i + 32));
        s5 = _mm256_add_ps(s5, _mm256_loadu_ps(a + i + 40));
        s6 = _mm256_add_ps(s6, _mm256_loadu_ps(a + i + 48));
        s7 = _mm256_add_ps(s7, _mm256_loadu_ps(a + i + 56));
    }
    s0 = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    s4 = _mm256_add_ps(_mm256_add_ps(s4, s5), _mm256_add_ps(s6, s7));
    return hsum256(_mm256_add_ps(s0, s4)) + read_scalar(a + i, n - i);
}

__attribute__((target("avx2,fma")))
static void triad_avx2(float *a, const float *b, const float *c, float s, size_t n) {
    const __m256 vs = _mm256_set1_ps(s);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(a + i, _mm256_fmadd_ps(vs, _mm256_loadu_ps(c + i), _mm256_loadu_ps(b + i)));
        _mm256_storeu_ps(a + i + 8,
                         _mm256_fmadd_ps(vs, _mm256_loadu_ps(c + i + 8), _mm256_loadu_ps(b + i + 8)));
    }
    triad_scalar(a + i, b + i, c + i, s, n - i);
}

/* Twelve independent accumulators cover FMA latency (4-5 cycles) on two ports. */
__attribute__((target("avx2,fma")))
static uint64_t fma_avx2(uint64_t iters, float *sink) {
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
    __m256 x[12];
    for (int k = 0; k < 12; k++) x[k] = _mm256_set1_ps((float)(k + 1));
    for (uint64_t i = 0; i < iters; i++) {
        x[0] = _mm256_fmadd_ps(x[0], m, c); x[1] = _mm256_fmadd_ps(x[1], m, c);
        x[2] = _mm256_fmadd_ps(x[2], m, c); x[3] = _mm256_fmadd_ps(x[3], m, c);
        x[4] = _mm256_fmadd_ps(x[4], m, c); x[5] = _mm256_fmadd_ps(x[5], m, c);
        x[6] = _mm256_fmadd_ps(x[6], m, c); x[7] = _mm256_fmadd_ps(x[7], m, c);
        x[8] = _mm256_fmadd_ps(x[8], m, c); x[9] = _mm256_fmadd_ps(x[9], m, c);
        x[10] = _mm256_fmadd_ps(x[10], m, c); x[11] = _mm256_fmadd_ps(x[11], m, c);
    }
    __m256 t = x[0];
    for (int k = 1; k < 12; k++) t = _mm256_add_ps(t, x[k]);
    *sink = (float)hsum256(t);
    return iters * 12 * 8 * 2;
}

/* u8 x s8 pairs through vpmaddubsw, widened by vpmaddwd: the AVX2 int8 path llama.cpp-style
 * kernels use. 32 multiply-accumulates per vpmaddubsw. One byte add per iteration keeps
 * the products from being hoisted out of the loop. */
__attribute__((target("avx2")))
static uint64_t dot_i8_avx2(uint64_t iters, int32_t *sink) {
    const __m256i ones = _mm256_set1_epi16(1), step = _mm256_set1_epi8(1);
    __m256i a[8], acc[8];
    __m256i b = _mm256_set1_epi8(3);
    for (int k = 0; k < 8; k++) { a[k] = _mm256_set1_epi8((char)(k + 1)); acc[k] = _mm256_setzero_si256(); }
    for (uint64_t i = 0; i < iters; i++) {
        for (int k = 0; k < 8; k++)
            acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(_mm256_maddubs_epi16(a[k], b), ones));
        b = _mm256_add_epi8(b, step);
        b = _mm256_and_si256(b, _mm256_set1_epi8(0x3f));
    }
    __m256i t = acc[0];
    for (int k = 1; k < 8; k++) t = _mm256_add_epi32(t, acc[k]);
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, t);
    int32_t s = 0;
    for (int k = 0; k < 8; k++) s += lanes[k];
    *sink = s;
    return iters * 8 * 32 * 2;
}

__attribute__((target("avx512f")))
static double read_avx512(const float *a, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_add_ps(s0, _mm512_loadu_ps(a + i));
        s1 = _mm512_add_ps(s1, _mm512_loadu_ps(a + i + 16));
        s2 = _mm512_add_ps(s2, _mm512_loadu_ps(a + i + 32));
        s3 = _mm512_add_ps(s3, _mm512_loadu_ps(a + i + 48));
    }
    s0 = _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3));
    return (double)_mm512_reduce_add_ps(s0) + read_scalar(a + i, n - i);
}

__attribute__((target("avx512f")))
static void triad_avx512(float *a, const float *b, const float *c, float s, size_t n) {
    const __m512 vs = _mm512_set1_ps(s);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(a + i, _mm512_fmadd_ps(vs, _mm512_loadu_ps(c + i), _mm512_loadu_ps(b + i)));
    triad_scalar(a + i, b + i, c + i, s, n - i);
}

__attribute__((target("avx512f")))
static uint64_t fma_avx512(uint64_t iters, float *sink) {
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
    __m512 x[16];
    for (int k = 0; k < 16; k++) x[k] = _mm512_set1_ps((float)(k + 1));
    for (uint64_t i = 0; i < iters; i++)
        for (int k = 0; k < 16; k++) x[k] = _mm512_fmadd_ps(x[k], m, c);
    __m512 t = x[0];
    for (int k = 1; k < 16; k++) t = _mm512_add_ps(t, x[k]);
    *sink = _mm512_reduce_add_ps(t);
    return iters * 16 * 16 * 2;
}

__attribute__((target("avx512f,avx512bw")))
static uint64_t dot_i8_avx512(uint64_t iters, int32_t *sink) {
    const __m512i ones = _mm512_set1_epi16(1), step = _mm512_set1_epi8(1), mask = _mm512_set1_epi8(0x3f);
    __m512i a[8], acc[8];
    __m512i b = _mm512_set1_epi8(3);
    for (int k = 0; k < 8; k++) { a[k] = _mm512_set1_epi8((char)(k + 1)); acc[k] = _mm512_setzero_si512(); }
    for (uint64_t i = 0; i < iters; i++) {
        for (int k = 0; k < 8; k++)
            acc[k] = _mm512_add_epi32(acc[k], _mm512_madd_epi16(_mm512_maddubs_epi16(a[k], b), ones));
        b = _mm512_and_si512(_mm512_add_epi8(b, step), mask);
    }
    __m512i t = acc[0];
    for (int k = 1; k < 8; k++) t = _mm512_add_epi32(t, acc[k]);
    *sink = _mm512_reduce_add_epi32(t);
    return iters * 8 * 64 * 2;
}
#endif /* SLM_X86 */

/* ---------------------------------------------------------------- AArch64 */
#ifdef SLM_ARM64
static double read_neon(const float *a, size_t n) {
    float32x4_t s[8];
    for (int k = 0; k < 8; k++) s[k] = vdupq_n_f32(0);
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 8; k++) s[k] = vaddq_f32(s[k], vld1q_f32(a + i + 4 * k));
    for (int k = 1; k < 8; k++) s[0] = vaddq_f32(s[0], s[k]);
    return (double)vaddvq_f32(s[0]) + read_scalar(a + i, n - i);
}

static void triad_neon(float *a, const float *b, const float *c, float s, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(a + i, vfmaq_n_f32(vld1q_f32(b + i), vld1q_f32(c + i), s));
    triad_scalar(a + i, b + i, c + i, s, n - i);
}

static uint64_t fma_neon(uint64_t iters, float *sink) {
    const float32x4_t m = vdupq_n_f32(0.999999f), c = vdupq_n_f32(1e-6f);
    float32x4_t x[16];
    for (int k = 0; k < 16; k++) x[k] = vdupq_n_f32((float)(k + 1));
    for (uint64_t i = 0; i < iters; i++)
        for (int k = 0; k < 16; k++) x[k] = vfmaq_f32(c, x[k], m);
    for (int k = 1; k < 16; k++) x[0] = vaddq_f32(x[0], x[k]);
    *sink = vaddvq_f32(x[0]);
    return iters * 16 * 4 * 2;
}

__attribute__((target("arch=armv8.2-a+dotprod")))
static uint64_t dot_i8_neon_dotprod(uint64_t iters, int32_t *sink) {
    int8x16_t a[8];
    int32x4_t acc[8];
    int8x16_t b = vdupq_n_s8(3);
    const int8x16_t step = vdupq_n_s8(1), mask = vdupq_n_s8(0x3f);
    for (int k = 0; k < 8; k++) { a[k] = vdupq_n_s8((int8_t)(k + 1)); acc[k] = vdupq_n_s32(0); }
    for (uint64_t i = 0; i < iters; i++) {
        for (int k = 0; k < 8; k++) acc[k] = vdotq_s32(acc[k], a[k], b);
        b = vandq_s8(vaddq_s8(b, step), mask);
    }
    for (int k = 1; k < 8; k++) acc[0] = vaddq_s32(acc[0], acc[k]);
    *sink = vaddvq_s32(acc[0]);
    return iters * 8 * 16 * 2;
}
#endif /* SLM_ARM64 */

/* ---------------------------------------------------------------- dispatch */

double slm_read_f32(int isa, const float *a, size_t n) {
#ifdef SLM_X86
    if (isa == SLM_ISA_AVX512) return read_avx512(a, n);
    if (isa == SLM_ISA_AVX2) return read_avx2(a, n);
#endif
#ifdef SLM_ARM64
    if (isa == SLM_ISA_NEON || isa == SLM_ISA_NEON_DOTPROD) return read_neon(a, n);
#endif
    return read_scalar(a, n);
}

void slm_triad_f32(int isa, float *a, const float *b, const float *c, float s, size_t n) {
#ifdef SLM_X86
    if (isa == SLM_ISA_AVX512) { triad_avx512(a, b, c, s, n); return; }
    if (isa == SLM_ISA_AVX2) { triad_avx2(a, b, c, s, n); return; }
#endif
#ifdef SLM_ARM64
    if (isa == SLM_ISA_NEON || isa == SLM_ISA_NEON_DOTPROD) { triad_neon(a, b, c, s, n); return; }
#endif
    triad_scalar(a, b, c, s, n);
}

uint64_t slm_fma_f32(int isa, uint64_t iterations, float *sink) {
#ifdef SLM_X86
    if (isa == SLM_ISA_AVX512) return fma_avx512(iterations, sink);
    if (isa == SLM_ISA_AVX2) return fma_avx2(iterations, sink);
#endif
#ifdef SLM_ARM64
    if (isa == SLM_ISA_NEON || isa == SLM_ISA_NEON_DOTPROD) return fma_neon(iterations, sink);
#endif
    return fma_scalar(iterations, sink);
}

uint64_t slm_dot_i8(int isa, uint64_t iterations, int32_t *sink) {
#ifdef SLM_X86
    if (isa == SLM_ISA_AVX512) return dot_i8_avx512(iterations, sink);
    if (isa == SLM_ISA_AVX2) return dot_i8_avx2(iterations, sink);
#endif
#ifdef SLM_ARM64
    if (isa == SLM_ISA_NEON_DOTPROD) return dot_i8_neon_dotprod(iterations, sink);
#endif
    return dot_i8_scalar(iterations, sink);
}

/* Shared by the kernel files (not part of the public header): the x86 target attribute, and the
 * 8-lane horizontal sum whose order, ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), is also llama.cpp's
 * (sgemm tiles, softmax groups, and the quantized dot products). */
#ifndef CK_SIMD_H
#define CK_SIMD_H

#if defined(__x86_64__)
#include <immintrin.h>
#define CK_X86 1
#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#endif

#endif

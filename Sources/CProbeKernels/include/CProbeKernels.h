#ifndef SLMBENCH_CPROBEKERNELS_H
#define SLMBENCH_CPROBEKERNELS_H
/* Hot loops for the device probe: streaming read, STREAM-style triad, peak f32 FMA and
 * int8 dot throughput. Each has a portable scalar version and ISA-specific versions
 * compiled with function-level target attributes; the caller chooses the ISA at run time
 * (slm_isa_supported tells what this CPU and OS can execute). */
#include <stddef.h>
#include <stdint.h>

enum {
    SLM_ISA_SCALAR = 0,
    SLM_ISA_AVX2 = 1,         /* x86-64: AVX2 + FMA */
    SLM_ISA_AVX512 = 2,       /* x86-64: AVX-512F (+BW for int8) */
    SLM_ISA_NEON = 3,         /* AArch64 Advanced SIMD */
    SLM_ISA_NEON_DOTPROD = 4, /* AArch64 with SDOT/UDOT */
    SLM_ISA_COUNT = 5
};

/* 1 if this build contains the ISA's code and the running CPU/OS can execute it. */
int slm_isa_supported(int isa);
/* Short lowercase name ("avx2", ...), for results. */
const char *slm_isa_name(int isa);

/* Hypervisor vendor from CPUID leaf 0x40000000 ("KVMKVMKVM", "Microsoft Hv", ...) into out
 * (at least 13 bytes). Returns 0 when the CPU reports no hypervisor or is not x86. */
int slm_hypervisor_vendor(char *out);

/* Sum of n floats, read once in order. The sum defeats dead-code elimination. */
double slm_read_f32(int isa, const float *a, size_t n);
/* a[i] = b[i] + s * c[i] for i < n. */
void slm_triad_f32(int isa, float *a, const float *b, const float *c, float s, size_t n);
/* Runs a register-resident chain of independent FMAs; returns the floating-point
 * operations performed (one FMA = 2). *sink receives a value that depends on all of them. */
uint64_t slm_fma_f32(int isa, uint64_t iterations, float *sink);
/* Runs register-resident int8 dot products; returns the operations performed (one int8
 * multiply-accumulate = 2). *sink receives a value that depends on all of them. */
uint64_t slm_dot_i8(int isa, uint64_t iterations, int32_t *sink);
#endif

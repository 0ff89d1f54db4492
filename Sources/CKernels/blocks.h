/* The block layouts the kernels read, as GGUF stores them (ggml's layouts): 32 elements a
 * block, an f16 scale first. The sizes are part of the file format, so they are asserted here
 * and every offset in the kernels is taken from these structs, not written as a number.
 *
 *   q4_0  value = (nibble - 8)·d               qs[j]: element j in the low nibble, j+16 in the high
 *   q4_1  value = nibble·d + m
 *   q5_0  value = ((nibble | bit << 4) - 16)·d  bit j of qh (little-endian u32) → element j
 *   q5_1  value = (nibble | bit << 4)·d + m
 *   q8_0  value = qs[j]·d
 *   q8_1  value = qs[j]·d, s = d·Σqs              (activations only)
 * Private to the kernels (not in include/): the engine sees only byte strides. */
#ifndef CK_BLOCKS_H
#define CK_BLOCKS_H
#include <stddef.h>
#include <stdint.h>

#define CK_QK 32 /* elements per block of every type here */

typedef uint16_t ck_half; /* IEEE binary16 bits */

typedef struct { ck_half d; uint8_t qs[CK_QK / 2]; } block_q4_0;
typedef struct { ck_half d, m; uint8_t qs[CK_QK / 2]; } block_q4_1;
typedef struct { ck_half d; uint8_t qh[4]; uint8_t qs[CK_QK / 2]; } block_q5_0;
typedef struct { ck_half d, m; uint8_t qh[4]; uint8_t qs[CK_QK / 2]; } block_q5_1;
typedef struct { ck_half d; int8_t qs[CK_QK]; } block_q8_0;
typedef struct { ck_half d, s; int8_t qs[CK_QK]; } block_q8_1;

_Static_assert(sizeof(block_q4_0) == 18, "q4_0 block is 18 bytes in GGUF");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1 block is 20 bytes in GGUF");
_Static_assert(sizeof(block_q5_0) == 22, "q5_0 block is 22 bytes in GGUF");
_Static_assert(sizeof(block_q5_1) == 24, "q5_1 block is 24 bytes in GGUF");
_Static_assert(sizeof(block_q8_0) == 34, "q8_0 block is 34 bytes in GGUF");
_Static_assert(sizeof(block_q8_1) == 36, "q8_1 block is 36 bytes in GGUF");
_Static_assert(offsetof(block_q5_0, qs) == 6 && offsetof(block_q5_1, qs) == 8 && offsetof(block_q4_1, qs) == 4,
               "quants follow the scales (and qh) with no padding");

/* Q4_0 repacked in groups of eight rows (ck_q4_0_pack), one group per block column: the eight
 * rows' scales, then four 32-byte slices, slice c holding bytes 4c..4c+3 of each row's qs (row k
 * at 4k). The same bytes as the eight blocks it came from. */
typedef struct { ck_half d[8]; uint8_t qs[4][32]; } block_q4_0x8;
_Static_assert(sizeof(block_q4_0x8) == 8 * sizeof(block_q4_0), "a packed group is its eight blocks");

/* Sizes as ints for the pointer arithmetic over byte rows. */
#define Q4_0_BYTES ((int)sizeof(block_q4_0))
#define Q4_1_BYTES ((int)sizeof(block_q4_1))
#define Q5_0_BYTES ((int)sizeof(block_q5_0))
#define Q5_1_BYTES ((int)sizeof(block_q5_1))
#define Q8_0_BYTES ((int)sizeof(block_q8_0))
#define Q8_1_BYTES ((int)sizeof(block_q8_1))
#define Q4_0X8_BYTES ((int)sizeof(block_q4_0x8))

/* ---------------------------------------------------------------- 256-element super-blocks
 * The K-quants (ggml's QK_K = 256): a super-block of 256 weights in sub-blocks of 16 or 32,
 * each sub-block with its own small integer scale (and minimum) under the f16 super-scales.
 * Element e of a super-block below: e = 32k + i (sub-block of 32 k, 0 ≤ i < 32), and where a
 * layout has 16-element scales, s = e / 16.
 *
 *   q2_K  value = d·(sc[s] & 15)·q − dmin·(sc[s] >> 4),  q = (qs[32(k/4) + i] >> 2(k%4)) & 3
 *   q3_K  value = d·(S[s] − 32)·(q − 4),  q = ((qs[32(k/4) + i] >> 2(k%4)) & 3) | bit k of hmask[i] << 2,
 *         S[s] the 6-bit scales: low 4 bits from scales[s % 8] (nibble s / 8), high 2 bits
 *         from scales[8 + s % 4] (bits 2(s/4)…)
 *   q4_K  value = d·sc[k]·q − dmin·m[k],  q = nibble (k even: low, k odd: high) of qs[32(k/2) + i];
 *         sc and m are 6-bit, packed in 12 bytes (ck_k4_scales)
 *   q5_K  as q4_K with q |= bit k of qh[i] << 4
 *   q6_K  value = d·sc[s]·(q − 32),  q = nibble of ql[64(k/4) + 32(k%2) + i] (low for k%4 < 2)
 *         | ((qh[32(k/4) + i] >> 2(k%4)) & 3) << 4, sc signed bytes
 *   q8_K  value = qs[e]·d with d an f32, bsums[s] = Σ of the 16 quants of s (activations only)
 *
 * IQ4_NL is a 32-element type: value = d·kvalues[nibble] with ggml's fixed 16-level codebook,
 * nibbles as q4_0's. */
#define CK_QK_K 256

typedef struct { uint8_t scales[CK_QK_K / 16]; uint8_t qs[CK_QK_K / 4]; ck_half d, dmin; } block_q2_K;
typedef struct { uint8_t hmask[CK_QK_K / 8]; uint8_t qs[CK_QK_K / 4]; uint8_t scales[12]; ck_half d; } block_q3_K;
typedef struct { ck_half d, dmin; uint8_t scales[12]; uint8_t qs[CK_QK_K / 2]; } block_q4_K;
typedef struct { ck_half d, dmin; uint8_t scales[12]; uint8_t qh[CK_QK_K / 8]; uint8_t qs[CK_QK_K / 2]; } block_q5_K;
typedef struct { uint8_t ql[CK_QK_K / 2]; uint8_t qh[CK_QK_K / 4]; int8_t scales[CK_QK_K / 16]; ck_half d; } block_q6_K;
typedef struct { float d; int8_t qs[CK_QK_K]; int16_t bsums[CK_QK_K / 16]; } block_q8_K;
typedef struct { ck_half d; uint8_t qs[CK_QK / 2]; } block_iq4_nl;

_Static_assert(sizeof(block_q2_K) == 84, "q2_K super-block is 84 bytes in GGUF");
_Static_assert(sizeof(block_q3_K) == 110, "q3_K super-block is 110 bytes in GGUF");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K super-block is 144 bytes in GGUF");
_Static_assert(sizeof(block_q5_K) == 176, "q5_K super-block is 176 bytes in GGUF");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K super-block is 210 bytes in GGUF");
_Static_assert(sizeof(block_q8_K) == 292, "q8_K super-block is 292 bytes (ggml's in-memory layout)");
_Static_assert(sizeof(block_iq4_nl) == 18, "iq4_nl block is 18 bytes in GGUF");

#define Q2_K_BYTES ((int)sizeof(block_q2_K))
#define Q3_K_BYTES ((int)sizeof(block_q3_K))
#define Q4_K_BYTES ((int)sizeof(block_q4_K))
#define Q5_K_BYTES ((int)sizeof(block_q5_K))
#define Q6_K_BYTES ((int)sizeof(block_q6_K))
#define Q8_K_BYTES ((int)sizeof(block_q8_K))
#define IQ4_NL_BYTES ((int)sizeof(block_iq4_nl))

#endif

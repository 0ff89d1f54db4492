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

#endif

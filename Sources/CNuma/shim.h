#ifndef SLMBENCH_CNUMA_SHIM_H
#define SLMBENCH_CNUMA_SHIM_H
/* libnuma for Swift. libnuma's functions are plain C; the shim keeps the include in one
 * place and wraps the one global Swift cannot read safely. */
#include <numa.h>

/* numa_nodes_ptr is a mutable global Swift 6 will not touch; read it through a call. */
static inline int CNuma_node_is_present(int node) {
    return numa_bitmask_isbitset(numa_nodes_ptr, (unsigned)node);
}
/* Interleaves this process's future allocations over every node (numa_all_nodes_ptr is a
 * mutable global too). */
static inline void CNuma_interleave_all(void) {
    numa_set_interleave_mask(numa_all_nodes_ptr);
}
#endif

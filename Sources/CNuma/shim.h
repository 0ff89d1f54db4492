#ifndef SLMBENCH_CNUMA_SHIM_H
#define SLMBENCH_CNUMA_SHIM_H
/* libnuma for Swift. libnuma's functions are plain C; the shim only gives the one
 * version constant Swift cannot see and keeps the include in one place. */
#include <numa.h>

#ifdef LIBNUMA_API_VERSION
static inline int CNuma_api_version(void) { return LIBNUMA_API_VERSION; }
#else
static inline int CNuma_api_version(void) { return 1; }
#endif

/* numa_nodes_ptr is a mutable global Swift 6 will not touch; read it through a call. */
static inline int CNuma_node_is_present(int node) {
    return numa_bitmask_isbitset(numa_nodes_ptr, (unsigned)node);
}
#endif

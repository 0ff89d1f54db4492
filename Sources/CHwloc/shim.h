#ifndef SLMBENCH_CHWLOC_SHIM_H
#define SLMBENCH_CHWLOC_SHIM_H
/* hwloc for Swift: the header plus static inline wrappers for what Swift cannot call
 * (macros, inline functions and variadic helpers). Every wrapper is prefixed CHwloc_. */
#include <hwloc.h>

/* hwloc 2.x and 3.x differ in a few places; guard by API version. */
#if HWLOC_API_VERSION >= 0x00020400
#define CHWLOC_HAS_CPUKINDS 1
#else
#define CHWLOC_HAS_CPUKINDS 0
#endif

static inline unsigned CHwloc_runtime_version(void) { return hwloc_get_api_version(); }
static inline int CHwloc_has_cpukinds(void) { return CHWLOC_HAS_CPUKINDS; }

static inline hwloc_obj_t CHwloc_root(hwloc_topology_t t) { return hwloc_get_root_obj(t); }
static inline int CHwloc_nbobjs_by_type(hwloc_topology_t t, hwloc_obj_type_t type) {
    return hwloc_get_nbobjs_by_type(t, type);
}
static inline hwloc_obj_t CHwloc_obj_by_type(hwloc_topology_t t, hwloc_obj_type_t type, unsigned idx) {
    return hwloc_get_obj_by_type(t, type, idx);
}
static inline int CHwloc_obj_type_is_cache(hwloc_obj_type_t type) { return hwloc_obj_type_is_cache(type); }

/* Object fields live behind unions and pointers; plain accessors keep Swift code readable. */
static inline hwloc_uint64_t CHwloc_cache_size(hwloc_obj_t o) { return o->attr ? o->attr->cache.size : 0; }
static inline unsigned CHwloc_cache_depth(hwloc_obj_t o) { return o->attr ? o->attr->cache.depth : 0; }
static inline unsigned CHwloc_cache_linesize(hwloc_obj_t o) { return o->attr ? o->attr->cache.linesize : 0; }
static inline int CHwloc_cache_associativity(hwloc_obj_t o) { return o->attr ? o->attr->cache.associativity : 0; }
static inline int CHwloc_cache_type(hwloc_obj_t o) { return o->attr ? (int)o->attr->cache.type : -1; }
static inline hwloc_uint64_t CHwloc_numanode_local_memory(hwloc_obj_t o) {
    return o->attr ? o->attr->numanode.local_memory : 0;
}

/* Bitmap iteration is a macro in hwloc; expose the two calls it expands to. */
static inline int CHwloc_bitmap_first(hwloc_const_bitmap_t b) { return hwloc_bitmap_first(b); }
static inline int CHwloc_bitmap_next(hwloc_const_bitmap_t b, int prev) { return hwloc_bitmap_next(b, prev); }

/* CPU kinds (hybrid cores). Returns -1 where this hwloc has no cpukinds API. */
static inline int CHwloc_cpukinds_get_nr(hwloc_topology_t t) {
#if CHWLOC_HAS_CPUKINDS
    return hwloc_cpukinds_get_nr(t, 0);
#else
    (void)t; return -1;
#endif
}
static inline int CHwloc_cpukinds_get_info(hwloc_topology_t t, unsigned idx, hwloc_bitmap_t cpuset,
                                           int *efficiency, unsigned *nr_infos,
                                           struct hwloc_info_s **infos) {
#if CHWLOC_HAS_CPUKINDS
    return hwloc_cpukinds_get_info(t, idx, cpuset, efficiency, nr_infos, infos, 0);
#else
    (void)t; (void)idx; (void)cpuset; (void)efficiency; (void)nr_infos; (void)infos; return -1;
#endif
}

/* Binding flags are enum constants with long names; keep the two the project uses. */
static inline int CHwloc_set_thread_cpubind(hwloc_topology_t t, hwloc_const_cpuset_t set) {
    return hwloc_set_cpubind(t, set, HWLOC_CPUBIND_THREAD);
}
static inline int CHwloc_get_process_cpubind(hwloc_topology_t t, hwloc_cpuset_t set) {
    return hwloc_get_cpubind(t, set, HWLOC_CPUBIND_PROCESS);
}
#endif

/* Memory for the weights the engine copies at load (repacked Q4_0 matrices). Each pass streams
 * all of it once per token, so the TLB matters: with 4 KiB pages a 160 MB matrix is 40,000 page
 * walks a pass. On Linux the block is 2 MiB-aligned and advised as transparent huge pages
 * (granted where the system's THP mode is `always` or `madvise`): on a Zen 4, packed Q4_0 decode
 * streamed 30.4 GB/s from huge pages against 23.0 GB/s from 4 KiB ones (one thread, best of 12,
 * other builds running). The file-mapped weights are the page cache's and keep its pages. */
#define _GNU_SOURCE
#include "internal.h"
#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

void *ck_weights_alloc(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    if (bytes == 0) bytes = 1;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= huge) {
        const size_t rounded = (bytes + huge - 1) / huge * huge;
        void *p = NULL;
        if (posix_memalign(&p, huge, rounded) != 0) return NULL;
        (void)madvise(p, rounded, MADV_HUGEPAGE); /* advice: refused where THP is off, and then 4 KiB pages */
        return p;
    }
#endif
    void *p = NULL;
    return posix_memalign(&p, 64, bytes) == 0 ? p : NULL;
}

void ck_weights_free(void *p) { free(p); }

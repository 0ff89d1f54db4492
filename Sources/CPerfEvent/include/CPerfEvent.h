#ifndef SLMBENCH_CPERFEVENT_H
#define SLMBENCH_CPERFEVENT_H
/* perf_event_open(2) as Swift can call it (the system call has no libc wrapper). A shim: no
 * logic beyond filling the attribute struct. */
#include <stdint.h>

/* Opens a system-wide counting event of PMU `type` with `config` on `cpu` (pid -1), close-on-exec.
 * Returns the file descriptor, or -1 with errno set (always -1 with ENOSYS off Linux). */
int slm_perf_open(uint32_t type, uint64_t config, int cpu);
/* Reads the event's 64-bit count into *value. Returns 0, or -1 with errno set. */
int slm_perf_read(int fd, uint64_t *value);

#endif

#include "CPerfEvent.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/perf_event.h>
#include <sys/syscall.h>
#endif

int slm_perf_open(uint32_t type, uint64_t config, int cpu) {
#ifdef __linux__
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = type;
    attr.config = config;
    return (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
#else
    (void)type; (void)config; (void)cpu;
    errno = ENOSYS;
    return -1;
#endif
}

int slm_perf_read(int fd, uint64_t *value) {
    ssize_t n = read(fd, value, sizeof *value);
    if (n == (ssize_t)sizeof *value) return 0;
    if (n >= 0) errno = EIO;
    return -1;
}

// Thread scheduling for background work (the stats writer). SCHED_BATCH and gettid need _GNU_SOURCE,
// which Swift's Glibc module does not define.
#define _GNU_SOURCE
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>
#include "chush_socket.h"

int hush_lower_thread_priority(int nice) {
    struct sched_param parameters = { .sched_priority = 0 };
    if (sched_setscheduler(0, SCHED_BATCH, &parameters) != 0) return -1;   // 0: the calling thread
    return setpriority(PRIO_PROCESS, (id_t)gettid(), nice);
}

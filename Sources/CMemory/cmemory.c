#include "cmemory.h"

#include <stdint.h>
#include <sys/mman.h>

void hush_advise_huge_pages(void *start, size_t length) {
    const uintptr_t huge = 2u << 20;
    uintptr_t first = ((uintptr_t)start + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)start + length) & ~(huge - 1);
    if (end > first) {
        // Advice only: on a kernel without transparent huge pages the table simply stays on small pages.
        (void)madvise((void *)first, end - first, MADV_HUGEPAGE);
    }
}

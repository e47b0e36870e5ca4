#ifndef CMEMORY_H
#define CMEMORY_H

#include <stddef.h>

/// Asks the CPU to start loading the cache line holding `address`, without waiting for it. Swift has no
/// way to say this; lookups in tables far bigger than the cache use it to overlap their misses.
static inline void hush_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

/// Asks the kernel to back the 2 MiB-aligned part of [start, start + length) with huge pages
/// (MADV_HUGEPAGE), so random reads in a large table do not each miss the TLB. Call it before the memory
/// is first written: pages already faulted in stay small until khugepaged gets round to them.
void hush_advise_huge_pages(void *start, size_t length);

#endif

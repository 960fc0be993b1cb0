/* Small kernel allocations (driver records, queue state). Kernel: whole
 * pages from the page allocator, reached through the direct map. Host:
 * calloc. Memory from rl_zalloc is zeroed. */
#ifndef MM_HEAP_H
#define MM_HEAP_H

#include <stddef.h>

void *rl_zalloc(size_t size);
void rl_free(void *p);

#endif

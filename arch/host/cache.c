/* Host cache maintenance: nothing to do, only counted. */
#include <arch/cache.h>

#include "arch_host.h"
#include "host_internal.h"

static unsigned long counts[HOST_CACHE_OP_COUNT];

void arch_cache_clean(const void *va, size_t len) {
  counts[HOST_CACHE_CLEAN]++;
}

void arch_cache_invalidate(const void *va, size_t len) {
  counts[HOST_CACHE_INVALIDATE]++;
}

void arch_cache_clean_invalidate(const void *va, size_t len) {
  counts[HOST_CACHE_CLEAN_INVALIDATE]++;
}

unsigned long host_cache_count(enum host_cache_op op) {
  return op < HOST_CACHE_OP_COUNT ? counts[op] : 0;
}

void host_cache_reset_counts(void) {
  for (int i = 0; i < HOST_CACHE_OP_COUNT; i++)
    counts[i] = 0;
  host_dma_reset_sync_count();
}

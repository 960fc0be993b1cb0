/* Host cache maintenance, counted per operation, and the barrier
 * counters of arch_impl/barrier.h. With the cache model on
 * (host_cache_model) it also moves whole lines between the CPU's and the
 * device's copy of DMA memory (dma.c). */
#include <arch/barrier.h>
#include <arch/cache.h>

#include "arch_host.h"
#include "host_internal.h"

static unsigned long counts[HOST_CACHE_OP_COUNT];

/* Write dirty lines back: CPU copy to device copy. */
void arch_cache_clean(const void *va, size_t len) {
  counts[HOST_CACHE_CLEAN]++;
  host_dma_cache_move(va, len, true, "arch_cache_clean");
}

/* Discard lines: the CPU sees memory again, losing its unflushed writes. */
void arch_cache_invalidate(const void *va, size_t len) {
  counts[HOST_CACHE_INVALIDATE]++;
  host_dma_cache_move(va, len, false, "arch_cache_invalidate");
}

void arch_cache_clean_invalidate(const void *va, size_t len) {
  counts[HOST_CACHE_CLEAN_INVALIDATE]++;
  host_dma_cache_move(va, len, true, "arch_cache_clean_invalidate");
  host_dma_cache_move(va, len, false, "arch_cache_clean_invalidate");
}

size_t arch_cache_writeback_granule(void) { return host_dma_cache_line(); }

unsigned long host_cache_count(enum host_cache_op op) {
  return op < HOST_CACHE_OP_COUNT ? counts[op] : 0;
}

void host_cache_reset_counts(void) {
  for (int i = 0; i < HOST_CACHE_OP_COUNT; i++) {
    counts[i] = 0;
  }
}

_Thread_local unsigned long arch_host_barriers[6];
_Static_assert(HOST_BARRIER_COUNT == 6, "arch_impl/barrier.h's table");

unsigned long host_barrier_count(enum host_barrier kind) {
  return kind < HOST_BARRIER_COUNT ? arch_host_barriers[kind] : 0;
}

void host_barrier_reset_counts(void) {
  for (int i = 0; i < HOST_BARRIER_COUNT; i++) {
    arch_host_barriers[i] = 0;
  }
}

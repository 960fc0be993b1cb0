/* DMA memory and syncs, one portable implementation (arch/dma.h) for the
 * kernel and the host: on the platform's page source and translation,
 * <arch/cache.h> and <arch/barrier.h>. */
#include <arch/barrier.h>
#include <arch/cache.h>
#include <arch/dma.h>

#include <string.h>

/* Read and written whole (no read-modify-write atomics, which some
 * kernel targets would turn into library calls); only a statistic. */
static unsigned long sync_count;

static void count_sync(void) {
  __atomic_store_n(&sync_count,
                   __atomic_load_n(&sync_count, __ATOMIC_RELAXED) + 1,
                   __ATOMIC_RELAXED);
}

rl_status arch_dma_alloc_uninit(size_t pages, struct arch_dma_buf *out) {
  if (out == NULL || pages == 0) {
    return RL_ERR_INVALID;
  }
  if (pages > SIZE_MAX / RL_PAGE_SIZE) {
    return RL_ERR_NO_MEMORY;
  }
  void *va;
  paddr_t pa;
  rl_status st = arch_dma_pages_alloc(pages, &va, &pa);
  if (st != RL_OK) {
    return st;
  }
  *out = (struct arch_dma_buf){va, pa, pages * RL_PAGE_SIZE};
  return RL_OK;
}

rl_status arch_dma_alloc(size_t pages, struct arch_dma_buf *out) {
  rl_status st = arch_dma_alloc_uninit(pages, out);
  if (st != RL_OK) {
    return st;
  }
  memset(out->cpu, 0, out->size);
  /* Push the zeroes out, so no dirty line is later written back over
   * what a non-coherent device put in memory. */
  arch_cache_clean_invalidate(out->cpu, out->size);
  return RL_OK;
}

void arch_dma_free(struct arch_dma_buf *buf) {
  if (buf == NULL || (buf->cpu == NULL && buf->phys == 0 && buf->size == 0)) {
    return;
  }
  /* A size that is not whole pages is not ours: the source says so. */
  size_t pages = buf->size % RL_PAGE_SIZE == 0 ? buf->size / RL_PAGE_SIZE : 0;
  arch_dma_pages_free(buf->cpu, buf->phys, pages);
  *buf = (struct arch_dma_buf){NULL, 0, 0};
}

void arch_dma_sync_nc_for_device(const void *va, size_t len,
                                 enum arch_dma_dir dir) {
  if (len > 0) {
    if (dir == ARCH_DMA_TO_DEVICE) {
      arch_cache_clean(va, len);
    } else {
      /* No dirty line may be written back over what the device writes. */
      arch_cache_clean_invalidate(va, len);
    }
    count_sync();
  }
  arch_wmb();
}

void arch_dma_sync_nc_for_cpu(const void *va, size_t len,
                              enum arch_dma_dir dir) {
  arch_rmb();
  if (len > 0 && dir != ARCH_DMA_TO_DEVICE) {
    arch_cache_invalidate(va, len);
    count_sync();
  }
}

unsigned long arch_dma_sync_count(void) {
  return __atomic_load_n(&sync_count, __ATOMIC_RELAXED);
}

/* Kernel DMA memory: contiguous pages from the page allocator, reached
 * through the direct map, zeroed. Implements arch/dma.h's alloc and free
 * (translation and sync are the arch code's). */
#include <arch/cache.h>
#include <arch/dma.h>
#include <lib/log.h>
#include <mm/page_alloc.h>

#include <string.h>

rl_status arch_dma_alloc(size_t pages, struct arch_dma_buf *out) {
  if (out == NULL || pages == 0) {
    return RL_ERR_INVALID;
  }
  if (pages > SIZE_MAX / RL_PAGE_SIZE) {
    return RL_ERR_NO_MEMORY;
  }

  paddr_t pa;
  rl_status st = page_alloc(pages, 1, &pa);
  if (st != RL_OK) {
    return st;
  }
  void *va;
  st = arch_phys_to_virt_checked(pa, &va);
  if (st != RL_OK) {
    /* Allocator memory outside the direct map: a setup bug. */
    (void)page_free(pa, pages);
    return st;
  }

  size_t size = pages * RL_PAGE_SIZE;
  memset(va, 0, size);
  /* Push the zeroes out, so no dirty line is later written back over
   * what a non-coherent device put in memory. */
  arch_cache_clean_invalidate(va, size);
  *out = (struct arch_dma_buf){va, pa, size};
  return RL_OK;
}

void arch_dma_free(struct arch_dma_buf *buf) {
  if (buf == NULL || (buf->cpu == NULL && buf->phys == 0 && buf->size == 0)) {
    return;
  }
  rl_status st = RL_ERR_INVALID;
  if (buf->size != 0 && buf->size % RL_PAGE_SIZE == 0) {
    st = page_free(buf->phys, buf->size / RL_PAGE_SIZE);
  }
  if (st != RL_OK) {
    /* A double free or a made-up buffer: a kernel bug. */
    panic("arch_dma_free: %p (phys %#llx, %zu bytes) is not allocated: %s",
          buf->cpu, (unsigned long long)buf->phys, buf->size,
          rl_status_str(st));
  }
  *buf = (struct arch_dma_buf){NULL, 0, 0};
}

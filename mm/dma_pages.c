/* The kernel's DMA page source (arch/dma.h's arch_dma_pages_alloc/free):
 * contiguous pages from the physical page allocator. The arch layer has
 * no allocator of its own, so this primitive lives here; mm/dma.c builds
 * DMA memory on it. */
#include <arch/dma.h>
#include <lib/log.h>
#include <mm/page_alloc.h>

rl_status arch_dma_pages_alloc(size_t pages, void **va, paddr_t *pa) {
  if (va == NULL || pa == NULL || pages == 0) {
    return RL_ERR_INVALID;
  }
  paddr_t got;
  rl_status st = page_alloc(pages, 1, &got);
  if (st != RL_OK) {
    return st;
  }
  st = arch_phys_to_virt_checked(got, va);
  if (st != RL_OK) {
    /* Allocator memory outside the direct map: a setup bug. */
    (void)page_free(got, pages);
    return st;
  }
  *pa = got;
  return RL_OK;
}

void arch_dma_pages_free(const void *va, paddr_t pa, size_t pages) {
  /* The CPU address must be the one the source handed out. */
  void *expect = NULL;
  rl_status st = RL_ERR_INVALID;
  if (pages != 0 && arch_phys_to_virt_checked(pa, &expect) == RL_OK &&
      expect == va) {
    st = page_free(pa, pages);
  }
  if (st != RL_OK) {
    /* A double free or a made-up buffer: a kernel bug. */
    panic("arch_dma_free: %p (phys %#llx, %zu pages) is not allocated: %s", va,
          (unsigned long long)pa, pages, rl_status_str(st));
  }
}

/* Kernel small allocations: whole pages from the page allocator, with a
 * header recording the page count (allocations are few and long-lived:
 * queue records, driver state). */
#include <arch/dma.h>
#include <mm/heap.h>
#include <mm/page_alloc.h>
#include <string.h>

#define HEAP_MAGIC 0x52484541u /* "RHEA" */

struct heap_header {
  uint32_t magic;
  uint32_t pages;
  uint64_t pad; /* keeps the payload 16-byte aligned */
};

void *rl_zalloc(size_t size) {
  if (size == 0 || size > ((size_t)1 << 30)) {
    return NULL;
  }
  size_t pages =
      (size + sizeof(struct heap_header) + RL_PAGE_SIZE - 1) / RL_PAGE_SIZE;
  paddr_t pa;
  void *va;
  if (page_alloc(pages, 1, &pa) != RL_OK) {
    return NULL;
  }
  if (arch_phys_to_virt_checked(pa, &va) != RL_OK) {
    (void)page_free(pa, pages);
    return NULL;
  }
  memset(va, 0, pages * RL_PAGE_SIZE);
  struct heap_header *h = va;
  h->magic = HEAP_MAGIC;
  h->pages = (uint32_t)pages;
  return h + 1;
}

void rl_free(void *p) {
  if (p == NULL) {
    return;
  }
  struct heap_header *h = (struct heap_header *)p - 1;
  paddr_t pa;
  if (h->magic != HEAP_MAGIC || arch_virt_to_phys_checked(h, &pa) != RL_OK) {
    return; /* not ours: leak rather than corrupt */
  }
  h->magic = 0;
  (void)page_free(pa, h->pages);
}

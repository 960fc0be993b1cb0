/* DMA memory and address translation (contract).
 *
 * The kernel runs in the upper half with a direct map of RAM, so a pointer
 * is never a physical address: everything handed to a device goes through
 * arch_virt_to_phys. The host implementation (unit tests) also gives
 * physical addresses that differ from pointers, so a missing translation
 * shows up there too. */
#ifndef ARCH_DMA_H
#define ARCH_DMA_H

#include <ringlight/status.h>
#include <ringlight/types.h>

struct arch_dma_buf {
  void *cpu;    /* CPU (virtual) address, page aligned, zeroed */
  paddr_t phys; /* physical address of the first byte */
  size_t size;  /* bytes: pages * RL_PAGE_SIZE */
};

/* Allocates `pages` physically contiguous zeroed pages. */
rl_status arch_dma_alloc(size_t pages, struct arch_dma_buf *out);
/* Frees what arch_dma_alloc returned; a zeroed buf is ignored. */
void arch_dma_free(struct arch_dma_buf *buf);

/* Checked translation: RL_ERR_OUT_OF_RANGE outside the direct map. */
rl_status arch_virt_to_phys_checked(const void *va, paddr_t *out);
rl_status arch_phys_to_virt_checked(paddr_t pa, void **out);
/* Loud translation: panics (with the address) outside the direct map. */
paddr_t arch_virt_to_phys(const void *va);
void *arch_phys_to_virt(paddr_t pa);

enum arch_dma_dir {
  ARCH_DMA_TO_DEVICE,     /* CPU wrote, device reads */
  ARCH_DMA_FROM_DEVICE,   /* device writes, CPU reads */
  ARCH_DMA_BIDIRECTIONAL, /* both */
};

/* Make CPU writes visible to the device / device writes visible to the
 * CPU. Cache maintenance runs only when `coherent` is false (the device
 * tree node has no dma-coherent); a barrier always runs. */
void arch_dma_sync_for_device(const void *va, size_t len, enum arch_dma_dir dir,
                              bool coherent);
void arch_dma_sync_for_cpu(const void *va, size_t len, enum arch_dma_dir dir,
                           bool coherent);

/* How many sync calls did cache maintenance (for the DMA self-test). */
unsigned long arch_dma_sync_count(void);

#endif

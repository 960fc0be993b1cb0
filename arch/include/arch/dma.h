/* DMA memory, address translation and cache syncs (contract).
 *
 * The kernel runs in the upper half with a direct map of RAM, so a pointer
 * is never a physical address: everything handed to a device goes through
 * arch_virt_to_phys. The host implementation (unit tests) also gives
 * physical addresses that differ from pointers, so a missing translation
 * shows up there too.
 *
 * Two parts:
 * - primitives each platform supplies: translation and a page source
 *   (kernel: arch/common's translation, mm/dma_pages.c on the page
 *   allocator; host: arch/host/dma.c), next to <arch/cache.h> and
 *   <arch/barrier.h>;
 * - one portable implementation on top of them, mm/dma.c (//mm:dma), for
 *   the kernel and the host alike: alloc/free of zeroed contiguous pages
 *   and the syncs.
 *
 * Coherence is a property of the device: its `struct arch_dma_dev`, set
 * once where the device is found (device tree dma-coherent), handed to
 * every sync. On a coherent device a sync is an inline test and nothing
 * else: no barrier, no call. Ordering of ring memory then comes from the
 * virtio backends' arch_dma_*mb() (as Linux's virtio_wmb/virtio_rmb). */
#ifndef ARCH_DMA_H
#define ARCH_DMA_H

#include <ringlight/config.h>
#include <ringlight/status.h>
#include <ringlight/types.h>

struct arch_dma_buf {
  void *cpu;    /* CPU (virtual) address, page aligned, zeroed */
  paddr_t phys; /* physical address of the first byte */
  size_t size;  /* bytes: pages * RL_PAGE_SIZE */
};

/* A device as DMA sees it: set once when the device is found. */
struct arch_dma_dev {
  bool coherent; /* device tree dma-coherent: no cache maintenance */
};

/* Whether `dev` needs no cache maintenance. Without CONFIG_DMA_NONCOHERENT
 * always: only coherent devices are driven (the virtio core refuses the
 * others), and no sync below is in the image. */
static inline bool arch_dma_coherent(const struct arch_dma_dev *dev) {
#ifdef CONFIG_DMA_NONCOHERENT
  return dev->coherent;
#else
  (void)dev;
  return true;
#endif
}

/* ---- primitives (per platform) ----------------------------------------- */

/* Checked translation: RL_ERR_OUT_OF_RANGE outside the direct map. */
rl_status arch_virt_to_phys_checked(const void *va, paddr_t *out);
rl_status arch_phys_to_virt_checked(paddr_t pa, void **out);
/* Loud translation: panics (with the address) outside the direct map. */
paddr_t arch_virt_to_phys(const void *va);
void *arch_phys_to_virt(paddr_t pa);

/* The page source: `pages` (> 0) physically contiguous pages at *pa,
 * reached by the CPU at *va (what arch_phys_to_virt gives), contents
 * undefined. On failure nothing stays taken. */
rl_status arch_dma_pages_alloc(size_t pages, void **va, paddr_t *pa);
/* Gives back what arch_dma_pages_alloc returned (`va` is its CPU
 * address). Anything else (a double free, a made-up range) is a bug the
 * source reports loudly and never returns from (kernel: panic; host:
 * abort). */
void arch_dma_pages_free(const void *va, paddr_t pa, size_t pages);

/* ---- portable (mm/dma.c) ------------------------------------------------ */

/* Allocates `pages` physically contiguous zeroed pages, cleaned out of
 * the cache (no dirty line may later land on what a device wrote). */
rl_status arch_dma_alloc(size_t pages, struct arch_dma_buf *out);
/* The same, neither zeroed nor cleaned: only for a buffer the device
 * never writes and the CPU fills whole before the device first reads it
 * (syncing it for the device then), such as a framebuffer that is
 * painted before its first transfer. Zeroing 4 MiB only to paint over it
 * was a fifth of the boot to the first picture under emulation. */
rl_status arch_dma_alloc_uninit(size_t pages, struct arch_dma_buf *out);
/* Frees what either returned; a zeroed buf is ignored. */
void arch_dma_free(struct arch_dma_buf *buf);

enum arch_dma_dir {
  ARCH_DMA_TO_DEVICE,     /* CPU wrote, device reads */
  ARCH_DMA_FROM_DEVICE,   /* device writes, CPU reads */
  ARCH_DMA_BIDIRECTIONAL, /* both */
};

/* Non-coherent syncs (out of line): the cache operation the direction
 * needs (none when len is 0; none for_cpu after TO_DEVICE), counted; then
 * (for_device) / first (for_cpu) a full-system barrier. */
void arch_dma_sync_nc_for_device(const void *va, size_t len,
                                 enum arch_dma_dir dir);
void arch_dma_sync_nc_for_cpu(const void *va, size_t len,
                              enum arch_dma_dir dir);

/* Make CPU writes visible to `dev` / its writes visible to the CPU. On a
 * coherent device: nothing (callers order ring memory with arch_dma_*mb). */
static inline void arch_dma_sync_for_device(const struct arch_dma_dev *dev,
                                            const void *va, size_t len,
                                            enum arch_dma_dir dir) {
  if (!arch_dma_coherent(dev)) {
    arch_dma_sync_nc_for_device(va, len, dir);
  }
}

static inline void arch_dma_sync_for_cpu(const struct arch_dma_dev *dev,
                                         const void *va, size_t len,
                                         enum arch_dma_dir dir) {
  if (!arch_dma_coherent(dev)) {
    arch_dma_sync_nc_for_cpu(va, len, dir);
  }
}

/* How many sync calls did cache maintenance (for the DMA self-test). */
unsigned long arch_dma_sync_count(void);

#endif

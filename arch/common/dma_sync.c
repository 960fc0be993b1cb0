/* DMA sync for non-coherent devices: cache maintenance only when the
 * device tree does not mark the device dma-coherent; barriers always. */
#include <arch/barrier.h>
#include <arch/cache.h>
#include <arch/dma.h>

static unsigned long sync_count;

unsigned long arch_dma_sync_count(void) { return sync_count; }

void arch_dma_sync_for_device(const void *va, size_t len, enum arch_dma_dir dir,
                              bool coherent) {
  if (!coherent && len > 0) {
    if (dir == ARCH_DMA_TO_DEVICE) {
      arch_cache_clean(va, len);
    } else {
      /* No dirty line may be written back over what the device writes. */
      arch_cache_clean_invalidate(va, len);
    }
    sync_count++;
  }
  arch_wmb();
}

void arch_dma_sync_for_cpu(const void *va, size_t len, enum arch_dma_dir dir,
                           bool coherent) {
  arch_rmb();
  if (!coherent && len > 0 && dir != ARCH_DMA_TO_DEVICE) {
    arch_cache_invalidate(va, len);
    sync_count++;
  }
}

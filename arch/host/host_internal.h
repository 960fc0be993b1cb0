/* Shared between the host arch files only. */
#ifndef ARCH_HOST_INTERNAL_H
#define ARCH_HOST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/* Cache model (dma.c): copies the whole lines [va, va + len) touches to
 * the device's copy (to_device) or back. Nothing when the model is off or
 * len is 0; aborts naming `op` when the range is not inside one DMA
 * allocation while it is on. */
void host_dma_cache_move(const void *va, size_t len, bool to_device,
                         const char *op);
/* The cache model's line size while it is on, else 64. */
size_t host_dma_cache_line(void);
/* Delivers pending interrupts if unmasked; true if any handler ran. */
bool host_irq_deliver_pending(void);

#endif

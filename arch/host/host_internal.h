/* Shared between the host arch files only. */
#ifndef ARCH_HOST_INTERNAL_H
#define ARCH_HOST_INTERNAL_H

#include <stdbool.h>

void host_dma_reset_sync_count(void);
/* Delivers pending interrupts if unmasked; true if any handler ran. */
bool host_irq_deliver_pending(void);

#endif

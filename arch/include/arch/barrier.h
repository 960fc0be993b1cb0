/* Memory barriers (contract). Each architecture supplies the inline bodies
 * in <arch_impl/barrier.h>.
 *
 *   arch_mb/rmb/wmb        order CPU accesses against device (MMIO) accesses
 *                          as well as memory: the strongest kind.
 *   arch_dma_mb/rmb/wmb    order accesses to memory shared with a device
 *                          (rings): what virtio 1.2 §2.7.13.3.1 and §2.7.13.4.1
 *                          ask for between ring writes, index publication and
 *                          suppression reads.
 *   arch_compiler_barrier  stops the compiler only.
 */
#ifndef ARCH_BARRIER_H
#define ARCH_BARRIER_H

#include <arch_impl/barrier.h>

#define arch_compiler_barrier() __asm__ volatile("" ::: "memory")

#endif

/* riscv64 barriers (RISC-V unprivileged ISA, FENCE): device ordering uses
 * the I/O sets, ring memory shared with a device the R/W sets (Linux's
 * riscv dma_*mb use the same sets). */
#ifndef ARCH_IMPL_BARRIER_H
#define ARCH_IMPL_BARRIER_H

#define arch_mb() __asm__ volatile("fence iorw, iorw" ::: "memory")
#define arch_rmb() __asm__ volatile("fence ir, ir" ::: "memory")
#define arch_wmb() __asm__ volatile("fence ow, ow" ::: "memory")
#define arch_dma_mb() __asm__ volatile("fence rw, rw" ::: "memory")
#define arch_dma_rmb() __asm__ volatile("fence r, r" ::: "memory")
#define arch_dma_wmb() __asm__ volatile("fence w, w" ::: "memory")

#endif

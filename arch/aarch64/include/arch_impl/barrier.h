/* aarch64 barriers. Device (MMIO) ordering needs DSB in the full system
 * domain; ring memory shared with a device needs DMB in the outer
 * shareable domain (Arm ARM B2.3, Linux's dma_*mb use the same). */
#ifndef ARCH_IMPL_BARRIER_H
#define ARCH_IMPL_BARRIER_H

#define arch_mb() __asm__ volatile("dsb sy" ::: "memory")
#define arch_rmb() __asm__ volatile("dsb ld" ::: "memory")
#define arch_wmb() __asm__ volatile("dsb st" ::: "memory")
#define arch_dma_mb() __asm__ volatile("dmb osh" ::: "memory")
#define arch_dma_rmb() __asm__ volatile("dmb oshld" ::: "memory")
#define arch_dma_wmb() __asm__ volatile("dmb oshst" ::: "memory")

#endif

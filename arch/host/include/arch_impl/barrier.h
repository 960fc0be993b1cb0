/* Host barriers: C11 fences. Device and DMA memory are ordinary memory
 * shared with other threads here, so fences are the right strength. */
#ifndef ARCH_IMPL_BARRIER_H
#define ARCH_IMPL_BARRIER_H

#define arch_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define arch_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define arch_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define arch_dma_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define arch_dma_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define arch_dma_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#endif

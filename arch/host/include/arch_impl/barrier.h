/* Host barriers: C11 fences, except the full barrier on x86-64, where a
 * locked add to the stack orders loads and stores as mfence does for
 * ordinary memory, at a fraction of the cost (the device here is another
 * thread, not a device mapping). */
#ifndef ARCH_IMPL_BARRIER_H
#define ARCH_IMPL_BARRIER_H

#if defined(__x86_64__)
#define arch_host_full_fence()                                                 \
  __asm__ volatile("lock orl $0, -4(%%rsp)" ::: "memory", "cc")
#else
#define arch_host_full_fence() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

#define arch_mb() arch_host_full_fence()
#define arch_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define arch_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define arch_dma_mb() arch_host_full_fence()
#define arch_dma_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define arch_dma_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#endif

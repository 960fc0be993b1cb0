/* Host barriers: C11 fences, except the full barrier on x86-64, where a
 * locked add to the stack orders loads and stores as mfence does for
 * ordinary memory, at a fraction of the cost (the device here is another
 * thread, not a device mapping). Each one is counted per thread
 * (host_barrier_count in arch_host.h), so tests can check how many
 * barriers a path runs. */
#ifndef ARCH_IMPL_BARRIER_H
#define ARCH_IMPL_BARRIER_H

#if defined(__x86_64__)
#define arch_host_full_fence()                                                 \
  __asm__ volatile("lock orl $0, -4(%%rsp)" ::: "memory", "cc")
#else
#define arch_host_full_fence() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

/* Indexed by enum host_barrier (arch_host.h); defined in arch/host. */
extern _Thread_local unsigned long arch_host_barriers[6];

/* The benchmark toolchain (bench/BUILD.gn) counts nothing: the kernel's
 * barriers are one instruction each, and so are the benchmark's. */
#if defined(ARCH_HOST_UNCOUNTED_BARRIERS)
#define arch_host_counted(i, fence)                                            \
  do {                                                                         \
    fence;                                                                     \
  } while (0)
#else
#define arch_host_counted(i, fence)                                            \
  do {                                                                         \
    arch_host_barriers[i]++;                                                   \
    fence;                                                                     \
  } while (0)
#endif

#define arch_mb() arch_host_counted(0, arch_host_full_fence())
#define arch_rmb() arch_host_counted(1, __atomic_thread_fence(__ATOMIC_ACQUIRE))
#define arch_wmb() arch_host_counted(2, __atomic_thread_fence(__ATOMIC_RELEASE))
#define arch_dma_mb() arch_host_counted(3, arch_host_full_fence())
#define arch_dma_rmb()                                                         \
  arch_host_counted(4, __atomic_thread_fence(__ATOMIC_ACQUIRE))
#define arch_dma_wmb()                                                         \
  arch_host_counted(5, __atomic_thread_fence(__ATOMIC_RELEASE))

#endif

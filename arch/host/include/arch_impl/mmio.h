/* Host MMIO: plain volatile accesses to a fake register block (a test's
 * buffer). A read is followed by an acquire fence, a write preceded by a
 * release fence, matching the ordering the contract promises. */
#ifndef ARCH_IMPL_MMIO_H
#define ARCH_IMPL_MMIO_H

#include <stdint.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the host arch assumes a little-endian host"
#endif

#define RL_HOST_MMIO(bits)                                                     \
  static inline uint##bits##_t arch_mmio_read##bits(const volatile void *a) {  \
    uint##bits##_t v = *(const volatile uint##bits##_t *)a;                    \
    __atomic_thread_fence(__ATOMIC_ACQUIRE);                                   \
    return v;                                                                  \
  }                                                                            \
  static inline void arch_mmio_write##bits(volatile void *a,                   \
                                           uint##bits##_t v) {                 \
    __atomic_thread_fence(__ATOMIC_RELEASE);                                   \
    *(volatile uint##bits##_t *)a = v;                                         \
  }

RL_HOST_MMIO(8)
RL_HOST_MMIO(16)
RL_HOST_MMIO(32)

#undef RL_HOST_MMIO

#endif

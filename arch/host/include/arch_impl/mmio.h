/* Host MMIO: volatile little-endian accesses to a fake register block (a
 * test's buffer), unless the address lies in a window a test registered
 * with host_mmio_register (arch_host.h): then the window's callbacks
 * answer. A read is followed by an acquire fence, a write preceded by a
 * release fence, matching the ordering the contract promises. */
#ifndef ARCH_IMPL_MMIO_H
#define ARCH_IMPL_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the host arch assumes a little-endian host"
#endif

/* arch/host/mmio.c: true when `a` is in a registered window (the callback
 * ran); false for plain memory. */
bool host_mmio_hook_read(const volatile void *a, unsigned width, uint32_t *v);
bool host_mmio_hook_write(volatile void *a, unsigned width, uint32_t v);

#define RL_HOST_MMIO(bits)                                                     \
  static inline uint##bits##_t arch_mmio_read##bits(const volatile void *a) {  \
    uint32_t hooked;                                                           \
    uint##bits##_t v = host_mmio_hook_read(a, (bits) / 8, &hooked)             \
                           ? (uint##bits##_t)hooked                            \
                           : *(const volatile uint##bits##_t *)a;              \
    __atomic_thread_fence(__ATOMIC_ACQUIRE);                                   \
    return v;                                                                  \
  }                                                                            \
  static inline void arch_mmio_write##bits(volatile void *a,                   \
                                           uint##bits##_t v) {                 \
    __atomic_thread_fence(__ATOMIC_RELEASE);                                   \
    if (!host_mmio_hook_write(a, (bits) / 8, v)) {                             \
      *(volatile uint##bits##_t *)a = v;                                       \
    }                                                                          \
  }

RL_HOST_MMIO(8)
RL_HOST_MMIO(16)
RL_HOST_MMIO(32)

#undef RL_HOST_MMIO

#endif

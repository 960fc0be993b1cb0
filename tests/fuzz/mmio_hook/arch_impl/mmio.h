/* The MMIO accessors of the code fuzz_mmio compiles (tests/fuzz/BUILD.gn
 * puts this directory ahead of arch/host's on the include path): every
 * register access goes to the register-file model in fuzz_mmio.c, which
 * answers reads as a (possibly hostile) device and checks every access.
 * Same contract as arch/include/arch/mmio.h. */
#ifndef ARCH_IMPL_MMIO_H
#define ARCH_IMPL_MMIO_H

#include <stdint.h>

#include "fuzz_mmio_hook.h"

#define FUZZ_HOOKED_MMIO(bits)                                                 \
  static inline uint##bits##_t arch_mmio_read##bits(const volatile void *a) {  \
    return (uint##bits##_t)fuzz_mmio_read(a, (bits) / 8);                      \
  }                                                                            \
  static inline void arch_mmio_write##bits(volatile void *a,                   \
                                           uint##bits##_t v) {                 \
    fuzz_mmio_write(a, (bits) / 8, v);                                         \
  }

FUZZ_HOOKED_MMIO(8)
FUZZ_HOOKED_MMIO(16)
FUZZ_HOOKED_MMIO(32)

#undef FUZZ_HOOKED_MMIO

#endif

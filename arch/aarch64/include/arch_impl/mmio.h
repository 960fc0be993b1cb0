/* aarch64 MMIO: registers are mapped Device-nGnRE. A read is followed by
 * a load barrier so later memory reads (ring entries) are not satisfied
 * before it; a write is preceded by a store barrier so earlier memory
 * writes (ring updates) reach the point of coherency first. */
#ifndef ARCH_IMPL_MMIO_H
#define ARCH_IMPL_MMIO_H

#define RL_MMIO_READ(bits, suffix, reg)                                        \
  static inline uint##bits##_t arch_mmio_read##bits(const volatile void *a) {  \
    uint##bits##_t v;                                                          \
    __asm__ volatile("ldr" suffix " %" reg "0, [%1]"                           \
                     : "=r"(v)                                                 \
                     : "r"(a)                                                  \
                     : "memory");                                              \
    __asm__ volatile("dmb oshld" ::: "memory");                                \
    return v;                                                                  \
  }
#define RL_MMIO_WRITE(bits, suffix, reg)                                       \
  static inline void arch_mmio_write##bits(volatile void *a,                   \
                                           uint##bits##_t v) {                 \
    __asm__ volatile("dmb oshst" ::: "memory");                                \
    __asm__ volatile("str" suffix " %" reg "0, [%1]"                           \
                     :                                                         \
                     : "rZ"(v), "r"(a)                                         \
                     : "memory");                                              \
  }

RL_MMIO_READ(8, "b", "w")
RL_MMIO_READ(16, "h", "w")
RL_MMIO_READ(32, "", "w")
RL_MMIO_WRITE(8, "b", "w")
RL_MMIO_WRITE(16, "h", "w")
RL_MMIO_WRITE(32, "", "w")

#undef RL_MMIO_READ
#undef RL_MMIO_WRITE

#endif

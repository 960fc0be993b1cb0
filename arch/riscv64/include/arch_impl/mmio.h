/* riscv64 MMIO: a read is followed by "fence i,r" so later memory reads
 * wait for it; a write is preceded by "fence w,o" so earlier memory
 * writes are visible before the device sees the register write. */
#ifndef ARCH_IMPL_MMIO_H
#define ARCH_IMPL_MMIO_H

#define RL_MMIO_READ(bits, insn)                                               \
  static inline uint##bits##_t arch_mmio_read##bits(const volatile void *a) {  \
    uint##bits##_t v;                                                          \
    __asm__ volatile(insn " %0, 0(%1)" : "=r"(v) : "r"(a) : "memory");         \
    __asm__ volatile("fence i, r" ::: "memory");                               \
    return v;                                                                  \
  }
#define RL_MMIO_WRITE(bits, insn)                                              \
  static inline void arch_mmio_write##bits(volatile void *a,                   \
                                           uint##bits##_t v) {                 \
    __asm__ volatile("fence w, o" ::: "memory");                               \
    __asm__ volatile(insn " %0, 0(%1)" : : "r"(v), "r"(a) : "memory");         \
  }

RL_MMIO_READ(8, "lbu")
RL_MMIO_READ(16, "lhu")
RL_MMIO_READ(32, "lw")
RL_MMIO_WRITE(8, "sb")
RL_MMIO_WRITE(16, "sh")
RL_MMIO_WRITE(32, "sw")

#undef RL_MMIO_READ
#undef RL_MMIO_WRITE

#endif

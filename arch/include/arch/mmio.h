/* Little-endian MMIO register access (contract), ordered like device
 * registers need: a read completes before later memory reads (so a status
 * read orders the ring reads after it), a write is issued after earlier
 * memory writes (so a ring update is visible before the notify).
 * Bodies in <arch_impl/mmio.h>. */
#ifndef ARCH_MMIO_H
#define ARCH_MMIO_H

#include <stdint.h>

static inline uint8_t arch_mmio_read8(const volatile void *addr);
static inline uint16_t arch_mmio_read16(const volatile void *addr);
static inline uint32_t arch_mmio_read32(const volatile void *addr);
static inline void arch_mmio_write8(volatile void *addr, uint8_t value);
static inline void arch_mmio_write16(volatile void *addr, uint16_t value);
static inline void arch_mmio_write32(volatile void *addr, uint32_t value);

#include <arch_impl/mmio.h>

/* One access of `width` bytes (1, 2 or 4; 4 for any other value), for
 * fields whose width is data (a device configuration space). */
static inline uint32_t arch_mmio_read(const volatile void *addr,
                                      unsigned width) {
  return width == 1   ? arch_mmio_read8(addr)
         : width == 2 ? arch_mmio_read16(addr)
                      : arch_mmio_read32(addr);
}

static inline void arch_mmio_write(volatile void *addr, unsigned width,
                                   uint32_t value) {
  if (width == 1) {
    arch_mmio_write8(addr, (uint8_t)value);
  } else if (width == 2) {
    arch_mmio_write16(addr, (uint16_t)value);
  } else {
    arch_mmio_write32(addr, value);
  }
}

#endif

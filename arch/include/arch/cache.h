/* Data cache maintenance by virtual address range (contract).
 * aarch64: DC CVAC / IVAC / CIVAC by CTR_EL0's line size, then DSB.
 * riscv64: Zicbom when the device tree's ISA string lists it; otherwise
 *          no-ops (QEMU models no caches, and without Zicbom the ISA gives
 *          no way to do it). */
#ifndef ARCH_CACHE_H
#define ARCH_CACHE_H

#include <stddef.h>

/* Write dirty lines back to memory. */
void arch_cache_clean(const void *va, size_t len);
/* Discard lines (after the device wrote memory). */
void arch_cache_invalidate(const void *va, size_t len);
/* Write back, then discard. */
void arch_cache_clean_invalidate(const void *va, size_t len);

#endif

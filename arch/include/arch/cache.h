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

/* The largest block one clean or invalidate may write back or discard
 * (a power of two, at least 64): memory the driver writes and memory a
 * device writes must never share such a block, or maintenance of one
 * overwrites the other. aarch64: CTR_EL0.CWG (128 when it reads 0, "not
 * given": Linux's ARCH_DMA_MINALIGN), not only DminLine; riscv64: the
 * Zicbom block size; host: the cache model's line. */
size_t arch_cache_writeback_granule(void);

#endif

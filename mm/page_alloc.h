/* Physical page allocator: RAM ranges from the device tree, less what is
 * reserved (kernel image, device tree blob, firmware), handed out as runs
 * of contiguous pages. Portable C: the kernel gives it the direct map, the
 * host tests give it a buffer. Not thread-safe; callers mask interrupts.
 *
 * One bitmap per range (a set bit: reserved, bookkeeping or allocated).
 * Search is first fit from the lowest address. Ranges may reach the top of
 * the 64-bit space; all math is on page numbers and cannot overflow. */
#ifndef MM_PAGE_ALLOC_H
#define MM_PAGE_ALLOC_H

#include <ringlight/status.h>
#include <ringlight/types.h>

#ifdef RINGLIGHT_KERNEL
#include <ringlight/config.h>
#define PAGE_ALLOC_MAX_RANGES CONFIG_PAGE_ALLOC_MAX_RANGES /* mm/Kconfig */
#else
#define PAGE_ALLOC_MAX_RANGES 8 /* host tests: independent of .config */
#endif
#define PAGE_ALLOC_MAX_RESERVATIONS 32

/* Physical ranges are page aligned inward (start up, end down).
 * RL_ERR_INVALID: size 0, no whole page inside, overlaps an earlier range,
 * or called after page_alloc_init. RL_ERR_OUT_OF_RANGE: start + size
 * passes 2^64. RL_ERR_NO_SPACE: PAGE_ALLOC_MAX_RANGES already added. */
rl_status page_alloc_add_range(paddr_t start, uint64_t size);
/* Removes a physical range from the free pool (rounded outward). It may
 * cover parts of ranges, several ranges or none; touching or overlapping
 * reservations are merged. Errors as for page_alloc_add_range
 * (RL_ERR_NO_SPACE past PAGE_ALLOC_MAX_RESERVATIONS separate ones). */
rl_status page_alloc_reserve(paddr_t start, uint64_t size);
/* After all ranges and reservations: builds the allocator's bitmaps.
 * `bitmap_phys_to_virt` translates the physical address it chooses for
 * its own bookkeeping pages (taken from the pool: the first free run big
 * enough, lowest address first) into a usable pointer (8-byte aligned).
 * RL_ERR_INVALID: no range, called twice, or the translation returned NULL
 * or a misaligned pointer; RL_ERR_NO_MEMORY: no room for the bitmaps. */
rl_status page_alloc_init(void *(*phys_to_virt)(paddr_t));

/* `count` contiguous pages aligned to `align_pages` (a power of two), the
 * physical address of the first in *out. RL_ERR_INVALID for bad arguments
 * or before init, RL_ERR_NO_MEMORY when no such run is free. */
rl_status page_alloc(size_t count, size_t align_pages, paddr_t *out);
/* Frees pages; freeing pages that are not allocated (already free,
 * reserved, bookkeeping, outside every range, or start not page aligned)
 * is RL_ERR_INVALID and changes nothing. A run may be freed in parts. */
rl_status page_free(paddr_t start, size_t count);

/* Pages inside the ranges (including reserved and bookkeeping ones). */
uint64_t page_alloc_total_pages(void);
/* Pages free to allocate now (0 before init). */
uint64_t page_alloc_free_pages(void);

/* For tests: forget everything. */
void page_alloc_reset(void);

#endif

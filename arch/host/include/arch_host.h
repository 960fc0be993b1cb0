/* Host-only extras of the host arch layer, for unit tests: raising
 * interrupts, and counters to check what the code under test did. Not
 * thread-safe except the DMA translation functions (a fake device may run
 * on its own thread); raise interrupts from the test's thread. */
#ifndef ARCH_HOST_H
#define ARCH_HOST_H

#include <ringlight/status.h>
#include <ringlight/types.h>

/* Interrupt numbers the host accepts: 0 .. HOST_IRQ_COUNT - 1. */
#define HOST_IRQ_COUNT 1024u

/* Fake physical addresses of DMA memory start here; they never equal a
 * pointer and are never reused after a free. */
#define HOST_DMA_PHYS_BASE 0x400000000000ull

/* Raises `irq`: runs its handler now (masked, then EOI) if it is enabled
 * and local interrupts are unmasked; otherwise marks it pending until
 * arch_irq_enable, arch_irq_restore, arch_irq_enable_local or
 * arch_idle_until delivers it. RL_ERR_OUT_OF_RANGE for a bad number,
 * RL_ERR_NOT_FOUND when no handler is registered. */
rl_status host_irq_raise(unsigned irq);
bool host_irq_is_enabled(unsigned irq);
bool host_irq_is_pending(unsigned irq);
unsigned long host_irq_eoi_count(unsigned irq);
/* Local interrupts masked (inside a handler, or after arch_irq_save). */
bool host_irq_masked(void);
/* Forgets handlers, counts and pending state; unmasks local interrupts. */
void host_irq_reset(void);

enum host_cache_op {
  HOST_CACHE_CLEAN,
  HOST_CACHE_INVALIDATE,
  HOST_CACHE_CLEAN_INVALIDATE,
  HOST_CACHE_OP_COUNT,
};
/* Calls of each arch_cache_* function (they do nothing else). */
unsigned long host_cache_count(enum host_cache_op op);
/* Zeroes the cache and DMA sync counters. */
void host_cache_reset_counts(void);

/* DMA allocations not yet freed (a leak check for tests). */
size_t host_dma_live_count(void);

/* Virtual time: arch_time_ns only moves when arch_idle_until jumps to its
 * deadline or host_time_advance is called; no real sleeping. Off by
 * default (real CLOCK_MONOTONIC). Turning it on restarts the clock at 1 s. */
void host_time_virtual(bool on);
void host_time_advance(uint64_t ns);

#endif

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
 * pointer and are never reused after a free. 2^43: below 2^44, so the
 * legacy virtio-mmio QueuePFN (32 bits of 4 KiB pages) reaches them. */
#define HOST_DMA_PHYS_BASE 0x80000000000ull

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

/* The fake MSI controller (arch/msi.h, msi.c): any device tree node with
 * `msi-controller` gives out vectors whose irqs are HOST_MSI_IRQ_BASE
 * and up, the address HOST_MSI_DOORBELL and the data the irq number.
 * A device model "writes" a message with host_msi_write: the vector's irq
 * is raised (host_irq_raise); any other message is counted as stray. */
#define HOST_MSI_DOORBELL 0xfee00000ull
#define HOST_MSI_IRQ_BASE 960u
#define HOST_MSI_IRQ_COUNT 64u
void host_msi_write(uint64_t address, uint32_t data);
unsigned long host_msi_stray(void);
/* The devid the last successful arch_msi_alloc was given. */
uint32_t host_msi_last_devid(void);
/* false: arch_msi_alloc says RL_ERR_NOT_SUPPORTED ("host: MSIs off"). */
void host_msi_set_available(bool on);
/* Vectors given out and not freed. */
unsigned host_msi_allocated(void);
/* Frees every vector, counts stray messages from 0, MSIs available. */
void host_msi_reset(void);

enum host_cache_op {
  HOST_CACHE_CLEAN,
  HOST_CACHE_INVALIDATE,
  HOST_CACHE_CLEAN_INVALIDATE,
  HOST_CACHE_OP_COUNT,
};
/* Calls of each arch_cache_* function (with the cache model off they do
 * nothing else; see host_cache_model). */
unsigned long host_cache_count(enum host_cache_op op);
/* Zeroes the cache counters (arch_dma_sync_count is mm/dma.c's and
 * never resets: compare it before and after). */
void host_cache_reset_counts(void);

/* Barriers (<arch/barrier.h>) the calling thread ran, by kind. */
enum host_barrier {
  HOST_MB,
  HOST_RMB,
  HOST_WMB,
  HOST_DMA_MB,
  HOST_DMA_RMB,
  HOST_DMA_WMB,
  HOST_BARRIER_COUNT,
};
unsigned long host_barrier_count(enum host_barrier kind);
/* Zeroes the calling thread's barrier counters. */
void host_barrier_reset_counts(void);

/* DMA allocations not yet freed (a leak check for tests). */
size_t host_dma_live_count(void);

/* The device's view of DMA memory: where a fake device (a test's device
 * model) reads and writes the `len` bytes at physical address `pa`. All of
 * them must lie inside one live DMA allocation (RL_ERR_OUT_OF_RANGE
 * otherwise, RL_ERR_INVALID for len 0 or a NULL out). With the cache model
 * off this is the CPU's memory (a coherent device); with it on, the
 * device's own copy, which only arch_cache_* move data to and from. */
rl_status host_dma_device_ptr(paddr_t pa, size_t len, void **out);

/* Write-back cache model. Off (the default): one copy of memory, the
 * cache operations only count. On: every DMA allocation has a second
 * copy, the device's view (host_dma_device_ptr); arch_cache_clean copies
 * every whole `line_size`-byte line the range touches from the CPU's view
 * to the device's, arch_cache_invalidate the other way,
 * arch_cache_clean_invalidate both, and nothing else moves data between
 * them. line_size is 64 or 128 (RL_ERR_INVALID otherwise). Switching it
 * on gives live allocations a device copy equal to the CPU's; off frees
 * the device copies (the device's view is the CPU's again). While it is
 * on, a cache operation on a range outside one DMA allocation aborts. */
rl_status host_cache_model(bool on, size_t line_size);

/* The model's cache behaves like hardware that gives no order among the
 * lines of one range operation: with `descending` the lines of each
 * clean or invalidate move from the highest address down. After each
 * line moves, `fn(ctx, line, to_device)` runs (NULL: no hook): a device
 * that acts between two lines, or between the operation and the next
 * access. The hook runs outside the model's lock; a cache operation from
 * inside it moves lines without calling it again. */
typedef void (*host_cache_line_fn)(void *ctx, const void *line, bool to_device);
void host_cache_line_hook(host_cache_line_fn fn, void *ctx, bool descending);

/* Virtual time: arch_time_ns only moves when arch_idle_until jumps to its
 * deadline or host_time_advance is called; no real sleeping. Off by
 * default (real CLOCK_MONOTONIC). Turning it on restarts the clock at 1 s. */
void host_time_virtual(bool on);
void host_time_advance(uint64_t ns);
/* Clock reads so far (arch_time_ns, arch_time_raw), all threads: under
 * QEMU a read of the counter waits while the emulator holds its global
 * lock, so tests count where the drivers read it. */
unsigned long host_time_reads(void);

/* Runs `fn(ctx)` at the start of every arch_idle_until (a fake device
 * that works only while the CPU idles); NULL removes it. One hook. */
void host_idle_hook(void (*fn)(void *ctx), void *ctx);

/* Fake device windows: an arch_mmio_* access inside [base, base + size)
 * calls `read` / `write` with the offset from base and the width in bytes
 * (1, 2 or 4; a read's result is truncated to it) instead of touching
 * memory; every other access stays a plain memory access. An access
 * straddling a window's edge aborts. RL_ERR_BUSY when the range overlaps
 * a registered window, RL_ERR_NO_SPACE past 8 windows. */
typedef uint32_t (*host_mmio_read_fn)(void *ctx, size_t offset, unsigned width);
typedef void (*host_mmio_write_fn)(void *ctx, size_t offset, unsigned width,
                                   uint32_t value);
rl_status host_mmio_register(volatile void *base, size_t size,
                             host_mmio_read_fn read, host_mmio_write_fn write,
                             void *ctx);
/* RL_ERR_NOT_FOUND when no window starts at `base`. */
rl_status host_mmio_unregister(volatile void *base);

#endif

/* The device ("host") side of the ring benchmark: one lean loop per ring
 * layout, written from the virtio 1.2 memory layout only (§2.7 split,
 * §2.8 packed). Unlike the test models in tests/unit/virtio (cmocka, a
 * record per chain, every buffer mapped and patterned), a bench device
 * only does what a polling device must: find available buffers, mark them
 * used, publish, and take the interrupt decision the driver's event
 * suppression asks for. Buffers are single device-writable descriptors;
 * their contents are never touched (as in Linux's tools/virtio/ringtest).
 *
 * The rings are reached through the physical addresses the driver
 * published (struct vq_addrs), translated once at attach by the host arch
 * layer, as a device's DMA would; the driver's structures are never read. */
#ifndef BENCH_DEVICE_H
#define BENCH_DEVICE_H

#include <ringlight/types.h>
#include <virtio/core/vq_backend.h>

struct bench_device;

struct bench_device_stats {
  uint64_t used;       /* buffers marked used */
  uint64_t rounds;     /* rounds that marked at least one buffer used */
  uint64_t interrupts; /* rounds after which the driver wanted an interrupt */
};

struct bench_device_ops {
  const char *name; /* "split" / "packed": the backend it pairs with */
  /* Stops the process if the rings are not where a device could use
   * them. `notify_path` false: poll only, as ringtest's polling mode; the
   * device neither asks for notifications nor takes interrupt decisions
   * (no full barrier per round). `publish_each`: each buffer is published
   * as soon as it is marked used, and a split device reads the driver's
   * avail idx before each buffer (ringtest's host, use_buf; the fair
   * loop), not once per round and only when it ran out (split; a packed
   * descriptor is always published and polled on its own). */
  struct bench_device *(*attach)(const struct vq_addrs *addrs,
                                 const struct vq_config *cfg, bool notify_path,
                                 bool publish_each);
  void (*detach)(struct bench_device *d);
  /* One round: marks up to `max` available buffers used, in order, each
   * with its descriptor's length as the written length; then, if it
   * marked any, decides whether to interrupt (§2.7.10 / §2.8.10); when it
   * finds nothing, asks for a notification at the next buffer (EVENT_IDX),
   * as a device about to sleep would. Returns
   * how many it marked. A descriptor no driver could have written (bad
   * index, chained, not device-writable) stops the process: the
   * benchmark would be measuring a broken ring. */
  unsigned (*round)(struct bench_device *d, unsigned max);
  void (*stats)(const struct bench_device *d, struct bench_device_stats *out);
};

extern const struct bench_device_ops bench_device_split_ops;
extern const struct bench_device_ops bench_device_packed_ops;

/* The device's full barrier (store -> load ordering, §2.7.7.2 / §2.8.10).
 * On x86-64 a locked read-modify-write of the stack: a full barrier for
 * ordinary memory at a few cycles, where the fence C11 compilers emit
 * (mfence) costs ~20 ns on this machine (Linux's smp_mb makes the same
 * choice). Elsewhere the C11 sequentially consistent fence. */
#if defined(__x86_64__)
#define bench_full_barrier()                                                   \
  __asm__ volatile("lock; orl $0, -4(%%rsp)" ::: "memory", "cc")
#else
#define bench_full_barrier() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

/* Translates a ring part's physical address, whole, or NULL. */
void *bench_dma_map(paddr_t pa, uint64_t len);
/* Prints "ring_bench: device: <msg>" and exits with status 2. */
RL_NORETURN void bench_device_fail(const char *fmt, ...) RL_PRINTF(1, 2);

#endif

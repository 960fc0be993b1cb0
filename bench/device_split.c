/* The bench device for a split virtqueue (virtio 1.2 §2.7): a polling
 * device loop from the spec's memory layout alone. See device.h.
 *
 * Layout (§2.7, Table 2.2; little-endian):
 *   descriptor table  {le64 addr, le32 len, le16 flags, le16 next}[n]
 *   available ring    le16 flags, le16 idx, le16 ring[n], le16 used_event
 *   used ring         le16 flags, le16 idx, {le32 id, le32 len}[n],
 *                     le16 avail_event
 *
 * Fields the other side polls (avail idx, used idx, the event words) are
 * accessed with __atomic loads and stores: acquire on the driver's avail
 * idx before the entries it covers, release on used idx after the entries
 * (§2.7.13.3.1's write barrier, seen from the device), and a full fence
 * between publishing used idx and reading the driver's suppression state
 * (§2.7.7.2 / §2.7.10). */
#include <stdlib.h>

#include "device.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the bench device reads little-endian ring fields natively"
#endif

struct sd_desc { /* §2.7.5 */
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
_Static_assert(sizeof(struct sd_desc) == 16, "virtio 1.2 §2.7.5");

#define SD_F_NEXT 1u
#define SD_F_WRITE 2u
#define SD_F_INDIRECT 4u
#define SD_AVAIL_F_NO_INTERRUPT 1u /* §2.7.6 */
#define SD_MAX_SIZE 32768u

/* Byte offsets inside the available and used rings. */
#define AVAIL_FLAGS 0u
#define AVAIL_IDX 2u
#define AVAIL_RING(i) (4u + 2u * (i))
#define USED_IDX 2u
#define USED_ELEM(i) (4u + 8u * (i))

/* Device state: on cache lines of its own (see split_attach). */
struct bench_device {
  uint32_t n;
  bool event_idx;
  bool notify; /* the notification path runs (not poll-only) */
  bool each;   /* publish each buffer as it is used */
  const volatile struct sd_desc *desc;
  uint8_t *avail;
  uint8_t *used;
  uint16_t last_avail;  /* next available entry to take */
  uint16_t avail_seen;  /* the driver's avail idx when last read */
  uint16_t used_idx;    /* what the device last published */
  uint16_t signalled;   /* used idx at the last interrupt decision */
  uint16_t event_asked; /* avail_event last written */
  bool event_written;
  struct bench_device_stats st;
};

static uint16_t ld16(const uint8_t *base, size_t off) {
  return __atomic_load_n((const uint16_t *)(base + off), __ATOMIC_RELAXED);
}
static uint16_t ld16_acquire(const uint8_t *base, size_t off) {
  return __atomic_load_n((const uint16_t *)(base + off), __ATOMIC_ACQUIRE);
}
static void st16(uint8_t *base, size_t off, uint16_t v) {
  __atomic_store_n((uint16_t *)(base + off), v, __ATOMIC_RELAXED);
}
static void st16_release(uint8_t *base, size_t off, uint16_t v) {
  __atomic_store_n((uint16_t *)(base + off), v, __ATOMIC_RELEASE);
}
static void st32(uint8_t *base, size_t off, uint32_t v) {
  __atomic_store_n((uint32_t *)(base + off), v, __ATOMIC_RELAXED);
}

/* §2.7.10: does the driver want to hear about new_idx, having asked to be
 * told at `event`, given the device last decided at old_idx? */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx) {
  return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

static struct bench_device *split_attach(const struct vq_addrs *a,
                                         const struct vq_config *cfg,
                                         bool notify_path, bool publish_each) {
  uint32_t n = cfg->size;
  if (n == 0 || n > SD_MAX_SIZE || (n & (n - 1)) != 0) {
    bench_device_fail("split: queue size %u is not a power of two", n);
  }
  if (a->desc % 16 != 0 || a->driver % 2 != 0 || a->device % 4 != 0) {
    bench_device_fail("split: misaligned ring parts");
  }
  void *desc = bench_dma_map(a->desc, 16ull * n);
  void *avail = bench_dma_map(a->driver, 6ull + 2ull * n);
  void *used = bench_dma_map(a->device, 6ull + 8ull * n);
  if (desc == NULL || avail == NULL || used == NULL) {
    bench_device_fail("split: ring parts are not DMA memory");
  }
  /* Whole cache lines (and the adjacent-line prefetch pair): the device's
   * private state must not share a line with the driver's. */
  size_t bytes = (sizeof(struct bench_device) + 127u) & ~(size_t)127u;
  struct bench_device *d = aligned_alloc(128, bytes);
  if (d == NULL) {
    bench_device_fail("split: out of memory");
  }
  *d = (struct bench_device){.n = n,
                             .event_idx = cfg->event_idx,
                             .notify = notify_path,
                             .each = publish_each,
                             .desc = desc,
                             .avail = avail,
                             .used = used};
  if (ld16(d->avail, AVAIL_IDX) != 0 || ld16(d->used, USED_IDX) != 0) {
    bench_device_fail("split: a new queue is not empty");
  }
  return d;
}

static void split_detach(struct bench_device *d) { free(d); }

/* The ring is drained: with EVENT_IDX, ask for a notification at the
 * next buffer, as a device that would sleep now does (§2.7.10; written
 * only when it changes). A polling device keeps polling, so the driver's
 * kicks are only counted. */
static void split_idle(struct bench_device *d) {
  if (d->notify && d->event_idx &&
      (!d->event_written || d->event_asked != d->last_avail)) {
    st16(d->used, USED_ELEM(d->n), d->last_avail); /* avail_event */
    d->event_asked = d->last_avail;
    d->event_written = true;
  }
}

static unsigned split_round(struct bench_device *d, unsigned max) {
  uint32_t mask = d->n - 1;
  uint16_t used_idx = d->used_idx;
  unsigned k = 0;
  bool drained = false;
  while (k < max) {
    /* Publishing each buffer (the fair loop) the device also reads the
     * driver's idx before each buffer, as ringtest's host (use_buf) does:
     * the same accesses per buffer as the peer it is compared with.
     * Otherwise only when the entries it last saw are taken. */
    if (d->each || d->last_avail == d->avail_seen) {
      /* Acquire: the idx, then the ring entries and descriptors it covers
       * (§2.7.13.3.1 from the reading side). */
      uint16_t idx = ld16_acquire(d->avail, AVAIL_IDX);
      if ((uint16_t)(idx - d->last_avail) > d->n) {
        bench_device_fail("split: avail idx %u is more than %u past %u", idx,
                          d->n, d->last_avail);
      }
      d->avail_seen = idx;
      if (idx == d->last_avail) {
        drained = true;
        break;
      }
    }
    uint16_t head = ld16(d->avail, AVAIL_RING(d->last_avail & mask));
    if (head >= d->n) {
      bench_device_fail("split: avail entry %u names descriptor %u",
                        d->last_avail, head);
    }
    const volatile struct sd_desc *desc = &d->desc[head];
    uint16_t flags = desc->flags;
    uint32_t len = desc->len;
    if ((flags & (SD_F_NEXT | SD_F_INDIRECT)) != 0 ||
        (flags & SD_F_WRITE) == 0) {
      bench_device_fail("split: descriptor %u has flags %#x, not one "
                        "device-writable segment",
                        head, flags);
    }
    st32(d->used, USED_ELEM(used_idx & mask), head);
    st32(d->used, USED_ELEM(used_idx & mask) + 4u, len);
    d->last_avail++;
    used_idx++;
    k++;
    if (d->each) {
      st16_release(d->used, USED_IDX, used_idx); /* ringtest's use_buf */
    }
  }
  /* Stopped at `max` with nothing more seen available: drained as far as
   * the device knows (no extra read of the driver's idx). */
  drained = drained || d->last_avail == d->avail_seen;
  if (k == 0) {
    if (drained) {
      split_idle(d);
    }
    return 0;
  }
  /* The entries, then the idx that publishes them. */
  if (!d->each) {
    st16_release(d->used, USED_IDX, used_idx);
  }
  d->used_idx = used_idx;
  d->st.used += k;
  d->st.rounds++;
  if (!d->notify) {
    return k;
  }
  /* §2.7.7.2: a full barrier between the idx write and reading the
   * driver's suppression state. */
  bench_full_barrier();
  bool irq;
  if (d->event_idx) {
    irq = need_event(ld16(d->avail, AVAIL_RING(d->n)), used_idx, d->signalled);
  } else {
    irq = (ld16(d->avail, AVAIL_FLAGS) & SD_AVAIL_F_NO_INTERRUPT) == 0;
  }
  d->signalled = used_idx;
  if (irq) {
    d->st.interrupts++;
  }
  if (drained) {
    split_idle(d);
  }
  return k;
}

static void split_stats(const struct bench_device *d,
                        struct bench_device_stats *out) {
  *out = d->st;
}

const struct bench_device_ops bench_device_split_ops = {
    .name = "split",
    .attach = split_attach,
    .detach = split_detach,
    .round = split_round,
    .stats = split_stats,
};

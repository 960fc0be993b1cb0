/* The bench device for a packed virtqueue (virtio 1.2 §2.8): a polling
 * device loop from the spec's memory layout alone. See device.h.
 *
 * Layout (§2.8.13, §2.8.14; little-endian):
 *   descriptor ring   {le64 addr, le32 len, le16 id, le16 flags}[n]
 *   driver event      le16 off_wrap, le16 flags (the driver writes it)
 *   device event      le16 off_wrap, le16 flags (the device writes it)
 *
 * A descriptor is available when its AVAIL bit equals the device's Driver
 * Ring Wrap Counter and its USED bit does not (§2.8.1); the device marks
 * it used in place with AVAIL = USED = its Device Ring Wrap Counter. Flags
 * are loaded with acquire before the rest of the descriptor (§2.8.22) and
 * stored with release after the id and length (§2.8.21.1.1 seen from the
 * device); a full fence separates the last used flags from the read of the
 * driver's event suppression (§2.8.10). */
#include <stdlib.h>

#include "device.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the bench device reads little-endian ring fields natively"
#endif

struct pd_desc { /* §2.8.13 */
  uint64_t addr;
  uint32_t len;
  uint16_t id;
  uint16_t flags;
};
_Static_assert(sizeof(struct pd_desc) == 16, "virtio 1.2 §2.8.13");

struct pd_event { /* §2.8.14 */
  uint16_t off_wrap;
  uint16_t flags;
};

#define PD_F_NEXT 1u
#define PD_F_WRITE 2u
#define PD_F_INDIRECT 4u
#define PD_F_AVAIL (1u << 7)
#define PD_F_USED (1u << 15)
#define PD_EVENT_ENABLE 0u
#define PD_EVENT_DISABLE 1u
#define PD_EVENT_DESC 2u
#define PD_EVENT_MASK 3u
#define PD_WRAP_SHIFT 15
#define PD_OFF_MASK 0x7fffu
#define PD_MAX_SIZE 32768u

/* Device state: on cache lines of its own (see packed_attach). */
struct bench_device {
  uint32_t n;
  bool event_idx;
  bool notify; /* the notification path runs (not poll-only) */
  struct pd_desc *desc;
  struct pd_event *driver_evt;
  struct pd_event *device_evt;
  uint16_t pos;         /* next descriptor to look at */
  bool wrap;            /* the Driver Ring Wrap Counter the device follows */
  uint32_t signalled;   /* lin() of pos at the last interrupt decision */
  uint32_t event_asked; /* lin() of the device event last written */
  bool event_written;
  struct bench_device_stats st;
};

/* A position and wrap counter as one number in [0, 2n): the ring seen
 * twice, once per value of the counter (which starts at 1). */
static uint32_t lin(const struct bench_device *d, uint32_t pos, bool wrap) {
  return wrap ? pos : pos + d->n;
}

static uint32_t dist(const struct bench_device *d, uint32_t a, uint32_t b) {
  uint32_t span = 2u * d->n;
  return (b + span - a) % span;
}

static struct bench_device *packed_attach(const struct vq_addrs *a,
                                          const struct vq_config *cfg,
                                          bool notify_path, bool publish_each) {
  (void)publish_each; /* each descriptor's flags publish it (§2.8.1) */
  uint32_t n = cfg->size;
  if (n == 0 || n > PD_MAX_SIZE) {
    bench_device_fail("packed: queue size %u", n);
  }
  if (a->desc % 16 != 0 || a->driver % 4 != 0 || a->device % 4 != 0) {
    bench_device_fail("packed: misaligned ring parts");
  }
  void *desc = bench_dma_map(a->desc, 16ull * n);
  void *drv = bench_dma_map(a->driver, sizeof(struct pd_event));
  void *dev = bench_dma_map(a->device, sizeof(struct pd_event));
  if (desc == NULL || drv == NULL || dev == NULL) {
    bench_device_fail("packed: ring parts are not DMA memory");
  }
  size_t bytes = (sizeof(struct bench_device) + 127u) & ~(size_t)127u;
  struct bench_device *d = aligned_alloc(128, bytes);
  if (d == NULL) {
    bench_device_fail("packed: out of memory");
  }
  *d = (struct bench_device){.n = n,
                             .event_idx = cfg->event_idx,
                             .notify = notify_path,
                             .desc = desc,
                             .driver_evt = drv,
                             .device_evt = dev,
                             .wrap = true};
  d->signalled = lin(d, 0, true);
  /* §2.8.10: with EVENT_IDX the device asks for descriptor events (the
   * position is written when idle); otherwise, or polling only, it
   * leaves ENABLE (0). */
  if (d->event_idx && d->notify) {
    __atomic_store_n(&d->device_evt->off_wrap, (uint16_t)(1u << PD_WRAP_SHIFT),
                     __ATOMIC_RELAXED);
    __atomic_store_n(&d->device_evt->flags, (uint16_t)PD_EVENT_DESC,
                     __ATOMIC_RELEASE);
    d->event_asked = lin(d, 0, true);
    d->event_written = true;
  }
  return d;
}

static void packed_detach(struct bench_device *d) { free(d); }

/* The ring is drained: with EVENT_IDX, ask for a notification at the
 * next descriptor, as a device that would sleep now does (written only
 * when it changes). */
static void packed_idle(struct bench_device *d) {
  uint32_t here = lin(d, d->pos, d->wrap);
  if (d->notify && d->event_idx &&
      (!d->event_written || d->event_asked != here)) {
    __atomic_store_n(&d->device_evt->off_wrap,
                     (uint16_t)(d->pos | (d->wrap ? 1u << PD_WRAP_SHIFT : 0)),
                     __ATOMIC_RELAXED);
    d->event_asked = here;
    d->event_written = true;
  }
}

static unsigned packed_round(struct bench_device *d, unsigned max) {
  uint16_t want = (uint16_t)(d->wrap ? PD_F_AVAIL : PD_F_USED);
  unsigned k = 0;
  bool drained = false;
  while (k < max) {
    struct pd_desc *desc = &d->desc[d->pos];
    uint16_t flags = __atomic_load_n(&desc->flags, __ATOMIC_ACQUIRE);
    if ((flags & (PD_F_AVAIL | PD_F_USED)) != want) {
      drained = true; /* not available (§2.8.1) */
      break;
    }
    uint16_t id = __atomic_load_n(&desc->id, __ATOMIC_RELAXED);
    uint32_t len = __atomic_load_n(&desc->len, __ATOMIC_RELAXED);
    if ((flags & (PD_F_NEXT | PD_F_INDIRECT)) != 0 ||
        (flags & PD_F_WRITE) == 0 || id >= d->n) {
      bench_device_fail("packed: descriptor %u has flags %#x id %u, not one "
                        "device-writable segment",
                        d->pos, flags, id);
    }
    /* Used in place (buffers are used in order, one descriptor each): id
     * and written length, then the flags that publish them. */
    __atomic_store_n(&desc->id, id, __ATOMIC_RELAXED);
    __atomic_store_n(&desc->len, len, __ATOMIC_RELAXED);
    uint16_t used =
        (uint16_t)(PD_F_WRITE | (d->wrap ? PD_F_AVAIL | PD_F_USED : 0u));
    __atomic_store_n(&desc->flags, used, __ATOMIC_RELEASE);
    if (++d->pos == d->n) {
      d->pos = 0;
      d->wrap = !d->wrap;
      want = (uint16_t)(d->wrap ? PD_F_AVAIL : PD_F_USED);
    }
    k++;
  }
  if (!drained) {
    /* Stopped at `max`: drained if the next descriptor is not available. */
    uint16_t next = __atomic_load_n(&d->desc[d->pos].flags, __ATOMIC_RELAXED);
    drained = (next & (PD_F_AVAIL | PD_F_USED)) != want;
  }
  if (k == 0) {
    if (drained) {
      packed_idle(d);
    }
    return 0;
  }
  d->st.used += k;
  d->st.rounds++;
  if (!d->notify) {
    return k;
  }
  /* §2.8.10: a full barrier, then the driver's suppression state. */
  bench_full_barrier();
  uint32_t old = d->signalled;
  uint32_t now = lin(d, d->pos, d->wrap);
  uint16_t eflags =
      __atomic_load_n(&d->driver_evt->flags, __ATOMIC_RELAXED) & PD_EVENT_MASK;
  bool irq;
  if (eflags == PD_EVENT_DISABLE) {
    irq = false;
  } else if (eflags == PD_EVENT_DESC && d->event_idx) {
    uint16_t ow = __atomic_load_n(&d->driver_evt->off_wrap, __ATOMIC_RELAXED);
    uint32_t off = ow & PD_OFF_MASK;
    /* The driver wants an interrupt when the used descriptor at off/wrap
     * was among those written since the last decision. */
    irq = off >= d->n || dist(d, old, lin(d, off, (ow >> PD_WRAP_SHIFT) != 0)) <
                             dist(d, old, now);
  } else {
    irq = true; /* ENABLE (or a value the device cannot use) */
  }
  d->signalled = now;
  if (irq) {
    d->st.interrupts++;
  }
  if (drained) {
    packed_idle(d);
  }
  return k;
}

static void packed_stats(const struct bench_device *d,
                         struct bench_device_stats *out) {
  *out = d->st;
}

const struct bench_device_ops bench_device_packed_ops = {
    .name = "packed",
    .attach = packed_attach,
    .detach = packed_detach,
    .round = packed_round,
    .stats = packed_stats,
};

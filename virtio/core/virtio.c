/* The virtio core on the transport interface: device status, feature
 * negotiation, queue setup, configuration space and interrupts. */
#include <arch/irq.h>
#include <arch/mmio.h>
#include <arch/time.h>
#include <lib/fmt.h>
#include <lib/log.h>
#include <ringlight/config.h>
#include <virtio/core/virtio.h>

#include <mm/heap.h>

#include "virtqueue_impl.h"
#include "vq_select.h"

#define RESET_TIMEOUT_NS 100000000ull /* 100 ms */
#define CONFIG_GENERATION_TRIES 16

/* Queue `i`'s record when it has a live backend, else NULL. */
static struct virtqueue *live_queue(const struct virtio_device *dev,
                                    unsigned i) {
  struct virtqueue *vq = dev->queues[i];
  return vq != NULL && vq->backend != NULL ? vq : NULL;
}

static uint32_t status_of(struct virtio_device *dev) {
  return dev->transport->get_status(dev);
}

/* The transport feature names (§6) from bit 24 up, as the drivers'
 * lists (virtio.h): "" where a bit has none. */
#define TRANSPORT_FIRST 24
static const char transport_names[] =
    "NOTIFY_ON_EMPTY\0\0\0ANY_LAYOUT\0INDIRECT_DESC\0EVENT_IDX\0\0\0"
    "VERSION_1\0ACCESS_PLATFORM\0RING_PACKED\0IN_ORDER\0ORDER_PLATFORM\0\0"
    "NOTIFICATION_DATA\0\0RING_RESET";
#define TRANSPORT_NAMES 17 /* bits 24 to 40 */

/* Name `n` of a list of `count` NUL-ended names, NULL when there is none. */
static const char *nth_name(const char *list, unsigned count, unsigned n) {
  if (list == NULL || n >= count) {
    return NULL;
  }
  for (; n > 0; n--) {
    while (*list++ != '\0') {
    }
  }
  return *list != '\0' ? list : NULL;
}

const char *virtio_feature_name(const struct virtio_device *dev, unsigned bit) {
  if (bit >= TRANSPORT_FIRST && bit < 50) {
    return nth_name(transport_names, TRANSPORT_NAMES, bit - TRANSPORT_FIRST);
  }
  if (dev->driver != NULL && bit < TRANSPORT_FIRST) {
    return nth_name(dev->driver->feature_names, dev->driver->feature_name_count,
                    bit);
  }
  return NULL;
}

/* The features offered, accepted and refused, by name, a line each
 * (klog_later: dev->device_features and dev->features). */
static void log_features(const void *ctx) {
  const struct virtio_device *dev = ctx;
  static const char *const what[3] = {"offered by the device", "accepted",
                                      "refused"};
  const uint64_t offered = dev->device_features, accepted = dev->features;
  const uint64_t sets[3] = {offered, accepted, offered & ~accepted};
  for (unsigned i = 0; i < 3; i++) {
    char line[256];
    size_t n = 0;
    for (unsigned bit = 0; bit < 64; bit++) {
      if ((sets[i] & VIRTIO_BIT(bit)) == 0) {
        continue;
      }
      const char *name = virtio_feature_name(dev, bit);
      int w = name != NULL
                  ? rl_snprintf(line + n, sizeof(line) - n, " %s", name)
                  : rl_snprintf(line + n, sizeof(line) - n, " bit%u", bit);
      if (w < 0 || (size_t)w >= sizeof(line) - n) {
        break;
      }
      n += (size_t)w;
    }
    line[n] = '\0';
    klog(LOG_INFO, "%s: features %s:%s\n", dev->name, what[i],
         n == 0 ? " (none)" : line);
  }
}

/* §2.6.1: per-queue reset needs the transport's register for it (PCI's
 * queue_reset; virtio-mmio in QEMU 7.2 has none) and a modern interface. */
static bool can_reset_queues(const struct virtio_device *dev) {
#ifdef CONFIG_VIRTIO_RING_RESET
  return !dev->legacy && dev->queue_reset_ok &&
         dev->transport->queue_reset != NULL;
#else
  (void)dev;
  return false; /* no transport of this build can (no virtio-pci) */
#endif
}

/* The transport features this build accepts. */
static uint64_t transport_offer(const struct virtio_device *dev) {
  uint64_t mask = 0;
  if (!dev->legacy) {
    mask |= VIRTIO_BIT(VIRTIO_F_VERSION_1); /* §6.1: required, modern */
  }
#ifdef CONFIG_VIRTIO_EVENT_IDX
  mask |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
#endif
#ifdef CONFIG_VIRTIO_INDIRECT_DESC
  mask |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
#endif
  if (can_reset_queues(dev)) {
    mask |= VIRTIO_BIT(VIRTIO_F_RING_RESET); /* §2.6.1 */
  }
  return mask;
}

uint32_t virtio_device_status(struct virtio_device *dev) {
  return status_of(dev);
}

static void set_status(struct virtio_device *dev, uint32_t bits) {
  dev->transport->set_status(dev, status_of(dev) | bits);
}

void virtio_device_fail(struct virtio_device *dev, rl_status why,
                        const char *what) {
  dev->failed = true;
  set_status(dev, VIRTIO_STATUS_FAILED);
  klog(LOG_ERROR, "%s: %s: %s; device marked FAILED\n", dev->name, what,
       rl_status_str(why));
}

static rl_status reset_and_wait(struct virtio_device *dev) {
  /* §2.4.2 / §4.2.3.1: write 0, then wait until Status reads 0. */
  dev->transport->set_status(dev, 0);
  uint64_t deadline = arch_deadline_in(RESET_TIMEOUT_NS);
  while (status_of(dev) != 0) {
    if (arch_deadline_passed(deadline)) {
      klog(LOG_ERROR, "%s: reset: status still %#x after 100 ms\n", dev->name,
           status_of(dev));
      return RL_ERR_TIMEOUT;
    }
    arch_idle_until(RL_MIN(deadline, arch_time_ns() + 10000));
  }
  return RL_OK;
}

rl_status virtio_negotiate(struct virtio_device *dev, uint64_t wanted) {
  for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
    if (live_queue(dev, i) != NULL) {
      return RL_ERR_BUSY; /* the reset would orphan it: virtio_device_reset */
    }
  }
  dev->features = 0;
  rl_status st = reset_and_wait(dev);
  if (st != RL_OK) {
    return st;
  }
  set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE); /* §3.1.1 step 2 */
  set_status(dev, VIRTIO_STATUS_DRIVER);      /* step 3 */

  uint64_t offered = dev->transport->get_features(dev);
  dev->device_features = offered;
#ifndef CONFIG_DMA_NONCOHERENT
  if (!dev->dma.coherent) {
    /* No cache maintenance in this build: refused, never driven wrong. */
    virtio_device_fail(dev, RL_ERR_NOT_SUPPORTED,
                       KLOG_TEXT("not dma-coherent, and this build drives "
                                 "only dma-coherent devices "
                                 "(CONFIG_DMA_NONCOHERENT is off)"));
    return RL_ERR_NOT_SUPPORTED;
  }
#endif
  /* Device-specific bits are 0-23 and 50-127 (§6); the rest are the
   * transport's, which only the core accepts. */
  uint64_t device_bits = wanted & (VIRTIO_BIT(24) - 1);
  /* The ring backend: the first of the Kconfig table the device fits;
   * its feature (RING_PACKED) is accepted with the others. */
  struct vq_choice why;
  dev->ring = vq_select(dev, offered, &why);
#ifdef CONFIG_VIRTIO_QUEUE_PACKED /* the split ring has no feature bit */
  uint64_t ring_bit = dev->ring != NULL && dev->ring->feature_bit >= 0
                          ? VIRTIO_BIT(dev->ring->feature_bit)
                          : 0;
#else
  uint64_t ring_bit = 0;
#endif
  uint64_t accept = offered & (device_bits | transport_offer(dev) | ring_bit);
  dev->features = accept;
  if (CONFIG_LOG_LEVEL >= LOG_INFO) { /* else no feature names in the image */
    klog_later(log_features, dev);
  }

  if (!dev->legacy && (accept & VIRTIO_BIT(VIRTIO_F_VERSION_1)) == 0) {
    virtio_device_fail(dev, RL_ERR_NOT_SUPPORTED,
                       KLOG_TEXT("modern device without VERSION_1"));
    return RL_ERR_NOT_SUPPORTED;
  }
  if (dev->ring == NULL) {
    klog(LOG_ERROR, "%s\n", why.warning);
    virtio_device_fail(dev, RL_ERR_NOT_SUPPORTED,
                       KLOG_TEXT("no usable queue backend"));
    return RL_ERR_NOT_SUPPORTED;
  }
  if (why.warning[0] != '\0') {
    klog(LOG_WARN, "%s\n", why.warning);
  }
  if (CONFIG_LOG_LEVEL >= LOG_INFO) { /* for the queues' info lines */
    (void)rl_append(dev->ring_why, sizeof(dev->ring_why), 0, why.why);
  }
  dev->transport->set_features(dev, accept);
  if (!dev->legacy) {
    /* §3.1.1 steps 5-6: FEATURES_OK must read back (a legacy interface
     * has no FEATURES_OK, §2.2.2). */
    set_status(dev, VIRTIO_STATUS_FEATURES_OK);
    if ((status_of(dev) & VIRTIO_STATUS_FEATURES_OK) == 0) {
      virtio_device_fail(dev, RL_ERR_NOT_SUPPORTED,
                         KLOG_TEXT("FEATURES_OK did not read back"));
      return RL_ERR_NOT_SUPPORTED;
    }
  }
  return RL_OK;
}

bool virtio_has_feature(const struct virtio_device *dev, unsigned bit) {
  return bit < 64 && (dev->features & VIRTIO_BIT(bit)) != 0;
}

/* A ring's configuration for `dev`: its negotiated features, layout and
 * DMA domain. */
static struct vq_config queue_config(struct virtio_device *dev, uint16_t size) {
  /* A feature this build does not offer is never negotiated (its field
   * unread: VQ_EVENT_IDX, VQ_INDIRECT). */
  return (struct vq_config){
      .size = size,
#ifdef CONFIG_VIRTIO_EVENT_IDX
      .event_idx = virtio_has_feature(dev, VIRTIO_F_EVENT_IDX),
#endif
#ifdef CONFIG_VIRTIO_INDIRECT_DESC
      .indirect = virtio_has_feature(dev, VIRTIO_F_INDIRECT_DESC),
#endif
      .legacy = dev->legacy,
      .legacy_align = dev->legacy_align,
      .dma = &dev->dma,
  };
}

/* Fresh rings for `vq` at its size (its record filled), enabled on the
 * device: at setup and after a reset of the queue alone. */
static rl_status rings_up(struct virtqueue *vq, struct vq_backend **out,
                          struct vq_addrs *a) {
  struct virtio_device *dev = vq->dev;
  struct vq_config cfg = queue_config(dev, vq->size);
  struct vq_backend *backend;
  rl_status st = vq->ops->create(&cfg, &backend);
  if (st != RL_OK) {
    return st;
  }
  vq->ops->addrs(backend, a);
  /* §2.6.1.2: re-enabled as at setup (the transport writes the size and
   * the addresses, then queue_enable). */
  st = dev->transport->queue_enable(dev, vq->index, vq->size, a);
  if (st != RL_OK) {
    vq->ops->destroy(backend);
    return st;
  }
  *out = backend;
  return RL_OK;
}

/* A queue's info line (klog_later): its rings as they are when printed. */
static void log_queue(const void *ctx) {
  const struct virtqueue *vq = ctx;
  const struct virtio_device *dev = vq->dev;
  struct vq_addrs a = {0, 0, 0};
  if (vq->backend != NULL) {
    vq->ops->addrs(vq->backend, &a);
  }
  klog(LOG_INFO,
       "%s: queue %u (%s): %u entries, %s ring (%s), %s layout, "
       "desc %#llx driver %#llx device %#llx\n",
       dev->name, vq->index, vq->name, vq->size,
       dev->ring != NULL ? dev->ring->name : "no", dev->ring_why,
       dev->legacy ? "legacy" : "modern", (unsigned long long)a.desc,
       (unsigned long long)a.driver, (unsigned long long)a.device);
}

rl_status virtio_queue_setup(struct virtio_device *dev, unsigned index,
                             const char *name, uint16_t max_size,
                             virtqueue_done_fn done, struct virtqueue **out) {
  if (index >= VIRTIO_MAX_QUEUES || max_size == 0 || done == NULL) {
    return RL_ERR_INVALID;
  }
  if (dev->failed) {
    return RL_ERR_BROKEN;
  }
  if (live_queue(dev, index) != NULL) {
    return RL_ERR_BUSY;
  }
  if (dev->queues[index] == NULL) {
    dev->queues[index] = rl_zalloc(sizeof(struct virtqueue));
    if (dev->queues[index] == NULL) {
      return RL_ERR_NO_MEMORY;
    }
  }
  struct virtqueue *vq = dev->queues[index];
  uint32_t num_max = 0;
  rl_status st = dev->transport->queue_query(dev, index, &num_max);
  if (st != RL_OK) {
    return st;
  }
  if (num_max == 0) {
    klog(LOG_ERROR, "%s: queue %u (%s) does not exist (QueueNumMax 0)\n",
         dev->name, index, name);
    return RL_ERR_NOT_FOUND;
  }
  const struct vq_backend_desc *ring = dev->ring;
  if (ring == NULL) {
    return RL_ERR_INVALID; /* not negotiated */
  }
  uint32_t size = vq_select_size(ring, RL_MIN((uint32_t)max_size, num_max));
  /* The record is whole before the backend is published: an interrupt
   * (live from an earlier probe) sees no queue or all of it. */
  *vq = (struct virtqueue){.dev = dev,
                           .index = index,
                           .name = name,
                           .size = (uint16_t)size,
                           .ops = ring->ops,
                           .done = done};
  struct vq_backend *backend;
  struct vq_addrs a;
  st = rings_up(vq, &backend, &a);
  if (st != RL_OK) {
    return st;
  }
#if VIRTIO_IRQS
  unsigned long flags = arch_irq_save();
  vq->backend = backend;
  arch_irq_restore(flags);
#else
  vq->backend = backend; /* polled: no interrupt handler reads it */
#endif
  if (CONFIG_LOG_LEVEL >= LOG_INFO) {
    klog_later(log_queue, vq);
  }
  *out = vq;
  return RL_OK;
}

#if VIRTIO_IRQS /* else polled (virtio.h): no handler, irq_ready false */
static void irq_handler(void *ctx) { virtio_handle_interrupt(ctx); }

static bool irqs_held;

void virtio_irqs_hold(bool on) { irqs_held = on; }

void virtio_irq_attach(struct virtio_device *dev) {
  if (dev->irq_ready) {
    return;
  }
  if (irqs_held) {
    dev->irq_later = true; /* the controller is not up yet: polled */
    return;
  }
  bool retry = dev->irq_later; /* virtio_irqs_attach's, after a BUSY */
  dev->irq_later = false;
  /* The transport's own interrupts (MSI-X), else one handler on the
   * device's line. */
  rl_status st;
#ifdef CONFIG_VIRTIO_PCI /* the only transport with its own (MSI-X) */
  if (dev->transport->interrupts_enable != NULL) {
    st = dev->transport->interrupts_enable(dev);
  } else
#endif
  {
    st = arch_irq_register(dev->irq, irq_handler, dev);
    if (st == RL_OK) {
      st = arch_irq_enable(dev->irq);
      if (st != RL_OK) {
        (void)arch_irq_unregister(dev->irq, irq_handler, dev);
      }
    }
  }
  if (st == RL_OK) {
    dev->irq_ready = true;
    if (retry) {
      /* What the device signalled while polled may hold its line up
       * (QEMU's virtio-mmio raises it while InterruptStatus is not 0, and
       * that edge came before the controller): taken now, the line drops
       * and the next notification is an edge again. */
      unsigned long flags = arch_irq_save();
      virtio_handle_interrupt(dev);
      arch_irq_restore(flags);
    }
  } else if (st == RL_ERR_BUSY && !retry) {
    dev->irq_later = true; /* the controller is not up yet: polled */
  } else {
    klog(LOG_WARN, "%s: interrupts (line %u) unusable (%s): polling\n",
         dev->name, dev->irq, rl_status_str(st));
  }
}
#endif

rl_status virtio_device_ready(struct virtio_device *dev) {
  if (dev->failed) {
    return RL_ERR_BROKEN;
  }
  virtio_irq_attach(dev);
  set_status(dev, VIRTIO_STATUS_DRIVER_OK); /* §3.1.1 step 8 */
  uint32_t status = status_of(dev);
  if (status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
    virtio_device_fail(dev, RL_ERR_BROKEN,
                       KLOG_TEXT("DEVICE_NEEDS_RESET at DRIVER_OK"));
    return RL_ERR_BROKEN;
  }
  return RL_OK;
}

static void fail_token(void *token, void *arg) {
  struct virtqueue *vq = arg;
  vq->done(vq, token, UINT32_MAX);
}

rl_status virtio_device_reset(struct virtio_device *dev) {
  for (unsigned i = 0; !VQ_DETACH && i < VIRTIO_MAX_QUEUES; i++) {
    if (live_queue(dev, i) != NULL) {
      return RL_ERR_NOT_SUPPORTED; /* no ops->detach in this build */
    }
  }
  rl_status st = reset_and_wait(dev);
  if (st != RL_OK) {
    /* §2.4: until the reset completes the device may still write into
     * its rings and into the buffers it holds. Nothing of them is freed
     * or handed back: they stay the device's, leaked on purpose. */
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
      struct virtqueue *vq = live_queue(dev, i);
      if (vq != NULL) {
        vq->broken = true;
      }
    }
    klog(LOG_ERROR,
         "%s: the reset did not complete: its rings and the buffers it "
         "holds are left to it (leaked)\n",
         dev->name);
    virtio_device_fail(dev, st, "reset");
    return st;
  }
  for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
    struct virtqueue *vq = live_queue(dev, i);
    if (vq != NULL) {
      /* Outstanding requests fail; the driver sets the queue up again. */
      vq->ops->detach(vq->backend, fail_token, vq);
      vq->ops->destroy(vq->backend);
    }
    if (dev->queues[i] != NULL) {
      *dev->queues[i] = (struct virtqueue){0};
    }
  }
  dev->features = 0;
  dev->ring = NULL;
  dev->failed = false;
  return st;
}

void virtio_device_release(struct virtio_device *dev) {
#if VIRTIO_IRQS
  if (dev->transport->interrupts_release != NULL) {
    dev->transport->interrupts_release(dev);
    dev->irq_ready = false;
  } else if (dev->irq_ready) {
    (void)arch_irq_unregister(dev->irq, irq_handler, dev);
    dev->irq_ready = false;
  }
#endif
  for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
    if (dev->queues[i] != NULL && dev->queues[i]->backend == NULL) {
      rl_free(dev->queues[i]);
      dev->queues[i] = NULL;
    }
  }
}

rl_status virtio_device_recover(struct virtio_device *dev) {
#ifndef CONFIG_VIRTIO_RECOVERY
  dev->needs_reset = false;
  virtio_device_fail(
      dev, RL_ERR_BROKEN,
      KLOG_TEXT("DEVICE_NEEDS_RESET (CONFIG_VIRTIO_RECOVERY is off)"));
  return RL_ERR_BROKEN;
#else
  klog(LOG_WARN,
       "%s: resetting after DEVICE_NEEDS_RESET; pending requests "
       "fail\n",
       dev->name);
  rl_status st = virtio_device_reset(dev);
  dev->needs_reset = false;
  if (st == RL_OK && dev->driver != NULL) {
    st = dev->driver->probe(dev);
  }
  if (st != RL_OK) {
    virtio_device_fail(dev, st, KLOG_TEXT("re-initialisation after a reset"));
  } else {
    klog(LOG_INFO, "%s: re-initialised\n", dev->name);
  }
  return st;
#endif
}

/* §2.5: a field at its own width (1, 2 or 4 bytes), aligned. */
static volatile uint8_t *config_field(struct virtio_device *dev,
                                      uint32_t offset, unsigned width) {
  if ((width != 1 && width != 2 && width != 4) || offset % width != 0) {
    return NULL;
  }
  return dev->transport->config_at(dev, offset, width);
}

rl_status virtio_config_read(struct virtio_device *dev, uint32_t offset,
                             unsigned width, uint64_t *value) {
  /* An 8-byte field is two 4-byte reads (§4.2.2.2); config_field checks
   * the width and the alignment. Where a field is does not change. */
  unsigned w = width == 8 ? 4 : width;
  volatile uint8_t *lo = config_field(dev, offset, w);
  volatile uint8_t *hi = width == 8 ? config_field(dev, offset + 4, 4) : lo;
  if (lo == NULL || hi == NULL) {
    return RL_ERR_INVALID;
  }
  const struct virtio_transport *t = dev->transport;
  for (int tries = 0; tries < CONFIG_GENERATION_TRIES; tries++) {
    /* §2.5.1: a field read while the generation stays the same. */
    uint32_t gen = t->config_generation(dev);
    uint64_t v = arch_mmio_read(lo, w);
    if (width == 8) {
      v |= (uint64_t)arch_mmio_read32(hi) << 32;
    }
    if (t->config_generation(dev) == gen) {
      *value = v;
      return RL_OK;
    }
  }
  klog(LOG_ERROR, "%s: configuration generation kept changing\n", dev->name);
  return RL_ERR_BUSY;
}

static rl_status config_write(struct virtio_device *dev, uint32_t offset,
                              unsigned width, uint32_t value) {
  volatile uint8_t *p = config_field(dev, offset, width);
  if (p == NULL) {
    return RL_ERR_INVALID;
  }
  arch_mmio_write(p, width, value);
  return RL_OK;
}

rl_status virtio_config_write32(struct virtio_device *dev, uint32_t offset,
                                uint32_t value) {
  return config_write(dev, offset, 4, value);
}

rl_status virtio_config_write8(struct virtio_device *dev, uint32_t offset,
                               uint8_t value) {
  return config_write(dev, offset, 1, value);
}

#if VIRTIO_IRQS /* else devices are polled */
void virtio_queue_interrupt(struct virtio_device *dev, unsigned index) {
  struct virtqueue *vq =
      index < VIRTIO_MAX_QUEUES ? live_queue(dev, index) : NULL;
  if (vq != NULL) {
    vq->interrupts++;
    (void)virtqueue_poll(vq);
  }
}

void virtio_config_interrupt(struct virtio_device *dev) {
  dev->config_changes++;
  if (status_of(dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
    /* §2.1.2: the device gave up; recovery runs from the main loop. */
    if (!dev->needs_reset) {
      klog(LOG_ERROR, "%s: device set DEVICE_NEEDS_RESET\n", dev->name);
    }
    dev->needs_reset = true;
    return;
  }
  if (dev->driver != NULL && dev->driver->config_changed != NULL) {
    dev->driver->config_changed(dev);
  }
}

void virtio_handle_interrupt(struct virtio_device *dev) {
  uint32_t isr = dev->transport->interrupt_take(dev);
  if (isr & VIRTIO_INT_USED) {
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
      virtio_queue_interrupt(dev, i);
    }
  }
  if (isr & VIRTIO_INT_CONFIG) {
    virtio_config_interrupt(dev);
  }
}
#endif

/* ---- per-queue reset (§2.6.1, VIRTIO_F_RING_RESET) ----------------------
 */

bool virtqueue_resettable(const struct virtqueue *vq) {
  return vq->dev != NULL && virtio_has_feature(vq->dev, VIRTIO_F_RING_RESET) &&
         can_reset_queues(vq->dev);
}

rl_status virtio_queue_reset(struct virtqueue *vq) {
  if (!virtqueue_resettable(vq)) {
    return RL_ERR_NOT_SUPPORTED;
  }
  struct virtio_device *dev = vq->dev;
  if (dev->failed || vq->backend == NULL) {
    return RL_ERR_BROKEN;
  }
  klog(LOG_WARN,
       "%s: queue %u (%s): resetting the queue alone (RING_RESET); its "
       "pending requests fail\n",
       dev->name, vq->index, vq->name);
  /* The interrupt handler sees no queue from here until it is whole. */
  unsigned long flags = arch_irq_save();
  struct vq_backend *old = vq->backend;
  vq->backend = NULL;
  arch_irq_restore(flags);
  rl_status st = dev->transport->queue_reset(dev, vq->index);
  if (st != RL_OK) {
    /* §2.6.1: until the reset completes the device may still write the
     * rings and the buffers it holds: they stay its own (leaked). */
    flags = arch_irq_save();
    vq->backend = old;
    vq->broken = true;
    arch_irq_restore(flags);
    klog(LOG_ERROR,
         "%s: queue %u (%s): the queue reset did not complete: its rings "
         "and the buffers it holds are left to it (leaked)\n",
         dev->name, vq->index, vq->name);
    virtio_device_fail(dev, st, "queue reset");
    return st;
  }
  /* Done: the device no longer touches the old rings. */
  struct vq_backend *fresh = NULL;
  struct vq_addrs a;
  st = rings_up(vq, &fresh, &a);
  flags = arch_irq_save();
  vq->backend = fresh != NULL ? fresh : old;
  vq->broken = fresh == NULL; /* no rings: disabled for good */
  arch_irq_restore(flags);
  /* Every request of the old rings fails; the old rings go (unless they
   * are all the queue has left). */
  vq->ops->detach(old, fail_token, vq);
  if (fresh != NULL) {
    vq->ops->destroy(old);
  }
  if (st != RL_OK) {
    klog(LOG_ERROR, "%s: queue %u (%s): not re-enabled after its reset: %s\n",
         dev->name, vq->index, vq->name, rl_status_str(st));
    return st;
  }
  klog(LOG_INFO,
       "%s: queue %u (%s): reset and re-enabled on fresh rings, desc %#llx "
       "driver %#llx device %#llx\n",
       dev->name, vq->index, vq->name, (unsigned long long)a.desc,
       (unsigned long long)a.driver, (unsigned long long)a.device);
  return RL_OK;
}

void virtio_reset_broken_queues(struct virtio_device *dev) {
  for (unsigned i = 0; i < VIRTIO_MAX_QUEUES && !dev->failed; i++) {
    struct virtqueue *vq = live_queue(dev, i);
    if (vq != NULL && vq->broken && virtqueue_resettable(vq)) {
      (void)virtio_queue_reset(vq);
    }
  }
}

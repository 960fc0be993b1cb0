/* The virtio-mmio transport (virtio 1.2 §4.2.2 modern, §4.2.4 legacy)
 * behind the transport interface. */
#include <arch/mmio.h>
#include <lib/fmt.h>
#include <lib/log.h>
#include <mm/heap.h>
#include <virtio/core/transport.h>
#include <virtio/transport-mmio/mmio.h>

#include "virtio_mmio.h"

static struct virtio_mmio_device *mmio(const struct virtio_device *dev) {
  /* dev is the first member of struct virtio_mmio_device. */
  return (struct virtio_mmio_device *)(uintptr_t)dev;
}

static uint32_t rd(const struct virtio_device *dev, uint32_t reg) {
  return arch_mmio_read32(mmio(dev)->slot.regs + reg);
}

static void wr(struct virtio_device *dev, uint32_t reg, uint32_t v) {
  arch_mmio_write32(mmio(dev)->slot.regs + reg, v);
}

static bool modern(const struct virtio_device *dev) {
  return mmio(dev)->slot.version == 2;
}

/* "virtio-mmio@%#llx v%u (%s)", without rl_snprintf (rl_append): the
 * GPU console's header is written before the first picture. */
static void describe(const struct virtio_device *dev, char *buf, size_t size) {
  size_t n = rl_append(buf, size, 0, "virtio-mmio@");
  n = rl_append_hex(buf, size, n, mmio(dev)->slot.pa);
  n = rl_append_dec(buf, size, rl_append(buf, size, n, " v"),
                    mmio(dev)->slot.version);
  (void)rl_append(buf, size, n, modern(dev) ? " (modern)" : " (legacy)");
}

static uint32_t get_status(struct virtio_device *dev) {
  return rd(dev, VIRTIO_MMIO_STATUS);
}

static void set_status(struct virtio_device *dev, uint32_t status) {
  wr(dev, VIRTIO_MMIO_STATUS, status);
}

static uint64_t get_features(struct virtio_device *dev) {
  uint64_t offered = 0;
  for (uint32_t word = 0; word < 2; word++) {
    wr(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, word);
    offered |= (uint64_t)rd(dev, VIRTIO_MMIO_DEVICE_FEATURES) << (32 * word);
  }
  return offered;
}

static void set_features(struct virtio_device *dev, uint64_t features) {
  for (uint32_t word = 0; word < 2; word++) {
    wr(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, word);
    wr(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> (32 * word)));
  }
  if (!modern(dev)) {
    /* §4.2.4: the legacy ring layout needs the guest page size. */
    wr(dev, VIRTIO_MMIO_GUEST_PAGE_SIZE, VIRTIO_MMIO_LEGACY_PAGE_SIZE);
  }
}

static uint32_t config_generation(struct virtio_device *dev) {
  return modern(dev) ? rd(dev, VIRTIO_MMIO_CONFIG_GENERATION) : 0;
}

/* §4.2.2.2: configuration fields at their own width, inside the slot. */
static volatile uint8_t *config_at(struct virtio_device *dev, uint32_t offset,
                                   unsigned width) {
  const struct virtio_mmio_slot *s = &mmio(dev)->slot;
  if (s->size < VIRTIO_MMIO_CONFIG ||
      (uint64_t)offset + width > s->size - VIRTIO_MMIO_CONFIG) {
    return NULL;
  }
  return s->regs + VIRTIO_MMIO_CONFIG + offset;
}

static rl_status queue_query(struct virtio_device *dev, unsigned index,
                             uint32_t *max_size) {
  /* §4.2.3.2: select, check the queue is not in use, read its maximum. */
  wr(dev, VIRTIO_MMIO_QUEUE_SEL, index);
  bool in_use = modern(dev) ? rd(dev, VIRTIO_MMIO_QUEUE_READY) != 0
                            : rd(dev, VIRTIO_MMIO_QUEUE_PFN) != 0;
  if (in_use) {
    return RL_ERR_BUSY;
  }
  *max_size = rd(dev, VIRTIO_MMIO_QUEUE_NUM_MAX);
  return RL_OK;
}

static rl_status queue_enable(struct virtio_device *dev, unsigned index,
                              uint32_t size, const struct vq_addrs *a) {
  if (!modern(dev) && a->desc / VIRTIO_MMIO_LEGACY_PAGE_SIZE > UINT32_MAX) {
    /* §4.2.4: QueuePFN is 32 bits of page number. */
    klog(LOG_ERROR,
         "%s: queue %u: ring at %#llx is beyond what the legacy "
         "QueuePFN can address\n",
         dev->name, index, (unsigned long long)a->desc);
    return RL_ERR_OUT_OF_RANGE;
  }
  wr(dev, VIRTIO_MMIO_QUEUE_SEL, index);
  wr(dev, VIRTIO_MMIO_QUEUE_NUM, size);
  if (!modern(dev)) {
    /* §4.2.4: QueueAlign and the page number of the whole queue. */
    wr(dev, VIRTIO_MMIO_QUEUE_ALIGN, VIRTIO_MMIO_LEGACY_ALIGN);
    wr(dev, VIRTIO_MMIO_QUEUE_PFN,
       (uint32_t)(a->desc / VIRTIO_MMIO_LEGACY_PAGE_SIZE));
    return RL_OK;
  }
  wr(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)a->desc);
  wr(dev, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(a->desc >> 32));
  wr(dev, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)a->driver);
  wr(dev, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(a->driver >> 32));
  wr(dev, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)a->device);
  wr(dev, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(a->device >> 32));
  wr(dev, VIRTIO_MMIO_QUEUE_READY, 1);
  return RL_OK;
}

static void notify(struct virtio_device *dev, unsigned index) {
  /* §4.2.3.4: the queue index; the accessor's barrier orders it after
   * the ring writes. */
  wr(dev, VIRTIO_MMIO_QUEUE_NOTIFY, index);
}

static uint32_t interrupt_status(struct virtio_device *dev) {
  return rd(dev, VIRTIO_MMIO_INTERRUPT_STATUS);
}

static uint32_t interrupt_take(struct virtio_device *dev) {
  /* §4.2.2: InterruptACK takes the bits InterruptStatus showed. */
  uint32_t isr = rd(dev, VIRTIO_MMIO_INTERRUPT_STATUS);
  wr(dev, VIRTIO_MMIO_INTERRUPT_ACK, isr);
  return (isr & VIRTIO_MMIO_INT_VRING ? VIRTIO_INT_USED : 0) |
         (isr & VIRTIO_MMIO_INT_CONFIG ? VIRTIO_INT_CONFIG : 0);
}

const struct virtio_transport virtio_mmio_transport = {
    .name = "virtio-mmio",
    .describe = describe,
    .get_status = get_status,
    .set_status = set_status,
    .get_features = get_features,
    .set_features = set_features,
    .config_generation = config_generation,
    .config_at = config_at,
    .queue_query = queue_query,
    .queue_enable = queue_enable,
    .notify = notify,
    .interrupt_take = interrupt_take,
    .interrupt_status = interrupt_status,
};

rl_status virtio_mmio_device_init(struct virtio_mmio_device *m,
                                  const struct virtio_mmio_slot *slot) {
  if (slot->version != 1 && slot->version != 2) {
    return RL_ERR_NOT_SUPPORTED;
  }
  struct virtio_device *dev = &m->dev;
  m->slot = *slot;
  dev->transport = &virtio_mmio_transport;
  dev->device_id = slot->device_id;
  dev->irq = slot->irq;
  dev->dma.coherent = slot->dma_coherent;
  dev->legacy = slot->version == 1;
  dev->legacy_align = VIRTIO_MMIO_LEGACY_ALIGN;
  /* "virtio-%s@%#llx", without rl_snprintf (rl_append). */
  size_t n = rl_append(dev->name, sizeof(dev->name), 0, "virtio-");
  n = rl_append(dev->name, sizeof(dev->name), n,
                virtio_device_name(slot->device_id));
  n = rl_append(dev->name, sizeof(dev->name), n, "@");
  (void)rl_append_hex(dev->name, sizeof(dev->name), n, slot->pa);
  return RL_OK;
}

unsigned virtio_mmio_probe_all(const struct fdt *fdt) {
  return virtio_mmio_probe(fdt, NULL);
}

/* Reads the slot at `node` for the pass and binds its device if it has
 * a driver (counted in *bound). False when the pass must end: out of
 * memory. */
static bool probe_node(const struct fdt *fdt, int node,
                       const struct virtio_mmio_filter *filter,
                       unsigned *bound) {
  struct virtio_mmio_slot slot;
  if (virtio_mmio_device_at_filtered(fdt, node, &slot, filter) != RL_OK ||
      slot.device_id == 0) {
    return true;
  }
  if (virtio_driver_for(slot.device_id) == NULL) {
    klog(LOG_INFO, "virtio: no driver for device %u (%s) at %#llx\n",
         slot.device_id, virtio_device_name(slot.device_id),
         (unsigned long long)slot.pa);
    return true;
  }
  struct virtio_mmio_device *m = rl_zalloc(sizeof(*m));
  if (m == NULL) {
    klog(LOG_ERROR, "virtio: out of memory for device %u at %#llx\n",
         slot.device_id, (unsigned long long)slot.pa);
    return false;
  }
  rl_status st = virtio_mmio_device_init(m, &slot);
  if (st != RL_OK) {
    klog(LOG_ERROR, "virtio-mmio: slot %#llx: version %u: %s\n",
         (unsigned long long)slot.pa, slot.version, rl_status_str(st));
    rl_free(m);
    return true;
  }
  if (virtio_bind(&m->dev) == RL_OK) {
    (*bound)++;
  }
  return true;
}

/* Slots a pass for one device type reads from the last node back. */
#define PROBE_BACK_MAX 64

/* QEMU's virt machine gives the first -device on its command line the
 * highest slot, the last node (../shared/qemu-virt.md, "Slot order"): a
 * pass for one device type (the GPUs, before anything else) reads the
 * slots from the last node back, so the first such device is bound (its
 * picture out) before the empty slots are read, each a register read
 * that exits to the emulator. Other passes, and trees with more than
 * PROBE_BACK_MAX slots, go in tree order. */
unsigned virtio_mmio_probe(const struct fdt *fdt,
                           const struct virtio_mmio_filter *filter) {
  unsigned bound = 0;
  if (filter != NULL && filter->only != 0) {
    int nodes[PROBE_BACK_MAX];
    unsigned n = 0;
    bool all = true;
    for (int node = -1;
         fdt_find_compatible(fdt, node, "virtio,mmio", &node) == RL_OK;) {
      if (n == PROBE_BACK_MAX) {
        all = false;
        break;
      }
      nodes[n++] = node;
    }
    if (all) {
      while (n > 0 && probe_node(fdt, nodes[n - 1], filter, &bound)) {
        n--;
      }
      return bound;
    }
  }
  for (int node = -1;
       fdt_find_compatible(fdt, node, "virtio,mmio", &node) == RL_OK;) {
    if (!probe_node(fdt, node, filter, &bound)) {
      break;
    }
  }
  return bound;
}

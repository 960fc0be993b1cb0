/* The modern virtio-pci transport (virtio 1.2 §4.1.4, §4.1.5) behind the
 * transport interface. */
#include <arch/irq.h>
#include <arch/mmio.h>
#include <arch/time.h>
#include <arch/vm.h>
#include <lib/fmt.h>
#include <lib/log.h>
#include <mm/heap.h>
#include <pci/pci_regs.h>
#include <virtio/core/transport.h>
#include <virtio/transport-pci/pci.h>

#include "msix.h"
#include "virtio_pci.h"

static struct virtio_pci_device *vp(const struct virtio_device *dev) {
  /* dev is the first member of struct virtio_pci_device. */
  return (struct virtio_pci_device *)(uintptr_t)dev;
}

static volatile uint8_t *common(const struct virtio_device *dev, unsigned off) {
  return vp(dev)->common.base + off;
}

static void describe(const struct virtio_device *dev, char *buf, size_t size) {
  char where[16];
  pci_function_name(vp(dev)->fn, where, sizeof(where));
  (void)rl_snprintf(buf, size, "virtio-pci@%s %04x:%04x (modern)", where,
                    vp(dev)->fn->vendor_id, vp(dev)->fn->device_id);
}

static uint32_t get_status(struct virtio_device *dev) {
  return arch_mmio_read8(common(dev, VIRTIO_PCI_COMMON_STATUS));
}

static void set_status(struct virtio_device *dev, uint32_t status) {
  arch_mmio_write8(common(dev, VIRTIO_PCI_COMMON_STATUS), (uint8_t)status);
}

static uint64_t get_features(struct virtio_device *dev) {
  uint64_t offered = 0;
  for (uint32_t word = 0; word < 2; word++) {
    arch_mmio_write32(common(dev, VIRTIO_PCI_COMMON_DFSELECT), word);
    offered |= (uint64_t)arch_mmio_read32(common(dev, VIRTIO_PCI_COMMON_DF))
               << (32 * word);
  }
  return offered;
}

static void set_features(struct virtio_device *dev, uint64_t features) {
  for (uint32_t word = 0; word < 2; word++) {
    arch_mmio_write32(common(dev, VIRTIO_PCI_COMMON_GFSELECT), word);
    arch_mmio_write32(common(dev, VIRTIO_PCI_COMMON_GF),
                      (uint32_t)(features >> (32 * word)));
  }
  /* Each negotiation follows a reset, which clears the vectors. */
  virtio_pci_msix_config_vector(vp(dev));
}

static uint32_t config_generation(struct virtio_device *dev) {
  return arch_mmio_read8(common(dev, VIRTIO_PCI_COMMON_CFGGENERATION));
}

/* §4.1.4.6: the device-specific structure, at each field's width. */
static volatile uint8_t *config_at(struct virtio_device *dev, uint32_t offset,
                                   unsigned width) {
  const struct virtio_pci_region *r = &vp(dev)->device;
  if (r->base == NULL || (uint64_t)offset + width > r->length) {
    return NULL;
  }
  return r->base + offset;
}

static rl_status queue_query(struct virtio_device *dev, unsigned index,
                             uint32_t *max_size) {
  /* §4.1.5.1.3: select; num_queues bounds the index; queue_size reads the
   * maximum before the driver writes it. */
  if (index >= vp(dev)->num_queues || index >= VIRTIO_MAX_QUEUES) {
    *max_size = 0;
    return RL_OK;
  }
  arch_mmio_write16(common(dev, VIRTIO_PCI_COMMON_Q_SELECT), (uint16_t)index);
  if (arch_mmio_read16(common(dev, VIRTIO_PCI_COMMON_Q_ENABLE)) != 0) {
    return RL_ERR_BUSY;
  }
  *max_size = arch_mmio_read16(common(dev, VIRTIO_PCI_COMMON_Q_SIZE));
  return RL_OK;
}

static void write64(struct virtio_device *dev, unsigned lo, uint64_t v) {
  /* §4.1.3.1: the two halves of a 64-bit field may be written apart. */
  arch_mmio_write32(common(dev, lo), (uint32_t)v);
  arch_mmio_write32(common(dev, lo + 4), (uint32_t)(v >> 32));
}

static rl_status queue_enable(struct virtio_device *dev, unsigned index,
                              uint32_t size, const struct vq_addrs *a) {
  struct virtio_pci_device *p = vp(dev);
  if (index >= VIRTIO_MAX_QUEUES || size > UINT16_MAX) {
    return RL_ERR_INVALID;
  }
  arch_mmio_write16(common(dev, VIRTIO_PCI_COMMON_Q_SELECT), (uint16_t)index);
  /* §4.1.4.4: the queue's notification address is
   * cap.offset + queue_notify_off * notify_off_multiplier, inside the
   * notify structure; a device that says otherwise gets no queue. */
  uint64_t off =
      (uint64_t)arch_mmio_read16(common(dev, VIRTIO_PCI_COMMON_Q_NOFF)) *
      p->notify_multiplier;
  if (off + 2 > p->notify.length) {
    klog(LOG_ERROR,
         "%s: queue %u: notify offset %#llx is outside the notify "
         "structure (%u bytes)\n",
         dev->name, index, (unsigned long long)off, p->notify.length);
    return RL_ERR_OUT_OF_RANGE;
  }
  p->queue_notify[index] = p->notify.base + off;
  arch_mmio_write16(common(dev, VIRTIO_PCI_COMMON_Q_SIZE), (uint16_t)size);
  write64(dev, VIRTIO_PCI_COMMON_Q_DESCLO, a->desc);
  write64(dev, VIRTIO_PCI_COMMON_Q_AVAILLO, a->driver);
  write64(dev, VIRTIO_PCI_COMMON_Q_USEDLO, a->device);
  /* Its MSI-X vector, or none with INTx (§4.1.5.1.2). */
  virtio_pci_msix_queue_vector(p, index);
  arch_mmio_write16(common(dev, VIRTIO_PCI_COMMON_Q_ENABLE), 1);
  return RL_OK;
}

/* §4.1.4.3.1/.2 (the polarity of virtio-spec issue 139, as QEMU 7.2):
 * write 1 to queue_reset of the selected queue; the device shows 1 while
 * the reset goes on and 0 in both queue_reset and queue_enable once it is
 * done. Re-enabling goes through queue_enable. */
#define QUEUE_RESET_TIMEOUT_NS 100000000ull /* 100 ms */

static bool queue_reset_done(struct virtio_device *dev) {
  return arch_mmio_read16(common(dev, VIRTIO_PCI_COMMON_Q_RESET)) == 0 &&
         arch_mmio_read16(common(dev, VIRTIO_PCI_COMMON_Q_ENABLE)) == 0;
}

static rl_status queue_reset(struct virtio_device *dev, unsigned index) {
  struct virtio_pci_device *p = vp(dev);
  if (index >= p->num_queues || index >= VIRTIO_MAX_QUEUES ||
      p->common.length < VIRTIO_PCI_COMMON_RESET_SIZE) {
    return RL_ERR_NOT_SUPPORTED;
  }
  arch_mmio_write16(common(dev, VIRTIO_PCI_COMMON_Q_SELECT), (uint16_t)index);
  arch_mmio_write16(common(dev, VIRTIO_PCI_COMMON_Q_RESET), 1);
  uint64_t deadline = arch_deadline_in(QUEUE_RESET_TIMEOUT_NS);
  while (!queue_reset_done(dev)) {
    if (arch_deadline_passed(deadline)) {
      klog(LOG_ERROR,
           "%s: queue %u: queue_reset %u, queue_enable %u after 100 ms: "
           "the reset did not complete\n",
           dev->name, index,
           arch_mmio_read16(common(dev, VIRTIO_PCI_COMMON_Q_RESET)),
           arch_mmio_read16(common(dev, VIRTIO_PCI_COMMON_Q_ENABLE)));
      return RL_ERR_TIMEOUT;
    }
    arch_idle_until(RL_MIN(deadline, arch_time_ns() + 10000));
  }
  p->queue_notify[index] = NULL; /* until queue_enable */
  return RL_OK;
}

static void notify(struct virtio_device *dev, unsigned index) {
  /* §4.1.5.2: the queue index, 16 bits, at the queue's notify address;
   * the accessor's barrier orders it after the ring writes. */
  volatile uint8_t *at =
      index < VIRTIO_MAX_QUEUES ? vp(dev)->queue_notify[index] : NULL;
  if (at != NULL) {
    arch_mmio_write16(at, (uint16_t)index);
  }
}

static uint32_t interrupt_status(struct virtio_device *dev) {
  /* Reading the ISR clears it: report the last reading instead. */
  return vp(dev)->last_isr;
}

static uint32_t interrupt_take(struct virtio_device *dev) {
  /* §4.1.4.5: one read returns and clears the causes, and deasserts
   * INTx. */
  uint32_t isr = arch_mmio_read8(vp(dev)->isr.base);
  vp(dev)->last_isr = isr;
  return (isr & VIRTIO_PCI_ISR_QUEUE ? VIRTIO_INT_USED : 0) |
         (isr & VIRTIO_PCI_ISR_CONFIG ? VIRTIO_INT_CONFIG : 0);
}

const struct virtio_transport virtio_pci_transport = {
    .name = "virtio-pci",
    .describe = describe,
    .get_status = get_status,
    .set_status = set_status,
    .get_features = get_features,
    .set_features = set_features,
    .config_generation = config_generation,
    .config_at = config_at,
    .queue_query = queue_query,
    .queue_enable = queue_enable,
    .queue_reset = queue_reset,
    .notify = notify,
    .interrupt_take = interrupt_take,
    .interrupt_status = interrupt_status,
    .interrupts_enable = virtio_pci_interrupts_enable,
    .interrupts_release = virtio_pci_interrupts_release,
};

uint32_t virtio_pci_device_id(const struct pci_function *fn) {
  if (fn->vendor_id != VIRTIO_PCI_VENDOR) {
    return 0;
  }
  if (fn->device_id >= VIRTIO_PCI_MODERN_BASE &&
      fn->device_id <= VIRTIO_PCI_MODERN_LAST) {
    return fn->device_id - VIRTIO_PCI_MODERN_BASE;
  }
  if (fn->device_id >= VIRTIO_PCI_TRANSITIONAL_FIRST &&
      fn->device_id <= VIRTIO_PCI_TRANSITIONAL_LAST) {
    return fn->subsystem_id;
  }
  return 0;
}

static const char *const cap_names[] = {
    [VIRTIO_PCI_CAP_COMMON_CFG] = "common",
    [VIRTIO_PCI_CAP_NOTIFY_CFG] = "notify",
    [VIRTIO_PCI_CAP_ISR_CFG] = "ISR",
    [VIRTIO_PCI_CAP_DEVICE_CFG] = "device",
};

/* One vendor capability (§4.1.4): its structure inside a memory BAR the
 * enumeration assigned, mapped. */
static rl_status map_cap(struct virtio_pci_device *p, unsigned at,
                         struct virtio_pci_region *out) {
  const struct pci_function *fn = p->fn;
  uint8_t bar = pci_cfg_read8(fn, at + VIRTIO_PCI_CAP_BAR);
  uint32_t offset = pci_cfg_read32(fn, at + VIRTIO_PCI_CAP_OFFSET);
  uint32_t length = pci_cfg_read32(fn, at + VIRTIO_PCI_CAP_LENGTH);
  if (bar >= PCI_BARS || fn->bars[bar].size == 0 ||
      fn->bars[bar].space == PCI_SPACE_IO || length == 0 ||
      (uint64_t)offset + length > fn->bars[bar].size) {
    return RL_ERR_BAD_FORMAT;
  }
  volatile void *va;
  rl_status st = arch_ioremap(fn->bars[bar].cpu_addr + offset, length, &va);
  if (st != RL_OK) {
    return st;
  }
  *out = (struct virtio_pci_region){(volatile uint8_t *)va, length};
  return RL_OK;
}

static rl_status find_caps(struct virtio_pci_device *p, char *why,
                           size_t why_size) {
  const struct pci_function *fn = p->fn;
  struct virtio_pci_region *slots[] = {
      [VIRTIO_PCI_CAP_COMMON_CFG] = &p->common,
      [VIRTIO_PCI_CAP_NOTIFY_CFG] = &p->notify,
      [VIRTIO_PCI_CAP_ISR_CFG] = &p->isr,
      [VIRTIO_PCI_CAP_DEVICE_CFG] = &p->device,
  };
  unsigned at = 0;
  rl_status st;
  while ((st = pci_cap_find(fn, PCI_CAP_ID_VENDOR, at, &at)) == RL_OK) {
    uint8_t len = pci_cfg_read8(fn, at + VIRTIO_PCI_CAP_LEN);
    uint8_t type = pci_cfg_read8(fn, at + VIRTIO_PCI_CAP_TYPE);
    if (type >= RL_ARRAY_SIZE(slots) || slots[type] == NULL ||
        slots[type]->base != NULL) {
      continue; /* §4.1.4: the first of each type is the one to use */
    }
    unsigned need = type == VIRTIO_PCI_CAP_NOTIFY_CFG
                        ? VIRTIO_PCI_NOTIFY_CAP_SIZE
                        : VIRTIO_PCI_CAP_SIZE;
    if (len < need || at + need > PCI_CFG_SIZE) {
      (void)rl_snprintf(why, why_size, "%s capability at %#x is %u bytes",
                        cap_names[type], at, len);
      return RL_ERR_BAD_FORMAT;
    }
    if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
      p->notify_multiplier =
          pci_cfg_read32(fn, at + VIRTIO_PCI_NOTIFY_MULTIPLIER);
    }
    if ((st = map_cap(p, at, slots[type])) != RL_OK) {
      (void)rl_snprintf(why, why_size,
                        "%s capability at %#x points outside its BAR",
                        cap_names[type], at);
      return st;
    }
  }
  if (st != RL_ERR_NOT_FOUND) {
    (void)rl_snprintf(why, why_size, "capability list is malformed");
    return st;
  }
  /* §4.1.4: common, notify and ISR are required; device may be absent. */
  for (unsigned t = VIRTIO_PCI_CAP_COMMON_CFG; t <= VIRTIO_PCI_CAP_ISR_CFG;
       t++) {
    if (slots[t]->base == NULL) {
      (void)rl_snprintf(why, why_size,
                        "no %s capability: not a modern virtio-pci device",
                        cap_names[t]);
      return RL_ERR_NOT_SUPPORTED;
    }
  }
  if (p->common.length < VIRTIO_PCI_COMMON_SIZE) {
    (void)rl_snprintf(why, why_size, "common structure is %u bytes",
                      p->common.length);
    return RL_ERR_BAD_FORMAT;
  }
  return RL_OK;
}

rl_status virtio_pci_device_init(struct virtio_pci_device *p,
                                 const struct pci_function *fn) {
  *p = (struct virtio_pci_device){.fn = fn};
  struct virtio_device *dev = &p->dev;
  char where[16];
  pci_function_name(fn, where, sizeof(where));
  dev->device_id = virtio_pci_device_id(fn);
  (void)rl_snprintf(dev->name, sizeof(dev->name), "virtio-%s@pci-%s",
                    virtio_device_name(dev->device_id), where);
  char why[80] = "";
  rl_status st = find_caps(p, why, sizeof(why));
  if (st != RL_OK) {
    klog(LOG_ERROR, "%s: %s: refused\n", dev->name, why);
    return st;
  }
  dev->transport = &virtio_pci_transport;
  dev->dma.coherent = fn->host->dma_coherent;
  dev->legacy = false;
  p->num_queues = arch_mmio_read16(common(dev, VIRTIO_PCI_COMMON_NUMQ));
  /* §4.1.4.3: queue_reset exists only in a structure long enough. */
  dev->queue_reset_ok = p->common.length >= VIRTIO_PCI_COMMON_RESET_SIZE;
  /* Config changes through INTx too, not through an MSI-X vector. */
  arch_mmio_write16(common(dev, VIRTIO_PCI_COMMON_MSIX), VIRTIO_PCI_NO_VECTOR);
  /* (Until msix.c sets up its vectors: from set_features.) */
  uint32_t cells[8];
  size_t n;
  if ((st = pci_intx_spec(fn, cells, RL_ARRAY_SIZE(cells), &n)) != RL_OK ||
      (st = arch_irq_from_dt(cells, n, &dev->irq)) != RL_OK) {
    klog(LOG_ERROR, "%s: INTx pin %u has no route in the interrupt-map: %s\n",
         dev->name, fn->interrupt_pin, rl_status_str(st));
    return st;
  }
  virtio_pci_msix_init(p);
  return RL_OK;
}

unsigned virtio_pci_probe_all(const struct fdt *fdt) {
  unsigned bound = 0;
  int node = -1;
  while (pci_host_find(fdt, node, &node) == RL_OK) {
    /* Kept for the devices' lifetime: they point at its functions. */
    struct pci_host *host = rl_zalloc(sizeof(*host));
    if (host == NULL) {
      klog(LOG_ERROR, "pci: out of memory for the host bridge\n");
      break;
    }
    rl_status st = pci_host_init(fdt, node, host);
    if (st == RL_OK) {
      st = pci_enumerate(host);
    }
    if (st != RL_OK && st != RL_ERR_NO_SPACE) {
      klog(LOG_ERROR, "pci: host bridge %s: %s\n", fdt_node_name(fdt, node),
           rl_status_str(st));
      rl_free(host);
      continue;
    }
    for (unsigned i = 0; i < host->function_count; i++) {
      const struct pci_function *fn = &host->functions[i];
      uint32_t id = virtio_pci_device_id(fn);
      if (id == 0 || !fn->usable) {
        continue;
      }
      if (virtio_driver_for(id) == NULL) {
        klog(LOG_INFO, "virtio-pci: no driver for device %u (%s)\n", id,
             virtio_device_name(id));
        continue;
      }
      struct virtio_pci_device *p = rl_zalloc(sizeof(*p));
      if (p == NULL) {
        klog(LOG_ERROR, "virtio-pci: out of memory for device %u\n", id);
        break;
      }
      if (virtio_pci_device_init(p, fn) != RL_OK) {
        rl_free(p);
        continue;
      }
      if (virtio_bind(&p->dev) == RL_OK) {
        bound++;
      }
    }
  }
  return bound;
}

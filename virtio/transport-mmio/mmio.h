/* The virtio-mmio transport (virtio 1.2 §4.2): slots found in the device
 * tree's "virtio,mmio" nodes, and the transport interface
 * (virtio/core/transport.h) on their registers, modern (§4.2.2) and
 * legacy (§4.2.4). */
#ifndef VIRTIO_TRANSPORT_MMIO_MMIO_H
#define VIRTIO_TRANSPORT_MMIO_MMIO_H

#include <devicetree/fdt.h>
#include <virtio/core/virtio.h>

struct virtio_mmio_slot {
  int node;
  paddr_t pa;
  uint64_t size;
  unsigned irq; /* controller irq number (arch_irq_from_dt) */
  volatile uint8_t *regs;
  uint32_t magic;
  uint32_t version; /* 1 legacy, 2 modern */
  uint32_t device_id;
  uint32_t vendor_id;
  bool dma_coherent;
};

/* A virtio device on an MMIO slot: the generic device first. */
struct virtio_mmio_device {
  struct virtio_device dev;
  struct virtio_mmio_slot slot;
};

extern const struct virtio_transport virtio_mmio_transport;

/* Reads the index-th "virtio,mmio" node and its identification registers.
 * RL_ERR_NOT_FOUND past the last node only; a node without a usable reg
 * or interrupts is RL_ERR_BAD_FORMAT (or the mapping's error), and the
 * nodes after it are still there. */
rl_status virtio_mmio_slot_at(const struct fdt *fdt, unsigned index,
                              struct virtio_mmio_slot *slot);
/* The same for the "virtio,mmio" node after `*node` (-1: the first),
 * which it sets: a scan of every slot walks the tree once, where
 * virtio_mmio_slot_at starts from the root each time. */
rl_status virtio_mmio_slot_next(const struct fdt *fdt, int *node,
                                struct virtio_mmio_slot *slot);
/* The same for the probe: an empty slot (DeviceID 0) comes back without
 * its interrupt looked up (irq unset; the lookup walks the tree), every
 * other slot as virtio_mmio_slot_next gives it. */
rl_status virtio_mmio_device_next(const struct fdt *fdt, int *node,
                                  struct virtio_mmio_slot *slot);

/* Which devices a probe pass takes: `only` (if non-zero) is the one
 * DeviceID it takes, `except` (if non-zero) one it leaves. */
struct virtio_mmio_filter {
  uint32_t only, except;
};
/* virtio_mmio_device_next for one pass: a slot the filter leaves comes
 * back as empty (DeviceID 0) after one register read. */
rl_status
virtio_mmio_device_next_filtered(const struct fdt *fdt, int *node,
                                 struct virtio_mmio_slot *slot,
                                 const struct virtio_mmio_filter *filter);

/* The same for the "virtio,mmio" node at `node`. */
rl_status
virtio_mmio_device_at_filtered(const struct fdt *fdt, int node,
                               struct virtio_mmio_slot *slot,
                               const struct virtio_mmio_filter *filter);

/* Logs every slot: address, irq, version, device id. Returns how many
 * slots hold a device (DeviceID != 0). */
unsigned virtio_mmio_log_slots(const struct fdt *fdt);

/* Makes `m` the device of `slot` (name, transport, irq, coherence, legacy
 * or modern interface). RL_ERR_NOT_SUPPORTED for an unknown version. */
rl_status virtio_mmio_device_init(struct virtio_mmio_device *m,
                                  const struct virtio_mmio_slot *slot);

/* Every slot with a device: a struct virtio_mmio_device each, bound to
 * its driver (virtio_bind). Returns how many were bound. */
unsigned virtio_mmio_probe_all(const struct fdt *fdt);
/* The same for the devices `filter` takes, in tree order: the boot binds
 * the GPUs first ({.only = 16}: the picture waits for nothing else),
 * then the rest ({.except = 16}). */
unsigned virtio_mmio_probe(const struct fdt *fdt,
                           const struct virtio_mmio_filter *filter);

#endif

/* virtio-mmio slot discovery from the device tree (virtio 1.2 §4.2.2):
 * the seed of the virtio core's device discovery. */
#ifndef VIRTIO_CORE_MMIO_SCAN_H
#define VIRTIO_CORE_MMIO_SCAN_H

#include <devicetree/fdt.h>

struct virtio_mmio_slot {
  int node;
  paddr_t pa;
  uint64_t size;
  unsigned irq; /* controller irq number (arch_irq_from_dt) */
  volatile uint8_t *regs;
  uint32_t magic;
  uint32_t version;
  uint32_t device_id;
  uint32_t vendor_id;
  bool dma_coherent;
};

/* Reads the index-th "virtio,mmio" node and its identification registers.
 * RL_ERR_NOT_FOUND past the last node. */
rl_status virtio_mmio_slot_at(const struct fdt *fdt, unsigned index,
                              struct virtio_mmio_slot *slot);

/* Logs every slot: address, irq, version, device id. Returns how many
 * slots hold a device (DeviceID != 0). */
unsigned virtio_mmio_log_slots(const struct fdt *fdt);

const char *virtio_device_name(uint32_t device_id);

#endif

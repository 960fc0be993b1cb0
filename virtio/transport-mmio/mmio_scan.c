/* virtio-mmio discovery from the device tree (virtio 1.2 §4.2.2): the
 * slots and their identification registers. */
#include <arch/irq.h>
#include <arch/mmio.h>
#include <arch/vm.h>
#include <lib/log.h>
#include <ringlight/config.h>
#include <virtio/transport-mmio/mmio.h>

#include "virtio_mmio.h"

#ifdef CONFIG_ARCH_DMA_COHERENT_DEFAULT
#define ARCH_COHERENT true
#else
#define ARCH_COHERENT false
#endif

static rl_status read_irq(const struct fdt *fdt, int node,
                          struct virtio_mmio_slot *slot) {
  uint32_t cells[4];
  size_t n;
  rl_status st =
      fdt_get_interrupt(fdt, node, 0, cells, RL_ARRAY_SIZE(cells), &n);
  return st != RL_OK ? st : arch_irq_from_dt(cells, n, &slot->irq);
}

/* The node's reg, interrupt and identification registers. Without
 * `empty_irq` an empty slot's (DeviceID 0) interrupt is not looked up:
 * the probe skips those slots, and the lookup walks the tree. */
static rl_status read_slot(const struct fdt *fdt, int node,
                           struct virtio_mmio_slot *slot, bool empty_irq,
                           const struct virtio_mmio_filter *filter) {
  slot->node = node;
  rl_status st = fdt_get_reg(fdt, node, 0, &slot->pa, &slot->size);
  if (st != RL_OK) {
    return st;
  }
  if (slot->size < 0x100) {
    return RL_ERR_BAD_FORMAT;
  }
  if (empty_irq && (st = read_irq(fdt, node, slot)) != RL_OK) {
    return st;
  }
  volatile void *regs;
  if ((st = arch_ioremap(slot->pa, slot->size, &regs)) != RL_OK) {
    return st;
  }
  slot->regs = (volatile uint8_t *)regs;
  slot->magic = arch_mmio_read32(slot->regs + VIRTIO_MMIO_MAGIC_VALUE);
  if (filter != NULL) {
    /* One register to decide: a slot the pass leaves is not read on. */
    slot->device_id = arch_mmio_read32(slot->regs + VIRTIO_MMIO_DEVICE_ID);
    if (slot->magic != VIRTIO_MMIO_MAGIC ||
        (filter->only != 0 && slot->device_id != filter->only) ||
        (filter->except != 0 && slot->device_id == filter->except)) {
      slot->device_id = 0; /* left for the other pass, or no device */
      return RL_OK;
    }
  }
  slot->version = arch_mmio_read32(slot->regs + VIRTIO_MMIO_VERSION);
  slot->device_id = arch_mmio_read32(slot->regs + VIRTIO_MMIO_DEVICE_ID);
  slot->vendor_id = arch_mmio_read32(slot->regs + VIRTIO_MMIO_VENDOR_ID);
  slot->dma_coherent = fdt_dma_coherent(fdt, node, ARCH_COHERENT);
  if (slot->magic != VIRTIO_MMIO_MAGIC) {
    return RL_ERR_BAD_FORMAT;
  }
  if (!empty_irq && slot->device_id != 0 &&
      (st = read_irq(fdt, node, slot)) != RL_OK) {
    return st;
  }
  return RL_OK;
}

static rl_status slot_at(const struct fdt *fdt, int node,
                         struct virtio_mmio_slot *slot, bool empty_irq,
                         const struct virtio_mmio_filter *filter) {
  rl_status st = read_slot(fdt, node, slot, empty_irq, filter);
  /* A node missing reg or interrupts is one bad slot, not the end of
   * the list: it must not hide the slots after it. */
  return st == RL_ERR_NOT_FOUND ? RL_ERR_BAD_FORMAT : st;
}

static rl_status slot_next(const struct fdt *fdt, int *node,
                           struct virtio_mmio_slot *slot, bool empty_irq,
                           const struct virtio_mmio_filter *filter) {
  rl_status st = fdt_find_compatible(fdt, *node, "virtio,mmio", node);
  if (st != RL_OK) {
    return st; /* RL_ERR_NOT_FOUND: past the last node */
  }
  return slot_at(fdt, *node, slot, empty_irq, filter);
}

rl_status virtio_mmio_slot_next(const struct fdt *fdt, int *node,
                                struct virtio_mmio_slot *slot) {
  return slot_next(fdt, node, slot, true, NULL);
}

rl_status virtio_mmio_device_next(const struct fdt *fdt, int *node,
                                  struct virtio_mmio_slot *slot) {
  return slot_next(fdt, node, slot, false, NULL);
}

rl_status
virtio_mmio_device_next_filtered(const struct fdt *fdt, int *node,
                                 struct virtio_mmio_slot *slot,
                                 const struct virtio_mmio_filter *filter) {
  return slot_next(fdt, node, slot, false, filter);
}

rl_status
virtio_mmio_device_at_filtered(const struct fdt *fdt, int node,
                               struct virtio_mmio_slot *slot,
                               const struct virtio_mmio_filter *filter) {
  return slot_at(fdt, node, slot, false, filter);
}

rl_status virtio_mmio_slot_at(const struct fdt *fdt, unsigned index,
                              struct virtio_mmio_slot *slot) {
  int node = -1;
  for (unsigned i = 0; i < index; i++) {
    rl_status st = fdt_find_compatible(fdt, node, "virtio,mmio", &node);
    if (st != RL_OK) {
      return st;
    }
  }
  return virtio_mmio_slot_next(fdt, &node, slot);
}

unsigned virtio_mmio_log_slots(const struct fdt *fdt) {
  unsigned devices = 0;
  unsigned index = 0;
  /* One walk over the tree: each slot from the previous node. */
  for (int node = -1;; index++) {
    struct virtio_mmio_slot slot = {.node = -1};
    rl_status st = virtio_mmio_slot_next(fdt, &node, &slot);
    if (st == RL_ERR_NOT_FOUND) {
      break;
    }
    if (st != RL_OK) {
      /* Name the node and what it lacks, so the tree can be fixed. */
      const char *name = slot.node >= 0 ? fdt_node_name(fdt, slot.node) : NULL;
      const char *lacks = "";
      if (slot.node >= 0 && !fdt_has_prop(fdt, slot.node, "reg")) {
        lacks = " (no reg)";
      } else if (slot.node >= 0 &&
                 !fdt_has_prop(fdt, slot.node, "interrupts") &&
                 !fdt_has_prop(fdt, slot.node, "interrupts-extended")) {
        lacks = " (no interrupts)";
      }
      klog(LOG_WARN,
           "virtio-mmio: slot %u, node %s%s unusable: %s; skipped, the "
           "scan goes on\n",
           index, name != NULL ? name : "?", lacks, rl_status_str(st));
      continue;
    }
    if (slot.device_id != 0) {
      devices++;
    }
    klog(slot.device_id != 0 ? LOG_INFO : LOG_DEBUG,
         "virtio-mmio: slot %#llx irq %u version %u device %u (%s) "
         "vendor %#x%s\n",
         (unsigned long long)slot.pa, slot.irq, slot.version, slot.device_id,
         virtio_device_name(slot.device_id), slot.vendor_id,
         slot.dma_coherent ? " dma-coherent" : "");
  }
  kprintf("virtio-mmio: %u slots, %u with a device\n", index, devices);
  return devices;
}

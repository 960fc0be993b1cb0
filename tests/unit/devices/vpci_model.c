/* The virtio-pci function model (vpci_model.h). */
#include "vpci_model.h"

#include <arch/irq.h>
#include <arch/mmio.h>
#include <arch_host.h>
#include <pci/pci_regs.h>
#include <stdlib.h>
#include <string.h>
#include <virtio/transport-mmio/virtio_mmio.h>
#include <virtio/transport-pci/virtio_pci.h>

static uint32_t rd(struct vpci *v, unsigned reg) {
  return arch_mmio_read32(v->regs + reg);
}

static void wr(struct vpci *v, unsigned reg, uint32_t val) {
  arch_mmio_write32(v->regs + reg, val);
}

/* §4.1.5.1.2: a vector the device cannot use reads back NO_VECTOR (QEMU:
 * one past its table, or the knob's). */
static uint16_t accept_vector(const struct vpci *v, uint32_t val) {
  if (val >= v->msix_entries || val == v->refuse_vector) {
    return VIRTIO_PCI_NO_VECTOR;
  }
  return (uint16_t)val;
}

/* The 64-bit queue address halves: the virtio-mmio register of each. */
static int queue_addr_reg(unsigned off) {
  switch (off) {
  case VIRTIO_PCI_COMMON_Q_DESCLO:
    return VIRTIO_MMIO_QUEUE_DESC_LOW;
  case VIRTIO_PCI_COMMON_Q_DESCHI:
    return VIRTIO_MMIO_QUEUE_DESC_HIGH;
  case VIRTIO_PCI_COMMON_Q_AVAILLO:
    return VIRTIO_MMIO_QUEUE_DRIVER_LOW;
  case VIRTIO_PCI_COMMON_Q_AVAILHI:
    return VIRTIO_MMIO_QUEUE_DRIVER_HIGH;
  case VIRTIO_PCI_COMMON_Q_USEDLO:
    return VIRTIO_MMIO_QUEUE_DEVICE_LOW;
  case VIRTIO_PCI_COMMON_Q_USEDHI:
    return VIRTIO_MMIO_QUEUE_DEVICE_HIGH;
  default:
    return -1;
  }
}

static unsigned width_of(unsigned off) {
  if (off < VIRTIO_PCI_COMMON_MSIX) {
    return 4;
  }
  if (off == VIRTIO_PCI_COMMON_STATUS ||
      off == VIRTIO_PCI_COMMON_CFGGENERATION) {
    return 1;
  }
  return off < VIRTIO_PCI_COMMON_Q_DESCLO || off >= VIRTIO_PCI_COMMON_Q_NDATA
             ? 2
             : 4;
}

static uint32_t queue_reset_read(struct vpci *v, unsigned q);

static uint32_t common_read(struct vpci *v, unsigned off) {
  unsigned q = v->queue_sel < VM_QUEUES ? v->queue_sel : 0;
  switch (off) {
  case VIRTIO_PCI_COMMON_DFSELECT:
    return rd(v, VIRTIO_MMIO_DEVICE_FEATURES_SEL);
  case VIRTIO_PCI_COMMON_DF:
    return rd(v, VIRTIO_MMIO_DEVICE_FEATURES);
  case VIRTIO_PCI_COMMON_MSIX:
    return v->config_msix;
  case VIRTIO_PCI_COMMON_NUMQ:
    return v->num_queues;
  case VIRTIO_PCI_COMMON_STATUS:
    return rd(v, VIRTIO_MMIO_STATUS) & 0xff;
  case VIRTIO_PCI_COMMON_CFGGENERATION:
    return rd(v, VIRTIO_MMIO_CONFIG_GENERATION) & 0xff;
  case VIRTIO_PCI_COMMON_Q_SELECT:
    return v->queue_sel;
  case VIRTIO_PCI_COMMON_Q_SIZE:
    return v->queue_sel < v->num_queues ? v->queue_size[q] : 0;
  case VIRTIO_PCI_COMMON_Q_MSIX:
    return v->queue_msix[q];
  case VIRTIO_PCI_COMMON_Q_ENABLE:
    return rd(v, VIRTIO_MMIO_QUEUE_READY);
  case VIRTIO_PCI_COMMON_Q_NOFF:
    return v->notify_off_override != 0 ? v->notify_off_override : v->queue_sel;
  case VIRTIO_PCI_COMMON_Q_RESET:
    return v->queue_sel < v->num_queues ? queue_reset_read(v, q) : 0;
  default:
    return 0; /* the queue addresses read back as written is not needed */
  }
}

/* §4.1.4.3.1 (virtio-spec issue 139's polarity, as QEMU 7.2): 1 written
 * to queue_reset (only with RING_RESET negotiated) resets the selected
 * queue; queue_reset reads 1 while that goes on and 0, with queue_enable
 * 0, once it is done. A stuck device never finishes and keeps the
 * queue's rings. */
static void queue_reset(struct vpci *v, uint32_t val) {
  unsigned q = v->queue_sel;
  if (val != 1 || q >= v->num_queues || q >= VM_QUEUES ||
      (vm_driver_features(v->vm) & ((uint64_t)1 << 40)) == 0) {
    v->bad_accesses++;
    return;
  }
  v->queue_reset_writes++;
  v->queue_reset[q] = 1;
  v->reset_pending[q] = v->queue_reset_reads + 1;
}

/* A read of queue_reset: the pending reset finishes after
 * `queue_reset_reads` reads (never when stuck). */
static uint32_t queue_reset_read(struct vpci *v, unsigned q) {
  if (v->reset_pending[q] != 0 && !v->stuck_queue_reset &&
      --v->reset_pending[q] == 0) {
    vm_queue_reset(v->vm, q);
    wr(v, VIRTIO_MMIO_QUEUE_SEL, q);
    v->queue_size[q] = (uint16_t)rd(v, VIRTIO_MMIO_QUEUE_NUM_MAX);
    v->queue_reset[q] = 0;
  }
  return v->queue_reset[q];
}

/* §4.1.4.3.2: nothing of a queue changes before its reset reads done. */
static bool reset_pending(struct vpci *v) {
  if (v->queue_sel < VM_QUEUES && v->reset_pending[v->queue_sel] != 0) {
    v->writes_during_reset++;
    return true;
  }
  return false;
}

static void common_write(struct vpci *v, unsigned off, uint32_t val) {
  int reg = queue_addr_reg(off);
  if ((reg >= 0 || off == VIRTIO_PCI_COMMON_Q_SIZE ||
       off == VIRTIO_PCI_COMMON_Q_ENABLE) &&
      reset_pending(v)) {
    return;
  }
  if (reg >= 0) {
    wr(v, (unsigned)reg, val);
    return;
  }
  switch (off) {
  case VIRTIO_PCI_COMMON_DFSELECT:
    wr(v, VIRTIO_MMIO_DEVICE_FEATURES_SEL, val);
    break;
  case VIRTIO_PCI_COMMON_GFSELECT:
    wr(v, VIRTIO_MMIO_DRIVER_FEATURES_SEL, val);
    break;
  case VIRTIO_PCI_COMMON_GF:
    wr(v, VIRTIO_MMIO_DRIVER_FEATURES, val);
    break;
  case VIRTIO_PCI_COMMON_MSIX:
    v->config_msix = accept_vector(v, val);
    break;
  case VIRTIO_PCI_COMMON_STATUS:
    wr(v, VIRTIO_MMIO_STATUS, val);
    if (val == 0) {
      /* A reset forgets the vectors (QEMU's virtio_reset). */
      v->config_msix = VIRTIO_PCI_NO_VECTOR;
      for (unsigned q = 0; q < VM_QUEUES; q++) {
        v->queue_msix[q] = VIRTIO_PCI_NO_VECTOR;
      }
      for (unsigned q = 0; q < VM_QUEUES; q++) {
        wr(v, VIRTIO_MMIO_QUEUE_SEL, q);
        v->queue_size[q] = (uint16_t)rd(v, VIRTIO_MMIO_QUEUE_NUM_MAX);
      }
    }
    break;
  case VIRTIO_PCI_COMMON_Q_SELECT:
    v->queue_sel = (uint16_t)val;
    wr(v, VIRTIO_MMIO_QUEUE_SEL, val);
    break;
  case VIRTIO_PCI_COMMON_Q_SIZE:
    if (v->queue_sel < VM_QUEUES) {
      v->queue_size[v->queue_sel] = (uint16_t)val;
    }
    wr(v, VIRTIO_MMIO_QUEUE_NUM, val);
    break;
  case VIRTIO_PCI_COMMON_Q_MSIX:
    if (v->queue_sel < VM_QUEUES) {
      v->queue_msix[v->queue_sel] = accept_vector(v, val);
    }
    break;
  case VIRTIO_PCI_COMMON_Q_ENABLE:
    wr(v, VIRTIO_MMIO_QUEUE_READY, val);
    break;
  case VIRTIO_PCI_COMMON_Q_RESET:
    queue_reset(v, val);
    break;
  default:
    v->bad_accesses++; /* read-only or outside the structure */
    break;
  }
}

static uint32_t bar_read(void *ctx, size_t offset, unsigned width) {
  struct vpci *v = ctx;
  if (offset < VPCI_ISR) {
    if (offset >= VIRTIO_PCI_COMMON_RESET_SIZE ||
        width != width_of((unsigned)offset)) {
      v->bad_accesses++;
      return 0;
    }
    return common_read(v, (unsigned)offset);
  }
  if (offset == VPCI_ISR) {
    /* §4.1.4.5: reading returns and clears the causes. */
    uint32_t isr = rd(v, VIRTIO_MMIO_INTERRUPT_STATUS);
    wr(v, VIRTIO_MMIO_INTERRUPT_ACK, isr);
    return isr;
  }
  if (offset >= VPCI_DEVICE && offset < VPCI_NOTIFY) {
    size_t at = VIRTIO_MMIO_CONFIG + (offset - VPCI_DEVICE);
    return arch_mmio_read(v->regs + at, width);
  }
  v->bad_accesses++;
  return 0;
}

static void bar_write(void *ctx, size_t offset, unsigned width, uint32_t val) {
  struct vpci *v = ctx;
  if (offset < VPCI_ISR) {
    if (offset >= VIRTIO_PCI_COMMON_RESET_SIZE ||
        width != width_of((unsigned)offset)) {
      v->bad_accesses++;
      return;
    }
    common_write(v, (unsigned)offset, val);
    return;
  }
  if (offset >= VPCI_DEVICE && offset < VPCI_NOTIFY) {
    size_t at = VIRTIO_MMIO_CONFIG + (offset - VPCI_DEVICE);
    arch_mmio_write(v->regs + at, width, val);
    return;
  }
  if (offset >= VPCI_NOTIFY && offset < VPCI_BAR_SIZE && width == 2) {
    /* §4.1.5.2: the queue index at the queue's own address. */
    size_t q = (offset - VPCI_NOTIFY) / VPCI_NOTIFY_MULT;
    if (v->notify_off_override == 0 && q != val) {
      v->bad_notifies++;
    }
    wr(v, VIRTIO_MMIO_QUEUE_NOTIFY, val);
    return;
  }
  v->bad_accesses++;
}

static void cap(struct pci_model_fn *f, unsigned at, uint8_t type,
                uint32_t offset, uint32_t length) {
  uint8_t body[18] = {0};
  body[0] = type == VIRTIO_PCI_CAP_NOTIFY_CFG ? VIRTIO_PCI_NOTIFY_CAP_SIZE
                                              : VIRTIO_PCI_CAP_SIZE;
  body[1] = type;
  body[2] = VPCI_BAR;
  for (unsigned i = 0; i < 4; i++) {
    body[6 + i] = (uint8_t)(offset >> (8 * i));
    body[10 + i] = (uint8_t)(length >> (8 * i));
    body[14 + i] = (uint8_t)(VPCI_NOTIFY_MULT >> (8 * i));
  }
  pci_model_cap(f, at, PCI_CAP_ID_VENDOR, body,
                type == VIRTIO_PCI_CAP_NOTIFY_CFG ? 18 : 14);
}

uint16_t vpci_msix_control(const struct vpci *v) {
  return (uint16_t)(v->fn->cfg[VPCI_MSIX_CAP + PCI_MSIX_CTRL] |
                    v->fn->cfg[VPCI_MSIX_CAP + PCI_MSIX_CTRL + 1] << 8);
}

static bool msix_enabled(const struct vpci *v) {
  return v->msix_entries != 0 &&
         (vpci_msix_control(v) & PCI_MSIX_CTRL_ENABLE) != 0;
}

/* §6.8.2: the message, or its pending bit while masked. */
static void msix_send(struct vpci *v, uint16_t vector) {
  if (vector >= v->msix_entries) {
    v->lost++;
    return;
  }
  const uint32_t *e = v->msix_table[vector];
  if ((vpci_msix_control(v) & PCI_MSIX_CTRL_MASKALL) != 0 ||
      (e[3] & PCI_MSIX_ENTRY_MASKED) != 0) {
    v->msix_pba |= 1u << vector;
    return;
  }
  v->msix_pba &= ~(1u << vector);
  v->msix_messages++;
  host_msi_write((uint64_t)e[1] << 32 | e[0], e[2]);
}

static void msix_send_pending(struct vpci *v) {
  for (unsigned i = 0; i < v->msix_entries; i++) {
    if ((v->msix_pba >> i) & 1u) {
      msix_send(v, (uint16_t)i);
    }
  }
}

static void signal(void *ctx, uint32_t causes, uint32_t queues) {
  struct vpci *v = ctx;
  if (!msix_enabled(v)) {
    uint16_t cmd =
        (uint16_t)(v->fn->cfg[PCI_COMMAND] | v->fn->cfg[PCI_COMMAND + 1] << 8);
    if ((cmd & PCI_COMMAND_INTX_DISABLE) == 0) {
      v->intx_raised++;
      (void)host_irq_raise(v->irq);
    }
    return;
  }
  /* §4.1.5.1.2: with MSI-X the ISR is not needed: each cause has its
   * vector. */
  if (causes & VIRTIO_PCI_ISR_CONFIG) {
    msix_send(v, v->config_msix);
  }
  for (unsigned q = 0; q < VM_QUEUES && q < v->num_queues; q++) {
    if ((causes & VIRTIO_PCI_ISR_QUEUE) && ((queues >> q) & 1u)) {
      msix_send(v, v->queue_msix[q]);
    }
  }
}

static void msix_cfg_write(void *ctx, unsigned reg, unsigned width,
                           uint32_t val) {
  struct vpci *v = ctx;
  unsigned at = VPCI_MSIX_CAP + PCI_MSIX_CTRL;
  uint16_t ctrl;
  if (reg == at && width == 2) {
    ctrl = (uint16_t)val;
  } else if (reg == VPCI_MSIX_CAP && width == 4) {
    ctrl = (uint16_t)(val >> 16);
  } else {
    return; /* read-only */
  }
  uint16_t keep = vpci_msix_control(v) & PCI_MSIX_CTRL_SIZE;
  ctrl = (uint16_t)(keep |
                    (ctrl & (PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL)));
  v->fn->cfg[at] = (uint8_t)ctrl;
  v->fn->cfg[at + 1] = (uint8_t)(ctrl >> 8);
  if (msix_enabled(v)) {
    msix_send_pending(v);
  }
}

static uint32_t msix_bar_read(void *ctx, size_t offset, unsigned width) {
  struct vpci *v = ctx;
  if (width != 4 || offset % 4 != 0) {
    v->bad_accesses++;
    return 0;
  }
  if (offset < (size_t)v->msix_entries * PCI_MSIX_ENTRY_SIZE) {
    return v->msix_table[offset / 16][(offset % 16) / 4];
  }
  return offset == VPCI_MSIX_PBA ? v->msix_pba : 0;
}

static void msix_bar_write(void *ctx, size_t offset, unsigned width,
                           uint32_t val) {
  struct vpci *v = ctx;
  if (width != 4 || offset % 4 != 0 ||
      offset >= (size_t)v->msix_entries * PCI_MSIX_ENTRY_SIZE) {
    v->bad_accesses++;
    return;
  }
  unsigned i = (unsigned)(offset / 16);
  unsigned word = (unsigned)((offset % 16) / 4);
  v->msix_table[i][word] = word == 3 ? (val & PCI_MSIX_ENTRY_MASKED) : val;
  if (word == 3 && msix_enabled(v)) {
    msix_send_pending(v); /* §6.8.2.9: unmasked with its bit pending */
  }
}

void vpci_msix(struct vpci *v, unsigned entries) {
  struct pci_model_fn *f = v->fn;
  v->msix_entries = entries < VPCI_MSIX_MAX ? entries : VPCI_MSIX_MAX;
  for (unsigned i = 0; i < v->msix_entries; i++) {
    v->msix_table[i][3] = PCI_MSIX_ENTRY_MASKED; /* §6.8.2.9: reset */
  }
  uint8_t body[10] = {0};
  uint16_t ctrl = (uint16_t)(v->msix_entries - 1);
  body[0] = (uint8_t)ctrl;
  body[1] = (uint8_t)(ctrl >> 8);
  body[2] = VPCI_MSIX_BAR; /* table: BAR 1 offset 0 */
  uint32_t pba = VPCI_MSIX_PBA | VPCI_MSIX_BAR;
  for (unsigned i = 0; i < 4; i++) {
    body[6 + i] = (uint8_t)(pba >> (8 * i));
  }
  pci_model_cap(f, VPCI_MSIX_CAP, PCI_CAP_ID_MSIX, body, sizeof(body));
  pci_model_bar(f, VPCI_MSIX_BAR, 0x1000, 0);
  pci_model_bar_handler(f, VPCI_MSIX_BAR, msix_bar_read, msix_bar_write, v);
  f->cfg_write = msix_cfg_write;
  f->cfg_ctx = v;
}

struct vpci *vpci_add(struct pci_model *m, unsigned dev, struct vm_dev *vm,
                      uint32_t device_id, uint16_t num_queues) {
  struct vpci *v = calloc(1, sizeof(*v));
  if (v == NULL) {
    return NULL;
  }
  struct virtio_mmio_slot slot;
  vm_slot(vm, true, &slot);
  v->vm = vm;
  v->regs = slot.regs;
  v->num_queues = num_queues;
  v->irq = slot.irq;
  v->refuse_vector = VIRTIO_PCI_NO_VECTOR;
  vm_set_signal(vm, signal, v);
  v->config_msix = VIRTIO_PCI_NO_VECTOR;
  for (unsigned q = 0; q < VM_QUEUES; q++) {
    wr(v, VIRTIO_MMIO_QUEUE_SEL, q);
    v->queue_size[q] = (uint16_t)rd(v, VIRTIO_MMIO_QUEUE_NUM_MAX);
    v->queue_msix[q] = VIRTIO_PCI_NO_VECTOR;
  }
  struct pci_model_fn *f =
      pci_model_add(m, dev, 0, VIRTIO_PCI_VENDOR,
                    (uint16_t)(VIRTIO_PCI_MODERN_BASE + device_id), 0x0000, 0);
  f->cfg[PCI_SUBSYSTEM_VENDOR] = (uint8_t)VIRTIO_PCI_VENDOR;
  f->cfg[PCI_SUBSYSTEM_VENDOR + 1] = (uint8_t)(VIRTIO_PCI_VENDOR >> 8);
  f->cfg[PCI_SUBSYSTEM_ID] = (uint8_t)device_id;
  pci_model_bar(f, VPCI_BAR, VPCI_BAR_SIZE, PCI_BAR_MEM_64 | PCI_BAR_PREFETCH);
  pci_model_bar_handler(f, VPCI_BAR, bar_read, bar_write, v);
  cap(f, 0x40, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON, 0x1000);
  cap(f, 0x50, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR, 0x1000);
  cap(f, 0x60, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVICE, 0x1000);
  cap(f, 0x70, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY, 0x1000);
  v->fn = f;
  return v;
}

void vpci_free(struct vpci *v) {
  if (v != NULL) {
    vm_set_signal(v->vm, NULL, NULL);
  }
  free(v);
}

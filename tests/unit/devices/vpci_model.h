/* A modern virtio-pci function (virtio 1.2 §4.1) for host tests: the
 * vendor capabilities and BAR 4 laid out as QEMU 7.2 lays them out
 * (common 0x0000, ISR 0x1000, device 0x2000, notify 0x3000 with a
 * multiplier of 4, a 16 KiB 64-bit prefetchable BAR), in front of a
 * device model of vmmio.h: every common-configuration access becomes the
 * virtio-mmio register access with the same meaning, so the GPU and rng
 * models serve both transports. queue_reset (§4.1.4.3, with RING_RESET
 * negotiated) becomes vm_queue_reset on that queue. Knobs make it lie. */
#ifndef TESTS_DEVICES_VPCI_MODEL_H
#define TESTS_DEVICES_VPCI_MODEL_H

#include "pci_model.h"
#include "vmmio.h"

#define VPCI_BAR 4
#define VPCI_BAR_SIZE 0x4000u
#define VPCI_COMMON 0x0000u
#define VPCI_ISR 0x1000u
#define VPCI_DEVICE 0x2000u
#define VPCI_NOTIFY 0x3000u
#define VPCI_NOTIFY_MULT 4u
/* MSI-X (vpci_msix), as QEMU 7.2 lays it out: its own 4 KiB BAR 1 with
 * the table at 0 and the PBA at 0x800; the capability at 0x84. */
#define VPCI_MSIX_BAR 1
#define VPCI_MSIX_PBA 0x800u
#define VPCI_MSIX_CAP 0x84u
#define VPCI_MSIX_MAX 8u

struct vpci {
  struct vm_dev *vm;
  struct pci_model_fn *fn;
  volatile uint8_t *regs; /* the vmmio model's registers */
  uint16_t num_queues;
  uint16_t queue_sel;
  uint16_t queue_size[VM_QUEUES];
  uint16_t queue_msix[VM_QUEUES];
  uint16_t config_msix;
  uint16_t queue_reset[VM_QUEUES]; /* §4.1.4.3 queue_reset: 1 = ongoing */
  unsigned reset_pending[VM_QUEUES];
  /* A queue reset reads done (0) only at the n+1-th read of queue_reset
   * after the 1 is written; stuck: never (the device keeps the rings). */
  unsigned queue_reset_reads;
  bool stuck_queue_reset;
  unsigned queue_reset_writes;  /* 1s written to queue_reset */
  unsigned writes_during_reset; /* queue fields written before it read 1 */
  uint16_t notify_off_override; /* non-zero: every queue_notify_off */
  unsigned bad_accesses;        /* wrong width or offset */
  unsigned bad_notifies;        /* notify value not the queue's index */
  unsigned irq;                 /* INTx: the vmmio model's line */
  /* MSI-X: table entries (0: no capability), each {address lo, hi,
   * data, vector control}; pending bits; a vector the device reads back
   * as NO_VECTOR when the driver writes it (0xffff: none, §4.1.5.1.2). */
  unsigned msix_entries;
  uint32_t msix_table[VPCI_MSIX_MAX][4];
  uint32_t msix_pba;
  uint16_t refuse_vector;
  unsigned msix_messages; /* messages written to their address */
  unsigned intx_raised;   /* INTx assertions (not while INTx disabled) */
  unsigned lost;          /* interrupts with no vector to send them to */
};

/* A virtio-pci function at bus 0 device `dev` for the vmmio device `vm`
 * (modern, version 2): device id 0x1040 + its virtio id. */
struct vpci *vpci_add(struct pci_model *m, unsigned dev, struct vm_dev *vm,
                      uint32_t device_id, uint16_t num_queues);
void vpci_free(struct vpci *v);
/* Adds the MSI-X capability with `entries` table entries (call after
 * vpci_add, before enumeration). With MSI-X enabled (Message Control)
 * an interrupt is a message to the vector's address through
 * host_msi_write, or a pending bit while the vector or the function is
 * masked (sent when unmasked); a cause whose vector is NO_VECTOR is
 * lost. Without, INTx unless the command register disables it. */
void vpci_msix(struct vpci *v, unsigned entries);
/* Message Control as the driver left it. */
uint16_t vpci_msix_control(const struct vpci *v);

#endif

/* The modern virtio-pci transport (virtio 1.2 §4.1): virtio functions on
 * the PCI buses of pci/, and the transport interface
 * (virtio/core/transport.h) on their vendor capabilities. */
#ifndef VIRTIO_TRANSPORT_PCI_PCI_H
#define VIRTIO_TRANSPORT_PCI_PCI_H

#include <arch/msi.h>
#include <pci/pci.h>
#include <virtio/core/virtio.h>

/* One structure a vendor capability points at, mapped. */
struct virtio_pci_region {
  volatile uint8_t *base;
  uint32_t length;
};

/* MSI-X (msix.c): table entry and vector 0 for configuration changes,
 * 1 + i for queue i (virtio 1.2 §4.1.5.1.2). */
#define VIRTIO_PCI_VECTORS (1 + VIRTIO_MAX_QUEUES)

struct virtio_pci_device;

struct virtio_pci_vector {
  struct virtio_pci_device *p;
  unsigned entry; /* 0: configuration changes, 1 + i: queue i */
};

struct virtio_pci_msix {
  bool on;      /* MSI-X enabled, the vectors programmed */
  bool live;    /* handlers registered on the vectors' irqs */
  bool intx;    /* the INTx handler registered (fallback) */
  unsigned cap; /* the capability's offset */
  volatile uint8_t *table;
  unsigned count; /* vectors allocated */
  struct arch_msi_vector vec[VIRTIO_PCI_VECTORS];
  struct virtio_pci_vector ctx[VIRTIO_PCI_VECTORS];
  char why[80]; /* why INTx, when it is */
};

struct virtio_pci_device {
  struct virtio_device dev; /* first: the core's device */
  const struct pci_function *fn;
  struct virtio_pci_region common, isr, device, notify;
  uint32_t notify_multiplier;
  uint16_t num_queues;
  volatile uint8_t *queue_notify[VIRTIO_MAX_QUEUES];
  uint32_t last_isr; /* the ISR's last reading (reading clears it) */
  struct virtio_pci_msix msix;
};

extern const struct virtio_transport virtio_pci_transport;

/* The virtio device id of a PCI function, 0 when it is not virtio. */
uint32_t virtio_pci_device_id(const struct pci_function *fn);

/* Makes `p` the device of `fn`: finds the common, notify, ISR and device
 * capabilities (each checked against its BAR), maps them, routes INTx.
 * RL_ERR_NOT_SUPPORTED naming what is missing when the function has no
 * modern interface; RL_ERR_BAD_FORMAT for capabilities that point
 * outside their BAR. */
rl_status virtio_pci_device_init(struct virtio_pci_device *p,
                                 const struct pci_function *fn);

/* Every ECAM host bridge in the tree: enumerate it, bind each virtio
 * function to its driver. Returns how many were bound. */
unsigned virtio_pci_probe_all(const struct fdt *fdt);

#endif

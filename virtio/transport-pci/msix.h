/* MSI-X for the virtio-pci transport (msix.c), internal to it. */
#ifndef VIRTIO_TRANSPORT_PCI_MSIX_H
#define VIRTIO_TRANSPORT_PCI_MSIX_H

#include <virtio/transport-pci/pci.h>

/* At init: MSI-X set up when the function has the capability and the
 * bridge's MSI controller gives vectors (entries programmed, masked;
 * MSI-X enabled; INTx disabled), else INTx with the reason kept for the
 * log. Never fails: INTx is always there. */
void virtio_pci_msix_init(struct virtio_pci_device *p);
/* After each reset (from set_features): the configuration vector
 * written and read back; a refusal falls back to INTx. */
void virtio_pci_msix_config_vector(struct virtio_pci_device *p);
/* Before queue `index` is enabled (queue selected): its vector, read
 * back; a refusal falls back to INTx. */
void virtio_pci_msix_queue_vector(struct virtio_pci_device *p, unsigned index);
/* The transport ops (virtio/core/transport.h). */
rl_status virtio_pci_interrupts_enable(struct virtio_device *dev);
void virtio_pci_interrupts_release(struct virtio_device *dev);

#endif

/* virtio over PCI (virtio 1.2 §4.1): identification, the vendor
 * capabilities and the common configuration structure's layout. */
#ifndef VIRTIO_TRANSPORT_PCI_VIRTIO_PCI_H
#define VIRTIO_TRANSPORT_PCI_VIRTIO_PCI_H

/* §4.1.2: vendor 0x1af4; modern device ids 0x1040 + virtio id,
 * transitional ones 0x1000..0x103f with the virtio id in the subsystem
 * device id. */
#define VIRTIO_PCI_VENDOR 0x1af4u
#define VIRTIO_PCI_TRANSITIONAL_FIRST 0x1000u
#define VIRTIO_PCI_TRANSITIONAL_LAST 0x103fu
#define VIRTIO_PCI_MODERN_BASE 0x1040u
#define VIRTIO_PCI_MODERN_LAST 0x107fu

/* §4.1.4 struct virtio_pci_cap, after the generic id and next bytes. */
#define VIRTIO_PCI_CAP_LEN 2     /* u8 cap_len */
#define VIRTIO_PCI_CAP_TYPE 3    /* u8 cfg_type */
#define VIRTIO_PCI_CAP_BAR 4     /* u8 bar */
#define VIRTIO_PCI_CAP_OFFSET 8  /* le32 */
#define VIRTIO_PCI_CAP_LENGTH 12 /* le32 */
#define VIRTIO_PCI_CAP_SIZE 16
#define VIRTIO_PCI_NOTIFY_MULTIPLIER 16 /* §4.1.4.4 le32, notify cap only */
#define VIRTIO_PCI_NOTIFY_CAP_SIZE 20

/* cfg_type values. */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

/* §4.1.4.3 struct virtio_pci_common_cfg. */
#define VIRTIO_PCI_COMMON_DFSELECT 0x00
#define VIRTIO_PCI_COMMON_DF 0x04
#define VIRTIO_PCI_COMMON_GFSELECT 0x08
#define VIRTIO_PCI_COMMON_GF 0x0c
#define VIRTIO_PCI_COMMON_MSIX 0x10
#define VIRTIO_PCI_COMMON_NUMQ 0x12
#define VIRTIO_PCI_COMMON_STATUS 0x14
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15
#define VIRTIO_PCI_COMMON_Q_SELECT 0x16
#define VIRTIO_PCI_COMMON_Q_SIZE 0x18
#define VIRTIO_PCI_COMMON_Q_MSIX 0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE 0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF 0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO 0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI 0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO 0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI 0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO 0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI 0x34
#define VIRTIO_PCI_COMMON_SIZE 0x38       /* virtio 1.0's part: required */
#define VIRTIO_PCI_COMMON_Q_NDATA 0x38    /* le16 queue_notify_data */
#define VIRTIO_PCI_COMMON_Q_RESET 0x3a    /* le16 queue_reset (§4.1.4.3) */
#define VIRTIO_PCI_COMMON_RESET_SIZE 0x3c /* with queue_reset */

#define VIRTIO_PCI_NO_VECTOR 0xffffu /* §4.1.5.1.2 */

/* §4.1.4.5: ISR status bits (reading clears them). */
#define VIRTIO_PCI_ISR_QUEUE 0x1u
#define VIRTIO_PCI_ISR_CONFIG 0x2u

#endif

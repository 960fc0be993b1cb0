/* The transport interface (virtio 1.2 §4): what the virtio core asks of a
 * bus that carries virtio devices. The core speaks only this; the MMIO
 * transport (virtio/transport-mmio) implements it, and a PCI transport
 * plugs in the same way, without touching the core or the ring backends.
 *
 * A transport fills the generic part of struct virtio_device (name,
 * transport, device_id, irq, dma (its coherence), legacy, legacy_align) when it
 * finds a device, then hands it to virtio_bind (bus.c). Every call takes
 * that device; the transport finds its own state from it. */
#ifndef VIRTIO_CORE_TRANSPORT_H
#define VIRTIO_CORE_TRANSPORT_H

#include <ringlight/status.h>
#include <ringlight/types.h>
#include <virtio/core/vq_backend.h>

struct virtio_device;

/* Interrupt causes (§2.7.7 used buffer, §2.5 configuration change), as
 * every transport's ISR reports them (§4.1.4.5, §4.2.2). */
#define VIRTIO_INT_USED 1u
#define VIRTIO_INT_CONFIG 2u

struct virtio_transport {
  const char *name; /* "virtio-mmio" */
  /* One line for logs and the console header: "virtio-mmio@0xa003e00 v2
   * (modern)". */
  void (*describe)(const struct virtio_device *dev, char *buf, size_t size);

  /* §2.1 device status; writing 0 resets the device (§2.4). */
  uint32_t (*get_status)(struct virtio_device *dev);
  void (*set_status)(struct virtio_device *dev, uint32_t status);

  /* §2.2: all the feature bits the device offers; the ones the driver
   * accepts (a legacy interface also learns the guest page size here,
   * before any queue). */
  uint64_t (*get_features)(struct virtio_device *dev);
  void (*set_features)(struct virtio_device *dev, uint64_t features);

  /* §2.5 device configuration: where the field of `width` bytes (1, 2 or
   * 4, aligned: the core checks) at `offset` is, NULL when it is outside
   * the configuration space. The core reads and writes it at its width
   * and does the generation retry (config_generation: 0 where there is
   * none). */
  uint32_t (*config_generation)(struct virtio_device *dev);
  volatile uint8_t *(*config_at)(struct virtio_device *dev, uint32_t offset,
                                 unsigned width);

  /* Queue `index`: its maximum size (0: no such queue), RL_ERR_BUSY when
   * the device says it is already live. */
  rl_status (*queue_query)(struct virtio_device *dev, unsigned index,
                           uint32_t *max_size);
  /* Tells the device the queue's size and rings, and enables it; on an
   * error the queue stays disabled (the core frees the rings). */
  rl_status (*queue_enable)(struct virtio_device *dev, unsigned index,
                            uint32_t size, const struct vq_addrs *addrs);
  /* §2.6.1 per-queue reset (NULL: the transport has none, as virtio-mmio
   * in QEMU 7.2, and VIRTIO_F_RING_RESET is not accepted): resets queue
   * `index` alone and waits, with a deadline, until the device says the
   * reset is done; the queue is then disabled and the device no longer
   * touches its rings. RL_ERR_TIMEOUT when it does not finish. Usable only
   * when the transport set the device's `queue_reset_ok`. */
  rl_status (*queue_reset)(struct virtio_device *dev, unsigned index);
  /* §2.7.13 / §2.8.22: available buffer notification for queue `index`,
   * ordered after the ring writes. */
  void (*notify)(struct virtio_device *dev, unsigned index);

  /* Reads the interrupt status, acknowledges every bit it read (known or
   * not: a cause left set would keep the line asserted) and returns the
   * causes among them (VIRTIO_INT_*). */
  uint32_t (*interrupt_take)(struct virtio_device *dev);
  /* The interrupt status as the device shows it, for diagnostics. */
  uint32_t (*interrupt_status)(struct virtio_device *dev);

  /* Optional: the transport delivers interrupts itself (virtio-pci
   * MSI-X: a vector per queue and one for configuration changes, whose
   * handlers call virtio_queue_interrupt and virtio_config_interrupt).
   * NULL: the core registers one handler on dev->irq that runs
   * virtio_handle_interrupt. interrupts_enable registers and enables the
   * handlers (from virtio_device_ready, once); interrupts_release takes
   * them off (virtio_device_release). */
  rl_status (*interrupts_enable)(struct virtio_device *dev);
  void (*interrupts_release)(struct virtio_device *dev);
};

#endif

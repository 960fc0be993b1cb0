/* The virtio core (virtio 1.2 §2, §3): devices on any transport
 * (transport.h; virtio-mmio is virtio/transport-mmio), feature
 * negotiation, virtqueues through a queue backend, interrupts, and an
 * async-first request API with a blocking wait on top.
 *
 * A driver's probe calls virtio_negotiate, virtio_queue_setup for each
 * queue, then virtio_device_ready. Requests: virtqueue_add (any number)
 * then virtqueue_kick, or virtqueue_submit for both; each completion calls
 * the queue's `done` callback with the token and the written length, from
 * the interrupt handler or from virtqueue_poll; virtqueue_wait idles until
 * a flag the callback sets, or a deadline. */
#ifndef VIRTIO_CORE_VIRTIO_H
#define VIRTIO_CORE_VIRTIO_H

#include <arch/dma.h>
#include <ringlight/status.h>
#include <ringlight/types.h>
#include <virtio/core/transport.h>
#include <virtio/core/vq_backend.h>

/* Transport feature bits (§6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34
#define VIRTIO_F_IN_ORDER 35
#define VIRTIO_F_ORDER_PLATFORM 36
#define VIRTIO_F_NOTIFICATION_DATA 38
#define VIRTIO_F_RING_RESET 40
#define VIRTIO_BIT(b) ((uint64_t)1 << (b))

/* Device interrupts (CONFIG_VIRTIO_INTERRUPTS; host builds always have
 * them, their tests drive the handlers): without them no handler is
 * registered, virtqueue_wait polls, and virtio_poll_all reads each
 * device's status for DEVICE_NEEDS_RESET. */
#if defined(CONFIG_VIRTIO_INTERRUPTS) || !defined(RINGLIGHT_KERNEL)
#define VIRTIO_IRQS 1
#else
#define VIRTIO_IRQS 0
#endif

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

#define VIRTIO_MAX_QUEUES 4

struct virtio_device;
struct virtqueue;

typedef void (*virtqueue_done_fn)(struct virtqueue *vq, void *token,
                                  uint32_t len);

struct virtio_driver {
  /* "virtio-" and the device's name (virtio_device_name without
   * CONFIG_LOG_TEXT gives what follows "virtio-"). */
  const char *name;
  uint32_t device_id;
  /* Device-specific feature names for the log, from bit 0 up, each
   * ended by its NUL ("" for a bit without a name; a string is smaller
   * than a table of pointers): feature_name_count of them. */
  const char *feature_names;
  unsigned feature_name_count;
  rl_status (*probe)(struct virtio_device *dev);
  /* From the interrupt handler: keep it short, defer work to poll. */
  void (*config_changed)(struct virtio_device *dev);
  /* From the kernel's main loop, outside interrupt context (may be NULL). */
  void (*poll)(struct virtio_device *dev);
};

struct virtio_device {
  char name[48]; /* "virtio-rng@0x10007000" */
  /* Filled by the transport that found the device. */
  const struct virtio_transport *transport;
  uint32_t device_id;
  unsigned irq;            /* interrupt line (arch_irq_* number) */
  struct arch_dma_dev dma; /* its DMA domain: coherent or not */
  bool legacy;             /* legacy interface (§2.7.2 queue layout) */
  uint32_t legacy_align;   /* its QueueAlign */
  bool queue_reset_ok;     /* transport->queue_reset works on it */
  /* The core's. */
  uint64_t device_features; /* offered by the device */
  uint64_t features;        /* negotiated */
  /* The ring backend its queues use, chosen at negotiation, and why. */
  const struct vq_backend_desc *ring;
  char ring_why[64];
  const struct virtio_driver *driver;
  /* Opaque to drivers (virtqueue_impl.h is the core's); allocated at the
   * first setup of each index, kept across resets. */
  struct virtqueue *queues[VIRTIO_MAX_QUEUES];
  bool irq_ready;
  bool irq_later; /* ready before the controller: virtio_irqs_attach */
  bool failed;
  volatile bool needs_reset; /* DEVICE_NEEDS_RESET seen; recovery pending */
  unsigned long config_changes;
  void *priv; /* the driver's */
};

/* §3.1.1 steps 1-6: reset (waits until Status reads 0), ACKNOWLEDGE,
 * DRIVER, features (driver's device-specific `wanted` plus the transport
 * features Kconfig enables and the ring backend needs), FEATURES_OK
 * written and read back (modern).
 * Logs offered, accepted and refused features by name. */
rl_status virtio_negotiate(struct virtio_device *dev, uint64_t wanted);
bool virtio_has_feature(const struct virtio_device *dev, unsigned bit);

/* Sets up queue `index` with at most `max_size` entries (capped by
 * QueueNumMax), through the configured backend. */
rl_status virtio_queue_setup(struct virtio_device *dev, unsigned index,
                             const char *name, uint16_t max_size,
                             virtqueue_done_fn done, struct virtqueue **out);

/* DRIVER_OK (§3.1.1 step 8) and interrupts on; when the interrupt
 * controller is not up yet (arch_time_early), polled until
 * virtio_irqs_attach. */
rl_status virtio_device_ready(struct virtio_device *dev);
/* Sets FAILED and logs why; the device is unusable afterwards. */
void virtio_device_fail(struct virtio_device *dev, rl_status why,
                        const char *what);
uint32_t virtio_device_status(struct virtio_device *dev);
/* Resets the device (status 0), fails every outstanding request by
 * calling its queue's done callback with len UINT32_MAX, and releases the
 * queues: the driver negotiates and sets them up again. A reset that does
 * not complete (RL_ERR_TIMEOUT) fails the device instead and leaves its
 * queues, rings and outstanding requests to it: nothing is freed or
 * completed, since the device may still write them. In a build that
 * resets nothing else (neither CONFIG_VIRTIO_RECOVERY nor
 * CONFIG_VIRTIO_RING_RESET: the backends cannot hand requests back,
 * VQ_DETACH) a device with a live queue is left alone:
 * RL_ERR_NOT_SUPPORTED. */
rl_status virtio_device_reset(struct virtio_device *dev);
/* After a reset, frees the core's records of `dev` (its queue objects)
 * and takes its handler off its interrupt line (which other devices may
 * share), for a caller that frees the device itself (host tests). */
void virtio_device_release(struct virtio_device *dev);

/* Per-queue reset (§2.6.1), when VIRTIO_F_RING_RESET was negotiated:
 * resets `vq` alone through the transport, fails every request pending
 * on it (its done callback gets len UINT32_MAX), gives it fresh rings and
 * enables it again; the device and its other queues keep running.
 * RL_ERR_NOT_SUPPORTED without RING_RESET (nothing done). A reset that
 * does not complete fails the device (RL_ERR_TIMEOUT) and leaves the old
 * rings and requests to it, as virtio_device_reset does. Outside
 * interrupt context; done callbacks must not wait. virtqueue_wait calls it
 * on a broken queue or a timeout, virtio_poll_all on a queue found broken
 * in the interrupt handler. */
rl_status virtio_queue_reset(struct virtqueue *vq);
/* True when `vq` can be reset alone (RING_RESET negotiated). */
bool virtqueue_resettable(const struct virtqueue *vq);
/* From the main loop (virtio_poll_all): resets each broken queue of `dev`
 * that can be reset alone. */
void virtio_reset_broken_queues(struct virtio_device *dev);

/* DEVICE_NEEDS_RESET (§2.1.2) recovery, outside interrupt context: resets
 * the device (its pending requests fail, see virtio_device_reset) and runs
 * the driver's probe again. virtio_poll_all calls it for devices that
 * reported the condition. */
rl_status virtio_device_recover(struct virtio_device *dev);

/* Device configuration space (§4.2.2.2: access width = field width),
 * read under the ConfigGeneration retry (§2.5.1) on modern devices. */
rl_status virtio_config_read(struct virtio_device *dev, uint32_t offset,
                             unsigned width, uint64_t *value);
rl_status virtio_config_write32(struct virtio_device *dev, uint32_t offset,
                                uint32_t value);
/* A one-byte field (virtio-input's select and subsel, §5.8.4). */
rl_status virtio_config_write8(struct virtio_device *dev, uint32_t offset,
                               uint8_t value);

/* The interrupt handler (VIRTIO_IRQS builds): acknowledges, drains every
 * queue (done callbacks), reports configuration changes to the driver. */
void virtio_handle_interrupt(struct virtio_device *dev);
/* For a transport with its own interrupt per cause (interrupts_enable):
 * queue `index` has used buffers (drains it: done callbacks); the device
 * configuration changed (or the device needs a reset). */
void virtio_queue_interrupt(struct virtio_device *dev, unsigned index);
void virtio_config_interrupt(struct virtio_device *dev);

/* Requests. */
rl_status virtqueue_add(struct virtqueue *vq, const struct vq_seg *out,
                        unsigned nout, const struct vq_seg *in, unsigned nin,
                        void *token);
/* Notifies the device if event suppression says it wants to hear. */
void virtqueue_kick(struct virtqueue *vq);
rl_status virtqueue_submit(struct virtqueue *vq, const struct vq_seg *out,
                           unsigned nout, const struct vq_seg *in, unsigned nin,
                           void *token);
/* Asks the device not to interrupt for this queue's used buffers until
 * the next virtqueue_poll (virtqueue_wait polls) re-arms it (virtio 1.2
 * §2.7.10, §2.8.10): for requests whose answers are read later anyway. */
void virtqueue_disable_cb(struct virtqueue *vq);
/* Collects used buffers and calls `done` for each. Returns how many, or
 * RL_ERR_BROKEN (the queue is then broken until a reset of it, or of the
 * device). */
int virtqueue_poll(struct virtqueue *vq);
/* Idles until *done is true (set by the done callback), polling the queue
 * after every wake-up, or until timeout_ns passes: RL_ERR_TIMEOUT, with a
 * log line naming the device, the queue and both sides' ring indices.
 * On that timeout, or a broken queue, with RING_RESET negotiated, the
 * queue is reset alone first (virtio_queue_reset): every request pending
 * on it, the awaited one too, has failed when this returns. */
rl_status virtqueue_wait(struct virtqueue *vq, const volatile bool *done,
                         uint64_t timeout_ns);
/* The ring layout in use ("split", "packed"), the queue size, and the
 * counters tests and benchmarks read. */
const char *virtqueue_ring_name(const struct virtqueue *vq);
uint16_t virtqueue_size(const struct virtqueue *vq);
struct virtqueue_counts {
  unsigned long notifications; /* available buffer notifications sent */
  unsigned long interrupts;    /* used buffer interrupts taken */
  unsigned long completions;   /* used buffers handed to `done` */
};
void virtqueue_counts(const struct virtqueue *vq, struct virtqueue_counts *out);
/* "driver idx 3, used seen 2, device idx 2, 1 in flight, 255 free". */
void virtqueue_describe(const struct virtqueue *vq, char *buf, size_t size);

/* Feature bit name ("EVENT_IDX"), or NULL. */
const char *virtio_feature_name(const struct virtio_device *dev, unsigned bit);

/* The drivers built in (drivers/registry.c); the one for a device id, or
 * NULL. */
extern const struct virtio_driver *const virtio_drivers[];
extern const size_t virtio_driver_count;
const struct virtio_driver *virtio_driver_for(uint32_t device_id);
/* A transport found `dev`: binds its driver and probes it. A device whose
 * probe fails is marked FAILED and kept (it may still hold our rings). */
rl_status virtio_bind(struct virtio_device *dev);
/* Calls every bound driver's poll hook. */
void virtio_poll_all(void);
#if VIRTIO_IRQS
/* On: the kernel probes before the interrupt controller is up (its
 * drivers-first boot): the devices made ready are polled, without trying
 * their lines, until virtio_irqs_attach (which turns it off). */
void virtio_irqs_hold(bool on);
/* Once the interrupt controller is up (arch_irq_init): interrupts on for
 * the bound devices made ready before it; a line that still cannot be
 * used leaves its device polled, with a warning. */
void virtio_irqs_attach(void);
/* The same for one device (bus.c's loop; virtio_device_ready): on a
 * retry, also takes what it signalled while polled. */
void virtio_irq_attach(struct virtio_device *dev);
#else /* every device is polled: nothing to attach, no code */
static inline void virtio_irqs_hold(bool on) { (void)on; }
static inline void virtio_irqs_attach(void) {}
static inline void virtio_irq_attach(struct virtio_device *dev) { (void)dev; }
#endif
/* "gpu", "rng", ... (§5 device ids); without CONFIG_LOG_TEXT only the
 * devices with a driver in the image are named, the others "other". */
const char *virtio_device_name(uint32_t device_id);

#endif

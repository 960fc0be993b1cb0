/* Which ring backend a device's queues use: the Kconfig-ordered table of
 * backend descriptors (vq_backend.h) meets what the device offers, once,
 * at negotiation. Internal to virtio/core. */
#ifndef VIRTIO_CORE_VQ_SELECT_H
#define VIRTIO_CORE_VQ_SELECT_H

#include <lib/fmt.h>
#include <lib/log.h>
#include <ringlight/config.h>
#include <virtio/core/virtio.h>

/* Why a backend was chosen, for the boot log. */
struct vq_choice {
  char why[64]; /* short, for the queue's log line ("RING_PACKED negotiated") */
  /* Not empty: one line to log, naming the device: a warning when a
   * backend was refused for a reason the user should see (the packed ring
   * on a non-coherent device), the error when none fits. */
  char warning[320];
};

/* The first backend of the build's Kconfig-ordered table that fits a
 * device offering `offered` (its feature, a modern interface and a
 * dma-coherent device where it needs them), and why. NULL when none
 * fits: then `why->warning` says why. */
#if defined(RINGLIGHT_KERNEL) && defined(CONFIG_VIRTIO_QUEUE_SPLIT_ONLY)
/* A split-only kernel: the split ring fits every device (§2.7: any
 * transport, no feature bit, no coherence needed; vq_split_desc), so
 * neither the walk nor its explanations are in the image. */
extern const struct vq_backend_desc vq_split_desc;
static inline const struct vq_backend_desc *
vq_select(const struct virtio_device *dev, uint64_t offered,
          struct vq_choice *why) {
  (void)dev;
  (void)offered;
  why->why[0] = '\0';
  if (CONFIG_LOG_LEVEL >= LOG_INFO) { /* read by an info line only */
    (void)rl_append(why->why, sizeof(why->why), 0, "the only backend built");
  }
  why->warning[0] = '\0';
  return &vq_split_desc;
}
#else
const struct vq_backend_desc *vq_select(const struct virtio_device *dev,
                                        uint64_t offered,
                                        struct vq_choice *why);
#endif
/* The same walk over `table` (n entries, in preference order): tests run
 * it on the tables of other configurations. */
const struct vq_backend_desc *
vq_select_from(const struct vq_backend_desc *const *table, size_t n,
               const struct virtio_device *dev, uint64_t offered,
               struct vq_choice *why);
/* The queue size `desc` can use, at most `size`. */
uint32_t vq_select_size(const struct vq_backend_desc *desc, uint32_t size);

#endif

#include <kernel/panic.h>
#include <ringlight/config.h>

#include "vq_select.h"

#ifdef CONFIG_VIRTIO_QUEUE_SPLIT
extern const struct vq_ops vq_split_ops;
#endif
#ifdef CONFIG_VIRTIO_QUEUE_PACKED
extern const struct vq_ops vq_packed_ops;
#endif

#if !defined(CONFIG_VIRTIO_QUEUE_SPLIT) && !defined(CONFIG_VIRTIO_QUEUE_PACKED)
#error                                                                         \
    "no virtqueue backend: set CONFIG_VIRTIO_QUEUE_SPLIT or CONFIG_VIRTIO_QUEUE_PACKED (menuconfig: Virtio)"
#endif

uint64_t vq_select_transport_features(const struct virtio_device *dev) {
#if defined(CONFIG_VIRTIO_QUEUE_PACKED) &&                                     \
    !defined(CONFIG_VIRTIO_QUEUE_PREFER_SPLIT)
  if (!dev->legacy) {
    return VIRTIO_BIT(VIRTIO_F_RING_PACKED); /* §2.8: modern only */
  }
#endif
  (void)dev;
  return 0;
}

rl_status vq_select_check(const struct virtio_device *dev, uint64_t accepted) {
  bool packed = (accepted & VIRTIO_BIT(VIRTIO_F_RING_PACKED)) != 0;
#ifdef CONFIG_VIRTIO_QUEUE_SPLIT
  (void)dev;
  (void)packed;
  return RL_OK;
#else
  if (packed) {
    return RL_OK;
  }
  klog(LOG_ERROR,
       "%s: this build has only the packed ring, and the device %s "
       "VIRTIO_F_RING_PACKED (bit 34)%s; enable CONFIG_VIRTIO_QUEUE_SPLIT "
       "(menuconfig: Virtio > Split virtqueue backend)\n",
       dev->name, dev->legacy ? "cannot offer" : "does not offer",
       dev->legacy ? " on the legacy transport" : "");
  return RL_ERR_NOT_SUPPORTED;
#endif
}

rl_status vq_select(const struct virtio_device *dev, struct vq_choice *out) {
  bool packed = virtio_has_feature(dev, VIRTIO_F_RING_PACKED);
#ifdef CONFIG_VIRTIO_QUEUE_PACKED
  if (packed) {
    out->ops = &vq_packed_ops;
    out->why = "RING_PACKED negotiated";
    return RL_OK;
  }
#endif
#ifdef CONFIG_VIRTIO_QUEUE_SPLIT
  out->ops = &vq_split_ops;
#if defined(CONFIG_VIRTIO_QUEUE_PREFER_SPLIT)
  out->why = "preferred (CONFIG_VIRTIO_QUEUE_PREFER_SPLIT)";
#elif defined(CONFIG_VIRTIO_QUEUE_PACKED)
  out->why = dev->legacy ? "legacy transport: no RING_PACKED"
                         : "device does not offer RING_PACKED";
#else
  out->why = "the only backend built";
#endif
  (void)packed;
  return RL_OK;
#else
  (void)packed;
  return RL_ERR_NOT_SUPPORTED;
#endif
}

uint32_t vq_select_size(const struct vq_choice *choice, uint32_t size) {
#ifdef CONFIG_VIRTIO_QUEUE_SPLIT
  if (choice->ops == &vq_split_ops) {
    /* §2.7: split queue sizes are powers of two. */
    uint32_t p = 1;
    while (p * 2 <= size && p < 32768) {
      p *= 2;
    }
    return p;
  }
#endif
  (void)choice;
  return RL_MIN(size, 32768u);
}

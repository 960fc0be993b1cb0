/* Which queue backend a device's queues use: the Kconfig choice meets
 * what the device offers. Internal to virtio/core. */
#ifndef VIRTIO_CORE_VQ_SELECT_H
#define VIRTIO_CORE_VQ_SELECT_H

#include <virtio/core/virtio.h>

struct vq_choice {
  const struct vq_ops *ops;
  const char *why; /* for the boot log */
};

/* RING_PACKED when the packed backend is built and the transport is
 * modern (a legacy transport has no second feature word). */
uint64_t vq_select_transport_features(const struct virtio_device *dev);
/* After negotiation: RL_OK when some built backend can run with the
 * accepted features; otherwise logs the missing feature and the Kconfig
 * option to change, and returns RL_ERR_NOT_SUPPORTED. */
rl_status vq_select_check(const struct virtio_device *dev, uint64_t accepted);
rl_status vq_select(const struct virtio_device *dev, struct vq_choice *out);
/* The queue size the backend can use, at most `size`. */
uint32_t vq_select_size(const struct vq_choice *choice, uint32_t size);

#endif

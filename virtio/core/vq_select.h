/* Which ring backend a device's queues use: the Kconfig-ordered table of
 * backend descriptors (vq_backend.h) meets what the device offers, once,
 * at negotiation. Internal to virtio/core. */
#ifndef VIRTIO_CORE_VQ_SELECT_H
#define VIRTIO_CORE_VQ_SELECT_H

#include <virtio/core/virtio.h>

/* The first backend of the table that fits a device offering `offered`
 * (its feature, a modern interface where it needs one), and why, for the
 * boot log. NULL when none fits: then `why` is the message to log. */
const struct vq_backend_desc *vq_select(const struct virtio_device *dev,
                                        uint64_t offered, char *why,
                                        size_t why_size);
/* The queue size `desc` can use, at most `size`. */
uint32_t vq_select_size(const struct vq_backend_desc *desc, uint32_t size);

#endif

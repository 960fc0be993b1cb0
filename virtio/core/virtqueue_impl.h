/* The virtqueue record: the core's own (virtio.c, virtqueue.c) and its
 * tests'; drivers see only struct virtqueue * and the accessors of
 * virtio.h. */
#ifndef VIRTIO_CORE_VIRTQUEUE_IMPL_H
#define VIRTIO_CORE_VIRTQUEUE_IMPL_H

#include <virtio/core/virtio.h>

struct virtqueue {
  struct virtio_device *dev;
  unsigned index;
  const char *name;
  uint16_t size;
  const struct vq_ops *ops;
  struct vq_backend *backend;
  virtqueue_done_fn done;
  bool broken;
  /* virtqueue_counts */
  unsigned long notifications;
  unsigned long interrupts;
  unsigned long completions;
};

#endif

/* The device side of a virtqueue, for host tests. A model reads and writes
 * shared ring memory exactly as a device would, from the spec's layout
 * only (virtio 1.2 §2.7 split, §2.8 packed), reaching it through the
 * physical addresses the driver gave, in the device's view of memory
 * (host_dma_device_ptr of the host arch layer: with its cache model on,
 * only what the driver's cache maintenance wrote back). It never looks at
 * the driver's structures.
 *
 * One interface, one implementation per ring layout (model_split.c,
 * model_packed.c), so the queue test suite runs unchanged on every
 * backend. */
#ifndef TESTS_UNIT_VIRTIO_MODEL_H
#define TESTS_UNIT_VIRTIO_MODEL_H

#include <virtio/core/vq_backend.h>

#define MODEL_MAX_SEGS 64

struct model_seg {
  paddr_t addr;
  uint32_t len;
  bool write; /* device-writable */
};

/* One available buffer as the device sees it. */
struct model_chain {
  uint32_t id; /* what goes back in the used entry: split head index,
                  packed buffer id */
  unsigned nseg;
  struct model_seg seg[MODEL_MAX_SEGS];
  bool indirect;    /* came through an indirect table */
  uint32_t out_len; /* readable bytes */
  uint32_t in_len;  /* writable bytes */
};

struct model;

struct model_ops {
  const char *name;
  /* The driver's rings, as the transport would tell a device. */
  struct model *(*attach)(const struct vq_addrs *addrs,
                          const struct vq_config *cfg);
  void (*detach)(struct model *m);
  /* Takes the next available chain; false when none. A chain that breaks
   * a rule of the spec (a readable segment after a writable one, a loop,
   * an out-of-range next) fails the test with a message. */
  bool (*pop)(struct model *m, struct model_chain *c);
  /* Marks `id` used with `written` bytes; any order. The model fills the
   * written bytes of the writable segments with a pattern first. */
  void (*push)(struct model *m, uint32_t id, uint32_t written);
  /* Hostile device: a used entry with any id and length, unchecked. */
  void (*push_raw)(struct model *m, uint32_t id, uint32_t len);
  /* Hostile device: sets the used index (split) or flips wrap state
   * (packed) to claim `count` more used entries than were pushed. */
  void (*claim_extra)(struct model *m, uint32_t count);
  /* Device-side interrupt decision after pushes (§2.7.7/§2.7.10, §2.8.10):
   * true when the driver asked to be interrupted. Resets the tracking. */
  bool (*should_interrupt)(struct model *m);
  /* Device-side notification suppression: false asks the driver not to
   * notify (VRING_USED_F_NO_NOTIFY or the packed device event flags);
   * with EVENT_IDX, the model asks to be notified at every new buffer
   * when enabled. */
  void (*set_notify)(struct model *m, bool enabled);
  /* With EVENT_IDX: ask to be notified only once the driver's index
   * passes `event`: split, the avail_event index; packed, a count of
   * descriptors made available since the queue started (modulo twice the
   * size), which the model turns into off_wrap. */
  void (*set_notify_event)(struct model *m, uint32_t event);
};

extern const struct model_ops model_split_ops;
extern const struct model_ops model_packed_ops;

/* The pattern the model writes: byte i of a chain's writable space. */
static inline uint8_t model_pattern(uint32_t id, uint32_t i) {
  return (uint8_t)(id * 31u + i * 7u + 1u);
}

#endif

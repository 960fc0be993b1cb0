/* Split virtqueue memory layout (virtio 1.2 §2.7). Little-endian fields;
 * both machines are little-endian, and legacy devices use guest order. */
#ifndef VIRTIO_QUEUE_SPLIT_RING_H
#define VIRTIO_QUEUE_SPLIT_RING_H

#include <ringlight/types.h>

#define VRING_DESC_F_NEXT 1u
#define VRING_DESC_F_WRITE 2u
#define VRING_DESC_F_INDIRECT 4u
#define VRING_AVAIL_F_NO_INTERRUPT 1u
#define VRING_USED_F_NO_NOTIFY 1u

struct vring_desc { /* §2.7.5 */
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};

struct vring_avail { /* §2.7.6; used_event follows ring[size] */
  uint16_t flags;
  uint16_t idx;
  uint16_t ring[];
};

struct vring_used_elem {
  uint32_t id;
  uint32_t len;
};

struct vring_used { /* §2.7.8; avail_event follows ring[size] */
  uint16_t flags;
  uint16_t idx;
  struct vring_used_elem ring[];
};

_Static_assert(sizeof(struct vring_desc) == 16, "§2.7.5");
_Static_assert(sizeof(struct vring_avail) == 4, "§2.7.6");
_Static_assert(sizeof(struct vring_used_elem) == 8, "§2.7.8");
_Static_assert(sizeof(struct vring_used) == 4, "§2.7.8");
_Static_assert(offsetof(struct vring_used, ring) == 4, "§2.7.8");

/* Sizes of the three parts, event fields included (§2.7, Table 2.2). */
static inline size_t vring_desc_bytes(uint32_t n) { return (size_t)16 * n; }
static inline size_t vring_avail_bytes(uint32_t n) { return 6 + (size_t)2 * n; }
static inline size_t vring_used_bytes(uint32_t n) { return 6 + (size_t)8 * n; }

/* §2.7.10: does the other side want to hear about new_idx, having asked to
 * be told at `event`, given we last told it at old_idx? */
static inline bool vring_need_event(uint16_t event, uint16_t new_idx,
                                    uint16_t old_idx) {
  return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

#endif

/* Packed virtqueue memory layout (virtio 1.2 §2.8). Little-endian fields;
 * both machines are little-endian, and packed rings are modern-only. */
#ifndef VIRTIO_QUEUE_PACKED_RING_H
#define VIRTIO_QUEUE_PACKED_RING_H

#include <ringlight/types.h>

/* Descriptor flags (§2.8.1, §2.8.3, §2.8.6, §2.8.7). */
#define PVIRTQ_DESC_F_NEXT 1u
#define PVIRTQ_DESC_F_WRITE 2u
#define PVIRTQ_DESC_F_INDIRECT 4u
#define PVIRTQ_DESC_F_AVAIL (1u << 7)
#define PVIRTQ_DESC_F_USED (1u << 15)

/* Event suppression flags (§2.8.10); 3 is reserved. */
#define PVIRTQ_EVENT_F_ENABLE 0u
#define PVIRTQ_EVENT_F_DISABLE 1u
#define PVIRTQ_EVENT_F_DESC 2u
#define PVIRTQ_EVENT_F_MASK 3u
/* off_wrap: bits 0..14 ring offset, bit 15 wrap counter (§2.8.14). */
#define PVIRTQ_EVENT_WRAP_SHIFT 15
#define PVIRTQ_EVENT_OFF_MASK 0x7fffu

struct pvirtq_desc { /* §2.8.13 */
  uint64_t addr;
  uint32_t len;
  uint16_t id;
  uint16_t flags;
};

struct pvirtq_event_suppress { /* §2.8.14 */
  uint16_t off_wrap;
  uint16_t flags;
};

_Static_assert(sizeof(struct pvirtq_desc) == 16, "§2.8.13");
_Static_assert(offsetof(struct pvirtq_desc, len) == 8, "§2.8.13");
_Static_assert(offsetof(struct pvirtq_desc, id) == 12, "§2.8.13");
_Static_assert(offsetof(struct pvirtq_desc, flags) == 14, "§2.8.13");
_Static_assert(sizeof(struct pvirtq_event_suppress) == 4, "§2.8.14");
_Static_assert(offsetof(struct pvirtq_event_suppress, flags) == 2, "§2.8.14");

/* Largest queue (§2.8: up to 2^15 entries). */
#define PVIRTQ_MAX_SIZE 32768u

/* Descriptor ring bytes (§2.8.10.1). */
static inline size_t pvirtq_desc_bytes(uint32_t n) { return (size_t)16u * n; }

#endif

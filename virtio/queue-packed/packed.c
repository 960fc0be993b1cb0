/* Packed virtqueue backend (virtio 1.2 §2.8), for dma-coherent devices
 * only: four 16-byte descriptors share a 64-byte cache line, and each is
 * written by the driver (available) and by the device (used), so on a
 * non-coherent device cleaning a line to publish one descriptor writes a
 * stale copy of its neighbours over what the device wrote; no order of
 * cache operations avoids it. The core picks the split ring for such a
 * device (vq_select.c, needs_coherent) and create refuses one. So no
 * cache maintenance here: the arch_dma_*mb() barriers order the ring. */
#include <arch/barrier.h>
#include <arch/dma.h>
#include <mm/heap.h>
#include <virtio/core/vq_backend.h>

#include "packed_ring.h"

/* Indirect tables: one per buffer id, this many descriptors each (§2.8.7).
 * Longer chains go into the ring directly. */
#define PACKED_INDIRECT_MAX 16u
/* The driver and device event areas sit on cache lines of their own: each
 * side writes one (no false sharing between the driver and the device). */
#define PACKED_EVENT_ALIGN 128u
#define ID_NONE 0xffffu
/* No descriptor's AVAIL|USED bits are ever this (a broken queue's
 * used_bits). */
#define USED_NEVER 1u

/* An id's state (vq_backend.h's slot word): `lo` of a link is the next
 * id (the free-id list, or the chain's list of held ids: a chain holds an
 * id per descriptor); at a chain's id, its length and size in
 * `chain[id]`. */

/* The id of an outstanding chain of several descriptors (cold). */
struct chain_state {
  uint32_t in_len; /* device-writable bytes: the most a used len may say */
  uint16_t ndescs; /* ring descriptors the buffer took */
};

/* The used position is a byte offset too (into the descriptor ring). */
_Static_assert(sizeof(struct pvirtq_desc) == 1u << VQ_LINK_SHIFT, "LINK");

/* `free_id.half.lo`: the free-id list's first id (VQ_LINK()), VQ_LINK(ID_NONE)
 * when it is empty, with BROKEN_BIT when the queue is broken; `hi` is
 * always VQ_SLOT_LINK: the word is what an id freed into the list gets, and
 * what the list's first id hands on when taken. A chain of n descriptors
 * holds n ids (its own and n - 1 more), so the free ids are exactly the
 * free descriptors: one unsigned test, lo < VQ_LINK(PVIRTQ_MAX_SIZE), says
 * "room and working" to an add. */
#define PACKED_BROKEN_BIT 0x80000000u
/* `added` is clamped here at each lap, so it can never wrap around to a
 * small count however long the driver goes without kick_prepare. */
#define PACKED_ADDED_CLAMP 0x80000000u
#define KICK_FAR (UINTPTR_MAX / 2 + 1)

struct vq_backend {
  /* What the hot paths touch, first. */
  volatile struct pvirtq_desc *desc;
  /* The device's event suppression as one word: off_wrap in the low
   * half, flags in the high (§2.8.14, little-endian): one read. */
  const volatile uint32_t *device_evt;
  union vq_word free_id; /* lo: VQ_LINK(first free id) | PACKED_BROKEN_BIT */
  uint32_t size;
  uint32_t added; /* descriptors made available since kick_prepare */
  /* VQ_LINK(next descriptor the device writes used) - VQ_LINK(size): from
   * the ring's end (desc_end), negative; 0 is the end of a lap. */
  intptr_t used_off;
  volatile uint8_t *desc_end;
  intptr_t lap_off;   /* -VQ_LINK(size): used_off at a lap's start */
  uint16_t avail_pos; /* next descriptor to make available */
  /* The flags of an available device-writable descriptor (add_one's):
   * WRITE and avail_wrap's AVAIL|USED. */
  uint16_t avail_wflags;
  /* AVAIL|USED of a used descriptor: used_wrap's; USED_NEVER when the
   * queue is broken, so get_used's one flags test also refuses it. */
  uint16_t used_bits;
  /* By an event's wrap counter w, for its off_wrap word y (off + w <<
   * 15): how far back the event is from the avail position's lap (0, or
   * size when not ours: the previous lap), less one, plus w << 15; and
   * the least y whose offset is past the ring (size + w << 15). */
  uint32_t event_base[2];
  uint32_t event_limit[2];
  /* The device's event word less this is its off_wrap (below 1 << 16)
   * exactly when its flags say DESC (reserved bits clear): DESC << 16
   * with EVENT_IDX; without, past any word. kick_far adds KICK_FAR at
   * each avail lap, so the first kick_prepare after it takes the out of
   * line path: only there can the count since the last kick have reached
   * the ring size. Pointer-wide: an index with no extension. */
  uintptr_t kick_base;
  uintptr_t kick_far;
  bool avail_wrap; /* Driver Ring Wrap Counter (§2.8.1) */
  bool used_wrap;  /* the device's counter as the driver follows it */
  bool broken;
  uint16_t evt_flags; /* what driver_evt->flags says */
  volatile struct pvirtq_event_suppress *driver_evt;
  struct vq_config cfg;
  struct arch_dma_buf ring;     /* descriptors, driver event, device event */
  struct arch_dma_buf indirect; /* size * PACKED_INDIRECT_MAX descriptors */
  size_t driver_off;
  size_t device_off;
  struct chain_state *chain; /* by id, after ids[] */
  struct vq_slot ids[];      /* the driver's own record, by buffer id */
};

/* The hot paths (add of one segment, kick_prepare, get_used) are written
 * so the compiler keeps them straight-line and free of calls: anything
 * rare (a chain, an error, a lying device) leaves through a branch it is
 * told is unlikely. */

/* RL_OK as the compiler cannot see through: a rare case handed to an out
 * of line function that returns this is a tail call (a jump), not a call,
 * so the hot path around it needs no stack frame. */
static inline rl_status opaque_ok(void) {
  rl_status st = RL_OK;
  __asm__("" : "+r"(st));
  return st;
}

/* §2.8.1: available descriptors have AVAIL = wrap and USED = !wrap. */
static uint16_t avail_bits(bool wrap) {
  return (uint16_t)(wrap ? PVIRTQ_DESC_F_AVAIL : PVIRTQ_DESC_F_USED);
}

/* §2.8.1: used descriptors have AVAIL = USED = the device's counter. */
static uint16_t used_bits(bool wrap) {
  return (uint16_t)(wrap ? PVIRTQ_DESC_F_AVAIL | PVIRTQ_DESC_F_USED : 0);
}

static bool is_used(uint16_t flags, uint16_t bits) {
  return (flags & (PVIRTQ_DESC_F_AVAIL | PVIRTQ_DESC_F_USED)) == bits;
}

static uint32_t used_pos(const struct vq_backend *q) {
  return (uint32_t)((q->used_off + (intptr_t)VQ_LINK(q->size)) >>
                    VQ_LINK_SHIFT);
}

/* Flags of the descriptor at the next used position, as the device left
 * them. */
static uint16_t next_used_flags(const struct vq_backend *q) {
  return q->desc[used_pos(q)].flags;
}

/* The free-id list's first id, or ID_NONE (out of line paths). */
static uint32_t list_head(const struct vq_backend *q) {
  return (q->free_id.half.lo & ~PACKED_BROKEN_BIT) >> VQ_LINK_SHIFT;
}

static void set_list_head(struct vq_backend *q, uint32_t id) {
  q->free_id.half.lo = VQ_LINK(id) | (q->free_id.half.lo & PACKED_BROKEN_BIT);
}

/* Whether the free-id list holds at least `n` ids, so the ring at least
 * `n` free descriptors. */
static bool ids_free(const struct vq_backend *q, uint32_t n) {
  uint32_t id = list_head(q);
  for (uint32_t i = 0; i < n; i++) {
    if (id == ID_NONE) {
      return false;
    }
    id = vq_slot_next(&q->ids[id]);
  }
  return true;
}

/* Whether `id` is an outstanding buffer's. */
static bool id_outstanding(const struct vq_slot *s) {
  return s->word.half.hi == 0 || s->word.half.hi == VQ_SLOT_CHAIN;
}

static void packed_destroy(struct vq_backend *q) {
  if (q == NULL) {
    return;
  }
  arch_dma_free(&q->ring);
  arch_dma_free(&q->indirect);
  rl_free(q);
}

static void set_avail_wrap(struct vq_backend *q, bool wrap) {
  q->avail_wrap = wrap;
  q->avail_wflags = (uint16_t)(PVIRTQ_DESC_F_WRITE | avail_bits(wrap));
  uint32_t ours = wrap ? 1u : 0u;
  q->event_base[ours] = (ours << PVIRTQ_EVENT_WRAP_SHIFT) - 1u;
  q->event_base[ours ^ 1u] =
      ((ours ^ 1u) << PVIRTQ_EVENT_WRAP_SHIFT) + q->size - 1u;
  q->kick_far = q->kick_base + KICK_FAR;
}

/* The state of §2.8 at reset: every id free, both wrap counters 1. */
static void reset_positions(struct vq_backend *q) {
  for (uint32_t i = 0; i < q->size; i++) {
    q->ids[i].token = NULL;
    vq_slot_set_next(&q->ids[i], i + 1 < q->size ? i + 1 : ID_NONE);
  }
  q->free_id.half.lo = VQ_LINK(0);
  q->free_id.half.hi = VQ_SLOT_LINK;
  q->avail_pos = 0;
  q->used_off = -(intptr_t)VQ_LINK(q->size);
  set_avail_wrap(q, true);
  q->used_wrap = true;
  q->used_bits = used_bits(true);
  q->added = 0;
  q->broken = false;
  /* §2.8.10: with EVENT_IDX, an event at the first used descriptor (as a
   * split ring's used_event starts at 0); otherwise ENABLE. */
  q->evt_flags = PVIRTQ_EVENT_F_ENABLE;
  q->driver_evt->flags = PVIRTQ_EVENT_F_ENABLE;
  if (VQ_EVENT_IDX(&q->cfg)) {
    q->evt_flags = PVIRTQ_EVENT_F_DESC;
    q->driver_evt->off_wrap = 1u << PVIRTQ_EVENT_WRAP_SHIFT;
    q->driver_evt->flags = PVIRTQ_EVENT_F_DESC;
  }
}

static rl_status packed_create(const struct vq_config *cfg,
                               struct vq_backend **out) {
  if (cfg->dma == NULL) {
    return RL_ERR_INVALID;
  }
  if (cfg->legacy) {
    return RL_ERR_NOT_SUPPORTED; /* VIRTIO_F_RING_PACKED is modern only */
  }
  if (!cfg->dma->coherent) {
    return RL_ERR_NOT_SUPPORTED; /* see the top of this file */
  }
  uint32_t n = cfg->size;
  if (n == 0 || n > PVIRTQ_MAX_SIZE) {
    return RL_ERR_INVALID; /* §2.8: up to 2^15, any value */
  }
  /* §2.8.10.1: descriptors 16-aligned at 0, event areas 4-aligned. */
  size_t driver_off =
      RL_ALIGN_UP(pvirtq_desc_bytes(n), (size_t)PACKED_EVENT_ALIGN);
  size_t device_off = driver_off + PACKED_EVENT_ALIGN;
  size_t bytes = device_off + sizeof(struct pvirtq_event_suppress);
  struct vq_backend *q = rl_zalloc(
      sizeof(*q) + (sizeof(struct vq_slot) + sizeof(struct chain_state)) * n);
  if (q == NULL) {
    return RL_ERR_NO_MEMORY;
  }
  q->cfg = *cfg;
  q->chain = (struct chain_state *)&q->ids[n];
  q->kick_base = VQ_EVENT_IDX(cfg) ? (uintptr_t)PVIRTQ_EVENT_F_DESC << 16
                                   : (uintptr_t)1 << 32;
  q->event_limit[0] = n;
  q->event_limit[1] = (1u << PVIRTQ_EVENT_WRAP_SHIFT) + n;
  q->size = n;
  q->driver_off = driver_off;
  q->device_off = device_off;
  rl_status st =
      vq_alloc_rings(bytes,
                     VQ_INDIRECT(cfg) ? (size_t)n * PACKED_INDIRECT_MAX *
                                            sizeof(struct pvirtq_desc)
                                      : 0,
                     &q->ring, &q->indirect);
  if (st != RL_OK) {
    packed_destroy(q);
    return st;
  }
  uint8_t *base = q->ring.cpu;
  q->desc = (volatile struct pvirtq_desc *)base;
  q->desc_end = base + VQ_LINK(n);
  q->lap_off = -(intptr_t)VQ_LINK(n);
  q->driver_evt = (volatile struct pvirtq_event_suppress *)(base + driver_off);
  q->device_evt = (const volatile uint32_t *)(base + device_off);
  reset_positions(q); /* §2.8.13: the descriptor ring starts zeroed */
  *out = q;
  return RL_OK;
}

static void packed_addrs(const struct vq_backend *q, struct vq_addrs *out) {
  out->desc = q->ring.phys;
  out->driver = q->ring.phys + q->driver_off;
  out->device = q->ring.phys + q->device_off;
}

static void write_desc(volatile struct pvirtq_desc *d, const struct vq_seg *s,
                       uint16_t id) {
  d->addr = s->addr;
  d->len = s->len;
  d->id = id;
}

/* The avail position went past the end: back to 0, and the wrap counter
 * flips (§2.8.1). Once a lap, out of line (a tail call from the add, so
 * the add keeps its registers). */
__attribute__((noinline)) static rl_status avail_lap(struct vq_backend *q) {
  q->avail_pos = 0;
  set_avail_wrap(q, !q->avail_wrap);
  if (q->added > PACKED_ADDED_CLAMP) {
    q->added = PACKED_ADDED_CLAMP;
  }
  return opaque_ok();
}

/* Any add but packed_add's one-segment case: chains, indirect tables, and
 * every error (out of line). */
__attribute__((noinline)) static rl_status
add_chain(struct vq_backend *q, const struct vq_seg *out, unsigned nout,
          const struct vq_seg *in, unsigned nin, void *token) {
  unsigned total = nout + nin;
  if (q->broken) {
    return RL_ERR_BROKEN;
  }
  uint32_t in_len;
  rl_status st = vq_check_chain(in, nout, nin, token, PVIRTQ_MAX_SIZE, &in_len);
  if (st != RL_OK) {
    return st;
  }
  bool indirect =
      VQ_INDIRECT(&q->cfg) && total > 1 && total <= PACKED_INDIRECT_MAX;
  unsigned need = indirect ? 1 : total;
  if (need > q->size) {
    return RL_ERR_INVALID; /* would never fit, however long one waits */
  }
  /* §2.8.17: room for the whole list before the first goes out. */
  if (!ids_free(q, need)) {
    return RL_ERR_NO_SPACE;
  }
  uint16_t id = (uint16_t)list_head(q);
  uint32_t head = q->avail_pos;
  uint32_t pos = head;
  bool wrap = q->avail_wrap;
  uint16_t head_flags;
  if (indirect) {
    /* §2.8.7: the table lives in the id's slot of the pool; WRITE is its
     * only flag and its ids are reserved. */
    size_t off = (size_t)id * PACKED_INDIRECT_MAX * sizeof(struct pvirtq_desc);
    volatile struct pvirtq_desc *table =
        (volatile struct pvirtq_desc *)((uint8_t *)q->indirect.cpu + off);
    for (unsigned i = 0; i < total; i++) {
      bool w = i >= nout;
      write_desc(&table[i], w ? &in[i - nout] : &out[i], 0);
      table[i].flags = (uint16_t)(w ? PVIRTQ_DESC_F_WRITE : 0);
    }
    struct vq_seg ind = {q->indirect.phys + off,
                         (uint32_t)(total * sizeof(struct pvirtq_desc))};
    write_desc(&q->desc[pos], &ind, id);
    head_flags = (uint16_t)(PVIRTQ_DESC_F_INDIRECT | avail_bits(wrap));
    if (++pos == q->size) {
      pos = 0;
      wrap = !wrap;
    }
  } else {
    /* §2.8.6: NEXT on all but the last; AVAIL/USED from the wrap counter
     * at each descriptor's own position; the id in every one (the spec
     * asks for the last). */
    head_flags = 0;
    for (unsigned i = 0; i < total; i++) {
      bool w = i >= nout;
      uint16_t flags = (uint16_t)((w ? PVIRTQ_DESC_F_WRITE : 0) |
                                  (i + 1 < total ? PVIRTQ_DESC_F_NEXT : 0) |
                                  avail_bits(wrap));
      write_desc(&q->desc[pos], w ? &in[i - nout] : &out[i], id);
      if (i == 0) {
        head_flags = flags;
      } else {
        q->desc[pos].flags = flags;
      }
      if (++pos == q->size) {
        pos = 0;
        wrap = !wrap;
      }
    }
  }
  /* §2.8.21.1.1: a write barrier, then the head's flags make the whole
   * list available at once (§2.8.17). */
  arch_dma_wmb();
  q->desc[head].flags = head_flags;

  /* The id, and need - 1 more held by the chain (linked from its own,
   * as they were on the free list). */
  uint32_t last = id;
  for (unsigned i = 1; i < need; i++) {
    last = vq_slot_next(&q->ids[last]);
  }
  set_list_head(q, vq_slot_next(&q->ids[last]));
  struct vq_slot *s = &q->ids[id];
  s->token = token;
  if (need == 1) {
    s->word.all = in_len;
  } else {
    s->word.half.hi = VQ_SLOT_CHAIN; /* the link to the held ids stays */
    q->chain[id] = (struct chain_state){in_len, (uint16_t)need};
  }
  q->avail_pos = (uint16_t)pos;
  q->added += need;
  if (wrap != q->avail_wrap) {
    set_avail_wrap(q, wrap);
    if (q->added > PACKED_ADDED_CLAMP) {
      q->added = PACKED_ADDED_CLAMP;
    }
  }
  return RL_OK;
}

/* add_one's rare cases (a readable segment, no room, a broken queue):
 * add_chain with the segment (out of line). */
__attribute__((noinline)) static rl_status
add_one_slow(struct vq_backend *q, paddr_t addr, uint32_t len, bool write,
             void *token) {
  struct vq_seg s = {addr, len};
  return add_chain(q, &s, write ? 0 : 1, &s, write ? 1 : 0, token);
}

/* Not inlined into packed_add, which tail-calls it: one copy. */
__attribute__((noinline)) static rl_status
packed_add_one(struct vq_backend *q, paddr_t addr, uint32_t len, bool write,
               void *token) {
  /* A device-writable segment (ringtest's add_inbuf; a readable one is
   * rarer and takes add_chain), room, a working queue (the last two: a
   * free id), a token: one descriptor, never indirect. */
  uint32_t ioff = q->free_id.half.lo; /* VQ_LINK(id) */
  if (unlikely(ioff >= VQ_LINK(PVIRTQ_MAX_SIZE) || !write)) {
    return add_one_slow(q, addr, len, write, token);
  }
  if (unlikely(token == NULL)) {
    return RL_ERR_INVALID;
  }
  uint32_t pos = q->avail_pos;
  struct vq_slot *st = (struct vq_slot *)((uint8_t *)q->ids + ioff);
  volatile struct pvirtq_desc *d = &q->desc[pos];
  d->addr = addr;
  d->len = len;
  d->id = (uint16_t)(ioff >> VQ_LINK_SHIFT);
  /* §2.8.21.1.1: a write barrier, then the flags make it available. */
  arch_dma_wmb();
  d->flags = q->avail_wflags;
  /* The driver's own records (the device reads none of them). */
  q->free_id = st->word; /* its link */
  q->added++;
  st->token = token;
  st->word.all = len;
  if (unlikely(++pos == q->size)) {
    return avail_lap(q);
  }
  q->avail_pos = (uint16_t)pos;
  return RL_OK;
}

static rl_status packed_add(struct vq_backend *q, const struct vq_seg *out,
                            unsigned nout, const struct vq_seg *in,
                            unsigned nin, void *token) {
  /* One segment: add_one's; everything else, errors included, is
   * add_chain's. */
  if (likely(nout + nin == 1 && nout <= 1)) {
    const struct vq_seg *s = nin != 0 ? in : out;
    return packed_add_one(q, s->addr, s->len, nin != 0, token);
  }
  return add_chain(q, out, nout, in, nin, token);
}

/* kick_prepare's answer when the device's flags are not DESC, or DESC
 * without EVENT_IDX (nonsense: a spare notification is harmless), or
 * DESC with reserved bits set (§2.8.14 asks 0: likewise). */
static bool kick_by_flags(uint32_t flags, uint32_t added) {
  return added != 0 && flags != PVIRTQ_EVENT_F_DISABLE;
}

/* §2.8.10's test: the event (off_wrap word y, wrap counter `wrap`) among
 * the `added` descriptors made available since the last kick: (new -
 * event - 1) < added, the event taken in the previous lap when its wrap
 * counter is not ours (an event ahead wraps to more than any count). */
static bool event_in_added(const struct vq_backend *q, uint32_t added,
                           uint32_t y, uintptr_t wrap) {
  return q->avail_pos + q->event_base[wrap] - y < added;
}

/* kick_prepare's rare cases (out of line): flags not DESC, or DESC
 * without EVENT_IDX (nonsense: a spare notification is harmless), or DESC
 * with reserved bits set (§2.8.14 asks 0: likewise); and the first kick
 * after an avail lap, where the count may have reached the ring size. */
__attribute__((noinline)) static bool
kick_prepare_far(struct vq_backend *q, uint32_t added, uint32_t evt) {
  q->kick_far = q->kick_base; /* the lap is seen */
  uintptr_t y = (uintptr_t)evt - q->kick_base;
  if (y > 0xffffu) {
    return kick_by_flags((evt >> 16) & PVIRTQ_EVENT_F_MASK, added);
  }
  uintptr_t wrap = y >> PVIRTQ_EVENT_WRAP_SHIFT;
  /* Past a lap (or an offset past the ring: nonsense), notify anyway. */
  if (added >= q->size || (uint32_t)y >= q->event_limit[wrap]) {
    return true;
  }
  return event_in_added(q, added, (uint32_t)y, wrap);
}

static bool packed_kick_prepare(struct vq_backend *q) {
  /* §2.8.21.3.1: a full barrier between the flags that publish and the
   * read of the device's suppression state. */
  arch_dma_mb();
  uint32_t added = q->added;
  q->added = 0;
  /* flags and off_wrap in one read: the event and its flags together. */
  uint32_t evt = *q->device_evt;
  /* Flags DESC with EVENT_IDX, and no avail lap since the last kick (so
   * fewer than size added): off_wrap here; anything else, more. */
  uintptr_t y = (uintptr_t)evt - q->kick_far;
  if (unlikely(y > 0xffffu)) {
    return kick_prepare_far(q, added, evt);
  }
  uintptr_t wrap = y >> PVIRTQ_EVENT_WRAP_SHIFT;
  /* §2.8.10: notify when the descriptor at off/wrap was among the `added`
   * made available since the last kick. An offset past the ring
   * (nonsense): notify anyway. */
  if (unlikely((uint32_t)y >= q->event_limit[wrap])) {
    return true;
  }
  return event_in_added(q, added, (uint32_t)y, wrap);
}

static void write_used_event(struct vq_backend *q) {
  q->driver_evt->off_wrap =
      (uint16_t)(used_pos(q) |
                 (q->used_wrap ? 1u << PVIRTQ_EVENT_WRAP_SHIFT : 0));
}

/* Gives an outstanding buffer's ids back to the free list: its own and
 * those its chain held. Returns the ring descriptors it took. */
static uint32_t free_ids(struct vq_backend *q, uint32_t id) {
  struct vq_slot *s = &q->ids[id];
  uint32_t n = s->word.half.hi == 0 ? 1u : q->chain[id].ndescs;
  s->word.half.hi = VQ_SLOT_LINK; /* a chain's link to its held ids stays */
  uint32_t last = id;
  for (uint32_t i = 1; i < n; i++) {
    last = vq_slot_next(&q->ids[last]);
  }
  vq_slot_set_next(&q->ids[last], list_head(q));
  set_list_head(q, id);
  return n;
}

/* get_used's rare cases, and every check again: a chain, a length past
 * the buffer's, a lying device (out of line). */
__attribute__((noinline)) static struct vq_used
get_used_slow(struct vq_backend *q) {
  uint32_t pos = used_pos(q);
  volatile struct pvirtq_desc *d = &q->desc[pos];
  uint16_t flags = d->flags;
  /* A broken queue's used_bits match no descriptor: it ends here too. */
  if (!is_used(flags, q->used_bits)) {
    return vq_used_status(q->broken ? RL_ERR_BROKEN : RL_ERR_NOT_FOUND);
  }
  arch_dma_rmb(); /* §2.8.22: the flags, then the rest of the descriptor */
  uint32_t id = d->id;
  uint32_t written = d->len;
  if (id >= q->size || !id_outstanding(&q->ids[id])) {
    goto lying;
  }
  struct vq_slot *s = &q->ids[id];
  uint32_t in_len =
      s->word.half.hi == 0 ? s->word.half.lo : q->chain[id].in_len;
  if (written > in_len) {
    /* §2.8.4: without WRITE, len is reserved. QEMU leaves WRITE clear and
     * puts the written length in len anyway, so len counts unless the
     * buffer has no writable part. */
    if ((flags & PVIRTQ_DESC_F_WRITE) != 0 || in_len != 0) {
      goto lying;
    }
    written = 0;
  }
  void *t = s->token;
  /* §2.8.6: skip the buffer's descriptors, counted by our own record. */
  pos += free_ids(q, id);
  if (pos >= q->size) {
    /* Past the end, into the next lap: the device's wrap counter flipped
     * (§2.8.1). */
    pos -= q->size;
    q->used_wrap = !q->used_wrap;
    q->used_bits = used_bits(q->used_wrap);
  }
  q->used_off = (intptr_t)VQ_LINK(pos) - (intptr_t)VQ_LINK(q->size);
  return (struct vq_used){t, written};
lying: /* the queue is broken until detach */
  q->broken = true;
  q->free_id.half.lo |= PACKED_BROKEN_BIT;
  q->used_bits = USED_NEVER;
  return vq_used_status(RL_ERR_BROKEN);
}

static struct vq_used packed_get_used(struct vq_backend *q) {
  intptr_t off = q->used_off;
  volatile struct pvirtq_desc *d =
      (volatile struct pvirtq_desc *)(q->desc_end + off);
  uint16_t flags = d->flags;
  /* A broken queue's used_bits match no descriptor: it ends here too. */
  if (unlikely(!is_used(flags, q->used_bits))) {
    return vq_used_status(q->broken ? RL_ERR_BROKEN : RL_ERR_NOT_FOUND);
  }
  arch_dma_rmb(); /* §2.8.22: the flags, then the rest of the descriptor */
  uint32_t id = d->id;
  uint32_t written = d->len;
  /* One descriptor, all well, back on a working queue's free-id list;
   * anything else (a chain, §2.8.4's reserved len, lying) is
   * get_used_slow's. */
  void *t;
  if (unlikely(
          !vq_slot_take_one(q->ids, q->size, &q->free_id, id, written, &t))) {
    goto slow;
  }
  /* §2.8.6: one descriptor. The driver's event (§2.8.10) is not moved
   * here: enable_cb sets it where the driver is about to wait
   * (virtqueue_poll drains, then enables), and the device compares
   * against what enable_cb left, so it interrupts at most once per enable
   * (none while the driver drains). */
  off += (intptr_t)VQ_LINK(1);
  if (unlikely(off == 0)) {
    /* Past the end, into the next lap: the device's wrap counter flipped
     * (§2.8.1). */
    off = q->lap_off;
    q->used_wrap = !q->used_wrap;
    q->used_bits = used_bits(q->used_wrap);
  }
  q->used_off = off;
  return (struct vq_used){t, written};
slow : { VQ_TAIL_CALL return get_used_slow(q); }
}

static void packed_disable_cb(struct vq_backend *q) {
  q->evt_flags = PVIRTQ_EVENT_F_DISABLE;
  q->driver_evt->flags = PVIRTQ_EVENT_F_DISABLE;
}

static bool packed_enable_cb(struct vq_backend *q) {
  uint16_t flags = PVIRTQ_EVENT_F_ENABLE;
  if (VQ_EVENT_IDX(&q->cfg)) {
    /* §2.8.10: an event for the next used descriptor, written before the
     * flags that turn it on. */
    write_used_event(q);
    arch_dma_wmb();
    flags = PVIRTQ_EVENT_F_DESC;
  }
  q->evt_flags = flags;
  q->driver_evt->flags = flags;
  arch_dma_mb(); /* publish before re-checking the next used descriptor */
  if (q->broken) {
    return false;
  }
  return is_used(next_used_flags(q), q->used_bits);
}

static void packed_state(const struct vq_backend *q, struct vq_state *out) {
  /* Buffers in flight: the ids not on the free list (diagnostics only,
   * so counted here rather than on every add and completion). */
  uint32_t in_flight = q->size;
  uint32_t free_descs = 0;
  for (uint32_t id = list_head(q); id != ID_NONE && free_descs < q->size;
       id = vq_slot_next(&q->ids[id])) {
    free_descs++;
  }
  for (uint32_t id = 0; id < q->size; id++) {
    if (!id_outstanding(&q->ids[id])) {
      in_flight--;
    }
  }
  out->driver_idx = q->avail_pos;
  out->used_seen = used_pos(q);
  out->device_idx = 0; /* no device index in a packed ring */
  out->in_flight = in_flight;
  out->free_descs = free_descs;
  out->wrap_counters = true;
  out->driver_wrap = q->avail_wrap;
  out->used_wrap = q->used_wrap;
}

static bool packed_broken(const struct vq_backend *q) { return q->broken; }

static void packed_detach(struct vq_backend *q,
                          void (*fn)(void *token, void *arg), void *arg) {
  for (uint32_t id = 0; id < q->size; id++) {
    void *token = q->ids[id].token;
    if (id_outstanding(&q->ids[id])) {
      if (fn != NULL) {
        fn(token, arg);
      }
    }
  }
  /* The device was reset: a zeroed ring (§2.8.13), and both sides start
   * again as in §2.8.1. */
  uint8_t *ring = q->ring.cpu;
  for (size_t i = 0; i < q->ring.size; i++) {
    ring[i] = 0;
  }
  reset_positions(q);
}

const struct vq_ops vq_packed_ops = {
    .name = "packed",
    .create = packed_create,
    .destroy = packed_destroy,
    .addrs = packed_addrs,
    .add = packed_add,
    .add_one = packed_add_one,
    .kick_prepare = packed_kick_prepare,
    .get_used = packed_get_used,
    .disable_cb = VQ_CALLBACKS ? packed_disable_cb : NULL,
    .enable_cb = VQ_CALLBACKS ? packed_enable_cb : NULL,
    .state = packed_state,
    .broken = packed_broken,
    .detach = VQ_DETACH ? packed_detach : NULL,
};

/* §2.8: modern interfaces only, negotiated with VIRTIO_F_RING_PACKED; any
 * size up to 32768 (§2.8.10.1 wrap counters make sizes free). */
const struct vq_backend_desc vq_packed_desc = {
    .name = "packed",
    .kconfig_name = "PACKED",
    .feature_bit = 34, /* VIRTIO_F_RING_PACKED, §6 */
    .feature_name = "RING_PACKED",
    .needs_modern = true,
    .pow2_sizes = false,
    .max_size = 32768,
    .needs_coherent = true, /* see the top of this file */
    .ops = &vq_packed_ops,
};

/* Split virtqueue backend (virtio 1.2 §2.7). */
#include <arch/barrier.h>
#include <arch/cache.h>
#include <arch/dma.h>
#include <mm/heap.h>
#include <virtio/core/vq_backend.h>

#include "split_ring.h"

/* Indirect tables: one per head, this many descriptors each (§2.7.5.3).
 * Longer chains go into the ring directly. */
#define SPLIT_INDIRECT_MAX 16u
#define SPLIT_MAX_SIZE 32768u

/* A descriptor's state is a struct vq_slot (vq_backend.h): `lo` of a
 * link is `next`, the driver's own chain link and free list (never read
 * back from the ring; LIST_END ends the free list); at a chain's head,
 * its length and size in `chain[head]`. A link, VQ_LINK(), is the same
 * byte offset into the descriptor table. */
_Static_assert(sizeof(struct vring_desc) == 1u << VQ_LINK_SHIFT, "VQ_LINK");

/* The head of an outstanding chain of several descriptors (cold). */
struct chain_state {
  uint32_t in_len; /* device-writable bytes: the most a used len may say */
  uint16_t extra;  /* ring descriptors the chain holds, less one */
};

/* `free_head.half.lo`: the free list's first descriptor (VQ_LINK()),
 * VQ_LINK(LIST_END) when the list is empty, with SPLIT_SLOW when the inline
 * paths do not apply (a non-coherent device, a broken queue): one unsigned
 * test, lo < VQ_LINK(SPLIT_MAX_SIZE), says "room, coherent, working" to an add,
 * and no count is kept on the inline paths. `hi` is always VQ_SLOT_LINK: the
 * word is what a descriptor freed into the list gets, and what the list's first
 * descriptor hands on when taken. */
#define LIST_END 0xffffu
#define SPLIT_SLOW 0x80000000u
/* used_seen's flag on a queue whose used entries get_used's inline path
 * must not take (a non-coherent device, a broken queue): never equal to a
 * 16-bit index, so that path goes straight to the entry, where take_size
 * 0 sends it to get_used_slow; the low half follows last_used there. */
#define SPLIT_SEEN_SLOW 0x10000u

struct vq_backend {
  /* What the hot paths touch, first. */
  volatile struct vring_desc *desc;
  volatile struct vring_avail *avail;
  volatile struct vring_used *used;
  volatile uint16_t *avail_event; /* after used->ring[size] (§2.7.10) */
  union vq_word free_head;        /* lo: index or LIST_END, | SPLIT_SLOW */
  uint32_t mask;                  /* size - 1 */
  uint32_t size;
  uint32_t take_size;  /* size, or 0: SPLIT_SEEN_SLOW */
  uint16_t avail_idx;  /* shadow of avail->idx */
  uint16_t last_used;  /* next used entry to consume */
  uint32_t used_seen;  /* used->idx when last read (checked), | SEEN_SLOW */
  uint16_t kicked_idx; /* avail idx at the last kick_prepare */
  bool kick_fast;      /* coherent and EVENT_IDX: kick_prepare's inline path */
  bool coherent;       /* cfg.dma->coherent: every sync below is nothing */
  bool broken;
  uint32_t chain_extra; /* descriptors past the heads of chains in flight */
  struct vq_config cfg;
  struct arch_dma_buf ring;     /* desc + avail (+ pad) + used */
  struct arch_dma_buf indirect; /* size * SPLIT_INDIRECT_MAX descriptors */
  size_t used_off;
  struct chain_state *chain; /* by head, after state[] */
  struct vq_slot state[];    /* by descriptor */
};

/* The queue's device needs no cache maintenance: always, in a build that
 * drives only coherent devices (CONFIG_DMA_NONCOHERENT off). */
static inline bool coherent(const struct vq_backend *q) {
#ifdef CONFIG_DMA_NONCOHERENT
  return q->coherent;
#else
  (void)q;
  return true;
#endif
}

/* Whether the inline paths may run on the queue (a coherent, working
 * one), with used_seen's low half at `seen`: SPLIT_SLOW in free_head for
 * the add, SPLIT_SEEN_SLOW and take_size 0 for get_used. */
static void set_inline(struct vq_backend *q, bool ok, uint16_t seen) {
  q->free_head.half.lo =
      (q->free_head.half.lo & ~SPLIT_SLOW) | (ok ? 0 : SPLIT_SLOW);
#ifdef CONFIG_VIRTIO_RING_FAST_PATHS
  q->take_size = ok ? q->size : 0;
  q->used_seen = seen | (ok ? 0 : SPLIT_SEEN_SLOW);
#else /* no inline take to keep out */
  q->used_seen = seen;
#endif
}

/* The hot paths (add of one segment, kick_prepare, get_used on a coherent
 * device) are written so the compiler keeps them straight-line and free
 * of calls: anything rare (a chain, a non-coherent device, a lying
 * device) leaves through a branch it is told is unlikely. */

/* The free list's head (a descriptor, or LIST_END), for the out of line
 * paths: free_head without SPLIT_SLOW. */
static uint32_t list_head(const struct vq_backend *q) {
  return (q->free_head.half.lo & ~SPLIT_SLOW) >> VQ_LINK_SHIFT;
}

static void set_list_head(struct vq_backend *q, uint32_t head) {
  q->free_head.half.lo = VQ_LINK(head) | (q->free_head.half.lo & SPLIT_SLOW);
}

/* Whether `s` heads an outstanding buffer. */
static bool desc_outstanding(const struct vq_slot *s) {
  return s->word.half.hi == 0 || s->word.half.hi == VQ_SLOT_CHAIN;
}

/* Free descriptors: one per buffer in flight is held, and chain_extra
 * more (for the out of line paths and diagnostics). */
static uint32_t num_free(const struct vq_backend *q) {
  return q->size - (uint16_t)(q->avail_idx - q->last_used) - q->chain_extra;
}

static volatile uint16_t *used_event(const struct vq_backend *q) {
  return &q->avail->ring[q->size];
}

/* Syncs go through the device's DMA domain: on a coherent device each is
 * nothing at all, and the arch_dma_*mb() barriers below order the ring
 * (virtio 1.2 §2.7.13.3.1, §2.7.13.4); on a non-coherent one each is the
 * cache operation it needs. */

/* Driver-written fields the device reads (flags, used_event, a
 * descriptor, an avail entry, the idx). The coherence test is the queue's
 * own copy (one load, no pointer chase); the cache operation is out of
 * line (arch_dma_sync_nc_*). */
static void sync_field(const struct vq_backend *q, volatile void *field) {
  if (unlikely(!coherent(q))) {
    arch_dma_sync_nc_for_device((const void *)(uintptr_t)field,
                                sizeof(uint16_t), ARCH_DMA_TO_DEVICE);
  }
}

static void sync_desc(const struct vq_backend *q, uint16_t i) {
  if (unlikely(!coherent(q))) {
    arch_dma_sync_nc_for_device((const void *)&q->desc[i], sizeof(q->desc[i]),
                                ARCH_DMA_TO_DEVICE);
  }
}

/* The used idx alone (what the device last published). */
static void sync_used_idx_for_cpu(const struct vq_backend *q) {
  if (unlikely(!coherent(q))) {
    arch_dma_sync_nc_for_cpu((const void *)&q->used->idx, sizeof(q->used->idx),
                             ARCH_DMA_FROM_DEVICE);
  }
}

/* The used entry of slot `pos`. */
static void sync_used_entry_for_cpu(const struct vq_backend *q, uint16_t pos) {
  if (unlikely(!coherent(q))) {
    arch_dma_sync_nc_for_cpu((const void *)&q->used->ring[pos & (q->size - 1)],
                             sizeof(struct vring_used_elem),
                             ARCH_DMA_FROM_DEVICE);
  }
}

static void sync_used_for_cpu(const struct vq_backend *q) {
  if (unlikely(!coherent(q))) {
    arch_dma_sync_nc_for_cpu((const uint8_t *)q->ring.cpu + q->used_off,
                             vring_used_bytes(q->size), ARCH_DMA_FROM_DEVICE);
  }
}

static void sync_ring_for_device(const struct vq_backend *q) {
  arch_dma_sync_for_device(q->cfg.dma, q->ring.cpu, q->ring.size,
                           ARCH_DMA_BIDIRECTIONAL);
}

VQ_COLD static void split_destroy(struct vq_backend *q) {
  if (q == NULL) {
    return;
  }
  arch_dma_free(&q->ring);
  arch_dma_free(&q->indirect);
  rl_free(q);
}

VQ_COLD static rl_status split_create(const struct vq_config *cfg,
                                      struct vq_backend **out) {
  uint32_t n = cfg->size;
  if (n == 0 || n > SPLIT_MAX_SIZE || (n & (n - 1)) != 0 || cfg->dma == NULL) {
    return RL_ERR_INVALID; /* §2.7: Queue Size is a power of 2 */
  }
  size_t avail_off = vring_desc_bytes(n); /* desc 16-aligned at 0 */
  size_t align;
  if (cfg->legacy) {
    /* §2.7.2 legacy layout: the used ring on the QueueAlign boundary, a
     * power of two (its lowest set bit is all of it). */
    align = cfg->legacy_align;
    if (align < 4 || (align & (0 - align)) != align || align > 65536) {
      return RL_ERR_INVALID;
    }
  } else {
    /* §2.7 asks 4; a writeback granule of its own keeps the device's
     * used ring away from the avail ring and used_event the driver
     * writes: cleaning one must never write back a stale copy of the
     * other (a 128-byte granule on many arm64 cores). */
    align = arch_cache_writeback_granule();
  }
  size_t used_off = RL_ALIGN_UP(avail_off + vring_avail_bytes(n), align);
  struct vq_backend *q = rl_zalloc(
      sizeof(*q) +
      (sizeof(struct vq_slot) + sizeof(struct chain_state)) * (size_t)n);
  if (q == NULL) {
    return RL_ERR_NO_MEMORY;
  }
  q->cfg = *cfg;
  q->chain = (struct chain_state *)&q->state[n];
  q->coherent = arch_dma_coherent(cfg->dma);
  q->kick_fast = coherent(q) && VQ_EVENT_IDX(cfg);
  q->size = n;
  q->mask = n - 1;
  q->used_off = used_off;
  rl_status st =
      vq_alloc_rings(used_off + vring_used_bytes(n),
                     VQ_INDIRECT(cfg) ? (size_t)n * SPLIT_INDIRECT_MAX *
                                            sizeof(struct vring_desc)
                                      : 0,
                     &q->ring, &q->indirect);
  if (st != RL_OK) {
    split_destroy(q);
    return st;
  }
  uint8_t *base = q->ring.cpu;
  q->desc = (volatile struct vring_desc *)base;
  q->avail = (volatile struct vring_avail *)(base + avail_off);
  q->used = (volatile struct vring_used *)(base + used_off);
  q->avail_event = (volatile uint16_t *)&q->used->ring[n];
  for (uint32_t i = 0; i < n; i++) {
    vq_slot_set_next(&q->state[i], i + 1 < n ? i + 1 : LIST_END);
  }
  q->free_head.half.lo = VQ_LINK(0);
  q->free_head.half.hi = VQ_SLOT_LINK;
  set_inline(q, coherent(q), 0);
  sync_ring_for_device(q);
  *out = q;
  return RL_OK;
}

VQ_COLD static void split_addrs(const struct vq_backend *q,
                                struct vq_addrs *out) {
  out->desc = q->ring.phys;
  out->driver = q->ring.phys + vring_desc_bytes(q->size);
  out->device = q->ring.phys + q->used_off;
}

static void write_desc(volatile struct vring_desc *d, const struct vq_seg *s,
                       uint16_t flags, uint16_t next) {
  d->addr = s->addr;
  d->len = s->len;
  d->flags = flags;
  d->next = next;
}

/* §2.7.13.2: the ring entry; (§2.7.13.3.1) the descriptors (synced by
 * the caller) and the entry in memory, a write barrier, then the index
 * that publishes them, synced on its own: whatever order a cache writes
 * lines back in, a device never sees the index before what it covers. On
 * a coherent device the barrier is all of it (Linux's virtio_wmb). */
static inline __attribute__((always_inline)) void
publish(struct vq_backend *q, uint16_t head, bool nc) {
  uint16_t avail = q->avail_idx;
  volatile uint16_t *entry = &q->avail->ring[avail & q->mask];
  /* Coherent: an entry that already names `head` (descriptors reused in
   * ring order, as a full ring does) is not written again, so the line
   * the device reads stays shared instead of bouncing to the driver and
   * back. The device only reads this ring (§2.7.6). */
  // cppcheck-suppress duplicateConditionalAssign
  if (nc || *entry != head) {
    *entry = head;
  }
  if (nc) {
    sync_field(q, entry);
  }
  arch_dma_wmb();
  avail++;
  q->avail_idx = avail;
  q->avail->idx = avail;
  if (nc) {
    sync_field(q, &q->avail->idx);
  }
}

/* Any add: a chain of several segments or an indirect table, or any add
 * on a non-coherent device; and every error (out of line: split_add's
 * one-segment coherent case never gets here). */
VQ_COLD __attribute__((noinline)) static rl_status
add_chain(struct vq_backend *q, const struct vq_seg *out, unsigned nout,
          const struct vq_seg *in, unsigned nin, void *token) {
  unsigned total = nout + nin;
  if (q->broken) {
    return RL_ERR_BROKEN;
  }
  uint32_t in_len;
  rl_status st = vq_check_chain(in, nout, nin, token, SPLIT_MAX_SIZE, &in_len);
  if (st != RL_OK) {
    return st;
  }
  bool indirect =
      VQ_INDIRECT(&q->cfg) && total > 1 && total <= SPLIT_INDIRECT_MAX;
  unsigned need = indirect ? 1 : total;
  if (need > q->size) {
    return RL_ERR_INVALID; /* would never fit, however long one waits */
  }
  if (need > num_free(q)) {
    return RL_ERR_NO_SPACE;
  }
  uint32_t head = list_head(q);
  uint32_t idx = head;
  /* One loop for both: into the head's slot of the indirect pool
   * (§2.7.5.3), entries linked 0, 1, 2..., or into the ring, taking the
   * free list's first `total` descriptors, linked as they are there. */
  size_t off = (size_t)head * SPLIT_INDIRECT_MAX * sizeof(struct vring_desc);
  volatile struct vring_desc *table =
      indirect
          ? (volatile struct vring_desc *)((uint8_t *)q->indirect.cpu + off)
          : q->desc;
  for (unsigned i = 0; i < total; i++) {
    bool w = i >= nout;
    const struct vq_seg *s = w ? &in[i - nout] : &out[i];
    uint16_t flags = (uint16_t)((w ? VRING_DESC_F_WRITE : 0) |
                                (i + 1 < total ? VRING_DESC_F_NEXT : 0));
    uint32_t slot = indirect ? i : idx;
    uint16_t next = (uint16_t)(indirect ? i + 1 : vq_slot_next(&q->state[idx]));
    write_desc(&table[slot], s, flags, next);
    if (!indirect) {
      sync_desc(q, idx);
      idx = next;
    }
  }
  if (indirect) {
    struct vq_seg ind = {q->indirect.phys + off,
                         (uint32_t)(total * sizeof(struct vring_desc))};
    write_desc(&q->desc[head], &ind, VRING_DESC_F_INDIRECT, 0);
    arch_dma_sync_for_device(q->cfg.dma, (const uint8_t *)q->indirect.cpu + off,
                             ind.len, ARCH_DMA_TO_DEVICE);
    sync_desc(q, head);
    idx = vq_slot_next(&q->state[head]);
  }
  set_list_head(q, idx);
  q->chain_extra += need - 1;
  struct vq_slot *hs = &q->state[head];
  hs->token = token;
  if (need == 1) {
    hs->word.all = in_len;
  } else {
    /* The link to the second descriptor stays. */
    hs->word.half.hi = VQ_SLOT_CHAIN;
    q->chain[head] = (struct chain_state){in_len, (uint16_t)(need - 1)};
  }
  publish(q, (uint16_t)head, !coherent(q));
  return RL_OK;
}

/* add_one's rare cases (a readable segment, no room, a broken queue, a
 * non-coherent device): add_chain with the segment (out of line). */
VQ_COLD __attribute__((noinline)) static rl_status
add_one_slow(struct vq_backend *q, paddr_t addr, uint32_t len, bool write,
             void *token) {
  struct vq_seg s = {addr, len};
  return add_chain(q, &s, write ? 0 : 1, &s, write ? 1 : 0, token);
}

#ifdef CONFIG_VIRTIO_RING_FAST_PATHS
/* Not inlined into split_add, which tail-calls it: one copy. */
__attribute__((noinline)) static rl_status
split_add_one(struct vq_backend *q, paddr_t addr, uint32_t len, bool write,
              void *token) {
  /* A device-writable segment (ringtest's add_inbuf; a readable one is
   * rarer and takes add_chain), room, a working queue, a coherent device
   * (the last three: free_head < VQ_LINK(SPLIT_MAX_SIZE)), a token: one
   * descriptor, never indirect (a table of one would only cost a fetch), no
   * sync. */
  uint32_t off = q->free_head.half.lo; /* VQ_LINK(head) */
  if (unlikely(off >= VQ_LINK(SPLIT_MAX_SIZE) || !write)) {
    return add_one_slow(q, addr, len, write, token);
  }
  if (unlikely(token == NULL)) {
    return RL_ERR_INVALID;
  }
  struct vq_slot *st = (struct vq_slot *)((uint8_t *)q->state + off);
  volatile struct vring_desc *d =
      (volatile struct vring_desc *)((volatile uint8_t *)q->desc + off);
  d->addr = addr;
  d->len = len;
  /* No NEXT: the device ignores `next` (§2.7.5), left as it was. */
  d->flags = VRING_DESC_F_WRITE;
  q->free_head = st->word; /* its link (LIST_END at the last) */
  st->token = token;
  st->word.all = len;
  publish(q, (uint16_t)(off >> VQ_LINK_SHIFT), false);
  return RL_OK;
}

static rl_status split_add(struct vq_backend *q, const struct vq_seg *out,
                           unsigned nout, const struct vq_seg *in, unsigned nin,
                           void *token) {
  /* One segment: add_one's; everything else, errors included, is
   * add_chain's. */
  if (likely(nout + nin == 1 && nout <= 1)) {
    const struct vq_seg *s = nin != 0 ? in : out;
    return split_add_one(q, s->addr, s->len, nin != 0, token);
  }
  return add_chain(q, out, nout, in, nin, token);
}

#endif

/* Anything but a coherent device with EVENT_IDX (out of line). */
__attribute__((noinline)) static bool kick_prepare_slow(struct vq_backend *q) {
  /* §2.7.13.4.1: full barrier between publishing idx and reading the
   * device's suppression state. */
  arch_dma_mb();
  uint16_t old = q->kicked_idx;
  uint16_t now = q->avail_idx;
  q->kicked_idx = now;
  if (old == now) {
    return false;
  }
  sync_used_for_cpu(q);
  if (VQ_EVENT_IDX(&q->cfg)) {
    return vring_need_event(*q->avail_event, now, old); /* §2.7.10 */
  }
  return (q->used->flags & VRING_USED_F_NO_NOTIFY) == 0; /* §2.7.7 */
}

#ifdef CONFIG_VIRTIO_RING_FAST_PATHS
static bool split_kick_prepare(struct vq_backend *q) {
  if (unlikely(!q->kick_fast)) {
    return kick_prepare_slow(q);
  }
  arch_dma_mb(); /* §2.7.13.4.1 */
  uint32_t old = q->kicked_idx;
  uint32_t now = q->avail_idx;
  q->kicked_idx = (uint16_t)now;
  /* §2.7.10's vring_need_event(event, now, old), as "event in [old, now)":
   * nothing added since (now == old) is never a notification. */
  return (uint16_t)(*q->avail_event - old) < (uint16_t)(now - old);
}

#endif

/* Gives an outstanding buffer's descriptors back to the free list:
 * links from the driver's own record, never from the ring (out of line:
 * the coherent get_used frees a buffer of one inline). */
VQ_COLD __attribute__((noinline)) static void free_chain(struct vq_backend *q,
                                                         uint32_t head) {
  struct vq_slot *s = &q->state[head];
  uint32_t n = s->word.half.hi == 0 ? 1u : q->chain[head].extra + 1u;
  if (n > 1) {
    s->word.half.hi = VQ_SLOT_LINK; /* keeps the link */
  }
  struct vq_slot *tail = s;
#pragma GCC unroll 1 /* a rare path: small beats fast */
  for (uint32_t i = 1; i < n; i++) {
    tail = &q->state[vq_slot_next(tail)];
  }
  vq_slot_set_next(tail, list_head(q));
  set_list_head(q, head);
  q->chain_extra -= n - 1;
}

/* Entries up to used_seen were counted and ordered when used_seen was
 * read: while there are some, the used idx (a line the device keeps
 * writing) is not read again (as ringtest's driver); what the device
 * published it cannot take back. split_get_used (coherent, one
 * descriptor, all well) hands anything else to get_used_slow, which
 * reads the idx or the entry again and checks it all: a slow queue
 * (non-coherent, broken: SPLIT_SEEN_SLOW, which split_get_used never
 * reads the idx for), a chain, a lying device. On a slow queue used_seen's
 * low half follows last_used (a non-coherent entry is synced after its
 * own idx read; a broken queue reads, and refuses, again each call), so
 * every call here reads the idx. */
VQ_COLD __attribute__((noinline)) static struct vq_used
get_used_slow(struct vq_backend *q) {
  uint16_t last = q->last_used;
  volatile struct vring_used *used = q->used;
  if (last == (uint16_t)q->used_seen) {
    if (q->broken) {
      return vq_used_status(RL_ERR_BROKEN);
    }
    /* §2.7.13.4 on a non-coherent device: the idx from memory, a read
     * barrier, then the entry from memory: an entry fetched before the
     * device wrote it can never hide behind a fresh idx. */
    sync_used_idx_for_cpu(q);
    uint16_t used_idx = used->idx;
    /* Nothing new (used_idx - last - 1 wraps to 0xffff, more than the
     * at most 32768 in flight), or more entries than we ever made
     * available (the device is lying): one test. */
    if ((uint16_t)(used_idx - last - 1u) >= (uint16_t)(q->avail_idx - last)) {
      if (used_idx == last) {
        return vq_used_status(RL_ERR_NOT_FOUND);
      }
      goto lying;
    }
    q->used_seen =
        coherent(q) ? used_idx : ((uint16_t)(last + 1) | SPLIT_SEEN_SLOW);
    arch_dma_rmb(); /* read idx, then the entries it covers */
  }
  sync_used_entry_for_cpu(q, last);
  volatile struct vring_used_elem *e = &used->ring[last & q->mask];
  uint32_t id = e->id;
  uint32_t written = e->len;
  /* An id we never posted or that is not outstanding, a length past what
   * the chain lets the device write: lying. */
  if (id >= q->size) {
    goto lying;
  }
  struct vq_slot *s = &q->state[id];
  union vq_word w = s->word;
  if (!desc_outstanding(s) ||
      written > (w.half.hi == 0 ? w.half.lo : q->chain[id].in_len)) {
    goto lying;
  }
  void *t = s->token;
  q->last_used = (uint16_t)(last + 1);
  free_chain(q, id);
  /* used_event (§2.7.10) is not moved here: enable_cb sets it where the
   * driver is about to wait (virtqueue_poll drains, then enables), and a
   * device meanwhile compares against the value enable_cb left, so it
   * interrupts at most once per enable (none while the driver drains). */
  return (struct vq_used){t, written};
lying: /* the queue is broken until detach; the next call comes here and
        * says so */
  q->broken = true;
  set_inline(q, false, q->last_used);
  return vq_used_status(RL_ERR_BROKEN);
}

#ifdef CONFIG_VIRTIO_RING_FAST_PATHS
static struct vq_used split_get_used(struct vq_backend *q) {
  uint32_t last = q->last_used;
  volatile struct vring_used *used = q->used;
  if (last == q->used_seen) { /* never on a SEEN_SLOW queue */
    uint16_t used_idx = used->idx;
    /* As get_used_slow's: nothing new, or lying (it says so). */
    uint32_t avail = q->avail_idx;
    if (unlikely((uint16_t)(avail - used_idx) >= (uint16_t)(avail - last))) {
      if (used_idx == last) {
        return vq_used_status(RL_ERR_NOT_FOUND);
      }
      goto slow;
    }
    q->used_seen = used_idx;
    arch_dma_rmb(); /* §2.7.13.4: read idx, then the entries it covers */
  }
  volatile struct vring_used_elem *e = &used->ring[last & q->mask];
  uint32_t id = e->id;
  uint32_t written = e->len;
  /* One descriptor, all well: free_chain's work inline (a working
   * coherent queue's free_head); a chain, or lying, is get_used_slow's.
   * used_event stays (get_used_slow). */
  void *t;
  if (unlikely(!vq_slot_take_one(q->state, q->take_size, &q->free_head, id,
                                 written, &t))) {
    goto slow;
  }
  q->last_used = (uint16_t)(last + 1);
  return (struct vq_used){t, written};
slow : { VQ_TAIL_CALL return get_used_slow(q); }
}

#endif

/* Interrupt suppression toward the device: with EVENT_IDX the used event
 * (§2.7.10), else the avail flags (§2.7.7). */
static void set_cb(struct vq_backend *q, uint16_t event, uint16_t flags) {
  volatile uint16_t *field =
      VQ_EVENT_IDX(&q->cfg) ? used_event(q) : &q->avail->flags;
  *field = VQ_EVENT_IDX(&q->cfg) ? event : flags;
  sync_field(q, field);
}

VQ_COLD static void split_disable_cb(struct vq_backend *q) {
  /* §2.7.10: an event half the index space away is never reached while
   * at most 32768 buffers are outstanding. */
  set_cb(q, (uint16_t)(q->last_used + 0x8000u), VRING_AVAIL_F_NO_INTERRUPT);
}

VQ_COLD static bool split_enable_cb(struct vq_backend *q) {
  set_cb(q, q->last_used, 0);
  arch_dma_mb(); /* publish before re-checking used idx */
  sync_used_for_cpu(q);
  /* Entries read earlier and not taken yet count too. */
  return (uint16_t)q->used_seen != q->last_used || q->used->idx != q->last_used;
}

VQ_COLD static void split_state(const struct vq_backend *q,
                                struct vq_state *out) {
  out->driver_idx = q->avail_idx;
  out->used_seen = q->last_used;
  out->device_idx = q->used->idx;
  out->free_descs = num_free(q);
  out->in_flight = (uint16_t)(q->avail_idx - q->last_used);
  out->driver_wrap = false;
  out->used_wrap = false;
}

static bool split_broken(const struct vq_backend *q) { return q->broken; }

VQ_COLD static void split_detach(struct vq_backend *q,
                                 void (*fn)(void *token, void *arg),
                                 void *arg) {
  for (uint32_t head = 0; head < q->size; head++) {
    void *token = q->state[head].token;
    if (desc_outstanding(&q->state[head])) {
      free_chain(q, (uint16_t)head);
      if (fn != NULL) {
        fn(token, arg);
      }
    }
  }
  /* The device was reset: both sides start from zero (§2.7). */
  q->avail_idx = 0;
  q->last_used = 0;
  q->kicked_idx = 0;
  q->broken = false;
  set_inline(q, coherent(q), 0);
  uint8_t *ring = q->ring.cpu;
  for (size_t i = 0; i < q->ring.size; i++) {
    ring[i] = 0;
  }
  sync_ring_for_device(q);
}

const struct vq_ops vq_split_ops = {
    .name = "split",
    .create = split_create,
    .destroy = split_destroy,
    .addrs = split_addrs,
#ifdef CONFIG_VIRTIO_RING_FAST_PATHS
    .add = split_add,
    .add_one = split_add_one,
    .kick_prepare = split_kick_prepare,
    .get_used = split_get_used,
#else /* the general paths alone */
    .add = add_chain,
    .add_one = add_one_slow,
    .kick_prepare = kick_prepare_slow,
    .get_used = get_used_slow,
#endif
    .disable_cb = VQ_CALLBACKS ? split_disable_cb : NULL,
    .enable_cb = VQ_CALLBACKS ? split_enable_cb : NULL,
    .state = split_state,
    .broken = split_broken,
    .detach = VQ_DETACH ? split_detach : NULL,
};

/* §2.7: any interface, no feature needed; sizes are powers of two. */
const struct vq_backend_desc vq_split_desc = {
    .name = "split",
    .kconfig_name = "SPLIT",
    .feature_bit = -1,
    .feature_name = NULL,
    .needs_modern = false,
    .pow2_sizes = true,
    .max_size = SPLIT_MAX_SIZE,
    .needs_coherent = false,
    .ops = &vq_split_ops,
};

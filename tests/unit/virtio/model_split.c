/* The device side of a split virtqueue (virtio 1.2 §2.7), for host tests.
 *
 * Written from the spec's memory layout alone: the structures below are
 * this file's own, not the driver's (virtio/queue-split/split_ring.h), so a
 * layout mistake in the driver shows up as a disagreement here. Rings are
 * reached only through the physical addresses the driver published
 * (host_dma_device_ptr: the device's view of memory, as its DMA sees it,
 * which differs from the CPU's when the host cache model is on), and the
 * model keeps its own record of what it popped; it never looks at the
 * driver's records.
 *
 * Layout (§2.7, Table 2.2; all fields little-endian):
 *   descriptor table  16 * n bytes, 16-aligned
 *   available ring    le16 flags, le16 idx, le16 ring[n], le16 used_event;
 *                     2-aligned
 *   used ring         le16 flags, le16 idx, {le32 id, le32 len} ring[n],
 *                     le16 avail_event; 4-aligned
 * Legacy (§2.7.2) is the same three parts in one block with the used ring
 * on the QueueAlign boundary; the model takes the device address it is
 * given either way (the tests check it against the legacy formula). */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include "arch_host.h"
#include "model.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the model reads little-endian ring fields natively"
#endif

/* §2.7.5: one descriptor. */
struct ms_desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
_Static_assert(sizeof(struct ms_desc) == 16, "virtio 1.2 §2.7.5");

#define MS_DESC_NEXT 1u
#define MS_DESC_WRITE 2u
#define MS_DESC_INDIRECT 4u
#define MS_AVAIL_NO_INTERRUPT 1u /* §2.7.6 */
#define MS_USED_NO_NOTIFY 1u     /* §2.7.8 */
#define MS_MAX_SIZE 32768u       /* §2.7: Queue Size at most 2^15 */

/* Byte offsets inside the available and used rings. */
#define AVAIL_FLAGS 0u
#define AVAIL_IDX 2u
#define AVAIL_RING(i) (4u + 2u * (i))
#define USED_FLAGS 0u
#define USED_IDX 2u
#define USED_ID(i) (4u + 8u * (i))
#define USED_LEN(i) (8u + 8u * (i))

enum notify_mode {
  NOTIFY_ON,    /* notify me at every new buffer */
  NOTIFY_OFF,   /* do not notify me */
  NOTIFY_EVENT, /* EVENT_IDX: notify me once avail idx passes `event` */
};

/* What the device remembers about a chain it took and has not used. */
struct ms_rec {
  bool busy;
  uint32_t in_len;
  unsigned nw;
  struct model_seg *w; /* the writable segments, in order */
};

struct model {
  struct vq_config cfg;
  uint32_t n;
  volatile struct ms_desc *desc;
  volatile uint8_t *avail;
  volatile uint8_t *used;
  uint16_t last_avail; /* next avail ring entry to take */
  uint16_t used_idx;   /* the device's used idx (what it last wrote) */
  uint16_t signalled;  /* used idx at the last interrupt decision */
  enum notify_mode notify;
  struct ms_rec *rec; /* by head index */
};

static inline uint16_t rd16(volatile const uint8_t *base, size_t off) {
  return *(volatile const uint16_t *)(base + off);
}
static inline void wr16(volatile uint8_t *base, size_t off, uint16_t v) {
  *(volatile uint16_t *)(base + off) = v;
}
static inline void wr32(volatile uint8_t *base, size_t off, uint32_t v) {
  *(volatile uint32_t *)(base + off) = v;
}

/* The device's DMA: `len` bytes at `pa`, all inside one allocation, in
 * the device's view of memory (with the host cache model on, what the
 * driver's cache maintenance put there, not what its cache holds). */
static uint8_t *dma_map(paddr_t pa, uint64_t len, const char *what) {
  void *first = NULL;
  if (len == 0) {
    len = 1;
  }
  if (host_dma_device_ptr(pa, (size_t)len, &first) != RL_OK) {
    fail_msg("model_split: %s at %#llx (%llu bytes) is not DMA memory", what,
             (unsigned long long)pa, (unsigned long long)len);
  }
  return first;
}

static bool ranges_overlap(paddr_t a, uint64_t alen, paddr_t b, uint64_t blen) {
  return a < b + blen && b < a + alen;
}

static void write_avail_event(struct model *m, uint16_t v) {
  wr16(m->used, USED_ID(m->n), v); /* just past ring[n] */
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static struct model *ms_attach(const struct vq_addrs *a,
                               const struct vq_config *cfg) {
  uint32_t n = cfg->size;
  if (n == 0 || n > MS_MAX_SIZE || (n & (n - 1)) != 0) {
    fail_msg("model_split: queue size %u is not a power of two <= 32768", n);
  }
  /* §2.7, Table 2.2: alignment of the three parts. */
  if (a->desc % 16 != 0 || a->driver % 2 != 0 || a->device % 4 != 0) {
    fail_msg("model_split: misaligned rings: desc %#llx driver %#llx device "
             "%#llx",
             (unsigned long long)a->desc, (unsigned long long)a->driver,
             (unsigned long long)a->device);
  }
  uint64_t dlen = 16ull * n;
  uint64_t alen = 6ull + 2ull * n;
  uint64_t ulen = 6ull + 8ull * n;
  if (ranges_overlap(a->desc, dlen, a->driver, alen) ||
      ranges_overlap(a->desc, dlen, a->device, ulen) ||
      ranges_overlap(a->driver, alen, a->device, ulen)) {
    fail_msg("model_split: ring parts overlap: desc %#llx driver %#llx "
             "device %#llx, size %u",
             (unsigned long long)a->desc, (unsigned long long)a->driver,
             (unsigned long long)a->device, n);
  }
  uint8_t *desc = dma_map(a->desc, dlen, "desc table");
  uint8_t *avail = dma_map(a->driver, alen, "available ring");
  uint8_t *used = dma_map(a->device, ulen, "used ring");
  /* A queue being set up is empty on both sides. */
  if (rd16(avail, AVAIL_IDX) != 0 || rd16(used, USED_IDX) != 0) {
    fail_msg("model_split: new queue with avail idx %u, used idx %u",
             rd16(avail, AVAIL_IDX), rd16(used, USED_IDX));
  }
  struct model *m = calloc(1, sizeof(*m));
  assert_non_null(m);
  m->cfg = *cfg;
  m->n = n;
  m->desc = (volatile struct ms_desc *)desc;
  m->avail = avail;
  m->used = used;
  m->rec = calloc(n, sizeof(*m->rec));
  if (m->rec == NULL) {
    free(m);
    fail_msg("model_split: out of memory");
  }
  m->notify = NOTIFY_ON;
  return m;
}

static void ms_detach(struct model *m) {
  if (m == NULL) {
    return;
  }
  for (uint32_t i = 0; i < m->n; i++) {
    free(m->rec[i].w);
  }
  free(m->rec);
  free(m);
}

/* Appends one segment, checking §2.7.4.2: writable ones come last. */
static void take_seg(struct model_chain *c, struct model_seg *w, unsigned *nw,
                     uint64_t addr, uint32_t len, uint16_t flags) {
  bool write = (flags & MS_DESC_WRITE) != 0;
  if (c->nseg >= MODEL_MAX_SEGS) {
    fail_msg("model_split: chain %u longer than %u segments", c->id,
             MODEL_MAX_SEGS);
  }
  /* Every earlier segment passed this check: the last one decides. */
  if (!write && c->nseg > 0 && c->seg[c->nseg - 1].write) {
    fail_msg("model_split: chain %u: readable segment %u after a writable "
             "one",
             c->id, c->nseg);
  }
  if (len > 0) {
    (void)dma_map(addr, len, "buffer");
  }
  c->seg[c->nseg] = (struct model_seg){addr, len, write};
  c->nseg++;
  if (write) {
    if ((uint64_t)c->in_len + len > UINT32_MAX) {
      fail_msg("model_split: chain %u: writable length overflows", c->id);
    }
    c->in_len += len;
    w[(*nw)++] = (struct model_seg){addr, len, true};
  } else {
    c->out_len += len;
  }
}

/* §2.7.5.3: an indirect table; the last thing a chain holds. */
static void walk_indirect(struct model *m, struct model_chain *c,
                          struct model_seg *w, unsigned *nw,
                          const volatile struct ms_desc *d) {
  uint64_t addr = d->addr;
  uint32_t len = d->len;
  if (!m->cfg.indirect) {
    fail_msg("model_split: chain %u: INDIRECT without "
             "VIRTIO_F_INDIRECT_DESC",
             c->id);
  }
  if (c->indirect) {
    fail_msg("model_split: chain %u: a second indirect table", c->id);
  }
  /* §2.7.5.3.1: no NEXT on the descriptor that points at a table. */
  if (d->flags & MS_DESC_NEXT) {
    fail_msg("model_split: chain %u: INDIRECT together with NEXT", c->id);
  }
  if (len == 0 || len % 16 != 0) {
    fail_msg("model_split: chain %u: indirect table length %u is not a "
             "positive multiple of 16",
             c->id, len);
  }
  if (addr % 16 != 0) {
    fail_msg("model_split: chain %u: indirect table at %#llx not 16-aligned",
             c->id, (unsigned long long)addr);
  }
  uint32_t entries = len / 16;
  const volatile struct ms_desc *t =
      (const volatile struct ms_desc *)dma_map(addr, len, "indirect table");
  c->indirect = true;
  uint32_t i = 0;
  for (uint32_t count = 0;; count++) {
    if (count >= entries) {
      fail_msg("model_split: chain %u: loop in its indirect table", c->id);
    }
    uint16_t flags = t[i].flags;
    /* §2.7.5.3.1: no table inside a table. */
    if (flags & MS_DESC_INDIRECT) {
      fail_msg("model_split: chain %u: nested indirect table (entry %u)", c->id,
               i);
    }
    take_seg(c, w, nw, t[i].addr, t[i].len, flags);
    if ((flags & MS_DESC_NEXT) == 0) {
      break;
    }
    i = t[i].next;
    if (i >= entries) {
      fail_msg("model_split: chain %u: indirect next %u past the table's %u "
               "entries",
               c->id, i, entries);
    }
  }
}

static bool ms_pop(struct model *m, struct model_chain *c) {
  uint16_t avail_idx = rd16(m->avail, AVAIL_IDX);
  __atomic_thread_fence(__ATOMIC_ACQUIRE); /* idx, then the entries */
  if (avail_idx == m->last_avail) {
    if (m->cfg.event_idx && m->notify == NOTIFY_ON) {
      write_avail_event(m, m->last_avail); /* going idle: wake me */
    }
    return false;
  }
  if ((uint16_t)(avail_idx - m->last_avail) > m->n) {
    fail_msg("model_split: avail idx %u is %u entries past the device's %u, "
             "more than the queue size %u",
             avail_idx, (uint16_t)(avail_idx - m->last_avail), m->last_avail,
             m->n);
  }
  uint16_t head = rd16(m->avail, AVAIL_RING(m->last_avail & (m->n - 1)));
  if (head >= m->n) {
    fail_msg("model_split: avail ring[%u] = %u, past the queue size %u",
             m->last_avail & (m->n - 1), head, m->n);
  }
  if (m->rec[head].busy) {
    fail_msg("model_split: head %u made available again while in use", head);
  }
  m->last_avail++;

  memset(c, 0, sizeof(*c));
  c->id = head;
  struct model_seg w[MODEL_MAX_SEGS];
  unsigned nw = 0;
  uint32_t i = head;
  for (uint32_t count = 0;; count++) {
    /* §2.7.5.2: a chain is never longer than the queue: longer loops. */
    if (count >= m->n) {
      fail_msg("model_split: chain %u loops (more than %u descriptors)", head,
               m->n);
    }
    const volatile struct ms_desc *d = &m->desc[i];
    uint16_t flags = d->flags;
    if (flags & MS_DESC_INDIRECT) {
      walk_indirect(m, c, w, &nw, d);
      break;
    }
    take_seg(c, w, &nw, d->addr, d->len, flags);
    if ((flags & MS_DESC_NEXT) == 0) {
      break;
    }
    i = d->next;
    if (i >= m->n) {
      fail_msg("model_split: chain %u: next %u past the queue size %u", head, i,
               m->n);
    }
  }

  struct ms_rec *r = &m->rec[head];
  r->busy = true;
  r->in_len = c->in_len;
  r->nw = nw;
  r->w = NULL;
  if (nw > 0) {
    r->w = malloc(nw * sizeof(*r->w));
    assert_non_null(r->w);
    memcpy(r->w, w, nw * sizeof(*r->w));
  }
  if (m->cfg.event_idx && m->notify == NOTIFY_ON) {
    write_avail_event(m, m->last_avail);
  }
  return true;
}

/* §2.7.8: the entry, a write barrier, then the index that publishes it. */
static void put_used(struct model *m, uint32_t id, uint32_t len) {
  uint32_t slot = m->used_idx & (m->n - 1);
  wr32(m->used, USED_ID(slot), id);
  wr32(m->used, USED_LEN(slot), len);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  m->used_idx++;
  wr16(m->used, USED_IDX, m->used_idx);
}

static void ms_push(struct model *m, uint32_t id, uint32_t written) {
  if (id >= m->n || !m->rec[id].busy) {
    fail_msg("model_split: push of %u, which the device does not hold", id);
  }
  struct ms_rec *r = &m->rec[id];
  if (written > r->in_len) {
    fail_msg("model_split: push of %u with %u bytes, only %u writable", id,
             written, r->in_len);
  }
  uint32_t k = 0;
  for (unsigned s = 0; s < r->nw && k < written; s++) {
    uint32_t part = RL_MIN(r->w[s].len, written - k);
    uint8_t *p = dma_map(r->w[s].addr, part, "buffer");
    for (uint32_t j = 0; j < part; j++) {
      p[j] = model_pattern(id, k + j);
    }
    k += part;
  }
  free(r->w);
  *r = (struct ms_rec){0};
  put_used(m, id, written);
}

static void ms_push_raw(struct model *m, uint32_t id, uint32_t len) {
  put_used(m, id, len);
}

static void ms_claim_extra(struct model *m, uint32_t count) {
  __atomic_thread_fence(__ATOMIC_RELEASE);
  m->used_idx = (uint16_t)(m->used_idx + count);
  wr16(m->used, USED_IDX, m->used_idx);
}

/* §2.7.10 (need_event), written out: the driver asked to hear when the
 * used idx moves past `event`; it moved from `old` to `now`. */
static bool passed(uint16_t event, uint16_t now, uint16_t old) {
  return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

static bool ms_should_interrupt(struct model *m) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST); /* used idx, then flags */
  uint16_t old = m->signalled;
  uint16_t now = m->used_idx;
  m->signalled = now;
  if (old == now) {
    return false;
  }
  if (m->cfg.event_idx) {
    return passed(rd16(m->avail, AVAIL_RING(m->n)), now, old);
  }
  return (rd16(m->avail, AVAIL_FLAGS) & MS_AVAIL_NO_INTERRUPT) == 0;
}

static void ms_set_notify(struct model *m, bool enabled) {
  m->notify = enabled ? NOTIFY_ON : NOTIFY_OFF;
  if (m->cfg.event_idx) {
    /* §2.7.10: the flags bit means nothing with EVENT_IDX; the event
     * does. Off: an event half the index space away. */
    wr16(m->used, USED_FLAGS, 0);
    write_avail_event(m, enabled ? m->last_avail
                                 : (uint16_t)(m->last_avail + 0x8000u));
  } else {
    wr16(m->used, USED_FLAGS, enabled ? 0 : MS_USED_NO_NOTIFY);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
  }
}

static void ms_set_notify_event(struct model *m, uint32_t event) {
  m->notify = NOTIFY_EVENT;
  wr16(m->used, USED_FLAGS, 0);
  write_avail_event(m, (uint16_t)event);
}

const struct model_ops model_split_ops = {
    .name = "split",
    .attach = ms_attach,
    .detach = ms_detach,
    .pop = ms_pop,
    .push = ms_push,
    .push_raw = ms_push_raw,
    .claim_extra = ms_claim_extra,
    .should_interrupt = ms_should_interrupt,
    .set_notify = ms_set_notify,
    .set_notify_event = ms_set_notify_event,
};

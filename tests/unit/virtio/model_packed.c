/* The device side of a packed virtqueue (virtio 1.2 §2.8), for host tests:
 * written from the spec's layout only, with its own structures and its
 * own wrap counters. A driver that breaks a rule fails the test. */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>

#include <arch/barrier.h>

#include "arch_host.h"
#include "model.h"

/* §2.8.13 / §2.8.14, as a device sees them. */
struct mp_desc {
  uint64_t addr;
  uint32_t len;
  uint16_t id;
  uint16_t flags;
};
struct mp_event {
  uint16_t off_wrap; /* offset: bits 0..14, wrap counter: bit 15 */
  uint16_t flags;
};
_Static_assert(sizeof(struct mp_desc) == 16, "§2.8.13");
_Static_assert(sizeof(struct mp_event) == 4, "§2.8.14");

#define MP_NEXT 1u
#define MP_WRITE 2u
#define MP_INDIRECT 4u
#define MP_AVAIL (1u << 7)
#define MP_USED (1u << 15)
#define MP_EV_ENABLE 0u
#define MP_EV_DISABLE 1u
#define MP_EV_DESC 2u
#define MP_WRAP_BIT 15
#define MP_OFF_MASK 0x7fffu
/* claim_extra's ids: outside every ring (sizes are at most 2^15). */
#define MP_NO_BUFFER 0xffffu

/* A buffer the device has taken and not yet marked used. */
struct mp_buf {
  bool out;        /* popped, not pushed */
  uint32_t ndescs; /* ring descriptors it took */
  uint32_t in_len;
  unsigned nw;
  struct model_seg *w; /* its writable segments */
};

enum notify_mode { NOTIFY_OFF, NOTIFY_EVERY, NOTIFY_EVENT };

struct model {
  struct vq_config cfg;
  uint32_t size;
  volatile struct mp_desc *desc;
  volatile struct mp_event *driver_evt; /* read by the device */
  volatile struct mp_event *device_evt; /* written by the device */
  uint32_t avail_pos;                   /* next descriptor to read */
  bool avail_wrap;    /* the driver's counter expected there */
  uint32_t used_pos;  /* next descriptor to write used */
  bool used_wrap;     /* Device Ring Wrap Counter (§2.8.1) */
  uint32_t irq_lin;   /* used position at the last interrupt decision */
  uint32_t irq_slots; /* descriptors used since */
  enum notify_mode notify;
  struct mp_buf *bufs; /* by buffer id */
};

static uint32_t mp_lin(const struct model *m, uint32_t pos, bool wrap) {
  return wrap ? pos : pos + m->size;
}

static uint32_t mp_dist(const struct model *m, uint32_t a, uint32_t b) {
  uint32_t span = 2u * m->size;
  return (b + span - a) % span;
}

/* `len` bytes at `pa` in the device's view of memory (host cache model:
 * what the driver's cleans put there), all inside one DMA allocation. */
static void *mp_map(paddr_t pa, size_t len, const char *what) {
  void *va = NULL;
  if (len == 0) {
    len = 1;
  }
  if (host_dma_device_ptr(pa, len, &va) != RL_OK) {
    fail_msg("packed model: %s at 0x%llx (+%zu) is not in DMA memory", what,
             (unsigned long long)pa, len);
  }
  return va;
}

static void advance(const struct model *m, uint32_t *pos, bool *wrap,
                    uint32_t by) {
  *pos += by;
  while (*pos >= m->size) {
    *pos -= m->size;
    *wrap = !*wrap;
  }
}

static struct model *mp_attach(const struct vq_addrs *addrs,
                               const struct vq_config *cfg) {
  /* §2.8.10.1: alignments the driver must honour. */
  if (addrs->desc % 16 != 0 || addrs->driver % 4 != 0 ||
      addrs->device % 4 != 0) {
    fail_msg("packed model: misaligned rings (desc 0x%llx, driver 0x%llx, "
             "device 0x%llx)",
             (unsigned long long)addrs->desc, (unsigned long long)addrs->driver,
             (unsigned long long)addrs->device);
  }
  if (cfg->size == 0 || cfg->size > 32768) {
    fail_msg("packed model: queue size %u", cfg->size);
    return NULL;
  }
  paddr_t dend = addrs->desc + (paddr_t)16 * cfg->size;
  if ((addrs->driver < dend && addrs->desc < addrs->driver + 4) ||
      (addrs->device < dend && addrs->desc < addrs->device + 4) ||
      (addrs->driver < addrs->device + 4 &&
       addrs->device < addrs->driver + 4)) {
    fail_msg("packed model: ring parts overlap (desc 0x%llx, driver 0x%llx, "
             "device 0x%llx, size %u)",
             (unsigned long long)addrs->desc, (unsigned long long)addrs->driver,
             (unsigned long long)addrs->device, cfg->size);
  }
  struct model *m = calloc(1, sizeof(*m));
  assert_non_null(m);
  m->cfg = *cfg;
  m->size = cfg->size;
  m->desc = mp_map(addrs->desc, (size_t)16 * m->size, "descriptor ring");
  m->driver_evt = mp_map(addrs->driver, 4, "driver event area");
  m->device_evt = mp_map(addrs->device, 4, "device event area");
  m->bufs = calloc(m->size, sizeof(*m->bufs));
  assert_non_null(m->bufs);
  /* §2.8.13: a queue being set up has a zeroed descriptor ring. */
  for (uint32_t i = 0; i < m->size; i++) {
    if (m->desc[i].flags != 0 || m->desc[i].addr != 0 || m->desc[i].len != 0 ||
        m->desc[i].id != 0) {
      fail_msg("packed model: new queue with descriptor %u not zeroed", i);
    }
  }
  m->avail_wrap = true; /* §2.8.1: both counters start at 1 */
  m->used_wrap = true;
  m->irq_lin = mp_lin(m, 0, true);
  m->notify = NOTIFY_EVERY; /* zeroed device area: ENABLE */
  return m;
}

static void mp_detach(struct model *m) {
  if (m == NULL) {
    return;
  }
  for (uint32_t i = 0; i < m->size; i++) {
    free(m->bufs[i].w);
  }
  free(m->bufs);
  free(m);
}

/* §2.8.1: available when AVAIL = the driver's counter, USED the inverse. */
static bool is_avail(uint16_t flags, bool wrap) {
  return ((flags & MP_AVAIL) != 0) == wrap && ((flags & MP_USED) != 0) != wrap;
}

static void add_seg(struct model_chain *c, uint64_t addr, uint32_t len,
                    bool write, uint64_t *out_len, uint64_t *in_len) {
  if (c->nseg >= MODEL_MAX_SEGS) {
    fail_msg("packed model: more than %d segments in a buffer", MODEL_MAX_SEGS);
  }
  bool any_w = false;
  for (unsigned i = 0; i < c->nseg; i++) {
    any_w = any_w || c->seg[i].write;
  }
  if (!write && any_w) {
    fail_msg("packed model: a readable segment after a writable one "
             "(§2.8.17)");
  }
  if (len > 0) {
    (void)mp_map(addr, len, "buffer");
  }
  c->seg[c->nseg++] = (struct model_seg){addr, len, write};
  if (write) {
    *in_len += len;
  } else {
    *out_len += len;
  }
}

static void update_event(struct model *m) {
  if (m->notify == NOTIFY_EVERY && m->cfg.event_idx) {
    /* §2.8.10: notify me when the next descriptor is made available. */
    m->device_evt->off_wrap =
        (uint16_t)(m->avail_pos | (m->avail_wrap ? 1u << MP_WRAP_BIT : 0));
    arch_dma_wmb();
    m->device_evt->flags = MP_EV_DESC;
  }
}

static bool mp_pop(struct model *m, struct model_chain *c) {
  uint32_t pos = m->avail_pos;
  bool wrap = m->avail_wrap;
  if (!is_avail(m->desc[pos].flags, wrap)) {
    return false;
  }
  arch_dma_rmb(); /* the head's flags, then the list */
  *c = (struct model_chain){0};
  uint64_t out_len = 0;
  uint64_t in_len = 0;
  uint32_t count = 0;
  uint32_t id = 0;
  for (;;) {
    volatile struct mp_desc *d = &m->desc[pos];
    uint16_t flags = d->flags;
    if (!is_avail(flags, wrap)) {
      fail_msg("packed model: list continues at %u into a descriptor not "
               "available (flags %#x, wrap %d)",
               pos, flags, wrap);
    }
    if (++count > m->size) {
      fail_msg("packed model: list longer than the queue (§2.8.17)");
    }
    uint64_t addr = d->addr;
    uint32_t len = d->len;
    id = d->id; /* §2.8.6: the last descriptor's id names the buffer */
    if (flags & MP_INDIRECT) {
      if (!m->cfg.indirect) {
        fail_msg("packed model: INDIRECT not negotiated (§2.8.19)");
      }
      if (count != 1 || (flags & MP_NEXT)) {
        fail_msg("packed model: INDIRECT in a NEXT list (§2.8.19)");
      }
      if (len == 0 || len % 16 != 0) {
        fail_msg("packed model: indirect table of %u bytes", len);
      }
      const struct mp_desc *t = mp_map(addr, len, "indirect table");
      c->indirect = true;
      for (uint32_t i = 0; i < len / 16; i++) {
        if (t[i].flags & ~MP_WRITE) {
          fail_msg("packed model: indirect descriptor %u has flags %#x; "
                   "only WRITE is allowed (§2.8.19)",
                   i, t[i].flags);
        }
        add_seg(c, t[i].addr, t[i].len, (t[i].flags & MP_WRITE) != 0, &out_len,
                &in_len);
      }
    } else {
      add_seg(c, addr, len, (flags & MP_WRITE) != 0, &out_len, &in_len);
    }
    advance(m, &pos, &wrap, 1);
    if (!(flags & MP_NEXT)) {
      break;
    }
  }
  if (id >= m->size) {
    fail_msg("packed model: buffer id %u out of range (size %u)", id, m->size);
  }
  struct mp_buf *b = &m->bufs[id];
  if (b->out) {
    fail_msg("packed model: buffer id %u made available while in use", id);
  }
  if (out_len > UINT32_MAX || in_len > UINT32_MAX) {
    fail_msg("packed model: buffer %u longer than 4 GiB", id);
  }
  c->id = id;
  c->out_len = (uint32_t)out_len;
  c->in_len = (uint32_t)in_len;
  unsigned nw = 0;
  for (unsigned i = 0; i < c->nseg; i++) {
    nw += c->seg[i].write ? 1u : 0u;
  }
  b->out = true;
  b->ndescs = count;
  b->in_len = c->in_len;
  b->nw = 0;
  b->w = nw > 0 ? calloc(nw, sizeof(*b->w)) : NULL;
  for (unsigned i = 0; i < c->nseg; i++) {
    if (c->seg[i].write) {
      b->w[b->nw++] = c->seg[i];
    }
  }
  m->avail_pos = pos;
  m->avail_wrap = wrap;
  update_event(m);
  return true;
}

/* §2.8.1: a used descriptor at the next used position, its flags last. */
static void write_used(struct model *m, uint32_t id, uint32_t len, bool write) {
  volatile struct mp_desc *d = &m->desc[m->used_pos];
  d->id = (uint16_t)id;
  d->len = len;
  arch_dma_wmb();
  d->flags = (uint16_t)((m->used_wrap ? MP_AVAIL | MP_USED : 0) |
                        (write ? MP_WRITE : 0));
}

/* Skips the slots the buffer took (§2.8.6) and forgets it. */
static void retire(struct model *m, uint32_t slots) {
  advance(m, &m->used_pos, &m->used_wrap, slots);
  m->irq_slots += slots;
}

static void release(struct mp_buf *b) {
  free(b->w);
  *b = (struct mp_buf){0};
}

static void mp_push(struct model *m, uint32_t id, uint32_t written) {
  if (id >= m->size || !m->bufs[id].out) {
    fail_msg("packed model: push of buffer %u, which the device does not "
             "hold",
             id);
  }
  struct mp_buf *b = &m->bufs[id];
  if (written > b->in_len) {
    fail_msg("packed model: push of %u bytes into buffer %u of %u writable",
             written, id, b->in_len);
  }
  uint32_t done = 0;
  for (unsigned s = 0; s < b->nw && done < written; s++) {
    uint32_t n = RL_MIN(b->w[s].len, written - done);
    uint8_t *p = mp_map(b->w[s].addr, n, "writable segment");
    for (uint32_t i = 0; i < n; i++) {
      p[i] = model_pattern(id, done + i);
    }
    done += n;
  }
  uint32_t slots = b->ndescs;
  release(b);
  /* §2.8.3: WRITE says whether anything was written. */
  write_used(m, id, written, written > 0);
  retire(m, slots);
}

static void mp_push_raw(struct model *m, uint32_t id, uint32_t len) {
  uint32_t slots = 1;
  if (id > MP_NO_BUFFER) {
    id = MP_NO_BUFFER; /* a 16-bit field: still no buffer's id */
  }
  if (id < m->size && m->bufs[id].out) {
    slots = m->bufs[id].ndescs;
    release(&m->bufs[id]);
  }
  write_used(m, id, len, len > 0);
  retire(m, slots);
}

static void mp_claim_extra(struct model *m, uint32_t count) {
  /* Descriptors that look used at the next used positions, naming no
   * buffer at all; a packed ring can claim at most one lap ahead. */
  count = RL_MIN(count, m->size);
  for (uint32_t i = 0; i < count; i++) {
    write_used(m, MP_NO_BUFFER, 0, false);
    retire(m, 1);
  }
}

static bool mp_should_interrupt(struct model *m) {
  uint32_t old = m->irq_lin;
  uint32_t now = mp_lin(m, m->used_pos, m->used_wrap);
  uint32_t slots = m->irq_slots;
  m->irq_lin = now;
  m->irq_slots = 0;
  if (slots == 0) {
    return false;
  }
  arch_dma_mb(); /* used descriptors out, then read the driver's wishes */
  uint16_t flags = m->driver_evt->flags;
  switch (flags) {
  case MP_EV_ENABLE:
    return true;
  case MP_EV_DISABLE:
    return false;
  case MP_EV_DESC:
    break;
  default:
    fail_msg("packed model: driver event flags %#x (§2.8.14)", flags);
  }
  if (!m->cfg.event_idx) {
    fail_msg("packed model: driver event DESC without EVENT_IDX (§2.8.10)");
  }
  uint16_t off_wrap = m->driver_evt->off_wrap;
  uint32_t off = off_wrap & MP_OFF_MASK;
  if (off >= m->size) {
    fail_msg("packed model: driver event offset %u beyond the ring (%u)", off,
             m->size);
  }
  if (slots >= m->size) {
    return true;
  }
  uint32_t event = mp_lin(m, off, (off_wrap >> MP_WRAP_BIT) != 0);
  return mp_dist(m, old, event) < mp_dist(m, old, now);
}

static void mp_set_notify(struct model *m, bool enabled) {
  if (!enabled) {
    m->notify = NOTIFY_OFF;
    m->device_evt->flags = MP_EV_DISABLE;
  } else if (m->cfg.event_idx) {
    m->notify = NOTIFY_EVERY;
    update_event(m);
  } else {
    m->notify = NOTIFY_EVERY;
    m->device_evt->flags = MP_EV_ENABLE;
  }
  arch_dma_mb();
}

/* `event` counts descriptors from the queue's start, like a split ring's
 * avail idx: modulo 2 * size, offset event % size, wrap counter 1 on even
 * laps (§2.8.1 starts it at 1). */
static void mp_set_notify_event(struct model *m, uint32_t event) {
  if (!m->cfg.event_idx) {
    fail_msg("packed model: set_notify_event without EVENT_IDX");
  }
  uint32_t lap_pos = event % (2u * m->size);
  uint32_t off = lap_pos % m->size;
  bool wrap = lap_pos < m->size;
  m->notify = NOTIFY_EVENT;
  m->device_evt->off_wrap = (uint16_t)(off | (wrap ? 1u << MP_WRAP_BIT : 0));
  arch_dma_wmb();
  m->device_evt->flags = MP_EV_DESC;
  arch_dma_mb();
}

const struct model_ops model_packed_ops = {
    .name = "packed",
    .attach = mp_attach,
    .detach = mp_detach,
    .pop = mp_pop,
    .push = mp_push,
    .push_raw = mp_push_raw,
    .claim_extra = mp_claim_extra,
    .should_interrupt = mp_should_interrupt,
    .set_notify = mp_set_notify,
    .set_notify_event = mp_set_notify_event,
};

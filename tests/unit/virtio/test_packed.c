/* Packed-ring cases (virtio 1.2 §2.8) on top of the shared queue suite
 * (test_virtqueue.c runs its generic cases on this backend too): wrap
 * counters at lap boundaries, lists straddling the end of the ring, queue
 * sizes that are not powers of two, completion out of order by buffer id,
 * and event suppression both ways, with and without EVENT_IDX.
 *
 * The driver is vq_packed_ops, the device model_packed_ops. Every step is
 * checked twice: against the driver's own view (vq_state), and in the
 * shared memory, read through the addresses the driver published the way
 * a device finds it. The fixture counts descriptors from the queue's start
 * (made available, used by the device, collected by the driver); a count c
 * sits at ring position c % size with wrap counter 1 on even laps (§2.8.1).
 * After each case everything outstanding is completed, and every
 * descriptor and every DMA allocation must have come back.
 *
 * Every case runs in the coherent cache variant (cache_variants.h) and is
 * named "packed/coherent/<case>": the packed ring is for dma-coherent
 * devices only (virtio/queue-packed/README.md), and
 * packed/noncoherent/refused checks that create refuses any other. The
 * shared memory is read in the device's view (host_dma_device_ptr). */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include <arch/dma.h>
#include <virtio/core/vq_backend.h>

#include "arch_host.h"
#include "cache_variants.h"
#include "model.h"

static const struct arch_dma_dev coherent = {.coherent = true};
static const struct arch_dma_dev noncoherent = {.coherent = false};

extern const struct vq_ops vq_packed_ops;

/* §2.8.13 / §2.8.14 as this test reads them, from the spec alone. */
struct ring_desc {
  uint64_t addr;
  uint32_t len;
  uint16_t id;
  uint16_t flags;
};
struct ring_event {
  uint16_t off_wrap;
  uint16_t flags;
};
_Static_assert(sizeof(struct ring_desc) == 16, "§2.8.13");
_Static_assert(sizeof(struct ring_event) == 4, "§2.8.14");

#define F_NEXT 1u
#define F_WRITE 2u
#define F_INDIRECT 4u
#define F_AVAIL (1u << 7)
#define F_USED (1u << 15)
#define EV_ENABLE 0u
#define EV_DISABLE 1u
#define EV_DESC 2u
#define EV_WRAP (1u << 15)

#define SLOT 16u    /* bytes of each segment add_slots lays out */
#define TOK_SEGS 8u /* segments add_slots gives a token room for */
#define FILL 0xeeu  /* data bytes nobody wrote */
#define NONE UINT32_MAX
#define EXTRA_BYTES ((size_t)64 * 1024)
#define MAX_CHAIN 64u /* longest chain a case posts */

enum { T_FREE, T_POSTED, T_POPPED, T_PUSHED };

/* One registered test: a case in a cache variant. */
struct run {
  const struct cache_variant *v;
  CMUnitTestFunction fn;
  const char *name;
  const char *xfail; /* the reason it must fail, or NULL */
};

/* The test's record of one buffer; its address is the token. */
struct tok_rec {
  uint8_t st;
  bool slots;    /* segments laid out in its own area (add_slots) */
  uint16_t id;   /* buffer id, as the ring says */
  uint32_t nseg; /* = ring descriptors: no indirect tables here */
  uint32_t nout; /* readable segments */
  paddr_t head_addr;
  uint32_t out_len;
  uint32_t in_len;
  uint32_t written; /* what the device said it wrote */
};

struct fifo {
  uint32_t *v;
  uint32_t cap;
  uint32_t head;
  uint32_t count;
};

struct fx {
  const struct run *run;
  const struct vq_ops *ops;
  const struct model_ops *mo;
  struct vq_config cfg;
  uint32_t n;
  struct vq_backend *q;
  struct model *m;
  struct vq_addrs a;
  volatile struct ring_desc *desc;
  volatile struct ring_event *drv_evt; /* driver event area (§2.8.10) */
  volatile struct ring_event *dev_evt; /* device event area */
  struct arch_dma_buf data;
  struct tok_rec *tok;
  uint32_t ntok;
  uint32_t tok_cursor;
  size_t extra;       /* data offset of the area for lists laid out by hand */
  uint32_t *id_tok;   /* popped and not yet collected, by buffer id */
  struct fifo posted; /* tokens made available, not yet popped */
  struct fifo done;   /* tokens used by the device, not yet collected */
  uint64_t avail;     /* descriptors made available */
  uint64_t dev_used;  /* descriptors the device marked used */
  uint64_t used;      /* descriptors the driver collected */
  uint32_t in_flight; /* buffers made available and not collected */
  size_t dma_base;
};

/* ---- small helpers ---------------------------------------------------- */

static uint32_t rng_next(uint32_t *s) {
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

static void fifo_init(struct fifo *q, uint32_t cap) {
  q->v = calloc(cap, sizeof(*q->v));
  assert_non_null(q->v);
  q->cap = cap;
  q->head = 0;
  q->count = 0;
}

static void fifo_put(struct fifo *q, uint32_t x) {
  assert_true(q->count < q->cap);
  q->v[(q->head + q->count) % q->cap] = x;
  q->count++;
}

static uint32_t fifo_take(struct fifo *q) {
  assert_true(q->count > 0);
  uint32_t x = q->v[q->head];
  q->head = (q->head + 1) % q->cap;
  q->count--;
  return x;
}

/* The queue size (fx_open never opens one of 0). */
static uint32_t qsize(const struct fx *f) { return f->n > 0 ? f->n : 1; }

static uint32_t ring_pos(const struct fx *f, uint64_t count) {
  return (uint32_t)(count % qsize(f));
}

/* §2.8.1: both wrap counters start at 1 and flip at each lap. */
static bool ring_wrap(const struct fx *f, uint64_t count) {
  return (count / qsize(f)) % 2 == 0;
}

/* §2.8.14: an event's offset and wrap counter. */
static uint16_t off_wrap(const struct fx *f, uint64_t count) {
  return (uint16_t)(ring_pos(f, count) | (ring_wrap(f, count) ? EV_WRAP : 0));
}

/* Ring memory as the device finds it: its own view (host cache model). */
static void *map(paddr_t pa, size_t len) {
  void *va = NULL;
  assert_int_equal(host_dma_device_ptr(pa, len, &va), RL_OK);
  return va;
}

static uint8_t *data_at(struct fx *f, size_t off) {
  return (uint8_t *)f->data.cpu + off;
}

/* The driver's user: data it wrote (FILL included) reaches memory before
 * the device may look (clean, and invalidate for buffers the device will
 * write, so no dirty line lands on them later). No-ops when coherent. */
static void user_wrote(struct fx *f, size_t off, size_t len,
                       enum arch_dma_dir dir) {
  arch_dma_sync_for_device(f->cfg.dma, data_at(f, off), len, dir);
}

/* The driver's user reading data back: invalidated first. */
static const uint8_t *user_reads(struct fx *f, size_t off, size_t len) {
  arch_dma_sync_for_cpu(f->cfg.dma, data_at(f, off), len, ARCH_DMA_FROM_DEVICE);
  return data_at(f, off);
}

static struct tok_rec *tok_ptr(struct fx *f, uint32_t t) {
  assert_true(t < f->ntok);
  return &f->tok[t];
}

static uint32_t tok_new(struct fx *f) {
  for (uint32_t i = 0; i < f->ntok; i++) {
    uint32_t t = (f->tok_cursor + i) % f->ntok;
    if (f->tok[t].st == T_FREE) {
      f->tok_cursor = (t + 1) % f->ntok;
      return t;
    }
  }
  fail_msg("out of tokens");
  return 0;
}

static struct vq_state vstate(struct fx *f) {
  struct vq_state s;
  f->ops->state(f->q, &s);
  return s;
}

static uint32_t free_descs(const struct fx *f) {
  return f->n - (uint32_t)(f->avail - f->used);
}

/* The driver's view agrees with the counts. */
static void check_state(struct fx *f) {
  struct vq_state s = vstate(f);
  assert_int_equal(s.driver_idx, ring_pos(f, f->avail));
  assert_int_equal(s.driver_wrap, ring_wrap(f, f->avail));
  assert_int_equal(s.used_seen, ring_pos(f, f->used));
  assert_int_equal(s.used_wrap, ring_wrap(f, f->used));
  assert_int_equal(s.free_descs, free_descs(f));
  assert_int_equal(s.in_flight, f->in_flight);
  assert_false(f->ops->broken(f->q));
}

/* ---- fixture ---------------------------------------------------------- */

static void fx_open(struct fx *f, uint32_t size, bool event_idx) {
  assert_null(f->q);
  f->n = size;
  f->cfg = (struct vq_config){
      .size = (uint16_t)size,
      .event_idx = event_idx,
      .dma = f->run->v->line == 0 ? &coherent : &noncoherent,
  };
  assert_int_equal(f->ops->create(&f->cfg, &f->q), RL_OK);
  f->ops->addrs(f->q, &f->a);
  f->m = f->mo->attach(&f->a, &f->cfg);
  assert_non_null(f->m);
  f->desc = map(f->a.desc, (size_t)size * sizeof(struct ring_desc));
  f->drv_evt = map(f->a.driver, sizeof(struct ring_event));
  f->dev_evt = map(f->a.device, sizeof(struct ring_event));

  f->ntok = size + 64;
  /* A fixed area per token, then room for lists laid out by hand. */
  f->extra = (size_t)f->ntok * TOK_SEGS * SLOT;
  size_t bytes = RL_ALIGN_UP(f->extra + EXTRA_BYTES, (size_t)RL_PAGE_SIZE);
  assert_int_equal(arch_dma_alloc(bytes / RL_PAGE_SIZE, &f->data), RL_OK);
  memset(f->data.cpu, FILL, f->data.size);
  f->tok = calloc(f->ntok, sizeof(*f->tok));
  assert_non_null(f->tok);
  f->tok_cursor = 0;
  f->id_tok = malloc((size_t)size * sizeof(*f->id_tok));
  assert_non_null(f->id_tok);
  for (uint32_t i = 0; i < size; i++) {
    f->id_tok[i] = NONE;
  }
  fifo_init(&f->posted, f->ntok);
  fifo_init(&f->done, f->ntok);
  f->avail = 0;
  f->dev_used = 0;
  f->used = 0;
  f->in_flight = 0;
  check_state(f);
}

static void fx_close(struct fx *f) {
  if (f->m != NULL) {
    f->mo->detach(f->m);
    f->m = NULL;
  }
  if (f->q != NULL) {
    f->ops->destroy(f->q);
    f->q = NULL;
  }
  arch_dma_free(&f->data);
  free(f->tok);
  free(f->id_tok);
  free(f->posted.v);
  free(f->done.v);
  f->tok = NULL;
  f->id_tok = NULL;
  f->posted.v = NULL;
  f->done.v = NULL;
  assert_int_equal(host_dma_live_count(), f->dma_base);
}

/* ---- the driver and the device, checked at every step ----------------- */

/* Posts nout readable then nin writable segments as token t. On success
 * the list must sit in the ring from the next available position on,
 * each descriptor with the driver's wrap counter of its own position
 * (§2.8.6): AVAIL = counter, USED = !counter, and AVAIL flipped against
 * what the previous lap left there. A refused add changes nothing. */
static rl_status add_segs(struct fx *f, const struct vq_seg *segs,
                          uint32_t nout, uint32_t nin, uint32_t t) {
  uint32_t total = nout + nin;
  assert_true(total >= 1 && total <= MAX_CHAIN);
  struct tok_rec *r = tok_ptr(f, t);
  assert_int_equal(r->st, T_FREE);
  uint32_t look = RL_MIN(total, f->n);
  uint16_t before[MAX_CHAIN] = {0};
  for (uint32_t i = 0; i < look; i++) {
    before[i] = f->desc[ring_pos(f, f->avail + i)].flags;
  }
  for (uint32_t i = 0; i < total; i++) {
    assert_true(segs[i].addr >= f->data.phys &&
                segs[i].addr - f->data.phys + segs[i].len <= f->data.size);
    user_wrote(f, (size_t)(segs[i].addr - f->data.phys), segs[i].len,
               i < nout ? ARCH_DMA_TO_DEVICE : ARCH_DMA_FROM_DEVICE);
  }
  rl_status st = f->ops->add(f->q, segs, nout, segs + nout, nin, r);
  if (st != RL_OK) {
    for (uint32_t i = 0; i < look; i++) {
      assert_int_equal(f->desc[ring_pos(f, f->avail + i)].flags, before[i]);
    }
    check_state(f);
    return st;
  }
  assert_true(total <= free_descs(f));
  uint32_t in_len = 0;
  uint32_t out_len = 0;
  for (uint32_t i = 0; i < total; i++) {
    uint64_t c = f->avail + i;
    volatile struct ring_desc *d = &f->desc[ring_pos(f, c)];
    uint16_t fl = d->flags;
    assert_int_equal((fl & F_AVAIL) != 0, ring_wrap(f, c));
    assert_int_equal((fl & F_USED) != 0, !ring_wrap(f, c));
    assert_int_equal((fl ^ before[i]) & F_AVAIL, F_AVAIL);
    assert_int_equal((fl & F_NEXT) != 0, i + 1 < total);
    assert_int_equal((fl & F_WRITE) != 0, i >= nout);
    assert_int_equal(fl & F_INDIRECT, 0);
    assert_int_equal(d->addr, segs[i].addr);
    assert_int_equal(d->len, segs[i].len);
    if (i < nout) {
      out_len += segs[i].len;
    } else {
      in_len += segs[i].len;
    }
  }
  /* §2.8.6: the buffer id is in the last descriptor. */
  uint16_t id = f->desc[ring_pos(f, f->avail + total - 1)].id;
  assert_true(id < f->n);
  *r = (struct tok_rec){
      .st = T_POSTED,
      .id = id,
      .nseg = total,
      .nout = nout,
      .head_addr = segs[0].addr,
      .out_len = out_len,
      .in_len = in_len,
  };
  f->avail += total;
  f->in_flight++;
  fifo_put(&f->posted, t);
  check_state(f);
  return RL_OK;
}

/* Data offset of segment i of token t's own area. */
static size_t slot_off(uint32_t t, uint32_t i) {
  return ((size_t)t * TOK_SEGS + i) * SLOT;
}

/* A list of SLOT-byte segments in token t's own area: no two
 * outstanding buffers share data, whatever order they complete in. */
static rl_status add_slots(struct fx *f, uint32_t nout, uint32_t nin,
                           uint32_t t) {
  struct vq_seg segs[TOK_SEGS];
  assert_true(nout + nin <= TOK_SEGS);
  for (uint32_t i = 0; i < nout + nin; i++) {
    segs[i] = (struct vq_seg){f->data.phys + slot_off(t, i), SLOT};
  }
  /* A free token's area is no outstanding buffer's: refill it first. */
  memset(data_at(f, slot_off(t, 0)), FILL, (size_t)TOK_SEGS * SLOT);
  rl_status st = add_segs(f, segs, nout, nin, t);
  if (st == RL_OK) {
    f->tok[t].slots = true;
  }
  return st;
}

/* The device takes the next buffer: the one made available first. */
static uint32_t pop(struct fx *f, struct model_chain *c) {
  assert_true(f->mo->pop(f->m, c));
  uint32_t t = fifo_take(&f->posted);
  struct tok_rec *r = tok_ptr(f, t);
  assert_int_equal(r->st, T_POSTED);
  assert_int_equal(c->id, r->id);
  assert_int_equal(f->id_tok[c->id], NONE); /* no id twice outstanding */
  f->id_tok[c->id] = t;
  assert_false(c->indirect);
  assert_int_equal(c->nseg, r->nseg);
  assert_int_equal(c->seg[0].addr, r->head_addr);
  assert_int_equal(c->out_len, r->out_len);
  assert_int_equal(c->in_len, r->in_len);
  r->st = T_POPPED;
  return t;
}

static uint32_t pop1(struct fx *f) {
  struct model_chain c;
  return pop(f, &c);
}

static void expect_no_pop(struct fx *f) {
  struct model_chain c;
  assert_int_equal(f->posted.count, 0);
  assert_false(f->mo->pop(f->m, &c));
}

/* The device marks token t used. §2.8.1: one used descriptor at the
 * device's next used position, AVAIL = USED = its wrap counter, carrying
 * the id and the length; then the position moves by the buffer's count. */
static void push(struct fx *f, uint32_t t, uint32_t written) {
  struct tok_rec *r = tok_ptr(f, t);
  assert_int_equal(r->st, T_POPPED);
  assert_true(written <= r->in_len);
  f->mo->push(f->m, r->id, written);
  volatile struct ring_desc *d = &f->desc[ring_pos(f, f->dev_used)];
  uint16_t fl = d->flags;
  assert_int_equal((fl & F_AVAIL) != 0, ring_wrap(f, f->dev_used));
  assert_int_equal((fl & F_USED) != 0, ring_wrap(f, f->dev_used));
  assert_int_equal(d->id, r->id);
  assert_int_equal(d->len, written);
  f->dev_used += r->nseg;
  r->written = written;
  r->st = T_PUSHED;
  fifo_put(&f->done, t);
}

/* Byte k of a chain's writable space: the pattern below `written`,
 * untouched above. */
static void check_bytes(const uint8_t *p, uint32_t len, uint32_t id,
                        uint32_t k0, uint32_t written) {
  for (uint32_t i = 0; i < len; i++) {
    if (k0 + i < written) {
      assert_int_equal(p[i], model_pattern(id, k0 + i));
    } else {
      assert_int_equal(p[i], FILL);
    }
  }
}

/* The driver collects the next used buffer: the one used first. */
static uint32_t get(struct fx *f) {
  void *tk = NULL;
  uint32_t len = 0;
  assert_int_equal(vq_get_used(f->ops, f->q, &tk, &len), RL_OK);
  uint32_t t = fifo_take(&f->done);
  struct tok_rec *r = tok_ptr(f, t);
  assert_ptr_equal(tk, r);
  assert_int_equal(r->st, T_PUSHED);
  assert_int_equal(len, r->written);
  /* The used descriptor it came from, at the driver's used position. */
  volatile struct ring_desc *d = &f->desc[ring_pos(f, f->used)];
  assert_int_equal((d->flags & F_AVAIL) != 0, ring_wrap(f, f->used));
  assert_int_equal((d->flags & F_USED) != 0, ring_wrap(f, f->used));
  assert_int_equal(d->id, r->id);
  if (r->slots) {
    for (uint32_t i = 0; i < r->nseg; i++) {
      bool w = i >= r->nout;
      check_bytes(user_reads(f, slot_off(t, i), SLOT), SLOT, r->id,
                  w ? (i - r->nout) * SLOT : 0, w ? len : 0);
    }
  }
  assert_int_equal(f->id_tok[r->id], t);
  f->id_tok[r->id] = NONE;
  f->used += r->nseg;
  f->in_flight--;
  r->st = T_FREE;
  check_state(f);
  return t;
}

static void expect_none(struct fx *f) {
  void *tk;
  uint32_t len;
  assert_int_equal(f->done.count, 0);
  assert_int_equal(vq_get_used(f->ops, f->q, &tk, &len), RL_ERR_NOT_FOUND);
}

/* One single-descriptor buffer all the way round. */
static void cycle1(struct fx *f, uint32_t written) {
  uint32_t t = tok_new(f);
  assert_int_equal(add_slots(f, 0, 1, t), RL_OK);
  assert_int_equal(pop1(f), t);
  push(f, t, written);
  assert_int_equal(get(f), t);
}

/* Completes everything still outstanding; then every descriptor is free. */
static void drain(struct fx *f) {
  while (f->posted.count > 0) {
    (void)pop1(f);
  }
  expect_no_pop(f);
  for (uint32_t t = 0; t < f->ntok; t++) {
    if (f->tok[t].st == T_POPPED) {
      push(f, t, 0);
    }
  }
  while (f->done.count > 0) {
    (void)get(f);
  }
  expect_none(f);
  assert_int_equal(f->in_flight, 0);
  assert_int_equal(vstate(f).free_descs, f->n);
  assert_int_equal(f->dev_used, f->avail);
}

static int fx_setup(void **state_) {
  struct fx *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    return -1;
  }
  f->run = *state_;
  f->ops = &vq_packed_ops;
  f->mo = &model_packed_ops;
  cache_variant_enter(f->run->v);
  f->dma_base = host_dma_live_count();
  *state_ = f;
  return 0;
}

/* What every case ends with: everything completed and freed. */
static void fx_finish(struct fx *f) {
  if (f->q != NULL) {
    drain(f);
    fx_close(f);
  }
  assert_int_equal(host_dma_live_count(), f->dma_base);
}

static int fx_teardown(void **state_) {
  struct fx *f = *state_;
  fx_finish(f);
  cache_variant_leave();
  free(f);
  return 0;
}

static void close_drained(struct fx *f) {
  drain(f);
  fx_close(f);
}

/* ---- 1. wrap counters flip after exactly `size` descriptors ----------- */

/* Batches of 1, 2, ... buffers of `segs` descriptors each for five laps.
 * After every add the driver's counter has flipped exactly once per lap
 * boundary crossed (none before `size` descriptors, one at exactly
 * `size`); after every collection the same for the used counter. The
 * descriptors themselves are checked by add_segs (driver) and push
 * (device). */
static void wrap_laps(struct fx *f, uint32_t n, uint32_t segs) {
  enum { LAPS = 5, MAX_BATCH = 256 };
  fx_open(f, n, false);
  uint32_t per = RL_MIN(n / segs, (uint32_t)MAX_BATCH);
  bool drv_wrap = true;
  bool used_wrap = true;
  uint64_t drv_flips = 0;
  uint64_t used_flips = 0;
  uint32_t t[MAX_BATCH];
  for (uint32_t iter = 0; f->avail < (uint64_t)LAPS * n; iter++) {
    uint32_t batch = 1 + iter % per;
    for (uint32_t b = 0; b < batch; b++) {
      t[b] = tok_new(f);
      assert_int_equal(add_slots(f, segs - 1, 1, t[b]), RL_OK);
      struct vq_state s = vstate(f);
      if (s.driver_wrap != drv_wrap) {
        drv_wrap = s.driver_wrap;
        drv_flips++;
      }
      assert_int_equal(drv_flips, f->avail / n);
    }
    if (batch * segs == n) {
      uint32_t x = tok_new(f);
      assert_int_equal(add_slots(f, 0, 1, x), RL_ERR_NO_SPACE);
    }
    for (uint32_t b = 0; b < batch; b++) {
      assert_int_equal(pop1(f), t[b]);
    }
    expect_no_pop(f);
    for (uint32_t b = 0; b < batch; b++) {
      push(f, t[b], (uint32_t)(f->dev_used + b) % (SLOT + 1));
    }
    for (uint32_t b = 0; b < batch; b++) {
      assert_int_equal(get(f), t[b]);
      struct vq_state s = vstate(f);
      if (s.used_wrap != used_wrap) {
        used_wrap = s.used_wrap;
        used_flips++;
      }
      assert_int_equal(used_flips, f->used / n);
    }
    expect_none(f);
  }
  assert_true(drv_flips >= LAPS);
  assert_int_equal(used_flips, drv_flips);
  close_drained(f);
}

static void test_wrap_flip(void **state_) {
  struct fx *f = *state_;
  const uint32_t sizes[] = {1, 3, 4, 7, 256};
  for (size_t i = 0; i < RL_ARRAY_SIZE(sizes); i++) {
    wrap_laps(f, sizes[i], 1);
    if (sizes[i] >= 2) {
      wrap_laps(f, sizes[i], 2);
    }
  }
}

/* Exactly `size` single buffers, one at a time, for five laps: both
 * counters keep their value for size - 1 buffers and have flipped once
 * after the size-th; the descriptor written next at position 0 carries
 * AVAIL opposite to what the previous lap left there, and the device's
 * used descriptors flip likewise. */
static void test_wrap_exact(void **state_) {
  struct fx *f = *state_;
  const uint32_t sizes[] = {1, 3, 4, 7, 256};
  for (size_t i = 0; i < RL_ARRAY_SIZE(sizes); i++) {
    uint32_t n = sizes[i];
    fx_open(f, n, false);
    for (uint32_t lap = 0; lap < 5; lap++) {
      bool w = lap % 2 == 0;
      for (uint32_t k = 0; k < n; k++) {
        struct vq_state s = vstate(f);
        assert_int_equal(s.driver_idx, k);
        assert_int_equal(s.driver_wrap, w);
        assert_int_equal(s.used_wrap, w);
        uint16_t prev = f->desc[k].flags & (F_AVAIL | F_USED);
        uint32_t t = tok_new(f);
        assert_int_equal(add_slots(f, 0, 1, t), RL_OK);
        /* §2.8.1: available, AVAIL = counter, USED = !counter; the
         * previous lap left a used descriptor with the old counter. */
        assert_int_equal(f->desc[k].flags & (F_AVAIL | F_USED),
                         w ? F_AVAIL : F_USED);
        if (lap > 0) {
          assert_int_equal(prev, w ? 0 : F_AVAIL | F_USED);
        }
        assert_int_equal(pop1(f), t);
        push(f, t, k % (SLOT + 1));
        /* Used: AVAIL = USED = the device's counter. */
        assert_int_equal(f->desc[k].flags & (F_AVAIL | F_USED),
                         w ? F_AVAIL | F_USED : 0);
        assert_int_equal(get(f), t);
      }
      struct vq_state s = vstate(f);
      assert_int_equal(s.driver_idx, 0);
      assert_int_equal(s.used_seen, 0);
      assert_int_equal(s.driver_wrap, !w);
      assert_int_equal(s.used_wrap, !w);
    }
    close_drained(f);
  }
}

/* ---- 2. chains straddling the end of the ring ------------------------- */

/* A list of nseg descriptors made available at descriptor count `start`
 * (running past the end of the ring): the head keeps the wrap
 * counter of its own position, the descriptors that wrapped to position
 * 0 and on carry the flipped one (§2.8.6). With `pending`, the single
 * buffer just before it stays outstanding and completes after it, so the
 * device's used descriptor for the list lands at the other buffer's
 * position and the driver must skip the list's own count. */
static void straddle(struct fx *f, uint32_t n, uint64_t start, uint32_t nseg,
                     bool pending) {
  fx_open(f, n, false);
  uint32_t pend = NONE;
  while (f->avail < start) {
    uint32_t t = tok_new(f);
    assert_int_equal(add_slots(f, 0, 1, t), RL_OK);
    assert_int_equal(pop1(f), t);
    if (pending && f->avail == start) {
      pend = t;
    } else {
      push(f, t, 1);
      assert_int_equal(get(f), t);
    }
  }
  uint32_t head = ring_pos(f, start);
  bool head_wrap = ring_wrap(f, start);
  assert_true(head + nseg > n); /* it does straddle */

  uint32_t nout = nseg / 2;
  uint32_t nin = nseg - nout;
  struct vq_seg segs[MAX_CHAIN];
  uint32_t in_len = 0;
  for (uint32_t i = 0; i < nseg; i++) {
    segs[i] =
        (struct vq_seg){f->data.phys + f->extra + (paddr_t)i * 256, 9 + 13 * i};
    memset(data_at(f, f->extra + (size_t)i * 256), FILL, 256);
    user_wrote(f, f->extra + (size_t)i * 256, 256, ARCH_DMA_BIDIRECTIONAL);
    in_len += i >= nout ? segs[i].len : 0;
  }
  uint32_t t = tok_new(f);
  assert_int_equal(add_segs(f, segs, nout, nin, t), RL_OK);
  for (uint32_t i = 0; i < nseg; i++) {
    uint32_t pos = (head + i) % n;
    bool w = pos >= head ? head_wrap : !head_wrap;
    uint16_t fl = f->desc[pos].flags;
    assert_int_equal((fl & F_AVAIL) != 0, w);
    assert_int_equal((fl & F_USED) != 0, !w);
  }
  struct vq_state s = vstate(f);
  assert_int_equal(s.driver_idx, (head + nseg) % n);
  assert_int_equal(s.driver_wrap, !head_wrap);
  assert_int_equal(s.free_descs, n - nseg - (pending ? 1 : 0));

  struct model_chain c;
  assert_int_equal(pop(f, &c), t);
  expect_no_pop(f);
  for (uint32_t i = 0; i < nseg; i++) {
    assert_int_equal(c.seg[i].addr, segs[i].addr);
    assert_int_equal(c.seg[i].len, segs[i].len);
    assert_int_equal(c.seg[i].write, i >= nout);
  }
  assert_int_equal(c.in_len, in_len);
  uint32_t written = in_len - 3;
  push(f, t, written);
  if (pending) {
    /* The list's used descriptor went where the pending one began. */
    assert_int_equal(f->desc[head == 0 ? n - 1 : head - 1].id, c.id);
  } else {
    assert_int_equal(f->desc[head].id, c.id);
  }
  assert_int_equal(get(f), t);
  s = vstate(f);
  assert_int_equal(s.free_descs, n - (pending ? 1 : 0));
  uint32_t k = 0;
  for (uint32_t i = 0; i < nseg; i++) {
    const uint8_t *p = user_reads(f, f->extra + (size_t)i * 256, 256);
    uint32_t len = segs[i].len;
    if (i >= nout) {
      check_bytes(p, len, c.id, k, written);
      k += len;
    } else {
      check_bytes(p, len, c.id, 0, 0); /* readable: untouched */
    }
    check_bytes(p + len, 256 - len, c.id, 0, 0);
  }
  if (pending) {
    push(f, pend, 1);
    assert_int_equal(get(f), pend);
  }
  expect_none(f);
  assert_int_equal(vstate(f).free_descs, n);
  /* The ring goes on from there. */
  for (uint32_t i = 0; i < n + 2; i++) {
    cycle1(f, i % SLOT);
  }
  close_drained(f);
}

static void test_straddle(void **state_) {
  struct fx *f = *state_;
  const uint32_t sizes[] = {5, 7};
  for (size_t i = 0; i < RL_ARRAY_SIZE(sizes); i++) {
    uint32_t n = sizes[i];
    const uint32_t lens[] = {3, 4, n};
    for (uint32_t lap = 0; lap < 2; lap++) {
      for (uint32_t back = 1; back <= 2; back++) {
        for (size_t j = 0; j < RL_ARRAY_SIZE(lens); j++) {
          uint64_t start = (uint64_t)lap * n + n - back;
          straddle(f, n, start, lens[j], false);
          if (lens[j] < n) {
            straddle(f, n, start, lens[j], true);
          }
        }
      }
    }
  }
}

/* ---- 3. queue sizes that are not powers of two ------------------------ */

/* Fills the ring with single buffers, checks it is full, completes all
 * (in order or in reverse) and collects them. */
static void fill_all(struct fx *f, bool reverse) {
  uint32_t n = f->n;
  uint32_t *t = malloc((size_t)n * sizeof(*t));
  assert_non_null(t);
  for (uint32_t i = 0; i < n; i++) {
    t[i] = tok_new(f);
    assert_int_equal(add_slots(f, 0, 1, t[i]), RL_OK);
  }
  uint32_t x = tok_new(f);
  assert_int_equal(add_slots(f, 0, 1, x), RL_ERR_NO_SPACE);
  if (n >= 2) {
    assert_int_equal(add_slots(f, 1, 1, x), RL_ERR_NO_SPACE);
  }
  assert_int_equal(vstate(f).free_descs, 0);
  for (uint32_t i = 0; i < n; i++) {
    assert_int_equal(pop1(f), t[i]);
  }
  expect_no_pop(f);
  for (uint32_t j = 0; j < n; j++) {
    uint32_t i = reverse ? n - 1 - j : j;
    push(f, t[i], i % (SLOT + 1));
  }
  for (uint32_t j = 0; j < n; j++) {
    assert_int_equal(get(f), t[reverse ? n - 1 - j : j]);
  }
  expect_none(f);
  free(t);
}

/* Batches of chains of random length until the ring is full or a random
 * count is reached, taken and completed in a random order, for `laps`
 * laps. When a chain does not fit, one of exactly the free count does. */
static void random_laps(struct fx *f, uint32_t laps, uint32_t *seed) {
  uint32_t n = f->n;
  uint32_t maxl = RL_MIN(n, 6u);
  uint32_t *batch = malloc((size_t)n * sizeof(*batch));
  assert_non_null(batch);
  uint64_t goal = f->avail + (uint64_t)laps * n;
  while (f->avail < goal) {
    uint32_t want = rng_next(seed) % 2 ? UINT32_MAX : 1 + rng_next(seed) % n;
    uint32_t nb = 0;
    while (nb < want) {
      uint32_t len = 1 + rng_next(seed) % maxl;
      uint32_t nout = rng_next(seed) % (len + 1);
      uint32_t room = free_descs(f);
      uint32_t t = tok_new(f);
      rl_status st = add_slots(f, nout, len - nout, t);
      if (len > room) {
        assert_int_equal(st, RL_ERR_NO_SPACE);
        if (room > 0) {
          assert_int_equal(add_slots(f, room / 2, room - room / 2, t), RL_OK);
          batch[nb++] = t;
          assert_int_equal(free_descs(f), 0);
        }
        break;
      }
      assert_int_equal(st, RL_OK);
      batch[nb++] = t;
    }
    assert_true(nb > 0);
    for (uint32_t i = 0; i < nb; i++) {
      assert_int_equal(pop1(f), batch[i]);
    }
    expect_no_pop(f);
    for (uint32_t i = nb; i > 1; i--) {
      uint32_t j = rng_next(seed) % i;
      uint32_t tmp = batch[i - 1];
      batch[i - 1] = batch[j];
      batch[j] = tmp;
    }
    for (uint32_t i = 0; i < nb; i++) {
      push(f, batch[i], rng_next(seed) % (f->tok[batch[i]].in_len + 1));
    }
    for (uint32_t i = 0; i < nb; i++) {
      assert_int_equal(get(f), batch[i]);
    }
    expect_none(f);
    assert_int_equal(vstate(f).free_descs, n);
  }
  free(batch);
}

static void test_non_pow2(void **state_) {
  struct fx *f = *state_;
  const uint32_t sizes[] = {3, 5, 100, 1000, 32767};
  uint32_t seed = 2024;
  for (size_t i = 0; i < RL_ARRAY_SIZE(sizes); i++) {
    uint32_t n = sizes[i];
    fx_open(f, n, false);
    fill_all(f, false);
    struct vq_state s = vstate(f);
    assert_int_equal(s.driver_idx, 0);
    assert_false(s.driver_wrap);
    assert_false(s.used_wrap);
    fill_all(f, true);
    s = vstate(f);
    assert_true(s.driver_wrap);
    assert_true(s.used_wrap);
    random_laps(f, n <= 1000 ? 12 : 3, &seed);
    close_drained(f);
  }
}

/* ---- 4. completion out of order, by buffer id ------------------------- */

/* Four buffers of 3, 1, 2, 2 descriptors fill a ring of 8; they complete
 * C, A, then E and F (posted into the room C and A left), B, F, D. Ids
 * come back to new buffers whatever their positions; used descriptors
 * still go to consecutive positions, each skipping its own buffer's
 * count. */
static void test_out_of_order_ids(void **state_) {
  struct fx *f = *state_;
  fx_open(f, 8, false);
  uint32_t ta = tok_new(f);
  assert_int_equal(add_slots(f, 1, 2, ta), RL_OK); /* positions 0..2 */
  uint32_t tb = tok_new(f);
  assert_int_equal(add_slots(f, 0, 1, tb), RL_OK); /* 3 */
  uint32_t tc = tok_new(f);
  assert_int_equal(add_slots(f, 0, 2, tc), RL_OK); /* 4, 5 */
  uint32_t td = tok_new(f);
  assert_int_equal(add_slots(f, 1, 1, td), RL_OK); /* 6, 7 */
  uint32_t tx = tok_new(f);
  assert_int_equal(add_slots(f, 0, 1, tx), RL_ERR_NO_SPACE);
  uint32_t order[] = {ta, tb, tc, td};
  for (size_t i = 0; i < RL_ARRAY_SIZE(order); i++) {
    assert_int_equal(pop1(f), order[i]);
  }
  uint16_t id_a = f->tok[ta].id;
  uint16_t id_b = f->tok[tb].id;
  uint16_t id_c = f->tok[tc].id;
  uint16_t id_d = f->tok[td].id;

  push(f, tc, 5); /* used at position 0, covers 2 */
  assert_int_equal(f->desc[0].id, id_c);
  assert_int_equal(get(f), tc);
  assert_int_equal(vstate(f).used_seen, 2);
  assert_int_equal(vstate(f).free_descs, 2);
  push(f, ta, 20); /* used at 2, covers 3 */
  assert_int_equal(f->desc[2].id, id_a);
  assert_int_equal(get(f), ta);
  assert_int_equal(vstate(f).used_seen, 5);
  assert_int_equal(vstate(f).free_descs, 5);

  /* E: 4 descriptors at positions 0..3 of the second lap; F: 1 at 4. */
  uint32_t te = tok_new(f);
  assert_int_equal(add_slots(f, 0, 4, te), RL_OK);
  uint32_t tf = tok_new(f);
  assert_int_equal(add_slots(f, 0, 1, tf), RL_OK);
  assert_int_equal(add_slots(f, 0, 1, tx), RL_ERR_NO_SPACE);
  uint16_t id_e = f->tok[te].id;
  uint16_t id_f = f->tok[tf].id;
  /* Any free id will do; none that is still outstanding. */
  assert_int_not_equal(id_e, id_f);
  assert_int_not_equal(id_f, id_b);
  assert_int_not_equal(id_f, id_d);
  assert_int_not_equal(id_e, id_b);
  assert_int_not_equal(id_e, id_d);
  assert_int_equal(pop1(f), te);
  assert_int_equal(pop1(f), tf);
  expect_no_pop(f);

  push(f, te, 33); /* used at 5 (first lap), covers 5, 6, 7, 0 */
  assert_int_equal(f->desc[5].id, id_e);
  assert_int_equal(get(f), te);
  struct vq_state s = vstate(f);
  assert_int_equal(s.used_seen, 1);
  assert_false(s.used_wrap);
  push(f, tb, 16); /* used at 1 (second lap) */
  assert_int_equal(f->desc[1].flags & (F_AVAIL | F_USED), 0);
  push(f, tf, 0); /* 2 */
  push(f, td, 7); /* 3, covers 3, 4 */
  assert_int_equal(f->desc[1].id, id_b);
  assert_int_equal(f->desc[2].id, id_f);
  assert_int_equal(f->desc[3].id, id_d);
  assert_int_equal(get(f), tb);
  assert_int_equal(get(f), tf);
  assert_int_equal(get(f), td);
  expect_none(f);
  s = vstate(f);
  assert_int_equal(s.used_seen, 5);
  assert_int_equal(s.driver_idx, 5);
  assert_false(s.used_wrap);
  assert_false(s.driver_wrap);
  assert_int_equal(s.free_descs, 8);
}

/* Full rings completed in descending id order, then in a shuffled order
 * with half of them collected before new buffers take their ids. */
static void test_complete_by_id(void **state_) {
  struct fx *f = *state_;
  const uint32_t sizes[] = {6, 8, 9};
  uint32_t seed = 77;
  for (size_t si = 0; si < RL_ARRAY_SIZE(sizes); si++) {
    uint32_t n = sizes[si];
    fx_open(f, n, false);
    for (uint32_t round = 0; round < 12; round++) {
      uint32_t t[64];
      uint32_t nb = 0;
      while (free_descs(f) > 0) {
        uint32_t len = RL_MIN(1 + rng_next(&seed) % 2, free_descs(f));
        t[nb] = tok_new(f);
        assert_int_equal(add_slots(f, 0, len, t[nb]), RL_OK);
        (void)pop1(f);
        nb++;
      }
      /* Sort by id, descending (round 0 mod 2) or shuffle. */
      for (uint32_t i = 0; i < nb; i++) {
        for (uint32_t j = i + 1; j < nb; j++) {
          bool swap = round % 2 == 0 ? f->tok[t[j]].id > f->tok[t[i]].id
                                     : rng_next(&seed) % 2 != 0;
          if (swap) {
            uint32_t tmp = t[i];
            t[i] = t[j];
            t[j] = tmp;
          }
        }
      }
      uint32_t half = nb / 2;
      for (uint32_t i = 0; i < half; i++) {
        push(f, t[i], f->tok[t[i]].id % (SLOT + 1));
      }
      for (uint32_t i = 0; i < half; i++) {
        assert_int_equal(get(f), t[i]);
      }
      /* New buffers take the freed ids (pop checks no id is reused while
       * outstanding), at the next positions. */
      uint32_t nn = 0;
      uint32_t fresh[64];
      while (free_descs(f) > 0) {
        fresh[nn] = tok_new(f);
        assert_int_equal(add_slots(f, 0, 1, fresh[nn]), RL_OK);
        assert_int_equal(pop1(f), fresh[nn]);
        nn++;
      }
      for (uint32_t i = half; i < nb; i++) {
        push(f, t[i], 1);
      }
      for (uint32_t i = nn; i-- > 0;) {
        push(f, fresh[i], 2);
      }
      while (f->done.count > 0) {
        (void)get(f);
      }
      expect_none(f);
      assert_int_equal(vstate(f).free_descs, n);
    }
    close_drained(f);
  }
}

/* A device that holds buffers for a while and completes any of them,
 * while the driver keeps posting: thousands of steps on a ring of 10. */
static void test_out_of_order_random(void **state_) {
  struct fx *f = *state_;
  enum { N = 10, STEPS = 20000 };
  fx_open(f, N, false);
  uint32_t seed = 99;
  uint32_t held[N];
  uint32_t nheld = 0;
  for (uint32_t step = 0; step < STEPS; step++) {
    switch (rng_next(&seed) % 4) {
    case 0: {
      uint32_t nout = rng_next(&seed) % 4;
      uint32_t room = free_descs(f);
      uint32_t t = tok_new(f);
      rl_status st = add_slots(f, nout, 1, t);
      assert_int_equal(st, nout + 1 <= room ? RL_OK : RL_ERR_NO_SPACE);
      break;
    }
    case 1:
      if (f->posted.count > 0) {
        held[nheld++] = pop1(f);
      } else {
        expect_no_pop(f);
      }
      break;
    case 2:
      if (nheld > 0) {
        uint32_t k = rng_next(&seed) % nheld;
        uint32_t t = held[k];
        held[k] = held[--nheld];
        push(f, t, rng_next(&seed) % (f->tok[t].in_len + 1));
      }
      break;
    default:
      if (f->done.count > 0) {
        (void)get(f);
      } else {
        expect_none(f);
      }
      break;
    }
  }
  close_drained(f);
}

/* ---- 5. event suppression --------------------------------------------- */

/* Without EVENT_IDX: the device event flags say ENABLE or DISABLE and the
 * driver's kick follows them; the driver event flags (written by
 * disable_cb / enable_cb) decide the device's interrupt. Over several
 * laps, with chains that straddle the end of a ring of 5. */
static void test_suppress_flags(void **state_) {
  struct fx *f = *state_;
  fx_open(f, 5, false);
  assert_int_equal(f->dev_evt->flags, EV_ENABLE); /* zeroed at start */
  assert_int_equal(f->drv_evt->flags, EV_ENABLE);
  for (uint32_t round = 0; round < 24; round++) {
    bool notify = round % 3 != 1;
    f->mo->set_notify(f->m, notify);
    assert_int_equal(f->dev_evt->flags, notify ? EV_ENABLE : EV_DISABLE);
    assert_false(f->ops->kick_prepare(f->q)); /* nothing added since */
    uint32_t t = tok_new(f);
    assert_int_equal(add_slots(f, round % 3, 1, t), RL_OK);
    assert_int_equal(f->ops->kick_prepare(f->q), notify);
    assert_false(f->ops->kick_prepare(f->q));
    assert_int_equal(pop1(f), t);

    bool irq = round % 4 != 2;
    if (irq) {
      assert_false(f->ops->enable_cb(f->q));
      assert_int_equal(f->drv_evt->flags, EV_ENABLE);
    } else {
      f->ops->disable_cb(f->q);
      assert_int_equal(f->drv_evt->flags, EV_DISABLE);
    }
    assert_false(f->mo->should_interrupt(f->m)); /* nothing used yet */
    push(f, t, 3);
    assert_int_equal(f->mo->should_interrupt(f->m), irq);
    assert_false(f->mo->should_interrupt(f->m));
    if (!irq) {
      assert_true(f->ops->enable_cb(f->q)); /* one arrived meanwhile */
      assert_int_equal(f->drv_evt->flags, EV_ENABLE);
    }
    assert_int_equal(get(f), t);
    expect_none(f);
  }
  assert_true(f->avail > 10u);
}

/* Takes, completes and collects everything made available. */
static void consume(struct fx *f) {
  uint32_t t[64];
  uint32_t nb = 0;
  while (f->posted.count > 0) {
    assert_true(nb < RL_ARRAY_SIZE(t));
    t[nb++] = pop1(f);
  }
  for (uint32_t i = 0; i < nb; i++) {
    push(f, t[i], 0);
  }
  for (uint32_t i = 0; i < nb; i++) {
    assert_int_equal(get(f), t[i]);
  }
}

/* Posts 1..3 chains of 1..2 descriptors; returns the count. */
static uint32_t post_some(struct fx *f, uint32_t *seed) {
  uint32_t chains = 1 + rng_next(seed) % 3;
  uint32_t before = (uint32_t)f->avail;
  for (uint32_t i = 0; i < chains; i++) {
    uint32_t t = tok_new(f);
    assert_int_equal(add_slots(f, 0, 1 + rng_next(seed) % 2, t), RL_OK);
  }
  return (uint32_t)f->avail - before;
}

/* With EVENT_IDX, a whole lap or more made available since the last
 * kick: every position was passed, so the device hears of it wherever
 * its event is (§2.8.10), on either lap and from any offset. */
static void test_notify_after_lap(void **state_) {
  struct fx *f = *state_;
  enum { N = 7 };
  fx_open(f, N, true);
  uint32_t seed = 4242;
  for (uint32_t round = 0; round < 40; round++) {
    uint64_t ev = f->avail + rng_next(&seed) % (2 * N);
    f->mo->set_notify_event(f->m, (uint32_t)ev);
    assert_false(f->ops->kick_prepare(f->q)); /* nothing added since */
    uint64_t start = f->avail;
    uint32_t laps = N + rng_next(&seed) % N;
    while (f->avail < start + laps) {
      (void)post_some(f, &seed);
      consume(f);
    }
    assert_true(f->ops->kick_prepare(f->q));
    assert_false(f->ops->kick_prepare(f->q));
  }
}

/* With EVENT_IDX, driver to device: the device names the descriptor it
 * wants to hear about (off_wrap, §2.8.10); the kick after a batch is
 * wanted exactly when that descriptor is in the batch, on either lap. */
static void test_notify_event_idx(void **state_) {
  struct fx *f = *state_;
  enum { N = 7 };
  fx_open(f, N, true);
  uint32_t seed = 31337;
  for (uint32_t round = 0; round < 60; round++) {
    uint64_t ev = f->avail + rng_next(&seed) % 10;
    f->mo->set_notify_event(f->m, (uint32_t)ev);
    assert_int_equal(f->dev_evt->flags, EV_DESC);
    assert_int_equal(f->dev_evt->off_wrap, off_wrap(f, ev));
    unsigned hits = 0;
    for (;;) {
      uint64_t old = f->avail;
      (void)post_some(f, &seed);
      bool want = old <= ev && ev < f->avail;
      assert_int_equal(f->ops->kick_prepare(f->q), want);
      assert_false(f->ops->kick_prepare(f->q));
      hits += want ? 1u : 0u;
      consume(f);
      if (f->avail > ev) {
        break;
      }
    }
    assert_int_equal(hits, 1);
    /* Behind the driver now: no notification. */
    (void)post_some(f, &seed);
    assert_false(f->ops->kick_prepare(f->q));
    consume(f);
    if (round % 6 == 5) {
      /* Every new descriptor (the model re-arms at its next one). */
      f->mo->set_notify(f->m, true);
      for (uint32_t i = 0; i < 5; i++) {
        assert_int_equal(f->dev_evt->flags, EV_DESC);
        assert_int_equal(f->dev_evt->off_wrap, off_wrap(f, f->avail));
        (void)post_some(f, &seed);
        assert_true(f->ops->kick_prepare(f->q));
        consume(f);
      }
      f->mo->set_notify(f->m, false);
      assert_int_equal(f->dev_evt->flags, EV_DISABLE);
      (void)post_some(f, &seed);
      assert_false(f->ops->kick_prepare(f->q));
      consume(f);
    }
  }
  assert_true(f->avail > (uint64_t)20 * N);
}

/* With EVENT_IDX, device to driver: enable_cb writes DESC and the
 * driver's next used position with its wrap counter (§2.8.10), left there
 * as the driver collects; the device interrupts exactly when a used
 * descriptor it writes is that one. Random steps over many laps of a
 * ring of 5. */
static void test_interrupt_event_idx(void **state_) {
  struct fx *f = *state_;
  enum { N = 5, STEPS = 6000 };
  fx_open(f, N, true);
  /* The backend starts with an event at the first used descriptor. */
  assert_int_equal(f->drv_evt->flags, EV_DESC);
  assert_int_equal(f->drv_evt->off_wrap, off_wrap(f, 0));
  bool enabled = true;
  uint64_t ev = 0;     /* the driver's event, as a descriptor count */
  uint64_t irq_at = 0; /* device used count at its last decision */
  uint32_t held[N];
  uint32_t nheld = 0;
  uint32_t seed = 4242;
  unsigned fired = 0;
  unsigned quiet = 0;
  for (uint32_t step = 0; step < STEPS; step++) {
    switch (rng_next(&seed) % 5) {
    case 0: {
      uint32_t len = 1 + rng_next(&seed) % 2;
      if (len <= free_descs(f)) {
        uint32_t t = tok_new(f);
        assert_int_equal(add_slots(f, 0, len, t), RL_OK);
        held[nheld++] = pop1(f);
      }
      break;
    }
    case 1: {
      if (nheld == 0) {
        assert_false(f->mo->should_interrupt(f->m));
        break;
      }
      uint32_t k = 1 + rng_next(&seed) % nheld;
      for (uint32_t i = 0; i < k; i++) {
        uint32_t j = rng_next(&seed) % nheld;
        uint32_t t = held[j];
        held[j] = held[--nheld];
        push(f, t, 1);
      }
      bool want = enabled && irq_at <= ev && ev < f->dev_used;
      assert_int_equal(f->mo->should_interrupt(f->m), want);
      irq_at = f->dev_used;
      fired += want ? 1u : 0u;
      quiet += want ? 0u : 1u;
      break;
    }
    case 2: {
      uint32_t k = 1 + rng_next(&seed) % 3;
      for (uint32_t i = 0; i < k && f->done.count > 0; i++) {
        (void)get(f);
        if (enabled) {
          /* Collecting leaves the event where enable_cb put it. */
          assert_int_equal(f->drv_evt->flags, EV_DESC);
          assert_int_equal(f->drv_evt->off_wrap, off_wrap(f, ev));
        } else {
          assert_int_equal(f->drv_evt->flags, EV_DISABLE);
        }
      }
      break;
    }
    case 3:
      f->ops->disable_cb(f->q);
      enabled = false;
      assert_int_equal(f->drv_evt->flags, EV_DISABLE);
      break;
    default: {
      bool waiting = f->done.count > 0;
      assert_int_equal(f->ops->enable_cb(f->q), waiting);
      enabled = true;
      ev = f->used;
      assert_int_equal(f->drv_evt->flags, EV_DESC);
      assert_int_equal(f->drv_evt->off_wrap, off_wrap(f, ev));
      break;
    }
    }
  }
  assert_true(fired > 100);
  assert_true(quiet > 100);
  assert_true(f->used > (uint64_t)50 * N);
  for (uint32_t i = 0; i < nheld; i++) {
    push(f, held[i], 0);
  }
  (void)f->mo->should_interrupt(f->m);
}

/* §2.8.4: without WRITE, len is reserved; QEMU leaves WRITE clear and
 * puts a length there anyway. A buffer with nothing writable takes it as
 * 0 (not broken); one with writable bytes still has it checked. */
static void test_len_without_write(void **state_) {
  struct fx *f = *state_;
  fx_open(f, 4, false);
  uint32_t t = tok_new(f);
  assert_int_equal(add_slots(f, 1, 0, t), RL_OK);
  assert_int_equal(pop1(f), t);
  push(f, t, 0);
  volatile struct ring_desc *d = &f->desc[ring_pos(f, f->used)];
  assert_int_equal(d->flags & F_WRITE, 0);
  d->len = 100;
  assert_int_equal(get(f), t); /* len 0, as pushed */
  /* Writable bytes: a length past them is a lie, WRITE or not. */
  t = tok_new(f);
  assert_int_equal(add_slots(f, 0, 1, t), RL_OK);
  assert_int_equal(pop1(f), t);
  push(f, t, 0);
  d = &f->desc[ring_pos(f, f->used)];
  d->len = tok_ptr(f, t)->in_len + 1;
  void *tk;
  uint32_t len;
  assert_int_equal(vq_get_used(f->ops, f->q, &tk, &len), RL_ERR_BROKEN);
  fx_close(f); /* broken: nothing to drain */
}

/* ---- runner ----------------------------------------------------------- */

struct test_case {
  const char *name;
  CMUnitTestFunction fn;
};

#define CASE(fn)                                                               \
  { #fn, test_##fn }

static const struct test_case cases[] = {
    CASE(wrap_flip),
    CASE(wrap_exact),
    CASE(straddle),
    CASE(non_pow2),
    CASE(out_of_order_ids),
    CASE(complete_by_id),
    CASE(out_of_order_random),
    CASE(suppress_flags),
    CASE(notify_event_idx),
    CASE(notify_after_lap),
    CASE(interrupt_event_idx),
    CASE(len_without_write),
};

/* Known driver bugs (each entry must fail; remove it once it passes).
 * None: packed-desc-line (four or eight 16-byte descriptors share a cache
 * line, so on a non-coherent device cleaning one to publish it wrote a
 * stale neighbour back over the device's used write) is settled by
 * refusing the packed ring on non-coherent devices (test_refused below;
 * the core falls back to split). */
static const struct expected_failure expected_failures[] = {
    {"", ""},
};

/* A non-coherent device: create refuses it (RL_ERR_NOT_SUPPORTED), at
 * every size and with every feature, and nothing stays allocated. */
static void test_refused(void **state_) {
  struct fx *f = *state_;
  const uint16_t sizes[] = {1, 3, 64, 256, 32768};
  for (size_t i = 0; i < RL_ARRAY_SIZE(sizes); i++) {
    for (unsigned feat = 0; feat < 4; feat++) {
      struct vq_config cfg = {.size = sizes[i],
                              .event_idx = (feat & 1) != 0,
                              .indirect = (feat & 2) != 0,
                              .dma = &noncoherent};
      struct vq_backend *q = NULL;
      assert_int_equal(f->ops->create(&cfg, &q), RL_ERR_NOT_SUPPORTED);
      assert_null(q);
    }
  }
  struct vq_config none = {.size = 8, .dma = NULL};
  struct vq_backend *q = NULL;
  assert_int_equal(f->ops->create(&none, &q), RL_ERR_INVALID);
  assert_null(q);
  assert_int_equal(host_dma_live_count(), f->dma_base);
}

/* An expected failure: the case and the teardown's checks in a child. */
static void case_and_finish(void **state_) {
  struct fx *f = *state_;
  f->run->fn(state_);
  fx_finish(f);
}

static void expect_fail(void **state_) {
  struct fx *f = *state_;
  run_expected_failure(f->run->name, f->run->xfail, case_and_finish, state_);
}

int main(void) {
  enum {
    NV = 1, /* cache_variants[0]: coherent (see the top of this file) */
    NC = RL_ARRAY_SIZE(cases),
    N = NV * NC + 1,
  };
  static struct CMUnitTest tests[N];
  static struct run runs[N];
  static char names[N][64];
  size_t n = 0;
  size_t listed = 0;
  for (size_t v = 0; v < NV; v++) {
    for (size_t c = 0; c < NC; c++) {
      (void)snprintf(names[n], sizeof(names[n]), "packed/%s/%s",
                     cache_variants[v].name, cases[c].name);
      const char *why = expected_failure_of(
          expected_failures, RL_ARRAY_SIZE(expected_failures), names[n]);
      listed += why != NULL ? 1 : 0;
      runs[n] = (struct run){&cache_variants[v], cases[c].fn, names[n], why};
      tests[n] = (struct CMUnitTest){
          .name = names[n],
          .test_func = why != NULL ? expect_fail : cases[c].fn,
          .setup_func = fx_setup,
          .teardown_func = fx_teardown,
          .initial_state = &runs[n],
      };
      n++;
    }
  }
  static struct run refused = {&cache_variants[1], test_refused,
                               "packed/noncoherent/refused", NULL};
  tests[n++] = (struct CMUnitTest){
      .name = refused.name,
      .test_func = test_refused,
      .setup_func = fx_setup,
      .teardown_func = fx_teardown,
      .initial_state = &refused,
  };
  return run_variant_suite("packed", tests, n, expected_failures,
                           RL_ARRAY_SIZE(expected_failures), listed);
}

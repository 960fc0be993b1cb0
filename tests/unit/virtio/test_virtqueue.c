/* The queue backend suite: one set of cases, run on every backend in
 * `backends` against that layout's device model (model.h), which plays
 * the device from the spec's memory layout only, in every cache variant
 * (cache_variants.h: coherent, and non-coherent on the host write-back
 * cache model with 64- and 128-byte lines). Each case is named
 * "<backend>/<variant>/<case>". After every case the teardown completes
 * whatever is still outstanding and checks that every descriptor came
 * back and that no DMA memory leaked.
 *
 * The test plays the driver's user for the data buffers: what it writes
 * for the device is cleaned before the buffer is added, and what the
 * device wrote is invalidated before the test reads it (both no-ops on a
 * coherent queue). Known driver bugs the cache model exposes are listed
 * in `expected_failures` and must fail. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arch/cache.h>
#include <arch/dma.h>
#include <virtio/core/vq_backend.h>

#include "arch_host.h"
#include "cache_variants.h"
#include "model.h"

static const struct arch_dma_dev coherent = {.coherent = true};
static const struct arch_dma_dev noncoherent = {.coherent = false};

extern const struct vq_ops vq_split_ops;
#ifdef HAVE_PACKED_BACKEND
extern const struct vq_ops vq_packed_ops;
#endif

struct backend {
  const char *name;
  const struct vq_ops *ops;
  const struct model_ops *model;
  bool pow2_sizes;    /* queue sizes must be powers of two */
  bool legacy_layout; /* implements the legacy layout (§2.7.2) */
  bool coherent_only; /* refuses a non-coherent device: no nc variants */
};

static const struct backend backends[] = {
    {"split", &vq_split_ops, &model_split_ops, true, true, false},
#ifdef HAVE_PACKED_BACKEND
    {"packed", &vq_packed_ops, &model_packed_ops, false, false, true},
#endif
};

enum {
  F_EVENT_IDX = 1,
  F_INDIRECT = 2,
  F_LEGACY = 4,
  F_NONCOHERENT = 8,
};

/* One registered test: a case on a backend in a cache variant. */
struct run {
  const struct backend *b;
  const struct cache_variant *v;
  CMUnitTestFunction fn;
  const char *name;
  const char *xfail; /* the reason it must fail, or NULL */
};

#define LEGACY_ALIGN 4096u
#define FILL 0xeeu /* data bytes nobody wrote */
#define IDS 65536u /* device ids are at most 16 bits */

struct fx {
  const struct run *run;
  const struct backend *b;
  const struct vq_ops *ops;
  const struct model_ops *mo;
  struct vq_config cfg;
  struct vq_backend *q;
  struct model *m;
  struct vq_addrs a;
  struct arch_dma_buf data; /* buffers the chains point at */
  uint8_t *tokens;
  size_t ntokens;
  uint8_t held[IDS]; /* ids the model popped and has not pushed */
  size_t nheld;
  size_t dma_base;   /* live DMA allocations before the case */
  bool broken;       /* the case broke the queue on purpose */
  bool no_data_sync; /* the case never looks at the data (see below) */
};

/* ---- fixture ---------------------------------------------------------- */

static void fx_open(struct fx *f, uint32_t size, unsigned flags) {
  assert_null(f->q);
  f->cfg = (struct vq_config){
      .size = (uint16_t)size,
      .event_idx = (flags & F_EVENT_IDX) != 0,
      .indirect = (flags & F_INDIRECT) != 0,
      .legacy = (flags & F_LEGACY) != 0,
      .legacy_align = LEGACY_ALIGN,
      .dma = (flags & F_NONCOHERENT) == 0 && f->run->v->line == 0
                 ? &coherent
                 : &noncoherent,
  };
  assert_int_equal(f->ops->create(&f->cfg, &f->q), RL_OK);
  assert_non_null(f->q);
  f->ops->addrs(f->q, &f->a);
  /* The strictest split alignments; looser than packed's (model checks
   * its own layout's rules). */
  assert_true(f->a.desc % 16 == 0);
  assert_true(f->a.driver % 2 == 0);
  assert_true(f->a.device % 4 == 0);
  f->m = f->mo->attach(&f->a, &f->cfg);
  assert_non_null(f->m);

  size_t bytes = RL_MAX((size_t)64 * 1024, (size_t)size * 16 + 4096);
  assert_int_equal(arch_dma_alloc(bytes / RL_PAGE_SIZE, &f->data), RL_OK);
  memset(f->data.cpu, FILL, f->data.size);
  f->ntokens = (size_t)size + 64;
  f->tokens = calloc(f->ntokens, 1);
  assert_non_null(f->tokens);
  memset(f->held, 0, sizeof(f->held));
  f->nheld = 0;
  f->broken = false;

  struct vq_state s;
  f->ops->state(f->q, &s);
  assert_int_equal(s.free_descs, size);
  assert_int_equal(s.in_flight, 0);
  assert_false(f->ops->broken(f->q));
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
  free(f->tokens);
  f->tokens = NULL;
  assert_int_equal(host_dma_live_count(), f->dma_base);
}

static void *tok(struct fx *f, size_t i) { return &f->tokens[i % f->ntokens]; }
static size_t tok_index(struct fx *f, void *t) {
  return (size_t)((uint8_t *)t - f->tokens);
}

static struct vq_seg seg(struct fx *f, size_t off, uint32_t len) {
  assert_true(off + len <= f->data.size);
  return (struct vq_seg){f->data.phys + off, len};
}
static uint8_t *bytes_at(struct fx *f, size_t off) {
  return (uint8_t *)f->data.cpu + off;
}

/* The driver's user handing buffers to the device: readable data it
 * wrote is cleaned; writable buffers are cleaned and invalidated, so no
 * dirty line of the CPU's is left to land on what the device writes. */
static void user_gives(struct fx *f, const struct vq_seg *s, unsigned n,
                       enum arch_dma_dir dir) {
  for (unsigned i = 0; i < n && !f->no_data_sync; i++) {
    assert_true(s[i].addr >= f->data.phys &&
                s[i].addr - f->data.phys + s[i].len <= f->data.size);
    arch_dma_sync_for_device(f->cfg.dma,
                             bytes_at(f, (size_t)(s[i].addr - f->data.phys)),
                             s[i].len, dir);
  }
}

/* The driver's user reading what the device wrote: invalidated first. */
static const uint8_t *user_reads(struct fx *f, size_t off, size_t len) {
  if (!f->no_data_sync) {
    arch_dma_sync_for_cpu(f->cfg.dma, bytes_at(f, off), len,
                          ARCH_DMA_FROM_DEVICE);
  }
  return bytes_at(f, off);
}

/* ops->add with the data synced for the device first. A buffer of one
 * segment goes through ops->add_one instead when its token's index is
 * odd, so every case runs both entry points. */
static rl_status add(struct fx *f, const struct vq_seg *out, unsigned nout,
                     const struct vq_seg *in, unsigned nin, void *token) {
  user_gives(f, out, nout, ARCH_DMA_TO_DEVICE);
  user_gives(f, in, nin, ARCH_DMA_FROM_DEVICE);
  if (nout + nin == 1 && token != NULL && tok_index(f, token) % 2 == 1) {
    const struct vq_seg *s = nin != 0 ? in : out;
    return f->ops->add_one(f->q, s->addr, s->len, nin != 0, token);
  }
  return f->ops->add(f->q, out, nout, in, nin, token);
}

/* A chain of nout readable then nin writable segments of `len` bytes each,
 * back to back from `off`. */
static rl_status add_chain(struct fx *f, unsigned nout, unsigned nin,
                           size_t off, uint32_t len, void *token) {
  struct vq_seg out[MODEL_MAX_SEGS];
  struct vq_seg in[MODEL_MAX_SEGS];
  assert_true(nout <= MODEL_MAX_SEGS && nin <= MODEL_MAX_SEGS);
  for (unsigned i = 0; i < nout; i++) {
    out[i] = seg(f, off + (size_t)i * len, len);
  }
  for (unsigned i = 0; i < nin; i++) {
    in[i] = seg(f, off + (size_t)(nout + i) * len, len);
  }
  return add(f, out, nout, in, nin, token);
}

static void pop(struct fx *f, struct model_chain *c) {
  assert_true(f->mo->pop(f->m, c));
  assert_true(c->id < IDS);
  assert_int_equal(f->held[c->id], 0);
  f->held[c->id] = 1;
  f->nheld++;
}

static void push(struct fx *f, uint32_t id, uint32_t written) {
  assert_true(id < IDS && f->held[id]);
  f->held[id] = 0;
  f->nheld--;
  f->mo->push(f->m, id, written);
}

static void get(struct fx *f, void **token, uint32_t *len) {
  assert_int_equal(vq_get_used(f->ops, f->q, token, len), RL_OK);
}

static void expect_none(struct fx *f) {
  void *t;
  uint32_t l;
  assert_int_equal(vq_get_used(f->ops, f->q, &t, &l), RL_ERR_NOT_FOUND);
}

static struct vq_state state(struct fx *f) {
  struct vq_state s;
  f->ops->state(f->q, &s);
  return s;
}

/* Completes everything: takes what is still available, uses all of it,
 * collects it. Then every descriptor must be free. */
static void drain(struct fx *f) {
  struct model_chain c;
  while (f->mo->pop(f->m, &c)) {
    f->held[c.id] = 1;
    f->nheld++;
  }
  for (uint32_t id = 0; id < IDS && f->nheld > 0; id++) {
    if (f->held[id]) {
      push(f, id, 0);
    }
  }
  void *t;
  uint32_t l;
  rl_status st;
  while ((st = vq_get_used(f->ops, f->q, &t, &l)) == RL_OK) {
  }
  assert_int_equal(st, RL_ERR_NOT_FOUND);
  struct vq_state s = state(f);
  assert_int_equal(s.in_flight, 0);
  assert_int_equal(s.free_descs, f->cfg.size);
}

/* The device side after a device reset: a new model on the same rings. */
static void device_reset(struct fx *f) {
  struct model *old = f->m;
  f->m = NULL;
  f->mo->detach(old);
  f->m = f->mo->attach(&f->a, &f->cfg);
  memset(f->held, 0, sizeof(f->held));
  f->nheld = 0;
}

static int fx_setup(void **state_) {
  struct fx *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    return -1;
  }
  f->run = *state_;
  f->b = f->run->b;
  f->ops = f->b->ops;
  f->mo = f->b->model;
  cache_variant_enter(f->run->v);
  f->dma_base = host_dma_live_count();
  *state_ = f;
  return 0;
}

/* What every case ends with: complete what is outstanding, then every
 * descriptor is free and no DMA memory leaked. */
static void fx_finish(struct fx *f) {
  if (f->q != NULL && f->m != NULL && !f->broken && !f->ops->broken(f->q)) {
    drain(f);
  }
  fx_close(f);
}

static int fx_teardown(void **state_) {
  struct fx *f = *state_;
  fx_finish(f);
  cache_variant_leave();
  free(f);
  return 0;
}

/* Byte k of the writable space of chain `id` is the model's pattern up to
 * `written`, and untouched after. */
static void check_written(struct fx *f, size_t off, uint32_t len, uint32_t id,
                          uint32_t k0, uint32_t written) {
  const uint8_t *p = user_reads(f, off, len);
  for (uint32_t i = 0; i < len; i++) {
    uint32_t k = k0 + i;
    if (k < written) {
      assert_int_equal(p[i], model_pattern(id, k));
    } else {
      assert_int_equal(p[i], FILL);
    }
  }
}

/* ---- cases ------------------------------------------------------------ */

/* ---- publication and collection order under a cache that writes lines
 * back in any order (host_cache_line_hook, descending) ------------------ */

/* The device, between two lines of the driver's write-back: takes every
 * chain the index it can see announces, and checks its descriptors. */
static void device_takes_now(void *ctx, const void *line, bool to_device) {
  struct fx *f = ctx;
  (void)line;
  struct model_chain c;
  while (to_device && f->mo->pop(f->m, &c)) {
    assert_int_equal(c.nseg, 3);
    assert_int_equal(f->held[c.id], 0);
    f->held[c.id] = 1;
    f->nheld++;
  }
}

/* §2.7.13.3.1 / §2.8.21.3.1: a device that sees the new index (or flags)
 * sees the chain's descriptors too, whatever order the lines reach
 * memory in. */
static void test_publish_order(void **state_) {
  struct fx *f = *state_;
  fx_open(f, 32, 0);
  host_cache_line_hook(device_takes_now, f, true);
  for (unsigned i = 0; i < 10; i++) {
    assert_int_equal(add_chain(f, 1, 2, (size_t)i * 256, 64, tok(f, i)), RL_OK);
  }
  host_cache_line_hook(NULL, NULL, false);
  device_takes_now(f, NULL, true); /* coherent: no line hook ran */
  assert_int_equal(f->nheld, 10);
}

struct late_used {
  struct fx *f;
  uint32_t id;
  const void *entry_line; /* answer once this line moved (NULL: any) */
  bool done;
};

/* The device answers in the middle of the driver's invalidate of the
 * used area: after the line of the entry it writes moved, before the
 * others. */
static void device_answers_now(void *ctx, const void *line, bool to_device) {
  struct late_used *u = ctx;
  (void)line;
  if (!to_device && !u->done &&
      (u->entry_line == NULL || line == u->entry_line)) {
    u->done = true;
    push(u->f, u->id, 7);
  }
}

/* §2.7.13.4 (split) / §2.8.21.2 (packed): an entry is read only after the
 * index (or flags) that covers it, each fetched from memory after the
 * other: never a stale entry behind a fresh index. */
static void test_used_order(void **state_) {
  struct fx *f = *state_;
  fx_open(f, 32, 0);
  /* Move the used position past the first line of entries. */
  for (unsigned i = 0; i < 20; i++) {
    assert_int_equal(add_chain(f, 0, 1, 0, 16, tok(f, 0)), RL_OK);
    struct model_chain c;
    pop(f, &c);
    push(f, c.id, 1);
    void *t;
    uint32_t len;
    get(f, &t, &len);
  }
  assert_int_equal(add_chain(f, 0, 1, 0, 16, tok(f, 1)), RL_OK);
  assert_int_equal(add_chain(f, 0, 1, 64, 16, tok(f, 2)), RL_OK);
  struct model_chain c1, c2;
  pop(f, &c1);
  pop(f, &c2);
  /* Split: the used entry the device writes next (slot 20) lies in
   * another line than the used idx: the device answers as soon as that
   * line was refreshed, before the idx line is (§2.7.8 layout). */
  struct late_used u = {f, c2.id, NULL, false};
  if (f->b->legacy_layout) {
    void *used;
    assert_int_equal(arch_phys_to_virt_checked(f->a.device, &used), RL_OK);
    size_t line = arch_cache_writeback_granule();
    u.entry_line = (const void *)RL_ALIGN_DOWN((uintptr_t)used + 4 + 8 * 20,
                                               (uintptr_t)line);
  }
  host_cache_line_hook(device_answers_now, &u, true);
  void *t = NULL;
  uint32_t len = 0;
  rl_status st = RL_ERR_NOT_FOUND;
  for (unsigned tries = 0; tries < 4 && st == RL_ERR_NOT_FOUND; tries++) {
    st = vq_get_used(f->ops, f->q, &t, &len);
  }
  host_cache_line_hook(NULL, NULL, false);
  if (!u.done) { /* coherent, or no stale line to exploit */
    u.entry_line = NULL;
    device_answers_now(&u, NULL, false);
    st = vq_get_used(f->ops, f->q, &t, &len);
  }
  assert_int_equal(st, RL_OK);
  assert_ptr_equal(t, tok(f, 2)); /* the chain the device used */
  assert_int_equal(len, 7);
  push(f, c1.id, 0);
  get(f, &t, &len);
  assert_ptr_equal(t, tok(f, 1));
}

static void test_round_trip(void **state_) {
  struct fx *f = *state_;
  fx_open(f, 8, 0);
  uint8_t *out = bytes_at(f, 0);
  for (unsigned i = 0; i < 100; i++) {
    out[i] = (uint8_t)(i ^ 0x5a);
  }
  struct vq_seg o = seg(f, 0, 100);
  struct vq_seg in = seg(f, 4096, 64);
  assert_int_equal(add(f, &o, 1, &in, 1, tok(f, 0)), RL_OK);
  struct vq_state s = state(f);
  assert_int_equal(s.in_flight, 1);
  assert_int_equal(s.free_descs, 6);
  expect_none(f);

  struct model_chain c;
  pop(f, &c);
  assert_int_equal(c.nseg, 2);
  assert_false(c.indirect);
  assert_int_equal(c.seg[0].addr, o.addr);
  assert_int_equal(c.seg[0].len, 100);
  assert_false(c.seg[0].write);
  assert_int_equal(c.seg[1].addr, in.addr);
  assert_int_equal(c.seg[1].len, 64);
  assert_true(c.seg[1].write);
  assert_int_equal(c.out_len, 100);
  assert_int_equal(c.in_len, 64);
  /* What the device reads through the address is what the driver wrote. */
  void *dev_view;
  assert_int_equal(host_dma_device_ptr(c.seg[0].addr, 100, &dev_view), RL_OK);
  assert_memory_equal(dev_view, out, 100);
  assert_false(f->mo->pop(f->m, &c));
  expect_none(f);

  push(f, c.id, 40);
  void *t;
  uint32_t len;
  get(f, &t, &len);
  assert_ptr_equal(t, tok(f, 0));
  assert_int_equal(len, 40);
  check_written(f, 4096, 64, c.id, 0, 40);
  expect_none(f);
  s = state(f);
  assert_int_equal(s.in_flight, 0);
  assert_int_equal(s.free_descs, 8);
}

/* One chain of nout + nin segments of assorted lengths, through the model
 * and back; `written` covers two thirds of the writable space. */
static void chain_once(struct fx *f, unsigned nout, unsigned nin, void *token) {
  struct vq_seg out[MODEL_MAX_SEGS];
  struct vq_seg in[MODEL_MAX_SEGS];
  size_t off = 0;
  uint32_t in_len = 0;
  memset(f->data.cpu, FILL, 64 * 1024);
  for (unsigned i = 0; i < nout + nin; i++) {
    uint32_t len = 1 + (i * 37) % 200;
    struct vq_seg s = seg(f, off, len);
    if (i < nout) {
      out[i] = s;
    } else {
      in[i - nout] = s;
      in_len += len;
    }
    off += 256;
  }
  struct vq_state before = state(f);
  assert_int_equal(add(f, out, nout, in, nin, token), RL_OK);
  struct vq_state during = state(f);
  assert_int_equal(during.in_flight, before.in_flight + 1);
  /* VQ_INDIRECT: the build may have no indirect tables at all. */
  if (VQ_INDIRECT(&f->cfg) && nout + nin >= 2 && nout + nin <= 4) {
    /* A short chain takes one descriptor through an indirect table. */
    assert_int_equal(during.free_descs, before.free_descs - 1);
  } else if (!VQ_INDIRECT(&f->cfg)) {
    assert_int_equal(during.free_descs, before.free_descs - (nout + nin));
  }

  struct model_chain c;
  pop(f, &c);
  assert_int_equal(c.nseg, nout + nin);
  if (!VQ_INDIRECT(&f->cfg)) {
    assert_false(c.indirect);
  } else if (nout + nin >= 2 && nout + nin <= 4) {
    assert_true(c.indirect);
  }
  for (unsigned i = 0; i < nout + nin; i++) {
    const struct vq_seg *want = i < nout ? &out[i] : &in[i - nout];
    assert_int_equal(c.seg[i].addr, want->addr);
    assert_int_equal(c.seg[i].len, want->len);
    assert_int_equal(c.seg[i].write, i >= nout);
  }
  assert_int_equal(c.in_len, in_len);
  uint32_t written = in_len * 2 / 3;
  push(f, c.id, written);
  void *t;
  uint32_t len;
  get(f, &t, &len);
  assert_ptr_equal(t, token);
  assert_int_equal(len, written);
  uint32_t k = 0;
  for (unsigned i = 0; i < nin; i++) {
    check_written(f, (size_t)(nout + i) * 256, in[i].len, c.id, k, written);
    k += in[i].len;
  }
  struct vq_state after = state(f);
  assert_int_equal(after.free_descs, before.free_descs);
  assert_int_equal(after.in_flight, before.in_flight);
}

static void test_chains(void **state_) {
  struct fx *f = *state_;
  fx_open(f, 16, 0);
  size_t n = 0;
  for (unsigned total = 1; total <= 16; total++) {
    for (unsigned nout = 0; nout <= total; nout++) {
      chain_once(f, nout, total - nout, tok(f, n++));
    }
  }
}

static void test_chains_indirect(void **state_) {
  struct fx *f = *state_;
  fx_open(f, 32, F_INDIRECT);
  size_t n = 0;
  for (unsigned total = 1; total <= 24; total++) {
    for (unsigned nout = 0; nout <= total; nout++) {
      chain_once(f, nout, total - nout, tok(f, n++));
    }
  }
  /* Chains come and go while one with an indirect table stays out. */
  assert_int_equal(add_chain(f, 2, 2, 60000, 16, tok(f, 1)), RL_OK);
  struct model_chain c;
  pop(f, &c);
  assert_int_equal(c.indirect, VQ_INDIRECT(&f->cfg));
  chain_once(f, 1, 3, tok(f, 2));
  chain_once(f, 0, 20, tok(f, 3));
}

/* A small deterministic generator for shuffles. */
static uint32_t rng_next(uint32_t *s) {
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

static void test_out_of_order(void **state_) {
  struct fx *f = *state_;
  enum { N = 16, LEN = 16 };
  fx_open(f, N, 0);
  uint32_t seed = 12345;
  for (unsigned round = 0; round < 8; round++) {
    memset(f->data.cpu, FILL, N * LEN);
    for (unsigned i = 0; i < N; i++) {
      assert_int_equal(add_chain(f, 0, 1, i * LEN, LEN, tok(f, i)), RL_OK);
    }
    uint32_t id[N];
    unsigned buf[N]; /* which buffer each popped chain is */
    for (unsigned i = 0; i < N; i++) {
      struct model_chain c;
      pop(f, &c);
      id[i] = c.id;
      buf[i] = (unsigned)((c.seg[0].addr - f->data.phys) / LEN);
      assert_int_equal(buf[i], i);
    }
    unsigned order[N];
    for (unsigned i = 0; i < N; i++) {
      order[i] = round == 0   ? N - 1 - i
                 : round == 1 ? (i < N / 2 ? 2 * i : 2 * (i - N / 2) + 1)
                              : i;
    }
    if (round >= 2) {
      for (unsigned i = N - 1; i > 0; i--) {
        unsigned j = rng_next(&seed) % (i + 1);
        unsigned tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
      }
    }
    /* Use them in that order; some collected at once, some in bulk. */
    unsigned got = 0;
    for (unsigned i = 0; i < N; i++) {
      unsigned k = order[i];
      push(f, id[k], (k * 5) % (LEN + 1));
      if (round % 2 == 1 || i == N - 1) {
        for (; got <= i; got++) {
          void *t;
          uint32_t len;
          get(f, &t, &len);
          unsigned want = order[got];
          assert_ptr_equal(t, tok(f, want));
          assert_int_equal(len, (want * 5) % (LEN + 1));
          check_written(f, want * LEN, LEN, id[want], 0, len);
        }
      }
    }
    expect_none(f);
    struct vq_state s = state(f);
    assert_int_equal(s.free_descs, N);
    assert_int_equal(s.in_flight, 0);
  }
}

/* Fills a queue of `n` completely, checks it is full, uses everything
 * (in order, then in reverse) and collects it, twice. */
static void fill_drain(struct fx *f, uint32_t n) {
  enum { LEN = 8 };
  uint32_t *id = calloc(n, sizeof(*id));
  assert_non_null(id);
  for (unsigned round = 0; round < 2; round++) {
    for (uint32_t i = 0; i < n; i++) {
      assert_int_equal(add_chain(f, 0, 1, (size_t)i * LEN, LEN, tok(f, i)),
                       RL_OK);
    }
    assert_int_equal(add_chain(f, 0, 1, 0, LEN, tok(f, n)), RL_ERR_NO_SPACE);
    struct vq_state s = state(f);
    assert_int_equal(s.free_descs, 0);
    assert_int_equal(s.in_flight, n);
    for (uint32_t i = 0; i < n; i++) {
      struct model_chain c;
      pop(f, &c);
      assert_int_equal(c.seg[0].addr, f->data.phys + (paddr_t)i * LEN);
      id[i] = c.id;
    }
    struct model_chain extra;
    assert_false(f->mo->pop(f->m, &extra));
    for (uint32_t j = 0; j < n; j++) {
      uint32_t i = round == 0 ? j : n - 1 - j;
      push(f, id[i], i % (LEN + 1));
    }
    for (uint32_t j = 0; j < n; j++) {
      uint32_t i = round == 0 ? j : n - 1 - j;
      void *t;
      uint32_t len;
      get(f, &t, &len);
      assert_ptr_equal(t, tok(f, i));
      assert_int_equal(len, i % (LEN + 1));
      if (len > 0) {
        assert_int_equal(*user_reads(f, (size_t)i * LEN, 1),
                         model_pattern(id[i], 0));
      }
    }
    expect_none(f);
    s = state(f);
    assert_int_equal(s.free_descs, n);
    assert_int_equal(s.in_flight, 0);
  }
  free(id);
}

static void test_size_1(void **state_) {
  struct fx *f = *state_;
  fx_open(f, 1, 0);
  fill_drain(f, 1);
  fx_close(f);
  fx_open(f, 1, F_INDIRECT);
#ifndef CONFIG_VIRTIO_INDIRECT_DESC
  /* No indirect tables: a chain of three never fits a queue of one
   * (invalid, not just full). */
  assert_int_equal(add_chain(f, 1, 2, 0, 32, tok(f, 0)), RL_ERR_INVALID);
  fill_drain(f, 1);
#else
  /* With indirect descriptors a chain fits a queue of one. */
  assert_int_equal(add_chain(f, 1, 2, 0, 32, tok(f, 0)), RL_OK);
  assert_int_equal(add_chain(f, 0, 1, 512, 32, tok(f, 1)), RL_ERR_NO_SPACE);
  struct model_chain c;
  pop(f, &c);
  assert_true(c.indirect);
  assert_int_equal(c.nseg, 3);
  push(f, c.id, 64);
  void *t;
  uint32_t len;
  get(f, &t, &len);
  assert_ptr_equal(t, tok(f, 0));
  assert_int_equal(len, 64);
  check_written(f, 32, 64, c.id, 0, 64);
  fill_drain(f, 1);
#endif
}

static void test_size_2(void **state_) {
  struct fx *f = *state_;
  fx_open(f, 2, 0);
  fill_drain(f, 2);
}

static void test_size_256(void **state_) {
  struct fx *f = *state_;
  fx_open(f, 256, F_EVENT_IDX);
  fill_drain(f, 256);
}

static void test_size_32768(void **state_) {
  struct fx *f = *state_;
  fx_open(f, 32768, 0);
  fill_drain(f, 32768);
}

static void test_bad_sizes(void **state_) {
  struct fx *f = *state_;
  const uint32_t bad[] = {0, 32769, 65535};
  const uint32_t not_pow2[] = {3, 6, 100, 32767};
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad) + RL_ARRAY_SIZE(not_pow2); i++) {
    if (i >= RL_ARRAY_SIZE(bad) && !f->b->pow2_sizes) {
      break;
    }
    uint32_t n =
        i < RL_ARRAY_SIZE(bad) ? bad[i] : not_pow2[i - RL_ARRAY_SIZE(bad)];
    struct vq_config cfg = {.size = (uint16_t)n, .dma = &coherent};
    struct vq_backend *q = NULL;
    assert_int_equal(f->ops->create(&cfg, &q), RL_ERR_INVALID);
    assert_null(q);
  }
  assert_int_equal(host_dma_live_count(), f->dma_base);
}

/* Well over 65536 buffers through a queue of 4: every 16-bit index (and
 * event index) wraps at least once. Each buffer is checked. */
static void wrap(struct fx *f, unsigned flags) {
  enum { LEN = 8, TOTAL = 70000 };
  fx_open(f, 4, flags);
  f->mo->set_notify(f->m, true);
  uint32_t sub = 0;
  for (uint32_t iter = 0; sub < TOTAL; iter++) {
    unsigned want = 1 + iter % 4;
    unsigned added = 0;
    size_t first = sub;
    for (unsigned j = 0; j < want; j++) {
      unsigned nout = (iter + j) % 2;
      rl_status st = add_chain(f, nout, 1, (size_t)j * 64, LEN, tok(f, sub));
      if (st == RL_ERR_NO_SPACE) {
        break;
      }
      assert_int_equal(st, RL_OK);
      added++;
      sub++;
    }
    assert_true(added > 0);
    assert_true(f->ops->kick_prepare(f->q));
    uint32_t id[4];
    for (unsigned j = 0; j < added; j++) {
      struct model_chain c;
      pop(f, &c);
      assert_int_equal(c.nseg, (iter + j) % 2 + 1);
      id[j] = c.id;
    }
    for (unsigned j = added; j-- > 0;) {
      push(f, id[j], (uint32_t)(first + j) % (LEN + 1));
    }
    assert_true(f->mo->should_interrupt(f->m));
    for (unsigned j = added; j-- > 0;) {
      void *t;
      uint32_t len;
      get(f, &t, &len);
      assert_ptr_equal(t, tok(f, first + j));
      assert_int_equal(len, (uint32_t)(first + j) % (LEN + 1));
      if (len > 0) {
        unsigned nout = (iter + j) % 2;
        assert_int_equal(*user_reads(f, (size_t)j * 64 + nout * LEN, 1),
                         model_pattern(id[j], 0));
      }
    }
    expect_none(f);
    /* Drained: re-arm, as virtqueue_poll does (get_used leaves the event
     * where enable_cb put it). */
    assert_false(f->ops->enable_cb(f->q));
  }
  struct vq_state s = state(f);
  assert_int_equal(s.free_descs, 4);
  assert_int_equal(s.in_flight, 0);
  assert_true(sub > 65536 + 4);
}

static void test_wrap(void **state_) { wrap(*state_, 0); }
static void test_wrap_indirect(void **state_) { wrap(*state_, F_INDIRECT); }
static RL_UNUSED void test_wrap_event_idx(void **state_) {
  wrap(*state_, F_EVENT_IDX | F_INDIRECT);
}

static void test_queue_full(void **state_) {
  struct fx *f = *state_;
  enum { N = 8, LEN = 16 };
  fx_open(f, N, 0);
  for (unsigned i = 0; i < N; i++) {
    assert_int_equal(add_chain(f, 0, 1, i * LEN, LEN, tok(f, i)), RL_OK);
  }
  assert_int_equal(add_chain(f, 0, 1, 0, LEN, tok(f, N)), RL_ERR_NO_SPACE);
  assert_int_equal(add_chain(f, 1, 1, 0, LEN, tok(f, N)), RL_ERR_NO_SPACE);
  struct vq_state s = state(f);
  assert_int_equal(s.free_descs, 0);
  assert_int_equal(s.in_flight, N);
  uint32_t id[N];
  for (unsigned i = 0; i < N; i++) {
    struct model_chain c;
    pop(f, &c);
    id[i] = c.id;
  }
  /* A refused add published nothing. */
  struct model_chain c;
  assert_false(f->mo->pop(f->m, &c));

  push(f, id[2], 3);
  void *t;
  uint32_t len;
  get(f, &t, &len);
  assert_ptr_equal(t, tok(f, 2));
  assert_int_equal(add_chain(f, 0, 1, 2 * LEN, LEN, tok(f, N)), RL_OK);
  assert_int_equal(add_chain(f, 0, 1, 0, LEN, tok(f, N + 1)), RL_ERR_NO_SPACE);
  assert_int_equal(add_chain(f, 1, 1, 0, LEN, tok(f, N + 1)), RL_ERR_NO_SPACE);
  push(f, id[5], 0);
  push(f, id[0], LEN);
  get(f, &t, &len);
  assert_ptr_equal(t, tok(f, 5));
  get(f, &t, &len);
  assert_ptr_equal(t, tok(f, 0));
  assert_int_equal(len, LEN);
  /* Two free descriptors: a two-segment chain fits, then nothing. */
  assert_int_equal(add_chain(f, 1, 1, 256, LEN, tok(f, N + 1)), RL_OK);
  assert_int_equal(add_chain(f, 0, 1, 0, LEN, tok(f, N + 2)), RL_ERR_NO_SPACE);
  s = state(f);
  assert_int_equal(s.free_descs, 0);
  assert_int_equal(s.in_flight, N - 1); /* 8 - 3 used + 2 added */
  pop(f, &c); /* the one added after the first completion */
  pop(f, &c);
  assert_int_equal(c.nseg, 2);
  assert_false(f->mo->pop(f->m, &c));
}

static RL_UNUSED void test_indirect(void **state_) {
  struct fx *f = *state_;
  enum { N = 8, LEN = 32 };
  fx_open(f, N, F_INDIRECT);
  assert_int_equal(add_chain(f, 2, 2, 0, LEN, tok(f, 0)), RL_OK);
  assert_int_equal(state(f).free_descs, N - 1);
  struct model_chain c;
  pop(f, &c);
  assert_true(c.indirect);
  assert_int_equal(c.nseg, 4);
  push(f, c.id, 2 * LEN);
  void *t;
  uint32_t len;
  get(f, &t, &len);
  assert_ptr_equal(t, tok(f, 0));
  assert_int_equal(len, 2 * LEN);
  check_written(f, 2 * LEN, 2 * LEN, c.id, 0, 2 * LEN);
  assert_int_equal(state(f).free_descs, N);
  /* Eight four-segment chains fill a queue of eight. */
  for (unsigned i = 0; i < N; i++) {
    assert_int_equal(add_chain(f, 2, 2, i * 4 * LEN, LEN, tok(f, i)), RL_OK);
  }
  assert_int_equal(state(f).free_descs, 0);
  assert_int_equal(add_chain(f, 2, 2, 0, LEN, tok(f, N)), RL_ERR_NO_SPACE);
  assert_int_equal(add_chain(f, 0, 1, 0, LEN, tok(f, N)), RL_ERR_NO_SPACE);
  drain(f);
  fx_close(f);

  /* Without: four descriptors each. */
  fx_open(f, N, 0);
  assert_int_equal(add_chain(f, 2, 2, 0, LEN, tok(f, 0)), RL_OK);
  assert_int_equal(state(f).free_descs, N - 4);
  assert_int_equal(add_chain(f, 1, 3, 4 * LEN, LEN, tok(f, 1)), RL_OK);
  assert_int_equal(state(f).free_descs, 0);
  assert_int_equal(add_chain(f, 0, 1, 0, LEN, tok(f, 2)), RL_ERR_NO_SPACE);
  pop(f, &c);
  assert_false(c.indirect);
  assert_int_equal(c.nseg, 4);
}

/* Driver-to-device notifications without EVENT_IDX (§2.7.7 flags). */
static void test_notify_flags(void **state_) {
  struct fx *f = *state_;
  fx_open(f, 8, 0);
  assert_false(f->ops->kick_prepare(f->q)); /* nothing added */
  f->mo->set_notify(f->m, false);
  assert_int_equal(add_chain(f, 0, 1, 0, 8, tok(f, 0)), RL_OK);
  assert_false(f->ops->kick_prepare(f->q));
  f->mo->set_notify(f->m, true);
  assert_int_equal(add_chain(f, 0, 1, 8, 8, tok(f, 1)), RL_OK);
  assert_true(f->ops->kick_prepare(f->q));
  assert_false(f->ops->kick_prepare(f->q)); /* nothing new since */
  for (unsigned i = 0; i < 3; i++) {
    assert_int_equal(add_chain(f, 0, 1, 16 + i * 8, 8, tok(f, 2 + i)), RL_OK);
  }
  assert_true(f->ops->kick_prepare(f->q));
  f->mo->set_notify(f->m, false);
  assert_int_equal(add_chain(f, 0, 1, 40, 8, tok(f, 5)), RL_OK);
  assert_false(f->ops->kick_prepare(f->q));
}

/* With EVENT_IDX the device names the index it wants to hear about
 * (§2.7.10): count the notifications over a run of single buffers. */
static RL_UNUSED void test_notify_event_idx(void **state_) {
  struct fx *f = *state_;
  fx_open(f, 64, F_EVENT_IDX);
  size_t n = 0;
  /* Enabled: every kick after new buffers notifies. */
  f->mo->set_notify(f->m, true);
  assert_int_equal(add_chain(f, 0, 1, 0, 8, tok(f, n++)), RL_OK);
  assert_true(f->ops->kick_prepare(f->q));
  drain(f);
  f->mo->set_notify(f->m, false);
  assert_int_equal(add_chain(f, 0, 1, 0, 8, tok(f, n++)), RL_OK);
  assert_false(f->ops->kick_prepare(f->q));
  drain(f);
  fx_close(f);

  /* From a fresh queue: the driver index runs 0, 1, 2, ... */
  fx_open(f, 64, F_EVENT_IDX);
  n = 0;
  f->mo->set_notify_event(f->m, 5);
  unsigned kicks = 0;
  unsigned at = 0;
  for (unsigned i = 1; i <= 10; i++) {
    assert_int_equal(add_chain(f, 0, 1, i * 8, 8, tok(f, n++)), RL_OK);
    if (f->ops->kick_prepare(f->q)) {
      kicks++;
      at = i;
    }
  }
  assert_int_equal(kicks, 1);
  assert_int_equal(at, 6); /* the buffer that moved the index past 5 */
  /* A batch spanning the event notifies once at its kick. */
  f->mo->set_notify_event(f->m, 12);
  for (unsigned i = 0; i < 4; i++) { /* 10 -> 14 */
    assert_int_equal(add_chain(f, 0, 1, 100 + i * 8, 8, tok(f, n++)), RL_OK);
  }
  assert_true(f->ops->kick_prepare(f->q));
  f->mo->set_notify_event(f->m, 20);
  for (unsigned i = 0; i < 4; i++) { /* 14 -> 18 */
    assert_int_equal(add_chain(f, 0, 1, 200 + i * 8, 8, tok(f, n++)), RL_OK);
  }
  assert_false(f->ops->kick_prepare(f->q));
  for (unsigned i = 0; i < 4; i++) { /* 18 -> 22 */
    assert_int_equal(add_chain(f, 0, 1, 300 + i * 8, 8, tok(f, n++)), RL_OK);
  }
  assert_true(f->ops->kick_prepare(f->q));
  /* An event behind the driver: no more notifications. */
  f->mo->set_notify_event(f->m, 3);
  for (unsigned i = 0; i < 8; i++) {
    assert_int_equal(add_chain(f, 0, 1, 400 + i * 8, 8, tok(f, n++)), RL_OK);
    assert_false(f->ops->kick_prepare(f->q));
  }
}

/* Device-to-driver interrupts without EVENT_IDX: NO_INTERRUPT. */
static void test_interrupt_flags(void **state_) {
  struct fx *f = *state_;
  fx_open(f, 8, 0);
  uint32_t id[4];
  for (unsigned i = 0; i < 4; i++) {
    assert_int_equal(add_chain(f, 0, 1, i * 16, 16, tok(f, i)), RL_OK);
  }
  for (unsigned i = 0; i < 4; i++) {
    struct model_chain c;
    pop(f, &c);
    id[i] = c.id;
  }
  assert_false(f->mo->should_interrupt(f->m)); /* nothing used */
  push(f, id[0], 1);
  assert_true(f->mo->should_interrupt(f->m));
  void *t;
  uint32_t len;
  get(f, &t, &len);
  f->ops->disable_cb(f->q);
  push(f, id[1], 1);
  assert_false(f->mo->should_interrupt(f->m));
  assert_true(f->ops->enable_cb(f->q)); /* one arrived meanwhile */
  get(f, &t, &len);
  assert_ptr_equal(t, tok(f, 1));
  assert_false(f->ops->enable_cb(f->q));
  push(f, id[2], 1);
  assert_true(f->mo->should_interrupt(f->m));
  assert_false(f->mo->should_interrupt(f->m)); /* nothing new */
  get(f, &t, &len);
}

/* With EVENT_IDX: used_event (§2.7.10). */
static RL_UNUSED void test_interrupt_event_idx(void **state_) {
  struct fx *f = *state_;
  enum { N = 8 };
  fx_open(f, N, F_EVENT_IDX);
  uint32_t id[N];
  for (unsigned i = 0; i < N; i++) {
    assert_int_equal(add_chain(f, 0, 1, i * 16, 16, tok(f, i)), RL_OK);
  }
  for (unsigned i = 0; i < N; i++) {
    struct model_chain c;
    pop(f, &c);
    id[i] = c.id;
  }
  void *t;
  uint32_t len;
  assert_false(f->ops->enable_cb(f->q));
  push(f, id[0], 1);
  push(f, id[1], 1);
  assert_true(f->mo->should_interrupt(f->m));
  /* The driver has not caught up: no second interrupt. */
  push(f, id[2], 1);
  assert_false(f->mo->should_interrupt(f->m));
  for (unsigned i = 0; i < 3; i++) {
    get(f, &t, &len);
    assert_ptr_equal(t, tok(f, i));
  }
  assert_false(f->ops->enable_cb(f->q));
  push(f, id[3], 1);
  assert_true(f->mo->should_interrupt(f->m));

  /* Disabled: no interrupts, also while the driver drains. */
  f->ops->disable_cb(f->q);
  push(f, id[4], 1);
  assert_false(f->mo->should_interrupt(f->m));
  get(f, &t, &len);
  get(f, &t, &len);
  assert_ptr_equal(t, tok(f, 4));
  push(f, id[5], 1);
  assert_false(f->mo->should_interrupt(f->m));
  /* Enabled again: what arrived meanwhile is reported. */
  assert_true(f->ops->enable_cb(f->q));
  get(f, &t, &len);
  assert_ptr_equal(t, tok(f, 5));
  assert_false(f->ops->enable_cb(f->q));
  push(f, id[6], 1);
  assert_true(f->mo->should_interrupt(f->m));
  /* Disabled right after enabling, before the device moved on. */
  get(f, &t, &len);
  assert_false(f->ops->enable_cb(f->q));
  f->ops->disable_cb(f->q);
  push(f, id[7], 1);
  assert_false(f->mo->should_interrupt(f->m));
  assert_true(f->ops->enable_cb(f->q));
}

/* A readable and a writable segment (only the writable one on a queue
 * of one without indirect descriptors). */
static void round_trip_at(struct fx *f, size_t off) {
  unsigned nout = f->cfg.size >= 2 || VQ_INDIRECT(&f->cfg) ? 1 : 0;
  memset(bytes_at(f, off), FILL, 64);
  assert_int_equal(add_chain(f, nout, 1, off, 32, tok(f, 0)), RL_OK);
  struct model_chain c;
  pop(f, &c);
  push(f, c.id, 32);
  void *t;
  uint32_t len;
  get(f, &t, &len);
  assert_ptr_equal(t, tok(f, 0));
  assert_int_equal(len, 32);
  check_written(f, off + 32 * nout, 32, c.id, 0, 32);
}

static void test_layout_modern(void **state_) {
  struct fx *f = *state_;
  const uint32_t sizes[] = {1, 2, 8, 256, 4096};
  for (size_t i = 0; i < RL_ARRAY_SIZE(sizes); i++) {
    fx_open(f, sizes[i], F_EVENT_IDX); /* fx_open checks the alignments */
    round_trip_at(f, 0);
    drain(f);
    fx_close(f);
  }
}

/* §2.7.2: a legacy device knows only the queue's page number, the size
 * and QueueAlign; the rings must be where it computes them. */
static void test_layout_legacy(void **state_) {
  struct fx *f = *state_;
  if (!f->b->legacy_layout) {
    skip();
  }
  const uint32_t sizes[] = {1, 2, 8, 256, 1024, 32768};
  for (size_t i = 0; i < RL_ARRAY_SIZE(sizes); i++) {
    uint64_t n = sizes[i];
    fx_open(f, sizes[i], F_LEGACY | (i % 2 ? F_EVENT_IDX : 0));
    assert_true(f->a.desc % 4096 == 0); /* QueuePFN * 4096 */
    assert_int_equal(f->a.driver, f->a.desc + 16 * n);
    assert_int_equal(f->a.device, RL_ALIGN_UP(f->a.desc + 16 * n + 6 + 2 * n,
                                              (uint64_t)LEGACY_ALIGN));
    round_trip_at(f, 0);
    f->mo->set_notify(f->m, true);
    round_trip_at(f, 128);
    drain(f);
    fx_close(f);
  }
  const uint32_t bad_align[] = {0, 3, 100};
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad_align); i++) {
    struct vq_config cfg = {.size = 8,
                            .legacy = true,
                            .legacy_align = bad_align[i],
                            .dma = &coherent};
    struct vq_backend *q = NULL;
    assert_int_equal(f->ops->create(&cfg, &q), RL_ERR_INVALID);
  }
}

/* ---- hostile devices -------------------------------------------------- */

struct handed {
  struct fx *f;
  unsigned count;
  uint8_t seen[256];
};

static void hand_back(void *token, void *arg) {
  struct handed *h = arg;
  size_t i = tok_index(h->f, token);
  assert_true(i < RL_ARRAY_SIZE(h->seen));
  assert_int_equal(h->seen[i], 0);
  h->seen[i] = 1;
  h->count++;
}

/* The device reset: the driver hands back what it had outstanding, the
 * device starts over, and the queue works again. */
static RL_UNUSED void reset_and_reuse(struct fx *f, unsigned outstanding) {
  struct handed h = {.f = f};
  f->ops->detach(f->q, hand_back, &h);
  assert_int_equal(h.count, outstanding);
  assert_false(f->ops->broken(f->q));
  struct vq_state s = state(f);
  assert_int_equal(s.free_descs, f->cfg.size);
  assert_int_equal(s.in_flight, 0);
  device_reset(f);
  f->broken = false;
  round_trip_at(f, 1024);
}

/* A bad used entry: RL_ERR_BROKEN now and from then on, nothing
 * crashes, and a reset makes the queue usable again. */
static void expect_broken(struct fx *f, unsigned outstanding) {
  void *t = NULL;
  uint32_t len = 0;
  f->broken = true;
  assert_int_equal(vq_get_used(f->ops, f->q, &t, &len), RL_ERR_BROKEN);
  assert_true(f->ops->broken(f->q));
  assert_int_equal(vq_get_used(f->ops, f->q, &t, &len), RL_ERR_BROKEN);
  assert_int_equal(add_chain(f, 0, 1, 0, 8, tok(f, 99)), RL_ERR_BROKEN);
  (void)f->ops->kick_prepare(f->q);
  f->ops->disable_cb(f->q);
  (void)f->ops->enable_cb(f->q);
  (void)state(f);
  assert_int_equal(vq_get_used(f->ops, f->q, &t, &len), RL_ERR_BROKEN);
  assert_true(f->ops->broken(f->q));
#if VQ_DETACH /* the reset's ops->detach */
  reset_and_reuse(f, outstanding);
#else
  (void)outstanding;
#endif
}

/* Adds `n` one-segment chains (16 writable bytes) and lets the model take
 * them; their ids go to id[]. */
static void start(struct fx *f, unsigned n, uint32_t *id) {
  for (unsigned i = 0; i < n; i++) {
    assert_int_equal(add_chain(f, 0, 1, i * 16, 16, tok(f, i)), RL_OK);
  }
  for (unsigned i = 0; i < n; i++) {
    struct model_chain c;
    pop(f, &c);
    id[i] = c.id;
  }
}

static void test_bad_id(void **state_) {
  struct fx *f = *state_;
  enum { N = 8 };
  const uint32_t bad[] = {N, N + 5, 0xffff, 0x10000, 0xffffffffu};
  for (size_t i = 0; i < RL_ARRAY_SIZE(bad); i++) {
    fx_open(f, N, i % 2 ? F_INDIRECT : 0);
    uint32_t id[2];
    start(f, 2, id);
    f->mo->push_raw(f->m, bad[i], 0);
    expect_broken(f, 2);
    fx_close(f);
  }
  /* 0x10000 + a real id: the top bits must not be dropped. */
  fx_open(f, N, 0);
  uint32_t id[2];
  start(f, 2, id);
  f->mo->push_raw(f->m, 0x10000 + id[0], 0);
  expect_broken(f, 2);
}

static void test_id_not_outstanding(void **state_) {
  struct fx *f = *state_;
  enum { N = 8 };
  uint32_t id[2];
  void *t;
  uint32_t len;
  /* Used twice, the second time after the driver collected it. */
  fx_open(f, N, 0);
  start(f, 2, id);
  push(f, id[0], 4);
  get(f, &t, &len);
  f->mo->push_raw(f->m, id[0], 0);
  expect_broken(f, 1);
  fx_close(f);

  /* Used twice in one batch. */
  fx_open(f, N, F_INDIRECT);
  start(f, 2, id);
  push(f, id[1], 4);
  f->mo->push_raw(f->m, id[1], 4);
  get(f, &t, &len);
  assert_ptr_equal(t, tok(f, 1));
  expect_broken(f, 1);
  fx_close(f);

  /* An id nobody made available (split: inside a chain, not its head). */
  fx_open(f, N, 0);
  assert_int_equal(add_chain(f, 1, 2, 0, 16, tok(f, 0)), RL_OK);
  struct model_chain c;
  pop(f, &c);
  f->mo->push_raw(f->m, (c.id + 1) % N, 0);
  expect_broken(f, 1);
}

/* A bad entry in the middle of what the device published at once (the
 * split ring reads its used idx once for all of them): the good entry
 * before it is taken, the queue breaks there and stays broken, and the
 * good entry after it is never handed out. */
static void test_bad_mid_batch(void **state_) {
  struct fx *f = *state_;
  enum { N = 8 };
  uint32_t id[3];
  void *t;
  uint32_t len;
  fx_open(f, N, F_EVENT_IDX);
  start(f, 3, id);
  push(f, id[0], 4);
  f->mo->push_raw(f->m, id[0], 4); /* again: no longer outstanding */
  push(f, id[2], 4);
  get(f, &t, &len);
  assert_ptr_equal(t, tok(f, 0));
  expect_broken(f, 2);
}

static void test_bad_len(void **state_) {
  struct fx *f = *state_;
  enum { N = 8 };
  uint32_t id[2];
  /* One more byte than the chain can take. */
  fx_open(f, N, 0);
  start(f, 2, id);
  f->mo->push_raw(f->m, id[1], 17);
  expect_broken(f, 2);
  fx_close(f);

  fx_open(f, N, F_INDIRECT);
  assert_int_equal(add_chain(f, 2, 2, 0, 16, tok(f, 0)), RL_OK);
  struct model_chain c;
  pop(f, &c);
  f->mo->push_raw(f->m, c.id, 0xffffffffu);
  expect_broken(f, 1);
  fx_close(f);

  /* A chain with nothing writable. */
  fx_open(f, N, 0);
  assert_int_equal(add_chain(f, 1, 0, 0, 16, tok(f, 0)), RL_OK);
  pop(f, &c);
  f->mo->push_raw(f->m, c.id, 1);
  expect_broken(f, 1);
}

static void test_used_idx_ahead(void **state_) {
  struct fx *f = *state_;
  enum { N = 8 };
  uint32_t id[2];
  void *t;
  uint32_t len;
  /* More used than ever made available; the good entry may come first. */
  fx_open(f, N, 0);
  start(f, 2, id);
  push(f, id[0], 4);
  f->mo->claim_extra(f->m, 5);
  unsigned outstanding = 2;
  rl_status st = vq_get_used(f->ops, f->q, &t, &len);
  if (st == RL_OK) {
    assert_ptr_equal(t, tok(f, 0));
    outstanding = 1;
  } else {
    assert_int_equal(st, RL_ERR_BROKEN);
  }
  expect_broken(f, outstanding);
  fx_close(f);

  /* On an empty queue. */
  fx_open(f, N, F_EVENT_IDX);
  f->mo->claim_extra(f->m, 1);
  expect_broken(f, 0);
  fx_close(f);

  /* Half the index space ahead. */
  fx_open(f, N, 0);
  start(f, 1, id);
  f->mo->claim_extra(f->m, 0x8000);
  expect_broken(f, 1);
}

/* ---- reset and misuse ------------------------------------------------- */

static void detach_case(struct fx *f, unsigned flags) {
  enum { N = 16 };
  fx_open(f, N, flags);
  for (unsigned i = 0; i < 6; i++) {
    assert_int_equal(add_chain(f, i % 2, 1 + i % 3, i * 256, 32, tok(f, i)),
                     RL_OK);
  }
  uint32_t id[4];
  for (unsigned i = 0; i < 4; i++) {
    struct model_chain c;
    pop(f, &c);
    id[i] = c.id;
  }
  push(f, id[1], 8);
  push(f, id[3], 8);
  void *t;
  uint32_t len;
  get(f, &t, &len); /* collected: not handed back */
  struct handed h = {.f = f};
  f->ops->detach(f->q, hand_back, &h);
  assert_int_equal(h.count, 5);
  assert_int_equal(h.seen[tok_index(f, t)], 0);
  struct vq_state s = state(f);
  assert_int_equal(s.free_descs, N);
  assert_int_equal(s.in_flight, 0);
  /* Nothing left: a second detach hands nothing back. */
  f->ops->detach(f->q, NULL, NULL);
  device_reset(f);
  fill_drain(f, N);
  round_trip_at(f, 0);
}

static RL_UNUSED void test_detach(void **state_) {
  struct fx *f = *state_;
  detach_case(f, 0);
  drain(f);
  fx_close(f);
  detach_case(f, F_INDIRECT | F_EVENT_IDX);
}

static void test_add_invalid(void **state_) {
  struct fx *f = *state_;
  fx_open(f, 8, 0);
  struct vq_seg s = seg(f, 0, 16);
  assert_int_equal(f->ops->add(f->q, &s, 1, NULL, 0, NULL), RL_ERR_INVALID);
  assert_int_equal(f->ops->add(f->q, NULL, 0, NULL, 0, tok(f, 0)),
                   RL_ERR_INVALID);
  struct vq_state st = state(f);
  assert_int_equal(st.free_descs, 8);
  assert_int_equal(st.in_flight, 0);
  struct model_chain c;
  assert_false(f->mo->pop(f->m, &c));
  assert_false(f->ops->kick_prepare(f->q));
}

/* add_one: the same contract as an add of one segment. */
static void test_add_one(void **state_) {
  struct fx *f = *state_;
  enum { N = 4 };
  void *t;
  uint32_t len;
  struct model_chain c;
  fx_open(f, N, 0);
  struct vq_seg s = seg(f, 0, 16);
  assert_int_equal(f->ops->add_one(f->q, s.addr, s.len, true, NULL),
                   RL_ERR_INVALID);
  assert_int_equal(state(f).free_descs, N);
  assert_false(f->mo->pop(f->m, &c));
  /* Readable: flags and length as the device sees them; it may write
   * nothing into it. */
  assert_int_equal(f->ops->add_one(f->q, s.addr, s.len, false, tok(f, 0)),
                   RL_OK);
  pop(f, &c);
  assert_int_equal(c.nseg, 1);
  assert_false(c.seg[0].write);
  assert_int_equal(c.seg[0].len, 16);
  assert_int_equal(c.seg[0].addr, s.addr);
  push(f, c.id, 0);
  get(f, &t, &len);
  assert_ptr_equal(t, tok(f, 0));
  assert_int_equal(len, 0);
  /* Writable: up to its length, reported as written. */
  assert_int_equal(f->ops->add_one(f->q, s.addr, s.len, true, tok(f, 1)),
                   RL_OK);
  pop(f, &c);
  assert_true(c.seg[0].write);
  push(f, c.id, 16);
  get(f, &t, &len);
  assert_ptr_equal(t, tok(f, 1));
  assert_int_equal(len, 16);
  /* Full: NO_SPACE, nothing changed. */
  for (unsigned i = 0; i < N; i++) {
    assert_int_equal(f->ops->add_one(f->q, s.addr, 8, true, tok(f, 2 + i)),
                     RL_OK);
  }
  assert_int_equal(f->ops->add_one(f->q, s.addr, 8, true, tok(f, 9)),
                   RL_ERR_NO_SPACE);
  assert_int_equal(state(f).free_descs, 0);
  fx_close(f);

  /* A readable buffer the device claims to have written into: broken,
   * and add_one refuses a broken queue. */
  fx_open(f, N, 0);
  s = seg(f, 0, 16);
  assert_int_equal(f->ops->add_one(f->q, s.addr, s.len, false, tok(f, 0)),
                   RL_OK);
  pop(f, &c);
  f->mo->push_raw(f->m, c.id, 1);
  f->broken = true;
  assert_int_equal(vq_get_used(f->ops, f->q, &t, &len), RL_ERR_BROKEN);
  assert_int_equal(f->ops->add_one(f->q, s.addr, s.len, true, tok(f, 1)),
                   RL_ERR_BROKEN);
  assert_int_equal(f->ops->add_one(f->q, s.addr, s.len, true, NULL),
                   RL_ERR_BROKEN);
  expect_broken(f, 1);
}

/* Without dma-coherent, every driver write the device must see is
 * cleaned from the cache (host: counted), and every device write is
 * invalidated before the driver reads it. */
static unsigned long cleans(void) {
  return host_cache_count(HOST_CACHE_CLEAN) +
         host_cache_count(HOST_CACHE_CLEAN_INVALIDATE);
}

static RL_UNUSED void test_noncoherent(void **state_) {
  struct fx *f = *state_;
  if (f->b->coherent_only) {
    /* Not for this backend (packed: descriptors share cache lines with
     * the device's writes): create refuses, nothing stays allocated. */
    struct vq_config cfg = {.size = 8, .dma = &noncoherent};
    struct vq_backend *q = NULL;
    assert_int_equal(f->ops->create(&cfg, &q), RL_ERR_NOT_SUPPORTED);
    assert_null(q);
    assert_int_equal(host_dma_live_count(), f->dma_base);
    return;
  }
  /* It never reads the data, and its counts must be the driver's alone:
   * the test's own data syncs are left out. */
  f->no_data_sync = true;
  fx_open(f, 8, F_NONCOHERENT);
  uint32_t id[3];
  host_cache_reset_counts();
  start(f, 3, id);
  assert_true(cleans() > 0); /* add */
  push(f, id[0], 1);
  host_cache_reset_counts();
  void *t;
  uint32_t len;
  get(f, &t, &len);
  assert_true(host_cache_count(HOST_CACHE_INVALIDATE) > 0);
  /* Suppression writes (§2.7.7 avail flags) are for the device too. */
  host_cache_reset_counts();
  f->ops->disable_cb(f->q);
  assert_true(cleans() > 0);
  host_cache_reset_counts();
  (void)f->ops->enable_cb(f->q);
  assert_true(cleans() > 0);
  drain(f);
  fx_close(f);

  /* EVENT_IDX: collecting writes nothing for the device (used_event
   * stays where enable_cb put it); enabling moves used_event (§2.7.10),
   * cleaned for the device. */
  fx_open(f, 8, F_NONCOHERENT | F_EVENT_IDX);
  start(f, 2, id);
  push(f, id[0], 1);
  host_cache_reset_counts();
  get(f, &t, &len);
  assert_int_equal(cleans(), 0);
  host_cache_reset_counts();
  (void)f->ops->enable_cb(f->q);
  assert_true(cleans() > 0);
}

/* ---- the coherent path's cost (issue 13 item 5) ------------------------ */

static unsigned long cache_ops(void) {
  return host_cache_count(HOST_CACHE_CLEAN) +
         host_cache_count(HOST_CACHE_INVALIDATE) +
         host_cache_count(HOST_CACHE_CLEAN_INVALIDATE);
}

/* Counters zeroed; the DMA sync count as it stands. */
static unsigned long cost_start(void) {
  host_cache_reset_counts();
  host_barrier_reset_counts();
  return arch_dma_sync_count();
}

/* Exactly `dma_mb`, `dma_rmb`, `dma_wmb` virtio barriers ran since
 * cost_start, no full-system barrier (the non-coherent syncs' dsb /
 * fence io), no cache operation and no sync that did maintenance. */
static void cost_is(unsigned long syncs, const char *what, unsigned long dma_mb,
                    unsigned long dma_rmb, unsigned long dma_wmb) {
  unsigned long got[HOST_BARRIER_COUNT];
  for (int k = 0; k < HOST_BARRIER_COUNT; k++) {
    got[k] = host_barrier_count((enum host_barrier)k);
  }
  if (got[HOST_MB] != 0 || got[HOST_RMB] != 0 || got[HOST_WMB] != 0 ||
      got[HOST_DMA_MB] != dma_mb || got[HOST_DMA_RMB] != dma_rmb ||
      got[HOST_DMA_WMB] != dma_wmb || cache_ops() != 0 ||
      arch_dma_sync_count() != syncs) {
    fail_msg("%s on a coherent device: mb %lu rmb %lu wmb %lu dma_mb %lu "
             "dma_rmb %lu dma_wmb %lu, %lu cache op(s), %lu sync(s); "
             "expected only dma_mb %lu dma_rmb %lu dma_wmb %lu",
             what, got[HOST_MB], got[HOST_RMB], got[HOST_WMB], got[HOST_DMA_MB],
             got[HOST_DMA_RMB], got[HOST_DMA_WMB], cache_ops(),
             arch_dma_sync_count() - syncs, dma_mb, dma_rmb, dma_wmb);
  }
}

/* On a coherent device the syncs cost nothing (no barrier, no call): an
 * add runs one write barrier before it publishes (the idx, or the head's
 * flags), whatever the chain's length; a get_used one read barrier
 * between the idx (flags) and the entry, and nothing more, with EVENT_IDX
 * too (it leaves the event where enable_cb put it); kick_prepare one full
 * barrier before reading the device's suppression state (§2.7.13.4.1 /
 * §2.8.21.3.1). Without the barrier before the publish, an add counts 0
 * here. */
static void test_coherent_cost(void **state_) {
  struct fx *f = *state_;
  for (unsigned ev = 0; ev < 2; ev++) {
    fx_open(f, 16, ev != 0 ? F_EVENT_IDX : 0);
    struct vq_seg out[3], in[2];
    for (unsigned i = 0; i < 3; i++) {
      out[i] = seg(f, (size_t)i * 64, 16);
    }
    for (unsigned i = 0; i < 2; i++) {
      in[i] = seg(f, 1024 + (size_t)i * 64, 16);
    }
    unsigned long syncs = cost_start();
    assert_int_equal(f->ops->add(f->q, out, 1, NULL, 0, tok(f, 0)), RL_OK);
    cost_is(syncs, "add of one descriptor", 0, 0, 1);
    syncs = cost_start();
    assert_int_equal(f->ops->add(f->q, out, 3, in, 2, tok(f, 1)), RL_OK);
    cost_is(syncs, "add of a chain of five", 0, 0, 1);
    syncs = cost_start();
    for (unsigned i = 0; i < 4; i++) {
      assert_int_equal(f->ops->add(f->q, in, 1, NULL, 0, tok(f, 2 + i)), RL_OK);
    }
    cost_is(syncs, "four adds", 0, 0, 4);
    syncs = cost_start();
    (void)f->ops->kick_prepare(f->q);
    cost_is(syncs, "kick_prepare", 1, 0, 0);

    struct model_chain c;
    pop(f, &c);
    push(f, c.id, 0);
    void *t;
    uint32_t len;
    syncs = cost_start();
    get(f, &t, &len);
    cost_is(syncs, "get_used", 0, 1, 0);
    assert_ptr_equal(t, tok(f, 0));
    syncs = cost_start();
    expect_none(f);
    cost_is(syncs, "get_used finding nothing", 0, 0, 0);
    drain(f);
    fx_close(f);
  }
}

/* ---- runner ----------------------------------------------------------- */

struct test_case {
  const char *name;
  CMUnitTestFunction fn;
};

static const struct test_case cases[] = {
    {"round_trip", test_round_trip},
    {"chains", test_chains},
    {"chains_indirect", test_chains_indirect},
    {"out_of_order", test_out_of_order},
    {"size_1", test_size_1},
    {"size_2", test_size_2},
    {"size_256", test_size_256},
    {"size_32768", test_size_32768},
    {"bad_sizes", test_bad_sizes},
    {"wrap", test_wrap},
    {"wrap_indirect", test_wrap_indirect},
#ifdef CONFIG_VIRTIO_EVENT_IDX /* no EVENT_IDX */
    {"wrap_event_idx", test_wrap_event_idx},
#endif
    {"queue_full", test_queue_full},
#ifdef CONFIG_VIRTIO_INDIRECT_DESC /* no indirect tables */
    {"indirect", test_indirect},
#endif
    {"notify_flags", test_notify_flags},
#ifdef CONFIG_VIRTIO_EVENT_IDX /* no EVENT_IDX */
    {"notify_event_idx", test_notify_event_idx},
#endif
    {"interrupt_flags", test_interrupt_flags},
#ifdef CONFIG_VIRTIO_EVENT_IDX /* no EVENT_IDX */
    {"interrupt_event_idx", test_interrupt_event_idx},
#endif
    {"layout_modern", test_layout_modern},
    {"layout_legacy", test_layout_legacy},
    {"bad_id", test_bad_id},
    {"id_not_outstanding", test_id_not_outstanding},
    {"bad_mid_batch", test_bad_mid_batch},
    {"bad_len", test_bad_len},
    {"used_idx_ahead", test_used_idx_ahead},
#if VQ_DETACH /* no ops->detach */
    {"detach", test_detach},
#endif
    {"add_invalid", test_add_invalid},
    {"add_one", test_add_one},
#ifdef CONFIG_DMA_NONCOHERENT /* no cache maintenance */
    {"noncoherent", test_noncoherent},
#endif
    {"publish_order", test_publish_order},
    {"used_order", test_used_order},
    {"coherent_cost", test_coherent_cost}, /* coherent variant only */
};

/* Known driver bugs the cache model exposes (fixed in the drivers later,
 * not here). Each entry must fail; remove it once it passes. None today:
 * split-used-line (the used ring on a 64-byte boundary shared a 128-byte
 * line with the avail ring's tail and used_event) is fixed by laying the
 * used ring out on the cache writeback granule
 * (arch_cache_writeback_granule). */
static const struct expected_failure expected_failures[] = {
    {"", ""},
};

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
    NB = RL_ARRAY_SIZE(backends),
    NV = RL_ARRAY_SIZE(cache_variants),
    NC = RL_ARRAY_SIZE(cases),
    N = NB * NV * NC,
  };
  static struct CMUnitTest tests[N];
  static struct run runs[N];
  static char names[N][64];
  size_t n = 0;
  size_t listed = 0;
  for (size_t b = 0; b < NB; b++) {
    for (size_t v = 0; v < NV; v++) {
      /* A coherent-only backend never sees a non-coherent device: the
       * core picks another (vq_select.c); test_noncoherent checks that
       * its create refuses one. */
      if (cache_variants[v].line != 0 && backends[b].coherent_only) {
        continue;
      }
      for (size_t c = 0; c < NC; c++) {
        if (cache_variants[v].line != 0 && cases[c].fn == test_coherent_cost) {
          continue;
        }
        (void)snprintf(names[n], sizeof(names[n]), "%s/%s/%s", backends[b].name,
                       cache_variants[v].name, cases[c].name);
        const char *why = expected_failure_of(
            expected_failures, RL_ARRAY_SIZE(expected_failures), names[n]);
        listed += why != NULL ? 1 : 0;
        runs[n] = (struct run){&backends[b], &cache_variants[v], cases[c].fn,
                               names[n], why};
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
  }
  return run_variant_suite("virtqueue", tests, n, expected_failures,
                           RL_ARRAY_SIZE(expected_failures), listed);
}

/* A queue backend (split or packed, by FUZZ_LAYOUT_*) against a device
 * that the input plays: legitimately through the device model of
 * tests/unit/virtio (model.h), or as a hostile device writing whatever it
 * likes into the parts of the ring a device writes (split: the used ring;
 * packed: descriptor flags, ids and lengths, and the device event area),
 * or anywhere in the ring ("scribble").
 *
 * Every backend call is checked against an oracle written here from the
 * spec (virtio 1.2 §2.7, §2.8) and vq_backend.h, reading the ring memory
 * the way the backend should:
 *   - add returns what the contract says (INVALID, NO_SPACE, BROKEN, OK)
 *     and publishes exactly the segments given;
 *   - get_used returns exactly the outstanding buffer the ring names, with
 *     its length, or NOT_FOUND, or BROKEN for every entry a device cannot
 *     have written honestly (an id not outstanding, a length beyond the
 *     writable bytes, more used entries than in flight); once broken,
 *     every call says BROKEN;
 *   - kick_prepare never skips a notification the device asked for;
 *     enable_cb's answer agrees with get_used (no lost wake-up, no
 *     endless poll loop); with an honest device, a drained queue with
 *     callbacks on is interrupted by the next used buffer (with EVENT_IDX:
 *     once enable_cb has run since the last buffer taken, as
 *     virtqueue_poll does after every drain: get_used leaves the event
 *     where enable_cb put it);
 *   - state() agrees with the outstanding buffers (no descriptor leak);
 *     detach hands back every outstanding token exactly once and leaves
 *     the ring zeroed, full and usable;
 *   - the driver writes nothing outside its ring: the data buffers hold
 *     exactly what the device model wrote, the ring's padding stays zero,
 *     and no DMA allocation outlives the queue.
 *
 * Input: two header bytes (queue size class, configuration), then
 * operations, one byte each plus arguments (see the OP_* list). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arch/dma.h>
#include <virtio/core/vq_backend.h>

#include "arch_host.h"
#include "fuzz_util.h"
#include "tests/unit/virtio/model.h"

static const struct arch_dma_dev dma_coherent = {.coherent = true};
static const struct arch_dma_dev dma_noncoherent = {.coherent = false};

#if defined(FUZZ_LAYOUT_SPLIT)
extern const struct vq_ops vq_split_ops;
#define PACKED 0
#define BACKEND (&vq_split_ops)
#define DEVICE (&model_split_ops)
#elif defined(FUZZ_LAYOUT_PACKED)
extern const struct vq_ops vq_packed_ops;
#define PACKED 1
#define BACKEND (&vq_packed_ops)
#define DEVICE (&model_packed_ops)
#else
#error "define FUZZ_LAYOUT_SPLIT or FUZZ_LAYOUT_PACKED"
#endif

#define MAX_QUEUE 32768u
/* Both backends put chains of 2..16 segments into an indirect table when
 * VIRTIO_F_INDIRECT_DESC is on (split.c, packed.c: *_INDIRECT_MAX). */
#define INDIRECT_MAX 16u
#define MAX_SEGS 24u     /* per chain: past INDIRECT_MAX, within the model */
#define MAX_CHAINS 8192u /* adds per input (records are never reused) */
#define ARENA_PAGES 16u  /* the data buffers chains point into */
#define ARENA_SIZE (ARENA_PAGES * RL_PAGE_SIZE)
/* Resets per input: each zeroes the ring and re-attaches the model, and
 * inputs made of nothing else would run slowly for no coverage. */
#define MAX_DETACHES 4

/* Split ring fields (§2.7.6, §2.7.8), byte offsets. */
#define USED_FLAGS 0u
#define USED_IDX 2u
#define USED_ID(i) (4u + 8u * (i))
#define USED_LEN(i) (8u + 8u * (i))
#define AVAIL_IDX 2u
#define AVAIL_RING(i) (4u + 2u * (i))
#define F_NO_NOTIFY 1u

/* Packed ring (§2.8.13, §2.8.14). */
#define PD_LEN 8u
#define PD_ID 12u
#define PD_FLAGS 14u
#define PF_WRITE 2u
#define PF_INDIRECT 4u
#define PF_AVAIL (1u << 7)
#define PF_USED (1u << 15)
#define EV_ENABLE 0u
#define EV_DISABLE 1u
#define EV_DESC 2u

enum {
  OP_ADD,
  OP_ADD2,
  OP_ADD3,
  OP_KICK,
  OP_POP,
  OP_POP2,
  OP_PUSH,
  OP_PUSH2,
  OP_GET_USED,
  OP_GET_USED2,
  OP_POLL,
  OP_DEVICE_RUN,
  OP_HOSTILE,
  OP_PUSH_RAW,
  OP_CLAIM_EXTRA,
  OP_NOTIFY,
  OP_DISABLE_CB,
  OP_ENABLE_CB,
  OP_DETACH,
  OP_SCRIBBLE,
  OP_COUNT,
};

struct chain {
  struct vq_seg seg[MAX_SEGS]; /* readable, then writable */
  uint64_t out_len, in_len;
  unsigned nout, nin;
  uint32_t need; /* ring descriptors it holds */
  uint32_t id;   /* split: head index; packed: buffer id (from the ring) */
  bool live;     /* added and not returned by the driver */
  bool popped;   /* the model took it */
  bool pushed;   /* the model marked it used */
  bool detached;
  bool indirect;
};

struct harness {
  struct vq_config cfg;
  struct vq_backend *q;
  struct model *m;
  struct vq_addrs a;
  uint32_t n;
  /* The ring as the device sees it. */
  uint8_t *ring;                       /* desc area */
  size_t ring_len;                     /* whole allocation */
  volatile uint8_t *avail, *used;      /* split */
  volatile uint8_t *drv_evt, *dev_evt; /* packed */
  /* The driver as the oracle follows it. */
  bool broken;
  uint32_t outstanding;
  uint32_t need_sum;
  uint16_t avail_idx, last_used, kicked_idx; /* split */
  /* split: used idx as the driver last read it; entries up to it are
   * taken without reading the idx again (the device cannot take back what
   * it published). On a non-coherent device the driver reads the idx for
   * every entry (each synced after its own read): last_used + 1. */
  uint16_t used_seen;
  uint32_t avail_pos, used_pos, kicked_pos; /* packed */
  bool avail_wrap, used_wrap, kicked_wrap;
  uint32_t added_since_kick;
  bool cb_enabled;
  bool event_fresh; /* no buffer taken since enable_cb (or the reset) */
  uint32_t pushes_while_disabled;
  /* The device side. */
  bool hostile; /* a hostile operation since the last reset */
  bool tainted; /* the model's picture is no longer the ring's: no pops */
  uint32_t m_avail_lin, m_used_lin; /* packed model positions (mirror) */
  struct chain *by_id[MAX_QUEUE];
  struct chain *fifo[MAX_CHAINS]; /* added, not popped, in order */
  uint32_t fifo_head, fifo_tail;
  struct chain *held[MAX_CHAINS]; /* popped, not pushed */
  uint32_t nheld;
  unsigned detaches;
};

static struct harness H;

static void clear_ids(void) {
  for (uint32_t i = 0; i < H.n; i++) {
    H.by_id[i] = NULL;
  }
}
static struct chain pool[MAX_CHAINS];
static uint32_t pool_used;
static struct arch_dma_buf arena;
static uint8_t *shadow; /* what the arena must hold */
static size_t dma_base;
static unsigned long detach_calls;
static bool strict_known;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  /* A model's fail_msg outside a cmocka test: abort, so libFuzzer keeps
   * the input (it would exit() otherwise). */
  (void)setenv("CMOCKA_TEST_ABORT", "1", 1);
  /* The known issues (tests/fuzz/known/) are fixed: checked by default;
   * FUZZ_STRICT=0 tolerates them again. */
  const char *s = getenv("FUZZ_STRICT");
  strict_known = s == NULL || s[0] != '0';
  if (arch_dma_alloc(ARENA_PAGES, &arena) != RL_OK) {
    abort();
  }
  shadow = malloc(ARENA_SIZE);
  if (shadow == NULL) {
    abort();
  }
  for (size_t i = 0; i < ARENA_SIZE; i++) {
    shadow[i] = (uint8_t)(i * 13u + 5u);
  }
  memcpy(arena.cpu, shadow, ARENA_SIZE);
  dma_base = host_dma_live_count();
  return 0;
}

/* ---- ring memory, as a device reads it -------------------------------- */

static uint16_t rd16(const volatile uint8_t *p, size_t off) {
  return *(const volatile uint16_t *)(p + off);
}
static uint32_t rd32(const volatile uint8_t *p, size_t off) {
  return *(const volatile uint32_t *)(p + off);
}
static void wr16(volatile uint8_t *p, size_t off, uint16_t v) {
  *(volatile uint16_t *)(p + off) = v;
}
static void wr32(volatile uint8_t *p, size_t off, uint32_t v) {
  *(volatile uint32_t *)(p + off) = v;
}

/* Ring memory in the device's view (host_dma_device_ptr; the fuzzers
 * leave the host cache model off, so it is the CPU's memory). */
static uint8_t *virt(paddr_t pa) {
  void *v = NULL;
  FUZZ_CHECK(host_dma_device_ptr(pa, 1, &v) == RL_OK,
             "ring address %#llx is not DMA memory", (unsigned long long)pa);
  return v;
}

/* Bytes of the DMA allocation starting at `pa`: whole pages while they
 * still lie in that one allocation. */
static size_t alloc_len(paddr_t pa) {
  size_t len = 0;
  void *v = NULL;
  while (host_dma_device_ptr(pa, len + RL_PAGE_SIZE, &v) == RL_OK) {
    len += RL_PAGE_SIZE;
  }
  return len;
}

/* The parts of the ring allocation a device or driver may write. */
struct span {
  size_t off, len;
};

static unsigned ring_parts(struct span out[3]) {
  size_t d = (size_t)(H.a.driver - H.a.desc);
  size_t u = (size_t)(H.a.device - H.a.desc);
  out[0] = (struct span){0, (size_t)16 * H.n};
  if (PACKED) {
    out[1] = (struct span){d, 4};
    out[2] = (struct span){u, 4};
  } else {
    out[1] = (struct span){d, 6 + (size_t)2 * H.n};
    out[2] = (struct span){u, 6 + (size_t)8 * H.n};
  }
  return 3;
}

static const uint8_t zero_page[RL_PAGE_SIZE];

static void check_padding(void) {
  struct span p[3];
  unsigned np = ring_parts(p); /* in address order, disjoint */
  size_t from = 0;
  for (unsigned k = 0; k <= np; k++) {
    size_t to = k < np ? p[k].off : H.ring_len;
    for (size_t i = from; i < to; i += RL_PAGE_SIZE) {
      size_t len = RL_MIN(to - i, RL_PAGE_SIZE);
      FUZZ_CHECK(memcmp(H.ring + i, zero_page, len) == 0,
                 "ring padding at byte %zu..%zu is not zero: written outside "
                 "the ring parts",
                 i, i + len);
    }
    if (k < np) {
      from = p[k].off + p[k].len;
    }
  }
}

/* ---- packed positions ---------------------------------------------------- */

/* A position and wrap counter as one number in [0, 2n). */
static uint32_t lin(uint32_t pos, bool wrap) { return wrap ? pos : pos + H.n; }
static uint32_t lin_add(uint32_t l, uint32_t by) {
  return (l + by) % (2 * H.n);
}
static uint32_t lin_dist(uint32_t from, uint32_t to) {
  return (to + 2 * H.n - from) % (2 * H.n);
}
static void advance(uint32_t *pos, bool *wrap, uint32_t by) {
  *pos += by;
  while (*pos >= H.n) {
    *pos -= H.n;
    *wrap = !*wrap;
  }
}

static volatile uint8_t *pdesc(uint32_t pos) {
  return H.ring + (size_t)16 * pos;
}

/* ---- oracle ----------------------------------------------------------------
 */

struct verdict {
  rl_status st;
  struct chain *c;
  uint32_t len;
  uint16_t seen; /* split: used_seen once this entry is taken */
};

/* What get_used must answer now. */
static struct verdict expect_used(void) {
  struct verdict v = {RL_ERR_NOT_FOUND, NULL, 0, 0};
  if (H.broken) {
    v.st = RL_ERR_BROKEN;
    return v;
  }
  uint32_t id, len;
  if (!PACKED) {
    v.seen = H.used_seen;
    if (H.last_used == H.used_seen) {
      uint16_t idx = rd16(H.used, USED_IDX);
      if (idx == H.last_used) {
        return v;
      }
      /* More used than in flight: no honest device says that (§2.7.8). */
      if ((uint16_t)(idx - H.last_used) > H.outstanding) {
        v.st = RL_ERR_BROKEN;
        return v;
      }
      v.seen = H.cfg.dma->coherent ? idx : (uint16_t)(H.last_used + 1);
    }
    uint32_t slot = H.last_used & (H.n - 1);
    id = rd32(H.used, USED_ID(slot));
    len = rd32(H.used, USED_LEN(slot));
  } else {
    volatile uint8_t *d = pdesc(H.used_pos);
    uint16_t flags = rd16(d, PD_FLAGS);
    bool av = (flags & PF_AVAIL) != 0, us = (flags & PF_USED) != 0;
    if (av != H.used_wrap || us != H.used_wrap) {
      return v; /* §2.8.1: not used in this lap */
    }
    id = rd16(d, PD_ID);
    len = rd32(d, PD_LEN);
    /* The backend's reading of §2.8.4 (QEMU leaves WRITE clear): len
     * counts unless the buffer has nothing writable. */
    if (id < H.n && H.by_id[id] != NULL && H.by_id[id]->in_len == 0 &&
        (flags & PF_WRITE) == 0) {
      len = 0;
    }
  }
  if (id >= H.n || H.by_id[id] == NULL || len > H.by_id[id]->in_len) {
    v.st = RL_ERR_BROKEN;
    return v;
  }
  v.st = RL_OK;
  v.c = H.by_id[id];
  v.len = len;
  return v;
}

static void check_state(void) {
  struct vq_state s;
  BACKEND->state(H.q, &s);
  FUZZ_CHECK(s.in_flight == H.outstanding, "in_flight %u, outstanding %u",
             s.in_flight, H.outstanding);
  FUZZ_CHECK(s.free_descs == H.n - H.need_sum,
             "free_descs %u, expected %u (size %u): descriptors leaked",
             s.free_descs, H.n - H.need_sum, H.n);
  FUZZ_CHECK(BACKEND->broken(H.q) == H.broken, "broken() says %d, expected %d",
             BACKEND->broken(H.q), H.broken);
  if (!PACKED) {
    FUZZ_CHECK(s.driver_idx == H.avail_idx && s.used_seen == H.last_used,
               "split indices %u/%u, expected %u/%u", s.driver_idx, s.used_seen,
               H.avail_idx, H.last_used);
  } else {
    FUZZ_CHECK(s.driver_idx == H.avail_pos && s.driver_wrap == H.avail_wrap &&
                   s.used_seen == H.used_pos && s.used_wrap == H.used_wrap,
               "packed positions %u/%d %u/%d, expected %u/%d %u/%d",
               s.driver_idx, s.driver_wrap, s.used_seen, s.used_wrap,
               H.avail_pos, H.avail_wrap, H.used_pos, H.used_wrap);
  }
}

/* ---- the driver side --------------------------------------------------- */

static void fifo_push(struct chain *c) {
  FUZZ_CHECK(H.fifo_tail < MAX_CHAINS, "fifo overflow");
  H.fifo[H.fifo_tail++] = c;
}

static struct chain *new_chain(void) {
  if (pool_used >= MAX_CHAINS) {
    return NULL;
  }
  struct chain *c = &pool[pool_used++];
  memset(c, 0, sizeof(*c));
  return c;
}

static uint32_t seg_len(struct fuzz_in *in, uint8_t mode) {
  switch (mode & 3) {
  case 0:
    return fin_u8(in) % 64;
  case 1:
    return fin_u8(in);
  case 2:
    return fin_u16(in) % 4096;
  default:
    return fin_u16(in);
  }
}

static void op_add(struct fuzz_in *in) {
  uint8_t shape = fin_u8(in);
  unsigned nout, nin;
  if ((shape & 0xc0) == 0xc0) {
    unsigned total = fin_u8(in) % (MAX_SEGS + 1);
    nout = total == 0 ? 0 : fin_u8(in) % (total + 1);
    nin = total - nout;
  } else {
    nout = shape & 7;
    nin = (shape >> 3) & 7;
  }
  uint8_t kind = fin_u8(in);
  bool null_token = kind == 0xff;
  bool huge = kind == 0xfe; /* writable bytes past 4 GiB (nin >= 2) */
  struct chain *c = new_chain();
  if (c == NULL) {
    return;
  }
  c->nout = nout;
  c->nin = nin;
  unsigned total = nout + nin;
  for (unsigned i = 0; i < total; i++) {
    uint32_t off = fin_u16(in) % ARENA_SIZE;
    uint32_t len = seg_len(in, kind);
    if (len > ARENA_SIZE - off) {
      len = ARENA_SIZE - off;
    }
    if (huge && nin >= 2 && i >= nout) {
      len = 0x80000000u + off; /* rejected before anything is published */
    }
    c->seg[i] = (struct vq_seg){arena.phys + off, len};
    if (i < nout) {
      c->out_len += len;
    } else {
      c->in_len += len;
    }
  }
  /* The contract (vq_backend.h) and the backends' documented choices. */
  struct vq_state before;
  BACKEND->state(H.q, &before);
  c->indirect = H.cfg.indirect && total > 1 && total <= INDIRECT_MAX;
  c->need = c->indirect ? 1 : total;
  rl_status want;
  bool also_ok = false; /* a second acceptable answer */
  rl_status also = RL_OK;
  if (H.broken) {
    want = RL_ERR_BROKEN;
  } else if (null_token || total == 0 || c->in_len > UINT32_MAX) {
    want = RL_ERR_INVALID;
  } else if (c->need > H.n) {
    /* Can never fit: INVALID, not NO_SPACE, or a caller waiting for room
     * waits forever. Known: packed answers NO_SPACE (see README). */
    want = RL_ERR_INVALID;
    if (PACKED && !strict_known) {
      also_ok = true;
      also = RL_ERR_NO_SPACE;
    }
  } else if (c->need > before.free_descs) {
    want = RL_ERR_NO_SPACE;
  } else {
    want = RL_OK;
  }
  /* One segment: add_one (same contract) when the kind says so. */
  rl_status st = total == 1 && (kind & 0x10) != 0
                     ? BACKEND->add_one(H.q, c->seg[0].addr, c->seg[0].len,
                                        nin == 1, null_token ? NULL : c)
                     : BACKEND->add(H.q, c->seg, nout, c->seg + nout, nin,
                                    null_token ? NULL : c);
  FUZZ_CHECK(st == want || (also_ok && st == also),
             "add(%u out, %u in, need %u, free %u, size %u, broken %d) "
             "returned %d, expected %d",
             nout, nin, c->need, before.free_descs, H.n, H.broken, st, want);
  if (st != RL_OK) {
    check_state();
    return;
  }
  /* Learn the id the driver gave it from the ring, as a device would. */
  if (!PACKED) {
    uint16_t idx = rd16(H.avail, AVAIL_IDX);
    FUZZ_CHECK(idx == (uint16_t)(H.avail_idx + 1),
               "avail idx %u after add, "
               "expected %u",
               idx, (uint16_t)(H.avail_idx + 1));
    c->id = rd16(H.avail, AVAIL_RING(H.avail_idx & (H.n - 1)));
    H.avail_idx++;
  } else {
    uint32_t last = H.avail_pos;
    bool wrap = H.avail_wrap;
    advance(&last, &wrap, c->need - 1);
    c->id = rd16(pdesc(last), PD_ID);
    uint16_t hf = rd16(pdesc(H.avail_pos), PD_FLAGS);
    FUZZ_CHECK(((hf & PF_AVAIL) != 0) == H.avail_wrap &&
                   ((hf & PF_USED) != 0) != H.avail_wrap,
               "head flags %#x not available for wrap %d", hf, H.avail_wrap);
    advance(&H.avail_pos, &H.avail_wrap, c->need);
  }
  FUZZ_CHECK(c->id < H.n, "id %u past the queue size %u", c->id, H.n);
  FUZZ_CHECK(H.by_id[c->id] == NULL, "id %u given to a second buffer", c->id);
  H.by_id[c->id] = c;
  c->live = true;
  H.outstanding++;
  H.need_sum += c->need;
  H.added_since_kick += c->need;
  fifo_push(c);
  check_state();
}

static void op_kick(void) {
  bool must = false;
  if (!PACKED) {
    uint16_t old = H.kicked_idx, now = H.avail_idx;
    if (old != now) {
      if (H.cfg.event_idx) {
        uint16_t ev = rd16(H.used, USED_ID(H.n)); /* avail_event */
        must = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
      } else {
        must = (rd16(H.used, USED_FLAGS) & F_NO_NOTIFY) == 0;
      }
    }
    H.kicked_idx = now;
  } else {
    uint32_t old = lin(H.kicked_pos, H.kicked_wrap);
    uint32_t now = lin(H.avail_pos, H.avail_wrap);
    if (H.added_since_kick > 0) {
      uint16_t flags = rd16(H.dev_evt, 2) & 3;
      if (flags == EV_ENABLE) {
        must = true;
      } else if (flags == EV_DESC && H.cfg.event_idx &&
                 H.added_since_kick < H.n) {
        uint16_t ow = rd16(H.dev_evt, 0);
        uint32_t off = ow & 0x7fffu;
        if (off < H.n) {
          /* §2.8.10: the event descriptor is among those made
           * available since the last notification. */
          uint32_t ev = lin(off, (ow >> 15) != 0);
          for (uint32_t l = old; l != now; l = lin_add(l, 1)) {
            must = must || l == ev;
          }
        }
      }
    }
    H.kicked_pos = H.avail_pos;
    H.kicked_wrap = H.avail_wrap;
  }
  H.added_since_kick = 0;
  bool got = BACKEND->kick_prepare(H.q);
  FUZZ_CHECK(got || !must, "kick_prepare skipped a notification the device "
                           "asked for");
  check_state();
}

/* One get_used, checked against the oracle. */
static rl_status get_used(void) {
  struct verdict v = expect_used();
  struct vq_used u = BACKEND->get_used(H.q);
  void *token = u.token;
  FUZZ_CHECK(token != NULL || u.len == RL_ERR_NOT_FOUND ||
                 u.len == RL_ERR_BROKEN,
             "get_used returned no token and %lld", (long long)u.len);
  FUZZ_CHECK(token == NULL || (u.len >= 0 && u.len <= UINT32_MAX),
             "get_used returned a token and len %lld", (long long)u.len);
  rl_status st = token != NULL ? RL_OK : (rl_status)u.len;
  uint32_t len = (uint32_t)u.len;
  FUZZ_CHECK(st == v.st, "get_used returned %d, expected %d", st, v.st);
  FUZZ_CHECK(H.hostile || st != RL_ERR_BROKEN,
             "queue broken by an honest device");
  if (st == RL_ERR_BROKEN) {
    H.broken = true;
  } else if (st == RL_OK) {
    struct chain *c = v.c;
    FUZZ_CHECK(token == c && c->live,
               "get_used returned token %p, expected "
               "%p (id %u)",
               token, (void *)c, c->id);
    FUZZ_CHECK(len == v.len, "len %u, expected %u", len, v.len);
    c->live = false;
    H.by_id[c->id] = NULL;
    H.event_fresh = false;
    H.outstanding--;
    H.need_sum -= c->need;
    if (!PACKED) {
      H.last_used++;
      H.used_seen = v.seen;
    } else {
      advance(&H.used_pos, &H.used_wrap, c->need);
    }
    if (!c->pushed) {
      /* A device-invented completion: the model still expects to pop or
       * push it, and the driver may reuse its descriptors. */
      H.tainted = true;
    }
  }
  check_state();
  return st;
}

static void op_poll(void) {
  for (uint32_t i = 0; i <= H.n + 1; i++) {
    if (get_used() != RL_OK) {
      return;
    }
  }
  FUZZ_CHECK(false, "get_used kept returning buffers: more than the queue");
}

static void op_disable_cb(void) {
  BACKEND->disable_cb(H.q);
  H.cb_enabled = false;
  H.pushes_while_disabled = 0;
  check_state();
}

static void op_enable_cb(void) {
  bool more = BACKEND->enable_cb(H.q);
  H.cb_enabled = true;
  H.event_fresh = true;
  struct verdict v = expect_used();
  /* True with nothing there: virtqueue_poll would loop for ever. False
   * with a buffer there: a lost wake-up. */
  FUZZ_CHECK(!more || v.st != RL_ERR_NOT_FOUND,
             "enable_cb said more arrived, but nothing is used");
  FUZZ_CHECK(more || H.broken || v.st == RL_ERR_NOT_FOUND,
             "enable_cb said nothing arrived, but a used entry is there "
             "(oracle %d)",
             v.st);
  check_state();
}

/* ---- the device side --------------------------------------------------- */

static void model_attach(void) {
  H.m = DEVICE->attach(&H.a, &H.cfg);
  FUZZ_CHECK(H.m != NULL, "model attach failed");
  H.m_avail_lin = lin(0, true);
  H.m_used_lin = lin(0, true);
}

static void op_pop(void) {
  if (H.tainted) {
    return;
  }
  struct model_chain mc;
  bool got = DEVICE->pop(H.m, &mc);
  bool want = H.fifo_head < H.fifo_tail;
  FUZZ_CHECK(got == want, "model pop %d, expected %d", got, want);
  if (!got) {
    return;
  }
  struct chain *c = H.fifo[H.fifo_head++];
  FUZZ_CHECK(mc.id == c->id, "device sees id %u, expected %u", mc.id, c->id);
  FUZZ_CHECK(mc.nseg == c->nout + c->nin, "device sees %u segments, added %u",
             mc.nseg, c->nout + c->nin);
  for (unsigned i = 0; i < mc.nseg; i++) {
    FUZZ_CHECK(mc.seg[i].addr == c->seg[i].addr &&
                   mc.seg[i].len == c->seg[i].len &&
                   mc.seg[i].write == (i >= c->nout),
               "segment %u differs from what was added", i);
  }
  FUZZ_CHECK(mc.indirect == c->indirect, "indirect %d, expected %d",
             mc.indirect, c->indirect);
  FUZZ_CHECK(mc.in_len == c->in_len && mc.out_len == c->out_len,
             "lengths differ");
  c->popped = true;
  H.held[H.nheld++] = c;
  H.m_avail_lin = lin_add(H.m_avail_lin, c->need);
}

static void mirror_push(const struct chain *c, uint32_t written) {
  uint32_t k = 0;
  for (unsigned s = c->nout; s < c->nout + c->nin && k < written; s++) {
    uint32_t part = RL_MIN(c->seg[s].len, written - k);
    size_t off = (size_t)(c->seg[s].addr - arena.phys);
    for (uint32_t j = 0; j < part; j++) {
      shadow[off + j] = model_pattern(c->id, k + j);
    }
    k += part;
  }
}

/* Whether an honest push now must interrupt (callbacks on, drained; with
 * EVENT_IDX, the event where enable_cb or the reset put it). */
static bool armed(void) {
  return !H.hostile && H.cb_enabled && (H.event_fresh || !H.cfg.event_idx) &&
         expect_used().st == RL_ERR_NOT_FOUND;
}

static void after_push(bool was_armed) {
  bool irq = DEVICE->should_interrupt(H.m);
  FUZZ_CHECK(irq || !was_armed, "no interrupt for a used buffer with "
                                "callbacks enabled and the queue drained");
  if (!H.cb_enabled) {
    H.pushes_while_disabled++;
    FUZZ_CHECK(!irq || H.hostile || H.pushes_while_disabled > 0x4000,
               "interrupt asked for with callbacks disabled");
  }
}

static void push_held(uint32_t k, uint32_t written) {
  struct chain *c = H.held[k];
  H.held[k] = H.held[--H.nheld];
  bool was_armed = armed();
  uint32_t w = (uint32_t)RL_MIN((uint64_t)written, c->in_len);
  DEVICE->push(H.m, c->id, w);
  mirror_push(c, w);
  c->pushed = true;
  H.m_used_lin = lin_add(H.m_used_lin, c->need);
  after_push(was_armed);
}

static void op_push(struct fuzz_in *in) {
  if (H.nheld == 0) {
    return;
  }
  uint32_t k = fin_u8(in) % H.nheld;
  uint8_t mode = fin_u8(in);
  uint32_t written = mode < 128 ? UINT32_MAX : mode < 192 ? 0 : fin_u32(in);
  push_held(k, written);
}

static void op_device_run(struct fuzz_in *in) {
  uint8_t mode = fin_u8(in);
  while (!H.tainted && H.fifo_head < H.fifo_tail) {
    op_pop();
  }
  while (H.nheld > 0) {
    push_held((mode & 1) ? H.nheld - 1 : 0, (mode & 2) ? 0 : UINT32_MAX);
  }
}

/* An id for a hostile used entry: held, waiting, or made up. */
static uint32_t pick_id(struct fuzz_in *in) {
  uint8_t how = fin_u8(in);
  switch (how & 3) {
  case 0:
    if (H.nheld > 0) {
      return H.held[fin_u8(in) % H.nheld]->id;
    }
    return 0;
  case 1:
    if (H.fifo_head < H.fifo_tail) {
      return H.fifo[H.fifo_head + fin_u8(in) % (H.fifo_tail - H.fifo_head)]->id;
    }
    return H.n;
  case 2:
    return fin_u16(in) % (H.n + 2);
  default:
    return fin_u32(in);
  }
}

static uint32_t pick_len(struct fuzz_in *in, uint32_t id) {
  uint8_t how = fin_u8(in);
  uint64_t in_len = id < H.n && H.by_id[id] != NULL ? H.by_id[id]->in_len : 0;
  switch (how & 3) {
  case 0:
    return (uint32_t)in_len;
  case 1:
    return (uint32_t)(in_len + 1);
  case 2:
    return 0;
  default:
    return fin_u32(in);
  }
}

/* A packed descriptor write at `pos` leaves the model's picture intact
 * only inside what it popped and has not marked used, and only if the
 * flags (when written) cannot look available in any lap: the model reads
 * its oldest popped descriptor again once the whole ring is popped. */
static void packed_touch(uint32_t pos, bool flags_written, uint16_t flags) {
  uint32_t span = lin_dist(H.m_used_lin, H.m_avail_lin); /* 0..n */
  uint32_t from = H.m_used_lin % H.n;
  bool avail_like = ((flags & PF_AVAIL) != 0) != ((flags & PF_USED) != 0);
  if ((pos + H.n - from) % H.n >= span || (flags_written && avail_like)) {
    H.tainted = true;
  }
}

static void op_hostile(struct fuzz_in *in) {
  H.hostile = true;
  uint8_t how = fin_u8(in);
  if (!PACKED) {
    uint32_t used_bytes = 6 + 8 * H.n;
    switch (how & 3) {
    case 0: /* the used idx, some way from where the driver is */
      wr16(H.used, USED_IDX, (uint16_t)(H.last_used + (int8_t)fin_u8(in)));
      break;
    case 1: { /* an entry, somewhere ahead */
      uint32_t slot = (H.last_used + fin_u8(in)) & (H.n - 1);
      uint32_t id = pick_id(in);
      wr32(H.used, USED_ID(slot), id);
      wr32(H.used, USED_LEN(slot), pick_len(in, id));
      break;
    }
    case 2: { /* raw bytes anywhere in the used ring */
      uint32_t off = fin_u16(in) % used_bytes;
      uint32_t len = 1 + fin_u8(in) % 8;
      for (uint32_t i = 0; i < len && off + i < used_bytes; i++) {
        H.used[off + i] = fin_u8(in);
      }
      break;
    }
    default: { /* a whole completion: entry, then idx */
      uint32_t slot = H.last_used & (H.n - 1);
      uint32_t id = pick_id(in);
      wr32(H.used, USED_ID(slot), id);
      wr32(H.used, USED_LEN(slot), pick_len(in, id));
      wr16(H.used, USED_IDX, (uint16_t)(H.last_used + 1));
      break;
    }
    }
    return;
  }
  switch (how & 3) {
  case 0: { /* a used descriptor at or after the driver's next one */
    uint32_t pos = H.used_pos;
    bool wrap = H.used_wrap;
    advance(&pos, &wrap, fin_u8(in) % RL_MIN(H.n, 8u));
    uint32_t id = pick_id(in);
    uint32_t len = pick_len(in, id);
    uint8_t extra = fin_u8(in);
    uint16_t flags =
        (uint16_t)((wrap ? PF_AVAIL | PF_USED : 0) |
                   ((extra & 1) ? PF_WRITE : 0) |
                   ((extra & 2) ? PF_INDIRECT : 0) | ((extra & 4) ? 1u : 0));
    packed_touch(pos, true, flags);
    volatile uint8_t *d = pdesc(pos);
    wr16(d, PD_ID, (uint16_t)id);
    wr32(d, PD_LEN, len);
    wr16(d, PD_FLAGS, flags);
    break;
  }
  case 1: { /* one field of any descriptor */
    uint32_t pos = fin_u16(in) % H.n;
    uint8_t field = fin_u8(in) % 3;
    volatile uint8_t *d = pdesc(pos);
    if (field == 0) {
      uint16_t flags = fin_u16(in);
      packed_touch(pos, true, flags);
      wr16(d, PD_FLAGS, flags);
    } else {
      packed_touch(pos, false, 0);
    }
    if (field == 1) {
      wr16(d, PD_ID, fin_u16(in));
    } else if (field == 2) {
      wr32(d, PD_LEN, fin_u32(in));
    }
    break;
  }
  case 2: /* the device event area */
    wr16(H.dev_evt, 0, fin_u16(in));
    wr16(H.dev_evt, 2, fin_u16(in));
    break;
  default: { /* the next used position with the wrong lap's bits */
    volatile uint8_t *d = pdesc(H.used_pos);
    uint16_t f = rd16(d, PD_FLAGS);
    f = (uint16_t)(f ^ (fin_u8(in) & 1 ? PF_AVAIL : PF_USED));
    packed_touch(H.used_pos, true, f);
    wr16(d, PD_FLAGS, f);
    break;
  }
  }
}

static void op_push_raw(struct fuzz_in *in) {
  H.hostile = true;
  uint32_t id = pick_id(in);
  uint32_t len = pick_len(in, id);
  /* The model forgets a held buffer it pushes raw (packed) or keeps it
   * busy for ever (split); either way its picture ends here, except for a
   * packed push of a held id, which retires exactly that buffer. */
  bool held_id = false;
  for (uint32_t k = 0; k < H.nheld; k++) {
    if (H.held[k]->id == (id > 0xffffu ? 0xffffu : id)) {
      held_id = true;
      if (PACKED) {
        H.m_used_lin = lin_add(H.m_used_lin, H.held[k]->need);
        H.held[k]->pushed = true; /* the model wrote it used (no data) */
        H.held[k] = H.held[--H.nheld];
      }
      break;
    }
  }
  if (PACKED ? !held_id : held_id) {
    H.tainted = true;
  }
  DEVICE->push_raw(H.m, id, len);
  (void)DEVICE->should_interrupt(H.m);
}

static void op_claim_extra(struct fuzz_in *in) {
  H.hostile = true;
  if (PACKED) {
    H.tainted = true; /* used descriptors over what it has not popped */
  }
  DEVICE->claim_extra(H.m, 1 + fin_u8(in) % 4);
  (void)DEVICE->should_interrupt(H.m);
}

static void op_notify(struct fuzz_in *in) {
  uint8_t how = fin_u8(in);
  if ((how & 3) == 3 && H.cfg.event_idx) {
    DEVICE->set_notify_event(H.m, fin_u16(in));
  } else {
    DEVICE->set_notify(H.m, (how & 1) != 0);
  }
}

/* Random bytes anywhere in the ring's parts, descriptors and driver area
 * included: the driver must never read back what it wrote there. */
static void op_scribble(struct fuzz_in *in) {
  H.hostile = true;
  H.tainted = true;
  struct span p[3];
  (void)ring_parts(p);
  /* Not the packed driver event area: the model reads its flags and
   * would blame the driver for values only a scribble can write. */
  uint8_t part = fin_u8(in) % 3;
  if (PACKED && part == 1) {
    part = 2;
  }
  struct span s = p[part];
  size_t off = s.off + fin_u32(in) % s.len;
  uint32_t len = 1 + fin_u8(in) % 16;
  for (uint32_t i = 0; i < len && off + i < s.off + s.len; i++) {
    H.ring[off + i] = fin_u8(in);
  }
}

/* ---- reset ----------------------------------------------------------- */

static void detached(void *token, void *arg) {
  (void)arg;
  struct chain *c = token;
  FUZZ_CHECK(c >= pool && c < pool + pool_used,
             "detach handed back %p, not "
             "a token",
             token);
  FUZZ_CHECK(c->live && !c->detached,
             "detach handed back id %u twice or "
             "after it completed",
             c->id);
  c->detached = true;
  detach_calls++;
}

static void op_detach(void) {
  unsigned long before = detach_calls;
  BACKEND->detach(H.q, detached, NULL);
  FUZZ_CHECK(detach_calls - before == H.outstanding,
             "detach handed back %lu tokens, %u were outstanding",
             detach_calls - before, H.outstanding);
  for (uint32_t i = 0; i < pool_used; i++) {
    FUZZ_CHECK(!pool[i].live || pool[i].detached, "token %u not handed back",
               i);
    pool[i].live = false;
  }
  /* Both sides start again (§2.7, §2.8.1); the ring is zeroed. */
  clear_ids();
  H.broken = false;
  H.outstanding = 0;
  H.need_sum = 0;
  H.avail_idx = H.last_used = H.kicked_idx = H.used_seen = 0;
  H.avail_pos = H.used_pos = H.kicked_pos = 0;
  H.avail_wrap = H.used_wrap = H.kicked_wrap = true;
  H.added_since_kick = 0;
  H.cb_enabled = true;
  H.event_fresh = true;
  H.hostile = false;
  H.tainted = false;
  H.fifo_head = H.fifo_tail = 0;
  H.nheld = 0;
  check_state();
  check_padding();
  DEVICE->detach(H.m);
  model_attach(); /* checks the ring is zeroed */
}

/* ---- the run ------------------------------------------------------------ */

static uint32_t pick_size(struct fuzz_in *in) {
  uint8_t b = fin_u8(in);
  uint8_t cls = b >> 4;
  /* Mostly small rings (wrap-around in few operations); big ones cost
   * milliseconds per input in allocation and zeroing. */
  if (!PACKED) {
    if (cls < 14) {
      return 1u << (b % 8);
    }
    if (cls < 15) {
      return 1u << (8 + b % 4);
    }
    static const uint32_t odd[] = {4096, 8192, 16384, 32768, 0, 3, 48, 65535};
    return odd[b % 8];
  }
  if (cls < 14) {
    return 1 + b % 64;
  }
  if (cls < 15) {
    return 64 + fin_u16(in) % 2048;
  }
  static const uint32_t odd[] = {32768, 32767, 4096, 4097, 0, 32769, 65535, 2};
  return odd[b % 8];
}

static void run_ops(struct fuzz_in *in) {
  static const char *const names[OP_COUNT] = {
      "add",    "add",        "add",       "kick",     "pop",
      "pop",    "push",       "push",      "get_used", "get_used",
      "poll",   "dev_run",    "hostile",   "push_raw", "claim_extra",
      "notify", "disable_cb", "enable_cb", "detach",   "scribble"};
  while (!fin_empty(in)) {
    uint8_t op = fin_u8(in) % OP_COUNT;
    if (fuzz_verbose()) {
      struct vq_state s;
      BACKEND->state(H.q, &s);
      (void)fprintf(stderr, "op %-11s (in flight %u, free %u, held %u, %s%s)\n",
                    names[op], s.in_flight, s.free_descs, H.nheld,
                    H.hostile ? "hostile " : "", H.tainted ? "tainted" : "");
    }
    switch (op) {
    case OP_ADD:
    case OP_ADD2:
    case OP_ADD3:
      op_add(in);
      break;
    case OP_KICK:
      op_kick();
      break;
    case OP_POP:
    case OP_POP2:
      op_pop();
      break;
    case OP_PUSH:
    case OP_PUSH2:
      op_push(in);
      break;
    case OP_GET_USED:
    case OP_GET_USED2:
      (void)get_used();
      break;
    case OP_POLL:
      op_poll();
      break;
    case OP_DEVICE_RUN:
      op_device_run(in);
      break;
    case OP_HOSTILE:
      op_hostile(in);
      break;
    case OP_PUSH_RAW:
      op_push_raw(in);
      break;
    case OP_CLAIM_EXTRA:
      op_claim_extra(in);
      break;
    case OP_NOTIFY:
      op_notify(in);
      break;
    case OP_DISABLE_CB:
      op_disable_cb();
      break;
    case OP_ENABLE_CB:
      op_enable_cb();
      break;
    case OP_DETACH:
      if (H.detaches++ < MAX_DETACHES) {
        op_detach();
      }
      break;
    default:
      op_scribble(in);
      break;
    }
  }
}

/* After the script: an honest device finishes everything, then a reset,
 * then one request must still go round. */
static void finish(void) {
  if (!H.broken && !H.tainted) {
    struct fuzz_in none = {NULL, 0};
    op_device_run(&none);
    op_poll();
    if (!H.hostile) {
      FUZZ_CHECK(H.outstanding == 0, "%u buffers never came back",
                 H.outstanding);
    }
  }
  op_detach();
  struct chain *c = new_chain();
  if (c == NULL) {
    return;
  }
  c->nout = 1;
  c->nin = 1;
  c->seg[0] = (struct vq_seg){arena.phys, 16};
  c->seg[1] = (struct vq_seg){arena.phys + 4096, 32};
  c->out_len = 16;
  c->in_len = 32;
  c->indirect = H.cfg.indirect;
  c->need = c->indirect ? 1 : 2;
  if (c->need > H.n) {
    return;
  }
  rl_status st = BACKEND->add(H.q, c->seg, 1, c->seg + 1, 1, c);
  FUZZ_CHECK(st == RL_OK, "add after a reset returned %d", st);
  if (!PACKED) {
    c->id = rd16(H.avail, AVAIL_RING(0));
    H.avail_idx++;
  } else {
    c->id = rd16(pdesc(c->need - 1), PD_ID);
    advance(&H.avail_pos, &H.avail_wrap, c->need);
  }
  FUZZ_CHECK(c->id < H.n, "id %u", c->id);
  H.by_id[c->id] = c;
  c->live = true;
  H.outstanding++;
  H.need_sum += c->need;
  fifo_push(c);
  op_pop();
  push_held(0, 32);
  FUZZ_CHECK(get_used() == RL_OK, "a request after a reset did not complete");
  FUZZ_CHECK(H.outstanding == 0, "still outstanding");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_in in = {data, size};
  memset(&H, 0, offsetof(struct harness, by_id));
  H.fifo_head = H.fifo_tail = 0;
  H.nheld = 0;
  H.detaches = 0;
  pool_used = 0;
  uint32_t n = pick_size(&in);
  uint8_t flags = fin_u8(&in);
  static const uint32_t aligns[] = {4096, 4096, 4, 64, 65536, 0, 3, 131072};
  H.cfg = (struct vq_config){
      .size = (uint16_t)n,
      .event_idx = (flags & 1) != 0,
      .indirect = (flags & 2) != 0,
      .legacy = (flags & 4) != 0,
      .legacy_align = aligns[(flags >> 4) & 7],
      .dma = (flags & 8) == 0 ? &dma_coherent : &dma_noncoherent,
  };
  bool valid = n >= 1 && n <= MAX_QUEUE && n <= UINT16_MAX &&
               (PACKED || (n & (n - 1)) == 0);
  rl_status want = valid ? RL_OK : RL_ERR_INVALID;
  if (PACKED && !H.cfg.legacy && !H.cfg.dma->coherent) {
    want = RL_ERR_NOT_SUPPORTED; /* packed needs a coherent device */
  }
  if (H.cfg.legacy) {
    if (PACKED) {
      want = RL_ERR_NOT_SUPPORTED; /* §2.8: modern only */
    } else if (valid) {
      uint32_t al = H.cfg.legacy_align;
      if (al < 4 || (al & (al - 1)) != 0 || al > 65536) {
        want = RL_ERR_INVALID;
      }
    }
  }
  rl_status st = BACKEND->create(&H.cfg, &H.q);
  FUZZ_CHECK(st == want,
             "create(size %u, legacy %d, align %u) returned %d, expected %d",
             H.cfg.size, H.cfg.legacy, H.cfg.legacy_align, st, want);
  if (st != RL_OK) {
    FUZZ_CHECK(host_dma_live_count() == dma_base, "failed create leaked DMA");
    return 0;
  }
  H.n = H.cfg.size;
  clear_ids();
  BACKEND->addrs(H.q, &H.a);
  H.ring = virt(H.a.desc);
  H.ring_len = alloc_len(H.a.desc);
  FUZZ_CHECK(H.a.driver > H.a.desc && H.a.device > H.a.driver &&
                 H.a.device - H.a.desc < H.ring_len,
             "ring parts outside the ring allocation");
  if (!PACKED) {
    H.avail = virt(H.a.driver);
    H.used = virt(H.a.device);
  } else {
    H.drv_evt = virt(H.a.driver);
    H.dev_evt = virt(H.a.device);
  }
  H.avail_wrap = H.used_wrap = H.kicked_wrap = true;
  H.cb_enabled = true;
  H.event_fresh = true;
  model_attach();
  check_state();

  run_ops(&in);
  finish();

  check_padding();
  DEVICE->detach(H.m);
  H.m = NULL;
  BACKEND->destroy(H.q);
  H.q = NULL;
  FUZZ_CHECK(host_dma_live_count() == dma_base,
             "DMA allocations leaked: %zu, "
             "expected %zu",
             host_dma_live_count(), dma_base);
  FUZZ_CHECK(memcmp(arena.cpu, shadow, ARENA_SIZE) == 0,
             "data buffers hold bytes the device model did not write");
  return 0;
}

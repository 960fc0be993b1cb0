/* The queue backend interface (facade): what the virtio core asks of a
 * ring layout. The split ring (virtio/queue-split) implements it; the
 * packed ring (virtio/queue-packed) will. The core and the drivers never
 * see a ring's layout, only these calls.
 *
 * Backends keep their own record of every descriptor they post and never
 * read descriptor contents back from shared memory. Every used entry the
 * device writes is checked; a bad one marks the queue broken and the call
 * returns RL_ERR_BROKEN. */
#ifndef VIRTIO_CORE_VQ_BACKEND_H
#define VIRTIO_CORE_VQ_BACKEND_H

#include <arch/dma.h>
#include <ringlight/config.h>
#include <ringlight/status.h>
#include <ringlight/types.h>

/* Cold code of the backends and the core (set-up, teardown, errors, the
 * rare paths) in an -O2 build: clang's minsize makes it as small as -Oz
 * would; GCC has no minsize, and its `cold` optimizes for size. Never on
 * the request path (add_one, kick_prepare, get_used's inline path). */
#if defined(__clang__)
#define VQ_COLD __attribute__((minsize))
#else
#define VQ_COLD __attribute__((cold))
#endif

/* One segment of a buffer chain, by physical address. */
struct vq_seg {
  paddr_t addr;
  uint32_t len;
};

struct vq_config {
  uint16_t size;         /* entries: a power of two for split (1..32768) */
  bool event_idx;        /* VIRTIO_F_EVENT_IDX negotiated */
  bool indirect;         /* VIRTIO_F_INDIRECT_DESC negotiated */
  bool legacy;           /* legacy transport: §2.7.2 contiguous layout */
  uint32_t legacy_align; /* QueueAlign for the legacy layout (4096) */
  /* The device's DMA domain (struct virtio_device's `dma`), never NULL:
   * every sync of the queue's memory goes through it. */
  const struct arch_dma_dev *dma;
};

/* A negotiated feature as a backend sees it: without its Kconfig switch
 * (virtio/Kconfig) the core never offers the feature, these are constant
 * false and the code that serves it is not in the image. */
#ifdef CONFIG_VIRTIO_EVENT_IDX
#define VQ_EVENT_IDX(cfg) ((cfg)->event_idx)
#else
#define VQ_EVENT_IDX(cfg) ((void)(cfg), false)
#endif
#ifdef CONFIG_VIRTIO_INDIRECT_DESC
#define VQ_INDIRECT(cfg) ((cfg)->indirect)
#else
#define VQ_INDIRECT(cfg) ((void)(cfg), false)
#endif

/* ops->detach is needed only where a device or one of its queues is reset
 * with requests outstanding: recovery (CONFIG_VIRTIO_RECOVERY) or a
 * per-queue reset (CONFIG_VIRTIO_RING_RESET). Without both a backend
 * leaves it NULL and has no code for it. */
#if defined(CONFIG_VIRTIO_RECOVERY) || defined(CONFIG_VIRTIO_RING_RESET)
#define VQ_DETACH 1
#else
#define VQ_DETACH 0
#endif

/* ops->disable_cb and enable_cb are needed only with device interrupts
 * (VIRTIO_IRQS in virtio.h: CONFIG_VIRTIO_INTERRUPTS, and host builds);
 * a polled build arms none, and a backend leaves them NULL. */
#if defined(CONFIG_VIRTIO_INTERRUPTS) || !defined(RINGLIGHT_KERNEL)
#define VQ_CALLBACKS 1
#else
#define VQ_CALLBACKS 0
#endif

/* Where the device finds the rings (virtio 1.2 §4.2.2 / §4.2.4). */
struct vq_addrs {
  paddr_t desc;   /* descriptor area (legacy: start of the whole queue) */
  paddr_t driver; /* driver area: split avail ring / packed driver event */
  paddr_t device; /* device area: split used ring / packed device event */
};

/* Driver's and device's view of the indices, for diagnostics and tests. */
struct vq_state {
  uint32_t driver_idx; /* split: shadow avail idx; packed: next avail */
  uint32_t used_seen;  /* split: last used idx consumed; packed: next used */
  uint32_t device_idx; /* split: used->idx in memory now */
  uint32_t in_flight;  /* chains posted and not yet used */
  uint32_t free_descs; /* descriptors free */
  bool wrap_counters;  /* the two below mean something (packed) */
  bool driver_wrap;
  bool used_wrap;
};

struct vq_backend;

/* What get_used hands back: 16 bytes, so two registers on every ABI here
 * (x86-64, AAPCS64, RISC-V LP64) and no stores through pointers. A token
 * is never NULL (add refuses one), so a NULL token says nothing was taken
 * and `len` then holds why. */
struct vq_used {
  void *token; /* the caller's token, or NULL */
  /* Token: the bytes the device wrote (0..UINT32_MAX). NULL: the status,
   * RL_ERR_NOT_FOUND or RL_ERR_BROKEN. */
  int64_t len;
};

/* A buffer slot's state word (a split descriptor, a packed buffer id):
 * 64 bits, read whole or by halves. `hi` 0: an outstanding buffer of one
 * ring descriptor, `lo` its in_len (the most a used len may say), so one
 * signed compare, written > all, refuses a slot not outstanding, a chain
 * and a length too long at once (the backend's out of line path tells
 * them apart). `hi` VQ_SLOT_LINK: `lo` is the next slot's VQ_LINK() (a
 * free list, or a chain's own links); VQ_SLOT_CHAIN: the same at the head
 * of an outstanding chain of several. */
union vq_word {
  int64_t all;
  struct {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t lo;
    int32_t hi;
#else
    int32_t hi;
    uint32_t lo;
#endif
  } half;
};

#define VQ_SLOT_LINK (-1)
#define VQ_SLOT_CHAIN (-2)

/* Links are byte offsets: a slot and a ring descriptor are both 16 bytes,
 * so the hot paths never scale an index. */
#define VQ_LINK_SHIFT 4
#define VQ_LINK(i) ((uint32_t)(i) << VQ_LINK_SHIFT)

/* `token` means something only while the slot is outstanding. */
struct vq_slot {
  void *token;
  union vq_word word;
};
_Static_assert(sizeof(struct vq_slot) == 1u << VQ_LINK_SHIFT, "VQ_LINK");

/* A linked slot's next slot (an index), and linking it there. */
static inline uint32_t vq_slot_next(const struct vq_slot *s) {
  return s->word.half.lo >> VQ_LINK_SHIFT;
}

static inline void vq_slot_set_next(struct vq_slot *s, uint32_t next) {
  s->word.half.lo = VQ_LINK(next);
  s->word.half.hi = VQ_SLOT_LINK;
}

/* The backends' hot paths (add_one, kick_prepare, get_used's inline
 * path) stay straight-line: rare cases leave through a branch marked
 * unlikely, to an out of line function. */
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* The inline get_used's take of one used buffer (both rings): slot `id`
 * of `slots` (`size` of them) when it is an outstanding buffer of one
 * descriptor whose length allows `written` (one signed compare, see
 * union vq_word), its token to *token and the slot back on the free list
 * headed by *free; false for anything else (an id out of range, a chain,
 * lying), which the backend's out of line path tells apart. */
static inline __attribute__((always_inline)) bool
vq_slot_take_one(struct vq_slot *slots, uint32_t size, union vq_word *free,
                 uint32_t id, uint32_t written, void **token) {
  if (unlikely(id >= size)) {
    return false;
  }
  uint32_t off = VQ_LINK(id);
  struct vq_slot *s = (struct vq_slot *)((uint8_t *)slots + off);
  if (unlikely((int64_t)written > s->word.all)) {
    return false;
  }
  *token = s->token;
  s->word = *free;
  free->half.lo = off;
  return true;
}

/* A vq_used that took nothing: `st` says why. */
static inline struct vq_used vq_used_status(int64_t st) {
  return (struct vq_used){NULL, st};
}

/* A get_used inline path's answer when its out of line twin must take
 * over (never handed to a caller): the entry point tail-calls the twin.
 * clang makes no tail call of a function returning a struct unless told
 * (musttail). */
#define VQ_USED_SLOW INT64_MIN
#if defined(__has_attribute)
#if __has_attribute(musttail)
#define VQ_TAIL_CALL __attribute__((musttail))
#endif
#endif
#ifndef VQ_TAIL_CALL
#define VQ_TAIL_CALL
#endif

/* Every backend's DMA memory: `ring_bytes` of ring, and an indirect table
 * pool of `indirect_bytes` when that is not 0. On failure nothing stays
 * allocated. */
static inline rl_status vq_alloc_rings(size_t ring_bytes, size_t indirect_bytes,
                                       struct arch_dma_buf *ring,
                                       struct arch_dma_buf *indirect) {
  rl_status st =
      arch_dma_alloc((ring_bytes + RL_PAGE_SIZE - 1) / RL_PAGE_SIZE, ring);
  if (st == RL_OK && indirect_bytes != 0) {
    st = arch_dma_alloc((indirect_bytes + RL_PAGE_SIZE - 1) / RL_PAGE_SIZE,
                        indirect);
    if (st != RL_OK) {
      arch_dma_free(ring);
    }
  }
  return st;
}

/* The argument checks every backend's chain add starts with (a
 * one-segment add checks inline): a token, at least one segment, counts
 * within `max`, writable bytes that fit the 32-bit used length (their sum
 * in *in_len). */
static inline rl_status vq_check_chain(const struct vq_seg *in, unsigned nout,
                                       unsigned nin, const void *token,
                                       unsigned max, uint32_t *in_len) {
  if (token == NULL || nout + nin == 0 || nout > max || nin > max) {
    return RL_ERR_INVALID;
  }
  uint64_t sum = 0;
  for (unsigned i = 0; i < nin; i++) {
    sum += in[i].len;
  }
  if (sum > UINT32_MAX) {
    return RL_ERR_INVALID;
  }
  *in_len = (uint32_t)sum;
  return RL_OK;
}

struct vq_ops {
  const char *name; /* "split" / "packed" */
  /* Allocates ring memory (DMA) and the driver's own records. */
  rl_status (*create)(const struct vq_config *cfg, struct vq_backend **out);
  void (*destroy)(struct vq_backend *q);
  void (*addrs)(const struct vq_backend *q, struct vq_addrs *out);
  /* Posts device-readable `out` segments then device-writable `in` ones
   * with a caller token (not NULL). RL_ERR_NO_SPACE when full. Makes the
   * chain available to the device; does not notify. */
  rl_status (*add)(struct vq_backend *q, const struct vq_seg *out,
                   unsigned nout, const struct vq_seg *in, unsigned nin,
                   void *token);
  /* add of one segment (device-writable when `write`), the common case
   * (ringtest's add_inbuf): no segment array to check or read. Same
   * contract; add of one segment comes here. */
  rl_status (*add_one)(struct vq_backend *q, paddr_t addr, uint32_t len,
                       bool write, void *token);
  /* After adds: whether the device wants a notification (event
   * suppression, §2.7.10 / §2.8.10). Resets the "added since" count. */
  bool (*kick_prepare)(struct vq_backend *q);
  /* Takes one used buffer: its token and written length (struct
   * vq_used). No token and RL_ERR_NOT_FOUND when none is ready;
   * RL_ERR_BROKEN when the device wrote nonsense. Leaves the used event
   * (EVENT_IDX) where enable_cb put it: callers drain, then enable_cb
   * (virtqueue_poll). */
  struct vq_used (*get_used)(struct vq_backend *q);
  /* Interrupt suppression toward the device (§2.7.7). enable returns true
   * when used buffers arrived meanwhile (caller drains again). */
  void (*disable_cb)(struct vq_backend *q);
  bool (*enable_cb)(struct vq_backend *q);
  void (*state)(const struct vq_backend *q, struct vq_state *out);
  bool (*broken)(const struct vq_backend *q);
  /* Hands every outstanding token back (after a device reset), so
   * callers can fail them; leaves the ring empty and usable. NULL when
   * VQ_DETACH is 0 (nothing resets a device or a queue). */
  void (*detach)(struct vq_backend *q, void (*fn)(void *token, void *arg),
                 void *arg);
};

/* ops->get_used with the token and length through pointers, written
 * only on RL_OK. */
static inline rl_status vq_get_used(const struct vq_ops *ops,
                                    struct vq_backend *q, void **token,
                                    uint32_t *len) {
  struct vq_used u = ops->get_used(q);
  if (u.token == NULL) {
    return (rl_status)u.len;
  }
  *token = u.token;
  *len = (uint32_t)u.len;
  return RL_OK;
}

/* What the core needs to know to choose a backend for a device, from the
 * backend itself (vq_split_desc, vq_packed_desc): the core walks the
 * Kconfig-ordered table of these once, at negotiation. */
struct vq_backend_desc {
  const char *name;         /* "split" */
  const char *kconfig_name; /* "SPLIT": CONFIG_VIRTIO_QUEUE_..._<this> */
  int feature_bit;          /* the transport feature it needs, or -1 */
  const char *feature_name; /* "RING_PACKED" */
  bool needs_modern;        /* not on a legacy interface */
  bool pow2_sizes;          /* queue sizes must be powers of two */
  uint32_t max_size;        /* largest queue size */
  /* Only on a dma-coherent device: its layout shares cache lines between
   * driver- and device-written data, which no cache maintenance can keep
   * apart (packed: four descriptors per 64-byte line). */
  bool needs_coherent;
  const struct vq_ops *ops;
};

#endif

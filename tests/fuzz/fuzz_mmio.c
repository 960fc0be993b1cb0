/* The virtio core's MMIO transport (virtio/core/virtio.c, virtqueue.c)
 * against a hostile register file (virtio 1.2 §4.2.2, legacy §4.2.4).
 *
 * The register window is a host MMIO window (arch_host.h's
 * host_mmio_register), so each register access of the core lands in
 * dev_read/dev_write below: a device model whose identity, feature
 * words, QueueNumMax values and misbehaviour (a status that never reads 0
 * after a reset, FEATURES_OK that does not stick, DEVICE_NEEDS_RESET, a
 * ConfigGeneration that keeps changing, a QueueReady that stays set) come
 * from the input, and whose every read the input may also override with
 * any value.
 *
 * The model checks each access the core makes against the spec: inside the
 * register window (the rest of the address space is registered as two
 * windows that report any access), 32-bit and aligned below the
 * configuration space, no reads of write-only registers or writes of
 * read-only ones, no legacy registers on a modern device or the reverse,
 * accepted features a subset of what was offered (VERSION_1 on modern
 * devices), QueueNum within the QueueNumMax read, rings given to the
 * device that are live DMA memory of the right size before QueueReady,
 * notifications only for live queues after DRIVER_OK, interrupt
 * acknowledgements only of bits read. The harness checks each call's
 * result against what the device did: timeouts only when the status never
 * cleared (and in virtual time, so nothing sleeps), BUSY only when the
 * generation kept changing, queue sizes within every limit, every
 * outstanding request failed exactly once by a reset, and no DMA memory
 * left after the last reset.
 *
 * Input: a 24-byte header (device, policies), then `ops` operation bytes
 * with arguments, then the override stream the register reads consume. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arch/dma.h>
#include <arch/irq.h>
#include <arch/time.h>
#include <virtio/core/virtio.h>
#include <virtio/core/virtqueue_impl.h>
#include <virtio/transport-mmio/mmio.h>

#include "arch_host.h"
#include "fuzz_util.h"

/* Register offsets (§4.2.2), written from the spec here rather than taken
 * from the core's virtio_mmio.h. */
enum {
  R_MAGIC = 0x000,
  R_VERSION = 0x004,
  R_DEVICE_ID = 0x008,
  R_VENDOR_ID = 0x00c,
  R_DEV_FEATURES = 0x010,
  R_DEV_FEATURES_SEL = 0x014,
  R_DRV_FEATURES = 0x020,
  R_DRV_FEATURES_SEL = 0x024,
  R_GUEST_PAGE_SIZE = 0x028, /* legacy */
  R_QUEUE_SEL = 0x030,
  R_QUEUE_NUM_MAX = 0x034,
  R_QUEUE_NUM = 0x038,
  R_QUEUE_ALIGN = 0x03c, /* legacy */
  R_QUEUE_PFN = 0x040,   /* legacy */
  R_QUEUE_READY = 0x044,
  R_QUEUE_NOTIFY = 0x050,
  R_INT_STATUS = 0x060,
  R_INT_ACK = 0x064,
  R_STATUS = 0x070,
  R_DESC_LO = 0x080,
  R_DESC_HI = 0x084,
  R_DRIVER_LO = 0x090,
  R_DRIVER_HI = 0x094,
  R_DEVICE_LO = 0x0a0,
  R_DEVICE_HI = 0x0a4,
  R_GENERATION = 0x0fc,
  R_CONFIG = 0x100,
};

#define MAGIC 0x74726976u
#define S_ACK 1u
#define S_DRIVER 2u
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u
#define S_NEEDS_RESET 64u
#define S_FAILED 128u
#define NQ 8 /* queues the model has */
#define MAX_WINDOW 0x400u
#define MAX_REQS 512
/* Register reads in one call of the core: a reset polls the status every
 * 10 us for 100 ms (10^4 reads); more is a wait without a deadline. */
#define READ_LIMIT 100000ul
#define DATA_PAGES 2u
#define STICKY_FOREVER UINT32_MAX

enum gen_mode { GEN_STABLE, GEN_ALWAYS, GEN_FEW, GEN_ON_CONFIG };

struct mq {
  uint32_t num_max;      /* honest QueueNumMax */
  uint32_t num_max_read; /* what the last read returned */
  bool num_max_seen;
  uint32_t num;
  bool num_written;
  uint32_t ready;
  uint32_t pfn;
  uint32_t align;
  uint32_t addr[6];      /* desc lo/hi, driver lo/hi, device lo/hi */
  unsigned addr_written; /* bit per addr[] word */
};

struct dev {
  uint8_t *window;
  size_t size;
  uint32_t version, device_id;
  uint32_t features[2];
  uint32_t offered_read[2]; /* what the driver last read, per word */
  bool offered_seen[2];
  uint32_t status; /* as the driver last wrote it */
  uint32_t dev_sel, drv_sel, queue_sel;
  uint32_t drv_features[2];
  bool drv_written[2];
  uint32_t guest_page;
  struct mq q[NQ];
  uint32_t isr;
  uint32_t isr_read; /* bits the driver read, not yet acknowledged */
  uint32_t generation;
  unsigned gen_reads;
  uint8_t config[MAX_WINDOW - R_CONFIG];
  /* Misbehaviour. */
  /* After a reset, the status reads non-zero this many times (a slow
   * device); STICKY_FOREVER: never 0 again (a hung one). */
  uint32_t sticky_per_reset, sticky_left;
  unsigned hung_resets; /* resets a hung device ignored (at most one) */
  bool reject_fok;      /* FEATURES_OK does not stick */
  bool needs_reset;     /* DEVICE_NEEDS_RESET set in status */
  bool ready_stuck;     /* QueueReady / QueuePFN read non-zero */
  enum gen_mode gen;
  struct fuzz_in ovr; /* per-read overrides */
  unsigned long overrides;
  unsigned long reads, writes, notifies;
  unsigned long call_reads; /* since the harness's current operation began */
  bool failed_written;
  bool fok_written;
};

static struct dev D;
static struct virtio_mmio_device vmm; /* vmm.dev: the device under test */
static struct arch_dma_buf data;
static size_t dma_base;

/* Requests handed to the core and their completions. */
struct req {
  struct virtqueue *vq;
  bool outstanding;
  unsigned completions;
  uint32_t len;
  uint32_t in_len;
};
static struct req reqs[MAX_REQS];
static unsigned nreqs;
static volatile bool wait_flag;
static bool strict_known; /* FUZZ_STRICT=1: also the known issues */
/* The last negotiation succeeded and nothing failed the device since: the
 * core's API allows queue setup and DRIVER_OK only then. */
static bool negotiated;
static struct req *wait_for;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  host_time_virtual(true); /* deadlines pass without sleeping */
  /* The known issues (tests/fuzz/known/) are fixed: checked by default;
   * FUZZ_STRICT=0 tolerates them again. */
  const char *s = getenv("FUZZ_STRICT");
  strict_known = s == NULL || s[0] != '0';
  if (arch_dma_alloc(DATA_PAGES, &data) != RL_OK) {
    abort();
  }
  dma_base = host_dma_live_count();
  return 0;
}

/* ---- the register file ----------------------------------------------- */

static bool modern(void) { return D.version == 2; }

/* A hostile value instead of the honest one, when the stream says so. */
static uint32_t maybe_override(uint32_t honest) {
  if (fin_empty(&D.ovr)) {
    return honest;
  }
  uint8_t b = fin_u8(&D.ovr);
  if (b < 0xe0) {
    return honest;
  }
  D.overrides++;
  switch (b & 3) {
  case 0:
    return fin_u32(&D.ovr);
  case 1:
    return 0;
  case 2:
    return ~honest;
  default:
    return honest ^ (1u << (fin_u8(&D.ovr) & 31));
  }
}

static bool sticky_forever(void) {
  return D.sticky_per_reset == STICKY_FOREVER;
}

static void device_reset(void) {
  D.status = 0;
  /* One hung reset per input is enough (each costs 10^4 polls): after it
   * the device comes back. */
  if (sticky_forever() && D.hung_resets++ > 0) {
    D.sticky_per_reset = 0;
  }
  D.sticky_left = D.sticky_per_reset;
  D.dev_sel = D.drv_sel = D.queue_sel = 0;
  D.drv_features[0] = D.drv_features[1] = 0;
  D.drv_written[0] = D.drv_written[1] = false;
  D.offered_seen[0] = D.offered_seen[1] = false;
  D.isr = D.isr_read = 0;
  D.fok_written = false;
  for (unsigned i = 0; i < NQ; i++) {
    struct mq *q = &D.q[i];
    uint32_t max = q->num_max;
    memset(q, 0, sizeof(*q));
    q->num_max = max;
  }
}

static uint32_t status_read(void) {
  uint32_t s = D.status;
  if (D.reject_fok) {
    s &= ~S_FEATURES_OK;
  }
  if (D.needs_reset && s != 0) {
    s |= S_NEEDS_RESET;
  }
  if (s == 0 && D.sticky_left > 0) {
    if (!sticky_forever()) {
      D.sticky_left--;
    }
    s = S_ACK; /* does not read back 0 yet */
  }
  return s;
}

static uint32_t reg_read(uint32_t off) {
  struct mq *q = D.queue_sel < NQ ? &D.q[D.queue_sel] : NULL;
  switch (off) {
  case R_MAGIC:
    return MAGIC;
  case R_VERSION:
    return D.version;
  case R_DEVICE_ID:
    return D.device_id;
  case R_VENDOR_ID:
    return 0x554d4551u; /* "QEMU" */
  case R_DEV_FEATURES:
    return D.dev_sel < 2 ? D.features[D.dev_sel] : 0;
  case R_QUEUE_NUM_MAX:
    return q != NULL ? q->num_max : 0;
  case R_QUEUE_READY:
    FUZZ_CHECK(modern(), "QueueReady read on a legacy device");
    return q != NULL ? (D.ready_stuck ? 1 : q->ready) : 0;
  case R_QUEUE_PFN:
    FUZZ_CHECK(!modern(), "QueuePFN read on a modern device");
    return q != NULL ? (D.ready_stuck ? 1 : q->pfn) : 0;
  case R_INT_STATUS:
    return D.isr;
  case R_STATUS:
    return status_read();
  case R_GENERATION:
    FUZZ_CHECK(modern(), "ConfigGeneration read on a legacy device");
    D.gen_reads++;
    if (D.gen == GEN_ALWAYS || (D.gen == GEN_FEW && D.gen_reads <= 3)) {
      D.generation++;
    }
    return D.generation;
  default:
    FUZZ_CHECK(false,
               "read of register %#x, which is write-only or "
               "reserved",
               off);
  }
  return 0;
}

static void check_ring(const char *what, uint64_t pa, uint64_t len,
                       uint64_t align) {
  void *a = NULL;
  FUZZ_CHECK(pa % align == 0, "%s at %#llx not %llu-aligned", what,
             (unsigned long long)pa, (unsigned long long)align);
  FUZZ_CHECK(host_dma_device_ptr(pa, len, &a) == RL_OK,
             "%s at %#llx (%llu bytes) is not DMA memory given to the device",
             what, (unsigned long long)pa, (unsigned long long)len);
}

static uint64_t qaddr(const struct mq *q, unsigned i) {
  return (uint64_t)q->addr[(size_t)2 * i + 1] << 32 | q->addr[(size_t)2 * i];
}

/* §4.2.3.2: size and addresses first, then QueueReady = 1. */
static void queue_enable(struct mq *q) {
  FUZZ_CHECK(q->num_written && q->num != 0 && q->addr_written == 0x3f,
             "QueueReady before QueueNum and all ring addresses");
  bool packed = (D.drv_features[1] & (1u << (34 - 32))) != 0;
  uint64_t n = q->num;
  if (packed) {
    check_ring("packed descriptor ring", qaddr(q, 0), 16 * n, 16);
    check_ring("driver event area", qaddr(q, 1), 4, 4);
    check_ring("device event area", qaddr(q, 2), 4, 4);
  } else {
    FUZZ_CHECK((n & (n - 1)) == 0, "split queue size %llu",
               (unsigned long long)n);
    check_ring("descriptor table", qaddr(q, 0), 16 * n, 16);
    check_ring("available ring", qaddr(q, 1), 6 + 2 * n, 2);
    check_ring("used ring", qaddr(q, 2), 6 + 8 * n, 4);
  }
}

static void reg_write(uint32_t off, uint32_t v) {
  struct mq *q = D.queue_sel < NQ ? &D.q[D.queue_sel] : NULL;
  switch (off) {
  case R_DEV_FEATURES_SEL:
    D.dev_sel = v;
    return;
  case R_DRV_FEATURES_SEL:
    D.drv_sel = v;
    return;
  case R_DRV_FEATURES:
    if (D.drv_sel < 2) {
      /* §2.2.1: only features the device offered (as the driver read
       * them). */
      uint32_t offered =
          D.offered_seen[D.drv_sel] ? D.offered_read[D.drv_sel] : 0;
      FUZZ_CHECK((v & ~offered) == 0,
                 "driver accepts features %#x of word "
                 "%u, offered %#x",
                 v, D.drv_sel, offered);
      D.drv_features[D.drv_sel] = v;
      D.drv_written[D.drv_sel] = true;
    } else {
      FUZZ_CHECK(v == 0, "features %#x in word %u", v, D.drv_sel);
    }
    return;
  case R_GUEST_PAGE_SIZE:
    FUZZ_CHECK(!modern(), "GuestPageSize written on a modern device");
    D.guest_page = v;
    return;
  case R_QUEUE_SEL:
    D.queue_sel = v;
    return;
  case R_QUEUE_NUM:
    FUZZ_CHECK(q != NULL, "QueueNum for queue %u, which the device lacks",
               D.queue_sel);
    FUZZ_CHECK(q->num_max_seen && v != 0 && v <= q->num_max_read,
               "QueueNum %u, QueueNumMax read %u", v, q->num_max_read);
    q->num = v;
    q->num_written = true;
    return;
  case R_QUEUE_ALIGN:
    FUZZ_CHECK(!modern() && q != NULL, "QueueAlign on a modern device");
    q->align = v;
    return;
  case R_QUEUE_PFN:
    FUZZ_CHECK(!modern() && q != NULL, "QueuePFN on a modern device");
    if (v != 0) {
      FUZZ_CHECK(q->num_written && D.guest_page != 0 && q->align != 0,
                 "QueuePFN before QueueNum, QueueAlign and GuestPageSize");
    }
    q->pfn = v;
    return;
  case R_QUEUE_READY:
    FUZZ_CHECK(modern() && q != NULL, "QueueReady on a legacy device");
    if (v == 1) {
      queue_enable(q);
    }
    q->ready = v;
    return;
  case R_QUEUE_NOTIFY:
    FUZZ_CHECK(v < NQ && (modern() ? D.q[v].ready == 1 : D.q[v].pfn != 0),
               "notification for queue %u, which is not live", v);
    FUZZ_CHECK((D.status & S_DRIVER_OK) != 0,
               "notification before DRIVER_OK (§3.1.1)");
    D.notifies++;
    return;
  case R_INT_ACK:
    FUZZ_CHECK((v & ~D.isr_read) == 0, "acknowledged %#x, read %#x", v,
               D.isr_read);
    D.isr &= ~v;
    D.isr_read &= ~v;
    return;
  case R_STATUS:
    if (v == 0) {
      device_reset();
      return;
    }
    if (v & S_FAILED) {
      D.failed_written = true;
    }
    if (v & S_FEATURES_OK) {
      D.fok_written = true;
    }
    D.status = v;
    return;
  case R_DESC_LO:
  case R_DESC_HI:
  case R_DRIVER_LO:
  case R_DRIVER_HI:
  case R_DEVICE_LO:
  case R_DEVICE_HI: {
    FUZZ_CHECK(modern() && q != NULL, "queue address on a legacy device");
    unsigned i = (off - R_DESC_LO) / 0x10 * 2 + ((off & 4) ? 1 : 0);
    q->addr[i] = v;
    q->addr_written |= 1u << i;
    return;
  }
  default:
    FUZZ_CHECK(false,
               "write of %#x to register %#x, which is read-only or "
               "reserved",
               v, off);
  }
}

/* The register window: its register at `off` (the host MMIO layer has
 * checked that the access lies inside). */
static uint32_t window_off(size_t offset, unsigned width) {
  uint32_t off = (uint32_t)offset;
  FUZZ_CHECK(off % width == 0, "unaligned %u-byte access at %#x", width, off);
  FUZZ_CHECK(off >= R_CONFIG || width == 4,
             "%u-byte access to register %#x (§4.2.2: 32-bit only)", width,
             off);
  return off;
}

/* Everything around the register window is registered as two more windows
 * (below and above it) that only report: the core touches nothing but its
 * slot's registers through arch_mmio_*. `ctx` is the window's base. */
static void stray(const void *ctx, size_t offset, unsigned width) {
  uintptr_t a = (uintptr_t)ctx + offset, base = (uintptr_t)D.window;
  FUZZ_CHECK(false,
             "MMIO access at window offset %#llx (%u bytes) outside the "
             "%zu-byte register window",
             (unsigned long long)(a - base), width, D.size);
}

static uint32_t stray_read(void *ctx, size_t offset, unsigned width) {
  stray(ctx, offset, width);
  return 0;
}

static void stray_write(void *ctx, size_t offset, unsigned width,
                        uint32_t value) {
  (void)value;
  stray(ctx, offset, width);
}

static uint32_t dev_read(void *ctx, size_t offset, unsigned width) {
  (void)ctx;
  uint32_t off = window_off(offset, width);
  D.reads++;
  FUZZ_CHECK(++D.call_reads < READ_LIMIT,
             "more than %lu register reads in "
             "one call: a wait without a deadline?",
             READ_LIMIT);
  uint32_t v;
  if (off >= R_CONFIG) {
    uint32_t c = off - R_CONFIG;
    v = 0;
    for (unsigned i = 0; i < width; i++) {
      v |= (uint32_t)D.config[c + i] << (8 * i);
    }
    if (D.gen == GEN_ON_CONFIG) {
      D.generation++; /* the device changes its configuration meanwhile */
    }
    v = maybe_override(v);
    return width == 4 ? v : v & ((1u << (8 * width)) - 1);
  }
  v = maybe_override(reg_read(off));
  if (off == R_DEV_FEATURES && D.dev_sel < 2) {
    D.offered_read[D.dev_sel] = v;
    D.offered_seen[D.dev_sel] = true;
  } else if (off == R_QUEUE_NUM_MAX && D.queue_sel < NQ) {
    D.q[D.queue_sel].num_max_read = v;
    D.q[D.queue_sel].num_max_seen = true;
  } else if (off == R_INT_STATUS) {
    D.isr_read |= v;
  }
  return v;
}

static void dev_write(void *ctx, size_t offset, unsigned width,
                      uint32_t value) {
  (void)ctx;
  uint32_t off = window_off(offset, width);
  D.writes++;
  if (off >= R_CONFIG) {
    uint32_t c = off - R_CONFIG;
    for (unsigned i = 0; i < width; i++) {
      D.config[c + i] = (uint8_t)(value >> (8 * i));
    }
    return;
  }
  reg_write(off, value);
}

/* ---- requests ------------------------------------------------------- */

static void on_done(struct virtqueue *vq, void *token, uint32_t len) {
  struct req *r = token;
  FUZZ_CHECK(r >= reqs && r < reqs + nreqs, "done with token %p", token);
  FUZZ_CHECK(r->vq == vq, "done on the wrong queue");
  FUZZ_CHECK(r->outstanding, "request completed twice");
  FUZZ_CHECK(len == UINT32_MAX || len <= r->in_len,
             "done with %u bytes of %u writable", len, r->in_len);
  r->outstanding = false;
  r->completions++;
  r->len = len;
  if (r == wait_for) {
    wait_flag = true;
  }
}

static struct virtqueue *queue_at(uint8_t b) {
  struct virtqueue *vq = vmm.dev.queues[b % VIRTIO_MAX_QUEUES];
  return vq != NULL && vq->backend != NULL ? vq : NULL;
}

static void op_add(struct fuzz_in *in) {
  struct virtqueue *vq = queue_at(fin_u8(in));
  uint8_t shape = fin_u8(in);
  if (vq == NULL || nreqs >= MAX_REQS) {
    return;
  }
  struct vq_seg seg[5];
  unsigned nout = 1 + (shape & 1), nin = (shape >> 1) & 3;
  uint32_t in_len = 0;
  for (unsigned i = 0; i < nout + nin; i++) {
    uint32_t off = fin_u16(in) % (uint32_t)data.size;
    uint32_t len = RL_MIN((uint32_t)fin_u8(in), (uint32_t)data.size - off);
    seg[i] = (struct vq_seg){data.phys + off, len};
    if (i >= nout) {
      in_len += len;
    }
  }
  struct req *r = &reqs[nreqs];
  *r = (struct req){vq, false, 0, 0, in_len};
  bool was_broken = vq->broken;
  rl_status st = virtqueue_add(vq, seg, nout, seg + nout, nin, r);
  FUZZ_CHECK(st == RL_OK || st == RL_ERR_NO_SPACE || st == RL_ERR_BROKEN ||
                 st == RL_ERR_INVALID,
             "virtqueue_add returned %d", st);
  FUZZ_CHECK(!was_broken || st == RL_ERR_BROKEN, "add on a broken queue: %d",
             st);
  if (st != RL_OK) {
    return;
  }
  r->outstanding = true;
  nreqs++;
  if ((shape & 8) && (D.status & S_DRIVER_OK) != 0 && !vmm.dev.failed) {
    unsigned long dev_before = D.notifies, vq_before = vq->notifications;
    virtqueue_kick(vq);
    FUZZ_CHECK(D.notifies - dev_before == vq->notifications - vq_before &&
                   D.notifies - dev_before <= 1,
               "%lu notifications written, %lu counted",
               D.notifies - dev_before, vq->notifications - vq_before);
  }
}

/* Used entries a device never wrote, at the addresses the device was
 * given (the core must break the queue, not trust them). */
static void op_corrupt(struct fuzz_in *in) {
  uint8_t qi = fin_u8(in) % NQ;
  uint32_t off = fin_u16(in);
  uint8_t len = fin_u8(in) % 8;
  struct mq *q = &D.q[qi];
  if (!modern() || q->ready != 1) {
    return;
  }
  bool packed = (D.drv_features[1] & (1u << (34 - 32))) != 0;
  uint64_t pa = packed ? qaddr(q, 0) : qaddr(q, 2);
  uint64_t span = packed ? 16ull * q->num : 6 + 8ull * q->num;
  void *v = NULL; /* the device writes its own view (host_dma_device_ptr) */
  if (host_dma_device_ptr(pa, 1, &v) != RL_OK) {
    return;
  }
  for (uint8_t i = 0; i < len; i++) {
    ((uint8_t *)v)[(off + i) % span] = fin_u8(in);
  }
}

/* ---- checks around the core's calls ---------------------------------- */

/* The reset wait polls the status every 10 us of (virtual) time, and each
 * idle scans the host's 1024 interrupt lines for pending ones: 10^7 steps
 * for a status that never clears. Nothing is raised meanwhile, so the
 * resets run with local interrupts masked, which skips the scan. */
static unsigned long quiet_begin(void) { return arch_irq_save(); }
static void quiet_end(unsigned long state) { arch_irq_restore(state); }

static bool valid_status(rl_status st) {
  return st <= RL_OK && st >= RL_ERR_NO_SPACE;
}

static void op_negotiate(struct fuzz_in *in) {
  uint64_t wanted = fin_u32(in);
  for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
    if (queue_at((uint8_t)i) != NULL) {
      /* Not how the API is used: negotiation resets the device, which
       * forgets its queues, but the core keeps them (see README). */
      return;
    }
  }
  unsigned long ovr = D.overrides;
  D.failed_written = false;
  unsigned long irq = quiet_begin();
  rl_status st = virtio_negotiate(&vmm.dev, wanted);
  quiet_end(irq);
  negotiated = st == RL_OK;
  FUZZ_CHECK(st == RL_OK || st == RL_ERR_TIMEOUT || st == RL_ERR_NOT_SUPPORTED,
             "virtio_negotiate returned %d", st);
  bool honest = D.overrides == ovr;
  if (st == RL_ERR_TIMEOUT) {
    FUZZ_CHECK(!honest || sticky_forever(), "reset timed out, but the status "
                                            "read 0");
    return;
  }
  FUZZ_CHECK(!honest || !sticky_forever(), "negotiated though the status "
                                           "never read 0 after the reset");
  if (st != RL_OK) {
    FUZZ_CHECK(D.failed_written, "negotiation failed (%d) without FAILED", st);
    return;
  }
  uint64_t accepted = (uint64_t)D.drv_features[1] << 32 | D.drv_features[0];
  FUZZ_CHECK(D.drv_written[0] && D.drv_written[1],
             "both driver feature words written");
  FUZZ_CHECK(vmm.dev.features == accepted, "features %#llx, device told %#llx",
             (unsigned long long)vmm.dev.features,
             (unsigned long long)accepted);
  uint64_t transport =
      VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
      VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_PACKED);
  FUZZ_CHECK((accepted & ~((wanted & 0xffffffu) | transport)) == 0,
             "accepted %#llx: neither wanted nor a transport feature",
             (unsigned long long)accepted);
  if (modern()) {
    FUZZ_CHECK(accepted & VIRTIO_BIT(VIRTIO_F_VERSION_1),
               "modern device without VERSION_1 accepted");
    FUZZ_CHECK(D.fok_written, "FEATURES_OK never written");
    FUZZ_CHECK(!honest || !D.reject_fok, "FEATURES_OK did not stick, but "
                                         "negotiation succeeded");
  } else {
    FUZZ_CHECK((accepted >> 32) == 0,
               "legacy device with feature bits "
               "above 31: %#llx",
               (unsigned long long)accepted);
  }
}

static void op_queue_setup(struct fuzz_in *in) {
  unsigned index = fin_u8(in) % (VIRTIO_MAX_QUEUES + 2);
  uint16_t max_size = fin_u16(in);
  if (!negotiated || vmm.dev.failed) {
    return;
  }
  if ((max_size & 0xf000) != 0xf000) {
    max_size &= 0x1ff; /* mostly small queues: big ones cost time */
  }
  struct virtqueue *vq = NULL;
  unsigned long ovr = D.overrides;
  bool existed = index < VIRTIO_MAX_QUEUES && queue_at((uint8_t)index) != NULL;
  D.q[index % NQ].num_max_seen = false; /* this call's read */
  rl_status st =
      virtio_queue_setup(&vmm.dev, index, "fuzz", max_size, on_done, &vq);
  FUZZ_CHECK(valid_status(st), "virtio_queue_setup returned %d", st);
  if (index >= VIRTIO_MAX_QUEUES || max_size == 0) {
    FUZZ_CHECK(st == RL_ERR_INVALID, "bad arguments accepted: %d", st);
    return;
  }
  if (existed) {
    FUZZ_CHECK(st == RL_ERR_BUSY, "set up twice: %d", st);
    return;
  }
  struct mq *q = &D.q[index];
  if (st != RL_OK) {
    FUZZ_CHECK(queue_at((uint8_t)index) == NULL, "failed setup left a "
                                                 "backend");
    if (D.overrides == ovr && q->num_max_seen && q->num_max_read == 0) {
      FUZZ_CHECK(st == RL_ERR_NOT_FOUND, "QueueNumMax 0: %d", st);
    }
    return;
  }
  FUZZ_CHECK(vq == vmm.dev.queues[index] && vq->backend != NULL, "queue");
  FUZZ_CHECK(q->num_max_seen, "QueueNumMax never read");
  FUZZ_CHECK(vq->size >= 1 && vq->size <= q->num_max_read &&
                 vq->size <= max_size && vq->size <= 32768,
             "queue of %u entries: QueueNumMax %u, asked %u", vq->size,
             q->num_max_read, max_size);
  FUZZ_CHECK(q->num_written && q->num == vq->size,
             "QueueNum %u for a queue of %u", q->num, vq->size);
  if (modern()) {
    FUZZ_CHECK(q->ready == 1, "QueueReady not set");
    struct vq_addrs a;
    vq->ops->addrs(vq->backend, &a);
    FUZZ_CHECK(qaddr(q, 0) == a.desc && qaddr(q, 1) == a.driver &&
                   qaddr(q, 2) == a.device,
               "the device was told other ring addresses");
  }
}

/* Known issue K1 (README): virtio_config_read/write32 add offset and
 * width in 32 bits, so an offset near 4 GiB wraps past the bounds check. */
static bool wraps(uint32_t offset, unsigned width) {
  return !strict_known && (uint32_t)(offset + width) < offset;
}

static void op_config_read(struct fuzz_in *in) {
  uint8_t how = fin_u8(in);
  uint32_t offset = (how & 0x80) ? fin_u32(in) : fin_u8(in);
  static const unsigned widths[] = {1, 2, 4, 8, 0, 3, 16, 4};
  unsigned width = widths[how & 7];
  if (wraps(offset, width)) {
    return;
  }
  uint64_t value = 0xdeadbeefdeadbeefull;
  unsigned long ovr = D.overrides;
  unsigned gen_before = D.gen_reads;
  D.gen_reads = 0;
  rl_status st = virtio_config_read(&vmm.dev, offset, width, &value);
  unsigned gen_reads = D.gen_reads;
  D.gen_reads += gen_before;
  bool honest = D.overrides == ovr;
  uint64_t room = vmm.slot.size - R_CONFIG;
  bool valid = (width == 1 || width == 2 || width == 4 || width == 8) &&
               offset % (width == 8 ? 4 : width) == 0 &&
               (uint64_t)offset + width <= room;
  FUZZ_CHECK(st == RL_OK || st == RL_ERR_INVALID || st == RL_ERR_BUSY,
             "virtio_config_read returned %d", st);
  FUZZ_CHECK((st == RL_ERR_INVALID) == !valid,
             "config read at %#x width %u of %llu bytes: %d", offset, width,
             (unsigned long long)room, st);
  if (!valid) {
    return;
  }
  FUZZ_CHECK(gen_reads <= 2 * 16, "%u generation reads", gen_reads);
  if (!honest) {
    return;
  }
  bool changing = modern() && (D.gen == GEN_ALWAYS || D.gen == GEN_ON_CONFIG);
  FUZZ_CHECK((st == RL_ERR_BUSY) == changing,
             "generation %s changing, result %d", changing ? "kept" : "not",
             st);
  if (st == RL_OK) {
    uint64_t want = 0;
    for (unsigned i = 0; i < width; i++) {
      want |= (uint64_t)D.config[offset + i] << (8 * i);
    }
    FUZZ_CHECK(value == want, "config value %#llx, device holds %#llx",
               (unsigned long long)value, (unsigned long long)want);
  }
}

static void op_config_write(struct fuzz_in *in) {
  uint8_t how = fin_u8(in);
  uint32_t offset = (how & 0x80) ? fin_u32(in) : fin_u8(in);
  uint32_t v = fin_u32(in);
  if (wraps(offset, 4)) {
    return;
  }
  rl_status st = virtio_config_write32(&vmm.dev, offset, v);
  bool valid =
      offset % 4 == 0 && (uint64_t)offset + 4 <= vmm.slot.size - R_CONFIG;
  FUZZ_CHECK((st == RL_OK) == valid && (valid || st == RL_ERR_INVALID),
             "config write at %#x of %llu bytes: %d", offset,
             (unsigned long long)(vmm.slot.size - R_CONFIG), st);
}

static void op_irq(struct fuzz_in *in) {
  D.isr = fin_u8(in) & 7;
  unsigned long ovr = D.overrides;
  unsigned long changes = vmm.dev.config_changes;
  if (vmm.dev.irq_ready) {
    FUZZ_CHECK(host_irq_raise(vmm.slot.irq) == RL_OK, "raise");
  } else {
    virtio_handle_interrupt(&vmm.dev);
  }
  if (D.overrides == ovr) {
    FUZZ_CHECK(D.isr == 0, "interrupt status %#x left unacknowledged", D.isr);
    if (vmm.dev.config_changes != changes && (status_read() & S_NEEDS_RESET)) {
      FUZZ_CHECK(vmm.dev.needs_reset, "DEVICE_NEEDS_RESET not noted");
    }
  }
}

static void op_poll(struct fuzz_in *in) {
  struct virtqueue *vq = queue_at(fin_u8(in));
  if (vq == NULL) {
    return;
  }
  bool was_broken = vq->broken;
  int n = virtqueue_poll(vq);
  FUZZ_CHECK(n >= 0 || n == RL_ERR_BROKEN, "virtqueue_poll returned %d", n);
  FUZZ_CHECK(!was_broken || n == RL_ERR_BROKEN, "poll of a broken queue");
  FUZZ_CHECK(n < 0 || !vq->broken, "broken queue, poll said %d", n);
}

static void op_wait(struct fuzz_in *in) {
  struct virtqueue *vq = queue_at(fin_u8(in));
  uint64_t timeout = (uint64_t)fin_u16(in) * 100; /* up to 6.5 ms */
  if (vq == NULL) {
    return;
  }
  wait_for = NULL;
  for (unsigned i = 0; i < nreqs; i++) {
    if (reqs[i].outstanding && reqs[i].vq == vq) {
      wait_for = &reqs[i];
    }
  }
  wait_flag = wait_for == NULL;
  uint64_t t0 = arch_time_ns();
  rl_status st = virtqueue_wait(vq, &wait_flag, timeout);
  uint64_t t1 = arch_time_ns();
  wait_for = NULL;
  FUZZ_CHECK(st == RL_OK || st == RL_ERR_TIMEOUT || st == RL_ERR_BROKEN,
             "virtqueue_wait returned %d", st);
  FUZZ_CHECK(st != RL_ERR_TIMEOUT || t1 - t0 >= timeout,
             "timeout after %llu of %llu ns", (unsigned long long)(t1 - t0),
             (unsigned long long)timeout);
  FUZZ_CHECK(t1 - t0 <= timeout + 1000000, "waited %llu ns of %llu",
             (unsigned long long)(t1 - t0), (unsigned long long)timeout);
}

/* Reset (or DEVICE_NEEDS_RESET recovery): every request fails once. A
 * reset that does not complete leaves everything to the device (§2.4):
 * the device failed, nothing freed, no request completed. Returns whether
 * it timed out. */
static bool op_reset(bool recover) {
  negotiated = false;
  size_t live_before = host_dma_live_count();
  unsigned long irq = quiet_begin();
  rl_status st =
      recover ? virtio_device_recover(&vmm.dev) : virtio_device_reset(&vmm.dev);
  quiet_end(irq);
  FUZZ_CHECK(st == RL_OK || st == RL_ERR_TIMEOUT, "reset returned %d", st);
  FUZZ_CHECK(st == RL_OK || sticky_forever() || D.overrides > 0,
             "reset timed out with an honest status");
  FUZZ_CHECK(st == RL_ERR_TIMEOUT || !sticky_forever() || D.overrides > 0,
             "reset succeeded though the status never read 0");
  if (st == RL_ERR_TIMEOUT) {
    FUZZ_CHECK(vmm.dev.failed, "a reset that timed out left the device usable");
    FUZZ_CHECK(host_dma_live_count() == live_before,
               "a reset that timed out freed DMA memory the device may own");
    for (unsigned i = 0; i < nreqs; i++) {
      FUZZ_CHECK(reqs[i].completions == (reqs[i].outstanding ? 0u : 1u),
                 "request %u completed %u times by a reset that timed out", i,
                 reqs[i].completions);
    }
    return true;
  }
  for (unsigned i = 0; i < nreqs; i++) {
    FUZZ_CHECK(!reqs[i].outstanding, "request %u not failed by the reset", i);
    FUZZ_CHECK(reqs[i].completions == 1, "request %u completed %u times", i,
               reqs[i].completions);
  }
  for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
    FUZZ_CHECK(queue_at((uint8_t)i) == NULL, "queue %u kept its backend", i);
  }
  FUZZ_CHECK(host_dma_live_count() == dma_base,
             "%zu DMA allocations after a reset, %zu before the device",
             host_dma_live_count(), dma_base);
  return false;
}

static void op_policy(struct fuzz_in *in) {
  uint8_t what = fin_u8(in);
  switch (what % 8) {
  case 0: {
    /* A slow device; rarely (it costs 10^4 polls in virtual time) a hung
     * one. */
    uint8_t k = fin_u8(in);
    D.sticky_per_reset = k == 0xff ? STICKY_FOREVER : k % 32;
    break;
  }
  case 1:
    D.reject_fok = !D.reject_fok;
    break;
  case 2:
    D.needs_reset = !D.needs_reset;
    break;
  case 3:
    D.gen = (enum gen_mode)(fin_u8(in) % 4);
    break;
  case 4:
    D.ready_stuck = !D.ready_stuck;
    break;
  case 5:
    D.q[fin_u8(in) % NQ].num_max = fin_u32(in);
    break;
  case 6:
    D.features[fin_u8(in) & 1] = fin_u32(in);
    break;
  default:
    D.config[fin_u8(in) % sizeof(D.config)] = fin_u8(in);
    break;
  }
}

/* The register file at D.window, and the guard windows below and above
 * it (down to address 1, up to the top of the address space). */
static void windows_register(void) {
  uintptr_t lo = (uintptr_t)D.window, hi = lo + D.size;
  FUZZ_CHECK(host_mmio_register(D.window, D.size, dev_read, dev_write, NULL) ==
                 RL_OK,
             "register window");
  FUZZ_CHECK(host_mmio_register((volatile void *)1, lo - 1, stray_read,
                                stray_write, (void *)1) == RL_OK &&
                 host_mmio_register((volatile void *)hi, UINTPTR_MAX - hi,
                                    stray_read, stray_write,
                                    (void *)hi) == RL_OK,
             "guard windows");
}

static void windows_unregister(void) {
  uintptr_t hi = (uintptr_t)D.window + D.size;
  FUZZ_CHECK(host_mmio_unregister((volatile void *)1) == RL_OK &&
                 host_mmio_unregister(D.window) == RL_OK &&
                 host_mmio_unregister((volatile void *)hi) == RL_OK,
             "unregister windows");
}

static const uint32_t num_max_table[16] = {
    0,   1,   2,   3,    7,     8,     16,    64,
    128, 255, 256, 1024, 32768, 32769, 65535, 0xffffffffu};

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size) {
  struct fuzz_in in = {input, size};
  struct fuzz_in hdr = fin_split(&in, 24);
  memset(&D, 0, sizeof(D));
  memset(&vmm, 0, sizeof(vmm));
  nreqs = 0;
  negotiated = false;
  host_irq_reset();

  static const uint32_t versions[8] = {1, 2, 2, 2, 1, 0, 3, 0xffffffffu};
  D.version = versions[fin_u8(&hdr) % 8];
  uint8_t pol = fin_u8(&hdr);
  if (pol & 1) {
    D.sticky_per_reset = (pol >> 4) + 1;
  }
  D.reject_fok = (pol & 2) != 0;
  D.gen = (enum gen_mode)((pol >> 2) & 3);
  D.ready_stuck = (pol & 0x30) == 0x30;
  D.needs_reset = (pol & 0x41) == 0x41;
  uint16_t win = fin_u16(&hdr);
  D.size = R_CONFIG + ((win % (MAX_WINDOW - R_CONFIG + 1)) & ~3u);
  D.device_id = fin_u32(&hdr);
  D.features[0] = fin_u32(&hdr);
  D.features[1] = fin_u32(&hdr);
  for (unsigned i = 0; i < NQ; i++) {
    D.q[i].num_max = num_max_table[i < 4 ? fin_u8(&hdr) % 16 : 8];
  }
  unsigned nops = fin_u8(&hdr);
  uint8_t irq_sel = fin_u8(&hdr);
  uint16_t seed = fin_u16(&hdr);
  for (size_t i = 0; i < sizeof(D.config); i++) {
    D.config[i] = (uint8_t)((size_t)seed * 7 + i * 29 + (i >> 3));
  }
  struct fuzz_in ops = fin_split(&in, (size_t)nops * 4);
  D.ovr = in;

  D.window = malloc(D.size);
  FUZZ_CHECK(D.window != NULL, "malloc");
  windows_register();
  struct virtio_mmio_slot slot = {
      .node = 0,
      .pa = 0x0a000000ull + ((uint64_t)seed << 9),
      .size = D.size,
      .irq = irq_sel < 0xf0 ? 40u + irq_sel % 64 : 1024u + irq_sel,
      .regs = D.window,
      .magic = MAGIC,
      .version = D.version,
      .device_id = D.device_id,
      .vendor_id = 0x554d4551u,
      .dma_coherent = (pol & 0x20) != 0, /* the slot: from the device tree */
  };
  rl_status st = virtio_mmio_device_init(&vmm, &slot);
  FUZZ_CHECK(
      st == ((D.version == 1 || D.version == 2) ? RL_OK : RL_ERR_NOT_SUPPORTED),
      "virtio_mmio_device_init(version %u) returned %d", D.version, st);
  if (st != RL_OK) {
    windows_unregister();
    free(D.window);
    return 0;
  }
  FUZZ_CHECK(memchr(vmm.dev.name, '\0', sizeof(vmm.dev.name)) != NULL,
             "device name not terminated");

  while (!fin_empty(&ops)) {
    uint8_t op = fin_u8(&ops);
    D.call_reads = 0;
    switch (op % 15) {
    case 0:
      op_negotiate(&ops);
      break;
    case 1:
    case 2:
      op_queue_setup(&ops);
      break;
    case 3: {
      if (!negotiated || vmm.dev.failed) {
        break;
      }
      rl_status r = virtio_device_ready(&vmm.dev);
      FUZZ_CHECK(r == RL_OK || r == RL_ERR_BROKEN, "ready returned %d", r);
      FUZZ_CHECK(r == RL_OK || D.failed_written, "ready failed without "
                                                 "FAILED");
      break;
    }
    case 4:
      op_config_read(&ops);
      break;
    case 5:
      op_config_write(&ops);
      break;
    case 6:
      op_irq(&ops);
      break;
    case 7:
    case 8:
      op_add(&ops);
      break;
    case 9:
      op_poll(&ops);
      break;
    case 10:
      op_wait(&ops);
      break;
    case 11:
      (void)op_reset((op & 0x80) != 0);
      break;
    case 12:
      op_corrupt(&ops);
      break;
    case 13:
      op_policy(&ops);
      break;
    default:
      (void)virtio_device_status(&vmm.dev);
      break;
    }
  }
  D.call_reads = 0;
  if (op_reset(false)) {
    /* The device comes back, honest: the input ends with nothing left. */
    D.ovr = (struct fuzz_in){0};
    D.sticky_per_reset = 0;
    D.sticky_left = 0;
    D.call_reads = 0;
    FUZZ_CHECK(!op_reset(false), "an honest device's reset timed out");
  }
  virtio_device_release(&vmm.dev); /* its queue records */
  host_irq_reset();
  windows_unregister();
  free(D.window);
  return 0;
}

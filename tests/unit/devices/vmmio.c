/* The virtio-mmio transport as a device sees it (virtio 1.2 §4.2.2 modern,
 * §4.2.4 legacy), written from the spec's register table: its own offsets
 * and rules, never the driver's virtio_mmio.h. See vmmio.h. */
/* cmocka.h needs these first, in this order. */
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

#include <virtio/core/virtqueue_impl.h>

#include "arch_host.h"
#include "vmmio.h"

static const struct arch_dma_dev coherent = {.coherent = true};

/* §4.2.2, Table 4.1 (and §4.2.4 for the legacy-only registers). */
#define MAGIC 0x74726976u  /* "virt" */
#define VENDOR 0x554d4551u /* "QEMU", as QEMU reports */
#define CONFIG_OFF 0x100u

enum reg {
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
  R_QUEUE_READY = 0x044, /* modern */
  R_QUEUE_NOTIFY = 0x050,
  R_ISR = 0x060,
  R_ISR_ACK = 0x064,
  R_STATUS = 0x070,
  R_DESC_LOW = 0x080, /* modern from here */
  R_DESC_HIGH = 0x084,
  R_DRIVER_LOW = 0x090,
  R_DRIVER_HIGH = 0x094,
  R_DEVICE_LOW = 0x0a0,
  R_DEVICE_HIGH = 0x0a4,
  R_CONFIG_GEN = 0x0fc,
};

enum { RD = 1, WR = 2 };
enum { LEGACY = 1, MODERN = 2, BOTH = 3 };

struct reg_info {
  uint32_t off;
  uint8_t dir;
  uint8_t versions;
  const char *name;
};

static const struct reg_info reg_table[] = {
    {R_MAGIC, RD, BOTH, "MagicValue"},
    {R_VERSION, RD, BOTH, "Version"},
    {R_DEVICE_ID, RD, BOTH, "DeviceID"},
    {R_VENDOR_ID, RD, BOTH, "VendorID"},
    {R_DEV_FEATURES, RD, BOTH, "DeviceFeatures"},
    {R_DEV_FEATURES_SEL, WR, BOTH, "DeviceFeaturesSel"},
    {R_DRV_FEATURES, WR, BOTH, "DriverFeatures"},
    {R_DRV_FEATURES_SEL, WR, BOTH, "DriverFeaturesSel"},
    {R_GUEST_PAGE_SIZE, WR, LEGACY, "GuestPageSize"},
    {R_QUEUE_SEL, WR, BOTH, "QueueSel"},
    {R_QUEUE_NUM_MAX, RD, BOTH, "QueueNumMax"},
    {R_QUEUE_NUM, WR, BOTH, "QueueNum"},
    {R_QUEUE_ALIGN, WR, LEGACY, "QueueAlign"},
    {R_QUEUE_PFN, RD | WR, LEGACY, "QueuePFN"},
    {R_QUEUE_READY, RD | WR, MODERN, "QueueReady"},
    {R_QUEUE_NOTIFY, WR, BOTH, "QueueNotify"},
    {R_ISR, RD, BOTH, "InterruptStatus"},
    {R_ISR_ACK, WR, BOTH, "InterruptACK"},
    {R_STATUS, RD | WR, BOTH, "Status"},
    {R_DESC_LOW, WR, MODERN, "QueueDescLow"},
    {R_DESC_HIGH, WR, MODERN, "QueueDescHigh"},
    {R_DRIVER_LOW, WR, MODERN, "QueueDriverLow"},
    {R_DRIVER_HIGH, WR, MODERN, "QueueDriverHigh"},
    {R_DEVICE_LOW, WR, MODERN, "QueueDeviceLow"},
    {R_DEVICE_HIGH, WR, MODERN, "QueueDeviceHigh"},
    {R_CONFIG_GEN, RD, MODERN, "ConfigGeneration"},
};

/* §2.1: device status bits. */
#define S_ACKNOWLEDGE 1u
#define S_DRIVER 2u
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u
#define S_NEEDS_RESET 64u
#define S_FAILED 128u

/* §6: transport feature bits the transport itself looks at. */
#define F_INDIRECT_DESC 28
#define F_EVENT_IDX 29
#define F_VERSION_1 32
#define F_RING_PACKED 34
#define BIT(b) ((uint64_t)1 << (b))

#define ISR_VRING 1u  /* used buffer notification */
#define ISR_CONFIG 2u /* configuration change */

struct vm_queue {
  uint32_t num; /* QueueNum (0: not written) */
  bool ready;   /* QueueReady 1, or a legacy QueuePFN != 0 */
  uint64_t desc, driver, device;
  uint32_t align, pfn; /* legacy */
  const struct model_ops *ops;
  struct model *m;
  bool pending; /* notified, not yet worked on */
  unsigned long notifies;
};

struct vm_held {
  unsigned q;
  struct model_chain c;
};

struct vm_dev {
  struct vm_config cfg;
  uint8_t *window; /* registered with the host MMIO hook */
  uint8_t config[VM_CONFIG_MAX];
  uint32_t status, dev_sel, drv_sel, queue_sel, page_size, isr, generation;
  uint64_t drv_features;
  struct vm_queue q[VM_QUEUES];
  enum vm_answer answer;
  bool refuse;
  bool stuck_reset;
  bool irq_on_enable;
  vm_signal_fn signal; /* NULL: host_irq_raise(cfg.irq) */
  void *signal_ctx;
  bool collect;
  char violations[4096];
  size_t vlen;
  struct vm_held *held;
  unsigned nheld, held_cap;
  bool busy; /* working on chains: a nested notification waits */
  unsigned long batch, idle_batches, interrupts;
  unsigned long queue_resets;
  /* Bit b % VM_BATCH_HISTORY: run b ended with a used buffer interrupt. */
  uint8_t batch_irq[VM_BATCH_HISTORY / 8];
};

/* Live devices, for the idle hook. */
#define VM_MAX_DEVS 8
static struct vm_dev *devs[VM_MAX_DEVS];

void vm_violation(struct vm_dev *d, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  (void)vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (d->collect) {
    int n = snprintf(d->violations + d->vlen, sizeof(d->violations) - d->vlen,
                     "%s\n", msg);
    if (n > 0) {
      d->vlen = RL_MIN(sizeof(d->violations) - 1, d->vlen + (size_t)n);
    }
    return;
  }
  fail_msg("%s (virtio-mmio v%u): %s", d->cfg.name, d->cfg.version, msg);
}

static uint64_t offered(const struct vm_dev *d) {
  uint64_t f = d->cfg.features;
  if (d->cfg.version == 2) {
    f |= BIT(F_VERSION_1); /* §6.1: a modern device offers it */
  } else {
    f &= 0xffffffffu; /* §4.2.4: 32 feature bits */
  }
  return f;
}

static bool modern(const struct vm_dev *d) { return d->cfg.version == 2; }

/* ---- rings -------------------------------------------------------------- */

static void detach_queue(struct vm_queue *q) {
  if (q->m != NULL) {
    q->ops->detach(q->m);
  }
  q->m = NULL;
  q->ops = NULL;
  q->ready = false;
  q->pending = false;
}

static void attach_queue(struct vm_dev *d, unsigned qi) {
  struct vm_queue *q = &d->q[qi];
  struct vq_config cfg = {
      .size = (uint16_t)q->num,
      .event_idx = (d->drv_features & BIT(F_EVENT_IDX)) != 0,
      .indirect = (d->drv_features & BIT(F_INDIRECT_DESC)) != 0,
      .legacy = !modern(d),
      .legacy_align = q->align,
      .dma = &coherent, /* the models reach memory as a device does */
  };
  struct vq_addrs a = {q->desc, q->driver, q->device};
  q->ops = (d->drv_features & BIT(F_RING_PACKED)) ? &model_packed_ops
                                                  : &model_split_ops;
  q->m = q->ops->attach(&a, &cfg);
  q->ready = true;
}

static void drop_held(struct vm_dev *d) {
  free(d->held);
  d->held = NULL;
  d->nheld = d->held_cap = 0;
}

void vm_hold(struct vm_dev *d, unsigned q, const struct model_chain *c) {
  if (d->nheld == d->held_cap) {
    d->held_cap = d->held_cap ? d->held_cap * 2 : 8;
    d->held = realloc(d->held, d->held_cap * sizeof(*d->held));
    assert_non_null(d->held);
  }
  d->held[d->nheld++] = (struct vm_held){q, *c};
}

/* A chain the driver made available must not reuse a buffer the device
 * still holds: the memory is the device's until it is used (§2.7.14). */
static void check_not_held(struct vm_dev *d, unsigned q,
                           const struct model_chain *c) {
  for (unsigned h = 0; h < d->nheld; h++) {
    const struct model_chain *o = &d->held[h].c;
    for (unsigned i = 0; i < c->nseg; i++) {
      for (unsigned j = 0; j < o->nseg; j++) {
        const struct model_seg *a = &c->seg[i], *b = &o->seg[j];
        if (a->len != 0 && b->len != 0 && a->addr < b->addr + b->len &&
            b->addr < a->addr + a->len) {
          vm_violation(d,
                       "queue %u: chain %u reuses %#llx (%u bytes), which "
                       "the device still holds (chain %u of queue %u, "
                       "never used)",
                       q, c->id, (unsigned long long)a->addr, a->len, o->id,
                       d->held[h].q);
        }
      }
    }
  }
}

/* `queues`: which queues have used buffers (a bit each). */
static void raise_irq_for(struct vm_dev *d, uint32_t bits, uint32_t queues) {
  d->isr |= bits;
  d->interrupts++;
  if (d->signal != NULL) {
    d->signal(d->signal_ctx, bits, queues);
    return;
  }
  /* No handler yet (a driver that polls): the status bit stays set. */
  (void)host_irq_raise(d->cfg.irq);
}

static void raise_irq(struct vm_dev *d, uint32_t bits) {
  raise_irq_for(d, bits, bits & ISR_VRING ? (1u << VM_QUEUES) - 1 : 0);
}

void vm_set_signal(struct vm_dev *d, vm_signal_fn fn, void *ctx) {
  d->signal = fn;
  d->signal_ctx = ctx;
}

/* One used buffer interrupt if any ring asks for it (§2.7.7, §2.8.10). */
static void interrupt_if_asked(struct vm_dev *d) {
  uint32_t queues = 0;
  for (unsigned qi = 0; qi < VM_QUEUES; qi++) {
    if (d->q[qi].m != NULL && d->q[qi].ops->should_interrupt(d->q[qi].m)) {
      queues |= 1u << qi;
    }
  }
  if (queues != 0) {
    raise_irq_for(d, ISR_VRING, queues);
  }
}

/* Works on the queues that were notified (all ready ones when `all`),
 * then interrupts once if any ring asks for it (§2.7.7, §2.8.10). */
static void run(struct vm_dev *d, bool all, bool from_idle) {
  if (d->busy) {
    return; /* the outer run picks the new work up */
  }
  d->busy = true;
  bool worked = false;
  for (bool again = true; again;) {
    again = false;
    for (unsigned qi = 0; qi < VM_QUEUES; qi++) {
      struct vm_queue *q = &d->q[qi];
      if (!q->ready || (!q->pending && !all)) {
        continue;
      }
      q->pending = false;
      struct model_chain c;
      while (q->m != NULL && q->ops->pop(q->m, &c)) {
        if (!worked) {
          d->batch++;
          d->idle_batches += from_idle ? 1 : 0;
          worked = true;
        }
        check_not_held(d, qi, &c);
        if (d->answer == VM_ANSWER_NEVER) {
          vm_hold(d, qi, &c);
        } else {
          d->cfg.ops->chain(d, qi, &c, d->cfg.ctx);
        }
        again = true;
      }
    }
  }
  d->busy = false;
  unsigned long before = d->interrupts;
  interrupt_if_asked(d);
  if (worked) {
    unsigned bit = (unsigned)(d->batch % VM_BATCH_HISTORY);
    uint8_t mask = (uint8_t)(1u << (bit % 8));
    d->batch_irq[bit / 8] =
        (uint8_t)(d->interrupts != before ? d->batch_irq[bit / 8] | mask
                                          : d->batch_irq[bit / 8] & ~mask);
  }
}

void vm_answer_held(struct vm_dev *d) {
  struct vm_held *held = d->held;
  unsigned n = d->nheld;
  d->held = NULL;
  d->nheld = d->held_cap = 0;
  for (unsigned i = 0; i < n; i++) {
    if (d->q[held[i].q].m != NULL) {
      d->cfg.ops->chain(d, held[i].q, &held[i].c, d->cfg.ctx);
    }
  }
  free(held);
  interrupt_if_asked(d);
}

static void idle_hook(void *ctx) {
  (void)ctx;
  for (unsigned i = 0; i < VM_MAX_DEVS; i++) {
    if (devs[i] != NULL && devs[i]->answer == VM_ANSWER_AT_IDLE) {
      run(devs[i], true, true);
    }
  }
}

/* ---- register file ----------------------------------------------------- */

/* §4.2.3.1 / §2.4: writing 0 to Status resets the device. */
static void reset(struct vm_dev *d) {
  for (unsigned i = 0; i < VM_QUEUES; i++) {
    detach_queue(&d->q[i]);
    d->q[i] = (struct vm_queue){.notifies = d->q[i].notifies};
  }
  drop_held(d);
  d->status = 0;
  d->dev_sel = d->drv_sel = d->queue_sel = d->page_size = 0;
  d->isr = 0;
  d->drv_features = 0;
  if (d->cfg.ops->reset != NULL) {
    d->cfg.ops->reset(d, d->cfg.ctx);
  }
}

void vm_queue_reset(struct vm_dev *d, unsigned qi) {
  /* §2.6.1: the queue alone goes back to its reset state; the chains it
   * held are dropped (never used), the other queues keep theirs. */
  if (qi >= VM_QUEUES) {
    return;
  }
  detach_queue(&d->q[qi]);
  d->q[qi] = (struct vm_queue){.notifies = d->q[qi].notifies};
  unsigned kept = 0;
  for (unsigned h = 0; h < d->nheld; h++) {
    if (d->held[h].q != qi) {
      d->held[kept++] = d->held[h];
    }
  }
  d->nheld = kept;
  d->queue_resets++;
}

unsigned long vm_queue_resets(const struct vm_dev *d) {
  return d->queue_resets;
}

static struct vm_queue *selected(struct vm_dev *d, const char *reg) {
  if (d->queue_sel >= VM_QUEUES || d->cfg.queue_num_max[d->queue_sel] == 0) {
    vm_violation(d, "%s of queue %u, which does not exist (QueueNumMax 0)", reg,
                 d->queue_sel);
    return NULL;
  }
  return &d->q[d->queue_sel];
}

/* §3.1.1 step 7: queues are set up after FEATURES_OK (modern), after
 * DRIVER (legacy), and a live queue is not changed (§4.2.3.2). */
static struct vm_queue *queue_setup(struct vm_dev *d, const char *reg) {
  uint32_t need = modern(d) ? S_FEATURES_OK : S_DRIVER;
  if ((d->status & need) == 0) {
    vm_violation(d, "%s written before %s (status %#x; §3.1.1)", reg,
                 modern(d) ? "FEATURES_OK" : "DRIVER", d->status);
  }
  struct vm_queue *q = selected(d, reg);
  if (q != NULL && q->ready) {
    vm_violation(d, "%s of queue %u while it is live (§4.2.3.2)", reg,
                 d->queue_sel);
    return NULL;
  }
  return q;
}

static void check_accepted(struct vm_dev *d, uint64_t accept) {
  if (accept & ~offered(d)) {
    vm_violation(d,
                 "driver accepts features %#llx the device did not offer "
                 "(offered %#llx; §2.2.1)",
                 (unsigned long long)(accept & ~offered(d)),
                 (unsigned long long)offered(d));
  }
}

static void write_status(struct vm_dev *d, uint32_t v) {
  if (v == 0) {
    if (!d->stuck_reset) {
      reset(d);
    }
    return;
  }
  uint32_t old = d->status;
  if (old & ~v & ~S_NEEDS_RESET) {
    vm_violation(d, "Status %#x clears bits %#x (§2.1.2: only a reset does)", v,
                 old & ~v);
  }
  uint32_t added = v & ~old;
  if (added & S_NEEDS_RESET) {
    vm_violation(d, "driver sets DEVICE_NEEDS_RESET (device only, §2.1)");
  }
  if ((added & S_DRIVER) && !(v & S_ACKNOWLEDGE)) {
    vm_violation(d, "DRIVER before ACKNOWLEDGE (§3.1.1)");
  }
  if (added & S_FEATURES_OK) {
    if (!(v & S_DRIVER)) {
      vm_violation(d, "FEATURES_OK before DRIVER (§3.1.1)");
    }
    check_accepted(d, d->drv_features);
    bool ok = !d->refuse && (d->drv_features & ~offered(d)) == 0;
    if (modern(d) && !(d->drv_features & BIT(F_VERSION_1))) {
      vm_violation(d, "VERSION_1 offered and not accepted (§6.1)");
      ok = false;
    }
    if (!ok) {
      v &= ~S_FEATURES_OK; /* refused: the driver must read it back */
    }
  }
  if (added & S_DRIVER_OK) {
    if (!(v & S_DRIVER)) {
      vm_violation(d, "DRIVER_OK before DRIVER (§3.1.1)");
    }
    if (modern(d) && !(v & S_FEATURES_OK)) {
      vm_violation(d, "DRIVER_OK without FEATURES_OK (§3.1.1)");
    }
    if (!modern(d)) {
      check_accepted(d, d->drv_features);
    }
  }
  d->status = v | (old & S_NEEDS_RESET);
}

static void write_driver_features(struct vm_dev *d, uint32_t v) {
  if (!(d->status & S_DRIVER) || (d->status & S_FEATURES_OK) ||
      (d->status & S_DRIVER_OK)) {
    vm_violation(d,
                 "DriverFeatures written with status %#x: only between "
                 "DRIVER and FEATURES_OK (§3.1.1 step 4)",
                 d->status);
  }
  if (d->drv_sel > 1 || (!modern(d) && d->drv_sel == 1)) {
    if (v != 0) {
      vm_violation(d, "DriverFeatures word %u = %#x: no such feature bits",
                   d->drv_sel, v);
    }
    return;
  }
  unsigned shift = 32 * d->drv_sel;
  d->drv_features = (d->drv_features & ~((uint64_t)0xffffffffu << shift)) |
                    (uint64_t)v << shift;
}

static void write_legacy_pfn(struct vm_dev *d, uint32_t v) {
  struct vm_queue *q = selected(d, "QueuePFN");
  if (q == NULL) {
    return;
  }
  if (v == 0) {
    detach_queue(q); /* §4.2.4: 0 stops using the queue */
    q->pfn = 0;
    return;
  }
  q = queue_setup(d, "QueuePFN");
  if (q == NULL) {
    return;
  }
  /* QEMU's symptoms of each missing step are in /work/shared/qemu-virt.md:
   * a device that guessed would time out silently. */
  if (d->page_size == 0) {
    vm_violation(d, "QueuePFN before GuestPageSize (§4.2.4)");
    return;
  }
  if (q->num == 0) {
    vm_violation(d, "QueuePFN before QueueNum (§4.2.4)");
    return;
  }
  if (q->align == 0) {
    vm_violation(d, "QueuePFN before QueueAlign (§4.2.4)");
    return;
  }
  /* §2.7.2: the legacy layout, used ring on the QueueAlign boundary. */
  uint64_t desc = (uint64_t)v * d->page_size;
  uint64_t avail_end = desc + 16ull * q->num + 6 + 2ull * q->num;
  q->pfn = v;
  q->desc = desc;
  q->driver = desc + 16ull * q->num;
  q->device = (avail_end + q->align - 1) / q->align * q->align;
  attach_queue(d, d->queue_sel);
  if (d->irq_on_enable) {
    raise_irq_for(d, ISR_VRING, 1u << d->queue_sel);
  }
}

static void write_queue_ready(struct vm_dev *d, uint32_t v) {
  struct vm_queue *q = selected(d, "QueueReady");
  if (q == NULL) {
    return;
  }
  if (v == 0) {
    detach_queue(q);
    return;
  }
  if (v != 1) {
    vm_violation(d, "QueueReady %u: only 0 and 1 mean something", v);
  }
  q = queue_setup(d, "QueueReady");
  if (q == NULL) {
    return;
  }
  if (q->num == 0) {
    vm_violation(d, "QueueReady before QueueNum (§4.2.3.2)");
    return;
  }
  attach_queue(d, d->queue_sel);
  if (d->irq_on_enable) {
    raise_irq_for(d, ISR_VRING, 1u << d->queue_sel);
  }
}

static void write_addr(struct vm_dev *d, uint32_t reg, uint32_t v) {
  const char *names[] = {"QueueDescLow",   "QueueDescHigh",
                         "QueueDriverLow", "QueueDriverHigh",
                         "QueueDeviceLow", "QueueDeviceHigh"};
  unsigned part = (reg - R_DESC_LOW) / 0x10; /* 0 desc, 1 driver, 2 device */
  bool high = (reg & 4) != 0;
  struct vm_queue *q = queue_setup(d, names[part * 2 + (high ? 1 : 0)]);
  if (q == NULL) {
    return;
  }
  uint64_t *a = part == 0 ? &q->desc : part == 1 ? &q->driver : &q->device;
  if (high) {
    *a = (*a & 0xffffffffu) | (uint64_t)v << 32;
  } else {
    *a = (*a & ~(uint64_t)0xffffffffu) | v;
  }
}

static void notify(struct vm_dev *d, uint32_t v) {
  /* §3.1.1: no notification before DRIVER_OK. */
  if (!(d->status & S_DRIVER_OK)) {
    vm_violation(d, "QueueNotify(%u) before DRIVER_OK (status %#x; §3.1.1)", v,
                 d->status);
    return;
  }
  if (v >= VM_QUEUES || !d->q[v].ready) {
    vm_violation(d, "QueueNotify(%u): no such live queue (§4.2.2)", v);
    return;
  }
  d->q[v].notifies++;
  d->q[v].pending = true;
  if (d->answer != VM_ANSWER_AT_IDLE) {
    run(d, false, false);
  }
}

static const struct reg_info *lookup(struct vm_dev *d, size_t off,
                                     unsigned width, unsigned dir) {
  const char *what = dir == RD ? "read" : "write";
  /* §4.2.2.2: control registers are 32 bits wide and aligned. */
  if (width != 4 || off % 4 != 0) {
    vm_violation(d,
                 "%u-byte %s at register offset %#zx: only aligned 32-bit "
                 "accesses (§4.2.2.2)",
                 width, what, off);
    return NULL;
  }
  for (size_t i = 0; i < RL_ARRAY_SIZE(reg_table); i++) {
    const struct reg_info *r = &reg_table[i];
    if (r->off != off) {
      continue;
    }
    if (!(r->versions & d->cfg.version)) {
      vm_violation(d, "%s of %s, a %s-only register", what, r->name,
                   r->versions == LEGACY ? "legacy" : "modern");
      return NULL;
    }
    if (!(r->dir & dir)) {
      vm_violation(d, "%s of %s, which is %s-only (§4.2.2)", what, r->name,
                   dir == RD ? "write" : "read");
      return NULL;
    }
    return r;
  }
  vm_violation(d, "%s at offset %#zx: no such register (§4.2.2)", what, off);
  return NULL;
}

/* §4.2.2.2: configuration fields are accessed at their own width, aligned;
 * within the device's configuration size. */
static bool config_access(struct vm_dev *d, size_t off, unsigned width,
                          const char *what) {
  if (off % width != 0 || off + width > d->cfg.config_size) {
    vm_violation(d,
                 "%u-byte configuration %s at %#zx: unaligned or past the "
                 "%u bytes of configuration space (§4.2.2.2)",
                 width, what, off, d->cfg.config_size);
    return false;
  }
  return true;
}

static uint32_t mmio_read(void *ctx, size_t off, unsigned width) {
  struct vm_dev *d = ctx;
  if (off >= CONFIG_OFF) {
    off -= CONFIG_OFF;
    uint32_t v = 0;
    if (config_access(d, off, width, "read")) {
      memcpy(&v, d->config + off, width); /* little-endian host */
    }
    return v;
  }
  if (lookup(d, off, width, RD) == NULL) {
    return 0;
  }
  switch (off) {
  case R_MAGIC:
    return MAGIC;
  case R_VERSION:
    return d->cfg.version;
  case R_DEVICE_ID:
    return d->cfg.device_id;
  case R_VENDOR_ID:
    return VENDOR;
  case R_DEV_FEATURES:
    return d->dev_sel < 2 ? (uint32_t)(offered(d) >> (32 * d->dev_sel)) : 0;
  case R_QUEUE_NUM_MAX:
    return d->queue_sel < VM_QUEUES ? d->cfg.queue_num_max[d->queue_sel] : 0;
  /* §4.2.3.2 reads these before QueueNumMax: 0 for a missing queue. */
  case R_QUEUE_PFN:
    return d->queue_sel < VM_QUEUES ? d->q[d->queue_sel].pfn : 0;
  case R_QUEUE_READY:
    return d->queue_sel < VM_QUEUES && d->q[d->queue_sel].ready ? 1 : 0;
  case R_ISR:
    return d->isr;
  case R_STATUS:
    return d->status;
  case R_CONFIG_GEN:
    return d->generation;
  default:
    return 0;
  }
}

static void mmio_write(void *ctx, size_t off, unsigned width, uint32_t v) {
  struct vm_dev *d = ctx;
  if (off >= CONFIG_OFF) {
    off -= CONFIG_OFF;
    if (!config_access(d, off, width, "write")) {
      return;
    }
    if (d->cfg.ops->config_write == NULL) {
      vm_violation(d,
                   "configuration write at %#zx: this device's "
                   "configuration is read-only",
                   off);
      return;
    }
    d->cfg.ops->config_write(d, (uint32_t)off, width, v, d->cfg.ctx);
    return;
  }
  if (lookup(d, off, width, WR) == NULL) {
    return;
  }
  struct vm_queue *q;
  switch (off) {
  case R_DEV_FEATURES_SEL:
    d->dev_sel = v;
    break;
  case R_DRV_FEATURES_SEL:
    d->drv_sel = v;
    break;
  case R_DRV_FEATURES:
    write_driver_features(d, v);
    break;
  case R_GUEST_PAGE_SIZE:
    if (v == 0 || (v & (v - 1)) != 0) {
      vm_violation(d, "GuestPageSize %u is not a power of two (§4.2.4)", v);
    }
    d->page_size = v;
    break;
  case R_QUEUE_SEL:
    d->queue_sel = v;
    break;
  case R_QUEUE_NUM:
    q = queue_setup(d, "QueueNum");
    if (q != NULL) {
      uint32_t max = d->cfg.queue_num_max[d->queue_sel];
      if (v == 0 || v > max) {
        vm_violation(d,
                     "QueueNum %u of queue %u outside 1..QueueNumMax %u "
                     "(§4.2.2)",
                     v, d->queue_sel, max);
      }
      q->num = v;
    }
    break;
  case R_QUEUE_ALIGN:
    q = queue_setup(d, "QueueAlign");
    if (q != NULL) {
      if (v == 0 || (v & (v - 1)) != 0) {
        vm_violation(d, "QueueAlign %u is not a power of two (§4.2.4)", v);
      }
      q->align = v;
    }
    break;
  case R_QUEUE_PFN:
    write_legacy_pfn(d, v);
    break;
  case R_QUEUE_READY:
    write_queue_ready(d, v);
    break;
  case R_QUEUE_NOTIFY:
    notify(d, v);
    break;
  case R_ISR_ACK:
    d->isr &= ~v;
    break;
  case R_STATUS:
    write_status(d, v);
    break;
  default:
    write_addr(d, (uint32_t)off, v);
    break;
  }
}

/* ---- lifetime, knobs, observations ------------------------------------ */

struct vm_dev *vm_create(const struct vm_config *cfg) {
  assert_true(cfg->version == 1 || cfg->version == 2);
  assert_true(cfg->config_size <= VM_CONFIG_MAX);
  assert_non_null(cfg->ops);
  assert_non_null(cfg->ops->chain);
  struct vm_dev *d = calloc(1, sizeof(*d));
  assert_non_null(d);
  d->cfg = *cfg;
  d->window = calloc(1, VM_REGS_SIZE);
  assert_non_null(d->window);
  assert_int_equal(
      host_mmio_register(d->window, VM_REGS_SIZE, mmio_read, mmio_write, d),
      RL_OK);
  unsigned live = 0;
  bool placed = false;
  for (unsigned i = 0; i < VM_MAX_DEVS; i++) {
    if (devs[i] == NULL && !placed) {
      devs[i] = d;
      placed = true;
    }
    live += devs[i] != NULL ? 1 : 0;
  }
  assert_true(placed);
  if (live == 1) {
    host_idle_hook(idle_hook, NULL);
  }
  return d;
}

void vm_destroy(struct vm_dev *d) {
  if (d == NULL) {
    return;
  }
  for (unsigned i = 0; i < VM_QUEUES; i++) {
    detach_queue(&d->q[i]);
  }
  drop_held(d);
  (void)host_mmio_unregister(d->window);
  unsigned live = 0;
  for (unsigned i = 0; i < VM_MAX_DEVS; i++) {
    if (devs[i] == d) {
      devs[i] = NULL;
    }
    live += devs[i] != NULL ? 1 : 0;
  }
  if (live == 0) {
    host_idle_hook(NULL, NULL);
  }
  free(d->window);
  free(d);
}

void vm_slot(const struct vm_dev *d, bool dma_coherent,
             struct virtio_mmio_slot *out) {
  *out = (struct virtio_mmio_slot){
      .node = 0,
      .pa = d->cfg.pa,
      .size = VM_REGS_SIZE,
      .irq = d->cfg.irq,
      .regs = d->window,
      .magic = MAGIC,
      .version = d->cfg.version,
      .device_id = d->cfg.device_id,
      .vendor_id = VENDOR,
      .dma_coherent = dma_coherent,
  };
}

struct virtio_device *vm_core_device(const struct vm_dev *d, bool dma_coherent,
                                     const struct virtio_driver *drv) {
  struct virtio_mmio_slot slot;
  vm_slot(d, dma_coherent, &slot);
  struct virtio_mmio_device *m = calloc(1, sizeof(*m));
  assert_non_null(m);
  assert_int_equal(virtio_mmio_device_init(m, &slot), RL_OK);
  m->dev.driver = drv;
  return &m->dev;
}

void vm_core_device_stop(struct virtio_device *dev) {
  if (virtio_device_reset(dev) == RL_ERR_NOT_SUPPORTED) {
    /* A build without ops->detach (VQ_DETACH 0) never resets a device
     * with live queues: the test resets it and drops its rings. */
    dev->transport->set_status(dev, 0);
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
      struct virtqueue *vq = dev->queues[i];
      if (vq != NULL && vq->backend != NULL) {
        vq->ops->destroy(vq->backend);
        vq->backend = NULL;
      }
    }
  }
  virtio_device_release(dev);
}

void vm_core_device_free(struct virtio_device *dev) {
  /* dev is the first member of its struct virtio_mmio_device. */
  free(dev);
}

void vm_set_answer(struct vm_dev *d, enum vm_answer mode) { d->answer = mode; }
void vm_refuse_features(struct vm_dev *d, bool refuse) { d->refuse = refuse; }
void vm_stuck_reset(struct vm_dev *d, bool stuck) { d->stuck_reset = stuck; }
void vm_interrupt_on_enable(struct vm_dev *d, bool on) {
  d->irq_on_enable = on;
}

void vm_collect_violations(struct vm_dev *d, bool on) {
  d->collect = on;
  d->vlen = 0;
  d->violations[0] = '\0';
}

const char *vm_violations(const struct vm_dev *d) { return d->violations; }

uint8_t *vm_config_space(struct vm_dev *d) { return d->config; }

void vm_config_changed(struct vm_dev *d) {
  d->generation++;
  raise_irq(d, ISR_CONFIG);
}

bool vm_dma_read(paddr_t pa, void *buf, size_t len) {
  void *p;
  if (len == 0) {
    return true;
  }
  if (host_dma_device_ptr(pa, len, &p) != RL_OK) {
    return false;
  }
  memcpy(buf, p, len);
  return true;
}

/* Visits the bytes [off, off + len) of the readable (write == false) or
 * writable segments of `c`, in order, through the device's view. */
static bool chain_bytes(struct vm_dev *d, const struct model_chain *c,
                        bool writable, uint32_t off, uint8_t *buf, uint32_t len,
                        bool to_memory) {
  uint32_t pos = 0; /* offset of this segment in the readable/writable run */
  for (unsigned i = 0; i < c->nseg && len > 0; i++) {
    const struct model_seg *s = &c->seg[i];
    if (s->write != writable) {
      continue;
    }
    if (off < pos + s->len) {
      uint32_t in = off - pos;
      uint32_t n = RL_MIN(len, s->len - in);
      void *p;
      if (host_dma_device_ptr(s->addr + in, n, &p) != RL_OK) {
        vm_violation(d,
                     "chain %u: buffer at %#llx (%u bytes) is not DMA "
                     "memory",
                     c->id, (unsigned long long)s->addr, s->len);
        return false;
      }
      if (to_memory) {
        memcpy(p, buf, n);
      } else {
        memcpy(buf, p, n);
      }
      buf += n;
      off += n;
      len -= n;
    }
    pos += s->len;
  }
  return len == 0;
}

bool vm_read(struct vm_dev *d, const struct model_chain *c, uint32_t off,
             void *buf, uint32_t len) {
  return chain_bytes(d, c, false, off, buf, len, false);
}

void vm_answer(struct vm_dev *d, unsigned q, const struct model_chain *c,
               const void *resp, uint32_t resp_len, uint32_t used_len) {
  struct vm_queue *vq = &d->q[q];
  uint32_t n = RL_MIN(resp_len, c->in_len);
  /* push fills the used bytes with the model's pattern; the answer is
   * written over it before the driver can look (same thread). */
  if (used_len <= c->in_len) {
    vq->ops->push(vq->m, c->id, used_len);
  }
  (void)chain_bytes(d, c, true, 0, (uint8_t *)(uintptr_t)resp, n, true);
  if (used_len > c->in_len) {
    vq->ops->push_raw(vq->m, c->id, used_len);
  }
}

uint32_t vm_status(const struct vm_dev *d) { return d->status; }
uint64_t vm_driver_features(const struct vm_dev *d) { return d->drv_features; }

bool vm_queue_ready(const struct vm_dev *d, unsigned q) {
  return q < VM_QUEUES && d->q[q].ready;
}

uint32_t vm_queue_num(const struct vm_dev *d, unsigned q) {
  return q < VM_QUEUES ? d->q[q].num : 0;
}

const char *vm_queue_layout(const struct vm_dev *d, unsigned q) {
  return q < VM_QUEUES && d->q[q].ops != NULL ? d->q[q].ops->name : NULL;
}

unsigned long vm_notifies(const struct vm_dev *d, unsigned q) {
  return q < VM_QUEUES ? d->q[q].notifies : 0;
}

unsigned long vm_interrupts(const struct vm_dev *d) { return d->interrupts; }
unsigned vm_held(const struct vm_dev *d) { return d->nheld; }
unsigned long vm_batch(const struct vm_dev *d) { return d->batch; }
bool vm_batch_interrupted(const struct vm_dev *d, unsigned long batch) {
  unsigned bit = (unsigned)(batch % VM_BATCH_HISTORY);
  return batch + VM_BATCH_HISTORY <= d->batch ||
         ((d->batch_irq[bit / 8] >> (bit % 8)) & 1u) != 0;
}
unsigned long vm_idle_batches(const struct vm_dev *d) {
  return d->idle_batches;
}

/* The virtio core's request API (virtio/core/virtqueue.c, virtio.c) on the
 * host: a struct virtio_device built by hand whose register file is a
 * zeroed host buffer (so a notification is a plain memory write at
 * QueueNotify), a split queue, and the split device model playing the
 * device. klog goes to stdout (lib/log.c through
 * tests/unit/support/host_log.c); the cases that check a log
 * line capture stdout. */
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
#include <unistd.h>

#include <arch/dma.h>
#include <arch/irq.h>
#include <arch/time.h>
#include <virtio/core/virtio.h>
#include <virtio/core/virtqueue_impl.h>
#include <virtio/core/vq_select.h>
#include <virtio/transport-mmio/mmio.h>
#include <virtio/transport-mmio/virtio_mmio.h>

#include "arch_host.h"
#include "model.h"

static const struct arch_dma_dev coherent = {.coherent = true};

extern const struct vq_ops vq_split_ops;
extern const struct vq_backend_desc vq_split_desc;
extern const struct vq_backend_desc vq_packed_desc;

#define REGS_SIZE 0x200
#define DEV_NAME "virtio-test@0x10001000"
#define MAX_DONE 64
#define TICK_IRQ 700 /* a spare interrupt the "device" runs on */

struct core_fx {
  struct virtio_mmio_device mm; /* the device on the buffer below */
  uint8_t *regs;
  struct model *m;
  struct vq_config cfg;
  struct arch_dma_buf data;
  size_t dma_base;
  uint8_t tokens[MAX_DONE];
  unsigned ndone;
  void *done_token[MAX_DONE];
  uint32_t done_len[MAX_DONE];
  void *wait_for; /* the done callback sets `flag` for this token */
  volatile bool flag;
};

static void on_done(struct virtqueue *vq, void *token, uint32_t len) {
  struct core_fx *f = vq->dev->priv;
  if (f->ndone < MAX_DONE) {
    f->done_token[f->ndone] = token;
    f->done_len[f->ndone] = len;
  }
  f->ndone++;
  if (token == f->wait_for) {
    f->flag = true;
  }
}

static uint32_t reg(const struct core_fx *f, uint32_t off) {
  uint32_t v;
  memcpy(&v, f->regs + off, sizeof(v));
  return v;
}
static void set_reg(struct core_fx *f, uint32_t off, uint32_t v) {
  memcpy(f->regs + off, &v, sizeof(v));
}

static void *tok(struct core_fx *f, unsigned i) { return &f->tokens[i]; }

static int setup(void **state) {
  struct core_fx *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    return -1;
  }
  host_irq_reset();
  f->dma_base = host_dma_live_count();
  f->regs = calloc(1, REGS_SIZE);
  if (f->regs == NULL) {
    free(f);
    return -1;
  }
  struct virtio_mmio_slot slot = {
      .pa = 0x10001000,
      .size = REGS_SIZE,
      .irq = 40,
      .regs = f->regs,
      .version = 2,
      .device_id = 4,
      .dma_coherent = true,
  };
  if (virtio_mmio_device_init(&f->mm, &slot) != RL_OK) {
    free(f->regs);
    free(f);
    return -1;
  }
  (void)snprintf(f->mm.dev.name, sizeof(f->mm.dev.name), "%s", DEV_NAME);
  f->mm.dev.priv = f;
  if (arch_dma_alloc(4, &f->data) != RL_OK) {
    free(f->regs);
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct core_fx *f = *state;
  if (f->m != NULL) {
    model_split_ops.detach(f->m);
  }
  for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
    struct virtqueue *vq = f->mm.dev.queues[i];
    if (vq != NULL && vq->backend != NULL) {
      vq->ops->destroy(vq->backend);
      vq->backend = NULL;
    }
  }
  virtio_device_release(&f->mm.dev);
  arch_dma_free(&f->data);
  free(f->regs);
  host_irq_reset();
  size_t base = f->dma_base;
  free(f);
  assert_int_equal(host_dma_live_count(), base);
  return 0;
}

/* A split queue set up by hand as virtio_queue_setup would, and the model
 * attached to its rings. */
static struct virtqueue *open_queue(struct core_fx *f, unsigned index,
                                    uint16_t size, bool event_idx) {
  if (f->mm.dev.queues[index] == NULL) {
    f->mm.dev.queues[index] = calloc(1, sizeof(struct virtqueue));
    assert_non_null(f->mm.dev.queues[index]);
  }
  struct virtqueue *vq = f->mm.dev.queues[index];
  vq->dev = &f->mm.dev;
  vq->index = index;
  vq->name = "requestq";
  vq->size = size;
  vq->ops = &vq_split_ops;
  vq->done = on_done;
  f->cfg = (struct vq_config){
      .size = size,
      .event_idx = event_idx,
      .legacy_align = 4096,
      .dma = &coherent,
  };
  assert_int_equal(vq->ops->create(&f->cfg, &vq->backend), RL_OK);
  struct vq_addrs a;
  vq->ops->addrs(vq->backend, &a);
  f->m = model_split_ops.attach(&a, &f->cfg);
  return vq;
}

/* One writable segment of 32 bytes per request, at 64 * i. */
static rl_status submit(struct core_fx *f, struct virtqueue *vq, unsigned i) {
  struct vq_seg in = {f->data.phys + 64u * i, 32};
  return virtqueue_submit(vq, NULL, 0, &in, 1, tok(f, i));
}

static uint32_t device_takes(struct core_fx *f) {
  struct model_chain c;
  assert_true(model_split_ops.pop(f->m, &c));
  return c.id;
}

/* stdout into a temporary file, to read back what klog printed. */
struct capture {
  FILE *file;
  int saved;
};

static void capture_start(struct capture *c) {
  (void)fflush(stdout);
  c->file = tmpfile();
  assert_non_null(c->file);
  c->saved = dup(STDOUT_FILENO);
  assert_true(c->saved >= 0);
  assert_true(dup2(fileno(c->file), STDOUT_FILENO) >= 0);
}

static void capture_end(struct capture *c, char *buf, size_t size) {
  (void)fflush(stdout);
  assert_true(dup2(c->saved, STDOUT_FILENO) >= 0);
  (void)close(c->saved);
  rewind(c->file);
  size_t n = fread(buf, 1, size - 1, c->file);
  buf[n] = '\0';
  (void)fclose(c->file);
  (void)fputs(buf, stdout); /* still shown in the test's output */
}

static void assert_contains(const char *text, const char *part) {
  if (strstr(text, part) == NULL) {
    fail_msg("\"%s\" not in the log: %s", part, text);
  }
}

/* ---- cases ------------------------------------------------------------ */

static void test_submit_poll(void **state) {
  struct core_fx *f = *state;
  struct virtqueue *vq = open_queue(f, 2, 8, false);
  set_reg(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0xdeadbeef);
  assert_int_equal(submit(f, vq, 0), RL_OK);
  assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_NOTIFY), 2); /* queue index */
  assert_int_equal(vq->notifications, 1);
  assert_int_equal(virtqueue_poll(vq), 0);
  uint32_t id = device_takes(f);
  model_split_ops.push(f->m, id, 24);
  assert_int_equal(virtqueue_poll(vq), 1);
  assert_int_equal(f->ndone, 1);
  assert_ptr_equal(f->done_token[0], tok(f, 0));
  assert_int_equal(f->done_len[0], 24);
  assert_int_equal(vq->completions, 1);
  const uint8_t *p = f->data.cpu;
  for (unsigned i = 0; i < 24; i++) {
    assert_int_equal(p[i], model_pattern(id, i));
  }
  assert_int_equal(virtqueue_poll(vq), 0);
  assert_int_equal(f->ndone, 1);
}

static void test_kick_suppressed(void **state) {
  struct core_fx *f = *state;
  struct virtqueue *vq = open_queue(f, 1, 8, false);
  set_reg(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0xdeadbeef);
  model_split_ops.set_notify(f->m, false);
  assert_int_equal(submit(f, vq, 0), RL_OK);
  assert_int_equal(vq->notifications, 0);
  assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_NOTIFY), 0xdeadbeef);
  /* Several adds, one kick, one notification. */
  model_split_ops.set_notify(f->m, true);
  for (unsigned i = 1; i <= 3; i++) {
    struct vq_seg in = {f->data.phys + 64u * i, 32};
    assert_int_equal(virtqueue_add(vq, NULL, 0, &in, 1, tok(f, i)), RL_OK);
  }
  assert_int_equal(vq->notifications, 0);
  virtqueue_kick(vq);
  assert_int_equal(vq->notifications, 1);
  assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_NOTIFY), 1);
  virtqueue_kick(vq); /* nothing new */
  assert_int_equal(vq->notifications, 1);
}

static RL_UNUSED void test_kick_event_idx(void **state) {
  struct core_fx *f = *state;
  struct virtqueue *vq = open_queue(f, 0, 16, true);
  model_split_ops.set_notify_event(f->m, 2);
  for (unsigned i = 0; i < 6; i++) {
    assert_int_equal(submit(f, vq, i), RL_OK);
    /* Only the third request moves the index past 2. */
    assert_int_equal(vq->notifications, i >= 2 ? 1 : 0);
  }
}

static void test_poll_out_of_order(void **state) {
  struct core_fx *f = *state;
  struct virtqueue *vq = open_queue(f, 0, 8, false);
  uint32_t id[5];
  for (unsigned i = 0; i < 5; i++) {
    assert_int_equal(submit(f, vq, i), RL_OK);
  }
  assert_int_equal(vq->notifications, 5);
  for (unsigned i = 0; i < 5; i++) {
    id[i] = device_takes(f);
  }
  const unsigned order[5] = {3, 1, 4, 0, 2};
  for (unsigned i = 0; i < 5; i++) {
    model_split_ops.push(f->m, id[order[i]], order[i] + 1);
  }
  assert_int_equal(virtqueue_poll(vq), 5);
  assert_int_equal(vq->completions, 5);
  for (unsigned i = 0; i < 5; i++) {
    assert_ptr_equal(f->done_token[i], tok(f, order[i]));
    assert_int_equal(f->done_len[i], order[i] + 1);
  }
  char buf[200];
  virtqueue_describe(vq, buf, sizeof(buf));
  assert_string_equal(buf, "split ring: driver avail idx 5, used idx consumed "
                           "5, device used idx 5, 0 in flight, 8 free "
                           "descriptors");
}

static void test_wait_done(void **state) {
  struct core_fx *f = *state;
  struct virtqueue *vq = open_queue(f, 0, 8, false);
  f->wait_for = tok(f, 1);
  assert_int_equal(submit(f, vq, 0), RL_OK);
  assert_int_equal(submit(f, vq, 1), RL_OK);
  uint32_t a = device_takes(f);
  uint32_t b = device_takes(f);
  model_split_ops.push(f->m, b, 5);
  model_split_ops.push(f->m, a, 6);
  unsigned long reads = host_time_reads();
  assert_int_equal(virtqueue_wait(vq, &f->flag, 1000000000ull), RL_OK);
  assert_true(f->flag);
  assert_int_equal(f->ndone, 2);
  /* Answered already: taken without reading the clock (under QEMU a read
   * may wait for the device model's long command). */
  assert_int_equal(host_time_reads(), reads);
}

/* The device answers a few wake-ups into the wait: it runs on a spare
 * interrupt that re-raises itself, so each delivery point of the host arch
 * layer (irq restore, idle) is one step of the device. */
struct late_device {
  struct core_fx *f;
  unsigned ticks;
  unsigned answer_at;
};

static void late_tick(void *ctx) {
  struct late_device *d = ctx;
  d->ticks++;
  if (d->ticks == d->answer_at) {
    model_split_ops.push(d->f->m, device_takes(d->f), 7);
  } else if (d->ticks < d->answer_at) {
    (void)host_irq_raise(TICK_IRQ); /* masked here: pending */
  }
}

static void test_wait_late_answer(void **state) {
  struct core_fx *f = *state;
  struct virtqueue *vq = open_queue(f, 0, 8, false);
  f->wait_for = tok(f, 0);
  assert_int_equal(submit(f, vq, 0), RL_OK);
  struct late_device d = {f, 0, 4};
  assert_int_equal(arch_irq_register(TICK_IRQ, late_tick, &d), RL_OK);
  assert_int_equal(arch_irq_enable(TICK_IRQ), RL_OK);
  unsigned long flags = arch_irq_save();
  assert_int_equal(host_irq_raise(TICK_IRQ), RL_OK);
  arch_irq_restore(flags); /* first tick */
  assert_int_equal(d.ticks, 1);
  assert_false(f->flag);
  uint64_t t0 = arch_time_ns();
  assert_int_equal(virtqueue_wait(vq, &f->flag, 1000000000ull), RL_OK);
  assert_true(arch_time_ns() - t0 < 500000000ull);
  assert_int_equal(d.ticks, 4);
  assert_int_equal(f->ndone, 1);
  assert_int_equal(f->done_len[0], 7);
}

static void test_wait_timeout(void **state) {
  struct core_fx *f = *state;
  struct virtqueue *vq = open_queue(f, 3, 8, false);
  f->wait_for = tok(f, 0);
  assert_int_equal(submit(f, vq, 0), RL_OK);
  uint32_t id = device_takes(f); /* and does not answer */
  struct capture cap;
  char log[2048];
  capture_start(&cap);
  uint64_t t0 = arch_time_ns();
  rl_status st = virtqueue_wait(vq, &f->flag, 20000000ull);
  uint64_t elapsed = arch_time_ns() - t0;
  capture_end(&cap, log, sizeof(log));
  assert_int_equal(st, RL_ERR_TIMEOUT);
  assert_true(elapsed >= 20000000ull);
  assert_true(elapsed < 2000000000ull);
  assert_false(f->flag);
  assert_int_equal(f->ndone, 0);
#ifdef CONFIG_LOG_TEXT
  assert_contains(log, "error: " DEV_NAME ": queue 3 (requestq): timeout "
                       "after 20 ms");
  assert_contains(log, "driver avail idx 1");
  assert_contains(log, "device used idx 0");
  assert_contains(log, "1 in flight");
#else
  /* Terse (virtqueue.c report()): queue, RL_ERR_TIMEOUT, avail idx, used
   * seen, used idx, in flight. */
  assert_contains(log, " " DEV_NAME " 0x3 -3 0x1 0 0 0x1 ");
#endif
  /* A late answer still completes: a timeout does not break the queue. */
  assert_false(vq->broken);
  model_split_ops.push(f->m, id, 1);
  assert_int_equal(virtqueue_poll(vq), 1);
  assert_true(f->flag);
}

static void test_broken(void **state) {
  struct core_fx *f = *state;
  struct virtqueue *vq = open_queue(f, 1, 8, false);
  f->wait_for = tok(f, 0);
  assert_int_equal(submit(f, vq, 0), RL_OK);
  assert_int_equal(submit(f, vq, 1), RL_OK);
  (void)device_takes(f);
  (void)device_takes(f);
  model_split_ops.push_raw(f->m, 77, 0);
  struct capture cap;
  char log[2048];
  capture_start(&cap);
  int n = virtqueue_poll(vq);
  int again = virtqueue_poll(vq);
  capture_end(&cap, log, sizeof(log));
  assert_int_equal(n, RL_ERR_BROKEN);
  assert_int_equal(again, RL_ERR_BROKEN);
  assert_true(vq->broken);
  assert_int_equal(f->ndone, 0);
#ifdef CONFIG_LOG_TEXT
  assert_contains(log, DEV_NAME ": queue 1 (requestq): the device wrote an "
                                "invalid used entry");
  assert_contains(log, "device used idx 1");
  /* Logged once, not on every later call. */
  assert_null(
      strstr(strstr(log, "invalid used entry") + 1, "invalid used entry"));
#else
  /* Terse: queue, RL_ERR_BROKEN, avail idx, used seen, used idx; once. */
  assert_contains(log, " " DEV_NAME " 0x1 -10 0x2 0 0x1 ");
  assert_null(strstr(strstr(log, " -10 ") + 1, " -10 "));
#endif
  assert_int_equal(submit(f, vq, 2), RL_ERR_BROKEN);
  assert_int_equal(virtqueue_wait(vq, &f->flag, 1000000ull), RL_ERR_BROKEN);
  assert_int_equal(vq->completions, 0);
}

/* A reset fails every outstanding request with len UINT32_MAX, including
 * one the device used and nobody collected, and releases the queue. */
static RL_UNUSED void test_reset(void **state) {
  struct core_fx *f = *state;
  struct virtqueue *vq = open_queue(f, 0, 8, false);
  for (unsigned i = 0; i < 3; i++) {
    assert_int_equal(submit(f, vq, i), RL_OK);
  }
  model_split_ops.push(f->m, device_takes(f), 3);
  set_reg(f, VIRTIO_MMIO_STATUS, 0xf);
  assert_int_equal(virtio_device_reset(&f->mm.dev), RL_OK);
  assert_int_equal(reg(f, VIRTIO_MMIO_STATUS), 0);
  assert_int_equal(f->ndone, 3);
  uint8_t seen[3] = {0};
  for (unsigned i = 0; i < 3; i++) {
    assert_int_equal(f->done_len[i], UINT32_MAX);
    size_t t = (size_t)((uint8_t *)f->done_token[i] - f->tokens);
    assert_true(t < 3);
    seen[t]++;
  }
  assert_memory_equal(seen, ((uint8_t[3]){1, 1, 1}), 3);
  /* The queue is released: the driver sets it up again from scratch. */
  assert_null(vq->backend);
  model_split_ops.detach(f->m);
  f->m = NULL;
  vq = open_queue(f, 0, 8, false);
  struct vq_state s;
  vq->ops->state(vq->backend, &s);
  assert_int_equal(s.free_descs, 8);
  assert_int_equal(s.in_flight, 0);
  assert_int_equal(submit(f, vq, 0), RL_OK);
}

/* DEVICE_NEEDS_RESET (§2.1.2): the config interrupt reports it, a waiter
 * gives up at once instead of waiting for its deadline, and recovery resets
 * the device, fails the pending request and runs the driver's probe again,
 * which sets the queue up anew. */
static unsigned recover_probes;
static struct core_fx *recover_fx;

static rl_status recover_probe(struct virtio_device *dev) {
  (void)dev;
  recover_probes++;
  model_split_ops.detach(recover_fx->m);
  recover_fx->m = NULL;
  (void)open_queue(recover_fx, 0, 8, false);
  return RL_OK;
}

static void test_needs_reset(void **state) {
  struct core_fx *f = *state;
  static const struct virtio_driver drv = {
      .name = "test", .device_id = 4, .probe = recover_probe};
  recover_fx = f;
  recover_probes = 0;
  f->mm.dev.driver = &drv;
  struct virtqueue *vq = open_queue(f, 0, 8, false);
  f->wait_for = tok(f, 0);
  assert_int_equal(submit(f, vq, 0), RL_OK);
  (void)device_takes(f); /* the device took it, then gave up */
  set_reg(f, VIRTIO_MMIO_STATUS, 0xf | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
  set_reg(f, VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_INT_CONFIG);
  virtio_handle_interrupt(&f->mm.dev);
  assert_true(f->mm.dev.needs_reset);
  host_time_virtual(true);
  uint64_t start = arch_time_ns();
  assert_int_equal(virtqueue_wait(vq, &f->flag, 1000000000ull), RL_ERR_BROKEN);
  assert_int_equal(arch_time_ns(), start); /* no waiting at all */
  host_time_virtual(false);
  assert_int_equal(f->ndone, 0);

#ifndef CONFIG_VIRTIO_RECOVERY
  /* No recovery: the device is failed, its request stays the device's. */
  assert_int_equal(virtio_device_recover(&f->mm.dev), RL_ERR_BROKEN);
  assert_true(f->mm.dev.failed);
  assert_true(reg(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FAILED);
  assert_int_equal(f->ndone, 0);
  assert_int_equal(recover_probes, 0);
#else
  assert_int_equal(virtio_device_recover(&f->mm.dev), RL_OK);
  assert_false(f->mm.dev.needs_reset);
  assert_int_equal(reg(f, VIRTIO_MMIO_STATUS), 0); /* reset was written */
  assert_int_equal(f->ndone, 1);
  assert_ptr_equal(f->done_token[0], tok(f, 0));
  assert_int_equal(f->done_len[0], UINT32_MAX);
  assert_true(f->flag);
  assert_int_equal(recover_probes, 1);
  /* The new queue works. */
  vq = f->mm.dev.queues[0];
  assert_non_null(vq->backend);
  f->flag = false;
  f->wait_for = tok(f, 1);
  assert_int_equal(submit(f, vq, 1), RL_OK);
  model_split_ops.push(f->m, device_takes(f), 4);
  assert_int_equal(virtqueue_wait(vq, &f->flag, 1000000000ull), RL_OK);
  assert_int_equal(f->done_len[1], 4);
#endif
}

/* With the interrupt wired: the handler acknowledges and drains. */
static void test_interrupt(void **state) {
  struct core_fx *f = *state;
  struct virtqueue *vq = open_queue(f, 0, 8, false);
  assert_int_equal(virtio_device_ready(&f->mm.dev), RL_OK);
  assert_true(f->mm.dev.irq_ready);
  assert_true(reg(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK);
  f->wait_for = tok(f, 0);
  assert_int_equal(submit(f, vq, 0), RL_OK);
  model_split_ops.push(f->m, device_takes(f), 9);
  assert_true(model_split_ops.should_interrupt(f->m));
  set_reg(f, VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_INT_VRING);
  assert_int_equal(host_irq_raise(f->mm.slot.irq), RL_OK);
  assert_int_equal(reg(f, VIRTIO_MMIO_INTERRUPT_ACK), VIRTIO_MMIO_INT_VRING);
  assert_int_equal(vq->interrupts, 1);
  assert_int_equal(f->ndone, 1);
  assert_int_equal(f->done_len[0], 9);
  assert_int_equal(virtqueue_wait(vq, &f->flag, 1000000ull), RL_OK);
}

/* virtio_queue_setup programs the registers; the model finds the rings
 * from them alone, as the device would. */
static void test_queue_setup_registers(void **state) {
  struct core_fx *f = *state;
  f->mm.dev.features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
  f->mm.dev.ring = &vq_split_desc; /* as negotiation chose */
  set_reg(f, VIRTIO_MMIO_QUEUE_NUM_MAX, 256);
  struct virtqueue *vq;
  assert_int_equal(virtio_queue_setup(&f->mm.dev, 1, "txq", 100, on_done, &vq),
                   RL_OK);
  assert_int_equal(vq->size, 64);
  assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_SEL), 1);
  assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_NUM), 64);
  assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_READY), 1);
  struct vq_addrs a = {
      reg(f, VIRTIO_MMIO_QUEUE_DESC_LOW) |
          (uint64_t)reg(f, VIRTIO_MMIO_QUEUE_DESC_HIGH) << 32,
      reg(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW) |
          (uint64_t)reg(f, VIRTIO_MMIO_QUEUE_DRIVER_HIGH) << 32,
      reg(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW) |
          (uint64_t)reg(f, VIRTIO_MMIO_QUEUE_DEVICE_HIGH) << 32,
  };
  f->cfg = (struct vq_config){.size = 64, .dma = &coherent};
  f->m = model_split_ops.attach(&a, &f->cfg);
  assert_int_equal(submit(f, vq, 0), RL_OK);
  model_split_ops.push(f->m, device_takes(f), 4);
  assert_int_equal(virtqueue_poll(vq), 1);
  assert_int_equal(f->done_len[0], 4);
  /* The same queue again: busy. */
  assert_int_equal(virtio_queue_setup(&f->mm.dev, 1, "txq", 100, on_done, &vq),
                   RL_ERR_BUSY);
}

/* §4.2.4: a legacy device has only QueuePFN, 32 bits of page number.
 * Either it reaches the ring exactly, or the setup fails; a truncated
 * page number would send the device to someone else's memory. (Host DMA
 * addresses start at 2^43, within what a PFN reaches.) */
static void test_queue_setup_legacy(void **state) {
  struct core_fx *f = *state;
  f->mm.slot.version = 1;
  f->mm.dev.legacy = true;
  f->mm.dev.ring = &vq_split_desc;
  set_reg(f, VIRTIO_MMIO_QUEUE_NUM_MAX, 1024);
  struct virtqueue *vq = NULL;
  rl_status st = virtio_queue_setup(&f->mm.dev, 0, "rxq", 300, on_done, &vq);
  if (st != RL_OK) {
    assert_true(f->mm.dev.queues[0] == NULL ||
                f->mm.dev.queues[0]->backend == NULL);
    assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_PFN), 0);
    return;
  }
  assert_int_equal(vq->size, 256);
  assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_NUM), 256);
  assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_ALIGN), 4096);
  struct vq_addrs real;
  vq->ops->addrs(vq->backend, &real);
  uint64_t n = 256;
  uint64_t desc = (uint64_t)reg(f, VIRTIO_MMIO_QUEUE_PFN) * 4096;
  if (desc != real.desc) {
    fail_msg("QueuePFN %#x names %#llx, the ring is at %#llx",
             reg(f, VIRTIO_MMIO_QUEUE_PFN), (unsigned long long)desc,
             (unsigned long long)real.desc);
  }
  /* What a legacy device computes from the page number alone. */
  struct vq_addrs a = {
      desc,
      desc + 16 * n,
      RL_ALIGN_UP(desc + 16 * n + 6 + 2 * n, (uint64_t)4096),
  };
  f->cfg = (struct vq_config){
      .size = 256, .legacy = true, .legacy_align = 4096, .dma = &coherent};
  f->m = model_split_ops.attach(&a, &f->cfg);
  for (unsigned i = 0; i < 3; i++) {
    assert_int_equal(submit(f, vq, i), RL_OK);
  }
  for (unsigned i = 0; i < 3; i++) {
    model_split_ops.push(f->m, device_takes(f), i);
  }
  assert_int_equal(virtqueue_poll(vq), 3);
  assert_int_equal(f->ndone, 3);
  assert_int_equal(f->done_len[2], 2);
}

/* ---- backend choice (vq_select_from) on every configuration's table -- */

static void assert_has(const char *s, const char *needle) {
  if (strstr(s, needle) == NULL) {
    fail_msg("\"%s\" does not say \"%s\"", s, needle);
  }
}

/* Issue 13 item 1: the packed ring needs a dma-coherent device (its
 * descriptors share cache lines with the device's writes). Preferring
 * packed, a non-coherent device gets split with one warning naming it;
 * a packed-only build refuses it with a message saying why and what to
 * do; split-only and split-first builds are not affected. */
static void test_select_needs_coherent(void **state) {
  struct core_fx *f = *state;
  struct virtio_device *dev = &f->mm.dev;
  const uint64_t offered =
      VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_PACKED);
  const struct vq_backend_desc *prefer_packed[] = {&vq_packed_desc,
                                                   &vq_split_desc};
  const struct vq_backend_desc *prefer_split[] = {&vq_split_desc,
                                                  &vq_packed_desc};
  const struct vq_backend_desc *packed_only[] = {&vq_packed_desc};
  const struct vq_backend_desc *split_only[] = {&vq_split_desc};
  struct vq_choice c;

  /* Coherent: packed wherever the table has it first. */
  dev->dma.coherent = true;
  assert_ptr_equal(vq_select_from(prefer_packed, 2, dev, offered, &c),
                   &vq_packed_desc);
  assert_string_equal(c.why, "RING_PACKED negotiated");
  assert_string_equal(c.warning, "");
  assert_ptr_equal(vq_select_from(packed_only, 1, dev, offered, &c),
                   &vq_packed_desc);
  assert_string_equal(c.warning, "");

  /* Not coherent, preferring packed: split, and a warning. */
  dev->dma.coherent = false;
  assert_ptr_equal(vq_select_from(prefer_packed, 2, dev, offered, &c),
                   &vq_split_desc);
  assert_string_equal(c.why, "not dma-coherent: no packed ring");
  assert_has(c.warning, DEV_NAME ": packed ring refused, using the split "
                                 "ring: the device is not dma-coherent");

  /* Split first, or only: split, nothing to warn about. */
  assert_ptr_equal(vq_select_from(prefer_split, 2, dev, offered, &c),
                   &vq_split_desc);
  assert_string_equal(c.why,
                      "preferred (CONFIG_VIRTIO_QUEUE_BOTH_PREFER_SPLIT)");
  assert_string_equal(c.warning, "");
  assert_ptr_equal(vq_select_from(split_only, 1, dev, offered, &c),
                   &vq_split_desc);
  assert_string_equal(c.why, "the only backend built");
  assert_string_equal(c.warning, "");

  /* Packed only: none, and the message says why and what to do. */
  assert_null(vq_select_from(packed_only, 1, dev, offered, &c));
  assert_has(c.warning, DEV_NAME ": this build has only the packed ring, "
                                 "which needs a dma-coherent device");
  assert_has(c.warning, "the device tree does not make this one dma-coherent");
  assert_has(c.warning, "choose a configuration with the split ring");

  /* Not offered at all still says so first (packed only). */
  assert_null(
      vq_select_from(packed_only, 1, dev, VIRTIO_BIT(VIRTIO_F_VERSION_1), &c));
  assert_has(c.warning, "does not offer VIRTIO_F_RING_PACKED (bit 34)");
}

/* virtio_device_name: every id virtio 1.2 §5 names here, and "other"
 * for the rest (gaps, past the table). */
static void test_device_names(void **state) {
  (void)state;
  static const struct {
    uint32_t id;
    const char *name;
  } want[] = {{0, "empty"},   {1, "net"},     {2, "block"},
              {3, "console"}, {4, "rng"},     {5, "balloon"},
              {6, "other"},   {15, "other"},  {16, "gpu"},
              {17, "other"},  {18, "input"},  {19, "vsock"},
              {20, "other"},  {255, "other"}, {0xffffffffu, "other"}};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
#ifdef CONFIG_LOG_TEXT
    assert_string_equal(virtio_device_name(want[i].id), want[i].name);
#else
    /* No table: a device without a driver here is "other". */
    if (virtio_driver_for(want[i].id) == NULL) {
      assert_string_equal(virtio_device_name(want[i].id), "other");
    }
#endif
  }
}

/* virtio_feature_name: the transport's names (§6) and the driver's
 * list from bit 0 ("" for a bit without a name). */
static void test_feature_names(void **state) {
  (void)state;
  static const struct virtio_driver drv = {.feature_names = "ZERO\0\0TWO",
                                           .feature_name_count = 3};
  struct virtio_device dev = {.driver = &drv};
  assert_string_equal(virtio_feature_name(&dev, 0), "ZERO");
  assert_null(virtio_feature_name(&dev, 1));
  assert_string_equal(virtio_feature_name(&dev, 2), "TWO");
  assert_null(virtio_feature_name(&dev, 3));
  assert_null(virtio_feature_name(&dev, 23));
  assert_string_equal(virtio_feature_name(&dev, 24), "NOTIFY_ON_EMPTY");
  assert_null(virtio_feature_name(&dev, 25));
  assert_string_equal(virtio_feature_name(&dev, 27), "ANY_LAYOUT");
  assert_string_equal(virtio_feature_name(&dev, VIRTIO_F_INDIRECT_DESC),
                      "INDIRECT_DESC");
  assert_string_equal(virtio_feature_name(&dev, VIRTIO_F_EVENT_IDX),
                      "EVENT_IDX");
  assert_string_equal(virtio_feature_name(&dev, VIRTIO_F_VERSION_1),
                      "VERSION_1");
  assert_string_equal(virtio_feature_name(&dev, VIRTIO_F_ACCESS_PLATFORM),
                      "ACCESS_PLATFORM");
  assert_string_equal(virtio_feature_name(&dev, VIRTIO_F_RING_PACKED),
                      "RING_PACKED");
  assert_string_equal(virtio_feature_name(&dev, VIRTIO_F_IN_ORDER), "IN_ORDER");
  assert_string_equal(virtio_feature_name(&dev, VIRTIO_F_ORDER_PLATFORM),
                      "ORDER_PLATFORM");
  assert_null(virtio_feature_name(&dev, 37));
  assert_string_equal(virtio_feature_name(&dev, VIRTIO_F_NOTIFICATION_DATA),
                      "NOTIFICATION_DATA");
  assert_string_equal(virtio_feature_name(&dev, VIRTIO_F_RING_RESET),
                      "RING_RESET");
  assert_null(virtio_feature_name(&dev, 41));
  assert_null(virtio_feature_name(&dev, 63));
  dev.driver = NULL;
  assert_null(virtio_feature_name(&dev, 0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_device_names),
    cmocka_unit_test(test_feature_names),
    cmocka_unit_test_setup_teardown(test_submit_poll, setup, teardown),
    cmocka_unit_test_setup_teardown(test_kick_suppressed, setup, teardown),
#ifdef CONFIG_VIRTIO_EVENT_IDX /* no EVENT_IDX */
    cmocka_unit_test_setup_teardown(test_kick_event_idx, setup, teardown),
#endif
    cmocka_unit_test_setup_teardown(test_poll_out_of_order, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wait_done, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wait_late_answer, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wait_timeout, setup, teardown),
    cmocka_unit_test_setup_teardown(test_broken, setup, teardown),
#if VQ_DETACH /* resets a device with a live queue */
    cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
#endif
    cmocka_unit_test_setup_teardown(test_needs_reset, setup, teardown),
    cmocka_unit_test_setup_teardown(test_interrupt, setup, teardown),
    cmocka_unit_test_setup_teardown(test_queue_setup_registers, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_queue_setup_legacy, setup, teardown),
    cmocka_unit_test_setup_teardown(test_select_needs_coherent, setup,
                                    teardown),
  };
  return cmocka_run_group_tests_name("virtio_core", tests, NULL, NULL);
}

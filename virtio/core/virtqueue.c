/* Requests on a virtqueue: add, kick (with event suppression), poll and
 * the blocking wait with a deadline. */
#include <arch/irq.h>
#include <arch/time.h>
#include <lib/fmt.h>
#include <lib/log.h>
#include <ringlight/config.h>
#include <virtio/core/virtio.h>

#include "virtqueue_impl.h"

/* Without an interrupt, how often the wait polls. */
#define POLL_INTERVAL_NS 20000ull

/* Without message text (CONFIG_LOG_TEXT) a broken queue and a timeout
 * share one error line: the queue, why (RL_ERR_BROKEN: an invalid used
 * entry; RL_ERR_TIMEOUT), the ring's state as numbers (struct vq_state:
 * driver index, used index consumed, device's used index, in flight,
 * free descriptors, and the packed ring's wrap counters as driver * 2 +
 * used), then the device status and interrupt status. */
#ifndef CONFIG_LOG_TEXT
static VQ_COLD __attribute__((noinline)) void report(const struct virtqueue *vq,
                                                     rl_status why) {
  struct vq_state s = {0};
  vq->ops->state(vq->backend, &s);
  struct virtio_device *dev = vq->dev;
  klog(LOG_ERROR, "%s: queue %u: %d: %u %u %u %u %u %u; %#x %#x\n", dev->name,
       vq->index, (int)why, s.driver_idx, s.used_seen, s.device_idx,
       s.in_flight, s.free_descs, (unsigned)(s.driver_wrap * 2 + s.used_wrap),
       virtio_device_status(dev), dev->transport->interrupt_status(dev));
}
#endif

static rl_status broken(struct virtqueue *vq) {
  if (!vq->broken) {
    vq->broken = true;
#ifdef CONFIG_LOG_TEXT
    char state[160];
    virtqueue_describe(vq, state, sizeof(state));
    klog(LOG_ERROR,
         "%s: queue %u (%s): the device wrote an invalid used entry; queue "
         "broken (%s)\n",
         vq->dev->name, vq->index, vq->name, state);
#else
    report(vq, RL_ERR_BROKEN);
#endif
  }
  return RL_ERR_BROKEN;
}

rl_status virtqueue_add(struct virtqueue *vq, const struct vq_seg *out,
                        unsigned nout, const struct vq_seg *in, unsigned nin,
                        void *token) {
  if (vq->broken) {
    return RL_ERR_BROKEN;
  }
  unsigned long flags = arch_irq_save();
  rl_status st = vq->ops->add(vq->backend, out, nout, in, nin, token);
  arch_irq_restore(flags);
  return st;
}

void virtqueue_kick(struct virtqueue *vq) {
  unsigned long flags = arch_irq_save();
  bool notify = vq->ops->kick_prepare(vq->backend);
  arch_irq_restore(flags);
  if (notify) {
    vq->dev->transport->notify(vq->dev, vq->index);
    vq->notifications++;
  }
}

VQ_COLD rl_status virtqueue_submit(struct virtqueue *vq,
                                   const struct vq_seg *out, unsigned nout,
                                   const struct vq_seg *in, unsigned nin,
                                   void *token) {
  rl_status st = virtqueue_add(vq, out, nout, in, nin, token);
  if (st == RL_OK) {
    virtqueue_kick(vq);
  }
  return st;
}

void virtqueue_disable_cb(struct virtqueue *vq) {
#if VQ_CALLBACKS
  unsigned long flags = arch_irq_save();
  vq->ops->disable_cb(vq->backend);
  arch_irq_restore(flags);
#else
  (void)vq;  /* polled: the device interrupts for nothing */
#endif
}

int virtqueue_poll(struct virtqueue *vq) {
  if (vq->broken) {
    return RL_ERR_BROKEN;
  }
  unsigned long flags = arch_irq_save();
  int count = 0;
  for (;;) {
    struct vq_used u = vq->ops->get_used(vq->backend);
    rl_status st = u.token != NULL ? RL_OK : (rl_status)u.len;
    if (st == RL_ERR_NOT_FOUND) {
#if VQ_CALLBACKS
      /* Re-arm interrupts; if more arrived meanwhile, go round again. */
      if (!vq->ops->enable_cb(vq->backend)) {
        break;
      }
      continue;
#else
      break; /* polled: no interrupt to re-arm */
#endif
    }
    if (st != RL_OK) {
      arch_irq_restore(flags);
      return broken(vq);
    }
    vq->completions++;
    count++;
    vq->done(vq, u.token, (uint32_t)u.len);
  }
  arch_irq_restore(flags);
  return count;
}

void virtqueue_describe(const struct virtqueue *vq, char *buf, size_t size) {
  struct vq_state s = {0};
  vq->ops->state(vq->backend, &s);
#ifdef CONFIG_VIRTIO_QUEUE_PACKED /* only the packed ring has them */
  if (s.wrap_counters) {
    (void)rl_snprintf(buf, size,
                      "%s ring: driver next %u wrap %d, used next %u wrap %d, "
                      "%u in flight, %u free descriptors",
                      vq->ops->name, s.driver_idx, s.driver_wrap, s.used_seen,
                      s.used_wrap, s.in_flight, s.free_descs);
    return;
  }
#endif
  (void)rl_snprintf(buf, size,
                    "%s ring: driver avail idx %u, used idx consumed %u, "
                    "device used idx %u, %u in flight, %u free descriptors",
                    vq->ops->name, s.driver_idx, s.used_seen, s.device_idx,
                    s.in_flight, s.free_descs);
}

const char *virtqueue_ring_name(const struct virtqueue *vq) {
  return vq->ops->name;
}

uint16_t virtqueue_size(const struct virtqueue *vq) { return vq->size; }

void virtqueue_counts(const struct virtqueue *vq,
                      struct virtqueue_counts *out) {
  *out = (struct virtqueue_counts){vq->notifications, vq->interrupts,
                                   vq->completions};
}

/* §2.6.1: a queue that broke or stopped answering is reset alone when
 * the device negotiated RING_RESET (its pending requests fail, the
 * device and its other queues go on); otherwise it stays as it is. */
static void reset_alone(struct virtqueue *vq) {
#ifdef CONFIG_VIRTIO_RING_RESET /* else no queue is resettable */
  if (virtqueue_resettable(vq)) {
    (void)virtio_queue_reset(vq);
  }
#else
  (void)vq;
#endif
}

VQ_COLD rl_status virtqueue_wait(struct virtqueue *vq,
                                 const volatile bool *done,
                                 uint64_t timeout_ns) {
  /* The clock is read only once the answer is found missing: under QEMU
   * reading the counter waits for the emulator's global lock, which the
   * device model holds through a long command (the GPU's first copy),
   * and an answer already in must not wait for that. */
  uint64_t deadline = 0; /* 0: not read yet */
  rl_status st;
  for (;;) {
    /* Check and sleep with interrupts masked: a completion handled between
     * the check and the wfi would otherwise leave us asleep until the
     * deadline (a lost wake-up). arch_idle_until takes what is pending. */
    unsigned long flags = arch_irq_save();
    int n = virtqueue_poll(vq);
    if (n < 0 || *done) {
      arch_irq_restore(flags);
      if (n >= 0) {
        return RL_OK;
      }
      st = (rl_status)n;
      goto reset; /* its requests, this one too, fail */
    }
    if (vq->dev->needs_reset ||
        (virtio_device_status(vq->dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)) {
      /* §2.1.2: no answer will come; recovery fails the request. */
      if (!vq->dev->needs_reset) {
        klog(LOG_ERROR, "%s: device set DEVICE_NEEDS_RESET\n", vq->dev->name);
      }
      vq->dev->needs_reset = true;
      arch_irq_restore(flags);
      return RL_ERR_BROKEN;
    }
    uint64_t now = arch_time_ns();
    if (deadline == 0) {
      deadline = now + timeout_ns;
    }
    if (now >= deadline) {
      arch_irq_restore(flags);
      break;
    }
#if VIRTIO_IRQS
    uint64_t next = vq->dev->irq_ready
                        ? deadline
                        : RL_MIN(deadline, now + POLL_INTERVAL_NS);
#else
    uint64_t next = RL_MIN(deadline, now + POLL_INTERVAL_NS); /* polled */
#endif
    arch_idle_until(next);
    arch_irq_restore(flags);
  }
#ifndef CONFIG_LOG_TEXT
  report(vq, RL_ERR_TIMEOUT);
#else
  uint32_t status = virtio_device_status(vq->dev);
  char state[200];
  virtqueue_describe(vq, state, sizeof(state));
  klog(LOG_ERROR,
       "%s: queue %u (%s): timeout after %llu ms waiting for the device: "
       "%s; device status %#x%s, interrupt status %#x\n",
       vq->dev->name, vq->index, vq->name,
       (unsigned long long)(timeout_ns / 1000000), state, status,
       (status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) ? " (DEVICE_NEEDS_RESET)"
                                                   : "",
       vq->dev->transport->interrupt_status(vq->dev));
#endif
  st = RL_ERR_TIMEOUT;
reset:
  reset_alone(vq);
  return st;
}

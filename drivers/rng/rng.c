/* virtio-rng driver (virtio 1.2 §5.4): one request queue; each request is
 * a single device-writable buffer the device fills with entropy. At probe
 * it reads a few bytes and logs them, which proves the ring end to end.
 *
 * One struct rng per device, allocated at its first probe and kept in its
 * `priv` (a re-probe reuses it); the only file-level variable is the list
 * of those states, for rng_get(). */
#include <arch/dma.h>
#include <lib/fmt.h>
#include <lib/log.h>
#include <mm/heap.h>
#include <string.h>
#include <virtio/core/virtio.h>

#include "rng.h"

#define RNG_QUEUE_SIZE 64
#define RNG_TIMEOUT_NS 1000000000ull /* 1 s */

struct rng {
  struct rng *next; /* the list of every device's state, in probe order */
  struct virtio_device *dev;
  bool ready; /* the last probe succeeded: rng_get() hands it out */
  struct virtqueue *vq;
  struct arch_dma_buf buf;
  volatile bool done;
  /* Posted and not yet used: the buffer is the device's (§2.7.14), even
   * after the wait for it timed out. */
  volatile bool in_flight;
  uint32_t len;
};

static struct rng *rng_list;

static void rng_done(struct virtqueue *vq, void *token, uint32_t len) {
  (void)vq;
  struct rng *r = token;
  r->len = len;
  r->in_flight = false;
  r->done = true;
}

unsigned rng_count(void) {
  unsigned n = 0;
  for (struct rng *r = rng_list; r != NULL; r = r->next) {
    n += r->ready ? 1 : 0;
  }
  return n;
}

struct rng *rng_get(unsigned i) {
  for (struct rng *r = rng_list; r != NULL; r = r->next) {
    if (r->ready && i-- == 0) {
      return r;
    }
  }
  return NULL;
}

const char *rng_name(const struct rng *r) {
  return r != NULL ? r->dev->name : NULL;
}

/* One request (the probe's own read comes before rng_get hands `r`
 * out). */
static rl_status read_device(struct rng *r, void *buf, size_t len,
                             size_t *got) {
  if (len == 0 || len > r->buf.size) {
    return RL_ERR_INVALID;
  }
  if (r->in_flight) {
    /* An earlier request timed out: its buffer and token stay the
     * device's until it answers (its answer is dropped) or a reset fails
     * it. */
    (void)virtqueue_poll(r->vq);
    if (r->in_flight) {
      return RL_ERR_BUSY;
    }
  }
  r->done = false;
  struct vq_seg seg = {r->buf.phys, (uint32_t)len};
  arch_dma_sync_for_device(&r->dev->dma, r->buf.cpu, len, ARCH_DMA_FROM_DEVICE);
  r->in_flight = true;
  rl_status st = virtqueue_submit(r->vq, NULL, 0, &seg, 1, r);
  if (st != RL_OK) {
    r->in_flight = false; /* never posted */
  } else {
    st = virtqueue_wait(r->vq, &r->done, RNG_TIMEOUT_NS);
  }
  if (st != RL_OK) {
    return st;
  }
  if (r->len == UINT32_MAX) {
    return RL_ERR_IO; /* failed by a device reset */
  }
  arch_dma_sync_for_cpu(&r->dev->dma, r->buf.cpu, len, ARCH_DMA_FROM_DEVICE);
  /* The backend checked r->len <= len already. */
  memcpy(buf, r->buf.cpu, r->len);
  *got = r->len;
  return RL_OK;
}

rl_status rng_read(struct rng *r, void *buf, size_t len, size_t *got) {
  if (r == NULL || !r->ready) {
    return RL_ERR_NOT_FOUND;
  }
  return read_device(r, buf, len, got);
}

rl_status virtio_rng_read(void *buf, size_t len, size_t *got) {
  return rng_read(rng_get(0), buf, len, got);
}

void rng_remove(struct virtio_device *dev) {
  struct rng *r = dev->priv;
  if (r == NULL) {
    return;
  }
  for (struct rng **p = &rng_list; *p != NULL; p = &(*p)->next) {
    if (*p == r) {
      *p = r->next;
      break;
    }
  }
  arch_dma_free(&r->buf);
  dev->priv = NULL;
  rl_free(r);
}

/* The device's own state: the one an earlier probe left in `priv`, or a
 * new one appended to the list. */
static struct rng *rng_state(struct virtio_device *dev) {
  struct rng *r = dev->priv;
  if (r != NULL) {
    return r;
  }
  r = rl_zalloc(sizeof(*r));
  if (r == NULL) {
    return NULL;
  }
  r->dev = dev;
  struct rng **tail = &rng_list;
  while (*tail != NULL) {
    tail = &(*tail)->next;
  }
  *tail = r;
  dev->priv = r;
  return r;
}

static rl_status rng_probe(struct virtio_device *dev) {
  struct rng *r = rng_state(dev);
  if (r == NULL) {
    klog(LOG_ERROR, "%s: no memory for the driver's state\n", dev->name);
    return RL_ERR_NO_MEMORY;
  }
  r->ready = false;
  rl_status st = virtio_negotiate(dev, 0);
  if (st == RL_OK) {
    st = virtio_queue_setup(dev, 0, "requestq", RNG_QUEUE_SIZE, rng_done,
                            &r->vq);
  }
  if (st == RL_OK && r->buf.cpu == NULL) { /* kept across re-probes */
    st = arch_dma_alloc(1, &r->buf);
  }
  if (st == RL_OK) {
    st = virtio_device_ready(dev);
  }
  if (st != RL_OK) {
    return st;
  }
  uint8_t bytes[16];
  size_t got = 0;
  st = read_device(r, bytes, sizeof(bytes), &got);
  if ((st == RL_ERR_TIMEOUT || st == RL_ERR_BROKEN) && !r->in_flight &&
      virtqueue_resettable(r->vq) && !dev->failed) {
    /* The core reset the queue alone (RING_RESET) and failed the request:
     * the device lives on, so one more try on the fresh queue. */
    klog(LOG_WARN,
         "%s: entropy read failed (%s); retrying on the reset "
         "queue\n",
         dev->name, rl_status_str(st));
    st = read_device(r, bytes, sizeof(bytes), &got);
  }
  if (st != RL_OK) {
    return st;
  }
  char hex[2 * sizeof(bytes) + 1];
  for (size_t i = 0; i < got; i++) {
    (void)rl_snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
  }
  hex[2 * got] = '\0';
  struct virtqueue_counts c;
  virtqueue_counts(r->vq, &c);
  kprintf("%s: %zu bytes of entropy: %s (notifications %lu, interrupts %lu)\n",
          dev->name, got, hex, c.notifications, c.interrupts);
  r->ready = true;
  return RL_OK;
}

const struct virtio_driver virtio_rng_driver = {
    .name = "virtio-rng",
    .device_id = 4,
    .feature_names = NULL,
    .probe = rng_probe,
    .config_changed = NULL,
};

/* virtio-rng driver (virtio 1.2 §5.4): one request queue; each request is
 * a single device-writable buffer the device fills with entropy. At probe
 * it reads a few bytes and logs them, which proves the ring end to end. */
#include <arch/dma.h>
#include <kernel/panic.h>
#include <lib/fmt.h>
#include <string.h>
#include <virtio/core/virtio.h>

#include "rng.h"

#define RNG_QUEUE_SIZE 64
#define RNG_TIMEOUT_NS 1000000000ull /* 1 s */

struct rng {
  struct virtio_device *dev;
  struct virtqueue *vq;
  struct arch_dma_buf buf;
  volatile bool done;
  uint32_t len;
};

static struct rng *the_rng;

static void rng_done(struct virtqueue *vq, void *token, uint32_t len) {
  (void)vq;
  struct rng *r = token;
  r->len = len;
  r->done = true;
}

rl_status virtio_rng_read(void *buf, size_t len, size_t *got) {
  struct rng *r = the_rng;
  if (r == NULL) {
    return RL_ERR_NOT_FOUND;
  }
  if (len == 0 || len > r->buf.size) {
    return RL_ERR_INVALID;
  }
  r->done = false;
  struct vq_seg seg = {r->buf.phys, (uint32_t)len};
  arch_dma_sync_for_device(r->buf.cpu, len, ARCH_DMA_FROM_DEVICE,
                           r->dev->dma_coherent);
  rl_status st = virtqueue_submit(r->vq, NULL, 0, &seg, 1, r);
  if (st == RL_OK) {
    st = virtqueue_wait(r->vq, &r->done, RNG_TIMEOUT_NS);
  }
  if (st != RL_OK) {
    return st;
  }
  if (r->len == UINT32_MAX) {
    return RL_ERR_IO; /* failed by a device reset */
  }
  arch_dma_sync_for_cpu(r->buf.cpu, len, ARCH_DMA_FROM_DEVICE,
                        r->dev->dma_coherent);
  /* The backend checked r->len <= len already. */
  memcpy(buf, r->buf.cpu, r->len);
  *got = r->len;
  return RL_OK;
}

static rl_status rng_probe(struct virtio_device *dev) {
  static struct rng rng;
  struct rng *r = &rng;
  r->dev = dev;
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
  the_rng = r;
  uint8_t bytes[16];
  size_t got = 0;
  st = virtio_rng_read(bytes, sizeof(bytes), &got);
  if (st != RL_OK) {
    the_rng = NULL;
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
  return RL_OK;
}

const struct virtio_driver virtio_rng_driver = {
    .name = "virtio-rng",
    .device_id = 4,
    .feature_names = NULL,
    .probe = rng_probe,
    .config_changed = NULL,
};

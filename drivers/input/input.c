/* virtio-input driver (virtio 1.2 §5.8): keyboards, mice and tablets.
 *
 * At probe the configuration selects name the device and say which events
 * it sends (ID_NAME, ID_DEVIDS, PROP_BITS, EV_BITS per type, ABS_INFO of
 * X and Y; sizes checked by input_proto.c), which decides its kind. The
 * event queue is then filled with device-writable 8-byte buffers.
 *
 * A used buffer is only recorded by the done callback (interrupt context)
 * in a FIFO as long as the queue; the poll (main loop) takes each in
 * order, checks the event against what the device announced, delivers it
 * through lib/input and puts the buffer straight back, one notification
 * per poll. Events refused (length, unknown type or code) are counted and
 * dropped. The status queue carries LED changes (Caps Lock) when the
 * device has EV_LED.
 *
 * One struct vinput per device in its `priv`, kept across re-probes; the
 * list of them is the only file-level state. */
#include <arch/dma.h>
#include <arch/irq.h>
#include <lib/log.h>
#include <mm/heap.h>
#include <string.h>
#include <virtio/core/virtio.h>

#include "input.h"
#include "input_proto.h"

#define EVENT_SLOTS 64 /* eventq entries (QEMU offers 64) */
#define STATUS_SLOTS 4 /* LED changes in flight */
/* Where in the status page the writable sink of every status buffer is. */
#define STATUS_SINK ((paddr_t)STATUS_SLOTS * VIRTIO_INPUT_EVENT_SIZE)

struct vinput;

enum slot_state {
  SLOT_IDLE,   /* ours, to be posted (at probe, after a queue reset) */
  SLOT_POSTED, /* the device's */
  SLOT_USED,   /* used, waiting in the FIFO for the poll */
};

struct slot {
  struct vinput *v;
  uint16_t index;
  enum slot_state state;
};

struct vinput {
  struct vinput *next;
  struct virtio_device *dev;
  bool ready;
  struct virtqueue *eventq, *statusq;
  uint16_t nslots;           /* event buffers: min(queue size, EVENT_SLOTS) */
  struct arch_dma_buf evmem; /* 8 bytes per event slot */
  struct arch_dma_buf stmem; /* 8 bytes per status slot */
  struct slot ev[EVENT_SLOTS];
  struct slot st[STATUS_SLOTS];
  /* Used event buffers in the order the device used them: filled by
   * event_done, drained by the poll. Each buffer is in the ring or here,
   * never both, so EVENT_SLOTS entries never overflow. */
  uint16_t fifo_slot[EVENT_SLOTS];
  uint32_t fifo_len[EVENT_SLOTS];
  volatile unsigned fifo_head, fifo_tail;
  struct input_caps caps;
  struct input_source src;
  struct input_stats stats;
};

static struct vinput *vinput_list;

static void event_done(struct virtqueue *vq, void *token, uint32_t len) {
  (void)vq;
  struct slot *s = token;
  struct vinput *v = s->v;
  if (len == UINT32_MAX) {
    /* Failed by a reset of the queue: the poll posts it again (a device
     * reset re-probes, which posts every buffer). */
    s->state = SLOT_IDLE;
    return;
  }
  s->state = SLOT_USED;
  unsigned tail = v->fifo_tail;
  if (tail - v->fifo_head >= EVENT_SLOTS) {
    v->stats.overflows++; /* cannot happen: see struct vinput */
    return;
  }
  v->fifo_slot[tail % EVENT_SLOTS] = s->index;
  v->fifo_len[tail % EVENT_SLOTS] = len;
  v->fifo_tail = tail + 1;
}

static void status_done(struct virtqueue *vq, void *token, uint32_t len) {
  (void)vq;
  (void)len;
  struct slot *s = token;
  s->state = SLOT_IDLE;
}

unsigned input_count(void) {
  unsigned n = 0;
  for (struct vinput *v = vinput_list; v != NULL; v = v->next) {
    n += v->ready ? 1 : 0;
  }
  return n;
}

struct vinput *input_get(unsigned i) {
  for (struct vinput *v = vinput_list; v != NULL; v = v->next) {
    if (v->ready && i-- == 0) {
      return v;
    }
  }
  return NULL;
}

const struct input_source *input_source_of(const struct vinput *v) {
  return v != NULL ? &v->src : NULL;
}

void input_stats(const struct vinput *v, struct input_stats *out) {
  memset(out, 0, sizeof(*out));
  if (v != NULL) {
    *out = v->stats;
  }
}

/* Posts event buffer `i` (device-writable, §5.8.6). */
static rl_status post_event(struct vinput *v, uint16_t i) {
  struct slot *s = &v->ev[i];
  uint8_t *buf = (uint8_t *)v->evmem.cpu + (size_t)i * VIRTIO_INPUT_EVENT_SIZE;
  struct vq_seg seg = {v->evmem.phys + (paddr_t)i * VIRTIO_INPUT_EVENT_SIZE,
                       VIRTIO_INPUT_EVENT_SIZE};
  /* The CPU never writes an event buffer: eight share a cache line, and
   * a dirty line written back would clobber a neighbour the device
   * filled meanwhile. */
  arch_dma_sync_for_device(&v->dev->dma, buf, VIRTIO_INPUT_EVENT_SIZE,
                           ARCH_DMA_FROM_DEVICE);
  s->state = SLOT_POSTED;
  rl_status st = virtqueue_add(v->eventq, NULL, 0, &seg, 1, s);
  if (st != RL_OK) {
    s->state = SLOT_IDLE;
    v->stats.refill_errors++;
  }
  return st;
}

static rl_status set_led(const struct input_source *src, unsigned code,
                         bool on) {
  struct vinput *v = src->priv;
  if (v == NULL || !v->ready || v->statusq == NULL ||
      !input_caps_has(&v->caps, EV_LED, (uint16_t)code)) {
    return RL_ERR_NOT_SUPPORTED;
  }
  (void)virtqueue_poll(v->statusq); /* collect finished ones */
  for (uint16_t i = 0; i < STATUS_SLOTS; i++) {
    struct slot *s = &v->st[i];
    if (s->state != SLOT_IDLE) {
      continue;
    }
    uint8_t *buf =
        (uint8_t *)v->stmem.cpu + (size_t)i * VIRTIO_INPUT_EVENT_SIZE;
    input_event_encode(buf, EV_LED, (uint16_t)code, on ? 1 : 0);
    arch_dma_sync_for_device(&v->dev->dma, buf, VIRTIO_INPUT_EVENT_SIZE,
                             ARCH_DMA_TO_DEVICE);
    struct vq_seg seg = {v->stmem.phys + (paddr_t)i * VIRTIO_INPUT_EVENT_SIZE,
                         VIRTIO_INPUT_EVENT_SIZE};
    /* QEMU (7.2, hw/input/virtio-input.c) returns a status buffer with
     * the length it read as used length, which a device-readable buffer
     * alone cannot have (§2.7.8: bytes written): an 8-byte writable sink
     * after it keeps that answer valid. Never read. */
    struct vq_seg sink = {v->stmem.phys + STATUS_SINK, VIRTIO_INPUT_EVENT_SIZE};
    s->state = SLOT_POSTED;
    rl_status st = virtqueue_submit(v->statusq, &seg, 1, &sink, 1, s);
    if (st != RL_OK) {
      s->state = SLOT_IDLE;
    } else {
      v->stats.leds++;
    }
    return st;
  }
  return RL_ERR_BUSY;
}

/* Takes one used buffer off the FIFO: false when empty. */
static bool fifo_pop(struct vinput *v, uint16_t *slot, uint32_t *len) {
  unsigned long flags = arch_irq_save();
  bool any = v->fifo_head != v->fifo_tail;
  if (any) {
    unsigned h = v->fifo_head;
    *slot = v->fifo_slot[h % EVENT_SLOTS];
    *len = v->fifo_len[h % EVENT_SLOTS];
    v->fifo_head = h + 1;
  }
  arch_irq_restore(flags);
  return any;
}

static void input_poll(struct virtio_device *dev) {
  struct vinput *v = dev->priv;
  if (v == NULL || !v->ready) {
    return;
  }
  (void)virtqueue_poll(v->eventq); /* used buffers without an interrupt */
  uint16_t i;
  uint32_t len;
  unsigned refilled = 0;
  while (fifo_pop(v, &i, &len)) {
    if (i >= v->nslots) {
      continue; /* ours, never the device's: cannot happen */
    }
    uint8_t *buf =
        (uint8_t *)v->evmem.cpu + (size_t)i * VIRTIO_INPUT_EVENT_SIZE;
    arch_dma_sync_for_cpu(&dev->dma, buf, VIRTIO_INPUT_EVENT_SIZE,
                          ARCH_DMA_FROM_DEVICE);
    struct input_event ev;
    enum input_event_verdict verdict =
        input_event_check(&v->caps, buf, len, &ev);
    /* The buffer goes back before the event is handled: a handler that
     * waits on another device leaves the device room meanwhile. */
    v->ev[i].state = SLOT_IDLE;
    if (post_event(v, i) == RL_OK) {
      refilled++;
    }
    if (verdict == INPUT_EVENT_BAD_LENGTH) {
      if (v->stats.bad_length++ == 0) {
        klog(LOG_WARN, "%s: event of %u bytes, not 8: dropped\n", dev->name,
             len);
      }
      continue;
    }
    if (verdict == INPUT_EVENT_UNKNOWN) {
      if (v->stats.unknown++ == 0) {
        klog(LOG_WARN,
             "%s: event type %u code %u the device did not announce: "
             "dropped\n",
             dev->name, ev.type, ev.code);
      }
      continue;
    }
    v->stats.events++;
    input_deliver(&v->src, &ev);
  }
  /* Buffers a reset of the queue failed go back too. */
  for (uint16_t k = 0; k < v->nslots; k++) {
    if (v->ev[k].state == SLOT_IDLE && post_event(v, k) == RL_OK) {
      refilled++;
    }
  }
  if (refilled > 0) {
    virtqueue_kick(v->eventq);
  }
}

/* One select (§5.8.4): select and subsel written, size read, then the
 * bytes of the answer (at most the 128 the union holds). */
/* One byte of the configuration space. */
static rl_status config_byte(struct virtio_device *dev, uint32_t offset,
                             uint8_t *out) {
  uint64_t v = 0;
  rl_status st = virtio_config_read(dev, offset, 1, &v);
  *out = (uint8_t)v;
  return st;
}

/* One select (§5.8.4): select and subsel written, size read, then the
 * bytes of the answer (at most the 128 the union holds). */
static rl_status read_select(struct virtio_device *dev, uint8_t select,
                             uint8_t subsel, uint8_t *size, uint8_t *data) {
  rl_status st = virtio_config_write8(dev, VIRTIO_INPUT_CFG_SELECT, select);
  if (st == RL_OK) {
    st = virtio_config_write8(dev, VIRTIO_INPUT_CFG_SUBSEL, subsel);
  }
  if (st == RL_OK) {
    st = config_byte(dev, VIRTIO_INPUT_CFG_SIZE, size);
  }
  for (unsigned i = 0;
       st == RL_OK && i < VIRTIO_INPUT_CFG_DATA_MAX && i < *size; i++) {
    st = config_byte(dev, VIRTIO_INPUT_CFG_DATA + i, &data[i]);
  }
  return st;
}

static rl_status take_select(struct vinput *v, uint8_t select, uint8_t subsel) {
  uint8_t size = 0;
  uint8_t data[VIRTIO_INPUT_CFG_DATA_MAX];
  rl_status st = read_select(v->dev, select, subsel, &size, data);
  if (st != RL_OK) {
    return st;
  }
  if (input_caps_take(&v->caps, select, subsel, size, data) != RL_OK) {
    klog(LOG_WARN,
         "%s: config select %#x subsel %#x: size %u is impossible: "
         "ignored\n",
         v->dev->name, select, subsel, size);
  }
  return RL_OK;
}

static rl_status read_caps(struct vinput *v) {
  memset(&v->caps, 0, sizeof(v->caps));
  rl_status st = take_select(v, VIRTIO_INPUT_CFG_ID_NAME, 0);
  if (st == RL_OK) {
    st = take_select(v, VIRTIO_INPUT_CFG_ID_DEVIDS, 0);
  }
  if (st == RL_OK) {
    st = take_select(v, VIRTIO_INPUT_CFG_PROP_BITS, 0);
  }
  for (unsigned t = 0; st == RL_OK && t < INPUT_TYPES; t++) {
    st = take_select(v, VIRTIO_INPUT_CFG_EV_BITS, input_types[t]);
  }
  if (st == RL_OK && input_caps_has(&v->caps, EV_ABS, ABS_X)) {
    st = take_select(v, VIRTIO_INPUT_CFG_ABS_INFO, ABS_X);
  }
  if (st == RL_OK && input_caps_has(&v->caps, EV_ABS, ABS_Y)) {
    st = take_select(v, VIRTIO_INPUT_CFG_ABS_INFO, ABS_Y);
  }
  /* Leave the selector cleared (§5.8.4: UNSET). */
  if (st == RL_OK) {
    st = virtio_config_write8(v->dev, VIRTIO_INPUT_CFG_SELECT,
                              VIRTIO_INPUT_CFG_UNSET);
  }
  return st;
}

static void input_release(struct vinput *v) {
  v->ready = false;
  arch_dma_free(&v->evmem);
  arch_dma_free(&v->stmem);
}

void input_remove(struct virtio_device *dev) {
  struct vinput *v = dev->priv;
  if (v == NULL) {
    return;
  }
  input_release(v);
  for (struct vinput **p = &vinput_list; *p != NULL; p = &(*p)->next) {
    if (*p == v) {
      *p = v->next;
      break;
    }
  }
  dev->priv = NULL;
  rl_free(v);
}

static struct vinput *input_state(struct virtio_device *dev) {
  struct vinput *v = dev->priv;
  if (v != NULL) {
    /* A re-probe after a reset: the device owns none of the buffers. */
    input_release(v);
    struct vinput *next = v->next;
    memset(v, 0, sizeof(*v));
    v->next = next;
    v->dev = dev;
    return v;
  }
  v = rl_zalloc(sizeof(*v));
  if (v == NULL) {
    return NULL;
  }
  v->dev = dev;
  struct vinput **tail = &vinput_list;
  while (*tail != NULL) {
    tail = &(*tail)->next;
  }
  *tail = v;
  dev->priv = v;
  return v;
}

static rl_status input_probe(struct virtio_device *dev) {
  struct vinput *v = input_state(dev);
  if (v == NULL) {
    klog(LOG_ERROR, "%s: no memory for the driver's state\n", dev->name);
    return RL_ERR_NO_MEMORY;
  }
  rl_status st = virtio_negotiate(dev, 0);
  if (st == RL_OK) {
    st = read_caps(v);
  }
  if (st == RL_OK) {
    st = virtio_queue_setup(dev, VIRTIO_INPUT_EVENTQ, "eventq", EVENT_SLOTS,
                            event_done, &v->eventq);
  }
  bool leds = input_caps_has(&v->caps, EV_LED, LED_CAPSL);
  if (st == RL_OK && leds) {
    rl_status sq = virtio_queue_setup(dev, VIRTIO_INPUT_STATUSQ, "statusq", 16,
                                      status_done, &v->statusq);
    if (sq != RL_OK) {
      klog(LOG_WARN, "%s: no status queue (%s): LEDs stay dark\n", dev->name,
           rl_status_str(sq));
      v->statusq = NULL;
    }
  }
  if (st == RL_OK) {
    st = arch_dma_alloc(1, &v->evmem);
  }
  if (st == RL_OK && v->statusq != NULL) {
    st = arch_dma_alloc(1, &v->stmem);
  }
  if (st == RL_OK) {
    st = virtio_device_ready(dev);
  }
  if (st != RL_OK) {
    return st;
  }
  v->nslots = RL_MIN(virtqueue_size(v->eventq), (uint16_t)EVENT_SLOTS);
  for (uint16_t i = 0; i < EVENT_SLOTS; i++) {
    v->ev[i] = (struct slot){v, i, SLOT_IDLE};
  }
  for (uint16_t i = 0; i < STATUS_SLOTS; i++) {
    v->st[i] = (struct slot){v, i, SLOT_IDLE};
  }
  for (uint16_t i = 0; st == RL_OK && i < v->nslots; i++) {
    st = post_event(v, i);
  }
  if (st != RL_OK) {
    return st;
  }
  virtqueue_kick(v->eventq);
  v->src = (struct input_source){
      .name = dev->name,
      .kind = input_caps_classify(&v->caps),
      .abs_x = v->caps.abs_x,
      .abs_y = v->caps.abs_y,
      .set_led = v->statusq != NULL ? set_led : NULL,
      .priv = v,
  };
  const char *name = v->caps.name[0] != '\0' ? v->caps.name : "(no name)";
  if (v->src.kind == INPUT_KIND_TABLET) {
    kprintf("%s: \"%s\": tablet, x %d..%d, y %d..%d, %u event buffers\n",
            dev->name, name, v->src.abs_x.min, v->src.abs_x.max,
            v->src.abs_y.min, v->src.abs_y.max, v->nslots);
  } else {
    kprintf("%s: \"%s\": %s, %u event buffers%s\n", dev->name, name,
            input_kind_name(v->src.kind), v->nslots,
            v->statusq != NULL ? ", LEDs" : "");
  }
  v->ready = true;
  return RL_OK;
}

const struct virtio_driver virtio_input_driver = {
    .name = "virtio-input",
    .device_id = 18,
    .feature_names = NULL,
    .probe = input_probe,
    .config_changed = NULL,
    .poll = input_poll,
};

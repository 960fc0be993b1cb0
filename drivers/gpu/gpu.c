/* virtio-gpu driver (virtio 1.2 §5.7): probe, re-probe, removal, the main
 * loop's poll, and the handles the kernel reaches the devices through.
 * The device work lives in the other gpu_*.c files (gpu_internal.h lists
 * them).
 *
 * All driver state lives in one struct gpu per device, allocated at the
 * device's first probe and kept in its `priv`; a re-probe (recovery after
 * a reset) releases and reuses that device's own state. The file-level
 * variables are the list of those states, for gpu_get(), and the painter
 * (gpu_scanout.c), the same for every device. */
#include <arch/dma.h>
#include <arch/time.h>
#include <lib/fmt.h>
#include <lib/log.h>
#include <mm/heap.h>
#include <ringlight/config.h>
#include <string.h>
#include <virtio/core/virtio.h>

#include "gpu_internal.h"

static struct gpu *gpu_list;

/* virtio 1.2 §5.7.3, from bit 0 (VIRTIO_GPU_F_VIRGL) to 4
 * (VIRTIO_GPU_F_CONTEXT_INIT). */
static const char gpu_feature_names[] =
    "VIRGL\0EDID\0RESOURCE_UUID\0RESOURCE_BLOB\0CONTEXT_INIT";
_Static_assert(VIRTIO_GPU_F_VIRGL == 0 && VIRTIO_GPU_F_EDID == 1 &&
                   VIRTIO_GPU_F_RESOURCE_UUID == 2 &&
                   VIRTIO_GPU_F_RESOURCE_BLOB == 3 &&
                   VIRTIO_GPU_F_CONTEXT_INIT == 4,
               "gpu_feature_names is in bit order");

unsigned gpu_count(void) {
  unsigned n = 0;
  for (struct gpu *g = gpu_list; g != NULL; g = g->next) {
    n += g->ready ? 1 : 0;
  }
  return n;
}

struct gpu *gpu_get(unsigned i) {
  for (struct gpu *g = gpu_list; g != NULL; g = g->next) {
    if (g->ready && i-- == 0) {
      return g;
    }
  }
  return NULL;
}

const char *gpu_name(const struct gpu *g) {
  return g != NULL ? g->dev->name : NULL;
}

struct fb_surface *gpu_surface(struct gpu *g, unsigned index) {
  if (g == NULL || !g->ready || index >= GPU_NUM_SCANOUTS(g) ||
      !g->scanout[index].active) {
    return NULL;
  }
  return &g->scanout[index].fb;
}

uint64_t gpu_first_frame_ns(const struct gpu *g) {
  return g != NULL ? g->first_frame_ns : 0;
}

rl_status gpu_present_all(void) {
  rl_status result = RL_OK;
  for (struct gpu *g = gpu_list; g != NULL; g = g->next) {
    if (g->ready) {
      rl_status st = gpu_present(g);
      if (st != RL_OK && result == RL_OK) {
        result = st;
      }
    }
  }
  return result;
}

/* Frees what an earlier probe of this device allocated
 * (re-initialisation after a device reset: the device forgot its
 * resources, the memory is ours to reuse). Other devices' state is not
 * touched. */
static void gpu_release(struct gpu *g) {
  g->ready = false;
  g->warm_resource = 0; /* the device was reset: nothing is in flight */
  gpu_console_stop(g);
  for (unsigned i = 0; i < GPU_REQS; i++) {
    arch_dma_free(&g->req[i].buf);
  }
  arch_dma_free(&g->cursor_req.buf);
  arch_dma_free(&g->cursor_mem);
  for (unsigned i = 0; i < GPU_SCANOUTS; i++) {
    gpu_fb_free(&g->scanout[i]);
  }
}

/* The device's own state: the one an earlier probe left in `priv`
 * (released, for reuse), or a new one appended to the list. */
static struct gpu *gpu_state(struct virtio_device *dev) {
  struct gpu *g;
#ifdef CONFIG_VIRTIO_RECOVERY /* a re-probe only comes from a recovery */
  g = dev->priv;
  if (g != NULL) {
    gpu_release(g);
    /* The list link, the device and the retired ids stay. */
    memset(&g->ready, 0, sizeof(*g) - offsetof(struct gpu, ready));
    return g;
  }
#endif
  g = rl_zalloc(sizeof(*g));
  if (g == NULL) {
    return NULL;
  }
  g->dev = dev;
  struct gpu **tail = &gpu_list;
  while (*tail != NULL) {
    tail = &(*tail)->next;
  }
  *tail = g;
  dev->priv = g;
  return g;
}

void gpu_remove(struct virtio_device *dev) {
  struct gpu *g = dev->priv;
  if (g == NULL) {
    return;
  }
  gpu_release(g);
  for (struct gpu **p = &gpu_list; *p != NULL; p = &(*p)->next) {
    if (*p == g) {
      *p = g->next;
      break;
    }
  }
  dev->priv = NULL;
  rl_free(g);
}

/* Why `g` shows nothing; the known cause of a failed negotiation spelled
 * out with its cure. */
static void describe_unusable(const struct gpu *g, char *buf, size_t size) {
  const struct virtio_device *dev = g->dev;
  if (g->ready) {
    (void)rl_snprintf(buf, size, "%s: scanout 0 is not lit", dev->name);
    return;
  }
#ifndef CONFIG_VIRTIO_QUEUE_SPLIT
  /* No ring backend fitted (virtio/core/vq_select.c): the packed ring is
   * all this build has (§2.8; VIRTIO_F_RING_PACKED is a modern feature,
   * bit 34, which a legacy interface cannot offer, §6). */
  if (g->negotiate_failed && dev->ring == NULL) {
    if (dev->legacy) {
      (void)rl_snprintf(
          buf, size,
          "%s: the packed ring needs a modern (v2) transport, the device is "
          "on a legacy (v1) one, and this build has no split ring; run QEMU "
          "with -global virtio-mmio.force-legacy=false and -device "
          "virtio-gpu-device,packed=on, or build a configuration with the "
          "split ring",
          dev->name);
    } else {
      (void)rl_snprintf(
          buf, size,
          "%s: the device does not offer the packed ring "
          "(VIRTIO_F_RING_PACKED) and this build has no split ring; run "
          "QEMU with -device virtio-gpu-device,packed=on, or build a "
          "configuration with the split ring",
          dev->name);
    }
    return;
  }
#endif
  (void)rl_snprintf(buf, size, "%s: probe failed: %s", dev->name,
                    rl_status_str(g->probe_status));
}

bool gpu_unusable(unsigned i, char *buf, size_t size) {
  for (struct gpu *g = gpu_list; g != NULL; g = g->next) {
    if (g->ready && g->scanout[0].active) {
      continue;
    }
    if (i-- == 0) {
      describe_unusable(g, buf, size);
      return true;
    }
  }
  return false;
}

static rl_status gpu_probe_once(struct gpu *g, struct virtio_device *dev);

static rl_status gpu_probe(struct virtio_device *dev) {
  struct gpu *g = gpu_state(dev);
  if (g == NULL) {
    klog(LOG_ERROR, "%s: no memory for the driver's state\n", dev->name);
    return RL_ERR_NO_MEMORY;
  }
  g->probe_status = gpu_probe_once(g, dev);
  return g->probe_status;
}

/* An info line (klog_later): the probe's path to the first picture
 * formats nothing. */
static void log_scanouts(const void *ctx) {
  const struct gpu *g = ctx;
  klog(LOG_INFO, "%s: %u scanout(s)\n", g->dev->name, g->num_scanouts);
}

static rl_status gpu_probe_once(struct gpu *g, struct virtio_device *dev) {
#ifdef CONFIG_GPU_EDID
  uint64_t wanted = VIRTIO_BIT(VIRTIO_GPU_F_EDID);
#else
  uint64_t wanted = 0;
#endif
  rl_status st = virtio_negotiate(dev, wanted);
  g->negotiate_failed = st != RL_OK;
  if (st == RL_OK) {
    st = virtio_queue_setup(dev, 0, "controlq", 64, gpu_done, &g->ctrlq);
  }
#ifdef CONFIG_GPU_CURSOR
  if (st == RL_OK) {
    st = virtio_queue_setup(dev, 1, "cursorq", 16, gpu_done, &g->cursorq);
  }
  if (st == RL_OK) {
    st = arch_dma_alloc(GPU_REQ_PAGES, &g->cursor_req.buf);
  }
#endif
  for (unsigned i = 0; st == RL_OK && i < GPU_REQS; i++) {
    st = arch_dma_alloc(GPU_REQ_PAGES, &g->req[i].buf);
  }
  if (st == RL_OK) {
    st = virtio_device_ready(dev);
  }
#if GPU_SCANOUTS > 1
  uint64_t scanouts = 0;
  if (st == RL_OK) {
    st = virtio_config_read(dev, VIRTIO_GPU_CFG_NUM_SCANOUTS, 4, &scanouts);
  }
  if (st != RL_OK) {
    return st;
  }
  if (scanouts == 0 || scanouts > VIRTIO_GPU_MAX_SCANOUTS) {
    klog(LOG_ERROR, "%s: config num_scanouts %llu is out of range 1..16\n",
         dev->name, (unsigned long long)scanouts);
    return RL_ERR_BAD_FORMAT;
  }
  g->num_scanouts = (uint32_t)RL_MIN(scanouts, GPU_SCANOUTS);
#else
  /* Scanout 0 alone (CONFIG_GPU_MAX_SCANOUTS=1): every device has it
   * (§5.7.4: num_scanouts is at least 1), so num_scanouts is not read
   * and no configuration-space read is in the image. */
  if (st != RL_OK) {
    return st;
  }
  g->num_scanouts = 1;
#endif
#ifdef CONFIG_GPU_DISPLAY_EVENTS
  /* Events already pending describe the configuration we read next. */
  gpu_events_clear(g);
#endif
  if (CONFIG_LOG_LEVEL >= LOG_INFO) {
    klog_later(log_scanouts, g);
  }
  st = gpu_configure_scanouts(g); /* painted, not yet presented */
  if (st != RL_OK) {
    return st;
  }
  /* The console gets the log's replay first, so that the first update
   * of each scanout has every line printed so far (at boot none: the
   * probe's info lines wait for the picture, klog_later); the cursor
   * comes after it, off the picture's path. */
  g->ready = true;
  gpu_console_start(g);
  st = gpu_present(g);
  if (st == RL_OK) {
    g->first_frame_ns = arch_time_ns(); /* the boot picture is out */
  }
  if (st == RL_OK && g->scanout[0].active) {
    rl_status cst = gpu_cursor_setup(g);
    if (cst != RL_OK) {
      klog(LOG_WARN, "%s: no cursor: %s\n", dev->name, rl_status_str(cst));
    }
  }
  klog(LOG_INFO,
       "%s: %lu update(s) (transfer + flush each): at most %lu "
       "notification(s) and %lu interrupt(s) per update\n",
       dev->name, g->updates, g->max_notifications, g->max_interrupts);
  if (st != RL_OK) {
    /* The core fails the device: not handed out, no console. */
    g->ready = false;
    gpu_console_stop(g);
  }
  return st;
}

#ifdef CONFIG_GPU_DISPLAY_EVENTS
static void gpu_config_changed(struct virtio_device *dev) {
  struct gpu *g = dev->priv;
  if (g != NULL) {
    g->event_pending = true; /* handled outside interrupt context */
  }
}
#endif

static void gpu_poll(struct virtio_device *dev) {
  struct gpu *g = dev->priv;
  if (g == NULL || !g->ready) {
    return;
  }
#ifdef CONFIG_GPU_DISPLAY_EVENTS
  gpu_events_handle(g);
#endif
  (void)gpu_present(g);
}

#ifndef CONFIG_GPU_CURSOR
rl_status gpu_move_cursor(struct gpu *g, uint32_t x, uint32_t y) {
  (void)g;
  (void)x;
  (void)y;
  return RL_ERR_NOT_FOUND; /* no cursor in this build */
}

rl_status gpu_move_cursor_on(struct gpu *g, unsigned scanout, uint32_t x,
                             uint32_t y) {
  (void)scanout;
  return gpu_move_cursor(g, x, y);
}
#endif

#ifndef CONFIG_GPU_CONSOLE
void gpu_console_echo(struct gpu *g, const char *text, size_t len) {
  (void)g; /* no console in this build: typed keys are not shown */
  (void)text;
  (void)len;
}
#endif

const struct virtio_driver virtio_gpu_driver = {
    .name = "virtio-gpu",
    .device_id = 16,
    /* Only the feature log uses the names (virtio/core, info level). */
    .feature_names = CONFIG_LOG_LEVEL >= LOG_INFO ? gpu_feature_names : NULL,
    .feature_name_count = 5,
    .probe = gpu_probe,
#ifdef CONFIG_GPU_DISPLAY_EVENTS
    .config_changed = gpu_config_changed,
#endif
    .poll = gpu_poll,
};

/* virtio-gpu scanouts (virtio 1.2 §5.7): the display configuration
 * (GET_DISPLAY_INFO, GET_EDID), a resource set on every lit scanout
 * (SET_SCANOUT) showing the painter's picture and the console, and the
 * display-change events that rebuild them (§5.7.4.1). */
#include <lib/log.h>
#include <ringlight/config.h>
#include <virtio/core/virtio.h>

#include "gpu_internal.h"

/* What every new scanout shows (gpu_set_painter); NULL: black. Set by the
 * kernel before the devices are probed, the same for every device. */
static gpu_painter_fn *painter;

void gpu_set_painter(gpu_painter_fn *paint) { painter = paint; }

/* A display change on a ready device (its scanouts may be active and
 * shown); else the probe's first configuration. Without display-change
 * events only the probe configures. */
static bool reconfiguring(const struct gpu *g) {
#ifdef CONFIG_GPU_DISPLAY_EVENTS
  return g->ready;
#else
  (void)g;
  return false;
#endif
}

#ifdef CONFIG_GPU_EDID
static bool has_edid(const struct gpu *g) {
  return virtio_has_feature(g->dev, VIRTIO_GPU_F_EDID);
}
#endif

/* GET_DISPLAY_INFO, with scanout 0's GET_EDID in the same notification
 * when the device offers EDIDs: one round trip for both. Scanout 0's
 * answer waits in req[GPU_EDID_REQ] for take_edid, which reads it after
 * the probe's warm-up is posted (off the picture's path). */
static rl_status
get_display_info(struct gpu *g, struct gpu_mode modes[VIRTIO_GPU_MAX_SCANOUTS],
                 unsigned *enabled) {
#ifdef CONFIG_GPU_EDID
  struct gpu_req *reqs[2] = {&g->req[0], &g->req[GPU_EDID_REQ]};
  size_t cmd_len[2] = {sizeof(struct virtio_gpu_ctrl_hdr), 0};
  size_t resp_len[2] = {sizeof(struct virtio_gpu_resp_display_info),
                        offsetof(struct virtio_gpu_resp_edid, edid)};
  unsigned n = 1;
  gpu_hdr(gpu_req_cmd(reqs[0]), VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0);
  if (has_edid(g)) {
    cmd_len[1] = gpu_encode_get_edid(gpu_req_cmd(reqs[1]), 0);
    n = 2;
  }
  g->edid0_answered = false;
  rl_status st = gpu_post(g, g->ctrlq, reqs, cmd_len, resp_len, n);
  if (st != RL_OK) {
    return st; /* logged by gpu_post */
  }
  g->edid0_answered = n == 2;
  st =
      gpu_check(g, reqs[0], VIRTIO_GPU_RESP_OK_DISPLAY_INFO, resp_len[0], 0, 0);
#else
  gpu_hdr(gpu_req_cmd(&g->req[0]), VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0);
  rl_status st = gpu_command(g, sizeof(struct virtio_gpu_ctrl_hdr),
                             VIRTIO_GPU_RESP_OK_DISPLAY_INFO,
                             sizeof(struct virtio_gpu_resp_display_info), 0);
#endif
  if (st == RL_OK) { /* checked: the type and the length */
    st = gpu_parse_display_modes(gpu_req_resp(&g->req[0]), g->num_scanouts,
                                 modes, enabled);
    if (st != RL_OK) {
      klog(LOG_ERROR, "%s: GET_DISPLAY_INFO: malformed answer: %s\n",
           g->dev->name, rl_status_str(st));
    }
  }
  return st;
}

#ifdef CONFIG_GPU_EDID
/* The probe's info lines before the first picture wait for it
 * (klog_later): none is formatted on its path. */
static void log_edid(const void *ctx) {
  const struct gpu_scanout *so = ctx;
  klog(LOG_INFO,
       "%s: scanout %u: EDID monitor \"%s\" vendor %s, preferred "
       "mode %ux%u\n",
       so->gpu->dev->name, so->index, so->edid.name, so->edid.vendor,
       so->edid.pref_width, so->edid.pref_height);
}
#endif

static void log_scanout(const void *ctx) {
  const struct gpu_scanout *so = ctx;
  klog(LOG_INFO,
       "%s: scanout %u: %ux%u at (%u,%u), resource %u in %u "
       "chunk(s)\n",
       so->gpu->dev->name, so->index, so->mode.width, so->mode.height,
       so->mode.x, so->mode.y, so->resource_id, so->fb.nchunks);
}

/* Reads scanout `index`'s EDID: the answer get_display_info already has
 * for scanout 0 (once), else a GET_EDID of its own. */
static void get_edid(struct gpu *g, unsigned index) {
  struct gpu_scanout *so = &g->scanout[index];
  so->have_edid = false;
#ifndef CONFIG_GPU_EDID
  (void)so;
  return; /* VIRTIO_GPU_F_EDID is refused: no EDID parser in the image */
#else
  if (!has_edid(g)) {
    return;
  }
  rl_status st;
  struct gpu_req *r;
  if (index == 0 && GPU_EDID0_ANSWERED(g)) {
    g->edid0_answered = false;
    r = &g->req[GPU_EDID_REQ];
    st = gpu_check(g, r, VIRTIO_GPU_RESP_OK_EDID,
                   offsetof(struct virtio_gpu_resp_edid, edid), 0, 0);
  } else {
    r = &g->req[0];
    size_t len = gpu_encode_get_edid(gpu_req_cmd(r), index);
    st = gpu_command(g, len, VIRTIO_GPU_RESP_OK_EDID,
                     offsetof(struct virtio_gpu_resp_edid, edid), 0);
  }
  if (st == RL_OK) {
    st = gpu_parse_edid(gpu_req_resp(r), r->used_len, &so->edid);
  }
  if (st != RL_OK) {
    klog(LOG_WARN, "%s: scanout %u: EDID unusable: %s\n", g->dev->name, index,
         rl_status_str(st));
    return;
  }
  so->have_edid = true;
  if (so->edid.pref_width == 0) {
    klog(LOG_WARN,
         "%s: scanout %u: EDID monitor \"%s\" vendor %s, no usable "
         "preferred mode\n",
         g->dev->name, index, so->edid.name, so->edid.vendor);
    return;
  }
  so->gpu = g;
  so->index = index;
  if (CONFIG_LOG_LEVEL >= LOG_INFO) {
    klog_later(log_edid, so);
  }
#endif
}

#ifdef CONFIG_GPU_DISPLAY_EVENTS
static void teardown_scanout(struct gpu *g, unsigned index) {
  struct gpu_scanout *so = &g->scanout[index];
  if (!so->active) {
    return;
  }
  so->active = false;
  struct virtio_gpu_rect none = {0, 0, 0, 0};
  size_t len = gpu_encode_set_scanout(gpu_req_cmd(&g->req[0]), index, 0, &none);
  (void)gpu_command_nodata(g, len, 0);
  gpu_resource_destroy(g, so);
}
#endif

static void paint(struct fb_surface *s) {
  if (painter != NULL) {
    painter(s);
  } else {
    fb_fill(s, (struct fb_rect){0, 0, s->width, s->height}, 0x000000);
  }
}

rl_status gpu_scanout_show(struct gpu *g, struct gpu_scanout *so) {
  unsigned index = (unsigned)(so - g->scanout);
  struct virtio_gpu_rect r = {0, 0, so->fb.width, so->fb.height};
  size_t len = gpu_encode_set_scanout(gpu_req_cmd(&g->req[0]), index,
                                      so->resource_id, &r);
  rl_status st = gpu_command_nodata(g, len, so->resource_id);
  so->unshown = false;
  if (st != RL_OK) {
    so->active = false;
    gpu_resource_destroy(g, so); /* created and backed: detach, unref */
  }
  return st;
}

static rl_status setup_scanout(struct gpu *g, unsigned index) {
  struct gpu_scanout *so = &g->scanout[index];
  uint32_t w = so->mode.width, h = so->mode.height;
  so->resource_id = gpu_resource_id(g, index);
  if (so->resource_id == 0) {
    klog(LOG_ERROR, "%s: scanout %u: every resource id is retired\n",
         g->dev->name, index);
    return RL_ERR_NO_SPACE;
  }
  rl_status st = gpu_fb_alloc(so, w, h);
  if (st != RL_OK) {
    klog(LOG_ERROR, "%s: scanout %u: no memory for a %ux%u framebuffer\n",
         g->dev->name, index, w, h);
    return st;
  }
  if (reconfiguring(g)) {
    st = gpu_resource_create(g, so); /* the framebuffer is gone on failure */
    if (st != RL_OK) {
      return st;
    }
    so->active = true;
    st = gpu_scanout_show(g, so);
    if (st != RL_OK) {
      return st;
    }
  } else {
    /* The probe: CREATE_2D and ATTACH_BACKING go with the device's first
     * (slow) copy into the new resource, the warm-up, and all three run
     * while the picture and the console are drawn; their answers are
     * read after. SET_SCANOUT comes with the first update, so the
     * resource is shown with the picture in it. */
#ifdef CONFIG_GPU_WARMUP
    st = gpu_resource_post(g, so);
    if (st != RL_OK) {
      return gpu_resource_created(g, so, st);
    }
#else
    st = gpu_resource_create(g, so); /* no copy to draw behind */
    if (st != RL_OK) {
      return st;
    }
#endif
  }
  if (index == 0 && GPU_EDID0_ANSWERED(g)) {
    get_edid(g, 0); /* answered already: while the device copies */
  }
  paint(&so->fb);
  gpu_console_init(g, index);
  if (!reconfiguring(g)) {
#ifdef CONFIG_GPU_WARMUP
    st = gpu_resource_created(g, so, RL_OK); /* as gpu_resource_create */
    if (st != RL_OK) {
      return st;
    }
#endif
    so->active = true;
    so->unshown = true;
  }
  so->gpu = g;
  so->index = index;
  if (CONFIG_LOG_LEVEL >= LOG_INFO) {
    klog_later(log_scanout, so);
  }
  return RL_OK;
}

rl_status gpu_configure_scanouts(struct gpu *g) {
  struct gpu_mode modes[VIRTIO_GPU_MAX_SCANOUTS];
  unsigned enabled;
  rl_status st = get_display_info(g, modes, &enabled);
  if (st != RL_OK) {
    return st;
  }
  if (enabled == 0) {
    klog(LOG_WARN, "%s: no scanout is enabled\n", g->dev->name);
  }
  rl_status result = RL_OK;
  for (unsigned i = 0; i < GPU_NUM_SCANOUTS(g); i++) {
    struct gpu_scanout *so = &g->scanout[i];
    struct gpu_mode *m = &modes[i];
    /* Scanout 0 lit by the probe: its EDID (answered with the display
     * info) is read after its warm-up is posted (setup_scanout). */
    if (i != 0 || !GPU_EDID0_ANSWERED(g) || !m->enabled || reconfiguring(g)) {
      get_edid(g, i);
    }
#ifdef CONFIG_GPU_LIGHT_ALL_SCANOUTS
    if (!m->enabled && so->have_edid && so->edid.pref_width != 0) {
      /* Reported disabled (QEMU enables only scanout 0 until a UI resizes
       * another): light it at its EDID preferred mode. */
      m->enabled = true;
      m->width = so->edid.pref_width;
      m->height = so->edid.pref_height;
      klog(LOG_INFO,
           "%s: scanout %u: reported disabled; using its EDID "
           "preferred mode %ux%u\n",
           g->dev->name, i, m->width, m->height);
    }
#endif
#ifdef CONFIG_GPU_DISPLAY_EVENTS
    if (so->active && m->enabled && so->mode.width == m->width &&
        so->mode.height == m->height) {
      continue; /* the same mode */
    }
    /* A changed mode: teardown (detach, unref) first, then a new
     * resource. (Without display-change events this runs only at probe,
     * when no scanout is active yet.) */
    teardown_scanout(g, i);
#endif
    so->mode = *m;
    if (!m->enabled) {
      continue;
    }
    st = setup_scanout(g, i);
    if (i == 0 && GPU_EDID0_ANSWERED(g)) {
      get_edid(g, 0); /* setup_scanout failed before reading it */
    }
    if (st != RL_OK) {
      result = st;
      continue;
    }
    if (!reconfiguring(g)) {
      continue; /* the probe presents once the console has the log */
    }
    st = gpu_present_scanout(g, so);
    if (st != RL_OK) {
      result = st;
    }
  }
  return result;
}

#ifdef CONFIG_GPU_DISPLAY_EVENTS
void gpu_events_clear(struct gpu *g) {
  uint64_t events = 0;
  if (virtio_config_read(g->dev, VIRTIO_GPU_CFG_EVENTS_READ, 4, &events) ==
          RL_OK &&
      events != 0) {
    (void)virtio_config_write32(g->dev, VIRTIO_GPU_CFG_EVENTS_CLEAR,
                                (uint32_t)events);
  }
}

void gpu_events_handle(struct gpu *g) {
  if (!g->event_pending) {
    return;
  }
  g->event_pending = false;
  uint64_t events = 0;
  if (virtio_config_read(g->dev, VIRTIO_GPU_CFG_EVENTS_READ, 4, &events) ==
          RL_OK &&
      (events & VIRTIO_GPU_EVENT_DISPLAY)) {
    /* §5.7.4.1: acknowledge through events_clear, then re-read. */
    (void)virtio_config_write32(g->dev, VIRTIO_GPU_CFG_EVENTS_CLEAR,
                                VIRTIO_GPU_EVENT_DISPLAY);
    klog(LOG_INFO, "%s: display configuration changed\n", g->dev->name);
    (void)gpu_configure_scanouts(g);
  }
}
#endif

/* virtio-gpu driver (virtio 1.2 §5.7). Every command waits for its
 * response with a deadline and checks it against the type the command
 * expects; an error names the command, the resource and the code.
 *
 * All driver state lives in one struct gpu per device, allocated at the
 * device's first probe and kept in its `priv`; a re-probe (recovery after
 * a reset) releases and reuses that device's own state. The file-level
 * variables are the list of those states, for gpu_get(), and the painter,
 * the same for every device. */
#include <arch/dma.h>
#include <arch/time.h>
#include <kernel/panic.h>
#include <lib/fmt.h>
#include <lib/gfx/console.h>
#include <mm/heap.h>
#include <ringlight/config.h>
#include <string.h>
#include <virtio/core/virtio.h>

#include "gpu.h"
#include "gpu_proto.h"

#define GPU_REQS 4
#define GPU_REQ_PAGES 2 /* command in page 0, response in page 1 */
#define GPU_TIMEOUT_NS 2000000000ull
#define GPU_CHUNK_PAGES 256u /* framebuffer chunks of up to 1 MiB */
#define GPU_CURSOR_SIZE 64u
#define GPU_CURSOR_RESOURCE 0x100u
#define CONSOLE_HEADER_ROWS 2

struct gpu_req {
  struct arch_dma_buf buf;
  volatile bool done;
  uint32_t used_len;
};

struct gpu_scanout {
  struct gpu_mode mode;
  bool active;
  uint32_t resource_id;
  struct fb_surface fb;
  struct arch_dma_buf chunks[FB_MAX_CHUNKS];
  struct fb_console con;
  struct gpu_edid_info edid;
  bool have_edid;
};

struct gpu {
  struct gpu *next; /* the list of every device's state, in probe order */
  struct virtio_device *dev;
  bool ready; /* the last probe succeeded: gpu_get() hands it out */
  struct virtqueue *ctrlq;
  struct virtqueue *cursorq;
  struct gpu_req req[GPU_REQS];
  struct gpu_req cursor_req;
  uint32_t num_scanouts;
  struct gpu_scanout scanout[VIRTIO_GPU_MAX_SCANOUTS];
  uint64_t next_fence;
  struct arch_dma_buf cursor_mem;
  bool cursor_ready;
  volatile bool event_pending;
  /* A request timed out or could not be posted: it may still sit in the
   * ring, so no request is reused until the device is reset. */
  bool broken;
  unsigned long updates;
  /* Per update: notifications and interrupts of the control queue. */
  unsigned long last_notifications, last_interrupts;
  unsigned long max_notifications, max_interrupts;
  uint64_t first_frame_ns; /* arch_time_ns when the boot picture was out */
  /* ATTACH_BACKING's entries while they are encoded. */
  struct virtio_gpu_mem_entry entries[FB_MAX_CHUNKS];
};

static struct gpu *gpu_list;

/* What every new scanout shows (gpu_set_painter); NULL: black. Set by the
 * kernel before the devices are probed, the same for every device. */
static gpu_painter_fn *painter;

void gpu_set_painter(gpu_painter_fn *paint) { painter = paint; }

static const struct virtio_feature_name gpu_feature_names[] = {
    {VIRTIO_GPU_F_VIRGL, "VIRGL"},
    {VIRTIO_GPU_F_EDID, "EDID"},
    {VIRTIO_GPU_F_RESOURCE_UUID, "RESOURCE_UUID"},
    {VIRTIO_GPU_F_RESOURCE_BLOB, "RESOURCE_BLOB"},
    {VIRTIO_GPU_F_CONTEXT_INIT, "CONTEXT_INIT"},
    {0, NULL},
};

static void *req_cmd(struct gpu_req *r) { return r->buf.cpu; }
static void *req_resp(struct gpu_req *r) {
  return (uint8_t *)r->buf.cpu + RL_PAGE_SIZE;
}

static void gpu_done(struct virtqueue *vq, void *token, uint32_t len) {
  (void)vq;
  struct gpu_req *r = token;
  r->used_len = len;
  r->done = true;
}

/* Posts requests [0, n) (each: a command of cmd_len[i] bytes, and a
 * response page unless resp_len[i] is 0) with one notification, and waits
 * for all of them. */
static rl_status post(struct gpu *g, struct virtqueue *vq,
                      struct gpu_req **reqs, const size_t *cmd_len,
                      const size_t *resp_len, unsigned n) {
  bool coherent = g->dev->dma_coherent;
  if (g->broken) {
    return RL_ERR_BROKEN;
  }
  for (unsigned i = 0; i < n; i++) {
    struct gpu_req *r = reqs[i];
    r->done = false;
    r->used_len = 0;
    memset(req_resp(r), 0, RL_PAGE_SIZE);
    arch_dma_sync_for_device(r->buf.cpu, r->buf.size, ARCH_DMA_BIDIRECTIONAL,
                             coherent);
    struct vq_seg out = {r->buf.phys, (uint32_t)cmd_len[i]};
    /* The whole response page is writable; the device says how much it
     * wrote, and check() holds that against what the command expects. */
    struct vq_seg in = {r->buf.phys + RL_PAGE_SIZE, (uint32_t)RL_PAGE_SIZE};
    rl_status st = virtqueue_add(vq, &out, 1, &in, resp_len[i] != 0 ? 1 : 0, r);
    if (st != RL_OK) {
      g->broken = true;
      return st;
    }
  }
  virtqueue_kick(vq);
  for (unsigned i = 0; i < n; i++) {
    rl_status st = virtqueue_wait(vq, &reqs[i]->done, GPU_TIMEOUT_NS);
    if (st != RL_OK) {
      g->broken = true;
      return st;
    }
    if (reqs[i]->used_len == UINT32_MAX) {
      return RL_ERR_IO; /* failed by a device reset */
    }
    arch_dma_sync_for_cpu(req_resp(reqs[i]), RL_PAGE_SIZE, ARCH_DMA_FROM_DEVICE,
                          coherent);
  }
  return RL_OK;
}

static rl_status check(struct gpu *g, struct gpu_req *r, uint32_t expected,
                       size_t expected_len, uint64_t fence, uint32_t resource) {
  uint32_t type;
  const struct virtio_gpu_ctrl_hdr *cmd = req_cmd(r);
  rl_status st = gpu_check_response(req_resp(r), r->used_len, expected,
                                    expected_len, fence, &type);
  if (st != RL_OK) {
    klog(LOG_ERROR,
         "%s: %s (resource %u): device answered %s (%#x), %u bytes; "
         "expected %s\n",
         g->dev->name, gpu_type_name(cmd->type), resource, gpu_type_name(type),
         type, r->used_len, gpu_type_name(expected));
  }
  return st;
}

/* One command on the control queue, response checked. */
static rl_status command(struct gpu *g, size_t cmd_len, uint32_t expected,
                         size_t resp_len, uint32_t resource) {
  struct gpu_req *r = &g->req[0];
  struct gpu_req *reqs[1] = {r};
  rl_status st = post(g, g->ctrlq, reqs, &cmd_len, &resp_len, 1);
  if (st != RL_OK) {
    klog(LOG_ERROR, "%s: %s (resource %u): %s\n", g->dev->name,
         gpu_type_name(((struct virtio_gpu_ctrl_hdr *)req_cmd(r))->type),
         resource, rl_status_str(st));
    return st;
  }
  return check(g, r, expected, resp_len, 0, resource);
}

static rl_status
get_display_info(struct gpu *g, struct gpu_mode modes[VIRTIO_GPU_MAX_SCANOUTS],
                 unsigned *enabled) {
  gpu_hdr(req_cmd(&g->req[0]), VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0);
  rl_status st = command(g, sizeof(struct virtio_gpu_ctrl_hdr),
                         VIRTIO_GPU_RESP_OK_DISPLAY_INFO,
                         sizeof(struct virtio_gpu_resp_display_info), 0);
  if (st == RL_OK) {
    st = gpu_parse_display_info(req_resp(&g->req[0]), g->req[0].used_len,
                                g->num_scanouts, modes, enabled);
    if (st != RL_OK) {
      klog(LOG_ERROR, "%s: GET_DISPLAY_INFO: malformed answer: %s\n",
           g->dev->name, rl_status_str(st));
    }
  }
  return st;
}

static void get_edid(struct gpu *g, unsigned index) {
  struct gpu_scanout *so = &g->scanout[index];
  so->have_edid = false;
  if (!virtio_has_feature(g->dev, VIRTIO_GPU_F_EDID)) {
    return;
  }
  size_t len = gpu_encode_get_edid(req_cmd(&g->req[0]), index);
  rl_status st = command(g, len, VIRTIO_GPU_RESP_OK_EDID,
                         offsetof(struct virtio_gpu_resp_edid, edid), 0);
  if (st == RL_OK) {
    st = gpu_parse_edid(req_resp(&g->req[0]), g->req[0].used_len, &so->edid);
  }
  if (st != RL_OK) {
    klog(LOG_WARN, "%s: scanout %u: EDID unusable: %s\n", g->dev->name, index,
         rl_status_str(st));
    return;
  }
  so->have_edid = true;
  klog(LOG_INFO,
       "%s: scanout %u: EDID monitor \"%s\" vendor %s, preferred "
       "mode %ux%u\n",
       g->dev->name, index, so->edid.name, so->edid.vendor, so->edid.pref_width,
       so->edid.pref_height);
}

static void free_chunks(struct gpu_scanout *so) {
  for (unsigned i = 0; i < FB_MAX_CHUNKS; i++) {
    arch_dma_free(&so->chunks[i]);
  }
  memset(&so->fb, 0, sizeof(so->fb));
}

/* The framebuffer in chunks of whole rows: the resource's backing is a
 * scatter list of physically separate runs (§5.7.6.8 ATTACH_BACKING). */
static rl_status alloc_framebuffer(struct gpu_scanout *so, uint32_t w,
                                   uint32_t h) {
  struct fb_surface *fb = &so->fb;
  fb->width = w;
  fb->height = h;
  fb->stride = w * 4;
  fb->rows_per_chunk = (uint32_t)(GPU_CHUNK_PAGES * RL_PAGE_SIZE / fb->stride);
  if (fb->rows_per_chunk == 0) {
    return RL_ERR_NOT_SUPPORTED;
  }
  fb->nchunks = (h + fb->rows_per_chunk - 1) / fb->rows_per_chunk;
  /* ATTACH_BACKING must fit its entries in one request page. */
  size_t max_entries =
      (RL_PAGE_SIZE - sizeof(struct virtio_gpu_resource_attach_backing)) /
      sizeof(struct virtio_gpu_mem_entry);
  if (fb->nchunks > FB_MAX_CHUNKS || fb->nchunks > max_entries) {
    return RL_ERR_NOT_SUPPORTED;
  }
  for (uint32_t i = 0; i < fb->nchunks; i++) {
    uint32_t rows = RL_MIN(fb->rows_per_chunk, h - i * fb->rows_per_chunk);
    size_t bytes = (size_t)rows * fb->stride;
    rl_status st = arch_dma_alloc((bytes + RL_PAGE_SIZE - 1) / RL_PAGE_SIZE,
                                  &so->chunks[i]);
    if (st != RL_OK) {
      free_chunks(so);
      return st;
    }
    fb->chunk[i] = so->chunks[i].cpu;
  }
  return RL_OK;
}

static rl_status attach_backing(struct gpu *g, struct gpu_scanout *so) {
  struct virtio_gpu_mem_entry *entries = g->entries;
  struct fb_surface *fb = &so->fb;
  for (uint32_t i = 0; i < fb->nchunks; i++) {
    uint32_t rows =
        RL_MIN(fb->rows_per_chunk, fb->height - i * fb->rows_per_chunk);
    entries[i].addr = so->chunks[i].phys;
    entries[i].length = rows * fb->stride;
    entries[i].padding = 0;
  }
  size_t len;
  rl_status st =
      gpu_encode_attach_backing(req_cmd(&g->req[0]), RL_PAGE_SIZE,
                                so->resource_id, entries, fb->nchunks, &len);
  if (st != RL_OK) {
    return st;
  }
  return command(g, len, VIRTIO_GPU_RESP_OK_NODATA,
                 sizeof(struct virtio_gpu_ctrl_hdr), so->resource_id);
}

/* TRANSFER_TO_HOST_2D + RESOURCE_FLUSH (fenced) of `r`, posted together
 * with a single notification (§5.7.6.8). */
static rl_status update(struct gpu *g, struct gpu_scanout *so,
                        struct fb_rect r) {
  struct virtio_gpu_rect vr = {r.x, r.y, r.w, r.h};
  uint64_t offset = (uint64_t)r.y * so->fb.stride + (uint64_t)r.x * 4;
  for (uint32_t y = r.y; y < r.y + r.h; y++) {
    arch_dma_sync_for_device(fb_row(&so->fb, y) + r.x, (size_t)r.w * 4,
                             ARCH_DMA_TO_DEVICE, g->dev->dma_coherent);
  }
  uint64_t fence = ++g->next_fence;
#ifdef CONFIG_GPU_LOG_UPDATES
  kprintf_serial("gpu-update: %s res %u x %u y %u w %u h %u offset %llu\n",
                 g->dev->name, so->resource_id, r.x, r.y, r.w, r.h,
                 (unsigned long long)offset);
#endif
  size_t lens[2], resp[2] = {sizeof(struct virtio_gpu_ctrl_hdr),
                             sizeof(struct virtio_gpu_ctrl_hdr)};
  lens[0] =
      gpu_encode_transfer_2d(req_cmd(&g->req[0]), so->resource_id, &vr, offset);
  lens[1] = gpu_encode_flush(req_cmd(&g->req[1]), so->resource_id, &vr, fence);
  struct gpu_req *reqs[2] = {&g->req[0], &g->req[1]};
  struct virtqueue_counts before, after;
  virtqueue_counts(g->ctrlq, &before);
  rl_status st = post(g, g->ctrlq, reqs, lens, resp, 2);
  virtqueue_counts(g->ctrlq, &after);
  g->last_notifications = after.notifications - before.notifications;
  g->last_interrupts = after.interrupts - before.interrupts;
  g->max_notifications = RL_MAX(g->max_notifications, g->last_notifications);
  g->max_interrupts = RL_MAX(g->max_interrupts, g->last_interrupts);
  if (st != RL_OK) {
    klog(LOG_ERROR, "%s: update of resource %u: %s\n", g->dev->name,
         so->resource_id, rl_status_str(st));
    return st;
  }
  st = check(g, &g->req[0], VIRTIO_GPU_RESP_OK_NODATA, resp[0], 0,
             so->resource_id);
  rl_status st2 = check(g, &g->req[1], VIRTIO_GPU_RESP_OK_NODATA, resp[1],
                        fence, so->resource_id);
  g->updates++;
  return st != RL_OK ? st : st2;
}

static void teardown_scanout(struct gpu *g, unsigned index) {
  struct gpu_scanout *so = &g->scanout[index];
  if (!so->active) {
    return;
  }
  so->active = false;
  struct virtio_gpu_rect none = {0, 0, 0, 0};
  size_t len = gpu_encode_set_scanout(req_cmd(&g->req[0]), index, 0, &none);
  (void)command(g, len, VIRTIO_GPU_RESP_OK_NODATA,
                sizeof(struct virtio_gpu_ctrl_hdr), 0);
  len = gpu_encode_detach_backing(req_cmd(&g->req[0]), so->resource_id);
  (void)command(g, len, VIRTIO_GPU_RESP_OK_NODATA,
                sizeof(struct virtio_gpu_ctrl_hdr), so->resource_id);
  len = gpu_encode_unref(req_cmd(&g->req[0]), so->resource_id);
  (void)command(g, len, VIRTIO_GPU_RESP_OK_NODATA,
                sizeof(struct virtio_gpu_ctrl_hdr), so->resource_id);
  free_chunks(so);
}

static void console_header(struct gpu *g, struct gpu_scanout *so,
                           unsigned index) {
  char line[160];
  /* The transport names the slot: one device's console from another's. */
  char transport[48];
  g->dev->transport->describe(g->dev, transport, sizeof(transport));
  (void)rl_snprintf(
      line, sizeof(line), "%s %s | %s | %s ring | scanout %u: %ux%u",
      CONFIG_KERNEL_BANNER, CONFIG_ARCH, transport,
      virtqueue_ring_name(g->ctrlq), index, so->mode.width, so->mode.height);
  fbcon_set_header(&so->con, 0, line);
  if (so->have_edid) {
    (void)rl_snprintf(line, sizeof(line),
                      "monitor \"%s\" (%s), preferred %ux%u", so->edid.name,
                      so->edid.vendor, so->edid.pref_width,
                      so->edid.pref_height);
    fbcon_set_header(&so->con, 1, line);
  }
}

static void paint(struct fb_surface *s) {
  if (painter != NULL) {
    painter(s);
  } else {
    fb_fill(s, (struct fb_rect){0, 0, s->width, s->height}, 0x000000);
  }
}

static rl_status setup_scanout(struct gpu *g, unsigned index) {
  struct gpu_scanout *so = &g->scanout[index];
  uint32_t w = so->mode.width, h = so->mode.height;
  so->resource_id = index + 1;
  rl_status st = alloc_framebuffer(so, w, h);
  if (st != RL_OK) {
    klog(LOG_ERROR, "%s: scanout %u: no memory for a %ux%u framebuffer\n",
         g->dev->name, index, w, h);
    return st;
  }
  size_t len = gpu_encode_create_2d(req_cmd(&g->req[0]), so->resource_id,
                                    VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, w, h);
  st = command(g, len, VIRTIO_GPU_RESP_OK_NODATA,
               sizeof(struct virtio_gpu_ctrl_hdr), so->resource_id);
#ifdef CONFIG_TEST_GPU_SKIP_ATTACH_BACKING
  bool skip_attach = true; /* test build: the display tests must fail */
  klog(LOG_WARN, "%s: test build: RESOURCE_ATTACH_BACKING skipped\n",
       g->dev->name);
#else
  bool skip_attach = false;
#endif
  if (st == RL_OK && !skip_attach) {
    st = attach_backing(g, so);
  }
  if (st == RL_OK) {
    struct virtio_gpu_rect r = {0, 0, w, h};
    len =
        gpu_encode_set_scanout(req_cmd(&g->req[0]), index, so->resource_id, &r);
    st = command(g, len, VIRTIO_GPU_RESP_OK_NODATA,
                 sizeof(struct virtio_gpu_ctrl_hdr), so->resource_id);
  }
  if (st != RL_OK) {
    free_chunks(so);
    return st;
  }
  so->active = true;
  paint(&so->fb);
  uint32_t top = (uint32_t)((uint64_t)h * 3 / 4);
  fbcon_init(&so->con, &so->fb, (struct fb_rect){0, top, w, h - top},
             CONSOLE_HEADER_ROWS);
  console_header(g, so, index);
  klog(LOG_INFO,
       "%s: scanout %u: %ux%u at (%u,%u), resource %u in %u "
       "chunk(s)\n",
       g->dev->name, index, w, h, so->mode.x, so->mode.y, so->resource_id,
       so->fb.nchunks);
  return RL_OK;
}

static rl_status present_scanout(struct gpu *g, struct gpu_scanout *so) {
  struct fb_rect r;
  if (!so->active || !fb_take_damage(&so->fb, &r)) {
    return RL_OK;
  }
  return update(g, so, r);
}

rl_status gpu_present(struct gpu *g) {
  if (g == NULL || !g->ready) {
    return RL_ERR_NOT_FOUND;
  }
  rl_status result = RL_OK;
  for (unsigned i = 0; i < g->num_scanouts; i++) {
    rl_status st = present_scanout(g, &g->scanout[i]);
    if (st != RL_OK) {
      result = st;
    }
  }
  return result;
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

struct fb_surface *gpu_surface(struct gpu *g, unsigned index) {
  if (g == NULL || !g->ready || index >= g->num_scanouts ||
      !g->scanout[index].active) {
    return NULL;
  }
  return &g->scanout[index].fb;
}

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

static void console_sink(const char *text, size_t len, void *ctx) {
  struct gpu *g = ctx;
  for (unsigned i = 0; i < g->num_scanouts; i++) {
    if (g->scanout[i].active) {
      fbcon_write(&g->scanout[i].con, text, len);
    }
  }
}

/* Cursor (§5.7.6.10): a 64x64 resource, UPDATE_CURSOR and MOVE_CURSOR on
 * the cursor queue, which answers with no data. */
static rl_status cursor_command(struct gpu *g, uint32_t type, uint32_t x,
                                uint32_t y) {
  size_t len = gpu_encode_cursor(req_cmd(&g->cursor_req), type, 0, x, y,
                                 GPU_CURSOR_RESOURCE, 0, 0);
  size_t resp = 0;
  struct gpu_req *reqs[1] = {&g->cursor_req};
  rl_status st = post(g, g->cursorq, reqs, &len, &resp, 1);
  if (st != RL_OK) {
    klog(LOG_ERROR, "%s: %s: %s\n", g->dev->name, gpu_type_name(type),
         rl_status_str(st));
  }
  return st;
}

static rl_status setup_cursor(struct gpu *g) {
  rl_status st = arch_dma_alloc((size_t)GPU_CURSOR_SIZE * GPU_CURSOR_SIZE * 4 /
                                    RL_PAGE_SIZE,
                                &g->cursor_mem);
  if (st != RL_OK) {
    return st;
  }
  /* An arrow: white with a black edge, transparent elsewhere (the cursor
   * format's X byte is alpha for QEMU's cursor). */
  uint32_t *px = g->cursor_mem.cpu;
  for (uint32_t y = 0; y < 20; y++) {
    for (uint32_t x = 0; x <= y / 2 && x < 12; x++) {
      bool edge = x == 0 || x == y / 2 || y == 19;
      px[y * GPU_CURSOR_SIZE + x] = edge ? 0xff000000u : 0xffffffffu;
    }
  }
  size_t len = gpu_encode_create_2d(req_cmd(&g->req[0]), GPU_CURSOR_RESOURCE,
                                    VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM,
                                    GPU_CURSOR_SIZE, GPU_CURSOR_SIZE);
  st = command(g, len, VIRTIO_GPU_RESP_OK_NODATA,
               sizeof(struct virtio_gpu_ctrl_hdr), GPU_CURSOR_RESOURCE);
  if (st == RL_OK) {
    struct virtio_gpu_mem_entry e = {g->cursor_mem.phys,
                                     (uint32_t)g->cursor_mem.size, 0};
    st = gpu_encode_attach_backing(req_cmd(&g->req[0]), RL_PAGE_SIZE,
                                   GPU_CURSOR_RESOURCE, &e, 1, &len);
    if (st == RL_OK) {
      st = command(g, len, VIRTIO_GPU_RESP_OK_NODATA,
                   sizeof(struct virtio_gpu_ctrl_hdr), GPU_CURSOR_RESOURCE);
    }
  }
  if (st == RL_OK) {
    arch_dma_sync_for_device(g->cursor_mem.cpu, g->cursor_mem.size,
                             ARCH_DMA_TO_DEVICE, g->dev->dma_coherent);
    struct virtio_gpu_rect r = {0, 0, GPU_CURSOR_SIZE, GPU_CURSOR_SIZE};
    len =
        gpu_encode_transfer_2d(req_cmd(&g->req[0]), GPU_CURSOR_RESOURCE, &r, 0);
    st = command(g, len, VIRTIO_GPU_RESP_OK_NODATA,
                 sizeof(struct virtio_gpu_ctrl_hdr), GPU_CURSOR_RESOURCE);
  }
  if (st == RL_OK) {
    struct gpu_scanout *so = &g->scanout[0];
    st = cursor_command(g, VIRTIO_GPU_CMD_UPDATE_CURSOR, so->mode.width / 2,
                        so->mode.height / 2);
  }
  if (st == RL_OK) {
    g->cursor_ready = true;
    klog(LOG_INFO, "%s: cursor: 64x64 resource %u on scanout 0\n", g->dev->name,
         GPU_CURSOR_RESOURCE);
  }
  return st;
}

rl_status gpu_move_cursor(struct gpu *g, uint32_t x, uint32_t y) {
  if (g == NULL || !g->ready || !g->cursor_ready) {
    return RL_ERR_NOT_FOUND;
  }
  return cursor_command(g, VIRTIO_GPU_CMD_MOVE_CURSOR, x, y);
}

/* (Re)reads the display configuration and rebuilds scanouts whose mode
 * changed: teardown (detach, unref) first, then a new resource. */
static rl_status configure_scanouts(struct gpu *g) {
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
  for (unsigned i = 0; i < g->num_scanouts; i++) {
    struct gpu_scanout *so = &g->scanout[i];
    struct gpu_mode *m = &modes[i];
    get_edid(g, i);
#ifdef CONFIG_GPU_LIGHT_ALL_SCANOUTS
    if (!m->enabled && so->have_edid) {
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
    bool same = so->active && m->enabled && so->mode.width == m->width &&
                so->mode.height == m->height;
    if (same) {
      continue;
    }
    teardown_scanout(g, i);
    so->mode = *m;
    if (!m->enabled) {
      continue;
    }
    st = setup_scanout(g, i);
    if (st != RL_OK) {
      result = st;
      continue;
    }
    st = present_scanout(g, so);
    if (st != RL_OK) {
      result = st;
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
  klog_remove_sink(console_sink, g);
  for (unsigned i = 0; i < GPU_REQS; i++) {
    arch_dma_free(&g->req[i].buf);
  }
  arch_dma_free(&g->cursor_req.buf);
  arch_dma_free(&g->cursor_mem);
  for (unsigned i = 0; i < VIRTIO_GPU_MAX_SCANOUTS; i++) {
    free_chunks(&g->scanout[i]);
  }
}

/* The device's own state: the one an earlier probe left in `priv`
 * (released, for reuse), or a new one appended to the list. */
static struct gpu *gpu_state(struct virtio_device *dev) {
  struct gpu *g = dev->priv;
  if (g != NULL) {
    gpu_release(g);
    struct gpu *next = g->next;
    memset(g, 0, sizeof(*g));
    g->next = next;
    g->dev = dev;
    return g;
  }
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

static rl_status gpu_probe(struct virtio_device *dev) {
  struct gpu *g = gpu_state(dev);
  if (g == NULL) {
    klog(LOG_ERROR, "%s: no memory for the driver's state\n", dev->name);
    return RL_ERR_NO_MEMORY;
  }
  rl_status st = virtio_negotiate(dev, VIRTIO_BIT(VIRTIO_GPU_F_EDID));
  if (st == RL_OK) {
    st = virtio_queue_setup(dev, 0, "controlq", 64, gpu_done, &g->ctrlq);
  }
  if (st == RL_OK) {
    st = virtio_queue_setup(dev, 1, "cursorq", 16, gpu_done, &g->cursorq);
  }
  for (unsigned i = 0; st == RL_OK && i < GPU_REQS; i++) {
    st = arch_dma_alloc(GPU_REQ_PAGES, &g->req[i].buf);
  }
  if (st == RL_OK) {
    st = arch_dma_alloc(GPU_REQ_PAGES, &g->cursor_req.buf);
  }
  if (st == RL_OK) {
    st = virtio_device_ready(dev);
  }
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
  g->num_scanouts = (uint32_t)scanouts;
  /* Events already pending describe the configuration we read next. */
  uint64_t events = 0;
  if (virtio_config_read(dev, VIRTIO_GPU_CFG_EVENTS_READ, 4, &events) ==
          RL_OK &&
      events != 0) {
    (void)virtio_config_write32(dev, VIRTIO_GPU_CFG_EVENTS_CLEAR,
                                (uint32_t)events);
  }
  klog(LOG_INFO, "%s: %u scanout(s)\n", dev->name, g->num_scanouts);
  st = configure_scanouts(g);
  if (st != RL_OK) {
    return st;
  }
  g->first_frame_ns = arch_time_ns(); /* the boot picture is out */
  if (g->scanout[0].active) {
    st = setup_cursor(g);
    if (st != RL_OK) {
      klog(LOG_WARN, "%s: no cursor: %s\n", dev->name, rl_status_str(st));
    }
  }
  g->ready = true;
  st = klog_add_sink(console_sink, g);
  if (st != RL_OK) {
    klog(LOG_WARN, "%s: the log is not shown on screen: %s\n", dev->name,
         rl_status_str(st));
  }
  st = gpu_present(g);
  klog(LOG_INFO,
       "%s: %lu update(s) (transfer + flush each): at most %lu "
       "notification(s) and %lu interrupt(s) per update\n",
       dev->name, g->updates, g->max_notifications, g->max_interrupts);
  if (st != RL_OK) {
    /* The core fails the device: not handed out, no console. */
    g->ready = false;
    klog_remove_sink(console_sink, g);
  }
  return st;
}

static void gpu_config_changed(struct virtio_device *dev) {
  struct gpu *g = dev->priv;
  if (g != NULL) {
    g->event_pending = true; /* handled outside interrupt context */
  }
}

static void gpu_poll(struct virtio_device *dev) {
  struct gpu *g = dev->priv;
  if (g == NULL || !g->ready) {
    return;
  }
  if (g->event_pending) {
    g->event_pending = false;
    uint64_t events = 0;
    if (virtio_config_read(dev, VIRTIO_GPU_CFG_EVENTS_READ, 4, &events) ==
            RL_OK &&
        (events & VIRTIO_GPU_EVENT_DISPLAY)) {
      /* §5.7.4.1: acknowledge through events_clear, then re-read. */
      (void)virtio_config_write32(dev, VIRTIO_GPU_CFG_EVENTS_CLEAR,
                                  VIRTIO_GPU_EVENT_DISPLAY);
      klog(LOG_INFO, "%s: display configuration changed\n", dev->name);
      (void)configure_scanouts(g);
    }
  }
  (void)gpu_present(g);
}

const struct virtio_driver virtio_gpu_driver = {
    .name = "virtio-gpu",
    .device_id = 16,
    .feature_names = gpu_feature_names,
    .probe = gpu_probe,
    .config_changed = gpu_config_changed,
    .poll = gpu_poll,
};

uint64_t gpu_first_frame_ns(const struct gpu *g) {
  return g != NULL ? g->first_frame_ns : 0;
}

rl_status gpu_bench(struct gpu *g, unsigned updates, uint32_t w, uint32_t h,
                    struct gpu_bench_result *out) {
  if (g == NULL || !g->ready || !g->scanout[0].active) {
    return RL_ERR_NOT_FOUND;
  }
  struct gpu_scanout *so = &g->scanout[0];
  struct virtqueue_counts c0, c1;
  virtqueue_counts(g->ctrlq, &c0);
  unsigned long max_n = 0, max_i = 0;
  uint64_t start = arch_time_ns();
  for (unsigned k = 0; k < updates; k++) {
    /* Walk the rectangle over the screen so each update is different. */
    uint32_t x = (uint32_t)((uint64_t)k * 97 % (so->fb.width - w + 1));
    uint32_t y = (uint32_t)((uint64_t)k * 53 % (so->fb.height - h + 1));
    fb_damage(&so->fb, (struct fb_rect){x, y, w, h});
    rl_status st = present_scanout(g, so);
    if (st != RL_OK) {
      return st;
    }
    max_n = RL_MAX(max_n, g->last_notifications);
    max_i = RL_MAX(max_i, g->last_interrupts);
  }
  out->ns = arch_time_ns() - start;
  out->updates = updates;
  virtqueue_counts(g->ctrlq, &c1);
  out->notifications = c1.notifications - c0.notifications;
  out->interrupts = c1.interrupts - c0.interrupts;
  out->max_notifications = max_n;
  out->max_interrupts = max_i;
  return RL_OK;
}

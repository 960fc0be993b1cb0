/* virtio-gpu 2D resources of the scanouts and their backing (virtio 1.2
 * §5.7.6.8): the framebuffer is allocated in chunks of whole rows, and the
 * resource's backing is the scatter list of those physically separate
 * runs. */
#include <arch/dma.h>
#include <lib/log.h>
#include <ringlight/config.h>
#include <string.h>

#include "gpu_internal.h"

void gpu_fb_free(struct gpu_scanout *so) {
  for (unsigned i = 0; i < FB_MAX_CHUNKS; i++) {
    arch_dma_free(&so->chunks[i]);
  }
  memset(&so->fb, 0, sizeof(so->fb));
}

rl_status gpu_fb_alloc(struct gpu_scanout *so, uint32_t w, uint32_t h) {
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
    /* Not zeroed: the painter fills every pixel before the first
     * update, and the device only reads it (the probe's warm-up copies
     * it unpainted into a resource not yet on a scanout). */
    rl_status st = arch_dma_alloc_uninit(
        (bytes + RL_PAGE_SIZE - 1) / RL_PAGE_SIZE, &so->chunks[i]);
    if (st != RL_OK) {
      gpu_fb_free(so);
      return st;
    }
    fb->chunk[i] = so->chunks[i].cpu;
  }
  return RL_OK;
}

/* RESOURCE_ATTACH_BACKING in r's command page: one entry per chunk,
 * written in the command itself (gpu_fb_alloc made sure they fit). */
static size_t encode_attach(struct gpu_req *r, const struct gpu_scanout *so) {
  const struct fb_surface *fb = &so->fb;
  void *cmd = gpu_req_cmd(r);
  struct virtio_gpu_mem_entry *e = gpu_attach_entries(cmd);
  for (uint32_t i = 0; i < fb->nchunks; i++) {
    uint32_t rows =
        RL_MIN(fb->rows_per_chunk, fb->height - i * fb->rows_per_chunk);
    e[i] =
        (struct virtio_gpu_mem_entry){so->chunks[i].phys, rows * fb->stride, 0};
  }
  return gpu_encode_attach_in_place(cmd, so->resource_id, fb->nchunks);
}

/* A resource id is used again only by a re-probe (recovery after a
 * device reset) or a scanout rebuilt after a display change. Without
 * both (GPU_TEARDOWN 0), each scanout sets up one resource for the
 * device's lifetime, with id index + 1: no id can come back, and there
 * is nothing to retire. */
#if GPU_TEARDOWN /* else gpu_internal.h's: index + 1 */
static void retire_id(struct gpu *g, uint32_t id) {
  if (id > 0 && id < GPU_RESOURCE_IDS) {
    g->retired_ids[id / 32] |= 1u << (id % 32);
  }
}

static bool id_retired(const struct gpu *g, uint32_t id) {
  return (g->retired_ids[id / 32] >> (id % 32)) & 1u;
}

uint32_t gpu_resource_id(const struct gpu *g, unsigned index) {
  uint32_t id = index;
  for (uint32_t k = 0; k + 1 < GPU_RESOURCE_IDS; k++) {
    id = id + 1 < GPU_RESOURCE_IDS ? id + 1 : 1; /* index + 1, wrapping */
    bool used = id_retired(g, id);
    for (unsigned i = 0; i < GPU_SCANOUTS && !used; i++) {
      used =
          i != index && g->scanout[i].active && g->scanout[i].resource_id == id;
    }
    if (!used) {
      return id;
    }
  }
  return 0;
}
#endif

#if GPU_TEARDOWN /* else gpu_resource_destroy, its caller, is not built */
/* `cmd` on the resource failed: the device may still hold the resource
 * and read or write its backing (virtio 1.2 §5.7.6.8: only a completed
 * DETACH_BACKING returns the pages). Forget the chunks without freeing
 * them and never use the id again on this device. */
static void abandon(struct gpu *g, struct gpu_scanout *so, const char *cmd,
                    rl_status st) {
  size_t pages = 0;
  unsigned chunks = 0;
  for (unsigned i = 0; i < FB_MAX_CHUNKS; i++) {
    if (so->chunks[i].size != 0) {
      pages += so->chunks[i].size / RL_PAGE_SIZE;
      chunks++;
    }
  }
  memset(so->chunks, 0, sizeof(so->chunks));
  memset(&so->fb, 0, sizeof(so->fb));
  retire_id(g, so->resource_id);
  klog(LOG_WARN,
       "%s: resource %u: %s failed (%s): the device may still own its "
       "backing; %u chunk(s), %zu page(s) leaked on purpose, resource id %u "
       "retired\n",
       g->dev->name, so->resource_id, cmd, rl_status_str(st), chunks, pages,
       so->resource_id);
}
#endif

#ifdef CONFIG_TEST_GPU_SKIP_ATTACH_BACKING
#define CREATE_REQS 1u /* test build: the display tests must fail */
#else
#define CREATE_REQS 2u
#endif

#if GPU_TEARDOWN || defined(CONFIG_GPU_WARMUP) /* the two posted together */
/* RESOURCE_CREATE_2D in req[0] and ATTACH_BACKING in req[1]: the first
 * CREATE_REQS of reqs, answered by RESP_OK_NODATA. */
static void encode_create(struct gpu *g, struct gpu_scanout *so,
                          struct gpu_req **reqs, size_t *lens, size_t *resp) {
  reqs[0] = &g->req[0];
  reqs[1] = &g->req[1];
  lens[0] = gpu_encode_create_2d(gpu_req_cmd(reqs[0]), so->resource_id,
                                 VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, so->fb.width,
                                 so->fb.height);
  lens[1] = encode_attach(reqs[1], so);
  resp[0] = resp[1] = sizeof(struct virtio_gpu_ctrl_hdr);
}

/* Both answers read, given `waited` (posting and waiting for them); on a
 * failure, what the device may hold decides what is freed (teardown). */
static rl_status created(struct gpu *g, struct gpu_scanout *so,
                         rl_status waited) {
  const size_t hdr = sizeof(struct virtio_gpu_ctrl_hdr);
  rl_status create = waited, attach = waited;
  if (waited == RL_OK) {
    create = gpu_check(g, &g->req[0], VIRTIO_GPU_RESP_OK_NODATA, hdr, 0,
                       so->resource_id);
    attach = CREATE_REQS < 2
                 ? RL_OK
                 : gpu_check(g, &g->req[1], VIRTIO_GPU_RESP_OK_NODATA, hdr, 0,
                             so->resource_id);
  }
  if (CREATE_REQS < 2 && create == RL_OK) {
    klog(LOG_WARN, "%s: test build: RESOURCE_ATTACH_BACKING skipped\n",
         g->dev->name);
  }
  rl_status st = create != RL_OK ? create : attach;
#if GPU_TEARDOWN /* else a failure fails the device: what it holds stays */
  if (st == RL_OK) {
    return st;
  }
  /* RL_ERR_IO: the device answered an error, or a device reset failed the
   * request; either way it made (create) or attached (attach) nothing
   * (§5.7.6.8). The warm-up behind them (it found no backing to read) is
   * answered first. */
  (void)gpu_warm_finish(g);
  if (attach == RL_ERR_IO && create != RL_ERR_IO) {
    if (create == RL_OK) { /* made, nothing attached */
      size_t len = gpu_encode_unref(gpu_req_cmd(&g->req[0]), so->resource_id);
      create = gpu_command_nodata(g, len, so->resource_id);
    }
    if (create != RL_OK) {
      retire_id(g, so->resource_id); /* the device may have made it */
    }
    gpu_fb_free(so);
  } else if (attach == RL_ERR_IO) {
    gpu_fb_free(so); /* neither made nor attached */
  } else if (create == RL_ERR_IO) {
    /* Not made, yet the attach was not refused: the device is not to be
     * trusted with the pages. */
    abandon(g, so, "RESOURCE_ATTACH_BACKING", attach);
  } else {
    gpu_resource_destroy(g, so); /* may be made and backed: detach, unref */
  }
#endif
  return st;
}

rl_status gpu_resource_create(struct gpu *g, struct gpu_scanout *so) {
  struct gpu_req *reqs[2];
  size_t lens[2], resp[2];
  encode_create(g, so, reqs, lens, resp);
  return created(g, so, gpu_post(g, g->ctrlq, reqs, lens, resp, CREATE_REQS));
}
#else
rl_status gpu_resource_create(struct gpu *g, struct gpu_scanout *so) {
  /* No copy to overlap and nothing torn down (the smallest image): one
   * command after the other is the least code, and a failure fails the
   * device. */
  size_t len = gpu_encode_create_2d(gpu_req_cmd(&g->req[0]), so->resource_id,
                                    VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM,
                                    so->fb.width, so->fb.height);
  rl_status st = gpu_command_nodata(g, len, so->resource_id);
  if (st == RL_OK && CREATE_REQS > 1) {
    st = gpu_command_nodata(g, encode_attach(&g->req[0], so), so->resource_id);
  } else if (st == RL_OK) {
    klog(LOG_WARN, "%s: test build: RESOURCE_ATTACH_BACKING skipped\n",
         g->dev->name);
  }
  return st;
}
#endif

#ifdef CONFIG_GPU_WARMUP
rl_status gpu_resource_post(struct gpu *g, struct gpu_scanout *so) {
  struct gpu_req *reqs[3];
  size_t lens[3], resp[3];
  /* Another scanout's warm-up still in flight: its answer first (its
   * request is reused). An error answer there is that scanout's. */
  (void)gpu_warm_finish(g);
  encode_create(g, so, reqs, lens, resp);
  reqs[CREATE_REQS] = gpu_warm_encode(g, so, &lens[CREATE_REQS]);
  resp[CREATE_REQS] = sizeof(struct virtio_gpu_ctrl_hdr);
  /* gpu_resource_created reads the answers: no interrupt for them. The
   * device's slow copy follows them at once, and an interrupt in it
   * would stall the CPU: QEMU holds its global lock while it copies, and
   * the interrupt controller's registers wait for it. */
  virtqueue_disable_cb(g->ctrlq);
  rl_status st =
      gpu_post_nowait(g, g->ctrlq, reqs, lens, resp, CREATE_REQS + 1);
  if (st == RL_OK) {
    gpu_warm_posted(g, so);
  }
  return st;
}

rl_status gpu_resource_created(struct gpu *g, struct gpu_scanout *so,
                               rl_status posted) {
  struct gpu_req *reqs[2] = {&g->req[0], &g->req[1]};
  rl_status st = posted != RL_OK
                     ? posted
                     : gpu_wait_posted(g, g->ctrlq, reqs, CREATE_REQS);
  if (st != RL_OK) {
    gpu_log_lost(g, reqs[0], st); /* as gpu_post does */
  }
  return created(g, so, st);
}
#endif

#if GPU_TEARDOWN /* else gpu_internal.h's: nothing */
void gpu_resource_destroy(struct gpu *g, struct gpu_scanout *so) {
  size_t len =
      gpu_encode_detach_backing(gpu_req_cmd(&g->req[0]), so->resource_id);
  rl_status detach = gpu_command_nodata(g, len, so->resource_id);
  len = gpu_encode_unref(gpu_req_cmd(&g->req[0]), so->resource_id);
  rl_status unref = gpu_command_nodata(g, len, so->resource_id);
  if (detach != RL_OK) {
    abandon(g, so, "RESOURCE_DETACH_BACKING", detach);
  } else if (unref != RL_OK) {
    abandon(g, so, "RESOURCE_UNREF", unref);
  } else {
    gpu_fb_free(so);
  }
}
#endif

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

static rl_status attach_backing(struct gpu *g, struct gpu_scanout *so) {
  struct fb_surface *fb = &so->fb;
  void *cmd = gpu_req_cmd(&g->req[0]);
  /* One entry per chunk, written in the command itself (gpu_fb_alloc
   * made sure they fit its page). */
  struct virtio_gpu_mem_entry *e = gpu_attach_entries(cmd);
  for (uint32_t i = 0; i < fb->nchunks; i++) {
    uint32_t rows =
        RL_MIN(fb->rows_per_chunk, fb->height - i * fb->rows_per_chunk);
    e[i] =
        (struct virtio_gpu_mem_entry){so->chunks[i].phys, rows * fb->stride, 0};
  }
  size_t len = gpu_encode_attach_in_place(cmd, so->resource_id, fb->nchunks);
  return gpu_command_nodata(g, len, so->resource_id);
}

/* A resource id is used again only by a re-probe (recovery after a
 * device reset) or a scanout rebuilt after a display change. Without
 * both (GPU_TEARDOWN 0), each scanout sets up one resource for the
 * device's lifetime, with id index + 1: no id can come back, and there
 * is nothing to retire. */
#define GPU_REUSES_IDS GPU_TEARDOWN

static void retire_id(struct gpu *g, uint32_t id) {
  if (GPU_REUSES_IDS && id > 0 && id < GPU_RESOURCE_IDS) {
    g->retired_ids[id / 32] |= 1u << (id % 32);
  }
}

#if GPU_TEARDOWN /* else gpu_internal.h's: index + 1 */
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

rl_status gpu_resource_create(struct gpu *g, struct gpu_scanout *so) {
  size_t len = gpu_encode_create_2d(gpu_req_cmd(&g->req[0]), so->resource_id,
                                    VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM,
                                    so->fb.width, so->fb.height);
  rl_status st = gpu_command_nodata(g, len, so->resource_id);
  if (!GPU_TEARDOWN && st != RL_OK) {
    return st; /* the device is failed: what it holds stays (above) */
  }
  if (st != RL_OK) {
    if (st != RL_ERR_IO) {
      /* No clear error answer: the device may have made it. */
      retire_id(g, so->resource_id);
    }
    gpu_fb_free(so); /* nothing attached yet */
    return st;
  }
#ifdef CONFIG_TEST_GPU_SKIP_ATTACH_BACKING
  bool skip_attach = true; /* test build: the display tests must fail */
  klog(LOG_WARN, "%s: test build: RESOURCE_ATTACH_BACKING skipped\n",
       g->dev->name);
#else
  bool skip_attach = false;
#endif
  if (skip_attach) {
    return RL_OK;
  }
  st = attach_backing(g, so);
  if (!GPU_TEARDOWN) {
    return st; /* a failure fails the device: nothing torn down */
  }
  if (st == RL_ERR_IO) {
    /* The device answered an error: nothing attached (§5.7.6.8). */
    len = gpu_encode_unref(gpu_req_cmd(&g->req[0]), so->resource_id);
    if (gpu_command_nodata(g, len, so->resource_id) != RL_OK) {
      retire_id(g, so->resource_id);
    }
    gpu_fb_free(so);
  } else if (st != RL_OK) {
    /* A bad answer or none: the device may have attached the chunks. */
    gpu_resource_destroy(g, so);
  }
  return st;
}

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

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
    rl_status st = arch_dma_alloc((bytes + RL_PAGE_SIZE - 1) / RL_PAGE_SIZE,
                                  &so->chunks[i]);
    if (st != RL_OK) {
      gpu_fb_free(so);
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
      gpu_encode_attach_backing(gpu_req_cmd(&g->req[0]), RL_PAGE_SIZE,
                                so->resource_id, entries, fb->nchunks, &len);
  if (st != RL_OK) {
    return st;
  }
  return gpu_command_nodata(g, len, so->resource_id);
}

rl_status gpu_resource_create(struct gpu *g, struct gpu_scanout *so) {
  size_t len = gpu_encode_create_2d(gpu_req_cmd(&g->req[0]), so->resource_id,
                                    VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM,
                                    so->fb.width, so->fb.height);
  rl_status st = gpu_command_nodata(g, len, so->resource_id);
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
  return st;
}

void gpu_resource_destroy(struct gpu *g, struct gpu_scanout *so) {
  size_t len =
      gpu_encode_detach_backing(gpu_req_cmd(&g->req[0]), so->resource_id);
  (void)gpu_command_nodata(g, len, so->resource_id);
  len = gpu_encode_unref(gpu_req_cmd(&g->req[0]), so->resource_id);
  (void)gpu_command_nodata(g, len, so->resource_id);
  gpu_fb_free(so);
}

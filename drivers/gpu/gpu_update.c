/* virtio-gpu display updates (virtio 1.2 §5.7.6.8): the damaged rectangle
 * of a scanout's framebuffer goes out as TRANSFER_TO_HOST_2D and a fenced
 * RESOURCE_FLUSH, posted together with a single notification. */
#include <arch/dma.h>
#include <lib/log.h>
#include <ringlight/config.h>

#include "gpu_internal.h"

/* Notifications and interrupts per update: for the probe's info line
 * (LOG_INFO, 2) and the benchmark only. */
#if CONFIG_LOG_LEVEL >= 2 || defined(CONFIG_BENCH)
#define GPU_COUNT_UPDATES 1
#else
#define GPU_COUNT_UPDATES 0
#endif

static rl_status update(struct gpu *g, struct gpu_scanout *so,
                        struct fb_rect r) {
  /* Before the counts: the warm-up's interrupt is not this update's. */
  rl_status st = gpu_warm_finish(g);
  if (st != RL_OK) {
    return st;
  }
  struct virtio_gpu_rect vr = {r.x, r.y, r.w, r.h};
  uint64_t offset = (uint64_t)r.y * so->fb.stride + (uint64_t)r.x * 4;
  for (uint32_t y = r.y; y < r.y + r.h; y++) {
    arch_dma_sync_for_device(&g->dev->dma, fb_row(&so->fb, y) + r.x,
                             (size_t)r.w * 4, ARCH_DMA_TO_DEVICE);
  }
  uint64_t fence = ++g->next_fence;
#ifdef CONFIG_GPU_LOG_UPDATES
  kprintf_serial("gpu-update: %s res %u x %u y %u w %u h %u offset %llu\n",
                 g->dev->name, so->resource_id, r.x, r.y, r.w, r.h,
                 (unsigned long long)offset);
#endif
  size_t lens[2], resp[2] = {sizeof(struct virtio_gpu_ctrl_hdr),
                             sizeof(struct virtio_gpu_ctrl_hdr)};
  lens[0] = gpu_encode_transfer_2d(gpu_req_cmd(&g->req[0]), so->resource_id,
                                   &vr, offset);
  lens[1] =
      gpu_encode_flush(gpu_req_cmd(&g->req[1]), so->resource_id, &vr, fence);
  struct gpu_req *reqs[2] = {&g->req[0], &g->req[1]};
#if GPU_COUNT_UPDATES
  struct virtqueue_counts before, after;
  virtqueue_counts(g->ctrlq, &before);
#endif
  st = gpu_post(g, g->ctrlq, reqs, lens, resp, 2);
#if GPU_COUNT_UPDATES
  virtqueue_counts(g->ctrlq, &after);
  g->last_notifications = after.notifications - before.notifications;
  g->last_interrupts = after.interrupts - before.interrupts;
  g->max_notifications = RL_MAX(g->max_notifications, g->last_notifications);
  g->max_interrupts = RL_MAX(g->max_interrupts, g->last_interrupts);
#endif
  if (st != RL_OK) {
    return st; /* logged by gpu_post */
  }
  st = gpu_check(g, &g->req[0], VIRTIO_GPU_RESP_OK_NODATA, resp[0], 0,
                 so->resource_id);
  rl_status st2 = gpu_check(g, &g->req[1], VIRTIO_GPU_RESP_OK_NODATA, resp[1],
                            fence, so->resource_id);
  g->updates++;
  return st != RL_OK ? st : st2;
}

rl_status gpu_present_scanout(struct gpu *g, struct gpu_scanout *so) {
  struct fb_rect r;
  if (so->active && so->unshown) {
    rl_status st = gpu_scanout_show(g, so); /* the probe's, deferred */
    if (st != RL_OK) {
      return st;
    }
  }
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
  for (unsigned i = 0; i < GPU_NUM_SCANOUTS(g); i++) {
    rl_status st = gpu_present_scanout(g, &g->scanout[i]);
    if (st != RL_OK) {
      result = st;
    }
  }
  return result;
}

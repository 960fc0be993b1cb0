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

/* An update of rectangle r of a shown scanout; with `show`, the probe's
 * first one: SET_SCANOUT goes in the same notification, before the
 * transfer and the flush, all three behind the warm-up still in flight,
 * so the device shows the picture right after its slow copy without a
 * round trip through the driver (virtio 1.2 §5.7.6.8: the resource is on
 * the scanout before the flush). */
static rl_status update(struct gpu *g, struct gpu_scanout *so, struct fb_rect r,
                        bool show) {
  rl_status warm = RL_OK;
  if (!show) {
    /* Before the counts: the warm-up's interrupt is not this update's. */
    warm = gpu_warm_finish(g);
    if (warm != RL_OK) {
      return warm;
    }
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
  struct gpu_req *reqs[3];
  size_t lens[3], resp[3];
  unsigned n = 0;
  if (show) {
    struct virtio_gpu_rect whole = {0, 0, so->fb.width, so->fb.height};
    reqs[n] = &g->req[GPU_SHOW_REQ];
    lens[n++] = gpu_encode_set_scanout(gpu_req_cmd(reqs[0]),
                                       (uint32_t)(so - g->scanout),
                                       so->resource_id, &whole);
  }
  reqs[n] = &g->req[0];
  lens[n++] = gpu_encode_transfer_2d(gpu_req_cmd(&g->req[0]), so->resource_id,
                                     &vr, offset);
  reqs[n] = &g->req[1];
  lens[n++] =
      gpu_encode_flush(gpu_req_cmd(&g->req[1]), so->resource_id, &vr, fence);
  for (unsigned i = 0; i < n; i++) {
    resp[i] = sizeof(struct virtio_gpu_ctrl_hdr);
  }
#if GPU_COUNT_UPDATES
  struct virtqueue_counts before, mid, after;
  virtqueue_counts(g->ctrlq, &before);
#endif
#ifdef CONFIG_GPU_WARMUP
  rl_status st = gpu_post_nowait(g, g->ctrlq, reqs, lens, resp, n);
  if (st == RL_OK && show) {
    /* A warm-up answered with an error does not stop these (their
     * buffers are the device's until answered); one that broke the GPU
     * does. */
    warm = gpu_warm_finish(g);
  }
#if GPU_COUNT_UPDATES
  mid = before;
  if (show) {
    virtqueue_counts(g->ctrlq, &mid); /* the warm-up's interrupt: not ours */
  }
#endif
  if (st == RL_OK) {
    st = gpu_wait_posted(g, g->ctrlq, reqs, n);
  }
#else
  /* No warm-up: the update's requests alone (show is false). */
  rl_status st = gpu_post(g, g->ctrlq, reqs, lens, resp, n);
#if GPU_COUNT_UPDATES
  mid = before;
#endif
#endif
#if GPU_COUNT_UPDATES
  virtqueue_counts(g->ctrlq, &after);
  g->last_notifications = after.notifications - before.notifications;
  g->last_interrupts = after.interrupts - mid.interrupts;
  g->max_notifications = RL_MAX(g->max_notifications, g->last_notifications);
  g->max_interrupts = RL_MAX(g->max_interrupts, g->last_interrupts);
#endif
  if (show) {
    so->unshown = false;
  }
  if (st != RL_OK || warm != RL_OK) {
    if (st != RL_OK) {
      klog(LOG_ERROR, "%s: update of resource %u: %s\n", g->dev->name,
           so->resource_id, rl_status_str(st));
    }
    if (show) {
      /* As a failed SET_SCANOUT alone (gpu_scanout_show): not shown. */
      so->active = false;
      gpu_resource_destroy(g, so); /* created and backed: detach, unref */
    }
    return warm != RL_OK ? warm : st;
  }
  unsigned i = 0;
  rl_status shown = RL_OK;
  if (show) {
    shown = gpu_check(g, reqs[i++], VIRTIO_GPU_RESP_OK_NODATA, resp[0], 0,
                      so->resource_id);
  }
  st = gpu_check(g, reqs[i], VIRTIO_GPU_RESP_OK_NODATA, resp[i], 0,
                 so->resource_id);
  rl_status st2 = gpu_check(g, reqs[i + 1], VIRTIO_GPU_RESP_OK_NODATA,
                            resp[i + 1], fence, so->resource_id);
  g->updates++;
  if (shown != RL_OK) {
    so->active = false;
    gpu_resource_destroy(g, so);
    return shown;
  }
  return st != RL_OK ? st : st2;
}

rl_status gpu_present_scanout(struct gpu *g, struct gpu_scanout *so) {
  struct fb_rect r;
  if (!so->active) {
    return RL_OK;
  }
  bool show = so->unshown;
#ifndef CONFIG_GPU_WARMUP
  /* No warm-up to post behind: the probe's SET_SCANOUT alone, first (the
   * batched path's code then not in the image). */
  if (show) {
    rl_status st = gpu_scanout_show(g, so);
    if (st != RL_OK) {
      return st;
    }
    show = false;
  }
#endif
  if (!fb_take_damage(&so->fb, &r)) {
    /* The probe's SET_SCANOUT, deferred, with nothing drawn to send. */
    return show ? gpu_scanout_show(g, so) : RL_OK;
  }
  return update(g, so, r, show);
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

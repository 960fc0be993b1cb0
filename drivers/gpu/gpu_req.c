/* virtio-gpu request plumbing (virtio 1.2 §5.7.6): every command waits for
 * its response with a deadline and checks it against the type the command
 * expects; an error names the command, the resource and the code. */
#include <arch/dma.h>
#include <lib/log.h>
#include <ringlight/config.h>
#include <string.h>

#include "gpu_internal.h"

void gpu_done(struct virtqueue *vq, void *token, uint32_t len) {
  (void)vq;
  struct gpu_req *r = token;
  r->used_len = len;
  r->done = true;
}

/* Posts requests [0, n) with one notification, without waiting. */
static rl_status post(struct gpu *g, struct virtqueue *vq,
                      struct gpu_req **reqs, const size_t *cmd_len,
                      const size_t *resp_len, unsigned n) {
  const struct arch_dma_dev *dma = &g->dev->dma;
  if (g->broken) {
    return RL_ERR_BROKEN;
  }
  for (unsigned i = 0; i < n; i++) {
    struct gpu_req *r = reqs[i];
    r->done = false;
    r->used_len = 0;
    memset(gpu_req_resp(r), 0, RL_PAGE_SIZE);
    arch_dma_sync_for_device(dma, r->buf.cpu, r->buf.size,
                             ARCH_DMA_BIDIRECTIONAL);
    struct vq_seg out = {r->buf.phys, (uint32_t)cmd_len[i]};
    /* The whole response page is writable; the device says how much it
     * wrote, and gpu_check() holds that against what the command
     * expects. */
    struct vq_seg in = {r->buf.phys + RL_PAGE_SIZE, (uint32_t)RL_PAGE_SIZE};
    rl_status st = virtqueue_add(vq, &out, 1, &in, resp_len[i] != 0 ? 1 : 0, r);
    if (st != RL_OK) {
      g->broken = true;
      return st;
    }
  }
  virtqueue_kick(vq);
  return RL_OK;
}

/* Waits for one posted request. */
static rl_status wait(struct gpu *g, struct virtqueue *vq, struct gpu_req *r) {
  rl_status st = virtqueue_wait(vq, &r->done, GPU_TIMEOUT_NS);
  if (st != RL_OK) {
    /* A cursor command lost to a reset of the cursor queue alone
     * (RING_RESET, virtqueue_wait did it) leaves no state behind: the
     * GPU goes on. Anything else may have: the GPU stops. */
#ifdef CONFIG_GPU_CURSOR
    if (vq != g->cursorq || !virtqueue_resettable(vq) || g->dev->failed) {
      g->broken = true;
    }
#else
    g->broken = true; /* the control queue: no reset of it alone */
#endif
    return st;
  }
  if (VQ_DETACH && r->used_len == UINT32_MAX) {
    return RL_ERR_IO; /* failed by a device reset */
  }
  arch_dma_sync_for_cpu(&g->dev->dma, gpu_req_resp(r), RL_PAGE_SIZE,
                        ARCH_DMA_FROM_DEVICE);
  return RL_OK;
}

static rl_status wait_posted(struct gpu *g, struct virtqueue *vq,
                             struct gpu_req **reqs, unsigned n) {
  rl_status st = RL_OK;
  for (unsigned i = 0; st == RL_OK && !g->broken && i < n; i++) {
    st = wait(g, vq, reqs[i]);
  }
  return st;
}

#ifdef CONFIG_GPU_WARMUP /* only the warm-up and the updates behind it */
rl_status gpu_post_nowait(struct gpu *g, struct virtqueue *vq,
                          struct gpu_req **reqs, const size_t *cmd_len,
                          const size_t *resp_len, unsigned n) {
  return post(g, vq, reqs, cmd_len, resp_len, n);
}

rl_status gpu_wait_posted(struct gpu *g, struct virtqueue *vq,
                          struct gpu_req **reqs, unsigned n) {
  return wait_posted(g, vq, reqs, n);
}
#endif

rl_status gpu_post(struct gpu *g, struct virtqueue *vq, struct gpu_req **reqs,
                   const size_t *cmd_len, const size_t *resp_len, unsigned n) {
  rl_status st = post(g, vq, reqs, cmd_len, resp_len, n);
  rl_status warm = RL_OK;
#ifdef CONFIG_GPU_WARMUP
  if (st == RL_OK && vq == g->ctrlq) {
    /* Posted behind a warm-up still in flight, whose answer is waited
     * for and checked first: the device goes on with these when its
     * slow copy ends, without a round trip through the driver. */
    warm = gpu_warm_finish(g);
  }
#endif
  /* A warm-up answered with an error does not stop these (their buffers
   * are the device's until answered); one that broke the GPU does. */
  if (st == RL_OK) {
    st = wait_posted(g, vq, reqs, n);
  }
  if (st != RL_OK) { /* the callers' one line for a lost command */
    gpu_log_lost(g, reqs[0], st);
  }
  return warm != RL_OK ? warm : st;
}

#ifdef CONFIG_GPU_WARMUP
struct gpu_req *gpu_warm_encode(struct gpu *g, const struct gpu_scanout *so,
                                size_t *len) {
  struct gpu_req *r = &g->req[GPU_WARM_REQ];
  struct virtio_gpu_rect vr = {0, 0, so->fb.width, so->fb.height};
  /* No cache clean: what the device copies here is never shown (the
   * update that shows the resource cleans and transfers the painted
   * rows again). */
  *len = gpu_encode_transfer_2d(gpu_req_cmd(r), so->resource_id, &vr, 0);
  return r;
}

void gpu_warm_posted(struct gpu *g, const struct gpu_scanout *so) {
  g->warm_resource = so->resource_id;
}

rl_status gpu_warm_finish(struct gpu *g) {
  uint32_t resource = g->warm_resource;
  if (resource == 0) {
    return RL_OK;
  }
  g->warm_resource = 0;
  struct gpu_req *r = &g->req[GPU_WARM_REQ];
  rl_status st = wait(g, g->ctrlq, r);
  if (st == RL_OK) {
    st = gpu_check(g, r, VIRTIO_GPU_RESP_OK_NODATA,
                   sizeof(struct virtio_gpu_ctrl_hdr), 0, resource);
  } else {
    klog(LOG_ERROR, "%s: " GPU_TYPE_FMT " (resource %u): %s\n", g->dev->name,
         GPU_TYPE_ARG(VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D), resource,
         rl_status_str(st));
  }
  return st;
}

#endif

rl_status gpu_check(struct gpu *g, struct gpu_req *r, uint32_t expected,
                    size_t expected_len, uint64_t fence, uint32_t resource) {
  uint32_t type;
  const struct virtio_gpu_ctrl_hdr *cmd = gpu_req_cmd(r);
  rl_status st = gpu_check_response(gpu_req_resp(r), r->used_len, expected,
                                    expected_len, fence, &type);
  if (st != RL_OK) {
#ifdef CONFIG_GPU_COMMAND_NAMES
    klog(LOG_ERROR,
         "%s: %s (resource %u): device answered %s (%#x), %u bytes; "
         "expected %s\n",
         g->dev->name, gpu_type_name(cmd->type), resource, gpu_type_name(type),
         type, r->used_len, gpu_type_name(expected));
#else
    klog(LOG_ERROR,
         "%s: command %#x (resource %u): device answered %#x, %u bytes; "
         "expected %#x\n",
         g->dev->name, cmd->type, resource, type, r->used_len, expected);
#endif
  }
  return st;
}

rl_status gpu_command(struct gpu *g, size_t cmd_len, uint32_t expected,
                      size_t resp_len, uint32_t resource) {
  struct gpu_req *r = &g->req[0];
  struct gpu_req *reqs[1] = {r};
  rl_status st = gpu_post(g, g->ctrlq, reqs, &cmd_len, &resp_len, 1);
  if (st != RL_OK) {
    return st; /* logged by gpu_post */
  }
  return gpu_check(g, r, expected, resp_len, 0, resource);
}

rl_status gpu_command_nodata(struct gpu *g, size_t cmd_len, uint32_t resource) {
  return gpu_command(g, cmd_len, VIRTIO_GPU_RESP_OK_NODATA,
                     sizeof(struct virtio_gpu_ctrl_hdr), resource);
}

/* virtio-gpu cursor (virtio 1.2 §5.7.6.10): a 64x64 resource, shown and
 * moved with UPDATE_CURSOR and MOVE_CURSOR on the cursor queue, which
 * answers with no data. */
#include <arch/dma.h>
#include <lib/log.h>

#include "gpu_internal.h"

static rl_status cursor_command(struct gpu *g, uint32_t type, uint32_t scanout,
                                uint32_t x, uint32_t y) {
  size_t len = gpu_encode_cursor(gpu_req_cmd(&g->cursor_req), type, scanout, x,
                                 y, GPU_CURSOR_RESOURCE, 0, 0);
  size_t resp = 0;
  struct gpu_req *reqs[1] = {&g->cursor_req};
  return gpu_post(g, g->cursorq, reqs, &len, &resp, 1); /* logs a failure */
}

rl_status gpu_cursor_setup(struct gpu *g) {
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
  size_t len = gpu_encode_create_2d(
      gpu_req_cmd(&g->req[0]), GPU_CURSOR_RESOURCE,
      VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, GPU_CURSOR_SIZE, GPU_CURSOR_SIZE);
  st = gpu_command_nodata(g, len, GPU_CURSOR_RESOURCE);
  if (st == RL_OK) {
    void *cmd = gpu_req_cmd(&g->req[0]);
    *gpu_attach_entries(cmd) = (struct virtio_gpu_mem_entry){
        g->cursor_mem.phys, (uint32_t)g->cursor_mem.size, 0};
    len = gpu_encode_attach_in_place(cmd, GPU_CURSOR_RESOURCE, 1);
    st = gpu_command_nodata(g, len, GPU_CURSOR_RESOURCE);
  }
  if (st == RL_OK) {
    arch_dma_sync_for_device(&g->dev->dma, g->cursor_mem.cpu,
                             g->cursor_mem.size, ARCH_DMA_TO_DEVICE);
    struct virtio_gpu_rect r = {0, 0, GPU_CURSOR_SIZE, GPU_CURSOR_SIZE};
    len = gpu_encode_transfer_2d(gpu_req_cmd(&g->req[0]), GPU_CURSOR_RESOURCE,
                                 &r, 0);
    st = gpu_command_nodata(g, len, GPU_CURSOR_RESOURCE);
  }
  if (st == RL_OK) {
    struct gpu_scanout *so = &g->scanout[0];
    st = cursor_command(g, VIRTIO_GPU_CMD_UPDATE_CURSOR, 0, so->mode.width / 2,
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
  return cursor_command(g, VIRTIO_GPU_CMD_MOVE_CURSOR, 0, x, y);
}

rl_status gpu_move_cursor_on(struct gpu *g, unsigned scanout, uint32_t x,
                             uint32_t y) {
  if (g == NULL || !g->ready || !g->cursor_ready ||
      scanout >= g->num_scanouts || !g->scanout[scanout].active) {
    return RL_ERR_NOT_FOUND;
  }
  /* §5.7.6.10: the image is set per scanout (UPDATE_CURSOR); moving to
   * another scanout sets it there first. */
  uint32_t type = scanout == g->cursor_scanout ? VIRTIO_GPU_CMD_MOVE_CURSOR
                                               : VIRTIO_GPU_CMD_UPDATE_CURSOR;
  rl_status st = cursor_command(g, type, scanout, x, y);
  if (st == RL_OK) {
    g->cursor_scanout = scanout;
  }
  return st;
}

/* The display-path benchmark (CONFIG_BENCH builds only; gpu_bench.h). */
#include <arch/time.h>

#include "gpu_bench.h"
#include "gpu_internal.h"

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
    rl_status st = gpu_present_scanout(g, so);
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

/* virtio-gpu driver (virtio 1.2 §5.7): 2D resources on every enabled
 * scanout, the boot picture, a text console mirroring the log, a
 * hardware cursor, display change events. */
#ifndef DRIVERS_GPU_GPU_H
#define DRIVERS_GPU_GPU_H

#include <ringlight/status.h>

#include "fb.h"

/* The surface of scanout `index` (NULL when not active). */
struct fb_surface *gpu_surface(unsigned index);
/* Sends the damaged rectangle of every active scanout: TRANSFER_TO_HOST_2D
 * and RESOURCE_FLUSH posted together with one notification. */
rl_status gpu_present(void);
/* Moves the cursor on scanout 0 (MOVE_CURSOR on the cursor queue). */
rl_status gpu_move_cursor(uint32_t x, uint32_t y);

/* arch_time_ns() when the boot picture was first on screen (0: never). */
uint64_t gpu_first_frame_ns(void);

struct gpu_bench_result {
  uint64_t ns;
  unsigned updates;
  unsigned long notifications, interrupts;
  unsigned long max_notifications, max_interrupts; /* per update */
};
/* `updates` back-to-back updates of a w x h rectangle of scanout 0
 * (transfer + flush each), timed with the guest's clock. */
rl_status gpu_bench(unsigned updates, uint32_t w, uint32_t h,
                    struct gpu_bench_result *out);

/* Draws the boot picture (README: eight bars over the top three quarters,
 * the console below) on a surface. */
void gpu_draw_boot_picture(struct fb_surface *s);

#endif

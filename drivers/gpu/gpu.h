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

/* Draws the boot picture (README: eight bars over the top three quarters,
 * the console below) on a surface. */
void gpu_draw_boot_picture(struct fb_surface *s);

#endif

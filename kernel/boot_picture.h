/* The boot picture (README, "The boot picture"), drawn on every scanout
 * the GPU driver lights: the kernel hands it to the driver as its painter
 * (gpu_set_painter) before the devices are probed. */
#ifndef KERNEL_BOOT_PICTURE_H
#define KERNEL_BOOT_PICTURE_H

#include <lib/gfx/fb.h>

/* Eight bars over the top three quarters of `s`, black below: with
 * CONFIG_GPU_CONSOLE the driver's console, which clears its area (the
 * bottom quarter, fbcon_init) right after, else this. Filling it twice
 * cost a megabyte of stores on the picture's path. */
void boot_picture_draw(struct fb_surface *s);

#endif

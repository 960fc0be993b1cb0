/* virtio-gpu driver (virtio 1.2 §5.7): 2D resources on every enabled
 * scanout, a text console mirroring the log, a hardware cursor, display
 * change events. What a scanout shows under the console is the painter's
 * (gpu_set_painter): the kernel's boot picture.
 *
 * Every bound device has its own state (struct gpu, in the device's
 * `priv`); the kernel reaches a device through a handle: gpu_get(i) is
 * the i-th device whose probe succeeded, in probe order. Every call
 * taking a handle accepts NULL (no such device) and then returns NULL,
 * 0 or RL_ERR_NOT_FOUND. */
#ifndef DRIVERS_GPU_GPU_H
#define DRIVERS_GPU_GPU_H

#include <lib/gfx/fb.h>
#include <ringlight/status.h>
#include <stdbool.h>
#include <stddef.h>

struct gpu;
struct virtio_device;

/* How many devices are bound and usable, and the i-th of them (NULL when
 * i >= gpu_count()). */
unsigned gpu_count(void);
struct gpu *gpu_get(unsigned i);
/* The device's name ("virtio-gpu@0xa003e00"). */
const char *gpu_name(const struct gpu *g);

/* For the i-th virtio-gpu device the driver was given that shows nothing
 * (its probe failed, or it lit no scanout 0), in probe order: "<name>:
 * <why>" in `buf`, with what to change when the cause is known (e.g. a
 * packed-only build on a legacy transport). False past the last one: no
 * such device was found at all. */
bool gpu_unusable(unsigned i, char *buf, size_t size);

/* The surface of scanout `index` (NULL when not active). */
struct fb_surface *gpu_surface(struct gpu *g, unsigned index);
/* arch_time_ns() when the device's boot picture was first on screen (0:
 * never): the kernel's boot-phase stamps and benchmark read it. */
uint64_t gpu_first_frame_ns(const struct gpu *g);
/* Sends the damaged rectangle of every active scanout of `g`:
 * TRANSFER_TO_HOST_2D and RESOURCE_FLUSH posted together with one
 * notification. */
rl_status gpu_present(struct gpu *g);
/* gpu_present on every bound device; the first error, RL_OK with none. */
rl_status gpu_present_all(void);
/* Moves the cursor on scanout 0 (MOVE_CURSOR on the cursor queue). */
rl_status gpu_move_cursor(struct gpu *g, uint32_t x, uint32_t y);
/* Moves it on scanout `scanout` (the cursor image is set there first when
 * it was shown on another): RL_ERR_NOT_FOUND when that scanout is dark. */
rl_status gpu_move_cursor_on(struct gpu *g, unsigned scanout, uint32_t x,
                             uint32_t y);
/* Writes `text` on every console of `g` without logging it (typed keys
 * echoed; '\b' erases the character before the cursor). Shown at the
 * next gpu_present. */
void gpu_console_echo(struct gpu *g, const char *text, size_t len);

/* Paints what a newly lit scanout shows: the whole surface, before the
 * driver lays the text console over its bottom quarter and presents it.
 * Called at every scanout setup: at probe, and again when a display
 * change gives a scanout a new surface. */
typedef void gpu_painter_fn(struct fb_surface *s);
/* The painter of every device (NULL: black). Set before the devices are
 * probed; the kernel sets its boot picture (kernel/boot_picture.h). */
void gpu_set_painter(gpu_painter_fn *paint);

/* Unbinds the driver from `dev` and frees its state (framebuffers,
 * request buffers, its log console). Only once the device no longer
 * owns the driver's memory: after virtio_device_reset. Nothing happens
 * for a device the driver never probed. */
void gpu_remove(struct virtio_device *dev);

#endif
